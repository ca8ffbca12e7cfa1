"""Udacity's deep-learning-v2-pytorch character-level LSTM (CharRNN: a 2-layer nn.LSTM on one-hot characters,
dropout and a Linear, trained on consecutive batches with the hidden state carried and detached), watched by gradmedic.

Adapted from https://github.com/udacity/deep-learning-v2-pytorch (commit c9404fc86181fc3f0906b368697268257f348535,
recurrent-neural-networks/char-rnn/Character_Level_RNN_Solution.ipynb, the solution to
Character_Level_RNN_Exercise.ipynb; MIT License, Copyright (c) 2018 Udacity, see LICENSE-udcharrnn).  Kept as in the
original: the character encoding (``int2char`` / ``char2int``, ``encoded`` as an integer array), ``one_hot_encode``
(numpy float32 one-hot), ``get_batches`` (the text cut to whole batches, reshaped into ``batch_size`` rows, windows
of ``seq_length`` with the targets shifted by one and the last target wrapping to the row's start), the ``CharRNN``
class (``nn.LSTM(len(chars), n_hidden, n_layers, dropout=drop_prob, batch_first=True)``, ``nn.Dropout(drop_prob)``,
``nn.Linear(n_hidden, len(chars))``, ``forward`` with ``contiguous().view(-1, n_hidden)``, ``init_hidden`` as zeros
via ``weight.new(...).zero_()``), n_layers 2, drop_prob 0.5, PyTorch's default initialization (the notebook sets
none), and its ``train()``: ``torch.optim.Adam(net.parameters(), lr=0.001)``, ``nn.CrossEntropyLoss()``, the last
``val_frac`` 0.1 of the text held out for validation, the hidden state re-initialized each epoch and detached per
batch (``h = tuple([each.data for each in h])``), ``net.zero_grad()``, ``loss.backward()``,
``nn.utils.clip_grad_norm_(net.parameters(), clip=5)``, ``opt.step()``, and every ``print_every`` steps the
validation loss (the mean over the validation batches in ``net.eval()``, a fresh hidden state carried across them).

Changed: the text is the first 200,000 characters of the standard library's docstrings (shipped_text.py's
``stdlib_docstrings()``, 93 distinct characters) instead of data/anna.txt (not shipped); ``chars =
tuple(sorted(set(text)))`` instead of ``tuple(set(text))`` (set order of strings changes with the process's hash
seed; sorting makes a seed reproducible); CPU only (no ``train_on_gpu``); the functions take the seed's
``torch.manual_seed``.  Shrunk for one CPU thread: ``n_hidden`` 128 instead of 512, ``batch_size`` 16 instead of 128,
``seq_length`` 50 instead of 100, ``epochs`` 3 instead of 20 (3 x 225 = 675 steps, ~15 s a run alone on a core),
``print_every`` 75 instead of 10 (the validation loss 9 times a run); no printing, saving or sampling.  Added for
the metric: the validation loss of the untrained net (``initial``, computed as the loop computes it) before the
first step; the metric is the last validation loss (``val_loss``, at the final step).

The watch: ``gradmedic.watch(net, opt, every=10)`` right after the optimizer is built, ``monitor.step(loss)`` right
after ``loss.backward()``, before ``clip_grad_norm_`` and ``opt.step()`` (so it sees the unclipped gradients);
``monitor.close()`` after the loop.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the same
seed's healthy run: Adam lr x10, x100 (seeds 1 and 2), x1000 and /1000; no ``clip_grad_norm_`` (seeds 1 and 2);
``nn.init.normal_(0, 1)`` on every weight (the LSTM's weight_ih/weight_hh of both layers and the Linear's; biases
kept) on seeds 1 and 2.  Not included: the hidden state not detached (an error at the second backward, not a
training run), raw integer codes as the input (only possible as a 1-dim float input, a different network).
Labels come from run.py's outcome rules only.
Recorded (cases-public17): healthy validation loss 2.568-2.613 on seeds 1-3 (from 4.55-4.56 untrained; the healthy
run is still improving at its last step); lr x10 ends at 1.809, better than its control (labelled healthy); lr x100
sits at the unigram level, 3.201 and 3.207 from step 75 on (neither half the control's progress nor clearly worse:
ambiguous; these two runs took 230-250 s instead of ~30-50 s, cause not investigated, maybe denormals); x1000 ends
at 54.96, /1000 at 4.550 (no progress), N(0, 1) weights start at 11.98/11.94 and stay at 11.92/11.93: all broken;
no clipping gives exactly its control's 2.568 and 2.592 (the gradient norm never reaches 5 at lr 0.001: healthy).
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
from shipped_text import stdlib_docstrings

import gradmedic

ARCH = "lstm"
MONITOR_AT = ("monitor.step(loss) right after loss.backward() on the batch's CrossEntropyLoss, before "
              "nn.utils.clip_grad_norm_(net.parameters(), 5) and opt.step()")


def one_hot_encode(arr, n_labels):

    # Initialize the the encoded array
    one_hot = np.zeros((arr.size, n_labels), dtype=np.float32)

    # Fill the appropriate elements with ones
    one_hot[np.arange(one_hot.shape[0]), arr.flatten()] = 1.

    # Finally reshape it to get back to the original array
    one_hot = one_hot.reshape((*arr.shape, n_labels))

    return one_hot


def get_batches(arr, batch_size, seq_length):
    '''Create a generator that returns batches of size
       batch_size x seq_length from arr.
    '''

    batch_size_total = batch_size * seq_length
    # total number of batches we can make
    n_batches = len(arr) // batch_size_total

    # Keep only enough characters to make full batches
    arr = arr[:n_batches * batch_size_total]
    # Reshape into batch_size rows
    arr = arr.reshape((batch_size, -1))

    # iterate through the array, one sequence at a time
    for n in range(0, arr.shape[1], seq_length):
        # The features
        x = arr[:, n:n + seq_length]
        # The targets, shifted by one
        y = np.zeros_like(x)
        try:
            y[:, :-1], y[:, -1] = x[:, 1:], arr[:, n + seq_length]
        except IndexError:
            y[:, :-1], y[:, -1] = x[:, 1:], arr[:, 0]
        yield x, y


class CharRNN(nn.Module):

    def __init__(self, tokens, n_hidden=256, n_layers=2,
                 drop_prob=0.5, lr=0.001):
        super().__init__()
        self.drop_prob = drop_prob
        self.n_layers = n_layers
        self.n_hidden = n_hidden
        self.lr = lr

        # creating character dictionaries
        self.chars = tokens
        self.int2char = dict(enumerate(self.chars))
        self.char2int = {ch: ii for ii, ch in self.int2char.items()}

        self.lstm = nn.LSTM(len(self.chars), n_hidden, n_layers,
                            dropout=drop_prob, batch_first=True)
        self.dropout = nn.Dropout(drop_prob)
        self.fc = nn.Linear(n_hidden, len(self.chars))

    def forward(self, x, hidden):
        ''' Forward pass through the network.
            These inputs are x, and the hidden/cell state `hidden`. '''
        r_output, hidden = self.lstm(x, hidden)
        out = self.dropout(r_output)
        # Stack up LSTM outputs using view
        out = out.contiguous().view(-1, self.n_hidden)
        out = self.fc(out)
        return out, hidden

    def init_hidden(self, batch_size):
        ''' Initializes hidden state '''
        weight = next(self.parameters()).data
        hidden = (weight.new(self.n_layers, batch_size, self.n_hidden).zero_(),
                  weight.new(self.n_layers, batch_size, self.n_hidden).zero_())
        return hidden


def train(seed: int = 1, lr_mult: float = 1.0, clip: float | None = 5, init_std: float | None = None,
          epochs: int = 3, batch_size: int = 16, seq_length: int = 50, n_hidden: int = 128, n_layers: int = 2,
          n_chars_text: int = 200_000, val_frac: float = 0.1, print_every: int = 75, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    text = stdlib_docstrings()[:n_chars_text]
    chars = tuple(sorted(set(text)))  # upstream: tuple(set(text)), whose order depends on the hash seed
    int2char = dict(enumerate(chars))
    char2int = {ch: ii for ii, ch in int2char.items()}
    encoded = np.array([char2int[ch] for ch in text])

    lr = 0.001 * lr_mult
    net = CharRNN(chars, n_hidden, n_layers)
    if init_std is not None:  # the bug: normal_(0, std) on every weight instead of PyTorch's default
        for name, p in net.named_parameters():
            if "weight" in name:
                nn.init.normal_(p, 0.0, init_std)

    # train(net, encoded, epochs, batch_size, seq_length, lr, clip, val_frac, print_every)
    data = encoded
    net.train()

    opt = torch.optim.Adam(net.parameters(), lr=lr)
    monitor = gradmedic.watch(net, opt, every=every)  # gradmedic
    criterion = nn.CrossEntropyLoss()

    # create training and validation data
    val_idx = int(len(data) * (1 - val_frac))
    data, val_data = data[:val_idx], data[val_idx:]

    n_chars = len(net.chars)

    def validation_loss():
        # Get validation loss
        val_h = net.init_hidden(batch_size)
        val_losses = []
        net.eval()
        with torch.no_grad():  # (upstream builds the graph and drops it; same values)
            for x, y in get_batches(val_data, batch_size, seq_length):
                x = one_hot_encode(x, n_chars)
                x, y = torch.from_numpy(x), torch.from_numpy(y)
                val_h = tuple([each.data for each in val_h])
                inputs, targets = x, y
                output, val_h = net(inputs, val_h)
                val_loss = criterion(output, targets.view(batch_size * seq_length).long())
                val_losses.append(val_loss.item())
        net.train()  # reset to train mode after iterationg through validation data
        return float(np.mean(val_losses))

    t0 = time.time()
    initial = validation_loss()
    evals = [(0, initial)]
    losses = []
    counter = 0
    for e in range(epochs):
        # initialize hidden state
        h = net.init_hidden(batch_size)

        for x, y in get_batches(data, batch_size, seq_length):
            counter += 1

            # One-hot encode our data and make them Torch tensors
            x = one_hot_encode(x, n_chars)
            inputs, targets = torch.from_numpy(x), torch.from_numpy(y)

            # Creating new variables for the hidden state, otherwise
            # we'd backprop through the entire training history
            h = tuple([each.data for each in h])

            # zero accumulated gradients
            net.zero_grad()

            # get the output from the model
            output, h = net(inputs, h)

            # calculate the loss and perform backprop
            loss = criterion(output, targets.view(batch_size * seq_length).long())
            loss.backward()
            monitor.step(loss)  # gradmedic
            if clip is not None:  # the variant when None: no clipping
                # `clip_grad_norm` helps prevent the exploding gradient problem in RNNs / LSTMs.
                nn.utils.clip_grad_norm_(net.parameters(), clip)
            opt.step()
            losses.append(loss.item())

            # loss stats
            if counter % print_every == 0:
                evals.append((counter, validation_loss()))
                if verbose:
                    print(f"[{time.time() - t0:.1f}s] Epoch: {e + 1}/{epochs}... Step: {counter}... "
                          f"Loss: {loss.item():.4f}... Val Loss: {evals[-1][1]:.4f}", flush=True)
    if evals[-1][0] != counter:
        evals.append((counter, validation_loss()))
    monitor.close()
    value = evals[-1][1]
    train_final = float(np.mean(losses[-20:]))
    return {"monitors": {"": monitor}, "metric": "val_loss", "value": value if math.isfinite(value) else float("nan"),
            "chance": math.log(n_chars), "initial": initial,
            "initial_what": "untrained: the validation loss of the net before its first step",
            "extra": {"steps": counter, "lr": lr, "clip": clip, "n_hidden": n_hidden, "n_layers": n_layers,
                      "batch_size": batch_size, "seq_length": seq_length, "epochs": epochs, "vocab_size": n_chars,
                      "train_chars": len(data), "val_chars": len(val_data),
                      "train_loss": train_final if math.isfinite(train_final) else float("nan"),
                      "initial_train_loss": float(np.mean(losses[:5])), "val_evals": evals,
                      "n_params": sum(p.numel() for p in net.parameters())},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="udcharrnn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"udcharrnn_healthy_s{s}", "healthy", s, {}, "unchanged (CharRNN: one-hot input, 2-layer LSTM n_hidden 128, "
           "dropout 0.5, Linear; Adam lr 0.001, CrossEntropyLoss, clip_grad_norm_ 5, hidden state detached per batch; "
           "batch 16 x seq 50, 3 epochs)", False) for s in (1, 2, 3)]
    + [_case(f"udcharrnn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({0.001 * k:g}), clip 5 kept")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("udcharrnn_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (1e-06)")]
    + [_case(f"udcharrnn_no_clip_s{s}", "no_clipping", s, {"clip": None},
             "no nn.utils.clip_grad_norm_(net.parameters(), 5) at the default lr 0.001") for s in (1, 2)]
    + [_case(f"udcharrnn_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(0, 1) on every weight (LSTM weight_ih_l0/weight_hh_l0/weight_ih_l1/weight_hh_l1 and "
             "fc.weight) instead of PyTorch's default U(-1/sqrt(n_hidden), 1/sqrt(n_hidden)); biases kept")
       for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = {"seed": int, "epochs": int, "batch_size": int, "seq_length": int, "n_chars_text": int, "print_every": int,
                 "clip": lambda s: None if s == "none" else float(s)}.get(k, float)(v)
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k not in ("monitors",)})
