"""The backward sweep recorded as plain data, step by step, without touching any .grad.

The pictures (`render_backward`) and the step-through page (`explore`) draw from this record.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

from .graph import topological_order
from .value import Value

JSONScalar = str | int | float | bool | None


@dataclass(frozen=True)
class Contribution:
    """What one step sends to one operand: upstream * local, and the operand's new total."""

    child: Value
    position: int  # operand position k: child is node.children[k]
    local: float  # d node / d child, the engine's memoized node.local_grads[k]
    contribution: float  # upstream * local
    total: float  # the child's running d root / d child after adding this contribution


@dataclass(frozen=True)
class Step:
    """One node processed by the sweep: its final upstream gradient and what it sends down."""

    node: Value
    upstream: float  # d root / d node, final: every node using it came earlier in the sweep
    contributions: tuple[Contribution, ...]


@dataclass(frozen=True)
class BackwardTrace:
    """The whole sweep: the graph's topological order and one Step per node, root first."""

    root: Value
    gradient: float
    order: tuple[Value, ...]  # topological_order(root): inputs first, root last
    steps: tuple[Step, ...]  # the sweep: reversed(order)

    def totals(self) -> dict[Value, float]:
        """Return d root / d node (times gradient) for every node: what backward() adds."""
        return {step.node: step.upstream for step in self.steps}

    def received(self, node: Value) -> list[Contribution]:
        """Return the contributions node received, in sweep order; they sum to its total."""
        return [c for step in self.steps for c in step.contributions if c.child is node]

    def to_dict(self) -> dict[str, object]:
        """Return the trace as JSON-ready data; nodes are referred to by topological index."""
        index = {node: i for i, node in enumerate(self.order)}
        nodes: list[dict[str, JSONScalar]] = [
            {"index": i, "label": node.label, "op": node.op, "data": node.data}
            for i, node in enumerate(self.order)
        ]
        steps = [
            {
                "node": index[step.node],
                "upstream": step.upstream,
                "contributions": [
                    {"child": index[c.child], "position": c.position, "local": c.local,
                     "contribution": c.contribution, "total": c.total}
                    for c in step.contributions
                ],
            }
            for step in self.steps
        ]
        return {"root": index[self.root], "gradient": self.gradient, "nodes": nodes,
                "steps": steps}


def trace_backward(root: Value, gradient: float = 1.0) -> BackwardTrace:
    """Return the backward sweep from root as a BackwardTrace, leaving every .grad as it was.

    The arithmetic is backward()'s: the same order (reversed topological order), the same
    memoized local derivatives, child total += local * upstream.

    >>> from autograd import Value
    >>> x = Value(3.0, label="x")
    >>> y = x * x
    >>> step = trace_backward(y).steps[0]
    >>> [(c.local, c.contribution, c.total) for c in step.contributions]
    [(3.0, 3.0, 3.0), (3.0, 3.0, 6.0)]
    >>> x.grad
    0.0
    """
    if not isinstance(root, Value):
        raise TypeError(f"trace_backward: root must be a Value, got {type(root).__name__}")
    if not isinstance(gradient, numbers.Real) or isinstance(gradient, bool):
        raise TypeError(
            f"trace_backward: gradient must be a real number, got {type(gradient).__name__}")
    order = topological_order(root)
    # Running totals live in this dict, not on the nodes: recording must not disturb a
    # backward() the caller may be in the middle of (neither .grad nor _upstream).
    totals: dict[Value, float] = dict.fromkeys(order, 0.0)
    totals[root] = float(gradient)
    steps = []
    for node in reversed(order):
        upstream = totals[node]
        sent = []
        for k, (child, local) in enumerate(zip(node.children, node.local_grads)):
            contribution = local * upstream
            totals[child] += contribution
            sent.append(Contribution(child, k, local, contribution, totals[child]))
        steps.append(Step(node, upstream, tuple(sent)))
    return BackwardTrace(root, float(gradient), tuple(order), tuple(steps))
