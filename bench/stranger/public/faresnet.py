"""fast.ai course22p2 lesson notebook 13_resnet (the ``ResBlock`` ResNet with BatchNorm, ``init_weights`` /
``kaiming_normal_``, ``optim.AdamW`` under a per-batch ``OneCycleLR``) on digits, watched by gradmedic.

Adapted from https://github.com/fastai/course22p2 (commit df9323235bc395b5c2f58a3d08b83761947b9b93,
nbs/13_resnet.ipynb, last changed in 0eb1895f26f52562b412cc6331f84eac15e3924b, with miniai/init.py's ``conv`` /
``GeneralRelu`` / ``init_weights`` and nbs/12_accel_sgd.ipynb's ``BatchSchedCB``; Apache License 2.0, see
LICENSE-faresnet).  Kept as in the notebook (code copied below): ``act_gr = partial(GeneralRelu, leak=0.1,
sub=0.4)``; ``_conv_block`` (``conv(ni, nf, stride=1, act=act, norm=norm)`` then ``conv(nf, nf, stride=stride,
act=None, norm=norm)``, with the post-lesson ``norm=norm`` fix the notebook carries); ``ResBlock`` (``idconv`` a 1x1
``conv`` when ``ni != nf``, ``pool`` an ``AvgPool2d(2, ceil_mode=True)`` when ``stride != 1``, ``act(convs(x) +
idconv(pool(x)))``); cell 16's ``get_model(act, nfs=(8,16,32,64,128,256), norm=nn.BatchNorm2d)`` (``ResBlock(1, 8,
stride=1)``, five stride-2 ResBlocks 8-16-32-64-128-256 (28 -> 14 -> 7 -> 4 -> 2 -> 1), ``nn.Flatten()``,
``nn.Linear(256, 10, bias=False)``, ``nn.BatchNorm1d(10)``) built as ``get_model(act_gr,
norm=nn.BatchNorm2d).apply(iw)`` (``kaiming_normal_(a=0.1)`` on every conv); ``F.cross_entropy``; cell 21:
``lr = 2e-2``, ``optim.AdamW`` (PyTorch's defaults: betas (0.9, 0.999), weight_decay 0.01), ``OneCycleLR(max_lr=lr,
total_steps=epochs * len(dls.train))`` stepped after every training batch (``BatchSchedCB``).

Changed to run offline on one CPU thread: Fashion-MNIST (60000 images of 28x28, ``bs = 1024``, normalized by the
constants ``xmean,xstd = 0.28, 0.35``) is scikit-learn's ``load_digits`` upsampled to 1x16x16 in [0, 1] (``digits16``
below: bilinear ``F.interpolate`` x2 of the 8x8 images /16, as bmlp.py's ``digits28`` does at 28; a fixed 1437
training / 360 held-out split) normalized with the training set's own mean and std.  At 16x16 the five stride-2
ResBlocks take 16 -> 8 -> 4 -> 2 -> 1 -> 1 (at 28x28 a run took ~80 s on this shared 2-core machine; the model is
unchanged, the last ResBlock works on 1x1 maps).  Batch size 256 (at 1024 an epoch of 1437 images is two steps);
EPOCHS (10) epochs of 6 steps (60 steps, the one-cycle schedule over those 60) instead of the notebook's 5 epochs
of 59 steps, to keep a run near 20 s.  miniai's ``TrainLearner`` with its callbacks
(``MetricsCB``/``ProgressCB``/``ActivationStats``/``DeviceCB``, ``BatchSchedCB``) is written out as the plain loop it
runs: ``opt = optim.AdamW(model.parameters(), lr)`` and the scheduler built at the start of ``fit``; per epoch
``model.train()``; per batch ``preds = model(xb)``, ``loss = F.cross_entropy(preds, yb)``, ``loss.backward()``,
``opt.step()``, ``opt.zero_grad()``, ``sched.step()``; the per-epoch validation pass is done once, after the last
epoch, under ``torch.no_grad()`` with ``model.eval()``.  ``fc.noop`` is ``nn.Identity()`` (the same forward; fc.noop
is a plain function).  ``torch.manual_seed(seed)`` replaces ``set_seed(42)``; the training loader shuffles with a
``torch.Generator`` seeded with the run's seed.  The metric is the accuracy on the 360 held-out images after
training.

The watch, as a user would add it: ``monitor = gradmedic.watch(model, opt, every=10)`` right after the optimizer
and scheduler are built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``opt.step()``;
``monitor.close()`` after the loop.

``CASES`` (program "faresnet"): the program on seeds 1-3, and one change each against the same seed's healthy run:
lr x10, x100 (seeds 1 and 2), /1000 (max_lr of the one-cycle schedule); raw 0..255 pixel values (not normalized);
N(0, 1) on every conv weight instead of ``kaiming_normal_``; ``opt.zero_grad()`` left out; every BatchNorm removed
(``get_model(act_gr, norm=None)``, whose convs then get biases, and the final ``nn.BatchNorm1d(10)`` left out);
``nn.ReLU`` instead of ``act_gr`` (the notebook's ``get_model`` default; cause "healthy"); lr x2 (expected
harmless).  Labels come from run.py's outcome rules only.
Recorded (cases-public68; 13 cases in 362 s, 60 steps a run: 11-21 s a run alone, 39-48 s while the faaccel
recording ran beside it on the shared 2-core machine): healthy test accuracy 0.989 on each of seeds 1-3 (training
loss ~1.3 over the first 5 steps, largest 2.54-2.83, ends at ~0.089; all finite).  Broken: max_lr x100 (2.0) on
seed 1: 0.228 and on seed 2: 0.214 (train loss stuck at 1.2-1.5, no blow-up: largest 2.63 / 2.83); max_lr /1000
(2e-5): 0.472 (train loss 1.54); ``opt.zero_grad()`` left out: 0.869 (train loss 0.395); every BatchNorm removed:
0.247 (the loss climbs to 1.5e4, ends at 22.4, all finite).  Healthy (the change did no harm here): max_lr x10
(0.2): 0.986; N(0, 1) conv weights: 0.986 (first loss 2.19; BatchNorm absorbs the scale); nn.ReLU instead of
act_gr: 0.983; max_lr x2: 0.983.  Ambiguous: raw 0..255 pixels: 0.933 (train loss 0.315; 5.6 points below the
control).  Labels: 7 healthy (3 programs, 4 variants), 5 broken, 1 ambiguous.  No run had a non-finite loss.
"""

