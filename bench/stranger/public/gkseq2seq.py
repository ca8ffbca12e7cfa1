"""graykode/nlp-tutorial's Seq2Seq (4-1.Seq2Seq), watched by gradmedic.

Adapted from https://github.com/graykode/nlp-tutorial (commit d05e31ec81d56d70c1db89b99ab07e948f7ebc11, the newest;
4-1.Seq2Seq/Seq2Seq.py, last changed in 402e3151924fabe78eb64f11d660f036c8f2d5ce; by Tae Hwan Jung; MIT License,
Copyright (c) 2019 TaeHwan Jung, see LICENSE-gkseq2seq).  Character-level "translation" of upstream's six word
pairs (``seq_data = [['man', 'women'], ['black', 'white'], ['king', 'queen'], ['girl', 'boy'], ['up', 'down'],
['high', 'low']]``), padded with 'P' to 5 letters, the decoder fed 'S' + the target (teacher forcing) and trained
to emit the target + 'E'.  gkattn.py ports the attention version (4-2) of the same repository.

Kept as in the original: ``make_batch``, ``make_testbatch``, the ``Seq2Seq`` class (``enc_cell`` and ``dec_cell``
``nn.RNN(input_size=n_class, hidden_size=n_hidden, dropout=0.5)``, one layer each, so the dropout does nothing, as
upstream; ``fc = nn.Linear(n_hidden, n_class)``; the encoder's final state as the decoder's initial state;
PyTorch's default init); ``n_step = 5``, ``n_hidden = 128``, the 29-symbol ``char_arr`` 'SEP' + a-z, the pairs;
``nn.CrossEntropyLoss()`` summed over the six pairs (``loss += criterion(output[i], target_batch[i])``), the
``torch.optim.Adam(model.parameters(), lr=0.001)``; the loop: the six pairs as one batch, a zero ``hidden`` each
epoch, ``zero_grad`` / forward / loss / ``backward`` / ``step``, no clipping, no scheduler; upstream's
``translate`` test (the decoder fed 'S' + 'P' * n_step), kept as the extra ``translated`` instead of printed.

Changed: 1500 epochs (one step each) instead of 5000, so a run takes 6-10 s on the shared machine instead of 30-60
s (the healthy loss is 0.0016 at step 1500, from 19.6; 0.0001 at step 5000); ``torch.manual_seed(seed)`` before
the model is built (upstream seeds nothing); ``make_batch`` pads ``seq_data`` in place, so each ``train()`` call
starts from a fresh copy of the pairs; ``torch.FloatTensor(np.array(...))`` instead of a tensor from a list of
arrays (the same tensor); PyTorch's warning about dropout on a one-layer RNN silenced while the model is built;
``translate`` runs under ``torch.no_grad()`` and flattens the prediction before indexing ``char_arr`` and copes
with a decoded string without 'E' (upstream's ``decoded.index('E')`` would raise for a badly trained run); the
print every 250 epochs (upstream: 1000) only when ``verbose``; the knobs of the variants below (inert by default).
Upstream has no held-out data (its test words are its training words, and ``translate`` feeds the decoder 'P's it
never saw in training), so the metric is "loss": the final training loss (the mean of the last 20 step losses,
each the sum over the six pairs); ``initial`` is the mean of the first 5 (about 6 ln 29 = 20.2 untrained).  The
extra ``teacher_forced_char_accuracy`` is the share of target characters predicted with teacher forcing.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the Adam is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the loop.

``CASES`` (in the shape of run.py's ``case()``, program "gkseq2seq"): the program on seeds 1-3, and one change
each against the same seed's healthy run: Adam lr x10, x100 (seeds 1 and 2), /1000; every encoder and decoder RNN
weight and bias ``normal_(std=1)`` (init_large; ``fc`` kept); the same all ``zeros_`` (symmetric_init);
``optimizer.zero_grad()`` left out; softmax over the logits before ``CrossEntropyLoss`` (wrong_loss); the
encoder's final state detached (``enc_states.detach()``) before the decoder, so no gradient reaches the encoder
(no_gradient); and Adam lr x2 (expected harmless).  No "no clipping" case (upstream does not clip) and no
raw-input case (one-hot letters).  Labels come from run.py's outcome rules only.
Recorded (cases-public53, 13 runs, 6-10 s a run on the shared 2-core machine): healthy final training loss
0.00163, 0.00197, 0.00160 on seeds 1-3 (from 19.6, 19.6, 19.5; largest loss 20.2; every pair translated by
upstream's test on seed 1); lr x10 0.00022: healthy; lr x100 7.58 (seed 1; the loss up to 63.4, every word
decoded as "wome") and 0.251 (seed 2; up to 44.6): broken; /1000 19.75 (no progress): broken; RNN init std 1
0.0132 (8x its control, from 21.1): broken; RNN zero init 0.0043 (2.6x): broken; zero_grad left out 59.1 (the loss
climbs to 60.6): broken; softmax before CrossEntropyLoss 14.88: broken; encoder state detached 0.0067 (4.1x; the
frozen random encoder still tells the six words apart, so the decoder fits them more slowly): broken; lr x2
0.00064: healthy.  Labels: 5 healthy (3 programs, 2 variants), 8 broken, 0 ambiguous.  Every loss finite in every
run.
"""

