"""The textbook chain: one neuron per layer, each gradient a product of local derivatives.

Input x, two hidden layers of one sigmoid neuron each, one sigmoid output, and the squared
error C = (a3 - y)**2 (MSE on one sample). The demo works out every dC/dw and dC/db by hand,
as the product of the local derivatives along the chain, and prints it beside autograd's.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence

from autograd import Value, topological_order
from demos._common import Report, banner, parse_args, prepare_out, wrote

NAME = "chain"
X, Y = 1.5, 1.0  # the one training sample
PARAMETERS = ("w1", "b1", "w2", "b2", "w3", "b3")


def initial_parameters(seed: int = 0) -> dict[str, float]:
    """Weights and biases drawn from seed, rounded to two decimals so they are easy to read."""
    rng = random.Random(seed)
    params = {}
    for layer in (1, 2, 3):
        # |w| >= 0.5: a tiny weight would make every gradient below it vanish from view.
        params[f"w{layer}"] = round(rng.choice((-1, 1)) * rng.uniform(0.5, 2.0), 2)
        params[f"b{layer}"] = round(rng.uniform(-1.0, 1.0), 2)
    return params


def build_graph(params: dict[str, float], x: float = X, y: float = Y) -> tuple[Value,
                                                                              dict[str, Value]]:
    """Return the cost C and the named leaves, built from Values with labels for the picture."""
    leaves = {name: Value(value, label=name) for name, value in params.items()}
    a = Value(x, label="x")
    for layer in (1, 2, 3):
        product = leaves[f"w{layer}"] * a
        product.label = f"w{layer}*{a.label}"
        z = product + leaves[f"b{layer}"]
        z.label = f"z{layer}"
        a = z.sigmoid()
        a.label = f"a{layer}"
    error = a - Value(y, label="y")
    error.label = "a3 - y"
    cost = error**2
    cost.label = "C"
    return cost, leaves


def layer_of(node: Value) -> str | None:
    """The box a node is drawn in: 'layer k' for w_k, b_k, w_k*a, z_k, a_k; 'cost' for C's part."""
    if node.label in ("y", "a3 - y", "C"):
        return "cost"
    match = re.match(r"[wbza](\d)", node.label)
    return f"layer {match.group(1)}" if match else None


def autograd_gradients(params: dict[str, float], x: float = X, y: float = Y) -> dict[str, float]:
    """dC/dp for every parameter p, from one backward() through the graph."""
    cost, leaves = build_graph(params, x, y)
    cost.backward()
    return {name: leaf.grad for name, leaf in leaves.items()}


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def local_derivatives(params: dict[str, float], x: float = X,
                      y: float = Y) -> dict[str, float]:
    """Every local derivative of the chain, by hand, keyed by its name ('da3/dz3', ...)."""
    a = {0: x}
    for layer in (1, 2, 3):
        a[layer] = _sigmoid(params[f"w{layer}"] * a[layer - 1] + params[f"b{layer}"])
    local = {"dC/da3": 2.0 * (a[3] - y)}
    # Listed from C back to the input, the order backward() visits them.
    for layer in (3, 2, 1):
        # sigmoid'(z) = a (1 - a); z = w a_prev + b, so dz/dw = a_prev, dz/db = 1, dz/da_prev = w.
        local[f"da{layer}/dz{layer}"] = a[layer] * (1.0 - a[layer])
        local[f"dz{layer}/dw{layer}"] = a[layer - 1]
        local[f"dz{layer}/db{layer}"] = 1.0
        if layer > 1:
            local[f"dz{layer}/da{layer - 1}"] = params[f"w{layer}"]
    return local


def chain_factors(parameter: str) -> list[str]:
    """The local derivatives whose product is dC/d parameter, from the parameter up to C."""
    kind, layer = parameter[0], int(parameter[1])
    factors = [f"dz{layer}/d{kind}{layer}", f"da{layer}/dz{layer}"]
    for above in range(layer + 1, 4):
        factors += [f"dz{above}/da{above - 1}", f"da{above}/dz{above}"]
    return factors + ["dC/da3"]