# ruff: noqa: E701, E731  (the notebook's one-line ifs and lambdas)
from __future__ import annotations

import time
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.nn import init
from torch.optim import lr_scheduler
from torch.utils.data import DataLoader, TensorDataset

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(model, opt, every=10) after optim.AdamW and OneCycleLR are built; monitor.step(loss) right after "
              "loss.backward(), before opt.step() (then opt.zero_grad(), sched.step())")
EPOCHS = 10
BS = 256
LR = 2e-2


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


# ---- nbs/13_resnet.ipynb ---------------------------------------------------------------------------------------------
act_gr = partial(GeneralRelu, leak=0.1, sub=0.4)


def _conv_block(ni, nf, stride, act=act_gr, norm=None, ks=3):
    return nn.Sequential(conv(ni, nf, stride=1, act=act, norm=norm, ks=ks),
                         conv(nf, nf, stride=stride, act=None, norm=norm, ks=ks))


class ResBlock(nn.Module):
    def __init__(self, ni, nf, stride=1, ks=3, act=act_gr, norm=None):
        super().__init__()
        self.convs = _conv_block(ni, nf, stride, act=act, ks=ks, norm=norm)
        self.idconv = nn.Identity() if ni==nf else conv(ni, nf, ks=1, stride=1, act=None)  # fc.noop
        self.pool = nn.Identity() if stride==1 else nn.AvgPool2d(2, ceil_mode=True)  # fc.noop
        self.act = act()

    def forward(self, x): return self.act(self.convs(x) + self.idconv(self.pool(x)))


def get_model(act=nn.ReLU, nfs=(8,16,32,64,128,256), norm=nn.BatchNorm2d):
    layers = [ResBlock(1, 8, stride=1, act=act, norm=norm)]
    layers += [ResBlock(nfs[i], nfs[i+1], act=act, norm=norm, stride=2) for i in range(len(nfs)-1)]
    layers += [nn.Flatten(), nn.Linear(nfs[-1], 10, bias=False)]
    if norm: layers.append(nn.BatchNorm1d(10))  # the no_norm variant leaves the final BatchNorm1d out too
    return nn.Sequential(*layers)


