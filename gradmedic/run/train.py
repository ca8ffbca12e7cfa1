"""Train a spec while the monitor records what happens inside each layer.

A plain in-memory loop (no DataLoader: for small tensors its per-batch overhead would dwarf the
model).  The loop only trains and evaluates; it fires events and everything else listens:

- ``after_backward(run)``: the step's gradients are ready, before the optimizer step (the monitor
  records, the NaN check reads the loss, clipping clips);
- ``after_step(run)``: after the optimizer step (``stop_when``, the progress bar, the timed flush);
- ``after_flush(run, chunk)``: the monitor moved records to the host (the run writer, TensorBoard,
  the NaN check of a loss kept on an accelerator);
- ``after_epoch(run, row)``: the epoch was evaluated (writers, progress, ``stop_when``'s stop, the NaN
  check, ``on_epoch``, the learning-rate schedule, in that order);
- ``after_fit(run, result)``: the run ended and was diagnosed (the run writer's summary); ``close(run)``
  always, also on an error (the progress bar, TensorBoard).

A listener ends training with ``run.request_stop(status, ...)`` (the first request wins; later listeners
of the same event are not called) or ends the epoch early with ``run.end_epoch = True`` (the partial
epoch is still evaluated).  Stops cleanly on NaN/inf, on Ctrl-C, or at the end, always keeping what
was recorded.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from gradmedic.measure.monitor import Monitor
from gradmedic.model import build as build_mod
from gradmedic.model import data as data_mod
from gradmedic.model.optim import make_loss, make_optimizer, make_scheduler
from gradmedic.model.plan import load_data, plan, resolve_device  # noqa: F401  (resolve_device: re-exported)
from gradmedic.run.records import RunWriter, new_run_dir
from gradmedic.spec import Spec, resolve, to_json

FLUSH_SECONDS = 2.0  # records reach the disk at least this often


@dataclass
class Result:
    spec: Spec
    model: torch.nn.Module
    monitor: Monitor
    epochs: list[dict[str, Any]]
    status: str  # ok, non_finite, interrupted
    steps: int
    seconds: float
    metric: str  # accuracy or mse
    run_dir: Path | None = None
    non_finite: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    diagnosis: Any = None

    @property
    def history(self):
        return self.monitor.history

    def layer_grad_norms(self) -> dict[str, float]:
        """Median gradient norm of each layer over the recorded steps (robust to single spikes)."""
        g = self.history.layer("grad_norm")
        out = {}
        for j, name in enumerate(self.monitor.layer_names):
            col = g[:, j]
            col = col[np.isfinite(col)]
            out[name] = float(np.median(col)) if len(col) else math.nan
        return out

    def summary(self) -> dict[str, Any]:
        last = self.epochs[-1] if self.epochs else {}
        norms = self.layer_grad_norms()
        names = list(norms)
        first, lastl = names[0], names[-1]
        ratio = norms[first] / norms[lastl] if norms[lastl] else math.nan
        return {
            "name": self.spec.name, "run_dir": str(self.run_dir) if self.run_dir else None, "status": self.status,
            "metric": self.metric, "train_metric": last.get("train_metric"), "test_metric": last.get("test_metric"),
            "train_loss": last.get("train_loss"), "test_loss": last.get("test_loss"),
            "epochs": len(self.epochs), "steps": self.steps, "seconds": round(self.seconds, 3),
            "steps_per_second": round(self.steps / self.seconds, 1) if self.seconds > 0 else None,
            "non_finite": self.non_finite, "first_layer": first, "last_layer": lastl,
            "first_grad_norm": norms[first], "last_grad_norm": norms[lastl], "first_to_last_grad_ratio": ratio,
            "grad_norm": norms,
        }


@dataclass
class Stop:
    """Why training ended before its last epoch."""

    status: str  # non_finite, stopped, interrupted
    reason: str | None = None  # for "stopped": what the stop_when / on_epoch callback returned
    non_finite: dict[str, Any] | None = None  # for "non_finite": where (see _where)


@dataclass
class Run:
    """What the listeners of one training run see: the loop's objects and where it is."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    monitor: Monitor
    steps: int = 0
    epoch: int | None = None  # None once the fit is over
    loss: torch.Tensor | None = None  # this step's loss
    epochs: list[dict[str, Any]] = field(default_factory=list)
    end_epoch: bool = False  # a listener asks to end this epoch after the step (it is still evaluated)
    stop: Stop | None = None

    def request_stop(self, status: str, reason: str | None = None, non_finite: dict[str, Any] | None = None) -> None:
        if self.stop is None:  # the first reason to stop is the one reported
            self.stop = Stop(status, reason, non_finite)


