"""Hypothesis strategies and the one table of ops that drives the per-op tests.

Each row says how to call an op on Values, what `math` says its value and gradient are,
where its inputs are safe (off kinks, poles and domain edges), which rule of
`autograd.ops` it exercises and, optionally, the PyTorch equivalent. A new op needs
one new row here; tests/test_ops.py runs every row through every check.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import reject
from hypothesis import strategies as st

import autograd as ag
from autograd import Value, ops

Floats = Sequence[float]


@dataclass(frozen=True)
class Range:
    """Safe inputs: [lo, hi] with (-gap, gap) cut out around a kink or pole at 0."""

    lo: float
    hi: float
    gap: float = 0.0

    def strategy(self) -> st.SearchStrategy[float]:
        if self.gap <= 0.0:
            return st.floats(self.lo, self.hi)
        return st.floats(self.lo, -self.gap) | st.floats(self.gap, self.hi)

    def grid(self) -> list[float]:
        """Five fixed points spread over the range, uneven so no two ops share landmarks."""
        points = [self.lo + (self.hi - self.lo) * f for f in (0.0, 0.13, 0.5, 0.77, 1.0)]
        return [math.copysign(max(abs(x), self.gap), x) for x in points]


@dataclass(frozen=True)
class OpCase:
    """One op: its call on Values, its math value and gradient, and where to evaluate it."""

    name: str
    covers: str  # the key of the rule in ops.UNARY / ops.BINARY / ops.NARY it exercises
    call: Callable[[Sequence[Value]], Value] = field(repr=False)
    reference: Callable[[Floats], float] = field(repr=False)
    derivative: Callable[[Floats], list[float]] = field(repr=False)
    ranges: tuple[Range, ...] = field(repr=False)
    torch: Callable[[Any, Sequence[Any]], Any] | None = field(default=None, repr=False)
    # The rule itself, called on floats: its local derivatives must be `derivative`.
    rule: Callable[[Floats], tuple[float, tuple[float, ...]]] | None = field(
        default=None, repr=False)

    @property
    def inputs(self) -> st.SearchStrategy[list[float]]:
        return st.tuples(*(r.strategy() for r in self.ranges)).map(list)

    def points(self) -> list[list[float]]:
        """Five input vectors; input i walks its grid shifted by i, so n-ary ops see variety."""
        grids = [r.grid() for r in self.ranges]
        return [[g[(j + 2 * i) % 5] for i, g in enumerate(grids)] for j in range(5)]


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _phi(x: float) -> float:
    """The standard normal CDF."""
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _softmax(xs: Floats) -> list[float]:
    exps = [math.exp(x) for x in xs]
    return [e / math.fsum(exps) for e in exps]


def _lse(xs: Floats) -> float:
    return math.log(math.fsum(math.exp(x) for x in xs))


def _stack(t: Any, v: Sequence[Any]) -> Any:
    return t.stack(list(v))


def _tensor(t: Any, xs: Floats) -> Any:
    return t.tensor(list(xs), dtype=t.float64)


ANY = Range(-5.0, 5.0)
POSITIVE = Range(0.05, 20.0)
OFF_ZERO = Range(-5.0, 5.0, gap=1e-3)  # kinks at 0: abs, relu, leaky_relu
DENOMINATOR = Range(-4.0, 4.0, gap=0.25)
BASE = Range(0.1, 5.0)
EXPONENT = Range(-3.0, 3.0)
UNIT = Range(-0.95, 0.95)  # asin, acos, atanh: off the end points +-1
SLOPE = 0.2
ALPHA = 0.5  # elu's alpha in its second row
CONSTANTS = (1.5, -2.0, 0.5)  # the numbers in the mixed dot row
WEIGHTS = (0.7, -1.3, 2.1, 0.4)  # read every softmax output through one weighted sum


def _r1(rule: Callable[..., tuple[float, tuple[float, ...]]], *extra: float) -> Any:
    return lambda xs: rule(xs[0], *extra)


def _r2(rule: Callable[[float, float], tuple[float, tuple[float, float]]]) -> Any:
    return lambda xs: rule(xs[0], xs[1])


UNARY_CASES = [
    OpCase("neg", "neg", lambda v: -v[0], lambda x: -x[0], lambda x: [-1.0], (ANY,),
           lambda t, v: -v[0], _r1(ops.neg)),
    OpCase("abs", "abs", lambda v: abs(v[0]), lambda x: abs(x[0]),
           lambda x: [math.copysign(1.0, x[0])], (OFF_ZERO,), lambda t, v: t.abs(v[0]),
           _r1(ops.abs_)),
    OpCase("exp", "exp", lambda v: v[0].exp(), lambda x: math.exp(x[0]),
           lambda x: [math.exp(x[0])], (ANY,), lambda t, v: t.exp(v[0]), _r1(ops.exp)),
    OpCase("log", "log", lambda v: v[0].log(), lambda x: math.log(x[0]),
           lambda x: [1.0 / x[0]], (POSITIVE,), lambda t, v: t.log(v[0]), _r1(ops.log)),
    OpCase("sqrt", "sqrt", lambda v: v[0].sqrt(), lambda x: math.sqrt(x[0]),
           lambda x: [0.5 / math.sqrt(x[0])], (POSITIVE,), lambda t, v: t.sqrt(v[0]),
           _r1(ops.sqrt)),
    OpCase("tanh", "tanh", lambda v: v[0].tanh(), lambda x: math.tanh(x[0]),
           lambda x: [1.0 / math.cosh(x[0]) ** 2], (ANY,), lambda t, v: t.tanh(v[0]),
           _r1(ops.tanh)),
    OpCase("sigmoid", "sigmoid", lambda v: v[0].sigmoid(), lambda x: _sigmoid(x[0]),
           lambda x: [math.exp(-x[0]) / (1.0 + math.exp(-x[0])) ** 2], (Range(-10.0, 10.0),),
           lambda t, v: t.sigmoid(v[0]), _r1(ops.sigmoid)),
    OpCase("relu", "relu", lambda v: v[0].relu(), lambda x: max(x[0], 0.0),
           lambda x: [1.0 if x[0] > 0 else 0.0], (OFF_ZERO,), lambda t, v: t.relu(v[0]),
           _r1(ops.relu)),
    OpCase("leaky_relu", "leaky_relu", lambda v: v[0].leaky_relu(),
           lambda x: x[0] if x[0] > 0 else 0.01 * x[0],
           lambda x: [1.0 if x[0] > 0 else 0.01], (OFF_ZERO,),
           lambda t, v: t.nn.functional.leaky_relu(v[0], 0.01), _r1(ops.leaky_relu)),
    OpCase("leaky_relu(0.2)", "leaky_relu", lambda v: v[0].leaky_relu(SLOPE),
           lambda x: x[0] if x[0] > 0 else SLOPE * x[0],
           lambda x: [1.0 if x[0] > 0 else SLOPE], (OFF_ZERO,),
           lambda t, v: t.nn.functional.leaky_relu(v[0], SLOPE), _r1(ops.leaky_relu, SLOPE)),
    OpCase("sin", "sin", lambda v: v[0].sin(), lambda x: math.sin(x[0]),
           lambda x: [math.cos(x[0])], (Range(-6.0, 6.0),), lambda t, v: t.sin(v[0]),
           _r1(ops.sin)),
    OpCase("cos", "cos", lambda v: v[0].cos(), lambda x: math.cos(x[0]),
           lambda x: [-math.sin(x[0])], (Range(-6.0, 6.0),), lambda t, v: t.cos(v[0]),
           _r1(ops.cos)),
    OpCase("tan", "tan", lambda v: v[0].tan(), lambda x: math.tan(x[0]),
           lambda x: [1.0 / math.cos(x[0]) ** 2], (Range(-1.4, 1.4),),
           lambda t, v: t.tan(v[0]), _r1(ops.tan)),
    OpCase("sinh", "sinh", lambda v: v[0].sinh(), lambda x: math.sinh(x[0]),
           lambda x: [math.cosh(x[0])], (ANY,), lambda t, v: t.sinh(v[0]), _r1(ops.sinh)),
    OpCase("cosh", "cosh", lambda v: v[0].cosh(), lambda x: math.cosh(x[0]),
           lambda x: [math.sinh(x[0])], (ANY,), lambda t, v: t.cosh(v[0]), _r1(ops.cosh)),
    OpCase("asin", "asin", lambda v: v[0].asin(), lambda x: math.asin(x[0]),
           lambda x: [1.0 / math.sqrt(1.0 - x[0] ** 2)], (UNIT,), lambda t, v: t.asin(v[0]),
           _r1(ops.asin)),
    OpCase("acos", "acos", lambda v: v[0].acos(), lambda x: math.acos(x[0]),
           lambda x: [-1.0 / math.sqrt(1.0 - x[0] ** 2)], (UNIT,), lambda t, v: t.acos(v[0]),
           _r1(ops.acos)),
    OpCase("atan", "atan", lambda v: v[0].atan(), lambda x: math.atan(x[0]),
           lambda x: [1.0 / (1.0 + x[0] ** 2)], (ANY,), lambda t, v: t.atan(v[0]),
           _r1(ops.atan)),
    OpCase("asinh", "asinh", lambda v: v[0].asinh(), lambda x: math.asinh(x[0]),
           lambda x: [1.0 / math.sqrt(x[0] ** 2 + 1.0)], (ANY,), lambda t, v: t.asinh(v[0]),
           _r1(ops.asinh)),
    OpCase("acosh", "acosh", lambda v: v[0].acosh(), lambda x: math.acosh(x[0]),
           lambda x: [1.0 / math.sqrt(x[0] ** 2 - 1.0)], (Range(1.05, 20.0),),
           lambda t, v: t.acosh(v[0]), _r1(ops.acosh)),
    OpCase("atanh", "atanh", lambda v: v[0].atanh(), lambda x: math.atanh(x[0]),
           lambda x: [1.0 / (1.0 - x[0] ** 2)], (UNIT,), lambda t, v: t.atanh(v[0]),
           _r1(ops.atanh)),
    OpCase("log1p", "log1p", lambda v: v[0].log1p(), lambda x: math.log1p(x[0]),
           lambda x: [1.0 / (1.0 + x[0])], (Range(-0.95, 20.0),), lambda t, v: t.log1p(v[0]),
           _r1(ops.log1p)),
    OpCase("expm1", "expm1", lambda v: v[0].expm1(), lambda x: math.expm1(x[0]),
           lambda x: [math.exp(x[0])], (ANY,), lambda t, v: t.expm1(v[0]), _r1(ops.expm1)),
    OpCase("log2", "log2", lambda v: v[0].log2(), lambda x: math.log2(x[0]),
           lambda x: [1.0 / (x[0] * math.log(2.0))], (POSITIVE,), lambda t, v: t.log2(v[0]),
           _r1(ops.log2)),
    OpCase("log10", "log10", lambda v: v[0].log10(), lambda x: math.log10(x[0]),
           lambda x: [1.0 / (x[0] * math.log(10.0))], (POSITIVE,),
           lambda t, v: t.log10(v[0]), _r1(ops.log10)),
    OpCase("sign", "sign", lambda v: v[0].sign(), lambda x: math.copysign(1.0, x[0]),
           lambda x: [0.0], (OFF_ZERO,), lambda t, v: t.sign(v[0]), _r1(ops.sign)),
    # Up to 18: past PyTorch's threshold (20) softplus is x; tests/test_ops.py checks it there.
    OpCase("softplus", "softplus", lambda v: v[0].softplus(),
           lambda x: math.log1p(math.exp(x[0])), lambda x: [_sigmoid(x[0])],
           (Range(-25.0, 18.0),), lambda t, v: t.nn.functional.softplus(v[0]),
           _r1(ops.softplus)),
    OpCase("elu", "elu", lambda v: v[0].elu(), lambda x: x[0] if x[0] > 0 else math.expm1(x[0]),
           lambda x: [1.0 if x[0] > 0 else math.exp(x[0])], (OFF_ZERO,),
           lambda t, v: t.nn.functional.elu(v[0]), _r1(ops.elu)),
    OpCase("elu(0.5)", "elu", lambda v: v[0].elu(ALPHA),
           lambda x: x[0] if x[0] > 0 else ALPHA * math.expm1(x[0]),
           lambda x: [1.0 if x[0] > 0 else ALPHA * math.exp(x[0])], (OFF_ZERO,),
           lambda t, v: t.nn.functional.elu(v[0], ALPHA), _r1(ops.elu, ALPHA)),
    OpCase("gelu", "gelu", lambda v: v[0].gelu(),
           lambda x: x[0] * _phi(x[0]),
           lambda x: [_phi(x[0]) + x[0] * math.exp(-x[0] ** 2 / 2) / math.sqrt(2 * math.pi)],
           (ANY,), lambda t, v: t.nn.functional.gelu(v[0]), _r1(ops.gelu)),
    OpCase("silu", "silu", lambda v: v[0].silu(), lambda x: x[0] * _sigmoid(x[0]),
           lambda x: [_sigmoid(x[0]) * (1.0 + x[0] * (1.0 - _sigmoid(x[0])))],
           (Range(-10.0, 10.0),), lambda t, v: t.nn.functional.silu(v[0]), _r1(ops.silu)),
    OpCase("erf", "erf", lambda v: v[0].erf(), lambda x: math.erf(x[0]),
           lambda x: [2.0 / math.sqrt(math.pi) * math.exp(-x[0] ** 2)], (ANY,),
           lambda t, v: t.erf(v[0]), _r1(ops.erf)),
    OpCase("x**2", "power", lambda v: v[0] ** 2, lambda x: x[0] ** 2, lambda x: [2 * x[0]],
           (ANY,), lambda t, v: v[0] ** 2, _r1(ops.power, 2.0)),
    OpCase("x**3", "power", lambda v: v[0] ** 3, lambda x: x[0] ** 3,
           lambda x: [3 * x[0] ** 2], (ANY,), lambda t, v: v[0] ** 3, _r1(ops.power, 3.0)),
    OpCase("x**0.5", "power", lambda v: v[0] ** 0.5, lambda x: x[0] ** 0.5,
           lambda x: [0.5 * x[0] ** -0.5], (POSITIVE,), lambda t, v: v[0] ** 0.5,
           _r1(ops.power, 0.5)),
    OpCase("x**-1.5", "power", lambda v: v[0] ** -1.5, lambda x: x[0] ** -1.5,
           lambda x: [-1.5 * x[0] ** -2.5], (Range(0.1, 10.0),), lambda t, v: v[0] ** -1.5,
           _r1(ops.power, -1.5)),
    OpCase("x**-2", "power", lambda v: v[0] ** -2, lambda x: x[0] ** -2,
           lambda x: [-2.0 * x[0] ** -3], (DENOMINATOR,), lambda t, v: v[0] ** -2,
           _r1(ops.power, -2.0)),
]

# The same binary ops with a number on the right, then on the left (reflected operators).
MIXED_CASES = [
    OpCase("x+2.5", "add", lambda v: v[0] + 2.5, lambda x: x[0] + 2.5, lambda x: [1.0],
           (ANY,), lambda t, v: v[0] + 2.5),
    OpCase("2.5+x", "add", lambda v: 2.5 + v[0], lambda x: 2.5 + x[0], lambda x: [1.0],
           (ANY,), lambda t, v: 2.5 + v[0]),
    OpCase("x-2.5", "sub", lambda v: v[0] - 2.5, lambda x: x[0] - 2.5, lambda x: [1.0],
           (ANY,), lambda t, v: v[0] - 2.5),
    OpCase("2.5-x", "sub", lambda v: 2.5 - v[0], lambda x: 2.5 - x[0], lambda x: [-1.0],
           (ANY,), lambda t, v: 2.5 - v[0]),
    OpCase("x*-1.5", "mul", lambda v: v[0] * -1.5, lambda x: x[0] * -1.5, lambda x: [-1.5],
           (ANY,), lambda t, v: v[0] * -1.5),
    OpCase("-1.5*x", "mul", lambda v: -1.5 * v[0], lambda x: -1.5 * x[0], lambda x: [-1.5],
           (ANY,), lambda t, v: -1.5 * v[0]),
    OpCase("x/-1.5", "div", lambda v: v[0] / -1.5, lambda x: x[0] / -1.5,
           lambda x: [1.0 / -1.5], (ANY,), lambda t, v: v[0] / -1.5),
    OpCase("3/x", "div", lambda v: 3 / v[0], lambda x: 3 / x[0], lambda x: [-3 / x[0] ** 2],
           (DENOMINATOR,), lambda t, v: 3 / v[0]),
    OpCase("2**x", "pow", lambda v: 2 ** v[0], lambda x: 2 ** x[0],
           lambda x: [2 ** x[0] * math.log(2)], (ANY,), lambda t, v: 2.0 ** v[0]),
]

BINARY_CASES = [
    OpCase("a+b", "add", lambda v: v[0] + v[1], lambda x: x[0] + x[1], lambda x: [1.0, 1.0],
           (ANY, ANY), lambda t, v: v[0] + v[1], _r2(ops.add)),
    OpCase("a-b", "sub", lambda v: v[0] - v[1], lambda x: x[0] - x[1], lambda x: [1.0, -1.0],
           (ANY, ANY), lambda t, v: v[0] - v[1], _r2(ops.sub)),
    OpCase("a*b", "mul", lambda v: v[0] * v[1], lambda x: x[0] * x[1],
           lambda x: [x[1], x[0]], (ANY, ANY), lambda t, v: v[0] * v[1], _r2(ops.mul)),
    OpCase("a/b", "div", lambda v: v[0] / v[1], lambda x: x[0] / x[1],
           lambda x: [1 / x[1], -x[0] / x[1] ** 2], (ANY, DENOMINATOR),
           lambda t, v: v[0] / v[1], _r2(ops.div)),
    OpCase("a**b", "pow", lambda v: v[0] ** v[1], lambda x: x[0] ** x[1],
           lambda x: [x[1] * x[0] ** (x[1] - 1), x[0] ** x[1] * math.log(x[0])],
           (BASE, EXPONENT), lambda t, v: t.pow(v[0], v[1]), _r2(ops.pow)),
]

NARY_CASES = [
    OpCase("sum", "sum", lambda v: ag.sum(v), math.fsum, lambda x: [1.0] * len(x),
           (ANY,) * 4, lambda t, v: _stack(t, v).sum(), lambda xs: ops.sum_(xs)),
    OpCase("sum(mixed, start)", "sum", lambda v: ag.sum([v[0], 2.0, v[1], v[2]], start=0.5),
           lambda x: x[0] + 2.0 + x[1] + x[2] + 0.5, lambda x: [1.0] * 3, (ANY,) * 3,
           lambda t, v: v[0] + 2.0 + v[1] + v[2] + 0.5),
    OpCase("mean", "mean", lambda v: ag.mean(v), lambda x: math.fsum(x) / len(x),
           lambda x: [1.0 / len(x)] * len(x), (ANY,) * 4, lambda t, v: _stack(t, v).mean(),
           lambda xs: ops.mean(xs)),
    OpCase("dot", "dot", lambda v: ag.dot(v[:3], v[3:]),
           lambda x: math.fsum(a * b for a, b in zip(x[:3], x[3:])),
           lambda x: [*x[3:], *x[:3]], (ANY,) * 6,
           lambda t, v: t.dot(_stack(t, v[:3]), _stack(t, v[3:])),
           lambda xs: ops.dot(xs[:3], xs[3:])),
    OpCase("dot(values, numbers)", "dot", lambda v: ag.dot(v, CONSTANTS),
           lambda x: math.fsum(a * b for a, b in zip(x, CONSTANTS)), lambda x: list(CONSTANTS),
           (ANY,) * 3, lambda t, v: t.dot(_stack(t, v), _tensor(t, CONSTANTS))),
    OpCase("logsumexp", "logsumexp", lambda v: ag.logsumexp(v), _lse, _softmax,
           (Range(-10.0, 10.0),) * 4, lambda t, v: t.logsumexp(_stack(t, v), 0),
           lambda xs: ops.logsumexp(xs)),
    OpCase("softmax", "softmax", lambda v: ag.dot(ag.softmax(v), WEIGHTS),
           lambda x: math.fsum(w * s for w, s in zip(WEIGHTS, _softmax(x))),
           lambda x: [s * (w - math.fsum(wi * si for wi, si in zip(WEIGHTS, _softmax(x))))
                      for w, s in zip(WEIGHTS, _softmax(x))],
           (Range(-10.0, 10.0),) * 4,
           lambda t, v: t.dot(t.softmax(_stack(t, v), 0), _tensor(t, WEIGHTS))),
    OpCase("log_softmax", "log_softmax", lambda v: ag.dot(ag.log_softmax(v), WEIGHTS),
           lambda x: math.fsum(w * (xi - _lse(x)) for w, xi in zip(WEIGHTS, x)),
           lambda x: [w - math.fsum(WEIGHTS) * s for w, s in zip(WEIGHTS, _softmax(x))],
           (Range(-10.0, 10.0),) * 4,
           lambda t, v: t.dot(t.log_softmax(_stack(t, v), 0), _tensor(t, WEIGHTS))),
]

CASES = UNARY_CASES + MIXED_CASES + BINARY_CASES + NARY_CASES


# ---- random expression DAGs ----------------------------------------------------------------


@dataclass(frozen=True)
class DagOp:
    """An op a random DAG may apply to earlier nodes: on Values, and the same on tensors."""

    name: str
    arity: int
    value: Callable[[Sequence[Value]], Value] = field(repr=False)
    torch: Callable[[Any, Sequence[Any]], Any] = field(repr=False)


# Smooth everywhere (no kinks, no domain edges), so finite differences apply at any point.
DAG_OPS = {op.name: op for op in [
    DagOp("+", 2, lambda a: a[0] + a[1], lambda t, a: a[0] + a[1]),
    DagOp("-", 2, lambda a: a[0] - a[1], lambda t, a: a[0] - a[1]),
    DagOp("*", 2, lambda a: a[0] * a[1], lambda t, a: a[0] * a[1]),
    DagOp("neg", 1, lambda a: -a[0], lambda t, a: -a[0]),
    DagOp("**2", 1, lambda a: a[0] ** 2, lambda t, a: a[0] ** 2),
    DagOp("exp", 1, lambda a: a[0].exp(), lambda t, a: t.exp(a[0])),
    DagOp("tanh", 1, lambda a: a[0].tanh(), lambda t, a: t.tanh(a[0])),
    DagOp("sigmoid", 1, lambda a: a[0].sigmoid(), lambda t, a: t.sigmoid(a[0])),
    DagOp("sin", 1, lambda a: a[0].sin(), lambda t, a: t.sin(a[0])),
    DagOp("sum", 3, lambda a: ag.sum(a), lambda t, a: _stack(t, a).sum()),
    DagOp("mean", 2, lambda a: ag.mean(a), lambda t, a: _stack(t, a).mean()),
    DagOp("dot", 4, lambda a: ag.dot(a[:2], a[2:]),
          lambda t, a: t.dot(_stack(t, a[:2]), _stack(t, a[2:]))),
    DagOp("logsumexp", 3, lambda a: ag.logsumexp(a),
          lambda t, a: t.logsumexp(_stack(t, a), 0)),
    DagOp("softmax[0]", 3, lambda a: ag.softmax(a)[0],
          lambda t, a: t.softmax(_stack(t, a), 0)[0]),
    DagOp("log_softmax[-1]", 3, lambda a: ag.log_softmax(a)[-1],
          lambda t, a: t.log_softmax(_stack(t, a), 0)[-1]),
]}


@dataclass(frozen=True)
class Dag:
    """Leaf values, then steps (op, indices of earlier nodes); the last node is the root."""

    leaves: list[float]
    steps: list[tuple[str, tuple[int, ...]]]  # op names keep failing examples readable

    def build(self, leaves: Sequence[Value]) -> list[Value]:
        """Every node, leaves first, made from the given leaf Values."""
        nodes = list(leaves)
        for name, args in self.steps:
            nodes.append(DAG_OPS[name].value([nodes[i] for i in args]))
        return nodes

    def build_torch(self, t: Any, leaves: Sequence[Any]) -> list[Any]:
        nodes = list(leaves)
        for name, args in self.steps:
            nodes.append(DAG_OPS[name].torch(t, [nodes[i] for i in args]))
        return nodes


@st.composite
def dags(draw: st.DrawFn, max_leaves: int = 4, max_steps: int = 10) -> Dag:
    """Random DAGs: each step picks an op and earlier nodes, so nodes get reused often."""
    leaves = draw(st.lists(st.floats(-2.0, 2.0), min_size=1, max_size=max_leaves))
    steps: list[tuple[str, tuple[int, ...]]] = []
    for _ in range(draw(st.integers(1, max_steps))):
        op = draw(st.sampled_from(list(DAG_OPS.values())))
        last = len(leaves) + len(steps) - 1
        steps.append((op.name, tuple(draw(st.integers(0, last)) for _ in range(op.arity))))
    dag = Dag(leaves, steps)
    try:
        dag.build([Value(x) for x in leaves])
    except OverflowError:  # exp of exp of a sum: no float holds the program's value
        reject()
    return dag


def tame(nodes: Sequence[Value], limit: float = 1e3) -> bool:
    """True if no node is huge: finite differences lose all precision on huge values."""
    return all(abs(n.data) <= limit for n in nodes)


# ---- operands for dot: Values, a Value subclass, and numbers of every real type -------------

try:
    import numpy
except ImportError:  # then no NumPy scalars among the operands
    numpy = None


class SubValue(Value):
    """A Value subclass: the engine must take it wherever it takes a Value."""


# How to make a constant operand of each real type from a drawn number.
NUMBER_TYPES: dict[str, Callable[[float], object]] = {
    "float": float, "int": int, "bool": bool,
    **({"float64": numpy.float64, "int64": numpy.int64} if numpy is not None else {}),
}

OperandSpec = tuple[str, float]  # ("leaf", index into the leaves) or (a number type, number)


@dataclass(frozen=True)
class DotCase:
    """Leaves (data, made as a SubValue?) and the two operand lists of one dot call."""

    leaves: list[tuple[float, bool]]
    a: list[OperandSpec]
    b: list[OperandSpec]

    def make_leaves(self) -> list[Value]:
        return [SubValue(x) if sub else Value(x) for x, sub in self.leaves]

    def build(self, leaves: Sequence[Value]) -> tuple[list[object], list[object]]:
        """The operands of a and of b, with these leaves where the specs name a leaf."""
        def make(spec: OperandSpec) -> object:
            kind, x = spec
            return leaves[int(x)] if kind == "leaf" else NUMBER_TYPES[kind](x)
        return [make(s) for s in self.a], [make(s) for s in self.b]

    def numbers(self, specs: Sequence[OperandSpec]) -> list[float]:
        """The number each operand stands for: a leaf's data, or the constant as a float."""
        return [self.leaves[int(x)][0] if kind == "leaf" else float(NUMBER_TYPES[kind](x))
                for kind, x in specs]


