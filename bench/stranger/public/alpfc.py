"""Aladdin Persson's simple fully connected network (NN: Linear(784, 50), ReLU, Linear(50, 10)) trained on digits,
watched by gradmedic.

Adapted from https://github.com/aladdinpersson/Machine-Learning-Collection (commit
1676e194239d32c3c454f06c48e3f66fe3956019, ML/Pytorch/Basics/pytorch_simple_fullynet.py, the "2022-09-23"
revision; MIT License, Copyright (c) 2020 Aladdin Persson, see LICENSE-alpfc).  The script's body is ``train``, its
lines in upstream's order.

Kept as in the original: the ``NN`` class (``fc1 = nn.Linear(input_size, 50)``, ``fc2 = nn.Linear(50,
num_classes)``, ``F.relu`` between them) with PyTorch's default init; num_classes 10, learning_rate 0.001,
batch_size 64, both DataLoaders shuffled, inputs in [0, 1] as ``transforms.ToTensor()`` gives them (no Normalize),
``data.reshape(data.shape[0], -1)``, ``nn.CrossEntropyLoss()``, ``optim.Adam(model.parameters(),
lr=learning_rate)``, the loop (forward, loss, ``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``;
no clipping, no scheduler) and ``check_accuracy``.

Changed to run offline on one CPU thread (torchvision does not import here):
- MNIST is scikit-learn's ``load_digits`` (8x8 images, so input_size 64 instead of 784), split 80/20 with
  random_state=0 into a fixed 1437 training images (23 steps of 64 per epoch) and 360 held-out test images; the
  digits' 0..16 values are divided by 16 into [0, 1], as ``ToTensor`` maps MNIST's 0..255 into [0, 1].
- num_epochs 30 instead of 3: three epochs of MNIST are 2814 steps, three of the digits only 69; 30 epochs (690
  steps) train it (see Recorded) in a few seconds.
- the test accuracy (held-out split) is the metric; the training accuracy is kept in ``extra``; ``check_accuracy``
  returns a float.  ``device`` is the CPU; ``torch.manual_seed(seed)`` (upstream does not seed); no tqdm; the final
  prints only with ``verbose``.
- the bugs of the variants: ``lr_mult`` (learning_rate times it), ``raw_pixels`` (the digits' raw 0..16 values,
  no ToTensor-like scaling), ``init`` ("std1": ``nn.init.normal_(std=1.0)`` on every Linear weight and bias;
  "zeros": ``nn.init.zeros_`` on every Linear weight and bias), ``zero_grad=False`` (``optimizer.zero_grad()`` left
  out) and ``softmax=True`` (``F.softmax(scores, dim=1)`` fed to ``nn.CrossEntropyLoss``).

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after
the last epoch, before ``check_accuracy``.

``CASES`` (program "alpfc"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10 (seed 1), x100 (seeds 1 and 2), /1000; raw 0..16 pixels (unscaled_inputs); N(0, 1) weights and biases
(init_large); zero weights and biases (symmetric_init); ``optimizer.zero_grad()`` left out; softmax before
CrossEntropyLoss (wrong_loss); and lr x2 (0.002, cause lr_high, expected harmless).  Labels come from run.py's
outcome rules only.

Recorded (cases-public57, 13 cases, 1-2 s a run on the shared 2-core machine): healthy test accuracy 0.958, 0.958,
0.964 on seeds 1-3 (training loss 2.30-2.32 -> 0.14-0.15, largest loss 2.31-2.33, every loss finite).  Healthy (the
change did no harm here): Adam lr x10 (0.01) 0.975 (training loss 0.010); lr x100 (0.1) 0.972 (seed 1, training loss
0.0004, largest loss 3.00) and 0.942 (seed 2, largest loss 2.65); raw 0..16 pixels 0.978 (first losses ~2.7, largest
3.10, training loss 0.026); softmax before CrossEntropyLoss 0.944 (training loss 2.30 -> 1.53, the floor of
probabilities fed as logits, yet the argmax is learned); lr x2 0.967.  Broken: lr /1000 0.031 (loss stays at 2.30);
N(0, 1) weights and biases 0.797 (first losses ~31, training loss 0.78); zero init 0.081 (loss stays at 2.30);
``optimizer.zero_grad()`` left out 0.831 (training loss 0.46).  Labels: 9 healthy (3 programs, 6 variants), 4
broken, 0 ambiguous; no run had a non-finite loss.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F  # Parameterless functions, like (some) activation functions
from torch import nn, optim  # All neural network modules; optimizers like SGD, Adam, etc. (two imports upstream)
from torch.utils.data import DataLoader, TensorDataset  # Gives easier dataset managment by creating mini batches etc.

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = optim.Adam(...); monitor.step(loss) right "
              "after loss.backward() (optimizer.zero_grad() comes before it, upstream's order), before optimizer.step()")


class NN(nn.Module):
    def __init__(self, input_size, num_classes):
        super(NN, self).__init__()  # noqa: UP008
        # Our first linear layer take input_size, in this case 784 nodes to 50
        # and our second linear layer takes 50 to the num_classes we have, in
        # this case 10.
        self.fc1 = nn.Linear(input_size, 50)
        self.fc2 = nn.Linear(50, num_classes)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = self.fc2(x)
        return x


# Set device (upstream: mps or cuda when available)
device = "cpu"

# Hyperparameters
input_size = 64  # upstream: 784 (28x28 MNIST); load_digits' 8x8
num_classes = 10
learning_rate = 0.001
batch_size = 64
num_epochs = 30  # upstream: 3 (of MNIST's 938 steps); see the docstring


def digits(raw_pixels=False):
    """(train, test) TensorDatasets of load_digits: a fixed 1437/360 split, values /16 into [0, 1] as ToTensor."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.data, d.target, test_size=0.2, random_state=0)
    scale = 1.0 if raw_pixels else 16.0  # raw_pixels: the bug, 0..16 values straight into the network
    f = lambda x: torch.tensor(x, dtype=torch.float32).reshape(-1, 1, 8, 8) / scale  # noqa: E731
    return TensorDataset(f(xtr), torch.tensor(ytr)), TensorDataset(f(xte), torch.tensor(yte))


