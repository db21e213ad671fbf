"""The Digraph that draw_dot returns: graphviz's own, drawn by the renderer chainrule picked
(autograd.viz.renderer), so a notebook shows it inline with graphviz-pure and no system Graphviz.

Imported only when a picture is drawn: it needs the graphviz package.
"""

from __future__ import annotations

import graphviz

from .renderer import draw


class Digraph(graphviz.Digraph):  # type: ignore[misc]  # graphviz ships no type hints
    """A graphviz.Digraph whose pipe(), and so its notebook display, uses find_renderer().

    Everything else (source, attributes, subgraphs) is graphviz's. Its render() and view() still
    run `dot` by name: write files with autograd.viz.render, which uses the same renderer.
    """

    def __repr__(self) -> str:
        # No memory address: a notebook saved with its outputs stays the same from run to run.
        return f"<Digraph {self.name!r}: {len(self.body)} DOT statements>"

    def pipe(self, format: str | None = None, renderer: str | None = None,
             formatter: str | None = None, neato_no_op: bool | int | None = None,
             quiet: bool = False, *, engine: str | None = None,
             encoding: str | None = None) -> bytes | str:
        """Return the picture in format (default: the Digraph's), as bytes or, given an
        encoding, as text, drawn by find_renderer()'s program with the dot layout.

        graphviz's renderer, formatter, neato_no_op and engine options have no counterpart here
        and raise ValueError; quiet is accepted, since the renderer's messages become warnings.
        """
        if renderer or formatter or neato_no_op or engine not in (None, "dot"):
            raise ValueError("Digraph.pipe: chainrule draws with the dot layout and the default "
                             "renderer; for other options pipe graphviz.Source(graph.source)")
        data = draw(self.source, format or self.format, "Digraph.pipe")
        return data.decode(encoding) if encoding else data
