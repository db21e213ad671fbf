"""Grad mode: whether operations record a graph, one flag per thread."""

from __future__ import annotations

import contextlib
import inspect
import threading
from collections.abc import Callable
from typing import TypeVar, overload

F = TypeVar("F", bound=Callable[..., object])


class _GradMode(threading.local):
    # A class attribute is every new thread's starting value: recording on.
    enabled = True
    # While ag.compile traces a function in this thread: the comparisons made on Values, as
    # (value, symbol, other, result). None otherwise.
    comparisons: list[tuple[object, str, object, bool]] | None = None


_mode = _GradMode()


def is_grad_enabled() -> bool:
    """Return True when operations in this thread record the graph."""
    return _mode.enabled


class _NoGrad(contextlib.ContextDecorator):
    """What no_grad() returns: recording off in this thread from enter to exit."""

    def __init__(self) -> None:
        # A stack, not one slot: the same instance may be entered again before it exits.
        self._previous: list[bool] = []

    def __call__(self, func: F) -> F:
        # A generator's or coroutine's body runs after the call has returned, outside the
        # with-block the decorator puts around the call: it would record, silently.
        if (inspect.isgeneratorfunction(func) or inspect.iscoroutinefunction(func)
                or inspect.isasyncgenfunction(func)):
            raise TypeError(f"no_grad cannot decorate {func.__qualname__}, a generator or "
                            "coroutine function; use `with no_grad():` in its body instead")
        return super().__call__(func)

    def _recreate_cm(self) -> _NoGrad:
        # A fresh instance per decorated call, so recursion and threads never share state.
        return type(self)()

    def __enter__(self) -> _NoGrad:
        if _mode.comparisons is not None:
            raise TypeError("no_grad inside a function that ag.compile traces: the compiled "
                            "code cannot replay a part left out of the graph; compute it "
                            "outside the function")
        self._previous.append(_mode.enabled)
        _mode.enabled = False
        return self

    def __exit__(self, *exc: object) -> None:
        _mode.enabled = self._previous.pop()


@overload
def no_grad() -> _NoGrad: ...


@overload
def no_grad(func: F) -> F: ...


def no_grad(func: F | None = None) -> _NoGrad | F:
    """Return a context manager and decorator inside which operations return leaves, no graph.

    Only the current thread is affected; other threads go on recording. As a decorator it
    works with or without parentheses: ``@no_grad()`` and ``@no_grad`` are the same.

    >>> from autograd import Value, no_grad
    >>> with no_grad():
    ...     y = Value(2.0) * 3
    >>> y.children
    ()
    >>> @no_grad
    ... def predict(x):
    ...     return x * 3
    >>> predict(Value(2.0)).children
    ()
    """
    if func is None:
        return _NoGrad()
    if not callable(func):
        raise TypeError(f"no_grad takes no argument, or the function it decorates; "
                        f"got {type(func).__name__}")
    return _NoGrad()(func)
