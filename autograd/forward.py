"""Forward mode and Jacobians on the recorded graph: jvp (one forward sweep, inputs towards
outputs), vjp (one reverse sweep), and jacobian (one sweep per input, or one per output).

Both sweeps read the local derivatives every node stored when it was made (the memo backward()
reads): forward mode only multiplies and adds them in the other direction. No .grad changes.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, Literal, overload

from .backward import each_value
from .graph import topological_order
from .value import Value

# The graph as a sweep reads it: nodes numbered in topological order (children first), and
# for node i the tuple (child indices..., local derivatives...), the layout of Value._edges
# with each child replaced by its number. Numbering once lets a Jacobian's many sweeps run
# on lists instead of looking nodes up.
Plan = list[tuple[Any, ...]]
# A sweep's working values: None where a node is out of the sweep's reach (no path from a
# seeded input in forward mode, to a seeded output in reverse mode). Such a node contributes
# nothing, not even 0 * inf = NaN: exactly the paths backward() would follow take part.
Sums = list[float | None]


@overload
def jvp(outputs: Value, inputs: Sequence[Value], tangents: Sequence[float]) -> float: ...


@overload
def jvp(outputs: Sequence[Value], inputs: Sequence[Value],
        tangents: Sequence[float]) -> list[float]: ...


def jvp(outputs: Value | Sequence[Value], inputs: Sequence[Value],
        tangents: Sequence[float]) -> float | list[float]:
    """Return J v, J the Jacobian d outputs / d inputs and v the tangents: forward mode.

    One sweep over the recorded graph from the inputs towards the outputs: each node's
    tangent is the sum of its stored local derivatives times its children's tangents, each
    input's tangent its entry of v (added to what reaches it, for an input inside the graph).
    A float for one output Value, a list for a sequence of them. An output that does not
    depend on the inputs gives 0.0. No .grad changes; iterative, so any depth works.

    >>> from autograd import Value
    >>> x, y = Value(2.0), Value(3.0)
    >>> jvp(x * y, [x, y], [1.0, 0.0])  # d(xy)/dx
    3.0
    >>> jvp([x * y, x + y], [x, y], [1.0, 1.0])
    [5.0, 2.0]
    """
    outs, single = _outputs(outputs, "jvp")
    inputs = _inputs(inputs, "jvp")
    seeds = _numbers(tangents, len(inputs), "jvp", "tangents", "inputs")
    plan, index = _plan(outs)
    start: dict[int, float] = {}
    for x, t in zip(inputs, seeds):
        i = index.get(x)
        if i is not None:
            start[i] = start.get(i, 0.0) + t
    found = _forward(plan, start) if start else []
    result = [_read(found, index.get(out)) for out in outs]
    return result[0] if single else result


def vjp(outputs: Value | Sequence[Value], inputs: Sequence[Value],
        cotangents: float | Sequence[float]) -> list[float]:
    """Return u J, J the Jacobian d outputs / d inputs and u the cotangents: reverse mode.

    One sweep over the recorded graph from the outputs towards the inputs, as backward() makes,
    each output starting from its cotangent; input j gets sum_k u_k d output_k / d input_j.
    One output Value takes a number (or a sequence of one). An input no output depends on
    gets 0.0. No .grad changes.

    >>> from autograd import Value
    >>> x, y = Value(2.0), Value(3.0)
    >>> vjp([x * y, x + y], [x, y], [1.0, 2.0])
    [5.0, 4.0]
    """
    outs, single = _outputs(outputs, "vjp")
    inputs = _inputs(inputs, "vjp")
    if single and isinstance(cotangents, numbers.Real) and not isinstance(cotangents, Value):
        cotangents = [float(cotangents)]
    if not isinstance(cotangents, Sequence):
        raise TypeError(f"vjp: cotangents must be a sequence of numbers, one per output, got "
                        f"{type(cotangents).__name__}")
    seeds = _numbers(cotangents, len(outs), "vjp", "cotangents", "outputs")
    plan, index = _plan(outs)
    start: dict[int, float] = {}
    for out, u in zip(outs, seeds):
        i = index[out]
        start[i] = start.get(i, 0.0) + u
    found = _reverse(plan, start) if start else []
    return [_read(found, index.get(x)) for x in inputs]


def jacobian(outputs: Value | Sequence[Value], inputs: Sequence[Value],
             mode: Literal["reverse", "forward"] = "reverse") -> list[list[float]]:
    """Return the matrix d output_k / d input_j, one row per output (one row for one Value).

    mode="reverse" takes one reverse sweep per output (a row each), mode="forward" one
    forward sweep per input (a column each): the same matrix, to rounding. Reverse mode wins
    with few outputs (a loss: one sweep for every parameter), forward mode with few inputs.
    The graph is walked and numbered once for all sweeps. No .grad changes.

    >>> from autograd import Value
    >>> x, y = Value(1.0), Value(2.0)
    >>> jacobian([x * y, x + y], [x, y])
    [[2.0, 1.0], [1.0, 1.0]]
    >>> jacobian([x * y, x + y], [x, y], mode="forward")
    [[2.0, 1.0], [1.0, 1.0]]
    """
    if mode not in ("reverse", "forward"):
        raise ValueError(f"jacobian: mode must be 'reverse' or 'forward', got {mode!r}")
    outs, _ = _outputs(outputs, "jacobian")
    inputs = _inputs(inputs, "jacobian")
    plan, index = _plan(outs)
    if mode == "reverse":
        rows = []
        for out in outs:
            found = _reverse(plan, {index[out]: 1.0})
            rows.append([_read(found, index.get(x)) for x in inputs])
        return rows
    columns = []
    for x in inputs:
        i = index.get(x)
        if i is None:  # no output depends on x: a column of zeros, no sweep needed
            columns.append([0.0] * len(outs))
            continue
        found = _forward(plan, {i: 1.0})
        columns.append([_read(found, index[out]) for out in outs])
    return [[column[k] for column in columns] for k in range(len(outs))]


# ---- the graph, numbered; the two sweeps -------------------------------------------------------


def _plan(outputs: list[Value]) -> tuple[Plan, dict[Value, int]]:
    """Return the graph of outputs numbered in topological order (children first), as a Plan,
    and each node's number."""
    if len(outputs) == 1:
        order = topological_order(outputs[0])
    else:
        # One walk for all outputs: from a node of its own above them, dropped afterwards.
        order = topological_order(Value(0.0, children=outputs, local_grads=[0.0] * len(outputs)))
        order.pop()
    index = {node: i for i, node in enumerate(order)}
    plan: Plan = []
    add = plan.append
    for node in order:
        # Any: _edges is (children..., local derivatives...), Values then floats.
        edges: tuple[Any, ...] = node._edges
        n = len(edges)
        if n == 4:
            a, b, local_a, local_b = edges
            add((index[a], index[b], local_a, local_b))
        elif n == 2:
            a, local_a = edges
            add((index[a], local_a))
        else:
            add((*[index[child] for child in edges[:n >> 1]], *edges[n >> 1:]))
    return plan, index


