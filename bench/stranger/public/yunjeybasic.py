"""Two basic programs of yunjey/pytorch-tutorial (a 784-500-10 MLP, a BatchNorm ConvNet), watched by gradmedic.

Adapted from https://github.com/yunjey/pytorch-tutorial (commit 78c6afe681c4ff5095ef13662c02a7e369b1bcbd; MIT
license, see LICENSE-yunjeybasic): tutorials/01-basics/feedforward_neural_network/main.py ("ffn") and
tutorials/02-intermediate/convolutional_neural_network/main.py ("cnn").  Each is a script with module-level code;
here each script's body is a function (``run_ffn``, ``run_cnn``) whose lines are upstream's in upstream's order, and
``train(prog=...)`` calls one of them.  (tutorial.py ports three other programs of the same repository.)

Kept as in the original:
- ffn: ``NeuralNet`` (Linear(784, 500), ReLU, Linear(500, 10)) with PyTorch's default init, the hyper-parameters
  (batch 100, Adam lr 0.001), ``nn.CrossEntropyLoss``, the DataLoaders (training shuffled, test not), the loop
  (``images.reshape(-1, 28*28)``, forward, loss, zero_grad, backward, step) and the test under ``torch.no_grad()``
  (``torch.max(outputs.data, 1)``); inputs in [0, 1] as ``ToTensor`` gives them, not normalized, as upstream.
- cnn: ``ConvNet`` (Conv2d(1, 16, 5, padding 2), BatchNorm2d, ReLU, MaxPool2d(2); Conv2d(16, 32, 5, padding 2),
  BatchNorm2d, ReLU, MaxPool2d(2); Linear(7*7*32, 10)) with PyTorch's default init, batch 100, Adam lr 0.001,
  ``nn.CrossEntropyLoss``, the same loop, the test after ``model.eval()``; inputs in [0, 1], not normalized.

Changed to run offline on one CPU thread (torchvision does not import here):
- MNIST is mnist.py's ``digits28`` (scikit-learn's ``load_digits``, split 80/20 with random_state=0, upsampled
  bilinearly to 28x28) with its raw 0..255 values divided by 255 as ``ToTensor`` does: 1437 training and 360 test
  images, 15 steps of 100 per epoch.  Epochs: ffn 15 (225 steps), cnn 6 (90 steps); upstream: 5 epochs of 600.
- ``device`` is the CPU; ``torch.manual_seed(seed)`` (upstream does not seed); prints only with ``verbose``
  (upstream: every 100 steps); no checkpoint saved; the bugs of the variants (``init_std``, ``raw_pixels``,
  ``lr_mult``) as in ``train``'s docstring.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer
is built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the loop.  Metric: the test accuracy on the 360 held-out images (chance 0.1).

``CASES`` (all of program "yunjeybasic"; name prefixes yffn, ycnn; run.py finds a variant's control as the first
"_" token of its name + "_healthy_s<seed>"): each program on seeds 1-3 and one change each against the same seed's
healthy run: the learning rate x10, x100 (ffn on seeds 1 and 2), /1000, N(0, 1) for every Linear/Conv2d weight,
raw 0..255 pixels.

Recorded (cases-public13, 76 s in all): ffn healthy 0.969-0.975 on seeds 1-3; lr x10 0.978 (healthy); lr x100 0.586
and 0.347 (seeds 1, 2) and /1000 0.106 (broken); N(0, 1) init 0.886 (ambiguous: its first losses ~390, and 0.886 is
neither clearly worse nor >= 0.9) and raw 0..255 pixels 0.969 (ambiguous: trains as well, but its first losses ~90,
far above 2x the control's largest).  cnn healthy 0.983-0.994; lr /1000 0.147 and N(0, 1) init 0.542 (broken); raw
pixels 0.983 (healthy: the BatchNorm after each conv removes the inputs' scale); lr x10 0.978 and x100 0.931
(ambiguous: as good or nearly, but the largest loss 8.3 and 73 against the control's 2.4).
"""

# upstream's code is kept as written (super(Class, self), str.format)
# ruff: noqa: UP008, UP032

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
from mnist import digits28

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(model, optimizer, every=10) right after the optimizer is built; monitor.step(loss) right after "
              "loss.backward(), before optimizer.step()")

# Device configuration (upstream: cuda when available)
device = torch.device('cpu')


