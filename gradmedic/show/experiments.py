"""Pictures only the seeds' experiments draw: optimizer paths over a loss surface's contours.

The experiments' loss curves, per-layer profiles and histogram grids are ``figures``' own.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from gradmedic.show import style

_MARKERS = "os^Dv<>P*X"


def paths_png(fn: Callable[[torch.Tensor], torch.Tensor], paths: dict[str, np.ndarray],
              bounds: tuple[float, float, float, float], path: Path, headline: str, sub: str,
              minima: list[tuple[float, float]] = (), saddle: tuple[float, float] | None = None) -> Path:
    """Contours of ``fn`` over ``bounds`` (xmin, xmax, ymin, ymax) with each optimizer's path
    (``paths[name]`` is (steps+1, 2)); a white circle at the start, a filled marker at the end."""
    x0, x1, y0, y1 = bounds
    xs, ys = np.linspace(x0, x1, 300), np.linspace(y0, y1, 200)
    gx, gy = np.meshgrid(xs, ys)
    z = fn(torch.tensor(np.stack([gx, gy]), dtype=torch.float64)).numpy()
    with style.drawing():
        fig = style.new_figure((10, 5.6))
        ax = fig.add_subplot()
        ax.grid(False)
        levels = np.unique(np.quantile(z, np.linspace(0.005, 0.995, 24)))
        ax.contour(gx, gy, z, levels=levels, colors="0.6", linewidths=0.7)
        ax.contourf(gx, gy, z, levels=levels, cmap="Greys", alpha=0.25, extend="both")
        for i, ((name, p), c) in enumerate(zip(paths.items(), style.colors(len(paths)), strict=False)):
            p = p[np.all(np.isfinite(p), axis=1)]
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
        return style.save(fig, path, headline, sub)