def _forward(plan: Plan, seeds: dict[int, float]) -> Sums:
    """Return each node's tangent, given the seeded nodes' own: the forward sweep."""
    tangent: Sums = [None] * len(plan)
    for i, t in seeds.items():
        tangent[i] = t
    # In topological order every child comes before the nodes using it: its tangent is final.
    # Binary and unary nodes, most of any graph, unpack directly; n-ary ones walk their pairs.
    for i, edges in enumerate(plan):
        n = len(edges)
        if n == 4:
            a, b, local_a, local_b = edges
            ta, tb = tangent[a], tangent[b]
            if ta is None:
                if tb is None:
                    continue
                change = local_b * tb
            elif tb is None:
                change = local_a * ta
            else:
                change = local_a * ta + local_b * tb
        elif n == 2:
            ta = tangent[edges[0]]
            if ta is None:
                continue
            change = edges[1] * ta
        elif n:
            total = None
            for child, local in zip(edges, edges[n >> 1:]):
                tc = tangent[child]
                if tc is not None:
                    total = local * tc if total is None else total + local * tc
            if total is None:
                continue
            change = total
        else:
            continue
        own = tangent[i]
        tangent[i] = change if own is None else own + change
    return tangent


def _reverse(plan: Plan, seeds: dict[int, float]) -> Sums:
    """Return each node's d (seeded outputs) / d node, given the seeds: the reverse sweep."""
    upstream: Sums = [None] * len(plan)
    for i, u in seeds.items():
        upstream[i] = u
    # In reverse topological order every user of a node comes first: its upstream is final.
    for i in range(len(plan) - 1, -1, -1):
        g = upstream[i]
        if g is None:
            continue
        edges = plan[i]
        n = len(edges)
        if n == 4:
            a, b, local_a, local_b = edges
            ua = upstream[a]
            upstream[a] = local_a * g if ua is None else ua + local_a * g
            ub = upstream[b]
            upstream[b] = local_b * g if ub is None else ub + local_b * g
        elif n == 2:
            a, local_a = edges
            ua = upstream[a]
            upstream[a] = local_a * g if ua is None else ua + local_a * g
        elif n:
            for child, local in zip(edges, edges[n >> 1:]):
                uc = upstream[child]
                upstream[child] = local * g if uc is None else uc + local * g
    return upstream


def _read(found: Sums, i: int | None) -> float:
    """A node's sum from a sweep: 0.0 for a node out of reach or outside the graph."""
    if i is None or not found:
        return 0.0
    value = found[i]
    return 0.0 if value is None else value


# ---- argument checks ---------------------------------------------------------------------------


def _outputs(outputs: Value | Sequence[Value], name: str) -> tuple[list[Value], bool]:
    """Return outputs as a list, and whether one Value was given rather than a sequence."""
    if isinstance(outputs, Value):
        return [outputs], True
    if not isinstance(outputs, Sequence) or isinstance(outputs, str):
        raise TypeError(f"{name}: outputs must be a Value or a sequence of Values, got "
                        f"{type(outputs).__name__}")
    return each_value(outputs, name, "outputs"), False


def _inputs(inputs: Sequence[Value], name: str) -> list[Value]:
    if isinstance(inputs, Value) or not isinstance(inputs, Sequence):
        raise TypeError(f"{name}: inputs must be a sequence of Values, got "
                        f"{type(inputs).__name__}")
    return each_value(inputs, name, "inputs")


def _numbers(values: Sequence[float], count: int, name: str, what: str,
             per: str) -> list[float]:
    """Return values as floats, checked: real numbers (not Values), one per `per`."""
    if isinstance(values, Value) or not isinstance(values, Sequence):
        raise TypeError(f"{name}: {what} must be a sequence of numbers, one per {per[:-1]}, "
                        f"got {type(values).__name__}")
    if len(values) != count:
        raise ValueError(f"{name}: {count} {per} but {len(values)} {what}; give one per "
                         f"{per[:-1]}")
    result: list[float] = []
    for j, v in enumerate(values):
        if isinstance(v, Value) or not isinstance(v, numbers.Real):
            raise TypeError(f"{name}: {what}[{j}] must be a real number, got "
                            f"{type(v).__name__}")
        result.append(float(v))
    return result
