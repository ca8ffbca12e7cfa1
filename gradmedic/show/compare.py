"""What ``gradmedic compare`` shows: its progress, the side-by-side table (console and report), its two
pictures (loss curves and per-layer gradient profile of every variant, through ``figures``) and its
report; ``save`` writes them with compare.json.

Everything here reads what ``compare.compare`` hands over (a ``Grid``, each ``RunOutcome``, the
finished ``CompareResult``); nothing trains.  From Python, as the CLI does::

    with ConsoleProgress(console) as progress:
        res = compare(spec, vary, seeds=2, on_start=progress.start, on_run=progress.done)
    print_compare(res, console)
    save(res)
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gradmedic.show.numbers import flags, fraction, label_value, pm
from gradmedic.show.progress import Bar
from gradmedic.show.report import write_atomic

if TYPE_CHECKING:
    from rich.console import Console

    from gradmedic.compare import CompareResult, Grid, RunOutcome, VariantResult


# -- progress --------------------------------------------------------------------------------------

def done_line(o: RunOutcome, label: str) -> str:
    """One finished run, as the progress says it."""
    if o.status == "failed":
        return f"{label}, seed {o.seed}: failed: {o.error}"
    m = o.test_metric
    metric = (o.summary or {}).get("metric", "metric")
    return (f"{label}, seed {o.seed}: {o.status}, test {metric} {m:.4g}" if m is not None else
            f"{label}, seed {o.seed}: {o.status}") + (f" ({o.seconds:.1f} s)" if o.seconds else "")


class ConsoleProgress:
    """compare's progress on a console, as ``gradmedic compare`` shows it: the grid in one line, then a bar
    (off a terminal, a numbered line per finished run).  Pass ``start`` as ``on_start`` and ``done`` as
    ``on_run``; as a context manager it ends the bar however compare ends."""

    def __init__(self, console: Console):
        self.console, self.bar = console, None

    def start(self, grid: Grid) -> None:
        self.console.print(f"[bold]compare[/bold]: {len(grid.variants)} variant(s) x {len(grid.seeds)} seed(s) = "
                           f"{grid.runs} runs on {grid.workers} worker process(es)"
                           + (f" into {grid.dir}" if grid.dir else ""), highlight=False)
        self.bar = Bar(self.console, grid.runs, False, "compare")

    def done(self, outcome: RunOutcome, label: str) -> None:
        self.bar.update(done_line(outcome, label))

    def __enter__(self) -> ConsoleProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


# -- the table -------------------------------------------------------------------------------------

def _reach(v: VariantResult, target: float | None) -> str:
    n = sum(r.status not in ("failed", "cancelled") for r in v.runs)  # the runs that could have reached it
    if target is None or n == 0:
        return "-"
    if not v.reached:
        return f"never (0/{n})"
    return f"step {v.steps_to_target:.0f}, epoch {v.epochs_to_target:.1f} ({v.reached}/{n})"


def table_rows(res: CompareResult) -> list[list[Any]]:
    """The side-by-side table, header first (the terminal and the report show the same)."""
    m = res.metric
    head = ["variant", f"test {m} (mean ± std)", f"train {m}", "reaches target", "status", "problems found"]
    rows = [head]
    for v in res.variants:
        n = len(v.runs)
        rows.append([v.label, pm(v.test_mean, v.test_std), pm(v.train_mean, v.train_std), _reach(v, res.target),
                     ", ".join(f"{c} {k}" for k, c in v.statuses.items()),
                     ", ".join(f"{p} {c}/{n}" for p, c in v.problems.items()) or "none"])
    return rows


def print_compare(res: CompareResult, console: Console) -> None:
    from rich.table import Table

    rows = table_rows(res)
    t = Table(title=f"compare: {len(res.variants)} variants x {len(res.seeds)} seeds (seeds {', '.join(map(str, res.seeds))})")
    for i, h in enumerate(rows[0]):
        t.add_column(h, justify="left" if i in (0, 4, 5) else "right", overflow="fold")
    for r in rows[1:]:
        t.add_row(*map(str, r))
    # into a file or pipe the 80-column default would fold every label (print(width=) cannot widen
    # past the console's width); a terminal keeps its own width
    width = console.width
    if not console.is_terminal:
        console.width = max(width, 150)
    try:
        console.print(t)
    finally:
        console.width = width
    console.print(f"  target: {res.target_note}", highlight=False)
    for v in res.variants:  # each problem once per variant, with the doctor's first remedy as --vary-able flags
        for f in v.findings():
            rem = (f.get("remedies") or [{}])[0]
            fl = flags(rem.get("spec_change") or {})
            console.print(f"  {v.label}: [bold]{f['problem']}[/bold] in {v.problems.get(f['problem'], 0)}/{len(v.runs)} seeds"
                          + (f"; remedy: {rem['change']}" if rem.get("change") else "") + (f" [cyan]{fl}[/cyan]" if fl else ""),
                          highlight=False)
    run_s = sum(r.seconds or 0 for r in res.runs)
    console.print(f"  {len(res.runs)} runs in {res.seconds:.1f} s on {res.workers} worker(s); the runs themselves took "
                  f"{run_s:.1f} s" + (f" ({run_s / res.seconds:.2f} run-seconds per second)" if res.seconds > 0 else "")
                  + ("" if res.startup_seconds is None else
                     f"; the first started after {res.startup_seconds:.1f} s (worker start-up)"),
                  highlight=False)
    for r in res.runs:
        if r.status in ("failed", "cancelled"):
            console.print(f"  [red]{r.status}[/red]: {r.name}" + (f": {r.error}" if r.error else ""), highlight=False)
    if res.status == "interrupted":
        console.print("  [yellow]interrupted[/yellow]: finished runs are kept; the table shows only them", highlight=False)


# -- pictures --------------------------------------------------------------------------------------

def _align(curves: list[tuple[list[float], list[float]]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Seeds' curves on their common x values (the union): mean, min and max where any seed has a value."""
    xs = sorted({x for c in curves for x in c[0]})
    if not xs:
        return (np.zeros(0),) * 4
    idx = {x: i for i, x in enumerate(xs)}
    m = np.full((len(curves), len(xs)), np.nan)
    for k, (cx, cy) in enumerate(curves):
        for x, y in zip(cx, cy, strict=False):
            m[k, idx[x]] = y
    # every column has a value (x is the union of the seeds' x), so nanmean never sees an all-NaN column
    return np.asarray(xs, dtype=float), np.nanmean(m, 0), np.nanmin(m, 0), np.nanmax(m, 0)


