"""The pictures of one recorded run (matplotlib Agg, no pyplot and no global figure state).

``render_all(run_dir, out_dir=None)`` writes into ``out_dir`` (default: the run directory)

- ``loss.png``: the loss of every step (light) and its running mean, the per-epoch train and test
  loss, the loss of a constant prediction for reference, and the metric over epochs; a red line
  where the loss became NaN/inf;
- ``grad_norms.png``: each layer's gradient norm over training (light = first layer, dark = last)
  and the median per layer in layer order: the vanishing picture of seed 004 (exact zeros drawn
  at the bottom of the log axis and marked, NaN/inf skipped and marked);
- ``activations.png``: each activation layer's recorded output distribution at step 1 (the initial
  weights) and at the last recorded step, as in seed 002 Fig. 7.23/7.24, with its mean and std;
- ``activation_stats.png``: the recorded activation mean, std, and share of zeros / saturated /
  silent units over training;
- ``grad_heatmap.png``: log10 gradient norm as a layer x step image (first layer on top): where
  along the depth, and from when, the gradient dies or blows up;
- ``activation_hist.png``: each activation layer's recorded histogram over training, one panel per
  layer (x: step, y: activation value, colour: share of outputs), fastai's "colorful dimension".

Each figure's title says what it shows ("fc1's gradient is 1/130 of out's"); the line under it
names the run.  Every function here draws from what was recorded (never rebuilding the network) and
never raises on a broken run (NaN, a killed run without ``model.pt`` or ``summary.json``, layers with
zero gradient).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
from matplotlib import colormaps, ticker
from matplotlib.figure import Figure

from gradmedic.measure.units import UNBOUNDED_RANGE as UNBOUNDED
from gradmedic.run.records import Run
from gradmedic.show import style
from gradmedic.show.figures import Curve, Panel, Profile, draw_loss, draw_per_epoch, draw_profile, histogram_grid
from gradmedic.show.numbers import decade, num, ratio, sci
from gradmedic.show.style import BAD, layer_colors, mark_non_finite, new_figure, smooth, spans_decades, tidy_log_axis

NAMES = ("loss.png", "grad_norms.png", "grad_heatmap.png", "activations.png", "activation_stats.png",
         "activation_hist.png")


def describe(run: Run) -> str:
    s, summ = run.spec, run.summary or {}
    m, t, d = s.get("model", {}), s.get("train", {}), s.get("data", {})
    hidden = m.get("hidden") or []
    act = m.get("activation")
    arch = f"{act} [{hidden[0]}]x{len(hidden)}" if len(set(hidden)) == 1 and len(hidden) >= 3 else f"{act} {hidden}"
    auto_cnn = m.get("kind") == "auto" and d.get("dataset") == "digits" and run.history.layer_names[:1] == ["conv1"]
    if m.get("kind") == "cnn" or auto_cnn:
        arch = f"conv {m.get('channels')} + " + arch
    parts = [f"run {s.get('name', '?')}", f"{d.get('dataset')} (normalize {d.get('normalize')})", arch,
             f"init {m.get('init')}" + (f" std {m.get('init_std')}" if m.get("init") == "normal" else "")]
    if m.get("batchnorm", "none") != "none":
        parts.append(f"batchnorm {m['batchnorm']}")
    parts.append(f"{t.get('optimizer')} lr {t.get('lr')}")
    steps = summ.get("steps") or (int(run.history.loss_steps[-1]) if len(run.history.loss_steps) else 0)
    parts.append(f"{len(run.epochs)} epochs, {steps} steps")
    status = summ.get("status", "killed (no summary)")
    if status != "ok":
        parts.append(str(status))
    return "  |  ".join(parts)


def _finish(fig: Figure, run: Run, headline: str, path: Path) -> Path:
    return style.save(fig, path, headline, describe(run))


def _note_figure(run: Run, path: Path, headline: str, note: str) -> Path:
    fig = new_figure((10, 3.2))
    style.note(fig.subplots(), note)
    return _finish(fig, run, headline, path)


def _no_histograms(run: Run, path: Path, title: str) -> Path | None:
    """A note figure when the run has no activation histogram to draw (None when it has)."""
    h = run.history
    if not h.act_names:
        return _note_figure(run, path, f"{title}: none", "The network has no activation module gradmedic knows.")
    if h.hists is None or h.hist_ranges is None:
        return _note_figure(run, path, f"{title}: not recorded",
                            "This run was recorded before gradmedic kept activation histograms, so there is nothing\n"
                            "to draw here; the other pictures are unaffected. Train the spec again to see them.")
    if not len(h.stat_steps) or not np.isfinite(h.hists).any():
        return _note_figure(run, path, f"{title}: not recorded", "No activation histogram was recorded (no sampled step).")
    return None


def _non_finite_step(run: Run) -> int | None:
    nf = (run.summary or {}).get("non_finite") or {}
    if nf.get("step"):
        return int(nf["step"])
    bad = ~np.isfinite(run.history.loss)
    return int(run.history.loss_steps[np.argmax(bad)]) if bad.any() else None


# -- loss ------------------------------------------------------------------------------------------

def loss_png(run: Run, path: Path) -> Path:
    h, summ = run.history, run.summary or {}
    steps, loss = h.loss_steps, h.loss
    ok = np.isfinite(loss)
    ep = run.epochs
    metric = summ.get("metric") or ("mse" if run.spec.get("data", {}).get("dataset") == "regression" else "accuracy")
    ref = run.header.get("reference_loss")
    ref = float(ref) if isinstance(ref, (int, float)) and math.isfinite(ref) else None
    nf_step = _non_finite_step(run)

    fig = new_figure((11.5, 4.8))
    ax, ax2 = fig.subplots(1, 2, width_ratios=[3, 2])
    ep_loss = np.array([e[k] for e in ep for k in ("train_loss", "test_loss")], dtype=float)
    log = spans_decades(np.r_[loss[ok], ep_loss])
    many = ok.sum() > 30
    if ok.any():  # every step's loss, light, under its running mean
        ax.plot(steps[ok], loss[ok], color="0.6" if many else "C0", lw=0.6 if many else 1.3, alpha=0.55 if many else 1,
                marker="" if many else ".", label="loss of each step")
    else:
        ax.text(0.5, 0.5, "no finite loss recorded", ha="center", va="center", transform=ax.transAxes, color=BAD)
    if ep:
        es = [e["step"] for e in ep]
        for key, mk, c in (("train_loss", "o", "C1"), ("test_loss", "s", "C3")):
            ax.plot(es, [e[key] for e in ep], mk, ms=4, color=c, mec="white", mew=0.5, zorder=4,
                    label=f"{key.replace('_', ' ')} (end of epoch)")
    k = max(5, int(ok.sum()) // 60) | 1
    mean = Curve(f"running mean ({k} steps)", steps, loss, np.zeros(0), np.zeros(0), non_finite_step=nf_step)
    draw_loss(ax, [mean] if many else [], ["C0"], k=k, log=log, reference=ref, label="loss")
    if not many:
        mark_non_finite(ax, nf_step)

    if ep:
        epochs = np.array([e["epoch"] for e in ep], dtype=float)
        tr = np.array([e["train_metric"] for e in ep], dtype=float)
        te = np.array([e["test_metric"] for e in ep], dtype=float)
        draw_per_epoch(ax2, [Curve(f"train {metric}", steps[:0], loss[:0], epochs, tr),
                             Curve(f"test {metric}", steps[:0], loss[:0], epochs, te)], ["C1", "C3"],
                       label=metric, log=False if metric == "accuracy" else None)
        if metric == "accuracy":
            lo = np.nanmin(np.r_[tr, te]) if np.isfinite(np.r_[tr, te]).any() else 0.0
            ax2.set_ylim(max(0.0, min(lo - 0.05, 0.5)), 1.01)
            ax2.set_title(f"Accuracy: train {tr[-1]:.1%}, test {te[-1]:.1%}")
        else:
            ax2.set_title(f"{metric.upper()}: train {num(tr[-1])}, test {num(te[-1])}")
        if len(ep) == 1:
            ax2.set_xticks(epochs)
    else:
        why = f"it stopped at step {nf_step} (NaN/inf)" if nf_step else "it was stopped"
        style.note(ax2, f"No epoch finished:\n{why} before the first evaluation,\nso there is no {metric} to show.")

    # headline
    if nf_step is not None:
        nf = summ.get("non_finite") or {}
        val = nf.get("loss", "NaN/inf")
        fin = loss[ok & (steps < nf_step)]
        grow = f", after growing from {num(fin[0])} to {num(fin.max())}" if len(fin) > 1 and fin.max() > 10 * fin[0] else ""
        headline = f"Training diverged: the loss became {val} at step {nf_step}{grow}"
    elif ok.sum() >= 2:
        n0 = max(1, min(10, int(ok.sum()) // 20))
        first = float(np.median(loss[ok][:n0]))
        last = float(ep[-1]["train_loss"]) if ep else float(np.median(loss[ok][-n0:]))
        headline = f"Loss {num(first)} → {num(last)} over {int(steps[ok][-1])} steps"
        if ref is not None and last >= 0.97 * ref:
            headline += f": no better than a constant prediction ({num(ref)})"
        elif ep:
            m = ep[-1]["test_metric"]
            headline += f", test {metric} {m:.1%}" if metric == "accuracy" else f", test {metric} {num(m)}"
    else:
        headline = "Training loss"
    if summ.get("status") == "interrupted":
        headline += " (interrupted)"
    return _finish(fig, run, headline, path)


# -- gradient norms ----------------------------------------------------------------------------

def _median_per_layer(g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median, 25th and 75th percentile of each layer's finite values (NaN where it has none)."""
    out = np.full((3, g.shape[1]), np.nan)
    for j in range(g.shape[1]):
        col = g[:, j][np.isfinite(g[:, j])]
        if len(col):
            out[:, j] = np.percentile(col, [50, 25, 75])
    return out[0], out[1], out[2]


