"""Value: a scalar that records the operation that made it and its local derivatives."""

from __future__ import annotations

import numbers
from collections.abc import Callable

from . import ops
from .mode import _mode

Number = float | int


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
    __slots__ = ("data", "grad", "label", "op", "children", "local_grads", "_upstream",
                 "__weakref__")

    def __init__(self, data: Value | float, label: str = "", op: str = "",
                 children: tuple[Value, ...] = (), local_grads: tuple[float, ...] = ()) -> None:
        # Nodes made by ops always pass a float: one type test is all they pay.
        if type(data) is not float:
            data = _to_float(data, "Value")
        self.data: float = data
        self.grad: float = 0.0
        self.label: str = label
        self.op: str = op
        self.children: tuple[Value, ...] = children
        self.local_grads: tuple[float, ...] = local_grads

    # ---- making nodes: the only place that turns a rule into a node ----------------------

    def _unary(self, rule: Callable[[float], tuple[float, tuple[float]]], op: str) -> Value:
        data, local_grads = rule(self.data)
        if not _mode.enabled:
            return Value(data)
        return Value(data, "", op, (self,), local_grads)

    def _binary(self, other: object,
                rule: Callable[[float, float], tuple[float, tuple[float, float]]],
                op: str) -> Value:
        if not isinstance(other, Value):
            if not isinstance(other, numbers.Real):
                return NotImplemented
            other = Value(other)
        data, local_grads = rule(self.data, other.data)
        if not _mode.enabled:
            return Value(data)
        return Value(data, "", op, (self, other), local_grads)

    # ---- arithmetic ---------------------------------------------------------------------

    def __add__(self, other: Value | Number) -> Value:
        return self._binary(other, ops.add, "+")

    def __sub__(self, other: Value | Number) -> Value:
        return self._binary(other, ops.sub, "-")

    def __mul__(self, other: Value | Number) -> Value:
        return self._binary(other, ops.mul, "*")

    def __truediv__(self, other: Value | Number) -> Value:
        return self._binary(other, ops.div, "/")

    def __pow__(self, exponent: Value | Number) -> Value:
        if isinstance(exponent, Value):
            return self._binary(exponent, ops.pow, "**")
        if not isinstance(exponent, numbers.Real):
            return NotImplemented
        n = float(exponent)
        # A constant exponent is not a node; the op shows it, as a learner writes x**2.
        return self._unary(lambda x: ops.power(x, n), f"**{n:g}")

    # Reflected operators: the number on the left becomes a leaf, operand order kept.
    def __radd__(self, other: Number) -> Value:
        return _reflected(other, self, Value.__add__)

    def __rsub__(self, other: Number) -> Value:
        return _reflected(other, self, Value.__sub__)

    def __rmul__(self, other: Number) -> Value:
        return _reflected(other, self, Value.__mul__)

    def __rtruediv__(self, other: Number) -> Value:
        return _reflected(other, self, Value.__truediv__)

    def __rpow__(self, other: Number) -> Value:
        return _reflected(other, self, Value.__pow__)

    def __neg__(self) -> Value:
        return self._unary(ops.neg, "neg")

    def __abs__(self) -> Value:
        return self._unary(ops.abs_, "abs")

    # ---- functions ----------------------------------------------------------------------

    def exp(self) -> Value:
        """e**self."""
        return self._unary(ops.exp, "exp")

    def log(self) -> Value:
        """Natural log; ValueError for operands <= 0."""
        return self._unary(ops.log, "log")

    def sqrt(self) -> Value:
        """Square root; ValueError for operands < 0."""
        return self._unary(ops.sqrt, "sqrt")

    def tanh(self) -> Value:
        """Hyperbolic tangent."""
        return self._unary(ops.tanh, "tanh")

    def sigmoid(self) -> Value:
        """Logistic sigmoid, stable for any operand."""
        return self._unary(ops.sigmoid, "sigmoid")

    def relu(self) -> Value:
        """max(self, 0); the derivative at 0 is 0."""
        return self._unary(ops.relu, "relu")

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """self for self > 0, else slope * self."""
        slope = _to_float(slope, "leaky_relu slope")
        return self._unary(lambda x: ops.leaky_relu(x, slope), "leaky_relu")

    def sin(self) -> Value:
        """Sine."""
        return self._unary(ops.sin, "sin")

    def cos(self) -> Value:
        """Cosine."""
        return self._unary(ops.cos, "cos")

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


def _reflected(other: object, value: Value, method: Callable[[Value, object], Value]) -> Value:
    if not isinstance(other, numbers.Real) or isinstance(other, Value):
        return NotImplemented
    return method(Value(other), value)
