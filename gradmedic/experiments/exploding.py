"""Seed 004: exploding gradients on an unscaled regression target, fixed by clipping or by scaling the target."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from gradmedic.experiments import Experiment, finish, print_table, run_section, study_dir, train_all
from gradmedic.model import data as data_mod
from gradmedic.run.train import train
from gradmedic.show.figures import Curve, loss_curves
from gradmedic.show.numbers import num_or_na as fmt
from gradmedic.show.report import Section
from gradmedic.spec import Spec, validate

# A fixed run "works" when its test MSE is under 1% of the test target's variance (R^2 > 0.99):
# predicting the mean scores 100%, and the seed 004 tutorial's clipped runs reach ~0.1% (test MSE
# 10-27 against a variance of ~26000).  The bound is loose enough for every seed we tried (0-2).
MAX_MSE_SHARE = 0.01
# The unscaled target (std ~150) makes the first gradients ~1e4 times too large for lr 0.01: the
# tutorial's loss turns NaN within the first epoch (16 steps of 32 of 500 rows).
NAN_WITHIN_STEPS = 16

EXPECTED = ("Without a remedy the loss turns NaN within the first epoch (<= 16 steps); clipping the gradient norm "
            "to 1.0, clipping each gradient element to 5.0, or standardizing the target each keep training finite "
            "and reach a test MSE under 1% of the target's variance (in the target's original units).")

RUNS = ("no remedy", "clip_norm 1.0", "clip_value 5.0", "standardized target")


def exploding_specs(epochs: int = 100, seed: int = 0, stats_every: int = 5) -> dict[str, Spec]:
    """Seed 004: make_regression (1000 x 20, noise 0.1, random_state 1), unscaled target, first 500
    rows train; Dense(25, ReLU, He uniform) then Dense(1); SGD lr 0.01 momentum 0.9, MSE, batch 32."""
    base = {"data": {"dataset": "regression"},
            "model": {"hidden": [25], "activation": "relu", "init": "he_uniform"},
            "train": {"optimizer": "momentum", "lr": 0.01, "momentum": 0.9, "loss": "mse", "batch_size": 32,
                      "epochs": epochs, "seed": seed, "stats_every": stats_every}}
    changes = {
        "no remedy": ("plain", {}, {}),
        "clip_norm 1.0": ("clip-norm", {}, {"clip_norm": 1.0}),
        "clip_value 5.0": ("clip-value", {}, {"clip_value": 5.0}),
        "standardized target": ("standardized-target", {"standardize_target": True}, {}),
    }
    out = {}
    for label, (name, data, tr) in changes.items():
        out[label] = validate({**base, "name": f"exploding-{name}", "data": {**base["data"], **data},
                               "train": {**base["train"], **tr}})
    return out


def _row(s: dict[str, Any]) -> dict[str, Any]:
    nf = s["non_finite"] or {}
    return {"status": s["status"], "nan_step": nf.get("step"), "train_mse": s["train_metric"],
            "test_mse": s["test_metric"], "grad_norm_fc1": s["grad_norm"].get("fc1")}


def run(runs_dir: str | Path | None = "runs", console: Console | None = None, size: str = "full") -> dict[str, Any]:
    console = console or Console()
    epochs = 100 if size == "full" else 50
    # Full size repeats the study for two more weight/shuffle seeds (not recorded to disk) so the
    # checks speak for seeds 0-2, not for one lucky draw.
    extra_seeds = (1, 2) if size == "full" else ()
    console.print("[bold]exploding gradients[/bold] (seed 004): an unscaled regression target trained with SGD + "
                  f"momentum, without and with the seed's remedies.\nExpected: {EXPECTED}")
    out = study_dir(runs_dir, "exploding")
    # Per-layer statistics every 5 steps draw the 8 steps before NaN in detail; the reduced size
    # (the tests') samples every 25 and still detects NaN at its step (the loss is kept every step).
    specs = exploding_specs(epochs, 0, 5 if size == "full" else 25)
    ds = data_mod.load(specs["no remedy"].data)
    var_test = float(ds.y_test.double().var(unbiased=False))  # what predicting the test mean would score
    var_train = float(ds.y_train.double().var(unbiased=False))
    results = train_all(specs, out, console)
    seeds = {0: {k: _row(r.summary()) for k, r in results.items()}}
    for sd in extra_seeds:
        with console.status(f"seed {sd}: {len(specs)} runs"):
            seeds[sd] = {k: _row(train(s, runs_dir=None, progress="none", console=console).summary())
                         for k, s in exploding_specs(epochs, sd, 25).items()}
    sums = {k: r.summary() for k, r in results.items()}

    rows: list[list[Any]] = [["", *RUNS]]
    rows.append(["status", *(sums[k]["status"] for k in RUNS)])
    rows.append(["NaN at step", *(seeds[0][k]["nan_step"] or "-" for k in RUNS)])
    rows.append(["train MSE", *(sums[k]["train_metric"] for k in RUNS)])
    rows.append(["test MSE", *(sums[k]["test_metric"] for k in RUNS)])
    rows.append(["test MSE / Var(y_test)", *((sums[k]["test_metric"] / var_test) if sums[k]["test_metric"] is not None
                                              else None for k in RUNS)])
    rows.append(["median grad norm fc1 (before clipping)", *(sums[k]["grad_norm"]["fc1"] for k in RUNS)])
    for sd in extra_seeds:
        rows.append([f"seed {sd}: test MSE or NaN step",
                     *(f"NaN at step {seeds[sd][k]['nan_step']}" if seeds[sd][k]["status"] == "non_finite"
                       else fmt(seeds[sd][k]["test_mse"]) for k in RUNS)])
    print_table(rows, console, f"seed 004: exploding gradients (MSE in the target's units; Var(y_test) = {var_test:.0f})",
                sections=[6])

    def fixed(k: str) -> bool:
        return all(seeds[sd][k]["status"] == "ok" and seeds[sd][k]["test_mse"] < MAX_MSE_SHARE * var_test for sd in seeds)

    plain = [seeds[sd]["no remedy"] for sd in seeds]
    checks = {
        f"no remedy: loss NaN within {NAN_WITHIN_STEPS} steps (every seed)":
            all(p["status"] == "non_finite" and p["nan_step"] is not None and p["nan_step"] <= NAN_WITHIN_STEPS for p in plain),
        "clip_norm 1.0: finite, test MSE < 1% of Var(y_test)": fixed("clip_norm 1.0"),
        "clip_value 5.0: finite, test MSE < 1% of Var(y_test)": fixed("clip_value 5.0"),
        "standardized target: finite, test MSE < 1% of Var(y_test)": fixed("standardized target"),
    }
    nan_steps = {sd: seeds[sd]["no remedy"]["nan_step"] for sd in seeds}
    pngs = []
    if out is not None:
        pngs.append(loss_curves(out / "exploding_curves.png", [Curve.of(k, r) for k, r in results.items()],
                                "The unscaled target's loss turns NaN within the first epoch; each remedy trains",
                                "seed 004: make_regression 20 features, Dense(25, ReLU, He uniform), SGD 0.01 momentum 0.9",
                                epoch_label="test MSE (target units)", log=True, epoch_log=True))
    text = (f"Target variance: {var_train:.0f} (train), {var_test:.0f} (test): a constant prediction scores that MSE. "
            "The trainer reports MSE in the target's original units, also for the standardized-target run. "
            "Gradient norms are recorded before clipping: the clipped runs see large raw gradients that the clip cuts down. "
            f"Without a remedy the loss became NaN at step {', '.join(f'{v} (seed {k})' for k, v in nan_steps.items())}. "
            "The seed 004 tutorial reports train/test MSE about 5/27 (clip_norm 1.0) and 9.5/10 (clip_value 5.0) "
            "in Keras; the exact numbers depend on the seed and the framework's initial weights.")
    sections = [Section("Side by side", text, images=pngs, table=rows)]
    if size == "full":  # each run's own plots (render_all: ~1-2 s a run): the documented study, not the tests'
        sections += [run_section(label, r) for label, r in results.items()]
    return finish("exploding", EXPECTED, checks, console, out, sections, runs=sums, target_variance=var_test,
                  seeds={str(k): v for k, v in seeds.items()}, nan_steps={str(k): v for k, v in nan_steps.items()})


EXPERIMENT = Experiment("exploding", "unscaled regression target goes NaN; clip_norm, clip_value or a standardized "
                        "target fix it (seed 004)", EXPECTED, run)
