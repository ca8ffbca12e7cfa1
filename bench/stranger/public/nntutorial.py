"""The PyTorch tutorial "What is torch.nn really?" (nn_tutorial.py): its Mnist_CNN, on digits, watched by gradmedic.

Adapted from https://github.com/pytorch/tutorials (commit 05e7ce2c19e72d482475d91d458db210cdacec38,
beginner_source/nn_tutorial.py, by Jeremy Howard; BSD 3-Clause License, Copyright (c) 2017-2022 Pytorch contributors,
see LICENSE-nntutorial).  Kept as in the tutorial: the ``nn.Sequential`` CNN of its "nn.Sequential" section
(``Lambda(preprocess)`` viewing each flat 784-vector as ``1x28x28``, three ``Conv2d(.., kernel_size=3, stride=2,
padding=1)`` 1 -> 16 -> 16 -> 10 each followed by ``nn.ReLU()``, ``nn.AvgPool2d(4)``, ``Lambda(lambda x:
x.view(x.size(0), -1))``), PyTorch's default initialization (the tutorial sets none for the CNN), ``loss_func =
F.cross_entropy``, ``opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)``, ``get_data``
(``DataLoader(train_ds, batch_size=bs, shuffle=True)``, ``DataLoader(valid_ds, batch_size=bs * 2)`` over
``TensorDataset``s), ``loss_batch`` (``loss.backward(); opt.step(); opt.zero_grad()`` when given an optimizer,
``loss.item(), len(xb)`` back) and ``fit`` (``model.train()``, the training batches, then ``model.eval()`` and the
size-weighted mean validation loss under ``torch.no_grad()`` each epoch), and the tutorial's ``accuracy`` (argmax of
the outputs against the labels).

Changed, so it needs no download: the data is scikit-learn's ``load_digits`` instead of the ``mnist.pkl.gz`` pickle:
the 8x8 images divided by 16 to [0, 1] (the pickle's MNIST pixels are floats in [0, 1]), bilinearly upsampled to
20x20 and zero-padded by 4 to 28x28 (as MNIST's digits sit in a 20x20 box centred in the 28x28 frame), flattened to
784 floats as in the pickle, split 1437 train / 360 valid (``train_test_split``, random_state 0).  The shuffling
``DataLoader`` gets a ``torch.Generator`` seeded with the run's seed.  ``bs = 128`` instead of 64 and 100 epochs
(1200 steps) instead of 2 over MNIST's 50000 images (1564 steps), so a run takes ~10-16 s on one CPU thread: on these
1437 images, at bs 64 (and with the digits stretched over the whole 28x28 frame) some of the 10 output channels die
under the model's final ReLU on seeds 1 and 3 (validation accuracy 0.59-0.87 at lr 0.1, also at lr 0.02-0.05);
with the padding and bs 128 seeds 1-3 reach 0.92-0.97 in a probe of 60 epochs.  ``fit`` records the validation loss
instead of printing it, and after the last epoch the metric is the accuracy on the whole validation set (the
tutorial's ``accuracy``), which the tutorial does not compute for the CNN.  No plotting, no GPU section.

The watch: ``gradmedic.watch(model, opt, every=10)`` right after the optimizer is built; ``monitor.step(loss)``
inside ``loss_batch`` after ``loss.backward()``, before ``opt.step()``; ``monitor.close()`` after ``fit``.

``CASES`` (program "nntutorial"): the program on seeds 1-3, and one change each against the same seed's healthy run:
lr x10, x100 (seeds 1 and 2), x1000, /1000 (momentum 0.9 kept); N(0, 1) on every Conv2d weight instead of the
default init (seeds 1 and 2); zeros_ on the last Conv2d (weight and bias); inputs not scaled (the 0..255 pixels the
tutorial's pickle has already divided out; seeds 1 and 2).  Momentum removed is not a failure of this program, so it
is not a case; the tutorial does not clip.  Labels come from run.py's outcome rules only.
Recorded (cases-public13; 13 cases in 183 s, 10-16 s a run): healthy validation accuracy 0.953-0.958 on seeds 1-3
(final training loss 0.01-0.13, validation loss 0.17-0.19); lr x10 ends at 0.414 (training loss 1.29), lr x100 (both
seeds), x1000 and /1000 at 0.075 with the loss at ln 10 = 2.303 (every output channel zero after the final ReLU, so
argmax picks class 0; x1000's largest loss 73, finite): all broken; N(0, 1) conv weights: seed 2 at 0.278 (loss 2.08,
largest 27) broken, seed 1 still trains to 0.889 (loss 0.29, largest 39) ambiguous (under 0.9 but not clearly worse);
the zeroed last conv stays at loss 2.303 (0.075): broken; the raw 0..255 inputs reach 0.803 and 0.700 (training loss
0.57-0.63, largest 6.4 and 19 against 2.3 healthy): both broken.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim
from torch.utils.data import DataLoader, TensorDataset

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("monitor.step(loss) inside loss_batch after loss.backward() (F.cross_entropy on the logits, bs 128), "
              "before opt.step() (SGD lr 0.1, momentum 0.9)")


class Lambda(nn.Module):
    def __init__(self, func):
        super().__init__()
        self.func = func

    def forward(self, x):
        return self.func(x)


def preprocess(x):
    return x.view(-1, 1, 28, 28)


def flatten(x):
    return x.view(x.size(0), -1)


def get_model_cnn():
    return nn.Sequential(
        Lambda(preprocess),
        nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.AvgPool2d(4),
        Lambda(flatten),
    )


def digits28(raw_pixels: bool = False):
    """(x_train, y_train, x_valid, y_valid): digits as flat 784-vectors in [0, 1] (or raw 0..255 pixels)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xva, ytr, yva = train_test_split(d.images, d.target, test_size=0.2, random_state=0)

    def up(x):
        x = torch.tensor(x, dtype=torch.float32)[:, None] / 16.0
        x = F.interpolate(x, size=(20, 20), mode="bilinear", align_corners=False).clamp(0, 1)
        x = F.pad(x, (4, 4, 4, 4))  # MNIST's digits sit in a 20x20 box centred in 28x28
        return x.reshape(len(x), 784)

    xtr, xva = up(xtr), up(xva)
    if raw_pixels:  # the bug: 0..255 pixels, not divided by 255 as the tutorial's pickle is
        xtr, xva = xtr * 255.0, xva * 255.0
    return xtr, torch.tensor(ytr), xva, torch.tensor(yva)


