"""The native backend's rows: the moons step compiled to machine code against the tuned
pure-Python floor and a batched numpy version, and the MNIST-1D CNN's first call and step.

`python -m benchmarks.native` prints them; `rows()` gives them to the table (benchmarks'
report), from one run, as ratios. Needs llvmlite (and numpy for its column).
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable, Sequence

import autograd as ag
from autograd import Value
from nn import cross_entropy, hinge_loss

from . import data, floor
from .chainrule_impl import MoonsStep
from .timing import clock, fresh
from .training import ALPHA, LR, layers_of
from .workloads import Row

NATIVE = "native"


class NativeMoonsStep(MoonsStep):
    """MoonsStep with one sample's hinge loss compiled native and run over the batch by
    Compiled.mean; the L2 term and SGD outside it."""

    def __init__(self, xs: list[list[float]], ys: list[float], lr: float, alpha: float,
                 seed: int = 0, backend: str = "native") -> None:
        super().__init__(xs, ys, lr, alpha, seed)
        self.compiled = ag.compile(self._sample, backend=backend)

    def _sample(self, x: list[float], y: float) -> Value:
        return hinge_loss([self.model(x)[0]], [y])

    def loss(self) -> Value:
        return self.compiled.mean(self.xs, self.ys) + self.alpha * ag.dot(self.params,
                                                                          self.params)


class NumpyMoonsStep:
    """The moons step as a person writes it with numpy: the batch as matrices, the backward
    pass by hand, SGD in place."""

    def __init__(self, start: floor.Network, xs: list[list[float]], ys: list[float],
                 lr: float, alpha: float) -> None:
        import numpy as np

        self.np = np
        self.weights = [np.array(w, dtype=np.float64) for w, _ in start]
        self.biases = [np.array(b, dtype=np.float64) for _, b in start]
        self.x, self.y = np.array(xs, dtype=np.float64), np.array(ys, dtype=np.float64)
        self.lr, self.alpha = lr, alpha

    def step(self) -> float:
        np = self.np
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
                upstream = (upstream @ w) * (activations[k] > 0.0)
            w -= self.lr * grad_w
            b -= self.lr * grad_b
        return loss


def _blocks(steppers: dict[str, Callable[[], float]], repeats: int,
            seconds: float) -> dict[str, float]:
    """Each stepper's median seconds per step over blocks of about `seconds`, taking turns."""
    sizes = {}
    for name, step in steppers.items():
        begin = clock()
        step()
        sizes[name] = max(1, math.ceil(seconds / max(clock() - begin, 1e-6)))
    times: dict[str, list[float]] = {name: [] for name in steppers}
    names = list(steppers)
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            fresh()
            begin = clock()
            for _ in range(sizes[name]):
                steppers[name]()
            times[name].append((clock() - begin) / sizes[name])
    return {name: statistics.median(ts) for name, ts in times.items()}


def moons(repeats: int = 5, seconds: float = 0.3) -> list[Row]:
    """ms per moons step (100 points, MLP(2, [16, 16, 1]), hinge + L2, SGD)."""
    xs, ys = data.two_moons()
    begin = clock()
    mine = NativeMoonsStep(xs, ys, LR, ALPHA)
    start = layers_of(mine.model)
    losses = {NATIVE: mine.step()}
    first = clock() - begin
    python = NativeMoonsStep(xs, ys, LR, ALPHA, backend="python")
    for p, v in zip(python.params, floor.flat(start)):
        p.data = v
    tuned = [([list(w) for w in weights], list(biases)) for weights, biases in start]
    steppers: dict[str, Callable[[], float]] = {
        NATIVE: mine.step, "python backend": python.step,
        "tuned floor": lambda: floor.mlp_step(tuned, xs, ys, LR, ALPHA, tuned=True)}
    losses["python backend"] = python.step()
    losses["tuned floor"] = steppers["tuned floor"]()
    try:
        numpy_step = NumpyMoonsStep(start, xs, ys, LR, ALPHA)
        steppers["numpy"] = numpy_step.step
        losses["numpy"] = numpy_step.step()
    except ImportError:
        pass
    # The native call alone, on the step's own numbers: the rest of a step is Python's
    # (Compiled's per-sample bookkeeping, the eager L2 node, backward() and SGD).
    program = mine.compiled._last.program  # type: ignore[union-attr]
    inputs = [v for x, y in zip(xs, ys) for v in (*x, y)]

    def call_only() -> float:
        captured = [leaf.data for leaf in program.captured]
        program.run_batch(inputs, len(xs), captured, 1.0 / len(xs), True)
        return 0.0

    steppers["native call alone"] = call_only
    times = _blocks(steppers, repeats, seconds)
    row = Row(f"moons step native {len(xs)}", "ms/step",
              {name: t * 1e3 for name, t in times.items()}, total=True)
    row.notes.append(f"native: {times['tuned floor'] / times[NATIVE]:.1f}x faster than the "
                     f"tuned floor (target: 20x)"
                     + (f", {times['numpy'] / times[NATIVE]:.2f}x numpy's batched step"
                        if "numpy" in times else ""))
    row.notes.append(f"native: the first call (trace and JIT) took {first * 1e3:,.0f} ms; "
                     f"the native call alone (run_batch) is "
                     f"{times['native call alone'] / times[NATIVE]:.0%} of the step")
    spread = max(losses.values()) - min(losses.values())
    row.notes.append(f"first-step losses agree to {spread:.1e}")
    return [row]


