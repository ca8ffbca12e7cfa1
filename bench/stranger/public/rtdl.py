"""yandex-research's "Revisiting Deep Learning Models for Tabular Data" MLP and ResNet on scikit-learn's diabetes table,
watched by gradmedic.

Adapted from https://github.com/yandex-research/rtdl-revisiting-models (Apache License 2.0, Copyright 2023 Yandex
LLC, see LICENSE-rtdl), newest snapshot commit e3ed46cac38568785289d8fa16b8cfa585bde27e, whose package/ files were
last changed in 2542a25b2adbfd0e9d18ce00f75f9f64ad2c26bd: package/rtdl_revisiting_models.py (the
``rtdl_revisiting_models`` 0.0.2 package) for the models, and package/example.ipynb (its usage example) for the
data handling, optimizer, loss and loop.

Kept as upstream has them:
- ``MLP`` and ``ResNet`` (and ``_named_sequential``) copied from the package, code unchanged but for one switch on
  ``ResNet`` (``normalization``, default ``nn.BatchNorm1d`` as upstream; a variant passes ``nn.Identity``), the
  ``Optional[...]`` annotations written ``X | None`` (ruff) and the constructors' Args docstrings left out:
  MLP = blocks of Linear, ReLU, Dropout and a Linear output; ResNet = an input Linear, residual blocks of
  BatchNorm1d, Linear, ReLU, Dropout, Linear, Dropout, and an output BatchNorm1d, ReLU, Linear.  PyTorch's default
  initialization (the package sets none).  The configurations are the notebook's (and the README's): MLP n_blocks
  2, d_block 384, dropout 0.1; ResNet n_blocks 2, d_block 192, d_hidden_multiplier 2.0, dropout1 0.3, dropout2 0.0;
  both ``torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=1e-5)``.
- the notebook's data handling: every column as a float32 continuous feature (no categorical ones), the regression
  target float32, ``train_test_split(train_size=0.8)`` into train+val / test and again into train / val; the "simple"
  preprocessing strategy (A), ``StandardScaler`` fitted on the training features (the notebook's default is the
  quantile transform (B); the brief for this port asks for standardized features); the target standardized with
  the training mean and std; ``loss_fn = F.mse_loss`` on ``model(x).squeeze(-1)``; per batch ``model.train()``,
  zero_grad, loss, backward, step over a shuffled pass (``delu.iter_batches(..., shuffle=True)``: a random
  permutation split into batches, the last one short); after each epoch ``evaluate`` (``model.eval()``, no grad) on
  val and test, the score ``-(RMSE * Y_std)``; ``delu.tools.EarlyStopping(16, mode="max")`` on the val score; the
  result ``best["test"]``, the test score at the epoch of the best val score.

Changed:
- The data: scikit-learn's ``load_diabetes(scaled=False)`` (442 rows, 10 features, target 25-346) instead of
  ``fetch_california_housing`` (a download); the two splits with ``random_state=0`` (the same 282 / 71 / 89 rows for
  every run).  delu is not installed: its seeding is ``torch.manual_seed(seed)`` (and numpy's), its
  ``iter_batches`` a ``torch.randperm`` from a generator seeded with the run's seed, its EarlyStopping and Timer
  written inline.
- Batch 16 instead of 256: the notebook's 256 is for 13k training rows (52 steps an epoch); on 282 rows it is one
  full batch and a short one, and early stopping ends the run after ~60 steps.  At 16 (18 steps an epoch) the
  healthy runs take 324-486 steps (best val epoch 1-10, stopped 16 epochs later).
- ``n_epochs`` 100 instead of 1e9 (a run that keeps improving, lr /1000 say, stops there: 1800 steps, ~11 s).
- The metric, ``test_mse``: the notebook's result ``best["test"]`` as the MSE on the standardized target (the
  training loss's units; its score is ``-sqrt(mse) * Y_std``, kept in ``extra`` as ``test_rmse``), because run.py's
  good-outcome rule (at most 0.7x the start) needs a lower-is-better value and the healthy RMSE is ~0.75 of the
  untrained one while the MSE is ~0.6 of it.  ``initial``: the untrained model's test MSE.  With the raw target (a
  variant) predictions and targets are standardized with the training mean and std before the MSE, so every run is
  measured in the same units.
- The runs are short: 1-5 s for a healthy run, up to ~12 s for one that runs its 100 epochs, on one CPU thread
  (below the 10-60 s aimed at: nothing was shrunk; the models are the notebook's).

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(loss)`` after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after
the loop (so the recording runs to the early stop, past the best epoch).

``CASES`` (in the shape of run.py's ``case()``, all of program "rtdl"; name prefixes rtdlres and rtdlmlp, as run.py
finds a variant's control as the first "_" token of its name + "_healthy_s<seed>"): the ResNet and the MLP on seeds
1-3, and one change each against the same seed's healthy run: for the ResNet AdamW lr x10, x100 (seeds 1 and 2),
x1000 and /1000, ``normal_(0, 1)`` on every Linear weight, the raw target into the MSE, the standardized features
x1000, and (cause "healthy": ``bench/stranger/causes.CAUSES`` has no cause for them) its BatchNorm1d layers removed
and dropout1 0.9; for the MLP lr x1000 and the features x1000.  Labels come from run.py's outcome rules only.
Recorded (cases-public10, 91 s for the 18 cases, 1-12 s each): ResNet healthy test MSE 0.568, 0.554, 0.542 (RMSE
57-58 in the target's units) from 0.986, 1.062, 0.783 untrained on seeds 1-3 (best val epoch 10, 1, 3); lr /1000
0.820 (half its control's progress: broken), N(0, 1) weights 2.62 and the raw target 1.17 (broken); lr x10 0.606
(healthy: within 1.1x); lr x100 0.566 and 0.552 and x1000 0.548 reach the control's test MSE at their best val
epoch (BatchNorm and early stopping absorb them) but their batch loss rose to 7.0, 5.9 and 613 on the way
(control's largest 2.5 and 1.6): ambiguous; the features x1000 0.539 (healthy: the input Linear's output goes
straight into a BatchNorm1d), no BatchNorm 0.557 and dropout1 0.9 0.525 (healthy).  MLP healthy 0.567, 0.536, 0.548
from 0.850, 0.805, 0.908 (best epoch 1, 5, 1); lr x1000 3.74 and the features x1000 4.60 (broken).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from typing import cast

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("monitor.step(loss) after loss.backward() (F.mse_loss on the training batch, the standardized target in "
              "the healthy run), before optimizer.step()")


# ---- rtdl_revisiting_models.py (package/, commit 2542a25b): MLP and ResNet as they are there ----------------

def _named_sequential(*modules) -> nn.Sequential:
    return nn.Sequential(OrderedDict(modules))


class MLP(nn.Module):
    """The MLP model from Section 3.1 in the paper."""

    def __init__(
        self,
        *,
        d_in: int,
        d_out: int | None,
        n_blocks: int,
        d_block: int,
        dropout: float,
    ) -> None:
        if n_blocks <= 0:
            raise ValueError(f'n_blocks must be positive, however: {n_blocks=}')

        super().__init__()
        self.blocks = nn.ModuleList(
            [
                _named_sequential(
                    ('linear', nn.Linear(d_block if i else d_in, d_block)),
                    ('activation', nn.ReLU()),
                    ('dropout', nn.Dropout(dropout)),
                )
                for i in range(n_blocks)
            ]
        )
        self.output = None if d_out is None else nn.Linear(d_block, d_out)

    def forward(self, x: Tensor) -> Tensor:
        """Do the forward pass."""
        for block in self.blocks:
            x = block(x)
        if self.output is not None:
            x = self.output(x)
        return x


class ResNet(nn.Module):
    """The ResNet model from Section 3.2 in the paper.  ``normalization`` is this port's switch for a variant
    (``nn.Identity`` in place of each ``nn.BatchNorm1d``); the default is upstream's."""

    def __init__(
        self,
        *,
        d_in: int,
        d_out: int | None,
        n_blocks: int,
        d_block: int,
        d_hidden: int | None = None,
        d_hidden_multiplier: float | None,
        dropout1: float,
        dropout2: float,
        normalization: type[nn.Module] = nn.BatchNorm1d,
    ) -> None:
        if n_blocks <= 0:
            raise ValueError(f'n_blocks must be positive, however: {n_blocks=}')
        if d_hidden is None:
            if d_hidden_multiplier is None:
                raise ValueError(
                    'If d_hidden is None, then d_hidden_multiplier must not be None'
                )
            d_hidden = int(d_block * cast(float, d_hidden_multiplier))
        else:
            if d_hidden_multiplier is not None:
                raise ValueError(
                    'If d_hidden is None, then d_hidden_multiplier must be None'
                )

        super().__init__()
        self.input_projection = nn.Linear(d_in, d_block)
        self.blocks = nn.ModuleList(
            [
                _named_sequential(
                    ('normalization', normalization(d_block)),
                    ('linear1', nn.Linear(d_block, d_hidden)),
                    ('activation', nn.ReLU()),
                    ('dropout1', nn.Dropout(dropout1)),
                    ('linear2', nn.Linear(d_hidden, d_block)),
                    ('dropout2', nn.Dropout(dropout2)),
                )
                for _ in range(n_blocks)
            ]
        )
        self.output = (
            None
            if d_out is None
            else _named_sequential(
                ('normalization', normalization(d_block)),
                ('activation', nn.ReLU()),
                ('linear', nn.Linear(d_block, d_out)),
            )
        )

    def forward(self, x: Tensor) -> Tensor:
        """Do the forward pass."""
        x = self.input_projection(x)
        for block in self.blocks:
            x = x + block(x)
        if self.output is not None:
            x = self.output(x)
        return x


