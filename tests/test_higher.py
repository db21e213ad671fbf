"""grad(create_graph=True) and hessian(): derivatives of derivatives, against PyTorch float64,
finite differences and the float sweep; untouched .grad, unreached inputs, deep graphs."""

from __future__ import annotations

import dataclasses
import doctest
import math
import random
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies import CASES, DAG_OPS, Dag, OpCase, dags, tame

import autograd as ag
from autograd import GradcheckError, Value, gradcheck, gradgradcheck, hessian, no_grad, ops
from autograd.graph import topological_order
from nn import MLP, cross_entropy, mse_loss

# Second and third derivatives: the same formulas in another order, so a few ulps apart, and
# more where a derivative is a difference of nearly equal terms.
CLOSE = {"rel": 1e-9, "abs": 1e-12}
# The ops whose Value-built local derivatives are computed another way than the float rule
# (e**(x - logsumexp) rather than e**x / sum): equal to rounding, not bit for bit.
ROUNDED = {"logsumexp", "softmax", "log_softmax"}
torch_cases = pytest.mark.parametrize("case", [c for c in CASES if c.torch],
                                      ids=lambda c: c.name)


def test_docstring_examples_pass() -> None:
    import autograd.higher

    result = doctest.testmod(autograd.higher)
    assert result.attempted > 0 and result.failed == 0


# ---- the derivatives, order by order ---------------------------------------------------------


def derivatives(call: Callable[[list[Value]], Value], point: Sequence[float],
                order: int) -> list[list[float]]:
    """Every partial derivative of orders 1..order at point, flattened per order, from grad()."""
    leaves = [Value(x) for x in point]
    outs = [call(leaves)]
    found = []
    for _ in range(order):
        outs = [g for out in outs for g in ag.grad(out, leaves, create_graph=True)]
        found.append([g.data for g in outs])
    return found


def torch_derivatives(fn: Callable[[Any, list[Any]], Any], point: Sequence[float],
                      order: int) -> list[list[float]]:
    """The same from torch.autograd.grad(create_graph=True) on 0-d float64 tensors."""
    torch = pytest.importorskip("torch")
    leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in point]
    outs = [fn(torch, leaves)]
    found = []
    for _ in range(order):
        following = []
        for out in outs:
            if out.requires_grad:
                grads = torch.autograd.grad(out, leaves, create_graph=True, allow_unused=True)
            else:  # a constant derivative: everything after it is 0
                grads = (None,) * len(leaves)
            following += [torch.zeros((), dtype=torch.float64) if g is None else g
                          for g in grads]
        outs = following
        found.append([g.item() for g in outs])
    return found


@pytest.mark.torch
@torch_cases
def test_second_and_third_derivatives_match_torch(case: OpCase) -> None:
    assert case.torch is not None
    order = 3 if len(case.ranges) <= 4 else 2  # dot's 6 inputs: 258 sweeps at order 3
    for point in case.points():
        if case.name == "a**b" and point[1] == 0.0:
            # PyTorch zeroes d(a**b)/da where b == 0 with a torch.where, so its d2/da db is 0
            # there (and differs from its d2/db da). Ours keeps the math: see
            # test_mixed_derivative_of_a_power_at_exponent_zero.
            continue
        ours = derivatives(case.call, point, order)
        theirs = torch_derivatives(case.torch, point, order)
        for k in range(order):
            assert ours[k] == pytest.approx(theirs[k], **CLOSE), (point, k + 1)


@pytest.mark.torch
@torch_cases
@settings(max_examples=10)
@given(data=st.data())
def test_second_derivatives_match_torch_on_drawn_inputs(case: OpCase,
                                                        data: st.DataObject) -> None:
    assert case.torch is not None
    point = data.draw(case.inputs, label="inputs")
    assume(not (case.name == "a**b" and point[1] == 0.0))  # see the test above
    ours, theirs = derivatives(case.call, point, 2), torch_derivatives(case.torch, point, 2)
    assert ours[0] + ours[1] == pytest.approx(theirs[0] + theirs[1], **CLOSE)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_first_derivatives_with_and_without_create_graph_are_equal(case: OpCase) -> None:
    for point in case.points():
        leaves = [Value(x) for x in point]
        out = case.call(leaves)
        floats = ag.grad(out, leaves)
        values = [g.data for g in ag.grad(out, leaves, create_graph=True)]
        if case.covers in ROUNDED:
            assert values == pytest.approx(floats, **CLOSE)
        else:
            assert values == floats


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@settings(max_examples=10)
@given(data=st.data())
def test_second_derivatives_match_finite_differences(case: OpCase,
                                                     data: st.DataObject) -> None:
    assert gradgradcheck(case.call, data.draw(case.inputs, label="inputs"))


