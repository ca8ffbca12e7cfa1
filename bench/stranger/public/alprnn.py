"""Aladdin Persson's RNN / GRU / LSTM basics (many-to-one over the image rows, a Linear on all time steps) on digits,
watched by gradmedic.

Adapted from https://github.com/aladdinpersson/Machine-Learning-Collection (commit
e6c7f42c46a6414f12b2d8820e00e4474be7bbd8, ML/Pytorch/Basics/pytorch_rnn_gru_lstm.py; MIT License, Copyright (c)
2020 Aladdin Persson, see LICENSE-alprnn).  The script has module-level code; here its body is ``run`` whose lines
are upstream's in upstream's order, and ``train(cell=...)`` picks the class.

Kept as in the original: the classes ``RNN`` (``nn.RNN``, tanh), ``RNN_GRU`` (``nn.GRU``) and ``RNN_LSTM``
(``nn.LSTM``), each 2 layers, ``batch_first=True``, zero ``h0`` (and ``c0``), and ``fc = nn.Linear(hidden_size *
sequence_length, num_classes)`` reading the outputs of all 28 time steps flattened (``out.reshape(out.shape[0],
-1)``); PyTorch's default init (upstream sets none); input_size 28 and sequence_length 28 (one image row per step,
``data.squeeze(1)``), ``nn.CrossEntropyLoss``, ``optim.Adam(lr=0.005)``, batch 64, the training DataLoader shuffled,
the loop (forward, loss, ``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``, no clipping, no
scheduler), and ``check_accuracy`` (``model.eval()``, ``torch.no_grad()``, ``scores.max(1)``) on the test set;
inputs in [0, 1] as ``ToTensor`` gives them, not normalized, as upstream.

Changed to run offline on one CPU thread (torchvision does not import here):
- MNIST is mnist.py's ``digits28`` (scikit-learn's ``load_digits``, split 80/20 with random_state=0, upsampled
  bilinearly to 28x28) with its raw 0..255 values divided by 255 as ``ToTensor`` does: 1437 training images (23
  steps of 64 per epoch) and 360 test images.  8 epochs (184 steps); upstream: 3 epochs of 938 steps.
- hidden_size 64 instead of 256 (so fc reads 28*64 = 1792 features instead of 7168), for speed on one thread.
- upstream instantiates ``RNN_LSTM`` ("try out just using simple RNN, or GRU, and then compare with LSTM"); here
  the GRU is the main program (three seeds) and the plain RNN and the LSTM are run on seed 1.
- ``device`` is the CPU; ``torch.manual_seed(seed)`` (upstream does not seed); ``torch.set_flush_denormal(True)``
  (speed only); no tqdm; no accuracy on the training set; the test loader not shuffled (accuracy is the same);
  the bugs of the variants (``lr_mult``, ``raw_pixels``, ``init_std``) as in ``train``'s docstring.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after
the loop.  Metric: the test accuracy on the 360 held-out images (chance 0.1).

``CASES`` (all of program "alprnn"; name prefixes alpgru, alprnn, alplstm; run.py finds a variant's control as the
first "_" token of its name + "_healthy_s<seed>"): the GRU on seeds 1-3, the RNN and the LSTM on seed 1, and one
change each against the same model's and seed's healthy run: GRU lr x10, x100 (seeds 1 and 2), /1000 and raw
0..255 pixels; RNN (tanh) lr x10; LSTM lr x10 and N(0, 1) on every weight (LSTM and fc; biases kept).

Recorded (cases-public15, 97 s in all, 3-13 s a run): GRU healthy 0.969, 0.975, 0.961 on seeds 1-3 (training loss
2.08 -> 0.03-0.05), RNN healthy 0.933, LSTM healthy 0.967.  Broken: GRU lr x100 0.100 and 0.111 (seeds 1, 2; losses
in the hundreds), GRU lr /1000 0.081 (loss stays at 2.28), RNN lr x10 0.097 (loss 25 -> 52), LSTM N(0, 1) init
0.481 (first losses ~26).  Ambiguous: GRU lr x10 0.872 and LSTM lr x10 0.878 (they recover to training loss ~0.33
after first losses of 15-20, but end 9 points below the control and under 0.9); GRU raw 0..255 pixels 0.917 (a
good outcome, but 5 points below its control's 0.969).
"""

