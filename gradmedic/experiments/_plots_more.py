"""Pictures (and one run helper) shared by the optimizers, learning_rate, normalization and activations studies.

Same conventions as ``gradmedic.plots``: matplotlib Agg through ``Figure`` (no pyplot, no global
state), its ``_STYLE``, a bold headline that states the finding and a grey line naming the setup.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import matplotlib
import numpy as np
import torch
from matplotlib import colormaps

from .. import plots

_MARKERS = "os^Dv<>P*X"


def _colors(n: int) -> list:
    cmap = colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


def _save(fig, headline: str, sub: str, path: Path) -> Path:
    fig.suptitle(f"{headline}\n", fontweight="bold")
    fig.text(0.5, 1.0, "\n\n" + sub, ha="center", va="top", fontsize=8.5, color="0.35", transform=fig.transFigure)
    path = Path(path)
    fig.savefig(path, dpi=plots.DPI)
    return path


def paths_png(fn: Callable[[torch.Tensor], torch.Tensor], paths: dict[str, np.ndarray],
              bounds: tuple[float, float, float, float], path: Path, headline: str, sub: str,
              minima: list[tuple[float, float]] = (), saddle: tuple[float, float] | None = None) -> Path:
    """Contours of ``fn`` over ``bounds`` (xmin, xmax, ymin, ymax) with each optimizer's path
    (``paths[name]`` is (steps+1, 2)); a white circle at the start, a filled marker at the end."""
    x0, x1, y0, y1 = bounds
    xs, ys = np.linspace(x0, x1, 300), np.linspace(y0, y1, 200)
    gx, gy = np.meshgrid(xs, ys)
    z = fn(torch.tensor(np.stack([gx, gy]), dtype=torch.float64)).numpy()
    with matplotlib.rc_context(plots._STYLE):
        fig = plots._new_figure((10, 5.6))
        ax = fig.add_subplot()
        ax.grid(False)
        levels = np.quantile(z, np.linspace(0.005, 0.995, 24))
        ax.contour(gx, gy, z, levels=np.unique(levels), colors="0.6", linewidths=0.7)
        ax.contourf(gx, gy, z, levels=np.unique(levels), cmap="Greys", alpha=0.25, extend="both")
        for i, ((name, p), c) in enumerate(zip(paths.items(), _colors(len(paths)))):
            ok = np.all(np.isfinite(p), axis=1)
            p = p[ok]
            ax.plot(p[:, 0], p[:, 1], "-", color=c, lw=1.4, alpha=0.9, label=name, marker=_MARKERS[i], ms=2.5,
                    markevery=max(1, len(p) // 40))
            ax.plot(*p[0], "o", mfc="white", mec="k", ms=8, zorder=6)
            ax.plot(*p[-1], _MARKERS[i], color=c, mec="k", ms=8, zorder=7)
        for m in minima:
            ax.plot(*m, "*", color="gold", mec="k", ms=14, zorder=8)
        if saddle is not None:
            ax.plot(*saddle, "x", color="k", ms=10, mew=2, zorder=8)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), title="white circle: start\nmarker: end\n★ minimum")
        return _save(fig, headline, sub, path)


def _trailing_mean(y: np.ndarray, k: int) -> np.ndarray:
    """Mean of the last ``k`` finite values at each step (no look-ahead, so the curve's end is not
    pulled down by the missing future; NaN/inf skipped)."""
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(y)
    cs = np.concatenate([[0.0], np.cumsum(np.where(ok, y, 0.0))])
    cn = np.concatenate([[0], np.cumsum(ok)])
    lo = np.maximum(np.arange(1, len(y) + 1) - k, 0)
    hi = np.arange(1, len(y) + 1)
    n = cn[hi] - cn[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (cs[hi] - cs[lo]) / np.maximum(n, 1), np.nan)


def _epoch_loss(result: Any, key: str = "train_loss") -> tuple[np.ndarray, np.ndarray]:
    rows = result.epochs
    return np.array([r["epoch"] for r in rows], dtype=float), np.array([r[key] for r in rows], dtype=float)


def loss_curves_png(results: dict[str, Any], path: Path, headline: str, sub: str, key: str = "train_loss",
                    reference: float | None = None) -> Path:
    """Each run's loss per epoch (left, log axis) and its loss of every step, smoothed (right);
    a run that went NaN/inf ends with a red cross where it broke."""
    with matplotlib.rc_context(plots._STYLE):
        fig = plots._new_figure((12, 4.8))
        ax, ax2 = fig.subplots(1, 2)
        colors = _colors(len(results))
        for (label, r), c in zip(results.items(), colors):
            e, v = _epoch_loss(r, key)
            ok = np.isfinite(v)
            ax.plot(e[ok], v[ok], "-", color=c, lw=1.6, label=label)
            steps, loss = r.history.loss_steps, r.history.loss
            if len(loss):
                ax2.plot(steps, _trailing_mean(loss, max(1, len(loss) // 60)), "-", color=c, lw=1.2, label=label)
            if r.status == "non_finite":
                nf = r.non_finite or {}
                last = v[ok][-1] if ok.any() else (reference or 1.0)
                ax.plot(e[ok][-1] if ok.any() else 1, last, "x", color=plots._BAD, ms=10, mew=2.5, zorder=6)
                if nf.get("step"):
                    plots._mark_non_finite(ax2, int(nf["step"]), label=False)
        for a in (ax, ax2):
            if reference:
                a.axhline(reference, color="0.4", ls=":", lw=1.2, label="constant prediction")
            a.set_yscale("log")
            plots._tidy_log_axis(a)
        if reference and ax2.get_ylim()[1] > 30 * reference:
            # A diverging run (loss 1e19) would flatten every other curve; above 30x chance is "blown up" anyway.
            ax2.set_ylim(top=30 * reference)
            ax2.text(0.99, 0.98, "clipped at 30x the constant prediction's loss", ha="right", va="top",
                     fontsize=8, color="0.4", transform=ax2.transAxes)
        ax.set_xlabel("epoch")
        ax.set_ylabel(key.replace("_", " "))
        ax.set_title(f"{key.replace('_', ' ')} per epoch (red x: became NaN/inf)")
        ax2.set_xlabel("step")
        ax2.set_ylabel("mini-batch loss (trailing mean)")
        ax2.set_title("loss of every step, smoothed")
        ax.legend()
        return _save(fig, headline, sub, path)


def affine_grad_norms(result: Any) -> dict[str, float]:
    """Median gradient norm of each affine layer (Linear/Conv) in depth order: PReLU's slopes and other
    parameterized activations are left out so that runs with different activations line up by depth."""
    from ..diagnose import AFFINE_TYPES

    norms = result.layer_grad_norms()
    types = dict(zip(result.monitor.layer_names, result.monitor.layer_types))
    return {n: v for n, v in norms.items() if types.get(n) in AFFINE_TYPES}


def grad_profile_png(results: dict[str, Any], path: Path, headline: str, sub: str) -> Path:
    """Median gradient norm of each affine layer over training, first layer left, one line per run
    (the x labels are the first run's layer names; runs are matched by depth)."""
    with matplotlib.rc_context(plots._STYLE):
        fig = plots._new_figure((10, 4.8))
        ax = fig.add_subplot()
        for (label, r), c in zip(results.items(), _colors(len(results))):
            norms = affine_grad_norms(r)
            v = np.array(list(norms.values()), dtype=float)
            v = np.where(np.isfinite(v) & (v > 0), v, np.nan)
            ratio = r.summary()["first_to_last_grad_ratio"]
            txt = plots._fmt(ratio) if ratio is not None and math.isfinite(ratio) else "n/a"
            ax.plot(np.arange(1, len(v) + 1), v, "-o", color=c, ms=4, lw=1.5, label=f"{label} (first/last {txt})")
        names = list(affine_grad_norms(next(iter(results.values()))))
        ax.set_xticks(np.arange(1, len(names) + 1), names)
        ax.set_yscale("log")
        plots._tidy_log_axis(ax)
        ax.set_xlabel("layer (input side left)")
        ax.set_ylabel("median gradient norm over training")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
        return _save(fig, headline, sub, path)
