"""Dive into Deep Learning (d2l-ai/d2l-en): concise softmax regression (Flatten + LazyLinear, F.cross_entropy,
torch.optim.SGD) on 8x8 digits, watched by gradmedic.

Adapted from https://github.com/d2l-ai/d2l-en (the book's sample code is under the modified MIT licence of
LICENSE-SAMPLECODE, see LICENSE-d2lsmconcise): the PyTorch tab of
chapter_linear-classification/softmax-regression-concise.md (commit 0f4e57be684684d5619bce727690bea54269849d):
``SoftmaxRegression(d2l.Classifier)`` with ``self.net = nn.Sequential(nn.Flatten(), nn.LazyLinear(num_outputs))``
and ``forward`` = ``self.net(X)``; ``Classifier.loss`` = ``F.cross_entropy(Y_hat, Y, reduction='mean' if averaged
else 'none')`` on the reshaped logits; the training cell ``data = d2l.FashionMNIST(batch_size=256)``, ``model =
SoftmaxRegression(num_outputs=10, lr=0.1)``, ``trainer = d2l.Trainer(max_epochs=10)``.  The d2l plumbing is written
out from d2l/torch.py (commit 23d7a5aecceee57d1292c56e90cce307f183bb0a, as d2l.py cites it): ``Module.training_step``
(``self.loss(self(*batch[:-1]), batch[-1])``), ``configure_optimizers`` (``torch.optim.SGD(self.parameters(),
lr=self.lr)``), ``Trainer.fit``/``fit_epoch`` as a plain loop (per batch: ``loss = model.training_step(batch)``,
``optim.zero_grad()``, under ``torch.no_grad()``: ``loss.backward()``, no clipping as ``gradient_clip_val`` is 0,
``optim.step()``).

How it differs from the ports already here: d2lconcise.py's "soft" runs the same model on digits upsampled to
28x28 and divided by 255; d2lsoftmax.py and d2lscratch.py are the from-scratch sections.  This one runs the concise
model on the plain 8x8 digits /16 (64 inputs), with zero_grad left out and lr x10 / x2 among its variants.

Kept as in the book: the model exactly (PyTorch's default init of the LazyLinear, which the book keeps); the mean
cross-entropy on the logits; plain SGD lr 0.1 (no momentum, no weight decay); batch 256; inputs in [0, 1] as
``transforms.ToTensor()`` gives them (d2l's FashionMNIST does not Normalize); the training set shuffled each epoch.
The LazyLinear is materialized by one forward pass on a training image before the optimizer is built (the book's
Trainer does this in ``prepare_model``, through the first batch).

Changed, to run offline on one CPU thread: Fashion-MNIST is scikit-learn's ``load_digits`` (8x8 images, 64 inputs,
10 classes), split 80/20 with random_state=0 into a fixed 1437 training / 360 test images, values /16 into [0, 1]
(the stand-in the other 8x8 ports use), shaped (N, 1, 8, 8) so that ``nn.Flatten`` has an image to flatten;
390 epochs of 6 steps (2340 steps, the book's 10 x 235 = 2350 on Fashion-MNIST) instead of 10 epochs; the
ProgressBoard, the per-epoch validation pass (it only plots), ``save_hyperparameters`` and the GPU handling are left
out; ``torch.manual_seed(seed)`` before the model is built (the book does not seed).  The metric is the accuracy on
the 360 test images after training.

The watch, as a user would: ``monitor = gradmedic.watch(model, optim, every=10)`` right after
``optim = model.configure_optimizers()``; ``monitor.step(loss)`` right after ``loss.backward()`` (inside
``fit_epoch``'s ``torch.no_grad()`` block), before ``optim.step()``; ``monitor.close()`` after the loop.

``CASES`` (program "d2lsmconcise"): the program on seeds 1-3, and one change each against the same seed's healthy
run: lr x10 (1.0), x100 (10; seeds 1 and 2), /1000 (1e-4); inputs unscaled (x16: the digits' raw 0..16 values);
the Linear weight and bias ``normal_(0, 1)`` after materialization; ``optim.zero_grad()`` left out; ``nn.Softmax``
appended to the net (probabilities into ``F.cross_entropy``); the Linear weight and bias all zero (softmax
regression is convex: expected harmless, cause "symmetric_init", labelled by outcome); lr x2 (0.2, expected
harmless).  Labels come from run.py's outcome rules only.
Recorded (cases-public73, 13 runs, 4-6 s a run on a shared 2-core machine, 56 s in all): healthy 0.958, 0.958,
0.961 test accuracy on seeds 1-3 (train loss 2.28 -> 0.171-0.175, every loss finite, largest 2.28-2.35); lr x10
(1.0): 0.964 (train loss 0.052, largest 2.33): healthy; lr x100 (10): 0.961 (seed 1) and 0.958 (seed 2), train
loss 0.009, but the loss reached 22.2 and 27.0 on the way (over twice the control's largest): ambiguous; lr /1000:
train loss 2.27, 0.100: broken; raw 0..16 inputs: 0.958, train loss 0.002, but first losses ~39 (largest 60.5):
ambiguous; weights N(0, 1): 0.947 (first losses 5.1, largest 5.6; 1.1 points below its control): ambiguous;
``zero_grad`` left out: 0.950 (train loss 0.002, largest 2.33): healthy (the accumulated gradient still descends
this convex loss); softmax before ``F.cross_entropy``: train loss 2.30 -> 1.73, 0.747: broken; zero init: 0.961:
healthy; lr x2: 0.964: healthy.  Labels: 8 healthy (3 programs, 5 variants), 2 broken, 4 ambiguous (lr x100 on
seeds 1 and 2, raw inputs, N(0, 1) weights: each reached its control's accuracy or nearly, after a loss blow-up
at the start).  No run had a non-finite loss.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

import gradmedic

ARCH = "linear"
MONITOR_AT = ("watch(model, optim, every=10) right after optim = model.configure_optimizers() (d2l's Trainer.fit, "
              "written out by hand); monitor.step(loss) right after loss.backward() inside fit_epoch's "
              "torch.no_grad() block, before optim.step()")
NUM_EPOCHS = 390
LR = 0.1


def digits8x8(input_scale=1.0):
    """(train, test) load_digits images (N, 1, 8, 8) in [0, 1] (x input_scale) and labels: a fixed 1437/360 split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.data, d.target, test_size=0.2, random_state=0)
    f = lambda x: (torch.tensor(x, dtype=torch.float32) / 16.0 * input_scale).reshape(-1, 1, 8, 8)  # noqa: E731
    return f(xtr), torch.tensor(ytr), f(xte), torch.tensor(yte)


