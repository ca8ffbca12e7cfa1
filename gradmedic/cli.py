"""The ``gradmedic`` command: train, show, experiment.

Every spec field is a flag of ``train`` (``--lr``, ``--batch-size``, ...), generated from the spec
so that help text, allowed values and validation never drift apart.  Bad input gets one line on
stderr naming the field and what is allowed, and exit code 2.
"""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path
from typing import Any

import typer

try:  # newer typer vendors click as typer._click and raises its exceptions even when click is installed
    from typer._click import exceptions as click_exc
except ImportError:  # pragma: no cover - older typer depends on click itself
    from click import exceptions as click_exc
from rich.console import Console
from rich.table import Table

from gradmedic import spec as spec_mod
from gradmedic.errors import SpecError, WatchError
from gradmedic.show.diagnosis import to_console
from gradmedic.show.numbers import value

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="gradmedic: train deep networks, see inside them, find out why they do not train.")
out = Console()
err = Console(stderr=True)


# -- spec flags, generated from the pydantic models ---------------------------------------------
def _flag_help(section: str | None, name: str) -> tuple[str, str | None]:
    cls = spec_mod.SECTIONS[section] if section else spec_mod.Spec
    f = cls.model_fields[name]
    choices = spec_mod.allowed(section, name)
    default = f.default
    text = f.description or ""
    if choices:
        text += f" [one of: {', '.join(choices)}]"
    if default is not None and not isinstance(default, bool):
        if isinstance(default, list):
            shown = ",".join(map(str, default))
        elif isinstance(default, float):
            shown = f"{default:g}"
        else:
            shown = default
        text += f" [default: {shown}]"
    ann = str(f.annotation)
    if choices:
        metavar = "|".join(choices) if len(choices) <= 6 else "NAME"
    elif "list" in ann:
        metavar = "N,N,..."
    elif "float" in ann:
        metavar = "NUMBER"
    elif "int" in ann:
        metavar = "INT"
    else:
        metavar = "TEXT"
    return text, metavar


def _spec_params() -> list[inspect.Parameter]:
    params = []
    fields = [(None, "name")] + [(s, n) for s, cls in spec_mod.SECTIONS.items() for n in cls.model_fields]
    for section, name in fields:
        text, metavar = _flag_help(section, name)
        cls = spec_mod.SECTIONS[section] if section else spec_mod.Spec
        is_bool = cls.model_fields[name].annotation is bool
        flag = "--" + name.replace("_", "-")
        if is_bool:
            opt = typer.Option(None, f"{flag}/--no-{flag[2:]}", help=text, rich_help_panel=section or "run")
            ann: Any = bool | None
        else:
            opt = typer.Option(None, flag, help=text, metavar=metavar, rich_help_panel=section or "run")
            ann = str | None
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=opt, annotation=ann))
    return params


def _with_spec_flags(fn):
    """Give ``fn`` one keyword option per spec field; they arrive in ``fn``'s ``flags`` dict."""
    sig = inspect.signature(fn)
    own = [p for p in sig.parameters.values() if p.name != "flags"]
    extra = _spec_params()
    names = {p.name for p in extra}

    def wrapper(**kwargs):
        flags = {k: kwargs.pop(k) for k in list(kwargs) if k in names}
        return fn(flags=flags, **kwargs)

    wrapper.__signature__ = sig.replace(parameters=own + extra)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in own + extra}
    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


def _load_spec(path: Path | None, flags: dict[str, Any]) -> spec_mod.Spec:
    base = spec_mod.load(path) if path else spec_mod.Spec()
    return spec_mod.override(base, flags)


# -- output --------------------------------------------------------------------------------------
def print_summary(s: dict[str, Any], console: Console = out) -> None:
    t = Table(title=f"run {s['name']}" + (f"  ({s['run_dir']})" if s.get("run_dir") else ""), show_header=False)
    t.add_column(style="bold")
    t.add_column()
    t.add_row("status", s["status"])
    t.add_row(f"train {s['metric']}", value(s["train_metric"]))
    t.add_row(f"test {s['metric']}", value(s["test_metric"]))
    t.add_row("steps", f"{s['steps']} in {s['epochs']} epochs ({value(s['steps_per_second'])} steps/s)")
    nf = s.get("non_finite")
    t.add_row("NaN/inf", "none" if not nf else
              f"at step {nf['step']} (epoch {nf.get('epoch')}): loss {nf['loss']}; non-finite gradients in "
              f"{', '.join(nf['nonfinite_gradients']) or '-'}; weights in {', '.join(nf['nonfinite_weights']) or '-'}")
    t.add_row("grad norm first/last", f"{s['first_layer']} {value(s['first_grad_norm'])} / {s['last_layer']} "
              f"{value(s['last_grad_norm'])}  (ratio {value(s['first_to_last_grad_ratio'])})")
    console.print(t)


