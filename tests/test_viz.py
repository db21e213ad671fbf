"""autograd.viz: the pictures show the graph's numbers, its chain rule and its module boxes."""

import doctest
import importlib
import math
import re
import struct
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
import zlib

import pytest

graphviz = pytest.importorskip("graphviz")

from autograd import Value, topological_order  # noqa: E402
from autograd.viz import (  # noqa: E402
    GraphvizNotFoundError,
    cluster_path,
    draw_dot,
    node_names,
    render,
)
from autograd.viz.clusters import levels  # noqa: E402
from autograd.viz.renderer import find_renderer  # noqa: E402
from autograd.viz.style import BAD, FILL_HIGHLIGHT, GRAD_SCALE, fmt  # noqa: E402


def _has_renderer() -> bool:
    try:
        find_renderer()
    except GraphvizNotFoundError:
        return False
    return True


# Pictures need dot or graphviz-pure; CI runs these tests once with each.
needs_dot = pytest.mark.skipif(not _has_renderer(), reason="no Graphviz renderer: pip install "
                               "graphviz-pure, or apt-get install graphviz")
SVG = "{http://www.w3.org/2000/svg}"

NEURON_SOURCE = """
from autograd import Value
x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
b = Value(6.8813735870195432, label="b")
x1w1, x2w2 = x1 * w1, x2 * w2
n = x1w1 + x2w2 + b
n.label = "n"
o = n.tanh()
o.label = "o"
o.backward()
"""


def neuron() -> Value:
    """The tanh neuron of micrograd's lecture: 10 Values, 5 ops, backward() already run."""
    scope: dict = {}
    exec(NEURON_SOURCE, scope)
    return scope["o"]


def svg_of(root: Value, **kwargs) -> ET.Element:
    return ET.fromstring(draw_dot(root, **kwargs).pipe(format="svg"))


def groups(svg: ET.Element, kind: str) -> dict[str, ET.Element]:
    """Return the SVG groups of one kind ("node", "edge", "cluster") by their <title>."""
    return {g.find(f"{SVG}title").text: g for g in svg.iter(f"{SVG}g") if g.get("class") == kind}


def texts(group: ET.Element) -> list[str]:
    return [t.text.strip() for t in group.iter(f"{SVG}text") if t.text and t.text.strip()]


def edges_by_id(svg: ET.Element) -> dict[str, ET.Element]:
    return {g.get("id"): g for g in svg.iter(f"{SVG}g") if g.get("class") == "edge"}


def extent(group: ET.Element) -> tuple[float, float, float, float]:
    """Return the bounding box (x0, y0, x1, y1) of every path and polygon in a group."""
    numbers = []
    for shape in group.iter():
        if shape.tag in (f"{SVG}path", f"{SVG}polygon"):
            numbers += re.findall(r"-?\d+\.?\d*", shape.get("d") or shape.get("points"))
    xs, ys = [float(x) for x in numbers[0::2]], [float(y) for y in numbers[1::2]]
    return min(xs), min(ys), max(xs), max(ys)