def to_tensor(raw_pixels):
    """digits28(raw_pixels=True)'s 0..255 values divided by 255 as ToTensor does (no Normalize, as upstream)."""
    train, test = digits28(raw_pixels=True)
    if raw_pixels:  # the bug: 0..255 pixel values straight into the network
        return train, test
    return tuple(torch.utils.data.TensorDataset(d.tensors[0] / 255.0, d.tensors[1]) for d in (train, test))


def spoil(model, init_std):
    if init_std is not None:  # the bug: every Linear/Conv2d weight drawn from N(0, init_std) (biases kept)
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                nn.init.normal_(m.weight, 0.0, init_std)


# ==== 01-basics/feedforward_neural_network/main.py =================================================
# Fully connected neural network with one hidden layer
class NeuralNet(nn.Module):
    def __init__(self, input_size, hidden_size, num_classes):
        super(NeuralNet, self).__init__()
        self.fc1 = nn.Linear(input_size, hidden_size)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        out = self.fc1(x)
        out = self.relu(out)
        out = self.fc2(out)
        return out


def run_ffn(lr_mult, init_std, raw_pixels, num_epochs, every, verbose):
    # Hyper-parameters
    input_size = 784
    hidden_size = 500
    num_classes = 10
    batch_size = 100
    learning_rate = 0.001 * lr_mult

    # MNIST dataset -> scikit-learn's digits upsampled to 28x28, as ToTensor gives them: [0, 1]
    train_dataset, test_dataset = to_tensor(raw_pixels)

    # Data loader
    train_loader = torch.utils.data.DataLoader(dataset=train_dataset,
                                               batch_size=batch_size,
                                               shuffle=True)

    test_loader = torch.utils.data.DataLoader(dataset=test_dataset,
                                              batch_size=batch_size,
                                              shuffle=False)

    model = NeuralNet(input_size, hidden_size, num_classes).to(device)
    spoil(model, init_std)

    # Loss and optimizer
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    losses = []

    # Train the model
    total_step = len(train_loader)
    for epoch in range(num_epochs):
        for i, (images, labels) in enumerate(train_loader):
            # Move tensors to the configured device
            images = images.reshape(-1, 28*28).to(device)
            labels = labels.to(device)

            # Forward pass
            outputs = model(images)
            loss = criterion(outputs, labels)

            # Backward and optimize
            optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())

            if verbose and (i+1) % total_step == 0:  # upstream: every 100 steps
                print ('Epoch [{}/{}], Step [{}/{}], Loss: {:.4f}'
                       .format(epoch+1, num_epochs, i+1, total_step, loss.item()))
    monitor.close()

    # Test the model
    # In test phase, we don't need to compute gradients (for memory efficiency)
    with torch.no_grad():
        correct = 0
        total = 0
        for images, labels in test_loader:
            images = images.reshape(-1, 28*28).to(device)
            labels = labels.to(device)
            outputs = model(images)
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()

        if verbose:
            print('Accuracy of the network on the {} test images: {} %'.format(total, 100 * correct / total))
    return monitor, losses, correct / total


# ==== 02-intermediate/convolutional_neural_network/main.py =========================================
# Convolutional neural network (two convolutional layers)
class ConvNet(nn.Module):
    def __init__(self, num_classes=10):
        super(ConvNet, self).__init__()
        self.layer1 = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=5, stride=1, padding=2),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2))
        self.layer2 = nn.Sequential(
            nn.Conv2d(16, 32, kernel_size=5, stride=1, padding=2),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2))
        self.fc = nn.Linear(7*7*32, num_classes)

    def forward(self, x):
        out = self.layer1(x)
        out = self.layer2(out)
        out = out.reshape(out.size(0), -1)
        out = self.fc(out)
        return out


