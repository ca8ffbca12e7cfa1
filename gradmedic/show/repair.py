"""What ``gradmedic repair`` shows: its progress (a spinner per attempt, then a line saying what the
attempt changed, found, cured and uncovered), the before/after table (console and report) and
report.html with every attempt's pictures; ``save`` writes the report.

Everything here reads what ``repair.repair`` hands over (each judged ``Attempt``, the finished
``RepairResult``); nothing trains.  ``repair.write_json`` writes the search's own data (repair.json and
the repaired spec).  From Python, as the CLI does::

    with ConsoleProgress(console, spec.name) as progress:
        res = repair(spec, on_start=progress.start, on_attempt=progress.done)
    write_json(res, spec_path)
    save(res)
    print_result(res, console)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from gradmedic.show.numbers import flags

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status
    from rich.table import Table

    from gradmedic.repair import Attempt, RepairResult


def _metric(a: Attempt) -> str:
    return "-" if a.test_metric is None or not math.isfinite(a.test_metric) else f"{a.test_metric:.4g}"


# -- progress --------------------------------------------------------------------------------------

def attempt_line(a: Attempt) -> str:
    """One judged attempt, as the progress says it (rich markup)."""
    what = (f"[red]{a.finding.problem}[/red] sure at step {a.finding.detected_at}" if a.finding
            else "[green]healthy[/green]")
    if a.cured or a.appeared:
        said = ([f"cured {', '.join(a.cured)}"] if a.cured else []) + ([f"new {', '.join(a.appeared)}"] if a.appeared else [])
        what += " (" + "; ".join(said) + ")"
    return (f"  attempt {a.index}: {flags(a.change) or 'as given'} -> {what}; {a.status} after {a.steps} steps, "
            f"test {a.metric_name} {_metric(a)}")


class ConsoleProgress:
    """Repair's progress on a console, as ``gradmedic repair`` shows it: a spinner while attempt ``i`` trains, then one
    line per attempt (:func:`attempt_line`).  Pass ``start`` as ``on_start`` and ``done`` as ``on_attempt``; as a
    context manager it stops the spinner however repair ends."""

    def __init__(self, console: Console, name: str):
        self.console, self.name = console, name
        self._status: Status | None = None

    def __enter__(self) -> ConsoleProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()  # an error inside an attempt must not leave the spinner running

    def _stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def start(self, i: int, budget: int, change: dict[str, Any]) -> None:
        with_ = f" with {flags(change)}" if change else ""
        self._status = self.console.status(f"attempt {i}/{budget}: training {self.name}{with_}")
        self._status.start()

    def done(self, a: Attempt) -> None:
        self._stop()
        self.console.print(attempt_line(a), highlight=False)


# -- the table -------------------------------------------------------------------------------------

def _problem(a: Attempt) -> str:
    """The attempt's finding and its first layer ('dead_units in fc2...'), or 'none'."""
    if a.finding is None:
        return "none"
    layers = a.finding.layers
    if not layers:
        return a.finding.problem
    return f"{a.finding.problem} in {layers[0]}" + ("..." if len(layers) > 1 else "")


def rows(result: RepairResult) -> list[list[str]]:
    """Before/after, one row per attempt (header first): remedy applied, problem found, step, metric."""
    out = [["#", "remedy applied", "problem found", "found at", "steps", "status",
            f"test {result.attempts[0].metric_name}"]]
    for a in result.attempts:
        rem = "(the spec as given)" if a.index == 1 else flags(a.change) + ("" if a.kept or a.healthy else "  (undone)")
        out.append([str(a.index), rem, _problem(a), str(a.finding.detected_at) if a.finding else "-", str(a.steps),
                    a.status, _metric(a)])
    return out


def _title(result: RepairResult) -> str:
    if result.fixed:
        verdict = f"[green]fixed[/green] in {len(result.attempts)} training(s)"
    elif result.attempts and result.attempts[0].healthy:
        verdict = "healthy as given"
    elif result.interrupted:
        verdict = "[red]interrupted[/red]"
    else:
        verdict = f"[red]not fixed[/red] within {result.budget} training(s)"
    return f"repair of {result.original.name}: {verdict}"


def table(result: RepairResult) -> Table:
    """Before/after: one row per attempt."""
    from rich.table import Table

    t = Table(title=_title(result))
    head, *body = rows(result)
    for c in head:
        t.add_column(c, justify="left" if c in ("remedy applied", "problem found", "status") else "right")
    for r in body:
        t.add_row(*r)
    return t


def print_result(result: RepairResult, console: Console) -> None:
    """The table, the cost, the changes (or what each attempt found) and the files written."""
    console.print(table(result))
    console.print(f"cost: {result.steps} steps trained / {result.full_steps} steps of one full run = "
                  f"[bold]{result.cost:.2f}[/bold]", highlight=False)
    if result.fixed:
        console.print(f"changes: {flags(result.changes)}", highlight=False)
    elif result.attempts[0].healthy:
        console.print("the doctor found no serious problem: nothing to repair")
    else:
        if result.interrupted:
            console.print(f"[red]interrupted during attempt {len(result.attempts)}.[/red] What each attempt found:")
        else:
            console.print("[red]nothing tried within the budget made training healthy and better.[/red] "
                          "What each attempt found:")
        for a in result.attempts:
            found = a.finding.message if a.finding else f"no serious problem, test {a.metric_name} {_metric(a)}"
            console.print(f"  attempt {a.index} ({flags(a.change) or 'as given'}): {found}", highlight=False)
    for k, p in result.files.items():
        console.print(f"{k}: {p}", highlight=False)


# -- the report ------------------------------------------------------------------------------------

def save(result: RepairResult) -> None:
    """report.html into ``result.dir`` (the table, then each attempt's pictures and findings); its path goes into
    ``result.files``.  Nothing without a repair directory."""
    from gradmedic.show.report import Section, write_report
    from gradmedic.show.run import render_all

    if result.dir is None:
        return
    if result.fixed:
        verdict = f"Fixed: {flags(result.changes)}."
    elif result.attempts[0].healthy:
        verdict = "Healthy as given: nothing to repair."
    else:
        verdict = f"Not fixed within {result.budget} trainings."
    sections = [Section("Attempts", f"{verdict}\n\nCost: {result.steps} steps trained in all attempts / {result.full_steps} "
                        f"steps of one full run = {result.cost:.2f}. Each failing attempt stopped when the doctor was sure "
                        "of a serious problem.", table=rows(result))]
    for a in result.attempts:
        images = render_all(a.run_dir) if a.run_dir else []
        sections.append(Section(f"Attempt {a.index}: {flags(a.change) or 'the spec as given'}",
                                f"{a.status} after {a.steps} steps; test {a.metric_name} {_metric(a)}.", images=images,
                                findings=a.findings))
    result.files["report"] = write_report(result.dir, f"gradmedic repair: {result.original.name}", sections)
