"""Sung Kim's PyTorchZeroToAll (hunkim/PyTorchZeroToAll): the 5-layer ReLU softmax MLP on MNIST, watched by gradmedic.

Adapted from https://github.com/hunkim/PyTorchZeroToAll, file 09_2_softmax_mnist.py at commit
e5a260fac0b4ff1e2ec434fc6f0d962ac97fc289 (HEAD; the file last changed in aa3782fe1d6a796cfdc75ab9ee0c06afa7de366d,
"Refactored Lesson 9 (Added ability to train on gpu and time stats)!").  The repository states no licence (see
LICENSE-szksoftmax).

Kept as upstream has it: ``Net`` with ``l1 = nn.Linear(784, 520)``, ``l2 (520, 320)``, ``l3 (320, 240)``,
``l4 (240, 120)``, ``l5 (120, 10)``, ``F.relu`` after the first four, the logits out of ``l5`` (PyTorch's default
Linear init); ``criterion = nn.CrossEntropyLoss()``; ``optim.SGD(model.parameters(), lr=0.01, momentum=0.5)``;
``batch_size = 64`` with ``shuffle=True``; the loop ``model.train()``, ``optimizer.zero_grad()``, ``output =
model(data)``, ``loss = criterion(output, target)``, ``loss.backward()``, ``optimizer.step()``; ``test()`` with
``model.eval()`` and ``output.data.max(1, keepdim=True)[1]``.

Changed to run offline on one CPU thread (torchvision does not import here):
- MNIST is scikit-learn's ``load_digits`` (1797 8x8 images, values 0..16), split 80/20 with
  ``train_test_split(test_size=0.2, random_state=0)``: 1437 training images (23 steps of 64 per epoch, the last one
  of 29) and 360 held-out test images.  The images are divided by 16, to [0, 1], as upstream's only transform
  ``transforms.ToTensor()`` scales MNIST's 0..255 pixels.  (The brief said ToTensor + Normalize((0.1307,), (0.3081,));
  this program has no Normalize, so none is applied.)  So ``l1`` is ``nn.Linear(64, 520)`` and ``x.view(-1, 64)``
  (upstream: 784), the rest of the net unchanged.
- 100 epochs (2300 steps) instead of upstream's 9 (``range(1, 10)``; 8442 steps of MNIST): on the digits at lr 0.01
  and momentum 0.5 this deep ReLU stack sits at chance (loss ~2.29, test accuracy ~0.1-0.3) for its first ~20 epochs
  and needs ~60-80 epochs to pass 0.9 test accuracy (a trial without the watch: 0.947, 0.947, 0.942 after 100).
- ``torch.manual_seed(seed)`` before the model is built (upstream does not seed); ``device`` is the CPU;
  ``super(Net, self)`` written ``super()`` (ruff); the batch prints and timing prints only with ``verbose``; test()
  returns the accuracy (the metric) instead of printing it.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after
``optimizer = optim.SGD(...)``, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``;
``monitor.close()`` after the loop.

``CASES`` (program "szksoftmax"): the program on seeds 1-3, and one change each against the same seed's healthy run:
lr x10 (0.1); lr x100 (1; seeds 1 and 2); lr x1000 (10); lr /1000 (1e-5); raw pixels (the digits' 0..16 mapped to
0..255 without the ToTensor scaling, cause "unscaled_inputs"); every Linear weight ``normal_(std=1)`` (init_large,
biases kept); every Linear weight and bias zero (symmetric_init); ``optimizer.zero_grad()`` left out; and two changes
expected harmless: lr x2 (0.02, cause lr_high) and batch size 32 (cause "healthy").
Recorded (cases-public89, 8-23 s a run on the shared 2-core machine, both programs recording at once; metric the
held-out test accuracy, "initial" the mean training loss of the first 5 steps): healthy 0.9472, 0.9472, 0.9417 on
seeds 1-3 (start 2.304/2.306/2.297): healthy; lr x10 (0.1): 0.975: healthy; lr x100 (1): 0.1139 (seed 1) and 0.1000
(seed 2): broken; lr x1000 (10): 0.075 (start 2.379): broken; lr /1000: 0.0833: broken; raw 0..255 pixels: 0.9778,
start 5.88, but its largest loss more than 2x its control's: ambiguous; init std 1: 0.075, the loss non-finite from the
start: broken; zero init: 0.0806: broken; zero_grad left out: 0.1139: broken; lr x2: 0.9694: healthy; batch 32 (seed
2): 0.9583: healthy.  Labels: 6 healthy (3 programs, 3 variants), 7 broken, 1 ambiguous.  A first recording had the
metric named "test_acc", which run.py labels as a loss; it was deleted and recorded again as "accuracy" (same values).
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.utils import data

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = optim.SGD(model.parameters(), lr=0.01, "
              "momentum=0.5); monitor.step(loss) right after loss.backward(), before optimizer.step()")
EPOCHS = 100
LR = 0.01
batch_size = 64


def _digits(raw_pixels: bool = False):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)
    scale = 255.0 / 16.0 if raw_pixels else 1.0 / 16.0  # ToTensor: [0, 1]; the unscaled_inputs variant: 0..255
    xtr = torch.tensor(xtr, dtype=torch.float32)[:, None] * scale
    xte = torch.tensor(xte, dtype=torch.float32)[:, None] * scale
    return data.TensorDataset(xtr, torch.tensor(ytr)), data.TensorDataset(xte, torch.tensor(yte))


class Net(nn.Module):

    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(64, 520)  # upstream: nn.Linear(784, 520) (28x28 MNIST; the digits are 8x8)
        self.l2 = nn.Linear(520, 320)
        self.l3 = nn.Linear(320, 240)
        self.l4 = nn.Linear(240, 120)
        self.l5 = nn.Linear(120, 10)

    def forward(self, x):
        x = x.view(-1, 64)  # Flatten the data (n, 1, 8, 8)-> (n, 64)  # upstream: 784
        x = F.relu(self.l1(x))
        x = F.relu(self.l2(x))
        x = F.relu(self.l3(x))
        x = F.relu(self.l4(x))
        return self.l5(x)


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init: str = "default",
          zero_grad: bool = True, bs: int = batch_size, epochs: int = EPOCHS, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    train_dataset, test_dataset = _digits(raw_pixels)
    torch.manual_seed(seed)  # upstream does not seed
    train_loader = data.DataLoader(dataset=train_dataset, batch_size=bs, shuffle=True)
    test_loader = data.DataLoader(dataset=test_dataset, batch_size=batch_size, shuffle=False)
    model = Net()
    if init != "default":
        for m in model.modules():
            if isinstance(m, nn.Linear):
                if init == "std1":  # the init_large variant
                    nn.init.normal_(m.weight, std=1.0)
                elif init == "zero":  # the symmetric_init variant
                    nn.init.zeros_(m.weight)
                    nn.init.zeros_(m.bias)
                else:
                    raise ValueError(init)
    lr = LR * lr_mult
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=0.5)
    monitor = gradmedic.watch(model, optimizer, every=every)
    losses = []

    def test():
        model.eval()
        correct = 0
        with torch.no_grad():
            for data_, target in test_loader:
                output = model(data_)
                pred = output.data.max(1, keepdim=True)[1]
                correct += pred.eq(target.data.view_as(pred)).cpu().sum().item()
        return correct / len(test_loader.dataset)

    for epoch in range(1, epochs + 1):
        model.train()
        for data_, target in train_loader:
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            output = model(data_)
            loss = criterion(output, target)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())
        if verbose and epoch % 10 == 0:
            print(f'Train Epoch: {epoch} | Loss: {np.mean(losses[-20:]):.4f} | Test acc {test():.3f} '
                  f'({time.time() - t0:.1f}s)', flush=True)
    monitor.close()
    acc = test()
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc, "chance": 0.1,
            "initial": float(np.mean(losses[:5])),
            "initial_what": "untrained: the training cross-entropy, mean of the first 5 steps (chance ln 10 = 2.30)",
            "extra": dict(test_acc=acc, train_loss=float(np.mean(losses[-20:])), first_loss=float(np.mean(losses[:5])),
                          max_loss=float(np.nanmax(losses)) if np.isfinite(losses).any() else float("nan"),
                          finite_losses=bool(np.isfinite(losses).all()), steps=len(losses), epochs=epochs, lr=lr,
                          lr_mult=lr_mult, raw_pixels=raw_pixels, init=init, zero_grad=zero_grad, batch_size=bs,
                          chance_loss=math.log(10)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="szksoftmax", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = (f"softmax MLP (Linear 64-520-320-240-120-10, ReLU, default init; CrossEntropyLoss; optim.SGD lr {LR:g} "
      f"momentum 0.5; batch {batch_size}, {EPOCHS} epochs of 1437 digits)")
CASES: list[dict] = (
    [_case(f"szksoftmax_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"szksoftmax_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("szksoftmax_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case("szksoftmax_raw_pixels_s1", "unscaled_inputs", 1, {"raw_pixels": True},
             f"{_P}: raw 0..255 pixels (no ToTensor scaling)")]
    + [_case("szksoftmax_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_P}: every Linear weight normal_(std=1), biases kept")]
    + [_case("szksoftmax_zero_init_s1", "symmetric_init", 1, {"init": "zero"},
             f"{_P}: every Linear weight and bias zeros_ (symmetric)")]
    + [_case("szksoftmax_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("szksoftmax_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: lr x2 ({LR * 2:g})")]
    + [_case("szksoftmax_batch32_s2", "healthy", 2, {"bs": 32}, f"{_P}: batch size 32 instead of 64")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
