"""Neuron, Layer and MLP: Values arranged as a network; the engine does all differentiation.

Initialization is scaled by fan-in (nin), drawn from a private ``random.Random``:
ReLU neurons use He-uniform, w ~ U(-sqrt(6 / nin), +sqrt(6 / nin)) (variance 2 / nin);
tanh, sigmoid and linear neurons use LeCun-uniform, w ~ U(-sqrt(3 / nin), +sqrt(3 / nin))
(variance 1 / nin, Glorot's scale with only the fan-in). Biases start at 0.
``ACTIVATIONS`` is the one table of activation names, for these and for ``nn.modules``.
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, NamedTuple, cast

import autograd as ag
from autograd import Value

from . import interop
from .module import Architecture, Module, TensorLayout

if TYPE_CHECKING:
    import torch

Input = Sequence[Value | float]



class ActivationRule(NamedTuple):
    """One row of ACTIVATIONS: how an activation is applied, drawn from and handed to torch."""

    apply: Callable[[Value], Value] | None  # the Value method; None for linear: no node
    torch: str | None  # the torch.nn module applying it (with its default arguments)
    init_scale: float  # MLP weights ~ U(+-sqrt(init_scale / nin)): 6 He, 3 LeCun


# The activations by name: MLP's activation=, the activation modules, to_torch and from_torch
# all read this table, so a new activation is one row here.
ACTIVATIONS: dict[str, ActivationRule] = {
    "relu": ActivationRule(Value.relu, "ReLU", 6.0),
    "leaky_relu": ActivationRule(Value.leaky_relu, "LeakyReLU", 6.0),  # slope 0.01 as torch's
    "tanh": ActivationRule(Value.tanh, "Tanh", 3.0),
    "sigmoid": ActivationRule(Value.sigmoid, "Sigmoid", 3.0),
    "linear": ActivationRule(None, None, 3.0),
}


def init_bound(activation: str, nin: int) -> float:
    """Return b for weights ~ U(-b, b): He-uniform for relu, LeCun-uniform otherwise."""
    return math.sqrt(ACTIVATIONS[activation].init_scale / nin)


class Neuron(Module):
    """One neuron: activation(w . x + b), with the weighted sum as one ``dot`` node.

    Parameter labels are dotted paths below ``name`` (``w.0``, ``b`` when standalone);
    the weighted sum is labelled ``<name>.z`` and the activation's output ``<name>.out``.

    >>> n = Neuron(2, activation="tanh", seed=0)
    >>> y = n([1.0, -2.0])
    >>> y.label, y.children[0].label, [p.label for p in n.parameters()]
    ('out', 'z', ['w.0', 'w.1', 'b'])
    """

    def __init__(self, nin: int, activation: str = "relu", *, seed: int | None = None,
                 rng: random.Random | None = None, name: str = "") -> None:
        _check_count(nin, "Neuron", "nin")
        self._activate = _activation(activation)
        rng = _rng(seed, rng, "Neuron")
        super().__init__()
        self._name = name
        self.nin = nin
        self.activation = activation
        bound = init_bound(activation, nin)
        self.w = [Value(rng.uniform(-bound, bound), _join(name, f"w.{i}")) for i in range(nin)]
        self.b = Value(0.0, _join(name, "b"))
        self._renamed()

    def _renamed(self) -> None:
        # Labels are made once here: the forward pass only assigns them.
        self._z_label = _join(self._name, "z")
        self._out_label = _join(self._name, "out")

    def __call__(self, x: Input) -> Value:
        """Return activation(w . x + b) for one input vector of length nin."""
        _check_input(x, self.nin, "Neuron")
        return self._forward(x)

    def _forward(self, x: Input) -> Value:
        # Layer and MLP call this directly: they check the input once, not once per neuron.
        # The bias rides along as one more weight on a constant input 1.0: one node in all.
        z = ag.dot([*self.w, self.b], [*x, 1.0])
        z.label = self._z_label
        if self._activate is None:
            return z
        out = self._activate(z)
        out.label = self._out_label
        return out

    def architecture(self) -> Architecture:
        return {"type": "Neuron", "nin": self.nin, "activation": self.activation}

    def torch_layout(self) -> list[TensorLayout]:
        return [("0.weight", (1, len(self.w)), list(self.w)), ("0.bias", (1,), [self.b])]

    def to_torch(self) -> torch.nn.Sequential:
        """Return ``Sequential(Linear(nin, 1), activation)`` in float64, same weights (needs torch).

        A "linear" neuron gives the Linear alone; ``MLP.to_torch`` says more.
        """
        return interop.neuron_to_torch(self)

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={self.activation!r})"


class Layer(Module):
    """nout neurons reading the same nin inputs; calling it returns list[Value] of length nout.

    >>> layer = Layer(3, 2, seed=0)
    >>> len(layer([1.0, 2.0, 3.0])), len(layer.parameters())
    (2, 8)
    """

    def __init__(self, nin: int, nout: int, activation: str = "relu", *,
                 seed: int | None = None, rng: random.Random | None = None,
                 name: str = "") -> None:
        _check_count(nin, "Layer", "nin")
        _check_count(nout, "Layer", "nout")
        _activation(activation)
        rng = _rng(seed, rng, "Layer")
        super().__init__()
        self._name = name
        self.nin, self.nout, self.activation = nin, nout, activation
        self.neurons = [Neuron(nin, activation, rng=rng, name=_join(name, f"neurons.{i}"))
                        for i in range(nout)]

    def __call__(self, x: Input) -> list[Value]:
        """Return each neuron's output for one input vector of length nin."""
        _check_input(x, self.nin, "Layer")
        return self._forward(x)

    def forward_batch(self, xs: Iterable[Input]) -> list[list[Value]]:
        """Return [layer(x) for x in xs]: the same nodes, each weight's number read once."""
        batch = _check_batch(xs, "Layer")
        for x in batch:
            _check_input(x, self.nin, "Layer")
        return self._forward_batch(batch)

    def _forward(self, x: Input) -> list[Value]:
        return self._forward_batch([x])[0]

    def _forward_batch(self, xs: Sequence[Input]) -> list[list[Value]]:
        # The neurons' weighted sums come from one ag.batch_dots call, which reads each
        # sample's inputs once for all neurons and each neuron's weights once for all samples:
        # the same nodes as each neuron's own ag.dot, made in about half the time
        # (python -m benchmarks: mlp_step).
        neurons = self.neurons
        rows = [(*neuron.w, neuron.b) for neuron in neurons]
        # Each neuron's own activation: neurons is a public list, a neuron may be swapped.
        finish = [(neuron._z_label, neuron._activate, neuron._out_label) for neuron in neurons]
        batch = []
        for zs in ag.batch_dots(rows, [[*x, 1.0] for x in xs]):
            outs = []
            for z, (z_label, activate, out_label) in zip(zs, finish):
                z.label = z_label
                if activate is not None:
                    z = activate(z)
                    z.label = out_label
                outs.append(z)
            batch.append(outs)
        return batch

    def architecture(self) -> Architecture:
        return {"type": "Layer", "nin": self.nin, "nout": self.nout,
                "activation": self.activation}

    def torch_layout(self) -> list[TensorLayout]:
        return _linear_layout(self, "0")

    def to_torch(self) -> torch.nn.Sequential:
        """Return ``Sequential(Linear(nin, nout), activation)`` in float64, same weights.

        Needs torch. A "linear" layer gives the Linear alone; ``MLP.to_torch`` says more.
        """
        return interop.layer_to_torch(self)

    def __repr__(self) -> str:
        return f"Layer({self.nin}, {self.nout}, activation={self.activation!r})"