def decoded_png(data: bytes) -> tuple[int, int]:
    """Decode a PNG far enough to trust it and return (width, height): every chunk's CRC holds,
    and the inflated pixel rows have exactly the length the header promises."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, header, pixels = 8, None, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in chunk {kind!r}"
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            pixels += body
        pos += 12 + length
    assert header is not None and kind == b"IEND"
    width, height, depth, colour, _, _, interlace = header
    assert interlace == 0 and depth == 8
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
    assert len(zlib.decompress(pixels)) == height * (1 + width * channels)
    return width, height


def inside(inner: tuple, outer: tuple) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] \
        and inner[3] <= outer[3]


def cluster_source(source: str, path: str) -> str:
    """Return the DOT text of cluster path, up to its first closing brace."""
    start = source.index(f'subgraph "cluster_{path}"')
    return source[start:source.index("}", start)]


def mlp_loss(sizes=(3, 1)):
    nn = pytest.importorskip("nn")
    model = nn.MLP(2, list(sizes), seed=0)
    loss = nn.mse_loss(model([0.5, -1.0]), [1.0])
    loss.backward()
    return model, loss


# ---- records, ops, edges -------------------------------------------------------------------


@needs_dot
def test_svg_has_one_record_per_value_one_node_per_op_and_their_edges():
    o = neuron()
    order = topological_order(o)
    nodes = groups(svg_of(o), "node")
    values = {name for name in nodes if re.fullmatch(r"v\d+", name)}
    ops = {name for name in nodes if name.endswith("op")}
    assert (len(values), len(ops), len(nodes)) == (10, 5, 15)
    assert ops == {f"v{i}op" for i, node in enumerate(order) if node.op}
    for i, node in enumerate(order):
        shown = texts(nodes[f"v{i}"])
        assert f"data {fmt(node.data)}" in shown and f"grad {fmt(node.grad)}" in shown
        assert (node.label in shown) == bool(node.label)
        if node.op:
            assert texts(nodes[f"v{i}op"]) == [node.op]
    edges = edges_by_id(svg_of(o))
    assert len(edges) == 9 + 5  # each operand into its op, each op into its result


@needs_dot
def test_record_numbers_are_the_values_to_four_significant_digits():
    o = neuron()
    nodes = groups(svg_of(o), "node")
    shown = texts(nodes[node_names(o)[o]])
    assert shown == ["o", "data 0.7071", "grad 1.0"]
    assert float(shown[1].split()[1]) == pytest.approx(o.data, rel=1e-4)
    x1 = next(n for n in topological_order(o) if n.label == "x1")
    assert texts(nodes[node_names(o)[x1]]) == ["x1", "data 2.0", "grad -1.5"]


def test_fmt_is_four_significant_digits_with_floats_looking_like_floats():
    assert [fmt(x) for x in (2.0, -0.5, 0.70710678, 1234.4, 1.2344e-7, -0.0)] == \
        ["2.0", "-0.5", "0.7071", "1234", "1.234e-07", "-0.0"]
    assert [fmt(x) for x in (math.nan, math.inf, -math.inf)] == ["nan", "inf", "-inf"]


def test_node_names_follow_topological_order_and_edges_use_them():
    o = neuron()
    order = topological_order(o)
    assert node_names(o) == {node: f"v{i}" for i, node in enumerate(order)}
    source = draw_dot(o).source
    for i, node in enumerate(order):
        for k, child in enumerate(node.children):
            assert f"v{order.index(child)} -> v{i}op [id=e_v{order.index(child)}_v{i}_{k}]" \
                in source
        if node.op:
            assert f"v{i}op -> v{i} [id=e_v{i}op_v{i}]" in source


def test_a_child_used_twice_gets_two_edges():
    x = Value(3.0, label="x")
    source = draw_dot(x * x).source
    assert "v0 -> v1op [id=e_v0_v1_0]" in source and "v0 -> v1op [id=e_v0_v1_1]" in source


@needs_dot
def test_local_derivative_edge_labels_are_the_engines_memoized_numbers():
    o = neuron()
    order = topological_order(o)
    edges = edges_by_id(svg_of(o, show_local_grads=True))
    checked = 0
    for i, node in enumerate(order):
        for k, (child, local) in enumerate(zip(node.children, node.local_grads)):
            label = texts(edges[f"e_v{order.index(child)}_v{i}_{k}"])
            assert label == [fmt(local)]
            assert float(label[0]) == pytest.approx(local, rel=1e-3, abs=1e-12)
            checked += 1
    assert checked == 9
    assert texts(edges["e_v9op_v9"]) == []  # op -> result carries no derivative


@needs_dot
def test_show_grad_false_leaves_grads_out():
    nodes = groups(svg_of(neuron(), show_grad=False), "node")
    shown = [t for g in nodes.values() for t in texts(g)]
    assert not any(t.startswith("grad") for t in shown)
    assert sum(t.startswith("data") for t in shown) == 10


def test_rankdir_is_passed_on_and_checked():
    top_down = draw_dot(neuron(), rankdir="TB").source
    assert "rankdir=TB" in top_down and "ordering=in" in top_down  # operands left to right
    assert "ordering" not in draw_dot(neuron()).source
    with pytest.raises(ValueError, match="rankdir must be one of LR, TB"):
        draw_dot(neuron(), rankdir="up")


# ---- highlight, edge labels, colours -------------------------------------------------------


@needs_dot
def test_highlighted_nodes_get_the_highlight_fill_and_a_thicker_border():
    o = neuron()
    n = o.children[0]
    nodes = groups(svg_of(o, highlight=[n]), "node")
    names = node_names(o)
    lit = nodes[names[n]]
    fills = {shape.get("fill") for shape in lit}
    assert FILL_HIGHLIGHT in fills
    assert any(float(shape.get("stroke-width", 1)) >= 3 for shape in lit)
    assert all(FILL_HIGHLIGHT not in {s.get("fill") for s in g}
               for name, g in nodes.items() if name != names[n])


@needs_dot
def test_edge_labels_replace_the_local_derivative_and_show_every_line():
    o = neuron()
    n = o.children[0]
    b = n.children[1]
    labels = {(b, n): "dL/db = 0.5\nsecond line", (n, o): "to tanh"}
    edges = edges_by_id(svg_of(o, show_local_grads=True, edge_labels=labels))
    names = node_names(o)
    assert texts(edges[f"e_{names[b]}_{names[n]}_1"]) == ["dL/db = 0.5", "second line"]
    assert texts(edges[f"e_{names[n]}_{names[o]}_0"]) == ["to tanh"]
    assert texts(edges[f"e_{names[n.children[0]]}_{names[n]}_0"]) == ["1.0"]  # not overridden


def test_edge_label_for_an_operand_used_twice_is_drawn_once():
    x = Value(3.0, label="x")
    y = x * x
    source = draw_dot(y, edge_labels={(x, y): "both uses"}).source
    assert source.count("both uses") == 1


def test_edge_labels_must_name_real_edges():
    o = neuron()
    with pytest.raises(ValueError, match="edge_labels key"):
        draw_dot(o, edge_labels={(o, o): "no such edge"})
    with pytest.raises(ValueError, match="edge_labels key"):
        draw_dot(o, edge_labels={(o,): "not a pair"})
    with pytest.raises(TypeError, match="edge_labels values must be str"):
        draw_dot(o, edge_labels={(o.children[0], o): 1.5})


def test_highlight_takes_one_value_too():
    o = neuron()
    one, many = draw_dot(o, highlight=o).source, draw_dot(o, highlight=[o]).source
    assert one == many and FILL_HIGHLIGHT in one


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(highlight=[1.0]), TypeError, "highlight takes a Value or Values, got a float"),
    (dict(max_nodes=0), ValueError, "max_nodes must be a positive integer, got 0"),
    (dict(max_nodes="500"), ValueError, "max_nodes must be a positive integer"),
    (dict(clusters="yes"), TypeError, "clusters must be True, False or a function"),
], ids=["highlight", "max_nodes 0", "max_nodes str", "clusters"])
def test_bad_options_raise_clear_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        draw_dot(neuron(), **kwargs)


@pytest.mark.parametrize("root", [3.0, None, [Value(1.0)]], ids=["float", "None", "list"])
def test_a_root_that_is_not_a_value_is_a_type_error(root, tmp_path):
    with pytest.raises(TypeError, match="draw_dot: root must be a Value"):
        draw_dot(root)
    with pytest.raises(TypeError, match="root must be a Value"):
        render(root, tmp_path / "picture.dot")
    assert list(tmp_path.iterdir()) == []


@needs_dot
def test_nan_and_inf_are_drawn_in_red_and_finite_nodes_are_not():
    x = Value(math.inf, label="x")
    y = x * 0.0  # inf * 0 = nan
    y.label = "y"
    z = Value(1.0, label="z") + 2.0
    root = y + z
    root.grad = 1.0
    nodes = groups(svg_of(root), "node")
    names = node_names(root)
    for bad, text in ((x, "data inf"), (y, "data nan")):
        red = [t for t in nodes[names[bad]].iter(f"{SVG}text") if t.get("fill") == BAD]
        assert [t.text for t in red] == [text]
        assert any(shape.get("stroke") == BAD for shape in nodes[names[bad]])
    for good in z.children:
        assert all(BAD not in (e.get("fill"), e.get("stroke")) for e in nodes[names[good]].iter())


@needs_dot
def test_colour_by_grad_uses_the_darkest_shade_for_the_largest_grad_and_adds_a_legend():
    o = neuron()
    nodes = groups(svg_of(o, color_by_grad=True), "node")
    x1 = next(n for n in topological_order(o) if n.label == "x1")  # |grad| 1.5, the largest
    assert GRAD_SCALE[-1] in {shape.get("fill") for shape in nodes[node_names(o)[x1]]}
    legend = texts(nodes["legend"])
    assert legend[0] == "|grad|" and legend[-1] == "1.2 to 1.5"
    assert len(legend) == 1 + len(GRAD_SCALE)


# ---- clusters ------------------------------------------------------------------------------


def test_cluster_path_drops_the_last_segment_and_its_index():
    assert cluster_path("layers.0.neurons.3.w.1") == "layers.0.neurons.3"
    assert cluster_path("layers.0.neurons.3.b") == "layers.0.neurons.3"
    assert cluster_path("layers.0.neurons.3.out") == "layers.0.neurons.3"
    assert (cluster_path("x"), cluster_path("w.1"), cluster_path("")) == (None, None, None)
    assert levels("layers.0.neurons.3") == ["layers.0", "layers.0.neurons.3"]
    assert levels("encoder.fc") == ["encoder", "encoder.fc"]


def hand_made_layer() -> Value:
    """Two neurons named like nn's, without nn: w * x products unlabelled inside each."""
    xs = [Value(0.5, label="x0"), Value(-1.0, label="x1")]
    outs = []
    for j in range(2):
        ws = [Value(0.1 * (i + j + 1), label=f"layers.0.neurons.{j}.w.{i}") for i in range(2)]
        b = Value(0.2, label=f"layers.0.neurons.{j}.b")
        z = ws[0] * xs[0] + ws[1] * xs[1] + b
        z.label = f"layers.0.neurons.{j}.z"
        outs.append(z.tanh())
        outs[-1].label = f"layers.0.neurons.{j}.out"
    return outs[0] + outs[1]


