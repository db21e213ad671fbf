"""Your own ops: ag.primitive turns a function of numbers and its derivative into an op of the
engine, an entry of ops.OPS like tanh's, which everything that reads the table then knows."""

from __future__ import annotations

import functools
import keyword
import numbers
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any, overload

from . import ops
from .value import OpLabel, Value, _node

Function = Callable[..., float]
_REGISTERING = threading.Lock()
Derivative = Callable[..., Sequence[Any]]


def primitive(derivative: Derivative) -> Callable[[Function], Primitive]:
    """Return a decorator making a function of real numbers an op of the engine.

    ``derivative(*operands, out)`` returns the local derivatives d out / d operand, one per
    operand, in order; ``out`` is the function's value at the operands, to reuse. Called with
    no Value among its arguments the primitive returns the number. Otherwise it returns one
    node: op the function's name, children the Value operands (numbers are constants), local
    derivatives from ``derivative``, computed once, now. An error in either function, or a
    derivative of the wrong length or type, raises before any node exists.

    The node works wherever a built-in op's does: backward, grad, gradcheck, jvp, jacobian,
    the pictures, ag.compile (the generated code calls the function and its derivative), and
    grad(create_graph=True), which calls ``derivative`` with Values: the primitive is
    differentiable again where ``derivative`` uses Value operations (``1.0 - out * out``,
    ``x.exp()``; ``math.exp(x)`` would give a plain number there, a constant). A program
    holding a primitive runs in the Python backend of ag.compile (the native one hands it
    over), since the function is Python.

    >>> import math
    >>> from autograd import Value
    >>> @primitive(derivative=lambda x, out: (1.0 - out * out,))
    ... def my_tanh(x):
    ...     return math.tanh(x)
    >>> x = Value(0.5)
    >>> y = my_tanh(x)
    >>> y.op, y.children == (x,), round(y.data, 6)
    ('my_tanh', True, 0.462117)
    >>> y.backward()
    >>> round(x.grad, 6) == round(1 - math.tanh(0.5) ** 2, 6)
    True
    >>> my_tanh(0.5) == math.tanh(0.5)
    True
    """
    if not callable(derivative):
        raise TypeError(f"primitive: derivative must be a function (*operands, out) -> local "
                        f"derivatives, got {type(derivative).__name__}")

    def decorate(function: Function) -> Primitive:
        return Primitive(function, derivative)

    return decorate


