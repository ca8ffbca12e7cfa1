"""A stranger's benchmark for ``gradmedic repair``: failing specs drawn at random, labelled by outcome.

    python bench/repair_stranger.py label [--draws N]        # draw specs, train them, write the labels (slow)
    python bench/repair_stranger.py [--part heldout|set|all]  # repair the failing ones: fix rate and cost
    python bench/repair_stranger.py --non-failing             # repair the others: how often it leaves them alone

The seeds' ten failure modes (``bench/repair_suite.py``) were written alongside the repair rules.  Here
specs are drawn at random over datasets, depths, widths, activations, initializations (with their scales
and biases), input normalizations, optimizers and learning rates (the optimizer's usual rate times
10^U(-4, 3)), small enough to train in a few seconds on one core.

Labels come from outcomes, not from the doctor: each drawn spec is trained in full as given, then a few
specs within the remedy vocabulary (the changes ``gradmedic.doctor.remedies`` can prescribe: the usual rate,
standardized inputs and target, the initialization fitted to the activation, ReLU/He, Adam at 1e-3,
batch normalization) are trained in full until one trains it *clearly better*: finite where the given
spec is not, or test accuracy at least 5 points higher, or test MSE at most half.  A spec counts as
failing only when such a spec exists; the benchmark is the failing specs.  They are split by draw
index: of draws 0-179, every third (index % 3 == 0) is the part the repair rules were set on and the
rest is held out; draws 180-299 were labelled later and are all held out (the rules did not change
after the first held-out score).  The labels are stored in ``bench/repair_stranger.json`` so the
repair run needs no labelling.  Runs are 400-1800 steps (40-100 epochs of 400 rows, 15-40 of digits):
the cost depends on it, since a failing attempt costs the ~100-400 steps the doctor needs to be sure.

A repaired spec counts as fixed when repair ends with a healthy attempt that beats the original
(repair's own criterion) *and* that attempt is clearly better (the rule above) than the spec as given
trained in full.  Cost: steps trained in all attempts / steps of one full run, as in the own suite.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console

from gradmedic.spec import OPTIMIZER_DEFAULT_LR, Spec, override, resolve, validate

LABELS = Path(__file__).with_name("repair_stranger.json")
SEED = 12  # the number: the random stream of the draws
ACTS = ["sigmoid", "tanh", "relu", "relu", "leaky_relu", "elu", "selu", "prelu"]
OPTS = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adam", "adamw"]
INITS = ["default", "glorot_uniform", "he_uniform", "he_normal", "lecun_normal", "orthogonal",
         "normal", "normal", "uniform", "uniform", "constant", "zeros"]


def draw(i: int, seed: int = SEED) -> Spec:
    """Draw ``i`` of the benchmark: one spec from its own random stream (so adding draws keeps the old ones).
    Another ``seed`` draws a fresh, independent set of specs (``label --seed``)."""
    rng = np.random.default_rng([seed, i])
    pick = lambda xs: xs[int(rng.integers(len(xs)))]  # noqa: E731
    dataset = pick(["circles", "moons", "blobs", "spirals", "regression", "digits"])
    data: dict[str, Any] = {"dataset": dataset, "normalize": pick(["none", "none", "standard", "minmax"]),
                            "data_seed": int(rng.integers(1, 100))}
    if dataset != "digits":
        data["n_samples"] = 800
    if dataset == "blobs":
        data["n_classes"] = int(rng.integers(3, 6))
        data["n_features"] = int(rng.integers(2, 11))
    if dataset == "regression":
        data["n_features"] = int(rng.integers(5, 21))
        data["standardize_target"] = bool(rng.random() < 0.3)
    depth = int(rng.integers(1, 9))
    width = int(pick([4, 8, 16, 32, 64, 128]))
    act = pick(ACTS)
    init = pick(INITS)
    model: dict[str, Any] = {"hidden": [width] * depth, "activation": act, "init": init}
    if init == "normal":
        model["init_std"] = float(10 ** rng.uniform(-3, 0.5))
    elif init == "uniform":
        a = float(10 ** rng.uniform(-2, 0.3))
        model["init_a"], model["init_b"] = (0.0, a) if rng.random() < 0.5 else (-a, a)
    elif init == "constant":
        model["init_value"] = float(pick([0.01, 0.1, 0.5]))
    if init != "default" and rng.random() < 0.2:
        model["bias_init"] = float(pick([-3.0, -1.0, 1.0]))
    if rng.random() < 0.1:
        model["batchnorm"] = "before"
    opt = pick(OPTS)
    lr = float(f"{OPTIMIZER_DEFAULT_LR[opt] * 10 ** rng.uniform(-4, 3):.3g}")
    # 400-1800 steps: long enough that the doctor's 100-step windows are a fraction of the run, as in real training
    epochs = int(rng.integers(15, 41)) if dataset == "digits" else int(rng.integers(40, 101))
    train = {"optimizer": opt, "lr": lr, "epochs": epochs, "batch_size": int(pick([32, 32, 64])), "stats_every": 10,
             "seed": int(rng.integers(0, 5))}
    name = f"stranger{i:03d}" if seed == SEED else f"stranger-s{seed}-{i:03d}"
    return validate({"name": name, "data": data, "model": model, "train": train})


def fitted_init(act: str) -> str:
    return "glorot_uniform" if act in ("sigmoid", "tanh") else "lecun_normal" if act == "selu" else "he_uniform"


def alternatives(spec: Spec) -> list[dict[str, Any]]:
    """Specs within the remedy vocabulary, as flat changes: the first one that trains clearly better labels
    the spec failing.  Each is a combination of changes some prescription makes."""
    s = resolve(spec)
    tidy = {"normalize": "standard", "init": fitted_init(s.model.activation), "bias_init": 0.0,
            "lr": OPTIMIZER_DEFAULT_LR[s.train.optimizer]}
    if s.data.dataset == "regression":
        tidy["standardize_target"] = True
    return [tidy,
            {**tidy, "activation": "relu", "init": "he_uniform", "optimizer": "adam", "lr": 0.001},
            {**tidy, "batchnorm": "before"} if s.model.activation != "maxout" else {**tidy, "optimizer": "adam", "lr": 0.001},
            {**tidy, "optimizer": "adam", "lr": 0.01}]


def outcome(spec: Spec) -> dict[str, Any]:
    from gradmedic.run.train import train

    t0 = time.perf_counter()
    r = train(spec, runs_dir=None, progress="none", console=Console(stderr=True, quiet=True))
    m = r.epochs[-1].get("test_metric") if r.epochs else None
    if r.status != "ok" or m is None or not math.isfinite(m):
        m = None
    return {"status": r.status, "metric": m, "name": r.metric, "steps": r.steps, "seconds": time.perf_counter() - t0}


def clearly_better(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Does outcome ``a`` train clearly better than ``b``?  Finite where b is not; else 5 accuracy points, or half the MSE."""
    if a["metric"] is None:
        return False
    if b["metric"] is None:
        return True
    return a["metric"] <= 0.5 * b["metric"] if a["name"] == "mse" else a["metric"] >= b["metric"] + 0.05


