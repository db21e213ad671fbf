"""Grad mode: whether operations record a graph, one flag per thread."""

from __future__ import annotations

import contextlib
import threading


class _GradMode(threading.local):
    # A class attribute is every new thread's starting value: recording on.
    enabled = True


_mode = _GradMode()


def is_grad_enabled() -> bool:
    """Return True when operations in this thread record the graph."""
    return _mode.enabled


class no_grad(contextlib.ContextDecorator):  # noqa: N801 - named like torch.no_grad
    """Context manager and decorator: operations inside return leaves, no graph.

    Only the current thread is affected; other threads go on recording.

    >>> from autograd import Value, no_grad
    >>> with no_grad():
    ...     y = Value(2.0) * 3
    >>> y.children
    ()
    """

    def __init__(self) -> None:
        # A stack, not one slot: the same instance may be entered again before it exits.
        self._previous: list[bool] = []

    def _recreate_cm(self) -> no_grad:
        # A fresh instance per decorated call, so recursion and threads never share state.
        return type(self)()

    def __enter__(self) -> no_grad:
        self._previous.append(_mode.enabled)
        _mode.enabled = False
        return self

    def __exit__(self, *exc: object) -> None:
        _mode.enabled = self._previous.pop()
