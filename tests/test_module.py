"""Module: parameter order and names, state dicts, and save/load that fail without side effects."""

import doctest
import importlib
import json
import math
import os
import random

import pytest

import nn as nn_package
import nn.module
from autograd import Value
from nn import (
    ELU,
    GELU,
    MLP,
    SGD,
    Activation,
    Adam,
    Conv1d,
    Flatten,
    Layer,
    LeakyReLU,
    Linear,
    Module,
    Neuron,
    ReLU,
    Sequential,
    Sigmoid,
    SiLU,
    Softplus,
    Tanh,
    mse_loss,
)


def _snapshot(model):
    return [(p.data, p.grad) for p in model.parameters()]


def _touched(model):
    """The model with nonzero grads, so a test also sees a load that resets them."""
    for i, p in enumerate(model.parameters()):
        p.grad = 0.25 * i
    return model


# ---- parameters, names, order -----------------------------------------------------------


def test_mlp_2_16_16_1_has_337_parameters():
    assert len(MLP(2, [16, 16, 1], seed=0).parameters()) == 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1


def test_names_follow_layers_neurons_weights_then_bias():
    names = [name for name, _ in MLP(2, [3, 1], seed=0).named_parameters()]
    assert names[:7] == ["layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1",
                         "layers.0.neurons.0.b", "layers.0.neurons.1.w.0",
                         "layers.0.neurons.1.w.1", "layers.0.neurons.1.b",
                         "layers.0.neurons.2.w.0"]
    assert names[-4:] == ["layers.1.neurons.0.w.0", "layers.1.neurons.0.w.1",
                          "layers.1.neurons.0.w.2", "layers.1.neurons.0.b"]
    assert len(names) == len(set(names)) == 13


def test_parameters_are_named_parameters_in_the_same_order():
    model = MLP(3, [4, 2], seed=1)
    assert model.parameters() == [p for _, p in model.named_parameters()]
    assert all(a is b for a, b in zip(model.parameters(), model.parameters()))


def test_labels_are_the_full_dotted_names():
    model = MLP(2, [16, 16, 1], seed=0)
    assert all(p.label == name for name, p in model.named_parameters())
    assert model.layers[0].neurons[3].w[1].label == "layers.0.neurons.3.w.1"


def test_standalone_neuron_names_and_labels():
    neuron = Neuron(2, seed=0)
    assert [(name, p.label) for name, p in neuron.named_parameters()] == [
        ("w.0", "w.0"), ("w.1", "w.1"), ("b", "b")]


def test_submodule_names_are_relative_labels_stay_global():
    layer = MLP(2, [3, 1], seed=0).layers[1]
    assert [name for name, _ in layer.named_parameters()][0] == "neurons.0.w.0"
    assert layer.parameters()[0].label == "layers.1.neurons.0.w.0"


def test_same_seed_same_parameters_other_seed_different():
    data = [p.data for p in MLP(2, [16, 16, 1], seed=7).parameters()]
    assert data == [p.data for p in MLP(2, [16, 16, 1], seed=7).parameters()]
    assert data != [p.data for p in MLP(2, [16, 16, 1], seed=8).parameters()]


@pytest.mark.parametrize("seed", [0, None])
def test_construction_leaves_global_random_state_alone(seed):
    random.seed(123)
    before = random.getstate()
    MLP(2, [16, 16, 1], seed=seed)
    Layer(3, 2, seed=seed)
    Neuron(4, seed=seed)
    assert random.getstate() == before


def test_seed_none_draws_fresh_parameters():
    a = [p.data for p in MLP(2, [4, 1]).parameters()]
    b = [p.data for p in MLP(2, [4, 1]).parameters()]
    assert a != b


def test_zero_grad_sets_every_grad_to_zero():
    model = _touched(MLP(2, [3, 1], seed=0))
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_custom_module_through_the_two_hooks():
    class Affine(Module):
        def __init__(self):
            self.scale = Value(2.0, "scale")
            self.inner = Neuron(1, seed=0)

        def local_parameters(self):
            return [("scale", self.scale)]

        def submodules(self):
            return [("inner", self.inner)]

    assert [n for n, _ in Affine().named_parameters()] == ["scale", "inner.w.0", "inner.b"]


# ---- state dicts ----------------------------------------------------------------------------


def test_state_dict_is_ordered_names_to_floats():
    model = MLP(2, [3, 1], seed=0)
    state = model.state_dict()
    assert list(state) == [name for name, _ in model.named_parameters()]
    assert list(state.values()) == [p.data for p in model.parameters()]


