"""yunjey/pytorch-tutorial's word-level LSTM language model (02-intermediate/language_model), watched by gradmedic.

Adapted from https://github.com/yunjey/pytorch-tutorial (tutorials/02-intermediate/language_model/main.py at commit
032a934b488b7625f69af14318c2b1a7d3c4b008 and data_utils.py at commit 6aa638dcbf7471d106d3bb3f5f26667c42850203, the
versions stored by the code index; MIT license, the repository's LICENSE as in LICENSE-pytorch-tutorial, see
LICENSE-yjlm).  The script's module-level code is the body of ``run()`` here, upstream's lines in upstream's
order.  (tutorial.py's "lm" ports the same script with a larger hidden size, the whole vocabulary and the train
loss as its metric; this module is a second, smaller port with a capped vocabulary and a held-out metric.)

Kept as in the original: ``Dictionary`` and ``Corpus.get_data`` (whitespace words of each line plus ``<eos>``, every
word added to the dictionary, the ids cut to a multiple of the batch and viewed as (batch_size, -1)), ``RNNLM``
(``nn.Embedding(V, embed)``, ``nn.LSTM(embed, hidden, num_layers, batch_first=True)``, ``nn.Linear(hidden, V)``) with
PyTorch's default inits, num_layers 1, batch_size 20, seq_length 30, ``nn.CrossEntropyLoss()``,
``torch.optim.Adam(lr=0.002)``, and the loop: states reset to zeros at each epoch, ``detach(states)`` before every
chunk of seq_length words (truncated backpropagation), forward, loss, ``optimizer.zero_grad()``, ``loss.backward()``,
``clip_grad_norm_(model.parameters(), 0.5)``, ``optimizer.step()``.

Changed to run offline on one CPU thread in ~15 s:
- the data: Penn Treebank's data/train.txt is the first 10000 lines of shipped_text.py's ``stdlib_docstrings()``
  (the standard library's docstrings); its last 1000 lines are held out; words outside the 999 most frequent of the
  9000 training lines are replaced by ``<unk>`` in both parts, as Penn Treebank's own files come with their rare words
  as ``<unk>`` (a vocabulary of 1000 with ``<eos>``; ~55k training tokens, ~91 steps per epoch).  ``get_data`` reads
  a string (``io.StringIO``) instead of opening a path twice.
- sizes: embed_size 64 and hidden_size 128 (upstream 128 and 1024), ``num_epochs`` 3 (upstream 5; 270 steps).
- added for the metric: the held-out loss (the held-out tail through ``get_data``'s (20, -1) layout, run in chunks of
  seq_length with the states carried, under ``torch.no_grad()``, the mean cross-entropy over all its words) before
  training (``initial``) and after every epoch; the metric is the last of these (``val_loss``).
- ``torch.manual_seed(seed)`` (upstream does not seed); ``device`` the CPU; prints only with ``verbose`` (upstream:
  every 100 steps); no sampling of 1000 words into sample.txt and no ``model.ckpt`` saved.
- the bugs of the variants (``lr_mult``, ``clip``, ``init_std``, ``zero_layer``) as in ``train``'s docstring.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``clip_grad_norm_`` and ``optimizer.step()`` (so the
gradients it sees are the unclipped ones); ``monitor.close()`` after the loop.

``CASES`` (in the shape of run.py's ``case()``, all of program "yjlm"): the program on seeds 1-3 and one change each
against the same seed's healthy run: the learning rate x10, x100 (seeds 1 and 2), x1000 and /1000; no
``clip_grad_norm_`` at the learning rate x10 (a case of its own, seeds 1 and 2); ``nn.init.normal_(0, 1)`` on every
weight matrix (seeds 1 and 2); zeros on every LSTM parameter.  Not run: the hidden states not detached (upstream's
code path then raises "Trying to backward through the graph a second time"), unscaled inputs (word ids).

Recorded (cases-public18, 192 s in all, 8-28 s a run on a shared CPU): healthy held-out loss 3.561-3.587 on seeds
1-3 (from 6.88-6.92 untrained; ln 1000 = 6.91); lr x10 3.478 and no clipping at lr x10 3.452 and 3.462 (seeds 1, 2)
train as well or slightly better (healthy: Adam's step does not grow with the gradient's norm, so the 0.5 clip
changes little); lr x100 4.101 and 4.104 (ambiguous: worse, not twice the control's loss and more than half its
progress); lr x1000 86.95, lr /1000 6.897 (no progress), N(0, 1) init 9.926 and 9.853 (from 15.9 and 15.5 untrained)
are broken; zeros on the LSTM 3.652 (healthy: the output Linear's random rows give the zeroed hidden units
different gradients, so they part after the first step).
"""

