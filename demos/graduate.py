"""Graduate to PyTorch: train the digits MLP here, hand model and Adam to torch, carry on there.

A few epochs here, then the same number in PyTorch on mini-batch tensors, side by side with
the same epochs continued here: the two loss curves are one curve, and PyTorch runs the
batched epochs much faster. Then the trained torch model comes back (MLP.from_torch) and one
sample's graph is drawn. Needs torch (pip install torch==2.13.0); without it, says so and stops.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from demos import digits
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
from nn import MLP, Adam, batches, cross_entropy

if TYPE_CHECKING:
    import torch

NAME = "graduate"
EPOCHS = 3  # here before the hand-over, and again after it (in torch, and here to compare)
BATCH_SIZE = digits.BATCH_SIZE

Images = list[list[float]]


def epoch_order(n: int, seed: int, epoch: int) -> list[list[int]]:
    """The mini-batches of one epoch; both engines take exactly these, in this order."""
    return list(batches(n, BATCH_SIZE, shuffle=True, seed=seed * 1000 + epoch))


def epoch_here(model: MLP, optimizer: Adam, images: Images, labels: list[int],
               order: list[list[int]], desc: str) -> list[float]:
    """One epoch of Adam steps in chainrule; the loss of each mini-batch."""
    losses = []
    for batch in progress(order, desc=desc, unit="batch"):
        loss = cross_entropy(model.forward_batch([images[i] for i in batch]),
                             [labels[i] for i in batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.data)
    return losses


def epoch_torch(module: torch.nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor,
                y: torch.Tensor, order: list[list[int]]) -> list[float]:
    """The same epoch in PyTorch, each mini-batch one (batch, 64) tensor; the batch losses."""
    import torch

    losses = []
    for batch in order:
        index = torch.tensor(batch)
        loss = torch.nn.functional.cross_entropy(module(x[index]), y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run the block with torch on one thread, then give torch back its thread count."""
    import torch

    # A 32 x 64 batch is too small to split, and on a busy machine torch's threads wait for
    # each other longer than they compute: on this project's 2 cores, 10x slower than one.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def mean(values: Sequence[float]) -> float:
    """The average of values."""
    return sum(values) / len(values)


