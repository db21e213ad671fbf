"""The rules: one plain function per primitive, over floats.

Each rule returns the output and the local derivative d out / d operand for each
operand, in operand order. The derivative sits next to the forward formula, so
the math of every op lives here and nowhere else.
"""

from __future__ import annotations

import builtins
import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

# exp() of anything above this overflows a float.
EXP_MAX = math.log(1.7976931348623157e308)
LN2, LN10 = math.log(2.0), math.log(10.0)
SQRT1_2 = math.sqrt(0.5)
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
INV_SQRT_2PI = TWO_OVER_SQRT_PI * SQRT1_2 * 0.5  # 1 / sqrt(2 pi), as PyTorch's gelu writes it
# softplus is x itself above this (PyTorch's default threshold): log1p(e**x) - x < 2.1e-9 there.
SOFTPLUS_THRESHOLD = 20.0

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
    """Square root; d/dx = 1 / (2 sqrt(x)), +inf at x = 0 (NaN for NaN)."""
    if x < 0.0:
        raise ValueError(f"sqrt: operand must be >= 0, got {x!r}")
    y = math.sqrt(x)
    # At 0 a vertical slope, +inf; NaN stays NaN.
    return y, (0.5 / y if y > 0.0 else _reciprocal(y),)


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
    """sin(x) for finite x; d/dx = cos(x)."""
    try:
        return math.sin(x), (math.cos(x),)
    except ValueError:  # math's "math domain error" names neither the op nor the operand
        raise ValueError(f"sin: operand must be finite, got {x!r}") from None


def cos(x: float) -> tuple[float, Local1]:
    """cos(x) for finite x; d/dx = -sin(x)."""
    try:
        return math.cos(x), (-math.sin(x),)
    except ValueError:
        raise ValueError(f"cos: operand must be finite, got {x!r}") from None


def tan(x: float) -> tuple[float, Local1]:
    """tan(x) for finite x; d/dx = 1 + tan(x)**2, computed from the output."""
    try:
        y = math.tan(x)
    except ValueError:
        raise ValueError(f"tan: operand must be finite, got {x!r}") from None
    return y, (1.0 + y * y,)


def sinh(x: float) -> tuple[float, Local1]:
    """sinh(x); d/dx = cosh(x). OverflowError past the largest float (|x| > 710.47)."""
    try:
        return math.sinh(x), (math.cosh(x),)
    except OverflowError:
        raise OverflowError(f"sinh: result too large for a float, operand {x!r}") from None


def cosh(x: float) -> tuple[float, Local1]:
    """cosh(x); d/dx = sinh(x). OverflowError past the largest float (|x| > 710.47)."""
    try:
        return math.cosh(x), (math.sinh(x),)
    except OverflowError:
        raise OverflowError(f"cosh: result too large for a float, operand {x!r}") from None


def asin(x: float) -> tuple[float, Local1]:
    """arcsin(x) for -1 <= x <= 1; d/dx = 1 / sqrt(1 - x**2), +inf at x = +-1 (as PyTorch)."""
    if x < -1.0 or x > 1.0:
        raise ValueError(f"asin: operand must be in [-1, 1], got {x!r}")
    return math.asin(x), (_reciprocal(math.sqrt(1.0 - x * x)),)


def acos(x: float) -> tuple[float, Local1]:
    """arccos(x) for -1 <= x <= 1; d/dx = -1 / sqrt(1 - x**2), -inf at x = +-1 (as PyTorch)."""
    if x < -1.0 or x > 1.0:
        raise ValueError(f"acos: operand must be in [-1, 1], got {x!r}")
    return math.acos(x), (-_reciprocal(math.sqrt(1.0 - x * x)),)


def atan(x: float) -> tuple[float, Local1]:
    """arctan(x); d/dx = 1 / (1 + x**2)."""
    return math.atan(x), (1.0 / (1.0 + x * x),)


def asinh(x: float) -> tuple[float, Local1]:
    """arsinh(x); d/dx = 1 / sqrt(x**2 + 1)."""
    return math.asinh(x), (1.0 / math.sqrt(x * x + 1.0),)


