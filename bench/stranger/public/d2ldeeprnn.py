"""Dive into Deep Learning (d2l-ai/d2l-en): the deep (two-layer) GRU language model, watched by gradmedic.

Adapted from https://github.com/d2l-ai/d2l-en (commit 23d7a5aecceee57d1292c56e90cce307f183bb0a, the newest stored;
chapter_recurrent-modern/deep-rnn.md was last changed in c6134986f1d191cb41a745557acc405311da56f6; the book's sample
code is under the modified MIT licence of LICENSE-SAMPLECODE, see LICENSE-d2ldeeprnn): the PyTorch tab of "Concise
Implementation" in chapter_recurrent-modern/deep-rnn.md (``class GRU(d2l.RNN)`` with ``self.rnn = nn.GRU(num_inputs,
num_hiddens, num_layers, dropout=dropout)``; ``data = d2l.TimeMachine(batch_size=1024, num_steps=32)``, ``trainer =
d2l.Trainer(max_epochs=100, gradient_clip_val=1)``, ``gru = GRU(num_inputs=len(data.vocab), num_hiddens=32,
num_layers=2)``, ``model = d2l.RNNLM(gru, vocab_size=len(data.vocab), lr=2)``, ``trainer.fit(model, data)``,
``model.predict('it has', 20, data.vocab)``), with the d2l package's plumbing copied from d2l/torch.py of the same
commit (the package is not installed here): ``RNN`` (``forward`` = ``self.rnn(inputs, H)``), ``RNNLM`` (a
``LazyLinear(vocab_size)`` head over the hidden states, swapped to batch-major), ``RNNLMScratch`` (``one_hot``,
``forward``, ``predict``), ``Classifier.loss`` (``F.cross_entropy`` on the reshaped logits),
``Module.configure_optimizers`` (``torch.optim.SGD`` at ``self.lr``), ``Trainer.clip_gradients`` (the global norm of
all gradients scaled to ``gradient_clip_val``), ``TimeMachine`` (``_preprocess``: letters only, lower case;
``_tokenize``: characters; every window of ``num_steps + 1`` tokens; the first ``num_train`` 10000 windows for
training, shuffled by a ``DataLoader``) and ``Vocab``; the text and plumbing are d2lrnnscratch.py's (the plain RNN
from scratch of the same book), copied here.  ``Trainer.fit``/``fit_epoch`` are written out as a plain loop in the
book's order: ``loss = model.training_step(batch)``, ``optim.zero_grad()``, then under ``torch.no_grad()``:
``loss.backward()``, ``clip_gradients(1, model)``, ``optim.step()``.  (d2lgru.py ports the one-layer concise GRU of
gru.md at lr 4 on other text; this is the section on depth: two stacked GRU layers at lr 2.)

Kept as in the book: ``nn.GRU(28, 32, 2, dropout=0)`` with PyTorch's default initialization, one-hot inputs, the
``LazyLinear(28)`` output layer, cross-entropy over every character, SGD lr 2 (no momentum, no weight decay), the
clip at 1, ``num_steps=32``, ``num_train=10000``, a zero state at the start of every batch.

Changed, to run offline on one CPU thread in ~15-20 s: H. G. Wells' The Time Machine (a download) is replaced by
the public-domain Shakespeare quoted in d2lrnnscratch.txt (the first 21,983 bytes of char-rnn's tinyshakespeare;
20,821 characters after ``_preprocess``, 27 distinct, so the vocabulary is the book's 28 tokens with ``<unk>``);
batch 128 instead of 1024 and 5 epochs of 79 steps (395 steps) instead of 100 epochs of 10 (1000 steps): a
batch of 1024 costs ~200 ms a step here, and at 1024 seed 1 was at 2.61 from 3.10 after 100 steps (22 s), not
yet 0.7x its start; at 128, 395 steps reach ~1.97 in ~17 s.  No validation
pass (the book only plots its perplexity), the ProgressBoard,
``save_hyperparameters`` and the GPU handling are left out; ``torch.manual_seed(seed)`` before the data and model
are built (the book does not seed).  The LazyLinear head is materialized by one forward pass on the first training
batch (under ``torch.no_grad()``) before the optimizer is built, as the book's ``predict`` before training does in
rnn-concise.md.  The metric is the train loss, the mean of the last 10 steps' batch losses, against the mean of
the first 5 (``initial``); chance ln 28.

The watch, as a user would: ``monitor = gradmedic.watch(model, optim, every=10)`` right after ``optim =
model.configure_optimizers()``; ``monitor.step(loss)`` right after ``loss.backward()`` inside the
``torch.no_grad()`` block, before ``clip_gradients`` and ``optim.step()``; ``monitor.close()`` after the loop.

``CASES`` (program "d2ldeeprnn"): the program on seeds 1-3, and one change each against the same seed's healthy
run: lr x10 (20, clip kept), x100 (200; seeds 1 and 2), /1000 (0.002); ``clip_gradients`` left out at the book's
lr 2 and at lr x10 (its control the healthy run with the clip at lr 2); ``normal_(0, 1)`` on every weight of the
nn.GRU (both layers' ``weight_ih``/``weight_hh``; biases and the head kept); ``optim.zero_grad()`` left out; lr x2
(4, expected harmless).  Labels come from run.py's outcome rules only.
Recorded (cases-public64, 12 runs, 12-19 s a run on a shared 2-core machine): healthy train loss 1.965, 1.950,
1.931 from 3.104, 3.078, 3.050 on seeds 1-3 (largest 3.34-3.36; ``predict('it has', 20)`` "it has the the the the
the"): healthy; lr x10 (20, clip kept): 15.58 (from 7.70, largest 27.4): broken; lr x100 (200): 198.0 (seed 1) and
173.7 (seed 2), every loss finite: broken; lr /1000: 3.279 from 3.343: broken; no clip at lr 2: 1.965, the very
same run as the healthy one (at lr 2 the clip never acts here): healthy; no clip at lr x10: 10.99 (largest 46.4):
broken; GRU weights N(0, 1): 2.107 (from 3.466, largest 3.63; within 1.1x of the control's 1.965): healthy;
``optim.zero_grad()`` left out: 2.503 from 3.132 (the clip at 1 bounds the summed gradient: it learns, but less;
not 0.7x its start, more than half its control's progress): ambiguous; lr x2 (4): 1.669: healthy.  Labels: 6
healthy (3 programs, 3 variants), 5 broken, 1 ambiguous.  Every loss of every run was finite.
"""

