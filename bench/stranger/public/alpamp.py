"""Aladdin Persson's mixed-precision example (a small CNN, Adam, CrossEntropyLoss, the GradScaler + autocast loop)
on digits, watched by gradmedic.

Adapted from https://github.com/aladdinpersson/Machine-Learning-Collection (commit
058742e581f158536825bf0c937b15012e6c5315, ML/Pytorch/Basics/pytorch_mixed_precision_example.py, the "2022-12-19"
revision; MIT License, Copyright (c) 2020 Aladdin Persson, see LICENSE-alpamp).  The script has module-level code;
here its body is ``train``, its lines in upstream's order.

Kept as in the original: the ``CNN`` class layout (conv1 1->C1 and conv2 C1->C2, both 3x3 stride 1 padding 1, one
``MaxPool2d(2, 2)`` used after each, ``F.relu`` after each conv, one ``fc1`` Linear to num_classes) with PyTorch's
default init (upstream sets none), in_channel 1, num_classes 10, learning_rate 3e-4, batch_size 100, inputs in [0, 1]
as ``transforms.ToTensor()`` gives them (no Normalize), both DataLoaders shuffled, ``nn.CrossEntropyLoss()``,
``optim.Adam(model.parameters(), lr=learning_rate)``, ``scaler = GradScaler()`` at its default arguments (init_scale
2**16, growth_interval 2000), and the loop: forward and loss under autocast, ``optimizer.zero_grad()``,
``scaler.scale(loss).backward()``, ``scaler.step(optimizer)``, ``scaler.update()``; ``check_accuracy`` (``model.eval()``,
``torch.no_grad()``, ``scores.max(1)``, ``num_correct / num_samples``, outside autocast as upstream).

Changed to run offline on one CPU thread (no CUDA, no torchvision):
- CUDA -> CPU: ``torch.cuda.amp.GradScaler()`` is ``torch.amp.GradScaler("cpu")`` (supported in torch 2.13: the scaler
  is enabled on CPU and scales the loss by 2**16) and ``torch.cuda.amp.autocast()`` (float16) is
  ``torch.autocast("cpu", dtype=torch.bfloat16)`` (it runs; conv and linear compute in bfloat16, the loss comes out
  float32).  Upstream's ``assert device == "cuda"`` is dropped.
- MNIST is scikit-learn's ``load_digits`` at its own 8x8 size (split 80/20 with random_state=0: 1437 training images,
  15 steps of 100 per epoch, the last of 37, and 360 held-out test images), values /16 into [0, 1] as ``ToTensor``.
  At 8x8 the two pools leave 2x2, so ``fc1`` is ``Linear(C2 * 2 * 2, 10)`` instead of ``Linear(1000 * 7 * 7, 10)``.
- the channels cut 42x/40x: C1 = 10 and C2 = 25 instead of 420 and 1000.  bfloat16 autocast is slow on this CPU
  (no bfloat16 matrix units): a step of 100 images at 8x8 takes 26 s at the upstream widths, 0.25 s at 42/100, 0.07 s
  at 21/50 (which reached only 0.89 test accuracy in the 15 epochs that fit), about 0.03 s at 10/25.
- num_epochs 50 instead of 5 (upstream's 5 epochs of MNIST are 3000 steps; 50 epochs of the digits are 750: at lr
  3e-4 this narrow net needs them).
- upstream prints the accuracy on the training and test loaders; here the test accuracy (held-out split) is the
  metric and the training accuracy is kept in ``extra``.  ``check_accuracy`` returns a float.
- ``torch.manual_seed(seed)`` (upstream does not seed); a per-epoch print only with ``verbose``.
- the bugs of the variants: ``lr_mult`` (learning_rate times it), ``raw_pixels`` (the digits' values x255/16, i.e.
  0..255 pixels without the ToTensor scaling), ``init_std`` (``nn.init.normal_(0, std)`` on every Conv2d and Linear
  weight, biases kept), ``zero_grad=False`` (``optimizer.zero_grad()`` left out), ``init_scale`` (the GradScaler's
  initial scale) and ``use_amp=False`` (autocast and GradScaler built with ``enabled=False``: plain float32).

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the scaler is built
(no ``scaler=`` argument: the monitor is told nothing about the scaling), ``monitor.step(loss)`` with the unscaled
float32 loss right after ``scaler.scale(loss).backward()`` (so the gradients it sees are the scaled ones, x65536),
before ``scaler.step(optimizer)``; ``monitor.close()`` after the loop.

``CASES`` (program "alpamp"): the program on seeds 1-3, and one change each against the same seed's healthy run:
lr x10, x100 (seeds 1 and 2), /1000; raw 0..255 pixels; every Conv2d/Linear weight normal_(0, 1);
``optimizer.zero_grad()`` left out; ``GradScaler("cpu", init_scale=2**24)`` (cause "healthy": no cause names it);
autocast and GradScaler disabled (``use_amp = False``, cause "healthy", expected harmless).
Labels come from run.py's outcome rules only.
Recorded (cases-public63, 12 cases, 218 s; 3-25 s a run, the bfloat16 ones 11-25 s on the shared machine): healthy
0.928, 0.906, 0.939 test accuracy on seeds 1-3 (train loss 2.31 -> 0.25-0.29, every loss finite, largest 2.31, no
step skipped, the scale stays 2**16); lr x10 (3e-3): 0.978, healthy (lr 3e-4 is slow for this narrow net); lr x100
(3e-2): 0.992 and 0.981 on seeds 1 and 2 (train loss 1e-4, largest loss 2.36), healthy; lr /1000: loss stays 2.31,
0.103, broken; raw 0..255 pixels: first losses 17.6 (largest 22.7), train loss 0.027, 0.933: ambiguous (better than
its control, but its largest loss is over 2x the control's); normal_(0, 1) weights: first losses ~158, train loss
11.8, 0.406, broken; zero_grad left out: 0.9278, the control's accuracy to the digit (train loss 0.289 as the control):
healthy -- ``scaler.step`` unscales ``.grad`` in place, so the gradient left over from the last step is 1/65536 of
the new scaled one and the accumulation all but vanishes; init_scale 2**24: bit-identical to the control (final scale
2**24, nothing overflows), healthy; use_amp False: 0.928 (train loss 0.2889), healthy.  Labels: 9 healthy (3
programs, 6 variants), 2 broken, 1 ambiguous.  No run had a non-finite loss or a skipped step.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn  # All neural network modules, nn.Linear, nn.Conv2d, BatchNorm, Loss functions
import torch.nn.functional as F  # All functions that don't have any parameters
import torch.optim as optim  # For all Optimization algorithms, SGD, Adam, etc.
from torch.utils.data import DataLoader  # Gives easier dataset managment and creates mini batches

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(model, optimizer, every=10) after scaler = GradScaler('cpu') (no scaler= argument); "
              "monitor.step(loss) right after scaler.scale(loss).backward() (loss from bfloat16 autocast, unscaled; "
              "the gradients it sees are scaled by the GradScaler's scale, 2**16), before scaler.step(optimizer)")
C1, C2 = 10, 25  # upstream 420, 1000
LEARNING_RATE = 3e-4
NUM_EPOCHS = 50


# Simple CNN
class CNN(nn.Module):
    def __init__(self, in_channels=1, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(
            in_channels=1,
            out_channels=C1,
            kernel_size=(3, 3),
            stride=(1, 1),
            padding=(1, 1),
        )
        self.pool = nn.MaxPool2d(kernel_size=(2, 2), stride=(2, 2))
        self.conv2 = nn.Conv2d(
            in_channels=C1,
            out_channels=C2,
            kernel_size=(3, 3),
            stride=(1, 1),
            padding=(1, 1),
        )
        self.fc1 = nn.Linear(C2 * 2 * 2, num_classes)  # upstream 1000 * 7 * 7 (28x28 MNIST)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = self.pool(x)
        x = F.relu(self.conv2(x))
        x = self.pool(x)
        x = x.reshape(x.shape[0], -1)
        x = self.fc1(x)

        return x


def digits8(raw_pixels: bool = False):
    """(train, test) TensorDatasets of load_digits as 1x8x8 images in [0, 1] (or raw 0..255): a fixed 1437/360 split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)
    scale = 255.0 / 16.0 if raw_pixels else 1.0 / 16.0  # ToTensor: [0, 1]; the bug: 0..255 pixels
    f = lambda x: torch.tensor(x, dtype=torch.float32)[:, None] * scale  # noqa: E731
    return (torch.utils.data.TensorDataset(f(xtr), torch.tensor(ytr)),
            torch.utils.data.TensorDataset(f(xte), torch.tensor(yte)))