from __future__ import annotations

import copy
import math
import time

import numpy as np
import torch
import torch.nn as nn

import gradmedic

ARCH = "rnn"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = torch.optim.Adam(model.parameters(), "
              "lr=0.001); monitor.step(loss) right after loss.backward() (the sum over the 6 word pairs of "
              "CrossEntropyLoss over each pair's 6 decoder steps), before optimizer.step()")

EPOCHS = 1500
LR = 0.001

# S: Symbol that shows starting of decoding input
# E: Symbol that shows starting of decoding output
# P: Symbol that will fill in blank sequence if current batch data size is short than time steps

# upstream's __main__ sets these module globals; train() sets them the same way
n_step = 5
n_hidden = 128
char_arr = [c for c in 'SEPabcdefghijklmnopqrstuvwxyz']
num_dic = {n: i for i, n in enumerate(char_arr)}
SEQ_DATA = [['man', 'women'], ['black', 'white'], ['king', 'queen'], ['girl', 'boy'], ['up', 'down'], ['high', 'low']]
seq_data = copy.deepcopy(SEQ_DATA)
n_class = len(num_dic)
batch_size = len(seq_data)


def make_batch():
    input_batch, output_batch, target_batch = [], [], []

    for seq in seq_data:
        for i in range(2):
            seq[i] = seq[i] + 'P' * (n_step - len(seq[i]))

        input = [num_dic[n] for n in seq[0]]
        output = [num_dic[n] for n in ('S' + seq[1])]
        target = [num_dic[n] for n in (seq[1] + 'E')]

        input_batch.append(np.eye(n_class)[input])
        output_batch.append(np.eye(n_class)[output])
        target_batch.append(target)  # not one-hot

    # make tensor
    return (torch.FloatTensor(np.array(input_batch)), torch.FloatTensor(np.array(output_batch)),
            torch.LongTensor(target_batch))


# make test batch
def make_testbatch(input_word):
    input_batch, output_batch = [], []

    input_w = input_word + 'P' * (n_step - len(input_word))
    input = [num_dic[n] for n in input_w]
    output = [num_dic[n] for n in 'S' + 'P' * n_step]

    input_batch = np.eye(n_class)[input]
    output_batch = np.eye(n_class)[output]

    return torch.FloatTensor(input_batch).unsqueeze(0), torch.FloatTensor(output_batch).unsqueeze(0)


# Model
class Seq2Seq(nn.Module):
    detach_enc = False  # the no_gradient variant: the encoder's final state detached before the decoder

    def __init__(self):
        super().__init__()

        self.enc_cell = nn.RNN(input_size=n_class, hidden_size=n_hidden, dropout=0.5)
        self.dec_cell = nn.RNN(input_size=n_class, hidden_size=n_hidden, dropout=0.5)
        self.fc = nn.Linear(n_hidden, n_class)

    def forward(self, enc_input, enc_hidden, dec_input):
        enc_input = enc_input.transpose(0, 1)  # enc_input: [max_len(=n_step, time step), batch_size, n_class]
        dec_input = dec_input.transpose(0, 1)  # dec_input: [max_len(=n_step, time step), batch_size, n_class]

        # enc_states : [num_layers(=1) * num_directions(=1), batch_size, n_hidden]
        _, enc_states = self.enc_cell(enc_input, enc_hidden)
        if self.detach_enc:
            enc_states = enc_states.detach()
        # outputs : [max_len+1(=6), batch_size, num_directions(=1) * n_hidden(=128)]
        outputs, _ = self.dec_cell(dec_input, enc_states)

        model = self.fc(outputs)  # model : [max_len+1(=6), batch_size, n_class]
        return model


