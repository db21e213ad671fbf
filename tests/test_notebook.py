"""demos/tutorial.ipynb in a real Jupyter kernel: it runs top to bottom, its graph and its
step-through page appear inline, and the copy in the repository carries current outputs.

The runner is demos/tutorial.py (`python -m demos tutorial`); this file tests the notebook.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

nbformat = pytest.importorskip("nbformat", reason="the notebook test needs the `dev` extra")
pytest.importorskip("nbclient", reason="the notebook test needs the `dev` extra")
pytest.importorskip("ipykernel", reason="the notebook test needs the `dev` extra")
pytest.importorskip("matplotlib", reason="the notebook needs the `demos` extra")
pytest.importorskip("sklearn", reason="the notebook needs the `demos` extra")

from demos.tutorial import NOTEBOOK, execute  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def executed():
    # One run for the module: a kernel start and the whole notebook take about 10 s.
    return execute(NOTEBOOK, timeout=120)


def cell(notebook, cell_id: str):
    return next(c for c in notebook.cells if c.get("id") == cell_id)


def results(code_cell) -> dict:
    """The rich data a cell displayed, merged over its outputs: mime type -> content."""
    merged: dict = {}
    for output in code_cell.outputs:
        assert output.output_type != "error", f"cell {code_cell.id} raised: {output.get('ename')}"
        merged.update(output.get("data", {}))
    return merged


def stream_text(code_cell) -> str:
    return "".join(o.text for o in code_cell.outputs if o.output_type == "stream")


def test_every_code_cell_runs_in_order_without_error(executed):
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    for c in code:
        results(c)  # asserts no error output


def test_draw_dot_shows_inline_as_svg_with_every_node_and_edge(executed):
    svg = results(cell(executed, "draw"))["image/svg+xml"]
    root = ET.fromstring(svg)
    kinds = [g.get("class") for g in root.iter(f"{SVG}g")]
    # x, then per layer w, w*a, b, z, a; then y, a3 - y, C: 19 Values. Per layer *, +, sigmoid;
    # then - and **: 11 ops, with 3 * (2 + 2 + 1) + 2 + 1 operand edges and one edge out of each.
    assert kinds.count("node") == 19 + 11
    assert kinds.count("edge") == 18 + 11
    texts = {t.text for t in root.iter(f"{SVG}text")}
    assert {"w1", "b3", "C", "sigmoid"} <= texts


def test_show_displays_the_step_through_page_inline(executed):
    page = results(cell(executed, "show"))["text/html"]
    assert page.startswith("<iframe srcdoc=")
    assert "&lt;svg" in page and "const TRACE" in page


def test_the_chain_rule_products_and_the_deltas_agree_with_autograd(executed):
    products = stream_text(cell(executed, "chain-products"))
    assert products.count("autograd:") == 6
    for line in products.splitlines():
        by_hand, by_autograd = re.findall(r"[-+]\d\.\d{8}", line)
        assert by_hand == by_autograd
    worst = float(re.search(r"largest difference: (\S+)", stream_text(
        cell(executed, "deltas-table"))).group(1))
    assert worst <= 1e-12


def test_the_mlp_learns_and_the_plot_is_drawn(executed):
    accuracy = re.findall(r"accuracy (\d+)%", stream_text(cell(executed, "train")))
    assert int(accuracy[0]) < 70 and int(accuracy[-1]) >= 95
    assert results(cell(executed, "plot"))["image/png"]


def test_the_committed_notebook_carries_the_outputs_a_run_gives(executed):
    committed = nbformat.read(NOTEBOOK, as_version=4)
    assert [c.source for c in committed.cells] == [c.source for c in executed.cells]
    for saved, fresh in zip(committed.cells, executed.cells):
        if saved.cell_type != "code":
            continue
        assert saved.outputs, f"cell {saved.id} was committed without its outputs"
        # Text is the same on every machine; the pictures depend on the renderer that drew them.
        assert stream_text(saved) == stream_text(fresh), (
            f"cell {saved.id}'s outputs are stale: run `python -m demos tutorial`")
    assert set(committed.metadata) == {"kernelspec", "language_info"}
