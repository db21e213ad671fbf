"""PyTorch interop: networks and optimizers handed to torch, and torch MLPs taken back.

torch is optional. Nothing here imports it when ``nn`` is imported: each function calls
``require_torch`` first, which imports it or raises ImportError saying how to install it.

How the parameters line up. chainrule orders an MLP's parameters layer by layer, neuron by
neuron, each neuron's weights then its bias. A ``torch.nn.Linear(nin, nout)`` holds the same
numbers as ``weight`` (nout rows of nin, row j = neuron j's weights) and ``bias`` (nout). So
in chainrule's order, a Linear reads row 0 of weight, bias[0], row 1 of weight, bias[1], ...

>>> from nn import MLP, SGD
>>> model = MLP(2, [3, 1], seed=0)
>>> net = model.to_torch()
>>> [type(m).__name__ for m in net]
['Linear', 'ReLU', 'Linear']
>>> MLP.from_torch(net).state_dict() == model.state_dict()
True
>>> type(SGD(model.parameters(), lr=0.1, momentum=0.9).to_torch(net)).__name__
'SGD'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from autograd import Value

    from .layers import MLP, Layer, Neuron
    from .optim import SGD, Adam

INSTALL = 'pip install torch==2.13.0 (or, in a chainrule checkout, pip install -e ".[torch]")'

#: chainrule activation name -> the name of the torch.nn module class applying it.
TORCH_ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}

# One Linear layer as plain numbers: weight rows (nout of nin), biases (nout), activation name.
LinearSpec = tuple[list[list[float]], list[float], str]


def require_torch(what: str) -> None:
    """Import torch, or raise ImportError naming ``what`` needed it and how to install it."""
    try:
        import torch  # noqa: F401 - imported to find out whether it is there
    except ImportError as exc:
        raise ImportError(f"{what} needs PyTorch, which is not installed: {INSTALL}") from exc


# ---- chainrule -> torch: modules ------------------------------------------------------------


def neuron_to_torch(neuron: Neuron) -> torch.nn.Sequential:
    """Return ``Sequential(Linear(nin, 1), activation)`` in float64 with the neuron's weights."""
    require_torch("Neuron.to_torch")
    return _sequential([_neuron_spec(neuron, "Neuron.to_torch")])


def layer_to_torch(layer: Layer) -> torch.nn.Sequential:
    """Return ``Sequential(Linear(nin, nout), activation)`` in float64 with the layer's weights."""
    require_torch("Layer.to_torch")
    return _sequential([_layer_spec(layer, "Layer.to_torch")])


def mlp_to_torch(model: MLP) -> torch.nn.Sequential:
    """Return a float64 ``Sequential`` of ``Linear`` and activation modules with model's weights.

    A "linear" activation adds no module, so ``MLP(2, [16, 1])`` becomes
    ``Sequential(Linear(2, 16), ReLU(), Linear(16, 1))``.
    """
    require_torch("MLP.to_torch")
    specs = [_layer_spec(layer, f"MLP.to_torch: layers.{i}")
             for i, layer in enumerate(model.layers)]
    for i in range(1, len(specs)):
        nin, before = len(specs[i][0][0]), len(specs[i - 1][1])
        if nin != before:
            raise ValueError(f"MLP.to_torch: layers.{i} reads {nin} inputs but layers.{i - 1} "
                             f"gives {before} outputs")
    return _sequential(specs)


def _neuron_spec(neuron: Neuron, where: str) -> LinearSpec:
    if len(neuron.w) != neuron.nin:
        raise ValueError(f"{where}: the neuron has {len(neuron.w)} weights, expected nin = "
                         f"{neuron.nin}")
    return [[w.data for w in neuron.w]], [neuron.b.data], neuron.activation


def _layer_spec(layer: Layer, where: str) -> LinearSpec:
    # layer.neurons is a public list: a neuron swapped in may not fit one Linear + activation.
    specs = [_neuron_spec(neuron, f"{where}.neurons.{j}") for j, neuron in enumerate(layer.neurons)]
    if not specs:
        raise ValueError(f"{where}: the layer has no neurons")
    nin, activation = len(specs[0][0][0]), specs[0][2]
    for j, (rows, _, act) in enumerate(specs):
        if len(rows[0]) != nin or act != activation:
            raise ValueError(
                f"{where}: neuron {j} ({len(rows[0])} inputs, {act!r}) differs from neuron 0 "
                f"({nin} inputs, {activation!r}); a torch Linear layer needs them alike")
    return [rows[0] for rows, _, _ in specs], [b[0] for _, b, _ in specs], activation


def _sequential(specs: Sequence[LinearSpec]) -> torch.nn.Sequential:
    """Float64 Linear (+ activation) modules holding exactly the numbers in specs."""
    import torch

    modules: list[torch.nn.Module] = []
    for rows, biases, activation in specs:
        # Made on the meta device, then given memory: no random initialisation runs, so
        # torch's global generator is left as it was.
        linear = torch.nn.Linear(len(rows[0]), len(rows), device="meta",
                                 dtype=torch.float64).to_empty(device="cpu")
        with torch.no_grad():
            linear.weight.copy_(torch.tensor(rows, dtype=torch.float64))
            linear.bias.copy_(torch.tensor(biases, dtype=torch.float64))
        modules.append(linear)
        if activation != "linear":
            modules.append(getattr(torch.nn, TORCH_ACTIVATIONS[activation])())
    return torch.nn.Sequential(*modules)


