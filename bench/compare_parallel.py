"""Parallel compare: wall time of one grid with 1 worker process against N, side by side in one run.

The grid is the issue's 2x2 x 2 seeds: seed 004's network (5 hidden layers of 5 units on circles)
with activation sigmoid/relu x init he_uniform/glorot_uniform, 2 seeds each: 8 runs.  Rounds
alternate 1 and N workers (this machine is shared and noisy, so neither setting gets all the quiet
moments), after one warm-up compare that starts the worker server (its torch import is paid once
per process, not per compare).  Prints each round, the median wall times and their ratio, and the
summed time of the runs themselves and the CPU time they got (when run time grows with N while
their CPU time does not, the workers waited for a core: other programs on a shared machine).

    python bench/compare_parallel.py [--rounds 3] [--workers 2] [--epochs 15]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from rich.console import Console

from gradmedic import spec as S
from gradmedic.compare import compare, default_workers


def grid_spec(epochs: int) -> S.Spec:
    return S.validate({"name": "bench", "data": {"dataset": "circles", "normalize": "minmax"},
                       "model": {"hidden": [5] * 5},
                       "train": {"optimizer": "adam", "lr": 0.01, "epochs": epochs, "stats_every": 10, "seed": 1}})


VARY = {"activation": ["sigmoid", "relu"], "init": ["he_uniform", "glorot_uniform"]}


def once(spec: S.Spec, workers: int, root: str) -> tuple[float, float, float, float]:
    """(wall seconds of the whole compare call, seconds of the parallel part, summed run seconds,
    summed CPU seconds of the runs)."""
    t = time.perf_counter()
    res = compare(spec, VARY, seeds=2, workers=workers, runs_dir=root)
    wall = time.perf_counter() - t
    assert all(r.status == "ok" for r in res.runs), [r.error for r in res.runs]
    return wall, res.seconds, sum(r.seconds or 0 for r in res.runs), sum(r.cpu_seconds or 0 for r in res.runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=15)
    a = ap.parse_args()
    console = Console()
    spec = grid_spec(a.epochs)
    console.print(f"2x2 grid x 2 seeds = 8 runs of {a.epochs} epochs; 1 vs {a.workers} workers; "
                  f"{default_workers()} core(s) available; {a.rounds} alternating rounds")
    with tempfile.TemporaryDirectory() as root:
        compare(grid_spec(1), {"activation": ["relu"]}, workers=1, runs_dir=root)  # warm-up: starts the server
        res: dict[int, list[tuple[float, float, float, float]]] = {1: [], a.workers: []}
        for i in range(a.rounds):
            for w in (1, a.workers) if i % 2 == 0 else (a.workers, 1):
                res[w].append(once(spec, w, root))
                wall, par, runs, cpu = res[w][-1]
                console.print(f"  round {i + 1}: {w} worker(s): {wall:6.2f} s wall ({par:6.2f} s training, "
                              f"runs summed {runs:6.2f} s, their CPU {cpu:6.2f} s)", highlight=False)
    med = {w: statistics.median(x[0] for x in v) for w, v in res.items()}
    runs = {w: statistics.median(x[2] for x in v) for w, v in res.items()}
    cpu = {w: statistics.median(x[3] for x in v) for w, v in res.items()}
    spread = {w: (min(x[0] for x in v), max(x[0] for x in v)) for w, v in res.items()}
    console.print(f"median wall: 1 worker {med[1]:.2f} s (range {spread[1][0]:.2f}-{spread[1][1]:.2f}), "
                  f"{a.workers} workers {med[a.workers]:.2f} s (range {spread[a.workers][0]:.2f}-{spread[a.workers][1]:.2f})",
                  highlight=False)
    console.print(f"speed-up 1 -> {a.workers} workers: {med[1] / med[a.workers]:.2f}x; summed run time "
                  f"{runs[1]:.1f} s -> {runs[a.workers]:.1f} s, their CPU time {cpu[1]:.1f} s -> {cpu[a.workers]:.1f} s",
                  highlight=False)
    # The same CPU time in more run time means the workers waited for a core: the machine, not compare.
    console.print(f"CPU share of the runs: {cpu[1] / runs[1]:.0%} with 1 worker, {cpu[a.workers] / runs[a.workers]:.0%} "
                  f"with {a.workers} (100% = each worker had a core of its own)", highlight=False)


if __name__ == "__main__":
    main()
