"""Aladdin Persson's learning-rate scheduler example (Linear(784, 50)-ReLU-Linear(50, 10), Adam,
ReduceLROnPlateau stepped with each epoch's mean loss) on digits, watched by gradmedic.

Adapted from https://github.com/aladdinpersson/Machine-Learning-Collection (commit
65b8c8049560b19ace11ef754cb4dbe5aa415296, ML/Pytorch/Basics/pytorch_lr_ratescheduler.py, the same code as in
066299e9a8645836662ec43f785358ca195d65ad before black formatting; MIT License, Copyright (c) 2020 Aladdin Persson,
see LICENSE-alpcnnsched).  The script has module-level code; here its body is ``train``, its lines in upstream's
order.

Kept as in the original: the hyperparameters but the rate (num_classes 10, batch_size 128, num_epochs 100
with upstream's ``for epoch in range(1, num_epochs)``, i.e. 99 epochs), the model ``nn.Sequential(nn.Linear(784,
50), nn.ReLU(), nn.Linear(50, 10))`` with PyTorch's default init (upstream sets none), inputs in [0, 1] as
``transforms.ToTensor()`` gives them (no Normalize) flattened with ``data.reshape(data.shape[0], -1)``, the training
DataLoader shuffled, ``nn.CrossEntropyLoss()``, ``optim.Adam(model.parameters(), lr=learning_rate)`` (the rate
changed, below), ``torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.1, patience=5)`` (mode "min",
threshold 1e-4 relative, as the defaults), the loop (forward, loss, ``losses.append(loss.item())``, ``loss.backward()``,
``optimizer.step()``, ``optimizer.zero_grad()``: zero_grad after the step, upstream's order; no clipping) and
``scheduler.step(mean_loss)`` once per epoch with the epoch's mean training loss, and ``check_accuracy``
(``model.eval()``, ``torch.no_grad()``, ``scores.max(1)``).

Changed to run offline on one CPU thread (torchvision does not import here):
- MNIST is mnist.py's ``digits28`` (scikit-learn's ``load_digits``, split 80/20 with random_state=0, upsampled
  bilinearly to 28x28 so the 784-input model is unchanged) with its 0..255 values divided by 255 as ``ToTensor``
  does: 1437 training images (12 steps of 128 per epoch, the last one of 29) and 360 held-out test images.  The
  99 epochs are kept (1188 steps; upstream: 99 epochs of MNIST's 469 steps), since a run takes only a few seconds;
  with patience 5 the scheduler cuts the rate in every healthy run (see Recorded below).
- learning_rate 0.01 instead of upstream's 0.1: at 0.1 this 784-50-10 net does not train on the digits (seed 1
  test accuracy 0.633 with training loss 0.83 after the rate was cut once; seeds 2 and 3 at chance, 0.075 and
  0.081, training loss 2.30, the scheduler cutting the rate seven times to 1e-8 with the loss flat), so the
  healthy program would not be healthy; at 0.01 it reaches 0.98.  Upstream's 0.1 is the "lr x10" case (seeds 1
  and 2), and the other rate cases are multiples of 0.01.
- upstream checks accuracy on the training loader only, and its ``check_accuracy`` passes the unflattened
  1x28x28 images to the model (a shape error with this Sequential); here ``check_accuracy`` flattens them as the
  training loop does and runs on the held-out test split (the metric), the training accuracy kept in ``extra``.
- ``verbose=True`` is dropped from ReduceLROnPlateau (torch 2.13 no longer takes it); the rate of each epoch is
  recorded in ``extra`` instead of printed.  ``device`` is the CPU; ``torch.manual_seed(seed)`` (upstream does not
  seed); ``torch.set_flush_denormal(True)`` (speed only); the per-epoch print only with ``verbose``.
- the bugs of the variants: ``lr_mult`` (learning_rate times it), ``raw_pixels`` (0..255 values, no ToTensor
  scaling), ``init_std`` (``nn.init.normal_(0, std)`` on both Linear weights, biases kept), ``patience`` (the
  scheduler's patience) and ``zero_grad=False`` (``optimizer.zero_grad()`` left out of the loop).

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built (before the scheduler), ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``;
``monitor.close()`` after the last epoch.

``CASES`` (program "alpcnnsched"): the program on seeds 1-3, and one change each against the same seed's healthy
run: Adam lr x10 (upstream's 0.1; seeds 1 and 2), x100 (seeds 1 and 2), x1000, /1000; N(0, 1) init on both Linear
weights; raw 0..255 pixels; the scheduler's patience 0 with factor 0.1; ``optimizer.zero_grad()`` left out.
Upstream does not clip, so there is no clipping case.  Labels come from run.py's outcome rules only.

Recorded (cases-public21; 13 cases in 112 s, 5-10 s a run on a shared 2-core machine): healthy test accuracy 0.981
on each of seeds 1-3 (353 of 360 each, by coincidence: training losses 0.003-0.005, first losses 1.8-1.9, largest
2.30-2.33; the scheduler cut the rate once, at epoch 34 and 27, on seeds 1 and 2, and five times on seed 3 (epochs
35, 71, 83, 89, 95, down to 1e-7) once the training loss was near zero).  Broken: lr x10 (upstream's own 0.1)
0.633 on seed 1 (training loss 0.83, one cut) and 0.075 on seed 2 (loss 2.30 after seven cuts to 1e-8); lr x100
0.081 and 0.083 (first losses ~1.8e3, loss 2.30, rate cut to 1e-8); x1000 0.081 (first losses ~1.7e5); /1000
(1e-5) 0.803 (training loss still 1.57, no cut); raw 0..255 pixels 0.231 (first losses ~235, training loss 1.81);
no zero_grad 0.200 (training loss 2.27, peak 12.5, the rate cut six times to 1e-8).  Ambiguous: N(0, 1) init 0.950
(training loss 0.002, but first losses ~29 and a peak of 55, far above 2x the control's largest).  Healthy: patience
0 ends at 0.978 (training loss 0.014): the rate stays 0.01 until epoch 21, by when the net has fitted the training
set, then collapses to 1e-8 by epoch 31 without harm.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn  # All neural network modules, nn.Linear, nn.Conv2d, BatchNorm, Loss functions
import torch.optim as optim  # For all Optimization algorithms, SGD, Adam, etc.
from mnist import digits28
from torch.utils.data import DataLoader, TensorDataset  # Gives easier dataset managment and creates mini batches

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) right after the optimizer is built; monitor.step(loss) right after "
              "loss.backward(), before optimizer.step() (optimizer.zero_grad() comes after optimizer.step(), "
              "upstream's order; ReduceLROnPlateau.step(mean_loss) once per epoch)")

# Set device (upstream: cuda when available)
device = torch.device("cpu")

# Hyperparameters
num_classes = 10
learning_rate = 0.01  # upstream: 0.1 (does not train on the digits, see the docstring)
batch_size = 128
num_epochs = 100  # upstream's; the loop is range(1, num_epochs): 99 epochs


def to_tensor(raw_pixels):
    """digits28(raw_pixels=True)'s 0..255 values divided by 255 as ToTensor does (no Normalize, as upstream)."""
    train, test = digits28(raw_pixels=True)
    if raw_pixels:  # the bug: 0..255 pixel values straight into the network
        return train, test
    return tuple(TensorDataset(d.tensors[0] / 255.0, d.tensors[1]) for d in (train, test))