# Check accuracy on training & test to see how good our model
def check_accuracy(loader, model):
    num_correct = 0
    num_samples = 0
    model.eval()

    # We don't need to keep track of gradients here so we wrap it in torch.no_grad()
    with torch.no_grad():
        # Loop through the data
        for x, y in loader:

            # Move data to device
            x = x.to(device=device)
            y = y.to(device=device)

            # Get to correct shape
            x = x.reshape(x.shape[0], -1)

            # Forward pass
            scores = model(x)
            _, predictions = scores.max(1)

            # Check how many we got correct
            num_correct += (predictions == y).sum()

            # Keep track of number of samples
            num_samples += predictions.size(0)

    model.train()
    return float(num_correct) / float(num_samples)


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init: str = "default",
          zero_grad: bool = True, softmax: bool = False, epochs: int = num_epochs, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()

    # Load Data (MNIST -> scikit-learn's digits, [0, 1] as ToTensor gives them)
    train_dataset, test_dataset = digits(raw_pixels)
    train_loader = DataLoader(dataset=train_dataset, batch_size=batch_size, shuffle=True)
    test_loader = DataLoader(dataset=test_dataset, batch_size=batch_size, shuffle=True)

    # Initialize network
    model = NN(input_size=input_size, num_classes=num_classes).to(device)
    if init != "default":  # the variants' inits (upstream keeps PyTorch's default)
        for m in model.modules():
            if isinstance(m, nn.Linear):
                if init == "std1":  # init_large
                    nn.init.normal_(m.weight, std=1.0)
                    nn.init.normal_(m.bias, std=1.0)
                elif init == "zeros":  # symmetric_init
                    nn.init.zeros_(m.weight)
                    nn.init.zeros_(m.bias)
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
            data = data.to(device=device)
            targets = targets.to(device=device)

            # Get to correct shape
            data = data.reshape(data.shape[0], -1)

            # Forward
            scores = model(data)
            if softmax:  # the wrong_loss bug: probabilities fed to CrossEntropyLoss, which expects logits
                scores = F.softmax(scores, dim=1)
            loss = criterion(scores, targets)
            losses.append(loss.item())

            # Backward
            if zero_grad:  # the bug when False: optimizer.zero_grad() left out, the gradients accumulate
                optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic

            # Gradient descent or adam step
            optimizer.step()
        if verbose and (epoch + 1) % 5 == 0:
            print(f"epoch {epoch}: mean loss {np.mean(losses[-len(train_loader):]):.4f} ({time.time() - t0:.1f}s)",
                  flush=True)

    monitor.close()
    test_acc = check_accuracy(test_loader, model)
    train_acc = check_accuracy(train_loader, model)
    if verbose:
        print(f"Accuracy on training set: {train_acc*100:.2f}")
        print(f"Accuracy on test set: {test_acc*100:.2f}")
    finite = [v for v in losses if np.isfinite(v)]
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": test_acc, "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"train_acc": train_acc, "train_loss": float(np.mean(losses[-20:])),
                      "first_loss": float(np.mean(losses[:5])), "max_loss": float(max(finite, default=np.nan)),
                      "finite_losses": bool(np.isfinite(losses).all()), "steps": len(losses), "lr": lr,
                      "epochs": epochs, "lr_mult": lr_mult, "raw_pixels": raw_pixels, "init": init,
                      "zero_grad": zero_grad, "softmax": softmax},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="alpfc", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = ("NN of pytorch_simple_fullynet.py (Linear(64, 50)-ReLU-Linear(50, 10), PyTorch's default init), inputs in "
      f"[0, 1], CrossEntropyLoss, Adam lr 0.001, batch 64 shuffled, {num_epochs} epochs = {num_epochs * 23} steps, "
      "no clipping")
CASES: list[dict] = (
    [_case(f"alpfc_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"alpfc_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({learning_rate * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("alpfc_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 (1e-06)")]
    + [_case("alpfc_raw_pixels_s1", "unscaled_inputs", 1, {"raw_pixels": True},
             f"{_P}: the digits' raw 0..16 values fed in (no ToTensor-like scaling into [0, 1])")]
    + [_case("alpfc_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_P}: nn.init.normal_(std=1.0) on every Linear weight and bias instead of PyTorch's default")]
    + [_case("alpfc_zero_init_s1", "symmetric_init", 1, {"init": "zeros"},
             f"{_P}: nn.init.zeros_ on every Linear weight and bias")]
    + [_case("alpfc_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out of the loop (the gradients accumulate)")]
    + [_case("alpfc_softmax_ce_s1", "wrong_loss", 1, {"softmax": True},
             f"{_P}: F.softmax(scores, dim=1) fed to nn.CrossEntropyLoss (which expects logits)")]
    + [_case("alpfc_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: Adam lr x2 (0.002)")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = (float(v) if k == "lr_mult" else int(v) if k in ("epochs", "seed") else v if k == "init"
                 else v == "1")
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k not in ("monitors", "extra")}, r["extra"])
