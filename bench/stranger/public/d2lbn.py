"""Dive into Deep Learning (d2l-ai/d2l-en): batch normalization from scratch in LeNet, watched by gradmedic.

Adapted from https://github.com/d2l-ai/d2l-en (commit 0010d69695af31edb70491769e11533b229fbf44,
chapter_convolutional-modern/batch-norm.md, the PyTorch tab of "Implementation from Scratch" and "Applying Batch
Normalization in LeNet"; the book's sample code is under the modified MIT licence of LICENSE-SAMPLECODE, see
LICENSE-d2lbn), with the d2l package's plumbing it uses written out as in d2l/torch.py (the package is not installed
here): ``Module`` (``forward`` = ``self.net``, ``training_step``, ``configure_optimizers`` = SGD at ``self.lr``,
``apply_init``), ``Classifier`` (``loss`` = ``F.cross_entropy``, ``accuracy``), ``init_cnn`` and ``Trainer.fit`` /
``fit_epoch`` as a plain loop (per batch: ``training_step`` (forward and loss), ``optim.zero_grad()``, then under
``torch.no_grad()``: ``loss.backward()`` and ``optim.step()``; the book's Trainer has ``gradient_clip_val=0``, so no
clipping).

Kept as in the book: ``batch_norm`` (training mode when ``torch.is_grad_enabled()``: the minibatch mean and biased
variance per feature, or per channel over (N, H, W) for 4-d inputs, ``X_hat = (X - mean) / sqrt(var + eps)``, the
moving averages ``moving = (1 - momentum) * moving + momentum * batch``, returned as ``.data``; prediction mode under
``no_grad``: the moving statistics), ``BatchNorm(num_features, num_dims)`` (``gamma`` ones, ``beta`` zeros as
parameters, ``moving_mean`` zeros and ``moving_var`` ones as plain tensors, ``eps=1e-5, momentum=0.9`` as the PyTorch
tab passes them: in the book's formula that momentum is the weight of the new batch, i.e. PyTorch's nn.BatchNorm
momentum 0.9, not 0.1), ``BNLeNetScratch(lr=0.1)`` (LazyConv2d(6, 5) (no padding, unlike plain LeNet), BatchNorm(6, 4),
Sigmoid, AvgPool2d(2, 2), LazyConv2d(16, 5), BatchNorm(16, 4), Sigmoid, AvgPool2d(2, 2), Flatten, LazyLinear(120),
BatchNorm(120, 2), Sigmoid, LazyLinear(84), BatchNorm(84, 2), Sigmoid, LazyLinear(10)),
``model.apply_init([next(iter(train_loader))[0]], d2l.init_cnn)`` (one forward in training mode on the first batch,
which also moves the moving statistics once, then ``xavier_uniform_`` on every Conv2d and Linear weight; biases keep
the lazy modules' default), ``d2l.FashionMNIST(batch_size=128)``'s inputs in [0, 1] as ``transforms.ToTensor()``
gives them (no Normalize), a shuffled training loader, plain SGD lr 0.1, cross-entropy, no clipping.

Changed to run offline on one CPU thread: Fashion-MNIST is mnist.py's ``digits28`` (scikit-learn's ``load_digits``,
split 80/20 with random_state=0, upsampled bilinearly to 1x28x28: 1437 training and 360 test images) divided by 255 as
ToTensor does (the ``raw_pixels`` variant keeps the 0..255 values); 25 epochs of 12 batches (300 steps) instead of
the book's 10 epochs of 469 (4690 steps), so that a run takes 10-20 s; the per-epoch validation pass (it only feeds
the book's plot; under ``no_grad`` it does not touch the moving statistics) is left out, and the test accuracy on the
360 held-out images (under ``torch.no_grad()``, so with the moving statistics, as the book's validation does) is
computed once after training: that is the metric.  The ProgressBoard, ``save_hyperparameters`` and the GPU handling
are left out; the device is the CPU; ``torch.manual_seed(seed)`` before the data and model are built (the book does
not seed); the global RNG drives the DataLoader's shuffle, as in the book.

The watch, as a user would: ``monitor = gradmedic.watch(model, optim, every=10)`` right after
``model.configure_optimizers()`` in ``fit``, ``monitor.step(loss)`` right after ``loss.backward()`` (inside
``fit_epoch``'s ``torch.no_grad()`` block), before ``optim.step()``; ``monitor.close()`` after the loop.

``CASES`` (program "d2lbn"): the program on seeds 1-3, and one change each against the same seed's healthy run: SGD
lr x10, x100 (seeds 1 and 2), x1000, /1000; the four BatchNorm layers removed (the plain sigmoid BN-less LeNet at
the same lr 0.1, init_cnn kept; seeds 1 and 2); ``normal_(0, 1)`` on every Conv2d and Linear weight in place of
init_cnn's Xavier (seeds 1 and 2); raw 0..255 pixels.  The book does not clip, so there is no clipping case.  Labels
come from run.py's outcome rules only.
Recorded (cases-public18; 13 cases in 241 s, 7-31 s a run on a shared 2-core machine): healthy test accuracy 0.942,
0.956, 0.917 on seeds 1-3 (training loss 0.22-0.24 from 2.05-2.10, largest 2.45-2.57); lr x10 (1.0) 0.967: healthy
(BatchNorm tolerates it; training loss 0.036); lr x100 (10) 0.967 on seed 1 (training loss 0.017, but losses up to
27 on the way, over twice the control's largest): ambiguous, and 0.844 on seed 2 (training loss 0.028, peak 25):
broken; x1000 (100) 0.100 (training loss 39, peak 194) and /1000 (1e-4) 0.111 (loss still 2.42): broken; the
BatchNorm layers removed: the sigmoid LeNet stays at ln 10 (2.31) and ends at 0.100 and 0.114: broken on both
seeds; N(0, 1) weights start at losses 8.5 and 4.9 (peaks 10.7 and 6.7) and end at 0.911 on both seeds, more than
3 points below their controls: ambiguous; raw 0..255 pixels 0.942, the very same accuracy and training losses as
the healthy seed-1 run (the BatchNorm right after the first convolution divides the factor 255 out; only the
conv bias's relative size changes): healthy.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(model, optim, every=10) right after model.configure_optimizers() (d2l's Trainer.fit); "
              "monitor.step(loss) right after loss.backward() in Trainer.fit_epoch (inside its torch.no_grad() "
              "block), before optim.step(); optim.zero_grad() comes before the backward (d2l's order)")

EPOCHS = 25
BATCH_SIZE = 128


# --- d2l.Module / d2l.Classifier / d2l.Trainer (d2l/torch.py), the parts the program uses ---------------------------

class Module(nn.Module):
    """d2l.Module without its ProgressBoard: ``forward`` is ``self.net``, the optimizer is SGD at ``self.lr``."""

    def forward(self, X):
        assert hasattr(self, 'net'), 'Neural network is defined'
        return self.net(X)

    def training_step(self, batch):
        l = self.loss(self(*batch[:-1]), batch[-1])  # noqa: E741
        return l

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)

    def apply_init(self, inputs, init=None):
        self.forward(*inputs)
        if init is not None:
            self.net.apply(init)


class Classifier(Module):
    def accuracy(self, Y_hat, Y, averaged=True):
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        preds = Y_hat.argmax(axis=1).type(Y.dtype)
        compare = (preds == Y.reshape(-1)).type(torch.float32)
        return compare.mean() if averaged else compare

    def loss(self, Y_hat, Y, averaged=True):
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        Y = Y.reshape((-1,))
        return F.cross_entropy(
            Y_hat, Y, reduction='mean' if averaged else 'none')


def init_cnn(module):
    """Initialize weights for CNNs."""
    if type(module) == nn.Linear or type(module) == nn.Conv2d:  # noqa: E721
        nn.init.xavier_uniform_(module.weight)


def init_normal1(module):
    """The bug: N(0, 1) weights in place of init_cnn's Xavier."""
    if type(module) == nn.Linear or type(module) == nn.Conv2d:  # noqa: E721
        nn.init.normal_(module.weight, 0.0, 1.0)


