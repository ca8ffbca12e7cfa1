"""Pictures of a recorded run, read by what they claim: each PNG carries its headline (``style.claims``),
and the numbers and layers it names are checked against the records.  Also for broken runs (exact-zero
gradients, NaN, a killed run), without rebuilding the network or leaking matplotlib or torch state."""

import numpy as np
import pytest
import torch

import gradmedic.model.build as build_mod
from gradmedic import spec as S
from gradmedic.cli import main
from gradmedic.run.records import Run
from gradmedic.run.train import train
from gradmedic.show import numbers
from gradmedic.show import run as pictures
from gradmedic.show.run import NAMES, render_all
from gradmedic.show.style import claims


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    # These nets are tiny: one intra-op thread is ~20x faster than a pool on a busy machine.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _render(run_dir, out) -> dict[str, str]:
    """Every picture of the run, drawn into ``out``: {file name: its headline}."""
    paths = render_all(run_dir, out)
    assert [p.name for p in paths] == list(NAMES) and all(p.parent == out for p in paths)
    heads = {p.name: claims(p)[0] for p in paths}
    assert all(heads.values()), heads
    return heads


def _train(tmp_path, raw):
    return train(S.validate(raw), runs_dir=tmp_path / "runs", progress="none")


def _medians(run: Run) -> np.ndarray:
    g = run.history.layer("grad_norm")
    return np.array([np.median(c[np.isfinite(c)]) for c in g.T])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tiny")
    return train(S.validate({"model": {"hidden": [8, 8], "activation": "tanh"}, "train": {"epochs": 2, "stats_every": 2}}),
                 runs_dir=tmp, progress="none")


def test_tiny_run_headlines_match_the_records_and_no_global_state_leaks(tiny, tmp_path, monkeypatch):
    import matplotlib
    import matplotlib.pyplot as plt

    def no_rebuild(*a, **k):
        raise AssertionError("a picture rebuilt the network")

    monkeypatch.setattr(build_mod, "build", no_rebuild)  # pictures are drawn from the records only
    rc, rng = dict(matplotlib.rcParams), torch.get_rng_state()
    heads = _render(tiny.run_dir, tmp_path / "png")
    assert plt.get_fignums() == []  # no pyplot figure left open
    assert dict(matplotlib.rcParams) == rc  # the style is scoped to the call
    assert torch.equal(torch.get_rng_state(), rng)

    run = Run(tiny.run_dir)
    last_step, last_loss = int(run.history.loss_steps[-1]), run.epochs[-1]["train_loss"]
    assert f"→ {numbers.num(last_loss)} over {last_step} steps" in heads["loss.png"], heads["loss.png"]
    # the activation picture: the recorded std of the first and the last activation layer at step 1 and at the end
    std, st = run.history.act("std"), run.history.stat_steps
    assert heads["activations.png"].startswith(
        f"Activation std from act1 to act2: {numbers.num(std[0, 0])} → {numbers.num(std[0, -1])} at step 1, "
        f"{numbers.num(std[-1, 0])} → {numbers.num(std[-1, -1])} at step {st[-1]}"), heads["activations.png"]
    med = _medians(run)
    assert heads["grad_norms.png"] == (f"Gradient norm per layer: fc1 and out of similar size "
                                       f"(fc1 = {med[0] / med[-1]:.2g}x out)"), heads["grad_norms.png"]


def test_vanishing_gradient_headline_names_the_first_layer_and_the_ratio(tmp_path):
    # seed 004's network, a few epochs: sigmoid, N(0, 1) weights, momentum 0.01
    r = _train(tmp_path, {"data": {"normalize": "minmax"},
                          "model": {"hidden": [5] * 5, "activation": "sigmoid", "init": "normal", "init_std": 1.0},
                          "train": {"optimizer": "momentum", "lr": 0.01, "epochs": 3, "stats_every": 5, "seed": 1}})
    run = Run(r.run_dir)
    med = _medians(run)
    ratio = med[0] / med[-1]
    assert ratio < 1 / 3  # the first layer gets a small share of the last one's gradient: the picture says how small
    heads = _render(r.run_dir, tmp_path / "png")
    assert heads["grad_norms.png"] == f"Gradient norm per layer: fc1's is {numbers.fraction(ratio)} of out's"
    assert "fc1" in heads["grad_heatmap.png"] and "out's" in heads["grad_heatmap.png"], heads["grad_heatmap.png"]


