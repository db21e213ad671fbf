"""Value: a scalar that records the operation that made it and its local derivatives."""

from __future__ import annotations

import numbers
import operator
from collections.abc import Callable, Sequence
from typing import Any, cast

from . import ops
from .mode import _mode

UnaryRule = Callable[[float], tuple[float, tuple[float]]]
BinaryRule = Callable[[float, float], tuple[float, tuple[float, float]]]


# ---- making nodes ------------------------------------------------------------------------
# _node makes the node of every op. Its steps are written out again, inline, in the two
# methods that _unary and _binary build, and in functional._dots, on purpose: those ops are most
# of any graph, and one call less per op saves about 40 of the 600 ns per node of the chain's
# forward pass (python -m benchmarks: chain). A change to how a node is made goes into all
# four places.

_new = object.__new__


def _node(data: float, op: str, edges: tuple[Value | float, ...]) -> Value:
    """Return a new node from data and its edges (children, then local derivatives).

    Ops make nodes here rather than through Value(...): data is already a float and the
    edges already built, so this skips __init__'s checks (no type test, no pairing).
    Under no_grad, or without children (an n-ary op over numbers only), it is a leaf.
    """
    node = _new(Value)
    node.data = data
    node.grad = 0.0
    node.label = ""
    if _mode.enabled and edges:
        node.op = op
        node._edges = edges
    else:
        node.op = ""
        node._edges = ()
    node._upstream = 0.0
    return node


def _unary(rule: UnaryRule, op: str, doc: str) -> Callable[[Value], Value]:
    """Return the method applying rule to self: a node with self as its one child."""
    def method(self: Value) -> Value:
        data, (local,) = rule(self.data)
        # _node's steps, written out: see the note above _node.
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
            reflected: bool = False) -> Callable[[Value, Operand], Value]:
    """Return the method applying rule to (self, other), or to (other, self) when reflected."""
    def method(self: Value, other: Operand) -> Value:
        # Exact type test first: Value with Value is the case every training step repeats.
        if type(other) is Value:
            operand = other
        else:
            converted = _operand(other)
            if converted is None:
                # Unknown operand: Python then tries the other side, then raises TypeError.
                return NotImplemented  # type: ignore[no-any-return]  # typeshed: Any
            operand = converted
        if reflected:
            a, b = operand, self
        else:
            a, b = self, operand
        data, (local_a, local_b) = rule(a.data, b.data)
        # _node's steps, written out: see the note above _node.
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

    left, right = ("other", "self") if reflected else ("self", "other")
    method.__doc__ = f"Return {left} {op} {right} as a node; other is a Value or a real number."
    return method


class OpLabel(str):
    """A node's op as the picture shows it ("**2", "dot"), carrying what that text leaves out.

    A constant power carries its exponent, leaky_relu its slope, and an n-ary node that
    folded numbers in carries its operands (or, for a layer's dot, where they went): what
    ag.compile and grad(create_graph=True) need to rebuild the op from the node alone.
    Ops whose children are all their operands (+, tanh, ...) keep a plain str.
    """

    key: str  # the op's entry in ops.OPS
    params: dict[str, Any]  # keyword parameters of the op's rule (n, slope, i, b_values)
    operands: tuple[Any, ...] | None  # every operand, numbers included; None if not kept

    def __new__(cls, text: str, key: str, operands: tuple[Any, ...] | None = None,
                **params: Any) -> OpLabel:
        label = super().__new__(cls, text)
        label.key, label.params, label.operands = key, params, operands
        return label


def _apply1(x: Value, rule: UnaryRule, op: str) -> Value:
    """Return rule (one with a parameter bound) applied to x: a node with x as its one child."""
    data, (local,) = rule(x.data)
    return _node(data, op, (x, local))


