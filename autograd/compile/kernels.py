"""Elementwise loops as machine code: a few Python assignments run for every index of arrays.

An optimizer's update is one such loop: nn.Adam writes its step for one parameter once, as
assignments of Python expressions (``m = m + rate1 * (g - m)``, ...), and runs them either as
a Python loop or, with llvmlite, as one native call over all the parameters, lowered from the
same expressions by ``lower`` (the ops' code goes the same way). IEEE arithmetic in the same
order, no fast-math: both give the same floats, to the bit.

The native loop reads each array's element i, runs the assignments in order, and writes the
assigned names to output arrays, never to its inputs: where an expression would raise in Python
(``math.sqrt(-1.0)``, a division by 0), the call says so and nothing the caller holds changed.
"""

from __future__ import annotations

import ast
import ctypes
import threading
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .lower import Builder, Lowerer

# (inputs, outputs, constants, n) -> 0, or 1 where an expression would raise in Python.
_KERNEL = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                           ctypes.c_int64)
Assignments = Sequence[tuple[str, str]]


@dataclass
class Kernel:
    """The machine code of one loop, and the names it reads and writes."""

    ir: str
    inputs: tuple[str, ...]  # the names read from arrays, one array each
    constants: tuple[str, ...]  # the names read from the constants, the same at every index
    outputs: tuple[str, ...]  # the names assigned, in order of first assignment
    function: Any = field(repr=False)
    engine: Any = field(repr=False)  # the JIT's engine: the machine code lives as long as it

    def run(self, inputs: Sequence[array[float]], constants: Sequence[float]) -> \
            list[array[float]] | None:
        """The outputs (one array of doubles per output name) of the loop over every index of
        the inputs (arrays of doubles of one length); None where an expression would raise in
        Python for some index. Every argument is checked before the native code runs."""
        if len(inputs) != len(self.inputs) or len(constants) != len(self.constants):
            raise ValueError(f"kernel: needs {len(self.inputs)} arrays and "
                             f"{len(self.constants)} constants, got {len(inputs)} and "
                             f"{len(constants)}")
        for x in inputs:
            if not (isinstance(x, array) and x.typecode == "d"):
                raise TypeError(f"kernel: inputs must be arrays of doubles, got "
                                f"{type(x).__name__}")
        # The native code runs without the GIL: a memoryview pins each input for the call,
        # so another thread cannot resize it (BufferError there) and move it under the code.
        pins = [memoryview(x) for x in inputs]
        try:
            lengths = {len(x) for x in inputs}
            if len(lengths) != 1:
                raise ValueError(f"kernel: the arrays must have one length, got "
                                 f"{sorted(lengths)}")
            n = lengths.pop()
            outputs = [array("d", bytes(8 * n)) for _ in self.outputs]
            values = array("d", [float(c) for c in constants] or [0.0])
            # Keep every buffer alive for the call: the addresses below point into them.
            pointers = (ctypes.c_void_p * max(len(inputs), 1))(
                *[x.buffer_info()[0] for x in inputs])
            written = (ctypes.c_void_p * max(len(outputs), 1))(
                *[x.buffer_info()[0] for x in outputs])
            if n and self.function(ctypes.addressof(pointers), ctypes.addressof(written),
                                   values.buffer_info()[0], n):
                return None
            return outputs
        finally:
            for pin in pins:
                pin.release()


def python_loop(assignments: Assignments, inputs: Sequence[str],
                constants: Sequence[str]) -> str:
    """The body of the same loop in Python: the assignments as statements, in order (the
    caller binds the inputs and constants as locals first)."""
    check(assignments, inputs, constants)
    return "\n".join(f"{name} = {expression}" for name, expression in assignments)