def print_diagnosis(d, console: Console = out) -> None:
    """The doctor's report: each finding with its evidence and remedies (spec changes as flags)."""
    to_console(d, console)


def _fail(e: SpecError) -> None:
    raise e  # main() prints it as one line and exits with 2


_TB_HELP = "also write the recorded statistics as TensorBoard events into DIR/<run directory name>"
_REPORT_HELP = "write report.html (summary, findings with remedies, every plot; one offline file) into the run directory"


def _run_files(run_dir: Path | None, tensorboard: str | Path | None, diagnosis: dict[str, Any]) -> dict[str, str]:
    """Write the run's report.html (when ``run_dir``); the files to tell the user about."""
    from gradmedic.show.report import run_report

    files = {}
    if run_dir is not None:
        files["report"] = str(run_report(run_dir, diagnosis=diagnosis))
    if tensorboard is not None:
        files["tensorboard"] = str(tensorboard)
    return files


def _print_files(files: dict[str, str]) -> None:
    if "report" in files:
        out.print(f"report: {files['report']}", highlight=False, soft_wrap=True)
    if "tensorboard" in files:
        tb = Path(files["tensorboard"])
        out.print(f"tensorboard events: {tb}  (view: tensorboard --logdir {tb.parent})", highlight=False, soft_wrap=True)


# -- commands ------------------------------------------------------------------------------------
@app.command()
@_with_spec_flags
def train(
    flags: dict[str, Any],
    spec_file: Path | None = typer.Argument(None, metavar="[SPEC]", help="spec file (TOML or JSON); flags override it"),
    json_out: bool = typer.Option(False, "--json", help="print the summary as JSON on stdout"),
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir", help="where run directories are made"),
    progress: str = typer.Option("auto", "--progress", metavar="auto|rich|plain|none", help="progress display (on stderr)"),
    tensorboard: Path | None = typer.Option(None, "--tensorboard", metavar="DIR", help=_TB_HELP),
    report: bool = typer.Option(True, "--report/--no-report", help=_REPORT_HELP),
) -> None:
    """Train a spec, record every layer, print a summary; write report.html into the run directory."""
    from gradmedic.run.train import train as run_train

    if progress not in ("auto", "rich", "plain", "none"):
        _fail(SpecError("--progress", f"{progress!r} is not one of: auto, rich, plain, none"))
    try:
        spec = _load_spec(spec_file, flags)
        result = run_train(spec, runs_dir=runs_dir, progress="none" if json_out and progress == "auto" else progress,
                           tensorboard=tensorboard)
    except SpecError as e:
        _fail(e)
    s = result.summary()
    files = _run_files(result.run_dir if report and result.status != "interrupted" else None,
                       result.extra.get("tensorboard"), result.diagnosis.to_dict())
    if json_out:
        s["diagnosis"] = result.diagnosis.to_dict()
        print(json.dumps({**s, **files}, indent=2))
    else:
        print_summary(s)
        print_diagnosis(result.diagnosis)
        _print_files(files)
    if result.status == "interrupted":
        raise typer.Exit(130)


