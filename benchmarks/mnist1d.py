"""The MNIST-1D step (issue 18): a batch of 100 through the paper's CNN and residual MLP,
forward, backward and Adam, on ag.compile's Python and native backends and on PyTorch.

chainrule runs the demo's own code (``demos.mnist1d``): the per-sample loss compiled, a batch
as ``step.mean(xs, ys)``, then ``loss.backward()`` and ``nn.Adam``. PyTorch gets the same
models and starting weights written as a person writes them for PyTorch: batched float64
tensors, ``F.cross_entropy`` and ``torch.optim.Adam``, on one thread.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import ModuleType
from typing import Any

from nn import Adam

from .report import Target, ratio
from .timing import Phases, clock
from .workloads import Row, Settings, round_robin, scaled

NATIVE = "native"  # the engine column of ag.compile(..., backend="native")
COMPILED = "compiled"  # ag.compile's Python backend, as in the other compiled rows
TORCH = "torch"
BATCH = 100
MODELS = ("cnn", "mlp")
FIRST_CALL_BOUND = 5.0  # seconds: the CNN's first native call (trace and JIT)


def mnist1d_step(s: Settings, mg: ModuleType | None, torch: ModuleType | None) -> list[Row]:
    """ms per training step of a batch of 100, and each engine's first call, per model."""
    try:
        from demos import mnist1d as demo
        data = demo.load_data(5 * BATCH)
    except ImportError as error:
        return [Row("mnist1d_step", "skipped", {}, [f"needs the mnist1d package: {error}"])]
    signals, labels = data.x[:BATCH], data.y[:BATCH]
    why_not_native = demo.native_available()
    rows: list[Row] = []
    threads = None
    if torch is not None:
        import torch as real_torch
        threads = real_torch.get_num_threads()
        real_torch.set_num_threads(1)  # as the figures: one thread, float64
    try:
        for name in MODELS:
            rows += _model_rows(demo, name, signals, labels, why_not_native,
                                torch is not None, s)
    finally:
        if threads is not None:
            real_torch.set_num_threads(threads)
    return rows


def _model_rows(demo: Any, name: str, signals: list[list[float]], labels: list[int],
                why_not_native: str | None, has_torch: bool, s: Settings) -> list[Row]:
    """The two rows of one model: every engine from the same starting weights."""
    steppers: dict[str, Callable[[], float]] = {
        COMPILED: _chainrule_step(demo, name, "python", signals, labels)}
    notes = [f"{demo.TITLES[name]}, {len(demo.make_model(name).parameters()):,} "
             f"parameters; a batch of {BATCH} MNIST-1D signals: forward, backward, Adam "
             f"(lr {demo.LR}); compiled: ag.compile(sample_loss).mean(xs, ys) on the "
             "Python backend (demos/mnist1d.py's compiled_loss)"]
    if why_not_native is None:
        steppers[NATIVE] = _chainrule_step(demo, name, "native", signals, labels)
        notes.append("native: the same with backend=\"native\" (llvmlite)")
    else:
        notes.append(f"native skipped: {why_not_native}")
    if has_torch:
        steppers[TORCH] = _torch_step(demo, name, signals, labels)
        notes.append("torch: torch.nn modules of the same weights, float64, input a "
                     "(100, 40) or (100, 1, 40) tensor, F.cross_entropy, torch.optim.Adam, "
                     "torch.set_num_threads(1)")
    return _measure(f"mnist1d_step {name} batch {BATCH}", steppers, s, notes)


