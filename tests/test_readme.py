"""Every ```python block of README.md runs on its own, from an empty folder, as a reader pastes it.

Each block runs in a fresh interpreter in a temporary folder, with the repository on PYTHONPATH
(so it imports this checkout). A block importing a package that is not installed (torch, an
extra) is skipped with the reason; so is one that draws when no Graphviz renderer exists, and
one that runs native code (backend="native") without llvmlite.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DRAWS = ("autograd.viz", "autograd.explorer")


def python_blocks() -> list[tuple[int, str]]:
    """Return (line number, code) of every ```python block in the README."""
    text = README.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 2, m.group(1))
            for m in re.finditer(r"^```python\n(.*?)^```", text, flags=re.S | re.M)]


BLOCKS = python_blocks()


def imported_modules(code: str) -> list[str]:
    """Return the modules code imports, in full (autograd.viz), in order."""
    found = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def missing_reason(code: str) -> str | None:
    """Return why code cannot run here (a package not installed, no renderer), or None."""
    for module in imported_modules(code):
        top = module.split(".")[0]
        if top in ("autograd", "nn", "demos"):
            continue
        if importlib.util.find_spec(top) is None:
            return f"needs {top}, which is not installed"
    native = any(isinstance(node, ast.keyword) and node.arg == "backend" and
                 isinstance(node.value, ast.Constant) and node.value.value == "native"
                 for node in ast.walk(ast.parse(code)))  # a call's, not a comment's
    if native and importlib.util.find_spec("llvmlite") is None:
        return "runs native code: needs the native extra (pip install -e '.[native]')"
    if any(module.startswith(DRAWS) for module in imported_modules(code)):
        if importlib.util.find_spec("graphviz") is None:
            return "draws pictures: needs the viz extra (pip install -e '.[viz]')"
        from autograd.viz.renderer import GraphvizNotFoundError, find_renderer

        try:
            find_renderer()
        except GraphvizNotFoundError as missing:
            return f"draws pictures: {missing}"
    return None


def test_the_readme_has_python_blocks() -> None:
    assert len(BLOCKS) >= 9
    for _, code in BLOCKS:
        ast.parse(code)  # every block is Python


@pytest.mark.parametrize(("line", "code"), BLOCKS,
                         ids=[f"line{line}" for line, _ in BLOCKS])
def test_readme_block_runs_on_its_own_from_an_empty_folder(line: int, code: str,
                                                           tmp_path: Path) -> None:
    reason = missing_reason(code)
    if reason:
        pytest.skip(f"README.md line {line}: {reason}")
    env = {**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, (
        f"README.md's block at line {line} failed when run alone from an empty folder:\n"
        f"{done.stderr[-3000:]}")