# --- d2l/torch.py: Module / Classifier (the parts used) ---------------------------------------------------------------

class Classifier(nn.Module):
    """d2l.Classifier (through d2l.Module) without the ProgressBoard."""

    def training_step(self, batch):
        l = self.loss(self(*batch[:-1]), batch[-1])  # noqa: E741
        return l  # the book plots it

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
        return F.cross_entropy(
            Y_hat, Y, reduction='mean' if averaged else 'none')


# --- chapter_linear-classification/softmax-regression-concise.md -------------------------------------------------------

class SoftmaxRegression(Classifier):
    """The softmax regression model."""
    def __init__(self, num_outputs, lr):
        super().__init__()
        self.num_outputs, self.lr = num_outputs, lr  # upstream: self.save_hyperparameters()
        self.net = nn.Sequential(nn.Flatten(),
                                 nn.LazyLinear(num_outputs))

    def forward(self, X):
        return self.net(X)


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, init_std: float | None = None,
          zero_init: bool = False, softmax: bool = False, zero_grad: bool = True, num_epochs: int = NUM_EPOCHS,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    xtr, ytr, xte, yte = digits8x8(input_scale)  # input_scale 16: the raw 0..16 values
    train_dataloader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xtr, ytr), 256, shuffle=True)
    model = SoftmaxRegression(num_outputs=10, lr=LR * lr_mult)
    model(xtr[:1])  # materialize the LazyLinear (the Trainer's prepare_model does it with the first batch)
    if init_std is not None:  # the init_large variant
        nn.init.normal_(model.net[1].weight, 0.0, init_std)
        nn.init.normal_(model.net[1].bias, 0.0, init_std)
    if zero_init:  # the symmetric_init variant (softmax regression is convex: expected harmless)
        nn.init.zeros_(model.net[1].weight)
        nn.init.zeros_(model.net[1].bias)
    if softmax:  # the wrong_loss variant: probabilities fed to F.cross_entropy, which expects logits
        model.net.append(nn.Softmax(dim=1))
    # trainer = d2l.Trainer(max_epochs=10); trainer.fit(model, data):
    optim = model.configure_optimizers()
    monitor = gradmedic.watch(model, optim, every=every)  # gradmedic
    losses = []
    for epoch in range(num_epochs):
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
        if verbose and (epoch + 1) % max(1, num_epochs // 10) == 0:
            print(f"epoch {epoch + 1} loss {np.mean(losses[-20:]):.4f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    model.eval()
    with torch.no_grad():
        Y_hat = model(xte)
        acc = float(model.accuracy(Y_hat, yte))
        test_loss = float(model.loss(Y_hat, yte))
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc, "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(test_loss=test_loss, lr=model.lr, train_loss=float(np.mean(losses[-20:])),
                          first_loss=float(np.mean(losses[:5])), max_loss=float(np.nanmax(losses)),
                          finite_losses=bool(np.isfinite(losses).all()), steps=len(losses), epochs=num_epochs,
                          lr_mult=lr_mult, input_scale=input_scale,
                          init_std=init_std if init_std is not None else 0.0, zero_init=zero_init,
                          softmax=softmax, zero_grad=zero_grad,
                          test_images=len(yte)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="d2lsmconcise", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = (f"concise softmax regression (Flatten, LazyLinear 10, default init; F.cross_entropy mean; torch.optim.SGD "
      f"lr {LR:g}, batch 256, {NUM_EPOCHS} epochs of 6 steps; 8x8 digits /16)")
CASES: list[dict] = (
    [_case(f"d2lsmconcise_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"d2lsmconcise_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("d2lsmconcise_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case("d2lsmconcise_raw_inputs_s1", "unscaled_inputs", 1, {"input_scale": 16.0},
             f"{_P}: inputs unscaled (x16: the digits' raw 0..16 values as raw pixels)")]
    + [_case("d2lsmconcise_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_P}: the Linear weight and bias normal_(0, 1) after the LazyLinear is materialized")]
    + [_case("d2lsmconcise_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optim.zero_grad() left out (the gradients accumulate)")]
    + [_case("d2lsmconcise_softmax_ce_s1", "wrong_loss", 1, {"softmax": True},
             f"{_P}: nn.Softmax(dim=1) appended to the net, so F.cross_entropy gets probabilities, not logits")]
    + [_case("d2lsmconcise_zero_init_s1", "symmetric_init", 1, {"zero_init": True},
             f"{_P}: the Linear weight and bias zeros_ (softmax regression is convex: expected harmless)")]
    + [_case("d2lsmconcise_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: lr x2 ({LR * 2:g}), expected harmless")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
