"""ag.compile: trace a function of Values once, then replay it as generated code.

The first call with a given argument structure runs the function eagerly and records its
graph and the comparisons it made on Values. The graph becomes straight-line code, one line
per op for the forward pass and one per edge for the backward pass, each written from that
op's code in ``ops.OPS``. Later calls with that structure run the code and return one node.
``mean``, ``sum`` and ``map`` run the code of one sample over a whole batch in one call.
"""

from __future__ import annotations

import importlib
import numbers
import operator
import struct
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import countOf
from typing import Any, Generic, TypeVar, cast

from .. import functional, ops
from ..backward import grad
from ..graph import leaves as graph_leaves
from ..mode import _mode
from ..value import OpLabel, Value, _node
from .python import Program, write_program
from .tracing import (
    EAGER,
    OK,
    BatchProgram,
    Packed,
    Plan,
    argument_names,
    lines_of,
    make_plan,
    not_finite,
    placeholders_of,
    structure,
)

# How many traces one argument structure keeps (one per outcome of its guards), and how many
# structures a compiled function keeps (the least recently used goes first).
MAX_TRACES = 8
MAX_STRUCTURES = 64
BACKENDS = ("python", "native")
Structure = tuple[Any, ...]
Result = Value | list[Value] | tuple[Value, ...]
R = TypeVar("R", bound=Result)  # what fn returns, and so what a call returns
# Derivatives found by one run: (children, d out / d child for each), added up at the end.
Part = tuple[Sequence[Value], Sequence[float]]


def compile(fn: Callable[..., R],  # noqa: A001 - named after the verb
            backend: str = "python") -> Compiled[R]:
    """Return fn compiled: called like fn, it returns one node holding fn's result.

    The first call with an argument structure traces fn (runs it eagerly), then writes its
    forward and backward passes as Python; later calls run that code. Branches taken on
    comparisons of Values (``if x > 0``) are guarded: a call on which one comes out
    differently traces again. Branches on ``.data`` read directly are not seen (as with
    ``torch.jit.trace``): the code keeps the branch taken while tracing. While tracing, fn
    gets the arguments' floats as Values; ``float()`` of one makes the code hold for that
    number only. ``no_grad``, ``detach`` and nodes made by hand inside fn raise TypeError.
    fn may return a list or tuple of Values: the call then returns one node for each.

    ``backend="native"`` runs the same program as machine code (llvmlite, the ``native``
    extra; without it the first call raises ImportError); ``source`` is the Python program
    either way.

    >>> from autograd import Value
    >>> w = Value(2.0, label="w")
    >>> f = compile(lambda x: (w * x).tanh())
    >>> y = f(0.5)
    >>> y.backward()
    >>> round(y.data, 6), round(w.grad, 6), y.children == (w,)
    (0.761594, 0.209987, True)
    >>> f.mean([0.5, -1.0, 2.0]).data == sum(f(x).data for x in (0.5, -1.0, 2.0)) / 3
    True
    """
    if not callable(fn):
        raise TypeError(f"compile: expected a function, got {type(fn).__name__}")
    if backend not in BACKENDS:
        raise ValueError(f"compile: backend must be 'python' or 'native', got {backend!r}")
    return Compiled(fn, backend)


def _write(plan: Plan, name: str, filename: str, backend: str, backward: bool) -> BatchProgram:
    """Return the program that runs plan: native code for backend "native" where it can run
    plan, else the Python program (its backward sweeps only if backward). The one place a
    backend is chosen."""
    if backend == "native":
        try:
            importlib.import_module("llvmlite")
        except ImportError as error:
            raise ImportError('compile: backend="native" needs llvmlite; install it with '
                              'pip install -e ".[native]" (or pip install llvmlite)') from error
        native = importlib.import_module(".native", __package__)
        try:
            return cast(BatchProgram, native.write_native(plan, name))
        except native.Unsupported:
            pass  # an op native code cannot run (a primitive calling back into Python)
    return write_program(plan, name, filename, backward)


