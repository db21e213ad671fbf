"""benchmarks: a tiny run of the harness, and the pure-Python floor's gradients vs the engine's.

No timing is asserted here: the numbers depend on the machine. These tests check that the
harness runs end to end and that the floor computes the same math as chainrule.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import autograd as ag
import benchmarks
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


@pytest.mark.parametrize("packed", [True, False])
@pytest.mark.parametrize("backend", ["python", "native"])
def test_compiled_moons_step_equals_the_eager_one(backend: str, packed: bool) -> None:
    if backend == "native":
        pytest.importorskip("llvmlite", reason="the native backend needs llvmlite")
    xs, ys = data.two_moons(12, seed=3)
    eager = ours.MoonsStep(xs, ys, lr=0.1, alpha=1e-2, seed=1)
    compiled = ours.CompiledMoonsStep(xs, ys, lr=0.1, alpha=1e-2, seed=1, backend=backend,
                                      packed=packed)
    assert type(compiled.columns[0]) is (ag.Batch if packed else list)
    # The compiled loss is the mean of the points' losses: eager's to rounding, not bit for bit.
    assert [eager.step() for _ in range(3)] == pytest.approx(
        [compiled.step() for _ in range(3)], rel=1e-12, abs=0.0)
    assert [p.data for p in eager.params] == pytest.approx(
        [p.data for p in compiled.params], rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("backend", ["python", "native"])
def test_run_program_gives_the_mean_hinge_loss_and_changes_nothing(backend: str) -> None:
    if backend == "native":
        pytest.importorskip("llvmlite", reason="the native backend needs llvmlite")
    xs, ys = data.two_moons(12, seed=3)
    step = ours.CompiledMoonsStep(xs, ys, lr=0.1, alpha=1e-2, seed=1, backend=backend)
    step.step()  # traces: run_program runs the last traced program
    weights, grads = [p.data for p in step.params], [p.grad for p in step.params]
    mean = step.compiled.mean(xs, ys)
    assert step.run_program() == pytest.approx(mean.data, rel=1e-12, abs=0.0)
    assert [p.data for p in step.params] == weights and [p.grad for p in step.params] == grads


def test_numpy_moons_step_equals_the_floors() -> None:
    pytest.importorskip("numpy")
    from benchmarks import numpy_impl

    xs, ys = data.two_moons(16, seed=4)
    start = training.layers_of(MLP(2, [6, 6, 1], seed=4))
    net = [([list(w) for w in weights], list(biases)) for weights, biases in start]
    batched = numpy_impl.MoonsStep(start, xs, ys, lr=0.1, alpha=1e-2)
    assert [batched.step() for _ in range(3)] == pytest.approx(
        [floor.mlp_step(net, xs, ys, 0.1, 1e-2) for _ in range(3)], rel=1e-12, abs=1e-15)
    weights = [v for w, b in zip(batched.weights, batched.biases)
               for row, bias in zip(w, b) for v in (*row, bias)]  # floor.flat's order
    assert weights == pytest.approx(floor.flat(net), rel=1e-12, abs=1e-15)


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
    assert "| chain 30 steps" in out and "Targets (issues 7, 11 and 18):" in out
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
    # The native targets are listed whether or not llvmlite is here (without it: no number).
    names = {t["target"] for t in results["targets"]}
    assert {"mlp_step native: >= 20x faster than the tuned floor (issue 18)",
            "mlp_step native: faster than numpy's batched step (the moonshot)"} <= names


def test_mlp_step_times_native_and_numpy_beside_the_tuned_floor() -> None:
    pytest.importorskip("llvmlite", reason="the native backend needs llvmlite")
    pytest.importorskip("numpy")
    row, first_row = training.mlp_step(TINY, None, None)
    assert row.values["native"] > 0.0 and row.values["numpy"] > 0.0  # type: ignore[operator]
    assert first_row.values["native"] > 0.0  # type: ignore[operator]
    assert report.ratio(row, "tuned", "native") is not None
    assert any("the native call alone" in note and "of the step" in note for note in row.notes)
    assert not any(note.startswith(("native skipped", "numpy skipped")) for note in row.notes)
    header = report.table([row, first_row], list(report.ENGINES)).splitlines()[0]
    assert "| native |" in header and "| numpy |" in header
    assert "| native/tuned |" in header and "| native/numpy |" in header
    found = {t.name: t for t in report.targets([row])}
    assert found["mlp_step native: faster than numpy's batched step (the moonshot)"].ratio \
        == report.ratio(row, "numpy", "native")


def test_mlp_step_without_llvmlite_or_numpy_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llvmlite", None)  # import llvmlite now fails
    monkeypatch.setitem(sys.modules, "numpy", None)
    # And numpy_impl imports numpy afresh, not from an earlier test's import.
    monkeypatch.delitem(sys.modules, "benchmarks.numpy_impl", raising=False)
    monkeypatch.delattr(benchmarks, "numpy_impl", raising=False)
    row, first_row = training.mlp_step(TINY, None, None)
    assert "native" not in row.values and "numpy" not in row.values
    assert "native" not in first_row.values and row.values["tuned"] > 0.0  # type: ignore[operator]
    assert any(note.startswith('native skipped: compile: backend="native" needs llvmlite')
               for note in row.notes)
    assert any(note.startswith("numpy skipped: not installed") for note in row.notes)
    engines = [e for e in report.ENGINES if e in row.values]
    header = report.table([row], engines).splitlines()[0]
    assert "native" not in header and "numpy" not in header
    found = {t.name: t for t in report.targets([row])}
    missing = found["mlp_step native: >= 20x faster than the tuned floor (issue 18)"]
    assert missing.ratio is None and not missing.met


def test_table_shows_only_ratio_columns_with_a_number() -> None:
    rows = [workloads.Row("chain 3 steps", "fwd+bwd ns/node",
                          {"chainrule": 10.0, "micrograd": 40.0, "torch": "n/a"})]
    header, _, line = report.table(rows, ["chainrule", "micrograd", "torch"]).splitlines()
    assert "| chainrule/micrograd |" in header and "chainrule/torch" not in header
    assert line.rstrip(" |").endswith("0.25")


def test_targets_compare_ours_over_other_against_bounds() -> None:
    rows = [workloads.Row("memory 3 nodes", "bytes/node",
                          {"chainrule": 100.0, "micrograd": 400.0}, total=True)]
    (target,) = report.targets(rows)
    assert target.ratio == 0.25 and target.met
    rows[0].values["micrograd"] = 200.0
    assert not report.targets(rows)[0].met
