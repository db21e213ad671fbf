"""The reverse sweep behind Value.backward, and grad()."""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from itertools import islice
from operator import attrgetter
from typing import Any, Literal, overload

from .graph import topological_order
from .mode import is_grad_enabled
from .value import OpLabel, Value


def backward(root: Value, gradient: float = 1.0) -> None:
    """Add gradient * d root / d n into n.grad for every node n of root's graph; return None.

    One walk to put the nodes in topological order, then one sweep from the root
    down applying the chain rule: child.upstream += local * node.upstream. Two calls at
    once on graphs that share nodes (two threads training one model) must not overlap:
    the sweep keeps its working sums on the nodes.

    >>> from autograd import Value
    >>> x = Value(3.0)
    >>> (x * x).backward()
    >>> x.grad
    6.0
    """
    if not isinstance(root, Value):
        raise TypeError(f"backward: root must be a Value, got {type(root).__name__}")
    if not isinstance(gradient, numbers.Real) or isinstance(gradient, bool):
        raise TypeError(f"backward: gradient must be a real number, got {type(gradient).__name__}")
    _backpropagate(root, float(gradient))


# Each node gathers this call's d root / d node in _upstream, apart from .grad, so a second
# backward() adds the same amount again instead of re-propagating old grads.
#
# The walk before the sweep keeps its bookkeeping in _upstream too, as marks: objects of their
# own, which an identity test recognizes. That replaces a set of visited nodes (the walk of an
# mlp_step graph takes a quarter less time, python -m benchmarks: mlp_step) and a zeroing pass.
# A node is "open" from its first visit until its children are all done, then "done". The done
# mark is -0.0, the float that adds to anything without changing it (x + -0.0 == x, to the
# bit), so the sweep adds to it as it is.
# Each call makes new marks (float() of a string always builds a new object), so a mark that
# an interrupted call left on a node is never taken for this call's: on CPython a stale mark
# cannot make the walk skip a node. Outside backward() every _upstream is 0.0 anyway (new
# nodes start so; the sweep resets each one it reads; an interrupted call resets them all).


# A root this wide whose children are distinct leaves takes one pass (_leaf_sweep).
LEAF_ROOT_AT = 16


def _backpropagate(root: Value, gradient: float) -> None:
    edges = root._edges
    if len(edges) >= 2 * LEAF_ROOT_AT:
        op = root.op
        # Compiled.mean's node over a model's parameters says so in its op (a third of this
        # call's time, checked instead).
        if type(op) is OpLabel and op.params.get("distinct_leaves") or \
                _distinct_leaves(edges[:len(edges) >> 1]):
            _leaf_sweep(root, edges, gradient)
            return
    try:
        order, leaves = _marked_order(root)
        root._upstream = gradient
        _sweep(order, leaves)
    except BaseException:
        # Interrupted (KeyboardInterrupt, MemoryError): leave no mark and no partial sum
        # behind. The grads the sweep already added to stay added, as in PyTorch.
        for node in topological_order(root):
            node._upstream = 0.0
        raise


def _distinct_leaves(children: tuple[Any, ...]) -> bool:
    """True if no child has children and none comes twice: a compiled batch's node over a
    model's parameters, the loss of a training step. (A set of the Values themselves: Value
    keeps object identity for hashing, and a set of ids takes three times as long.)"""
    return not any(map(_edges_of, children)) and len(set(children)) == len(children)


_edges_of = attrgetter("_edges")