@pytest.mark.parametrize(("name", "call"), [
    ("relu", Value.relu), ("abs", abs), ("leaky_relu", lambda v: v.leaky_relu(0.2)),
])
@pytest.mark.parametrize("x", [-1.5, 2.0])
def test_kinked_ops_have_second_derivative_zero(name: str, call: Any, x: float) -> None:
    v = Value(x)
    (g,) = ag.grad(call(v) * 3.0, [v], create_graph=True)
    assert ag.grad(g, [v]) == [0.0]
    assert hessian(call(v), [v]) == [[0.0]]


# ---- Hessians: random programs, n-ary ops, nn losses -----------------------------------------


def torch_hessian(build: Callable[[Any, list[Any]], Any],
                  point: Sequence[float]) -> list[list[float]]:
    torch = pytest.importorskip("torch")
    matrix = torch.autograd.functional.hessian(
        lambda x: build(torch, list(x.unbind())), torch.tensor(list(point), dtype=torch.float64))
    return [[h.item() for h in row] for row in matrix]


def assert_matrix(ours: list[list[float]], theirs: list[list[float]], **tolerance: float) -> None:
    assert len(ours) == len(theirs)
    for row, expected in zip(ours, theirs):
        assert row == pytest.approx(expected, **tolerance)


@pytest.mark.torch
@settings(max_examples=40)
@given(dag=dags())
def test_hessian_of_random_programs_matches_torch(dag: Dag) -> None:
    leaves = [Value(x) for x in dag.leaves]
    nodes = dag.build(leaves)
    assume(tame(nodes))
    ours = hessian(nodes[-1], leaves)
    theirs = torch_hessian(lambda t, xs: dag.build_torch(t, xs)[-1], dag.leaves)
    assert_matrix(ours, theirs, rel=1e-8, abs=1e-10)


@settings(max_examples=40)
@given(dag=dags())
def test_random_programs_first_derivatives_agree_with_the_float_sweep(dag: Dag) -> None:
    leaves = [Value(x) for x in dag.leaves]
    root = dag.build(leaves)[-1]
    values = [g.data for g in ag.grad(root, leaves, create_graph=True)]
    floats = ag.grad(root, leaves)
    if any(DAG_OPS[name].name.split("[")[0] in ROUNDED for name, _ in dag.steps):
        assert values == pytest.approx(floats, rel=1e-12, abs=1e-14)
    else:
        assert values == floats


@pytest.mark.torch
def test_nary_ops_hessians_match_torch() -> None:
    point = [0.3, -1.2, 2.0, 0.7]

    def ours(v: list[Value]) -> Value:
        probs = ag.softmax([v[0] * v[1], v[2], 1.5, v[3]])
        logs = ag.log_softmax([v[0], -0.5, v[2] * v[3], v[1]])
        return (ag.dot(probs, [v[1], 2.0, v[0], v[3]]) + ag.mean([logs[0], v[1] ** 2])
                + ag.logsumexp([v[0], v[1], 3.0]) * ag.sum([v[2], 1.0], start=v[3]))

    def theirs(t: Any, v: list[Any]) -> Any:
        c = lambda x: t.tensor(x, dtype=t.float64)  # noqa: E731
        probs = t.softmax(t.stack([v[0] * v[1], v[2], c(1.5), v[3]]), 0)
        logs = t.log_softmax(t.stack([v[0], c(-0.5), v[2] * v[3], v[1]]), 0)
        return (t.dot(probs, t.stack([v[1], c(2.0), v[0], v[3]]))
                + t.stack([logs[0], v[1] ** 2]).mean()
                + t.logsumexp(t.stack([v[0], v[1], c(3.0)]), 0) * (v[2] + 1.0 + v[3]))

    leaves = [Value(x) for x in point]
    assert_matrix(hessian(ours(leaves), leaves), torch_hessian(theirs, point), rel=1e-10,
                  abs=1e-12)
    assert gradgradcheck(ours, point)