def acosh(x: float) -> tuple[float, Local1]:
    """arcosh(x) for x >= 1; d/dx = 1 / sqrt((x - 1)(x + 1)), +inf at x = 1 (as PyTorch)."""
    if x < 1.0:
        raise ValueError(f"acosh: operand must be >= 1, got {x!r}")
    # (x - 1)(x + 1) rather than x**2 - 1: exact near 1, where x**2 - 1 loses digits.
    return math.acosh(x), (_reciprocal(math.sqrt((x - 1.0) * (x + 1.0))),)


def atanh(x: float) -> tuple[float, Local1]:
    """artanh(x) for -1 <= x <= 1; d/dx = 1 / (1 - x**2). At x = +-1, +-inf and a slope of
    +inf, as PyTorch gives."""
    if x < -1.0 or x > 1.0:
        raise ValueError(f"atanh: operand must be in [-1, 1], got {x!r}")
    if x == 1.0 or x == -1.0:  # math.atanh refuses the end points; the limits are infinite
        return math.copysign(math.inf, x), (math.inf,)
    return math.atanh(x), (1.0 / (1.0 - x * x),)


def log1p(x: float) -> tuple[float, Local1]:
    """log(1 + x), exact for tiny x; d/dx = 1 / (1 + x)."""
    if x <= -1.0:
        raise ValueError(f"log1p: operand must be > -1, got {x!r}")
    return math.log1p(x), (1.0 / (1.0 + x),)


def expm1(x: float) -> tuple[float, Local1]:
    """e**x - 1, exact for tiny x; d/dx = e**x, computed as the output + 1."""
    if x > EXP_MAX:
        raise OverflowError(f"expm1: result too large for a float, operand {x!r} > {EXP_MAX:.4f}")
    y = math.expm1(x)
    return y, (y + 1.0,)


def log2(x: float) -> tuple[float, Local1]:
    """Base-2 log; d/dx = 1 / (x ln 2)."""
    if x <= 0.0:
        raise ValueError(f"log2: operand must be > 0, got {x!r}")
    return math.log2(x), (1.0 / (x * LN2),)


def log10(x: float) -> tuple[float, Local1]:
    """Base-10 log; d/dx = 1 / (x ln 10)."""
    if x <= 0.0:
        raise ValueError(f"log10: operand must be > 0, got {x!r}")
    return math.log10(x), (1.0 / (x * LN10),)


def sign(x: float) -> tuple[float, Local1]:
    """1, -1 or 0 by the sign of x (0 for 0, -0 and NaN, as PyTorch); d/dx = 0 everywhere."""
    return (1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0), (0.0,)


def softplus(x: float) -> tuple[float, Local1]:
    """log(1 + e**x); d/dx = e**x / (1 + e**x). Above 20 it is x itself, slope 1, as PyTorch's
    softplus (threshold 20) gives: e**x cannot overflow, and the values are PyTorch's."""
    if x > SOFTPLUS_THRESHOLD:
        return x, (1.0,)
    z = math.exp(x)
    return math.log1p(z), (z * (1.0 / (z + 1.0)),)


def elu(x: float, alpha: float = 1.0) -> tuple[float, Local1]:
    """x for x > 0, else alpha (e**x - 1); d/dx = 1 for x > 0, else alpha e**x (alpha at 0,
    as PyTorch)."""
    if x > 0.0:
        return x, (1.0,)
    return alpha * math.expm1(x), (alpha * math.exp(x),)


def gelu(x: float) -> tuple[float, Local1]:
    """x Phi(x), Phi the standard normal CDF written with erf (PyTorch's exact gelu);
    d/dx = Phi(x) + x phi(x), phi the normal density."""
    cdf = 0.5 * (1.0 + math.erf(x * SQRT1_2))
    return x * cdf, (cdf + x * (math.exp(-0.5 * x * x) * INV_SQRT_2PI),)


def silu(x: float) -> tuple[float, Local1]:
    """x sigmoid(x) (also called swish); d/dx = s (1 + x (1 - s)), s = sigmoid(x)."""
    s = sigmoid(x)[0]
    return x * s, (s * (1.0 + x * (1.0 - s)),)


def erf(x: float) -> tuple[float, Local1]:
    """The error function; d/dx = 2 / sqrt(pi) e**(-x**2). gelu's derivative is built on it."""
    return math.erf(x), (TWO_OVER_SQRT_PI * math.exp(-(x * x)),)