def test_all_zero_gradients_are_named_layer_by_layer(tmp_path):
    # all-zero weights under ReLU: every hidden layer's gradient is exactly 0 at every step
    r = _train(tmp_path, {"model": {"hidden": [5, 5, 5], "activation": "relu", "init": "zeros"},
                          "train": {"optimizer": "momentum", "lr": 0.01, "epochs": 2, "stats_every": 1}})
    g = Run(r.run_dir).history.layer("grad_norm")
    assert (g[:, :3] == 0).all() and (g[:, 3] > 0).all()  # fc1..fc3 exactly 0, out's bias still learns
    heads = _render(r.run_dir, tmp_path / "png")
    assert heads["grad_norms.png"] == "3 of 4 layers get a gradient of exactly 0 most of the time: fc1, fc2, fc3"
    assert heads["grad_heatmap.png"] == "The gradient is dead: fc1 (and 2 more layers) gets exactly 0 from step 1 on"
    assert heads["activation_stats.png"] == "Activations over training: act1: 100% of units never fire at the last recorded step"


def test_non_finite_run_says_where_it_diverged(tmp_path):
    # seed 004's exploding regression (unscaled target): NaN/inf before the first epoch ends
    r = _train(tmp_path, {"data": {"dataset": "regression"},
                          "model": {"hidden": [25], "activation": "relu", "init": "he_uniform"},
                          "train": {"optimizer": "momentum", "lr": 0.01, "epochs": 100, "stats_every": 1}})
    run = Run(r.run_dir)
    step = run.summary["non_finite"]["step"]
    assert run.summary["status"] == "non_finite" and step and not run.epochs
    heads = _render(r.run_dir, tmp_path / "png")
    assert heads["loss.png"].startswith(f"Training diverged: the loss became {run.summary['non_finite']['loss']} "
                                        f"at step {step}"), heads["loss.png"]
    assert f"NaN/inf at step {step}" in heads["grad_norms.png"] or "NaN/inf from step" in heads["grad_heatmap.png"]


def test_killed_run_without_model_and_summary(tmp_path):
    r = _train(tmp_path, {"model": {"hidden": [6, 6]}, "train": {"epochs": 2, "stats_every": 3}})
    (r.run_dir / "model.pt").unlink()
    (r.run_dir / "summary.json").unlink()
    with open(r.run_dir / "steps.jsonl", "a") as f:
        f.write('{"step": 999, "loss": 0.5, "lay')  # a partial last line, as a kill mid-write leaves
    run = Run(r.run_dir)
    heads = _render(r.run_dir, tmp_path / "png")
    assert "killed (no summary)" in claims(tmp_path / "png" / "loss.png")[1]  # the line naming the run says so
    assert f"over {int(run.history.loss_steps[-1])} steps" in heads["loss.png"]
    # no model.pt is needed: the distributions are the recorded ones
    assert heads["activations.png"].startswith("Activation std from act1 to act2: "), heads["activations.png"]


def test_numbers_read_as_the_headlines_write_them():
    assert [numbers.num(x) for x in (0.00651, 0.5, 1234.5, 2e-5, 0.0)] == ["0.00651", "0.5", "1.23e+03", "2e-05", "0"]
    assert [numbers.fraction(x) for x in (0.00813, 4.56, 1 / 1324, 5e-19)] == ["1/120", "4.6", "1/1300", "1/2×10¹⁸"]
    assert numbers.pm(0.5, 0.005657) == "0.500 ± 0.006" and numbers.pm(25690.7, 120.0) == "2.569e+04 ± 1.2e+02"
    assert numbers.flags({"activation": "relu", "hidden": [8, 8], "batchnorm_affine": True, "lr": 0.001}) == \
        "--activation relu --hidden 8,8 --batchnorm-affine true --lr 0.001"


def test_show_command_writes_into_the_run(tiny, tmp_path, capsys):
    assert main(["show", str(tiny.run_dir)]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and all((tiny.run_dir / n).is_file() for n in NAMES)
    assert main(["show", str(tmp_path / "nope")]) == 2


def test_activation_picture_without_histograms_says_so(tiny, tmp_path):
    run = Run(tiny.run_dir)
    run.history.hist_ranges = None  # as a run recorded before gradmedic kept activation histograms
    p = pictures.activations_png(run, tmp_path / "a.png")
    assert claims(p)[0] == "Activation distributions per layer: not recorded"


def test_tune_pictures_name_the_best_trial(tmp_path):
    from types import SimpleNamespace

    from gradmedic.show import tune as tune_pictures

    states = [("COMPLETE", 0.8), ("PRUNED", None), ("COMPLETE", 0.93), ("COMPLETE", 0.9)]
    trials = [{"number": i, "state": s, "value": v, "interrupted": False, "intermediate": {1: 0.5, 2: v or 0.55},
               "pruned_by": "doctor" if s == "PRUNED" else None, "problem": "plateau" if s == "PRUNED" else None}
              for i, (s, v) in enumerate(states)]
    res = SimpleNamespace(trials=trials, direction="maximize", metric="accuracy", importances={"lr": 0.7, "init": 0.3})
    paths = tune_pictures.render(res, tmp_path)
    assert [p.name for p in paths] == ["history.png", "importances.png", "intermediate.png"]
    assert claims(paths[0]) == ("Optimization history: best test accuracy 0.93 at trial 2", "4 trials, test accuracy (maximize)")
