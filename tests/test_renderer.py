"""autograd.viz.renderer: which program draws the pictures, and what it says when there is none."""

import doctest
import importlib
import os
import shutil
import xml.etree.ElementTree as ET

import pytest

pytest.importorskip("graphviz")

from autograd import Value  # noqa: E402
from autograd.viz import draw_dot, renderer  # noqa: E402
from autograd.viz.renderer import (  # noqa: E402
    ENV_VAR,
    GraphvizNotFoundError,
    RenderError,
    draw,
    find_renderer,
    use_renderer,
)

SVG = "{http://www.w3.org/2000/svg}"
SYSTEM_DOT = shutil.which("dot")
needs_system_dot = pytest.mark.skipif(SYSTEM_DOT is None, reason="Graphviz's dot is not "
                                      "installed (apt-get install graphviz)")


def neuron_loss() -> Value:
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    o = (x1 * w1 + x2 * w2 + Value(6.88, label="b")).tanh()
    o.label = "o"
    o.backward()
    return o


def titles(svg: bytes, kind: str) -> set[str]:
    root = ET.fromstring(svg)
    return {g.find(f"{SVG}title").text for g in root.iter(f"{SVG}g") if g.get("class") == kind}


@pytest.fixture
def no_choice(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


@needs_system_dot
def test_dot_on_path_comes_before_graphviz_pure(no_choice):
    found = find_renderer()
    assert (found.path, found.name, found.found_by) == (SYSTEM_DOT, "dot", "PATH")
    assert found.formats == ("svg", "png", "pdf")


def test_without_dot_graphviz_pure_is_found_beside_python_though_not_on_path(pure_only):
    assert pure_only.name == "graphviz-pure" and pure_only.found_by == "scripts"
    assert os.path.dirname(pure_only.path) in renderer._script_dirs()
    assert pure_only.formats == ("svg", "png")


def test_the_environment_variable_wins_over_dot(pure_only, monkeypatch):
    dot_dir = os.path.dirname(pure_only.path)
    monkeypatch.setenv("PATH", dot_dir)  # graphviz-pure reachable by name
    monkeypatch.setenv(ENV_VAR, "graphviz-pure")
    found = find_renderer()
    assert (found.name, found.found_by) == ("graphviz-pure", ENV_VAR)


def test_use_renderer_sets_the_variable_and_none_clears_it(pure_only, monkeypatch):
    chosen = use_renderer(pure_only.path)
    assert chosen is not None and chosen.name == "graphviz-pure"
    assert os.environ[ENV_VAR] == pure_only.path and find_renderer() == chosen
    assert use_renderer(None) is None
    assert ENV_VAR not in os.environ


def test_a_missing_program_is_refused_and_nothing_changes(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, "dot")
    with pytest.raises(GraphvizNotFoundError, match=r"use_renderer: use_renderer='/no/such/dot'"
                       r" is no program.*unset CHAINRULE_DOT"):
        use_renderer("/no/such/dot")
    assert os.environ[ENV_VAR] == "dot"
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "dot"))
    with pytest.raises(GraphvizNotFoundError, match="render_backward: CHAINRULE_DOT="):
        find_renderer("render_backward")


def test_a_program_that_is_not_graphviz_is_refused(monkeypatch, tmp_path):
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\necho 'not a layout program' >&2\n")
    fake.chmod(0o755)
    monkeypatch.setenv(ENV_VAR, str(fake))
    with pytest.raises(GraphvizNotFoundError, match="is not Graphviz.*not a layout program"):
        find_renderer()


def test_no_renderer_at_all_names_every_platforms_install(no_renderer):
    with pytest.raises(GraphvizNotFoundError) as caught:
        find_renderer("explore")
    message = str(caught.value)
    assert message.startswith("explore: no Graphviz renderer found")
    for fix in ("-m pip install graphviz-pure", "Linux x86_64/aarch64, macOS, Windows",
                "sudo apt-get install graphviz", "brew install graphviz",
                "winget install graphviz", "add its bin folder to PATH", "CHAINRULE_DOT="):
        assert fix in message


