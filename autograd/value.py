"""Value: a scalar that records the operation that made it and its local derivatives."""

from __future__ import annotations

import numbers
from collections.abc import Callable

from . import ops
from .mode import _mode

Number = float | int

UnaryRule = Callable[[float], tuple[float, tuple[float]]]
BinaryRule = Callable[[float, float], tuple[float, tuple[float, float]]]


# ---- making nodes: the only place that turns a rule into a node --------------------------

_new = object.__new__


def _node(data: float, op: str, edges: tuple[Value | float, ...]) -> Value:
    """A new node from data and its edges (children, then local derivatives); a leaf in no_grad.

    Ops make nodes here rather than through Value(...): data is already a float and the
    edges already built, so this skips __init__'s checks (no type test, no pairing).
    """
    node = _new(Value)
    node.data = data
    node.grad = 0.0
    node.label = ""
    if _mode.enabled:
        node.op = op
        node._edges = edges
    else:
        node.op = ""
        node._edges = ()
    node._upstream = 0.0
    return node


def _unary(rule: UnaryRule, op: str, doc: str) -> Callable[[Value], Value]:
    """The method applying rule to self: a node with self as its one child."""
    def method(self: Value) -> Value:
        data, (local,) = rule(self.data)
        # _node's steps, inline: a call less on the ops every graph is mostly made of.
        node = _new(Value)
        node.data = data
        node.grad = 0.0
        node.label = ""
        if _mode.enabled:
            node.op = op
            node._edges = (self, local)
        else:
            node.op = ""
            node._edges = ()
        node._upstream = 0.0
        return node

    method.__name__ = method.__qualname__ = rule.__name__.rstrip("_")
    method.__doc__ = doc
    return method


def _binary(rule: BinaryRule, op: str,
            reflected: bool = False) -> Callable[[Value, Value | Number], Value]:
    """The method applying rule to (self, other), or to (other, self) when reflected."""
    def method(self: Value, other: Value | Number) -> Value:
        # Exact type test first: Value with Value is the case every training step repeats.
        if type(other) is Value:
            operand = other
        else:
            converted = _operand(other)
            if converted is None:
                return NotImplemented  # type: ignore[no-any-return]
            operand = converted
        if reflected:
            a, b = operand, self
        else:
            a, b = self, operand
        data, (local_a, local_b) = rule(a.data, b.data)
        node = _new(Value)
        node.data = data
        node.grad = 0.0
        node.label = ""
        if _mode.enabled:
            node.op = op
            node._edges = (a, b, local_a, local_b)
        else:
            node.op = ""
            node._edges = ()
        node._upstream = 0.0
        return node

    method.__doc__ = f"The {op} node of {'(other, self)' if reflected else '(self, other)'}."
    return method


def _apply1(x: Value, rule: UnaryRule, op: str) -> Value:
    """rule (one with a parameter bound) applied to x: a node with x as its one child."""
    data, (local,) = rule(x.data)
    return _node(data, op, (x, local))