def _reciprocal(r: float) -> float:
    """1 / r for r > 0; +inf for r = 0, where a slope is vertical (sqrt at 0; asin, acos,
    acosh, atanh at an end); NaN for NaN, as PyTorch gives (a NaN operand's slope is NaN)."""
    return 1.0 / r if r > 0.0 else math.inf if r == 0.0 else math.nan


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
    """log(e**x1 + ... + e**xn); d/dxi = softmax(x)i = e**(xi - y), y the output."""
    m, exps, total = _shifted_exps(xs, "logsumexp")
    y = m + math.log(total)
    # e**(xi - y), not e**(xi - m) / total: the form ag.compile's code can write in one
    # expression per operand, so compiled and eager derivatives agree to the bit.
    return y, tuple([math.exp(x - y) for x in xs])


def _shifted_exps(xs: Sequence[float], name: str) -> tuple[float, list[float], float]:
    """The max m of xs, each e**(x - m) and their sum: no exp() sees an argument above 0."""
    if not xs:
        raise ValueError(f"{name}: needs at least one value, got an empty sequence")
    m = max(xs)
    if math.isinf(m):
        raise ValueError(f"{name}: operands must be finite, got {m!r}")
    exps = [math.exp(x - m) for x in xs]
    return m, exps, math.fsum(exps)


def softmax(xs: Sequence[float]) -> list[tuple[float, tuple[float, ...]]]:
    """e**xi / sum_j e**xj, one output per input; d si / d xj = si (delta_ij - sj)."""
    _, exps, total = _shifted_exps(xs, "softmax")
    probs = [e / total for e in exps]
    return [(si, tuple(si * ((i == j) - sj) for j, sj in enumerate(probs)))
            for i, si in enumerate(probs)]


def log_softmax(xs: Sequence[float]) -> list[tuple[float, tuple[float, ...]]]:
    """xi - logsumexp(x), one output per input; d/dxj = delta_ij - sj."""
    # sj as e**(xj - m) / total, which keeps delta_jj - sj exact to rounding when sj is near 1.
    m, exps, total = _shifted_exps(xs, "log_softmax")
    lse = m + math.log(total)
    probs = [e / total for e in exps]
    return [(xi - lse, tuple((i == j) - sj for j, sj in enumerate(probs)))
            for i, xi in enumerate(xs)]


# The op tables: what the docs list and the tests iterate over.
UNARY: dict[str, Callable[..., tuple[float, Local1]]] = {
    "neg": neg, "abs": abs_, "exp": exp, "log": log, "sqrt": sqrt, "tanh": tanh,
    "sigmoid": sigmoid, "relu": relu, "leaky_relu": leaky_relu, "sin": sin, "cos": cos,
    "power": power, "tan": tan, "sinh": sinh, "cosh": cosh, "asin": asin, "acos": acos,
    "atan": atan, "asinh": asinh, "acosh": acosh, "atanh": atanh, "log1p": log1p,
    "expm1": expm1, "log2": log2, "log10": log10, "sign": sign, "softplus": softplus,
    "elu": elu, "gelu": gelu, "silu": silu, "erf": erf,
}
BINARY: dict[str, Callable[[float, float], tuple[float, Local2]]] = {
    "add": add, "sub": sub, "mul": mul, "div": div, "pow": pow,
}
NARY: dict[str, Callable[..., object]] = {
    "sum": sum_, "mean": mean, "dot": dot, "logsumexp": logsumexp,
    "softmax": softmax, "log_softmax": log_softmax,
}


# ---- the same math, written as code and with Values --------------------------------------
# Each op's rule above is what the eager engine runs. Beside it, here, the same op twice more:
# - as Python source, for ag.compile's generated code: `code` computes the output from the
#   operands ({x}, or {a} and {b}; a parameter as {n} or {slope}), each of `local_code` one local
#   derivative, which may also use the output {y}. Written to give the rule's floats bit for
#   bit, and to raise where the rule raises (the compiled call then re-runs eagerly for the
#   rule's own message). An op without code is compiled as a call of its rule.
# - with Values, for grad(create_graph=True): `local_values(operands..., y)` returns the local
#   derivatives built from the engine's own ops, so they can be differentiated again. Where a
#   derivative is a step (relu, abs) it is a plain number: its own derivative is 0, as in
#   PyTorch. Operands may be Values or numbers (a constant folded into an n-ary op).
# tests/test_ops.py checks all three against each other for every op.