class Batch:
    """A batch's columns checked once and packed as compiled code reads them: what a tensor
    of a dataset is to PyTorch. ``Batch(xs, ys)`` takes the columns ``mean``, ``sum`` and
    ``map`` take (one list per argument of fn, one entry per sample), where every column
    holds floats, or lists (or tuples) of floats of one length, to any depth; pass it to them
    alone in place of the lists, at every step. A Batch is a snapshot: later changes to the
    lists are not in it, and it never changes. ``take(indices)`` gives a mini-batch.

    The same node as the lists give; the code then skips reading and checking the lists at
    every call (a third of the native moons step's Python, python -m benchmarks: mlp_step).

    >>> import autograd as ag
    >>> w = ag.Value(2.0)
    >>> f = ag.compile(lambda x, y: (w * x[0] - y) ** 2)
    >>> data = ag.Batch([[0.5], [1.0], [2.0]], [1.0, 1.0, 3.0])
    >>> f.mean(data).data == f.mean([[0.5], [1.0], [2.0]], [1.0, 1.0, 3.0]).data
    True
    >>> len(data), len(data.take([2, 0]))
    (3, 2)
    """

    __slots__ = ("_columns", "_shape", "_numbers", "_packed", "_finite")

    def __init__(self, *columns: Sequence[Any]) -> None:
        _check_columns("Batch", "columns", columns, "ag.Batch")
        found = _flat_batch(columns)
        if found is None:  # other real numbers (numpy's) are floats to the code, as in mean
            columns = tuple(_copied(column, _as_float) for column in columns)
            found = _flat_batch(columns)
        if found is None:
            raise TypeError("ag.Batch: each column must hold only real numbers (floats), or "
                            "only lists (or only tuples) of one length of such entries (ints, "
                            "bools and Values are not numbers of a batch; pass such columns "
                            "to mean, sum or map as lists)")
        shape, numbers = found
        self._init(tuple(_copied(column) for column in columns), shape, list(numbers),
                   Packed(struct.pack(f"{len(numbers)}d", *numbers)), not not_finite(numbers))

    def _init(self, columns: tuple[list[Any], ...], shape: Structure,
              numbers: list[float] | None, packed: Packed, finite: bool) -> None:
        # All private and never changed (what is read from outside is copied): the
        # samples' arguments (for samples the code cannot run), the structure every sample
        # shares, the inputs sample after sample (the Python code's, None until asked for),
        # the same as doubles (native code's), and whether they are all finite.
        self._columns, self._shape, self._numbers, self._packed = columns, shape, numbers, packed
        self._finite = finite

    def __len__(self) -> int:
        return len(self._columns[0])

    def __repr__(self) -> str:
        return f"Batch({len(self)} samples, {len(self._columns)} columns)"

    @property
    def columns(self) -> tuple[list[Any], ...]:
        """The columns, as lists (a copy)."""
        return tuple(_copied(column) for column in self._columns)

    @property
    def numbers(self) -> list[float]:
        """The samples' numbers, sample after sample, as the code reads them (a copy)."""
        return list(self._inputs())

    @property
    def shape(self) -> Structure:
        """The structure every sample shares (as ag.compile keys its traces)."""
        return self._shape

    @property
    def finite(self) -> bool:
        """True if no number is inf or NaN."""
        return self._finite

    @property
    def packed(self) -> Packed:
        """The numbers as doubles, sample after sample."""
        return self._packed

    def _inputs(self) -> list[float]:
        if self._numbers is None:
            self._numbers = array("d", self._packed).tolist()
        return self._numbers

    def take(self, indices: Sequence[int]) -> Batch:
        """The samples at indices (integers, in that order, repeats allowed, negative ones
        from the end): a mini-batch."""
        n = len(self)
        picked = _indices(indices, n)
        width = len(self._packed) // n
        whole = self._packed
        packed = Packed(b"".join([whole[width * i:width * (i + 1)] for i in picked]))
        # Some of an unfinite batch's samples may be finite: those numbers are looked at.
        numbers = None if self._finite else array("d", packed).tolist()
        taken = Batch.__new__(Batch)
        taken._init(tuple([column[i] for i in picked] for column in self._columns),
                    self._shape, numbers, packed, numbers is None or not not_finite(numbers))
        return taken


