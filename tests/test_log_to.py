"""watch(..., log_to=...): the statistics of a user's own loop reach a TensorBoard SummaryWriter, a
directory, or a wandb run at each flush, with the numbers the history holds; import gradmedic stays light."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

import gradmedic

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from torch.utils.tensorboard import SummaryWriter  # noqa: E402


def loop(log_to, steps=10, every=3, flush_every=4):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    x, y = torch.randn(32, 4), torch.randn(32, 1)
    with gradmedic.watch(model, opt, every=every, flush_every=flush_every, log_to=log_to) as mon:
        for _ in range(steps):
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            mon.step(loss)
            opt.step()
    return mon


def scalars(log_dir, tag):
    ea = EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "histograms": 0})
    ea.Reload()
    return [(e.step, e.value) for e in ea.Scalars(tag)]


def test_a_summary_writer_gets_every_flush(tmp_path):
    w = SummaryWriter(str(tmp_path / "tb"))
    w.add_scalar("mine/accuracy", 0.5, 1)  # the user's own tags live beside ours
    mon = loop(w)
    w.close()
    h = mon.history
    got = scalars(tmp_path / "tb", "gradmedic/grad_norm/0")
    assert [s for s, _ in got] == h.stat_steps.tolist() == [1, 4, 7, 10]
    np.testing.assert_allclose([v for _, v in got], h.layer("grad_norm")[:, 0], rtol=1e-6)
    loss = scalars(tmp_path / "tb", "gradmedic/loss")
    assert [s for s, _ in loss] == list(range(1, 11))
    np.testing.assert_allclose([v for _, v in loss], h.loss, rtol=1e-6)
    zero = scalars(tmp_path / "tb", "gradmedic/act_zero_frac/1")
    np.testing.assert_allclose([v for _, v in zero], h.act("zero_frac")[:, 0], rtol=1e-6)
    assert scalars(tmp_path / "tb", "mine/accuracy") == [(1, 0.5)]


def test_a_directory_and_a_wandb_run_together(tmp_path):
    class FakeRun:  # the calls a wandb Run receives (wandb is not a dependency)
        def __init__(self):
            self.metrics, self.rows = {}, []

        def define_metric(self, name, step_metric=None):
            self.metrics[name] = step_metric

        def log(self, row):
            self.rows.append(dict(row))

    run = FakeRun()
    mon = loop([str(tmp_path / "tb"), run])
    h = mon.history
    assert run.metrics["gradmedic/*"] == "gradmedic/step"
    assert [r["gradmedic/step"] for r in run.rows] == h.stat_steps.tolist()
    np.testing.assert_allclose([r["gradmedic/weight_norm/2"] for r in run.rows], h.layer("weight_norm")[:, 1], rtol=1e-6)
    np.testing.assert_allclose([r["gradmedic/loss"] for r in run.rows], h.loss[h.stat_steps - 1], rtol=1e-6)
    assert "gradmedic/update_ratio/0" not in run.rows[0]  # NaN (no update yet) is left out
    # the directory writer was closed with the monitor: its events are on disk
    assert len(scalars(tmp_path / "tb", "gradmedic/loss")) == 10


def test_bad_target_and_a_light_import():
    with pytest.raises(TypeError, match="log_to"):
        loop(object())
    code = ("import sys, gradmedic; heavy = [m for m in ('lightning', 'pytorch_lightning', 'transformers', 'wandb', "
            "'tensorboard', 'torch.utils.tensorboard') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
