"""keon/seq2seq: a GRU encoder-decoder with Bahdanau attention (a German-to-English Multi30k translator), watched by gradmedic.

Adapted from https://github.com/keon/seq2seq (commit 0e124a7b0da81f44cba9fa9944d95fdbd4e16efc, the newest; model.py,
train.py and utils.py; MIT License, Copyright (c) 2017 Keon, see LICENSE-attnseq2seq).  Kept as upstream (model.py
copied below): ``Encoder`` (embedding + 2-layer bidirectional ``nn.GRU(dropout=0.5)``, the two directions summed),
``Attention`` (Bahdanau additive: ``attn = nn.Linear(2H, H)``, ReLU, the ``v`` parameter redrawn U(+-1/sqrt(H)),
softmax over the source steps), ``Decoder`` (embedding, in-place ``Dropout(0.5)``, attention on the last hidden state,
a 1-layer ``nn.GRU(H + E, H, dropout=0.5)``, ``out = nn.Linear(2H, V)`` over [output; context], ``log_softmax``),
``Seq2Seq`` (the encoder's first hidden state as the decoder's, ``<sos>`` first, teacher forcing ratio 0.5 drawn from
Python's ``random`` per time step, greedy ``top1`` otherwise); train.py's ``optim.Adam(lr=0.0001)``, batch 32,
``F.nll_loss(output[1:].view(-1, vocab_size), trg[1:].contiguous().view(-1), ignore_index=pad)``,
``clip_grad_norm_(model.parameters(), grad_clip=10.0)``, the loop (``zero_grad`` / forward / loss / ``backward`` /
clip / ``step``), and ``evaluate`` (the mean over validation batches of the same loss with teacher_forcing_ratio 0.0,
i.e. greedy decoding) after each epoch; PyTorch's default inits.

Changed to run offline on one CPU thread: utils.py's Multi30k (German-English, spaCy-tokenized, a download) is
replaced by a generated translation task: a "German" sentence of 3-6 words from a 30-word vocabulary, its "English"
translation the sentence reversed with each word mapped through a fixed random dictionary (a permutation) onto a
30-word vocabulary; both sides built as torchtext's ``Field(init_token='<sos>', eos_token='<eos>')`` would (vocab
``<unk>``, ``<pad>``, ``<sos>``, ``<eos>`` + 30 words, so 34; ``<sos>`` + tokens + ``<eos>``, padded with ``<pad>``,
time-first [T, B]); 2880 training pairs (90 batches, reshuffled each epoch, in place of BucketIterator) and 480
validation pairs (15 batches), generated from seed 1000 + seed; hidden 128 and embed 64 (upstream 512 and 256);
6 epochs (540 steps) instead of 100; no ``.cuda()``; no checkpoint saving and no test split (the validation set is
the held-out set); ``torch.manual_seed(seed)`` and ``random.seed(seed)`` (upstream seeds nothing); the decoder's
one-layer GRU dropout warning silenced; prints only with ``verbose``; the knobs of the variants (inert by default).
Metric "loss": the held-out NLL after the last epoch, upstream's ``evaluate`` (greedy decoding, teacher forcing 0,
``<pad>`` ignored; lower is better); ``initial`` is the mean of the first 5 training losses (ln 34 = 3.53 untrained).
The greedy-decoded held-out token accuracy (``<eos>`` included, ``<pad>`` excluded) is the extra ``val_acc``.

The watch, as a user would: ``monitor = gradmedic.watch(seq2seq, optimizer, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``clip_grad_norm_`` and ``optimizer.step()``;
``monitor.close()`` after the loop.

``CASES`` (program "attnseq2seq"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10, x100 (seeds 1 and 2), x1000, /1000; ``clip_grad_norm_`` left out at lr x10 (seeds 1 and 2, cause
no_clipping); ``normal_(std=1)`` on every weight (seeds 1 and 2, init_large); ``optimizer.zero_grad()`` left out
(seeds 1 and 2); and two changes expected harmless (cause "healthy"): teacher forcing ratio 1.0, and batch 64 for 12
epochs (the same 540 steps).  Labels come from run.py's outcome rules only.
Recorded (cases-public161; 16 runs, 20-33 s a run, 41 s for batch 64, 427 s in all, on the shared 2-core machine):
healthy held-out loss 0.1395, 0.1495, 0.1674 on seeds 1-3 (start 3.54, 3.52, 3.53; training loss at the end
0.29-0.31; greedy token accuracy 1.000, 0.997, 0.991; every loss finite); lr x10 (1e-3): 0.0074 (accuracy 0.999):
healthy; lr x100 (0.01): 0.1024 (seed 1, accuracy 0.986) and 0.0235 (seed 2): healthy; lr x1000 (0.1): the loss up
to 20.5, 3.969 (accuracy 0.208): broken; lr /1000 (1e-7): 3.561 (no progress, accuracy 0.021): broken; no clipping at
lr x10: 0.0013 (seed 1) and 0.0066 (seed 2), accuracy 1.0: healthy (Adam at 1e-3 does not need the clip at 10 here);
init std 1: first loss ~33, largest 37.7-38.3, 31.99 (seed 1) and 31.19 (seed 2), accuracy ~0.03: broken; zero_grad
left out: 0.5815 (seed 1, accuracy 0.817) and 0.7501 (seed 2, 0.735): broken; teacher forcing 1.0: 0.1347 (accuracy
1.0): healthy; batch 64: 0.0548 (accuracy 1.0): healthy.  Labels: 10 healthy (3 programs, lr x10, lr x100 on both
seeds, both no-clipping runs, teacher forcing 1.0, batch 64), 6 broken, 0 ambiguous.  Every loss finite in every run.
"""