def _subtitle(res: CompareResult) -> str:
    """The base spec in one line, leaving out the varied fields (the legend names those)."""
    from gradmedic.spec import resolve

    s = resolve(res.variants[0].variant.spec if res.variants else res.spec)  # fields given one value applied
    d, m, t = s.data, s.model, s.train
    varied = [k for k, v in res.vary.items() if len(v) > 1]
    parts = [("dataset", d.dataset), ("normalize", f"normalize {d.normalize}"), ("hidden", f"hidden {m.hidden}"),
             ("activation", m.activation), ("init", f"init {m.init}"), ("optimizer", t.optimizer),
             ("lr", f"lr {t.lr:g}" if "optimizer" not in varied else ""), ("epochs", f"{t.epochs} epochs")]
    base = " ".join(text for f, text in parts if f not in varied and text)
    return f"{base} | varied: {', '.join(varied) or 'nothing'} | {len(res.seeds)} seed(s) each"


def loss_png(res: CompareResult, path: Path) -> Path | None:
    """Training loss per step (left) and test metric per epoch (right) of every variant, mean over seeds
    with the min-max band."""
    from gradmedic.show.figures import Curve, loss_curves

    if not any(r.loss for r in res.runs):
        return None
    curves = []
    for v in res.variants:
        runs = [r for r in v.runs if r.loss]
        if not runs:
            continue
        x, mean, lo, hi = _align([(r.loss_steps, r.loss) for r in runs])
        ep = [r for r in v.runs if r.epochs]
        ex, em, elo, ehi = _align([([e["epoch"] for e in r.epochs], [e["test_metric"] for e in r.epochs]) for r in ep])
        curves.append(Curve(f"{v.label} ({len(runs)} seed{'s' if len(runs) > 1 else ''})", x, mean, ex, em,
                            loss_band=(lo, hi) if len(runs) > 1 else None, epoch_band=(elo, ehi) if len(ep) > 1 else None))
    refs = {round(r.reference_loss, 6) for r in res.runs
            if isinstance(r.reference_loss, float) and math.isfinite(r.reference_loss)}
    best = res.best()
    if best is not None:
        head = (f"Best: {best.label}, test {res.metric} {pm(best.test_mean, best.test_std)}"
                + (f" ({len(res.variants)} variants)" if len(res.variants) > 1 else ""))
    else:
        head = "Training loss of each variant"
    return loss_curves(path, curves, head, _subtitle(res) + "; lines: mean over seeds, bands: min–max",
                       epoch_label=f"test {res.metric}", smoothing=None, loss_label="training loss (bin means)",
                       epoch_log=False if res.metric == "accuracy" else None,
                       reference=refs.pop() if len(refs) == 1 else None,
                       epoch_line=(res.target, f"target {res.target:.3g}") if res.target is not None else None)


