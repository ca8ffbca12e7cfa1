"""Neural Networks: Zero to Hero, makemore part 2 (the character-level MLP of Bengio et al. 2003), watched by gradmedic.

Adapted from https://github.com/karpathy/nn-zero-to-hero (commit 73c3fcc741f0ec104ca850b1fb0df90e7e8d4cde; the
notebook lectures/makemore/makemore_part2_mlp.ipynb as last changed in c6a5a3eeaa2688a1b56f019cafe38ba845ad16a3;
MIT License, Copyright (c) 2022 Andrej Karpathy, see LICENSE-zthmlp).  The notebook has no names.txt of its own: it
reads the names.txt of https://github.com/karpathy/makemore (commit 988aa59e4d8fefa526d06f3b453ad116258398d4, MIT,
the file data/names.txt that makemore.py here uses); zthmlp_names.txt next to this module is its first 8000 names.
The program is the notebook's "now made respectable" part: the data cells (the vocabulary with '.' as 0,
``build_dataset`` with block_size 3, ``random.seed(42)``, ``random.shuffle(words)``, the 80/10/10 split into train,
dev and test), the parameter cell (``g = torch.Generator().manual_seed(2147483647)``, ``C = torch.randn((27, 10))``,
``W1 = torch.randn((30, 200))``, ``b1 = torch.randn(200)``, ``W2 = torch.randn((200, 27))``, ``b2 = torch.randn(27)``,
all drawn from ``g``, no scaling), the training cell (a minibatch of 32 drawn with ``torch.randint`` from the global
generator, ``emb = C[Xtr[ix]]``, ``h = torch.tanh(emb.view(-1, 30) @ W1 + b1)``, ``logits = h @ W2 + b2``,
``F.cross_entropy``, ``p.grad = None`` for every parameter, ``loss.backward()``, the update BY HAND
``p.data += -lr * p.grad`` with ``lr = 0.1 if i < 100000 else 0.01``) and the dev-loss cell (``F.cross_entropy`` of
the whole dev split).

Kept as in the notebook: the data pipeline and split, the five parameters and their plain ``torch.randn`` init (the
first losses are ~20-30: the lecture's part 3 is about fixing that), the inline forward pass, the loss, batch 32,
no optimizer (the hand-written update), the step decay of the rate at half the steps, no clipping.

Changed:
- names.txt: its first 8000 names (of 32033) are shipped as zthmlp_names.txt, read as the notebook reads
  names.txt; with the notebook's shuffle and 80/10/10 split that is 45569 training, 5694 dev examples.
- The parameters are held by a small ``nn.Module`` (``Params``: ``C``, ``W1``, ``b1``, ``W2``, ``b2`` as
  ``nn.Parameter``, the same tensors the notebook draws; ``parameters = [C, W1, b1, W2, b2]`` as upstream lists
  them), so that ``gradmedic.watch`` finds them; the module has no forward: the notebook's forward pass runs inline
  on ``P.C``, ``P.W1``... as upstream writes it (``requires_grad = True`` comes with ``nn.Parameter``).
- Steps: 12000 (upstream 200000), the decay to 0.01 kept at half of them (step 6000; upstream 100000), so a run
  takes ~10-15 s on one CPU thread.  The learning-rate search (``lre``/``lrs``/``lri``), the plots, the
  embedding scatter and the sampling are left out; ``lossi`` keeps the plain loss, not its log10.
- Seeds: ``g`` is seeded with 2147483647 + seed (upstream 2147483647, as zerotohero.py here) and the global
  generator (the minibatches; upstream unseeded) with ``torch.manual_seed(seed)``; the words' shuffle keeps
  ``random.seed(42)`` (the split does not depend on the run's seed).

The watch, as a user would: ``monitor = gradmedic.watch(P, every=10)`` WITHOUT an optimizer (there is none: the
loop updates ``p.data`` by hand) right after the parameters are made, ``monitor.step(loss)`` right after
``loss.backward()``, before the manual update; ``monitor.close()`` after the loop.  The metric ("loss") is the
notebook's dev loss: the cross-entropy on the whole dev split after training, against ``initial``, the mean of the
first 5 training batches' losses; ``chance`` is ln 27 (the uniform prediction).

``CASES`` (in the shape of run.py's ``case()``, program "zthmlp"): the program on seeds 1-3, and one change each
against the same seed's healthy run: lr x10, x100 (seeds 1 and 2), /1000 (both rates of the schedule scaled); the
lecture's scaled-down init of part 3 (``W1 * (5/3) / 30**0.5``, ``b1 * 0.01``, ``W2 * 0.01``, ``b2 * 0``; cause
"healthy": the notebook's large init kept vs the fix); ``W1 = torch.randn((30, 200)) * 5`` ("init_large"); ``W1``
and ``b1`` all zeros ("symmetric_init"); the ``p.grad = None`` loop left out (the gradients accumulate); lr x2
(0.2 then 0.02, expected harmless).  Labels come from run.py's outcome rules only.
Recorded (cases-public56, 12 cases in 340 s on a shared 2-core machine at load ~6, run alongside mzae's
recording: 25-34 s a run under that load, 10.5 s for the last one, which ran alone): healthy dev loss 2.245, 2.168,
2.175 on seeds 1-3 (from first losses of 23.2, 25.3, 23.2; train split 2.09-2.15; every loss finite): healthy;
lr x10 (1.0): 2.196 (largest loss 29.3): healthy; lr x100 (10.0), seeds 1 and 2: 10.75 and 11.77 (losses up to
255, finite): broken; lr /1000: 18.66 (from 26.4: barely moved): broken; part 3's scaled-down init: 2.014 from a
start of 3.18 (better than the notebook's init): healthy; W1 x5: 2.399 (from 26.8; within 1.1x of its control):
healthy (the change did no clear harm here); W1 and b1 zeros: 2.139 (W2's distinct columns give each hidden unit
a different gradient, so the zeros do not stay symmetric): healthy; p.grad = None left out: the loss climbs to
3625 and the dev loss ends at 1949: broken; lr x2: 2.137: healthy.  Labels: 8 healthy (3 programs, 5 variants),
4 broken, 0 ambiguous.
"""

