"""The native backend: a traced Plan as machine code gives the Python program's data,
gradients and statuses, sample by sample, and no input can crash the interpreter."""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sequence
from typing import Any

import pytest

pytest.importorskip("llvmlite", reason="the native backend needs llvmlite: "
                                       'pip install -e ".[native]"')

from hypothesis import given, settings  # noqa: E402
from strategies import CASES, Dag, OpCase, dags, tame  # noqa: E402

import autograd as ag  # noqa: E402
from autograd import Value, ops  # noqa: E402
from autograd.compile import (
    native,  # noqa: E402
    tracing,  # noqa: E402
)
from autograd.compile.python import write_program  # noqa: E402
from autograd.compile.tracing import (  # noqa: E402
    Line,
    Plan,
    argument_names,
    lines_of,
    make_plan,
    placeholders_of,
)
from autograd.mode import _mode  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---- helpers: a Plan, the Python program's batch, and the comparison --------------------------


def _plan(fn: Callable[..., Value], *args: Any) -> Plan:
    """fn traced on args, as Compiled._trace does it."""
    placeholders: list[Value] = []
    values: list[tuple[Value, str]] = []
    proxies: dict[int, Value] = {}
    traced = tuple(placeholders_of(arg, name, placeholders, values, proxies)
                   for arg, name in zip(args, argument_names(fn, len(args))))
    previous = _mode.enabled, _mode.comparisons
    _mode.enabled, _mode.comparisons = True, []
    try:
        result = fn(*traced)
        comparisons = _mode.comparisons
    finally:
        _mode.enabled, _mode.comparisons = previous
    results = list(result) if isinstance(result, (list, tuple)) else [result]
    lines, leaves, guards, sweeps = lines_of(results, comparisons, placeholders, values)
    del result, results, comparisons, traced, proxies
    return make_plan("fn", lines, leaves, guards, sweeps, len(placeholders),
                     len(placeholders) + len(values))


def _python_batch(plan: Plan, rows: Sequence[Sequence[float]], captured: Sequence[float],
                  weight: float, backward: bool) -> tracing.BatchResult:
    """What run_batch must give: the Python program's run_batch."""
    program = write_program(plan, "fn", "<test_native>")
    return program.run_batch([x for row in rows for x in row], len(rows), list(captured),
                             weight, backward)


def _close(a: float, b: float, rel: float = 1e-12) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b)) or abs(a - b) <= rel * max(abs(a), abs(b))


def _check(plan: Plan, rows: Sequence[Sequence[float]], captured: Sequence[float] = (),
           weight: float = 1.0, rel: float = 1e-12) -> native.BatchResult:
    """run_batch equals the Python program, with and without the backward pass."""
    program = native.write_native(plan, "fn")
    flat = [x for row in rows for x in row]
    for backward in (False, True):
        got = program.run_batch(flat, len(rows), list(captured), weight, backward)
        expected = _python_batch(plan, rows, captured, weight, backward)
        data, status, grads = expected.data, list(expected.status), expected.grads
        assert list(got.status) == status, (backward, got.status, status)
        assert all(_close(g, e, rel) for g, e in zip(got.data, data)), (got.data, data)
        if not backward:
            assert list(got.grads) == [] and list(got.value_grads) == []
            continue
        assert len(got.grads) == len(grads)
        assert all(_close(g, e, rel) for g, e in zip(got.grads, grads)), (got.grads, grads)
        assert len(got.value_grads) == len(program.value_children) * len(rows)
        if expected.value_grads or status.count(0):  # (Python's: [] when no sample is OK)
            assert all(_close(g, e, rel) for g, e in zip(got.value_grads,
                                                         expected.value_grads))
    return got


# ---- every op of the table --------------------------------------------------------------------


NO_CODE = {key for key, op in ops.OPS.items() if op.code is None}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_every_op_with_values_as_arguments_equals_the_python_program(case: OpCase) -> None:
    points = case.points()
    leaves = [Value(x) for x in points[0]]
    plan = _plan(lambda *xs: case.call(list(xs)), *leaves)
    if any(line.key in NO_CODE for line in plan.lines):
        with pytest.raises(native.Unsupported, match="no code"):
            native.write_native(plan, "fn")
        return
    result = _check(plan, points)
    assert list(result.status) == [0] * len(points)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_every_op_on_captured_leaves_sums_their_gradients(case: OpCase) -> None:
    points = case.points()
    leaves = [Value(x, label=f"w{i}") for i, x in enumerate(points[0])]
    # The leaves are captured; one number argument scales the result per sample.
    plan = _plan(lambda s: case.call(leaves) * s, 1.0)
    if any(line.key in NO_CODE for line in plan.lines):
        return
    for point in points:
        _check(plan, [[0.5], [-1.25], [2.0]], point, weight=1.0 / 3.0)


def test_the_op_table_is_covered_by_the_cases_above() -> None:
    covered = {case.covers for case in CASES}
    assert set(ops.OPS) - NO_CODE <= covered | {"neg"}


# ---- programs: random ones, an MLP, a CNN-shaped one ------------------------------------------


