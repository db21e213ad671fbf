"""The pure-Python floors: each workload's forward and backward written by hand on plain floats.

No graph objects at all: what any pure-Python scalar engine would still have to do. The
`floor` arithmetic is the engines' (every sample back-propagated, no zero-gradient shortcuts),
written as ordinary idiomatic Python: lists, zip, comprehensions, sum(map(mul, ...)) for dot
products. The `tuned` floor (tuned=True) is what a person tuning by
hand writes: it skips what contributes exactly zero (a sample whose hinge is inactive, a ReLU
that is off, the input layer's input gradient).
A network is a list of layers, each a (weights, biases) pair: weights[j] are neuron j's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from operator import mul

Layer = tuple[list[list[float]], list[float]]
Network = list[Layer]


# ---- chain and wide ------------------------------------------------------------------------


def chain_forward(x: float, a: float, b: float, steps: int) -> list[float]:
    """x -> tanh(x a + b), steps times; every output, kept for the backward pass."""
    outputs = []
    for _ in range(steps):
        x = math.tanh(x * a + b)
        outputs.append(x)
    return outputs


def chain_backward(x0: float, a: float, outputs: list[float]) -> tuple[float, float, float]:
    """d last output / d (x0, a, b) through the chain whose outputs chain_forward returned."""
    g, grad_a, grad_b = 1.0, 0.0, 0.0
    for i in range(len(outputs) - 1, -1, -1):
        t = outputs[i]
        g_z = g * (1.0 - t * t)  # through tanh
        grad_a += g_z * (outputs[i - 1] if i else x0)  # z = x a + b
        grad_b += g_z
        g = g_z * a
    return g, grad_a, grad_b


def dot_forward(xs: Sequence[float], ys: Sequence[float]) -> float:
    """x1 y1 + ... + xn yn."""
    return float(sum(map(mul, xs, ys)))


def dot_backward(xs: Sequence[float], ys: Sequence[float],
                 upstream: float = 1.0) -> tuple[list[float], list[float]]:
    """The gradients of the dot product with respect to xs and to ys."""
    return [upstream * y for y in ys], [upstream * x for x in xs]


# ---- an MLP with ReLU hidden layers and a linear output -------------------------------------


def mlp_forward(net: Network, x: Sequence[float]) -> list[list[float]]:
    """Each layer's output for one input, the input first (backward needs them all)."""
    outputs = [list(x)]
    last = len(net) - 1
    for k, (weights, biases) in enumerate(net):
        h = outputs[-1]
        z = [sum(map(mul, w, h)) + b for w, b in zip(weights, biases)]
        outputs.append(z if k == last else [v if v > 0.0 else 0.0 for v in z])
    return outputs


def mlp_backward(net: Network, outputs: list[list[float]], g: list[float],
                 grads: Network, tuned: bool = False) -> None:
    """Add d loss / d parameters into grads, given g = d loss / d the network's output.

    tuned skips what is exactly zero: a neuron whose gradient is 0 (a ReLU that is off), and
    the input layer's gradient with respect to its inputs (nothing uses it).
    """
    for k in range(len(net) - 1, -1, -1):
        weights, _ = net[k]
        grad_w, grad_b = grads[k]
        h = outputs[k]
        if k < len(net) - 1:  # through the ReLU: its output is > 0 exactly where it passes
            g = [gj if out > 0.0 else 0.0 for gj, out in zip(g, outputs[k + 1])]
        g_in = [0.0] * len(h)
        for j, gj in enumerate(g):
            if tuned and gj == 0.0:
                continue
            grad_w[j] = [gw + gj * hi for gw, hi in zip(grad_w[j], h)]
            grad_b[j] += gj
            if k or not tuned:
                g_in = [gi + gj * wi for gi, wi in zip(g_in, weights[j])]
        g = g_in


def zeros_like(net: Network) -> Network:
    """A network of the same shape, every number 0.0 (gradients, optimizer moments)."""
    return [([[0.0] * len(w) for w in weights], [0.0] * len(biases)) for weights, biases in net]


def flat(net: Network) -> list[float]:
    """Every number of net in parameter order: per layer, per neuron, weights then bias."""
    return [v for weights, biases in net for w, b in zip(weights, biases) for v in (*w, b)]


# ---- mlp_step: hinge loss plus L2, SGD ---------------------------------------------------------


