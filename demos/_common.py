"""Plumbing every demo shares: its command line, its output folder, progress bars and plots."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from types import ModuleType

    from tqdm import tqdm

T = TypeVar("T")


@dataclass
class Report:
    """What a demo did: the files it wrote and the numbers it printed (tests read these)."""

    name: str
    files: list[Path] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)


def parse_args(name: str, description: str, argv: Sequence[str] | None,
               seed: int = 0, compiled: bool = False) -> argparse.Namespace:
    """Parse the options every demo takes: --smoke, --out DIR and --seed N; with compiled,
    also --eager (train without ag.compile)."""
    parser = argparse.ArgumentParser(prog=f"python -m demos {name}", description=description)
    if compiled:
        parser.add_argument("--eager", action="store_true",
                            help="train eagerly, building the graph at every step, instead of "
                                 "replaying the code ag.compile wrote for it")
    parser.add_argument("--smoke", action="store_true",
                        help="a few steps on a little data: checks the demo runs, in seconds")
    parser.add_argument("--out", type=Path, default=Path("out") / name,
                        help=f"folder for the pictures (default: out/{name})")
    parser.add_argument("--seed", type=int, default=seed,
                        help=f"seed for data and weights (default: {seed})")
    return parser.parse_args(argv)


def prepare_out(path: Path) -> Path:
    """Create the output folder (and its parents) and return it."""
    path.mkdir(parents=True, exist_ok=True)
    return path


def banner(title: str, lines: Iterable[str]) -> None:
    """Print a demo's title, underlined, then what it is about to do."""
    print(title)
    print("=" * len(title))
    for line in lines:
        print(line)
    print()


def wrote(report: Report, path: Path) -> Path:
    """Record a written file in the report and tell the reader where it is."""
    report.files.append(path)
    print(f"  wrote {path}")
    return path


def progress(iterable: Iterable[T], desc: str, total: int | None = None,
             unit: str = "it") -> tqdm[T]:
    """Wrap iterable in a tqdm progress bar on stderr (the results go to stdout)."""
    from tqdm import tqdm

    # leave=False: once done the bar disappears, and the printed results stay readable.
    return tqdm(iterable, desc=desc, total=total, unit=unit, leave=False, dynamic_ncols=True)


def pyplot() -> ModuleType:
    """matplotlib.pyplot on the Agg backend: files only, no window, works without a display."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


class Stopwatch:
    """Wall-clock seconds since creation, from time.perf_counter."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self.start