def _comparison(compare: Callable[[float, float], bool],
                symbol: str) -> Callable[[Value, object], bool]:
    """Return the method comparing self.data with other's number (a Value's data or a real)."""
    def method(self: Value, other: object) -> bool:
        d = _data_of(other)
        if d is None:
            return NotImplemented  # type: ignore[no-any-return]  # typeshed: Any
        result = compare(self.data, d)
        # ag.compile, while tracing, records each comparison: a call on which one comes out
        # differently traces again (a branch taken on a Value is part of the program).
        if _mode.comparisons is not None:
            _mode.comparisons.append((self, symbol, other, result))
        return result

    method.__doc__ = f"Return self.data {symbol} other's number; other is a Value or a real."
    return method


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

    def __init__(self, data: float, label: str = "", op: str = "",
                 children: Sequence[Value] = (), local_grads: Sequence[float] = ()) -> None:
        # Nodes made by ops skip __init__ (see _node): only user-made Values pay these checks.
        if type(data) is not float:
            data = _to_float(data, "Value")
        self.data: float = data
        self.grad: float = 0.0
        self.label: str = label
        self.op: str = op
        self._edges: tuple[Value | float, ...] = (
            _edges_of(children, local_grads) if children or local_grads else ())
        self._upstream: float = 0.0

    @property
    def children(self) -> tuple[Value, ...]:
        """Return the operands that made this node, in operand order; () for a leaf."""
        edges = self._edges
        return cast("tuple[Value, ...]", edges[:len(edges) >> 1])

    @property
    def local_grads(self) -> tuple[float, ...]:
        """Return d self / d child for each child, in the order of children (made in forward)."""
        edges = self._edges
        return cast("tuple[float, ...]", edges[len(edges) >> 1:])

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
    __neg__ = _unary(ops.neg, "neg", "Return -self.")
    __abs__ = _unary(ops.abs_, "abs", "Return |self|; the derivative at 0 is 0.")

    exp = _unary(ops.exp, "exp", "Return e**self; OverflowError where it exceeds a float.")
    log = _unary(ops.log, "log", "Return the natural log of self; ValueError for self <= 0.")
    sqrt = _unary(ops.sqrt, "sqrt", "Return the square root of self; ValueError for self < 0.")
    tanh = _unary(ops.tanh, "tanh", "Return tanh(self).")
    sigmoid = _unary(ops.sigmoid, "sigmoid", "Return 1 / (1 + e**-self), stable for any self.")
    relu = _unary(ops.relu, "relu", "Return max(self, 0); the derivative at 0 is 0.")
    sin = _unary(ops.sin, "sin", "Return sin(self).")
    cos = _unary(ops.cos, "cos", "Return cos(self).")
    tan = _unary(ops.tan, "tan", "Return tan(self).")
    sinh = _unary(ops.sinh, "sinh", "Return sinh(self); OverflowError where it exceeds a float.")
    cosh = _unary(ops.cosh, "cosh", "Return cosh(self); OverflowError where it exceeds a float.")
    asin = _unary(ops.asin, "asin", "Return arcsin(self); ValueError outside [-1, 1].")
    acos = _unary(ops.acos, "acos", "Return arccos(self); ValueError outside [-1, 1].")
    atan = _unary(ops.atan, "atan", "Return arctan(self).")
    asinh = _unary(ops.asinh, "asinh", "Return arsinh(self).")
    acosh = _unary(ops.acosh, "acosh", "Return arcosh(self); ValueError for self < 1.")
    atanh = _unary(ops.atanh, "atanh", "Return artanh(self); ValueError outside [-1, 1].")
    log1p = _unary(ops.log1p, "log1p", "Return log(1 + self); ValueError for self <= -1.")
    expm1 = _unary(ops.expm1, "expm1", "Return e**self - 1; OverflowError past a float.")
    log2 = _unary(ops.log2, "log2", "Return the base-2 log of self; ValueError for self <= 0.")
    log10 = _unary(ops.log10, "log10", "Return the base-10 log of self; ValueError for self <= 0.")
    sign = _unary(ops.sign, "sign", "Return 1, -1 or 0 by the sign of self; the derivative is 0.")
    softplus = _unary(ops.softplus, "softplus", "Return log(1 + e**self), stable for any self.")
    gelu = _unary(ops.gelu, "gelu", "Return self * Phi(self), Phi the normal CDF (erf form).")
    silu = _unary(ops.silu, "silu", "Return self * sigmoid(self).")
    erf = _unary(ops.erf, "erf", "Return the error function of self.")

    def __pow__(self, exponent: Operand) -> Value:
        """Return self ** exponent: a Value exponent is a child, a number is part of the op."""
        if isinstance(exponent, Value) or not isinstance(exponent, numbers.Real):
            return self._pow_node(exponent)
        n = float(exponent)
        # A constant exponent is not a node; the op shows it, as a learner writes x**2.
        return _apply1(self, lambda x: ops.power(x, n), OpLabel(f"**{n:g}", "power", n=n))

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """Return self for self > 0, else slope * self."""
        # A Value slope is taken as its number (a constant): float() lets ag.compile see it.
        slope = float(slope) if isinstance(slope, Value) else _to_float(slope, "leaky_relu slope")
        return _apply1(self, lambda x: ops.leaky_relu(x, slope),
                       OpLabel("leaky_relu", "leaky_relu", slope=slope))

    def elu(self, alpha: float = 1.0) -> Value:
        """Return self for self > 0, else alpha * (e**self - 1)."""
        # A Value alpha is taken as its number (a constant), as leaky_relu's slope is.
        alpha = float(alpha) if isinstance(alpha, Value) else _to_float(alpha, "elu alpha")
        return _apply1(self, lambda x: ops.elu(x, alpha), OpLabel("elu", "elu", alpha=alpha))

    # ---- gradients ----------------------------------------------------------------------

    def backward(self, gradient: float = 1.0) -> None:
        """Add gradient * d self / d n into n.grad for every node n of the graph; return None."""
        from .backward import backward

        backward(self, gradient)

    def detach(self) -> Value:
        """Return a new leaf with the same data (and label), cut from the graph."""
        if _mode.comparisons is not None:
            raise TypeError("detach() inside a function that ag.compile traces: the compiled "
                            "code cannot replay a cut in the graph; detach outside it")
        return Value(self.data, self.label)

    # ---- comparisons and conversions ----------------------------------------------------
    # == and hash stay by identity (object's), so Values live in sets and dicts.

    __lt__ = _comparison(operator.lt, "<")
    __le__ = _comparison(operator.le, "<=")
    __gt__ = _comparison(operator.gt, ">")
    __ge__ = _comparison(operator.ge, ">=")

    def item(self) -> float:
        """Return data, as float(self) does (PyTorch's habit): a plain number, off the graph."""
        return self.__float__()

    def __float__(self) -> float:
        """Return data: a plain number, through which no gradient flows.

        ``math.exp(v)`` and other math functions call this: they return a float, not a node,
        and silently cut the graph there; use ``v.exp()``. It does not warn: ``float(loss)``
        to log a number is just as common and is no mistake.
        """
        # ag.compile, while tracing: the number leaves the graph here (math.sin(x), say), so
        # the compiled code holds only for this exact number; another traces again.
        if _mode.comparisons is not None:
            _mode.comparisons.append((self, "==", self.data, True))
        return self.data

    def __format__(self, spec: str) -> str:
        """Return data formatted by spec (f"{v:.3f}"); an empty spec gives repr(v)."""
        # data, not float(self): printing inside a compiled function guards nothing.
        return format(self.data, spec) if spec else repr(self)

    def __repr__(self) -> str:
        """Return Value(data=..., grad=...), with the label and the op when there are any."""
        parts = [f"data={self.data:.6g}", f"grad={self.grad:.6g}"]
        if self.label:
            parts.append(f"label={self.label!r}")
        if self.op:
            parts.append(f"op={self.op!r}")
        return f"Value({', '.join(parts)})"