# ---- the data: package/example.ipynb's split and preprocessing on load_diabetes ----------------------------

def diabetes(standardize: bool = True, input_scale: float = 1.0, standardize_target: bool = True):
    """The notebook's dataset cell and preprocessing cell on ``load_diabetes(scaled=False)``: all 10 columns as
    continuous features (float32), the target float32; ``train_test_split(train_size=0.8)`` twice (trainval / test,
    then train / val; here with ``random_state=0``, the same split for every run); the "simple" strategy (A),
    ``StandardScaler`` fitted on the training features; the target standardized with the training mean and std
    (numpy's population std, ``.std()``).  Returns ({part: (x, y)}, Y_mean, Y_std)."""
    import sklearn.datasets
    import sklearn.model_selection
    import sklearn.preprocessing

    X_cont, Y = sklearn.datasets.load_diabetes(return_X_y=True, scaled=False)
    X_cont = X_cont.astype(np.float32)
    Y = Y.astype(np.float32)
    all_idx = np.arange(len(Y))
    trainval_idx, test_idx = sklearn.model_selection.train_test_split(all_idx, train_size=0.8, random_state=0)
    train_idx, val_idx = sklearn.model_selection.train_test_split(trainval_idx, train_size=0.8, random_state=0)
    data_numpy = {"train": {"x_cont": X_cont[train_idx], "y": Y[train_idx]},
                  "val": {"x_cont": X_cont[val_idx], "y": Y[val_idx]},
                  "test": {"x_cont": X_cont[test_idx], "y": Y[test_idx]}}
    if standardize:
        preprocessing = sklearn.preprocessing.StandardScaler().fit(data_numpy["train"]["x_cont"])
        for part in data_numpy:
            data_numpy[part]["x_cont"] = preprocessing.transform(data_numpy[part]["x_cont"])
    for part in data_numpy:  # the x1000 variant
        data_numpy[part]["x_cont"] = (data_numpy[part]["x_cont"] * input_scale).astype(np.float32)
    Y_mean = data_numpy["train"]["y"].mean().item()
    Y_std = data_numpy["train"]["y"].std().item()
    if standardize_target:
        for part in data_numpy:
            data_numpy[part]["y"] = (data_numpy[part]["y"] - Y_mean) / Y_std
    data = {part: {k: torch.as_tensor(v).float() for k, v in data_numpy[part].items()} for part in data_numpy}
    return data, Y_mean, Y_std