def plot(before: list[list[float]], here: list[list[float]], there: list[list[float]],
         seconds_here: list[float], seconds_there: list[float], path: str) -> None:
    """Left: loss per mini-batch, both continuations over each other. Right: seconds per epoch."""
    plt = pyplot()
    fig, (curve, bars) = plt.subplots(1, 2, figsize=(10.5, 4.0),
                                      gridspec_kw={"width_ratios": [2.2, 1]})
    first = [x for epoch in before for x in epoch]
    after_here = [x for epoch in here for x in epoch]
    after_there = [x for epoch in there for x in epoch]
    handover = len(first)
    steps_after = range(handover + 1, handover + len(after_here) + 1)
    curve.plot(range(1, handover + 1), first, color="tab:blue", lw=1.2,
               label="chainrule (before the hand-over)")
    curve.plot(steps_after, after_here, color="tab:blue", lw=3.5, alpha=0.35,
               label="chainrule, continued")
    curve.plot(steps_after, after_there, color="tab:orange", lw=1.2, ls="--",
               label="PyTorch, continued from the hand-over")
    curve.axvline(handover + 0.5, color="gray", ls=":", lw=1)
    curve.text(handover + 1, max(first) * 0.95, " hand-over:\n model + Adam state",
               color="gray", fontsize=8, va="top")
    worst = max(abs(a - b) for a, b in zip(after_here, after_there))
    curve.set(title=f"loss per mini-batch (largest gap after hand-over: {worst:.1e})",
              xlabel="Adam step", ylabel="cross-entropy", yscale="log")
    curve.legend(fontsize=8)
    epochs = range(1, len(seconds_here) + 1)
    width = 0.38
    for shift, seconds, color, name in ((-width / 2, seconds_here, "tab:blue", "chainrule"),
                                        (width / 2, seconds_there, "tab:orange", "PyTorch")):
        drawn = bars.bar([e + shift for e in epochs], seconds, width, color=color, label=name)
        # PyTorch's bars are a sliver beside chainrule's: the numbers say what the eye cannot.
        bars.bar_label(drawn, labels=[f"{t:.2f}" if t >= 0.1 else f"{t:.3f}" for t in seconds],
                       fontsize=7)
    speedup = sum(seconds_here) / sum(seconds_there)
    bars.set(title=f"seconds per epoch\n(PyTorch {speedup:.0f}x faster)",
             xlabel="epoch after the hand-over", ylabel="seconds", xticks=list(epochs))
    bars.margins(y=0.3)
    bars.legend(fontsize=8, loc="upper center", ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> Report:
    """Run the demo: train here, continue in PyTorch and here, compare, then come back."""
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    report = Report(NAME)
    if importlib.util.find_spec("torch") is None:
        print("graduate: this demo hands the model to PyTorch, which is not installed.\n"
              "  Install it with: pip install torch==2.13.0   (or pip install -e \".[torch]\")\n"
              "  Skipping the demo.")
        report.metrics["skipped"] = 1.0
        return report
    import torch

    x_train, y_train, x_test, y_test = digits.load_data()
    epochs = EPOCHS
    if args.smoke:
        x_train, y_train, epochs = x_train[:96], y_train[:96], 1
    banner("graduate: carry on training in PyTorch, exactly where chainrule left off", [
        f"MLP(64, [{digits.HIDDEN}, 10]) on {len(x_train)} digits, Adam (lr {digits.LR}), "
        f"mini-batches of {BATCH_SIZE}, seed {args.seed}.",
        f"{epochs} epoch(s) here, then model.to_torch() and optimizer.to_torch(module): "
        f"{epochs} more in PyTorch,",
        "and, to compare, the same epochs continued here on the same mini-batches.",
    ])
    model = digits.make_model(args.seed)
    optimizer = digits.make_optimizer(model)
    before = []
    for epoch in range(epochs):
        order = epoch_order(len(x_train), args.seed, epoch)
        before.append(epoch_here(model, optimizer, x_train, y_train, order,
                                 desc=f"here, epoch {epoch + 1}"))

    module = model.to_torch()
    torch_optimizer = optimizer.to_torch(module)
    x = torch.tensor(x_train, dtype=torch.float64)
    y = torch.tensor(y_train)
    here, there, seconds_here, seconds_there = [], [], [], []
    for epoch in range(epochs, 2 * epochs):
        order = epoch_order(len(x_train), args.seed, epoch)
        clock = Stopwatch()
        with one_torch_thread():
            there.append(epoch_torch(module, torch_optimizer, x, y, order))
        seconds_there.append(clock.seconds())
        clock = Stopwatch()
        here.append(epoch_here(model, optimizer, x_train, y_train, order,
                               desc=f"here, epoch {epoch + 1}"))
        seconds_here.append(clock.seconds())

    print(f"  {'epoch':>5}  {'chainrule loss':>15}{'PyTorch loss':>15}{'|difference|':>14}"
          f"{'chainrule s':>13}{'PyTorch s':>11}")
    for epoch, losses in enumerate(before, 1):
        print(f"  {epoch:>5}  {mean(losses):>15.10f}{'-':>15}{'-':>14}{'':>13}{'':>11}")
    for k, (ours, theirs) in enumerate(zip(here, there)):
        print(f"  {epochs + k + 1:>5}  {mean(ours):>15.10f}{mean(theirs):>15.10f}"
              f"{abs(mean(ours) - mean(theirs)):>14.1e}{seconds_here[k]:>13.3f}"
              f"{seconds_there[k]:>11.3f}")
    gap = max(abs(a - b) for ours, theirs in zip(here, there) for a, b in zip(ours, theirs))
    drift = max(abs(p.data - q) for p, q in zip(model.parameters(), _flat(module)))
    speedup = sum(seconds_here) / sum(seconds_there)
    print(f"\nAfter the hand-over: largest gap between the two engines' batch losses {gap:.1e},"
          f" between their parameters {drift:.1e}.")
    print(f"PyTorch ran the {epochs} batched epoch(s) {speedup:.0f}x faster "
          f"({sum(seconds_there):.3f} s against {sum(seconds_here):.2f} s).\n")

    # Back again: the PyTorch-trained model, inside chainrule, one test digit's loss graph.
    back = MLP.from_torch(module)
    same = [p.data for p in back.parameters()] == _flat(module)
    label = y_test[0]
    loss = cross_entropy([back(x_test[0])], [label])
    loss.backward()
    print(f"MLP.from_torch(module): {back!r}, parameters identical to the module's: {same}.")
    print(f"One test digit (a {label}) through it: loss {loss.data:.4f}.")

    report.metrics.update({"loss_gap": gap, "parameter_gap": drift, "speedup": speedup,
                           "final_loss": mean(there[-1]), "round_trip_exact": float(same)})
    out = prepare_out(args.out)
    curves = out / "graduate.png"
    plot(before, here, there, seconds_here, seconds_there, str(curves))
    wrote(report, curves)
    from autograd.viz import render

    # The 64 x 32 layer folds into one box, and so does every output neuron but the true
    # digit's, which opens up to show its weights with their gradients.
    folded = ("layers.0", *(f"layers.1.neurons.{k}" for k in range(10) if k != label))
    wrote(report, render(loss, out / "graduate_graph.svg", collapse=folded, color_by_grad=True))
    return report


def _flat(module: torch.nn.Module) -> list[float]:
    """The module's Linear parameters in chainrule's order (see nn.interop)."""
    import torch

    numbers: list[float] = []
    for layer in module.modules():
        if isinstance(layer, torch.nn.Linear):
            for row, b in zip(layer.weight.tolist(), layer.bias.tolist()):
                numbers.extend([*row, b])
    return numbers


if __name__ == "__main__":
    main()