@app.command()
@_with_spec_flags
def diagnose(
    flags: dict[str, Any],
    spec_or_run: Path = typer.Argument(
        ..., metavar="SPEC|RUN_DIR", help="a spec file to train and diagnose, or a recorded run directory"
    ),
    json_out: bool = typer.Option(False, "--json", help="print the diagnosis as JSON on stdout"),
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir", help="where run directories are made (for a SPEC)"),
    tensorboard: Path | None = typer.Option(None, "--tensorboard", metavar="DIR", help=_TB_HELP),
    report: bool = typer.Option(True, "--report/--no-report", help=_REPORT_HELP),
) -> None:
    """Diagnose a spec (trains it) or a recorded run: what goes wrong, where, since when, what to change.
    Writes report.html into the run directory."""
    from gradmedic.run.records import Run
    from gradmedic.run.tensorboard import export
    from gradmedic.run.train import train as run_train

    if spec_or_run.is_dir():
        if any(v is not None for v in flags.values()):
            _fail(SpecError("flags", "spec flags apply to a SPEC file, not to a recorded RUN_DIR"))
        d = Run(spec_or_run).diagnose()
        run_dir, tb = spec_or_run, export(spec_or_run, tensorboard) if tensorboard is not None else None
    else:
        r = run_train(_load_spec(spec_or_run, flags), runs_dir=runs_dir, progress="none" if json_out else "auto",
                      tensorboard=tensorboard)
        d, run_dir, tb = r.diagnosis, r.run_dir, r.extra.get("tensorboard")
    files = _run_files(run_dir if report else None, tb, d.to_dict())
    if json_out:
        print(json.dumps({**d.to_dict(), **files}, indent=2))
    else:
        print_diagnosis(d)
        _print_files(files)


@app.command()
def show(
    run_dir: Path = typer.Argument(..., help="a run directory written by gradmedic train"),
    out_dir: Path | None = typer.Option(None, "--out", help="where to write the PNGs [default: RUN_DIR]"),
    json_out: bool = typer.Option(False, "--json", help="print the summary as JSON on stdout"),
    tensorboard: Path | None = typer.Option(None, "--tensorboard", metavar="DIR", help="also export the recorded "
                                               "statistics as TensorBoard events into DIR/<run directory name>"),
) -> None:
    """Summarise a recorded run, draw its plots (loss, per-layer gradients, activations) and write report.html
    next to them."""
    from gradmedic.run.records import Run
    from gradmedic.run.tensorboard import export
    from gradmedic.show.report import run_report
    from gradmedic.show.run import render_all

    try:
        run = Run(run_dir)
    except SpecError as e:
        _fail(e)
    paths = render_all(run_dir, out_dir)
    report = run_report(run_dir, out_dir, images=paths)
    tb = export(run_dir, tensorboard) if tensorboard is not None else None
    if json_out:
        print(json.dumps({"summary": run.summary, "plots": [str(p) for p in paths], "report": str(report),
                          **({"tensorboard": str(tb)} if tb else {})}, indent=2))
        return
    if run.summary:
        print_summary(run.summary)
    else:
        out.print(f"{run_dir}: no summary.json (the run was killed); plots drawn from what was recorded")
    for p in paths:
        out.print(f"wrote {p}", highlight=False)
    _print_files({"report": str(report), **({"tensorboard": str(tb)} if tb else {})})


@app.command()
@_with_spec_flags
def repair(
    flags: dict[str, Any],
    spec_file: Path | None = typer.Argument(None, metavar="[SPEC]", help="spec file (TOML or JSON); flags override it"),
    budget: int = typer.Option(5, "--budget", min=1, help="most trainings to spend, the first included"),
    runs_dir: Path = typer.Option(
        Path("runs"), "--runs-dir", help="where the repair directory (every attempt, report.html) is made"
    ),
    json_out: bool = typer.Option(False, "--json", help="print the result as JSON on stdout"),
    tensorboard: Path | None = typer.Option(None, "--tensorboard", metavar="DIR",
                                               help="also write each attempt's statistics as TensorBoard events in DIR/attemptN"),
) -> None:
    """Make a failing training healthy: train with the doctor watching, stop at the first serious finding,
    apply the best-ranked remedy, train again from fresh weights; repeat within the budget.
    Writes SPEC.repaired.json next to SPEC. Exits with 1 when nothing worked."""
    from gradmedic.repair import repair as run_repair
    from gradmedic.repair import write_json
    from gradmedic.show.repair import ConsoleProgress, print_result, save

    spec = _load_spec(spec_file, flags)
    with ConsoleProgress(err if json_out else out, spec.name) as progress:
        res = run_repair(spec, budget=budget, runs_dir=runs_dir, tensorboard=tensorboard, on_start=progress.start,
                         on_attempt=progress.done)
    write_json(res, spec_file)
    save(res)
    if json_out:
        print(json.dumps(res.to_dict(), indent=2, default=str))
    else:
        print_result(res, out)
    if res.interrupted:
        raise typer.Exit(130)
    if not res.fixed and not res.attempts[0].healthy:
        raise typer.Exit(1)


