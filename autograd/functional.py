"""N-ary ops, one node each: sum, mean, dot, logsumexp, softmax, log_softmax; and a
layer's dot products, one node per row: dots, batch_dots.

Inputs may mix Values and plain numbers; numbers are constants folded into the
node, so only Values become children.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Sequence
from itertools import compress
from typing import Any, TypeVar, cast

from . import ops
from .mode import _mode
from .value import Operand, OpLabel, Value, _new, _node, _to_float

T = TypeVar("T")
# Where the Values are among operands: all of them (None), the first k (int), or a mask.
Selection = list[bool] | int | None


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

    ValueError when a and b differ in length; a Value may appear in both.

    >>> from autograd import Value
    >>> dot([Value(1.0), Value(2.0)], [3.0, 4.0]).data
    11.0
    """
    n = len(a)
    if n != len(b):
        raise ValueError(f"dot: sequences differ in length, {n} and {len(b)}")
    # A neuron calls dot once per sample, on [*w, b] and [*x, 1.0]: its cases are inline here,
    # the general one goes through _floats and _children (python -m benchmarks: mlp_step).
    xs = [v.data for v in a if type(v) is Value]
    ys = [v.data for v in b if type(v) is Value]
    k = len(ys)
    if len(xs) == n:
        if k == n:
            data, local_grads = ops.dot(xs, ys)  # a's derivatives (ys), then b's (xs)
            return _node(data, "dot", (*a, *b, *local_grads))
        last = b[-1]  # n >= 1 here: an empty b took the branch above
        if k == n - 1 and type(last) is float:  # one float after b's Values: a bias's 1.0
            ys.append(last)
            constants_last = True
        else:
            constants_last = _constants_after(b, k, ys, "dot")
        if constants_last:  # b's first k are its Values; ys now holds the numbers after them
            data, local_grads = ops.dot(xs, ys)
            return _node(data, _dot_layout(n, k), (*a, *b[:k], *local_grads[:n + k]))
    xs, a_where = _floats(a, "dot", xs)
    ys, b_where = _floats(b, "dot", ys)
    data, local_grads = ops.dot(xs, ys)
    op = OpLabel("dot", "dot", operands=(tuple(a), tuple(b)))
    return _node(data, op, (*_children(a, a_where), *_children(b, b_where),
                               *_children(local_grads[:n], a_where),
                               *_children(local_grads[n:], b_where)))


def dots(rows: Sequence[Sequence[Operand]], x: Sequence[Operand]) -> list[Value]:
    """Return [dot(row, x) for row in rows], the same nodes, reading x only once.

    A layer's weighted sums: every neuron's row [*w, b] against the one input [*x, 1.0].

    >>> from autograd import Value
    >>> [z.data for z in dots([[Value(1.0), Value(2.0)], [Value(3.0), 4.0]], [5.0, 6.0])]
    [17.0, 39.0]
    """
    return batch_dots(rows, [x])[0]


def batch_dots(rows: Iterable[Sequence[Operand]],
               xs: Iterable[Sequence[Operand]]) -> list[list[Value]]:
    """Return [dots(rows, x) for x in xs], the same nodes, reading each row only once.

    A layer over a batch: the rows' numbers cannot change while the batch's nodes are made,
    so they are read once for all samples instead of once per sample.

    >>> from autograd import Value
    >>> w = [Value(1.0), Value(2.0)]
    >>> [[z.data for z in zs] for zs in batch_dots([w], [[3.0, 4.0], [5.0, 6.0]])]
    [[11.0], [17.0]]
    """
    rows = list(rows)  # read twice: here, and once per x
    # Each row's numbers, or None for a row holding numbers (dot's general path takes it).
    row_floats = []
    for row in rows:
        ws = [v.data for v in row if type(v) is Value]
        row_floats.append(ws if len(ws) == len(row) else None)
    return [_dots(rows, row_floats, x) for x in xs]


