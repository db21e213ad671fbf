"""PyTorch interop: modules and optimizers handed to torch agree exactly; torch MLPs come back."""

import doctest
import importlib
import itertools
import subprocess
import sys

import pytest

from nn import ACTIVATIONS, MLP, SGD, Adam, Layer, Neuron, mse_loss

XS = [[0.5, -1.0, 0.25], [-0.3, 0.8, 1.5], [1.2, 0.1, -0.7], [0.0, -0.4, 0.9]]
YS = [[0.2, -0.1], [0.7, 0.3], [-0.5, 0.4], [0.1, 0.0]]
TORCH_NAMES = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "leaky_relu": "LeakyReLU"}
COMBINATIONS = list(itertools.product(ACTIVATIONS, repeat=2))


def _flat(torch, module):
    """module's Linear parameters in chainrule's order: row j of weight, then bias[j], ..."""
    numbers = []
    for m in module:
        if isinstance(m, torch.nn.Linear):
            for row, b in zip(m.weight.tolist(), m.bias.tolist()):
                numbers.extend([*row, b])
    return numbers


def _flat_grads(torch, module):
    numbers = []
    for m in module:
        if isinstance(m, torch.nn.Linear):
            for row, b in zip(m.weight.grad.tolist(), m.bias.grad.tolist()):
                numbers.extend([*row, b])
    return numbers


def _loss_here(model):
    return mse_loss(model.forward_batch(XS), YS)


def _loss_there(torch, module):
    out = module(torch.tensor(XS, dtype=torch.float64))
    return torch.nn.functional.mse_loss(out, torch.tensor(YS, dtype=torch.float64))


# ---- to_torch: structure, outputs, gradients --------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize(("hidden", "output"), COMBINATIONS, ids="-".join)
def test_mlp_to_torch_has_the_layers_outputs_and_gradients(hidden, output):
    torch = pytest.importorskip("torch")
    model = MLP(3, [5, 4, 2], activation=hidden, output_activation=output, seed=1)
    module = model.to_torch()
    expected = []
    for activation in (hidden, hidden, output):
        expected.append("Linear")
        if activation != "linear":
            expected.append(TORCH_NAMES[activation])
    assert isinstance(module, torch.nn.Sequential)
    assert [type(m).__name__ for m in module] == expected
    assert all(p.dtype == torch.float64 for p in module.parameters())
    assert _flat(torch, module) == [p.data for p in model.parameters()]

    ours = [[v.data for v in out] for out in model.forward_batch(XS)]
    theirs = module(torch.tensor(XS, dtype=torch.float64)).tolist()
    for row, torch_row in zip(ours, theirs):
        assert row == pytest.approx(torch_row, abs=1e-12, rel=0)

    _loss_here(model).backward()
    _loss_there(torch, module).backward()
    grads = [p.grad for p in model.parameters()]
    assert any(grads)
    assert grads == pytest.approx(_flat_grads(torch, module), abs=1e-12, rel=0)


@pytest.mark.torch
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_neuron_to_torch_is_one_linear_and_its_activation(activation):
    torch = pytest.importorskip("torch")
    neuron = Neuron(3, activation, seed=2)
    module = neuron.to_torch()
    names = ["Linear"] + ([TORCH_NAMES[activation]] if activation != "linear" else [])
    assert [type(m).__name__ for m in module] == names
    assert (module[0].in_features, module[0].out_features) == (3, 1)
    x = torch.tensor(XS[1], dtype=torch.float64, requires_grad=True)
    y = module(x)
    ours = neuron(XS[1])
    assert ours.data == pytest.approx(y.item(), abs=1e-12, rel=0)
    ours.backward()
    y.sum().backward()
    assert [p.grad for p in neuron.parameters()] == pytest.approx(
        _flat_grads(torch, module), abs=1e-12, rel=0)


@pytest.mark.torch
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_layer_to_torch_matches_outputs_and_gradients(activation):
    torch = pytest.importorskip("torch")
    layer = Layer(3, 2, activation, seed=3)
    module = layer.to_torch()
    assert (module[0].in_features, module[0].out_features) == (3, 2)
    assert len(module) == (1 if activation == "linear" else 2)
    ours = layer.forward_batch(XS)
    loss = mse_loss(ours, YS)
    theirs = module(torch.tensor(XS, dtype=torch.float64))
    for row, torch_row in zip(ours, theirs.tolist()):
        assert [v.data for v in row] == pytest.approx(torch_row, abs=1e-12, rel=0)
    loss.backward()
    torch.nn.functional.mse_loss(theirs, torch.tensor(YS, dtype=torch.float64)).backward()
    assert [p.grad for p in layer.parameters()] == pytest.approx(
        _flat_grads(torch, module), abs=1e-12, rel=0)


