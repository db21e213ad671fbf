"""Value: a scalar that records the operation that made it and its local derivatives."""

from __future__ import annotations

import numbers
from collections.abc import Callable

from . import ops
from .mode import _mode

Number = float | int

UnaryRule = Callable[[float], tuple[float, tuple[float]]]
BinaryRule = Callable[[float, float], tuple[float, tuple[float, float]]]


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
    # _upstream is this backward()'s d root / d node while the sweep runs, 0.0 at all other times.
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

    # ---- arithmetic: each line binds an operator to its rule in ops ---------------------

    def __add__(self, other: Value | Number) -> Value:
        return _apply2(self, other, ops.add, "+")

    def __sub__(self, other: Value | Number) -> Value:
        return _apply2(self, other, ops.sub, "-")

    def __mul__(self, other: Value | Number) -> Value:
        return _apply2(self, other, ops.mul, "*")

    def __truediv__(self, other: Value | Number) -> Value:
        return _apply2(self, other, ops.div, "/")

    def __pow__(self, exponent: Value | Number) -> Value:
        if isinstance(exponent, Value) or not isinstance(exponent, numbers.Real):
            return _apply2(self, exponent, ops.pow, "**")
        n = float(exponent)
        # A constant exponent is not a node; the op shows it, as a learner writes x**2.
        return _apply1(self, lambda x: ops.power(x, n), f"**{n:g}")

    # Reflected operators: the number on the left becomes a leaf, operand order kept.
    def __radd__(self, other: Number) -> Value:
        return _apply2(other, self, ops.add, "+")

    def __rsub__(self, other: Number) -> Value:
        return _apply2(other, self, ops.sub, "-")

    def __rmul__(self, other: Number) -> Value:
        return _apply2(other, self, ops.mul, "*")

    def __rtruediv__(self, other: Number) -> Value:
        return _apply2(other, self, ops.div, "/")

    def __rpow__(self, other: Number) -> Value:
        return _apply2(other, self, ops.pow, "**")

    def __neg__(self) -> Value:
        return _apply1(self, ops.neg, "neg")

    def __abs__(self) -> Value:
        return _apply1(self, ops.abs_, "abs")

    # ---- functions ----------------------------------------------------------------------

    def exp(self) -> Value:
        """e**self."""
        return _apply1(self, ops.exp, "exp")

    def log(self) -> Value:
        """Natural log; ValueError for operands <= 0."""
        return _apply1(self, ops.log, "log")

    def sqrt(self) -> Value:
        """Square root; ValueError for operands < 0."""
        return _apply1(self, ops.sqrt, "sqrt")

    def tanh(self) -> Value:
        """Hyperbolic tangent."""
        return _apply1(self, ops.tanh, "tanh")

    def sigmoid(self) -> Value:
        """Logistic sigmoid, stable for any operand."""
        return _apply1(self, ops.sigmoid, "sigmoid")

    def relu(self) -> Value:
        """max(self, 0); the derivative at 0 is 0."""
        return _apply1(self, ops.relu, "relu")

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """self for self > 0, else slope * self."""
        slope = _to_float(slope, "leaky_relu slope")
        return _apply1(self, lambda x: ops.leaky_relu(x, slope), "leaky_relu")

    def sin(self) -> Value:
        """Sine."""
        return _apply1(self, ops.sin, "sin")

    def cos(self) -> Value:
        """Cosine."""
        return _apply1(self, ops.cos, "cos")

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


# ---- making nodes: the only place that turns a rule into a node --------------------------

_new = object.__new__


def _node(data: float, op: str, edges: tuple[Value | float, ...]) -> Value:
    """A new node from data and its edges (children, then local derivatives); a leaf in no_grad.

    Ops make nodes here rather than through Value(...): data is already a float and the
    edges already built, so this skips __init__'s checks (a third of the cost of a node).
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


def _apply1(x: Value, rule: UnaryRule, op: str) -> Value:
    """rule applied to x's data, as a node with x as its one child."""
    data, (local,) = rule(x.data)
    # _node's steps, inline: one call less on the op every activation repeats.
    node = _new(Value)
    node.data = data
    node.grad = 0.0
    node.label = ""
    if _mode.enabled:
        node.op = op
        node._edges = (x, local)
    else:
        node.op = ""
        node._edges = ()
    node._upstream = 0.0
    return node


def _apply2(a: Value | object, b: Value | object, rule: BinaryRule, op: str) -> Value:
    """rule applied to a and b, one of them a Value, the other a Value or a real number."""
    # Exact type tests first: Value with Value is the case every training step repeats.
    if type(a) is not Value:
        a = _operand(a)
        if a is None:
            return NotImplemented
    if type(b) is not Value:
        b = _operand(b)
        if b is None:
            return NotImplemented
    data, (local_a, local_b) = rule(a.data, b.data)  # type: ignore[union-attr]
    # _node's steps, inline: one call less on the ops every graph is mostly made of.
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
