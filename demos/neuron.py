"""One neuron, forward and backward: o = tanh(x1 w1 + x2 w2 + b), drawn and stepped through.

Writes the graph as SVG and PNG (data, grad and the local derivative on each edge), and an
HTML page that replays the backward pass one node at a time in the browser.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from autograd import Value
from demos._common import Report, banner, parse_args, prepare_out, wrote

NAME = "neuron"


def build_neuron(seed: int = 0) -> tuple[Value, dict[str, Value]]:
    """Return the output o of a 2-input tanh neuron and its labelled leaves, drawn from seed."""
    rng = random.Random(seed)
    names = ("x1", "x2", "w1", "w2", "b")
    while True:
        # One decimal and |v| >= 0.3: no confusing 0.0 in the picture. Redraw until |n| < 1,
        # where tanh is not flat and the gradients are large enough to see.
        v = {name: round(rng.choice((-1, 1)) * rng.uniform(0.3, 2.0), 1) for name in names}
        if abs(v["x1"] * v["w1"] + v["x2"] * v["w2"] + v["b"]) < 1.0:
            break
    leaves = {name: Value(v[name], label=name) for name in names}
    x1w1 = leaves["x1"] * leaves["w1"]
    x1w1.label = "x1*w1"
    x2w2 = leaves["x2"] * leaves["w2"]
    x2w2.label = "x2*w2"
    products = x1w1 + x2w2
    products.label = "x1*w1 + x2*w2"
    n = products + leaves["b"]
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o, leaves


def hand_gradients(o: Value, leaves: dict[str, Value]) -> dict[str, tuple[str, float]]:
    """do/d leaf for each leaf, by hand: (the formula, its value), with do/dn = 1 - o^2."""
    dn = 1.0 - o.data**2
    v = {name: leaf.data for name, leaf in leaves.items()}
    return {
        "x1": ("w1 (1 - o^2)", v["w1"] * dn),
        "x2": ("w2 (1 - o^2)", v["w2"] * dn),
        "w1": ("x1 (1 - o^2)", v["x1"] * dn),
        "w2": ("x2 (1 - o^2)", v["x2"] * dn),
        "b": ("1 - o^2", dn),
    }


def main(argv: Sequence[str] | None = None) -> Report:
    """Run the demo: one neuron's forward and backward pass, printed, drawn and animated."""
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    banner("neuron: one tanh neuron, forward and backward", [
        "o = tanh(n),  n = x1*w1 + x2*w2 + b.",
        "backward() fills each .grad with do/d(node); the hand formulas use do/dn = 1 - o^2.",
    ])
    report = Report(NAME)
    o, leaves = build_neuron(args.seed)
    print("Forward:")
    print("  " + "  ".join(f"{name} = {leaf.data:+.1f}" for name, leaf in leaves.items()))
    n = o.children[0]
    print(f"  n = {n.data:+.6f}   o = tanh(n) = {o.data:+.6f}")
    print()

    o.backward()
    print("Backward (do/d leaf):")
    print(f"  {'leaf':<5}{'autograd':>14}   {'by hand':<14}{'':>12}")
    worst = 0.0
    for name, (formula, value) in hand_gradients(o, leaves).items():
        grad = leaves[name].grad
        worst = max(worst, abs(grad - value))
        print(f"  {name:<5}{grad:>+14.10f}   {formula:<14}{value:>+14.10f}")
    print(f"  largest difference: {worst:.1e}")
    print()
    report.metrics.update(o=o.data, worst_difference=worst)

    from autograd.explorer import explore, render_backward
    from autograd.viz import render

    out = prepare_out(args.out)
    print("Pictures:")
    for suffix in (".svg", ".png"):
        wrote(report, render(o, out / f"neuron{suffix}", show_local_grads=True))
    frames = render_backward(o, out / "frames")
    report.files.extend(frames)
    print(f"  wrote {len(frames)} SVG frames of the backward pass in {out / 'frames'}")
    wrote(report, explore(o, out / "neuron_backward.html"))
    print("\nOpen the .html file in a browser and press the right arrow to step backward.")
    return report


if __name__ == "__main__":
    main()
