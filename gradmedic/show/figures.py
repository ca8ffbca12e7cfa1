"""One figure per concept, shared by runs, compare, repair, tune and the experiments.

- ``loss_curves``: N runs' training loss per step (left, ``draw_loss``) and a per-epoch quantity
  (right, ``draw_per_epoch``); one run's ``loss.png`` draws the same two panels;
- ``layer_profile``: a per-layer quantity of N runs, first layer left (gradient norms, activation std;
  ``draw_profile`` is the panel, also in one run's ``grad_norms.png``);
- ``histogram_grid``: setups x layers of value histograms (seed 002 Fig. 7.23/7.24).

Each takes plain arrays (``Curve``, ``Profile``, ``Panel``) that the caller reads from records or
results, and writes one titled PNG through ``style.save``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import ticker

from gradmedic.show import style
from gradmedic.show.numbers import num

BINS = 40  # histogram bins, as the monitor records them


# -- loss curves of N runs --------------------------------------------------------------------------

@dataclass
class Curve:
    """One run's (or one variant's) curves: the loss per step and a quantity per epoch, with optional
    min-max bands (over seeds) and the step where it became NaN/inf."""

    label: str
    steps: np.ndarray
    loss: np.ndarray
    epochs: np.ndarray
    per_epoch: np.ndarray
    loss_band: tuple[np.ndarray, np.ndarray] | None = None
    epoch_band: tuple[np.ndarray, np.ndarray] | None = None
    non_finite_step: int | None = None

    @classmethod
    def of(cls, label: str, result: Any, key: str = "test_metric") -> Curve:
        """From a training ``Result``: every step's loss and ``key`` of each epoch."""
        nf = getattr(result, "non_finite", None) or {}
        return cls(label, np.asarray(result.history.loss_steps, dtype=float), np.asarray(result.history.loss, dtype=float),
                   np.array([e["epoch"] for e in result.epochs], dtype=float),
                   np.array([e[key] for e in result.epochs], dtype=float),
                   non_finite_step=int(nf["step"]) if nf.get("step") else None)


