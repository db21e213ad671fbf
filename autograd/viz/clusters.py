"""Which module box (cluster) each node is drawn in, how boxes nest, which are collapsed, and
the Graphviz subgraphs that draw them.

A cluster path comes from a node's label: `layers.0.neurons.3.w.1` and `layers.0.neurons.3.z`
both sit in `layers.0.neurons.3`, which sits inside `layers.0`; a Conv1d's `0.weight.3.0.2` and
`0.out.3.5` sit in `0`. nn names its nodes this way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import ModuleType
from typing import TYPE_CHECKING

from . import style

if TYPE_CHECKING:
    import graphviz

    from ..value import Value

ClusterRule = Callable[["Value"], "str | None"]


def cluster_path(label: str) -> str | None:
    """Return the module path of a dotted label, or None: drop the trailing indices, then the
    name before them (a parameter's or an output's: ``w``, ``weight``, ``out``).

    >>> cluster_path("layers.0.neurons.3.w.1"), cluster_path("layers.0.neurons.3.b")
    ('layers.0.neurons.3', 'layers.0.neurons.3')
    >>> cluster_path("0.weight.3.0.2"), cluster_path("conv.out.4.7")  # a Conv1d's, by indices
    ('0', 'conv')
    >>> cluster_path("x"), cluster_path("w.1")
    (None, None)
    """
    parts = label.split(".")
    while len(parts) > 1 and parts[-1].isdigit():
        parts.pop()
    if len(parts) < 2:
        return None
    parts.pop()
    return ".".join(parts)


def levels(path: str) -> list[str]:
    """Return the nested boxes a path opens, outermost first: one per name (with its index).

    >>> levels("layers.0.neurons.3")
    ['layers.0', 'layers.0.neurons.3']
    """
    steps: list[list[str]] = []
    for part in path.split("."):
        if part.isdigit() and steps and not steps[-1][-1].isdigit():
            steps[-1].append(part)
        else:
            steps.append([part])
    return [".".join(".".join(step) for step in steps[:i + 1]) for i in range(len(steps))]


def assign(order: list[Value], clusters: bool | ClusterRule) -> dict[Value, str]:
    """Return the cluster path of each node that has one (nodes in order, topologically sorted).

    clusters=True uses the label rule, and also places an unlabelled intermediate node (a dot
    product inside a neuron) in cluster C when every node using it is in C and one of its
    operands is too. A callable decides for every node by itself; False gives no clusters.
    """
    if clusters is False:
        return {}
    if clusters is not True:
        rule = clusters
        return {node: path for node in order if (path := rule(node))}
    found = {node: path for node in order if node.label and (path := cluster_path(node.label))}
    users: dict[Value, list[Value]] = {}
    for node in order:
        for child in node.children:
            users.setdefault(child, []).append(node)
    # Users come after their operands in order, so walking it backwards sees every user first.
    candidate: dict[Value, str] = {}
    for node in reversed(order):
        if node in found or not node.children or node not in users:
            continue
        paths = {found.get(user) or candidate.get(user) for user in users[node]}
        if len(paths) == 1 and (path := paths.pop()):
            candidate[node] = path
    # Forwards, operands first: keep a candidate only if one of its operands is in the cluster.
    for node in order:
        path = candidate.get(node)
        if path and any(found.get(child) == path for child in node.children):
            found[node] = path
    return found


def boxes(assigned: dict[Value, str], collapse: bool | Iterable[str]) -> dict[Value, str]:
    """Return, for each node drawn inside a collapsed cluster, the path of that cluster's box.

    collapse=True collapses every outermost cluster; a name that is no cluster is a ValueError.
    """
    known: dict[str, None] = {}
    for path in assigned.values():
        known.update(dict.fromkeys(levels(path)))
    if collapse is True:
        wanted = {path for path in known if parent_of(path) is None}
    elif collapse is False:
        return {}
    else:
        wanted = set(collapse) if not isinstance(collapse, str) else {collapse}
        unknown = sorted(wanted - set(known))
        if unknown:
            shown = ", ".join(list(known)[:12]) or "none (no node has a dotted label)"
            raise ValueError(f"draw_dot: cannot collapse {', '.join(map(repr, unknown))}: "
                             f"no such cluster; the clusters are: {shown}")
    found = {}
    for node, path in assigned.items():
        # The outermost collapsed box wins: a collapsed layer swallows its neurons.
        box = next((level for level in levels(path) if level in wanted), None)
        if box is not None:
            found[node] = box
    return found


def parent_of(path: str) -> str | None:
    """Return the cluster path enclosing path, or None for an outermost cluster."""
    outer = levels(path)[:-1]
    return outer[-1] if outer else None


class Subgraphs:
    """The cluster subgraphs, made on first use, nested by path, attached to dot at the end."""

    def __init__(self, dot: graphviz.Digraph, graphviz_module: ModuleType) -> None:
        self.dot = dot
        self.made: dict[str, graphviz.Digraph] = {}
        self._graphviz = graphviz_module

    def get(self, path: str | None) -> graphviz.Digraph:
        """Return the subgraph drawing cluster path (the main graph for None), making it."""
        if path is None:
            return self.dot
        for level in levels(path):
            if level not in self.made:
                self.made[level] = self._make(level)
        return self.made[path]

    def add_box(self, path: str, name: str, count: int) -> None:
        """Add the one box standing for collapsed cluster path, inside the cluster around it."""
        self.get(parent_of(path)).node(
            name, label=style.box_label(_title(path), count), shape="box3d", style="filled",
            fillcolor=style.FILL_BOX, color=style.EDGE, margin="0.15,0.08")

    def _make(self, path: str) -> graphviz.Digraph:
        depth = len(levels(path)) - 1
        title = _title(path)
        return self._graphviz.Digraph(
            name=f"cluster_{path}",
            graph_attr={"label": title, "style": "rounded,filled", "color": "#b0bec5",
                        "fillcolor": style.FILL_CLUSTERS[min(depth, 2)], "fontsize": "10",
                        "fontcolor": "#546e7a", "labeljust": "l", "margin": "8"})

    def attach(self) -> None:
        """Add each cluster to its enclosing one, innermost first, since subgraph() copies."""
        for path in sorted(self.made, key=lambda p: -len(levels(p))):
            outer = parent_of(path)
            (self.made[outer] if outer else self.dot).subgraph(self.made[path])


def _title(path: str) -> str:
    """Return what a cluster's box says: its path below the enclosing cluster (neurons.3)."""
    outer = parent_of(path)
    return path[len(outer) + 1:] if outer else path
