"""Data and normalization, the monitor's statistics against plain PyTorch, run records on disk."""

import json
import math

import numpy as np
import pytest
import torch
from sklearn.datasets import make_circles
from torch import nn

from gradmedic import spec as S
from gradmedic.errors import SpecError, WatchError
from gradmedic.measure.monitor import watch
from gradmedic.model import data
from gradmedic.run.records import Run, new_run_dir
from gradmedic.run.train import train


# -- data --------------------------------------------------------------------------------------------
def test_circles_split_is_the_seeds_first_500_rows():
    d = data.load(S.DataSpec())
    x, y = make_circles(n_samples=1000, noise=0.1, random_state=1)
    np.testing.assert_allclose(d.x_train.numpy(), x[:500], rtol=1e-6)
    np.testing.assert_allclose(d.x_test.numpy(), x[500:], rtol=1e-6)
    assert d.task == "binary" and d.y_train.shape == (500, 1)


@pytest.mark.parametrize("method", ["center", "standard", "minmax"])
def test_normalization_uses_training_statistics_only(method):
    raw = data.load(S.DataSpec(dataset="regression"))
    d = data.load(S.DataSpec(dataset="regression", normalize=method))
    tr, te = raw.x_train.double().numpy(), raw.x_test.double().numpy()
    if method == "center":
        shift, scale = tr.mean(0), 1.0
    elif method == "standard":
        shift, scale = tr.mean(0), tr.std(0)
    else:
        shift, scale = (tr.max(0) + tr.min(0)) / 2, (tr.max(0) - tr.min(0)) / 2
    np.testing.assert_allclose(d.x_train.numpy(), (tr - shift) / scale, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(d.x_test.numpy(), (te - shift) / scale, rtol=1e-4, atol=1e-5)
    assert abs(d.x_test.numpy().mean()) > 1e-4  # the test split is not re-centred on itself
    if method == "minmax":
        assert d.x_train.min().item() == pytest.approx(-1) and d.x_train.max().item() == pytest.approx(1)


def test_image_normalizations():
    raw = data.load(S.DataSpec(dataset="digits"), image=True)
    mi = data.load(S.DataSpec(dataset="digits", normalize="mean_image"), image=True)
    ch = data.load(S.DataSpec(dataset="digits", normalize="channel_mean"), image=True)
    np.testing.assert_allclose(mi.x_train.numpy(), (raw.x_train - raw.x_train.mean(0)).numpy(), atol=1e-4)
    np.testing.assert_allclose(ch.x_test.numpy(), (raw.x_test - raw.x_train.mean()).numpy(), atol=1e-4)
    assert raw.x_train.shape[1:] == (1, 8, 8)


def test_target_standardization_reports_errors_in_original_units(tmp_path):
    r = train(S.validate({"data": {"dataset": "regression", "standardize_target": True, "normalize": "standard"},
                          "model": {"hidden": [16]}, "train": {"epochs": 2}}), runs_dir=None, progress="none")
    raw = data.load(S.DataSpec(dataset="regression"))
    assert r.epochs[-1]["test_metric"] > 10 * float(((raw.y_test - raw.y_test.mean()) / raw.y_train.std()).var())


@pytest.mark.parametrize("rows, target, field, text", [
    (["a,b,y", "1,2,0", "3,x,1", "4,5,0"], "y", "data.dataset", "not numeric"),
    (["a,b,y", "1,2,0", "nan,3,1", "4,5,0"], "y", "data.dataset", "NaN"),
    (["a,b,y", "1,2,0", "3,4", "4,5,0"], "y", "data.dataset", "line 3"),
    (["a,b,y", "1,2,0", "3,4,1", "4,5,0"], "z", "data.target", "columns: a, b, y"),
    (["a,b,y", "1,2,0", "3,4,0", "4,5,0"], "y", "data.target", "single class"),
])
def test_bad_csv_files_name_the_field(tmp_path, rows, target, field, text):
    f = tmp_path / "d.csv"
    f.write_text("\n".join(rows))
    with pytest.raises(SpecError) as e:
        data.load(S.DataSpec(dataset=str(f), target=target))
    assert e.value.field == field and text in str(e.value)


def test_other_bad_data_specs():
    with pytest.raises(SpecError, match="data.normalize"):
        data.load(S.DataSpec(normalize="channel_mean"))
    with pytest.raises(SpecError, match="data.standardize_target"):
        data.load(S.DataSpec(standardize_target=True))


# -- the monitor against a plain-PyTorch reference ---------------------------------------------------
def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Linear(6, 5), nn.Sigmoid(), nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 1))