class Primitive:
    """A function of real numbers with its derivative beside it: an op of ops.OPS.

    ``key`` is its entry in ops.OPS and ops.PRIMITIVES: the function's name, made unique (a
    second primitive of one name, as a notebook cell run again makes, gets name_2), so nodes
    made before keep the functions they were made with.
    """

    def __init__(self, function: Function, derivative: Derivative) -> None:
        if not callable(function):
            raise TypeError(f"primitive: decorates a function of numbers, got "
                            f"{type(function).__name__}")
        self.function, self.derivative = function, derivative
        functools.update_wrapper(self, function)
        self.name: str = getattr(function, "__name__", "primitive")

        # The compiled code calls this by name: ops.PRIMITIVES['key'].rule((x, y, )).
        def rule(operands: Sequence[float]) -> tuple[float, tuple[float, ...]]:
            return self._rule(operands)

        self.rule = rule
        # Two threads defining one name must not both take the key found free.
        with _REGISTERING:
            self.key = _free_key(self.name)
            rule.__name__ = f"PRIMITIVES[{self.key!r}].rule"
            # No code: ag.compile writes a call of the rule; its operands come as one list, as
            # an n-ary op's do (numbers among them, constants, have derivatives too, unused).
            ops.OPS[self.key] = ops.Op(rule, local_values=self._local_values)
            ops.PRIMITIVES[self.key] = self

    @overload
    def __call__(self, *args: float) -> float: ...  # type: ignore[overload-overlap]

    @overload
    def __call__(self, *args: Value | float) -> Value: ...

    def __call__(self, *args: Value | float, **keywords: object) -> Value | float:
        """Return the function at args: a number for numbers, else a node (see primitive)."""
        if keywords:
            # The derivative, the compiled call and create_graph pass operands by position.
            raise TypeError(f"{self.name}: operands are passed by position, in the order the "
                            f"derivative returns theirs; got keyword argument(s) "
                            f"{', '.join(keywords)}")
        for k, arg in enumerate(args):
            if not isinstance(arg, (Value, numbers.Real)):
                raise TypeError(f"{self.name}: operands must be Values or real numbers; "
                                f"operand {k} is {type(arg).__name__}: {arg!r:.60}")
        xs = [arg.data if isinstance(arg, Value) else float(arg) for arg in args]
        if not any(isinstance(arg, Value) for arg in args):
            return self._value(xs)
        data, local_grads = self._rule(xs)
        operands = tuple(arg if isinstance(arg, Value) else x for arg, x in zip(args, xs))
        values = [k for k, arg in enumerate(args) if isinstance(arg, Value)]
        return _node(data, OpLabel(self.name, self.key, operands=operands),
                     (*[args[k] for k in values], *[local_grads[k] for k in values]))

    def __repr__(self) -> str:
        return f"<primitive {self.name} (ops.OPS[{self.key!r}])>"

    # ---- the op's three faces: the float rule; derivatives as Values; the number ----------

    def _rule(self, xs: Sequence[float]) -> tuple[float, tuple[float, ...]]:
        """Return the function's value at xs and its local derivatives there, checked."""
        y = self._value(xs)
        found = self.derivative(*xs, y)
        return y, tuple(self._checked(found, len(xs), "", allow_values=False))

    def _local_values(self, xs: Sequence[Any], y: Value) -> tuple[Any, ...]:
        """Return derivative called with the operands (Values and numbers) and the node."""
        found = self.derivative(*xs, y)
        return tuple(self._checked(found, len(xs), " with Values (create_graph=True)",
                                   allow_values=True))

    def _value(self, xs: Sequence[float]) -> float:
        y = self.function(*xs)
        if isinstance(y, Value) or not isinstance(y, numbers.Real):
            raise TypeError(f"{self.name}: the function must return a real number, got "
                            f"{type(y).__name__}: {y!r:.60}")
        return float(y)

    def _checked(self, found: object, n: int, called: str,
                 allow_values: bool) -> list[Any]:
        """Return the derivative's results as a list, refusing a wrong length or type."""
        if not isinstance(found, (tuple, list)):
            raise TypeError(f"{self.name}: derivative{called} must return a tuple of {n} local "
                            f"derivatives (one per operand), got {type(found).__name__}: "
                            f"{found!r:.60}; write (d,) for one operand")
        if len(found) != n:
            raise ValueError(f"{self.name}: derivative{called} returned {len(found)} local "
                             f"derivatives for {n} operand{'s' if n != 1 else ''}; return one "
                             "per operand, in order")
        result: list[Any] = []
        for k, d in enumerate(found):
            if isinstance(d, Value) and allow_values:
                result.append(d)
            elif isinstance(d, numbers.Real) and not isinstance(d, Value):
                result.append(float(d))
            else:
                raise TypeError(f"{self.name}: derivative{called} returned "
                                f"{type(d).__name__} for operand {k}, expected a real number"
                                + (" or a Value" if allow_values else ""))
        return result


def _free_key(name: str) -> str:
    """An identifier from name that no op of ops.OPS has yet (the compiled code's variables
    are named after it)."""
    base = re.sub(r"\W", "_", name) or "primitive"
    if base[0].isdigit() or keyword.iskeyword(base):
        base = f"p_{base}"
    key, k = base, 1
    while key in ops.OPS:
        k += 1
        key = f"{base}_{k}"
    return key
