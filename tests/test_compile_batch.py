"""ag.compile over batches: mean, sum and map run one sample's code for every sample, and give
eager's data and gradients; guards, errors and structures per sample."""

from __future__ import annotations

import importlib.util
import math
import random
import sys
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import Dag, dags, tame

import autograd as ag
from autograd import Value, no_grad
from autograd.compile.compiled import Compiled
from autograd.compile.tracing import EAGER, OK, RETRACE
from nn import MLP, cross_entropy, hinge_loss


def _close(a: float, b: float, rel: float = 1e-12, floor: float = 1e-15) -> bool:
    return a == b or abs(a - b) <= rel * max(abs(a), abs(b)) + floor


def _grads(make: Callable[[], Value], leaves: Sequence[Value]) -> tuple[float, list[float]]:
    """make()'s data and each leaf's grad after backward(), grads reset before and after."""
    for leaf in leaves:
        leaf.grad = 0.0
    out = make()
    out.backward()
    grads = [leaf.grad for leaf in leaves]
    for leaf in leaves:
        leaf.grad = 0.0
    return out.data, grads


def _assert_same(got: tuple[float, list[float]], want: tuple[float, list[float]]) -> None:
    assert _close(got[0], want[0]), (got[0], want[0])
    for g, w in zip(got[1], want[1]):
        assert _close(g, w), (g, w)


def _points(n: int, seed: int = 0) -> tuple[list[list[float]], list[float]]:
    rng = random.Random(seed)
    xs = [[rng.uniform(-2.0, 2.0), rng.uniform(-1.0, 1.5)] for _ in range(n)]
    return xs, [1.0 if x[1] > math.sin(x[0]) else -1.0 for x in xs]


# ---- equal to eager ---------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["mean", "sum"])
def test_mean_and_sum_of_an_mlp_loss_equal_eager(how: str) -> None:
    model = MLP(2, [8, 8, 1], seed=1)
    params = model.parameters()

    def loss(x, y):
        return hinge_loss([model(x)[0]], [y])

    step = ag.compile(loss)
    reduce = ag.mean if how == "mean" else ag.sum
    for seed in range(3):  # the first batch traces; the others replay
        xs, ys = _points(25, seed)
        got = _grads(lambda xs=xs, ys=ys: getattr(step, how)(xs, ys), params)
        want = _grads(lambda xs=xs, ys=ys: reduce([loss(x, y) for x, y in zip(xs, ys)]),
                      params)
        _assert_same(got, want)
        assert got[1] != [0.0] * len(params)
    assert step.traces == 1


def test_a_cross_entropy_model_with_one_hot_targets_equals_eager() -> None:
    model = MLP(4, [6, 3], activation="tanh", seed=2)
    params = model.parameters()
    rng = random.Random(3)
    images = [[rng.gauss(0.0, 1.0) for _ in range(4)] for _ in range(17)]
    targets = [[1.0 if j == k % 3 else 0.0 for j in range(3)] for k in range(17)]

    def loss(image, target):
        return cross_entropy([model(image)], [target])

    step = ag.compile(loss)
    got = _grads(lambda: step.mean(images, targets), params)
    want = _grads(lambda: ag.mean([loss(i, t) for i, t in zip(images, targets)]), params)
    _assert_same(got, want)
    assert step.traces == 1


@settings(max_examples=60, deadline=None)
@given(dag=dags(max_leaves=5), data=st.data())
def test_random_programs_over_a_batch_equal_eager(dag: Dag, data: st.DataObject) -> None:
    # The first leaves are parameters (captured), the others a sample's numbers.
    split = data.draw(st.integers(0, len(dag.leaves)))
    params = [Value(x) for x in dag.leaves[:split]]
    n = data.draw(st.integers(1, 6))
    rows = [[x + 0.1 * k for x in dag.leaves[split:]] for k in range(n)]

    def fn(*xs):
        return dag.build([*params, *xs])[-1]

    eager_nodes = [dag.build([*params, *map(Value, row)]) for row in rows]
    if not all(tame(nodes) for nodes in eager_nodes):
        return
    columns = [list(column) for column in zip(*rows)] or [[()] * n]
    if not rows[0]:  # no numbers per sample: one argument that holds none

        def fn(_empty):  # noqa: F811 - the same program, with an argument to batch over
            return dag.build(params)[-1]

    step = ag.compile(fn)
    got = _grads(lambda: step.mean(*columns), params)
    want = _grads(lambda: ag.mean([nodes[-1] for nodes in
                                   (dag.build([*params, *map(Value, row)]) for row in rows)]),
                  params)
    _assert_same(got, want)
    assert step.traces == 1


def test_the_node_has_the_leaves_the_samples_depend_on_as_children() -> None:
    w, b, unused = Value(0.5, label="w"), Value(-1.0, label="b"), Value(3.0)

    def fn(x):
        return (w * x + b).tanh()

    out = ag.compile(fn).mean([1.0, 2.0, -0.5])
    assert set(out.children) == {w, b} and unused not in out.children
    assert out.op == "mean fn"
    eager = ag.mean([fn(x) for x in (1.0, 2.0, -0.5)])
    for child, local in zip(out.children, out.local_grads):
        assert _close(local, ag.grad(eager, [child])[0])