# upstream's code is kept as written (super(Class, self), (object) bases, str.format, "not word in")
# ruff: noqa: UP004, UP008, UP032, E713

from __future__ import annotations

import io
import math
import time
from collections import Counter

import numpy as np
import torch
import torch.nn as nn
from shipped_text import stdlib_docstrings
from torch.nn.utils import clip_grad_norm_

import gradmedic

ARCH = "lstm"
MONITOR_AT = ("watch(model, optimizer, every=10) right after the Adam is built; monitor.step(loss) right after "
              "loss.backward(), before clip_grad_norm_(model.parameters(), 0.5) and optimizer.step()")

device = torch.device("cpu")  # upstream: cuda if available


# ==== language_model/data_utils.py ================================================================
class Dictionary(object):
    def __init__(self):
        self.word2idx = {}
        self.idx2word = {}
        self.idx = 0

    def add_word(self, word):
        if not word in self.word2idx:
            self.word2idx[word] = self.idx
            self.idx2word[self.idx] = word
            self.idx += 1

    def __len__(self):
        return len(self.word2idx)


class Corpus(object):
    def __init__(self, path='./data'):
        self.dictionary = Dictionary()

    def get_data(self, text, batch_size=20):  # upstream: a path, opened twice with open(path, 'r')
        # Add words to the dictionary
        with io.StringIO(text) as f:
            tokens = 0
            for line in f:
                words = line.split() + ['<eos>']
                tokens += len(words)
                for word in words:
                    self.dictionary.add_word(word)

        # Tokenize the file content
        ids = torch.LongTensor(tokens)
        token = 0
        with io.StringIO(text) as f:
            for line in f:
                words = line.split() + ['<eos>']
                for word in words:
                    ids[token] = self.dictionary.word2idx[word]
                    token += 1
        num_batches = ids.size(0) // batch_size
        ids = ids[:num_batches*batch_size]
        return ids.view(batch_size, -1)


# ==== the data: the standard library's docstrings in the place of Penn Treebank ===================
def ptb_like(lines: int = 10000, held_out: int = 1000, vocab: int = 1000) -> tuple[str, str]:
    """The first ``lines`` lines of the docstrings, the last ``held_out`` of them held out; words outside the
    ``vocab - 1`` most frequent training words (``<eos>`` counted) become ``<unk>``, as in Penn Treebank's files."""
    text = stdlib_docstrings().split("\n")[:lines]
    train_lines, test_lines = text[:-held_out], text[-held_out:]
    counts = Counter(w for line in train_lines for w in line.split() + ["<eos>"])
    keep = {w for w, _ in counts.most_common(vocab - 1)}

    def cap(ls):
        return "".join(" ".join(w if w in keep else "<unk>" for w in line.split()) + "\n" for line in ls)

    return cap(train_lines), cap(test_lines)


# ==== language_model/main.py ======================================================================
# RNN based language model
class RNNLM(nn.Module):
    def __init__(self, vocab_size, embed_size, hidden_size, num_layers):
        super(RNNLM, self).__init__()
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.lstm = nn.LSTM(embed_size, hidden_size, num_layers, batch_first=True)
        self.linear = nn.Linear(hidden_size, vocab_size)

    def forward(self, x, h):
        # Embed word ids to vectors
        x = self.embed(x)

        # Forward propagate LSTM
        out, (h, c) = self.lstm(x, h)

        # Reshape output to (batch_size*sequence_length, hidden_size)
        out = out.reshape(out.size(0)*out.size(1), out.size(2))

        # Decode hidden states of all time steps
        out = self.linear(out)
        return out, (h, c)


