"""Udacity deep-learning-v2-pytorch, intro-to-pytorch Part 3 (nn.Sequential 784-128-64-10 with LogSoftmax, NLLLoss,
plain SGD), on digits.

Adapted from https://github.com/udacity/deep-learning-v2-pytorch (commit
c9404fc86181fc3f0906b368697268257f348535, "intro-to-pytorch/Part 3 - Training Neural Networks (Solution).ipynb",
last changed in 2e849e9eca9f11287a65c39c0348939b1c3cb6a3; MIT License, Copyright (c) 2018 Udacity, see
LICENSE-udsgd), the notebook's full training cell.  Kept as in the notebook: ``model = nn.Sequential(nn.Linear(784,
128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10), nn.LogSoftmax(dim=1))`` with PyTorch's default
initialization (the notebook sets none), ``criterion = nn.NLLLoss()``, ``optimizer = optim.SGD(model.parameters(),
lr=0.003)`` (no momentum), batch 64 shuffled, the transforms ``ToTensor()`` then ``Normalize((0.5,), (0.5,))``
(pixels to [-1, 1]), and the loop: per batch ``images = images.view(images.shape[0], -1)``,
``optimizer.zero_grad()``, ``output = model(images)``, ``loss = criterion(output, labels)``, ``loss.backward()``,
``optimizer.step()``, ``running_loss += loss.item()``, the epoch's mean training loss printed in the ``for``'s
``else`` (kept only under ``verbose``).

Changed to run offline on one CPU thread: MNIST (a download) is scikit-learn's ``load_digits`` (no torchvision, via
``digits28`` from bmlp.py): the 8x8 images divided by 16 to [0, 1] (as ``ToTensor`` does to 0..255 pixels),
bilinearly upsampled to 1x28x28 so the 784 inputs are unchanged, then ``(x - 0.5) / 0.5`` as the notebook's
Normalize; split 1437 / 360 into train and test (``train_test_split``, random_state 0); the loader is a plain
``DataLoader`` over a ``TensorDataset`` (same batch size and shuffling).  Epochs raised from 5 to 204: the notebook's
5 epochs are 5 x 938 = 4690 SGD steps over MNIST's 60000 images, but 5 epochs of digits' 23 batches (115 steps) leave
the model at 0.20 held-out accuracy (training loss 2.30 -> 2.21), so the run keeps upstream's number of steps instead
(204 x 23 = 4692), 7-30 s a run.  The notebook has no test pass (it only prints the training loss, then looks at one
image with ``helper.view_classify``, left out here); the metric is the held-out accuracy of the final model on the
360 test images (argmax of the log-probabilities), added.  ``torch.manual_seed(seed)`` added (the notebook sets no
seed).

The watch: ``gradmedic.watch(model, optimizer, every=10)`` right after the criterion and optimizer are built,
``monitor.step(loss)`` after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the last
epoch.

``CASES`` (program "udsgd"): the program on seeds 1-3, and one change each against the same seed's healthy run:
SGD lr x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) on every Linear weight; raw 0..255 pixel values (no
``ToTensor`` scaling, no ``Normalize``); ``nn.LogSoftmax(dim=1)`` left out of the Sequential so ``nn.NLLLoss`` sees
raw scores (seeds 1 and 2); ``optimizer.zero_grad()`` left out.  The notebook does not clip, so there is no clipping
case.  Labels come from run.py's outcome rules only.
Recorded (cases-public21; 13 cases in 227 s, 8-29 s a run on a shared 2-core machine): healthy test accuracy 0.953,
0.953, 0.967 on seeds 1-3 (training loss 2.29-2.31 at the start, 0.105-0.114 at the end, largest 2.31-2.33); lr x10
(0.03) 0.969 (final training loss 0.004): healthy; lr x100 (0.3) 0.969 on seed 1 (peak loss 3.0, final 1e-4):
healthy, but 0.378 on seed 2 (peak loss 90, final 1.20): broken; x1000 (3.0) 0.114 (start loss 211, peak 747, back
to 2.32): broken; /1000 (3e-6) 0.117 (loss 2.30 -> 2.30): broken; N(0, 1) weights 0.944 (loss 716 at the start,
peak 1314, 0 at the end): ambiguous (a good accuracy, 0.8 points down, but its largest loss far above 2x the
control's); raw 0..255 pixels 0.081 (start loss 76, peak 132, stuck at 2.30): broken; no LogSoftmax (NLLLoss on raw
scores: the loss runs off to -inf within ~240 steps, then NaN) 0.075 on seeds 1 and 2: broken; no zero_grad 0.114
(peak loss 8.4, final 2.71): broken.
"""

from __future__ import annotations

import random
import time

