"""Patrick Loeber's pytorchTutorial: logistic regression (08) and the feed-forward net (13), watched by gradmedic.

Adapted from https://github.com/patrickloeber/pytorchTutorial (commit 69637721ed9fa2ccf81a1093a928a52bbb591439; MIT
License, Copyright (c) 2020 Patrick Loeber, see LICENSE-plogreg): 08_logistic_regression.py (last changed in
322eeb4aa4b83498ab13a3707e29a538f45883a8) and 13_feedforward.py (last changed in
28e0e441b7174107361de17bb580d37663dc0854), two scripts with module-level code; here their bodies are
``run_logreg`` and ``run_ffnn``, whose lines are upstream's in upstream's order, and ``train`` calls one of them.

Logistic regression (name prefix ``plogreg``), kept as upstream has it: scikit-learn's ``load_breast_cancer`` (569
samples, 30 features; ships with scikit-learn, no download), ``train_test_split(test_size=0.2, random_state=1234)``,
``StandardScaler`` fitted on the training split, ``Model`` = ``nn.Linear(n_features, 1)`` with PyTorch's default
init and ``torch.sigmoid`` in ``forward``, ``nn.BCELoss()``, ``torch.optim.SGD(model.parameters(), lr=0.01)``, full
batch, 100 epochs, the loop's order (forward, loss, ``loss.backward()``, ``optimizer.step()``,
``optimizer.zero_grad()``) and the test accuracy (``y_predicted.round().eq(y_test)``, 114 test samples).
Nothing was shrunk (a run takes well under a second); changed only: ``torch.manual_seed(seed)`` (upstream does not
seed; the seed only draws the Linear's init, the split is fixed), prints only with ``verbose``.

Feed-forward net (name prefix ``pffnn``), kept as upstream has it: ``NeuralNet(input_size, hidden_size,
num_classes)`` = ``l1`` Linear(784, 500), ``nn.ReLU``, ``l2`` Linear(500, 10), no softmax at the end, PyTorch's
default init; ``nn.CrossEntropyLoss()``, ``torch.optim.Adam(model.parameters(), lr=0.001)``, batch_size 100 with a
shuffled training DataLoader and an unshuffled test DataLoader, ``images.reshape(-1, 28*28)``, the loop's order
(forward, loss, ``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``), inputs in [0, 1] as
``ToTensor`` gives them, not normalized, and the test accuracy with ``torch.max(outputs.data, 1)``.  (hidden_size
is 500 upstream, not 100.)  Changed to run offline on one CPU thread: MNIST is scikit-learn's ``load_digits``
through bmlp.py's ``digits28`` (imported, not copied: 8x8 images divided by 16 to [0, 1], bilinearly upsampled to
1x28x28, split 1437 / 360 with random_state 0), so an epoch is 15 steps instead of 600; FFNN_EPOCHS below instead
of upstream's 2 epochs (1200 steps) so that the healthy run trains to >= 0.9 test accuracy; the device is the CPU;
``torch.manual_seed(seed)``; the matplotlib example plot is left out; prints only with ``verbose``.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()`` (in 08, where
``optimizer.zero_grad()`` follows the step; in 13, where it precedes the backward); ``monitor.close()`` after the
loop.  Metric: test accuracy (run.py's good outcome: >= 0.9).

``CASES`` (all program "plogreg"; run.py finds a variant's control as the first "_" token of its name +
"_healthy_s<seed>"): logistic regression on seeds 1-3 and one change each against the same seed's healthy run: SGD
lr x10, x100 (seeds 1 and 2), x1000, /1000; ``StandardScaler`` removed (raw features, some in the thousands);
``torch.sigmoid`` applied twice before ``nn.BCELoss``; the Linear's weight initialised to the constant 10.  The
feed-forward net on seeds 1 and 2 and, against seed 1: Adam lr x100, x1000; raw 0..255 pixels; N(0, 1) on both
Linear weights; ``torch.softmax`` applied to the outputs before ``nn.CrossEntropyLoss``.  Neither script clips, so
there is no clipping case.  Labels come from run.py's outcome rules only.

Recorded (cases-public24; 18 cases in 23 s, logistic regression 0.1 s a run, the feed-forward net 2-5 s, on a
shared 2-core machine): logistic regression healthy 0.921, 0.921, 0.939 on seeds 1-3 (BCE 0.46-0.69 -> 0.23-0.25);
SGD lr x10 (0.1) 0.939, x100 (1.0) 0.956 and 0.965 (seeds 1, 2), x1000 (10) 0.956 (largest loss 1.05 against the
control's 0.74): all healthy (a convex problem on standardized features that 100 steps at lr 0.01 leave
under-trained); lr /1000 0.456 (loss stays at 0.73), no StandardScaler 0.605 (the majority class; loss 31 -> 37),
the double sigmoid 0.605 (every output above 0.5; loss 0.66 -> 0.58) and the weight set to 10 0.149 (loss stuck
at 81.6, BCELoss's clamped log): broken.  The feed-forward net healthy 0.953 on seeds 1 and 2 (loss 2.0 -> 0.10);
Adam lr x100 (0.1) 0.542 (first losses ~190) and x1000 (1.0) 0.075 (losses ~2e4, then 2.32): broken; raw 0..255
pixels 0.947 (first losses ~90, then 0.10) and N(0, 1) weights 0.869 (first losses ~390, 3.3 at the end):
ambiguous (their largest loss is far above 2x the control's); the softmax before CrossEntropyLoss 0.958 (its loss
only falls to 1.51, the floor of a softmax of probabilities, but the argmax is right): healthy.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
from bmlp import digits28
from sklearn import datasets
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import gradmedic

ARCH = "linear"
MONITOR_AT = ("watch(model, optimizer, every=10) right after the optimizer is built; monitor.step(loss) right after "
              "loss.backward(), before optimizer.step() (08 logistic regression: full batch, nn.BCELoss on the "
              "sigmoid output, zero_grad after the step; 13 feed-forward: batch 100, nn.CrossEntropyLoss on the "
              "logits, zero_grad before the backward)")

LOGREG_EPOCHS = 100  # upstream: 100
FFNN_EPOCHS = 10  # upstream: 2 epochs of 600 steps over MNIST (here 15 steps an epoch, see the docstring)


# ==== 08_logistic_regression.py ====================================================================
# 1) Model
# Linear model f = wx + b , sigmoid at the end
class Model(nn.Module):
    def __init__(self, n_input_features, double_sigmoid=False):
        super().__init__()
        self.linear = nn.Linear(n_input_features, 1)
        self.double_sigmoid = double_sigmoid

    def forward(self, x):
        y_pred = torch.sigmoid(self.linear(x))
        if self.double_sigmoid:  # the bug: the sigmoid applied a second time
            y_pred = torch.sigmoid(y_pred)
        return y_pred


def run_logreg(lr_mult, scale, double_sigmoid, init_const, num_epochs, every, verbose):
    # 0) Prepare data
    bc = datasets.load_breast_cancer()
    X, y = bc.data, bc.target

    n_samples, n_features = X.shape

    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=1234)

    # scale
    if scale:  # the bug when False: no StandardScaler, the raw features (some in the thousands)
        sc = StandardScaler()
        X_train = sc.fit_transform(X_train)
        X_test = sc.transform(X_test)

    X_train = torch.from_numpy(X_train.astype(np.float32))
    X_test = torch.from_numpy(X_test.astype(np.float32))
    y_train = torch.from_numpy(y_train.astype(np.float32))
    y_test = torch.from_numpy(y_test.astype(np.float32))

    y_train = y_train.view(y_train.shape[0], 1)
    y_test = y_test.view(y_test.shape[0], 1)

    model = Model(n_features, double_sigmoid)
    if init_const is not None:  # the bug: the weight set to a constant instead of the default init (bias kept)
        nn.init.constant_(model.linear.weight, init_const)

    # 2) Loss and optimizer
    learning_rate = 0.01 * lr_mult
    criterion = nn.BCELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    losses = []

    # 3) Training loop
    for epoch in range(num_epochs):
        # Forward pass and loss
        y_pred = model(X_train)
        loss = criterion(y_pred, y_train)

        # Backward pass and update
        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()

        # zero grad before new step
        optimizer.zero_grad()
        losses.append(loss.item())

        if verbose and (epoch+1) % 10 == 0:
            print(f'epoch: {epoch+1}, loss = {loss.item():.4f}')
    monitor.close()

    with torch.no_grad():
        y_predicted = model(X_test)
        y_predicted_cls = y_predicted.round()
        acc = y_predicted_cls.eq(y_test).sum() / float(y_test.shape[0])
        if verbose:
            print(f'accuracy: {acc.item():.4f}')
    majority = float(max(y_test.mean().item(), 1 - y_test.mean().item()))
    return monitor, losses, acc.item(), majority


# ==== 13_feedforward.py ============================================================================
# Fully connected neural network with one hidden layer
class NeuralNet(nn.Module):
    def __init__(self, input_size, hidden_size, num_classes):
        super().__init__()
        self.input_size = input_size
        self.l1 = nn.Linear(input_size, hidden_size)
        self.relu = nn.ReLU()
        self.l2 = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        out = self.l1(x)
        out = self.relu(out)
        out = self.l2(out)
        # no activation and no softmax at the end
        return out


def run_ffnn(lr_mult, raw_pixels, init_std, softmax_out, num_epochs, every, verbose):
    # Device configuration
    device = torch.device('cpu')

    # Hyper-parameters
    input_size = 784 # 28x28
    hidden_size = 500
    num_classes = 10
    batch_size = 100
    learning_rate = 0.001 * lr_mult

    # MNIST dataset -> scikit-learn's digits upsampled to 28x28 in [0, 1] (bmlp.digits28), as ToTensor gives them
    xtr, ytr, xte, yte = digits28()
    if raw_pixels:  # the bug: raw 0..255 pixel values (no ToTensor scaling)
        xtr, xte = xtr * 255.0, xte * 255.0
    train_dataset = torch.utils.data.TensorDataset(xtr, ytr)
    test_dataset = torch.utils.data.TensorDataset(xte, yte)

    # Data loader
    train_loader = torch.utils.data.DataLoader(dataset=train_dataset,
                                               batch_size=batch_size,
                                               shuffle=True)

    test_loader = torch.utils.data.DataLoader(dataset=test_dataset,
                                              batch_size=batch_size,
                                              shuffle=False)

    model = NeuralNet(input_size, hidden_size, num_classes).to(device)
    if init_std is not None:  # the bug: N(0, init_std) on both Linear weights instead of the default (biases kept)
        nn.init.normal_(model.l1.weight, 0.0, init_std)
        nn.init.normal_(model.l2.weight, 0.0, init_std)

    # Loss and optimizer
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    losses = []

    # Train the model
    n_total_steps = len(train_loader)
    for epoch in range(num_epochs):
        for i, (images, labels) in enumerate(train_loader):
            # origin shape: [100, 1, 28, 28]
            # resized: [100, 784]
            images = images.reshape(-1, 28*28).to(device)
            labels = labels.to(device)

            # Forward pass
            outputs = model(images)
            if softmax_out:  # the bug: probabilities into CrossEntropyLoss, which expects logits
                outputs = torch.softmax(outputs, dim=1)
            loss = criterion(outputs, labels)

            # Backward and optimize
            optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())

            if verbose and (i+1) % n_total_steps == 0 and (epoch+1) % 2 == 0:  # upstream: every 100 steps
                print (f'Epoch [{epoch+1}/{num_epochs}], Step [{i+1}/{n_total_steps}], Loss: {loss.item():.4f}')
    monitor.close()

    # Test the model
    # In test phase, we don't need to compute gradients (for memory efficiency)
    with torch.no_grad():
        n_correct = 0
        n_samples = 0
        for images, labels in test_loader:
            images = images.reshape(-1, 28*28).to(device)
            labels = labels.to(device)
            outputs = model(images)
            # max returns (value ,index)
            _, predicted = torch.max(outputs.data, 1)
            n_samples += labels.size(0)
            n_correct += (predicted == labels).sum().item()

        acc = 100.0 * n_correct / n_samples
        if verbose:
            print(f'Accuracy of the network on the {n_samples} test images: {acc} %')
    return monitor, losses, acc / 100.0, 0.1


def train(seed: int = 1, net: str = "logreg", lr_mult: float = 1.0, scale: bool = True, double_sigmoid: bool = False,
          init_const: float | None = None, raw_pixels: bool = False, init_std: float | None = None,
          softmax_out: bool = False, epochs: int | None = None, every: int = 10, verbose: bool = False) -> dict:
    """``net`` "logreg" (08) or "ffnn" (13), with one change per keyword: ``lr_mult`` scales the lr (SGD 0.01 or
    Adam 0.001); for logreg ``scale=False`` drops the StandardScaler, ``double_sigmoid`` applies torch.sigmoid twice,
    ``init_const`` sets the Linear's weight to that constant; for ffnn ``raw_pixels`` feeds 0..255 values,
    ``init_std`` draws both weights from N(0, init_std), ``softmax_out`` puts a softmax before CrossEntropyLoss."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    if net == "logreg":
        epochs = epochs or LOGREG_EPOCHS
        monitor, losses, acc, chance = run_logreg(lr_mult, scale, double_sigmoid, init_const, epochs, every, verbose)
        what = f"chance accuracy {chance:.3f} (the test set's majority class)"
    else:
        epochs = epochs or FFNN_EPOCHS
        monitor, losses, acc, chance = run_ffnn(lr_mult, raw_pixels, init_std, softmax_out, epochs, every, verbose)
        what = "chance accuracy 0.1"
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc), "chance": chance, "initial": None,
            "initial_what": what,
            "extra": {"net": net, "train_loss": float(np.mean(losses[-20:])), "first_loss": float(np.mean(losses[:5])),
                      "loss_max": float(np.max(losses)), "steps": len(losses), "epochs": epochs, "lr_mult": lr_mult},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="plogreg", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_L = (f"08_logistic_regression (nn.Linear(30, 1) + torch.sigmoid, nn.BCELoss, SGD lr 0.01, full batch, {LOGREG_EPOCHS} "
      "epochs, StandardScaler)")