from __future__ import annotations

import math
import random
import time
import warnings

import numpy as np
import torch
from torch import nn
from torch.autograd import Variable
from torch.nn import functional as F
from torch.nn.utils import clip_grad_norm_

import gradmedic

ARCH = "gru"
MONITOR_AT = ("watch(seq2seq, optimizer, every=10) right after optimizer = optim.Adam(seq2seq.parameters(), lr=args.lr); "
              "monitor.step(loss) right after loss.backward() (F.nll_loss over the flattened decoder outputs, pad "
              "ignored), before clip_grad_norm_(model.parameters(), grad_clip=10.0) and optimizer.step()")

LR = 0.0001          # upstream: -lr default 0.0001
BATCH_SIZE = 32      # upstream: -batch_size default 32
GRAD_CLIP = 10.0     # upstream: -grad_clip default 10.0
EPOCHS = 6           # upstream: -epochs default 100 (over Multi30k's 29000 pairs)
HIDDEN_SIZE = 128    # upstream: hidden_size = 512
EMBED_SIZE = 64      # upstream: embed_size = 256
N_TRAIN, N_VAL = 2880, 480   # upstream: Multi30k's 29000 training and 1014 validation pairs (here 90 + 15 batches of 32)
N_WORDS = 30         # words per language (besides the four specials of torchtext's Field)
MIN_LEN, MAX_LEN = 3, 6


# ---------------------------------------------------------------------------------------------------------------
# model.py (upstream, copied; every change marked "upstream:")
# ---------------------------------------------------------------------------------------------------------------

class Encoder(nn.Module):
    def __init__(self, input_size, embed_size, hidden_size,
                 n_layers=1, dropout=0.5):
        super(Encoder, self).__init__()  # noqa: UP008 (as upstream)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.embed_size = embed_size
        self.embed = nn.Embedding(input_size, embed_size)
        self.gru = nn.GRU(embed_size, hidden_size, n_layers,
                          dropout=dropout, bidirectional=True)

    def forward(self, src, hidden=None):
        embedded = self.embed(src)
        outputs, hidden = self.gru(embedded, hidden)
        # sum bidirectional outputs
        outputs = (outputs[:, :, :self.hidden_size] +
                   outputs[:, :, self.hidden_size:])
        return outputs, hidden


