"""The PyTorch tutorial "Generating Names with a Character-Level RNN" (a hand-written RNN cell of Linear layers,
conditioned on a one-hot category, trained one name at a time with a hand-written SGD update), watched by gradmedic.

Adapted from https://github.com/pytorch/tutorials (commit 4ce8b871ef249dfacc1b389108842a0c2c0805b7,
intermediate_source/char_rnn_generation_tutorial.py, by Sean Robertson; BSD 3-Clause License, Copyright (c)
2017-2022 Pytorch contributors, see LICENSE-charrnngen).  Kept as in the original: ``all_letters``
(``string.ascii_letters + " .,;'-"``) and ``n_letters`` (58 + EOS = 59), the ``RNN`` class unchanged (``i2h`` and
``i2o`` Linear(n_categories + input_size + hidden_size, ...), ``o2o`` Linear(hidden_size + output_size,
output_size), ``Dropout(0.1)`` on the output logits, ``LogSoftmax(dim=1)``; note that the hidden state has no
nonlinearity: ``hidden = i2h(...)`` is a linear recurrence), PyTorch's default initialization (the tutorial sets
none), hidden size 128, ``randomChoice`` / ``randomTrainingPair`` (a random category, then a random name of it),
``categoryTensor`` (one-hot category), ``inputTensor`` / ``targetTensor`` (one-hot letters; target the next letter,
EOS last), ``criterion = nn.NLLLoss()``, ``learning_rate = 0.0005`` and ``train()``: ``target_line_tensor.unsqueeze_
(-1)``, the hidden state reset to zeros, ``rnn.zero_grad()``, a loop over the name's letters summing each
letter's ``criterion(output, target[i])`` into ``loss``, ``loss.backward()`` on the *sum* and the hand-written
update ``for p in rnn.parameters(): p.data.add_(p.grad.data, alpha=-learning_rate)`` (upstream's
``p.data.add_(-learning_rate, p.grad.data)``, the deprecated argument order, written as newer versions of the
tutorial write it); no torch.optim optimizer, no clipping, one name per step.

Changed: the data is makemore's names.txt (data/names.txt here, 32,033 US first names, lowercase, most popular
first) instead of the tutorial's data/names/[Language].txt download: each name is capitalized (as the tutorial's
names are) and the file is split into 4 pseudo-categories by rank quarter (q1 = the most popular ~8,000 names ...
q4 the rarest), the category being a name's quarter; a fixed random 1,000 names (``random.Random(0)``, the same for
every seed) are held out, the other 31,033 are the training lines.  The functions are nested in ``train()`` so that
``random.randint`` is drawn from ``random.Random(seed)`` and the model from ``torch.manual_seed(seed)``.  Shrunk to
one CPU thread: ``n_iters`` 5000 instead of 100000 (20-40 s a run); no printing/plotting of ``all_losses`` and no
sampling.  Added for the metric: the held-out per-letter NLL (the 1,000 names padded into one batch, the cell run
over them with dropout off, padding masked) before training (``initial``) and every 1000 steps; the metric is the
last of these (``val_loss``).

The watch: the loop has no optimizer object, so ``gradmedic.watch(rnn, every=10)`` right after the model is
built, ``monitor.step(loss)`` inside ``train()`` right after ``loss.backward()`` (the summed loss, as
back-propagated), before the ``p.data.add_`` update; ``monitor.close()`` after the loop.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the same
seed's healthy run: learning_rate x10, x100 (seeds 1 and 2), x1000 and /1000; ``nn.init.normal_(0, 1)`` on the
weights of i2h, i2o and o2o (seeds 1 and 2); ``rnn.zero_grad()`` left out (seeds 1 and 2: the gradients
accumulate across names, a sum the hand-written update keeps applying).  No "no clipping" case (upstream does not
clip) and no "unscaled inputs" case (the inputs are one-hot).  Labels come from run.py's outcome rules only.
Recorded (cases-public14): healthy held-out NLL 2.605-2.613 on seeds 1-3 (from 4.07-4.10 untrained); lr x10 ends
at 2.358, better than its control (labelled healthy); lr x100 goes NaN (seed 1 after reaching 2.54 at step 2000,
seed 2 before step 1000), x1000 NaN, /1000 stays at 4.093 (no progress); N(0, 1) weights start at a held-out NLL of
~3e11 (the linear recurrence blows the hidden state up letter by letter) and go NaN; no zero_grad goes NaN before
step 1000 on both seeds: all broken.
"""

