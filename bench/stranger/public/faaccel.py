"""fast.ai course22p2 lesson notebook 12_accel_sgd (the hand-written ``SGD`` / ``Momentum`` / ``RMSProp`` / ``Adam``
optimizer classes that update the parameters themselves, on the notebook's BatchNorm CNN) on digits, watched by
gradmedic.

Adapted from https://github.com/fastai/course22p2 (commit df9323235bc395b5c2f58a3d08b83761947b9b93,
nbs/12_accel_sgd.ipynb, last changed in 0a3c31e834d42045632cc1ba942bbf995864e59b, with miniai/init.py's ``conv`` /
``get_model`` / ``GeneralRelu`` / ``init_weights``; Apache License 2.0, see LICENSE-faaccel).  Kept as in the
notebook (code copied below): the optimizer classes of cells 9, 16, 21 and 25: ``SGD(params, lr, wd=0.)`` (``step``
under ``torch.no_grad()`` runs ``reg_step`` (``p *= 1 - lr*wd`` when ``wd != 0``) and ``opt_step`` on every
parameter, then ``self.i += 1``; ``zero_grad`` does ``p.grad.data.zero_()``), ``Momentum(SGD)`` (``mom=0.9``,
``p.grad_avg = p.grad_avg*mom + p.grad*(1-mom)``), ``RMSProp(SGD)`` (``sqr_mom=0.99, eps=1e-5``, ``sqr_avg`` started
at ``grad**2``) and ``Adam(SGD)`` (``beta1=0.9, beta2=0.99, eps=1e-5``, bias-corrected with ``self.i``); the model
``get_model(act_gr, norm=nn.BatchNorm2d).apply(iw)`` (miniai.init: four stride-2 ``conv``s 1-8-16-32-64, each Conv2d
without bias + BatchNorm2d + ``GeneralRelu(leak=0.1, sub=0.4)``, then ``conv(64, 10, act=None, norm=False,
bias=True)`` and ``nn.Flatten()``: 28 -> 14 -> 7 -> 4 -> 2 -> 1), ``init_weights`` with ``kaiming_normal_(a=0.1)``
on every conv; ``F.cross_entropy``; the notebook's learning rates: ``SGD`` 0.4 (cell 10), ``Momentum`` 1.5 (cell
17), ``RMSProp`` 3e-3 (cell 22), ``Adam`` 6e-3 (cell 26).  The program's main run is cell 26 (``Adam``, lr 6e-3).

Changed to run offline on one CPU thread: Fashion-MNIST (60000 images, ``bs = 1024``, normalized by the constants
``xmean,xstd = 0.28, 0.35``) is scikit-learn's ``load_digits`` upsampled to 1x28x28 in [0, 1] (``digits28`` from
bmlp.py: bilinear ``F.interpolate`` of the 8x8 images /16; a fixed 1437 training / 360 held-out split) normalized
with the training set's own mean and std.  Batch size 256 (at 1024 an epoch of 1437 images is two steps); EPOCHS
(30) epochs of 6 steps (180 steps) stand in for the notebook's ``fit(3)`` of 59 steps (177 steps).  miniai's
``TrainLearner`` (with ``MetricsCB``/``ProgressCB``/``ActivationStats``/``DeviceCB``) is written out as the plain
loop it runs: per epoch ``model.train()``, per batch ``preds = model(xb)``, ``loss = F.cross_entropy(preds, yb)``,
``loss.backward()``, ``opt.step()``, ``opt.zero_grad()`` (the Learner builds ``opt = opt_func(model.parameters(),
lr)`` in ``fit``); the per-epoch validation pass is done once, after the last epoch, under ``torch.no_grad()``
with ``model.eval()``.  ``fc.store_attr()`` is written out as assignments.  ``torch.manual_seed(seed)`` replaces
``set_seed(42)``; the training loader shuffles with a ``torch.Generator`` seeded with the run's seed.  The metric is
the accuracy on the 360 held-out images after training.

The watch, as a user would add it: ``monitor = gradmedic.watch(model, every=10)`` WITHOUT an optimizer (the
notebook's optimizers are not ``torch.optim`` ones) right after the hand-written optimizer is built,
``monitor.step(loss)`` right after ``loss.backward()``, before the hand-written ``opt.step()``; ``monitor.close()``
after the loop.

``CASES`` (program "faaccel"): the program (Adam, lr 6e-3) on seeds 1-3, and one change each against the same
seed's healthy run: lr x10, x100 (seeds 1 and 2), /1000; raw 0..16 digit values (not normalized); N(0, 1) on every
conv weight instead of ``kaiming_normal_``; ``opt.zero_grad()`` left out; the notebook's ``Momentum`` (lr 1.5),
``RMSProp`` (lr 3e-3) and ``SGD`` (lr 0.4) classes instead of ``Adam`` (cause "healthy", labelled by outcome); lr
x2 (expected harmless).  Labels come from run.py's outcome rules only.
Recorded (cases-public68; 14 cases in 215 s, 13-19 s a run on a shared 2-core machine, 180 steps a run): healthy
test accuracy 0.983, 0.975, 0.983 on seeds 1-3 (training loss ~1.25 over the first 5 steps, largest 2.40-2.44, ends
at ~0.0013; all finite).  Broken: lr /1000 (6e-6): 0.167 (the loss stays near 2.2-2.45); ``opt.zero_grad()`` left
out: 0.831 (train loss ends at 1.76, largest 3.49).  Healthy (the change did no harm here): lr x10 (0.06): 0.986;
raw 0..16 inputs: 0.983 (the first BatchNorm2d absorbs the scale); lr x2: 0.981; the notebook's Momentum (lr 1.5),
RMSProp (lr 3e-3) and SGD (lr 0.4): 0.978 each.  Ambiguous (worse than the control by less than 10 points, below
its good outcome by more than 3): lr x100 (0.6) on seed 1: 0.944 (first losses ~23, largest 64.8, all finite) and
on seed 2: 0.956 (largest 58.7); N(0, 1) conv weights: 0.939 (first loss 8.2, largest 12.3).  Labels: 9 healthy
(3 programs, 6 variants), 2 broken, 3 ambiguous.  No run had a non-finite loss: with BatchNorm2d after every conv
the network is nearly scale-invariant, so even lr x100 and N(0, 1) weights recover (an off-list check at lr x1000,
6.0, not recorded, still ended at 0.947).
"""

