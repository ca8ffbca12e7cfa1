"""Seed 000 and seed 002 §7.6: raw, centered, standardized and min-max inputs.

A two-class table whose six features live on scales from 0.01 to 1000 (and means up to 2000) is
written as a CSV into the study directory and read back through the spec (``dataset=<csv>``), so
the four runs are the system's normal input; only ``normalize`` differs between them.
"""

from __future__ import annotations

import csv
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from sklearn.datasets import make_classification

from gradmedic.experiments import Experiment, finish, print_table, run_section, study_dir, train_all, train_loss_png
from gradmedic.show.report import Section
from gradmedic.spec import Spec, validate

SCALES = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)  # feature j is multiplied by SCALES[j] ...
SHIFTS = (0.0, 5.0, -3.0, 50.0, 200.0, 2000.0)  # ... and moved by SHIFTS[j]
TARGET = 0.4  # train loss that counts as "learned" (chance is ln 2 = 0.69; standardized ends near 0.15)
METHODS = ("none", "center", "standard", "minmax")

EXPECTED = (
    "Six features on scales 0.01 to 1000 (means up to 2000), one net (ReLU 32-32, He init) and one optimizer "
    "(SGD, momentum 0.9, lr 0.01, seed 004's): raw inputs make the first updates so large that the net ends at "
    "chance with dead ReLUs (train loss >= 0.6, ln 2 = 0.69; on seeds 2 and 3 it becomes NaN instead) and the doctor "
    "reports unscaled_inputs; centering alone leaves the "
    f"scales and does not fix it (ends above 2x the standardized loss); standardized and min-max inputs reach train "
    f"loss {TARGET} within the epochs, end below half the raw loss, and the doctor finds nothing wrong with them.")


def write_dataset(path: str | Path, n_samples: int = 1000, seed: int = 1) -> Path:
    """``make_classification`` (4 informative of 6 features), each feature rescaled and shifted: a CSV
    with columns x0..x5 and label."""
    x, y = make_classification(n_samples=n_samples, n_features=len(SCALES), n_informative=4, n_redundant=0,
                               random_state=seed)
    x = x * np.array(SCALES) + np.array(SHIFTS)
    path = Path(path)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow([f"x{i}" for i in range(len(SCALES))] + ["label"])
        for row, label in zip(x, y, strict=True):
            w.writerow([f"{v:.7g}" for v in row] + [int(label)])
    return path


def normalization_specs(csv_path: str | Path, epochs: int = 40, seed: int = 0) -> dict[str, Spec]:
    return {m: validate({"name": f"normalize-{m}",
                         "data": {"dataset": str(csv_path), "normalize": m},
                         "model": {"hidden": [32, 32], "activation": "relu", "init": "he_uniform"},
                         "train": {"optimizer": "momentum", "lr": 0.01, "momentum": 0.9, "batch_size": 32,
                                   "epochs": epochs, "seed": seed, "stats_every": 10}})
            for m in METHODS}


def epochs_to(result: Any, target: float) -> int | None:
    """First epoch whose train loss is below ``target`` (None: never)."""
    return next((e["epoch"] for e in result.epochs if math.isfinite(e["train_loss"]) and e["train_loss"] < target), None)


def run(runs_dir: str | Path | None = "runs", console: Console | None = None, size: str = "full",
        seed: int = 0) -> dict[str, Any]:
    console = console or Console()
    epochs = 40 if size == "full" else 20
    console.print("[bold]input normalization[/bold] (seed 000; seed 002 §7.6): the same net and optimizer on raw, "
                  f"centered, standardized and min-max scaled inputs.\nExpected: {EXPECTED}")
    out = study_dir(runs_dir, "normalization")
    data_dir = out if out is not None else Path(tempfile.mkdtemp(prefix="gradmedic-normalization-"))
    csv_path = write_dataset(data_dir / "scales.csv")
    results = train_all(normalization_specs(csv_path, epochs, seed), out, console)
    sums = {k: r.summary() for k, r in results.items()}
    rows = [["normalize", *METHODS],
            ["status", *(sums[m]["status"] for m in METHODS)],
            ["train loss, epoch 1", *(results[m].epochs[0]["train_loss"] if results[m].epochs else None for m in METHODS)],
            [f"train loss, epoch {epochs}", *(sums[m]["train_loss"] for m in METHODS)],
            [f"epochs to loss < {TARGET}", *(epochs_to(results[m], TARGET) or f"> {epochs}" for m in METHODS)],
            ["test accuracy", *(sums[m]["test_metric"] for m in METHODS)],
            ["first/last grad ratio", *(sums[m]["first_to_last_grad_ratio"] for m in METHODS)],
            ["doctor", *(", ".join(sorted(results[m].diagnosis.problems)) or "healthy" for m in METHODS)]]
    print_table(rows, console, "seed 002 §7.6: input normalization (SGD momentum, features on scales 0.01-1000)")

    loss = {m: sums[m]["train_loss"] if sums[m]["train_loss"] is not None else math.inf for m in METHODS}
    loss = {m: v if math.isfinite(v) else math.inf for m, v in loss.items()}
    checks = {
        # 0.6: within 15% of chance (ln 2 = 0.693): the raw net has learned next to nothing.
        "raw inputs end near chance or NaN (train loss >= 0.6)": loss["none"] >= 0.6,
        "the doctor reports unscaled_inputs on raw inputs": "unscaled_inputs" in results["none"].diagnosis.problems,
        "centering alone does not fix it (ends above 2x standardized)": loss["center"] > 2 * loss["standard"],
        f"standardized and min-max reach train loss {TARGET}":
            all(epochs_to(results[m], TARGET) is not None for m in ("standard", "minmax")),
        "standardized and min-max end below half the raw loss": all(loss[m] < 0.5 * loss["none"] for m in ("standard", "minmax")),
        "the doctor finds nothing wrong with standardized or min-max inputs":
            not results["standard"].diagnosis.problems and not results["minmax"].diagnosis.problems,
    }
    images = []
    if out is not None:
        images.append(train_loss_png(
            results, out / "loss_curves.png",
            f"raw inputs end at {loss['none']:.3g} (chance 0.693), standardized at {loss['standard']:.3g}, "
            f"min-max at {loss['minmax']:.3g}",
            f"{csv_path.name}: 6 features, scales {SCALES[0]:g}-{SCALES[-1]:g}; ReLU 32-32 He, SGD momentum 0.9 lr 0.01, "
            f"{epochs} epochs, seed {seed}", reference=results["standard"].monitor.reference_loss))
    text = (f"Features x0..x5 of {csv_path.name} are make_classification's scaled by {', '.join(f'{s:g}' for s in SCALES)} "
            f"and shifted by {', '.join(f'{s:g}' for s in SHIFTS)}. Each run reads it with dataset={csv_path}.")
    sections = [Section("Loss curves and the doctor's verdicts", text, images=images, table=rows)]
    if out is not None and size == "full":
        sections += [run_section(f"normalize = {m}", r, light=True) for m, r in results.items()]
    return finish("normalization", EXPECTED, checks, console, out, sections, runs=sums, dataset=str(csv_path),
                  diagnoses={k: sorted(r.diagnosis.problems) for k, r in results.items()},
                  epochs_to_target={m: epochs_to(results[m], TARGET) for m in METHODS})


EXPERIMENT = Experiment("normalization", "raw, centered, standardized and min-max inputs on features of very different "
                        "scales (seed 000, seed 002 §7.6)", EXPECTED, run)