@dataclass(frozen=True)
class Op:
    """One op: its float rule, its code for ag.compile, its local derivatives as Values."""

    rule: Callable[..., Any]
    code: str | Callable[..., str] | None = None
    local_code: tuple[str, ...] | Callable[..., tuple[str, ...]] = ()
    local_values: Callable[..., tuple[Any, ...]] | None = None


def _math(name: str, v: Any) -> Any:
    """Return math's `name` of a number, or the Value method of that name for a Value."""
    return getattr(math, name)(v) if isinstance(v, (int, float)) else getattr(v, name)()


def _sign(v: Any) -> float:
    x = float(v)
    return 1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0


def _base_local_values(a: Any, b: Any) -> Any:
    """d(a**b)/da = b a**(b-1), from Values or numbers; where the rule's slope is 0 or
    vertical (b = 0; a = 0 with b < 1) the same constant, as the rule gives.

    A Value exponent at 0 keeps b a**(b-1) where a != 0: it is 0 there, but its derivative
    in b, a**(b-1), is not (the mixed second derivative of a**b).
    """
    a_data, b_data = float(a), float(b)
    if b_data == 0.0 and (a_data == 0.0 or isinstance(b, (int, float))):
        return 0.0
    if a_data == 0.0 and b_data < 1.0:
        return math.inf
    if b_data == 2.0 and isinstance(b, (int, float)):
        return b * a  # a**1 is a, to the bit: one node less in the derivative's picture
    try:
        return b * a ** (b - 1.0)
    except OverflowError:  # as the rule: past the largest float, the slope is infinite
        return math.copysign(math.inf, b_data)


def _exponent_local_values(a: Any, y: Any) -> Any:
    """d(a**b)/db = a**b ln(a) for a > 0; 0 at a = 0 and NaN below, as the rule gives."""
    a_data = float(a)
    return y * _math("log", a) if a_data > 0.0 else 0.0 if a_data == 0.0 else math.nan


def _logsumexp_values(xs: Sequence[Any]) -> Any:
    """logsumexp of Values and numbers, built from ops: shifted by the max, as the rule is."""
    m = max(float(x) for x in xs)
    return m + _math("log", builtins.sum(_math("exp", x - m) for x in xs))


def _reciprocal_values(r: Any) -> Any:
    """1 / r from a Value or a number (r >= 0 or NaN); _reciprocal's +inf at r = 0.

    At 0, 1 / r would raise: (1 - r) * inf is +inf too, and its slope in r is -inf, as
    -1 / r**2's, so the second derivative at an end point (asin at 1, sqrt at 0) is +-inf,
    as PyTorch gives, not the 0 of a constant.
    """
    # 1 / NaN is NaN, no error: only 0 needs another form.
    return (1.0 - r) * math.inf if float(r) == 0.0 else 1.0 / r


def _acosh_local_values(x: Any) -> Any:
    # (x - 1)(x + 1), exact near 1, as the rule; at 1 itself x * x - 1 (also exact there),
    # whose slope 2x has no 0 factor: the product's (x - 1) would make 0 * inf = NaN.
    square = x * x - 1.0 if float(x) == 1.0 else (x - 1.0) * (x + 1.0)
    return _reciprocal_values(_math("sqrt", square))


def _sigmoid_values(x: Any) -> Any:
    return sigmoid(x)[0] if isinstance(x, (int, float)) else x.sigmoid()


def _softplus_local_values(x: Any) -> Any:
    # From the threshold on, the rule's number, a constant: PyTorch's second derivative is 0
    # there (at x = 20 itself too, though its first derivative there is the sigmoid's).
    if float(x) >= SOFTPLUS_THRESHOLD:
        return softplus(float(x))[1][0]
    z = _math("exp", x)
    return z * (1.0 / (z + 1.0))


def _gelu_local_values(x: Any) -> Any:
    cdf = 0.5 * (1.0 + _math("erf", x * SQRT1_2))
    return cdf + x * (_math("exp", -0.5 * x * x) * INV_SQRT_2PI)


