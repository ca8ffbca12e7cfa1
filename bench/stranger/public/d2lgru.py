"""Dive into Deep Learning (d2l-ai/d2l-en): the concise GRU (``nn.GRU``) as a character-level language model,
watched by gradmedic.

Adapted from https://github.com/d2l-ai/d2l-en (commit 23d7a5aecceee57d1292c56e90cce307f183bb0a, the newest;
chapter_recurrent-modern/gru.md was last changed in c6134986f1d191cb41a745557acc405311da56f6; the book's sample code
is under the modified MIT licence of LICENSE-SAMPLECODE, see LICENSE-d2lgru): the PyTorch tab of "Concise
Implementation" in chapter_recurrent-modern/gru.md (``class GRU(d2l.RNN)`` with ``self.rnn = nn.GRU(num_inputs,
num_hiddens)``, ``GRU(num_inputs=len(data.vocab), num_hiddens=32)``, ``d2l.RNNLM(gru, vocab_size=len(data.vocab),
lr=4)``, ``trainer.fit(model, data)`` with the section's ``Trainer(max_epochs=50, gradient_clip_val=1)`` and
``TimeMachine(batch_size=1024, num_steps=32)``, and ``model.predict('it has', 20, data.vocab)`` after training),
with what it uses from chapter_recurrent-neural-networks (rnn-scratch.md, rnn-concise.md) and the d2l package
(d2l/torch.py of the same commit; the package is not installed here), copied: ``RNN`` (``forward`` =
``self.rnn(inputs, H)``), ``RNNLM`` (a ``LazyLinear(vocab_size)`` output layer over the hidden states, swapped to
batch-major), ``RNNLMScratch`` (``one_hot``, ``forward``, ``predict``), ``Classifier.loss`` (``F.cross_entropy``
on the reshaped logits), ``Module.configure_optimizers`` (plain SGD at ``self.lr``), ``Trainer.clip_gradients``
(the global norm over all parameters scaled to ``gradient_clip_val``), ``TimeMachine`` (``_preprocess``: letters
only, lower case; ``_tokenize``: characters; every window of ``num_steps + 1`` tokens; the first ``num_train``
windows for training, shuffled by a ``DataLoader``, the next ``num_val`` 5000 for validation) and ``Vocab``.  The
plumbing is the same as d2llstm.py's (the LSTM from scratch of the same chapter), copied here.  The section's
from-scratch ``GRUScratch`` is not ported: its loop is d2llstm.py's with the GRU's gates.

Kept as in the book: ``nn.GRU(28, 32)`` with PyTorch's default initialization, one-hot inputs, the
``LazyLinear(28)`` output layer, SGD lr 4, cross-entropy over characters, the clip at 1, ``num_steps=32``, no
state carried between batches (``forward`` starts each batch from a zero state).  d2l's ``Trainer.fit``/
``fit_epoch`` are written out by hand as a plain PyTorch loop, in the book's order: per batch ``loss =
model.training_step(batch)`` (forward and loss), ``optim.zero_grad()``, then under ``torch.no_grad()``:
``loss.backward()``, ``clip_gradients(1, model)`` and ``optim.step()``.

Changed to run offline on one CPU thread in ~10-15 s of CPU:
- The Time Machine is the first 200,000 characters of shipped_text.py's ``stdlib_docstrings()`` (175,359
  characters after ``_preprocess``; the vocabulary is the same 28 tokens: ``<unk>``, space, a-z), as d2l.py and
  d2llstm.py do; the windows are built once a process (run.py runs every case in one) and shared, read-only.
- Batch 32 and one epoch over ``num_train=20000`` windows (625 steps) instead of batch 1024 and 50 epochs over
  10000 (500 steps), as d2llstm.py: at the book's setting a run took 70 s here (a batch-1024 step ~120 ms) and
  overfit the 10000 overlapping windows (train loss 1.48, held-out 2.35 on seed 1); at batch 32 over 20000
  windows seen once, 2.11 held-out in 16 s.
- The ProgressBoard (plots), ``save_hyperparameters``, ``d2l.Module``'s other plumbing and the GPU handling are
  left out; ``torch.manual_seed(seed)`` before the data and model are built (the book does not seed); the global
  RNG drives the DataLoader's shuffle, as in the book.  The per-epoch validation pass (plotted by the book) runs
  once, after the epoch.
- The metric is the held-out per-character loss: the mean cross-entropy over the 5000 validation windows (in
  batches of 1024) after training (``value``; its exponential is the book's validation perplexity), against the
  same loss of the untrained model (``initial``, ~3.34-3.39; computing it before the optimizer is built also
  materializes the LazyLinear, as rnn-concise.md's ``predict`` before training does).  The train loss (mean of the
  last 20 steps) and ``predict('it has', 20)`` before and after training go to ``extra``.  The variants' switches
  (``lr_mult``, ``clip``, ``init_std``, ``zero_init``, ``raw_inputs``, ``zero_grad``, ``softmax_loss``) are keywords
  of ``train``.

The watch, as a user would: ``monitor = gradmedic.watch(model, optim, every=10)`` right after
``model.configure_optimizers()``, ``monitor.step(loss)`` right after ``loss.backward()`` (inside the
``torch.no_grad()`` block), before ``clip_gradients`` and ``optim.step()``; ``monitor.close()`` after the loop.

``CASES`` (in the shape of run.py's ``case()``, program "d2lgru", name prefix d2lgru): the program on seeds 1-3, and
one change each against the same seed's healthy run: lr x2, x10, x100 (seeds 1 and 2), x1000 and /1000 (the clip
kept); no gradient clipping at the book's lr 4 and at lr x10 (40; its control the healthy run at lr 4 with the
clip); ``normal_(0, 1)`` on the nn.GRU's two weight matrices; zeros on them; the one-hot encoding replaced by the
raw character index as one float input (``num_inputs=1``, values 0..27); ``optim.zero_grad()`` left out (seeds 1
and 2); a softmax over the logits before d2l's cross-entropy in ``training_step`` (the validation loss unchanged).
Labels come from run.py's outcome rules only.

Recorded (cases-public32, 17 cases in 178 s, 9-16 s a run on a shared 2-core machine): healthy held-out loss 2.113,
2.049, 2.028 from 3.391, 3.340, 3.364 on seeds 1-3 (train loss 1.58-1.63; ``predict`` "it has for for subclass
th"); healthy also: no clipping at lr 4 (2.113, the very same run: at lr 4 and batch 32 the global gradient norm
never exceeds 1, so the clip never acts) and the zero init of the GRU's weights (2.046: the output layer's random
weights give each hidden unit its own gradient, so the symmetry breaks at once); broken: lr x10 (38.3), x100
(381, 619), x1000 (9006), /1000 (3.209 from 3.391), no clipping at lr x10 (258), no ``zero_grad`` (3.191, 4.197),
the softmax before the cross-entropy (10.29; its own training loss 3.22, the prediction all spaces); ambiguous: lr
x2 (2.156: within 1.1x of its control, but its loss reached 7.14 on the way, over twice the control's largest,
3.39), N(0, 1) weights (2.276; its loss reached 6.81) and the raw character indices as inputs (2.717: it learns,
but not to 0.7x its start, and made more than half the control's progress).
"""