def grads_png(res: CompareResult, path: Path) -> Path | None:
    """Each variant's median gradient norm per layer (input -> output; geometric mean over seeds,
    bars: min-max over seeds) on a log axis: the vanishing picture of seed 004, one line per variant."""
    from gradmedic.show.figures import Panel, Profile, layer_profile

    layers: list[str] = []
    for v in res.variants:
        layers += [k for k in v.grad_norm if k not in layers]
    if not layers:
        return None
    profiles, parts = [], []
    for v in res.variants:
        per = [[r.grad_norm.get(n) for r in v.runs if r.grad_norm] for n in layers]
        per = [[q for q in p if isinstance(q, (int, float)) and math.isfinite(q) and q > 0] for p in per]
        values = [v.grad_norm.get(n) for n in layers]
        lo = [min(p) if p else np.nan for p in per]
        hi = [max(p) if p else np.nan for p in per]
        profiles.append(Profile(v.label, values, lo, hi))
        names = [n for n in v.grad_norm if math.isfinite(v.grad_norm[n]) and v.grad_norm[n] > 0]
        if len(names) >= 2:
            parts.append((v.grad_norm[names[0]] / v.grad_norm[names[-1]], v.label, f"{names[0]}/{names[-1]}"))
    if len(parts) > 2:  # the extremes: the whole range in one line
        lo_, hi_ = min(parts), max(parts)
        head = (f"First-to-last layer gradient ({lo_[2]}) from {fraction(lo_[0])} ({lo_[1]}) "
                f"to {fraction(hi_[0])} ({hi_[1]})")
    elif parts:
        head = "First-to-last layer gradient: " + "; ".join(f"{lab}: {lay} = {fraction(r)}" for r, lab, lay in parts)
    else:
        head = "Median gradient norm per layer"
    panel = Panel("median gradient L2 norm (log scale)", layers, profiles)
    return layer_profile(path, [panel], head, _subtitle(res) + "; points: geometric mean over seeds, bars: min–max")


# -- the report ------------------------------------------------------------------------------------

def save(res: CompareResult) -> None:
    """compare.json, the two PNGs and report.html into ``res.dir`` (each written even when some runs failed);
    sets ``res.plots`` and ``res.report``, which compare.json lists."""
    assert res.dir is not None
    res.plots = [p for p in (loss_png(res, res.dir / "compare_loss.png"), grads_png(res, res.dir / "compare_grads.png")) if p]
    res.report = write_report(res)
    write_atomic(res.dir / "compare.json", json.dumps(res.to_dict(), indent=2, default=str))


def write_report(res: CompareResult) -> Path:
    from gradmedic.show.report import Section
    from gradmedic.show.report import write_report as write_html
    from gradmedic.spec import SECTIONS, Spec

    assert res.dir is not None
    default = Spec()
    changed = [f"{k}={label_value(v)}" for sec in SECTIONS for k, v in getattr(res.spec, sec).model_dump().items()
               if v != getattr(getattr(default, sec), k)]
    base = ", ".join(changed) + " (every other field at its default)" if changed else "the default spec"
    grid = [["variant", *res.vary]] + [[v.label, *(label_value(v.variant.overrides[k]) for k in res.vary)] for v in res.variants]
    sections = [
        Section("Grid", f"{len(res.variants)} variant(s), the cartesian product of the varied fields in the order given, "
                        f"each trained with seeds {', '.join(map(str, res.seeds))} ({len(res.runs)} runs on {res.workers} "
                        f"worker process(es), {res.seconds:.1f} s).\n\nBase spec ({res.spec.name}): {base}.", table=grid),
        Section("Side by side", f"Final test and train {res.metric}: mean ± sample standard deviation over seeds. "
                                f"Target: {res.target_note}. 'reaches target': the first epoch whose test {res.metric} met it "
                                "(mean over the seeds that reached it). Problems: how many seeds' runs the doctor found each in."
                + ("\n\nInterrupted: only the finished runs are included." if res.status == "interrupted" else ""),
                table=table_rows(res)),
        Section("Loss curves and gradients", "Left: the training loss (means over bins of steps), mean over seeds with "
                "the min–max band; right: the test metric after each epoch. Below: each layer's median gradient norm.",
                images=list(res.plots)),
    ]
    for v in res.variants:
        n = len(v.runs)
        found = ", ".join(f"{p} in {c} of {n} seeds" for p, c in v.problems.items())
        text = (f"Problems: {found}. Each is shown once, from the first seed that showed it, with its remedies."
                if found else f"The doctor found no problem in any of the {n} seed(s).")
        failed = [r for r in v.runs if r.status in ("failed", "cancelled")]
        if failed:
            text += "\n\n" + " ".join(f"{r.name}: {r.status}" + (f" ({r.error})" if r.error else "") + "." for r in failed)
        runs = [["seed", "status", f"test {v.metric}", f"train {v.metric}", "reached at step", "problems", "run dir"]]
        runs += [[r.seed, r.status, r.test_metric, r.train_metric, r.reached_step if r.reached_step is not None else "never",
                  ", ".join(r.problems) or "none", Path((r.summary or {}).get("run_dir") or "-").name] for r in v.runs]
        sections.append(Section(f"Variant: {v.label}", text, table=runs,
                                findings=v.findings() if any(r.diagnosis for r in v.runs) else None))
    title = f"gradmedic compare: {', '.join(res.vary) or 'seeds'} ({res.spec.name})"
    return write_html(res.dir, title, sections)
