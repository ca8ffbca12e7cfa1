"""graykode/nlp-tutorial's skip-gram Word2Vec with a full softmax (1-2.Word2Vec), watched by gradmedic.

Adapted from https://github.com/graykode/nlp-tutorial (commit d05e31ec81d56d70c1db89b99ab07e948f7ebc11, the newest;
1-2.Word2Vec/Word2Vec-Skipgram(Softmax).py, last changed in 5c4ed7f3cdec9f34baef489f967b91ebd885cc82; code by Tae
Hwan Jung; MIT License, Copyright (c) 2019 TaeHwan Jung, see LICENSE-gkw2v).  gknlp.py, gkxf.py and the other gk*
modules port other parts of the same repository.

Kept as in the original: the six inline sentences ("apple banana fruit", ... "monkey dog animal"), the skip-grams of
a one-word window over the joined word sequence (32 (target, context) pairs, 8 words), ``random_batch`` (2 pairs
drawn without replacement by ``np.random.choice``, the target as a one-hot row of ``np.eye(voc_size)``),
``Word2Vec`` (``W = nn.Linear(voc_size, embedding_size, bias=False)``, ``WT = nn.Linear(embedding_size, voc_size,
bias=False)``, forward ``WT(W(X))``), embedding_size 2, batch_size 2, PyTorch's default init (upstream sets none),
``nn.CrossEntropyLoss()`` over the vocabulary, ``optim.Adam(model.parameters(), lr=0.001)``, and the loop
(``zero_grad`` / forward / loss / ``backward`` / ``step``, one random batch a step) for the full 5000 steps: a run
is 4-10 s here, so nothing had to be cut.

Changed: ``word_list = sorted(set(...))`` instead of ``list(set(...))`` (a set of strings is ordered by the
per-process hash seed, so upstream's word ids differ from run to run; sorted they are fixed); ``np.random.seed(seed)``
and ``torch.manual_seed(seed)`` before the model is built (upstream seeds nothing); the module globals upstream's
``__main__`` sets are set at import; the matplotlib scatter plot of the embeddings left out; the print every 1000
steps only when ``verbose``; ``super().__init__()`` for the linter; the knobs of the variants below, inert by
default.  Upstream has no held-out data, so the metric is "loss": the cross-entropy of the trained model over all
32 skip-gram pairs after the 5000th step (one more forward pass, no update; a batch-2 loss is too noisy to be the
outcome).  The pairs have several contexts per target (a one-word window), so this loss cannot reach 0: its floor
is the conditional entropy of the pairs, 0.986 nats.  ``initial`` is the mean of the first 5 step losses;
``train_loss`` in ``extra`` the mean of the last 100 step losses.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the Adam is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the loop.

``CASES`` (in the shape of run.py's ``case()``, program "gkw2v"): the program on seeds 1-3, and one change each
against the same seed's healthy run: Adam lr x10 (seed 1), x100 (seeds 2 and 3), x1000 (seed 1), /1000 (seed 1); W
and WT ``normal_(std=1)`` and ``normal_(std=10)`` (init_large; std 1 is what the brief asked, std 10 added because
std 1 was ambiguous on seeds 1-3 in trial runs: 1.371, 1.494, 1.607 against 1.239, 1.318, 1.313);
``optimizer.zero_grad()`` left out (seed 1); Adam lr x2 (seed 1, expected harmless).  Tried and left out: lr x100 on
seed 1 (1.283, but its largest step loss 5.79 is over twice its control's 2.50: ambiguous; recorded on seeds 2 and
3 instead), zero_grad left out on seeds 2 and 3 (1.577 vs 1.318, 1.525 vs 1.313: ambiguous).  No unscaled-input case
(the inputs are one-hot rows), no clipping case (upstream does not clip).  Labels come from run.py's outcome rules
only.
Recorded (cases-public70, 150 s for the 12 runs, 11-19 s a run with another recording beside it on the 2 cores;
4-7 s alone): healthy final loss over the 32 pairs 1.239, 1.318, 1.313 on seeds 1-3 (start 2.087, 2.042, 2.100 as
means of the first 5 steps; floor 0.986; largest step loss 2.50, 2.78, 2.92): healthy; lr x10 1.193: healthy; lr
x100 1.330 (s2) and 1.285 (s3), largest step losses 4.82 and 4.52: healthy; lr x1000 5.880 (largest step loss 183):
broken; lr /1000 2.089 (no progress from 2.087): broken; init std 1 1.371 (largest 5.01): ambiguous; init std 10
89.2 (start 109, largest 602): broken; zero_grad left out 1.746 (largest 6.05): broken; lr x2 1.200: healthy.
Labels: 7 healthy (3 programs, 4 variants), 4 broken, 1 ambiguous.  Every loss finite in every run.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

import gradmedic

ARCH = "linear"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = optim.Adam(model.parameters(), lr=0.001); "
              "monitor.step(loss) right after loss.backward() (CrossEntropyLoss over the vocabulary for a batch of 2 "
              "skip-gram pairs), before optimizer.step()")

EPOCHS = 5000
LR = 0.001

# (upstream's __main__ sets these module globals; they are set here at import, with the same values)
batch_size = 2  # mini-batch size
embedding_size = 2  # embedding size

sentences = ["apple banana fruit", "banana orange fruit", "orange banana fruit",
             "dog cat animal", "cat monkey animal", "monkey dog animal"]

word_sequence = " ".join(sentences).split()
word_list = " ".join(sentences).split()
word_list = sorted(set(word_list))  # upstream: list(set(word_list)), ordered by the process's hash seed
word_dict = {w: i for i, w in enumerate(word_list)}
voc_size = len(word_list)

# Make skip gram of one size window
skip_grams = []
for i in range(1, len(word_sequence) - 1):
    target = word_dict[word_sequence[i]]
    context = [word_dict[word_sequence[i - 1]], word_dict[word_sequence[i + 1]]]
    for w in context:
        skip_grams.append([target, w])


def random_batch():
    random_inputs = []
    random_labels = []
    random_index = np.random.choice(range(len(skip_grams)), batch_size, replace=False)

    for i in random_index:
        random_inputs.append(np.eye(voc_size)[skip_grams[i][0]])  # target
        random_labels.append(skip_grams[i][1])  # context word

    return random_inputs, random_labels


# Model
class Word2Vec(nn.Module):
    def __init__(self):
        super().__init__()
        # W and WT is not Traspose relationship
        self.W = nn.Linear(voc_size, embedding_size, bias=False)  # voc_size > embedding_size Weight
        self.WT = nn.Linear(embedding_size, voc_size, bias=False)  # embedding_size > voc_size Weight

    def forward(self, X):
        # X : [batch_size, voc_size]
        hidden_layer = self.W(X)  # hidden_layer : [batch_size, embedding_size]
        output_layer = self.WT(hidden_layer)  # output_layer : [batch_size, voc_size]
        return output_layer


def pair_entropy() -> float:
    """The lowest cross-entropy any model can reach on the skip-gram pairs: H(context | target)."""
    from collections import Counter
    joint, marg = Counter(map(tuple, skip_grams)), Counter(t for t, _ in skip_grams)
    n = len(skip_grams)
    return -sum(c / n * math.log(c / marg[t]) for (t, _), c in joint.items())


def train(seed: int = 1, lr_mult: float = 1.0, init: str = "default", zero_grad: bool = True,
          epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    np.random.seed(seed)
    t0 = time.time()
    model = Word2Vec()
    if init in ("std1", "std10"):  # the init_large variants: W and WT normal_(std=1) or normal_(std=10)
        for p in model.parameters():
            nn.init.normal_(p, std=float(init[3:]))
    elif init != "default":
        raise ValueError(init)

    criterion = nn.CrossEntropyLoss()
    lr = LR * lr_mult
    optimizer = optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    # Training
    losses = []
    for epoch in range(epochs):
        input_batch, target_batch = random_batch()
        input_batch = torch.Tensor(np.array(input_batch))
        target_batch = torch.LongTensor(target_batch)

        if zero_grad:  # the no_zero_grad variant leaves this out
            optimizer.zero_grad()
        output = model(input_batch)

        # output : [batch_size, voc_size], target_batch : [batch_size] (LongTensor, not one-hot)
        loss = criterion(output, target_batch)
        if verbose and (epoch + 1) % 1000 == 0:
            print('Epoch:', f'{epoch + 1:04d}', 'cost =', f'{loss:.6f}', f"({time.time() - t0:.1f}s)",
                  flush=True)

        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()
        losses.append(loss.item())
    monitor.close()

    # the trained model's loss over every skip-gram pair (no update)
    with torch.no_grad():
        x_all = torch.Tensor(np.eye(voc_size)[[t for t, _ in skip_grams]])
        y_all = torch.LongTensor([c for _, c in skip_grams])
        out_all = model(x_all)
        final_loss = float(criterion(out_all, y_all))
        top1 = float((out_all.argmax(1) == y_all).float().mean())
    value = final_loss if math.isfinite(final_loss) else float("nan")
    train_loss = float(np.mean(losses[-100:]))
    return {"monitors": {"": monitor}, "metric": "loss", "value": value,
            "chance": math.log(voc_size), "initial": float(np.mean(losses[:5])),
            "initial_what": "untrained: mean training loss of the first 5 steps",
            "extra": dict(final_loss=value, train_loss=train_loss if math.isfinite(train_loss) else float("nan"),
                          first_loss=float(np.mean(losses[:5])), max_loss=float(np.nanmax(losses)),
                          finite_losses=bool(np.isfinite(losses).all()), steps=len(losses), lr=lr,
                          lr_mult=lr_mult, init=init, zero_grad=zero_grad, pairs=len(skip_grams), voc_size=voc_size,
                          floor_loss=pair_entropy(), pair_top1_accuracy=top1),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="gkw2v", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"skip-gram Word2Vec (Linear {voc_size}-{embedding_size}-{voc_size}, no bias, default init; CrossEntropyLoss "
      f"over the vocabulary; Adam lr {LR:g}; batch {batch_size} of {len(skip_grams)} pairs, {EPOCHS} steps)")
CASES: list[dict] = (
    [_case(f"gkw2v_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case("gkw2v_lr_x10_s1", "lr_high", 1, {"lr_mult": 10}, f"{_P}: Adam lr x10 ({LR * 10:g})")]
    + [_case(f"gkw2v_lr_x100_s{s}", "lr_high", s, {"lr_mult": 100}, f"{_P}: Adam lr x100 ({LR * 100:g})")
       for s in (2, 3)]
    + [_case("gkw2v_lr_x1000_s1", "lr_high", 1, {"lr_mult": 1000}, f"{_P}: Adam lr x1000 ({LR * 1000:g})")]
    + [_case("gkw2v_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 ({LR * 1e-3:g})")]
    + [_case("gkw2v_init_std1_s1", "init_large", 1, {"init": "std1"}, f"{_P}: W and WT weights normal_(std=1)")]
    + [_case("gkw2v_init_std10_s1", "init_large", 1, {"init": "std10"}, f"{_P}: W and WT weights normal_(std=10)")]
    + [_case(f"gkw2v_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)") for s in (1,)]
    + [_case("gkw2v_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: Adam lr x2 ({LR * 2:g})")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = (int(v) if k in ("seed", "epochs") else v if k == "init" else
                 v == "True" if k == "zero_grad" else float(v))
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
