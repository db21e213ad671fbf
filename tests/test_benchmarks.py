"""benchmarks: a tiny run of the harness, and the pure-Python floor's gradients vs the engine's.

No timing is asserted here: the numbers depend on the machine. These tests check that the
harness runs end to end and that the floor computes the same math as chainrule.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import autograd as ag
from autograd import Value
from benchmarks import chainrule_impl as ours
from benchmarks import data, floor, report, training, workloads
from nn import MLP, cross_entropy

TINY = workloads.Settings(chain_steps=30, chain_repeats=1, shallow_chains=2, wide_n=20,
                          wide_repeats=1, mlp_repeats=1, mlp_block=1, mlp_seconds=0.0,
                          digits_images=8, digits_repeats=1, memory_nodes=300, demo=False,
                          compile_nodes=200)


def test_floor_chain_gradients_match_the_engine() -> None:
    x0, a, b = Value(0.3), Value(0.5), Value(-0.1)
    x = x0
    for _ in range(25):
        x = (x * a + b).tanh()
    x.backward()
    outputs = floor.chain_forward(0.3, 0.5, -0.1, 25)
    assert outputs[-1] == pytest.approx(x.data, abs=1e-15)
    assert floor.chain_backward(0.3, 0.5, outputs) == pytest.approx(
        (x0.grad, a.grad, b.grad), abs=1e-12)


def test_floor_dot_gradients_match_the_engine() -> None:
    xs, ys = [Value(0.5 * i - 1.0) for i in range(5)], [Value(1.0 / (i + 1)) for i in range(5)]
    out = ag.dot(xs, ys)
    out.backward(2.0)
    plain_x, plain_y = [v.data for v in xs], [v.data for v in ys]
    assert floor.dot_forward(plain_x, plain_y) == pytest.approx(out.data, abs=1e-12)
    gx, gy = floor.dot_backward(plain_x, plain_y, 2.0)
    assert gx == pytest.approx([v.grad for v in xs]) and gy == pytest.approx([v.grad for v in ys])


def test_floor_mlp_step_gradients_match_the_engine() -> None:
    xs, ys = data.two_moons(12, seed=3)
    step = ours.MoonsStep(xs, ys, lr=0.1, alpha=1e-2, seed=1)
    net = training.layers_of(step.model)
    loss = step.loss()
    loss.backward()
    floor_loss, grads = floor.hinge_l2_grads(net, xs, ys, alpha=1e-2)
    assert floor_loss == pytest.approx(loss.data, abs=1e-12)
    assert floor.flat(grads) == pytest.approx([p.grad for p in step.params], abs=1e-12)


def test_floor_cross_entropy_gradients_match_the_engine() -> None:
    model = MLP(6, [5, 3], seed=2)
    xs = [[0.1 * (i + j) - 0.4 for j in range(6)] for i in range(4)]
    targets = [0, 2, 1, 2]
    loss = cross_entropy([model(x) for x in xs], targets)
    loss.backward()
    floor_loss, grads = floor.cross_entropy_grads(training.layers_of(model), xs, targets)
    assert floor_loss == pytest.approx(loss.data, abs=1e-12)
    assert floor.flat(grads) == pytest.approx([p.grad for p in model.parameters()], abs=1e-12)


def test_tuned_floor_gives_the_floors_gradients() -> None:
    xs, ys = data.two_moons(16, seed=4)
    net = training.layers_of(MLP(2, [6, 6, 1], seed=4))
    loss, grads = floor.hinge_l2_grads(net, xs, ys, alpha=1e-2)
    tuned_loss, tuned = floor.hinge_l2_grads(net, xs, ys, alpha=1e-2, tuned=True)
    assert tuned_loss == pytest.approx(loss, abs=1e-12)
    assert floor.flat(tuned) == pytest.approx(floor.flat(grads), abs=1e-12)
    images = [[0.1 * (i - j) for j in range(6)] for i in range(5)]
    net = training.layers_of(MLP(6, [5, 3], seed=2))
    loss, grads = floor.cross_entropy_grads(net, images, [0, 2, 1, 2, 0])
    tuned_loss, tuned = floor.cross_entropy_grads(net, images, [0, 2, 1, 2, 0], tuned=True)
    assert tuned_loss == pytest.approx(loss, abs=1e-12)
    assert floor.flat(tuned) == pytest.approx(floor.flat(grads), abs=1e-12)


def test_compiled_moons_step_equals_the_eager_one() -> None:
    xs, ys = data.two_moons(12, seed=3)
    eager = ours.MoonsStep(xs, ys, lr=0.1, alpha=1e-2, seed=1)
    compiled = ours.CompiledMoonsStep(xs, ys, lr=0.1, alpha=1e-2, seed=1)
    # The compiled loss is the mean of the points' losses: eager's to rounding, not bit for bit.
    assert [eager.step() for _ in range(3)] == pytest.approx(
        [compiled.step() for _ in range(3)], rel=1e-12, abs=0.0)
    assert [p.data for p in eager.params] == pytest.approx(
        [p.data for p in compiled.params], rel=1e-12, abs=1e-15)


def test_floor_adam_matches_nn_adam() -> None:
    from nn import Adam

    model = MLP(3, [2], seed=0)
    net = training.layers_of(model)
    optimizer, mine = Adam(model.parameters(), lr=0.01), floor.Adam(net, 0.01)
    for k in range(3):
        grads = floor.zeros_like(net)
        for p in model.parameters():
            p.grad = 0.1 * k - 0.05
        for weights, biases in grads:
            for w in weights:
                w[:] = [0.1 * k - 0.05] * len(w)
            biases[:] = [0.1 * k - 0.05] * len(biases)
        optimizer.step()
        mine.step(grads)
    assert floor.flat(net) == pytest.approx([p.data for p in model.parameters()], abs=1e-15)


def test_tiny_run_writes_table_targets_and_json(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.__main__ import main

    path = tmp_path / "bench.json"
    assert main(["--json", str(path)], settings=TINY) == 0
    out = capsys.readouterr().out
    assert "| chain 30 steps" in out and "Targets (issues 7 and 11):" in out
    results = json.loads(path.read_text())
    assert {"machine", "settings", "rows", "targets"} <= results.keys()
    rows = {(r["workload"], r["metric"]): r for r in results["rows"]}
    chain = rows[("chain 30 steps", "fwd+bwd ns/node")]
    assert chain["values"]["chainrule"] > 0.0
    memory = next(r for r in results["rows"] if r["workload"].startswith("memory"))
    assert memory["values"]["chainrule"] > 0.0
    assert any(t["target"].startswith("mlp_step") for t in results["targets"])
    step = next(r for r in results["rows"] if r["workload"].startswith("mlp_step"))
    assert step["values"]["compiled"] > 0.0 and step["values"]["tuned"] > 0.0
    assert step["ratios"]["compiled/tuned"] > 0.0
    assert any("first call" in note for note in step["notes"])


def test_targets_compare_ours_over_other_against_bounds() -> None:
    rows = [workloads.Row("memory 3 nodes", "bytes/node",
                          {"chainrule": 100.0, "micrograd": 400.0}, total=True)]
    (target,) = report.targets(rows)
    assert target.ratio == 0.25 and target.met
    rows[0].values["micrograd"] = 200.0
    assert not report.targets(rows)[0].met