# ---- torch -> chainrule: MLP.from_torch -------------------------------------------------------


def mlp_from_torch(cls: type[MLP], module: torch.nn.Module) -> MLP:
    """Return a cls (an MLP) with module's architecture and exactly its parameters.

    module must be a ``torch.nn.Sequential`` of ``Linear`` layers (with bias, float32 or
    float64), each optionally followed by one ``ReLU``, ``Tanh`` or ``Sigmoid``. Every hidden
    Linear must have the same activation (or none): chainrule's MLP has one hidden activation.
    Anything else raises ValueError naming the layer and its position; nothing is built then.
    """
    require_torch("MLP.from_torch")
    import torch

    if not isinstance(module, torch.nn.Sequential):
        raise TypeError(f"MLP.from_torch expects a torch.nn.Sequential, "
                        f"got {type(module).__name__}")
    specs = _read_sequential(module)
    hidden = {spec[2] for spec in specs[:-1]}
    if len(hidden) > 1:
        first = specs[0][2]
        k = next(k for k, spec in enumerate(specs[:-1]) if spec[2] != first)
        at = [i for i, layer in enumerate(module) if type(layer) is torch.nn.Linear][k]
        raise ValueError(f"MLP.from_torch: layer {at} ({module[at]!r}) has activation "
                         f"{specs[k][2]!r} but the first Linear has {first!r}; a chainrule MLP "
                         "has one activation for all hidden layers")
    nouts = [len(biases) for _, biases, _ in specs]
    # The initial weights are overwritten below; a fixed seed keeps the global random untouched.
    model = cls(len(specs[0][0][0]), nouts, activation=hidden.pop() if hidden else "relu",
                output_activation=specs[-1][2], seed=0)
    values = [x for rows, biases, _ in specs for row, b in zip(rows, biases) for x in (*row, b)]
    for p, value in zip(model.parameters(), values, strict=True):
        p.data = value
    return model


def _read_sequential(module: torch.nn.Sequential) -> list[LinearSpec]:
    """The Linear layers of module as numbers, or ValueError at the first layer not fitting."""
    import torch

    activations = {getattr(torch.nn, cls): name for name, cls in TORCH_ACTIVATIONS.items()}
    specs: list[LinearSpec] = []
    follows_linear = False  # the previous layer was a Linear, not yet given an activation
    layers = list(module)
    if not layers:
        raise ValueError("MLP.from_torch: the Sequential is empty; it needs at least one Linear")
    for i, layer in enumerate(layers):
        where = f"MLP.from_torch: layer {i} ({layer!r})"
        # Exact types: a subclass may change what forward() computes.
        if type(layer) is torch.nn.Linear:
            specs.append(_read_linear(layer, where, specs[-1] if specs else None))
            follows_linear = True
        elif type(layer) in activations:
            if not follows_linear:
                raise ValueError(f"{where} does not follow a Linear layer; each activation "
                                 "must come right after a Linear")
            rows, biases, _ = specs[-1]
            specs[-1] = (rows, biases, activations[type(layer)])
            follows_linear = False
        else:
            raise ValueError(f"{where} is not supported; an MLP is Linear layers, each "
                             "optionally followed by ReLU, Tanh or Sigmoid")
    return specs


def _read_linear(layer: torch.nn.Linear, where: str, before: LinearSpec | None) -> LinearSpec:
    import torch

    if layer.bias is None:
        raise ValueError(f"{where} has no bias; chainrule's neurons always have one")
    for name, tensor in (("weight", layer.weight), ("bias", layer.bias)):
        if tensor.dtype not in (torch.float32, torch.float64):
            raise ValueError(f"{where}: {name} is {tensor.dtype}; expected float32 or float64")
    if before is not None and layer.in_features != len(before[1]):
        raise ValueError(f"{where} reads {layer.in_features} inputs but the Linear before it "
                         f"gives {len(before[1])} outputs")
    # float32 -> float64 is exact, so the numbers are the module's, not rounded ones.
    rows: list[list[float]] = layer.weight.detach().to("cpu", torch.float64).tolist()
    biases: list[float] = layer.bias.detach().to("cpu", torch.float64).tolist()
    if not all(math.isfinite(x) for row in rows for x in row) \
            or not all(math.isfinite(b) for b in biases):
        raise ValueError(f"{where} holds a NaN or an infinite parameter")
    return rows, biases, "linear"


# ---- chainrule -> torch: optimizers ---------------------------------------------------------