def _measure(workload: str, steppers: dict[str, Callable[[], float]], s: Settings,
             notes: list[str]) -> list[Row]:
    """The first call's seconds (the compiled engines trace and compile then), then blocks of
    steps in turns, as mlp_step times them; one row of ms/step, one of first-call seconds."""
    first: dict[str, float] = {}
    losses: dict[str, float] = {}
    steps: dict[str, int] = {}
    for name, stepper in steppers.items():
        begin = clock()
        losses[name] = stepper()
        first[name] = clock() - begin
        begin = clock()
        stepper()  # the second step sizes the blocks
        steps[name] = max(s.mlp_block, math.ceil(s.mlp_seconds / max(clock() - begin, 1e-6)))

    def task(name: str) -> Callable[[], Phases]:
        def run() -> Phases:
            begin = clock()
            for _ in range(steps[name]):
                steppers[name]()
            return {"step": (clock() - begin) / steps[name]}
        return run

    results = round_robin({name: task(name) for name in steppers}, s.mlp_repeats)
    spread = max(losses.values()) - min(losses.values())
    notes = [*notes, f"first-step losses agree across engines to {spread:.1e} "
                     f"({losses[COMPILED]:.6f})",
             "steps per timed block: " + ", ".join(f"{n} {k}" for n, k in steps.items())]
    return [Row(workload, "ms/step", scaled(results, "step", 1e3), notes, total=True),
            Row(workload, "first call s", dict(first.items()),
                ["the first step: for chainrule tracing sample_loss and writing its code "
                 "(native: and JIT-compiling it with llvmlite)"])]


def _chainrule_step(demo: Any, name: str, backend: str, signals: list[list[float]],
                    labels: list[int]) -> Callable[[], float]:
    model = demo.make_model(name, seed=0)
    optimizer = Adam(model.parameters(), lr=demo.LR)
    step = demo.compiled_loss(model, backend)
    xs = [demo.model_input(name, signal) for signal in signals]
    ys = [demo.one_hot(label) for label in labels]

    def run() -> float:
        loss = step.mean(xs, ys)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return float(loss.data)

    return run


def _torch_step(demo: Any, name: str, signals: list[list[float]],
                labels: list[int]) -> Callable[[], float]:
    """The same model and starting weights in PyTorch, a batch as one tensor."""
    import torch
    from torch import nn
    from torch.nn import functional

    f64 = torch.float64
    net: nn.Module
    if name == "cnn":
        net = nn.Sequential(nn.Conv1d(1, 25, 5, stride=2, padding=1), nn.ReLU(),
                            nn.Conv1d(25, 25, 3, stride=2, padding=1), nn.ReLU(),
                            nn.Conv1d(25, 25, 3, stride=2, padding=1), nn.ReLU(),
                            nn.Flatten(), nn.Linear(125, 10))
        x = torch.tensor(signals, dtype=f64).unsqueeze(1)  # (batch, channels 1, length 40)
    else:
        class ResMLP(nn.Module):  # the demo's residual MLP, as a PyTorch user writes it
            def __init__(self) -> None:
                super().__init__()
                self.l1, self.l2 = nn.Linear(40, 100), nn.Linear(100, 100)
                self.l3 = nn.Linear(100, 10)

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                h = self.l1(x).relu()
                h = h + self.l2(h).relu()
                out: torch.Tensor = self.l3(h)
                return out

        net = ResMLP()
        x = torch.tensor(signals, dtype=f64)
    net = net.to(f64)
    net.load_state_dict(demo.make_model(name, seed=0).torch_state_dict())
    y = torch.tensor(labels)
    optimizer = torch.optim.Adam(net.parameters(), lr=demo.LR)

    def run() -> float:
        loss = functional.cross_entropy(net(x), y)
        optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        return float(loss.item())

    return run


def targets_of(rows: list[Row]) -> list[Target]:
    """Issue 18's targets for the MNIST-1D step: native within 10x of PyTorch (the moonshot:
    3x) on both models, and the CNN's first native call under 5 s."""
    found: list[Target] = []
    for row in rows:
        if not row.workload.startswith("mnist1d_step"):
            continue
        if row.metric == "ms/step":
            found.append(Target(f"{row.workload} native: within 10x of torch (issue 18)",
                                ratio(row, TORCH, NATIVE), 10.0))
            found.append(Target(f"{row.workload} native: within 3x of torch (the moonshot)",
                                ratio(row, TORCH, NATIVE), 3.0))
        elif row.metric == "first call s" and " cnn " in row.workload:
            seconds = row.values.get(NATIVE)
            found.append(Target(f"{row.workload} native: first call under "
                                f"{FIRST_CALL_BOUND:.0f} s (its seconds over 1 s)",
                                seconds if isinstance(seconds, float) else None,
                                FIRST_CALL_BOUND))
    return found
