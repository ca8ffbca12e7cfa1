"""Sebastian Raschka's deeplearning-models LeNet-5 (tanh, max-pooling, Adam) on digits, watched by gradmedic.

Adapted from https://github.com/rasbt/deeplearning-models (commit 18e046926551378cd691fd871dda0f21dcd272ab,
pytorch_ipynb/cnn/cnn-lenet5-mnist.ipynb, last changed in cd832fbd5a6f480e51b0df500ce60bb1f1f97d42; MIT License,
Copyright (c) 2019-2022 Sebastian Raschka, see LICENSE-lenet5), the notebook's code cells.  Kept as in the
notebook: ``LeNet5(NUM_CLASSES, GRAYSCALE=True)`` (``features``: Conv2d(1, 6, 5), Tanh, MaxPool2d(2), Conv2d(6, 16,
5), Tanh, MaxPool2d(2); ``classifier``: Linear(400, 120), Tanh, Linear(120, 84), Tanh, Linear(84, 10); ``forward``
returns ``logits, probas``), PyTorch's default initialization (the notebook sets none), ``torch.manual_seed(
RANDOM_SEED)`` right before the model is built, ``torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)`` with
LEARNING_RATE = 0.001, BATCH_SIZE = 128 with a shuffled training loader and an unshuffled test loader, 32x32 inputs
in [0, 1] (``Resize((32, 32))`` then ``ToTensor()``; no Normalize), the training loop (``model.train()``,
``logits, probas = model(features)``, ``cost = F.cross_entropy(logits, targets)``, ``optimizer.zero_grad()``,
``cost.backward()``, ``optimizer.step()``), the per-epoch ``compute_accuracy`` over the (shuffled) training loader
under ``model.eval()`` and ``torch.set_grad_enabled(False)`` (kept because it draws from the global RNG through the
shuffled loader, as in the notebook; its value goes to ``extra``), and the test accuracy from ``compute_accuracy``
on the test loader (argmax of ``probas``) as the metric (a fraction here, not a percentage).

Changed to run offline on one CPU thread: MNIST is scikit-learn's ``load_digits`` (no download, no torchvision):
the 8x8 images divided by 16 to [0, 1] (as ``ToTensor`` does to 0..255 pixels), bilinearly resized to 1x32x32 (the
notebook's ``Resize((32, 32))``, bilinear by default), split 1437 / 360 (``train_test_split``, random_state 0).
25 epochs (12 batches each, 300 steps) instead of 10 over MNIST's 60000 images (4690 steps), so a run takes
10-20 s (at 20 epochs the healthy seed 1 already had 0.978 test accuracy).  ``DEVICE`` is the CPU; the notebook's
batch-shape checks, per-50-batch printing, timing prints and plots are left out; ``torch.manual_seed(seed)`` also
before the data is built (the notebook seeds only the model).

The watch: ``gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is built,
``monitor.step(cost)`` after ``cost.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the last
epoch.

``CASES`` (program "lenet5"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) on every Conv2d and Linear weight (the tanh units
saturate); raw 0..255 pixel values (no ``ToTensor`` scaling); every ``nn.Tanh`` replaced by ``nn.Sigmoid`` (not
necessarily a failure under Adam: the label decides).  The notebook does not clip, so there is no clipping case.
Labels come from run.py's outcome rules only.
Recorded (cases-public15; 13 cases in 194 s, 10-20 s a run on a shared 2-core machine): healthy test accuracy
0.975, 0.983, 0.972 on seeds 1-3 (final training loss 0.017-0.023, largest loss 2.30-2.31); lr x10 (0.01) 0.972
(training loss 0.0006): healthy; lr x100 (0.1) ends at chance on both seeds (0.114 and 0.100, training loss 2.5-2.6
after spikes to 6.7-7.7), x1000 (1.0) 0.108 (training loss 32, peak 193) and /1000 (1e-6) 0.164 (loss still 2.30):
all broken; N(0, 1) weights reach losses of 10.9 and 14.2 and end at 0.525 and 0.528 (training loss 1.0 and 0.67):
broken on both seeds; raw 0..255 pixels train as well as the program (0.992 and 0.983, no loss above 2.32): healthy
(under Adam's per-parameter step sizes the larger inputs did not hold the tanh LeNet back); Sigmoid in place of
Tanh learns more slowly and ends at 0.822 (training loss 0.69) after the 300 steps: broken (against the 0.9
good-outcome bar and its control's 0.975).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("monitor.step(cost) after cost.backward() (F.cross_entropy on the logits, batch 128), before "
              "optimizer.step() (optimizer.zero_grad() comes before the backward, the notebook's order)")

# Hyperparameters (the notebook's SETTINGS cell)
RANDOM_SEED = 1
LEARNING_RATE = 0.001
BATCH_SIZE = 128
NUM_EPOCHS = 25  # the notebook: 10 over MNIST (see the docstring)

# Architecture
NUM_FEATURES = 32*32
NUM_CLASSES = 10

# Other
GRAYSCALE = True


def digits32(raw_pixels: bool = False):
    """(train, test) TensorDatasets: digits resized to 1x32x32 in [0, 1] (as Resize + ToTensor give), or raw 0..255."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)

    def up(x):
        x = torch.tensor(x, dtype=torch.float32)[:, None] / 16.0  # ToTensor: [0, 1]
        return F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False).clamp(0, 1)

    xtr, xte = up(xtr), up(xte)
    if raw_pixels:  # the bug: 0..255 pixel values, no ToTensor scaling
        xtr, xte = xtr * 255.0, xte * 255.0
    return TensorDataset(xtr, torch.tensor(ytr)), TensorDataset(xte, torch.tensor(yte))