def hinge_l2_grads(net: Network, xs: Sequence[Sequence[float]], ys: Sequence[float],
                   alpha: float, tuned: bool = False) -> tuple[float, Network]:
    """The loss mean(max(0, 1 - y s)) + alpha sum(p**2), and its gradient for every parameter.

    tuned back-propagates only the samples whose hinge is active, with mlp_backward's tuned pass.
    """
    grads = zeros_like(net)
    n = len(xs)
    total = 0.0
    for x, y in zip(xs, ys):
        outputs = mlp_forward(net, x)
        margin = 1.0 - y * outputs[-1][0]
        if margin > 0.0:
            total += margin
        elif tuned:
            continue
        mlp_backward(net, outputs, [-y / n if margin > 0.0 else 0.0], grads, tuned)
    squares = 0.0
    for (weights, biases), (grad_w, grad_b) in zip(net, grads):
        for j, (w, b) in enumerate(zip(weights, biases)):
            squares += sum(map(mul, w, w)) + b * b
            grad_w[j] = [gw + 2.0 * alpha * wi for gw, wi in zip(grad_w[j], w)]
            grad_b[j] += 2.0 * alpha * b
    return total / n + alpha * squares, grads


def sgd(net: Network, grads: Network, lr: float) -> None:
    """p -= lr * grad for every parameter."""
    for (weights, biases), (grad_w, grad_b) in zip(net, grads):
        for j, (w, gw) in enumerate(zip(weights, grad_w)):
            weights[j] = [wi - lr * gi for wi, gi in zip(w, gw)]
            biases[j] -= lr * grad_b[j]


def mlp_step(net: Network, xs: Sequence[Sequence[float]], ys: Sequence[float], lr: float,
             alpha: float, tuned: bool = False) -> float:
    """One full-batch step: loss, gradients (tuned or not), SGD update; returns the loss."""
    loss, grads = hinge_l2_grads(net, xs, ys, alpha, tuned)
    sgd(net, grads, lr)
    return loss


# ---- digits_epoch: cross-entropy, Adam, mini-batches -----------------------------------------


def cross_entropy_grads(net: Network, xs: Sequence[Sequence[float]],
                        targets: Sequence[int], tuned: bool = False) -> tuple[float, Network]:
    """The mean cross-entropy of softmax(logits) against targets, and its gradients (with
    mlp_backward's tuned pass, if tuned)."""
    grads = zeros_like(net)
    n = len(xs)
    total = 0.0
    for x, t in zip(xs, targets):
        outputs = mlp_forward(net, x)
        logits = outputs[-1]
        m = max(logits)
        exps = [math.exp(z - m) for z in logits]
        s = sum(exps)
        total += m + math.log(s) - logits[t]
        g = [e / s / n for e in exps]  # d loss / d logits = (softmax - one_hot) / n
        g[t] -= 1.0 / n
        mlp_backward(net, outputs, g, grads, tuned)
    return total / n, grads


class Adam:
    """Adam on a Network, the same update as nn.Adam (and torch.optim.Adam)."""

    def __init__(self, net: Network, lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self.net, self.lr, self.betas, self.eps = net, lr, betas, eps
        self.m, self.v, self.t = zeros_like(net), zeros_like(net), 0

    def step(self, grads: Network) -> None:
        """Move every parameter one Adam step along its gradient."""
        self.t += 1
        beta1, beta2 = self.betas
        step_size = self.lr / (1.0 - beta1 ** self.t)
        root_correction = math.sqrt(1.0 - beta2 ** self.t)
        for layer, grad, m_layer, v_layer in zip(self.net, grads, self.m, self.v):
            for params, g_params, ms, vs in zip((*layer[0], layer[1]), (*grad[0], grad[1]),
                                                (*m_layer[0], m_layer[1]),
                                                (*v_layer[0], v_layer[1])):
                for i, g in enumerate(g_params):
                    ms[i] += (1.0 - beta1) * (g - ms[i])
                    vs[i] = beta2 * vs[i] + (1.0 - beta2) * g * g
                    params[i] -= step_size * ms[i] / (math.sqrt(vs[i]) / root_correction
                                                      + self.eps)


def digits_epoch(net: Network, optimizer: Adam, xs: Sequence[Sequence[float]],
                 targets: Sequence[int], order: list[list[int]], tuned: bool = False) -> float:
    """One epoch over the mini-batches of indices in order; returns the mean loss."""
    total = 0.0
    for batch in order:
        loss, grads = cross_entropy_grads(net, [xs[i] for i in batch],
                                          [targets[i] for i in batch], tuned)
        optimizer.step(grads)
        total += loss * len(batch)
    return total / len(xs)

