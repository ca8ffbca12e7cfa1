"""Repair: train with the doctor watching, stop at the first serious finding, apply its best-ranked
remedy as a spec change, train again from fresh weights; repeat until training is healthy and the
metric improved, or the budget is spent.

The search is a greedy hill-climb over spec changes.  A change is kept when its attempt scores better
than the spec it changed (finite beats non-finite, then a better metric); otherwise it is undone and
the next remedy for the same finding is tried.  Early stopping is what keeps the cost low: a failing
attempt costs only the steps until the doctor is sure, so the healthy attempt's full run dominates.

    result = gradmedic.repair(spec, budget=5)
    result.fixed, result.cost, result.repaired   # did it work, steps / one full run, the spec that works
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from .diagnose import Finding
from .errors import SpecError
from .monitor import Monitor
from .records import new_run_dir
from .remedies import Remedy
from .spec import Spec, override, resolve, to_json

DEFAULT_BUDGET = 5  # trainings; the default


@dataclass
class Attempt:
    index: int  # 1-based
    spec: Spec
    change: dict[str, Any]  # the spec change this attempt tried, relative to its parent ({} for the original)
    remedy: Remedy | None  # the remedy the change came from
    parent: int | None  # index of the attempt whose spec was changed
    status: str  # ok, non_finite, stopped, interrupted
    steps: int
    metric_name: str
    test_metric: float | None
    train_metric: float | None
    finding: Finding | None  # the first serious finding; else the first warning (a plateau); None when healthy
    problems: list[str]
    run_dir: Path | None
    findings: list[dict[str, Any]] = field(default_factory=list)  # the doctor's findings, as in diagnosis.json
    kept: bool = False  # the change improved on its parent and stays in the spec

    @property
    def healthy(self) -> bool:
        return self.finding is None and self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        f = self.finding
        return {"attempt": self.index, "change": self.change, "remedy": self.remedy.to_dict() if self.remedy else None,
                "parent": self.parent, "status": self.status, "steps": self.steps, "metric": self.metric_name,
                "test_metric": self.test_metric, "train_metric": self.train_metric, "healthy": self.healthy,
                "problem": f.problem if f else None, "layers": f.layers if f else [],
                "found_at_step": f.detected_at if f else None, "message": f.message if f else None,
                "problems": self.problems, "kept": self.kept, "run_dir": str(self.run_dir) if self.run_dir else None}


@dataclass
class RepairResult:
    original: Spec
    repaired: Spec | None  # the spec of the healthy, improved attempt; None when none was found
    attempts: list[Attempt]
    full_steps: int  # steps of one full run of the original spec
    budget: int
    dir: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def interrupted(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].status == "interrupted"

    @property
    def fixed(self) -> bool:
        return self.repaired is not None

    @property
    def steps(self) -> int:
        return sum(a.steps for a in self.attempts)

    @property
    def cost(self) -> float:
        """Steps trained in all attempts / steps of one full run (1.0: no more than training once)."""
        return self.steps / self.full_steps if self.full_steps else math.nan

    @property
    def changes(self) -> dict[str, Any]:
        """The spec changes between the original and the repaired spec, as flat fields."""
        if self.repaired is None:
            return {}
        return _diff(resolve(self.original), self.repaired)

    def to_dict(self) -> dict[str, Any]:
        return {"fixed": self.fixed, "interrupted": self.interrupted, "cost": self.cost, "steps": self.steps, "full_steps": self.full_steps,
                "budget": self.budget, "changes": self.changes, "attempts": [a.to_dict() for a in self.attempts],
                "original": self.original.model_dump(), "repaired": self.repaired.model_dump() if self.repaired else None,
                "dir": str(self.dir) if self.dir else None, "files": {k: str(v) for k, v in self.files.items()}}


def full_run_steps(spec: Spec) -> int:
    """Optimizer steps in one full run of ``spec`` (epochs x batches per epoch), as the trainer counts them."""
    from . import data as data_mod  # sklearn loads only when a repair runs

    d = data_mod.load(spec.data, image=spec.model.kind == "cnn")
    n = len(d.x_train)
    bs = n if spec.train.optimizer == "gd" else min(spec.train.batch_size, n)
    return spec.train.epochs * math.ceil(n / bs)


def first_serious(monitor: Monitor) -> str | None:
    """Stop as soon as the doctor is sure of a serious problem, or of a plateau at the chance-level loss
    (the net has learned nothing in 500+ steps, longer than the ~400 a healthy seed 004 net sits there):
    the reason, or None to go on."""
    d = monitor.diagnose()
    f = d.first_serious() or next((p for p in d.findings if p.problem == "plateau" and _at_chance(p)), None)
    return f"{f.problem} (sure at step {f.detected_at})" if f else None


def _at_chance(f: Finding) -> bool:
    ref, loss = f.evidence.get("reference_loss"), f.evidence.get("loss")
    return bool(ref and loss is not None and loss >= 0.95 * ref)  # within 5% of "learned nothing"


class _Checker:
    """``stop_when`` for the trainer: :func:`first_serious` every ``base`` steps, then every 5% of the steps
    so far.  One diagnosis reads the whole history, so a fixed interval would cost O(steps^2) over a long
    run; growing it keeps the total to O(steps log steps) while a finding is acted on by 1.05x its step."""

    def __init__(self, base: int):
        self.base, self.next = base, base

    def __call__(self, monitor: Monitor) -> str | None:
        if monitor.steps < self.next:
            return None
        self.next = monitor.steps + max(self.base, monitor.steps // 20)
        return first_serious(monitor)


def _diff(a: Spec, b: Spec) -> dict[str, Any]:
    out = {}
    for section in ("data", "model", "train"):
        da, db = getattr(a, section).model_dump(), getattr(b, section).model_dump()
        out.update({k: v for k, v in db.items() if da.get(k) != v})
    return out


def _key(spec: Spec) -> str:
    """What a spec trains, whatever its name: two specs with the same key are the same attempt."""
    return to_json(resolve(spec).model_copy(update={"name": "-"}))


def _better(a: Attempt, b: Attempt) -> bool:
    """Does attempt ``a`` score better than ``b``?  Finite beats non-finite; then the test metric."""
    fa, fb = a.status != "non_finite", b.status != "non_finite"
    if fa != fb:
        return fa
    ma, mb = a.test_metric, b.test_metric
    if ma is None or not math.isfinite(ma):
        return False
    if mb is None or not math.isfinite(mb):
        return True
    # A real improvement, not noise: 1% of the metric for MSE, one point of accuracy (a net at chance
    # flips between 0.496 and 0.504 on seed 004's 500 test rows).
    return ma < mb * 0.99 if a.metric_name == "mse" else ma > mb + 0.01


def _candidates(att: Attempt) -> list[tuple[Remedy, Spec]]:
    """Remedies for an attempt's first serious finding (then its other findings), as specs to try, best first."""
    if att.finding is None:
        return []
    out, seen = [], set()
    for r in att.finding.remedies:
        if not r.spec_change:
            continue
        try:
            s = override(att.spec, r.spec_change)
        except SpecError:
            continue  # a remedy this spec cannot take (e.g. batchnorm before maxout)
        key = _key(s)
        if key != _key(att.spec) and key not in seen:
            seen.add(key)
            out.append((r, s))
    return out


