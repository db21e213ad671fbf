"""backward() and grad(): accumulation, diamonds, seeding with gradient=g, untouched .grad."""

from __future__ import annotations

import doctest
import importlib
import math

import pytest

import autograd as ag
from autograd import Value, grad, topological_order


def test_docstring_examples_pass() -> None:
    # By name: the package re-exports the function backward, which hides the module.
    result = doctest.testmod(importlib.import_module("autograd.backward"))
    assert result.attempted > 0 and result.failed == 0


def _net() -> tuple[Value, Value, Value, Value]:
    """a, b -> c = a * b -> d = c + a -> e = d.tanh(): a is used twice."""
    a, b = Value(0.5, label="a"), Value(-1.5, label="b")
    c = a * b
    d = c + a
    return a, b, c, d.tanh()


def test_backward_sets_every_node_including_intermediates() -> None:
    a, b, c, e = _net()
    e.backward()
    d = e.children[0]
    t = 1.0 - math.tanh(-0.25) ** 2
    assert e.grad == 1.0
    assert d.grad == pytest.approx(t, rel=1e-15)
    assert c.grad == pytest.approx(t, rel=1e-15)
    assert a.grad == pytest.approx(t * (-1.5 + 1.0), rel=1e-15)
    assert b.grad == pytest.approx(t * 0.5, rel=1e-15)


def test_backward_on_a_leaf_sets_its_grad_to_the_seed() -> None:
    x = Value(4.0)
    x.backward()
    x.backward(gradient=2.5)
    assert x.grad == 3.5


def test_backward_twice_adds_twice_at_every_node() -> None:
    *_, e = _net()
    e.backward()
    first = {n: n.grad for n in topological_order(e)}
    e.backward()
    assert all(n.grad == 2 * g for n, g in first.items())


def test_second_backward_does_not_repropagate_stale_intermediate_grads() -> None:
    # micrograd's pitfall: re-seeding the root and sweeping over the old intermediate grads
    # propagates y.grad = 2 on the second call, so x.grad ends at 2 + 4 = 6 instead of 4.
    x = Value(3.0)
    y = x * 2.0
    z = y * 1.0
    z.backward()
    z.backward()
    assert (z.grad, y.grad, x.grad) == (2.0, 2.0, 4.0)


def test_diamond_sums_both_paths() -> None:
    x = Value(2.0)
    left, right = x * 3.0, x.exp()
    top = left * right
    top.backward()
    assert x.grad == pytest.approx(3.0 * math.exp(2.0) + 6.0 * math.exp(2.0), rel=1e-15)
    assert left.grad == math.exp(2.0) and right.grad == 6.0


@pytest.mark.parametrize("k", [1, 2, 5])
def test_node_used_k_times_gets_k_paths(k: int) -> None:
    x = Value(0.3)
    y = x.sin()
    total = y
    for _ in range(k - 1):
        total = total + y
    total.backward()
    assert y.grad == k
    assert x.grad == pytest.approx(k * math.cos(0.3), rel=1e-15)


def test_operand_repeated_in_one_node_gets_both_local_derivatives() -> None:
    x = Value(3.0)
    (x * x).backward()
    assert x.grad == 6.0


@pytest.mark.parametrize("g", [2.0, -0.5, 0.0, 3])
def test_gradient_argument_scales_every_grad(g: float) -> None:
    *_, e1 = _net()
    e1.backward()
    *_, e2 = _net()
    e2.backward(gradient=g)
    for n1, n2 in zip(topological_order(e1), topological_order(e2)):
        assert n2.grad == pytest.approx(g * n1.grad, rel=1e-15)


@pytest.mark.parametrize("bad", ["1.0", None, True, 1j])
def test_gradient_argument_must_be_a_real_number(bad: object) -> None:
    x = Value(1.0)
    with pytest.raises(TypeError, match="gradient"):
        x.backward(gradient=bad)  # type: ignore[arg-type]
    assert x.grad == 0.0


def test_backward_from_two_roots_accumulates_into_shared_nodes() -> None:
    x = Value(2.0)
    y = x * x
    (y + 1).backward()
    (y * 3).backward()
    assert y.grad == 4.0 and x.grad == 16.0


def test_grad_returns_derivatives_and_leaves_grad_untouched() -> None:
    a, b, c, e = _net()
    a.grad, c.grad = 7.0, -1.0  # stale values from an earlier step must survive
    got = grad(e, [a, b, c])
    e.backward()
    expected = [a.grad - 7.0, b.grad, c.grad + 1.0]
    assert got == pytest.approx(expected, rel=1e-15)