def _indices(indices: Sequence[int], n: int) -> list[int]:
    """indices (a sequence of integers, numpy's too) as ints from 0 to n - 1, checked."""
    where = "Batch.take"
    if isinstance(indices, range):  # its ends bound it: no need to look at every index
        if not indices:
            raise TypeError(f"{where}: indices must be a non-empty sequence of integers, "
                            f"got {indices!r}")
        low, high = min(indices[0], indices[-1]), max(indices[0], indices[-1])
        if not -n <= low <= high < n:
            raise IndexError(f"{where}: index {low if low < -n else high} is out of range for "
                             f"a batch of {n} samples (from {-n} to {n - 1})")
        return [i + n if i < 0 else i for i in indices]
    if isinstance(indices, (str, bytes)) or not hasattr(indices, "__iter__"):
        raise TypeError(f"{where}: indices must be a non-empty sequence of integers, got "
                        f"{type(indices).__name__}")
    picked = list(indices)
    if not picked:
        raise TypeError(f"{where}: indices must be a non-empty sequence of integers, got none")
    if countOf(map(type, picked), int) != len(picked):
        for k, i in enumerate(picked):
            if type(i) is bool or not hasattr(type(i), "__index__"):
                raise TypeError(f"{where}: index {i!r:.40} is not an integer")
            picked[k] = operator.index(i)
    if not -n <= min(picked) <= max(picked) < n:
        bad = next(i for i in picked if not -n <= i < n)
        raise IndexError(f"{where}: index {bad} is out of range for a batch of {n} samples "
                         f"(from {-n} to {n - 1})")
    return [i + n if i < 0 else i for i in picked] if min(picked) < 0 else picked


def _as_float(x: Any) -> Any:
    """x as a float where it is a real number other than an int or bool (numpy's float64)."""
    if type(x) is not float and isinstance(x, numbers.Real) and \
            not isinstance(x, numbers.Integral):
        return float(x)
    return x


def _copied(column: Sequence[Any], number: Callable[[Any], Any] = lambda x: x) -> list[Any]:
    """A column's lists and tuples copied (floats are immutable), number() of each other
    entry: Batch's snapshot."""
    return [entry if type(entry) is float else
            type(entry)(_copied(entry, number)) if type(entry) in (list, tuple) else
            number(entry) for entry in column]


@dataclass
class _Trace:
    """One trace of fn: the program that runs it, and its Python program (for source, and
    for the per-sample derivatives of several outputs), written when first needed.

    With several outputs the backward sweeps, one per output, are most of the program (the
    MNIST-1D CNN's ten logits: 608,000 lines, the forward pass 4,300 of them), so the Python
    program is written without them until a call needs gradients.
    """

    program: BatchProgram
    kind: type | None  # list or tuple when fn returned several Values; None for one Value
    outputs: int
    filename: str
    plan: Plan | None  # kept until the Python program with the backward sweeps is written
    python: Program | None
    # Whether the captured children are all leaves (they are distinct Values, one per line):
    # then a node whose children they alone are tells backward() so (see _fast).
    leaf_children: bool | None = None

    def python_program(self, name: str, backward: bool = True) -> Program:
        """Return the Python program, written now if there is none yet, or if backward asks
        for the sweeps it lacks; written with them, it is kept from then on."""
        python = self.python
        if python is None or backward and not python.backward:
            assert self.plan is not None
            # The same filename: the forward-only program's lines are the first lines of this
            # one, so linecache's copy serves a traceback through either.
            python = write_program(self.plan, name, self.filename, backward)
            if self.program is self.python:  # the Python backend: this one runs every call
                self.program = python
            self.python = python
            if backward:
                self.plan = None
        return python


class _Sample:
    """One sample's arguments, as the code reads them."""

    __slots__ = ("index", "args", "numbers", "values", "data", "kind")

    def __init__(self, index: int, args: tuple[Any, ...]) -> None:
        self.index = index  # its place in the batch
        self.args = args
        self.numbers: list[float] = []
        self.values: list[Value] = []
        self.data: Sequence[float] = ()  # fn's result, once run
        self.kind: type | None = None


