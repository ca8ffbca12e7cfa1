"""Sebastian Raschka's deeplearning-models multilayer perceptron with dropout (SGD, digits), watched by gradmedic.

Adapted from https://github.com/rasbt/deeplearning-models (commit 18e046926551378cd691fd871dda0f21dcd272ab,
pytorch_ipynb/mlp/mlp-dropout.ipynb, last changed in c8702ff1682e6b809ab2c203aa4484e678a5398e; MIT License,
Copyright (c) 2019-2022 Sebastian Raschka, see LICENSE-rasbtdropout), the notebook's code cells.  Kept as in the
notebook: ``MultilayerPerceptron`` (copied below: ``linear_1`` num_features -> num_hidden_1 = 128 -> ReLU ->
``F.dropout(p=dropout_prob, training=self.training)`` -> ``linear_2`` 128 -> num_hidden_2 = 256 -> ReLU -> dropout
-> ``linear_out`` 256 -> 10; ``forward`` returns ``logits, probas``), its init (every weight
``.detach().normal_(0.0, 0.1)``, every bias ``.detach().zero_()``), dropout_prob = 0.5,
``torch.manual_seed(random_seed)`` right before the model is built, ``torch.optim.SGD(model.parameters(),
lr=learning_rate)`` with learning_rate = 0.1 (no momentum), batch_size = 64 with a shuffled training loader and an
unshuffled test loader, inputs in [0, 1] (``ToTensor``; no Normalize), the loop (``model.train()``, ``logits,
probas = model(features)``, ``cost = F.cross_entropy(logits, targets)``, ``optimizer.zero_grad()``,
``cost.backward()``, ``optimizer.step()``), the per-epoch ``compute_accuracy`` over the (shuffled) training loader
(``net.eval()``, ``torch.no_grad()``; kept: it draws from the global RNG through the shuffled loader, as in the
notebook; its last value goes to ``extra``), and the test accuracy from ``compute_accuracy`` on the test loader
(argmax of ``probas``) as the metric (a fraction here, not a percentage).

Changed to run offline on one CPU thread: MNIST is scikit-learn's ``load_digits`` (no download, no torchvision):
the 8x8 images as 64 values divided by 16 into [0, 1] (num_features = 64 instead of 784, so
``features.view(-1, 28*28)`` is ``features.view(-1, 64)``), split 1437 training / 360 test (``train_test_split``,
random_state 0); NUM_EPOCHS = 30 epochs of 23 batches (690 steps) instead of 10 epochs over MNIST's 60000 images
(9380 steps); ``device`` is the CPU; the dataset shape check, the per-50-batch and timing prints are left out;
``torch.manual_seed(seed)`` also before the data loaders are built (the notebook does not seed the loaders); the
run's seed replaces random_seed = 1.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(cost)`` right after ``cost.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the last epoch.

``CASES`` (program "rasbtdropout"): the program on seeds 1-3, and one change each against the same seed's healthy
run: SGD lr x10, x100 (seeds 1 and 2), /1000; raw 0..16 inputs (no division by 16); every weight and bias
``normal_(0, 1)`` instead of the notebook's init; every weight and bias zero; ``optimizer.zero_grad()`` left out;
``F.softmax`` over the logits before ``F.cross_entropy``; and dropout removed (dropout_prob = 0, expected harmless;
cause "healthy", as no cause of causes.py names it).  Labels come from run.py's outcome rules only.
Recorded (cases-public65; the 13 runs in about 50 s, 3-4 s a run on a shared 2-core machine): healthy test
accuracy 0.972, 0.972, 0.969 on seeds 1-3 (loss 2.37-2.47 over the first 5 steps -> 0.21, largest 2.42-2.64, every
loss finite, training accuracy 0.983-0.987); lr x10 (1.0): loss up to 3.34, train loss 0.91, 0.883 (8.9 points below
its control): ambiguous; lr x100 (10): first losses ~4e5 and ~2e7 (largest 3.4e7 and 5.8e12, all finite), then stuck
at 2.39-2.41, 0.111 and 0.100: broken; lr /1000 (1e-4): train loss 2.44 -> 2.41, 0.114: broken; raw 0..16 inputs:
first losses ~10 (largest 20.8), train loss 1.61, 0.603: broken; weights and biases normal_(0, 1): first losses ~980
(largest 1646), train loss 2.27, 0.144: broken; zero init: the loss stays at 2.30, 0.081: broken;
optimizer.zero_grad() left out: the loss rises to 9.1 and ends at 2.45, 0.100: broken; softmax before
F.cross_entropy: train loss 2.31 -> 1.77, 0.744: broken; dropout removed: train loss 0.048, 0.969: healthy.  Labels:
4 healthy (3 programs, 1 variant), 8 broken, 1 ambiguous (lr x10); no non-finite loss in any run.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
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
dropout_prob = 0.5

# Architecture
num_features = 64  # the notebook: 784 (28*28 MNIST pixels)
num_hidden_1 = 128
num_hidden_2 = 256
num_classes = 10


def digits64(input_scale: float = 1.0):
    """(train, test) TensorDatasets of load_digits as 64 values in [0, 1] (x input_scale): a fixed 1437/360 split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.data, d.target, test_size=0.2, random_state=0)
    f = lambda x: torch.tensor(x, dtype=torch.float32) / 16.0 * input_scale  # noqa: E731  ToTensor: [0, 1]
    return TensorDataset(f(xtr), torch.tensor(ytr)), TensorDataset(f(xte), torch.tensor(yte))


