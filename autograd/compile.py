"""ag.compile: trace a function of Values once, then replay it as generated Python.

The first call with a given argument structure runs the function eagerly and records its
graph and the comparisons it made on Values. The graph becomes straight-line Python, one line
per op for the forward pass and one per edge for the backward pass, each written from that
op's code in ``ops.OPS``. Later calls with that structure run the code and return one node.
"""

from __future__ import annotations

import inspect
import numbers
import weakref
from collections.abc import Callable
from typing import Any

from . import ops
from .backward import grad
from .codegen import Leaf, Line, Program, write_program
from .functional import node_operands
from .graph import leaves as graph_leaves
from .mode import _mode
from .value import OpLabel, Value, _node

# How many traces one argument structure keeps (one per outcome of its guards), and how many
# structures a compiled function keeps (the least recently used goes first).
MAX_TRACES = 8
MAX_STRUCTURES = 64
Structure = tuple[Any, ...]


def compile(fn: Callable[..., Value]) -> Compiled:  # noqa: A001 - named after the verb
    """Return fn compiled: called like fn, it returns one node holding fn's result.

    The first call with an argument structure traces fn (runs it eagerly), then writes its
    forward and backward passes as Python; later calls run that code. Branches taken on
    comparisons of Values (``if x > 0``) are guarded: a call on which one comes out
    differently traces again. Branches on ``.data`` read directly are not seen (as with
    ``torch.jit.trace``): the code keeps the branch taken while tracing. While tracing, fn
    gets the arguments' floats as Values; ``float()`` of one makes the code hold for that
    number only. ``no_grad``, ``detach`` and nodes made by hand inside fn raise TypeError.

    >>> from autograd import Value
    >>> w = Value(2.0, label="w")
    >>> f = compile(lambda x: (w * x).tanh())
    >>> y = f(0.5)
    >>> y.backward()
    >>> round(y.data, 6), round(w.grad, 6), y.children == (w,)
    (0.761594, 0.209987, True)
    """
    if not callable(fn):
        raise TypeError(f"compile: expected a function, got {type(fn).__name__}")
    return Compiled(fn)