class Compiled(Generic[R]):
    """A function of Values traced once per argument structure and replayed as code.

    Calling it returns one node: its data is fn's result, its children the leaf Values the
    result depends on (arguments and captured ones such as a model's parameters), its local
    derivatives d result / d child, computed in the same call. Numbers in the arguments are
    inputs (floats; an int or bool is part of the structure); numbers made inside fn are
    constants; captured leaves are read afresh at every call.
    """

    def __init__(self, fn: Callable[..., R], backend: str = "python") -> None:
        self.fn = fn
        self.backend = backend
        self.__name__ = getattr(fn, "__name__", "compiled")
        self.__doc__ = fn.__doc__
        self.traces = 0  # how many times fn was traced: a test and a benchmark read it
        # The node's op: the function's name, which the picture shows, marked as no op of
        # the table (a function named tanh must not be read as tanh).
        self.op = OpLabel(self.__name__, "compiled")
        self._programs: dict[Structure, list[_Trace]] = {}
        self._slow: set[Structure] = set()  # structures whose guards failed in _fast
        self._last: _Trace | None = None
        # Per (mean or sum, batch size): the samples' weight and the node's op labels.
        self._labels: dict[tuple[str, int], tuple[float, OpLabel, OpLabel]] = {}

    @property
    def source(self) -> str:
        """Return the Python written for the last call's trace: the loop over the samples,
        each through the forward pass, then the backward pass.

        For a function returning several Values the backward sweeps are written at the
        first call that needs gradients: until then (calls under no_grad, such as ``map``
        for an evaluation) this is the forward pass alone, the program those calls ran.
        """
        if self._last is None:
            raise RuntimeError(f"compile: {self.__name__} has not been called yet; its code "
                               "is written at the first call")
        trace = self._last
        # One output's program always has its sweep (as native code does).
        return trace.python_program(self.__name__, backward=trace.outputs == 1).source

    @property
    def ir(self) -> str:
        """Return the LLVM IR of the last call's native program (backend="native"): the code
        for one sample, then the loop over the batch."""
        if self._last is None:
            raise RuntimeError(f"compile: {self.__name__} has not been called yet; its code "
                               "is written at the first call")
        ir = getattr(self._last.program, "ir", None)
        if ir is None:
            raise RuntimeError(f"compile: {self.__name__}'s last call ran on the Python "
                               "backend (backend='python', or an op native code cannot run, "
                               "such as softmax); see source")
        return str(ir)

    def __call__(self, *args: Any) -> R:
        """Return fn(*args) as one node (a leaf under no_grad), running the code traced for
        this argument structure, or tracing fn now; a list or tuple of nodes if fn returns
        one."""
        if _mode.comparisons is not None:
            # Called while another function is traced: run eagerly, so that function's
            # trace records these ops as its own.
            return self.fn(*args)
        [sample], parts = self._run([_Sample(0, args)], 1.0, _mode.enabled, "call")
        nodes = [_node(x, self.op, _edges(parts[j]) if parts else ())
                 for j, x in enumerate(sample.data)]
        return cast(R, nodes[0] if sample.kind is None else sample.kind(nodes))

    def mean(self, *columns: Sequence[Any] | Batch) -> Value:
        """Return the mean of fn over a batch as one node: sample k's arguments are the k-th
        entries of the columns, one list per argument of fn (or one ag.Batch of them).

        Equal (data and every leaf's gradient) to ``ag.mean([fn(*args) for args in
        zip(*columns)])``; the code is written for one sample and run for each.
        """
        return self._reduce("mean", ops.mean, columns)

    def sum(self, *columns: Sequence[Any] | Batch) -> Value:  # noqa: A003 - as ag.sum
        """Return the sum of fn over a batch as one node: as mean, without the 1 / n."""
        return self._reduce("sum", ops.sum_, columns)

    def map(self, *columns: Sequence[Any] | Batch) -> list[R]:
        """Return ``[self(*args) for args in zip(*columns)]``. Under no_grad, one run of the
        code for the batch; otherwise each sample's node gets its own local derivatives.
        The columns may be one ag.Batch."""
        lists = _lists(columns, _batch_of(columns))
        samples = self._samples("map", lists)
        if _mode.enabled:
            return [self(*sample.args) for sample in samples]
        self._run(samples, 1.0, False, "map")
        return [cast(R, Value(s.data[0]) if s.kind is None else s.kind(map(Value, s.data)))
                for s in samples]

    # ---- batches ------------------------------------------------------------------------

    def _reduce(self, how: str,
                rule: Callable[[Sequence[float]], tuple[float, tuple[float, ...]]],
                columns: tuple[Sequence[Any] | Batch, ...]) -> Value:
        batch = _batch_of(columns)
        lists = _lists(columns, batch)
        if batch is None:
            _check_columns(self.__name__, how, lists)  # a Batch's were, when it was made
        n = len(lists[0])
        labels = self._labels.get((how, n))
        if labels is None:
            # The weight of each sample's derivatives is the op's own: 1 / n for mean, 1 for
            # sum. Kept per batch size, with the node's op labels: a training loop's batches
            # come in one or two sizes.
            text = f"{how} {self.__name__}"
            labels = self._labels[(how, n)] = (
                rule([0.0] * n)[1][0], OpLabel(text, "compiled"),
                OpLabel(text, "compiled", distinct_leaves=True))
            if len(self._labels) > MAX_STRUCTURES:  # batches of ever new sizes
                self._labels.clear()
        weight, op, leaves_op = labels
        if _mode.comparisons is None:
            fast = self._fast(lists, weight, _mode.enabled, batch)
            if fast is not None:
                data, edges, leaves = fast
                # With leaves only, backward() can skip checking that the children are leaves.
                return _node(rule(data)[0], leaves_op if leaves else op, edges)
        samples = self._samples(how, lists)
        if _mode.comparisons is not None:
            # Called while another function is traced: eagerly, as a call would be.
            outputs = []
            for sample in samples:
                results, _ = _outputs(self.__name__, self.fn(*sample.args))
                _check_outputs(self.__name__, how, len(results))
                outputs += results
            return functional.mean(outputs) if how == "mean" else functional.sum(outputs)
        samples, parts = self._run(samples, weight, _mode.enabled, how)
        return _node(rule([s.data[0] for s in samples])[0], op,
                     _edges(parts[0]) if parts else ())

    def _fast(self, columns: tuple[Sequence[Any], ...], weight: float, backward: bool,
              batch: Batch | None = None
              ) -> tuple[Sequence[float], tuple[Value | float, ...], bool] | None:
        """The batch's data, the node's edges and whether its children are leaves, in one run
        of the code, where the columns hold plain floats (or lists of them, of one length, to
        any depth), the structure has a trace of one output, and every sample's guards hold: a
        dataset's batch, once traced.
        Read column by column, without a _Sample for each sample (from a Batch, as it was
        packed). None otherwise: then _run does it all (and, where the guards failed, does so
        from then on for this structure)."""
        inputs: Sequence[float] | Packed = ()
        if batch is None:
            found = _flat_batch(columns)
            if found is None:
                return None
            shape, inputs = found
        else:
            shape = batch._shape
        programs = self._programs.get(shape)
        if not programs or shape in self._slow or programs[0].outputs != 1:
            return None
        trace = programs[0]
        program = trace.program
        # Native code finds inf and NaN among the numbers itself (a sample's status): then
        # they are looked for only where a sample failed. The Python code must not see them.
        # A parameter gone inf or NaN fails every sample: _run runs them all eagerly.
        checked = program.checks_finite
        if batch is not None:
            if not (checked or batch._finite):
                return None
            inputs = batch._packed if program.reads_packed else batch._inputs()
        elif not checked and not_finite(cast(Sequence[float], inputs)):
            return None
        captured = [leaf.data for leaf in program.captured]
        if not checked and not_finite(captured):
            return None
        n = len(columns[0])
        result = program.run_batch(cast(Sequence[float], inputs), n, captured, weight,
                                   backward)
        if any(result.status):  # a sample needs a trace of its own, or eager code: _run's
            # From then on _fast leaves this structure to _run, unless an inf or NaN failed
            # the samples (_run runs them eagerly; the next batch may have none).
            if not (checked and (not_finite(captured) or (
                    not batch._finite if batch is not None else
                    not_finite(cast(Sequence[float], inputs))))):
                self._slow.add(shape)
            return None
        self._last = trace
        if next(reversed(self._programs)) != shape:
            del self._programs[shape]
            self._programs[shape] = programs  # the most recently used structure last
        # No argument is a Value, so the node's children are the captured leaves alone.
        if trace.leaf_children is None:  # a Value's edges never change: checked once
            trace.leaf_children = not any(c._edges for c in program.captured_children)
        return (result.data, (*program.captured_children, *result.grads) if backward else (),
                trace.leaf_children)

    def _samples(self, how: str, columns: tuple[Sequence[Any], ...]) -> list[_Sample]:
        """The columns as samples, checked: lists (or tuples) of one length n >= 1."""
        _check_columns(self.__name__, how, columns)
        return [_Sample(k, args) for k, args in enumerate(zip(*columns))]

    def _run(self, samples: list[_Sample], weight: float, backward: bool,
             how: str) -> tuple[list[_Sample], list[list[Part]]]:
        """Run every sample through its structure's code, tracing where none holds, and the
        failing ones eagerly. Return the samples (their data set) and, for each output, the
        derivatives found (weighted, to be added up per child)."""
        groups: dict[Structure, list[_Sample]] = {}
        for sample in samples:
            shape = structure(sample.args, sample.numbers, sample.values)
            values = sample.values
            if len(values) > 1 and len({id(v) for v in values}) < len(values):
                # The same Value in two places is one input of the traced code.
                first: dict[int, int] = {}
                shape = (shape, tuple(first.setdefault(id(v), i) for i, v in enumerate(values)))
            groups.setdefault(shape, []).append(sample)
        parts: list[list[Part]] = []
        eager: list[_Sample] = []
        for shape, group in groups.items():
            inputs = _inputs(group)
            if not_finite(inputs):
                # inf and NaN meet the rules' edges (exp(inf) raises in eager code): eagerly.
                bad = [s for s in group if not_finite(_inputs([s]))]
                eager += bad
                group = [s for s in group if s not in bad]
                inputs = _inputs(group)
            programs = self._programs.pop(shape, [])
            self._programs[shape] = programs  # the most recently used structure last
            if len(self._programs) > MAX_STRUCTURES:
                oldest = next(iter(self._programs))
                del self._programs[oldest]
                self._slow.discard(oldest)
            for trace in list(programs):
                if not group:
                    break
                group = self._replay(trace, group, inputs, weight, backward, how, parts, eager)
                inputs = _inputs(group)
            while group:
                try:
                    trace = self._trace(group[0].args)
                except (ArithmeticError, ValueError):
                    # fn's math fails on this sample: its error is raised below, in the
                    # samples' order, so a failing sample before it raises first, as eager.
                    eager.append(group.pop(0))
                    inputs = _inputs(group)
                    continue
                programs.insert(0, trace)
                del programs[MAX_TRACES:]
                traced_on = group[0]
                group = self._replay(trace, group, inputs, weight, backward, how, parts, eager)
                if group and group[0] is traced_on:
                    # The trace's own guards failed: fn is not deterministic. Eagerly.
                    eager.append(group.pop(0))
                inputs = _inputs(group)
        if eager:
            # In the samples' order: the first whose eager run raises gives the error, as eager.
            for sample in sorted(eager, key=lambda s: s.index):
                self._eager(sample, weight, backward, how, parts)
        return samples, parts

    def _replay(self, trace: _Trace, group: list[_Sample], inputs: list[float], weight: float,
                backward: bool, how: str, parts: list[list[Part]],
                eager: list[_Sample]) -> list[_Sample]:
        """Run trace's program on the group (inputs: their numbers, sample after sample);
        return the samples on which a guard failed."""
        self._last = trace
        _check_outputs(self.__name__, how, trace.outputs)
        program = trace.program
        if trace.outputs > 1 and backward:  # each output's own derivatives: Python's
            program = trace.python_program(self.__name__)
        captured = [leaf.data for leaf in program.captured]
        if not_finite(captured):  # a parameter gone inf or NaN: as for the arguments
            eager += group
            return []
        result = program.run_batch(inputs, len(group), captured, weight, backward)
        m = trace.outputs
        retrace: list[_Sample] = []
        done: list[int] = []
        for j, (sample, status) in enumerate(zip(group, result.status)):
            if status == OK:
                sample.data, sample.kind = result.data[j * m:(j + 1) * m], trace.kind
                done.append(j)
            else:
                (eager if status == EAGER else retrace).append(sample)
        if not backward or not done:
            return retrace
        while len(parts) < m:
            parts.append([])
        if m > 1:
            python = cast(Program, program)
            for j in done:
                for out, (positions, captured_children) in enumerate(python.children_of):
                    values = group[j].values
                    parts[out].append(((*(values[p] for p in positions), *captured_children),
                                       result.local_grads[j * m + out]))
            return retrace
        positions, per_sample = program.value_children, len(program.value_children)
        children: list[Value] = []
        grads: list[float] = []
        for j in done if per_sample else ():
            values = group[j].values
            children += [values[p] for p in positions]
            grads += [weight * g for g in result.value_grads[j * per_sample:
                                                             (j + 1) * per_sample]]
        parts[0].append(((*children, *program.captured_children), (*grads, *result.grads)))
        return retrace

    def _eager(self, sample: _Sample, weight: float, backward: bool, how: str,
               parts: list[list[Part]]) -> None:
        """Run fn eagerly on sample, as the code would have: set its data, add its parts.

        fn gets what tracing gives it (the floats and Values as stand-in leaves), so it raises
        the eager error a traced call would, and the node's local derivatives stop at the
        arguments: its children are the argument Values and the leaves the result depends on.
        """
        placeholders: list[Value] = []
        stand_ins: list[tuple[Value, str]] = []
        args = sample.args
        traced = tuple(placeholders_of(arg, name, placeholders, stand_ins, {})
                       for arg, name in zip(args, argument_names(self.fn, len(args))))
        results, sample.kind = _outputs(self.__name__, self.fn(*traced))
        _check_outputs(self.__name__, how, len(results))
        sample.data = [result.data for result in results]
        if not backward:
            return
        numbers = {id(p) for p in placeholders}  # the arguments' numbers get no gradient
        real = {id(proxy): value for (proxy, _), value in zip(stand_ins, sample.values)}
        while len(parts) < len(results):
            parts.append([])
        for out, result in enumerate(results):
            leaves = [leaf for leaf in graph_leaves(result) if id(leaf) not in numbers]
            local_grads = grad(result, leaves)
            parts[out].append(([real.get(id(leaf), leaf) for leaf in leaves],
                               [weight * g for g in local_grads] if weight != 1.0
                               else local_grads))

    # ---- tracing ----------------------------------------------------------------------------

    def _trace(self, args: tuple[Any, ...]) -> _Trace:
        """Run fn eagerly on args, its numbers replaced by Values, and return its trace."""
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
        results, kind = _outputs(self.__name__, result)
        lines, leaves, guards, sweeps = lines_of(results, comparisons, placeholders, values)
        # Drop the traced graph: a leaf no one else holds was made inside fn, a constant.
        del result, results, comparisons, traced, proxies
        plan = make_plan(self.__name__, lines, leaves, guards, sweeps, len(placeholders),
                         len(placeholders) + len(values))
        filename = _filename(self)
        # Grad mode is back to the call's, and a call needs gradients exactly when it is on.
        # Under no_grad, several outputs' sweeps wait for a call that needs them. One output
        # is most often a loss, soon differentiated: its sweep is written now, not later with
        # its forward pass a second time.
        backward = _mode.enabled or len(plan.outputs) == 1
        program = _write(plan, self.__name__, filename, self.backend, backward)
        python = program if isinstance(program, Program) else None
        self.traces += 1
        # The Plan stays while a Python program may still be written from it: native code's
        # (for source and several outputs' derivatives), or the one with the sweeps.
        return _Trace(program, kind, len(plan.outputs), filename,
                      plan if python is None or not python.backward else None, python)