from __future__ import annotations

import collections
import math
import re
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

import gradmedic

ARCH = "gru"
MONITOR_AT = ("watch(model, optim, every=10) right after model.configure_optimizers() (d2l's Trainer.fit, written out "
              "by hand); monitor.step(loss) right after loss.backward() inside the torch.no_grad() block, before "
              "clip_gradients (gradient_clip_val=1) and optim.step()")


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


_WINDOWS: dict = {}


class TimeMachine:
    """d2l.TimeMachine with the book's text replaced by shipped_text's docstrings (first ``raw_chars`` characters)."""
    def _download(self):
        from shipped_text import stdlib_docstrings
        return stdlib_docstrings()[:self.raw_chars]

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

    def __init__(self, batch_size, num_steps, num_train=10000, num_val=5000, raw_chars=200_000):
        self.batch_size, self.num_steps, self.num_train, self.num_val = batch_size, num_steps, num_train, num_val
        self.raw_chars = raw_chars
        if (raw_chars, num_steps) not in _WINDOWS:  # CPU time only: built once a process (run.py runs all cases in one)
            corpus, vocab = self.build(self._download())
            array = torch.tensor([corpus[i:i+num_steps+1]
                                  for i in range(len(corpus)-num_steps)])
            _WINDOWS[raw_chars, num_steps] = (array[:, :-1], array[:, 1:], vocab)
        self.X, self.Y, self.vocab = _WINDOWS[raw_chars, num_steps]  # never changed in place

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

    def val_dataloader(self):  # in batches of 1024, the book's batch (fewer Python loops over the time steps)
        idx = slice(self.num_train, self.num_train + self.num_val)
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(self.X[idx], self.Y[idx]), 1024)


