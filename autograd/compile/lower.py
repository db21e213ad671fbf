"""Python expressions of the op table, lowered with ``ast`` to LLVM IR text.

The native writer does not know any op's math: it formats an op's ``code`` and ``local_code``
from ``ops.OPS`` exactly as the Python writer does (line ``i`` is the name ``v{i}``), parses the
expression and lowers it here, node by node: arithmetic, comparisons, conditional expressions,
``abs``, ``x ** k``, ``fsum((...))``, ``max``/``min`` of a tuple, and any ``math.NAME(...)`` as a
call of the C math library's function of that name. A new op in the table needs no edit here.

Each lowered expression gives an IR value and an error flag (an ``i1``, or None where it cannot
fail): true where the Python code would raise. The conditions are CPython's own:
- ``math.NAME(x, ...)`` raises where a finite argument gives inf, or a number gives NaN
  (``math.log(0.0)``, ``math.sqrt(-1.0)``, ``math.exp(1000.0)``, ``math.pow(0.0, -1.0)``);
- ``a / b`` raises where b is 0; ``a ** b`` where finite operands give inf or NaN;
- ``fsum`` where finite terms overflow, or inf meets -inf (and, conservatively, wherever an
  inf or NaN term makes the sum inf or NaN: that sample then runs eagerly, to eager's result);
- ``+ - *``, ``abs`` and comparisons never raise: inf and NaN pass through, as in Python.
A conditional expression computes both branches (straight-line code) and keeps only the taken
branch's error, so ``exp(-x) if x >= 0 else ...`` fails only where Python would.
"""

from __future__ import annotations

import ast
import math
import re
import struct
from array import array
from collections.abc import Callable
from typing import Any

# A tuple of fsum with at least this many terms of one shape is a loop over a table of line
# indices instead of straight-line code: a dot of 75 terms is a dozen instructions, not 600.
LOOP_AT = 8
# The lanes of fsum's vector loop (see Lowerer.fsum_loop).
LANES = 4
# math functions whose C function has another name.
C_NAMES = {"gamma": "tgamma"}
# Two-argument math functions the C library has with the same meaning; one-argument ones are
# taken generically (a float function of a float, of the same name in C).
BINARY_MATH = {"pow", "atan2", "copysign", "hypot", "fmod"}
_NAME = re.compile(r"\bv(\d+)\b")
_HOLE = re.compile(r"\b_h(\d+)\b")
_INF = "0x7FF0000000000000"


class Unsupported(Exception):
    """The native writer cannot lower this program; the Python backend runs it instead."""


def double(x: float) -> str:
    """x as an LLVM double constant, exactly (hex: NaN, inf and -0.0 included)."""
    return f"0x{struct.unpack('<Q', struct.pack('<d', float(x)))[0]:016X}"


def line_names(source: str) -> list[int]:
    """The lines a formatted code string reads (its names v0, v1, ...), in order."""
    return [int(m) for m in _NAME.findall(source)]


def template_of(source: str) -> tuple[str, list[int]]:
    """source with each line name replaced by a hole _h0, _h1, ... and the lines in the holes.

    Two terms with one template differ only in the lines they read: a loop over a table of
    those lines computes them all.
    """
    if "v" not in source:  # a number: no lines
        return source, []
    if source[0] == "v" and source[1:].isdigit():  # one line's name: a dot's local
        return "_h0", [int(source[1:])]
    holes: list[int] = []

    def hole(match: re.Match[str]) -> str:
        holes.append(int(match.group(1)))
        return f"_h{len(holes) - 1}"

    return _NAME.sub(hole, source), holes


def relative(source: str) -> tuple[str, list[int]]:
    """A template's piece with its holes renumbered from _h0, and the holes it had."""
    holes: list[int] = []

    def hole(match: re.Match[str]) -> str:
        holes.append(int(match.group(1)))
        return f"_h{len(holes) - 1}"

    return _HOLE.sub(hole, source), holes


