"""In CI, the optional tools must be present: a missing one would turn real checks into skips."""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest

pytestmark = pytest.mark.skipif(os.environ.get("CI") != "true",
                                reason="only CI promises every optional tool")


def test_ci_has_torch_2_13_0_for_the_reference_tests() -> None:
    assert importlib.util.find_spec("torch") is not None, "CI must install torch==2.13.0"
    import torch

    assert torch.__version__.split("+")[0] == "2.13.0"


def test_ci_has_the_graphviz_binary_and_package() -> None:
    assert shutil.which("dot") is not None, "CI must install Graphviz (apt-get install graphviz)"
    assert importlib.util.find_spec("graphviz") is not None


def test_ci_has_graphviz_pure_beside_python_for_the_run_with_dot_hidden() -> None:
    from autograd.viz import renderer

    assert any(shutil.which(renderer.PURE, path=folder) for folder in renderer._script_dirs()), \
        "CI must install the viz extra, which brings graphviz-pure"


def test_ci_has_the_notebook_runner() -> None:
    for name in ("nbclient", "nbformat", "ipykernel"):
        assert importlib.util.find_spec(name) is not None, f"CI must install {name} (dev extra)"


def test_ci_has_a_browser_and_playwright() -> None:
    assert os.path.exists("/usr/bin/chromium"), "CI must install Debian's chromium"
    assert importlib.util.find_spec("playwright") is not None


def test_ci_has_the_demo_extras() -> None:
    for name in ("matplotlib", "sklearn", "tqdm", "micrograd"):
        assert importlib.util.find_spec(name) is not None, f"CI must install {name}"
