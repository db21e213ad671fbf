"""gradcheck: backward()'s gradients against central finite differences."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from .mode import no_grad
from .value import Value, _to_float


class GradcheckError(AssertionError):
    """Raised by gradcheck when an analytic gradient disagrees with the numeric one."""


def gradcheck(fn: Callable[[list[Value]], Value], inputs: Sequence[float], eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3) -> bool:
    """Return True if backward() agrees with central differences at inputs, else raise.

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


def _call(fn: Callable[[list[Value]], Value], args: list[Value]) -> Value:
    """Return fn(args), checked to be a Value."""
    out = fn(args)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: fn must return a Value, got {type(out).__name__}")
    return out


def _evaluate(fn: Callable[[list[Value]], Value], point: list[float], i: int,
              step: float) -> float:
    """Return fn's data at point with input i moved by step, recording no graph."""
    shifted = list(point)
    shifted[i] += step
    with no_grad():
        return _call(fn, [Value(x) for x in shifted]).data
