"""The training workloads: mlp_step (two moons) and digits_epoch, every engine from the same
weights, and the whole digits demo."""

from __future__ import annotations

import contextlib
import gc
import io
import math
import tempfile
from collections.abc import Callable
from types import ModuleType

from . import chainrule_impl as ours
from . import data, floor
from .timing import Phases, clock, fresh, timed
from .workloads import Row, Settings, back_to_back, round_robin, scaled

ALPHA = 1e-4  # the L2 weight of mlp_step's loss
LR = 0.1  # mlp_step's SGD learning rate
CALL_ALONE = "native call alone"  # timed with mlp_step's engines, reported in a note
LISTS = "native, lists"  # the native step given the lists at every step, not an ag.Batch: a note


# ---- mlp_step -----------------------------------------------------------------------------


def layers_of(model: object) -> floor.Network:
    """An nn.MLP's parameters as the floor's plain-float network."""
    return [([[w.data for w in neuron.w] for neuron in layer.neurons],
             [neuron.b.data for neuron in layer.neurons])
            for layer in model.layers]  # type: ignore[attr-defined]


def mlp_step(s: Settings, mg: ModuleType | None, torch: ModuleType | None) -> list[Row]:
    """ms per step of micrograd's two-moons training, every engine from the same weights."""
    xs, ys = data.two_moons()
    mine = ours.MoonsStep(xs, ys, LR, ALPHA)
    start = layers_of(mine.model)
    steppers: dict[str, Callable[[], float]] = {ours.NAME: mine.step}
    if mg:
        theirs = mg.MoonsStep(xs, ys, LR, ALPHA)
        for p, v in zip(theirs.model.parameters(), floor.flat(start)):
            p.data = v  # the same starting weights as everyone else
        steppers[mg.NAME] = theirs.step
    if torch:
        steppers[torch.NAME] = torch.MoonsStep(start, xs, ys, LR, ALPHA).step
    steppers[ours.COMPILED] = ours.CompiledMoonsStep(xs, ys, LR, ALPHA).step
    skipped: list[str] = []
    native = None
    why_not_native = ours.native_missing()
    if why_not_native is None:
        native = ours.CompiledMoonsStep(xs, ys, LR, ALPHA, backend="native")
        steppers[ours.NATIVE] = native.step
    else:
        skipped.append(f"native skipped: {why_not_native}")
    try:
        from . import numpy_impl
    except ImportError as error:
        skipped.append(f"numpy skipped: not installed ({error})")
    else:
        steppers[numpy_impl.NAME] = numpy_impl.MoonsStep(start, xs, ys, LR, ALPHA).step
    net = [([list(w) for w in weights], list(biases)) for weights, biases in start]
    steppers["floor"] = lambda: floor.mlp_step(net, xs, ys, LR, ALPHA)
    tuned = [([list(w) for w in weights], list(biases)) for weights, biases in start]
    steppers["tuned"] = lambda: floor.mlp_step(tuned, xs, ys, LR, ALPHA, tuned=True)

    losses: dict[str, float] = {}

    steps: dict[str, int] = {}

    def size_block(name: str) -> None:
        # Fast engines run more steps a block, so that every engine's block lasts about as
        # long (mlp_seconds, or micrograd's mlp_block steps): this shared machine has slow
        # moments of a tenth of a second, which a long block averages out and a 20 ms one
        # catches whole; blocks of equal length let them weigh alike on every engine.
        begin = clock()
        steppers[name]()
        steps[name] = max(s.mlp_block, math.ceil(s.mlp_seconds / max(clock() - begin, 1e-6)))

    def task(name: str) -> Callable[[], Phases]:
        def run() -> Phases:
            # A block of steps in a row, as a training loop runs them, then one collection:
            # each step pays for freeing the graph it made, whether reference counting frees
            # it at once (chainrule, the floor) or the cyclic collector must (micrograd's
            # closures make a cycle per node). Timing one step after a gc.collect() outside
            # the clock would leave that half of micrograd's step out of its time.
            begin = clock()
            for _ in range(steps[name]):
                steppers[name]()
            gc.collect()
            return {"step": (clock() - begin) / steps[name]}
        return run

    first: dict[str, float] = {}
    for name, stepper in steppers.items():  # two untimed steps each: caches, first graphs
        begin = clock()
        losses[name] = stepper()  # the first step's loss: all engines must agree
        first[name] = clock() - begin  # for the compiled engines: trace and code generation
        size_block(name)  # the second step sizes the blocks: the first may have traced
    # The compiled code and the tuned floor both skip what is exactly zero, which grows as the
    # model trains: they take as many steps a block, so they compare along the same trajectory.
    # The native step keeps its own count (several times theirs, which would make their blocks
    # as many times longer): most of it is the Python around its one call (the note below),
    # which costs as much whatever the weights.
    if ours.COMPILED in steps and "tuned" in steps:
        steps[ours.COMPILED] = steps["tuned"] = max(steps[ours.COMPILED], steps["tuned"])
    if native is not None:
        # The native call alone, on the step's own numbers, in the same turns as the engines;
        # and the native step given the lists themselves at every step.
        steppers[CALL_ALONE] = native.run_program
        size_block(CALL_ALONE)
        lists = ours.CompiledMoonsStep(xs, ys, LR, ALPHA, backend="native", packed=False)
        for p, q in zip(lists.params, native.params):
            p.data = q.data  # where the native step is now
        lists.step()
        steppers[LISTS] = lists.step
        size_block(LISTS)
    # Engines take turns, one block each per round: this shared machine has slow spells lasting
    # seconds, and a spell should slow every engine's blocks alike, not only one engine's.
    results = round_robin({name: task(name) for name in steppers}, s.mlp_repeats)
    call_alone = results.pop(CALL_ALONE, {}).get("step")
    with_lists = results.pop(LISTS, {}).get("step")
    row = Row(f"mlp_step moons {len(xs)}", "ms/step", scaled(results, "step", 1e3), total=True)
    row.notes.append("MLP(2, [16, 16, 1]), mean hinge loss + 1e-4 sum(p**2), SGD; chainrule: "
                     "nn.MLP.forward_batch (one ag.dot node per neuron and point), "
                     "the L2 as ag.dot(params, params); compiled: one point's loss (its hinge "
                     "loss plus the L2) through ag.compile, run over the 100 points by "
                     "Compiled.mean (code of one point's graph, one trace; the L2 reads no "
                     "point, so the code computes it once for the batch), SGD outside it; "
                     "native: the same with backend=\"native\" (llvmlite: one native call runs "
                     "the 100 points); both take the points as an ag.Batch made once, as "
                     "numpy's and torch's steps make their arrays once; micrograd: its own "
                     "nn.MLP and demo loss; numpy: benchmarks/numpy_impl.py, the batch as "
                     "matrices and the backward pass written by hand (no autograd); floor: "
                     "benchmarks/floor.py (every sample back-propagated); tuned: "
                     "benchmarks/floor.py's mlp_step with tuned=True (inactive hinges, ReLUs "
                     "that are off and the input gradient skipped)")
    row.notes += skipped
    compiled_step = results[ours.COMPILED]["step"]
    eager_step = results[ours.NAME]["step"]
    if isinstance(compiled_step, float) and isinstance(eager_step, float):
        payback = first[ours.COMPILED] / max(eager_step - compiled_step, 1e-9)
        row.notes.append(f"compiled: the first call (trace and code generation) took "
                         f"{first[ours.COMPILED] * 1e3:,.0f} ms; at the "
                         f"{eager_step * 1e3 - compiled_step * 1e3:.1f} ms a step compiling "
                         f"saves, it pays for itself after {payback:.0f} "
                         f"step{'' if round(payback) == 1 else 's'}")
    native_step = results.get(ours.NATIVE, {}).get("step")
    if isinstance(native_step, float) and isinstance(call_alone, float):
        row.notes.append(f"native: the first call (trace, code generation and JIT) took "
                         f"{first[ours.NATIVE] * 1e3:,.0f} ms; the native call alone (the "
                         f"program's run_batch over the {len(xs)} points, forward and "
                         f"backward) takes {call_alone * 1e3:.3f} ms, "
                         f"{call_alone / native_step:.0%} of the step: the rest is Python "
                         "(Compiled's bookkeeping, backward() and SGD)")
    tuned_step = results.get("tuned", {}).get("step")
    if isinstance(with_lists, float) and isinstance(tuned_step, float):
        row.notes.append(f"native, given the lists at every step instead of the ag.Batch "
                         f"(checked and packed at every call): {with_lists * 1e3:.3f} ms a "
                         f"step, {tuned_step / with_lists:.1f}x faster than the tuned floor")
    row.notes.append(f"steps per timed block, {s.mlp_repeats} blocks each: "
                     + ", ".join(f"{name} {n}" for name, n in steps.items()))
    spread = max(losses.values()) - min(losses.values())
    row.notes.append(f"first-step losses agree across engines to {spread:.1e} "
                     f"({losses[ours.NAME]:.6f})")
    first_row = Row(f"mlp_step moons {len(xs)}", "first call ms",
                    {name: first[name] * 1e3 for name in (ours.NAME, ours.COMPILED, ours.NATIVE)
                     if name in first},
                    ["compiled: the first step, which traces one point's loss and writes its "
                     "code (once for every batch of this structure, whatever its size); "
                     "native: the same, then JIT-compiles it; chainrule: its first eager step, "
                     "for scale"])
    return [row, first_row]