def grad_norms_png(run: Run, path: Path) -> Path:
    h = run.history
    names = list(h.layer_names)
    L = len(names)
    g = h.layer("grad_norm") if L else np.zeros((0, 0))
    st = h.stat_steps
    colors = layer_colors(L)
    med, q1, q3 = _median_per_layer(g) if L else (np.zeros(0),) * 3
    finite = g[np.isfinite(g)]
    pos = np.r_[finite[finite > 0], q1[np.isfinite(q1) & (q1 > 0)]]
    floor = float(pos.min()) / 10 if len(pos) else 1e-8  # exact zeros are drawn one decade below the smallest value
    nf_step = _non_finite_step(run)

    fig = new_figure((12, 5.2))
    ax, ax2 = fig.subplots(1, 2, width_ratios=[3, 2])
    show_legend = style.spread(L)
    any_zero = any_bad = any_bad_drawn = False
    for j, name in enumerate(names):
        y = g[:, j]
        ok = np.isfinite(y)
        zero = ok & (y == 0)
        bad = ~ok
        any_zero |= bool(zero.any())
        any_bad |= bool(bad.any())
        if not ok.any():
            continue
        yy = np.where(ok, np.where(zero, floor, y), np.nan)
        k = max(1, int(ok.sum()) // 80) | 1  # a light running mean in log space: the trend, not batch noise
        ys = smooth(yy, k, log=True) if k > 1 else yy
        ys = np.where(zero, floor, ys)  # an exact zero stays at the bottom, not smeared into its neighbours
        label = name
        if zero.any():
            fin = np.flatnonzero(ok)
            tail = fin[np.flatnonzero(~zero[fin])[-1] + 1:] if (~zero[fin]).any() else fin  # zeros up to the end
            label += f" (0 from step {st[tail[0]]})" if len(tail) >= max(2, len(fin) // 4) else " (sometimes 0)"
        ax.plot(st, ys, color=colors[j], lw=1.6, label=label if j in show_legend else None,
                marker="v" if zero.sum() and zero.sum() < 40 else "", markevery=np.flatnonzero(zero).tolist() or None, ms=4)
        if bad.any():
            ax.plot(st[bad], np.full(bad.sum(), 0.97), "x", color=BAD, ms=6, mew=1.5, transform=ax.get_xaxis_transform(),
                    label=None if any_bad_drawn else "NaN/inf (not drawn)")
            any_bad_drawn = True
    ax.set_yscale("log")
    if any_zero:
        ax.axhline(floor, color="0.45", ls=(0, (2, 3)), lw=1)
        ax.text(0.005, floor / 1.15, "exactly 0", transform=ax.get_yaxis_transform(), va="top", ha="left", fontsize=8.5,
                color="0.3")
        ax.set_ylim(bottom=floor / 2.5)
    tidy_log_axis(ax)
    mark_non_finite(ax, nf_step, label=not any_bad)
    ax.set_xlabel("step")
    ax.set_ylabel("gradient L2 norm (log scale)")
    ax.set_title("Gradient norm of each layer over training")
    if L:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), title="layer", title_fontsize=8.5,
                  fontsize=8 if L > 6 else 8.5, borderaxespad=0.3, ncol=2 if len(show_legend) > 11 else 1)
    if not finite.size:
        ax.text(0.5, 0.5, "no gradient norm recorded", ha="center", va="center", transform=ax.transAxes, color=BAD)

    profile = Profile("median", list(med), list(q1), list(q3))
    draw_profile(ax2, Panel("median gradient norm", names, [profile]), ["0.55"], point_colors=colors)
    if not np.all(np.isfinite(med) & (med > 0)):
        ax2.legend(loc="best", fontsize=8)
    ax2.set_title("Median per layer (bars: 25th–75th percentile)")

    # headline: growth when the norms exploded, else the first layer against the last
    growth = None
    for j in range(L):
        fin = np.flatnonzero(np.isfinite(g[:, j]) & (g[:, j] > 0))
        if len(fin) >= 2:
            top = fin[np.argmax(g[fin, j])]
            r = g[top, j] / g[fin[0], j]
            if r > 1e3 and top > fin[0] and (growth is None or r > growth[0]):
                growth = (r, names[j], g[fin[0], j], g[top, j], int(st[top]))
    if growth and (nf_step is not None or any_bad or growth[0] > 1e6):
        r, n, a, b, s_ = growth
        headline = f"Gradients exploded: {n}'s norm grew from {num(a)} to {num(b)} by step {s_}"
        if nf_step is not None:
            headline += f", NaN/inf at step {nf_step}"
    elif L >= 2 and np.isfinite(med[0]) and np.isfinite(med[-1]):
        a, b, fa, fb = med[0], med[-1], names[0], names[-1]
        nzero = int(np.sum(med == 0))
        if a == 0 or b == 0:
            zs = [names[j] for j in range(L) if med[j] == 0]
            which = ", ".join(zs) if len(zs) <= 4 else f"{zs[0]} … {zs[-1]}"
            headline = (f"{nzero} of {L} layers get a gradient of exactly 0 most of the time: {which}" if nzero > 1
                        else f"{zs[0]}'s gradient is exactly 0 most of the time")
        else:
            r = a / b
            if r < 1e-5:
                headline = f"Gradient norm per layer: {fa}'s is {sci(r)} of {fb}'s"
            elif r < 1 / 3:
                headline = f"Gradient norm per layer: {fa}'s is 1/{ratio(1 / r)} of {fb}'s"
            elif r > 3:
                headline = f"Gradient norm per layer: {fa}'s is {ratio(r)} times {fb}'s"
            else:
                headline = f"Gradient norm per layer: {fa} and {fb} of similar size ({fa} = {r:.2g}x {fb})"
            if nzero:
                headline += f"; {nzero} layer{'s' if nzero > 1 else ''} at exactly 0"
    elif L >= 1 and np.isfinite(med[0]):
        headline = f"Gradient norm of {names[0]}: median {num(med[0])}"
    else:
        headline = "Gradient norm per layer: no finite value recorded"
    return _finish(fig, run, headline, path)