def repair(spec: Spec, *, budget: int = DEFAULT_BUDGET, runs_dir: str | Path | None = "runs", console: Console | None = None,
           spec_path: str | Path | None = None, check_every: int | None = None,
           tensorboard: str | Path | None = None) -> RepairResult:
    """Repair ``spec`` within ``budget`` trainings.  Records every attempt under ``runs_dir/<ts>-repair-<name>``;
    writes the repaired spec as JSON next to ``spec_path`` (when given) and into that directory.
    ``tensorboard``: also write each attempt's statistics as TensorBoard events in ``tensorboard/attemptN``."""
    from .train import train

    if budget < 1:
        raise SpecError("--budget", f"must be a whole number >= 1 (got {budget})")
    console = console or Console(stderr=True)
    spec = resolve(spec)
    full = full_run_steps(spec)
    # The doctor's verdict can change every recorded step; checking every 4 recorded steps bounds the
    # delay to 4 x stats_every steps while keeping its cost (one diagnosis of the history) negligible.
    check = check_every or 4 * spec.train.stats_every
    out = new_run_dir(runs_dir, f"repair-{spec.name}") if runs_dir is not None else None
    attempts: list[Attempt] = []
    tried: set[str] = set()
    base: Attempt | None = None  # the best attempt so far: the next change is made to its spec
    queue: list[tuple[Remedy | None, Spec, int | None]] = [(None, spec, None)]
    repaired = None
    while queue and len(attempts) < budget:
        remedy, s, parent = queue.pop(0)
        key = _key(s)
        if key in tried:
            continue
        tried.add(key)
        i = len(attempts) + 1
        s = s.model_copy(update={"name": f"{spec.name}-attempt{i}"})
        change = _diff(attempts[parent - 1].spec, s) if parent else {}
        change.pop("name", None)
        with console.status(f"attempt {i}/{budget}: training {spec.name}" + (f" with {_flags(change)}" if change else "")):
            r = train(s, runs_dir=out, progress="none", console=console, stop_when=_Checker(check), check_every=check,
                      tensorboard=Path(tensorboard) / f"attempt{i}" if tensorboard is not None else None)
        # Stopping early is for serious problems; a warning (a plateau) is only acted on once a full run
        # has ended with nothing worse: the loss stayed high for the whole run.
        f = r.diagnosis.first_serious() or next(iter(r.diagnosis.findings), None)
        last = r.epochs[-1] if r.epochs else {}
        att = Attempt(i, resolve(s), change, remedy, parent, r.status, r.steps, r.metric, last.get("test_metric"),
                      last.get("train_metric"), f, sorted(r.diagnosis.problems), r.run_dir,
                      r.diagnosis.to_dict()["findings"])
        attempts.append(att)
        _say(att, console)
        if r.status == "interrupted":  # Ctrl-C: stop repairing, keep and report what was tried
            break
        if base is None or _better(att, base):
            att.kept = base is not None
            base = att
        if att.healthy and (att.index == 1 or _better(att, attempts[0])):
            repaired = att.spec if att.index > 1 else None
            break
        # Next: the best-ranked remedies of the best spec so far; if this attempt was not kept, its
        # parent's remaining remedies are still in the queue and come first.
        if att is base:
            queue = [(rm, sp, att.index) for rm, sp in _candidates(att)] + queue
    result = RepairResult(spec, repaired.model_copy(update={"name": spec.name}) if repaired else None, attempts, full, budget, out)
    _write(result, spec_path)
    return result


