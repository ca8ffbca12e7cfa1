"""rasbt/machine-learning-book (Machine Learning with PyTorch and Scikit-Learn), chapter 12: "Building a multilayer
perceptron for classifying flowers in the Iris dataset" (Linear 4-16, Sigmoid, Linear 16-3, Softmax; Adam lr 1e-3,
CrossEntropyLoss, batch 2, 100 epochs), watched by gradmedic.

Adapted from https://github.com/rasbt/machine-learning-book (commit 35ab3774e8e249c43a98209d8efd94c060102003,
ch12/ch12_part2.py; MIT License, Copyright (c) 2021-2025 Sebastian Raschka, see LICENSE-mlbiris).

Kept as in the book: ``load_iris()``; ``train_test_split(X, y, test_size=1./3, random_state=1)``; the
normalization by the training set's global mean and std (``(X - np.mean(X_train)) / np.std(X_train)``, one scalar
each, as written); ``TensorDataset`` and a shuffling ``DataLoader`` of ``batch_size = 2``; the ``Model`` class as
written (``layer1`` Linear(4, 16), ``nn.Sigmoid()``, ``layer2`` Linear(16, 3), ``nn.Softmax(dim=1)`` - the book's
model ends in a softmax and feeds it to ``nn.CrossEntropyLoss``, so the healthy program already carries that
quirk); ``hidden_size = 16``; ``learning_rate = 0.001``; ``torch.optim.Adam``; ``num_epochs = 100``; the loop
(forward, loss on ``y_batch.long()``, ``loss.backward()``, ``optimizer.step()``, ``optimizer.zero_grad()`` after the
step, the per-epoch loss and accuracy history); the test evaluation (argmax accuracy on the normalized test third).

Changed: no plots, no model saving; ``torch.manual_seed(seed)`` instead of the book's ``torch.manual_seed(1)``
(same place: after the data, before the DataLoader and the model); CPU, one thread.  Nothing scaled: the program
is the book's size (5000 steps, a few seconds).  The metric is the book's test accuracy after training (50 test
flowers; ``value``); ``initial`` the untrained model's test accuracy, ``chance`` 1/3; the loss and accuracy
histories in ``extra``.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built; ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the loop.

``CASES`` (name prefix mlbiris): the book's program on seeds 1-3, and one change each against the same seed's
healthy run: the softmax removed from ``forward`` (CrossEntropyLoss on the logits, the fix; cause healthy); lr x2
(no-harm check), x10, x100 (seeds 1-2), x1000, /1000 (seeds 1-2); no normalization (raw centimetres, 0.1-7.9;
cause unscaled_inputs); the inputs x100 after normalization (unscaled_inputs); every Linear weight normal std 1.0
(seeds 1-2); every parameter zero (symmetric_init); ``optimizer.zero_grad()`` left out (seeds 1-2); ``nn.NLLLoss``
on the softmax output (the log missing; wrong_loss).  Labels come from run.py's outcome rules only.

Recorded (cases-public36, 19 cases, 122 s in all; 6-8 s a run): healthy test accuracy 0.98 on seeds 1-3 (from 0.38,
0.28, 0.38 untrained; the book prints 0.9800).  14 healthy, 5 broken, 0 ambiguous: healthy - the three programs, the
softmax removed (0.98), lr x2 (0.98), lr x10 (1.00), lr x100 on seed 1 (0.98), raw inputs (1.00), the inputs x100
(0.98), weights std 1.0 on seeds 1 and 2 (0.96, 0.98), no zero_grad on seeds 1 and 2 (1.00, 0.98), NLLLoss on the
softmax output (0.98); broken - lr x100 on seed 2 (0.72), lr x1000 (0.28), lr /1000 on seeds 1 and 2 (0.38, 0.28:
unmoved from the untrained model), every parameter zero (0.78).  Iris is easy: most changes do no harm here.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, TensorDataset

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) right after torch.optim.Adam; monitor.step(loss) right after "
              "loss.backward() (CrossEntropyLoss of the softmax output on a batch of 2), before optimizer.step() "
              "(zero_grad after the step, as the book)")


class Model(nn.Module):
    def __init__(self, input_size, hidden_size, output_size, softmax=True):
        super().__init__()
        self.layer1 = nn.Linear(input_size, hidden_size)
        self.layer2 = nn.Linear(hidden_size, output_size)
        self.softmax = softmax

    def forward(self, x):
        x = self.layer1(x)
        x = nn.Sigmoid()(x)
        x = self.layer2(x)
        if self.softmax:
            x = nn.Softmax(dim=1)(x)
        return x


def train(seed: int = 1, lr_mult: float = 1.0, softmax: bool = True, normalize: bool = True, in_scale: float = 1.0,
          init_std: float | None = None, zero_init: bool = False, zero_grad: bool = True, loss: str = "ce",
          num_epochs: int = 100, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    iris = load_iris()
    X = iris['data']
    y = iris['target']

    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=1./3, random_state=1)

    if normalize:
        X_train_norm = (X_train - np.mean(X_train)) / np.std(X_train)
        X_test_norm = (X_test - np.mean(X_train)) / np.std(X_train)
    else:  # the variant: raw measurements
        X_train_norm, X_test_norm = X_train, X_test
    X_train_norm = torch.from_numpy(X_train_norm * in_scale).float()
    X_test_norm = torch.from_numpy(X_test_norm * in_scale).float()
    y_train = torch.from_numpy(y_train)
    y_test = torch.from_numpy(y_test)

    train_ds = TensorDataset(X_train_norm, y_train)

    torch.manual_seed(seed)  # the book: torch.manual_seed(1)
    batch_size = 2
    train_dl = DataLoader(train_ds, batch_size, shuffle=True)

    input_size = X_train_norm.shape[1]
    hidden_size = 16
    output_size = 3

    model = Model(input_size, hidden_size, output_size, softmax=softmax)
    with torch.no_grad():  # the variants' inits
        for layer in (model.layer1, model.layer2):
            if init_std is not None:
                layer.weight.normal_(0.0, init_std)
            if zero_init:
                layer.weight.zero_()
                layer.bias.zero_()

    learning_rate = 0.001 * lr_mult

    if loss == "nll":  # the variant: NLLLoss on the softmax output (no log)
        loss_fn = nn.NLLLoss()
    else:
        loss_fn = nn.CrossEntropyLoss()

    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    def test_acc():
        with torch.no_grad():
            pred_test = model(X_test_norm)
            correct = (torch.argmax(pred_test, dim=1) == y_test).float()
            return float(correct.mean())

    initial = test_acc()
    loss_hist = [0] * num_epochs
    accuracy_hist = [0] * num_epochs
    step_losses = []

    for epoch in range(num_epochs):

        for x_batch, y_batch in train_dl:
            pred = model(x_batch)
            loss = loss_fn(pred, y_batch.long())
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            if zero_grad:
                optimizer.zero_grad()

            loss_hist[epoch] += loss.item()*y_batch.size(0)
            is_correct = (torch.argmax(pred, dim=1) == y_batch).float()
            accuracy_hist[epoch] += is_correct.sum()
            step_losses.append(loss.item())

        loss_hist[epoch] /= len(train_dl.dataset)
        accuracy_hist[epoch] /= len(train_dl.dataset)
        if verbose and (epoch + 1) % 20 == 0:
            print(f"epoch {epoch + 1} loss {loss_hist[epoch]:.4f} acc {float(accuracy_hist[epoch]):.4f}", flush=True)
    monitor.close()

    accuracy = test_acc()
    if verbose:
        print(f'Test Acc.: {accuracy:.4f}')
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": accuracy, "initial": initial,
            "initial_what": "untrained: the model's test accuracy before training", "chance": 1 / 3,
            "extra": {"train_loss": float(np.mean(step_losses[-20:])), "initial_train_loss": float(np.mean(step_losses[:5])),
                      "loss_hist": [float(v) for v in loss_hist], "accuracy_hist": [float(v) for v in accuracy_hist],
                      "steps": len(step_losses), "lr": learning_rate, "softmax": softmax, "normalize": normalize,
                      "in_scale": in_scale},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="mlbiris", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_W = ("Iris MLP (Linear 4-16, Sigmoid, Linear 16-3, Softmax; CrossEntropyLoss on the softmax output, Adam lr 1e-3, "
      "batch 2, 100 epochs on 100 flowers)")
CASES: list[dict] = (
    [_case(f"mlbiris_healthy_s{s}", "healthy", s, {}, f"{_W}: unchanged", False) for s in (1, 2, 3)]
    + [_case("mlbiris_no_softmax_s1", "healthy", 1, {"softmax": False},
             f"{_W}: the Softmax removed from forward (CrossEntropyLoss on the logits; argmax unchanged)")]
    + [_case("mlbiris_lr_x2_s1", "healthy", 1, {"lr_mult": 2}, f"{_W}: Adam lr x2 (0.002)")]
    + [_case(f"mlbiris_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_W}: Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case(f"mlbiris_lr_div1000_s{s}", "lr_low", s, {"lr_mult": 1e-3}, f"{_W}: Adam lr /1000 (1e-6)") for s in (1, 2)]
    + [_case("mlbiris_raw_inputs_s1", "unscaled_inputs", 1, {"normalize": False},
             f"{_W}: no normalization (raw measurements in cm, 0.1-7.9)")]
    + [_case("mlbiris_inputs_x100_s1", "unscaled_inputs", 1, {"in_scale": 100.0},
             f"{_W}: the normalized inputs x100 (training and test)")]
    + [_case(f"mlbiris_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_W}: normal_(0, 1.0) on both Linear weights") for s in (1, 2)]
    + [_case("mlbiris_zero_init_s1", "symmetric_init", 1, {"zero_init": True},
             f"{_W}: every weight and bias zero")]
    + [_case(f"mlbiris_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_W}: optimizer.zero_grad() left out: the gradients accumulate") for s in (1, 2)]
    + [_case("mlbiris_nll_softmax_s1", "wrong_loss", 1, {"loss": "nll"},
             f"{_W}: nn.NLLLoss() on the softmax output instead of CrossEntropyLoss (the log missing)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k not in ("monitors", "extra")})
