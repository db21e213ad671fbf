"""The graph workloads (chain, wide, memory), the table rows, and how engines take turns."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from types import ModuleType

import autograd as ag
from autograd import Value

from . import chainrule_impl as ours
from . import floor
from .timing import Phases, clock, fresh, median_phases, timed

Number = float | str | None  # a measurement, the error an engine raised, or None for n/a


@dataclass
class Row:
    """One line of the table: a workload's metric for each engine (medians)."""

    workload: str
    metric: str
    values: dict[str, Number]
    notes: list[str] = field(default_factory=list)
    total: bool = False  # the workload's headline number (what the targets compare)


@dataclass
class Settings:
    """Sizes and repeats: the full run's, or --quick's."""

    chain_steps: int
    chain_repeats: int
    shallow_chains: int
    wide_n: int
    wide_repeats: int
    mlp_repeats: int
    mlp_block: int  # mlp_step: steps in a row per timed block, at least
    mlp_seconds: float  # mlp_step: and at least about this long a block, for fast engines
    digits_images: int | None
    digits_repeats: int
    memory_nodes: int
    demo: bool
    compile_nodes: int = 100_000  # compile_big: the size of the graph ag.compile writes out


# The full run's medians are of 9 repeats for the targets' workloads: this machine is shared,
# and one engine's run can be caught by a slow moment that the others escape.
FULL = Settings(chain_steps=100_000, chain_repeats=9, shallow_chains=200, wide_n=10_000,
                wide_repeats=7, mlp_repeats=9, mlp_block=2, mlp_seconds=2.0,
                digits_images=None, digits_repeats=3, memory_nodes=100_000, demo=True)
QUICK = Settings(chain_steps=100_000, chain_repeats=3, shallow_chains=40, wide_n=10_000,
                 wide_repeats=3, mlp_repeats=3, mlp_block=1, mlp_seconds=0.5,
                 digits_images=160,
                 digits_repeats=1, memory_nodes=100_000, demo=False, compile_nodes=20_000)


def round_robin(tasks: dict[str, Callable[[], Phases]], repeats: int) -> dict[str, Phases]:
    """Each engine's median phases; engines take turns so a busy moment hits them all.

    The turn order rotates from one repeat to the next, so no engine always runs right after
    the same other one (micrograd, say, which leaves 400,000 objects to collect).
    """
    runs: dict[str, list[Phases]] = {name: [] for name in tasks}
    names = list(tasks)
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            fresh()
            runs[name].append(tasks[name]())
    return {name: median_phases(results) for name, results in runs.items()}


def back_to_back(tasks: dict[str, Callable[[], Phases]], repeats: int,
                 warm_up: bool = True) -> dict[str, Phases]:
    """Each engine's median phases over repeats runs in a row, after one untimed run.

    For training steps: consecutive steps on one engine, as in a training loop, in a heap
    shaped by that engine alone (not by the 400,000 objects micrograd's step just dropped).
    """
    results = {}
    for name, task in tasks.items():
        if warm_up:
            fresh()
            task()
        runs = []
        for _ in range(repeats):
            fresh()
            runs.append(task())
        results[name] = median_phases(runs)
    return results


def scaled(values: dict[str, Phases], phase: str, scale: float) -> dict[str, Number]:
    """Each engine's phase times scale (seconds to ms, or to ns per node); errors as they are."""
    out: dict[str, Number] = {}
    for name, phases in values.items():
        v = phases.get(phase)
        out[name] = v * scale if isinstance(v, float) else v
    return out


def _sum_phases(phases: Phases) -> float | str:
    values = list(phases.values())
    failed = [v for v in values if isinstance(v, str)]
    return failed[0] if failed else sum(values)  # type: ignore[arg-type]


# ---- chain --------------------------------------------------------------------------------


