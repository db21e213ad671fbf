"""render: write the picture of a Value's graph to a file, the format taken from its suffix."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .draw import draw_dot

if TYPE_CHECKING:
    import graphviz

    from ..value import Value

#: File suffix -> Graphviz output format. .dot is the DOT source itself: no binary needed.
FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot"}

#: Graphviz's default of 96 makes 9-point edge labels hard to read in a PNG.
PNG_DPI = 150

_INSTALL = ("Graphviz 'dot' not found on PATH; install it with `apt-get install graphviz` "
            "(Debian/Ubuntu) or `brew install graphviz`")


class GraphvizNotFoundError(RuntimeError):
    """The Graphviz `dot` program, which turns DOT text into SVG, PNG or PDF, is not installed."""


def render(root: Value, path: str | os.PathLike[str], **kwargs: Any) -> Path:
    """Write the picture of root's graph to path and return path; the suffix picks the format.

    .svg, .png and .pdf need Graphviz's `dot` program (GraphvizNotFoundError says how to install
    it); .dot writes the DOT source and needs nothing. Missing parent directories are made.
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
    """Return dot laid out by Graphviz's `dot` program in format fmt (svg, png, pdf).

    A missing `dot` program raises GraphvizNotFoundError naming caller and saying how to
    install it (then hint, if given).
    """
    import graphviz

    try:
        data: bytes = dot.pipe(format=fmt)
    except graphviz.ExecutableNotFound as error:
        raise GraphvizNotFoundError(f"{caller}: {_INSTALL}{', ' + hint if hint else ''}") \
            from error
    return data