class Classifier(nn.Module):
    """d2l.Classifier (through d2l.Module) without the ProgressBoard: the parts RNNLMScratch uses."""

    softmax_loss = False  # the variant: probabilities fed to the training loss

    def training_step(self, batch):
        Y_hat = self(*batch[:-1])
        if self.softmax_loss:  # the bug: softmax over the logits before F.cross_entropy (validation unchanged)
            Y_hat = F.softmax(Y_hat, dim=-1)
        l = self.loss(Y_hat, batch[-1])  # noqa: E741
        return l  # the book plots exp(l), the perplexity

    def validation_step(self, batch):
        l = self.loss(self(*batch[:-1]), batch[-1])  # noqa: E741
        return l  # the book plots exp(l)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)

    def loss(self, Y_hat, Y, averaged=True):
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        Y = Y.reshape((-1,))
        return F.cross_entropy(
            Y_hat, Y, reduction='mean' if averaged else 'none')


def clip_gradients(grad_clip_val, model):
    """d2l.Trainer.clip_gradients."""
    params = [p for p in model.parameters() if p.requires_grad]
    norm = torch.sqrt(sum(torch.sum((p.grad ** 2)) for p in params))  # noqa: UP034
    if norm > grad_clip_val:
        for param in params:
            param.grad[:] *= grad_clip_val / norm


# --- chapter_recurrent-neural-networks/rnn-scratch.md: RNNLMScratch --------------------------------------------------

class RNNLMScratch(Classifier):
    """The RNN-based language model implemented from scratch."""
    def __init__(self, rnn, vocab_size, lr=0.01, raw_inputs=False):
        super().__init__()
        self.rnn, self.vocab_size, self.lr = rnn, vocab_size, lr  # upstream: self.save_hyperparameters()
        self.raw_inputs = raw_inputs  # the variant
        self.init_params()

    def init_params(self):
        self.W_hq = nn.Parameter(
            torch.randn(
                self.rnn.num_hiddens, self.vocab_size) * self.rnn.sigma)
        self.b_q = nn.Parameter(torch.zeros(self.vocab_size))

    def one_hot(self, X):
        if self.raw_inputs:  # the bug: the character index itself as one float input, (num_steps, batch_size, 1)
            return X.T.unsqueeze(-1).type(torch.float32)
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


# --- chapter_recurrent-neural-networks/rnn-concise.md: RNN, RNNLM (d2l/torch.py) -------------------------------------

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


# --- chapter_recurrent-modern/gru.md: GRU (the concise implementation) ----------------------------------------------

class GRU(RNN):
    def __init__(self, num_inputs, num_hiddens):
        nn.Module.__init__(self)  # upstream: d2l.Module.__init__(self)
        self.num_inputs, self.num_hiddens = num_inputs, num_hiddens  # save_hyperparameters()
        self.rnn = nn.GRU(num_inputs, num_hiddens)


# --- the training cells, with d2l.Trainer.fit/fit_epoch written out as a plain loop ----------------------------------

def val_loss(model, data):
    model.eval()
    with torch.no_grad():
        ls = [float(model.validation_step(batch)) for batch in data.val_dataloader()]
    return float(np.mean(ls))


