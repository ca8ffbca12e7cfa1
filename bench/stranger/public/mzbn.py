"""MorvanZhou/PyTorch-Tutorial's batch-normalization demo (a deep tanh regression MLP, 8 hidden layers of 10, fit to
noisy ``y = x^2 - 5`` on ``x`` in [-7, 10], with and without ``BatchNorm1d`` on the input and every hidden layer),
watched by gradmedic.

Adapted from https://github.com/MorvanZhou/PyTorch-Tutorial (commit dbe154a9e56635e51c6b0c2ccea8ae36cfb585a7,
tutorial-contents/504_batch_normalization.py; MIT License, Copyright (c) 2017, see LICENSE-mzbn).

Kept as in the original: N_SAMPLES 2000, BATCH_SIZE 64, EPOCH 12 (32 batches an epoch, 384 steps), LR 0.03,
N_HIDDEN 8, ACTIVATION ``torch.tanh``, B_INIT -0.2 (upstream's "bad bias constant initializer"); the data (training
``x = np.linspace(-7, 10, 2000)`` as a column, ``y = x^2 - 5 + N(0, 2)``; the test set ``np.linspace(-7, 10, 200)``
with its own ``N(0, 2)`` noise drawn right after, both by ``np.random.normal``); ``TensorDataset`` and a shuffling
``DataLoader`` of batch 64; the ``Net`` class as it is (``bn_input = BatchNorm1d(1, momentum=0.5)``, then per hidden
layer ``Linear(1 or 10, 10)``, ``BatchNorm1d(10, momentum=0.5)`` when ``batch_normalization``, the activation;
``predict = Linear(10, 1)``; ``_set_init``: ``init.normal_(weight, 0, 0.1)``, ``init.constant_(bias, B_INIT)`` on
every Linear; ``forward`` returning ``(out, layer_input, pre_activation)``), ``torch.optim.Adam(lr=LR)`` per net,
``torch.nn.MSELoss()``, the loop (forward, loss, zero_grad, backward, step; no clipping), and the test MSE measured
in ``eval()`` mode (BN's running statistics) at the start of every epoch, as upstream does for its plot.

Changed: one net per run (upstream trains both side by side, each with its own Adam, on the same batches):
``bn`` picks it.  The program (the healthy case) is the BN net, the one the tutorial recommends.  Upstream's plain
net ("Original") is recorded as a variant of it (cause no_norm), not as a program with its own healthy runs: in its
upstream form it learns only the targets' mean on every seed tried (test MSE 689.6, 691.7, 711.0 on seeds 1-3,
equal to the mean predictor's to 0.1; 40 epochs instead of 12 change nothing), which is the tutorial's point, so
it cannot serve as a control (run.py's good-outcome rule, final at most 0.7x the untrained 1163, would still call it
healthy, because the untrained net predicts about -0.2 against a mean of 22).  For the same reason the ReLU and
16-layer variants are applied to the BN net.  ``N_HIDDEN``, ``ACTIVATION`` and
``B_INIT`` are arguments of ``Net`` (module constants upstream) so a variant can change them, and ``input_bn``
(default True) lets a variant skip ``bn_input``.  ``np.random.seed(seed)``
and ``torch.manual_seed(seed)`` at the top, where upstream has both commented out (so the noise, the init and the
shuffling follow the seed).  ``num_workers=0`` instead of 2 (one process, one thread).  No plots (data figure, the
per-epoch activation histograms, the loss and fit figures); the per-epoch test MSE is kept in ``extra``.  CPU only.
Nothing was shrunk: a run is 384 steps of a ~1k-parameter MLP, a few seconds on one CPU thread (below the 10-60 s
aimed at; the model and steps are upstream's).  The metric, ``test_mse``, is the MSE on upstream's test set at the
end, in eval mode; ``initial`` is the untrained net's test MSE (eval mode); ``chance`` the test MSE of predicting the
training targets' mean.

The watch, as a user would: ``monitor = gradmedic.watch(net, opt, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``opt.step()``; ``monitor.close()`` after the loop.

``CASES`` (in the shape of run.py's ``case()``, program "mzbn", name prefix mzbn: run.py finds a variant's control as
the first "_" token of its name + "_healthy_s<seed>"): the BN net on seeds 1-3, and one change each against the same
seed's BN net: Adam lr x10, x100 (seeds 1 and 2), x1000 and /1000; ``normal_(0, 1)`` on every Linear's weight (biases
kept at B_INIT); no input BatchNorm (``bn_input`` skipped, the raw x in [-7, 10] into fc0, cause unscaled_inputs);
the plain net (no BatchNorm anywhere, upstream's own contrast; seeds 1 and 2, cause no_norm); ``ACTIVATION =
torch.relu`` with B_INIT -0.2 kept (cause dead_relu); 16 hidden layers instead of 8 (cause saturating_depth).
Labels come from run.py's outcome rules only.
Recorded (cases-public24, 14 cases, 31 s in all; about 2 s a run): healthy test MSE 75.8, 139.6, 69.4 on seeds 1-3
(from 1163, 1171, 1191 untrained; the mean predictor's 690, 692, 711; seed 2's training loss ends at 70; its eval-mode
test MSE, with BN's running statistics, is higher); Adam lr x10 538 (broken), x100 284 and 625 (broken),
x1000 1888 (broken), /1000 1139 (broken: barely moves in 384 steps); normal_(0, 1) 159 (broken, 2.1x its control,
from 1101); no input BN 47.7 (healthy: the first hidden BN normalizes fc0's output anyway); the plain net 689.6 and
691.7 (broken: the mean predictor); ReLU 43.8 (healthy: with BN after every Linear the -0.2 bias kills no unit);
16 layers 500 (broken).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.utils.data as Data
from torch import nn
from torch.nn import init

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(net, opt, every=10) right after the Adam is built; monitor.step(loss) right after loss.backward() "
              "(MSELoss on a batch of 64), before opt.step() (no clipping)")

# Hyper parameters
N_SAMPLES = 2000
BATCH_SIZE = 64
EPOCH = 12
LR = 0.03
N_HIDDEN = 8
ACTIVATION = torch.tanh
B_INIT = -0.2   # use a bad bias constant initializer


class Net(nn.Module):
    def __init__(self, batch_normalization=False, n_hidden=N_HIDDEN, activation=ACTIVATION, b_init=B_INIT,
                 input_bn=True):
        super().__init__()
        self.do_bn = batch_normalization
        self.n_hidden, self.activation, self.b_init, self.input_bn = n_hidden, activation, b_init, input_bn
        self.fcs = []
        self.bns = []
        self.bn_input = nn.BatchNorm1d(1, momentum=0.5)   # for input data

        for i in range(n_hidden):               # build hidden layers and BN layers
            input_size = 1 if i == 0 else 10
            fc = nn.Linear(input_size, 10)
            setattr(self, f'fc{i}', fc)         # IMPORTANT set layer to the Module
            self._set_init(fc)                  # parameters initialization
            self.fcs.append(fc)
            if self.do_bn:
                bn = nn.BatchNorm1d(10, momentum=0.5)
                setattr(self, f'bn{i}', bn)     # IMPORTANT set layer to the Module
                self.bns.append(bn)

        self.predict = nn.Linear(10, 1)         # output layer
        self._set_init(self.predict)            # parameters initialization

    def _set_init(self, layer):
        init.normal_(layer.weight, mean=0., std=.1)
        init.constant_(layer.bias, self.b_init)

    def forward(self, x):
        pre_activation = [x]
        if self.do_bn and self.input_bn:
            x = self.bn_input(x)     # input batch normalization
        layer_input = [x]
        for i in range(self.n_hidden):
            x = self.fcs[i](x)
            pre_activation.append(x)
            if self.do_bn:
                x = self.bns[i](x)   # batch normalization
            x = self.activation(x)
            layer_input.append(x)
        out = self.predict(x)
        return out, layer_input, pre_activation


def train(seed: int = 1, bn: bool = True, lr_mult: float = 1.0, activation: str = "tanh", n_hidden: int = N_HIDDEN,
          init_std: float | None = None, input_bn: bool = True, epochs: int = EPOCH, every: int = 10,
          verbose: bool = False) -> dict:
    """Variants: ``bn`` picks the BN net (True) or the plain net; ``lr_mult`` multiplies Adam's lr 0.03;
    ``activation`` "tanh" (upstream) or "relu"; ``n_hidden`` the number of hidden layers (8); ``init_std``:
    ``normal_(0, init_std)`` on every Linear's weight after ``_set_init`` (biases kept at B_INIT); ``input_bn``
    False skips the BN net's ``bn_input`` (the raw x into fc0)."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    np.random.seed(seed)     # reproducible (commented out upstream)
    torch.manual_seed(seed)

    # training data
    x = np.linspace(-7, 10, N_SAMPLES)[:, np.newaxis]
    noise = np.random.normal(0, 2, x.shape)
    y = np.square(x) - 5 + noise

    # test data
    test_x = np.linspace(-7, 10, 200)[:, np.newaxis]
    noise = np.random.normal(0, 2, test_x.shape)
    test_y = np.square(test_x) - 5 + noise

    train_x, train_y = torch.from_numpy(x).float(), torch.from_numpy(y).float()
    test_x = torch.from_numpy(test_x).float()
    test_y = torch.from_numpy(test_y).float()

    train_dataset = Data.TensorDataset(train_x, train_y)
    train_loader = Data.DataLoader(dataset=train_dataset, batch_size=BATCH_SIZE, shuffle=True, num_workers=0,)

    act = {"tanh": torch.tanh, "relu": torch.relu}[activation]
    net = Net(batch_normalization=bn, n_hidden=n_hidden, activation=act, input_bn=input_bn)
    if init_std is not None:  # the bug: a large normal init of every Linear's weight
        with torch.no_grad():
            for m in net.modules():
                if isinstance(m, nn.Linear):
                    m.weight.normal_(0.0, init_std)

    lr = LR * lr_mult
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    monitor = gradmedic.watch(net, opt, every=every)  # gradmedic

    loss_func = torch.nn.MSELoss()

    def test_mse():
        net.eval()              # set eval mode to fix moving_mean and moving_var
        with torch.no_grad():
            pred, _, _ = net(test_x)
            v = loss_func(pred, test_y).data.item()
        net.train()             # free moving_mean and moving_var
        return v

    chance = float(((test_y - train_y.mean()) ** 2).mean())  # predicting the training targets' mean
    test_losses, losses = [], []
    t0 = time.time()
    for epoch in range(epochs):
        test_losses.append(test_mse())
        if verbose:
            print(f"Epoch {epoch} test MSE {test_losses[-1]:.4g}", flush=True)
        for _step, (b_x, b_y) in enumerate(train_loader):
            pred, _, _ = net(b_x)
            loss = loss_func(pred, b_y)
            opt.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            opt.step()    # it will also learns the parameters in Batch Normalization
            losses.append(loss.item())

    final = test_mse()
    monitor.close()
    initial = test_losses[0]  # the untrained net (eval mode)
    if verbose:
        print(f"test MSE {final:.4g} (untrained {initial:.4g}, mean predictor {chance:.4g}); train loss "
              f"{np.mean(losses[:5]):.4g} -> {np.mean(losses[-20:]):.4g}")
    return {"monitors": {"": monitor}, "metric": "test_mse", "value": float(final), "chance": chance,
            "initial": float(initial),
            "initial_what": "untrained: the test MSE of the net before its first step (eval mode)",
            "extra": {"train_loss": float(np.mean(losses[-20:])), "initial_train_loss": float(np.mean(losses[:5])),
                      "steps": len(losses), "lr": lr, "bn": bn, "mean_predictor_mse": chance,
                      "test_mse_per_epoch": [float(v) for v in test_losses] + [float(final)]},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="mzbn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_W = "normal_(0, 1) on every Linear's weight instead of _set_init's normal_(0, 0.1); biases kept at B_INIT -0.2"
CASES: list[dict] = (
    [_case(f"mzbn_healthy_s{s}", "healthy", s, {}, "unchanged (the BN net: BatchNorm1d(momentum=0.5) on the input and "
           "after each of 8 Linear(., 10) hidden layers, tanh; normal_(0, 0.1) weights, bias -0.2; MSELoss, Adam lr "
           "0.03, batch 64, 12 epochs of 2000 points)", False) for s in (1, 2, 3)]
    + [_case(f"mzbn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({0.03 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("mzbn_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (3e-05)")]
    + [_case("mzbn_init_std1_s1", "init_large", 1, {"init_std": 1.0}, _W)]
    + [_case("mzbn_no_input_bn_s1", "unscaled_inputs", 1, {"input_bn": False},
             "the input BatchNorm1d (bn_input) skipped: the raw x in [-7, 10] into fc0 (the hidden BNs kept)")]
    + [_case(f"mzbn_plain_s{s}", "no_norm", s, {"bn": False},
             "the plain net (upstream's 'Original', Net(batch_normalization=False)): no BatchNorm1d on the input or "
             "the hidden layers, the raw x into fc0; everything else kept") for s in (1, 2)]
    + [_case("mzbn_relu_s1", "dead_relu", 1, {"activation": "relu"},
             "ACTIVATION = torch.relu instead of torch.tanh, B_INIT -0.2 kept (BatchNorm kept)")]
    + [_case("mzbn_depth16_s1", "saturating_depth", 1, {"n_hidden": 16},
             "N_HIDDEN 16 instead of 8 (16 tanh hidden layers of 10, each with its BatchNorm1d)")]
)

if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = v if k == "activation" else (v == "1" if k in ("bn", "input_bn") else float(v))
    for k in ("epochs", "seed", "n_hidden"):
        if k in kw:
            kw[k] = int(kw[k])
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
