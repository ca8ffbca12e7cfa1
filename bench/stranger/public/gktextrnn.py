"""graykode/nlp-tutorial's TextRNN (3-1.TextRNN), watched by gradmedic.

Adapted from https://github.com/graykode/nlp-tutorial (commit d05e31ec81d56d70c1db89b99ab07e948f7ebc11, the newest;
3-1.TextRNN/TextRNN.py, last changed in 5c4ed7f3cdec9f34baef489f967b91ebd885cc82; by Tae Hwan Jung; MIT License,
Copyright (c) 2019 TaeHwan Jung, see LICENSE-gktextrnn).  Next-word prediction on upstream's three sentences
(``sentences = ["i like dog", "i love coffee", "i hate milk"]``): the first two words, one-hot over the 7-word
vocabulary, are the input and the last word the target.  gknlp.py (TextCNN, NNLM), gklstm.py (TextLSTM),
gkbilstm.py, gkattn.py, gkxf.py and gkseq2seq.py port other parts of the same repository.

Kept as in the original: ``make_batch`` (``np.eye(n_class)[input]``), the ``TextRNN`` class unchanged
(``nn.RNN(input_size=n_class, hidden_size=n_hidden)`` with PyTorch's default init, ``W = nn.Linear(n_hidden,
n_class, bias=False)``, the hand-made ``b = nn.Parameter(torch.ones([n_class]))``, the input transposed to
(n_step, batch, n_class), ``outputs[-1]``, ``W(outputs) + b``); ``n_step = 2``, ``n_hidden = 5``, the sentences
(module globals, as upstream's ``__main__`` sets them); ``nn.CrossEntropyLoss()``,
``optim.Adam(model.parameters(), lr=0.001)``; the loop: the three sentences as one batch, 5000 epochs of one step
each as upstream (a run is 6-11 s here, so nothing is cut), ``zero_grad`` / a zero ``hidden`` of shape
(1, batch_size, n_hidden) / forward / loss / ``backward`` / ``step``, no clipping, no scheduler; and the final
prediction (``model(hidden, input_batch).data.max(1, keepdim=True)[1]``), kept as the extras ``train_accuracy`` /
``predicted`` instead of printed.

Changed: ``word_list = sorted(set(...))`` instead of ``list(set(...))`` (the set's order of strings changes from
process to process with Python's hash seed; sorted makes the word indices, and so each run, reproducible);
``torch.manual_seed(seed)`` before the model is built (upstream seeds nothing);
``torch.FloatTensor(np.array(input_batch))`` instead of ``torch.FloatTensor(input_batch)`` (the same tensor); the
per-1000-epoch print only when ``verbose``; the knobs of the variants below (inert by default).  Upstream has no
held-out data (it predicts its own three training sentences), and the training accuracy is 1.0 after a few hundred
steps in every healthy run (3 examples: not a meaningful 0.9 threshold), so the metric is "loss": the final
training loss (the mean of the last 20 of the 5000 step losses); ``initial`` is the mean of the first 5.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the Adam is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the loop.

``CASES`` (in the shape of run.py's ``case()``, program "gktextrnn"): the program on seeds 1-3, and one change
each against the same seed's healthy run: Adam lr x10, x100 (seeds 1 and 2), /1000; every RNN weight and bias
``normal_(std=1)`` (init_large; ``W`` and ``b`` kept); the same all ``zeros_`` (symmetric_init);
``optimizer.zero_grad()`` left out; softmax over the logits before ``CrossEntropyLoss`` (wrong_loss); the RNN's
parameters frozen with ``requires_grad_(False)`` (only ``W`` and ``b`` learn; no_gradient); and Adam lr x2
(expected harmless).  No "no clipping" case (upstream does not clip) and no raw-input case (one-hot words).
Labels come from run.py's outcome rules only.
Recorded (cases-public53, 13 runs, 7-11 s a run on the shared 2-core machine): healthy final training loss
0.00303, 0.00274, 0.00206 on seeds 1-3 (from 1.95, 2.02, 2.07; all three sentences predicted, largest loss 1.96 on
seed 1); lr x10 6.8e-5, x100 2.3e-6 and 1.8e-6 (seeds 1, 2; largest loss 2.03 on seed 2): healthy; /1000 1.933
(no progress): broken; RNN init std 1 0.00319 (1.06x its control): healthy; RNN zero init 0.00154: healthy (the
input-to-hidden weights get distinct gradients through ``W``, so the zero start does not stay symmetric here);
zero_grad left out 9.5e-7 (with Adam the accumulated gradient only trains faster on this tiny task): healthy;
softmax before CrossEntropyLoss 1.167: broken; RNN frozen 0.102 (33x its control; ``W`` and ``b`` on the random
5-unit features): broken; lr x2 0.00089: healthy.  Labels: 10 healthy (3 programs, 7 variants), 3 broken,
0 ambiguous.  Every loss finite in every run.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

import gradmedic

ARCH = "rnn"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = optim.Adam(model.parameters(), lr=0.001); "
              "monitor.step(loss) right after loss.backward() (CrossEntropyLoss on the full batch of 3 sentences), "
              "before optimizer.step()")

EPOCHS = 5000
LR = 0.001

# upstream's __main__ sets these module globals; train() sets them the same way
n_step = 2  # number of cells(= number of Step)
n_hidden = 5  # number of hidden units in one cell
sentences = ["i like dog", "i love coffee", "i hate milk"]
word_list = sorted(set(" ".join(sentences).split()))  # upstream: list(set(word_list)), an order that varies per process
word_dict = {w: i for i, w in enumerate(word_list)}
number_dict = {i: w for i, w in enumerate(word_list)}
n_class = len(word_dict)
batch_size = len(sentences)


def make_batch():
    input_batch = []
    target_batch = []

    for sen in sentences:
        word = sen.split()  # space tokenizer
        input = [word_dict[n] for n in word[:-1]]  # create (1~n-1) as input
        target = word_dict[word[-1]]  # create (n) as target, We usually call this 'casual language model'

        input_batch.append(np.eye(n_class)[input])
        target_batch.append(target)

    return input_batch, target_batch


class TextRNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(input_size=n_class, hidden_size=n_hidden)
        self.W = nn.Linear(n_hidden, n_class, bias=False)
        self.b = nn.Parameter(torch.ones([n_class]))

    def forward(self, hidden, X):
        X = X.transpose(0, 1)  # X : [n_step, batch_size, n_class]
        outputs, hidden = self.rnn(X, hidden)
        # outputs : [n_step, batch_size, num_directions(=1) * n_hidden]
        # hidden : [num_layers(=1) * num_directions(=1), batch_size, n_hidden]
        outputs = outputs[-1]  # [batch_size, num_directions(=1) * n_hidden]
        model = self.W(outputs) + self.b  # model : [batch_size, n_class]
        return model


def train(seed: int = 1, lr_mult: float = 1.0, init: str = "default", zero_grad: bool = True,
          softmax: bool = False, freeze_rnn: bool = False, epochs: int = EPOCHS, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    model = TextRNN()
    if init != "default":
        for p in model.rnn.parameters():
            if init == "std1":  # the init_large variant: every RNN weight and bias normal_(std=1)
                nn.init.normal_(p, std=1.0)
            elif init == "zero":  # the symmetric_init variant
                nn.init.zeros_(p)
            else:
                raise ValueError(init)
    if freeze_rnn:  # the no_gradient variant: the RNN's weights frozen (requires_grad False), only W and b learn
        for p in model.rnn.parameters():
            p.requires_grad_(False)

    criterion = nn.CrossEntropyLoss()
    lr = LR * lr_mult
    optimizer = optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    input_batch, target_batch = make_batch()
    input_batch = torch.FloatTensor(np.array(input_batch))
    target_batch = torch.LongTensor(target_batch)

    losses = []
    # Training
    for epoch in range(epochs):
        if zero_grad:  # the no_zero_grad variant leaves this out
            optimizer.zero_grad()

        # hidden : [num_layers * num_directions, batch, hidden_size]
        hidden = torch.zeros(1, batch_size, n_hidden)
        # input_batch : [batch_size, n_step, n_class]
        output = model(hidden, input_batch)
        if softmax:  # the wrong_loss variant: probabilities fed to CrossEntropyLoss
            output = torch.softmax(output, dim=1)

        # output : [batch_size, n_class], target_batch : [batch_size] (LongTensor, not one-hot)
        loss = criterion(output, target_batch)
        if verbose and (epoch + 1) % 1000 == 0:
            print('Epoch:', f'{epoch + 1:04d}', 'cost =', f'{loss:.6f}', f"({time.time() - t0:.1f}s)", flush=True)

        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()
        losses.append(loss.item())
    monitor.close()

    # Predict
    with torch.no_grad():
        hidden = torch.zeros(1, batch_size, n_hidden)
        predict = model(hidden, input_batch).data.max(1, keepdim=True)[1]
    train_acc = float((predict.squeeze(1) == target_batch).float().mean())
    predicted = " ".join(number_dict[n.item()] for n in predict.squeeze(1))
    value = float(np.mean(losses[-20:]))
    return {"monitors": {"": monitor}, "metric": "loss", "value": value if math.isfinite(value) else float("nan"),
            "chance": math.log(n_class), "initial": float(np.mean(losses[:5])),
            "initial_what": "untrained: mean training loss of the first 5 steps",
            "extra": dict(train_loss=value if math.isfinite(value) else float("nan"),
                          first_loss=float(np.mean(losses[:5])), max_loss=float(np.nanmax(losses)),
                          finite_losses=bool(np.isfinite(losses).all()), steps=len(losses), lr=lr,
                          lr_mult=lr_mult, init=init, zero_grad=zero_grad, softmax=softmax, freeze_rnn=freeze_rnn,
                          train_accuracy=train_acc, predicted=predicted),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="gktextrnn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = (f"TextRNN (nn.RNN(n_class 7, n_hidden 5), W Linear no bias + b ones, last step; one-hot words; "
      f"CrossEntropyLoss; Adam lr {LR:g}; the 3 sentences as one batch, {EPOCHS} steps)")
CASES: list[dict] = (
    [_case(f"gktextrnn_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"gktextrnn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("gktextrnn_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 ({LR * 1e-3:g})")]
    + [_case("gktextrnn_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_P}: every RNN weight and bias normal_(std=1)")]
    + [_case("gktextrnn_zero_init_s1", "symmetric_init", 1, {"init": "zero"},
             f"{_P}: every RNN weight and bias zeros_")]
    + [_case("gktextrnn_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("gktextrnn_softmax_ce_s1", "wrong_loss", 1, {"softmax": True},
             f"{_P}: softmax over the logits before CrossEntropyLoss")]
    + [_case("gktextrnn_frozen_rnn_s1", "no_gradient", 1, {"freeze_rnn": True},
             f"{_P}: the RNN's parameters frozen (requires_grad_(False)): only W and b learn")]
    + [_case("gktextrnn_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: Adam lr x2 ({LR * 2:g})")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