# ---- digits_epoch -------------------------------------------------------------------------


def digits_epoch(s: Settings, mg: ModuleType | None, torch: ModuleType | None) -> list[Row]:
    """Seconds for one epoch of the digits demo's model, every engine from the same weights."""
    from demos import digits as demo

    d = data.digits(s.digits_images)
    start = layers_of(demo.make_model(0))
    tasks: dict[str, Callable[[], Phases]] = {
        ours.NAME: lambda: {"epoch": ours.digits_epoch(d)}}
    if torch:
        tasks[torch.NAME] = lambda: {"epoch": torch.digits_epoch(start, d)}

    def floor_epoch() -> Phases:
        net = [([list(w) for w in weights], list(biases)) for weights, biases in start]
        optimizer = floor.Adam(net, d.lr)
        return {"epoch": timed(lambda: floor.digits_epoch(net, optimizer, d.images, d.labels,
                                                          d.batch_order))}

    tasks["floor"] = floor_epoch
    traced: list[float] = []

    def compiled_epoch() -> Phases:
        seconds, first_calls = ours.digits_epoch_compiled(d)
        traced.append(first_calls)
        return {"epoch": seconds}

    def tuned_epoch() -> Phases:
        net = [([list(w) for w in weights], list(biases)) for weights, biases in start]
        optimizer = floor.Adam(net, d.lr)
        return {"epoch": timed(lambda: floor.digits_epoch(net, optimizer, d.images, d.labels,
                                                          d.batch_order, tuned=True))}

    tasks[ours.COMPILED] = compiled_epoch
    tasks["tuned"] = tuned_epoch
    results = back_to_back(tasks, s.digits_repeats, warm_up=False)
    if mg:
        results[mg.NAME] = {"epoch": "n/a"}
    name = f"digits_epoch {len(d.images)} images"
    notes = [f"MLP(64, [{d.hidden}, 10]), cross-entropy, Adam lr {d.lr}, batch {d.batch_size}; "
             "compiled: the demo's compiled_loss (one image's loss, one-hot targets) run over "
             "each batch by Compiled.mean, timed after its first call (the row below); "
             "tuned: floor.digits_epoch with tuned=True"]
    if mg:
        notes.append("micrograd 0.1.0 has no exp or log for the cross-entropy")
    return [Row(name, "s/epoch", scaled(results, "epoch", 1.0), notes, total=True),
            Row(name, "first call s", {ours.COMPILED: min(traced)},
                ["compiled: tracing one image's loss and writing its code, the one trace "
                 "every batch size shares (the whole-batch compile traced once per batch "
                 "size)"])]


