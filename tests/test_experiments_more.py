"""The optimizers, learning_rate, normalization and activations studies at their reduced size, and
the optimizer-path function against seed 002's update equations."""

from __future__ import annotations

import json
import math
from html import escape
from pathlib import Path

import numpy as np
import pytest
import torch
from rich.console import Console

from gradmedic.experiments import EXPERIMENTS, activations, learning_rate, optimizers
from gradmedic.show.style import claims


def _quiet() -> Console:
    return Console(file=open("/dev/null", "w"), width=120)


def _run(name: str, tmp_path: Path) -> dict:
    res = EXPERIMENTS[name].run(runs_dir=tmp_path, console=_quiet(), size="reduced")
    failed = [k for k, ok in res["checks"].items() if not ok]
    assert not failed, f"{name}: {failed}"
    assert res["all_as_expected"] is True
    json.dumps(res)  # JSON-able, as the CLI's --json prints it
    report = Path(res["report"])
    assert report.is_file() and report.name == "report.html"
    html = report.read_text()
    assert html.count("data:image/png;base64,") >= 1
    for claim in res["checks"]:  # every check is stated in the report
        assert escape(claim, quote=True) in html
    return res


# -- optimizer paths against the seed's equations ---------------------------------------------------

def _quadratic(w: torch.Tensor) -> torch.Tensor:  # f = 0.5 (a x^2 + b y^2): gradient (a x, b y)
    return 0.5 * (3.0 * w[0] ** 2 + 0.5 * w[1] ** 2)


def test_optimizer_paths_gd_and_momentum_follow_seed_002_equations():
    a, b = 3.0, 0.5
    lr, rho, start = 0.1, 0.9, (1.0, -2.0)
    paths = optimizers.optimizer_paths(_quadratic, start, {
        "gd": lambda p: torch.optim.SGD(p, lr=lr),
        "momentum": lambda p: torch.optim.SGD(p, lr=lr, momentum=rho)}, steps=3)
    grad = lambda w: np.array([a * w[0], b * w[1]])  # noqa: E731
    # GD: w <- w - lr g (seed 002 §7.1).
    w = np.array(start)
    expect_gd = [w.copy()]
    for _ in range(3):
        w = w - lr * grad(w)
        expect_gd.append(w.copy())
    np.testing.assert_allclose(paths["gd"], np.array(expect_gd), rtol=1e-12)
    # Momentum, seed 002 eq. 7.1: v = rho v - lr g; w = w + v  (PyTorch: b = rho b + g; w -= lr b, b = -v/lr).
    w, v = np.array(start), np.zeros(2)
    expect_m = [w.copy()]
    for _ in range(3):
        v = rho * v - lr * grad(w)
        w = w + v
        expect_m.append(w.copy())
    np.testing.assert_allclose(paths["momentum"], np.array(expect_m), rtol=1e-12)
    # By hand for x: g0 = 3, w1 = 1 - 0.3 = 0.7; v1 = 0.9(-0.3) - 0.1(2.1) = -0.48, w2 = 0.22.
    assert paths["momentum"][1, 0] == pytest.approx(0.7)
    assert paths["momentum"][2, 0] == pytest.approx(0.22)


def test_optimizer_paths_stop_at_non_finite_and_step_counters():
    diverge = optimizers.optimizer_paths(_quadratic, (1.0, 1.0), {"gd": lambda p: torch.optim.SGD(p, lr=1e200)}, steps=10)
    p = diverge["gd"]
    assert p.shape == (11, 2)
    assert np.all(np.isfinite(p[0])) and not np.all(np.isfinite(p[-1]))  # rows after the break stay NaN
    assert optimizers.steps_to_tol(np.array([5.0, 0.5, 2.0, 0.5, 0.1]), 1.0) == 3  # dipping at 1 does not count
    assert optimizers.steps_to_tol(np.array([5.0, 2.0]), 1.0) is None
    assert optimizers.sign_changes(np.array([1.0, -1.0, 2.0, 3.0, -0.5])) == 3


