"""ag.compile's code writer: a traced graph, as lines, becomes one Python function.

The function runs a batch of samples, one after another: for each it reads the sample's
inputs, computes every node's data (one line per op, from the op's code in ops.OPS), checks
the guards, then sweeps back (one line per edge, each a chain-rule step d_child += d_node *
local). The derivatives with respect to the captured leaves (a model's parameters) add up
over the samples in the function's locals; one call runs the whole batch. Nodes that read no
argument (a penalty on the parameters) are the same for every sample: they are computed once
before the loop, their gradients add up over the samples, and their steps come once after it.
"""

from __future__ import annotations

import builtins
import keyword
import linecache
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from .. import ops
from ..value import Value
from .tracing import EAGER, OK, BatchResult, Leaf, Line, Plan, flat_operands, not_finite

# The generated function: (inputs, n, captured leaves' data, with backward) -> (data, status,
# each captured child's derivative summed over the samples, the argument Values' derivatives
# per sample, each output's derivatives per sample when there are several outputs).
BatchFunction = Callable[[Sequence[float], int, Sequence[float], bool],
                         tuple[list[float], list[int], tuple[float, ...], list[float],
                               list[tuple[float, ...]]]]
# A node with this many steps in the backward pass skips them all when its gradient is 0.
SKIP_AT = 3
# Short names for nn's module paths, so a line stays readable: layers.0.neurons.3.z -> L0_n3_z.
ABBREVIATIONS = {"layers": "L", "neurons": "n"}


class Retrace(Exception):
    """Raised by a guard in the generated code: this sample must be traced again."""


@dataclass
class Program:
    """The generated code of one trace, and what a call gives it and makes of its result."""

    # The code meets inf and NaN inputs unchecked: its callers look for them first.
    checks_finite: ClassVar[bool] = False
    reads_packed: ClassVar[bool] = False  # it reads a list of floats

    source: str
    function: BatchFunction
    captured: list[Value]  # read at every call, in the code's order
    captured_children: tuple[Value, ...]  # those the result depends on: the node's children
    value_children: tuple[int, ...]  # which of the call's argument Values are children
    slots: int  # numbers per sample in the inputs
    outputs: int  # how many Values fn returns
    # With several outputs, each one's children: (argument-Value positions, captured leaves),
    # as local_grads gives their derivatives.
    children_of: list[tuple[tuple[int, ...], tuple[Value, ...]]]
    backward: bool  # whether the code has the backward sweeps (else it runs only without)

    def run_batch(self, inputs: Sequence[float], n: int, captured: Sequence[float],
                  weight: float, backward: bool) -> BatchResult:
        """Run n samples (inputs sample-major) through the code: see BatchResult."""
        assert self.backward or not backward, "a forward-only program asked for gradients"
        try:
            data, status, grads, value_grads, local_grads = self.function(
                inputs, n, captured, backward)
        except (ArithmeticError, ValueError):
            pass  # a backward pass raised (the code, not the rule: sqrt's slope at 0)
        else:
            if not backward:
                return BatchResult(data, status)
            if not (not_finite(grads) or value_grads and not_finite(value_grads) or local_grads
                    and not_finite([g for sample in local_grads for g in sample])):
                summed = [weight * g for g in grads] if weight != 1.0 else list(grads)
                if len(local_grads) + len(value_grads) and status.count(OK) < n:
                    # The code kept only the OK samples' derivatives: put each in its place.
                    value_grads = _spread(value_grads, status, len(self.value_children), 0.0)
                    local_grads = _spread(local_grads, status, self.outputs, ())
                return BatchResult(data, status, summed, value_grads, local_grads)
        # One sample's derivatives raised or came out inf or NaN, spoiling the sums: run the
        # samples one at a time, so that sample alone goes to eager code.
        return self._one_at_a_time(inputs, n, captured, weight)

    def _one_at_a_time(self, inputs: Sequence[float], n: int, captured: Sequence[float],
                       weight: float) -> BatchResult:
        data: list[float] = []
        status: list[int] = []
        value_grads: list[float] = []
        local_grads: list[tuple[float, ...]] = []
        sums = [0.0] * len(self.captured_children) if self.outputs == 1 else []
        slots, per_sample = self.slots, len(self.value_children)
        for k in range(n):
            try:
                out = self.function(inputs[k * slots:(k + 1) * slots], 1, captured, True)
                bad = not_finite([*out[2], *out[3], *(g for s in out[4] for g in s)])
            except (ArithmeticError, ValueError):
                out, bad = None, True
            if out is None or bad or out[1][0] != OK:
                data += [math.nan] * self.outputs
                status.append(EAGER if out is None or bad else out[1][0])
                value_grads += [0.0] * per_sample
                local_grads += [()] * (self.outputs if self.outputs > 1 else 0)
                continue
            data += out[0]
            status.append(OK)
            value_grads += out[3]
            local_grads += out[4]
            sums = [s + weight * g for s, g in zip(sums, out[2])]
        return BatchResult(data, status, sums, value_grads, local_grads)


