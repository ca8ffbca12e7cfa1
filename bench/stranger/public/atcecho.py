"""Alfredo Canziani's NYU Deep Learning course (Atcold/NYU-DLSP20): signal echoing, watched by gradmedic.

Adapted from https://github.com/Atcold/NYU-DLSP20 (CC BY-NC-SA 4.0, see LICENSE-atcecho), commit
3049c83260ba05700e2ab9b7ed13cdbe5ddba0fd: notebook 09-echo_data.ipynb (``SimpleRNN``, ``BCEWithLogitsLoss``,
``torch.optim.RMSprop(lr=0.001)``, the ``train`` / ``test`` functions) with the data generator ``EchoData`` of
res/sequential_tasks.py, quoted below.  The task: a stream of random bits, the target is the stream delayed by 3.

Kept as upstream: ``EchoData`` (numpy's global random state, a fresh series at every ``__getitem__(0)``, i.e. every
epoch; chunks of ``truncated_length`` steps cut from ``batch_size`` parallel streams); ``batch_size = 5``,
``echo_step = 3``, ``BPTT_T = 20``, training ``series_length = 20_000`` (1000 chunks an epoch); ``np.random.seed(3)``;
``SimpleRNN`` (``nn.RNN(1, 4, num_layers=1, nonlinearity='relu', batch_first=True)`` and ``Linear(4, 1)`` on every
step, PyTorch's default init); the hidden state carried from chunk to chunk and ``hidden.detach_()`` before each
chunk (truncated BPTT over 20 steps), fresh (None) at the start of each epoch; ``BCEWithLogitsLoss`` on the logits;
per chunk ``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``; RMSprop lr 0.001; the test pass over
a second ``EchoData`` with the hidden state carried across its chunks and ``sigmoid(logits) > 0.5`` as prediction.

Changed, to run offline within the time budget on one CPU thread: 3 epochs instead of 5 (the runs that train are at
~100% by then); the test stream is 2000 steps long (100 chunks, 10 000 bits) instead of 20 000;
the prints and the "let's try some echoing" cell left out; CPU only.  Seeds: the notebook calls
``torch.manual_seed(1)``.  Its 4-unit ReLU RNN trains on some inits only: with 3 epochs, torch seeds 1, 4 and 7
reach 99.8-99.9% test accuracy, seeds 2, 3, 5 and 6 stop at 76%, 50%, 84% and 75% (measured while porting). The
cases' seeds 1, 2, 3 are therefore torch seeds 1, 4, 7 (``TORCH_SEED``), so that every variant has a control that
trains; numpy stays seeded 3 as upstream, so every seed sees the same bit streams.  The metric is the test accuracy
(the bits are random, so chance is 0.5; the accuracy is meaningful here).

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after
``optimizer = torch.optim.RMSprop(...)``, ``monitor.step(loss)`` right after ``loss.backward()`` in ``train``, before
``optimizer.step()``; ``monitor.close()`` after the epochs.

``CASES`` (program "atcecho"): the program on seeds 1-3, and one change each against the same seed's healthy run:
lr x10, x100 (seeds 1 and 2), /1000; the ``nn.RNN`` weights and biases ``normal_(std=1)``; ``optimizer.zero_grad()``
left out; the hidden state detached at every time step inside the chunk (the RNN stepped one step at a time with
``hidden.detach()`` in between, so no gradient flows back through time; upstream detaches only between chunks; the
reverse, not detaching between chunks, stops the notebook with PyTorch's "backward through the graph a second time"
error (PyTorch's behaviour, not run here); cause "no_gradient": the gradient of the loss with respect to earlier
steps is cut); lr x2 (expected harmless); lr x0.5 (added after lr x2 came out ambiguous; also expected harmless).
Labels come from run.py's outcome rules only.
Recorded (cases-public69, 20-30 s a run on the shared machine with two recordings side by side, 7-9 s alone):
healthy 0.9988, 0.9985, 0.9990 test accuracy on seeds 1-3 (train loss 0.71 -> 0.001 / 0.0001 / 0.0001; every loss
finite, largest 0.78 / 0.90 / 0.93); lr x10 (0.01): 0.9994, largest loss 1.39: healthy; lr x100 (0.1): first losses
6.6 / 0.98, largest 28.8 / 1.17, train loss 0.694 on both seeds, 0.4986: broken; lr /1000: the loss stays at 0.71,
0.4986: broken; RNN weights N(0, 1): losses up to 8.8e34 then NaN, 0.5014: broken; zero_grad left out: train loss
0.54, 0.717: broken; hidden state detached at every step: the loss stays at 0.693, 0.4986: broken; lr x2 (0.002):
0.9988, train loss ~0, but one loss spike to 1.72 (over 2x the control's largest, 0.78): ambiguous; lr x0.5
(0.0005): train loss 0.48, 0.818: broken.  Labels: 4 healthy (3 programs, 1 variant), 7 broken, 1 ambiguous; only
the N(0, 1) init had non-finite losses.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn

import gradmedic

ARCH = "rnn"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = torch.optim.RMSprop(model.parameters(), "
              "lr=0.001); monitor.step(loss) right after loss.backward() in train(), before optimizer.step()")
LR = 0.001
EPOCHS = 3
SERIES_LENGTH = 20_000
# the cases' seeds 1-3 -> torch seeds where the notebook's 4-unit ReLU RNN trains (see the docstring)
TORCH_SEED = {1: 1, 2: 4, 3: 7}
TEST_LENGTH = 2_000


# ---- res/sequential_tasks.py (quoted) -------------------------------------------------------------------------------
class EchoData():  # noqa: UP039

    def __init__(self, series_length=40000, batch_size=32,
                 echo_step=3, truncated_length=10, seed=None):

        self.series_length = series_length
        self.truncated_length = truncated_length
        self.n_batches = series_length//truncated_length

        self.echo_step = echo_step
        self.batch_size = batch_size
        if seed is not None:
            np.random.seed(seed)
        self.x_batch = None
        self.y_batch = None
        self.x_chunks = []
        self.y_chunks = []
        self.generate_new_series()
        self.prepare_batches()

    def __getitem__(self, index):
        if index == 0:
            self.generate_new_series()
            self.prepare_batches()
        return self.x_chunks[index], self.y_chunks[index]

    def __len__(self):
        return self.n_batches

    def generate_new_series(self):
        x = np.random.choice(
            2,
            size=(self.batch_size, self.series_length),
            p=[0.5, 0.5])
        y = np.roll(x, self.echo_step, axis=1)
        y[:, 0:self.echo_step] = 0
        self.x_batch = x
        self.y_batch = y

    def prepare_batches(self):
        x = np.expand_dims(self.x_batch, axis=-1)
        y = np.expand_dims(self.y_batch, axis=-1)
        self.x_chunks = np.split(x, self.n_batches, axis=1)
        self.y_chunks = np.split(y, self.n_batches, axis=1)


# ---- 09-echo_data.ipynb ---------------------------------------------------------------------------------------------
class SimpleRNN(nn.Module):
    def __init__(self, input_size, rnn_hidden_size, output_size):
        super().__init__()
        self.rnn_hidden_size = rnn_hidden_size
        self.rnn = torch.nn.RNN(
            input_size=input_size,
            hidden_size=rnn_hidden_size,
            num_layers=1,
            nonlinearity='relu',
            batch_first=True
        )
        self.linear = torch.nn.Linear(
            in_features=rnn_hidden_size,
            out_features=1
        )

    def forward(self, x, hidden, detach_steps=False):
        if detach_steps:  # the variant: the hidden state detached at every time step (no backprop through time)
            outs = []
            for t in range(x.shape[1]):
                if hidden is not None:
                    hidden = hidden.detach()
                o, hidden = self.rnn(x[:, t:t + 1], hidden)
                outs.append(o)
            return self.linear(torch.cat(outs, dim=1)), hidden
        # In order to model the fact that successive batches belong to the same stream of data,
        # we share the hidden state across successive invocations.
        x, hidden = self.rnn(x, hidden)
        x = self.linear(x)
        return x, hidden


def train(seed: int = 1, lr_mult: float = 1.0, init: str = "default", zero_grad: bool = True,
          detach_steps: bool = False, data_seed=None, torch_seed=None, n_epochs: int = EPOCHS,
          series_length: int = SERIES_LENGTH,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(TORCH_SEED.get(seed, seed) if torch_seed is None else torch_seed)
    np.random.seed(3 if data_seed is None else data_seed)
    t0 = time.time()
    batch_size = 5
    echo_step = 3
    BPTT_T = 20
    train_data = EchoData(echo_step=echo_step, batch_size=batch_size, series_length=series_length,
                          truncated_length=BPTT_T)
    total_values_in_one_chunck = batch_size * BPTT_T
    train_size = len(train_data)
    test_data = EchoData(echo_step=echo_step, batch_size=batch_size, series_length=TEST_LENGTH,
                         truncated_length=BPTT_T)
    test_size = len(test_data)

    feature_dim = 1  # since we have a scalar series
    h_units = 4
    model = SimpleRNN(input_size=1, rnn_hidden_size=h_units, output_size=feature_dim)
    if init == "std1":  # the init_large variant: the RNN's weights and biases N(0, 1)
        for p in model.rnn.parameters():
            nn.init.normal_(p, std=1.0)
    elif init != "default":
        raise ValueError(init)
    criterion = torch.nn.BCEWithLogitsLoss()
    lr = LR * lr_mult
    optimizer = torch.optim.RMSprop(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)
    losses = []
    for epoch in range(1, n_epochs + 1):
        model.train()
        # New epoch --> fresh hidden state
        hidden = None
        correct = 0
        for batch_idx in range(train_size):
            data, target = train_data[batch_idx]
            data, target = torch.from_numpy(data).float(), torch.from_numpy(target).float()
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            if hidden is not None:
                hidden.detach_()
            logits, hidden = model(data, hidden, detach_steps)
            loss = criterion(logits, target)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(float(loss.detach()))
            pred = (torch.sigmoid(logits) > 0.5)
            correct += (pred == target.byte()).int().sum().item()/total_values_in_one_chunck
        if verbose:
            print(f"Train Epoch: {epoch}/{n_epochs}, loss: {np.mean(losses[-50:]):.3f}, "
                  f"accuracy {float(correct) * 100 / train_size:.1f}% ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    # test: a fresh stream, the hidden state carried across its chunks as upstream
    model.eval()
    correct = 0
    hidden = None
    with torch.no_grad():
        for batch_idx in range(test_size):
            data, target = test_data[batch_idx]
            data, target = torch.from_numpy(data).float(), torch.from_numpy(target).float()
            logits, hidden = model(data, hidden)
            pred = (torch.sigmoid(logits) > 0.5)
            correct += (pred == target.byte()).int().sum().item()/total_values_in_one_chunck
    acc = float(correct) / test_size
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc, "chance": 0.5,
            "initial": None, "initial_what": "chance accuracy 0.5 (random bits)",
            "extra": dict(lr=lr, train_loss=float(np.mean(losses[-20:])), first_loss=float(np.mean(losses[:5])),
                          max_loss=float(np.nanmax(losses)), finite_losses=bool(np.isfinite(losses).all()),
                          steps=len(losses), epochs=n_epochs, series_length=series_length, lr_mult=lr_mult,
                          init=init, zero_grad=zero_grad, detach_steps=detach_steps,
                          test_values=int(test_size * total_values_in_one_chunck)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="atcecho", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"echo RNN (SimpleRNN: nn.RNN(1, 4, nonlinearity='relu', batch_first=True) + Linear(4, 1), default init; "
      f"BCEWithLogitsLoss; RMSprop lr {LR:g}; batch 5 streams, BPTT chunks of 20 steps, hidden state carried across "
      f"chunks and detached; {EPOCHS} epochs of {SERIES_LENGTH // 20} chunks)")
CASES: list[dict] = (
    [_case(f"atcecho_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"atcecho_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("atcecho_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case("atcecho_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_P}: every nn.RNN weight and bias normal_(std=1)")]
    + [_case("atcecho_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("atcecho_detach_steps_s1", "no_gradient", 1, {"detach_steps": True},
             f"{_P}: the hidden state detached at every time step inside the chunk (no gradient through time)")]
    + [_case("atcecho_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: lr x2 ({LR * 2:g})")]
    + [_case("atcecho_lr_half_s1", "lr_low", 1, {"lr_mult": 0.5}, f"{_P}: lr x0.5 ({LR * 0.5:g})")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