def chain(s: Settings, mg: ModuleType | None, torch: ModuleType | None) -> list[Row]:
    """ns per node (3 nodes a step) forward, backward and both, on a deep and a short chain."""
    steps = s.chain_steps
    deep = round_robin(_chain_tasks(steps, mg, torch), s.chain_repeats)

    # The short chain: micrograd's recursive backward fits, so every engine runs both phases.
    short = mg.SHALLOW_STEPS if mg else 250
    count = s.shallow_chains
    one_short = _chain_tasks(short, mg, torch)
    shallow = round_robin({n: _repeat(t, count) for n, t in one_short.items()},
                           s.chain_repeats)

    ns_deep = 1e9 / (3 * steps)
    ns_short = 1e9 / (3 * short * count)
    name = f"chain {steps:,} steps"
    totals = {n: _sum_phases(p) for n, p in deep.items()}
    totals_short = {n: _sum_phases(p) for n, p in shallow.items()}
    rows = [
        Row(name, "forward ns/node", scaled(deep, "forward", ns_deep)),
        Row(name, "backward ns/node", scaled(deep, "backward", ns_deep)),
    ]
    total_row = Row(name, "fwd+bwd ns/node",
                    {n: v * ns_deep if isinstance(v, float) else v for n, v in totals.items()},
                    total=True)
    if mg and isinstance(deep[mg.NAME]["backward"], str):
        fwd, bwd = deep[mg.NAME]["forward"], shallow[mg.NAME]["backward"]
        if isinstance(fwd, float) and isinstance(bwd, float):
            total_row.values[mg.NAME] = fwd * ns_deep + bwd * ns_short
            total_row.notes.append(
                f"micrograd: its backward raises RecursionError at this depth, so its fwd+bwd "
                f"adds its backward ns/node from the {short}-step chain below")
    rows.append(total_row)
    short_name = f"chain {short} steps x{count}"
    rows += [
        Row(short_name, "forward ns/node", scaled(shallow, "forward", ns_short),
            ["shallow enough for micrograd's recursive backward; a small graph also spares "
             "every engine most garbage-collector work (not the workload the target names)"]),
        Row(short_name, "backward ns/node", scaled(shallow, "backward", ns_short)),
        Row(short_name, "fwd+bwd ns/node",
            {n: v * ns_short if isinstance(v, float) else v for n, v in totals_short.items()}),
    ]
    return rows


def _chain_tasks(steps: int, mg: ModuleType | None,
                 torch: ModuleType | None) -> dict[str, Callable[[], Phases]]:
    """One chain of the given length per engine that is installed, and the floor's."""
    tasks: dict[str, Callable[[], Phases]] = {ours.NAME: partial(ours.chain, steps)}
    for engine in (mg, torch):
        if engine:
            tasks[engine.NAME] = partial(engine.chain, steps)
    tasks["floor"] = partial(_floor_chain, steps)
    return tasks


def _repeat(task: Callable[[], Phases], count: int) -> Callable[[], Phases]:
    """task run count times in a row, its phases summed (an error stays an error)."""
    def run() -> Phases:
        totals: Phases = {}
        for _ in range(count):
            for phase, v in task().items():
                so_far = totals.get(phase, 0.0)
                totals[phase] = so_far if isinstance(so_far, str) else \
                    v if isinstance(v, str) else so_far + v
        return totals
    return run


def _floor_chain(steps: int) -> Phases:
    start = clock()
    outputs = floor.chain_forward(0.3, 0.5, -0.1, steps)
    built = clock()
    floor.chain_backward(0.3, 0.5, outputs)
    return {"forward": built - start, "backward": clock() - built}


# ---- wide ---------------------------------------------------------------------------------


def wide(s: Settings, mg: ModuleType | None, torch: ModuleType | None) -> list[Row]:
    """ms forward, backward and both for a dot of two n-long lists: fused, and as sum()."""
    n = s.wide_n
    rows = []
    for fused in (True, False):
        tasks: dict[str, Callable[[], Phases]] = {ours.NAME: partial(ours.wide, n, fused)}
        if mg and not fused:
            tasks[mg.NAME] = lambda: mg.wide(n)
        if torch:
            tasks[torch.NAME] = partial(torch.wide, n, fused)
        tasks["floor"] = lambda: _floor_wide(n)
        results = round_robin(tasks, s.wide_repeats)
        if mg and fused:
            results[mg.NAME] = {"forward": "n/a", "backward": "n/a"}
        name = f"wide {n:,} {'ag.dot' if fused else 'sum()'}"
        notes = ["micrograd has no fused dot"] if mg and fused else []
        if torch and fused:
            notes.append("torch: torch.dot of torch.stack of the 0-d tensors")
        rows += [
            Row(name, "forward ms", scaled(results, "forward", 1e3)),
            Row(name, "backward ms", scaled(results, "backward", 1e3)),
            Row(name, "fwd+bwd ms", {k: (v * 1e3 if isinstance(v, float) else v) for k, v in
                                     ((k, _sum_phases(p)) for k, p in results.items())},
                notes, total=True),
        ]
    return rows


def _floor_wide(n: int) -> Phases:
    xs = [0.001 * i for i in range(n)]
    ys = [1.0 - 0.001 * i for i in range(n)]
    start = clock()
    floor.dot_forward(xs, ys)
    built = clock()
    floor.dot_backward(xs, ys)
    return {"forward": built - start, "backward": clock() - built}


