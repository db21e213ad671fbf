"""XOR with a 2-2-1 sigmoid network, J = 1/2 (yhat - y)^2 and plain gradient descent.

On the first step the demo prints autograd's gradients beside the textbook's closed-form
deltas, then trains until all four points are right and plots the loss curve.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

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
from nn import MLP, SGD, mse_loss

NAME = "xor"
INPUTS = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
TARGETS = [0.0, 1.0, 1.0, 0.0]
LR = 5.0
STEPS = 2000

Matrix = list[list[float]]


@dataclass
class PointDeltas:
    """One training point's forward result and backprop deltas."""

    x: list[float]
    y: float
    yhat: float
    delta2: float
    delta1: list[float]


def make_model(seed: int = 0) -> MLP:
    """The 2-2-1 network: sigmoid on the hidden layer and on the output."""
    return MLP(2, [2, 1], activation="sigmoid", output_activation="sigmoid", seed=seed)


def loss_of(model: MLP) -> tuple[Value, list[Value]]:
    """J = mean over the four points of 1/2 (yhat - y)^2, and the predictions yhat."""
    preds = [model(x)[0] for x in INPUTS]
    return 0.5 * mse_loss(preds, TARGETS), preds


def weights(model: MLP) -> tuple[Matrix, list[float], Matrix, list[float]]:
    """W1 (2x2), b1, W2 (1x2), b2 as plain floats, read from the dotted parameter names."""
    shapes = {0: ([[0.0, 0.0], [0.0, 0.0]], [0.0, 0.0]), 1: ([[0.0, 0.0]], [0.0])}
    for name, p in model.named_parameters():
        # Names look like layers.<layer>.neurons.<row>.w.<column> or layers.<layer>.neurons.<row>.b
        parts = name.split(".")
        layer, row, kind = int(parts[1]), int(parts[3]), parts[4]
        w, b = shapes[layer]
        if kind == "w":
            w[row][int(parts[5])] = p.data
        else:
            b[row] = p.data
    return shapes[0][0], shapes[0][1], shapes[1][0], shapes[1][1]


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def closed_form_gradients(model: MLP) -> tuple[dict[str, float], list[PointDeltas]]:
    """dJ/dp for every named parameter from the backprop equations, and each point's deltas.

    delta2 = (yhat - y) yhat (1 - yhat),   dJ/dW2 = delta2 a1^T,   dJ/db2 = delta2,
    delta1 = W2^T delta2 * a1 (1 - a1),    dJ/dW1 = delta1 x^T,    dJ/db1 = delta1,
    each averaged over the four points because J is their mean.
    """
    w1, b1, w2, b2 = weights(model)
    n = len(INPUTS)
    grads: dict[str, float] = {}

    def add(name: str, value: float) -> None:
        grads[name] = grads.get(name, 0.0) + value / n

    per_point: list[PointDeltas] = []
    for x, y in zip(INPUTS, TARGETS):
        a1 = [_sigmoid(sum(w * xi for w, xi in zip(row, x)) + b) for row, b in zip(w1, b1)]
        yhat = _sigmoid(sum(w * a for w, a in zip(w2[0], a1)) + b2[0])
        delta2 = (yhat - y) * yhat * (1.0 - yhat)
        delta1 = [w2[0][j] * delta2 * a1[j] * (1.0 - a1[j]) for j in range(2)]
        per_point.append(PointDeltas(x, y, yhat, delta2, delta1))
        for j in range(2):
            add(f"layers.1.neurons.0.w.{j}", delta2 * a1[j])
            add(f"layers.0.neurons.{j}.b", delta1[j])
            for k in range(2):
                add(f"layers.0.neurons.{j}.w.{k}", delta1[j] * x[k])
        add("layers.1.neurons.0.b", delta2)
    return grads, per_point


def _matrix_name(name: str) -> str:
    """layers.0.neurons.1.w.0 -> W1[1,0]; layers.1.neurons.0.b -> b2[0]."""
    parts = name.split(".")
    layer, row = int(parts[1]) + 1, parts[3]
    return f"W{layer}[{row},{parts[5]}]" if parts[4] == "w" else f"b{layer}[{row}]"


