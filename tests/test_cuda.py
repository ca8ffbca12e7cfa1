"""CUDA: the monitor never synchronises the host per step, and records what it records on CPU.
Skipped where no CUDA device is present (CI has none)."""

import numpy as np
import pytest
import torch
from torch import nn

import gradmedic

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 64), nn.Sigmoid(), nn.Linear(64, 3))


def _cnn():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 4 * 4, 3))


def _train(model, x, y, steps, every, sync_check):
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    lf = nn.CrossEntropyLoss()
    mon = gradmedic.watch(model, opt, every=every, flush_every=10_000)
    try:
        for i in range(steps):
            if sync_check:
                torch.cuda.set_sync_debug_mode("error")  # any host-device synchronisation raises
            try:
                opt.zero_grad(set_to_none=False)
                loss = lf(model(x), y)
                loss.backward()
                mon.step(loss)
                opt.step()
            finally:
                torch.cuda.set_sync_debug_mode(0)
        mon.flush()
        return mon.history, mon.diagnose()
    finally:
        mon.close()


@pytest.mark.parametrize("make, shape", [(_model, (64, 16)), (_cnn, (64, 1, 8, 8))])
def test_no_host_sync_per_step(make, shape):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(*shape, generator=g).cuda()
    y = torch.randint(0, 3, (64,), generator=g).cuda()
    model = make().cuda()
    with torch.no_grad():
        model(x)  # lazy CUDA initialisation outside the checked steps
    h, d = _train(model, x, y, steps=30, every=1, sync_check=True)
    assert len(h.loss) == 30 and np.isfinite(h.layer("grad_norm")).all()


def test_cuda_records_match_cpu():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 16, generator=g), torch.randint(0, 3, (64,), generator=g)
    hc, _ = _train(_model(), x, y, steps=20, every=2, sync_check=False)
    hg, _ = _train(_model().cuda(), x.cuda(), y.cuda(), steps=20, every=2, sync_check=False)
    np.testing.assert_allclose(hg.loss, hc.loss, rtol=1e-4)
    for stat in ("grad_norm", "weight_norm", "grad_mean_abs"):
        np.testing.assert_allclose(hg.layer(stat), hc.layer(stat), rtol=1e-3)
    np.testing.assert_allclose(hg.act("mean"), hc.act("mean"), rtol=1e-3, atol=1e-5)


def test_trainer_on_cuda(tmp_path):
    from gradmedic import spec as S
    from gradmedic.train import train

    raw = {"data": {"n_samples": 200}, "model": {"hidden": [8]}, "train": {"epochs": 2, "optimizer": "sgd", "lr": 0.1}}
    cpu = train(S.validate({**raw, "train": {**raw["train"], "device": "cpu"}}), runs_dir=tmp_path, progress="none")
    gpu = train(S.validate({**raw, "train": {**raw["train"], "device": "cuda"}}), runs_dir=tmp_path, progress="none")
    assert gpu.status == "ok" and gpu.extra["device"].startswith("cuda")
    np.testing.assert_allclose(gpu.history.loss, cpu.history.loss, rtol=1e-3)
