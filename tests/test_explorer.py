"""render_backward frames and the explore() page: numbers, structure, self-containment, limits."""

import doctest
import html
import importlib
import json
import re
import xml.etree.ElementTree as ET

import pytest

pytest.importorskip("graphviz")

import autograd as ag  # noqa: E402
from autograd import Value, topological_order  # noqa: E402
from autograd.explorer import (  # noqa: E402
    MAX_NODES,
    explore,
    explorer_html,
    fmt,
    node_labels,
    render_backward,
    show,
)
from autograd.trace import trace_backward  # noqa: E402
from autograd.viz import GraphvizNotFoundError, draw_dot, style  # noqa: E402
from autograd.viz.renderer import find_renderer  # noqa: E402

try:
    find_renderer()
except GraphvizNotFoundError as missing:
    # The `viz` extra brings graphviz-pure: without any renderer the set-up is broken, say so.
    pytest.fail(str(missing), pytrace=False)

SVG = "{http://www.w3.org/2000/svg}"
# The SVG namespace names: identifiers in the markup, never fetched.
ALLOWED_URLS = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


def square_of_affine():
    """L = y * y with y = x * w + b: x=2, w=-3, b=1, so y=-5 and L=25; y is used twice."""
    x, w, b = Value(2.0, label="x"), Value(-3.0, label="w"), Value(1.0, label="b")
    n = x * w
    n.label = "n"
    y = n + b
    y.label = "y"
    loss = y * y
    loss.label = "L"
    return loss, (x, w, b, n, y)


def chain(length):
    x = Value(0.5, label="x")
    out = x
    for _ in range(length - 1):
        out = out.relu()
    return out


def edge_text(svg_path, edge_id):
    root = ET.parse(svg_path).getroot()
    for g in root.iter(f"{SVG}g"):
        if g.get("id") == edge_id:
            return "\n".join(t.text or "" for t in g.iter(f"{SVG}text"))
    raise AssertionError(f"no edge {edge_id} in {svg_path}")


def embedded_trace(page):
    literal = re.search(r"const TRACE = (.*?);</script>", page, re.S).group(1)
    return json.loads(literal)


def test_one_frame_per_sweep_step_zero_padded(tmp_path):
    loss, _ = square_of_affine()
    paths = render_backward(loss, tmp_path / "frames")
    assert len(paths) == len(trace_backward(loss).steps) == len(topological_order(loss))
    assert [p.name for p in paths] == [f"step_{i:03d}.svg" for i in range(len(paths))]
    assert all(p.read_text().lstrip().startswith(("<?xml", "<svg")) for p in paths)


def test_frame_labels_carry_the_chain_rule_numbers(tmp_path):
    loss, (x, w, b, n, y) = square_of_affine()
    ids = {v: f"v{i}" for i, v in enumerate(topological_order(loss))}
    paths = render_backward(loss, tmp_path)
    steps = [s.node for s in trace_backward(loss).steps]
    first = edge_text(paths[0], f"e_{ids[y]}_{ids[loss]}_0")  # y * y: one label for both
    assert "dL/dy += dL/dL * dL/dy = 1.0 * (-5.0) = -5.0" in first
    assert "dL/dy now -10.0" in first
    at_y = edge_text(paths[steps.index(y)], f"e_{ids[n]}_{ids[y]}_0")
    assert "dL/dn += dL/dy * dy/dn = -10.0 * 1.0 = -10.0" in at_y
    at_n = paths[steps.index(n)]
    to_x = edge_text(at_n, f"e_{ids[x]}_{ids[n]}_0")
    to_w = edge_text(at_n, f"e_{ids[w]}_{ids[n]}_1")
    assert "dL/dx += dL/dn * dn/dx = -10.0 * (-3.0) = 30.0" in to_x
    assert "dL/dw += dL/dn * dn/dw = -10.0 * 2.0 = -20.0" in to_w


