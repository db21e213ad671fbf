"""PyTorch interop: networks and optimizers handed to torch, and torch networks taken back.

torch is optional. Nothing here imports it when ``nn`` is imported: each function calls
``require_torch`` first, which imports it or raises ImportError saying how to install it.

How the parameters line up. chainrule orders an MLP's parameters layer by layer, neuron by
neuron, each neuron's weights then its bias. A ``torch.nn.Linear(nin, nout)`` holds the same
numbers as ``weight`` (nout rows of nin, row j = neuron j's weights) and ``bias`` (nout). So
in chainrule's order, a Linear reads row 0 of weight, bias[0], row 1 of weight, bias[1], ...
The PyTorch-shaped modules (``nn.modules``: Linear, Conv1d, ...) use torch's own order
instead: all of weight, row-major, then bias, tensor after tensor as ``parameters()`` lists.

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
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    import torch

    from autograd import Value

    from .layers import MLP, Layer, Neuron
    from .module import Module
    from .modules import Conv1d, Linear, Sequential
    from .optim import SGD, Adam

INSTALL = 'pip install torch==2.13.0 (or, in a chainrule checkout, pip install -e ".[torch]")'

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
            modules.append(activation_to_torch(activation))
    return torch.nn.Sequential(*modules)


def _torch_activations() -> dict[type, str]:
    """torch.nn activation class -> chainrule's name, from nn.ACTIVATIONS."""
    import torch

    from .layers import ACTIVATIONS

    return {getattr(torch.nn, rule.torch): name for name, rule in ACTIVATIONS.items()
            if rule.torch is not None}


def activation_to_torch(name: str) -> torch.nn.Module:
    """Return the torch.nn module applying nn.ACTIVATIONS[name], with its default arguments."""
    require_torch("to_torch")
    import torch

    from .layers import ACTIVATIONS

    module_name = ACTIVATIONS[name].torch
    assert module_name is not None, "linear adds no module"
    module: torch.nn.Module = getattr(torch.nn, module_name)()
    return module


def leaky_relu_to_torch(negative_slope: float) -> torch.nn.LeakyReLU:
    """Return ``torch.nn.LeakyReLU(negative_slope)``."""
    require_torch("LeakyReLU.to_torch")
    import torch

    return torch.nn.LeakyReLU(negative_slope)


def flatten_to_torch() -> torch.nn.Flatten:
    """Return ``torch.nn.Flatten()``: (1, C, L) to (1, C*L), as Flatten on one sample."""
    require_torch("Flatten.to_torch")
    import torch

    return torch.nn.Flatten()


def linear_to_torch(layer: Linear) -> torch.nn.Linear:
    """Return a float64 ``torch.nn.Linear`` holding exactly layer's weight and bias."""
    require_torch("Linear.to_torch")
    import torch

    made = torch.nn.Linear(layer.in_features, layer.out_features, bias=layer.has_bias,
                           device="meta", dtype=torch.float64).to_empty(device="cpu")
    _fill(made, layer)
    return made


def conv1d_to_torch(layer: Conv1d) -> torch.nn.Conv1d:
    """Return a float64 ``torch.nn.Conv1d`` holding exactly layer's weight and bias."""
    require_torch("Conv1d.to_torch")
    import torch

    made = torch.nn.Conv1d(layer.in_channels, layer.out_channels, layer.kernel_size,
                           stride=layer.stride, padding=layer.padding, bias=layer.has_bias,
                           device="meta", dtype=torch.float64).to_empty(device="cpu")
    _fill(made, layer)
    return made


def _fill(made: torch.nn.Module, module: Module) -> None:
    """Copy module's parameters into made, its torch twin, by torch's names."""
    made.load_state_dict(torch_state_dict(module))


def sequential_to_torch(seq: Sequential) -> torch.nn.Sequential:
    """Return a float64 ``torch.nn.Sequential`` of each module's ``to_torch()``."""
    require_torch("Sequential.to_torch")
    import torch

    modules = []
    for i, module in enumerate(seq):
        to_torch = getattr(module, "to_torch", None)
        if to_torch is None:
            raise ValueError(f"Sequential.to_torch: layer {i} ({module!r}) has no to_torch(); "
                             "give it one, or move its parameters with torch_state_dict()")
        modules.append(to_torch())
    return torch.nn.Sequential(*modules)


