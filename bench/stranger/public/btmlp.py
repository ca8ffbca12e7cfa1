"""Ben Trevett's pytorch-image-classification, 1 - Multilayer Perceptron, watched by gradmedic.

Adapted from https://github.com/bentrevett/pytorch-image-classification (MIT licence, see LICENSE-btmlp),
``1_mlp.ipynb`` at commit 33c9cfdb9097bc65b5800c1996f199f0ba520888.

Kept as in the notebook: ``MLP(input_dim, output_dim)`` with ``input_fc = nn.Linear(input_dim, 250)``,
``hidden_fc = nn.Linear(250, 100)``, ``output_fc = nn.Linear(100, output_dim)``, ReLU after the first two, forward
returning ``(y_pred, h_2)``; PyTorch's default init; the data normalized with one mean and one std computed from the
training images (``Normalize(mean=[mean], std=[std])`` on ``ToTensor``'s [0, 1] values); ``VALID_RATIO = 0.9`` with
``data.random_split`` of the training set into train / validation; ``BATCH_SIZE = 64`` (training set shuffled);
``optim.Adam(model.parameters())`` (default lr 1e-3); ``nn.CrossEntropyLoss()``; the notebook's ``train`` (per batch
``optimizer.zero_grad()``, ``y_pred, _ = model(x)``, ``loss = criterion(y_pred, y)``, ``loss.backward()``,
``optimizer.step()``) and ``evaluate`` (``model.eval()``, ``no_grad``, per-batch mean loss and accuracy); after every
epoch the model with the best validation loss is kept, and that model is evaluated on the test set at the end.

Changed, to run offline on one CPU thread: MNIST (a download) is scikit-learn's ``load_digits`` (8x8 images, so
``INPUT_DIM = 8 * 8 = 64`` instead of 28 * 28; the hidden sizes 250 and 100 are kept), split 80/20 with
random_state=0 into a fixed 1437 training / 360 test images, values /16 into [0, 1] as ``ToTensor`` would give them;
the 1437 are then split 0.9 / 0.1 (1293 train / 144 validation) by ``random_split``; the mean and std are computed
from the 1437 training images (upstream: from the 60000 MNIST training images); the training augmentation
(``RandomRotation(5)``, ``RandomCrop(28, padding=2)``; torchvision) is left out - a 2-pixel shift of an 8x8 digit is
not the small jitter it is on 28x28 MNIST; 30 epochs of 21 steps (630 steps) instead of 10 epochs of 844 steps;
``SEED = 1234`` becomes ``torch.manual_seed(seed)`` (set before the split, as the notebook seeds before it); the best
model is kept with ``copy.deepcopy(model.state_dict())`` instead of ``torch.save`` to 'tut1-model.pt'; tqdm, the
plots, PCA/t-SNE and the analysis cells after the test are left out.  The metric is the test accuracy of the best
model (the notebook's ``evaluate``: the mean of the per-batch accuracies over the 360 test images).

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after
``optimizer = optim.Adam(model.parameters())``, ``monitor.step(loss)`` in ``train`` right after ``loss.backward()``,
before ``optimizer.step()``; ``monitor.close()`` after the epoch loop.

``CASES`` (in the shape of run.py's ``case()``, program "btmlp"): the program on seeds 1-3, and one change each
against the same seed's healthy run: lr x10 (0.01), x100 (0.1; seeds 1 and 2), /1000 (1e-6); inputs unnormalized
(the raw 0..16 pixel values: no /16, no Normalize); every Linear weight and bias ``normal_(std=1)``; every Linear
weight and bias zero; ``optimizer.zero_grad()`` left out; and lr x2 (2e-3, expected harmless).  Labels come from
run.py's outcome rules only.
Recorded (cases-public52, 32 s for the 12 runs; 2-5 s a run): healthy 0.973, 0.972, 0.971 test accuracy on seeds
1-3 (train loss 2.2 -> 0.004-0.006, every loss finite, largest 2.36); lr x10 (0.01): 0.978, train loss 8e-5:
healthy; lr x100 (0.1), seed 1: first losses ~20 (largest 44.8), the last epoch at 0.58 validation accuracy, but the
best-validation-loss model tests at 0.939 (3.4 points below its control, its largest loss over 2x the control's):
ambiguous; seed 2: first losses ~17 (largest 32.5), train loss 1.05, 0.606: broken; lr /1000: the loss stays at
2.3, 0.151: broken; raw 0..16 inputs: largest loss 2.52, 0.985: healthy; init std 1: first losses ~830 (largest
959), train loss 0.27, 0.890 (8.4 points below): ambiguous; zero init: the loss stays at 2.30, 0.083: broken;
zero_grad left out: losses up to 4.7, train loss 0.41, 0.887 (8.7 points below): ambiguous; lr x2: 0.979: healthy.
Labels: 6 healthy (3 programs, 3 variants), 3 broken, 3 ambiguous.  No run had a non-finite loss.  The notebook's
best-validation-loss checkpoint softens the damaged runs (lr x100 on seed 1, std-1 init, no zero_grad): the
tested model is the best epoch's, not the last one's.
"""