def test_each_frame_highlights_the_node_it_processes(tmp_path):
    loss, _ = square_of_affine()
    ids = {v: f"v{i}" for i, v in enumerate(topological_order(loss))}
    paths = render_backward(loss, tmp_path)
    for path, step in zip(paths, trace_backward(loss).steps):
        lit = set()
        for g in ET.parse(path).getroot().iter(f"{SVG}g"):
            title = g.find(f"{SVG}title")
            fills = {e.get("fill") for e in g.iter() if e.get("fill")}
            if g.get("class") == "node" and style.FILL_HIGHLIGHT in fills:
                lit.add(title.text)
        assert lit == {ids[step.node]}


def test_drawing_restores_every_grad(tmp_path):
    loss, _ = square_of_affine()
    order = topological_order(loss)
    for i, node in enumerate(order):
        node.grad = 100.0 + i
    render_backward(loss, tmp_path)
    explorer_html(loss)
    assert [n.grad for n in order] == [100.0 + i for i in range(len(order))]


def test_page_embeds_the_recorders_numbers_and_dot_ids():
    loss, _ = square_of_affine()
    page = explorer_html(loss)
    data = embedded_trace(page)
    trace = trace_backward(loss)
    order = topological_order(loss)
    assert data["ids"] == [f"v{i}" for i in range(len(order))]
    assert data["names"] == [node_labels(trace)[v] for v in order]
    assert data["steps"] == trace.to_dict()["steps"]
    titles = set(re.findall(r"<title>([^<]*)</title>", page))
    assert set(data["ids"]) <= titles
    for step in data["steps"]:
        for c in step["contributions"]:
            assert f'id="e_v{c["child"]}_v{step["node"]}_{c["position"]}"' in page


