"""Machine Learning with PyTorch and Scikit-Learn (rasbt/machine-learning-book), chapter 13: "Project two -
classifying MNIST hand-written digits" - the ``nn.Sequential`` MLP (Flatten, Linear-ReLU 32, Linear-ReLU 16,
Linear 10) with ``CrossEntropyLoss`` and Adam - watched by gradmedic.

Adapted from https://github.com/rasbt/machine-learning-book (commit 35ab3774e8e249c43a98209d8efd94c060102003,
ch13/ch13_part2.py, the section "Project two - classifying MNIST hand-written digits"; MIT License, Copyright (c)
2021-2025 Sebastian Raschka, see LICENSE-mlbmlp).  (Project one of the same file, the Auto MPG regression, reads
its data from a URL, so the MNIST project is the one ported.)

Kept as in the book: ``hidden_units = [32, 16]``; ``all_layers = [nn.Flatten()]``, then per hidden unit count
``nn.Linear(input_size, hidden_unit)`` and ``nn.ReLU()``, then ``nn.Linear(hidden_units[-1], 10)``, in
``nn.Sequential`` at PyTorch's default init; ``nn.CrossEntropyLoss()``; ``torch.optim.Adam(model.parameters(),
lr=0.001)``; ``batch_size = 64`` and a shuffling ``DataLoader``; the loop as written (``pred = model(x_batch)``,
``loss``, ``loss.backward()``, ``optimizer.step()``, ``optimizer.zero_grad()``, the per-epoch training accuracy);
the test accuracy by argmax on the whole test set; inputs in [0, 1] as ``transforms.ToTensor()`` gives them (no
Normalize).

Changed, to run offline and fast on one CPU thread: MNIST (28x28, 60,000/10,000) is scikit-learn's ``load_digits``
(8x8 images as 1x8x8 tensors, so ``input_size`` is 64), split 80/20 with random_state=0 into a fixed 1437 training /
360 test images, values /16 into [0, 1] (the ``ToTensor`` range); 60 epochs of 23 steps (1,380 steps) instead of 20
epochs of 938 steps (18,760): the data is 40 times smaller, so more epochs, and still about 14 times fewer steps;
``torch.manual_seed(seed)`` at the book's places (before the DataLoader, and again before training - the book calls
``torch.manual_seed(1)`` at both); no per-epoch print unless verbose.

The watch, as a user would add it: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the
optimizer is built; ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()`` (the book
calls ``zero_grad()`` after the step); ``monitor.close()`` after the loop.

``CASES`` (program "mlbmlp"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10 (0.01), x100 (0.1; seeds 1 and 2), x1000 (1.0), /1000 (1e-6); lr x2 (0.002, expected harmless); raw 0..16 pixel
values (unscaled_inputs); every Linear weight and bias ``normal_(0, 1)`` (init_large); every Linear weight and bias
zero (symmetric_init); ``optimizer.zero_grad()`` left out (no_zero_grad); ``nn.Softmax(dim=1)`` appended to the
model, its probabilities fed to ``CrossEntropyLoss`` (wrong_loss).  Labels come from run.py's outcome rules only.
Recorded (cases-public61, 14 runs, 3-4 s each, 53 s in all): healthy
test accuracy 0.956, 0.958, 0.958 on seeds 1-3 (train loss 2.3 -> 0.06-0.08): healthy.  Healthy (did no harm): lr
x2 0.958, lr x10 0.967, lr x100 on seed 2 0.933 (largest loss 2.59), raw 0..16 pixels 0.964.  Broken: lr x1000 0.097
(losses up to 376, stuck at 2.40); lr /1000 0.144 (the loss stays at 2.31); normal_(0, 1) init 0.811 (first losses
up to 78); zero init 0.081 (stays at 2.30); zero_grad left out 0.842 (train loss 0.43); softmax before
CrossEntropyLoss 0.844 (train loss 1.59).  Ambiguous: lr x100 on seed 1, 0.919 against 0.956 (3.6 points down,
largest loss 6.1, more than twice its control's 2.34).  Labels: 7 healthy (3 programs, 4 variants), 6 broken, 1
ambiguous.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) right after torch.optim.Adam(model.parameters(), lr=0.001); "
              "monitor.step(loss) right after loss.backward() (CrossEntropyLoss on a batch of 64), before "
              "optimizer.step() (zero_grad after the step, as the book)")


def digits(input_scale: float = 1.0):
    """load_digits as 1x8x8 images in [0, 1] (x ``input_scale``) and labels: a fixed 1437/360 split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)
    f = lambda x: torch.tensor(x, dtype=torch.float32).unsqueeze(1) / 16.0 * input_scale  # noqa: E731  ToTensor
    return f(xtr), torch.tensor(ytr), f(xte), torch.tensor(yte)


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, init: str = "default",
          zero_grad: bool = True, softmax: bool = False, num_epochs: int = 60, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    x_train, y_train, x_test, y_test = digits(input_scale)  # input_scale 16: the raw 0..16 values
    train_ds = TensorDataset(x_train, y_train)

    batch_size = 64
    torch.manual_seed(seed)  # the book: torch.manual_seed(1)
    train_dl = DataLoader(train_ds, batch_size, shuffle=True)

    hidden_units = [32, 16]
    image_size = x_train[0].shape
    input_size = image_size[0] * image_size[1] * image_size[2]

    all_layers = [nn.Flatten()]
    for hidden_unit in hidden_units:
        layer = nn.Linear(input_size, hidden_unit)
        all_layers.append(layer)
        all_layers.append(nn.ReLU())
        input_size = hidden_unit

    all_layers.append(nn.Linear(hidden_units[-1], 10))
    if softmax:  # the wrong_loss variant: probabilities fed to CrossEntropyLoss
        all_layers.append(nn.Softmax(dim=1))
    model = nn.Sequential(*all_layers)
    if init != "default":
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, nn.Linear):
                    if init == "std1":  # the init_large variant
                        m.weight.normal_(0.0, 1.0)
                        m.bias.normal_(0.0, 1.0)
                    elif init == "zero":  # the symmetric_init variant
                        m.weight.zero_()
                        m.bias.zero_()
                    else:
                        raise ValueError(init)

    loss_fn = nn.CrossEntropyLoss()
    lr = 0.001 * lr_mult
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    torch.manual_seed(seed)  # the book: torch.manual_seed(1)
    losses = []
    accuracy_hist_train = 0.0
    for epoch in range(num_epochs):
        accuracy_hist_train = 0
        for x_batch, y_batch in train_dl:
            pred = model(x_batch)
            loss = loss_fn(pred, y_batch)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            is_correct = (torch.argmax(pred, dim=1) == y_batch).float()
            accuracy_hist_train += is_correct.sum()
            losses.append(loss.item())
        accuracy_hist_train /= len(train_dl.dataset)
        if verbose and (epoch + 1) % 10 == 0:
            print(f'Epoch {epoch}  Accuracy {accuracy_hist_train:.4f}  loss {np.mean(losses[-23:]):.4f}', flush=True)
    monitor.close()

    with torch.no_grad():
        pred = model(x_test)
        is_correct = (torch.argmax(pred, dim=1) == y_test).float()
        acc = float(is_correct.mean())
    if verbose:
        print(f'Test accuracy: {acc:.4f}')
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc, "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": {"train_loss": float(np.mean(losses[-20:])), "first_loss": float(np.mean(losses[:5])),
                      "max_loss": float(np.nanmax(losses)), "finite_losses": bool(np.isfinite(losses).all()),
                      "steps": len(losses), "epochs": num_epochs, "lr": lr, "lr_mult": lr_mult,
                      "train_accuracy": float(accuracy_hist_train), "input_scale": input_scale, "init": init,
                      "zero_grad": zero_grad, "softmax": softmax},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="mlbmlp", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_W = ("digits MLP (Flatten, Linear 64-32, ReLU, Linear 32-16, ReLU, Linear 16-10; CrossEntropyLoss, Adam lr 1e-3, "
      "batch 64, 60 epochs on 1437 images)")
CASES: list[dict] = (
    [_case(f"mlbmlp_healthy_s{s}", "healthy", s, {}, f"{_W}: unchanged", False) for s in (1, 2, 3)]
    + [_case("mlbmlp_lr_x2_s1", "healthy", 1, {"lr_mult": 2}, f"{_W}: Adam lr x2 (0.002)")]
    + [_case(f"mlbmlp_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_W}: Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("mlbmlp_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_W}: Adam lr /1000 (1e-6)")]
    + [_case("mlbmlp_raw_pixels_s1", "unscaled_inputs", 1, {"input_scale": 16.0},
             f"{_W}: raw 0..16 pixel values (no /16 scaling)")]
    + [_case("mlbmlp_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_W}: normal_(0, 1) on every Linear weight and bias")]
    + [_case("mlbmlp_zero_init_s1", "symmetric_init", 1, {"init": "zero"},
             f"{_W}: every Linear weight and bias zero")]
    + [_case("mlbmlp_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_W}: optimizer.zero_grad() left out: the gradients accumulate")]
    + [_case("mlbmlp_softmax_s1", "wrong_loss", 1, {"softmax": True},
             f"{_W}: nn.Softmax(dim=1) appended to the model, its probabilities fed to CrossEntropyLoss")]
)
