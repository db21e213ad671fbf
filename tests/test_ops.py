"""Every op of the table in strategies.py: value, local and full derivatives, gradcheck, PyTorch.

The rows cover every unary, binary (numbers and Values on either side) and n-ary op;
the special points (kinks, domain edges, +-1000) are tested by hand below.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import CASES, WEIGHTS, OpCase

from autograd import Value, gradcheck, ops, topological_order
from autograd.functional import node_operands

# Forward values and gradients agree with math's formulas to a few ulps.
EXACT = {"rel": 1e-12, "abs": 1e-14}

by_name = pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)


def _run(case: OpCase, point: list[float]) -> tuple[Value, list[Value]]:
    leaves = [Value(x) for x in point]
    out = case.call(leaves)
    out.backward()
    return out, leaves


def test_every_rule_in_ops_has_a_row() -> None:
    rules = set(ops.UNARY) | set(ops.BINARY) | set(ops.NARY)
    assert rules <= {case.covers for case in CASES}


@by_name
def test_forward_value_matches_math(case: OpCase) -> None:
    for point in case.points():
        out, _ = _run(case, point)
        assert out.data == pytest.approx(case.reference(point), **EXACT), point


@by_name
def test_gradient_matches_derivative_formula(case: OpCase) -> None:
    for point in case.points():
        _, leaves = _run(case, point)
        expected = case.derivative(point)
        assert [leaf.grad for leaf in leaves] == pytest.approx(expected, **EXACT), point


@pytest.mark.parametrize("case", [c for c in CASES if c.rule], ids=lambda c: c.name)
def test_rule_returns_output_and_local_derivatives(case: OpCase) -> None:
    assert case.rule is not None
    for point in case.points():
        out, local_grads = case.rule(point)
        assert out == pytest.approx(case.reference(point), **EXACT)
        assert list(local_grads) == pytest.approx(case.derivative(point), **EXACT)


@by_name
@given(data=st.data())
def test_gradient_matches_finite_differences(case: OpCase, data: st.DataObject) -> None:
    assert gradcheck(case.call, data.draw(case.inputs, label="inputs"))


@pytest.mark.torch
@by_name
@settings(max_examples=25)
@given(data=st.data())
def test_value_and_gradient_match_torch(case: OpCase, data: st.DataObject) -> None:
    torch = pytest.importorskip("torch")
    assert case.torch is not None, f"{case.name} has no PyTorch equivalent"
    point = data.draw(case.inputs, label="inputs")
    out, leaves = _run(case, point)
    tensors = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in point]
    expected = case.torch(torch, tensors)
    expected.backward()
    assert out.data == pytest.approx(expected.item(), **EXACT)
    assert [leaf.grad for leaf in leaves] == pytest.approx([t.grad.item() for t in tensors],
                                                           **EXACT)


# ---- the rules at their special points ------------------------------------------------------


@pytest.mark.parametrize(("rule", "expected"), [
    (ops.abs_, 0.0), (ops.relu, 0.0), (ops.leaky_relu, 0.01),
], ids=["abs", "relu", "leaky_relu"])
def test_kinks_take_the_documented_derivative_at_zero(rule, expected: float) -> None:
    assert rule(0.0) == (0.0, (expected,))


def test_sqrt_at_zero_has_infinite_slope() -> None:
    assert ops.sqrt(0.0) == (0.0, (math.inf,))


def test_power_local_derivative_at_zero() -> None:
    assert ops.power(0.0, 2.0) == (0.0, (0.0,))
    assert ops.power(0.0, 1.0) == (0.0, (1.0,))
    assert ops.power(0.0, 0.5) == (0.0, (math.inf,))
    assert ops.power(5.0, 0.0) == (1.0, (0.0,))


def test_power_with_negative_base_and_integer_exponent() -> None:
    assert ops.power(-2.0, 3.0) == (-8.0, (12.0,))
    assert ops.power(-2.0, -1.0) == (-0.5, (-0.25,))


def test_pow_exponent_derivative_outside_positive_bases() -> None:
    # d(a**b)/db = a**b ln(a): 0 as the limit at a = 0, undefined (NaN) for a < 0.
    assert ops.pow(0.0, 2.0) == (0.0, (0.0, 0.0))
    y, (d_a, d_b) = ops.pow(-2.0, 2.0)
    assert (y, d_a) == (4.0, -4.0)
    assert math.isnan(d_b)


def test_softmax_rule_returns_the_jacobian() -> None:
    xs = [0.3, -1.2, 2.0]
    exps = [math.exp(x) for x in xs]
    s = [e / sum(exps) for e in exps]
    for i, (si, local_grads) in enumerate(ops.softmax(xs)):
        assert si == pytest.approx(s[i], **EXACT)
        assert list(local_grads) == pytest.approx(
            [s[i] * ((i == j) - s[j]) for j in range(3)], **EXACT)


def test_log_softmax_rule_returns_the_jacobian() -> None:
    xs = [0.3, -1.2, 2.0]
    lse = math.log(sum(math.exp(x) for x in xs))
    s = [math.exp(x - lse) for x in xs]
    for i, (yi, local_grads) in enumerate(ops.log_softmax(xs)):
        assert yi == pytest.approx(xs[i] - lse, **EXACT)
        assert list(local_grads) == pytest.approx([(i == j) - s[j] for j in range(3)], **EXACT)


def test_weights_read_every_softmax_output() -> None:
    # The softmax rows go through a weighted sum; distinct weights keep every output visible.
    assert len(set(WEIGHTS)) == len(WEIGHTS)


# ---- stability: sigmoid and tanh never overflow ---------------------------------------------


@pytest.mark.parametrize(("x", "value"), [(1000.0, 1.0), (-1000.0, 0.0), (0.0, 0.5)])
def test_sigmoid_is_stable_at_extremes(x: float, value: float) -> None:
    v = Value(x)
    y = v.sigmoid()
    y.backward()
    assert y.data == value
    assert v.grad == (0.25 if x == 0.0 else 0.0)


def test_sigmoid_keeps_relative_precision_far_left() -> None:
    # The naive 1 / (1 + e**-x) would still be fine here, but 1 - sigmoid(-x) would give 0.
    assert ops.sigmoid(-40.0)[0] == pytest.approx(math.exp(-40.0), rel=1e-12)


@pytest.mark.parametrize("x", [1000.0, -1000.0])
def test_tanh_is_stable_at_extremes(x: float) -> None:
    v = Value(x)
    y = v.tanh()
    y.backward()
    assert y.data == math.copysign(1.0, x)
    assert v.grad == 0.0


def test_exp_works_up_to_the_largest_float() -> None:
    y, (d,) = ops.exp(ops.EXP_MAX)
    assert math.isfinite(y) and y == d
    with pytest.raises(OverflowError, match="exp"):
        ops.exp(math.nextafter(ops.EXP_MAX, math.inf))


def test_relu_lets_nan_through_like_pytorch():
    y = Value(math.nan).relu()
    assert math.isnan(y.data)
    assert y.local_grads == (0.0,)


# ---- the derivatives written with Values (for grad(create_graph=True)) ----------------------


def _value_positions(operands: tuple[object, ...]) -> list[bool]:
    flat = [x for o in operands for x in (o if isinstance(o, list) else [o])]
    return [isinstance(x, Value) for x in flat]


def _numbers(operands: tuple[object, ...]) -> tuple[object, ...]:
    """The operands with every Value replaced by its number (lists stay lists)."""
    def number(x: object) -> object:
        return x.data if isinstance(x, Value) else x
    return tuple([number(x) for x in o] if isinstance(o, list) else number(o) for o in operands)


@pytest.mark.parametrize("key", sorted(set(ops.OPS) - set(ops.PRIMITIVES)))
def test_local_values_data_equals_the_float_rule(key: str) -> None:
    # Every node of key in the table's rows: local_values, on the node's operands (Values and
    # folded numbers), and again on plain numbers, gives the local derivatives the rule stored.
    # logsumexp and its kin compute e**(x - y) rather than e**x / sum: equal to rounding.
    tolerance = {"rel": 1e-13, "abs": 1e-15} if key in {"logsumexp", "softmax",
                                                          "log_softmax"} else {"rel": 0, "abs": 0}
    local_values = ops.OPS[key].local_values
    assert local_values is not None
    checked = 0
    for case in CASES:
        for point in case.points():
            for node in topological_order(case.call([Value(x) for x in point])):
                if not node.children or node_operands(node)[0] != key:
                    continue
                _, operands, params = node_operands(node)
                where = _value_positions(operands)
                for args, y in [(operands, node), (_numbers(operands), node.data)]:
                    locals_ = local_values(*args, y, **params)
                    assert len(locals_) == len(where)
                    kept = [float(d) for d, is_value in zip(locals_, where) if is_value]
                    assert kept == pytest.approx(list(node.local_grads), **tolerance), (
                        case.name, point)
                checked += 1
    assert checked >= 5


# ---- the elementary functions at their edges, as PyTorch gives them ---------------------------


@pytest.mark.parametrize(("method", "x", "message"), [
    ("asin", 1.5, r"asin: operand must be in \[-1, 1\], got 1.5"),
    ("acos", -2.0, r"acos: operand must be in \[-1, 1\], got -2.0"),
    ("atanh", 1.0000001, r"atanh: operand must be in \[-1, 1\], got 1.0000001"),
    ("acosh", 0.5, "acosh: operand must be >= 1, got 0.5"),
    ("log1p", -1.0, "log1p: operand must be > -1, got -1.0"),
    ("log2", 0.0, "log2: operand must be > 0, got 0.0"),
    ("log10", -3.0, "log10: operand must be > 0, got -3.0"),
])
def test_domain_errors_name_the_op_and_operand_and_change_nothing(method, x, message) -> None:
    w = Value(1.0)
    h = w * x
    (h * 2.0).backward()
    before = (w.grad, h.grad, h.data, len(topological_order(h)))
    with pytest.raises(ValueError, match=message):
        getattr(h, method)()
    assert (w.grad, h.grad, h.data, len(topological_order(h))) == before


@pytest.mark.parametrize(("method", "x"), [("sinh", 711.0), ("cosh", -711.0), ("expm1", 710.0)])
def test_overflow_raises_like_exp(method: str, x: float) -> None:
    with pytest.raises(OverflowError, match=f"{method}: result too large for a float"):
        getattr(Value(x), method)()


def _torch_value_and_grad(name: str, x: float) -> tuple[float, float]:
    torch = pytest.importorskip("torch")
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    fn = {"softplus": torch.nn.functional.softplus, "elu": torch.nn.functional.elu,
          "gelu": torch.nn.functional.gelu, "silu": torch.nn.functional.silu}.get(
        name, getattr(torch, name, None))
    y = fn(t)
    (g,) = torch.autograd.grad(y, t)
    return y.item(), g.item()


@pytest.mark.torch
@pytest.mark.parametrize(("name", "x"), [
    ("sign", 0.0), ("sign", -0.0), ("sign", 3.0), ("asin", 1.0), ("asin", -1.0),
    ("acos", 1.0), ("acos", -1.0), ("atanh", 1.0), ("atanh", -1.0), ("acosh", 1.0),
    ("softplus", 19.9), ("softplus", 20.0), ("softplus", 20.0000001), ("softplus", 25.0),
    ("softplus", 1000.0), ("softplus", -1000.0), ("softplus", -30.0), ("elu", 0.0),
    ("elu", -1e-10), ("elu", -50.0), ("gelu", 0.0), ("gelu", -40.0), ("gelu", 40.0),
    ("silu", 1000.0), ("silu", -1000.0), ("silu", 0.0), ("log1p", 1e-300), ("expm1", 1e-300),
    ("atan", 1e200), ("asinh", 1e200), ("tan", 0.0), ("erf", 30.0),
])
def test_values_at_kinks_and_limits_are_torchs(name: str, x: float) -> None:
    v = Value(x)
    y = getattr(v, name)()
    y.backward()
    value, slope = _torch_value_and_grad(name, x)
    assert y.data == pytest.approx(value, rel=1e-12, abs=1e-300)
    assert v.grad == pytest.approx(slope, rel=1e-12, abs=1e-300)


def test_elu_alpha_is_a_parameter_of_its_op() -> None:
    x = Value(-1.0)
    y = x.elu(0.5)
    assert y.op == "elu" and y.op.params == {"alpha": 0.5}
    assert y.data == 0.5 * math.expm1(-1.0) and y.local_grads == (0.5 * math.exp(-1.0),)
    assert x.elu(Value(0.5)).data == y.data
    with pytest.raises(TypeError, match="elu alpha needs a real number"):
        x.elu("a")  # type: ignore[arg-type]


# ---- found in review: each once wrong ------------------------------------------------------


@pytest.mark.parametrize("method", ["sin", "cos", "tan"])
@pytest.mark.parametrize("x", [math.inf, -math.inf])
def test_trigonometry_of_an_infinity_names_the_op(method: str, x: float) -> None:
    # Was math's bare "math domain error", naming neither the op nor the operand.
    with pytest.raises(ValueError, match=f"{method}: operand must be finite, got {x!r}"):
        getattr(Value(x), method)()


@pytest.mark.parametrize("method", ["sqrt", "asin", "acos", "acosh", "atanh"])
def test_a_nan_operand_has_a_nan_slope_not_an_infinite_one(method: str) -> None:
    # The vertical-slope branch (1 / 0 -> +inf) once caught NaN too; PyTorch gives NaN.
    x = Value(math.nan)
    y = getattr(x, method)()
    assert math.isnan(y.data) and math.isnan(y.local_grads[0])
    # create_graph once refused atanh's node: its Values gave inf where the rule gave NaN.
    from autograd import grad

    (slope,) = grad(y, [x], create_graph=True)
    assert math.isnan(slope.data)
    assert math.isnan(grad(slope, [x])[0])


def _torch_second(name: str, x: float, **params: float) -> tuple[float, float]:
    torch = pytest.importorskip("torch")
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    fn = {"softplus": torch.nn.functional.softplus, "elu": torch.nn.functional.elu}[name]
    (g,) = torch.autograd.grad(fn(t, **params), t, create_graph=True)
    (g2,) = torch.autograd.grad(g, t)
    return g.item(), g2.item()


@pytest.mark.torch
@pytest.mark.parametrize(("name", "x", "params"), [
    ("elu", 0.0, {}), ("elu", -0.0, {}), ("elu", 0.0, {"alpha": 0.5}), ("elu", -1e-300, {}),
    ("elu", 1e-300, {}), ("softplus", 20.0, {}), ("softplus", 20.000000000000004, {}),
])
def test_second_derivatives_at_kinks_and_the_threshold_are_torchs(name, x, params) -> None:
    # elu''(0) came out alpha (PyTorch: 0), softplus''(20) 2e-9 (PyTorch: 0).
    from autograd import grad

    v = Value(x)
    (slope,) = grad(getattr(v, name)(**params), [v], create_graph=True)
    first, second = _torch_second(name, x, **params)
    assert slope.data == pytest.approx(first, rel=1e-15)
    assert grad(slope, [v])[0] == pytest.approx(second, rel=1e-12, abs=1e-300)


@pytest.mark.torch
@pytest.mark.parametrize(("method", "x"), [
    ("asin", 1.0), ("asin", -1.0), ("acos", 1.0), ("acos", -1.0), ("atanh", 1.0),
    ("atanh", -1.0), ("acosh", 1.0), ("sqrt", 0.0),
])
def test_second_derivative_at_an_end_point_is_torchs_infinity(method: str, x: float) -> None:
    # It came out 0: the infinite slope was a constant there.
    torch = pytest.importorskip("torch")
    from autograd import grad

    v = Value(x)
    (slope,) = grad(getattr(v, method)(), [v], create_graph=True)
    (second,) = grad(slope, [v], create_graph=True)
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(getattr(torch, method)(t), t, create_graph=True)
    (g2,) = torch.autograd.grad(g, t, create_graph=True)
    (g3,) = torch.autograd.grad(g2, t)
    assert (slope.data, second.data) == (g.item(), g2.item())
    # The third too (acosh's is NaN in both: 0 * inf in its chain rule).
    third = grad(second, [v])[0]
    assert third == g3.item() or (math.isnan(third) and math.isnan(g3.item()))
