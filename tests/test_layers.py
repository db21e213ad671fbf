"""Neuron, Layer, MLP: forward values, one node per weighted sum, labels, init and errors."""

import doctest
import importlib
import math

import pytest

import autograd as ag
from autograd import Value, no_grad
from nn import ACTIVATIONS, MLP, Layer, Neuron, init_bound

REFERENCE = {
    "relu": lambda z: max(z, 0.0),
    "leaky_relu": lambda z: z if z > 0.0 else 0.01 * z,
    "tanh": math.tanh,
    "sigmoid": lambda z: 1.0 / (1.0 + math.exp(-z)),
    "linear": lambda z: z,
}


def _by_hand(neuron, x):
    z = math.fsum(w.data * xi for w, xi in zip(neuron.w, x)) + neuron.b.data
    return REFERENCE[neuron.activation](z)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_neuron_computes_activation_of_weighted_sum(activation):
    neuron = Neuron(3, activation, seed=2)
    neuron.b.data = 0.3
    x = [0.5, -1.5, 2.0]
    assert neuron(x).data == pytest.approx(_by_hand(neuron, x), abs=1e-15)


def test_weighted_sum_is_one_dot_node_over_weights_and_bias():
    neuron = Neuron(4, "tanh", seed=0)
    out = neuron([1.0, 2.0, 3.0, 4.0])
    (z,) = out.children
    assert out.op == "tanh" and z.op == "dot"
    assert z.children == (*neuron.w, neuron.b)


def test_linear_neuron_returns_the_weighted_sum_itself():
    z = Neuron(2, "linear", seed=0)([1.0, 1.0])
    assert z.op == "dot" and z.label == "z"


def test_node_labels_carry_the_neuron_path():
    model = MLP(2, [16, 16, 1], seed=0)
    (out,) = model([0.5, -1.0])
    assert out.label == "layers.2.neurons.0.z"
    # The dot's children: 16 weights and the bias, then the 16 hidden outputs it reads.
    hidden = out.children[17 + 2]
    assert hidden.label == "layers.1.neurons.2.out" and hidden.op == "relu"
    assert hidden.children[0].label == "layers.1.neurons.2.z"


def test_mlp_forward_matches_layer_by_layer_by_hand():
    model = MLP(3, [4, 2], activation="tanh", output_activation="sigmoid", seed=3)
    x = [0.2, -0.4, 0.9]
    hidden = [_by_hand(n, x) for n in model.layers[0].neurons]
    expected = [_by_hand(n, hidden) for n in model.layers[1].neurons]
    assert [v.data for v in model(x)] == pytest.approx(expected, abs=1e-15)


def test_graph_has_two_nodes_per_hidden_neuron_and_one_per_linear_output():
    model = MLP(2, [16, 16, 1], seed=0)
    (out,) = model([0.5, -1.0])
    ops = [n.op for n in ag.topological_order(out) if n.op]
    assert ops.count("dot") == 33 and ops.count("relu") == 32 and len(ops) == 65


def test_layer_and_mlp_always_return_lists_of_values():
    single = MLP(2, [1], seed=0)([1.0, 2.0])
    layer_out = Layer(2, 1, seed=0)([1.0, 2.0])
    for out in (single, layer_out):
        assert isinstance(out, list) and len(out) == 1 and isinstance(out[0], Value)


def test_inputs_may_be_values_and_get_gradients():
    x = [Value(0.5), Value(-0.25)]
    (out,) = MLP(2, [3, 1], activation="tanh", seed=0)(x)
    out.backward()
    assert ag.grad(out, x) == [x[0].grad, x[1].grad]
    assert any(v.grad != 0.0 for v in x)


def test_forward_under_no_grad_records_nothing():
    with no_grad():
        (out,) = MLP(2, [3, 1], seed=0)([1.0, 2.0])
    assert out.children == ()


@pytest.mark.parametrize("make, message", [
    (lambda: MLP(2, [3, 1], seed=0), "MLP expected 2 inputs, got 3"),
    (lambda: Layer(2, 3, seed=0), "Layer expected 2 inputs, got 3"),
    (lambda: Neuron(2, seed=0), "Neuron expected 2 inputs, got 3"),
])
def test_wrong_input_length_names_expected_and_got(make, message):
    with pytest.raises(ValueError, match=message):
        make()([1.0, 2.0, 3.0])


@pytest.mark.parametrize("bad", [1.0, Value(1.0), "ab", b"ab", {0: 1.0, 1: 2.0}, {1.0, 2.0}],
                         ids=["float", "Value", "str", "bytes", "dict", "set"])
def test_non_sequence_input_is_a_type_error(bad):
    with pytest.raises(TypeError, match="MLP expects a sequence of 2 inputs"):
        MLP(2, [1], seed=0)(bad)


def test_non_number_input_is_a_type_error():
    with pytest.raises(TypeError):
        MLP(2, [1], seed=0)([1.0, "x"])


@pytest.mark.parametrize("make, message", [
    (lambda: MLP(0, [1]), "nin must be a positive integer"),
    (lambda: MLP(2, []), "non-empty list"),
    (lambda: MLP(2, [3, 0]), "each layer size"),
    (lambda: MLP(2, [2.5]), "each layer size"),
    (lambda: MLP(2, [1], activation="softmax"), "unknown activation 'softmax'"),
    (lambda: Layer(2, 3, "gelu"), "unknown activation"),
    (lambda: Neuron(True), "nin must be a positive integer"),
])
def test_bad_construction_arguments_raise_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_an_activation_that_is_not_a_name_is_a_type_error():
    with pytest.raises(TypeError, match="activation must be a name"):
        Neuron(2, activation=["relu"])