def uniform_runs(pieces: list[tuple[str, list[int]]], at_least: int
                 ) -> list[tuple[int, int, bool]]:
    """Split pieces (relative template, holes) into runs (start, end, as a loop): a loop where
    at least at_least pieces in a row share a template and their holes go up evenly (piece k
    reads holes first + k * width + i), so a loop can read them from the row."""
    runs: list[tuple[int, int, bool]] = []
    start = 0
    while start < len(pieces):
        shape, holes = pieces[start]
        width = len(holes)
        end = start + 1
        while end < len(pieces) and pieces[end][0] == shape and width and pieces[end][1] == [
                holes[0] + (end - start) * width + i for i in range(width)] and \
                holes == list(range(holes[0], holes[0] + width)):
            end += 1
        if end - start >= at_least:
            runs.append((start, end, True))
        else:
            runs.extend((k, k + 1, False) for k in range(start, end))
        start = end
    return runs


class Builder:
    """The IR text of one function: instructions, fresh names, and the current block."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.count = 0
        self.block = "entry"
        self.math: dict[str, int] = {}  # C math functions called, name -> arity
        # The tables of line indices, one after another: passed to the code as %tables (data,
        # not IR: the IR stays small, and LLVM need not parse a million numbers).
        self.tables = array("i")
        # How many samples' slots %vals and %g interleave (line k of lane j at k * lanes + j),
        # and the lane load_line and store_line read and write there: see native's SAMPLES.
        self.lanes = 1
        self.lane = 0
        # 1 for scalar code; else each value is a vector of that many samples' (native's
        # @sample): the types and constants below are that width's.
        self.width = 1
        self.vector_math: set[int] = set()  # the widths of the vector fabs called

    def declarations(self) -> list[str]:
        """The declarations the code needs: fabs, and each C math function it calls."""
        return ["declare double @llvm.fabs.f64(double)",
                *(f"declare {kind} @llvm.fabs.{name}({kind})"
                  for name, kind in ((f"v{w}f64", f"<{w} x double>")
                                     for w in sorted(self.vector_math))),
                *(f"declare double @{symbol}({', '.join(['double'] * arity)})"
                  for symbol, arity in sorted(self.math.items()))]

    # ---- the types and constants of the current width --------------------------------------

    @property
    def f(self) -> str:
        """The type of a value: double, or a vector of them."""
        return "double" if self.width == 1 else f"<{self.width} x double>"

    @property
    def bits(self) -> str:
        """The type of a condition or an error flag: i1, or a vector of them."""
        return "i1" if self.width == 1 else f"<{self.width} x i1>"

    @property
    def no(self) -> str:
        return "false" if self.width == 1 else "zeroinitializer"

    @property
    def yes(self) -> str:
        return "true" if self.width == 1 else self.splat("i1", "true")

    @property
    def i64(self) -> str:
        """The type of a status: i64, or a vector of them."""
        return "i64" if self.width == 1 else f"<{self.width} x i64>"

    def integer(self, k: int) -> str:
        return str(k) if self.width == 1 else self.splat("i64", str(k))

    def c(self, literal: str) -> str:
        """A double constant (an LLVM literal such as double(x) gives) at the width."""
        return literal if self.width == 1 else self.splat("double", literal)

    def splat(self, kind: str, literal: str) -> str:
        return "<" + ", ".join([f"{kind} {literal}"] * self.width) + ">"

    def fabs(self, x: str) -> str:
        if self.width == 1:
            return self.op(f"call double @llvm.fabs.f64(double {x})")
        self.vector_math.add(self.width)
        return self.op(f"call {self.f} @llvm.fabs.v{self.width}f64({self.f} {x})")

    def call(self, symbol: str, args: list[str]) -> str:
        """The C function symbol of args: a call, or one per sample at a width."""
        if self.width == 1:
            return self.op(f"call double @{symbol}({', '.join(f'double {x}' for x in args)})")
        out = "undef"
        for lane in range(self.width):
            parts = [self.op(f"extractelement {self.f} {x}, i32 {lane}") for x in args]
            one = self.op(f"call double @{symbol}({', '.join(f'double {x}' for x in parts)})")
            out = self.op(f"insertelement {self.f} {out}, double {one}, i32 {lane}")
        return out

    def any(self, bits: str) -> str:
        """An i1: whether any sample's condition holds (the condition itself at width 1)."""
        if self.width == 1:
            return bits
        packed = self.op(f"bitcast {self.bits} {bits} to i{self.width}")
        return self.op(f"icmp ne i{self.width} {packed}, 0", "any")

    def fresh(self, base: str = "t") -> str:
        self.count += 1
        return f"%{base}.{self.count}"

    def emit(self, text: str) -> None:
        self.lines.append(f"  {text}")

    def op(self, text: str, base: str = "t") -> str:
        name = self.fresh(base)
        self.lines.append(f"  {name} = {text}")
        return name

    def label(self, base: str) -> str:
        self.count += 1
        return f"{base}.{self.count}"

    def start(self, label: str) -> None:
        self.lines.append(f"{label}:")
        self.block = label

    def table(self, rows: list[list[int]]) -> int:
        """Rows of ints (line indices, flags) into the tables; returns where they start."""
        start = len(self.tables)
        for row in rows:
            self.tables.extend(row)
        return start

    def loop(self, count: int | str, carried: list[tuple[str, str]],
             body: Callable[[str, list[str]], list[str]]) -> list[str]:
        """for j in range(count): body(j, the carried values) emits one iteration and returns
        the carried values' next ones; returns the carried values' names after the loop.
        carried: (kind, first value) for each."""
        before = self.block
        head, inside, done = self.label("loop"), self.label("loop.body"), self.label("loop.done")
        self.emit(f"br label %{head}")
        self.start(head)
        self.lines.append("")  # the phis, written once the body is: it gives their next values
        at = len(self.lines) - 1
        j = self.fresh("j")
        names = [self.fresh("carried") for _ in carried]
        more = self.op(f"icmp slt i64 {j}, {count}")
        self.emit(f"br i1 {more}, label %{inside}, label %{done}")
        self.start(inside)
        results = body(j, names)
        next_j = self.op(f"add i64 {j}, 1", "j")
        self.emit(f"br label %{head}")
        self.lines[at] = "\n".join(
            [f"  {j} = phi i64 [0, %{before}], [{next_j}, %{self.block}]"]
            + [f"  {name} = phi {kind} [{first}, %{before}], [{result}, %{self.block}]"
               for name, (kind, first), result in zip(names, carried, results)])
        self.start(done)
        return names

    def entry(self, table: int, at: str) -> str:
        """Entry at (an i64) of the table starting at table, as an i64."""
        at = self.op(f"add i64 {at}, {table}") if table else at
        pointer = self.op(f"getelementptr inbounds i32, ptr %tables, i64 {at}", "p")
        return self.op(f"zext i32 {self.op(f'load i32, ptr {pointer}')} to i64", "line")

    def load_line(self, array: str, index: str | int, base: str = "t") -> str:
        if self.width > 1:  # every sample's value of the line: its lanes, side by side
            return self.op(f"load {self.f}, ptr {self.slot(array, index)}, align 8", base)
        return self.op(f"load double, ptr {self.slot(array, index)}", base)

    def store_line(self, array: str, index: str | int, value: str) -> None:
        if self.width > 1:
            self.emit(f"store {self.f} {value}, ptr {self.slot(array, index)}, align 8")
            return
        self.emit(f"store double {value}, ptr {self.slot(array, index)}")

    def slot(self, array: str, index: str | int) -> str:
        """The address of entry index of array: of the current lane's, in %vals and %g."""
        if self.lanes > 1 and array in ("%vals", "%g"):
            return self.op(f"getelementptr inbounds [{self.lanes} x double], ptr {array}, "
                           f"i64 {index}, i64 {self.lane}", "p")
        return self.op(f"getelementptr inbounds double, ptr {array}, i64 {index}", "p")

    # ---- i1 helpers: None is "false" (cannot fail) ----------------------------------------

    def either(self, a: str | None, b: str | None) -> str | None:
        if a is None or b is None:
            return a if b is None else b
        return self.op(f"or {self.bits} {a}, {b}", "err")

    def both(self, a: str, b: str | None) -> str | None:
        return None if b is None else self.op(f"and {self.bits} {a}, {b}", "err")

    def pick(self, test: str, a: str | None, b: str | None) -> str | None:
        if a is None and b is None:
            return None
        bits = self.bits
        return self.op(f"select {bits} {test}, {bits} {a or self.no}, {bits} {b or self.no}",
                       "err")

    def is_nan(self, x: str) -> str:
        return self.op(f"fcmp uno {self.f} {x}, {x}", "nan")

    def is_finite(self, x: str) -> str:
        return self.op(f"fcmp olt {self.f} {self.fabs(x)}, {self.c(_INF)}", "finite")

    def not_finite(self, x: str) -> str:
        return self.op(f"xor {self.bits} {self.is_finite(x)}, {self.yes}", "nf")


