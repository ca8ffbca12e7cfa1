"""yunjey/pytorch-tutorial's logistic regression (one nn.Linear(784, 10) under plain SGD), watched by gradmedic.

Adapted from https://github.com/yunjey/pytorch-tutorial (commit 3008d88222883c8691658b0a7833d07a1408d755; MIT
license, see LICENSE-yjlogreg): tutorials/01-basics/logistic_regression/main.py, a script with module-level code;
here its body is ``run_logreg``, whose lines are upstream's in upstream's order, and ``train`` calls it.
(yunjeybasic.py and tutorial.py port other programs of the same repository.)

Kept as in the original: the model ``nn.Linear(input_size, num_classes)`` (784 -> 10) with PyTorch's default init,
the hyper-parameters (batch 100, ``torch.optim.SGD(model.parameters(), lr=0.001)``, no momentum),
``nn.CrossEntropyLoss``, the DataLoaders (training shuffled, test not), the loop (``images.reshape(-1,
input_size)``, forward, loss, zero_grad, backward, step) and the test under ``torch.no_grad()``
(``torch.max(outputs.data, 1)``); inputs in [0, 1] as ``ToTensor`` gives them, not normalized, as upstream.

Changed to run offline on one CPU thread (torchvision does not import here):
- MNIST is mnist.py's ``digits28`` (scikit-learn's ``load_digits``, split 80/20 with random_state=0, upsampled
  bilinearly to 28x28) with its raw 0..255 values divided by 255 as ``ToTensor`` does: 1437 training and 360 test
  images, 15 steps of 100 per epoch (upstream: 600).
- Epochs: EPOCHS below (upstream: 5 epochs of 600 steps = 3000 steps); raised so that the healthy run reaches
  >= 0.9 test accuracy at upstream's lr 0.001 (SGD at that rate is slow: see the recorded outcomes).
- ``device`` is the CPU; ``torch.manual_seed(seed)`` (upstream does not seed); prints only with ``verbose`` (upstream:
  every 100 steps); no checkpoint saved (upstream: model.ckpt); the bugs of the variants (``lr_mult``,
  ``init_std``, ``raw_pixels``, ``zero_grad``) as in ``train``'s docstring.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer
is built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the loop.  Metric: the test accuracy on the 360 held-out images (chance 0.1).

``CASES`` (all of program "yjlogreg"; name prefix yjlogreg; run.py finds a variant's control as the first "_"
token of its name + "_healthy_s<seed>"): the program on seeds 1-3 and one change each against the same seed's
healthy run: the learning rate x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) for the Linear's weight; raw 0..255
pixels (no ``ToTensor`` scaling); ``optimizer.zero_grad()`` left out.

Recorded (cases-public23, 67 s in all): healthy 0.914, 0.917, 0.914 on seeds 1-3 (train loss 2.34 -> 0.65; 100
epochs, 1500 steps, end at 0.878, so 200 epochs: upstream's 3000 steps); lr /1000 0.122 (loss stays at 2.35) and
N(0, 1) init 0.372 (first losses ~18, 3.85 at the end) broken; lr x10 0.956, x100 0.961 and 0.967 (seeds 1, 2) and
zero_grad left out 0.942 healthy: SGD at upstream's lr 0.001 is slow on a convex problem, so a larger step (or the
accumulated gradients, which act as a growing step) trains better; lr x1000 0.961 (ambiguous: trains well, but its
losses reach 34 against the control's largest 2.4) and raw 0..255 pixels 0.958 (ambiguous: trains well, first
losses ~1400).
"""

# upstream's code is kept as written (str.format, the space in "print (")
# ruff: noqa: UP032

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
from mnist import digits28

import gradmedic

ARCH = "linear"
MONITOR_AT = ("watch(model, optimizer, every=10) right after the optimizer is built; monitor.step(loss) right after "
              "loss.backward(), before optimizer.step()")

EPOCHS = 200  # upstream: 5 epochs of 600 steps each (3000 steps; here 200 epochs of 15 = 3000 steps too)


def to_tensor(raw_pixels):
    """digits28(raw_pixels=True)'s 0..255 values divided by 255 as ToTensor does (no Normalize, as upstream)."""
    train, test = digits28(raw_pixels=True)
    if raw_pixels:  # the bug: 0..255 pixel values straight into the model
        return train, test
    return tuple(torch.utils.data.TensorDataset(d.tensors[0] / 255.0, d.tensors[1]) for d in (train, test))


