"""gradmedic in a Lightning fit: ``Trainer(callbacks=[GradmedicCallback()])``.

The callback watches the LightningModule and records, per optimizer step, what ``gradmedic.watch``
records in a plain loop:

- statistics are taken in ``on_before_optimizer_step``: after gradient accumulation (one record per
  optimizer step, not per micro-batch), after AMP unscaling (Lightning unscales before this hook), and
  before gradient clipping.  The recorded gradient norms are therefore the pre-clip ones, and the
  pre-clip total norm is handed to the monitor as ``grad_norm`` (``history.pre_clip_norm``); clipping
  configured on the Trainer (``gradient_clip_val``, algorithm "norm") is told to the doctor, so that it
  never advises clipping a fit that already clips;
- the loss of a step is the loss Lightning backpropagates (``on_before_backward``), summed over the
  micro-batches of an accumulated step (Lightning divides each by ``accumulate_grad_batches``: the sum is
  the mean over the micro-batches), divided by the GradScaler's scale under ``precision="16-mixed"``;
- per-layer statistics go to every logger of the Trainer (``gradmedic/grad_norm/<layer>``, ...,
  ``gradmedic/act_<stat>/<act>``) at the monitor's cadence (every ``every`` steps), written at each
  flush (every ``flush_every`` steps) with the step each was recorded at;
- at each flush the doctor judges the run so far; with ``stop_on="critical"`` (non-finite values, no
  gradient at all) a finding of that grade stops the fit (``trainer.should_stop``), and
  :attr:`GradmedicCallback.stop_reason` says why;
- at the end of the fit the diagnosis is printed (rank 0 only) and kept in :attr:`diagnosis`.

Under ``strategy="ddp"`` the gradients this hook sees are already averaged across processes; the
monitor's statistics are global when ``torch.distributed`` is initialised (``gradmedic.measure.distributed``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

try:
    import lightning.pytorch as pl
except ImportError:  # pragma: no cover - the older package name
    try:
        import pytorch_lightning as pl
    except ImportError as e:
        raise ImportError("gradmedic.integrations.lightning needs Lightning: pip install 'gradmedic[lightning]'") from e

from gradmedic.integrations._common import EndDiagnosis, chunk_rows, reason, stop_codes, stopping_finding
from gradmedic.measure.monitor import Monitor


class _LightningMonitor(Monitor):
    """A Monitor that also knows the Trainer's clipping (it records before Lightning clips)."""

    clip_val: float | None = None

    def _trainer_clip(self) -> float | None:
        return self.clip_val if self.clip_val and self._clip_seen() is None else None

    @property
    def loop_facts(self) -> dict[str, Any]:
        facts = super().loop_facts
        if facts["clips"] is None and self._trainer_clip():
            facts["clips"] = self.clip_val
        return facts

    @property
    def notes(self) -> list[str]:
        notes = super().notes
        if self._trainer_clip():
            notes.append(f"the Trainer clips gradients to a total norm of {self.clip_val:.3g} (recorded gradient norms "
                         "are before clipping)")
        return notes


class GradmedicCallback(EndDiagnosis, pl.Callback):
    """Watch a LightningModule's training with the doctor.

    ``every``: record statistics every N optimizer steps (25); ``flush_every``: steps between host
    transfers, log writes and judgements (100); ``stop_on``: None (never stop), "critical", "serious",
    or problem codes (e.g. ``{"non_finite", "exploding_gradients"}``); ``log``: write the statistics to
    the Trainer's loggers; ``print_diagnosis``: print it at the end of the fit; other keywords go to
    :class:`gradmedic.Monitor` (``thresholds``, ``reference_loss``, ``max_rows``).
    """

    def __init__(self, every: int = 25, flush_every: int = 100, stop_on: str | Iterable[str] | None = None,
                 log: bool = True, print_diagnosis: bool = True, **monitor_kwargs: Any):
        super().__init__()
        self.every, self.flush_every = every, flush_every
        self._severities, self._codes = stop_codes(stop_on)
        self.log, self.print_diagnosis = log, print_diagnosis
        self.monitor_kwargs = monitor_kwargs
        self.monitor: Monitor | None = None
        self.stop_reason: str | None = None
        self._loss: torch.Tensor | None = None
        self._trainer = None

    # -- fit lifecycle ---------------------------------------------------------------------------
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        opt = trainer.optimizers[0] if trainer.optimizers else None
        self._trainer = trainer
        self.monitor = _LightningMonitor(pl_module, opt, every=self.every, flush_every=self.flush_every,
                                         scaler=self._scaler(trainer), on_flush=[self._on_flush], **self.monitor_kwargs)
        if trainer.gradient_clip_val and (trainer.gradient_clip_algorithm or "norm") == "norm":
            self.monitor.clip_val = float(trainer.gradient_clip_val)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.monitor is None:
            return
        self.monitor.close()  # the last flush logs and judges what is pending
        self._ended = True  # (the diagnosis is computed when read: EndDiagnosis)
        if self.print_diagnosis and trainer.is_global_zero:
            print(self.diagnosis)
            if self.stop_reason:
                print(self.stop_reason)

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if self.monitor is not None:
            self.monitor.close()  # after an exception too: no hook left behind

    # -- steps -----------------------------------------------------------------------------------
    def on_before_backward(self, trainer: pl.Trainer, pl_module: pl.LightningModule, loss: torch.Tensor) -> None:
        loss = loss.detach()
        sc = self._scaler(trainer)
        if sc is not None and sc.is_enabled() and getattr(sc, "_scale", None) is not None:
            loss = loss / sc._scale.to(loss.device)  # the scaled loss: divide on the device, no sync
        self._loss = loss if self._loss is None else self._loss + loss

    def on_before_optimizer_step(self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer) -> None:
        mon = self.monitor
        if mon is None:
            return
        total = None
        if mon._sampled(mon.steps + 1):  # the pre-clip total norm, only where it is recorded
            grads = [p.grad for p in pl_module.parameters() if p.grad is not None]
            if grads:
                total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)).float())
        mon.step(self._loss, grad_norm=total)
        self._loss = None

    # -- flushes: log and judge -----------------------------------------------------------------
    def _on_flush(self, chunk) -> None:
        trainer, mon = self._trainer, self.monitor
        if trainer is None or mon is None:
            return
        if self.log and trainer.loggers:
            for step, row in chunk_rows(chunk, mon.layer_names, mon.act_names):
                for logger in trainer.loggers:
                    logger.log_metrics(row, step=step)
        if self._severities or self._codes:
            self._judge(trainer)

    def _judge(self, trainer: pl.Trainer) -> None:
        stop = None
        if trainer.is_global_zero:  # rank 0 judges; the decision is broadcast
            f = stopping_finding(self.monitor.diagnose(), self._severities, self._codes)
            stop = reason(f) if f is not None else None
        if trainer.world_size > 1:
            stop = trainer.strategy.broadcast(stop, src=0)
        if stop and not self.stop_reason:
            self.stop_reason = stop
            trainer.should_stop = True

    @staticmethod
    def _scaler(trainer: pl.Trainer):
        sc = getattr(trainer.precision_plugin, "scaler", None)
        return sc if sc is not None and hasattr(sc, "is_enabled") else None


__all__ = ["GradmedicCallback"]
