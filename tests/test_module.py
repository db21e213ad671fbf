"""Module: parameter order and names, state dicts, and save/load that fail without side effects."""

import doctest
import importlib
import json
import math
import os
import random

import pytest

import nn.module
from autograd import Value
from nn import MLP, Layer, Module, Neuron


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


@pytest.mark.parametrize("module", ["nn", "nn.module"])
def test_docstring_examples_pass(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