def print_first_step(model: MLP) -> float:
    """Print autograd's and the closed-form gradients of the first step; return the worst gap."""
    loss, _ = loss_of(model)
    loss.backward()
    closed, per_point = closed_form_gradients(model)
    print(f"First step: J = {loss.data:.6f}. The deltas of each point:")
    for point in per_point:
        d1 = ", ".join(f"{d:+.6f}" for d in point.delta1)
        print(f"  x = {point.x}  y = {point.y:.0f}  yhat = {point.yhat:.6f}"
              f"  delta2 = {point.delta2:+.6f}  delta1 = [{d1}]")
    print()
    print(f"  {'param':<9}{'name':<25}{'autograd':>16}{'closed form':>16}{'|diff|':>10}")
    worst = 0.0
    for name, p in model.named_parameters():
        diff = abs(p.grad - closed[name])
        worst = max(worst, diff)
        print(f"  {_matrix_name(name):<9}{name:<25}{p.grad:>+16.12f}{closed[name]:>+16.12f}"
              f"{diff:>10.1e}")
    print(f"  largest difference: {worst:.1e}"
          f"  ->  {'agree to 1e-12' if worst <= 1e-12 else 'DISAGREE'}\n")
    model.zero_grad()
    return worst


def train(model: MLP, steps: int, lr: float = LR) -> list[float]:
    """Full-batch gradient descent, W := W - lr dJ/dW; return the loss before each step."""
    optimizer = SGD(model.parameters(), lr=lr)
    losses = []
    bar = progress(range(steps), desc="xor", unit="step")
    for _ in bar:
        loss, _ = loss_of(model)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.data)
    return losses


def predictions(model: MLP) -> list[float]:
    """yhat for the four points, without building a graph."""
    with no_grad():
        return [model(x)[0].data for x in INPUTS]


def plot(losses: list[float], model: MLP, path: str, resolution: int = 41) -> None:
    """Loss curve (log scale) beside the function the network learned over the unit square."""
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    left.semilogy(range(1, len(losses) + 1), losses, color="tab:blue")
    left.set(title=r"loss $J$ = mean of $\frac{1}{2}(\hat{y} - y)^2$", xlabel="step",
             ylabel="J (log scale)")
    left.grid(True, which="both", alpha=0.3)
    grid = [i / (resolution - 1) * 1.6 - 0.3 for i in range(resolution)]
    with no_grad():
        surface = [[model([gx, gy])[0].data for gx in grid] for gy in grid]
    image = right.contourf(grid, grid, surface, levels=20, cmap="RdBu_r", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=right, label=r"$\hat{y}$")
    for (x1, x2), y in zip(INPUTS, TARGETS):
        right.scatter(x1, x2, s=120, c="tab:red" if y else "tab:blue", edgecolors="k")
    right.set(title=r"learned $\hat{y}(x_1, x_2)$; dots: targets", xlabel="$x_1$",
              ylabel="$x_2$", aspect="equal")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> Report:
    """Run the demo: check the first step's gradients by hand, then train XOR."""
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    steps = 20 if args.smoke else STEPS
    banner("xor: a 2-2-1 sigmoid network learns XOR by gradient descent", [
        "yhat = sigmoid(W2 a1 + b2),  a1 = sigmoid(W1 x + b1),  J = mean of 1/2 (yhat - y)^2.",
        f"Plain SGD on all four points: W := W - lr dJ/dW, lr = {LR}, {steps} steps.",
    ])
    report = Report(NAME)
    model = make_model(args.seed)
    worst = print_first_step(model)
    clock = Stopwatch()
    losses = train(model, steps)
    seconds = clock.seconds()
    yhat = predictions(model)
    correct = sum(round(p) == t for p, t in zip(yhat, TARGETS))
    print(f"After {steps} steps ({seconds:.2f} s): J = {losses[-1]:.6f}")
    for x, t, p in zip(INPUTS, TARGETS, yhat):
        print(f"  x = {x}  y = {t:.0f}  yhat = {p:.4f}  ->  {round(p)}")
    print(f"  accuracy: {correct}/4 = {correct / 4:.0%}\n")
    report.metrics.update(worst_difference=worst, final_loss=losses[-1],
                          accuracy=correct / 4, seconds=seconds)
    out = prepare_out(args.out)
    path = out / "xor_loss.png"
    plot(losses, model, str(path), resolution=11 if args.smoke else 41)
    wrote(report, path)
    return report


if __name__ == "__main__":
    main()
