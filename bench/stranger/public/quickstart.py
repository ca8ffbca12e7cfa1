"""The PyTorch "Quickstart" tutorial (NeuralNetwork, an MLP 784-512-512-10 under SGD) on digits, watched by gradmedic.

Adapted from https://github.com/pytorch/tutorials (commit afcd669d56554c2ef46f2da92edbfaf8c54043ec,
beginner_source/basics/quickstart_tutorial.py, and its companion beginner_source/basics/optimization_tutorial.py at
commit 009a87b0ec0b432889e865e55d3ae9e3912c306e; BSD 3-Clause License, Copyright (c) 2017-2022 Pytorch contributors,
see LICENSE-quickstart).  Kept as in the tutorial: ``NeuralNetwork`` (``nn.Flatten``, ``linear_relu_stack`` =
Linear(784, 512), ReLU, Linear(512, 512), ReLU, Linear(512, 10)), PyTorch's default initialization (the tutorial
sets none), ``nn.CrossEntropyLoss()`` on the logits, ``torch.optim.SGD`` without momentum, batch 64 with the
tutorial's unshuffled ``DataLoader`` for training and test, its ``train()`` loop (``model.train()``, ``pred =
model(X)``, ``loss = loss_fn(pred, y)``, ``loss.backward()``, ``optimizer.step()``, ``optimizer.zero_grad()``, in
that order) and ``test()`` (``model.eval()``, ``torch.no_grad()``, accuracy of ``pred.argmax(1)`` over the test
set), ``ToTensor``'s [0, 1] inputs and no ``Normalize`` (the tutorial has none).

Changed: the data is scikit-learn's ``load_digits`` instead of FashionMNIST (no download, no torchvision): the
8x8 images divided by 16 to [0, 1] (as ``ToTensor`` does to 0..255 pixels), bilinearly upsampled to 1x28x28 so
``NeuralNetwork`` is unchanged, split 1437 / 360 (``train_test_split``, random_state 0).  The learning rate is
1e-2, not the quickstart's (and the optimization tutorial's) 1e-3: at 1e-3 the healthy program was still at
training loss 0.80 and test accuracy 0.875 after 200 epochs (4600 steps), short of run.py's good outcome (>= 0.9),
so the healthy program uses the rate the optimization tutorial's readers raise it to (SGD 1e-2), and every lr
variant is a multiple of it.  80 epochs (1840 steps) instead of 5 epochs over FashionMNIST's 60000 images (4690
steps), so a run takes ~10-15 s on one CPU thread.  The per-100-batch and per-epoch printing, model saving/loading
and the class-name prediction are left out; the metric is the test accuracy after the last epoch.

The watch: ``gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is built,
``monitor.step(loss)`` after ``loss.backward()``, before ``optimizer.step()`` (and the ``zero_grad()`` after it);
``monitor.close()`` after the last epoch.

``CASES`` (program "quickstart"): the program on seeds 1-3, and one change each against the same seed's healthy
run: lr x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) on every Linear weight instead of the default init; raw
0..255 pixels (no ``ToTensor`` scaling); ``nn.Softmax(dim=1)`` added as the last layer before
``nn.CrossEntropyLoss`` (a common beginner change); an ``nn.ReLU()`` left after the last Linear (seeds 1 and 2;
the tutorial itself had one there in earlier versions, e.g. commit 07a339ece661a2b304b8834780470f522eed1e02).
The tutorial does not clip, so there is no clipping case.  Labels come from run.py's outcome rules only.
Recorded (cases-public14; 13 cases in 154 s, 7-16 s a run): healthy test accuracy 0.947-0.958 on seeds 1-3
(final training loss 0.14-0.15); lr x10 (0.1) trains better (0.972, training loss 0.006): healthy; lr x100 (1.0)
ends at chance on both seeds (0.083, loss 2.31 after spikes to 10-15), x1000 (10) goes NaN (0.075) and /1000
(1e-5) stays at loss 2.30 (0.089): all broken; N(0, 1) weights start at loss ~1.5e4 yet end at 0.964 (training
loss 0.0): ambiguous (good accuracy, but its largest loss is far above 2x the control's); raw 0..255 pixels blow
the loss up to ~1e7 and end at chance (0.081): broken; the Softmax before CrossEntropyLoss learns slowly (loss
2.23, 0.383): broken; the ReLU after the last Linear ends at 0.656 and 0.531 (training loss 0.86 and 1.09): broken.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("monitor.step(loss) after loss.backward() (CrossEntropyLoss on the logits, batch 64), before "
              "optimizer.step() and optimizer.zero_grad() (the quickstart's order)")

LR = 1e-2  # the quickstart's 1e-3 x10 (see the docstring)


# Define model
class NeuralNetwork(nn.Module):
    def __init__(self, softmax_out: bool = False, relu_out: bool = False):
        super().__init__()
        self.flatten = nn.Flatten()
        layers = [
            nn.Linear(28*28, 512),
            nn.ReLU(),
            nn.Linear(512, 512),
            nn.ReLU(),
            nn.Linear(512, 10)
        ]
        if softmax_out:  # the bug: a Softmax as the last layer, its probabilities fed to nn.CrossEntropyLoss
            layers.append(nn.Softmax(dim=1))
        if relu_out:  # the bug: a ReLU left after the last Linear (as in the tutorial's own early versions)
            layers.append(nn.ReLU())
        self.linear_relu_stack = nn.Sequential(*layers)

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


def digits28(raw_pixels: bool = False):
    """(train, test) TensorDatasets: digits upsampled to 1x28x28 in [0, 1] (as ToTensor gives), or raw 0..255."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)

    def up(x):
        x = torch.tensor(x, dtype=torch.float32)[:, None] / 16.0  # ToTensor: [0, 1]
        return F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False).clamp(0, 1)

    xtr, xte = up(xtr), up(xte)
    if raw_pixels:  # the bug: 0..255 pixel values, no ToTensor scaling
        xtr, xte = xtr * 255.0, xte * 255.0
    return TensorDataset(xtr, torch.tensor(ytr)), TensorDataset(xte, torch.tensor(yte))


