"""The core studies (exploding, initialization, depth, selu, batchnorm) at the reduced size: every
stated expectation holds, the key numbers are where the seeds and papers put them, and each study
writes its pictures and report."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pytest
from rich.console import Console

from gradmedic import experiments


def _run(name: str, tmp_path: Path) -> tuple[dict, str]:
    buf = io.StringIO()
    res = experiments.EXPERIMENTS[name].run(runs_dir=tmp_path, console=Console(file=buf, width=200), size="reduced")
    json.dumps(res)  # the CLI's --json prints it: must be JSON-able
    assert res["experiment"] == name
    failed = [k for k, ok in res["checks"].items() if not ok]
    assert not failed, failed
    assert res["all_as_expected"]
    report = Path(res["report"])
    assert report.is_file() and report.parent.parent == tmp_path
    html = report.read_text()
    assert "as expected" in html and "NOT as expected" not in html
    # the expectation is stated before anything runs, and again in the report (HTML-escaped)
    out = buf.getvalue()
    assert out.index("Expected:") < out.index("as expected:")
    first_words = res["expected"].split(" (")[0][:40]
    assert first_words.replace("'", "&#x27;") in html
    return res, html


def _pngs(res: dict) -> list[str]:
    return sorted(p.name for p in Path(res["report"]).parent.glob("*.png"))


def test_exploding(tmp_path):
    res, html = _run("exploding", tmp_path)
    runs = res["runs"]
    plain = runs["no remedy"]
    assert plain["status"] == "non_finite" and plain["test_metric"] is None
    assert 1 <= plain["non_finite"]["step"] <= 16  # within the first epoch (500 rows / 32)
    var = res["target_variance"]
    assert 2e4 < var < 3e4  # make_regression's 20 informative features: Var(y) ~ 20 x E[coef^2] ~ 2.6e4
    for k in ("clip_norm 1.0", "clip_value 5.0", "standardized target"):
        assert runs[k]["status"] == "ok"
        assert math.isfinite(runs[k]["test_metric"]) and runs[k]["test_metric"] < 0.01 * var
    # the gradient is recorded before clipping: the clipped runs' raw gradient is far above the clip
    assert runs["clip_norm 1.0"]["grad_norm"]["fc1"] > 10
    # MSE is in the target's units for the standardized run too (not ~0.01 in standardized units)
    assert runs["standardized target"]["test_metric"] > 1
    assert "NaN at step" in html
    assert _pngs(res) == ["exploding_curves.png"]


def test_initialization(tmp_path):
    res, _ = _run("initialization", tmp_path)
    m = res["measured"]
    # N(0, 0.01) on 128 units: the std shrinks ~0.01 * sqrt(128) = 0.113 per layer; 9 layers -> ~3e-9
    assert 1e-11 < m["tanh N(0,0.01) activation std last/first"] < 1e-6
    assert m["tanh N(0,1) min share |a|>0.99 in layers 2-10"] > 0.7
    assert m["relu glorot activation std last/first"] == pytest.approx(2 ** -4.5, rel=0.5)  # 1/sqrt(2) per layer
    assert m["relu he activation std max/min"] < 1.5
    tanh = res["layers"]["tanh"]
    assert set(tanh) == {"N(0, 0.01)", "N(0, 1)", "glorot_normal", "he_normal", "lecun_normal"}
    assert all(len(v["act_std"]) == 10 and len(v["grad_std"]) == 10 for v in tanh.values())
    assert _pngs(res) == [f"init_{k}_{a}.png" for k in ("activations", "gradients", "std") for a in ("relu", "tanh")]


def test_initialization_matches_the_trainers_weights():
    """The probe builds the network the trainer would: same seed, same first-layer weights."""
    import torch

    from gradmedic.experiments._probe_core import probe
    from gradmedic.experiments.initialization import init_specs
    from gradmedic.model import build, data

    spec = init_specs("tanh", width=16, depth=2)["glorot_normal"]
    ds = data.load(spec.data)
    p = probe(spec, ds, n=50)
    torch.manual_seed(spec.train.seed)
    model = build.build(spec.model, ds)
    with torch.no_grad():
        a1 = torch.tanh(model.fc1(ds.x_train[:50]))
    assert p.act_std[0] == pytest.approx(float(a1.double().std()), rel=1e-6)


def test_depth(tmp_path):
    res, _ = _run("depth", tmp_path)
    g, h = res["runs"]["glorot_uniform seed 0"], res["runs"]["he_uniform seed 0"]
    assert abs(g["train_loss"] - math.log(2)) < 0.01 and g["test_metric"] < 0.6
    assert h["test_metric"] >= 0.8
    assert g["grad_norm"]["fc1"] < 1e-3 * h["grad_norm"]["fc1"]
    assert len(g["grad_norm"]) == 31  # 30 hidden layers + out
    assert _pngs(res) == ["depth_curves.png"]


def test_selu(tmp_path):
    res, _ = _run("selu", tmp_path)
    rec = res["layers"]["0"]["lecun+std"]
    assert len(rec["mean"]) == 32
    assert max(abs(m) for m in rec["mean"]) < 0.1 and all(0.7 <= v <= 1.3 for v in rec["var"])
    he, dflt = res["layers"]["0"]["he+std"], res["layers"]["0"]["default+std"]
    assert he["var"][-1] > 10 * rec["var"][-1]
    assert dflt["var"][-1] < 0.1 * rec["var"][-1]
    assert res["layers"]["0"]["lecun+raw"]["var"][0] > 5
    assert _pngs(res) == ["selu_mean_var.png"]


def test_batchnorm(tmp_path):
    res, _ = _run("batchnorm", tmp_path)
    r = res["runs"]
    assert r["no batchnorm, lr 0.1 seed 0"]["test_metric"] < 0.6
    assert r["batchnorm, lr 0.1 seed 0"]["test_metric"] >= 0.9
    assert r["batchnorm, lr 0.5 seed 0"]["test_metric"] >= 0.9
    # without batch norm the first layer gets next to nothing (sigmoid' <= 1/4 over 10 layers)
    assert r["no batchnorm, lr 0.1 seed 0"]["grad_norm"]["fc1"] < 1e-3 * r["batchnorm, lr 0.1 seed 0"]["grad_norm"]["fc1"]
    assert _pngs(res) == ["batchnorm_curves.png"]


def test_vanishing(tmp_path):
    """Seed 004: sigmoid + N(0, 1) loses gradient through depth and stays at chance; ReLU + He trains."""
    res, html = _run("vanishing", tmp_path)
    sig, relu = res["runs"]["sigmoid + N(0,1)"], res["runs"]["relu + he_uniform"]
    assert sig["first_to_last_grad_ratio"] < 0.02 and 0.4 < sig["test_metric"] < 0.6
    assert relu["test_metric"] >= 0.8 and 0.2 < relu["first_to_last_grad_ratio"] < 10
    assert "vanishing_gradients" in html


def test_every_study_runs_on_one_thread_and_restores_the_setting():
    import torch

    seen = []
    exp = experiments.Experiment("probe", "", "", lambda **kw: seen.append(torch.get_num_threads()) or {})
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        exp.run(size="reduced")
        assert seen == [1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