@app.command()
def experiment(
    name: str | None = typer.Argument(None, help="experiment name (see --list)"),
    list_: bool = typer.Option(False, "--list", help="list the experiments, what each shows and what it expects"),
    runs_dir: Path = typer.Option(
        Path("runs"), "--runs-dir", help="where the study's directory (runs, plots, report.html) is made"
    ),
    quick: bool = typer.Option(False, "--quick", help="the reduced size the tests run: fewer epochs, same expectations"),
    json_out: bool = typer.Option(False, "--json", help="print the results as JSON on stdout"),
) -> None:
    """Run one of the seeds' experiments: state the expected outcome, run it, check it, write report.html.
    Exits with 1 when an expectation did not hold."""
    from gradmedic import experiments

    if list_ or name is None:
        for n, e in experiments.EXPERIMENTS.items():
            out.print(f"[bold]{n}[/bold]: {e.summary}\n  expected: {e.expected}", highlight=False)
        return
    if name not in experiments.EXPERIMENTS:
        _fail(SpecError("NAME", f"{name!r} is not one of: {', '.join(experiments.EXPERIMENTS)}"))
    res = experiments.EXPERIMENTS[name].run(runs_dir=runs_dir, console=err if json_out else out,
                                            size="reduced" if quick else "full")
    if json_out:
        print(json.dumps(res, indent=2, default=str))
    if not res.get("all_as_expected", True):
        raise typer.Exit(1)


@app.command()
def compare(
    spec_file: Path | None = typer.Argument(
        None, metavar="[SPEC]", help="spec file (TOML or JSON) every variant starts from [default: the default spec]"
    ),
    vary: list[str] | None = typer.Option(
        None, "--vary", metavar="FIELD=V1,V2",
        help="a field and its values (repeat for a grid: the cartesian product, first field slowest); "
             "values with commas are separated by ';': --vary 'hidden=32,32;64,64'; one value sets the field for every run",
    ),
    seeds: int = typer.Option(1, "--seeds", metavar="K", help="runs per variant, with train.seed = the spec's seed + 0..K-1"),
    workers: int | None = typer.Option(
        None, "--workers", metavar="N", help="parallel worker processes [default: the available cores]"
    ),
    target: float | None = typer.Option(
        None, "--target", metavar="VALUE",
        help="test metric to reach (accuracy >= VALUE, mse <= VALUE) "
             "[default: 0.9 x the best variant's mean accuracy, or its mse / 0.9]",
    ),
    runs_dir: Path = typer.Option(
        Path("runs"), "--runs-dir", help="where the compare directory (runs, compare.json, plots, report.html) is made"
    ),
    json_out: bool = typer.Option(False, "--json", help="print the result as JSON on stdout"),
    tensorboard: Path | None = typer.Option(
        None, "--tensorboard", metavar="DIR", help="also write TensorBoard events, one subdirectory per run"
    ),
) -> None:
    """Train variants of a spec side by side over seeds, in parallel: mean and spread of the final metric,
    steps to reach a target, the doctor's findings per variant; plots and report.html.
    Exits with 1 when a run failed, 130 on Ctrl-C (finished runs are kept)."""
    from gradmedic.compare import compare as run_compare
    from gradmedic.compare import parse_vary
    from gradmedic.show.compare import ConsoleProgress, print_compare, save

    base = spec_mod.load(spec_file) if spec_file else spec_mod.Spec()
    console = err if json_out else out
    with ConsoleProgress(console) as progress:
        res = run_compare(base, parse_vary(vary or []), seeds=seeds, workers=workers, target=target, runs_dir=runs_dir,
                          tensorboard=tensorboard, on_start=progress.start, on_run=progress.done)
    print_compare(res, console)
    save(res)
    console.print(f"  report: {res.report}", highlight=False)
    if json_out:
        print(json.dumps(res.to_dict(), indent=2, default=str))
    if res.status == "interrupted":
        raise typer.Exit(130)
    if any(r.status == "failed" for r in res.runs):
        raise typer.Exit(1)