from __future__ import annotations

import collections
import math
import re
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

import gradmedic

ARCH = "gru"
MONITOR_AT = ("watch(model, optim, every=10) right after optim = model.configure_optimizers() (d2l's Trainer.fit, "
              "written out by hand); monitor.step(loss) right after loss.backward() inside the torch.no_grad() "
              "block of fit_epoch, before clip_gradients(1, model) and optim.step()")
TEXT = Path(__file__).with_name("d2lrnnscratch.txt")  # the first 21,983 bytes of char-rnn's tinyshakespeare


# --- d2l/torch.py: Vocab, TimeMachine (its text replaced), Classifier.loss, Trainer.clip_gradients -------------------

class Vocab:
    """Vocabulary for text."""
    def __init__(self, tokens=[], min_freq=0, reserved_tokens=[]):  # noqa: B006
        # Flatten a 2D list if needed
        if tokens and isinstance(tokens[0], list):
            tokens = [token for line in tokens for token in line]
        # Count token frequencies
        counter = collections.Counter(tokens)
        self.token_freqs = sorted(counter.items(), key=lambda x: x[1],
                                  reverse=True)
        # The list of unique tokens
        self.idx_to_token = list(sorted(set(['<unk>'] + reserved_tokens + [
            token for token, freq in self.token_freqs if freq >= min_freq])))
        self.token_to_idx = {token: idx
                             for idx, token in enumerate(self.idx_to_token)}

    def __len__(self):
        return len(self.idx_to_token)

    def __getitem__(self, tokens):
        if not isinstance(tokens, (list, tuple)):
            return self.token_to_idx.get(tokens, self.unk)
        return [self.__getitem__(token) for token in tokens]

    @property
    def unk(self):  # Index for the unknown token
        return self.token_to_idx['<unk>']


class TimeMachine:
    """d2l.TimeMachine with H. G. Wells' text replaced by the quoted Shakespeare of d2lrnnscratch.txt."""
    def _download(self):
        return TEXT.read_text(encoding="utf-8")

    def _preprocess(self, text):
        return re.sub('[^A-Za-z]+', ' ', text).lower()

    def _tokenize(self, text):
        return list(text)

    def build(self, raw_text, vocab=None):
        tokens = self._tokenize(self._preprocess(raw_text))
        if vocab is None:
            vocab = Vocab(tokens)
        corpus = [vocab[token] for token in tokens]
        return corpus, vocab

    def __init__(self, batch_size, num_steps, num_train=10000, num_val=5000):
        self.batch_size, self.num_steps, self.num_train, self.num_val = batch_size, num_steps, num_train, num_val
        corpus, self.vocab = self.build(self._download())
        array = torch.tensor([corpus[i:i+num_steps+1]
                              for i in range(len(corpus)-num_steps)])
        self.X, self.Y = array[:, :-1], array[:, 1:]

    def get_tensorloader(self, tensors, train, indices=slice(0, None)):
        tensors = tuple(a[indices] for a in tensors)
        dataset = torch.utils.data.TensorDataset(*tensors)
        return torch.utils.data.DataLoader(dataset, self.batch_size,
                                           shuffle=train)

    def get_dataloader(self, train):
        idx = slice(0, self.num_train) if train else slice(
            self.num_train, self.num_train + self.num_val)
        return self.get_tensorloader([self.X, self.Y], train, idx)

    def train_dataloader(self):
        return self.get_dataloader(train=True)


