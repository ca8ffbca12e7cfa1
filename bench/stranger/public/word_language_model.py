"""pytorch/examples word_language_model (RNNModel, LSTM), watched by gradmedic.

Adapted from https://github.com/pytorch/examples (commit 77f55b912142e11fcfdf5b530231fb9c52f181e8,
word_language_model/model.py, data.py and main.py; BSD 3-Clause, Copyright (c) 2017, Pytorch
contributors, see LICENSE-pytorch-examples).  Kept as in the original: ``RNNModel`` (copied below,
its RNN branch; the Transformer model is left out), ``Dictionary`` / ``tokenize`` (words of a line
+ '<eos>'), ``batchify``, ``get_batch``, ``repackage_hidden``, the training step with
``model.zero_grad()``, NLLLoss on log-softmax, ``clip_grad_norm_(model.parameters(), 0.25)`` and
plain SGD written by hand (``p.data.add_(p.grad, alpha=-lr)``, lr 20), the epoch loop that divides
lr by 4 when the validation loss does not improve.

Changed to run offline on one CPU thread in seconds: the corpus is the docstrings of the standard
library (shipped_text.py), lines split 80/10/10 into train/valid/test, words outside the 1999 most
frequent replaced by '<unk>' (wikitext-2 is shipped with such '<unk>'s); emsize = nhid = 128
(original 200), 2 layers, dropout 0.2, batch 20, bptt 35 as in main.py's defaults, 2 epochs
(original 40), no checkpointing or test pass.

The watch: the loop has no optimizer object, so ``gradmedic.watch(model, every=10)`` (the monitor
does not know the rate), and ``monitor.step(loss)`` right after ``loss.backward()``.
"""

from __future__ import annotations

import math
import time
from collections import Counter

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from shipped_text import stdlib_docstrings

import gradmedic


# ---- model.py (RNNModel), unchanged --------------------------------------------------------------
class RNNModel(nn.Module):
    """Container module with an encoder, a recurrent module, and a decoder."""

    def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.5, tie_weights=False):
        super().__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        if rnn_type in ['LSTM', 'GRU']:
            self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
        else:
            try:
                nonlinearity = {'RNN_TANH': 'tanh', 'RNN_RELU': 'relu'}[rnn_type]
            except KeyError as e:
                raise ValueError( """An invalid option for `--model` was supplied,
                                 options are ['LSTM', 'GRU', 'RNN_TANH' or 'RNN_RELU']""") from e
            self.rnn = nn.RNN(ninp, nhid, nlayers, nonlinearity=nonlinearity, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)

        # Optionally tie weights as in:
        # "Using the Output Embedding to Improve Language Models" (Press & Wolf 2016)
        # https://arxiv.org/abs/1608.05859
        # and
        # "Tying Word Vectors and Word Classifiers: A Loss Framework for Language Modeling" (Inan et al. 2016)
        # https://arxiv.org/abs/1611.01462
        if tie_weights:
            if nhid != ninp:
                raise ValueError('When using the tied flag, nhid must be equal to emsize')
            self.decoder.weight = self.encoder.weight

        self.init_weights()

        self.rnn_type = rnn_type
        self.nhid = nhid
        self.nlayers = nlayers

    def init_weights(self):
        initrange = 0.1
        nn.init.uniform_(self.encoder.weight, -initrange, initrange)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -initrange, initrange)

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output)
        decoded = decoded.view(-1, self.ntoken)
        return F.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        if self.rnn_type == 'LSTM':
            return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                    weight.new_zeros(self.nlayers, bsz, self.nhid))
        else:
            return weight.new_zeros(self.nlayers, bsz, self.nhid)


# ---- data.py, on shipped text -----------------------------------------------------------------------
class Dictionary:
    def __init__(self):
        self.word2idx = {}
        self.idx2word = []

    def add_word(self, word):
        if word not in self.word2idx:
            self.idx2word.append(word)
            self.word2idx[word] = len(self.idx2word) - 1
        return self.word2idx[word]

    def __len__(self):
        return len(self.idx2word)