# ---- state dicts by PyTorch's names -------------------------------------------------------------


def torch_state_dict(module: Module) -> dict[str, torch.Tensor]:
    """Return {torch name: float64 tensor} of module's parameters (see Module.torch_layout)."""
    require_torch("torch_state_dict")
    import torch

    state = {}
    for name, shape, values in module.torch_layout():
        state[name] = torch.tensor([v.data for v in values], dtype=torch.float64).reshape(shape)
    return state


def load_torch_state_dict(module: Module, state: Mapping[str, torch.Tensor]) -> None:
    """Set module's parameters from a torch state dict; check everything before any change."""
    require_torch("load_torch_state_dict")
    import torch

    where = "load_torch_state_dict"
    if not isinstance(state, Mapping):
        raise TypeError(f"{where}: state must be a mapping of name to tensor, "
                        f"got {type(state).__name__}")
    layout = module.torch_layout()
    names = [name for name, _, _ in layout]
    missing = [name for name in names if name not in state]
    unexpected = [key for key in state if key not in set(names)]
    if missing or unexpected:
        raise ValueError(f"{where}: state does not fit {module!r}: missing {_some(missing)}, "
                         f"unexpected {_some(unexpected)}")
    updates: list[tuple[list[Value], list[float]]] = []
    for name, shape, values in layout:
        tensor = state[name]
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"{where}: {name!r} must be a torch.Tensor, "
                            f"got {type(tensor).__name__}")
        if tensor.dtype not in (torch.float32, torch.float64):
            raise ValueError(f"{where}: {name!r} is {tensor.dtype}; expected float32 or float64")
        if tuple(tensor.shape) != shape:
            raise ValueError(f"{where}: {name!r} has shape {tuple(tensor.shape)}, expected "
                             f"{shape}")
        numbers: list[float] = tensor.detach().to("cpu", torch.float64).reshape(-1).tolist()
        if not all(math.isfinite(x) for x in numbers):
            raise ValueError(f"{where}: {name!r} holds a NaN or an infinite value")
        updates.append((values, numbers))
    for values, numbers in updates:
        for p, x in zip(values, numbers):
            p.data = x


def _some(names: list[str], limit: int = 4) -> str:
    if not names:
        return "none"
    shown = ", ".join(map(repr, names[:limit]))
    return f"{len(names)} ({shown}{', ...' if len(names) > limit else ''})"


# ---- torch -> chainrule: MLP.from_torch -------------------------------------------------------


def mlp_from_torch(cls: type[MLP], module: torch.nn.Module) -> MLP:
    """Return a cls (an MLP) with module's architecture and exactly its parameters.

    module must be a ``torch.nn.Sequential`` of ``Linear`` layers (with bias, float32 or
    float64), each optionally followed by one activation module of ``nn.ACTIVATIONS`` (with
    its default arguments). Hidden activations all alike give the MLP one name, else a list.
    Anything else raises ValueError naming the layer and its position; nothing is built then.
    """
    require_torch("MLP.from_torch")
    import torch

    if not isinstance(module, torch.nn.Sequential):
        raise TypeError(f"MLP.from_torch expects a torch.nn.Sequential, "
                        f"got {type(module).__name__}")
    specs = _read_sequential(module)
    hidden = [spec[2] for spec in specs[:-1]]
    activation: str | list[str] = hidden[0] if len(set(hidden)) == 1 else hidden
    nouts = [len(biases) for _, biases, _ in specs]
    # The initial weights are overwritten below; a fixed seed keeps the global random untouched.
    model = cls(len(specs[0][0][0]), nouts, activation=activation or "relu",
                output_activation=specs[-1][2], seed=0)
    values = [x for rows, biases, _ in specs for row, b in zip(rows, biases) for x in (*row, b)]
    for p, value in zip(model.parameters(), values, strict=True):
        p.data = value
    return model


def _read_sequential(module: torch.nn.Sequential) -> list[LinearSpec]:
    """The Linear layers of module as numbers, or ValueError at the first layer not fitting."""
    import torch

    activations = _torch_activations()
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
        elif type(layer) in activations and _default_arguments(layer):
            if not follows_linear:
                raise ValueError(f"{where} does not follow a Linear layer; each activation "
                                 "must come right after a Linear")
            rows, biases, _ = specs[-1]
            specs[-1] = (rows, biases, activations[type(layer)])
            follows_linear = False
        else:
            raise ValueError(f"{where} is not supported; an MLP is Linear layers, each "
                             "optionally followed by an activation of nn.ACTIVATIONS with its "
                             "default arguments (ReLU, Tanh, Sigmoid, LeakyReLU(0.01), ...); "
                             "Sequential.from_torch takes more")
    return specs


