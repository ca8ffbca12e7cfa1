"""Aladdin Persson's simple CNN (Conv(1, 8, 3)-ReLU-MaxPool-Conv(8, 16, 3)-ReLU-MaxPool-Linear(784, 10), Adam,
CrossEntropyLoss) on digits, watched by gradmedic.

Adapted from https://github.com/aladdinpersson/Machine-Learning-Collection (commit
e6c7f42c46a6414f12b2d8820e00e4474be7bbd8, ML/Pytorch/Basics/pytorch_simple_CNN.py, the "2021-03-24" revision; MIT
License, Copyright (c) 2020 Aladdin Persson, see LICENSE-alpcnn).  The script has module-level code; here its body
is ``train``, its lines in upstream's order.

Kept as in the original: the ``CNN`` class (conv1 1->8 and conv2 8->16, both 3x3 stride 1 padding 1, one
``MaxPool2d(2, 2)`` used after each, ``F.relu`` after each conv, ``fc1 = nn.Linear(16 * 7 * 7, num_classes)``) with
PyTorch's default init (upstream sets none), the hyperparameters in_channels 1, num_classes 10, learning_rate 0.001,
batch_size 64, inputs in [0, 1] as ``transforms.ToTensor()`` gives them (no Normalize), both DataLoaders shuffled
(upstream shuffles the test loader too), ``nn.CrossEntropyLoss()``, ``optim.Adam(model.parameters(),
lr=learning_rate)``, the loop (forward, loss, ``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``;
no clipping, no scheduler) and ``check_accuracy`` (``model.eval()``, ``torch.no_grad()``, ``scores.max(1)``,
``num_correct / num_samples``).

Changed to run offline on one CPU thread (torchvision does not import here):
- MNIST is mnist.py's ``digits28`` (scikit-learn's ``load_digits``, split 80/20 with random_state=0, upsampled
  bilinearly to 28x28 so the 16*7*7 head is unchanged) with its 0..255 values divided by 255 as ``ToTensor`` does:
  1437 training images (23 steps of 64 per epoch, the last one of 29) and 360 held-out test images.
- num_epochs 30 instead of upstream's 3: three epochs of MNIST are 2814 steps, three of the digits only 69, after
  which this small net at lr 1e-3 is still far from trained; 30 epochs (690 steps) train it (see Recorded).
- upstream prints the accuracy on the training and test loaders; here the test accuracy (held-out split) is the
  metric and the training accuracy is kept in ``extra``.  ``check_accuracy`` returns a float.
- ``device`` is the CPU; ``torch.manual_seed(seed)`` (upstream does not seed); no tqdm; ``torch.set_flush_denormal
  (True)`` (speed only); a per-epoch print only with ``verbose``.
- the bugs of the variants: ``lr_mult`` (learning_rate times it), ``raw_pixels`` (0..255 values, no ToTensor
  scaling), ``init_std`` (``nn.init.normal_(0, std)`` on every Conv2d and Linear weight, biases kept),
  ``zero_grad=False`` (``optimizer.zero_grad()`` left out of the loop) and ``relu=False`` (the two ``F.relu`` calls
  removed from ``forward``: conv-pool-conv-pool-linear, max pooling the only nonlinearity).

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after
the last epoch, before ``check_accuracy``.

``CASES`` (program "alpcnn"): the program on seeds 1-3, and one change each against the same seed's healthy run: Adam
lr x10 (seed 1), x100 (seeds 1 and 2), x1000, /1000; N(0, 1) init on every Conv2d/Linear weight; raw 0..255 pixels;
``optimizer.zero_grad()`` left out; the ReLUs removed (cause "healthy" against its control, as causes.py has no
cause for a missing activation: labelled healthy if it still trains well, else ambiguous).  Upstream does not clip,
so there is no clipping case.  Labels come from run.py's outcome rules only.

Recorded (cases-public22; 12 cases in 131 s, 5-16 s a run on a shared 2-core machine): healthy test accuracy
0.958, 0.972, 0.969 on seeds 1-3 (training loss 2.30 -> 0.02-0.03, largest loss 2.30-2.31; seed 1 ends at 0.958
after 20 epochs too).  Broken: lr x100 (0.1) 0.075 and 0.097 (first losses ~5, peak 11-13, loss stuck at 2.31);
x1000 (1.0) 0.075 (first losses ~1.1e3, peak 3.2e3, loss 2.39); /1000 (1e-6) 0.075 (loss 2.31 -> 2.30, no
progress); N(0, 1) init 0.786 (first losses ~323, training loss 3.8); no zero_grad 0.778 (training loss 0.56, peak
5.9).  Ambiguous: raw 0..255 pixels 0.981 (training loss 0.0006, but first losses ~11 and a peak of 20, above 2x the
control's largest).  Healthy: lr x10 (0.01) 0.986 (training loss 0.0002); the ReLUs removed 0.956 (training loss
0.027: max pooling alone is enough nonlinearity for the digits, and a linear classifier does well on them anyway).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F  # Parameterless functions, like (some) activation functions
from mnist import digits28
from torch import (
    nn,  # All neural network modules
    optim,  # For optimizers like SGD, Adam, etc.
)
from torch.utils.data import DataLoader, TensorDataset  # Gives easier dataset managment by creating mini batches etc.

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(model, optimizer, every=10) right after the optimizer is built; monitor.step(loss) right after "
              "loss.backward() (optimizer.zero_grad() comes before it, upstream's order), before optimizer.step()")


# Simple CNN
class CNN(nn.Module):
    def __init__(self, in_channels=1, num_classes=10, relu=True):
        super(CNN, self).__init__()  # noqa: UP008
        self.conv1 = nn.Conv2d(
            in_channels=in_channels,
            out_channels=8,
            kernel_size=(3, 3),
            stride=(1, 1),
            padding=(1, 1),
        )
        self.pool = nn.MaxPool2d(kernel_size=(2, 2), stride=(2, 2))
        self.conv2 = nn.Conv2d(
            in_channels=8,
            out_channels=16,
            kernel_size=(3, 3),
            stride=(1, 1),
            padding=(1, 1),
        )
        self.fc1 = nn.Linear(16 * 7 * 7, num_classes)
        self.act = F.relu if relu else (lambda t: t)  # the bug when relu=False: the two F.relu calls removed

    def forward(self, x):
        x = self.act(self.conv1(x))
        x = self.pool(x)
        x = self.act(self.conv2(x))
        x = self.pool(x)
        x = x.reshape(x.shape[0], -1)
        x = self.fc1(x)
        return x


# Set device (upstream: cuda when available)
device = torch.device("cpu")

# Hyperparameters
in_channels = 1
num_classes = 10
learning_rate = 0.001
batch_size = 64
num_epochs = 30  # upstream: 3 (of MNIST's 938 steps); see the docstring


def to_tensor(raw_pixels):
    """digits28(raw_pixels=True)'s 0..255 values divided by 255 as ToTensor does (no Normalize, as upstream)."""
    train, test = digits28(raw_pixels=True)
    if raw_pixels:  # the bug: 0..255 pixel values straight into the network
        return train, test
    return tuple(TensorDataset(d.tensors[0] / 255.0, d.tensors[1]) for d in (train, test))


