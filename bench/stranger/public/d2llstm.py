"""Dive into Deep Learning (d2l-ai/d2l-en): the LSTM from scratch as a character-level language model, watched by
gradmedic.

Adapted from https://github.com/d2l-ai/d2l-en (commit 23d7a5aecceee57d1292c56e90cce307f183bb0a, the newest; both
chapter files were last changed in c6134986f1d191cb41a745557acc405311da56f6; the book's sample code is under the
modified MIT licence of LICENSE-SAMPLECODE, see LICENSE-d2llstm): the PyTorch tab of "Implementation from Scratch"
in chapter_recurrent-modern/lstm.md (``LSTMScratch`` and its training cell), with what it uses from
chapter_recurrent-neural-networks/rnn-scratch.md and the d2l package (d2l/torch.py of the same commit; the package
is not installed here), copied: ``RNNLMScratch`` (``init_params``: the output layer ``W_hq`` = randn * the RNN's
sigma and a zero ``b_q``, as nn.Parameters of the wrapper; ``one_hot``; ``output_layer``; ``forward``; ``predict``),
``Classifier.loss`` (``F.cross_entropy`` on the reshaped logits), ``Module.configure_optimizers`` (plain SGD at
``self.lr``), ``Trainer.clip_gradients`` (the global norm over all parameters scaled to ``gradient_clip_val``),
``TimeMachine`` (``_preprocess``: letters only, lower case; ``_tokenize``: characters; every window of
``num_steps + 1`` tokens; the first ``num_train`` 10000 windows for training, shuffled by a ``DataLoader``, the next
``num_val`` 5000 for validation) and ``Vocab``.

Kept as in the book: ``LSTMScratch(num_inputs=len(vocab), num_hiddens=32)`` with its own nn.Parameter gates
(``init_weight`` = ``nn.Parameter(randn * sigma)``, sigma 0.01, zero biases; input gate, forget gate, output gate,
input node; the Python loop over time steps starting from a zero state every batch), ``RNNLMScratch(lstm,
vocab_size=len(vocab), lr=4)``, ``TimeMachine(batch_size=1024, num_steps=32)``, ``Trainer(max_epochs=50,
gradient_clip_val=1)``: SGD lr 4, cross-entropy over characters, one-hot inputs, the clip at 1 (batch and
epochs changed, below).  d2l's
``Trainer.fit``/``fit_epoch`` are written out by hand as a plain PyTorch loop, in the book's order: per batch
``loss = model.training_step(batch)`` (forward and loss), ``optim.zero_grad()``, then under ``torch.no_grad()``:
``loss.backward()``, ``clip_gradients(1, model)`` and ``optim.step()``; after each epoch the validation pass in
eval mode under ``torch.no_grad()`` (the book plots its perplexity; here its mean loss goes to ``extra["val_curve"]``).

Changed to run offline on one CPU thread in ~15-20 s of CPU: The Time Machine is the first 200,000 characters of
shipped_text.py's ``stdlib_docstrings()`` (175,359 characters after ``_preprocess``; the vocabulary is the same 28
tokens: ``<unk>``, space, a-z), as d2l.py does for the book's RNN.  The batch is 32 instead of the book's 1024 and
the run one epoch over ``num_train=20000`` windows (625 steps) instead of 50 epochs over 10000 (500 steps): the
Python loop over the 32 time steps makes a batch-1024 step cost ~95 ms here against ~20 ms at batch 32, and at
batch 1024 the loss was still 2.80 after 100 steps (27 s); at batch 32 over the book's 10000 windows the run
overfits within three epochs (seed 1: train loss 1.51, held-out 2.42, 2.28, 2.30 after epochs 1-3; seed 2: 2.32
after two, just under 0.7x the untrained 3.33), so the training windows are the first 20000 instead, each seen
once (seed 2: held-out 2.16, train 1.91).  The validation pass runs in batches of 1024 (the book's, fewer Python
loops) after the epoch.  The ProgressBoard (plots), ``save_hyperparameters``, ``d2l.Module``'s other plumbing and
the GPU handling are left out (``self.rnn``, ``self.vocab_size``, ``self.lr`` set by hand);
``torch.manual_seed(seed)`` before the data and model are built (the book does not seed); the global RNG drives
the DataLoader's shuffle, as in the book.  The metric is the held-out per-character loss: the mean cross-entropy
over the 5000 validation windows after training (``value``; its exponential is the book's validation perplexity),
against the same loss of the untrained model (``initial``, ~ln 28 = 3.33); the train loss (mean of the last 20
steps) and the ``predict('it has', 20)`` before and after training go to ``extra``.  The variants' switches
(``lr_mult``, ``clip``, ``sigma``, ``raw_inputs``) are keywords of ``train``.

The watch, as a user would: ``monitor = gradmedic.watch(model, optim, every=10)`` right after
``model.configure_optimizers()``, ``monitor.step(loss)`` right after ``loss.backward()`` (inside the
``torch.no_grad()`` block), before ``clip_gradients`` and ``optim.step()``; ``monitor.close()`` after the loop.
The model is watched as a whole (the ``RNNLMScratch``): it holds no nn.Linear or activation module, so
``gradmedic.watch`` sees two "layers", the modules that own parameters directly - the wrapper itself (``W_hq``,
``b_q``: the output layer) and ``rnn`` (the ``LSTMScratch``'s twelve gate parameters) - and, with the sigmoid and
tanh called as functions, finds no activation module to hook (its dead/saturated-unit checks are off; it says so).

``CASES`` (in the shape of run.py's ``case()``, all of program "d2llstm", name prefix d2llstm): the program on seeds
1-3, and one change each against the same seed's healthy run: lr x10, x100 (seeds 1 and 2), x1000 and /1000 (clip
kept); no gradient clipping at the book's lr 4 and at lr x10 (40; its control the healthy run at lr 4 with the
clip); sigma 1 instead of 0.01 (every weight of the gates and the output layer N(0, 1)); the one-hot encoding
replaced by the raw character indices as floats (``num_inputs=1``: one input of scale 0..27).  Labels come from
run.py's outcome rules only.
Recorded (cases-public28, 277 s for the 12 runs on a shared 2-core machine; 15-44 s a run): healthy held-out loss
2.113, 2.165, 2.121 from 3.332 on seeds 1-3 (train loss 1.89 on seed 1; ``predict`` "it has secimal secimal sec");
lr x10 (40) 3.074 (its loss reached 81.7 on the way), x100 311.1 and 229.2, x1000 4693, /1000 3.239 (from 3.332):
broken; no clipping at lr 4: healthy, and the very same run as the healthy one (2.113001, identical train losses:
at lr 4 and batch 32 the global gradient norm never exceeds 1 here, so the clip never acts); no clipping at lr x10
17.57 (train 19.9): broken (with the clip lr x10 still ends at 3.07, lr_x10_s1); sigma 1: healthy, 2.101 (its
start 4.61, the largest loss 4.83, under twice the control's 3.33); raw character indices as inputs: ambiguous, 2.672
(train 2.63: it learns, but not to 0.7x the start, and it made more than half the control's progress).
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

ARCH = "lstm"
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

    def val_dataloader(self):  # in batches of 1024, the book's batch (fewer Python loops over the time steps)
        idx = slice(self.num_train, self.num_train + self.num_val)
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(self.X[idx], self.Y[idx]), 1024)


class Classifier(nn.Module):
    """d2l.Classifier (through d2l.Module) without the ProgressBoard: the parts RNNLMScratch uses."""

    def training_step(self, batch):
        l = self.loss(self(*batch[:-1]), batch[-1])  # noqa: E741
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


# --- chapter_recurrent-modern/lstm.md: LSTMScratch ------------------------------------------------------------------

class LSTMScratch(nn.Module):
    def __init__(self, num_inputs, num_hiddens, sigma=0.01):
        super().__init__()
        self.num_inputs, self.num_hiddens, self.sigma = num_inputs, num_hiddens, sigma  # save_hyperparameters()

        init_weight = lambda *shape: nn.Parameter(torch.randn(*shape) * sigma)  # noqa: E731
        triple = lambda: (init_weight(num_inputs, num_hiddens),  # noqa: E731
                          init_weight(num_hiddens, num_hiddens),
                          nn.Parameter(torch.zeros(num_hiddens)))
        self.W_xi, self.W_hi, self.b_i = triple()  # Input gate
        self.W_xf, self.W_hf, self.b_f = triple()  # Forget gate
        self.W_xo, self.W_ho, self.b_o = triple()  # Output gate
        self.W_xc, self.W_hc, self.b_c = triple()  # Input node

    def forward(self, inputs, H_C=None):
        if H_C is None:
            # Initial state with shape: (batch_size, num_hiddens)
            H = torch.zeros((inputs.shape[1], self.num_hiddens),
                            device=inputs.device)
            C = torch.zeros((inputs.shape[1], self.num_hiddens),
                            device=inputs.device)
        else:
            H, C = H_C
        outputs = []
        for X in inputs:
            I = torch.sigmoid(torch.matmul(X, self.W_xi) +  # noqa: E741
                              torch.matmul(H, self.W_hi) + self.b_i)
            F = torch.sigmoid(torch.matmul(X, self.W_xf) +  # noqa: N806
                              torch.matmul(H, self.W_hf) + self.b_f)
            O = torch.sigmoid(torch.matmul(X, self.W_xo) +  # noqa: E741
                              torch.matmul(H, self.W_ho) + self.b_o)
            C_tilde = torch.tanh(torch.matmul(X, self.W_xc) +
                                 torch.matmul(H, self.W_hc) + self.b_c)
            C = F * C + I * C_tilde
            H = O * torch.tanh(C)
            outputs.append(H)
        return outputs, (H, C)


# --- the training cell, with d2l.Trainer.fit/fit_epoch written out as a plain loop -----------------------------------

def val_loss(model, data):
    model.eval()
    with torch.no_grad():
        ls = [float(model.validation_step(batch)) for batch in data.val_dataloader()]
    return float(np.mean(ls))


def train(seed: int = 1, lr_mult: float = 1.0, clip: float | None = 1.0, sigma: float = 0.01, raw_inputs: bool = False,
          max_epochs: int = 1, batch_size: int = 32, num_train: int = 20000, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    torch.manual_seed(seed)
    t0 = time.time()
    data = TimeMachine(batch_size=batch_size, num_steps=32, num_train=num_train)
    lstm = LSTMScratch(num_inputs=1 if raw_inputs else len(data.vocab), num_hiddens=32, sigma=sigma)
    model = RNNLMScratch(lstm, vocab_size=len(data.vocab), lr=4 * lr_mult, raw_inputs=raw_inputs)
    initial = val_loss(model, data)  # the untrained model's held-out loss (not in the book)
    before = model.predict('it has', 20, data.vocab)
    # trainer = d2l.Trainer(max_epochs=50, gradient_clip_val=1); trainer.fit(model, data):
    gradient_clip_val = clip or 0
    train_dataloader, val_dataloader = data.train_dataloader(), data.val_dataloader()
    optim = model.configure_optimizers()
    monitor = gradmedic.watch(model, optim, every=every)  # gradmedic
    losses, val_curve = [], []
    for epoch in range(max_epochs):
        model.train()
        for batch in train_dataloader:
            loss = model.training_step(batch)
            optim.zero_grad()
            with torch.no_grad():
                loss.backward()
                monitor.step(loss)  # gradmedic
                if gradient_clip_val > 0:
                    clip_gradients(gradient_clip_val, model)
                optim.step()
            losses.append(loss.item())
        model.eval()
        vl = []
        for batch in val_dataloader:
            with torch.no_grad():
                vl.append(float(model.validation_step(batch)))
        val_curve.append(float(np.mean(vl)))
        if verbose and (epoch + 1) % 5 == 0:
            print(f"epoch {epoch + 1} train {np.mean(losses[-10:]):.4f} val {val_curve[-1]:.4f} "
                  f"({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    value = val_curve[-1]  # the last epoch's validation pass: the model after training
    with torch.no_grad():
        after = model.predict('it has', 20, data.vocab)
    train_loss = float(np.mean(losses[-20:]))
    return {"monitors": {"": monitor}, "metric": "val_loss", "value": value if math.isfinite(value) else float("nan"),
            "initial": initial, "initial_what": "untrained: the held-out loss over the 5000 validation windows",
            "chance": math.log(len(data.vocab)),
            "extra": {"train_loss": train_loss if math.isfinite(train_loss) else float("nan"),
                      "initial_train_loss": float(np.mean(losses[:5])), "val_curve": val_curve,
                      "val_ppl": math.exp(min(value, 700.0)) if math.isfinite(value) else float("nan"),
                      "predict_before": before, "predict_after": after, "steps": len(losses), "epochs": max_epochs,
                      "batch_size": batch_size, "lr": model.lr, "lr_mult": lr_mult, "clip": clip, "sigma": sigma,
                      "raw_inputs": raw_inputs, "vocab_size": len(data.vocab),
                      "n_params": sum(p.numel() for p in model.parameters())},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="d2llstm", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_W = ("LSTMScratch LM (num_hiddens 32, sigma 0.01, one-hot inputs, SGD lr 4, gradient_clip_val=1, batch 32, "
      "num_steps 32, one epoch of 625 steps over 20000 windows)")
CASES: list[dict] = (
    [_case(f"d2llstm_healthy_s{s}", "healthy", s, {}, f"{_W}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"d2llstm_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_W}: lr x{k} ({4 * k:g}), clip 1 kept")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("d2llstm_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_W}: lr /1000 (0.004)")]
    + [_case("d2llstm_no_clip_s1", "no_clipping", 1, {"clip": None},
             f"{_W}: no clip_gradients (gradient_clip_val=0) at the book's lr 4")]
    + [_case("d2llstm_no_clip_lr_x10_s1", "no_clipping", 1, {"clip": None, "lr_mult": 10},
             f"{_W}: no clip_gradients and lr x10 (40); control: the healthy run (lr 4 with the clip)")]
    + [_case("d2llstm_sigma1_s1", "init_large", 1, {"sigma": 1.0},
             f"{_W}: LSTMScratch(sigma=1) instead of 0.01: every gate weight and the output layer's W_hq N(0, 1) "
             "(biases zero)")]
    + [_case("d2llstm_raw_inputs_s1", "unscaled_inputs", 1, {"raw_inputs": True},
             f"{_W}: one_hot replaced by the raw character index as one float input (0..27; num_inputs=1)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
