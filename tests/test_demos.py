"""The demos: each runs in smoke mode and writes valid pictures; the worked numbers agree."""

from __future__ import annotations

import importlib.util
import struct
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest.importorskip("matplotlib", reason="the demos need the `demos` extra")
pytest.importorskip("sklearn", reason="the demos need the `demos` extra")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, after checking the signature."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


def assert_svg(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    return root


def names(paths: list[Path]) -> set[str]:
    return {p.name for p in paths}


# ---- python -m demos ----------------------------------------------------------------------


def test_list_names_every_demo_and_marks_the_default(capsys):
    from demos import DEFAULT, DEMOS
    from demos.__main__ import main

    main(["--list"])
    out = capsys.readouterr().out
    assert DEFAULT == "moons"
    for name in DEMOS:
        assert f" {name} " in out
    assert "* moons" in out


def test_unknown_demo_name_exits_naming_the_choices(capsys):
    from demos.__main__ import main

    with pytest.raises(SystemExit, match="no demo named 'nope'.*moons"):
        main(["nope"])


def test_main_passes_the_options_to_the_named_demo(tmp_path, capsys):
    from demos.__main__ import main

    main(["chain", "--smoke", "--out", str(tmp_path / "c")])
    assert "chain" in capsys.readouterr().out
    assert (tmp_path / "c" / "chain.svg").exists()


def test_no_name_lists_the_demos_then_runs_moons(tmp_path, capsys):
    from demos.__main__ import main

    main(["--smoke", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert out.index("digits") < out.index("moons: an MLP learns")
    assert (tmp_path / "moons_boundary.png").is_file()


def test_default_output_folder_is_out_slash_name_created_in_cwd(tmp_path, monkeypatch, capsys):
    from demos import chain

    monkeypatch.chdir(tmp_path)
    report = chain.main(["--smoke"])
    assert (tmp_path / "out" / "chain" / "chain.svg").is_file()
    assert str(Path("out") / "chain" / "chain.svg") in capsys.readouterr().out
    assert all(not p.is_absolute() for p in report.files)


def test_same_seed_same_run(tmp_path, capsys):
    from demos import xor

    first = xor.main(["--smoke", "--out", str(tmp_path / "a")]).metrics
    second = xor.main(["--smoke", "--out", str(tmp_path / "b")]).metrics
    assert first["final_loss"] == second["final_loss"]
    assert xor.main(["--smoke", "--seed", "3", "--out", str(tmp_path / "c")]).metrics[
        "final_loss"] != first["final_loss"]


def test_every_listed_demo_has_main_taking_argv():
    import importlib
    import inspect

    from demos import DEMOS

    for name in DEMOS:
        module = importlib.import_module(f"demos.{name}")
        assert list(inspect.signature(module.main).parameters) == ["argv"]


# ---- chain --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_chain_hand_products_equal_autograd_to_1e_12(seed):
    from demos import chain

    params = chain.initial_parameters(seed)
    by_hand = chain.hand_gradients(params)
    by_autograd = chain.autograd_gradients(params)
    assert set(by_hand) == set(by_autograd) == set(chain.PARAMETERS)
    for name in chain.PARAMETERS:
        assert by_hand[name] == pytest.approx(by_autograd[name], abs=1e-12, rel=0)


def test_chain_factors_of_w1_run_the_whole_chain():
    from demos.chain import chain_factors

    assert chain_factors("w1") == ["dz1/dw1", "da1/dz1", "dz2/da1", "da2/dz2",
                                   "dz3/da2", "da3/dz3", "dC/da3"]
    assert chain_factors("b3") == ["dz3/db3", "da3/dz3", "dC/da3"]


def test_chain_prints_agreeing_numbers_and_draws_the_graph(tmp_path, capsys):
    from demos import chain

    report = chain.main(["--smoke", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "they agree to 1e-12" in out
    # Every gradient line prints the hand value and autograd's; they must be the same digits.
    rows = [line.split() for line in out.splitlines() if "autograd:" in line]
    assert len(rows) == 6
    for row in rows:
        assert row[1] == row[3]
    assert report.metrics["worst_difference"] <= 1e-12
    assert names(report.files) == {"chain.svg", "chain.png"}
    assert_svg(tmp_path / "chain.svg")
    assert min(png_size(tmp_path / "chain.png")) > 50


# ---- neuron -------------------------------------------------------------------------------


def test_neuron_hand_gradients_equal_autograd():
    from demos import neuron

    o, leaves = neuron.build_neuron(seed=3)
    o.backward()
    for name, (_, value) in neuron.hand_gradients(o, leaves).items():
        assert leaves[name].grad == pytest.approx(value, abs=1e-12)


def test_neuron_writes_graph_frames_and_explorer(tmp_path, capsys):
    from demos import neuron

    report = neuron.main(["--smoke", "--out", str(tmp_path)])
    assert "wrote" in capsys.readouterr().out
    svg = assert_svg(tmp_path / "neuron.svg")
    assert "tanh" in ET.tostring(svg, encoding="unicode")
    assert min(png_size(tmp_path / "neuron.png")) > 50
    html = (tmp_path / "neuron_backward.html").read_text(encoding="utf-8")
    assert "<html" in html.lower()
    frames = sorted((tmp_path / "frames").glob("*.svg"))
    assert frames
    for frame in frames:
        assert_svg(frame)
    assert all(p.exists() for p in report.files)


# ---- xor ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_xor_closed_form_deltas_equal_autograd_to_1e_12(seed):
    from demos import xor

    model = xor.make_model(seed)
    loss, _ = xor.loss_of(model)
    loss.backward()
    closed, per_point = xor.closed_form_gradients(model)
    named = dict(model.named_parameters())
    assert set(closed) == set(named)
    for name, p in named.items():
        assert p.grad == pytest.approx(closed[name], abs=1e-12, rel=0)
    assert len(per_point) == 4


def test_xor_smoke_prints_agreement_and_plots_the_loss(tmp_path, capsys):
    from demos import xor

    report = xor.main(["--smoke", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "agree to 1e-12" in out
    assert report.metrics["worst_difference"] <= 1e-12
    assert names(report.files) == {"xor_loss.png"}
    assert min(png_size(tmp_path / "xor_loss.png")) > 100


def test_xor_trains_to_every_point_right():
    from demos import xor

    model = xor.make_model(0)
    losses = xor.train(model, xor.STEPS)
    assert losses[-1] < losses[0]
    assert [round(p) for p in xor.predictions(model)] == xor.TARGETS


# ---- moons --------------------------------------------------------------------------------


def test_moons_smoke_writes_boundary_and_curves(tmp_path, capsys):
    from demos import moons

    report = moons.main(["--smoke", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "Time per step" in out
    assert names(report.files) == {"moons_boundary.png", "moons_curves.png"}
    for path in report.files:
        assert min(png_size(path)) > 100


def test_moons_full_training_reaches_99_percent():
    # The demo's full run minus the pictures (the smoke test draws those): 100 steps, 100 points.
    from demos import moons

    xs, ys = moons.load_data(moons.POINTS, moons.NOISE, seed=0)
    model = moons.make_model(seed=0)
    history = moons.train(model, xs, ys, moons.STEPS)
    assert history.loss[-1] < history.loss[0] / 10
    _, accuracy = moons.loss_and_accuracy(model, xs, ys)
    assert accuracy >= 0.99


# ---- digits -------------------------------------------------------------------------------


def test_digits_split_is_fixed():
    from demos import digits

    x_train, y_train, x_test, y_test = digits.load_data()
    assert (len(x_train), len(x_test)) == (1437, 360)
    assert all(len(image) == 64 for image in x_train[:10])
    # Standardized with the training set's statistics: each pixel has mean 0 there.
    column = [image[20] for image in x_train]
    assert sum(column) / len(column) == pytest.approx(0.0, abs=1e-9)
    again = digits.load_data()
    assert (again[2][0], again[3]) == (x_test[0], y_test)
    pictures = digits.test_pictures()
    assert len(pictures) == 360
    assert (min(map(min, pictures)), max(map(max, pictures))) == (0.0, 1.0)


def test_digits_model_shape_and_one_epoch_lowers_the_loss():
    from demos import digits

    model = digits.make_model(seed=0)
    h = digits.HIDDEN
    assert len(model.parameters()) == 64 * h + h + h * 10 + 10
    x_train, y_train, _, _ = digits.load_data()
    optimizer = digits.make_optimizer(model)
    first = digits.train_epoch(model, optimizer, x_train[:64], y_train[:64], seed=0)
    second = digits.train_epoch(model, optimizer, x_train[:64], y_train[:64], seed=1)
    assert second < first


def test_digits_confusion_counts_every_pair():
    from demos.digits import confusion

    counts = confusion([1, 1, 2], [1, 2, 2])
    assert counts[1][1] == 1 and counts[1][2] == 1 and counts[2][2] == 1
    assert sum(map(sum, counts)) == 3


def test_digits_smoke_writes_confusion_and_examples(tmp_path, capsys):
    from demos import digits

    report = digits.main(["--smoke", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "Test accuracy" in out and "Total time" in out
    assert " 1 epoch, " in out  # not "1 epochs"
    assert names(report.files) == {"digits_confusion.png", "digits_examples.png"}
    for path in report.files:
        assert min(png_size(path)) > 100


# ---- graduate -----------------------------------------------------------------------------


def test_graduate_smoke_continues_in_torch_on_the_same_trajectory(tmp_path, capsys):
    # The quick mode runs the whole demo when torch is there, and its skip message when not.
    from demos import graduate

    report = graduate.main(["--smoke", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    if importlib.util.find_spec("torch") is None:
        assert "pip install torch==2.13.0" in out and report.metrics == {"skipped": 1.0}
        return
    assert "PyTorch loss" in out and "faster" in out
    assert report.metrics["loss_gap"] <= 1e-12
    assert report.metrics["parameter_gap"] <= 1e-10
    assert report.metrics["round_trip_exact"] == 1.0
    assert names(report.files) == {"graduate.png", "graduate_graph.svg"}
    assert min(png_size(tmp_path / "graduate.png")) > 100
    # The first test digit is a 7: its output neuron is drawn open, weights and all.
    svg = ET.tostring(assert_svg(tmp_path / "graduate_graph.svg"), encoding="unicode")
    assert "neurons.7" in svg and "w.31" in svg


def test_graduate_without_torch_says_how_to_install_it_and_writes_nothing(tmp_path, capsys,
                                                                          monkeypatch):
    from demos import graduate

    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails, as if absent
    report = graduate.main(["--smoke", "--out", str(tmp_path / "g")])
    out = capsys.readouterr().out
    assert "PyTorch, which is not installed" in out and "pip install torch==2.13.0" in out
    assert report.files == [] and not (tmp_path / "g").exists()


# ---- newton -------------------------------------------------------------------------------


@pytest.mark.parametrize("point", [(-1.2, 1.0), (0.5, -0.3), (1.0, 1.0), (2.0, 3.5)])
def test_newton_engine_hessian_equals_the_formula(point):
    from demos import newton

    _, gradient, engine = newton.gradient_and_hessian(point)
    x, y = point
    assert gradient == pytest.approx([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)],
                                     rel=1e-14, abs=1e-12)
    for row, expected in zip(engine, newton.hessian_by_hand(point)):
        assert row == pytest.approx(expected, rel=1e-14, abs=1e-12)
    for row, expected in zip(engine, newton.hessian_by_differences(point)):
        assert row == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_newton_reaches_the_minimum_in_a_handful_of_steps_and_descent_in_thousands():
    from demos import newton

    fast = newton.newton()
    slow = newton.gradient_descent()
    assert fast.converged and fast.steps == 6
    assert slow.converged and 10_000 < slow.steps < newton.MAX_GD
    assert fast.values[-1] < 1e-15 and len(fast.values) == len(fast.points)


def test_newton_smoke_prints_the_check_and_draws_paths_and_gradient_graph(tmp_path, capsys):
    from demos import newton

    report = newton.main(["--smoke", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "->  agree" in out and "Newton: 6 steps" in out
    assert report.metrics["hessian_worst_difference"] < 1e-6
    assert report.metrics["gd_steps"] == newton.SMOKE_GD and not report.metrics["gd_converged"]
    assert names(report.files) == {"newton_paths.png", "newton_gradient.svg"}
    assert min(png_size(tmp_path / "newton_paths.png")) > 100
    svg = ET.tostring(assert_svg(tmp_path / "newton_gradient.svg"), encoding="unicode")
    assert "df/dx" in svg


# ---- modes --------------------------------------------------------------------------------


def test_modes_smoke_times_both_modes_and_draws_the_cost(tmp_path, capsys):
    from demos import modes

    report = modes.main(["--smoke", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "337 sweeps" in out and "agree to 1e-12" in out
    assert report.metrics["parameters"] == 337.0
    assert report.metrics["gradient_gap"] < 1e-12 and report.metrics["curve_gap"] < 1e-12
    assert names(report.files) == {"modes_cost.png"}
    assert min(png_size(tmp_path / "modes_cost.png")) > 100


def test_modes_forward_and_reverse_jacobians_of_the_mixer_agree():
    import autograd as ag
    from demos import modes

    xs, ys = modes.mixer(3, 4)
    forward, reverse = ag.jacobian(ys, xs, mode="forward"), ag.jacobian(ys, xs)
    for f_row, r_row in zip(forward, reverse):
        assert f_row == pytest.approx(r_row, rel=1e-12, abs=1e-15)


def test_newton_help_gives_the_whole_first_sentence(capsys):
    from demos import newton

    with pytest.raises(SystemExit):
        newton.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "Rosenbrock's curved valley, with the engine's gradients and Hessians." in text


# ---- tutorial -----------------------------------------------------------------------------


def test_tutorial_without_the_notebook_packages_says_what_to_install(tmp_path, capsys,
                                                                     monkeypatch):
    from demos import tutorial

    monkeypatch.setitem(sys.modules, "nbclient", None)  # as if absent
    report = tutorial.main(["--smoke", "--out", str(tmp_path / "t")])
    out = capsys.readouterr().out
    assert "needs nbclient, which is not installed" in out
    assert "pip install -e '.[notebook]'" in out and "Traceback" not in out
    assert report.metrics == {"skipped": 1.0} and not (tmp_path / "t").exists()


def test_tutorial_smoke_runs_a_chapter_into_out_without_touching_the_course(tmp_path, capfd,
                                                                            monkeypatch):
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from demos import tutorial

    monkeypatch.chdir(tmp_path)
    committed = (tutorial.COURSE / "01_value_and_chain_rule.ipynb").read_bytes()
    report = tutorial.main(["01", "--smoke"])
    assert names(report.files) == {"01_value_and_chain_rule.ipynb"}
    assert report.files[0].resolve() == (tmp_path / "out" / "tutorial" /
                                         "01_value_and_chain_rule.ipynb")
    assert (tutorial.COURSE / "01_value_and_chain_rule.ipynb").read_bytes() == committed
    out = capfd.readouterr()  # the kernel's own output too: no TCP warning
    assert "ran 1 chapter(s)" in out.out and "WARNING" not in out.out + out.err


def test_tutorial_names_the_chapters_when_none_matches(capsys):
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from demos import tutorial

    with pytest.raises(SystemExit, match="no chapter .* starts with '99'; the chapters: "
                       "01_value_and_chain_rule, 02_neuron"):
        tutorial.main(["99"])
