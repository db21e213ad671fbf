"""Losses: values and gradients against PyTorch, stability, batch means, argument checks."""

import doctest
import importlib
import math

import pytest

import autograd as ag
from autograd import Value
from nn import (
    MLP,
    bce_with_logits,
    binary_cross_entropy,
    cross_entropy,
    hinge_loss,
    mse_loss,
)

SCORES = [0.3, -1.2, 2.5, 0.05, -0.7]
PROBS = [0.9, 0.2, 0.55, 0.01, 0.7]
BINARY = [1.0, 0.0, 1.0, 0.0, 0.25]
SIGNS = [1.0, -1.0, -1.0, 1.0, -1.0]
LOGITS = [[0.2, -1.0, 3.0], [1.5, 0.5, -2.0], [0.0, 0.0, 0.0], [-4.0, 2.0, 1.0]]
CLASSES = [2, 0, 1, 1]


def _leaves(xs):
    return [Value(x) for x in xs]


def _check_against_torch(ours, leaves, reference, tensor):
    """Value and gradient of one loss, ours against PyTorch's, to 1e-12."""
    ours.backward()
    expected = reference(tensor)
    expected.backward()
    assert ours.data == pytest.approx(expected.item(), abs=1e-12)
    grads = tensor.grad.flatten().tolist()
    assert [v.grad for v in leaves] == pytest.approx(grads, abs=1e-12)


@pytest.mark.torch
def test_mse_loss_matches_torch():
    torch = pytest.importorskip("torch")
    preds = _leaves(SCORES)
    tensor = torch.tensor(SCORES, dtype=torch.float64, requires_grad=True)
    target = torch.tensor(PROBS, dtype=torch.float64)
    _check_against_torch(mse_loss(preds, PROBS), preds,
                         lambda t: torch.nn.functional.mse_loss(t, target), tensor)


@pytest.mark.torch
def test_mse_loss_over_several_outputs_matches_torch():
    torch = pytest.importorskip("torch")
    rows = [[0.5, -1.0], [2.0, 0.25], [0.0, 1.5]]
    targets = [[1.0, 0.0], [2.0, -1.0], [0.5, 0.5]]
    preds = [_leaves(r) for r in rows]
    tensor = torch.tensor(rows, dtype=torch.float64, requires_grad=True)
    target = torch.tensor(targets, dtype=torch.float64)
    _check_against_torch(mse_loss(preds, targets), [v for r in preds for v in r],
                         lambda t: torch.nn.functional.mse_loss(t, target), tensor)


@pytest.mark.torch
def test_binary_cross_entropy_matches_torch():
    torch = pytest.importorskip("torch")
    probs = _leaves(PROBS)
    tensor = torch.tensor(PROBS, dtype=torch.float64, requires_grad=True)
    target = torch.tensor(BINARY, dtype=torch.float64)
    _check_against_torch(binary_cross_entropy(probs, BINARY), probs,
                         lambda t: torch.nn.functional.binary_cross_entropy(t, target), tensor)


@pytest.mark.torch
@pytest.mark.parametrize("scale", [1.0, 1000.0])
def test_bce_with_logits_matches_torch(scale):
    torch = pytest.importorskip("torch")
    zs = [scale * s for s in SCORES]
    logits = _leaves(zs)
    tensor = torch.tensor(zs, dtype=torch.float64, requires_grad=True)
    target = torch.tensor(BINARY, dtype=torch.float64)
    _check_against_torch(
        bce_with_logits(logits, BINARY), logits,
        lambda t: torch.nn.functional.binary_cross_entropy_with_logits(t, target), tensor)


@pytest.mark.torch
@pytest.mark.parametrize("scale", [1.0, 1000.0])
def test_cross_entropy_matches_torch(scale):
    torch = pytest.importorskip("torch")
    rows = [[scale * z for z in row] for row in LOGITS]
    logits = [_leaves(r) for r in rows]
    tensor = torch.tensor(rows, dtype=torch.float64, requires_grad=True)
    target = torch.tensor(CLASSES)
    _check_against_torch(cross_entropy(logits, CLASSES), [v for r in logits for v in r],
                         lambda t: torch.nn.functional.cross_entropy(t, target), tensor)


