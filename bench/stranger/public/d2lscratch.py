"""Dive into Deep Learning (d2l-ai/d2l-en): softmax regression from scratch, watched by gradmedic.

Adapted from https://github.com/d2l-ai/d2l-en (the book's sample code is under the modified MIT licence of
LICENSE-SAMPLECODE, see LICENSE-d2lscratch): the PyTorch tab of
chapter_linear-classification/softmax-regression-scratch.md (last changed in commit
eb59f3d9421307a8dc9f2cf80b0778539ea9de17; repository HEAD 23d7a5aecceee57d1292c56e90cce307f183bb0a), with the
d2l package's plumbing it uses written out plainly from d2l/torch.py of that HEAD (the package is not installed
here): ``d2l.Module.configure_optimizers`` (``torch.optim.SGD(self.parameters(), lr=self.lr)``),
``d2l.Classifier.accuracy`` and ``d2l.Trainer.fit``/``fit_epoch`` as a plain loop (per batch: ``training_step``
= ``self.loss(self(X), y)``, ``optim.zero_grad()``, then under ``torch.no_grad()``: ``loss.backward()`` and
``optim.step()``; no clipping: ``gradient_clip_val`` is 0).

Kept as in the book: ``softmax(X)`` = ``exp(X) / exp(X).sum(1, keepdims=True)`` (not robust to large logits, as
the book warns: it overflows to inf/NaN, and that is the program's behaviour), ``cross_entropy(y_hat, y)`` =
``-log(y_hat[range(len(y_hat)), y]).mean()``, ``SoftmaxRegressionScratch(num_inputs=784, num_outputs=10, lr=0.1)``
(``W = torch.normal(0, sigma=0.01, (784, 10), requires_grad=True)``, ``b = torch.zeros(10, requires_grad=True)``,
plain tensors, not ``nn.Parameter``; ``forward``: ``X.reshape(-1, 784)``, ``softmax(X @ W + b)``), batch 256,
inputs in [0, 1] as ``transforms.ToTensor()`` gives them (d2l's FashionMNIST does not Normalize), the training
set shuffled each epoch by the global RNG.  The optimizer: ``SoftmaxRegressionScratch`` is a ``d2l.Classifier``,
not a ``LinearRegressionScratch``, so its ``configure_optimizers`` is ``d2l.Module``'s, ``torch.optim.SGD`` over
the overridden ``parameters()`` = ``[W, b]`` at lr 0.1 (no momentum, no weight decay: the same update
``param -= lr * param.grad`` as the chapter-3 ``d2l.SGD`` class, which this program does not use).

Changed: ``parameters(self)`` takes the ``recurse=True`` argument of ``nn.Module.parameters`` (ignored) so that
``gradmedic.watch``, which calls ``module.parameters(recurse=False)``, can find ``W`` and ``b`` (the book's
signature has no argument and would raise a TypeError there); nothing else in the model.  To run offline on one
CPU thread: Fashion-MNIST is bmlp.py's ``digits28`` (scikit-learn's ``load_digits``, split 80/20 with
random_state=0, values /16 into [0, 1], upsampled bilinearly to 1x28x28; 1437 training and 360 test images, 6
steps an epoch at batch 256); 250 epochs (1500 steps) instead of the book's 10 (10 x 235 = 2350 steps on
Fashion-MNIST), to keep a run near 10 s of CPU (at 390 epochs seed 1 ends at the same 0.961 test accuracy, train
loss 0.070); the ProgressBoard, the per-epoch validation pass (it only plots), ``save_hyperparameters``,
``add_to_class`` and the GPU handling are left out; ``torch.manual_seed(seed)`` before
the model is built (the book does not seed).  The metric is the accuracy on the 360 test images after training.

The watch, as a user would: ``monitor = gradmedic.watch(model, optim, every=10)`` right after
``model.configure_optimizers()`` in ``fit``, ``monitor.step(loss)`` right after ``loss.backward()`` (inside
``fit_epoch``'s ``torch.no_grad()`` block), before ``optim.step()``; ``monitor.close()`` after the loop.

``CASES`` (in the shape of run.py's ``case()``, program "d2lscratch"): the program on seeds 1-3, and one change
each against the same seed's healthy run: lr x10, x100 (seeds 1 and 2), x1000, /1000; ``W`` drawn from N(0, 1)
instead of N(0, 0.01) (``sigma=1``); raw 0..255 pixel values (no ToTensor scaling); ``optim.zero_grad()`` left out
of ``fit_epoch`` (the gradients accumulate).  Labels come from run.py's outcome rules only.
Recorded (cases-public21, 134 s for the 11 runs on a shared 2-core machine; 8-18 s a run): healthy 0.961, 0.964,
0.961 test accuracy on seeds 1-3 (train loss 2.02 -> 0.086-0.089, every loss finite); lr x10 (1.0), x100 (seeds 1
and 2) and x1000: the book's own softmax overflows (exp of logits past ~88 is inf, inf/inf NaN) within the first
steps, every later loss NaN, 0.075 accuracy: broken; lr /1000 0.639 (loss 2.31 -> 2.07): broken; raw 0..255
pixels: the initial logits (std ~25 at sigma 0.01) already overflow, the loss is NaN from the first step, 0.075:
broken; optim.zero_grad() left out: the accumulated gradients blow it up after ~70 steps (loss NaN), 0.075:
broken; W ~ N(0, 1) 0.922 (loss 15.7 at the start, largest 22.5 against the control's 2.31; train loss 0.125 at
the end): ambiguous.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from bmlp import digits28
from torch import nn

import gradmedic

ARCH = "linear"
MONITOR_AT = ("watch(model, optim, every=10) right after model.configure_optimizers() (d2l's Trainer.fit; optim is "
              "torch.optim.SGD over the model's [W, b], plain tensors the model's parameters() returns); "
              "monitor.step(loss) right after loss.backward() in Trainer.fit_epoch (inside its torch.no_grad() "
              "block), before optim.step()")


def softmax(X):
    X_exp = torch.exp(X)
    partition = X_exp.sum(1, keepdims=True)
    return X_exp / partition  # The broadcasting mechanism is applied here


def cross_entropy(y_hat, y):
    return -torch.log(y_hat[list(range(len(y_hat))), y]).mean()


class SoftmaxRegressionScratch(nn.Module):  # d2l.Classifier in the book
    def __init__(self, num_inputs, num_outputs, lr, sigma=0.01):
        super().__init__()
        self.num_inputs, self.num_outputs, self.lr, self.sigma = num_inputs, num_outputs, lr, sigma
        self.W = torch.normal(0, sigma, size=(num_inputs, num_outputs),
                              requires_grad=True)
        self.b = torch.zeros(num_outputs, requires_grad=True)

    def parameters(self, recurse=True):  # the book: parameters(self)
        return [self.W, self.b]

    def forward(self, X):
        X = X.reshape((-1, self.W.shape[0]))
        return softmax(torch.matmul(X, self.W) + self.b)

    def loss(self, y_hat, y):
        return cross_entropy(y_hat, y)

    # d2l.Module / d2l.Classifier
    def training_step(self, batch):
        l = self.loss(self(*batch[:-1]), batch[-1])  # noqa: E741
        return l

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)

    def accuracy(self, Y_hat, Y, averaged=True):
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        preds = Y_hat.argmax(axis=1).type(Y.dtype)
        compare = (preds == Y.reshape(-1)).type(torch.float32)
        return compare.mean() if averaged else compare


def fit(model, train_dataloader, max_epochs, zero_grad=True, every=10, verbose=False):
    """d2l.Trainer.fit and fit_epoch as plain loops (no validation pass: the book's only plots it), watched."""
    optim = model.configure_optimizers()
    monitor = gradmedic.watch(model, optim, every=every)
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
        if verbose and (epoch + 1) % max(1, max_epochs // 10) == 0:
            print(f"epoch {epoch + 1} loss {np.mean(losses[-20:]):.4f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    return monitor, losses


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, sigma: float = 0.01,
          zero_grad: bool = True, max_epochs: int = 250, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    torch.manual_seed(seed)
    t0 = time.time()
    xtr, ytr, xte, yte = digits28()
    if raw_pixels:  # the bug: 0..255 values, no ToTensor scaling
        xtr, xte = xtr * 255.0, xte * 255.0
    d_train = torch.utils.data.TensorDataset(xtr, ytr)
    train_loader = torch.utils.data.DataLoader(d_train, 256, shuffle=True)
    model = SoftmaxRegressionScratch(num_inputs=784, num_outputs=10, lr=0.1 * lr_mult, sigma=sigma)
    monitor, losses = fit(model, train_loader, max_epochs, zero_grad=zero_grad, every=every, verbose=verbose)
    model.eval()
    with torch.no_grad():
        Y_hat = model(xte)
        acc = float(model.accuracy(Y_hat, yte))
        test_loss = float(model.loss(Y_hat, yte))
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc, "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(test_loss=test_loss, lr=model.lr, train_loss=float(np.mean(losses[-20:])),
                          first_loss=float(np.mean(losses[:5])), max_loss=float(np.nanmax(losses)),
                          finite_losses=bool(np.isfinite(losses).all()), steps=len(losses), epochs=max_epochs,
                          lr_mult=lr_mult, sigma=sigma, test_images=len(yte)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="d2lscratch", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = ("softmax regression from scratch (W ~ N(0, 0.01) 784x10, b 0, its own softmax and cross_entropy; "
      "torch.optim.SGD lr 0.1, batch 256, 250 epochs of 6 steps)")
CASES: list[dict] = (
    [_case(f"d2lscratch_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"d2lscratch_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({0.1 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("d2lscratch_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 (0.0001)")]
    + [_case("d2lscratch_init_std1_s1", "init_large", 1, {"sigma": 1.0},
             f"{_P}: W = torch.normal(0, 1, (784, 10)) instead of sigma 0.01")]
    + [_case("d2lscratch_raw_pixels_s1", "unscaled_inputs", 1, {"raw_pixels": True},
             f"{_P}: raw 0..255 pixel values (no ToTensor scaling)")]
    + [_case("d2lscratch_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optim.zero_grad() left out of fit_epoch (the gradients accumulate)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