from __future__ import annotations

import math
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(P, every=10) without an optimizer (the loop updates p.data by hand; P is a small nn.Module "
              "holding C, W1, b1, W2, b2 as nn.Parameter, the forward pass runs inline); monitor.step(loss) right "
              "after loss.backward() (F.cross_entropy on the logits), before the update p.data += -lr * p.grad "
              "(no clipping)")

NAMES = Path(__file__).resolve().parent / "zthmlp_names.txt"  # the first 8000 names of makemore's names.txt
STEPS = 12000  # upstream 200000
DECAY_AT = 6000  # upstream: lr = 0.1 if i < 100000 else 0.01


def datasets(block_size: int = 3):
    # read in all the words
    words = open(NAMES).read().splitlines()
    # build the vocabulary of characters and mappings to/from integers
    chars = sorted(list(set(''.join(words))))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi['.'] = 0

    def build_dataset(words):
        X, Y = [], []
        for w in words:
            context = [0] * block_size
            for ch in w + '.':
                ix = stoi[ch]
                X.append(context)
                Y.append(ix)
                context = context[1:] + [ix]  # crop and append
        X = torch.tensor(X)
        Y = torch.tensor(Y)
        return X, Y

    random.seed(42)
    random.shuffle(words)
    n1 = int(0.8 * len(words))
    n2 = int(0.9 * len(words))

    Xtr, Ytr = build_dataset(words[:n1])
    Xdev, Ydev = build_dataset(words[n1:n2])
    Xte, Yte = build_dataset(words[n2:])
    return (Xtr, Ytr), (Xdev, Ydev), (Xte, Yte)


class Params(nn.Module):
    """Holds the notebook's five tensors as nn.Parameter so that gradmedic.watch finds them (no forward)."""

    def __init__(self, C, W1, b1, W2, b2):
        super().__init__()
        self.C, self.W1, self.b1 = nn.Parameter(C), nn.Parameter(W1), nn.Parameter(b1)
        self.W2, self.b2 = nn.Parameter(W2), nn.Parameter(b2)


def split_loss(P, X, Y):
    with torch.no_grad():
        emb = P.C[X]
        h = torch.tanh(emb.view(-1, 30) @ P.W1 + P.b1)
        logits = h @ P.W2 + P.b2
        return F.cross_entropy(logits, Y).item()


