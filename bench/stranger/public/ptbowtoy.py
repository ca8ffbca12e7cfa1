"""The bag-of-words logistic-regression classifier of the PyTorch tutorials' "Deep Learning with PyTorch" (Robert
Guthrie's NLP tutorial), on the tutorial's own four Spanish/English sentences, watched by gradmedic.

Adapted from https://github.com/pytorch/tutorials (BSD 3-Clause License, Copyright (c) 2017-2022 Pytorch
contributors, see LICENSE-ptbowtoy), beginner_source/nlp/deep_learning_tutorial.py at commit
016d0cc077f60c82b8497d4c7f92051ce40cafee.  (ptpos.py ports the same program on a synthetic corpus under the case
prefix "ptbow"; this port is named "ptbowtoy" so that its case names do not collide with those.  btnbow.py is
bentrevett's, a different program.)

Kept as in the tutorial: ``data`` and ``test_data`` (quoted), ``word_to_ix`` over both in first-seen order
(26 words), ``BoWClassifier`` (``nn.Linear(vocab_size, num_labels)``, ``F.log_softmax(..., dim=1)``, PyTorch's
default init), ``make_bow_vector`` (raw counts), ``make_target``, ``label_to_ix = {"SPANISH": 0, "ENGLISH": 1}``,
``nn.NLLLoss()``, ``optim.SGD(model.parameters(), lr=0.1)``, 100 epochs over the 4 sentences one at a time in a fixed
order (400 steps), and the loop: ``model.zero_grad()``, bow vector and target, ``log_probs = model(bow_vec)``,
``loss = loss_function(log_probs, target)``, ``loss.backward()``, ``optimizer.step()``.

Changed: ``autograd.Variable`` wrappers dropped (plain tensors); ``torch.manual_seed(seed)`` instead of
``torch.manual_seed(1)``; the prints (vocabulary, parameters, test log-probabilities, the "creo" column) are left out
or kept as extras; the script's module-level training is the function ``train`` with the variants' switches as its
keywords (``BoWClassifier`` takes a ``log_softmax`` flag for the wrong_loss variant).  Metric: "loss", the mean NLL
of ``log_softmax(model.linear(bow))`` over the 4 training sentences after training (the two test sentences are too
few to mean much: every run but lr /1000 gets both right); for the variant without log_softmax the same true NLL is
measured, not the -score it trained on.  "initial" is the mean of the first 5 steps' true NLL (the step loss itself
except in that variant).

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the SGD is built,
``monitor.step(loss)`` right after ``loss.backward()`` of each sentence, before ``optimizer.step()``;
``monitor.close()`` after the loop.

``CASES`` (program "ptbowtoy"): the program on seeds 1-3, and one change each against the same seed's healthy run:
lr x10, x100 (seeds 1 and 2), /1000; ``F.log_softmax`` removed (NLLLoss over the raw scores: wrong_loss); the
Linear's weight and bias zero (symmetric_init, a single linear layer, so healthy by outcome if it trains);
``model.zero_grad()`` left out; lr x2 (expected harmless).

Recorded (cases-public60, under 0.3 s a run): healthy final NLL 0.0092, 0.0091, 0.0092 on seeds 1-3 (start 0.88,
0.44, 1.03; largest step loss 1.22, 0.64, 1.59; test sentences both right); lr x10 (1.0): 0.0003, largest loss 2.76:
ambiguous (lower than its control, but the loss went past twice the control's largest on the way); lr x100 (10),
seeds 1 and 2: 0 and 1.4e-5, first losses 12.9 and 10.2, largest 31.9 and 25.5: ambiguous (the four sentences are
linearly separable: big steps only separate them faster); lr /1000: 0.854 from 0.884: broken; log_softmax removed:
the trained "loss" (minus the right label's score) runs down to -158, the true NLL ends at 0 (the scores are pushed
apart without bound, which on separable data is what the NLL wants too): healthy; zero init: 0.0092: healthy;
zero_grad left out: 0 (the accumulated gradients act like momentum on separable data), largest loss 1.09: healthy;
lr x2: 0.0045: healthy.  Labels: 7 healthy (3 programs, 4 variants), 1 broken, 3 ambiguous.  Every loss finite.
"""

# upstream's code is kept as written (super(Class, self), the unused loop variable epoch)
# ruff: noqa: UP008, B007

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

import gradmedic

ARCH = "linear"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = optim.SGD(model.parameters(), lr=0.1); "
              "monitor.step(loss) right after loss.backward() of each sentence (NLLLoss), before optimizer.step()")
LR = 0.1
EPOCHS = 100

data = [("me gusta comer en la cafeteria".split(), "SPANISH"),
        ("Give it to me".split(), "ENGLISH"),
        ("No creo que sea una buena idea".split(), "SPANISH"),
        ("No it is not a good idea to get lost at sea".split(), "ENGLISH")]

test_data = [("Yo creo que si".split(), "SPANISH"),
             ("it is lost on me".split(), "ENGLISH")]