def test_argument_values_are_children_with_their_own_derivatives() -> None:
    w = Value(2.0)
    xs = [Value(0.5), Value(-1.0), Value(3.0)]
    step = ag.compile(lambda x, c: (w * x).tanh() * c)
    leaves = [w, *xs]
    got = _grads(lambda: step.sum(xs, [1.0, 2.0, 3.0]), leaves)
    want = _grads(lambda: ag.sum([(w * x).tanh() * c for x, c in zip(xs, [1.0, 2.0, 3.0])]),
                  leaves)
    _assert_same(got, want)
    shared = Value(1.5)  # the same Value in every sample: its derivatives add up
    got = _grads(lambda: step.mean([shared] * 4, [1.0, 2.0, 3.0, 4.0]), [w, shared])
    want = _grads(lambda: ag.mean([(w * shared).tanh() * c for c in (1.0, 2.0, 3.0, 4.0)]),
                  [w, shared])
    _assert_same(got, want)


def test_map_equals_calling_once_per_sample() -> None:
    w = Value(0.7)
    step = ag.compile(lambda x: (w * x).sigmoid())
    outs = step.map([1.0, -2.0, 0.5])
    assert [o.data for o in outs] == [step(x).data for x in (1.0, -2.0, 0.5)]
    assert all(o.children == (w,) for o in outs)
    assert [o.local_grads for o in outs] == [step(x).local_grads for x in (1.0, -2.0, 0.5)]
    with no_grad():
        leaves = step.map([1.0, -2.0, 0.5])
    assert [o.data for o in leaves] == [o.data for o in outs]
    assert all(o.children == () for o in leaves)
    assert step.traces == 1


# ---- several outputs --------------------------------------------------------------------------


def test_a_function_returning_a_list_returns_a_list_of_nodes() -> None:
    model = MLP(3, [4, 2], activation="tanh", seed=0)
    params = model.parameters()
    step = ag.compile(lambda x: model(x))
    x = [0.5, -1.0, 2.0]
    outs = step(x)
    eager = model(x)
    assert isinstance(outs, list) and len(outs) == 2
    for out, e in zip(outs, eager):
        assert _close(out.data, e.data)
        want = dict(zip(params, ag.grad(e, params)))
        assert set(out.children) <= set(params)
        for child, local in zip(out.children, out.local_grads):
            assert _close(local, want[child])
    loss = outs[0] * outs[1]
    got = _grads(lambda: step(x)[0] * step(x)[1], params)
    want_grads = _grads(lambda: model(x)[0] * model(x)[1], params)
    _assert_same(got, want_grads)
    assert loss.data == pytest.approx(eager[0].data * eager[1].data)
    assert step.traces == 1


def test_a_tuple_stays_a_tuple_and_map_gives_one_per_sample() -> None:
    a = Value(2.0)
    step = ag.compile(lambda x: (a * x, a + x, x * x))
    out = step(Value(3.0))
    assert isinstance(out, tuple) and [o.data for o in out] == [6.0, 5.0, 9.0]
    assert out[2].local_grads == (6.0,)
    rows = step.map([1.0, 2.0])
    assert [[o.data for o in row] for row in rows] == [[2.0, 3.0, 1.0], [4.0, 4.0, 4.0]]
    assert rows[1][0].children == (a,) and rows[1][0].local_grads == (2.0,)
    with no_grad():
        assert [o.data for o in step.map([1.0])[0]] == [2.0, 3.0, 1.0]


def _is_forward_only(source: str) -> bool:
    """True if source has no backward sweep: no step d_child (+)= ... at all."""
    return "# backward pass" not in source and not any(
        line.lstrip().startswith("d_") for line in source.splitlines())


def test_several_outputs_get_their_sweeps_only_once_a_call_needs_gradients() -> None:
    model = MLP(3, [4, 3], activation="tanh", seed=0)
    scale = Value(1.5, label="scale")
    leaves = [*model.parameters(), scale]

    def fn(x, s):
        return [out * s for out in model(x)]

    step = ag.compile(fn)
    xs = [[0.5, -1.0, 2.0], [0.1, 0.2, -0.3], [-1.5, 0.7, 0.0]]
    weights = [1.0, -2.0, 0.5]  # a loss of every output, so each output's sweep counts

    def check_forward() -> None:
        with no_grad():
            rows = step.map(xs, [scale] * len(xs))
            one = step(xs[0], scale)
            eager = [fn(x, scale) for x in xs]
        for row, want in zip([*rows, one], [*eager, eager[0]]):
            assert len(row) == 3 and all(_close(o.data, e.data) for o, e in zip(row, want))
            assert all(o.children == () for o in row)

    def check_gradients() -> None:
        for x in xs:
            got, want = ag.dot(weights, step(x, scale)), ag.dot(weights, fn(x, scale))
            assert _close(got.data, want.data)
            assert all(_close(g, w) for g, w in zip(ag.grad(got, leaves), ag.grad(want, leaves)))
            for out, e in zip(step(x, scale), fn(x, scale)):  # each output's own derivatives
                assert _close(out.data, e.data)
                want = ag.grad(e, list(out.children))
                assert all(_close(g, w) for g, w in zip(out.local_grads, want))

    check_forward()
    forward_only = step.source
    assert _is_forward_only(forward_only)
    assert forward_only.splitlines()[0].endswith("; the forward pass only.")
    assert step._last is not None and step._last.plan is not None  # kept for the sweeps
    check_gradients()
    full = step.source
    assert "# backward pass" in full and full.count("local_grads.append((") == 3
    # The forward-only program is the full one's start (but for its header and return).
    head = forward_only.splitlines()
    assert head[1:-2] == full.splitlines()[1:len(head) - 2]
    assert step._last.plan is None  # the Plan goes once the whole program is written
    assert step.traces == 1
    for _ in range(2):  # back and forth: no new trace, no new program, still eager's results
        check_forward()
        assert step.source is full
        check_gradients()
        assert step.source is full
    assert step.traces == 1