class Lowerer:
    """Lowers one parsed expression at a time into a Builder.

    ``load(k)`` gives line k's value (v{k} in the source); ``holes`` the values of a template's
    holes inside a loop.
    """

    def __init__(self, builder: Builder, load: Callable[[int], str],
                 math_symbol: Callable[[str, int], str]) -> None:
        self.b = builder
        self.load = load
        self.math_symbol = math_symbol  # (math name, arity) -> its C name, or Unsupported
        # A hole's value, from the IR value of its number: the writer reads it from a table.
        self.hole_at: Callable[[str], str] = _no_holes
        # In a loop over a run of terms (fsum_loop), hole `at` of term k, where term k reads
        # holes at + k * stride for k < count: (k, at, stride, count) -> its value. The
        # writer can then compute the line instead of reading it (see native's _Row.run).
        # None: hole_at of the hole's number.
        self.run_hole: Callable[[str, int, int, int], str] | None = None
        self.parsed: dict[str, ast.expr] = {}

    def parse(self, source: str) -> ast.expr:
        tree = self.parsed.get(source)
        if tree is None:
            try:
                tree = ast.parse(source, mode="eval").body
            except SyntaxError as error:
                raise Unsupported(f"cannot parse the code {source!r:.80}") from error
            if len(self.parsed) < 4096:
                self.parsed[source] = tree
        return tree

    def source(self, source: str) -> tuple[str, str | None]:
        """The value of a formatted code string, and its error flag."""
        return self.value(self.parse(source), source)

    # ---- values (doubles) ------------------------------------------------------------------

    def value(self, node: ast.expr, source: str = "") -> tuple[str, str | None]:
        b = self.b
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool):
            return b.c(double(node.value)), None
        if isinstance(node, ast.Name):
            match = _HOLE.fullmatch(node.id)
            if match:
                return self.hole_at(match.group(1)), None
            match = _NAME.fullmatch(node.id)
            if match:
                return self.load(int(match.group(1))), None
            raise Unsupported(f"the code reads the name {node.id!r}")
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == "math" and isinstance(getattr(math, node.attr, None), float):
            return b.c(double(getattr(math, node.attr))), None
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            x, err = self.value(node.operand, source)
            return (b.op(f"fneg {b.f} {x}") if isinstance(node.op, ast.USub) else x), err
        if isinstance(node, ast.BinOp):
            return self.binary(node, source)
        if isinstance(node, ast.IfExp):
            test, test_err = self.test(node.test, source)
            yes, yes_err = self.value(node.body, source)
            no, no_err = self.value(node.orelse, source)
            picked = b.op(f"select {b.bits} {test}, {b.f} {yes}, {b.f} {no}")
            return picked, b.either(test_err, b.pick(test, yes_err, no_err))
        if isinstance(node, ast.Call) and not node.keywords:
            return self.call(node, source)
        raise Unsupported(f"cannot lower {ast.dump(node)[:60]} in {source!r:.80}")

    def binary(self, node: ast.BinOp, source: str) -> tuple[str, str | None]:
        b = self.b
        a, a_err = self.value(node.left, source)
        if isinstance(node.op, ast.Pow):
            return self.power(a, a_err, node.right, source)
        c, c_err = self.value(node.right, source)
        err = b.either(a_err, c_err)
        kind = {ast.Add: "fadd", ast.Sub: "fsub", ast.Mult: "fmul", ast.Div: "fdiv"}.get(
            type(node.op))
        if kind is None:
            raise Unsupported(f"cannot lower the operator {type(node.op).__name__}")
        out = b.op(f"{kind} {b.f} {a}, {c}")
        if kind == "fdiv":  # ZeroDivisionError, for any numerator
            err = b.either(err, b.op(f"fcmp oeq {b.f} {c}, {b.c('0.0')}", "zero"))
        return out, err

    def power(self, a: str, a_err: str | None, exponent: ast.expr,
              source: str) -> tuple[str, str | None]:
        b = self.b
        k = exponent.value if isinstance(exponent, ast.Constant) else None
        if k == 1.0:
            return a, a_err  # pow(x, 1) is x, to the bit
        c, c_err = self.value(exponent, source)
        if k == 2.0:  # one correctly rounded product; pow(x, 2) may differ in the last bit
            out = b.op(f"fmul {b.f} {a}, {a}")
        else:
            b.math["pow"] = 2
            out = b.call("pow", [a, c])
        # Python's float ** raises where finite operands give inf (0 ** -1, an overflow) or NaN
        # (a negative base's fractional power, a complex number in Python: never reached, as
        # the codes call math.pow first).
        finite = b.op(f"and {b.bits} {b.is_finite(a)}, {b.is_finite(c)}")
        err = b.both(finite, b.not_finite(out))
        return out, b.either(b.either(a_err, c_err), err)

    def call(self, node: ast.Call, source: str) -> tuple[str, str | None]:
        b = self.b
        function = node.func
        if isinstance(function, ast.Name) and function.id == "abs" and len(node.args) == 1:
            x, err = self.value(node.args[0], source)
            return b.fabs(x), err
        if isinstance(function, ast.Name) and function.id == "fsum" and len(node.args) == 1 \
                and isinstance(node.args[0], (ast.Tuple, ast.List)):
            return self.fsum(node.args[0].elts, source)
        if isinstance(function, ast.Name) and function.id in ("max", "min") \
                and len(node.args) == 1 and isinstance(node.args[0], (ast.Tuple, ast.List)) \
                and node.args[0].elts:
            # Python's max keeps the first item no later one is greater than (NaN included).
            predicate = "ogt" if function.id == "max" else "olt"
            best, err = self.value(node.args[0].elts[0], source)
            for item in node.args[0].elts[1:]:
                x, x_err = self.value(item, source)
                err = b.either(err, x_err)
                better = b.op(f"fcmp {predicate} {b.f} {x}, {best}")
                best = b.op(f"select {b.bits} {better}, {b.f} {x}, {b.f} {best}")
            return best, err
        if isinstance(function, ast.Attribute) and isinstance(function.value, ast.Name) \
                and function.value.id == "math":
            symbol = self.math_symbol(function.attr, len(node.args))
            args, err = [], None
            for arg in node.args:
                x, x_err = self.value(arg, source)
                args.append(x)
                err = b.either(err, x_err)
            b.math[symbol] = len(args)
            out = b.call(symbol, args)
            # CPython's math functions raise where the C function gives NaN from numbers, or
            # inf from finite numbers (a pole, a domain error, an overflow).
            nan_in: str | None = None
            finite_in: str | None = None
            for x in args:
                nan_x = b.is_nan(x)
                nan_in = nan_x if nan_in is None else b.op(f"or {b.bits} {nan_in}, {nan_x}")
                fin_x = b.is_finite(x)
                finite_in = fin_x if finite_in is None else b.op(
                    f"and {b.bits} {finite_in}, {fin_x}")
            assert nan_in is not None and finite_in is not None
            made_nan = b.op(f"and {b.bits} {b.is_nan(out)}, "
                            f"{b.op(f'xor {b.bits} {nan_in}, {b.yes}')}")
            infinite = b.op(f"fcmp oeq {b.f} {b.fabs(out)}, {b.c(_INF)}")
            made_inf = b.op(f"and {b.bits} {infinite}, {finite_in}")
            return out, b.either(err, b.op(f"or {b.bits} {made_nan}, {made_inf}", "err"))
        raise Unsupported(f"cannot lower the call {ast.dump(function)[:60]} in {source!r:.80}")

    # ---- fsum: a compensated sum, in order -------------------------------------------------

    def fsum(self, terms: list[ast.expr], source: str) -> tuple[str, str | None]:
        """fsum of the terms: Sum2 (Ogita, Rump and Oishi's TwoSum cascade), as accurate as
        summing in twice the precision, so it agrees with math.fsum's exactly rounded sum to
        the last bit or so. A run of terms of one shape is a loop over their holes."""
        state = Sum(self.b)
        pieces = [relative(source[t.col_offset:t.end_col_offset]) for t in terms]
        for start, end, as_loop in uniform_runs(pieces, LOOP_AT):
            if not as_loop:
                x, err = self.value(terms[start], source)
                state.add(x, err)
                continue
            self.fsum_loop(state, pieces[start][0], pieces[start][1][0],
                           len(pieces[start][1]), end - start)
        return state.result()

    def fsum_loop(self, state: Sum, template: str, first: int, width: int, count: int) -> None:
        """Add count terms of one template, term k reading holes first + k * width + i.

        The terms go four at a time into four compensated sums, one per lane of a vector
        (term k to lane k % 4), merged into state after the loop: a compensated sum's
        additions wait for each other, 4 cycles a term in order, and the lanes' do not (the
        MNIST-1D models' weighted sums, most of their forward pass, run twice as fast). Each
        lane, and so their merged sum, is as accurate as summing in twice the precision.

        Where math.fsum raises OverflowError (a prefix of the terms, in order, overflows), the
        lanes might not overflow: the sum is flagged wherever that could happen (the largest
        term times count, or the sum so far, reaches 2**1021), and such a sample runs eagerly.
        """
        b = self.b
        outer = self.hole_at
        blocks = count // LANES
        vector = f"<{LANES} x double>"

        run = self.run_hole

        def term(k: str) -> tuple[str, str | None]:
            base = b.op(f"add i64 {b.op(f'mul i64 {k}, {width}')}, {first}")

            def hole(number: str) -> str:
                if run is not None and number.isdigit():  # one of the term's own holes
                    return run(k, first + int(number), width, count)
                return outer(b.op(f"add i64 {base}, {number}"))

            # A loop inside the term reads its holes (i64 values) through hole_at.
            self.hole_at, self.run_hole = hole, None
            x, err = self.value(self.parse(template), template)
            self.hole_at, self.run_hole = outer, run
            return x, err

        if b.width > 1:  # each sample's terms in order, the samples side by side
            self.fsum_samples(state, term, count)
            return
        def body(j: str, carried: list[str]) -> list[str]:
            s, c, largest, err = carried
            xs = "undef"
            terms_err: str | None = err
            for lane in range(LANES):
                x, x_err = term(b.op(f"add i64 {b.op(f'mul i64 {j}, {LANES}')}, {lane}"))
                xs = b.op(f"insertelement {vector} {xs}, double {x}, i32 {lane}", "xs")
                terms_err = b.either(terms_err, x_err)
            # Sum's error-free addition, lane by lane: the Builder at the vector's width.
            b.width = LANES
            lanes = Sum(b)
            lanes.s, lanes.c = s, c
            lanes.add(xs, None)
            size = b.fabs(xs)
            larger = b.op(f"fcmp ogt {vector} {size}, {largest}")
            largest = b.op(f"select {b.bits} {larger}, {vector} {size}, {vector} {largest}",
                           "largest")
            b.width = 1
            return [lanes.s, lanes.c, largest, terms_err or "false"]

        before = state.s
        s, c, largest, err = b.loop(blocks, [(vector, "zeroinitializer"),
                                             (vector, "zeroinitializer"),
                                             (vector, "zeroinitializer"),
                                             ("i1", state.err or "false")], body)
        state.err = err
        biggest = "0.0"
        for lane in range(LANES):
            state.add(b.op(f"extractelement {vector} {s}, i32 {lane}"), None)
            state.c = b.op(f"fadd double {state.c}, "
                           f"{b.op(f'extractelement {vector} {c}, i32 {lane}')}", "c")
            one = b.op(f"extractelement {vector} {largest}, i32 {lane}")
            biggest = b.op(f"select i1 {b.op(f'fcmp ogt double {one}, {biggest}')}, "
                           f"double {one}, double {biggest}")
        bound = double(2.0 ** 1021)
        so_far = b.op(f"call double @llvm.fabs.f64(double {before})")
        risky = b.op(f"or i1 {b.op(f'fcmp oge double {biggest}, {double(2.0 ** 1021 / count)}')}"
                     f", {b.op(f'fcmp oge double {so_far}, {bound}')}", "err")
        state.err = b.either(state.err, risky)
        for k in range(blocks * LANES, count):  # the terms left over, in order
            x, x_err = term(str(k))
            state.add(x, x_err)

    def fsum_samples(self, state: Sum, term: Callable[[str], tuple[str, str | None]],
                     count: int) -> None:
        """fsum_loop's terms added one after another, each a vector of the samples' terms:
        the samples are the lanes, so their sums wait for no other."""
        b = self.b
        f, bits = b.f, b.bits

        def body(j: str, carried: list[str]) -> list[str]:
            s, c, largest, err = carried
            x, x_err = term(j)
            one = Sum(b)
            one.s, one.c = s, c
            one.add(x, x_err)
            size = b.fabs(x)
            larger = b.op(f"fcmp ogt {f} {size}, {largest}")
            largest = b.op(f"select {bits} {larger}, {f} {size}, {f} {largest}", "largest")
            return [one.s, one.c, largest, b.either(err, one.err) or b.no]

        before = state.s
        state.s, state.c, largest, state.err = b.loop(
            count, [(f, state.s), (f, state.c), (f, b.c("0.0")), (bits, state.err or b.no)], body)
        # As fsum_loop's: flagged wherever an overflow could come out otherwise than math.fsum.
        big = b.op(f"fcmp oge {f} {largest}, {b.c(double(2.0 ** 1021 / count))}")
        far = b.op(f"fcmp oge {f} {b.fabs(before)}, {b.c(double(2.0 ** 1021))}")
        state.err = b.either(state.err, b.op(f"or {bits} {big}, {far}", "err"))

    # ---- conditions (i1) -------------------------------------------------------------------

    def test(self, node: ast.expr, source: str) -> tuple[str, str | None]:
        b = self.b
        if isinstance(node, ast.Compare):
            left, err = self.value(node.left, source)
            result: str | None = None
            for op, right_node in zip(node.ops, node.comparators):
                right, right_err = self.value(right_node, source)
                err = b.either(err, right_err)
                predicate = _PREDICATES.get(type(op))
                if predicate is None:
                    raise Unsupported(f"cannot lower the comparison {type(op).__name__}")
                one = b.op(f"fcmp {predicate} {b.f} {left}, {right}", "cmp")
                result = one if result is None else b.op(f"and {b.bits} {result}, {one}")
                left = right
            assert result is not None
            return result, err
        if isinstance(node, ast.BoolOp):
            # Short-circuit: a later operand's error counts only where Python evaluates it.
            result, err = self.test(node.values[0], source)
            for item in node.values[1:]:
                other, other_err = self.test(item, source)
                if isinstance(node.op, ast.And):
                    err = b.either(err, b.both(result, other_err))
                    result = b.op(f"and {b.bits} {result}, {other}")
                else:
                    err = b.either(err, b.both(b.op(f"xor {b.bits} {result}, {b.yes}"),
                                               other_err))
                    result = b.op(f"or {b.bits} {result}, {other}")
            return result, err
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner, err = self.test(node.operand, source)
            return b.op(f"xor {b.bits} {inner}, {b.yes}"), err
        if isinstance(node, ast.Constant) and type(node.value) is bool:
            return (b.yes if node.value else b.no), None
        x, err = self.value(node, source)  # a number's truth: nonzero, NaN included
        return b.op(f"fcmp une {b.f} {x}, {b.c('0.0')}"), err


