"""Seeds 001, 002 §7.4 and 004: eight activation functions on one task, each with its fair init.

One 6-layer MLP on two interleaved spirals; only the activation (and the init that suits it:
Glorot for sigmoid/tanh, He for the ReLU family and maxout, LeCun normal for SELU, seed 001's
table) changes.  Loss curves and each layer's median gradient norm are drawn together.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from rich.console import Console

from gradmedic.experiments import Experiment, finish, print_table, run_section, study_dir, train_all, train_loss_png
from gradmedic.show.figures import Panel, Profile, layer_profile
from gradmedic.show.numbers import num_or_na
from gradmedic.show.report import Section
from gradmedic.spec import Spec, validate

# Seed 001's initialization table: Glorot for sigmoid/tanh (and none), He for ReLU and its variants,
# LeCun for SELU.  Maxout's pieces are linear maps followed by a max, like ReLU's: He.
INIT = {"sigmoid": "glorot_uniform", "tanh": "glorot_uniform", "relu": "he_uniform", "leaky_relu": "he_uniform",
        "prelu": "he_uniform", "elu": "he_uniform", "selu": "lecun_normal", "maxout": "he_uniform"}
RELU_FAMILY = ("relu", "leaky_relu", "prelu", "elu", "selu", "maxout")
HIDDEN = [16] * 6

EXPECTED = (
    "A 6x16 MLP on two spirals (standardized), SGD momentum 0.9 lr 0.01 (seed 004's), batch 32, each activation "
    "with its fair init: sigmoid's first layer gets the least gradient relative to its last (the smallest "
    "first/last ratio of the eight, below the doctor's 0.1) and it ends with the worst train loss, at chance "
    "(>= 0.6; ln 2 = 0.69), diagnosed vanishing_gradients; every ReLU-family net (ReLU, Leaky ReLU, PReLU, ELU, "
    "SELU, Maxout) keeps its first/last ratio within 10x and reaches test accuracy >= 0.9, as does tanh (its "
    "zero-centred output keeps the gradient flowing, seed 002 §7.4.1).")


def activation_specs(epochs: int = 30, seed: int = 0) -> dict[str, Spec]:
    return {act: validate({"name": f"act-{act}",
                           "data": {"dataset": "spirals", "normalize": "standard"},
                           "model": {"hidden": HIDDEN, "activation": act, "init": init},
                           "train": {"optimizer": "momentum", "lr": 0.01, "momentum": 0.9, "batch_size": 32,
                                     "epochs": epochs, "seed": seed, "stats_every": 10}})
            for act, init in INIT.items()}


def affine_grad_norms(result: Any) -> dict[str, float]:
    """Median gradient norm of each affine layer (Linear/Conv) in depth order: PReLU's slopes and other
    parameterized activations are left out so that runs with different activations line up by depth."""
    from gradmedic.doctor.diagnose import AFFINE_TYPES

    norms = result.layer_grad_norms()
    types = dict(zip(result.monitor.layer_names, result.monitor.layer_types, strict=True))
    return {n: v for n, v in norms.items() if types.get(n) in AFFINE_TYPES}


def run(runs_dir: str | Path | None = "runs", console: Console | None = None, size: str = "full",
        seed: int = 0) -> dict[str, Any]:
    console = console or Console()
    epochs = 30 if size == "full" else 15
    console.print("[bold]activations[/bold] (seeds 001, 002 §7.4, 004): sigmoid, tanh, ReLU, Leaky ReLU, PReLU, ELU, "
                  f"SELU and Maxout in the same deep MLP, each with its fair init.\nExpected: {EXPECTED}")
    out = study_dir(runs_dir, "activations")
    results = train_all(activation_specs(epochs, seed), out, console)
    sums = {k: r.summary() for k, r in results.items()}
    acts = list(results)
    depth = {a: list(affine_grad_norms(results[a]).values()) for a in acts}
    n_layers = max(len(v) for v in depth.values())
    table = [["", *acts], ["init", *(INIT[a] for a in acts)], ["status", *(sums[a]["status"] for a in acts)],
             ["train loss", *(sums[a]["train_loss"] for a in acts)], ["test accuracy", *(sums[a]["test_metric"] for a in acts)],
             ["doctor", *(", ".join(sorted(results[a].diagnosis.problems)) or "healthy" for a in acts)]]
    sections_at = [len(table)]
    for j in range(n_layers):
        label = f"grad L{j + 1}" if j < n_layers - 1 else f"grad L{j + 1} (out)"
        table.append([label, *(depth[a][j] if j < len(depth[a]) else None for a in acts)])
    sections_at.append(len(table))
    table.append(["first/last", *(sums[a]["first_to_last_grad_ratio"] for a in acts)])
    print_table(table, console, "seeds 001/002/004: activations (median gradient norm over training, affine layers)",
                sections_at)

    def val(v):  # NaN/None (a run that broke) compares as the worst possible value
        return v if v is not None and math.isfinite(v) else math.inf

    loss = {a: val(sums[a]["train_loss"]) for a in results}
    ratio = {a: sums[a]["first_to_last_grad_ratio"] for a in results}
    ratio = {a: r if r is not None and math.isfinite(r) else math.nan for a, r in ratio.items()}
    others = [a for a in results if a != "sigmoid"]
    checks = {
        # 0.1 is the doctor's vanishing_ratio (diagnose.Thresholds): sigmoid's derivative <= 1/4 per layer.
        "sigmoid has the smallest first/last gradient ratio, below 0.1":
            ratio["sigmoid"] < 0.1 and all(ratio["sigmoid"] < ratio[a] for a in others),
        "sigmoid ends with the worst train loss, near chance (>= 0.6)":
            loss["sigmoid"] >= 0.6 and all(loss["sigmoid"] > loss[a] for a in others),
        "the doctor reports vanishing_gradients for sigmoid": "vanishing_gradients" in results["sigmoid"].diagnosis.problems,
        # Within 10x: He/LeCun init keeps each layer's gradient variance about constant through depth.
        "every ReLU-family net keeps first/last within 10x": all(0.1 <= ratio[a] <= 10 for a in RELU_FAMILY),
        # 0.9: spirals are separable; the ReLU nets reach ~0.99, sigmoid stays at ~0.5.
        "every ReLU-family net and tanh reach test accuracy >= 0.9":
            all((sums[a]["test_metric"] or 0) >= 0.9 for a in (*RELU_FAMILY, "tanh")),
    }
    images = []
    if out is not None:
        others_loss = min(loss[a] for a in others)
        best = min(others, key=lambda a: loss[a])
        sub = f"spirals (standardized), MLP {len(HIDDEN)}x{HIDDEN[0]}, SGD momentum 0.9 lr 0.01, {epochs} epochs, seed {seed}"
        images.append(train_loss_png(
            results, out / "loss_curves.png",
            f"sigmoid stays at {loss['sigmoid']:.3g} (chance 0.693); best: {best} at {others_loss:.2g}", sub,
            reference=results["relu"].monitor.reference_loss))
        # runs matched by depth; the x labels are the first run's layer names
        names = list(affine_grad_norms(results[acts[0]]))
        profiles = [Profile(f"{a} (first/last {num_or_na(sums[a]['first_to_last_grad_ratio'])})", depth[a]) for a in acts]
        images.append(layer_profile(
            out / "grad_profile.png", [Panel("median gradient norm over training", names, profiles,
                                             xlabel="layer (input side left)")],
            f"sigmoid's first layer gets {ratio['sigmoid']:.2g}x its last layer's gradient; the ReLU family "
            f"{min(ratio[a] for a in RELU_FAMILY):.2g}-{max(ratio[a] for a in RELU_FAMILY):.2g}x", sub))
    sections = [Section("Side by side", "Final metrics, the doctor's findings and each layer's median gradient norm over "
                        "training (first layer at top).", images=images, table=table)]
    if out is not None and size == "full":
        sections += [run_section(f"{a} ({INIT[a]})", r, light=True) for a, r in results.items()]
    return finish("activations", EXPECTED, checks, console, out, sections, runs=sums,
                  diagnoses={k: sorted(r.diagnosis.problems) for k, r in results.items()})


EXPERIMENT = Experiment("activations", "sigmoid, tanh, ReLU, Leaky ReLU, PReLU, ELU, SELU, Maxout in one deep MLP, "
                        "loss and per-layer gradients (seeds 001, 002, 004)", EXPECTED, run)