def _torch_mlp(t: Any, params: list[Any], x: Sequence[float], sizes: Sequence[int],
               activation: str) -> list[Any]:
    """The MLP's forward pass by hand on tensors: parameters in model.parameters() order."""
    act = {"tanh": t.tanh, "relu": t.relu, "sigmoid": t.sigmoid}[activation]
    values = [t.tensor(xi, dtype=t.float64) for xi in x]
    k = 0
    for layer, nout in enumerate(sizes):
        outs = []
        for _ in range(nout):
            w, b = params[k:k + len(values)], params[k + len(values)]
            k += len(values) + 1
            z = t.dot(t.stack(w), t.stack(values)) + b
            outs.append(z if layer == len(sizes) - 1 else act(z))
        values = outs
    return values


@pytest.mark.torch
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_mlp_mse_loss_hessian_in_a_few_parameters_matches_torch(activation: str) -> None:
    sizes = [3, 1]
    model = MLP(2, sizes, activation=activation, seed=0)
    params = model.parameters()
    xs, ys = [[0.5, -1.0], [1.5, 0.25], [-0.7, 0.9]], [0.3, -0.2, 1.1]
    loss = mse_loss([out[0] for out in model.forward_batch(xs)], ys)
    chosen = [0, 1, 2, 9, 12]  # two first-layer weights, a bias, two output weights
    ours = hessian(loss, [params[i] for i in chosen])

    def theirs(t: Any, picked: list[Any]) -> Any:
        full = [t.tensor(p.data, dtype=t.float64) for p in params]
        for i, p in zip(chosen, picked):
            full[i] = p
        preds = t.stack([_torch_mlp(t, full, x, sizes, activation)[0] for x in xs])
        return ((preds - t.tensor(ys, dtype=t.float64)) ** 2).mean()

    assert_matrix(ours, torch_hessian(theirs, [params[i].data for i in chosen]), rel=1e-10,
                  abs=1e-12)
    assert all(p.grad == 0.0 for p in params)


@pytest.mark.torch
def test_mlp_cross_entropy_hessian_matches_torch() -> None:
    sizes = [4, 3]
    model = MLP(2, sizes, activation="tanh", seed=1)
    params = model.parameters()
    xs, targets = [[0.5, -1.0], [1.5, 0.25]], [2, 0]
    loss = cross_entropy(model.forward_batch(xs), targets)
    chosen = [0, 4, 13, 20, 26]

    def theirs(t: Any, picked: list[Any]) -> Any:
        full = [t.tensor(p.data, dtype=t.float64) for p in params]
        for i, p in zip(chosen, picked):
            full[i] = p
        logits = t.stack([t.stack(_torch_mlp(t, full, x, sizes, "tanh")) for x in xs])
        return t.nn.functional.cross_entropy(logits, t.tensor(targets))

    assert_matrix(hessian(loss, [params[i] for i in chosen]),
                  torch_hessian(theirs, [params[i].data for i in chosen]), rel=1e-10,
                  abs=1e-12)


def test_hessian_is_exactly_symmetric() -> None:
    x, y, z = Value(0.4), Value(-1.1), Value(2.3)
    f = (x * y.exp() + z.sin() * x ** 3 / (y * y + 1.0)).tanh() * ag.logsumexp([x, y, z])
    h = hessian(f, [x, y, z])
    assert all(h[i][j] == h[j][i] for i in range(3) for j in range(3))
    assert h[0][1] != 0.0