def _dots(rows: Sequence[Sequence[Operand]], row_floats: list[list[float] | None],
          x: Sequence[Operand]) -> list[Value]:
    """dots(rows, x), given each row's numbers (None for a row that is not all Values)."""
    n = len(x)
    xs = [v.data for v in x if type(v) is Value]
    k = len(xs)
    # x all Values, or Values then numbers (a layer's [*x, 1.0]): read once, shared by every
    # row's node. Anything else, and any row not all Values, goes through dot itself, which
    # also raises dot's own errors in dot's order (lengths first, then a non-number).
    try:
        fast = n > 0 and (k == n or _constants_after(x, k, xs, "dot"))
    except TypeError:
        fast = False
    if not fast:
        return [dot(row, x) for row in rows]
    shared = (*x[:k], *xs)  # each node's x part: x's Values, then x's numbers (row's locals)
    # _node's steps, written out: a layer makes one of these nodes per neuron and sample, and
    # one call less each saves a tenth of the graph's building time (python -m benchmarks:
    # mlp_step). Without grad mode the node is a leaf, as _node makes it.
    recording = _mode.enabled
    op = _dot_layout(n, k) if recording else ""
    nodes = []
    fsum, mul, new = math.fsum, operator.mul, _new
    for row, ws in zip(rows, row_floats):
        if ws is None or len(ws) != n:
            nodes.append(dot(row, x))  # a row holding numbers, or of another length
            continue
        # The node dot(row, x) makes: children (*row, *x's Values), then their derivatives
        # (x's numbers, then the row's numbers facing x's Values); data summed in dot's order.
        node = new(Value)
        node.data = fsum(map(mul, ws, xs))
        node.grad = 0.0
        node.label = ""
        node.op = op
        node._edges = (*row, *shared, *ws[:k]) if recording else ()
        node._upstream = 0.0
        nodes.append(node)
    return nodes


def softmax(values: Iterable[Operand]) -> list[Value]:
    """Return e**vi / sum_j e**vj for each i: one node per output, stable for large inputs."""
    return _vector(list(values), ops.softmax, "softmax")


def log_softmax(values: Iterable[Operand]) -> list[Value]:
    """Return vi - logsumexp(v) for each i: one node per output, stable for large inputs."""
    return _vector(list(values), ops.log_softmax, "log_softmax")


# ---- plumbing: operands -> floats -> rule -> node ---------------------------------------
# A loss calls these on a batch's worth of Values, so the common case, all operands Values,
# takes one list comprehension in and one tuple display out (python -m benchmarks: mlp_step,
# digits_epoch). dot has its own copy of that case, inline, for a neuron's [*x, 1.0].


def _floats(operands: Sequence[Operand], op: str,
            floats: list[float] | None = None) -> tuple[list[float], Selection]:
    """Return each operand's number, and where the Values (children to be) are among operands.

    floats, when given, is [v.data for v in operands if type(v) is Value], already computed.
    """
    if floats is None:
        floats = [v.data for v in operands if type(v) is Value]
    k = len(floats)
    if k == len(operands):
        return floats, None
    if _constants_after(operands, k, floats, op):
        return floats, k
    # Values and numbers interleaved: the rare case, taken one operand at a time.
    is_value = [isinstance(v, Value) for v in operands]
    return [v.data if isinstance(v, Value) else _to_float(v, op) for v in operands], is_value


def _constants_after(operands: Sequence[Operand], k: int, floats: list[float], op: str) -> bool:
    """Return True if no Value follows the first k operands, and then append the numbers after
    them to floats (which holds the first k operands' data).

    Values then numbers is a neuron's [*x, 1.0], the constant 1.0 being its bias's input.
    TypeError for an operand that is not a real number.
    """
    rest = operands[k:]
    for v in rest:
        if type(v) is not float:
            if isinstance(v, Value):
                return False
            break
    else:
        floats += cast("Sequence[float]", rest)  # every one checked: type float
        return True
    for v in rest:  # numbers of other types: checked and converted one by one
        if isinstance(v, Value):
            return False
    floats += [_to_float(v, op) for v in rest]
    return True


