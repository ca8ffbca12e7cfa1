"""Showing: PNG pictures of a recorded run (matplotlib, no global pyplot state).

``render_all(run_dir)`` writes
- ``loss.png``: per-step loss (raw and smoothed), per-epoch train/test loss, and the metric;
- ``grad_norms.png``: each layer's gradient norm over training (light = first layer, dark = last),
  and the median per layer in layer order: the vanishing picture of seed 004;
- ``activations.png``: each activation layer's distribution at initialization and after training,
  as in seed 002 Fig. 7.23/7.24, with the mean and std per layer;
- ``activation_stats.png``: recorded activation mean/std and share of zeros or saturated over steps.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib import cm  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .records import Run  # noqa: E402

DPI = 110


def _smooth(y: np.ndarray, k: int) -> np.ndarray:
    if len(y) < k or k < 2:
        return y
    c = np.cumsum(np.insert(np.where(np.isfinite(y), y, 0.0), 0, 0.0))
    n = np.cumsum(np.insert(np.isfinite(y).astype(float), 0, 0.0))
    s = (c[k:] - c[:-k]) / np.maximum(n[k:] - n[:-k], 1)
    return np.r_[np.full(k - 1, np.nan), s]



def _layer_colors(n: int):
    # light (first layer) to dark (last layer)
    return [cm.Blues(0.35 + 0.6 * i / max(1, n - 1)) for i in range(n)]


def _title(run: Run) -> str:
    s = run.spec
    m = s.get("model", {})
    return f"{s.get('name', 'run')}: {m.get('activation')} {m.get('hidden')} init {m.get('init')}, {s.get('train', {}).get('optimizer')} lr {s.get('train', {}).get('lr')}"


def loss_png(run: Run, path: Path) -> Path:
    h = run.history
    fig = Figure(figsize=(11, 4.2), dpi=DPI)
    ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    steps, loss = h.loss_steps, h.loss
    finite = np.isfinite(loss)
    if finite.any():
        ax.plot(steps[finite], loss[finite], color="0.75", lw=0.6, label="loss per step")
        k = max(5, len(loss) // 100)
        ax.plot(steps, _smooth(loss, k), color="C0", lw=1.8, label=f"mean of {k} steps")
        pos = loss[finite & (loss > 0)]
        if len(pos) and pos.max() / max(pos.min(), 1e-300) > 100:
            ax.set_yscale("log")
    ep = run.epochs
    if ep:
        es = [e["step"] for e in ep]
        ax.plot(es, [e["train_loss"] for e in ep], "o", ms=3, color="C1", label="train (epoch)")
        ax.plot(es, [e["test_loss"] for e in ep], "s", ms=3, color="C3", label="test (epoch)")
        metric = (run.summary or {}).get("metric", "metric")
        ax2.plot([e["epoch"] for e in ep], [e["train_metric"] for e in ep], color="C1", label=f"train {metric}")
        ax2.plot([e["epoch"] for e in ep], [e["test_metric"] for e in ep], color="C3", label=f"test {metric}")
        ax2.set_xlabel("epoch")
        ax2.set_title(f"{metric}: test {ep[-1]['test_metric']:.3g}")
        ax2.legend(fontsize=8)
        ax2.grid(alpha=0.3)
    else:
        ax2.text(0.5, 0.5, "no complete epoch", ha="center", va="center", transform=ax2.transAxes)
        ax2.set_axis_off()
    nf = (run.summary or {}).get("non_finite")
    if nf and nf.get("step"):
        ax.axvline(nf["step"], color="red", ls="--", lw=1)
        ax.text(nf["step"], 0.95, f" NaN/inf at step {nf['step']}", color="red", transform=ax.get_xaxis_transform(), va="top", fontsize=8)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("Loss over training")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.suptitle(_title(run), fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    return path


def grad_norms_png(run: Run, path: Path) -> Path:
    h = run.history
    names = h.layer_names
    g = h.layer("grad_norm")
    st = h.stat_steps
    fig = Figure(figsize=(12, 4.5), dpi=DPI)
    ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    colors = _layer_colors(len(names))
    pos = g[np.isfinite(g) & (g > 0)]
    floor = float(pos.min()) / 10 if len(pos) else 1e-12
    for j, name in enumerate(names):
        y = g[:, j].copy()
        ok = np.isfinite(y)
        zero = ok & (y == 0)
        y[zero] = floor
        if ok.any():
            k = max(1, ok.sum() // 60)  # a light running mean: the trend per layer, not batch noise
            ys = np.exp(_smooth(np.log(y[ok]), k)) if k > 1 else y[ok]
            ax.plot(st[ok], ys, color=colors[j], lw=1.5, label=name)
        if zero.any():
            ax.plot(st[zero], y[zero], "v", color=colors[j], ms=3)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("gradient L2 norm")
    ax.set_title("Gradient norm per layer over training" + (" (v: exactly 0)" if (g == 0).any() else ""))
    ax.legend(fontsize=7, ncol=2 if len(names) > 8 else 1)
    ax.grid(alpha=0.3, which="both")
    med = np.array([np.median(g[np.isfinite(g[:, j]), j]) if np.isfinite(g[:, j]).any() else np.nan for j in range(len(names))])
    shown = np.where(np.isfinite(med) & (med > 0), med, floor)
    ax2.bar(range(len(names)), shown, color=colors)
    for j, v in enumerate(med):
        if not np.isfinite(v) or v == 0:
            ax2.text(j, floor, "0" if v == 0 else "nan", ha="center", va="bottom", fontsize=8, color="red")
    ax2.set_yscale("log")
    ax2.set_xticks(range(len(names)))
    ax2.set_xticklabels(names, rotation=45, ha="right", fontsize=8)
    ax2.set_ylabel("median gradient norm")
    first, last = med[0], med[-1]
    if np.isfinite(first) and np.isfinite(last) and last > 0:
        ax2.set_title(f"Median per layer: {names[0]} is {first / last:.2g}x {names[-1]}")
    else:
        ax2.set_title("Median gradient norm per layer")
    ax2.grid(alpha=0.3, axis="y")
    fig.suptitle(_title(run), fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    return path


def _activations(run: Run, trained: bool) -> dict[str, np.ndarray] | None:
    """Activation outputs of each known activation module on the training inputs (eval mode)."""
    from . import build, data
    from .monitor import activation_kind
    from .spec import validate

    spec = validate(run.spec)
    ds = data.load(spec.data, image=spec.model.kind == "cnn")
    torch.manual_seed(spec.train.seed)  # the trainer seeds before building: the same initial weights
    model = build.build(spec.model, ds)
    if trained:
        f = run.dir / "model.pt"
        if not f.is_file():
            return None
        model.load_state_dict(torch.load(f, weights_only=True, map_location="cpu"))
    model.eval()
    outs: dict[str, np.ndarray] = {}
    hooks = [m.register_forward_hook(lambda mod, a, o, n=n: outs.__setitem__(n, o.detach().flatten().numpy()))
             for n, m in model.named_modules() if activation_kind(m)]
    with torch.no_grad():
        model(ds.x_train[:1000])
    for hk in hooks:
        hk.remove()
    return outs


def activations_png(run: Run, path: Path) -> Path:
    init = _activations(run, trained=False)
    trained = _activations(run, trained=True)
    names = list(init or {})
    rows = [("at initialization", init)] + ([("after training", trained)] if trained else [])
    n = max(1, len(names))
    fig = Figure(figsize=(min(2.3 * n + 2.5, 16), 2.6 * len(rows) + 0.6), dpi=DPI)
    axes = fig.subplots(len(rows), n + 1, squeeze=False, gridspec_kw={"width_ratios": [1] * n + [1.3]})
    for r, (label, outs) in enumerate(rows):
        if not names:
            axes[r, 0].text(0.5, 0.5, "no activation modules", ha="center")
        lo = min((np.percentile(v, 0.5) for v in outs.values()), default=0)
        hi = max((np.percentile(v, 99.5) for v in outs.values()), default=1)
        if hi <= lo:
            hi = lo + 1
        for j, name in enumerate(names):
            v = outs[name]
            ax = axes[r, j]
            ax.hist(np.clip(v, lo, hi), bins=40, range=(lo, hi), color="C0" if r == 0 else "C2")
            ax.set_title(f"{name}\nmean {v.mean():.2g} std {v.std():.2g}", fontsize=8)
            ax.set_yticks([])
            ax.tick_params(labelsize=7)
        s = axes[r, n]
        means = [outs[k].mean() for k in names]
        stds = [outs[k].std() for k in names]
        s.plot(range(n), means, "o-", label="mean")
        s.plot(range(n), stds, "s-", label="std")
        s.set_xticks(range(n))
        s.set_xticklabels(names, rotation=45, ha="right", fontsize=7)
        s.set_title(label, fontsize=9)
        s.legend(fontsize=7)
        s.grid(alpha=0.3)
        axes[r, 0].set_ylabel(label, fontsize=9)
    if trained is None:
        fig.text(0.5, 0.01, "no model.pt (the run was stopped before saving): initialization only", ha="center", fontsize=8, color="red")
    fig.suptitle("Activation distributions per layer (seed 002 Fig. 7.23/7.24): " + _title(run), fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    return path


def activation_stats_png(run: Run, path: Path) -> Path:
    h = run.history
    st = h.stat_steps
    names = h.act_names
    panels = [("mean", "output mean"), ("std", "output std")]
    if np.isfinite(h.act("zero_frac")).any():
        panels.append(("zero_frac", "share of outputs <= 0 (ReLU family)"))
    if np.isfinite(h.act("sat_frac")).any():
        panels.append(("sat_frac", "share saturated (sigmoid/tanh)"))
    if np.isfinite(h.act("dead_frac")).any():
        panels.append(("dead_frac", "share of units silent for the whole batch"))
    fig = Figure(figsize=(4 * len(panels), 3.6), dpi=DPI)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    colors = _layer_colors(len(names))
    for ax, (stat, label) in zip(axes, panels):
        a = h.act(stat)
        for j, name in enumerate(names):
            ok = np.isfinite(a[:, j])
            if ok.any():
                ax.plot(st[ok], a[ok, j], color=colors[j], lw=1.3, label=name)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if stat.endswith("_frac"):
            ax.set_ylim(-0.02, 1.02)
    if names:
        axes[0].legend(fontsize=7)
    else:
        axes[0].text(0.5, 0.5, "no activation modules recorded", ha="center", transform=axes[0].transAxes)
    fig.suptitle("Recorded activation statistics: " + _title(run), fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    return path


def render_all(run_dir: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    """Write the run's PNGs into ``out_dir`` (default: the run directory) and return their paths."""
    run = Run(run_dir)
    out = Path(out_dir) if out_dir else run.dir
    out.mkdir(parents=True, exist_ok=True)
    return [loss_png(run, out / "loss.png"), grad_norms_png(run, out / "grad_norms.png"),
            activations_png(run, out / "activations.png"), activation_stats_png(run, out / "activation_stats.png")]
