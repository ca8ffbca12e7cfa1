"""locuslab/TCN's adding-problem experiment (a TemporalConvNet of weight-normed dilated causal Conv1d blocks and a
Linear head, Adam, MSE) on the adding problem it generates, watched by gradmedic.

Adapted from https://github.com/locuslab/TCN (MIT License, Copyright (c) 2018 CMU Locus Lab, see LICENSE-tcn), commit
2f8c2b817050206397458dfd1f5a25ce8a32fe65: TCN/tcn.py (``Chomp1d``, ``TemporalBlock``, ``TemporalConvNet``),
TCN/adding_problem/model.py (``TCN``), TCN/adding_problem/utils.py (``data_generator``) and
TCN/adding_problem/add_test.py (the loop).

Kept as upstream has them: ``Chomp1d``, ``TemporalBlock`` (two ``weight_norm(nn.Conv1d)`` with causal padding
``(kernel_size-1) * dilation`` chomped off the end, ReLU, Dropout; a 1x1 ``downsample`` Conv1d on the residual when
the channel counts differ; ReLU of the sum) and its ``init_weights`` (``normal_(0, 0.01)`` on conv1.weight.data,
conv2.weight.data and downsample.weight.data: on the two weight-normed convs this is a no-op, as upstream, since
``torch.nn.utils.weight_norm`` recomputes ``weight`` from ``weight_g`` and ``weight_v`` before every forward;
``torch.nn.utils.weight_norm`` is kept, deprecated as it is), ``TemporalConvNet`` (dilation 2**i at level i),
``TCN`` (the TCN, then ``Linear(num_channels[-1], 1)`` on the last time step, its weight ``normal_(0, 0.01)``);
``data_generator`` (input channel 0 uniform in [0, 1], channel 1 a mask with two ones at ``np.random.choice``
positions; the target the sum of the two marked values); add_test.py's settings: input_channels 2, n_classes 1,
kernel size 7, batch 32, ``optim.Adam(model.parameters(), lr=4e-3)``, dropout 0.0, clip -1 (no clipping: the
``clip_grad_norm_`` branch is kept behind ``clip > 0``), ``F.mse_loss(output, y)``, the training set walked in order
in slices of 32 each epoch (the last one short, no shuffling), ``evaluate`` (``model.eval()``, the whole test set
of 1000 in one batch, no grad) after each epoch.

Changed, so a run takes ~30-40 s on one CPU thread: seq_len 50 instead of 400, levels 3 instead of 8 (receptive
field 1 + 2 * 6 * (2**3 - 1) = 85 >= 50, as the README's note asks; upstream's 8 levels cover 3061), nhid 24 instead
of 30, 3200 training sequences instead of 50000 (10 epochs kept: 1000 steps; at seq_len 100 with 4 levels a step
took ~4x longer and 500 steps had not yet left the constant-prediction plateau). The data generator's ``torch.rand``
draws from torch's global generator as upstream (seeded by ``torch.manual_seed(seed)``); its ``np.random.choice``
positions, unseeded upstream, come from ``np.random.seed(seed)`` so a run is reproducible. CUDA code is dropped,
``Variable`` is dropped (a no-op wrapper), ``super(Cls, self)`` is written ``super()`` (ruff), the deprecation
warning of ``weight_norm`` is silenced, and the 0.01 of the two ``init_weights`` is an ``init_std`` argument
(default 0.01) for the init variant. The metric ``test_mse`` is the test set's MSE after the last epoch (the last
``evaluate``); ``initial`` (and ``chance``) is the test MSE of the constant prediction 1 (the README's "simply
predicting the sum to be 1", 1/6 in expectation), so a good outcome (at most 0.7x that) means the model learned more
than the mean; the untrained model's test MSE (1.0-1.6: it outputs ~0) is kept in ``extra``.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(loss)`` after ``loss.backward()``, before the (optional) clipping and ``optimizer.step()``.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the same
seed's healthy run: Adam lr x10 (seeds 1 and 2), x100 (seeds 1 and 2), x1000 and /1000; ``normal_(0, 1)`` instead
of ``normal_(0, 0.01)`` in both ``init_weights`` (seeds 1 and 2; effective, as upstream's, on the downsample Conv1d
and the Linear head only); ``zeros_`` on the Linear head (weight and bias); dropout 0.9 instead of 0.0 (cause
"healthy": ``bench/stranger/causes.CAUSES`` has no cause for it).  Not recorded: "no clipping" (upstream's adding
problem does not clip; clip -1 is its default) and the Chomp removed (the model then sees the future, not a
training failure).  Labels come from run.py's outcome rules only.
Recorded (cases-public11, 517 s for the 13 cases, 31-47 s each): healthy test MSE 0.0019, 0.0044, 0.0046 on seeds
1-3 against the constant prediction's 0.161, 0.168, 0.173 (each leaves the plateau in epoch 2-4); lr x10 (0.142,
0.167), x100 (0.159, 0.182; the training loss reached 3e5 and 1e7 on the way) and x1000 (9.8e10) end at or above
the constant prediction: broken; lr /1000 1.40 (still falling from the untrained 1.59): broken; N(0, 1) init trains
but later: 0.0024 on seed 1 (1.25x its control: ambiguous), 0.0089 on seed 2 (2.0x its control, so broken by
``clearly_better``'s halving, though far below the constant prediction); the zeroed Linear head 0.0014 (healthy);
dropout 0.9 stays on the constant prediction (0.1605: ambiguous, cause "healthy").
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
import torch.optim as optim
from torch import nn
from torch.nn.utils import weight_norm

import gradmedic

ARCH = "tcn"
MONITOR_AT = ("monitor.step(loss) after loss.backward() (F.mse_loss on the sum), before the clip_grad_norm_ branch "
              "(off: clip -1, as upstream) and optimizer.step()")


# TCN/tcn.py ---------------------------------------------------------------------------------------------------------

class Chomp1d(nn.Module):
    def __init__(self, chomp_size):
        super().__init__()
        self.chomp_size = chomp_size

    def forward(self, x):
        return x[:, :, :-self.chomp_size].contiguous()


class TemporalBlock(nn.Module):
    def __init__(self, n_inputs, n_outputs, kernel_size, stride, dilation, padding, dropout=0.2, init_std=0.01):
        super().__init__()
        self.conv1 = weight_norm(nn.Conv1d(n_inputs, n_outputs, kernel_size,
                                           stride=stride, padding=padding, dilation=dilation))
        self.chomp1 = Chomp1d(padding)
        self.relu1 = nn.ReLU()
        self.dropout1 = nn.Dropout(dropout)

        self.conv2 = weight_norm(nn.Conv1d(n_outputs, n_outputs, kernel_size,
                                           stride=stride, padding=padding, dilation=dilation))
        self.chomp2 = Chomp1d(padding)
        self.relu2 = nn.ReLU()
        self.dropout2 = nn.Dropout(dropout)

        self.net = nn.Sequential(self.conv1, self.chomp1, self.relu1, self.dropout1,
                                 self.conv2, self.chomp2, self.relu2, self.dropout2)
        self.downsample = nn.Conv1d(n_inputs, n_outputs, 1) if n_inputs != n_outputs else None
        self.relu = nn.ReLU()
        self.init_std = init_std  # 0.01 upstream (a literal there); the init_std variant changes it
        self.init_weights()

    def init_weights(self):
        self.conv1.weight.data.normal_(0, self.init_std)
        self.conv2.weight.data.normal_(0, self.init_std)
        if self.downsample is not None:
            self.downsample.weight.data.normal_(0, self.init_std)

    def forward(self, x):
        out = self.net(x)
        res = x if self.downsample is None else self.downsample(x)
        return self.relu(out + res)


class TemporalConvNet(nn.Module):
    def __init__(self, num_inputs, num_channels, kernel_size=2, dropout=0.2, init_std=0.01):
        super().__init__()
        layers = []
        num_levels = len(num_channels)
        for i in range(num_levels):
            dilation_size = 2 ** i
            in_channels = num_inputs if i == 0 else num_channels[i-1]
            out_channels = num_channels[i]
            layers += [TemporalBlock(in_channels, out_channels, kernel_size, stride=1, dilation=dilation_size,
                                     padding=(kernel_size-1) * dilation_size, dropout=dropout, init_std=init_std)]

        self.network = nn.Sequential(*layers)

    def forward(self, x):
        return self.network(x)


# TCN/adding_problem/model.py ----------------------------------------------------------------------------------------

class TCN(nn.Module):
    def __init__(self, input_size, output_size, num_channels, kernel_size, dropout, init_std=0.01):
        super().__init__()
        self.tcn = TemporalConvNet(input_size, num_channels, kernel_size=kernel_size, dropout=dropout,
                                   init_std=init_std)
        self.linear = nn.Linear(num_channels[-1], output_size)
        self.init_std = init_std
        self.init_weights()

    def init_weights(self):
        self.linear.weight.data.normal_(0, self.init_std)

    def forward(self, x):
        y1 = self.tcn(x)
        return self.linear(y1[:, :, -1])


# TCN/adding_problem/utils.py ----------------------------------------------------------------------------------------

def data_generator(N, seq_length):
    """
    Args:
        seq_length: Length of the adding problem data
        N: # of data in the set
    """
    X_num = torch.rand([N, 1, seq_length])
    X_mask = torch.zeros([N, 1, seq_length])
    Y = torch.zeros([N, 1])
    for i in range(N):
        positions = np.random.choice(seq_length, size=2, replace=False)
        X_mask[i, 0, positions[0]] = 1
        X_mask[i, 0, positions[1]] = 1
        Y[i, 0] = X_num[i, 0, positions[0]] + X_num[i, 0, positions[1]]
    X = torch.cat((X_num, X_mask), dim=1)
    return X, Y


# TCN/adding_problem/add_test.py -------------------------------------------------------------------------------------

def train(seed: int = 1, lr_mult: float = 1.0, init_std: float = 0.01, zero_linear: bool = False,
          dropout: float = 0.0, clip: float = -1, seq_len: int = 50, levels: int = 3, nhid: int = 24,
          ksize: int = 7, n_train: int = 3200, epochs: int = 10, batch_size: int = 32, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    np.random.seed(seed)  # unseeded upstream (np.random.choice in data_generator)

    input_channels = 2
    n_classes = 1
    X_train, Y_train = data_generator(n_train, seq_len)
    X_test, Y_test = data_generator(1000, seq_len)

    channel_sizes = [nhid] * levels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.nn.utils.weight_norm is deprecated
        model = TCN(input_channels, n_classes, channel_sizes, kernel_size=ksize, dropout=dropout, init_std=init_std)
    if zero_linear:  # the bug: zeros_ on the Linear head
        nn.init.zeros_(model.linear.weight)
        nn.init.zeros_(model.linear.bias)

    lr = 4e-3 * lr_mult
    optimizer = optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)

    def evaluate():
        model.eval()
        with torch.no_grad():
            output = model(X_test)
            test_loss = F.mse_loss(output, Y_test)
            return test_loss.item()

    chance = F.mse_loss(torch.ones_like(Y_test), Y_test).item()  # "simply predicting the sum to be 1"
    untrained = evaluate()
    losses, test_losses = [], []
    t0 = time.time()
    for ep in range(1, epochs + 1):
        model.train()
        for i in range(0, X_train.size(0), batch_size):
            if i + batch_size > X_train.size(0):
                x, y = X_train[i:], Y_train[i:]
            else:
                x, y = X_train[i:(i + batch_size)], Y_train[i:(i + batch_size)]
            optimizer.zero_grad()
            output = model(x)
            loss = F.mse_loss(output, y)
            loss.backward()
            monitor.step(loss)  # gradmedic
            if clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            losses.append(loss.item())
        test_losses.append(evaluate())
        if verbose:
            print(f"epoch {ep} train loss {np.mean(losses[-50:]):.5f} test loss {test_losses[-1]:.5f} "
                  f"({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    value = test_losses[-1]
    return {"monitors": {"": monitor}, "metric": "test_mse", "value": value if math.isfinite(value) else float("nan"),
            "chance": chance, "initial": chance,
            "initial_what": "the test MSE of the constant prediction 1 (the README's 'simply predicting the sum to be "
                            "1', ~1/6)",
            "extra": {"untrained_test_mse": untrained, "test_mse_per_epoch": test_losses,
                      "train_loss": float(np.mean(losses[-20:])), "initial_train_loss": float(np.mean(losses[:5])),
                      "steps": len(losses), "lr": lr, "seq_len": seq_len, "levels": levels, "nhid": nhid},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="tcn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = ("TCN adding problem (seq_len 50, 3 levels of 24 channels, kernel 7, weight_norm, dropout 0.0, no clipping; "
      "Adam lr 4e-3, F.mse_loss, batch 32, 3200 sequences x 10 epochs)")
CASES: list[dict] = (
    [_case(f"tcn_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"tcn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({4e-3 * k:g})")
       for k, ss in ((10, (1, 2)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("tcn_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 (4e-06)")]
    + [_case(f"tcn_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: normal_(0, 1) instead of normal_(0, 0.01) in TemporalBlock.init_weights and TCN.init_weights "
             "(effective on the downsample Conv1d and the Linear head; on the weight-normed convs a no-op, as "
             "upstream's)") for s in (1, 2)]
    + [_case("tcn_zero_linear_s1", "symmetric_init", 1, {"zero_linear": True},
             f"{_P}: nn.init.zeros_ on the Linear head (weight and bias)")]
    + [_case("tcn_dropout09_s1", "healthy", 1, {"dropout": 0.9}, f"{_P}: dropout 0.9 instead of 0.0")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k not in ("monitors", "extra")}, r["extra"])
