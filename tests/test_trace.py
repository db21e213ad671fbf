"""trace_backward: the recorded sweep agrees with backward() and leaves every .grad alone."""

import doctest
import importlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd as ag
from autograd import Value, topological_order
from autograd.trace import trace_backward

_UNARY = [Value.tanh, Value.sin, Value.sigmoid, Value.cos]
_BINARY = [Value.__add__, Value.__sub__, Value.__mul__]


@st.composite
def random_graphs(draw):
    """A random DAG: leaves, then ops on any earlier nodes (so reuse and diamonds are common)."""
    leaves = [Value(draw(st.floats(-2.0, 2.0)), label=f"x{i}")
              for i in range(draw(st.integers(1, 4)))]
    nodes = list(leaves)
    for _ in range(draw(st.integers(1, 12))):
        pick = st.integers(0, len(nodes) - 1)
        if draw(st.booleans()):
            nodes.append(draw(st.sampled_from(_UNARY))(nodes[draw(pick)]))
        else:
            nodes.append(draw(st.sampled_from(_BINARY))(nodes[draw(pick)], nodes[draw(pick)]))
    tail = nodes[-draw(st.integers(1, min(3, len(nodes)))):]
    root = ag.sum(tail) if len(tail) > 1 else tail[0]
    return root, leaves


def _diamond():
    x = Value(0.5, label="x")
    a = x * 3.0
    b = x.tanh()
    return (a * b).sin(), x


@settings(max_examples=60, deadline=None)
@given(graph=random_graphs(), gradient=st.floats(-3.0, 3.0))
def test_final_totals_equal_backward_grads(graph, gradient):
    root, _ = graph
    trace = trace_backward(root, gradient)
    root.backward(gradient)
    totals = trace.totals()
    assert [totals[n] for n in topological_order(root)] == [n.grad for n in topological_order(root)]


@settings(max_examples=40, deadline=None)
@given(graph=random_graphs())
def test_trace_leaves_every_grad_untouched(graph):
    root, _ = graph
    order = topological_order(root)
    for i, node in enumerate(order):
        node.grad = 0.25 * i
    trace_backward(root)
    assert [n.grad for n in order] == [0.25 * i for i in range(len(order))]


@settings(max_examples=40, deadline=None)
@given(graph=random_graphs())
def test_contributions_received_sum_to_each_total(graph):
    root, _ = graph
    trace = trace_backward(root)
    totals = trace.totals()
    for node in trace.order:
        received = trace.received(node)
        running = 1.0 if node is root else 0.0
        for c in received:
            running += c.contribution
            assert c.total == running
        assert totals[node] == running


def test_one_step_per_node_in_reversed_topological_order():
    root, _ = _diamond()
    trace = trace_backward(root)
    assert [s.node for s in trace.steps] == topological_order(root)[::-1]
    assert trace.steps[0].node is root and trace.steps[0].upstream == 1.0


def test_reused_node_shows_one_contribution_per_use():
    root, x = _diamond()
    trace = trace_backward(root)
    received = trace.received(x)
    assert len(received) == 2
    assert received[-1].total == received[0].contribution + received[1].contribution
    assert trace.totals()[x] == ag.grad(root, [x])[0]


def test_step_numbers_for_a_neuron_by_hand():
    x, w, b = Value(2.0, label="x"), Value(-3.0, label="w"), Value(1.0, label="b")
    n = x * w + b  # -5
    out = n * 0.5  # the constant 0.5 is a leaf
    trace = trace_backward(out)
    first = trace.steps[0]
    assert [(c.local, c.contribution, c.total) for c in first.contributions] == [
        (0.5, 0.5, 0.5), (-5.0, -5.0, -5.0)]
    totals = trace.totals()
    assert (totals[x], totals[w], totals[b]) == (-1.5, 1.0, 0.5)
    mul_step = next(s for s in trace.steps if s.node is n.children[0])
    assert [(c.child, c.position, c.local) for c in mul_step.contributions] == [
        (x, 0, -3.0), (w, 1, 2.0)]


def test_local_is_the_engines_memoized_number():
    root, _ = _diamond()
    for step in trace_backward(root).steps:
        assert tuple(c.local for c in step.contributions) == step.node.local_grads


def test_to_dict_is_json_with_indices_into_the_order():
    root, x = _diamond()
    trace = trace_backward(root, 2.0)
    d = json.loads(json.dumps(trace.to_dict()))
    order = list(trace.order)
    assert d["root"] == len(order) - 1 and d["gradient"] == 2.0
    assert [n["label"] for n in d["nodes"]] == [n.label for n in order]
    assert len(d["steps"]) == len(order)
    received = [c["total"] for s in d["steps"] for c in s["contributions"]
                if c["child"] == order.index(x)]
    assert received[-1] == trace.totals()[x]


def test_leaf_root_is_one_step_with_nothing_sent():
    x = Value(4.0)
    trace = trace_backward(x)
    assert len(trace.steps) == 1 and trace.steps[0].contributions == ()


def test_gradient_must_be_a_real_number():
    with pytest.raises(TypeError, match="trace_backward: gradient"):
        trace_backward(Value(1.0), "1")  # type: ignore[arg-type]


@pytest.mark.parametrize("root", [3.0, None], ids=["float", "None"])
def test_root_must_be_a_value(root):
    with pytest.raises(TypeError, match="trace_backward: root must be a Value"):
        trace_backward(root)


def test_docstring_examples_pass():
    result = doctest.testmod(importlib.import_module("autograd.trace"))
    assert result.attempted > 0 and result.failed == 0
