"""pytorch/tutorials' Spatial Transformer Networks tutorial (a localization CNN regressing a 2x3 affine ``theta``
initialized to the identity, ``F.affine_grid``/``F.grid_sample``, then the classic MNIST CNN with dropout,
``F.nll_loss`` on log-softmax outputs, plain SGD lr 0.01) on digits, watched by gradmedic.

Adapted from https://github.com/pytorch/tutorials (commit c53e7d4efc0e39e455c531d21ec7db28ba220214,
intermediate_source/spatial_transformer_tutorial.py, "Spatial Transformer Networks Tutorial" by Ghassen Hamrouni;
BSD 3-Clause License, Copyright (c) 2017-2022 Pytorch contributors, see LICENSE-pytorch-tutorials).

Kept as in the tutorial: the ``Net`` class line for line (conv1 Conv2d(1, 10, 5), conv2 Conv2d(10, 20, 5),
``conv2_drop`` Dropout2d, fc1 Linear(320, 50), fc2 Linear(50, 10); the localization network Conv2d(1, 8, 7),
MaxPool2d(2), ReLU, Conv2d(8, 10, 5), MaxPool2d(2), ReLU; ``fc_loc`` Linear(90, 32), ReLU, Linear(32, 6) with its
last layer's weight zeroed and its bias set to the identity transform [1, 0, 0, 0, 1, 0]; ``stn``:
``F.affine_grid(theta, x.size())`` and ``F.grid_sample(x, grid)`` with their default arguments; ``forward``:
stn, relu(max_pool(conv1)), relu(max_pool(conv2_drop(conv2))), view(-1, 320), relu(fc1), ``F.dropout`` (p 0.5),
fc2, ``F.log_softmax(x, dim=1)``), PyTorch's default initialization everywhere else (the tutorial sets none);
``optim.SGD(model.parameters(), lr=0.01)`` (no momentum, no weight decay, no scheduler, no clipping); the loop
(``model.train()``, zero_grad, ``output = model(data)``, ``F.nll_loss(output, target)``, backward, step) with
batch 64 and the training set shuffled each epoch; ``test()`` under ``torch.no_grad()`` after ``model.eval()``
after every epoch (the metric is the last epoch's test accuracy).

Changed:
- the data: MNIST cannot be downloaded here, so scikit-learn's ``load_digits`` upsampled to 1x28x28 (``digits28``
  from mnist.py: bilinear upsampling of the 8x8 images /16, 1437 training and 360 test images), normalized as the
  tutorial's ``transforms.Normalize((0.1307,), (0.3081,))`` normalizes MNIST, with the digits' own training-set
  mean and std; the raw 0..255 values are the ``raw_pixels`` variant.
- the size: 1437 training images give 23 steps an epoch (MNIST gives 938), so the run is 50 epochs (1150 steps)
  instead of 20 (18760 steps); a healthy run takes ~50 s on one CPU thread
  (67-75 s of wall time on the shared 2-core machine it was recorded on).
- ``device`` is the CPU; ``torch.manual_seed(seed)`` and a seeded ``torch.Generator`` for the shuffle (upstream
  does not seed); ``super().__init__()`` for ``super(Net, self).__init__()`` (ruff); no ``num_workers``; the
  test batch 360 (one batch, not shuffled); ``reduction="sum"`` for the test loss instead of the removed
  ``size_average=False``; no plots, ``visualize_stn`` or prints unless ``verbose``.
- the bugs of the variants: ``lr_mult``; ``init_std`` (``nn.init.normal_(0, std)`` on every Conv2d and Linear
  weight, fc_loc[2]'s included, whose identity bias is kept); ``identity_init=False`` (the two lines that set
  fc_loc[2] to the identity left out, so it keeps PyTorch's default init: ``theta`` starts near zero, which shrinks
  the sampling grid towards the image centre); ``raw_pixels``.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer
is built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the last epoch.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the same
seed's healthy run: SGD lr x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) on every Conv2d and Linear weight
(seeds 1 and 2); fc_loc not initialized to the identity (seeds 1 and 2); raw 0..255 pixels (seeds 1 and 2).
Labels come from run.py's outcome rules only.
Recorded (cases-public12, 679 s in all): healthy 0.978, 0.967, 0.969 test accuracy on seeds 1-3 (train loss
2.3 -> 0.2-0.3 with dropout on); broken: lr x10 (0.1) 0.553 (it trained to 0.95-0.97 by epoch 48, then fell apart
in the last two epochs, test loss 1.38; losses up to 4.0, all finite), lr x100 (0.081, 0.108) and x1000 (0.097):
the loss stays near ln 10 (largest 2.6 and 3.5, never non-finite), /1000 (0.10, train loss still 2.32), N(0, 1) init
(0.083, 0.081: initial losses ~80 and ~420, up to 1.2e3, then stuck at ln 10), raw 0..255 pixels (0.083, 0.081:
initial losses 6.3 and 4.5, then ln 10); fc_loc left at the default init: seed 2 broken (0.739 against 0.967),
seed 1 ambiguous (0.931 against 0.978: it learns, slower and noisier than with the identity start).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from mnist import digits28

import gradmedic

ARCH = "cnn"
MONITOR_AT = "monitor.step(loss) after loss.backward() (F.nll_loss on the log_softmax outputs), before optimizer.step()"


class Net(nn.Module):
    def __init__(self, identity_init: bool = True):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.conv2_drop = nn.Dropout2d()
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)

        # Spatial transformer localization-network
        self.localization = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=7),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True),
            nn.Conv2d(8, 10, kernel_size=5),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True)
        )

        # Regressor for the 3 * 2 affine matrix
        self.fc_loc = nn.Sequential(
            nn.Linear(10 * 3 * 3, 32),
            nn.ReLU(True),
            nn.Linear(32, 3 * 2)
        )

        # Initialize the weights/bias with identity transformation
        if identity_init:  # the identity_init=False variant leaves these two lines out
            self.fc_loc[2].weight.data.zero_()
            self.fc_loc[2].bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))

    # Spatial transformer network forward function
    def stn(self, x):
        xs = self.localization(x)
        xs = xs.view(-1, 10 * 3 * 3)
        theta = self.fc_loc(xs)
        theta = theta.view(-1, 2, 3)

        grid = F.affine_grid(theta, x.size())
        x = F.grid_sample(x, grid)

        return x

    def forward(self, x):
        # transform the input
        x = self.stn(x)

        # Perform the usual forward pass
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = x.view(-1, 320)
        x = F.relu(self.fc1(x))
        x = F.dropout(x, training=self.training)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def test(model, test_loader):
    with torch.no_grad():
        model.eval()
        test_loss = 0
        correct = 0
        for data, target in test_loader:
            output = model(data)

            # sum up batch loss
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            # get the index of the max log-probability
            pred = output.max(1, keepdim=True)[1]
            correct += pred.eq(target.view_as(pred)).sum().item()

        test_loss /= len(test_loader.dataset)
    return test_loss, correct / len(test_loader.dataset)


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init_std: float | None = None,
          identity_init: bool = True, epochs: int = 50, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    d_train, d_test = digits28(raw_pixels)
    g = torch.Generator()
    g.manual_seed(seed)
    train_loader = torch.utils.data.DataLoader(d_train, batch_size=64, shuffle=True, generator=g)
    test_loader = torch.utils.data.DataLoader(d_test, batch_size=len(d_test))

    model = Net(identity_init=identity_init)
    if init_std is not None:  # the bug: normal_(0, std) on every Conv2d and Linear weight
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, init_std)
    lr = 0.01 * lr_mult
    optimizer = optim.SGD(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)
    losses, accs, test_losses = [], [], []

    t0 = time.time()
    for epoch in range(1, epochs + 1):
        model.train()
        for data, target in train_loader:
            optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())
        test_loss, acc = test(model, test_loader)
        accs.append(acc)
        test_losses.append(test_loss)
        if verbose:
            print(f"epoch {epoch} train loss {np.mean(losses[-23:]):.4f} test loss {test_loss:.4f} accuracy {acc:.4f} "
                  f"({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(accs[-1]), "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"test_loss": test_losses[-1], "train_loss": float(np.mean(losses[-20:])), "steps": len(losses),
                      "lr": lr, "accuracy_by_epoch": [round(a, 4) for a in accs]},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="stn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"stn_healthy_s{s}", "healthy", s, {}, "unchanged (STN with fc_loc at the identity, SGD lr 0.01, F.nll_loss on "
           "log_softmax, batch 64, 50 epochs)", False) for s in (1, 2, 3)]
    + [_case(f"stn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"SGD lr x{k} ({0.01 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("stn_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "SGD lr /1000 (1e-05)")]
    + [_case(f"stn_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Conv2d and Linear weight (fc_loc[2]'s too; its identity bias kept) "
             "instead of PyTorch's default (kaiming_uniform_, a=sqrt(5))") for s in (1, 2)]
    + [_case(f"stn_no_identity_init_s{s}", "init_small", s, {"identity_init": False},
             "fc_loc[2] not initialized to the identity transform (weight zero_, bias [1, 0, 0, 0, 1, 0] left out): "
             "PyTorch's default Linear init, so theta starts near zero and the sampling grid shrinks to the image "
             "centre") for s in (1, 2)]
    + [_case(f"stn_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             "raw 0..255 pixel values: no ToTensor scaling, no Normalize") for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = {"True": True, "False": False}.get(v, float(v) if "." in v or "e" in v else int(v))
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
