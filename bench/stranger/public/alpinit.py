"""Aladdin Persson's weight-initialization example (a simple CNN with its own ``initialize_weights``: kaiming_uniform_
weights, zero biases) trained on digits, watched by gradmedic.

Adapted from https://github.com/aladdinpersson/Machine-Learning-Collection (commit
28bd89ea9c07db15ebaa232328a53e03614b1c88, ML/Pytorch/Basics/pytorch_init_weights.py, "2020-04-10 Initial coding";
MIT License, Copyright (c) 2020 Aladdin Persson, see LICENSE-alpinit).  That file only defines the model and prints
its parameters (``CNN(in_channels=3, num_classes=10)``); it has no data and no training loop.  The loop is the one of
the same collection's pytorch_simple_CNN.py (commit e6c7f42c46a6414f12b2d8820e00e4474be7bbd8, the "2021-03-24"
revision, the script the init video builds on and whose CNN this one is, with 6 instead of 8 channels in conv1),
as alpcnn.py ports it; here its body is ``train``, its lines in upstream's order.

Kept as in pytorch_init_weights.py: the ``CNN`` class (conv1 in_channels->6 and conv2 6->16, both 3x3 stride 1
padding 1, one ``MaxPool2d(2, 2)`` used after each, ``F.relu`` after each conv, ``fc1 = nn.Linear(16 * 7 * 7,
num_classes)``) and its ``initialize_weights`` called in ``__init__`` (every Conv2d: ``nn.init.kaiming_uniform_``
on the weight, ``nn.init.constant_(bias, 0)``; the BatchNorm2d branch, unused here, kept; every Linear:
``kaiming_uniform_`` weight and zero bias).  Kept from pytorch_simple_CNN.py: in_channels 1 (MNIST; the init file's
``__main__`` builds it with 3 for a demo only), num_classes 10, learning_rate 0.001, batch_size 64, inputs in
[0, 1] as ``transforms.ToTensor()`` gives them (no Normalize), both DataLoaders shuffled, ``nn.CrossEntropyLoss()``,
``optim.Adam(model.parameters(), lr=learning_rate)``, the loop (forward, loss, ``optimizer.zero_grad()``,
``loss.backward()``, ``optimizer.step()``; no clipping, no scheduler) and ``check_accuracy``.

Changed to run offline on one CPU thread (torchvision does not import here):
- MNIST is mnist.py's ``digits28`` (scikit-learn's ``load_digits``, split 80/20 with random_state=0, upsampled
  bilinearly to 28x28 so the 16*7*7 head is unchanged) with its 0..255 values divided by 255 as ``ToTensor`` does:
  1437 training images (23 steps of 64 per epoch) and 360 held-out test images.
- num_epochs 20 instead of simple_CNN's 3: three epochs of MNIST are 2814 steps, three of the digits only 69;
  20 epochs (460 steps) train it (see Recorded) within the time a run may take here.
- the test accuracy (held-out split) is the metric; the training accuracy is kept in ``extra``; ``check_accuracy``
  returns a float.  ``device`` is the CPU; ``torch.manual_seed(seed)`` (upstream does not seed); no tqdm;
  ``torch.set_flush_denormal(True)`` (speed only); a per-epoch print only with ``verbose``.
- the bugs of the variants: ``lr_mult`` (learning_rate times it), ``raw_pixels`` (0..255 values, no ToTensor
  scaling; no case uses it, see below), ``init`` (what ``initialize_weights`` does to every Conv2d and Linear
  weight instead of kaiming_uniform_: "std1" ``nn.init.normal_(w, 0, 1)``, "std1e-3" ``nn.init.normal_(w, 0,
  1e-3)`` (no case uses it, see below), "zeros" ``nn.init.constant_(w, 0)``; biases zero as upstream; "none":
  ``initialize_weights`` not called, PyTorch's default init),
  ``zero_grad=False`` (``optimizer.zero_grad()`` left out), ``softmax=True`` (``F.softmax(scores, dim=1)`` fed to
  ``nn.CrossEntropyLoss``) and ``freeze_convs=True`` (the features after the second pool ``.detach()``-ed in
  ``forward``: only fc1 learns, the two kaiming-initialized convs stay as drawn).

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after
the last epoch, before ``check_accuracy``.

``CASES`` (program "alpinit"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10 (seed 1), x100 (seeds 1 and 2), x1000, /1000; N(0, 1) weights in ``initialize_weights`` (init_large);
constant 0 weights (symmetric_init); ``optimizer.zero_grad()`` left out; softmax before CrossEntropyLoss
(wrong_loss); the convs detached (no_gradient); and two changes expected harmless: lr x2 (cause lr_high) and
``initialize_weights`` not called (PyTorch's default init; cause "healthy").  Upstream does not clip, so there is no
clipping case.  Tried before the recording and left out as they came out between the labels' rules (ambiguous):
raw 0..255 pixels (seed 1: first losses ~270, largest 467, test accuracy 0.950: trains, but its losses blow past
2x the control's largest) and N(0, 1e-3) weights (init_small; 0.925, 3.9 points below its control, loss stuck at
2.30 for the first epochs).  The detached convs (0.953) were tried too and kept as a change expected harmless.
Labels come from run.py's outcome rules only.

Recorded (cases-public45, 15 cases in 137 s, 3-14 s a run on a shared 2-core machine): healthy test accuracy 0.964,
0.964, 0.972 on seeds 1-3 (training loss 2.30-2.37 -> 0.03-0.05, largest loss 2.43-2.64, every loss finite).
Broken: lr x100 (0.1) 0.083 and 0.100 (seeds 1, 2; first losses ~8 and ~3.6, peaks 25 and 8.5, training loss stuck
at 2.31); x1000 (1.0) 0.081 (first losses ~1.2e3, peak 6.0e3, training loss 2.36); /1000 (1e-6) 0.086 (loss 2.71 ->
2.62); N(0, 1) weights 0.700 (first losses ~140, peak 169, training loss 4.3); zero weights 0.081 (loss stays at
2.30); ``optimizer.zero_grad()`` left out 0.733 (training loss 0.68); softmax before CrossEntropyLoss 0.781
(training loss 2.28 -> 1.66).  Healthy: lr x10 (0.01) 0.986 (training loss 0.0004); lr x2 0.972; the convs
detached 0.953 (only fc1 learns, training loss 0.20: random kaiming conv features are enough for the digits);
``initialize_weights`` not called 0.969.  Labels: 7 healthy (3 programs, 4 variants), 8 broken, 0 ambiguous; no
run had a non-finite loss.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn  # All neural network modules, nn.Linear, nn.Conv2d, BatchNorm, Loss functions
import torch.nn.functional as F  # All functions that don't have any parameters
from mnist import digits28
from torch import optim  # For optimizers like SGD, Adam, etc.
from torch.utils.data import DataLoader, TensorDataset  # Gives easier dataset managment by creating mini batches etc.

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(model, optimizer, every=10) right after the optimizer is built; monitor.step(loss) right after "
              "loss.backward() (optimizer.zero_grad() comes before it, upstream's order), before optimizer.step()")


class CNN(nn.Module):
    def __init__(self, in_channels, num_classes, init="kaiming", freeze_convs=False):
        super(CNN, self).__init__()  # noqa: UP008
        self.conv1 = nn.Conv2d(
            in_channels=in_channels,
            out_channels=6,
            kernel_size=(3, 3),
            stride=(1, 1),
            padding=(1, 1),
        )
        self.pool = nn.MaxPool2d(kernel_size=(2, 2), stride=(2, 2))
        self.conv2 = nn.Conv2d(
            in_channels=6,
            out_channels=16,
            kernel_size=(3, 3),
            stride=(1, 1),
            padding=(1, 1),
        )
        self.fc1 = nn.Linear(16 * 7 * 7, num_classes)
        self.init, self.freeze_convs = init, freeze_convs
        if init != "none":  # the variant init="none": initialize_weights() not called (PyTorch's default init)
            self.initialize_weights()

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = self.pool(x)
        x = F.relu(self.conv2(x))
        x = self.pool(x)
        x = x.reshape(x.shape[0], -1)
        if self.freeze_convs:  # the no_gradient variant: the conv features detached, no gradient reaches the convs
            x = x.detach()
        x = self.fc1(x)

        return x

    def _init_weight(self, w):
        if self.init == "kaiming":  # upstream
            nn.init.kaiming_uniform_(w)
        elif self.init == "std1":  # init_large
            nn.init.normal_(w, 0.0, 1.0)
        elif self.init == "std1e-3":  # init_small
            nn.init.normal_(w, 0.0, 1e-3)
        elif self.init == "zeros":  # symmetric_init
            nn.init.constant_(w, 0)
        else:
            raise ValueError(self.init)

    def initialize_weights(self):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                self._init_weight(m.weight)  # upstream: nn.init.kaiming_uniform_(m.weight)

                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)

            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

            elif isinstance(m, nn.Linear):
                self._init_weight(m.weight)  # upstream: nn.init.kaiming_uniform_(m.weight)
                nn.init.constant_(m.bias, 0)


# Set device (upstream: cuda when available)
device = torch.device("cpu")

# Hyperparameters (pytorch_simple_CNN.py's)
in_channels = 1
num_classes = 10
learning_rate = 0.001
batch_size = 64
num_epochs = 20  # simple_CNN: 3 (of MNIST's 938 steps); see the docstring


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
            x = x.to(device=device)
            y = y.to(device=device)

            scores = model(x)
            _, predictions = scores.max(1)
            num_correct += (predictions == y).sum()
            num_samples += predictions.size(0)

    model.train()
    return float(num_correct) / float(num_samples)


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init: str = "kaiming",
          zero_grad: bool = True, softmax: bool = False, freeze_convs: bool = False, epochs: int = num_epochs,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    t0 = time.time()

    # Load Data (MNIST -> scikit-learn's digits upsampled to 28x28, as ToTensor gives them: [0, 1])
    train_dataset, test_dataset = to_tensor(raw_pixels)
    train_loader = DataLoader(dataset=train_dataset, batch_size=batch_size, shuffle=True)
    test_loader = DataLoader(dataset=test_dataset, batch_size=batch_size, shuffle=True)

    # Initialize network
    model = CNN(in_channels=in_channels, num_classes=num_classes, init=init, freeze_convs=freeze_convs).to(device)

    # Loss and optimizer
    criterion = nn.CrossEntropyLoss()
    lr = learning_rate * lr_mult
    optimizer = optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    losses: list[float] = []
    # Train Network
    for epoch in range(epochs):
        for batch_idx, (data, targets) in enumerate(train_loader):  # noqa: B007
            # Get data to cuda if possible
            data = data.to(device=device)
            targets = targets.to(device=device)

            # forward
            scores = model(data)
            if softmax:  # the wrong_loss bug: probabilities fed to CrossEntropyLoss, which expects logits
                scores = F.softmax(scores, dim=1)
            loss = criterion(scores, targets)
            losses.append(loss.item())

            # backward
            if zero_grad:  # the bug when False: optimizer.zero_grad() left out, the gradients accumulate
                optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic

            # gradient descent or adam step
            optimizer.step()
        if verbose:
            print(f"epoch {epoch}: mean loss {np.mean(losses[-len(train_loader):]):.4f} ({time.time() - t0:.1f}s)",
                  flush=True)

    monitor.close()
    test_acc = check_accuracy(test_loader, model)
    train_acc = check_accuracy(train_loader, model)
    if verbose:
        print(f"test accuracy {test_acc:.4f}, train accuracy {train_acc:.4f}, steps {len(losses)}, "
              f"{time.time() - t0:.1f}s")
    finite = [v for v in losses if np.isfinite(v)]
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": test_acc, "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"train_acc": train_acc, "train_loss": float(np.mean(losses[-20:])),
                      "first_loss": float(np.mean(losses[:5])), "max_loss": float(max(finite, default=np.nan)),
                      "finite_losses": bool(np.isfinite(losses).all()), "steps": len(losses), "lr": lr,
                      "epochs": epochs, "lr_mult": lr_mult, "raw_pixels": raw_pixels, "init": init,
                      "zero_grad": zero_grad, "softmax": softmax, "freeze_convs": freeze_convs},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="alpinit", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = ("CNN of pytorch_init_weights.py (Conv(1, 6, 3)-ReLU-MaxPool-Conv(6, 16, 3)-ReLU-MaxPool-Linear(784, 10), "
      "initialize_weights: kaiming_uniform_ weights, zero biases), inputs in [0, 1], CrossEntropyLoss, Adam lr 0.001, "
      f"batch 64 shuffled, {num_epochs} epochs = {num_epochs * 23} steps, no clipping")
CASES: list[dict] = (
    [_case(f"alpinit_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"alpinit_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({learning_rate * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("alpinit_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 (1e-06)")]
    + [_case("alpinit_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_P}: initialize_weights draws every Conv2d and Linear weight from normal_(0, 1) instead of "
             "kaiming_uniform_ (biases still zero)")]
    + [_case("alpinit_zero_init_s1", "symmetric_init", 1, {"init": "zeros"},
             f"{_P}: initialize_weights sets every Conv2d and Linear weight to constant_(0) instead of "
             "kaiming_uniform_ (biases zero too)")]
    + [_case("alpinit_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out of the loop (the gradients accumulate)")]
    + [_case("alpinit_softmax_ce_s1", "wrong_loss", 1, {"softmax": True},
             f"{_P}: F.softmax(scores, dim=1) fed to nn.CrossEntropyLoss (which expects logits)")]
    + [_case("alpinit_detach_convs_s1", "no_gradient", 1, {"freeze_convs": True},
             f"{_P}: the conv features .detach()-ed before fc1 (no gradient reaches conv1, conv2)")]
    + [_case("alpinit_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: Adam lr x2 (0.002)")]
    + [_case("alpinit_default_init_s1", "healthy", 1, {"init": "none"},
             f"{_P}: initialize_weights() not called (PyTorch's default init)")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = (float(v) if k == "lr_mult" else int(v) if k in ("epochs", "seed") else v if k == "init"
                 else v == "1")
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k not in ("monitors", "extra")}, r["extra"])