EVENTS = ("after_backward", "after_step", "after_flush", "after_epoch", "after_fit", "close")


class _Events:
    """The listeners' methods per event, in the listeners' order."""

    def __init__(self, listeners: list[Any]):
        self.calls = {e: [getattr(x, e) for x in listeners if hasattr(x, e)] for e in EVENTS}

    def fire(self, event: str, run: Run, *args: Any) -> bool:
        """Call each listener of ``event`` until one stops the run; True when the run is stopped."""
        before = run.stop
        for f in self.calls[event]:
            f(run, *args)
            if run.stop is not before:
                break
        return run.stop is not None


# -- listeners ------------------------------------------------------------------------------------

class _Measure:
    """The monitor records the step (before clipping: it sees the gradients backward produced)."""

    def after_backward(self, run: Run) -> None:
        run.monitor.step(run.loss)


class _NonFinite:
    """Stop at the first NaN/inf loss: read every step where that is free (CPU), else at each flush; and an
    epoch whose training loss is not finite."""

    def __init__(self, sync: bool):
        self.sync = sync

    def after_backward(self, run: Run) -> None:
        if self.sync:
            lv = run.loss.item()
            if not math.isfinite(lv):
                run.request_stop("non_finite", non_finite=_where(run.monitor, run.steps, run.epoch, lv))

    def after_flush(self, run: Run, chunk: Any) -> None:
        if not self.sync and not np.all(np.isfinite(chunk.loss)):
            bad = int(np.argmin(np.isfinite(chunk.loss)))
            run.request_stop("non_finite", non_finite=_where(run.monitor, int(chunk.loss_steps[bad]), run.epoch,
                                                              float(chunk.loss[bad])))

    def after_epoch(self, run: Run, row: dict[str, Any]) -> None:
        if not math.isfinite(row["train_loss"]):
            run.request_stop("non_finite", non_finite=_where(run.monitor, run.steps, run.epoch, row["train_loss"]))


class _Clip:
    """Clip each gradient element to [-value, value], then the total norm to ``norm``."""

    def __init__(self, value: float | None, norm: float | None):
        self.value, self.norm = value, norm

    def after_backward(self, run: Run) -> None:
        if self.value is not None:
            torch.nn.utils.clip_grad_value_(run.model.parameters(), self.value)
        if self.norm is not None:
            torch.nn.utils.clip_grad_norm_(run.model.parameters(), self.norm)


class _StopWhen:
    """``stop_when(monitor)`` every ``every`` steps: a reason ends the epoch, which is evaluated, then the run."""

    def __init__(self, fn: Callable[[Monitor], str | None], every: int):
        self.fn, self.every, self.reason = fn, every, None

    def after_step(self, run: Run) -> None:
        if run.steps % self.every == 0:
            self.reason = self.fn(run.monitor)
            if self.reason:
                run.end_epoch = True

    def after_epoch(self, run: Run, row: dict[str, Any]) -> None:
        if self.reason:  # the partial epoch was evaluated and written: a stopped run still has its metric
            run.request_stop("stopped", self.reason)