def _flags(change: dict[str, Any]) -> str:
    def v(x: Any) -> str:
        return ",".join(map(str, x)) if isinstance(x, list) else str(x).lower() if isinstance(x, bool) else str(x)
    return " ".join(f"--{k.replace('_', '-')} {v(x)}" for k, x in change.items())


def _metric(a: Attempt) -> str:
    return "-" if a.test_metric is None or not math.isfinite(a.test_metric) else f"{a.test_metric:.4g}"


def _say(a: Attempt, console: Console) -> None:
    what = (f"[red]{a.finding.problem}[/red] sure at step {a.finding.detected_at}" if a.finding
            else "[green]healthy[/green]")
    console.print(f"  attempt {a.index}: {_flags(a.change) or 'as given'} -> {what}; {a.status} after {a.steps} steps, "
                  f"test {a.metric_name} {_metric(a)}", highlight=False)


def rows(result: RepairResult) -> list[list[str]]:
    """Before/after, one row per attempt (header first): remedy applied, problem found, step, metric."""
    out = [["#", "remedy applied", "problem found", "found at", "steps", "status",
            f"test {result.attempts[0].metric_name}"]]
    for a in result.attempts:
        rem = "(the spec as given)" if a.index == 1 else _flags(a.change) + ("" if a.kept or a.healthy else "  (undone)")
        layers = a.finding.layers if a.finding else []
        prob = (a.finding.problem + (f" in {layers[0]}" + ("..." if len(layers) > 1 else "") if layers else "")) if a.finding else "none"
        out.append([str(a.index), rem, prob, str(a.finding.detected_at) if a.finding else "-", str(a.steps), a.status,
                    _metric(a)])
    return out


