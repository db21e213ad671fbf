"""Value: construction, attributes, operators, comparisons, identity, repr, detach, errors."""

from __future__ import annotations

import doctest
import math
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction

import pytest

import autograd
import autograd.value
from autograd import Value, topological_order


def test_docstring_examples_pass() -> None:
    for module in (autograd, autograd.value):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


# ---- construction ---------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "expected"), [
    (3, 3.0), (-2.5, -2.5), (True, 1.0), (False, 0.0), (Fraction(1, 4), 0.25),
])
def test_value_stores_any_real_number_as_float(data: object, expected: float) -> None:
    v = Value(data)  # type: ignore[arg-type]
    assert type(v.data) is float and v.data == expected


def test_value_accepts_numpy_real_scalars() -> None:
    np = pytest.importorskip("numpy")
    for scalar in (np.float64(1.5), np.float32(1.5), np.int64(2), np.int8(-3)):
        v = Value(scalar)
        assert type(v.data) is float and v.data == float(scalar)


@pytest.mark.parametrize(("data", "type_name"), [
    ("1.0", "str"), (None, "NoneType"), (1 + 2j, "complex"), ([1.0], "list"),
    (Value(1.0), "Value"), (Decimal("1.5"), "Decimal"),
])
def test_value_rejects_non_real_data_naming_its_type(data: object, type_name: str) -> None:
    with pytest.raises(TypeError, match=type_name):
        Value(data)  # type: ignore[arg-type]


def test_new_value_is_a_leaf_with_zero_grad() -> None:
    v = Value(2.0, label="w")
    assert (v.data, v.grad, v.label, v.op, v.children) == (2.0, 0.0, "w", "", ())


def test_values_use_slots_not_a_dict() -> None:
    assert not hasattr(Value(1.0), "__dict__")


# ---- operators build nodes --------------------------------------------------------------------


@pytest.mark.parametrize(("make", "op"), [
    (lambda a, b: a + b, "+"), (lambda a, b: a - b, "-"), (lambda a, b: a * b, "*"),
    (lambda a, b: a / b, "/"), (lambda a, b: a ** b, "**"),
])
def test_binary_operator_records_op_and_children_in_order(make: Callable, op: str) -> None:
    a, b = Value(3.0), Value(2.0)
    out = make(a, b)
    assert out.op == op and out.children == (a, b)
    assert out.label == "" and out.grad == 0.0


def test_reflected_operator_keeps_operand_order() -> None:
    x = Value(2.0)
    out = 10 - x
    assert out.data == 8.0 and out.op == "-"
    constant, child = out.children
    assert child is x and constant.data == 10.0 and constant.children == ()


def test_constant_exponent_is_not_a_child() -> None:
    x = Value(3.0)
    out = x ** 2
    assert out.children == (x,) and out.op.startswith("**")


@pytest.mark.parametrize(("make", "op"), [
    (lambda x: -x, "neg"), (abs, "abs"), (Value.exp, "exp"), (Value.log, "log"),
    (Value.sqrt, "sqrt"), (Value.tanh, "tanh"), (Value.sigmoid, "sigmoid"),
    (Value.relu, "relu"), (Value.leaky_relu, "leaky_relu"), (Value.sin, "sin"),
    (Value.cos, "cos"),
])
def test_unary_op_records_its_name(make: Callable[[Value], Value], op: str) -> None:
    x = Value(0.5)
    out = make(x)
    assert out.op == op and out.children == (x,)
    assert len(out.local_grads) == 1


def test_local_derivatives_are_stored_at_forward_time() -> None:
    a, b = Value(3.0), Value(-2.0)
    assert (a * b).local_grads == (-2.0, 3.0)


def test_leaky_relu_rejects_a_non_number_slope() -> None:
    with pytest.raises(TypeError, match="str"):
        Value(-1.0).leaky_relu("big")  # type: ignore[arg-type]


# ---- comparisons, identity, conversions -------------------------------------------------------


def test_comparisons_use_data_and_return_bool() -> None:
    a, b = Value(1.0), Value(2.0)
    results = [a < b, a <= b, b > a, b >= a, a < 1.5, 2 > a, a >= 1, Fraction(3, 2) <= b]
    assert results == [True] * 8
    assert all(type(r) is bool for r in results)
    assert not (a > b) and not (b < 1)