# -- activation distributions at the first and the last recorded step -----------------------------------

MAX_HIST_LAYERS = 6  # activation layers drawn (evenly chosen, first and last always)


def activations_png(run: Run, path: Path) -> Path:
    """Each activation layer's recorded output distribution at the first sampled step (step 1: the initial
    weights) and at the last, titled with the recorded mean and std (seed 002 Fig. 7.23/7.24).  Drawn
    from the monitor's histograms (40 bins over the activation's range, values beyond in the end bins),
    never by rebuilding the network."""
    h = run.history
    names, hists, ranges = list(h.act_names), h.hists, h.hist_ranges
    title = "Activation distributions per layer"
    missing = _no_histograms(run, path, title)
    if missing:
        return missing
    recorded = np.flatnonzero(np.isfinite(hists).any(axis=(1, 2)))
    st = h.stat_steps
    first, last = int(recorded[0]), int(recorded[-1])
    shown = style.spread(len(names), MAX_HIST_LAYERS)
    mean, std, zero, sat = h.act("mean"), h.act("std"), h.act("zero_frac"), h.act("sat_frac")
    when = {first: f"step {st[first]} (initial weights)" if st[first] == 1 else f"step {st[first]}"}
    if last != first:
        when[last] = f"step {st[last]} (last recorded)"
    rows, titles = {}, {}
    for i, label in when.items():
        rows[label] = [(hists[i, j], np.linspace(*ranges[j], hists.shape[2] + 1)) for j in shown]
        titles[label] = [f"mean {num(mean[i, j])}  std {num(std[i, j])}" for j in shown]
    # headline: how the spread changes from the first activation layer to the last, and the worst share
    # of outputs at zero (ReLU family) or saturated (sigmoid/tanh), as the monitor measured them
    parts = [f"{num(std[i, 0])} → {num(std[i, -1])} at step {st[i]}" for i in when]
    headline = (f"Activation std from {names[0]} to {names[-1]}: " if len(names) > 1 else f"Activation std of {names[0]}: ") \
        + ", ".join(parts)
    worst = None
    for i in when:
        for j, name in enumerate(names):
            for share, what, limit in ((zero[i, j], "≤ 0", 0.9), (sat[i, j], "saturated", 0.3)):
                if math.isfinite(share) and share >= limit and (worst is None or share > worst[0]):
                    worst = (share, f"{name} {share:.0%} {what} at step {st[i]}")
    if worst:
        headline += f"; {worst[1]}"
    if len(shown) < len(names):
        headline += f" ({len(shown)} of {len(names)} layers drawn)"
    return histogram_grid(path, rows, [names[j] for j in shown], headline, describe(run), titles=titles)