# ---- memory -------------------------------------------------------------------------------


def memory(s: Settings, mg: ModuleType | None, torch: ModuleType | None) -> list[Row]:
    """Bytes per node of a chain graph of about memory_nodes nodes, held alive."""
    steps = s.memory_nodes // 3
    values: dict[str, Number] = {}
    notes = ["tracemalloc: every Python allocation the graph holds"]
    for engine in (ours, mg):
        if engine:
            fresh()
            held, root = _traced(partial(engine.build_chain, steps))
            values[engine.NAME] = held / engine.count_nodes(root)
    if torch:
        values[torch.NAME] = "n/a"
        notes.append("torch: not measured; tracemalloc cannot see its C++ allocations, and "
                     "the resident set does not grow with a graph made of reused memory")
    fresh()
    held, _ = _traced(lambda: floor.chain_forward(0.3, 0.5, -0.1, steps))
    values["floor"] = held / (3 * steps)
    notes.append("floor: the one float per step its backward keeps (no graph)")
    return [Row(f"memory {3 * steps:,} nodes", "bytes/node", values, notes, total=True)]


def _traced(build: Callable[[], object]) -> tuple[int, object]:
    """(bytes held by what build returns, what it returned), as tracemalloc counts them."""
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        kept = build()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return held - base, kept


# ---- ag.compile on a big graph ----------------------------------------------------------------


def compile_big(s: Settings, mg: ModuleType | None, torch: ModuleType | None) -> list[Row]:
    """ag.compile on a chain of compile_nodes nodes: the first call's time and memory, and a
    replay against the eager forward and backward."""
    steps = s.compile_nodes // 2
    w = Value(0.999)

    def chain(x: Value) -> Value:
        for _ in range(steps):
            x = (x * w).tanh()
        return x

    fresh()
    tracemalloc.start()
    try:
        # Tracing and writing the code (Compiled._trace), without running it: tracemalloc
        # slows a run quadratically in the length of the function (it looks up each line).
        program = ag.compile(chain)._trace((0.5,))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del program
    fresh()
    step = ag.compile(chain)
    first = timed(lambda: step(0.5))
    fresh()
    replay = timed(lambda: step(0.5).backward())
    fresh()
    eager = timed(lambda: chain(Value(0.5)).backward())
    name = f"compile {2 * steps:,}-node chain"
    lines = step.source.count("\n")
    notes = [f"ag.compile of x -> tanh(x w), {steps:,} times: {lines:,} lines of Python; "
             "first call = trace + code generation + Python's compile(), its peak memory as "
             "tracemalloc counts it"]
    return [Row(name, "first call s", {ours.COMPILED: first}, notes),
            Row(name, "first call peak MB", {ours.COMPILED: peak / 1e6}),
            Row(name, "fwd+bwd ms", {ours.NAME: eager * 1e3, ours.COMPILED: replay * 1e3})]


# ---- sweeps: forward mode against reverse mode (issue 19) ----------------------------------


def sweeps(s: Settings, mg: ModuleType | None, torch: ModuleType | None) -> list[Row]:
    """ns per node of one forward-mode and one reverse-mode sweep over the chain's graph."""
    from autograd.forward import _forward, _plan, _reverse

    steps = s.chain_steps
    a, b, x0 = Value(0.5), Value(-0.1), Value(0.3)
    x = x0
    for _ in range(steps):
        x = (x * a + b).tanh()

    def run() -> Phases:
        phases: Phases = {"backward": timed(x.backward),
                          "jvp": timed(lambda: ag.jvp(x, [a], [1.0])),
                          "vjp": timed(lambda: ag.vjp(x, [a], 1.0))}
        plan, index = _plan([x])
        phases["forward sweep"] = timed(lambda: _forward(plan, {index[a]: 1.0}))
        phases["reverse sweep"] = timed(lambda: _reverse(plan, {index[x]: 1.0}))
        return phases

    runs = []
    for _ in range(s.chain_repeats):
        fresh()
        runs.append(run())
    medians = median_phases(runs)
    ns = 1e9 / (3 * steps)
    name = f"sweeps, chain {steps:,} steps"
    note = ("backward(): walk + sweep; jvp and vjp: walk, number the nodes, one sweep; the sweeps "
            "alone on the numbered graph (what each of a Jacobian's sweeps costs)")
    rows = [Row(name, f"{phase} ns/node", {ours.NAME: float(medians[phase]) * ns})
            for phase in medians]
    rows[0].notes.append(note)
    return rows
