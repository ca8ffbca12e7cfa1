"""fast.ai fastbook chapter 4 (MNIST basics): the from-scratch linear 3-vs-7 classifier with its hand-written SGD
update, on scikit-learn's digits, watched by gradmedic.

Adapted from https://github.com/fastai/fastbook (04_mnist_basics.ipynb as stored at commit
02af2d7c9189f44158c79438fee80d4a53d305dd; the repository could not be fetched whole (too large), the notebook and
LICENSE were read file by file; code under GPL-3.0, see LICENSE-fbmnistlin).  The code cells kept (copied below):
``init_params(size, std=1.0)`` (``(torch.randn(size)*std).requires_grad_()``), ``linear1(xb)`` (``xb@weights +
bias``), ``mnist_loss`` with its ``predictions.sigmoid()`` and ``torch.where(targets==1, 1-predictions,
predictions).mean()``, ``calc_grad``, ``train_epoch(model, lr, params)`` with the hand-written ``p.data -=
p.grad*lr; p.grad.zero_()``, ``batch_accuracy`` and ``validate_epoch``, lr = 1., the data built as in the notebook
(``train_x = torch.cat([stacked_threes, stacked_sevens]).view(-1, ...)``, ``train_y`` 1 for 3s and 0 for 7s,
``dset = list(zip(train_x,train_y))``, ``dl = DataLoader(dset, batch_size=256)`` unshuffled (the 3s first, then
the 7s), ``valid_dl`` the same with batch 256).  ``BasicOptim`` and the ``nn.Linear(28*28,1)`` version of the
notebook's "Creating an Optimizer" section are kept too, for the ``nn_linear`` variant.  fbsimplenet.py (the
chapter's two-layer ``simple_net``) imports its data, loss, ``init_params`` and ``BasicOptim`` from here.

Changed to run offline on one CPU thread: the MNIST_SAMPLE 3s and 7s (28x28, /255, 12396 training and 2038
validation images) are scikit-learn's ``load_digits`` 3s and 7s (8x8 = 64 features, /16): a quarter of each class
held out by a permutation seeded with the run's seed (89 validation, 273 training images: 138 3s then 135 7s), so
``dl`` has 2 batches an epoch (256 images, 138 3s and 118 7s, then 17 7s) instead of 49; EPOCHS = 500 epochs (1000
steps) stand in for the notebook's 1 + 20 epochs (1029 steps).  ``torch.manual_seed(seed)`` (the notebook is not
seeded).  The DataLoader is PyTorch's (fastai's, as imported by the notebook, also defaults to shuffle=False).
``calc_grad`` returns the loss (for ``monitor.step``); ``validate_epoch`` runs under ``torch.no_grad()``.  And
``init_params`` is called with std 0.1 instead of its default 1.0 (``# upstream:`` marks it): on the digits' dense
pixels (mean 0.30; the squared norm of the mean image, 10.8, is almost three times the summed pixel variances,
3.8; MNIST's sparse strokes spread the outputs far more) N(0, 1) weights and bias give every image nearly the same
output, often all on one side of the sigmoid, and ``mnist_loss``'s saturated sigmoid then leaves the model at
chance: with std 1.0 the port ended at chance on seeds 2, 3 and 6 of 1-6 (with shuffled, balanced pure-class or
full batches of this data: on 3 of seeds 1-10; with batch 8 on 1), while std 0.1 reached 0.978-1.0 on seeds 1-12
(off-list checks, not recorded).  The notebook's std 1.0 is recorded as a variant (init_large).  The metric is
``validate_epoch`` after the last epoch (the validation accuracy, one batch of 89).

The watch, as a user would add it: the notebook's bare ``weights``/``bias`` tensors go into a small nn.Module as
nn.Parameters (``Linear1``, whose forward is ``linear1``: the one change a user needs to make to watch this loop),
then ``monitor = gradmedic.watch(model, every=10)`` WITHOUT an optimizer (the update is by hand),
``monitor.step(loss)`` right after ``calc_grad``'s ``loss.backward()``, before the ``p.data -= p.grad*lr`` update;
``monitor.close()`` after the loop.

``CASES`` (program "fbmnistlin"): the program on seeds 1-3, and one change each against the same seed's healthy
run: lr x10, x100 (seeds 1 and 2), /1000; the raw 0..16 digit values (the notebook's /255 left out; seeds 1 and
2); ``p.grad.zero_()`` left out (seeds 1 and 2); the notebook's first ``mnist_loss`` without the sigmoid;
``init_params`` at its default std 1.0 (seeds 1 and 2); and two changes expected harmless: lr x2 (cause "lr_high")
and the notebook's ``nn.Linear`` + ``BasicOptim`` version (cause "healthy").  Labels come from run.py's outcome
rules only.
Recorded (cases-public80; 16 runs in ~20 s, about 1 s a run on a shared 2-core machine, 1000 steps a run): healthy
validation accuracy 1.0, 0.989, 0.978 on seeds 1-3 (0.66, 0.47, 0.42 before training; training loss 0.39-0.45 over
the first 5 steps, largest 0.50-0.63, 0.003-0.005 over the last 20; all finite).  Broken (all at chance, every
output on one side: 0.494 = all called 7, 0.506 = all called 3): lr x10 (10): 0.494 (the first steps drive every
output into the sigmoid's flat tail, training loss ends at 0.27); lr /1000 (1e-3): 0.494 (best 0.674, training loss
0.32); raw 0..16 inputs: 0.506 (seed 1) and 0.494 (seed 2); ``p.grad.zero_()`` left out: 0.494 on both seeds (the
summed gradients grow each step and push every output to one side); no sigmoid in ``mnist_loss``: 0.494 (the loss,
linear in the outputs, falls without bound to -3837); std 1.0 on seed 2: 0.494.  Healthy (the change did no harm
here): lr x100 (100): 0.989 on seeds 1 and 2 (training loss ~0; the largest steps land on the right side at once
where x10 does not; not monotone in the rate); std 1.0 on seed 1: 1.0; lr x2: 1.0; nn.Linear + BasicOptim: 1.0.
Labels: 8 healthy (3 programs, 5 variants), 8 broken, 0 ambiguous.  No run had a non-finite loss.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader

import gradmedic

ARCH = "linear"
MONITOR_AT = ("watch(model, every=10) without an optimizer (the loop updates p.data by hand); the notebook's bare "
              "weights/bias tensors wrapped in an nn.Module as nn.Parameters, forward = linear1; monitor.step(loss) "
              "right after calc_grad's loss.backward() (calc_grad returns the loss), before the p.data -= p.grad*lr "
              "update and p.grad.zero_()")
EPOCHS = 500  # upstream: 1 + 20 epochs of 49 batches (1029 steps); here 2 batches an epoch (1000 steps)
BS = 256
LR = 1.
INIT_STD = 0.1  # upstream: init_params' std=1.0 (see the docstring: on the digits' dense 8x8 pixels it saturates)


# ---- the data: the notebook's MNIST_SAMPLE 3s and 7s, here scikit-learn's 8x8 digits -----------------------------------
def threes_sevens(seed: int, scale: float = 16.):
    """train_x, train_y, valid_x, valid_y as the notebook builds them: the 3s first, then the 7s, pixels / scale
    (upstream: 28x28 MNIST pixels /255, the train and valid folders; here the 8x8 digits /16, a quarter of the 3s
    and of the 7s held out by a seeded permutation)."""
    d = load_digits()
    rng = np.random.RandomState(seed)
    tr, va = {}, {}
    for k in (3, 7):
        idx = np.flatnonzero(d.target == k)
        idx = idx[rng.permutation(len(idx))]
        nv = len(idx) // 4
        va[k], tr[k] = np.sort(idx[:nv]), np.sort(idx[nv:])
    img = torch.tensor(d.images, dtype=torch.float32)
    stacked_threes = img[tr[3]] / scale  # upstream: torch.stack(three_tensors).float()/255
    stacked_sevens = img[tr[7]] / scale
    train_x = torch.cat([stacked_threes, stacked_sevens]).view(-1, 8*8)  # upstream: .view(-1, 28*28)
    train_y = torch.tensor([1]*len(stacked_threes) + [0]*len(stacked_sevens)).unsqueeze(1)
    valid_3_tens, valid_7_tens = img[va[3]] / scale, img[va[7]] / scale
    valid_x = torch.cat([valid_3_tens, valid_7_tens]).view(-1, 8*8)
    valid_y = torch.tensor([1]*len(valid_3_tens) + [0]*len(valid_7_tens)).unsqueeze(1)
    return train_x, train_y, valid_x, valid_y


# ---- the notebook's code ------------------------------------------------------------------------------------------------
def init_params(size, std=1.0): return (torch.randn(size)*std).requires_grad_()


def mnist_loss(predictions, targets):
    predictions = predictions.sigmoid()
    return torch.where(targets==1, 1-predictions, predictions).mean()


def mnist_loss_nosigmoid(predictions, targets):  # the notebook's first try, before "Sigmoid" (the wrong_loss variant)
    return torch.where(targets==1, 1-predictions, predictions).mean()


def batch_accuracy(xb, yb):
    preds = xb.sigmoid()
    correct = (preds>0.5) == yb
    return correct.float().mean()


class BasicOptim:
    def __init__(self,params,lr): self.params,self.lr = list(params),lr

    def step(self, *args, **kwargs):
        for p in self.params: p.data -= p.grad.data * self.lr  # noqa: E701 (as in the notebook)

    def zero_grad(self, *args, **kwargs):
        for p in self.params: p.grad = None  # noqa: E701


class Linear1(nn.Module):
    """gradmedic: the notebook's bare ``weights``/``bias`` tensors held as nn.Parameters so that watch() can see
    them (the one change a user needs to watch this loop); forward is the notebook's ``linear1``."""

    def __init__(self, weights, bias):
        super().__init__()
        self.weights = nn.Parameter(weights.detach())
        self.bias = nn.Parameter(bias.detach())

    def forward(self, xb): return xb@self.weights + self.bias  # def linear1(xb): return xb@weights + bias


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float = INIT_STD, raw_inputs: bool = False,
          zero_grad: bool = True, sigmoid_loss: bool = True, nn_linear: bool = False, bs: int = BS,
          epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    """``lr_mult`` scales lr = 1.; ``init_std`` is the std given to init_params (0.1 here; the notebook's
    default 1.0); ``raw_inputs``: the digits' raw 0..16 values (the /16 left out); ``zero_grad=False`` leaves
    ``p.grad.zero_()`` out; ``sigmoid_loss=False`` uses the notebook's first ``mnist_loss`` (no sigmoid);
    ``nn_linear``: the notebook's next version, ``nn.Linear(8*8,1)`` with ``BasicOptim`` and the
    ``train_epoch(model)`` that calls ``opt.step()``/``opt.zero_grad()``; ``bs`` the batch size of ``dl`` and
    ``valid_dl``."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)  # upstream: unseeded
    t0 = time.time()
    train_x, train_y, valid_x, valid_y = threes_sevens(seed, scale=1. if raw_inputs else 16.)
    dset = list(zip(train_x,train_y))  # noqa: B905 (as in the notebook)
    valid_dset = list(zip(valid_x,valid_y))  # noqa: B905
    dl = DataLoader(dset, batch_size=bs)  # upstream: fastai's DataLoader, shuffle=False as here
    valid_dl = DataLoader(valid_dset, batch_size=bs)
    loss_func = mnist_loss if sigmoid_loss else mnist_loss_nosigmoid

    lr = LR * lr_mult
    if nn_linear:
        model = nn.Linear(8*8,1)  # upstream: nn.Linear(28*28,1)
        opt = BasicOptim(model.parameters(), lr)
    else:
        weights = init_params((8*8,1), std=init_std)  # upstream: init_params((28*28,1)) (std 1.0)
        bias = init_params(1, std=init_std)  # upstream: init_params(1) (std 1.0)
        model = Linear1(weights, bias)  # gradmedic: linear1 as a module
        params = model.weights, model.bias
    monitor = gradmedic.watch(model, every=every)  # gradmedic: no torch.optim optimizer (the update is by hand)
    losses = []

    def calc_grad(xb, yb, model):
        preds = model(xb)
        loss = loss_func(preds, yb)
        loss.backward()
        return loss  # upstream: returns nothing (returned here for monitor.step)

    def train_epoch(model, lr, params):
        for xb,yb in dl:
            loss = calc_grad(xb, yb, model)
            monitor.step(loss)  # gradmedic
            losses.append(float(loss.detach()))
            for p in params:
                p.data -= p.grad*lr
                if zero_grad:  # the no_zero_grad variant leaves this out
                    p.grad.zero_()

    def train_epoch_opt(model):  # the BasicOptim version's train_epoch(model)
        for xb,yb in dl:
            loss = calc_grad(xb, yb, model)
            monitor.step(loss)  # gradmedic
            losses.append(float(loss.detach()))
            opt.step()
            if zero_grad:
                opt.zero_grad()

    def validate_epoch(model):
        with torch.no_grad():  # upstream: autograd on (no number changes)
            accs = [batch_accuracy(model(xb), yb) for xb,yb in valid_dl]
        return round(torch.stack(accs).mean().item(), 4)

    start_acc = validate_epoch(model)
    accs = []
    for i in range(epochs):
        if nn_linear:
            train_epoch_opt(model)
        else:
            train_epoch(model, lr, params)
        accs.append(validate_epoch(model))
        if verbose and (i + 1) % 50 == 0:
            print(f"epoch {i + 1} valid acc {accs[-1]} loss {np.mean(losses[-2:]):.4f} ({time.time() - t0:.1f}s)",
                  flush=True)
    monitor.close()
    acc = accs[-1]
    la = np.array(losses)
    finite = la[np.isfinite(la)]
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc), "chance": 0.5,
            "initial": None, "initial_what": "chance accuracy 0.5",
            "extra": dict(start_acc=start_acc, best_acc=float(max(accs)), lr=lr, train_loss=float(np.mean(la[-20:])),
                          first_loss=float(np.mean(la[:5])), max_loss=float(finite.max()) if len(finite) else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), steps=len(losses), epochs=epochs, bs=bs,
                          n_train=len(train_x), n_valid=len(valid_x), lr_mult=lr_mult, init_std=init_std,
                          raw_inputs=raw_inputs, zero_grad=zero_grad, sigmoid_loss=sigmoid_loss, nn_linear=nn_linear),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="fbmnistlin", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"the from-scratch linear1 (weights (64,1), bias from init_params std {INIT_STD:g}), mnist_loss with its sigmoid, "
      f"p.data -= p.grad*lr; p.grad.zero_() by hand, lr {LR:g}, bs {BS} unshuffled (3s then 7s), {EPOCHS} epochs of 2 steps")
CASES: list[dict] = (
    [_case(f"fbmnistlin_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"fbmnistlin_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("fbmnistlin_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case(f"fbmnistlin_raw_inputs_s{s}", "unscaled_inputs", s, {"raw_inputs": True},
             f"{_P}: inputs the digits' raw 0..16 values (the /16, the notebook's /255, left out)") for s in (1, 2)]
    + [_case(f"fbmnistlin_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: p.grad.zero_() left out of train_epoch (the gradients accumulate)") for s in (1, 2)]
    + [_case("fbmnistlin_no_sigmoid_s1", "wrong_loss", 1, {"sigmoid_loss": False},
             f"{_P}: the notebook's first mnist_loss, without predictions.sigmoid() (the raw outputs in "
             f"torch.where(targets==1, 1-predictions, predictions).mean())")]
    + [_case(f"fbmnistlin_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: init_params with the notebook's default std 1.0 (weights and bias N(0, 1))") for s in (1, 2)]
    + [_case("fbmnistlin_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: lr x2 ({LR * 2:g}; expected harmless)")]
    + [_case("fbmnistlin_nn_linear_s1", "healthy", 1, {"nn_linear": True},
             f"{_P}: the notebook's next version instead: nn.Linear(8*8,1) (PyTorch's default init) with BasicOptim "
             f"(lr {LR:g}), train_epoch calling opt.step() and opt.zero_grad() (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
