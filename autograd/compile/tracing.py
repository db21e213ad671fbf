"""Tracing for ag.compile: arguments become stand-in leaves, and a traced graph becomes lines.

The lines are what both writers read: one per node, in topological order, each an op of
``ops.OPS`` over earlier lines, an input, or a leaf. A writer's program runs a batch of
samples through ``run_batch`` and answers with a ``BatchResult``.
"""

from __future__ import annotations

import inspect
import numbers
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from .. import ops
from ..functional import node_operands
from ..value import OpLabel, Value


@dataclass
class Line:
    """One node of the traced graph: an input, a leaf, or an op over earlier lines."""

    label: str
    key: str  # the op's key in ops.OPS, or "input" / "leaf"
    # An op's operands: a line's index (int) or a number (float); an n-ary op's as lists.
    # An input's: (its position in the inputs,); a leaf's: (its position in the leaves,).
    operands: tuple[Any, ...]
    params: dict[str, Any] = field(default_factory=dict)
    in_result: bool = False  # on a path to the result (not only to a compared Value)
    arguments: list[Any] | None = None  # the operands' source, once the writer has made it


@dataclass
class Leaf:
    """A leaf the function reached outside its arguments: captured (read at each call) if
    anything else holds it once the trace is dropped, else a constant made inside it."""

    line: int
    ref: weakref.ref[Value]
    data: float
    label: str
    made_by_hand: str = ""  # the op of a node made by hand (Value(..., op=...)), read as a leaf


@dataclass
class Plan:
    """A traced program, ready for a writer: its lines, guards and backward sweep, and where
    each number comes from (inputs, captured leaves read at every call, constants)."""

    lines: list[Line]
    guards: list[tuple[int, str, Any, bool]]  # (line, symbol, line or number, outcome)
    sweep: list[int]  # outputs[0]'s lines in the backward pass's order, outputs[0] first
    count: int  # inputs[:count] are the arguments' numbers, inputs[count:slots] their Values
    slots: int
    captured: list[Leaf]  # read at every call, in the order the forward pass first uses them
    constants: dict[int, float]  # line -> number: the leaves made inside fn
    # The result node's children: argument Values, then captured leaves (with several
    # outputs, those of any output; children_of has each output's own).
    children: list[int]
    outputs: list[int] = field(default_factory=list)  # the lines fn returned, in order
    sweeps: list[list[int]] = field(default_factory=list)  # each output's sweep
    children_of: list[list[int]] = field(default_factory=list)  # each output's children
    # The op lines that read no input, only captured leaves, constants and each other (a
    # penalty on a model's parameters): one value for the whole batch. With one output the
    # writers compute them once before the loop over the samples, add up each one's
    # gradient over the samples, and take its backward steps once after the loop.
    invariant: set[int] = field(default_factory=set)

    @property
    def output(self) -> int:
        return self.outputs[0]


def make_plan(name: str, lines: list[Line], leaves: list[Leaf],
              guards: list[tuple[int, str, Any, bool]], sweeps: list[list[int]], count: int,
              slots: int) -> Plan:
    """Return the Plan of a trace named name; sweeps lists, for each output fn returned, its
    lines in the order the backward pass takes them, that output first."""
    for leaf in leaves:
        if leaf.made_by_hand and leaf.ref() is None:
            # Made inside the function, by hand: its data depends on the arguments in a way
            # the table cannot write out. (One made outside is read at every call, as eager.)
            raise TypeError(f"compile: {name} makes a node by hand (op "
                            f"{leaf.made_by_hand!r}), whose rule ops.OPS does not have; build "
                            "it from the engine's ops, or call the function without compile")
    # Captured leaves in the order the forward pass first uses them: a model's first layer first.
    first_use: dict[int, int] = {}
    for i, line in enumerate(lines):
        if line.key not in ("input", "leaf"):
            for ref in flat_operands(line.operands):
                if isinstance(ref, int):
                    first_use.setdefault(ref, i)
    captured = sorted((leaf for leaf in leaves if leaf.ref() is not None),
                      key=lambda leaf: first_use.get(leaf.line, leaf.line))
    constants = {leaf.line: leaf.data for leaf in leaves if leaf.ref() is None}

    def children_in(reached: set[int]) -> list[int]:
        # The argument Values reached, then the captured leaves, in line order.
        return ([i for i in sorted(reached) if lines[i].key == "input"
                 and lines[i].operands[0] >= count]
                + [i for i in sorted(reached) if lines[i].key == "leaf" and i not in constants])

    children_of = [children_in(set(sweep)) for sweep in sweeps]
    children = children_of[0] if len(sweeps) == 1 else \
        children_in({i for sweep in sweeps for i in sweep})
    invariant: set[int] = set()
    if len(sweeps) == 1:  # several outputs keep each sample's derivatives apart: no sums
        for i, line in enumerate(lines):
            if line.key not in ("input", "leaf") and all(
                    type(r) is not int or r in invariant or lines[r].key == "leaf"
                    for r in flat_operands(line.operands)):
                invariant.add(i)
    return Plan(lines, guards, sweeps[0], count, slots, captured, constants, children,
                [sweep[0] for sweep in sweeps], sweeps, children_of, invariant)


