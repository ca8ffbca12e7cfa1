"""Trainer overhead: gradmedic's trainer vs a plain hand-written PyTorch loop, side by side.

Both train the same tiny MLP (seed 004's 5x5 sigmoid net... here 2-5-5-5-5-5-1 with ReLU) on the
same in-memory data with the same batches, optimizer and per-epoch evaluation; the trainer also
records per-layer statistics and streams them to disk.  Runs alternate (this machine is shared and
noisy) and the ratio of median per-step times is printed.

    python bench/trainer_overhead.py [--rounds 7] [--epochs 40] [--stats-every N ...]
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time

import torch

from gradmedic import spec as S
from gradmedic.model import build, data
from gradmedic.model.optim import make_loss, make_optimizer
from gradmedic.run.train import train


def plain_loop(sp: S.Spec) -> float:
    """The loop a practitioner writes by hand; returns seconds per step."""
    sp = S.resolve(sp)
    t = sp.train
    torch.manual_seed(t.seed)
    d = data.load(sp.data)
    model = build.build(sp.model, d)
    opt = make_optimizer(model.parameters(), t)
    loss_fn = make_loss("bce")
    gen = torch.Generator().manual_seed(t.seed)
    n, bs = len(d.x_train), t.batch_size
    steps = 0
    start = time.perf_counter()
    for _ in range(t.epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for b in range(math.ceil(n / bs)):
            idx = perm[b * bs:(b + 1) * bs]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(d.x_train[idx]), d.y_train[idx])
            loss.backward()
            opt.step()
            total += loss.item()
            steps += 1
        model.eval()
        with torch.no_grad():
            for x, y in ((d.x_train, d.y_train), (d.x_test, d.y_test)):
                out = model(x)
                float(loss_fn(out, y)), float(((out > 0).float() == y).float().mean())
    return (time.perf_counter() - start) / steps


def gradmedic_loop(sp: S.Spec, runs_dir: str) -> float:
    r = train(sp, runs_dir=runs_dir, progress="none")
    return r.seconds / r.steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--stats-every", type=int, nargs="+", default=[S.TrainSpec().stats_every, 1])
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    base = {"data": {"dataset": "circles", "normalize": "minmax"},
            "model": {"hidden": [5] * 5, "activation": "relu", "init": "he_uniform"},
            "train": {"optimizer": "momentum", "lr": 0.01, "batch_size": 32, "epochs": a.epochs, "seed": 1}}
    specs = {k: S.validate({**base, "train": {**base["train"], "stats_every": k}}) for k in a.stats_every}
    times: dict[str, list[float]] = {"plain": [], **{f"gradmedic every={k}": [] for k in specs}}
    with tempfile.TemporaryDirectory() as tmp:
        gradmedic_loop(specs[a.stats_every[0]], tmp)  # warm-up: imports, allocator
        plain_loop(specs[a.stats_every[0]])
        for _ in range(a.rounds):
            times["plain"].append(plain_loop(specs[a.stats_every[0]]))
            for k, sp in specs.items():
                times[f"gradmedic every={k}"].append(gradmedic_loop(sp, tmp))
    plain = statistics.median(times["plain"])
    print(f"tiny MLP 2-5x5-1, batch 32, {a.epochs} epochs x 16 steps, {a.rounds} alternating rounds, {a.threads} thread(s)")
    print(f"{'loop':<24}{'median us/step':>16}{'ratio to plain':>16}")
    for k, v in times.items():
        m = statistics.median(v)
        print(f"{k:<24}{m * 1e6:>16.1f}{m / plain:>16.3f}")


if __name__ == "__main__":
    main()
