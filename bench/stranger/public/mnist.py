"""pytorch/examples mnist (Net, Adadelta lr 1.0, StepLR gamma 0.7), watched by gradmedic.

Adapted from https://github.com/pytorch/examples (commit 77f55b912142e11fcfdf5b530231fb9c52f181e8,
mnist/main.py; BSD 3-Clause, Copyright (c) 2017, Pytorch contributors, see
LICENSE-pytorch-examples).  Kept as in the original: ``Net`` (copied below), ``train`` (zero_grad,
nll_loss, backward, step) and ``test``, Adadelta(lr=1.0), StepLR(step_size=1, gamma=0.7) stepped per
epoch, batch 64, test batch 1000, the CPU path's DataLoader without shuffling, inputs scaled to
[0, 1] then normalized by the training set's mean and std (the original's (0.1307,), (0.3081,)).

Changed to run offline without torchvision: the data is scikit-learn's ``load_digits`` (1797 8x8
images, 0..16), split 80/20 (random_state=0), scaled to [0, 1] by /16 (ToTensor's /255) and upsampled
to 28x28 with ``F.interpolate(mode="bilinear")`` so that ``Net``'s fc1 (9216 inputs) is unchanged;
4 epochs (original 14) over 1437 training images.

The watch: ``gradmedic.watch(model, optimizer, every=10)``, ``monitor.step(loss)`` after
``loss.backward()``.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR

import gradmedic


# ---- mnist/main.py Net, unchanged ----------------------------------------------------------------
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def digits28(raw_pixels: bool = False):
    """(train, test) TensorDatasets of digits upsampled to 1x28x28: normalized, or raw 0..255 values."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)

    def up(x):
        x = torch.tensor(x, dtype=torch.float32)[:, None] / 16.0  # ToTensor: [0, 1]
        return F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False).clamp(0, 1)

    xtr, xte = up(xtr), up(xte)
    if raw_pixels:  # the bug: 0..255 pixel values straight into the network, no ToTensor scaling, no Normalize
        xtr, xte = xtr * 255.0, xte * 255.0
    else:  # transforms.Normalize((mean,), (std,)) with the training set's statistics
        mean, std = xtr.mean().item(), xtr.std().item()
        xtr, xte = (xtr - mean) / std, (xte - mean) / std
    return (torch.utils.data.TensorDataset(xtr, torch.tensor(ytr)),
            torch.utils.data.TensorDataset(xte, torch.tensor(yte)))


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, zero_layer: str | None = None,
          epochs: int = 4, every: int = 10, verbose: bool = False, zero_grad: bool = True) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only: denormal floats (e.g. in saturated LSTM gates) are 10x slower
    torch.manual_seed(seed)
    device = torch.device("cpu")
    dataset1, dataset2 = digits28(raw_pixels)
    train_loader = torch.utils.data.DataLoader(dataset1, batch_size=64)
    test_loader = torch.utils.data.DataLoader(dataset2, batch_size=1000)

    model = Net().to(device)
    if zero_layer:  # the bug: nn.init.zeros_ on a layer's weight and bias
        nn.init.zeros_(getattr(model, zero_layer).weight)
        nn.init.zeros_(getattr(model, zero_layer).bias)
    optimizer = optim.Adadelta(model.parameters(), lr=1.0 * lr_mult)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    monitor = gradmedic.watch(model, optimizer, every=every)
    losses = []

    def train_epoch():
        model.train()
        for batch_idx, (data, target) in enumerate(train_loader):
            data, target = data.to(device), target.to(device)
            if zero_grad:  # (the no_zero_grad case leaves it out, as people forget it)
                optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())

    def test():
        model.eval()
        test_loss = 0
        correct = 0
        with torch.no_grad():
            for data, target in test_loader:
                data, target = data.to(device), target.to(device)
                output = model(data)
                test_loss += F.nll_loss(output, target, reduction='sum').item()
                pred = output.argmax(dim=1, keepdim=True)
                correct += pred.eq(target.view_as(pred)).sum().item()
        test_loss /= len(test_loader.dataset)
        return test_loss, correct / len(test_loader.dataset)

    t0 = time.time()
    for epoch in range(1, epochs + 1):
        train_epoch()
        test_loss, acc = test()
        if verbose:
            print(f"epoch {epoch} train {np.mean(losses[-10:]):.4f} test {test_loss:.4f} acc {acc:.3f} {time.time() - t0:.1f}s")
        scheduler.step()
    monitor.close()
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc), "chance": 0.1,
            "initial": None, "extra": {"test_loss": test_loss, "train_loss": float(np.mean(losses[-20:])),
                                       "steps": len(losses)},
            "seconds": time.time() - t0}


if __name__ == "__main__":
    import sys
    kw = {"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