def spoil(model, init_std, zero_layer):
    if init_std is not None:  # the bug: every weight matrix (LSTM, Linear) drawn from N(0, init_std)
        for name, p in model.named_parameters():
            if "weight" in name and p.dim() >= 2 and not name.startswith("embed"):  # the Embedding is N(0, 1) already
                nn.init.normal_(p, 0.0, init_std)
    if zero_layer:  # the bug: zeros_ on every parameter of one layer
        for p in getattr(model, zero_layer).parameters():
            nn.init.zeros_(p)


def evaluate(model, ids, criterion, num_layers, batch_size, hidden_size, seq_length):
    """Added: the mean cross-entropy over the held-out ids (laid out as get_data's (batch_size, -1)), run in chunks
    of seq_length with the states carried, as the training loop runs."""
    total, n = 0.0, 0
    with torch.no_grad():
        states = (torch.zeros(num_layers, batch_size, hidden_size).to(device),
                  torch.zeros(num_layers, batch_size, hidden_size).to(device))
        for i in range(0, ids.size(1) - 1, seq_length):
            inputs = ids[:, i:min(i + seq_length, ids.size(1) - 1)].to(device)
            targets = ids[:, (i+1):(i+1)+inputs.size(1)].to(device)
            outputs, states = model(inputs, states)
            total += criterion(outputs, targets.reshape(-1)).item() * targets.numel()
            n += targets.numel()
    return total / n


