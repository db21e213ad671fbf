"""Optimizers: SGD (momentum, weight decay) and Adam, updating parameters' data in place.

Both follow torch.optim.SGD / torch.optim.Adam step for step (same formulas, same
order of operations), so on the same gradients they agree to rounding. ``lr`` may be set
between steps (checked like the constructor's) to follow a schedule such as ``linear_decay``.
"""

from __future__ import annotations

import math
import numbers
from array import array
from collections.abc import Callable, Iterable, MutableSequence
from typing import TYPE_CHECKING, Any

from autograd import Value
from autograd.compile import kernels
from autograd.compile.kernels import Kernel

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


# One parameter's Adam step, written once: g is its gradient, m and v its moments, p its data,
# the other names the step's numbers. Adam.step runs these lines for every parameter: as a
# Python loop, or, for many parameters where llvmlite is installed (the native extra), as one
# native loop lowered from the same lines (autograd.compile.kernels). The same floats either way.
ADAM_UPDATE = (
    ("m", "m + rate1 * (g - m)"),  # towards g by (1 - beta1): torch's lerp, to agree to rounding
    ("v", "beta2 * v + rate2 * g * g"),
    ("p", "p - step_size * m / (math.sqrt(v) / root_correction + eps)"),
)
WEIGHT_DECAY = ("g", "g + decay * p")  # L2 added to the gradient first, as torch.optim.Adam
ADAM_INPUTS = ("g", "m", "v", "p")
ADAM_NUMBERS = ("rate1", "beta2", "rate2", "step_size", "root_correction", "eps", "decay")
# From this many parameters on, step() runs the native loop where it can: below, the Python
# loop is as fast as copying the numbers in and out (python -m benchmarks: adam_step).
NATIVE_AT = 1024


class Adam(Optimizer):
    """Adam: steps by the bias-corrected mean of the gradients over the root of their square.

    m := b1 m + (1 - b1) g,  v := b2 v + (1 - b2) g**2,  and at step t
    W := W - lr / (1 - b1**t) * m / (sqrt(v) / sqrt(1 - b2**t) + eps);
    with weight_decay, g = grad + weight_decay * W (L2, as torch.optim.Adam). The update is
    ADAM_UPDATE, run for every parameter (natively, to the same floats, where llvmlite is
    installed and there are NATIVE_AT parameters or more).

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
        # The moments, one per parameter: a list, or an array of doubles once the native loop
        # has run (it reads and writes arrays); either is a sequence of floats.
        self._m: MutableSequence[float] = [0.0] * len(self.params)
        self._v: MutableSequence[float] = [0.0] * len(self.params)

    def step(self) -> None:
        """Take one Adam step for every parameter; one that raises (a grad that is no
        number) changes nothing: not the data, the moments, nor the step count."""
        t = self.t + 1
        beta1, beta2 = self.betas
        numbers = (1.0 - beta1, beta2, 1.0 - beta2, self.lr / (1.0 - beta1 ** t),
                   math.sqrt(1.0 - beta2 ** t), self.eps, self.weight_decay)
        update = _adam_update(self.weight_decay)
        if not (len(self.params) >= NATIVE_AT and self._native_step(update, numbers)):
            self._m, self._v = _python_loop(update)(self.params, self._m, self._v, *numbers)
        self.t = t

    def _native_step(self, update: tuple[tuple[str, str], ...],
                     numbers: tuple[float, ...]) -> bool:
        """The step as one native loop; False (nothing changed) where it cannot run: without
        llvmlite, or where a grad or a data is no float (the Python loop then raises its
        error)."""
        kernel = _kernel(update)
        if kernel is None:
            return False
        params = self.params
        try:
            grads = array("d", [p.grad for p in params])
            data = array("d", [p.data for p in params])
        except TypeError:
            return False
        m = self._m if isinstance(self._m, array) else array("d", self._m)
        v = self._v if isinstance(self._v, array) else array("d", self._v)
        out = kernel.run([grads, m, v, data], numbers)
        if out is None:  # an expression would raise: the Python loop raises it
            return False
        *_, self._m, self._v, data = out
        for p, x in zip(params, data):
            p.data = x
        return True

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


def _adam_update(decay: float) -> tuple[tuple[str, str], ...]:
    return (WEIGHT_DECAY, *ADAM_UPDATE) if decay else ADAM_UPDATE


_loops: dict[tuple[tuple[str, str], ...], Callable[..., tuple[Any, Any]]] = {}


def _python_loop(update: tuple[tuple[str, str], ...]) -> Callable[..., tuple[Any, Any]]:
    """The update as a Python loop over the parameters, written from its lines once: it
    sets each parameter's data and returns the new moments (the old ones left as they were).

    Every number a local and one pass over the parameters: about 220 ns a parameter here
    (python -m benchmarks: adam_step), near the floor of this arithmetic in Python.
    """
    loop = _loops.get(update)
    if loop is None:
        body = kernels.python_loop(update, ADAM_INPUTS, ADAM_NUMBERS)
        # The moments go to copies, the data in place, put back where a parameter's update
        # raises: the cheapest way found to a failed step that changed nothing.
        source = "\n".join([
            f"def adam_step(params, ms, vs, {', '.join(ADAM_NUMBERS)}):",
            "    ms, vs, before = ms[:], vs[:], [param.data for param in params]",
            "    try:",
            "        for i, param in enumerate(params):",
            "            g, m, v, p = param.grad, ms[i], vs[i], before[i]",
            *(f"            {line}" for line in body.splitlines()),
            "            ms[i], vs[i], param.data = m, v, p",
            "    except BaseException:",
            "        for param, p in zip(params, before):",
            "            param.data = p",
            "        raise",
            "    return ms, vs", ""])
        namespace: dict[str, Any] = {"math": math}
        exec(compile(source, "<nn.Adam's update>", "exec"), namespace)  # noqa: S102
        loop = _loops[update] = namespace["adam_step"]
    return loop


_no_kernel: set[tuple[tuple[str, str], ...]] = set()  # tried once, without llvmlite


def _kernel(update: tuple[tuple[str, str], ...]) -> Kernel | None:
    """The update as a native loop, or None without llvmlite (looked for once)."""
    if update in _no_kernel:
        return None
    try:
        return kernels.write_kernel(update, ADAM_INPUTS, ADAM_NUMBERS)
    except ImportError:
        _no_kernel.add(update)
        return None