# -- recorded activation statistics over training -----------------------------------------------

_ACT_PANELS = (
    ("mean", "output mean", None),
    ("std", "output std", None),
    ("zero_frac", "share of outputs ≤ 0 (ReLU family)", (0, 1)),
    ("sat_frac", "share saturated (sigmoid/tanh)", (0, 1)),
    ("dead_frac", "share of units silent for a whole batch", (0, 1)),
)


def _last_finite(col: np.ndarray) -> float:
    ok = np.isfinite(col)
    return float(col[ok][-1]) if ok.any() else math.nan


def activation_stats_png(run: Run, path: Path) -> Path:
    h = run.history
    st = h.stat_steps
    names = list(h.act_names)
    A = len(names)
    panels = [(s, t, lim) for s, t, lim in _ACT_PANELS if A and len(st) and np.isfinite(h.act(s)).any()]
    n = max(1, len(panels))
    ncols = n if n <= 3 else math.ceil(n / 2)
    nrows = 1 if n <= 3 else 2
    fig = new_figure((max(10.0, min(12.0, 3.6 * ncols + 2.2)), 4.4 if nrows == 1 else 6.4))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False).ravel())
    colors = layer_colors(A)
    nf_step = _non_finite_step(run)
    show = style.spread(A)
    handles = {}
    for ax, (stat, title, lim) in zip(axes, panels, strict=False):
        a = h.act(stat)
        for j, name in enumerate(names):
            ok = np.isfinite(a[:, j])
            if ok.any():
                line, = ax.plot(st[ok], a[ok, j], color=colors[j], lw=1.4, marker="." if ok.sum() < 30 else "",
                                label=name)
                if j in show:
                    handles.setdefault(name, line)
        ax.set_title(title)
        ax.set_xlabel("step")
        if lim:
            ax.set_ylim(-0.03, 1.03)
            ax.yaxis.set_major_formatter(ticker.PercentFormatter(1.0, decimals=0))
        elif stat == "std" and spans_decades(a[np.isfinite(a)], 2) and not (a[np.isfinite(a)] <= 0).any():
            ax.set_yscale("log")
            tidy_log_axis(ax)
        mark_non_finite(ax, nf_step, label=ax is axes[0])
    for ax in axes[len(panels):]:
        ax.set_axis_off()
    if not panels:
        axes[0].set_axis_off()
        axes[0].text(0.5, 0.5, "No activation statistics were recorded\n"
                     "(no activation module gradmedic knows, or no sampled step).",
                     ha="center", va="center", transform=axes[0].transAxes)
    elif handles:
        fig.legend(handles=[handles[n] for n in names if n in handles], loc="outside right center",
                   title="activation", title_fontsize=8.5, ncol=2 if len(handles) > 12 else 1)

    # headline: the most alarming final share
    headline = "Recorded activation statistics over training"
    if panels:
        worst = None
        for stat, what, limit in (("dead_frac", "of units never fire", 0.5), ("sat_frac", "of outputs saturated", 0.3),
                                  ("zero_frac", "of outputs ≤ 0", 0.9)):
            a = h.act(stat)
            for j, name in enumerate(names):
                v = _last_finite(a[:, j])
                if math.isfinite(v) and v >= limit and (worst is None or v > worst[0]):
                    worst = (v, f"{name}: {v:.0%} {what} at the last recorded step")
            if worst:
                break
        headline = f"Activations over training: {worst[1]}" if worst else \
            "Activations over training: no layer silent or saturated at the end"
    return _finish(fig, run, headline, path)