class Attention(nn.Module):
    def __init__(self, hidden_size):
        super(Attention, self).__init__()  # noqa: UP008 (as upstream)
        self.hidden_size = hidden_size
        self.attn = nn.Linear(self.hidden_size * 2, hidden_size)
        self.v = nn.Parameter(torch.rand(hidden_size))
        stdv = 1. / math.sqrt(self.v.size(0))
        self.v.data.uniform_(-stdv, stdv)

    def forward(self, hidden, encoder_outputs):
        timestep = encoder_outputs.size(0)
        h = hidden.repeat(timestep, 1, 1).transpose(0, 1)
        encoder_outputs = encoder_outputs.transpose(0, 1)  # [B*T*H]
        attn_energies = self.score(h, encoder_outputs)
        return F.softmax(attn_energies, dim=1).unsqueeze(1)

    def score(self, hidden, encoder_outputs):
        # [B*T*2H]->[B*T*H]
        energy = F.relu(self.attn(torch.cat([hidden, encoder_outputs], 2)))
        energy = energy.transpose(1, 2)  # [B*H*T]
        v = self.v.repeat(encoder_outputs.size(0), 1).unsqueeze(1)  # [B*1*H]
        energy = torch.bmm(v, energy)  # [B*1*T]
        return energy.squeeze(1)  # [B*T]


class Decoder(nn.Module):
    def __init__(self, embed_size, hidden_size, output_size,
                 n_layers=1, dropout=0.2):
        super(Decoder, self).__init__()  # noqa: UP008 (as upstream)
        self.embed_size = embed_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.n_layers = n_layers

        self.embed = nn.Embedding(output_size, embed_size)
        self.dropout = nn.Dropout(dropout, inplace=True)
        self.attention = Attention(hidden_size)
        self.gru = nn.GRU(hidden_size + embed_size, hidden_size,
                          n_layers, dropout=dropout)
        self.out = nn.Linear(hidden_size * 2, output_size)

    def forward(self, input, last_hidden, encoder_outputs):
        # Get the embedding of the current input word (last output word)
        embedded = self.embed(input).unsqueeze(0)  # (1,B,N)
        embedded = self.dropout(embedded)
        # Calculate attention weights and apply to encoder outputs
        attn_weights = self.attention(last_hidden[-1], encoder_outputs)
        context = attn_weights.bmm(encoder_outputs.transpose(0, 1))  # (B,1,N)
        context = context.transpose(0, 1)  # (1,B,N)
        # Combine embedded input word and attended context, run through RNN
        rnn_input = torch.cat([embedded, context], 2)
        output, hidden = self.gru(rnn_input, last_hidden)
        output = output.squeeze(0)  # (1,B,N) -> (B,N)
        context = context.squeeze(0)
        output = self.out(torch.cat([output, context], 1))
        output = F.log_softmax(output, dim=1)
        return output, hidden, attn_weights


class Seq2Seq(nn.Module):
    def __init__(self, encoder, decoder):
        super(Seq2Seq, self).__init__()  # noqa: UP008 (as upstream)
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, src, trg, teacher_forcing_ratio=0.5):
        batch_size = src.size(1)
        max_len = trg.size(0)
        vocab_size = self.decoder.output_size
        outputs = Variable(torch.zeros(max_len, batch_size, vocab_size))  # upstream: .cuda()

        encoder_output, hidden = self.encoder(src)
        hidden = hidden[:self.decoder.n_layers]
        output = Variable(trg.data[0, :])  # sos
        for t in range(1, max_len):
            output, hidden, attn_weights = self.decoder(
                    output, hidden, encoder_output)
            outputs[t] = output
            is_teacher = random.random() < teacher_forcing_ratio
            top1 = output.data.max(1)[1]
            output = Variable(trg.data[t] if is_teacher else top1)  # upstream: .cuda()
        return outputs


