"""Jeff Heaton's T81-558 (Applications of Deep Neural Networks), class 3.4 "Early Stopping" in its PyTorch
version: the iris classification MLP with a validation split and the notebook's ``EarlyStopping``, watched by
gradmedic.

Adapted from https://github.com/jeffheaton/t81_558_deep_learning, file t81_558_class_03_4_early_stop.ipynb at
commit a8833aa3acb6d22fdab07a7dd2c81253e4d8dfc0 ("Updated module 3 for videos", 2022-09-05: the last version of the
PyTorch notebooks before they moved to another repository in a4c8b6a; the class 3.2 notebook
t81_558_class_03_2_pytorch.ipynb at that commit has the same ``Net`` trained full-batch without a split); Apache
License 2.0, see LICENSE-heatonmlp.
Kept as in the notebook (its first example, the iris classifier):
- the data: the four iris features as they are (the notebook scales nothing), the species label-encoded
  (setosa 0, versicolor 1, virginica 2), ``train_test_split(x, y, test_size=0.25, random_state=42)`` (112 / 38),
  float32 / long tensors;
- ``Net(in_count, out_count)``: ``fc1`` Linear(4, 50), ``fc2`` Linear(50, 25), ``fc3`` Linear(25, 3), ``F.relu``
  after fc1 and fc2, and ``self.softmax = nn.Softmax(dim=1)`` on fc3's output, PyTorch's default initialization;
- the loss ``nn.CrossEntropyLoss()`` applied to that softmax output (so upstream already applies a softmax before
  CrossEntropyLoss, which applies its own log-softmax: the notebook's own training loss plateaus near 0.55-0.58
  instead of going to 0, yet its test accuracy is 0.974);
- ``torch.optim.Adam(model.parameters(), lr=0.01)``; ``DataLoader(TensorDataset(x_train, y_train), batch_size=16,
  shuffle=True)`` (7 steps an epoch); the loop ``while epoch < 1000 and not done``: forward, loss,
  ``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``; after the epoch's last batch ``model.eval()``,
  the validation loss on the 38 held-out flowers and ``es(model, vloss)``;
- the notebook's ``EarlyStopping`` class verbatim (patience 5, min_delta 0, restore_best_weights True; the
  deep-copied best model, the tensor-valued losses); note ``model.train()`` is called once per epoch, as upstream;
- the metric as in the notebook: ``torch.max(model(x_test), 1)`` and ``accuracy_score`` on the held-out 38 (after
  early stopping has restored the best weights).

Changed: the data come from scikit-learn's ``load_iris()`` instead of the course's iris.csv download (no network
at run time; the same 150 flowers in the same order and the same label coding, so the same split;
scikit-learn's copy has the two corrected values of flowers 35 and 38 that the UCI file gets wrong).
``torch.manual_seed(seed)`` before the model is built (the notebook sets no seed; the seed draws the
initialization and the DataLoader's shuffling).  The device handling, tqdm progress bars and the printing are
dropped (the losses are kept in lists).  The notebook's loop is kept at its size: a run early-stops after some
20-40 epochs (upstream's printed run stopped at epoch 31, i.e. 217 optimizer steps), so the healthy runs have
at least 100 steps (112-224); a healthy run takes under a second (iris is tiny; nothing was enlarged).  Note
the notebook's ``EarlyStopping`` counts only a validation loss strictly worse than the best (``best_loss - val_loss <
min_delta`` with min_delta 0): a run whose softmax has saturated, with a validation loss that no longer changes,
never stops and runs all 1000 epochs (7000 steps, 13-22 s), as the notebook would.

The watch: ``gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is built,
``monitor.step(loss)`` after ``loss.backward()``, before ``optimizer.step()``; the validation pass (once an epoch)
is not stepped.

``CASES``: the program on seeds 1-3, and one change each against the same seed's healthy run: Adam lr x10, x100
(seeds 1 and 2), x1000, /1000; ``nn.init.normal_(std=1)`` on every Linear weight (seeds 1 and 2); the features
x100 (train and validation alike: a unit change the user forgot; the notebook standardizes nothing, so there is no
normalization to leave out) on seeds 1 and 2; ``nn.init.zeros_`` on fc1's weight and bias.  Not recorded: a
softmax before CrossEntropyLoss (upstream already does it, so it is part of the healthy program); the notebook does
not clip, so there is no clipping case.  Labels come from run.py's outcome rules only.
Recorded (cases-public20; 13 cases in 94 s, 0-15 s a run): healthy held-out accuracy 1.0, 0.974, 0.974 on seeds
1-3 (training loss 1.06-1.13 -> 0.59-0.62, the softmax-before-CrossEntropyLoss floor; early-stopped after 32, 22, 16
epochs = 224, 154, 112 steps).  Every variant is broken: lr x10 (0.1) 0.395, x100 (1.0) 0.316 and 0.395, x1000 (10)
0.316: the softmax saturates on one class, the training loss sits at 1.2-1.24 (a wrong one-hot costs 1.55), the
validation loss stops changing and EarlyStopping never fires (1000 epochs); lr /1000 (1e-5) 0.711 after all 1000
epochs (training loss 1.06 -> 0.87); N(0, 1) weights 0.289 and 0.316 (training loss 1.18 -> 1.2, 1000 epochs); the
features x100 0.316 (1000 epochs) and 0.289 (stopped after 6 epochs); zeros on fc1 0.289 (loss 1.098, stopped after
6 epochs).
"""