# A sample's status in a BatchResult.
OK, RETRACE, EAGER = 0, 1, 2


@dataclass
class BatchResult:
    """What a program's run_batch returns for n samples of m outputs each.

    data: n * m floats, sample-major. status: n ints, OK, RETRACE (a guard came out
    otherwise: trace that sample again) or EAGER (a math error or an inf or NaN: run that
    sample eagerly). grads: one float per captured child (the leaf lines among
    plan.children, in that order), the sum over the OK samples of weight * d out / d child.
    value_grads: n * (the argument-Value children) floats, sample-major, d out / d child
    unweighted. Both only for one output with backward, else empty. local_grads: with
    several outputs and backward (the Python program only), for each sample and output j,
    d out_j / d child for each child of children_of[j].
    """

    data: Sequence[float]
    status: Sequence[int]
    grads: Sequence[float] = ()
    value_grads: Sequence[float] = ()
    local_grads: Sequence[Sequence[float]] = ()


class Packed(bytes):
    """Numbers as doubles, one after another, packed once by an ag.Batch (which never changes
    them): native run_batch reads them where they are, without a copy."""


class BatchProgram(Protocol):
    """What Compiled needs of a program, whichever writer wrote it."""

    captured: list[Value]  # read at every call, in plan.captured's order
    captured_children: tuple[Value, ...]  # the captured leaves among plan.children
    value_children: tuple[int, ...]  # which of a sample's argument Values are children
    # True if run_batch gives a sample whose inputs, or the captured leaves, are inf or NaN
    # a status of EAGER itself; False if its callers must keep them out.
    checks_finite: ClassVar[bool]
    # True if run_batch also takes a Batch's numbers as Packed doubles (read without a copy).
    reads_packed: ClassVar[bool]

    def run_batch(self, inputs: Sequence[float], n: int, captured: Sequence[float],
                  weight: float, backward: bool) -> BatchResult:
        """Run n samples; inputs[k * plan.slots + j] is sample k's slot j."""
        ...


def not_finite(numbers_in: Sequence[float]) -> bool:
    """True if any number is inf or NaN (or they add up past the largest float)."""
    total = sum(numbers_in)
    return total - total != 0.0


def flat_operands(operands: tuple[Any, ...]) -> list[Any]:
    """An op's operands in order, an n-ary op's lists opened: as its local derivatives come."""
    return [r for o in operands for r in (o if isinstance(o, list) else [o])]


def structure(x: Any, numbers_in: list[float], values: list[Value]) -> Any:
    """Return x's structure (hashable), appending its floats and its Values in order."""
    kind = type(x)
    if kind is list or kind is tuple:
        if all(type(v) is float for v in x):  # a sample's inputs: the common case, one step
            numbers_in.extend(x)
            return kind, len(x)
        return kind, tuple(structure(v, numbers_in, values) for v in x)
    if kind is float:
        numbers_in.append(x)
        return "f"
    if isinstance(x, Value):
        values.append(x)
        return "v"
    if isinstance(x, (bool, numbers.Integral)):
        return type(x), x  # an int is structure (an index, a count): another int traces again
    if isinstance(x, numbers.Real):
        numbers_in.append(float(x))
        return "f"
    if isinstance(x, (list, tuple)):
        return type(x), tuple(structure(v, numbers_in, values) for v in x)
    raise TypeError(f"compile: arguments must be Values, numbers, or lists and tuples of them; "
                    f"got {type(x).__name__}: {x!r:.60}")


def placeholders_of(x: Any, name: str, placeholders: list[Value],
                    values: list[tuple[Value, str]], proxies: dict[int, Value]) -> Any:
    """Return x with every float replaced by a new leaf Value labelled with its place, and
    every Value by a new leaf standing in for it (the same one where a Value comes twice).

    A stand-in keeps an argument apart from a Value fn reaches otherwise, even when the call
    passes that same Value: the next call may pass another.
    """
    if isinstance(x, Value):
        proxy = proxies.get(id(x))
        if proxy is None:
            proxy = proxies[id(x)] = Value(x.data, label=x.label or name)
        values.append((proxy, name))
        return proxy
    if isinstance(x, (list, tuple)):
        items = [placeholders_of(v, f"{name}_{i}", placeholders, values, proxies)
                 for i, v in enumerate(x)]
        kind = type(x)
        if kind is list or kind is tuple:
            return items if kind is list else tuple(items)
        return kind(*items) if hasattr(kind, "_fields") else kind(items)  # a namedtuple
    if isinstance(x, (bool, numbers.Integral)):
        return x
    placeholder = Value(float(x), label=name)
    placeholders.append(placeholder)
    return placeholder