class _OnEpoch:
    """``on_epoch(row, monitor)`` after each epoch; a reason stops the run (a tuner prunes here)."""

    def __init__(self, fn: Callable[[dict[str, Any], Monitor], str | None]):
        self.fn = fn

    def after_epoch(self, run: Run, row: dict[str, Any]) -> None:
        reason = self.fn(row, run.monitor)
        if reason:
            run.request_stop("stopped", reason)


class _Schedule:
    """The learning-rate schedule steps once per epoch (plateau: on the held-out loss)."""

    def __init__(self, sched: Any, plateau: bool):
        self.sched, self.plateau = sched, plateau

    def after_epoch(self, run: Run, row: dict[str, Any]) -> None:
        self.sched.step(row["test_loss"]) if self.plateau else self.sched.step()


class _FlushEvery:
    """Records reach the host, and from there the disk, at least every ``seconds``."""

    def __init__(self, seconds: float):
        self.seconds, self.last = seconds, time.perf_counter()

    def after_step(self, run: Run) -> None:
        now = time.perf_counter()
        if now - self.last > self.seconds:
            self.last = now
            run.monitor.flush()


class _Records:
    """The run directory (gradmedic.run.records): steps at each flush, epochs, and at the end the summary."""

    def __init__(self, writer: RunWriter):
        self.writer = writer

    def after_flush(self, run: Run, chunk: Any) -> None:
        self.writer.write_chunk(chunk)

    def after_epoch(self, run: Run, row: dict[str, Any]) -> None:
        self.writer.write_epoch(row)

    def after_fit(self, run: Run, result: Result) -> None:
        summary = result.summary()
        summary["problems"] = sorted(result.diagnosis.problems)
        summary["row_spread"] = run.monitor.row_spread()
        summary["weight_gain"] = [g if math.isfinite(g) else None for g in run.monitor.weight_gain]
        if "stopped" in result.extra:
            summary["stopped"] = result.extra["stopped"]
        self.writer.finish(summary, run.model, result.diagnosis.to_dict())


class _TensorBoard:
    """The same records as TensorBoard events (gradmedic.run.tensorboard)."""

    def __init__(self, tb: Any):
        self.tb = tb

    def after_flush(self, run: Run, chunk: Any) -> None:
        self.tb.write_chunk(chunk)

    def after_epoch(self, run: Run, row: dict[str, Any]) -> None:
        self.tb.write_epoch(row)

    def close(self, run: Run) -> None:
        self.tb.close()


