"""Shared test set-up: Hypothesis profiles, a guard that grad mode never leaks between tests, and
fixtures that hide the Graphviz renderers."""

from __future__ import annotations

import os
import shutil

import pytest
from hypothesis import settings

import autograd.mode
from autograd import is_grad_enabled

# deadline=None: this machine is shared, so one slow example says nothing about the code.
# 50 examples per property keeps the whole suite well under a minute on two cores.
settings.register_profile("dev", max_examples=50, deadline=None)
# In CI the same examples every run, so a red build is reproducible from its log.
settings.register_profile("ci", max_examples=50, deadline=None, derandomize=True,
                          print_blob=True)
# HYPOTHESIS_PROFILE=thorough for a long local hunt before touching the engine's math.
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE",
                                     "ci" if os.environ.get("CI") == "true" else "dev"))


def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Fail the test that leaves grad mode off, and switch it back on for the next one."""
    # A hook rather than an autouse fixture: Hypothesis rejects function-scoped fixtures.
    if not is_grad_enabled():
        autograd.mode._mode.enabled = True
        pytest.fail(f"{item.nodeid} left grad mode disabled (no_grad did not restore it)")


@pytest.fixture
def no_renderer(tmp_path, monkeypatch):
    """A process with no Graphviz renderer at all: PATH empty, no graphviz-pure, no choice."""
    from autograd.viz import renderer

    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv(renderer.ENV_VAR, raising=False)
    monkeypatch.setattr(renderer, "_script_dirs", lambda: [])
    return empty


@pytest.fixture
def pure_only(tmp_path, monkeypatch):
    """A process where `dot` is hidden and graphviz-pure sits beside Python, as after pip alone."""
    from autograd.viz import renderer

    scripts = renderer._script_dirs()
    if not any(shutil.which(renderer.PURE, path=folder) for folder in scripts):
        pytest.skip("graphviz-pure is not installed (pip install graphviz-pure)")
    empty = tmp_path / "empty-path"
    empty.mkdir(exist_ok=True)
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv(renderer.ENV_VAR, raising=False)
    return renderer.find_renderer()
