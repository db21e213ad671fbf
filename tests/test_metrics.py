"""accuracy: sign or threshold for binary outputs, argmax for multiclass, checked arguments."""

import doctest
import importlib

import pytest

from autograd import Value
from nn import accuracy


def test_sign_rule_for_minus_one_plus_one_targets():
    assert accuracy([0.7, -0.2, 0.1, -3.0], [1, -1, -1, 1]) == 0.5


def test_threshold_one_half_for_zero_one_targets():
    assert accuracy([0.9, 0.4, 0.6, 0.2], [1, 0, 0, 0]) == 0.75


def test_explicit_threshold_zero_for_logits_with_zero_one_targets():
    logits = [0.3, -0.1, 2.0]
    assert accuracy(logits, [1, 0, 1], threshold=0.0) == 1.0
    assert accuracy(logits, [1, 0, 1]) == pytest.approx(2 / 3)


def test_output_equal_to_the_threshold_counts_as_negative():
    assert accuracy([0.0, 0.0], [-1, 1]) == 0.5
    assert accuracy([0.5, 0.5], [0, 1]) == 0.5


def test_values_and_one_element_lists_as_an_mlp_returns():
    outputs = [[Value(0.8)], [Value(-0.5)], [Value(0.2)]]
    assert accuracy(outputs, [1.0, -1.0, -1.0]) == pytest.approx(2 / 3)


def test_multiclass_argmax_first_on_ties():
    outputs = [[0.1, 2.0, 0.3], [1.0, 0.0, 0.5], [Value(1.0), Value(1.0), Value(0.0)]]
    assert accuracy(outputs, [1, 2, 0]) == pytest.approx(2 / 3)


def test_result_is_a_float_in_unit_interval():
    result = accuracy([1.0, 1.0], [1, 1])
    assert type(result) is float and result == 1.0
    assert accuracy([-1.0], [1]) == 0.0


@pytest.mark.parametrize("outputs, targets, error, message", [
    ([0.1, 0.2], [1], ValueError, "2 outputs but 1 targets"),
    ([], [], ValueError, "no samples"),
    ([0.1, 0.2], [2, 1], ValueError, "-1/\\+1 or 0/1"),
    ([0.1, 0.2], [-1, 0], ValueError, "-1/\\+1 or 0/1"),
    ([[0.1, 0.2]], [2], ValueError, r"class index in \[0, 2\)"),
    ([[0.1, 0.2]], [0.5], ValueError, "class index"),
    (["a"], [1], TypeError, "output 0"),
    ([[]], [0], TypeError, "output 0"),
    ([[0.1, "a"]], [0], TypeError, "output 0"),
    ([None], [1], TypeError, "output 0"),
    ([[0.1, 0.9], [0.3]], [1, 0], ValueError, "same number of scores, got samples with 1, 2"),
])
def test_bad_arguments_raise_clear_errors(outputs, targets, error, message):
    with pytest.raises(error, match=message):
        accuracy(outputs, targets)


def test_docstring_examples_pass():
    result = doctest.testmod(importlib.import_module("nn.metrics"))
    assert result.attempted > 0 and result.failed == 0
