"""Dive into Deep Learning (d2l-ai/d2l-en): the concise RNN (``nn.RNN``) language model on quoted Shakespeare,
watched by gradmedic.

Adapted from https://github.com/d2l-ai/d2l-en (commit 23d7a5aecceee57d1292c56e90cce307f183bb0a, as d2l.py and
d2lrnnscratch.py cite it; the book's sample code is under the modified MIT licence of LICENSE-SAMPLECODE, see
LICENSE-d2lrnnconcise): the PyTorch tab of chapter_recurrent-neural-networks/rnn-concise.md (``RNN(d2l.Module)``
holding ``self.rnn = nn.RNN(num_inputs, num_hiddens)``; ``RNNLM(d2l.RNNLMScratch)`` whose ``init_params`` is
``self.linear = nn.LazyLinear(self.vocab_size)`` and whose ``output_layer`` is
``self.linear(hiddens).swapaxes(0, 1)``; the training cell ``data = d2l.TimeMachine(batch_size=1024,
num_steps=32)``, ``rnn = RNN(num_inputs=len(data.vocab), num_hiddens=32)``, ``model = RNNLM(rnn,
vocab_size=len(data.vocab), lr=1)``, ``model.predict('it has', 20, data.vocab)`` before training,
``trainer = d2l.Trainer(max_epochs=100, gradient_clip_val=1)``).  The stored copy of the chapter file here is an
older edition (commit 02aeee89910be2ceebe02bc98b11e5d6ca69eabf: ``RNNModel``, ``train_ch8``, 256 hidden units,
500 epochs); the current edition's code is the one d2l.py ports from 23d7a5a, and this port follows it.  The d2l
plumbing (``Vocab``, ``TimeMachine`` with the text replaced, ``Classifier.loss`` = ``F.cross_entropy`` on the
reshaped logits, ``configure_optimizers`` = plain SGD at ``self.lr``, ``Trainer.clip_gradients``) is imported from
d2lrnnscratch.py, which copies it from d2l/torch.py of the same commit; ``Trainer.fit``/``fit_epoch`` are written
out as a plain loop in the book's order: ``loss = model.training_step(batch)``, ``optim.zero_grad()``, then under
``torch.no_grad()``: ``loss.backward()``, ``clip_gradients(1, model)``, ``optim.step()``.

How it differs from the ports already here: d2l.py's "rnn" trains the same concise model on docstring text
(shipped_text.py) for 600 steps at batch 1024; d2lrnnscratch.py trains the from-scratch RNN on this text.  This one
is the concise ``nn.RNN`` on d2lrnnscratch.txt, with the variants the from-scratch port has (N(0, 1) weights,
zero_grad left out) and no clipping at the book's lr.

Kept as in the book: ``nn.RNN(28, 32)`` (tanh, one layer) with PyTorch's default init (uniform +-1/sqrt(32)),
the ``LazyLinear`` output layer (materialized by the ``predict`` before training, as in the book), one-hot inputs,
a zero state every batch, cross-entropy over every character (mean), SGD lr 1 (no momentum, no weight decay), the
global-norm clip at 1, num_hiddens 32, num_steps 32, num_train 10000, batch 1024 (10 steps an epoch).

Changed, to run offline on one CPU thread in ~20 s: H. G. Wells' The Time Machine (a download) is replaced by the
public-domain Shakespeare quoted in d2lrnnscratch.txt (the first 21,983 bytes of char-rnn's tinyshakespeare; after
``_preprocess`` 20,821 characters and a 28-token vocabulary, as the book's; 10000 training windows fit) with
d2lrnnscratch.py's preprocessing (the book's: letters only, lower case, characters); 40 epochs instead of 100
(400 steps, ~15-20 s; at 20 epochs seed 1 was at 2.13 from 3.12); no validation pass (the book only plots its
perplexity); the ProgressBoard, ``save_hyperparameters`` and the GPU handling are left out;
``torch.manual_seed(seed)`` before the data and model are built (the book does not seed).  The metric is the
train loss, the mean of the last 10 steps' batch losses, against the mean of the first 5 (``initial``); chance
ln 28.

The watch, as a user would: ``monitor = gradmedic.watch(model, optim, every=10)`` right after
``optim = model.configure_optimizers()``; ``monitor.step(loss)`` right after ``loss.backward()`` inside the
``torch.no_grad()`` block, before ``clip_gradients`` and ``optim.step()``; ``monitor.close()`` after the loop.

``CASES`` (program "d2lrnnconcise"): the program on seeds 1-3, and one change each against the same seed's healthy
run: lr x10 (clip kept), x100 (seeds 1 and 2), /1000; clip_gradients left out at the book's lr 1 and at lr x10 (its
control the healthy run at lr 1 with the clip); every ``nn.RNN`` weight and bias ``normal_(0, 1)``;
``optim.zero_grad()`` left out; lr x2 (expected harmless).  Labels come from run.py's outcome rules only.
Recorded (cases-public73, 12 runs, 13-22 s a run on a shared 2-core machine): healthy train loss 1.962, 1.950,
1.969 from 3.12-3.13 on seeds 1-3 (every loss finite, largest 3.34-3.36): healthy; lr x10 (clip kept): 19.43
(largest 30.8): broken; lr x100: 250.5 (seed 1) and 246.6 (seed 2), largest ~400-410: broken; lr /1000: 3.291
(from 3.344): broken; no clip at lr 1: 1.962, the very same run as the healthy one (the global gradient norm never
exceeds 1 at lr 1 here, so the clip never acts): healthy; no clip at lr x10: 122.3 (largest 206): broken; nn.RNN
weights N(0, 1): 2.528 (start 3.56): ambiguous (learns, but less than its control, not by the broken margin);
``zero_grad`` left out: 2.247 (start 3.11): ambiguous (the clip at 1 bounds the summed gradient, so it still
learns, but less than its control); lr x2: 1.850: healthy.  Labels: 5 healthy (3 programs, 2 variants), 5 broken,
2 ambiguous.  No run had a non-finite loss.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from d2lrnnscratch import Classifier, TimeMachine, clip_gradients
from torch import nn
from torch.nn import functional as F

import gradmedic

ARCH = "rnn"
MONITOR_AT = ("watch(model, optim, every=10) right after optim = model.configure_optimizers() (d2l's Trainer.fit, "
              "written out by hand); monitor.step(loss) right after loss.backward() inside the torch.no_grad() "
              "block of fit_epoch, before clip_gradients(1, model) and optim.step()")


# --- chapter_recurrent-neural-networks/rnn-scratch.md and rnn-concise.md: RNNLMScratch, RNN, RNNLM -----------------

class RNNLMScratch(Classifier):
    """The RNN-based language model implemented from scratch (the parts RNNLM inherits)."""
    def __init__(self, rnn, vocab_size, lr=0.01):
        super().__init__()
        self.rnn, self.vocab_size, self.lr = rnn, vocab_size, lr  # upstream: self.save_hyperparameters()
        self.init_params()

    def training_step(self, batch):
        l = self.loss(self(*batch[:-1]), batch[-1])  # noqa: E741
        return l  # the book plots exp(l), the perplexity

    def one_hot(self, X):
        # Output shape: (num_steps, batch_size, vocab_size)
        return F.one_hot(X.T, self.vocab_size).type(torch.float32)

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
                outputs.append(int(Y.argmax(axis=2).reshape(1)))
        return ''.join([vocab.idx_to_token[i] for i in outputs])


class RNN(nn.Module):
    """The RNN model implemented with high-level APIs."""
    def __init__(self, num_inputs, num_hiddens):
        super().__init__()
        self.num_inputs, self.num_hiddens = num_inputs, num_hiddens  # upstream: self.save_hyperparameters()
        self.rnn = nn.RNN(num_inputs, num_hiddens)

    def forward(self, inputs, H=None):
        return self.rnn(inputs, H)


class RNNLM(RNNLMScratch):
    """The RNN-based language model implemented with high-level APIs."""
    def init_params(self):
        self.linear = nn.LazyLinear(self.vocab_size)

    def output_layer(self, hiddens):
        return self.linear(hiddens).swapaxes(0, 1)


# --- the training cell, with d2l.Trainer.fit/fit_epoch written out as a plain loop -----------------------------------

BATCH = 1024
EPOCHS = 40


def train(seed: int = 1, lr_mult: float = 1.0, clip: float | None = 1.0, init_std: float | None = None,
          zero_grad: bool = True, max_epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    data = TimeMachine(batch_size=BATCH, num_steps=32)
    rnn = RNN(num_inputs=len(data.vocab), num_hiddens=32)
    if init_std is not None:  # the init_large variant: every nn.RNN weight and bias N(0, init_std)
        for p in rnn.rnn.parameters():
            nn.init.normal_(p, 0.0, init_std)
    model = RNNLM(rnn, vocab_size=len(data.vocab), lr=1 * lr_mult)
    before = model.predict('it has', 20, data.vocab)  # as the book (it also materializes the LazyLinear)
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
                      "finite_losses": bool(np.isfinite(losses).all()), "predict_before": before,
                      "predict_after": after, "steps": len(losses), "epochs": max_epochs, "batch_size": BATCH,
                      "lr": model.lr, "lr_mult": lr_mult, "clip": clip or 0.0,
                      "init_std": init_std if init_std is not None else 0.0, "zero_grad": zero_grad,
                      "vocab_size": len(data.vocab)},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="d2lrnnconcise", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_W = (f"concise RNN LM (nn.RNN(28, 32), default init, LazyLinear head, one-hot inputs, cross-entropy, SGD lr 1, "
      f"clip_gradients at 1, batch {BATCH}, num_steps 32, {EPOCHS} epochs of 10 steps)")
CASES: list[dict] = (
    [_case(f"d2lrnnconcise_healthy_s{s}", "healthy", s, {}, f"{_W}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"d2lrnnconcise_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_W}: lr x{k} ({k:g}), clip 1 kept")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("d2lrnnconcise_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_W}: lr /1000 (0.001)")]
    + [_case("d2lrnnconcise_no_clip_s1", "no_clipping", 1, {"clip": None},
             f"{_W}: clip_gradients left out (gradient_clip_val=0) at the book's lr 1")]
    + [_case("d2lrnnconcise_no_clip_lr_x10_s1", "no_clipping", 1, {"clip": None, "lr_mult": 10},
             f"{_W}: clip_gradients left out and lr x10 (10); control: the healthy run (lr 1 with the clip)")]
    + [_case("d2lrnnconcise_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_W}: nn.init.normal_(p, 0, 1) on every nn.RNN weight and bias (default uniform +-1/sqrt(32))")]
    + [_case("d2lrnnconcise_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_W}: optim.zero_grad() left out (the gradients accumulate; the clip still scales their sum)")]
    + [_case("d2lrnnconcise_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_W}: lr x2 (2), expected harmless")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