def _elu_local_values(x: Any, alpha: float) -> Any:
    # At 0 the rule's alpha as a constant: PyTorch's second derivative at 0 is 0 (its first
    # takes the left side's alpha, its second the right side's 0).
    x_data = float(x)
    return 1.0 if x_data > 0.0 else alpha if x_data == 0.0 else alpha * _math("exp", x)


def _silu_local_values(x: Any) -> Any:
    s = _sigmoid_values(x)
    return s * (1.0 + x * (1.0 - s))


# sigmoid's rule as code, branch for branch; silu's code uses it too.
_SIGMOID_CODE = ("(1.0 / (1.0 + math.exp(-{x})) if {x} >= 0.0 "
                 "else math.exp({x}) / (1.0 + math.exp({x})))")


def _number_code(n: float) -> str:
    """n as Python source: inf and nan are not literals."""
    return repr(n) if math.isfinite(n) else f"float('{n!r}')"


def _power_code(x: str, n: float) -> str:
    # x ** n for an integer n; math.pow otherwise, which raises where ** gives a complex number;
    # the rule itself for an infinite or NaN n, whose edges only the rule knows.
    if not math.isfinite(n):
        return f"ops.power({x}, {_number_code(n)})[0]"
    return f"{x} ** {n!r}" if n.is_integer() else f"math.pow({x}, {n!r})"


def _power_local_code(x: str, n: float) -> str:
    # The rule's n x**(n-1), with the rule's constant 0 for n = 0.
    if not math.isfinite(n):
        return f"ops.power({x}, {_number_code(n)})[1][0]"
    return "0.0" if n == 0.0 else f"{n!r} * {x} ** {n - 1.0!r}"


def _logsumexp_code(xs: Sequence[str]) -> str:
    m = f"max(({', '.join(xs)},))"
    return f"{m} + math.log(fsum(({''.join(f'math.exp({x} - {m}), ' for x in xs)})))"


def _dot_code(a: Sequence[str], b: Sequence[str]) -> str:
    # x * 1.0 is x, to the bit: a bias's term is written as the bias.
    terms = [x if y == "1.0" else y if x == "1.0" else f"{x} * {y}" for x, y in zip(a, b)]
    return f"fsum(({', '.join(terms)},))"