def _batch_of(columns: tuple[Sequence[Any] | Batch, ...]) -> Batch | None:
    """The Batch passed alone as the columns, or None."""
    return columns[0] if len(columns) == 1 and type(columns[0]) is Batch else None


def _lists(columns: tuple[Sequence[Any] | Batch, ...],
           batch: Batch | None) -> tuple[Sequence[Any], ...]:
    """The columns as lists: the Batch's own, where one is passed alone."""
    return batch._columns if batch is not None else cast(tuple[Sequence[Any], ...], columns)


def _check_columns(name: str, how: str, columns: tuple[Any, ...], where: str = "") -> None:
    """Check a batch's columns: lists (or tuples) of one length n >= 1, one per argument."""
    where = where or f"compile: {name}.{how}"
    if not columns:
        raise TypeError(f"{where} needs one list per argument of {name}, got none")
    if any(type(column) is Batch for column in columns):
        raise TypeError(f"{where}: pass an ag.Batch alone, as the one argument")
    for i, column in enumerate(columns):
        if not isinstance(column, (list, tuple)):
            raise TypeError(f"{where}: argument {i} must be a list with one entry per "
                            f"sample, got {type(column).__name__}")
    lengths = {len(column) for column in columns}
    if len(lengths) > 1:
        raise ValueError(f"{where}: the lists must have one length (one entry per "
                         f"sample), got lengths {[len(c) for c in columns]}")
    if not lengths.pop():
        raise ValueError(f"{where}: got empty lists; a batch needs at least one sample")