def hand_gradients(params: dict[str, float], x: float = X, y: float = Y) -> dict[str, float]:
    """dC/dp for every parameter p, as the product of the local derivatives along the chain."""
    local = local_derivatives(params, x, y)
    return {name: math.prod(local[f] for f in chain_factors(name)) for name in PARAMETERS}


def _formula(derivative: str) -> str:
    """The formula of a local derivative, worked out by hand: 'da2/dz2' -> 'a2 (1 - a2)'."""
    top, bottom = (part[1:] for part in derivative.split("/"))
    if top == "C":
        return "2 (a3 - y)"
    if top[0] == "a":
        return f"{top} (1 - {top})"
    layer = int(top[1])
    return {"w": f"a{layer - 1}" if layer > 1 else "x", "b": "1", "a": f"w{layer}"}[bottom[0]]


def _print_forward(cost: Value, leaves: dict[str, Value]) -> None:
    activations = {n.label: n for n in topological_order(cost) if n.label.startswith("a")}
    print(f"Forward pass on the sample x = {X}, y = {Y}:")
    print("  " + "  ".join(f"{name} = {leaf.data:+.2f}" for name, leaf in leaves.items()))
    print("  z = w a_prev + b,  a = sigmoid(z):  "
          + "  ".join(f"{n} = {v.data:.6f}" for n, v in activations.items()))
    print(f"  C = (a3 - y)^2 = {cost.data:.6f}")
    print()


def _print_chain(params: dict[str, float], by_hand: dict[str, float],
                 by_autograd: dict[str, float]) -> float:
    local = local_derivatives(params)
    print("Local derivatives, worked out by hand:")
    for name, value in local.items():
        print(f"  {name:>9} = {_formula(name):<12} = {value:+.6f}")
    print()
    print("Each gradient is the product of the local derivatives on the path from it to C:")
    worst = 0.0
    for name in PARAMETERS:
        factors = chain_factors(name)
        diff = abs(by_hand[name] - by_autograd[name])
        worst = max(worst, diff)
        print(f"  dC/d{name} = " + " * ".join(factors))
        print("         = " + " * ".join(f"({local[f]:+.4g})" for f in factors))
        print(f"         = {by_hand[name]:+.12f}   autograd: {by_autograd[name]:+.12f}"
              f"   |diff| = {diff:.1e}")
    print()
    return worst


def main(argv: Sequence[str] | None = None) -> Report:
    """Run the demo: print the chain rule along the chain and draw the graph."""
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    banner("chain: the chain rule along a chain of one-neuron layers", [
        "x -> [w1, b1] -> a1 -> [w2, b2] -> a2 -> [w3, b3] -> a3 = yhat,  every a = sigmoid(z).",
        "Each dC/dw and dC/db is computed twice: by hand, as a product of local derivatives,",
        "and by autograd's backward(). They must agree to 1e-12.",
    ])
    report = Report(NAME)
    params = initial_parameters(args.seed)
    cost, leaves = build_graph(params)
    cost.backward()
    by_autograd = {name: leaf.grad for name, leaf in leaves.items()}
    by_hand = hand_gradients(params)

    _print_forward(cost, leaves)
    worst = _print_chain(params, by_hand, by_autograd)
    agree = worst <= 1e-12
    print(f"Largest difference: {worst:.1e}  ->  "
          f"{'they agree to 1e-12' if agree else 'THEY DISAGREE'}\n")
    report.metrics.update(cost=cost.data, worst_difference=worst)

    from autograd.viz import render

    out = prepare_out(args.out)
    print("The graph, top to bottom, with the local derivative on each edge:")
    for suffix in (".svg", ".png"):
        wrote(report, render(cost, out / f"chain{suffix}", show_local_grads=True,
                                   clusters=layer_of, rankdir="TB"))
    if not agree:
        raise SystemExit("chain: hand and autograd gradients differ by more than 1e-12")
    return report


if __name__ == "__main__":
    main()