_F = (f"13_feedforward (784-500-10 ReLU NeuralNet, CrossEntropyLoss on the logits, Adam lr 0.001, batch 100, "
      f"{FFNN_EPOCHS} epochs of 15 steps, inputs in [0, 1])")
_LOG = {"net": "logreg"}
_FF = {"net": "ffnn"}
CASES: list[dict] = (
    [_case(f"plogreg_healthy_s{s}", "healthy", s, dict(_LOG), f"{_L}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"plogreg_lr_x{k}_s{s}", "lr_high", s, dict(_LOG, lr_mult=k), f"{_L}: lr x{k} ({0.01 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("plogreg_lr_div1000_s1", "lr_low", 1, dict(_LOG, lr_mult=1e-3), f"{_L}: lr /1000 (1e-05)")]
    + [_case("plogreg_no_scaler_s1", "unscaled_inputs", 1, dict(_LOG, scale=False),
             f"{_L}: StandardScaler removed, the raw features (some in the thousands) into the Linear")]
    + [_case("plogreg_double_sigmoid_s1", "wrong_loss", 1, dict(_LOG, double_sigmoid=True),
             f"{_L}: torch.sigmoid applied twice in forward before nn.BCELoss (outputs in (0.5, 0.73))")]
    + [_case("plogreg_init_const10_s1", "init_large", 1, dict(_LOG, init_const=10.0),
             f"{_L}: nn.init.constant_(linear.weight, 10) instead of PyTorch's default init (bias kept)")]
    + [_case(f"pffnn_healthy_s{s}", "healthy", s, dict(_FF), f"{_F}: unchanged", False) for s in (1, 2)]
    + [_case(f"pffnn_lr_x{k}_s1", "lr_high", 1, dict(_FF, lr_mult=k), f"{_F}: Adam lr x{k} ({0.001 * k:g})")
       for k in (100, 1000)]
    + [_case("pffnn_raw_pixels_s1", "unscaled_inputs", 1, dict(_FF, raw_pixels=True),
             f"{_F}: raw 0..255 pixel values (no ToTensor scaling)")]
    + [_case("pffnn_init_std1_s1", "init_large", 1, dict(_FF, init_std=1.0),
             f"{_F}: nn.init.normal_(std=1.0) on l1.weight and l2.weight instead of PyTorch's default (biases kept)")]
    + [_case("pffnn_softmax_ce_s1", "wrong_loss", 1, dict(_FF, softmax_out=True),
             f"{_F}: torch.softmax on the outputs before nn.CrossEntropyLoss (which applies log_softmax itself)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
