"""A tuning study's pictures: optimization history, parameter importances, intermediate values by prune reason."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from matplotlib import colormaps, ticker

from . import style

COMPLETE = "#1f4e9c"
INTERRUPTED = "0.6"


def _reason(t: dict[str, Any]) -> str:
    if t["state"] != "PRUNED":
        return "interrupted" if t["interrupted"] else t["state"].lower()
    by = t.get("pruned_by") or "?"
    return f"{by}: {t['problem']}" if t.get("problem") else by


def _colors(reasons: list[str]) -> dict[str, Any]:
    """complete: blue, failed/interrupted: grey, each prune reason its own colour (the doctor's in reds)."""
    out: dict[str, Any] = {"complete": COMPLETE, "fail": "0.4", "interrupted": INTERRUPTED}
    doctor = sorted(r for r in set(reasons) if r.startswith("doctor"))
    other = sorted(r for r in set(reasons) if r not in out and not r.startswith("doctor"))
    reds, greens = colormaps["autumn"], colormaps["Greens"]
    for i, r in enumerate(doctor):
        out[r] = reds(0.85 * i / max(1, len(doctor) - 1))
    for i, r in enumerate(other):
        out[r] = greens(0.5 + 0.4 * i / max(1, len(other) - 1))
    return out


def _last_value(t: dict[str, Any]) -> float | None:
    if t["value"] is not None:
        return t["value"]
    vals = list(t["intermediate"].values())
    return vals[-1] if vals else None


def _sub(res: Any) -> str:
    return f"{len(res.trials)} trials, test {res.metric} ({res.direction})"


def history_png(res: Any, path: Path) -> Path:
    fig = style.new_figure((7.5, 4.6))
    ax = fig.subplots()
    reasons = [_reason(t) for t in res.trials]
    colors = _colors(reasons)
    for r in dict.fromkeys(reasons):
        pts = [(t["number"], _last_value(t)) for t in res.trials if _reason(t) == r and _last_value(t) is not None]
        if pts:
            x, y = zip(*pts, strict=False)
            ax.scatter(x, y, s=22, color=colors[r], label=f"{r} ({len(pts)})", zorder=3,
                       marker="o" if r == "complete" else "x")
    best, xs, ys = None, [], []
    pick = max if res.direction == "maximize" else min
    for t in res.trials:
        if t["state"] == "COMPLETE" and t["value"] is not None and math.isfinite(t["value"]):
            best = t["value"] if best is None else pick(best, t["value"])
        if best is not None:
            xs.append(t["number"])
            ys.append(best)
    if xs:
        ax.step(xs, ys, where="post", color="k", lw=1.2, label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(f"test {res.metric}")
    ax.legend(fontsize=7, loc="best")
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    head = "Optimization history"
    if best is not None:
        at = next(t["number"] for t in res.trials if t["state"] == "COMPLETE" and t["value"] == best)
        head += f": best test {res.metric} {best:.4g} at trial {at}"
    return style.save(fig, path, head, _sub(res))


def importances_png(res: Any, path: Path) -> Path | None:
    if not res.importances:
        return None
    items = sorted(res.importances.items(), key=lambda kv: kv[1])
    fig = style.new_figure((6.5, 0.45 * len(items) + 1.6))
    ax = fig.subplots()
    ax.barh([k for k, _ in items], [v for _, v in items], color=COMPLETE)
    for i, (_, v) in enumerate(items):
        ax.text(v, i, f" {v:.2f}", va="center", fontsize=8)
    ax.set_xlabel("importance (share of the value's variance)")
    ax.set_xlim(0, max(v for _, v in items) * 1.2 or 1)
    return style.save(fig, path, "Parameter importances (fANOVA)", _sub(res))


def intermediate_png(res: Any, path: Path) -> Path:
    fig = style.new_figure((7.5, 4.6))
    ax = fig.subplots()
    reasons = [_reason(t) for t in res.trials]
    colors = _colors(reasons)
    labelled: set[str] = set()
    for t, r in zip(res.trials, reasons, strict=False):
        iv = t["intermediate"]
        if not iv:
            continue
        x, y = list(iv), list(iv.values())
        ax.plot(x, y, color=colors[r], lw=0.9 if r == "complete" else 1.1, alpha=0.8,
                label=None if r in labelled else r, zorder=2 if r == "complete" else 3)
        labelled.add(r)
        if t["state"] == "PRUNED":
            ax.scatter([x[-1]], [y[-1]], marker="x", s=26, color=colors[r], zorder=4)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"test {res.metric}")
    if labelled:
        ax.legend(fontsize=7, loc="best")
    return style.save(fig, path, "Intermediate values, pruned trials by reason", _sub(res))


def render(res: Any, out: Path) -> list[Path]:
    """history.png, importances.png (when there are importances) and intermediate.png in ``out``."""
    out = Path(out)
    with style.drawing():
        paths = [history_png(res, out / "history.png"), importances_png(res, out / "importances.png"),
                 intermediate_png(res, out / "intermediate.png")]
    return [p for p in paths if p is not None]
