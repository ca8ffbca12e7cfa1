"""Compare remedies side by side: a grid of spec variants x seeds, trained in parallel processes.

``compare(spec, {"activation": ["sigmoid", "relu"]}, seeds=3)`` trains every grid point (the
cartesian product of the varied fields, first field slowest) with seeds ``spec.seed + 0..K-1``, one
run per process on the available cores, into one directory ``runs/<timestamp>-compare-<name>/``:

``<run dirs>``         one complete run directory per run (as ``gradmedic train`` writes them)
``compare.json``       the grid, the target, per-variant aggregates and every run's summary
``compare_loss.png``   training loss and test metric of every variant (mean over seeds, band: min-max)
``compare_grads.png``  each variant's median gradient norm per layer (log scale)
``report.html``        all of the above in one self-contained file, with each variant's findings

Everything is validated before any training starts: unknown fields, values the spec rejects (each
grid point goes through ``spec.override``), datasets and losses that do not fit.
"""

from __future__ import annotations

import itertools
import json
import math
import multiprocessing
import os
import re
import signal
import textwrap
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from rich.console import Console

from . import spec as spec_mod
from .errors import SpecError
from .spec import Spec

LOSS_POINTS = 100  # the loss curve a worker sends back: at most this many bin means (a readable curve; bins smooth batch noise)
DEFAULT_TARGET_SHARE = 0.9  # default target: 90% of the best variant's mean accuracy (or best MSE / 0.9)


# -- the grid ------------------------------------------------------------------------------------

def variable_fields() -> list[str]:
    """Every spec field ``--vary`` accepts (flat names, as the ``train`` flags; ``name`` and ``seed`` excluded:
    each run is named after its grid point, and seeds are ``--seeds``)."""
    return [n for cls in spec_mod.SECTIONS.values() for n in cls.model_fields if n != "seed"]


def parse_vary(items: list[str]) -> dict[str, list[str]]:
    """``["activation=relu,tanh", "hidden=32,32;64,64"]`` -> ``{"activation": ["relu", "tanh"], "hidden": ["32,32", "64,64"]}``.

    The rule: values are separated by ``;`` when the text holds a ``;``, else by ``,`` (so a value
    that itself contains commas, like ``hidden=32,32``, is written ``hidden=32,32;64,64``, or
    ``hidden=32,32;`` for that single value).  Raises SpecError (field ``--vary``) on malformed input."""
    out: dict[str, list[str]] = {}
    allowed = variable_fields()
    for item in items:
        if "=" not in item:
            raise SpecError("--vary", f"{item!r} has no '=': write FIELD=v1,v2 (e.g. activation=relu,tanh)")
        name, _, text = item.partition("=")
        name = name.strip().replace("-", "_")
        if not name:
            raise SpecError("--vary", f"{item!r} names no field: write FIELD=v1,v2")
        if name == "seed":
            raise SpecError("--vary", "seed is varied with --seeds K (runs seeds spec.seed + 0..K-1)")
        if name not in allowed:
            raise SpecError("--vary", f"unknown field {name!r}; allowed: {', '.join(allowed)}")
        if name in out:
            raise SpecError("--vary", f"{name} is given twice; list all its values in one --vary {name}=v1,v2")
        sep = ";" if ";" in text else ","
        values = [v.strip() for v in text.split(sep)]
        if sep == ";" and values and values[-1] == "" and len(values) > 1:
            values = values[:-1]  # "hidden=32,32;" is one value that contains commas
        if not text.strip() or any(v == "" for v in values):
            raise SpecError("--vary", f"{name}: empty value in {text!r}; write {name}=v1{sep}v2 with no empty value")
        dup = sorted({v for v in values if values.count(v) > 1})
        if dup:
            hint = f" (a value with commas is written with ';' between values: {name}=32,32;64,64)" if sep == "," else ""
            raise SpecError("--vary", f"{name}: value {dup[0]!r} is given twice{hint}")
        out[name] = values
    return out