##########################
### MODEL
##########################

class MultilayerPerceptron(torch.nn.Module):

    def __init__(self, num_features, num_classes, dropout_prob=dropout_prob, init="notebook"):
        super(MultilayerPerceptron, self).__init__()  # noqa: UP008 (as in the notebook)
        self.dropout_prob = dropout_prob

        ### 1st hidden layer
        self.linear_1 = torch.nn.Linear(num_features, num_hidden_1)
        # The following to lones are not necessary,
        # but used here to demonstrate how to access the weights
        # and use a different weight initialization.
        # By default, PyTorch uses Xavier/Glorot initialization, which
        # should usually be preferred.
        self.linear_1.weight.detach().normal_(0.0, 0.1)
        self.linear_1.bias.detach().zero_()

        ### 2nd hidden layer
        self.linear_2 = torch.nn.Linear(num_hidden_1, num_hidden_2)
        self.linear_2.weight.detach().normal_(0.0, 0.1)
        self.linear_2.bias.detach().zero_()

        ### Output layer
        self.linear_out = torch.nn.Linear(num_hidden_2, num_classes)
        self.linear_out.weight.detach().normal_(0.0, 0.1)
        self.linear_out.bias.detach().zero_()

        if init != "notebook":
            for m in (self.linear_1, self.linear_2, self.linear_out):
                if init == "std1":  # the init_large variant
                    m.weight.detach().normal_(0.0, 1.0)
                    m.bias.detach().normal_(0.0, 1.0)
                elif init == "zero":  # the symmetric_init variant
                    m.weight.detach().zero_()
                    m.bias.detach().zero_()
                else:
                    raise ValueError(init)

    def forward(self, x):
        out = self.linear_1(x)
        out = F.relu(out)
        out = F.dropout(out, p=self.dropout_prob, training=self.training)

        out = self.linear_2(out)
        out = F.relu(out)
        out = F.dropout(out, p=self.dropout_prob, training=self.training)

        logits = self.linear_out(out)
        probas = F.softmax(logits, dim=1)
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
        return float(correct_pred.float() / num_examples)  # the notebook: * 100 (a percentage)


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, init: str = "notebook",
          zero_grad: bool = True, softmax: bool = False, dropout: float = dropout_prob,
          num_epochs: int = NUM_EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    train_dataset, test_dataset = digits64(input_scale)  # input_scale 16: the raw 0..16 values
    train_loader = DataLoader(dataset=train_dataset, batch_size=batch_size, shuffle=True)
    test_loader = DataLoader(dataset=test_dataset, batch_size=batch_size, shuffle=False)

    torch.manual_seed(seed)  # the notebook: torch.manual_seed(random_seed)
    model = MultilayerPerceptron(num_features=num_features, num_classes=num_classes, dropout_prob=dropout,
                                 init=init)
    lr = learning_rate * lr_mult
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)

    losses, train_acc = [], float("nan")
    for epoch in range(num_epochs):
        model.train()
        for features, targets in train_loader:

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

        train_acc = compute_accuracy(model, train_loader)
        if verbose:
            print(f"Epoch: {epoch + 1:03d}/{num_epochs:03d} loss {np.mean(losses[-20:]):.4f} training accuracy "
                  f"{train_acc:.4f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    acc = compute_accuracy(model, test_loader)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc, "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(train_loss=float(np.mean(losses[-20:])), first_loss=float(np.mean(losses[:5])),
                          max_loss=float(np.nanmax(losses)), finite_losses=bool(np.isfinite(losses).all()),
                          steps=len(losses), lr=lr, train_accuracy=train_acc, epochs=num_epochs, lr_mult=lr_mult,
                          input_scale=input_scale, init=init, zero_grad=zero_grad, softmax=softmax, dropout=dropout,
                          test_images=len(test_dataset)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="rasbtdropout", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = (f"MLP Linear 64-128-256-10, ReLU, F.dropout p={dropout_prob:g} after each hidden layer, weights normal_(0, 0.1) "
      f"and zero biases, F.cross_entropy, SGD lr {learning_rate:g}, batch {batch_size} shuffled, {NUM_EPOCHS} epochs "
      f"= {NUM_EPOCHS * 23} steps, inputs in [0, 1]")
CASES: list[dict] = (
    [_case(f"rasbtdropout_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"rasbtdropout_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({learning_rate * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("rasbtdropout_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3},
             f"{_P}: lr /1000 ({learning_rate * 1e-3:g})")]
    + [_case("rasbtdropout_raw_inputs_s1", "unscaled_inputs", 1, {"input_scale": 16.0},
             f"{_P}: inputs unscaled (x16: the digits' raw 0..16 values)")]
    + [_case("rasbtdropout_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_P}: every Linear weight and bias normal_(0, 1) instead of the notebook's init")]
    + [_case("rasbtdropout_zero_init_s1", "symmetric_init", 1, {"init": "zero"},
             f"{_P}: every Linear weight and bias zero_() instead of the notebook's init")]
    + [_case("rasbtdropout_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("rasbtdropout_softmax_ce_s1", "wrong_loss", 1, {"softmax": True},
             f"{_P}: F.softmax over the logits before F.cross_entropy")]
    + [_case("rasbtdropout_no_dropout_s1", "healthy", 1, {"dropout": 0.0},
             f"{_P}: dropout removed (dropout_prob = 0)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