# word_to_ix maps each word in the vocab to a unique integer, which will be its
# index into the Bag of words vector
word_to_ix = {}
for sent, _ in data + test_data:
    for word in sent:
        if word not in word_to_ix:
            word_to_ix[word] = len(word_to_ix)

VOCAB_SIZE = len(word_to_ix)
NUM_LABELS = 2


class BoWClassifier(nn.Module):  # inheriting from nn.Module!

    def __init__(self, num_labels, vocab_size, log_softmax=True):
        super(BoWClassifier, self).__init__()
        self.linear = nn.Linear(vocab_size, num_labels)
        self.log_softmax = log_softmax  # port: the wrong_loss variant returns the raw scores

    def forward(self, bow_vec):
        if not self.log_softmax:
            return self.linear(bow_vec)
        return F.log_softmax(self.linear(bow_vec), dim=1)


def make_bow_vector(sentence, word_to_ix):
    vec = torch.zeros(len(word_to_ix))
    for word in sentence:
        vec[word_to_ix[word]] += 1
    return vec.view(1, -1)


def make_target(label, label_to_ix):
    return torch.LongTensor([label_to_ix[label]])


label_to_ix = {"SPANISH": 0, "ENGLISH": 1}


def nll(model, sents):
    """The mean NLL of log_softmax(model.linear(bow)) over sentences (the loss the tutorial means, for every variant)."""
    with torch.no_grad():
        return float(np.mean([float(F.nll_loss(F.log_softmax(model.linear(make_bow_vector(s, word_to_ix)), dim=1),
                                               make_target(lab, label_to_ix))) for s, lab in sents]))


def train(seed: int = 1, lr_mult: float = 1.0, log_softmax: bool = True, init: str = "default",
          zero_grad: bool = True, epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    model = BoWClassifier(NUM_LABELS, VOCAB_SIZE, log_softmax)
    if init == "zero":  # the symmetric_init variant
        nn.init.zeros_(model.linear.weight)
        nn.init.zeros_(model.linear.bias)
    elif init != "default":
        raise ValueError(init)
    lr = LR * lr_mult
    loss_function = nn.NLLLoss()
    optimizer = optim.SGD(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)
    losses, nlls = [], []
    for epoch in range(epochs):
        for instance, label in data:
            # Step 1. Remember that Pytorch accumulates gradients.
            if zero_grad:  # the no_zero_grad variant leaves this out
                model.zero_grad()
            bow_vec = make_bow_vector(instance, word_to_ix)
            target = make_target(label, label_to_ix)
            log_probs = model(bow_vec)
            loss = loss_function(log_probs, target)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(float(loss.detach()))
            with torch.no_grad():  # the true NLL of this step (the same number as loss unless log_softmax is removed)
                nlls.append(float(F.nll_loss(F.log_softmax(model.linear(bow_vec), dim=1), target))
                            if not log_softmax else losses[-1])
    monitor.close()
    value = nll(model, data)
    with torch.no_grad():
        test_acc = float(np.mean([int(model.linear(make_bow_vector(s, word_to_ix)).argmax(1)) == label_to_ix[lab]
                                  for s, lab in test_data]))
        creo = [float(v) for v in next(model.parameters())[:, word_to_ix["creo"]]]
    if verbose:
        print(f"train NLL {value:.4f} (first steps {np.mean(nlls[:5]):.4f}), test acc {test_acc}, creo {creo}")
    return {"monitors": {"": monitor}, "metric": "loss", "value": value, "chance": float(np.log(2)),
            "initial": float(np.mean(nlls[:5])), "initial_what": "untrained: mean NLL of the first 5 steps",
            "extra": dict(lr=lr, train_loss=value, first_loss=float(np.mean(losses[:5])),
                          max_loss=float(np.nanmax(losses)), min_loss=float(np.nanmin(losses)),
                          finite_losses=bool(np.isfinite(losses).all()), steps=len(losses),
                          last_epoch_loss=float(np.mean(losses[-4:])), test_acc=test_acc, test_sentences=len(test_data),
                          creo_spanish=creo[0], creo_english=creo[1], lr_mult=lr_mult, log_softmax=log_softmax,
                          init=init, zero_grad=zero_grad, epochs=epochs),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="ptbowtoy", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = (f"BoWClassifier (nn.Linear({VOCAB_SIZE}, 2), log_softmax, default init), NLLLoss, optim.SGD lr {LR:g}, the "
      f"tutorial's 4 training sentences one at a time, {EPOCHS} epochs")
CASES: list[dict] = (
    [_case(f"ptbowtoy_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"ptbowtoy_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("ptbowtoy_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case("ptbowtoy_no_logsoftmax_s1", "wrong_loss", 1, {"log_softmax": False},
             f"{_P}: F.log_softmax removed from forward (NLLLoss over the raw scores)")]
    + [_case("ptbowtoy_zero_init_s1", "symmetric_init", 1, {"init": "zero"},
             f"{_P}: the Linear's weight and bias zeros_")]
    + [_case("ptbowtoy_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: model.zero_grad() left out (the gradients accumulate)")]
    + [_case("ptbowtoy_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: lr x2 ({LR * 2:g})")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
