"""render: write the picture of a Value's graph to a file, the format taken from its suffix."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .draw import draw_dot
from .renderer import GraphvizNotFoundError, draw

if TYPE_CHECKING:
    import graphviz

    from ..value import Value

#: File suffix -> Graphviz output format. .dot is the DOT source itself: no binary needed.
FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot"}

#: Graphviz's default of 96 makes 9-point edge labels hard to read in a PNG.
PNG_DPI = 150

__all__ = ["FORMATS", "PNG_DPI", "GraphvizNotFoundError", "pipe", "render"]


def render(root: Value, path: str | os.PathLike[str], **kwargs: Any) -> Path:
    """Write the picture of root's graph to path and return path; the suffix picks the format.

    .svg and .png need a renderer, Graphviz's `dot` or graphviz-pure (find_renderer picks it), and
    .pdf needs `dot`; GraphvizNotFoundError says what to install. .dot writes the DOT source and
    needs nothing. Missing parent directories are made.
    kwargs go to draw_dot (show_local_grads=True, collapse=True, ...).

    >>> import tempfile
    >>> from autograd import Value
    >>> x = Value(2.0, label="x")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     render(x.tanh(), Path(tmp) / "pictures" / "tanh.dot").name
    'tanh.dot'
    """
    target = Path(path)
    fmt = FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise ValueError(f"render: cannot tell the format of {str(target)!r} from its suffix "
                         f"{target.suffix!r}; use one of {', '.join(FORMATS)}")
    if "format" in kwargs:
        raise TypeError("render: the file suffix decides the format; drop format=")
    dot = draw_dot(root, format=fmt, **kwargs)
    if fmt == "dot":
        data = dot.source.encode("utf-8")
    else:
        if fmt == "png":
            dot.graph_attr["dpi"] = str(PNG_DPI)
        data = pipe(dot, fmt, "render", hint="or render to .dot, which needs no binary")
    # Drawn first, then written: a failed call leaves no empty directory behind.
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def pipe(dot: graphviz.Digraph, fmt: str, caller: str, hint: str = "") -> bytes:
    """Return dot drawn in format fmt (svg, png, pdf) by the renderer find_renderer() picks.

    A missing renderer, or one that cannot write fmt, raises GraphvizNotFoundError naming caller
    and saying what to install (then hint, if given).
    """
    return draw(dot.source, fmt, caller, hint)
