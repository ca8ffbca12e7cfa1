"""The PyTorch 60-minute blitz, "Training a Classifier" (cifar10_tutorial.py), on digits, watched by gradmedic.

Adapted from https://github.com/pytorch/tutorials (commit 04e3d04bcf91d38a1213918eba70dc43e9b0ce45,
beginner_source/blitz/cifar10_tutorial.py; BSD 3-Clause License, Copyright (c) 2017-2022 Pytorch contributors, see
LICENSE-blitz).  Kept as in the tutorial: ``Net`` (conv1 ``Conv2d(3, 6, 5)``, ``MaxPool2d(2, 2)``, conv2
``Conv2d(6, 16, 5)``, ``fc1`` 400 -> 120, ``fc2`` 120 -> 84, ``fc3`` 84 -> 10, ReLU after each conv and the first
two Linears, ``x.view(-1, 16 * 5 * 5)``), PyTorch's default initialization (the tutorial sets none),
``nn.CrossEntropyLoss()``, ``optim.SGD(net.parameters(), lr=0.001, momentum=0.9)``, the loop (``zero_grad``,
``outputs = net(inputs)``, ``loss = criterion(outputs, labels)``, ``backward``, ``step``) over a training loader of
batch 4 shuffled each epoch, the test loader of batch 4 unshuffled, ``ToTensor`` + ``Normalize((0.5, 0.5, 0.5),
(0.5, 0.5, 0.5))`` on the inputs, and the accuracy over the test set under ``torch.no_grad()`` (``torch.max`` of
the outputs).

Changed, so it needs no download and no torchvision: the data is scikit-learn's ``load_digits`` instead of
CIFAR-10: the 8x8 images divided by 16 to [0, 1] (as ``ToTensor`` does to 0..255 pixels), bilinearly upsampled
to 32x32 and repeated to 3 channels (the tutorial's 3x32x32 input shape, so ``Net`` is unchanged), split 1437 /
360 (``train_test_split``, random_state 0), and ``Normalize((0.5,)*3, (0.5,)*3)`` done by hand as ``(x - 0.5) /
0.5``.  The batch-4 loader is a ``torch.randperm`` per epoch from a ``torch.Generator`` seeded with the run's seed
(no ``num_workers``).  12 epochs (4320 steps at batch 4) instead of the tutorial's 2 over CIFAR-10's 50000 images
(25000 steps), so a run takes ~15-30 s on one CPU thread; batch 4 is kept.  No printing every 2000 mini-batches,
no image display, no per-class accuracy.

The watch: ``gradmedic.watch(net, optimizer, every=10)`` right after the optimizer is built, ``monitor.step(loss)``
after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the last epoch.  The metric is
the test accuracy after the last epoch.

``CASES`` (program "blitz"): the program on seeds 1-3, and one change each against the same seed's healthy run:
lr x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) on every Conv2d and Linear weight instead of the default init
(seeds 1 and 2); zeros_ on fc1 (weight and bias); inputs not normalized (the raw 0..16 digit values x16, i.e.
0..256 "pixels" without ToTensor's scaling and without Normalize; seeds 1 and 2).  Momentum removed is not a
failure of this program, so it is not a case; the tutorial does not clip.  Labels come from run.py's outcome
rules only.
Recorded (cases-public12; 13 cases in 384 s, 21-38 s a run): healthy test accuracy 0.958-0.967 on seeds 1-3 (final
training loss 0.004-0.12); lr x10, x100 (seeds 1 and 2) and x1000 end near chance (0.075-0.122, training loss
2.31-2.80, finite) and /1000 at 0.161 (loss 2.31): all broken; N(0, 1) weights blow the loss up to 1e18-1e22 and
then NaN (0.075 on both seeds) and the zeroed fc1 stays at loss 2.30 (0.081): broken; the raw 0..256 inputs still
train (0.936 on seed 1, 0.900 on seed 2, training loss 0.14-0.18, largest loss 6-11 against 3-4 healthy): both
ambiguous (at or above 0.9 but more than 3 points below their controls).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("monitor.step(loss) after loss.backward() (CrossEntropyLoss on the logits, batch 4), before "
              "optimizer.step() (SGD lr 0.001, momentum 0.9)")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


def digits32(raw_pixels: bool = False):
    """(train, test) tensors: digits as 3x32x32 images, ToTensor + Normalize((0.5,)*3, (0.5,)*3), or raw 0..256."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)

    def up(x):
        x = torch.tensor(x, dtype=torch.float32)[:, None] / 16.0  # ToTensor: [0, 1]
        x = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False).clamp(0, 1)
        return x.repeat(1, 3, 1, 1)

    xtr, xte = up(xtr), up(xte)
    if raw_pixels:  # the bug: raw 0..16 values x16 (0..256 "pixels"), no ToTensor scaling, no Normalize
        xtr, xte = xtr * 256.0, xte * 256.0
    else:  # transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
        xtr, xte = (xtr - 0.5) / 0.5, (xte - 0.5) / 0.5
    return xtr, torch.tensor(ytr), xte, torch.tensor(yte)


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init_std: float | None = None,
          zero_layer: str | None = None, epochs: int = 12, batch_size: int = 4, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    xtr, ytr, xte, yte = digits32(raw_pixels)
    g = torch.Generator()
    g.manual_seed(seed)

    net = Net()
    if init_std is not None:  # the bug: normal_(0, std) on every Conv2d and Linear weight instead of the default
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, init_std)
    if zero_layer:  # the bug: zeros_ on one layer's weight and bias
        nn.init.zeros_(getattr(net, zero_layer).weight)
        nn.init.zeros_(getattr(net, zero_layer).bias)

    criterion = nn.CrossEntropyLoss()
    lr = 0.001 * lr_mult
    optimizer = optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    monitor = gradmedic.watch(net, optimizer, every=every)
    losses = []

    t0 = time.time()
    for epoch in range(epochs):  # loop over the dataset multiple times
        perm = torch.randperm(len(xtr), generator=g)
        for b in range(0, len(xtr), batch_size):
            idx = perm[b:b + batch_size]
            inputs, labels = xtr[idx], ytr[idx]

            # zero the parameter gradients
            optimizer.zero_grad()

            # forward + backward + optimize
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())
        if verbose:
            print(f"epoch {epoch + 1} loss {np.mean(losses[-360:]):.4f} ({time.time() - t0:.1f}s)", flush=True)

    correct, total = 0, 0
    with torch.no_grad():
        for b in range(0, len(xte), 4):
            images, labels = xte[b:b + 4], yte[b:b + 4]
            outputs = net(images)
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
    acc = correct / total
    monitor.close()
    if verbose:
        print(f"test accuracy {acc:.4f}")
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc), "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"train_loss": float(np.mean(losses[-20:])), "steps": len(losses), "lr": lr},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="blitz", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"blitz_healthy_s{s}", "healthy", s, {}, "unchanged (Net conv 6x5x5 / 16x5x5, fc 120-84-10, SGD lr 0.001 "
           "momentum 0.9, CrossEntropyLoss, batch 4, 12 epochs)", False) for s in (1, 2, 3)]
    + [_case(f"blitz_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"SGD lr x{k} ({0.001 * k:g}), momentum 0.9 kept")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("blitz_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "SGD lr /1000 (1e-06)")]
    + [_case(f"blitz_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Conv2d and Linear weight instead of PyTorch's default "
             "(kaiming_uniform_, a=sqrt(5)); biases kept") for s in (1, 2)]
    + [_case("blitz_zero_fc1_s1", "symmetric_init", 1, {"zero_layer": "fc1"},
             "nn.init.zeros_ on fc1.weight and fc1.bias")]
    + [_case(f"blitz_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             "raw 0..16 digit values x16 (0..256 pixels): no ToTensor scaling, no Normalize") for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = {"raw_pixels": lambda s: s == "1", "zero_layer": str, "seed": int, "epochs": int}.get(k, float)(v)
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