def test_several_outputs_called_with_gradients_first_get_the_whole_program_at_once() -> None:
    a = Value(2.0)
    step = ag.compile(lambda x: [a * x, (a + x).tanh()])
    out = step(0.5)
    assert out[1].local_grads == pytest.approx([1.0 - math.tanh(2.5) ** 2], rel=1e-12)
    full = step.source
    assert "# backward pass" in full and "forward pass only" not in full
    with no_grad():
        rows = step.map([0.5, -1.0])
    assert [[o.data for o in row] for row in rows] == [[1.0, math.tanh(2.5)],
                                                        [-2.0, math.tanh(1.0)]]
    assert step.source is full and step.traces == 1


def test_one_output_writes_its_sweep_at_the_first_call_even_under_no_grad() -> None:
    model = MLP(2, [4, 1], seed=0)
    params = model.parameters()
    xs, ys = _points(5)

    def loss(x, y):
        return hinge_loss([model(x)[0]], [y])

    step = ag.compile(loss)
    with no_grad():
        first = step.map(xs, ys)
    source = step.source
    assert "# backward pass" in source and "d_L0_n0_w0 += " in source
    assert "forward pass only" not in source
    assert step._last is not None and step._last.plan is None
    assert [o.data for o in first] == pytest.approx([loss(x, y).data for x, y in zip(xs, ys)],
                                                    rel=1e-12)
    _assert_same(_grads(lambda: step.mean(xs, ys), params),
                 _grads(lambda: ag.mean([loss(x, y) for x, y in zip(xs, ys)]), params))
    assert step.source is source and step.traces == 1


def test_mean_of_a_function_returning_a_list_raises() -> None:
    step = ag.compile(lambda x: [x * 2.0, x * 3.0])
    with pytest.raises(TypeError, match=r"mean needs <lambda> to return one Value.*got 2"):
        step.mean([1.0, 2.0])
    with pytest.raises(TypeError, match="flat list or tuple of Values, got an empty list"):
        ag.compile(lambda x: [])(1.0)
    with pytest.raises(TypeError, match="flat list or tuple of Values, got list"):
        ag.compile(lambda x: [x, [x]])(1.0)


# ---- guards and errors, per sample ------------------------------------------------------------


def test_a_sample_whose_guard_fails_gets_a_trace_the_others_keep_theirs() -> None:
    w = Value(1.5)

    def branchy(x):
        return (w * x).exp() if x > 0 else (w * x).tanh()

    step = ag.compile(branchy)
    batch = [1.0, 2.0, -1.0, 0.5]
    got = _grads(lambda: step.mean(batch), [w])
    _assert_same(got, _grads(lambda: ag.mean([branchy(Value(x)) for x in batch]), [w]))
    assert step.traces == 2  # one per side, not one per sample
    step.mean([3.0, -2.0, -4.0, 0.1] * 10)
    assert step.traces == 2
    assert len(next(iter(step._programs.values()))) == 2


def test_a_sample_whose_math_fails_raises_eagers_error_and_nothing_changes() -> None:
    w = Value(1.0)
    step = ag.compile(lambda x: (w * x).log())
    step.mean([2.0, 3.0]).backward()
    before = w.grad
    with pytest.raises(ValueError, match=r"log: operand must be > 0, got -2.0"):
        step.mean([2.0, -2.0, -3.0])  # the first failing sample's error, as eager's
    with pytest.raises(OverflowError, match="exp"):
        ag.compile(lambda x: (w * x).exp()).sum([1.0, 1000.0])
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        ag.compile(lambda x: w / x).mean([1.0, 0.0])
    assert w.grad == before and w.data == 1.0
    assert _close(step.mean([3.0, 4.0]).data, (math.log(3.0) + math.log(4.0)) / 2)


def test_the_first_failing_sample_raises_even_when_a_later_one_fails_while_tracing() -> None:
    step = ag.compile(lambda xs: ag.sum(x.log() for x in xs))
    with pytest.raises(ValueError, match=r"got -1.0"):
        step.mean([[2.0], [-1.0], [-3.0, 1.0]])  # [-3.0, 1.0]: a structure traced on failing
    assert step.mean([[2.0], [3.0, 1.0]]).data == (math.log(2.0) + math.log(3.0)) / 2