@st.composite
def dot_cases(draw: st.DrawFn, max_len: int = 6) -> DotCase:
    """Random dot calls: operands mixed at random (SubValues among them), or a neuron's Values
    then numbers, or all Values (dot's fast paths); leaves reused on both sides and within one."""
    shape = draw(st.sampled_from(["mixed", "values then numbers", "all values"]))
    subs = st.booleans() if shape == "mixed" else st.just(False)
    leaves = draw(st.lists(st.tuples(st.floats(-3.0, 3.0), subs), min_size=1, max_size=4))
    leaf = st.integers(0, len(leaves) - 1).map(lambda i: ("leaf", float(i)))
    # Mostly floats, as a neuron's 1.0 is; the other types take dot's general path.
    kinds = ["float"] * len(NUMBER_TYPES) + sorted(NUMBER_TYPES)
    constant = st.sampled_from(kinds).flatmap(
        lambda kind: st.tuples(st.just(kind), st.integers(-5, 5).map(float) if kind != "float"
                               else st.floats(-5.0, 5.0)))
    n = draw(st.integers(0, max_len))
    if shape == "mixed":
        a = draw(st.lists(leaf | constant, min_size=n, max_size=n))
        b = draw(st.lists(leaf | constant, min_size=n, max_size=n))
    else:
        k = n if shape == "all values" else draw(st.integers(0, n))
        a = draw(st.lists(leaf, min_size=n, max_size=n))
        # Distinct numbers, so that any mix-up of their order changes the result.
        b = (draw(st.lists(leaf, min_size=k, max_size=k))
             + draw(st.lists(constant, min_size=n - k, max_size=n - k, unique_by=lambda c: c[1])))
        if draw(st.sampled_from([False, False, True])):  # numbers in a: the general path
            a, b = b, a
    return DotCase(leaves, a, b)
