"""Train a spec while the monitor records what happens inside each layer.

A plain in-memory loop (no DataLoader: for small tensors its per-batch overhead would dwarf the
model).  Stops cleanly on NaN/inf, on Ctrl-C, or at the end, always keeping what was recorded.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from . import build as build_mod
from . import data as data_mod
from .monitor import Monitor
from .optim import make_loss, make_optimizer, make_scheduler
from .plan import load_data, plan, resolve_device  # noqa: F401  (resolve_device: re-exported)
from .records import RunWriter, new_run_dir
from .spec import Spec, resolve, to_json

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


class _Progress:
    """A rich bar on a terminal, a plain line per ~10% of epochs otherwise, or nothing."""

    def __init__(self, mode: str, total_steps: int, epochs: int, console: Console):
        if mode == "auto":
            mode = "rich" if console.is_terminal else "plain"
        self.mode, self.console, self.epochs = mode, console, epochs
        self.every_epoch = max(1, epochs // 10)
        if mode == "rich":
            self.bar = Progress(TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("loss {task.fields[loss]}  lr {task.fields[lr]}"), TimeRemainingColumn(),
                                console=console, transient=True)
            self.task = self.bar.add_task("train", total=total_steps, loss="-", lr="-")
            self.bar.start()

    def step(self, steps: int, loss: float, lr: float) -> None:
        if self.mode == "rich":
            self.bar.update(self.task, completed=steps, loss=f"{loss:.4g}", lr=f"{lr:.3g}")

    def epoch(self, row: dict[str, Any]) -> None:
        if self.mode == "plain" and (row["epoch"] % self.every_epoch == 0 or row["epoch"] == self.epochs):
            self.console.print(f"epoch {row['epoch']}/{self.epochs}  step {row['step']}  loss {row['train_loss']:.4g}  "
                               f"test {row['test_metric']:.4g}  lr {row['lr']:.3g}", highlight=False)

    def close(self) -> None:
        if self.mode == "rich":
            self.bar.stop()


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
    loss_name = p.loss
    model = build_mod.build(spec.model, data).to(device)
    opt = make_optimizer(model.parameters(), t)
    sched = make_scheduler(opt, t)
    loss_fn = make_loss(loss_name)
    x_tr, y_tr, x_te, y_te = (a.to(device) for a in (data.x_train, data.y_train, data.x_test, data.y_test))
    n, bs, steps_per_epoch, metric = p.rows, p.batch_size, p.steps_per_epoch, p.metric
    gen = torch.Generator().manual_seed(t.seed)

    monitor = Monitor(model, opt, every=t.stats_every, reference_loss=_chance_loss(loss_name, data, y_tr))
    monitor.spec, monitor.regression = spec, data.task == "regression"
    writer = None
    run_dir = None
    if runs_dir is not None:
        run_dir = new_run_dir(runs_dir, spec.name)
        writer = RunWriter(run_dir, to_json(spec), monitor.layer_names, monitor.act_names, monitor.act_kinds,
                           monitor.layer_types, monitor.reference_loss, hist_ranges=monitor.hist_ranges,
                           act_types=monitor.act_types)
        monitor.on_flush.append(writer.write_chunk)
    tb = None
    if tensorboard is not None:
        from .tensorboard import TensorBoardWriter

        # one TensorBoard run per training run: ``tensorboard --logdir DIR`` then compares them
        tb = TensorBoardWriter(Path(tensorboard) / (run_dir.name if run_dir else spec.name), monitor.layer_names,
                               monitor.act_names, hist_ranges=monitor.hist_ranges, metric=metric)
        monitor.on_flush.append(tb.write_chunk)

    bar = _Progress(progress, steps_per_epoch * t.epochs, t.epochs, console)
    epochs: list[dict[str, Any]] = []
    status, non_finite, steps, stopped = "ok", None, 0, None
    sync_loss = device.type == "cpu"  # reading the loss is free on CPU; on CUDA it is checked at each flush
    last_flush = last_bar = start = time.perf_counter()
    try:
        for epoch in range(1, t.epochs + 1):
            model.train()
            perm = torch.randperm(n, generator=gen).to(device) if bs < n else None
            for b in range(steps_per_epoch):
                if perm is None:
                    xb, yb = x_tr, y_tr
                else:
                    idx = perm[b * bs:(b + 1) * bs]
                    xb, yb = x_tr[idx], y_tr[idx]
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(xb), yb)
                loss.backward()
                steps += 1
                monitor.step(loss)
                if sync_loss:
                    lv = loss.item()
                    if not math.isfinite(lv):
                        non_finite = _where(monitor, steps, epoch, lv)
                        break
                if t.clip_value is not None:
                    torch.nn.utils.clip_grad_value_(model.parameters(), t.clip_value)
                if t.clip_norm is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), t.clip_norm)
                opt.step()
                if stop_when is not None and steps % check_every == 0:
                    stopped = stop_when(monitor)
                    if stopped:
                        break
                now = time.perf_counter()
                if bar.mode == "rich" and now - last_bar > 0.1:
                    last_bar = now
                    bar.step(steps, loss.item(), opt.param_groups[0]["lr"])
                if now - last_flush > FLUSH_SECONDS:
                    last_flush = now
                    chunk = monitor.flush()
                    if not sync_loss and chunk is not None and not np.all(np.isfinite(chunk.loss)):
                        bad = int(np.argmin(np.isfinite(chunk.loss)))
                        non_finite = _where(monitor, int(chunk.loss_steps[bad]), epoch, float(chunk.loss[bad]))
                        break
            if non_finite:
                status = "non_finite"
                break
            row = _evaluate(model, loss_fn, data, x_tr, y_tr, x_te, y_te, metric)
            row.update(epoch=epoch, step=steps, lr=opt.param_groups[0]["lr"])
            epochs.append(row)
            if writer:
                writer.write_epoch(row)
            if tb:
                tb.write_epoch(row)
            bar.epoch(row)
            if stopped:  # the partial epoch was evaluated above: a stopped run still has its metric
                status = "stopped"
                break
            if not math.isfinite(row["train_loss"]):
                status, non_finite = "non_finite", _where(monitor, steps, epoch, row["train_loss"])
                break
            if on_epoch is not None:
                stopped = on_epoch(row, monitor) or None
                if stopped:
                    status = "stopped"
                    break
            if sched is not None:
                sched.step(row["test_loss"]) if t.schedule == "plateau" else sched.step()
    except KeyboardInterrupt:
        status = "interrupted"
    finally:
        bar.close()
        monitor.flush()
        if tb:
            tb.close()
    seconds = time.perf_counter() - start
    if not sync_loss and status == "ok":
        bad = ~np.isfinite(monitor.history.loss)
        if bad.any():
            i = int(np.argmax(bad))
            status, non_finite = "non_finite", _where(monitor, int(monitor.history.loss_steps[i]), None, float(monitor.history.loss[i]))
    result = Result(spec, model, monitor, epochs, status, steps, seconds, metric, run_dir, non_finite,
                    extra={"loss": loss_name, "device": str(device), "task": data.task,
                           **({"tensorboard": str(tb.log_dir)} if tb else {}),
                           **({"stopped": stopped} if stopped else {})})
    result.diagnosis = monitor.diagnose()
    monitor.close()
    if writer:
        summary = result.summary()
        summary["problems"] = sorted(result.diagnosis.problems)
        summary["row_spread"] = monitor.row_spread()
        if stopped:
            summary["stopped"] = stopped
        writer.finish(summary, model, result.diagnosis.to_dict())
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