def _show(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return ",".join(map(str, v))
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _slug(text: str) -> str:
    """A run-directory-safe name: letters, digits, '.', '_' and '-' only, at most 80 characters."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:80] or "variant"


@dataclass
class Variant:
    """One grid point: the overrides it applies and the validated spec they give (seed not yet set)."""

    index: int
    overrides: dict[str, Any]
    spec: Spec
    varied: tuple[str, ...] = ()  # the fields given more than one value: the ones a label names

    @property
    def label(self) -> str:
        """``activation=relu, init=he_uniform`` (the values as given; fields given a single value are the
        same in every variant and left out unless nothing else is varied); ``base`` without overrides."""
        shown = [k for k in self.overrides if k in self.varied] or list(self.overrides)
        return ", ".join(f"{k}={_show(self.overrides[k])}" for k in shown) or "base"


def expand(spec: Spec, vary: dict[str, list[Any]]) -> list[Variant]:
    """Every grid point in grid order (the first field varies slowest), each validated with
    ``spec.override``; raises SpecError naming the field and what is allowed on the first bad one."""
    allowed = variable_fields()
    for name, values in vary.items():
        if name.replace("-", "_") not in allowed:
            raise SpecError("--vary", f"unknown field {name!r}; allowed: {', '.join(allowed)}")
        if not isinstance(values, (list, tuple)) or not values:
            raise SpecError("--vary", f"{name}: give a non-empty list of values")
    names = [n.replace("-", "_") for n in vary]
    varied = tuple(n for n, values in zip(names, vary.values()) if len(values) > 1)
    variants = []
    for i, combo in enumerate(itertools.product(*vary.values())):
        overrides = dict(zip(names, combo))
        try:
            s = spec_mod.override(spec, overrides)
        except SpecError as e:
            where = f" (grid point {', '.join(f'{k}={_show(v)}' for k, v in overrides.items())})" if len(names) > 1 else ""
            raise SpecError(e.field, e.message + where) from None
        variants.append(Variant(i, overrides, s, varied))
    return variants


def _with_seed(spec: Spec, seed: int, name: str) -> Spec:
    return spec.model_copy(update={"name": name, "train": spec.train.model_copy(update={"seed": seed})})


def _preflight(variants: list[Variant], tensorboard: Any) -> dict[int, int]:
    """What the trainer would reject only once started, checked here for every grid point: the data
    loads, the loss fits the task, the device exists, the model builds.  Returns each variant's
    planned number of steps (to bin the loss curves the same way for every seed)."""
    import torch

    from . import build as build_mod
    from . import data as data_mod
    from .optim import LOSS_TASKS, default_loss
    from .train import resolve_device

    if tensorboard is not None:
        try:
            from . import tensorboard as _tb  # noqa: F401
            from torch.utils.tensorboard import SummaryWriter  # noqa: F401  (what each run's writer needs)
        except ImportError as e:
            raise SpecError("--tensorboard", f"TensorBoard output is not available here ({e})") from None
    planned: dict[int, int] = {}
    cache: dict[str, Any] = {}
    for v in variants:
        s = v.spec
        try:
            resolve_device(s.train.device)
            key = json.dumps([s.data.model_dump(), s.model.kind])
            if key not in cache:
                cache[key] = data_mod.load(s.data, image=s.model.kind == "cnn")
            data = cache[key]
            loss = s.train.loss if s.train.loss != "auto" else default_loss(data.task)
            if data.task not in LOSS_TASKS[loss]:
                ok = [k for k, t in LOSS_TASKS.items() if data.task in t]
                raise SpecError("train.loss", f"{loss} does not fit a {data.task} target; use one of: auto, {', '.join(ok)}")
            with torch.random.fork_rng(devices=[]):
                build_mod.build(s.model, data)
        except SpecError as e:
            where = f" (grid point {', '.join(f'{k}={_show(x)}' for k, x in v.overrides.items())})" if v.overrides else ""
            raise SpecError(e.field, e.message + where) from None
        n = len(data.x_train)
        bs = n if s.train.optimizer == "gd" else min(s.train.batch_size, n)
        planned[v.index] = math.ceil(n / bs) * s.train.epochs
    return planned


# -- one run, in a worker process ----------------------------------------------------------------

def _init_worker() -> None:
    """Each worker computes on one core (K workers use K cores, not K x all cores), and ignores
    Ctrl-C: the parent cancels and ends the workers itself, so no worker prints a traceback."""
    import torch

    torch.set_num_threads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _bin_loss(steps: np.ndarray, loss: np.ndarray, width: int) -> tuple[list[float], list[float]]:
    """Mean finite loss in bins of ``width`` steps (bin k holds steps k*width+1 .. (k+1)*width),
    at the bin's middle step; bins without a finite loss are left out."""
    ok = np.isfinite(loss)
    steps, loss = steps[ok], loss[ok]
    if not len(steps):
        return [], []
    b = (steps - 1) // width
    uniq, inv = np.unique(b, return_inverse=True)
    means = np.bincount(inv, weights=loss) / np.bincount(inv)
    return ((uniq * width + (width + 1) / 2).tolist(), means.tolist())


def _run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Train one (variant, seed) and return what the comparison needs (small and picklable)."""
    from .train import train

    started = time.time()  # wall clock, comparable with the parent's: when the first worker got going
    spec = spec_mod.validate(job["spec"])
    t0, c0 = time.perf_counter(), time.process_time()
    r = train(spec, runs_dir=job["runs_dir"], progress="none", tensorboard=job.get("tensorboard"))
    s = r.summary()
    s["problems"] = sorted(r.diagnosis.problems)
    width = max(1, math.ceil(job["planned_steps"] / LOSS_POINTS))
    x, y = _bin_loss(np.asarray(r.history.loss_steps), np.asarray(r.history.loss, dtype=float), width)
    return {"summary": s, "epochs": r.epochs, "loss_steps": x, "loss": y, "grad_norm": s["grad_norm"],
            "diagnosis": r.diagnosis.to_dict(), "reference_loss": r.monitor.reference_loss,
            "seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0, "started": started}


# -- results -------------------------------------------------------------------------------------

@dataclass
class RunOutcome:
    """One (variant, seed): its summary, epoch rows, binned loss curve and per-layer median gradient
    norms, or the error that stopped it (status ``failed``) or ``cancelled``."""

    variant: int
    seed: int
    name: str
    status: str = "pending"  # the trainer's status (ok, non_finite, ...), failed, or cancelled
    summary: dict[str, Any] | None = None
    epochs: list[dict[str, Any]] = field(default_factory=list)
    loss_steps: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    grad_norm: dict[str, float] = field(default_factory=dict)
    diagnosis: dict[str, Any] | None = None
    reference_loss: float | None = None
    error: str | None = None
    seconds: float | None = None
    started: float | None = None  # time.time() when its worker began it
    cpu_seconds: float | None = None  # CPU time its worker spent on it (below ``seconds`` when cores are busy)
    reached_step: int | None = None  # first step whose epoch's test metric met the target
    reached_epoch: int | None = None

    @property
    def test_metric(self) -> float | None:
        v = (self.summary or {}).get("test_metric")
        return v if isinstance(v, (int, float)) and math.isfinite(v) else None

    @property
    def train_metric(self) -> float | None:
        v = (self.summary or {}).get("train_metric")
        return v if isinstance(v, (int, float)) and math.isfinite(v) else None

    @property
    def problems(self) -> list[str]:
        return list((self.diagnosis or {}).get("problems", []))

    def to_dict(self) -> dict[str, Any]:
        return {"variant": self.variant, "seed": self.seed, "name": self.name, "status": self.status,
                "run_dir": (self.summary or {}).get("run_dir"), "error": self.error, "seconds": self.seconds,
                "cpu_seconds": self.cpu_seconds,
                "test_metric": self.test_metric, "train_metric": self.train_metric, "problems": self.problems,
                "reached_step": self.reached_step, "reached_epoch": self.reached_epoch, "summary": self.summary}


def _mean_std(xs: list[float]) -> tuple[float | None, float | None]:
    """Mean and sample standard deviation (ddof 1: the spread of a few seeds); std None below 2 values."""
    if not xs:
        return None, None
    a = np.asarray(xs, dtype=float)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else None


@dataclass
class VariantResult:
    """A grid point's runs and their aggregates over seeds."""

    variant: Variant
    runs: list[RunOutcome]
    metric: str = "accuracy"
    test_mean: float | None = None
    test_std: float | None = None
    train_mean: float | None = None
    train_std: float | None = None
    steps_to_target: float | None = None  # mean over the seeds that reached the target
    epochs_to_target: float | None = None
    reached: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    problems: dict[str, int] = field(default_factory=dict)  # problem -> runs in which the doctor found it
    grad_norm: dict[str, float] = field(default_factory=dict)  # layer -> geometric mean over seeds of the median

    @property
    def label(self) -> str:
        return self.variant.label

    def findings(self) -> list[dict[str, Any]]:
        """One finding per problem (from the first seed that showed it), with its remedies."""
        seen: dict[str, dict[str, Any]] = {}
        for r in self.runs:
            for f in (r.diagnosis or {}).get("findings", []):
                seen.setdefault(f["problem"], f)
        return list(seen.values())

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.variant.index, "label": self.label, "overrides": {k: _show(v) for k, v in self.variant.overrides.items()},
                "metric": self.metric, "runs": len(self.runs), "test_mean": self.test_mean, "test_std": self.test_std,
                "train_mean": self.train_mean, "train_std": self.train_std, "steps_to_target": self.steps_to_target,
                "epochs_to_target": self.epochs_to_target, "reached": self.reached, "statuses": self.statuses,
                "problems": self.problems, "grad_norm": self.grad_norm}


