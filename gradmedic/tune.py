"""Tune a spec's hyperparameters with Optuna, the doctor pruning sick trials.

``tune(spec, trials=20)`` searches the hyperparameters seed 003 ranks (the learning rate first, then
momentum or Adam's beta1, hidden units and mini-batch size, then depth and the decay schedule),
fitted to the spec's optimizer, or the fields a space file names.  Each trial is an ordinary run
directory; its test metric (accuracy up, MSE down) is reported to Optuna after every epoch, and the
pruner (:class:`gradmedic.doctor_pruner.DoctorPruner` by default) may stop it there.

Everything lives in ``runs/tune-<study>/``: ``study.journal`` (Optuna's journal file storage: several
worker processes share it, and running the command again resumes the study), ``trials/`` (one run
directory per trial), ``best_spec.json`` (the best trial's spec, as ``gradmedic train`` takes it),
and ``tune.json``: the study's own results, which :func:`tune` writes.  It prints nothing: progress goes
to the ``on_start`` and ``on_trials`` callbacks, and the pictures, ``report.html`` and the trials table
are :mod:`gradmedic.show.tune`'s (``gradmedic tune`` adds them).  With ``storage="postgresql://..."``
any number of workers on any number of machines join one study.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import signal
import socket
import threading
import time
import tomllib
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gradmedic import spec as spec_mod
from gradmedic.errors import SpecError
from gradmedic.spec import OPTIMIZER_DEFAULT_LR, Spec

PRUNERS = ("doctor", "median", "hyperband", "none")
SAMPLERS = ("tpe", "random")
PSEUDO = {"hidden_units": "units of every hidden layer (hidden = [hidden_units] * layers)",
          "layers": "number of hidden layers (hidden = [hidden_units] * layers)"}
NOT_SEARCHED = {"name": "each trial is named trial-NNNN", "seed": "a trial's seed is the spec's; tune over seeds with compare",
                "device": "where a trial runs is not a hyperparameter",
                "epochs": "a trial's budget: the pruners compare trials epoch by epoch, so set it in the spec"}
SPACE_KEYS = ("low", "high", "range", "log", "step", "choices")
JOURNAL = "study.journal"


# -- Ctrl-C where it cannot tear a storage write -----------------------------------------------------

class _Interrupts:
    """Ctrl-C raises at once only while a trial trains; anywhere else (a storage write: Optuna's journal
    lock, a PostgreSQL transaction) it is held until that code is done.  A KeyboardInterrupt inside the
    journal's lock made its release fail and the process exit 1 with the lock file left behind."""

    def __init__(self) -> None:
        self.pending = False
        self.live = False  # True while the trainer runs between storage writes

    def _handler(self, signum: int, frame: Any) -> None:
        if self.live:
            raise KeyboardInterrupt
        self.pending = True

    @contextmanager
    def installed(self):
        """Hold Ctrl-C for the block (main thread only: elsewhere signals cannot be caught)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        self.pending, self.live = False, False
        old = signal.signal(signal.SIGINT, self._handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, old)

    def check(self) -> None:
        """Raise the held Ctrl-C here, a safe point."""
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt

    @contextmanager
    def allowed(self, live: bool):
        """``live=True``: Ctrl-C raises within the block (training); ``False``: it is held (a storage write)
        and raised when the block ends."""
        before = self.live
        if live:
            self.check()
        self.live = live
        try:
            yield
        finally:
            self.live = before
        if before:
            self.check()


INTERRUPTS = _Interrupts()


# -- the search space ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Param:
    """One searched field: a float or int range (``log``: sampled on a log scale) or a list of choices."""

    name: str
    kind: str  # float, int or choice
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: Any) -> Any:
        if self.kind == "float":
            return trial.suggest_float(self.name, self.low, self.high, log=self.log, step=self.step)
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log, step=int(self.step or 1))
        return trial.suggest_categorical(self.name, list(self.choices))

    def describe(self) -> str:
        if self.kind == "choice":
            return ", ".join(map(str, self.choices))
        return f"{self.low:g} .. {self.high:g}" + (" (log)" if self.log else "") + (f" step {self.step:g}" if self.step else "")

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "choice":
            return {"choices": list(self.choices)}
        return {"low": self.low, "high": self.high, "log": self.log, **({"step": self.step} if self.step else {})}


def searchable_fields() -> list[str]:
    return [n for cls in spec_mod.SECTIONS.values() for n in cls.model_fields if n not in NOT_SEARCHED] + list(PSEUDO)


def _field_kind(name: str) -> str:
    """float, int, bool, list (hidden, channels), literal or str: what a space may say about the field."""
    if name in PSEUDO:
        return "int"
    section = spec_mod.field_section(name)
    if spec_mod.allowed(section, name):
        return "literal"
    text = str(spec_mod.SECTIONS[section].model_fields[name].annotation)  # "<class 'float'>", "float | None", "list[int]"
    return next((k for k in ("bool", "list", "float", "int") if k in text), "str")


def apply(spec: Spec, params: dict[str, Any]) -> Spec:
    """``spec`` with a trial's parameters set (``hidden_units`` and ``layers`` make ``hidden``)."""
    flat = {k: v for k, v in params.items() if k not in PSEUDO}
    if "hidden_units" in params or "layers" in params:
        units = int(params.get("hidden_units", max(spec.model.hidden)))
        layers = int(params.get("layers", len(spec.model.hidden)))
        flat["hidden"] = [units] * layers
    return spec_mod.override(spec, flat)