def run(seed, lr_mult=1.0, clip=0.5, init_std=None, zero_layer=None, num_epochs=3, every=10, verbose=False,
        embed_size=64, hidden_size=128, lines=10000, vocab=1000):
    # Hyper-parameters
    num_layers = 1
    batch_size = 20
    seq_length = 30
    learning_rate = 0.002 * lr_mult

    # Load "Penn Treebank" dataset -> the standard library's docstrings (train part, held-out tail)
    corpus = Corpus()
    train_text, test_text = ptb_like(lines, lines // 10, vocab)
    ids = corpus.get_data(train_text, batch_size)
    vocab_size = len(corpus.dictionary)
    num_batches = ids.size(1) // seq_length
    test_ids = corpus.get_data(test_text, batch_size)  # added: the held-out tail, with the same dictionary
    assert len(corpus.dictionary) == vocab_size

    model = RNNLM(vocab_size, embed_size, hidden_size, num_layers).to(device)
    spoil(model, init_std, zero_layer)

    # Loss and optimizer
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    losses = []
    evals = [(0, evaluate(model, test_ids, criterion, num_layers, batch_size, hidden_size, seq_length))]

    # Truncated backpropagation
    def detach(states):
        return [state.detach() for state in states]

    # Train the model
    for epoch in range(num_epochs):
        # Set initial hidden and cell states
        states = (torch.zeros(num_layers, batch_size, hidden_size).to(device),
                  torch.zeros(num_layers, batch_size, hidden_size).to(device))

        for i in range(0, ids.size(1) - seq_length, seq_length):
            # Get mini-batch inputs and targets
            inputs = ids[:, i:i+seq_length].to(device)
            targets = ids[:, (i+1):(i+1)+seq_length].to(device)

            # Forward pass
            states = detach(states)
            outputs, states = model(inputs, states)
            loss = criterion(outputs, targets.reshape(-1))

            # Backward and optimize
            optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            if clip is not None:  # a variant: upstream always clips at 0.5
                clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            losses.append(loss.item())

            step = (i+1) // seq_length
            if verbose and step % 30 == 0:  # upstream: every 100 steps
                print ('Epoch [{}/{}], Step[{}/{}], Loss: {:.4f}, Perplexity: {:5.2f}'
                       .format(epoch+1, num_epochs, step, num_batches, loss.item(), np.exp(min(loss.item(), 50))))
        evals.append((len(losses), evaluate(model, test_ids, criterion, num_layers, batch_size, hidden_size,
                                            seq_length)))
        if verbose:
            print("held-out loss after epoch {}: {:.4f}".format(epoch + 1, evals[-1][1]))
    monitor.close()
    return monitor, losses, evals, {"vocab_size": vocab_size, "tokens": int(ids.numel()),
                                    "held_out_tokens": int(test_ids.numel()), "steps_per_epoch": num_batches,
                                    "n_params": sum(p.numel() for p in model.parameters())}


EPOCHS = 3  # upstream: 5


def train(seed: int = 1, lr_mult: float = 1.0, clip: float | None = 0.5, init_std: float | None = None,
          zero_layer: str | None = None, epochs: int | None = None, every: int = 10, verbose: bool = False,
          **kw) -> dict:
    """The program with one change per keyword: ``lr_mult`` scales Adam's 0.002; ``clip=None`` leaves out the
    ``clip_grad_norm_(model.parameters(), 0.5)`` line; ``init_std`` draws every weight matrix (the LSTM's weight_ih and
    weight_hh, the Linear's; not the Embedding, N(0, 1) already) from N(0, init_std) instead of PyTorch's defaults;
    ``zero_layer`` puts zeros_ on every parameter of that submodule ("lstm", "linear").  ``kw``: embed_size,
    hidden_size, lines, vocab."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only: denormal floats (e.g. in saturated LSTM gates) are slow
    torch.manual_seed(seed)
    t0 = time.time()
    epochs = epochs or EPOCHS
    monitor, losses, evals, extra = run(seed, lr_mult, clip, init_std, zero_layer, epochs, every, verbose, **kw)
    value = evals[-1][1]
    train_final = float(np.mean(losses[-20:]))
    return {"monitors": {"": monitor}, "metric": "val_loss", "value": value if math.isfinite(value) else float("nan"),
            "chance": math.log(extra["vocab_size"]), "initial": evals[0][1],
            "initial_what": "untrained: the held-out tail's mean cross-entropy before the first step",
            "extra": dict(extra, steps=len(losses), epochs=epochs, lr=0.002 * lr_mult, clip=clip,
                          train_loss=train_final if math.isfinite(train_final) else float("nan"),
                          initial_train_loss=float(np.mean(losses[:5])), held_out_evals=evals, **kw),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="yjlm", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"yjlm_healthy_s{s}", "healthy", s, {}, "unchanged (Embedding 64, LSTM 128, 1 layer, batch 20, "
           f"seq_length 30, Adam lr 0.002, clip_grad_norm_ 0.5, states detached per chunk; {EPOCHS} epochs)", False)
     for s in (1, 2, 3)]
    + [_case(f"yjlm_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({0.002 * k:g}), clip 0.5 kept")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("yjlm_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (2e-06)")]
    + [_case(f"yjlm_noclip_x10_s{s}", "no_clipping", s, {"lr_mult": 10, "clip": None},
             "no clip_grad_norm_ and Adam lr x10 (0.02)") for s in (1, 2)]
    + [_case(f"yjlm_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(0, 1) on every weight matrix (LSTM weight_ih_l0 and weight_hh_l0, Linear) instead of "
             "PyTorch's default U(+-1/sqrt(hidden)) / U(+-1/sqrt(fan_in)) (biases kept; the Embedding is N(0, 1) "
             "already)") for s in (1, 2)]
    + [_case("yjlm_zero_lstm_s1", "symmetric_init", 1, {"zero_layer": "lstm"},
             "nn.init.zeros_ on every LSTM parameter (weight_ih_l0, weight_hh_l0, both biases)")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = None if v == "None" else (v if k == "zero_layer" else float(v) if "." in v or "e" in v else int(v))
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