def test_a_sample_the_code_cannot_finish_runs_eagerly_the_others_not() -> None:
    w = Value(2.0)
    step = ag.compile(lambda x: x.sqrt() * w)
    step.mean([Value(1.0)])
    # At x = 0 sqrt's slope is inf in the rule, 0.5 / 0 in the code: that sample runs eagerly.
    xs = [Value(1.0), Value(0.0), Value(4.0)]
    got = _grads(lambda: step.sum(xs), [w, *xs])
    want = _grads(lambda: ag.sum([x.sqrt() * w for x in xs]), [w, *xs])
    assert got == want and got[1][2] == math.inf
    # inf in the inputs: that sample eagerly, as a call would.
    assert step.mean([Value(1.0), Value(math.inf)]).data == math.inf
    assert step.traces == 1


def test_a_parameter_gone_inf_sends_the_batch_to_eager_code() -> None:
    w = Value(2.0)
    step = ag.compile(lambda x: (w * x).exp())
    step.mean([1.0])
    w.data = math.inf
    with pytest.raises(OverflowError, match="exp"):
        step.mean([1.0, 2.0])


def test_a_batch_inside_a_traced_function_is_inlined() -> None:
    w = Value(0.5)
    inner = ag.compile(lambda x: w * x)
    outer = ag.compile(lambda a, b: inner.mean([a, b]).tanh())
    out = outer(1.0, 3.0)
    assert _close(out.data, math.tanh(1.0)) and out.children == (w,)
    assert inner.traces == 0 and outer.traces == 1


def test_structures_differ_per_sample() -> None:
    step = ag.compile(lambda xs: ag.sum(x * x for x in xs))
    out = step.sum([[1.0, 2.0], [3.0], [1.0, 1.0]])
    assert out.data == 5.0 + 9.0 + 2.0
    assert step.traces == 2


# ---- what the batch does not change -----------------------------------------------------------


def test_under_no_grad_mean_returns_a_leaf() -> None:
    w = Value(2.0)
    step = ag.compile(lambda x: w * x)
    with no_grad():
        out = step.mean([1.0, 2.0, 3.0])
    assert out.data == 4.0 and out.children == () and out.op == ""


def test_the_code_does_not_grow_with_the_batch() -> None:
    model = MLP(2, [4, 1], seed=0)
    step = ag.compile(lambda x, y: hinge_loss([model(x)[0]], [y]))
    step.mean(*_points(3))
    small = step.source
    step.mean(*_points(300))
    assert step.source == small and step.traces == 1
    assert small.count("\n") < 200


def test_backward_through_the_batch_node_trains_like_eager() -> None:
    runs = []
    for compiled in (False, True):
        model = MLP(2, [6, 1], seed=4)
        params = model.parameters()

        def loss(x, y, model=model):
            return hinge_loss([model(x)[0]], [y])

        step = ag.compile(loss)
        xs, ys = _points(20)
        for _ in range(5):
            out = step.mean(xs, ys) if compiled else \
                ag.mean([loss(x, y) for x, y in zip(xs, ys)])
            for p in params:
                p.grad = 0.0
            out.backward()
            for p in params:
                p.data -= 0.1 * p.grad
        runs.append([p.data for p in params])
    assert all(_close(a, b) for a, b in zip(*runs))


@pytest.mark.parametrize("columns, error, message", [
    ((), TypeError, "needs one list per argument"),
    ((3.0,), TypeError, "argument 0 must be a list with one entry per sample, got float"),
    (([1.0], (x for x in [1.0])), TypeError, "argument 1 must be a list.*got generator"),
    (([1.0, 2.0], [1.0]), ValueError, r"one length.*got lengths \[2, 1\]"),
    (([], []), ValueError, "empty lists; a batch needs at least one sample"),
    ((["a"],), TypeError, "arguments must be Values, numbers.*got str"),
])
def test_bad_columns_raise_clearly_and_change_nothing(columns, error, message) -> None:
    w = Value(1.0)
    step = ag.compile(lambda x, *rest: w * x)
    for how in ("mean", "sum", "map"):
        with pytest.raises(error, match=message):
            getattr(step, how)(*columns)
    assert step.traces == 0 and w.grad == 0.0


# ---- the interface every backend keeps --------------------------------------------------------


def test_run_batch_reports_each_samples_status_and_sums_the_gradients() -> None:
    w = Value(2.0)

    def fn(x):
        return (w * x).log() if x > -5.0 else w * x

    step = ag.compile(fn)
    step(1.0)
    program = step._programs[next(iter(step._programs))][0].program
    result = program.run_batch([1.0, -6.0, 0.0, 3.0], 4, [2.0], 0.5, True)
    assert list(result.status) == [OK, RETRACE, EAGER, OK]  # log(0): a math error
    assert result.data[0] == math.log(2.0) and result.data[3] == math.log(6.0)
    assert list(result.grads) == [0.5 * (1 / 2.0 + 1 / 2.0)]  # d log(w x) / dw = 1 / w
    assert list(result.value_grads) == []
    data_only = program.run_batch([1.0, 3.0], 2, [2.0], 1.0, False)
    assert list(data_only.grads) == [] and list(data_only.status) == [OK, OK]