# upstream's code is kept as written (super(Class, self))
# ruff: noqa: UP008, N801

from __future__ import annotations

import time

import numpy as np
import torch
from mnist import digits28
from torch import nn, optim
from torch.utils.data import DataLoader

import gradmedic

ARCH = "gru"
MONITOR_AT = ("watch(model, optimizer, every=10) right after the optimizer is built; monitor.step(loss) right after "
              "loss.backward(), before optimizer.step()")

# Set device (upstream: cuda when available)
device = torch.device("cpu")

# Hyperparameters
input_size = 28
hidden_size = 64  # upstream: 256
num_layers = 2
num_classes = 10
sequence_length = 28
learning_rate = 0.005
batch_size = 64
num_epochs = 8  # upstream: 3 epochs of MNIST's 938 steps


# Recurrent neural network (many-to-one)
class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers, num_classes):
        super(RNN, self).__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.rnn = nn.RNN(input_size, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size * sequence_length, num_classes)

    def forward(self, x):
        # Set initial hidden and cell states
        h0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size).to(device)

        # Forward propagate LSTM
        out, _ = self.rnn(x, h0)
        out = out.reshape(out.shape[0], -1)

        # Decode the hidden state of the last time step
        out = self.fc(out)
        return out


# Recurrent neural network with GRU (many-to-one)
class RNN_GRU(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers, num_classes):
        super(RNN_GRU, self).__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.gru = nn.GRU(input_size, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size * sequence_length, num_classes)

    def forward(self, x):
        # Set initial hidden and cell states
        h0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size).to(device)

        # Forward propagate LSTM
        out, _ = self.gru(x, h0)
        out = out.reshape(out.shape[0], -1)

        # Decode the hidden state of the last time step
        out = self.fc(out)
        return out


# Recurrent neural network with LSTM (many-to-one)
class RNN_LSTM(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers, num_classes):
        super(RNN_LSTM, self).__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size * sequence_length, num_classes)

    def forward(self, x):
        # Set initial hidden and cell states
        h0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size).to(device)
        c0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size).to(device)

        # Forward propagate LSTM
        out, _ = self.lstm(
            x, (h0, c0)
        )  # out: tensor of shape (batch_size, seq_length, hidden_size)
        out = out.reshape(out.shape[0], -1)

        # Decode the hidden state of the last time step
        out = self.fc(out)
        return out


CELLS = {"rnn": RNN, "gru": RNN_GRU, "lstm": RNN_LSTM}


def to_tensor(raw_pixels):
    """digits28(raw_pixels=True)'s 0..255 values divided by 255 as ToTensor does (no Normalize, as upstream)."""
    train, test = digits28(raw_pixels=True)
    if raw_pixels:  # the bug: 0..255 pixel values straight into the network
        return train, test
    return tuple(torch.utils.data.TensorDataset(d.tensors[0] / 255.0, d.tensors[1]) for d in (train, test))


# Check accuracy on training & test to see how good our model
def check_accuracy(loader, model):
    num_correct = 0
    num_samples = 0

    # Set model to eval
    model.eval()

    with torch.no_grad():
        for x, y in loader:
            x = x.to(device=device).squeeze(1)
            y = y.to(device=device)

            scores = model(x)
            _, predictions = scores.max(1)
            num_correct += (predictions == y).sum()
            num_samples += predictions.size(0)

    # Toggle model back to train
    model.train()
    return num_correct / num_samples