@pytest.mark.torch
def test_to_torch_leaves_torch_random_state_alone():
    torch = pytest.importorskip("torch")
    before = torch.random.get_rng_state()
    MLP(4, [8, 3], seed=0).to_torch()
    assert torch.equal(torch.random.get_rng_state(), before)


@pytest.mark.torch
def test_layer_with_a_swapped_in_unlike_neuron_is_refused():
    pytest.importorskip("torch")
    layer = Layer(3, 2, "relu", seed=0)
    layer.neurons[1] = Neuron(3, "tanh", seed=0)
    with pytest.raises(ValueError, match="Layer.to_torch: neuron 1 .*'tanh'"):
        layer.to_torch()


# ---- from_torch ---------------------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize(("hidden", "output"), COMBINATIONS, ids="-".join)
def test_round_trip_gives_exactly_the_same_model(hidden, output):
    pytest.importorskip("torch")
    model = MLP(3, [5, 4, 2], activation=hidden, output_activation=output, seed=4)
    back = MLP.from_torch(model.to_torch())
    assert back.architecture() == model.architecture()
    assert back.state_dict() == model.state_dict()


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_from_torch_reads_a_torch_built_mlp_exactly(dtype):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Tanh(), torch.nn.Linear(6, 6),
                                 torch.nn.Tanh(), torch.nn.Linear(6, 2), torch.nn.Sigmoid())
    module = module.to(getattr(torch, dtype))
    model = MLP.from_torch(module)
    assert repr(model) == "MLP(3, [6, 6, 2], activation='tanh', output_activation='sigmoid')"
    # float32 numbers are float64 numbers too: nothing is rounded on the way in.
    assert [p.data for p in model.parameters()] == _flat(torch, module)
    expected = module.double()(torch.tensor(XS, dtype=torch.float64)).tolist()
    for out, row in zip(model.forward_batch(XS), expected):
        assert [v.data for v in out] == pytest.approx(row, abs=1e-12, rel=0)
    assert MLP.from_torch(model.to_torch()).state_dict() == model.state_dict()


@pytest.mark.torch
def test_from_torch_of_linear_layers_only_has_linear_activations():
    torch = pytest.importorskip("torch")
    model = MLP.from_torch(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(3, 1)))
    assert (model.nin, model.nouts) == (2, [3, 1])
    assert (model.activation, model.output_activation) == ("linear", "linear")
    single = MLP.from_torch(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU()))
    assert (single.nouts, single.output_activation) == ([3], "relu")


def _rejected_cases(torch):
    nn = torch.nn
    return {
        "dropout": (nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 1)),
                    r"layer 1 \(Dropout.*not supported"),
        "conv1d": (nn.Sequential(nn.Conv1d(1, 2, 3), nn.ReLU()),
                   r"layer 0 \(Conv1d.*not supported"),
        "batchnorm": (nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)),
                      r"layer 1 \(BatchNorm1d.*not supported"),
        "leaky_relu": (nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.2)),
                       r"layer 1 \(LeakyReLU.*not supported"),
        "identity": (nn.Sequential(nn.Linear(3, 4), nn.Identity()), r"layer 1 \(Identity"),
        "nested": (nn.Sequential(nn.Sequential(nn.Linear(3, 4))), r"layer 0 \(Sequential"),
        "two_activations": (nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Tanh()),
                            r"layer 2 \(Tanh\(\)\) does not follow a Linear"),
        "activation_first": (nn.Sequential(nn.ReLU(), nn.Linear(3, 4)),
                             r"layer 0 \(ReLU\(\)\) does not follow a Linear"),
        "inputs_mismatch": (nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(5, 1)),
                            r"layer 2 \(Linear.*reads 5 inputs but the Linear before it gives 4"),
        "no_bias": (nn.Sequential(nn.Linear(3, 4, bias=False)), r"layer 0 \(Linear.*no bias"),
        "float16": (nn.Sequential(nn.Linear(3, 4).half()), r"layer 0 .*float16"),
        "empty": (nn.Sequential(), "empty"),
    }


REJECTED = ["dropout", "conv1d", "batchnorm", "leaky_relu", "identity", "nested",
            "two_activations", "activation_first", "inputs_mismatch", "no_bias", "float16",
            "empty"]