def _leaf_sweep(root: Value, edges: tuple[Any, ...], gradient: float) -> None:
    """The sweep of a root whose children are distinct leaves: each child's grad gets
    local * gradient directly. The same floats as the walk and sweep (a leaf's one term,
    added to its -0.0 mark, is that term), in a third of the time: no marks, no walk (the
    compiled moons step's backward(), python -m benchmarks: mlp_step)."""
    try:
        root.grad += gradient
    except TypeError:
        root.grad = _added(root, gradient)
    # zip stops at the shorter iterator: the children (edges up to n) beside the locals,
    # without slicing the tuple in two. The root's seed is mostly 1.0 (loss.backward()), and
    # local * 1.0 is local to the bit: that loop skips the multiplication.
    locals_ = islice(edges, len(edges) >> 1, None)
    if gradient == 1.0:
        for child, local in zip(edges, locals_):
            try:
                child.grad += local
            except TypeError:
                child.grad = _added(child, local)
        return
    for child, local in zip(edges, locals_):
        try:
            child.grad += local * gradient
        except TypeError:
            child.grad = _added(child, local * gradient)


def _marked_order(root: Value) -> tuple[list[Value], list[Value]]:
    """topological_order(root) built with marks on the nodes instead of a visited set, apart:
    the nodes with children in that order, and the leaves (in the order first reached)."""
    order: list[Value] = []
    leaves: list[Value] = []
    is_open, done = float("nan"), float("-0")
    # Explicit stack, not recursion. A node's first time off the stack opens it: it goes back
    # on, under its children. Its second time, all its children are done, so it is too. A
    # child is never open itself (that would be a cycle), so children are pushed unless done.
    # One push and pop less per node than a None marker under each node: a deep chain's walk
    # takes about half the time (python -m benchmarks: chain, backward).
    # A leaf needs no place in the order (nothing comes before it), so it is done at once:
    # on a model's parameters, the children of wide nodes, that is most of the walk's work.
    stack: list[Value] = [root]
    push, pop, emit, emit_leaf = stack.append, stack.pop, order.append, leaves.append
    while stack:
        node = pop()
        mark = node._upstream
        if mark is done:
            continue  # a second copy, pushed by another parent before the node was done
        if mark is is_open:
            node._upstream = done
            emit(node)
            continue
        # Any: _edges is (children..., local derivatives...), Values then floats, a
        # layout no static type spells position by position.
        edges: tuple[Any, ...] = node._edges
        n = len(edges)
        if not n:
            node._upstream = done
            emit_leaf(node)
            continue
        node._upstream = is_open
        push(node)
        # Unary and binary nodes take their children directly, without a slice: the walk
        # of a chain takes a third less time (python -m benchmarks: chain, backward).
        if n == 4:
            a, b, _, _ = edges
            if a._upstream is not done:
                push(a)
            if b._upstream is not done:
                push(b)
        elif n == 2:
            a = edges[0]
            if a._upstream is not done:
                push(a)
        else:
            for child in edges[:n >> 1]:
                if child._upstream is not done:
                    if child._edges:
                        push(child)
                    else:
                        child._upstream = done
                        emit_leaf(child)
    return order, leaves


def _sweep(order: list[Value], leaves: list[Value]) -> None:
    """The chain rule from the root (order[-1], or the one leaf; its _upstream set to the
    seed gradient) down: every node of order, then the leaves, whose sums are final once
    every node above them has passed them its share."""
    for node in reversed(order):
        # In reverse topological order every user of node came first: upstream is final.
        upstream = node._upstream
        node._upstream = 0.0
        # A try costs nothing until it raises (CPython 3.11+), unlike a type check per node.
        try:
            node.grad += upstream
        except TypeError:
            node.grad = _added(node, upstream)
        # Binary and unary nodes, most of any graph, unpack directly; n-ary ones (sum, dot,
        # ...) walk their pairs. Any: as in _marked_order.
        edges: tuple[Any, ...] = node._edges
        n = len(edges)
        if n == 4:
            a, b, local_a, local_b = edges
            a._upstream += local_a * upstream
            b._upstream += local_b * upstream
        elif n == 2:
            a, local_a = edges
            a._upstream += local_a * upstream
        else:
            # zip stops with the locals, pairing each with its child: one slice, not two.
            for local, child in zip(edges[n >> 1:], edges):
                child._upstream += local * upstream
    # The leaves: the first lines above alone, without the edge dispatch (a leaf has no edges;
    # a wide node's parameters are most of a model's nodes).
    for leaf in leaves:
        upstream = leaf._upstream
        leaf._upstream = 0.0
        try:
            leaf.grad += upstream
        except TypeError:
            leaf.grad = _added(leaf, upstream)


