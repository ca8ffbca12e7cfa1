"""graykode/nlp-tutorial's TextLSTM (3-2.TextLSTM), watched by gradmedic.

Adapted from https://github.com/graykode/nlp-tutorial (commit d05e31ec81d56d70c1db89b99ab07e948f7ebc11, the newest;
3-2.TextLSTM/TextLSTM.py, last changed in 5c4ed7f3cdec9f34baef489f967b91ebd885cc82; by Tae Hwan Jung; MIT License,
Copyright (c) 2019 TaeHwan Jung, see LICENSE-gklstm).  Next-character prediction: each of upstream's ten 4-letter
words (``seq_data = ['make', 'need', 'coal', 'word', 'love', 'hate', 'live', 'home', 'hash', 'star']``) gives its
first three letters, one-hot over the 26 letters, as input and its last letter as target.  gknlp.py (TextCNN,
NNLM), gkattn.py (Seq2Seq with attention) and gkbilstm.py (Bi-LSTM) port other parts of the same repository.

Kept as in the original: ``make_batch`` (``np.eye(n_class)[input]``), the ``TextLSTM`` class unchanged
(``nn.LSTM(input_size=n_class, hidden_size=n_hidden)`` with PyTorch's default init, ``W = nn.Linear(n_hidden,
n_class, bias=False)``, the hand-made ``b = nn.Parameter(torch.ones([n_class]))``, the input transposed to
(n_step, batch, n_class), zero initial hidden and cell states, ``outputs[-1]``, ``W(outputs) + b``); ``n_step = 3``,
``n_hidden = 128``, the 26-letter vocabulary and the word list (module globals, as upstream's ``__main__`` sets
them); ``nn.CrossEntropyLoss()``, ``optim.Adam(model.parameters(), lr=0.001)``; the loop: all ten words as one
batch, 1000 epochs (one step each), ``zero_grad`` / forward / loss / ``backward`` / ``step``, no clipping, no
scheduler; and the final prediction (``model(input_batch).data.max(1, keepdim=True)[1]``), here kept as the
extra ``train_accuracy`` / ``predicted`` instead of printed.

Changed: nothing in the data, model, optimizer or number of steps (a run is 2-5 s of CPU, 4-19 s wall on the
shared machine).  ``torch.manual_seed(seed)`` before the model is built (upstream seeds nothing);
``torch.FloatTensor(np.array(input_batch))`` instead of ``torch.FloatTensor(input_batch)`` (a list of arrays; the
same tensor without the slow-path warning); the per-100-epoch print only when ``verbose``; the knobs of the
variants below (inert by default).  Upstream has no held-out data (it predicts its own ten training words), so
the metric is "loss": the final training loss (the mean of the last 20 of the 1000 step losses); ``initial`` is
the mean of the first 5.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the Adam is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the loop.

``CASES`` (in the shape of run.py's ``case()``, program "gklstm"): the program on seeds 1-3, and one change each
against the same seed's healthy run: Adam lr x10, x100 (seeds 1 and 2), /1000; the one-hot inputs x100 (features
far from unit scale; cause unscaled_inputs); every LSTM weight and bias and ``W``'s weight ``normal_(std=1)``
(seed 2; ``b`` kept at ones); the same all ``zeros_`` (symmetric); the same ``normal_(std=1e-3)`` (init_small);
``optimizer.zero_grad()`` left out; softmax over the logits before ``CrossEntropyLoss`` (wrong_loss); the LSTM's
parameters frozen with ``requires_grad_(False)`` (only ``W`` and ``b`` learn; no_gradient); and Adam lr x2
(expected harmless).  No "no clipping" case (upstream does not clip).  Labels come from run.py's outcome rules only.
Tried and left out before recording: lr x1000 (0.0000685 but the loss up to 95: over 2x the control's largest,
ambiguous), inputs x1000 (0.0052: broken by the halved-loss rule while it still fits every word) and x255
(0.000605, 1.13x its control: ambiguous), init std 1 on seed 1 (0.00037, but its largest loss 6.76 just over 2x
the control's 3.25: ambiguous; seed 2 recorded instead).
Recorded (cases-public44, 157 s for the 15 runs, 4-19 s a run on the shared machine): healthy final training loss
0.000535, 0.000592, 0.000680 on seeds 1-3 (from 3.22, 3.20, 3.23; every word predicted); lr x10 2.8e-5, x100
4.7e-6 and 5.0e-6 (seeds 1, 2; largest loss 3.93): healthy; /1000 3.235 (no progress): broken; inputs x100
0.000243: healthy; init std 1 (seed 2) 0.000186 from 4.04: healthy; zero init 2.13 (5 of 10 words): broken; init
std 1e-3 0.00224 (4.2x its control; every word predicted): broken; zero_grad left out 0.106: broken; softmax before
CrossEntropyLoss 2.42: broken; LSTM frozen 0.940: broken; lr x2 0.000198: healthy.  Labels: 8 healthy (3 programs,
5 variants), 7 broken, 0 ambiguous.  Every loss finite in every run.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

import gradmedic

ARCH = "lstm"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = optim.Adam(model.parameters(), lr=0.001); "
              "monitor.step(loss) right after loss.backward() (CrossEntropyLoss on the full batch of 10 words), "
              "before optimizer.step()")

EPOCHS = 1000
LR = 0.001

# upstream's __main__ sets these module globals; train() sets them the same way
n_step = 3  # number of cells(= number of Step)
n_hidden = 128  # number of hidden units in one cell
char_arr = [c for c in 'abcdefghijklmnopqrstuvwxyz']
word_dict = {n: i for i, n in enumerate(char_arr)}
number_dict = {i: w for i, w in enumerate(char_arr)}
n_class = len(word_dict)  # number of class(=number of vocab)
seq_data = ['make', 'need', 'coal', 'word', 'love', 'hate', 'live', 'home', 'hash', 'star']


def make_batch():
    input_batch, target_batch = [], []

    for seq in seq_data:
        input = [word_dict[n] for n in seq[:-1]]  # 'm', 'a' , 'k' is input
        target = word_dict[seq[-1]]  # 'e' is target
        input_batch.append(np.eye(n_class)[input])
        target_batch.append(target)

    return input_batch, target_batch


class TextLSTM(nn.Module):
    def __init__(self):
        super().__init__()

        self.lstm = nn.LSTM(input_size=n_class, hidden_size=n_hidden)
        self.W = nn.Linear(n_hidden, n_class, bias=False)
        self.b = nn.Parameter(torch.ones([n_class]))

    def forward(self, X):
        input = X.transpose(0, 1)  # X : [n_step, batch_size, n_class]

        hidden_state = torch.zeros(1, len(X), n_hidden)  # [num_layers(=1) * num_directions(=1), batch_size, n_hidden]
        cell_state = torch.zeros(1, len(X), n_hidden)     # [num_layers(=1) * num_directions(=1), batch_size, n_hidden]

        outputs, (_, _) = self.lstm(input, (hidden_state, cell_state))
        outputs = outputs[-1]  # [batch_size, n_hidden]
        model = self.W(outputs) + self.b  # model : [batch_size, n_class]
        return model


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, init: str = "default",
          zero_grad: bool = True, softmax: bool = False, freeze_lstm: bool = False, epochs: int = EPOCHS,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    model = TextLSTM()
    if init != "default":
        for name, p in model.named_parameters():
            if name == "b":  # upstream's hand-made bias (torch.ones) is left as it is
                continue
            if init == "std1":  # the init_large variant: every LSTM and W weight and LSTM bias normal_(std=1)
                nn.init.normal_(p, std=1.0)
            elif init == "zero":  # the symmetric_init variant
                nn.init.zeros_(p)
            elif init == "std1e-3":  # the init_small variant
                nn.init.normal_(p, std=1e-3)
            else:
                raise ValueError(init)
    if freeze_lstm:  # the no_gradient variant: the LSTM's weights frozen (requires_grad False), only W and b learn
        for p in model.lstm.parameters():
            p.requires_grad_(False)

    criterion = nn.CrossEntropyLoss()
    lr = LR * lr_mult
    optimizer = optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    input_batch, target_batch = make_batch()
    input_batch = torch.FloatTensor(np.array(input_batch)) * input_scale  # input_scale != 1: the unscaled_inputs variant
    target_batch = torch.LongTensor(target_batch)

    losses = []
    # Training
    for epoch in range(epochs):
        if zero_grad:  # the no_zero_grad variant leaves this out
            optimizer.zero_grad()

        output = model(input_batch)
        if softmax:  # the wrong_loss variant: probabilities fed to CrossEntropyLoss
            output = torch.softmax(output, dim=1)
        loss = criterion(output, target_batch)
        if verbose and (epoch + 1) % 100 == 0:
            print('Epoch:', f'{epoch + 1:04d}', 'cost =', f'{loss:.6f}', f"({time.time() - t0:.1f}s)",
                  flush=True)

        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()
        losses.append(loss.item())
    monitor.close()

    with torch.no_grad():
        predict = model(input_batch).data.max(1, keepdim=True)[1]
    train_acc = float((predict.squeeze(1) == target_batch).float().mean())
    predicted = "".join(number_dict[n.item()] for n in predict.squeeze(1))
    value = float(np.mean(losses[-20:]))
    return {"monitors": {"": monitor}, "metric": "loss", "value": value if math.isfinite(value) else float("nan"),
            "chance": math.log(n_class), "initial": float(np.mean(losses[:5])),
            "initial_what": "untrained: mean training loss of the first 5 steps",
            "extra": dict(train_loss=value if math.isfinite(value) else float("nan"),
                          first_loss=float(np.mean(losses[:5])), max_loss=float(np.nanmax(losses)),
                          finite_losses=bool(np.isfinite(losses).all()), steps=len(losses), lr=lr,
                          lr_mult=lr_mult, input_scale=input_scale, init=init, zero_grad=zero_grad,
                          softmax=softmax, freeze_lstm=freeze_lstm, train_accuracy=train_acc,
                          predicted=predicted),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="gklstm", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"TextLSTM (nn.LSTM(n_class 26, n_hidden 128), W Linear no bias + b ones, last step; one-hot letters; "
      f"CrossEntropyLoss; Adam lr {LR:g}; the 10 words as one batch, {EPOCHS} steps)")
CASES: list[dict] = (
    [_case(f"gklstm_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"gklstm_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("gklstm_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 ({LR * 1e-3:g})")]
    + [_case("gklstm_inputs_x100_s1", "unscaled_inputs", 1, {"input_scale": 100.0},
             f"{_P}: the one-hot inputs x100 (features far from unit scale)")]
    + [_case("gklstm_init_std1_s2", "init_large", 2, {"init": "std1"},
             f"{_P}: every LSTM weight and bias and W's weight normal_(std=1) (b kept at ones)")]
    + [_case("gklstm_zero_init_s1", "symmetric_init", 1, {"init": "zero"},
             f"{_P}: every LSTM weight and bias and W's weight zeros_ (b kept at ones)")]
    + [_case("gklstm_init_tiny_s1", "init_small", 1, {"init": "std1e-3"},
             f"{_P}: every LSTM weight and bias and W's weight normal_(std=1e-3) (b kept at ones)")]
    + [_case("gklstm_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("gklstm_softmax_ce_s1", "wrong_loss", 1, {"softmax": True},
             f"{_P}: softmax over the logits before CrossEntropyLoss")]
    + [_case("gklstm_frozen_lstm_s1", "no_gradient", 1, {"freeze_lstm": True},
             f"{_P}: the LSTM's parameters frozen (requires_grad_(False)): only W and b learn")]
    + [_case("gklstm_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: Adam lr x2 ({LR * 2:g})")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = (int(v) if k in ("seed", "epochs") else v if k == "init" else
                 v == "True" if k in ("zero_grad", "softmax", "freeze_lstm") else float(v))
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
