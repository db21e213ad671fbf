"""Linear, Conv1d, Flatten, the activations and Sequential: PyTorch's modules, built of Values.

Each output element is one node: an ``ag.dot`` over the weights it reads and the bias,
as a Neuron's weighted sum is. Parameter names, order, shapes and initialisation are
PyTorch's, so ``to_torch()``, ``from_torch()`` and the state dicts line up one to one.

>>> from nn import Sequential, Conv1d, ReLU, Flatten, Linear
>>> cnn = Sequential(Conv1d(1, 4, 3, stride=2, padding=1, seed=0), ReLU(), Flatten(),
...                  Linear(4 * 5, 2, seed=0))
>>> len(cnn([[0.1 * t for t in range(10)]])), [name for name, _ in cnn.named_parameters()][:2]
(2, ['0.weight.0.0.0', '0.weight.0.0.1'])
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, Any, TypeGuard, overload

import autograd as ag
from autograd import Value

from . import interop
from .layers import MLP, Layer, Neuron, _activation, _check_count, _rng
from .module import Architecture, Module

if TYPE_CHECKING:
    import torch

Scalar = Value | float
Signal = Sequence[Sequence[Scalar]]  # channels x length, one sample of a Conv1d


class Linear(Module):
    """y[j] = bias[j] + sum_i weight[j][i] * x[i]: torch.nn.Linear on one sample.

    Parameters ``weight.{j}.{i}`` then ``bias.{j}``, initialised uniform in
    +-1/sqrt(in_features) as PyTorch does. Each output is one dot node.

    >>> layer = Linear(3, 2, seed=0)
    >>> [len(row) for row in layer.weight], len(layer([1.0, 2.0, 3.0]))
    ([3, 3], 2)
    """

    in_features: int
    out_features: int
    weight: list[list[Value]]
    bias: list[Value]

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 seed: int | None = None) -> None:
        _check_count(in_features, "Linear", "in_features")
        _check_count(out_features, "Linear", "out_features")
        _check_flag(bias, "Linear", "bias")
        rng = _rng(seed, None, "Linear")
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1.0 / math.sqrt(in_features)
        self.weight = [[Value(rng.uniform(-bound, bound)) for _ in range(in_features)]
                       for _ in range(out_features)]
        if bias:
            self.bias = [Value(rng.uniform(-bound, bound)) for _ in range(out_features)]
        self._renamed()

    @property
    def has_bias(self) -> bool:
        """Whether the layer adds a bias (``bias=True`` when built)."""
        return "bias" in self.__dict__

    def _renamed(self) -> None:
        self._out_labels = [_join(self.__dict__.get("_name", ""), f"out.{j}")
                            for j in range(self.out_features)]

    def forward(self, x: Sequence[Scalar]) -> list[Value]:
        """Return the out_features outputs for one input of in_features numbers or Values."""
        _check_vector(x, self.in_features, self)
        return self._forward_batch([x])[0]

    def forward_batch(self, xs: Sequence[Sequence[Scalar]]) -> list[list[Value]]:
        """Return [self(x) for x in xs]: the same nodes, each weight's number read once."""
        batch = _check_batch(xs, self)
        for x in batch:
            _check_vector(x, self.in_features, self)
        return self._forward_batch(batch)

    def _forward_batch(self, xs: Sequence[Sequence[Scalar]]) -> list[list[Value]]:
        labels = self._out_labels
        if self.has_bias:
            rows = [(*row, b) for row, b in zip(self.weight, self.bias)]
            outs = ag.batch_dots(rows, [[*x, 1.0] for x in xs])
        else:
            outs = ag.batch_dots(self.weight, xs)
        for zs in outs:
            for z, label in zip(zs, labels):
                z.label = label
        return outs

    def architecture(self) -> Architecture:
        return {"type": "Linear", "in_features": self.in_features,
                "out_features": self.out_features, "bias": self.has_bias}

    def to_torch(self) -> torch.nn.Linear:
        """Return a float64 ``torch.nn.Linear`` with these parameters (needs torch)."""
        return interop.linear_to_torch(self)

    def __repr__(self) -> str:
        extra = "" if self.has_bias else ", bias=False"
        return f"Linear({self.in_features}, {self.out_features}{extra})"