def test_statistics_match_plain_pytorch():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    x, y = torch.randn(32, 3) * 2 + 1, torch.randn(32, 1)
    acts = {}
    for i in (1, 3, 5):
        model[i].register_forward_hook(lambda m, a, o, i=i: acts.__setitem__(i, o.detach().clone()))
    mon = watch(model, opt, every=1)
    ref = []
    prev = [p.detach().clone() for p in model.parameters()]
    for _ in range(3):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        mon.step(loss)
        cur = [p.detach().clone() for p in model.parameters()]
        grads = [p.grad.clone() for p in model.parameters()]
        ref.append((grads, cur, prev, {k: v.clone() for k, v in acts.items()}))
        opt.step()
        prev = cur
    mon.flush()
    h = mon.history
    assert mon.layer_names == ["0", "2", "4", "6"] and mon.act_names == ["1", "3", "5"]
    for s, (grads, cur, prev, a) in enumerate(ref):
        for j in range(4):
            g = torch.cat([grads[2 * j].flatten(), grads[2 * j + 1].flatten()])
            w = torch.cat([cur[2 * j].flatten(), cur[2 * j + 1].flatten()])
            wp = torch.cat([prev[2 * j].flatten(), prev[2 * j + 1].flatten()])
            assert h.layer("grad_norm")[s, j] == pytest.approx(g.norm().item(), rel=1e-5)
            assert h.layer("grad_mean_abs")[s, j] == pytest.approx(g.abs().mean().item(), rel=1e-5)
            assert h.layer("weight_norm")[s, j] == pytest.approx(w.norm().item(), rel=1e-5)
            if s > 0:  # the update made between the previous step() and this one
                assert h.layer("update_ratio")[s, j] == pytest.approx(((w - wp).norm() / wp.norm()).item(), rel=1e-4)
        relu, sig, tanh = a[1], a[3], a[5]
        assert h.act("mean")[s, 0] == pytest.approx(relu.mean().item(), rel=1e-5)
        assert h.act("std")[s, 1] == pytest.approx(sig.std().item(), rel=1e-5)
        assert h.act("zero_frac")[s, 0] == pytest.approx((relu <= 0).float().mean().item())
        assert h.act("dead_frac")[s, 0] == pytest.approx((relu.amax(0) <= 0).float().mean().item())
        assert h.act("sat_frac")[s, 1] == pytest.approx(((sig <= 0.01) | (sig >= 0.99)).float().mean().item())
        assert h.act("sat_frac")[s, 2] == pytest.approx((tanh.abs() >= 0.99).float().mean().item())
        assert math.isnan(h.act("sat_frac")[s, 0]) and math.isnan(h.act("zero_frac")[s, 1])
        np.testing.assert_allclose(h.inputs[s, 0], x.mean(0).numpy(), rtol=1e-5)
        np.testing.assert_allclose(h.inputs[s, 1], x.std(0).numpy(), rtol=1e-5)
    mon.close()