# ---- the MNIST-1D CNN, built by hand (Conv1d 1->25->25->25, Linear(125, 10)) ---------------


def _cnn(seed: int = 0) -> tuple[Callable[[list[float], list[float]], Value], list[Value]]:
    rng = random.Random(seed)
    params: list[Value] = []

    def uniform(bound: float) -> Value:
        v = Value(rng.uniform(-bound, bound))
        params.append(v)
        return v

    def conv(cin: int, cout: int, k: int) -> tuple[list[list[list[Value]]], list[Value]]:
        bound = 1.0 / math.sqrt(cin * k)
        return ([[[uniform(bound) for _ in range(k)] for _ in range(cin)] for _ in range(cout)],
                [uniform(bound) for _ in range(cout)])

    layers = [(conv(1, 25, 5), 5), (conv(25, 25, 3), 3), (conv(25, 25, 3), 3)]
    bound = 1.0 / math.sqrt(125)
    linear = [[uniform(bound) for _ in range(125)] for _ in range(10)]
    linear_b = [uniform(bound) for _ in range(10)]

    def apply(x: Sequence[Sequence[Value | float]], w: list[list[list[Value]]], b: list[Value],
              k: int) -> list[list[Value]]:
        length = len(x[0])
        out = []
        for o in range(len(w)):
            row = []
            for t in range((length + 2 - k) // 2 + 1):  # stride 2, padding 1
                ws: list[Value] = []
                xs: list[Value | float] = []
                for c in range(len(x)):
                    for j in range(k):
                        p = 2 * t - 1 + j
                        if 0 <= p < length:
                            ws.append(w[o][c][j])
                            xs.append(x[c][p])
                row.append(ag.dot([*ws, b[o]], [*xs, 1.0]).relu())
            out.append(row)
        return out

    def loss(x: list[float], y: list[float]) -> Value:
        h: Sequence[Sequence[Value | float]] = [x]
        for (w, b), k in layers:
            h = apply(h, w, b, k)
        flat = [v for row in h for v in row]
        z = [ag.dot([*w, b], [*flat, 1.0]) for w, b in zip(linear, linear_b)]
        return cross_entropy([z], [y])  # y one-hot: numbers, so inputs of the code

    return loss, params


def cnn(batch: int = 100) -> list[Row]:
    """The MNIST-1D-sized CNN's first call (trace and JIT) and a batch's forward and backward,
    native against the Python backend."""
    rng = random.Random(1)
    xs = [[rng.gauss(0.0, 1.0) for _ in range(40)] for _ in range(batch)]
    ys = [[float(i == k % 10) for i in range(10)] for k in range(batch)]
    loss, params = _cnn()
    times: dict[str, float] = {}
    firsts: dict[str, float] = {}
    for backend, count in ((NATIVE, batch), ("python backend", 10)):
        step = ag.compile(loss, backend="native" if backend == NATIVE else "python")
        begin = clock()
        step.mean(xs[:1], ys[:1])
        firsts[backend] = clock() - begin
        samples = []
        for _ in range(3):
            begin = clock()
            out = step.mean(xs[:count], ys[:count])
            out.backward()
            samples.append((clock() - begin) / count * batch)
            for p in params:
                p.grad = 0.0
        times[backend] = statistics.median(samples)
    row = Row(f"mnist1d cnn step native {batch}", "ms/batch",
              {name: t * 1e3 for name, t in times.items()})
    row.notes.append(f"forward and backward of {batch} samples, no optimizer; native "
                     f"{times['python backend'] / times[NATIVE]:.0f}x the Python backend "
                     f"(timed on 10 samples, scaled)")
    row.notes.append("first call (trace and code): " + ", ".join(
        f"{name} {t:.2f} s" for name, t in firsts.items()) + " (target: native under 5 s)")
    return [row]


def rows() -> list[Row]:
    return moons() + cnn()


def main() -> None:
    for row in rows():
        values = ", ".join(f"{name} {v:.3f}" if isinstance(v, float) else f"{name} {v}"
                           for name, v in row.values.items())
        print(f"{row.workload} ({row.metric}): {values}")
        for note in row.notes:
            print(f"    {note}")


if __name__ == "__main__":
    main()