def train(seed: int = 1, lr_mult: float = 1.0, init: str = "randn", zero_grad: bool = True, max_steps: int = STEPS,
          decay_at: int = DECAY_AT, every: int = 10, verbose: bool = False) -> dict:
    """The notebook's MLP with one change per keyword: ``lr_mult`` scales both rates of the schedule (0.1, 0.01);
    ``init``: "randn" (the notebook's), "scaled" (part 3's fix: W1 * (5/3)/30**0.5, b1 * 0.01, W2 * 0.01, b2 * 0),
    "w1x5" (W1 = randn * 5), "zero_w1" (W1 and b1 zeros); ``zero_grad=False`` leaves out ``p.grad = None``."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)  # the minibatches (upstream: unseeded global generator)
    t_start = time.time()
    (Xtr, Ytr), (Xdev, Ydev), (Xte, Yte) = datasets()

    g = torch.Generator().manual_seed(2147483647 + seed)  # for reproducibility (upstream: 2147483647)
    C = torch.randn((27, 10), generator=g)
    W1 = torch.randn((30, 200), generator=g)
    b1 = torch.randn(200, generator=g)
    W2 = torch.randn((200, 27), generator=g)
    b2 = torch.randn(27, generator=g)
    if init == "scaled":  # part 3's init (harmless: the fix of the notebook's too-confident start)
        W1, b1, W2, b2 = W1 * (5 / 3) / 30**0.5, b1 * 0.01, W2 * 0.01, b2 * 0
    elif init == "w1x5":  # the init_large variant
        W1 = W1 * 5
    elif init == "zero_w1":  # the symmetric_init variant
        W1, b1 = torch.zeros_like(W1), torch.zeros_like(b1)
    elif init != "randn":
        raise ValueError(init)
    P = Params(C, W1, b1, W2, b2)
    parameters = [P.C, P.W1, P.b1, P.W2, P.b2]
    monitor = gradmedic.watch(P, every=every)  # gradmedic (no optimizer: the update is by hand)

    lossi = []
    for i in range(max_steps):

        # minibatch construct
        ix = torch.randint(0, Xtr.shape[0], (32,))

        # forward pass
        emb = P.C[Xtr[ix]]  # (32, 3, 10)
        h = torch.tanh(emb.view(-1, 30) @ P.W1 + P.b1)  # (32, 200)
        logits = h @ P.W2 + P.b2  # (32, 27)
        loss = F.cross_entropy(logits, Ytr[ix])

        # backward pass
        if zero_grad:  # the no_zero_grad variant leaves this out
            for p in parameters:
                p.grad = None
        loss.backward()
        monitor.step(loss)  # gradmedic

        # update
        lr = (0.1 if i < decay_at else 0.01) * lr_mult
        for p in parameters:
            p.data += -lr * p.grad

        # track stats
        lossi.append(loss.item())
        if verbose and i % 2000 == 0:
            print(f"{i:7d}/{max_steps:7d}: {loss.item():.4f} ({time.time() - t_start:.1f}s)", flush=True)

    monitor.close()
    tr, dev, te = (split_loss(P, x, y) for x, y in ((Xtr, Ytr), (Xdev, Ydev), (Xte, Yte)))
    if verbose:
        print(f"train {tr:.4f} dev {dev:.4f} test {te:.4f}")
    initial = float(np.mean(lossi[:5]))
    fin = np.isfinite(lossi)
    return {"monitors": {"": monitor}, "metric": "loss", "value": float(dev) if math.isfinite(dev) else float("nan"),
            "chance": math.log(27), "initial": initial,
            "initial_what": "untrained: mean training loss of the first 5 steps",
            "extra": dict(train_loss=float(np.mean(lossi[-20:])), first_loss=initial,
                          max_loss=float(np.max(np.asarray(lossi)[fin])) if fin.any() else float("nan"),
                          finite_losses=bool(fin.all()), steps=max_steps, lr=0.1 * lr_mult,
                          lr_after_decay=0.01 * lr_mult, decay_at=decay_at, lr_mult=lr_mult, init=init,
                          zero_grad=zero_grad, train_split_loss=tr, test_split_loss=te, batch_size=32,
                          n_train=int(Xtr.shape[0]), n_dev=int(Xdev.shape[0])),
            "seconds": time.time() - t_start}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="zthmlp", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"makemore part 2 MLP (C 27x10, W1 30x200 tanh, W2 200x27, all torch.randn; F.cross_entropy, batch 32, "
      f"update by hand p.data += -lr * p.grad, lr 0.1 then 0.01 at step {DECAY_AT} of {STEPS})")
CASES: list[dict] = (
    [_case(f"zthmlp_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"zthmlp_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({0.1 * k:g} then {0.01 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("zthmlp_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 (0.0001 then 1e-05)")]
    + [_case("zthmlp_scaled_init_s1", "healthy", 1, {"init": "scaled"},
             f"{_P}: part 3's scaled-down init (W1 * (5/3)/30**0.5, b1 * 0.01, W2 * 0.01, b2 * 0)")]
    + [_case("zthmlp_w1x5_s1", "init_large", 1, {"init": "w1x5"}, f"{_P}: W1 = torch.randn((30, 200)) * 5")]
    + [_case("zthmlp_zero_w1_s1", "symmetric_init", 1, {"init": "zero_w1"}, f"{_P}: W1 and b1 all zeros")]
    + [_case("zthmlp_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: the p.grad = None loop left out (the gradients accumulate)")]
    + [_case("zthmlp_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: lr x2 (0.2 then 0.02)")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = v if k == "init" else eval(v)
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
