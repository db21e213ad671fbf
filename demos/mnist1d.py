"""MNIST-1D: the paper's three models (logistic, residual MLP, CNN) trained with ag.compile.

Greydanus's MNIST-1D (the `mnist1d` package builds it offline): 4,000 training and 1,000 test
signals of length 40, ten classes. Each model trains with the paper's settings (Adam, lr 1e-2,
batches of 100, 8,000 steps): a batch's loss is one call of the per-sample loss compiled with
``ag.compile`` (``step.mean(batch)``, each batch taken from the training set packed once as an
``ag.Batch``), run as native code where llvmlite is installed. Prints the final test
accuracies beside the paper's and PyTorch's; draws the test-accuracy curves, one signal per
class and the CNN's confusion matrix.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import autograd as ag
from autograd import Value, no_grad
from demos._common import Report, Stopwatch, banner, prepare_out, progress, pyplot, wrote
from demos.digits import confusion, one_hot
from nn import Adam, Conv1d, Flatten, Linear, Module, ReLU, Sequential, batches, cross_entropy

NAME = "mnist1d"
CLASSES, LENGTH = 10, 40
LR, BATCH_SIZE = 1e-2, 100
NATIVE_STEPS = 8000  # the paper's schedule
# The Python backend runs a CNN step in about half a second here: a run of a few minutes.
PYTHON_STEPS = 300
EVAL_EVERY = 250  # steps between test accuracies (the paper's), or steps / 8 if fewer
# A compiled forward costs a trace and its program (the forward pass alone, as it runs under
# no_grad: about 0.3 s for the CNN on the Python backend): below this many test signals an
# eager forward is cheaper.
COMPILED_EVAL_MIN = 200

MODELS = ("logistic", "mlp", "cnn")
TITLES = {"logistic": "logistic regression", "mlp": "residual MLP", "cnn": "CNN"}
# Final test accuracies with these settings. The paper: Greydanus (2020), table 1.
# PyTorch: torch 2.13 CPU, float64, the same models and settings, seed 42, measured on this
# (2-core) machine when the demo was written.
PAPER = {"logistic": 0.32, "mlp": 0.68, "cnn": 0.94}
PYTORCH = {"logistic": 0.314, "mlp": 0.633, "cnn": 0.932}

Signal = list[float]


# ---- data ---------------------------------------------------------------------------------


@dataclass
class Data:
    """The signals (40 floats each) and their labels (0 to 9)."""

    x: list[Signal]
    y: list[int]
    x_test: list[Signal]
    y_test: list[int]


def load_data(samples: int | None = None) -> Data:
    """MNIST-1D as the paper made it (mnist1d's default arguments, seed 42), generated here.

    samples: how many signals to make in all (train 80%, test 20%; the default 5,000 gives
    4,000 and 1,000). Nothing is downloaded or written: make_dataset only computes.
    """
    import numpy as np
    from mnist1d.data import get_dataset_args, make_dataset  # type: ignore[import-untyped]

    settings = get_dataset_args()
    if samples is not None:
        settings.num_samples = samples
    # make_dataset seeds Python's and numpy's global generators: keep the caller's.
    saved = random.getstate(), np.random.get_state()
    try:
        data = make_dataset(settings)
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])
    return Data(data["x"].tolist(), data["y"].tolist(),
                data["x_test"].tolist(), data["y_test"].tolist())


# ---- models -------------------------------------------------------------------------------


class ResMLP(Module):
    """The paper's residual MLP: h = relu(l1(x)); h = h + relu(l2(h)); out = l3(h)."""

    def __init__(self, hidden: int = 100, seed: int = 0) -> None:
        super().__init__()
        self.l1 = Linear(LENGTH, hidden, seed=seed)
        self.l2 = Linear(hidden, hidden, seed=seed + 1)
        self.l3 = Linear(hidden, CLASSES, seed=seed + 2)

    def forward(self, x: Sequence[float | Value]) -> list[Value]:
        h = [v.relu() for v in self.l1(x)]
        h = [a + b.relu() for a, b in zip(h, self.l2(h))]
        out: list[Value] = self.l3(h)
        return out


def make_model(name: str, seed: int = 0) -> Module:
    """One of MODELS, its weights drawn from seed."""
    if name == "logistic":
        return Linear(LENGTH, CLASSES, seed=seed)
    if name == "mlp":
        return ResMLP(seed=seed)
    if name == "cnn":
        return Sequential(Conv1d(1, 25, 5, stride=2, padding=1, seed=seed), ReLU(),
                          Conv1d(25, 25, 3, stride=2, padding=1, seed=seed + 1), ReLU(),
                          Conv1d(25, 25, 3, stride=2, padding=1, seed=seed + 2), ReLU(),
                          Flatten(), Linear(125, CLASSES, seed=seed + 3))
    raise ValueError(f"mnist1d: no model named {name!r}; pick from {', '.join(MODELS)}")


def model_input(name: str, signal: Signal) -> Any:
    """What the model reads: the signal itself, or for the CNN one channel: [signal]."""
    return [signal] if name == "cnn" else signal


# ---- backends -----------------------------------------------------------------------------


def native_available() -> str | None:
    """None if ag.compile's native backend runs here, else why not (the ImportError's text)."""
    try:
        probe = ag.compile(lambda x: x * 2.0, backend="native")
        probe(1.0)  # the first call writes and JIT-compiles the code: all of it must import
    except ImportError as error:
        return str(error)
    return None


def choose_backend(asked: str) -> tuple[str, str | None]:
    """The backend to run ("native" or "python") and, when native was asked for but cannot
    run, why not."""
    if asked == "python":
        return "python", None
    why = native_available()
    return ("python", why) if why else ("native", None)


def ran_native(compiled: ag.Compiled[Value]) -> bool:
    """Whether compiled's last call ran machine code: its ``ir`` exists then. (Native code
    hands a program it cannot lower, such as one with softmax, to the Python backend.)"""
    try:
        getattr(compiled, "ir")  # noqa: B009 - a property only the native backend's calls have
    except (AttributeError, RuntimeError):
        return False
    return True


# ---- training -----------------------------------------------------------------------------


@dataclass
class Run:
    """One model's training: test accuracy at the evaluated steps, and its times."""

    name: str
    steps: list[int] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    step_seconds: list[float] = field(default_factory=list)
    first_call: float = 0.0  # the first step: tracing fn and writing (and compiling) its code
    backend: str = "python"  # what ran the training steps' code
    eval_seconds: float = 0.0
    seconds: float = 0.0
    predictions: list[int] = field(default_factory=list)

    @property
    def final(self) -> float:
        return self.accuracy[-1]

    def median_step(self) -> float:
        later = sorted(self.step_seconds[1:] or self.step_seconds)
        return later[len(later) // 2]


def endless_batches(n: int, batch_size: int, seed: int) -> Iterator[list[int]]:
    """Shuffled mini-batches, epoch after epoch, each epoch's order from its own seed."""
    epoch = 0
    while True:
        yield from batches(n, batch_size, shuffle=True, seed=seed * 100_003 + epoch)
        epoch += 1


def eval_steps(steps: int) -> list[int]:
    """The steps after which the test accuracy is measured: 0, then every EVAL_EVERY (or
    steps / 8 for a short run), and the last.

    >>> eval_steps(1000), eval_steps(3)
    ([0, 125, 250, 375, 500, 625, 750, 875, 1000], [0, 3])
    """
    if steps < 8:
        return [0, steps]
    every = EVAL_EVERY if steps >= 8 * EVAL_EVERY else steps // 8
    return [*range(0, steps, every), steps]


def predictor(model: Module, name: str, backend: str,
              compiled: bool) -> Callable[[list[Signal]], list[int]]:
    """A function from signals to predicted classes: the largest of the model's ten logits.

    compiled: the logits through ``map`` of a compiled forward (one run of the code for the
    whole test set); else an eager forward. Both run under no_grad: no graph is kept.
    """
    def logits(x: Any) -> list[Value]:
        out: list[Value] = model(x)
        return out

    forward = ag.compile(logits, backend=backend) if compiled else None

    def predict(signals: list[Signal]) -> list[int]:
        inputs = [model_input(name, s) for s in signals]
        with no_grad():
            outputs = forward.map(inputs) if forward is not None else [model(x) for x in inputs]
        predictions = []
        for logits in outputs:
            data = [v.data for v in cast("list[Value]", logits)]
            predictions.append(max(range(CLASSES), key=data.__getitem__))
        return predictions

    return predict


def accuracy_of(predictions: list[int], labels: list[int]) -> float:
    return sum(p == t for p, t in zip(predictions, labels)) / len(labels)


def compiled_loss(model: Module, backend: str = "python") -> ag.Compiled[Value]:
    """One sample's cross-entropy, compiled: ``step.mean(xs, ys)`` is a batch's mean loss.

    The targets are one-hot (ten numbers): numbers are the compiled code's inputs, where a
    class index would be part of its structure (a trace per class).
    """
    def sample_loss(x: Any, y: list[float]) -> Value:
        return cross_entropy([model(x)], [y])

    return ag.compile(sample_loss, backend=backend)


def train(name: str, data: Data, steps: int, backend: str, seed: int = 0,
          batch_size: int = BATCH_SIZE) -> Run:
    """Train one model with the paper's settings; test accuracy at eval_steps(steps)."""
    clock = Stopwatch()
    model = make_model(name, seed)
    optimizer = Adam(model.parameters(), lr=LR)

    step_loss = compiled_loss(model, backend)
    # The training set checked and packed once; each step takes its mini-batch from it.
    train_set = ag.Batch([model_input(name, s) for s in data.x], [one_hot(y) for y in data.y])
    predict = predictor(model, name, backend, compiled=len(data.x_test) >= COMPILED_EVAL_MIN)
    run = Run(name)
    checkpoints = set(eval_steps(steps))
    order = endless_batches(len(train_set), batch_size, seed)

    def evaluate(step: int) -> None:
        watch = Stopwatch()
        run.predictions = predict(data.x_test)
        run.steps.append(step)
        run.accuracy.append(accuracy_of(run.predictions, data.y_test))
        run.eval_seconds += watch.seconds()

    evaluate(0)
    bar = progress(range(1, steps + 1), desc=f"{name:<8}", unit="step")
    for step in bar:
        batch = next(order)
        watch = Stopwatch()
        loss = step_loss.mean(train_set.take(batch))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        run.step_seconds.append(watch.seconds())
        if step == 1 and backend == "native":
            run.backend = "native" if ran_native(step_loss) else "python"
        if step in checkpoints:
            evaluate(step)
            bar.set_postfix(loss=f"{loss.data:.3f}", test=f"{run.accuracy[-1]:.1%}")
    run.first_call = run.step_seconds[0] if run.step_seconds else 0.0
    run.seconds = clock.seconds()
    return run


# ---- output -------------------------------------------------------------------------------


def table(runs: list[Run], steps: int) -> list[str]:
    """The final test accuracies beside the paper's and PyTorch's (both after 8,000 steps)."""
    ours = f"chainrule ({steps:,} steps)"
    lines = [f"  {'model':<21}{ours:>24}{'PyTorch (8,000)':>17}{'paper':>8}"]
    for run in runs:
        lines.append(f"  {TITLES[run.name]:<21}{run.final:>24.1%}{PYTORCH[run.name]:>17.1%}"
                     f"{PAPER[run.name]:>8.0%}")
    return lines


def plot_curves(runs: list[Run], path: Path, backend: str) -> None:
    """Test accuracy against training step, one line per model, the paper's as dashes."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for k, run in enumerate(runs):
        color = f"C{k}"
        ax.plot(run.steps, [100 * a for a in run.accuracy], color=color, marker=".",
                label=f"{TITLES[run.name]}: {run.final:.1%}")
        ax.axhline(100 * PAPER[run.name], color=color, linestyle="--", linewidth=0.8)
    ax.plot([], [], color="gray", linestyle="--", linewidth=0.8, label="the paper's (dashed)")
    ax.set(title=f"MNIST-1D: test accuracy (chainrule, {backend} backend)",
           xlabel="training step (batches of 100)", ylabel="test accuracy (%)", ylim=(0, 100))
    ax.grid(alpha=0.3)
    ax.legend(loc="center right")  # between the logistic and MLP curves
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_signals(data: Data, path: Path) -> None:
    """The first training signal of each class, one panel per digit."""
    plt = pyplot()
    fig, axes = plt.subplots(2, 5, figsize=(10, 3.6), sharex=True, sharey=True)
    for digit, ax in enumerate(axes.flat):
        k = data.y.index(digit) if digit in data.y else None
        ax.set_title(f"{digit}", fontsize=10)
        ax.set_xticks([0, 20, 39])
        if k is not None:
            ax.plot(data.x[k], color="black", linewidth=1.2)
    fig.suptitle("MNIST-1D: one training signal of each class (40 numbers each)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_confusion(counts: list[list[int]], title: str, path: Path) -> None:
    """The confusion matrix as a heat map with the count in each cell."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    image = ax.imshow(counts, cmap="Blues")
    fig.colorbar(image, ax=ax)
    high = max(max(row) for row in counts) or 1
    for t in range(CLASSES):
        for p in range(CLASSES):
            if counts[t][p]:
                ax.text(p, t, str(counts[t][p]), ha="center", va="center", fontsize=7,
                        color="white" if counts[t][p] > high / 2 else "black")
    ax.set(title=title, xlabel="predicted", ylabel="true", xticks=range(CLASSES),
           yticks=range(CLASSES))
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


# ---- main ---------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m demos {NAME}",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true",
                        help="a few steps on a few signals: checks the demo runs, in seconds")
    parser.add_argument("--out", type=Path, default=Path("out") / NAME,
                        help=f"folder for the pictures (default: out/{NAME})")
    parser.add_argument("--seed", type=int, default=0, help="seed for weights and batches")
    parser.add_argument("--backend", choices=("native", "python"), default="native",
                        help="ag.compile's backend (default native; python where llvmlite "
                             "is not installed)")
    parser.add_argument("--steps", type=int, default=None,
                        help=f"training steps per model (default {NATIVE_STEPS:,} native, "
                             f"{PYTHON_STEPS} python)")
    parser.add_argument("--models", default=",".join(MODELS),
                        help=f"comma list of models to train (default {','.join(MODELS)})")
    args = parser.parse_args(argv)
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in args.models if m not in MODELS]
    if unknown or not args.models:
        parser.error(f"--models: unknown {', '.join(unknown) or '(none given)'}; "
                     f"pick from {','.join(MODELS)}")
    if args.steps is not None and args.steps < 1:
        parser.error(f"--steps must be at least 1, got {args.steps}")
    return args


