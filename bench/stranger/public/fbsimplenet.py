"""fast.ai fastbook chapter 4 (MNIST basics): ``simple_net``, the two-layer ReLU net trained on 3s vs 7s with
``mnist_loss`` and SGD, on scikit-learn's digits, watched by gradmedic.

Adapted from https://github.com/fastai/fastbook (04_mnist_basics.ipynb as stored at commit
02af2d7c9189f44158c79438fee80d4a53d305dd, section "Adding a Nonlinearity"; code under GPL-3.0, see
LICENSE-fbsimplenet).  The program is what the notebook trains there: ``simple_net = nn.Sequential(nn.Linear(28*28,
30), nn.ReLU(), nn.Linear(30,1))`` (PyTorch's default init), ``learn = Learner(dls, simple_net, opt_func=SGD,
loss_func=mnist_loss, metrics=batch_accuracy)`` and ``learn.fit(40, 0.1)``; the data, ``dls = DataLoaders(dl,
valid_dl)`` (batch 256, unshuffled, the 3s first), ``mnist_loss`` (with its sigmoid), ``batch_accuracy``,
``init_params`` and ``BasicOptim`` are imported from fbmnistlin.py (the same notebook's earlier cells, copied
there).  The Learner is written out as the plain loop it runs (per batch ``pred = model(xb)``, ``loss =
mnist_loss(pred, yb)``, ``loss.backward()``, ``opt.step()``, ``opt.zero_grad()``; the validation metric after each
epoch) and fastai's ``SGD`` (mom 0, wd 0 by default: "does the same thing as our BasicOptim", says the notebook) as
the notebook's ``BasicOptim(params, 0.1)``.  The notebook's hand-written ``simple_net`` (``res = xb@w1 + b1``,
``res.max(tensor(0.0))``, ``res@w2 + b2``, with ``w1, b1, w2, b2`` from ``init_params``, std 1.0), defined but not
trained in the notebook, is the ``hand_net`` variant (``SimpleNet``: the bare tensors held as nn.Parameters, forward
as the notebook's function).

Changed to run offline on one CPU thread: the data as in fbmnistlin.py (scikit-learn's 8x8 digit 3s and 7s /16, a
seeded quarter held out: 273 training and 89 validation images; 2 batches an epoch instead of 49), so the first
Linear is ``nn.Linear(8*8,30)``; EPOCHS = 980 epochs (1960 steps) stand in for ``fit(40, 0.1)``'s 40 epochs of 49
batches (1960 steps); ``torch.manual_seed(seed)`` (the notebook is not seeded); no recorder plot.  The metric is
the validation accuracy (``batch_accuracy`` over ``valid_dl``, one batch of 89) after the last epoch.

The watch, as a user would add it: ``monitor = gradmedic.watch(model, every=10)`` WITHOUT an optimizer (fastai's
SGD / BasicOptim is not a torch.optim one) right after the optimizer is built, ``monitor.step(loss)`` right after
``loss.backward()``, before ``opt.step()``; ``monitor.close()`` after the loop.

``CASES`` (program "fbsimplenet"): the program on seeds 1-3, and one change each against the same seed's healthy
run: lr x10, x100 (seeds 1 and 2), /1000; the notebook's hand-written ``simple_net`` with ``init_params``' N(0, 1)
weights (seeds 1 and 2; cause init_large); the raw 0..16 digit values; ``opt.zero_grad()`` left out (seeds 1 and
2); the first Linear's bias set to -5 (dead_relu); both Linears' weights and biases zeroed (symmetric_init); and
two changes expected harmless: lr x2 (cause "lr_high") and batch size 64 (cause "healthy").  Labels come from
run.py's outcome rules only.
Recorded (cases-public80; 16 runs in ~30 s, 2-3 s a run, 6 s at batch 64, on a shared 2-core machine, 1960 steps a
run): healthy validation accuracy 1.0, 0.989, 0.989 on seeds 1-3 (0.52, 0.48, 0.43 before training; training loss
0.49-0.50 over the first 5 steps, largest 0.50-0.51, 0.002-0.003 over the last 20; all finite).  Broken (all at
chance, every output on one side: 0.494 = all called 7, 0.506 = all called 3): lr x100 (10): 0.494 on seeds 1 and 2
(training loss ends at 0.27); lr /1000 (1e-4): 0.494 (training loss 0.50 -> 0.48); the hand-written simple_net on
seed 2: 0.506 (first losses 0.68, largest 1.0: every output saturated on the wrong side from the start, training
loss ends at 0.73); ``opt.zero_grad()`` left out: 0.494 on both seeds; bias -5: 0.494 (no ReLU ever on, only the
output bias learns); zero init: 0.494 (zero weights pass no gradient to either layer's weights).  Healthy (the
change did no harm here): lr x10 (1.0): 1.0; the hand-written simple_net on seed 1: 1.0; raw 0..16 inputs: 1.0
(largest loss 0.69); lr x2: 1.0; batch 64: 1.0.  Labels: 8 healthy (3 programs, 5 variants), 8 broken, 0
ambiguous.  No run had a non-finite loss.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from fbmnistlin import BasicOptim, batch_accuracy, init_params, mnist_loss, threes_sevens
from torch import nn, tensor
from torch.utils.data import DataLoader

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, every=10) without an optimizer (fastai's SGD, written out as the notebook's BasicOptim, "
              "updates p.data by hand); monitor.step(loss) right after loss.backward(), before opt.step() and "
              "opt.zero_grad() (the Learner's order)")
EPOCHS = 980  # upstream: learn.fit(40, 0.1), 40 epochs of 49 batches (1960 steps); here 2 batches an epoch (1960 steps)
BS = 256
LR = 0.1


class SimpleNet(nn.Module):
    """gradmedic: the notebook's hand-written ``simple_net`` with its bare ``w1, b1, w2, b2`` tensors (from
    ``init_params``, std 1.0) held as nn.Parameters so that watch() can see them; forward is ``simple_net``."""

    def __init__(self, std=1.0):
        super().__init__()
        self.w1 = nn.Parameter(init_params((8*8,30), std).detach())  # upstream: init_params((28*28,30))
        self.b1 = nn.Parameter(init_params(30, std).detach())
        self.w2 = nn.Parameter(init_params((30,1), std).detach())
        self.b2 = nn.Parameter(init_params(1, std).detach())

    def forward(self, xb):  # def simple_net(xb):
        res = xb@self.w1 + self.b1
        res = res.max(tensor(0.0))
        res = res@self.w2 + self.b2
        return res


def train(seed: int = 1, lr_mult: float = 1.0, hand_net: bool = False, raw_inputs: bool = False,
          zero_grad: bool = True, first_bias: float | None = None, zero_init: bool = False, bs: int = BS,
          epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    """``lr_mult`` scales lr 0.1; ``hand_net``: the notebook's hand-written ``simple_net`` (``init_params``, std
    1.0) instead of its ``nn.Sequential``; ``raw_inputs``: the digits' raw 0..16 values (the /16 left out);
    ``zero_grad=False`` leaves ``opt.zero_grad()`` out; ``first_bias``: the first Linear's bias set to this
    constant; ``zero_init``: both Linear weights (and biases) set to zero; ``bs`` the batch size of both loaders."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)  # upstream: unseeded
    t0 = time.time()
    train_x, train_y, valid_x, valid_y = threes_sevens(seed, scale=1. if raw_inputs else 16.)
    dset = list(zip(train_x,train_y))  # noqa: B905 (as in the notebook)
    valid_dset = list(zip(valid_x,valid_y))  # noqa: B905
    dl = DataLoader(dset, batch_size=bs)  # upstream: fastai's DataLoader, shuffle=False as here
    valid_dl = DataLoader(valid_dset, batch_size=bs)

    if hand_net:
        simple_net = SimpleNet()
    else:
        simple_net = nn.Sequential(
            nn.Linear(8*8,30),  # upstream: nn.Linear(28*28,30)
            nn.ReLU(),
            nn.Linear(30,1)
        )
        if first_bias is not None:  # the dead_relu variant
            nn.init.constant_(simple_net[0].bias, first_bias)
        if zero_init:  # the symmetric_init variant
            for m in (simple_net[0], simple_net[2]):
                nn.init.zeros_(m.weight)
                nn.init.zeros_(m.bias)
    lr = LR * lr_mult
    # upstream: learn = Learner(dls, simple_net, opt_func=SGD, loss_func=mnist_loss, metrics=batch_accuracy);
    # learn.fit(40, 0.1) - written out: fastai's SGD (mom 0, wd 0) is the notebook's BasicOptim
    model = simple_net
    opt = BasicOptim(model.parameters(), lr)
    monitor = gradmedic.watch(model, every=every)  # gradmedic: the optimizer is not a torch.optim one
    losses, accs = [], []

    def validate_epoch(model):
        with torch.no_grad():
            accs = [batch_accuracy(model(xb), yb) for xb,yb in valid_dl]
        return round(torch.stack(accs).mean().item(), 4)

    start_acc = validate_epoch(model)
    for epoch in range(epochs):
        for xb,yb in dl:
            pred = model(xb)
            loss = mnist_loss(pred, yb)
            loss.backward()
            monitor.step(loss)  # gradmedic
            opt.step()
            if zero_grad:  # the no_zero_grad variant leaves this out
                opt.zero_grad()
            losses.append(float(loss.detach()))
        accs.append(validate_epoch(model))
        if verbose and (epoch + 1) % 100 == 0:
            print(f"epoch {epoch + 1} valid acc {accs[-1]} loss {np.mean(losses[-2:]):.4f} ({time.time() - t0:.1f}s)",
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
                          n_train=len(train_x), n_valid=len(valid_x), lr_mult=lr_mult, hand_net=hand_net,
                          raw_inputs=raw_inputs, zero_grad=zero_grad,
                          first_bias=float("nan") if first_bias is None else first_bias, zero_init=zero_init),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="fbsimplenet", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = (f"the notebook's simple_net = nn.Sequential(nn.Linear(8*8,30), nn.ReLU(), nn.Linear(30,1)) (PyTorch's default "
      f"init), mnist_loss with its sigmoid, fastai's SGD (= BasicOptim, p.data -= p.grad.data*lr) lr {LR:g}, bs {BS} "
      f"unshuffled (3s then 7s), {EPOCHS} epochs of 2 steps")