class Compiled:
    """A function of Values traced once per argument structure and replayed as Python.

    Calling it returns one node: its data is fn's result, its children the leaf Values the
    result depends on (arguments and captured ones such as a model's parameters), its local
    derivatives d result / d child, computed in the same call. Numbers in the arguments are
    inputs (floats; an int or bool is part of the structure); numbers made inside fn are
    constants; captured leaves are read afresh at every call.
    """

    def __init__(self, fn: Callable[..., Value]) -> None:
        self.fn = fn
        self.__name__ = getattr(fn, "__name__", "compiled")
        self.__doc__ = fn.__doc__
        self.traces = 0  # how many times fn was traced: a test and a benchmark read it
        # The node's op: the function's name, which the picture shows, marked as no op of
        # the table (a function named tanh must not be read as tanh).
        self.op = OpLabel(self.__name__, "compiled")
        self._programs: dict[Structure, list[Program]] = {}
        self._last: Program | None = None

    @property
    def source(self) -> str:
        """Return the Python written for the last call: the forward pass, then the backward."""
        if self._last is None:
            raise RuntimeError(f"compile: {self.__name__} has not been called yet; its code "
                               "is written at the first call")
        return self._last.source

    def __call__(self, *args: Any) -> Value:
        """Return fn(*args) as one node (a leaf under no_grad), running the code traced for
        this argument structure, or tracing fn now."""
        if _mode.comparisons is not None:
            # Called while another function is traced: run eagerly, so that function's
            # trace records these ops as its own.
            return self.fn(*args)
        numbers_in: list[float] = []
        values: list[Value] = []
        structure = _structure(args, numbers_in, values)
        if len(values) > 1 and len({id(v) for v in values}) < len(values):
            # The same Value in two places is one input of the traced code.
            first: dict[int, int] = {}
            structure = (structure, tuple(first.setdefault(id(v), i)
                                          for i, v in enumerate(values)))
        if _not_finite(numbers_in) or _not_finite([v.data for v in values]):
            # inf and NaN meet the rules' edges (exp(inf) raises in eager code): run eagerly.
            return self._eager(args, values)
        programs = self._programs.pop(structure, [])
        self._programs[structure] = programs  # the most recently used structure last
        if len(self._programs) > MAX_STRUCTURES:
            del self._programs[next(iter(self._programs))]
        for program in programs:
            result = self._run(program, numbers_in, values)
            if result is not None:
                return result
            if program.failed:  # the code raised: eager code gives the error, or the result
                return self._eager(args, values)
        program = self._trace(args)
        programs.insert(0, program)
        del programs[MAX_TRACES:]
        result = self._run(program, numbers_in, values)
        # None: the trace's own guards failed (fn is not deterministic) or the code raised
        # where the rule does not (sqrt's slope at 0 is inf in the rule, 0.5 / 0 in the code).
        return self._eager(args, values) if result is None else result

    # ---- replay ---------------------------------------------------------------------------

    def _run(self, program: Program, numbers_in: list[float],
             values: list[Value]) -> Value | None:
        """Return the node from program's code; None when one of its guards fails, or when
        the code raises (program.failed then tells which)."""
        self._last = program
        inputs = [*numbers_in, *[v.data for v in values]]
        captured = [leaf.data for leaf in program.captured]
        if _not_finite(captured):  # a parameter gone inf or NaN: as for the arguments
            program.failed = True
            return None
        recording = _mode.enabled
        program.failed = False
        try:
            out = program.function(inputs, captured, recording)
        except (ArithmeticError, ValueError):
            # The code raises where an op's rule raises, but without the rule's message.
            program.failed = True
            return None
        if out is None:
            return None
        data, local_grads = out
        if _not_finite([data, *(local_grads or ())]):
            # inf or NaN came out of finite inputs (exp overflowing to inf, say): the rules'
            # edges are eager code's to decide (exp raises there), so run it eagerly.
            program.failed = True
            return None
        if not recording or local_grads is None:
            return Value(data)
        children = (*[values[i] for i in program.value_children], *program.captured_children)
        return _node(data, self.op, (*children, *local_grads))

    def _eager(self, args: tuple[Any, ...], values: list[Value]) -> Value:
        """Return fn run eagerly on args, as the node the code would have returned.

        fn gets what tracing gives it (the floats and Values as stand-in leaves), so it raises
        the eager error a traced call would, and the node's local derivatives stop at the
        arguments: its children are the argument Values and the leaves the result depends on.
        """
        placeholders: list[Value] = []
        stand_ins: list[tuple[Value, str]] = []
        traced = tuple(_placeholders(arg, name, placeholders, stand_ins, {})
                       for arg, name in zip(args, _argument_names(self.fn, len(args))))
        result = self.fn(*traced)
        if not isinstance(result, Value):
            raise TypeError(f"compile: {self.__name__} must return a Value, "
                            f"got {type(result).__name__}")
        if not _mode.enabled:
            return Value(result.data)
        numbers = {id(p) for p in placeholders}  # the arguments' numbers get no gradient
        leaves = [leaf for leaf in graph_leaves(result) if id(leaf) not in numbers]
        real = {id(proxy): value for (proxy, _), value in zip(stand_ins, values)}
        children = [real.get(id(leaf), leaf) for leaf in leaves]
        return _node(result.data, self.op, (*children, *grad(result, leaves)))

    # ---- tracing ----------------------------------------------------------------------------

    def _trace(self, args: tuple[Any, ...]) -> Program:
        """Run fn eagerly on args, its numbers replaced by Values, and return its program."""
        names = _argument_names(self.fn, len(args))
        placeholders: list[Value] = []
        values: list[tuple[Value, str]] = []  # each argument Value's stand-in, and its place
        proxies: dict[int, Value] = {}
        traced = tuple(_placeholders(arg, name, placeholders, values, proxies)
                       for arg, name in zip(args, names))
        previous = _mode.enabled, _mode.comparisons
        _mode.enabled, _mode.comparisons = True, []
        try:
            result = self.fn(*traced)
            comparisons = _mode.comparisons
        finally:
            _mode.enabled, _mode.comparisons = previous
        if not isinstance(result, Value):
            raise TypeError(f"compile: {self.__name__} must return a Value, "
                            f"got {type(result).__name__}")
        lines, leaves, guards, sweep = _lines(result, comparisons, placeholders, values)
        # Drop the traced graph: a leaf no one else holds was made inside fn, a constant.
        del result, comparisons, traced, proxies
        program = write_program(self.__name__, lines, leaves, guards, sweep, len(placeholders),
                                len(placeholders) + len(values), _filename(self))
        self.traces += 1
        return program


