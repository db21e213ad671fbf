"""Forward mode against reverse mode: why neural networks are trained with the backward pass.

The textbook's two passes: the forward pass computes the network's values (here it also stores
each node's local derivatives), and the backward pass sweeps once from the loss down to the
inputs, giving d loss / d parameter for every parameter at once. That backward sweep is reverse
mode. Forward mode sweeps the other way, from the inputs up: one sweep pushes one direction of
change through the graph and gives d output / d (that one input) for every output. A loss has
one output and, here, 337 inputs (the parameters): one reverse sweep against 337 forward sweeps.
A function with many outputs and few inputs is the other way round.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import autograd as ag
from autograd import Value
from demos._common import Report, Stopwatch, banner, parse_args, prepare_out, pyplot, wrote
from demos.moons import load_data, loss_and_accuracy, make_model

NAME = "modes"
POINTS = 100  # the moons demo's data set
CURVE_POINTS = 400  # outputs of the many-outputs function
SIZES = (1, 2, 4, 8, 16, 32, 64)  # inputs (or outputs) in the cost plot
SMOKE_SIZES = (1, 4, 16)


@dataclass
class Timing:
    """What one Jacobian computation cost: the sweeps it took and the seconds."""

    sweeps: int
    seconds: float


def best_of(repeats: int, run: Callable[[], object]) -> float:
    """The fastest of repeats runs of run(), in seconds: the machine is shared and noisy."""
    best = math.inf
    for _ in range(repeats):
        clock = Stopwatch()
        run()
        best = min(best, clock.seconds())
    return best


def moons_gradients(points: int, seed: int, repeats: int) -> dict[str, float]:
    """d loss / d parameter for the moons MLP both ways; print and return the timings."""
    xs, ys = load_data(points, seed=seed)
    model = make_model(seed)
    params = model.parameters()
    loss, _ = loss_and_accuracy(model, xs, ys)
    nodes = len(ag.topological_order(loss))
    print(f"The moons MLP's loss on {points} points: {len(params)} parameters, a graph of "
          f"{nodes:,} nodes, recorded once by the forward pass.")
    reverse = ag.grad(loss, params)  # one reverse sweep: the backward pass
    [forward] = ag.jacobian(loss, params, mode="forward")  # one forward sweep per parameter
    gap = max(abs(f - r) / max(1.0, abs(r)) for f, r in zip(forward, reverse))
    reverse_seconds = best_of(repeats, lambda: ag.grad(loss, params))
    forward_seconds = best_of(max(1, repeats // 3),
                              lambda: ag.jacobian(loss, params, mode="forward"))
    one_jvp = best_of(repeats, lambda: ag.jvp(loss, params[:1], [1.0]))
    one_vjp = best_of(repeats, lambda: ag.vjp(loss, params, 1.0))
    print(f"  reverse mode: 1 sweep ({'grad'}) gives all {len(params)} derivatives: "
          f"{1000 * reverse_seconds:8.1f} ms")
    print(f"  forward mode: {len(params)} sweeps (jacobian, mode='forward'), one per parameter: "
          f"{1000 * forward_seconds:8.1f} ms  ({forward_seconds / reverse_seconds:.0f}x)")
    print(f"  the same gradient: largest difference {gap:.1e} (relative)  ->  "
          f"{'agree to 1e-12' if gap < 1e-12 else 'DISAGREE'}")
    print(f"  one sweep alone, each with its walk of the graph: jvp {1000 * one_jvp:.1f} ms, "
          f"vjp {1000 * one_vjp:.1f} ms\n")
    return {"parameters": float(len(params)), "nodes": float(nodes),
            "reverse_seconds": reverse_seconds, "forward_seconds": forward_seconds,
            "gradient_gap": gap, "jvp_seconds": one_jvp, "vjp_seconds": one_vjp}


def curve(a: Value, b: Value, outputs: int) -> list[Value]:
    """Many outputs, two inputs: a damped wave at `outputs` points, y_k = e**(-a t) sin(b t)."""
    ts = [4.0 * k / outputs for k in range(outputs)]
    return [(-a * t).exp() * (b * t).sin() for t in ts]


def many_outputs(outputs: int, repeats: int) -> dict[str, float]:
    """The Jacobian of a 2-input, many-output function both ways; print and return timings."""
    a, b = Value(0.5, label="a"), Value(3.0, label="b")
    ys = curve(a, b, outputs)
    forward = ag.jacobian(ys, [a, b], mode="forward")
    reverse = ag.jacobian(ys, [a, b])
    gap = max(abs(f - r) / max(1.0, abs(r))
              for fr, rr in zip(forward, reverse) for f, r in zip(fr, rr))
    forward_seconds = best_of(repeats, lambda: ag.jacobian(ys, [a, b], mode="forward"))
    reverse_seconds = best_of(max(1, repeats // 3), lambda: ag.jacobian(ys, [a, b]))
    print(f"A damped wave y_k = e^(-a t_k) sin(b t_k) at {outputs} points: 2 inputs, "
          f"{outputs} outputs.")
    print(f"  forward mode: 2 sweeps, one per input:         {1000 * forward_seconds:8.1f} ms")
    print(f"  reverse mode: {outputs} sweeps, one per output:      "
          f"{1000 * reverse_seconds:8.1f} ms  ({reverse_seconds / forward_seconds:.0f}x)")
    print(f"  the same {outputs} x 2 Jacobian: largest difference {gap:.1e}\n")
    return {"curve_outputs": float(outputs), "curve_forward_seconds": forward_seconds,
            "curve_reverse_seconds": reverse_seconds, "curve_gap": gap}


def mixer(inputs: int, outputs: int, width: int = 24, depth: int = 3) -> tuple[list[Value],
                                                                               list[Value]]:
    """A small tanh network from `inputs` numbers to `outputs` numbers (fixed weights)."""
    xs = [Value(0.1 * (j + 1) - 0.3) for j in range(inputs)]
    h: list[Value] = xs
    sizes = [width] * depth + [outputs]
    for layer, size in enumerate(sizes):
        rows = [[math.sin(1.0 + 7.0 * layer + 3.0 * i + 0.5 * j) / math.sqrt(len(h))
                 for j in range(len(h))] for i in range(size)]
        h = [ag.dot(row, h).tanh() for row in rows]
    return xs, h


def cost_curves(sizes: Sequence[int], repeats: int) -> dict[str, list[Timing]]:
    """Each mode's cost for n inputs and 1 output, and for 1 input and n outputs."""
    curves: dict[str, list[Timing]] = {key: [] for key in
                                       ("inputs forward", "inputs reverse",
                                        "outputs forward", "outputs reverse")}
    for n in sizes:
        for axis, (nin, nout) in (("inputs", (n, 1)), ("outputs", (1, n))):
            xs, ys = mixer(nin, nout)
            for mode in ("forward", "reverse"):
                seconds = best_of(repeats, functools.partial(ag.jacobian, ys, xs, mode=mode))
                sweeps = nin if mode == "forward" else nout
                curves[f"{axis} {mode}"].append(Timing(sweeps, seconds))
    return curves


