"""What a spec will do on its data, decided once before anything trains: the loss, the batches, the steps.

``plan(spec, data)`` is the one place that resolves ``loss = "auto"`` for the data's task, checks that
the loss fits the task (a ``SpecError`` naming ``train.loss`` otherwise), and counts the steps: the
trainer, compare's and tune's pre-flight checks, repair's budget and the experiments' probes read it
from here, so a run and its forecast cannot disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from gradmedic.errors import SpecError
from gradmedic.model.optim import LOSS_TASKS, default_loss
from gradmedic.spec import Spec

if TYPE_CHECKING:  # data.py needs scikit-learn: loaded only when plan() has to load the data itself
    from gradmedic.model.data import Dataset


@dataclass(frozen=True)
class Plan:
    """A spec's training, counted: ``steps_per_epoch`` batches of ``batch_size`` rows, ``epochs`` times."""

    task: str  # binary, multiclass or regression
    loss: str  # the loss in use: ``train.loss``, or the task's default for "auto"
    metric: str  # accuracy, or mse for regression (in the target's units)
    rows: int  # training rows
    batch_size: int  # rows per step: every training row for gd (full batch), else min(batch_size, rows)
    steps_per_epoch: int
    epochs: int

    @property
    def total_steps(self) -> int:
        """Optimizer steps in a full run (the trainer's ``steps`` when nothing stops it early)."""
        return self.steps_per_epoch * self.epochs


def check_loss(loss: str, task: str) -> str:
    """The loss to use for ``task`` (``auto``: the task's default); SpecError when it does not fit the task."""
    loss = default_loss(task) if loss == "auto" else loss
    if task not in LOSS_TASKS[loss]:
        ok = [k for k, tasks in LOSS_TASKS.items() if task in tasks]
        raise SpecError("train.loss", f"{loss} does not fit a {task} target; use one of: auto, {', '.join(ok)}")
    return loss


def load_data(spec: Spec) -> Dataset:
    """The spec's dataset, shaped for its model (images for a CNN)."""
    from gradmedic.model import data as data_mod

    return data_mod.load(spec.data, image=spec.model.kind == "cnn")


def plan(spec: Spec, data: Dataset | None = None) -> Plan:
    """``spec`` on ``data`` (loaded from the spec when not given).  Raises SpecError when the loss does not fit."""
    data = load_data(spec) if data is None else data
    loss = check_loss(spec.train.loss, data.task)
    rows = len(data.x_train)
    bs = rows if spec.train.optimizer == "gd" else min(spec.train.batch_size, rows)
    return Plan(task=data.task, loss=loss, metric="mse" if data.task == "regression" else "accuracy", rows=rows,
                batch_size=bs, steps_per_epoch=math.ceil(rows / bs), epochs=spec.train.epochs)


def resolve_device(name: str) -> torch.device:
    """``train.device`` as a torch device (``auto``: cuda when available); SpecError for cuda without one."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise SpecError("train.device", "cuda was asked for but no CUDA device is available; use cpu or auto")
    return torch.device(name)
