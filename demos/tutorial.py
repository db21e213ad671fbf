"""The tutorial notebook, demos/tutorial.ipynb: run it top to bottom in a fresh kernel and save it.

`python -m demos tutorial` regenerates the committed notebook, outputs included; --out DIR writes
the executed copy to DIR/tutorial.ipynb instead. Needs the `dev` extra (nbclient, ipykernel).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from demos._common import Report, Stopwatch, banner, wrote

if TYPE_CHECKING:
    from nbformat import NotebookNode

NAME = "tutorial"
NOTEBOOK = Path(__file__).with_name("tutorial.ipynb")
#: Seconds one cell may take; the whole notebook runs in about 15 s.
TIMEOUT = 300
# What the notebook keeps of its own metadata: the rest (Python's version, the kernel's display
# name, timings) differs between machines and runs and would make every regeneration a diff.
KEPT_METADATA = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"},
                 "language_info": {"name": "python"}}


def execute(source: Path = NOTEBOOK, timeout: int = TIMEOUT) -> NotebookNode:
    """Return the notebook at source run top to bottom in a fresh python3 kernel, outputs in.

    The kernel starts in the repository's root folder, so `import demos` works. The first cell
    that raises stops the run with nbclient's CellExecutionError, naming the cell.
    """
    try:
        import nbformat
        from nbclient import NotebookClient
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(
            f"demos tutorial: running the notebook needs {error.name}: pip install -e '.[dev]' "
            "(nbclient, nbformat and ipykernel)", name=error.name) from error
    notebook = nbformat.read(source, as_version=4)
    client = NotebookClient(notebook, kernel_name="python3", timeout=timeout,
                            record_timing=False, coalesce_streams=True,
                            resources={"metadata": {"path": str(NOTEBOOK.parent.parent)}})
    client.execute()
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
    """Run the tutorial notebook and save it with its outputs: in place, or into --out DIR."""
    parser = argparse.ArgumentParser(prog=f"python -m demos {NAME}",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None,
                        help=f"folder for the executed notebook (default: overwrite {NOTEBOOK})")
    parser.add_argument("--timeout", type=int, default=TIMEOUT,
                        help=f"seconds one cell may take (default: {TIMEOUT})")
    args = parser.parse_args(argv)
    banner("tutorial: backprop in a notebook, run top to bottom", [
        f"Runs {NOTEBOOK.name} in a fresh Jupyter kernel and saves it with its outputs.",
    ])
    report = Report(NAME)
    clock = Stopwatch()
    notebook = execute(NOTEBOOK, args.timeout)
    import nbformat  # there: execute() has checked it is installed

    report.metrics["seconds"] = clock.seconds()
    target = NOTEBOOK if args.out is None else args.out / NOTEBOOK.name
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)
    wrote(report, target)
    print(f"  ran {len(notebook.cells)} cells in {report.metrics['seconds']:.1f} s")
    return report


if __name__ == "__main__":
    main()