@pytest.mark.torch
def test_from_torch_takes_a_different_activation_after_each_hidden_linear():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 4),
                        nn.LeakyReLU(), nn.Linear(4, 1)).double()
    model = MLP.from_torch(net)
    assert model.activation == ["relu", "tanh", "leaky_relu"]
    assert [layer.activation for layer in model.layers] == ["relu", "tanh", "leaky_relu",
                                                            "linear"]
    x = [0.3, -0.8, 1.1]
    (out,) = model(x)
    assert out.data == pytest.approx(net(torch.tensor([x], dtype=torch.float64)).item(),
                                     abs=1e-12, rel=0)
    assert [type(m).__name__ for m in model.to_torch()] == [type(m).__name__ for m in net]
    assert MLP.from_torch(model.to_torch()).state_dict() == model.state_dict()


@pytest.mark.torch
@pytest.mark.parametrize("case", REJECTED)
def test_from_torch_rejects_what_is_not_an_mlp_and_builds_nothing(case):
    torch = pytest.importorskip("torch")
    module, message = _rejected_cases(torch)[case]
    built = []

    class Recording(MLP):
        def __init__(self, *args, **kwargs):
            built.append(args)
            super().__init__(*args, **kwargs)

    with pytest.raises(ValueError, match=f"MLP.from_torch: .*{message}"):
        Recording.from_torch(module)
    assert built == []


@pytest.mark.torch
def test_from_torch_rejects_nan_parameters_and_non_sequentials():
    torch = pytest.importorskip("torch")
    linear = torch.nn.Linear(2, 2)
    with torch.no_grad():
        linear.weight[0, 1] = float("nan")
    with pytest.raises(ValueError, match=r"layer 0 \(Linear.*NaN"):
        MLP.from_torch(torch.nn.Sequential(linear))
    with pytest.raises(TypeError, match="expects a torch.nn.Sequential, got Linear"):
        MLP.from_torch(torch.nn.Linear(2, 2))


@pytest.mark.torch
def test_from_torch_on_a_subclass_returns_the_subclass():
    torch = pytest.importorskip("torch")

    class Mine(MLP):
        pass

    assert type(Mine.from_torch(torch.nn.Sequential(torch.nn.Linear(2, 1)))) is Mine


# ---- optimizers: five steps here, five there == ten here ---------------------------------


def _train_here(model, optimizer, steps):
    for _ in range(steps):
        optimizer.zero_grad()
        _loss_here(model).backward()
        optimizer.step()


def _train_there(torch, module, optimizer, steps):
    for _ in range(steps):
        optimizer.zero_grad()
        _loss_there(torch, module).backward()
        optimizer.step()


def _model():
    return MLP(3, [6, 5, 2], activation="tanh", seed=7)


SGD_CONFIGS = [dict(lr=0.1), dict(lr=0.05, momentum=0.9),
               dict(lr=0.05, momentum=0.9, weight_decay=0.01), dict(lr=0.1, weight_decay=0.1)]
ADAM_CONFIGS = [dict(lr=0.01), dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6),
                dict(lr=0.01, weight_decay=0.1)]
OPTIMIZERS = [(SGD, c) for c in SGD_CONFIGS] + [(Adam, c) for c in ADAM_CONFIGS]


@pytest.mark.torch
@pytest.mark.parametrize(("kind", "config"), OPTIMIZERS,
                         ids=[f"{k.__name__}-{c}" for k, c in OPTIMIZERS])
@pytest.mark.parametrize("first", [5, 0])
def test_training_continued_in_torch_follows_the_same_trajectory(kind, config, first):
    torch = pytest.importorskip("torch")
    reference = _model()
    _train_here(reference, kind(reference.parameters(), **config), 10)

    model = _model()
    optimizer = kind(model.parameters(), **config)
    _train_here(model, optimizer, first)
    module = model.to_torch()
    torch_optimizer = optimizer.to_torch(module)
    assert type(torch_optimizer) is getattr(torch.optim, kind.__name__)
    _train_there(torch, module, torch_optimizer, 10 - first)

    expected = [p.data for p in reference.parameters()]
    assert _flat(torch, module) == pytest.approx(expected, abs=1e-10, rel=0)
    assert _flat(torch, module) != [p.data for p in model.parameters()]  # it did move


