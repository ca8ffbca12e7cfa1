"""Aladdin Persson's bidirectional LSTM on MNIST rows (2 layers, Linear on the last time step) on digits, watched by
gradmedic.

Adapted from https://github.com/aladdinpersson/Machine-Learning-Collection (commit
28bd89ea9c07db15ebaa232328a53e03614b1c88, ML/Pytorch/Basics/pytorch_bidirectional_lstm.py, "2020-05-09 Initial
coding"; MIT License, Copyright (c) 2020 Aladdin Persson, see LICENSE-alpbilstm).  The script has module-level code;
here its body is ``train``, its lines in upstream's order.

Kept as in the original: the ``BRNN`` class (``nn.LSTM(input_size, hidden_size, num_layers, batch_first=True,
bidirectional=True)``, zero ``h0`` and ``c0`` of shape ``(num_layers * 2, batch, hidden_size)``, ``fc =
nn.Linear(hidden_size * 2, num_classes)`` on ``out[:, -1, :]``, the last time step of both directions); PyTorch's
default init (upstream sets none); num_layers 2, num_classes 10, learning_rate 0.001, batch_size 64; one image row
per time step (``data.squeeze(1)``); inputs in [0, 1] as ``ToTensor`` gives them, not normalized; both DataLoaders
shuffled; ``nn.CrossEntropyLoss()``, ``optim.Adam(model.parameters(), lr=learning_rate)``; the loop
(forward, loss, ``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``; no clipping, no scheduler);
``check_accuracy`` (``model.eval()``, ``torch.no_grad()``, ``scores.max(1)``, ``model.train()`` after).

Changed to run offline on one CPU thread (torchvision does not import here):
- MNIST is scikit-learn's ``load_digits`` at its own 8x8 size, split 80/20 with random_state=0 (1437 training
  images: 23 steps of 64 per epoch, the last of 29; 360 held-out test images), values /16 into [0, 1] as ToTensor's
  /255 does for MNIST; so input_size 8 and sequence_length 8 (8 rows of 8 pixels) instead of 28 and 28.
- hidden_size 64 instead of 256 (as alprnn.py does for the same collection's RNN file), and num_epochs 24 (552
  steps) instead of 2 (of MNIST's 938 steps = 1876 steps), to fit the time a run may take on this shared machine:
  with hidden 256 one epoch of the digits took ~3.5 s of CPU (~7 s wall under the machine's load) and 15 epochs
  reached 0.947 test accuracy (seed 1) in 166 s wall; hidden 128 reached 0.894 after 12 epochs (~1.2 s of CPU an
  epoch); hidden 64 takes ~0.4 s of CPU an epoch.
- ``device`` is the CPU; ``torch.manual_seed(seed)`` (upstream does not seed); ``torch.set_flush_denormal(True)``
  (speed only); upstream prints the accuracy on both loaders, here the test accuracy is the metric and the training
  accuracy is kept in ``extra``; ``check_accuracy`` returns a float instead of printing.
- the bugs of the variants: ``lr_mult`` (learning_rate times it), ``input_scale`` (255: the digits scaled to raw
  MNIST's 0..255 pixel range, no ToTensor scaling), ``init`` ("std1": ``nn.init.normal_(p, 0, 1)`` on every
  parameter of the LSTM and fc, biases included; "zeros": every parameter ``nn.init.zeros_``), ``zero_grad=False``
  (``optimizer.zero_grad()`` left out), ``softmax=True`` (``F.softmax(scores, dim=1)`` fed to CrossEntropyLoss) and
  ``detach_lstm=True`` (``out[:, -1, :].detach()`` before fc: no gradient reaches the LSTM).

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after
the loop.  Metric: the test accuracy on the 360 held-out images (chance 0.1).

``CASES`` (program "alpbilstm"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10 (seed 1), x100 (seeds 1 and 2), x1000 (seed 1; added after lr x100 on seed 1 came out ambiguous),
/1000; inputs x255 (raw pixel range); N(0, 1) on every parameter
(init_large); every parameter zero (symmetric_init); ``optimizer.zero_grad()`` left out; softmax before
CrossEntropyLoss (wrong_loss); the LSTM output detached before fc (no_gradient); and lr x2 (expected harmless).
Upstream does not clip, so there is no clipping case.  Labels come from run.py's outcome rules only.

Recorded (cases-public45, 15 cases in 236 s, 7-26 s a run on a shared 2-core machine): healthy test accuracy
0.925, 0.947, 0.950 on seeds 1-3 (training loss 2.30 -> 0.09-0.12, largest loss 2.31-2.32, every loss finite).
Broken: lr x100 (0.1) on seed 2 0.697 (first losses ~4.0, peak 6.5, training loss 1.02); x1000 (1.0) 0.100 (first
losses ~41, peak 114, training loss 22); /1000 (1e-6) 0.114 (loss stays at 2.30); N(0, 1) on every parameter 0.653
(first losses ~5.5, peak 6.4; training accuracy 0.976, training loss 0.20: it overfits); every parameter zero
0.081 (loss stays at 2.30); ``optimizer.zero_grad()`` left out 0.697 (training loss 0.98, peak 2.75); the LSTM
detached 0.314 (only fc learns on the untrained LSTM's last step, training loss 2.26).  Ambiguous: lr x100 on seed
1 0.917 (first losses ~3.4, peak 6.3, above 2x the control's largest; training loss 0.31).  Healthy: lr x10 (0.01)
0.978 (training loss 0.029); inputs x255 0.961 (training loss 0.005, largest loss 2.29: the saturated gates did
no harm here); softmax before CrossEntropyLoss 0.903 (training loss 2.30 -> 1.54, accuracy 2.2 points below its
control, so labelled healthy by the rules); lr x2 0.950.  Labels: 7 healthy (3 programs, 4 variants), 7 broken, 1
ambiguous; no run had a non-finite loss.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn  # All neural network modules, nn.Linear, nn.Conv2d, BatchNorm, Loss functions
import torch.nn.functional as F  # All functions that don't have any parameters
import torch.optim as optim  # For all Optimization algorithms, SGD, Adam, etc.
from torch.utils.data import DataLoader, TensorDataset  # Gives easier dataset managment and creates mini batches

import gradmedic

ARCH = "lstm"
MONITOR_AT = ("watch(model, optimizer, every=10) right after the optimizer is built; monitor.step(loss) right after "
              "loss.backward() (optimizer.zero_grad() comes before it, upstream's order), before optimizer.step()")

# Set device (upstream: cuda when available)
device = torch.device("cpu")

# Hyperparameters
input_size = 8  # upstream 28 (MNIST rows); the digits' rows have 8 pixels
sequence_length = 8  # upstream 28
num_layers = 2
hidden_size = 64  # upstream 256; see the docstring
num_classes = 10
learning_rate = 0.001
batch_size = 64
num_epochs = 24  # upstream 2 (of MNIST's 938 steps); see the docstring


# Create a bidirectional LSTM
class BRNN(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers, num_classes, detach_lstm=False):
        super(BRNN, self).__init__()  # noqa: UP008
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.lstm = nn.LSTM(
            input_size, hidden_size, num_layers, batch_first=True, bidirectional=True
        )
        self.fc = nn.Linear(hidden_size * 2, num_classes)
        self.detach_lstm = detach_lstm

    def forward(self, x):
        h0 = torch.zeros(self.num_layers * 2, x.size(0), self.hidden_size).to(device)
        c0 = torch.zeros(self.num_layers * 2, x.size(0), self.hidden_size).to(device)

        out, _ = self.lstm(x, (h0, c0))
        last = out[:, -1, :]
        if self.detach_lstm:  # the no_gradient bug: the LSTM's output detached, only fc learns
            last = last.detach()
        out = self.fc(last)

        return out


def digits_rows(input_scale=1.0):
    """(train, test) TensorDatasets of load_digits' 8x8 images (1x8x8, values in [0, 1] as ToTensor gives them)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)
    f = lambda x: torch.tensor(x, dtype=torch.float32)[:, None] / 16.0 * input_scale  # noqa: E731
    return TensorDataset(f(xtr), torch.tensor(ytr)), TensorDataset(f(xte), torch.tensor(yte))


