"""The one look of every gradmedic picture: matplotlib style, palette, figure, title-and-save, smoothing.

matplotlib's Agg backend through ``Figure`` objects only: no pyplot, no global figure state, the style
scoped to each drawing by ``drawing()``.
"""

from __future__ import annotations

import contextlib
import math
import textwrap
from collections.abc import Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=False)  # a no-op when another backend was chosen already: we never use pyplot
import numpy as np  # noqa: E402
from matplotlib import colormaps, ticker  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

DPI = 110
STYLE = {
    "font.size": 10, "axes.titlesize": 10.5, "axes.labelsize": 10, "legend.fontsize": 8.5,
    "xtick.labelsize": 9, "ytick.labelsize": 9, "figure.titlesize": 13,
    "axes.spines.top": False, "axes.spines.right": False,
    "axes.grid": True, "grid.alpha": 0.3, "grid.linewidth": 0.6,
    "legend.framealpha": 0.85, "legend.edgecolor": "0.85", "savefig.facecolor": "white",
}
BAD = "#C0392B"  # NaN/inf, a broken run
ZERO = "0.80"  # an exact zero gradient: light grey, outside any colour scale on purpose
SUBTITLE = "0.35"  # the grey of the line that names the setup


def colors(n: int) -> list:
    """One colour per run or variant: tab10, tab20 beyond ten."""
    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


INIT, TRAINED = colors(2)  # a network at initialization and after training


def layer_colors(n: int) -> list:
    """One colour per layer, light (first layer) to dark (last layer)."""
    cmap = colormaps["viridis_r"]
    return [cmap(0.15 + 0.85 * i / max(1, n - 1)) if n > 1 else cmap(0.75) for i in range(n)]


@contextlib.contextmanager
def drawing() -> Iterator[None]:
    """The style for the pictures drawn inside; NaN/inf arithmetic stays silent (broken runs are drawn too)."""
    with matplotlib.rc_context(STYLE), np.errstate(all="ignore"):
        yield


def new_figure(size: tuple[float, float], layout: str | None = "constrained") -> Figure:
    return Figure(figsize=size, dpi=DPI, layout=layout)


def save(fig: Figure, path: str | Path, headline: str, sub: str = "") -> Path:
    """Title ``fig`` with its bold ``headline`` (what the picture shows, wrapped to the figure's width:
    105 characters on 12 inches) and, in the empty line under it, ``sub`` in small grey text (the run or
    setup); write the PNG."""
    lines = textwrap.wrap(headline, int(8.75 * fig.get_figwidth())) or [""]
    fig.suptitle("\n".join(lines) + "\n", fontweight="bold")
    # a headline line (13 pt) is about two subtitle lines (8.5 pt) high
    fig.text(0.5, 1.0, "\n" * (2 * len(lines)) + sub, ha="center", va="top", fontsize=8.5, color=SUBTITLE,
             transform=fig.transFigure)
    # the claims also go into the PNG's text chunks, where a test or a script can read them back (``claims``)
    fig.savefig(path, dpi=DPI, metadata={"Title": headline, "Description": sub})
    return Path(path)


def claims(path: str | Path) -> tuple[str, str]:
    """What a picture written by ``save`` says: its headline (one line) and the line naming its setup."""
    from PIL import Image

    with Image.open(path) as im:
        return im.text.get("Title", ""), im.text.get("Description", "")


def smooth(y: np.ndarray, k: int, trailing: bool = False, log: bool = False) -> np.ndarray:
    """Running mean over ``k`` points that skips NaN/inf (NaN where a window holds none): centred, or
    ``trailing`` (the last ``k``, no look-ahead, so a curve's end is not pulled by the missing future);
    with ``log``, of log(y) (a geometric mean, what a log axis shows; values <= 0 skipped)."""
    y = np.asarray(y, dtype=float)
    if log:
        return np.exp(smooth(np.log(np.where(y > 0, y, np.nan)), k, trailing))
    if k < 2 or len(y) < 3:
        return y.copy()
    ok = np.isfinite(y)
    if trailing:
        cs = np.concatenate([[0.0], np.cumsum(np.where(ok, y, 0.0))])
        cn = np.concatenate([[0], np.cumsum(ok)])
        hi = np.arange(1, len(y) + 1)
        lo = np.maximum(hi - k, 0)
        s, n = cs[hi] - cs[lo], cn[hi] - cn[lo]
    else:
        w = np.ones(k)
        s = np.convolve(np.where(ok, y, 0.0), w, mode="same")
        n = np.convolve(ok.astype(float), w, mode="same")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def spans_decades(values: np.ndarray, decades: float = 2.0) -> bool:
    """Do the positive finite ``values`` span more than ``decades`` (then a log axis reads better)?"""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    return len(v) > 1 and math.log10(v.max() / v.min()) > decades


def tidy_log_axis(ax) -> None:
    """A log y axis over less than two decades: ticks at 1, 2, 5 x 10^k labelled as plain numbers."""
    lo, hi = ax.get_ylim()
    if ax.get_yscale() == "log" and lo > 0 and hi / lo < 100:
        ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())


def mark_non_finite(ax, step: int | None, label: bool = True) -> None:
    """A red dashed line where the run turned NaN/inf (and, with ``label``, the step written next to it)."""
    if step is None:
        return
    ax.axvline(step, color=BAD, ls="--", lw=1.2, zorder=5)
    if label:
        ax.text(step, 0.98, f" NaN/inf\n at step {step}", color=BAD, fontsize=8.5, va="top", ha="left",
                transform=ax.get_xaxis_transform(), zorder=6)


def note(ax, text: str, color: str = "0.25") -> None:
    """An empty panel that says why there is nothing to draw."""
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=10.5, color=color,
            bbox=dict(boxstyle="round,pad=0.7", fc="0.96", ec="0.8"))


def spread(n: int, most: int = 16) -> list[int]:
    """At most ``most`` of ``n`` indices, evenly spread, first and last always (legends, panels)."""
    if n <= most:
        return list(range(n))
    return sorted({int(round(i)) for i in np.linspace(0, n - 1, most)})
