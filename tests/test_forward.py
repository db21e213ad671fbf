"""jvp, vjp and jacobian: forward mode against reverse mode and PyTorch float64, on every op of the
table, random programs, compiled and hand-made nodes, and 100,000-deep graphs."""

from __future__ import annotations

import doctest
import math
import random
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import CASES, Dag, OpCase, dags, tame

import autograd as ag
from autograd import Value

CLOSE = {"rel": 1e-12, "abs": 1e-12}
torch_cases = pytest.mark.parametrize("case", [c for c in CASES if c.torch],
                                      ids=lambda c: c.name)


def test_docstring_examples_pass() -> None:
    import autograd.forward

    result = doctest.testmod(autograd.forward)
    assert result.attempted > 0 and result.failed == 0


def test_the_contract_example() -> None:
    x, y = Value(1.5), Value(-0.5)
    outs = [x * y, (x + y).tanh()]
    d = 1.0 - math.tanh(1.0) ** 2
    expected = [[-0.5, 1.5], [d, d]]
    for mode in ("reverse", "forward"):
        assert ag.jacobian(outs, [x, y], mode=mode) == [pytest.approx(row, **CLOSE)
                                                        for row in expected]
    assert ag.jvp(outs, [x, y], [1.0, 0.0]) == pytest.approx([-0.5, d], **CLOSE)
    assert ag.vjp(outs, [x, y], [1.0, 2.0]) == pytest.approx([-0.5 + 2 * d, 1.5 + 2 * d], **CLOSE)
    assert isinstance(ag.jvp(outs[0], [x, y], [0.0, 1.0]), float)


# ---- against PyTorch ----------------------------------------------------------------------------


def _torch_jacobian(torch, fn, point):
    inputs = tuple(torch.tensor(x, dtype=torch.float64) for x in point)
    return torch.autograd.functional.jacobian(lambda *xs: fn(torch, list(xs)), inputs)


@pytest.mark.torch
@torch_cases
def test_every_op_jacobian_both_modes_match_torch(case: OpCase) -> None:
    torch = pytest.importorskip("torch")
    assert case.torch is not None
    for point in case.points():
        leaves = [Value(x) for x in point]
        out = case.call(leaves)
        expected = [float(g) for g in _torch_jacobian(torch, case.torch, point)]
        for mode in ("reverse", "forward"):
            assert ag.jacobian(out, leaves, mode=mode) == [
                pytest.approx(expected, **CLOSE)], (mode, point)


@pytest.mark.torch
@torch_cases
@settings(max_examples=10)
@given(data=st.data())
def test_every_op_jvp_and_vjp_match_torch_func(case: OpCase, data: st.DataObject) -> None:
    torch = pytest.importorskip("torch")
    assert case.torch is not None
    point = data.draw(case.inputs, label="inputs")
    tangent = data.draw(st.lists(st.floats(-2.0, 2.0), min_size=len(point),
                                 max_size=len(point)), label="tangent")
    leaves = [Value(x) for x in point]
    out = case.call(leaves)
    primals = tuple(torch.tensor(x, dtype=torch.float64) for x in point)
    tangents = tuple(torch.tensor(t, dtype=torch.float64) for t in tangent)
    with warnings.catch_warnings():
        # torch.func's first use in a process calls the deprecated torch.jit.script.
        warnings.simplefilter("ignore", DeprecationWarning)
        value, expected = torch.func.jvp(lambda *xs: case.torch(torch, list(xs)), primals,
                                         tangents)
    assert out.data == pytest.approx(value.item(), **CLOSE)
    assert ag.jvp(out, leaves, tangent) == pytest.approx(expected.item(), **CLOSE)
    cotangent = tangent[0]
    tensors = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in point]
    (case.torch(torch, tensors) * cotangent).backward()
    theirs = [0.0 if t.grad is None else t.grad.item() for t in tensors]
    assert ag.vjp(out, leaves, cotangent) == pytest.approx(theirs, **CLOSE)


def _outputs(dag: Dag, leaves: list[Value]) -> list[Value]:
    nodes = dag.build(leaves)
    return nodes[len(leaves):][-3:]  # up to three outputs, often sharing their graph