def run_cnn(lr_mult, init_std, raw_pixels, num_epochs, every, verbose):
    # Hyper parameters
    num_classes = 10
    batch_size = 100
    learning_rate = 0.001 * lr_mult

    # MNIST dataset -> scikit-learn's digits upsampled to 28x28, as ToTensor gives them: [0, 1]
    train_dataset, test_dataset = to_tensor(raw_pixels)

    # Data loader
    train_loader = torch.utils.data.DataLoader(dataset=train_dataset,
                                               batch_size=batch_size,
                                               shuffle=True)

    test_loader = torch.utils.data.DataLoader(dataset=test_dataset,
                                              batch_size=batch_size,
                                              shuffle=False)

    model = ConvNet(num_classes).to(device)
    spoil(model, init_std)

    # Loss and optimizer
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    losses = []

    # Train the model
    total_step = len(train_loader)
    for epoch in range(num_epochs):
        for i, (images, labels) in enumerate(train_loader):
            images = images.to(device)
            labels = labels.to(device)

            # Forward pass
            outputs = model(images)
            loss = criterion(outputs, labels)

            # Backward and optimize
            optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())

            if verbose and (i+1) % total_step == 0:  # upstream: every 100 steps
                print ('Epoch [{}/{}], Step [{}/{}], Loss: {:.4f}'
                       .format(epoch+1, num_epochs, i+1, total_step, loss.item()))
    monitor.close()

    # Test the model
    model.eval()  # eval mode (batchnorm uses moving mean/variance instead of mini-batch mean/variance)
    with torch.no_grad():
        correct = 0
        total = 0
        for images, labels in test_loader:
            images = images.to(device)
            labels = labels.to(device)
            outputs = model(images)
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()

        if verbose:
            print('Test Accuracy of the model on the {} test images: {} %'.format(total, 100 * correct / total))
    return monitor, losses, correct / total


EPOCHS = {"ffn": 15, "cnn": 6}  # upstream: 5 epochs of 600 steps each


def train(seed: int = 1, prog: str = "ffn", lr_mult: float = 1.0, init_std: float | None = None,
          raw_pixels: bool = False, epochs: int | None = None, every: int = 10, verbose: bool = False) -> dict:
    """Program ``prog`` (ffn, cnn) with one change per keyword: ``lr_mult`` scales Adam's lr 0.001; ``init_std``
    draws every Linear/Conv2d weight from N(0, init_std) instead of PyTorch's default (biases kept); ``raw_pixels``
    feeds the 0..255 values (no ``ToTensor`` scaling)."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    epochs = epochs or EPOCHS[prog]
    fn = run_ffn if prog == "ffn" else run_cnn
    monitor, losses, acc = fn(lr_mult, init_std, raw_pixels, epochs, every, verbose)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc), "chance": 0.1, "initial": None,
            "initial_what": None,
            "extra": {"prog": prog, "train_loss": float(np.mean(losses[-20:])),
                      "first_loss": float(np.mean(losses[:5])), "steps": len(losses), "epochs": epochs,
                      "lr_mult": lr_mult, "test_images": 360},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="yunjeybasic", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_F = ("yffn", "ffn", "feedforward_neural_network (NeuralNet 784-500-10 ReLU, Adam lr 0.001; 15 epochs of 15 steps, "
      "inputs in [0, 1])")
_C = ("ycnn", "cnn", "convolutional_neural_network (ConvNet: two Conv5x5-BatchNorm-ReLU-MaxPool blocks, Linear; "
      "Adam lr 0.001; 6 epochs of 15 steps, inputs in [0, 1])")
CASES: list[dict] = []
for _p, _prog, _what in (_F, _C):
    _k = {"prog": _prog}
    CASES += (
        [_case(f"{_p}_healthy_s{s}", "healthy", s, dict(_k), f"{_what}: unchanged", False) for s in (1, 2, 3)]
        + [_case(f"{_p}_lr_x{k}_s{s}", "lr_high", s, dict(_k, lr_mult=k), f"{_what}: lr x{k} ({0.001 * k:g})")
           for k, ss in ((10, (1,)), (100, (1, 2) if _prog == "ffn" else (1,))) for s in ss]
        + [_case(f"{_p}_lr_div1000_s1", "lr_low", 1, dict(_k, lr_mult=1e-3), f"{_what}: lr /1000 (1e-06)")]
        + [_case(f"{_p}_init_std1_s1", "init_large", 1, dict(_k, init_std=1.0),
                 f"{_what}: nn.init.normal_(std=1.0) on every "
                 + ("Linear (fc1, fc2)" if _prog == "ffn" else "Conv2d and the fc")
                 + " weight instead of PyTorch's default init (biases kept)")]
        + [_case(f"{_p}_raw_pixels_s1", "unscaled_inputs", 1, dict(_k, raw_pixels=True),
                 f"{_what}: raw 0..255 pixel values (no ToTensor scaling)")]
    )


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