# ---------------------------------------------------------------------------------------------------------------
# utils.py's load_dataset, offline: a generated translation task instead of Multi30k (no download)
# ---------------------------------------------------------------------------------------------------------------

SPECIALS = ["<unk>", "<pad>", "<sos>", "<eos>"]  # torchtext Field's vocab order: stoi['<unk>'] 0, '<pad>' 1, then init/eos


class Vocab:
    def __init__(self, words):
        self.itos = SPECIALS + list(words)
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    def __len__(self):
        return len(self.itos)


class FieldLike:  # what train.py reads of torchtext's Field: .vocab.stoi and len(.vocab)
    def __init__(self, words):
        self.vocab = Vocab(words)


def make_pairs(n, rng, perm):
    """Source: 3-10 random "German" words; target: the sentence reversed, each word mapped to its "English" word."""
    pairs = []
    for _ in range(n):
        k = int(rng.integers(MIN_LEN, MAX_LEN + 1))
        src = rng.integers(0, N_WORDS, size=k)
        trg = perm[src[::-1]]
        pairs.append((src.tolist(), trg.tolist()))
    return pairs


def numericalize(batch, DE, EN):
    """torchtext's Field.process: <sos> + tokens + <eos>, padded with <pad> to the batch's longest, [T, B] (time first)."""
    out = []
    for side, F_ in ((0, DE), (1, EN)):
        seqs = [[F_.vocab.stoi["<sos>"]] + [len(SPECIALS) + w for w in p[side]] + [F_.vocab.stoi["<eos>"]] for p in batch]
        T = max(len(s) for s in seqs)
        x = torch.full((T, len(seqs)), F_.vocab.stoi["<pad>"], dtype=torch.long)
        for j, s in enumerate(seqs):
            x[:len(s), j] = torch.tensor(s)
        out.append((x, torch.tensor([len(s) for s in seqs])))
    return out


class Batch:
    def __init__(self, src, trg):
        self.src, self.trg = src, trg


class Iterator:
    """BucketIterator's role: batches of batch_size pairs (shuffled each epoch for training), each padded."""

    def __init__(self, pairs, batch_size, DE, EN, shuffle, seed):
        self.pairs, self.batch_size, self.DE, self.EN, self.shuffle = pairs, batch_size, DE, EN, shuffle
        self.rng = np.random.default_rng(seed)
        self.dataset = pairs

    def __len__(self):
        return math.ceil(len(self.pairs) / self.batch_size)

    def __iter__(self):
        idx = self.rng.permutation(len(self.pairs)) if self.shuffle else np.arange(len(self.pairs))
        for i in range(0, len(idx), self.batch_size):
            src, trg = numericalize([self.pairs[j] for j in idx[i:i + self.batch_size]], self.DE, self.EN)
            yield Batch(src, trg)


def load_dataset(batch_size, seed=0):
    rng = np.random.default_rng(1000 + seed)
    perm = rng.permutation(N_WORDS)  # the "dictionary": German word i -> English word perm[i]
    DE = FieldLike([f"de{i}" for i in range(N_WORDS)])
    EN = FieldLike([f"en{i}" for i in range(N_WORDS)])
    train, val = make_pairs(N_TRAIN, rng, perm), make_pairs(N_VAL, rng, perm)
    train_iter = Iterator(train, batch_size, DE, EN, shuffle=True, seed=seed)
    val_iter = Iterator(val, batch_size, DE, EN, shuffle=False, seed=seed)
    return train_iter, val_iter, DE, EN


# ---------------------------------------------------------------------------------------------------------------
# train.py (upstream's evaluate, train and main; changes marked "upstream:")
# ---------------------------------------------------------------------------------------------------------------

