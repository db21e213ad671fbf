"""Pictures of a Value's graph with Graphviz: data, gradients and the chain rule on the edges.

Needs the `viz` extra (the graphviz package), imported only when a picture is drawn; SVG, PNG
and PDF also need Graphviz's `dot` program.
"""

from .clusters import cluster_path
from .draw import MAX_NODES, draw_dot, node_names
from .render import FORMATS, GraphvizNotFoundError, render

__all__ = [
    "FORMATS",
    "MAX_NODES",
    "GraphvizNotFoundError",
    "cluster_path",
    "draw_dot",
    "node_names",
    "render",
]
