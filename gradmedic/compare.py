"""Compare remedies side by side: a grid of spec variants x seeds, trained in parallel processes.

``compare(spec, {"activation": ["sigmoid", "relu"]}, seeds=3)`` trains every grid point (the
cartesian product of the varied fields, first field slowest) with seeds ``spec.seed + 0..K-1``, one
run per process on the available cores, each into its run directory (as ``gradmedic train`` writes
them) under one directory ``runs/<timestamp>-compare-<name>/``, and returns a ``CompareResult``: the
grid, the target, per-variant aggregates and every run's outcome.

It prints nothing and writes nothing else: progress goes to the ``on_start`` and ``on_run`` callbacks,
and ``show.compare`` prints the table (``print_compare``) and writes compare.json, the pictures and
report.html (``save``), as ``gradmedic compare`` does.

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
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gradmedic import spec as spec_mod
from gradmedic.errors import SpecError
from gradmedic.spec import Spec, label_value

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
        return ", ".join(f"{k}={label_value(self.overrides[k])}" for k in shown) or "base"


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
    varied = tuple(n for n, values in zip(names, vary.values(), strict=True) if len(values) > 1)
    variants = []
    for i, combo in enumerate(itertools.product(*vary.values())):
        overrides = dict(zip(names, combo, strict=True))
        try:
            s = spec_mod.override(spec, overrides)
        except SpecError as e:
            where = f" (grid point {', '.join(f'{k}={label_value(v)}' for k, v in overrides.items())})" if len(names) > 1 else ""
            raise SpecError(e.field, e.message + where) from None
        variants.append(Variant(i, overrides, s, varied))
    return variants


@dataclass
class Grid:
    """What a comparison is about to train, told to ``on_start`` before the first run starts."""

    variants: list[Variant]
    seeds: list[int]
    workers: int  # worker processes
    dir: Path | None  # the compare directory the runs go into (None: runs_dir=None, nothing on disk)

    @property
    def runs(self) -> int:
        return len(self.variants) * len(self.seeds)


def _with_seed(spec: Spec, seed: int, name: str) -> Spec:
    return spec.model_copy(update={"name": name, "train": spec.train.model_copy(update={"seed": seed})})


def _preflight(variants: list[Variant], tensorboard: Any) -> dict[int, int]:
    """What the trainer would reject only once started, checked here for every grid point: the data
    loads, the loss fits the task, the device exists, the model builds.  Returns each variant's
    planned number of steps (to bin the loss curves the same way for every seed)."""
    import torch

    from gradmedic.model import build as build_mod
    from gradmedic.model.plan import load_data, plan, resolve_device

    if tensorboard is not None:
        try:
            from torch.utils.tensorboard import SummaryWriter  # noqa: F401  (what each run's writer needs)

            from gradmedic.run import tensorboard as _tb  # noqa: F401
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
                cache[key] = load_data(s)
            planned[v.index] = plan(s, cache[key]).total_steps
            with torch.random.fork_rng(devices=[]):
                build_mod.build(s.model, cache[key])
        except SpecError as e:
            where = f" (grid point {', '.join(f'{k}={label_value(x)}' for k, x in v.overrides.items())})" if v.overrides else ""
            raise SpecError(e.field, e.message + where) from None
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
    from gradmedic.run.train import train

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
        return {"index": self.variant.index, "label": self.label,
                "overrides": {k: label_value(v) for k, v in self.variant.overrides.items()},
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
    report: Path | None = None  # report.html and the pictures, once show.compare.save wrote them
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
                "vary": {k: [label_value(x) for x in v] for k, v in self.vary.items()}, "seeds": self.seeds,
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


def aggregate(variants: list[Variant], runs: list[RunOutcome],
              target: float | None) -> tuple[list[VariantResult], float | None, str]:
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
    ctx.set_forkserver_preload(["gradmedic.compare", "gradmedic.run.train", "torch._dynamo"])
    return ctx


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
            target: float | None = None, runs_dir: str | Path | None = "runs", tensorboard: str | Path | None = None,
            on_start: Callable[[Grid], None] | None = None,
            on_run: Callable[[RunOutcome, str], None] | None = None) -> CompareResult:
    """Train every grid point of ``vary`` (field -> values, strings parsed by the spec) with ``seeds``
    seeds (``spec.train.seed + 0..seeds-1``) in ``workers`` processes (default: the available cores), each
    run into its directory under ``runs_dir/<timestamp>-compare-<name>/`` (``result.dir``), and return the
    side-by-side result.  ``target``: the test metric to reach (accuracy >=, mse <=); default 0.9 x the
    best variant's mean accuracy (best mse / 0.9).  Raises SpecError before any training when anything
    is wrong.  On Ctrl-C the finished runs are kept and ``status`` is ``interrupted``.

    Prints nothing and writes nothing beyond the runs' directories: ``on_start(grid)`` is called once
    before the first run, ``on_run(outcome, variant_label)`` as each run finishes (both in this process;
    ``show.compare.ConsoleProgress`` shows them as the CLI does).  ``show.compare.print_compare(result,
    console)`` prints the table; ``show.compare.save(result)`` writes compare.json, the pictures and
    report.html into ``result.dir``.

    Workers are forked from a fresh server process (multiprocessing "forkserver"), which imports the
    caller's main script as spawn does: call this from a script under ``if __name__ == "__main__":``."""
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
        from gradmedic.run.records import new_run_dir

        out = new_run_dir(runs_dir, f"compare-{_slug(spec.name)}")
    jobs, outcomes = [], []
    for v in variants:
        for seed in seed_list:
            if v.overrides:
                name = _slug(f"{spec.name}-{v.label.replace(', ', '-').replace('=', '-')}-s{seed}")
            else:
                name = _slug(f"{spec.name}-s{seed}")
            o = RunOutcome(v.index, seed, name)
            outcomes.append(o)
            jobs.append({"spec": _with_seed(v.spec, seed, name).model_dump(), "runs_dir": str(out) if out else None,
                         "planned_steps": planned[v.index],
                         # train() makes one TensorBoard run per run directory under this root
                         "tensorboard": str(tensorboard) if tensorboard is not None else None})
    n_workers = min(workers or default_workers(), len(jobs))
    labels = {v.index: v.label for v in variants}
    if on_start:
        on_start(Grid(variants, seed_list, n_workers, out))

    status = "ok"
    start, start_wall = time.perf_counter(), time.time()
    pool = ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx, initializer=_init_worker)
    try:
        futures: dict[Future, RunOutcome] = {pool.submit(_run_job, j): o for j, o in zip(jobs, outcomes, strict=True)}
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
                if on_run:
                    on_run(o, labels[o.variant])
    except KeyboardInterrupt:
        status = "interrupted"
        _end_workers(pool)
        for o in outcomes:
            if o.status == "pending":
                o.status = "cancelled"
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    seconds = time.perf_counter() - start

    results, target, note = aggregate(variants, outcomes, target)
    res = CompareResult(out, spec, vary, seed_list, results, target, note, n_workers, seconds, status)
    starts = [o.started for o in outcomes if o.started is not None]
    res.startup_seconds = max(0.0, min(starts) - start_wall) if starts else None
    return res
