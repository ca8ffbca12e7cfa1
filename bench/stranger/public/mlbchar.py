"""Machine Learning with PyTorch and Scikit-Learn (rasbt/machine-learning-book), chapter 15 part 3: "Project two:
character-level language modeling in PyTorch" - an Embedding, a one-layer nn.LSTM stepped one character at a time
and a Linear head, trained by Adam on random 40-character windows - watched by gradmedic.

Adapted from https://github.com/rasbt/machine-learning-book (commit 35ab3774e8e249c43a98209d8efd94c060102003,
ch15/ch15_part3.py; MIT License, Copyright (c) 2021-2025 Sebastian Raschka, see LICENSE-mlbchar).

Kept as in the book: the preprocessing (``char_set = set(text)``, ``chars_sorted``, ``char2int``, ``char_array``,
``text_encoded``; ``seq_length = 40``, every chunk of ``chunk_size = 41`` characters; ``TextDataset`` returning
``chunk[:-1]`` and ``chunk[1:]``); ``DataLoader(seq_dataset, batch_size=64, shuffle=True, drop_last=True)``; the
``RNN`` class as written (``nn.Embedding(vocab_size, embed_dim)``, ``nn.LSTM(embed_dim, rnn_hidden_size,
batch_first=True)`` fed one character a step, ``nn.Linear(rnn_hidden_size, vocab_size)``, ``init_hidden``) at
PyTorch's default init; ``nn.CrossEntropyLoss()``; ``torch.optim.Adam(model.parameters(), lr=0.005)``; the loop as
written: each "epoch" a fresh zero state, ``seq_batch, target_batch = next(iter(seq_dl))`` (one random batch),
``optimizer.zero_grad()``, ``loss = 0`` and ``loss += loss_fn(pred, target_batch[:, c])`` over the 40 steps (a sum
of 40 per-step means, not divided before backward), ``loss.backward()``, ``optimizer.step()``,
``loss = loss.item()/seq_length``; no clipping; the ``sample`` function (used once after training, for ``extra``).

Changed to run offline on one CPU thread: The Mysterious Island (1268-0.txt, ~1.1 M characters) is replaced by the
first 200,000 characters of shipped_text.py's ``stdlib_docstrings()`` (the standard library's docstrings, ASCII;
the book's ``find('THE MYSTERIOUS ISLAND')`` trimming is dropped), as other ports here do; the next 20,000
characters are a held-out text (the book has none), its windows made the same way and the character set built
from both so every held-out character is in the vocabulary.  Shrunk: ``embed_dim`` 64 instead of 256,
``rnn_hidden_size`` 128 instead of 512, and 300 iterations instead of ``num_epochs = 10000`` (the book's size runs
~0.5 s an iteration on one CPU thread; this one ~90 ms on the shared machine, ~27 s a run; 600 iterations took 55 s
and brought the held-out loss from 4.57 to 1.73 on seed 1, against 1.88 after 300); the batch (64), the window (40)
and the rate (0.005) are the book's.  ``device`` is the CPU (the book sets ``cuda:0``); ``torch.manual_seed(seed)`` where the
book calls ``torch.manual_seed(1)`` (before the DataLoader, the model and the loop); no printing every 500
iterations.  The metric, ``test_loss``, is the mean per-character cross-entropy on 512 held-out windows (chosen by
a generator seeded 1234, the same for every run) after training, computed with the same loop (fresh zero state,
one character a step) under ``torch.no_grad()``; ``initial`` is the same loss of the untrained model (~ln of the
vocabulary size); the training loss per character (mean of the last 20 iterations), a 100-character sample from
"The " and the held-out curve every 100 iterations go to ``extra``.

The watch, as a user would add it: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the
optimizer is built; ``monitor.step(loss)`` right after ``loss.backward()`` (the summed loss, before it is turned into
a float), before ``optimizer.step()``; ``monitor.close()`` after the loop.

``CASES`` (in the shape of run.py's ``case()``, program "mlbchar", name prefix mlbchar): the program on seeds 1-3,
and one change each against the same seed's healthy run: lr x2 (0.01), x10 (seeds 1 and 2), x100 (seeds 1 and
2), x1000, /1000; ``normal_(0, 1)`` on every weight matrix of the LSTM and the Linear (init_large; the embedding
keeps its N(0, 1) default); every LSTM and Linear weight and bias zero (symmetric_init); ``optimizer.zero_grad()``
left out (no_zero_grad); ``nn.Softmax(dim=1)`` on the logits before CrossEntropyLoss (wrong_loss; seeds 1 and 2);
``clip_grad_norm_(model.parameters(), 1.0)`` added before the step at lr x10 (cause "healthy": the program with
clipping added, its control the healthy run).  Not carried: no clipping (the book does not clip); unscaled inputs
(the inputs are embeddings).  Labels come from run.py's outcome rules only.
Recorded (cases-public35, 16 runs, 20-30 s each on the shared machine): healthy held-out loss 1.882, 1.860, 1.862
from ~4.57 untrained on seeds 1-3 (train loss ~1.5; vocabulary 95): healthy.  Healthy: lr x2 (1.763), lr x10 (1.874,
1.849: Adam at 0.05 still trains here), clip 1.0 added at lr x10 (1.899).  Ambiguous: lr x100 (2.80, 2.85: it learns,
but not to half the control).  Broken: lr x1000 (32.3), lr /1000 (4.53, barely moved), normal_(0, 1) init (3.88, from
12.0), all-zero LSTM and Linear (3.48), no zero_grad (3.33), Softmax before CrossEntropyLoss (12.54, 12.58: the
held-out loss is taken on the raw logits, as the model is used; trained through a softmax they grow large).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
from shipped_text import stdlib_docstrings
from torch.distributions.categorical import Categorical
from torch.utils.data import DataLoader, Dataset

import gradmedic

ARCH = "lstm"
MONITOR_AT = ("watch(model, optimizer, every=10) right after torch.optim.Adam(lr=0.005); monitor.step(loss) right after "
              "loss.backward() of the loss summed over the 40 per-character steps, before optimizer.step() (no clipping)")

N_TRAIN_CHARS = 200_000
N_TEST_CHARS = 20_000
N_TEST_WINDOWS = 512
NUM_EPOCHS = 300
seq_length = 40
batch_size = 64
embed_dim = 64          # the book: 256
rnn_hidden_size = 128   # the book: 512
device = torch.device("cpu")


class TextDataset(Dataset):
    def __init__(self, text_chunks):
        self.text_chunks = text_chunks

    def __len__(self):
        return len(self.text_chunks)

    def __getitem__(self, idx):
        text_chunk = self.text_chunks[idx]
        return text_chunk[:-1].long(), text_chunk[1:].long()


class RNN(nn.Module):
    def __init__(self, vocab_size, embed_dim, rnn_hidden_size):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.rnn_hidden_size = rnn_hidden_size
        self.rnn = nn.LSTM(embed_dim, rnn_hidden_size,
                           batch_first=True)
        self.fc = nn.Linear(rnn_hidden_size, vocab_size)

    def forward(self, x, hidden, cell):
        out = self.embedding(x).unsqueeze(1)
        out, (hidden, cell) = self.rnn(out, (hidden, cell))
        out = self.fc(out).reshape(out.size(0), -1)
        return out, hidden, cell

    def init_hidden(self, batch_size):
        hidden = torch.zeros(1, batch_size, self.rnn_hidden_size)
        cell = torch.zeros(1, batch_size, self.rnn_hidden_size)
        return hidden.to(device), cell.to(device)


def _chunks(encoded, chunk_size):
    return np.stack([encoded[i:i+chunk_size] for i in range(len(encoded)-chunk_size+1)])


def train(seed: int = 1, lr_mult: float = 1.0, init: str | None = None, zero_grad: bool = True,
          softmax: bool = False, clip: float | None = None, num_epochs: int = NUM_EPOCHS, every: int = 10,
          verbose: bool = False) -> dict:
    """Variants: ``lr_mult`` multiplies Adam's lr 0.005; ``init``: "std1" (normal_(0, 1) on the LSTM's and the
    Linear's weights), "zeros" (every LSTM and Linear weight and bias zero); ``zero_grad=False`` leaves out
    ``optimizer.zero_grad()``; ``softmax``: nn.Softmax(dim=1) on the logits before CrossEntropyLoss; ``clip``:
    clip_grad_norm_ at this norm before the step."""
    torch.set_num_threads(1)
    ## Reading and processing text
    full = stdlib_docstrings()[:N_TRAIN_CHARS + N_TEST_CHARS]
    text, test_text = full[:N_TRAIN_CHARS], full[N_TRAIN_CHARS:]
    char_set = set(full)
    chars_sorted = sorted(char_set)
    char2int = {ch:i for i,ch in enumerate(chars_sorted)}
    char_array = np.array(chars_sorted)
    text_encoded = np.array(
        [char2int[ch] for ch in text],
        dtype=np.int32)
    test_encoded = np.array([char2int[ch] for ch in test_text], dtype=np.int32)

    chunk_size = seq_length + 1
    text_chunks = _chunks(text_encoded, chunk_size)
    seq_dataset = TextDataset(torch.tensor(text_chunks))
    test_chunks = torch.tensor(_chunks(test_encoded, chunk_size)).long()
    g = torch.Generator().manual_seed(1234)
    test_chunks = test_chunks[torch.randperm(len(test_chunks), generator=g)[:N_TEST_WINDOWS]]

    torch.manual_seed(seed)
    seq_dl = DataLoader(seq_dataset, batch_size=batch_size, shuffle=True, drop_last=True)

    vocab_size = len(char_array)
    torch.manual_seed(seed)
    model = RNN(vocab_size, embed_dim, rnn_hidden_size)
    model = model.to(device)
    with torch.no_grad():  # the variants' inits (None: PyTorch's default, as in the book)
        for name, p in list(model.rnn.named_parameters()) + list(model.fc.named_parameters()):
            if init == "std1" and "weight" in name:
                p.normal_(0.0, 1.0)
            elif init == "zeros":
                p.zero_()

    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.005 * lr_mult)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    def test_loss():
        with torch.no_grad():
            total = 0.0
            for i in range(0, len(test_chunks), 256):
                seq_b, tgt_b = test_chunks[i:i + 256, :-1], test_chunks[i:i + 256, 1:]
                hidden, cell = model.init_hidden(seq_b.size(0))
                for c in range(seq_length):
                    pred, hidden, cell = model(seq_b[:, c], hidden, cell)
                    total += loss_fn(pred, tgt_b[:, c]).item() * seq_b.size(0)
            return total / (len(test_chunks) * seq_length)

    initial = test_loss()
    curve = [initial]
    losses = []
    t0 = time.time()
    torch.manual_seed(seed)
    for epoch in range(num_epochs):
        hidden, cell = model.init_hidden(batch_size)
        seq_batch, target_batch = next(iter(seq_dl))
        seq_batch = seq_batch.to(device)
        target_batch = target_batch.to(device)
        if zero_grad:
            optimizer.zero_grad()
        loss = 0
        for c in range(seq_length):
            pred, hidden, cell = model(seq_batch[:, c], hidden, cell)
            if softmax:  # the bug: probabilities fed to a loss that expects logits
                pred = nn.Softmax(dim=1)(pred)
            loss += loss_fn(pred, target_batch[:, c])
        loss.backward()
        monitor.step(loss)  # gradmedic
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        loss = loss.item()/seq_length
        losses.append(loss)
        if (epoch + 1) % 100 == 0:
            curve.append(test_loss())
            if verbose:
                print(f'Epoch {epoch} loss: {loss:.4f} held-out {curve[-1]:.4f}', flush=True)
    monitor.close()
    seconds = time.time() - t0
    value = test_loss() if num_epochs % 100 else curve[-1]

    def sample(model, starting_str,
               len_generated_text=100,
               scale_factor=1.0):
        encoded_input = torch.tensor([char2int[s] for s in starting_str])
        encoded_input = torch.reshape(encoded_input, (1, -1))
        generated_str = starting_str
        model.eval()
        hidden, cell = model.init_hidden(1)
        for c in range(len(starting_str)-1):
            _, hidden, cell = model(encoded_input[:, c].view(1), hidden, cell)
        last_char = encoded_input[:, -1]
        for _i in range(len_generated_text):
            logits, hidden, cell = model(last_char.view(1), hidden, cell)
            logits = torch.squeeze(logits, 0)
            scaled_logits = logits * scale_factor
            m = Categorical(logits=scaled_logits)
            last_char = m.sample()
            generated_str += str(char_array[last_char])
        return generated_str

    try:
        torch.manual_seed(1)
        with torch.no_grad():
            text_sample = sample(model, starting_str='The ')
    except (ValueError, RuntimeError):  # non-finite logits
        text_sample = None
    if verbose:
        print(f"held-out loss {value:.4f} (untrained {initial:.4f}); train loss {np.mean(losses[:5]):.4f} -> "
              f"{np.mean(losses[-20:]):.4f}; {seconds:.1f} s\n{text_sample!r}")
    finite = bool(np.isfinite(value))
    return {"monitors": {"": monitor}, "metric": "test_loss", "value": float(value) if finite else float("nan"),
            "initial": float(initial), "chance": float(np.log(vocab_size)),
            "initial_what": "untrained: the model's held-out per-character cross-entropy before its first step",
            "extra": {"train_loss": float(np.mean(losses[-20:])), "initial_train_loss": float(np.mean(losses[:5])),
                      "test_loss_per_100_iterations": [float(v) for v in curve], "vocab_size": vocab_size,
                      "sample": text_sample, "lr": 0.005 * lr_mult, "steps": len(losses)},
            "seconds": seconds}


_W = ("the book's char-level LSTM (Embedding 64, LSTM 128, Linear; CrossEntropyLoss summed over 40 steps, Adam lr "
      "0.005, batch 64, 300 iterations)")


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="mlbchar", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"mlbchar_healthy_s{s}", "healthy", s, {}, f"{_W}: unchanged", False) for s in (1, 2, 3)]
    + [_case("mlbchar_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_W}: Adam lr x2 (0.01)")]
    + [_case(f"mlbchar_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_W}: Adam lr x{k} ({0.005 * k:g})")
       for k, ss in ((10, (1, 2)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("mlbchar_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_W}: Adam lr /1000 (5e-06)")]
    + [_case("mlbchar_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_W}: normal_(0, 1) on every weight of the LSTM and the Linear (biases and embedding at the default)")]
    + [_case("mlbchar_zero_init_s1", "symmetric_init", 1, {"init": "zeros"},
             f"{_W}: zeros_ on every weight and bias of the LSTM and the Linear (the embedding at the default)")]
    + [_case("mlbchar_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_W}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case(f"mlbchar_softmax_s{s}", "wrong_loss", s, {"softmax": True},
             f"{_W}: nn.Softmax(dim=1) on the logits before CrossEntropyLoss") for s in (1, 2)]
    + [_case("mlbchar_clip_lr_x10_s1", "healthy", 1, {"clip": 1.0, "lr_mult": 10},
             f"{_W}: clip_grad_norm_(model.parameters(), 1.0) added before the step, at Adam lr x10 (0.05)")]
)

if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = v if k == "init" else (v == "True" if v in ("True", "False") else float(v))
    for k in ("seed", "num_epochs"):
        if k in kw:
            kw[k] = int(kw[k])
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k not in ("monitors",)})
