"""Watch the backward pass: one SVG frame per sweep step, or one HTML page to step through.

Both draw the graph with autograd.viz (Graphviz) and the numbers with trace_backward. The page
is self-contained: the SVG, the trace, the script and the styles are inlined, so it opens from
disk and fetches nothing.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from .graph import topological_order
from .trace import BackwardTrace, trace_backward
from .value import Value
from .viz import draw_dot, node_names
from .viz.render import pipe
from .viz.style import fmt

#: The most Values explore() and render_backward() accept, as many as draw_dot draws by
#: default. MLP(2, [16, 16, 1])'s loss on one sample (406 Values) lays out in under a second,
#: is a 1.2 MB page that opens in about 1.5 s and steps in about 25 ms; past 500 one step in
#: hundreds is no longer something a learner follows, and a smaller graph teaches more.
MAX_NODES = 500


def node_labels(trace: BackwardTrace) -> dict[Value, str]:
    """Return each node's name in formulas: its label, "L" for an unlabelled root, else n<i>.

    i is the node's index in topological order, the same i as its DOT id v<i>.

    >>> from autograd import Value
    >>> x = Value(2.0, label="x")
    >>> sorted(node_labels(trace_backward(x * 3.0)).values())
    ['L', 'n0', 'x']
    """
    names = {node: node.label or f"n{i}" for i, node in enumerate(trace.order)}
    if not trace.root.label:
        names[trace.root] = "L"
    return names


def _wrap(name: str) -> str:
    """name as it goes into dL/dx: long or dotted names in parentheses, dL/d(layer.0.w.1)."""
    return name if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,5}", name) else f"({name})"


def _factor(x: float) -> str:
    """fmt(x), in parentheses when negative, for the right side of a product."""
    return f"({fmt(x)})" if fmt(x).startswith("-") else fmt(x)


def edge_arithmetic(trace: BackwardTrace, step_index: int) -> dict[tuple[Value, Value], str]:
    """Return the chain-rule line for each edge of a step, keyed (child, node) as draw_dot wants.

    An operand used twice by the node (x * x) gets both lines on one label, since draw_dot
    labels edges by (child, parent).

    >>> from autograd import Value
    >>> x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    >>> y = x * w
    >>> y.label = "y"
    >>> print(edge_arithmetic(trace_backward(y, 0.5), 0)[(x, y)])
    dy/dx += dy/dy * dy/dx = 0.5 * (-3.0) = -1.5
    """
    names = {node: _wrap(name) for node, name in node_labels(trace).items()}
    step = trace.steps[step_index]
    root, y = names[trace.root], names[step.node]
    lines: dict[tuple[Value, Value], list[str]] = {}
    for c in step.contributions:
        x = names[c.child]
        line = (f"d{root}/d{x} += d{root}/d{y} * d{y}/d{x} = "
                f"{fmt(step.upstream)} * {_factor(c.local)} = {fmt(c.contribution)}")
        if c.total != c.contribution:
            line += f"  (d{root}/d{x} now {fmt(c.total)})"
        lines.setdefault((c.child, step.node), []).append(line)
    return {key: "\n".join(value) for key, value in lines.items()}


def render_backward(root: Value, directory: str | Path, gradient: float = 1.0) -> list[Path]:
    """Write one SVG per backward step into directory (step_000.svg, ...) and return the paths.

    Each frame highlights the node being processed, labels its edges to its operands with the
    chain-rule arithmetic, and shows each node's grad as it stands after that step. The .grad
    values are set only while drawing and restored afterwards. Other files in directory, frames
    of an earlier call included, are left alone: use a fresh directory per graph.

    >>> import tempfile
    >>> from autograd import Value
    >>> x = Value(0.5, label="x")
    >>> [path.name for path in render_backward((x * x).tanh(), tempfile.mkdtemp())]
    ['step_000.svg', 'step_001.svg', 'step_002.svg']
    """
    trace = _checked_trace(root, gradient, "render_backward")
    out = Path(directory)
    width = max(3, len(str(len(trace.steps) - 1)))
    running = dict.fromkeys(trace.order, 0.0)
    running[trace.root] = trace.gradient
    names = node_labels(trace)  # drawn on the unlabelled records: the edge labels use them
    paths = []
    with _grads_shown(trace.order) as show:
        for i, step in enumerate(trace.steps):
            for c in step.contributions:
                running[c.child] = c.total
            show(running)
            dot = draw_dot(root, format="svg", highlight=(step.node,),
                           edge_labels=edge_arithmetic(trace, i), max_nodes=MAX_NODES,
                           names=names)
            svg = pipe(dot, "svg", "render_backward")
            # Made once the first frame is drawn: a failed call leaves no empty directory.
            out.mkdir(parents=True, exist_ok=True)
            path = out / f"step_{i:0{width}d}.svg"
            path.write_bytes(svg)
            paths.append(path)
    return paths


def explorer_html(root: Value, gradient: float = 1.0, title: str = "") -> str:
    """Return the step-through page for root's backward pass as one self-contained HTML string.

    explore() writes it to a file and show() wraps it for a notebook. Graphs with more than
    MAX_NODES Values raise ValueError.
    """
    trace = _checked_trace(root, gradient, "explore")
    labels = node_labels(trace)
    with _grads_shown(trace.order) as show:
        show(trace.totals())  # the picture shows final grads; the page rewrites them per step
        # The panel's names for unlabelled nodes (n8, L) are drawn on their records too.
        dot = draw_dot(root, format="svg", max_nodes=MAX_NODES, names=labels)
        svg = pipe(dot, "svg", "explore").decode()
    ids = node_names(root)
    payload = trace.to_dict()
    payload["ids"] = [ids[node] for node in trace.order]
    payload["names"] = [labels[node] for node in trace.order]
    parts = {
        "TITLE": html.escape(title or f"Backward pass of {labels[trace.root]}"),
        "CSS": _asset("explorer.css"),
        "SVG": svg[svg.index("<svg"):],  # drop the XML prolog and its DTD URL
        "TRACE": _script_literal(payload),
        "JS": _asset("explorer.js"),
    }
    # One pass over the template, so text inserted for one part is never read as another.
    return re.sub(r"__(TITLE|CSS|SVG|TRACE|JS)__", lambda m: parts[m.group(1)],
                  _asset("explorer.html"))


def explore(root: Value, path: str | Path, gradient: float = 1.0) -> Path:
    """Write the step-through page of root's backward pass to path and return the path.

    Open it from disk in any browser: Prev / Next / Play, a slider, and the arrow keys step
    through the sweep; a panel shows the chain-rule arithmetic of each step. Graphs with more
    than MAX_NODES Values raise ValueError. Missing parent directories are made.

    >>> import pathlib, tempfile
    >>> from autograd import Value
    >>> x = Value(0.5, label="x")
    >>> page = explore((x * x).tanh(), pathlib.Path(tempfile.mkdtemp()) / "backward.html")
    >>> text = page.read_text(encoding="utf-8")
    >>> text.count("<svg"), "https://" in text
    (1, False)
    """
    return _write_page(explorer_html(root, gradient), path)


class Explorer:
    """The explorer page for Jupyter: a notebook displays it inline through _repr_html_."""

    def __init__(self, page: str, height: int = 640) -> None:
        if not isinstance(height, int) or isinstance(height, bool) or height < 1:
            raise ValueError(f"Explorer: height must be a positive number of pixels, "
                             f"got {height!r}")
        self.html = page
        self.height = height

    def __repr__(self) -> str:
        # No memory address: a notebook saved with its outputs stays the same from run to run.
        return f"<Explorer: a step-through page of {len(self.html):,} characters, {self.height} px>"

    def _repr_html_(self) -> str:
        # srcdoc gives the page its own document: its script and styles cannot touch the notebook.
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" '
                f'style="width:100%;height:{self.height}px;border:1px solid #ddd" '
                f'title="backward pass explorer"></iframe>')

    def save(self, path: str | Path) -> Path:
        """Write the page to path and return the path."""
        return _write_page(self.html, path)


def show(root: Value, gradient: float = 1.0, height: int = 640) -> Explorer:
    """Return the explorer of root's backward pass; `show(loss)` in a notebook displays it.

    >>> from autograd import Value
    >>> x = Value(0.5, label="x")
    >>> show(x * x)._repr_html_().startswith("<iframe srcdoc=")
    True
    """
    return Explorer(explorer_html(root, gradient), height)


def _write_page(page: str, path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
    return target


def _checked_trace(root: Value, gradient: float, what: str) -> BackwardTrace:
    if not isinstance(root, Value):
        raise TypeError(f"{what}: root must be a Value, got {type(root).__name__}")
    # Count first: recording a huge graph only to refuse it would waste time and memory.
    count = len(topological_order(root))
    if count > MAX_NODES:
        raise ValueError(
            f"{what}: the graph has {count} Values, more than the {MAX_NODES} the step-by-step "
            "view can show readably; try a smaller graph (fewer inputs, a smaller model, one "
            "sample instead of a batch)")
    return trace_backward(root, gradient)


@contextmanager
def _grads_shown(order: tuple[Value, ...]) -> Iterator[Callable[[dict[Value, float]], None]]:
    """Yield a function that sets .grad for drawing; every .grad is restored on exit."""
    saved = [node.grad for node in order]

    def show(grads: dict[Value, float]) -> None:
        for node in order:
            node.grad = grads[node]

    try:
        yield show
    finally:
        for node, g in zip(order, saved):
            node.grad = g


def _asset(name: str) -> str:
    return (resources.files("autograd") / name).read_text(encoding="utf-8")


def _script_literal(data: object) -> str:
    # A JS literal, not JSON.parse: NaN and Infinity stay valid. Escaping <, > and & means no
    # label can close the <script> element early.
    text = json.dumps(data, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