from __future__ import annotations

import copy
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("monitor.step(loss) after loss.backward() of each minibatch (batch 16, CrossEntropyLoss on the "
              "net's softmax output as in the notebook), before optimizer.step(); the notebook's order model(x), "
              "loss, optimizer.zero_grad(), loss.backward(), optimizer.step() kept; the once-an-epoch validation "
              "loss for EarlyStopping is not stepped")

LR = 0.01  # the notebook's Adam rate
BATCH_SIZE = 16
MAX_EPOCHS = 1000
UPSTREAM = "jeffheaton/t81_558_deep_learning@a8833aa3acb6d22fdab07a7dd2c81253e4d8dfc0 t81_558_class_03_4_early_stop.ipynb"


class EarlyStopping:
    def __init__(self, patience=5, min_delta=0, restore_best_weights=True):
        self.patience = patience
        self.min_delta = min_delta
        self.restore_best_weights = restore_best_weights
        self.best_model = None
        self.best_loss = None
        self.counter = 0
        self.status = ""

    def __call__(self, model, val_loss):
        if self.best_loss is None:
            self.best_loss = val_loss
            self.best_model = copy.deepcopy(model)
        elif self.best_loss - val_loss > self.min_delta:
            self.best_loss = val_loss
            self.counter = 0
            self.best_model.load_state_dict(model.state_dict())
        elif self.best_loss - val_loss < self.min_delta:
            self.counter += 1
            if self.counter >= self.patience:
                self.status = f"Stopped on {self.counter}"
                if self.restore_best_weights:
                    model.load_state_dict(self.best_model.state_dict())
                return True
        self.status = f"{self.counter}/{self.patience}"
        return False


# Define the PyTorch Neural Network
class Net(nn.Module):
    def __init__(self, in_count, out_count):
        super().__init__()
        self.fc1 = nn.Linear(in_count, 50)
        self.fc2 = nn.Linear(50, 25)
        self.fc3 = nn.Linear(25, out_count)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.softmax(self.fc3(x))


