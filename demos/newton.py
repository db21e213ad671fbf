"""Newton's method against gradient descent on Rosenbrock's curved valley, with the engine's
gradients and Hessians.

f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 has its minimum at (1, 1), at the end of a long, narrow,
curved valley. Gradient descent must take small steps (the valley's walls are steep) and then
crawls along its floor; Newton's method, x := x - H^-1 grad f, rescales every direction by the
curvature and gets there in a handful of steps. The Hessian H comes from differentiating the
gradient: grad(f, create_graph=True) returns the gradient as Values, and grad() of each of those
gives a row of H.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import autograd as ag
from autograd import Value
from demos._common import Report, Stopwatch, banner, parse_args, prepare_out, pyplot, wrote

NAME = "newton"
START = (-1.2, 1.0)  # Rosenbrock's own starting point (1960)
MINIMUM = (1.0, 1.0)
LR = 1e-3  # gradient descent: at 2e-3 it bounces between the valley's steep walls for good
TOLERANCE = 1e-6  # done when within this distance of the minimum
MAX_NEWTON = 50
MAX_GD = 100_000
SMOKE_GD = 2_000

Point = tuple[float, float]
Matrix = list[list[float]]


def rosenbrock(x: Value, y: Value) -> Value:
    """f(x, y) = (1 - x)^2 + 100 (y - x^2)^2, built from Values."""
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def gradient_and_hessian(p: Point) -> tuple[float, list[float], Matrix]:
    """f, its gradient and its Hessian at p, all from the engine.

    The gradient comes back as Values in a graph of their own (create_graph=True); grad() of
    each component is one row of the Hessian.
    """
    x, y = Value(p[0], label="x"), Value(p[1], label="y")
    f = rosenbrock(x, y)
    gx, gy = ag.grad(f, [x, y], create_graph=True)
    return f.data, [gx.data, gy.data], [ag.grad(gx, [x, y]), ag.grad(gy, [x, y])]


def hessian_by_hand(p: Point) -> Matrix:
    """Rosenbrock's Hessian from the formula: [[2 - 400 (y - 3x^2), -400x], [-400x, 200]]."""
    x, y = p
    return [[2.0 - 400.0 * (y - 3.0 * x * x), -400.0 * x], [-400.0 * x, 200.0]]


def hessian_by_differences(p: Point, eps: float = 1e-6) -> Matrix:
    """Central differences of the engine's first derivative: column j moves coordinate j."""
    def gradient(q: Sequence[float]) -> list[float]:
        x, y = Value(q[0]), Value(q[1])
        return ag.grad(rosenbrock(x, y), [x, y])

    columns = []
    for j in range(2):
        up, down = list(p), list(p)
        up[j] += eps
        down[j] -= eps
        columns.append([(a - b) / (2 * eps) for a, b in zip(gradient(up), gradient(down))])
    return [[columns[j][i] for j in range(2)] for i in range(2)]


@dataclass
class Path:
    """Where a method went: every point from the start, f there, and whether it converged."""

    points: list[Point]
    values: list[float]
    converged: bool

    @property
    def steps(self) -> int:
        return len(self.points) - 1


def _distance(p: Point) -> float:
    return math.hypot(p[0] - MINIMUM[0], p[1] - MINIMUM[1])


def newton(start: Point = START, max_steps: int = MAX_NEWTON) -> Path:
    """Pure Newton steps, p := p - H^-1 grad f (a 2x2 solve by Cramer's rule).

    No line search: a step may go uphill (the second does, to f = 1412) on its way.
    """
    points, values = [start], []
    p = start
    for _ in range(max_steps + 1):
        f, g, h = gradient_and_hessian(p)
        values.append(f)
        if _distance(p) < TOLERANCE or len(points) > max_steps:
            break
        det = h[0][0] * h[1][1] - h[0][1] * h[1][0]
        dx = (h[1][1] * g[0] - h[0][1] * g[1]) / det
        dy = (h[0][0] * g[1] - h[1][0] * g[0]) / det
        p = (p[0] - dx, p[1] - dy)
        points.append(p)
    return Path(points, values, _distance(p) < TOLERANCE)


def gradient_descent(start: Point = START, lr: float = LR, max_steps: int = MAX_GD) -> Path:
    """Plain gradient descent, p := p - lr grad f, with the engine's float gradient."""
    points, values = [start], []
    p = start
    while True:
        x, y = Value(p[0]), Value(p[1])
        f = rosenbrock(x, y)
        values.append(f.data)
        if _distance(p) < TOLERANCE or len(points) > max_steps:
            break
        gx, gy = ag.grad(f, [x, y])
        p = (p[0] - lr * gx, p[1] - lr * gy)
        points.append(p)
    return Path(points, values, _distance(p) < TOLERANCE)