def train(seed: int = 1, lr_mult: float = 1.0, init: str = "default", zero_grad: bool = True,
          softmax: bool = False, detach_enc: bool = False, epochs: int = EPOCHS, every: int = 10,
          verbose: bool = False) -> dict:
    global seq_data
    import warnings

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    seq_data = copy.deepcopy(SEQ_DATA)  # make_batch pads seq_data in place; a fresh copy per run
    with warnings.catch_warnings():  # nn.RNN(dropout=0.5) with one layer: PyTorch warns that the dropout does nothing
        warnings.simplefilter("ignore", UserWarning)
        model = Seq2Seq()
    model.detach_enc = detach_enc
    if init != "default":
        for p in list(model.enc_cell.parameters()) + list(model.dec_cell.parameters()):
            if init == "std1":  # the init_large variant: every RNN weight and bias normal_(std=1)
                nn.init.normal_(p, std=1.0)
            elif init == "zero":  # the symmetric_init variant
                nn.init.zeros_(p)
            else:
                raise ValueError(init)

    criterion = nn.CrossEntropyLoss()
    lr = LR * lr_mult
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    input_batch, output_batch, target_batch = make_batch()

    losses = []
    for epoch in range(epochs):
        # make hidden shape [num_layers * num_directions, batch_size, n_hidden]
        hidden = torch.zeros(1, batch_size, n_hidden)

        if zero_grad:  # the no_zero_grad variant leaves this out
            optimizer.zero_grad()
        # input_batch : [batch_size, max_len(=n_step, time step), n_class]
        # output_batch : [batch_size, max_len+1(=n_step, time step) (becase of 'S' or 'E'), n_class]
        # target_batch : [batch_size, max_len+1(=n_step, time step)], not one-hot
        output = model(input_batch, hidden, output_batch)
        # output : [max_len+1, batch_size, n_class]
        output = output.transpose(0, 1)  # [batch_size, max_len+1(=6), n_class]
        if softmax:  # the wrong_loss variant: probabilities fed to CrossEntropyLoss
            output = torch.softmax(output, dim=2)
        loss = 0
        for i in range(0, len(target_batch)):
            # output[i] : [max_len+1, n_class, target_batch[i] : max_len+1]
            loss += criterion(output[i], target_batch[i])
        if verbose and (epoch + 1) % 250 == 0:
            print('Epoch:', f'{epoch + 1:04d}', 'cost =', f'{loss:.6f}', f"({time.time() - t0:.1f}s)", flush=True)
        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()
        losses.append(loss.item())
    monitor.close()

    # Test (upstream's translate: the decoder fed 'S' + 'P' * n_step)
    def translate(word):
        input_batch, output_batch = make_testbatch(word)

        # make hidden shape [num_layers * num_directions, batch_size, n_hidden]
        hidden = torch.zeros(1, 1, n_hidden)
        with torch.no_grad():
            output = model(input_batch, hidden, output_batch)
        # output : [max_len+1(=6), batch_size(=1), n_class]

        predict = output.data.max(2, keepdim=True)[1]  # select n_class dimension
        decoded = [char_arr[i] for i in predict.flatten()]
        end = decoded.index('E') if 'E' in decoded else len(decoded)
        translated = ''.join(decoded[:end])

        return translated.replace('P', '')

    with torch.no_grad():  # teacher-forced: every target character predicted, as in training
        out = model(input_batch, torch.zeros(1, batch_size, n_hidden), output_batch)
        char_acc = float((out.transpose(0, 1).argmax(2) == target_batch).float().mean())
    translated = {w: translate(w) for w in ("man", "mans", "king", "black", "upp")}
    value = float(np.mean(losses[-20:]))
    return {"monitors": {"": monitor}, "metric": "loss", "value": value if math.isfinite(value) else float("nan"),
            "chance": len(SEQ_DATA) * math.log(n_class), "initial": float(np.mean(losses[:5])),
            "initial_what": "untrained: mean training loss (sum over the 6 pairs) of the first 5 steps",
            "extra": dict(train_loss=value if math.isfinite(value) else float("nan"),
                          first_loss=float(np.mean(losses[:5])), max_loss=float(np.nanmax(losses)),
                          finite_losses=bool(np.isfinite(losses).all()), steps=len(losses), lr=lr,
                          lr_mult=lr_mult, init=init, zero_grad=zero_grad, softmax=softmax, detach_enc=detach_enc,
                          teacher_forced_char_accuracy=char_acc,
                          translated=" ".join(f"{k}->{v}" for k, v in translated.items())),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="gkseq2seq", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = (f"Seq2Seq (encoder and decoder nn.RNN(n_class 29, n_hidden 128, dropout 0.5), fc Linear; one-hot letters; "
      f"CrossEntropyLoss summed over the 6 word pairs; Adam lr {LR:g}; the 6 pairs as one batch, {EPOCHS} steps)")
CASES: list[dict] = (
    [_case(f"gkseq2seq_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"gkseq2seq_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("gkseq2seq_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 ({LR * 1e-3:g})")]
    + [_case("gkseq2seq_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_P}: every encoder and decoder RNN weight and bias normal_(std=1)")]
    + [_case("gkseq2seq_zero_init_s1", "symmetric_init", 1, {"init": "zero"},
             f"{_P}: every encoder and decoder RNN weight and bias zeros_")]
    + [_case("gkseq2seq_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("gkseq2seq_softmax_ce_s1", "wrong_loss", 1, {"softmax": True},
             f"{_P}: softmax over the logits before CrossEntropyLoss")]
    + [_case("gkseq2seq_detach_enc_s1", "no_gradient", 1, {"detach_enc": True},
             f"{_P}: the encoder's final state detached (enc_states.detach()) before the decoder: "
             f"no gradient reaches the encoder")]
    + [_case("gkseq2seq_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: Adam lr x2 ({LR * 2:g})")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