def test_comparing_with_a_non_number_raises_type_error() -> None:
    with pytest.raises(TypeError):
        _ = Value(1.0) < "2"  # type: ignore[operator]


def test_equality_and_hash_are_by_identity() -> None:
    a, b = Value(1.0), Value(1.0)
    assert a == a and a != b
    assert a != 1.0
    assert len({a, b, a}) == 2
    assert {a: "first", b: "second"}[b] == "second"
    assert hash(a) == object.__hash__(a)


def test_float_returns_data() -> None:
    assert float(Value(2.5)) == 2.5
    assert math.sqrt(Value(4.0)) == 2.0  # anything taking a float takes a Value


def test_repr_shows_data_grad_label_and_op() -> None:
    x = Value(2.0, label="x")
    y = x * 3
    y.backward()
    assert repr(x) == "Value(data=2, grad=3, label='x')"
    assert "data=6" in repr(y) and "grad=1" in repr(y) and "op='*'" in repr(y)
    assert "label" not in repr(y)


def test_detach_returns_a_new_leaf_with_the_same_data() -> None:
    x = Value(3.0, label="x")
    y = x * x
    d = y.detach()
    assert d is not y and d.data == 9.0 and d.children == () and d.op == ""
    (d * 2).backward()
    assert d.grad == 2.0 and y.grad == 0.0 and x.grad == 0.0


# ---- errors: clear messages, and nothing lost ------------------------------------------------


def _snapshot(root: Value) -> list[tuple[object, ...]]:
    return [(n, n.data, n.grad, n.op, n.children, n.local_grads)
            for n in topological_order(root)]


ERRORS = [
    ("log(-2)", lambda x, y: (x - 5).log(), ValueError, r"log.*-2\.0"),
    ("log(0)", lambda x, y: (x - 3).log(), ValueError, r"log.*0\.0"),
    ("sqrt(-2)", lambda x, y: (x - 5).sqrt(), ValueError, r"sqrt.*-2\.0"),
    ("Value/0", lambda x, y: y / (x - 3), ZeroDivisionError, r"/.*zero"),
    ("number/0", lambda x, y: 1 / (x - 3), ZeroDivisionError, r"/.*zero"),
    ("Value/number 0", lambda x, y: y / 0, ZeroDivisionError, r"/.*zero"),
    ("exp overflow", lambda x, y: (x * 1000).exp(), OverflowError, r"exp.*3000"),
    ("0**-1", lambda x, y: (x - 3) ** -1, ZeroDivisionError, r"\*\*.*0\.0"),
    ("0**Value(-1)", lambda x, y: (x - 3) ** (x - 4), ZeroDivisionError, r"\*\*"),
    ("(-8)**(1/3)", lambda x, y: (x - 11) ** (1 / 3), ValueError, r"\*\*.*-8\.0"),
    ("(-8)**Value(0.5)", lambda x, y: (x - 11) ** (x / 6), ValueError, r"\*\*.*-8\.0"),
    ("**overflow", lambda x, y: (x + 7) ** 400, OverflowError, r"\*\*"),
    ("Value+str", lambda x, y: y + "a", TypeError, r"str"),
    ("str+Value", lambda x, y: "a" + y, TypeError, r"str"),
    ("Value*None", lambda x, y: y * None, TypeError, r"NoneType"),
    ("Value**list", lambda x, y: y ** [2], TypeError, r"list"),
]


@pytest.mark.parametrize(("make", "error", "message"), [e[1:] for e in ERRORS],
                         ids=[e[0] for e in ERRORS])
def test_bad_input_raises_and_leaves_graph_and_grads_unchanged(
        make: Callable[[Value, Value], object], error: type[Exception], message: str) -> None:
    x = Value(3.0, label="x")
    y = (x * x + 1).tanh() * x
    y.backward()
    before = _snapshot(y)
    with pytest.raises(error, match=message):
        make(x, y)
    assert _snapshot(y) == before
    assert x.grad != 0.0 and y.grad == 1.0


# ---- hand-made nodes: checked when made, so backward() never meets a bad edge -----------------