class Conv1d(Module):
    """torch.nn.Conv1d on one sample: y[o][t] = bias[o] + sum_c sum_k weight[o][c][k] *
    x[c][t*stride + k - padding], with zeros outside x (cross-correlation, zero padding).

    Input: in_channels lists of one length L. Output: out_channels lists of length
    (L + 2*padding - kernel_size) // stride + 1. Each output is one dot node over the
    weights facing real inputs (padding adds no child) and the bias. Parameters
    ``weight.{o}.{c}.{k}`` then ``bias.{o}``, uniform in +-1/sqrt(in_channels * kernel_size).

    >>> conv = Conv1d(1, 2, 3, seed=0)
    >>> out = conv([[1.0, 2.0, 3.0, 4.0]])
    >>> len(out), len(out[0]), len(out[0][0].children)  # 3 weights and the bias per output
    (2, 2, 4)
    """

    in_channels: int
    out_channels: int
    kernel_size: int
    stride: int
    padding: int
    weight: list[list[list[Value]]]
    bias: list[Value]

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, bias: bool = True, seed: int | None = None) -> None:
        for what, n in (("in_channels", in_channels), ("out_channels", out_channels),
                        ("kernel_size", kernel_size), ("stride", stride)):
            _check_count(n, "Conv1d", what)
        if not isinstance(padding, numbers.Integral) or isinstance(padding, bool) or padding < 0:
            raise ValueError(f"Conv1d: padding must be an integer >= 0, got {padding!r}")
        _check_flag(bias, "Conv1d", "bias")
        rng = _rng(seed, None, "Conv1d")
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, int(padding)
        bound = 1.0 / math.sqrt(in_channels * kernel_size)
        self.weight = [[[Value(rng.uniform(-bound, bound)) for _ in range(kernel_size)]
                        for _ in range(in_channels)] for _ in range(out_channels)]
        if bias:
            self.bias = [Value(rng.uniform(-bound, bound)) for _ in range(out_channels)]
        self._renamed()

    @property
    def has_bias(self) -> bool:
        """Whether the layer adds a bias (``bias=True`` when built)."""
        return "bias" in self.__dict__

    def _renamed(self) -> None:
        self._labels: dict[int, list[list[str]]] = {}  # output length -> the outputs' labels

    def output_length(self, length: int) -> int:
        """Return the output length for inputs of this length: (L + 2p - k) // stride + 1."""
        return (length + 2 * self.padding - self.kernel_size) // self.stride + 1

    def forward(self, x: Signal) -> list[list[Value]]:
        """Return out_channels lists of outputs for one input of in_channels lists."""
        return self._forward_batch([x], self._check(x))[0]

    def forward_batch(self, xs: Sequence[Signal]) -> list[list[list[Value]]]:
        """Return [self(x) for x in xs]: the same nodes, each weight's number read once."""
        batch = _check_batch(xs, self)
        lengths = {self._check(x) for x in batch}
        if len(lengths) > 1:
            raise ValueError(f"{self!r}.forward_batch expects samples of one length, got "
                             f"lengths {sorted(lengths)}")
        return self._forward_batch(batch, lengths.pop()) if batch else []

    def _check(self, x: object) -> int:
        """x's length L, or ValueError naming the shape expected: in_channels x L >= the kernel."""
        need = max(self.kernel_size - 2 * self.padding, 1)
        shape = f"{self.in_channels} channels x one length >= {need}"
        if not _is_sequence(x):
            raise TypeError(f"{self!r} expects {shape} (a list of lists), got {type(x).__name__}")
        if len(x) != self.in_channels:
            raise ValueError(f"{self!r} expects {shape}, got {len(x)} channels")
        if not all(_is_sequence(row) for row in x):
            raise TypeError(f"{self!r} expects {shape}: each channel a list of numbers")
        lengths = sorted({len(row) for row in x})
        if len(lengths) != 1:
            raise ValueError(f"{self!r} expects {shape}, got channels of lengths {lengths}")
        if lengths[0] < need:
            raise ValueError(f"{self!r} expects {shape}, got length {lengths[0]}: shorter than "
                             "the kernel")
        return lengths[0]

    def _forward_batch(self, xs: Sequence[Signal], length: int) -> list[list[list[Value]]]:
        kernel, stride, padding = self.kernel_size, self.stride, self.padding
        steps = self.output_length(length)
        with_bias = self.has_bias
        bias = self.bias if with_bias else [None] * self.out_channels
        one = (1.0,) if with_bias else ()
        # The positions whose window lies inside x share one row per output channel, so one
        # batch_dots call makes all of them, reading each weight once for the whole batch.
        # A window over the padding reads fewer weights: rows of its own, per range of taps.
        taps = [(max(0, padding - t * stride), min(kernel, length + padding - t * stride))
                for t in range(steps)]
        inner = [t for t, span in enumerate(taps) if span == (0, kernel)]
        rows_by_span = {}
        for span in set(taps):
            lo, hi = span
            rows_by_span[span] = [(*(w for ws in channels for w in ws[lo:hi]), *_some(b))
                                  for channels, b in zip(self.weight, bias)]
        batch = []
        windows = []
        for x in xs:
            for t in inner:
                start = t * stride - padding
                windows.append([*(v for row in x for v in row[start:start + kernel]), *one])
        inner_outs = iter(ag.batch_dots(rows_by_span[(0, kernel)], windows) if inner else ())
        labels = self._labels.get(steps) or self._make_labels(steps)
        for x in xs:
            columns: list[list[Value]] = []
            for t, (lo, hi) in enumerate(taps):
                if hi - lo == kernel:
                    columns.append(next(inner_outs))
                else:
                    start = t * stride - padding
                    window = [*(v for row in x for v in row[start + lo:start + hi]), *one]
                    columns.append(ag.dots(rows_by_span[(lo, hi)], window))
            out = [list(channel) for channel in zip(*columns)]
            for channel, names in zip(out, labels):
                for z, label in zip(channel, names):
                    z.label = label
            batch.append(out)
        return batch

    def _make_labels(self, steps: int) -> list[list[str]]:
        name = self.__dict__.get("_name", "")
        labels = [[_join(name, f"out.{o}.{t}") for t in range(steps)]
                  for o in range(self.out_channels)]
        self._labels[steps] = labels
        return labels

    def architecture(self) -> Architecture:
        return {"type": "Conv1d", "in_channels": self.in_channels,
                "out_channels": self.out_channels, "kernel_size": self.kernel_size,
                "stride": self.stride, "padding": self.padding, "bias": self.has_bias}

    def to_torch(self) -> torch.nn.Conv1d:
        """Return a float64 ``torch.nn.Conv1d`` with these parameters (needs torch)."""
        return interop.conv1d_to_torch(self)

    def __repr__(self) -> str:
        extra = "" if self.has_bias else ", bias=False"
        return (f"Conv1d({self.in_channels}, {self.out_channels}, kernel_size="
                f"{self.kernel_size}, stride={self.stride}, padding={self.padding}{extra})")