@dataclass
class CompareResult:
    dir: Path | None
    spec: Spec
    vary: dict[str, list[Any]]
    seeds: list[int]
    variants: list[VariantResult]
    target: float | None
    target_note: str  # how the target was chosen, said in the output
    workers: int
    seconds: float
    status: str = "ok"  # ok, or interrupted (Ctrl-C: the finished runs are kept)
    startup_seconds: float | None = None  # from starting the pool to the first run starting (worker start-up)
    report: Path | None = None
    plots: list[Path] = field(default_factory=list)

    @property
    def runs(self) -> list[RunOutcome]:
        return [r for v in self.variants for r in v.runs]

    @property
    def metric(self) -> str:
        return self.variants[0].metric if self.variants else "accuracy"

    def best(self) -> VariantResult | None:
        scored = [v for v in self.variants if v.test_mean is not None]
        if not scored:
            return None
        return (max if self.metric == "accuracy" else min)(scored, key=lambda v: v.test_mean)

    def to_dict(self) -> dict[str, Any]:
        return {"dir": str(self.dir) if self.dir else None, "status": self.status, "spec": self.spec.model_dump(),
                "vary": {k: [_show(x) for x in v] for k, v in self.vary.items()}, "seeds": self.seeds,
                "metric": self.metric, "target": self.target, "target_note": self.target_note, "workers": self.workers,
                "seconds": round(self.seconds, 3),
                "startup_seconds": round(self.startup_seconds, 3) if self.startup_seconds is not None else None,
                "run_seconds": round(sum(r.seconds or 0 for r in self.runs), 3),
                "variants": [v.to_dict() for v in self.variants], "runs": [r.to_dict() for r in self.runs],
                "report": str(self.report) if self.report else None, "plots": [str(p) for p in self.plots]}