# What an operator or n-ary op accepts as an operand: a Value, or a real number (a constant).
Operand = Value | float


def _operand(x: object) -> Value | None:
    """Return x as a Value (a number becomes a leaf), or None when x is not a real number."""
    if isinstance(x, Value):
        return x
    if type(x) is float or isinstance(x, numbers.Real):
        return Value(float(x))
    return None


def _to_float(x: object, what: str) -> float:
    """Return x as a float if it is a real number (bool, int, float, NumPy real...).

    Anything else, a Value included, raises TypeError naming what needed the number.
    """
    if isinstance(x, numbers.Real) and not isinstance(x, Value):
        return float(x)
    raise TypeError(f"{what} needs a real number, got {type(x).__name__}: {x!r:.60}")


def _edges_of(children: Sequence[Value],
              local_grads: Sequence[float]) -> tuple[Value | float, ...]:
    """Return a hand-made node's edges, (children..., local derivatives...), each checked.

    Checked here, once, so that backward() never meets a child that is not a Value.
    """
    children, local_grads = tuple(children), tuple(local_grads)
    if len(children) != len(local_grads):
        raise ValueError(f"Value: {len(children)} children but {len(local_grads)} "
                         "local derivatives; give one derivative per child")
    for child in children:
        if not isinstance(child, Value):
            raise TypeError(f"Value: children must be Values, got {type(child).__name__}: "
                            f"{child!r:.60}")
    return (*children, *[_to_float(d, "Value local derivative") for d in local_grads])


def _data_of(x: object) -> float | None:
    """Return the number to compare with: a Value's data, a real number, or None otherwise."""
    if isinstance(x, Value):
        return x.data
    if isinstance(x, numbers.Real):
        return float(x)
    return None
