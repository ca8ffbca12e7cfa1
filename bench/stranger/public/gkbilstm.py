"""graykode/nlp-tutorial's Bi-LSTM next-word model (3-3.Bi-LSTM), watched by gradmedic.

Adapted from https://github.com/graykode/nlp-tutorial (commit 2cc31240e5d90656dc7fad4310fd11938c812205,
3-3.Bi-LSTM/Bi-LSTM.py, by Tae Hwan Jung; MIT License, Copyright (c) 2019 TaeHwan Jung, see LICENSE-gkbilstm).
That commit's version is the one with ``W`` and ``b`` as ``nn.Parameter(torch.randn(...))``; the newest commit
(d05e31ec81d56d70c1db89b99ab07e948f7ebc11) rewrote them as ``nn.Linear(n_hidden * 2, n_class, bias=False)`` and
``b = nn.Parameter(torch.ones([n_class]))``, otherwise the same program.  Kept as in the original: ``BiLSTM``
unchanged (``nn.LSTM(input_size=n_class, hidden_size=n_hidden, bidirectional=True)`` with PyTorch's default
init, ``W = nn.Parameter(torch.randn([n_hidden * 2, n_class]))``, ``b = nn.Parameter(torch.randn([n_class]))``,
the input transposed to (n_step, batch, n_class), zero initial hidden and cell states, ``outputs[-1]`` (the
last time step of both directions) and ``torch.mm(outputs, W) + b``), ``n_hidden = 5``, one-hot inputs
(``np.eye(n_class)[input]``), ``nn.CrossEntropyLoss()``, ``optim.Adam(model.parameters(), lr=0.001)``, and the
loop: the whole data set as one batch every step, ``zero_grad`` / forward / loss / ``backward`` / ``step``, no
clipping.

Changed: upstream trains on one 26-word Lorem-ipsum sentence (its ``make_batch``: every prefix of the sentence,
right-padded with word 0 to the sentence's length, predicting the next word), which has no held-out text.  Here
the text is the first 1000 whitespace words (``str.split()``, as upstream) of shipped_text.py's
``stdlib_docstrings()``: the first 800 are the training text, the last 200 the held-out text; the vocabulary is
the 100 most common words of the training text plus ``<unk>`` (index 100) for every other word (101 classes;
upstream's ``word_dict`` is every word of its sentence, in ``set`` order); each example is the ``n_step = 5``
previous words (one-hot) and the next word as target, instead of the padded prefixes (795 training and 195
held-out examples).  ``torch.manual_seed(seed)`` (upstream seeds nothing); 600 steps instead of 10000 so a run
takes 10-25 s on one CPU thread (a vocabulary of 300 words and 2000 words of text took 0.1-0.2 s a step
here); no prints and no final prediction.  Added for the metric: the held-out mean
cross-entropy with ``torch.no_grad()`` before the first step (``initial``) and every 100 steps; the metric is
the last of these (``val_loss``).

The watch: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the same
seed's healthy run: Adam lr x10, x100 (seeds 1 and 2), x1000 and /1000; ``W`` initialized ``torch.randn(...) * 10``
(seeds 1 and 2); the one-hot inputs replaced by each word's index as one raw float feature (``input_size=1``,
values 0..100: the ids unscaled); ``torch.sigmoid`` on the model's output before ``CrossEntropyLoss`` (the logits
squashed into (0, 1)).  No "no clipping" case (upstream does not clip).  Labels come from run.py's outcome rules
only.
Recorded (cases-public17): healthy held-out loss 2.46-2.59 on seeds 1-3 (from 5.41-5.63 untrained; the training
loss 2.34-2.54); lr x10, x100 (both seeds) and x1000 are labelled broken by the held-out loss alone: they fit the
795 training windows (training loss 0.57, 0.14-0.15, 1.63) while the held-out loss, lowest after 100 steps (2.49,
3.79-4.25, 3.52), climbs to 4.69, 10.2-10.3 and 5.41 by the end (overfitting, not divergence: every loss stays
finite); /1000 stays at 5.62 (broken); W x10 starts at 12.6-14.3 and ends at 3.17 and 3.42 (ambiguous: over 1.1x
its control, not 2x); the raw word index ends at 2.50 against 2.47 (healthy); the sigmoid on the output ends at
4.05 against 2.47 (ambiguous: 0.86x its own start of 4.71, not 0.7x).  12 cases in 152 s.
"""

from __future__ import annotations

import math
import time
from collections import Counter

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from shipped_text import stdlib_docstrings

import gradmedic

ARCH = "lstm"
MONITOR_AT = "monitor.step(loss) after loss.backward() (CrossEntropyLoss on the full batch), before optimizer.step()"

N_WORDS, N_TRAIN, VOCAB, N_STEP = 1000, 800, 100, 5
dtype = torch.FloatTensor


def make_data():
    words = stdlib_docstrings().split()[:N_WORDS]
    train_words, held_words = words[:N_TRAIN], words[N_TRAIN:]
    vocab = [w for w, _ in Counter(train_words).most_common(VOCAB)] + ["<unk>"]
    word_dict = {w: i for i, w in enumerate(vocab)}
    unk = word_dict["<unk>"]

    def ids(ws):
        return [word_dict.get(w, unk) for w in ws]

    return ids(train_words), ids(held_words), len(vocab)


