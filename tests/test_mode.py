"""no_grad: context manager and decorator, per thread, restoring the mode however it exits."""

from __future__ import annotations

import doctest
import importlib
import threading

import pytest
from strategies import CASES, OpCase

from autograd import Value, is_grad_enabled, no_grad


def test_docstring_examples_pass() -> None:
    result = doctest.testmod(importlib.import_module("autograd.mode"))
    assert result.attempted > 0 and result.failed == 0


def test_grad_mode_is_on_by_default() -> None:
    assert is_grad_enabled()
    x = Value(1.0)
    assert (x * 2).children[0] is x


def test_operations_inside_no_grad_return_leaves() -> None:
    x = Value(2.0)
    with no_grad():
        assert not is_grad_enabled()
        outs = [x * 3, x + x, -x, x.exp(), x ** 2, x ** x, 1 / x, x.tanh()]
    assert is_grad_enabled()
    assert [o.data for o in outs][:3] == [6.0, 4.0, -2.0]
    assert all(o.children == () and o.op == "" for o in outs)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_every_op_of_the_table_returns_a_leaf_with_the_same_data_in_no_grad(case: OpCase) -> None:
    # Every path that makes a node: _unary's and _binary's methods (numbers on either side),
    # _apply1 (x ** number, leaky_relu) and the n-ary ops through _node and _make.
    point = case.points()[1]
    leaves = [Value(x) for x in point]
    recorded = case.call(leaves)
    with no_grad():
        out = case.call(leaves)
    assert out.children == () and out.op == "" and out.local_grads == ()
    assert out.data == recorded.data
    assert recorded.children != ()


def test_no_grad_as_decorator() -> None:
    @no_grad()
    def square(v: Value) -> Value:
        assert not is_grad_enabled()
        return v * v

    y = square(Value(3.0))
    assert y.data == 9.0 and y.children == ()
    assert is_grad_enabled()


def test_nesting_restores_each_level() -> None:
    with no_grad():
        with no_grad():
            assert not is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()


def test_reusing_one_instance_while_it_is_entered_restores_the_mode() -> None:
    guard = no_grad()
    with guard:
        with guard:
            pass
        assert not is_grad_enabled()
    assert is_grad_enabled()


def test_recursive_decorated_function_restores_the_mode() -> None:
    @no_grad()
    def depth(n: int) -> int:
        return 0 if n == 0 else 1 + depth(n - 1)

    assert depth(3) == 3
    assert is_grad_enabled()


def test_exception_inside_restores_the_mode() -> None:
    with pytest.raises(ValueError, match="log"):
        with no_grad():
            Value(-1.0).log()
    assert is_grad_enabled()

    @no_grad()
    def fail() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail()
    assert is_grad_enabled()


def test_no_grad_in_one_thread_does_not_stop_another_from_recording() -> None:
    inside, recorded = threading.Event(), threading.Event()
    results: dict[str, Value] = {}
    errors: list[BaseException] = []

    def quiet() -> None:
        try:
            with no_grad():
                inside.set()
                # Stay inside no_grad until the other thread has built its graph.
                assert recorded.wait(timeout=10)
                results["quiet"] = Value(2.0) * 3
        except BaseException as error:  # surfaced in the main thread below
            errors.append(error)

    def recording() -> None:
        try:
            assert inside.wait(timeout=10)
            assert is_grad_enabled()
            results["recording"] = Value(2.0) * 3
        except BaseException as error:
            errors.append(error)
        finally:
            recorded.set()

    threads = [threading.Thread(target=quiet), threading.Thread(target=recording)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert errors == []
    assert results["quiet"].children == ()
    assert len(results["recording"].children) == 2 and results["recording"].op == "*"


def test_new_thread_records_even_when_the_starting_thread_is_in_no_grad() -> None:
    seen: list[bool] = []
    with no_grad():
        t = threading.Thread(target=lambda: seen.append(is_grad_enabled()))
        t.start()
        t.join(timeout=10)
    assert seen == [True]


def test_no_grad_as_decorator_without_parentheses() -> None:
    @no_grad
    def square(v: Value) -> Value:
        assert not is_grad_enabled()
        return v * v

    y = square(Value(3.0))
    assert y.data == 9.0 and y.children == () and y.op == ""
    assert square.__name__ == "square"
    assert is_grad_enabled()
    assert (Value(3.0) * 2).op == "*"  # decorating did not switch recording off


def test_no_grad_rejects_an_argument_that_is_not_a_function() -> None:
    with pytest.raises(TypeError, match="no_grad takes no argument.*got bool"):
        no_grad(True)  # type: ignore[call-overload]
    assert is_grad_enabled()


def test_no_grad_refuses_to_decorate_a_generator_function() -> None:
    # Its body would run after the decorated call returned, recording after all.
    def numbers():  # type: ignore[no-untyped-def]
        yield Value(1.0) * 2

    async def later() -> Value:
        return Value(1.0) * 2

    for func in (numbers, later):
        for decorate in (no_grad, no_grad()):
            with pytest.raises(TypeError, match=f"cannot decorate .*{func.__name__}.*with no_grad"):
                decorate(func)  # type: ignore[operator]