# ==== 01-basics/logistic_regression/main.py ========================================================
def run_logreg(lr_mult, init_std, raw_pixels, zero_grad, num_epochs, every, verbose):
    # Hyper-parameters
    input_size = 28 * 28    # 784
    num_classes = 10
    batch_size = 100
    learning_rate = 0.001 * lr_mult

    # MNIST dataset (images and labels) -> scikit-learn's digits upsampled to 28x28, as ToTensor gives them: [0, 1]
    train_dataset, test_dataset = to_tensor(raw_pixels)

    # Data loader (input pipeline)
    train_loader = torch.utils.data.DataLoader(dataset=train_dataset,
                                               batch_size=batch_size,
                                               shuffle=True)

    test_loader = torch.utils.data.DataLoader(dataset=test_dataset,
                                              batch_size=batch_size,
                                              shuffle=False)

    # Logistic regression model
    model = nn.Linear(input_size, num_classes)
    if init_std is not None:  # the bug: the weight drawn from N(0, init_std) instead of the default (bias kept)
        nn.init.normal_(model.weight, 0.0, init_std)

    # Loss and optimizer
    # nn.CrossEntropyLoss() computes softmax internally
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    losses = []

    # Train the model
    total_step = len(train_loader)
    for epoch in range(num_epochs):
        for i, (images, labels) in enumerate(train_loader):
            # Reshape images to (batch_size, input_size)
            images = images.reshape(-1, input_size)

            # Forward pass
            outputs = model(images)
            loss = criterion(outputs, labels)

            # Backward and optimize
            if zero_grad:  # the bug when False: gradients accumulate over every step
                optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())

            if verbose and (i+1) % total_step == 0 and (epoch+1) % 10 == 0:  # upstream: every 100 steps
                print ('Epoch [{}/{}], Step [{}/{}], Loss: {:.4f}'
                       .format(epoch+1, num_epochs, i+1, total_step, loss.item()))
    monitor.close()

    # Test the model
    # In test phase, we don't need to compute gradients (for memory efficiency)
    with torch.no_grad():
        correct = 0
        total = 0
        for images, labels in test_loader:
            images = images.reshape(-1, input_size)
            outputs = model(images)
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum()

        if verbose:
            print('Accuracy of the model on the {} test images: {} %'.format(total, 100 * correct / total))
    return monitor, losses, correct.item() / total


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, raw_pixels: bool = False,
          zero_grad: bool = True, epochs: int | None = None, every: int = 10, verbose: bool = False) -> dict:
    """The program with one change per keyword: ``lr_mult`` scales SGD's lr 0.001; ``init_std`` draws the Linear's
    weight from N(0, init_std) instead of PyTorch's default (bias kept); ``raw_pixels`` feeds the 0..255 values
    (no ``ToTensor`` scaling); ``zero_grad=False`` leaves ``optimizer.zero_grad()`` out of the loop."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    epochs = epochs or EPOCHS
    monitor, losses, acc = run_logreg(lr_mult, init_std, raw_pixels, zero_grad, epochs, every, verbose)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc), "chance": 0.1, "initial": None,
            "initial_what": None,
            "extra": {"train_loss": float(np.mean(losses[-20:])), "first_loss": float(np.mean(losses[:5])),
                      "steps": len(losses), "epochs": epochs, "lr_mult": lr_mult, "test_images": 360},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="yjlogreg", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_W = (f"logistic_regression (nn.Linear(784, 10), CrossEntropyLoss, SGD lr 0.001, batch 100; {EPOCHS} epochs of 15 "
      "steps, inputs in [0, 1])")
CASES: list[dict] = (
    [_case(f"yjlogreg_healthy_s{s}", "healthy", s, {}, f"{_W}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"yjlogreg_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_W}: lr x{k} ({0.001 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("yjlogreg_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_W}: lr /1000 (1e-06)")]
    + [_case("yjlogreg_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_W}: nn.init.normal_(std=1.0) on the Linear's weight instead of PyTorch's default init (bias kept)")]
    + [_case("yjlogreg_raw_pixels_s1", "unscaled_inputs", 1, {"raw_pixels": True},
             f"{_W}: raw 0..255 pixel values (no ToTensor scaling)")]
    + [_case("yjlogreg_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_W}: optimizer.zero_grad() left out of the loop (gradients accumulate)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
