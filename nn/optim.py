"""Optimizers: SGD (momentum, weight decay) and Adam, updating parameters' data in place.

Both follow torch.optim.SGD / torch.optim.Adam step for step (same formulas, same
order of operations), so on the same gradients they agree to rounding. ``lr`` may be set
between steps (checked like the constructor's) to follow a schedule such as ``linear_decay``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from autograd import Value

from . import interop

if TYPE_CHECKING:
    import torch


class Optimizer:
    """Holds the parameters and the learning rate; subclasses define step()."""

    def __init__(self, params: Iterable[Value], lr: float) -> None:
        owner = type(self).__name__
        if not isinstance(params, Iterable) or isinstance(params, Value):
            raise TypeError(f"{owner}: params must be a list of Values such as "
                            f"model.parameters(), got {type(params).__name__}")
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{owner}: got an empty parameter list")
        for i, p in enumerate(self.params):
            if not isinstance(p, Value):
                raise TypeError(f"{owner}: parameter {i} must be a Value, got {type(p).__name__}")
        # A parameter listed twice would be stepped twice per step().
        if len(set(self.params)) != len(self.params):
            first = next(i for i, p in enumerate(self.params) if self.params.index(p) != i)
            raise ValueError(f"{owner}: parameter {first} appears twice in params "
                             f"({self.params[first]!r}); list each parameter once")
        self.lr = lr

    @property
    def lr(self) -> float:
        """The learning rate, read at each step(); set it between steps to follow a schedule."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = _checked(value, "lr", self, lambda v: v > 0.0, "> 0")

    def zero_grad(self) -> None:
        """Set every parameter's grad to 0.0."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Update every parameter's data from its grad."""
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent: W := W - lr * dJ/dW, optionally with momentum.

    With weight_decay, g = grad + weight_decay * W; with momentum, the step follows
    the buffer v := momentum * v + g (v = g on the first step) instead of g.

    >>> p = Value(1.0)
    >>> p.grad = 2.0
    >>> SGD([p], lr=0.1).step()
    >>> p.data
    0.8
    """

    def __init__(self, params: Iterable[Value], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        self.momentum = _checked(momentum, "momentum", self, lambda v: v >= 0.0, ">= 0")
        self.weight_decay = _checked(weight_decay, "weight_decay", self, lambda v: v >= 0.0,
                                     ">= 0")
        self._velocity: list[float] | None = None

    def step(self) -> None:
        """Take one step: W := W - lr * g (g from the grads, decay and momentum)."""
        lr, momentum, decay, params = self.lr, self.momentum, self.weight_decay, self.params
        if momentum == 0.0 and decay == 0.0:
            for p in params:
                p.data -= lr * p.grad
            return
        grads = [p.grad + decay * p.data for p in params] if decay else \
            [p.grad for p in params]
        if momentum:
            velocity = self._velocity
            self._velocity = grads = grads if velocity is None else \
                [momentum * v + g for v, g in zip(velocity, grads)]
        for p, g in zip(params, grads):
            p.data -= lr * g

    def to_torch(self, module: torch.nn.Module) -> torch.optim.SGD:
        """Return ``torch.optim.SGD`` over module (``model.to_torch()``) with this optimizer's
        hyperparameters and momentum buffers: training there continues this trajectory.

        Needs torch; see ``nn.interop.sgd_to_torch`` for what maps to what.
        """
        return interop.sgd_to_torch(self, module)


class Adam(Optimizer):
    """Adam: steps by the bias-corrected mean of the gradients over the root of their square.

    m := b1 m + (1 - b1) g,  v := b2 v + (1 - b2) g**2,  and at step t
    W := W - lr / (1 - b1**t) * m / (sqrt(v) / sqrt(1 - b2**t) + eps);
    with weight_decay, g = grad + weight_decay * W (L2, as torch.optim.Adam).

    >>> p = Value(1.0)
    >>> p.grad = 2.0
    >>> Adam([p], lr=0.1).step()
    >>> round(p.data, 6)
    0.9
    """

    def __init__(self, params: Iterable[Value], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}")
        in_range = lambda v: 0.0 <= v < 1.0  # noqa: E731 - a one-line predicate
        self.betas = (_checked(betas[0], "betas[0]", self, in_range, "in [0, 1)"),
                      _checked(betas[1], "betas[1]", self, in_range, "in [0, 1)"))
        self.eps = _checked(eps, "eps", self, lambda v: v > 0.0, "> 0")
        self.weight_decay = _checked(weight_decay, "weight_decay", self, lambda v: v >= 0.0,
                                     ">= 0")
        self.t = 0
        self._m = [0.0] * len(self.params)
        self._v = [0.0] * len(self.params)

    def step(self) -> None:
        """Take one Adam step for every parameter."""
        self.t += 1
        beta1, beta2 = self.betas
        decay, eps, params = self.weight_decay, self.eps, self.params
        step_size = self.lr / (1.0 - beta1 ** self.t)
        root_correction = math.sqrt(1.0 - beta2 ** self.t)
        # Every constant a local, one pass over the parameters: about 300 ns a parameter,
        # the floor of this arithmetic in Python (list comprehensions and map() were slower).
        rate1, rate2, sqrt = 1.0 - beta1, 1.0 - beta2, math.sqrt
        m, v = self._m, self._v
        grads = [p.grad + decay * p.data for p in params] if decay else \
            [p.grad for p in params]
        for i, g in enumerate(grads):
            # m moves towards g by (1 - beta1): written as torch's lerp, to agree to rounding.
            m[i] = mi = m[i] + rate1 * (g - m[i])
            v[i] = vi = beta2 * v[i] + rate2 * g * g
            params[i].data -= step_size * mi / (sqrt(vi) / root_correction + eps)

    def to_torch(self, module: torch.nn.Module) -> torch.optim.Adam:
        """Return ``torch.optim.Adam`` over module (``model.to_torch()``) with this optimizer's
        hyperparameters, step count and moments: training there continues this trajectory.

        Needs torch; see ``nn.interop.adam_to_torch`` for what maps to what.
        """
        return interop.adam_to_torch(self, module)


def linear_decay(start: float, end: float, steps: int) -> Callable[[int], float]:
    """Return a schedule step -> lr going linearly from start (step 0) to end (step steps).

    Steps past the end keep end. Use it as ``optimizer.lr = schedule(step)``.

    >>> schedule = linear_decay(1.0, 0.1, 100)
    >>> schedule(0), round(schedule(50), 12), schedule(100), schedule(500)
    (1.0, 0.55, 0.1, 0.1)
    """
    if not isinstance(steps, numbers.Integral) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"linear_decay: steps must be a positive integer, got {steps!r}")
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, numbers.Real) or not 0.0 <= value < math.inf:
            raise ValueError(f"linear_decay: {name} must be a finite number >= 0, got {value!r}")

    def schedule(step: int) -> float:
        if step < 0:
            raise ValueError(f"linear_decay: step must be >= 0, got {step}")
        return end if step >= steps else start + (end - start) * step / steps

    return schedule


def _checked(value: object, name: str, owner: Optimizer, ok: Callable[[float], bool],
             rule: str) -> float:
    """value as a float if it is a finite real number satisfying ok, else ValueError."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{type(owner).__name__}: {name} must be a number, "
                        f"got {type(value).__name__}")
    number = float(value)
    if not (math.isfinite(number) and ok(number)):
        raise ValueError(f"{type(owner).__name__}: {name} must be {rule}, got {value!r}")
    return number
