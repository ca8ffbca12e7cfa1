"""Neural Networks: Zero to Hero, makemore part 3 (the deep character-level MLP with BatchNorm), watched by gradmedic.

Adapted from https://github.com/karpathy/nn-zero-to-hero (commit 73c3fcc741f0ec104ca850b1fb0df90e7e8d4cde;
the notebook lectures/makemore/makemore_part3_bn.ipynb as last changed in d5b5bfdacbab3199c3eed63722fd0eff3edaaf23;
MIT License, Copyright (c) 2022 Andrej Karpathy, see LICENSE-nn-zero-to-hero).  The program is the notebook's
"SUMMARY + PYTORCHIFYING" part: the data cells (names.txt, the vocabulary with '.' as 0, ``build_dataset`` with
block_size 3, ``random.seed(42)``, shuffle, the 80/10/10 split into train, dev and test), the cell with the
classes ``Linear``, ``BatchNorm1d``, ``Tanh`` and the network (n_embd 10, n_hidden 100, an embedding table ``C``
of N(0, 1) and five Linear(bias=False) / BatchNorm1d / Tanh blocks and a Linear(100, 27) / BatchNorm1d(27)
output; ``Linear`` draws ``torch.randn((fan_in, fan_out)) / fan_in**0.5``; the init block then makes the last
layer less confident, ``layers[-1].gamma *= 0.1``, and multiplies every other Linear's weight by the gain), the
training cell (batch 32 drawn with ``torch.randint(..., generator=g)``, ``F.cross_entropy``, ``p.grad = None``,
``loss.backward()``, the update ``p.data += -lr * p.grad`` with lr 0.1, then 0.01 after three quarters of the
steps) and ``split_loss`` after putting the layers in eval mode (BatchNorm with its running statistics).

Kept as in the original: the data and its split, the three classes' math (``BatchNorm1d``: batch mean and
unbiased ``var`` in training, ``(x - xmean) / torch.sqrt(xvar + eps)`` with eps 1e-5, the running buffers
updated with momentum 0.1; the running statistics in eval), the network, its init and the generator ``g`` that
draws the init and the batches, the loss, batch 32 and the step decay of the rate.

Changed:
- The three classes are ``torch.nn.Module`` subclasses with the same math, so that ``gradmedic.watch`` can hook
  them and the optimizer can hold their parameters: ``weight``, ``bias``, ``gamma``, ``beta`` are
  ``nn.Parameter`` (``weight`` keeps upstream's (fan_in, fan_out) layout and ``x @ self.weight``),
  ``running_mean`` / ``running_var`` are buffers, ``training`` is nn.Module's flag (``model.eval()`` instead of
  ``layer.training = False``), ``__call__`` is ``forward``.  ``C`` and the layers live in a small container
  module (``MLP``) whose ``forward`` is the notebook's forward pass (``emb = C[Xb]``, the view, the layers).
- The hand-written update ``p.data += -lr * p.grad`` is ``torch.optim.SGD(parameters, lr=0.1)`` (no momentum,
  no weight decay: the same update), the decay sets its param group's lr to 0.01, so the watch gets the
  optimizer; the gradients are still reset with ``p.grad = None``.
- The gain: the stored cell has ``layer.weight *= 1.0 #5/3`` (the video's last experiment, BatchNorm makes the
  gain matter little); here it is 5/3, the tanh gain the lecture derives and uses in the rest of the notebook
  (``W1 ... * (5/3)/((n_embd * block_size)**0.5)``).
- Steps: 6000 (upstream 200000, decay at 150000), the decay kept at three quarters (step 4500) so a run takes
  ~15-30 s on one CPU thread; the debugging of the training cell is left out (``layer.out.retain_grad()`` and
  the ``if i >= 1000: break`` both marked "AFTER_DEBUG: would take out", the update-to-data ratios ``ud``, the
  ``lossi`` log10 list and the print every 10000 steps; the attribute ``self.out`` is kept).
- The generator ``g`` is seeded with 2147483647 + seed (upstream 2147483647); the words' shuffle keeps
  ``random.seed(42)`` (the split does not depend on the run's seed).  No plots, no sampling of names.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the SGD is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the loop.  The metric ("dev_loss") is the notebook's ``split_loss('val')``: the cross-entropy on the whole
dev split (22655 examples) in eval mode after training, against ``initial``, the mean of the first 5 training
batches' losses (the untrained network's loss); ``extra`` has the train and test split losses and the mean of
the last 20 batch losses.

``CASES`` (in the shape of run.py's ``case()``, program "zerotohero", name prefix zth): the program on seeds 1-3,
and one change each against the same seed's healthy run: lr x10, x100 (seeds 1 and 2), x1000, /1000 (both
rates of the schedule scaled); ``torch.randn`` weights without the 5/3 gain and the 1/sqrt(fan_in) (BatchNorm
kept); the network without its BatchNorm layers (the notebook's commented-out stack of Linear (with bias) / Tanh,
the last layer made less confident by ``layers[-1].weight *= 0.1`` as its commented line does) with that lecture
init (a "healthy" variant: the lecture trains it) and with plain ``torch.randn`` weights (the tanh saturated);
the last layer not made less confident (no ``gamma *= 0.1``); the gain 0.5 instead of 5/3 (with and without
BatchNorm); zeros on one hidden Linear.  No clipping and no input scaling in this program, so neither is a
variant.  Labels come from run.py's outcome rules only.
Recorded (cases-public7; 15 cases in 682 s, 20-68 s a run): healthy dev loss 2.227-2.237 on seeds 1-3 (from a start
of 3.286); lr /1000 (3.284) and x1000 (3.275; its first losses ~17) broken; lr x10 (2.217), x100 on seed 2
(2.308), the last layer not made less confident (2.226; with the BatchNorm1d(27) output at gamma 1 the logits have
unit std, so the start is 3.62, not the ~27 of part 2's single-layer net) and gain 0.5 with BatchNorm (2.239)
healthy, as is the stack without BatchNorm (2.191, "healthy" variant); ambiguous: lr x100 on seed 1 (2.300, within
1.1x of the control but above 0.7x of its own start, 3.115, that the first big steps already lowered), the plain
randn weights with BatchNorm (2.435) and without (2.481), gain 0.5 without BatchNorm (2.333) and the zeroed second
Linear (2.299, just above 0.7x its start 3.276).
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
MONITOR_AT = ("watch(model, optimizer, every=10) right after the SGD is built; monitor.step(loss) right after "
              "loss.backward() (F.cross_entropy on the logits), before optimizer.step() (no clipping)")

NAMES = Path(__file__).resolve().parent / "data" / "names.txt"
STEPS = 6000  # upstream 200000
DECAY_AT = 4500  # upstream 150000: lr = 0.1 if i < 150000 else 0.01


# the data cells -----------------------------------------------------------------------------------------------------

def datasets(block_size: int = 3):
    # read in all the words
    words = open(NAMES).read().splitlines()
    # build the vocabulary of characters and mappings to/from integers
    chars = sorted(list(set(''.join(words))))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi['.'] = 0
    itos = {i: s for s, i in stoi.items()}
    vocab_size = len(itos)

    # build the dataset
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

    Xtr, Ytr = build_dataset(words[:n1])     # 80%
    Xdev, Ydev = build_dataset(words[n1:n2])   # 10%
    Xte, Yte = build_dataset(words[n2:])     # 10%
    return vocab_size, (Xtr, Ytr), (Xdev, Ydev), (Xte, Yte)


# the classes (upstream's plain Python classes, here nn.Modules with the same math) ------------------------------------

class Linear(nn.Module):

    def __init__(self, fan_in, fan_out, bias=True, generator=None):
        super().__init__()
        self.weight = nn.Parameter(torch.randn((fan_in, fan_out), generator=generator) / fan_in**0.5)
        self.bias = nn.Parameter(torch.zeros(fan_out)) if bias else None

    def forward(self, x):
        self.out = x @ self.weight
        if self.bias is not None:
            self.out += self.bias
        return self.out


class BatchNorm1d(nn.Module):

    def __init__(self, dim, eps=1e-5, momentum=0.1):
        super().__init__()
        self.eps = eps
        self.momentum = momentum
        # parameters (trained with backprop)
        self.gamma = nn.Parameter(torch.ones(dim))
        self.beta = nn.Parameter(torch.zeros(dim))
        # buffers (trained with a running 'momentum update')
        self.register_buffer("running_mean", torch.zeros(dim))
        self.register_buffer("running_var", torch.ones(dim))

    def forward(self, x):
        # calculate the forward pass
        if self.training:
            xmean = x.mean(0, keepdim=True)  # batch mean
            xvar = x.var(0, keepdim=True)  # batch variance
        else:
            xmean = self.running_mean
            xvar = self.running_var
        xhat = (x - xmean) / torch.sqrt(xvar + self.eps)  # normalize to unit variance
        self.out = self.gamma * xhat + self.beta
        # update the buffers
        if self.training:
            with torch.no_grad():
                self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * xmean
                self.running_var = (1 - self.momentum) * self.running_var + self.momentum * xvar
        return self.out


class Tanh(nn.Module):
    def forward(self, x):
        self.out = torch.tanh(x)
        return self.out


class MLP(nn.Module):
    """The container: upstream keeps ``C`` and ``layers`` as globals and runs this forward pass in its loops."""

    def __init__(self, C, layers):
        super().__init__()
        self.C = nn.Parameter(C)
        self.layers = nn.ModuleList(layers)

    def forward(self, Xb):
        emb = self.C[Xb]  # embed the characters into vectors
        x = emb.view(emb.shape[0], -1)  # concatenate the vectors
        for layer in self.layers:
            x = layer(x)
        return x


@torch.no_grad()  # this decorator disables gradient tracking
def split_loss(model, x, y):
    return F.cross_entropy(model(x), y).item()


def train(seed: int = 1, lr_mult: float = 1.0, gain: float = 5 / 3, randn_init: bool = False, batchnorm: bool = True,
          scale_last: bool = True, zero_layer: int | None = None, max_steps: int = STEPS, decay_at: int = DECAY_AT,
          every: int = 10, verbose: bool = False) -> dict:
    """The notebook's deep network with one change per keyword: ``lr_mult`` scales both rates of the schedule (0.1,
    0.01); ``gain`` multiplies every Linear's weight but the last (upstream's init block; 5/3 here); ``randn_init``
    leaves the weights as ``torch.randn`` draws (no 1/sqrt(fan_in), no gain); ``batchnorm=False`` is the
    notebook's commented-out stack without BatchNorm (Linear with bias, Tanh; ``layers[-1].weight *= 0.1``);
    ``scale_last=False`` skips making the last layer less confident; ``zero_layer`` (an index of ``layers``, a
    Linear) puts zeros on that Linear's weight (and bias)."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    t_start = time.time()
    vocab_size, (Xtr, Ytr), (Xdev, Ydev), (Xte, Yte) = datasets()
    block_size = Xtr.shape[1]

    n_embd = 10  # the dimensionality of the character embedding vectors
    n_hidden = 100  # the number of neurons in the hidden layer of the MLP
    g = torch.Generator().manual_seed(2147483647 + seed)  # for reproducibility (upstream: 2147483647)

    C = torch.randn((vocab_size, n_embd), generator=g)
    if batchnorm:
        layers = [
            Linear(n_embd * block_size, n_hidden, bias=False, generator=g), BatchNorm1d(n_hidden), Tanh(),
            Linear(n_hidden, n_hidden, bias=False, generator=g), BatchNorm1d(n_hidden), Tanh(),
            Linear(n_hidden, n_hidden, bias=False, generator=g), BatchNorm1d(n_hidden), Tanh(),
            Linear(n_hidden, n_hidden, bias=False, generator=g), BatchNorm1d(n_hidden), Tanh(),
            Linear(n_hidden, n_hidden, bias=False, generator=g), BatchNorm1d(n_hidden), Tanh(),
            Linear(n_hidden, vocab_size, bias=False, generator=g), BatchNorm1d(vocab_size),
        ]
    else:  # the notebook's commented-out layers
        layers = [
            Linear(n_embd * block_size, n_hidden, generator=g), Tanh(),
            Linear(n_hidden, n_hidden, generator=g), Tanh(),
            Linear(n_hidden, n_hidden, generator=g), Tanh(),
            Linear(n_hidden, n_hidden, generator=g), Tanh(),
            Linear(n_hidden, n_hidden, generator=g), Tanh(),
            Linear(n_hidden, vocab_size, generator=g),
        ]

    with torch.no_grad():
        if randn_init:  # the bug: the plain torch.randn draws (undo Linear's / fan_in**0.5; no gain below)
            for layer in layers:
                if isinstance(layer, Linear):
                    layer.weight *= layer.weight.shape[0] ** 0.5
        # last layer: make less confident
        if scale_last:
            if batchnorm:
                layers[-1].gamma *= 0.1
            else:
                layers[-1].weight *= 0.1
        # all other layers: apply gain
        for layer in layers[:-1]:
            if isinstance(layer, Linear) and not randn_init:
                layer.weight *= gain
        if zero_layer is not None:  # the bug: zeros on one Linear
            assert isinstance(layers[zero_layer], Linear)
            layers[zero_layer].weight.zero_()
            if layers[zero_layer].bias is not None:
                layers[zero_layer].bias.zero_()

    model = MLP(C, layers)
    parameters = list(model.parameters())  # upstream: [C] + [p for layer in layers for p in layer.parameters()]
    lr0, lr1 = 0.1 * lr_mult, 0.01 * lr_mult
    optimizer = torch.optim.SGD(parameters, lr=lr0)  # upstream: p.data += -lr * p.grad
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    losses = []
    for i in range(max_steps):

        # minibatch construct
        ix = torch.randint(0, Xtr.shape[0], (batch_size := 32,), generator=g)
        Xb, Yb = Xtr[ix], Ytr[ix]  # batch X,Y

        # forward pass
        x = model(Xb)
        loss = F.cross_entropy(x, Yb)  # loss function

        # backward pass
        for p in parameters:
            p.grad = None
        loss.backward()
        monitor.step(loss)  # gradmedic

        # update
        lr = lr0 if i < decay_at else lr1  # step learning rate decay
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.step()

        # track stats
        losses.append(loss.item())
        if verbose and i % 500 == 0:  # print every once in a while
            print(f'{i:7d}/{max_steps:7d}: {loss.item():.4f} ({time.time() - t_start:.1f}s)', flush=True)

    monitor.close()
    # put layers into eval mode
    model.eval()
    tr, dev, te = (split_loss(model, x, y) for x, y in ((Xtr, Ytr), (Xdev, Ydev), (Xte, Yte)))
    if verbose:
        print(f"train {tr:.4f} val {dev:.4f} test {te:.4f}")
    initial = float(np.mean(losses[:5]))
    return {"monitors": {"": monitor}, "metric": "dev_loss", "value": float(dev), "chance": math.log(vocab_size),
            "initial": initial, "initial_what": "untrained: mean training loss of the first 5 steps",
            "extra": {"train_split_loss": tr, "test_split_loss": te, "train_loss": float(np.mean(losses[-20:])),
                      "steps": max_steps, "batch_size": batch_size, "lr": lr0, "lr_after_decay": lr1,
                      "decay_at": decay_at, "gain": gain, "n_params": sum(p.nelement() for p in parameters)},
            "seconds": time.time() - t_start}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="zerotohero", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