@pytest.mark.torch
@settings(max_examples=40)
@given(dag=dags())
def test_random_programs_jacobian_matches_torch(dag: Dag) -> None:
    torch = pytest.importorskip("torch")
    leaves = [Value(x) for x in dag.leaves]
    if not tame(dag.build(leaves)):
        return
    outs = _outputs(dag, leaves)
    k = len(outs)
    theirs = torch.autograd.functional.jacobian(
        lambda *xs: torch.stack(dag.build_torch(torch, list(xs))[len(xs):][-k:]),
        tuple(torch.tensor(x, dtype=torch.float64) for x in dag.leaves))
    expected = [[float(theirs[j][i]) for j in range(len(leaves))] for i in range(k)]
    for mode in ("reverse", "forward"):
        found = ag.jacobian(outs, leaves, mode=mode)
        for row, want in zip(found, expected):
            assert row == pytest.approx(want, rel=1e-10, abs=1e-10), mode


# ---- forward mode equals reverse mode -------------------------------------------------------


@given(dag=dags(), data=st.data())
def test_random_programs_forward_equals_reverse(dag: Dag, data: st.DataObject) -> None:
    leaves = [Value(x) for x in dag.leaves]
    if not tame(dag.build(leaves)):
        return
    outs = _outputs(dag, leaves)
    forward = ag.jacobian(outs, leaves, mode="forward")
    reverse = ag.jacobian(outs, leaves, mode="reverse")
    for f_row, r_row in zip(forward, reverse):
        assert f_row == pytest.approx(r_row, **CLOSE)
    for out, row in zip(outs, reverse):
        assert ag.grad(out, leaves) == pytest.approx(row, **CLOSE)
    # J v and u J agree with the matrix: u (J v) == (u J) v.
    v = data.draw(st.lists(st.floats(-1.0, 1.0), min_size=len(leaves), max_size=len(leaves)))
    u = data.draw(st.lists(st.floats(-1.0, 1.0), min_size=len(outs), max_size=len(outs)))
    jv = ag.jvp(outs, leaves, v)
    uj = ag.vjp(outs, leaves, u)
    assert jv == pytest.approx([math.fsum(a * b for a, b in zip(row, v)) for row in reverse],
                               rel=1e-10, abs=1e-10)
    assert math.fsum(a * b for a, b in zip(u, jv)) == pytest.approx(
        math.fsum(a * b for a, b in zip(uj, v)), rel=1e-9, abs=1e-9)


def test_no_grad_changes_anywhere() -> None:
    x, y = Value(0.4), Value(-1.1)
    h = (x * y).sin() + x.exp()
    out = [h * y, h.tanh()]
    for node in ag.topological_order(out[0]) + ag.topological_order(out[1]):
        node.grad = 7.0
    ag.jvp(out, [x, y], [1.0, 1.0])
    ag.vjp(out, [x, y], [1.0, 1.0])
    ag.jacobian(out, [x, y], mode="forward")
    ag.jacobian(out, [x, y])
    assert all(node.grad == 7.0 for node in ag.topological_order(out[0]))
    assert all(node._upstream == 0.0 for node in ag.topological_order(out[0]))


def test_unreached_inputs_and_outputs_give_zero() -> None:
    x, y, lone = Value(2.0), Value(3.0), Value(5.0)
    assert ag.jacobian([x * x, lone], [x, y], mode="forward") == [[4.0, 0.0], [0.0, 0.0]]
    assert ag.jacobian([x * x, lone], [x, y]) == [[4.0, 0.0], [0.0, 0.0]]
    assert ag.jvp(x * 3.0, [y], [1.0]) == 0.0
    assert ag.vjp(x * 3.0, [y, x], 2.0) == [0.0, 6.0]
    assert ag.jacobian([], [x]) == [] and ag.jvp([], [x], [1.0]) == []


def test_an_inner_node_as_an_input_is_a_derivative_through_it_as_grad_gives() -> None:
    x = Value(1.5)
    h = x * x
    out = h.sin() + x
    # d out / d x counts every path (through h too); d out / d h only those through h.
    expected = ag.grad(out, [x, h])
    assert ag.jacobian(out, [x, h], mode="forward") == [pytest.approx(expected, **CLOSE)]
    assert ag.jacobian(out, [x, h]) == [pytest.approx(expected, **CLOSE)]


def test_an_input_given_twice_gets_both_tangents() -> None:
    x = Value(2.0)
    out = x * x * x
    assert ag.jvp(out, [x, x], [1.0, 0.5]) == pytest.approx(12.0 * 1.5)
    assert ag.jacobian(out, [x, x], mode="forward") == [[12.0, 12.0]]


