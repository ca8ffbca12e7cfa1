"""MorvanZhou/PyTorch-Tutorial's dropout demo (a 1-300-300-1 ReLU MLP fit to 20 noisy points of ``y = x``, with
and without ``Dropout(0.5)``), watched by gradmedic.

Adapted from https://github.com/MorvanZhou/PyTorch-Tutorial (commit dbe154a9e56635e51c6b0c2ccea8ae36cfb585a7,
tutorial-contents/503_dropout.py; MIT License, Copyright (c) 2017, see LICENSE-morvandrop).

Kept as in the original: N_SAMPLES 20, N_HIDDEN 300; the data (training ``x = linspace(-1, 1, 20)`` as a column,
``y = x + 0.3 * N(0, 1)``; the test set ``test_x = linspace(-1, 1, 20)``, ``test_y = test_x + 0.3 * N(0, 1)``
with its own noise, drawn right after the training noise, both by ``torch.normal``); the two nets,
``net_overfitting`` (``Linear(1, 300), ReLU, Linear(300, 300), ReLU, Linear(300, 1)``) and ``net_dropped`` (the
same with ``Dropout(0.5)`` after each hidden Linear, before its ReLU), PyTorch's default initialization (upstream
sets none), ``torch.optim.Adam(lr=0.01)``, ``torch.nn.MSELoss()``, 500 full-batch steps (forward, loss,
zero_grad, backward, step; no clipping), the test MSE measured in ``eval()`` mode (dropout off), as upstream's
plot does every 10 steps.

Changed: one net per run (upstream trains both side by side, each with its own Adam, in one loop): ``dropped``
picks it.  The program (the healthy case) is ``net_dropped``, the one the tutorial recommends; ``net_overfitting``
is upstream's own contrast, recorded as its own case (see below).  ``torch.manual_seed(seed)`` at the top, before
the data, where upstream has ``torch.manual_seed(1)`` commented out (so the data, the init and the dropout masks
follow the seed).  No plots (the data figure, the live fit); the test MSE is taken once after training instead of
every 10 steps (upstream's periodic test forward, between eval() and train(), does not touch the training); CPU
only, one thread.  Nothing was shrunk: a run is 500 steps of a 90k-parameter MLP on 20
points, about 1-2 s on one CPU thread (below the 10-60 s aimed at; the model and steps are upstream's).
The metric, ``test_mse``, is the MSE on upstream's test set (test_x, test_y) at the end; ``initial`` is the
untrained net's test MSE (eval mode); ``chance`` is the test MSE of predicting the training targets' mean.  With the
target scaled (a variant) the outcome and reference are divided by the scale squared (units of the unscaled y).

The watch, as a user would: ``monitor = gradmedic.watch(net, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the loop.

``CASES`` (in the shape of run.py's ``case()``, program "morvandrop", name prefix mdrop: run.py finds a
variant's control as the first "_" token of its name + "_healthy_s<seed>"): the dropout net on seeds 1-3; the
net without dropout (upstream's ``net_overfitting``) on seeds 1-3 against the same seed's dropout net, under cause
"healthy" (no cause in bench/stranger/causes.py names missing regularization, and run.py labels a "healthy" case
by the good-outcome rule and "not clearly worse than its control"); and one change each on the dropout net: Adam
lr x10, x100 (seeds 1 and 2), x1000 and /1000; the input x100 (``net(100 * x)``, train and test; a unit change;
the target kept); the target x100 (``100 * y``, train and test; the outcome divided by 100^2); ``normal_(0, 1)``
on every Linear's weight (biases kept).  Labels come from run.py's outcome rules only.
Recorded (cases-public22, 16 cases, 38 s in all; about 2 s a run): healthy test MSE 0.120, 0.151, 0.092 on seeds
1-3 (from 0.64, 0.51, 0.41 untrained; the mean predictor's 0.53, 0.55, 0.38); net_overfitting 0.118, 0.192, 0.111
(labelled healthy by the "healthy"-cause rule: a good outcome, not clearly worse than the dropout net; its training
MSE ends at 0.008-0.020 against the dropout net's 0.08-0.10, the overfitting the tutorial shows, but on seeds 2 and
3 it is 1.27x and 1.20x its control, which a variant's 1.1x no-harm rule would call ambiguous); Adam lr x10 0.187
(ambiguous: learns, but 1.55x its control), x100 2.00 and 1.10, x1000 1974 (broken); lr /1000 0.099 (healthy: at
1e-05 Adam still fits the line in 500 steps, without overfitting); the input x100 0.116 and 0.120 and the target x100
0.120 (ambiguous: as good as the control in the end, but the training loss starts far higher, 23 and 11 untrained
test MSE, and the recorded loss peaks above 2x the control's); normal_(0, 1) on every Linear 12.5 and 2.32 (broken).
"""

from __future__ import annotations

import time

import numpy as np
import torch

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(net, optimizer, every=10) right after the Adam is built; monitor.step(loss) right after "
              "loss.backward() (MSELoss over the full batch of 20 points, dropout active in training), before "
              "optimizer.step() (no clipping)")

N_SAMPLES = 20
N_HIDDEN = 300
LR = 0.01
STEPS = 500