_PREDICATES: dict[type, str] = {ast.Lt: "olt", ast.LtE: "ole", ast.Gt: "ogt", ast.GtE: "oge",
                                ast.Eq: "oeq", ast.NotEq: "une"}


def _no_holes(number: str) -> str:
    raise Unsupported(f"a hole (_h{number}) outside a table's row")


class Sum:
    """The running state of a compensated sum: s (the plain sum), c (its rounding errors), and
    the terms' errors."""

    def __init__(self, b: Builder) -> None:
        self.b = b
        self.s, self.c = b.c("0.0"), b.c("0.0")
        self.err: str | None = None

    def add(self, x: str, err: str | None) -> None:
        b = self.b
        # Fast2Sum with the larger operand first: s + x is exactly t + e (Dekker), TwoSum's t
        # and e in three additions and a select instead of six (the moons step's forward pass,
        # nearly all fsum, ran a tenth faster, python -m benchmarks: mlp_step). Where TwoSum's
        # t - s overflows (an operand near the largest float) its e was NaN; this one's is
        # exact, as math.fsum's sum.
        f = b.f
        t = b.op(f"fadd {f} {self.s}, {x}", "s")
        first = b.op(f"fcmp oge {f} {b.fabs(self.s)}, {b.fabs(x)}")
        big = b.op(f"select {b.bits} {first}, {f} {self.s}, {f} {x}")
        small = b.op(f"select {b.bits} {first}, {f} {x}, {f} {self.s}")
        e = b.op(f"fsub {f} {small}, {b.op(f'fsub {f} {t}, {big}')}")
        self.c = b.op(f"fadd {f} {self.c}, {e}", "c")
        self.s = t
        self.err = b.either(self.err, err)

    def result(self) -> tuple[str, str | None]:
        """fsum's value and error. While s is finite every term was (an inf or NaN term keeps
        s inf or NaN): the value is s + c, an error where that overflows (OverflowError).
        Otherwise the plain sum, an error always: exact for finite terms that overflow and
        for inf meeting -inf (ValueError); where an inf or NaN term made it, math.fsum gives
        inf or NaN without raising, and this sample runs eagerly, to the same result."""
        b = self.b
        finite = b.is_finite(self.s)
        compensated = b.op(f"fadd {b.f} {self.s}, {self.c}")
        out = b.op(f"select {b.bits} {finite}, {b.f} {compensated}, {b.f} {self.s}", "fsum")
        return out, b.either(self.err, b.not_finite(out))


def format_code(code: Any, args: list[Any], params: dict[str, Any],
                literal: Callable[[float], str], y: str = "") -> Any:
    """An op's code (a format string or a callable) with its operands' source, as the Python
    writer formats it."""
    if callable(code):
        return code(*args, **params)
    fields = dict(zip("ab" if len(args) == 2 else "x", args))
    fields.update({k: literal(v) for k, v in params.items()})
    if y:
        fields["y"] = y
    return code.format(**fields)