class Classifier(nn.Module):
    """d2l.Classifier (through d2l.Module) without the ProgressBoard: the parts RNNLMScratch uses."""

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)

    def loss(self, Y_hat, Y, averaged=True):
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        Y = Y.reshape((-1,))
        return F.cross_entropy(
            Y_hat, Y, reduction='mean' if averaged else 'none')


def clip_gradients(grad_clip_val, model):
    """d2l.Trainer.clip_gradients (defined in rnn-scratch.md)."""
    params = [p for p in model.parameters() if p.requires_grad]
    norm = torch.sqrt(sum(torch.sum((p.grad ** 2)) for p in params))  # noqa: UP034
    if norm > grad_clip_val:
        for param in params:
            param.grad[:] *= grad_clip_val / norm


# --- chapter_recurrent-neural-networks/rnn-scratch.md and rnn-concise.md: RNNLMScratch, RNN, RNNLM ----------------

class RNNLMScratch(Classifier):
    """The RNN-based language model implemented from scratch."""
    def __init__(self, rnn, vocab_size, lr=0.01):
        super().__init__()
        self.rnn, self.vocab_size, self.lr = rnn, vocab_size, lr  # upstream: self.save_hyperparameters()
        self.init_params()

    def init_params(self):
        self.W_hq = nn.Parameter(
            torch.randn(
                self.rnn.num_hiddens, self.vocab_size) * self.rnn.sigma)
        self.b_q = nn.Parameter(torch.zeros(self.vocab_size))

    def training_step(self, batch):
        l = self.loss(self(*batch[:-1]), batch[-1])  # noqa: E741
        return l  # the book plots exp(l), the perplexity

    def one_hot(self, X):
        # Output shape: (num_steps, batch_size, vocab_size)
        return F.one_hot(X.T, self.vocab_size).type(torch.float32)

    def output_layer(self, rnn_outputs):
        outputs = [torch.matmul(H, self.W_hq) + self.b_q for H in rnn_outputs]
        return torch.stack(outputs, 1)

    def forward(self, X, state=None):
        embs = self.one_hot(X)
        rnn_outputs, _ = self.rnn(embs, state)
        return self.output_layer(rnn_outputs)

    def predict(self, prefix, num_preds, vocab, device=None):
        state, outputs = None, [vocab[prefix[0]]]
        for i in range(len(prefix) + num_preds - 1):
            X = torch.tensor([[outputs[-1]]], device=device)
            embs = self.one_hot(X)
            rnn_outputs, state = self.rnn(embs, state)
            if i < len(prefix) - 1:  # Warm-up period
                outputs.append(vocab[prefix[i + 1]])
            else:  # Predict num_preds steps
                Y = self.output_layer(rnn_outputs)
                outputs.append(int(torch.reshape(torch.argmax(Y, axis=2), (1,))))
        return ''.join([vocab.idx_to_token[i] for i in outputs])


class RNN(nn.Module):
    """The RNN model implemented with high-level APIs (d2l.RNN; d2l.Module's plumbing left out)."""
    def __init__(self, num_inputs, num_hiddens):
        super().__init__()
        self.num_inputs, self.num_hiddens = num_inputs, num_hiddens  # save_hyperparameters()
        self.rnn = nn.RNN(num_inputs, num_hiddens)

    def forward(self, inputs, H=None):
        return self.rnn(inputs, H)


class RNNLM(RNNLMScratch):
    """The RNN-based language model implemented with high-level APIs."""
    def init_params(self):
        self.linear = nn.LazyLinear(self.vocab_size)

    def output_layer(self, hiddens):
        return self.linear(hiddens).swapaxes(0, 1)


# --- chapter_recurrent-modern/deep-rnn.md: GRU (the multilayer GRU) ------------------------------------------------

class GRU(RNN):
    """The multilayer GRU model."""
    def __init__(self, num_inputs, num_hiddens, num_layers, dropout=0):
        nn.Module.__init__(self)  # upstream: d2l.Module.__init__(self)
        self.num_inputs, self.num_hiddens = num_inputs, num_hiddens  # save_hyperparameters()
        self.num_layers, self.dropout = num_layers, dropout
        self.rnn = nn.GRU(num_inputs, num_hiddens, num_layers,
                          dropout=dropout)