def _spread(items: list[Any], status: list[int], width: int, filler: Any) -> list[Any]:
    """items, width per OK sample, with width fillers in the place of each other sample."""
    if not items:
        return items
    spread: list[Any] = []
    taken = 0
    for state in status:
        if state == OK:
            spread += items[taken:taken + width]
            taken += width
        else:
            spread += [filler] * width
    return spread


def write_program(plan: Plan, name: str, filename: str, backward: bool = True) -> Program:
    """Return the Program for plan: one Python function that runs a batch of samples, each
    through the forward pass, the guards, then (if backward) the backward sweep.

    Without backward it is the forward pass alone, for calls that need no gradients; with
    several outputs its lines are then the first lines of the full program.
    """
    lines, count, children = plan.lines, plan.count, plan.children
    captured, constants, guards = plan.captured, plan.constants, plan.guards
    several = len(plan.outputs) > 1
    writer = _Writer(lines, constants, count, plan.slots, accumulate=not several,
                     invariant=plan.invariant)
    # One output's derivatives with respect to the captured leaves add up over the samples,
    # and so do those of the lines computed once for the batch.
    summed = [i for i in children if lines[i].key == "leaf"] if backward and not several else []
    hoisted = [i for i in plan.sweep if i in plan.invariant] if backward else []
    body = writer.prologue(captured, summed, hoisted)
    body += writer.loop()
    sample = writer.forward(guards, plan.outputs, backward)
    if backward and several:  # each output's sweep, its derivatives kept per sample
        for sweep, its_children in zip(plan.sweeps, plan.children_of):
            steps, grads = writer.backward(sweep, its_children)
            sample += [*steps, "local_grads.append((", *_rows(grads), "))"]
    elif backward:
        steps, grads = writer.backward(plan.sweep,
                                       [i for i in children if lines[i].key == "input"])
        sample += [*steps, *(["value_grads += (", *_rows(grads), ")"] if grads else [])]
    body += [f"    {line}" for line in sample]
    if hoisted:
        body += writer.once_backward(hoisted)
    body += ["return data, status, (", *_rows(writer.names_of(summed)),
             "), value_grads, local_grads"]
    function_name = _identifier(name) or "compiled"
    if function_name in _RESERVED or hasattr(builtins, function_name):
        function_name += "_"
    header = (f"# Written by ag.compile from {name}: {len(lines)} nodes, "
              f"{len(guards)} guards{'' if backward else '; the forward pass only'}.\n"
              f"def {function_name}(inputs, n, captured, backward=True):\n")
    source = header + "".join(f"    {line}\n" for line in body)
    code = compile(source, filename, "exec")
    # linecache: a traceback through the code shows its lines.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict[str, Any] = {"math": math, "fsum": math.fsum, "ops": ops,
                                 "Retrace": Retrace}
    exec(code, namespace)
    # Held from here on: the code reads them at every call.
    held: list[Value] = [value for leaf in captured if (value := leaf.ref()) is not None]
    by_line = {leaf.line: value for leaf, value in zip(captured, held)}

    def split(children: list[int]) -> tuple[tuple[int, ...], tuple[Value, ...]]:
        return (tuple(lines[i].operands[0] - count for i in children if lines[i].key == "input"),
                tuple(by_line[i] for i in children if lines[i].key == "leaf"))

    value_children, captured_children = split(children)
    return Program(source, namespace[function_name], held, captured_children, value_children,
                   plan.slots, len(plan.outputs), [split(c) for c in plan.children_of], backward)