def _children(items: Sequence[T], where: Selection) -> Iterable[T]:
    """Return the items at the Values' positions: all (None), the first k (an int), or by mask."""
    if where is None:
        return items
    if isinstance(where, int):
        return items[:where]
    return compress(items, where)


def _make(data: float, operands: tuple[Operand, ...], is_value: Selection,
          local_grads: Sequence[float], op: OpLabel) -> Value:
    """Return one node whose children are the Values among operands, with their derivatives."""
    if not _mode.enabled:
        return Value(data)
    # Numbers are constants folded into the node: they and their derivatives are dropped from
    # its children, and kept, with the rest of the operands, on its op.
    return _node(data, op, (*_children(operands, is_value), *_children(local_grads, is_value)))


def _reduce(operands: list[Operand], rule: Callable[[list[float]], tuple[float, tuple[float, ...]]],
            op: str) -> Value:
    """Return the node of a rule with one output over all operands (sum, mean, logsumexp)."""
    floats, is_value = _floats(operands, op)
    data, local_grads = rule(floats)
    kept = tuple(operands)
    return _make(data, kept, is_value, local_grads, OpLabel(op, op, operands=kept))


def _vector(operands: list[Operand],
            rule: Callable[[list[float]], list[tuple[float, tuple[float, ...]]]],
            op: str) -> list[Value]:
    """Return one node per output of a rule with one output per operand (softmax)."""
    if not operands:
        raise ValueError(f"{op}: needs at least one value, got an empty sequence")
    floats, is_value = _floats(operands, op)
    kept = tuple(operands)  # one tuple for every output's op
    return [_make(data, kept, is_value, local_grads, OpLabel(op, op, operands=kept, i=i))
            for i, (data, local_grads) in enumerate(rule(floats))]


# ---- how a node was made: its op, operands and parameters, read back from the node ----------


def _dot_layout(n: int, k: int) -> str:
    """The op of a dot node over n Values (a) and b's first k operands, Values, then numbers."""
    # All Values (k == n): children are a then b, paired by position; plain "dot" says so.
    return "dot" if k == n else OpLabel("dot", "dot", b_values=k)


def node_operands(node: Value) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    """Return how node was made: its key in ops.OPS, its rule's operands and parameters.

    Operands are Values and numbers in the rule's order (an n-ary op's as lists: dot's as a
    and b). The Values among them, in that order, are node.children. ValueError for a leaf
    or a node made by hand with an op the table does not know.

    >>> from autograd import Value
    >>> x = Value(3.0)
    >>> key, operands, params = node_operands(x ** 2)
    >>> key, operands == (x,), params
    ('power', True, {'n': 2.0})
    """
    op = node.op
    children = node.children
    if isinstance(op, OpLabel):
        key, params = op.key, dict(op.params)
        if key not in ops.OPS:
            raise ValueError(f"node_operands: no rule in ops.OPS for op {op!r} ({key})")
        if key == "dot":
            if op.operands is not None:
                a, b = op.operands
                return key, (list(a), list(b)), {}
            # A layer's dot: a all Values, then b's first k Values; b's numbers are the local
            # derivatives of the a's they face.
            k = params.pop("b_values")
            n = len(children) - k
            a, b = list(children[:n]), [*children[n:], *node.local_grads[k:n]]
            return key, (a, b), params
        if op.operands is not None:
            return key, (list(op.operands),), params
        return key, tuple(children), params
    key = ops.SYMBOLS.get(op, "")
    if not key or (key in ops.NARY and key != "dot"):
        raise ValueError(f"node_operands: no rule in ops.OPS for op {op!r}"
                         + (" (a leaf)" if not op else ""))
    if key == "dot":
        half = len(children) >> 1
        return key, (list(children[:half]), list(children[half:])), {}
    return key, tuple(children), {}