OPS: dict[str, Op] = {
    # unary: operand {x}, output {y}
    "neg": Op(neg, "-{x}", ("-1.0",), lambda x, y: (-1.0,)),
    "abs": Op(abs_, "abs({x})", ("(1.0 if {x} > 0.0 else -1.0 if {x} < 0.0 else 0.0)",),
              lambda x, y: (_sign(x),)),
    "exp": Op(exp, "math.exp({x})", ("{y}",), lambda x, y: (y,)),
    "log": Op(log, "math.log({x})", ("1.0 / {x}",), lambda x, y: (1.0 / x,)),
    "sqrt": Op(sqrt, "math.sqrt({x})", ("0.5 / {y}",),
               lambda x, y: (0.5 * _reciprocal_values(y) if float(y) == 0.0 else 0.5 / y,)),
    "tanh": Op(tanh, "math.tanh({x})", ("1.0 - {y} * {y}",), lambda x, y: (1.0 - y * y,)),
    "sigmoid": Op(sigmoid, _SIGMOID_CODE, ("{y} * (1.0 - {y})",), lambda x, y: (y * (1.0 - y),)),
    # `not x <= 0.0` rather than `x > 0.0`: NaN passes through, as the rule lets it.
    "relu": Op(relu, "({x} if not {x} <= 0.0 else 0.0)", ("(1.0 if {x} > 0.0 else 0.0)",),
               lambda x, y: (1.0 if float(x) > 0.0 else 0.0,)),
    "leaky_relu": Op(leaky_relu, "({x} if {x} > 0.0 else {slope} * {x})",
                     ("(1.0 if {x} > 0.0 else {slope})",),
                     lambda x, y, slope=0.01: (1.0 if float(x) > 0.0 else slope,)),
    "sin": Op(sin, "math.sin({x})", ("math.cos({x})",), lambda x, y: (_math("cos", x),)),
    "cos": Op(cos, "math.cos({x})", ("-math.sin({x})",), lambda x, y: (-_math("sin", x),)),
    "tan": Op(tan, "math.tan({x})", ("1.0 + {y} * {y}",), lambda x, y: (1.0 + y * y,)),
    "sinh": Op(sinh, "math.sinh({x})", ("math.cosh({x})",), lambda x, y: (_math("cosh", x),)),
    "cosh": Op(cosh, "math.cosh({x})", ("math.sinh({x})",), lambda x, y: (_math("sinh", x),)),
    # At x = +-1 the code divides by 0 and raises: the call then runs the rule (slope inf).
    "asin": Op(asin, "math.asin({x})", ("1.0 / math.sqrt(1.0 - {x} * {x})",),
               lambda x, y: (_reciprocal_values(_math("sqrt", 1.0 - x * x)),)),
    "acos": Op(acos, "math.acos({x})", ("-1.0 / math.sqrt(1.0 - {x} * {x})",),
               lambda x, y: (-_reciprocal_values(_math("sqrt", 1.0 - x * x)),)),
    "atan": Op(atan, "math.atan({x})", ("1.0 / (1.0 + {x} * {x})",),
               lambda x, y: (1.0 / (1.0 + x * x),)),
    "asinh": Op(asinh, "math.asinh({x})", ("1.0 / math.sqrt({x} * {x} + 1.0)",),
                lambda x, y: (1.0 / _math("sqrt", x * x + 1.0),)),
    "acosh": Op(acosh, "math.acosh({x})", ("1.0 / math.sqrt(({x} - 1.0) * ({x} + 1.0))",),
                lambda x, y: (_acosh_local_values(x),)),
    # math.atanh raises at +-1 (the rule's infinite end points): the call then runs the rule.
    "atanh": Op(atanh, "math.atanh({x})", ("1.0 / (1.0 - {x} * {x})",),
                lambda x, y: (_reciprocal_values(1.0 - x * x),)),
    "log1p": Op(log1p, "math.log1p({x})", ("1.0 / (1.0 + {x})",),
                lambda x, y: (1.0 / (1.0 + x),)),
    "expm1": Op(expm1, "math.expm1({x})", ("{y} + 1.0",), lambda x, y: (y + 1.0,)),
    "log2": Op(log2, "math.log2({x})", (f"1.0 / ({{x}} * {LN2!r})",),
               lambda x, y: (1.0 / (x * LN2),)),
    "log10": Op(log10, "math.log10({x})", (f"1.0 / ({{x}} * {LN10!r})",),
                lambda x, y: (1.0 / (x * LN10),)),
    "sign": Op(sign, "(1.0 if {x} > 0.0 else -1.0 if {x} < 0.0 else 0.0)", ("0.0",),
               lambda x, y: (0.0,)),
    "softplus": Op(softplus, f"({{x}} if {{x}} > {SOFTPLUS_THRESHOLD!r} "
                             "else math.log1p(math.exp({x})))",
                   (f"(1.0 if {{x}} > {SOFTPLUS_THRESHOLD!r} "
                    "else math.exp({x}) * (1.0 / (math.exp({x}) + 1.0)))",),
                   lambda x, y: (_softplus_local_values(x),)),
    "elu": Op(elu, "({x} if {x} > 0.0 else {alpha} * math.expm1({x}))",
              ("(1.0 if {x} > 0.0 else {alpha} * math.exp({x}))",),
              lambda x, y, alpha=1.0: (_elu_local_values(x, alpha),)),
    "gelu": Op(gelu, f"{{x}} * (0.5 * (1.0 + math.erf({{x}} * {SQRT1_2!r})))",
               (f"0.5 * (1.0 + math.erf({{x}} * {SQRT1_2!r})) "
                f"+ {{x}} * (math.exp(-0.5 * {{x}} * {{x}}) * {INV_SQRT_2PI!r})",),
               lambda x, y: (_gelu_local_values(x),)),
    "silu": Op(silu, f"{{x}} * {_SIGMOID_CODE}",
               (f"{_SIGMOID_CODE} * (1.0 + {{x}} * (1.0 - {_SIGMOID_CODE}))",),
               lambda x, y: (_silu_local_values(x),)),
    "erf": Op(erf, "math.erf({x})", (f"{TWO_OVER_SQRT_PI!r} * math.exp(-({{x}} * {{x}}))",),
              lambda x, y: (TWO_OVER_SQRT_PI * _math("exp", -(x * x)),)),
    # x ** n, n a constant: the compiler writes x ** n for an integer n, math.pow otherwise
    # (it raises where the rule raises instead of returning a complex number).
    "power": Op(power, lambda x, n: _power_code(x, n), lambda x, n: (_power_local_code(x, n),),
                lambda x, y, n: (_base_local_values(x, n),)),
    # binary: operands {a} and {b}, output {y}
    "add": Op(add, "{a} + {b}", ("1.0", "1.0"), lambda a, b, y: (1.0, 1.0)),
    "sub": Op(sub, "{a} - {b}", ("1.0", "-1.0"), lambda a, b, y: (1.0, -1.0)),
    "mul": Op(mul, "{a} * {b}", ("{b}", "{a}"), lambda a, b, y: (b, a)),
    # The rule multiplies by 1/b (one division for the output and both derivatives).
    "div": Op(div, "{a} * (1.0 / {b})", ("1.0 / {b}", "-{y} * (1.0 / {b})"),
              lambda a, b, y: (1.0 / b, -y * (1.0 / b))),
    "pow": Op(pow, "math.pow({a}, {b})",
              ("{b} * {a} ** ({b} - 1.0)",
               "({y} * math.log({a}) if {a} > 0.0 else 0.0 if {a} == 0.0 else math.nan)"),
              lambda a, b, y: (_base_local_values(a, b), _exponent_local_values(a, y))),
    # n-ary: code and local_code take the operands' source; local_values the operands
    "sum": Op(sum_, lambda xs: f"fsum(({', '.join(xs)},))", lambda xs: ("1.0",) * len(xs),
              lambda xs, y: (1.0,) * len(xs)),
    "mean": Op(mean, lambda xs: f"fsum(({', '.join(xs)},)) / {len(xs)}",
               lambda xs: (repr(1.0 / len(xs)),) * len(xs),
               lambda xs, y: (1.0 / len(xs),) * len(xs)),
    "dot": Op(dot, _dot_code, lambda a, b: (*b, *a), lambda a, b, y: (*b, *a)),
    # The rule's steps in one expression (the max written once per use, so native code can
    # lower it too); d/dxj = e**(xj - y): every exponent <= 0, no overflow.
    "logsumexp": Op(logsumexp, _logsumexp_code,
                    lambda xs: tuple(f"math.exp({x} - {{y}})" for x in xs),
                    lambda xs, y: tuple(_math("exp", x - y) for x in xs)),
    # Output i: d si / d xj = si (delta_ij - sj), sj = e**(xj - logsumexp(x)).
    "softmax": Op(softmax, local_values=lambda xs, y, i: _softmax_locals(xs, y, i)),
    # Output i, yi = xi - logsumexp(x): d/dxj = delta_ij - e**(xj - logsumexp(x)), the
    # logsumexp built afresh (xi - yi would lose it when xi is huge).
    "log_softmax": Op(log_softmax, local_values=lambda xs, y, i: _log_softmax_locals(xs, i)),
}


def _log_softmax_locals(xs: Sequence[Any], i: int) -> tuple[Any, ...]:
    lse = _logsumexp_values(xs)
    return tuple(float(i == j) - _math("exp", x - lse) for j, x in enumerate(xs))


def _softmax_locals(xs: Sequence[Any], y: Any, i: int) -> tuple[Any, ...]:
    lse = _logsumexp_values(xs)
    return tuple(y * (float(i == j) - _math("exp", x - lse)) for j, x in enumerate(xs))


# The ops made with ag.primitive (autograd/primitives.py), by key: each is also an entry of OPS,
# with no code, so the compiled code calls its rule: ops.PRIMITIVES[key].rule((x, y, )).
# Filled at run time, as primitives are defined.
PRIMITIVES: dict[str, Any] = {}

# A node's op, as the picture shows it, -> its key in OPS. A constant power's op is "**n".
SYMBOLS: dict[str, str] = {
    "+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow",
    **{name: name for name in OPS if name not in ("add", "sub", "mul", "div", "pow", "power")},
}
