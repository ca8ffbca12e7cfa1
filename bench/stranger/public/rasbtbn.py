"""Sebastian Raschka's deeplearning-models MLP with BatchNorm (SGD, digits), watched by gradmedic.

Adapted from https://github.com/rasbt/deeplearning-models (commit 18e046926551378cd691fd871dda0f21dcd272ab,
pytorch_ipynb/mlp/mlp-batchnorm.ipynb, last changed in c8702ff1682e6b809ab2c203aa4484e678a5398e; MIT License,
Copyright (c) 2019-2022 Sebastian Raschka, see LICENSE-rasbtbn), the notebook's code cells.  Kept as in the
notebook: ``MultilayerPerceptron`` (copied below: ``linear_1`` -> ``BatchNorm1d(num_hidden_1)`` -> ReLU ->
``linear_2`` -> ``BatchNorm1d(num_hidden_2)`` -> ReLU -> ``linear_out``, BatchNorm before the activation, hidden sizes
num_hidden_1 = 128 and num_hidden_2 = 256; ``forward`` returns ``logits, probas``), its init (every Linear weight
``normal_(0.0, 0.1)`` and bias zero, through ``.detach()``), ``torch.manual_seed(random_seed)`` right before the model
is built, ``torch.optim.SGD(model.parameters(), lr=learning_rate)`` with learning_rate = 0.1 (no momentum), batch_size
= 64 with a shuffled training loader and an unshuffled test loader, inputs in [0, 1] (``ToTensor``; no Normalize),
the loop (``model.train()``, ``features.view(-1, num_features)``, ``logits, probas = model(features)``, ``cost =
F.cross_entropy(logits, targets)``, ``optimizer.zero_grad()``, ``cost.backward()``, ``optimizer.step()``), the
per-epoch ``compute_accuracy`` over the (shuffled) training loader under ``net.eval()`` / ``torch.no_grad()`` (kept:
it draws from the global RNG through the shuffled loader, as in the notebook; its last value goes to ``extra``), and
the test accuracy from ``compute_accuracy`` on the test loader (argmax of ``probas``, BatchNorm in eval mode) as the
metric (a fraction here, not a percentage).

Changed to run offline on one CPU thread: MNIST is scikit-learn's ``load_digits`` (no download, no torchvision):
the 8x8 images flattened to 64 values and divided by 16 into [0, 1] as ``ToTensor`` would give them (num_features =
64 instead of 784; the hidden sizes 128 and 256 are kept), split 1437 training / 360 test (``train_test_split``,
random_state 0); NUM_EPOCHS = 20 epochs of 23 batches (460 steps) instead of 10 epochs over MNIST's 60000 images
(9380 steps); ``device`` is the CPU; the dataset shape check, the per-50-batch and timing prints are left out;
``torch.manual_seed(seed)`` also before the data loaders are built (the notebook does not seed the loaders); the
run's seed replaces random_seed = 1.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(cost)`` right after ``cost.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the last epoch.

``CASES`` (program "rasbtbn"): the program on seeds 1-3, and one change each against the same seed's healthy run:
SGD lr x10, x100 (seeds 1 and 2), /1000; the inputs unscaled (x16: the digits' raw 0..16 values); both BatchNorm1d
layers removed (``nn.Identity``; the same init and lr; on seed 2: a trial run on seed 1 ended at 0.953 against
0.986, 3.3 points under, which the rules would leave ambiguous); every Linear weight ``normal_(0.0, 1.0)`` instead of
the notebook's std 0.1 (biases still zero); every Linear weight zero (``normal_(0.0, 0.0)``); the ``probas`` (softmax)
fed to ``F.cross_entropy`` instead of the logits; ``optimizer.zero_grad()`` left out; and lr x2 (0.2, expected
harmless).
Labels come from run.py's outcome rules only.
Recorded (cases-public54; the 14 runs in about 35 s, 2-5 s a run on a shared 2-core machine): healthy test accuracy
0.986, 0.975, 0.981 on seeds 1-3 (training loss 1.7-1.8 over the first 5 steps -> 0.012-0.013, largest 2.83-2.99,
every loss finite, training accuracy 1.000); lr x10 (1.0): 0.986 (training loss 0.0017): healthy; lr x100 (10):
first losses ~33-35, largest 51 and 55, training loss stays at 2.33 / 2.38, 0.228 (seed 1) and 0.108 (seed 2):
broken; lr /1000 (1e-4): training loss 2.85 -> 2.41, 0.156: broken; raw 0..16 inputs: 0.986, the same losses to
three digits (BatchNorm follows the first Linear): healthy; BatchNorm removed (seed 2): training loss 0.082, 0.972
against 0.975: healthy; weights normal_(0, 1): first losses ~12 (largest 18.5), training loss 0.052, 0.950 (3.6
points under its control, loss peak over twice the control's): ambiguous; zero weights: the loss stays at 2.30,
0.081: broken; softmax before F.cross_entropy: training loss 2.31 -> 1.48, yet 0.981: healthy;
optimizer.zero_grad() left out: the loss climbs to 24 and ends at 4.4, 0.922 (training accuracy 0.981):
ambiguous; lr x2 (0.2): 0.986: healthy.  Labels: 8 healthy (3 programs, 5 variants), 4 broken, 2 ambiguous; no
non-finite loss in any run.
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
NUM_EPOCHS = 20  # the notebook: num_epochs = 10 over MNIST's 60000 images
batch_size = 64

# Architecture
num_features = 64  # the notebook: 784 (28*28 MNIST); load_digits has 8*8
num_hidden_1 = 128
num_hidden_2 = 256
num_classes = 10


def digits64(input_scale: float = 1.0):
    """(train, test) TensorDatasets of load_digits as 64 values in [0, 1] (ToTensor's range), times input_scale."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.data, d.target, test_size=0.2, random_state=0)
    f = lambda x: torch.tensor(x, dtype=torch.float32) / 16.0 * input_scale  # noqa: E731
    return TensorDataset(f(xtr), torch.tensor(ytr)), TensorDataset(f(xte), torch.tensor(yte))


##########################
### MODEL
##########################

class MultilayerPerceptron(torch.nn.Module):

    def __init__(self, num_features, num_classes, batchnorm=True, init_std=0.1):
        super(MultilayerPerceptron, self).__init__()  # noqa: UP008 (as in the notebook)

        ### 1st hidden layer
        self.linear_1 = torch.nn.Linear(num_features, num_hidden_1)
        # The following to lones are not necessary,
        # but used here to demonstrate how to access the weights
        # and use a different weight initialization.
        # By default, PyTorch uses Xavier/Glorot initialization, which
        # should usually be preferred.
        self.linear_1.weight.detach().normal_(0.0, init_std)  # init_std: 0.1 in the notebook
        self.linear_1.bias.detach().zero_()
        # batchnorm=False: the no_norm variant (nn.Identity in place of each BatchNorm1d)
        self.linear_1_bn = torch.nn.BatchNorm1d(num_hidden_1) if batchnorm else torch.nn.Identity()

        ### 2nd hidden layer
        self.linear_2 = torch.nn.Linear(num_hidden_1, num_hidden_2)
        self.linear_2.weight.detach().normal_(0.0, init_std)
        self.linear_2.bias.detach().zero_()
        self.linear_2_bn = torch.nn.BatchNorm1d(num_hidden_2) if batchnorm else torch.nn.Identity()

        ### Output layer
        self.linear_out = torch.nn.Linear(num_hidden_2, num_classes)
        self.linear_out.weight.detach().normal_(0.0, init_std)
        self.linear_out.bias.detach().zero_()

    def forward(self, x):
        out = self.linear_1(x)
        # note that batchnorm is in the classic
        # sense placed before the activation
        out = self.linear_1_bn(out)
        out = F.relu(out)

        out = self.linear_2(out)
        out = self.linear_2_bn(out)
        out = F.relu(out)

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


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, batchnorm: bool = True,
          init_std: float = 0.1, zero_grad: bool = True, softmax: bool = False, num_epochs: int = NUM_EPOCHS, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    train_dataset, test_dataset = digits64(input_scale)  # input_scale 16: the raw 0..16 values
    train_loader = DataLoader(dataset=train_dataset, batch_size=batch_size, shuffle=True)
    test_loader = DataLoader(dataset=test_dataset, batch_size=batch_size, shuffle=False)

    torch.manual_seed(seed)  # the notebook: torch.manual_seed(random_seed)
    model = MultilayerPerceptron(num_features=num_features, num_classes=num_classes, batchnorm=batchnorm,
                                 init_std=init_std)
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
            if softmax:  # the wrong_loss variant: the probabilities fed to F.cross_entropy instead of the logits
                logits = probas
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
            print(f"Epoch: {epoch + 1:03d}/{num_epochs:03d} loss {np.mean(losses[-23:]):.4f} training accuracy "
                  f"{train_acc:.4f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    acc = compute_accuracy(model, test_loader)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc, "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(train_loss=float(np.mean(losses[-23:])), first_loss=float(np.mean(losses[:5])),
                          max_loss=float(np.nanmax(losses)), finite_losses=bool(np.isfinite(losses).all()),
                          steps=len(losses), lr=lr, train_accuracy=train_acc, epochs=num_epochs, lr_mult=lr_mult,
                          input_scale=input_scale, batchnorm=batchnorm, init_std=init_std, zero_grad=zero_grad, softmax=softmax,
                          test_images=len(test_dataset)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="rasbtbn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"MLP 64-{num_hidden_1}-{num_hidden_2}-10 with BatchNorm1d before each hidden ReLU, Linear weights "
      f"normal_(0, 0.1) and zero biases, F.cross_entropy, SGD lr {learning_rate:g}, batch {batch_size} shuffled, "
      f"{NUM_EPOCHS} epochs = {NUM_EPOCHS * 23} steps, inputs in [0, 1]")
CASES: list[dict] = (
    [_case(f"rasbtbn_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"rasbtbn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({learning_rate * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("rasbtbn_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3},
             f"{_P}: lr /1000 ({learning_rate * 1e-3:g})")]
    + [_case("rasbtbn_raw_inputs_s1", "unscaled_inputs", 1, {"input_scale": 16.0},
             f"{_P}: inputs unscaled (x16: the digits' raw 0..16 values)")]
    + [_case("rasbtbn_no_bn_s2", "no_norm", 2, {"batchnorm": False},
             f"{_P}: both BatchNorm1d layers removed (nn.Identity); same init and lr")]
    + [_case("rasbtbn_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_P}: every Linear weight normal_(0.0, 1.0) instead of normal_(0.0, 0.1) (biases zero)")]
    + [_case("rasbtbn_zero_init_s1", "symmetric_init", 1, {"init_std": 0.0},
             f"{_P}: every Linear weight normal_(0.0, 0.0), i.e. zero, instead of normal_(0.0, 0.1) (biases zero)")]
    + [_case("rasbtbn_softmax_ce_s1", "wrong_loss", 1, {"softmax": True},
             f"{_P}: the probas (softmax) fed to F.cross_entropy instead of the logits")]
    + [_case("rasbtbn_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("rasbtbn_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: lr x2 ({learning_rate * 2:g})")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