def run(cell, lr_mult, raw_pixels, init_std, epochs, every, verbose):
    # Load Data (MNIST -> scikit-learn's digits upsampled to 28x28, as ToTensor gives them: [0, 1])
    train_dataset, test_dataset = to_tensor(raw_pixels)
    train_loader = DataLoader(dataset=train_dataset, batch_size=batch_size, shuffle=True)
    test_loader = DataLoader(dataset=test_dataset, batch_size=batch_size, shuffle=False)

    # Initialize network (try out just using simple RNN, or GRU, and then compare with LSTM)
    model = CELLS[cell](input_size, hidden_size, num_layers, num_classes).to(device)
    if init_std is not None:  # the bug: every weight (recurrent and fc) drawn from N(0, init_std), biases kept
        for name, p in model.named_parameters():
            if "weight" in name:
                nn.init.normal_(p, 0.0, init_std)

    # Loss and optimizer
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=learning_rate * lr_mult)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    losses = []

    # Train Network
    for epoch in range(epochs):
        for batch_idx, (data, targets) in enumerate(train_loader):  # noqa: B007 (upstream)
            # Get data to cuda if possible
            data = data.to(device=device).squeeze(1)
            targets = targets.to(device=device)

            # forward
            scores = model(data)
            loss = criterion(scores, targets)

            # backward
            optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic

            # gradient descent update step/adam step
            optimizer.step()
            losses.append(loss.item())
        if verbose:
            print(f"epoch {epoch + 1}/{epochs} loss {np.mean(losses[-len(train_loader):]):.4f}")
    monitor.close()

    acc = float(check_accuracy(test_loader, model))
    if verbose:
        print(f"Accuracy on test set: {acc * 100:.2f}")
    return monitor, losses, acc


def train(seed: int = 1, cell: str = "gru", lr_mult: float = 1.0, raw_pixels: bool = False,
          init_std: float | None = None, epochs: int = num_epochs, every: int = 10, verbose: bool = False) -> dict:
    """Model ``cell`` (rnn, gru, lstm) with one change per keyword: ``lr_mult`` scales Adam's lr 0.005;
    ``raw_pixels`` feeds the 0..255 values (no ``ToTensor`` scaling); ``init_std`` draws every weight (the
    recurrent layers' and fc's) from N(0, init_std) instead of PyTorch's default (biases kept)."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    torch.manual_seed(seed)
    t0 = time.time()
    monitor, losses, acc = run(cell, lr_mult, raw_pixels, init_std, epochs, every, verbose)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc), "chance": 0.1, "initial": None,
            "initial_what": None,
            "extra": {"cell": cell, "train_loss": float(np.mean(losses[-20:])),
                      "first_loss": float(np.mean(losses[:5])), "steps": len(losses), "epochs": epochs,
                      "hidden_size": hidden_size, "lr_mult": lr_mult, "test_images": 360},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="alprnn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_W = {"gru": "RNN_GRU (2-layer nn.GRU, hidden 64, fc on all 28 steps)",
      "rnn": "RNN (2-layer tanh nn.RNN, hidden 64, fc on all 28 steps)",
      "lstm": "RNN_LSTM (2-layer nn.LSTM, hidden 64, fc on all 28 steps)"}
_T = "Adam lr 0.005, batch 64, 8 epochs of 23 steps, inputs in [0, 1], no clipping"
CASES: list[dict] = (
    [_case(f"alpgru_healthy_s{s}", "healthy", s, {"cell": "gru"}, f"{_W['gru']}, {_T}: unchanged", False)
     for s in (1, 2, 3)]
    + [_case(f"alp{c}_healthy_s1", "healthy", 1, {"cell": c}, f"{_W[c]}, {_T}: unchanged", False)
       for c in ("rnn", "lstm")]
    + [_case(f"alpgru_lr_x{k}_s{s}", "lr_high", s, {"cell": "gru", "lr_mult": k},
             f"{_W['gru']}, {_T}: Adam lr x{k} ({0.005 * k:g})") for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case(f"alp{c}_lr_x10_s1", "lr_high", 1, {"cell": c, "lr_mult": 10},
             f"{_W[c]}, {_T}: Adam lr x10 (0.05)") for c in ("rnn", "lstm")]
    + [_case("alpgru_lr_div1000_s1", "lr_low", 1, {"cell": "gru", "lr_mult": 1e-3},
             f"{_W['gru']}, {_T}: Adam lr /1000 (5e-06)")]
    + [_case("alpgru_raw_pixels_s1", "unscaled_inputs", 1, {"cell": "gru", "raw_pixels": True},
             f"{_W['gru']}, {_T}: raw 0..255 pixel values (no ToTensor scaling)")]
    + [_case("alplstm_init_std1_s1", "init_large", 1, {"cell": "lstm", "init_std": 1.0},
             f"{_W['lstm']}, {_T}: nn.init.normal_(std=1.0) on every weight (weight_ih/weight_hh of both LSTM layers "
             "and fc.weight) instead of PyTorch's default uniform init (biases kept)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