def test_load_state_dict_round_trip_keeps_the_same_value_objects():
    source, target = MLP(2, [3, 1], seed=0), MLP(2, [3, 1], seed=1)
    params = target.parameters()
    target.load_state_dict(source.state_dict())
    assert target.state_dict() == source.state_dict()
    assert all(a is b for a, b in zip(params, target.parameters()))


def _bad_states(good):
    missing = dict(good)
    missing.pop("layers.1.neurons.0.b")
    extra = {**good, "layers.2.neurons.0.b": 0.0}
    nan = {**good, "layers.0.neurons.0.w.0": math.nan}
    return {
        "missing": (missing, ValueError, "missing 1"),
        "unexpected": (extra, ValueError, "unexpected 1"),
        "nan": (nan, ValueError, "finite"),
        "string": ({**good, "layers.0.neurons.0.b": "1.0"}, TypeError, "real number"),
        "bool": ({**good, "layers.0.neurons.0.b": True}, TypeError, "real number"),
        "not a mapping": (list(good.items()), TypeError, "mapping"),
        "huge int": ({**good, "layers.0.neurons.0.b": 10**400}, ValueError, "too large"),
    }


@pytest.mark.parametrize("case", ["missing", "unexpected", "nan", "string", "bool",
                                  "not a mapping", "huge int"])
def test_bad_state_dict_raises_and_changes_nothing(case):
    model = _touched(MLP(2, [3, 1], seed=0))
    state = {name: 9.0 for name in model.state_dict()}
    bad, error, message = _bad_states(state)[case]
    before = _snapshot(model)
    with pytest.raises(error, match=message):
        model.load_state_dict(bad)
    assert _snapshot(model) == before


# ---- files ----------------------------------------------------------------------------------


def test_save_load_round_trip_is_exact(tmp_path):
    source = MLP(2, [16, 16, 1], seed=0)
    path = tmp_path / "model.json"
    source.save(path)
    target = MLP(2, [16, 16, 1], seed=1)
    target.load(str(path))
    assert target.state_dict() == source.state_dict()


def test_saved_file_is_versioned_json_with_the_architecture(tmp_path):
    path = tmp_path / "model.json"
    MLP(3, [4, 2], activation="tanh", seed=0).save(path)
    document = json.loads(path.read_text())
    assert document["format"] == "chainrule.state" and document["version"] == 1
    assert document["architecture"] == {"type": "MLP", "nin": 3, "nouts": [4, 2],
                                        "activation": "tanh", "output_activation": "linear"}
    assert len(document["parameters"]) == 4 * 4 + 2 * 5


def test_save_replaces_an_existing_file_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "model.json"
    path.write_text("old")
    MLP(2, [3, 1], seed=0).save(path)
    assert json.loads(path.read_text())["format"] == "chainrule.state"
    assert os.listdir(tmp_path) == ["model.json"]


def test_saved_file_is_readable_like_any_other_and_keeps_a_replaced_files_mode(tmp_path):
    path = tmp_path / "model.json"
    MLP(2, [3, 1], seed=0).save(path)
    assert path.stat().st_mode & 0o777 == 0o644
    path.chmod(0o640)
    MLP(2, [3, 1], seed=1).save(path)
    assert path.stat().st_mode & 0o777 == 0o640


