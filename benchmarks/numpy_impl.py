"""The two-moons step as a person writes it with numpy: the whole batch as matrices, the
backward pass by hand, SGD in place. Not an autograd engine: the mark a batched step sets."""

from __future__ import annotations

import numpy as np

NAME = "numpy"


class MoonsStep:
    """mlp_step's training step (ReLU hidden layers, linear output, mean hinge loss +
    alpha * sum(p**2), SGD) on float64 arrays, from the given starting weights."""

    def __init__(self, start: list[tuple[list[list[float]], list[float]]],
                 xs: list[list[float]], ys: list[float], lr: float, alpha: float) -> None:
        self.weights = [np.array(w, dtype=np.float64) for w, _ in start]
        self.biases = [np.array(b, dtype=np.float64) for _, b in start]
        self.x, self.y = np.array(xs, dtype=np.float64), np.array(ys, dtype=np.float64)
        self.lr, self.alpha = lr, alpha

    def step(self) -> float:
        """One step: loss, the gradients by hand, SGD update; returns the loss."""
        activations = [self.x]
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = activations[-1] @ w.T + b
            activations.append(np.maximum(z, 0.0) if k < len(self.weights) - 1 else z)
        scores = activations[-1][:, 0]
        margins = 1.0 - self.y * scores
        n = len(scores)
        squares = sum(float((w * w).sum() + (b * b).sum())
                      for w, b in zip(self.weights, self.biases))
        loss = float(np.maximum(margins, 0.0).mean()) + self.alpha * squares
        upstream = np.where(margins > 0.0, -self.y / n, 0.0)[:, None]
        for k in range(len(self.weights) - 1, -1, -1):
            w, b = self.weights[k], self.biases[k]
            grad_w = upstream.T @ activations[k] + 2.0 * self.alpha * w
            grad_b = upstream.sum(axis=0) + 2.0 * self.alpha * b
            if k:
                # Through layer k's weights, then the ReLU below: on where its output was > 0.
                upstream = (upstream @ w) * (activations[k] > 0.0)
            w -= self.lr * grad_w
            b -= self.lr * grad_b
        return loss
