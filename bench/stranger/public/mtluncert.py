"""Multi-task learning with uncertainty weighting (Kendall, Gal & Cipolla), Hui Li's PyTorch example, watched by gradmedic.

Adapted from https://github.com/Hui-Li/multi-task-learning-example-PyTorch (commit
0ff709ff747e8b73d06eb2e77a2f87e0b30cdc1c, multi-task-learning-example-PyTorch.ipynb, a PyTorch port of yaringal's
Keras example for the paper; MIT License, Copyright (c) 2019 Hui Li, see LICENSE-mtluncert).  Kept as in the notebook
(copied below): ``gen_data`` (X ~ N(0, 1); Y1 = 2x + 8 + 10 N(0, 1), Y2 = 3x + 3 + N(0, 1)), 100 training points,
``TrainData`` and ``DataLoader(shuffle=True, batch_size=20)``, ``MTLModel(hidden_dim=1024, 1)`` (two separate
Linear(1, 1024)-ReLU-Linear(1024, 1) nets, one per task: the notebook shares no layer; PyTorch's default inits),
``MultiTaskLossWrapper`` (the two ``log_vars`` an nn.Parameter of zeros; ``precision = exp(-log_var)``; loss = mean
over the batch of the summed ``precision * (y - y_hat) ** 2 + log_var`` of both tasks),
``torch.optim.Adam(mtl.parameters(), lr=0.001, eps=1e-07)`` (the log_vars trained by the same Adam as the nets), a
constant rate, the loop (``loss, log_vars = mtl(X, [Y1, Y2])``, ``optimizer.zero_grad()``, ``loss.backward()``,
``optimizer.step()``, no clipping).  With 2000 epochs and seed 1 this port reproduces the notebook's printed result
(log_vars [4.299, -0.197], the notebook's [4.298, -0.204]; sigma 8.58 and 0.91, ground truth 10 and 1).

Changed to run offline on one CPU thread in ~5-10 s (~25 s for the upstream 2000 epochs on the loaded machine):
NB_EPOCH = 1000 epochs (5000 steps; upstream 2000; the log_var of the noisy task reaches ~2.7 instead of 4.3, task 2's
held-out error is as good or better: it overfits slowly after that); ``np.random.seed(seed - 1)`` (seed 1 is the
notebook's ``np.random.seed(0)``) and ``torch.manual_seed(seed)`` (upstream does not seed torch); the two pylab
plots left out; a held-out set of N_TEST = 1000 points drawn by ``gen_data`` right after the training set (upstream
has none); prints only with ``verbose``.  Knobs (one per variant): ``lr_mult`` scales Adam's rate; ``input_scale``
multiplies X (training and held-out); ``target_scale`` multiplies task 2's Y2 (its predictions divided back for the
metric); ``init_std`` draws every Linear weight of both nets from N(0, init_std) (biases kept); ``zero_grad=False``
leaves ``optimizer.zero_grad()`` out; ``batch_size``, ``hidden_dim``.

The watch, as a user would: ``monitor = gradmedic.watch(mtl, optimizer, every=10)`` on the MultiTaskLossWrapper
``mtl`` (the module that holds the MTLModel and the log_vars, and whose ``parameters()`` the Adam was built over),
right after the Adam is built; ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``;
``monitor.close()`` after the loop.  Metric "test_mse_task2": task 2's MSE on the 1000 held-out points (noise floor
1.0; task 2 is the low-noise task: task 1's noise floor, 100, hides everything but a blow-up, so task 1's held-out MSE
and the sum go to ``extra``); ``initial`` the same MSE at the initial parameters (untrained: 16.9, 21.0, 19.6 on
seeds 1-3; predicting the mean gives ~10).

``CASES`` (program "mtluncert"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10, x100, x1000 (seeds 1 and 2), /1000; X x100 (seeds 1 and 2); task 2's target x100; N(0, 1) weights, and
N(0, 10) weights (added after N(0, 1) came out ambiguous); ``optimizer.zero_grad()`` left out (seeds 1 and 2); and two
changes expected harmless (cause "healthy"): batch 40 and hidden_dim 2048.
Recorded (cases-public142; 4-10 s a run): healthy task-2 held-out MSE 1.079, 1.394, 1.292 on seeds 1-3 (untrained
16.93, 20.98, 19.56; training loss, first 5 steps -> last 20, 201 -> 9.9, 190 -> 8.9, 214 -> 11.3; task 1's MSE
102.7, 123.9, 110.4; log_vars ~(2.7, -0.2); every loss finite); lr x10: 1.070 (largest loss 219): healthy; lr x100:
1.025, but first-5 loss 562 and largest 1554 (> 2x the control's 282): ambiguous; lr x1000: 7312 (seed 1) and
15940 (seed 2), largest loss 2.4e5, log_vars driven to 4-6: broken; lr /1000: 9.566 (training loss 219 -> 184,
log_vars stay 0): broken; X x100: 2.766 (seed 1): broken, 1.860 (seed 2, control 1.394): ambiguous; Y2 x100: 0.965
(the log_var of task 2 rises to 1.2, the loss in the scaled units 2e5 -> 2644): ambiguous (largest loss 3e5); N(0, 1)
weights: 1.107 (first-5 loss 1295, largest 2090): ambiguous; N(0, 10) weights: 11.60 (first-5 loss 1.4e7, task 1's
MSE 738): broken; zero_grad left out: 310.3 (seed 1) and 4609 (seed 2; task 1's MSE ~1000, log_vars driven to ~6):
broken; batch 40: 1.048: healthy; hidden_dim 2048: 1.043: healthy.  Labels: 6 healthy (3 programs, lr x10, batch 40,
hidden 2048), 7 broken, 4 ambiguous.  Every run's losses were finite.  Adam and the learned precisions absorb most
scale changes here: lr x100, the target x100 and N(0, 1) weights reach a good task-2 error but blow the loss up on the
way.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(mtl, optimizer, every=10) on the MultiTaskLossWrapper (it holds the MTLModel and the two log_vars, "
              "and the Adam is built over mtl.parameters()) right after the Adam is built; monitor.step(loss) right "
              "after loss.backward(), before optimizer.step() (optimizer.zero_grad() comes before the backward, the "
              "notebook's order; no clipping)")

NB_EPOCH = 1000  # upstream: nb_epoch = 2000
N_TEST = 1000  # held-out points drawn by gen_data after the training set (upstream has no test set)


def gen_data(N):
    X = np.random.randn(N, 1)
    w1 = 2.
    b1 = 8.
    sigma1 = 1e1  # ground truth
    Y1 = X.dot(w1) + b1 + sigma1 * np.random.randn(N, 1)
    w2 = 3
    b2 = 3.
    sigma2 = 1e0  # ground truth
    Y2 = X.dot(w2) + b2 + sigma2 * np.random.randn(N, 1)
    return X, Y1, Y2


class TrainData(Dataset):

    def __init__(self, feature_num, X, Y1, Y2):

        self.feature_num = feature_num

        self.X = torch.tensor(X, dtype=torch.float32)
        self.Y1 = torch.tensor(Y1, dtype=torch.float32)
        self.Y2 = torch.tensor(Y2, dtype=torch.float32)

    def __len__(self):
        return self.feature_num

    def __getitem__(self, idx):
        return self.X[idx,:], self.Y1[idx,:], self.Y2[idx,:]


class MultiTaskLossWrapper(nn.Module):
    def __init__(self, task_num, model):
        super(MultiTaskLossWrapper, self).__init__()  # noqa: UP008 (as in the notebook)
        self.model = model
        self.task_num = task_num
        self.log_vars = nn.Parameter(torch.zeros((task_num)))  # noqa: UP034 (as in the notebook)

    def forward(self, input, targets):

        outputs = self.model(input)

        precision1 = torch.exp(-self.log_vars[0])
        loss = torch.sum(precision1 * (targets[0] - outputs[0]) ** 2. + self.log_vars[0], -1)

        precision2 = torch.exp(-self.log_vars[1])
        loss += torch.sum(precision2 * (targets[1] - outputs[1]) ** 2. + self.log_vars[1], -1)

        loss = torch.mean(loss)

        return loss, self.log_vars.data.tolist()


class MTLModel(torch.nn.Module):
    def __init__(self, n_hidden, n_output):
        super(MTLModel, self).__init__()  # noqa: UP008 (as in the notebook)

        self.net1 = nn.Sequential(nn.Linear(1, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_output))
        self.net2 = nn.Sequential(nn.Linear(1, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_output))

    def forward(self, x):
        return [self.net1(x), self.net2(x)]


def _test_mse(model, X, Y1, Y2, input_scale, target_scale):
    """Held-out MSE of each task, in the units of gen_data's targets (predictions divided by target_scale)."""
    with torch.no_grad():
        o1, o2 = model(torch.tensor(X * input_scale, dtype=torch.float32))
    p1, p2 = o1.numpy().astype(np.float64), o2.numpy().astype(np.float64) / target_scale
    return float(np.mean((p1 - Y1) ** 2)), float(np.mean((p2 - Y2) ** 2))


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, target_scale: float = 1.0,
          init_std: float | None = None, zero_grad: bool = True, batch_size: int = 20, hidden_dim: int = 1024,
          nb_epoch: int = NB_EPOCH, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)  # upstream: torch is not seeded
    t0 = time.time()
    np.random.seed(seed - 1)  # upstream: np.random.seed(0) (seed 1 is the notebook's data)

    feature_num = 100
    # upstream: nb_epoch = 2000, batch_size = 20, hidden_dim = 1024 (the knobs' defaults)

    X, Y1, Y2 = gen_data(feature_num)
    X_test, Y1_test, Y2_test = gen_data(N_TEST)  # upstream: no held-out set
    # upstream: the scatter plot of the data is left out

    # the unscaled_inputs variant multiplies X by 100; the unscaled_target variant multiplies task 2's Y2 by 100
    train_data = TrainData(feature_num, X * input_scale, Y1, Y2 * target_scale)
    train_data_loader = DataLoader(train_data, shuffle=True, batch_size=batch_size)

    model = MTLModel(hidden_dim, 1)
    if init_std is not None:  # the bug: N(0, init_std) for every Linear weight instead of PyTorch's default init
        for mod in model.modules():
            if isinstance(mod, nn.Linear):
                nn.init.normal_(mod.weight, mean=0.0, std=init_std)

    mtl = MultiTaskLossWrapper(2, model)
    initial1, initial2 = _test_mse(model, X_test, Y1_test, Y2_test, input_scale, target_scale)

    # https://github.com/keras-team/keras/blob/master/keras/optimizers.py
    # k.epsilon() = keras.backend.epsilon()
    optimizer = torch.optim.Adam(mtl.parameters(), lr=0.001 * lr_mult, eps=1e-07)
    monitor = gradmedic.watch(mtl, optimizer, every=every)  # gradmedic

    loss_list = []
    losses = []
    log_vars = mtl.log_vars.data.tolist()
    for t in range(nb_epoch):
        cumulative_loss = 0

        for X, Y1, Y2 in train_data_loader:

            loss, log_vars = mtl(X, [Y1, Y2])

            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()

            cumulative_loss += loss.item()
            losses.append(loss.item())

        loss_list.append(cumulative_loss/batch_size)
        if verbose and t % 200 == 0:  # upstream: no prints in the loop
            print(f"epoch {t} | loss {loss_list[-1]:.4f} | log_vars {log_vars} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    # upstream: the plot of loss_list is left out

    mse1, mse2 = _test_mse(model, X_test, Y1_test, Y2_test, input_scale, target_scale)
    la = np.array(losses)
    sd = [math.exp(lv) ** 0.5 if math.isfinite(lv) and lv < 700 else float("nan") for lv in log_vars]
    return {"monitors": {"": monitor}, "metric": "test_mse_task2", "value": mse2, "initial": initial2,
            "initial_what": "untrained: task 2's held-out MSE at the initial parameters",
            "chance": float(np.var(Y2_test)),
            "extra": {"test_mse1": mse1, "test_mse2": mse2, "test_mse_sum": mse1 + mse2, "initial_mse1": initial1,
                      "initial_mse2": initial2, "noise_floor1": 100.0, "noise_floor2": 1.0,
                      "train_loss": float(np.mean(la[-20:])), "first_loss": float(np.mean(la[:5])),
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "steps": len(la), "epochs": nb_epoch,
                      "log_var1": float(log_vars[0]), "log_var2": float(log_vars[1]), "sigma1": sd[0], "sigma2": sd[1],
                      "lr": 0.001 * lr_mult, "lr_mult": lr_mult, "input_scale": input_scale,
                      "target_scale": target_scale, "init_std": -1.0 if init_std is None else init_std,
                      "zero_grad": zero_grad, "batch_size": batch_size, "hidden_dim": hidden_dim},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="mtluncert", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"Hui Li's MTL example (MTLModel: two 1-1024-ReLU-1 nets; MultiTaskLossWrapper with log_vars; Adam lr 1e-3, eps "
      f"1e-7, batch 20 of 100 points, {NB_EPOCH} epochs, no clipping)")
CASES: list[dict] = (
    [_case(f"mtluncert_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"mtluncert_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1,)), (1000, (1, 2))) for s in ss]
    + [_case("mtluncert_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 (1e-06)")]
    + [_case(f"mtluncert_x_x100_s{s}", "unscaled_inputs", s, {"input_scale": 100.0},
             f"{_P}: the input X (N(0, 1)) multiplied by 100, training and test") for s in (1, 2)]
    + [_case("mtluncert_y2_x100_s1", "unscaled_target", 1, {"target_scale": 100.0},
             f"{_P}: task 2's target Y2 multiplied by 100 (mean 300; task 2's predictions divided by 100 for the "
             f"metric)")]
    + [_case("mtluncert_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every Linear weight of both nets instead of PyTorch's default "
             f"U(+-1/sqrt(fan_in)) (biases kept; log_vars zero as upstream)")]
    + [_case("mtluncert_init_std10_s1", "init_large", 1, {"init_std": 10.0},
             f"{_P}: nn.init.normal_(std=10.0) on every Linear weight of both nets instead of PyTorch's default "
             f"U(+-1/sqrt(fan_in)) (biases kept; added after std 1 came out ambiguous)")]
    + [_case(f"mtluncert_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)") for s in (1, 2)]
    + [_case("mtluncert_batch40_s1", "healthy", 1, {"batch_size": 40},
             f"{_P}: batch_size 40 instead of 20 (expected harmless)")]
    + [_case("mtluncert_hidden2048_s1", "healthy", 1, {"hidden_dim": 2048},
             f"{_P}: hidden_dim 2048 instead of 1024 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
