"""Overhead of watching a training loop, side by side with peers, on the reference MLP.

8 hidden Linear layers of 256 ReLU units, 64 inputs, 10 classes, batch 128, SGD with momentum,
CPU with 2 threads (or --device cuda).  Variants run interleaved in rounds (the machine is shared
and noisy); the table gives the median time per step and its ratio to the plain loop:

- plain loop
- gradmedic default: ``gradmedic.watch(model, opt)`` (statistics every 25 steps)
- gradmedic every statistic on every step: ``watch(model, opt, every=1)``
- Cockpit "economy" (cockpit-for-pytorch), if installed
- ``wandb.watch(model, log="all", log_freq=1)`` offline, if installed

    python bench/monitor_overhead.py [--steps 200] [--rounds 5] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import tracemalloc

import torch
from torch import nn

import gradmedic


def make(device):
    torch.manual_seed(0)
    layers, w = [], 64
    for _ in range(8):
        layers += [nn.Linear(w, 256), nn.ReLU()]
        w = 256
    model = nn.Sequential(*layers, nn.Linear(256, 10)).to(device)
    return model, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)


def data(device, n=8192):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, 64, generator=g).to(device), torch.randint(0, 10, (n,), generator=g).to(device)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def loop(kind, steps, device, x, y):
    model, opt = make(device)
    lf = nn.CrossEntropyLoss()
    mon = cockpit = None
    if kind == "gradmedic default":
        mon = gradmedic.watch(model, opt)
    elif kind == "gradmedic every step":
        mon = gradmedic.watch(model, opt, every=1)
    elif kind == "cockpit economy":
        import backpack
        from cockpit import Cockpit
        from cockpit.utils.configuration import configuration

        model = backpack.extend(model)
        lf = backpack.extend(nn.CrossEntropyLoss(reduction="mean"))
        indiv = backpack.extend(nn.CrossEntropyLoss(reduction="none"))
        cockpit = Cockpit(model.parameters(), quantities=configuration("economy"))
    elif kind == "wandb.watch all":
        import wandb

        run = wandb.init(mode="offline", dir=tempfile.mkdtemp(), project="gradmedic-bench", reinit=True)
        wandb.watch(model, log="all", log_freq=1)
    n = len(x)
    _sync(device)
    t0 = None
    for step in range(steps + 10):  # 10 warm-up steps
        if step == 10:
            _sync(device)
            t0 = time.perf_counter()
        i = (step * 128) % (n - 128)
        xb, yb = x[i:i + 128], y[i:i + 128]
        opt.zero_grad()
        out = model(xb)
        loss = lf(out, yb)
        if cockpit is not None:
            losses = indiv(out, yb)
            with cockpit(step, info={"batch_size": 128, "individual_losses": losses, "loss": loss, "optimizer": opt}):
                loss.backward(create_graph=cockpit.create_graph(step))
        else:
            loss.backward()
        if mon is not None:
            mon.step(loss)
        opt.step()
        if kind == "wandb.watch all":
            import wandb

            wandb.log({"loss": loss.item()})
    _sync(device)
    dt = (time.perf_counter() - t0) / steps
    if mon is not None:
        mon.close()
    if kind == "wandb.watch all":
        import wandb

        run.finish()
    return dt


def available(kind):
    try:
        if kind == "cockpit economy":
            import cockpit  # noqa: F401
        if kind == "wandb.watch all":
            import wandb  # noqa: F401
        return True
    except Exception as e:  # an optional peer: report it and go on
        return str(e).splitlines()[0][:60]


def memory_check():
    """Host memory of a long watched run stays bounded: tracemalloc growth from 2k to 20k steps."""
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    x = torch.randn(16, 4)
    mon = gradmedic.watch(model, every=1, max_rows=2000)
    tracemalloc.start()
    marks = {}
    for s in range(1, 20_001):
        model.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        mon.step(loss)
        if s in (2000, 20_000):
            mon.flush()
            marks[s] = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    rows = len(mon.history.stat_steps)
    mon.close()
    return rows, marks


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--no-memory", action="store_true")
    a = ap.parse_args()
    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("WANDB_SILENT", "true")
    torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    x, y = data(device)
    kinds = ["plain", "gradmedic default", "gradmedic every step", "cockpit economy", "wandb.watch all"]
    status = {k: (True if k.startswith(("plain", "gradmedic")) else available(k)) for k in kinds}
    times = {k: [] for k in kinds if status[k] is True}
    for _ in range(a.rounds):
        for k in times:
            times[k].append(loop(k, a.steps, device, x, y))
    name = torch.cuda.get_device_name() if device.type == "cuda" else f"CPU, {a.threads} threads"
    print(f"reference MLP 64-8x256-10 ReLU, batch 128, SGD momentum; {name}; {a.steps} steps x {a.rounds} interleaved rounds")
    print(f"{'variant':24}{'median ms/step':>16}{'ratio to plain':>16}")
    plain = statistics.median(times["plain"])
    for k in kinds:
        if status[k] is not True:
            print(f"{k:24}{'not installed (pip install -e .[bench])':>40}  [{status[k]}]")
            continue
        m = statistics.median(times[k])
        print(f"{k:24}{m * 1e3:>16.3f}{m / plain:>16.3f}")
    if not a.no_memory:
        rows, marks = memory_check()
        print(f"memory: 20,000 steps with every statistic on every step keep {rows} rows (max_rows 2000); "
              f"traced host memory {marks[2000] / 1e6:.2f} MB at step 2,000 and {marks[20_000] / 1e6:.2f} MB at step 20,000")


if __name__ == "__main__":
    main()