def draw_loss(ax, curves: Sequence[Curve], colors: list | None = None, *, smoothing: str | None = "centred",
              k: int | None = None, log: bool | None = None, reference: float | None = None, label: str = "training loss",
              extra: Sequence[np.ndarray] = ()) -> None:
    """The left panel: each curve's loss per step (a running mean over ``k`` steps, default ~1/60 of the
    run, ``centred`` or ``trailing``, or as given with ``smoothing=None``; in log space on a log axis), a red X where it became
    NaN/inf, the loss of a constant prediction (``reference``) dotted.  ``log``: None decides by the span
    of the values (with ``extra`` values drawn by the caller).  A loss above 30x the constant prediction's
    is cut off: one diverging run (1e19) would flatten every other curve, and above 30x chance it is
    blown up anyway."""
    colors = colors or style.colors(len(curves))
    if log is None:
        values = [np.asarray(c.loss, dtype=float) for c in curves] + [np.asarray(e, dtype=float) for e in extra]
        log = style.spans_decades(np.concatenate(values)) if values else False
    for c, col in zip(curves, colors, strict=False):
        y = np.asarray(c.loss, dtype=float)
        if smoothing and len(y):
            y = style.smooth(y, k or max(1, len(y) // 60), smoothing == "trailing", log=log)
        ok = np.isfinite(y)
        if ok.any():
            ax.plot(c.steps, np.where(ok, y, np.nan), color=col, lw=1.8, label=c.label)
        if c.loss_band is not None:
            ax.fill_between(c.steps, *c.loss_band, color=col, alpha=0.18, lw=0)
        if c.non_finite_step is not None:
            last = y[ok][-1] if ok.any() else (reference or 1.0)
            ax.plot([c.non_finite_step], [last], marker="X", ms=10, color=style.BAD, zorder=6)
            ax.annotate(f"NaN/inf at step {c.non_finite_step}", (c.non_finite_step, last), textcoords="offset points",
                        xytext=(6, 6), fontsize=8.5, color=style.BAD)
    if reference is not None and math.isfinite(reference) and (not log or reference > 0):
        ax.axhline(reference, color="0.3", ls=":", lw=1.2, label=f"constant prediction ({num(reference)})")
    if log:
        ax.set_yscale("log")
    if reference and ax.get_ylim()[1] > 30 * reference:
        ax.set_ylim(top=30 * reference)
        ax.text(0.99, 0.98, "cut at 30x the constant prediction's loss", ha="right", va="top", fontsize=8,
                color="0.4", transform=ax.transAxes)
    style.tidy_log_axis(ax)
    ax.set_xlabel("step")
    ax.set_ylabel(label + (" (log scale)" if log else ""))
    ax.set_title("Training loss")
    ax.legend(loc="best")


def draw_per_epoch(ax, curves: Sequence[Curve], colors: list | None = None, *, label: str, log: bool | None = None,
                   line: tuple[float, str] | None = None) -> None:
    """The right panel: each curve's per-epoch quantity (with its band), ``line`` (a value and its label:
    chance, a target) dashed; ``log``: None decides by the span of the values."""
    colors = colors or style.colors(len(curves))
    for c, col in zip(curves, colors, strict=False):
        e = np.isfinite(c.per_epoch)
        if e.any():
            ax.plot(c.epochs[e], c.per_epoch[e], color=col, lw=1.8, marker="o" if len(c.epochs) <= 30 else "",
                    ms=3.5, label=c.label)
        if c.epoch_band is not None:
            ax.fill_between(c.epochs, *c.epoch_band, color=col, alpha=0.18, lw=0)
    if line is not None:
        ax.axhline(line[0], color="0.3", ls="--", lw=1.1, label=line[1])
    per_epoch = np.concatenate([c.per_epoch for c in curves]) if curves else np.zeros(0)
    if log if log is not None else style.spans_decades(per_epoch):
        ax.set_yscale("log")
    style.tidy_log_axis(ax)
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(label)
    ax.set_title(f"{label[:1].upper()}{label[1:]} per epoch")
    ax.legend(loc="best", fontsize=8)


def loss_curves(path: str | Path, curves: Sequence[Curve], headline: str, sub: str, *, epoch_label: str,
                smoothing: str | None = "centred", log: bool | None = None, epoch_log: bool | None = None,
                reference: float | None = None, epoch_line: tuple[float, str] | None = None,
                loss_label: str = "training loss") -> Path:
    """N runs side by side: the loss per step (``draw_loss``) left, the per-epoch quantity
    (``draw_per_epoch``) right."""
    colors = style.colors(len(curves))
    with style.drawing():
        fig = style.new_figure((12, 4.8))
        ax, bx = fig.subplots(1, 2, width_ratios=[3, 2])
        draw_loss(ax, curves, colors, smoothing=smoothing, log=log, reference=reference, label=loss_label)
        draw_per_epoch(bx, curves, colors, label=epoch_label, log=epoch_log, line=epoch_line)
        return style.save(fig, path, headline, sub)


# -- a per-layer quantity of N runs -------------------------------------------------------------------

@dataclass
class Profile:
    """One run's per-layer values in the panel's layer order (None: the run has no such layer; NaN or,
    on a log axis, 0: measured but nothing to draw, marked at the bottom), with optional min-max bars."""

    label: str
    values: Sequence[float | None]
    lo: Sequence[float] | None = None
    hi: Sequence[float] | None = None


@dataclass
class Panel:
    ylabel: str
    layers: list[str]  # x tick labels, first layer left
    profiles: list[Profile]
    log: bool = True
    band: tuple[float, float] | None = None  # a shaded target band (e.g. the self-normalizing fixed point)
    ref: float | None = None  # a dashed reference line
    xlabel: str = "layer (input → output)"


def draw_profile(ax, panel: Panel, colors: list | None = None, point_colors: list | None = None) -> None:
    """Draw ``panel`` into ``ax``: one line with markers per profile (bars where it has lo/hi, shifted a
    little sideways when there are several), its missing layers as triangles at the bottom.
    ``point_colors``: one colour per layer for the markers (one run's picture: as its layers' lines)."""
    colors = colors or style.colors(len(panel.profiles))
    k, L = len(panel.profiles), len(panel.layers)
    bars = any(p.lo is not None for p in panel.profiles)
    for j, (p, c) in enumerate(zip(panel.profiles, colors, strict=False)):
        vals = (list(p.values) + [None] * L)[:L]  # runs matched by depth: a shallower run's missing layers are None
        v = np.array([np.nan if x is None else x for x in vals], dtype=float)
        have = np.array([x is not None for x in vals], dtype=bool)
        good = have & np.isfinite(v) & ((v > 0) if panel.log else True)
        off = (j - (k - 1) / 2) * min(0.08, 0.5 / max(k, 1)) if bars and k > 1 else 0.0
        x = np.arange(len(v), dtype=float) + off
        if p.lo is not None and p.hi is not None and good.any():
            lo, hi = (np.array((list(b) + [np.nan] * L)[:L], dtype=float) for b in (p.lo, p.hi))
            # clipped at 0: exp(mean(log x)) of one seed can differ from x in the last bit
            err = np.clip(np.vstack([v - lo, hi - v]), 0, None)[:, good]
            ax.errorbar(x[good], v[good], yerr=err, fmt="none", ecolor=c, alpha=0.6, elinewidth=1.2, capsize=3)
        ax.plot(x[good], v[good], color=c, lw=1.6, marker="o", ms=5, mec="0.2", mew=0.5, label=p.label)
        if point_colors is not None:
            ax.scatter(x[good], v[good], c=[point_colors[i] for i in np.flatnonzero(good)], s=70, edgecolors="0.2",
                       linewidths=0.6, zorder=3)
        missing = [panel.layers[i] for i in np.flatnonzero(have & ~good)]
        if missing:
            ax.plot(x[have & ~good], [0.02] * len(missing), "v", color=c, ms=8, transform=ax.get_xaxis_transform(),
                    label=f"{p.label}: 0 or NaN in {', '.join(missing[:3])}{' …' if len(missing) > 3 else ''}")
    if panel.band:
        ax.axhspan(*panel.band, color="#55A868", alpha=0.12, lw=0)
    if panel.ref is not None:
        ax.axhline(panel.ref, color="0.4", lw=0.8, ls="--")
    if panel.log:
        ax.set_yscale("log")
        style.tidy_log_axis(ax)
    ax.set_xticks(range(L))
    ax.set_xticklabels(panel.layers, rotation=45 if L > 6 else 0, ha="right" if L > 6 else "center",
                       fontsize=9 if L <= 12 else 7)
    if L > 24:  # label every few layers
        for i, t in enumerate(ax.get_xticklabels()):
            t.set_visible(i % math.ceil(L / 24) == 0 or i == L - 1)
    ax.set_xlim(-0.6, L - 0.4)
    ax.set_xlabel(panel.xlabel)
    ax.set_ylabel(panel.ylabel)
    ax.grid(axis="x", visible=False)


def layer_profile(path: str | Path, panels: list[Panel], headline: str, sub: str) -> Path:
    """Side by side panels of per-layer quantities, one line per run (legend right of a single panel)."""
    with style.drawing():
        fig = style.new_figure((11, 5.2) if len(panels) == 1 else (5.2 * len(panels), 4.4))
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, p in zip(axes, panels, strict=False):
            draw_profile(ax, p)
            if len(panels) == 1:
                ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), title_fontsize=8.5)
            else:
                ax.legend(loc="best")
        return style.save(fig, path, headline, sub)