def train(seed: int = 1, lr_mult: float = 1.0, clip: float | None = 1.0,
          init_std: float | None = None, zero_init: bool = False, raw_inputs: bool = False, zero_grad: bool = True,
          softmax_loss: bool = False,
          max_epochs: int = 1, batch_size: int = 32, num_train: int = 20000, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    torch.manual_seed(seed)
    t0 = time.time()
    data = TimeMachine(batch_size=batch_size, num_steps=32, num_train=num_train)
    num_inputs = 1 if raw_inputs else len(data.vocab)
    gru = GRU(num_inputs=num_inputs, num_hiddens=32)
    model = RNNLM(gru, vocab_size=len(data.vocab), lr=4 * lr_mult, raw_inputs=raw_inputs)
    model.softmax_loss = softmax_loss
    with torch.no_grad():  # the variants' inits of the nn.GRU's weights (the book keeps PyTorch's defaults)
        for name, p in gru.rnn.named_parameters():
            if name.startswith("weight"):
                if init_std is not None:
                    nn.init.normal_(p, 0.0, init_std)
                if zero_init:
                    nn.init.zeros_(p)
    initial = val_loss(model, data)  # the untrained model's held-out loss (not in the book; it also materializes
    # the LazyLinear before the optimizer is built, as the predict before training does in rnn-concise.md)
    before = model.predict('it has', 20, data.vocab)
    # trainer = d2l.Trainer(max_epochs=50, gradient_clip_val=1); trainer.fit(model, data):
    gradient_clip_val = clip or 0
    train_dataloader = data.train_dataloader()
    optim = model.configure_optimizers()
    monitor = gradmedic.watch(model, optim, every=every)  # gradmedic
    losses = []
    for epoch in range(max_epochs):
        model.train()
        for batch in train_dataloader:
            loss = model.training_step(batch)
            if zero_grad:
                optim.zero_grad()
            with torch.no_grad():
                loss.backward()
                monitor.step(loss)  # gradmedic
                if gradient_clip_val > 0:
                    clip_gradients(gradient_clip_val, model)
                optim.step()
            losses.append(loss.item())
        if verbose and ((epoch + 1) % 10 == 0 or epoch + 1 == max_epochs):
            print(f"epoch {epoch + 1} train {np.mean(losses[-10:]):.4f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    value = val_loss(model, data)  # the validation pass after the last epoch: the model after training
    with torch.no_grad():
        after = model.predict('it has', 20, data.vocab)
    if verbose:
        print(f"val {value:.4f} ({time.time() - t0:.1f}s) {after!r}")
    train_loss = float(np.mean(losses[-20:]))
    return {"monitors": {"": monitor}, "metric": "val_loss", "value": value if math.isfinite(value) else float("nan"),
            "initial": initial, "initial_what": "untrained: the held-out loss over the 5000 validation windows",
            "chance": math.log(len(data.vocab)),
            "extra": {"train_loss": train_loss if math.isfinite(train_loss) else float("nan"),
                      "initial_train_loss": float(np.mean(losses[:5])),
                      "val_ppl": math.exp(min(value, 700.0)) if math.isfinite(value) else float("nan"),
                      "predict_before": before, "predict_after": after, "steps": len(losses), "epochs": max_epochs,
                      "batch_size": batch_size, "num_train": num_train, "lr": model.lr,
                      "clip": clip, "init_std": init_std, "zero_init": zero_init, "raw_inputs": raw_inputs,
                      "zero_grad": zero_grad, "softmax_loss": softmax_loss, "vocab_size": len(data.vocab),
                      "n_params": sum(p.numel() for p in model.parameters())},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="d2lgru", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_W = ("concise GRU LM (nn.GRU(28, 32), one-hot inputs, LazyLinear output, SGD lr 4, gradient_clip_val=1, batch 32, "
      "num_steps 32, one epoch of 625 steps over 20000 windows)")
CASES: list[dict] = (
    [_case(f"d2lgru_healthy_s{s}", "healthy", s, {}, f"{_W}: unchanged", False) for s in (1, 2, 3)]
    + [_case("d2lgru_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_W}: lr x2 (8), clip 1 kept")]
    + [_case(f"d2lgru_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_W}: lr x{k} ({4 * k:g}), clip 1 kept")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("d2lgru_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_W}: lr /1000 (0.004)")]
    + [_case("d2lgru_no_clip_s1", "no_clipping", 1, {"clip": None},
             f"{_W}: no clip_gradients (gradient_clip_val=0) at the book's lr 4")]
    + [_case("d2lgru_no_clip_lr_x10_s1", "no_clipping", 1, {"clip": None, "lr_mult": 10},
             f"{_W}: no clip_gradients and lr x10 (40); control: the healthy run (lr 4 with the clip)")]
    + [_case("d2lgru_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_W}: nn.init.normal_(std=1.0) on the nn.GRU's weight_ih_l0 and weight_hh_l0 (default uniform "
             "+-1/sqrt(32) = +-0.18; biases kept)")]
    + [_case("d2lgru_zero_init_s1", "symmetric_init", 1, {"zero_init": True},
             f"{_W}: nn.init.zeros_ on the nn.GRU's weight_ih_l0 and weight_hh_l0 (biases and the output layer kept)")]
    + [_case("d2lgru_raw_inputs_s1", "unscaled_inputs", 1, {"raw_inputs": True},
             f"{_W}: one_hot replaced by the raw character index as one float input (0..27; num_inputs=1)")]
    + [_case(f"d2lgru_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_W}: optim.zero_grad() left out of the loop: the gradients accumulate (then clipped to norm 1)")
       for s in (1, 2)]
    + [_case("d2lgru_softmax_loss_s1", "wrong_loss", 1, {"softmax_loss": True},
             f"{_W}: F.softmax over the logits before d2l's F.cross_entropy in training_step (probabilities fed "
             "to a loss that expects logits; the validation loss still the cross-entropy of the logits)")]
)


if __name__ == "__main__":
    import ast
    import sys

    kw = {k: ast.literal_eval(v) for k, v in (a.split("=") for a in sys.argv[1:])}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
