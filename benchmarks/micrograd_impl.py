"""The workloads on micrograd 0.1.0 (PyPI), written the way its own demo writes them.

micrograd 0.1.0 has + * ** relu only: no tanh and no exp to build tanh from. The chain gets
a one-node tanh written exactly like micrograd's own relu (a node with a _backward closure),
the cheapest form micrograd could have. Its backward() is recursive: deep graphs raise
RecursionError, which is recorded as the result; the recursion limit is left alone.
"""

from __future__ import annotations

import math
import random

from micrograd.engine import Value
from micrograd.nn import MLP

from .timing import Phases, clock

NAME = "micrograd"
# The deepest chain whose recursive backward fits under Python's default recursion limit
# (1000 frames; each step is 3 nodes deep), with room for the harness's own frames.
SHALLOW_STEPS = 250


def tanh(v: Value) -> Value:
    """tanh as one micrograd node, in the style of micrograd's relu."""
    t = math.tanh(v.data)
    out = Value(t, (v,), "tanh")

    def _backward() -> None:
        v.grad += (1.0 - t * t) * out.grad

    out._backward = _backward
    return out


def chain(steps: int) -> Phases:
    """x -> tanh(x a + b), steps times: forward and backward apart."""
    a, b, x = Value(0.5), Value(-0.1), Value(0.3)
    start = clock()
    for _ in range(steps):
        x = tanh(x * a + b)
    built = clock()
    return {"forward": built - start, "backward": _backward(x, built)}


def wide(n: int) -> Phases:
    """sum() of n products of Values (micrograd has no fused dot)."""
    xs = [Value(0.001 * i) for i in range(n)]
    ys = [Value(1.0 - 0.001 * i) for i in range(n)]
    start = clock()
    out = sum(x * y for x, y in zip(xs, ys))
    built = clock()
    return {"forward": built - start, "backward": _backward(out, built)}


def _backward(root: Value, start: float) -> float | str:
    try:
        root.backward()
    except RecursionError:
        return "RecursionError"
    return clock() - start


class MoonsStep:
    """The step of micrograd's demo.ipynb: its MLP, hinge loss + alpha * sum(p*p), SGD."""

    def __init__(self, xs: list[list[float]], ys: list[float], lr: float, alpha: float,
                 seed: int = 0) -> None:
        random.seed(seed)  # micrograd's MLP draws its weights from the global random
        self.model = MLP(2, [16, 16, 1])
        self.xs, self.ys, self.lr, self.alpha = xs, ys, lr, alpha

    def step(self) -> float:
        """One step: loss, backward, SGD update; returns the loss."""
        inputs = [list(map(Value, x)) for x in self.xs]
        scores = list(map(self.model, inputs))
        losses = [(1 + -y * score).relu() for y, score in zip(self.ys, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = self.alpha * sum(p * p for p in self.model.parameters())
        total = data_loss + reg_loss
        self.model.zero_grad()
        total.backward()
        for p in self.model.parameters():
            p.data -= self.lr * p.grad
        return float(total.data)


def build_chain(steps: int) -> Value:
    """The chain's graph, held by its last node (for the memory workload)."""
    a, b, x = Value(0.5), Value(-0.1), Value(0.3)
    for _ in range(steps):
        x = tanh(x * a + b)
    return x


def count_nodes(root: Value) -> int:
    """How many nodes root's graph holds (iteratively: the graph is deep)."""
    seen, stack = {root}, [root]
    while stack:
        for child in stack.pop()._prev:
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return len(seen)