def _flat_batch(columns: tuple[Sequence[Any], ...]) -> tuple[Structure, list[float]] | None:
    """The structure every sample shares and the inputs (sample after sample), where each
    column holds only floats, or only lists (or only tuples) of one length of such entries,
    to any depth (a CNN's channels of signals); else None. The structure is the one
    structure() gives each sample's arguments."""
    shapes: list[Any] = []
    parts: list[tuple[list[float], int]] = []  # each column's numbers, and how many a sample
    n = len(columns[0])
    for column in columns:
        found = _uniform(column)
        if found is None:
            return None
        shape, numbers = found
        shapes.append(shape)
        parts.append((numbers, len(numbers) // n))
    if len(parts) == 1:
        inputs = parts[0][0]
    else:
        # Sample k's numbers, column after column, at k * width: each column's j-th number
        # of every sample written by one strided slice (a Python loop over the samples took
        # a quarter of the moons step's time, python -m benchmarks: mlp_step).
        width = sum(size for _, size in parts)
        inputs = [0.0] * (n * width)
        at = 0
        for numbers, size in parts:
            for j in range(size):
                inputs[at + j::width] = numbers[j::size]
            at += size
    if all(shape == "f" for shape in shapes):  # what structure() gives a tuple of floats
        return (tuple, len(columns)), inputs
    return (tuple, tuple(shapes)), inputs


def _uniform(entries: Sequence[Any]) -> tuple[Any, list[float]] | None:
    """The structure all the entries share, and their numbers in order, where they are all
    floats, or all lists (or all tuples) of one length of entries that are in turn; else None.
    Checked level by level with countOf() and map(), not entry by entry in Python (a set()
    of the types took twice as long, python -m benchmarks: mlp_step)."""
    n = len(entries)
    kind = type(entries[0])
    if countOf(map(type, entries), kind) != n:
        return None
    if kind is float:  # the numbers themselves, uncopied: the code only reads them
        return "f", entries if type(entries) is list else list(entries)
    if kind is not list and kind is not tuple:
        return None
    length = len(entries[0])
    if countOf(map(len, entries), length) != n:
        return None
    if not length:
        return (kind, 0), []
    inner: list[Any] = []
    extend = inner.extend  # faster than chain.from_iterable over short lists
    for entry in entries:
        extend(entry)
    found = _uniform(inner)
    if found is None:
        return None
    shape, numbers = found
    return ((kind, length) if shape == "f" else (kind, (shape,) * length)), numbers


def _inputs(group: list[_Sample]) -> list[float]:
    """The samples' numbers, then their Values' data, sample after sample: the code's inputs."""
    inputs: list[float] = []
    for sample in group:
        inputs += sample.numbers
        if sample.values:
            inputs += [v.data for v in sample.values]
    return inputs


def _outputs(name: str, result: object) -> tuple[list[Value], type | None]:
    """fn's result as a list of Values, and its kind (list or tuple; None for one Value)."""
    if isinstance(result, Value):
        return [result], None
    if type(result) in (list, tuple) and result and \
            all(isinstance(v, Value) for v in result):  # type: ignore[attr-defined]
        return list(result), type(result)  # type: ignore[call-overload]
    got = (f"an empty {type(result).__name__}" if type(result) in (list, tuple) and not result
           else type(result).__name__)
    raise TypeError(f"compile: {name} must return a Value or a flat list or tuple of "
                    f"Values, got {got}")


def _check_outputs(name: str, how: str, outputs: int) -> None:
    if outputs > 1 and how in ("mean", "sum"):
        raise TypeError(f"compile: {name}.{how} needs {name} to return one Value (a sample's "
                        f"loss), got {outputs} Values")


def _edges(parts: list[Part]) -> tuple[Value | float, ...]:
    """The node's edges: each child once, its derivatives from every part added up."""
    if len(parts) == 1:
        children, grads = parts[0]
        return (*children, *grads)
    index: dict[int, int] = {}
    merged: list[Value] = []
    sums: list[float] = []
    for children, grads in parts:
        for child, g in zip(children, grads):
            i = index.get(id(child))
            if i is None:
                index[id(child)] = len(merged)
                merged.append(child)
                sums.append(g)
            else:
                sums[i] += g
    return (*merged, *sums)


def _filename(compiled: Compiled[Any]) -> str:
    name = getattr(compiled.fn, "__qualname__", compiled.__name__)
    return f"<ag.compile {name} #{compiled.traces}>"
