"""Sebastian Raschka's deeplearning-models basic multilayer perceptron (SGD, digits), watched by gradmedic.

Adapted from https://github.com/rasbt/deeplearning-models (commit 18e046926551378cd691fd871dda0f21dcd272ab,
pytorch_ipynb/mlp/mlp-basic.ipynb; MIT License, Copyright (c) 2019-2022 Sebastian Raschka, see
LICENSE-rasbtmlpbasic), the notebook's code cells.  Kept as in the notebook: ``MultilayerPerceptron`` (copied below:
``linear_1`` num_features -> num_hidden_1 = 128, ReLU, ``linear_2`` 128 -> num_hidden_2 = 256, ReLU, ``linear_out``
256 -> 10; ``forward`` returns ``logits, probas`` with ``probas = F.log_softmax(logits, dim=1)``), its init (every
weight ``.detach().normal_(0.0, 0.1)``, every bias ``.detach().zero_()``), ``torch.manual_seed(random_seed)`` right
before the model is built, ``torch.optim.SGD(model.parameters(), lr=learning_rate)`` with learning_rate = 0.1 (no
momentum), batch_size = 64 with a shuffled training loader and an unshuffled test loader, inputs in [0, 1]
(``ToTensor``; no Normalize), the loop (``model.train()``, ``features.view(...)``, ``logits, probas =
model(features)``, ``cost = F.cross_entropy(logits, targets)``, ``optimizer.zero_grad()``, ``cost.backward()``,
``optimizer.step()``), the per-epoch ``compute_accuracy(model, train_loader)`` under
``torch.set_grad_enabled(False)`` (kept: it draws from the global RNG through the shuffled loader, as in the
notebook; its last value goes to ``extra``), and the test accuracy from ``compute_accuracy`` on the test loader
(argmax of ``probas``) as the metric (a fraction here, not a percentage).

Changed to run offline on one CPU thread: MNIST is scikit-learn's ``load_digits`` (no download, no torchvision),
through d2ldrop.py's ``digits64`` (imported, not copied: the 8x8 images as 64 values divided by 16 into [0, 1], split
1437 training / 360 test with ``train_test_split(test_size=0.2, random_state=0)``), so num_features = 64 instead of
784 and ``features.view(-1, 64)`` instead of ``view(-1, 28*28)``; NUM_EPOCHS = 30 epochs of 23 batches (690 steps)
instead of 10 epochs of 938 batches over MNIST (9380 steps); ``device`` is the CPU; the dataset shape check and the
per-50-batch and timing prints are left out (printed only with ``verbose``); ``torch.manual_seed(seed)`` also
before the loaders are built (the notebook does not seed them); the run's seed replaces random_seed = 1.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(cost)`` right after ``cost.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the last epoch.

``CASES`` (program "rasbtmlpbasic"): the program on seeds 1-3, and one change each against the same seed's healthy
run: SGD lr x10, x100 (seeds 1 and 2), /1000; raw 0..16 inputs (the digits' values not divided by 16); every weight
``normal_(0.0, 1.0)`` instead of ``normal_(0.0, 0.1)``; every weight zero (biases stay zero in both);
``optimizer.zero_grad()`` left out; ``F.softmax`` applied to the logits before ``F.cross_entropy``; and lr x2
(0.2, expected harmless).  Labels come from run.py's outcome rules only.
Recorded (cases-public71; 13 runs, 2-6 s a run, about 30 s with rasbtlogreg on a shared 2-core machine): healthy
test accuracy 0.969, 0.967, 0.958 on seeds 1-3 (loss 2.25-2.29 over the first 5 steps -> 0.048-0.053, largest
2.36-2.40, every loss finite, training accuracy 0.993-0.994); lr x10 (1.0): the loss rises to 6.08 and ends at 1.50,
0.394: broken; lr x100 (10): first losses ~8e4 (seed 1, largest 1.2e27) and ~1.4e3 (seed 2, largest 1.5e4), then
stuck at 2.38-2.39, 0.114 and 0.081: broken; lr /1000 (1e-4): training loss 2.32 -> 2.29, 0.122: broken; raw 0..16
inputs: first losses ~50, largest 93.7, then stuck at 2.30, 0.083: broken; weights normal_(0, 1): first losses
~1.6e3, largest 3522, training loss 1.31, 0.442: broken; zero weights: the loss stays at 2.30, 0.081: broken;
optimizer.zero_grad() left out: the loss climbs to 1331 and ends at 2.85, 0.108: broken; softmax before
F.cross_entropy: training loss 2.30 -> 1.60, 0.861 (10.8 points below its control): broken; lr x2 (0.2): training
loss 0.019, 0.975: healthy.  Labels: 4 healthy (3 programs, 1 variant), 9 broken, 0 ambiguous; no non-finite loss in
any run.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from d2ldrop import digits64
from torch.utils.data import DataLoader, TensorDataset

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = torch.optim.SGD(...); monitor.step(cost) "
              "right after cost.backward() (F.cross_entropy on the logits, batch 64), before optimizer.step() "
              "(optimizer.zero_grad() comes before the backward, the notebook's order)")

##########################
### SETTINGS
##########################

# Hyperparameters
random_seed = 1
learning_rate = 0.1
NUM_EPOCHS = 30  # the notebook: num_epochs = 10 over MNIST's 60000 images
batch_size = 64

# Architecture
num_features = 64  # the notebook: 784 (28x28 MNIST)
num_hidden_1 = 128
num_hidden_2 = 256
num_classes = 10


##########################
### MODEL
##########################

class MultilayerPerceptron(torch.nn.Module):

    def __init__(self, num_features, num_classes, init_std=0.1):
        super(MultilayerPerceptron, self).__init__()  # noqa: UP008 (as in the notebook)

        ### 1st hidden layer
        self.linear_1 = torch.nn.Linear(num_features, num_hidden_1)
        # The following two lines are not necessary,
        # but used here to demonstrate how to access the weights
        # and use a different weight initialization.
        # By default, PyTorch uses Xavier/Glorot initialization, which
        # should usually be preferred.
        self.linear_1.weight.detach().normal_(0.0, init_std)  # the notebook: 0.1
        self.linear_1.bias.detach().zero_()

        ### 2nd hidden layer
        self.linear_2 = torch.nn.Linear(num_hidden_1, num_hidden_2)
        self.linear_2.weight.detach().normal_(0.0, init_std)
        self.linear_2.bias.detach().zero_()

        ### Output layer
        self.linear_out = torch.nn.Linear(num_hidden_2, num_classes)
        self.linear_out.weight.detach().normal_(0.0, init_std)
        self.linear_out.bias.detach().zero_()

        if init_std == 0.0:  # the symmetric_init variant: every weight zero
            for m in (self.linear_1, self.linear_2, self.linear_out):
                m.weight.detach().zero_()

    def forward(self, x):
        out = self.linear_1(x)
        out = F.relu(out)
        out = self.linear_2(out)
        out = F.relu(out)
        logits = self.linear_out(out)
        probas = F.log_softmax(logits, dim=1)
        return logits, probas


def compute_accuracy(net, data_loader):
    net.eval()
    correct_pred, num_examples = 0, 0
    with torch.no_grad():
        for features, targets in data_loader:
            features = features.view(-1, num_features)
            logits, probas = net(features)
            _, predicted_labels = torch.max(probas, 1)
            num_examples += targets.size(0)
            correct_pred += (predicted_labels == targets).sum()
        return float(correct_pred.float()/num_examples)  # the notebook: * 100 (a percentage)


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, init_std: float = 0.1,
          zero_grad: bool = True, softmax: bool = False, num_epochs: int = NUM_EPOCHS, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    xtr, ytr, xte, yte = digits64()
    xtr, xte = xtr * input_scale, xte * input_scale  # input_scale 16: the digits' raw 0..16 values
    train_loader = DataLoader(dataset=TensorDataset(xtr, ytr), batch_size=batch_size, shuffle=True)
    test_loader = DataLoader(dataset=TensorDataset(xte, yte), batch_size=batch_size, shuffle=False)

    torch.manual_seed(seed)  # the notebook: torch.manual_seed(random_seed)
    model = MultilayerPerceptron(num_features=num_features, num_classes=num_classes, init_std=init_std)
    lr = learning_rate * lr_mult
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)

    losses, train_acc = [], float("nan")
    for epoch in range(num_epochs):
        model.train()
        for batch_idx, (features, targets) in enumerate(train_loader):

            features = features.view(-1, num_features)

            ### FORWARD AND BACK PROP
            logits, probas = model(features)
            if softmax:  # the wrong_loss variant: probabilities fed to F.cross_entropy
                logits = F.softmax(logits, dim=1)
            cost = F.cross_entropy(logits, targets)
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()

            cost.backward()
            monitor.step(cost)  # gradmedic

            ### UPDATE MODEL PARAMETERS
            optimizer.step()
            losses.append(float(cost.detach()))

            ### LOGGING
            if verbose and not batch_idx % 50:
                print('Epoch: %03d/%03d | Batch %03d/%03d | Cost: %.4f'  # noqa: UP031 (as in the notebook)
                      % (epoch+1, num_epochs, batch_idx, len(train_loader), cost))

        with torch.set_grad_enabled(False):
            train_acc = compute_accuracy(model, train_loader)
        if verbose:
            print('Epoch: %03d/%03d training accuracy: %.2f%%' % (epoch+1, num_epochs, 100 * train_acc))  # noqa: UP031
    monitor.close()

    acc = compute_accuracy(model, test_loader)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc, "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(lr=lr, train_loss=float(np.mean(losses[-20:])), first_loss=float(np.mean(losses[:5])),
                          max_loss=float(np.nanmax(losses)), finite_losses=bool(np.isfinite(losses).all()),
                          steps=len(losses), epochs=num_epochs, train_acc=train_acc, lr_mult=lr_mult,
                          input_scale=input_scale, init_std=init_std, zero_grad=zero_grad, softmax=softmax,
                          test_images=len(yte)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="rasbtmlpbasic", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = (f"rasbt mlp-basic (Linear 64-128-256-10, ReLU, weights normal_(0, 0.1), biases zero; F.cross_entropy on the "
      f"logits; SGD lr {learning_rate:g}, batch {batch_size}, {NUM_EPOCHS} epochs of 23 steps)")
CASES: list[dict] = (
    [_case(f"rasbtmlpbasic_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"rasbtmlpbasic_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({learning_rate * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("rasbtmlpbasic_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3},
             f"{_P}: lr /1000 ({learning_rate * 1e-3:g})")]
    + [_case("rasbtmlpbasic_raw_inputs_s1", "unscaled_inputs", 1, {"input_scale": 16.0},
             f"{_P}: inputs unscaled (x16: the digits' raw 0..16 values)")]
    + [_case("rasbtmlpbasic_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_P}: every weight normal_(0.0, 1.0) instead of normal_(0.0, 0.1)")]
    + [_case("rasbtmlpbasic_zero_init_s1", "symmetric_init", 1, {"init_std": 0.0},
             f"{_P}: every weight zero (symmetric; biases zero as in the notebook)")]
    + [_case("rasbtmlpbasic_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("rasbtmlpbasic_softmax_ce_s1", "wrong_loss", 1, {"softmax": True},
             f"{_P}: F.softmax over the logits before F.cross_entropy")]
    + [_case("rasbtmlpbasic_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: lr x2 ({learning_rate * 2:g})")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(**kw)
    print({k: v for k, v in r.items() if k != "monitors"})