@pytest.mark.torch
def test_hinge_loss_matches_torch_formula():
    torch = pytest.importorskip("torch")
    scores = _leaves(SCORES)
    tensor = torch.tensor(SCORES, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(SIGNS, dtype=torch.float64)
    _check_against_torch(hinge_loss(scores, SIGNS), scores,
                         lambda t: torch.relu(1.0 - y * t).mean(), tensor)


# ---- values by hand, stability --------------------------------------------------------------


def test_losses_by_hand_on_one_sample():
    assert mse_loss([Value(1.0), Value(3.0)], [0.0, 3.0]).data == 0.5
    assert binary_cross_entropy([Value(0.25)], [0.0]).data == pytest.approx(-math.log(0.75))
    assert bce_with_logits([Value(0.0)], [1.0]).data == pytest.approx(math.log(2.0))
    assert cross_entropy([[Value(0.0), Value(math.log(3.0))]], [1]).data == pytest.approx(
        math.log(4.0 / 3.0))
    assert hinge_loss([Value(0.5), Value(2.0)], [1.0, 1.0]).data == 0.25


@pytest.mark.parametrize("z, y", [(1000.0, 0.0), (-1000.0, 1.0), (1000.0, 1.0),
                                  (-1000.0, 0.0)])
def test_bce_with_logits_is_finite_and_exact_at_1000(z, y):
    logit = Value(z)
    loss = bce_with_logits([logit], [y])
    loss.backward()
    wrong = (z > 0) != (y == 1.0)
    assert loss.data == (1000.0 if wrong else 0.0)
    assert logit.grad == (1.0 if z > 0 else 0.0) - y


@pytest.mark.parametrize("p, y", [(0.0, 1.0), (1.0, 0.0)])
def test_binary_cross_entropy_clamps_certain_wrong_answers(p, y):
    prob = Value(p)
    loss = binary_cross_entropy([prob], [y], eps=1e-7)
    loss.backward()
    assert loss.data == pytest.approx(-math.log(1e-7))
    assert prob.grad == 0.0  # a clamped probability is a constant: no gradient through it


def test_cross_entropy_is_stable_for_huge_logits():
    logits = [Value(1000.0), Value(-1000.0), Value(0.0)]
    loss = cross_entropy([logits], [1])
    loss.backward()
    assert loss.data == 2000.0
    assert [v.grad for v in logits] == [1.0, -1.0, 0.0]


def test_outputs_may_be_one_element_lists_as_an_mlp_returns():
    scores = [[Value(0.5)], [Value(-2.0)]]
    assert hinge_loss(scores, [1, -1]).data == 0.25
    assert bce_with_logits(scores, [1, 0]).data == bce_with_logits(
        [s[0] for s in scores], [1, 0]).data


def test_a_loss_adds_few_nodes_per_sample():
    scores = _leaves(SCORES)
    for loss, per_sample in [(hinge_loss(scores, SIGNS), 3),
                             (bce_with_logits(scores, [1.0, 0.0, 1.0, 0.0, 1.0]), 3),
                             (cross_entropy([scores], [0]), 2)]:
        made = [n for n in ag.topological_order(loss) if n.op]
        assert len(made) <= per_sample * len(SCORES) + 1


# ---- the gradient of a batch mean is the mean of the per-sample gradients ---------------


BATCH = [[0.5, -1.0], [1.5, 0.25], [-0.75, 0.5], [0.0, 2.0]]
CASES = {
    "mse": (dict(nouts=[3, 2]), [[0.5, -0.5], [1.0, 0.0], [0.0, 2.0], [1.0, 1.0]],
            mse_loss),
    "bce": (dict(nouts=[3, 1], output_activation="sigmoid"), [1, 0, 0.5, 1],
            binary_cross_entropy),
    "bce_with_logits": (dict(nouts=[3, 1]), [1, 0, 0.5, 1], bce_with_logits),
    "cross_entropy": (dict(nouts=[3, 4]), [3, 0, 1, 1], cross_entropy),
    "hinge": (dict(nouts=[3, 1]), [1, -1, -1, 1], hinge_loss),
}


@pytest.mark.parametrize("name", list(CASES))
def test_batch_mean_gradient_is_the_mean_of_per_sample_gradients(name):
    config, targets, loss_fn = CASES[name]
    model = MLP(2, activation="tanh", seed=4, **config)
    params = model.parameters()
    batch_grads = ag.grad(loss_fn([model(x) for x in BATCH], targets), params)
    per_sample = [ag.grad(loss_fn([model(x)], [t]), params) for x, t in zip(BATCH, targets)]
    mean = [math.fsum(g) / len(BATCH) for g in zip(*per_sample)]
    assert batch_grads == pytest.approx(mean, abs=1e-12)
    assert any(abs(g) > 1e-3 for g in batch_grads)


# ---- argument checks ------------------------------------------------------------------------


@pytest.mark.parametrize("call, error, message", [
    (lambda: mse_loss([Value(1.0)], [1.0, 2.0]), ValueError, "1 predictions but 2 targets"),
    (lambda: mse_loss([], []), ValueError, "empty"),
    (lambda: mse_loss([[Value(1.0), Value(2.0)]], [[1.0]]), ValueError, "list of 2"),
    (lambda: mse_loss(Value(1.0), [1.0]), TypeError, "must be a list"),
    (lambda: mse_loss([None], [1.0]), TypeError, "prediction 0 must be a real number"),
    (lambda: mse_loss(["ab"], [[1.0, 2.0]]), TypeError, "prediction 0 must be a real number"),
    (lambda: mse_loss([[Value(1.0), "x"]], [[1.0, 2.0]]), TypeError, "prediction 0 must be"),
    (lambda: mse_loss([Value(1.0)], ["1"]), TypeError, "target 0 must be a real number"),
    (lambda: hinge_loss([None], [1.0]), TypeError, "prediction 0 must be a real number"),
    (lambda: binary_cross_entropy([Value(1.5)], [1.0]), ValueError, r"probability 0 .* \[0, 1\]"),
    (lambda: binary_cross_entropy([Value(0.5)], [2.0]), ValueError, r"target 0 .* \[0, 1\]"),
    (lambda: binary_cross_entropy([Value(0.5)], [1.0], eps=0.0), ValueError, "eps"),
    (lambda: bce_with_logits([Value(0.5)], [-1.0]), ValueError, r"target 0 .* \[0, 1\]"),
    (lambda: bce_with_logits([[Value(0.5), Value(1.0)]], [1.0]), ValueError, "2 outputs"),
    (lambda: cross_entropy([[Value(0.0), Value(1.0)]], [2]), ValueError, r"outside \[0, 2\)"),
    (lambda: cross_entropy([[Value(0.0), Value(1.0)]], [-1]), ValueError, "outside"),
    (lambda: cross_entropy([[Value(0.0), Value(1.0)]], [1.0]), TypeError, "class index"),
    (lambda: cross_entropy([Value(0.0)], [0]), TypeError, "list of logits"),
    (lambda: cross_entropy(["ab"], [0]), TypeError, "list of logits"),
    (lambda: hinge_loss([Value(0.5)], [0.0]), ValueError, "-1 or \\+1, got 0.0"),
    (lambda: hinge_loss([Value(0.5)], [True]), ValueError, "-1 or \\+1"),
    (lambda: hinge_loss([Value(0.5)], ["1"]), ValueError, "-1 or \\+1"),
])
def test_bad_arguments_raise_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_docstring_examples_pass():
    result = doctest.testmod(importlib.import_module("nn.losses"))
    assert result.attempted > 0 and result.failed == 0


def test_cross_entropy_takes_probabilities_as_targets() -> None:
    logits = [[Value(0.5), Value(-1.0), Value(2.0)], [Value(0.0), Value(0.3), Value(-0.2)]]
    by_index = cross_entropy(logits, [2, 0])
    one_hot = cross_entropy(logits, [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    assert abs(one_hot.data - by_index.data) < 1e-15
    soft = cross_entropy(logits, [[0.2, 0.3, 0.5], [0.5, 0.5, 0.0]])
    expected = 0.0
    for row, probs in zip(logits, [[0.2, 0.3, 0.5], [0.5, 0.5, 0.0]]):
        zs = [v.data for v in row]
        lse = math.log(sum(math.exp(z) for z in zs))
        expected += sum(p * (lse - z) for p, z in zip(probs, zs)) / 2
    assert abs(soft.data - expected) < 1e-14
    soft.backward()
    assert abs(sum(v.grad for v in logits[0])) < 1e-15  # (softmax - p) sums to 0
    with pytest.raises(ValueError, match="target 0 has 2 probabilities"):
        cross_entropy(logits[:1], [[0.5, 0.5]])