class MLP(Module):
    """A multilayer perceptron: layers of sizes nouts, hidden activation, then output_activation.

    ``MLP(2, [16, 16, 1], seed=0)`` has two ReLU hidden layers of 16 and one linear
    output: 2*16+16 + 16*16+16 + 16+1 = 337 parameters. The same seed gives the same
    parameters; seed=None draws fresh ones. Python's global ``random`` is never used.
    activation may also be a list, one name per hidden layer.

    >>> model = MLP(2, [16, 16, 1], seed=0)
    >>> len(model.parameters()), len(model([0.5, -1.0]))
    (337, 1)
    >>> [layer.activation for layer in MLP(2, [4, 4, 1], activation=["tanh", "relu"]).layers]
    ['tanh', 'relu', 'linear']
    """

    def __init__(self, nin: int, nouts: Sequence[int], activation: str | Sequence[str] = "relu",
                 output_activation: str = "linear", seed: int | None = None) -> None:
        _check_count(nin, "MLP", "nin")
        if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Sequence) or not nouts:
            raise ValueError(f"MLP: nouts must be a non-empty list of layer sizes, got {nouts!r}")
        for nout in nouts:
            _check_count(nout, "MLP", "each layer size in nouts")
        hidden = _hidden_activations(activation, len(nouts) - 1)
        _activation(output_activation)
        rng = _rng(seed, None, "MLP")
        super().__init__()
        self.nin, self.nouts = nin, list(nouts)
        self.activation: str | list[str] = (activation if isinstance(activation, str)
                                             else list(activation))
        self.output_activation = output_activation
        sizes = [nin, *nouts]
        self.layers = [Layer(sizes[i], sizes[i + 1], act, rng=rng, name=f"layers.{i}")
                       for i, act in enumerate([*hidden, output_activation])]

    def __call__(self, x: Input) -> list[Value]:
        """Return the outputs (always a list, one Value per output) for one input vector."""
        _check_input(x, self.nin, "MLP")
        out = self.layers[0]._forward(x)
        for layer in self.layers[1:]:
            out = layer._forward(out)
        return out

    def forward_batch(self, xs: Iterable[Input]) -> list[list[Value]]:
        """Return [model(x) for x in xs]: the same graph, built faster.

        Layer by layer over the whole batch, so each weight's number is read once per batch
        rather than once per sample.

        >>> model = MLP(2, [3, 1], seed=0)
        >>> xs = [[0.5, -1.0], [2.0, 0.25]]
        >>> [out[0].data for out in model.forward_batch(xs)] == [model(x)[0].data for x in xs]
        True
        """
        batch = _check_batch(xs, "MLP")
        for x in batch:
            _check_input(x, self.nin, "MLP")
        outs: Sequence[Input] = batch
        for layer in self.layers:
            outs = layer._forward_batch(outs)
        return cast("list[list[Value]]", outs)

    def architecture(self) -> Architecture:
        activation = self.activation if isinstance(self.activation, str) else list(self.activation)
        return {"type": "MLP", "nin": self.nin, "nouts": list(self.nouts),
                "activation": activation, "output_activation": self.output_activation}

    def torch_layout(self) -> list[TensorLayout]:
        # to_torch()'s positions: each Linear, then its activation module unless "linear".
        layout: list[TensorLayout] = []
        position = 0
        for layer in self.layers:
            layout.extend(_linear_layout(layer, str(position)))
            position += 1 if layer.activation == "linear" else 2
        return layout

    def to_torch(self) -> torch.nn.Sequential:
        """Return a float64 ``torch.nn.Sequential`` of Linear and activation modules with the
        same weights: the same outputs and parameter gradients to rounding (needs torch).

        ``MLP(2, [16, 1])`` becomes ``Sequential(Linear(2, 16), ReLU(), Linear(16, 1))``;
        a "linear" activation adds no module. See ``nn.interop`` for how parameters line up.
        """
        return interop.mlp_to_torch(self)

    @classmethod
    def from_torch(cls, module: torch.nn.Module) -> MLP:
        """Return an MLP with a torch MLP's architecture and exactly its parameters (needs torch).

        module: a ``torch.nn.Sequential`` of ``Linear`` layers (float32 or float64), each
        optionally followed by an activation of ``ACTIVATIONS`` (``ReLU``, ``Tanh``, ...).
        Hidden activations all alike give ``activation`` a name, else a list.
        Any other layer raises ValueError naming it and its position, and nothing is built.
        ``MLP.from_torch(model.to_torch())`` has exactly model's parameters.
        """
        return interop.mlp_from_torch(cls, module)

    def __repr__(self) -> str:
        return (f"MLP({self.nin}, {self.nouts}, activation={self.activation!r}, "
                f"output_activation={self.output_activation!r})")