def test_sampling_cadence_hooks_and_eval_passes():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(16, 3), torch.randn(16, 1)
    mon = watch(model, opt, every=5)
    for s in range(1, 13):
        if s == 3:  # an evaluation pass between steps must not be recorded
            model.eval()
            with torch.no_grad():
                model(x * 100)
            model.train()
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        mon.step(loss)
        opt.step()
        hooked = any(m._forward_hooks for m in model.modules())
        assert hooked == ((s + 1 - 1) % 5 == 0)  # armed only before sampled steps 6, 11
    mon.close()
    assert mon.history.stat_steps.tolist() == [1, 6, 11] and len(mon.history.loss) == 12
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


def test_misuse_gets_clear_messages():
    model = _model()
    with pytest.raises(WatchError, match="no trainable parameters"):
        watch(nn.ReLU())
    mon = watch(model)
    with pytest.raises(WatchError, match="already watched"):
        watch(model)
    with pytest.raises(WatchError, match="no gradients"):
        mon.step(torch.tensor(1.0))
    out = model(torch.randn(4, 3))
    out.sum().backward()
    with pytest.raises(WatchError, match="scalar"):
        mon.step(out)
    mon.close()
    watch(model).close()  # allowed again after close()


def test_history_stays_bounded_on_long_runs():
    model = nn.Sequential(nn.Linear(2, 2))
    mon = watch(model, every=1, flush_every=10, max_rows=50)
    x = torch.randn(4, 2)
    for _ in range(300):
        model.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        mon.step(loss)
    mon.close()
    st = mon.history.stat_steps
    assert len(st) <= 50 and st[0] == 1 and st[-1] > 250 and len(mon.history.loss) == 300


# -- runs on disk ------------------------------------------------------------------------------------
TINY = {"data": {"n_samples": 200}, "model": {"hidden": [8]},
        "train": {"epochs": 3, "optimizer": "sgd", "lr": 0.1, "stats_every": 2}}


def test_run_directory_contents(tmp_path):
    r = train(S.validate(TINY), runs_dir=tmp_path, progress="none")
    d = r.run_dir
    assert json.loads((d / "spec.json").read_text())["train"]["lr"] == 0.1
    lines = (d / "steps.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["type"] == "header" and len(lines) == 1 + r.steps
    assert len((d / "epochs.jsonl").read_text().splitlines()) == 3
    summary = json.loads((d / "summary.json").read_text())
    assert summary["status"] == "ok" and summary["steps"] == r.steps == 12
    state = torch.load(d / "model.pt", weights_only=True)
    r.model.load_state_dict(state)
    back = Run(d)
    np.testing.assert_allclose(back.history.loss, r.history.loss)
    np.testing.assert_allclose(back.history.layer("grad_norm"), r.history.layer("grad_norm"))


def test_same_spec_same_losses_and_distinct_dirs(tmp_path):
    a = train(S.validate(TINY), runs_dir=tmp_path, progress="none")
    b = train(S.validate(TINY), runs_dir=tmp_path, progress="none")
    np.testing.assert_array_equal(a.history.loss, b.history.loss)
    assert a.run_dir != b.run_dir
    assert new_run_dir(tmp_path, "x") != new_run_dir(tmp_path, "x")


def test_nan_stops_cleanly_and_keeps_records(tmp_path):
    r = train(S.validate({"data": {"dataset": "regression"},
                          "model": {"hidden": [25], "activation": "relu", "init": "he_uniform"},
                          "train": {"optimizer": "momentum", "lr": 0.01, "epochs": 100, "stats_every": 1}}),
              runs_dir=tmp_path, progress="none")
    assert r.status == "non_finite" and r.non_finite["step"] == r.steps
    assert r.non_finite["nonfinite_gradients"]  # where: the layers whose gradients went non-finite
    lines = (r.run_dir / "steps.jsonl").read_text().splitlines()
    assert len(lines) == 1 + r.steps
    assert json.loads((r.run_dir / "summary.json").read_text())["non_finite"]["step"] == r.steps
    # a run killed mid-write leaves a partial last line: the reader keeps the rest
    with open(r.run_dir / "steps.jsonl", "a") as f:
        f.write('{"step": 99, "lo')
    assert len(Run(r.run_dir).history.loss) == r.steps