from __future__ import annotations

import math
import random
import string
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

import gradmedic

ARCH = "rnn"
MONITOR_AT = ("watch(rnn) without an optimizer (train() updates p.data by hand); monitor.step(loss) inside train() "
              "right after loss.backward() on the name's summed NLLLoss (one term per letter, as upstream "
              "back-propagates it), before the p.data.add_ update")

DATA = Path(__file__).resolve().parent / "data" / "names.txt"
N_CATEGORIES = 4  # pseudo-categories: the quarter of names.txt (ordered by popularity) a name comes from

all_letters = string.ascii_letters + " .,;'-"
n_letters = len(all_letters) + 1  # Plus EOS marker


class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size, n_categories=N_CATEGORIES):
        super().__init__()
        self.hidden_size = hidden_size

        self.i2h = nn.Linear(n_categories + input_size + hidden_size, hidden_size)
        self.i2o = nn.Linear(n_categories + input_size + hidden_size, output_size)
        self.o2o = nn.Linear(hidden_size + output_size, output_size)
        self.dropout = nn.Dropout(0.1)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, category, input, hidden):
        input_combined = torch.cat((category, input, hidden), 1)
        hidden = self.i2h(input_combined)
        output = self.i2o(input_combined)
        output_combined = torch.cat((hidden, output), 1)
        output = self.o2o(output_combined)
        output = self.dropout(output)
        output = self.softmax(output)
        return output, hidden

    def initHidden(self):
        return torch.zeros(1, self.hidden_size)