class Flatten(Module):
    """Channels x length to one list, channel after channel (torch.flatten of a (C, L) tensor).

    A flat list passes through unchanged.

    >>> Flatten()([[1.0, 2.0], [3.0, 4.0]])
    [1.0, 2.0, 3.0, 4.0]
    """

    def forward(self, x: Sequence[Any]) -> list[Any]:
        """Return the elements of x, channel after channel."""
        if not _is_sequence(x):
            raise TypeError(f"Flatten expects channels x length (a list of lists), "
                            f"got {type(x).__name__}")
        nested = [_is_sequence(row) for row in x]
        if not any(nested):
            return list(x)
        lengths = sorted({len(row) for row in x}) if all(nested) else []
        if len(lengths) != 1:
            raise ValueError("Flatten expects channels x length: lists of one length, got "
                             + (f"lengths {lengths}" if lengths else "lists mixed with numbers"))
        return [v for row in x for v in row]

    def to_torch(self) -> torch.nn.Flatten:
        """Return ``torch.nn.Flatten()``, the same on a batch of one (needs torch)."""
        return interop.flatten_to_torch()

    def __repr__(self) -> str:
        return "Flatten()"


class Activation(Module):
    """An activation of ``nn.ACTIVATIONS``, elementwise on a flat or nested list.

    ReLU, Tanh, Sigmoid and LeakyReLU name theirs; ``Activation("relu")`` is ReLU's
    arithmetic. Numbers come in as constants; each output is one node.

    >>> [v.data for v in Activation("relu")([-1.0, 2.0])]
    [0.0, 2.0]
    """

    def __init__(self, activation: str) -> None:
        apply = _activation(activation)
        if apply is None:
            raise ValueError(f"Activation: {activation!r} adds no node; leave it out")
        super().__init__()
        self.activation = activation
        self._apply = apply
        self._renamed()

    def _renamed(self) -> None:
        self._labels: dict[tuple[int, ...], list[Any]] = {}  # input shape -> output labels

    def forward(self, x: Sequence[Any]) -> list[Any]:
        """Return the activation of every element of x, in x's nesting."""
        if not _is_sequence(x):
            raise TypeError(f"{self!r} expects a list (flat or nested), got {type(x).__name__}")
        return self._map(x, self._labels_for(x))

    def _map(self, x: Sequence[Any], labels: list[Any]) -> list[Any]:
        apply = self._apply
        out: list[Any] = []
        for v, label in zip(x, labels):
            if _is_sequence(v):
                out.append(self._map(v, label))
            else:
                y = apply(v if type(v) is Value else Value(v))
                y.label = label
                out.append(y)
        return out

    def _labels_for(self, x: Sequence[Any]) -> list[Any]:
        # Labels by shape, made once: a picture groups the outputs in the module's box.
        key = tuple(len(v) if _is_sequence(v) else -1 for v in x)
        labels = self._labels.get(key)
        if labels is None:
            name = self.__dict__.get("_name", "")
            labels = [[_join(name, f"out.{i}.{t}") for t in range(n)] if n >= 0
                      else _join(name, f"out.{i}") for i, n in enumerate(key)]
            self._labels[key] = labels
        return labels

    def architecture(self) -> Architecture:
        return {"type": "Activation", "activation": self.activation}

    def to_torch(self) -> torch.nn.Module:
        """Return the torch.nn activation module (ReLU(), Tanh(), ...) (needs torch)."""
        return interop.activation_to_torch(self.activation)

    def __repr__(self) -> str:
        return f"Activation({self.activation!r})"


