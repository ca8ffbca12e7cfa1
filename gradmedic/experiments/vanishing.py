"""Seed 004: vanishing gradients in a deep sigmoid MLP with N(0, 1) weights, fixed by ReLU with He init."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from gradmedic.experiments import Experiment, finish, run_section, side_by_side, study_dir, train_all
from gradmedic.show.report import Section
from gradmedic.spec import Spec, validate

EXPECTED = ("The sigmoid network's first layer gets 20x+ less gradient than its last and its accuracy stays near "
            "chance (0.5); ReLU with He init keeps the layers within ~10x of each other and reaches >= 0.8 test accuracy.")


def vanishing_specs(epochs: int = 300, seed: int = 1) -> dict[str, Spec]:
    """Seed 004: 5 hidden layers of 5 units on noisy circles (min-max to [-1, 1], first 500 rows
    train), SGD lr 0.01 with momentum 0.9, batch 32; sigmoid with N(0, 1) weights vs ReLU with He."""
    base = {"data": {"dataset": "circles", "normalize": "minmax"},
            "train": {"optimizer": "momentum", "lr": 0.01, "momentum": 0.9, "batch_size": 32, "epochs": epochs,
                      "seed": seed, "stats_every": 10}}
    sig = validate({**base, "name": "sigmoid-normal1",
                    "model": {"hidden": [5] * 5, "activation": "sigmoid", "init": "normal", "init_std": 1.0}})
    relu = validate({**base, "name": "relu-he",
                     "model": {"hidden": [5] * 5, "activation": "relu", "init": "he_uniform"}})
    return {"sigmoid + N(0,1)": sig, "relu + he_uniform": relu}


def run(runs_dir: str | Path | None = "runs", console: Console | None = None, size: str = "full") -> dict[str, Any]:
    console = console or Console()
    epochs = 300 if size == "full" else 200
    console.print("[bold]vanishing gradients[/bold] (seed 004): a deep sigmoid MLP with N(0, 1) weights beside the "
                  f"same MLP with ReLU and He init.\nExpected: {EXPECTED}")
    out = study_dir(runs_dir, "vanishing")
    results = train_all(vanishing_specs(epochs), out, console)
    table = side_by_side(results, console, "seed 004: vanishing gradients (median gradient norm over training)")
    sums = {k: r.summary() for k, r in results.items()}
    sig, relu = sums["sigmoid + N(0,1)"], sums["relu + he_uniform"]
    relu_norms = list(relu["grad_norm"].values())
    spread = max(relu_norms) / min(relu_norms) if min(relu_norms) > 0 else float("inf")
    checks = {
        "sigmoid first/last <= 1/20": sig["first_to_last_grad_ratio"] <= 1 / 20,
        "sigmoid test accuracy near chance (< 0.6)": sig["test_metric"] < 0.6,
        "relu layers within 10x": spread <= 10,
        "relu test accuracy >= 0.8": relu["test_metric"] >= 0.8,
    }
    sections = [Section("Side by side", "Median gradient norm of each layer over training.", table=table)]
    if size == "full":  # each run's own plots (~2-5 s a run): the documented study, not the tests'
        sections += [run_section(label, r) for label, r in results.items()]
    return finish("vanishing", EXPECTED, checks, console, out, sections, runs=sums)


EXPERIMENT = Experiment("vanishing", "sigmoid with N(0,1) weights vs ReLU with He init on circles (seed 004)", EXPECTED, run)