def _default_arguments(layer: torch.nn.Module) -> bool:
    """Whether an activation module computes what its class does with default arguments."""
    import torch

    if isinstance(layer, torch.nn.LeakyReLU):
        return bool(layer.negative_slope == 0.01)
    return True


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


# ---- torch -> chainrule: Sequential.from_torch -----------------------------------------------


def sequential_from_torch(cls: type[Sequential], module: torch.nn.Module) -> Sequential:
    """Return a cls (a Sequential) with module's layers and exactly its parameters.

    Every layer is read and checked before anything is built: on a ValueError (a layer not
    supported, named with its position) nothing is made.
    """
    require_torch("Sequential.from_torch")
    import torch

    from . import modules as m

    if not isinstance(module, torch.nn.Sequential):
        raise TypeError(f"Sequential.from_torch expects a torch.nn.Sequential, "
                        f"got {type(module).__name__}")
    activations = _torch_activations()
    plans: list[tuple[Callable[[], Module], dict[str, torch.Tensor]]] = []
    for i, layer in enumerate(module):
        where = f"Sequential.from_torch: layer {i} ({layer!r})"
        kind = type(layer)  # exact types: a subclass may change what forward() computes
        if kind is torch.nn.Linear:
            plans.append((_maker(m.Linear, layer.in_features, layer.out_features,
                                 bias=layer.bias is not None, seed=0),
                          _checked_tensors(layer, where)))
        elif kind is torch.nn.Conv1d:
            conv = cast("torch.nn.Conv1d", layer)
            plans.append((_maker(m.Conv1d, *_conv_arguments(conv, where), seed=0),
                          _checked_tensors(layer, where)))
        elif kind is torch.nn.Flatten:
            flatten = cast("torch.nn.Flatten", layer)
            if (flatten.start_dim, flatten.end_dim) != (1, -1):
                raise ValueError(f"{where}: only Flatten() (start_dim=1, end_dim=-1) is "
                                 "supported")
            plans.append((m.Flatten, {}))
        elif kind is torch.nn.LeakyReLU:
            slope = cast("torch.nn.LeakyReLU", layer).negative_slope
            plans.append((_maker(m.LeakyReLU, float(slope)), {}))
        elif kind in activations:
            name = activations[kind]
            named = m.NAMED_ACTIVATIONS.get(name)
            plans.append((named if named is not None else _maker(m.Activation, name), {}))
        else:
            raise ValueError(f"{where} is not supported; Sequential.from_torch takes Linear, "
                             "Conv1d, Flatten and the activations of nn.ACTIVATIONS")
    built = []
    for make, tensors in plans:
        layer_here = make()
        if tensors:
            load_torch_state_dict(layer_here, tensors)
        built.append(layer_here)
    return cls(*built)


def _maker(cls: Callable[..., Module], *args: object, **kwargs: object) -> Callable[[], Module]:
    return lambda: cls(*args, **kwargs)


def _conv_arguments(layer: torch.nn.Conv1d, where: str) -> tuple[int, int, int, int, int]:
    """Conv1d's (in, out, kernel, stride, padding), or ValueError for what chainrule lacks."""
    if tuple(layer.dilation) != (1,):
        raise ValueError(f"{where}: dilation {layer.dilation[0]} is not supported (only 1)")
    if layer.groups != 1:
        raise ValueError(f"{where}: groups={layer.groups} is not supported (only 1)")
    if layer.padding_mode != "zeros":
        raise ValueError(f"{where}: padding_mode {layer.padding_mode!r} is not supported "
                         "(only zero padding)")
    padding = layer.padding
    if isinstance(padding, str):  # "valid" is 0; "same" pads by what the kernel needs
        if padding != "valid":
            raise ValueError(f"{where}: padding={padding!r} is not supported; give the "
                             "padding as a number")
        padding = (0,)
    return (layer.in_channels, layer.out_channels, layer.kernel_size[0], layer.stride[0],
            padding[0])


