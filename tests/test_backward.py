"""backward() and grad(): accumulation, diamonds, seeding with gradient=g, untouched .grad."""

from __future__ import annotations

import doctest
import importlib
import math

import pytest

from autograd import Value, grad, topological_order


def test_docstring_examples_pass() -> None:
    # By name: the package re-exports the function backward, which hides the module.
    result = doctest.testmod(importlib.import_module("autograd.backward"))
    assert result.attempted > 0 and result.failed == 0


def _net() -> tuple[Value, Value, Value, Value]:
    """a, b -> c = a * b -> d = c + a -> e = d.tanh(): a is used twice."""
    a, b = Value(0.5, label="a"), Value(-1.5, label="b")
    c = a * b
    d = c + a
    return a, b, c, d.tanh()


def test_backward_sets_every_node_including_intermediates() -> None:
    a, b, c, e = _net()
    e.backward()
    d = e.children[0]
    t = 1.0 - math.tanh(-0.25) ** 2
    assert e.grad == 1.0
    assert d.grad == pytest.approx(t, rel=1e-15)
    assert c.grad == pytest.approx(t, rel=1e-15)
    assert a.grad == pytest.approx(t * (-1.5 + 1.0), rel=1e-15)
    assert b.grad == pytest.approx(t * 0.5, rel=1e-15)


def test_backward_on_a_leaf_sets_its_grad_to_the_seed() -> None:
    x = Value(4.0)
    x.backward()
    x.backward(gradient=2.5)
    assert x.grad == 3.5


def test_backward_twice_adds_twice_at_every_node() -> None:
    *_, e = _net()
    e.backward()
    first = {n: n.grad for n in topological_order(e)}
    e.backward()
    assert all(n.grad == 2 * g for n, g in first.items())


def test_second_backward_does_not_repropagate_stale_intermediate_grads() -> None:
    # micrograd's pitfall: re-seeding the root and sweeping over the old intermediate grads
    # propagates y.grad = 2 on the second call, so x.grad ends at 2 + 4 = 6 instead of 4.
    x = Value(3.0)
    y = x * 2.0
    z = y * 1.0
    z.backward()
    z.backward()
    assert (z.grad, y.grad, x.grad) == (2.0, 2.0, 4.0)


def test_diamond_sums_both_paths() -> None:
    x = Value(2.0)
    left, right = x * 3.0, x.exp()
    top = left * right
    top.backward()
    assert x.grad == pytest.approx(3.0 * math.exp(2.0) + 6.0 * math.exp(2.0), rel=1e-15)
    assert left.grad == math.exp(2.0) and right.grad == 6.0


@pytest.mark.parametrize("k", [1, 2, 5])
def test_node_used_k_times_gets_k_paths(k: int) -> None:
    x = Value(0.3)
    y = x.sin()
    total = y
    for _ in range(k - 1):
        total = total + y
    total.backward()
    assert y.grad == k
    assert x.grad == pytest.approx(k * math.cos(0.3), rel=1e-15)


def test_operand_repeated_in_one_node_gets_both_local_derivatives() -> None:
    x = Value(3.0)
    (x * x).backward()
    assert x.grad == 6.0


@pytest.mark.parametrize("g", [2.0, -0.5, 0.0, 3])
def test_gradient_argument_scales_every_grad(g: float) -> None:
    *_, e1 = _net()
    e1.backward()
    *_, e2 = _net()
    e2.backward(gradient=g)
    for n1, n2 in zip(topological_order(e1), topological_order(e2)):
        assert n2.grad == pytest.approx(g * n1.grad, rel=1e-15)


@pytest.mark.parametrize("bad", ["1.0", None, True, 1j])
def test_gradient_argument_must_be_a_real_number(bad: object) -> None:
    x = Value(1.0)
    with pytest.raises(TypeError, match="gradient"):
        x.backward(gradient=bad)  # type: ignore[arg-type]
    assert x.grad == 0.0


def test_backward_from_two_roots_accumulates_into_shared_nodes() -> None:
    x = Value(2.0)
    y = x * x
    (y + 1).backward()
    (y * 3).backward()
    assert y.grad == 4.0 and x.grad == 16.0


def test_grad_returns_derivatives_and_leaves_grad_untouched() -> None:
    a, b, c, e = _net()
    a.grad, c.grad = 7.0, -1.0  # stale values from an earlier step must survive
    got = grad(e, [a, b, c])
    e.backward()
    expected = [a.grad - 7.0, b.grad, c.grad + 1.0]
    assert got == pytest.approx(expected, rel=1e-15)


def test_grad_does_not_change_any_node() -> None:
    *_, e = _net()
    nodes = topological_order(e)
    grad(e, nodes[:2])
    assert all(n.grad == 0.0 for n in nodes)


def test_grad_of_unrelated_input_is_zero() -> None:
    x, stranger = Value(2.0), Value(5.0)
    assert grad(x * x, [stranger, x]) == [0.0, 4.0]
    assert stranger.grad == 0.0


def test_grad_of_output_with_respect_to_itself_is_one() -> None:
    x = Value(2.0)
    y = x.exp()
    assert grad(y, [y]) == [1.0]