# ruff: noqa: E701  (the notebook's one-line ifs and defs)
from __future__ import annotations

import time
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from bmlp import digits28
from torch import nn
from torch.nn import init
from torch.utils.data import DataLoader, TensorDataset

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(model, every=10) without an optimizer (the notebook's hand-written SGD/Momentum/RMSProp/Adam "
              "update p in place); monitor.step(loss) right after loss.backward(), before the hand-written opt.step()")
EPOCHS = 30
BS = 256
LRS = {"Adam": 6e-3, "SGD": 0.4, "Momentum": 1.5, "RMSProp": 3e-3}  # the notebook's cells 26, 10, 17, 22


# ---- miniai/init.py (from nbs/11_initializing.ipynb) -----------------------------------------------------------------
class GeneralRelu(nn.Module):
    def __init__(self, leak=None, sub=None, maxv=None):
        super().__init__()
        self.leak,self.sub,self.maxv = leak,sub,maxv

    def forward(self, x):
        x = F.leaky_relu(x,self.leak) if self.leak is not None else F.relu(x)
        if self.sub is not None: x -= self.sub
        if self.maxv is not None: x.clamp_max_(self.maxv)
        return x


def init_weights(m, leaky=0.):
    if isinstance(m, (nn.Conv1d,nn.Conv2d,nn.Conv3d)): init.kaiming_normal_(m.weight, a=leaky)


