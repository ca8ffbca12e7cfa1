"""Pruners compared on three search problems: no pruning, MedianPruner, Hyperband, and the doctor.

Each (problem, seed) is searched four times with the same budget of trials and the same random sampler
seed, so every pruner sees the same sequence of trial parameters: trial k trains the same network the
same way whoever prunes it (one intra-op thread, fixed seeds), and only where a trial is stopped
differs.  The unpruned search gives each trial's full value; a pruner "reaches the unpruned best" when
its best completed trial scores the same.

    nice -n 10 .venv/bin/python bench/tune_pruners.py --seeds 3 --trials 12 [--json out.json]

Printed per problem and pruner, over seeds: best value found (mean, median), steps trained (mean,
median), wall seconds (mean, median), how many seeds reached the unpruned best, and the steps trained
until the search first completed a trial scoring that best (mean over the seeds that reached it).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gradmedic import spec as spec_mod  # noqa: E402
from gradmedic.tune import tune  # noqa: E402

PRUNERS = ("none", "median", "hyperband", "doctor")

# Seed 004's circles net (minmax inputs, SGD with momentum, N(0, 1) weights when init=normal), with the
# activation and init searched: sigmoid with N(0, 1) vanishes, ReLU with N(0, 1) can die, He/Glorot learn.
CIRCLES = ({"name": "circles", "data": {"dataset": "circles", "normalize": "minmax"},
            "model": {"hidden": [16, 16, 16, 16], "init_std": 1.0},
            "train": {"optimizer": "momentum", "epochs": 20, "batch_size": 32, "seed": 1, "stats_every": 10}},
           {"activation": ["sigmoid", "tanh", "relu", "elu"], "init": ["normal", "glorot_uniform", "he_uniform", "default"],
            "lr": {"low": 1e-3, "high": 0.3, "log": True}})
# A deep ReLU net: past lr ~0.3 its updates throw the weights away (NaN, exploding gradients, dead units).
DEEP = ({"name": "deep", "data": {"dataset": "moons", "normalize": "standard", "noise": 0.2},
         "model": {"hidden": [32] * 8, "activation": "relu", "init": "he_uniform"},
         "train": {"optimizer": "momentum", "epochs": 15, "batch_size": 32, "seed": 1, "stats_every": 10}},
        {"lr": {"low": 1e-3, "high": 3.0, "log": True}, "momentum": {"low": 0.5, "high": 0.99}})
# Digits (8x8) with an MLP and Adam: the top of the rate range kills units or diverges.
DIGITS = ({"name": "digits", "data": {"dataset": "digits", "normalize": "standard"},
           "model": {"hidden": [64, 64], "activation": "relu"},
           "train": {"optimizer": "adam", "epochs": 10, "batch_size": 32, "seed": 1, "stats_every": 10}},
          {"lr": {"low": 1e-4, "high": 0.3, "log": True}, "beta1": {"low": 0.8, "high": 0.99},
           "hidden_units": {"low": 16, "high": 128, "log": True}})
PROBLEMS = {"circles": CIRCLES, "deep": DEEP, "digits": DIGITS}


def run_one(problem: str, seed: int, pruner: str, trials: int, root: Path) -> dict:
    raw, space = PROBLEMS[problem]
    spec = spec_mod.validate(raw)
    t0 = time.perf_counter()
    res = tune(spec, trials, space=space, pruner=pruner, sampler="random", seed=seed, runs_dir=root,
               study=f"{problem}-{pruner}-s{seed}", quiet=True, report=False)
    wall = time.perf_counter() - t0
    return {"problem": problem, "seed": seed, "pruner": pruner, "wall": wall, "steps": res.steps,
            "best": res.best["value"] if res.best else None,
            "trials": [{"number": t["number"], "state": t["state"], "value": t["value"], "steps": t["steps"],
                        "pruned_by": t["pruned_by"], "problem": t["problem"], "params": t["params"]} for t in res.trials]}


def steps_to(run: dict, target: float) -> int | None:
    """Steps trained until the search completed a trial scoring ``target`` (trials in order: one worker)."""
    total = 0
    for t in sorted(run["trials"], key=lambda t: t["number"]):
        total += t["steps"] or 0
        if t["state"] == "COMPLETE" and t["value"] is not None and t["value"] >= target - 1e-9:
            return total
    return None


def _mm(xs: list[float], fmt: str) -> str:
    xs = [x for x in xs if x is not None]
    if not xs:
        return "-"
    return f"{format(statistics.mean(xs), fmt)} / {format(statistics.median(xs), fmt)}"


def table(runs: list[dict]) -> str:
    lines = ["| problem | pruner | best value (mean / median) | steps trained (mean / median) | wall s (mean / median) "
             "| reached unpruned best | steps to it (mean) | pruned (by whom) |",
             "|---|---|---|---|---|---|---|---|"]
    for problem in dict.fromkeys(r["problem"] for r in runs):
        base = {r["seed"]: r["best"] for r in runs if r["problem"] == problem and r["pruner"] == "none"}
        for pruner in PRUNERS:
            mine = [r for r in runs if r["problem"] == problem and r["pruner"] == pruner]
            if not mine:
                continue
            reach = [steps_to(r, base[r["seed"]]) for r in mine if base.get(r["seed"]) is not None]
            got = [s for s in reach if s is not None]
            who: dict[str, int] = {}
            for r in mine:
                for t in r["trials"]:
                    if t["state"] == "PRUNED":
                        k = t["pruned_by"] + (f": {t['problem']}" if t["problem"] else "")
                        who[k] = who.get(k, 0) + 1
            lines.append(f"| {problem} | {pruner} | {_mm([r['best'] for r in mine], '.3f')} | "
                         f"{_mm([r['steps'] for r in mine], '.0f')} | {_mm([r['wall'] for r in mine], '.1f')} | "
                         f"{len(got)}/{len(mine)} | {statistics.mean(got):.0f} | " if got else
                         f"| {problem} | {pruner} | {_mm([r['best'] for r in mine], '.3f')} | "
                         f"{_mm([r['steps'] for r in mine], '.0f')} | {_mm([r['wall'] for r in mine], '.1f')} | "
                         f"0/{len(mine)} | - | ")
            lines[-1] += (", ".join(f"{k} {v}" for k, v in sorted(who.items(), key=lambda kv: -kv[1])) or "-") + " |"
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--trials", type=int, default=12)
    ap.add_argument("--problems", default=",".join(PROBLEMS))
    ap.add_argument("--json", type=Path, default=None, help="also write every run here")
    args = ap.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        # the first training in a process pays for lazy imports (torch._dynamo, ~seconds on a busy core): not a pruner's cost
        run_one("circles", 99, "none", 1, Path(tmp))
        for problem in args.problems.split(","):
            for seed in range(args.seeds):
                for pruner in PRUNERS:
                    r = run_one(problem, seed, pruner, args.trials, Path(tmp))
                    runs.append(r)
                    print(f"{problem} seed {seed} {pruner:9s} best {r['best']} steps {r['steps']} wall {r['wall']:.1f} s",
                          file=sys.stderr, flush=True)
                if args.json:
                    args.json.write_text(json.dumps(runs, indent=1))
    print(f"{args.trials} trials per search, random sampler (same seed for every pruner), seeds 0..{args.seeds - 1}\n")
    print(table(runs))


if __name__ == "__main__":
    main()