def test_pdf_with_graphviz_pure_says_to_install_dot_or_write_svg(pure_only):
    with pytest.raises(GraphvizNotFoundError, match=r"render: PDF needs Graphviz's dot; the "
                       r"renderer found is graphviz-pure .* SVG and PNG only.*brew install"):
        draw(draw_dot(neuron_loss()).source, "pdf", "render")


def test_a_failing_renderer_raises_with_what_it_printed():
    with pytest.raises(RenderError, match=r"render: (dot|graphviz-pure) .* exit status \d+: .+"):
        draw("digraph { a -> }", "svg", "render")


def test_what_the_renderer_prints_on_success_becomes_a_warning(pure_only):
    # A font list is one unknown family to graphviz-pure: the reason chainrule names one font.
    source = 'digraph { node [fontname="Helvetica,Arial,sans-serif"]; a -> b }'
    with pytest.warns(RuntimeWarning, match="render: graphviz-pure said: .*metrics"):
        draw(source, "svg", "render")


def test_our_pictures_use_a_font_graphviz_pure_knows(pure_only):
    # No warning: the suite turns warnings into errors, so a fallback to Times would fail here.
    svg = draw(draw_dot(neuron_loss(), show_local_grads=True).source, "svg", "render")
    assert b'font-family="Verdana"' in svg and b"Arial" not in svg


def test_pngs_are_drawn_in_arial_which_graphviz_pure_draws_in_a_sans_face(pure_only):
    # graphviz-pure draws Arial with Arimo, but Verdana with a serif: PNGs keep Arial.
    source = draw_dot(neuron_loss(), format="png").source
    assert 'fontname=Arial' in source and "Verdana" not in source
    assert draw(source, "png", "render").startswith(b"\x89PNG")


@needs_system_dot
def test_both_renderers_draw_every_node_and_edge(pure_only, monkeypatch):
    source = draw_dot(neuron_loss(), show_local_grads=True).source
    pure = draw(source, "svg", "render")
    monkeypatch.setenv(ENV_VAR, SYSTEM_DOT)
    dot = draw(source, "svg", "render")
    assert b"(graphviz-pure)" in pure and b"(graphviz-pure)" not in dot
    assert titles(pure, "node") == titles(dot, "node") and len(titles(dot, "node")) == 15
    assert titles(pure, "edge") == titles(dot, "edge") and len(titles(dot, "edge")) == 14


def test_each_renderer_gives_the_same_bytes_twice(pure_only):
    source = draw_dot(neuron_loss(), show_local_grads=True, color_by_grad=True).source
    assert draw(source, "svg", "render") == draw(source, "svg", "render")
    assert draw(source, "png", "render") == draw(source, "png", "render")


def test_digraph_pipe_refuses_graphviz_only_options():
    with pytest.raises(ValueError, match="Digraph.pipe: chainrule draws with the dot layout"):
        draw_dot(neuron_loss()).pipe(format="svg", engine="neato")


@pytest.mark.skipif(not os.environ.get("CHAINRULE_TEST_RENDERER"),
                    reason="CI's picture runs name the renderer they mean to test")
def test_the_renderer_is_the_one_this_run_means_to_test():
    assert find_renderer().name == os.environ["CHAINRULE_TEST_RENDERER"]


def test_docstring_examples_pass():
    result = doctest.testmod(importlib.import_module("autograd.viz.renderer"))
    assert result.attempted > 0 and result.failed == 0


def test_a_program_fixed_after_a_failed_check_is_seen(monkeypatch, tmp_path):
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\necho 'broken' >&2\n")
    fake.chmod(0o755)
    monkeypatch.setenv(ENV_VAR, str(fake))
    with pytest.raises(GraphvizNotFoundError, match="is not Graphviz"):
        find_renderer()
    fake.write_text("#!/bin/sh\necho 'dot - graphviz version 2.43.0 (0)' >&2\n")
    assert find_renderer().name == "dot"  # the failure was not remembered


@needs_system_dot
def test_dot_writes_formats_beyond_svg_png_and_pdf(no_choice):
    jpg = draw_dot(neuron_loss()).pipe(format="jpg")
    assert jpg[:3] == b"\xff\xd8\xff"  # a JPEG's first bytes