def test_contract_example() -> None:
    x, y = Value(1.5), Value(-0.5)
    f = (x * y).tanh() + x ** 3
    gx, gy = ag.grad(f, [x, y], create_graph=True)
    gxx, gxy = ag.grad(gx, [x, y])
    sech2 = 1.0 - math.tanh(-0.75) ** 2
    assert (gx.data, gy.data) == pytest.approx([y.data * sech2 + 3 * 1.5 ** 2, 1.5 * sech2])
    assert gxx == pytest.approx(-2 * math.tanh(-0.75) * sech2 * 0.25 + 9.0, rel=1e-14)
    assert gxy == pytest.approx(sech2 - 2 * math.tanh(-0.75) * sech2 * -0.75, rel=1e-14)
    assert hessian(f, [x, y])[0] == pytest.approx([gxx, gxy], rel=1e-15)


# ---- the derivative is an ordinary graph -----------------------------------------------------


def test_derivative_graph_is_built_from_primitive_ops_only() -> None:
    x = Value(0.8, label="x")
    (g,) = ag.grad(x.tanh(), [x], create_graph=True)
    order = topological_order(g)
    assert x in order
    assert all(ops.SYMBOLS.get(node.op) or getattr(node.op, "key", None) in ops.OPS
               for node in order if node._edges)
    assert g.data == pytest.approx(1.0 - math.tanh(0.8) ** 2, rel=1e-15)


def test_backward_on_a_derivative_adds_the_second_derivative() -> None:
    x, y = Value(1.2), Value(-0.3)
    gx, _ = ag.grad(x * x * y + y.sin(), [x, y], create_graph=True)
    gx.backward()
    assert (x.grad, y.grad) == pytest.approx([2 * -0.3, 2 * 1.2], rel=1e-15)


def test_derivatives_to_any_order() -> None:
    x = Value(0.7)
    g = x.sin()
    for k in range(1, 7):
        (g,) = ag.grad(g, [x], create_graph=True)
        expected = [math.cos, lambda v: -math.sin(v), lambda v: -math.cos(v), math.sin][k % 4 - 1]
        assert g.data == pytest.approx(expected(0.7), rel=1e-14), k


def test_gradcheck_accepts_a_derivative() -> None:
    def first(v: list[Value]) -> Value:
        return ag.grad((v[0] * v[1]).sigmoid() * v[0].exp(), v, create_graph=True)[1]

    assert gradcheck(first, [0.3, -0.6])


def test_results_are_labelled_new_nodes() -> None:
    x, y = Value(2.0, label="x"), Value(3.0, label="y")
    f = x * y
    f.label = "f"
    gx, gy = ag.grad(f, [x, y], create_graph=True)
    # d(xy)/dx is y itself: the result is a node of its own, not y.
    assert gx is not y and gy is not x
    assert (gx.label, gy.label, y.label) == ("df/dx", "df/dy", "y")
    assert ag.grad(gx, [x, y]) == [0.0, 1.0]
    u, v = ag.grad((x + y).exp(), [x, y], create_graph=True)
    assert u is not v and u.data == v.data == math.exp(5.0)


def test_draw_dot_and_trace_take_the_derivative_graph() -> None:
    pytest.importorskip("graphviz")
    from autograd.viz import draw_dot

    x = Value(0.5, label="x")
    (g,) = ag.grad(x.tanh(), [x], create_graph=True)
    source = draw_dot(g).source
    assert "tanh" in source and "dout/dx" in source
    assert ag.trace_backward(g)


# ---- what must not change, and the edges -----------------------------------------------------


def test_no_grad_and_no_node_of_the_original_graph_changes() -> None:
    x, y = Value(0.9, label="x"), Value(-0.4, label="y")
    f = ag.softmax([x * y, y.exp(), x])[0] + ag.dot([x, 2.0], [y, x]) ** 2
    f.backward()
    order = topological_order(f)
    before = [(n.grad, n.data, n.op, n._edges, n.label, n._upstream) for n in order]
    gx, gy = ag.grad(f, [x, y], create_graph=True)
    hessian(f, [x, y])
    ag.grad(gx, [x, y])
    assert [(n.grad, n.data, n.op, n._edges, n.label, n._upstream) for n in order] == before
    assert all(n.grad == 0.0 for n in topological_order(gx) if n not in set(order))


