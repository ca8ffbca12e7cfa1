"""TensorBoard events, read back with TensorBoard's own reader, hold the numbers of the run's records."""

import json
import math

import numpy as np
import pytest

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

from gradmedic import spec as S  # noqa: E402
from gradmedic.cli import main  # noqa: E402
from gradmedic.measure.history import ACT_STATS, LAYER_STATS  # noqa: E402
from gradmedic.measure.monitor import ACT_HIST_BINS  # noqa: E402
from gradmedic.run.records import Run  # noqa: E402
from gradmedic.run.tensorboard import export  # noqa: E402
from gradmedic.run.train import train  # noqa: E402

# tanh then ReLU: one saturating and one ReLU-family layer, so "not applicable" statistics occur
SPEC = {"data": {"n_samples": 200}, "model": {"hidden": [8, 6], "activation": "tanh"},
        "train": {"epochs": 3, "optimizer": "sgd", "lr": 0.1, "stats_every": 2}}


def events(path):
    ea = EventAccumulator(str(path), size_guidance={"scalars": 0, "histograms": 0})  # 0: keep every event
    ea.Reload()
    return ea


def rows(run_dir):
    return [json.loads(line) for line in (run_dir / "steps.jsonl").read_text().splitlines()[1:]]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tb")
    r = train(S.validate(SPEC), runs_dir=tmp / "runs", progress="none", tensorboard=tmp / "tb")
    return r, tmp


def f32(v):
    return float(np.float32(v))  # event files keep scalars as float32


def test_events_hold_the_recorded_numbers(trained):
    r, tmp = trained
    tb = tmp / "tb" / r.run_dir.name  # one TensorBoard run per training run
    assert r.extra["tensorboard"] == str(tb)
    ea = events(tb)
    recorded = rows(r.run_dir)
    # the loss of every step
    loss = ea.Scalars("loss")
    assert [e.step for e in loss] == [x["step"] for x in recorded] == list(range(1, 13))
    assert [e.value for e in loss] == [f32(x["loss"]) for x in recorded]
    sampled = [x for x in recorded if "layers" in x]
    assert [x["step"] for x in sampled] == [1, 3, 5, 7, 9, 11]
    for layer in ("fc1", "fc2", "out"):
        for stat in LAYER_STATS:
            ev = ea.Scalars(f"{stat}/{layer}")
            # a value not measured (NaN: the update ratio before the first optimizer step) has no event
            measured = [x for x in sampled if math.isfinite(x["layers"][layer][stat])]
            assert [e.step for e in ev] == [x["step"] for x in measured]
            assert [e.value for e in ev] == [f32(x["layers"][layer][stat]) for x in measured], (stat, layer)
    tags = set(ea.Tags()["scalars"])
    for act in ("act1", "act2"):
        for stat in ACT_STATS:
            vals = [x["activations"][act][stat] for x in sampled]
            if any(v is None or v != v for v in vals):  # NaN: the statistic does not apply (tanh has no zeros share)
                assert f"act_{stat}/{act}" not in tags
            else:
                assert [e.value for e in ea.Scalars(f"act_{stat}/{act}")] == [f32(v) for v in vals], (stat, act)
    assert "act_sat_frac/act1" in tags and "act_zero_frac/act1" not in tags
    # the activation histograms: the recorded counts, bucket by bucket
    for act in ("act1", "act2"):
        hs = ea.Histograms(f"act_hist/{act}")
        assert [h.step for h in hs] == [x["step"] for x in sampled]
        for h, x in zip(hs, sampled, strict=False):
            counts = x["act_hist"][act]
            assert list(h.histogram_value.bucket) == counts and len(counts) == ACT_HIST_BINS
            assert h.histogram_value.num == sum(counts)
        np.testing.assert_allclose(hs[0].histogram_value.bucket_limit[-1], 1.0)  # tanh's range ends at 1
    # one point per epoch at the step it ended
    for key, tag in (("train_loss", "epoch/train_loss"), ("test_metric", "epoch/test_accuracy"), ("lr", "epoch/lr")):
        ev = ea.Scalars(tag)
        assert [(e.step, e.value) for e in ev] == [(e["step"], f32(e[key])) for e in r.epochs]


def test_export_of_a_recorded_run_writes_the_same_events(trained):
    r, tmp = trained
    live = events(tmp / "tb" / r.run_dir.name)
    dest = export(r.run_dir, tmp / "exported")
    assert dest == tmp / "exported" / r.run_dir.name
    again = events(dest)
    assert sorted(again.Tags()["scalars"]) == sorted(live.Tags()["scalars"])
    assert sorted(again.Tags()["histograms"]) == sorted(live.Tags()["histograms"])
    for tag in live.Tags()["scalars"]:
        assert [(e.step, e.value) for e in again.Scalars(tag)] == [(e.step, e.value) for e in live.Scalars(tag)], tag
    for tag in live.Tags()["histograms"]:
        assert [list(e.histogram_value.bucket) for e in again.Histograms(tag)] == \
            [list(e.histogram_value.bucket) for e in live.Histograms(tag)]


def test_export_of_a_run_recorded_before_histograms(trained, tmp_path):
    """Older runs have no histograms: the scalars are still exported."""
    import shutil

    r, _ = trained
    d = tmp_path / r.run_dir.name
    shutil.copytree(r.run_dir, d)
    lines = [json.loads(x) for x in (d / "steps.jsonl").read_text().splitlines()]
    lines[0].pop("activation_hist")
    for x in lines[1:]:
        x.pop("act_hist", None)
    (d / "steps.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    assert Run(d).history.hists is None
    ea = events(export(d, tmp_path / "tb"))
    assert ea.Tags()["histograms"] == [] and len(ea.Scalars("loss")) == 12


def test_cli_tensorboard_on_train_and_diagnose(tmp_path, capsys):
    rc = main(["train", "--n-samples", "200", "--hidden", "8", "--epochs", "2", "--progress", "none", "--no-report",
               "--runs-dir", str(tmp_path / "runs"), "--tensorboard", str(tmp_path / "tb"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and "report" not in out  # --no-report
    run_dir = next((tmp_path / "runs").iterdir())
    assert out["tensorboard"] == str(tmp_path / "tb" / run_dir.name)
    assert len(events(out["tensorboard"]).Scalars("loss")) == 8
    rc = main(["diagnose", str(run_dir), "--tensorboard", str(tmp_path / "tb2"), "--no-report", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["tensorboard"] == str(tmp_path / "tb2" / run_dir.name)
    assert [e.step for e in events(out["tensorboard"]).Scalars("epoch/test_accuracy")] == [4, 8]