def _checked_tensors(layer: torch.nn.Module, where: str) -> dict[str, torch.Tensor]:
    """layer's parameters by name, float32 or float64 and finite, else ValueError."""
    import torch

    tensors = {}
    for name, tensor in layer.named_parameters():
        if tensor.dtype not in (torch.float32, torch.float64):
            raise ValueError(f"{where}: {name} is {tensor.dtype}; expected float32 or float64")
        if not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"{where} holds a NaN or an infinite parameter")
        tensors[name] = tensor.detach()
    return tensors


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
        for p, buffer in zip(params, _tensors(velocity, shapes, params)):
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
        for p, m, v in zip(params, _tensors(optimizer._m, shapes, params),
                           _tensors(optimizer._v, shapes, params)):
            torch_adam.state[p] = {"step": torch.tensor(float(optimizer.t), dtype=step_dtype),
                                   "exp_avg": m.to(p.device), "exp_avg_sq": v.to(p.device)}
    return torch_adam


def _matching_parameters(values: Sequence[Value], module: torch.nn.Module,
                         where: str) -> tuple[list[torch.Tensor], list[list[int]]]:
    """module's parameters, and for each, the positions in values of its elements (row-major).

    Checks that module is what ``model.to_torch()`` made for the optimizer's parameters: the
    same count, float64, and, in chainrule's order, exactly the same numbers. That order is
    an MLP's (row, bias, row, bias per Linear) or the PyTorch-shaped modules' (tensor after
    tensor); the one whose numbers match is used. Anything else would continue some other
    trajectory, so it is a ValueError.
    """
    import torch

    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"{where} expects the torch.nn.Module that model.to_torch() returned, "
                        f"got {type(module).__name__}")
    params: list[torch.Tensor] = list(module.parameters())
    if any(p.dtype != torch.float64 for p in params):
        raise ValueError(f"{where}: module must be float64, as model.to_torch() makes")
    flat: list[float] = [x for p in params for x in p.detach().to("cpu").reshape(-1).tolist()]
    if len(flat) != len(values):
        raise ValueError(f"{where}: module has {len(flat)} parameters, the optimizer "
                         f"{len(values)}; pass model.to_torch() of the model it optimizes")
    layouts = [_mlp_positions(module, params), _torch_positions(params)]
    mismatch = ""
    for positions in layouts:
        if positions is None:
            continue
        ours = [0.0] * len(flat)
        for where_in_values, x in zip((k for idx in positions for k in idx), flat):
            ours[where_in_values] = x
        bad = next((k for k, (x, p) in enumerate(zip(ours, values)) if x != p.data), None)
        if bad is None:
            return params, positions
        mismatch = mismatch or (f"{where}: parameter {bad} is {values[bad].data!r} here but "
                                f"{ours[bad]!r} in module; pass model.to_torch() made after "
                                "the last step")
    raise ValueError(mismatch)


def _mlp_positions(module: torch.nn.Module,
                   params: Sequence[torch.Tensor]) -> list[list[int]] | None:
    """An MLP's order (row j of weight, then bias[j], per Linear), or None if module is not
    Linear layers with biases only."""
    import torch

    linears = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
    mine = [p for m in linears for p in (m.weight, m.bias) if p is not None]
    if len(mine) != 2 * len(linears) or len(mine) != len(params) \
            or any(p is not q for p, q in zip(mine, params)):
        return None
    positions = []
    start = 0
    for m in linears:
        nout, nin = m.out_features, m.in_features
        positions.append([start + j * (nin + 1) + i for j in range(nout) for i in range(nin)])
        positions.append([start + j * (nin + 1) + nin for j in range(nout)])
        start += nout * (nin + 1)
    return positions


def _torch_positions(params: Sequence[torch.Tensor]) -> list[list[int]]:
    """The PyTorch-shaped modules' order: each tensor's elements in turn, row-major."""
    positions = []
    start = 0
    for p in params:
        positions.append(list(range(start, start + p.numel())))
        start += p.numel()
    return positions


def _tensors(flat: Sequence[float], positions: Sequence[list[int]],
             params: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """flat (in chainrule's parameter order) as float64 tensors shaped like params."""
    import torch

    return [torch.tensor([flat[k] for k in idx], dtype=torch.float64).reshape(p.shape)
            for idx, p in zip(positions, params)]