import numpy as np
import torch
from bmlp import digits28  # (train, test) images 1x28x28 in [0, 1], as ToTensor gives, and their labels
from torch import nn, optim

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("monitor.step(loss) after loss.backward() (nn.NLLLoss on the LogSoftmax output, batch 64), before "
              "optimizer.step() (optimizer.zero_grad() comes before the forward, the notebook's order)")

EPOCHS = 204  # the notebook's 5 epochs of 938 MNIST batches = 4690 steps; 204 x 23 digits batches = 4692
BATCH_SIZE = 64


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, raw_pixels: bool = False,
          log_softmax: bool = True, zero_grad: bool = True, epochs: int = EPOCHS, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)

    xtr, ytr, xte, yte = digits28()
    if raw_pixels:  # the bug: raw 0..255 pixel values, no ToTensor scaling and no Normalize
        xtr, xte = xtr * 255.0, xte * 255.0
    else:  # transforms.Normalize((0.5,), (0.5,))
        xtr, xte = (xtr - 0.5) / 0.5, (xte - 0.5) / 0.5
    trainloader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xtr, ytr), batch_size=BATCH_SIZE,
                                              shuffle=True)

    layers = [nn.Linear(784, 128),
              nn.ReLU(),
              nn.Linear(128, 64),
              nn.ReLU(),
              nn.Linear(64, 10)]
    if log_softmax:  # the bug when False: NLLLoss on the raw scores (it is then minus the label's score, unbounded)
        layers.append(nn.LogSoftmax(dim=1))
    model = nn.Sequential(*layers)
    if init_std is not None:  # the bug: normal_(0, std) on every Linear weight instead of the default init
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, init_std)

    lr = 0.003 * lr_mult
    criterion = nn.NLLLoss()
    optimizer = optim.SGD(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)

    t0 = time.time()
    losses: list[float] = []
    epoch_losses = []
    for e in range(epochs):
        running_loss = 0
        for images, labels in trainloader:
            # Flatten MNIST images into a 784 long vector
            images = images.view(images.shape[0], -1)

            # TODO: Training pass
            if zero_grad:  # the bug when False: the gradients accumulate across steps
                optimizer.zero_grad()

            output = model(images)
            loss = criterion(output, labels)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()

            running_loss += loss.item()
            losses.append(loss.item())
        else:
            epoch_losses.append(running_loss / len(trainloader))
            if verbose and ((e + 1) % max(1, epochs // 10) == 0 or e == 0):
                print(f"Epoch {e + 1}/{epochs} Training loss: {epoch_losses[-1]:.4f} ({time.time() - t0:.1f}s)",
                      flush=True)

    monitor.close()
    # held-out accuracy (added: the notebook only prints the training loss)
    with torch.no_grad():
        out = model(xte.view(xte.shape[0], -1))
        value = float((out.argmax(dim=1) == yte).float().mean())
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": value, "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"train_loss": float(np.mean(losses[-20:])), "train_loss_start": float(np.mean(losses[:5])),
                      "last_epoch_loss": epoch_losses[-1], "steps": len(losses), "lr": lr,
                      "loss_max": float(np.max(losses)), "loss_min": float(np.min(losses))},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="udsgd", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_H = ("unchanged (nn.Sequential Linear(784, 128), ReLU, Linear(128, 64), ReLU, Linear(64, 10), LogSoftmax(dim=1), "
      f"default init, NLLLoss, SGD lr 0.003 no momentum, batch 64 shuffled, {EPOCHS} epochs = {EPOCHS * 23} steps, "
      "inputs Normalize((0.5,), (0.5,)) to [-1, 1])")
CASES: list[dict] = (
    [_case(f"udsgd_healthy_s{s}", "healthy", s, {}, _H, False) for s in (1, 2, 3)]
    + [_case(f"udsgd_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"SGD lr x{k} ({0.003 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("udsgd_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "SGD lr /1000 (3e-06)")]
    + [_case("udsgd_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Linear weight instead of PyTorch's default (kaiming_uniform_, "
             "a=sqrt(5)); biases kept")]
    + [_case("udsgd_raw_pixels_s1", "unscaled_inputs", 1, {"raw_pixels": True},
             "raw 0..255 pixel values: no ToTensor scaling to [0, 1] and no Normalize((0.5,), (0.5,))")]
    + [_case(f"udsgd_no_logsoftmax_s{s}", "wrong_loss", s, {"log_softmax": False},
             "nn.LogSoftmax(dim=1) left out of the Sequential: nn.NLLLoss on the raw scores (the loss is minus the "
             "label's score, unbounded below)") for s in (1, 2)]
    + [_case("udsgd_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             "optimizer.zero_grad() left out of the training loop: the gradients accumulate")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = float(v) if k in ("lr_mult", "init_std") else (int(v) if k in ("epochs", "seed") else v == "1")
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
