"""Neural Networks: Zero to Hero, makemore part 5 (the hierarchical "WaveNet" character-level model with its own
Linear / BatchNorm1d / Tanh / Embedding / FlattenConsecutive / Sequential classes), watched by gradmedic.

Adapted from https://github.com/karpathy/nn-zero-to-hero (commit 73c3fcc741f0ec104ca850b1fb0df90e7e8d4cde; the
notebook lectures/makemore/makemore_part5_cnn1.ipynb as last changed in 74aac39aea9bd1c8405354bff08a6fe675d38788;
MIT License, Copyright (c) 2022 Andrej Karpathy, see LICENSE-zthwavenet).  The program is the notebook's cells in
order: names.txt (data/names.txt, the 32033 names, shared with makemore.py and zerotohero.py), the vocabulary with
'.' as 0, ``random.seed(42)`` and the shuffle, ``build_dataset`` with block_size 8 and the 80/10/10 split into
train, dev and test; the layer classes ("Near copy paste of the layers we have developed in Part 3", BatchNorm1d
with the part-5 fix: the batch mean and unbiased ``var`` over dims (0, 1) for 3-d inputs); ``torch.manual_seed(42)``;
the hierarchical network (n_embd 24, n_hidden 128: ``Embedding(27, 24)``, three ``FlattenConsecutive(2)``,
``Linear(bias=False)``, ``BatchNorm1d(128)``, ``Tanh()`` blocks, ``Linear(128, 27)``; 76579 parameters) with
``model.layers[-1].weight *= 0.1`` ("last layer make less confident"); the training cell (batch 32 from
``torch.randint`` on the global generator, ``F.cross_entropy``, ``p.grad = None`` for every parameter,
``loss.backward()``, the hand-written update ``p.data += -lr * p.grad`` with lr 0.1, then 0.01 after three
quarters of the steps); the layers put into eval mode and ``split_loss('val')``.

Kept as in the original: the data and its split, the classes' math (Linear's ``torch.randn((fan_in, fan_out)) /
fan_in**0.5`` "kaiming init" and ``x @ self.weight``; BatchNorm1d's eps 1e-5, momentum 0.1, running buffers
replaced (not updated in place) under ``torch.no_grad()``, the running statistics in eval; Embedding's N(0, 1)
table; FlattenConsecutive's view and squeeze), the network and its init, the seed 42 (this port's seed 1: its first
batch loss is the notebook's 3.3167), the loss, batch 32, the plain SGD by hand and the step decay of the rate.

Changed:
- The classes are ``torch.nn.Module`` subclasses with the same math, so that ``gradmedic.watch`` can hook them:
  ``weight``, ``bias``, ``gamma``, ``beta`` are ``nn.Parameter`` (``requires_grad`` already on; the notebook's
  ``for p in parameters: p.requires_grad = True`` is kept), ``running_mean`` / ``running_var`` are buffers,
  ``training`` is nn.Module's flag (``model.eval()`` instead of ``layer.training = False`` for each layer),
  ``__call__`` is ``forward``, ``parameters()`` is nn.Module's (the same tensors, in the same order);
  ``Sequential.layers`` is an ``nn.ModuleList``.  The update stays the hand-written loop over the parameters.
- Steps: 3000 instead of 200000, the decay kept at three quarters (step 2250 instead of 150000), so a run takes
  ~20-25 s on one shared CPU thread (~4-6 ms a step); at 2000 steps the dev loss was 2.20, at 3000 2.17 on seed
  1 (upstream after 200000: train 1.769, val 1.993).
- ``torch.manual_seed(41 + seed)`` (upstream 42 = this port's seed 1).  The plot of ``lossi``, the per-10000-step
  print and ``split_loss('train')`` (a forward of all 182625 training rows: ~15 s and GBs of activations here) are
  left out; ``split_loss('val')`` returns the loss instead of printing it.  Five names are sampled after training
  as in the notebook's sampling cell (capped at 20 characters, from a separate generator seeded 1000 + seed, so
  the training's random stream is untouched) and go to ``extra["samples"]``.  The convolution-preview cells
  after the sampling are not part of the program.
- Not upstream, for the outcome: ``initial``, the untrained network's cross-entropy on the dev split computed
  before training as training computes it (BatchNorm on the split's own statistics, momentum 0 for that one pass
  so the running buffers keep their initial values; the global generator is not touched, so the run is the same
  with or without it); and ``extra["train_ce"]``, the cross-entropy of the last 20 batches whatever the loss the
  variant trains on.

The watch, as a user would add it to a loop that updates the weights by hand: ``monitor = gradmedic.watch(model,
every=10)`` (no optimizer) right after the parameters are set up, ``monitor.step(loss)`` right after
``loss.backward()``, before the update; ``monitor.close()`` after the loop.  The metric ("dev_loss", lower is
better) is ``split_loss('val')``: the cross-entropy on the whole dev split (22655 examples) in eval mode after
training, against ``initial`` (~3.30, about ln 27).

``CASES`` (in the shape of run.py's ``case()``, program "zthwavenet", name prefix zthwn): the program on seeds 1-3,
and one change each against the same seed's healthy run: lr x2, x10 (seeds 1 and 2), x100 (seeds 1 and 2), x1000,
/1000 (seeds 1 and 2; both rates of the schedule scaled); the Linear weights as plain ``torch.randn`` draws (no
/ fan_in**0.5), and x0.01 after the kaiming init (both with BatchNorm kept); the three BatchNorm1d layers taken
out (seeds 1 and 2), and taken out with plain ``torch.randn`` Linear weights; the last layer not made less
confident; every Linear weight zero, and every Linear weight the constant 0.05 (symmetric units); the ``p.grad =
None`` loop left out (seeds 1 and 2); a wrong loss: ``F.cross_entropy`` on ``F.softmax(logits)`` (seeds 1 and 2)
and ``F.nll_loss`` on the logits (the log_softmax missing; both evaluated with the true cross-entropy of the
logits).  No clipping, no input or target scaling in this program, so none is a variant.  Labels come from
run.py's outcome rules only.

Recorded (cases-public32, 24 cases in 486 s, 11-27 s a run on a shared 2-core machine): healthy dev loss 2.172,
2.171, 2.175 on seeds 1-3 (from 3.300, 3.297, 3.292; samples "jaedin.", "kaian.", "serbranli."); healthy also: lr x2
(2.166), lr x10 on seeds 1 and 2 (2.185, 2.183; its loss reached 4.8 and 4.1 on the way, under twice the control's
largest), plain randn weights with BatchNorm (2.297, from 3.545), weights x0.01 with BatchNorm (2.237), no BatchNorm
on seeds 1 and 2 (2.193, 2.194; ~11 s a run), no BatchNorm with randn weights (2.388, from 3.768), the last layer
not made less confident (2.163); broken: lr x100 (21.2, 18.9: the samples "fllll."), x1000 (234.6), /1000 (3.210,
3.216: barely moved), the zero init (2.824, the characters' unigram entropy, 2.823: the zero weights pass neither
signal nor gradient, so only the output bias learns), no gradient reset (643.8, 370.9; one sample repeated five
times), softmax before cross_entropy (6.785, 7.024; its own training loss 3.09, the samples "anana."), nll_loss on
the logits (1772: the loss it trained on went to -1034); ambiguous: the constant 0.05 init (2.619: it learns, not to
0.7x its start, and made more than half the control's progress).
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
MONITOR_AT = ("watch(model, every=10) without an optimizer (the loop updates p.data by hand) right after the "
              "parameters get requires_grad; monitor.step(loss) right after loss.backward() (F.cross_entropy on the "
              "logits), before the update p.data += -lr * p.grad (no clipping)")

NAMES = Path(__file__).resolve().parent / "data" / "names.txt"
STEPS = 3000  # upstream 200000
DECAY_AT = 2250  # upstream 150000: lr = 0.1 if i < 150000 else 0.01


# the data cells -----------------------------------------------------------------------------------------------------

def datasets(block_size: int = 8):
    # read in all the words
    words = open(NAMES).read().splitlines()
    # build the vocabulary of characters and mappings to/from integers
    chars = sorted(list(set(''.join(words))))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi['.'] = 0
    itos = {i: s for s, i in stoi.items()}
    vocab_size = len(itos)

    # shuffle up the words
    random.seed(42)
    random.shuffle(words)

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

    n1 = int(0.8 * len(words))
    n2 = int(0.9 * len(words))
    Xtr, Ytr = build_dataset(words[:n1])     # 80%
    Xdev, Ydev = build_dataset(words[n1:n2])   # 10%
    Xte, Yte = build_dataset(words[n2:])     # 10%
    return vocab_size, itos, (Xtr, Ytr), (Xdev, Ydev), (Xte, Yte)


# Near copy paste of the layers we have developed in Part 3 (upstream's plain Python classes, here nn.Modules with
# the same math so that gradmedic.watch can hook them) ----------------------------------------------------------------

class Linear(nn.Module):

    def __init__(self, fan_in, fan_out, bias=True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn((fan_in, fan_out)) / fan_in**0.5)  # note: kaiming init
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
            if x.ndim == 2:
                dim = 0
            elif x.ndim == 3:
                dim = (0, 1)
            xmean = x.mean(dim, keepdim=True)  # batch mean
            xvar = x.var(dim, keepdim=True)  # batch variance
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


class Embedding(nn.Module):

    def __init__(self, num_embeddings, embedding_dim):
        super().__init__()
        self.weight = nn.Parameter(torch.randn((num_embeddings, embedding_dim)))

    def forward(self, IX):
        self.out = self.weight[IX]
        return self.out


class FlattenConsecutive(nn.Module):

    def __init__(self, n):
        super().__init__()
        self.n = n

    def forward(self, x):
        B, T, C = x.shape
        x = x.view(B, T//self.n, C*self.n)
        if x.shape[1] == 1:
            x = x.squeeze(1)
        self.out = x
        return self.out


class Sequential(nn.Module):

    def __init__(self, layers):
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        self.out = x
        return self.out


def train(seed: int = 1, lr_mult: float = 1.0, batchnorm: bool = True, randn_init: bool = False,
          weight_scale: float = 1.0, scale_last: bool = True, zero_init: bool = False, const_init: float | None = None,
          zero_grad: bool = True, loss_kind: str = "ce", max_steps: int = STEPS, decay_at: int = DECAY_AT,
          every: int = 10, verbose: bool = False) -> dict:
    """The notebook's hierarchical network and training cell with one change per keyword (see ``CASES``)."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    t_start = time.time()
    vocab_size, itos, (Xtr, Ytr), (Xdev, Ydev), (Xte, Yte) = datasets()
    block_size = Xtr.shape[1]

    torch.manual_seed(41 + seed)  # seed rng for reproducibility (upstream: 42, this port's seed 1)

    # hierarchical network
    n_embd = 24  # the dimensionality of the character embedding vectors
    n_hidden = 128  # the number of neurons in the hidden layer of the MLP
    if batchnorm:
        model = Sequential([
            Embedding(vocab_size, n_embd),
            FlattenConsecutive(2), Linear(n_embd * 2, n_hidden, bias=False), BatchNorm1d(n_hidden), Tanh(),
            FlattenConsecutive(2), Linear(n_hidden*2, n_hidden, bias=False), BatchNorm1d(n_hidden), Tanh(),
            FlattenConsecutive(2), Linear(n_hidden*2, n_hidden, bias=False), BatchNorm1d(n_hidden), Tanh(),
            Linear(n_hidden, vocab_size),
        ])
    else:  # the variant: the BatchNorm1d layers taken out (the Linear layers left as they are, bias=False)
        model = Sequential([
            Embedding(vocab_size, n_embd),
            FlattenConsecutive(2), Linear(n_embd * 2, n_hidden, bias=False), Tanh(),
            FlattenConsecutive(2), Linear(n_hidden*2, n_hidden, bias=False), Tanh(),
            FlattenConsecutive(2), Linear(n_hidden*2, n_hidden, bias=False), Tanh(),
            Linear(n_hidden, vocab_size),
        ])

    # parameter init
    with torch.no_grad():
        linears = [layer for layer in model.layers if isinstance(layer, Linear)]
        for layer in linears:  # the variants' inits (none by default)
            if randn_init:  # plain torch.randn: the / fan_in**0.5 undone
                layer.weight *= layer.weight.shape[0] ** 0.5
            layer.weight *= weight_scale
            if zero_init:
                layer.weight.zero_()
            if const_init is not None:
                layer.weight.fill_(const_init)
        if scale_last:
            model.layers[-1].weight *= 0.1  # last layer make less confident

    parameters = list(model.parameters())  # upstream: model.parameters(), its own list of tensors
    n_params = sum(p.nelement() for p in parameters)  # number of parameters in total
    with torch.no_grad():  # not upstream: the untrained network's dev loss, as training computes it (BatchNorm on the
        # batch's statistics; momentum 0 for this pass, so the running buffers keep their initial values)
        bns = [layer for layer in model.layers if isinstance(layer, BatchNorm1d)]
        for layer in bns:
            layer.momentum = 0.0
        initial = F.cross_entropy(model(Xdev), Ydev).item()
        for layer in bns:
            layer.momentum = 0.1
    for p in parameters:
        p.requires_grad = True
    monitor = gradmedic.watch(model, every=every)  # gradmedic

    # same optimization as last time
    batch_size = 32
    lossi = []
    losses = []
    ce_losses = []  # the cross-entropy of each batch, whatever the loss trained on (the variants' wrong losses)

    for i in range(max_steps):

        # minibatch construct
        ix = torch.randint(0, Xtr.shape[0], (batch_size,))
        Xb, Yb = Xtr[ix], Ytr[ix]  # batch X,Y

        # forward pass
        logits = model(Xb)
        if loss_kind == "softmax_ce":  # the variant: probabilities fed to cross_entropy, which expects logits
            loss = F.cross_entropy(F.softmax(logits, dim=1), Yb)
        elif loss_kind == "nll_logits":  # the variant: nll_loss on the logits, the log_softmax missing
            loss = F.nll_loss(logits, Yb)
        else:
            loss = F.cross_entropy(logits, Yb)  # loss function

        # backward pass
        if zero_grad:
            for p in parameters:
                p.grad = None
        loss.backward()
        monitor.step(loss)  # gradmedic

        # update: simple SGD
        lr = (0.1 if i < decay_at else 0.01) * lr_mult  # step learning rate decay
        for p in parameters:
            p.data += -lr * p.grad

        # track stats
        if verbose and i % 1000 == 0:  # print every once in a while
            print(f'{i:7d}/{max_steps:7d}: {loss.item():.4f} ({time.time() - t_start:.1f}s)', flush=True)
        lossi.append(loss.log10().item() if loss.item() > 0 else float("nan"))
        losses.append(loss.item())
        ce_losses.append(loss.item() if loss_kind == "ce" else F.cross_entropy(logits.detach(), Yb).item())

    monitor.close()
    if verbose:
        print(f"trained ({time.time() - t_start:.1f}s)")

    # put layers into eval mode (needed for batchnorm especially)
    model.eval()  # upstream: for layer in model.layers: layer.training = False

    # evaluate the loss
    @torch.no_grad()  # this decorator disables gradient tracking inside pytorch
    def split_loss(split):
        x, y = {
            'train': (Xtr, Ytr),
            'val': (Xdev, Ydev),
            'test': (Xte, Yte),
        }[split]
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        return loss.item()

    dev = split_loss('val')  # upstream also prints split_loss('train'): 182625 rows, ~15 s and GBs here; left out
    if verbose:
        print(f"val {dev:.4f} ({time.time() - t_start:.1f}s)")

    # sample from the model
    g = torch.Generator().manual_seed(1000 + seed)
    samples = []
    with torch.no_grad():
        for _ in range(5):
            out = []
            context = [0] * block_size  # initialize with all ...
            while len(out) < 20:
                # forward pass the neural net
                logits = model(torch.tensor([context]))
                if not torch.isfinite(logits).all():
                    break
                probs = F.softmax(logits, dim=1)
                # sample from the distribution
                ix = torch.multinomial(probs, num_samples=1, generator=g).item()
                # shift the context window and track the samples
                context = context[1:] + [ix]
                out.append(ix)
                # if we sample the special '.' token, break
                if ix == 0:
                    break
            samples.append(''.join(itos[i] for i in out))  # decode the generated word

    value = dev if math.isfinite(dev) else float("nan")
    return {"monitors": {"": monitor}, "metric": "dev_loss", "value": value, "chance": math.log(vocab_size),
            "initial": initial,
            "initial_what": "untrained: the dev split's cross-entropy before training (BatchNorm on its statistics)",
            "extra": {"train_loss": float(np.mean(losses[-20:])),
                      "first_losses": float(np.mean(losses[:5])), "first_ce": float(np.mean(ce_losses[:5])),
                      "train_ce": float(np.mean(ce_losses[-20:])), "samples": samples,
                      "steps": max_steps, "batch_size": batch_size, "lr": 0.1 * lr_mult,
                      "lr_after_decay": 0.01 * lr_mult, "decay_at": decay_at, "n_params": n_params},
            "seconds": time.time() - t_start}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="zthwavenet", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_W = (f"hierarchical WaveNet-like MLP (Embedding 24, three FlattenConsecutive(2)/Linear(bias=False)/BatchNorm1d/Tanh "
      f"blocks of 128, Linear(128, 27) x0.1), SGD by hand lr 0.1 then 0.01 at step {DECAY_AT} of {STEPS}, batch 32")
