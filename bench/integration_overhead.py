"""Overhead of the doctor on the small char-level GPT of ``examples/char_gpt.py``, three ways: a plain
loop (``gradmedic.watch``), Lightning (``GradmedicCallback``) and DDP with 2 processes (torchrun, gloo),
each against the same training without the doctor, default settings (statistics every 25 steps).

Runs alternate (without, with, with, without, ...); each run times every training step (forward,
backward, the doctor's step, optimizer step: start-up, the final flush and the diagnosis are not
counted) and the table gives the mean and the median time per step over all rounds and the ratio.

    python bench/integration_overhead.py [--steps 100] [--rounds 2] [--modes plain,lightning,ddp]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
import char_gpt as cg  # noqa: E402

import gradmedic  # noqa: E402


def plain(steps: int, watched: bool, rank: int = 0, ddp: bool = False) -> list[float]:
    data, chars = cg.corpus()
    model = cg.GPT(len(chars))
    if ddp:
        model = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    mon = gradmedic.watch(model, opt) if watched else None
    times = []
    for _, (x, y) in zip(range(steps), cg.batches(data, seed=rank), strict=False):  # batches() is endless; range stops it
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = cg.loss_of(model, x, y)
        loss.backward()
        if mon:
            mon.step(loss)
        opt.step()
        times.append(time.perf_counter() - t0)
    if mon:
        mon.close()
    return times


def lightning(steps: int, watched: bool) -> list[float]:
    import lightning.pytorch as pl

    from gradmedic.integrations.lightning import GradmedicCallback

    data, chars = cg.corpus()

    class Lit(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.gpt = cg.GPT(len(chars))

        def training_step(self, batch, i):
            return cg.loss_of(self.gpt, *batch)

        def configure_optimizers(self):
            return torch.optim.AdamW(self.parameters(), lr=3e-3)

    class Clock(pl.Callback):
        times: list[float] = []

        def on_train_batch_start(self, *a):
            self.t0 = time.perf_counter()

        def on_train_batch_end(self, *a):
            self.times.append(time.perf_counter() - self.t0)

    class Stream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return cg.batches(data, seed=0)

    clock = Clock()
    cbs = [clock] + ([GradmedicCallback(print_diagnosis=False)] if watched else [])
    pl.Trainer(max_steps=steps, accelerator="cpu", devices=1, logger=False, callbacks=cbs, enable_checkpointing=False,
               enable_progress_bar=False, enable_model_summary=False).fit(
            Lit(), torch.utils.data.DataLoader(Stream(), batch_size=None))
    return clock.times


def ddp(steps: int, watched: bool) -> list[float]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(port), __file__, "--worker", "--steps", str(steps)] + (["--watched"] if watched else [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"}).stdout
    return json.loads(next(ln for ln in out.splitlines() if ln.startswith("[")))


def worker(steps: int, watched: bool) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo")
    times = plain(steps, watched, dist.get_rank(), ddp=True)
    if dist.get_rank() == 0:
        print(json.dumps(times))
    dist.destroy_process_group()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--modes", default="plain,lightning,ddp")
    p.add_argument("--worker", action="store_true")
    p.add_argument("--watched", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(1)
    if a.worker:
        return worker(a.steps, a.watched)
    run = {"plain": plain, "lightning": lightning, "ddp": ddp}
    print(f"{'mode':10s} {'variant':8s} {'mean ms':>8s} {'ratio':>6s} {'median ms':>9s} {'ratio':>6s}")
    for mode in a.modes.split(","):
        t = {False: [], True: []}
        for r in range(a.rounds):
            for watched in ((False, True) if r % 2 == 0 else (True, False)):
                t[watched] += run[mode](a.steps, watched)
        base_mean, base_med = statistics.mean(t[False]) * 1e3, statistics.median(t[False]) * 1e3
        for watched in (False, True):
            mean, med = statistics.mean(t[watched]) * 1e3, statistics.median(t[watched]) * 1e3
            print(f"{mode:10s} {'doctor' if watched else 'without':8s} {mean:8.2f} {mean / base_mean:6.3f} "
                  f"{med:9.2f} {med / base_med:6.3f}", flush=True)


if __name__ == "__main__":
    main()