def test_run_batch_keeps_each_samples_argument_derivatives_in_its_place() -> None:
    step = ag.compile(lambda x: x.log() if x > 0.0 else x * 2.0)
    step(Value(1.0))
    program = step._programs[next(iter(step._programs))][0].program
    result = program.run_batch([1.0, -1.0, 4.0], 3, [], 1.0, True)
    assert list(result.status) == [OK, RETRACE, OK]
    assert list(result.value_grads) == [1.0, 0.0, 0.25]  # the failed sample's place: 0.0
    # A sample whose backward pass raises (sqrt's slope at 0 in the code): the batch is run
    # again one sample at a time, so only that sample goes to eager code.
    root = ag.compile(lambda x: x.sqrt())
    root(Value(4.0))
    program = root._programs[next(iter(root._programs))][0].program
    result = program.run_batch([4.0, 0.0, 1.0], 3, [], 1.0, True)
    assert list(result.status) == [OK, EAGER, OK] and list(result.value_grads) == [0.25, 0.0, 0.5]


# ---- the backend ------------------------------------------------------------------------------


def test_the_backend_is_checked_when_compiling() -> None:
    with pytest.raises(ValueError, match="backend must be 'python' or 'native', got 'c'"):
        ag.compile(lambda x: x, backend="c")


def test_native_without_llvmlite_says_how_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "llvmlite", None)  # import llvmlite now fails
    w = Value(2.0)
    step = ag.compile(lambda x: w * x, backend="native")  # the first call writes the code
    with pytest.raises(ImportError, match=r'pip install -e "\.\[native\]"'):
        step(1.0)
    with pytest.raises(ImportError, match="needs llvmlite"):
        step.mean([1.0, 2.0])
    assert step.traces == 0 and w.grad == 0.0


def test_native_gives_the_python_backends_results() -> None:
    pytest.importorskip("llvmlite")
    if importlib.util.find_spec("autograd.compile.native") is None:
        pytest.skip("the native writer is not on this branch yet")
    model = MLP(2, [4, 1], seed=0)
    params = model.parameters()
    results = []
    for backend in ("python", "native"):
        step = ag.compile(lambda x, y: hinge_loss([model(x)[0]], [y]), backend=backend)
        results.append(_grads(lambda step=step: step.mean(*_points(10)), params))
        assert step.source.startswith("# Written by ag.compile")
    _assert_same(results[1], results[0])


# ---- a dataset's batch: plain floats, read column by column ----------------------------------


def _spy_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the batches that take the general path (_run), not the columns' fast one."""
    runs: list[int] = []
    general = Compiled._run

    def counted(self, samples, *args):
        runs.append(len(samples))
        return general(self, samples, *args)

    monkeypatch.setattr(Compiled, "_run", counted)
    return runs


@pytest.mark.parametrize("kind", [list, tuple])
def test_a_batch_of_plain_floats_runs_the_trace_without_the_general_path(
        kind: type, monkeypatch: pytest.MonkeyPatch) -> None:
    model = MLP(2, [6, 1], seed=3)
    params = model.parameters()

    def loss(x, y):
        return hinge_loss([model(list(x))[0]], [y])

    step = ag.compile(loss)
    xs, ys = _points(12, seed=4)
    runs = _spy_runs(monkeypatch)
    step.mean(xs[:1], ys[:1])  # the trace: through the general path
    assert runs == [1]
    columns = [kind(x) for x in xs], ys
    for how in ("mean", "sum"):
        got = _grads(lambda how=how: getattr(step, how)(*columns), params)
        want = _grads(lambda how=how: getattr(ag, how)([loss(x, y) for x, y in zip(xs, ys)]),
                      params)
        _assert_same(got, want)
    # A tuple is a structure of its own: traced through the general path once, then fast.
    assert runs == ([1] if kind is list else [1, 12])
    assert step.traces == (1 if kind is list else 2)


def test_the_fast_path_and_the_general_one_share_traces() -> None:
    w = Value(0.7)
    step = ag.compile(lambda x, y: (w * x[0] + x[1] * y).tanh())
    step.mean([[1.0, 2.0]], [3.0])  # general: traces
    step.mean([[0.5, -1.0], [2.0, 0.25]], [1.0, -2.0])  # fast
    step.mean([[0.5, -1.0]], [Value(1.0)])  # a Value: general path, a structure of its own
    step.mean([[0.5, -1.0], [2.0, 1.0]], [1.0, 2])  # an int: general, its own structure too
    assert step.traces == 3
    step.mean([[9.0, 1.0]] * 3, [0.5] * 3)
    assert step.traces == 3


def test_a_failing_guard_in_a_fast_batch_falls_back_and_stays_general(
        monkeypatch: pytest.MonkeyPatch) -> None:
    w = Value(1.5)

    def branchy(x):
        return (w * x).exp() if x > 0 else (w * x).tanh()

    step = ag.compile(branchy)
    step.mean([1.0])
    runs = _spy_runs(monkeypatch)
    batch = [1.0, 2.0, -1.0, 0.5]
    got = _grads(lambda: step.mean(batch), [w])
    _assert_same(got, _grads(lambda: ag.mean([branchy(Value(x)) for x in batch]), [w]))
    assert runs == [4] and step.traces == 2
    step.mean([3.0, 4.0])  # that structure's guards once failed: the general path from now
    assert runs == [4, 2]