def check_accuracy(loader, model):
    num_correct = 0
    num_samples = 0
    model.eval()

    with torch.no_grad():
        for x, y in loader:
            scores = model(x)
            _, predictions = scores.max(1)
            num_correct += (predictions == y).sum()
            num_samples += predictions.size(0)

    model.train()
    return float(num_correct) / float(num_samples)


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init_std: float | None = None,
          zero_grad: bool = True, init_scale: float = 2.0 ** 16, use_amp: bool = True, num_epochs: int = NUM_EPOCHS,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()

    # Hyperparameters
    learning_rate = LEARNING_RATE * lr_mult
    batch_size = 100

    # Load Data
    train_dataset, test_dataset = digits8(raw_pixels)
    train_loader = DataLoader(dataset=train_dataset, batch_size=batch_size, shuffle=True)
    test_loader = DataLoader(dataset=test_dataset, batch_size=batch_size, shuffle=True)

    # Initialize network
    model = CNN()
    if init_std is not None:  # the bad-init variant
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, init_std)

    # Loss and optimizer
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=learning_rate)

    # Necessary for FP16
    scaler = torch.amp.GradScaler("cpu", init_scale=init_scale, enabled=use_amp)
    monitor = gradmedic.watch(model, optimizer, every=every)

    losses, skipped = [], 0
    # Train Network
    for epoch in range(num_epochs):
        for _batch_idx, (data, targets) in enumerate(train_loader):
            # forward
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_amp):
                scores = model(data)
                loss = criterion(scores, targets)

            # backward
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            scaler.scale(loss).backward()
            monitor.step(loss)  # gradmedic: the gradients are the scaled ones here
            before = scaler.get_scale() if use_amp else 1.0
            scaler.step(optimizer)
            scaler.update()
            if use_amp and scaler.get_scale() < before:
                skipped += 1
            losses.append(float(loss.detach()))
        if verbose:
            print(f"epoch {epoch + 1} loss {np.mean(losses[-15:]):.4f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()

    train_acc = check_accuracy(train_loader, model)
    test_acc = check_accuracy(test_loader, model)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": test_acc, "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(train_acc=train_acc, lr=learning_rate, train_loss=float(np.mean(losses[-15:])),
                          first_loss=float(np.mean(losses[:5])), max_loss=float(np.nanmax(losses)),
                          finite_losses=bool(np.isfinite(losses).all()), steps=len(losses), epochs=num_epochs,
                          lr_mult=lr_mult, raw_pixels=raw_pixels, init_std=init_std if init_std else 0.0,
                          zero_grad=zero_grad, init_scale=init_scale, use_amp=use_amp, skipped_steps=skipped,
                          final_scale=float(scaler.get_scale()) if use_amp else 0.0, test_images=len(test_dataset)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="alpamp", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"mixed-precision CNN (Conv 1-{C1} 3x3, ReLU, MaxPool, Conv {C1}-{C2} 3x3, ReLU, MaxPool, Linear {C2 * 4}-10, "
      f"default init; CrossEntropyLoss; Adam lr {LEARNING_RATE:g}; bfloat16 autocast + GradScaler('cpu'), batch 100, "
      f"{NUM_EPOCHS} epochs of 15 steps on 8x8 digits in [0, 1])")
CASES: list[dict] = (
    [_case(f"alpamp_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"alpamp_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LEARNING_RATE * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("alpamp_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3},
             f"{_P}: lr /1000 ({LEARNING_RATE * 1e-3:g})")]
    + [_case("alpamp_raw_pixels_s1", "unscaled_inputs", 1, {"raw_pixels": True},
             f"{_P}: inputs unscaled (0..255 pixel values, no ToTensor scaling)")]
    + [_case("alpamp_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_P}: every Conv2d and Linear weight normal_(0, 1)")]
    + [_case("alpamp_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the scaled gradients accumulate)")]
    + [_case("alpamp_init_scale_2p24_s1", "healthy", 1, {"init_scale": 2.0 ** 24},
             f"{_P}: GradScaler('cpu', init_scale=2**24) instead of the default 2**16")]
    + [_case("alpamp_no_amp_s1", "healthy", 1, {"use_amp": False},
             f"{_P}: use_amp = False (autocast and GradScaler built with enabled=False: plain float32)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
