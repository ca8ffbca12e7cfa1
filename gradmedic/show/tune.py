"""What ``gradmedic tune`` shows: the progress over the trials, the trials table (console and report),
the study's pictures (optimization history, parameter importances, intermediate values by prune
reason) and its report; ``save`` writes the pictures and report.html into the study directory.

Everything here reads what ``tune.tune`` hands over (a ``TuneStart``, the trials' rows, the finished
``TuneResult``); nothing trains.  matplotlib is loaded only to draw, so that a study without a report
prints its table without it.  From Python, as the CLI does::

    with ConsoleProgress(console) as progress:
        res = tune(spec, 20, on_start=progress.start, on_trials=progress.trials)
    save(res)
    print_tune(res, console)
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gradmedic.show.numbers import value
from gradmedic.show.progress import Bar
from gradmedic.tune import reason_key, write_json

if TYPE_CHECKING:
    from rich.console import Console

    from gradmedic.tune import TuneResult, TuneStart

COMPLETE = "#1f4e9c"
INTERRUPTED = "0.6"


# -- progress --------------------------------------------------------------------------------------

class Progress:
    """A bar over the trials (best so far, pruned count by reason) on a terminal; a line per trial otherwise."""

    def __init__(self, console: Console, total: int, quiet: bool, direction: str):
        self.bar, self.direction, self.seen = Bar(console, total, quiet, "tune"), direction, set()

    def update(self, rows: list[dict[str, Any]]) -> None:
        """``rows``: the study's trials as ``tune._rows`` gives them; says each newly finished one once."""
        finished = [r for r in rows if r["state"] in ("COMPLETE", "PRUNED", "FAIL")]
        new = [r for r in finished if r["number"] not in self.seen]  # workers finish trials out of order
        if self.bar.mode == "none" or not new:
            return
        done = [r["value"] for r in finished if r["state"] == "COMPLETE" and r["value"] is not None]
        pruned: dict[str, int] = {}
        for r in finished:
            if r["state"] == "PRUNED":
                pruned[reason_key(r)] = pruned.get(reason_key(r), 0) + 1
        text = "best " + value((max if self.direction == "maximize" else min)(done, default=None))
        if pruned:
            text += "  pruned: " + ", ".join(f"{k} {v}" for k, v in pruned.items())
        counted = sum(not r["interrupted"] for r in finished)
        # the bar shows the text; without one (a pipe, a file) each finished trial gets its own line
        lines = [_trial_line(r, text) for r in new] if self.bar.mode == "plain" else [None]
        for line in lines:
            self.bar.set(counted, text, line=line)
        self.seen |= {r["number"] for r in new}

    def close(self) -> None:
        self.bar.close()


class ConsoleProgress:
    """tune's progress on a console, as ``gradmedic tune`` shows it: the study and its space in two lines,
    then a :class:`Progress` bar.  Pass ``start`` as ``on_start`` and ``trials`` as ``on_trials``; as a
    context manager it ends the bar however tune ends."""

    def __init__(self, console: Console):
        self.console, self.bar = console, None

    def start(self, s: TuneStart) -> None:
        resumed = f", resuming with {s.finished} finished" if s.finished else ""
        again = f" ({len(s.requeued)} interrupted trial(s) queued again)" if s.requeued else ""
        self.console.print(f"[bold]tune[/bold] {s.study}: {s.trials} trials of {s.metric} ({s.direction}), pruner "
                           f"{s.pruner}, {s.workers} worker(s){resumed}{again}; storage {s.storage}", highlight=False)
        self.console.print("  space: " + "; ".join(f"{p.name} {p.describe()}" for p in s.space), highlight=False)
        self.bar = Progress(self.console, s.trials, False, s.direction)

    def trials(self, rows: list[dict[str, Any]]) -> None:
        self.bar.update(rows)

    def __enter__(self) -> ConsoleProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


def _trial_line(r: dict[str, Any], text: str) -> str:
    why = f" ({reason_key(r)})" if r["state"] == "PRUNED" else ""
    return f"trial {r['number']}: {r['state'].lower()}{why}, value {value(r['value'])}, {r['steps'] or 0} steps; {text}"


# -- the table -------------------------------------------------------------------------------------

