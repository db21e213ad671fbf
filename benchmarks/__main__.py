"""python -m benchmarks [--quick] [--json PATH] [--markdown PATH]: the table of issues 7 and 11.

Runs every workload on chainrule (eager, and compiled by ag.compile, on the Python backend
and as native code through llvmlite), micrograd, PyTorch (0-d float64 tensors) and the
pure-Python floors (floor: the engines' arithmetic written by hand; tuned: the training steps as
a person tunes them, skipping what is exactly zero), and the moons step batched in numpy, in
this one process; engines that are not installed are skipped with a note.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import importlib
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from . import mnist1d, report, training, workloads


def _optional(module: str, package: str, notes: list[str]) -> ModuleType | None:
    try:
        return importlib.import_module(f"benchmarks.{module}")
    except ImportError as error:
        notes.append(f"{package} skipped: not installed ({error})")
        return None


def _run(settings: workloads.Settings, mg: ModuleType | None, torch: ModuleType | None,
         has_digits: bool, notes: list[str]) -> list[workloads.Row]:
    steps = [workloads.chain, workloads.wide, training.mlp_step, training.adam_step,
             workloads.memory, workloads.compile_big, workloads.sweeps, mnist1d.mnist1d_step]
    if has_digits:
        steps.insert(3, training.digits_epoch)
    rows: list[workloads.Row] = []
    began = time.perf_counter()
    for step in steps:
        print(f"running {step.__name__} ...", file=sys.stderr, flush=True)
        rows += step(settings, mg, torch)
    if has_digits and settings.demo:
        print("running the digits demo ...", file=sys.stderr, flush=True)
        rows += training.digits_demo()
    notes.append(f"{'full' if settings.demo else 'quick'} run, "
                 f"{time.perf_counter() - began:.0f} s")
    return rows


def main(argv: Sequence[str] | None = None,
         settings: workloads.Settings | None = None) -> int:
    """Run the benchmark, print the table and the targets; exit status 0.

    settings replaces --quick's or the full run's sizes (the smoke test runs a tiny one).
    """
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes and fewer repeats: under a minute")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results here")
    parser.add_argument("--markdown", type=Path, metavar="PATH",
                        help="also write the table, targets and machine as Markdown here")
    args = parser.parse_args(argv)
    if settings is None:
        settings = workloads.QUICK if args.quick else workloads.FULL

    notes = [
        "medians of each engine's CPU time (time.process_time) over the repeats, a full garbage "
        "collection before each measurement; chain, wide and memory: engines take turns within "
        "each repeat; mlp_step: after one untimed step each, engines take turns timing a "
        "block of steps in a row plus a garbage collection after them, divided by the steps "
        "(a step's time includes freeing the graph it built, as in a training loop); a block "
        "lasts about 2 s and at least 2 steps (--quick: 0.5 s, 1 step) for every engine; "
        "digits_epoch: each engine's epochs back to back",
        "the cyclic garbage collector stays on, as in any program; what the imports left "
        "(torch: about 150,000 objects) is frozen first (gc.freeze) so that no engine's "
        "collections walk it",
        "ns/node counts the chain's three op nodes per step (x*a, +b, tanh) for every engine",
    ]
    mg = _optional("micrograd_impl", "micrograd", notes)
    if mg:
        notes.append("micrograd has no tanh (nor exp to build one): the harness adds a one-node "
                     "tanh written like micrograd's own relu")
    torch = _optional("torch_impl", "torch", notes)
    try:
        import demos.digits  # noqa: F401 - needs scikit-learn, from the demos extra
        has_digits = True
    except ImportError as error:
        notes.append(f"digits_epoch skipped: {error}")
        has_digits = False

    gc.collect()
    gc.freeze()
    try:
        rows = _run(settings, mg, torch, has_digits, notes)
    finally:
        gc.unfreeze()  # hand the imports' objects back to the collector
    engines = [e for e in report.ENGINES if any(e in r.values for r in rows)]
    found = report.targets(rows) + mnist1d.targets_of(rows)
    text = "\n\n".join([report.table(rows, engines), "Targets (issues 7, 11 and 18):",
                        report.targets_text(found), "Notes:", report.notes_text(rows, notes)])
    print(text)
    if args.json:
        data = report.as_json(rows, found, dataclasses.asdict(settings), notes)
        args.json.write_text(json.dumps(data, indent=2) + "\n")
    if args.markdown:
        info = report.machine()
        head = ["# Benchmark results", "",
                f"`python -m benchmarks{' --quick' if args.quick else ''}`, "
                f"{time.strftime('%Y-%m-%d')}, on {info['cpu']} ({info['cores']} cores), "
                f"{info['implementation']} {info['python']}, micrograd {info['micrograd']}, "
                f"torch {info['torch']}, numpy {info['numpy']}, llvmlite {info['llvmlite']}, "
                f"{info['os']}. Each ratio column names what it "
                "divides by what (compiled/tuned: the compiled code over the tuned floor); below 1 "
                "the first is faster (or smaller).", "", ""]
        args.markdown.write_text("\n".join(head) + text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