def table(result: RepairResult) -> Table:
    """Before/after: one row per attempt."""
    t = Table(title=f"repair of {result.original.name}: "
              + (f"[green]fixed[/green] in {len(result.attempts)} training(s)" if result.fixed else
                 "healthy as given" if result.attempts and result.attempts[0].healthy else
                 "[red]interrupted[/red]" if result.interrupted else
                 f"[red]not fixed[/red] within {result.budget} training(s)"))
    head, *body = rows(result)
    for c in head:
        t.add_column(c, justify="left" if c in ("remedy applied", "problem found", "status") else "right")
    for r in body:
        t.add_row(*r)
    return t


def print_result(result: RepairResult, console: Console) -> None:
    console.print(table(result))
    console.print(f"cost: {result.steps} steps trained / {result.full_steps} steps of one full run = "
                  f"[bold]{result.cost:.2f}[/bold]", highlight=False)
    if result.fixed:
        console.print(f"changes: {_flags(result.changes)}", highlight=False)
    elif result.attempts[0].healthy:
        console.print("the doctor found no serious problem: nothing to repair")
    else:
        console.print(f"[red]interrupted during attempt {len(result.attempts)}.[/red] What each attempt found:" if result.interrupted
                      else "[red]nothing tried within the budget made training healthy and better.[/red] What each attempt found:")
        for a in result.attempts:
            console.print(f"  attempt {a.index} ({_flags(a.change) or 'as given'}): "
                          + (a.finding.message if a.finding else f"no serious problem, test {a.metric_name} {_metric(a)}"),
                          highlight=False)
    for k, p in result.files.items():
        console.print(f"{k}: {p}", highlight=False)


def _write(result: RepairResult, spec_path: str | Path | None) -> None:
    """repair.json, the repaired spec (next to the original and in the repair directory), report.html."""
    from .plots import render_all
    from .report import Section, write_report

    if result.repaired is not None:
        text = to_json(result.repaired)
        if spec_path is not None:
            p = Path(spec_path)
            dest = p.with_name(p.stem + ".repaired.json")
            dest.write_text(text)
            result.files["repaired spec"] = dest
        if result.dir is not None:
            (result.dir / "repaired.json").write_text(text)
            result.files.setdefault("repaired spec", result.dir / "repaired.json")
    if result.dir is None:
        return
    (result.dir / "repair.json").write_text(json.dumps(result.to_dict(), indent=2, default=str))
    verdict = (f"Fixed: {_flags(result.changes)}." if result.fixed else
               "Healthy as given: nothing to repair." if result.attempts[0].healthy else
               f"Not fixed within {result.budget} trainings.")
    sections = [Section("Attempts", f"{verdict}\n\nCost: {result.steps} steps trained in all attempts / {result.full_steps} "
                        f"steps of one full run = {result.cost:.2f}. Each failing attempt stopped when the doctor was sure "
                        "of a serious problem.", table=rows(result))]
    for a in result.attempts:
        images = render_all(a.run_dir) if a.run_dir else []
        sections.append(Section(f"Attempt {a.index}: {_flags(a.change) or 'the spec as given'}",
                                f"{a.status} after {a.steps} steps; test {a.metric_name} {_metric(a)}.", images=images,
                                findings=a.findings))
    result.files["report"] = write_report(result.dir, f"gradmedic repair: {result.original.name}", sections)
