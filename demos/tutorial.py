"""The course, demos/course/: run each chapter notebook in a fresh kernel, and save it.

`python -m demos tutorial` regenerates the committed chapters, outputs included; `python -m demos
tutorial 06` runs the chapters whose names start with 06; --out DIR writes the executed copies
to DIR instead, and --smoke runs them all into out/tutorial/ without touching the committed
ones. Needs the `notebook` or `dev` extra (nbclient, nbformat, ipykernel).
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from demos._common import Report, Stopwatch, banner, wrote

if TYPE_CHECKING:
    from nbformat import NotebookNode

NAME = "tutorial"
COURSE = Path(__file__).with_name("course")
REPO = Path(__file__).resolve().parent.parent
#: Seconds one cell may take; a chapter runs in a few seconds.
TIMEOUT = 300
# What a chapter keeps of its own metadata: the rest (Python's version, the kernel's display
# name, timings) differs between machines and runs and would make every regeneration a diff.
KEPT_METADATA = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"},
                 "language_info": {"name": "python"}}
NEEDS = ("nbformat", "nbclient", "ipykernel")
INSTALL = "pip install -e '.[notebook]' (or '.[dev]')"


def chapters(prefix: str = "") -> list[Path]:
    """Return the course's chapter notebooks in order (01_..., 02_...), those starting with
    prefix if given."""
    return [path for path in sorted(COURSE.glob("[0-9][0-9]_*.ipynb"))
            if path.name.startswith(prefix)]


def missing() -> list[str]:
    """Return the packages running a chapter needs that are not installed."""
    return [name for name in NEEDS if importlib.util.find_spec(name) is None]


def execute(source: Path, timeout: int = TIMEOUT) -> NotebookNode:
    """Return the notebook at source run top to bottom in a fresh python3 kernel, outputs in.

    The kernel starts in the repository's root folder, so `import autograd` works without an
    install. The first cell that raises stops the run with nbclient's CellExecutionError,
    naming the cell.
    """
    absent = missing()
    if absent:
        raise ModuleNotFoundError(f"demos tutorial: running a chapter needs {', '.join(absent)}: "
                                  f"{INSTALL}", name=absent[0])
    import nbformat
    from nbclient import NotebookClient
    from traitlets.config import Config

    notebook = nbformat.read(source, as_version=4)
    # Local sockets, not TCP: the kernel then has nothing to warn about, and nothing listens
    # on the network. Their files live in a folder of their own, removed afterwards.
    with tempfile.TemporaryDirectory(prefix="chainrule-kernel-") as sockets:
        config = Config()
        config.KernelManager.transport = "ipc"
        config.KernelManager.ip = str(Path(sockets) / "kernel")
        NotebookClient(notebook, kernel_name="python3", config=config, timeout=timeout,
                       record_timing=False, coalesce_streams=True,
                       resources={"metadata": {"path": str(REPO)}}).execute()
    return stripped(notebook)


def stripped(notebook: NotebookNode) -> NotebookNode:
    """Return notebook with only stable metadata left, so running it twice gives the same file."""
    notebook.metadata = KEPT_METADATA
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", ()):
            output.get("metadata", {}).pop("execution", None)
    return notebook


def main(argv: Sequence[str] | None = None) -> Report:
    """Run the course's chapters and save them with their outputs: in place, or into --out."""
    parser = argparse.ArgumentParser(prog=f"python -m demos {NAME}",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("chapter", nargs="?", default="",
                        help="run only the chapters whose file names start with this (06)")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"folder for the executed chapters (default: overwrite them in "
                             f"{COURSE}; with --smoke, out/{NAME})")
    parser.add_argument("--smoke", action="store_true",
                        help=f"run every chapter, saving into out/{NAME}, not over the course")
    parser.add_argument("--timeout", type=int, default=TIMEOUT,
                        help=f"seconds one cell may take (default: {TIMEOUT})")
    args = parser.parse_args(argv)
    report = Report(NAME)
    absent = missing()
    if absent:
        print(f"tutorial: running the course's notebooks needs {', '.join(absent)}, which "
              f"{'is' if len(absent) == 1 else 'are'} not installed.\n"
              f"  Install with: {INSTALL}\n"
              "  Skipping the demo.")
        report.metrics["skipped"] = 1.0
        return report
    found = chapters(args.chapter)
    if not found:
        raise SystemExit(f"demos tutorial: no chapter in {COURSE} starts with {args.chapter!r}; "
                         f"the chapters: {', '.join(p.stem for p in chapters())}")
    out = args.out
    if out is None and args.smoke:
        out = Path("out") / NAME
    banner("tutorial: the course, each chapter run top to bottom", [
        f"Runs {len(found)} chapter(s) of {COURSE.name}/ in fresh Jupyter kernels and saves them "
        "with their outputs.",
    ])
    import nbformat  # there: missing() said so

    clock = Stopwatch()
    for source in found:
        started = clock.seconds()
        notebook = execute(source, args.timeout)
        target = source if out is None else out / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target)
        wrote(report, target)
        print(f"    {len(notebook.cells)} cells in {clock.seconds() - started:.1f} s")
    report.metrics["seconds"] = clock.seconds()
    report.metrics["chapters"] = float(len(found))
    print(f"  ran {len(found)} chapter(s) in {report.metrics['seconds']:.1f} s")
    return report


if __name__ == "__main__":
    main()