class ReLU(Activation):
    """max(0, x) elementwise, as torch.nn.ReLU."""

    def __init__(self) -> None:
        super().__init__("relu")

    def architecture(self) -> Architecture:
        return {"type": "ReLU"}

    def __repr__(self) -> str:
        return "ReLU()"


class Tanh(Activation):
    """tanh(x) elementwise, as torch.nn.Tanh."""

    def __init__(self) -> None:
        super().__init__("tanh")

    def architecture(self) -> Architecture:
        return {"type": "Tanh"}

    def __repr__(self) -> str:
        return "Tanh()"


class Sigmoid(Activation):
    """1 / (1 + e**-x) elementwise, as torch.nn.Sigmoid."""

    def __init__(self) -> None:
        super().__init__("sigmoid")

    def architecture(self) -> Architecture:
        return {"type": "Sigmoid"}

    def __repr__(self) -> str:
        return "Sigmoid()"


class LeakyReLU(Activation):
    """x for x > 0, else negative_slope * x, elementwise, as torch.nn.LeakyReLU."""

    negative_slope: float

    def __init__(self, negative_slope: float = 0.01) -> None:
        if not isinstance(negative_slope, numbers.Real) or isinstance(negative_slope, bool) \
                or not math.isfinite(negative_slope):
            raise ValueError(f"LeakyReLU: negative_slope must be a finite number, "
                             f"got {negative_slope!r}")
        super().__init__("leaky_relu")
        self.negative_slope = float(negative_slope)
        slope = self.negative_slope
        self._apply = lambda v: v.leaky_relu(slope)

    def architecture(self) -> Architecture:
        return {"type": "LeakyReLU", "negative_slope": self.negative_slope}

    def to_torch(self) -> torch.nn.Module:
        return interop.leaky_relu_to_torch(self.negative_slope)

    def __repr__(self) -> str:
        return f"LeakyReLU(negative_slope={self.negative_slope})"