def evaluate(model, val_iter, vocab_size, DE, EN):
    with torch.no_grad():
        model.eval()
        pad = EN.vocab.stoi['<pad>']
        total_loss = 0
        correct, count = 0, 0  # not upstream: the greedy-decoded token accuracy, an extra
        for b, batch in enumerate(val_iter):  # noqa: B007 (as upstream)
            src, len_src = batch.src
            trg, len_trg = batch.trg
            src = src.data  # upstream: .cuda()
            trg = trg.data  # upstream: .cuda()
            output = model(src, trg, teacher_forcing_ratio=0.0)
            loss = F.nll_loss(output[1:].view(-1, vocab_size),
                                   trg[1:].contiguous().view(-1),
                                   ignore_index=pad)
            total_loss += loss.data.item()
            mask = trg[1:] != pad
            correct += int(((output[1:].argmax(2) == trg[1:]) & mask).sum())
            count += int(mask.sum())
        return total_loss / len(val_iter), correct / max(count, 1)


def train_epoch(e, model, optimizer, train_iter, vocab_size, grad_clip, DE, EN, monitor, losses, zero_grad=True,
                teacher_forcing_ratio=0.5, verbose=False):  # upstream: train(e, model, optimizer, ...)
    model.train()
    total_loss = 0
    pad = EN.vocab.stoi['<pad>']
    for b, batch in enumerate(train_iter):
        src, len_src = batch.src
        trg, len_trg = batch.trg
        src, trg = src, trg  # upstream: src.cuda(), trg.cuda()
        if zero_grad:  # the no_zero_grad variant leaves this out
            optimizer.zero_grad()
        output = model(src, trg, teacher_forcing_ratio)  # upstream: model(src, trg) (the default ratio 0.5)
        loss = F.nll_loss(output[1:].view(-1, vocab_size),
                               trg[1:].contiguous().view(-1),
                               ignore_index=pad)
        loss.backward()
        monitor.step(loss)  # gradmedic
        if grad_clip is not None:  # the no_clipping variant leaves this out
            clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        total_loss += loss.data.item()
        losses.append(loss.data.item())

        if b % 100 == 0 and b != 0:
            total_loss = total_loss / 100
            if verbose:  # upstream: always prints
                print("[%d][loss:%5.2f][pp:%5.2f]" %  # noqa: UP031 (as upstream)
                      (b, total_loss, math.exp(total_loss) if total_loss < 700 else float("inf")), flush=True)
            total_loss = 0