def _better(metric: str, value: float, target: float) -> bool:
    return value >= target if metric == "accuracy" else value <= target


def _default_target(variants: list[VariantResult], metric: str) -> tuple[float | None, str]:
    scored = [v for v in variants if v.test_mean is not None and v.metric == metric]
    if not scored:
        return None, "no variant finished with a test metric, so there is no target"
    if metric == "accuracy":
        best = max(scored, key=lambda v: v.test_mean)
        return (DEFAULT_TARGET_SHARE * best.test_mean,
                f"test accuracy >= {DEFAULT_TARGET_SHARE * best.test_mean:.4g}: {DEFAULT_TARGET_SHARE:g} x the best "
                f"variant's mean final test accuracy ({best.label}); set it with --target")
    best = min(scored, key=lambda v: v.test_mean)
    return (best.test_mean / DEFAULT_TARGET_SHARE,
            f"test mse <= {best.test_mean / DEFAULT_TARGET_SHARE:.4g}: the best variant's mean final test mse "
            f"({best.label}) / {DEFAULT_TARGET_SHARE:g}; set it with --target")


def aggregate(variants: list[Variant], runs: list[RunOutcome], target: float | None) -> tuple[list[VariantResult], float | None, str]:
    """Per-variant aggregates over seeds, and the target (the given one, or the default)."""
    results = []
    for v in variants:
        mine = [r for r in runs if r.variant == v.index]
        vr = VariantResult(v, mine)
        vr.metric = next((r.summary["metric"] for r in mine if r.summary), "accuracy")
        vr.test_mean, vr.test_std = _mean_std([r.test_metric for r in mine if r.test_metric is not None])
        vr.train_mean, vr.train_std = _mean_std([r.train_metric for r in mine if r.train_metric is not None])
        for r in mine:
            vr.statuses[r.status] = vr.statuses.get(r.status, 0) + 1
            for p in r.problems:
                vr.problems[p] = vr.problems.get(p, 0) + 1
        vr.problems = dict(sorted(vr.problems.items()))
        layers: list[str] = []
        for r in mine:
            layers += [k for k in r.grad_norm if k not in layers]
        for layer in layers:
            vals = [r.grad_norm.get(layer) for r in mine]
            vals = [x for x in vals if isinstance(x, (int, float)) and math.isfinite(x) and x > 0]
            # a geometric mean: gradient norms differ by orders of magnitude between seeds and layers
            vr.grad_norm[layer] = float(np.exp(np.mean(np.log(vals)))) if vals else math.nan
        results.append(vr)
    metric = results[0].metric if results else "accuracy"
    note = "" if target is None else f"test {metric} {'>=' if metric == 'accuracy' else '<='} {target:g} (given)"
    if target is None:
        target, note = _default_target(results, metric)
    for vr in results:
        steps, epochs = [], []
        for r in vr.runs:
            r.reached_step = r.reached_epoch = None
            if target is None:
                continue
            for row in r.epochs:
                m = row.get("test_metric")
                if isinstance(m, (int, float)) and math.isfinite(m) and _better(vr.metric, m, target):
                    r.reached_step, r.reached_epoch = int(row["step"]), int(row["epoch"])
                    steps.append(r.reached_step)
                    epochs.append(r.reached_epoch)
                    break
        vr.reached = len(steps)
        vr.steps_to_target = float(np.mean(steps)) if steps else None
        vr.epochs_to_target = float(np.mean(epochs)) if epochs else None
    return results, target, note


# -- running the grid ------------------------------------------------------------------------------

