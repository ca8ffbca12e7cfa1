"""Repair: stop at the first serious finding, apply its remedy, train again; the seed 004 cases get fixed cheaply."""

from __future__ import annotations

import json

import pytest

from gradmedic import repair
from gradmedic.cli import main
from gradmedic.diagnose import Finding
from gradmedic.remedies import Remedy
from gradmedic.repair import Attempt, _better, _candidates, full_run_steps
from gradmedic.spec import validate

CIRCLES = {"dataset": "circles", "normalize": "minmax"}
MOMENTUM = {"optimizer": "momentum", "lr": 0.01, "momentum": 0.9, "batch_size": 32, "stats_every": 10}


def vanishing(epochs: int) -> dict:
    """Seed 004: 5x5 sigmoid, N(0, 1) weights, SGD momentum on circles."""
    return {"name": "vanish", "data": CIRCLES, "model": {"hidden": [5] * 5, "activation": "sigmoid", "init": "normal", "init_std": 1.0},
            "train": {**MOMENTUM, "epochs": epochs, "seed": 1}}


def exploding(epochs: int) -> dict:
    """Seed 004: unscaled regression target, Dense(25, ReLU, He uniform), SGD momentum: NaN."""
    return {"name": "explode", "data": {"dataset": "regression"}, "model": {"hidden": [25], "activation": "relu", "init": "he_uniform"},
            "train": {**MOMENTUM, "epochs": epochs}}


def test_vanishing_is_fixed_by_relu_he_at_low_cost(tmp_path):
    spec = validate(vanishing(150))
    r = repair(spec, runs_dir=tmp_path)
    first, last = r.attempts[0], r.attempts[-1]
    assert first.finding.problem == "vanishing_gradients" and first.status == "stopped"
    assert first.steps < 0.2 * r.full_steps  # stopped early: the doctor was sure within the first epochs
    assert r.fixed and last.healthy and r.changes == {"activation": "relu", "init": "he_uniform"}
    assert last.test_metric > first.test_metric + 0.2 and last.test_metric > 0.75
    assert r.full_steps == 150 * 16 == full_run_steps(spec)  # 500 training rows in batches of 32
    assert r.steps == sum(a.steps for a in r.attempts) and r.cost == pytest.approx(r.steps / r.full_steps)
    assert r.cost <= 1.5
    # every attempt recorded, the repaired spec and a report written
    saved = json.loads((r.dir / "repair.json").read_text())
    assert [a["problem"] for a in saved["attempts"]] == ["vanishing_gradients", None]
    assert all((tmp_path / p).is_dir() for p in [a["run_dir"] for a in saved["attempts"]])
    assert validate(json.loads((r.dir / "repaired.json").read_text())).model.activation == "relu"
    html = (r.dir / "report.html").read_text()
    assert "vanishing_gradients" in html and "data:image/png;base64," in html


def test_exploding_is_fixed_by_standardizing_the_target(tmp_path):
    r = repair(validate(exploding(30)), runs_dir=tmp_path)
    first, last = r.attempts[0], r.attempts[-1]
    assert first.status == "non_finite" and first.steps < 50  # NaN within the first epoch (16 batches)
    assert r.fixed and r.changes == {"standardize_target": True} and last.status == "ok"
    assert last.test_metric < 1e4  # MSE in target units; the target's variance is ~3e4
    assert r.cost < 1.1


def test_healthy_spec_is_left_alone(tmp_path):
    spec = validate({"name": "ok", "data": {"dataset": "moons", "normalize": "standard"},
                     "model": {"hidden": [16, 16], "activation": "relu", "init": "he_uniform"},
                     "train": {"optimizer": "adam", "epochs": 15, "stats_every": 10}})
    r = repair(spec, runs_dir=tmp_path)
    assert len(r.attempts) == 1 and r.attempts[0].healthy and not r.fixed and r.cost == pytest.approx(1.0)
    assert not (r.dir / "repaired.json").exists()