from __future__ import annotations

import copy
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
import torch.utils.data as data

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = optim.Adam(model.parameters()); "
              "monitor.step(loss) right after loss.backward() in train(), before optimizer.step()")
EPOCHS = 30
LR = 1e-3  # Adam's default
BATCH_SIZE = 64
VALID_RATIO = 0.9


def digits(raw=False):
    """(train, test) load_digits images (N, 8, 8) and labels: a fixed 1437/360 split; normalized unless raw."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)
    xtr = torch.tensor(xtr, dtype=torch.float32)
    xte = torch.tensor(xte, dtype=torch.float32)
    if not raw:  # ToTensor (/16 here, /255 upstream) then Normalize(mean, std) from the training images
        xtr, xte = xtr / 16.0, xte / 16.0
        mean, std = xtr.mean(), xtr.std()
        xtr, xte = (xtr - mean) / std, (xte - mean) / std
    return data.TensorDataset(xtr, torch.tensor(ytr)), data.TensorDataset(xte, torch.tensor(yte))


class MLP(nn.Module):
    def __init__(self, input_dim, output_dim):
        super().__init__()

        self.input_fc = nn.Linear(input_dim, 250)
        self.hidden_fc = nn.Linear(250, 100)
        self.output_fc = nn.Linear(100, output_dim)

    def forward(self, x):
        # x = [batch size, height, width]
        batch_size = x.shape[0]
        x = x.view(batch_size, -1)
        # x = [batch size, height * width]
        h_1 = F.relu(self.input_fc(x))
        # h_1 = [batch size, 250]
        h_2 = F.relu(self.hidden_fc(h_1))
        # h_2 = [batch size, 100]
        y_pred = self.output_fc(h_2)
        # y_pred = [batch size, output dim]
        return y_pred, h_2


def calculate_accuracy(y_pred, y):
    top_pred = y_pred.argmax(1, keepdim=True)
    correct = top_pred.eq(y.view_as(top_pred)).sum()
    acc = correct.float() / y.shape[0]
    return acc


def train_epoch(model, iterator, optimizer, criterion, monitor, losses, zero_grad=True):
    epoch_loss = 0
    epoch_acc = 0
    model.train()
    for (x, y) in iterator:
        if zero_grad:  # the no_zero_grad variant leaves this out
            optimizer.zero_grad()
        y_pred, _ = model(x)
        loss = criterion(y_pred, y)
        acc = calculate_accuracy(y_pred, y)
        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()
        epoch_loss += loss.item()
        epoch_acc += acc.item()
        losses.append(loss.item())
    return epoch_loss / len(iterator), epoch_acc / len(iterator)


def evaluate(model, iterator, criterion):
    epoch_loss = 0
    epoch_acc = 0
    model.eval()
    with torch.no_grad():
        for (x, y) in iterator:
            y_pred, _ = model(x)
            loss = criterion(y_pred, y)
            acc = calculate_accuracy(y_pred, y)
            epoch_loss += loss.item()
            epoch_acc += acc.item()
    return epoch_loss / len(iterator), epoch_acc / len(iterator)


def train(seed: int = 1, lr_mult: float = 1.0, raw_inputs: bool = False, init: str = "default",
          zero_grad: bool = True, epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    train_data, test_data = digits(raw=raw_inputs)
    n_train_examples = int(len(train_data) * VALID_RATIO)
    n_valid_examples = len(train_data) - n_train_examples
    train_data, valid_data = data.random_split(train_data, [n_train_examples, n_valid_examples])
    train_iterator = data.DataLoader(train_data, shuffle=True, batch_size=BATCH_SIZE)
    valid_iterator = data.DataLoader(valid_data, batch_size=BATCH_SIZE)
    test_iterator = data.DataLoader(test_data, batch_size=BATCH_SIZE)

    model = MLP(8 * 8, 10)
    if init != "default":
        for m in model.modules():
            if isinstance(m, nn.Linear):
                if init == "std1":  # the init_large variant
                    nn.init.normal_(m.weight, std=1.0)
                    nn.init.normal_(m.bias, std=1.0)
                elif init == "zero":  # the symmetric_init variant
                    nn.init.zeros_(m.weight)
                    nn.init.zeros_(m.bias)
                else:
                    raise ValueError(init)
    lr = LR * lr_mult
    optimizer = optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)
    criterion = nn.CrossEntropyLoss()

    losses: list[float] = []
    best_valid_loss = float('inf')
    best_state = copy.deepcopy(model.state_dict())
    for epoch in range(epochs):
        train_loss, train_acc = train_epoch(model, train_iterator, optimizer, criterion, monitor, losses, zero_grad)
        valid_loss, valid_acc = evaluate(model, valid_iterator, criterion)
        if valid_loss < best_valid_loss:
            best_valid_loss = valid_loss
            best_state = copy.deepcopy(model.state_dict())
        if verbose and (epoch + 1) % max(1, epochs // 10) == 0:
            print(f"epoch {epoch + 1} train loss {train_loss:.3f} acc {train_acc:.3f} | valid loss {valid_loss:.3f} "
                  f"acc {valid_acc:.3f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    model.load_state_dict(best_state)
    test_loss, test_acc = evaluate(model, test_iterator, criterion)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(test_acc), "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(test_loss=float(test_loss), best_valid_loss=float(best_valid_loss), lr=lr,
                          train_loss=float(np.mean(losses[-21:])), first_loss=float(np.mean(losses[:5])),
                          max_loss=float(np.nanmax(losses)), finite_losses=bool(np.isfinite(losses).all()),
                          steps=len(losses), epochs=epochs, lr_mult=lr_mult, raw_inputs=raw_inputs, init=init,
                          zero_grad=zero_grad, test_images=len(test_data)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="btmlp", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"MLP (Linear 64-250-100-10, ReLU, default init) on normalized digits; CrossEntropyLoss; optim.Adam default lr "
      f"{LR:g}; batch {BATCH_SIZE}, {EPOCHS} epochs of 21 steps, best-validation-loss model tested")
CASES: list[dict] = (
    [_case(f"btmlp_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"btmlp_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("btmlp_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case("btmlp_raw_inputs_s1", "unscaled_inputs", 1, {"raw_inputs": True},
             f"{_P}: inputs unnormalized (the digits' raw 0..16 pixel values, no ToTensor scaling, no Normalize)")]
    + [_case("btmlp_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_P}: every Linear weight and bias normal_(std=1)")]
    + [_case("btmlp_zero_init_s1", "symmetric_init", 1, {"init": "zero"},
             f"{_P}: every Linear weight and bias zeros_ (symmetric)")]
    + [_case("btmlp_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("btmlp_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: lr x2 ({LR * 2:g})")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