@app.command()
def tune(
    spec_file: Path = typer.Argument(..., metavar="SPEC", help="spec file (TOML or JSON) every trial starts from"),
    trials: int = typer.Option(
        20, "--trials", metavar="N", help="trials in the study, all workers together (a resumed study counts the ones it has)"
    ),
    timeout: float | None = typer.Option(None, "--timeout", metavar="S", help="start no trial after S seconds"),
    workers: int = typer.Option(1, "--workers", metavar="W", help="worker processes, one intra-op thread each"),
    space: Path | None = typer.Option(
        None, "--space", metavar="FILE",
        help="TOML search space: spec fields with low/high (log = true) or choices "
             "[default: seed 003's ranking fitted to the optimizer]",
    ),
    storage: str | None = typer.Option(
        None, "--storage", metavar="URL",
        help="postgresql://user@host/db (or any SQLAlchemy URL, or PATH.journal) shared by workers on many machines "
             "[default: RUNS_DIR/tune-STUDY/study.journal]",
    ),
    study: str | None = typer.Option(None, "--study", metavar="NAME", help="study name [default: the spec's name]"),
    pruner: str = typer.Option(
        "doctor", "--pruner", metavar="doctor|median|hyperband|none",
        help="who stops trials early: the doctor (sick networks; else the median rule), "
             "Optuna's MedianPruner or HyperbandPruner, or nobody",
    ),
    sampler: str = typer.Option("tpe", "--sampler", metavar="tpe|random", help="Optuna sampler"),
    seed: int | None = typer.Option(None, "--seed", metavar="K", help="sampler seed (worker k: K + k)"),
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir", help="where the study directory tune-STUDY is made"),
    json_out: bool = typer.Option(False, "--json", help="print the result as JSON on stdout"),
) -> None:
    """Search a spec's hyperparameters with Optuna; the doctor prunes sick trials and says why.
    Writes best_spec.json, tune.json and report.html into the study directory; running it again resumes.
    Exits with 130 on Ctrl-C (finished trials are kept)."""
    from gradmedic.show.tune import ConsoleProgress, print_tune, save
    from gradmedic.tune import tune as run_tune

    console = err if json_out else out
    with ConsoleProgress(console) as progress:
        res = run_tune(spec_mod.load(spec_file), trials, timeout=timeout, workers=workers, space=space, storage=storage,
                       study=study, pruner=pruner, runs_dir=runs_dir, sampler=sampler, seed=seed,
                       on_start=progress.start, on_trials=progress.trials)
    save(res)
    print_tune(res, console)
    if json_out:
        print(json.dumps(res.to_dict(), indent=2, default=str))
    if res.status == "interrupted":
        raise typer.Exit(130)


_EXITS = tuple(c for c in (getattr(click_exc, "Exit", None), typer.Exit) if c is not None)
_ABORTS = tuple(c for c in (getattr(click_exc, "Abort", None), typer.Abort, KeyboardInterrupt) if c is not None)


def main(argv: list[str] | None = None) -> int:
    """Entry point: click's usage errors become one line and exit code 2."""
    cmd = typer.main.get_command(app)
    try:
        rc = cmd.main(args=argv, prog_name="gradmedic", standalone_mode=False)
    except (SpecError, WatchError) as e:
        err.print(f"error: {e}", highlight=False, markup=False, soft_wrap=True)
        return 2
    except click_exc.UsageError as e:
        if type(e).__name__ == "NoArgsIsHelpError":
            print(e.ctx.get_help())
            return 0
        if e.ctx and e.ctx.info_name != "gradmedic":
            hint = f" (see gradmedic {e.ctx.info_name} --help)"
        else:
            hint = " (see gradmedic --help)"
        err.print(f"error: {e.format_message()}{hint}", highlight=False, markup=False, soft_wrap=True)
        return 2
    except _EXITS as e:
        return e.exit_code
    except _ABORTS:
        err.print("aborted")
        return 130
    # without standalone mode click catches typer.Exit itself and returns its code (commands return None)
    return rc if isinstance(rc, int) else 0


if __name__ == "__main__":
    sys.exit(main())
