"""Losses: each returns one Value, the mean over the batch, and stays finite for any input.

Targets may be numbers or Values (ag.compile passes an argument's numbers as Values): a
target's checks are comparisons, which a compiled loss records as guards.
A batch is a sequence with one entry per sample. Where a loss wants one number per
sample, an entry may be a Value, a number, or a one-element list (what an MLP with
one output returns), so ``hinge_loss([model(x) for x in xs], ys)`` works as written.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import autograd as ag
from autograd import Value

Scalar = Value | float
Outputs = Sequence[Scalar | Sequence[Scalar]]


def mse_loss(preds: Outputs, targets: Sequence[float | Sequence[float]]) -> Value:
    """Return the mean of (pred - target)**2 over every sample and output.

    A sample's entry may be one prediction or a list of them (one per output); the
    targets then hold a list of the same length for it.

    >>> mse_loss([Value(1.0), Value(3.0)], [0.0, 3.0]).data
    0.5
    """
    _check_batch(preds, targets, "mse_loss")
    flat_preds: list[Scalar] = []
    flat_targets: list[Scalar] = []
    for i, (p, t) in enumerate(zip(preds, targets)):
        if isinstance(p, Sequence) and not isinstance(p, (str, bytes)):
            if not isinstance(t, Sequence) or len(t) != len(p):
                raise ValueError(f"mse_loss: sample {i} has {len(p)} predictions; its target "
                                 f"must be a list of {len(p)}, got {t!r:.60}")
            flat_preds.extend(_prediction(v, "mse_loss", f"prediction {i}") for v in p)
            flat_targets.extend(_prediction(v, "mse_loss", f"target {i}") for v in t)
        else:
            flat_preds.append(_prediction(p, "mse_loss", f"prediction {i}"))
            flat_targets.append(_prediction(t, "mse_loss", f"target {i}"))
    return ag.mean([(p - t) ** 2 for p, t in zip(flat_preds, flat_targets)])


def binary_cross_entropy(probs: Outputs, targets: Sequence[float], eps: float = 1e-7) -> Value:
    """Return the mean of -(y log p + (1 - y) log(1 - p)), p clamped to [eps, 1 - eps].

    probs must lie in [0, 1] (a sigmoid's output) and targets in [0, 1]. Outside
    [eps, 1 - eps] a probability is replaced by the bound, a constant, so its gradient
    there is 0 (as torch.clamp gives); bce_with_logits has no such flat region.
    With p = sigmoid(z), d loss / d z = (p - y) / n.

    >>> round(binary_cross_entropy([Value(0.5)], [1.0]).data, 6)
    0.693147
    """
    ps = _scalars(probs, targets, "binary_cross_entropy")
    if not 0.0 < eps < 0.5:
        raise ValueError(f"binary_cross_entropy: eps must be in (0, 0.5), got {eps!r}")
    terms = []
    for i, (p, target) in enumerate(zip(ps, targets)):
        y = _in_unit_interval(target, "binary_cross_entropy", f"target {i}")
        _in_unit_interval(p, "binary_cross_entropy", f"probability {i}")
        # Compared as a Value, not as p.data: ag.compile guards the branch taken.
        clamped = p if eps <= p <= 1.0 - eps else min(max(p.data, eps), 1.0 - eps)
        # The log-likelihood of the sample; a term with weight 0 is left out of the graph.
        if y == 1.0:
            terms.append(_log(clamped))
        elif y == 0.0:
            terms.append(_log(1.0 - clamped))
        else:
            terms.append(ag.dot([_log(clamped), _log(1.0 - clamped)], [y, 1.0 - y]))
    return -ag.mean(terms)


def bce_with_logits(logits: Outputs, targets: Sequence[float]) -> Value:
    """Return the mean of -(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))), from logits z.

    Computed as softplus(z) - y z with softplus(z) = logsumexp([z, 0]): finite and
    exact for z = +-1000, and d loss / d z = (sigmoid(z) - y) / n.

    >>> round(bce_with_logits([Value(0.0)], [1.0]).data, 6)
    0.693147
    """
    zs = _scalars(logits, targets, "bce_with_logits")
    terms = []
    for i, (z, target) in enumerate(zip(zs, targets)):
        y = _in_unit_interval(target, "bce_with_logits", f"target {i}")
        softplus = ag.logsumexp([z, 0.0])
        terms.append(softplus if y == 0.0 else softplus - z * y)
    return ag.mean(terms)


def cross_entropy(logits_batch: Sequence[Sequence[Scalar]],
                  targets: Sequence[int | Sequence[Scalar]]) -> Value:
    """Return the mean of -log softmax(logits)[target] = logsumexp(logits) - logits[target].

    Each sample gives its logits (one per class) and either the index of its true class or,
    as in PyTorch, the probability of each class (a one-hot list, or soft labels):
    then its term is sum_j p_j (logsumexp(logits) - logits_j). Probabilities are numbers, so
    ag.compile takes them as inputs, where a class index is part of the traced structure.
    Stable for logits of any size; d loss / d logits = (softmax(logits) - target) / n.

    >>> round(cross_entropy([[Value(0.0), Value(0.0)]], [1]).data, 6)
    0.693147
    >>> round(cross_entropy([[Value(0.0), Value(0.0)]], [[0.0, 1.0]]).data, 6)
    0.693147
    """
    _check_batch(logits_batch, targets, "cross_entropy")
    terms: list[Value] = []
    for i, (logits, t) in enumerate(zip(logits_batch, targets)):
        if isinstance(logits, (Value, numbers.Real, str, bytes)) \
                or not isinstance(logits, Sequence):
            raise TypeError(f"cross_entropy: sample {i} must be a list of logits, "
                            f"got {type(logits).__name__}")
        if isinstance(t, Sequence) and not isinstance(t, (str, bytes)):
            if len(t) != len(logits):
                raise ValueError(f"cross_entropy: target {i} has {len(t)} probabilities "
                                 f"for a sample with {len(logits)} logits")
            probs = [_prediction(p, "cross_entropy", f"target {i}") for p in t]
            lse = ag.logsumexp(logits)
            terms.append(ag.dot([lse - z for z in logits], probs))
            continue
        if not isinstance(t, numbers.Integral) or isinstance(t, bool):
            raise TypeError(f"cross_entropy: target {i} must be a class index (int) or a "
                            f"list of probabilities, got {type(t).__name__}: {t!r:.40}")
        if not 0 <= t < len(logits):
            raise ValueError(f"cross_entropy: target {i} is {t}, outside [0, {len(logits)}) "
                             f"for a sample with {len(logits)} logits")
        terms.append(ag.logsumexp(logits) - logits[t])
    return ag.mean(terms)


def hinge_loss(scores: Outputs, targets: Sequence[float]) -> Value:
    """Return the mean of max(0, 1 - y s) for scores s and targets y in {-1, +1}.

    Under ag.compile give the targets as floats (-1.0, 1.0): an int is part of the traced
    structure, so int targets would trace once per pattern of signs.

    >>> hinge_loss([Value(0.5)], [1.0]).data
    0.5
    """
    ss = _scalars(scores, targets, "hinge_loss")
    terms = []
    for i, (s, y) in enumerate(zip(ss, targets)):
        if isinstance(y, bool) or not _is_sign(y):
            raise ValueError(f"hinge_loss: target {i} must be -1 or +1, got {y!r}")
        terms.append((1.0 - y * s).relu())
    return ag.mean(terms)


# ---- argument checks ------------------------------------------------------------------------


def _check_batch(outputs: Sequence[object], targets: Sequence[object], loss: str) -> None:
    for what, seq in (("predictions", outputs), ("targets", targets)):
        if not isinstance(seq, Sequence) or isinstance(seq, (str, bytes)):
            raise TypeError(f"{loss}: {what} must be a list, one entry per sample, "
                            f"got {type(seq).__name__}")
    if len(outputs) != len(targets):
        raise ValueError(f"{loss}: {len(outputs)} predictions but {len(targets)} targets")
    if not outputs:
        raise ValueError(f"{loss}: the batch is empty")


def _scalars(outputs: Outputs, targets: Sequence[object], loss: str) -> list[Value]:
    """One Value per sample (numbers become constant leaves), unwrapping one-element lists."""
    _check_batch(outputs, targets, loss)
    flat: list[Value] = []
    for i, out in enumerate(outputs):
        if isinstance(out, Sequence):
            if len(out) != 1:
                raise ValueError(f"{loss}: sample {i} has {len(out)} outputs; "
                                 f"expected one per sample")
            out = out[0]
        prediction = _prediction(out, loss, f"prediction {i}")
        flat.append(prediction if isinstance(prediction, Value) else Value(prediction))
    return flat


def _prediction(x: object, loss: str, what: str) -> Scalar:
    """x itself if it is a Value, else x as a float (a constant), else TypeError."""
    return x if isinstance(x, Value) else _number(x, loss, what)


def _number(x: object, loss: str, what: str) -> float:
    if not isinstance(x, numbers.Real) or isinstance(x, bool):
        raise TypeError(f"{loss}: {what} must be a real number, got {type(x).__name__}")
    return float(x)


def _in_unit_interval(x: object, loss: str, what: str) -> Scalar:
    """x itself if it is a Value, else x as a float; ValueError outside [0, 1]."""
    value = x if isinstance(x, Value) else _number(x, loss, what)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{loss}: {what} must be in [0, 1], got {float(value)!r}")
    return value


def _is_sign(y: Scalar) -> bool:
    """True if y is -1 or +1."""
    if isinstance(y, Value):
        # Compared as a Value, so ag.compile checks every call's targets; through abs(), so
        # that one check (and one trace) holds for both signs.
        size = abs(y)
        return 1.0 <= size <= 1.0
    return y in (-1, 1)


def _log(x: Scalar) -> Scalar:
    return x.log() if isinstance(x, Value) else math.log(x)