# -- gradient norm as a layer x step image ------------------------------------------------------

MAX_COLUMNS = 600  # recorded steps drawn as image columns; beyond, neighbouring steps share a column
MAX_HIST_PANELS = 12  # activation layers drawn as histogram-over-time panels (evenly chosen)
style.ZERO = "0.80"  # an exact zero gradient: light grey, outside the colour scale on purpose


def _columns(n: int, most: int = MAX_COLUMNS) -> list[np.ndarray]:
    """Indices of ``n`` recorded steps grouped into at most ``most`` consecutive columns."""
    return [np.array([i]) for i in range(n)] if n <= most else np.array_split(np.arange(n), most)


def _step_edges(steps: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """Cell edges on the step axis: halfway between neighbouring recorded steps (half a gap at the ends)."""
    s = np.asarray(steps, dtype=float)
    if len(s) == 1:
        full = np.array([s[0] - 0.5, s[0] + 0.5])
    else:
        mid = (s[1:] + s[:-1]) / 2
        full = np.r_[s[0] - (mid[0] - s[0]), mid, s[-1] + (s[-1] - mid[-1])]
    return full[[g[0] for g in groups] + [len(s)]]


def _decade_colorbar(fig: Figure, mappable, ax, lo: int, hi: int, label: str) -> None:
    every = max(1, math.ceil((hi - lo) / 10))  # at most ~10 labelled decades
    cb = fig.colorbar(mappable, ax=ax, pad=0.01, fraction=0.04, aspect=25)
    cb.set_ticks(list(range(lo, hi + 1, every)))
    cb.set_ticklabels([decade(e) for e in range(lo, hi + 1, every)])
    cb.set_label(label)


def grad_headline(g: np.ndarray, st: np.ndarray, names: list[str]) -> str:
    """What the heatmap shows, in one sentence: NaN/inf, growth over time, zeros, or how the gradient
    changes from the last layer back to the first."""
    L = len(names)
    bad = ~np.isfinite(g)
    if bad.any():
        i = int(np.argmax(bad.any(1)))
        where = [names[j] for j in np.flatnonzero(bad[i])]
        return f"Gradient norm per layer and step: NaN/inf from step {st[i]} in " + (
            ", ".join(where) if len(where) <= 4 else f"{len(where)} of {L} layers")
    growth = None
    for j in range(L):
        pos = np.flatnonzero(g[:, j] > 0)
        if len(pos) >= 2:
            top = pos[np.argmax(g[pos, j])]
            r = g[top, j] / g[pos[0], j]
            if top > pos[0] and r > 1e3 and (growth is None or r > growth[0]):
                growth = (r, j, top)
    if growth:  # a thousandfold rise over training: the exploding picture of seed 004
        r, j, top = growth
        return (f"Gradient norms grow {math.log10(r):.1f} decades during training: {names[j]}'s reaches "
                f"{num(g[top, j])} at step {st[top]}")
    med = np.array([np.median(g[:, j]) for j in range(L)])
    zeros = [j for j in range(L) if med[j] == 0]
    if zeros:
        j = zeros[0]
        nz = np.flatnonzero(g[:, j] != 0)
        since = st[nz[-1] + 1] if len(nz) and nz[-1] + 1 < len(st) else st[0]
        more = f" (and {len(zeros) - 1} more layer{'s' if len(zeros) > 2 else ''})" if len(zeros) > 1 else ""
        return f"The gradient is dead: {names[j]}{more} gets exactly 0 from step {since} on"
    if L < 2:
        return f"Gradient norm of {names[0]} over training: median {num(med[0])}" if L else "Gradient norm per layer"
    rel = med / med[-1]
    first, last = names[0], names[-1]
    # From the output back: the first layer whose gradient is under 1/100 of the last layer's.  Two
    # decades is where seed 004's sigmoid net stops learning in its first layers (1/120 there).
    dying = next((j for j in range(L - 1, -1, -1) if rel[j] < 1e-2), None)
    if dying is not None:
        frm = f"from {names[dying]} to the input" if dying > 0 else f"in {first}"
        return (f"The gradient dies toward the input: {frm} it is under 1/100 of {last}'s "
                f"({first}: {num(med[0])}, {last}: {num(med[-1])})")
    if rel[0] < 0.1:
        return f"The gradient fades toward the input: {first}'s is 1/{ratio(1 / rel[0])} of {last}'s"
    if rel.max() > 100:
        j = int(np.argmax(rel))
        return f"The gradient grows toward the input: {names[j]}'s is {ratio(rel[j])} times {last}'s"
    span = math.log10(rel.max() / rel.min()) if rel.min() > 0 else math.inf
    return f"The gradient reaches every layer: all within {span:.1f} decades of each other"


def grad_heatmap_png(run: Run, path: Path) -> Path:
    """log10 gradient norm, layers as rows (first layer on top), recorded steps as columns."""
    h = run.history
    names = list(h.layer_names)
    L, st = len(names), h.stat_steps
    fig = new_figure((12, min(14.0, max(3.6, 0.32 * L + 2.4))))
    ax = fig.subplots()
    if not L or not len(st):
        ax.set_axis_off()
        ax.text(0.5, 0.5, "No gradient norms were recorded (no sampled step).", ha="center", va="center",
                transform=ax.transAxes)
        return _finish(fig, run, "Gradient norm per layer and step: nothing recorded", path)
    g = h.layer("grad_norm")
    groups = _columns(len(st))
    cells = np.full((L, len(groups)), np.nan)
    cat = np.zeros((L, len(groups)))  # 0: coloured by value, 1: exactly zero, 2: NaN/inf
    for c, idx in enumerate(groups):
        block = g[idx]
        bad = ~np.isfinite(block).all(0)
        with warnings.catch_warnings():  # a column with no finite value is marked NaN/inf below
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(np.where(np.isfinite(block), block, np.nan), axis=0)
        cat[:, c] = np.where(bad, 2, np.where(med == 0, 1, 0))
        cells[:, c] = np.where(cat[:, c] == 0, np.log10(np.where(med > 0, med, np.nan)), np.nan)
    x = _step_edges(st, groups)
    y = np.arange(L + 1) - 0.5
    ok = np.isfinite(cells)
    lo = math.floor(float(cells[ok].min())) if ok.any() else -1
    hi = math.ceil(float(cells[ok].max())) if ok.any() else 0
    hi = max(hi, lo + 1)
    cmap = colormaps["viridis"]
    mesh = ax.pcolormesh(x, y, np.ma.masked_invalid(cells), cmap=cmap, vmin=lo, vmax=hi, shading="flat")
    if (cat > 0).any():
        from matplotlib.colors import ListedColormap

        ax.pcolormesh(x, y, np.ma.masked_equal(cat, 0), cmap=ListedColormap([style.ZERO, BAD]), vmin=0.5, vmax=2.5,
                      shading="flat")
    ax.set_ylim(L - 0.5, -0.5)  # first layer at the top, as the network is drawn
    ax.set_yticks(np.arange(L))
    ax.set_yticklabels(names, fontsize=9 if L <= 20 else 7)
    if L > 40:
        for i, t in enumerate(ax.get_yticklabels()):
            t.set_visible(i % math.ceil(L / 40) == 0 or i == L - 1)
    ax.grid(False)
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))  # steps are whole numbers
    pooled = f" (columns of ~{len(st) // len(groups)} recorded steps: their median)" if len(groups) < len(st) else ""
    ax.set_xlabel("step" + pooled)
    ax.set_ylabel("layer (input at the top)")
    ax.set_title("log₁₀ gradient L2 norm of each layer at each recorded step")
    _decade_colorbar(fig, mesh, ax, lo, hi, "gradient L2 norm")
    from matplotlib.patches import Patch

    marks = [Patch(fc=style.ZERO, ec="0.5", label="exactly 0")] if (cat == 1).any() else []
    marks += [Patch(fc=BAD, ec="0.5", label="NaN/inf")] if (cat == 2).any() else []
    if marks:
        ax.legend(handles=marks, loc="upper left", bbox_to_anchor=(0.0, -0.13 if L < 8 else -0.08), ncol=2,
                  frameon=False, fontsize=8.5)
    return _finish(fig, run, grad_headline(g, st, names), path)