CASES: list[dict] = (
    [_case(f"zthwn_healthy_s{s}", "healthy", s, {}, f"{_W}: unchanged", False) for s in (1, 2, 3)]
    + [_case("zthwn_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_W}: lr x2 (0.2 then 0.02)")]
    + [_case(f"zthwn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_W}: lr x{k} ({0.1 * k:g} then {0.01 * k:g})")
       for k, ss in ((10, (1, 2)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case(f"zthwn_lr_div1000_s{s}", "lr_low", s, {"lr_mult": 1e-3}, f"{_W}: lr /1000 (0.0001 then 1e-05)")
       for s in (1, 2)]
    + [_case("zthwn_randn_init_s1", "init_large", 1, {"randn_init": True},
             f"{_W}: Linear weights left as plain torch.randn draws (no / fan_in**0.5; BatchNorm kept)")]
    + [_case("zthwn_small_init_s1", "init_small", 1, {"weight_scale": 0.01},
             f"{_W}: every Linear weight x0.01 after its kaiming init (BatchNorm kept)")]
    + [_case(f"zthwn_no_bn_s{s}", "no_norm", s, {"batchnorm": False},
             f"{_W}: the three BatchNorm1d layers taken out (Linear(bias=False)/Tanh blocks, the same init)")
       for s in (1, 2)]
    + [_case("zthwn_no_bn_randn_s1", "init_large", 1, {"batchnorm": False, "randn_init": True},
             f"{_W}: no BatchNorm1d layers and plain torch.randn Linear weights (no / fan_in**0.5): the tanh saturated")]
    + [_case("zthwn_no_scale_last_s1", "init_large", 1, {"scale_last": False},
             f"{_W}: the last layer not made less confident (no layers[-1].weight *= 0.1)")]
    + [_case("zthwn_zero_init_s1", "symmetric_init", 1, {"zero_init": True},
             f"{_W}: every Linear weight zeros_ (the last layer's bias already zero; the embedding kept)")]
    + [_case("zthwn_const_init_s1", "symmetric_init", 1, {"const_init": 0.05},
             f"{_W}: every Linear weight the constant 0.05 (then x0.1 on the last layer, as upstream)")]
    + [_case(f"zthwn_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_W}: the loop's `for p in parameters: p.grad = None` left out: the gradients accumulate")
       for s in (1, 2)]
    + [_case(f"zthwn_softmax_ce_s{s}", "wrong_loss", s, {"loss_kind": "softmax_ce"},
             f"{_W}: F.cross_entropy(F.softmax(logits, dim=1), Yb): probabilities fed to a loss that expects logits "
             "(the dev loss still the cross-entropy of the logits)") for s in (1, 2)]
    + [_case("zthwn_nll_logits_s1", "wrong_loss", 1, {"loss_kind": "nll_logits"},
             f"{_W}: F.nll_loss(logits, Yb): the log_softmax missing (the dev loss still the cross-entropy of the "
             "logits)")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = eval(v)
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
