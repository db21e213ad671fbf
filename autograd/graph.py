"""Graph walks over Values: the topological order that backward and the pictures use."""

from __future__ import annotations

from typing import Any

from .value import Value


def topological_order(root: Value) -> list[Value]:
    """Return every node of root's graph once, children before the nodes using them, root last.

    >>> from autograd import Value
    >>> x = Value(1.0, label="x")
    >>> [n.label or n.op for n in topological_order(x * 2 + x)]
    ['x', '', '*', '+']
    """
    if not isinstance(root, Value):
        raise TypeError(f"topological_order: root must be a Value, got {type(root).__name__}")
    order: list[Value] = []
    visited: set[Value] = set()
    # Explicit stack, not recursion: a graph can be a million nodes deep. A node is
    # pushed twice, under a None marker the second time; when the marker comes back
    # off the stack, all of that node's children are done, so the node is too.
    stack: list[Value | None] = [root]
    push, pop, visit, emit = stack.append, stack.pop, visited.add, order.append
    while stack:
        node = pop()
        if node is None:
            emit(pop())  # type: ignore[arg-type]  # under a None marker lies its node
        elif node not in visited:
            visit(node)
            push(node)
            push(None)
            # The children, then as many local derivatives (Any: Values then floats, a
            # layout no static type spells position by position).
            edges: tuple[Any, ...] = node._edges
            for child in edges[:len(edges) >> 1]:
                if child not in visited:
                    push(child)
    return order


def leaves(root: Value) -> list[Value]:
    """Return the nodes of root's graph without children: inputs, parameters and constants."""
    return [node for node in topological_order(root) if not node._edges]
