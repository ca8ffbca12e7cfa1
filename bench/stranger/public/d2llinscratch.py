"""Dive into Deep Learning (d2l-ai/d2l-en): linear regression from scratch, watched by gradmedic.

Adapted from https://github.com/d2l-ai/d2l-en (the book's sample code is under the modified MIT licence of
LICENSE-SAMPLECODE, see LICENSE-d2llinscratch): the PyTorch tab of
chapter_linear-regression/linear-regression-scratch.md (last changed in commit
791b7759aa4378eeb7400906bf99b0e681480a69; repository HEAD 23d7a5aecceee57d1292c56e90cce307f183bb0a) with the
chapter's data, ``SyntheticRegressionData`` of chapter_linear-regression/synthetic-regression-data.md, and the d2l
package's plumbing they use written out plainly from d2l/torch.py of that HEAD (the package is not installed here):
``d2l.DataModule.get_tensorloader`` (``DataLoader(TensorDataset(X, y), batch_size, shuffle=train)``) and
``d2l.Trainer.fit``/``fit_epoch`` as a plain loop (per batch: ``training_step`` = ``self.loss(self(X), y)``,
``optim.zero_grad()``, then under ``torch.no_grad()``: ``loss.backward()`` and ``optim.step()``; no clipping:
``gradient_clip_val`` is 0).

Kept as in the book: ``LinearRegressionScratch(2, lr=0.03)`` (``w = torch.normal(0, sigma=0.01, (2, 1),
requires_grad=True)``, ``b = torch.zeros(1, requires_grad=True)``, plain tensors, not ``nn.Parameter``;
``forward`` = ``X @ w + b``; ``loss`` = ``((y_hat - y) ** 2 / 2).mean()``), its own from-scratch ``SGD`` class
(``step``: ``param -= lr * param.grad`` for ``[w, b]``; ``zero_grad``: ``param.grad.zero_()``), a
``d2l.HyperParameters``, NOT a ``torch.optim.Optimizer`` subclass, so the watch is ``gradmedic.watch(model)``
without an optimizer (the monitor could not hook its ``step``); ``SyntheticRegressionData(w=[2, -3.4], b=4.2)``
with its defaults (noise 0.01, 1000 training and 1000 validation examples of ``torch.randn(n, 2)`` features,
batch 32, the training loader shuffled each epoch by the global RNG); ``max_epochs=3`` (96 steps: nothing was
shrunk, a run takes about 1 s on one CPU thread, below the 5-25 s aimed at; the program is the book's).  The
model is built before the data, as in the book.

Changed: the model has ``def parameters(self): return [self.w, self.b]`` - the book's own idiom for its other
from-scratch models (softmax-regression-scratch.md, classification.md), without a ``recurse`` argument as the book
writes it - because ``w`` and ``b`` are plain tensors that ``nn.Module`` does not register, so without it
``gradmedic.watch(model)`` finds no trainable parameters and refuses to watch (a user would have to add the same
line); it is used only by the watch (the SGD gets ``[self.w, self.b]`` from ``configure_optimizers`` as in the
book).  ``torch.manual_seed(seed)`` before the model is built (the book does not seed); the ProgressBoard plots,
the per-epoch validation pass (it only plots), ``save_hyperparameters``, ``add_to_class`` and the GPU handling
are left out.  The metric, ``val_mse``, is the mean squared error ``((y_hat - y) ** 2).mean()`` over the 1000
validation examples after training (in the units of the unscaled target: divided by the square of the target
scale for that variant); ``initial`` is the untrained model's, ``chance`` the MSE of predicting the training
targets' mean.

The watch, as a user would: ``monitor = gradmedic.watch(model, every=10)`` right after
``model.configure_optimizers()`` in ``fit``, ``monitor.step(loss)`` right after ``loss.backward()`` (inside
``fit_epoch``'s ``torch.no_grad()`` block), before ``optim.step()``; ``monitor.close()`` after the loop.

``CASES`` (in the shape of run.py's ``case()``, program "d2llinscratch"): the program on seeds 1-3, and one change
each against the same seed's healthy run: lr x10, x100 (seeds 1 and 2), x1000, /1000; the features x100 (the
``X`` of both splits, target unchanged); the targets x100 (``y`` of both splits); ``w`` drawn from N(0, 10)
(``sigma=10``) instead of N(0, 0.01); ``optim.zero_grad()`` left out of ``fit_epoch`` (the gradients accumulate).
Labels come from run.py's outcome rules only.
Recorded (cases-public23, 1 s for the 12 runs on a shared 2-core machine; well under 1 s a run, 5.7 s wall for the
whole recording with start-up): healthy 0.064, 0.103, 0.089 validation MSE on seeds 1-3 (from 30.5-32.6 untrained;
seed 1 ends at w [1.92, -3.25], b 4.00, as the book's 3 epochs do): healthy; lr x10 (0.3) 0.00011 (at the noise
floor, better than its control): healthy; lr x100 (seeds 1 and 2) and x1000: the loss diverges to inf/NaN, NaN
MSE: broken; lr /1000 30.3 (learned nothing): broken; the features x100: diverges, NaN: broken; w ~ N(0, 10) 0.130
against 0.064 (starts at 67.0; only just past clearly_better's halving margin): broken; optim.zero_grad() left out:
1.83 (the accumulated gradients make it oscillate; train loss 9.8 at the end): broken; the targets x100: 0.0641 in
the unscaled target's units, the same as its control (SGD on a linear model is equivariant in the target's scale),
but its recorded losses are 1e4 times the control's (largest loss past 2x the control's): ambiguous.
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


class SyntheticRegressionData:  # d2l.DataModule in the book
    """Synthetic data for linear regression."""

    def __init__(self, w, b, noise=0.01, num_train=1000, num_val=1000, batch_size=32):
        self.w, self.b, self.noise = w, b, noise
        self.num_train, self.num_val, self.batch_size = num_train, num_val, batch_size
        n = num_train + num_val
        self.X = torch.randn(n, len(w))
        noise = torch.randn(n, 1) * noise
        self.y = torch.matmul(self.X, torch.reshape(w, (-1, 1))) + b + noise

    def get_tensorloader(self, tensors, train, indices=slice(0, None)):
        tensors = tuple(a[indices] for a in tensors)
        dataset = torch.utils.data.TensorDataset(*tensors)
        return torch.utils.data.DataLoader(dataset, self.batch_size, shuffle=train)

    def get_dataloader(self, train):
        i = slice(0, self.num_train) if train else slice(self.num_train, None)
        return self.get_tensorloader((self.X, self.y), train, i)

    def train_dataloader(self):
        return self.get_dataloader(train=True)

    def val_dataloader(self):
        return self.get_dataloader(train=False)


class SGD:  # d2l.HyperParameters in the book
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


class LinearRegressionScratch(nn.Module):  # d2l.Module in the book
    """The linear regression model implemented from scratch."""

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

    # d2l.Module
    def training_step(self, batch):
        l = self.loss(self(*batch[:-1]), batch[-1])  # noqa: E741
        return l


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
            print(f"epoch {epoch + 1} loss {np.mean(losses[-20:]):.4g} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    return monitor, losses


def val_mse(model, data):
    X, y = data.X[data.num_train:], data.y[data.num_train:]
    with torch.no_grad():
        return float(((model(X) - y) ** 2).mean())


def train(seed: int = 1, lr_mult: float = 1.0, sigma: float = 0.01, input_scale: float = 1.0,
          target_scale: float = 1.0, zero_grad: bool = True, max_epochs: int = 3, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    model = LinearRegressionScratch(2, lr=0.03 * lr_mult, sigma=sigma)
    data = SyntheticRegressionData(w=torch.tensor([2, -3.4]), b=4.2)
    if input_scale != 1.0:  # the bug: the features 100x larger (the target is kept)
        data.X = data.X * input_scale
    if target_scale != 1.0:  # the bug: the targets 100x larger
        data.y = data.y * target_scale
    s2 = float(target_scale) ** 2
    initial = val_mse(model, data) / s2
    chance = float(((data.y[data.num_train:] - data.y[:data.num_train].mean()) ** 2).mean()) / s2
    monitor, losses = fit(model, data, max_epochs, zero_grad=zero_grad, every=every, verbose=verbose)
    value = val_mse(model, data) / s2
    if verbose:
        print(f"val MSE {value:.4g} (untrained {initial:.4g}, mean predictor {chance:.4g}); "
              f"w {model.w.detach().flatten().tolist()} b {model.b.item():.4g}")
    fin = np.isfinite(losses)
    return {"monitors": {"": monitor}, "metric": "val_mse", "value": value if math.isfinite(value) else float("nan"),
            "chance": chance, "initial": initial,
            "initial_what": "untrained: the validation MSE of the model before its first step",
            "extra": dict(train_loss=float(np.mean(losses[-20:])) / s2, first_loss=float(np.mean(losses[:5])) / s2,
                          max_loss=float(np.max(np.array(losses)[fin])) / s2 if fin.any() else float("nan"),
                          finite_losses=bool(fin.all()), steps=len(losses), epochs=max_epochs, lr=model.lr,
                          lr_mult=lr_mult, sigma=sigma, input_scale=input_scale, target_scale=target_scale,
                          mean_predictor_mse=chance, w=model.w.detach().flatten().tolist(), b=float(model.b.detach())),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="d2llinscratch", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = ("linear regression from scratch (w ~ N(0, 0.01) 2x1, b 0, squared loss /2; its own SGD class lr 0.03, "
      "batch 32, 3 epochs of 32 steps on SyntheticRegressionData w=[2, -3.4], b=4.2)")
CASES: list[dict] = (
    [_case(f"d2llinscratch_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"d2llinscratch_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({0.03 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("d2llinscratch_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 (3e-05)")]
    + [_case("d2llinscratch_features_x100_s1", "unscaled_inputs", 1, {"input_scale": 100.0},
             f"{_P}: the features X multiplied by 100 (both splits; the target kept)")]
    + [_case("d2llinscratch_target_x100_s1", "unscaled_target", 1, {"target_scale": 100.0},
             f"{_P}: the targets y multiplied by 100 (both splits; outcome divided by 100**2)")]
    + [_case("d2llinscratch_init_std10_s1", "init_large", 1, {"sigma": 10.0},
             f"{_P}: w = torch.normal(0, 10, (2, 1)) instead of sigma 0.01")]
    + [_case("d2llinscratch_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optim.zero_grad() left out of fit_epoch (the gradients accumulate)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