class _Progress:
    """A rich bar on a terminal, a plain line per ~10% of epochs otherwise, or nothing."""

    def __init__(self, mode: str, total_steps: int, epochs: int, console: Console):
        if mode == "auto":
            mode = "rich" if console.is_terminal else "plain"
        self.mode, self.console, self.epochs = mode, console, epochs
        self.every_epoch = max(1, epochs // 10)
        self.last = 0.0
        if mode == "rich":
            self.bar = Progress(TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("loss {task.fields[loss]}  lr {task.fields[lr]}"), TimeRemainingColumn(),
                                console=console, transient=True)
            self.task = self.bar.add_task("train", total=total_steps, loss="-", lr="-")
            self.bar.start()

    def after_step(self, run: Run) -> None:
        if self.mode == "rich":
            now = time.perf_counter()
            if now - self.last > 0.1:
                self.last = now
                lr = run.optimizer.param_groups[0]["lr"]
                self.bar.update(self.task, completed=run.steps, loss=f"{run.loss.item():.4g}", lr=f"{lr:.3g}")

    def after_epoch(self, run: Run, row: dict[str, Any]) -> None:
        if self.mode == "plain" and (row["epoch"] % self.every_epoch == 0 or row["epoch"] == self.epochs):
            self.console.print(f"epoch {row['epoch']}/{self.epochs}  step {row['step']}  loss {row['train_loss']:.4g}  "
                               f"test {row['test_metric']:.4g}  lr {row['lr']:.3g}", highlight=False)

    def close(self, run: Run) -> None:
        if self.mode == "rich":
            self.bar.stop()


# -- the loop -------------------------------------------------------------------------------------

def _fit(run: Run, events: _Events, loss_fn: Callable, batches: Callable[[], Any], epochs: int,
         evaluate: Callable[[], dict[str, Any]]) -> None:
    """Train until the last epoch or a listener's stop."""
    model, opt = run.model, run.optimizer
    for epoch in range(1, epochs + 1):
        run.epoch, run.end_epoch = epoch, False
        model.train()
        for xb, yb in batches():
            opt.zero_grad(set_to_none=True)
            run.loss = loss_fn(model(xb), yb)
            run.loss.backward()
            run.steps += 1
            if events.fire("after_backward", run):
                return
            opt.step()
            if events.fire("after_step", run):
                return
            if run.end_epoch:
                break
        row = evaluate()
        row.update(epoch=epoch, step=run.steps, lr=opt.param_groups[0]["lr"])
        run.epochs.append(row)
        if events.fire("after_epoch", run, row):
            return


def train(spec: Spec, *, runs_dir: str | Path | None = "runs", progress: str = "auto",
          console: Console | None = None, tensorboard: str | Path | None = None,
          stop_when: Callable[[Monitor], str | None] | None = None, check_every: int = 50,
          on_epoch: Callable[[dict[str, Any], Monitor], str | None] | None = None) -> Result:
    """Train ``spec``; write records under ``runs_dir`` (None: no records).  Raises SpecError on bad input.

    ``tensorboard``: also write the recorded statistics as TensorBoard events into this directory.
    ``stop_when(monitor)`` is called every ``check_every`` steps; a non-empty string it returns stops
    training early (status ``stopped``, the reason in ``result.extra["stopped"]``).  ``on_epoch(row, monitor)``
    is called after each finished epoch's evaluation (``row`` as in epochs.jsonl); a non-empty string it
    returns stops training the same way (a tuner reports the epoch's metric and may prune there)."""
    console = console or Console(stderr=True)
    spec = resolve(spec)
    t = spec.train
    device = resolve_device(t.device)
    torch.manual_seed(t.seed)
    data = load_data(spec)
    p = plan(spec, data)
    model = build_mod.build(spec.model, data).to(device)
    opt = make_optimizer(model.parameters(), t)
    sched = make_scheduler(opt, t)
    loss_fn = make_loss(p.loss)
    x_tr, y_tr, x_te, y_te = (a.to(device) for a in (data.x_train, data.y_train, data.x_test, data.y_test))
    gen = torch.Generator().manual_seed(t.seed)

    def batches():
        perm = torch.randperm(p.rows, generator=gen).to(device) if p.batch_size < p.rows else None
        for b in range(p.steps_per_epoch):
            if perm is None:
                yield x_tr, y_tr
            else:
                idx = perm[b * p.batch_size:(b + 1) * p.batch_size]
                yield x_tr[idx], y_tr[idx]

    monitor = Monitor(model, opt, every=t.stats_every, reference_loss=_chance_loss(p.loss, data, y_tr))
    monitor.spec, monitor.regression = spec, data.task == "regression"
    run = Run(model, opt, monitor)
    # the order of the listeners is the order of each event's calls
    listeners: list[Any] = [_Measure()]
    run_dir = tb = None
    if runs_dir is not None:
        run_dir = new_run_dir(runs_dir, spec.name)
        listeners.append(_Records(RunWriter(run_dir, to_json(spec), monitor.layer_names, monitor.act_names,
                                            monitor.act_kinds, monitor.layer_types, monitor.reference_loss,
                                            hist_ranges=monitor.hist_ranges, act_types=monitor.act_types)))
    if tensorboard is not None:
        from gradmedic.run.tensorboard import TensorBoardWriter

        # one TensorBoard run per training run: ``tensorboard --logdir DIR`` then compares them
        tb = TensorBoardWriter(Path(tensorboard) / (run_dir.name if run_dir else spec.name), monitor.layer_names,
                               monitor.act_names, hist_ranges=monitor.hist_ranges, metric=p.metric)
        listeners.append(_TensorBoard(tb))
    listeners.append(_Progress(progress, p.total_steps, t.epochs, console))
    if stop_when is not None:
        listeners.append(_StopWhen(stop_when, check_every))
    # reading the loss is free on CPU; on an accelerator it is checked at each flush
    listeners.append(_NonFinite(sync=device.type == "cpu"))
    if t.clip_value is not None or t.clip_norm is not None:
        listeners.append(_Clip(t.clip_value, t.clip_norm))
    if on_epoch is not None:
        listeners.append(_OnEpoch(on_epoch))
    if sched is not None:
        listeners.append(_Schedule(sched, t.schedule == "plateau"))
    listeners.append(_FlushEvery(FLUSH_SECONDS))
    events = _Events(listeners)
    monitor.on_flush.append(lambda chunk: events.fire("after_flush", run, chunk))

    start = time.perf_counter()
    try:
        _fit(run, events, loss_fn, batches, t.epochs,
             lambda: _evaluate(model, loss_fn, data, x_tr, y_tr, x_te, y_te, p.metric))
    except KeyboardInterrupt:
        run.request_stop("interrupted")
    finally:
        run.epoch = None  # a non-finite loss found in the last records is reported without an epoch
        monitor.flush()
        events.fire("close", run)
    seconds = time.perf_counter() - start
    stop = run.stop or Stop("ok")
    result = Result(spec, model, monitor, run.epochs, stop.status, run.steps, seconds, p.metric, run_dir,
                    stop.non_finite, extra={"loss": p.loss, "device": str(device), "task": data.task,
                                            **({"tensorboard": str(tb.log_dir)} if tb else {}),
                                            **({"stopped": stop.reason} if stop.reason else {})})
    monitor.close()  # (first: the run is over, and its diagnosis judges it whole - loop_facts ended)
    result.diagnosis = monitor.diagnose()
    events.fire("after_fit", run, result)
    return result


def _chance_loss(loss_name: str, data: data_mod.Dataset, y_tr: torch.Tensor) -> float | None:
    """The loss of the best constant prediction: what "learned nothing" scores (the doctor's reference)."""
    if loss_name == "bce":
        p = float(y_tr.float().mean())
        return -(p * math.log(p) + (1 - p) * math.log(1 - p)) if 0 < p < 1 else None
    if loss_name == "cross_entropy":
        freq = torch.bincount(y_tr.cpu(), minlength=data.n_classes).double() / len(y_tr)
        freq = freq[freq > 0]
        return float(-(freq * freq.log()).sum())
    if loss_name == "mse":
        return float(y_tr.double().var(unbiased=False))
    return None


def _where(monitor: Monitor, step: int, epoch: int | None, value: float) -> dict[str, Any]:
    bad = monitor.nonfinite_layers()
    return {"step": step, "epoch": epoch, "loss": value if math.isfinite(value) else str(value),
            "nonfinite_gradients": bad["gradients"], "nonfinite_weights": bad["weights"]}


@torch.no_grad()
def _evaluate(model, loss_fn, data, x_tr, y_tr, x_te, y_te, metric) -> dict[str, Any]:
    model.eval()
    row: dict[str, Any] = {}
    for split, x, y in (("train", x_tr, y_tr), ("test", x_te, y_te)):
        out = model(x)
        row[f"{split}_loss"] = float(loss_fn(out, y))
        if metric == "accuracy":
            pred = (out > 0).float() if data.task == "binary" else out.argmax(dim=1)
            row[f"{split}_metric"] = float((pred == y).float().mean())
        else:  # MSE in the target's original units
            row[f"{split}_metric"] = float(((out - y) ** 2).mean()) * data.target_std ** 2
    model.train()
    return row