def fit(model, train_dataloader, max_epochs, every=10, verbose=False):
    """d2l.Trainer.fit and fit_epoch as plain loops (gradient_clip_val=0; no validation pass), watched."""
    optim = model.configure_optimizers()
    monitor = gradmedic.watch(model, optim, every=every)
    losses = []
    t0 = time.time()
    for epoch in range(max_epochs):
        model.train()
        for batch in train_dataloader:
            loss = model.training_step(batch)
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


# --- chapter_convolutional-modern/batch-norm.md ----------------------------------------------------------------------

def batch_norm(X, gamma, beta, moving_mean, moving_var, eps, momentum):
    # Use `is_grad_enabled` to determine whether the current mode is training
    # mode or prediction mode
    if not torch.is_grad_enabled():
        # If it is prediction mode, directly use the mean and variance
        # obtained by moving average
        X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
    else:
        assert len(X.shape) in (2, 4)
        if len(X.shape) == 2:
            # When using a fully connected layer, calculate the mean and
            # variance on the feature dimension
            mean = X.mean(dim=0)
            var = ((X - mean) ** 2).mean(dim=0)
        else:
            # When using a two-dimensional convolutional layer, calculate the
            # mean and variance on the channel dimension (axis=1). Here we
            # need to maintain the shape of `X`, so that the broadcasting
            # operation can be carried out later
            mean = X.mean(dim=(0, 2, 3), keepdim=True)
            var = ((X - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
        # In training mode, the current mean and variance are used for the
        # standardization
        X_hat = (X - mean) / torch.sqrt(var + eps)
        # Update the mean and variance using moving average
        moving_mean = (1.0 - momentum) * moving_mean + momentum * mean
        moving_var = (1.0 - momentum) * moving_var + momentum * var
    Y = gamma * X_hat + beta  # Scale and shift
    return Y, moving_mean.data, moving_var.data


class BatchNorm(nn.Module):
    # `num_features`: the number of outputs for a fully connected layer
    # or the number of output channels for a convolutional layer. `num_dims`:
    # 2 for a fully connected layer and 4 for a convolutional layer
    def __init__(self, num_features, num_dims):
        super().__init__()
        if num_dims == 2:
            shape = (1, num_features)
        else:
            shape = (1, num_features, 1, 1)
        # The scale parameter and the shift parameter (model parameters) are
        # initialized to 1 and 0, respectively
        self.gamma = nn.Parameter(torch.ones(shape))
        self.beta = nn.Parameter(torch.zeros(shape))
        # The variables that are not model parameters are initialized to 0 and 1
        self.moving_mean = torch.zeros(shape)
        self.moving_var = torch.ones(shape)

    def forward(self, X):
        # If `X` is not on the main memory, copy `moving_mean` and
        # `moving_var` to the device where `X` is located
        if self.moving_mean.device != X.device:
            self.moving_mean = self.moving_mean.to(X.device)
            self.moving_var = self.moving_var.to(X.device)
        # Save the updated `moving_mean` and `moving_var`
        Y, self.moving_mean, self.moving_var = batch_norm(
            X, self.gamma, self.beta, self.moving_mean,
            self.moving_var, eps=1e-5, momentum=0.9)
        return Y


class BNLeNetScratch(Classifier):
    def __init__(self, lr=0.1, num_classes=10, bn=True):
        super().__init__()
        self.lr, self.num_classes = lr, num_classes
        # ``bn=False`` (the no-BatchNorm variant): the same net with the four BatchNorm layers left out
        norm = (lambda n, d: BatchNorm(n, num_dims=d)) if bn else (lambda n, d: nn.Identity())
        self.net = nn.Sequential(
            nn.LazyConv2d(6, kernel_size=5), norm(6, 4),
            nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
            nn.LazyConv2d(16, kernel_size=5), norm(16, 4),
            nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Flatten(), nn.LazyLinear(120),
            norm(120, 2), nn.Sigmoid(), nn.LazyLinear(84),
            norm(84, 2), nn.Sigmoid(),
            nn.LazyLinear(num_classes))


def digits_fashion(raw_pixels=False):
    """FashionMNIST's stand-in: digits28 (1x28x28) in [0, 1] as transforms.ToTensor() gives them (the book does not
    Normalize); ``raw_pixels``: the 0..255 values."""
    from mnist import digits28

    d_train, d_test = digits28(raw_pixels=True)  # 0..255
    if not raw_pixels:
        d_train, d_test = (torch.utils.data.TensorDataset(d.tensors[0] / 255.0, d.tensors[1])
                           for d in (d_train, d_test))
    return d_train, d_test


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init_std: float | None = None,
          bn: bool = True, max_epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    torch.manual_seed(seed)
    t0 = time.time()
    d_train, d_test = digits_fashion(raw_pixels)
    train_loader = torch.utils.data.DataLoader(d_train, BATCH_SIZE, shuffle=True)
    model = BNLeNetScratch(lr=0.1 * lr_mult, bn=bn)
    model.apply_init([next(iter(train_loader))[0]], init_normal1 if init_std else init_cnn)
    monitor, losses = fit(model, train_loader, max_epochs, every=every, verbose=verbose)
    model.eval()
    with torch.no_grad():  # prediction mode: the moving statistics
        X, Y = d_test.tensors
        Y_hat = model(X)
        acc = float(model.accuracy(Y_hat, Y))
        test_loss = float(model.loss(Y_hat, Y))
    ex = {"test_loss": test_loss, "lr": model.lr, "train_loss": float(np.mean(losses[-20:])),
          "train_loss_start": float(np.mean(losses[:5])), "max_train_loss": float(np.max(losses)), "steps": len(losses),
          "epochs": max_epochs, "lr_mult": lr_mult, "bn": bn, "raw_pixels": raw_pixels, "init_std": init_std,
          "test_images": len(Y)}
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc, "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1", "extra": ex, "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="d2lbn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_H = (f"BNLeNetScratch (scratch BatchNorm after each conv/linear, momentum 0.9 as the book's formula, eps 1e-5, "
      f"sigmoid, avg pool, init_cnn Xavier), SGD lr 0.1, batch {BATCH_SIZE}, {EPOCHS} epochs of 12 steps")
CASES: list[dict] = (
    [_case(f"d2lbn_healthy_s{s}", "healthy", s, {}, f"{_H}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"d2lbn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_H}: lr x{k} ({0.1 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("d2lbn_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_H}: lr /1000 (0.0001)")]
    + [_case(f"d2lbn_no_bn_s{s}", "no_norm", s, {"bn": False},
             f"{_H}: the four BatchNorm layers removed (the plain sigmoid LeNet without padding at the same lr 0.1)")
       for s in (1, 2)]
    + [_case(f"d2lbn_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_H}: nn.init.normal_(weight, 0, 1) on every Conv2d and Linear in place of init_cnn's xavier_uniform_ "
             "(biases keep the lazy modules' default init)") for s in (1, 2)]
    + [_case("d2lbn_raw_pixels_s1", "unscaled_inputs", 1, {"raw_pixels": True},
             f"{_H}: raw 0..255 pixel values (no ToTensor scaling)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
