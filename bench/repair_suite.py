"""How often does ``gradmedic repair`` fix a failing training, and at what cost?

    python bench/repair_suite.py [--only NAME ...] [--budget N] [--json FILE]

Each case is a spec that really fails in one of the ways the seeds describe (the comment says how it
fails when trained as given).  For each, repair runs with the default budget; a case counts as fixed
when repair ends with a healthy attempt whose test metric beats the original's.  The cost is the
steps trained in all attempts divided by the steps of one full run (AUTOTRAINER, which retrains in
full, reports over 2 on average and fixes 97% of its buggy models).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from sklearn.datasets import make_classification

from gradmedic.repair import repair
from gradmedic.show.repair import ConsoleProgress
from gradmedic.spec import Spec, validate


def _unscaled_csv() -> Path:
    """make_classification with feature j scaled by 10^(4j/9) and shifted by 500, as a CSV in a temp dir."""
    x, y = make_classification(n_samples=1000, n_features=10, n_informative=6, random_state=3)
    x = x * np.logspace(0, 4, 10) + 500.0
    path = Path(tempfile.mkdtemp(prefix="gradmedic-repair-")) / "unscaled.csv"
    np.savetxt(path, np.c_[x, y], delimiter=",", header=",".join([f"f{i}" for i in range(10)] + ["label"]), comments="")
    return path


UNSCALED_CSV = _unscaled_csv()
CIRCLES = {"dataset": "circles", "normalize": "minmax"}
MOMENTUM = {"optimizer": "momentum", "lr": 0.01, "momentum": 0.9, "batch_size": 32}


def _spec(name: str, data: dict, model: dict, train: dict) -> Spec:
    return validate({"name": name, "data": data, "model": model, "train": {"stats_every": 10, **train}})


CASES: dict[str, Spec] = {
    # seed 004: 5x5 sigmoid with N(0, 1) weights; the first layer gets ~1/100 of the last's gradient, accuracy 0.5.
    "vanishing_sigmoid_normal1": _spec("vanishing_sigmoid_normal1", CIRCLES,
                                       {"hidden": [5] * 5, "activation": "sigmoid", "init": "normal", "init_std": 1.0},
                                       {**MOMENTUM, "epochs": 300, "seed": 1}),
    # seed 004 README: tanh with U(0, 1) weights: about 0.53 / 0.47 accuracy.
    "vanishing_tanh_uniform01": _spec("vanishing_tanh_uniform01", CIRCLES,
                                      {"hidden": [5] * 5, "activation": "tanh", "init": "uniform", "init_a": 0.0, "init_b": 1.0},
                                      {**MOMENTUM, "epochs": 200, "seed": 1}),
    # seed 004: unscaled regression target, ReLU/He, SGD momentum: NaN within the first epoch.
    "exploding_regression": _spec("exploding_regression", {"dataset": "regression"},
                                  {"hidden": [25], "activation": "relu", "init": "he_uniform"},
                                  {**MOMENTUM, "epochs": 100}),
    # seed 002 §7.5: a deep sigmoid stack with PyTorch's default init and plain SGD never leaves chance.
    "deep_sigmoid_sgd": _spec("deep_sigmoid_sgd", {"dataset": "moons", "normalize": "standard"},
                              {"hidden": [32] * 8, "activation": "sigmoid"},
                              {"optimizer": "sgd", "lr": 0.05, "batch_size": 32, "epochs": 60}),
    # seed 002 Fig. 7.6: SGD with momentum at lr 1.0 diverges to NaN within two epochs.
    "lr_far_too_high": _spec("lr_far_too_high", {"dataset": "moons", "normalize": "standard"},
                             {"hidden": [64, 64], "activation": "relu", "init": "he_uniform"},
                             {"optimizer": "momentum", "lr": 1.0, "epochs": 60}),
    # seed 002 Fig. 7.6: SGD with lr 1e-6 does not move in 60 epochs (accuracy 0.5).
    "lr_far_too_low": _spec("lr_far_too_low", {"dataset": "moons", "normalize": "standard"},
                            {"hidden": [64, 64], "activation": "relu", "init": "he_uniform"},
                            {"optimizer": "sgd", "lr": 1e-6, "epochs": 60}),
    # seed 002 §7.4.2: ReLUs with a large negative bias never fire: no gradient reaches the weights.
    "dead_relu_bias": _spec("dead_relu_bias", {"dataset": "moons", "normalize": "standard"},
                            {"hidden": [32, 32, 32], "activation": "relu", "init": "he_uniform", "bias_init": -4.0},
                            {"optimizer": "sgd", "lr": 0.05, "epochs": 60}),
    # seed 002 §7.5: constant weights: every unit of a layer computes the same function forever.
    "symmetric_constant_init": _spec("symmetric_constant_init", {"dataset": "moons", "normalize": "standard"},
                                     {"hidden": [32, 32], "activation": "tanh", "init": "constant", "init_value": 0.1},
                                     {"optimizer": "sgd", "lr": 0.05, "epochs": 60}),
    # seed 000: features on scales from 1 to 1e4 around 500 (written to a CSV): tanh saturates, accuracy ~0.65.
    "unscaled_inputs_csv": _spec("unscaled_inputs_csv", {"dataset": str(UNSCALED_CSV)},
                                 {"hidden": [32, 32], "activation": "tanh", "init": "glorot_uniform"},
                                 {"optimizer": "sgd", "lr": 0.01, "epochs": 40}),
    # He et al. 2015: 20 ReLU layers with N(0, 1) weights blow the signal up layer by layer.
    "exploding_deep_relu_normal1": _spec("exploding_deep_relu_normal1", {"dataset": "moons", "normalize": "standard"},
                                         {"hidden": [32] * 20, "activation": "relu", "init": "normal", "init_std": 1.0},
                                         {"optimizer": "sgd", "lr": 0.01, "epochs": 40}),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", default=[], help="run cases whose name contains one of these")
    ap.add_argument("--budget", type=int, default=5, help="trainings per repair (default 5, the CLI's)")
    ap.add_argument("--seeds", type=int, default=1, help="repair each case with train.seed = its seed + 0..K-1")
    ap.add_argument("--json", dest="json_out", help="also write the results to this JSON file")
    a = ap.parse_args()
    torch.set_num_threads(1)  # tiny networks: a second intra-op thread costs more than it gives
    console = Console(stderr=True)
    chosen = {k: v for k, v in CASES.items() if not a.only or any(o in k for o in a.only)}
    rows, t0 = [], time.perf_counter()
    print(f"{'case':30} {'found first':22} {'changes':48} {'before':>8} {'after':>8} {'tries':>5} {'cost':>5} {'fixed':>5}")
    runs = [(n, c, j) for n, c in chosen.items() for j in range(a.seeds)]
    for base_name, base, j in runs:
        spec = base.model_copy(update={"train": base.train.model_copy(update={"seed": base.train.seed + j})})
        name = base_name + (f"/seed{spec.train.seed}" if a.seeds > 1 else "")
        with ConsoleProgress(console, spec.name) as progress:
            r = repair(spec, budget=a.budget, runs_dir=None, on_start=progress.start, on_attempt=progress.done)
        first, last = r.attempts[0], r.attempts[-1]
        changes = " ".join(f"{k}={v}" for k, v in r.changes.items()) if r.fixed else "-"
        print(f"{name:30} {(first.finding.problem if first.finding else 'none'):22} {changes[:48]:48} "
              f"{_m(first.test_metric):>8} {_m(last.test_metric):>8} {len(r.attempts):>5} {r.cost:>5.2f} {str(r.fixed):>5}",
              flush=True)
        rows.append({"case": name, "fixed": r.fixed, "cost": r.cost, "attempts": len(r.attempts), **r.to_dict()})
    fixed = [x for x in rows if x["fixed"]]
    print(f"\nfixed {len(fixed)}/{len(rows)} ({len(fixed) / max(1, len(rows)):.0%}); cost (steps / one full run): "
          f"mean {statistics.mean(x['cost'] for x in rows):.2f}, max {max(x['cost'] for x in rows):.2f}; "
          f"{time.perf_counter() - t0:.0f} s")
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(rows, f, indent=2, default=str)


def _m(v) -> str:
    return "-" if v is None or v != v else f"{v:.3g}"


if __name__ == "__main__":
    sys.exit(main())