def sgd_to_torch(optimizer: SGD, module: torch.nn.Module) -> torch.optim.SGD:
    """Return ``torch.optim.SGD`` over module's parameters, continuing optimizer's trajectory.

    lr, momentum and weight_decay carry over, with dampening 0 and nesterov off: chainrule's
    SGD is that case of torch's, step for step. Both add the decay to the gradient first
    (g = grad + weight_decay * W), then update the buffer (v = momentum * v + g, and v = g
    on the first step), then step W -= lr * v. chainrule's velocity becomes each parameter's
    ``momentum_buffer``; before the first step there is none, and torch starts from g as
    chainrule would. Every chainrule SGD setting has a torch equivalent.
    """
    require_torch("SGD.to_torch")
    import torch

    params, shapes = _matching_parameters(optimizer.params, module, "SGD.to_torch")
    torch_sgd = torch.optim.SGD(params, lr=optimizer.lr, momentum=optimizer.momentum,
                                weight_decay=optimizer.weight_decay)
    velocity = optimizer._velocity
    if optimizer.momentum and velocity is not None:
        for p, buffer in zip(params, _tensors(velocity, shapes)):
            torch_sgd.state[p]["momentum_buffer"] = buffer.to(p.device)
    return torch_sgd


def adam_to_torch(optimizer: Adam, module: torch.nn.Module) -> torch.optim.Adam:
    """Return ``torch.optim.Adam`` over module's parameters, continuing optimizer's trajectory.

    lr, betas, eps and weight_decay (L2 added to the gradient, torch's Adam, not AdamW) carry
    over; the step count t becomes each parameter's ``step``, the moments m and v its
    ``exp_avg`` and ``exp_avg_sq``. Both put eps outside the bias-corrected root,
    m_hat / (sqrt(v) / sqrt(1 - b2**t) + eps), so nothing needs rescaling.
    """
    require_torch("Adam.to_torch")
    import torch

    params, shapes = _matching_parameters(optimizer.params, module, "Adam.to_torch")
    beta1, beta2 = optimizer.betas
    torch_adam = torch.optim.Adam(params, lr=optimizer.lr, betas=(beta1, beta2),
                                  eps=optimizer.eps, weight_decay=optimizer.weight_decay)
    # The count is a 0-d CPU tensor of the type torch.optim.Adam itself would make (float32
    # unless float64 is the default); either holds every count of a real run exactly.
    step_dtype = torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32
    if optimizer.t:
        for p, m, v in zip(params, _tensors(optimizer._m, shapes), _tensors(optimizer._v, shapes)):
            torch_adam.state[p] = {"step": torch.tensor(float(optimizer.t), dtype=step_dtype),
                                   "exp_avg": m.to(p.device), "exp_avg_sq": v.to(p.device)}
    return torch_adam


def _matching_parameters(values: Sequence[Value], module: torch.nn.Module,
                         where: str) -> tuple[list[torch.Tensor], list[tuple[int, int]]]:
    """module's parameters (weight, bias per Linear) and each Linear's (nout, nin).

    Checks that module is what ``model.to_torch()`` made for the optimizer's parameters: the
    same count, float64, and, in chainrule's order, exactly the same numbers. Anything else
    would continue some other trajectory, so it is a ValueError.
    """
    import torch

    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"{where} expects the torch.nn.Module that model.to_torch() returned, "
                        f"got {type(module).__name__}")
    linears = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
    params = [p for m in linears for p in (m.weight, m.bias) if p is not None]
    if len(params) != 2 * len(linears) or len(params) != len(list(module.parameters())):
        raise ValueError(f"{where}: module must hold only Linear layers with biases, as "
                         "model.to_torch() makes")
    if any(p.dtype != torch.float64 for p in params):
        raise ValueError(f"{where}: module must be float64, as model.to_torch() makes")
    shapes = [(m.out_features, m.in_features) for m in linears]
    numbers = _numbers(linears)
    if len(numbers) != len(values):
        raise ValueError(f"{where}: module has {len(numbers)} parameters, the optimizer "
                         f"{len(values)}; pass model.to_torch() of the model it optimizes")
    for k, (x, p) in enumerate(zip(numbers, values)):
        mine = p.data
        if x != mine:
            raise ValueError(f"{where}: parameter {k} is {mine!r} here but {x!r} in module; "
                             "pass model.to_torch() made after the last step")
    return params, shapes


def _numbers(linears: Sequence[torch.nn.Linear]) -> list[float]:
    """The Linears' parameters as floats in chainrule's order: row j of weight, bias[j], ..."""
    import torch

    numbers: list[float] = []
    for m in linears:
        rows = m.weight.detach().to("cpu", torch.float64).tolist()
        biases = m.bias.detach().to("cpu", torch.float64).tolist()
        for row, b in zip(rows, biases):
            numbers.extend([*row, b])
    return numbers


def _tensors(flat: Sequence[float], shapes: Sequence[tuple[int, int]]) -> list[torch.Tensor]:
    """flat (in chainrule's parameter order) as float64 tensors shaped like weight, bias, ..."""
    import torch

    tensors = []
    start = 0
    for nout, nin in shapes:
        rows = [flat[start + j * (nin + 1): start + (j + 1) * (nin + 1)] for j in range(nout)]
        tensors.append(torch.tensor([row[:nin] for row in rows], dtype=torch.float64))
        tensors.append(torch.tensor([row[nin] for row in rows], dtype=torch.float64))
        start += nout * (nin + 1)
    return tensors
