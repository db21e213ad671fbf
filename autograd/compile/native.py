"""ag.compile's native writer: a traced program (a Plan) as machine code, through llvmlite.

The same program the Python writer writes, in LLVM IR: the forward pass (each line lowered
from its op's code in ``ops.OPS`` by ``lower``), the guards, then the backward sweep (each step
``d_child += d_node * local``, the local lowered from the op's ``local_code``), in the Python
writer's order. One native call, ``batch``, runs every sample of a batch: it copies the
samples' numbers in, runs them SAMPLES at a time through @sample (the sample's code on
vectors, one lane per sample: one instruction does four samples' work; the last block's
lanes past the batch run its last sample again, unused), writes their data and statuses,
and adds up the gradients of the captured leaves. As in the Python program, the lines that
read no input are computed once before that loop (@once) and their steps taken once after it
(@once_backward).

Each line's value lives in an array ``vals``, its gradient in ``g``, one slot per line and
sample lane (line k's lanes side by side). Lines of one op whose code differs only in the
lines it reads (a layer's dots, its relus) run as one loop over a table of line indices (data
passed to the code, not IR), and so do the terms of a wide sum and the steps of their
backward pass: the code does not grow with a layer's width. The MNIST-1D CNN's sample
(65,000 lines of Python) is about 2,400 lines of IR.

A sample's status: 0 ok; 1 a guard came out otherwise; 2 where the Python code raises (a log of
0, a division by 0, an overflow: see ``lower``) or gives inf or NaN (an output's data), or where
its inputs or the captured leaves are inf or NaN (which run eagerly, as a call does). The
captured leaves' derivatives add up over the samples in place, lane by lane (lane j: samples
j, j + 4, ...), the lanes' sums then added in order: a different association from the Python
program's sample after sample, to about 1e-15 relative (within a sample, grouping may reorder
a gradient's terms, to about 1e-13). Where a sample's backward pass fails or the sums come out
inf or NaN, run_batch runs the samples one at a time, so that only that sample runs eagerly.

Programs the writer cannot lower raise ``Unsupported``, and the Python backend runs them: ops
without code in the table (logsumexp, softmax, log_softmax: their rules run in Python), codes
that call back into Python (``ops.power(...)`` for an infinite exponent, a user's primitive),
and, for ``backward=True``, functions of several outputs.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import re
import struct
import sys
import threading
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .. import ops
from ..value import Value
from .lower import (
    BINARY_MATH,
    C_NAMES,
    LOOP_AT,
    Builder,
    Lowerer,
    Unsupported,
    double,
    format_code,
    template_of,
    uniform_runs,
)
from .python import SKIP_AT, _identifier, _literal, _same_number
from .tracing import BatchResult, Packed, Plan, flat_operands

__all__ = ["NativeProgram", "Unsupported", "write_native", "OPT_LEVEL"]

# LLVM's optimisation level for the IR and the machine code. The code is loops over tables,
# small at any width, so even level 3 compiles in about a second: the MNIST-1D CNN's batch ran
# 3.5x faster than at level 0 and 15% faster than at level 2, for 0.6 s more of JIT. No
# fast-math: floats are never reassociated, at any level.
OPT_LEVEL = 3

# How many samples @sample runs at a time, one per lane of its vectors (see _Writer.sample):
# four doubles, an AVX2 register (eight, AVX-512's, ran no faster on the moons step).
SAMPLES = 4

# The largest batch whose outputs' scratch a program keeps between calls (a training step's;
# a larger one, a map over a whole dataset, gets its own each call).
KEPT_SAMPLES = 4096

# The native function: (inputs, n, captured, weight, backward, data, status, grads,
# value_grads, vals, g) -> None.
_BATCH = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p,
                          ctypes.c_double, ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p,
                          ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                          ctypes.c_void_p)


@dataclass
class NativeProgram:
    """The machine code of one trace, and what a call gives it and makes of its result."""

    # Samples whose inputs, or the captured leaves, are inf or NaN get status 2 here.
    checks_finite: ClassVar[bool] = True
    reads_packed: ClassVar[bool] = True  # a Batch's Packed numbers: read where they are

    ir: str  # the LLVM IR, for the curious: print(program.ir)
    captured: list[Value]  # read at every call, in the code's order
    captured_children: tuple[Value, ...]  # those the result depends on: the node's children
    value_children: tuple[int, ...]  # which of the call's argument Values are children
    slots: int
    outputs: int
    lines: int
    function: Any = field(repr=False)
    engine: Any = field(repr=False)  # the JIT's engine: the machine code lives as long as it
    tables: Any = field(repr=False)  # the code's tables of line indices (ctypes int32s)
    source: str = ""  # the Python program is Compiled's to keep
    failed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _scratch: _Scratch | None = field(default=None, repr=False)
    lanes: int = 1  # the samples run side by side (their slots interleave in the scratch)
    _tables_at: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        self._tables_at = ctypes.addressof(self.tables)

    def run_batch(self, inputs: Sequence[float], n: int, captured: Sequence[float],
                  weight: float, backward: bool) -> BatchResult:
        """Run n samples in one native call (see the module's docstring for the statuses).

        inputs holds sample k's slot j at k * slots + j; captured the captured leaves' data.
        Every argument is checked here, before the native code runs.
        """
        if type(n) is not int or n < 1:
            raise ValueError(f"native run_batch: n must be an int >= 1, got {n!r:.40}")
        if type(backward) is not bool:
            raise TypeError(f"native run_batch: backward must be a bool, got {backward!r:.40}")
        if not isinstance(weight, (int, float)) or isinstance(weight, bool):
            raise TypeError(f"native run_batch: weight must be a float, got {weight!r:.40}")
        if backward and self.outputs != 1:
            raise Unsupported(f"native run_batch: the backward pass needs one output, the "
                              f"program has {self.outputs}")
        numbers = _doubles(inputs, n * self.slots, "inputs", f"{n} samples of {self.slots}")
        leaves = _doubles(captured, len(self.captured), "captured", "one per captured leaf")
        data, status, spoiled, grads, value_grads = self._call(numbers, n, leaves,
                                                               float(weight), backward)
        if not backward:
            return BatchResult(data, status, [], [])
        if spoiled == 2:  # the captured leaves are inf or NaN: every sample failed
            return BatchResult(data, status, [0.0] * len(self.captured_children),
                               [0.0] * (n * len(self.value_children)))
        if spoiled:
            # A sample's backward pass failed, or the sums came out inf or NaN: as the Python
            # program, run the samples one at a time, so that sample alone goes to eager code.
            return self._one_at_a_time(numbers, n, leaves, float(weight))
        width = len(self.captured_children)
        return BatchResult(data, status, grads if len(grads) == width else grads[:width],
                           value_grads)

    def _call(self, numbers: bytes, n: int, leaves: bytes, weight: float, backward: bool
              ) -> tuple[list[float], list[int], int, array[float], list[float]]:
        """The native call: the samples' data, statuses, whether the sums are spoiled, the
        captured children's gradients (a new array: the node's edges are read from it) and
        the argument Values' derivatives, sample after sample."""
        grads = array("d", bytes(8 * max(len(self.captured_children), 1)))
        mine = self._lock.acquire(blocking=False)  # another thread's call: scratch of its own
        try:
            scratch = self._scratch if mine else None
            if scratch is None or scratch.samples < n:
                scratch = _Scratch(self.lines * self.lanes, n, self.outputs,
                                   len(self.value_children))
                if mine and n <= KEPT_SAMPLES:  # not a huge map's outputs, for good
                    self._scratch = scratch
            self.function(numbers, n, leaves, weight, int(backward), scratch.at[0],
                          scratch.at[1], grads.buffer_info()[0], scratch.at[2], scratch.at[3],
                          scratch.at[4], self._tables_at)
            # Copied out while the scratch is this call's.
            return (scratch.data[:n * self.outputs].tolist(), scratch.status[:n].tolist(),
                    scratch.status[n], grads,
                    scratch.value_grads[:n * len(self.value_children)].tolist())
        finally:
            if mine:
                self._lock.release()

    def _one_at_a_time(self, numbers: Any, n: int, leaves: Any, weight: float) -> BatchResult:
        data: list[float] = []
        status: list[int] = []
        value_grads: list[float] = []
        sums = [0.0] * len(self.captured_children)
        slots, width = self.slots, len(self.value_children)
        for k in range(n):
            one = numbers[8 * k * slots:8 * (k + 1) * slots] if slots else _ONE_ZERO
            out, state, spoiled, grads, values = self._call(one, 1, leaves, 1.0, True)
            if state[0] != 0 or spoiled:
                data.append(math.nan)
                status.append(2 if spoiled else state[0])
                value_grads += [0.0] * width
                continue
            data.append(out[0])
            status.append(0)
            value_grads += values
            sums = [s + weight * g for s, g in zip(sums, grads)]
        return BatchResult(data, status, sums, value_grads)