def check_accuracy(loader, model):
    num_correct = 0
    num_samples = 0
    model.eval()

    with torch.no_grad():
        for x, y in loader:
            x = x.to(device=device).squeeze(1)
            y = y.to(device=device)

            scores = model(x)
            _, predictions = scores.max(1)
            num_correct += (predictions == y).sum()
            num_samples += predictions.size(0)

    model.train()
    return float(num_correct) / float(num_samples)


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, init: str = "default",
          zero_grad: bool = True, softmax: bool = False, detach_lstm: bool = False, epochs: int = num_epochs,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    t0 = time.time()

    # Load Data
    train_dataset, test_dataset = digits_rows(input_scale)  # input_scale 255: the raw pixel range bug
    train_loader = DataLoader(dataset=train_dataset, batch_size=batch_size, shuffle=True)
    test_loader = DataLoader(dataset=test_dataset, batch_size=batch_size, shuffle=True)

    # Initialize network
    model = BRNN(input_size, hidden_size, num_layers, num_classes, detach_lstm=detach_lstm).to(device)
    if init != "default":
        for p in model.parameters():
            if init == "std1":  # init_large: every weight and bias from N(0, 1)
                nn.init.normal_(p, 0.0, 1.0)
            elif init == "zeros":  # symmetric_init: every weight and bias zero
                nn.init.zeros_(p)
            else:
                raise ValueError(init)

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
            data = data.to(device=device).squeeze(1)
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
    # Check accuracy on training & test to see how good our model
    train_acc = check_accuracy(train_loader, model)
    test_acc = check_accuracy(test_loader, model)
    if verbose:
        print(f"test accuracy {test_acc:.4f}, train accuracy {train_acc:.4f}, steps {len(losses)}, "
              f"{time.time() - t0:.1f}s")
    finite = [v for v in losses if np.isfinite(v)]
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": test_acc, "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"train_acc": train_acc, "train_loss": float(np.mean(losses[-20:])),
                      "first_loss": float(np.mean(losses[:5])), "max_loss": float(max(finite, default=np.nan)),
                      "finite_losses": bool(np.isfinite(losses).all()), "steps": len(losses), "lr": lr,
                      "epochs": epochs, "lr_mult": lr_mult, "input_scale": input_scale, "init": init,
                      "zero_grad": zero_grad, "softmax": softmax, "detach_lstm": detach_lstm},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="alpbilstm", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = ("bidirectional LSTM (2 layers, hidden 64, zero h0/c0, fc on out[:, -1, :], default init) over the 8 rows of "
      "8x8 digits in [0, 1], CrossEntropyLoss, Adam lr 0.001, batch 64 shuffled, "
      f"{num_epochs} epochs = {num_epochs * 23} steps, no clipping")
