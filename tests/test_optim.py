"""SGD and Adam: steps against PyTorch, argument checks, lr schedules, and training two moons."""

import doctest
import importlib
import math
import random

import pytest

from autograd import Value, no_grad
from nn import MLP, SGD, Adam, accuracy, hinge_loss, linear_decay
from nn.optim import NATIVE_AT

START = [0.5, -1.25, 2.0, 0.0, -0.3]
STEPS = 6


def _gradient(data, step):
    """A made-up gradient that changes with the parameter and the step (sign flips included)."""
    return [math.sin(3.0 * x) + 0.5 * x - 0.1 * step * (-1) ** i for i, x in enumerate(data)]


def _run_ours(make, steps=STEPS):
    params = [Value(x) for x in START]
    optimizer = make(params)
    for step in range(steps):
        for p, g in zip(params, _gradient([p.data for p in params], step)):
            p.grad = g
        optimizer.step()
    return [p.data for p in params]


def _run_torch(torch, make, steps=STEPS):
    params = torch.tensor(START, dtype=torch.float64, requires_grad=True)
    optimizer = make([params])
    for step in range(steps):
        params.grad = torch.tensor(_gradient(params.tolist(), step), dtype=torch.float64)
        optimizer.step()
    return params.tolist()


SGD_CONFIGS = [dict(lr=0.1), dict(lr=0.05, momentum=0.9), dict(lr=0.1, weight_decay=0.01),
               dict(lr=0.02, momentum=0.5, weight_decay=0.1)]
ADAM_CONFIGS = [dict(lr=1e-3), dict(lr=0.1), dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6),
                dict(lr=0.01, weight_decay=0.1), dict(lr=0.1, betas=(0.0, 0.5))]


@pytest.mark.torch
@pytest.mark.parametrize("config", SGD_CONFIGS, ids=str)
def test_sgd_matches_torch_over_several_steps(config):
    torch = pytest.importorskip("torch")
    ours = _run_ours(lambda p: SGD(p, **config))
    theirs = _run_torch(torch, lambda p: torch.optim.SGD(p, **config))
    assert ours == pytest.approx(theirs, abs=1e-12)
    assert ours != START


@pytest.mark.torch
@pytest.mark.parametrize("config", ADAM_CONFIGS, ids=str)
def test_adam_matches_torch_over_several_steps(config):
    torch = pytest.importorskip("torch")
    ours = _run_ours(lambda p: Adam(p, **config))
    theirs = _run_torch(torch, lambda p: torch.optim.Adam(p, **config))
    assert ours == pytest.approx(theirs, abs=1e-12)
    assert ours != START


@pytest.mark.parametrize("decay", [0.0, 0.1])
def test_adam_steps_are_the_formula_bit_for_bit(decay):
    # The formula written out one parameter at a time, as torch.optim.Adam does it.
    params = [Value(x) for x in START]
    optimizer = Adam(params, lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=decay)
    data, m, v = list(START), [0.0] * len(START), [0.0] * len(START)
    for t in range(1, STEPS + 1):
        grads = _gradient(data, t)
        for p, g in zip(params, grads):
            p.grad = g
        optimizer.step()
        for i, g in enumerate(grads):
            g = g + decay * data[i] if decay else g
            m[i] += (1.0 - 0.8) * (g - m[i])
            v[i] = 0.99 * v[i] + (1.0 - 0.99) * g * g
            data[i] -= (0.05 / (1.0 - 0.8 ** t)) * m[i] / (
                math.sqrt(v[i]) / math.sqrt(1.0 - 0.99 ** t) + 1e-6)
    assert [p.data for p in params] == data
    assert optimizer._m == m and optimizer._v == v and optimizer.t == STEPS