class _Writer:
    """Names every line, then writes the function's statements."""

    def __init__(self, lines: list[Line], constants: dict[int, float], count: int,
                 slots: int, accumulate: bool, invariant: set[int]) -> None:
        self.lines, self.constants, self.count, self.slots = lines, constants, count, slots
        self.invariant = invariant  # the lines computed once for the batch
        # One output: the captured leaves' derivatives add up over the samples, in place.
        self.accumulate = accumulate
        self.names: list[str] = []
        self.taken: set[str] = set()
        self.counts: dict[str, int] = {}  # base name -> the number its next name starts from
        for line in lines:
            self.names.append(self.unique(_identifier(line.label) or (
                "leaf" if line.key in ("leaf", "input") else line.key)))
        # Each line's source as an operand (a constant's is its number) and whether it gets a
        # gradient (the numbers do not: constants and the arguments' numbers).
        self.sources = [_literal(constants[i]) if i in constants else self.names[i]
                        for i in range(len(lines))]
        self.grad_needed = [i not in constants if line.key == "leaf"
                            else line.key != "input" or line.operands[0] >= count
                            for i, line in enumerate(lines)]
        self.groups: dict[tuple[Any, ...], str] = {}  # a vector op's call, by op and operands
        self.rule_locals: dict[str, str] = {}  # node name -> the name of its rule's locals

    def unique(self, base: str) -> str:
        """A new name from base: not taken, not a name the code uses, and, with d_ before it
        (its gradient's name), not taken either."""
        if base in _RESERVED or hasattr(builtins, base) or base.startswith("d_"):
            base = f"v_{base}"  # a node named abs, sum or d_x must not hide another name
        # Numbered from where this base's last name left off: a graph repeats names a lot.
        k = self.counts.get(base, 0)
        name = base if k == 0 else f"{base}_{k}"
        while name in self.taken or f"d_{name}" in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.counts[base] = k + 1
        self.taken.update((name, f"d_{name}"))
        return name

    def operand(self, ref: Any) -> str:
        """The source of an operand: a line's name, or a number (a constant) as a literal."""
        if type(ref) is int:
            return self.sources[ref]
        return _literal(ref)

    def names_of(self, indices: list[int]) -> list[str]:
        return [f"d_{self.names[i]}" for i in indices]

    def prologue(self, captured: list[Leaf], accumulators: list[int],
                 hoisted: list[int]) -> list[str]:
        body = []
        if captured:
            body.append("# Values the function reads besides its arguments (parameters)")
            body += _unpack([self.names[leaf.line] for leaf in captured], "captured")
        if self.invariant:
            # A math error here leaves the function: run_batch then tries each sample alone,
            # each fails the same way, and each runs eagerly, as in the loop.
            body.append("# nodes that read no argument: the same for every sample, so once")
            for i in sorted(self.invariant):
                body += self._forward_lines(i, self.lines[i])
        accumulators = accumulators + hoisted
        if accumulators:
            body.append("# d result / d parameter" + (" (and / d node computed once)"
                                                      if hoisted else "")
                        + ", summed over the samples")
            names = self.names_of(accumulators)
            body += [" = ".join([*names[k:k + 6], "0.0"]) for k in range(0, len(names), 6)]
        body.append("data, status, value_grads, local_grads = [], [], [], []")
        return body

    def loop(self) -> list[str]:
        """The loop over the samples, and the unpacking of one sample's inputs."""
        names = ["_"] * self.slots  # "_" for an argument the function does not use
        for i, line in enumerate(self.lines):
            if line.key == "input":
                names[line.operands[0]] = self.names[i]
        slots = self.slots
        if not slots:
            return ["for _sample in range(n):"]
        rows = [", ".join(names[k:k + 6]) + "," for k in range(0, slots, 6)]
        unpack = ([f"    {rows[0]} = inputs[k:k + {slots}]"] if len(rows) == 1 else
                  [f"    ({rows[0]}", *(f"     {row}" for row in rows[1:-1]),
                   f"     {rows[-1]}) = inputs[k:k + {slots}]"])
        return [f"for k in range(0, n * {slots}, {slots}):  # one sample at a time",
                "    # the sample's inputs: the numbers and Values of its arguments", *unpack]

    def forward(self, guards: list[tuple[int, str, Any, bool]], outputs: list[int],
                backward: bool) -> list[str]:
        checks: dict[int, list[str]] = {}
        for a, symbol, b, outcome in guards:
            after = max(a, b) if isinstance(b, int) else a
            test = f"{self.operand(a)} {symbol} {self.operand(b)}"
            if symbol == "==" and not isinstance(b, int):
                test = _same_number(self.operand(a), b)  # float(x): this very number
            checks.setdefault(after, []).append(
                f"if {'not ' if outcome else ''}{test}: raise Retrace  # guard")
        body = ["# forward pass; a guard, `if ...: raise Retrace`, sends a sample on which a",
                "# comparison made while tracing comes out otherwise back to be traced again"]
        body += checks.pop(-1, [])
        section = None
        for i, line in enumerate(self.lines):
            if line.key not in ("input", "leaf") and i not in self.invariant:
                section = self._section(body, line.label, section)
                body += self._forward_lines(i, line)
            body += checks.get(i, [])
        results = [self.operand(i) for i in outputs]
        for result in dict.fromkeys(results):
            body.append(f"if {result} - {result} != 0.0: raise FloatingPointError  "
                        "# inf or NaN")
        nans = ", ".join(["math.nan"] * len(outputs))
        return ["try:", *(f"    {line}" for line in body),
                "except Retrace:  # a comparison came out otherwise: trace this sample again",
                f"    data += ({nans},)",
                "    status.append(1)",
                "    continue",
                "except (ArithmeticError, ValueError):  # a math error, inf or NaN: run this",
                f"    data += ({nans},)  # sample eagerly (which raises eager's error)",
                "    status.append(2)",
                "    continue",
                f"data += ({', '.join(results)},)",
                "status.append(0)",
                *(["if not backward:", "    continue"] if backward else [])]

    def _section(self, body: list[str], label: str, current: str | None) -> str | None:
        """Add a comment where the module path of the labels changes: one per layer."""
        parts = label.split(".")
        path = ".".join(parts[:2]) if len(parts) > 2 else ""
        path = "".join(ch if ch.isprintable() else "?" for ch in path)
        if path != current and path:
            body.append(f"# {path}")
        elif not path and current:
            body.append("# the rest")
        return path

    def _forward_lines(self, i: int, line: Line) -> list[str]:
        """The statement computing line i's node (two for a vector op's first output)."""
        op = ops.OPS[line.key]
        name = self.names[i]
        args = self._arguments(line)
        if op.code is None:  # no code in the table: a call of the op's rule
            call = f"ops.{op.rule.__name__}({', '.join(_sequence(a) for a in args)}" + "".join(
                f", {k}={_literal(v)}" for k, v in line.params.items() if k != "i") + ")"
            if "i" not in line.params:
                return [f"{name}, {self._locals_name(name)} = {call}"]
            # One output of a vector op (softmax): the call is written once, at the first.
            key = (line.key, *map(str, args))
            first = [] if key in self.groups else [f"{self._group(key, name)} = {call}"]
            return [*first, f"{name}, {self._locals_name(name)} = "
                            f"{self.groups[key]}[{line.params['i']}]"]
        if callable(op.code):
            return [f"{name} = {op.code(*args, **line.params)}"]
        return [f"{name} = {op.code.format(**self._fields(line, args))}"]

    def _group(self, key: tuple[Any, ...], name: str) -> str:
        self.groups[key] = self.unique(f"{name}_all")
        return self.groups[key]

    def _locals_name(self, name: str) -> str:
        """The name of the local derivatives a rule's call returns for the node name."""
        if name not in self.rule_locals:
            self.rule_locals[name] = self.unique(f"{name}_locals")
        return self.rule_locals[name]

    def _arguments(self, line: Line) -> list[Any]:
        # Written once per line: the forward and the backward pass both need them.
        if line.arguments is None:
            operand = self.operand
            line.arguments = [[operand(r) for r in o] if type(o) is list else operand(o)
                              for o in line.operands]
        return line.arguments

    def _fields(self, line: Line, args: list[Any], name: str = "") -> dict[str, str]:
        fields = dict(zip("ab" if len(args) == 2 else "x", args))
        fields.update({k: _literal(v) for k, v in line.params.items()})
        if name:
            fields["y"] = name
        return fields

    def _locals(self, i: int, line: Line) -> list[str]:
        """Each operand's local derivative, as source, in the order of the flat operands."""
        op = ops.OPS[line.key]
        args = self._arguments(line)
        name = self.names[i]
        count = sum(len(a) if isinstance(a, list) else 1 for a in args)
        if op.code is None:
            return [f"{self._locals_name(name)}[{j}]" for j in range(count)]
        if callable(op.local_code):  # an n-ary op's: {y} is the node's output
            return [code.replace("{y}", name) for code in op.local_code(*args, **line.params)]
        fields = self._fields(line, args, name)
        return [code.format(**fields) for code in op.local_code]

    def backward(self, sweep: list[int], children: list[int]) -> tuple[list[str], list[str]]:
        """The backward sweep from sweep[0], and the names of the derivatives of children
        (those it does not add up in place over the samples)."""
        output = sweep[0]
        body = ["# backward pass: d_n is d result / d n, and each line one step of the chain",
                "# rule, d_child += d_node * (d node / d child); `if d_n:` skips the steps of a",
                "# gradient that is exactly 0"]
        # The captured leaves' derivatives are sums over the samples: always added to, as
        # are those of the lines computed once (whose own steps come after the loop).
        summed = {i for i, line in enumerate(self.lines)
                  if self.accumulate and line.key == "leaf" and self.grad_needed[i]}
        assigned = summed | self.invariant
        body.append(f"d_{self.names[output]} {'+=' if output in assigned else '='} 1.0")
        assigned.add(output)
        section = None
        for i in sweep:
            line = self.lines[i]
            if line.key in ("input", "leaf") or i in self.invariant:
                continue
            section = self._section(body, line.label, section)
            body += self._steps(i, line, assigned)
        return body, [f"d_{self.names[i]}" if i in assigned else "0.0" for i in children]

    def once_backward(self, hoisted: list[int]) -> list[str]:
        """After the loop: the steps of the lines computed once, each from its gradient
        summed over the samples (in the sweep's order: a node's sum is final when it comes).
        Their targets are such lines or captured leaves, always added to."""
        body = ["# the nodes computed once: their steps, from their gradients summed over the "
                "samples"]
        assigned = set(range(len(self.lines)))
        for i in hoisted:
            body += self._steps(i, self.lines[i], assigned)
        return ["if backward:", *(f"    {line}" for line in body)]

    def _steps(self, i: int, line: Line, assigned: set[int]) -> list[str]:
        """Node i's steps, d_child += d_node * local (= for a child's first), each child
        added to assigned; with SKIP_AT or more, skipped where d_node is exactly 0."""
        upstream = f"d_{self.names[i]}"
        flat = flat_operands(line.operands)
        steps, first = [], []
        for ref, local in zip(flat, self._locals(i, line)):
            if type(ref) is not int or not self.grad_needed[ref]:
                continue
            target = f"d_{self.names[ref]}"
            term = (upstream if local == "1.0" else f"-{upstream}" if local == "-1.0"
                    else f"{upstream} * {_parenthesized(local)}")
            steps.append(f"{target} {'+=' if ref in assigned else '='} {term}")
            if ref not in assigned:
                first.append(target)
            assigned.add(ref)
        if len(steps) < SKIP_AT:
            return steps
        # A gradient of exactly 0 (behind a ReLU that is off, a hinge that is inactive)
        # adds nothing: skip its steps, as a person tuning this by hand would.
        body = [f"if {upstream}:", *(f"    {step}" for step in steps)]
        if first:
            body += ["else:", f"    {' = '.join(first)} = 0.0"]
        return body