def test_inf_in_a_fast_batch_runs_that_sample_eagerly() -> None:
    w = Value(2.0)
    step = ag.compile(lambda x: (w * x).exp())
    step.mean([1.0])
    with pytest.raises(OverflowError, match="exp"):
        step.mean([1.0, math.inf])
    assert step.mean([0.0, math.nan]).data != step.mean([0.0, math.nan]).data  # NaN, eagerly
    w.data = math.inf
    with pytest.raises(OverflowError, match="exp"):
        step.mean([1.0, 2.0])
    w.data = 2.0
    assert _close(step.mean([0.5, 1.0]).data, (math.exp(1.0) + math.exp(2.0)) / 2)


@pytest.mark.parametrize("columns", [
    ([[1.0, 2.0], [3.0]],),  # lengths differ: a structure each
    ([[1.0, True]],),  # a bool is structure
    ([[1.0, 2.0], (3.0, 4.0)],),  # a list and a tuple
    ([[], []],),  # empty lists: one structure, no inputs
    ([1.0, 2.0], [[1.0], [2.0]]),
])
def test_columns_the_fast_path_may_or_may_not_take_give_eagers_results(columns) -> None:
    w = Value(0.3)

    def fn(*args):
        total = w * 1.0
        for arg in args:
            for v in (arg if isinstance(arg, (list, tuple)) else [arg]):
                total = total + w * v
        return total.tanh()

    step = ag.compile(fn)
    for _ in range(2):  # the first call traces, the second runs the traces
        got = _grads(lambda: step.sum(*columns), [w])
        want = _grads(lambda: ag.sum([fn(*args) for args in zip(*columns)]), [w])
        _assert_same(got, want)