def test_unreached_inputs_get_a_zero_value() -> None:
    x, y, z = Value(1.0), Value(2.0, label="y"), Value(3.0)
    f = x * 4.0
    gx, gy, gz = ag.grad(f, [x, y, z], create_graph=True)
    assert isinstance(gy, Value) and (gy.data, gy.children, gy.label) == (0.0, (), "dout/dy")
    assert gz.data == 0.0 and gz is not gy
    assert gx.data == 4.0 and ag.grad(gx, [x, y]) == [0.0, 0.0]
    assert hessian(f, [x, y]) == [[0.0, 0.0], [0.0, 0.0]]
    (leaf,) = ag.grad(x, [x], create_graph=True)
    assert leaf.data == 1.0 and leaf is not x


def test_ten_thousand_deep_graph() -> None:
    def chain(v: list[Value]) -> Value:
        y = v[0]
        for i in range(10_000):
            y = (y * 0.9995).sin() + 0.0001 * i if i % 2 else y * (1.0 + 1e-5 * y)
        return y

    x = Value(0.6)
    (g,) = ag.grad(chain([x]), [x], create_graph=True)
    (gg,) = ag.grad(g, [x])
    eps = 1e-5
    above = ag.grad(chain([(up := Value(0.6 + eps))]), [up])[0]
    below = ag.grad(chain([(down := Value(0.6 - eps))]), [down])[0]
    assert g.data == ag.grad(chain([x]), [x])[0]
    assert gg == pytest.approx((above - below) / (2 * eps), rel=1e-5)


def test_inside_no_grad_the_derivatives_are_leaves_and_hessian_still_works() -> None:
    x, y = Value(1.5), Value(0.5)
    f = x * x * y
    with no_grad():
        gx, gy = ag.grad(f, [x, y], create_graph=True)
        h = hessian(f, [x, y])
        assert not ag.is_grad_enabled()
    assert (gx.data, gy.data) == (1.5, 2.25)
    assert gx.children == () and gx.op == ""
    assert h == [[1.0, 3.0], [3.0, 0.0]]


def test_undefined_derivatives_behave_as_the_first_order_rule() -> None:
    x = Value(0.0)
    (g,) = ag.grad(x.sqrt(), [x], create_graph=True)
    assert g.data == math.inf == ag.grad(x.sqrt(), [x])[0]
    a, b = Value(-2.0), Value(2.0)
    da, db = ag.grad(a ** b, [a, b], create_graph=True)
    assert da.data == -4.0 and math.isnan(db.data) and math.isnan(ag.grad(a ** b, [a, b])[1])


def test_second_derivatives_are_stable_at_extremes() -> None:
    # The Value-built locals shift by the max as the float rules do: no overflow at 1000.
    a, b = Value(1000.0), Value(0.0)
    for f in [ag.softmax([a, b])[1], ag.log_softmax([a, b])[1], ag.logsumexp([a, b]),
              a.sigmoid() + (-a).sigmoid(), a.tanh()]:
        assert hessian(f, [a, b]) == [[0.0, 0.0], [0.0, 0.0]]


def test_mixed_derivative_of_a_power_at_exponent_zero() -> None:
    # d(a**b)/da = b a**(b-1) is 0 at b = 0, but its derivative in b is a**-1, not 0.
    a, b = Value(2.0), Value(0.0)
    assert_matrix(hessian(a ** b, [a, b]), [[0.0, 0.5], [0.5, math.log(2.0) ** 2]], rel=1e-15)


def test_hand_made_node_with_an_unknown_op_raises_clearly() -> None:
    x = Value(2.0)
    node = Value(6.0, op="triple", children=[x], local_grads=[3.0])
    assert ag.grad(node, [x]) == [3.0]
    with pytest.raises(ValueError, match="'triple'.*create_graph"):
        ag.grad(node * x, [x], create_graph=True)
    # Off every path to the inputs it is never differentiated, so it does not matter.
    (g,) = ag.grad(node * x, [node], create_graph=True)
    assert g.data == 2.0
    with pytest.raises(ValueError, match="'\\+'"):
        ag.grad(Value(1.0, op="+", children=[x], local_grads=[1.0]), [x], create_graph=True)


