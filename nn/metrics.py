"""Accuracy: the fraction of samples a model's outputs classify correctly."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import TypeGuard

from autograd import Value

Scalar = Value | float


def accuracy(outputs: Sequence[Scalar | Sequence[Scalar]], targets: Sequence[float],
             threshold: float | None = None) -> float:
    """Return the fraction in [0, 1] of samples whose predicted class equals the target.

    Multiclass: a sample's output is a list of two or more scores and its target a
    class index; the prediction is the index of the largest score (the first on ties).

    Binary: a sample's output is one score (a Value, a number or a one-element list)
    and its target is -1/+1 or 0/1. The prediction is positive when the output is
    > threshold, and it is right when that agrees with target > 0. The default
    threshold is 0.0 (the sign) when any target is -1, else 0.5 (probabilities). Pass
    threshold=0.0 for logits with 0/1 targets, and pass it explicitly whenever a batch
    might hold only positive targets.

    >>> accuracy([0.7, -0.2, 0.1], [1, -1, -1])
    0.6666666666666666
    >>> accuracy([[0.1, 2.0, 0.3], [1.0, 0.0, 0.5]], [1, 2])
    0.5
    """
    if len(outputs) != len(targets):
        raise ValueError(f"accuracy: {len(outputs)} outputs but {len(targets)} targets")
    if not outputs:
        raise ValueError("accuracy: no samples")
    scores = [_scores(out, i) for i, out in enumerate(outputs)]
    if all(len(s) == 1 for s in scores):
        return _binary_accuracy([s[0] for s in scores], targets, threshold)
    # A one-score sample among multiclass ones would always count as right: argmax of one is 0.
    sizes = sorted({len(s) for s in scores})
    if len(sizes) > 1:
        raise ValueError(f"accuracy: every sample needs the same number of scores, "
                         f"got samples with {', '.join(map(str, sizes))}")
    right = 0
    for i, (s, t) in enumerate(zip(scores, targets)):
        if not isinstance(t, numbers.Integral) or isinstance(t, bool) or not 0 <= t < len(s):
            raise ValueError(f"accuracy: target {i} must be a class index in [0, {len(s)}) "
                             f"for a sample with {len(s)} scores, got {t!r}")
        right += max(range(len(s)), key=s.__getitem__) == t
    return right / len(scores)


def _binary_accuracy(scores: list[float], targets: Sequence[float],
                     threshold: float | None) -> float:
    labels = set(targets)
    if not (labels <= {-1, 1} or labels <= {0, 1}):
        raise ValueError(f"accuracy: binary targets must be -1/+1 or 0/1, "
                         f"got {sorted(labels, key=repr)[:6]}")
    if threshold is None:
        threshold = 0.0 if -1 in labels else 0.5
    right = sum((s > threshold) == (t > 0) for s, t in zip(scores, targets))
    return right / len(scores)


def _scores(output: object, i: int) -> list[float]:
    """A sample's output as a list of floats (one for binary, several for multiclass)."""
    if _is_score(output):
        return [float(output)]
    if isinstance(output, Sequence) and not isinstance(output, (str, bytes)) and output \
            and all(map(_is_score, output)):
        return [float(v) for v in output]
    raise TypeError(f"accuracy: output {i} must be a score or a non-empty list of scores, "
                    f"got {type(output).__name__}: {output!r:.40}")


def _is_score(x: object) -> TypeGuard[Value | numbers.Real]:
    return isinstance(x, Value) or (isinstance(x, numbers.Real) and not isinstance(x, bool))
