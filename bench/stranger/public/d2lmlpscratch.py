"""Dive into Deep Learning (d2l-ai/d2l-en): the multilayer perceptron from scratch, watched by gradmedic.

Adapted from https://github.com/d2l-ai/d2l-en (the book's sample code is under the modified MIT licence of
LICENSE-SAMPLECODE, see LICENSE-d2lmlpscratch): the PyTorch tab of "Implementation from Scratch" in
chapter_multilayer-perceptrons/mlp-implementation.md (last changed in commit
c6134986f1d191cb41a745557acc405311da56f6; repository HEAD 23d7a5aecceee57d1292c56e90cce307f183bb0a), with the
d2l package's plumbing it uses written out plainly from d2l/torch.py of that HEAD (the package is not installed
here): ``d2l.Module.training_step`` (``self.loss(self(*batch[:-1]), batch[-1])``), ``d2l.Classifier.loss``
(``F.cross_entropy`` on the logits, mean) and ``accuracy``, ``d2l.Module.configure_optimizers`` as
``d2l.Classifier`` inherits it (``torch.optim.SGD(self.parameters(), lr=self.lr)``), and ``d2l.Trainer.fit`` /
``fit_epoch`` as a plain loop (per batch: ``training_step``, ``optim.zero_grad()``, then under
``torch.no_grad()``: ``loss.backward()`` and ``optim.step()``; no clipping: ``gradient_clip_val`` is 0).

Kept as in the book: ``MLPScratch(num_inputs=784, num_outputs=10, num_hiddens=256, lr=0.1)`` with
``W1 = nn.Parameter(torch.randn(784, 256) * sigma)``, ``b1 = nn.Parameter(torch.zeros(256))``,
``W2 = nn.Parameter(torch.randn(256, 10) * sigma)``, ``b2 = nn.Parameter(torch.zeros(10))``, sigma 0.01; its own
``relu(X)`` = ``torch.max(X, torch.zeros_like(X))``; ``forward``: ``X.reshape((-1, 784))``,
``relu(X @ W1 + b1) @ W2 + b2``; cross-entropy on the logits; ``torch.optim.SGD`` lr 0.1 (no momentum, no weight
decay); batch 256; inputs in [0, 1] as ``transforms.ToTensor()`` gives them (d2l's FashionMNIST does not
Normalize); the training set shuffled each epoch by the global RNG.

Changed, to run offline on one CPU thread: Fashion-MNIST is bmlp.py's ``digits28`` (scikit-learn's
``load_digits``, split 80/20 with random_state=0, values /16 into [0, 1], upsampled bilinearly to 1x28x28; 1437
training and 360 test images, 6 steps an epoch at batch 256); 150 epochs (900 steps) instead of the book's 10
(10 x 235 = 2350 steps on Fashion-MNIST), to keep a run to 10-20 s of shared CPU; the ProgressBoard, the
per-epoch validation pass (it only plots), ``save_hyperparameters``, ``add_to_class`` and the GPU handling are
left out; ``torch.manual_seed(seed)`` before the model is built (the book does not seed).  The metric is the
accuracy on the 360 test images after training.

The watch, as a user would: ``monitor = gradmedic.watch(model, optim, every=10)`` right after
``model.configure_optimizers()`` in ``fit``, ``monitor.step(loss)`` right after ``loss.backward()`` (inside
``fit_epoch``'s ``torch.no_grad()`` block), before ``optim.step()``; ``monitor.close()`` after the loop.

``CASES`` (in the shape of run.py's ``case()``, program "d2lmlpscratch"): the program on seeds 1-3, and one change
each against the same seed's healthy run: lr x10, x100 (seeds 1 and 2), x1000, /1000; ``sigma=1`` instead of 0.01
(W1, W2 ~ N(0, 1)); ``sigma=0`` (every weight zero, biases zero as always: symmetric); raw 0..255 pixel values (no
ToTensor scaling); ``optim.zero_grad()`` left out of ``fit_epoch`` (the gradients accumulate).  Labels come from
run.py's outcome rules only.
Recorded (cases-public22, 121 s for the 12 runs on a shared 2-core machine; 6-18 s a run): healthy 0.967, 0.967,
0.964 test accuracy on seeds 1-3 (train loss 2.30 -> 0.053-0.057, every loss finite, largest 2.30); lr x10 (1.0):
loss up to 6.2, then stuck at 2.30, 0.081 accuracy: broken; lr x100 (seeds 1 and 2): losses in the hundreds to
thousands in the first steps, then stuck at 2.32, 0.111 and 0.100: broken; lr x1000: losses up to 2e8, still 37.7
at the end, 0.128: broken; lr /1000: the loss stays at 2.30, 0.150: broken; sigma 0 (all weights zero): the loss
stays at 2.30, 0.081: broken; raw 0..255 pixels: first losses ~3e7, then stuck at 2.30, 0.081: broken;
optim.zero_grad() left out: the loss climbs to 65 and ends at 4.8, 0.411: broken; sigma 1 (W1, W2 ~ N(0, 1)):
0.917 (loss 287 at the start, largest 394 against the control's 2.30; train loss 0.000 at the end, test loss
1.51): ambiguous.  No loss was NaN or inf in any run.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from bmlp import digits28
from torch import nn

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optim, every=10) right after model.configure_optimizers() (d2l's Trainer.fit; optim is "
              "torch.optim.SGD over the model's nn.Parameters W1, b1, W2, b2); monitor.step(loss) right after "
              "loss.backward() in Trainer.fit_epoch (inside its torch.no_grad() block), before optim.step()")
MAX_EPOCHS = 150


def relu(X):
    a = torch.zeros_like(X)
    return torch.max(X, a)


class MLPScratch(nn.Module):  # d2l.Classifier in the book
    def __init__(self, num_inputs, num_outputs, num_hiddens, lr, sigma=0.01):
        super().__init__()
        self.num_inputs, self.num_outputs, self.num_hiddens, self.lr, self.sigma = (
            num_inputs, num_outputs, num_hiddens, lr, sigma)
        self.W1 = nn.Parameter(torch.randn(num_inputs, num_hiddens) * sigma)
        self.b1 = nn.Parameter(torch.zeros(num_hiddens))
        self.W2 = nn.Parameter(torch.randn(num_hiddens, num_outputs) * sigma)
        self.b2 = nn.Parameter(torch.zeros(num_outputs))

    def forward(self, X):
        X = X.reshape((-1, self.num_inputs))
        H = relu(torch.matmul(X, self.W1) + self.b1)
        return torch.matmul(H, self.W2) + self.b2

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

    def loss(self, Y_hat, Y, averaged=True):
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        Y = Y.reshape((-1,))
        return F.cross_entropy(Y_hat, Y, reduction='mean' if averaged else 'none')


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
          zero_grad: bool = True, max_epochs: int = MAX_EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    torch.manual_seed(seed)
    t0 = time.time()
    xtr, ytr, xte, yte = digits28()
    if raw_pixels:  # the bug: 0..255 values, no ToTensor scaling
        xtr, xte = xtr * 255.0, xte * 255.0
    d_train = torch.utils.data.TensorDataset(xtr, ytr)
    train_loader = torch.utils.data.DataLoader(d_train, 256, shuffle=True)
    model = MLPScratch(num_inputs=784, num_outputs=10, num_hiddens=256, lr=0.1 * lr_mult, sigma=sigma)
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
    return dict(program="d2lmlpscratch", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = (f"MLP from scratch (W1 784x256, W2 256x10 ~ N(0, 0.01), biases 0, its own relu; cross-entropy on the logits; "
      f"torch.optim.SGD lr 0.1, batch 256, {MAX_EPOCHS} epochs of 6 steps)")
CASES: list[dict] = (
    [_case(f"d2lmlpscratch_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"d2lmlpscratch_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({0.1 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("d2lmlpscratch_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 (0.0001)")]
    + [_case("d2lmlpscratch_init_std1_s1", "init_large", 1, {"sigma": 1.0},
             f"{_P}: sigma=1 instead of 0.01 (W1, W2 ~ N(0, 1))")]
    + [_case("d2lmlpscratch_zero_init_s1", "symmetric_init", 1, {"sigma": 0.0},
             f"{_P}: sigma=0 (W1, W2 all zeros, as b1, b2: symmetric)")]
    + [_case("d2lmlpscratch_raw_pixels_s1", "unscaled_inputs", 1, {"raw_pixels": True},
             f"{_P}: raw 0..255 pixel values (no ToTensor scaling)")]
    + [_case("d2lmlpscratch_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optim.zero_grad() left out of fit_epoch (the gradients accumulate)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
