"""Two moons: an MLP(2, [16, 16, 1]) trained with hinge loss, L2 and a decaying learning rate.

100 points from scikit-learn's make_moons (noise 0.1), full-batch SGD for 100 steps; prints
the loss, accuracy and time per step, then plots the decision boundary and the curves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import autograd as ag
from autograd import Value, no_grad
from demos._common import (
    Report,
    Stopwatch,
    banner,
    parse_args,
    prepare_out,
    progress,
    pyplot,
    wrote,
)
from nn import MLP, SGD, accuracy, hinge_loss, linear_decay

NAME = "moons"
POINTS, NOISE, STEPS = 100, 0.1, 100
ALPHA = 1e-4  # weight of the L2 penalty
LR_START, LR_END = 1.0, 0.1


@dataclass
class History:
    """Per-step records of a training run."""

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


def load_data(n: int = POINTS, noise: float = NOISE,
              seed: int = 0) -> tuple[list[list[float]], list[float]]:
    """n points of two interleaved half-moons, labels -1 and +1 (what the hinge loss wants)."""
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    return x.tolist(), [2.0 * label - 1.0 for label in y.tolist()]


def make_model(seed: int = 0) -> MLP:
    """MLP(2, [16, 16, 1]): two ReLU hidden layers, one linear score; 337 parameters."""
    return MLP(2, [16, 16, 1], seed=seed)


def loss_of(model: MLP, scores: list[Value], ys: list[float]) -> Value:
    """Mean hinge loss plus ALPHA * sum of squared parameters."""
    params = model.parameters()
    return hinge_loss(scores, ys) + ALPHA * ag.dot(params, params)


def loss_and_accuracy(model: MLP, xs: list[list[float]],
                      ys: list[float]) -> tuple[Value, float]:
    """The loss, and the fraction of points classified right."""
    scores = [out[0] for out in model.forward_batch(xs)]
    return loss_of(model, scores, ys), accuracy(scores, ys, threshold=0.0)


def compiled_loss(model: MLP) -> ag.Compiled[Value]:
    """One point's loss, its hinge loss plus the L2 penalty, compiled: traced at the first
    call, then run as generated Python for every point of the batch by ``batch_loss``. The
    penalty reads no point, so the code computes it once for the batch."""
    params = model.parameters()

    def loss(x: list[float], y: float) -> Value:
        return hinge_loss([model(x)[0]], [y]) + ALPHA * ag.dot(params, params)
    return ag.compile(loss)


def batch_loss(model: MLP, step_loss: ag.Compiled[Value], xs: list[list[float]],
               ys: list[float]) -> Value:
    """loss_of's loss through the compiled per-point loss: the mean over the points of hinge
    plus L2, which is the mean hinge loss plus L2 (to rounding), as one node."""
    return step_loss.mean(xs, ys)


def train(model: MLP, xs: list[list[float]], ys: list[float], steps: int,
          compiled: bool = True) -> History:
    """Full-batch SGD with a decaying learning rate; one forward, backward and update per step.

    Compiled, each step runs the code ag.compile wrote at the first step for one point, for
    every point.
    """
    optimizer = SGD(model.parameters(), lr=LR_START)
    schedule = linear_decay(LR_START, LR_END, steps)
    history = History()
    step_loss = compiled_loss(model) if compiled else None
    bar = progress(range(steps), desc="moons", unit="step")
    for step in bar:
        if step_loss is not None:
            # Measured apart, outside the step's time: the compiled loss returns only the loss.
            with no_grad():
                right = accuracy([out[0] for out in model.forward_batch(xs)], ys,
                                 threshold=0.0)
        clock = Stopwatch()
        if step_loss is None:
            loss, right = loss_and_accuracy(model, xs, ys)
        else:
            loss = batch_loss(model, step_loss, xs, ys)
        optimizer.zero_grad()
        loss.backward()
        optimizer.lr = schedule(step)
        optimizer.step()
        history.seconds.append(clock.seconds())
        history.loss.append(loss.data)
        history.accuracy.append(right)
        history.lr.append(optimizer.lr)
        bar.set_postfix(loss=f"{loss.data:.4f}", acc=f"{right:.0%}")
    return history


def step_times(model: MLP, xs: list[list[float]], ys: list[float], compiled: bool,
               repeats: int = 5) -> float:
    """The median time of a step (loss, backward, no update) done the other way: compiled
    (after its first call) or eager. The model is left as it was, its grads zeroed."""
    step_loss = compiled_loss(model) if compiled else None
    if step_loss is not None:
        step_loss.mean(xs, ys)  # the first call traces and writes the code
    times = []
    for _ in range(repeats):
        clock = Stopwatch()
        loss = loss_and_accuracy(model, xs, ys)[0] if step_loss is None else \
            batch_loss(model, step_loss, xs, ys)
        model.zero_grad()
        loss.backward()
        times.append(clock.seconds())
    model.zero_grad()
    return sorted(times)[len(times) // 2]


def plot_boundary(model: MLP, xs: list[list[float]], ys: list[float], path: str,
                  resolution: int) -> None:
    """The model's score over the plane, its zero level (the boundary) and the points."""
    x_lo, x_hi = min(x[0] for x in xs) - 0.5, max(x[0] for x in xs) + 0.5
    y_lo, y_hi = min(x[1] for x in xs) - 0.5, max(x[1] for x in xs) + 0.5
    gx = [x_lo + (x_hi - x_lo) * i / (resolution - 1) for i in range(resolution)]
    gy = [y_lo + (y_hi - y_lo) * i / (resolution - 1) for i in range(resolution)]
    with no_grad():
        rows = progress(gy, desc="decision boundary", unit="row")
        scores = [[out[0].data for out in model.forward_batch([[a, b] for a in gx])]
                  for b in rows]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.6, 4.8))
    # Shade scores clipped to [-2, 2]: past the hinge's margin of 1 the size of a score says
    # little. vmin/vmax past that range keep the colours light, so the points stand out.
    clipped = [[max(-2.0, min(2.0, s)) for s in row] for row in scores]
    levels = [k / 5 for k in range(-10, 11)]
    shade = ax.contourf(gx, gy, clipped, levels=levels, cmap="RdBu", vmin=-3.5, vmax=3.5)
    fig.colorbar(shade, ax=ax, label="score", ticks=[-2, -1, 0, 1, 2])
    ax.contour(gx, gy, scores, levels=[0.0], colors="k", linewidths=1.5)
    for label, colour in ((-1.0, "#8b0000"), (1.0, "#08306b")):
        pts = [x for x, y in zip(xs, ys) if y == label]
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], c=colour, edgecolors="white",
                   s=30, label=f"class {label:+.0f}")
    ax.set(title="two moons: decision boundary (score = 0)", xlabel="x1", ylabel="x2")
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_curves(history: History, path: str) -> None:
    """Loss and training accuracy against the step."""
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    steps = range(1, len(history.loss) + 1)
    left.plot(steps, history.loss, color="tab:blue")
    left.set(title="loss: hinge + L2", xlabel="step", ylabel="loss", yscale="log")
    right.plot(steps, [100 * a for a in history.accuracy], color="tab:green")
    right.set(title="training accuracy", xlabel="step", ylabel="%", ylim=(40, 101))
    for ax in (left, right):
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> Report:
    """Run the demo: train on two moons, print the progress and draw the boundary."""
    args = parse_args(NAME, __doc__.splitlines()[0], argv, compiled=True)
    n, steps, resolution = (30, 5, 12) if args.smoke else (POINTS, STEPS, 80)
    banner("moons: an MLP learns to separate two half-moons", [
        f"{n} points from sklearn.datasets.make_moons (noise {NOISE}, seed {args.seed}).",
        "Model: MLP(2, [16, 16, 1]), ReLU hidden layers, one score; class = sign(score).",
        f"Loss: mean hinge max(0, 1 - y score) + {ALPHA:g} * sum of squared parameters.",
        f"Full-batch SGD, {steps} steps, learning rate decaying from {LR_START} to {LR_END}.",
    ])
    report = Report(NAME)
    xs, ys = load_data(n, NOISE, args.seed)
    model = make_model(args.seed)
    print(f"{len(model.parameters())} parameters.\n")
    history = train(model, xs, ys, steps, compiled=not args.eager)

    print(f"  {'step':>5}{'lr':>8}{'loss':>10}{'accuracy':>10}")
    for step in sorted({*range(0, steps, max(1, steps // 10)), steps - 1}):
        print(f"  {step + 1:>5}{history.lr[step]:>8.3f}{history.loss[step]:>10.4f}"
              f"{history.accuracy[step]:>10.0%}")
    _, final_accuracy = loss_and_accuracy(model, xs, ys)
    per_step = sorted(history.seconds)[len(history.seconds) // 2]
    total = sum(history.seconds)
    print(f"\nFinal training accuracy: {final_accuracy:.0%} ({round(final_accuracy * n)}/{n})")
    how = "eager" if args.eager else "ag.compile"
    print(f"Time per step ({how}; forward + backward + update): median {1000 * per_step:.1f} ms,"
          f" total {total:.2f} s for {steps} steps")
    other = step_times(model, xs, ys, compiled=args.eager)
    first = "" if args.eager else f"; the first, which traced and wrote the code, " \
        f"{1000 * history.seconds[0]:.0f} ms"
    print(f"  compiled: {1000 * (other if args.eager else per_step):.1f} ms a step{first}")
    print(f"  eager:    {1000 * (per_step if args.eager else other):.1f} ms a step "
          f"(loss and backward, measured after training)\n")
    report.metrics.update(accuracy=final_accuracy, final_loss=history.loss[-1],
                          seconds_per_step=per_step, seconds=total,
                          seconds_per_step_other=other)

    out = prepare_out(args.out)
    boundary, curves = out / "moons_boundary.png", out / "moons_curves.png"
    plot_boundary(model, xs, ys, str(boundary), resolution)
    wrote(report, boundary)
    plot_curves(history, str(curves))
    wrote(report, curves)
    return report


if __name__ == "__main__":
    main()