def _structure(x: Any, numbers_in: list[float], values: list[Value]) -> Any:
    """Return x's structure (hashable), appending its floats and its Values in order."""
    kind = type(x)
    if kind is list or kind is tuple:
        if all(type(v) is float for v in x):  # a sample's inputs: the common case, one step
            numbers_in.extend(x)
            return kind, len(x)
        return kind, tuple(_structure(v, numbers_in, values) for v in x)
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
        return type(x), tuple(_structure(v, numbers_in, values) for v in x)
    raise TypeError(f"compile: arguments must be Values, numbers, or lists and tuples of them; "
                    f"got {type(x).__name__}: {x!r:.60}")


def _placeholders(x: Any, name: str, placeholders: list[Value],
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
        items = [_placeholders(v, f"{name}_{i}", placeholders, values, proxies)
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


def _argument_names(fn: Callable[..., Any], count: int) -> list[str]:
    """fn's positional parameter names, for the code's input names (arg0... when unknown)."""
    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    names = [p.name for p in parameters
             if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)][:count]
    star = next((p.name for p in parameters if p.kind == p.VAR_POSITIONAL), "arg")
    return names + [f"{star}{i}" for i in range(len(names), count)]


def _filename(compiled: Compiled) -> str:
    name = getattr(compiled.fn, "__qualname__", compiled.__name__)
    return f"<ag.compile {name} #{compiled.traces}>"


# ---- from the traced graph to lines, with no Value kept but inputs and captured leaves ------


def _lines(result: Value, comparisons: list[tuple[Any, str, Any, bool]],
           placeholders: list[Value], values: list[tuple[Value, str]]
           ) -> tuple[list[Line], list[Leaf], list[tuple[int, str, Any, bool]], list[int]]:
    """Return the program's lines in topological order, its leaves, its guards, and the
    backward sweep (the indices of the result's lines, the result first).

    Walks the graph from the result (and from the compared Values), stopping at the inputs.
    Operands become indices into the lines; numbers stay numbers.
    """
    inputs: dict[int, int] = {id(v): i for i, v in enumerate(placeholders)}
    places: dict[int, str] = {}
    for k, (v, place) in enumerate(values):
        inputs.setdefault(id(v), len(placeholders) + k)
        places.setdefault(id(v), v.label or place)
    # The compared Values first: their guards are checked before the rest of the forward pass.
    roots = [side for a, _, b, _ in comparisons
             for side in ((a, b) if isinstance(b, Value) else (a,))] + [result]
    index: dict[int, int] = {}
    lines: list[Line] = []
    leaves: list[Leaf] = []
    # The forward pass in operand order, left to right: the first sample's lines first.
    for node in _order(roots, inputs, left_to_right=True):
        index[id(node)] = len(lines)
        if id(node) in inputs:
            lines.append(Line(places.get(id(node), node.label), "input", (inputs[id(node)],)))
            continue
        # A leaf, or a node whose op the table does not know (made by hand): read its data.
        key, operands, params = node_operands(node) if _compilable(node) else ("", (), {})
        if not key:
            leaves.append(Leaf(len(lines), weakref.ref(node), node.data, node.label,
                               node.op if node._edges else ""))
            lines.append(Line(node.label, "leaf", (len(leaves) - 1,)))
            continue
        refs = tuple([_ref(v, index) for v in o] if isinstance(o, list) else _ref(o, index)
                     for o in operands)
        lines.append(Line(node.label, key, refs, params))
    # The backward pass in eager backward()'s order: each gradient's terms add up in the same
    # order, so the code's floats are eager's, bit for bit.
    sweep = [index[id(node)] for node in reversed(_order([result], inputs))]
    for line_index in sweep:
        lines[line_index].in_result = True
    guards = [(index[id(a)], symbol, _ref(b, index), outcome)
              for a, symbol, b, outcome in comparisons]
    return lines, leaves, guards, sweep


def _ref(operand: Any, index: dict[int, int]) -> Any:
    """A Value operand as its line's index (an int), a number as itself (a float)."""
    return index[id(operand)] if isinstance(operand, Value) else float(operand)


def _order(roots: list[Value], inputs: dict[int, int],
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
            if id(node) not in inputs and _compilable(node):
                children = node.children
                for child in reversed(children) if left_to_right else children:
                    if id(child) not in visited:
                        stack.append(child)
    return order


def _compilable(node: Value) -> bool:
    """True if the code can compute node from its children: its op is in ops.OPS."""
    op = node.op
    if not node._edges:
        return False
    if isinstance(op, OpLabel):
        return op.key in ops.OPS
    key = ops.SYMBOLS.get(op)
    return key is not None and (key == "dot" or key not in ops.NARY)


def _not_finite(numbers_in: list[float]) -> bool:
    """True if any number is inf or NaN (or they add up past the largest float)."""
    total = sum(numbers_in)
    return total - total != 0.0