def _rows(names: list[str], width: int = 6) -> list[str]:
    """The items of a tuple written over several lines, width a line."""
    return [f"    {', '.join(names[k:k + width])}," for k in range(0, len(names), width)]


def _same_number(x: str, number: float) -> str:
    """A test that x is number itself: NaN is NaN, and -0.0 is not 0.0."""
    if math.isnan(number):
        return f"({x} != {x})"
    if number == 0.0:
        return f"({x} == 0.0 and math.copysign(1.0, {x}) == {math.copysign(1.0, number)!r})"
    return f"{x} == {_literal(number)}"


def _unpack(names: list[str], source: str, width: int = 6) -> list[str]:
    lines = []
    for start in range(0, len(names), width):
        chunk = names[start:start + width]
        lines.append(f"{', '.join(chunk)}, = {source}[{start}:{start + len(chunk)}]")
    return lines


def _sequence(arg: Any) -> str:
    return f"({''.join(a + ', ' for a in arg)})" if isinstance(arg, list) else str(arg)


def _literal(x: float) -> str:
    """A number as Python source that evaluates to exactly that float."""
    if math.isnan(x):
        return "math.nan"
    if math.isinf(x):
        return "math.inf" if x > 0 else "(-math.inf)"
    text = repr(float(x))
    return f"({text})" if text.startswith("-") else text


_SIMPLE = re.compile(r"^[\w.\[\]]+$")


def _parenthesized(code: str) -> str:
    return code if _SIMPLE.match(code) or code.startswith("(") and code.endswith(")") \
        and code.count("(") == 1 else f"({code})"


def _identifier(label: str) -> str:
    """label as a Python name: nn's paths shortened, other characters as underscores."""
    if not label:
        return ""
    parts: list[str] = []
    for part in label.split("."):
        if part.isdigit() and parts:
            parts[-1] += part
        else:
            parts.append(ABBREVIATIONS.get(part, part))
    # NFKC first, as Python reads names (w₁ is w1), then ASCII only: 𝑥 and x are one name.
    name = re.sub(r"[^0-9A-Za-z_]", "_", unicodedata.normalize("NFKC", "_".join(parts)))
    if not name or name[0].isdigit() or keyword.iskeyword(name):
        name = f"v_{name}"
    return name


# Names the generated code itself uses.
_RESERVED = {"inputs", "captured", "backward", "math", "fsum", "ops", "_", "n", "k", "data",
             "status", "value_grads", "local_grads", "Retrace", "_sample"}