@pytest.mark.torch
def test_sgd_hands_over_hyperparameters_and_momentum_buffers_exactly():
    pytest.importorskip("torch")
    model = _model()
    optimizer = SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=0.01)
    _train_here(model, optimizer, 3)
    module = model.to_torch()
    state = optimizer.to_torch(module).state_dict()
    group = state["param_groups"][0]
    assert (group["lr"], group["momentum"], group["weight_decay"]) == (0.05, 0.9, 0.01)
    assert (group["dampening"], group["nesterov"]) == (0, False)
    buffers = [state["state"][i]["momentum_buffer"] for i in range(len(group["params"]))]
    as_chainrule = []
    for weight, bias in zip(buffers[::2], buffers[1::2]):
        for row, b in zip(weight.tolist(), bias.tolist()):
            as_chainrule.extend([*row, b])
    assert as_chainrule == optimizer._velocity


@pytest.mark.torch
def test_adam_hands_over_step_count_and_moments_exactly():
    pytest.importorskip("torch")
    model = _model()
    optimizer = Adam(model.parameters(), lr=0.02, betas=(0.8, 0.95), eps=1e-7, weight_decay=0.05)
    _train_here(model, optimizer, 4)
    state = optimizer.to_torch(model.to_torch()).state_dict()
    group = state["param_groups"][0]
    assert (group["lr"], group["betas"], group["eps"]) == (0.02, (0.8, 0.95), 1e-7)
    assert (group["weight_decay"], group["amsgrad"]) == (0.05, False)
    entries = [state["state"][i] for i in range(len(group["params"]))]
    assert {entry["step"].item() for entry in entries} == {4.0}
    for key, ours in (("exp_avg", optimizer._m), ("exp_avg_sq", optimizer._v)):
        tensors = [entry[key] for entry in entries]
        as_chainrule = []
        for weight, bias in zip(tensors[::2], tensors[1::2]):
            for row, b in zip(weight.tolist(), bias.tolist()):
                as_chainrule.extend([*row, b])
        assert as_chainrule == ours


@pytest.mark.torch
def test_optimizer_to_torch_refuses_a_module_that_is_not_its_model():
    torch = pytest.importorskip("torch")
    model = _model()
    optimizer = Adam(model.parameters(), lr=0.01)
    stale = model.to_torch()
    _train_here(model, optimizer, 1)
    with pytest.raises(ValueError, match=r"Adam.to_torch: parameter 0 is .* here but .* in module"):
        optimizer.to_torch(stale)
    with pytest.raises(ValueError, match=r"SGD.to_torch: module has 13 parameters, .* 71;"):
        SGD(model.parameters(), lr=0.1).to_torch(MLP(2, [3, 1], seed=0).to_torch())
    with pytest.raises(ValueError, match="must be float64"):
        optimizer.to_torch(model.to_torch().float())
    with pytest.raises(ValueError, match="module has 26 parameters, the optimizer 71"):
        optimizer.to_torch(torch.nn.Sequential(torch.nn.Linear(3, 6),
                                               torch.nn.Conv1d(1, 1, 1)).double())
    with pytest.raises(TypeError, match="expects the torch.nn.Module .* got list"):
        optimizer.to_torch([])


# ---- without torch ------------------------------------------------------------------------


def test_every_entry_point_without_torch_says_how_to_install_it(monkeypatch):
    # None in sys.modules makes `import torch` raise ImportError, as if it were not installed.
    monkeypatch.setitem(sys.modules, "torch", None)
    model = MLP(2, [3, 1], seed=0)
    calls = {
        "Neuron.to_torch": lambda: Neuron(2, seed=0).to_torch(),
        "Layer.to_torch": lambda: Layer(2, 3, seed=0).to_torch(),
        "MLP.to_torch": model.to_torch,
        "MLP.from_torch": lambda: MLP.from_torch(object()),
        "SGD.to_torch": lambda: SGD(model.parameters(), lr=0.1).to_torch(object()),
        "Adam.to_torch": lambda: Adam(model.parameters()).to_torch(object()),
    }
    for name, call in calls.items():
        with pytest.raises(ImportError, match=rf"{name} needs PyTorch.*pip install torch==2.13.0"):
            call()


def test_importing_autograd_and_nn_never_imports_torch():
    code = ("import sys, autograd, nn, nn.interop; from nn import MLP; MLP(2, [3, 1], seed=0)\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.torch
def test_docstring_examples_run():
    pytest.importorskip("torch")
    result = doctest.testmod(importlib.import_module("nn.interop"))
    assert result.attempted >= 4 and result.failed == 0