#: The activation modules by name; an activation without a class here is ``Activation(name)``.
NAMED_ACTIVATIONS: dict[str, type[Activation]] = {"relu": ReLU, "tanh": Tanh,
                                                   "sigmoid": Sigmoid}


class Sequential(Module):
    """Calls its modules in order: ``Sequential(Linear(2, 8), ReLU(), Linear(8, 1))``.

    ``seq[i]``, ``seq[i:j]``, ``len(seq)`` and iteration as in PyTorch; parameters are named
    ``{i}.{name}``. An error inside says which module raised it.

    >>> seq = Sequential(Linear(2, 8, seed=0), ReLU(), Linear(8, 1, seed=1))
    >>> len(seq), seq[1], [name for name, _ in seq.named_parameters()][-1]
    (3, ReLU(), '2.bias.0')
    """

    def __init__(self, *modules: Module) -> None:
        for i, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: argument {i} must be a Module, "
                                f"got {type(module).__name__}")
        super().__init__()
        for i, module in enumerate(modules):
            setattr(self, str(i), module)

    def _modules_in_order(self) -> list[Module]:
        return [module for _, module in self.submodules()]

    @overload
    def __getitem__(self, index: int) -> Module: ...
    @overload
    def __getitem__(self, index: slice) -> Sequential: ...

    def __getitem__(self, index: int | slice) -> Module | Sequential:
        modules = self._modules_in_order()
        if isinstance(index, slice):
            return Sequential(*modules[index])
        return modules[index]

    def __len__(self) -> int:
        return len(self._modules_in_order())

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules_in_order())

    def forward(self, x: Any) -> Any:
        """Return the last module's output, each module reading the one before's."""
        for i, module in enumerate(self._modules_in_order()):
            x = _located(module, i, module, x)
        return x

    def forward_batch(self, xs: Sequence[Any]) -> list[Any]:
        """Return [self(x) for x in xs], each module over the whole batch at once."""
        batch = _check_batch(xs, self)
        for i, module in enumerate(self._modules_in_order()):
            batch = _located(module.forward_batch, i, module, batch)
        return batch

    def architecture(self) -> Architecture:
        return {"type": "Sequential",
                "modules": [module.architecture() for module in self._modules_in_order()]}

    def to_torch(self) -> torch.nn.Sequential:
        """Return a float64 ``torch.nn.Sequential`` of the modules' ``to_torch()`` (needs torch)."""
        return interop.sequential_to_torch(self)

    @classmethod
    def from_torch(cls, module: torch.nn.Module) -> Sequential:
        """Return a Sequential with a torch Sequential's layers and exactly its parameters.

        module: a ``torch.nn.Sequential`` of Linear, Conv1d (dilation 1, groups 1, zero
        padding), Flatten and the activations of ``nn.ACTIVATIONS`` (ReLU, Tanh, Sigmoid,
        LeakyReLU, ...), float32 or float64. Anything else raises ValueError naming the layer
        and its position, and nothing is built. Needs torch.
        """
        return interop.sequential_from_torch(cls, module)

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({i}): {module!r}" for i, module in enumerate(self))
        return f"Sequential({inner}\n)" if inner else "Sequential()"