@needs_dot
def test_dotted_labels_make_nested_labelled_clusters_holding_their_nodes():
    root = hand_made_layer()
    svg = svg_of(root)
    clusters = groups(svg, "cluster")
    assert set(clusters) == {"cluster_layers.0", "cluster_layers.0.neurons.0",
                             "cluster_layers.0.neurons.1"}
    assert texts(clusters["cluster_layers.0"]) == ["layers.0"]
    assert texts(clusters["cluster_layers.0.neurons.1"]) == ["neurons.1"]
    inner = extent(clusters["cluster_layers.0.neurons.1"])
    assert inside(inner, extent(clusters["cluster_layers.0"]))
    nodes = groups(svg, "node")
    names = node_names(root)
    members = [n for n in topological_order(root) if n.label.startswith("layers.0.neurons.1.")]
    assert len(members) == 5  # w.0, w.1, b, z, out
    for node in members:
        assert inside(extent(nodes[names[node]]), inner)
    w = next(n for n in topological_order(root) if n.label == "layers.0.neurons.1.w.0")
    assert texts(nodes[names[w]])[0] == "w.0"  # the box says the rest of the name


def test_unlabelled_nodes_inside_a_neuron_join_its_cluster_but_inputs_do_not():
    source = draw_dot(hand_made_layer()).source
    inner = cluster_source(source, "layers.0.neurons.0")
    assert inner.count("op [label=\"*\"") == 2 and inner.count("op [label=\"+\"") == 2
    assert "x0" not in inner and "x1" not in inner