def default_workers() -> int:
    """The cores this process may run on (respects taskset/cgroup CPU affinity, unlike os.cpu_count())."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS and Windows have no sched_getaffinity
        return os.cpu_count() or 1


def _context() -> multiprocessing.context.BaseContext:
    # Never "fork": the parent may already run torch's thread pools, and a forked child inherits
    # their locks in whatever state they were in.  forkserver forks from a clean server process.
    if "forkserver" not in multiprocessing.get_all_start_methods():  # pragma: no cover - Windows
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    # The server imports these once (it runs no torch op, so it starts no thread pool); every worker
    # forked from it then starts in milliseconds instead of importing torch again.  torch._dynamo is
    # imported lazily by the first optimizer built (torch.optim is wrapped to disable dynamo): ~1 s
    # on an idle core, several seconds on a busy one, paid per worker without the preload.
    ctx.set_forkserver_preload(["gradmedic.compare", "gradmedic.train", "torch._dynamo"])
    return ctx


class _Progress:
    """A rich bar over the runs on a terminal; one plain line per finished run otherwise."""

    def __init__(self, console: Console, total: int, quiet: bool):
        self.console, self.total, self.done = console, total, 0
        self.mode = "none" if quiet else "rich" if console.is_terminal else "plain"
        if self.mode == "rich":
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("[bold]compare"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                TextColumn("{task.description}"), console=console, transient=True)
            self.task = self.bar.add_task("", total=total)
            self.bar.start()

    def update(self, line: str) -> None:
        self.done += 1
        if self.mode == "rich":
            self.bar.console.print(line, highlight=False)
            self.bar.update(self.task, completed=self.done)
        elif self.mode == "plain":
            self.console.print(f"[{self.done}/{self.total}] {line}", highlight=False)

    def close(self) -> None:
        if self.mode == "rich":
            self.bar.stop()


def _done_line(o: RunOutcome, label: str) -> str:
    if o.status == "failed":
        return f"{label}, seed {o.seed}: failed: {o.error}"
    m = o.test_metric
    metric = (o.summary or {}).get("metric", "metric")
    return (f"{label}, seed {o.seed}: {o.status}, test {metric} {m:.4g}" if m is not None else
            f"{label}, seed {o.seed}: {o.status}") + (f" ({o.seconds:.1f} s)" if o.seconds else "")


def _end_workers(pool: ProcessPoolExecutor) -> None:
    """Stop the pool's worker processes now (after Ctrl-C): queued runs are cancelled, running ones
    end mid-run and keep what they streamed to disk (their directories have no summary.json)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())  # taken first: shutdown() forgets them
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5)


def compare(spec: Spec, vary: dict[str, list[Any]], seeds: int = 1, workers: int | None = None,
            target: float | None = None, runs_dir: str | Path | None = "runs", console: Console | None = None,
            tensorboard: str | Path | None = None, quiet: bool = False,
            on_run: Callable[[RunOutcome], None] | None = None) -> CompareResult:
    """Train every grid point of ``vary`` (field -> values, strings parsed by the spec) with ``seeds``
    seeds (``spec.train.seed + 0..seeds-1``) in ``workers`` processes (default: the available cores),
    print the side-by-side table and write ``compare.json``, the plots and ``report.html`` into
    ``runs_dir/<timestamp>-compare-<name>/``.  ``target``: the test metric to reach (accuracy >=, mse
    <=); default 0.9 x the best variant's mean accuracy (best mse / 0.9).  Raises SpecError before any
    training when anything is wrong.  On Ctrl-C the finished runs are kept and ``status`` is
    ``interrupted``.

    Workers are forked from a fresh server process (multiprocessing "forkserver"), which imports the
    caller's main script as spawn does: call this from a script under ``if __name__ == "__main__":``."""
    console = console or Console(stderr=True)
    if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1:
        raise SpecError("--seeds", f"must be a whole number >= 1 (got {seeds!r})")
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        raise SpecError("--workers", f"must be a whole number >= 1 (got {workers!r})")
    if target is not None and not math.isfinite(target):
        raise SpecError("--target", f"must be a finite number (got {target})")
    vary = {k.replace("-", "_"): list(v) for k, v in vary.items()}
    variants = expand(spec, vary)
    ctx = _context()
    if ctx.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()  # the server imports torch while this process checks the grid below
    planned = _preflight(variants, tensorboard)
    seed_list = [spec.train.seed + i for i in range(seeds)]

    out = None
    if runs_dir is not None:
        from .records import new_run_dir

        out = new_run_dir(runs_dir, f"compare-{_slug(spec.name)}")
    jobs, outcomes = [], []
    for v in variants:
        for seed in seed_list:
            name = _slug(f"{spec.name}-{v.label.replace(', ', '-').replace('=', '-')}-s{seed}" if v.overrides else f"{spec.name}-s{seed}")
            o = RunOutcome(v.index, seed, name)
            outcomes.append(o)
            jobs.append({"spec": _with_seed(v.spec, seed, name).model_dump(), "runs_dir": str(out) if out else None,
                         "planned_steps": planned[v.index],
                         # train() makes one TensorBoard run per run directory under this root
                         "tensorboard": str(tensorboard) if tensorboard is not None else None})
    n_workers = min(workers or default_workers(), len(jobs))
    labels = {v.index: v.label for v in variants}
    if not quiet:
        console.print(f"[bold]compare[/bold]: {len(variants)} variant(s) x {seeds} seed(s) = {len(jobs)} runs on "
                      f"{n_workers} worker process(es)" + (f" into {out}" if out else ""), highlight=False)

    status = "ok"
    start, start_wall = time.perf_counter(), time.time()
    bar = _Progress(console, len(jobs), quiet)
    pool = ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx, initializer=_init_worker)
    try:
        futures: dict[Future, RunOutcome] = {pool.submit(_run_job, j): o for j, o in zip(jobs, outcomes)}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for f in done:
                o = futures[f]
                try:
                    res = f.result()
                except Exception as e:  # the run's own failure (or its worker died): report it, keep going
                    o.status, o.error = "failed", f"{type(e).__name__}: {e}".strip().splitlines()[0]
                else:
                    o.summary, o.epochs, o.diagnosis = res["summary"], res["epochs"], res["diagnosis"]
                    o.loss_steps, o.loss, o.grad_norm = res["loss_steps"], res["loss"], res["grad_norm"]
                    o.reference_loss, o.seconds, o.status = res["reference_loss"], res["seconds"], res["summary"]["status"]
                    o.started, o.cpu_seconds = res["started"], res["cpu_seconds"]
                bar.update(_done_line(o, labels[o.variant]))
                if on_run:
                    on_run(o)
    except KeyboardInterrupt:
        status = "interrupted"
        _end_workers(pool)
        for o in outcomes:
            if o.status == "pending":
                o.status = "cancelled"
    finally:
        bar.close()
        pool.shutdown(wait=True, cancel_futures=True)
    seconds = time.perf_counter() - start

    results, target, note = aggregate(variants, outcomes, target)
    res = CompareResult(out, spec, vary, seed_list, results, target, note, n_workers, seconds, status)
    starts = [o.started for o in outcomes if o.started is not None]
    res.startup_seconds = max(0.0, min(starts) - start_wall) if starts else None
    if not quiet:
        print_compare(res, console)
    if out is not None:
        _write(res)
        if not quiet:
            console.print(f"  report: {res.report}", highlight=False)
    return res