def plot(sizes: Sequence[int], curves: dict[str, list[Timing]], path: str) -> None:
    """Two panels: the time of a full Jacobian against the number of inputs, then of outputs."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, axis, other in ((axes[0], "inputs", "1 output (a loss)"),
                            (axes[1], "outputs", "1 input")):
        for mode, color in (("reverse", "tab:blue"), ("forward", "tab:orange")):
            seconds = [1000 * t.seconds for t in curves[f"{axis} {mode}"]]
            sweeps = "one per output" if mode == "reverse" else "one per input"
            ax.plot(sizes, seconds, "o-", color=color, label=f"{mode} mode ({sweeps})")
        ax.set(xscale="log", yscale="log", xlabel=f"number of {axis}",
               title=f"Jacobian of a tanh network: {other}")
        ax.set_xticks(list(sizes), [str(n) for n in sizes])
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("time for the whole Jacobian (ms)")
    fig.suptitle("Reverse mode costs a sweep per output, forward mode a sweep per input",
                 fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> Report:
    """Run the demo: time both modes on the moons loss and on a many-output curve; plot."""
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    points, outputs, sizes, repeats = ((20, 60, SMOKE_SIZES, 1) if args.smoke
                                       else (POINTS, CURVE_POINTS, SIZES, 5))
    banner("modes: forward mode against reverse mode", [
        "Both sweep the graph the forward pass recorded, with the local derivatives it stored.",
        "Reverse mode (the backward pass): from one output down, d output / d every input.",
        "Forward mode: from one input up, d every output / d that input.",
    ])
    report = Report(NAME)
    report.metrics.update(moons_gradients(points, args.seed, repeats))
    report.metrics.update(many_outputs(outputs, repeats))
    curves = cost_curves(sizes, repeats)
    print("The Jacobian of a tanh network (width 24, depth 3), in ms:")
    print(f"  {'n':>4}{'n inputs, 1 output':>26}{'1 input, n outputs':>26}")
    print(f"  {'':>4}{'forward':>13}{'reverse':>13}{'forward':>13}{'reverse':>13}")
    for k, n in enumerate(sizes):
        cells = [1000 * curves[key][k].seconds for key in
                 ("inputs forward", "inputs reverse", "outputs forward", "outputs reverse")]
        print(f"  {n:>4}" + "".join(f"{c:>13.2f}" for c in cells))
    print("\nWhy networks train in reverse mode: a loss is one number of many parameters, so")
    print("the backward pass gets every derivative for the price of about one pass over the")
    print("graph, where forward mode would pay one pass per parameter (337 here, millions in a")
    print("large model). Forward mode wins the other way: few inputs, many outputs.\n")
    out = prepare_out(args.out)
    picture = out / "modes_cost.png"
    plot(sizes, curves, str(picture))
    wrote(report, picture)
    return report


if __name__ == "__main__":
    main()