def test_page_has_no_external_url_and_loads_nothing(tmp_path):
    loss, _ = square_of_affine()
    page = explore(loss, tmp_path / "page.html").read_text(encoding="utf-8")
    assert set(re.findall(r"https?://[^\s\"'<>)]+", page)) <= ALLOWED_URLS
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=|@import|url\(", page)


def test_labels_cannot_break_out_of_the_script():
    x = Value(1.0, label="</script><script>alert(1)</script>")
    page = explorer_html(x * 2.0)
    assert page.count("</script>") == 2  # the trace's and the code's, nothing injected


def test_names_are_labels_else_n_index_and_L_for_the_root():
    a = Value(1.0, label="a")
    out = a * 2.0 + a
    names = node_labels(trace_backward(out))
    order = topological_order(out)
    assert [names[v] for v in order] == ["a", "n1", "n2", "L"]


@pytest.mark.parametrize("x, text", [(2.0, "2.0"), (-0.5, "-0.5"), (0.123456, "0.1235"),
                                     (0.9999999999999998, "1.0"), (1234.5, "1234"),
                                     (1.2e-7, "1.2e-07"), (float("nan"), "nan")])
def test_fmt_is_short_and_keeps_floats_looking_like_floats(x, text):
    assert fmt(x) == text


def test_size_limit_raises_before_drawing(tmp_path):
    big = chain(MAX_NODES + 1)
    with pytest.raises(ValueError, match=rf"{MAX_NODES + 1} Values.*try a smaller graph"):
        explore(big, tmp_path / "big.html")
    with pytest.raises(ValueError, match="render_backward"):
        render_backward(big, tmp_path / "frames")
    assert not (tmp_path / "big.html").exists() and not (tmp_path / "frames").exists()


def test_a_graph_at_the_limit_still_renders():
    page = explorer_html(chain(MAX_NODES))
    assert len(embedded_trace(page)["steps"]) == MAX_NODES


def test_small_mlp_loss_on_one_sample():
    nn = pytest.importorskip("nn")
    model = nn.MLP(2, [4, 4, 1], seed=0)
    loss = nn.mse_loss([model([0.5, -1.0])], [[1.0]])
    data = embedded_trace(explorer_html(loss))
    assert len(data["steps"]) == len(topological_order(loss)) < MAX_NODES
    params = model.parameters()
    totals = trace_backward(loss).totals()
    assert [totals[p] for p in params] == ag.grad(loss, params)


def test_show_embeds_the_same_page_in_an_iframe():
    loss, _ = square_of_affine()
    shown = show(loss)
    srcdoc = re.search(r'<iframe srcdoc="([^"]*)"', shown._repr_html_()).group(1)
    assert html.unescape(srcdoc) == explorer_html(loss) == shown.html


@pytest.mark.parametrize("root", [3.0, None], ids=["float", "None"])
def test_a_root_that_is_not_a_value_is_a_type_error_and_writes_nothing(root, tmp_path):
    with pytest.raises(TypeError, match="explore: root must be a Value, got"):
        explore(root, tmp_path / "page.html")
    with pytest.raises(TypeError, match="render_backward: root must be a Value"):
        render_backward(root, tmp_path / "frames")
    assert list(tmp_path.iterdir()) == []


def test_explore_and_save_make_missing_directories(tmp_path):
    loss, _ = square_of_affine()
    page = explore(loss, tmp_path / "new" / "page.html")
    saved = show(loss).save(tmp_path / "other" / "page.html")
    assert page.read_text(encoding="utf-8") == saved.read_text(encoding="utf-8")


@pytest.mark.parametrize("height", [0, "640", 12.5], ids=["zero", "str", "float"])
def test_show_height_must_be_a_positive_int(height):
    loss, _ = square_of_affine()
    with pytest.raises(ValueError, match="height must be a positive number of pixels"):
        show(loss, height=height)


def test_without_any_renderer_the_error_says_what_to_install(tmp_path, no_renderer):
    loss, leaves = square_of_affine()
    with pytest.raises(GraphvizNotFoundError, match="explore: no Graphviz renderer found"
                       "(.|\n)*pip install graphviz-pure(.|\n)*apt-get install graphviz"):
        explore(loss, tmp_path / "page.html")
    with pytest.raises(GraphvizNotFoundError, match="render_backward: no Graphviz renderer"):
        render_backward(loss, tmp_path / "frames")
    assert sorted(p.name for p in tmp_path.iterdir()) == [no_renderer.name]
    assert [v.grad for v in (loss, *leaves)] == [0.0] * 6


def test_frames_and_page_are_drawn_by_graphviz_pure_when_dot_is_hidden(tmp_path, pure_only):
    loss, _ = square_of_affine()
    frames = render_backward(loss, tmp_path / "frames")
    assert len(frames) == len(topological_order(loss))
    for frame in frames:
        assert "(graphviz-pure)" in frame.read_text(encoding="utf-8")
    page = explorer_html(loss)
    loss.backward()  # the page's picture shows the final grads
    svg = draw_dot(loss, max_nodes=MAX_NODES).pipe(format="svg", encoding="utf-8")
    assert "(graphviz-pure)" in svg
    assert page.count("<svg") == 1 and svg[svg.index("<svg"):] in page


def test_docstring_examples_pass():
    result = doctest.testmod(importlib.import_module("autograd.explorer"))
    assert result.attempted > 0 and result.failed == 0


def record_texts(svg_text, node_id):
    root = ET.fromstring(svg_text)
    for g in root.iter(f"{SVG}g"):
        title = g.find(f"{SVG}title")
        if g.get("class") == "node" and title is not None and title.text == node_id:
            return [t.text.strip() for t in g.iter(f"{SVG}text") if t.text]
    raise AssertionError(f"no node {node_id}")


def test_frames_and_page_draw_the_panels_names_on_unlabelled_records(tmp_path):
    x = Value(2.0, label="x")
    loss = (x * 3.0 + 1.0).tanh()  # nothing but x labelled: n0, n1, ... and L for the root
    trace = trace_backward(loss)
    names = node_labels(trace)
    ids = {v: f"v{i}" for i, v in enumerate(trace.order)}
    frame = render_backward(loss, tmp_path)[0].read_text(encoding="utf-8")
    page = explorer_html(loss)
    svg = page[page.index("<svg"):page.index("</svg>") + 6]
    for v in trace.order:
        assert names[v] in record_texts(frame, ids[v])
        assert names[v] in record_texts(svg, ids[v])
    assert all(v.label == "" for v in trace.order if v is not x)  # drawn, not assigned


def test_draw_dot_names_must_be_strings():
    x = Value(2.0, label="x")
    y = x * 3.0
    with pytest.raises(TypeError, match="draw_dot: names must map Values to str"):
        draw_dot(y, names={y: 1})
    assert "n1" in draw_dot(y, names={y: "n1"}).source
