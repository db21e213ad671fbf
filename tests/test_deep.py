"""Deep graphs: a 1,000,000-node chain backpropagates without recursion, in little memory."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from autograd import Value, topological_order


@contextmanager
def _collector_paused() -> Iterator[None]:
    # A graph has no reference cycles, so the cyclic collector frees nothing here; left on,
    # it rescans the growing chain again and again and triples the time of this file.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def test_million_node_chain_backward_has_no_recursion_error() -> None:
    with _collector_paused():
        x = Value(0.5, label="x")
        y = x
        for _ in range(1_000_000):
            y = -y  # a unary op: one node per step, and an even count of sign flips
        y.backward()
    assert y.data == 0.5 and y.grad == 1.0
    assert x.grad == 1.0


def test_deep_chain_through_binary_ops_orders_and_backpropagates() -> None:
    with _collector_paused():
        x = Value(1.0)
        y = x
        for _ in range(100_000):
            y = y * 1.0
        order = topological_order(y)
        y.backward(gradient=3.0)
    assert len(order) == 200_001  # each step adds the product and its constant leaf
    assert order[-1] is y and sum(1 for n in order if not n.children) == 100_001
    assert x.grad == 3.0


def _bytes_per_step(make_leaf: Callable[[float], object], steps: int) -> float:
    """Memory held by a chain y = y * 1.0 of `steps` steps, per step, as tracemalloc sees it."""
    with _collector_paused():
        tracemalloc.start()
        try:
            y = make_leaf(1.0)
            for _ in range(steps):
                y = y * 1.0  # type: ignore[operator]
            held, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        del y
    return held / steps


def test_chain_memory_per_node_is_at_most_half_of_micrograds() -> None:
    engine = pytest.importorskip("micrograd.engine")
    ours = _bytes_per_step(Value, 100_000)
    # The cost per step is constant, so a shorter micrograd chain gives the same figure
    # in a quarter of the time (tracemalloc slows every allocation down).
    theirs = _bytes_per_step(engine.Value, 25_000)
    # The same expression in both engines: one product and one constant leaf per step.
    # A ratio of sizes, never a timing: the machine is shared.
    assert ours <= theirs / 2, f"ours {ours:.0f} B/step, micrograd {theirs:.0f} B/step"