def test_budget_spent_says_so_and_exits_1(tmp_path, capsys):
    f = tmp_path / "vanish.json"
    f.write_text(json.dumps(vanishing(150)))
    rc = main(["repair", str(f), "--budget", "1", "--runs-dir", str(tmp_path / "runs")])
    out = capsys.readouterr().out
    assert rc == 1 and "not fixed" in out and "vanishing_gradients" in out
    assert not (tmp_path / "vanish.repaired.json").exists()


def test_cli_writes_the_repaired_spec_next_to_the_original(tmp_path, capsys):
    f = tmp_path / "explode.json"
    f.write_text(json.dumps(exploding(20)))
    rc = main(["repair", str(f), "--runs-dir", str(tmp_path / "runs"), "--json", "--tensorboard", str(tmp_path / "tb")])
    res = json.loads(capsys.readouterr().out)
    assert rc == 0 and res["fixed"] and res["attempts"][0]["status"] == "non_finite"
    for i in (1, 2):  # one TensorBoard run per attempt
        assert list((tmp_path / "tb" / f"attempt{i}").rglob("events.out.tfevents.*"))
    fixed = validate(json.loads((tmp_path / "explode.repaired.json").read_text()))
    assert fixed.data.standardize_target and fixed.name == "explode"


@pytest.mark.parametrize("args,field", [(["--budget", "0"], "--budget"), (["--activation", "nope"], "model.activation")])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, args, field):
    rc = main(["repair", "--runs-dir", str(tmp_path), *args])
    err = capsys.readouterr().err
    assert rc == 2 and field in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def _attempt(spec, status="stopped", metric=0.5, finding=None, name="accuracy") -> Attempt:
    return Attempt(1, spec, {}, None, None, status, 100, name, metric, metric, finding, [], None)


def test_better_prefers_finite_then_a_real_improvement():
    s = validate({})
    assert _better(_attempt(s, "ok", 0.6), _attempt(s, "non_finite", None))
    assert not _better(_attempt(s, "non_finite", None), _attempt(s, "ok", 0.1))
    assert _better(_attempt(s, metric=0.6), _attempt(s, metric=0.5))
    assert not _better(_attempt(s, metric=0.508), _attempt(s, metric=0.5))  # within a point: noise
    assert _better(_attempt(s, metric=10.0, name="mse"), _attempt(s, metric=20.0, name="mse"))
    assert not _better(_attempt(s, metric=20.0, name="mse"), _attempt(s, metric=10.0, name="mse"))


def test_candidates_skip_no_ops_and_changes_the_spec_rejects():
    spec = validate({"model": {"activation": "maxout", "init": "he_uniform"}})
    rem = [Remedy("no-op", "", {"init": "he_uniform"}), Remedy("invalid for maxout", "", {"batchnorm": "before"}),
           Remedy("words only", "", {}), Remedy("real", "", {"optimizer": "momentum"})]
    f = Finding("vanishing_gradients", "serious", [], 1, 1, "", {}, rem)
    got = _candidates(_attempt(spec, finding=f))
    assert [r.change for r, _ in got] == ["real"] and got[0][1].train.optimizer == "momentum"


def test_ctrl_c_stops_the_repair_and_keeps_what_was_tried(tmp_path, monkeypatch):
    import gradmedic.train as train_mod

    real = train_mod.train

    def interrupted_after_start(spec, **kw):  # the trainer turns Ctrl-C into status "interrupted"
        r = real(spec.model_copy(update={"train": spec.train.model_copy(update={"epochs": 2})}), **kw)
        r.status = "interrupted"
        return r

    monkeypatch.setattr(train_mod, "train", interrupted_after_start)
    r = repair(validate(vanishing(150)), runs_dir=tmp_path, budget=5)
    assert len(r.attempts) == 1 and r.interrupted and not r.fixed
    assert json.loads((r.dir / "repair.json").read_text())["interrupted"]
