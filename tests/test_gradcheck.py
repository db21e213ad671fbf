"""gradcheck: passes correct gradients, reports wrong ones input by input, checks its fn."""

from __future__ import annotations

import doctest
import importlib
import math
import re

import pytest

import autograd as ag
from autograd import GradcheckError, Value, gradcheck


def test_docstring_examples_pass() -> None:
    # By name: the package re-exports the function gradcheck, which hides the module.
    result = doctest.testmod(importlib.import_module("autograd.gradcheck"))
    assert result.attempted > 0 and result.failed == 0


def _wrong_square(v: list[Value]) -> Value:
    """x**2 built by hand with the derivative 3x instead of 2x."""
    x = v[0]
    return Value(x.data ** 2, op="bad", children=(x,), local_grads=(3.0 * x.data,))


@pytest.mark.parametrize(("fn", "inputs"), [
    (lambda v: v[0] * v[1] + v[0].exp(), [0.3, -1.2]),
    (lambda v: (v[0] ** v[1]).log() / v[2], [2.0, 1.5, 3.0]),
    (lambda v: ag.logsumexp([v[0], v[1] * 2, 1.0]).tanh(), [0.5, -0.25]),
    (lambda v: ag.dot(ag.softmax(v), [1.0, 2.0, 3.0]), [0.1, 0.2, -0.3]),
    (lambda v: v[0].sigmoid(), [3]),
])
def test_gradcheck_returns_true_for_correct_gradients(fn, inputs: list[float]) -> None:
    assert gradcheck(fn, inputs) is True


def test_gradcheck_error_is_an_assertion_error() -> None:
    assert issubclass(GradcheckError, AssertionError)
    with pytest.raises(AssertionError):
        gradcheck(_wrong_square, [1.5])


def test_wrong_derivative_is_reported_with_input_analytic_and_numeric() -> None:
    with pytest.raises(GradcheckError) as info:
        gradcheck(_wrong_square, [1.5])
    message = str(info.value)
    assert "input 0" in message and "1.5" in message
    assert "analytic 4.5" in message
    numeric = float(re.search(r"numeric ([-0-9.e]+)", message).group(1))  # type: ignore[union-attr]
    assert numeric == pytest.approx(3.0, rel=1e-6)


def test_report_lists_every_input_of_a_failing_check() -> None:
    def fn(v: list[Value]) -> Value:
        return _wrong_square([v[0]]) + v[1] * 2.0

    with pytest.raises(GradcheckError) as info:
        gradcheck(fn, [1.5, -0.75])
    message = str(info.value)
    for i, x in enumerate([1.5, -0.75]):
        assert re.search(rf"input {i} = {re.escape(repr(x))}: analytic .*, numeric ", message)
    assert "analytic 2.0" in message  # the correct gradient of input 1 is shown as well


def test_tolerances_are_honoured() -> None:
    def slightly_off(v: list[Value]) -> Value:
        x = v[0]
        return Value(x.data * 2.0, op="off", children=(x,), local_grads=(2.0 + 1e-2,))

    with pytest.raises(GradcheckError):
        gradcheck(slightly_off, [1.0])
    assert gradcheck(slightly_off, [1.0], atol=2e-2)
    assert gradcheck(slightly_off, [1.0], rtol=1e-2)


def test_nan_gradient_never_passes() -> None:
    def nan_grad(v: list[Value]) -> Value:
        x = v[0]
        return Value(x.data, op="nan", children=(x,), local_grads=(math.nan,))

    with pytest.raises(GradcheckError, match="nan"):
        gradcheck(nan_grad, [1.0])


@pytest.mark.parametrize("result", [1.0, None, [Value(1.0)]])
def test_fn_must_return_a_value(result: object) -> None:
    with pytest.raises(TypeError, match=type(result).__name__):
        gradcheck(lambda v: result, [1.0])  # type: ignore[arg-type, return-value]


def test_gradcheck_leaves_grad_mode_on() -> None:
    gradcheck(lambda v: v[0] * v[0], [2.0])
    assert ag.is_grad_enabled()


@pytest.mark.parametrize("eps", [0.0, -1e-6, math.nan])
def test_eps_must_be_positive(eps: float) -> None:
    with pytest.raises(ValueError, match="gradcheck: eps must be > 0"):
        gradcheck(lambda v: v[0] * v[0], [2.0], eps=eps)


def test_inputs_must_be_real_numbers() -> None:
    with pytest.raises(TypeError, match="gradcheck input needs a real number, got str"):
        gradcheck(lambda v: v[0] * v[0], ["2.0"])  # type: ignore[list-item]


def test_fn_of_separate_arguments_is_told_the_calling_convention() -> None:
    with pytest.raises(TypeError, match=r"gradcheck: fn\(a, b\) cannot be called with one "
                       r"argument; gradcheck calls fn with one argument, the list of input "
                       r"Values.*lambda v: f\(\*v\)"):
        gradcheck(lambda a, b: a * b, [1.0, 2.0])  # type: ignore[arg-type, misc]
    # Wrapped as the message says, it passes.
    assert gradcheck(lambda v: (lambda a, b: a * b)(*v), [1.0, 2.0])


def test_fn_returning_its_list_is_told_the_calling_convention() -> None:
    with pytest.raises(TypeError, match=r"fn must return a Value, got list; gradcheck calls fn "
                       r"with one argument, the list"):
        gradcheck(lambda v: v * 2, [1.0])  # type: ignore[arg-type, return-value]