def test_failed_save_keeps_the_old_file_and_removes_the_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    path.write_text("previous contents")

    def crash(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(nn.module.os, "replace", crash)
    with pytest.raises(OSError, match="disk gone"):
        MLP(2, [3, 1], seed=0).save(path)
    assert path.read_text() == "previous contents"
    assert os.listdir(tmp_path) == ["model.json"]


def test_save_refuses_non_finite_parameters(tmp_path):
    model = MLP(2, [3, 1], seed=0)
    model.parameters()[4].data = math.inf
    with pytest.raises(ValueError, match="not finite"):
        model.save(tmp_path / "model.json")
    assert os.listdir(tmp_path) == []


def _saved(tmp_path, edit=None, text=None):
    path = tmp_path / "model.json"
    MLP(2, [3, 1], seed=5).save(path)
    if edit is not None:
        document = json.loads(path.read_text())
        edit(document)
        path.write_text(json.dumps(document))
    if text is not None:
        path.write_text(text(path.read_text()))
    return path


BAD_FILES = {
    "truncated": (dict(text=lambda s: s[: len(s) // 2]), "corrupt or truncated"),
    "empty": (dict(text=lambda s: ""), "corrupt or truncated"),
    "not json": (dict(text=lambda s: "\x00garbage"), "corrupt or truncated"),
    "NaN value": (dict(edit=lambda d: d["parameters"].update({"layers.0.neurons.0.b": math.nan})),
                  "NaN is not a valid parameter value"),
    "a list": (dict(text=lambda s: "[1, 2]"), "not a chainrule model file"),
    "other format": (dict(edit=lambda d: d.update(format="other")), "not a chainrule model"),
    "newer version": (dict(edit=lambda d: d.update(version=2)), "newer"),
    "bad version": (dict(edit=lambda d: d.update(version="1")), "version"),
    "other architecture": (dict(edit=lambda d: d["architecture"].update(nouts=[4, 1])),
                           "different architecture"),
    "no parameters": (dict(edit=lambda d: d.pop("parameters")), "parameters"),
    "missing parameter": (dict(edit=lambda d: d["parameters"].pop("layers.1.neurons.0.b")),
                          "missing 1"),
    "string parameter": (dict(edit=lambda d: d["parameters"].update(
        {"layers.1.neurons.0.b": "x"})), "real number"),
    "huge integer": (dict(edit=lambda d: d["parameters"].update(
        {"layers.1.neurons.0.b": 10**400})), "too large for a float"),
    "deeply nested": (dict(text=lambda s: "[" * 100_000 + "]" * 100_000),
                      "corrupt or truncated"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_raises_value_error_and_changes_nothing(tmp_path, case):
    kwargs, message = BAD_FILES[case]
    path = _saved(tmp_path, **kwargs)
    model = _touched(MLP(2, [3, 1], seed=0))
    before = _snapshot(model)
    with pytest.raises(ValueError, match=message):
        model.load(path)
    assert _snapshot(model) == before


def test_loading_into_a_wrong_shape_raises_and_changes_nothing(tmp_path):
    path = tmp_path / "model.json"
    MLP(3, [4, 2], seed=1).save(path)
    wrong = MLP(3, [5, 2], seed=3)
    before = _snapshot(wrong)
    with pytest.raises(ValueError, match="different architecture"):
        wrong.load(path)
    assert _snapshot(wrong) == before


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        MLP(2, [3, 1], seed=0).load(tmp_path / "absent.json")


# ---- registration by attribute, as in PyTorch -----------------------------------------------


class _Model(Module):
    def __init__(self):
        super().__init__()
        self.scale = Value(2.0)
        self.encoder = Linear(2, 2, seed=0)
        self.blocks = [Linear(2, 2, seed=1), Linear(2, 1, seed=2)]
        self.pair = (Value(0.5), Value(-0.5))
        self.grid = [[Value(1.0), Value(2.0)], [Value(3.0), Value(4.0)]]
        self.size = 2  # neither a Value nor a Module: a plain attribute
        self.name = "model"

    def forward(self, x):
        return self.blocks[1](self.blocks[0](self.encoder(x)))


def test_assignment_registers_parameters_first_then_submodules_in_assignment_order():
    names = [name for name, _ in _Model().named_parameters()]
    assert names[:7] == ["scale", "pair.0", "pair.1", "grid.0.0", "grid.0.1", "grid.1.0",
                         "grid.1.1"]
    assert names[7:9] == ["encoder.weight.0.0", "encoder.weight.0.1"]
    assert names[-3:] == ["blocks.1.weight.0.0", "blocks.1.weight.0.1", "blocks.1.bias.0"]
    assert len(names) == 7 + 6 + 6 + 3
    assert [name for name, _ in _Model().submodules()] == ["encoder", "blocks.0", "blocks.1"]


def test_named_modules_lists_each_module_once_in_order():
    model = _Model()
    assert [name for name, _ in model.named_modules()] == ["", "encoder", "blocks.0", "blocks.1"]
    assert model.named_modules()[2][1] is model.blocks[0]


def test_attributes_read_back_as_assigned():
    model = _Model()
    assert isinstance(model.encoder, Linear) and model.size == 2
    assert "encoder" in vars(model) and model.blocks[0] is vars(model)["blocks"][0]


def test_reassigning_keeps_the_place_and_other_values_unregister():
    model = _Model()
    model.scale = Value(3.0)
    assert model.named_parameters()[0][0] == "scale" and model.parameters()[0].data == 3.0
    model.encoder = None
    assert not any(name.startswith("encoder") for name, _ in model.named_parameters())
    del model.grid
    assert not any(name.startswith("grid") for name, _ in model.named_parameters())
    model.blocks.append(Linear(1, 1, seed=3))  # lists are read as they are when listed
    assert model.named_parameters()[-1][0] == "blocks.2.bias.0"


def test_shared_parameters_and_modules_are_listed_once():
    class Tied(Module):
        def __init__(self):
            self.a = Linear(2, 2, seed=0)
            self.b = self.a
            self.w = self.a.weight[0][0]

    names = [name for name, _ in Tied().named_parameters()]
    assert names == ["w", "a.weight.0.1", "a.weight.1.0", "a.weight.1.1", "a.bias.0",
                     "a.bias.1"]
    loop = Module()
    loop.inner = Module()
    loop.inner.outer = loop  # a cycle: each module is walked once
    loop.inner.p = Value(1.0)
    assert [name for name, _ in loop.named_parameters()] == ["inner.p"]


def test_super_init_is_optional_and_a_late_call_keeps_the_registry():
    class Late(Module):
        def __init__(self):
            self.p = Value(1.0)
            super().__init__()

    assert [name for name, _ in Late().named_parameters()] == ["p"]


def test_labels_follow_the_path_and_a_users_label_is_kept():
    model = _Model()
    assert model.scale.label == "scale" and model.grid[1][0].label == "grid.1.0"
    assert model.blocks[1].weight[0][1].label == "blocks.1.weight.0.1"
    model.pair[0].label = "mine"
    outer = Sequential(model)
    assert model.blocks[1].bias[0].label == "0.blocks.1.bias.0"
    assert model.pair[0].label == "mine" and model.pair[1].label == "0.pair.1"
    assert outer([1.0, 2.0])[0].label == "0.blocks.1.out.0"


def test_everything_works_on_a_users_module(tmp_path):
    model = _Model()
    for p in model.parameters():
        p.grad = 1.0
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())
    for cls in (SGD, Adam):
        optimizer = cls(model.parameters(), lr=0.1)
        loss = mse_loss([model([1.0, -1.0])], [[0.5]])
        optimizer.zero_grad()
        loss.backward()
        before = [p.data for p in model.blocks[1].parameters()]
        optimizer.step()
        assert [p.data for p in model.blocks[1].parameters()] != before
    model.save(tmp_path / "model.json")
    other = _Model()
    other.load(tmp_path / "model.json")
    assert other.state_dict() == model.state_dict()
    other.load_state_dict({k: 0.0 for k in model.state_dict()})
    assert set(other.state_dict().values()) == {0.0}


def test_a_module_without_forward_says_so():
    with pytest.raises(NotImplementedError, match="Module must define forward"):
        Module()([1.0])


def test_neuron_layer_and_mlp_keep_their_names_so_old_files_load(tmp_path):
    # A file as chainrule wrote it before modules registered by attribute.
    old = {"format": "chainrule.state", "version": 1,
           "architecture": {"type": "MLP", "nin": 1, "nouts": [2, 1], "activation": "relu",
                            "output_activation": "linear"},
           "parameters": {"layers.0.neurons.0.w.0": 0.5, "layers.0.neurons.0.b": 0.1,
                          "layers.0.neurons.1.w.0": -0.5, "layers.0.neurons.1.b": 0.2,
                          "layers.1.neurons.0.w.0": 1.5, "layers.1.neurons.0.w.1": -1.0,
                          "layers.1.neurons.0.b": 0.3}}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    model = MLP(1, [2, 1], seed=0)
    model.load(path)
    assert model.state_dict() == old["parameters"]
    assert list(model.state_dict()) == list(old["parameters"])
    assert nn_package.load(path).state_dict() == old["parameters"]


# ---- nn.load: the file says what to build ----------------------------------------------------


def _every_kind():
    return [MLP(2, [3, 1], seed=0), MLP(2, [3, 3, 1], activation=["tanh", "leaky_relu"], seed=1),
            Layer(2, 3, "sigmoid", seed=0), Neuron(3, "tanh", seed=0), Linear(3, 2, seed=0),
            Linear(3, 2, bias=False, seed=0), Conv1d(2, 3, 3, stride=2, padding=1, seed=0),
            Sequential(Conv1d(1, 2, 3, seed=0), ReLU(), Flatten(), Linear(6, 2, seed=1), Tanh(),
                       Sigmoid(), LeakyReLU(0.2), Activation("relu"), ELU(), GELU(), SiLU(),
                       Softplus(), Sequential(Linear(2, 2, seed=2))),
            MLP(2, [3, 3, 1], activation=["gelu", "softplus"], output_activation="silu", seed=2)]


@pytest.mark.parametrize("model", _every_kind(), ids=lambda m: type(m).__name__)
def test_nn_load_rebuilds_the_model_a_file_describes(tmp_path, model):
    path = tmp_path / "model.json"
    model.save(path)
    loaded = nn_package.load(path)
    assert type(loaded) is type(model)
    assert loaded.architecture() == model.architecture()
    assert loaded.state_dict() == model.state_dict()
    assert all(p is not q for p, q in zip(loaded.parameters(), model.parameters()))
    assert type(model).load(path).state_dict() == model.state_dict()
    assert Module.load(path).architecture() == model.architecture()


def test_class_load_checks_the_class_and_instance_load_stays(tmp_path):
    path = tmp_path / "cnn.json"
    Sequential(Linear(2, 2, seed=0)).save(path)
    with pytest.raises(ValueError, match="MLP.load: .* holds a model of type Sequential, not "
                                         r"MLP; use nn.load\(path\)"):
        MLP.load(path)
    model = MLP(2, [3, 1], seed=0)
    model.save(path)
    target = MLP(2, [3, 1], seed=5)
    assert target.load(path) is None and target.state_dict() == model.state_dict()


def test_nn_load_of_a_users_module_says_how_to_load_it(tmp_path):
    path = tmp_path / "mine.json"
    _Model().save(path)
    with pytest.raises(ValueError, match="cannot rebuild a '_Model' from a file: .* build the "
                                         r"model in Python, then call model.load\(path\)"):
        nn_package.load(path)
    _Model().load(path)  # the instance form works


@pytest.mark.parametrize(("architecture", "message"), [
    ({"type": "Linear", "in_features": 2}, "does not fit its constructor"),
    ({"type": "Linear", "in_features": 0, "out_features": 1, "bias": True},
     "in_features must be a positive integer"),
    ({"type": "Sequential"}, "list of 'modules'"),
    ("MLP", "not an object with a 'type'"),
])
def test_nn_load_of_a_bad_architecture_raises_value_error(tmp_path, architecture, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"format": "chainrule.state", "version": 1,
                                "architecture": architecture, "parameters": {}}))
    with pytest.raises(ValueError, match=message):
        nn_package.load(path)


def test_save_makes_the_folder_of_its_path(tmp_path):
    path = tmp_path / "runs" / "today" / "model.json"
    model = MLP(2, [3, 1], seed=0)
    model.save(path)
    assert nn_package.load(path).state_dict() == model.state_dict()


@pytest.mark.parametrize("module", ["nn", "nn.module", "nn.layers"])
def test_docstring_examples_pass(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_parameters_lists_what_named_parameters_names_in_the_same_order():
    class Odd(Module):  # nested lists mixing Values, Modules and lists, and a shared Value
        def __init__(self):
            shared = Value(9.0)
            self.mixed = [Value(1.0), [Value(2.0), Linear(1, 1, seed=0), [Value(3.0)]], shared]
            self.again = shared
            self.tail = Linear(1, 2, seed=1)

    model = Odd()
    named = model.named_parameters()
    assert [p for _, p in named] == model.parameters()
    assert [name for name, _ in named] == ["mixed.0", "mixed.1.0", "mixed.1.2.0", "mixed.2",
                                           "mixed.1.1.weight.0.0", "mixed.1.1.bias.0",
                                           "tail.weight.0.0", "tail.weight.1.0", "tail.bias.0",
                                           "tail.bias.1"]


def test_torch_layout_names_tensors_by_attribute_and_refuses_what_torch_cannot_hold():
    model = _Model()
    layout = {name: shape for name, shape, _ in model.torch_layout()}
    assert layout == {"scale": (), "pair": (2,), "grid": (2, 2), "encoder.weight": (2, 2),
                      "encoder.bias": (2,), "blocks.0.weight": (2, 2), "blocks.0.bias": (2,),
                      "blocks.1.weight": (1, 2), "blocks.1.bias": (1,)}
    model.grid = [[Value(1.0)], [Value(2.0), Value(3.0)]]
    with pytest.raises(ValueError, match=r"_Model.grid is ragged \(lengths \[1, 2\]\)"):
        model.torch_layout()
    model.grid = [Value(1.0), Linear(1, 1, seed=0)]
    with pytest.raises(ValueError, match="_Model.grid mixes Values and Modules"):
        model.torch_layout()
