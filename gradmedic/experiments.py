"""The seeds' experiments, runnable by name: each states what it expects and shows what happened."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from rich.console import Console
from rich.table import Table

from .spec import Spec, validate


@dataclass(frozen=True)
class Experiment:
    name: str
    summary: str
    run: Callable[..., dict[str, Any]]


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def side_by_side(results: dict[str, Any], console: Console, title: str) -> None:
    """One column per run: metrics, then each layer's median gradient norm (first layer at top)."""
    t = Table(title=title)
    t.add_column("")
    names = list(results)
    for n in names:
        t.add_column(n, justify="right")
    sums = {n: r.summary() for n, r in results.items()}
    metric = next(iter(sums.values()))["metric"]
    t.add_row(f"train {metric}", *(_fmt(sums[n]["train_metric"]) for n in names))
    t.add_row(f"test {metric}", *(_fmt(sums[n]["test_metric"]) for n in names))
    t.add_row("status", *(sums[n]["status"] for n in names))
    t.add_section()
    layers = list(next(iter(sums.values()))["grad_norm"])
    for layer in layers:
        t.add_row(f"grad norm {layer}", *(_fmt(sums[n]["grad_norm"].get(layer, float("nan"))) for n in names))
    t.add_section()
    t.add_row("first / last layer", *(_fmt(sums[n]["first_to_last_grad_ratio"]) for n in names))
    console.print(t)


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


def vanishing(runs_dir: str | Path | None = "runs", console: Console | None = None, epochs: int = 300) -> dict[str, Any]:
    from .train import train

    console = console or Console()
    console.print("[bold]vanishing gradients[/bold] (seed 004): a deep sigmoid MLP with N(0, 1) weights beside the "
                  "same MLP with ReLU and He init.\nExpected: sigmoid's first layer gets 20x+ less gradient than its "
                  "last and stays near chance (0.5); ReLU/He keeps layers within ~10x and reaches >= 0.8 test accuracy.")
    results = {}
    for label, spec in vanishing_specs(epochs).items():
        with console.status(f"training {label} ({epochs} epochs)"):
            results[label] = train(spec, runs_dir=runs_dir, progress="none", console=console)
    side_by_side(results, console, "seed 004: vanishing gradients (median gradient norm over training)")
    sums = {k: r.summary() for k, r in results.items()}
    sig, relu = sums["sigmoid + N(0,1)"], sums["relu + he_uniform"]
    relu_norms = [v for v in relu["grad_norm"].values()]
    spread = max(relu_norms) / min(relu_norms) if min(relu_norms) > 0 else float("inf")
    checks = {
        "sigmoid first/last <= 1/20": sig["first_to_last_grad_ratio"] <= 1 / 20,
        "sigmoid test accuracy near chance (< 0.6)": sig["test_metric"] < 0.6,
        "relu layers within 10x": spread <= 10,
        "relu test accuracy >= 0.8": relu["test_metric"] >= 0.8,
    }
    for k, ok in checks.items():
        console.print(f"  {'[green]as expected[/green]' if ok else '[red]NOT as expected[/red]'}: {k}")
    for label, r in results.items():
        if r.run_dir:
            console.print(f"  {label}: gradmedic show {r.run_dir}", highlight=False)
    return {"experiment": "vanishing", "checks": checks, "runs": sums}


EXPERIMENTS: dict[str, Experiment] = {
    "vanishing": Experiment("vanishing", "sigmoid with N(0,1) weights vs ReLU with He init on circles (seed 004)", vanishing),
}
