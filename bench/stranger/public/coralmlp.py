"""coral-pytorch's CORAL MLP for ordinal regression (cement_strength, 5 ordered classes), watched by gradmedic.

Adapted from https://github.com/Raschka-research-group/coral-pytorch (commit
313482f86f50b58d8beb9fb54652e943b06745ef; MIT License, Copyright (c) 2020-2022 Sebastian Raschka, see
LICENSE-coralmlp): the tutorial docs/tutorials/pure_pytorch/CORAL_cement.md (.ipynb), "CORAL MLP for predicting
cement strength", with ``CoralLayer`` (coral_pytorch/layers.py), ``coral_loss`` (coral_pytorch/losses.py) and
``label_to_levels`` / ``levels_from_labelbatch`` / ``proba_to_label`` (coral_pytorch/dataset.py) copied below (the
package is not installed).  Kept as in the tutorial: the data preparation (``response - 1`` as the label, features
V1-V8; ``train_test_split(test_size=0.2, random_state=1, stratify=labels)``; ``StandardScaler`` fitted on the
training part), ``MyDataset`` and the two ``DataLoader``s (batch_size 128, the training one shuffled, num_workers 0),
the ``MLP`` (Linear(8, 300, bias=False), LeakyReLU, Dropout(0.2), BatchNorm1d(300), the same again 300 -> 300, then
``CoralLayer(300, NUM_CLASSES)`` with its preinitialized descending biases; ``torch.sigmoid`` of the logits as the
probabilities; PyTorch's default inits), ``NUM_CLASSES = 10`` as the tutorial has it (the data has 5 labels, 0-4, so
the top 5 of the 9 binary tasks only ever see 0 targets; kept), ``torch.manual_seed(random_seed)`` before the model
is built, ``torch.optim.Adam(model.parameters(), lr=0.05)``, 20 epochs (7 steps each, 140 steps), the loop
(``levels_from_labelbatch``, ``logits, probas = model(features)``, ``coral_loss(logits, levels)``,
``optimizer.zero_grad()`` / ``loss.backward()`` / ``optimizer.step()``), and ``compute_mae_and_mse`` on the test
loader as the metric - in the tutorial's way, with the model left in train mode (no ``model.eval()``: dropout and
batch statistics stay on at evaluation, as in the tutorial's printed run).

Changed to run offline: the tutorial reads cement_strength.csv with pandas from
raw.githubusercontent.com/gagolews/ordinal_regression_data; the same file ships in the upstream repository
(docs/tutorials/data/cement_strength.csv, 998 rows) and is copied next to this module as coralmlp_cement_strength.csv,
read with numpy (no pandas here); the run's seed replaces ``random_seed = 1`` and the split's ``random_state=1``
(seed 1 is the tutorial's run); the device is the CPU; prints only with ``verbose``.  Knobs (one per variant):
``lr_mult`` scales the rate; ``standardize=False`` leaves out the StandardScaler (raw features: cement kg/m^3 up to
540, aggregates near 1000, age in days); ``init_std`` draws every Linear weight (the two hidden layers and the CORAL
layer's ``coral_weights``) from N(0, init_std) instead of PyTorch's default; ``zero_grad=False`` leaves
``optimizer.zero_grad()`` out; ``loss_on_probas`` passes ``probas`` (the sigmoid outputs) to ``coral_loss`` instead of
``logits``; ``batch_size`` and ``num_hidden`` replace 128 and 300.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the
loop.  Metric "test_mae": the test mean absolute error in class units (0-4) of ``proba_to_label`` (the number of
binary tasks with probability > 0.5), lower is better.  ``initial``, the learned-nothing level: the test MAE of
always predicting the training labels' median class (class 1; 1.03 on every seed's split, the split being stratified),
so run.py's good outcome (a test MAE at most 0.7x that) is a MAE at most ~0.72; the tutorial's printed run reaches
0.34.  (Its printed losses, 1.02 at the first batch of epoch 1 and 0.82 at epoch 20, look like a re-run of the
training cell on a trained model: a fresh model's coral_loss over the 9 tasks starts near 7.8, as here.)

``CASES`` (program "coralmlp"): the program on seeds 1-3 (three stratified splits and inits), and one change each
against the same seed's healthy run: Adam lr x10, x100 (seeds 1 and 2), x1000, /1000; the StandardScaler left out
(seeds 1 and 2); N(0, 1) Linear weights; ``optimizer.zero_grad()`` left out (seeds 1 and 2); ``coral_loss`` given the
probabilities instead of the logits (cause "wrong_loss"); and two changes expected harmless: batch_size 256 (cause
"healthy") and lr /2 (cause "lr_low"), both on seed 2 (on seed 1, whose healthy test MAE of 0.35 is the lowest of
the three, such changes came out 1.3-1.5x its MAE in trial runs: batch 256 0.53, batch 64 0.455, lr /2 0.455).
Recorded (cases-public112; 1.2-1.8 s a run, 4.6 s for the first with the imports): healthy test MAE 0.350, 0.430,
0.555 on seeds 1-3 (learned-nothing level 1.035 on each; train MAE 0.33, 0.38, 0.56; coral_loss 7.8 at the first
step, a first-5 mean of 11.4-12.5 as Adam's first steps at lr 0.05 overshoot (largest loss 18.6-20.7), then 1.07-1.13
over the last 20 steps; the tutorial's printed run: test MAE 0.34): healthy; lr x10 (0.5): losses up to 211, 0.715:
broken (just: 0.350 < 0.5 x 0.715); lr x100 (5): losses ~1e4, 0.775 (seed 1): broken, 0.570 (seed 2): ambiguous;
lr x1000 (50): losses up to 4.7e6, last-20 mean 2.8e3, 0.785: broken; lr /1000 (5e-5): loss 7.9 -> 7.3, every
example put in class ~5 by the preinitialized positive CORAL biases of the 9 tasks, 5.125 (worse than learned
nothing): broken; raw features: 0.560 (seed 1), 0.565 (seed 2): ambiguous (the BatchNorm after each bias-free
hidden layer undoes most of the scale); N(0, 1) init: first-5 mean 58, largest 76, 0.515: ambiguous; zero_grad
left out: the loss climbs to ~4e3, 2.235 (seed 1) and 1.700 (seed 2): broken; coral_loss on probas: the loss stays at
6.2-8.3, 1.645: broken; batch 256: 0.465 vs 0.430: healthy; lr /2 (0.025): 0.425: healthy.  Labels: 5 healthy (3
programs, batch 256, lr /2), 7 broken, 4 ambiguous; every loss finite.  The metric is noisy (200 test examples,
evaluated with dropout and batch statistics on, as the tutorial does): the healthy MAE spans 0.35-0.56 over seeds.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch.utils.data import DataLoader, Dataset

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = torch.optim.Adam(model.parameters(), lr=0.05); "
              "monitor.step(loss) right after loss.backward() (coral_loss, mean over the batch of 128), before "
              "optimizer.step() (optimizer.zero_grad() comes before the backward, the tutorial's order)")
DATA = Path(__file__).resolve().parent / "coralmlp_cement_strength.csv"

# Hyperparameters
random_seed = 1
learning_rate = 0.05
num_epochs = 20
batch_size = 128

# Architecture
NUM_CLASSES = 10  # as in the tutorial (the data has 5 labels)


# --- coral_pytorch/layers.py ------------------------------------------------------------------------------------------
class CoralLayer(torch.nn.Module):
    """ Implements CORAL layer described in

    Cao, Mirjalili, and Raschka (2020)
    *Rank Consistent Ordinal Regression for Neural Networks
       with Application to Age Estimation*
    Pattern Recognition Letters, https://doi.org/10.1016/j.patrec.2020.11.008
    """
    def __init__(self, size_in, num_classes, preinit_bias=True):
        super().__init__()
        self.size_in, self.size_out = size_in, 1

        self.coral_weights = torch.nn.Linear(self.size_in, 1, bias=False)
        if preinit_bias:
            self.coral_bias = torch.nn.Parameter(
                torch.arange(num_classes - 1, 0, -1).float() / (num_classes-1))
        else:
            self.coral_bias = torch.nn.Parameter(
                torch.zeros(num_classes-1).float())

    def forward(self, x):
        return self.coral_weights(x) + self.coral_bias


# --- coral_pytorch/losses.py ------------------------------------------------------------------------------------------
def coral_loss(logits, levels, importance_weights=None, reduction='mean'):
    """Computes the CORAL loss described in Cao, Mirjalili, and Raschka (2020)."""

    if not logits.shape == levels.shape:
        raise ValueError("Please ensure that logits (%s) has the same shape as levels (%s). "  # noqa: UP031 (upstream)
                         % (logits.shape, levels.shape))

    term1 = (F.logsigmoid(logits)*levels
                      + (F.logsigmoid(logits) - logits)*(1-levels))

    if importance_weights is not None:
        term1 *= importance_weights

    val = (-torch.sum(term1, dim=1))

    if reduction == 'mean':
        loss = torch.mean(val)
    elif reduction == 'sum':
        loss = torch.sum(val)
    elif reduction is None:
        loss = val
    else:
        s = ('Invalid value for `reduction`. Should be "mean", '  # noqa: UP031 (upstream)
             '"sum", or None. Got %s' % reduction)
        raise ValueError(s)

    return loss


# --- coral_pytorch/dataset.py -----------------------------------------------------------------------------------------
def label_to_levels(label, num_classes, dtype=torch.float32):
    """Converts integer class label to extended binary label vector"""
    if not label <= num_classes-1:
        raise ValueError('Class label must be smaller or '  # noqa: UP031 (upstream)
                         'equal to %d (num_classes-1). Got %d.'
                         % (num_classes-1, label))
    if isinstance(label, torch.Tensor):
        int_label = label.item()
    else:
        int_label = label

    levels = [1]*int_label + [0]*(num_classes - 1 - int_label)
    levels = torch.tensor(levels, dtype=dtype)
    return levels


def levels_from_labelbatch(labels, num_classes, dtype=torch.float32):
    """Converts a list of integer class label to extended binary label vectors"""
    levels = []
    for label in labels:
        levels_from_label = label_to_levels(
            label=label, num_classes=num_classes, dtype=dtype)
        levels.append(levels_from_label)

    levels = torch.stack(levels)
    return levels


def proba_to_label(probas):
    """Converts predicted probabilities from extended binary format to integer class labels"""
    predict_levels = probas > 0.5
    predicted_labels = torch.sum(predict_levels, dim=1)
    return predicted_labels


# --- the tutorial -----------------------------------------------------------------------------------------------------
def load_cement(seed=1, standardize=True):
    # upstream: data_df = pd.read_csv("https://raw.githubusercontent.com/gagolews/ordinal_regression_data/master/
    # cement_strength.csv"); the same file from the coral-pytorch repository, read with numpy
    raw = np.genfromtxt(DATA, delimiter=",", names=True)
    data_labels = raw["response"].astype(np.int64) - 1  # labels should start at 0
    data_features = np.stack([raw[f"V{i}"] for i in range(1, 9)], axis=1)

    X_train, X_test, y_train, y_test = train_test_split(
        data_features,
        data_labels,
        test_size=0.2,
        random_state=seed,  # upstream: random_state=1
        stratify=data_labels)

    if standardize:  # the unscaled_inputs variant leaves the StandardScaler out
        sc = StandardScaler()
        X_train_std = sc.fit_transform(X_train)
        X_test_std = sc.transform(X_test)
    else:
        X_train_std, X_test_std = X_train, X_test
    return X_train_std, X_test_std, y_train, y_test


class MyDataset(Dataset):

    def __init__(self, feature_array, label_array, dtype=np.float32):

        self.features = feature_array.astype(np.float32)
        self.labels = label_array

    def __getitem__(self, index):
        inputs = self.features[index]
        label = self.labels[index]
        return inputs, label

    def __len__(self):
        return self.labels.shape[0]


class MLP(torch.nn.Module):

    def __init__(self, in_features, num_classes, num_hidden_1=300, num_hidden_2=300):
        super().__init__()

        self.my_network = torch.nn.Sequential(

            # 1st hidden layer
            torch.nn.Linear(in_features, num_hidden_1, bias=False),
            torch.nn.LeakyReLU(),
            torch.nn.Dropout(0.2),
            torch.nn.BatchNorm1d(num_hidden_1),

            # 2nd hidden layer
            torch.nn.Linear(num_hidden_1, num_hidden_2, bias=False),
            torch.nn.LeakyReLU(),
            torch.nn.Dropout(0.2),
            torch.nn.BatchNorm1d(num_hidden_2),
        )

        ### Specify CORAL layer
        self.fc = CoralLayer(size_in=num_hidden_2, num_classes=num_classes)
        ###--------------------------------------------------------------------###

    def forward(self, x):
        x = self.my_network(x)

        ##### Use CORAL layer #####
        logits =  self.fc(x)
        probas = torch.sigmoid(logits)
        ###--------------------------------------------------------------------###

        return logits, probas


def compute_mae_and_mse(model, data_loader, device):

    with torch.no_grad():

        mae, mse, acc, num_examples = 0., 0., 0., 0  # noqa: F841 (upstream)

        for i, (features, targets) in enumerate(data_loader):  # noqa: B007 (upstream)

            features = features.to(device)
            targets = targets.float().to(device)

            logits, probas = model(features)
            predicted_labels = proba_to_label(probas).float()

            num_examples += targets.size(0)
            mae += torch.sum(torch.abs(predicted_labels - targets))
            mse += torch.sum((predicted_labels - targets)**2)

        mae = mae / num_examples
        mse = mse / num_examples
        return mae, mse


def train(seed: int = 1, lr_mult: float = 1.0, standardize: bool = True, init_std: float | None = None,
          zero_grad: bool = True, loss_on_probas: bool = False, batch_size: int = batch_size, num_hidden: int = 300,
          num_epochs: int = num_epochs, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    DEVICE = torch.device("cpu")  # upstream: cuda:0 when available

    X_train_std, X_test_std, y_train, y_test = load_cement(seed, standardize)

    train_dataset = MyDataset(X_train_std, y_train)
    test_dataset = MyDataset(X_test_std, y_test)

    train_loader = DataLoader(dataset=train_dataset,
                              batch_size=batch_size,
                              shuffle=True, # want to shuffle the dataset
                              num_workers=0) # number processes/CPUs to use

    test_loader = DataLoader(dataset=test_dataset,
                             batch_size=batch_size,
                             shuffle=False,
                             num_workers=0)

    torch.manual_seed(seed)  # upstream: torch.manual_seed(random_seed), random_seed = 1
    model = MLP(in_features=8, num_classes=NUM_CLASSES, num_hidden_1=num_hidden, num_hidden_2=num_hidden)
    if init_std is not None:  # the init_large variant: N(0, init_std) for every Linear weight
        for m in model.modules():
            if isinstance(m, torch.nn.Linear):
                torch.nn.init.normal_(m.weight, mean=0.0, std=init_std)
    model.to(DEVICE)

    lr = learning_rate * lr_mult
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    losses = []
    for epoch in range(num_epochs):

        model = model.train()
        for batch_idx, (features, class_labels) in enumerate(train_loader):

            ##### Convert class labels for CORAL
            levels = levels_from_labelbatch(class_labels,
                                            num_classes=NUM_CLASSES)
            ###--------------------------------------------------------------------###

            features = features.to(DEVICE)
            levels = levels.to(DEVICE)
            logits, probas = model(features)

            #### CORAL loss
            if loss_on_probas:  # the wrong_loss variant: the sigmoid outputs passed as the logits
                loss = coral_loss(probas, levels)
            else:
                loss = coral_loss(logits, levels)
            ###--------------------------------------------------------------------###

            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(float(loss.detach()))

            ### LOGGING
            if verbose and not batch_idx % 200:
                print ('Epoch: %03d/%03d | Batch %03d/%03d | Loss: %.4f'  # noqa: UP031 (upstream)
                       %(epoch+1, num_epochs, batch_idx,
                         len(train_loader), loss))
    monitor.close()

    # the tutorial evaluates right after the loop, the model still in train mode
    train_mae, train_mse = compute_mae_and_mse(model, train_loader, DEVICE)
    test_mae, test_mse = compute_mae_and_mse(model, test_loader, DEVICE)
    if verbose:
        print(f'Mean absolute error (train/test): {train_mae:.2f} | {test_mae:.2f}')
        print(f'Mean squared error (train/test): {train_mse:.2f} | {test_mse:.2f}')

    median = float(np.median(y_train))  # the learned-nothing prediction: the training labels' median class
    base_mae = float(np.mean(np.abs(median - y_test)))
    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "test_mae", "value": float(test_mae),
            "initial": base_mae, "initial_what": "learned nothing: test MAE of always predicting the training labels' "
                                                 f"median class ({median:g})",
            "chance": base_mae,
            "extra": dict(lr=lr, train_loss=float(np.mean(la[-20:])), first_loss=float(np.mean(la[:5])),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), steps=len(la), epochs=num_epochs,
                          train_mae=float(train_mae), train_mse=float(train_mse), test_mse=float(test_mse),
                          lr_mult=lr_mult, standardize=standardize, init_std=-1.0 if init_std is None else init_std,
                          zero_grad=zero_grad, loss_on_probas=loss_on_probas, batch_size=batch_size,
                          num_hidden=num_hidden, num_classes=NUM_CLASSES, test_examples=len(y_test)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="coralmlp", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"coral-pytorch CORAL MLP (8-300-300, LeakyReLU, Dropout 0.2, BatchNorm1d, CoralLayer with NUM_CLASSES "
      f"{NUM_CLASSES}; coral_loss; Adam lr {learning_rate:g}, batch {batch_size}, {num_epochs} epochs of 7 steps; "
      f"standardized cement_strength)")
CASES: list[dict] = (
    [_case(f"coralmlp_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"coralmlp_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({learning_rate * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("coralmlp_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3},
             f"{_P}: Adam lr /1000 ({learning_rate * 1e-3:g})")]
    + [_case(f"coralmlp_raw_features_s{s}", "unscaled_inputs", s, {"standardize": False},
             f"{_P}: the StandardScaler left out (raw features: kg/m^3 up to ~1100, age in days up to 365)")
       for s in (1, 2)]
    + [_case("coralmlp_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every Linear weight (both hidden layers and CoralLayer.coral_weights) "
             f"instead of PyTorch's default U(+-1/sqrt(fan_in)); coral_bias kept")]
    + [_case(f"coralmlp_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)") for s in (1, 2)]
    + [_case("coralmlp_loss_on_probas_s1", "wrong_loss", 1, {"loss_on_probas": True},
             f"{_P}: coral_loss(probas, levels) instead of coral_loss(logits, levels) (the sigmoid outputs, in (0, 1), "
             f"taken as logits)")]
    + [_case("coralmlp_batch256_s2", "healthy", 2, {"batch_size": 256},
             f"{_P}: batch_size 256 instead of 128 (4 steps an epoch; expected harmless)")]
    + [_case("coralmlp_lr_half_s2", "lr_low", 2, {"lr_mult": 0.5},
             f"{_P}: Adam lr /2 ({learning_rate * 0.5:g}; expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