@settings(max_examples=60, deadline=None)
@given(dag=dags())
def test_random_programs_equal_the_python_program(dag: Dag) -> None:
    leaves = [Value(x) for x in dag.leaves]
    if not tame(dag.build(leaves)):
        return
    plan = _plan(lambda *xs: dag.build(list(xs))[-1], *leaves)
    if any(line.key in NO_CODE for line in plan.lines):
        return
    rows = [dag.leaves, [x * 0.75 - 0.1 for x in dag.leaves], [x * 1.1 for x in dag.leaves]]
    _check(plan, rows)


def _mlp_plan(sizes: Sequence[int], seed: int = 0) -> tuple[Plan, list[float], Any]:
    from nn import MLP
    random.seed(seed)
    model = MLP(sizes[0], list(sizes[1:]))

    def loss(x: list[float], y: float) -> Value:
        out = model(x)
        out = out[0] if isinstance(out, list) else out
        return (out - y) ** 2

    plan = _plan(loss, [0.1] * sizes[0], 1.0)
    return plan, [leaf.data for leaf in plan.captured], model  # the model holds the leaves


def test_an_mlp_batch_sums_the_gradients_of_its_samples() -> None:
    plan, captured, model = _mlp_plan([2, 16, 16, 1])
    rng = random.Random(1)
    rows = [[rng.uniform(-2, 2), rng.uniform(-2, 2), rng.choice((-1.0, 1.0))] for _ in range(50)]
    result = _check(plan, rows, captured, weight=1.0 / 50)
    assert list(result.status) == [0] * 50


def test_wide_dots_run_as_loops_and_agree_to_1e_12() -> None:
    rng = random.Random(2)
    weights = [[Value(rng.gauss(0.0, 0.3)) for _ in range(60)] for _ in range(12)]

    def layer(x: list[Value]) -> Value:
        hidden = [ag.dot(w, x).relu() for w in weights]
        return ag.sum([h * h for h in hidden]) + ag.mean(hidden)

    plan = _plan(layer, [Value(0.0)] * 60)
    program = native.write_native(plan, "layer")
    assert program.ir.count("fmul") < 100  # 12 loops, not 720 products written out
    rows = [[rng.uniform(-1, 1) for _ in range(60)] for _ in range(8)]
    _check(plan, rows, [leaf.data for leaf in plan.captured])


# ---- statuses: where the Python code raises or gives inf or NaN --------------------------------


EDGES: list[tuple[str, Callable[..., Value], list[list[float]]]] = [
    ("log", lambda x: x.log(), [[1.0], [0.0], [-1.0], [1e-300]]),
    ("div", lambda x, y: x / y, [[1.0, 2.0], [1.0, 0.0], [0.0, -0.0], [1e308, 1e-308]]),
    ("sqrt", lambda x: x.sqrt(), [[4.0], [0.0], [-1.0], [-0.0]]),
    ("exp", lambda x: x.exp(), [[1.0], [709.0], [710.0], [-1e4]]),
    ("pow", lambda a, b: a ** b, [[2.0, 3.0], [0.0, -1.0], [-2.0, 0.5], [-2.0, 3.0],
                                  [0.0, 0.5], [0.0, 2.0], [10.0, 400.0], [-8.0, 1.0 / 3]]),
    ("power", lambda x: x ** -1, [[2.0], [0.0], [-0.0]]),
    ("power 0.5", lambda x: x ** 0.5, [[4.0], [0.0], [-1.0]]),
    ("power 3", lambda x: x ** 3, [[2.0], [1e103], [-1e103]]),
    ("overflow", lambda x: x * x * 1e300, [[1.0], [1e10], [-1e10]]),
    ("masked inf", lambda x: (x * 1e308 * 10.0).relu() + x, [[1.0], [-1.0]]),
    ("sigmoid", lambda x: x.sigmoid(), [[-800.0], [800.0], [0.0]]),
    ("tanh", lambda x: x.tanh() * 1e308 * 10.0, [[0.0], [1.0]]),
    ("sum overflow", lambda x, y: ag.sum([x, y, x]), [[1e308, 1e308], [1e308, -1e308]]),
    ("mean", lambda x, y: ag.mean([x, y]), [[1.0, 2.0], [1e308, 1e308]]),
    ("inputs", lambda x: x * 2.0, [[math.inf], [math.nan], [1.0]]),
    ("grad overflow", lambda x: (x * 1e200) * (x * 1e200) * 1e-300, [[1.0], [1e-5]]),
]


@pytest.mark.parametrize("name,fn,rows", EDGES, ids=[e[0] for e in EDGES])
def test_errors_give_status_2_exactly_where_the_python_code_raises(
        name: str, fn: Callable[..., Value], rows: list[list[float]]) -> None:
    for as_values in (False, True):
        args = [Value(2.0) if as_values else 2.0 for _ in rows[0]]
        plan = _plan(fn, *args)
        _check(plan, rows)


def test_non_finite_captured_leaves_fail_every_sample() -> None:
    w = Value(1.0)
    plan = _plan(lambda x: w * x, 1.0)
    program = native.write_native(plan, "fn")
    for bad in (math.inf, math.nan):
        result = program.run_batch([1.0, 2.0], 2, [bad], 1.0, True)
        assert list(result.status) == [2, 2] and list(result.grads) == [0.0]