def print_hessian_check(p: Point) -> float:
    """Print the Hessian at p three ways; return the largest gap of the engine's to the others."""
    _, _, engine = gradient_and_hessian(p)
    hand, numeric = hessian_by_hand(p), hessian_by_differences(p)
    print(f"The Hessian at the start {p}:")
    print(f"  {'entry':<10}{'engine':>18}{'by hand':>18}{'finite diff.':>18}")
    worst = 0.0
    for i in range(2):
        for j in range(2):
            worst = max(worst, abs(engine[i][j] - hand[i][j]),
                        abs(engine[i][j] - numeric[i][j]) / max(1.0, abs(numeric[i][j])))
            print(f"  {f'H[{i}][{j}]':<10}{engine[i][j]:>18.10f}{hand[i][j]:>18.10f}"
                  f"{numeric[i][j]:>18.10f}")
    verdict = "agree" if worst < 1e-6 else "DISAGREE"
    print(f"  largest gap (relative to finite differences): {worst:.1e}  ->  {verdict}\n")
    return worst


def plot(newton_path: Path, gd_path: Path, path: str, resolution: int = 200) -> None:
    """Paths over the contours of log10 f, beside f after each step for both methods."""
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4))
    xs = [-2.0 + 4.0 * i / (resolution - 1) for i in range(resolution)]
    ys = [-3.5 + 6.5 * i / (resolution - 1) for i in range(resolution)]
    levels = [[math.log10((1 - x) ** 2 + 100 * (y - x * x) ** 2 + 1e-12) for x in xs] for y in ys]
    image = left.contourf(xs, ys, levels, levels=30, cmap="viridis")
    fig.colorbar(image, ax=left, label=r"$\log_{10} f$")
    every = max(1, gd_path.steps // 400)  # enough points to draw the curve
    gd = gd_path.points[::every] + [gd_path.points[-1]]
    left.plot([p[0] for p in gd], [p[1] for p in gd], color="tab:orange", lw=1.5,
              label=f"gradient descent, lr = {LR:g}: {gd_path.steps:,} steps")
    left.plot([p[0] for p in newton_path.points], [p[1] for p in newton_path.points], "o-",
              color="white", mec="k", lw=1.5, ms=5,
              label=f"Newton: {newton_path.steps} steps")
    left.plot(*START, "s", color="tab:red", ms=7)
    left.plot(*MINIMUM, "*", color="gold", mec="k", ms=14)
    left.set(xlim=(-2.0, 2.0), ylim=(-3.5, 3.0), xlabel="$x$", ylabel="$y$",
             title=r"Rosenbrock: $f = (1 - x)^2 + 100\,(y - x^2)^2$")
    left.legend(loc="upper center", fontsize=8)
    for method, color in ((gd_path, "tab:orange"), (newton_path, "k")):
        right.semilogy(range(len(method.values)), [max(v, 1e-30) for v in method.values],
                       color=color, marker="o" if method is newton_path else None, ms=4)
    right.set(xscale="symlog", xlabel="step (log scale after 1)", ylabel="f (log scale)",
              title="f after each step")
    right.legend(["gradient descent", "Newton"], fontsize=8)
    right.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> Report:
    """Run the demo: check the Hessian at the start, then race Newton against gradient descent."""
    # The whole first sentence for --help: its first line stops mid-sentence.
    args = parse_args(NAME, " ".join(__doc__.split("\n\n")[0].split()), argv)
    max_gd = SMOKE_GD if args.smoke else MAX_GD
    banner("newton: Newton's method against gradient descent on Rosenbrock's valley", [
        "f(x, y) = (1 - x)^2 + 100 (y - x^2)^2, from (-1.2, 1) to the minimum at (1, 1).",
        "Newton: p := p - H^-1 grad f, with H = grad of grad(f, create_graph=True).",
        f"Gradient descent: p := p - lr grad f, lr = {LR:g}, at most {max_gd:,} steps.",
        f"Done when within {TOLERANCE:g} of (1, 1).",
    ])
    report = Report(NAME)
    worst = print_hessian_check(START)
    clock = Stopwatch()
    newton_path = newton()
    newton_seconds = clock.seconds()
    clock = Stopwatch()
    gd_path = gradient_descent(max_steps=max_gd)
    gd_seconds = clock.seconds()
    for title, path, seconds in (("Newton", newton_path, newton_seconds),
                                 ("gradient descent", gd_path, gd_seconds)):
        end = path.points[-1]
        state = "reached (1, 1)" if path.converged else "stopped short"
        print(f"{title}: {path.steps:,} steps ({seconds:.2f} s), {state}: "
              f"({end[0]:.8f}, {end[1]:.8f}), f = {path.values[-1]:.3e}")
    print("\nNewton's path:")
    for k, (p, f) in enumerate(zip(newton_path.points, newton_path.values)):
        print(f"  step {k}: ({p[0]:+.8f}, {p[1]:+.8f})  f = {f:.3e}")
    print()
    report.metrics.update(hessian_worst_difference=worst, newton_steps=newton_path.steps,
                          gd_steps=gd_path.steps, newton_converged=float(newton_path.converged),
                          gd_converged=float(gd_path.converged))
    out = prepare_out(args.out)
    picture = out / "newton_paths.png"
    plot(newton_path, gd_path, str(picture), resolution=40 if args.smoke else 200)
    wrote(report, picture)

    from autograd.viz import render

    x, y = Value(START[0], label="x"), Value(START[1], label="y")
    surface = rosenbrock(x, y)
    surface.label = "f"
    gx, _ = ag.grad(surface, [x, y], create_graph=True)
    wrote(report, render(gx, out / "newton_gradient.svg", show_grad=False))
    return report


if __name__ == "__main__":
    main()