def table_rows(res: TuneResult) -> list[list[Any]]:
    """Header and one row per trial: number, state, value, steps, each parameter, who pruned it and why."""
    names = [p.name for p in res.space]
    extra = sorted({k for t in res.trials for k in t["params"] if k not in names})
    names += extra
    pruned = any(t["state"] == "PRUNED" for t in res.trials)
    rows: list[list[Any]] = [["#", "state", res.metric, "steps", *names] + (["pruned by", "why"] if pruned else [])]
    for t in res.trials:
        state = "interrupted" if t["interrupted"] else t["state"].lower()
        why = [reason_key(t) if t["state"] == "PRUNED" else "", t["reason"] or ""] if pruned else []
        rows.append([t["number"], state, value(t["value"]), value(t["steps"]), *(value(t["params"].get(n)) for n in names),
                     *why])
    return rows


def print_tune(res: TuneResult, console: Console) -> None:
    """The trials table, the steps and prune counts, the best trial and the files written."""
    from rich.table import Table

    rows = table_rows(res)
    tab = Table(title=f"tune {res.study}: {len(res.trials)} trials, pruner {res.pruner}")
    for h in rows[0]:
        tab.add_column(str(h), overflow="fold", max_width=70 if h == "why" else None)
    for r in rows[1:]:
        tab.add_row(*(str(c) for c in r))
    console.print(tab)
    b = res.best
    pruned = res.pruned_by()
    console.print(f"  {res.steps} steps in {res.seconds:.1f} s; pruned: "
                  + (", ".join(f"{k} {v}" for k, v in pruned.items()) or "none"), highlight=False)
    if b:
        console.print(f"  best: trial {b['number']}, test {res.metric} {b['value']:.4g}, "
                      + ", ".join(f"{k}={value(v)}" for k, v in b["params"].items()), highlight=False)
    for k in ("best_spec", "report"):
        if k in res.files:
            console.print(f"  {k.replace('_', ' ')}: {res.files[k]}", highlight=False, soft_wrap=True)
    if "best_spec" in res.files:
        console.print(f"  train it: gradmedic train {res.files['best_spec']}", highlight=False, soft_wrap=True)
    if res.status == "interrupted":
        console.print("  interrupted: the finished trials are kept; run the same command again to resume", highlight=False)


# -- the pictures ----------------------------------------------------------------------------------

def _reason(t: dict[str, Any]) -> str:
    if t["state"] == "PRUNED":
        return reason_key(t)
    return "interrupted" if t["interrupted"] else t["state"].lower()


def _colors(reasons: list[str]) -> dict[str, Any]:
    """complete: blue, failed/interrupted: grey, each prune reason its own colour (the doctor's in reds)."""
    from matplotlib import colormaps

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
    from matplotlib import ticker

    from gradmedic.show import style

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
    from gradmedic.show import style

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
    from gradmedic.show import style

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
    from gradmedic.show import style

    out = Path(out)
    with style.drawing():
        paths = [history_png(res, out / "history.png"), importances_png(res, out / "importances.png"),
                 intermediate_png(res, out / "intermediate.png")]
    return [p for p in paths if p is not None]


# -- the report ------------------------------------------------------------------------------------

CAPTIONS = {
    "history.png": "Each trial's final value (pruned trials at their last reported value, coloured by who pruned them "
                   "and why) and the best so far.",
    "importances.png": "How much of the value's variance each parameter explains (Optuna's fANOVA importances, over "
                       "the completed trials).",
    "intermediate.png": "Each trial's test metric after every epoch; pruned trials coloured by reason and ending with a "
                        "cross where they were cut.",
}


def save(res: TuneResult) -> None:
    """The pictures and report.html into ``res.dir``; the report's path goes into ``res.files`` and
    tune.json, written again to list it."""
    res.files["report"] = str(write_report(res, render(res, res.dir)))
    write_json(res)


def write_report(res: TuneResult, images: list[Path]) -> Path:
    from gradmedic.show.report import Section
    from gradmedic.show.report import write_report as write_html

    b = res.best
    summary = [["", ""], ["study", res.study], ["storage", res.storage], ["objective", f"test {res.metric} ({res.direction})"],
               ["pruner", res.pruner], ["trials", len(res.trials)], ["steps trained", res.steps],
               ["seconds", round(res.seconds, 1)], ["status", res.status],
               ["pruned", ", ".join(f"{k} {v}" for k, v in res.pruned_by().items()) or "none"],
               ["best", f"trial {b['number']}: {b['value']:.4g}" if b else "-"],
               ["best spec", res.files.get("best_spec", "-")]]
    space = [["field", "searched over"]] + [[p.name, p.describe()] for p in res.space]
    sections = [Section("Study", table=summary), Section("Search space", table=space),
                Section("Trials", table=table_rows(res)), Section("Pictures", images=images, captions=CAPTIONS)]
    return write_html(res.dir / "report.html", f"tune {res.study}", sections,
                      subtitle=f"{len(res.trials)} trials, pruner {res.pruner}")