def test_hessian_rejects_what_is_not_a_value() -> None:
    x = Value(1.0)
    with pytest.raises(TypeError, match="hessian: output must be a Value, got float"):
        hessian(1.0, [x])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"hessian: inputs\[1\] must be a Value, got int"):
        hessian(x * x, [x, 3])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"grad: inputs\[0\]"):
        ag.grad(x * x, [2.0], create_graph=True)  # type: ignore[list-item]


# ---- gradgradcheck ---------------------------------------------------------------------------


def test_gradgradcheck_catches_a_wrong_second_derivative(monkeypatch: pytest.MonkeyPatch) -> None:
    # Right numbers, wrong graph: y * y.data has half the derivative of y * y.
    wrong = dataclasses.replace(ops.OPS["tanh"], local_values=lambda x, y: (1.0 - y * y.data,))
    monkeypatch.setitem(ops.OPS, "tanh", wrong)
    assert gradcheck(lambda v: v[0].tanh(), [0.7])
    with pytest.raises(GradcheckError, match=r"1 of 1 second derivatives disagree") as info:
        gradgradcheck(lambda v: v[0].tanh(), [0.7])
    assert "d2/dx0 dx0" in str(info.value) and "<- wrong" in str(info.value)


def test_gradgradcheck_rejects_bad_eps() -> None:
    with pytest.raises(ValueError, match="gradgradcheck: eps must be > 0"):
        gradgradcheck(lambda v: v[0] * v[0], [1.0], eps=0.0)


def test_gradgradcheck_on_a_random_mlp() -> None:
    rng = random.Random(4)
    model = MLP(3, [3, 1], activation="sigmoid", seed=2)
    xs = [[rng.uniform(-1, 1) for _ in range(3)] for _ in range(2)]

    def loss(v: list[Value]) -> Value:
        scaled = [[xi * v[0] + v[1] for xi in x] for x in xs]
        return mse_loss([model(x)[0] for x in scaled], [0.5, -0.5]) * v[2].exp()

    assert gradgradcheck(loss, [0.8, 0.1, -0.3])


# ---- found in review: each once wrong ------------------------------------------------------


def test_log_softmax_derivative_keeps_its_precision_beside_a_huge_input() -> None:
    x0, x1 = Value(-1e16), Value(0.5)
    y = ag.log_softmax([x0, x1])[0]
    (d1,) = ag.grad(y, [x1], create_graph=True)
    assert d1.data == ag.grad(y, [x1])[0] == -1.0
    assert ag.grad(d1, [x1]) == [pytest.approx(0.0, abs=1e-15)]


def test_gradgradcheck_checks_for_real_inside_no_grad() -> None:
    with ag.no_grad():
        assert ag.gradgradcheck(lambda v: v[0] ** 3 + v[0] * v[1], [0.3, -0.8])
        with pytest.raises(ValueError, match="made by hand"):  # before: True, unchecked
            ag.gradgradcheck(lambda v: Value(v[0].data ** 3, op="cube", children=(v[0],),
                                             local_grads=(3 * v[0].data ** 2,)) * 1.0, [0.3])
    assert ag.is_grad_enabled()


def test_an_overflowing_slope_is_infinite_as_in_the_float_rule() -> None:
    x = Value(1e-200)
    (d,) = ag.grad(x ** -1, [x], create_graph=True)
    assert d.data == ag.grad(x ** -1, [x])[0] == -math.inf


def test_a_hand_made_node_with_an_op_of_the_table_but_other_derivatives_is_refused() -> None:
    a, b = Value(1.0), Value(2.0)
    n = Value(a.data + 2 * b.data, op="+", children=(a, b), local_grads=(1.0, 2.0))
    with pytest.raises(ValueError, match="made by hand"):
        ag.grad(n * n, [a, b], create_graph=True)
    honest = Value(a.data + b.data, op="+", children=(a, b), local_grads=(1.0, 1.0))
    assert [g.data for g in ag.grad(honest * honest, [a, b], create_graph=True)] == [6.0, 6.0]
