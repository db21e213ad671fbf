"""gradcheck: backward()'s gradients against central finite differences; gradgradcheck: the
second derivatives of grad(create_graph=True) against central differences of the first."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence

from .backward import grad
from .higher import recording
from .value import Value, _to_float


class GradcheckError(AssertionError):
    """Raised by gradcheck when an analytic gradient disagrees with the numeric one."""


def gradcheck(fn: Callable[[list[Value]], Value], inputs: Sequence[float], eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3) -> bool:
    """Return True if backward() agrees with central differences at inputs, else raise.

    fn is called with ONE argument, the list of input Values, and returns a Value:
    `lambda v: v[0] * v[1]`, not `lambda a, b: a * b` (torch.autograd.gradcheck calls
    fn(*inputs); wrap such a function as `lambda v: f(*v)`).
    For each input i the numeric gradient is (f(x + eps e_i) - f(x - eps e_i)) / 2 eps;
    it agrees when |analytic - numeric| <= atol + rtol * |numeric|.

    >>> gradcheck(lambda v: (v[0] * v[1]).tanh(), [0.3, -0.8])
    True
    """
    if not eps > 0.0:  # also catches NaN
        raise ValueError(f"gradcheck: eps must be > 0, got {eps!r}")
    point = [_to_float(x, "gradcheck input") for x in inputs]
    leaves = [Value(x, label=f"x{i}") for i, x in enumerate(point)]
    out = _call(fn, leaves)
    out.backward()
    analytic = [leaf.grad for leaf in leaves]

    rows = []
    for i in range(len(point)):
        numeric = (_evaluate(fn, point, i, eps) - _evaluate(fn, point, i, -eps)) / (2 * eps)
        ok = abs(analytic[i] - numeric) <= atol + rtol * abs(numeric)
        if math.isnan(analytic[i]) or math.isnan(numeric):
            ok = False
        rows.append((i, point[i], analytic[i], numeric, ok))
    bad = [row for row in rows if not row[4]]
    if bad:
        # Every input, as the contract asks; the ones that disagree are flagged.
        lines = [f"  input {i} = {x!r}: analytic {a!r}, numeric {n!r}{'' if ok else '  <- wrong'}"
                 for i, x, a, n, ok in rows]
        raise GradcheckError(
            f"gradcheck: {len(bad)} of {len(rows)} gradients disagree "
            f"(eps={eps}, atol={atol}, rtol={rtol}):\n" + "\n".join(lines))
    return True


def gradgradcheck(fn: Callable[[list[Value]], Value], inputs: Sequence[float],
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3) -> bool:
    """Return True if the second derivatives agree with central differences, else raise.

    Entry (i, j) is d/dx_j of g_i = d fn / d x_i. The analytic one differentiates the Value
    g_i that grad(create_graph=True) returns; the numeric one is
    (g_i(x + eps e_j) - g_i(x - eps e_j)) / 2 eps, with g from grad()'s float sweep. They
    agree when |analytic - numeric| <= atol + rtol * |numeric|. GradcheckError lists every
    entry, the disagreeing ones flagged.

    >>> gradgradcheck(lambda v: (v[0] * v[1]).tanh() + v[0] ** 3, [0.3, -0.8])
    True
    """
    if not eps > 0.0:  # also catches NaN
        raise ValueError(f"gradgradcheck: eps must be > 0, got {eps!r}")
    point = [_to_float(x, "gradgradcheck input") for x in inputs]
    leaves = [Value(x, label=f"x{i}") for i, x in enumerate(point)]
    # Both sides need graphs, even inside no_grad(), as hessian() does.
    with recording():
        first = grad(_call(fn, leaves), leaves, create_graph=True)
        analytic = [grad(g, leaves) for g in first]
        n = len(point)
        columns = []  # column j: d g / d x_j for every i, by central differences
        for j in range(n):
            above = _first_derivatives(fn, point, j, eps)
            below = _first_derivatives(fn, point, j, -eps)
            columns.append([(a - b) / (2 * eps) for a, b in zip(above, below)])
    rows = []
    for i in range(n):
        for j in range(n):
            a, numeric = analytic[i][j], columns[j][i]
            ok = abs(a - numeric) <= atol + rtol * abs(numeric)
            rows.append((i, j, a, numeric, ok and not (math.isnan(a) or math.isnan(numeric))))
    bad = [row for row in rows if not row[4]]
    if bad:
        lines = [f"  d2/dx{i} dx{j} at {point!r}: analytic {a!r}, numeric {num!r}"
                 f"{'' if ok else '  <- wrong'}" for i, j, a, num, ok in rows]
        raise GradcheckError(
            f"gradgradcheck: {len(bad)} of {len(rows)} second derivatives disagree "
            f"(eps={eps}, atol={atol}, rtol={rtol}):\n" + "\n".join(lines))
    return True


def _first_derivatives(fn: Callable[[list[Value]], Value], point: list[float], j: int,
                       step: float) -> list[float]:
    """Return grad() of fn at point with input j moved by step: the float sweep's numbers."""
    shifted = list(point)
    shifted[j] += step
    leaves = [Value(x) for x in shifted]
    return grad(_call(fn, leaves), leaves)


_CONVENTION = ("gradcheck calls fn with one argument, the list of input Values, as "
               "fn([x0, x1, ...]) -> Value (lambda v: v[0] * v[1]); a function of separate "
               "arguments, as torch.autograd.gradcheck takes, goes in as lambda v: f(*v)")


def _call(fn: Callable[[list[Value]], Value], args: list[Value]) -> Value:
    """Return fn(args), checked to be a Value; a fn that cannot take one list says so first."""
    if not callable(fn):
        raise TypeError(f"gradcheck: fn must be callable, got {type(fn).__name__}")
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: just call it
        signature = None
    if signature is not None:
        try:
            signature.bind(args)
        except TypeError:
            raise TypeError(f"gradcheck: fn{signature} cannot be called with one argument; "
                            + _CONVENTION) from None
    out = fn(args)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: fn must return a Value, got {type(out).__name__}; "
                        + _CONVENTION)
    return out


def _evaluate(fn: Callable[[list[Value]], Value], point: list[float], i: int,
              step: float) -> float:
    """Return fn's data at point with input i moved by step."""
    shifted = list(point)
    shifted[i] += step
    # Grad mode stays on: fn may itself differentiate (a derivative made with
    # grad(create_graph=True)), which needs the graph recorded.
    return _call(fn, [Value(x) for x in shifted]).data