def test_nested_columns_of_floats_take_the_fast_path_with_the_general_ones_trace(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A CNN's sample: channels of signals, lists of lists of floats; one-hot targets.
    w = [Value(0.1 * (k + 1)) for k in range(6)]

    def loss(x, y):
        total = ag.dot(w, [v for channel in x for v in channel])
        return (total * y[0] + y[1]).tanh()

    step = ag.compile(loss)
    rng = random.Random(7)
    xs = [[[rng.uniform(-1, 1) for _ in range(3)] for _ in range(2)] for _ in range(9)]
    ys = [[rng.uniform(-1, 1), 0.5] for _ in range(9)]
    step.mean(xs[:1], ys[:1])
    runs = _spy_runs(monkeypatch)
    got = _grads(lambda: step.mean(xs, ys), w)
    _assert_same(got, _grads(lambda: ag.mean([loss(x, y) for x, y in zip(xs, ys)]), w))
    assert runs == [] and step.traces == 1
    ragged = [[[1.0, 2.0, 3.0], [4.0, 5.0]]]  # one channel shorter: the general path
    flat_w = w[:5]

    def short(x, y):
        return ag.dot(flat_w, [v for channel in x for v in channel]) * y[0]

    other = ag.compile(short)
    other.mean(ragged, [[2.0, 0.0]])
    other.mean(ragged, [[2.0, 0.0]])
    assert len(runs) == 2 and other.traces == 1


# ---- nodes that read no argument: computed once for the batch ---------------------------------


def _backends() -> list[object]:
    native = pytest.param("native", marks=pytest.mark.skipif(
        importlib.util.find_spec("llvmlite") is None,
        reason='the native backend needs llvmlite: pip install -e ".[native]"'))
    return ["python", native]


def _penalized(model: MLP, params: list[Value]) -> Callable[[list[float], float], Value]:
    def loss(x: list[float], y: float) -> Value:
        return hinge_loss([model(x)[0]], [y]) + 1e-2 * ag.dot(params, params)
    return loss


@pytest.mark.parametrize("backend", _backends())
def test_a_penalty_on_the_parameters_is_computed_once_and_equals_eager(backend: str) -> None:
    model = MLP(2, [6, 6, 1], seed=4)
    params = model.parameters()
    loss = _penalized(model, params)
    step = ag.compile(loss, backend=backend)
    for seed in range(2):
        xs, ys = _points(30, seed)
        got = _grads(lambda xs=xs, ys=ys: step.mean(xs, ys), params)
        want = _grads(lambda xs=xs, ys=ys: ag.mean([loss(x, y) for x, y in zip(xs, ys)]),
                      params)
        _assert_same(got, want)
    source = step.source
    loop = source.index("for k in range(")
    # The penalty's dot before the loop over the samples, its steps after it.
    assert source.index("fsum((") < loop
    assert "the nodes computed once: their steps" in source[loop:]
    if backend == "native":
        assert "define internal i1 @once(" in step.ir and "@once_backward(" in step.ir


@pytest.mark.parametrize("backend", _backends())
def test_a_result_that_reads_no_argument_counts_once_per_sample(backend: str) -> None:
    w = Value(1.5)
    b = Value(-0.5)
    step = ag.compile(lambda x: (w * w + b).tanh() + 0.0 * x, backend=backend)
    only = ag.compile(lambda x: (w * w + b).tanh(), backend=backend)
    for f in (step, only):
        w.grad = b.grad = 0.0
        out = f.sum([1.0, 2.0, 3.0])
        out.backward()
        t = math.tanh(1.75)
        assert _close(out.data, 3 * t)
        assert _close(w.grad, 3 * (1 - t * t) * 3.0) and _close(b.grad, 3 * (1 - t * t))


@pytest.mark.parametrize("backend", _backends())
def test_a_math_error_in_a_node_computed_once_runs_every_sample_eagerly(backend: str) -> None:
    w = Value(2.0)
    step = ag.compile(lambda x: w.log() * x, backend=backend)
    assert _close(step.mean([1.0, 3.0]).data, 2.0 * math.log(2.0))
    traces = step.traces
    w.data = -1.0
    w.grad = 0.0
    with pytest.raises(ValueError, match="log"):
        step.mean([1.0, 3.0])
    assert w.grad == 0.0 and step.traces == traces
    w.data = 4.0
    out = step.mean([1.0, 3.0])
    out.backward()
    assert _close(out.data, 2.0 * math.log(4.0)) and _close(w.grad, 2.0 / 4.0)


@pytest.mark.parametrize("backend", _backends())
def test_a_guard_on_a_node_computed_once_traces_again_when_it_flips(backend: str) -> None:
    w = Value(0.5)

    def fn(x: float) -> Value:
        s = w * w - 1.0
        return s * x if s > 0 else -s * x

    step = ag.compile(fn, backend=backend)
    for data in (0.5, 2.0, 0.25):
        w.data, w.grad = data, 0.0
        out = step.mean([1.0, 2.0])
        out.backward()
        s = data * data - 1.0
        assert _close(out.data, abs(s) * 1.5)
        assert _close(w.grad, (1.0 if s > 0 else -1.0) * 2 * data * 1.5)
    assert step.traces == 2


def test_a_batch_node_over_parameters_tells_backward_its_children_are_leaves() -> None:
    params = [Value(0.1 * i - 1.0) for i in range(20)]
    w = Value(1.5)
    by_hand = Value(3.0, children=[w], local_grads=[2.0], op="custom")  # read as a leaf

    def with_hand(x: float) -> Value:
        return ag.dot(params, [x] * 20) * by_hand

    def plain(x: float) -> Value:
        return ag.dot(params, [x] * 20).tanh()

    for fn, flagged in ((plain, True), (with_hand, False)):
        step = ag.compile(fn)
        xs = [0.5, -0.25, 1.0]
        step.mean(xs)  # the first call traces (and runs the general path)
        got = _grads(lambda step=step, xs=xs: step.mean(xs), [*params, w])
        want = _grads(lambda fn=fn, xs=xs: ag.mean([fn(x) for x in xs]), [*params, w])
        _assert_same(got, want)
        assert step.mean(xs).op.params.get("distinct_leaves", False) is flagged
    assert w.grad == 0.0 and want[1][-1] != 0.0  # through the node made by hand, to w


# ---- ag.Batch: the columns checked and packed once ------------------------------------------


BACKENDS = ["python"] + (["native"] if importlib.util.find_spec("llvmlite") else [])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("how", ["mean", "sum"])
def test_a_batch_gives_the_node_its_lists_give(backend: str, how: str) -> None:
    model = MLP(2, [8, 8, 1], seed=2)
    params = model.parameters()
    step = ag.compile(lambda x, y: hinge_loss([model(x)[0]], [y]), backend=backend)
    xs, ys = _points(23, seed=4)
    batch = ag.Batch(xs, ys)
    assert len(batch) == 23 and repr(batch) == "Batch(23 samples, 2 columns)"
    want = _grads(lambda: getattr(step, how)(xs, ys), params)
    for _ in range(2):  # the first traced from the lists, then replays
        got = _grads(lambda: getattr(step, how)(batch), params)
        assert got == want
    node = getattr(step, how)(batch)
    assert node.op.params.get("distinct_leaves") and set(node.children) == set(params)
    with no_grad():
        assert [v.data for v in step.map(batch)] == [v.data for v in step.map(xs, ys)]
    assert step.traces == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_batch_is_a_snapshot_of_its_lists(backend: str) -> None:
    w = Value(0.5)
    step = ag.compile(lambda x, y: (w * x[0] + x[1] - y) ** 2, backend=backend)
    xs, ys = [[1.0, 2.0], [3.0, -1.0]], [0.5, 0.25]
    batch = ag.Batch(xs, ys)
    before = step.mean(batch).data
    xs[0][0], ys[1] = 100.0, -7.0  # changes after it was made are not in it
    xs.append([1.0, 1.0])
    assert step.mean(batch).data == before and len(batch) == 2
    assert batch.columns == ([[1.0, 2.0], [3.0, -1.0]], [0.5, 0.25])
    assert batch.numbers == [1.0, 2.0, 0.5, 3.0, -1.0, 0.25]


@pytest.mark.parametrize("backend", BACKENDS)
def test_take_gives_the_mini_batch_its_samples_make(backend: str) -> None:
    model = MLP(3, [4, 1], seed=5)
    params = model.parameters()
    step = ag.compile(lambda x, y: (model(x)[0] - y) ** 2, backend=backend)
    rng = random.Random(6)
    xs = [tuple(rng.uniform(-1, 1) for _ in range(3)) for _ in range(30)]
    ys = [rng.uniform(-1, 1) for _ in range(30)]
    data = ag.Batch(xs, ys)
    for indices in ([4, 0, 29, 4], list(range(5, 17)), [-1, -30, 7]):
        part = data.take(indices)
        picked = [i % 30 for i in indices]
        assert len(part) == len(indices) and part.shape == data.shape
        assert part.columns == ([xs[i] for i in picked], [ys[i] for i in picked])
        assert part.numbers == [v for i in picked for v in (*xs[i], ys[i])]
        want = _grads(lambda picked=picked: step.mean([xs[i] for i in picked],
                                                      [ys[i] for i in picked]), params)
        assert _grads(lambda part=part: step.mean(part), params) == want
    assert step.traces == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_batch_whose_guards_fail_or_holding_inf_takes_the_general_path(backend: str) -> None:
    w = Value(1.5)

    def fn(x: Value) -> Value:
        y = w * x
        return y.tanh() if y > 0.0 else -y * 3.0

    step = ag.compile(fn, backend=backend)
    step.mean([1.0])
    for xs in ([1.0, 2.0, -1.0, 3.0], [0.5, math.inf, -0.25], [-math.inf, 0.1]):
        got = _grads(lambda xs=xs: step.mean(ag.Batch(xs)), [w])
        want = _grads(lambda xs=xs: ag.mean([fn(Value(x)) for x in xs]), [w])
        assert got[0] == want[0] or (math.isnan(got[0]) and math.isnan(want[0]))
        assert _close(got[1][0], want[1][0]) or all(math.isnan(g[1][0]) for g in (got, want))
    assert step.traces == 2
    inf = ag.Batch([0.5, math.inf])
    assert not inf.finite and not inf.take([1]).finite and inf.take([0]).finite


@pytest.mark.parametrize("columns, error, message", [
    ((), TypeError, "needs one list per argument"),
    (([1, 2],), TypeError, "only real numbers"),
    (([1.0, True],), TypeError, "only real numbers"),
    (([Value(1.0)],), TypeError, "Values are not numbers of a batch"),
    (([[1.0, 2.0], [3.0]],), TypeError, "of one length"),
    (([[1.0], (2.0,)],), TypeError, "only lists"),
    (([1.0, 2.0], [1.0]), ValueError, r"one length.*got lengths \[2, 1\]"),
    (([],), ValueError, "empty lists"),
    (("ab",), TypeError, "argument 0 must be a list"),
])
def test_bad_batch_columns_raise_clearly(columns, error, message) -> None:
    with pytest.raises(error, match=message):
        ag.Batch(*columns)


def test_a_batch_goes_alone_and_take_checks_its_indices() -> None:
    w = Value(1.0)
    step = ag.compile(lambda x, y: w * x * y)
    batch = ag.Batch([1.0, 2.0], [3.0, 4.0])
    for how in ("mean", "sum", "map"):
        with pytest.raises(TypeError, match="pass an ag.Batch alone"):
            getattr(step, how)(batch, [1.0, 2.0])
    for empty in ([], range(0), ()):
        with pytest.raises(TypeError, match="non-empty sequence of integers"):
            batch.take(empty)
    for not_indices in (1, "01", None):
        with pytest.raises(TypeError, match="non-empty sequence of integers"):
            batch.take(not_indices)
    for bad in (1.0, True, "0", None):
        with pytest.raises(TypeError, match="is not an integer"):
            batch.take([0, bad])
    with pytest.raises(IndexError, match=r"index 2 is out of range.*from -2 to 1"):
        batch.take([0, 2])
    with pytest.raises(IndexError, match="index -3 is out of range"):
        batch.take([-3])
    with pytest.raises(IndexError, match="index 10000000000000000000 is out of range"):
        batch.take(range(10 ** 19 + 1))  # its ends are read, not every index
    assert step.traces == 0 and w.grad == 0.0


def test_a_batch_cannot_be_changed_from_outside() -> None:
    w = Value(0.5)
    step = ag.compile(lambda x, y: (w * x[0] - y) ** 2)
    batch = ag.Batch([[1.0], [2.0], [3.0]], [0.5, 1.0, 1.5])
    part = batch.take([2, 0])
    before = (step.mean(batch).data, step.mean(part).data,
              [v.data for v in step.map(batch)])
    batch.numbers[0] = 1000.0  # copies: the batch keeps its own
    batch.columns[0][0][0] = 1000.0
    batch.columns[1].append(7.0)
    with pytest.raises(AttributeError):
        batch.shape = ()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        batch.finite = False  # type: ignore[misc]
    assert (step.mean(batch).data, step.mean(part).data,
            [v.data for v in step.map(batch)]) == before
    assert len(batch) == 3 and batch.numbers == [1.0, 0.5, 2.0, 1.0, 3.0, 1.5]


def test_numpy_numbers_are_a_batchs_floats_and_index_it() -> None:
    np = pytest.importorskip("numpy")
    w = Value(1.5)
    step = ag.compile(lambda x, y: (w * x[0] + x[1] - y) ** 2)
    xs = [[np.float64(0.5), 1.0], [2.0, np.float32(-1.5)]]
    ys = [np.float64(1.0), 0.25]
    batch = ag.Batch(xs, ys)
    assert batch.numbers == [0.5, 1.0, 1.0, 2.0, -1.5, 0.25]
    assert all(type(v) is float for v in batch.numbers)
    assert step.mean(batch).data == step.mean(xs, ys).data
    picked = batch.take(np.array([1, 0, 1]))
    assert picked.numbers == [2.0, -1.5, 0.25, 0.5, 1.0, 1.0, 2.0, -1.5, 0.25]
    assert batch.take([np.int64(-1)]).numbers == [2.0, -1.5, 0.25]
