"""Seed 002 §7.5/§7.8 (Fig. 7.23/7.24), Glorot & Bengio 2010, He et al. 2015: what the initial
weights do to each layer's activations and backpropagated gradients in a 10-layer network."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

from rich.console import Console

from gradmedic.experiments import Experiment, finish, print_table, study_dir
from gradmedic.experiments._probe_core import Probe, probe, spread
from gradmedic.model import data as data_mod
from gradmedic.show.figures import Panel, Profile, histogram_grid, layer_profile
from gradmedic.show.numbers import num
from gradmedic.show.report import Section
from gradmedic.spec import Spec, validate

INITS = {  # label -> model fields
    "N(0, 0.01)": {"init": "normal", "init_std": 0.01},
    "N(0, 1)": {"init": "normal", "init_std": 1.0},
    "glorot_normal": {"init": "glorot_normal"},
    "he_normal": {"init": "he_normal"},
    "lecun_normal": {"init": "lecun_normal"},
}

# Thresholds, and why:
# N(0, 0.01) on 256 units multiplies the signal's std by ~0.01 * sqrt(256) = 0.16 per layer, so
# 9 layers after the first shrink it ~0.16^9 = 7e-8; 1e-4 is a bound no healthy network comes near.
VANISH = 1e-4
# tanh's output saturates at +-1; |a| > 0.99 means tanh'(x) < 0.02.  "Saturated" = most units there.
SAT_LEVEL, SAT_SHARE = 0.99, 0.5
# Glorot keeps the *linear* regime's variance; tanh's curvature still drains ~q^2 of it per layer
# (q <- q - 2q^2 for small q), so the std drifts down a little (measured ~2x over 10 layers) but
# stays within 3x, against 10^7 for N(0, 0.01).  He on ReLU keeps the second moment exactly in
# expectation (He et al. 2015, eq. 10); 1.5x allows finite-width noise.  Glorot on ReLU halves the
# variance per layer: 1/sqrt(2)^9 = 0.044 from layer 1 to 10, under 0.1.
TANH_GLOROT_SPREAD, RELU_HE_SPREAD, RELU_GLOROT_SHRINK = 3.0, 1.5, 0.1
# N(0, 1) changes the backpropagated gradient's scale by orders of magnitude across the layers.
UNEVEN_GRAD = 100.0

EXPECTED = ("tanh, 10 layers of 256: with N(0, 0.01) the activations' and the backpropagated gradients' std "
            "shrink layer after layer (last/first < 1e-4 for activations, first/last < 1e-4 for gradients); "
            "with N(0, 1) tanh saturates (most outputs beyond |a| > 0.99 in every layer after the first) and the "
            "gradient's scale varies > 100x across layers; Glorot keeps the activation and gradient std within "
            "3x across the layers. ReLU: He keeps the activation std within 1.5x across layers while Glorot's "
            "falls below 0.1x of its first layer by layer 10.")


def init_specs(activation: str, width: int = 256, depth: int = 10, seed: int = 0) -> dict[str, Spec]:
    """A ``depth`` x ``width`` MLP on standardized 8x8 digits (64 inputs, 10 classes), one spec per init."""
    return {label: validate({"name": f"init-{activation}-{label}",
                             "data": {"dataset": "digits", "normalize": "standard"},
                             "model": {"hidden": [width] * depth, "activation": activation, **fields},
                             "train": {"seed": seed}})
            for label, fields in INITS.items()}


def _std_table(probes: dict[str, Probe], what: str) -> list[list[Any]]:
    names = next(iter(probes.values())).names
    rows: list[list[Any]] = [["layer", *probes]]
    for j, layer in enumerate(names):
        rows.append([layer, *((p.act_std if what == "act" else p.grad_std)[j] for p in probes.values())])
    return rows


def run(runs_dir: str | Path | None = "runs", console: Console | None = None, size: str = "full") -> dict[str, Any]:
    console = console or Console()
    # Reduced: fewer inputs and narrower layers; the per-layer factors above do not depend on either
    # (0.01 * sqrt(128) = 0.11 per layer still vanishes; variance-preserving rules preserve it).
    n, width = (1000, 256) if size == "full" else (300, 128)
    console.print("[bold]initialization[/bold] (seed 002 §7.5, Fig. 7.23/7.24; Glorot & Bengio 2010; He et al. 2015): "
                  f"one forward and backward pass through a 10-layer MLP of {width} units on standardized digits, per "
                  f"init.\nExpected: {EXPECTED}")
    out = study_dir(runs_dir, "initialization")
    probes: dict[str, dict[str, Probe]] = {}
    for act in ("tanh", "relu"):
        specs = init_specs(act, width)
        data = data_mod.load(next(iter(specs.values())).data)
        probes[act] = {label: probe(spec, data, n=n) for label, spec in specs.items()}

    tables = {}
    for act in ("tanh", "relu"):
        for what, title in (("act", "activation std"), ("grad", "std of dLoss/d(activation)")):
            tables[(act, what)] = _std_table(probes[act], what)
            print_table(tables[(act, what)], console, f"{act}: {title} per layer")

    t, r = probes["tanh"], probes["relu"]
    small, big = t["N(0, 0.01)"], t["N(0, 1)"]
    sat_big = big.saturated(SAT_LEVEL)
    sat_glorot = t["glorot_normal"].saturated(SAT_LEVEL)
    relu_g = r["glorot_normal"].act_std
    measured = {
        "tanh N(0,0.01) activation std last/first": small.act_std[-1] / small.act_std[0],
        "tanh N(0,0.01) gradient std first/last": small.grad_std[0] / small.grad_std[-1],
        "tanh N(0,1) min share |a|>0.99 in layers 2-10": min(sat_big[1:]),
        "tanh glorot max share |a|>0.99": max(sat_glorot),
        "tanh N(0,1) gradient std max/min": spread(big.grad_std),
        "tanh glorot activation std max/min": spread(t["glorot_normal"].act_std),
        "tanh glorot gradient std max/min": spread(t["glorot_normal"].grad_std),
        "relu he activation std max/min": spread(r["he_normal"].act_std),
        "relu he gradient std max/min": spread(r["he_normal"].grad_std),
        "relu glorot activation std last/first": relu_g[-1] / relu_g[0],
    }
    print_table([["measured", "value"], *([k, v] for k, v in measured.items())], console, "the claims' numbers")
    decreasing = all(b < a for a, b in pairwise(small.act_std))
    checks = {
        "tanh N(0,0.01): activation std falls at every layer, last/first < 1e-4":
            decreasing and measured["tanh N(0,0.01) activation std last/first"] < VANISH,
        "tanh N(0,0.01): gradient std first/last < 1e-4": measured["tanh N(0,0.01) gradient std first/last"] < VANISH,
        "tanh N(0,1): > 50% of outputs beyond |a| > 0.99 in layers 2-10 (glorot: < 50%)":
            min(sat_big[1:]) > SAT_SHARE and max(sat_glorot) < SAT_SHARE,
        "tanh N(0,1): gradient std varies > 100x across layers": measured["tanh N(0,1) gradient std max/min"] > UNEVEN_GRAD,
        "tanh glorot: activation and gradient std within 3x across layers":
            max(measured["tanh glorot activation std max/min"], measured["tanh glorot gradient std max/min"])
            <= TANH_GLOROT_SPREAD,
        "relu he: activation std within 1.5x across layers": measured["relu he activation std max/min"] <= RELU_HE_SPREAD,
        "relu glorot: activation std at layer 10 < 0.1x layer 1": measured["relu glorot activation std last/first"]
            < RELU_GLOROT_SHRINK,
    }

    sections = []
    sub = f"10 x {width} MLP, standardized digits, {n} inputs, one forward + backward pass at initialization"
    for act in ("tanh", "relu"):
        pr = probes[act]
        imgs = []
        if out is not None:
            layers = pr["glorot_normal"].names
            # Reduced: histograms of 5 of the 10 layers (a grid of 50 small axes takes seconds to draw).
            cols = list(range(len(layers))) if size == "full" else [0, 1, 3, 6, len(layers) - 1]
            depth = [str(i) for i in range(1, len(layers) + 1)]
            imgs.append(layer_profile(out / f"init_std_{act}.png", [
                Panel("activation std", depth, [Profile(k, p.act_std) for k, p in pr.items()], xlabel="hidden layer"),
                Panel("std of dLoss/d(activation)", depth, [Profile(k, p.grad_std) for k, p in pr.items()],
                      xlabel="hidden layer"),
            ], f"{act}: the variance-preserving inits keep every layer's scale; N(0, 0.01) loses it layer by layer", sub))
            imgs.append(histogram_grid(
                out / f"init_activations_{act}.png", {k: [p.acts[j] for j in cols] for k, p in pr.items()},
                [layers[j] for j in cols],
                f"{act}: activation distributions per layer (seed 002 Fig. 7.23/7.24)", sub,
                fixed_range=(-1.0, 1.0) if act == "tanh" else None,
                titles={k: [f"std {num(p.act_std[j])}" for j in cols] for k, p in pr.items()}))
            imgs.append(histogram_grid(
                out / f"init_gradients_{act}.png", {k: [p.grads[j] for j in cols] for k, p in pr.items()},
                [layers[j] for j in cols],
                f"{act}: backpropagated gradient distributions per layer (each row on its own scale)", sub,
                titles={k: [f"std {num(p.grad_std[j])}" for j in cols] for k, p in pr.items()}))
        sections.append(Section(f"{act}: activation std per layer", "Each column one init, each row one hidden layer "
                                "(first at top).", images=imgs, table=tables[(act, "act")]))
        sections.append(Section(f"{act}: gradient std per layer", "Std of the loss gradient with respect to each "
                                "layer's output (mean cross-entropy over the batch).", table=tables[(act, "grad")]))
    sections.insert(0, Section("Measured", "", table=[["measured", "value"], *([k, v] for k, v in measured.items())]))
    result = {act: {label: {"act_std": p.act_std, "grad_std": p.grad_std, "act_mean": p.act_mean,
                            "saturated": p.saturated(SAT_LEVEL)} for label, p in probes[act].items()}
              for act in probes}
    return finish("initialization", EXPECTED, checks, console, out, sections, measured=measured, layers=result)


EXPERIMENT = Experiment("initialization", "N(0,0.01), N(0,1), Glorot, He, LeCun: per-layer activations and gradients "
                        "at init (seed 002 §7.5)", EXPECTED, run)