class _Scratch:
    """A call's working memory, kept between calls: each line's value and gradient in every
    lane, and the outputs for up to samples samples. The arrays' addresses are rounded up to
    64 bytes, so that no line's lanes straddle two cache lines (a tenth of the moons step's
    native call where they did)."""

    __slots__ = ("samples", "vals", "g", "data", "status", "value_grads", "at")

    def __init__(self, size: int, samples: int, outputs: int, value_children: int) -> None:
        self.samples = samples
        self.vals, self.g = array("d", bytes(8 * size + 64)), array("d", bytes(8 * size + 64))
        self.data = array("d", bytes(8 * samples * outputs))
        self.status = array("q", bytes(8 * (samples + 1)))  # status[n]: the sums are spoiled
        self.value_grads = array("d", bytes(8 * max(samples * value_children, 1)))
        # data, status, value_grads, vals, g: where the code writes them (vals and g aligned)
        self.at = (self.data.buffer_info()[0], self.status.buffer_info()[0],
                   self.value_grads.buffer_info()[0], _aligned(self.vals), _aligned(self.g))


def _aligned(numbers: array[float]) -> int:
    return -(-numbers.buffer_info()[0] // 64) * 64


def _doubles(x: Sequence[float], length: int, what: str, expected: str) -> bytes:
    """x as length doubles, packed (a copy: nothing can change it mid-call; at least one
    double, so that its address is never null). struct.pack, not array("d", x): a third of
    the time (python -m benchmarks: mlp_step), and the same conversions (float(), not int)."""
    if type(x) is Packed:  # a Batch's: packed once, never changed
        if len(x) != 8 * length:
            raise ValueError(f"native run_batch: {what} must have {length} floats "
                             f"({expected}), got {len(x) // 8}")
        return x if length else _ONE_ZERO
    if isinstance(x, (str, bytes, bytearray, memoryview)):
        raise TypeError(f"native run_batch: {what} must be a sequence of floats, "
                        f"got {type(x).__name__}")
    if type(x) is not list:
        try:
            x = list(x)
        except TypeError:
            raise TypeError(f"native run_batch: {what} must be a sequence of floats, got "
                            f"{type(x).__name__} {str(x)[:60]}") from None
    if len(x) != length:
        raise ValueError(f"native run_batch: {what} must have {length} floats ({expected}), "
                         f"got {len(x)}")
    if not length:
        return _ONE_ZERO
    try:
        return struct.pack(f"{length}d", *x)
    except (struct.error, TypeError):
        bad = next((v for v in x if not isinstance(v, (int, float))), x)
        raise TypeError(f"native run_batch: {what} must be a sequence of floats, got "
                        f"{type(bad).__name__} {str(bad)[:60]} in it") from None


_ONE_ZERO = bytes(8)


# ---- writing the IR -------------------------------------------------------------------------


def write_native(plan: Plan, name: str) -> NativeProgram:
    """Return plan as machine code: one native function running a whole batch.

    Raises Unsupported where the program cannot be lowered (the Python backend runs it), and
    ImportError without llvmlite.
    """
    binding = _binding()
    writer = _Writer(plan)
    ir = writer.module(name)
    engine, address = _jit(binding, ir, writer.b.math)
    held: list[Value] = [value for leaf in plan.captured if (value := leaf.ref()) is not None]
    by_line = {leaf.line: value for leaf, value in zip(plan.captured, held)}
    lines = plan.lines
    return NativeProgram(
        ir, held, tuple(by_line[i] for i in plan.children if lines[i].key == "leaf"),
        tuple(lines[i].operands[0] - plan.count for i in plan.children
              if lines[i].key == "input"),
        plan.slots, len(writer.outputs), max(len(lines), 1), _BATCH(address), engine,
        _int32s(writer.b.tables), lanes=writer.b.lanes)


def _int32s(numbers: array[int]) -> Any:
    buffer = (ctypes.c_int32 * max(len(numbers), 1))()
    if numbers:
        ctypes.memmove(buffer, numbers.buffer_info()[0], numbers.itemsize * len(numbers))
    return buffer


class _Writer:
    """Lowers a Plan's lines into two functions: @sample (one sample) and @batch.

    The lines are written in groups: lines of one op whose code differs only in the lines it
    reads (a layer's dots, its relus) run as one loop over a table of those lines. A line
    joins a group at its depth (its longest path from the inputs, so no line of a group reads
    another), between two guards (whose order against the math errors is the Python code's).
    The backward pass is grouped the same way, by the nodes' depth from the output.
    """

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.lines = plan.lines
        self.outputs: list[int] = list(plan.outputs or [plan.output])
        self.b = Builder()
        self.lowerer = Lowerer(self.b, lambda k: self.b.load_line("%vals", k), _math_symbol)
        count, constants = plan.count, plan.constants
        self.grad_needed = [i not in constants if line.key == "leaf"
                            else line.key != "input" or line.operands[0] >= count
                            for i, line in enumerate(self.lines)]
        self.err: str | None = None  # the samples' error flags so far
        # Where a sample's guard failed, its status (1, or 2 after an error): None while none.
        self.stop: str | None = None
        # In @sample's backward pass, which samples' derivatives count (see step).
        self.alive: str | None = None
        # @sample runs SAMPLES samples at a time: their slots in %vals and %g interleave
        # (Builder.slot), and @batch's scalar code reads and writes each lane's.
        self.b.lanes = SAMPLES
        self.assigned: set[int] = set()  # the lines the backward pass gives a gradient
        # The lines that read no input, computed once for the batch (Plan.invariant): their
        # gradients add up over the samples, their steps taken once after the loop.
        self.once = plan.invariant
        self.once_tables: list[tuple[bool, list[str], list[list[int]]]] = []
        self.args: dict[int, list[Any]] = {}

    def operand(self, ref: Any) -> str:
        """An operand as the code's source: v{i} for a line, a literal for a number."""
        if type(ref) is int:
            return _literal(self.plan.constants[ref]) if ref in self.plan.constants else f"v{ref}"
        return _literal(ref)

    def arguments(self, i: int) -> list[Any]:
        """Line i's operands as the code's source (written once: forward and backward)."""
        args = self.args.get(i)
        if args is None:
            operand = self.operand
            args = self.args[i] = [[operand(r) for r in o] if type(o) is list else operand(o)
                                   for o in self.lines[i].operands]
        return args

    def module(self, name: str) -> str:
        sample = self.sample()
        once = self.once_functions()
        batch = self.batch()
        label = "".join(ch if ch.isprintable() and ch != "\n" else "?" for ch in name)
        return "\n".join([f"; Written by ag.compile from {label}: {len(self.lines)} nodes, "
                          f"{len(self.plan.guards)} guards.", *self.b.declarations(),
                          "", *sample, "", *once, *batch, ""])

    def once_functions(self) -> list[str]:
        """@once (the lines computed once for the batch, before the loop) and @once_backward
        (their steps, after it), each returning its error flag; none without such lines."""
        written: list[str] = []
        if self.once:
            written += self.flagged("once", "ptr noalias %vals, ptr noalias %tables",
                                    lambda: self.forward(sorted(self.once)))

        def steps() -> None:
            for table in self.once_tables:
                self.backward_group(*table)

        if self.once_tables:
            written += self.flagged("once_backward", "ptr noalias %vals, ptr noalias %g, "
                                    "ptr noalias %tables", steps)
        return written

    def flagged(self, name: str, signature: str, emit: Callable[[], None]) -> list[str]:
        """A function @name of signature whose body emit() writes, returning its error flag."""
        b = self.b
        b.lines, b.block = ["entry:"], "entry"
        self.err = None
        emit()
        b.emit(f"ret i1 {self.err or 'false'}")
        return [f"define internal i1 @{name}({signature}) {{", *b.lines, "}", ""]

    def table_loop(self, rows: list[list[int]], carried: list[tuple[str, str]],
                   body: Any, comment: str = "") -> list[str]:
        """A loop over rows (lists of ints, one length): body(entry, carried) with entry(p)
        the i64 at position p (an int or an i64 value) of the row."""
        b = self.b
        table = b.table(rows)
        width = len(rows[0])
        if comment:
            b.emit(f"; {comment}")

        steps: dict[tuple[int, int, int], int | None] = {}

        def one(j: str, values: list[str]) -> list[str]:
            results: list[str] = body(_Row(b, table, b.op(f"mul i64 {j}, {width}", "row"),
                                           rows, steps), values)
            return results

        return b.loop(len(rows), carried, one)

    def each_lane(self, emit: Callable[[int], Any]) -> list[Any]:
        """emit(lane) for each sample's lane of the slots (in @batch's scalar code), the
        Builder reading and writing that lane's; the list of what each returned."""
        results = []
        for lane in range(self.b.lanes):
            self.b.lane = lane
            results.append(emit(lane))
        self.b.lane = 0
        return results

    # ---- one sample: forward, guards, backward -----------------------------------------------

    def sample(self) -> list[str]:
        """@sample: one sample's code on vectors of SAMPLES samples' values (each line's
        lanes side by side in %vals and %g), returning their statuses: one instruction does
        every sample's work (the moons step's native call ran 2.4x faster than one sample at
        a time, python -m benchmarks: mlp_step). Each sample's status: 2 for a forward error
        or, first, its first failed guard's; 3 for a backward error. Every sample takes the
        backward pass in its own lane; where %sweeps says no (a failed sample, or none
        wanted), its steps add 0."""
        b, plan = self.b, self.plan
        b.lines, b.block = ["entry:"], "entry"
        self.err = self.stop = None
        b.width = b.lanes
        checks: dict[int, list[tuple[int, str, Any, bool]]] = {}
        for guard in plan.guards:
            a, _, other, _ = guard
            checks.setdefault(max(a, other) if isinstance(other, int) else a, []).append(guard)
        for guard in checks.pop(-1, []):
            self.guard(guard)
        segment: list[int] = []
        for i, line in enumerate(self.lines):
            if line.key not in ("input", "leaf") and i not in self.once:
                segment.append(i)
            if i in checks:
                self.forward(segment)
                segment = []
                for guard in checks[i]:
                    self.guard(guard)
        self.forward(segment)
        # Each output's data, inf or NaN: as the Python code's FloatingPointError.
        for k in dict.fromkeys(self.outputs):
            self.err = b.either(self.err, b.not_finite(b.load_line("%vals", k)))
        kind = b.i64
        failed = self.err or b.no
        stop = self.stop

        def statuses(later: str) -> str:
            out = b.op(f"select {b.bits} {failed}, {kind} {b.integer(2)}, {kind} {later}",
                       "status")
            if stop is not None:  # a failed guard's status comes first
                stopped = b.op(f"icmp ne {kind} {stop}, {b.integer(0)}")
                out = b.op(f"select {b.bits} {stopped}, {kind} {stop}, {kind} {out}", "status")
            return out

        backward, data_only = b.label("backward"), b.label("data_only")
        b.emit(f"br i1 {b.any('%sweeps')}, label %{backward}, label %{data_only}")
        b.start(data_only)
        b.emit(f"ret {kind} {statuses(b.integer(0))}")
        b.start(backward)
        self.err = None
        # The samples whose derivatives count: the others' steps add 0 (see step).
        alive = b.op(f"and {b.bits} %sweeps, {b.op(f'xor {b.bits} {failed}, {b.yes}')}")
        if stop is not None:
            alive = b.op(f"and {b.bits} {alive}, "
                         f"{b.op(f'icmp eq {kind} {stop}, {b.integer(0)}')}", "alive")
        self.alive = alive
        if len(self.outputs) == 1:  # several outputs: run_batch refuses the backward pass
            self.backward()
        self.alive = None
        err = self.err
        three, zero = b.integer(3), b.integer(0)
        later = b.op(f"select {b.bits} {err}, {kind} {three}, {kind} {zero}") if err else zero
        b.emit(f"ret {kind} {statuses(later)}")
        bits, b.width = b.bits, 1
        return [f"define internal {kind} @sample(ptr noalias %vals, ptr noalias %g, "
                f"{bits} %sweeps, ptr noalias %tables) {{", *b.lines, "}"]

    def forward(self, segment: list[int]) -> None:
        """The segment's lines, in groups of one depth and one code (as a template)."""
        depth: dict[int, int] = {}
        groups: dict[tuple[int, str], list[list[int]]] = {}
        for i in segment:
            line = self.lines[i]
            op = ops.OPS[line.key]
            if op.code is None:
                raise Unsupported(f"{line.key} has no code in ops.OPS (its rule runs in Python)")
            try:
                source = format_code(op.code, self.arguments(i), line.params, _literal)
            except Exception as error:  # a code the table writes for Python only
                raise Unsupported(f"{line.key}'s code cannot be written: {error}") from error
            template, holes = template_of(source)
            depth[i] = 1 + max((depth.get(h, 0) for h in holes), default=0)
            groups.setdefault((depth[i], template), []).append([i, *holes])
        for (_, template), rows in sorted(groups.items(), key=lambda g: (g[0][0], g[1][0][0])):
            self.forward_group(template, rows)

    def forward_group(self, template: str, rows: list[list[int]]) -> None:
        b, lowerer = self.b, self.lowerer
        key = self.lines[rows[0][0]].key

        def body(entry: _Row, carried: list[str]) -> list[str]:
            lowerer.hole_at = lambda number: b.load_line(
                "%vals", entry(b.op(f"add i64 {number}, 1")))
            lowerer.run_hole = lambda k, at, stride, count: b.load_line(
                "%vals", entry.run(k, at + 1, stride, count))
            value, err = lowerer.source(template)
            lowerer.run_hole = None
            b.store_line("%vals", entry(0), value)
            return [b.either(carried[0], err) or b.no]

        shown = template if len(template) < 100 else f"{template[:97]}..."
        err = self.table_loop(rows, [(b.bits, b.no)], body,
                              f"forward: {len(rows)} x {key}: {shown}\n  ;   "
                              f"{self.names(rows)}")[0]
        self.err = b.either(self.err, err)

    def names(self, rows: list[list[int]], shown: int = 4) -> str:
        """The first rows' lines by their labels (nn's paths shortened), for a comment."""
        names = [_identifier(self.lines[row[0]].label) or self.lines[row[0]].key
                 for row in rows[:shown]]
        return ", ".join(names) + (f", ... ({len(rows)} lines)" if len(rows) > shown else "")

    def guard(self, guard: tuple[int, str, Any, bool]) -> None:
        """A comparison made while tracing: where it comes out otherwise, status 1 (or 2 if
        the Python code would have raised before reaching it). No branch: each sample keeps
        the status of the first of its guards to fail (its code runs on, its results
        unused)."""
        b = self.b
        a, symbol, other, outcome = guard
        test = f"{self.operand(a)} {symbol} {self.operand(other)}"
        if symbol == "==" and not isinstance(other, int):
            test = _same_number(self.operand(a), other)
        b.emit(f"; guard: {test}" if len(test) < 100 else "; guard")
        kind = b.i64
        holds, err = self.lowerer.test(self.lowerer.parse(test), test)
        self.err = err = b.either(self.err, err)
        fails = b.op(f"xor {b.bits} {holds}, {b.yes}") if outcome else holds
        two, one = b.integer(2), b.integer(1)
        status = b.op(f"select {b.bits} {err}, {kind} {two}, {kind} {one}") if err else one
        stops = b.op(f"select {b.bits} {fails}, {kind} {status}, {kind} {b.integer(0)}", "stop")
        before = self.stop
        self.stop = stops if before is None else b.op(
            f"select {b.bits} {b.op(f'icmp ne {kind} {before}, {b.integer(0)}')}, "
            f"{kind} {before}, {kind} {stops}", "stop")

    def backward(self) -> None:
        """The sweep's steps, d_child (+)= d_node * local, as the Python writer writes them
        (the steps of a node with SKIP_AT or more skipped where its gradient is exactly 0),
        in groups: nodes of one depth from the output whose steps differ only in lines."""
        b = self.b
        output = self.outputs[0]
        # The captured leaves' derivatives add up over the samples in place, in each
        # sample's lane (see the module's docstring): always +=.
        # So do those of the lines computed once, whose steps come after the loop.
        summed = self.summed() | self.once
        one = b.c(double(1.0))
        if self.alive is not None:  # a failed sample's lane adds nothing to the sums
            one = b.op(f"select {b.bits} {self.alive}, {b.f} {one}, {b.f} {b.c('0.0')}")
        b.store_line("%g", output, b.op(f"fadd {b.f} {b.load_line('%g', output)}, {one}")
                     if output in summed else one)
        depth = {output: 0}
        groups: dict[tuple[int, Any], list[list[Any]]] = {}
        once_groups: dict[tuple[int, Any], list[list[Any]]] = {}
        for i in self.plan.sweep:  # parents before children: a node's depth is known here
            line = self.lines[i]
            if line.key in ("input", "leaf"):
                continue
            op = ops.OPS[line.key]
            args = self.arguments(i)
            try:
                if callable(op.local_code):  # an n-ary op's: {y} is the node's output
                    locals_ = [code.replace("{y}", f"v{i}")
                               for code in op.local_code(*args, **line.params)]
                else:
                    locals_ = [format_code(code, args, line.params, _literal, f"v{i}")
                               for code in op.local_code]
            except Exception as error:
                raise Unsupported(f"{line.key}'s local code cannot be written: "
                                  f"{error}") from error
            steps = [(ref, template_of(local)) for ref, local in
                     zip(flat_operands(line.operands), locals_)
                     if type(ref) is int and self.grad_needed[ref]]
            for ref, _ in steps:
                depth[ref] = max(depth.get(ref, 0), depth[i] + 1)
            if steps:
                shape = (len(steps) >= SKIP_AT, tuple(t for _, (t, _) in steps))
                (once_groups if i in self.once else groups).setdefault(
                    (depth[i], shape), []).append([i, steps])
        tables = _tables(groups)
        self.once_tables = _tables(once_groups)
        self.assigned = {output, *summed}
        for _, templates, rows in tables + self.once_tables:
            for row in rows:
                self.assigned.update(self.targets(row, templates))
        # Every other gradient starts at 0.0 each sample, so each step adds (Python's first
        # step assigns: the same float, but for a -0.0 that becomes 0.0).
        zeros = [[i] for i in sorted(self.assigned - summed - {output})]
        if zeros:
            def zero(entry: Any, carried: list[str]) -> list[str]:
                b.store_line("%g", entry(0), b.c(double(0.0)))
                return []

            self.table_loop(zeros, [], zero, "d node = 0 for this sample")
        for skips, templates, rows in tables:
            self.backward_group(skips, templates, rows)

    @staticmethod
    def targets(row: list[int], shape: list[str]) -> list[int]:
        """The step targets in a backward row: after the node, each step's target, then its
        local's holes."""
        out, at = [], 1
        for template in shape:
            out.append(row[at])
            at += 1 + len(_HOLE_NAMES.findall(template))
        return out

    def summed(self) -> set[int]:
        return {i for i, line in enumerate(self.lines)
                if line.key == "leaf" and self.grad_needed[i]} if len(self.outputs) == 1 else set()

    def backward_group(self, skips: bool, shape: list[str], rows: list[list[int]]) -> None:
        b, lowerer = self.b, self.lowerer
        # Each step's place in the row: the target, then its local's holes.
        pieces: list[tuple[str, list[int]]] = []
        at = 1
        for template in shape:
            width = len(_HOLE_NAMES.findall(template))
            pieces.append((f"{_kind(template)}:{template}", list(range(at, at + 1 + width))))
            at += 1 + width

        def body(entry: _Row, carried: list[str]) -> list[str]:
            upstream = b.load_line("%g", entry(0), "up")
            skipped = b.block
            mask = self.alive
            if skips:
                # `if d_node:` as a branch around the node's steps: a gradient of exactly 0
                # (a relu that is off) costs one test, not its steps (half a relu layer's
                # backward pass, python -m benchmarks: mnist1d_step). Side by side, the steps
                # run where any sample's is nonzero, and add 0 where it is 0.
                steps, after = b.label("steps"), b.label("steps.done")
                nonzero = b.op(f"fcmp une {b.f} {upstream}, {b.c('0.0')}", "nonzero")
                b.emit(f"br i1 {b.any(nonzero)}, label %{steps}, label %{after}")
                b.start(steps)
                if b.width > 1:
                    mask = nonzero if mask is None else b.op(f"and {b.bits} {mask}, {nonzero}")
            err: str | None = carried[0]
            for start, end, as_loop in uniform_runs(pieces, LOOP_AT):
                template = shape[start]
                if not as_loop:
                    place = pieces[start][1][0]

                    def line_at(offset: int | str, place: int = place) -> str:
                        return entry(place + offset if isinstance(offset, int) else
                                     b.op(f"add i64 {place}, {offset}"))

                    err = b.either(err, self.step(line_at, upstream, mask, template))
                    continue
                stride, first = len(pieces[start][1]), pieces[start][1][0]

                def inner(j: str, values: list[str], stride: int = stride, first: int = first,
                          template: str = template, count: int = end - start) -> list[str]:
                    place = b.op(f"add i64 {b.op(f'mul i64 {j}, {stride}')}, {first}")

                    def line_at(offset: int | str) -> str:
                        if isinstance(offset, int):
                            return entry.run(j, first + offset, stride, count)
                        return entry(b.op(f"add i64 {place}, {offset}"))

                    made = self.step(line_at, upstream, mask, template)
                    return [b.either(values[0], made) or b.no]

                err = b.either(err, b.loop(end - start, [(b.bits, b.no)], inner)[0])
            lowerer.hole_at = _no_row
            if skips:
                ran = b.block
                b.emit(f"br label %{after}")
                b.start(after)
                err = b.op(f"phi {b.bits} [{carried[0]}, %{skipped}], [{err or b.no}, %{ran}]",
                           "err")
            return [err or b.no]

        key = self.lines[rows[0][0]].key
        err = self.table_loop(rows, [(b.bits, b.no)], body,
                              f"backward: {len(rows)} x {key}, {len(shape)} steps each\n  ;   "
                              f"d {self.names(rows)}")[0]
        self.err = b.either(self.err, err)

    def step(self, line_at: Callable[[int | str], str], upstream: str, mask: str | None,
             template: str) -> str | None:
        """One step, its target the line line_at(0) gives, then its local's holes (hole h
        at line_at(1 + h); h an i64 value inside a loop of the local's own, at line_at of
        that value + 1): d_target += d_node * local. Returns its error flag. In @sample,
        mask says which samples take it: the others add 0 (a failed sample's, or where d_node
        is 0, as Python's `if d_node:` skips the local, perhaps inf) and flag no error."""
        b, lowerer = self.b, self.lowerer
        target = line_at(0)
        kind = _kind(template)
        err = None
        if kind == "one":
            term = upstream
        elif kind == "minus one":
            term = b.op(f"fneg {b.f} {upstream}")
        else:
            lowerer.hole_at = lambda number: b.load_line("%vals", line_at(
                1 + int(number) if number.isdigit() else b.op(f"add i64 {number}, 1")))
            local, err = lowerer.source(template)
            term = b.op(f"fmul {b.f} {upstream}, {local}", "term")
        if mask is not None:
            term = b.op(f"select {b.bits} {mask}, {b.f} {term}, {b.f} {b.c('0.0')}")
            err = b.both(mask, err)
        old = b.load_line("%g", target, "old")
        b.store_line("%g", target, b.op(f"fadd {b.f} {old}, {term}", "grad"))
        return err

    # ---- the batch: the loop over samples -------------------------------------------------------

    def batch(self) -> list[str]:
        b, plan = self.b, self.plan
        b.lines, b.block = ["entry:"], "entry"
        lines = self.lines
        lanes = b.lanes
        # The captured leaves and the constants: written once, read by every sample.
        rows = [[leaf.line, j] for j, leaf in enumerate(plan.captured)]
        total = double(0.0)
        if rows:
            def put(entry: Any, carried: list[str]) -> list[str]:
                x = b.load_line("%captured", entry(1))
                line = entry(0)
                self.each_lane(lambda _: b.store_line("%vals", line, x))
                return [b.op(f"fadd double {carried[0]}, {x}", "total")]

            total = self.table_loop(rows, [("double", total)], put,
                                    "the captured leaves, read once for the batch")[0]
        bad_captured = b.op(f"fcmp une double {b.op(f'fsub double {total}, {total}')}, 0.0")
        for line_index, number in plan.constants.items():
            for lane in range(lanes):
                b.lane = lane
                b.store_line("%vals", line_index, double(number))
            b.lane = 0
        if self.once:  # an error there is every sample's: each runs eagerly, as in Python
            failed = b.op("call i1 @once(ptr %vals, ptr %tables)", "once_failed")
            bad_captured = b.op(f"or i1 {bad_captured}, {failed}")

            def share(entry: Any, carried: list[str]) -> list[str]:
                line = entry(0)
                x = b.load_line("%vals", line)
                self.each_lane(lambda _: b.store_line("%vals", line, x))
                return []

            self.table_loop([[i] for i in sorted(self.once)], [], share,
                            "the lines computed once, in every lane")
        b.emit("%wants = icmp ne i64 %backward, 0")
        summed = sorted((self.summed() | self.once) & self.assigned)
        if summed:  # the captured leaves' derivatives, added up in place over the samples
            def zero(entry: Any, carried: list[str]) -> list[str]:
                line = entry(0)
                self.each_lane(lambda _: b.store_line("%g", line, double(0.0)))
                return []

            self.table_loop([[c] for c in summed], [], zero, "d out / d leaf = 0")
        inputs = sorted((line.operands[0], i) for i, line in enumerate(lines)
                        if line.key == "input")
        captured_children = [c for c in plan.children if lines[c].key == "leaf"]
        value_children = [c for c in plan.children if lines[c].key == "input"]
        m = len(self.outputs)

        def arrive(k: str) -> str:
            """Sample k's numbers into the current lane's slots; whether they are bad (inf
            or NaN: the arguments' numbers, then their Values' data, as Compiled checks)."""
            base = b.op(f"mul i64 {k}, {plan.slots}", "sample")
            bad = bad_captured
            for lo, hi in ((0, plan.count), (plan.count, plan.slots)):
                if hi > lo:
                    def add(j: str, values: list[str], lo: int = lo) -> list[str]:
                        at = b.op(f"add i64 {base}, {b.op(f'add i64 {j}, {lo}')}")
                        x = b.load_line("%inputs", at)
                        return [b.op(f"fadd double {values[0]}, {x}", "total")]

                    total = b.loop(hi - lo, [("double", double(0.0))], add)[0]
                    difference = b.op(f"fsub double {total}, {total}")
                    bad = b.op(f"or i1 {bad}, {b.op(f'fcmp une double {difference}, 0.0')}")
            if inputs:
                def copy(entry: Any, values: list[str]) -> list[str]:
                    x = b.load_line("%inputs", b.op(f"add i64 {base}, {entry(0)}"))
                    b.store_line("%vals", entry(1), x)
                    return []

                self.table_loop([[slot, i] for slot, i in inputs], [], copy,
                                "the sample's inputs")
            return bad

        def leave(k: str, status: str) -> str:
            """Sample k's status, data and argument Values' derivatives out, from the current
            lane; whether it spoils the sums."""
            ok = b.op(f"icmp eq i64 {status}, 0", "ok")
            pointer = b.op(f"getelementptr inbounds i64, ptr %status, i64 {k}", "p")
            b.emit(f"store i64 {status}, ptr {pointer}")
            for j, out in enumerate(self.outputs):
                at = b.op(f"add i64 {b.op(f'mul i64 {k}, {m}')}, {j}")
                x = b.load_line("%vals", out)
                b.store_line("%data", at, b.op(f"select i1 {ok}, double {x}, double "
                                               f"{double(math.nan)}"))
            if m == 1:
                self.value_gradients(k, b.op(f"and i1 {ok}, %wants", "add"), value_children)
            return b.op(f"icmp eq i64 {status}, 3")

        def block(j: str, carried: list[str]) -> list[str]:
            first = b.op(f"mul i64 {j}, {lanes}", "k")
            ks = [b.op(f"add i64 {first}, {lane}", "k") for lane in range(lanes)]
            # The last block's lanes past the batch run its last sample again, unused.
            last = b.op("sub i64 %n, 1", "last")
            active = [b.op(f"icmp ult i64 {k}, %n", "active") for k in ks]
            reads = [b.op(f"select i1 {a}, i64 {k}, i64 {last}") for a, k in zip(active, ks)]
            bad = self.each_lane(lambda lane: arrive(reads[lane]))
            # A bad sample, or a lane past the batch, takes no backward pass: it must add
            # nothing to the sums.
            sweeps = "undef"
            for lane in range(lanes):
                fine = b.op(f"and i1 {active[lane]}, {b.op(f'xor i1 {bad[lane]}, true')}")
                sweeps = b.op(f"insertelement <{lanes} x i1> {sweeps}, "
                              f"i1 {b.op(f'and i1 %wants, {fine}')}, i32 {lane}")
            ran = b.op(f"call <{lanes} x i64> @sample(ptr %vals, ptr %g, <{lanes} x i1> "
                       f"{sweeps}, ptr %tables)", "ran")
            spoiled = carried[0]
            for lane in range(lanes):
                b.lane = lane
                before = b.block
                out, done = b.label("out"), b.label("out.done")
                b.emit(f"br i1 {active[lane]}, label %{out}, label %{done}")
                b.start(out)
                status = b.op(f"select i1 {bad[lane]}, i64 2, i64 "
                              f"{b.op(f'extractelement <{lanes} x i64> {ran}, i32 {lane}')}",
                              "status")
                spoils = b.op(f"or i1 {spoiled}, {leave(ks[lane], status)}", "spoiled")
                wrote = b.block
                b.emit(f"br label %{done}")
                b.start(done)
                spoiled = b.op(f"phi i1 [{spoiled}, %{before}], [{spoils}, %{wrote}]",
                               "spoiled")
            b.lane = 0
            return [spoiled]

        b.emit(f"; the samples {lanes} at a time")
        blocks = b.op(f"udiv i64 {b.op(f'add i64 %n, {lanes - 1}')}, {lanes}", "blocks")
        spoiled = b.loop(blocks, [("i1", "false")], block)[0]
        if summed:
            # Lane j added up samples j, j + lanes, ...: their sums, in order, into lane 0.
            def merge(entry: Any, values: list[str]) -> list[str]:
                line = entry(0)
                total = b.load_line("%g", line)
                for lane in range(1, lanes):
                    b.lane = lane
                    total = b.op(f"fadd double {total}, {b.load_line('%g', line)}")
                b.lane = 0
                b.store_line("%g", line, total)
                return []

            self.table_loop([[c] for c in summed], [], merge, "the lanes' sums")
        if self.once_tables:
            failed = b.op("call i1 @once_backward(ptr %vals, ptr %g, ptr %tables)", "failed")
            spoiled = b.op(f"or i1 {spoiled}, {b.op(f'and i1 %wants, {failed}')}")
        if m == 1:
            spoiled = self.sums(spoiled, captured_children, len(value_children))
        # status[n]: 2 where the captured leaves are inf or NaN (every sample failed), else
        # 1 where the sums are spoiled.
        code = b.op(f"zext i1 {spoiled} to i64")
        code = b.op(f"select i1 {bad_captured}, i64 2, i64 {code}", "spoiled")
        pointer = b.op("getelementptr inbounds i64, ptr %status, i64 %n", "p")
        b.emit(f"store i64 {code}, ptr {pointer}")
        b.emit("ret void")
        return ["define void @batch(ptr noalias %inputs, i64 %n, ptr noalias %captured, "
                "double %weight, i64 %backward, ptr noalias %data, ptr noalias %status, "
                "ptr noalias %grads, ptr noalias %vgrads, ptr noalias %vals, ptr noalias %g, "
                "ptr noalias %tables) {",
                *b.lines, "}"]

    def sums(self, spoiled: str, captured_children: list[int], width: int) -> str:
        """grads[j] = weight * the sum of d out / d (captured child j); the sums spoiled where
        they, then the argument Values' derivatives, add up to inf or NaN (as the Python
        program checks them) or where a sample's backward pass failed."""
        b = self.b
        total = double(0.0)
        rows = [[c, j] for j, c in enumerate(captured_children) if c in self.assigned]
        if rows:
            def put(entry: Any, carried: list[str]) -> list[str]:
                grad = b.load_line("%g", entry(0))
                b.store_line("%grads", entry(1), b.op(f"fmul double %weight, {grad}"))
                return [b.op(f"fadd double {carried[0]}, {grad}", "total")]

            total = self.table_loop(rows, [("double", total)], put,
                                    "grads = weight * d out / d leaf, summed")[0]
        if width:
            def add(j: str, carried: list[str]) -> list[str]:
                grad = b.load_line("%vgrads", j)
                return [b.op(f"fadd double {carried[0]}, {grad}", "total")]

            total = b.loop(b.op(f"mul i64 %n, {width}"), [("double", total)], add)[0]
        difference = b.op(f"fsub double {total}, {total}")
        bad = b.op(f"and i1 %wants, {b.op(f'fcmp une double {difference}, 0.0')}")
        return b.op(f"or i1 {spoiled}, {bad}", "spoiled")

    def value_gradients(self, k: str, add: str, value_children: list[int]) -> None:
        """value_grads[k, j] = d out / d (argument Value j) where the sample is ok and the
        call wants gradients, else 0."""
        b = self.b
        width = len(value_children)
        if width:
            base = b.op(f"mul i64 {k}, {width}")
            for j, c in enumerate(value_children):
                grad = b.load_line("%g", c) if c in self.assigned else double(0.0)
                b.store_line("%vgrads", b.op(f"add i64 {base}, {j}"),
                             b.op(f"select i1 {add}, double {grad}, double 0.0"))


_HOLE_NAMES = re.compile(r"\b_h\d+\b")


def _tables(groups: dict[tuple[int, Any], list[list[Any]]]
            ) -> list[tuple[bool, list[str], list[list[int]]]]:
    """The backward groups as tables, by depth from the output (then first node): for each,
    whether it skips a gradient of 0, its steps' templates, and its rows (the node, then each
    step's target and its local's holes)."""
    tables = []
    for (_, (skips, shape)), nodes in sorted(groups.items(),
                                             key=lambda g: (g[0][0], g[1][0][0])):
        rows = [[i, *(x for ref, (_, holes) in steps for x in (ref, *holes))]
                for i, steps in nodes]
        tables.append((skips, list(shape), rows))
    return tables


class _Row:
    """A table loop's current row: row(p) is the line at position p (an int or an i64 value),
    read from the table; row.run(k, at, stride, count) the line at position at + k * stride
    of a run of count terms, k an i64 (the run's loop variable)."""

    def __init__(self, b: Builder, table: int, base: str, rows: list[list[int]],
                 steps: dict[tuple[int, int, int], int | None]) -> None:
        self.b, self.table, self.base, self.rows, self.steps = b, table, base, rows, steps

    def __call__(self, p: int | str) -> str:
        return self.b.entry(self.table, self.b.op(f"add i64 {self.base}, {p}"))

    def run(self, k: str, at: int, stride: int, count: int) -> str:
        """Where every row's lines at those positions go up by one step d (a layer's weights
        and inputs, in the order they were made), the row's first line + k * d: one read of
        the table per row, not one per term (the moons step's native call ran a third
        faster, python -m benchmarks: mlp_step). Otherwise each term's line, read."""
        b = self.b
        key = (at, stride, count)
        if key not in self.steps:
            self.steps[key] = _even_step(self.rows, at, stride, count)
        step = self.steps[key]
        if step is None:
            return self(b.op(f"add i64 {b.op(f'mul i64 {k}, {stride}')}, {at}"))
        return b.op(f"add i64 {self(at)}, {b.op(f'mul i64 {k}, {step}')}", "line")


def _even_step(rows: list[list[int]], at: int, stride: int, count: int) -> int | None:
    """d where, in every row, the entries at at + k * stride (k < count) are first + k * d
    (first the row's own, d the same in all rows); else None."""
    if count < 2:
        return 0
    end = at + stride * count
    d = rows[0][at + stride] - rows[0][at]
    for row in rows:
        first = row[at]
        expected = [first] * count if d == 0 else list(range(first, first + d * count, d))
        if row[at:end:stride] != expected:
            return None
    return d


def _no_row(number: str) -> str:
    raise Unsupported("a hole read outside its row")


def _kind(local: str) -> str:
    return {"1.0": "one", "-1.0": "minus one"}.get(local, "product")


# ---- llvmlite and the C math library --------------------------------------------------------

_state: dict[str, Any] = {}
_jit_lock = threading.Lock()


def _binding() -> Any:
    """llvmlite.binding, initialised once; ImportError saying how to install it."""
    if "llvm" not in _state:
        try:
            import llvmlite.binding as llvm  # type: ignore[import-untyped,import-not-found,unused-ignore]
        except ImportError as error:
            raise ImportError('compile: backend="native" needs llvmlite: '
                              'pip install -e ".[native]" (or pip install llvmlite)') from error
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        _state["llvm"] = llvm
    return _state["llvm"]


def _c_library() -> Any:
    if "libm" not in _state:
        if sys.platform == "win32":
            _state["libm"] = ctypes.CDLL("ucrtbase")
        else:
            name = ctypes.util.find_library("m")
            _state["libm"] = ctypes.CDLL(name) if name else ctypes.CDLL(None)
    return _state["libm"]


def _math_symbol(name: str, arity: int) -> str:
    """The C function for math.NAME with arity arguments: a float function of floats in
    Python, of the same name (or C_NAMES's) in the C library; else Unsupported."""
    function = getattr(math, name, None)
    if not callable(function) or arity not in (1, 2) or (arity == 2) != (name in BINARY_MATH):
        raise Unsupported(f"math.{name} with {arity} arguments has no C function to call")
    for probe in (0.5, 1.5, 2.5, -0.5):
        try:
            result = function(*[probe] * arity)
        except (ValueError, OverflowError, ZeroDivisionError):
            continue
        except TypeError:
            break
        if type(result) is float:
            break
        raise Unsupported(f"math.{name} does not return a float")
    else:
        raise Unsupported(f"math.{name} cannot be probed")
    symbol = C_NAMES.get(name, name)
    try:
        address = ctypes.cast(getattr(_c_library(), symbol), ctypes.c_void_p).value
    except AttributeError:
        raise Unsupported(f"the C math library has no {symbol} for math.{name}") from None
    _binding().add_symbol(symbol, address)
    return symbol


def _host_features(llvm: Any) -> str:
    """This processor's features for LLVM ("" where llvmlite cannot tell: a generic CPU's)."""
    try:
        return str(llvm.get_host_cpu_features().flatten())
    except RuntimeError:
        return ""


def _jit(llvm: Any, ir: str, functions: dict[str, int]) -> tuple[Any, int]:
    """Parse, optimise and compile the IR; return the engine and @batch's address."""
    with _jit_lock:
        module = llvm.parse_assembly(ir)
        module.verify()
        # A machine per engine: the engine takes it over.
        # For this machine's processor (its vector width: AVX2 or AVX-512 where it has them),
        # not a generic x86-64 with 2-wide vectors: the code runs where it is compiled.
        machine = llvm.Target.from_default_triple().create_target_machine(
            cpu=llvm.get_host_cpu_name(), features=_host_features(llvm), opt=OPT_LEVEL)
        if OPT_LEVEL > 0:
            options = llvm.create_pipeline_tuning_options(speed_level=OPT_LEVEL)
            builder = llvm.create_pass_builder(machine, options)
            builder.getModulePassManager().run(module, builder)
        engine = llvm.create_mcjit_compiler(module, machine)
        engine.finalize_object()
        return engine, engine.get_function_address("batch")