CASES: list[dict] = (
    [_case(f"zth_healthy_s{s}", "healthy", s, {}, "unchanged (5 Linear/BatchNorm1d/Tanh blocks of 100 and a "
           f"Linear/BatchNorm1d output, gain 5/3, last gamma x0.1, SGD lr 0.1 then 0.01 at step {DECAY_AT} of {STEPS}, "
           "batch 32)", False) for s in (1, 2, 3)]
    + [_case(f"zth_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"lr x{k} ({0.1 * k:g} then {0.01 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("zth_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "lr /1000 (0.0001 then 1e-05)")]
    + [_case("zth_randn_init_s1", "init_large", 1, {"randn_init": True},
             "Linear weights left as torch.randn draws: no / fan_in**0.5 and no 5/3 gain (BatchNorm kept)")]
    + [_case("zth_no_bn_s1", "healthy", 1, {"batchnorm": False},
             "no BatchNorm1d layers: the notebook's commented-out Linear(bias)/Tanh stack with the lecture's init "
             "(randn / fan_in**0.5, gain 5/3, layers[-1].weight *= 0.1)")]
    + [_case("zth_no_bn_randn_s1", "init_large", 1, {"batchnorm": False, "randn_init": True},
             "no BatchNorm1d layers (the commented-out Linear(bias)/Tanh stack) and plain torch.randn weights "
             "(no / fan_in**0.5, no gain; layers[-1].weight *= 0.1 kept): the tanh saturated")]
    + [_case("zth_no_scale_last_s1", "init_large", 1, {"scale_last": False},
             "the last layer not made less confident (no layers[-1].gamma *= 0.1)")]
    + [_case("zth_gain05_s1", "init_small", 1, {"gain": 0.5}, "gain 0.5 instead of 5/3 on the Linear weights")]
    + [_case("zth_no_bn_gain05_s1", "init_small", 1, {"batchnorm": False, "gain": 0.5},
             "no BatchNorm1d layers (the commented-out Linear(bias)/Tanh stack) and gain 0.5 instead of 5/3: "
             "the activations shrink layer by layer")]
    + [_case("zth_zero_layer3_s1", "symmetric_init", 1, {"zero_layer": 3},
             "nn.init.zeros_ on the second Linear's weight (layers[3], bias=False)")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = eval(v)
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
