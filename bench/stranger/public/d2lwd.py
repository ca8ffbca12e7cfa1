"""Dive into Deep Learning (d2l-ai/d2l-en): weight decay from scratch, watched by gradmedic.

Adapted from https://github.com/d2l-ai/d2l-en (the book's sample code is under the modified MIT licence of
LICENSE-SAMPLECODE, see LICENSE-d2lwd): the PyTorch tab of "Implementation from Scratch" in
chapter_linear-regression/weight-decay.md (last changed in commit 41cbd3d0e51ddfd54bb99a85433d1d82535db532;
repository HEAD 23d7a5aecceee57d1292c56e90cce307f183bb0a): the chapter's ``Data`` (high-dimensional linear
regression), ``l2_penalty``, ``WeightDecayScratch`` and ``train_scratch(3)``, with the d2l package's plumbing they use
written out plainly from d2l/torch.py of that HEAD (the package is not installed here), as d2llinscratch.py does:
``LinearRegressionScratch`` (``w = torch.normal(0, sigma=0.01, (num_inputs, 1), requires_grad=True)``,
``b = torch.zeros(1, requires_grad=True)``, plain tensors, not ``nn.Parameter``; ``forward`` = ``X @ w + b``;
``loss`` = ``((y_hat - y) ** 2 / 2).mean()``), its from-scratch ``SGD`` class (``param -= lr * param.grad`` for
``[w, b]``; ``zero_grad``: ``param.grad.zero_()``; a ``d2l.HyperParameters``, NOT a ``torch.optim.Optimizer``),
``d2l.DataModule.get_tensorloader`` (``DataLoader(TensorDataset(X, y), batch_size, shuffle=train)``) and
``d2l.Trainer.fit``/``fit_epoch`` as a plain loop (per batch: ``training_step`` = ``self.loss(self(X), y)``,
``optim.zero_grad()``, then under ``torch.no_grad()``: ``loss.backward()`` and ``optim.step()``; no clipping).
The from-scratch version was picked (it trains with that plain loop); the chapter's concise ``WeightDecay``
(``nn.LazyLinear`` + ``torch.optim.SGD`` with ``weight_decay``) is not ported.

Kept as in the book: ``Data(num_train=20, num_val=100, num_inputs=200, batch_size=5)`` (``X = torch.randn(120,
200)``, ``noise = torch.randn(120, 1) * 0.01``, ``y = X @ (0.01 * ones(200, 1)) + 0.05 + noise``; the first 20 rows
train, shuffled each epoch by the global RNG, the other 100 validate); ``l2_penalty(w) = torch.sum(w**2) / 2``;
``WeightDecayScratch(num_inputs=200, lambd=3, lr=0.01)`` whose loss is the squared loss above
``+ self.lambd * l2_penalty(self.w)`` (b is not penalized); ``d2l.Trainer(max_epochs=10)``: 10 epochs of 4 steps (40
steps: nothing was shrunk; a run takes well under 1 s).  The data is made before the model, as in the chapter.

Changed: the model has ``def parameters(self): return [self.w, self.b]`` (as in d2llinscratch.py: the book's own
idiom for its other from-scratch models) because ``w`` and ``b`` are plain tensors that ``nn.Module`` does not
register, so without it ``gradmedic.watch(model)`` finds no trainable parameters; it is used only by the watch (the
SGD gets ``[self.w, self.b]`` from ``configure_optimizers`` as in the book).  Only ``train_scratch(3)`` runs (the
chapter first runs ``train_scratch(0)``, the overfitting baseline, with the same data).  ``torch.manual_seed(seed)``
before the data is made (the book does not seed); the ProgressBoard plots (log y-scale), the per-epoch validation
pass (it only plots), ``save_hyperparameters``, ``add_to_class`` and the GPU handling are left out.  The metric
("loss") is the validation loss after training: ``LinearRegressionScratch.loss`` (squared error / 2, mean) over
the 100 validation examples, without the penalty term (the book's plotted ``val_loss`` adds ``lambd *
l2_penalty(w)``; that value is in ``extra`` as ``val_loss_with_penalty``); ``initial`` is the same validation loss of
the untrained model (not the mean of the first 5 training losses, which carry the penalty and are on the 20
training examples; those are ``extra``'s ``first_loss``); ``chance`` is the validation loss of predicting the
training targets' mean.  With 20 examples of 200 features the healthy run cannot learn w (the chapter's point):
weight decay keeps w small, so its validation loss ends near the mean predictor's, about half the untrained one.

The watch, as a user would: ``monitor = gradmedic.watch(model, every=10)`` (no optimizer: the book's SGD class is
not a torch optimizer) right after ``model.configure_optimizers()`` in ``fit``, ``monitor.step(loss)`` right after
``loss.backward()`` (inside ``fit_epoch``'s ``torch.no_grad()`` block), before ``optim.step()``;
``monitor.close()`` after the loop.

``CASES`` (in the shape of run.py's ``case()``, program "d2lwd"): the program on seeds 1-3, and one change each
against the same seed's healthy run: lr x10, x100 (seeds 1 and 2), /1000; the features x100 (``X`` of both splits,
target unchanged); ``w`` drawn from N(0, 1) (``sigma=1``) instead of N(0, 0.01); ``optim.zero_grad()`` left out of
``fit_epoch``; lr x2 (expected harmless); ``lambd`` 30 instead of 3 (a stronger weight decay, expected harmless;
cause "healthy", as no cause of causes.py names it).  Labels come from run.py's outcome rules only.
Recorded (cases-public47, under 1 s for the 12 runs; 0.02-0.2 s a run): healthy 0.0118, 0.0097, 0.0108 validation
loss on seeds 1-3 (from 0.0202, 0.0197, 0.0247 untrained; mean predictor 0.0113, 0.0120, 0.0104; train loss
0.037-0.057 over the first 5 steps -> 0.004-0.006, largest 0.045-0.085; L2 norm of w 0.0011-0.0017): healthy; lr
x10 (0.1): 2.5e4 (train loss up to 2e5, all finite): broken; lr x100 (seeds 1 and 2): losses up to 2e36 then
inf/NaN, NaN: broken; lr /1000: 0.0202 (no progress from 0.0202): broken; the features x100: first losses ~5e25,
then NaN: broken; w ~ N(0, 1): 6.60 (from 101 untrained; first losses ~340): broken; zero_grad left out: 0.0266
(train loss climbs to 0.36, ends 0.13): broken; lr x2: 0.0113: healthy; lambd 30: 0.0112 (L2 norm of w 8e-5):
healthy.  Labels: 5 healthy (3 programs, 2 variants), 7 broken, 0 ambiguous.  Tried and left out (ambiguous on
seeds 1-3 in trial runs): ``lambd`` 0 (the chapter's own overfitting run, 0.016-0.020: no cause names it, and it is
no good outcome) and the targets x100 (0.0114 in the target's units, but its losses 1e4 times the control's).
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from torch import nn

import gradmedic

ARCH = "linear"
MONITOR_AT = ("watch(model, every=10) without an optimizer right after model.configure_optimizers() (d2l's "
              "Trainer.fit; the book's from-scratch SGD class is not a torch.optim.Optimizer; the model's w and b are "
              "plain tensors its parameters() returns); monitor.step(loss) right after loss.backward() in "
              "Trainer.fit_epoch (inside its torch.no_grad() block), before optim.step()")


class Data:  # d2l.DataModule in the book
    def __init__(self, num_train, num_val, num_inputs, batch_size):
        self.num_train, self.num_val, self.num_inputs, self.batch_size = num_train, num_val, num_inputs, batch_size
        n = num_train + num_val
        self.X = torch.randn(n, num_inputs)
        noise = torch.randn(n, 1) * 0.01
        w, b = torch.ones((num_inputs, 1)) * 0.01, 0.05
        self.y = torch.matmul(self.X, w) + b + noise

    def get_tensorloader(self, tensors, train, indices=slice(0, None)):  # d2l.DataModule
        tensors = tuple(a[indices] for a in tensors)
        dataset = torch.utils.data.TensorDataset(*tensors)
        return torch.utils.data.DataLoader(dataset, self.batch_size, shuffle=train)

    def get_dataloader(self, train):
        i = slice(0, self.num_train) if train else slice(self.num_train, None)
        return self.get_tensorloader([self.X, self.y], train, i)

    def train_dataloader(self):
        return self.get_dataloader(train=True)


def l2_penalty(w):
    return torch.sum(w**2) / 2


class SGD:  # d2l.SGD (a d2l.HyperParameters) in the book
    """Minibatch stochastic gradient descent."""

    def __init__(self, params, lr):
        self.params, self.lr = params, lr

    def step(self):
        for param in self.params:
            param -= self.lr * param.grad

    def zero_grad(self):
        for param in self.params:
            if param.grad is not None:
                param.grad.zero_()


class LinearRegressionScratch(nn.Module):  # d2l.LinearRegressionScratch (a d2l.Module) in the book
    def __init__(self, num_inputs, lr, sigma=0.01):
        super().__init__()
        self.num_inputs, self.lr, self.sigma = num_inputs, lr, sigma
        self.w = torch.normal(0, sigma, (num_inputs, 1), requires_grad=True)
        self.b = torch.zeros(1, requires_grad=True)

    def parameters(self):  # added (the book's idiom for its other from-scratch models) so that watch() finds w, b
        return [self.w, self.b]

    def forward(self, X):
        return torch.matmul(X, self.w) + self.b

    def loss(self, y_hat, y):
        l = (y_hat - y) ** 2 / 2  # noqa: E741
        return l.mean()

    def configure_optimizers(self):
        return SGD([self.w, self.b], self.lr)

    def training_step(self, batch):  # d2l.Module
        l = self.loss(self(*batch[:-1]), batch[-1])  # noqa: E741
        return l


class WeightDecayScratch(LinearRegressionScratch):
    def __init__(self, num_inputs, lambd, lr, sigma=0.01):
        super().__init__(num_inputs, lr, sigma)
        self.lambd = lambd

    def loss(self, y_hat, y):
        return (super().loss(y_hat, y) +
                self.lambd * l2_penalty(self.w))


def fit(model, data, max_epochs, zero_grad=True, every=10, verbose=False):
    """d2l.Trainer.fit and fit_epoch as plain loops (no validation pass: the book's only plots it), watched."""
    train_dataloader = data.train_dataloader()
    optim = model.configure_optimizers()
    monitor = gradmedic.watch(model, every=every)
    losses = []
    t0 = time.time()
    for epoch in range(max_epochs):
        model.train()
        for batch in train_dataloader:
            loss = model.training_step(batch)
            if zero_grad:  # the no_zero_grad variant leaves this out
                optim.zero_grad()
            with torch.no_grad():
                loss.backward()
                monitor.step(loss)  # gradmedic
                optim.step()
            losses.append(loss.item())
        if verbose:
            print(f"epoch {epoch + 1} loss {np.mean(losses[-4:]):.4g} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    return monitor, losses


def val_loss(model, data, with_penalty=False):
    """The squared loss /2 (LinearRegressionScratch.loss) over the 100 validation examples; with the penalty term
    (WeightDecayScratch.loss, what the book's validation_step plots) when asked."""
    X, y = data.X[data.num_train:], data.y[data.num_train:]
    with torch.no_grad():
        v = LinearRegressionScratch.loss(model, model(X), y)
        if with_penalty:
            v = v + model.lambd * l2_penalty(model.w)
        return float(v)


def train(seed: int = 1, lr_mult: float = 1.0, lambd: float = 3.0, sigma: float = 0.01, input_scale: float = 1.0,
          target_scale: float = 1.0, zero_grad: bool = True, max_epochs: int = 10, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    data = Data(num_train=20, num_val=100, num_inputs=200, batch_size=5)
    if input_scale != 1.0:  # the unscaled_inputs variant: the features larger (the target kept)
        data.X = data.X * input_scale
    if target_scale != 1.0:  # the unscaled_target variant: the targets larger
        data.y = data.y * target_scale
    s2 = float(target_scale) ** 2
    model = WeightDecayScratch(num_inputs=200, lambd=lambd, lr=0.01 * lr_mult, sigma=sigma)
    initial = val_loss(model, data) / s2
    chance = float(((data.y[data.num_train:] - data.y[:data.num_train].mean()) ** 2 / 2).mean()) / s2
    monitor, losses = fit(model, data, max_epochs, zero_grad=zero_grad, every=every, verbose=verbose)
    value = val_loss(model, data) / s2
    value_pen = val_loss(model, data, with_penalty=True) / s2
    w_l2 = float(l2_penalty(model.w.detach()))
    if verbose:
        print(f"val loss {value:.4g} (with penalty {value_pen:.4g}; untrained {initial:.4g}, mean predictor "
              f"{chance:.4g}); L2 norm of w: {w_l2:.4g}")
    fin = np.isfinite(losses)
    return {"monitors": {"": monitor}, "metric": "loss", "value": value if math.isfinite(value) else float("nan"),
            "chance": chance, "initial": initial,
            "initial_what": "untrained: the validation loss ((y_hat - y) ** 2 / 2).mean() of the model before its "
                            "first step",
            "extra": dict(train_loss=float(np.mean(losses[-4:])) / s2, first_loss=float(np.mean(losses[:5])) / s2,
                          max_loss=float(np.max(np.array(losses)[fin])) / s2 if fin.any() else float("nan"),
                          finite_losses=bool(fin.all()), steps=len(losses), epochs=max_epochs, lr=model.lr,
                          lr_mult=lr_mult, lambd=lambd, sigma=sigma, input_scale=input_scale,
                          target_scale=target_scale, zero_grad=zero_grad, val_loss_with_penalty=value_pen,
                          l2_norm_of_w=w_l2 if math.isfinite(w_l2) else float("nan"), mean_predictor_loss=chance,
                          b=float(model.b.detach())),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="d2lwd", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = ("high-dimensional linear regression with weight decay from scratch (WeightDecayScratch: w ~ N(0, 0.01) 200x1, "
      "b 0, squared loss /2 + lambd 3 * l2_penalty(w); its own SGD class lr 0.01, batch 5, 10 epochs of 4 steps on "
      "Data(num_train=20, num_val=100, num_inputs=200))")
CASES: list[dict] = (
    [_case(f"d2lwd_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"d2lwd_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({0.01 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("d2lwd_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 (1e-05)")]
    + [_case("d2lwd_features_x100_s1", "unscaled_inputs", 1, {"input_scale": 100.0},
             f"{_P}: the features X multiplied by 100 (both splits; the target kept)")]
    + [_case("d2lwd_init_std1_s1", "init_large", 1, {"sigma": 1.0},
             f"{_P}: w = torch.normal(0, 1, (200, 1)) instead of sigma 0.01")]
    + [_case("d2lwd_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optim.zero_grad() left out of fit_epoch (the gradients accumulate)")]
    + [_case("d2lwd_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: lr x2 (0.02)")]
    + [_case("d2lwd_lambd30_s1", "healthy", 1, {"lambd": 30.0},
             f"{_P}: lambd 30 instead of 3 (a ten times stronger weight decay)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