def test_clusters_false_and_a_custom_rule():
    root = hand_made_layer()
    assert "subgraph" not in draw_dot(root, clusters=False).source
    source = draw_dot(root, clusters=lambda v: "inputs" if v.label.startswith("x") else None).source
    assert source.count("subgraph") == 1 and 'label=inputs' in source


@needs_dot
def test_mlp_picture_has_a_box_per_layer_and_per_neuron():
    model, loss = mlp_loss((3, 1))
    clusters = groups(svg_of(loss), "cluster")
    assert set(clusters) == {"cluster_layers.0", "cluster_layers.1",
                             *(f"cluster_layers.0.neurons.{j}" for j in range(3)),
                             "cluster_layers.1.neurons.0"}
    nodes = groups(svg_of(loss), "node")
    names = node_names(loss)
    inner = extent(clusters["cluster_layers.0.neurons.2"])
    for p in model.layers[0].neurons[2].parameters():
        assert inside(extent(nodes[names[p]]), inner)


@needs_dot
def test_collapse_draws_each_cluster_as_one_box_with_its_count_and_reroutes_edges():
    model, loss = mlp_loss((3, 1))
    svg = svg_of(loss, collapse=True)
    nodes, edges = groups(svg, "node"), edges_by_id(svg)
    layer0 = sum(1 for n in topological_order(loss) if n.label.startswith("layers.0."))
    assert texts(nodes["box_layers.0"]) == ["layers.0", f"collapsed: {layer0} Values"]
    assert "box_layers.1" in nodes and not groups(svg, "cluster")
    assert not any(node_names(loss)[p] in nodes for p in model.parameters())
    assert "e_box_layers.0_box_layers.1" in edges  # three neuron outputs, one edge


