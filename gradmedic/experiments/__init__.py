"""The seeds' experiments, runnable by name: each states what it expects, runs, checks it and writes a report.

One module per study in this package; each defines ``EXPERIMENT = Experiment(...)``.  A study's
``run(runs_dir, console, size)`` trains what it needs into its own directory (``study_dir``), prints
a side-by-side table, states each expectation as a check, writes ``report.html`` there and returns a
JSON-able dict ``{"experiment", "expected", "checks", "runs", "report", ...}``.  ``size`` is
``"full"`` (the documented study, under 2 minutes on 2 CPU cores) or ``"reduced"`` (the tests').
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

from gradmedic.run.records import new_run_dir
from gradmedic.show.numbers import sig3

# The order of the issue: the story goes from the problem (vanishing, exploding) through its causes
# (initialization, depth) to the remedies (selu, batchnorm, optimizers, ...).
ORDER = ("vanishing", "exploding", "initialization", "depth", "selu", "batchnorm", "optimizers", "learning_rate",
         "normalization", "activations")
SIZES = ("full", "reduced")


@dataclass(frozen=True)
class Experiment:
    name: str
    summary: str  # one line for --list
    expected: str  # the expected outcome, stated before running
    run: Callable[..., dict[str, Any]]  # run(runs_dir=..., console=..., size="full") -> result dict

    def __post_init__(self) -> None:
        study = self.run

        @functools.wraps(study)
        def run(*args: Any, **kwargs: Any) -> dict[str, Any]:
            with one_thread():  # every study, however it is called: see one_thread
                return study(*args, **kwargs)

        object.__setattr__(self, "run", run)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one intra-op thread inside the block, then restore the previous setting.

    The studies' networks are at most 256 units wide: splitting their matrix products over threads costs
    more than it saves, and on a shared 2-core machine the second thread mostly waits for a busy core
    (measured here under load: learning_rate 270 s wall with torch's default 2 threads, 37 s with one;
    32 layers of a 1000x128 matmul + SELU 0.1 s on one thread, 0.5-2 s on two)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def _discover() -> dict[str, Experiment]:
    found: dict[str, Experiment] = {}
    for mod in pkgutil.iter_modules(__path__):
        if mod.name.startswith("_"):
            continue
        exp = getattr(importlib.import_module(f"{__name__}.{mod.name}"), "EXPERIMENT", None)
        if isinstance(exp, Experiment):
            found[exp.name] = exp
    rank = {n: i for i, n in enumerate(ORDER)}
    return dict(sorted(found.items(), key=lambda kv: (rank.get(kv[0], len(ORDER)), kv[0])))


def study_dir(runs_dir: str | Path | None, name: str) -> Path | None:
    """``runs_dir/<timestamp>-experiment-<name>``: the study's runs, plots and report live together."""
    return None if runs_dir is None else new_run_dir(runs_dir, f"experiment-{name}")


def side_by_side(results: dict[str, Any], console: Console, title: str) -> list[list[Any]]:
    """One column per run: metrics, then each layer's median gradient norm (first layer at top).
    Prints the table and returns it as rows (header first) for the report."""
    names = list(results)
    sums = {n: r.summary() for n, r in results.items()}
    metric = next(iter(sums.values()))["metric"]
    rows: list[list[Any]] = [["", *names]]
    rows.append([f"train {metric}", *(sums[n]["train_metric"] for n in names)])
    rows.append([f"test {metric}", *(sums[n]["test_metric"] for n in names)])
    rows.append(["status", *(sums[n]["status"] for n in names)])
    rows.append(["problems found", *(", ".join(sorted(results[n].diagnosis.problems)) or "none" for n in names)])
    sections = [len(rows)]
    layers: list[str] = []
    for s in sums.values():
        layers += [k for k in s["grad_norm"] if k not in layers]
    for layer in layers:
        rows.append([f"grad norm {layer}", *(sums[n]["grad_norm"].get(layer, float("nan")) for n in names)])
    sections.append(len(rows))
    rows.append(["first / last layer", *(sums[n]["first_to_last_grad_ratio"] for n in names)])
    print_table(rows, console, title, sections)
    return rows


def print_table(rows: list[list[Any]], console: Console, title: str, sections: list[int] = ()) -> None:
    t = Table(title=title)
    for i, h in enumerate(rows[0]):
        t.add_column(str(h), justify="left" if i == 0 else "right")
    for i, r in enumerate(rows[1:], 1):
        if i in sections:
            t.add_section()
        t.add_row(*(sig3(c) if c is not None else "" for c in r))
    console.print(t)


def train_loss_png(results: dict[str, Any], path: Path, headline: str, sub: str,
                   reference: float | None = None) -> Path:
    """The runs' loss of every step (trailing mean: a curve's end is not pulled by the missing future) and
    their train loss per epoch, both on log axes, with the constant prediction's loss."""
    from gradmedic.show.figures import Curve, loss_curves

    return loss_curves(path, [Curve.of(k, r, "train_loss") for k, r in results.items()], headline, sub,
                       epoch_label="train loss", smoothing="trailing", log=True, epoch_log=True, reference=reference,
                       epoch_line=(reference, "constant prediction") if reference else None,
                       loss_label="mini-batch loss (trailing mean)")


def print_checks(checks: dict[str, bool], console: Console) -> None:
    for k, ok in checks.items():
        console.print(f"  {'[green]as expected[/green]' if ok else '[red]NOT as expected[/red]'}: {k}", highlight=False)


def run_section(label: str, result: Any, text: str = "", light: bool = False) -> Any:
    """A report section for one trained run: its plots (drawn into its run directory) and findings.
    ``light``: only the loss and gradient-norm pictures (six pictures a run cost seconds, too much for a
    study of many runs)."""
    from gradmedic.run.records import Run
    from gradmedic.show import run as pictures
    from gradmedic.show.report import Section

    images: list = []
    if result.run_dir and light:
        run, d = Run(result.run_dir), Path(result.run_dir)
        with pictures.style.drawing():
            images = [pictures.loss_png(run, d / "loss.png"), pictures.grad_norms_png(run, d / "grad_norms.png")]
    elif result.run_dir:
        images = pictures.render_all(result.run_dir)
    return Section(label, text, images=images, findings=result.diagnosis.to_dict()["findings"])


def train_all(specs: dict[str, Any], out: Path | None, console: Console) -> dict[str, Any]:
    """Train each spec into ``out`` (quietly, one status line each); {label: Result}."""
    from gradmedic.run.train import train

    results = {}
    for label, spec in specs.items():
        with console.status(f"training {label} ({spec.train.epochs} epochs)"):
            results[label] = train(spec, runs_dir=out, progress="none", console=console)
    return results


def finish(name: str, expected: str, checks: dict[str, bool], console: Console, out: Path | None,
           sections: list, runs: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """Print the checks, write ``out/report.html`` (a first section states the expectation and the
    checks) and return the study's result dict."""
    from gradmedic.show.report import Section, write_report

    print_checks(checks, console)
    report = None
    if out is not None:
        head = Section("Expected outcome", expected, checks=checks)
        report = write_report(out, f"gradmedic experiment: {name}", [head, *sections])
        console.print(f"  report: {report}", highlight=False)
    return {"experiment": name, "expected": expected, "checks": checks, "all_as_expected": all(checks.values()),
            "runs": runs or {}, "report": str(report) if report else None, **extra}


EXPERIMENTS: dict[str, Experiment] = _discover()
