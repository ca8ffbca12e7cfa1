"""Where ``watch(..., log_to=...)`` sends the statistics: at each flush, every new chunk goes to

- a TensorBoard ``SummaryWriter`` (``torch.utils.tensorboard``, or anything with ``add_scalar`` and
  ``log_dir``): the tags of :mod:`gradmedic.run.tensorboard` under ``gradmedic/`` (``gradmedic/loss``,
  ``gradmedic/grad_norm/<layer>``, ``gradmedic/act_std/<act>``, ``gradmedic/act_hist/<act>``);
- a directory (``str`` or ``Path``): a SummaryWriter of our own there (closed with the monitor);
- a wandb run (anything with ``log`` and ``define_metric``, e.g. ``wandb.init()``'s): one
  ``run.log`` per sampled step, against its own x-axis ``gradmedic/step`` (the monitor's step), so
  that it never conflicts with the run's own step counter;
- a list of these.

Nothing here is imported by ``import gradmedic``; wandb is never imported at all (the run is given).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from gradmedic.integrations._common import chunk_rows
from gradmedic.measure.history import Chunk


def attach(monitor: Any, target: Any) -> list[Callable[[], None]]:
    """Add a listener per target to ``monitor.on_flush``; returns the closers to call at ``close()``.
    Under ``torch.distributed`` only rank 0 writes (every rank holds the same global records)."""
    from gradmedic.measure.distributed import is_main

    if not is_main():
        return []
    targets = target if isinstance(target, (list, tuple)) else [target]
    closers = []
    for t in targets:
        write, close = _sink(monitor, t)
        monitor.on_flush.append(write)
        closers.append(close)
    return closers


def _sink(monitor: Any, t: Any) -> tuple[Callable[[Chunk], None], Callable[[], None]]:
    from gradmedic.run.tensorboard import TensorBoardWriter

    if isinstance(t, (str, Path)):
        tb = TensorBoardWriter(t, monitor.layer_names, monitor.act_names, hist_ranges=monitor.hist_ranges,
                               prefix="gradmedic/")
        return tb.write_chunk, tb.close
    if hasattr(t, "add_scalar") and hasattr(t, "log_dir"):
        tb = TensorBoardWriter(None, monitor.layer_names, monitor.act_names, hist_ranges=monitor.hist_ranges,
                               writer=t, prefix="gradmedic/")
        return tb.write_chunk, tb.close
    if hasattr(t, "log") and hasattr(t, "define_metric"):
        return _wandb_writer(monitor, t), lambda: None
    raise TypeError(f"log_to: expected a SummaryWriter, a directory, a wandb run or a list of them, got {type(t).__name__}")


def _wandb_writer(monitor: Any, run: Any) -> Callable[[Chunk], None]:
    run.define_metric("gradmedic/step")
    run.define_metric("gradmedic/*", step_metric="gradmedic/step")

    def write(c: Chunk) -> None:
        loss = dict(zip(c.loss_steps.tolist(), c.loss.tolist(), strict=True))
        for step, row in chunk_rows(c, monitor.layer_names, monitor.act_names):
            if step in loss:
                row["gradmedic/loss"] = loss[step]
            row["gradmedic/step"] = step
            run.log(row)
    return write
