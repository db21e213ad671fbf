"""ag.compile: trace a function of Values once, then replay it as generated Python.

The first call with a given argument structure runs the function eagerly and records its
graph and the comparisons it made on Values. The graph becomes straight-line Python, one line
per op for the forward pass and one per edge for the backward pass, each written from that
op's code in ``ops.OPS``. Later calls with that structure run the code and return one node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..backward import grad
from ..graph import leaves as graph_leaves
from ..mode import _mode
from ..value import OpLabel, Value, _node
from .python import Program, write_program
from .tracing import argument_names, lines_of, make_plan, placeholders_of, structure

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
        shape = structure(args, numbers_in, values)
        if len(values) > 1 and len({id(v) for v in values}) < len(values):
            # The same Value in two places is one input of the traced code.
            first: dict[int, int] = {}
            shape = (shape, tuple(first.setdefault(id(v), i) for i, v in enumerate(values)))
        if _not_finite(numbers_in) or _not_finite([v.data for v in values]):
            # inf and NaN meet the rules' edges (exp(inf) raises in eager code): run eagerly.
            return self._eager(args, values)
        programs = self._programs.pop(shape, [])
        self._programs[shape] = programs  # the most recently used structure last
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
        traced = tuple(placeholders_of(arg, name, placeholders, stand_ins, {})
                       for arg, name in zip(args, argument_names(self.fn, len(args))))
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
        names = argument_names(self.fn, len(args))
        placeholders: list[Value] = []
        values: list[tuple[Value, str]] = []  # each argument Value's stand-in, and its place
        proxies: dict[int, Value] = {}
        traced = tuple(placeholders_of(arg, name, placeholders, values, proxies)
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
        lines, leaves, guards, sweep = lines_of(result, comparisons, placeholders, values)
        # Drop the traced graph: a leaf no one else holds was made inside fn, a constant.
        del result, comparisons, traced, proxies
        plan = make_plan(self.__name__, lines, leaves, guards, sweep, len(placeholders),
                         len(placeholders) + len(values))
        program = write_program(plan, self.__name__, _filename(self))
        self.traces += 1
        return program


def _filename(compiled: Compiled) -> str:
    name = getattr(compiled.fn, "__qualname__", compiled.__name__)
    return f"<ag.compile {name} #{compiled.traces}>"


def _not_finite(numbers_in: list[float]) -> bool:
    """True if any number is inf or NaN (or they add up past the largest float)."""
    total = sum(numbers_in)
    return total - total != 0.0