def _linear_layout(layer: Layer, at: str) -> list[TensorLayout]:
    """A Layer as torch's Linear at position at: weight (nout, nin) and bias (nout)."""
    rows = [neuron.w for neuron in layer.neurons]
    nin = len(rows[0]) if rows else 0
    if any(len(row) != nin for row in rows):
        raise ValueError(f"torch_layout: {layer!r} has neurons of different sizes; a torch "
                         "Linear needs them alike")
    return [(f"{at}.weight", (len(rows), nin), [w for row in rows for w in row]),
            (f"{at}.bias", (len(rows),), [neuron.b for neuron in layer.neurons])]


# ---- argument checks and small helpers ----------------------------------------------------


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _activation(name: str) -> Callable[[Value], Value] | None:
    """The Value method applying the activation called name (None for linear), else an error."""
    if not isinstance(name, str):
        raise TypeError(f"activation must be a name, one of {sorted(ACTIVATIONS)}, "
                        f"got {type(name).__name__}")
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name].apply


def _hidden_activations(activation: str | Sequence[str], hidden: int) -> list[str]:
    """One activation name per hidden layer: activation itself repeated, or its list checked."""
    if isinstance(activation, str):
        _activation(activation)
        return [activation] * hidden
    if not isinstance(activation, Sequence):
        raise TypeError(f"MLP: activation must be a name or a list of names, got "
                        f"{type(activation).__name__}")
    if len(activation) != hidden:
        raise ValueError(f"MLP: activation lists {len(activation)} names but the MLP has "
                         f"{hidden} hidden layers (one name per hidden layer)")
    for name in activation:
        _activation(name)
    return list(activation)


