"""Dive into Deep Learning (d2l-ai/d2l-en): the RNN from scratch as a character-level language model, watched by
gradmedic.

Adapted from https://github.com/d2l-ai/d2l-en (commit 23d7a5aecceee57d1292c56e90cce307f183bb0a, the newest stored;
the chapter file was last changed in c6134986f1d191cb41a745557acc405311da56f6; the book's sample code is under the
modified MIT licence of LICENSE-SAMPLECODE, see LICENSE-d2lrnnscratch): the PyTorch tab of
chapter_recurrent-neural-networks/rnn-scratch.md (``RNNScratch``, ``RNNLMScratch`` with ``init_params``,
``one_hot``, ``output_layer``, ``forward``, ``predict``; ``Trainer.clip_gradients``; the training cell
``data = d2l.TimeMachine(batch_size=1024, num_steps=32)``, ``RNNScratch(num_inputs=len(data.vocab),
num_hiddens=32)``, ``RNNLMScratch(rnn, vocab_size=len(data.vocab), lr=1)``, ``d2l.Trainer(max_epochs=100,
gradient_clip_val=1)``), with the d2l package's plumbing copied from d2l/torch.py of the same commit (the package
is not installed here): ``Vocab``, ``TimeMachine`` (``_preprocess``: letters only, lower case; ``_tokenize``:
characters; every window of ``num_steps + 1`` tokens; the first ``num_train`` 10000 windows for training, shuffled
by a ``DataLoader``), ``Classifier.loss`` (``F.cross_entropy`` on the reshaped logits),
``Module.configure_optimizers`` (``torch.optim.SGD`` at ``self.lr``) and ``Trainer.fit_epoch`` written out as a
plain loop in the book's order: ``loss = model.training_step(batch)``, ``optim.zero_grad()``, then under
``torch.no_grad()``: ``loss.backward()``, ``clip_gradients(1, model)``, ``optim.step()``.  The d2llstm port has
the same plumbing for the LSTM; this one is the plain tanh RNN of the earlier section.

Kept as in the book: the hand-made parameters ``W_xh``, ``W_hh`` (``randn * sigma``, sigma 0.01), ``b_h`` (zero),
``W_hq`` (``randn * sigma``), ``b_q`` (zero), all nn.Parameters; the tanh recurrence over the 32 time steps from a
zero state every batch; one-hot inputs (28 tokens); cross-entropy over every character; SGD lr 1 (no momentum, no
weight decay); the global-norm clip at 1 by hand; num_hiddens 32, num_steps 32, num_train 10000.

Changed, to run offline on one CPU thread in ~15 s: H. G. Wells' The Time Machine (a download) is replaced by the
public-domain Shakespeare quoted in d2lrnnscratch.txt: the first 21,983 bytes (to a line end) of
data/tinyshakespeare/input.txt of https://github.com/karpathy/char-rnn (commit
6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e); after ``_preprocess`` 20,821 characters, 27 distinct, so the vocabulary
is 28 tokens with ``<unk>``, as the book's (its 10000 training windows fit; the validation windows are not used).
Batch 256 instead of 1024 and 10 epochs of 40 steps (400 steps) instead of 100 epochs of 10 (1000 steps): a batch of
1024 costs ~100 ms a step here (the Python loop over time steps), and at 1024 the loss was 2.33 from 3.25 after 200
steps (21 s), not yet 0.7x its start; at 256, 400 steps reach ~2.11 in ~15 s.  No validation pass (the book only
plots its perplexity), the ProgressBoard, ``save_hyperparameters`` and the GPU handling are left out;
``torch.manual_seed(seed)`` before the data and model are built (the book does not seed).  The metric is the train
loss, the mean of the last 10 steps' batch losses, against the mean of the first 5 (``initial``); chance ln 28.

The watch, as a user would: ``monitor = gradmedic.watch(model, optim, every=10)`` on the ``RNNLMScratch`` (it
holds the ``RNNScratch`` as ``rnn``; so the two modules that own parameters directly are the "layers") right after
``optim = model.configure_optimizers()``; ``monitor.step(loss)`` right after ``loss.backward()`` inside the
``torch.no_grad()`` block, before ``clip_gradients`` and ``optim.step()``; ``monitor.close()`` after the loop.
The tanh is called as a function, so there is no activation module to hook.

``CASES`` (program "d2lrnnscratch"): the program on seeds 1-3, and one change each against the same seed's healthy
run: lr x10 (clip kept), x100 (seeds 1 and 2), /1000; clip_gradients left out at the book's lr 1 and at lr x10
(its control the healthy run with the clip at lr 1); sigma 1 instead of 0.01; ``optim.zero_grad()`` left out; lr x2
(expected harmless).  Labels come from run.py's outcome rules only.
Recorded (cases-public51, 143 s for the 12 runs on a shared 2-core machine; 4-27 s a run): healthy train loss
2.111, 2.114, 2.126 from 3.25 on seeds 1-3: healthy; lr x10 19.67 (clip kept): broken; lr x100 246.1 (seed 1) and
270.3 (seed 2): broken; lr /1000 3.315 (from 3.332): broken; no clip at lr 1: 2.111, the very same run as the
healthy one (the global gradient norm never exceeds 1 at lr 1 here, so the clip never acts): healthy; no clip at lr
x10: 91.81: broken; sigma 1: 3.252 (its start 10.87): broken; zero_grad left out: 2.336 (start 3.19): ambiguous
(the clip at 1 bounds the summed gradient, so it still learns, but less than the control); lr x2: 1.938: healthy.
Labels: 5 healthy (3 programs, 2 variants), 6 broken, 1 ambiguous.
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

ARCH = "rnn"
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


# --- chapter_recurrent-neural-networks/rnn-scratch.md: RNNScratch, RNNLMScratch --------------------------------------

class RNNScratch(nn.Module):
    """The RNN model implemented from scratch."""
    def __init__(self, num_inputs, num_hiddens, sigma=0.01):
        super().__init__()
        self.num_inputs, self.num_hiddens, self.sigma = num_inputs, num_hiddens, sigma  # save_hyperparameters()
        self.W_xh = nn.Parameter(
            torch.randn(num_inputs, num_hiddens) * sigma)
        self.W_hh = nn.Parameter(
            torch.randn(num_hiddens, num_hiddens) * sigma)
        self.b_h = nn.Parameter(torch.zeros(num_hiddens))

    def forward(self, inputs, state=None):
        if state is None:
            # Initial state with shape: (batch_size, num_hiddens)
            state = torch.zeros((inputs.shape[1], self.num_hiddens),
                                device=inputs.device)
        else:
            state, = state
        outputs = []
        for X in inputs:  # Shape of inputs: (num_steps, batch_size, num_inputs)
            state = torch.tanh(torch.matmul(X, self.W_xh) +
                               torch.matmul(state, self.W_hh) + self.b_h)
            outputs.append(state)
        return outputs, state


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


# --- the training cell, with d2l.Trainer.fit/fit_epoch written out as a plain loop -----------------------------------

BATCH = 256
EPOCHS = 10


def train(seed: int = 1, lr_mult: float = 1.0, clip: float | None = 1.0, sigma: float = 0.01, zero_grad: bool = True,
          max_epochs: int = EPOCHS, batch_size: int = BATCH, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    data = TimeMachine(batch_size=batch_size, num_steps=32)
    rnn = RNNScratch(num_inputs=len(data.vocab), num_hiddens=32, sigma=sigma)
    model = RNNLMScratch(rnn, vocab_size=len(data.vocab), lr=1 * lr_mult)
    # trainer = d2l.Trainer(max_epochs=100, gradient_clip_val=1); trainer.fit(model, data):
    gradient_clip_val = clip or 0
    train_dataloader = data.train_dataloader()
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
        if verbose and (epoch + 1) % 10 == 0:
            print(f"epoch {epoch + 1} train {np.mean(losses[-10:]):.4f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
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
                      "lr_mult": lr_mult, "clip": clip or 0.0, "sigma": sigma, "zero_grad": zero_grad,
                      "vocab_size": len(data.vocab)},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="d2lrnnscratch", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_W = (f"RNNScratch LM (num_hiddens 32, sigma 0.01, tanh, one-hot inputs, cross-entropy, SGD lr 1, "
      f"clip_gradients at 1, batch {BATCH}, num_steps 32, {EPOCHS} epochs of 40 steps)")
CASES: list[dict] = (
    [_case(f"d2lrnnscratch_healthy_s{s}", "healthy", s, {}, f"{_W}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"d2lrnnscratch_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_W}: lr x{k} ({k:g}), clip 1 kept")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("d2lrnnscratch_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_W}: lr /1000 (0.001)")]
    + [_case("d2lrnnscratch_no_clip_s1", "no_clipping", 1, {"clip": None},
             f"{_W}: clip_gradients left out (gradient_clip_val=0) at the book's lr 1")]
    + [_case("d2lrnnscratch_no_clip_lr_x10_s1", "no_clipping", 1, {"clip": None, "lr_mult": 10},
             f"{_W}: clip_gradients left out and lr x10 (10); control: the healthy run (lr 1 with the clip)")]
    + [_case("d2lrnnscratch_sigma1_s1", "init_large", 1, {"sigma": 1.0},
             f"{_W}: RNNScratch(sigma=1) instead of 0.01: W_xh, W_hh and the output layer's W_hq N(0, 1)")]
    + [_case("d2lrnnscratch_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_W}: optim.zero_grad() left out (the gradients accumulate; the clip still scales their sum)")]
    + [_case("d2lrnnscratch_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_W}: lr x2 (2), expected harmless")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