def digits_demo() -> list[Row]:
    """Seconds for the whole digits demo (load, 5 epochs, test, pictures), run headless."""
    from demos import digits as demo

    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        fresh()
        seconds = timed(lambda: demo.main(["--out", out]))
    return [Row("digits demo (python -m demos digits)", "s", {ours.NAME: seconds},
                ["the whole demo, once: loading, training, testing and pictures"])]


# ---- adam_step ----------------------------------------------------------------------------


def adam_step(s: Settings, mg: ModuleType | None, torch: ModuleType | None) -> list[Row]:
    """ms per Adam step over 15,210 parameters (the MNIST-1D residual MLP's count): nn.Adam
    on Values against the floor's Adam on plain lists of floats, the same update."""
    from nn import MLP, Adam, optim

    model = MLP(40, [100, 100, 10], seed=0)
    params = model.parameters()
    optimizer = Adam(params, lr=1e-2)
    net = layers_of(model)
    grads = [([[math.sin(7 * j + i) for i in range(len(w))] for j, w in enumerate(weights)],
              [math.cos(j) for j in range(len(biases))]) for weights, biases in net]
    for layer, (weights, biases) in zip(model.layers, grads):  # the same gradients
        for neuron, row, bias in zip(layer.neurons, weights, biases):
            for w, g in zip(neuron.w, row):
                w.grad = g
            neuron.b.grad = bias
    plain = floor.Adam(net, 1e-2)
    steps = 10

    def ours_steps() -> Phases:
        # The Python loop: what Adam runs without llvmlite (or below NATIVE_AT parameters).
        def run() -> None:
            for _ in range(steps):
                optimizer.step()
        at, optim.NATIVE_AT = optim.NATIVE_AT, len(params) + 1
        try:
            return {"step": timed(run) / steps}
        finally:
            optim.NATIVE_AT = at

    native = Adam(params, lr=1e-2)

    def native_steps() -> Phases:
        def run() -> None:
            for _ in range(steps):
                native.step()
        return {"step": timed(run) / steps}

    def floor_steps() -> Phases:
        def run() -> None:
            for _ in range(steps):
                plain.step(grads)
        return {"step": timed(run) / steps}

    engines = {ours.NAME: ours_steps, "floor": floor_steps}
    notes = ["nn.Adam.step() on the Values' grads; chainrule: its Python loop (written from "
             "nn.optim.ADAM_UPDATE); native: the same lines as one native loop (llvmlite), "
             f"which Adam runs from {optim.NATIVE_AT:,} parameters on, reading the grads and "
             "writing the data of the Values; floor: benchmarks/floor.py's Adam, the same "
             "update on nested lists of floats with no Values"]
    if ours.native_missing() is None:
        engines[ours.NATIVE] = native_steps
    else:
        notes.append(f"native skipped: {ours.native_missing()}")
    results = round_robin(engines, s.mlp_repeats)
    adam_row = Row(f"adam_step {len(params):,} parameters", "ms/step",
                   scaled(results, "step", 1e3), notes)
    native_ms, floor_ms = adam_row.values.get(ours.NATIVE), adam_row.values.get("floor")
    if isinstance(native_ms, float) and isinstance(floor_ms, float):
        adam_row.notes.append(f"native: {floor_ms / native_ms:.1f}x faster than the floor")
    return [adam_row]
