"""topological_order and leaves on hand-built graphs (random DAGs: test_properties.py)."""

from __future__ import annotations

import doctest
import importlib

import pytest

from autograd import Value, leaves, topological_order


def test_docstring_examples_pass() -> None:
    result = doctest.testmod(importlib.import_module("autograd.graph"))
    assert result.attempted > 0 and result.failed == 0


def test_a_leaf_alone_is_its_own_order() -> None:
    x = Value(1.0)
    assert topological_order(x) == [x]


def test_chain_is_ordered_from_input_to_root() -> None:
    x = Value(1.0)
    a = x.exp()
    b = a.sin()
    c = b.tanh()
    assert topological_order(c) == [x, a, b, c]


def test_diamond_lists_each_node_once_children_first() -> None:
    x = Value(2.0)
    left, right = x * 3.0, x.exp()
    top = left + right
    order = topological_order(top)
    assert len(order) == len(set(order)) == 5
    assert order[0] is x and order[-1] is top
    position = {node: i for i, node in enumerate(order)}
    for node in order:
        assert all(position[child] < position[node] for child in node.children)


def test_repeated_operand_appears_once() -> None:
    x = Value(2.0)
    y = x * x
    assert topological_order(y) == [x, y]


def test_order_holds_only_the_root_graph() -> None:
    x, stranger = Value(1.0), Value(2.0)
    y = x + 1
    _ = stranger * y  # a user of y is not part of y's graph
    assert stranger not in topological_order(y)


def test_order_does_not_touch_grads() -> None:
    x = Value(1.0)
    y = x * 2
    topological_order(y)
    assert (x.grad, y.grad) == (0.0, 0.0)


def test_leaves_are_the_nodes_no_op_made() -> None:
    w, x = Value(0.5, label="w"), Value(2.0, label="x")
    y = (w * x).tanh() * w + 1.0
    found = leaves(y)
    constants = [node for node in found if node is not w and node is not x]
    assert len(found) == 3 and w in found and x in found
    assert [c.data for c in constants] == [1.0]  # the number 1.0 became a leaf too
    assert all(node.children == () for node in found)


def test_order_of_a_non_value_raises_type_error() -> None:
    with pytest.raises(TypeError, match="topological_order: root must be a Value, got float"):
        topological_order(1.0)  # type: ignore[arg-type]