FIRST_BATCH = 180  # draws 0-179: every third set the rules; draws 180-299 were added later, all held out


def part(i: int, seed: int = SEED, as_part: str | None = None) -> str:
    """The part draw ``i`` belongs to: for the benchmark's own seed, the split by index above; a fresh seed's draws
    all belong to ``as_part`` (label --as; held out unless said otherwise)."""
    if seed != SEED:
        return as_part or "heldout"
    return "set" if i < FIRST_BATCH and i % 3 == 0 else "heldout"


def label(draws: int, start: int, labels: Path = LABELS, seed: int = SEED, as_part: str | None = None) -> None:
    rows = json.loads(labels.read_text()) if labels.exists() else []
    done = {r["index"] for r in rows}
    t0 = time.perf_counter()
    for i in range(start, start + draws):
        if i in done:
            continue
        spec = draw(i, seed)
        given = outcome(spec)
        row = {"index": i, "part": part(i, seed, as_part), "seed": seed, "spec": spec.model_dump(), "given": given,
               "failing": False, "better": None,
               "tried": []}
        for ch in alternatives(spec):
            alt = outcome(override(spec, ch))
            row["tried"].append({"change": ch, **alt})
            if clearly_better(alt, given):
                row["failing"], row["better"] = True, {"change": ch, **alt}
                break
        rows.append(row)
        nf = sum(r["failing"] for r in rows)
        # held-out draws are not shown while labelling: the rules are set without looking at them
        if row["part"] != "set":
            what = "(held out)"
        elif row["failing"]:
            what = f"{_short(spec):70} given {_m(given['metric'])} -> failing (alt {_m(row['better']['metric'])})"
        else:
            what = f"{_short(spec):70} given {_m(given['metric'])} -> not failing"
        print(f"[{i}] {what}  | failing so far {nf}/{len(rows)}, {time.perf_counter() - t0:.0f} s", flush=True)
        labels.write_text(json.dumps(sorted(rows, key=lambda r: r["index"]), indent=1))


def _short(s: Spec) -> str:
    m, t, d = s.model, s.train, s.data
    init = m.init + (f"({m.init_std:g})" if m.init == "normal" else f"({m.init_a:g},{m.init_b:g})" if m.init == "uniform" else "")
    return (f"{d.dataset}/{d.normalize} {'x'.join(map(str, m.hidden))} {m.activation} {init}"
            + (f" b{m.bias_init:g}" if m.bias_init else "") + (" bn" if m.batchnorm != "none" else "")
            + f" {t.optimizer} lr={t.lr:g} ep={t.epochs}")


def _m(v) -> str:
    return "-" if v is None or v != v else f"{v:.3g}"


