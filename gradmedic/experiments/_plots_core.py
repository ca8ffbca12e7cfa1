"""Pictures for the core studies (exploding, initialization, depth, selu, batchnorm).

Same conventions as ``gradmedic/plots.py``: matplotlib Figure objects (no pyplot, Agg), its style
and colours, a title that says what the picture shows and a line under it naming the setup.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .. import plots

_COLORS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C")


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=plots.DPI)
    return path


def histogram_grid(path: Path, rows: dict[str, list[np.ndarray]], layers: list[str], title: str, subtitle: str,
                   fixed_range: tuple[float, float] | None = None, stds: dict[str, list[float]] | None = None) -> Path:
    """One row per setup, one column per layer: each layer's value histogram (seed 002 Fig. 7.23/7.24).

    ``fixed_range`` puts every panel on the same x axis (tanh outputs: [-1, 1]); otherwise each row
    shares one symmetric range set by its widest layer, so shrinking along a row stays visible."""
    nr, nc = len(rows), len(layers)
    with plots.matplotlib.rc_context(plots._STYLE):
        w, h = 1.55 * nc + 1.2, 1.25 * nr + 1.1
        fig = Figure(figsize=(w, h))
        # Fixed margins: constrained layout over 50 small axes costs seconds per figure.
        fig.subplots_adjust(left=1.0 / w, right=1 - 0.15 / w, bottom=0.75 / h, top=1 - 0.85 / h, wspace=0.15, hspace=0.45)
        axes = fig.subplots(nr, nc, squeeze=False)
        for i, (label, values) in enumerate(rows.items()):
            if fixed_range:
                lo, hi = fixed_range
            else:
                finite = [v[np.isfinite(v)] for v in values]
                half = max((np.percentile(np.abs(v), 99.5) for v in finite if v.size), default=1.0) or 1.0
                lo, hi = -half, half
            for j, v in enumerate(values):
                ax = axes[i][j]
                v = v[np.isfinite(v)]
                counts, edges = np.histogram(np.clip(v, lo, hi), bins=40, range=(lo, hi))
                ax.stairs(counts / max(1, v.size), edges, fill=True, color=_COLORS[i % len(_COLORS)], alpha=0.8)
                ax.set_xlim(lo, hi)
                ax.set_xticks([lo, 0, hi], [plots._fmt(lo), "0", plots._fmt(hi)] if j == 0 else ["", "", ""])
                ax.tick_params(labelsize=6.5)
                ax.grid(False)
                if stds is not None:
                    ax.set_title(f"std {plots._fmt(stds[label][j])}", fontsize=7.5)
                if i == nr - 1:
                    ax.set_xlabel(layers[j], fontsize=8.5)
                if j == 0:
                    ax.set_ylabel(label, fontsize=8.5)
                ax.set_yticks([])
        fig.suptitle(title, y=1 - 0.12 / h)
        fig.text(0.5, 1 - 0.45 / h, subtitle, ha="center", va="top", fontsize=8.5, color="0.35")
        return _save(fig, path)


def layer_panels(path: Path, panels: list[dict[str, Any]], title: str, subtitle: str) -> Path:
    """Side-by-side panels of a per-layer quantity (x: layer 1..L), one line per setup.

    Each panel: {"ylabel", "series": {label: [values]}, "log": bool, "band": (lo, hi) or None (a
    shaded target band, e.g. the self-normalizing fixed point), "ref": value or None}."""
    with plots.matplotlib.rc_context(plots._STYLE):
        fig = Figure(figsize=(5.2 * len(panels), 4.0), layout="constrained")
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, p in zip(axes, panels):
            for k, (label, vals) in enumerate(p["series"].items()):
                v = np.asarray(vals, dtype=float)
                if p.get("log"):
                    v = np.where(v > 0, v, np.nan)
                ax.plot(np.arange(1, len(v) + 1), v, marker="o", ms=3, lw=1.5, color=_COLORS[k % len(_COLORS)], label=label)
            if p.get("band"):
                ax.axhspan(*p["band"], color="#55A868", alpha=0.12, lw=0)
            if p.get("ref") is not None:
                ax.axhline(p["ref"], color="0.4", lw=0.8, ls="--")
            if p.get("log"):
                ax.set_yscale("log")
                plots._tidy_log_axis(ax)
            ax.set_xlabel("hidden layer")
            ax.set_ylabel(p["ylabel"])
            ax.legend(loc="best")
        fig.suptitle(title)
        fig.text(0.5, 0.995, subtitle, ha="center", va="top", fontsize=8.5, color="0.35")
        return _save(fig, path)


def training_curves(path: Path, results: dict[str, Any], title: str, subtitle: str, log_loss: bool = True,
                    metric_label: str | None = None, chance: float | None = None) -> Path:
    """Left: each run's loss per step (running mean; a cross where it became NaN/inf).  Right: each
    run's test metric per epoch (accuracy, or MSE in the target's units), with the chance level."""
    with plots.matplotlib.rc_context(plots._STYLE):
        fig = Figure(figsize=(11.5, 4.2), layout="constrained")
        ax, bx = fig.subplots(1, 2)
        for k, (label, r) in enumerate(results.items()):
            c = _COLORS[k % len(_COLORS)]
            steps, loss = np.asarray(r.history.loss_steps), np.asarray(r.history.loss, dtype=float)
            ok = np.isfinite(loss)
            if log_loss:
                ok &= loss > 0
            k_smooth = max(1, len(loss) // 60)
            ax.plot(steps, np.where(ok, plots._smooth(np.where(ok, loss, np.nan), k_smooth), np.nan), color=c, lw=1.4,
                    label=label)
            if r.non_finite:
                s = r.non_finite["step"]
                last = loss[ok][-1] if ok.any() else 1.0
                ax.plot([s], [last], marker="X", ms=10, color=plots._BAD)
                ax.annotate(f"NaN at step {s}", (s, last), textcoords="offset points", xytext=(6, 6),
                            fontsize=8.5, color=plots._BAD)
            ep = [e["epoch"] for e in r.epochs]
            m = [e["test_metric"] for e in r.epochs]
            if ep:
                bx.plot(ep, m, color=c, lw=1.5, label=label)
        if chance is not None:
            bx.axhline(chance, color="0.4", lw=0.8, ls="--", label="chance")
        if log_loss:
            ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("training loss (running mean)")
        ax.legend(loc="best")
        bx.set_xlabel("epoch")
        bx.set_ylabel(metric_label or "test metric")
        if metric_label and "MSE" in metric_label:
            bx.set_yscale("log")
        bx.legend(loc="best")
        fig.suptitle(title)
        fig.text(0.5, 0.995, subtitle, ha="center", va="top", fontsize=8.5, color="0.35")
        return _save(fig, path)


def fmt(x: float | None) -> str:
    """A number for text: 3 significant digits."""
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else plots._fmt(x)
