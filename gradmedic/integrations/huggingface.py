"""gradmedic in a Hugging Face ``Trainer``: ``Trainer(..., callbacks=[GradmedicCallback()])``.

- Statistics are taken in ``on_pre_optimizer_step``: after gradient accumulation and after the
  Trainer's clipping (``max_grad_norm``), before ``optimizer.step()`` and the ``zero_grad()`` that
  follows it: one record per optimizer step, the gradient norms after clipping, as in a plain loop.
- The pre-clip total norm is the one the Trainer logs (``logs["grad_norm"]``, the value
  ``clip_grad_norm_`` returned), read in ``on_log`` and written into the records at the next flush
  (``history.pre_clip_norm``; NaN at sampled steps that were not logged: use ``logging_steps`` that
  divides ``every`` to have all of them).  From it the doctor knows the Trainer clips.
- The loss of a step is the ``loss`` of the model's output (a forward hook), summed over the
  micro-batches of an accumulated step when the Trainer normalises it by ``num_items_in_batch``, else
  averaged: the per-step value of the Trainer's own ``loss`` log.  A ``compute_loss`` that does not
  use the model's ``loss`` is not seen: then no loss is recorded and the loss checks are off.
- The monitor flushes at the start of a step (every ``flush_every`` steps) and at the end of training;
  with ``stop_on`` a finding of that grade sets ``control.should_training_stop``
  (:attr:`GradmedicCallback.stop_reason` says why).  At the end the diagnosis is printed on the main
  process and kept in :attr:`diagnosis`.  ``log_to`` goes to ``gradmedic.watch`` (a TensorBoard
  ``SummaryWriter`` or a wandb run receives the per-layer statistics at each flush).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

try:
    from transformers import TrainerCallback
except ImportError as e:  # pragma: no cover
    raise ImportError("gradmedic.integrations.huggingface needs transformers: pip install 'gradmedic[huggingface]'") from e

from gradmedic.integrations._common import EndDiagnosis, reason, stop_codes, stopping_finding
from gradmedic.measure.monitor import Monitor

_NEVER = 2 ** 62  # the monitor's own flush: never (this callback flushes when the Trainer's logs are in)


class GradmedicCallback(EndDiagnosis, TrainerCallback):
    """Watch a ``transformers.Trainer`` run with the doctor.

    ``every``: record statistics every N optimizer steps (25); ``flush_every``: steps between host
    transfers and judgements (100); ``stop_on``: None, "critical", "serious" or problem codes;
    ``print_diagnosis``: print it at the end; other keywords go to :class:`gradmedic.Monitor`.
    """

    def __init__(self, every: int = 25, flush_every: int = 100, stop_on: str | Iterable[str] | None = None,
                 print_diagnosis: bool = True, **monitor_kwargs: Any):
        self.every, self.flush_every = every, flush_every
        self._severities, self._codes = stop_codes(stop_on)
        self.print_diagnosis = print_diagnosis
        self.monitor_kwargs = monitor_kwargs
        self.monitor: Monitor | None = None
        self.stop_reason: str | None = None
        self._losses: list[torch.Tensor] = []
        self._normalised = False  # the model's loss was divided by the items of the whole accumulated step
        self._grad_norms: dict[int, float] = {}
        self._hook = None
        self._control = None
        self._main = True

    # -- training lifecycle -------------------------------------------------------------------
    def on_train_begin(self, args, state, control, model=None, optimizer=None, **kwargs):
        self._main = state.is_world_process_zero
        while hasattr(optimizer, "optimizer") and not hasattr(optimizer, "_optimizer_step_post_hooks"):
            optimizer = optimizer.optimizer  # accelerate's AcceleratedOptimizer wraps the torch one
        self.monitor = Monitor(model, optimizer, every=self.every, flush_every=_NEVER, on_flush=[self._on_flush],
                               **self.monitor_kwargs)
        self._hook = model.register_forward_hook(self._loss_hook, with_kwargs=True)

    def on_train_end(self, args, state, control, **kwargs):
        if self.monitor is None:
            return
        self._control = control
        if self._hook is not None:
            self._hook.remove()
            self._hook = None
        self.monitor.close()
        self._ended = True  # (the diagnosis is computed when read: EndDiagnosis)
        if self.print_diagnosis and self._main:
            print(self.diagnosis)
            if self.stop_reason:
                print(self.stop_reason)

    # -- steps ---------------------------------------------------------------------------------
    def _loss_hook(self, module, args, kwargs, out):
        loss = out.get("loss") if isinstance(out, dict) else getattr(out, "loss", None)
        if module.training and torch.is_grad_enabled() and isinstance(loss, torch.Tensor) and loss.numel() == 1:
            self._losses.append(loss.detach())
            self._normalised = kwargs.get("num_items_in_batch") is not None

    def on_step_begin(self, args, state, control, **kwargs):
        mon = self.monitor
        self._control = control
        if mon is not None and mon.steps and mon.steps % self.flush_every == 0:
            mon.flush()  # the logs of every pending step are in by now

    def on_pre_optimizer_step(self, args, state, control, **kwargs):
        if self.monitor is None:
            return
        loss = None
        if self._losses:
            loss = torch.stack(self._losses).sum()
            if not self._normalised:
                loss = loss / len(self._losses)
        self._losses = []
        self.monitor.step(loss)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "grad_norm" in logs and logs["grad_norm"] is not None:
            self._grad_norms[int(state.global_step)] = float(logs["grad_norm"])

    # -- flushes: the logged pre-clip norms, and judging ---------------------------------------
    def _on_flush(self, chunk) -> None:
        mon = self.monitor
        steps = chunk.stat_steps.tolist()
        known = {i: self._grad_norms.pop(s) for i, s in enumerate(steps) if s in self._grad_norms}
        if known and chunk.pre_clip is not None:
            h = mon.history
            all_steps, pre = h.stat_steps, h.pre_clip_norm  # the history's own array: written in place
            for i, v in known.items():
                chunk.pre_clip[i] = v
                pre[int(all_steps.searchsorted(steps[i]))] = v
        if steps:
            self._grad_norms = {s: v for s, v in self._grad_norms.items() if s > steps[-1]}
        if (self._severities or self._codes) and self._main and self.stop_reason is None:
            f = stopping_finding(mon.diagnose(), self._severities, self._codes)
            if f is not None:
                self.stop_reason = reason(f)
                if self._control is not None:
                    self._control.should_training_stop = True


__all__ = ["GradmedicCallback"]