def argument_names(fn: Callable[..., Any], count: int) -> list[str]:
    """fn's positional parameter names, for the code's input names (arg0... when unknown)."""
    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    names = [p.name for p in parameters
             if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)][:count]
    star = next((p.name for p in parameters if p.kind == p.VAR_POSITIONAL), "arg")
    return names + [f"{star}{i}" for i in range(len(names), count)]


# ---- from the traced graph to lines, with no Value kept but inputs and captured leaves ------


def lines_of(results: list[Value], comparisons: list[tuple[Any, str, Any, bool]],
             placeholders: list[Value], values: list[tuple[Value, str]]
             ) -> tuple[list[Line], list[Leaf], list[tuple[int, str, Any, bool]],
                        list[list[int]]]:
    """Return the program's lines in topological order, its leaves, its guards, and each
    result's backward sweep (the indices of its lines, that result first).

    Walks the graph from the results (and from the compared Values), stopping at the inputs.
    Operands become indices into the lines; numbers stay numbers.
    """
    inputs: dict[int, int] = {id(v): i for i, v in enumerate(placeholders)}
    places: dict[int, str] = {}
    for k, (v, place) in enumerate(values):
        inputs.setdefault(id(v), len(placeholders) + k)
        places.setdefault(id(v), v.label or place)
    # The compared Values first: their guards are checked before the rest of the forward pass.
    roots = [side for a, _, b, _ in comparisons
             for side in ((a, b) if isinstance(b, Value) else (a,))] + results
    index: dict[int, int] = {}
    lines: list[Line] = []
    leaves: list[Leaf] = []
    # The forward pass in operand order, left to right: the first sample's lines first.
    for node in order(roots, inputs, left_to_right=True):
        index[id(node)] = len(lines)
        if id(node) in inputs:
            lines.append(Line(places.get(id(node), node.label), "input", (inputs[id(node)],)))
            continue
        # A leaf, or a node whose op the table does not know (made by hand): read its data.
        key, operands, params = node_operands(node) if compilable(node) else ("", (), {})
        if not key:
            leaves.append(Leaf(len(lines), weakref.ref(node), node.data, node.label,
                               node.op if node._edges else ""))
            lines.append(Line(node.label, "leaf", (len(leaves) - 1,)))
            continue
        refs = tuple([ref(v, index) for v in o] if isinstance(o, list) else ref(o, index)
                     for o in operands)
        lines.append(Line(node.label, key, refs, params))
    # The backward pass in eager backward()'s order: each gradient's terms add up in the same
    # order, so the code's floats are eager's, bit for bit.
    sweeps = [[index[id(node)] for node in reversed(order([result], inputs))]
              for result in results]
    for sweep in sweeps:
        for line_index in sweep:
            lines[line_index].in_result = True
    guards = [(index[id(a)], symbol, ref(b, index), outcome)
              for a, symbol, b, outcome in comparisons]
    return lines, leaves, guards, sweeps


def ref(operand: Any, index: dict[int, int]) -> Any:
    """A Value operand as its line's index (an int), a number as itself (a float)."""
    return index[id(operand)] if isinstance(operand, Value) else float(operand)


def order(roots: list[Value], inputs: dict[int, int],
           left_to_right: bool = False) -> list[Value]:
    """topological_order over several roots, not entering inputs or ops the table lacks.

    The same walk as topological_order (which meets the last operand first), or, with
    left_to_right, one that meets the operands in order.
    """
    order: list[Value] = []
    visited: set[int] = set()
    for root in roots:
        stack: list[Value | None] = [root]
        while stack:
            node = stack.pop()
            if node is None:
                order.append(stack.pop())  # type: ignore[arg-type]  # under a None: its node
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append(node)
            stack.append(None)
            if id(node) not in inputs and compilable(node):
                children = node.children
                for child in reversed(children) if left_to_right else children:
                    if id(child) not in visited:
                        stack.append(child)
    return order


def compilable(node: Value) -> bool:
    """True if the code can compute node from its children: its op is in ops.OPS."""
    op = node.op
    if not node._edges:
        return False
    if isinstance(op, OpLabel):
        return op.key in ops.OPS
    key = ops.SYMBOLS.get(op)
    return key is not None and (key == "dot" or key not in ops.NARY)
