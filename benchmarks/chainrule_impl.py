"""The workloads on chainrule: autograd Values, nn's MLP, losses and optimizers."""

from __future__ import annotations

import autograd as ag
from autograd import Value, topological_order
from nn import MLP, SGD, hinge_loss

from .data import Digits
from .timing import Phases, clock

NAME = "chainrule"
COMPILED = "compiled"  # the same workloads through ag.compile
NATIVE = "native"  # ag.compile(..., backend="native"): the same program as machine code


def chain(steps: int) -> Phases:
    """x -> tanh(x a + b), steps times: forward and backward apart."""
    a, b, x = Value(0.5), Value(-0.1), Value(0.3)
    start = clock()
    for _ in range(steps):
        x = (x * a + b).tanh()
    built = clock()
    x.backward()
    return {"forward": built - start, "backward": clock() - built}


def wide(n: int, fused: bool) -> Phases:
    """The dot product of two lists of n Values: one ag.dot node, or sum() of n products."""
    xs = [Value(0.001 * i) for i in range(n)]
    ys = [Value(1.0 - 0.001 * i) for i in range(n)]
    start = clock()
    out = ag.dot(xs, ys) if fused else sum(x * y for x, y in zip(xs, ys))
    built = clock()
    out.backward()  # type: ignore[union-attr]
    return {"forward": built - start, "backward": clock() - built}


class MoonsStep:
    """micrograd's two-moons step with nn: MLP(2, [16, 16, 1]), hinge loss + L2, SGD."""

    def __init__(self, xs: list[list[float]], ys: list[float], lr: float, alpha: float,
                 seed: int = 0) -> None:
        self.model = MLP(2, [16, 16, 1], seed=seed)
        self.params = self.model.parameters()
        self.optimizer = SGD(self.params, lr=lr)
        self.xs, self.ys, self.alpha = xs, ys, alpha

    def loss(self) -> Value:
        """The hinge loss over all points plus alpha * sum(p**2), as one graph."""
        scores = [out[0] for out in self.model.forward_batch(self.xs)]
        # sum(p**2) as one dot node of the parameters with themselves.
        return hinge_loss(scores, self.ys) + self.alpha * ag.dot(self.params, self.params)

    def step(self) -> float:
        """One step: loss, backward, SGD update; returns the loss."""
        loss = self.loss()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss.data


class CompiledMoonsStep(MoonsStep):
    """MoonsStep with one point's loss (its hinge loss plus the L2 penalty) ag.compile'd on
    backend ("python" or "native") and run for every point by Compiled.mean (one trace, code
    the size of one point's graph; the L2 reads no point, so the code computes it once for
    the batch); SGD outside. The points go in as an ag.Batch made once (packed = True: as
    numpy's and torch's steps make their arrays once), or as the lists at every step."""

    def __init__(self, xs: list[list[float]], ys: list[float], lr: float, alpha: float,
                 seed: int = 0, backend: str = "python", packed: bool = True) -> None:
        super().__init__(xs, ys, lr, alpha, seed)
        self.compiled = ag.compile(self._point_loss, backend=backend)
        self.columns: tuple[ag.Batch] | tuple[list[list[float]], list[float]] = \
            (ag.Batch(xs, ys),) if packed else (xs, ys)
        # The batch's numbers as the program reads them: point k's x and y one after another.
        self.inputs = [v for x, y in zip(xs, ys) for v in (*x, y)]

    def _point_loss(self, x: list[float], y: float) -> Value:
        return hinge_loss([self.model(x)[0]], [y]) + self.alpha * ag.dot(self.params,
                                                                          self.params)

    def loss(self) -> Value:
        """The same loss as MoonsStep's, mean(hinge) + L2 = mean(hinge + L2): one node over
        the parameters, traced at the first call."""
        return self.compiled.mean(*self.columns)

    def run_program(self) -> float:
        """The mean of the points' losses on the current weights, from the traced
        program alone run over the batch, forward and backward (no node, no update). What a
        step costs beyond it is Python's: Compiled's bookkeeping, backward() and SGD."""
        program = self.compiled._last.program  # type: ignore[union-attr]  # set by a step
        captured = [leaf.data for leaf in program.captured]
        n = len(self.xs)
        return sum(program.run_batch(self.inputs, n, captured, 1.0 / n, True).data) / n


def native_missing() -> str | None:
    """None if ag.compile's native backend runs here, else why not (its ImportError's text)."""
    try:
        ag.compile(lambda x: x * 2.0, backend="native")(1.0)  # the first call imports llvmlite
    except ImportError as error:
        return str(error)
    return None


def digits_epoch_compiled(data: Digits, seed: int = 0) -> tuple[float, float]:
    """Seconds for one epoch of the digits demo's compiled training loop, and seconds for
    the first call (the one trace of an image's loss, which every batch size shares, made
    before the epoch, without an update)."""
    from demos import digits as demo

    model = demo.make_model(seed)
    optimizer = demo.make_optimizer(model)
    step_loss = demo.compiled_loss(model)
    start = clock()
    step_loss.mean(data.images[:1], [demo.one_hot(data.labels[0])])
    traced = clock() - start
    start = clock()
    demo.train_epoch(model, optimizer, data.images, data.labels, batch_size=data.batch_size,
                     seed=seed, step_loss=step_loss)
    return clock() - start, traced


def digits_epoch(data: Digits, seed: int = 0) -> float:
    """Seconds for one epoch of the digits demo's own training loop (model made untimed)."""
    from demos import digits as demo

    model = demo.make_model(seed)
    optimizer = demo.make_optimizer(model)
    start = clock()
    demo.train_epoch(model, optimizer, data.images, data.labels, batch_size=data.batch_size,
                     seed=seed)
    return clock() - start


def build_chain(steps: int) -> Value:
    """The chain's graph, held by its last node (for the memory workload)."""
    a, b, x = Value(0.5), Value(-0.1), Value(0.3)
    for _ in range(steps):
        x = (x * a + b).tanh()
    return x


def count_nodes(root: Value) -> int:
    """How many nodes root's graph holds."""
    return len(topological_order(root))