##########################
### MODEL
##########################


class LeNet5(nn.Module):

    def __init__(self, num_classes, grayscale=False, act=nn.Tanh):
        super(LeNet5, self).__init__()  # noqa: UP008

        self.grayscale = grayscale
        self.num_classes = num_classes

        if self.grayscale:
            in_channels = 1
        else:
            in_channels = 3

        self.features = nn.Sequential(

            nn.Conv2d(in_channels, 6, kernel_size=5),
            act(),
            nn.MaxPool2d(kernel_size=2),
            nn.Conv2d(6, 16, kernel_size=5),
            act(),
            nn.MaxPool2d(kernel_size=2)
        )

        self.classifier = nn.Sequential(
            nn.Linear(16*5*5, 120),
            act(),
            nn.Linear(120, 84),
            act(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(x, 1)
        logits = self.classifier(x)
        probas = F.softmax(logits, dim=1)
        return logits, probas


def compute_accuracy(model, data_loader, device):
    correct_pred, num_examples = 0, 0
    for i, (features, targets) in enumerate(data_loader):  # noqa: B007

        features = features.to(device)
        targets = targets.to(device)

        logits, probas = model(features)
        _, predicted_labels = torch.max(probas, 1)
        num_examples += targets.size(0)
        correct_pred += (predicted_labels == targets).sum()
    return correct_pred.float()/num_examples * 100


def train(seed: int = RANDOM_SEED, lr_mult: float = 1.0, raw_pixels: bool = False, init_std: float | None = None,
          sigmoid: bool = False, epochs: int = NUM_EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    DEVICE = torch.device("cpu")
    torch.manual_seed(seed)
    train_dataset, test_dataset = digits32(raw_pixels)
    train_loader = DataLoader(dataset=train_dataset, batch_size=BATCH_SIZE, shuffle=True)
    test_loader = DataLoader(dataset=test_dataset, batch_size=BATCH_SIZE, shuffle=False)

    torch.manual_seed(seed)
    model = LeNet5(NUM_CLASSES, GRAYSCALE, act=nn.Sigmoid if sigmoid else nn.Tanh)
    if init_std is not None:  # the bug: normal_(0, std) on every Conv2d and Linear weight instead of the default
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, init_std)
    model.to(DEVICE)

    lr = LEARNING_RATE * lr_mult
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)
    losses: list[float] = []
    train_acc = float("nan")

    start_time = time.time()
    for epoch in range(epochs):

        model.train()
        for batch_idx, (features, targets) in enumerate(train_loader):  # noqa: B007

            features = features.to(DEVICE)
            targets = targets.to(DEVICE)

            ### FORWARD AND BACK PROP
            logits, probas = model(features)
            cost = F.cross_entropy(logits, targets)
            optimizer.zero_grad()

            cost.backward()
            monitor.step(cost)  # gradmedic

            ### UPDATE MODEL PARAMETERS
            optimizer.step()
            losses.append(cost.item())

        model.eval()
        with torch.set_grad_enabled(False):  # save memory during inference
            train_acc = compute_accuracy(model, train_loader, device=DEVICE).item()
        if verbose and (epoch + 1) % 5 == 0:
            print(f"Epoch: {epoch + 1:03d}/{epochs:03d} | Cost: {np.mean(losses[-12:]):.4f} | Train: {train_acc:.3f}% "
                  f"({time.time() - start_time:.1f}s)", flush=True)

    with torch.set_grad_enabled(False):  # save memory during inference
        acc = compute_accuracy(model, test_loader, device=DEVICE).item() / 100
    monitor.close()
    if verbose:
        print(f"Test accuracy: {acc:.4f} steps {len(losses)} {time.time() - start_time:.1f}s")
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc), "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"train_acc": train_acc / 100, "train_loss": float(np.mean(losses[-20:])), "steps": len(losses),
                      "lr": lr, "loss_max": float(np.max(losses))},
            "seconds": time.time() - start_time}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="lenet5", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_H = ("unchanged (LeNet5 with Tanh and MaxPool, default init, F.cross_entropy, Adam lr 0.001, batch 128 shuffled, "
      f"{NUM_EPOCHS} epochs = {NUM_EPOCHS * 12} steps, 32x32 inputs in [0, 1])")
CASES: list[dict] = (
    [_case(f"lenet5_healthy_s{s}", "healthy", s, {}, _H, False) for s in (1, 2, 3)]
    + [_case(f"lenet5_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({LEARNING_RATE * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("lenet5_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"Adam lr /1000 ({LEARNING_RATE * 1e-3:g})")]
    + [_case(f"lenet5_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Conv2d and Linear weight instead of PyTorch's default "
             "(kaiming_uniform_, a=sqrt(5)); biases kept") for s in (1, 2)]
    + [_case(f"lenet5_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             "raw 0..255 pixel values: no ToTensor scaling to [0, 1]") for s in (1, 2)]
    + [_case("lenet5_sigmoid_s1", "saturating_depth", 1, {"sigmoid": True},
             "every nn.Tanh replaced by nn.Sigmoid (four of them)")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = float(v) if k in ("lr_mult", "init_std") else (int(v) if k in ("epochs", "seed") else v == "1")
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