def _added(node: Value, upstream: float) -> float:
    """Return node.grad + upstream where += failed: None counts as 0.0 (the PyTorch habit,
    x.grad = None to clear it); anything else is a TypeError naming the node."""
    if node.grad is None:
        return upstream
    name = node.label or node.op or "a leaf"
    raise TypeError(
        f"backward: the .grad of {name!r} is a {type(node.grad).__name__} ({node.grad!r:.40}), "
        "not a number; set it to 0.0 or None (zero_grad() does). Gradients of the nodes the "
        "sweep reached before it were added, as when a sweep is interrupted")


@overload
def grad(output: Value, inputs: Value | Sequence[Value],
         create_graph: Literal[False] = False) -> list[float]: ...


@overload
def grad(output: Value, inputs: Value | Sequence[Value],
         create_graph: Literal[True]) -> list[Value]: ...


@overload
def grad(output: Value, inputs: Value | Sequence[Value],
         create_graph: bool) -> list[float] | list[Value]: ...


def grad(output: Value, inputs: Value | Sequence[Value],
         create_graph: bool = False) -> list[float] | list[Value]:
    """Return d output / d input for each input, leaving every .grad as it was.

    inputs is a list of Values, or one Value: the result is then a list of one, as PyTorch's
    torch.autograd.grad returns a tuple of one (`(dx,) = grad(y, x)`).
    Inputs that output does not depend on get 0.0. With create_graph=True each derivative is
    a Value, a node of a new graph made of the engine's own ops, that can be differentiated
    again (grad, backward, to any order; see autograd.higher). Inside no_grad() those Values
    are leaves holding the numbers, as PyTorch gives tensors without a graph there.

    >>> from autograd import Value
    >>> x, y = Value(2.0), Value(5.0)
    >>> grad(x * y, [x, y]), x.grad
    ([5.0, 2.0], 0.0)
    >>> grad(x * y, x)
    [5.0]
    >>> gx, gy = grad(x * x * y, [x, y], create_graph=True)
    >>> gx.data, grad(gx, [x, y])
    (20.0, [10.0, 4.0])
    """
    inputs = checked_inputs(output, inputs, "grad")
    if create_graph:
        if is_grad_enabled():
            from .higher import grad_values

            return grad_values(output, inputs)
        return [Value(g) for g in grad(output, inputs)]
    order = topological_order(output)
    saved = [node.grad for node in order]
    in_graph = set(order)
    try:
        for node in order:
            node.grad = 0.0
        _backpropagate(output, 1.0)
        return [node.grad if node in in_graph else 0.0 for node in inputs]
    finally:
        for node, g in zip(order, saved):
            node.grad = g


def checked_inputs(output: Value, inputs: Value | Sequence[Value], name: str) -> list[Value]:
    """Return inputs as a list (one Value becomes a list of one), after checking output and
    every input is a Value (TypeError naming the function name otherwise)."""
    if not isinstance(output, Value):
        raise TypeError(f"{name}: output must be a Value, got {type(output).__name__}")
    if isinstance(inputs, Value):
        return [inputs]
    if not isinstance(inputs, Iterable):
        raise TypeError(f"{name}: inputs must be a Value or a list of Values, got "
                        f"{type(inputs).__name__}")
    return each_value(inputs, name, "inputs")


def each_value(items: Iterable[object], name: str, what: str) -> list[Value]:
    """Return items as a list, after checking each is a Value (TypeError naming it otherwise)."""
    values = list(items)
    for i, node in enumerate(values):
        if not isinstance(node, Value):
            raise TypeError(f"{name}: {what}[{i}] must be a Value, got {type(node).__name__}")
    return values  # type: ignore[return-value]  # each one checked above