def _check_value(spec: Spec, name: str, value: Any, what: str) -> None:
    try:
        apply(spec, {name: value})
    except SpecError as e:
        raise SpecError(f"space.{name}", f"{what} {value!r} is not allowed ({e.field}: {e.message})") from None


def parse_space(raw: dict[str, Any], spec: Spec) -> list[Param]:
    """Check a space given as ``{field: {low, high, log, step} | {choices} | [choices]}`` against the spec's
    fields; every bound and choice must be a value the spec accepts.  Raises SpecError (``space.FIELD``)."""
    if not isinstance(raw, dict) or not raw:
        raise SpecError("--space", "name at least one spec field, e.g. lr = { low = 1e-4, high = 0.1, log = true }")
    allowed = searchable_fields()
    if "hidden" in raw and ({"hidden_units", "layers"} & set(raw)):
        raise SpecError("space.hidden", "give either hidden (choices of whole layer lists) or hidden_units/layers, not both")
    params = []
    for name, body in raw.items():
        if name in NOT_SEARCHED:
            raise SpecError(f"space.{name}", f"not searched: {NOT_SEARCHED[name]}")
        if name not in allowed:
            raise SpecError(f"space.{name}", "unknown field; allowed: " + ", ".join(allowed))
        params.append(_parse_param(name, body, spec))
    return params