# -- histograms: setups x layers -------------------------------------------------------------------

def histogram_grid(path: str | Path, rows: dict[str, list[Any]], layers: list[str], headline: str, sub: str, *,
                   fixed_range: tuple[float, float] | None = None,
                   titles: dict[str, list[str]] | None = None) -> Path:
    """One row per setup, one column per layer: each layer's histogram as the share of values per bin.

    A cell is raw values (binned here into 40 bins) or an already binned ``(counts, edges)`` pair (a
    run's recorded histogram).  Raw rows share one symmetric range set by their widest layer (so
    shrinking along a row stays visible) unless ``fixed_range``; ``titles[row][j]`` goes above a panel
    (its mean and std)."""
    nr, nc = len(rows), len(layers)
    colors = style.colors(nr)
    with style.drawing():
        w, h = max(1.55 * nc + 1.2, 10.0), 1.3 * nr + 1.6
        fig = style.new_figure((w, h), layout=None)
        # Fixed margins: constrained layout over 50 small axes costs seconds per figure.
        fig.subplots_adjust(left=1.0 / w, right=1 - 0.15 / w, bottom=0.75 / h, top=1 - 1.1 / h, wspace=0.15,
                            hspace=0.6 if titles else 0.45)
        axes = fig.subplots(nr, nc, squeeze=False)
        for i, (label, cells) in enumerate(rows.items()):
            raw = [v for v in cells if not isinstance(v, tuple)]
            if fixed_range:
                rng = fixed_range
            else:
                finite = [np.asarray(v)[np.isfinite(v)] for v in raw]
                half = max((np.percentile(np.abs(v), 99.5) for v in finite if v.size), default=1.0) or 1.0
                rng = (-half, half)
            for j, cell in enumerate(cells):
                ax = axes[i][j]
                if isinstance(cell, tuple):
                    counts, edges = (np.asarray(a, dtype=float) for a in cell)
                else:
                    v = np.asarray(cell)[np.isfinite(cell)]
                    counts, edges = np.histogram(np.clip(v, *rng), bins=BINS, range=rng)
                total = np.nansum(counts)
                share = np.nan_to_num(counts) / total if total > 0 else np.zeros(len(edges) - 1)
                ax.stairs(share, edges, fill=True, color=colors[i], alpha=0.8)
                lo, hi = edges[0], edges[-1]
                ax.set_xlim(lo, hi)
                ticks = [lo, 0, hi] if lo < 0 < hi else [lo, hi]
                ax.set_xticks(ticks, [num(t) if t else "0" for t in ticks] if j == 0 else [""] * len(ticks))
                ax.tick_params(labelsize=6.5)
                ax.grid(False)
                if titles is not None and label in titles:
                    ax.set_title(titles[label][j], fontsize=7.5)
                if i == nr - 1:
                    ax.set_xlabel(layers[j], fontsize=8.5)
                if j == 0:
                    ax.set_ylabel(label, fontsize=8.5)
                ax.set_yticks([])
        return style.save(fig, path, headline, sub)