def _conv_net_loss():
    from nn import Conv1d, Flatten, Linear, ReLU, Sequential, cross_entropy

    net = Sequential(Conv1d(1, 3, 3, stride=2, padding=1, seed=0), ReLU(), Flatten(),
                     Linear(3 * 4, 2, seed=1))
    loss = cross_entropy([net([[0.1 * t - 0.3 for t in range(8)]])], [1])
    loss.backward()
    return net, loss


def test_cluster_path_puts_a_conv_layers_weights_and_outputs_in_its_box():
    assert cluster_path("0.weight.3.0.2") == "0" and cluster_path("0.bias.3") == "0"
    assert cluster_path("0.out.3.5") == "0" and cluster_path("7.out.9") == "7"
    assert cluster_path("features.2.weight.0.1.1") == "features.2"
    assert levels("features.2") == ["features.2"]
    assert cluster_path("x.0.1") is None


def test_conv_layers_are_boxes_and_collapse_folds_each_one():
    net, loss = _conv_net_loss()
    source = draw_dot(loss).source
    for box in ("0", "1", "3"):  # graphviz quotes a name only when it needs to
        assert f"subgraph cluster_{box} {{" in source
    start = source.index("subgraph cluster_0 {")
    conv_box = source[start:source.index("}", start)]
    names = node_names(loss)
    assert all(f"{names[p]} [" in conv_box for p in net[0].parameters())
    collapsed = draw_dot(loss, collapse=True).source
    counts = {box: sum(1 for n in topological_order(loss) if cluster_path(n.label) == box)
              for box in ("0", "1", "3")}
    assert counts["0"] == 9 + 3 + 3 * 4  # weights, biases, outputs
    for box, count in counts.items():
        assert f"collapsed: {count} Values" in collapsed and f"box_{box} " in collapsed
    assert "box_0 -> box_1" in collapsed and "box_1 -> box_3" in collapsed
    only_conv = draw_dot(loss, collapse=["0"]).source
    assert "box_0 " in only_conv and "box_1 " not in only_conv


def test_collapse_of_one_neuron_keeps_the_rest_and_unknown_names_are_an_error():
    root = hand_made_layer()
    source = draw_dot(root, collapse=["layers.0.neurons.1"]).source
    assert '"box_layers.0.neurons.1"' in cluster_source(source, "layers.0")
    assert 'subgraph "cluster_layers.0.neurons.0"' in source
    assert 'subgraph "cluster_layers.0.neurons.1"' not in source
    with pytest.raises(ValueError, match=r"cannot collapse 'layers\.5'.*layers\.0"):
        draw_dot(root, collapse=["layers.5"])


# ---- size, determinism, Jupyter ------------------------------------------------------------


def test_size_cap_fails_fast_on_a_100000_node_chain():
    x = Value(0.5, label="x")
    for _ in range(100_000):
        x = -x
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"100001 Values.*max_nodes=500.*collapse"):
        draw_dot(x)
    assert time.perf_counter() - start < 3.0


def test_size_cap_counts_what_is_drawn_after_collapsing():
    root = hand_made_layer()
    with pytest.raises(ValueError, match="max_nodes=10"):
        draw_dot(root, max_nodes=10)
    draw_dot(root, max_nodes=10, collapse=True)  # 5 Values outside + 1 box


