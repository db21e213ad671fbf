"""Pictures of a Value's graph with Graphviz: data, gradients and the chain rule on the edges.

Needs the `viz` extra (the graphviz package, and graphviz-pure where it has a wheel), imported
only when a picture is drawn. SVG and PNG need a renderer: Graphviz's `dot`, or graphviz-pure
when there is no `dot` (find_renderer says which one is used, use_renderer chooses); PDF needs
`dot`.
"""

from .clusters import cluster_path
from .draw import MAX_NODES, draw_dot, node_names
from .render import FORMATS, render
from .renderer import (
    ENV_VAR,
    GraphvizNotFoundError,
    Renderer,
    RenderError,
    find_renderer,
    use_renderer,
)

__all__ = [
    "ENV_VAR",
    "FORMATS",
    "MAX_NODES",
    "GraphvizNotFoundError",
    "RenderError",
    "Renderer",
    "cluster_path",
    "draw_dot",
    "find_renderer",
    "node_names",
    "render",
    "use_renderer",
]
