"""The workloads on PyTorch with 0-d float64 tensors: what people use at scalar granularity.

Each scalar is its own 0-d tensor, as each is its own Value in chainrule. Where chainrule has a
fused node, torch gets its fused equivalent on the same scalars: a neuron is torch.stack of its
0-d weights dotted with its inputs, one call instead of n products and n sums.
"""

from __future__ import annotations

import torch

from .data import Digits
from .timing import Phases, clock

NAME = "torch"
F64 = torch.float64


def scalar(x: float) -> torch.Tensor:
    """A 0-d float64 leaf that requires grad."""
    return torch.tensor(x, dtype=F64, requires_grad=True)


def chain(steps: int) -> Phases:
    """x -> tanh(x a + b), steps times: forward and backward apart."""
    a, b, x = scalar(0.5), scalar(-0.1), scalar(0.3)
    start = clock()
    for _ in range(steps):
        x = torch.tanh(x * a + b)
    built = clock()
    x.backward()
    return {"forward": built - start, "backward": clock() - built}


def wide(n: int, fused: bool) -> Phases:
    """The dot product of two lists of n 0-d tensors: torch.dot of the stacks, or sum()."""
    xs = [scalar(0.001 * i) for i in range(n)]
    ys = [scalar(1.0 - 0.001 * i) for i in range(n)]
    start = clock()
    if fused:
        out = torch.dot(torch.stack(xs), torch.stack(ys))
    else:
        out = sum(x * y for x, y in zip(xs, ys))  # type: ignore[assignment]
    built = clock()
    out.backward()
    return {"forward": built - start, "backward": clock() - built}


class Network:
    """An MLP of 0-d tensors: ReLU hidden layers, linear output, one fused dot per neuron."""

    def __init__(self, layers: list[tuple[list[list[float]], list[float]]]) -> None:
        self.layers = [([[scalar(v) for v in w] for w in weights], [scalar(b) for b in biases])
                       for weights, biases in layers]
        self.params = [p for weights, biases in self.layers
                       for w, b in zip(weights, biases) for p in (*w, b)]

    def __call__(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The outputs for one input: a 1-d constant tensor for the first layer."""
        h: torch.Tensor | list[torch.Tensor] = x
        last = len(self.layers) - 1
        for k, (weights, biases) in enumerate(self.layers):
            inputs = h if isinstance(h, torch.Tensor) else torch.stack(h)
            z = [torch.dot(torch.stack(w), inputs) + b for w, b in zip(weights, biases)]
            h = z if k == last else [torch.relu(v) for v in z]
        return h  # type: ignore[return-value]


def constant_inputs(xs: list[list[float]]) -> list[torch.Tensor]:
    """The inputs as 1-d constant tensors, made once outside the timed region."""
    return [torch.tensor(x, dtype=F64) for x in xs]


class MoonsStep:
    """The two-moons step: hinge loss + alpha * sum(p**2), backward, SGD, on 0-d tensors."""

    def __init__(self, layers: list[tuple[list[list[float]], list[float]]],
                 xs: list[list[float]], ys: list[float], lr: float, alpha: float) -> None:
        self.net = Network(layers)
        self.xs, self.ys, self.lr, self.alpha = constant_inputs(xs), ys, lr, alpha

    def step(self) -> float:
        """One step: loss, backward, SGD update; returns the loss."""
        scores = [self.net(x)[0] for x in self.xs]
        hinge = torch.stack([torch.relu(1.0 - y * s) for y, s in zip(self.ys, scores)]).mean()
        params = torch.stack(self.net.params)
        loss = hinge + self.alpha * torch.dot(params, params)
        loss.backward()
        with torch.no_grad():
            for p in self.net.params:
                p -= self.lr * p.grad  # type: ignore[operator]
                p.grad = None
        return loss.item()


def digits_epoch(layers: list[tuple[list[list[float]], list[float]]], data: Digits) -> float:
    """Seconds for one epoch: cross-entropy on the ten logits, torch.optim.Adam, same batches."""
    net = Network(layers)
    optimizer = torch.optim.Adam(net.params, lr=data.lr)
    images = constant_inputs(data.images)
    start = clock()
    for batch in data.batch_order:
        terms = []
        for i in batch:
            logits = torch.stack(net(images[i]))
            terms.append(torch.logsumexp(logits, 0) - logits[data.labels[i]])
        loss = torch.stack(terms).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return clock() - start
