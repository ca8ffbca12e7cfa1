"""The "Introduction to PyTorch" YouTube series' training tutorial (GarmentClassifier) on digits, watched by gradmedic.

Adapted from https://github.com/pytorch/tutorials (commit 0ac2837909020020424e9d71fea433db9d6f5e13,
beginner_source/introyt/trainingyt.py; BSD 3-Clause License, Copyright (c) 2017-2022 Pytorch contributors, see
LICENSE-introyt).  Kept as in the tutorial: ``GarmentClassifier`` (conv1 ``Conv2d(1, 6, 5)``, ``MaxPool2d(2, 2)``,
conv2 ``Conv2d(6, 16, 5)``, ``fc1`` 16*4*4 -> 120, ``fc2`` 120 -> 84, ``fc3`` 84 -> 10, ReLU after each conv and
the first two Linears, ``x.view(-1, 16 * 4 * 4)``), PyTorch's default initialization (the tutorial sets none),
``loss_fn = torch.nn.CrossEntropyLoss()``, ``torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)``,
``train_one_epoch`` as written (``optimizer.zero_grad()``, ``outputs = model(inputs)``, ``loss = loss_fn(outputs,
labels)``, ``loss.backward()``, ``optimizer.step()``, the running loss averaged per reporting window), the
per-epoch loop (``model.train(True)``, one epoch, ``model.train(False)``, the validation loss over the unshuffled
validation loader of batch 4), batch 4 shuffled each epoch, and ``ToTensor`` + ``Normalize((0.5,), (0.5,))`` on
the inputs.

Changed, so it needs no download and no torchvision/TensorBoard: the data is scikit-learn's ``load_digits`` instead
of Fashion-MNIST: the 8x8 images divided by 16 to [0, 1] (as ``ToTensor`` does to 0..255 pixels), bilinearly
upsampled to 1x28x28 (Fashion-MNIST's shape, so ``GarmentClassifier`` is unchanged), split 1437 / 360
(``train_test_split``, random_state 0), and ``Normalize((0.5,), (0.5,))`` done by hand as ``(x - 0.5) / 0.5``.
The batch-4 loader is a ``torch.randperm`` per epoch from a ``torch.Generator`` seeded with the run's seed (no
``num_workers``).  EPOCHS epochs over 1437 images (360 steps each at batch 4) instead of the tutorial's 5 over
Fashion-MNIST's 60000 (75000 steps), so a run takes ~10-15 s on one CPU thread; batch 4 and lr 0.001 are kept.
The running loss is reported every 100 batches instead of 1000 (an epoch has 360); no TensorBoard writer, no
image display, no model saving.  The metric is the validation accuracy after the last epoch (``argmax`` of the
outputs under ``model.train(False)`` and ``torch.no_grad()``), which the tutorial does not compute (it reports the
validation loss, kept in ``extra``).

The watch: ``gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is built,
``monitor.step(loss)`` after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the last
epoch.

``CASES`` (program "introyt"): the program on seeds 1-3, and one change each against the same seed's healthy run:
lr x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) on every Conv2d and Linear weight instead of the default init
(seeds 1 and 2); raw 0..255 pixels (no ``ToTensor`` scaling, no ``Normalize``; seeds 1 and 2);
``optimizer.zero_grad()`` left out of ``train_one_epoch`` (seeds 1 and 2).  The tutorial does not clip, so there is
no clipping case; ``model.train(False)`` forgotten does nothing to this model (no dropout or batch norm), so it is
not a case.  Labels come from run.py's outcome rules only.
Recorded (cases-public15; 14 cases in 262 s, 14-23 s a run): healthy validation accuracy 0.950-0.958 on seeds 1-3
(final training loss 0.005-0.07, largest loss 2.4-4.1); lr x10 (0.01) ends at 0.250 (training loss 1.09 after spikes
to 12, validation loss 2.75), x100 (0.1) at chance on both seeds (0.075, 0.122; loss 2.33-2.36), x1000 (1.0) at
0.081 (loss 2.80, finite) and /1000 (1e-6) stays at loss 2.30 (0.100): all broken; N(0, 1) weights start at loss
~1e19-1e22 and go NaN (0.075 on both seeds): broken; zero_grad left out lets the loss climb to 160-200 (largest
385-472; 0.108 and 0.081): broken on both seeds; raw 0..255 pixels (start loss 3.1-4.2, largest ~7.2-7.5) end at
0.797 on seed 1 (training loss 0.45): broken, and at 0.953 on seed 2 (training loss 0.09, within 3 points of its
control's 0.958, largest loss 7.47 under 2x the control's 4.06): healthy.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("monitor.step(loss) after loss.backward() (CrossEntropyLoss on the logits, batch 4), before "
              "optimizer.step() (SGD lr 0.001, momentum 0.9), inside train_one_epoch")

EPOCHS = 12


# PyTorch models inherit from torch.nn.Module
class GarmentClassifier(nn.Module):
    def __init__(self):
        super(GarmentClassifier, self).__init__()  # noqa: UP008 (as upstream)
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 4 * 4, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, 16 * 4 * 4)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


def digits28(raw_pixels: bool = False):
    """(train, validation) tensors: digits as 1x28x28 images, ToTensor + Normalize((0.5,), (0.5,)), or raw 0..255."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xva, ytr, yva = train_test_split(d.images, d.target, test_size=0.2, random_state=0)

    def up(x):
        x = torch.tensor(x, dtype=torch.float32)[:, None] / 16.0  # ToTensor: [0, 1]
        return F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False).clamp(0, 1)

    xtr, xva = up(xtr), up(xva)
    if raw_pixels:  # the bug: raw 0..255 pixel values, no ToTensor scaling, no Normalize
        xtr, xva = xtr * 255.0, xva * 255.0
    else:  # transforms.Normalize((0.5,), (0.5,))
        xtr, xva = (xtr - 0.5) / 0.5, (xva - 0.5) / 0.5
    return xtr, torch.tensor(ytr), xva, torch.tensor(yva)


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init_std: float | None = None,
          zero_grad: bool = True, epochs: int = EPOCHS, batch_size: int = 4, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    xtr, ytr, xva, yva = digits28(raw_pixels)
    g = torch.Generator()
    g.manual_seed(seed)

    def training_loader():  # shuffle for training
        perm = torch.randperm(len(xtr), generator=g)
        for b in range(0, len(xtr), batch_size):
            idx = perm[b:b + batch_size]
            yield xtr[idx], ytr[idx]

    def validation_loader():  # not for validation
        for b in range(0, len(xva), 4):
            yield xva[b:b + 4], yva[b:b + 4]

    model = GarmentClassifier()
    if init_std is not None:  # the bug: normal_(0, std) on every Conv2d and Linear weight instead of the default
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, init_std)

    loss_fn = torch.nn.CrossEntropyLoss()
    lr = 0.001 * lr_mult
    # Optimizers specified in the torch.optim package
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    monitor = gradmedic.watch(model, optimizer, every=every)
    losses = []

    def train_one_epoch(epoch_index):
        running_loss = 0.
        last_loss = 0.
        for i, data in enumerate(training_loader()):
            # Every data instance is an input + label pair
            inputs, labels = data

            # Zero your gradients for every batch!
            if zero_grad:  # the bug when False: the gradients accumulate
                optimizer.zero_grad()

            # Make predictions for this batch
            outputs = model(inputs)

            # Compute the loss and its gradients
            loss = loss_fn(outputs, labels)
            loss.backward()
            monitor.step(loss)  # gradmedic

            # Adjust learning weights
            optimizer.step()

            # Gather data and report
            running_loss += loss.item()
            losses.append(loss.item())
            if i % 100 == 99:
                last_loss = running_loss / 100  # loss per batch
                running_loss = 0.
        return last_loss

    t0 = time.time()
    avg_vloss = float("nan")
    for epoch in range(epochs):
        # Make sure gradient tracking is on, and do a pass over the data
        model.train(True)
        avg_loss = train_one_epoch(epoch)

        # We don't need gradients on to do reporting
        model.train(False)
        running_vloss = 0.0
        with torch.no_grad():
            for i, vdata in enumerate(validation_loader()):  # noqa: B007 (i is used after the loop, as upstream)
                vinputs, vlabels = vdata
                voutputs = model(vinputs)
                vloss = loss_fn(voutputs, vlabels)
                running_vloss += vloss
        avg_vloss = float(running_vloss / (i + 1))
        if verbose:
            print(f"EPOCH {epoch + 1}: LOSS train {avg_loss:.4f} valid {avg_vloss:.4f} ({time.time() - t0:.1f}s)",
                  flush=True)

    correct, total = 0, 0
    with torch.no_grad():
        for vinputs, vlabels in validation_loader():
            predicted = model(vinputs).argmax(1)
            total += vlabels.size(0)
            correct += (predicted == vlabels).sum().item()
    acc = correct / total
    monitor.close()
    if verbose:
        print(f"validation accuracy {acc:.4f}")
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc), "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"train_loss": float(np.mean(losses[-20:])), "valid_loss": avg_vloss, "steps": len(losses),
                      "lr": lr},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="introyt", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"introyt_healthy_s{s}", "healthy", s, {}, f"unchanged (GarmentClassifier conv 6x5x5 / 16x5x5, fc "
           f"120-84-10, SGD lr 0.001 momentum 0.9, CrossEntropyLoss, batch 4, {EPOCHS} epochs)", False)
     for s in (1, 2, 3)]
    + [_case(f"introyt_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"SGD lr x{k} ({0.001 * k:g}), momentum 0.9 kept")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("introyt_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "SGD lr /1000 (1e-06)")]
    + [_case(f"introyt_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Conv2d and Linear weight instead of PyTorch's default "
             "(kaiming_uniform_, a=sqrt(5)); biases kept") for s in (1, 2)]
    + [_case(f"introyt_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             "raw 0..255 pixel values: no ToTensor scaling, no Normalize((0.5,), (0.5,))") for s in (1, 2)]
    + [_case(f"introyt_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             "optimizer.zero_grad() left out of train_one_epoch: the gradients accumulate") for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = {"raw_pixels": lambda s: s == "1", "zero_grad": lambda s: s == "1", "seed": int,
                 "epochs": int}.get(k, float)(v)
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