def test_grad_does_not_change_any_node() -> None:
    *_, e = _net()
    nodes = topological_order(e)
    grad(e, nodes[:2])
    assert all(n.grad == 0.0 for n in nodes)


def test_grad_of_unrelated_input_is_zero() -> None:
    x, stranger = Value(2.0), Value(5.0)
    assert grad(x * x, [stranger, x]) == [0.0, 4.0]
    assert stranger.grad == 0.0


def test_grad_of_output_with_respect_to_itself_is_one() -> None:
    x = Value(2.0)
    y = x.exp()
    assert grad(y, [y]) == [1.0]


# ---- the walk's marks (backward.py): never left behind, never mistaken ------------------------

_backward_module = importlib.import_module("autograd.backward")


def _upstreams_are_clean(root: Value) -> bool:
    """Outside backward() every node's working sum is +0.0 (not the walk's -0.0 mark)."""
    return all(n._upstream == 0.0 and math.copysign(1.0, n._upstream) == 1.0
               for n in topological_order(root))


@pytest.mark.parametrize("g", [-0.0, 0.0, -2.0])
def test_zero_or_negative_seed_leaves_no_mark_and_the_next_call_is_right(g: float) -> None:
    *_, e = _net()
    e.backward(gradient=g)
    assert _upstreams_are_clean(e)
    after_seed = {n: n.grad for n in topological_order(e)}
    *_, fresh = _net()
    fresh.backward()
    e.backward()
    for n, m in zip(topological_order(e), topological_order(fresh)):
        assert n.grad == pytest.approx(after_seed[n] + m.grad, rel=1e-15)


def test_a_mark_left_by_an_earlier_walk_does_not_make_the_next_one_skip_nodes() -> None:
    # What an interrupted call could leave if its clean-up were itself interrupted: every node
    # marked. A fresh mark per call means the next backward() still reaches all of them.
    *_, e = _net()
    _backward_module._marked_order(e)
    e.backward()
    *_, expected = _net()
    expected.backward()
    assert [n.grad for n in topological_order(e)] == [
        n.grad for n in topological_order(expected)]
    assert _upstreams_are_clean(e)


def test_interrupt_after_the_walk_leaves_no_mark(monkeypatch: pytest.MonkeyPatch) -> None:
    *_, e = _net()

    def interrupted(order: list[Value], leaves: list[Value]) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(_backward_module, "_sweep", interrupted)
    with pytest.raises(KeyboardInterrupt):
        e.backward()
    assert _upstreams_are_clean(e)
    assert all(n.grad == 0.0 for n in topological_order(e))


class _InterruptingLocal(float):
    """A local derivative whose product raises KeyboardInterrupt, as Ctrl-C mid-sweep would."""

    def __mul__(self, other: object) -> float:
        raise KeyboardInterrupt


def test_interrupt_mid_sweep_leaves_no_partial_sums_and_the_next_call_is_right() -> None:
    x = Value(2.0)
    y = x * x
    z = y.exp()
    top = z + y
    z._edges = (y, _InterruptingLocal(1.0))  # reached after top's edges are swept
    with pytest.raises(KeyboardInterrupt):
        top.backward()
    assert top.grad == 1.0  # what the sweep added before the interrupt stays
    assert _upstreams_are_clean(top)
    z._edges = (y, math.exp(4.0))
    top.grad = 0.0
    top.backward()
    assert x.grad == pytest.approx((math.exp(4.0) + 1.0) * 4.0, rel=1e-15)


