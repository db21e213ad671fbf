"""How the pictures look: the number format, the colours and the HTML-like node labels."""

from __future__ import annotations

import math
from html import escape

# One family, not a CSS list: graphviz-pure measures a list as Times, and text would overflow.
# An SVG's text is drawn by the viewer with its own fonts, so boxes are sized for Verdana: the
# renderers have metrics for it, Windows and macOS have it, and what Linux shows instead
# (DejaVu Sans, often the only font there) is a little narrower; Arial-sized boxes are too
# small for DejaVu Sans. A PNG's text is drawn by the renderer: graphviz-pure draws Arial with
# Arimo, its metric twin, but Verdana in a serif face.
FONT = "Verdana"
PNG_FONT = "Arial"
INK = "#37474f"  # text and borders
EDGE = "#90a4ae"
LOCAL_GRAD = "#1565c0"  # edge labels: the chain rule's local derivatives
BAD = "#d32f2f"  # NaN and inf: the colour the first bad number is found by

FILL_INPUT = "#e3f2fd"
FILL_PARAMETER = "#fff3e0"
FILL_INTERMEDIATE = "#ffffff"
FILL_ROOT = "#e8f5e9"
FILL_BAD = "#ffebee"
FILL_HIGHLIGHT = "#ffe082"
BORDER_HIGHLIGHT = "#e65100"
FILL_OP = "#eceff1"
FILL_BOX = "#eceff1"
# Cluster boxes get darker the deeper they sit, so a neuron stands out inside its layer.
FILL_CLUSTERS = ("#f7f9fb", "#eef2f6", "#e4eaf0")

# |grad| on a sequential scale, light (small) to dark (large); white text from index 3 on.
GRAD_SCALE = ("#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704")
GRAD_DARK_FROM = 3


def fmt(x: float) -> str:
    """Return x with 4 significant digits, integers as 2.0: 0.5, -0.7616, 1.235e-07, nan.

    The step-through page formats numbers the same way, so its frames match these.
    """
    text = f"{x:.4g}"
    digits = text.lstrip("-")
    if digits.isdigit() and (len(digits) < 4 or x == int(x)):
        text += ".0"
    return text


def grad_bin(magnitude: float, largest: float) -> int:
    """Return the index into GRAD_SCALE for |grad| = magnitude, the largest |grad| being largest."""
    if largest <= 0.0:
        return 0
    return min(int(len(GRAD_SCALE) * magnitude / largest), len(GRAD_SCALE) - 1)


def _number_cell(name: str, x: float, color: str) -> str:
    # A non-finite number is drawn in red, whatever else the node's colours say.
    text = escape(f"{name} {fmt(x)}")
    if not math.isfinite(x):
        return f'<TD><FONT COLOR="{BAD}"><B>{text}</B></FONT></TD>'
    if color != INK:
        return f'<TD><FONT COLOR="{color}">{text}</FONT></TD>'
    return f"<TD>{text}</TD>"


def record_label(name: str, data: float, grad: float | None, fill: str, border: str,
                 border_width: int, text: str = INK) -> str:
    """Return the HTML-like label of a Value: [name |] data ... [| grad ...], one row."""
    name_text = f"<B>{escape(name)}</B>"
    if text != INK:
        name_text = f'<FONT COLOR="{text}">{name_text}</FONT>'
    cells = [f"<TD>{name_text}</TD>"] if name else []
    cells.append(_number_cell("data", data, text))
    if grad is not None:
        cells.append(_number_cell("grad", grad, text))
    row = "<VR/>".join(cells)
    return (f'<<TABLE BORDER="{border_width}" CELLBORDER="0" CELLSPACING="0" CELLPADDING="4" '
            f'STYLE="rounded" BGCOLOR="{fill}" COLOR="{border}"><TR>{row}</TR></TABLE>>')


def box_label(path: str, count: int) -> str:
    """Return the HTML-like label of a collapsed cluster: its name and how many Values it holds."""
    noun = "Value" if count == 1 else "Values"
    return (f'<<B>{escape(path)}</B><BR/><FONT POINT-SIZE="9">collapsed: {count} {noun}'
            "</FONT>>")


def legend_label(largest: float) -> str:
    """Return the HTML-like label of the |grad| legend: one swatch per bin, with its range."""
    rows = ['<TR><TD COLSPAN="2"><B>|grad|</B></TD></TR>']
    n = len(GRAD_SCALE)
    for k, colour in enumerate(GRAD_SCALE):
        low, high = largest * k / n, largest * (k + 1) / n
        rows.append(f'<TR><TD BGCOLOR="{colour}" WIDTH="18"> </TD>'
                    f'<TD ALIGN="LEFT">{fmt(low)} to {fmt(high)}</TD></TR>')
    return (f'<<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="2" CELLPADDING="2" STYLE="rounded" '
            f'COLOR="{EDGE}" BGCOLOR="white">{"".join(rows)}</TABLE>>')