def check(assignments: Assignments, inputs: Sequence[str], constants: Sequence[str]) -> None:
    """ValueError unless every name an expression reads is an input, a constant, ``math`` or
    a name assigned before it."""
    known = {*inputs, *constants}
    for name, expression in assignments:
        for node in ast.walk(ast.parse(expression, mode="eval")):
            if isinstance(node, ast.Name) and node.id not in known and node.id != "math":
                raise ValueError(f"kernel: {expression!r} reads {node.id!r}, which is "
                                 "neither an input, a constant nor assigned before")
        known.add(name)


_cache: dict[tuple[Any, ...], Kernel] = {}
_cache_lock = threading.Lock()


def write_kernel(assignments: Assignments, inputs: Sequence[str],
                 constants: Sequence[str]) -> Kernel:
    """Return the loop as machine code (one per distinct loop, kept for the process).

    Raises ImportError without llvmlite, and ``lower.Unsupported`` for an expression it
    cannot lower.
    """
    key = (tuple(assignments), tuple(inputs), tuple(constants))
    with _cache_lock:
        kernel = _cache.get(key)
        if kernel is None:
            kernel = _cache[key] = _write(assignments, tuple(inputs), tuple(constants))
    return kernel


def _write(assignments: Assignments, inputs: tuple[str, ...],
           constants: tuple[str, ...]) -> Kernel:
    from .native import _binding, _jit, _math_symbol

    check(assignments, inputs, constants)
    binding = _binding()
    b = Builder()
    slots: dict[str, int] = {}  # name -> its slot: the Lowerer reads slot k as v{k}
    current: dict[int, str] = {}  # slot -> its IR value at this point of the loop's body
    lowerer = Lowerer(b, lambda k: current[k], _math_symbol)
    outputs = tuple(dict.fromkeys(name for name, _ in assignments))
    for name in (*inputs, *constants, *outputs):
        slots.setdefault(name, len(slots))
    b.lines, b.block = ["entry:"], "entry"

    def pointer(array_of: str, j: int, base: str) -> str:
        at = b.op(f"getelementptr inbounds ptr, ptr {array_of}, i64 {j}")
        return b.op(f"load ptr, ptr {at}", base)

    arrays_in = [pointer("%inputs", j, "in") for j in range(len(inputs))]
    arrays_out = [pointer("%outputs", j, "out") for j in range(len(outputs))]
    values = {name: b.load_line("%constants", j, "c") for j, name in enumerate(constants)}

    def body(i: str, carried: list[str]) -> list[str]:
        current.clear()
        current.update({slots[name]: value for name, value in values.items()})
        for name, at in zip(inputs, arrays_in):
            current[slots[name]] = b.load_line(at, i, "x")
        err: str | None = carried[0]
        for name, expression in assignments:
            value, failed = lowerer.source(_renamed(expression, slots))
            current[slots[name]] = value
            err = b.either(err, failed)
        for name, at in zip(outputs, arrays_out):
            b.store_line(at, i, current[slots[name]])
        return [err or "false"]

    err = b.loop("%n", [("i1", "false")], body)[0]
    b.emit(f"ret i64 {b.op(f'zext i1 {err} to i64')}")
    ir = "\n".join(["; An elementwise loop written by ag.compile's kernels: "
                    + "; ".join(f"{name} = {expression}" for name, expression in assignments),
                    *b.declarations(), "",
                    "define i64 @batch(ptr noalias %inputs, ptr noalias %outputs, "
                    "ptr noalias %constants, i64 %n) {", *b.lines, "}", ""])
    engine, address = _jit(binding, ir, b.math)
    return Kernel(ir, inputs, constants, outputs, _KERNEL(address), engine)


def _renamed(expression: str, slots: dict[str, int]) -> str:
    """The expression with every name but ``math`` written v{slot}, as the Lowerer reads."""

    class Rename(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:  # noqa: N802 - ast's visitor name
            if node.id == "math":
                return node
            return ast.copy_location(ast.Name(id=f"v{slots[node.id]}", ctx=node.ctx), node)

    return ast.unparse(Rename().visit(ast.parse(expression, mode="eval")))


__all__ = ["Kernel", "check", "python_loop", "write_kernel"]

