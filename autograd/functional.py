"""N-ary ops, one node each: sum, mean, dot, logsumexp, softmax, log_softmax.

Inputs may mix Values and plain numbers; numbers are constants folded into the
node, so only Values become children.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from . import ops
from .mode import _mode
from .value import Number, Value, _to_float

Operand = Value | Number


def sum(values: Iterable[Operand], start: Operand = 0.0) -> Value:  # noqa: A001
    """Return start + v1 + ... + vn as one node.

    >>> from autograd import Value
    >>> sum([Value(1.0), 2, Value(3.0)]).data
    6.0
    """
    return _reduce([*values, start], ops.sum_, "sum")


def mean(values: Iterable[Operand]) -> Value:
    """Return (v1 + ... + vn) / n as one node; ValueError when empty."""
    return _reduce(list(values), ops.mean, "mean")


def logsumexp(values: Iterable[Operand]) -> Value:
    """Return log(e**v1 + ... + e**vn) as one node, stable for large inputs."""
    return _reduce(list(values), ops.logsumexp, "logsumexp")


def dot(a: Sequence[Operand], b: Sequence[Operand]) -> Value:
    """Return a1 b1 + ... + an bn as one node (a neuron's weighted sum).

    >>> from autograd import Value
    >>> dot([Value(1.0), Value(2.0)], [3.0, 4.0]).data
    11.0
    """
    if len(a) != len(b):
        raise ValueError(f"dot: sequences differ in length, {len(a)} and {len(b)}")
    xs, ys = _floats(a, "dot"), _floats(b, "dot")
    data, local_grads = ops.dot(xs, ys)
    return _node(data, [*a, *b], local_grads, "dot")


def softmax(values: Iterable[Operand]) -> list[Value]:
    """Return e**vi / sum_j e**vj for each i: one node per output, stable for large inputs."""
    return _vector(list(values), ops.softmax, "softmax")


def log_softmax(values: Iterable[Operand]) -> list[Value]:
    """Return vi - logsumexp(v) for each i: one node per output, stable for large inputs."""
    return _vector(list(values), ops.log_softmax, "log_softmax")


# ---- plumbing: operands -> floats -> rule -> node ---------------------------------------


def _floats(operands: Sequence[Operand], op: str) -> list[float]:
    return [v.data if isinstance(v, Value) else _to_float(v, op) for v in operands]


def _node(data: float, operands: Sequence[Operand], local_grads: Sequence[float],
          op: str) -> Value:
    """One node whose children are the Values among operands, with their local derivatives."""
    if not _mode.enabled:
        return Value(data)
    pairs = [(v, d) for v, d in zip(operands, local_grads) if isinstance(v, Value)]
    children = tuple(v for v, _ in pairs)
    return Value(data, "", op, children, tuple(d for _, d in pairs))


def _reduce(operands: list[Operand], rule: Callable[[list[float]], tuple[float, tuple[float, ...]]],
            op: str) -> Value:
    data, local_grads = rule(_floats(operands, op))
    return _node(data, operands, local_grads, op)


def _vector(operands: list[Operand],
            rule: Callable[[list[float]], list[tuple[float, tuple[float, ...]]]],
            op: str) -> list[Value]:
    if not operands:
        raise ValueError(f"{op}: needs at least one value, got an empty sequence")
    return [_node(data, operands, local_grads, op)
            for data, local_grads in rule(_floats(operands, op))]