def _write(res: CompareResult) -> None:
    """compare.json, the two PNGs and report.html (each written even when some runs failed)."""
    assert res.dir is not None
    res.plots = [p for p in (loss_png(res, res.dir / "compare_loss.png"), grads_png(res, res.dir / "compare_grads.png")) if p]
    res.report = write_report(res)
    tmp = res.dir / "compare.json.tmp"
    tmp.write_text(json.dumps(res.to_dict(), indent=2, default=str))
    tmp.replace(res.dir / "compare.json")


# -- the table -------------------------------------------------------------------------------------

def _num(x: float) -> str:
    """Accuracies and moderate numbers with 3 decimals (0.823); MSEs like 25690.7 or 3.1e-05 with 4 digits."""
    return f"{x:.3f}" if x == 0 or 0.01 <= abs(x) < 1000 else f"{x:.4g}"


def _pm(mean: float | None, std: float | None) -> str:
    if mean is None:
        return "-"
    if std is None:
        return _num(mean)
    # the spread in the mean's own units: 0.500 ± 0.006, not 0.500 ± 0.005657
    return f"{mean:.3f} ± {std:.3f}" if "e" not in _num(mean) and abs(mean) < 1000 else f"{_num(mean)} ± {std:.2g}"


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
        rows.append([v.label, _pm(v.test_mean, v.test_std), _pm(v.train_mean, v.train_std), _reach(v, res.target),
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
            flags = " ".join(f"--{k.replace('_', '-')} {_show(x)}" for k, x in (rem.get("spec_change") or {}).items())
            console.print(f"  {v.label}: [bold]{f['problem']}[/bold] in {v.problems.get(f['problem'], 0)}/{len(v.runs)} seeds"
                          + (f"; remedy: {rem['change']}" if rem.get("change") else "") + (f" [cyan]{flags}[/cyan]" if flags else ""),
                          highlight=False)
    run_s = sum(r.seconds or 0 for r in res.runs)
    console.print(f"  {len(res.runs)} runs in {res.seconds:.1f} s on {res.workers} worker(s); the runs themselves took "
                  f"{run_s:.1f} s" + (f" ({run_s / res.seconds:.2f} run-seconds per second)" if res.seconds > 0 else "")
                  + (f"; the first started after {res.startup_seconds:.1f} s (worker start-up)" if res.startup_seconds is not None else ""),
                  highlight=False)
    for r in res.runs:
        if r.status in ("failed", "cancelled"):
            console.print(f"  [red]{r.status}[/red]: {r.name}" + (f": {r.error}" if r.error else ""), highlight=False)
    if res.status == "interrupted":
        console.print("  [yellow]interrupted[/yellow]: finished runs are kept; the table shows only them", highlight=False)


# -- plots -----------------------------------------------------------------------------------------

def _colors(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _align(curves: list[tuple[list[float], list[float]]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Seeds' curves on their common x values (the union): mean, min and max where any seed has a value."""
    xs = sorted({x for c in curves for x in c[0]})
    if not xs:
        return (np.zeros(0),) * 4
    idx = {x: i for i, x in enumerate(xs)}
    m = np.full((len(curves), len(xs)), np.nan)
    for k, (cx, cy) in enumerate(curves):
        for x, y in zip(cx, cy):
            m[k, idx[x]] = y
    # every column has a value (x is the union of the seeds' x), so nanmean never sees an all-NaN column
    return np.asarray(xs, dtype=float), np.nanmean(m, 0), np.nanmin(m, 0), np.nanmax(m, 0)


def _subtitle(res: CompareResult) -> str:
    """The base spec in one line, leaving out the varied fields (the legend names those)."""
    s = spec_mod.resolve(res.variants[0].variant.spec if res.variants else res.spec)  # fields given one value applied
    d, m, t = s.data, s.model, s.train
    varied = [k for k, v in res.vary.items() if len(v) > 1]
    parts = [("dataset", d.dataset), ("normalize", f"normalize {d.normalize}"), ("hidden", f"hidden {m.hidden}"),
             ("activation", m.activation), ("init", f"init {m.init}"), ("optimizer", t.optimizer),
             ("lr", f"lr {t.lr:g}" if "optimizer" not in varied else ""), ("epochs", f"{t.epochs} epochs")]
    base = " ".join(text for f, text in parts if f not in varied and text)
    return f"{base} | varied: {', '.join(varied) or 'nothing'} | {len(res.seeds)} seed(s) each; lines: mean over seeds, bands: min–max"


def _titles(fig, head: str, sub: str) -> None:
    """The bold headline (wrapped) and, in the empty line below it, the grid in small grey text
    (as plots._finish does for one run)."""
    lines = textwrap.wrap(head, 105) or [""]
    fig.suptitle("\n".join(lines) + "\n", fontweight="bold")
    # a headline line (13 pt) is about two subtitle lines (8.5 pt) high
    fig.text(0.5, 1.0, "\n" * (2 * len(lines)) + sub, ha="center", va="top", fontsize=8.5, color="0.35",
             transform=fig.transFigure)


def loss_png(res: CompareResult, path: Path) -> Path | None:
    """Training loss per step (left) and test metric per epoch (right) of every variant, mean over seeds."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib import ticker

    from . import plots

    if not any(r.loss for r in res.runs):
        return None
    colors = _colors(len(res.variants))
    metric = res.metric
    with matplotlib.rc_context(plots._STYLE):
        fig = Figure(figsize=(12.5, 5.2), dpi=plots.DPI, layout="constrained")
        ax, ax2 = fig.subplots(1, 2, width_ratios=[3, 2])
        allv: list[np.ndarray] = []
        for v, c in zip(res.variants, colors):
            runs = [r for r in v.runs if r.loss]
            if not runs:
                continue
            x, mean, lo, hi = _align([(r.loss_steps, r.loss) for r in runs])
            allv += [mean, lo, hi]
            ax.plot(x, mean, color=c, lw=1.8, label=f"{v.label} ({len(runs)} seed{'s' if len(runs) > 1 else ''})")
            if len(runs) > 1:
                ax.fill_between(x, lo, hi, color=c, alpha=0.18, lw=0)
            ep = [r for r in v.runs if r.epochs]
            if ep:
                ex, em, elo, ehi = _align([([e["epoch"] for e in r.epochs], [e["test_metric"] for e in r.epochs]) for r in ep])
                ax2.plot(ex, em, color=c, lw=1.8, marker="o" if len(ex) <= 30 else "", ms=3.5, label=v.label)
                if len(ep) > 1:
                    ax2.fill_between(ex, elo, ehi, color=c, alpha=0.18, lw=0)
        refs = {round(r.reference_loss, 6) for r in res.runs if isinstance(r.reference_loss, float) and math.isfinite(r.reference_loss)}
        if len(refs) == 1:
            ref = refs.pop()
            ax.axhline(ref, color="0.3", ls=":", lw=1.2, label=f"constant prediction ({plots._fmt(ref)})")
        vals = np.concatenate(allv) if allv else np.zeros(0)
        if plots._spans_decades(vals):
            ax.set_yscale("log")
        plots._tidy_log_axis(ax)
        ax.set_xlabel("step")
        ax.set_ylabel("training loss (bin means)" + (" (log scale)" if ax.get_yscale() == "log" else ""))
        ax.set_title("Training loss")
        ax.legend(loc="best")
        if res.target is not None:
            ax2.axhline(res.target, color="0.25", ls="--", lw=1.1, label=f"target {res.target:.3g}")
        ax2.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        ax2.set_xlabel("epoch")
        ax2.set_ylabel(f"test {metric}")
        if metric != "accuracy":
            ys = [e["test_metric"] for r in res.runs for e in r.epochs]
            if plots._spans_decades(np.asarray(ys, dtype=float)):
                ax2.set_yscale("log")
        ax2.set_title(f"Test {metric} per epoch")
        ax2.legend(loc="best", fontsize=8)
        best = res.best()
        if best is not None:
            head = (f"Best: {best.label}, test {metric} {_pm(best.test_mean, best.test_std)}"
                    + (f" ({len(res.variants)} variants)" if len(res.variants) > 1 else ""))
        else:
            head = "Training loss of each variant"
        _titles(fig, head, _subtitle(res))
        fig.savefig(path, dpi=plots.DPI)
    return path


def grads_png(res: CompareResult, path: Path) -> Path | None:
    """Each variant's median gradient norm per layer (input -> output; geometric mean over seeds,
    bars: min-max over seeds) on a log axis: the vanishing picture of seed 004, one line per variant."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    from . import plots

    layers: list[str] = []
    for v in res.variants:
        layers += [k for k in v.grad_norm if k not in layers]
    if not layers:
        return None
    colors = _colors(len(res.variants))
    pos = {n: i for i, n in enumerate(layers)}
    with matplotlib.rc_context(plots._STYLE):
        fig = Figure(figsize=(11, 5.2), dpi=plots.DPI, layout="constrained")
        ax = fig.subplots()
        parts = []
        k = len(res.variants)
        for j, (v, c) in enumerate(zip(res.variants, colors)):
            names = [n for n in v.grad_norm if math.isfinite(v.grad_norm[n]) and v.grad_norm[n] > 0]
            if not names:
                continue
            off = (j - (k - 1) / 2) * min(0.08, 0.5 / max(k, 1))  # a small sideways shift so bars do not overlap
            x = np.array([pos[n] for n in names], dtype=float) + off
            y = np.array([v.grad_norm[n] for n in names])
            per = [[r.grad_norm.get(n) for r in v.runs if r.grad_norm] for n in names]
            per = [[q for q in p if isinstance(q, (int, float)) and math.isfinite(q) and q > 0] or [y[i]] for i, p in enumerate(per)]
            lo, hi = np.array([min(p) for p in per]), np.array([max(p) for p in per])
            # clipped at 0: exp(mean(log x)) of one seed can differ from x in the last bit
            ax.errorbar(x, y, yerr=np.clip(np.vstack([y - lo, hi - y]), 0, None), fmt="none", ecolor=c, alpha=0.6, elinewidth=1.2, capsize=3)
            ax.plot(x, y, color=c, lw=1.6, marker="o", ms=6, mec="0.2", mew=0.5, label=v.label)
            missing = [n for n in v.grad_norm if n not in names]
            if missing:
                ax.plot([pos[n] + off for n in missing], [0.02] * len(missing), "v", color=c, ms=8,
                        transform=ax.get_xaxis_transform(), label=f"{v.label}: 0 or NaN in {', '.join(missing[:3])}{' …' if len(missing) > 3 else ''}")
            if len(names) >= 2:
                parts.append((v.grad_norm[names[0]] / v.grad_norm[names[-1]], v.label, f"{names[0]}/{names[-1]}"))
        ax.set_yscale("log")
        plots._tidy_log_axis(ax)
        ax.set_xticks(range(len(layers)))
        ax.set_xticklabels(layers, rotation=45 if len(layers) > 6 else 0, ha="right" if len(layers) > 6 else "center")
        ax.set_xlim(-0.6, len(layers) - 0.4)
        ax.set_xlabel("layer (input → output)")
        ax.set_ylabel("median gradient L2 norm (log scale)")
        ax.grid(axis="x", visible=False)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), title="variant", title_fontsize=8.5)
        if len(parts) > 2:  # the extremes: the whole range in one line
            lo_, hi_ = min(parts), max(parts)
            head = (f"First-to-last layer gradient ({lo_[2]}) from {_ratio(lo_[0])} ({lo_[1]}) "
                    f"to {_ratio(hi_[0])} ({hi_[1]})")
        elif parts:
            head = "First-to-last layer gradient: " + "; ".join(f"{lab}: {lay} = {_ratio(r)}" for r, lab, lay in parts)
        else:
            head = "Median gradient norm per layer"
        _titles(fig, head, _subtitle(res).replace("lines: mean over seeds, bands", "points: geometric mean over seeds, bars"))
        fig.savefig(path, dpi=plots.DPI)
    return path


def _ratio(r: float) -> str:
    """0.0083 -> '1/120', 4.56 -> '4.6'."""
    from . import plots

    if not math.isfinite(r) or r <= 0:
        return str(r)
    return f"1/{plots._ratio_text(1 / r)}" if r < 1 / 3 else plots._ratio_text(r)


# -- the report ------------------------------------------------------------------------------------

def write_report(res: CompareResult) -> Path:
    from .report import Section, write_report as write

    assert res.dir is not None
    default = Spec()
    changed = [f"{k}={_show(v)}" for sec in spec_mod.SECTIONS for k, v in getattr(res.spec, sec).model_dump().items()
               if v != getattr(getattr(default, sec), k)]
    base = ", ".join(changed) + " (every other field at its default)" if changed else "the default spec"
    grid = [["variant", *res.vary]] + [[v.label, *(_show(v.variant.overrides[k]) for k in res.vary)] for v in res.variants]
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
    return write(res.dir, title, sections)
