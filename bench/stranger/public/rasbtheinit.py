"""Sebastian Raschka's deeplearning-models small CNN with He (Kaiming) init (SGD, digits), watched by gradmedic.

Adapted from https://github.com/rasbt/deeplearning-models (commit 18e046926551378cd691fd871dda0f21dcd272ab,
pytorch_ipynb/cnn/cnn-he-init.ipynb, last changed in fc8affbce3b69d9a9d02ab9c9f52354a26fd740b; MIT License,
Copyright (c) 2019-2022 Sebastian Raschka, see LICENSE-rasbtheinit), the notebook's code cells.  Kept as in the
notebook: ``ConvNet`` (copied below: 28x28x1 -> ``conv_1`` 3x3, 4 channels, padding 1 -> ReLU -> ``pool_1``
MaxPool 2x2 -> ``conv_2`` 3x3, 8 channels, padding 1 -> ReLU -> ``pool_2`` MaxPool 2x2 -> ``linear_1`` 7*7*8 -> 10;
``forward`` returns ``logits, probas``), its init loop (``nn.init.kaiming_normal_`` on every Conv2d and Linear
weight, every bias zero, through ``.detach()``), ``torch.manual_seed(random_seed)`` right before the model is
built, ``torch.optim.SGD(model.parameters(), lr=learning_rate)`` with learning_rate = 0.05 (no momentum),
batch_size = 128 with a shuffled training loader and an unshuffled test loader, inputs in [0, 1] (``ToTensor``; no
Normalize), the loop (``model = model.train()``, ``logits, probas = model(features)``, ``cost =
F.cross_entropy(logits, targets)``, ``optimizer.zero_grad()``, ``cost.backward()``, ``optimizer.step()``), the
per-epoch ``compute_accuracy`` over the (shuffled) training loader after ``model = model.eval()`` (kept: it draws
from the global RNG through the shuffled loader, as in the notebook; the notebook runs it without ``no_grad``, here
under ``torch.no_grad()``, which changes no number; its last value goes to ``extra``), and the test accuracy from
``compute_accuracy`` on the test loader (argmax of ``probas``) as the metric (a fraction here, not a percentage).

Changed to run offline on one CPU thread: MNIST is scikit-learn's ``load_digits`` (no download, no torchvision):
the 8x8 images divided by 16 into [0, 1] and bilinearly upsampled to 1x28x28 (``F.interpolate``, clamped to
[0, 1]: ``digits28(raw_pixels=True)`` of mnist.py, whose 0..255 values are divided by 255 as ``ToTensor`` does), so
the two 2x2 pools give the 7x7x8 map ``linear_1`` expects; split 1437 training / 360 test (``train_test_split``,
random_state 0); NUM_EPOCHS = 40 epochs of 12 batches (480 steps) instead of 10 epochs over MNIST's 60000 images
(4690 steps); ``device`` is the CPU; the dataset shape check, the per-50-batch and timing prints are left out;
``torch.manual_seed(seed)`` also before the data loaders are built (the notebook does not seed the loaders); the
run's seed replaces random_seed = 1.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(cost)`` right after ``cost.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the last epoch.

``CASES`` (program "rasbtheinit"): the program on seeds 1-3, and one change each against the same seed's healthy
run: SGD lr x10, x100 (seeds 1 and 2), /1000; raw 0..255 pixel values (no ``ToTensor`` scaling); every Conv2d and
Linear weight ``normal_(0, 1)`` instead of the He init; every weight ``normal_(0, 1e-3)``; every weight zero (biases
stay zero in all three); ``optimizer.zero_grad()`` left out; and lr x2 (0.1, expected harmless).  Labels come from
run.py's outcome rules only.
Recorded (cases-public54; the 12 runs in about 120 s, 6-16 s a run on a shared 2-core machine): healthy test
accuracy 0.956, 0.950, 0.956 on seeds 1-3 (loss 2.26-2.34 over the first 5 steps -> 0.062-0.077, largest
2.38-3.04, every loss finite, training accuracy 0.973-0.982); lr x10 (0.5): the loss goes to 2.30 and stays there
(largest 2.61), 0.081: broken; lr x100 (5): the same, 0.111 and 0.114 (largest 2.64 and 2.94): broken; lr /1000
(5e-5): training loss 2.37 -> 2.36, 0.083: broken; raw 0..255 pixels: first losses ~28, largest 104, training loss
0.58, 0.708: broken; weights normal_(0, 1): first losses ~12, largest 51.5, then stuck at 2.30, 0.081: broken;
weights normal_(0, 1e-3): the loss stays at 2.30, 0.081: broken; zero weights: the loss stays at 2.30, 0.081:
broken; optimizer.zero_grad() left out: the loss rises to 3.44 and ends at 2.8, 0.083: broken; lr x2 (0.1): training
loss 0.024, 0.981: healthy.  Labels: 4 healthy (3 programs, 1 variant), 8 broken, 0 ambiguous; no non-finite loss
in any run.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mnist import digits28
from torch.utils.data import DataLoader, TensorDataset

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = torch.optim.SGD(...); monitor.step(cost) "
              "right after cost.backward() (F.cross_entropy on the logits, batch 128), before optimizer.step() "
              "(optimizer.zero_grad() comes before the backward, the notebook's order)")

##########################
### SETTINGS
##########################

# Hyperparameters
random_seed = 1
learning_rate = 0.05
NUM_EPOCHS = 40  # the notebook: num_epochs = 10 over MNIST's 60000 images
batch_size = 128

# Architecture
num_classes = 10


def digits_28(raw_pixels: bool = False):
    """(train, test) TensorDatasets of load_digits upsampled to 1x28x28 in [0, 1], or raw 0..255 values."""
    tr, te = digits28(raw_pixels=True)  # 0..255 values
    if raw_pixels:  # the unscaled_inputs variant: no ToTensor scaling
        return tr, te
    return (TensorDataset(tr.tensors[0] / 255.0, tr.tensors[1]),  # ToTensor: [0, 1]
            TensorDataset(te.tensors[0] / 255.0, te.tensors[1]))


##########################
### MODEL
##########################


class ConvNet(torch.nn.Module):

    def __init__(self, num_classes, init="he"):
        super(ConvNet, self).__init__()  # noqa: UP008 (as in the notebook)

        # calculate same padding:
        # (w - k + 2*p)/s + 1 = o
        # => p = (s(o-1) - w + k)/2

        # 28x28x1 => 28x28x4
        self.conv_1 = torch.nn.Conv2d(in_channels=1,
                                      out_channels=4,
                                      kernel_size=(3, 3),
                                      stride=(1, 1),
                                      padding=1) # (1(28-1) - 28 + 3) / 2 = 1
        # 28x28x4 => 14x14x4
        self.pool_1 = torch.nn.MaxPool2d(kernel_size=(2, 2),
                                         stride=(2, 2),
                                         padding=0) # (2(14-1) - 28 + 2) = 0
        # 14x14x4 => 14x14x8
        self.conv_2 = torch.nn.Conv2d(in_channels=4,
                                      out_channels=8,
                                      kernel_size=(3, 3),
                                      stride=(1, 1),
                                      padding=1) # (1(14-1) - 14 + 3) / 2 = 1
        # 14x14x8 => 7x7x8
        self.pool_2 = torch.nn.MaxPool2d(kernel_size=(2, 2),
                                         stride=(2, 2),
                                         padding=0) # (2(7-1) - 14 + 2) = 0

        self.linear_1 = torch.nn.Linear(7*7*8, num_classes)

        ###############################################
        # Reinitialize weights using He initialization
        ###############################################
        for m in self.modules():
            if isinstance(m, torch.nn.Conv2d) or isinstance(m, torch.nn.Linear):  # noqa: SIM101
                if init == "he":  # the notebook
                    nn.init.kaiming_normal_(m.weight.detach())
                elif init == "std1":  # the init_large variant
                    nn.init.normal_(m.weight.detach(), 0.0, 1.0)
                elif init == "std1e-3":  # the init_small variant
                    nn.init.normal_(m.weight.detach(), 0.0, 1e-3)
                elif init == "zero":  # the symmetric_init variant
                    nn.init.zeros_(m.weight.detach())
                else:
                    raise ValueError(init)
                m.bias.detach().zero_()

    def forward(self, x):
        out = self.conv_1(x)
        out = F.relu(out)
        out = self.pool_1(out)

        out = self.conv_2(out)
        out = F.relu(out)
        out = self.pool_2(out)

        logits = self.linear_1(out.view(-1, 7*7*8))
        probas = F.softmax(logits, dim=1)
        return logits, probas


def compute_accuracy(model, data_loader):
    correct_pred, num_examples = 0, 0
    with torch.no_grad():
        for features, targets in data_loader:
            logits, probas = model(features)
            _, predicted_labels = torch.max(probas, 1)
            num_examples += targets.size(0)
            correct_pred += (predicted_labels == targets).sum()
    return float(correct_pred.float() / num_examples)  # the notebook: * 100 (a percentage)


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init: str = "he", zero_grad: bool = True,
          num_epochs: int = NUM_EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    train_dataset, test_dataset = digits_28(raw_pixels)
    train_loader = DataLoader(dataset=train_dataset, batch_size=batch_size, shuffle=True)
    test_loader = DataLoader(dataset=test_dataset, batch_size=batch_size, shuffle=False)

    torch.manual_seed(seed)  # the notebook: torch.manual_seed(random_seed)
    model = ConvNet(num_classes=num_classes, init=init)
    lr = learning_rate * lr_mult
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)

    losses, train_acc = [], float("nan")
    for epoch in range(num_epochs):
        model = model.train()
        for features, targets in train_loader:

            ### FORWARD AND BACK PROP
            logits, probas = model(features)
            cost = F.cross_entropy(logits, targets)
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()

            cost.backward()
            monitor.step(cost)  # gradmedic

            ### UPDATE MODEL PARAMETERS
            optimizer.step()
            losses.append(float(cost.detach()))

        model = model.eval()
        train_acc = compute_accuracy(model, train_loader)
        if verbose:
            print(f"Epoch: {epoch + 1:03d}/{num_epochs:03d} loss {np.mean(losses[-12:]):.4f} training accuracy "
                  f"{train_acc:.4f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    acc = compute_accuracy(model, test_loader)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc, "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(train_loss=float(np.mean(losses[-12:])), first_loss=float(np.mean(losses[:5])),
                          max_loss=float(np.nanmax(losses)), finite_losses=bool(np.isfinite(losses).all()),
                          steps=len(losses), lr=lr, train_accuracy=train_acc, epochs=num_epochs, lr_mult=lr_mult,
                          raw_pixels=raw_pixels, init=init, zero_grad=zero_grad, test_images=len(test_dataset)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="rasbtheinit", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = (f"CNN conv3x3(4)-pool-conv3x3(8)-pool-Linear(392, 10), kaiming_normal_ weights and zero biases, F.cross_entropy, "
      f"SGD lr {learning_rate:g}, batch {batch_size} shuffled, {NUM_EPOCHS} epochs = {NUM_EPOCHS * 12} steps, "
      "28x28 inputs in [0, 1]")
CASES: list[dict] = (
    [_case(f"rasbtheinit_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"rasbtheinit_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({learning_rate * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("rasbtheinit_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3},
             f"{_P}: lr /1000 ({learning_rate * 1e-3:g})")]
    + [_case("rasbtheinit_raw_pixels_s1", "unscaled_inputs", 1, {"raw_pixels": True},
             f"{_P}: raw 0..255 pixel values (no ToTensor scaling)")]
    + [_case("rasbtheinit_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_P}: every Conv2d and Linear weight normal_(0, 1) instead of kaiming_normal_ (biases zero)")]
    + [_case("rasbtheinit_init_std1e-3_s1", "init_small", 1, {"init": "std1e-3"},
             f"{_P}: every Conv2d and Linear weight normal_(0, 1e-3) instead of kaiming_normal_ (biases zero)")]
    + [_case("rasbtheinit_zero_init_s1", "symmetric_init", 1, {"init": "zero"},
             f"{_P}: every Conv2d and Linear weight zeros_ instead of kaiming_normal_ (biases zero)")]
    + [_case("rasbtheinit_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("rasbtheinit_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: lr x2 ({learning_rate * 2:g})")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