def test_seed_and_rng_are_exclusive_and_seed_must_be_an_int():
    import random

    with pytest.raises(ValueError, match="seed or rng"):
        Layer(2, 2, seed=0, rng=random.Random(0))
    with pytest.raises(TypeError, match="seed must be an int"):
        MLP(2, [1], seed=1.5)


@pytest.mark.parametrize("activation, bound", [
    ("relu", math.sqrt(6 / 16)), ("tanh", math.sqrt(3 / 16)),
    ("sigmoid", math.sqrt(3 / 16)), ("linear", math.sqrt(3 / 16)),
])
def test_init_is_uniform_within_the_fan_in_bound_and_biases_start_at_zero(activation, bound):
    assert init_bound(activation, 16) == bound
    layer = Layer(16, 64, activation, seed=0)
    weights = [w.data for n in layer.neurons for w in n.w]
    assert max(abs(w) for w in weights) <= bound
    # 1024 uniform draws fill the interval: the extremes come close to the bound.
    assert max(weights) > 0.95 * bound and min(weights) < -0.95 * bound
    assert all(n.b.data == 0.0 for n in layer.neurons)


def test_repr_shows_the_constructor_arguments():
    assert repr(MLP(2, [16, 1], seed=0)) == (
        "MLP(2, [16, 1], activation='relu', output_activation='linear')")
    assert repr(Layer(3, 2, "tanh")) == "Layer(3, 2, activation='tanh')"


def test_docstring_examples_pass():
    result = doctest.testmod(importlib.import_module("nn.layers"))
    assert result.attempted > 0 and result.failed == 0


def _same_outputs(together, alone):
    for t, a in zip(together, alone, strict=True):
        assert (t.data, t.op, t.label, t.local_grads) == (a.data, a.op, a.label, a.local_grads)
        tz, az = (t.children[0], a.children[0]) if t.op != "dot" else (t, a)
        assert (tz.data, tz.op, tz.label, tz.local_grads) \
            == (az.data, az.op, az.label, az.local_grads)
        assert len(tz.children) == len(az.children)
        assert all(p is q for p, q in zip(tz.children, az.children))


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("x", [[0.5, -1.0, 2.0], [Value(0.5), Value(-1.0), 2]])
def test_layer_makes_the_nodes_its_neurons_make_one_by_one(x, activation):
    # Layer builds its weighted sums with ag.batch_dots; each neuron alone uses ag.dot.
    layer = Layer(3, 4, activation, seed=5, name="h")
    _same_outputs(layer(x), [neuron(x) for neuron in layer.neurons])
    assert [out.label for out in layer(x)] == [
        f"h.neurons.{i}.{'z' if activation == 'linear' else 'out'}" for i in range(4)]


def test_a_layer_applies_each_neurons_own_activation():
    layer = Layer(2, 3, seed=0)
    layer.neurons[1] = Neuron(2, "tanh", seed=3)  # neurons is a plain, public list
    x = [1.0, 2.0]
    assert [out.op for out in layer(x)] == ["relu", "tanh", "relu"]
    _same_outputs(layer(x), [neuron(x) for neuron in layer.neurons])


def _same_graph(a, b):
    """The two graphs match node for node: data, op, label, local derivatives; leaves shared."""
    order_a, order_b = ag.topological_order(a), ag.topological_order(b)
    assert len(order_a) == len(order_b)
    for p, q in zip(order_a, order_b):
        assert (p.data, p.op, p.label, p.local_grads) == (q.data, q.op, q.label, q.local_grads)
        if not p.children:
            assert p is q or not p.label  # parameters are the same objects; inputs are equal


def test_mlp_forward_batch_builds_the_graph_of_one_call_per_sample():
    model = MLP(3, [5, 4, 2], activation="tanh", seed=7)
    xs = [[0.5, -1.0, 2.0], [Value(0.1), Value(-0.3), 0.7], (1, 2, 3)]
    batch = model.forward_batch(xs)
    assert len(batch) == 3 and all(len(out) == 2 for out in batch)
    for x, outs in zip(xs, batch):
        for got, expected in zip(outs, model(x)):
            _same_graph(got, expected)
    layer = model.layers[0]
    assert [[z.data for z in zs] for zs in layer.forward_batch(xs)] \
        == [[z.data for z in layer(x)] for x in xs]
    assert model.forward_batch([]) == [] and layer.forward_batch([]) == []
    # Any iterable of samples, as a loop over it would take them.
    from_generator = model.forward_batch(list(x) for x in xs)
    assert [[v.data for v in out] for out in from_generator] \
        == [[v.data for v in out] for out in batch]


def test_forward_batch_checks_every_sample_before_building_anything():
    model = MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match="MLP expected 2 inputs, got 3"):
        model.forward_batch([[1.0, 2.0], [1.0, 2.0, 3.0]])
    for not_a_batch in ("ab", {"a": [1.0, 2.0]}, 5):
        with pytest.raises(TypeError, match="list of input vectors"):
            model.forward_batch(not_a_batch)
    with pytest.raises(TypeError, match="MLP expects a sequence"):
        model.forward_batch([1.0, 2.0])
    with pytest.raises(TypeError, match="Layer.forward_batch"):
        model.layers[0].forward_batch(5)
    with no_grad():
        (out,), = model.forward_batch([[1.0, 2.0]])
    assert out.children == () and out.data == model([1.0, 2.0])[0].data


def test_forward_batch_takes_a_numpy_matrix_as_rows_of_samples():
    np = pytest.importorskip("numpy", reason="numpy comes with the demos extra")
    model = MLP(2, [3, 1], seed=0)
    xs = np.array([[0.5, -1.0], [2.0, 0.25]])
    assert [out[0].data for out in model.forward_batch(xs)] \
        == [model([float(v) for v in x])[0].data for x in xs]