def iris_data():
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    iris = load_iris()  # the notebook reads iris.csv: the same flowers, order and label coding
    x = iris.data  # sepal_l, sepal_w, petal_l, petal_w
    y = iris.target  # le.fit_transform(df['species'])
    species = np.array(["Iris-setosa", "Iris-versicolor", "Iris-virginica"])
    # Split into validation and training sets
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=42)
    return x, species, x_train, x_test, y_train, y_test


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, input_scale: float = 1.0,
          zero_layer: str | None = None, every: int = 10, verbose: bool = False) -> dict:
    from sklearn.metrics import accuracy_score

    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    x, species, x_train, x_test, y_train, y_test = iris_data()
    if input_scale != 1.0:  # the bug: the features in other units (x100), train and validation alike
        x_train, x_test = x_train * input_scale, x_test * input_scale

    # Numpy to Torch Tensor
    x_train = torch.tensor(x_train, dtype=torch.float32)
    y_train = torch.tensor(y_train, dtype=torch.long)
    x_test = torch.tensor(x_test, dtype=torch.float32)
    y_test = torch.tensor(y_test, dtype=torch.long)

    # Create datasets
    dataset_train = TensorDataset(x_train, y_train)
    dataloader_train = DataLoader(dataset_train, batch_size=BATCH_SIZE, shuffle=True)

    # Create model
    model = Net(x.shape[1], len(species))
    if init_std is not None:  # the bug: normal_(0, std) on every Linear weight instead of the default init
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, init_std)
    if zero_layer is not None:  # the bug: one layer initialized to zeros
        nn.init.zeros_(getattr(model, zero_layer).weight)
        nn.init.zeros_(getattr(model, zero_layer).bias)

    loss_fn = nn.CrossEntropyLoss()  # cross entropy loss

    lr = LR * lr_mult
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)
    es = EarlyStopping()

    losses: list[float] = []
    vlosses: list[float] = []
    t0 = time.time()
    epoch = 0
    done = False
    while epoch < MAX_EPOCHS and not done:
        epoch += 1
        steps = list(enumerate(dataloader_train))
        model.train()
        for i, (x_batch, y_batch) in steps:
            y_batch_pred = model(x_batch)
            loss = loss_fn(y_batch_pred, y_batch)
            optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()

            loss = loss.item()
            losses.append(loss)
            if i == len(steps) - 1:
                model.eval()
                pred = model(x_test)
                vloss = loss_fn(pred, y_test)
                vlosses.append(vloss.item())
                if es(model, vloss):
                    done = True
                if verbose:
                    print(f"Epoch: {epoch}, tloss: {loss}, vloss: {vloss:>7f}, EStop:[{es.status}] "
                          f"({time.time() - t0:.1f}s)", flush=True)

    with torch.no_grad():
        pred = model(x_test)
        _, predict_classes = torch.max(pred, 1)
        correct = accuracy_score(y_test.cpu(), predict_classes.cpu())
        test_loss = loss_fn(pred, y_test).item()
        _, train_classes = torch.max(model(x_train), 1)
        train_acc = accuracy_score(y_train, train_classes)
    monitor.close()
    fin = [v for v in losses if np.isfinite(v)]
    if verbose:
        print(f"Accuracy: {correct} (val loss {test_loss:.4f}, epochs {epoch}, steps {len(losses)}, "
              f"{time.time() - t0:.1f}s)")
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(correct), "chance": 1 / 3,
            "initial": None, "initial_what": "chance accuracy 1/3",
            "extra": {"test_loss": test_loss, "train_loss": float(np.mean(losses[-20:])), "train_acc": float(train_acc),
                      "first_loss": losses[0], "steps": len(losses), "epochs": epoch, "lr": lr,
                      "early_stopped": bool(done), "best_vloss": es.best_loss.item(), "last_vloss": vlosses[-1],
                      "loss_max": float(np.max(fin)) if fin else float("nan")},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="heatonmlp", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_H = ("unchanged (Net 4-50-25-3, ReLU, Softmax output, default init, CrossEntropyLoss on the softmax output, Adam lr "
      "0.01, batch 16 shuffled, raw iris features, EarlyStopping patience 5 on the validation loss, best weights "
      "restored, up to 1000 epochs)")
CASES: list[dict] = (
    [_case(f"heatonmlp_healthy_s{s}", "healthy", s, {}, _H, False) for s in (1, 2, 3)]
    + [_case(f"heatonmlp_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("heatonmlp_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"Adam lr /1000 ({LR * 1e-3:g})")]
    + [_case(f"heatonmlp_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Linear weight instead of PyTorch's default (kaiming_uniform_, "
             "a=sqrt(5)); biases kept") for s in (1, 2)]
    + [_case(f"heatonmlp_inputs_x100_s{s}", "unscaled_inputs", s, {"input_scale": 100.0},
             "the four iris features x100 (train and validation; e.g. in other units), no scaling back")
       for s in (1, 2)]
    + [_case("heatonmlp_zero_fc1_s1", "symmetric_init", 1, {"zero_layer": "fc1"},
             "nn.init.zeros_ on fc1.weight and fc1.bias")]
)


if __name__ == "__main__":
    import sys
    kw = {k: float(v) for k, v in (a.split("=") for a in sys.argv[1:])}
    if "seed" in kw:
        kw["seed"] = int(kw["seed"])
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
