"""Overhead of the doctor on a small GPT (nanoGPT-like: 3 layers of 64, 4 heads, block 64, vocab 65)
and on the reference MLP, measured side by side in one run.

Each round runs the plain loop and the watched loop (``gradmedic.watch(model, opt)``, default
settings: statistics every 25 steps) for the same number of steps, alternating which goes first;
the table gives the MEAN and the median time per step over all rounds and their ratio to the plain
loop.  The mean is the figure that counts: the median hides the sampled steps, which are where the
statistics are computed.

    python bench/gpt_overhead.py [--steps 200] [--rounds 5] [--threads 2] [--clock wall|cpu] [--mode rounds|lockstep]

``--mode lockstep`` builds both loops in one process and runs one step of each in turn (which goes
first alternates), so that a change of the machine's load between rounds cannot favour either.

``--clock cpu`` times each step by the CPU time of the training thread (``time.thread_time``) instead
of the wall clock: on a shared, oversubscribed machine the wall clock mostly measures when the
scheduler let the process run (a preempted step counts 10x, and one such step moves the mean by
several percent), while the CPU time measures the work.  Use it with ``--threads 1``, where the
training thread does all the work (with more threads the others' time is not counted).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import gradmedic

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from char_gpt import GPT  # noqa: E402  (one definition of the small GPT)


def mlp():
    layers, w = [], 64
    for _ in range(8):
        layers += [nn.Linear(w, 256), nn.ReLU()]
        w = 256
    return nn.Sequential(*layers, nn.Linear(256, 10))


def loop(kind: str, watched: bool):
    """One training loop as a generator: each next() runs one step (the last one also closes the monitor)."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    if kind == "gpt":
        model = GPT(65)  # examples/char_gpt.py's nanoGPT-like model: 3 layers of 64, 4 heads, block 64, tied
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        batches = [torch.randint(0, 65, (16, 65), generator=g) for _ in range(8)]
        loss_of = lambda b: F.cross_entropy(model(b[:, :-1]).reshape(-1, 65), b[:, 1:].reshape(-1))  # noqa: E731
    else:
        model = mlp()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        xs = [(torch.randn(128, 64, generator=g), torch.randint(0, 10, (128,), generator=g)) for _ in range(8)]
        batches = xs
        loss_of = lambda b: F.cross_entropy(model(b[0]), b[1])  # noqa: E731
    mon = gradmedic.watch(model, opt) if watched else None
    i = 0
    while True:
        opt.zero_grad(set_to_none=True)
        loss = loss_of(batches[i % len(batches)])
        loss.backward()
        if mon:
            mon.step(loss)
        opt.step()
        i += 1
        yield mon


def run(kind: str, watched: bool, steps: int, clock=time.perf_counter) -> list[float]:
    """``steps`` steps of one loop, each timed; the final flush (close) is charged to the last step."""
    it, times = loop(kind, watched), []
    for i in range(steps):
        t0 = clock()
        mon = next(it)
        if mon is not None and i == steps - 1:
            mon.close()
        times.append(clock() - t0)
    return times


def lockstep(kind: str, steps: int, clock=time.perf_counter, watched_first: bool = False) -> dict[bool, list[float]]:
    """The plain and the watched loop in one process, one step of each in turn (which goes first
    alternates): a change of the machine's load hits both alike, so the ratio holds on a noisy machine.
    ``watched_first``: build the watched loop first (where each loop's memory lies differs with the
    order, by 1-2% of a step on the machine measured: alternate it over rounds)."""
    its = {False: loop(kind, False), True: loop(kind, True)}
    times = {False: [], True: []}
    for i in range(steps):  # (a loop builds its model at its first step: the first to step is built first)
        for watched in ((False, True) if (i + watched_first) % 2 == 0 else (True, False)):
            t0 = clock()
            mon = next(its[watched])
            if mon is not None and i == steps - 1:
                mon.close()
            times[watched].append(clock() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=200, help="steps per run (default 200)")
    ap.add_argument("--rounds", type=int, default=5, help="alternating rounds of plain and watched (default 5)")
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    ap.add_argument("--mode", choices=["rounds", "lockstep"], default="rounds",
                    help="rounds: whole runs of each loop in turn; lockstep: both loops in one process, a step of each in turn")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="wall: time.perf_counter; cpu: the training thread's CPU time (use with --threads 1)")
    a = ap.parse_args()
    clock = time.thread_time if a.clock == "cpu" else time.perf_counter
    if a.clock == "cpu" and a.threads != 1:
        print("note: --clock cpu counts only the training thread's time: use --threads 1")
    if a.steps < 26 or a.rounds < 1:
        raise SystemExit("--steps must be >= 26 (one sampled step past the first) and --rounds >= 1")
    torch.set_num_threads(a.threads)
    print(f"{a.steps} steps x {a.rounds} rounds ({a.mode}), {a.threads} thread(s), {a.clock} clock")
    print(f"{'model':5} {'variant':9} {'mean ms/step':>12} {'ratio':>6} {'median ms':>10} {'ratio':>6}")
    for kind in ("mlp", "gpt"):
        run(kind, False, 20)  # warm-up
        t = {False: [], True: []}
        for r in range(a.rounds):
            if a.mode == "lockstep":
                for watched, ts in lockstep(kind, a.steps, clock, watched_first=r % 2 == 1).items():
                    t[watched] += ts[5:]  # the first steps warm the allocator
                continue
            for watched in ((False, True) if r % 2 == 0 else (True, False)):
                t[watched] += run(kind, watched, a.steps, clock)[5:]
        base_mean, base_med = statistics.fmean(t[False]), statistics.median(t[False])
        for watched in (False, True):
            mean, med = statistics.fmean(t[watched]), statistics.median(t[watched])
            print(f"{kind:5} {'watched' if watched else 'plain':9} {mean * 1e3:12.3f} {mean / base_mean:6.3f} {med * 1e3:10.3f} "
                  f"{med / base_med:6.3f}")
    print("target: watched/plain mean <= 1.03 (MLP) and <= 1.05 (GPT)")


if __name__ == "__main__":
    main()