def make_batch(ids, n_class, raw_index=False):
    """Windows of ``N_STEP`` previous words (one-hot, as upstream's ``np.eye(n_class)[input]``) -> the next word."""
    input_batch, target_batch = [], []
    for i in range(N_STEP, len(ids)):
        input = ids[i - N_STEP:i]
        if raw_index:  # the bug: the word's index as one raw float feature instead of its one-hot vector
            input_batch.append(np.array(input, dtype=np.float32)[:, None])
        else:
            input_batch.append(np.eye(n_class)[input])
        target_batch.append(ids[i])
    return torch.Tensor(np.array(input_batch)), torch.LongTensor(target_batch)


class BiLSTM(nn.Module):
    def __init__(self, n_class, n_hidden, input_size=None, w_scale=1.0):
        super().__init__()
        self.n_hidden = n_hidden
        self.lstm = nn.LSTM(input_size=input_size or n_class, hidden_size=n_hidden, bidirectional=True)
        self.W = nn.Parameter(torch.randn([n_hidden * 2, n_class]).type(dtype) * w_scale)
        self.b = nn.Parameter(torch.randn([n_class]).type(dtype))

    def forward(self, X):
        input = X.transpose(0, 1)  # input : [n_step, batch_size, n_class]

        hidden_state = torch.zeros(1 * 2, len(X), self.n_hidden)  # [num_layers * num_directions, batch, n_hidden]
        cell_state = torch.zeros(1 * 2, len(X), self.n_hidden)  # [num_layers * num_directions, batch, n_hidden]

        outputs, (_, _) = self.lstm(input, (hidden_state, cell_state))
        outputs = outputs[-1]  # [batch_size, n_hidden * 2]
        model = torch.mm(outputs, self.W) + self.b  # model : [batch_size, n_class]
        return model


def train(seed: int = 1, lr_mult: float = 1.0, w_scale: float = 1.0, raw_index: bool = False,
          sigmoid_out: bool = False, epochs: int = 600, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    train_ids, held_ids, n_class = make_data()
    n_hidden = 5
    input_batch, target_batch = make_batch(train_ids, n_class, raw_index)
    held_input, held_target = make_batch(held_ids, n_class, raw_index)

    model = BiLSTM(n_class, n_hidden, input_size=1 if raw_index else None, w_scale=w_scale)

    def out(x):
        o = model(x)
        return torch.sigmoid(o) if sigmoid_out else o  # the bug when sigmoid_out: logits squashed into (0, 1)

    criterion = nn.CrossEntropyLoss()
    lr = 0.001 * lr_mult
    optimizer = optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    def held_out_loss():
        with torch.no_grad():
            return float(criterion(out(held_input), held_target))

    t0 = time.time()
    initial = held_out_loss()
    evals = [(0, initial)]
    losses = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        output = out(input_batch)
        loss = criterion(output, target_batch)
        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()
        losses.append(loss.item())
        if (epoch + 1) % 100 == 0 or epoch + 1 == epochs:
            evals.append((epoch + 1, held_out_loss()))
            if verbose:
                print(f"Epoch: {epoch + 1:04d} cost = {loss.item():.6f} held-out {evals[-1][1]:.4f} "
                      f"({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    value = evals[-1][1]
    train_final = float(np.mean(losses[-20:]))
    return {"monitors": {"": monitor}, "metric": "val_loss", "value": value if math.isfinite(value) else float("nan"),
            "chance": math.log(n_class), "initial": initial,
            "initial_what": "untrained: the held-out mean cross-entropy of the model before its first step",
            "extra": {"steps": len(losses), "lr": lr, "n_class": n_class, "n_hidden": n_hidden, "n_step": N_STEP,
                      "train_examples": len(target_batch), "held_out_examples": len(held_target),
                      "train_loss": train_final if math.isfinite(train_final) else float("nan"),
                      "initial_train_loss": float(np.mean(losses[:5])), "held_out_evals": evals},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="gkbilstm", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"gkbilstm_healthy_s{s}", "healthy", s, {}, "unchanged (bidirectional LSTM n_hidden 5 on one-hot words, "
           "randn W and b, CrossEntropyLoss, Adam lr 0.001, full batch, 600 steps)", False) for s in (1, 2, 3)]
    + [_case(f"gkbilstm_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({0.001 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("gkbilstm_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (1e-06)")]
    + [_case(f"gkbilstm_w_randn_x10_s{s}", "init_large", s, {"w_scale": 10.0},
             "W = nn.Parameter(torch.randn([n_hidden * 2, n_class]) * 10) instead of torch.randn (std 10 instead of 1)")
       for s in (1, 2)]
    + [_case("gkbilstm_raw_index_s1", "unscaled_inputs", 1, {"raw_index": True},
             "each word's index as one raw float feature (LSTM input_size 1, values 0..100) "
             " instead of its one-hot vector")]
    + [_case("gkbilstm_sigmoid_out_s1", "wrong_loss", 1, {"sigmoid_out": True},
             "torch.sigmoid on the model's output (W h + b) before CrossEntropyLoss: the logits squashed into (0, 1)")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = int(v) if k in ("seed", "epochs") else (v == "True" if k in ("raw_index", "sigmoid_out") else float(v))
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