def main(argv: Sequence[str] | None = None) -> Report:
    """Run the demo: train the chosen models, print the table, draw the pictures."""
    args = parse_args(argv)
    clock = Stopwatch()
    backend, why = choose_backend(args.backend)
    if why:
        print(f"The native backend cannot run here ({why}).\nUsing the Python backend, "
              f"with {PYTHON_STEPS} steps per model unless --steps says otherwise.\n")
    steps = args.steps or (NATIVE_STEPS if backend == "native" else PYTHON_STEPS)
    batch_size = BATCH_SIZE
    if args.smoke:
        # 250 signals make 200 for training and 50 for testing.
        data, steps, batch_size = load_data(250), args.steps or 3, 20
    else:
        data = load_data()
    banner("mnist1d: the MNIST-1D paper's three models, compiled", [
        f"{len(data.x):,} training and {len(data.x_test):,} test signals of length {LENGTH}, "
        "from the mnist1d package (generated here, no download).",
        f"Models: {', '.join(TITLES[m] for m in args.models)}.",
        f"Adam (lr {LR}), batches of {batch_size}, {steps:,} steps each, seed {args.seed}; "
        f"ag.compile's {backend} backend.",
    ])
    runs = []
    for k, name in enumerate(args.models):
        run = train(name, data, steps, backend, seed=1000 * args.seed + 10 * k,
                    batch_size=batch_size)
        runs.append(run)
        if run.backend != backend:
            print(f"  (native code could not run {name}'s sample_loss, the Python backend "
                  "did: an op without native code, such as softmax)")
        print(f"  {TITLES[run.name]:<21} test accuracy {run.final:6.1%}   "
              f"{run.seconds:6.1f} s: step {1000 * run.median_step():.1f} ms "
              f"(the first, which traces and writes the code, {run.first_call:.1f} s), "
              f"testing {run.eval_seconds:.1f} s")
    total = clock.seconds()
    print("\nFinal test accuracy:")
    for line in table(runs, steps):
        print(line)
    print(f"PyTorch: torch 2.13, float64, the same models and settings (seed 42), on this "
          f"machine. Paper: Greydanus 2020.\nTotal time: {total:.1f} s ({backend} backend)\n")
    report = Report(NAME, metrics={"seconds": total, "steps": float(steps)})
    for run in runs:
        report.metrics[f"accuracy_{run.name}"] = run.final
        report.metrics[f"step_ms_{run.name}"] = 1000 * run.median_step()

    out = prepare_out(args.out)
    curves, signals = out / "mnist1d_curves.png", out / "mnist1d_signals.png"
    plot_curves(runs, curves, backend)
    wrote(report, curves)
    plot_signals(data, signals)
    wrote(report, signals)
    shown = next((r for r in runs if r.name == "cnn"), runs[-1])
    matrix = out / "mnist1d_confusion.png"
    plot_confusion(confusion(data.y_test, shown.predictions),
                   f"MNIST-1D: the {TITLES[shown.name]}'s confusion matrix (test set)", matrix)
    wrote(report, matrix)
    return report


if __name__ == "__main__":
    main()