def train_loop(dataloader, model, loss_fn, optimizer, monitor, losses):
    model.train()
    for X, y in dataloader:
        # Compute prediction error
        pred = model(X)
        loss = loss_fn(pred, y)

        # Backpropagation
        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())


def test_loop(dataloader, model, loss_fn):
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    return test_loss, correct


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init_std: float | None = None,
          softmax_out: bool = False, relu_out: bool = False, epochs: int = 80, lr: float | None = None,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    training_data, test_data = digits28(raw_pixels)
    batch_size = 64
    train_dataloader = DataLoader(training_data, batch_size=batch_size)
    test_dataloader = DataLoader(test_data, batch_size=batch_size)

    model = NeuralNetwork(softmax_out=softmax_out, relu_out=relu_out)
    if init_std is not None:  # the bug: normal_(0, std) on every Linear weight instead of the default init
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, init_std)
    lr = (LR if lr is None else lr) * lr_mult
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)
    losses: list[float] = []

    t0 = time.time()
    for t in range(epochs):
        train_loop(train_dataloader, model, loss_fn, optimizer, monitor, losses)
        if verbose and (t + 1) % 5 == 0:
            tl, acc = test_loop(test_dataloader, model, loss_fn)
            print(f"epoch {t + 1} loss {np.mean(losses[-23:]):.4f} test {acc:.4f} ({time.time() - t0:.1f}s)",
                  flush=True)
    test_loss, acc = test_loop(test_dataloader, model, loss_fn)
    monitor.close()
    if verbose:
        print(f"test loss {test_loss:.4f} accuracy {acc:.4f} steps {len(losses)} {time.time() - t0:.1f}s")
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc), "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"test_loss": test_loss, "train_loss": float(np.mean(losses[-20:])), "steps": len(losses),
                      "lr": lr, "loss_max": float(np.max(losses))},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="quickstart", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_H = ("unchanged (NeuralNetwork 784-512-512-10, default init, CrossEntropyLoss, SGD lr 1e-2, batch 64 unshuffled, "
      "80 epochs = 1840 steps, inputs in [0, 1])")
CASES: list[dict] = (
    [_case(f"quickstart_healthy_s{s}", "healthy", s, {}, _H, False) for s in (1, 2, 3)]
    + [_case(f"quickstart_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"SGD lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("quickstart_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"SGD lr /1000 ({LR * 1e-3:g})")]
    + [_case("quickstart_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Linear weight instead of PyTorch's default (kaiming_uniform_, "
             "a=sqrt(5)); biases kept")]
    + [_case("quickstart_raw_pixels_s1", "unscaled_inputs", 1, {"raw_pixels": True},
             "raw 0..255 pixel values: no ToTensor scaling to [0, 1]")]
    + [_case("quickstart_softmax_ce_s1", "wrong_loss", 1, {"softmax_out": True},
             "nn.Softmax(dim=1) added as the last layer of linear_relu_stack, its probabilities fed to "
             "nn.CrossEntropyLoss (a softmax twice)")]
    + [_case(f"quickstart_relu_out_s{s}", "dead_relu", s, {"relu_out": True},
             "an nn.ReLU() left after the last Linear(512, 10) (as in the tutorial's earlier versions): the logits are "
             "clamped at 0 and an output unit below 0 for every input gets no gradient") for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = float(v) if k in ("lr", "lr_mult", "init_std") else (int(v) if k in ("epochs", "seed") else v == "1")
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
