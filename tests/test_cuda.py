"""On a CUDA device: the monitor never synchronises the host per step, records the numbers it
records on CPU, and the trainer trains on CUDA to the CPU's losses.

Skipped where no CUDA device is present (CI has none); on a GPU machine:

    python -m pytest tests/test_cuda.py -q
"""

import copy
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import gradmedic
from gradmedic import spec as S
from gradmedic.run.train import train

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

CPU = torch.device("cpu")
CUDA = torch.device("cuda")


@pytest.fixture(autouse=True)
def _exact_float32():
    """TF32 (cuDNN convolutions use it by default) differs from CPU float32 by ~1e-3: turn it off."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # newer torch prefers fp32_precision; the old flags still work
        old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.cuda.set_sync_debug_mode(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def _mlp():
    return nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 64), nn.Tanh(),
                         nn.Linear(64, 64), nn.Sigmoid(), nn.Linear(64, 5))


def _cnn():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.Conv2d(8, 16, 3, padding=1), nn.Tanh(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(16 * 4 * 4, 5))


def _data(kind, n=256):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 20, generator=g) if kind == "mlp" else torch.randn(n, 3, 8, 8, generator=g)
    return x, torch.randint(0, 5, (n,), generator=g)


def _run(kind, device, *, steps, every, flush_every=256, sync_check=False, batch=64):
    """Train ``kind`` on ``device`` (same initial weights and batches on any device), watched.

    With ``sync_check``, every step runs under ``torch.cuda.set_sync_debug_mode("error")`` (any
    host-device synchronisation raises) except the first (the first sampled step builds the
    monitor's cached index tensors, once) and the steps at which ``step()`` flushes to the host
    (every ``flush_every``-th step, since the loss is kept every step).
    """
    torch.manual_seed(0)
    model = (_mlp if kind == "mlp" else _cnn)().to(device)
    x, y = (t.to(device) for t in _data(kind))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    mon = gradmedic.watch(model, opt, every=every, flush_every=flush_every)
    for s in range(1, steps + 1):
        i = (s - 1) * batch % len(x)
        xb, yb = x[i:i + batch], y[i:i + batch]
        check = sync_check and s > 1 and s % flush_every != 0
        if check:
            torch.cuda.set_sync_debug_mode("error")
        try:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            mon.step(loss)
            opt.step()
        finally:
            if check:
                torch.cuda.set_sync_debug_mode(0)
    mon.close()
    return mon


@pytest.mark.parametrize("every", [1, 3])
@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_monitor_never_synchronises_between_flushes(kind, every):
    mon = _run(kind, CUDA, steps=40, every=every, flush_every=16, sync_check=True)
    h = mon.history
    assert mon.device.type == CUDA.type
    assert len(h.loss) == 40 and np.isfinite(h.loss).all()
    np.testing.assert_array_equal(h.stat_steps, np.arange(1, 41, every))
    assert np.isfinite(h.layer("grad_norm")).all() and np.isfinite(h.act("std")).all()
    assert h.inputs.shape[2] == (20 if kind == "mlp" else 3)
    d = mon.diagnose()  # judging may synchronise: it runs on the host, after a flush
    assert isinstance(d, gradmedic.Diagnosis)


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_statistics_on_cuda_match_cpu(kind):
    cpu = _run(kind, CPU, steps=6, every=1).history
    gpu = _run(kind, CUDA, steps=6, every=1).history
    np.testing.assert_array_equal(gpu.stat_steps, cpu.stat_steps)
    np.testing.assert_allclose(gpu.loss, cpu.loss, rtol=1e-4)
    for stat in ("grad_norm", "weight_norm"):
        np.testing.assert_allclose(gpu.layer(stat), cpu.layer(stat), rtol=1e-4, err_msg=stat)
    # The update is a difference of two float32 weight tensors ~1e3 times its size: looser.
    np.testing.assert_allclose(gpu.layer("update_ratio"), cpu.layer("update_ratio"), rtol=1e-3, atol=1e-9)
    for stat in ("mean", "std"):
        np.testing.assert_allclose(gpu.act(stat), cpu.act(stat), rtol=1e-4, atol=1e-6, err_msg=stat)
    # Shares count values on either side of a threshold: a value within rounding of it may flip.
    for stat in ("zero_frac", "sat_frac", "dead_frac"):
        np.testing.assert_allclose(gpu.act(stat), cpu.act(stat), atol=5e-3, equal_nan=True, err_msg=stat)
    np.testing.assert_allclose(gpu.inputs, cpu.inputs, rtol=1e-5, atol=1e-6)


def _spec(device, **train_kw):
    raw = {"data": {"n_samples": 200}, "model": {"hidden": [8]},
           "train": {"epochs": 2, "optimizer": "sgd", "lr": 0.1, "device": device, **train_kw}}
    return S.validate(copy.deepcopy(raw))


def test_trainer_on_cuda_gives_the_cpu_losses(tmp_path):
    c = train(_spec("cpu"), runs_dir=tmp_path / "cpu", progress="none")
    g = train(_spec("cuda"), runs_dir=tmp_path / "cuda", progress="none")
    assert c.status == g.status == "ok" and g.extra["device"].startswith("cuda")
    assert g.monitor.device.type == next(g.model.parameters()).device.type == "cuda"
    assert g.steps == c.steps > 0
    np.testing.assert_array_equal(g.history.loss_steps, c.history.loss_steps)
    np.testing.assert_allclose(g.history.loss, c.history.loss, rtol=1e-4)
    assert len(g.epochs) == len(c.epochs) == 2
    for eg, ec in zip(g.epochs, c.epochs, strict=True):
        for key in ("train_loss", "test_loss"):
            assert eg[key] == pytest.approx(ec[key], rel=1e-4), key
        for key in ("train_metric", "test_metric"):  # accuracy: one prediction at 0.5 could flip
            assert eg[key] == pytest.approx(ec[key], abs=0.011), key
    np.testing.assert_allclose(g.history.layer("grad_norm"), c.history.layer("grad_norm"), rtol=1e-4)
    assert g.run_dir is not None and any(g.run_dir.iterdir())


def test_trainer_does_not_synchronise_every_step():
    """Count the trainer's host-device synchronisations: per epoch and per flush, not per step."""
    sp = S.validate({"data": {"n_samples": 2000}, "model": {"hidden": [16, 16]},
                     "train": {"epochs": 2, "optimizer": "sgd", "lr": 0.1, "batch_size": 4,
                               "device": "cuda", "stats_every": 1}})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            r = train(sp, runs_dir=None, progress="none")
        finally:
            torch.cuda.set_sync_debug_mode(0)
    syncs = [w for w in caught if "synchroniz" in str(w.message)]
    assert r.status == "ok" and r.steps == 500
    assert syncs, "sync debug mode reported nothing: the count below would prove nothing"
    assert len(syncs) < r.steps / 4, f"{len(syncs)} synchronisations in {r.steps} steps"