def _parse_param(name: str, body: Any, spec: Spec) -> Param:
    kind = _field_kind(name)
    if isinstance(body, list):
        body = {"choices": body}
    if not isinstance(body, dict):
        raise SpecError(f"space.{name}", "give { low = .., high = .., log = true } or { choices = [..] } (or a list of choices)")
    extra = [k for k in body if k not in SPACE_KEYS]
    if extra:
        raise SpecError(f"space.{name}", f"unknown key {extra[0]!r}; allowed: {', '.join(SPACE_KEYS)}")
    if "choices" in body:
        if set(body) - {"choices"}:
            raise SpecError(f"space.{name}", "choices is given with a range; give one or the other")
        choices = body["choices"]
        if not isinstance(choices, list) or not choices:
            raise SpecError(f"space.{name}", "choices must be a non-empty list")
        if kind == "list":  # a layer list is one choice: [32, 32] or "32,32"; Optuna stores it as text
            choices = [",".join(map(str, c)) if isinstance(c, list) else str(c) for c in choices]
        if any(isinstance(c, (list, dict)) for c in choices):
            raise SpecError(f"space.{name}", "each choice must be a single value")
        dup = sorted({str(c) for c in choices if choices.count(c) > 1})
        if dup:
            raise SpecError(f"space.{name}", f"choice {dup[0]!r} is given twice")
        for c in choices:
            _check_value(spec, name, c, "choice")
        return Param(name, "choice", choices=tuple(choices))
    if kind in ("literal", "bool", "list", "str"):
        hint = f" (one of: {', '.join(spec_mod.allowed(spec_mod.field_section(name), name))})" if kind == "literal" else ""
        raise SpecError(f"space.{name}", f"takes choices{hint}, not a range: {name} = {{ choices = [..] }}")
    if "range" in body:
        r = body["range"]
        if "low" in body or "high" in body:
            raise SpecError(f"space.{name}", "give range = [low, high] or low and high, not both")
        if not isinstance(r, list) or len(r) != 2:
            raise SpecError(f"space.{name}", f"range must be [low, high] (got {r!r})")
        low, high = r
    else:
        if "low" not in body or "high" not in body:
            raise SpecError(f"space.{name}", "give low and high (a range), or choices")
        low, high = body["low"], body["high"]
    for what, v in (("low", low), ("high", high)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise SpecError(f"space.{name}", f"{what} must be a finite number (got {v!r})")
        if kind == "int" and v != int(v):
            raise SpecError(f"space.{name}", f"{what} must be a whole number for an integer field (got {v!r})")
    log = body.get("log", False)
    if not isinstance(log, bool):
        raise SpecError(f"space.{name}", f"log must be true or false (got {log!r})")
    if not low < high:
        raise SpecError(f"space.{name}", f"impossible range: low {low:g} is not below high {high:g}")
    if log and low <= 0:
        raise SpecError(f"space.{name}", f"impossible range: a log scale needs low > 0 (got {low:g})")
    step = body.get("step")
    if step is not None:
        if isinstance(step, bool) or not isinstance(step, (int, float)) or not step > 0 or (kind == "int" and step != int(step)):
            raise SpecError(f"space.{name}", f"step must be a positive {'whole ' if kind == 'int' else ''}number (got {step!r})")
        if log:
            raise SpecError(f"space.{name}", "step and log cannot be combined (Optuna samples a log scale continuously)")
        if step > high - low:
            raise SpecError(f"space.{name}", f"impossible range: step {step:g} is wider than high - low = {high - low:g}")
    for what, v in (("low", low), ("high", high)):
        _check_value(spec, name, int(v) if kind == "int" else float(v), what)
    return Param(name, "int" if kind == "int" else "float", float(low), float(high), log, step)


def load_space(path: str | Path, spec: Spec) -> list[Param]:
    """A TOML space file: one key per spec field (see :func:`parse_space`)."""
    path = Path(path)
    if not path.is_file():
        raise SpecError("--space", f"file not found: {path}")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise SpecError("--space", f"{path} is not valid TOML: {e}") from None
    return parse_space(raw, spec)


def default_space(spec: Spec) -> list[Param]:
    """Seed 003's ranking, fitted to the spec's optimizer: the learning rate (high importance) on a log scale
    from a tenth of the optimizer's usual rate to 100x it; the momentum term that optimizer has (momentum,
    Adam's beta1, RMSProp's rho; medium); hidden units from a quarter to 4x the spec's widest layer and the
    mini-batch size (medium); the number of layers +-1 and the decay schedule (low).  Adam's beta2 and
    epsilon are left alone, as the seed advises."""
    t, m = spec.train, spec.model
    usual = OPTIMIZER_DEFAULT_LR[t.optimizer]
    space = [Param("lr", "float", usual / 10, usual * 100, log=True)]
    if t.optimizer in ("momentum", "nesterov"):
        space.append(Param("momentum", "float", 0.5, 0.99))
    elif t.optimizer in ("adam", "adamw"):
        space.append(Param("beta1", "float", 0.8, 0.99))
    elif t.optimizer == "rmsprop":
        space.append(Param("rho", "float", 0.8, 0.99))
    width, depth = max(m.hidden), len(m.hidden)
    space.append(Param("hidden_units", "int", max(2, width // 4), width * 4, log=True))
    if t.optimizer != "gd":
        space.append(Param("batch_size", "choice", choices=(16, 32, 64, 128)))
    space.append(Param("layers", "int", max(1, depth - 1), depth + 1))
    space.append(Param("schedule", "choice", choices=("none", "cosine")))
    return space


# -- storage ---------------------------------------------------------------------------------------

RDB_SCHEMES = ("postgresql", "postgres", "mysql", "sqlite", "mariadb")


def _check_storage_url(url: str | None) -> None:
    if url is None:
        return
    scheme = url.split("://", 1)[0].split("+", 1)[0] if "://" in url else ""
    if scheme == "postgres":
        raise SpecError("--storage", "write postgresql://user@host/db (SQLAlchemy does not accept postgres://)")
    if scheme not in RDB_SCHEMES and not url.endswith((".journal", ".log")):
        raise SpecError("--storage", f"{url!r} is neither a database URL (postgresql://user@host:port/db, mysql://, "
                        "sqlite:///file.db) nor a journal file (PATH.journal)")


def open_storage(url: str | None, study_dir: Path):
    """Optuna storage for ``url``: None is ``study_dir/study.journal``; a ``.journal`` path a journal file;
    ``postgresql://...`` (and other SQLAlchemy URLs) a database, with a heartbeat so that the trials of a
    worker that died are marked failed.  Raises SpecError (``--storage``) when it cannot be opened."""
    import optuna
    from optuna.storages import JournalStorage, RDBStorage
    from optuna.storages.journal import JournalFileBackend

    _check_storage_url(url)
    if url is None or url.endswith((".journal", ".log")):
        path = Path(url) if url else study_dir / JOURNAL
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return JournalStorage(JournalFileBackend(str(path)))
        except OSError as e:
            raise SpecError("--storage", f"cannot open the journal file {path}: {e}") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return RDBStorage(_driver(url), heartbeat_interval=10, grace_period=60,
                              engine_kwargs={"pool_pre_ping": True})
    except ImportError:
        raise SpecError("--storage", f"{url.split(':', 1)[0]} needs a database driver that is not installed; "
                        "pip install 'gradmedic[tune]' brings psycopg2 for PostgreSQL") from None
    except Exception as e:  # sqlalchemy's OperationalError, ArgumentError, ...: one line
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SpecError("--storage", f"cannot open {_safe_url(url)}: {first}") from None


def _driver(url: str) -> str:
    """``postgresql://`` with the driver that is installed: SQLAlchemy 2.1 defaults to psycopg (3), the
    ``tune`` extra brings psycopg2."""
    import importlib.util

    if url.startswith("postgresql://") and importlib.util.find_spec("psycopg") is None \
            and importlib.util.find_spec("psycopg2") is not None:
        return "postgresql+psycopg2://" + url[len("postgresql://"):]
    return url


def _safe_url(url: str) -> str:
    """The URL without its password."""
    if "://" in url and "@" in url.split("://", 1)[1]:
        scheme, rest = url.split("://", 1)
        cred, host = rest.rsplit("@", 1)
        return f"{scheme}://{cred.split(':', 1)[0]}@{host}"
    return url


# -- one trial -------------------------------------------------------------------------------------

def _data_key(spec: Spec) -> str:
    """Specs with the same key train on the same dataset (loaded once for them all)."""
    return json.dumps([spec.data.model_dump(), spec.model.kind])


class Objective:
    """Train one trial's spec into ``study_dir/trials``; report the test metric each epoch; let the pruner
    stop it (the doctor's verdict goes on the trial first).  Picklable: workers build their own."""

    def __init__(self, spec: Spec, space: list[Param], study_dir: Path, pruner: str, metric: str):
        self.spec, self.space, self.study_dir, self.pruner, self.metric = spec, space, Path(study_dir), pruner, metric
        self.data: dict[str, Any] = {}  # the trials' datasets by _data_key, loaded once in each worker

    def planned_steps(self, spec: Spec) -> int:
        """The trial's steps if nothing stops it, on its own data (the doctor's veto is paced by them)."""
        from gradmedic.model.plan import load_data, plan

        key = _data_key(spec)
        if key not in self.data:
            self.data[key] = load_data(spec)
        return plan(spec, self.data[key]).total_steps

    def __call__(self, trial: Any) -> float:
        import optuna

        from gradmedic.doctor_pruner import VERDICT_ATTR, pruner_name, refresh, value_reason, verdict
        from gradmedic.run.train import train

        params = {p.name: p.suggest(trial) for p in self.space}
        spec = apply(self.spec, params).model_copy(update={"name": f"trial-{trial.number:04d}"})
        planned = self.planned_steps(spec)
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        state: dict[str, Any] = {"next": 0, "verdict": None, "epochs": []}
        doctor = self.pruner == "doctor"

        def on_epoch(row: dict[str, Any], monitor: Any) -> str | None:
            with INTERRUPTS.allowed(live=False):  # the storage is written here
                return epoch_end(row, monitor)

        def epoch_end(row: dict[str, Any], monitor: Any) -> str | None:
            state["epochs"].append(row)
            value = row["test_metric"]
            if isinstance(value, float) and math.isfinite(value):
                trial.report(value, row["epoch"])
            if doctor and monitor.steps >= state["next"]:
                # one diagnosis reads the whole history: every epoch, or every 5% of the steps so far when
                # epochs are short (O(steps log steps) in all, as repair's checker)
                state["next"] = monitor.steps + max(1, monitor.steps // 20)
                state["verdict"] = verdict(monitor, planned, state["epochs"])
                trial.set_user_attr(VERDICT_ATTR, state["verdict"])
            elif doctor and state["verdict"] is not None:  # the findings as last judged; steps and the loss now
                now = refresh(state["verdict"], monitor, state["epochs"])
                state["verdict"] = now
                trial.set_user_attr(VERDICT_ATTR, now)
            if trial.should_prune():
                return f"pruned at epoch {row['epoch']}"
            return None

        try:
            with INTERRUPTS.allowed(live=True):
                r = train(spec, runs_dir=self.study_dir / "trials", progress="none", on_epoch=on_epoch)
        except KeyboardInterrupt:  # held from before the trial began
            trial.set_user_attr("interrupted", True)
            raise
        trial.set_user_attr("run_dir", str(r.run_dir))
        trial.set_user_attr("steps", int(r.steps))
        trial.set_user_attr("seconds", round(r.seconds, 3))
        trial.set_user_attr("status", r.status)
        if r.status == "interrupted":
            trial.set_user_attr("interrupted", True)
            raise KeyboardInterrupt
        if r.status == "non_finite":  # the trainer stops a NaN run whatever the pruner; the doctor names it
            f = r.diagnosis.first_serious()
            nf = r.non_finite or {}
            trial.set_user_attr("pruned_by", "doctor" if doctor else "nan")
            trial.set_user_attr("prune_problem", f.problem if f else "non_finite")
            trial.set_user_attr("prune_step", int(f.detected_at if f else nf.get("step", r.steps)))
            trial.set_user_attr("prune_reason", f.message if f else f"the loss became {nf.get('loss')} at step {nf.get('step')}")
            raise optuna.TrialPruned(f"non-finite at step {nf.get('step')}")
        if r.status == "stopped":
            frozen = trial.study._storage.get_trial(trial._trial_id)
            if "pruned_by" not in frozen.user_attrs:  # a plain Optuna pruner: say which and why
                name = pruner_name(trial.study.pruner)
                trial.set_user_attr("pruned_by", name)
                trial.set_user_attr("prune_problem", None)
                trial.set_user_attr("prune_step", int(r.steps))
                trial.set_user_attr("prune_reason", value_reason(name, frozen, trial.study.direction.name.lower()))
            raise optuna.TrialPruned(r.extra.get("stopped"))
        value = r.epochs[-1]["test_metric"] if r.epochs else math.nan
        return float(value)


def make_pruner(name: str, epochs: int):
    from optuna.pruners import HyperbandPruner, MedianPruner, NopPruner

    from gradmedic.doctor_pruner import DoctorPruner

    if name == "doctor":
        return DoctorPruner(MedianPruner())
    if name == "median":
        return MedianPruner()
    if name == "hyperband":
        return HyperbandPruner(min_resource=1, max_resource=max(1, epochs), reduction_factor=3)
    return NopPruner()


def make_sampler(name: str, seed: int | None):
    import optuna

    return optuna.samplers.RandomSampler(seed=seed) if name == "random" else optuna.samplers.TPESampler(seed=seed)


# -- the budget, shared by every worker --------------------------------------------------------------

def _counts(study: Any) -> dict[str, int]:
    from optuna.trial import TrialState

    c = {"complete": 0, "pruned": 0, "running": 0, "failed": 0, "interrupted": 0, "waiting": 0}
    for t in study.get_trials(deepcopy=False):
        if t.state == TrialState.COMPLETE:
            c["complete"] += 1
        elif t.state == TrialState.PRUNED:
            c["pruned"] += 1
        elif t.state == TrialState.RUNNING:
            c["running"] += 1
        elif t.state == TrialState.WAITING:
            c["waiting"] += 1
        elif t.user_attrs.get("interrupted"):
            c["interrupted"] += 1
        else:
            c["failed"] += 1
    return c


def _used(c: dict[str, int]) -> int:
    """Trials that count against the budget: finished (complete, pruned, failed by an error) or running.
    An interrupted trial does not: its parameters are queued again when the study resumes."""
    return c["complete"] + c["pruned"] + c["failed"] + c["running"]


def _worker_loop(study: Any, objective: Objective, trials: int, deadline: float | None, callbacks: list | None = None) -> None:
    """Run trials one at a time until the study holds ``trials`` of them or the deadline has passed.
    Ctrl-C is held outside training (:class:`_Interrupts`) and raised here, between trials."""
    with INTERRUPTS.installed():
        while True:
            INTERRUPTS.check()
            if deadline is not None and time.time() >= deadline:
                return
            c = _counts(study)
            if _used(c) >= trials and not c["waiting"]:
                return
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                study.optimize(objective, n_trials=1, gc_after_trial=False, callbacks=callbacks)


@dataclass
class _Job:
    """What a worker process needs to join the study (picklable)."""

    spec: dict[str, Any]
    space: list[Param]
    study_dir: str
    storage: str | None
    study: str
    pruner: str
    sampler: str
    seed: int | None
    metric: str
    trials: int
    deadline: float | None


def _load_study(job: _Job):
    import optuna

    storage = open_storage(job.storage, Path(job.study_dir))
    return optuna.load_study(study_name=job.study, storage=storage, sampler=make_sampler(job.sampler, job.seed),
                             pruner=make_pruner(job.pruner, spec_mod.validate(job.spec).train.epochs))


def _run_worker(job: _Job) -> None:
    """A worker process: one intra-op thread (W workers use W cores, as compare's), Ctrl-C ends its trial
    (marked interrupted, queued again on resume) and the process quietly with code 130."""
    import optuna
    import torch

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")
    try:
        study = _load_study(job)
        spec = spec_mod.validate(job.spec)
        _worker_loop(study, Objective(spec, job.space, Path(job.study_dir), job.pruner, job.metric),
                     job.trials, job.deadline)
    except KeyboardInterrupt:
        os._exit(130)


def _context() -> multiprocessing.context.BaseContext:
    """forkserver, as compare's: never fork a parent that may run torch's thread pools."""
    if "forkserver" not in multiprocessing.get_all_start_methods():  # pragma: no cover - Windows
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["gradmedic.tune", "gradmedic.run.train", "gradmedic.doctor_pruner", "torch._dynamo", "optuna"])
    return ctx


# -- resuming --------------------------------------------------------------------------------------

def _recover(study: Any) -> list[int]:
    """Make a study ready to resume: a running trial whose worker on this machine is gone (killed) is marked
    failed and interrupted; every interrupted trial not yet retried is queued again with its parameters.
    Returns the numbers of the trials queued again."""
    from optuna.trial import TrialState

    host = socket.gethostname()
    trials = study.get_trials(deepcopy=False)
    for t in trials:
        w = str(t.user_attrs.get("worker", ""))
        if t.state == TrialState.RUNNING and w.rsplit(":", 1)[0] == host and not _alive(int(w.rsplit(":", 1)[1])):
            study._storage.set_trial_user_attr(t._trial_id, "interrupted", True)
            study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
    trials = study.get_trials(deepcopy=False)
    retried = {t.user_attrs.get("retry_of") for t in trials}
    queued = []
    for t in trials:
        if t.state == TrialState.FAIL and t.user_attrs.get("interrupted") and t.number not in retried and t.params:
            study.enqueue_trial(t.params, user_attrs={"retry_of": t.number})
            queued.append(t.number)
    return queued


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- the result ------------------------------------------------------------------------------------

@dataclass
class TuneResult:
    dir: Path
    study: str
    storage: str  # the URL (password left out) or the journal file
    metric: str  # accuracy or mse
    direction: str  # maximize or minimize
    pruner: str
    space: list[Param]
    trials: list[dict[str, Any]]  # one row per trial, in trial order
    seconds: float
    status: str = "ok"  # ok, or interrupted (Ctrl-C: every finished trial is kept)
    workers: int = 1
    files: dict[str, str] = field(default_factory=dict)
    importances: dict[str, float] = field(default_factory=dict)  # fANOVA, over the completed trials

    @property
    def best(self) -> dict[str, Any] | None:
        done = [t for t in self.trials if t["state"] == "COMPLETE" and t["value"] is not None and math.isfinite(t["value"])]
        if not done:
            return None
        return (max if self.direction == "maximize" else min)(done, key=lambda t: t["value"])

    @property
    def steps(self) -> int:
        """Optimizer steps trained over all trials."""
        return sum(t["steps"] or 0 for t in self.trials)

    def pruned_by(self) -> dict[str, int]:
        """Pruned trials counted by reason (``doctor: lr_too_high``, ``median``, ...)."""
        out: dict[str, int] = {}
        for t in self.trials:
            if t["state"] == "PRUNED":
                key = reason_key(t)
                out[key] = out.get(key, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def to_dict(self) -> dict[str, Any]:
        b = self.best
        return {"dir": str(self.dir), "study": self.study, "storage": self.storage, "status": self.status,
                "metric": self.metric, "direction": self.direction, "pruner": self.pruner, "workers": self.workers,
                "space": {p.name: p.to_dict() for p in self.space}, "seconds": round(self.seconds, 3),
                "steps": self.steps, "best": b, "pruned_by": self.pruned_by(), "importances": self.importances,
                "trials": self.trials, "files": self.files}


@dataclass
class TuneStart:
    """What a search is about to run, told to ``on_start`` once the study is open, before the first trial."""

    study: str
    trials: int  # the budget, all workers together
    metric: str  # accuracy or mse
    direction: str  # maximize or minimize
    pruner: str
    workers: int
    storage: str  # the URL (password left out) or the journal file
    space: list[Param]
    finished: int  # complete or pruned trials a resumed study already holds
    requeued: list[int]  # interrupted trials queued again with their parameters


def reason_key(t: dict[str, Any]) -> str:
    """A pruned trial's reason as tune.json counts it: ``doctor: lr_too_high``, ``median``, ..."""
    by = t.get("pruned_by") or "?"
    return f"{by}: {t['problem']}" if t.get("problem") else by


def _rows(study: Any) -> list[dict[str, Any]]:
    rows = []
    for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        ua = t.user_attrs
        rows.append({"number": t.number, "state": t.state.name, "value": t.value, "params": dict(t.params),
                     "steps": ua.get("steps"), "seconds": ua.get("seconds"), "run_dir": ua.get("run_dir"),
                     "pruned_by": ua.get("pruned_by"), "problem": ua.get("prune_problem"), "prune_step": ua.get("prune_step"),
                     "reason": ua.get("prune_reason"), "interrupted": bool(ua.get("interrupted")),
                     "retry_of": ua.get("retry_of"),
                     "intermediate": {int(k): v for k, v in sorted(t.intermediate_values.items())}})
    return rows


# -- the search ------------------------------------------------------------------------------------

def _preflight(spec: Spec, space: list[Param]) -> str:
    """What the trainer would reject once started, checked before any trial: the data loads, the loss fits
    the task (:func:`gradmedic.model.plan.plan`), the device exists, the model builds at the space's extremes and
    with each choice.  Returns the metric (accuracy, or mse for regression)."""
    import torch

    from gradmedic.model import build as build_mod
    from gradmedic.model.plan import load_data, plan, resolve_device

    resolve_device(spec.train.device)
    data = load_data(spec)
    metric = plan(spec, data).metric
    cache = {_data_key(spec): data}
    for p in space:
        for v in (p.choices if p.kind == "choice" else (p.low, p.high)):
            v = int(v) if p.kind == "int" else v
            s = apply(spec, {p.name: v})
            key = _data_key(s)
            try:
                if key not in cache:
                    cache[key] = load_data(s)
                plan(s, cache[key])
                with torch.random.fork_rng(devices=[]):
                    build_mod.build(s.model, cache[key])
            except SpecError as e:
                raise SpecError(f"space.{p.name}", f"{v!r} does not work: {e.field}: {e.message}") from None
    return metric


def _check_args(trials: Any, timeout: Any, workers: Any, pruner: str, sampler: str) -> None:
    def whole(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 1

    if not whole(trials):
        raise SpecError("--trials", f"must be a whole number >= 1 (got {trials!r})")
    if not whole(workers):
        raise SpecError("--workers", f"must be a whole number >= 1 (got {workers!r})")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0):
        raise SpecError("--timeout", f"must be a number of seconds > 0 (got {timeout!r})")
    if pruner not in PRUNERS:
        raise SpecError("--pruner", f"{pruner!r} is not one of: {', '.join(PRUNERS)}")
    if sampler not in SAMPLERS:
        raise SpecError("--sampler", f"{sampler!r} is not one of: {', '.join(SAMPLERS)}")


def _slug(text: str) -> str:
    from gradmedic.compare import _slug as slug

    return slug(text)


def tune(spec: Spec, trials: int = 20, *, timeout: float | None = None, workers: int = 1,
         space: str | Path | dict[str, Any] | list[Param] | None = None, storage: str | None = None,
         study: str | None = None, pruner: str = "doctor", runs_dir: str | Path = "runs",
         sampler: str = "tpe", seed: int | None = None, report: bool = True, quiet: bool = False,
         on_start: Callable[[TuneStart], None] | None = None,
         on_trials: Callable[[list[dict[str, Any]]], None] | None = None) -> TuneResult:
    """Search ``spec``'s hyperparameters: ``trials`` trials in all (a resumed study counts the ones it has),
    ``workers`` processes with one intra-op thread each, stop starting trials after ``timeout`` seconds.
    ``space``: a TOML file, a dict as in a space file, Params, or None for :func:`default_space`.
    ``storage``: None (``runs_dir/tune-<study>/study.journal``), a ``.journal`` path or a database URL;
    ``study``: its name (default: the spec's name).  ``pruner``: doctor, median, hyperband or none;
    ``sampler``: tpe or random (``seed`` seeds it; worker k uses seed + k).  Raises SpecError before any
    training when anything is wrong.  On Ctrl-C every finished trial is kept and ``status`` is interrupted.

    Writes the study's own results into ``runs_dir/tune-<study>/`` (the journal, ``trials/``,
    ``best_spec.json``, ``tune.json``) and prints nothing: ``on_start(TuneStart)`` is called once the study
    is open, ``on_trials(rows)`` with every trial's row (as ``TuneResult.trials``) after each trial (several
    workers: about twice a second), both in this process.  ``report=False`` skips the fANOVA importances.
    The pictures and report.html are :func:`gradmedic.show.tune.save`'s; ``quiet`` is ignored (kept for
    callers written when tune printed)."""
    try:
        import optuna
    except ImportError:
        raise SpecError("tune", "needs optuna: pip install 'gradmedic[tune]'") from None

    _check_args(trials, timeout, workers, pruner, sampler)
    _check_storage_url(storage)
    if isinstance(space, (str, Path)):
        params = load_space(space, spec)
    elif isinstance(space, dict):
        params = parse_space(space, spec)
    elif space is None:
        params = default_space(spec)
    else:
        params = list(space)
    metric = _preflight(spec, params)
    direction = "maximize" if metric == "accuracy" else "minimize"
    name = study or spec.name
    study_dir = Path(runs_dir) / f"tune-{_slug(name)}"
    study_dir.mkdir(parents=True, exist_ok=True)
    st = open_storage(storage, study_dir)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    stored_spec = spec_mod.to_json(spec_mod.resolve(spec))
    try:
        s = optuna.create_study(study_name=name, storage=st, direction=direction, load_if_exists=True,
                                sampler=make_sampler(sampler, seed), pruner=make_pruner(pruner, spec.train.epochs))
    except ValueError as e:  # e.g. an existing study with another direction
        raise SpecError("--study", f"{name}: {e}") from None
    if s.direction.name.lower() != direction:
        raise SpecError("--study", f"study {name!r} exists and {s.direction.name.lower()}s; this spec's {metric} "
                        f"needs {direction}: pick another --study name")
    # one attribute, written at once: workers starting together must never see half of it
    mine = {"spec": stored_spec, "metric": metric, "space": json.loads(json.dumps({p.name: p.to_dict() for p in params}))}
    old = s.user_attrs.get("gradmedic")
    if old is None:
        s.set_user_attr("gradmedic", mine)
    elif old.get("spec") != mine["spec"]:
        raise SpecError("--study", f"study {name!r} exists with another spec; pick another --study name to start a new one")
    elif old.get("space") != mine["space"]:
        raise SpecError("--study", f"study {name!r} exists with another search space; pick another --study name to start "
                        "a new one")
    requeued = _recover(s)
    where = _safe_url(storage) if storage else str(study_dir / JOURNAL)
    if on_start:
        have = _counts(s)
        on_start(TuneStart(name, trials, metric, direction, pruner, workers, where, params,
                           have["complete"] + have["pruned"], requeued))

    deadline = time.time() + timeout if timeout is not None else None
    if seed is not None:  # a resumed study must not draw its first trials' parameters again
        seed += 1009 * len(s.get_trials(deepcopy=False))
    job = _Job(spec.model_dump(), params, str(study_dir), storage, name, pruner, sampler, seed, metric, trials, deadline)
    start = time.perf_counter()
    if workers == 1:
        status = _run_here(s, job, on_trials)
    else:
        status = _run_processes(s, job, workers, on_trials)
    seconds = time.perf_counter() - start
    res = TuneResult(study_dir, name, where, metric, direction, pruner, params, _rows(s), seconds, status, workers)
    res.importances = _importances(s) if report else {}
    _write_best(res, spec)
    write_json(res)
    return res


def _importances(study: Any) -> dict[str, float]:
    """Optuna's fANOVA parameter importances; {} with fewer than two completed trials or one value."""
    import optuna

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return {k: float(v) for k, v in optuna.importance.get_param_importances(study).items()}
    except (ValueError, RuntimeError, ZeroDivisionError):
        return {}


def _run_here(study: Any, job: _Job, on_trials: Callable[[list[dict[str, Any]]], None] | None) -> str:
    """One worker in this process, with one intra-op thread while it runs."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    objective = Objective(spec_mod.validate(job.spec), job.space, Path(job.study_dir), job.pruner, job.metric)
    study.sampler = make_sampler(job.sampler, job.seed)

    def progress(st: Any, _t: Any) -> None:
        on_trials(_rows(st))

    try:
        _worker_loop(study, objective, job.trials, job.deadline, callbacks=[progress] if on_trials else None)
        return "ok"
    except KeyboardInterrupt:
        return "interrupted"
    finally:
        torch.set_num_threads(threads)


def _run_processes(study: Any, job: _Job, workers: int, on_trials: Callable[[list[dict[str, Any]]], None] | None) -> str:
    """``workers`` processes share the study through its storage; this one tells ``on_trials``.  On Ctrl-C the
    workers (which get it too from the terminal, or forwarded) end their trials as interrupted."""
    ctx = _context()
    procs = []
    for k in range(workers):
        wj = _Job(**{**job.__dict__, "seed": None if job.seed is None else job.seed + k})
        p = ctx.Process(target=_run_worker, args=(wj,), name=f"gradmedic-tune-{k}")
        p.start()
        procs.append(p)
    try:
        while any(p.is_alive() for p in procs):
            for p in procs:
                p.join(timeout=0.5 / workers)
            if on_trials:
                on_trials(_rows(study))
        if on_trials:
            on_trials(_rows(study))
        return "ok"
    except KeyboardInterrupt:
        time.sleep(0.5)
        for p in procs:  # forward it (a signal sent to this process alone did not reach them)
            if p.is_alive():
                os.kill(p.pid, signal.SIGINT)
        for p in procs:
            p.join(timeout=15)
            if p.is_alive():
                p.terminate()
                p.join(timeout=5)
        return "interrupted"


# -- output: the study's own results ----------------------------------------------------------------

def _write_best(res: TuneResult, spec: Spec) -> None:
    """best_spec.json (the best trial's spec, as ``gradmedic train`` takes it) into the study directory."""
    b = res.best
    if b is not None:
        best = apply(spec, b["params"]).model_copy(update={"name": f"{spec.name}-best"})
        p = res.dir / "best_spec.json"
        p.write_text(spec_mod.to_json(best) + "\n")
        res.files["best_spec"] = str(p)


def write_json(res: TuneResult) -> Path:
    """tune.json into the study directory: ``res.to_dict()``, its ``files`` the ones written before it
    (:func:`gradmedic.show.tune.save` writes it again once the report is there)."""
    p = res.dir / "tune.json"
    d = res.to_dict()
    d["files"] = {k: v for k, v in res.files.items() if k != "json"}
    p.write_text(json.dumps(d, indent=2, default=str) + "\n")
    res.files.pop("json", None)  # last, as it was written last
    res.files["json"] = str(p)
    return p
