"""The MNIST-1D demo: its data, models and evaluation, and a smoke run's table and pictures."""

from __future__ import annotations

import doctest
import importlib
import random
import struct
from pathlib import Path

import pytest

pytest.importorskip("matplotlib", reason="the demos need the `demos` extra")
pytest.importorskip("mnist1d", reason="the MNIST-1D demo needs the mnist1d package")

from demos import mnist1d  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def test_doctests_pass():
    result = doctest.testmod(importlib.import_module("demos.mnist1d"))
    assert result.attempted >= 1 and result.failed == 0


def test_load_data_splits_80_20_and_keeps_the_global_generators():
    state = random.getstate()
    data = mnist1d.load_data(250)
    assert random.getstate() == state  # make_dataset seeds random; the demo restores it
    assert (len(data.x), len(data.x_test)) == (200, 50)
    assert {len(s) for s in data.x + data.x_test} == {40}
    assert set(data.y) <= set(range(10)) and all(isinstance(t, int) for t in data.y)
    assert mnist1d.load_data(250).x[0] == data.x[0]  # seed 42, always the same signals


@pytest.mark.parametrize(("name", "count"), [("logistic", 410), ("mlp", 15_210),
                                             ("cnn", 5_210)])
def test_models_have_the_papers_parameter_counts_and_ten_logits(name, count):
    model = mnist1d.make_model(name, seed=0)
    assert len(model.parameters()) == count
    logits = model(mnist1d.model_input(name, [0.1 * t for t in range(40)]))
    assert len(logits) == 10


def test_resmlp_is_a_user_module_with_named_layers():
    names = [n for n, _ in mnist1d.ResMLP(seed=0).named_parameters()]
    assert names[0] == "l1.weight.0.0" and names[-1] == "l3.bias.9"


def test_unknown_model_is_refused():
    with pytest.raises(ValueError, match="no model named 'rnn'"):
        mnist1d.make_model("rnn")


def test_compiled_predictions_equal_eager_ones():
    data = mnist1d.load_data(250)
    model = mnist1d.make_model("logistic", seed=3)
    compiled = mnist1d.predictor(model, "logistic", "python", compiled=True)
    eager = mnist1d.predictor(model, "logistic", "python", compiled=False)
    assert compiled(data.x_test) == eager(data.x_test)
    assert all(p.grad == 0.0 for p in model.parameters())  # evaluation leaves no gradient


def test_eval_steps_every_250_for_the_papers_run():
    points = mnist1d.eval_steps(8000)
    assert points[:3] == [0, 250, 500] and points[-1] == 8000 and len(points) == 33


def test_training_lowers_the_loss_and_raises_test_accuracy():
    data = mnist1d.load_data(500)
    run = mnist1d.train("logistic", data, 40, "python", seed=0, batch_size=50)
    assert run.steps[0] == 0 and run.steps[-1] == 40
    assert run.final > run.accuracy[0] + 0.05
    assert len(run.step_seconds) == 40


def test_smoke_run_prints_the_table_and_writes_the_pictures(tmp_path, capsys):
    report = mnist1d.main(["--smoke", "--backend", "python", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "Final test accuracy" in out
    for title, torch_figure, paper in (("logistic regression", "31.4%", "32%"),
                                       ("residual MLP", "63.3%", "68%"),
                                       ("CNN", "93.2%", "94%")):
        row = next(line for line in out.splitlines() if line.strip().startswith(title)
                   and line.rstrip().endswith(paper))
        assert torch_figure in row
    assert {p.name for p in report.files} == {"mnist1d_curves.png", "mnist1d_signals.png",
                                              "mnist1d_confusion.png"}
    for path in report.files:
        assert min(png_size(path)) > 200
    assert 0.0 <= report.metrics["accuracy_cnn"] <= 1.0
    assert report.metrics["steps"] == 3


def test_without_native_code_it_says_so_and_runs_python(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(mnist1d, "native_available", lambda: "no llvmlite here")
    report = mnist1d.main(["--smoke", "--models", "logistic", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "native backend cannot run here (no llvmlite here)" in out
    assert "python backend" in out
    assert set(report.metrics) >= {"accuracy_logistic"} and "accuracy_cnn" not in report.metrics


def test_bad_models_option_exits_naming_the_choices(capsys):
    with pytest.raises(SystemExit):
        mnist1d.main(["--models", "logistic,rnn"])
    assert "unknown rnn" in capsys.readouterr().err


def test_ran_native_is_false_on_the_python_backend():
    import autograd as ag

    step = ag.compile(lambda x: x * 3.0)
    step(1.0)
    assert not mnist1d.ran_native(step)
    run = mnist1d.train("logistic", mnist1d.load_data(250), 2, "python", batch_size=20)
    assert run.backend == "python"


def test_the_models_cross_entropy_runs_as_native_code_and_matches_eager():
    pytest.importorskip("llvmlite", reason="native code needs the `native` extra")
    import autograd as ag
    from nn import cross_entropy

    model = mnist1d.make_model("logistic", seed=3)
    rng = random.Random(5)
    xs = [[rng.uniform(-2.0, 2.0) for _ in range(40)] for _ in range(3)]
    ys = [[1.0 if k == label else 0.0 for k in range(10)] for label in (2, 7, 0)]
    step = mnist1d.compiled_loss(model, "native")
    loss = step.mean([mnist1d.model_input("logistic", x) for x in xs], ys)
    assert mnist1d.ran_native(step)
    loss.backward()
    native_grads = [p.grad for p in model.parameters()]
    model.zero_grad()
    eager = ag.mean([cross_entropy([model(mnist1d.model_input("logistic", x))], [y])
                     for x, y in zip(xs, ys)])
    eager.backward()
    assert loss.data == pytest.approx(eager.data, rel=1e-12)
    for g, p in zip(native_grads, model.parameters()):
        assert g == pytest.approx(p.grad, rel=1e-10, abs=1e-15)
