"""Aladdin Persson's custom-dataset fully connected network (Linear(11, 50)-ReLU-Linear(50, 26), Adam,
CrossEntropyLoss, batch 5) on a tabular 26-class problem made offline, watched by gradmedic.

Adapted from https://github.com/aladdinpersson/Machine-Learning-Collection (commit
65b8c8049560b19ace11ef754cb4dbe5aa415296, ML/Pytorch/Basics/custom_dataset/custom_FCNN.py; MIT License, Copyright
(c) 2020 Aladdin Persson, see LICENSE-alpfcnn).  The script has module-level code; here its body is ``train``, its
lines in upstream's order.  Why this file: of the unported files of ML/Pytorch/Basics, pytorch_loadsave.py,
pytorch_progress_bar.py and pytorch_std_mean.py train nothing, pytorch_pretrain_finetune.py needs a pretrained VGG16,
custom_dataset.py and albumentations_tutorial need the shipped cat/dog JPEGs, lightning_simple_CNN.py needs GPUs and
deepspeed; this one is a plain training loop on a table.

Kept as in the original: the ``NN`` class (``fc1 = nn.Linear(input_size, 50)``, ``F.relu``, ``fc2 = nn.Linear(50,
num_classes)``) with PyTorch's default init, the hyperparameters num_classes 26, learning_rate 1e-3, batch_size 5,
input_size 11, the 2900-row training split, both DataLoaders shuffled, ``nn.CrossEntropyLoss()``,
``optim.Adam(model.parameters(), lr=learning_rate)``, the loop (forward, loss, ``losses.append(loss.item())``,
``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``) and ``check_accuracy``.

Changed to run offline on one CPU thread:
- the data.  Upstream reads ``power.csv`` (2957 rows of 11 raw numeric features and a label 0..25; 520 kB, too big to
  quote, and its labels look unrelated to the features, so nothing could be learnt from it).  Here the table is
  scikit-learn's ``make_classification(n_samples=3557, n_features=11, n_informative=11, n_redundant=0, n_classes=26,
  n_clusters_per_class=1, class_sep=2.5, random_state=0)`` (features of unit scale, the same table for every seed),
  split into the first 2900 rows for training (as upstream's 2900) and 657 held-out rows (upstream holds out 57, too
  few to compare runs by).  ``random_split`` is replaced by that fixed split; ``SoloDataset`` by a TensorDataset.
- num_epochs 10 instead of 30 (580 steps an epoch: 5800 steps; 30 epochs would take a minute here).
- upstream prints the mean loss per epoch and the accuracy on the training and test loaders; here the test accuracy
  is the metric and the training accuracy is kept in ``extra``.  ``check_accuracy`` returns a float.
- ``device`` is the CPU; ``torch.manual_seed(seed)`` (upstream does not seed); a per-epoch print only with ``verbose``.
- the bugs of the variants: ``lr_mult`` (learning_rate times it), ``input_scale`` (every feature times it: the
  unscaled-features bug, as power.csv's raw columns in the thousands), ``init`` ("std1": ``normal_(0, 1)`` on both
  Linear weights and biases; "zero": all zero), ``zero_grad=False`` (``optimizer.zero_grad()`` left out) and
  ``softmax=True`` (``F.softmax`` over the scores before ``CrossEntropyLoss``).

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after
the loop.

``CASES`` (program "alpfcnn"): the program on seeds 1-3, and one change each against the same seed's healthy run:
lr x10, x100 (seeds 1 and 2), /1000; features x1000; both Linear layers normal_(0, 1); both zero;
``optimizer.zero_grad()`` left out; softmax before CrossEntropyLoss; lr x2 (expected harmless).
Labels come from run.py's outcome rules only.
Recorded (cases-public63, 13 cases, 64 s; 4-5 s a run): healthy 0.950, 0.953, 0.939 test accuracy on seeds 1-3
(loss 3.1-3.7 over the first 5 steps, 0.11-0.15 over the last 100, largest 4.3-4.8, every loss finite); lr x10
(0.01): 0.928 (largest loss 7.1), healthy; lr x100 (0.1): 0.350 and 0.358 on seeds 1 and 2 (losses up to 117-119,
train loss 3.5), broken; lr /1000: 0.047 (train loss 3.37), broken; features x1000: first losses ~1574 (largest
2355), train loss 8.8, 0.903: ambiguous (4.7 points below its control); normal_(0, 1) init: first losses ~85,
train loss 1.35, 0.846, broken; zero init: loss stays 3.26, 0.023, broken; zero_grad left out: losses up to 193,
train loss 13.5, 0.865: ambiguous (8.5 points below its control, not clearly worse by run.py's rule); softmax before
CrossEntropyLoss: train loss 3.26 -> 2.36 (the softmax-CE floor), 0.962, healthy (the argmax still learns); lr x2:
0.942, healthy.  Labels: 6 healthy (3 programs, 3 variants), 5 broken, 2 ambiguous.  No run had a non-finite loss.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn  # All neural network modules, nn.Linear, nn.Conv2d, BatchNorm, Loss functions
import torch.nn.functional as F  # All functions that don't have any parameters
import torch.optim as optim  # For all Optimization algorithms, SGD, Adam, etc.
from torch.utils.data import DataLoader, TensorDataset

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) after optimizer = optim.Adam(...); monitor.step(loss) right after "
              "loss.backward(), before optimizer.step()")
LEARNING_RATE = 1e-3
NUM_EPOCHS = 10


# Create Fully Connected Network
class NN(nn.Module):
    def __init__(self, input_size, num_classes):
        super().__init__()
        self.fc1 = nn.Linear(input_size, 50)
        self.fc2 = nn.Linear(50, num_classes)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = self.fc2(x)
        return x


def table(input_scale: float = 1.0):
    """(train, test) TensorDatasets: a fixed 26-class table of 11 features, 2900 training and 657 held-out rows."""
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=3557, n_features=11, n_informative=11, n_redundant=0, n_classes=26,
                               n_clusters_per_class=1, class_sep=2.5, random_state=0)
    X = torch.tensor(X, dtype=torch.float32) * input_scale  # input_scale 1000: the unscaled-features bug
    y = torch.tensor(y)
    return TensorDataset(X[:2900], y[:2900]), TensorDataset(X[2900:], y[2900:])


# Check accuracy on training to see how good our model is
def check_accuracy(loader, model):
    num_correct = 0
    num_samples = 0
    model.eval()

    with torch.no_grad():
        for x, y in loader:
            scores = model(x)
            _, predictions = scores.max(1)
            num_correct += (predictions == y).sum()
            num_samples += predictions.size(0)

    model.train()
    return float(num_correct) / float(num_samples)


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, init: str = "default",
          zero_grad: bool = True, softmax: bool = False, num_epochs: int = NUM_EPOCHS, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()

    # Hyperparameters
    num_classes = 26
    learning_rate = LEARNING_RATE * lr_mult
    batch_size = 5
    input_size = 11

    # Load Data
    train_set, test_set = table(input_scale)
    train_loader = DataLoader(dataset=train_set, batch_size=batch_size, shuffle=True)
    test_loader = DataLoader(dataset=test_set, batch_size=batch_size, shuffle=True)

    # Model
    model = NN(input_size=input_size, num_classes=num_classes)
    if init != "default":
        for m in model.modules():
            if isinstance(m, nn.Linear):
                if init == "std1":  # the init_large variant
                    nn.init.normal_(m.weight, 0.0, 1.0)
                    nn.init.normal_(m.bias, 0.0, 1.0)
                elif init == "zero":  # the symmetric_init variant
                    nn.init.zeros_(m.weight)
                    nn.init.zeros_(m.bias)
                else:
                    raise ValueError(init)

    # Loss and optimizer
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=learning_rate)
    monitor = gradmedic.watch(model, optimizer, every=every)

    all_losses = []
    # Train Network
    for epoch in range(num_epochs):
        losses = []

        for _batch_idx, (data, targets) in enumerate(train_loader):
            # forward
            scores = model(data)
            if softmax:  # the wrong_loss variant: probabilities fed to CrossEntropyLoss
                scores = F.softmax(scores, dim=1)
            loss = criterion(scores, targets)

            losses.append(loss.item())

            # backward
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic

            # gradient descent or adam step
            optimizer.step()

        all_losses += losses
        if verbose:
            print(f"Cost at epoch {epoch} is {sum(losses) / len(losses)} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()

    train_acc = check_accuracy(train_loader, model)
    test_acc = check_accuracy(test_loader, model)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": test_acc, "chance": 1.0 / num_classes,
            "initial": None, "initial_what": "chance accuracy 1/26",
            "extra": dict(train_acc=train_acc, lr=learning_rate, train_loss=float(np.mean(all_losses[-100:])),
                          first_loss=float(np.mean(all_losses[:5])), max_loss=float(np.nanmax(all_losses)),
                          finite_losses=bool(np.isfinite(all_losses).all()), steps=len(all_losses),
                          epochs=num_epochs, lr_mult=lr_mult, input_scale=input_scale, init=init,
                          zero_grad=zero_grad, softmax=softmax, test_rows=len(test_set)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="alpfcnn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"custom-dataset FCNN (Linear 11-50, ReLU, Linear 50-26, default init; CrossEntropyLoss; Adam lr "
      f"{LEARNING_RATE:g}; batch 5, {NUM_EPOCHS} epochs of 580 steps on a 26-class table of 11 unit-scale features)")
CASES: list[dict] = (
    [_case(f"alpfcnn_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"alpfcnn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LEARNING_RATE * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("alpfcnn_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3},
             f"{_P}: lr /1000 ({LEARNING_RATE * 1e-3:g})")]
    + [_case("alpfcnn_unscaled_x1000_s1", "unscaled_inputs", 1, {"input_scale": 1000.0},
             f"{_P}: features unscaled (x1000)")]
    + [_case("alpfcnn_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_P}: both Linear weights and biases normal_(0, 1)")]
    + [_case("alpfcnn_zero_init_s1", "symmetric_init", 1, {"init": "zero"},
             f"{_P}: both Linear weights and biases zeros_ (symmetric)")]
    + [_case("alpfcnn_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("alpfcnn_softmax_ce_s1", "wrong_loss", 1, {"softmax": True},
             f"{_P}: F.softmax over the scores before CrossEntropyLoss")]
    + [_case("alpfcnn_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: lr x2 ({LEARNING_RATE * 2:g})")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
