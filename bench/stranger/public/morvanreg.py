"""MorvanZhou/PyTorch-Tutorial's first regression (a 1-10-1 ReLU net fitting y = x^2 + noise, full batch, SGD),
watched by gradmedic.

Adapted from https://github.com/MorvanZhou/PyTorch-Tutorial (commit dbe154a9e56635e51c6b0c2ccea8ae36cfb585a7, file
last changed in 4e5122c3734dcdc9ace164c2a87fbd412ca1d431: tutorial-contents/301_regression.py; MIT License,
Copyright (c) 2017, see LICENSE-morvanreg).

Kept as in the original: the data (``x = torch.unsqueeze(torch.linspace(-1, 1, 100), dim=1)``,
``y = x.pow(2) + 0.2*torch.rand(x.size())``, drawn from the global generator before the net is built, as upstream),
``Net(n_feature=1, n_hidden=10, n_output=1)`` (``hidden = Linear(1, 10)``, ``F.relu``, ``predict = Linear(10, 1)``)
with PyTorch's default initialization, ``torch.optim.SGD(net.parameters(), lr=0.2)``, ``torch.nn.MSELoss()``, 200
full-batch steps, the loop (forward, loss, zero_grad, backward, step; no clipping, no normalization).

Changed: no plots (the live curve and the scatter); ``torch.manual_seed(seed)`` first (upstream has it commented
out); CPU only, one thread.  Upstream has no test set: a held-out set is drawn the same way (100 points, ``y = x^2 +
0.2 * rand``) but with ``x`` uniform on [-1, 1] instead of the training grid, from a separate generator seeded with
``seed + 1000`` so that it is the same for a seed's healthy run and its variants.  The metric, ``test_mse``, is the
net's MSE on it after the 200 steps; ``initial`` is the untrained net's MSE on it; ``chance`` is the MSE of predicting
the training target's mean.  Nothing was shrunk: a run takes well under a second on one CPU thread (below the 10-60 s
aimed at; the program is upstream's size).  With the target scaled (a variant) the outcome and references are
divided by the scale squared (in the units of the unscaled target).

The watch, as a user would: ``monitor = gradmedic.watch(net, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the loop.

``CASES`` (in the shape of run.py's ``case()``, program "morvanreg", name prefix mreg: run.py finds a variant's
control as the first "_" token of its name + "_healthy_s<seed>"): the program on seeds 1-3, and one change each
against the same seed's healthy run: SGD lr x10, x100 (seeds 1 and 2), x1000 and /1000; the inputs x100 (a unit
change: the net is fed ``100 * x``, training and held-out, the target still ``x^2 + noise`` of the unscaled ``x``);
the targets x100 (``100 * y``); ``normal_(0, 1) * 10`` on both Linears' weights (biases kept); the loop without
``optimizer.zero_grad()`` (gradients summed over all past steps).  Not carried: no clipping (upstream does not clip)
and raw inputs (upstream does not normalize; its inputs are already in [-1, 1]).  Labels come from run.py's outcome
rules only.
Recorded (cases-public23, 16 cases, 7 s in all; well under a second a run): healthy held-out MSE 0.0070, 0.0046,
0.0122 on seeds 1-3 (from 0.63, 0.43, 0.15 untrained; the mean predictor's is 0.09-0.10); SGD lr x10 (2.0), x100
(seeds 1 and 2) and x1000 all NaN (broken); lr /1000 0.346 (broken: barely moved from 0.63); the inputs x100 NaN
and NaN (broken); the targets x100 0.0906 and 0.0900 in the unscaled units (broken: exactly the mean predictor);
normal_(0, 1) * 10 on both Linears 0.0906 and 0.0900 (broken: the mean predictor, from 2.7e4 and 1.3e4
untrained); no zero_grad 0.092 and 0.072 (broken: near the mean predictor).  No case came out "ambiguous".
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(net, optimizer, every=10) right after the SGD is built; monitor.step(loss) right after "
              "loss.backward() (MSELoss over the full batch of 100 points), before optimizer.step() (no clipping)")

LR = 0.2
STEPS = 200
N_TEST = 100


class Net(torch.nn.Module):
    def __init__(self, n_feature, n_hidden, n_output):
        super().__init__()
        self.hidden = torch.nn.Linear(n_feature, n_hidden)   # hidden layer
        self.predict = torch.nn.Linear(n_hidden, n_output)   # output layer

    def forward(self, x):
        x = F.relu(self.hidden(x))      # activation function for hidden layer
        x = self.predict(x)             # linear output
        return x


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, target_scale: float = 1.0,
          init_std: float | None = None, zero_grad: bool = True, steps: int = STEPS, every: int = 10,
          verbose: bool = False) -> dict:
    """Variants: ``lr_mult`` multiplies SGD's lr 0.2; ``input_scale``: the net is fed ``x * input_scale`` (train and
    held-out; the target from the unscaled x); ``target_scale``: the target ``y * target_scale`` (the outcome divided
    by its square); ``init_std``: ``normal_(0, 1) * init_std`` on both Linears' weights (biases kept);
    ``zero_grad=False``: the loop leaves out ``optimizer.zero_grad()``."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)

    x = torch.unsqueeze(torch.linspace(-1, 1, 100), dim=1)  # x data (tensor), shape=(100, 1)
    y = x.pow(2) + 0.2 * torch.rand(x.size())                 # noisy y data (tensor), shape=(100, 1)

    net = Net(n_feature=1, n_hidden=10, n_output=1)     # define the network
    if init_std is not None:  # the bug: a large normal init of both layers' weights
        with torch.no_grad():
            for layer in (net.hidden, net.predict):
                layer.weight.normal_(0.0, 1.0).mul_(init_std)

    g = torch.Generator().manual_seed(seed + 1000)  # the held-out set, drawn the same way (x uniform on [-1, 1])
    x_test = torch.rand(N_TEST, 1, generator=g) * 2 - 1
    y_test = x_test.pow(2) + 0.2 * torch.rand(x_test.size(), generator=g)

    s2 = float(target_scale) ** 2
    x_in, y_in = x * input_scale, y * target_scale
    xt_in, yt_in = x_test * input_scale, y_test * target_scale

    def held_out_mse():
        with torch.no_grad():
            return float(((net(xt_in) - yt_in) ** 2).mean()) / s2

    initial = held_out_mse()
    chance = float(((y_test - y.mean()) ** 2).mean())  # predicting the training target's mean

    lr = LR * lr_mult
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    monitor = gradmedic.watch(net, optimizer, every=every)  # gradmedic
    loss_func = torch.nn.MSELoss()  # this is for regression mean squared loss

    losses = []
    t0 = time.time()
    for t in range(steps):
        prediction = net(x_in)     # input x and predict based on x

        loss = loss_func(prediction, y_in)     # must be (1. nn output, 2. target)

        if zero_grad:  # the variant leaves this out
            optimizer.zero_grad()   # clear gradients for next train
        loss.backward()         # backpropagation, compute gradients
        monitor.step(loss)      # gradmedic
        optimizer.step()        # apply gradients
        losses.append(loss.item())
        if verbose and (t + 1) % 20 == 0:
            print(f"step {t + 1} loss {np.mean(losses[-20:]) / s2:.4g}", flush=True)

    test_mse = held_out_mse()
    monitor.close()
    if verbose:
        print(f"held-out MSE {test_mse:.4g} (untrained {initial:.4g}, mean predictor {chance:.4g})")
    return {"monitors": {"": monitor}, "metric": "test_mse", "value": float(test_mse), "chance": chance,
            "initial": float(initial),
            "initial_what": "untrained: the held-out MSE of the net before its first step (units of the unscaled y)",
            "extra": {"train_loss": float(np.mean(losses[-20:])) / s2,
                      "initial_train_loss": float(np.mean(losses[:5])) / s2, "steps": len(losses), "lr": lr,
                      "mean_predictor_mse": chance, "target_scale": target_scale},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="morvanreg", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


CASES: list[dict] = (
    [_case(f"mreg_healthy_s{s}", "healthy", s, {}, "unchanged (Linear(1, 10) + ReLU + Linear(10, 1) on y = x^2 + "
           "0.2 rand over linspace(-1, 1, 100), MSELoss, SGD lr 0.2, full batch, 200 steps)", False)
     for s in (1, 2, 3)]
    + [_case(f"mreg_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"SGD lr x{k} ({0.2 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("mreg_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "SGD lr /1000 (0.0002)")]
    + [_case(f"mreg_input_x100_s{s}", "unscaled_inputs", s, {"input_scale": 100.0},
             "the net fed 100 * x instead of x (a unit change; training and held-out), the target x^2 + noise kept")
       for s in (1, 2)]
    + [_case(f"mreg_target_x100_s{s}", "unscaled_target", s, {"target_scale": 100.0},
             "the target 100 * y instead of y, the input x kept; the outcome divided by 100^2") for s in (1, 2)]
    + [_case(f"mreg_init10_s{s}", "init_large", s, {"init_std": 10.0},
             "normal_(0, 1) * 10 on both Linears' weights instead of PyTorch's default uniform; biases kept")
       for s in (1, 2)]
    + [_case(f"mreg_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             "optimizer.zero_grad() left out of the loop: each step follows the sum of all past gradients")
       for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    kw = {k: float(v) for k, v in (a.split("=") for a in sys.argv[1:])}
    for k in ("steps", "seed"):
        if k in kw:
            kw[k] = int(kw[k])
    if "zero_grad" in kw:
        kw["zero_grad"] = bool(kw["zero_grad"])
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