def test_backward_of_a_non_value_raises_type_error() -> None:
    with pytest.raises(TypeError, match="backward: root must be a Value, got float"):
        _backward_module.backward(3.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(("output", "inputs", "message"), [
    (2.0, [], "grad: output must be a Value, got float"),
    (Value(1.0), [Value(1.0), 1.0], r"grad: inputs\[1\] must be a Value, got float"),
])
def test_grad_rejects_non_values(output: object, inputs: list[object], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        grad(output, inputs)  # type: ignore[arg-type]


def test_grad_set_to_none_counts_as_zero_as_after_zero_grad_set_to_none() -> None:
    a, b, c, e = _net()
    e.backward()
    expected = [a.grad, b.grad, c.grad, e.grad]
    for node in (a, b, c, e):
        node.grad = None  # type: ignore[assignment]  # the PyTorch habit
    e.backward()
    assert [a.grad, b.grad, c.grad, e.grad] == expected
    assert all(type(node.grad) is float for node in (a, b, c, e))


def test_a_grad_that_is_no_number_raises_type_error_naming_the_node() -> None:
    a, b, c, e = _net()
    b.grad = "a"  # type: ignore[assignment]
    with pytest.raises(TypeError, match=r"backward: the \.grad of 'b' is a str \('a'\), not a "
                       r"number; set it to 0\.0 or None"):
        e.backward()
    assert b.grad == "a"
    # The sweep stopped at b: it leaves no partial sums behind, and fixed, the next one is right.
    assert all(node._upstream == 0.0 for node in topological_order(e))
    b.grad = 0.0
    a.grad = 0.0
    e.backward()
    assert b.grad == pytest.approx(0.5 * (1 - e.data ** 2))


def test_grad_of_one_value_is_a_list_of_one_as_torch_gives_a_tuple_of_one() -> None:
    x = Value(3.0)
    y = x * x
    assert grad(y, x) == [6.0]
    (dx,) = grad(y, x, create_graph=True)
    assert isinstance(dx, Value) and dx.data == 6.0
    with pytest.raises(TypeError, match="grad: inputs must be a Value or a list of Values, got "
                       "float"):
        grad(y, 3.0)  # type: ignore[arg-type]


def test_a_leaf_reached_by_binary_and_wide_parents_gets_every_path_once() -> None:
    # The walk does a leaf at once where a wide node reaches it, and through the stack where
    # a binary node does: either way it is swept once, after every node above it.
    w, x = Value(3.0), Value(-2.0)
    wide = ag.dot([w, x, w], [x, w, x])  # 3 w x
    out = (w * 2.0 + wide) * x
    out.backward()
    # out = 2 w x + 3 w x**2: d/dw = 2x + 3x**2, d/dx = 2w + 6 w x
    assert w.grad == 2 * -2.0 + 3 * 4.0
    assert x.grad == 2 * 3.0 + 6 * 3.0 * -2.0
    assert all(n._upstream == 0.0 for n in topological_order(out))


def test_grad_none_on_a_leaf_under_a_wide_node_counts_as_zero() -> None:
    params = [Value(float(i)) for i in range(5)]
    for p in params:
        p.grad = None  # type: ignore[assignment]
    ag.dot(params, params).backward()
    assert [p.grad for p in params] == [2.0 * i for i in range(5)]


# ---- a root whose children are distinct leaves: one pass ----------------------------------


def _wide_root(children: list[Value], locals_: list[float]) -> Value:
    return Value(sum(c.data for c in children), children=children, local_grads=locals_)


def _sweep_both_ways(monkeypatch: pytest.MonkeyPatch, make) -> tuple[list, list]:
    """Every leaf's grad after backward() through the one-pass sweep, then with it off."""
    backward_module = importlib.import_module("autograd.backward")
    results = []
    for at in (backward_module.LEAF_ROOT_AT, 10 ** 9):
        monkeypatch.setattr(backward_module, "LEAF_ROOT_AT", at)
        root, leaves = make()
        root.backward(0.37)
        results.append([leaf.grad for leaf in leaves] + [root.grad])
    return results[0], results[1]


def test_a_wide_root_over_distinct_leaves_gives_the_walks_floats_bit_for_bit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def make():
        leaves = [Value(0.1 * i) for i in range(40)]
        for i, leaf in enumerate(leaves):
            leaf.grad = [0.0, 1e-17, -0.0, None, 3.5][i % 5]
        return _wide_root(leaves, [math.sin(i) / 3.0 for i in range(40)]), leaves

    fast, walked = _sweep_both_ways(monkeypatch, make)
    assert [math.copysign(1.0, g) for g in fast] == [math.copysign(1.0, g) for g in walked]
    assert fast == walked


@pytest.mark.parametrize("case", ["repeated", "inner node"])
def test_a_wide_root_with_a_repeated_child_or_an_inner_node_takes_the_walk(
        monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    def make():
        leaves = [Value(0.5 + i) for i in range(40)]
        children: list[Value] = list(leaves)
        if case == "repeated":
            children[7] = leaves[3]
        else:
            children[7] = leaves[3] * leaves[4]
        return _wide_root(children, [1.0 / (i + 1) for i in range(40)]), leaves

    fast, walked = _sweep_both_ways(monkeypatch, make)
    assert fast == walked
    assert fast[3] == pytest.approx(0.37 * (1.0 / 4 + (1.0 / 8 if case == "repeated"
                                                        else 1.0 / 8 * 4.5)))


def test_a_wide_root_over_leaves_names_a_grad_that_is_no_number() -> None:
    leaves = [Value(float(i), label=f"p{i}") for i in range(40)]
    leaves[5].grad = "x"  # type: ignore[assignment]
    root = _wide_root(leaves, [1.0] * 40)
    with pytest.raises(TypeError, match="p5"):
        root.backward()
    assert leaves[4].grad == 1.0 and leaves[6].grad == 0.0  # as a sweep interrupted there