CASES: list[dict] = (
    [_case(f"alpbilstm_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"alpbilstm_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({learning_rate * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("alpbilstm_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 (1e-06)")]
    + [_case("alpbilstm_raw_pixels_s1", "unscaled_inputs", 1, {"input_scale": 255.0},
             f"{_P}: inputs x255 (MNIST's raw 0..255 pixel range, no ToTensor scaling)")]
    + [_case("alpbilstm_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_P}: every LSTM and fc weight and bias normal_(0, 1)")]
    + [_case("alpbilstm_zero_init_s1", "symmetric_init", 1, {"init": "zeros"},
             f"{_P}: every LSTM and fc weight and bias zeros_ (symmetric)")]
    + [_case("alpbilstm_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out of the loop (the gradients accumulate)")]
    + [_case("alpbilstm_softmax_ce_s1", "wrong_loss", 1, {"softmax": True},
             f"{_P}: F.softmax(scores, dim=1) fed to nn.CrossEntropyLoss (which expects logits)")]
    + [_case("alpbilstm_detach_lstm_s1", "no_gradient", 1, {"detach_lstm": True},
             f"{_P}: out[:, -1, :].detach() before fc (no gradient reaches the LSTM)")]
    + [_case("alpbilstm_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: Adam lr x2 (0.002)")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = (float(v) if k in ("lr_mult", "input_scale") else int(v) if k in ("epochs", "seed")
                 else v if k == "init" else v == "1")
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k not in ("monitors", "extra")}, r["extra"])