class Value:
    """A scalar node of the computation graph.

    ``data`` is the number, ``grad`` accumulates d root / d node during
    ``backward()``, ``children`` are the operands (in order) and ``local_grads``
    the derivatives d node / d child, computed once in the forward pass.

    >>> x = Value(2.0, label="x")
    >>> y = x * x + 1
    >>> y.backward()
    >>> y.data, x.grad
    (5.0, 4.0)
    """

    # __slots__: one training step builds tens of thousands of nodes.
    # _edges holds the children, then their local derivatives in the same order:
    # (child1, ..., childn, local1, ..., localn). One tuple per node instead of two: the cyclic
    # garbage collector rescans every tuple holding a Value again and again while a graph
    # grows, so one tuple less builds a 300,000-node chain about 30% faster and saves 30
    # bytes a node (python -m benchmarks: chain, memory). An n-ary node (dot) builds it in
    # one step from its operands and its rule's derivatives: (*operands, *local_grads).
    # _upstream is backward()'s working space: d root / d node, gathered during the sweep;
    # 0.0 at all other times.
    __slots__ = ("data", "grad", "label", "op", "_edges", "_upstream", "__weakref__")

    def __init__(self, data: Value | float, label: str = "", op: str = "",
                 children: tuple[Value, ...] = (), local_grads: tuple[float, ...] = ()) -> None:
        # Nodes made by ops skip __init__ (see _node): only user-made Values pay this check.
        if type(data) is not float:
            data = _to_float(data, "Value")
        if len(children) != len(local_grads):
            raise ValueError(f"Value: {len(children)} children but {len(local_grads)} "
                             "local derivatives; give one derivative per child")
        self.data: float = data
        self.grad: float = 0.0
        self.label: str = label
        self.op: str = op
        self._edges: tuple[Value | float, ...] = (*children, *local_grads)
        self._upstream: float = 0.0

    @property
    def children(self) -> tuple[Value, ...]:
        """The operands that made this node, in operand order; () for a leaf."""
        return self._edges[:len(self._edges) >> 1]  # type: ignore[return-value]

    @property
    def local_grads(self) -> tuple[float, ...]:
        """d self / d child for each child, in the order of children (memoized when made)."""
        return self._edges[len(self._edges) >> 1:]  # type: ignore[return-value]

    # ---- arithmetic and functions: each line binds a method to its rule in ops ----------
    # The bindings are made once, here, by _binary and _unary (below the class): each returns
    # a method that calls its rule and builds the node itself, one call in all per op besides
    # the rule's own (python -m benchmarks: chain, forward).

    __add__ = _binary(ops.add, "+")
    __sub__ = _binary(ops.sub, "-")
    __mul__ = _binary(ops.mul, "*")
    __truediv__ = _binary(ops.div, "/")
    # Reflected operators: the number on the left becomes a leaf, operand order kept.
    __radd__ = _binary(ops.add, "+", reflected=True)
    __rsub__ = _binary(ops.sub, "-", reflected=True)
    __rmul__ = _binary(ops.mul, "*", reflected=True)
    __rtruediv__ = _binary(ops.div, "/", reflected=True)
    __rpow__ = _binary(ops.pow, "**", reflected=True)
    _pow_node = _binary(ops.pow, "**")  # for __pow__ with a Value exponent
    __neg__ = _unary(ops.neg, "neg", "-self.")
    __abs__ = _unary(ops.abs_, "abs", "|self|; the derivative at 0 is 0.")

    exp = _unary(ops.exp, "exp", "e**self.")
    log = _unary(ops.log, "log", "Natural log; ValueError for operands <= 0.")
    sqrt = _unary(ops.sqrt, "sqrt", "Square root; ValueError for operands < 0.")
    tanh = _unary(ops.tanh, "tanh", "Hyperbolic tangent.")
    sigmoid = _unary(ops.sigmoid, "sigmoid", "Logistic sigmoid, stable for any operand.")
    relu = _unary(ops.relu, "relu", "max(self, 0); the derivative at 0 is 0.")
    sin = _unary(ops.sin, "sin", "Sine.")
    cos = _unary(ops.cos, "cos", "Cosine.")

    def __pow__(self, exponent: Value | Number) -> Value:
        if isinstance(exponent, Value) or not isinstance(exponent, numbers.Real):
            return self._pow_node(exponent)
        n = float(exponent)
        # A constant exponent is not a node; the op shows it, as a learner writes x**2.
        return _apply1(self, lambda x: ops.power(x, n), f"**{n:g}")

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """self for self > 0, else slope * self."""
        slope = _to_float(slope, "leaky_relu slope")
        return _apply1(self, lambda x: ops.leaky_relu(x, slope), "leaky_relu")

    # ---- gradients ----------------------------------------------------------------------

    def backward(self, gradient: float = 1.0) -> None:
        """Add gradient * d self / d n into n.grad for every node n of the graph."""
        from .backward import backward

        backward(self, gradient)

    def detach(self) -> Value:
        """Return a new leaf with the same data (and label), cut from the graph."""
        return Value(self.data, self.label)

    # ---- comparisons and conversions ----------------------------------------------------
    # == and hash stay by identity (object's), so Values live in sets and dicts.

    def __lt__(self, other: Value | Number) -> bool:
        d = _data_of(other)
        return NotImplemented if d is None else self.data < d

    def __le__(self, other: Value | Number) -> bool:
        d = _data_of(other)
        return NotImplemented if d is None else self.data <= d

    def __gt__(self, other: Value | Number) -> bool:
        d = _data_of(other)
        return NotImplemented if d is None else self.data > d

    def __ge__(self, other: Value | Number) -> bool:
        d = _data_of(other)
        return NotImplemented if d is None else self.data >= d

    def __float__(self) -> float:
        return self.data

    def __repr__(self) -> str:
        parts = [f"data={self.data:.6g}", f"grad={self.grad:.6g}"]
        if self.label:
            parts.append(f"label={self.label!r}")
        if self.op:
            parts.append(f"op={self.op!r}")
        return f"Value({', '.join(parts)})"


def _operand(x: object) -> Value | None:
    """x as a Value (a number becomes a leaf), or None when x is not a real number."""
    if isinstance(x, Value):
        return x
    if type(x) is float or isinstance(x, numbers.Real):
        return Value(x)  # type: ignore[arg-type]
    return None


def _to_float(x: object, what: str) -> float:
    """x as a float if it is a real number (bool, int, float, NumPy real...), else TypeError."""
    if isinstance(x, numbers.Real) and not isinstance(x, Value):
        return float(x)
    raise TypeError(f"{what} needs a real number, got {type(x).__name__}: {x!r:.60}")


def _data_of(x: object) -> float | None:
    """The number to compare with: a Value's data, a real number, or None for anything else."""
    if isinstance(x, Value):
        return x.data
    if isinstance(x, numbers.Real):
        return float(x)
    return None