def load_categories(n_held_out: int = 1000):
    """names.txt (lowercase, one a line, most popular first) capitalized as the tutorial's names are, split into
    N_CATEGORIES pseudo-categories by rank quarter ("q1" the most popular quarter ... "q4"); a fixed random
    1000 names (random.Random(0), the same for every seed) are held out for the metric."""
    names = [w.strip().capitalize() for w in DATA.read_text().splitlines() if w.strip()]
    cats = [f"q{1 + i * N_CATEGORIES // len(names)}" for i in range(len(names))]
    idx = list(range(len(names)))
    random.Random(0).shuffle(idx)
    held = set(idx[:n_held_out])
    all_categories = [f"q{i + 1}" for i in range(N_CATEGORIES)]
    category_lines = {c: [] for c in all_categories}
    held_out = []
    for i, (w, c) in enumerate(zip(names, cats, strict=True)):
        (held_out.append((c, w)) if i in held else category_lines[c].append(w))
    return all_categories, category_lines, held_out


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, zero_grad: bool = True,
          n_iters: int = 5000, hidden_size: int = 128, learning_rate: float = 0.0005, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    all_categories, category_lines, held_out = load_categories()
    n_categories = len(all_categories)

    # Random item from a list
    def randomChoice(l):  # noqa: E741 (upstream's name)
        return l[rng.randint(0, len(l) - 1)]

    # Get a random category and random line from that category
    def randomTrainingPair():
        category = randomChoice(all_categories)
        line = randomChoice(category_lines[category])
        return category, line

    # One-hot vector for category
    def categoryTensor(category):
        li = all_categories.index(category)
        tensor = torch.zeros(1, n_categories)
        tensor[0][li] = 1
        return tensor

    # One-hot matrix of first to last letters (not including EOS) for input
    def inputTensor(line):
        tensor = torch.zeros(len(line), 1, n_letters)
        for li in range(len(line)):
            letter = line[li]
            tensor[li][0][all_letters.find(letter)] = 1
        return tensor

    # LongTensor of second letter to end (EOS) for target
    def targetTensor(line):
        letter_indexes = [all_letters.find(line[li]) for li in range(1, len(line))]
        letter_indexes.append(n_letters - 1)  # EOS
        return torch.LongTensor(letter_indexes)

    def randomTrainingExample():
        category, line = randomTrainingPair()
        return categoryTensor(category), inputTensor(line), targetTensor(line)

    lr = learning_rate * lr_mult
    rnn = RNN(n_letters, hidden_size, n_letters, n_categories)
    if init_std is not None:  # the bug: normal_(0, std) on every Linear weight instead of PyTorch's default
        for m in (rnn.i2h, rnn.i2o, rnn.o2o):
            nn.init.normal_(m.weight, 0.0, init_std)
    monitor = gradmedic.watch(rnn, every=every)  # gradmedic (no optimizer object: the update is by hand)
    criterion = nn.NLLLoss()

    # the held-out names, padded into one batch (the cell is batch-agnostic); dropout off for the evaluation
    ho_cat = torch.stack([categoryTensor(c)[0] for c, _ in held_out])
    T = max(len(w) for _, w in held_out)
    ho_in = torch.zeros(T, len(held_out), n_letters)
    ho_tgt = torch.full((T, len(held_out)), -100, dtype=torch.long)
    for b, (_, w) in enumerate(held_out):
        ho_in[: len(w), b] = inputTensor(w)[:, 0]
        ho_tgt[: len(w), b] = targetTensor(w)

    def held_out_loss():
        rnn.eval()
        with torch.no_grad():
            hidden = torch.zeros(len(held_out), hidden_size)
            tot, n = 0.0, 0
            for i in range(T):
                output, hidden = rnn(ho_cat, ho_in[i], hidden)
                mask = ho_tgt[i] >= 0
                if mask.any():
                    tot += float(nn.functional.nll_loss(output[mask], ho_tgt[i][mask], reduction="sum"))
                    n += int(mask.sum())
        rnn.train()
        return tot / n

    def train_step(category_tensor, input_line_tensor, target_line_tensor):
        target_line_tensor.unsqueeze_(-1)
        hidden = rnn.initHidden()

        if zero_grad:  # the bug when False: gradients accumulate across names
            rnn.zero_grad()

        loss = 0

        for i in range(input_line_tensor.size(0)):
            output, hidden = rnn(category_tensor, input_line_tensor[i], hidden)
            l = criterion(output, target_line_tensor[i])  # noqa: E741 (upstream's name)
            loss += l

        loss.backward()
        monitor.step(loss)  # gradmedic

        for p in rnn.parameters():
            p.data.add_(p.grad.data, alpha=-lr)

        return output, loss.item() / input_line_tensor.size(0)

    t0 = time.time()
    initial = held_out_loss()
    evals = [(0, initial)]
    all_losses = []
    for it in range(1, n_iters + 1):
        _, loss = train_step(*randomTrainingExample())
        all_losses.append(loss)
        if it % 1000 == 0 or it == n_iters:
            evals.append((it, held_out_loss()))
            if verbose:
                print(f"[{time.time() - t0:.1f}s ({it} {it / n_iters * 100:.0f}%) train {np.mean(all_losses[-500:]):.4f} "
                      f"held-out {evals[-1][1]:.4f}]", flush=True)
    monitor.close()
    value = evals[-1][1]
    train_final = float(np.mean(all_losses[-20:]))
    return {"monitors": {"": monitor}, "metric": "val_loss", "value": value if math.isfinite(value) else float("nan"),
            "chance": math.log(n_letters), "initial": initial,
            "initial_what": "untrained: the held-out per-letter NLL of the model before its first step",
            "extra": {"steps": len(all_losses), "lr": lr, "hidden_size": hidden_size, "n_categories": n_categories,
                      "train_names": sum(len(v) for v in category_lines.values()), "held_out_names": len(held_out),
                      "train_loss": train_final if math.isfinite(train_final) else float("nan"),
                      "initial_train_loss": float(np.mean(all_losses[:5])), "held_out_evals": evals,
                      "n_params": sum(p.numel() for p in rnn.parameters())},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="charrnngen", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"charrnngen_healthy_s{s}", "healthy", s, {}, "unchanged (i2h/i2o/o2o Linear cell, hidden 128, dropout 0.1, "
           "LogSoftmax, summed NLLLoss over the name, rnn.zero_grad(), p.data.add_(grad, alpha=-0.0005), one name a "
           "step, 5000 steps)", False) for s in (1, 2, 3)]
    + [_case(f"charrnngen_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"learning_rate x{k} ({0.0005 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("charrnngen_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "learning_rate /1000 (5e-07)")]
    + [_case(f"charrnngen_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(0, 1) on the weights of i2h, i2o and o2o instead of PyTorch's default "
             "U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (biases kept)") for s in (1, 2)]
    + [_case(f"charrnngen_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             "rnn.zero_grad() left out of train(): the gradients accumulate across names") for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = {"zero_grad": lambda s: s == "1", "n_iters": int}.get(k, float)(v)
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k not in ("monitors",)})