@pytest.mark.parametrize("count", [len(START), NATIVE_AT + 6])  # the Python loop, the native one
@pytest.mark.parametrize("decay", [0.0, 0.1])
@pytest.mark.parametrize("bad", [None, "0.5"])
def test_a_failed_adam_step_leaves_params_moments_and_count_as_they_were(count, decay, bad):
    params = [Value(0.01 * i - 1.0) for i in range(count)]
    optimizer = Adam(params, lr=0.05, weight_decay=decay)
    for p in params:
        p.grad = 0.5
    optimizer.step()
    before = [p.data for p in params], list(optimizer._m), list(optimizer._v), optimizer.t
    params[3].grad = bad  # a grad that is no number, after three good ones
    with pytest.raises(TypeError):
        optimizer.step()
    assert ([p.data for p in params], list(optimizer._m), list(optimizer._v),
            optimizer.t) == before


@pytest.mark.parametrize("decay", [0.0, 0.1])
def test_sgd_with_momentum_is_the_formula_bit_for_bit(decay):
    params = [Value(x) for x in START]
    optimizer = SGD(params, lr=0.05, momentum=0.9, weight_decay=decay)
    data, velocity = list(START), None
    for step in range(STEPS):
        grads = _gradient(data, step)
        for p, g in zip(params, grads):
            p.grad = g
        optimizer.step()
        grads = [g + decay * w if decay else g for g, w in zip(grads, data)]
        velocity = grads if velocity is None else [0.9 * u + g for u, g in zip(velocity, grads)]
        data = [w - 0.05 * u for w, u in zip(data, velocity)]
    assert [p.data for p in params] == data and optimizer._velocity == velocity


def test_plain_sgd_step_is_exactly_w_minus_lr_grad():
    params = [Value(x) for x in START]
    grads = _gradient(START, 0)
    for p, g in zip(params, grads):
        p.grad = g
    SGD(params, lr=0.3).step()
    assert [p.data for p in params] == [w - 0.3 * g for w, g in zip(START, grads)]


def test_momentum_follows_the_velocity_by_hand():
    p = Value(1.0)
    optimizer = SGD([p], lr=0.1, momentum=0.9)
    p.grad = 2.0
    optimizer.step()  # v = 2
    p.grad = 1.0
    optimizer.step()  # v = 0.9 * 2 + 1 = 2.8
    assert p.data == pytest.approx(1.0 - 0.1 * 2.0 - 0.1 * 2.8, abs=1e-15)


def test_first_adam_step_moves_each_parameter_by_about_lr():
    params = [Value(x) for x in START]
    for p, g in zip(params, [3.0, -0.001, 50.0, 1e-3, -7.0]):
        p.grad = g
    Adam(params, lr=0.01).step()
    moved = [w - p.data for w, p in zip(START, params)]
    assert moved == pytest.approx([0.01, -0.01, 0.01, 0.01, -0.01], rel=1e-4)


@pytest.mark.parametrize("make", [lambda p: SGD(p, lr=0.1), lambda p: Adam(p)])
def test_zero_grad_clears_the_grads_and_step_leaves_grads_alone(make):
    params = [Value(1.0), Value(2.0)]
    optimizer = make(params)
    params[0].grad, params[1].grad = 0.5, -0.5
    optimizer.step()
    assert [p.grad for p in params] == [0.5, -0.5]
    optimizer.zero_grad()
    assert [p.grad for p in params] == [0.0, 0.0]


def test_lr_can_change_between_steps_and_is_read_at_each_step():
    p = Value(1.0)
    optimizer = SGD([p], lr=0.1)
    p.grad = 1.0
    optimizer.lr = 0.5
    optimizer.step()
    assert p.data == 0.5


@pytest.mark.parametrize("lr, error", [(0.0, ValueError), (-0.1, ValueError),
                                       (math.inf, ValueError), ("0.1", TypeError)])
def test_setting_a_bad_lr_raises_and_keeps_the_old_one(lr, error):
    optimizer = Adam([Value(1.0)], lr=0.01)
    with pytest.raises(error, match="Adam: lr must be"):
        optimizer.lr = lr
    assert optimizer.lr == 0.01


def test_linear_decay_goes_from_start_to_end_and_stays():
    schedule = linear_decay(1.0, 0.1, 10)
    values = [schedule(step) for step in range(12)]
    assert values[0] == 1.0 and values[10] == values[11] == 0.1
    assert values[5] == pytest.approx(0.55)
    assert all(a > b for a, b in zip(values[:10], values[1:11]))