class Corpus:
    def __init__(self, vocab: int = 2000):
        lines = stdlib_docstrings().split("\n")
        keep = {w for w, _ in Counter(w for ln in lines for w in ln.split()).most_common(vocab - 1)}
        lines = [" ".join(w if w in keep else "<unk>" for w in ln.split()) for ln in lines]
        n = len(lines)
        self.dictionary = Dictionary()
        self.train = self.tokenize(lines[:int(n * 0.8)])
        self.valid = self.tokenize(lines[int(n * 0.8):int(n * 0.9)])
        self.test = self.tokenize(lines[int(n * 0.9):])

    def tokenize(self, lines):
        for line in lines:
            for word in line.split() + ['<eos>']:
                self.dictionary.add_word(word)
        idss = []
        for line in lines:
            ids = [self.dictionary.word2idx[word] for word in line.split() + ['<eos>']]
            idss.append(torch.tensor(ids).type(torch.int64))
        return torch.cat(idss)


_CORPUS = None

DEFAULTS = dict(model="LSTM", emsize=128, nhid=128, nlayers=2, lr=20.0, clip=0.25, epochs=2, batch_size=20,
                bptt=35, dropout=0.2, tied=False)


def train(seed: int = 1111, lr_mult: float = 1.0, clip: float | None = 0.25, model_type: str = "LSTM",
          epochs: int | None = None, every: int = 10, verbose: bool = False) -> dict:
    global _CORPUS
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only: denormal floats (e.g. in saturated LSTM gates) are 10x slower
    args = dict(DEFAULTS, model=model_type, lr=DEFAULTS["lr"] * lr_mult, clip=clip, epochs=epochs or DEFAULTS["epochs"])
    torch.manual_seed(seed)
    device = torch.device("cpu")
    if _CORPUS is None:
        _CORPUS = Corpus()
    corpus = _CORPUS

    def batchify(data, bsz):
        nbatch = data.size(0) // bsz
        data = data.narrow(0, 0, nbatch * bsz)
        data = data.view(bsz, -1).t().contiguous()
        return data.to(device)

    eval_batch_size = 10
    train_data = batchify(corpus.train, args["batch_size"])
    val_data = batchify(corpus.valid, eval_batch_size)
    ntokens = len(corpus.dictionary)
    model = RNNModel(args["model"], ntokens, args["emsize"], args["nhid"], args["nlayers"], args["dropout"],
                     args["tied"]).to(device)
    criterion = nn.NLLLoss()
    bptt = args["bptt"]

    def repackage_hidden(h):
        if isinstance(h, torch.Tensor):
            return h.detach()
        else:
            return tuple(repackage_hidden(v) for v in h)

    def get_batch(source, i):
        seq_len = min(bptt, len(source) - 1 - i)
        data = source[i:i + seq_len]
        target = source[i + 1:i + 1 + seq_len].view(-1)
        return data, target

    def evaluate(data_source):
        model.eval()
        total_loss = 0.
        hidden = model.init_hidden(eval_batch_size)
        with torch.no_grad():
            for i in range(0, data_source.size(0) - 1, bptt):
                data, targets = get_batch(data_source, i)
                output, hidden = model(data, hidden)
                hidden = repackage_hidden(hidden)
                total_loss += len(data) * criterion(output, targets).item()
        return total_loss / (len(data_source) - 1)

    monitor = gradmedic.watch(model, every=every)
    losses = []

    def train_epoch():
        model.train()
        hidden = model.init_hidden(args["batch_size"])
        for batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
            data, targets = get_batch(train_data, i)
            model.zero_grad()
            hidden = repackage_hidden(hidden)
            output, hidden = model(data, hidden)
            loss = criterion(output, targets)
            loss.backward()
            monitor.step(loss)  # gradmedic
            if args["clip"] is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), args["clip"])
            for p in model.parameters():
                p.data.add_(p.grad, alpha=-lr)
            losses.append(loss.item())

    t0 = time.time()
    lr = args["lr"]
    best_val_loss = None
    val_losses = []
    for epoch in range(1, args["epochs"] + 1):
        train_epoch()
        val_loss = evaluate(val_data)
        val_losses.append(val_loss)
        if verbose:
            print(f"epoch {epoch} train {np.mean(losses[-20:]):.3f} val {val_loss:.3f} lr {lr} {time.time() - t0:.1f}s")
        if not best_val_loss or val_loss < best_val_loss:
            best_val_loss = val_loss
        else:
            lr /= 4.0
    monitor.close()
    return {"monitors": {"": monitor}, "metric": "train_loss", "value": float(np.mean(losses[-20:])),
            "initial": float(np.mean(losses[:5])), "chance": math.log(ntokens),
            "extra": {"val_loss": val_losses[-1], "steps": len(losses), "vocab_size": ntokens},
            "seconds": time.time() - t0}


if __name__ == "__main__":
    import sys
    kw = {"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}
    if len(sys.argv) > 2:
        kw["clip"] = None
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
