"""GradmedicCallback in a real Lightning fit: the same records as a plain loop on the same batches,
statistics in the Trainer's logger, the pre-clip norm, accumulation, and a diverging fit stopped."""

import csv
import math

import numpy as np
import pytest
import torch
from torch import nn

pl = pytest.importorskip("lightning.pytorch")
from gradmedic.integrations.lightning import GradmedicCallback  # noqa: E402
from gradmedic.measure.monitor import watch  # noqa: E402


class Tiny(pl.LightningModule):
    def __init__(self, lr=0.1):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 1))
        self.lr = lr

    def training_step(self, batch, batch_idx):
        x, y = batch
        return ((self.net(x) - y) ** 2).mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr, momentum=0.9)


def batches(n=8, size=16, scale=1.0):
    g = torch.Generator().manual_seed(1)
    return [(torch.randn(size, 4, generator=g), scale * torch.randn(size, 1, generator=g) + 1.0) for _ in range(n)]


def fit(cb, data, lr=0.1, max_steps=8, tmp_path=None, **trainer_kwargs):
    from lightning.pytorch.loggers import CSVLogger

    model = Tiny(lr)
    logger = CSVLogger(str(tmp_path), name="lt") if tmp_path is not None else False
    trainer = pl.Trainer(max_steps=max_steps, accelerator="cpu", devices=1, logger=logger, callbacks=[cb],
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         num_sanity_val_steps=0, log_every_n_steps=1, **trainer_kwargs)
    trainer.fit(model, train_dataloaders=torch.utils.data.DataLoader(data, batch_size=None, shuffle=False))
    return trainer, model


def plain(data, lr=0.1, steps=8, every=1, accumulate=1, clip=None):
    """The same training written by hand, watched with gradmedic.watch."""
    model = Tiny(lr)
    opt = model.configure_optimizers()
    with watch(model, opt, every=every) as mon:
        for i in range(steps):
            loss = 0.0
            for x, y in data[i * accumulate:(i + 1) * accumulate]:
                micro = model.training_step((x, y), 0) / accumulate
                micro.backward()
                loss = loss + micro.detach()
            total = torch.nn.utils.get_total_norm([p.grad for p in model.parameters()])
            mon.step(loss, grad_norm=total)
            if clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            opt.zero_grad()
    return mon


def assert_same_records(a, b):
    ha, hb = a.history, b.history
    assert a.layer_names == b.layer_names == ["net.0", "net.2", "net.4"]
    assert ha.stat_steps.tolist() == hb.stat_steps.tolist()
    np.testing.assert_allclose(ha.loss, hb.loss, rtol=1e-5)
    for stat in ("grad_norm", "weight_norm", "update_ratio"):
        np.testing.assert_allclose(ha.layer(stat), hb.layer(stat), rtol=1e-4, equal_nan=True)
    for stat in ("mean", "std", "zero_frac", "sat_frac", "dead_frac"):
        np.testing.assert_allclose(ha.act(stat), hb.act(stat), rtol=1e-4, atol=1e-7, equal_nan=True)
    np.testing.assert_allclose(ha.pre_clip_norm, hb.pre_clip_norm, rtol=1e-5)


def test_records_equal_a_plain_loop_and_reach_the_logger(tmp_path, capsys):
    data = batches()
    cb = GradmedicCallback(every=2, flush_every=3)
    trainer, _ = fit(cb, data, tmp_path=tmp_path)
    ref = plain(data, every=2)
    assert_same_records(cb.monitor, ref)
    assert cb.monitor.history.stat_steps.tolist() == [1, 3, 5, 7]
    assert cb.diagnosis is not None and cb.diagnosis.steps == 8
    assert "gradmedic:" in capsys.readouterr().out  # the diagnosis printed at the end of the fit
    # the logger got every sampled step's per-layer statistics, at the step it was recorded
    with open(trainer.logger.log_dir + "/metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if r.get("gradmedic/grad_norm/net.0")]
    assert [int(r["step"]) for r in rows] == [1, 3, 5, 7]
    np.testing.assert_allclose([float(r["gradmedic/grad_norm/net.0"]) for r in rows],
                               cb.monitor.history.layer("grad_norm")[:, 0], rtol=1e-6)
    np.testing.assert_allclose([float(r["gradmedic/act_zero_frac/net.3"]) for r in rows],
                               cb.monitor.history.act("zero_frac")[:, 1], rtol=1e-6)


def test_accumulation_and_clipping_one_record_per_optimizer_step_before_the_clip():
    data = batches(n=8)
    cb = GradmedicCallback(every=1, log=False, print_diagnosis=False)
    fit(cb, data, max_steps=4, accumulate_grad_batches=2, gradient_clip_val=0.05)
    ref = plain(data, steps=4, accumulate=2, clip=0.05)
    assert_same_records(cb.monitor, ref)
    h = cb.monitor.history
    # statistics before the clip: the total of the recorded layer norms is the pre-clip norm, above 0.05
    np.testing.assert_allclose(np.sqrt((h.layer("grad_norm") ** 2).sum(1)), h.pre_clip_norm, rtol=1e-5)
    assert (h.pre_clip_norm > 0.05).all()
    assert cb.monitor.loop_facts["clips"] == pytest.approx(0.05)
    assert cb.monitor.loop_facts["accumulation"] == 1  # one step() per optimizer step


def test_a_diverging_fit_is_stopped_with_the_reason():
    data = batches(n=40, scale=100.0)
    cb = GradmedicCallback(every=1, flush_every=4, stop_on="critical", log=False, print_diagnosis=False)
    trainer, _ = fit(cb, data, lr=5.0, max_steps=40)
    assert trainer.global_step < 40  # stopped before the end
    assert cb.stop_reason is not None and "non_finite" in cb.stop_reason
    assert "non_finite" in cb.diagnosis.problems
    assert not math.isfinite(float(cb.monitor.history.loss[-1]))


def test_a_healthy_fit_is_not_stopped():
    cb = GradmedicCallback(every=1, flush_every=4, stop_on="serious", log=False, print_diagnosis=False)
    trainer, model = fit(cb, batches(n=12), lr=0.01, max_steps=12)
    assert trainer.global_step == 12 and cb.stop_reason is None
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