def test_dot_source_is_identical_across_runs_and_processes():
    first = draw_dot(neuron(), show_local_grads=True, color_by_grad=True).source
    assert draw_dot(neuron(), show_local_grads=True, color_by_grad=True).source == first
    script = NEURON_SOURCE + textwrap.dedent("""
        import sys
        from autograd.viz import draw_dot
        sys.stdout.write(draw_dot(o, show_local_grads=True, color_by_grad=True).source)
    """)
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           check=True).stdout
    assert other == first


@needs_dot
def test_the_digraph_shows_itself_in_jupyter_as_svg():
    bundle = draw_dot(neuron())._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]
    assert isinstance(draw_dot(neuron()), graphviz.Digraph)


def test_the_digraph_shows_itself_in_jupyter_with_graphviz_pure_alone(pure_only):
    assert pure_only.name == "graphviz-pure"
    svg = draw_dot(neuron())._repr_mimebundle_()["image/svg+xml"]
    assert "(graphviz-pure)" in svg
    assert len(groups(ET.fromstring(svg), "node")) == 15
    png = draw_dot(neuron())._repr_mimebundle_(include=["image/png"])["image/png"]
    assert decoded_png(png)[0] > 100


# ---- render --------------------------------------------------------------------------------


@needs_dot
def test_render_writes_svg_png_and_pdf_into_new_directories(tmp_path):
    o = neuron()
    svg = render(o, tmp_path / "a" / "b" / "neuron.svg", show_local_grads=True)
    assert svg == tmp_path / "a" / "b" / "neuron.svg"
    assert len(groups(ET.parse(svg).getroot(), "node")) == 15
    png = render(o, tmp_path / "neuron.PNG")
    width, height = decoded_png(png.read_bytes())
    assert width > 3 * height > 150  # left to right, drawn at 150 dpi
    if find_renderer().name == "dot":
        assert render(o, tmp_path / "neuron.pdf").read_bytes()[:5] == b"%PDF-"
    else:
        with pytest.raises(GraphvizNotFoundError, match=r"PDF needs Graphviz's dot.*\.png"):
            render(o, tmp_path / "neuron.pdf")
        assert not (tmp_path / "neuron.pdf").exists()


@needs_dot
def test_the_same_graph_gives_the_same_svg_bytes_twice(tmp_path):
    first = render(neuron(), tmp_path / "first.svg", show_local_grads=True).read_bytes()
    second = render(neuron(), tmp_path / "second.svg", show_local_grads=True).read_bytes()
    assert first == second


def test_render_dot_writes_the_source_without_the_binary(tmp_path, no_renderer):
    o = neuron()
    path = render(o, tmp_path / "out" / "neuron.dot")
    assert path.read_text(encoding="utf-8") == draw_dot(o, format="dot").source


def test_render_without_any_renderer_says_what_to_install_on_each_platform(tmp_path,
                                                                           no_renderer):
    for suffix in (".svg", ".png", ".pdf"):
        with pytest.raises(GraphvizNotFoundError) as caught:
            render(neuron(), tmp_path / "out" / f"neuron{suffix}")
        message = str(caught.value)
        assert message.startswith("render: no Graphviz renderer found")
        for fix in ("pip install graphviz-pure", "apt-get install graphviz",
                    "brew install graphviz", "winget install graphviz", "CHAINRULE_DOT",
                    "render to .dot, which needs no binary"):
            assert fix in message
    assert issubclass(GraphvizNotFoundError, RuntimeError)
    assert not (tmp_path / "out").exists()


def test_render_rejects_unknown_suffixes_and_a_format_argument(tmp_path):
    with pytest.raises(ValueError, match=r"\.svg, \.png, \.pdf, \.dot"):
        render(neuron(), tmp_path / "neuron.jpg")
    with pytest.raises(TypeError, match="suffix decides"):
        render(neuron(), tmp_path / "neuron.svg", format="png")


def test_engine_and_viz_import_without_graphviz_and_drawing_says_what_to_install():
    script = textwrap.dedent("""
        import sys
        sys.modules["graphviz"] = None  # as if it were not installed
        import autograd, nn, autograd.viz
        try:
            autograd.viz.draw_dot(autograd.Value(1.0))
        except ModuleNotFoundError as error:
            print(error)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout
    assert "pip install" in out and "graphviz" in out


@pytest.mark.parametrize("module", ["autograd.viz.draw", "autograd.viz.clusters",
                                    "autograd.viz.render"])
def test_docstring_examples_pass(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