def run(which: str, budget: int, json_out: str | None, only: list[int], non_failing: bool = False,
        labels: Path = LABELS) -> None:
    from gradmedic.repair import repair

    rows = [r for r in json.loads(labels.read_text()) if r["failing"] != non_failing and (which == "all" or r["part"] == which)]
    if only:
        rows = [r for r in rows if r["index"] in only]
    if non_failing:
        return false_alarms(rows, budget, which)
    out, t0 = [], time.perf_counter()
    print(f"{len(rows)} failing specs ({which}); budget {budget}")
    for k, row in enumerate(rows, 1):
        spec = validate(row["spec"])
        r = repair(spec, budget=budget, runs_dir=None)
        last = r.attempts[-1]
        after = {"metric": last.test_metric if last.status == "ok" else None, "name": last.metric_name}
        ok = r.fixed and clearly_better(after, row["given"])
        probs = ">".join((a.finding.problem if a.finding else "ok") for a in r.attempts)
        ch = " ".join(f"{k_}={v}" for k_, v in r.changes.items()) if r.fixed else "-"
        print(f"{k:3} [{row['index']:3}] {_short(spec):72} {_m(row['given']['metric']):>6} -> {_m(after['metric']):>6} "
              f"(oracle {_m(row['better']['metric']):>6})  tries {len(r.attempts)} cost {r.cost:4.2f} "
              f"{'FIXED' if ok else 'not fixed'}  {probs}  {ch}", flush=True)
        out.append({"index": row["index"], "fixed": ok, "repair_fixed": r.fixed, "cost": r.cost, "attempts": len(r.attempts),
                    "given": row["given"]["metric"], "after": after["metric"], "oracle": row["better"]["metric"],
                    "problems": probs, "changes": r.changes})
    n, fixed = len(out), sum(x["fixed"] for x in out)
    costs = [x["cost"] for x in out]
    print(f"\n{which}: fixed {fixed}/{n} ({fixed / max(1, n):.0%}); cost (steps / one full run): mean "
          f"{statistics.mean(costs):.2f}, median {statistics.median(costs):.2f}, max {max(costs):.2f}; "
          f"{time.perf_counter() - t0:.0f} s")
    if json_out:
        Path(json_out).write_text(json.dumps(out, indent=1, default=str))


def false_alarms(rows: list[dict[str, Any]], budget: int, which: str) -> None:
    """The draws no spec in the vocabulary trains clearly better: how often does repair leave them alone, and what
    does a false alarm cost?"""
    from gradmedic.repair import repair

    alone, costs, t0 = 0, [], time.perf_counter()
    print(f"{len(rows)} non-failing specs ({which}); budget {budget}")
    for k, row in enumerate(rows, 1):
        spec = validate(row["spec"])
        r = repair(spec, budget=budget, runs_dir=None)
        left = len(r.attempts) == 1
        alone += left
        costs.append(r.cost)
        probs = ">".join((a.finding.problem if a.finding else "ok") for a in r.attempts)
        print(f"{k:3} [{row['index']:3}] {_short(spec):72} {_m(row['given']['metric']):>6}  tries {len(r.attempts)} "
              f"cost {r.cost:4.2f} {'left alone' if left else 'retrained'}{' (changed)' if r.fixed else ''}  {probs}", flush=True)
    print(f"\n{which} non-failing: left alone {alone}/{len(rows)}; cost mean {statistics.mean(costs):.2f}, max {max(costs):.2f}; "
          f"{time.perf_counter() - t0:.0f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", nargs="?", default="run", choices=["run", "label"])
    ap.add_argument("--draws", type=int, default=180, help="label: how many draws (default 180)")
    ap.add_argument("--start", type=int, default=0, help="label: first draw index")
    ap.add_argument("--part", default="heldout", choices=["heldout", "set", "all"],
                    help="run: which part (default heldout)")
    ap.add_argument("--only", type=int, nargs="*", default=[], help="run: only these draw indices")
    ap.add_argument("--budget", type=int, default=5, help="run: trainings per repair (default 5, the CLI's)")
    ap.add_argument("--json", dest="json_out", help="run: also write the results to this JSON file")
    ap.add_argument("--non-failing", action="store_true",
                    help="run: repair the draws that are not failing instead (false alarms)")
    ap.add_argument("--labels", type=Path, default=LABELS, help=f"the labels file (default {LABELS.name})")
    ap.add_argument("--seed", type=int, default=SEED,
                    help=f"label: the random stream of the draws (default {SEED}, the benchmark's; another seed draws a "
                    "fresh set, e.g. to tune on more specs or to score a fresh held-out set once)")
    ap.add_argument("--as", dest="as_part", choices=["set", "heldout"],
                    help="label with a fresh --seed: the part its draws belong to (default heldout)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.command == "label":
        if a.seed != SEED and a.labels == LABELS:
            ap.error("a fresh --seed needs its own --labels file")
        label(a.draws, a.start, a.labels, a.seed, a.as_part)
    else:
        run(a.part, a.budget, a.json_out, a.only, a.non_failing, a.labels)


if __name__ == "__main__":
    sys.exit(main())