# ---- rebuilding a module from its architecture (nn.load) --------------------------------------


def build(architecture: object) -> Module:
    """Return a new module of the architecture a file stores (its parameters still to load).

    ValueError for an architecture that is not one of nn's own modules'.
    """
    if not isinstance(architecture, Mapping) or not isinstance(architecture.get("type"), str):
        raise ValueError(f"the architecture {architecture!r:.80} is not an object with a 'type'")
    kind = architecture["type"]
    args = {key: value for key, value in architecture.items() if key != "type"}
    if kind == "Sequential":
        modules = args.pop("modules", None)
        if not isinstance(modules, list) or args:
            raise ValueError("a Sequential's architecture is its list of 'modules' and nothing "
                             "else")
        # Nesting as deep as the JSON file's, which json has already read.
        return Sequential(*(build(module) for module in modules))
    builder = _BUILDERS.get(kind)
    if builder is None:
        raise ValueError(f"cannot rebuild a {kind!r} from a file: only nn's own modules can be, "
                         "not a Module class of your own; build the model in Python, then call "
                         "model.load(path)")
    if builder in (MLP, Layer, Neuron, Linear, Conv1d):
        args["seed"] = 0  # the file's weights replace these; fresh entropy is not needed
    try:
        return builder(**args)
    except TypeError as exc:
        raise ValueError(f"the architecture of a {kind} does not fit its constructor: "
                         f"{exc}") from exc


_BUILDERS: dict[str, Callable[..., Module]] = {
    "MLP": MLP, "Layer": Layer, "Neuron": Neuron, "Linear": Linear, "Conv1d": Conv1d,
    "Flatten": Flatten, "Activation": Activation, "LeakyReLU": LeakyReLU,
    **{cls.__name__: cls for cls in NAMED_ACTIVATIONS.values()},
}


# ---- helpers ------------------------------------------------------------------------------------


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _some(value: Value | None) -> tuple[Value, ...]:
    return () if value is None else (value,)


def _is_sequence(x: object) -> TypeGuard[Sequence[Any]]:
    # A dict or a set has a length too, but no order; a string is not a list of numbers.
    return hasattr(x, "__len__") and hasattr(x, "__getitem__") \
        and not isinstance(x, (Value, str, bytes, Mapping, AbstractSet))


def _check_flag(flag: object, owner: str, what: str) -> None:
    if not isinstance(flag, bool):
        raise TypeError(f"{owner}: {what} must be True or False, got {type(flag).__name__}")


def _check_vector(x: object, n: int, module: Module) -> None:
    if isinstance(x, (Value, numbers.Real, str, bytes, Mapping, AbstractSet)) \
            or not hasattr(x, "__len__"):
        raise TypeError(f"{module!r} expects a list of {n} inputs, got {type(x).__name__}")
    if len(x) != n:
        raise ValueError(f"{module!r} expects a list of {n} inputs, got {len(x)}")


def _check_batch(xs: object, module: Module) -> list[Any]:
    if isinstance(xs, (str, bytes, Mapping, AbstractSet)) or not hasattr(xs, "__iter__"):
        raise TypeError(f"{module!r}.forward_batch expects a list of samples, "
                        f"got {type(xs).__name__}")
    return list(xs)


def _located(call: Any, i: int, module: Module, x: Any) -> Any:
    """call(x), with a ValueError or TypeError saying it came from module i of a Sequential."""
    try:
        return call(x)
    except (ValueError, TypeError) as exc:
        if type(exc) not in (ValueError, TypeError):
            raise
        raise type(exc)(f"Sequential layer {i}: {exc}") from exc

