"""Overhead of the doctor on a small GPT (nanoGPT-like: 3 layers of 64, 4 heads, block 64, vocab 65)
and on the reference MLP, measured side by side in one run.

Each round runs the plain loop and the watched loop (``gradmedic.watch(model, opt)``, default
settings: statistics every 25 steps) for the same number of steps, alternating which goes first;
the table gives the MEAN and the median time per step over all rounds and their ratio to the plain
loop.  The mean is the figure that counts: the median hides the sampled steps, which are where the
statistics are computed.

    python bench/gpt_overhead.py [--steps 200] [--rounds 5] [--threads 2] [--clock wall|cpu] [--mode rounds|lockstep]
                                 [--baseline DIR]

``--mode lockstep`` builds both loops in one process and runs one step of each in turn (which goes
first alternates), so that a change of the machine's load between rounds cannot favour either.

``--baseline DIR`` adds a third loop watched by another copy of gradmedic (``DIR/gradmedic``, e.g. the
last commit's: ``git archive HEAD gradmedic | tar -x -C DIR``), run in the same lockstep, so that a
change to the monitor is measured before and after in one run, under the same load.

``--clock cpu`` times each step by the CPU time of the training thread (``time.thread_time``) instead
of the wall clock: on a shared, oversubscribed machine the wall clock mostly measures when the
scheduler let the process run (a preempted step counts 10x, and one such step moves the mean by
several percent), while the CPU time measures the work.  Use it with ``--threads 1``, where the
training thread does all the work (with more threads the others' time is not counted).
"""

from __future__ import annotations

import argparse
import importlib.util
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


BASELINE = None  # another copy of gradmedic (--baseline), imported as gradmedic_baseline


def load_baseline(root: str):
    """``root/gradmedic`` imported under another name, next to this checkout's gradmedic."""
    pkg = Path(root) / "gradmedic"
    spec = importlib.util.spec_from_file_location("gradmedic_baseline", pkg / "__init__.py",
                                                  submodule_search_locations=[str(pkg)])
    mod = importlib.util.module_from_spec(spec)
    sys.modules["gradmedic_baseline"] = mod
    spec.loader.exec_module(mod)
    return mod


def loop(kind: str, watched: bool | str):
    """One training loop as a generator: each next() runs one step (the last one also closes the monitor).
    ``watched``: False, True (this gradmedic) or "baseline" (the --baseline copy)."""
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
    mon = (BASELINE if watched == "baseline" else gradmedic).watch(model, opt) if watched else None
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


def lockstep(kind: str, steps: int, clock=time.perf_counter, first: int = 0) -> dict:
    """The plain and the watched loop (and the --baseline one) in one process, one step of each in turn
    (which goes first rotates): a change of the machine's load hits all alike, so the ratio holds on a
    noisy machine.  ``first``: which loop steps, and so is built, first (where each loop's memory lies
    differs with the order, by 1-2% of a step on the machine measured: rotate it over rounds)."""
    variants = [False, True] + (["baseline"] if BASELINE is not None else [])
    its = {v: loop(kind, v) for v in variants}
    times = {v: [] for v in variants}
    for i in range(steps):  # (a loop builds its model at its first step: the first to step is built first)
        k = (i + first) % len(variants)  # each variant goes first in turn
        for watched in variants[k:] + variants[:k]:
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
    ap.add_argument("--models", default="mlp,gpt", help="which models, comma-separated (default mlp,gpt)")
    ap.add_argument("--baseline", metavar="DIR", help="also a loop watched by DIR/gradmedic (lockstep mode only)")
    a = ap.parse_args()
    if a.baseline:
        if a.mode != "lockstep":
            raise SystemExit("--baseline needs --mode lockstep")
        global BASELINE
        BASELINE = load_baseline(a.baseline)
    clock = time.thread_time if a.clock == "cpu" else time.perf_counter
    if a.clock == "cpu" and a.threads != 1:
        print("note: --clock cpu counts only the training thread's time: use --threads 1")
    if a.steps < 26 or a.rounds < 1:
        raise SystemExit("--steps must be >= 26 (one sampled step past the first) and --rounds >= 1")
    torch.set_num_threads(a.threads)
    print(f"{a.steps} steps x {a.rounds} rounds ({a.mode}), {a.threads} thread(s), {a.clock} clock")
    print(f"{'model':5} {'variant':9} {'mean ms/step':>12} {'ratio':>6} {'median ms':>10} {'ratio':>6}")
    for kind in a.models.split(","):
        run(kind, False, 20)  # warm-up
        variants = [False, True] + (["baseline"] if BASELINE is not None else [])
        t = {v: [] for v in variants}
        for r in range(a.rounds):
            if a.mode == "lockstep":
                for watched, ts in lockstep(kind, a.steps, clock, first=r % len(variants)).items():
                    t[watched] += ts[5:]  # the first steps warm the allocator
                continue
            for watched in ((False, True) if r % 2 == 0 else (True, False)):
                t[watched] += run(kind, watched, a.steps, clock)[5:]
        base_mean, base_med = statistics.fmean(t[False]), statistics.median(t[False])
        for watched in variants:
            mean, med = statistics.fmean(t[watched]), statistics.median(t[watched])
            name = {False: "plain", True: "watched", "baseline": "baseline"}[watched]
            print(f"{kind:5} {name:9} {mean * 1e3:12.3f} {mean / base_mean:6.3f} {med * 1e3:10.3f} "
                  f"{med / base_med:6.3f}")
    print("target: watched/plain mean <= 1.03 (MLP) and <= 1.05 (GPT)")


if __name__ == "__main__":
    main()
