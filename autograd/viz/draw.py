"""draw_dot: a Value's graph as a Graphviz Digraph, one record per Value, one node per op."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from html import escape
from types import ModuleType
from typing import TYPE_CHECKING

from ..graph import topological_order
from ..value import Value
from . import clusters as _clusters
from . import style

if TYPE_CHECKING:
    import graphviz

    from .clusters import ClusterRule

#: The most Values draw_dot draws unless told otherwise: dot lays out 500 in a few seconds.
MAX_NODES = 500
RANKDIRS = ("LR", "TB", "RL", "BT")


def node_names(root: Value) -> dict[Value, str]:
    """Return each node's DOT id: v<i> for the node at index i of topological_order(root).

    The op node that made v<i> is v<i>op. Graphviz's SVG puts each id in its node's <title>.
    """
    return {node: f"v{i}" for i, node in enumerate(topological_order(root))}


def draw_dot(root: Value, format: str = "svg", rankdir: str = "LR", show_grad: bool = True,
             show_local_grads: bool = False, highlight: Value | Iterable[Value] = (),
             edge_labels: Mapping[tuple[Value, Value], str] | None = None,
             color_by_grad: bool = False, clusters: bool | ClusterRule = True,
             collapse: bool | Iterable[str] = (), max_nodes: int = MAX_NODES,
             names: Mapping[Value, str] | None = None) -> graphviz.Digraph:
    """Return root's graph as a graphviz.Digraph: Values as records (label, data, grad), ops as
    small nodes, edges child -> op -> result. A notebook shows the Digraph inline, drawn by the
    renderer find_renderer() picks (graphviz-pure does without a system Graphviz).

    - show_local_grads: label each edge child -> op with d op / d child, the engine's memoized
      local derivative; edge_labels[(child, parent)] replaces that label (on the first such edge).
    - highlight: a Value or Values, drawn in amber.
    - color_by_grad: fill records by |grad|, and add a legend.
    - clusters: nodes whose labels are dotted module paths (nn's) are grouped in nested boxes;
      False turns that off, a callable Value -> path or None replaces the rule.
    - collapse=True, or collapse=("layers.0", ...): draw clusters as one box each.
    - max_nodes: more Values than this to draw is a ValueError, raised before Graphviz runs.
    - names: what to write on the records of unlabelled Values (the explorer's n8, L), so the
      picture and a text that refers to them use the same names.

    >>> from autograd import Value
    >>> x = Value(3.0, label="x")
    >>> source = draw_dot(x * x, show_local_grads=True).source
    >>> source.count("->"), source.count("label=3.0")  # x twice into *, d(x*x)/dx = 3 on each
    (3, 2)
    """
    if not isinstance(root, Value):
        raise TypeError(f"draw_dot: root must be a Value, got {type(root).__name__}")
    if rankdir not in RANKDIRS:
        raise ValueError(f"draw_dot: rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")
    if not isinstance(max_nodes, int) or isinstance(max_nodes, bool) or max_nodes < 1:
        raise ValueError(f"draw_dot: max_nodes must be a positive integer, got {max_nodes!r}")
    if not (isinstance(clusters, bool) or callable(clusters)):
        raise TypeError("draw_dot: clusters must be True, False or a function Value -> path "
                        f"or None, got {type(clusters).__name__}")
    lit = _checked_highlight(highlight)
    order = topological_order(root)
    if len(order) > max_nodes and not collapse:
        raise _too_many(len(order), max_nodes, collapsed=False)
    assigned = _clusters.assign(order, clusters)
    boxed = _clusters.boxes(assigned, collapse)
    drawn = len(order) - len(boxed) + len(set(boxed.values()))
    if drawn > max_nodes:
        raise _too_many(drawn, max_nodes, collapsed=True)
    labels = _checked_edge_labels(edge_labels)
    if names is not None and not all(isinstance(name, str) for name in names.values()):
        raise TypeError("draw_dot: names must map Values to str")
    shown_names = names or {}

    graphviz = _import_graphviz()
    from .digraph import Digraph

    font = style.PNG_FONT if format == "png" else style.FONT
    dot = Digraph(
        name="autograd", format=format,
        graph_attr={"rankdir": rankdir, "fontname": font, "bgcolor": "white",
                    "nodesep": "0.2", "ranksep": "0.3", "pad": "0.15",
                    # Top-down, Graphviz would mirror the operands (b, w.1, w.0); LR keeps them.
                    **({"ordering": "in"} if rankdir in ("TB", "BT") else {})},
        node_attr={"fontname": font, "fontsize": "11", "color": style.INK,
                   "fontcolor": style.INK},
        edge_attr={"fontname": font, "fontsize": "9", "color": style.EDGE,
                   "arrowsize": "0.6", "fontcolor": style.LOCAL_GRAD})
    ids = {node: f"v{i}" for i, node in enumerate(order)}
    ends = {node: f"box_{boxed[node]}" if node in boxed else ids[node] for node in order}
    grads = [abs(n.grad) for n in order if n not in boxed and math.isfinite(n.grad)]
    largest = max(grads, default=0.0) if color_by_grad else None

    subgraphs = _clusters.Subgraphs(dot, graphviz)
    counts = Counter(boxed.values())  # popped as each box is drawn, at its first member
    for node in _operand_order(root):
        box = boxed.get(node)
        if box is not None:
            if box in counts:
                subgraphs.add_box(box, ends[node], counts.pop(box))
            continue
        path = assigned.get(node)
        _add_value(subgraphs.get(path), node, ids[node], node.label or shown_names.get(node, ""),
                   path, node is root, node in lit, show_grad, largest)
    subgraphs.attach()

    _add_edges(dot, order, ids, ends, boxed, assigned, lit, labels, show_local_grads)
    if largest is not None:
        dot.node("legend", label=style.legend_label(largest), shape="plain")
    return dot


def _operand_order(root: Value) -> list[Value]:
    """Return the nodes children first, operands in operand order: the order they are declared.

    Graphviz keeps declaration order within a rank where it can, so w.0 is drawn above w.1.
    (topological_order visits the last operand first; it fixes the node names, not this.)
    """
    order: list[Value] = []
    seen: set[Value] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(node.children) if child not in seen)
    return order


def _add_value(graph: graphviz.Digraph, node: Value, name: str, label: str, path: str | None,
               is_root: bool, lit: bool, show_grad: bool, largest: float | None) -> None:
    """Add node's record (DOT id name, showing label), and its op node, to graph (the main graph
    or its cluster)."""
    grad = node.grad if show_grad else None
    bad = not math.isfinite(node.data) or (grad is not None and not math.isfinite(grad))
    text = style.INK
    if lit:
        fill = style.FILL_HIGHLIGHT
    elif bad:
        fill = style.FILL_BAD
    elif largest is not None:
        shade = style.grad_bin(abs(node.grad), largest)
        fill = style.GRAD_SCALE[shade]
        text = "white" if shade >= style.GRAD_DARK_FROM else style.INK
    elif is_root:
        fill = style.FILL_ROOT
    elif not node.op:
        fill = style.FILL_PARAMETER if "." in node.label else style.FILL_INPUT
    else:
        fill = style.FILL_INTERMEDIATE
    border = style.BAD if bad else style.BORDER_HIGHLIGHT if lit else style.INK
    width = 3 if lit else 2 if bad else 1
    # Inside its box a node needs only its own part of the name: w.1 inside layers.0.neurons.3.
    shown = label
    if path and shown.startswith(path + "."):
        shown = shown[len(path) + 1:]
    extra = {"tooltip": label} if shown != label else {}
    graph.node(name, label=style.record_label(shown, node.data, grad, fill, border, width, text),
               shape="plain", **extra)
    if node.op:
        ring = ({"color": style.BORDER_HIGHLIGHT, "penwidth": "2.5"} if lit
                else {"color": style.EDGE})
        graph.node(f"{name}op", label=node.op, shape="ellipse", style="filled",
                   fillcolor=style.FILL_OP, fontsize="10", width="0.3", height="0.3",
                   margin="0.04,0.02", **ring)


def _add_edges(dot: graphviz.Digraph, order: list[Value], names: dict[Value, str],
               ends: dict[Value, str], boxed: dict[Value, str], assigned: dict[Value, str],
               lit: set[Value], labels: Mapping[tuple[Value, Value], str],
               show_local_grads: bool) -> None:
    """Add the edges child -> op (id e_v<j>_v<i>_<k>) and op -> result (id e_v<i>op_v<i>)."""
    box_edges: set[str] = set()
    for i, node in enumerate(order):
        box = boxed.get(node)
        op_end = f"box_{box}" if box else f"v{i}op"
        # The step-through highlights the node being processed: its edges light up with it.
        colour = {"color": style.BORDER_HIGHLIGHT, "penwidth": "2"} if node in lit else {}
        for k, (child, local) in enumerate(zip(node.children, node.local_grads)):
            source = ends[child]
            if source == op_end:
                continue  # both ends inside one collapsed box
            if box or child in boxed:
                edge_id = f"e_{source}_{op_end}"
                if edge_id not in box_edges:  # one edge per (box, node) pair
                    box_edges.add(edge_id)
                    dot.edge(source, op_end, id=edge_id)
                continue
            attrs = dict(colour)
            if _enters_cluster(assigned.get(child), assigned.get(node)):
                # A rank of room lets a layer's box start after the previous one ends, so
                # layers sit side by side instead of in a staircase.
                attrs["minlen"] = "2"
            text = _edge_text(node, child, k, local, labels, show_local_grads)
            if text is not None:
                attrs["label"] = text
                if (child, node) not in labels and not math.isfinite(local):
                    attrs["fontcolor"] = style.BAD
            dot.edge(source, op_end, id=f"e_{names[child]}_v{i}_{k}", **attrs)
        if node.op and not box:
            dot.edge(f"v{i}op", names[node], id=f"e_v{i}op_v{i}", **colour)


def _enters_cluster(source: str | None, target: str | None) -> bool:
    """Return whether an edge from cluster source to cluster target enters target from outside."""
    return target is not None and source != target and not (source or "").startswith(target + ".")


def _edge_text(node: Value, child: Value, k: int, local: float,
               labels: Mapping[tuple[Value, Value], str], show_local_grads: bool) -> str | None:
    """Return the label of the edge from node.children[k] to node's op, or None for no label."""
    text = labels.get((child, node))
    if text is not None:
        # x * x has two edges from x; the caller's label describes the pair, so it is shown once.
        if node.children.index(child) != k:
            return None
        lines = [escape(line) for line in text.split("\n")]
        if len(lines) == 1:
            return f"<{lines[0]}>"
        return "<" + "".join(f'{line}<BR ALIGN="LEFT"/>' for line in lines) + ">"
    return style.fmt(local) if show_local_grads else None


def _checked_highlight(highlight: Value | Iterable[Value]) -> set[Value]:
    nodes = {highlight} if isinstance(highlight, Value) else set(highlight)
    strays = [node for node in nodes if not isinstance(node, Value)]
    if strays:
        raise TypeError(f"draw_dot: highlight takes a Value or Values, got a "
                        f"{type(strays[0]).__name__}: {strays[0]!r:.40}")
    return nodes


def _checked_edge_labels(
        edge_labels: Mapping[tuple[Value, Value], str] | None) -> Mapping[tuple[Value, Value], str]:
    if not edge_labels:
        return {}
    for key in edge_labels:
        parent = key[1] if isinstance(key, tuple) and len(key) == 2 else None
        if not isinstance(parent, Value) or not any(c is key[0] for c in parent.children):
            raise ValueError(f"draw_dot: edge_labels key {key!r} is no edge: it must be a pair "
                             "(child, parent) with child among parent.children")
        if not isinstance(edge_labels[key], str):
            raise TypeError(f"draw_dot: edge_labels values must be str, got "
                            f"{type(edge_labels[key]).__name__} for {key!r}")
    return edge_labels


def _too_many(count: int, max_nodes: int, collapsed: bool) -> ValueError:
    what = "Values and boxes to draw after collapsing" if collapsed else "Values"
    return ValueError(
        f"draw_dot: the graph has {count} {what}, more than max_nodes={max_nodes}; Graphviz "
        "would take very long to lay it out and nobody could read it. Draw a smaller graph, "
        f"pass max_nodes={count} (or more) to draw it anyway, or collapse module clusters into "
        "single boxes with collapse=True or collapse=('layers.0', ...).")


def _import_graphviz() -> ModuleType:
    try:
        import graphviz
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(
            "autograd.viz needs the graphviz Python package: pip install -e '.[viz]' "
            "(or pip install graphviz)", name="graphviz") from error
    module: ModuleType = graphviz
    return module