# Check accuracy on training & test to see how good our model
def check_accuracy(loader, model):
    num_correct = 0
    num_samples = 0
    model.eval()

    with torch.no_grad():
        for x, y in loader:
            x = x.reshape(x.shape[0], -1)  # added: upstream passes the 1x28x28 images unflattened
            x = x.to(device=device)
            y = y.to(device=device)

            scores = model(x)
            _, predictions = scores.max(1)
            num_correct += (predictions == y).sum()
            num_samples += predictions.size(0)

    model.train()
    return float(num_correct) / float(num_samples)


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init_std: float | None = None,
          patience: int = 5, zero_grad: bool = True, epochs: int = num_epochs, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)

    # Define a very simple model
    model = nn.Sequential(nn.Linear(784, 50), nn.ReLU(), nn.Linear(50, 10)).to(device)
    if init_std is not None:  # the bug: both Linear weights drawn from N(0, init_std), biases kept
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, init_std)

    # Load Data (MNIST -> scikit-learn's digits upsampled to 28x28, as ToTensor gives them: [0, 1])
    train_dataset, test_dataset = to_tensor(raw_pixels)
    train_loader = DataLoader(dataset=train_dataset, batch_size=batch_size, shuffle=True)
    test_loader = DataLoader(dataset=test_dataset, batch_size=batch_size, shuffle=False)

    # Loss and optimizer
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=learning_rate * lr_mult)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    # Define Scheduler (upstream also passes verbose=True)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.1, patience=patience)

    all_losses: list[float] = []
    epoch_losses: list[float] = []
    lrs: list[float] = []
    t0 = time.time()
    # Train Network
    for epoch in range(1, epochs):
        losses = []
        lrs.append(optimizer.param_groups[0]["lr"])

        for batch_idx, (data, targets) in enumerate(train_loader):  # noqa: B007
            # Get data to cuda if possible
            data = data.reshape(data.shape[0], -1)
            data = data.to(device=device)
            targets = targets.to(device=device)

            # forward
            scores = model(data)
            loss = criterion(scores, targets)

            losses.append(loss.item())

            # backward
            loss.backward()
            monitor.step(loss)  # gradmedic

            # gradient descent or adam step
            # scheduler.step(loss)
            optimizer.step()
            if zero_grad:  # the bug when False: optimizer.zero_grad() left out, the gradients accumulate
                optimizer.zero_grad()

        mean_loss = sum(losses) / len(losses)
        all_losses += losses
        epoch_losses.append(mean_loss)

        # After each epoch do scheduler.step, note in this scheduler we need to send
        # in loss for that epoch!
        scheduler.step(mean_loss)
        if verbose and (epoch % 10 == 0 or epoch == epochs - 1):
            print(f"Cost at epoch {epoch} is {mean_loss} (lr {lrs[-1]:g}, {time.time() - t0:.1f}s)", flush=True)

    monitor.close()
    test_acc = check_accuracy(test_loader, model)
    train_acc = check_accuracy(train_loader, model)
    cuts = [i + 1 for i in range(1, len(lrs)) if lrs[i] < lrs[i - 1]]
    if verbose:
        print(f"test accuracy {test_acc:.4f}, train accuracy {train_acc:.4f}, lr cut at epochs {cuts}, final lr "
              f"{optimizer.param_groups[0]['lr']:g}, steps {len(all_losses)}, {time.time() - t0:.1f}s")
    finite = [v for v in all_losses if np.isfinite(v)]
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": test_acc, "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"train_acc": train_acc, "train_loss": float(np.mean(all_losses[-20:])),
                      "first_loss": float(np.mean(all_losses[:5])), "loss_max": float(max(finite, default=np.nan)),
                      "steps": len(all_losses), "lr": learning_rate * lr_mult, "lr_cut_epochs": cuts,
                      "final_lr": optimizer.param_groups[0]["lr"], "epoch_losses": [float(v) for v in epoch_losses]},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="alpcnnsched", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_H = ("unchanged (Linear(784, 50)-ReLU-Linear(50, 10), default init, inputs in [0, 1], CrossEntropyLoss, Adam lr 0.01, "
      "batch 128 shuffled, ReduceLROnPlateau(factor=0.1, patience=5) stepped with each epoch's mean loss, 99 epochs "
      "= 1188 steps, no clipping)")