def test_a_guard_that_comes_out_otherwise_gives_status_1() -> None:
    def fn(x: Value) -> Value:
        return x * 2.0 if x > 0.0 else -x

    plan = _plan(fn, Value(1.0))
    result = _check(plan, [[1.0], [-1.0], [3.0], [0.0]])
    assert list(result.status) == [0, 1, 0, 1]


def test_an_error_before_a_failing_guard_is_status_2_after_it_status_1() -> None:
    def fn(x: Value, y: Value) -> Value:
        z = x.log() + y  # raises first for x <= 0
        if z > 0.0:
            return z * y
        return z

    plan = _plan(fn, Value(1.0), Value(1.0))
    result = _check(plan, [[1.0, 1.0], [0.0, -1.0], [1.0, -1.0], [0.0, 1.0]])
    assert list(result.status) == [0, 2, 1, 2]
    # A guard on an input alone comes first: there it fails before the log can raise.
    plan = _plan(lambda x, y: x.log() + y if y > 0.0 else x.log(), Value(1.0), Value(1.0))
    assert list(_check(plan, [[0.0, -1.0], [0.0, 1.0]]).status) == [1, 2]


def test_float_guards_tell_minus_zero_and_nan_apart() -> None:
    def fn(x: Value) -> Value:
        return x * float(x)

    for traced in (0.0, -0.0, 2.5):
        plan = _plan(fn, Value(traced))
        result = _check(plan, [[0.0], [-0.0], [2.5]])
        assert list(result.status).count(0) == 1


def test_a_failed_sample_adds_nothing_to_the_gradients() -> None:
    w = Value(3.0)
    plan = _plan(lambda x: (w * x).log(), 1.0)
    result = native.write_native(plan, "fn").run_batch([1.0, -1.0, 2.0], 3, [3.0], 0.5, True)
    assert list(result.status) == [0, 2, 0]
    assert _close(result.grads[0], 0.5 * (1.0 / 3.0 + 1.0 / 3.0))


# ---- samples side by side: every lane, and lanes past the batch ------------------------------


@pytest.mark.parametrize("name,fn,rows", EDGES, ids=[e[0] for e in EDGES])
def test_every_edge_in_every_lane_and_in_the_rest(name: str, fn: Callable[..., Value],
                                                  rows: list[list[float]]) -> None:
    # Each edge case lands in every lane, and in a last block with lanes past the batch.
    batch = [rows[k % len(rows)] for k in range(2 * native.SAMPLES + 3)]
    random.Random(name).shuffle(batch)
    for as_values in (False, True):
        args = [Value(2.0) if as_values else 2.0 for _ in rows[0]]
        _check(_plan(fn, *args), batch)


def test_guards_errors_and_captured_leaves_in_lanes() -> None:
    w, b = Value(0.7), Value(-0.2)

    def fn(x: float, y: Value) -> Value:
        z = w * x + b
        if z > 0.0:  # a guard on a line, in each lane
            return (z * y).log() * w  # raises where z * y <= 0
        return z * z * y

    plan = _plan(fn, 1.0, Value(1.0))
    program = native.write_native(plan, "fn")
    assert f"<{native.SAMPLES} x i64> @sample(" in program.ir  # the samples side by side
    rng = random.Random(7)
    rows = [[rng.choice([1.0, -1.0, 0.0, 2.5, math.inf]), rng.choice([1.0, -2.0, 0.5])]
            for _ in range(4 * native.SAMPLES + 1)]
    result = _check(plan, rows, [0.7, -0.2])
    assert {0, 1, 2} <= set(result.status)  # each kind of sample, in the lanes
    for n in range(1, 2 * native.SAMPLES + 2):  # every split into lanes and the rest
        _check(plan, rows[:n], [0.7, -0.2])


# ---- ops the writer cannot lower, and ops it has never seen -----------------------------------


def _hand_plan(key: str, params: dict[str, Any] | None = None) -> Plan:
    """x -> key(x), by hand: an op the tracer would record from a new row of the table."""
    lines = [Line("x", "input", (0,)), Line("y", key, (0,), params or {})]
    for line in lines:
        line.in_result = True
    return make_plan("fn", lines, [], [], [[1, 0]], 0, 1)


def test_a_new_one_argument_math_function_needs_no_edit(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, local in (("tan", "1.0 + {y} * {y}"), ("asinh", "1.0 / math.sqrt({x} * {x} + 1.0)"),
                        ("erf", "2.0 / math.sqrt(math.pi) * math.exp(-{x} * {x})")):
        key = f"test_{name}"
        rule = getattr(math, name)
        monkeypatch.setitem(ops.OPS, key, ops.Op(lambda x, rule=rule: (rule(x), (0.0,)),
                                                 f"math.{name}({{x}})", (local,)))
        plan = _hand_plan(key)
        for x in (0.3, -1.2, 0.9):
            result = native.write_native(plan, key).run_batch([x], 1, [], 1.0, True)
            y = getattr(math, name)(x)
            assert _close(result.data[0], y)
            assert _close(result.value_grads[0], eval(local.format(x=repr(x), y=repr(y))))


def test_codes_calling_python_are_unsupported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ops.OPS, "test_primitive", ops.Op(
        lambda x: (x, (1.0,)), "ops.PRIMITIVES['mine']({x})", ("1.0",)))
    with pytest.raises(native.Unsupported, match="cannot lower"):
        native.write_native(_hand_plan("test_primitive"), "fn")
    with pytest.raises(native.Unsupported):  # an infinite exponent: the rule's own edges
        native.write_native(_hand_plan("power", {"n": math.inf}), "fn")
    with pytest.raises(native.Unsupported, match="no code"):
        native.write_native(_plan(lambda x, y: ag.softmax([x, y])[0], 1.0, 2.0), "fn")


