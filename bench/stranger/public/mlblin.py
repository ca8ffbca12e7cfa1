"""Machine Learning with PyTorch and Scikit-Learn (rasbt/machine-learning-book), chapter 12: "Building a linear
regression model" - the ``nn.Linear(1, 1)`` + ``nn.MSELoss`` + ``torch.optim.SGD`` version of the section "Model
training via the torch.nn and torch.optim modules" - watched by gradmedic.

Adapted from https://github.com/rasbt/machine-learning-book (commit 35ab3774e8e249c43a98209d8efd94c060102003,
ch12/ch12_part2.py, sections "Building a linear regression model" and "Model training via the torch.nn and
torch.optim modules"; MIT License, Copyright (c) 2021-2025 Sebastian Raschka, see LICENSE-mlblin).  The brief named
ch12_part1; the linear regression is in ch12_part2 at that commit (part 1 is tensors and input pipelines).  Of the
section's two trainings (first by hand: ``weight = torch.randn(1)``, ``weight -= weight.grad * learning_rate``; then
the same with ``nn.Linear`` and ``torch.optim.SGD``) the second is ported, so the watch sees a real optimizer.

Kept as in the book: the toy data the chapter makes in code (``X_train = np.arange(10)``, ``y_train = [1.0, 1.3,
3.1, 2.0, 5.0, 6.3, 6.6, 7.4, 8.0, 9.0]``); the standardization ``(X_train - np.mean(X_train)) / np.std(X_train)``;
``TensorDataset`` and ``DataLoader(train_ds, batch_size=1, shuffle=True)``; ``model = nn.Linear(1, 1)`` at PyTorch's
default init; ``nn.MSELoss(reduction='mean')``; ``torch.optim.SGD(model.parameters(), lr=learning_rate)`` with
``learning_rate = 0.001``; ``num_epochs = 200`` (10 steps an epoch, 2,000 steps); the loop as written (``pred =
model(x_batch)[:, 0]``, ``loss``, ``loss.backward()``, ``optimizer.step()``, ``optimizer.zero_grad()``).

Changed: ``torch.manual_seed(seed)`` right before the DataLoader and the model (the book seeds ``torch.manual_seed(1)``
before its hand-made weights and then trains the manual version first, which consumes the global RNG before
``nn.Linear`` is built; that first training is left out); no plots, no per-10-epoch print unless verbose; CPU, one
thread.  Nothing shrunk (the book's 2,000 steps, about a second).  The metric is the final training loss: the
``MSELoss`` over the 10 training points after training (the book prints the last batch's loss and plots the fit);
``initial`` the mean loss of the first 5 steps.  For the targets-x100 variant the value, the initial and the
extra losses are divided by 100**2 (back to the book's units); the watched losses are the scaled ones.

The watch, as a user would add it: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the
optimizer is built; ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()`` (the book
calls ``zero_grad()`` after the step); ``monitor.close()`` after the loop.

``CASES`` (program "mlblin"): the program on seeds 1-3, and one change each against the same seed's healthy run:
SGD lr x10 (0.01), x100 (0.1; seeds 1 and 2), x1000 (1.0), /1000 (1e-6); lr x2 (0.002, expected harmless); the
inputs not standardized (raw x = 0..9; unscaled_inputs); the targets x100 (unscaled_target); the weight and bias
``normal_(0, 100)`` (init_large); ``optimizer.zero_grad()`` left out (no_zero_grad).  Labels come from run.py's
outcome rules only.
Recorded (cases-public61, 13 runs, 2-5 s each, 33 s in all): healthy
final training MSE 0.414, 0.414, 0.418 on seeds 1-3 (from 47.8, 31.5, 34.3 over the first 5 steps; seed 1 ends at
weight 2.67, bias 4.87, the least-squares fit): healthy.  Healthy (did no harm): lr x2 0.403, lr x10 0.403, lr x100 0.404
and 0.405 (seeds 1 and 2: with standardized x the batch-1 step 1 - 2 lr x^2 stays stable up to lr ~0.4, so lr 0.1
only converges faster), raw inputs 0.437 (x up to 9 is still stable at lr 0.001; within 1.1x its control).
Broken: lr x1000 (1.0): the loss goes to inf, NaN; lr /1000: 34.2 (no progress from 48.4); weight and bias
normal_(0, 100): 1.92 against 0.414 (starts at 4752, the weight not yet back after 2,000 steps); zero_grad left out:
5.35 (the accumulated gradients make it oscillate, losses up to 102).  Ambiguous: the targets x100, 0.413 in the
book's units, the same as its control (SGD on a linear model is equivariant in the target's scale), but its watched
losses are 1e4 times the control's, past run.py's 2x bound on the largest loss.  Labels: 8 healthy (3 programs, 5
variants), 4 broken, 1 ambiguous.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

import gradmedic

ARCH = "linear"
MONITOR_AT = ("watch(model, optimizer, every=10) right after torch.optim.SGD(model.parameters(), lr=learning_rate); "
              "monitor.step(loss) right after loss.backward() (MSELoss on a batch of 1), before optimizer.step() "
              "(zero_grad after the step, as the book)")


def train(seed: int = 1, lr_mult: float = 1.0, standardize: bool = True, target_scale: float = 1.0,
          init_std: float | None = None, zero_grad: bool = True, num_epochs: int = 200, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    X_train = np.arange(10, dtype='float32').reshape((10, 1))
    y_train = np.array([1.0, 1.3, 3.1, 2.0, 5.0, 6.3, 6.6,
                        7.4, 8.0, 9.0], dtype='float32')

    if standardize:
        X_train_norm = (X_train - np.mean(X_train)) / np.std(X_train)
    else:  # the unscaled_inputs variant: raw x = 0..9
        X_train_norm = X_train
    X_train_norm = torch.from_numpy(X_train_norm)

    # On some computers the explicit cast to .float() is
    # necessary
    y_train = torch.from_numpy(y_train * target_scale).float()  # target_scale: the unscaled_target variant

    train_ds = TensorDataset(X_train_norm, y_train)

    torch.manual_seed(seed)  # the book: torch.manual_seed(1) before the hand-made weights
    batch_size = 1
    train_dl = DataLoader(train_ds, batch_size, shuffle=True)

    learning_rate = 0.001 * lr_mult
    log_epochs = 10

    input_size = 1
    output_size = 1
    model = nn.Linear(input_size, output_size)
    if init_std is not None:  # the init_large variant
        with torch.no_grad():
            model.weight.normal_(0.0, init_std)
            model.bias.normal_(0.0, init_std)

    loss_fn = nn.MSELoss(reduction='mean')

    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    step_losses = []
    for epoch in range(num_epochs):
        for x_batch, y_batch in train_dl:
            # 1. Generate predictions
            pred = model(x_batch)[:, 0]

            # 2. Calculate loss
            loss = loss_fn(pred, y_batch)

            # 3. Compute gradients
            loss.backward()
            monitor.step(loss)  # gradmedic

            # 4. Update parameters using gradients
            optimizer.step()

            # 5. Reset the gradients to zero
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            step_losses.append(loss.item())

        if verbose and epoch % log_epochs == 0:
            print(f'Epoch {epoch}  Loss {loss.item():.4f}')
    monitor.close()

    s2 = float(target_scale) ** 2
    with torch.no_grad():
        final = float(loss_fn(model(X_train_norm)[:, 0], y_train)) / s2
    losses = np.array(step_losses) / s2
    if verbose:
        print('Final Parameters:', model.weight.item(), model.bias.item(), 'train MSE', final)
    return {"monitors": {"": monitor}, "metric": "loss", "value": final, "chance": float(np.var(y_train.numpy()) / s2),
            "initial": float(np.mean(losses[:5])), "initial_what": "untrained: mean loss of the first 5 steps",
            "extra": {"train_loss": final, "first_loss": float(np.mean(losses[:5])),
                      "last_batch_loss": float(losses[-1]), "max_loss": float(np.nanmax(losses)),
                      "finite_losses": bool(np.isfinite(losses).all()), "steps": len(losses), "lr": learning_rate,
                      "lr_mult": lr_mult, "standardize": standardize, "target_scale": target_scale,
                      "init_std": -1.0 if init_std is None else float(init_std), "zero_grad": zero_grad,
                      "weight": float(model.weight.item()), "bias": float(model.bias.item())},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="mlblin", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_W = ("toy linear regression (nn.Linear(1, 1), MSELoss, SGD lr 0.001, batch 1, 200 epochs on 10 standardized "
      "points)")
CASES: list[dict] = (
    [_case(f"mlblin_healthy_s{s}", "healthy", s, {}, f"{_W}: unchanged", False) for s in (1, 2, 3)]
    + [_case("mlblin_lr_x2_s1", "healthy", 1, {"lr_mult": 2}, f"{_W}: SGD lr x2 (0.002)")]
    + [_case(f"mlblin_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_W}: SGD lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("mlblin_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_W}: SGD lr /1000 (1e-6)")]
    + [_case("mlblin_raw_inputs_s1", "unscaled_inputs", 1, {"standardize": False},
             f"{_W}: X not standardized (raw x = 0..9)")]
    + [_case("mlblin_target_x100_s1", "unscaled_target", 1, {"target_scale": 100.0},
             f"{_W}: the targets y x100 (outcome divided by 100**2)")]
    + [_case("mlblin_init_std100_s1", "init_large", 1, {"init_std": 100.0},
             f"{_W}: normal_(0, 100) on the Linear's weight and bias")]
    + [_case("mlblin_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_W}: optimizer.zero_grad() left out: the gradients accumulate")]
)