# Check accuracy on training & test to see how good our model
def check_accuracy(loader, model):
    num_correct = 0
    num_samples = 0
    model.eval()

    with torch.no_grad():
        for x, y in loader:
            x = x.to(device=device)
            y = y.to(device=device)

            scores = model(x)
            _, predictions = scores.max(1)
            num_correct += (predictions == y).sum()
            num_samples += predictions.size(0)

    model.train()
    return float(num_correct) / float(num_samples)


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init_std: float | None = None,
          zero_grad: bool = True, relu: bool = True, epochs: int = num_epochs, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)

    # Load Data (MNIST -> scikit-learn's digits upsampled to 28x28, as ToTensor gives them: [0, 1])
    train_dataset, test_dataset = to_tensor(raw_pixels)
    train_loader = DataLoader(dataset=train_dataset, batch_size=batch_size, shuffle=True)
    test_loader = DataLoader(dataset=test_dataset, batch_size=batch_size, shuffle=True)

    # Initialize network
    model = CNN(in_channels=in_channels, num_classes=num_classes, relu=relu).to(device)
    if init_std is not None:  # the bug: every Conv2d and Linear weight drawn from N(0, init_std), biases kept
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, init_std)

    # Loss and optimizer
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=learning_rate * lr_mult)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    losses: list[float] = []
    t0 = time.time()
    # Train Network
    for epoch in range(epochs):
        for batch_idx, (data, targets) in enumerate(train_loader):  # noqa: B007
            # Get data to cuda if possible
            data = data.to(device=device)
            targets = targets.to(device=device)

            # forward
            scores = model(data)
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
    test_acc = check_accuracy(test_loader, model)
    train_acc = check_accuracy(train_loader, model)
    if verbose:
        print(f"test accuracy {test_acc:.4f}, train accuracy {train_acc:.4f}, steps {len(losses)}, "
              f"{time.time() - t0:.1f}s")
    finite = [v for v in losses if np.isfinite(v)]
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": test_acc, "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"train_acc": train_acc, "train_loss": float(np.mean(losses[-20:])),
                      "first_loss": float(np.mean(losses[:5])), "loss_max": float(max(finite, default=np.nan)),
                      "steps": len(losses), "lr": learning_rate * lr_mult},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="alpcnn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_H = ("unchanged (Conv(1, 8, 3)-ReLU-MaxPool-Conv(8, 16, 3)-ReLU-MaxPool-Linear(784, 10), default init, inputs in "
      "[0, 1], CrossEntropyLoss, Adam lr 0.001, batch 64 shuffled, 30 epochs = 690 steps, no clipping)")
CASES: list[dict] = (
    [_case(f"alpcnn_healthy_s{s}", "healthy", s, {}, _H, False) for s in (1, 2, 3)]
    + [_case(f"alpcnn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({0.001 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,)))
       for s in ss]
    + [_case("alpcnn_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (1e-06)")]
    + [_case("alpcnn_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Conv2d and Linear weight instead of PyTorch's default "
             "(kaiming_uniform_, a=sqrt(5)); biases kept")]
    + [_case("alpcnn_raw_pixels_s1", "unscaled_inputs", 1, {"raw_pixels": True},
             "raw 0..255 pixel values: no ToTensor scaling to [0, 1]")]
    + [_case("alpcnn_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             "optimizer.zero_grad() left out of the loop: the gradients accumulate over all steps")]
    + [_case("alpcnn_no_relu_s1", "healthy", 1, {"relu": False},
             "the two F.relu calls removed from forward (conv-pool-conv-pool-linear; max pooling the only "
             "nonlinearity)")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = float(v) if k in ("lr_mult", "init_std") else (int(v) if k in ("epochs", "seed") else v == "1")
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k not in ("monitors", "extra")}, r["extra"])