def conv(ni, nf, ks=3, stride=2, act=nn.ReLU, norm=None, bias=None):
    if bias is None: bias = not isinstance(norm, (nn.BatchNorm1d,nn.BatchNorm2d,nn.BatchNorm3d))
    layers = [nn.Conv2d(ni, nf, stride=stride, kernel_size=ks, padding=ks//2, bias=bias)]
    if norm: layers.append(norm(nf))
    if act: layers.append(act())
    return nn.Sequential(*layers)


def get_model(act=nn.ReLU, nfs=None, norm=None):
    if nfs is None: nfs = [1,8,16,32,64]
    layers = [conv(nfs[i], nfs[i+1], act=act, norm=norm) for i in range(len(nfs)-1)]
    return nn.Sequential(*layers, conv(nfs[-1],10, act=None, norm=False, bias=True),
                         nn.Flatten())


# ---- nbs/12_accel_sgd.ipynb: the optimizers ---------------------------------------------------------------------------
class SGD:
    def __init__(self, params, lr, wd=0.):
        params = list(params)
        self.params, self.lr, self.wd = params, lr, wd  # fc.store_attr()
        self.i = 0

    def step(self):
        with torch.no_grad():
            for p in self.params:
                self.reg_step(p)
                self.opt_step(p)
        self.i +=1

    def opt_step(self, p): p -= p.grad * self.lr
    def reg_step(self, p):
        if self.wd != 0: p *= 1 - self.lr*self.wd

    def zero_grad(self):
        for p in self.params: p.grad.data.zero_()


class Momentum(SGD):
    def __init__(self, params, lr, wd=0., mom=0.9):
        super().__init__(params, lr=lr, wd=wd)
        self.mom=mom

    def opt_step(self, p):
        if not hasattr(p, 'grad_avg'): p.grad_avg = torch.zeros_like(p.grad)
        p.grad_avg = p.grad_avg*self.mom + p.grad*(1-self.mom)
        p -= self.lr * p.grad_avg


class RMSProp(SGD):
    def __init__(self, params, lr, wd=0., sqr_mom=0.99, eps=1e-5):
        super().__init__(params, lr=lr, wd=wd)
        self.sqr_mom,self.eps = sqr_mom,eps

    def opt_step(self, p):
        if not hasattr(p, 'sqr_avg'): p.sqr_avg = p.grad**2
        p.sqr_avg = p.sqr_avg*self.sqr_mom + p.grad**2*(1-self.sqr_mom)
        p -= self.lr * p.grad/(p.sqr_avg.sqrt() + self.eps)


class Adam(SGD):
    def __init__(self, params, lr, wd=0., beta1=0.9, beta2=0.99, eps=1e-5):
        super().__init__(params, lr=lr, wd=wd)
        self.beta1,self.beta2,self.eps = beta1,beta2,eps

    def opt_step(self, p):
        if not hasattr(p, 'avg'): p.avg = torch.zeros_like(p.grad.data)
        if not hasattr(p, 'sqr_avg'): p.sqr_avg = torch.zeros_like(p.grad.data)
        p.avg = self.beta1*p.avg + (1-self.beta1)*p.grad
        unbias_avg = p.avg / (1 - (self.beta1**(self.i+1)))
        p.sqr_avg = self.beta2*p.sqr_avg + (1-self.beta2)*(p.grad**2)
        unbias_sqr_avg = p.sqr_avg / (1 - (self.beta2**(self.i+1)))
        p -= self.lr * unbias_avg / (unbias_sqr_avg + self.eps).sqrt()


OPTS = {"Adam": Adam, "SGD": SGD, "Momentum": Momentum, "RMSProp": RMSProp}


def train(seed: int = 1, opt: str = "Adam", lr_mult: float = 1.0, raw_inputs: bool = False, init_mode: str = "iw",
          zero_grad: bool = True, epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    """``opt``: which of the notebook's optimizer classes (at the notebook's lr for it, times ``lr_mult``).
    ``raw_inputs``: the digits' raw 0..16 values, not normalized.  ``init_mode``: "iw" (kaiming_normal_ a=0.1) or
    "std1" (normal_(0, 1) on every conv weight).  ``zero_grad``: False leaves ``opt.zero_grad()`` out."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    xtr, ytr, xte, yte = digits28()
    if raw_inputs:  # the bug: raw 0..16 values, no normalization
        xtr, xte = xtr * 16.0, xte * 16.0
    else:
        xmean, xstd = xtr.mean(), xtr.std()
        xtr, xte = (xtr - xmean) / xstd, (xte - xmean) / xstd
    g = torch.Generator()
    g.manual_seed(seed)
    dl = DataLoader(TensorDataset(xtr, ytr), batch_size=BS, shuffle=True, generator=g)

    act_gr = partial(GeneralRelu, leak=0.1, sub=0.4)
    iw = partial(init_weights, leaky=0.1)
    model = get_model(act_gr, norm=nn.BatchNorm2d).apply(iw)
    if init_mode == "std1":  # the bug: N(0, 1) conv weights
        for m in model.modules():
            if isinstance(m, nn.Conv2d): init.normal_(m.weight, 0.0, 1.0)
    lr = LRS[opt] * lr_mult
    optimizer = OPTS[opt](model.parameters(), lr)
    monitor = gradmedic.watch(model, every=every)  # gradmedic: the optimizer is not a torch.optim one
    losses = []
    for epoch in range(epochs):
        model.train()
        for xb, yb in dl:
            preds = model(xb)
            loss = F.cross_entropy(preds, yb)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            losses.append(float(loss.detach()))
        if verbose and (epoch + 1) % 5 == 0:
            print(f"epoch {epoch + 1} loss {np.mean(losses[-6:]):.4f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    model.eval()
    with torch.no_grad():
        preds = model(xte)
        acc = float((preds.argmax(dim=1) == yte).float().mean())
        test_loss = float(F.cross_entropy(preds, yte))
    finite = [v for v in losses if np.isfinite(v)]
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc, "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(test_loss=test_loss, lr=lr, train_loss=float(np.mean(losses[-6:])),
                          first_loss=float(np.mean(losses[:5])), max_loss=float(max(finite)) if finite else float("nan"),
                          finite_losses=bool(np.isfinite(losses).all()), steps=len(losses), epochs=epochs, opt=opt,
                          lr_mult=lr_mult, raw_inputs=raw_inputs, init_mode=init_mode, zero_grad=zero_grad),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="faaccel", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"notebook 12's BatchNorm CNN (get_model(act_gr, norm=BatchNorm2d).apply(iw), 1-8-16-32-64-10) trained by its "
      f"hand-written Adam (lr {LRS['Adam']:g}, betas 0.9/0.99, eps 1e-5), F.cross_entropy, bs {BS}, {EPOCHS} epochs "
      f"of 6 steps")
CASES: list[dict] = (
    [_case(f"faaccel_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"faaccel_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LRS['Adam'] * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("faaccel_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LRS['Adam'] * 1e-3:g})")]
    + [_case("faaccel_raw_inputs_s1", "unscaled_inputs", 1, {"raw_inputs": True},
             f"{_P}: inputs the digits' raw 0..16 values, not normalized")]
    + [_case("faaccel_init_std1_s1", "init_large", 1, {"init_mode": "std1"},
             f"{_P}: init.normal_(std=1.0) on every conv weight instead of kaiming_normal_(a=0.1)")]
    + [_case("faaccel_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: opt.zero_grad() left out (the gradients accumulate)")]
    + [_case(f"faaccel_{o.lower()}_s1", "healthy", 1, {"opt": o},
             f"{_P}: the notebook's hand-written {o} class (lr {LRS[o]:g}) instead of its Adam")
       for o in ("Momentum", "RMSProp", "SGD")]
    + [_case("faaccel_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: lr x2 ({LRS['Adam'] * 2:g})")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