def test_several_outputs_run_forward_only() -> None:
    plan = _plan(lambda x: [x.exp(), x], 1.0)
    program = native.write_native(plan, "fn")
    result = program.run_batch([0.0, 1.0], 2, [], 1.0, False)
    assert list(result.data) == [1.0, 0.0, math.e, 1.0] and list(result.status) == [0, 0]
    with pytest.raises(native.Unsupported, match="one output"):
        program.run_batch([0.0], 1, [], 1.0, True)


def test_the_ir_is_readable_and_kept() -> None:
    w = Value(0.5, label="w")
    program = native.write_native(_plan(lambda x: (w * x).tanh(), 1.0), "f")
    assert program.ir.startswith("; Written by ag.compile from f: ")
    assert "define void @batch" in program.ir and "call double @tanh" in program.ir


# ---- bad arguments: clear errors in Python, and never a crash ---------------------------------


def _program() -> native.NativeProgram:
    w = Value(0.5)
    return native.write_native(_plan(lambda x, y: (w * x + y).exp(), 1.0, 2.0), "fn")


@pytest.mark.parametrize("args,error", [
    (([1.0, 2.0], 0, [0.5], 1.0, True), ValueError),
    (([1.0, 2.0], True, [0.5], 1.0, True), ValueError),
    (([1.0, 2.0], 1.0, [0.5], 1.0, True), ValueError),
    (([1.0, 2.0], 2, [0.5], 1.0, True), ValueError),
    (([1.0], 1, [0.5], 1.0, True), ValueError),
    (([1.0, 2.0], 1, [], 1.0, True), ValueError),
    (([1.0, 2.0], 1, [0.5, 1.0], 1.0, True), ValueError),
    (("ab", 1, [0.5], 1.0, True), TypeError),
    ((b"12345678" * 2, 1, [0.5], 1.0, True), TypeError),
    (([1.0, "x"], 1, [0.5], 1.0, True), TypeError),
    (([1.0, None], 1, [0.5], 1.0, True), TypeError),
    (([1.0, 2.0], 1, [0.5], "1", True), TypeError),
    (([1.0, 2.0], 1, [0.5], 1.0, 1), TypeError),
    ((None, 1, [0.5], 1.0, True), TypeError),
    (([1.0, 2.0], -5, [0.5], 1.0, True), ValueError),
])
def test_bad_arguments_raise_before_the_native_call(args: tuple[Any, ...],
                                                     error: type[Exception]) -> None:
    with pytest.raises(error, match="native run_batch"):
        _program().run_batch(*args)