def digits16():
    """(train, test) load_digits images as 1x16x16 tensors in [0, 1] (bilinear x2 of the 8x8 images, as bmlp.py's
    digits28 does at 28) and their labels: the fixed 1437/360 split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)

    def up(x):
        x = torch.tensor(x, dtype=torch.float32)[:, None] / 16.0  # ToTensor: [0, 1]
        return F.interpolate(x, size=(16, 16), mode="bilinear", align_corners=False).clamp(0, 1)

    return up(xtr), torch.tensor(ytr), up(xte), torch.tensor(yte)


def train(seed: int = 1, lr_mult: float = 1.0, raw_inputs: bool = False, init_mode: str = "iw", norm: bool = True,
          act: str = "gr", zero_grad: bool = True, epochs: int = EPOCHS, every: int = 10,
          verbose: bool = False) -> dict:
    """``raw_inputs``: raw 0..255 pixel values, not normalized.  ``init_mode``: "iw" (kaiming_normal_ a=0.1) or
    "std1" (normal_(0, 1) on every conv weight).  ``norm``: False builds the model with norm=None and no final
    BatchNorm1d.  ``act``: "gr" (act_gr) or "relu" (nn.ReLU).  ``zero_grad``: False leaves ``opt.zero_grad()`` out."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    xtr, ytr, xte, yte = digits16()
    if raw_inputs:  # the bug: raw 0..255 pixels, no normalization
        xtr, xte = xtr * 255.0, xte * 255.0
    else:
        xmean, xstd = xtr.mean(), xtr.std()
        xtr, xte = (xtr - xmean) / xstd, (xte - xmean) / xstd
    g = torch.Generator()
    g.manual_seed(seed)
    dl = DataLoader(TensorDataset(xtr, ytr), batch_size=BS, shuffle=True, generator=g)

    iw = partial(init_weights, leaky=0.1)
    model = get_model(act_gr if act == "gr" else nn.ReLU, norm=nn.BatchNorm2d if norm else None).apply(iw)
    if init_mode == "std1":  # the bug: N(0, 1) conv weights
        for m in model.modules():
            if isinstance(m, nn.Conv2d): init.normal_(m.weight, 0.0, 1.0)
    lr = LR * lr_mult
    tmax = epochs * len(dl)
    sched = partial(lr_scheduler.OneCycleLR, max_lr=lr, total_steps=tmax)
    opt = optim.AdamW(model.parameters(), lr)
    schedo = sched(opt)
    monitor = gradmedic.watch(model, opt, every=every)  # gradmedic
    losses = []
    for epoch in range(epochs):
        model.train()
        for xb, yb in dl:
            preds = model(xb)
            loss = F.cross_entropy(preds, yb)
            loss.backward()
            monitor.step(loss)  # gradmedic
            opt.step()
            if zero_grad:  # the no_zero_grad variant leaves this out
                opt.zero_grad()
            schedo.step()
            losses.append(float(loss.detach()))
        if verbose and (epoch + 1) % 3 == 0:
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
                          finite_losses=bool(np.isfinite(losses).all()), steps=len(losses), epochs=epochs,
                          lr_mult=lr_mult, raw_inputs=raw_inputs, init_mode=init_mode, norm=norm, act=act,
                          zero_grad=zero_grad),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="faresnet", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"notebook 13's ResNet (ResBlocks 1-8-16-32-64-128-256 with BatchNorm2d, GeneralRelu, kaiming_normal_, Linear + "
      f"BatchNorm1d), F.cross_entropy, optim.AdamW under OneCycleLR max_lr {LR:g}, bs {BS}, {EPOCHS} epochs of 6 steps")
CASES: list[dict] = (
    [_case(f"faresnet_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"faresnet_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: max_lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("faresnet_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: max_lr /1000 ({LR * 1e-3:g})")]
    + [_case("faresnet_raw_pixels_s1", "unscaled_inputs", 1, {"raw_inputs": True},
             f"{_P}: raw 0..255 pixel values, not normalized")]
    + [_case("faresnet_init_std1_s1", "init_large", 1, {"init_mode": "std1"},
             f"{_P}: init.normal_(std=1.0) on every conv weight instead of kaiming_normal_(a=0.1)")]
    + [_case("faresnet_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: opt.zero_grad() left out (the gradients accumulate)")]
    + [_case("faresnet_no_norm_s1", "no_norm", 1, {"norm": False},
             f"{_P}: every BatchNorm removed (get_model(act_gr, norm=None), no final BatchNorm1d)")]
    + [_case("faresnet_relu_s1", "healthy", 1, {"act": "relu"}, f"{_P}: nn.ReLU instead of act_gr")]
    + [_case("faresnet_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: max_lr x2 ({LR * 2:g})")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
