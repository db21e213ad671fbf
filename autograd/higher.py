"""Derivatives of derivatives: the reverse sweep run with Values, behind
grad(create_graph=True), and hessian()."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence

from . import ops
from .backward import checked_inputs, grad
from .functional import node_operands
from .graph import topological_order
from .mode import _mode
from .value import Value

# A node's grad (d output / d node) while the sweep builds it, kept in a dict and never in
# .grad: a Value, or a plain number while it is still a constant (the seed 1.0, or a sum of
# constant local derivatives such as add's).
Grad = Value | float


def grad_values(output: Value, inputs: Sequence[Value]) -> list[Value]:
    """Return d output / d input for each input as a Value of a new graph, made of the engine's
    own ops and connected to the inputs, so that it can be differentiated again.

    The same sweep as backward(): in reverse topological order, each child receives
    local * upstream, but the local derivatives are Values (ops.OPS[key].local_values) and so
    are the products and sums. Only the nodes on a path to an input receive anything. An input
    the output does not depend on gets a new Value with data 0.0. No .grad changes.
    Called by grad(output, inputs, create_graph=True), which checks the arguments.
    """
    order = topological_order(output)
    needed, passing = _on_a_path_to(order, inputs)
    grads: dict[Value, Grad] = {output: 1.0} if output in needed else {}
    for node in reversed(order):
        # In reverse topological order every user of node came first: upstream is final.
        upstream = grads.get(node)
        if upstream is None or node not in passing:
            continue
        for child, local in zip(node.children, _local_values(node)):
            if child not in needed:
                continue
            contribution = _times(local, upstream)
            if contribution is None:
                continue
            previous = grads.get(child)
            grads[child] = contribution if previous is None else previous + contribution
    return _results(output, inputs, grads, set(order))


def hessian(output: Value, inputs: Sequence[Value]) -> list[list[float]]:
    """Return the matrix of second derivatives d2 output / d input_i d input_j, as floats.

    Row i is grad(g_i, inputs), g_i = grad(output, inputs, create_graph=True)[i]. The matrix is
    averaged with its transpose, so it is exactly symmetric (the two differ by rounding only).
    The derivative graph is recorded even inside no_grad(), and dropped afterwards.

    >>> from autograd import Value
    >>> x, y = Value(1.0), Value(2.0)
    >>> hessian(x * x * y, [x, y])
    [[4.0, 2.0], [2.0, 0.0]]
    """
    inputs = checked_inputs(output, inputs, "hessian")
    with recording():
        first = grad(output, inputs, create_graph=True)
    rows = [grad(g, inputs) for g in first]
    n = len(inputs)
    return [[0.5 * (rows[i][j] + rows[j][i]) for j in range(n)] for i in range(n)]


# ---- the sweep's steps ------------------------------------------------------------------------


def _on_a_path_to(order: list[Value], inputs: Sequence[Value]) -> tuple[set[Value], set[Value]]:
    """Return the nodes of order from which an input can be reached (the inputs included),
    and those of them that reach one through a child: the nodes the sweep passes through."""
    needed = set(inputs)
    passing = set()
    for node in order:  # children first, so each child is settled before its users
        if any(child in needed for child in node.children):
            needed.add(node)
            passing.add(node)
    return needed, passing


def _local_values(node: Value) -> list[Value | float]:
    """Return d node / d child for each child, built with Values from the node's op in ops.OPS.

    ValueError for a node made by hand whose op the table does not know: its local
    derivatives are plain floats, which cannot be differentiated again.
    """
    try:
        key, operands, params = node_operands(node)
    except ValueError:
        key = ""
    arity = 1 if key in ops.UNARY else 2 if key in ops.BINARY else len(node.children)
    # n-ary ops and primitives take their operands as one list.
    if not key or (key not in ops.NARY and key not in ops.PRIMITIVES and len(operands) != arity):
        raise ValueError(
            f"grad(create_graph=True): node {node!r} has op {str(node.op)!r}, which ops.OPS "
            "has no derivative written with Values for (a node made by hand?); its local "
            "derivatives are plain numbers and cannot be differentiated again. Build it from "
            "the engine's ops, or call grad() without create_graph")
    rule = ops.OPS[key].local_values
    assert rule is not None, f"ops.OPS[{key!r}] has no local_values"
    flat: list[object] = []
    for operand in operands:
        if isinstance(operand, list):
            flat += operand
        else:
            flat.append(operand)
    local_values = rule(*operands, node, **params)
    # Keep the locals at the Values' positions: they are the children's, in order.
    locals_ = [local if isinstance(local, Value) else float(local)
               for operand, local in zip(flat, local_values) if isinstance(operand, Value)]
    # A node made by hand with an op of the table ("+") but derivatives of its own: the
    # table's would silently differ from what backward() uses.
    for stored, local in zip(node.local_grads, locals_):
        rebuilt = float(local)
        if not (rebuilt == stored or math.isclose(rebuilt, stored, rel_tol=1e-9, abs_tol=1e-12)
                or (math.isnan(rebuilt) and math.isnan(stored))):
            if key in ops.PRIMITIVES:
                raise ValueError(
                    f"grad(create_graph=True): {str(node.op)}'s derivative gives "
                    f"{tuple(float(v) for v in locals_)} called with Values but "
                    f"{node.local_grads} called with numbers; it must compute the same with "
                    "both (a Value's == and hash are by identity: compare x.data)")
            raise ValueError(
                f"grad(create_graph=True): node {node!r} has op {str(node.op)!r} but local "
                f"derivatives {node.local_grads} where that op's rule gives "
                f"{tuple(float(v) for v in locals_)} (a node made by hand?); call grad() "
                "without create_graph, or build the node from the engine's ops")
    return locals_


def _times(local: Value | float, upstream: Grad) -> Grad | None:
    """Return local * upstream, or None for a constant 0 local (it sends nothing back).

    Constants fold: 1 * u is u itself and -1 * u is -u. A 0 local is skipped only when the
    upstream is finite, so that 0 * inf still gives NaN, as in backward().
    """
    if isinstance(local, Value):
        # 1 * local is local itself, even a node of the original graph (mul's, exp's):
        # _results gives a node of its own to an input whose grad is one.
        if type(upstream) is float and upstream == 1.0:
            return local
        return local * upstream
    if local == 1.0:
        return upstream
    if local == -1.0:
        return -upstream
    if local == 0.0 and abs(float(upstream)) < float("inf"):
        return None
    return local * upstream


def _results(output: Value, inputs: Sequence[Value], grads: dict[Value, Grad],
             original: set[Value]) -> list[Value]:
    """Return each input's grad as a Value of its own: a new node, labelled d out / d in."""
    results: list[Value] = []
    returned: set[Value] = set()
    name = output.label or "out"
    if "/" in name:  # a derivative already: d(dy/dx)/dx
        name = f"({name})"
    for x in inputs:
        g = grads.get(x, 0.0)
        if not isinstance(g, Value):
            g = Value(g)
        elif g in original or g in returned:
            # Where the derivative is a node of the original graph (d(x*y)/dx is y) or another
            # input's result (add passes upstream through): a node of its own, so labels stay
            # apart and the original graph stays as it was.
            g = g * 1.0
        returned.add(g)
        if x.label:
            g.label = f"d{name}/d{x.label}"
        results.append(g)
    return results


@contextlib.contextmanager
def recording() -> Iterator[None]:
    """Record the graph in this thread for the block's duration, even inside no_grad()."""
    previous = _mode.enabled
    _mode.enabled = True
    try:
        yield
    finally:
        _mode.enabled = previous
