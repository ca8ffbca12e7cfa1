"""Zero to Mastery PyTorch's classification notebook: ``CircleModelV2`` on ``make_circles`` and ``BlobModel`` on
``make_blobs``, full-batch SGD, watched by gradmedic.

Adapted from https://github.com/mrdbourke/pytorch-deep-learning (snapshot commit
baa27b691617461c173ecf3439793cd8cde74e13; the notebook 02_pytorch_classification.ipynb last changed in commit
af6548e52663c8395fe2777bd0fbfd6ac85fd6f8; MIT License, Copyright (c) 2021 Daniel Bourke, see LICENSE-ztmcircles).
Kept as in the notebook:
- circles (program prefix ztmcircles): the data ``make_circles(1000, noise=0.03, random_state=42)`` as float
  tensors, ``train_test_split(test_size=0.2, random_state=42)`` (800 / 200), no input scaling (the notebook has
  none); ``CircleModelV2`` (``layer_1`` Linear(2, 10), ``layer_2`` Linear(10, 10), ``layer_3`` Linear(10, 1),
  ``self.relu`` between them), PyTorch's default initialization (the notebook sets none), ``nn.BCEWithLogitsLoss()``
  on ``model(X_train).squeeze()``, ``torch.optim.SGD(lr=0.1)``, the notebook's loop: full batch, one step per
  epoch, forward, loss, ``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``; predictions
  ``torch.round(torch.sigmoid(logits))`` and its ``accuracy_fn``.
- blobs (program prefix ztmblobs): ``make_blobs(n_samples=1000, n_features=2, centers=4, cluster_std=1.5,
  random_state=42)``, the same split, ``BlobModel(2, 4, hidden_units=8)`` exactly as the notebook defines it:
  Linear(2, 8), Linear(8, 8), Linear(8, 4) with both ``nn.ReLU()`` lines commented out (the notebook leaves them so
  and asks readers to try uncommenting them; the blobs are linearly separable), ``nn.CrossEntropyLoss()`` on the
  logits, SGD lr 0.1, 100 full-batch epochs as in the notebook, predictions ``softmax(logits).argmax(1)``.

Changed: ``torch.manual_seed(seed)`` before the model is built instead of the notebook's ``torch.manual_seed(42)``
(the data stay fixed by random_state 42, the seed draws the initialization).  The circles run 3000 epochs, not the
notebook's 1000: in the notebook's own output ``CircleModelV2`` is still at test accuracy 0.79 after 1000 epochs
(loss 0.62), short of run.py's good outcome (>= 0.9); at 3000 epochs seeds 1-3 reach 0.995 (~5 s a run).  The
per-epoch test evaluation and printing are left out: the metric is the test accuracy (fraction, not percent) after
the last epoch.  The device handling and the plots are dropped.

The watch: ``gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is built,
``monitor.step(loss)`` after ``loss.backward()``, before ``optimizer.step()``.

``CASES``: circles on seeds 1-3, and one change each against the same seed's healthy run: lr x10, x100 (seeds 1
and 2), /1000; N(0, 1) on every Linear weight; the inputs x1000; ``torch.sigmoid`` applied to the logits before
``nn.BCEWithLogitsLoss`` (the notebook's commented-out ``nn.BCELoss`` line used with the logits loss).  Blobs on
seed 1, lr x100 and ``torch.softmax`` before ``nn.CrossEntropyLoss``.  Not recorded: the notebook's own "model
that does not learn" (``CircleModelV1``, the ReLUs removed): a model too weak for the data has no cause in
bench/stranger/causes.py's ``CAUSES``.  The notebook does not clip, so there is no clipping case.  Labels come
from run.py's outcome rules only.
Recorded (cases-public16; 13 cases in 56 s, 0-6 s a run): circles healthy test accuracy 0.995 on seeds 1-3
(training loss 0.011-0.023; seeds 1 and 3 pass through a loss spike to 1.3 and 1.2 on the way); lr x10 (1.0) ends
at 0.985 (training loss 0.001) but its loss spiked to 5.0, above 2x the control's largest: ambiguous; lr x100
(10) sticks at a constant output on both seeds (loss 1.04, 0.5); lr /1000 stays at loss 0.695 (0.5); the inputs
x1000 start at loss 27, spike to 3.8e3 and end at 0.693 (0.5); the sigmoid before BCEWithLogitsLoss stays at 0.693
(0.5): all broken.  N(0, 1) weights start at loss 2.7 and end at 0.995 (training loss 0.005): ambiguous (its
largest loss is above 2x the control's).  Blobs healthy 0.995 (loss 2.06 -> 0.038); lr x100 goes NaN (0.245):
broken; the softmax before CrossEntropyLoss still reaches 0.995 (loss 1.51 -> 0.77, the linear model separates
the blobs anyway): healthy.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("monitor.step(loss) after loss.backward() (full batch: one step per epoch; BCEWithLogitsLoss on the "
              "squeezed logits for circles, CrossEntropyLoss on the logits for blobs), before optimizer.step(); the "
              "notebook's order optimizer.zero_grad(), loss.backward(), optimizer.step() kept")

LR = 0.1  # the notebook's SGD rate for both models
UPSTREAM = "mrdbourke/pytorch-deep-learning@baa27b691617461c173ecf3439793cd8cde74e13 02_pytorch_classification.ipynb"


def accuracy_fn(y_true, y_pred):
    correct = torch.eq(y_true, y_pred).sum().item()  # torch.eq() calculates where two tensors are equal
    acc = (correct / len(y_pred)) * 100
    return acc


class CircleModelV2(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer_1 = nn.Linear(in_features=2, out_features=10)
        self.layer_2 = nn.Linear(in_features=10, out_features=10)
        self.layer_3 = nn.Linear(in_features=10, out_features=1)
        self.relu = nn.ReLU()  # <- add in ReLU activation function

    def forward(self, x):
        # Intersperse the ReLU activation function between layers
        return self.layer_3(self.relu(self.layer_2(self.relu(self.layer_1(x)))))


class BlobModel(nn.Module):
    def __init__(self, input_features, output_features, hidden_units=8):
        super().__init__()
        self.linear_layer_stack = nn.Sequential(
            nn.Linear(in_features=input_features, out_features=hidden_units),
            # nn.ReLU(), # <- does our dataset require non-linear layers? (as in the notebook: commented out)
            nn.Linear(in_features=hidden_units, out_features=hidden_units),
            # nn.ReLU(), # <- (as in the notebook: commented out)
            nn.Linear(in_features=hidden_units, out_features=output_features),  # how many classes are there?
        )

    def forward(self, x):
        return self.linear_layer_stack(x)


def circles_data():
    from sklearn.datasets import make_circles
    from sklearn.model_selection import train_test_split

    X, y = make_circles(1000, noise=0.03, random_state=42)
    X = torch.from_numpy(X).type(torch.float)
    y = torch.from_numpy(y).type(torch.float)
    return train_test_split(X, y, test_size=0.2, random_state=42)


def blobs_data():
    from sklearn.datasets import make_blobs
    from sklearn.model_selection import train_test_split

    X_blob, y_blob = make_blobs(n_samples=1000, n_features=2, centers=4, cluster_std=1.5, random_state=42)
    X_blob = torch.from_numpy(X_blob).type(torch.float)
    y_blob = torch.from_numpy(y_blob).type(torch.LongTensor)
    return train_test_split(X_blob, y_blob, test_size=0.2, random_state=42)


def train(seed: int = 1, task: str = "circles", lr_mult: float = 1.0, init_std: float | None = None,
          input_scale: float = 1.0, sigmoid_logits: bool = False, softmax_logits: bool = False,
          epochs: int | None = None, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)  # the notebook's torch.manual_seed(42), per run
    if task == "circles":
        X_train, X_test, y_train, y_test = circles_data()
        model = CircleModelV2()
        loss_fn = nn.BCEWithLogitsLoss()  # BCEWithLogitsLoss = sigmoid built-in
        epochs = EPOCHS_CIRCLES if epochs is None else epochs
        chance = 0.5
    else:
        X_train, X_test, y_train, y_test = blobs_data()
        model = BlobModel(input_features=2, output_features=4, hidden_units=8)
        loss_fn = nn.CrossEntropyLoss()
        epochs = EPOCHS_BLOBS if epochs is None else epochs
        chance = 0.25
    if input_scale != 1.0:  # the bug: the features in other units (x1000), train and test alike
        X_train, X_test = X_train * input_scale, X_test * input_scale
    if init_std is not None:  # the bug: normal_(0, std) on every Linear weight instead of the default init
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, init_std)
    lr = LR * lr_mult
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)
    losses: list[float] = []

    def forward(X):
        logits = model(X)
        return logits.squeeze() if task == "circles" else logits

    def loss_of(logits, y):
        if sigmoid_logits:  # the bug: probabilities fed to BCEWithLogitsLoss, which applies a sigmoid again
            return loss_fn(torch.sigmoid(logits), y)
        if softmax_logits:  # the bug: probabilities fed to CrossEntropyLoss, which applies a (log-)softmax again
            return loss_fn(torch.softmax(logits, dim=1), y)
        return loss_fn(logits, y)

    def predict(logits):
        if task == "circles":
            return torch.round(torch.sigmoid(logits))  # logits -> prediction probabilities -> prediction labels
        return torch.softmax(logits, dim=1).argmax(dim=1)

    t0 = time.time()
    for epoch in range(epochs):
        model.train()
        # 1. Forward pass
        y_logits = forward(X_train)
        # 2. Calculate loss
        loss = loss_of(y_logits, y_train)
        # 3. Optimizer zero grad
        optimizer.zero_grad()
        # 4. Loss backward
        loss.backward()
        monitor.step(loss)  # gradmedic
        # 5. Optimizer step
        optimizer.step()
        losses.append(loss.item())
        if verbose and epoch % (epochs // 10) == 0:
            acc = accuracy_fn(y_train, predict(y_logits.detach()))
            print(f"Epoch: {epoch} | Loss: {loss:.5f}, Accuracy: {acc:.2f}% ({time.time() - t0:.1f}s)", flush=True)
    ### Testing
    model.eval()
    with torch.inference_mode():
        test_logits = forward(X_test)
        test_loss = loss_of(test_logits, y_test).item()
        test_acc = accuracy_fn(y_true=y_test, y_pred=predict(test_logits)) / 100
        train_acc = accuracy_fn(y_true=y_train, y_pred=predict(forward(X_train))) / 100
    monitor.close()
    fin = [v for v in losses if np.isfinite(v)]
    if verbose:
        print(f"test loss {test_loss:.4f} accuracy {test_acc:.4f} steps {len(losses)} {time.time() - t0:.1f}s")
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(test_acc), "chance": chance,
            "initial": None, "initial_what": f"chance accuracy {chance}",
            "extra": {"test_loss": test_loss, "train_loss": float(np.mean(losses[-20:])), "train_acc": train_acc,
                      "first_loss": losses[0], "steps": len(losses), "lr": lr,
                      "loss_max": float(np.max(fin)) if fin else float("nan")},
            "seconds": time.time() - t0}


EPOCHS_CIRCLES = 3000  # the notebook's 1000 x3 (see the docstring)
EPOCHS_BLOBS = 100  # the notebook's


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="ztmcircles", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_H = ("unchanged (CircleModelV2 2-10-10-1 with ReLUs, default init, BCEWithLogitsLoss, SGD lr 0.1, full batch of 800, "
      f"{EPOCHS_CIRCLES} epochs = {EPOCHS_CIRCLES} steps)")
_B = {"task": "blobs"}
CASES: list[dict] = (
    [_case(f"ztmcircles_healthy_s{s}", "healthy", s, {}, _H, False) for s in (1, 2, 3)]
    + [_case(f"ztmcircles_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"SGD lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("ztmcircles_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"SGD lr /1000 ({LR * 1e-3:g})")]
    + [_case("ztmcircles_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Linear weight instead of PyTorch's default (kaiming_uniform_, "
             "a=sqrt(5)); biases kept")]
    + [_case("ztmcircles_inputs_x1000_s1", "unscaled_inputs", 1, {"input_scale": 1000.0},
             "the circles' coordinates x1000 (train and test; e.g. in other units), no scaling back")]
    + [_case("ztmcircles_sigmoid_bce_s1", "wrong_loss", 1, {"sigmoid_logits": True},
             "loss_fn(torch.sigmoid(y_logits), y_train) with nn.BCEWithLogitsLoss (the notebook's commented-out "
             "nn.BCELoss line kept with the logits loss): a sigmoid applied twice")]
    + [_case("ztmblobs_healthy_s1", "healthy", 1, dict(_B),
             f"unchanged (BlobModel 2-8-8-4 as in the notebook, its ReLUs commented out, default init, "
             f"CrossEntropyLoss, SGD lr 0.1, full batch of 800, {EPOCHS_BLOBS} epochs)", False)]
    + [_case("ztmblobs_lr_x100_s1", "lr_high", 1, dict(_B, lr_mult=100), f"SGD lr x100 ({LR * 100:g})")]
    + [_case("ztmblobs_softmax_ce_s1", "wrong_loss", 1, dict(_B, softmax_logits=True),
             "loss_fn(torch.softmax(y_logits, dim=1), y_blob_train) with nn.CrossEntropyLoss: a softmax applied twice")]
)


if __name__ == "__main__":
    import sys
    r = train(verbose=True, **({"task": sys.argv[1]} if len(sys.argv) > 1 else {}))
    print({k: v for k, v in r.items() if k != "monitors"})