def test_bad_inputs_never_crash_the_interpreter() -> None:
    script = textwrap.dedent("""
        import math, array, sys
        sys.path.insert(0, ".")
        sys.path.insert(0, "tests")
        from test_native import _program
        program = _program()
        bad = [([1.0] * 10**6, 1), ([], 1), ([1.0, 2.0], 2**62), ([1.0, 2.0], -2**62),
               ([1.0, 2.0], 0), (array.array("f", [1.0, 2.0]), 1), (iter([1.0, 2.0]), 1),
               ([math.inf, math.nan], 1), ([1e308, 1e308], 1), (range(2), 1),
               ([1.0, 2.0] * 3, 3)]
        for inputs, n in bad:
            for captured in ([0.5], [], [math.nan], [0.5] * 7, "x"):
                for weight in (1.0, math.nan, -math.inf, 1e308):
                    try:
                        program.run_batch(inputs, n, captured, weight, True)
                    except (TypeError, ValueError):
                        pass
        print("alive")
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "alive", done.stderr[-2000:]


def test_a_program_outlives_its_plan_and_runs_from_threads() -> None:
    import threading
    program = _program()
    results: list[list[float]] = []

    def run() -> None:
        for _ in range(50):
            results.append(list(program.run_batch([0.1, 0.2] * 10, 10, [0.5], 0.1, True).grads))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 200 and all(r == results[0] for r in results)


# ---- end to end: ag.compile(fn, backend="native") ---------------------------------------------


def _train_grads(step: Any, params: Sequence[Value], how: str, *columns: Any) -> tuple[float,
                                                                                       list[float]]:
    for p in params:
        p.grad = 0.0
    out = getattr(step, how)(*columns) if how != "call" else step(*[c[0] for c in columns])
    out.backward()
    grads = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    return out.data, grads


@pytest.mark.parametrize("how", ["mean", "sum", "call"])
def test_compiled_native_equals_the_python_backend_and_eager(how: str) -> None:
    from nn import MLP
    model = MLP(3, [8, 8, 1], seed=3)
    params = model.parameters()

    def loss(x: list[float], y: float) -> Value:
        return (model(x)[0] - y) ** 2

    rng = random.Random(4)
    xs = [[rng.uniform(-1, 1) for _ in range(3)] for _ in range(16)]
    ys = [rng.choice((-1.0, 1.0)) for _ in range(16)]
    native_step = ag.compile(loss, backend="native")
    got = _train_grads(native_step, params, how, xs, ys)
    assert type(native_step._last.program).__name__ == "NativeProgram"
    want = _train_grads(ag.compile(loss), params, how, xs, ys)
    eager = {"mean": lambda: ag.mean([loss(x, y) for x, y in zip(xs, ys)]),
             "sum": lambda: ag.sum([loss(x, y) for x, y in zip(xs, ys)]),
             "call": lambda: loss(xs[0], ys[0])}[how]
    for p in params:
        p.grad = 0.0
    out = eager()
    out.backward()
    assert _close(got[0], want[0]) and _close(got[0], out.data)
    assert all(_close(g, w) for g, w in zip(got[1], want[1]))
    assert all(_close(g, p.grad, 1e-10) for g, p in zip(got[1], params))
    assert native_step.source.startswith("# Written by ag.compile")  # the Python program
    assert "define void @batch" in native_step.ir
    assert native_step.traces == 1


def test_compiled_native_several_outputs_write_the_python_sweeps_when_gradients_are_asked(
        ) -> None:
    from nn import MLP
    model = MLP(3, [4, 3], activation="tanh", seed=0)
    params = model.parameters()
    step = ag.compile(lambda x: model(x), backend="native")
    xs = [[0.5, -1.0, 2.0], [0.1, 0.2, -0.3]]
    weights = [1.0, -2.0, 0.5]

    def check_forward() -> None:
        with ag.no_grad():
            rows = step.map(xs)
            eager = [model(x) for x in xs]
        assert all(_close(o.data, e.data) for row, want in zip(rows, eager)
                   for o, e in zip(row, want))
        assert type(step._last.program).__name__ == "NativeProgram"  # machine code ran

    check_forward()
    assert step._last.python is None  # no Python program until one is asked for
    forward_only = step.source  # written now, without the sweeps native code did not run
    assert "# backward pass" not in forward_only and "forward pass only" in forward_only
    assert step._last.plan is not None
    for x in xs:  # several outputs' derivatives: the Python program, written whole once
        got, want = ag.dot(weights, step(x)), ag.dot(weights, model(x))
        assert _close(got.data, want.data)
        assert all(_close(g, w) for g, w in zip(ag.grad(got, params), ag.grad(want, params)))
    full = step.source
    assert "# backward pass" in full and step._last.plan is None
    check_forward()  # still machine code without gradients
    assert step.source is full and step.traces == 1


def test_compiled_native_map_and_argument_values() -> None:
    w = Value(0.5)
    step = ag.compile(lambda x, v: (w * x + v).tanh(), backend="native")
    vs = [Value(0.1 * k) for k in range(5)]
    outs = step.map([0.5 * k for k in range(5)], vs)
    assert [o.data for o in outs] == pytest.approx(
        [math.tanh(0.5 * 0.5 * k + 0.1 * k) for k in range(5)], rel=1e-12)
    total = step.sum([1.0, 2.0], vs[:2])
    total.backward()
    assert _close(vs[1].grad, 1.0 - math.tanh(0.5 * 2.0 + 0.1) ** 2)


def test_compiled_native_sample_errors_run_eagerly_and_raise_eager_errors() -> None:
    w = Value(2.0)
    step = ag.compile(lambda x: (w * x).log(), backend="native")
    good = step.mean([1.0, 2.0])
    assert _close(good.data, (math.log(2.0) + math.log(4.0)) / 2)
    with pytest.raises(ValueError, match="log: operand must be > 0"):
        step.mean([1.0, -1.0, 2.0])
    assert w.grad == 0.0
    # sqrt's slope at 0: the code divides by 0 where the rule gives inf; eager decides.
    root = ag.compile(lambda x: (w * x).sqrt(), backend="native")
    out = root.sum([0.0, 2.0])
    out.backward()
    got, w.grad = w.grad, 0.0
    eager = ag.sum([(w * x).sqrt() for x in (0.0, 2.0)])
    eager.backward()
    assert _close(out.data, eager.data) and _close(got, w.grad) and math.isnan(got)


def test_compiled_native_retraces_only_the_samples_whose_guards_fail() -> None:
    w = Value(1.5)

    def fn(x: Value) -> Value:
        y = w * x
        return y if y > 0.0 else -y * 3.0

    step = ag.compile(fn, backend="native")
    out = step.sum([1.0, 2.0, -1.0, 3.0])
    out.backward()
    assert step.traces == 2
    assert _close(out.data, 1.5 + 3.0 + 4.5 + 4.5) and _close(w.grad, 1 + 2 + 3 + 3)


def test_compiled_native_falls_back_to_python_for_ops_without_code() -> None:
    w = [Value(0.1 * k) for k in range(3)]
    step = ag.compile(lambda x: ag.softmax([wi * x for wi in w])[0], backend="native")
    out = step.mean([1.0, 2.0])
    assert type(step._last.program).__name__ == "Program"
    with pytest.raises(RuntimeError, match="ran on the Python backend"):
        print(step.ir)
    eager = ag.mean([ag.softmax([wi * x for wi in w])[0] for x in (1.0, 2.0)])
    assert _close(out.data, eager.data)


def test_cross_entropy_runs_as_native_code_and_matches_eager() -> None:
    from nn import cross_entropy
    w = [Value(0.1 * k - 0.05) for k in range(3)]
    columns = ([1.0, 2.0, -30.0], [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    step = ag.compile(lambda x, y: cross_entropy([[wi * x for wi in w]], [y]), backend="native")
    out = step.mean(*columns)
    assert "@batch" in step.ir  # logsumexp's code in the table: lowered, not sent to Python
    out.backward()
    native_grads = [wi.grad for wi in w]
    for wi in w:
        wi.grad = 0.0
    eager = ag.mean([cross_entropy([[wi * x for wi in w]], [y]) for x, y in zip(*columns)])
    eager.backward()
    assert _close(out.data, eager.data)
    assert all(_close(a, wi.grad) for a, wi in zip(native_grads, w))


EDGY: list[tuple[int, Callable[[list[Value]], Value]]] = [
    (1, lambda a: a[0].log()), (1, lambda a: a[0].sqrt()), (2, lambda a: a[0] / a[1]),
    (2, lambda a: a[0] ** a[1]), (1, lambda a: a[0] ** -1), (1, lambda a: a[0] ** 0.5),
    (1, lambda a: a[0].exp()), (2, lambda a: a[0] * a[1]), (2, lambda a: a[0] - a[1]),
    (1, lambda a: a[0].relu()), (3, lambda a: ag.dot(a[:2], [a[2], 1.0])),
    (1, lambda a: a[0] * 300.0), (1, lambda a: a[0].sigmoid()), (1, lambda a: abs(a[0])),
]


@pytest.mark.parametrize("seed", range(60))
def test_random_programs_at_domain_edges_give_the_python_statuses(seed: int) -> None:
    rng = random.Random(seed)
    steps = [(rng.randrange(len(EDGY)), [rng.randrange(3 + k) for _ in range(3)])
             for k in range(rng.randint(2, 8))]

    def fn(*xs: Value) -> Value:
        nodes = list(xs)
        for op, picks in steps:
            arity, build = EDGY[op]
            nodes.append(build([nodes[i] for i in picks[:arity]]))
        return nodes[-1] + nodes[-2] * 0.5

    values = [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0, 800.0]
    rows = [[rng.choice(values) for _ in range(3)] for _ in range(12)]
    for traced_at in ([1.5, 0.7, 2.0], [0.3, 1.1, 0.6], rows[0]):
        try:
            plan = _plan(fn, *[Value(x) for x in traced_at])
        except (ArithmeticError, ValueError):
            continue  # eager raises there: trace at other numbers
        _check(plan, rows)
        return


# ---- fsum's vector loop: four compensated sums, merged --------------------------------------


@pytest.mark.parametrize("n", [8, 9, 10, 11, 16, 37, 100])
def test_a_long_dot_with_cancellation_equals_math_fsum(n: int) -> None:
    # Terms of wildly different sizes that cancel: a plain sum is far off, fsum is exact.
    rng = random.Random(n)
    ws = [Value(rng.choice([1e16, -1e16, 1.0, 3.14159, -2.5e-8, 7e-17])) for _ in range(n)]
    step = ag.compile(lambda xs: ag.dot(ws, xs), backend="native")
    for _ in range(3):
        xs = [rng.uniform(-1.0, 1.0) for _ in range(n)]
        got = step.mean([xs])
        exact = math.fsum(w.data * x for w, x in zip(ws, xs))
        assert got.data == pytest.approx(exact, rel=1e-15, abs=1e-15)
        grads = dict(zip(got.children, got._edges[len(got.children):]))
        assert all(grads[w] == x for w, x in zip(ws, xs))


@pytest.mark.parametrize("n", [8, 13, 40])
def test_a_long_dot_of_parameters_alone_computed_once_equals_math_fsum(n: int) -> None:
    # A dot reading no input (an L2 penalty) is computed once for the batch, in scalar code:
    # four compensated sums, one per vector lane, merged. Still math.fsum's sum.
    rng = random.Random(n)
    ws = [Value(rng.choice([1e8, -1e8, 1.0, 3.14159, -2.5e-4, 7e-9])) for _ in range(n)]
    vs = [Value(rng.uniform(-1.0, 1.0)) for _ in range(n)]
    step = ag.compile(lambda x: ag.dot(ws, vs) * x, backend="native")
    got = step.mean([1.0, 1.0, 1.0])
    assert "define internal i1 @once" in step.ir
    exact = math.fsum(w.data * v.data for w, v in zip(ws, vs))
    assert got.data == pytest.approx(exact, rel=1e-15, abs=1e-15)
    grads = dict(zip(got.children, got._edges[len(got.children):]))
    assert all(grads[w] == pytest.approx(v.data, rel=1e-15) for w, v in zip(ws, vs))


def test_a_dot_whose_prefix_overflows_raises_as_math_fsum_does() -> None:
    # In order, a + a overflows (math.fsum: OverflowError); lane by lane, nothing would.
    a = 1e308
    ws = [Value(1.0) for _ in range(8)]
    step = ag.compile(lambda xs: ag.dot(ws, xs), backend="native")
    step.mean([[1.0] * 8])
    with pytest.raises(OverflowError):
        step.mean([[a, a, 0.0, 0.0, -a, -a, 0.0, 0.0]])
    # Large but safe terms: native code, eager's value.
    assert step.mean([[1e300, 1e300, 0.0, 0.0, -1e300, -1e300, 0.0, 1.0]]).data == 1.0


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_an_inf_or_nan_term_in_one_lane_gives_eagers_result(bad: float) -> None:
    ws = [Value(1.0) for _ in range(12)]
    step = ag.compile(lambda xs: ag.dot(ws, xs), backend="native")
    step.mean([[1.0] * 12])
    xs = [0.5] * 12
    xs[5] = bad
    want = math.fsum(xs)
    got = step.mean([xs]).data
    assert got == want or (math.isnan(got) and math.isnan(want))
    if not math.isnan(bad):
        xs[9] = -bad  # in another lane: inf meets -inf, where math.fsum raises
        with pytest.raises(ValueError):
            step.mean([xs])


def _sum2(terms: Sequence[float]) -> float:
    """Sum2 (TwoSum's six additions per term, then s + c): what native fsum computes."""
    s = c = 0.0
    for x in terms:
        t = s + x
        z = t - s
        c += (s - (t - z)) + (x - z)
        s = t
    return s + c


@pytest.mark.parametrize("seed", range(6))
def test_native_fsum_is_sum2_to_the_bit(seed: int) -> None:
    # Fast2Sum with the larger operand first gives TwoSum's t and e exactly (away from the
    # largest float, where TwoSum's own t - s overflows): the sums are Sum2's, bit for bit,
    # in every lane, whatever the terms' sizes and signs.
    rng = random.Random(seed)
    n = rng.choice([9, 17, 33])
    ws = [Value(1.0) for _ in range(n)]
    step = ag.compile(lambda xs: ag.dot(ws, xs), backend="native")
    sizes = [1e16, 1.0, 3.0e-8, 7e-17, 1e-300, 2.0 ** 60]
    rows = [[rng.choice((-1.0, 1.0)) * rng.choice(sizes) * rng.uniform(0.5, 2.0)
             for _ in range(n)] for _ in range(7)]
    with ag.no_grad():
        got = [v.data for v in step.map(rows)]
    assert type(step._last.program).__name__ == "NativeProgram"
    assert got == [_sum2(row) for row in rows]


# ---- tables: lines that go up evenly are computed, not read -----------------------------------


def test_even_steps_are_found_in_every_row_or_not_at_all() -> None:
    rows = [[0, 10, 5, 11, 7, 12, 9], [1, 20, 6, 21, 8, 22, 10]]
    assert native._even_step(rows, 1, 2, 3) == 1  # 10 11 12 and 20 21 22
    assert native._even_step(rows, 2, 2, 3) == 2  # 5 7 9 and 6 8 10
    assert native._even_step(rows, 1, 2, 1) == 0  # one term: no step to take
    assert native._even_step([[0, 4, 4, 4]], 1, 1, 3) == 0
    assert native._even_step([[0, 9, 7, 5]], 1, 1, 3) == -2
    assert native._even_step([[0, 1, 2, 4]], 1, 1, 3) is None  # uneven in a row
    assert native._even_step([[0, 1, 2], [0, 1, 3]], 1, 1, 2) is None  # steps differ


@pytest.mark.parametrize("weights", ["own", "shared, permuted"])
def test_dots_over_lines_in_any_order_equal_the_python_program(
        weights: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Where a table's lines go up evenly (the inputs, lines 0..11 in every neuron) they are
    # computed; elsewhere (weights permuted, the hidden values repeated) read term by term.
    # Both give the Python program's numbers.
    rng = random.Random(7)
    shared = [Value(rng.uniform(-1, 1)) for _ in range(12)]
    ws = []
    for k in range(5):
        if weights == "own":
            ws.append([Value(rng.uniform(-1, 1)) for _ in range(12)])
        else:
            ws.append(rng.sample(shared, 12) if k else shared)

    def fn(*xs: Value) -> Value:
        hidden = [ag.dot(row, list(xs)).relu() for row in ws]
        return ag.dot([w for row in ws for w in row[:5]], hidden * 5).tanh()

    found: list[int | None] = []
    even_step = native._even_step

    def recorded(rows: list[list[int]], at: int, stride: int, count: int) -> int | None:
        found.append(even_step(rows, at, stride, count))
        return found[-1]

    monkeypatch.setattr(native, "_even_step", recorded)
    plan = _plan(fn, *[Value(0.1 * k) for k in range(12)])
    rows = [[rng.uniform(-1, 1) for _ in range(12)] for _ in range(9)]
    _check(plan, rows, [leaf.data for leaf in plan.captured])
    steps = set(found)
    assert None in steps and steps - {None}  # both ways taken (the inputs: one line each)


# ---- inf and NaN in a batch: that sample eagerly, the structure's batches still native ---------


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_an_inf_or_nan_input_runs_eagerly_and_the_next_batch_is_native_again(
        bad: float) -> None:
    w = Value(0.5)
    step = ag.compile(lambda x: (w * x).tanh() * x, backend="native")
    step.mean([0.1, 0.2])
    xs = [0.1, bad, 0.3, -0.7, 0.2]
    out = step.mean(xs)
    out.backward()
    got, w.grad = w.grad, 0.0
    eager = ag.mean([(w * x).tanh() * x for x in xs])
    eager.backward()
    assert _close(out.data, eager.data) and _close(got, w.grad)
    assert not step._slow  # the inf or NaN kept it from the fast path this batch only
    fast = step.mean([0.1, 0.3])
    assert fast.op.params.get("distinct_leaves")  # the fast path's node
    assert _close(fast.data, (math.tanh(0.05) * 0.1 + math.tanh(0.15) * 0.3) / 2)


def test_a_guard_that_fails_in_a_batch_leaves_its_structure_to_the_slow_path() -> None:
    w = Value(1.0)
    step = ag.compile(lambda x: w * x if x > 0.0 else -w * x, backend="native")
    step.mean([1.0, 2.0])
    step.mean([1.0, -2.0])
    assert len(step._slow) == 1 and step.traces == 2


def test_the_scratch_arrays_start_on_a_cache_line() -> None:
    program = _program()
    program.run_batch([1.0, 2.0] * 5, 5, [0.5], 1.0, True)
    assert program._scratch is not None
    vals, g = program._scratch.at[3:]
    assert vals % 64 == 0 and g % 64 == 0
    program.run_batch([1.0, 2.0] * 9, 9, [0.5], 1.0, True)  # more samples: outputs grow
    assert program._scratch.samples == 9 and program._scratch.at[3] % 64 == 0


def test_a_sum_next_to_the_largest_float_is_exact_where_twosum_gave_nan() -> None:
    # s + x is finite, but TwoSum's t - s is not: its error term was NaN and the sample ran
    # eagerly. Fast2Sum's is exact: native code gives math.fsum's sum.
    a, big = -5.668379854907783e+307, 1.7976931348623157e+308
    ws = [Value(1.0), Value(1.0)]
    step = ag.compile(lambda xs: ag.dot(ws, xs), backend="native")
    with ag.no_grad():
        got = step.map([[a, big], [1.0, 2.0]])
    program = step._last.program
    assert type(program).__name__ == "NativeProgram"
    assert program.run_batch([a, big], 1, [1.0, 1.0], 1.0, False).status == [0]
    assert [v.data for v in got] == [math.fsum([a, big]), 3.0]


def test_a_loop_inside_a_looped_term_reads_its_holes_through_the_term() -> None:
    # A term of a long fsum that is itself a long fsum: the inner loop's holes are i64 values,
    # read through the term's hole_at, never as the outer run's.
    from autograd.compile.lower import Builder, Lowerer

    def inner(base: int) -> str:
        return "fsum((" + ", ".join(f"_h{base + i}" for i in range(8)) + ",))"

    template = "fsum((" + ", ".join(inner(8 * k) for k in range(8)) + ",))"
    b = Builder()
    lowerer = Lowerer(b, lambda k: f"%v{k}", lambda name, arity: name)
    read: list[str] = []
    lowerer.hole_at = lambda number: read.append(number) or b.op(f"add i64 {number}, 1")
    runs: list[int] = []
    lowerer.run_hole = lambda k, at, stride, count: runs.append(at) or b.op(f"add i64 {k}, 1")
    lowerer.source(template)
    assert runs == [] and read and not any(number.isdigit() for number in read)


@pytest.mark.parametrize("packed", [False, True])
def test_a_parameter_gone_nan_fails_the_batch_in_one_native_call_then_runs_it_eagerly(
        monkeypatch: pytest.MonkeyPatch, packed: bool) -> None:
    w, c = Value(0.5), Value(2.0)
    step = ag.compile(lambda x, y: (w * x + c.exp() * y).tanh() * x, backend="native")
    xs, ys = [0.1 * k for k in range(20)], [0.05 * k for k in range(20)]
    columns = (ag.Batch(xs, ys),) if packed else (xs, ys)
    step.mean(*columns)
    program = step._last.program
    calls: list[int] = []
    call = program._call
    monkeypatch.setattr(program, "_call", lambda *args: calls.append(1) or call(*args))
    c.data = math.nan
    out = step.mean(*columns)
    # One call finds it (not one more per sample, though the L2-like c.exp()'s step, run
    # once for the batch, spoils the sums); the eager run gives eager's NaN.
    assert math.isnan(out.data) and calls == [1]
    c.data = 2.0
    again = step.mean(*columns)
    assert again.op.params.get("distinct_leaves") and calls == [1, 1]  # native again
