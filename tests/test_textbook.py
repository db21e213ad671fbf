"""The textbook backprop equations, checked against autograd on small sigmoid networks.

A 2-2-1 network with sigmoid hidden and output units and J = 1/2 (yhat - y)^2:
    delta2 = (yhat - y) yhat (1 - yhat),   dJ/dW2 = delta2 a1^T,   dJ/db2 = delta2,
    delta1 = W2^T delta2 * a1 (1 - a1),    dJ/dW1 = delta1 x^T,    dJ/db1 = delta1.
A sigmoid output with binary cross-entropy: d loss / d z = a - y.
"""

import math

import pytest

import autograd as ag
from nn import MLP, SGD, Neuron, bce_with_logits, binary_cross_entropy, mse_loss

POINTS = [([0.0, 0.0], 0.0), ([0.0, 1.0], 1.0), ([1.0, 0.0], 1.0), ([1.0, 1.0], 0.0),
          ([0.35, -1.2], 0.7)]


def _sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def _net(seed=0):
    model = MLP(2, [2, 1], activation="sigmoid", output_activation="sigmoid", seed=seed)
    # Nonzero biases, so a bias mix-up cannot hide behind b = 0.
    for neuron, b in zip([*model.layers[0].neurons, *model.layers[1].neurons], [0.3, -0.2, 0.1]):
        neuron.b.data = b
    return model


def _matrices(model):
    hidden, (out,) = model.layers[0].neurons, model.layers[1].neurons
    w1 = [[w.data for w in n.w] for n in hidden]
    b1 = [n.b.data for n in hidden]
    return w1, b1, [w.data for w in out.w], out.b.data


def _closed_form(model, x, y):
    """dJ/dp by parameter name for J = 1/2 (yhat - y)^2 on one point, and the two deltas."""
    w1, b1, w2, b2 = _matrices(model)
    a1 = [_sigmoid(sum(w * xi for w, xi in zip(row, x)) + b) for row, b in zip(w1, b1)]
    yhat = _sigmoid(sum(w * a for w, a in zip(w2, a1)) + b2)
    delta2 = (yhat - y) * yhat * (1.0 - yhat)
    delta1 = [w2[j] * delta2 * a1[j] * (1.0 - a1[j]) for j in range(2)]
    grads = {"layers.1.neurons.0.b": delta2}
    for j in range(2):
        grads[f"layers.1.neurons.0.w.{j}"] = delta2 * a1[j]
        grads[f"layers.0.neurons.{j}.b"] = delta1[j]
        for k in range(2):
            grads[f"layers.0.neurons.{j}.w.{k}"] = delta1[j] * x[k]
    return grads, delta2, delta1


@pytest.mark.parametrize("x, y", POINTS)
def test_2_2_1_sigmoid_gradients_equal_the_closed_form_deltas(x, y):
    model = _net()
    (yhat,) = model(x)
    loss = 0.5 * mse_loss([yhat], [y])
    loss.backward()
    expected, delta2, delta1 = _closed_form(model, x, y)
    for name, p in model.named_parameters():
        assert p.grad == pytest.approx(expected[name], abs=1e-12), name
    # The deltas are the gradients at the weighted sums z, which autograd holds too.
    z = {n.label: n.grad for n in ag.topological_order(loss) if n.label.endswith(".z")}
    assert z["layers.1.neurons.0.z"] == pytest.approx(delta2, abs=1e-12)
    assert [z["layers.0.neurons.0.z"], z["layers.0.neurons.1.z"]] == pytest.approx(
        delta1, abs=1e-12)


def test_2_2_1_batch_gradient_is_the_mean_of_the_closed_form_gradients():
    model = _net(seed=3)
    loss = 0.5 * mse_loss([model(x)[0] for x, _ in POINTS], [y for _, y in POINTS])
    loss.backward()
    per_point = [_closed_form(model, x, y)[0] for x, y in POINTS]
    for name, p in model.named_parameters():
        mean = math.fsum(g[name] for g in per_point) / len(POINTS)
        assert p.grad == pytest.approx(mean, abs=1e-12), name


def test_one_plain_sgd_step_is_w_minus_lr_times_dj_dw():
    model = _net(seed=1)
    x, y = POINTS[1]
    loss = 0.5 * mse_loss(model(x), [y])
    loss.backward()
    lr = 0.5
    by_hand = {name: p.data - lr * p.grad for name, p in model.named_parameters()}
    closed, _, _ = _closed_form(model, x, y)
    closed_step = {name: p.data - lr * closed[name] for name, p in model.named_parameters()}
    SGD(model.parameters(), lr=lr).step()
    assert model.state_dict() == by_hand
    assert model.state_dict() == pytest.approx(closed_step, abs=1e-12)


@pytest.mark.parametrize("x, y", POINTS)
def test_sigmoid_with_binary_cross_entropy_gives_dloss_dz_equal_a_minus_y(x, y):
    neuron = Neuron(2, "sigmoid", seed=2)
    neuron.b.data = -0.4
    a = neuron(x)
    loss = binary_cross_entropy([a], [y])
    loss.backward()
    (z,) = a.children
    assert z.grad == pytest.approx(a.data - y, abs=1e-12)


def test_over_a_batch_dloss_dz_is_a_minus_y_over_n():
    neuron = Neuron(2, "sigmoid", seed=5)
    outs = [neuron(x) for x, _ in POINTS]
    targets = [y for _, y in POINTS]
    binary_cross_entropy(outs, targets).backward()
    n = len(POINTS)
    assert [a.children[0].grad for a in outs] == pytest.approx(
        [(a.data - y) / n for a, y in zip(outs, targets)], abs=1e-12)


@pytest.mark.parametrize("x, y", POINTS)
def test_bce_with_logits_gives_dloss_dz_equal_sigmoid_z_minus_y(x, y):
    z = Neuron(2, "linear", seed=2)(x)
    bce_with_logits([z], [y]).backward()
    assert z.grad == pytest.approx(_sigmoid(z.data) - y, abs=1e-12)