# -- activation histograms over training ("colorful dimension") --------------------------------------

def activation_hist_png(run: Run, path: Path) -> Path:
    """One panel per activation layer: x = step, y = activation value (the recorded bins), colour = the
    share of that step's sampled outputs in the bin, on a log scale (fastai's ActivationStats picture)."""
    from matplotlib.colors import LogNorm

    h = run.history
    names, kinds = list(h.act_names), list(h.act_kinds)
    hists, ranges = h.hists, h.hist_ranges
    title = "Activation histograms over training"
    missing = _no_histograms(run, path, title)
    if missing:
        return missing
    st = h.stat_steps
    groups = _columns(len(st))
    x = _step_edges(st, groups)
    shown = style.spread(len(names), MAX_HIST_PANELS)
    nrows = math.ceil(len(shown) / 4)  # at most 4 panels a row, rows filled evenly (5 -> 3 + 2)
    ncols = math.ceil(len(shown) / nrows)
    fig = new_figure((max(8.0, min(13.0, 3.0 * ncols + 1.8)), 2.8 * nrows + 1.3))
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True).ravel()
    # shares below 1e-3 (one value in a thousand) are drawn as empty: a layer's histogram counts 32 x units values
    # up to 64 units, else the first samples that hold 2048 (monitor.HIST_VALUES), so for up to ~30 units one value is
    # already a visible share
    norm = LogNorm(vmin=1e-3, vmax=1.0)
    cmap = colormaps["viridis"].with_extremes(under=colormaps["viridis"](0.0), bad="0.85")
    mesh, notes, unbounded = None, [], False
    for ax, j in zip(axes, shown, strict=False):
        counts = hists[:, j, :]  # (S, bins)
        colsum = np.stack([np.nansum(counts[g], 0) if np.isfinite(counts[g]).any() else np.full(counts.shape[1], np.nan)
                           for g in groups])
        with np.errstate(all="ignore"):
            share = colsum / colsum.sum(1, keepdims=True)
        lo, hi = ranges[j]
        edges = np.linspace(lo, hi, counts.shape[1] + 1)
        mesh = ax.pcolormesh(x, edges, np.where(share > 0, share, 1e-9).T if np.isfinite(share).any() else share.T,
                             cmap=cmap, norm=norm, shading="flat")
        ax.grid(False)
        ax.set_ylim(lo, hi)
        # the recorded range names the activation (the monitor fixes it by module type)
        label = {(0.0, 1.0): "sigmoid", (-1.0, 1.0): "tanh", (0.0, UNBOUNDED): "ReLU"}.get((lo, hi), kinds[j])
        ax.set_title(f"{names[j]} ({label})", fontsize=9.5)
        if lo == -UNBOUNDED or hi == UNBOUNDED:
            unbounded = True
        last = share[np.isfinite(share).all(1)][-1] if np.isfinite(share).all(1).any() else None
        if last is None:
            continue
        if kinds[j] == "saturating":
            what, v = "in the outer bins", float(last[0] + last[-1])
        elif lo <= 0 < edges[1] or edges[-2] < 0 <= hi or (lo < 0 < hi):
            z = int(np.searchsorted(edges, 0.0, side="right") - 1)
            z = min(max(z, 0), len(last) - 1)
            what, v = "in the bin at 0", float(last[z])
        else:
            what, v = "", math.nan
        if what:
            ax.set_title(f"{names[j]} ({label})\n", fontsize=9.5)
            ax.text(0.5, 1.02, f"at the end: {v:.0%} {what}", transform=ax.transAxes, ha="center", va="bottom",
                    fontsize=8, color="0.35")
            limit = 0.3 if kinds[j] == "saturating" else 0.9  # the thresholds of activations.png's headline
            if v >= limit:
                notes.append((v, f"{names[j]}: {v:.0%} of outputs {what} at the last step"))
    for k, ax in enumerate(axes):
        if k >= len(shown):
            ax.set_axis_off()
        elif k % ncols == 0:
            ax.set_ylabel("activation value")
        if k < len(shown) and k + ncols >= len(shown):  # no panel below this one
            ax.set_xlabel("step")
            ax.tick_params(labelbottom=True)
    if mesh is not None:
        cb = fig.colorbar(mesh, ax=list(axes[:len(shown)]), pad=0.01, fraction=0.03, aspect=30)
        cb.set_label("share of the layer's sampled outputs in the bin")
    if unbounded:
        fig.supxlabel(f"Unbounded activations: bins over [-{UNBOUNDED:g}, {UNBOUNDED:g}] ([0, {UNBOUNDED:g}] for ReLU); "
                      "values beyond are counted in the end bins. Grey: not recorded at that step.",
                      fontsize=8, color="0.35")
    if len(shown) < len(names):
        title += f" ({len(shown)} of {len(names)} layers)"
    headline = f"{title}: {max(notes)[1]}" if notes else f"{title}: no layer piles up at 0 or in its end bins"
    return _finish(fig, run, headline, path)


# -- all of them -----------------------------------------------------------------------------------

def render_all(run_dir: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    """Write every picture in ``NAMES`` (loss, gradient norms and their heatmap, activation distributions,
    statistics and histograms over time) for the run in ``run_dir`` into ``out_dir`` (default: the run
    directory); return their paths in that order."""
    run = Run(run_dir)
    out = Path(out_dir) if out_dir is not None else run.dir
    out.mkdir(parents=True, exist_ok=True)
    draw = (loss_png, grad_norms_png, grad_heatmap_png, activations_png, activation_stats_png, activation_hist_png)
    with style.drawing():
        return [f(run, out / name) for f, name in zip(draw, NAMES, strict=False)]
