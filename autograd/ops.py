"""The rules: one plain function per primitive, over floats.

Each rule returns the output and the local derivative d out / d operand for each
operand, in operand order. The derivative sits next to the forward formula, so
the math of every op lives here and nowhere else.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence

# exp() of anything above this overflows a float.
EXP_MAX = math.log(1.7976931348623157e308)

Local1 = tuple[float]
Local2 = tuple[float, float]


# ---- unary rules --------------------------------------------------------------------------


def neg(x: float) -> tuple[float, Local1]:
    """-x; d/dx = -1."""
    return -x, (-1.0,)


def abs_(x: float) -> tuple[float, Local1]:
    """|x|; d/dx = sign(x), taken as 0 at x = 0 (as PyTorch does)."""
    return abs(x), (1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0,)


def exp(x: float) -> tuple[float, Local1]:
    """e**x; d/dx = e**x, reused from the output."""
    if x > EXP_MAX:
        raise OverflowError(f"exp: result too large for a float, operand {x!r} > {EXP_MAX:.4f}")
    y = math.exp(x)
    return y, (y,)


def log(x: float) -> tuple[float, Local1]:
    """Natural log; d/dx = 1/x."""
    if x <= 0.0:
        raise ValueError(f"log: operand must be > 0, got {x!r}")
    return math.log(x), (1.0 / x,)


def sqrt(x: float) -> tuple[float, Local1]:
    """Square root; d/dx = 1 / (2 sqrt(x)), +inf at x = 0."""
    if x < 0.0:
        raise ValueError(f"sqrt: operand must be >= 0, got {x!r}")
    y = math.sqrt(x)
    return y, (0.5 / y if y > 0.0 else math.inf,)


def tanh(x: float) -> tuple[float, Local1]:
    """tanh(x); d/dx = 1 - tanh(x)**2, computed from the output."""
    t = math.tanh(x)
    return t, (1.0 - t * t,)


def sigmoid(x: float) -> tuple[float, Local1]:
    """1 / (1 + e**-x); d/dx = s (1 - s), computed from the output."""
    # Branch on the sign so exp() only sees arguments <= 0 and cannot overflow.
    if x >= 0.0:
        s = 1.0 / (1.0 + math.exp(-x))
    else:
        z = math.exp(x)
        s = z / (1.0 + z)
    return s, (s * (1.0 - s),)


def relu(x: float) -> tuple[float, Local1]:
    """max(x, 0); d/dx = 1 for x > 0, else 0 (0 at x = 0, as PyTorch does).

    NaN passes through as NaN (as in PyTorch), so a broken input is not hidden by a 0.
    """
    if x > 0.0:
        return x, (1.0,)
    if x != x:
        return x, (0.0,)
    return 0.0, (0.0,)


def leaky_relu(x: float, slope: float = 0.01) -> tuple[float, Local1]:
    """x for x > 0, else slope * x; d/dx = 1 for x > 0, else slope (slope at 0)."""
    if x > 0.0:
        return x, (1.0,)
    return slope * x, (slope,)


def sin(x: float) -> tuple[float, Local1]:
    """sin(x); d/dx = cos(x)."""
    return math.sin(x), (math.cos(x),)


def cos(x: float) -> tuple[float, Local1]:
    """cos(x); d/dx = -sin(x)."""
    return math.cos(x), (-math.sin(x),)


def power(x: float, n: float) -> tuple[float, Local1]:
    """x**n for a constant exponent n; d/dx = n x**(n-1)."""
    return _pow(x, n), (_power_local(x, n),)


# ---- binary rules -------------------------------------------------------------------------


def add(a: float, b: float) -> tuple[float, Local2]:
    """a + b; d/da = 1, d/db = 1."""
    return a + b, (1.0, 1.0)


def sub(a: float, b: float) -> tuple[float, Local2]:
    """a - b; d/da = 1, d/db = -1."""
    return a - b, (1.0, -1.0)


def mul(a: float, b: float) -> tuple[float, Local2]:
    """a * b; d/da = b, d/db = a."""
    return a * b, (b, a)


def div(a: float, b: float) -> tuple[float, Local2]:
    """a / b; d/da = 1/b, d/db = -a/b**2."""
    if b == 0.0:
        raise ZeroDivisionError(f"/: division by zero ({a!r} / {b!r})")
    inv = 1.0 / b
    y = a * inv
    return y, (inv, -y * inv)


def pow(a: float, b: float) -> tuple[float, Local2]:  # noqa: A001 - named after the math
    """a**b with both sides variable; d/da = b a**(b-1), d/db = a**b ln(a).

    d/db is defined for a > 0; it is 0 at a = 0 (the limit from above) and NaN for
    a < 0, where ln(a) does not exist (as PyTorch gives).
    """
    y = _pow(a, b)
    if a > 0.0:
        d_b = y * math.log(a)
    elif a == 0.0:
        d_b = 0.0
    else:
        d_b = math.nan
    return y, (_power_local(a, b), d_b)


def _pow(a: float, b: float) -> float:
    """Return a**b as a real number, or raise a clear error where it is not one."""
    if a == 0.0 and b < 0.0:
        raise ZeroDivisionError(f"**: 0.0 cannot be raised to a negative power ({b!r})")
    if a < 0.0 and not float(b).is_integer():
        raise ValueError(f"**: negative base {a!r} needs an integer exponent, got {b!r}")
    try:
        return float(a**b)
    except OverflowError:
        raise OverflowError(f"**: result too large for a float ({a!r} ** {b!r})") from None


def _power_local(x: float, n: float) -> float:
    """Return n x**(n-1); +inf at x = 0 for 0 < n < 1, where the slope is vertical."""
    if n == 0.0:
        return 0.0
    if x == 0.0 and n < 1.0:
        return math.inf
    try:
        # A float, never complex: a negative x comes with an integer n (_pow checked it).
        slope: float = n * x ** (n - 1.0)
        return slope
    except OverflowError:
        return math.copysign(math.inf, n)


# ---- n-ary rules (one node, many operands) ------------------------------------------------


def sum_(xs: Sequence[float]) -> tuple[float, tuple[float, ...]]:
    """x1 + ... + xn; d/dxi = 1."""
    return math.fsum(xs), (1.0,) * len(xs)


def mean(xs: Sequence[float]) -> tuple[float, tuple[float, ...]]:
    """(x1 + ... + xn) / n; d/dxi = 1/n."""
    n = len(xs)
    if n == 0:
        raise ValueError("mean: needs at least one value, got an empty sequence")
    return math.fsum(xs) / n, (1.0 / n,) * n


def dot(a: Sequence[float], b: Sequence[float]) -> tuple[float, tuple[float, ...]]:
    """a1 b1 + ... + an bn; d/dai = bi, d/dbi = ai (operands are a1..an, b1..bn)."""
    # operator.mul, not float.__mul__: a C function, a third faster per term in map.
    return math.fsum(map(operator.mul, a, b)), (*b, *a)


def logsumexp(xs: Sequence[float]) -> tuple[float, tuple[float, ...]]:
    """log(e**x1 + ... + e**xn); d/dxi = softmax(x)i."""
    if not xs:
        raise ValueError("logsumexp: needs at least one value, got an empty sequence")
    # Shift by the max so every exp() argument is <= 0: no overflow at x = 1000.
    m = max(xs)
    if math.isinf(m):
        raise ValueError(f"logsumexp: operands must be finite, got {m!r}")
    exps = [math.exp(x - m) for x in xs]
    total = math.fsum(exps)
    return m + math.log(total), tuple(e / total for e in exps)


def softmax(xs: Sequence[float]) -> list[tuple[float, tuple[float, ...]]]:
    """e**xi / sum_j e**xj, one output per input; d si / d xj = si (delta_ij - sj)."""
    _, probs = logsumexp(xs)
    return [(si, tuple(si * ((i == j) - sj) for j, sj in enumerate(probs)))
            for i, si in enumerate(probs)]


def log_softmax(xs: Sequence[float]) -> list[tuple[float, tuple[float, ...]]]:
    """xi - logsumexp(x), one output per input; d/dxj = delta_ij - sj."""
    lse, probs = logsumexp(xs)
    return [(xi - lse, tuple((i == j) - sj for j, sj in enumerate(probs)))
            for i, xi in enumerate(xs)]


# The op tables: what the docs list and the tests iterate over.
UNARY: dict[str, Callable[..., tuple[float, Local1]]] = {
    "neg": neg, "abs": abs_, "exp": exp, "log": log, "sqrt": sqrt, "tanh": tanh,
    "sigmoid": sigmoid, "relu": relu, "leaky_relu": leaky_relu, "sin": sin, "cos": cos,
    "power": power,
}
BINARY: dict[str, Callable[[float, float], tuple[float, Local2]]] = {
    "add": add, "sub": sub, "mul": mul, "div": div, "pow": pow,
}
NARY: dict[str, Callable[..., object]] = {
    "sum": sum_, "mean": mean, "dot": dot, "logsumexp": logsumexp,
    "softmax": softmax, "log_softmax": log_softmax,
}