@pytest.mark.parametrize("make, error, message", [
    (lambda p: SGD(p, lr=0.0), ValueError, "SGD: lr must be > 0, got 0.0"),
    (lambda p: SGD(p, lr=-1), ValueError, "lr must be > 0"),
    (lambda p: SGD(p, lr=math.nan), ValueError, "lr must be > 0"),
    (lambda p: SGD(p, lr="0.1"), TypeError, "lr must be a number"),
    (lambda p: SGD(p, lr=0.1, momentum=-0.5), ValueError, "momentum must be >= 0"),
    (lambda p: SGD(p, lr=0.1, weight_decay=-1.0), ValueError, "weight_decay must be >= 0"),
    (lambda p: Adam(p, lr=0.0), ValueError, "Adam: lr must be > 0"),
    (lambda p: Adam(p, betas=(1.0, 0.999)), ValueError, r"betas\[0\] must be in \[0, 1\)"),
    (lambda p: Adam(p, betas=(0.9, -0.1)), ValueError, r"betas\[1\] must be in \[0, 1\)"),
    (lambda p: Adam(p, betas=(0.9,)), ValueError, "pair"),
    (lambda p: Adam(p, eps=0.0), ValueError, "eps must be > 0"),
    (lambda p: Adam(p, weight_decay=-0.1), ValueError, "weight_decay must be >= 0"),
    (lambda p: SGD([], lr=0.1), ValueError, "empty parameter list"),
    (lambda p: SGD([1.0], lr=0.1), TypeError, "parameter 0 must be a Value"),
    (lambda p: SGD(MLP(2, [1], seed=0), lr=0.1), TypeError, r"model.parameters\(\), got MLP"),
    (lambda p: SGD(p[0], lr=0.1), TypeError, "params must be a list of Values"),
    (lambda p: Adam([p[0], Value(2.0), p[0]]), ValueError, "parameter 2 appears twice"),
])
def test_bad_arguments_raise_clear_errors(make, error, message):
    with pytest.raises(error, match=message):
        make([Value(1.0)])


@pytest.mark.parametrize("call", [lambda: linear_decay(1.0, 0.1, 0),
                                  lambda: linear_decay(-1.0, 0.1, 10),
                                  lambda: linear_decay(1.0, 0.1, 10)(-1)])
def test_linear_decay_checks_its_arguments(call):
    with pytest.raises(ValueError, match="linear_decay"):
        call()


# ---- end to end: two moons ----------------------------------------------------------------


def two_moons(n: int, noise: float, seed: int) -> tuple[list[list[float]], list[float]]:
    """n points on two interleaved half circles plus Gaussian noise; labels -1 and +1."""
    rng = random.Random(seed)
    xs, ys = [], []
    for i in range(n):
        t = math.pi * rng.random()
        if i % 2 == 0:
            x, y, label = math.cos(t), math.sin(t), -1.0
        else:
            x, y, label = 1.0 - math.cos(t), 0.5 - math.sin(t), 1.0
        xs.append([x + rng.gauss(0.0, noise), y + rng.gauss(0.0, noise)])
        ys.append(label)
    return xs, ys


def test_mlp_learns_two_moons_to_97_percent():
    xs, ys = two_moons(100, noise=0.1, seed=0)
    model = MLP(2, [16, 16, 1], seed=0)
    optimizer = Adam(model.parameters(), lr=0.1)
    # Full-batch steps until the accuracy is reached: 29 here (15 to 30 for seeds 0 to 5).
    for _ in range(60):
        scores = [model(x) for x in xs]
        if accuracy(scores, ys) >= 0.97:
            break
        loss = hinge_loss(scores, ys)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with no_grad():
        assert accuracy([model(x) for x in xs], ys) >= 0.97


def test_docstring_examples_pass():
    result = doctest.testmod(importlib.import_module("nn.optim"))
    assert result.attempted > 0 and result.failed == 0