CASES: list[dict] = (
    [_case(f"fbsimplenet_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"fbsimplenet_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("fbsimplenet_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case(f"fbsimplenet_hand_net_s{s}", "init_large", s, {"hand_net": True},
             f"{_P}: the notebook's hand-written simple_net instead (xb@w1 + b1, res.max(tensor(0.0)), res@w2 + b2, "
             f"w1, b1, w2, b2 from init_params, N(0, 1)) in place of nn.Sequential's default init") for s in (1, 2)]
    + [_case("fbsimplenet_raw_inputs_s1", "unscaled_inputs", 1, {"raw_inputs": True},
             f"{_P}: inputs the digits' raw 0..16 values (the /16, the notebook's /255, left out)")]
    + [_case(f"fbsimplenet_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: opt.zero_grad() left out of the loop (the gradients accumulate)") for s in (1, 2)]
    + [_case("fbsimplenet_dead_relu_s1", "dead_relu", 1, {"first_bias": -5.0},
             f"{_P}: the first Linear's bias set to -5 (nn.init.constant_): every ReLU below zero for every input")]
    + [_case("fbsimplenet_zero_init_s1", "symmetric_init", 1, {"zero_init": True},
             f"{_P}: both Linear layers' weights and biases set to zero (nn.init.zeros_)")]
    + [_case("fbsimplenet_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: lr x2 ({LR * 2:g}; expected harmless)")]
    + [_case("fbsimplenet_bs64_s1", "healthy", 1, {"bs": 64},
             f"{_P}: batch size 64 instead of 256 for both DataLoaders (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