def train(seed: int = 1, lr_mult: float = 1.0, grad_clip: float | None = GRAD_CLIP, init_std: float | None = None,
          zero_grad: bool = True, teacher_forcing_ratio: float = 0.5, batch_size: int = BATCH_SIZE,
          epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)  # upstream seeds nothing
    random.seed(seed)  # teacher forcing draws from Python's random
    t0 = time.time()
    hidden_size = HIDDEN_SIZE  # upstream: 512
    embed_size = EMBED_SIZE  # upstream: 256

    train_iter, val_iter, DE, EN = load_dataset(batch_size, seed)
    de_size, en_size = len(DE.vocab), len(EN.vocab)

    with warnings.catch_warnings():  # the decoder's one-layer nn.GRU(dropout=0.5): PyTorch warns that it does nothing
        warnings.simplefilter("ignore", UserWarning)
        encoder = Encoder(de_size, embed_size, hidden_size,
                          n_layers=2, dropout=0.5)
        decoder = Decoder(embed_size, hidden_size, en_size,
                          n_layers=1, dropout=0.5)
    seq2seq = Seq2Seq(encoder, decoder)  # upstream: .cuda()
    if init_std is not None:  # the init_large variant: every weight matrix N(0, init_std) (biases and v kept)
        for name, p in seq2seq.named_parameters():
            if "weight" in name:
                nn.init.normal_(p, 0.0, init_std)
    lr = LR * lr_mult
    optimizer = torch.optim.Adam(seq2seq.parameters(), lr=lr)
    monitor = gradmedic.watch(seq2seq, optimizer, every=every)  # gradmedic

    losses, val_losses, val_accs = [], [], []
    for e in range(1, epochs + 1):
        train_epoch(e, seq2seq, optimizer, train_iter, en_size, grad_clip, DE, EN, monitor, losses, zero_grad=zero_grad,
                    teacher_forcing_ratio=teacher_forcing_ratio, verbose=verbose)
        val_loss, val_acc = evaluate(seq2seq, val_iter, en_size, DE, EN)
        val_losses.append(val_loss)
        val_accs.append(val_acc)
        if verbose:
            print("[Epoch:%d] val_loss:%5.3f | val_pp:%5.2fS | val_acc:%.3f | %.1fs"  # noqa: UP031 (as upstream)
                  % (e, val_loss, math.exp(min(val_loss, 700)), val_acc, time.time() - t0), flush=True)
        # upstream: saves a checkpoint when the validation loss improves (left out)
    monitor.close()
    # upstream: then the test loss on Multi30k's test split (here the validation set is the held-out set)

    la = np.array(losses)
    value = val_losses[-1]
    return {"monitors": {"": monitor}, "metric": "loss", "value": value if math.isfinite(value) else float("nan"),
            "initial": float(np.mean(la[:5])), "initial_what": "untrained: mean training loss of the first 5 steps",
            "chance": math.log(en_size),
            "extra": {"val_acc": val_accs[-1], "val_losses": [float(v) for v in val_losses], "val_accs": val_accs,
                      "train_loss": float(np.mean(la[-20:])), "first_loss": float(la[0]),
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "steps": len(la), "epochs": epochs, "lr": lr,
                      "lr_mult": lr_mult, "grad_clip": -1.0 if grad_clip is None else grad_clip,
                      "init_std": -1.0 if init_std is None else init_std, "zero_grad": zero_grad,
                      "teacher_forcing_ratio": teacher_forcing_ratio, "batch_size": batch_size,
                      "hidden_size": hidden_size, "embed_size": embed_size},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="attnseq2seq", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = (f"keon/seq2seq (bidirectional 2-layer GRU encoder, Bahdanau attention, GRU decoder; hidden {HIDDEN_SIZE}, embed "
      f"{EMBED_SIZE}; F.nll_loss ignoring <pad>; Adam lr {LR:g}, batch {BATCH_SIZE}, clip_grad_norm_ {GRAD_CLIP:g}, "
      f"teacher forcing 0.5; {EPOCHS} epochs of {N_TRAIN // BATCH_SIZE} steps)")
CASES: list[dict] = (
    [_case(f"attnseq2seq_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"attnseq2seq_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({LR * k:g}), clipping kept")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("attnseq2seq_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 ({LR * 1e-3:g})")]
    + [_case(f"attnseq2seq_noclip_lr_x10_s{s}", "no_clipping", s, {"grad_clip": None, "lr_mult": 10},
             f"{_P}: clip_grad_norm_ left out, at Adam lr x10 ({LR * 10:g})") for s in (1, 2)]
    + [_case(f"attnseq2seq_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every weight (GRU weight_ih/weight_hh, the Linears, the embeddings, "
             f"which are N(0, 1) already) instead of PyTorch's default U(+-1/sqrt(hidden)); biases and v kept")
       for s in (1, 2)]
    + [_case(f"attnseq2seq_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate; clipping at 10 kept)") for s in (1, 2)]
    + [_case("attnseq2seq_tf1_s1", "healthy", 1, {"teacher_forcing_ratio": 1.0},
             f"{_P}: teacher_forcing_ratio 1.0 in training (always teacher-forced; expected harmless)")]
    + [_case("attnseq2seq_batch64_s1", "healthy", 1, {"batch_size": 64, "epochs": 2 * EPOCHS},
             f"{_P}: batch 64 for {2 * EPOCHS} epochs (the same {EPOCHS * N_TRAIN // BATCH_SIZE} steps; expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
