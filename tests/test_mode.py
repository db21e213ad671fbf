"""no_grad: context manager and decorator, per thread, restoring the mode however it exits."""

from __future__ import annotations

import doctest
import importlib
import threading

import pytest

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