@pytest.mark.parametrize(("children", "local_grads", "error", "message"), [
    ((1.0,), (1.0,), TypeError, "children must be Values, got float"),
    ((None,), (1.0,), TypeError, "children must be Values, got NoneType"),
    ((Value(1.0),), ("a",), TypeError, "local derivative needs a real number, got str"),
    ((Value(1.0),), (), ValueError, "1 children but 0 local derivatives"),
])
def test_hand_made_node_checks_its_children_and_derivatives(
        children: tuple[object, ...], local_grads: tuple[object, ...],
        error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        Value(1.0, op="f", children=children, local_grads=local_grads)  # type: ignore[arg-type]


def test_hand_made_node_takes_any_sequences_and_stores_floats() -> None:
    x = Value(2.0)
    y = Value(4.0, op="square", children=[x], local_grads=[4])
    assert y.children == (x,) and y.local_grads == (4.0,)
    assert type(y.local_grads[0]) is float
    y.backward()
    assert x.grad == 4.0


# ---- operands of every kind, on either side ---------------------------------------------------


@pytest.mark.parametrize(("make", "op", "data"), [
    (lambda x: 10 + x, "+", 12.0), (lambda x: 10 - x, "-", 8.0), (lambda x: 10 * x, "*", 20.0),
    (lambda x: 10 / x, "/", 5.0), (lambda x: 10 ** x, "**", 100.0),
])
def test_every_reflected_operator_puts_the_number_first(make: Callable[[Value], Value],
                                                        op: str, data: float) -> None:
    x = Value(2.0)
    out = make(x)
    constant, child = out.children
    assert (out.op, out.data) == (op, data)
    assert child is x and constant.data == 10.0 and constant.children == ()


def test_numpy_scalars_work_on_either_side() -> None:
    np = pytest.importorskip("numpy")
    x = Value(2.0)
    for scalar in (np.float64(3.0), np.float32(3.0), np.int64(3)):
        outs = [x + scalar, scalar + x, x * scalar, scalar * x, scalar - x, scalar / x,
                x ** scalar, scalar ** x]
        assert all(type(out) is Value for out in outs), scalar
        assert [out.data for out in outs] == [5.0, 5.0, 6.0, 6.0, 1.0, 1.5, 8.0, 9.0]
        assert scalar > x and not (scalar < x)
    total = np.float64(3.0) * x
    total.backward()
    assert x.grad == 3.0


def test_value_subclass_operands_are_children_like_any_value() -> None:
    class Named(Value):
        pass

    x, w = Value(2.0), Named(3.0)
    out = x * w + w
    out.backward()
    assert out.children[1] is w and (x.grad, w.grad) == (3.0, 3.0)


@pytest.mark.parametrize("exponent", [2, 2.0, True, Fraction(1, 2)])
def test_number_exponent_of_any_real_type_is_part_of_the_op(exponent: object) -> None:
    x = Value(4.0)
    out = x ** exponent  # type: ignore[operator]
    n = float(exponent)  # type: ignore[arg-type]
    out.backward()
    assert out.children == (x,) and out.op == f"**{n:g}"
    assert out.data == 4.0 ** n and x.grad == n * 4.0 ** (n - 1)


def test_value_exponent_is_a_child_with_its_own_gradient() -> None:
    x, n = Value(4.0), Value(0.5)
    out = x ** n
    out.backward()
    assert out.children == (x, n) and out.op == "**"
    assert (out.data, x.grad) == (2.0, 0.25)
    assert n.grad == pytest.approx(2.0 * math.log(4.0), rel=1e-15)


def test_same_value_as_base_and_exponent_gets_both_derivatives() -> None:
    x = Value(2.0)
    (x ** x).backward()
    assert x.grad == pytest.approx(4.0 * (1.0 + math.log(2.0)), rel=1e-15)


def test_item_returns_data_as_float_does() -> None:
    v = Value(2.5) * 2
    assert v.item() == 5.0 and isinstance(v.item(), float)


def test_every_elementary_function_is_a_method() -> None:
    names = ("tan sinh cosh asin acos atan asinh acosh atanh log1p expm1 log2 log10 sign "
             "softplus elu gelu silu erf").split()
    for name in names:
        x = Value(1.25 if name == "acosh" else 0.25)
        y = getattr(x, name)()
        assert y.op == name and y.children == (x,), name
