"""pytorch/examples time_sequence_prediction (two LSTMCells on sine waves, LBFGS lr 0.8, double), watched by gradmedic.

Adapted from https://github.com/pytorch/examples (commit 77f55b912142e11fcfdf5b530231fb9c52f181e8,
time_sequence_prediction/generate_sine_wave.py and train.py; BSD 3-Clause, Copyright (c) 2017, Pytorch
contributors, see LICENSE-pytorch-examples).  Kept as in the original: ``Sequence`` (copied below: LSTMCell(1, 51),
LSTMCell(51, 51), Linear(51, 1), the state in double precision), ``seq.double()``, the data of
generate_sine_wave.py (N = 100 sine waves ``sin(x / T)`` whose start is shifted by ``randint(-4T, 4T)``, drawn
with numpy seed 2), the first 3 waves held out for testing and the other 97 trained on as one batch (input
``data[3:, :-1]``, target ``data[3:, 1:]``), MSELoss, ``optim.LBFGS(seq.parameters(), lr=0.8)`` with its
defaults (max_iter 20: up to 20 evaluations of the closure per step), ``--steps`` 15 and the closure
(``zero_grad``, forward, loss, ``backward``, ``return loss``).

Changed to run on one CPU thread in 20-50 s (the LSTMCells are stepped in Python, 2-3 ms a time step forward
and backward): L = 48 samples per wave (original 1000) and T = 6 (original 20), so that each wave still covers
more than a period (period 2 pi T = 38 samples, 1.25 periods a wave; originally 126 samples, 8 periods); the
data is generated in memory (no ``traindata.pt``); the seed is ``torch.manual_seed(seed)`` /
``np.random.seed(seed)`` (original 0 for both); no per-step prediction of 1000 future values and no plots (one
test pass at the end, without future).

The watch: ``gradmedic.watch(seq, optimizer, every=10)``.  ``monitor.step(loss)`` is called once per LBFGS step,
inside the closure after ``loss.backward()`` on the closure's first call of that step (the loss and gradients at the
parameters the step starts from), not on the up-to-19 further evaluations LBFGS makes.  (Porting it found a monitor
bug, fixed in ee87f94: with the optimizer watched, this float64 model crashed the step pre-hook.)

The outcome: the training set's MSE at the final parameters, in the units of a unit sine (divided by
``scale**2`` for the run whose data is scaled), against the loss of the first step (the untrained network).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

import gradmedic


# ---- train.py Sequence, unchanged ----------------------------------------------------------------
class Sequence(nn.Module):
    def __init__(self):
        super(Sequence, self).__init__()  # noqa: UP008 (as upstream wrote it)
        self.lstm1 = nn.LSTMCell(1, 51)
        self.lstm2 = nn.LSTMCell(51, 51)
        self.linear = nn.Linear(51, 1)

    def forward(self, input, future = 0):
        outputs = []
        h_t = torch.zeros(input.size(0), 51, dtype=torch.double)
        c_t = torch.zeros(input.size(0), 51, dtype=torch.double)
        h_t2 = torch.zeros(input.size(0), 51, dtype=torch.double)
        c_t2 = torch.zeros(input.size(0), 51, dtype=torch.double)

        for input_t in input.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        for i in range(future):# if we should predict the future  # noqa: B007 (as upstream)
            h_t, c_t = self.lstm1(output, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        outputs = torch.cat(outputs, dim=1)
        return outputs


# ---- generate_sine_wave.py, in memory (L 1000 -> 48, T 20 -> 6) --------------------------------------
def sine_waves(T: int = 6, L: int = 48, N: int = 100) -> np.ndarray:
    rs = np.random.RandomState(2)  # np.random.seed(2) in the original
    x = np.empty((N, L), 'int64')
    x[:] = np.array(range(L)) + rs.randint(-4 * T, 4 * T, N).reshape(N, 1)
    return np.sin(x / 1.0 / T).astype('float64')


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, scale: float = 1.0, steps: int = 15,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only: denormal floats (e.g. in saturated LSTM gates) are 10x slower
    np.random.seed(seed)
    torch.manual_seed(seed)
    data = sine_waves() * scale  # the bug when scale != 1: the series in its raw units (amplitude `scale`)
    input = torch.from_numpy(data[3:, :-1])
    target = torch.from_numpy(data[3:, 1:])
    test_input = torch.from_numpy(data[:3, :-1])
    test_target = torch.from_numpy(data[:3, 1:])
    seq = Sequence()
    seq.double()
    if init_std is not None:  # the bug: every weight matrix drawn from N(0, init_std^2) (biases kept)
        for name, p in seq.named_parameters():
            if "weight" in name:
                nn.init.normal_(p, 0.0, init_std)
    criterion = nn.MSELoss()
    optimizer = optim.LBFGS(seq.parameters(), lr=0.8 * lr_mult)
    monitor = gradmedic.watch(seq, optimizer, every=every)
    losses, evals = [], []
    t0 = time.time()
    calls = [0]  # closure evaluations in this step
    for i in range(steps):
        calls[0] = 0

        def closure():
            optimizer.zero_grad()
            out = seq(input)
            loss = criterion(out, target)
            loss.backward()
            if calls[0] == 0:  # once per optimizer step: the first evaluation, at the step's starting point
                monitor.step(loss)  # gradmedic
                losses.append(loss.item())
            calls[0] += 1
            return loss

        optimizer.step(closure)
        evals.append(calls[0])
        if verbose:
            print(f"step {i} loss {losses[-1] / scale ** 2:.3g} evals {calls[0]} {time.time() - t0:.1f}s", flush=True)
    monitor.close()
    with torch.no_grad():
        final = criterion(seq(input), target).item() / scale ** 2
        test = criterion(seq(test_input), test_target).item() / scale ** 2
    return {"monitors": {"": monitor}, "metric": "train_mse", "value": float(final),
            "initial": float(losses[0] / scale ** 2), "chance": float(np.mean(data[3:, 1:] ** 2) / scale ** 2),
            "initial_what": "untrained: the training MSE at the first step (in units of a unit sine)",
            "extra": {"test_mse": float(test), "last_step_loss": float(losses[-1] / scale ** 2), "steps": len(losses),
                      "closure_evals": int(sum(evals)), "scale": scale,
                      "metric_note": "training-set MSE at the final parameters divided by scale**2"},
            "seconds": time.time() - t0}


if __name__ == "__main__":
    import sys
    kw = {"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