def make_nets():
    net_overfitting = torch.nn.Sequential(
        torch.nn.Linear(1, N_HIDDEN),
        torch.nn.ReLU(),
        torch.nn.Linear(N_HIDDEN, N_HIDDEN),
        torch.nn.ReLU(),
        torch.nn.Linear(N_HIDDEN, 1),
    )

    net_dropped = torch.nn.Sequential(
        torch.nn.Linear(1, N_HIDDEN),
        torch.nn.Dropout(0.5),  # drop 50% of the neuron
        torch.nn.ReLU(),
        torch.nn.Linear(N_HIDDEN, N_HIDDEN),
        torch.nn.Dropout(0.5),  # drop 50% of the neuron
        torch.nn.ReLU(),
        torch.nn.Linear(N_HIDDEN, 1),
    )
    return net_overfitting, net_dropped


def train(seed: int = 1, dropped: bool = True, lr_mult: float = 1.0, input_scale: float = 1.0,
          target_scale: float = 1.0, init_std: float | None = None, steps: int = STEPS, every: int = 10,
          verbose: bool = False) -> dict:
    """Variants: ``dropped`` picks net_dropped (True, the program) or net_overfitting; ``lr_mult`` multiplies
    Adam's lr 0.01; ``input_scale``: the net reads ``x * input_scale`` (train and test); ``target_scale``: the
    targets ``y * target_scale`` (train and test; the outcome divided by its square); ``init_std``:
    ``normal_(0, init_std)`` on every Linear's weight (biases kept)."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    torch.manual_seed(seed)    # reproducible (commented out upstream)

    # training data
    x = torch.unsqueeze(torch.linspace(-1, 1, N_SAMPLES), 1)
    y = x + 0.3 * torch.normal(torch.zeros(N_SAMPLES, 1), torch.ones(N_SAMPLES, 1))

    # test data
    test_x = torch.unsqueeze(torch.linspace(-1, 1, N_SAMPLES), 1)
    test_y = test_x + 0.3 * torch.normal(torch.zeros(N_SAMPLES, 1), torch.ones(N_SAMPLES, 1))

    # the variants' units (1 as upstream)
    x, test_x = x * input_scale, test_x * input_scale
    y, test_y = y * target_scale, test_y * target_scale

    net_overfitting, net_dropped = make_nets()
    net = net_dropped if dropped else net_overfitting
    if init_std is not None:  # the bug: a large normal init of every Linear's weight
        with torch.no_grad():
            for m in net.modules():
                if isinstance(m, torch.nn.Linear):
                    m.weight.normal_(0.0, init_std)

    loss_func = torch.nn.MSELoss()
    s2 = float(target_scale) ** 2

    def test_mse():
        net.eval()  # parameters for dropout differ from train mode
        with torch.no_grad():
            v = float(loss_func(net(test_x), test_y))
        net.train()
        return v / s2

    initial = test_mse()  # the untrained net
    chance = float(((test_y - y.mean()) ** 2).mean()) / s2  # predicting the training targets' mean

    lr = LR * lr_mult
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    monitor = gradmedic.watch(net, optimizer, every=every)  # gradmedic

    losses = []
    t0 = time.time()
    for t in range(steps):
        pred = net(x)
        loss = loss_func(pred, y)

        optimizer.zero_grad()
        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()
        losses.append(loss.item())
        if verbose and t % 50 == 0:
            print(f"step {t} loss {loss.item() / s2:.4g} test {test_mse():.4g}", flush=True)

    final = test_mse()
    monitor.close()
    if verbose:
        print(f"test MSE {final:.4g} (untrained {initial:.4g}, mean predictor {chance:.4g})")
    return {"monitors": {"": monitor}, "metric": "test_mse", "value": float(final), "chance": chance,
            "initial": float(initial),
            "initial_what": "untrained: the test MSE of the net before its first step (units of the unscaled y)",
            "extra": {"train_loss": float(np.mean(losses[-20:])) / s2,
                      "initial_train_loss": float(np.mean(losses[:5])) / s2, "steps": len(losses), "lr": lr,
                      "dropped": dropped, "mean_predictor_mse": chance, "target_scale": target_scale},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="morvandrop", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


CASES: list[dict] = (
    [_case(f"mdrop_healthy_s{s}", "healthy", s, {}, "unchanged (net_dropped: Linear(1, 300), Dropout(0.5), ReLU, "
           "Linear(300, 300), Dropout(0.5), ReLU, Linear(300, 1); MSELoss, Adam lr 0.01, 500 full-batch steps on 20 "
           "points)", False) for s in (1, 2, 3)]
    + [_case(f"mdrop_overfitting_s{s}", "healthy", s, {"dropped": False},
             "net_overfitting instead of net_dropped (the same MLP without the two Dropout(0.5) layers; upstream's own "
             "contrast), everything else kept") for s in (1, 2, 3)]
    + [_case(f"mdrop_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({0.01 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("mdrop_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (1e-05)")]
    + [_case(f"mdrop_input_x100_s{s}", "unscaled_inputs", s, {"input_scale": 100.0},
             "the net reads 100 * x instead of x (training and test; a unit change), the target y kept")
       for s in (1, 2)]
    + [_case("mdrop_target_x100_s1", "unscaled_target", 1, {"target_scale": 100.0},
             "the targets 100 * y instead of y (training and test), the input kept; the outcome divided by 100^2")]
    + [_case(f"mdrop_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "normal_(0, 1) on every Linear's weight instead of PyTorch's default uniform +-1/sqrt(fan_in) (+-1 for "
             "the first, +-0.058 for the others); biases kept") for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    kw = {k: float(v) for k, v in (a.split("=") for a in sys.argv[1:])}
    for k in ("steps", "seed"):
        if k in kw:
            kw[k] = int(kw[k])
    if "dropped" in kw:
        kw["dropped"] = bool(kw["dropped"])
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