CASES: list[dict] = (
    [_case(f"alpcnnsched_healthy_s{s}", "healthy", s, {}, _H, False) for s in (1, 2, 3)]
    + [_case(f"alpcnnsched_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k},
             f"Adam lr x{k} ({0.01 * k:g}{', upstream own rate' if k == 10 else ''}), ReduceLROnPlateau kept")
       for k, ss in ((10, (1, 2)), (100, (1, 2)), (1000, (1,)))
       for s in ss]
    + [_case("alpcnnsched_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3},
             "Adam lr /1000 (1e-05), ReduceLROnPlateau kept")]
    + [_case("alpcnnsched_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on both Linear weights instead of PyTorch's default (kaiming_uniform_, "
             "a=sqrt(5)); biases kept")]
    + [_case("alpcnnsched_raw_pixels_s1", "unscaled_inputs", 1, {"raw_pixels": True},
             "raw 0..255 pixel values: no ToTensor scaling to [0, 1]")]
    + [_case("alpcnnsched_patience0_s1", "lr_low", 1, {"patience": 0},
             "ReduceLROnPlateau(factor=0.1, patience=0): the rate is cut tenfold after every epoch whose mean loss "
             "is not a new best")]
    + [_case("alpcnnsched_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             "optimizer.zero_grad() left out of the loop: the gradients accumulate over all steps")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = float(v) if k in ("lr_mult", "init_std") else (int(v) if k in ("epochs", "seed", "patience")
                                                                 else v == "1")
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k not in ("monitors", "extra")}, r["extra"]["train_loss"])
