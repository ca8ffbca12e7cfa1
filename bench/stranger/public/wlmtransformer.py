"""pytorch/examples word_language_model with ``--model Transformer`` (TransformerModel), watched by gradmedic.

Adapted from https://github.com/pytorch/examples (commit 77f55b912142e11fcfdf5b530231fb9c52f181e8,
word_language_model/model.py, data.py and main.py; BSD 3-Clause, Copyright (c) 2017, Pytorch contributors, see
LICENSE-pytorch-examples).  Kept as in the original: ``PositionalEncoding`` and ``TransformerModel`` (copied below:
a subclass of ``nn.Transformer(d_model=ninp, nhead, dim_feedforward=nhid, num_encoder_layers=nlayers)`` whose
encoder alone is used, so its default 6-layer decoder is built, xavier-initialized and never used, as upstream;
the causal mask ``log(tril(ones))``, ``input_emb(src) * sqrt(ninp)``, the positional encoding with the model's
dropout, ``init_weights`` (U(+-0.1) on the embedding and the output Linear, zero output bias), log_softmax out),
``Dictionary`` / ``tokenize`` (words of a line + '<eos>'), ``batchify``, ``get_batch``, ``evaluate``, the training
step (``model.zero_grad()``, ``output.view(-1, ntokens)``, NLLLoss on the log-softmax,
``clip_grad_norm_(model.parameters(), 0.25)``, plain SGD written by hand ``p.data.add_(p.grad, alpha=-lr)`` at
lr 5, the rate of the README's Transformer command ``python main.py --epochs 6 --model Transformer --lr 5``), the
epoch loop that divides lr by 4 when the validation loss does not improve, nhead 2, batch 20, dropout 0.2
(main.py's defaults).  main.py's default lr 20 (the LSTM's) does not train this model here (seed 1: the training
loss goes from 9.5 to 10.0 in 2 epochs, while lr 5 takes it from 7.7 to 4.3), so lr 20 is a variant: the
Transformer run without ``--lr 5``.

Changed to run offline on one CPU thread in seconds (as word_language_model.py, the LSTM port, does): the corpus
is the docstrings of the standard library (shipped_text.py), lines split 80/10/10 into train/valid/test, words
outside the 1999 most frequent replaced by '<unk>'; emsize = nhid = 128 (original 200), 2 layers as upstream,
bptt 35, EPOCHS epochs (original 40), no checkpointing, no reload of the best model and no test pass.  One fix
so that the hand-written update runs at all: upstream's ``for p in model.parameters(): p.data.add_(p.grad,
alpha=-lr)`` raises a TypeError on the unused decoder's parameters, whose ``.grad`` is None (``zero_grad`` sets
grads to None since torch 2.0, and they never get one), so the update skips parameters without a gradient
(``if p.grad is not None``), which is what the loop did when zero_grad filled zeros.

The watch: the loop has no optimizer object, so ``gradmedic.watch(model, every=10)`` (the monitor does not know the
rate), and ``monitor.step(loss)`` right after ``loss.backward()``, before ``clip_grad_norm_`` and the update.
Metric: the training loss (mean of the last 20 steps) against the mean of the first 5; the last validation loss is
in ``extra``.

``CASES`` (name prefix ``wlmtf``): the program on seeds 1-3 and one change each against the same seed's healthy
run: lr x10, x100 (seeds 1 and 2), x1000, /1000; main.py's default lr 20 instead of the README's 5 (x4, seeds 1
and 2); no clipping at lr 5 (seeds 1 and 2) and at lr 50 (x10);
N(0, 1) instead of the original init on every weight matrix of the model's Linear maps (the output Linear, the
attention out_proj and in_proj_weight, the feed-forward linear1/linear2) and on the embedding.
Recorded (cases-public11, 693 s for the 15 runs, 29-63 s each on a shared CPU): healthy 7.66 -> 4.33, 7.59 ->
4.34, 7.28 -> 4.31 (training loss, seeds 1-3; validation 4.47 on seed 1); every variant labelled broken: lr x10
ends at 118, x100 at 1.7e4 (both seeds), x1000 at 1.8e6, /1000 at 6.8 (from 8.0), main.py's lr 20 at 10.0 and
11.3 (from 9.5, above its start); without clipping the loss is already 4.7e3 (lr 5, seed 1), 1.1e6 (seed 2) and
8.8e14 (lr 50) in the first 5 steps and ends NaN; N(0, 1) init starts at 37.4 / 32.2 and ends at 6.28 / 6.25.
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

ARCH = "transformer"
MONITOR_AT = ("watch(model) without an optimizer (the loop updates p.data by hand); monitor.step(loss) right after "
              "loss.backward() (NLLLoss on log_softmax), before clip_grad_norm_ and the update")


# ---- model.py (PositionalEncoding, TransformerModel), unchanged -------------------------------------------------
class PositionalEncoding(nn.Module):
    r"""Inject some information about the relative or absolute position of the tokens in the sequence.
        The positional encodings have the same dimension as the embeddings, so that the two can be summed.
        Here, we use sine and cosine functions of different frequencies.
    """

    def __init__(self, d_model, dropout=0.1, max_len=5000):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)

        pe = torch.zeros(max_len, d_model)
        position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        pe = pe.unsqueeze(0).transpose(0, 1)
        self.register_buffer('pe', pe)

    def forward(self, x):
        x = x + self.pe[:x.size(0), :]
        return self.dropout(x)


class TransformerModel(nn.Transformer):
    """Container module with an encoder, a recurrent or transformer module, and a decoder."""

    def __init__(self, ntoken, ninp, nhead, nhid, nlayers, dropout=0.5):
        super().__init__(d_model=ninp, nhead=nhead, dim_feedforward=nhid, num_encoder_layers=nlayers)
        self.model_type = 'Transformer'
        self.src_mask = None
        self.pos_encoder = PositionalEncoding(ninp, dropout)

        self.input_emb = nn.Embedding(ntoken, ninp)
        self.ninp = ninp
        self.decoder = nn.Linear(ninp, ntoken)

        self.init_weights()

    def _generate_square_subsequent_mask(self, sz):
        return torch.log(torch.tril(torch.ones(sz, sz)))

    def init_weights(self):
        initrange = 0.1
        nn.init.uniform_(self.input_emb.weight, -initrange, initrange)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -initrange, initrange)

    def forward(self, src, has_mask=True):
        if has_mask:
            device = src.device
            if self.src_mask is None or self.src_mask.size(0) != len(src):
                mask = self._generate_square_subsequent_mask(len(src)).to(device)
                self.src_mask = mask
        else:
            self.src_mask = None

        src = self.input_emb(src) * math.sqrt(self.ninp)
        src = self.pos_encoder(src)
        output = self.encoder(src, mask=self.src_mask)
        output = self.decoder(output)
        return F.log_softmax(output, dim=-1)


# ---- data.py, on shipped text ------------------------------------------------------------------------------------
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
EPOCHS = 2
DEFAULTS = dict(model="Transformer", emsize=128, nhid=128, nlayers=2, nhead=2, lr=5.0, clip=0.25, epochs=EPOCHS,
                batch_size=20, bptt=35, dropout=0.2)


def train(seed: int = 1111, lr_mult: float = 1.0, clip: float | None = 0.25, init_std: float | None = None,
          epochs: int | None = None, every: int = 10, verbose: bool = False) -> dict:
    """``clip=None`` drops the clip_grad_norm_ line; ``init_std`` re-initializes every weight matrix of the Linear
    maps (nn.Linear modules and MultiheadAttention's in_proj_weight) and the embedding with N(0, init_std)."""
    global _CORPUS
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    args = dict(DEFAULTS, lr=DEFAULTS["lr"] * lr_mult, clip=clip, epochs=epochs or DEFAULTS["epochs"])
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
    model = TransformerModel(ntokens, args["emsize"], args["nhead"], args["nhid"], args["nlayers"],
                             args["dropout"]).to(device)
    if init_std is not None:  # the bug: N(0, init_std) on every Linear weight and the embedding
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, (nn.Linear, nn.Embedding)):
                    nn.init.normal_(m.weight, 0.0, init_std)
                elif isinstance(m, nn.MultiheadAttention):
                    nn.init.normal_(m.in_proj_weight, 0.0, init_std)
    criterion = nn.NLLLoss()
    bptt = args["bptt"]

    def get_batch(source, i):
        seq_len = min(bptt, len(source) - 1 - i)
        data = source[i:i + seq_len]
        target = source[i + 1:i + 1 + seq_len].view(-1)
        return data, target

    def evaluate(data_source):
        model.eval()
        total_loss = 0.
        with torch.no_grad():
            for i in range(0, data_source.size(0) - 1, bptt):
                data, targets = get_batch(data_source, i)
                output = model(data)
                output = output.view(-1, ntokens)
                total_loss += len(data) * criterion(output, targets).item()
        return total_loss / (len(data_source) - 1)

    monitor = gradmedic.watch(model, every=every)
    losses = []

    def train_epoch():
        model.train()
        for _batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
            data, targets = get_batch(train_data, i)
            model.zero_grad()
            output = model(data)
            output = output.view(-1, ntokens)
            loss = criterion(output, targets)
            loss.backward()
            monitor.step(loss)  # gradmedic
            if args["clip"] is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), args["clip"])
            for p in model.parameters():
                if p.grad is not None:  # the unused nn.Transformer decoder has none (see the docstring)
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
            print(f"epoch {epoch} train {np.mean(losses[-20:]):.3f} val {val_loss:.3f} lr {lr} {time.time() - t0:.1f}s",
                  flush=True)
        if not best_val_loss or val_loss < best_val_loss:
            best_val_loss = val_loss
        else:
            lr /= 4.0
    monitor.close()
    return {"monitors": {"": monitor}, "metric": "train_loss", "value": float(np.mean(losses[-20:])),
            "initial": float(np.mean(losses[:5])), "chance": math.log(ntokens),
            "extra": {"val_loss": val_losses[-1], "steps": len(losses), "vocab_size": ntokens, "lr": args["lr"]},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="wlmtransformer", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


CASES: list[dict] = (
    [_case(f"wlmtf_healthy_s{s}", "healthy", s, {}, f"unchanged (TransformerModel emsize 128, nhid 128, 2 layers, "
           f"nhead 2, SGD by hand lr 5, clip 0.25, {EPOCHS} epochs)", False) for s in (1, 2, 3)]
    + [_case(f"wlmtf_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"lr x{k} ({5 * k:g}), clip 0.25 kept")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("wlmtf_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "lr /1000 (0.005)")]
    + [_case(f"wlmtf_lr_default20_s{s}", "lr_high", s, {"lr_mult": 4},
             "main.py's default lr 20 (the LSTM's) instead of the README's --lr 5 for the Transformer (x4), clip kept")
       for s in (1, 2)]
    + [_case(f"wlmtf_no_clip_s{s}", "no_clipping", s, {"clip": None}, "no clip_grad_norm_ at lr 5")
       for s in (1, 2)]
    + [_case("wlmtf_no_clip_lr_x10_s1", "no_clipping", 1, {"clip": None, "lr_mult": 10},
             "no clip_grad_norm_ at lr x10 (50)")]
    + [_case(f"wlmtf_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Linear weight (output decoder, attention in_proj_weight and out_proj, "
             "linear1, linear2) and the embedding, instead of U(+-0.1) / xavier_uniform_ (biases kept)")
       for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    kw = {"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}
    if len(sys.argv) > 2:
        kw["clip"] = None
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