def test_optimizers_study(tmp_path):
    res = _run("optimizers", tmp_path)
    v, s = res["stats"]["valley"], res["stats"]["saddle"]
    assert v["GD"]["y_sign_changes_first10"] == 10
    # GD's first step is lr g: |dx|/|dy| is the gradient ratio 0.02*8 / (2*1.5) = 0.0533.
    assert v["GD"]["first_step_dx_over_dy"] == pytest.approx(0.16 / 3.0)
    assert v["Adam"]["first_step_dx_over_dy"] == pytest.approx(1.0, rel=1e-6)  # Adam's first step: lr * sign(g)
    assert v["Momentum"]["steps_to_tol"] < v["GD"]["steps_to_tol"] / 2
    assert s["GD"]["steps_to_escape"] >= 2 * s["Momentum"]["steps_to_escape"]
    # what the pictures claim are the study's own step counts
    d = Path(res["report"]).parent
    assert claims(d / "valley.png")[0].endswith(
        f"GD {v['GD']['steps_to_tol']}, momentum {v['Momentum']['steps_to_tol']}, Adam {v['Adam']['steps_to_tol']}")
    assert claims(d / "saddle.png")[0] == (f"saddle: steps to escape: GD {s['GD']['steps_to_escape']}, momentum "
                                           f"{s['Momentum']['steps_to_escape']}, Adam {s['Adam']['steps_to_escape']}")


def test_learning_rate_study(tmp_path):
    res = _run("learning_rate", tmp_path)
    runs, diag = res["runs"], res["diagnoses"]
    assert diag["lr 1e-5 (too small)"] == ["lr_too_low"]
    assert diag["lr 1 (good)"] == [] and diag["lr 1 + cosine"] == []
    assert runs["lr 1e-5 (too small)"]["train_loss"] > 0.6  # chance is ln 2 = 0.693
    assert runs["lr 1 + cosine"]["train_loss"] < runs["lr 1 (good)"]["train_loss"] < 0.15
    head = claims(Path(res["report"]).parent / "loss_curves.png")[0]  # the picture quotes the runs' final losses
    assert f"annealed lr 1 ends at {runs['lr 1 + cosine']['train_loss']:.3g} (cosine)" in head, head


def test_normalization_study(tmp_path):
    res = _run("normalization", tmp_path)
    csv_path = Path(res["dataset"])
    assert csv_path.parent == Path(res["report"]).parent  # the generated data lives in the study directory
    x = np.loadtxt(csv_path, delimiter=",", skiprows=1)
    stds = x[:, :-1].std(axis=0)
    assert stds.max() / stds.min() > 1e4  # the point of the study: features on wildly different scales
    assert "unscaled_inputs" in res["diagnoses"]["none"]
    assert res["diagnoses"]["standard"] == [] and res["diagnoses"]["minmax"] == []
    ept = res["epochs_to_target"]
    assert ept["none"] is None and ept["standard"] is not None and ept["minmax"] is not None
    for m in ("none", "standard"):  # the runs read the CSV through the spec like any user's data
        assert json.loads((Path(res["runs"][m]["run_dir"]) / "spec.json").read_text())["data"]["dataset"] == str(csv_path)


def test_activations_study(tmp_path):
    res = _run("activations", tmp_path)
    runs = res["runs"]
    assert set(runs) == set(activations.INIT)
    assert runs["sigmoid"]["first_to_last_grad_ratio"] < 0.01
    assert "vanishing_gradients" in res["diagnoses"]["sigmoid"]
    assert all(not res["diagnoses"][a] for a in activations.RELU_FAMILY)  # the doctor stays silent on them
    assert math.isfinite(runs["maxout"]["train_loss"]) and runs["relu"]["test_metric"] >= 0.9
    head = claims(Path(res["report"]).parent / "grad_profile.png")[0]
    assert head.startswith(f"sigmoid's first layer gets {runs['sigmoid']['first_to_last_grad_ratio']:.2g}x"), head


def test_specs_use_each_activations_fair_init_and_one_setting():
    specs = activations.activation_specs(epochs=3)
    assert {a: s.model.init for a, s in specs.items()} == activations.INIT
    assert {(s.train.lr, s.train.optimizer, tuple(s.model.hidden)) for s in specs.values()} == {(0.01, "momentum", (16,) * 6)}
    lr = learning_rate.learning_rate_specs(epochs=30)
    assert {s.train.schedule for s in lr.values()} == {"none", "cosine", "step"}
    assert lr["lr 1 + step"].train.step_size == 10