# --- the training cell, with d2l.Trainer.fit/fit_epoch written out as a plain loop -----------------------------------

BATCH = 128
EPOCHS = 5


def train(seed: int = 1, lr_mult: float = 1.0, clip: float | None = 1.0, init_std: float | None = None,
          zero_grad: bool = True, max_epochs: int = EPOCHS, batch_size: int = BATCH, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    data = TimeMachine(batch_size=batch_size, num_steps=32)
    gru = GRU(num_inputs=len(data.vocab), num_hiddens=32, num_layers=2)
    model = RNNLM(gru, vocab_size=len(data.vocab), lr=2 * lr_mult)
    if init_std is not None:  # the init_large variant (the book keeps PyTorch's defaults)
        with torch.no_grad():
            for name, p in gru.rnn.named_parameters():
                if name.startswith("weight"):
                    nn.init.normal_(p, 0.0, init_std)
    # trainer = d2l.Trainer(max_epochs=100, gradient_clip_val=1); trainer.fit(model, data):
    gradient_clip_val = clip or 0
    train_dataloader = data.train_dataloader()
    with torch.no_grad():  # materialize the LazyLinear head before the optimizer is built (see the docstring)
        model(next(iter(train_dataloader))[0])
    optim = model.configure_optimizers()
    monitor = gradmedic.watch(model, optim, every=every)  # gradmedic
    losses = []
    for epoch in range(max_epochs):
        model.train()
        for batch in train_dataloader:
            loss = model.training_step(batch)
            if zero_grad:  # the no_zero_grad variant leaves this out
                optim.zero_grad()
            with torch.no_grad():
                loss.backward()
                monitor.step(loss)  # gradmedic
                if gradient_clip_val > 0:  # To be discussed later
                    clip_gradients(gradient_clip_val, model)
                optim.step()
            losses.append(loss.item())
        if verbose and (epoch + 1) % max(1, max_epochs // 10) == 0:
            print(f"epoch {epoch + 1} train {np.mean(losses[-10:]):.4f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    model.eval()
    with torch.no_grad():
        after = model.predict('it has', 20, data.vocab)
    train_loss = float(np.mean(losses[-10:]))
    first = float(np.mean(losses[:5]))
    return {"monitors": {"": monitor}, "metric": "loss",
            "value": train_loss if math.isfinite(train_loss) else float("nan"),
            "initial": first, "initial_what": "the mean training loss of the first 5 steps",
            "chance": math.log(len(data.vocab)),
            "extra": {"train_loss": train_loss if math.isfinite(train_loss) else float("nan"),
                      "first_loss": first, "max_loss": float(np.nanmax(losses)),
                      "finite_losses": bool(np.isfinite(losses).all()), "predict_after": after,
                      "steps": len(losses), "epochs": max_epochs, "batch_size": batch_size, "lr": model.lr,
                      "lr_mult": lr_mult, "clip": clip or 0.0, "init_std": init_std or 0.0, "zero_grad": zero_grad,
                      "vocab_size": len(data.vocab)},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="d2ldeeprnn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_W = (f"deep GRU LM (nn.GRU(28, 32, num_layers=2), one-hot inputs, LazyLinear head, cross-entropy, SGD lr 2, "
      f"clip_gradients at 1, batch {BATCH}, num_steps 32, {EPOCHS} epochs of 79 steps)")
CASES: list[dict] = (
    [_case(f"d2ldeeprnn_healthy_s{s}", "healthy", s, {}, f"{_W}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"d2ldeeprnn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_W}: lr x{k} ({2 * k:g}), clip 1 kept")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("d2ldeeprnn_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_W}: lr /1000 (0.002)")]
    + [_case("d2ldeeprnn_no_clip_s1", "no_clipping", 1, {"clip": None},
             f"{_W}: clip_gradients left out (gradient_clip_val=0) at the book's lr 2")]
    + [_case("d2ldeeprnn_no_clip_lr_x10_s1", "no_clipping", 1, {"clip": None, "lr_mult": 10},
             f"{_W}: clip_gradients left out and lr x10 (20); control: the healthy run (lr 2 with the clip)")]
    + [_case("d2ldeeprnn_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_W}: nn.init.normal_(std=1.0) on every weight of the nn.GRU (both layers' weight_ih and weight_hh; "
             "default uniform +-1/sqrt(32) = +-0.18; biases and the head kept)")]
    + [_case("d2ldeeprnn_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_W}: optim.zero_grad() left out (the gradients accumulate; the clip still scales their sum)")]
    + [_case("d2ldeeprnn_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_W}: lr x2 (4), clip kept, expected harmless")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
