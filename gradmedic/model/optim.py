"""Optimizers, learning-rate annealing and losses from a TrainSpec, all PyTorch's own.

The seed's update rules (seed 002 §7.3) map onto PyTorch as follows (checked step by step in
tests/test_optim.py):

- Momentum: seed ``v = rho v - eta g; w += v``; torch ``b = rho b + g; w -= eta b`` (b = -v/eta).
- Nesterov: seed evaluates g at ``w + rho v``; torch keeps the look-ahead point ``w + rho v`` as
  its parameter (Sutskever et al. 2013), so both visit the same points.
- AdaGrad, RMSProp, Adam: torch adds eps outside the square root, the seed inside; for the
  default eps the difference is below float precision unless gradients are ~1e-4 or smaller.
"""

from __future__ import annotations

import torch
from torch import nn

from gradmedic.spec import TrainSpec


def make_optimizer(params, t: TrainSpec) -> torch.optim.Optimizer:
    """``t`` must be resolved (see ``spec.resolve``): lr, momentum and eps set."""
    lr, wd = t.lr, t.l2
    o = t.optimizer
    if o in ("gd", "sgd"):
        return torch.optim.SGD(params, lr=lr, momentum=t.momentum or 0.0, weight_decay=wd)
    if o == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=t.momentum, weight_decay=wd)
    if o == "nesterov":
        return torch.optim.SGD(params, lr=lr, momentum=t.momentum, nesterov=True, weight_decay=wd)
    if o == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, eps=t.eps, weight_decay=wd)
    if o == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=t.rho, eps=t.eps, momentum=t.momentum or 0.0, weight_decay=wd)
    if o == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(t.beta1, t.beta2), eps=t.eps, weight_decay=wd)
    if o == "adamw":  # decoupled weight decay (Loshchilov & Hutter 2019)
        return torch.optim.AdamW(params, lr=lr, betas=(t.beta1, t.beta2), eps=t.eps, weight_decay=wd)
    raise ValueError(f"unknown optimizer {o!r}")


def make_scheduler(opt: torch.optim.Optimizer, t: TrainSpec):
    """Annealing stepped once per epoch; ``plateau`` is stepped with the held-out loss (seed 002 §7.2)."""
    s = t.schedule
    if s == "none":
        return None
    if s == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=t.step_size, gamma=t.gamma)
    if s == "exponential":
        return torch.optim.lr_scheduler.ExponentialLR(opt, gamma=t.gamma)
    if s == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=t.epochs)
    if s == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=t.plateau_factor, patience=t.plateau_patience)
    raise ValueError(f"unknown schedule {s!r}")


def default_loss(task: str) -> str:
    return {"binary": "bce", "multiclass": "cross_entropy", "regression": "mse"}[task]


def make_loss(name: str) -> nn.Module:
    # bce works on logits: sigmoid + binary cross-entropy in one numerically stable op.
    return {
        "bce": nn.BCEWithLogitsLoss, "cross_entropy": nn.CrossEntropyLoss,
        "mse": nn.MSELoss, "mae": nn.L1Loss, "huber": nn.HuberLoss,
    }[name]()


LOSS_TASKS = {"bce": ("binary",), "cross_entropy": ("multiclass",), "mse": ("regression",),
              "mae": ("regression",), "huber": ("regression",)}