def train(seed: int = 1, model: str = "resnet", lr_mult: float = 1.0, init_std: float | None = None,
          raw_features: bool = False, input_scale: float = 1.0, raw_target: bool = False,
          dropout: float | None = None, no_norm: bool = False, n_epochs: int = 100, patience: int = 16,
          batch_size: int = 16, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)  # delu.random.seed(seed) in the notebook (seeds random, numpy and torch)
    np.random.seed(seed)
    data, Y_mean, Y_std = diabetes(standardize=not raw_features, input_scale=input_scale,
                                   standardize_target=not raw_target)
    d_in = data["train"]["x_cont"].shape[1]
    d_out = 1
    lr = 3e-4 * lr_mult
    if model == "mlp":
        net = MLP(d_in=d_in, d_out=d_out, n_blocks=2, d_block=384, dropout=0.1 if dropout is None else dropout)
    else:
        net = ResNet(d_in=d_in, d_out=d_out, n_blocks=2, d_block=192, d_hidden=None, d_hidden_multiplier=2.0,
                     dropout1=0.3 if dropout is None else dropout, dropout2=0.0,
                     normalization=(lambda d: nn.Identity()) if no_norm else nn.BatchNorm1d)
    if init_std is not None:  # the bug: normal_(0, std) on every Linear weight instead of the default init
        for m in net.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, init_std)
    optimizer = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-5)
    monitor = gradmedic.watch(net, optimizer, every=every)

    def apply_model(x: Tensor) -> Tensor:
        return net(x).squeeze(-1)

    loss_fn = F.mse_loss

    @torch.no_grad()
    def evaluate(part: str) -> tuple[float, float]:
        """The notebook's ``evaluate`` (model.eval(), the whole part in one batch), returning the MSE on the
        standardized target (the training loss's units; predictions of a raw-target model are standardized
        first) and the notebook's score, the RMSE in the target's units (positive here)."""
        net.eval()
        y_pred = apply_model(data[part]["x_cont"]).double()
        y_true = data[part]["y"].double()
        if raw_target:
            y_pred, y_true = (y_pred - Y_mean) / Y_std, (y_true - Y_mean) / Y_std
        mse = float(torch.mean((y_pred - y_true) ** 2))
        return mse, math.sqrt(mse) * Y_std if math.isfinite(mse) else float("nan")

    initial, initial_rmse = evaluate("test")
    g = torch.Generator()
    g.manual_seed(seed)
    n = len(data["train"]["y"])
    losses, val_mse, test_mse = [], [], []
    best = {"val": -math.inf, "test": -math.inf, "epoch": -1}  # scores: the higher, the better (the notebook's)
    best_score, n_bad = None, 0  # delu.tools.EarlyStopping(patience, mode="max")
    t0 = time.time()
    for epoch in range(n_epochs):
        for idx in torch.randperm(n, generator=g).split(batch_size):  # delu.iter_batches(..., shuffle=True)
            net.train()
            optimizer.zero_grad()
            loss = loss_fn(apply_model(data["train"]["x_cont"][idx]), data["train"]["y"][idx])
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())
        val_mse.append(evaluate("val")[0])
        test_mse.append(evaluate("test")[0])
        val_score, test_score = -math.sqrt(val_mse[-1]) * Y_std, -math.sqrt(test_mse[-1]) * Y_std
        if verbose:
            print(f"epoch {epoch} loss {np.mean(losses[-10:]):.4g} (val) {val_score:.4f} (test) {test_score:.4f} "
                  f"({time.time() - t0:.1f}s)", flush=True)
        if best_score is None or val_score > best_score:  # early_stopping.update(val_score)
            best_score, n_bad = val_score, 0
        else:
            n_bad += 1
        if n_bad >= patience:  # early_stopping.should_stop()
            break
        if val_score > best["val"]:
            best = {"val": val_score, "test": test_score, "epoch": epoch}
    monitor.close()
    k = best["epoch"]
    value = test_mse[k] if k >= 0 else float("nan")
    rmse = math.sqrt(value) * Y_std if math.isfinite(value) else float("nan")
    return {"monitors": {"": monitor}, "metric": "test_mse", "value": value if math.isfinite(value) else float("nan"),
            "chance": None, "initial": initial,
            "initial_what": "untrained: the test MSE (standardized target) of the model before its first step",
            "extra": {"test_rmse": rmse, "initial_test_rmse": initial_rmse, "best_epoch": k, "epochs": epoch + 1,
                      "final_test_mse": test_mse[-1], "final_val_mse": val_mse[-1],
                      "train_loss": float(np.mean(losses[-20:])), "initial_train_loss": float(np.mean(losses[:5])),
                      "steps": len(losses), "lr": lr, "model": model, "y_mean": Y_mean, "y_std": Y_std},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="rtdl", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_RES = ("ResNet (n_blocks 2, d_block 192, d_hidden_multiplier 2.0, dropout1 0.3, dropout2 0.0; AdamW lr 3e-4, "
        "weight_decay 1e-5, F.mse_loss on the standardized target, batch 16, early stopping patience 16)")
_MLP = ("MLP (n_blocks 2, d_block 384, dropout 0.1; AdamW lr 3e-4, weight_decay 1e-5, F.mse_loss on the standardized "
        "target, batch 16, early stopping patience 16)")
CASES: list[dict] = (
    [_case(f"rtdlres_healthy_s{s}", "healthy", s, {"model": "resnet"}, f"{_RES}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"rtdlres_lr_x{k}_s{s}", "lr_high", s, {"model": "resnet", "lr_mult": k},
             f"{_RES}: AdamW lr x{k} ({3e-4 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("rtdlres_lr_div1000_s1", "lr_low", 1, {"model": "resnet", "lr_mult": 1e-3},
             f"{_RES}: AdamW lr /1000 (3e-07)")]
    + [_case("rtdlres_init_std1_s1", "init_large", 1, {"model": "resnet", "init_std": 1.0},
             f"{_RES}: nn.init.normal_(weight, 0, 1) on every Linear weight instead of PyTorch's default "
             "(kaiming_uniform_, a=sqrt(5)); biases kept")]
    + [_case("rtdlres_raw_target_s1", "unscaled_target", 1, {"model": "resnet", "raw_target": True},
             f"{_RES}: the raw target (25-346, mean ~147) into the MSE instead of the standardized one; the metric "
             "standardizes the predictions with the training mean and std")]
    + [_case("rtdlres_inputs_x1000_s1", "unscaled_inputs", 1, {"model": "resnet", "input_scale": 1000.0},
             f"{_RES}: the standardized features multiplied by 1000 (every part)")]
    + [_case("rtdlres_no_norm_s1", "healthy", 1, {"model": "resnet", "no_norm": True},
             f"{_RES}: the ResNet's normalization removed (nn.Identity in place of every nn.BatchNorm1d, the blocks' "
             "and the output's)")]
    + [_case("rtdlres_dropout09_s1", "healthy", 1, {"model": "resnet", "dropout": 0.9},
             f"{_RES}: dropout1 (the blocks' hidden dropout) 0.9 instead of 0.3")]
    + [_case(f"rtdlmlp_healthy_s{s}", "healthy", s, {"model": "mlp"}, f"{_MLP}: unchanged", False) for s in (1, 2, 3)]
    + [_case("rtdlmlp_lr_x1000_s1", "lr_high", 1, {"model": "mlp", "lr_mult": 1000}, f"{_MLP}: AdamW lr x1000 (0.3)")]
    + [_case("rtdlmlp_inputs_x1000_s1", "unscaled_inputs", 1, {"model": "mlp", "input_scale": 1000.0},
             f"{_MLP}: the standardized features multiplied by 1000 (every part)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k not in ("monitors", "extra")}, r["extra"])