def _check_count(n: object, owner: str, what: str) -> None:
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{owner}: {what} must be a positive integer, got {n!r}")


def _check_batch(xs: object, owner: str) -> list[Input]:
    """The samples of xs as a list (any iterable of samples), else TypeError.

    A string, a dict or a set is refused: their items are not samples in a fixed order.
    """
    if isinstance(xs, (str, bytes, Mapping, AbstractSet)) or not isinstance(xs, Iterable):
        raise TypeError(f"{owner}.forward_batch expects a list of input vectors, "
                        f"got {type(xs).__name__}")
    return list(xs)


def _check_input(x: object, nin: int, owner: str) -> None:
    # A dict or a set has a length too, but no order: iterating it would feed the network its
    # keys, or its items in an arbitrary order.
    if isinstance(x, (Value, numbers.Real, str, bytes, Mapping, AbstractSet)) \
            or not hasattr(x, "__len__"):
        raise TypeError(f"{owner} expects a sequence of {nin} inputs, got {type(x).__name__}")
    if len(x) != nin:
        raise ValueError(f"{owner} expected {nin} inputs, got {len(x)}")


def _rng(seed: int | None, rng: random.Random | None, owner: str) -> random.Random:
    """A private generator: rng itself, or a new one from seed (fresh entropy for None)."""
    if rng is not None:
        if seed is not None:
            raise ValueError(f"{owner}: pass seed or rng, not both")
        return rng
    if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)):
        raise TypeError(f"{owner}: seed must be an int or None, got {type(seed).__name__}")
    return random.Random(seed)
