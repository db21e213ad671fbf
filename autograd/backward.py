"""The reverse sweep behind Value.backward, and grad()."""

from __future__ import annotations

import gc
import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .graph import topological_order

if TYPE_CHECKING:
    from .value import Value


def backward(root: Value, gradient: float = 1.0) -> None:
    """Add gradient * d root / d n into n.grad for every node n of root's graph.

    One topological sort, then one sweep from the root down applying the chain
    rule: child.upstream += local * node.upstream.

    >>> from autograd import Value
    >>> x = Value(3.0)
    >>> (x * x).backward()
    >>> x.grad
    6.0
    """
    if not isinstance(gradient, numbers.Real) or isinstance(gradient, bool):
        raise TypeError(f"backward: gradient must be a real number, got {type(gradient).__name__}")
    order = topological_order(root)
    _sweep(order, float(gradient))


def _sweep(order: list[Value], gradient: float) -> None:
    # Each node gathers this call's d root / d node in _upstream, apart from .grad, so
    # a second backward() adds the same amount again instead of re-propagating old grads.
    # _upstream is 0.0 outside a sweep (new nodes start so, and the sweep resets each one
    # once it is read): no zeroing pass over the graph first.
    order[-1]._upstream = gradient
    # The sweep makes no reference cycles, so the cyclic collector has nothing to find here;
    # left on, it walks the whole graph the sweep just touched (python -m benchmarks: chain).
    collecting = gc.isenabled()
    gc.disable()
    try:
        for node in reversed(order):
            upstream = node._upstream
            # In reverse topological order every user of node came first: upstream is final.
            node._upstream = 0.0
            node.grad += upstream
            # _edges is (child, local, child, local, ...). Binary and unary nodes, most of
            # any graph, unpack directly; n-ary ones (sum, dot, ...) walk their pairs.
            edges = node._edges
            n = len(edges)
            if n == 4:
                a, local_a, b, local_b = edges
                a._upstream += local_a * upstream
                b._upstream += local_b * upstream
            elif n == 2:
                a, local_a = edges
                a._upstream += local_a * upstream
            elif n:
                pairs = iter(edges)
                for child, local in zip(pairs, pairs):
                    child._upstream += local * upstream
    except BaseException:
        # Interrupted (KeyboardInterrupt, MemoryError): leave no half-gathered upstream behind.
        for node in order:
            node._upstream = 0.0
        raise
    finally:
        if collecting:
            gc.enable()


def grad(output: Value, inputs: Sequence[Value]) -> list[float]:
    """Return d output / d input for each input, leaving every .grad as it was.

    Inputs that output does not depend on get 0.0.

    >>> from autograd import Value
    >>> x, y = Value(2.0), Value(5.0)
    >>> grad(x * y, [x, y]), x.grad
    ([5.0, 2.0], 0.0)
    """
    order = topological_order(output)
    saved = [node.grad for node in order]
    in_graph = set(order)
    try:
        for node in order:
            node.grad = 0.0
        _sweep(order, 1.0)
        return [node.grad if node in in_graph else 0.0 for node in inputs]
    finally:
        for node, g in zip(order, saved):
            node.grad = g
