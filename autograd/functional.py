"""N-ary ops, one node each: sum, mean, dot, logsumexp, softmax, log_softmax.

Inputs may mix Values and plain numbers; numbers are constants folded into the
node, so only Values become children.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import compress

from . import ops
from .mode import _mode
from .value import Number, Value, _node, _to_float

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
    xs, a_values = _floats(a, "dot")
    ys, b_values = _floats(b, "dot")
    data, local_grads = ops.dot(xs, ys)
    if a_values is None and b_values is None:
        # All operands Values, a neuron's usual case: the edges in one step, no _make call.
        return _node(data, "dot", (*a, *b, *local_grads))  # type: ignore[arg-type]
    is_value = (a_values or [True] * len(a)) + (b_values or [True] * len(b))
    return _make(data, [*a, *b], is_value, local_grads, "dot")


def softmax(values: Iterable[Operand]) -> list[Value]:
    """Return e**vi / sum_j e**vj for each i: one node per output, stable for large inputs."""
    return _vector(list(values), ops.softmax, "softmax")


def log_softmax(values: Iterable[Operand]) -> list[Value]:
    """Return vi - logsumexp(v) for each i: one node per output, stable for large inputs."""
    return _vector(list(values), ops.log_softmax, "log_softmax")


# ---- plumbing: operands -> floats -> rule -> node ---------------------------------------
# A neuron calls dot on lists of 20 to 100 operands for every sample, so the common case, all
# operands Values, takes one list comprehension in and one tuple display out
# (python -m benchmarks: mlp_step, digits_epoch).


def _floats(operands: Sequence[Operand], op: str) -> tuple[list[float], list[bool] | None]:
    """Each operand's number, and which operands are Values (None when all of them are)."""
    floats = [v.data for v in operands if type(v) is Value]
    if len(floats) == len(operands):
        return floats, None
    is_value = [isinstance(v, Value) for v in operands]
    return [v.data if keep else v if type(v) is float else _to_float(v, op)  # type: ignore
            for v, keep in zip(operands, is_value)], is_value


def _make(data: float, operands: Sequence[Operand], is_value: list[bool] | None,
          local_grads: Sequence[float], op: str) -> Value:
    """One node whose children are the Values among operands, with their local derivatives."""
    if not _mode.enabled:
        return Value(data)
    if is_value is None:
        return _node(data, op, (*operands, *local_grads))  # type: ignore[arg-type]
    # Numbers are constants folded into the node: compress drops them, and their derivative.
    return _node(data, op, (*compress(operands, is_value), *compress(local_grads, is_value)))


def _reduce(operands: list[Operand], rule: Callable[[list[float]], tuple[float, tuple[float, ...]]],
            op: str) -> Value:
    floats, is_value = _floats(operands, op)
    data, local_grads = rule(floats)
    return _make(data, operands, is_value, local_grads, op)


def _vector(operands: list[Operand],
            rule: Callable[[list[float]], list[tuple[float, tuple[float, ...]]]],
            op: str) -> list[Value]:
    if not operands:
        raise ValueError(f"{op}: needs at least one value, got an empty sequence")
    floats, is_value = _floats(operands, op)
    return [_make(data, operands, is_value, local_grads, op)
            for data, local_grads in rule(floats)]
