"""The results as a table (terminal and Markdown), the targets checked, and JSON."""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from importlib import metadata

from .workloads import Number, Row

ENGINES = ("chainrule", "compiled", "native", "micrograd", "torch", "numpy", "floor", "tuned")
OURS = "chainrule"
COMPILED = "compiled"
NATIVE = "native"
# The ratio columns: (numerator, baseline). Each says which floor it divides by.
RATIOS = [(OURS, "micrograd"), (OURS, "torch"), (OURS, "floor"), (COMPILED, OURS),
          (COMPILED, "micrograd"), (COMPILED, "floor"), (COMPILED, "tuned"),
          (COMPILED, "torch"), (NATIVE, "tuned"), (NATIVE, "numpy"), (NATIVE, "torch")]


@dataclass
class Target:
    """One goal of an issue: a ratio ours/other and the bound it must stay under."""

    name: str
    ratio: float | None
    bound: float
    strict: bool = False  # < instead of <=

    @property
    def met(self) -> bool:
        if self.ratio is None:
            return False
        return self.ratio < self.bound if self.strict else self.ratio <= self.bound


def ratio(row: Row, other: str, ours: str = OURS) -> float | None:
    """ours / other for the row, or None when either side has no number."""
    mine, theirs = row.values.get(ours), row.values.get(other)
    if isinstance(mine, float) and isinstance(theirs, float) and theirs > 0.0:
        return mine / theirs
    return None


def targets(rows: list[Row]) -> list[Target]:
    """Every target of issues 7, 11 and 18 that these rows can check (mnist1d's apart)."""
    found: list[Target] = []
    for row in rows:
        if not row.total or row.workload.startswith("mnist1d_step"):  # mnist1d.targets_of: its own
            continue
        if row.workload.startswith("mlp_step"):
            found.append(Target("mlp_step: >= 50x faster than micrograd",
                                ratio(row, "micrograd"), 1 / 50))
            found.append(Target("mlp_step: within 3x of the pure-Python floor",
                                ratio(row, "floor"), 3.0))
            found.append(Target("mlp_step compiled: >= 150x faster than micrograd (issue 11)",
                                ratio(row, "micrograd", COMPILED), 1 / 150))
            found.append(Target("mlp_step compiled: within 2x of the tuned floor (issue 11)",
                                ratio(row, "tuned", COMPILED), 2.0))
            found.append(Target("mlp_step native: >= 20x faster than the tuned floor (issue 18)",
                                ratio(row, "tuned", NATIVE), 1 / 20))
            found.append(Target("mlp_step native: faster than numpy's batched step (the "
                                "moonshot)", ratio(row, "numpy", NATIVE), 1.0))
        elif row.workload.startswith("digits_epoch"):
            found.append(Target("digits_epoch compiled: within 2x of the tuned floor (issue 11)",
                                ratio(row, "tuned", COMPILED), 2.0))
        elif row.workload.startswith("chain"):
            found.append(Target("chain: fwd+bwd per node <= 1/3 of micrograd's",
                                ratio(row, "micrograd"), 1 / 3))
        elif row.workload.startswith("memory"):
            found.append(Target("memory: bytes/node <= 1/3 of micrograd's",
                                ratio(row, "micrograd"), 1 / 3))
        if not row.workload.startswith("memory") and "torch" in row.values:
            found.append(Target(f"{row.workload}: faster than torch 0-d tensors",
                                ratio(row, "torch"), 1.0, strict=True))
    return found


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    info = {"cpu": cpu, "cores": str(os.cpu_count()), "python": sys.version.split()[0],
            "implementation": platform.python_implementation(), "os": platform.platform()}
    for package in ("micrograd", "torch", "numpy", "llvmlite"):
        try:
            info[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            info[package] = "not installed"
    return info


def _fmt(v: Number) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:.3g}"


def _fmt_ratio(r: float | None) -> str:
    return "" if r is None else f"{r:.3g}"


def table(rows: list[Row], engines: list[str]) -> str:
    """The rows as a Markdown table: one column per engine, then ours/other ratios (those
    some row has both numbers of)."""
    pairs = [(a, b) for a, b in RATIOS if a in engines and b in engines
             and any(ratio(row, b, a) is not None for row in rows)]
    header = ["workload", "metric", *engines, *(f"{a}/{b}" for a, b in pairs)]
    lines = [header]
    for row in rows:
        lines.append([row.workload, row.metric, *(_fmt(row.values.get(e)) for e in engines),
                      *(_fmt_ratio(ratio(row, b, a)) for a, b in pairs)])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for k, line in enumerate(lines):
        cells = [c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))]
        out.append("| " + " | ".join(cells) + " |")
        if k == 0:
            out.append("|" + "|".join("-" * (w + 2) if i < 2 else "-" * (w + 1) + ":"
                                      for i, w in enumerate(widths)) + "|")
    return "\n".join(out)


def targets_text(found: list[Target]) -> str:
    """One line per target: met or not, the measured ratio and the bound."""
    lines = []
    for t in found:
        mark = "met" if t.met else "NOT MET"
        measured = "no number" if t.ratio is None else f"{t.ratio:.3g}"
        sign = "<" if t.strict else "<="
        lines.append(f"- {mark}: {t.name} (ours/other {measured}, needs {sign} {t.bound:.3g})")
    return "\n".join(lines)


def notes_text(rows: list[Row], general: list[str]) -> str:
    """The notes of every row and the run's general notes, as a list."""
    lines = [f"- {note}" for note in general]
    lines += [f"- {row.workload}: {note}" for row in rows for note in row.notes]
    return "\n".join(lines)


def as_json(rows: list[Row], found: list[Target], settings: dict[str, object],
            general: list[str]) -> dict[str, object]:
    """Everything the run measured, ready for json.dump."""
    return {
        "machine": machine(),
        "settings": settings,
        "notes": general,
        "rows": [{"workload": r.workload, "metric": r.metric, "values": r.values,
                  "ratios": {f"{a}/{b}": ratio(r, b, a) for a, b in RATIOS},
                  "notes": r.notes, "headline": r.total} for r in rows],
        "targets": [{"target": t.name, "ratio": t.ratio, "bound": t.bound, "met": t.met}
                    for t in found],
    }