def get_data(train_ds, valid_ds, bs, g):
    return (
        DataLoader(train_ds, batch_size=bs, shuffle=True, generator=g),
        DataLoader(valid_ds, batch_size=bs * 2),
    )


def accuracy(out, yb):
    preds = torch.argmax(out, dim=1)
    return (preds == yb).float().mean()


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init_std: float | None = None,
          zero_last: bool = False, epochs: int = 100, bs: int = 128, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    x_train, y_train, x_valid, y_valid = digits28(raw_pixels)
    train_ds = TensorDataset(x_train, y_train)
    valid_ds = TensorDataset(x_valid, y_valid)
    g = torch.Generator()
    g.manual_seed(seed)
    train_dl, valid_dl = get_data(train_ds, valid_ds, bs, g)

    lr = 0.1 * lr_mult
    model = get_model_cnn()
    convs = [m for m in model if isinstance(m, nn.Conv2d)]
    if init_std is not None:  # the bug: normal_(0, std) on every Conv2d weight instead of the default
        for m in convs:
            nn.init.normal_(m.weight, 0.0, init_std)
    if zero_last:  # the bug: zeros_ on the last Conv2d's weight and bias
        nn.init.zeros_(convs[-1].weight)
        nn.init.zeros_(convs[-1].bias)
    loss_func = F.cross_entropy
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    monitor = gradmedic.watch(model, opt, every=every)
    train_losses, val_losses = [], []

    def loss_batch(model, loss_func, xb, yb, opt=None):
        loss = loss_func(model(xb), yb)

        if opt is not None:
            loss.backward()
            monitor.step(loss)  # gradmedic
            opt.step()
            opt.zero_grad()
            train_losses.append(loss.item())

        return loss.item(), len(xb)

    def fit(epochs, model, loss_func, opt, train_dl, valid_dl):
        for epoch in range(epochs):
            model.train()
            for xb, yb in train_dl:
                loss_batch(model, loss_func, xb, yb, opt)

            model.eval()
            with torch.no_grad():
                losses, nums = zip(
                    *[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl], strict=True
                )
            val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)
            val_losses.append(float(val_loss))
            if verbose:
                print(epoch, val_loss, f"train {np.mean(train_losses[-12:]):.4f} ({time.time() - t0:.1f}s)",
                      flush=True)

    t0 = time.time()
    fit(epochs, model, loss_func, opt, train_dl, valid_dl)
    model.eval()
    with torch.no_grad():
        acc = float(accuracy(model(x_valid), y_valid))
    monitor.close()
    if verbose:
        print(f"valid accuracy {acc:.4f}")
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc, "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"train_loss": float(np.mean(train_losses[-20:])), "val_loss": val_losses[-1],
                      "steps": len(train_losses), "lr": lr},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="nntutorial", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


CASES: list[dict] = (
    [_case(f"nntutorial_healthy_s{s}", "healthy", s, {}, "unchanged (Mnist_CNN as nn.Sequential: conv 1-16-16-10 "
           "stride 2 + ReLU, AvgPool2d(4); SGD lr 0.1 momentum 0.9, F.cross_entropy, bs 128, 100 epochs)", False)
     for s in (1, 2, 3)]
    + [_case(f"nntutorial_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"SGD lr x{k} ({0.1 * k:g}), momentum 0.9 kept")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("nntutorial_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "SGD lr /1000 (0.0001)")]
    + [_case(f"nntutorial_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Conv2d weight instead of PyTorch's default "
             "(kaiming_uniform_, a=sqrt(5)); biases kept") for s in (1, 2)]
    + [_case("nntutorial_zero_conv3_s1", "symmetric_init", 1, {"zero_last": True},
             "nn.init.zeros_ on the last Conv2d's weight and bias (16 -> 10)")]
    + [_case(f"nntutorial_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             "raw 0..255 pixels: not divided by 255 as the tutorial's MNIST pickle is") for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = {"raw_pixels": lambda s: s == "1", "zero_last": lambda s: s == "1", "seed": int,
                 "epochs": int}.get(k, float)(v)
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