def test_an_infinite_slope_off_the_path_does_not_spoil_other_inputs() -> None:
    # sqrt's slope at 0 is inf; 0 * inf would be NaN in a sweep that visited it needlessly.
    x, y = Value(0.0), Value(2.0)
    out = [x.sqrt() * 0.0 + y, y * 3.0]
    assert ag.jacobian(out, [y], mode="forward") == [[1.0], [3.0]]
    assert ag.jacobian(out, [y]) == [[1.0], [3.0]]
    assert ag.grad(out[0], [y]) == [1.0]


# ---- through every kind of node --------------------------------------------------------------


def test_through_a_compiled_node() -> None:
    w = Value(0.7, label="w")
    step = ag.compile(lambda a, b: (w * a + b).tanh() * a)
    x, y = Value(0.3), Value(-0.2)
    out = step(x, y)
    eager = (w * x + y).tanh() * x
    for mode in ("forward", "reverse"):
        assert ag.jacobian([out, out * 2.0], [x, y, w], mode=mode) == [
            pytest.approx(ag.grad(eager, [x, y, w]), **CLOSE),
            pytest.approx([2 * g for g in ag.grad(eager, [x, y, w])], **CLOSE)]


def test_through_a_hand_made_node() -> None:
    x = Value(2.0)
    cube = Value(8.0, op="cube", children=(x,), local_grads=(12.0,))
    out = cube * x
    assert ag.jvp(out, [x], [1.0]) == 8.0 + 2.0 * 12.0
    assert ag.jacobian(out, [x], mode="forward") == ag.jacobian(out, [x]) == [[32.0]]


def test_through_n_ary_ops_and_softmax() -> None:
    xs = [Value(v) for v in (0.1, -0.4, 2.0)]
    outs = ag.softmax(xs) + [ag.logsumexp(xs), ag.dot(xs, [1.0, 2.0, 3.0]), ag.mean(xs)]
    forward = ag.jacobian(outs, xs, mode="forward")
    reverse = ag.jacobian(outs, xs)
    for f_row, r_row, out in zip(forward, reverse, outs):
        assert f_row == pytest.approx(r_row, **CLOSE)
        assert r_row == pytest.approx(ag.grad(out, xs), **CLOSE)


@pytest.mark.slow
def test_a_100000_deep_graph() -> None:
    w = Value(0.999)
    x = Value(0.5)
    h = x
    for _ in range(100_000):
        h = (h * w).tanh() + 0.001
    expected = ag.grad(h, [x, w])
    assert ag.jacobian(h, [x, w], mode="forward") == [pytest.approx(expected, rel=1e-9)]
    assert ag.vjp(h, [x, w], 1.0) == pytest.approx(expected, rel=1e-9)
    assert ag.jvp(h, [x, w], [0.0, 1.0]) == pytest.approx(expected[1], rel=1e-9)


def test_outputs_that_use_each_other() -> None:
    rng = random.Random(0)
    x = Value(rng.uniform(-1, 1))
    a = x.sin()
    b = a * x
    c = b + a
    assert ag.jacobian([c, a, b], [x], mode="forward") == [
        pytest.approx(ag.grad(n, [x]), **CLOSE) for n in (c, a, b)]
    assert ag.vjp([c, a], [x], [1.0, 1.0]) == pytest.approx(
        [ag.grad(c, [x])[0] + ag.grad(a, [x])[0]], **CLOSE)


# ---- bad arguments -------------------------------------------------------------------------


def test_bad_arguments_raise_clearly() -> None:
    x = Value(1.0)
    out = x * 2.0
    with pytest.raises(ValueError, match="jvp: 1 inputs but 2 tangents"):
        ag.jvp(out, [x], [1.0, 2.0])
    with pytest.raises(TypeError, match=r"jvp: tangents\[0\] must be a real number, got str"):
        ag.jvp(out, [x], ["a"])
    with pytest.raises(TypeError, match=r"jvp: tangents\[0\] must be a real number, got Value"):
        ag.jvp(out, [x], [Value(1.0)])
    with pytest.raises(TypeError, match=r"vjp: outputs\[1\] must be a Value, got float"):
        ag.vjp([out, 2.0], [x], [1.0, 1.0])
    with pytest.raises(ValueError, match="vjp: 2 outputs but 1 cotangents"):
        ag.vjp([out, out], [x], [1.0])
    with pytest.raises(TypeError, match=r"jacobian: inputs\[0\] must be a Value, got int"):
        ag.jacobian(out, [3])
    with pytest.raises(TypeError, match="jacobian: inputs must be a sequence of Values"):
        ag.jacobian(out, x)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="jacobian: mode must be 'reverse' or 'forward'"):
        ag.jacobian(out, [x], mode="sideways")  # type: ignore[arg-type]
    assert x.grad == 0.0
