"""Laws on random expression DAGs with reused nodes (strategies.dags).

Gradients agree with finite differences and with PyTorch; backward twice adds exactly
twice; backward(gradient=g) scales by g; topological_order lists each node once,
children first, root last.
"""

from __future__ import annotations

import math
import sys

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies import Dag, dags, tame

import autograd as ag
from autograd import Value, grad, gradcheck, topological_order

_backward_module = sys.modules["autograd.backward"]  # the name autograd.backward is the function


def _build(dag: Dag) -> tuple[list[Value], list[Value]]:
    """The leaves and every node; examples whose values blow up are discarded."""
    leaves = [Value(x) for x in dag.leaves]
    nodes = dag.build(leaves)
    assume(tame(nodes))
    return leaves, nodes


@given(dags())
def test_dag_gradients_match_finite_differences(dag: Dag) -> None:
    _build(dag)
    assert gradcheck(lambda v: dag.build(v)[-1], dag.leaves)


@pytest.mark.torch
@settings(max_examples=30)
@given(dags())
def test_dag_values_and_gradients_match_torch(dag: Dag) -> None:
    torch = pytest.importorskip("torch")
    leaves, nodes = _build(dag)
    nodes[-1].backward()
    tensors = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in dag.leaves]
    expected = dag.build_torch(torch, tensors)
    expected[-1].backward()
    # Sums over paths run in another order in torch: a few ulps per node, not 1e-12 overall.
    assert [n.data for n in nodes] == pytest.approx([e.item() for e in expected],
                                                    rel=1e-12, abs=1e-12)
    assert [leaf.grad for leaf in leaves] == pytest.approx(
        [0.0 if t.grad is None else t.grad.item() for t in tensors], rel=1e-9, abs=1e-9)


@given(dags())
def test_backward_twice_adds_exactly_twice_at_every_node(dag: Dag) -> None:
    _, nodes = _build(dag)
    root = nodes[-1]
    root.backward()
    first = [(n, n.grad) for n in topological_order(root)]
    root.backward()
    assert [n.grad for n, _ in first] == [2 * g for _, g in first]


# Powers of two scale floats exactly, so the law holds to the last bit even where paths
# cancel (an arbitrary g would be off by an ulp of the cancelled terms, not of the result).
@given(dags(), st.integers(-6, 6), st.sampled_from([1.0, -1.0]))
def test_backward_with_gradient_scales_every_grad(dag: Dag, power: int, sign: float) -> None:
    g = sign * 2.0 ** power
    _, once = _build(dag)
    _, scaled = _build(dag)
    once[-1].backward()
    scaled[-1].backward(gradient=g)
    pairs = zip(topological_order(once[-1]), topological_order(scaled[-1]))
    # Below the normal floats (1e-308) products lose bits; with every |value| <= 1e3 and ten
    # steps, what that loss can grow to stays far below 1e-280.
    assert all(b.grad == pytest.approx(g * a.grad, rel=0.0, abs=1e-280) for a, b in pairs)


@given(dags())
def test_grad_matches_backward_and_leaves_grads_alone(dag: Dag) -> None:
    leaves, nodes = _build(dag)
    got = grad(nodes[-1], leaves)
    assert all(n.grad == 0.0 for n in nodes)
    nodes[-1].backward()
    assert got == [leaf.grad for leaf in leaves]


@given(dags())
def test_topological_order_lists_children_first_each_once_root_last(dag: Dag) -> None:
    _, nodes = _build(dag)
    root = nodes[-1]
    order = topological_order(root)
    assert order[-1] is root
    assert len(order) == len(set(order))
    position = {node: i for i, node in enumerate(order)}
    for node in order:
        assert all(position[child] < position[node] for child in node.children)
    # Exactly the nodes reachable from the root, found by a plain search.
    reachable, frontier = {root}, [root]
    while frontier:
        for child in frontier.pop().children:
            if child not in reachable:
                reachable.add(child)
                frontier.append(child)
    assert set(order) == reachable


@given(dags())
def test_backwards_marked_walk_gives_exactly_topological_order(dag: Dag) -> None:
    # backward() walks with marks on the nodes instead of a visited set: same nodes, same order.
    _, nodes = _build(dag)
    root = nodes[-1]
    order, leaves = _backward_module._marked_order(root)
    # The nodes with children in topological order; the leaves apart, each once.
    assert order == [node for node in topological_order(root) if node._edges]
    assert sorted(map(id, leaves)) == sorted(id(node) for node in topological_order(root)
                                             if not node._edges)
    marked = order + leaves
    # Every node ends with the "done" mark: -0.0, which the sweep adds to as it is.
    assert all(node._upstream == 0.0 and math.copysign(1.0, node._upstream) == -1.0
               for node in marked)
    for node in marked:
        node._upstream = 0.0


@given(st.floats(-3.0, 3.0), st.integers(1, 6))
def test_node_used_k_times_gets_the_sum_of_its_paths(x: float, k: int) -> None:
    leaf = Value(x)
    y = leaf.tanh()
    uses = [y * float(i + 1) for i in range(k)]  # path i has local derivative i + 1
    ag.sum(uses).backward()
    assert y.grad == k * (k + 1) / 2
    assert leaf.grad == pytest.approx(k * (k + 1) / 2 * (1 - math.tanh(x) ** 2), rel=1e-12)


@given(st.lists(st.floats(-50.0, 50.0), min_size=1, max_size=8))
def test_softmax_outputs_sum_to_one_and_their_gradients_to_zero(xs: list[float]) -> None:
    values = [Value(x) for x in xs]
    outs = ag.softmax(values)
    assert math.fsum(o.data for o in outs) == pytest.approx(1.0, abs=1e-12)
    ag.sum(outs).backward()  # the sum is constant, so no input can move it
    assert all(abs(v.grad) <= 1e-12 for v in values)


@given(dags(), st.sampled_from([1.0, -1.0, 0.0, -0.0]))
def test_backward_leaves_every_working_sum_at_plus_zero(dag: Dag, g: float) -> None:
    # backward() keeps its sums on the nodes and marks them as it walks (with -0.0): after it,
    # every node is back to +0.0, so the next call starts clean and adds the same again.
    _, nodes = _build(dag)
    root = nodes[-1]
    root.backward(gradient=g)
    assert all(n._upstream == 0.0 and math.copysign(1.0, n._upstream) == 1.0
               for n in topological_order(root))
    first = [n.grad for n in topological_order(root)]
    root.backward(gradient=g)
    assert [n.grad for n in topological_order(root)] == [2 * x for x in first]
