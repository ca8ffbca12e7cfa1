"""pytorch/examples mnist_rnn (an LSTM over the image's rows, Adadelta lr 0.1, StepLR 0.7), watched by gradmedic.

Adapted from https://github.com/pytorch/examples (commit 77f55b912142e11fcfdf5b530231fb9c52f181e8,
mnist_rnn/main.py; BSD 3-Clause, Copyright (c) 2017, Pytorch contributors, see LICENSE-pytorch-examples).
Kept as in the original: ``Net`` (copied below: LSTM(28, 64, batch_first) over the 28 rows of 28 pixels, the
last output through BatchNorm1d(64), Dropout2d(0.25), fc1 64 -> 32, relu, Dropout2d(0.5), fc2 32 -> 10,
log_softmax), ``train`` (zero_grad, nll_loss, backward, step) and ``test``, Adadelta(lr=0.1), StepLR(step_size=1,
gamma=0.7) stepped per epoch, batch 64 with shuffling, test batch 1000, inputs scaled to [0, 1] and normalized.
The original does not clip gradients (so there is no "no clipping" variant).

Changed to run offline without torchvision: the data is mnist.py's ``digits28`` (scikit-learn's ``load_digits``,
1797 8x8 images 0..16, split 80/20 with random_state=0, /16 to [0, 1], upsampled to 28x28 bilinearly so that
``Net``'s 28 rows of 28 pixels are unchanged, normalized by the training set's mean and std in place of
(0.1307,), (0.3081,)); 1437 training images, so an epoch is 42 shuffled passes over them (60354 images, 944
steps; MNIST's 60000 make 938), and the run is 2 epochs (original 14; 1888 steps).  An epoch of 23 steps (one
pass) leaves Adadelta at lr 0.1, decayed 0.7x an epoch, at 39% test accuracy after 14 epochs (8 passes: 75%);
a full-length epoch reaches 92% after one.  Dropout2d's warning about its 2-D input (the original's) is silenced.

The watch: ``gradmedic.watch(model, optimizer, every=10)``, ``monitor.step(loss)`` after ``loss.backward()``.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from mnist import digits28
from torch.optim.lr_scheduler import StepLR

import gradmedic


# ---- mnist_rnn/main.py Net, unchanged -----------------------------------------------------------
class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()  # noqa: UP008 (as upstream wrote it)
        self.rnn = nn.LSTM(input_size=28, hidden_size=64, batch_first=True)
        self.batchnorm = nn.BatchNorm1d(64)
        self.dropout1 = nn.Dropout2d(0.25)
        self.dropout2 = nn.Dropout2d(0.5)
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, input):
        # Shape of input is (batch_size,1, 28, 28)
        # converting shape of input to (batch_size, 28, 28)
        # as required by RNN when batch_first is set True
        input = input.reshape(-1, 28, 28)
        output, hidden = self.rnn(input)

        # RNN output shape is (seq_len, batch, input_size)
        # Get last output of RNN
        output = output[:, -1, :]
        output = self.batchnorm(output)
        output = self.dropout1(output)
        output = self.fc1(output)
        output = F.relu(output)
        output = self.dropout2(output)
        output = self.fc2(output)
        output = F.log_softmax(output, dim=1)
        return output


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, zero_layer: str | None = None,
          epochs: int = 2, repeat: int = 42, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only: denormal floats (e.g. in saturated LSTM gates) are 10x slower
    warnings.filterwarnings("ignore", message=".*dropout2d.*", category=UserWarning)
    torch.manual_seed(seed)
    device = torch.device("cpu")
    dataset1, dataset2 = digits28(raw_pixels)  # raw_pixels, the bug: 0..255 values, no scaling, no Normalize
    dataset1 = torch.utils.data.ConcatDataset([dataset1] * repeat)  # an epoch: 42 passes, 60354 images (MNIST: 60000)
    train_loader = torch.utils.data.DataLoader(dataset1, batch_size=64, shuffle=True)
    test_loader = torch.utils.data.DataLoader(dataset2, batch_size=1000, shuffle=True)

    model = Net().to(device)
    if zero_layer:  # the bug: nn.init.zeros_ on every parameter of one layer (fc1, or the LSTM's weights and biases)
        for p in getattr(model, zero_layer).parameters():
            nn.init.zeros_(p)
    optimizer = optim.Adadelta(model.parameters(), lr=0.1 * lr_mult)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    monitor = gradmedic.watch(model, optimizer, every=every)
    losses = []

    def train_epoch():
        model.train()
        for batch_idx, (data, target) in enumerate(train_loader):  # noqa: B007 (as upstream)
            data, target = data.to(device), target.to(device)
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
                test_loss += F.nll_loss(output, target, reduction='sum').item()  # sum up batch loss
                pred = output.argmax(dim=1, keepdim=True)  # get the index of the max log-probability
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
