"""Dive into Deep Learning (d2l-ai/d2l-en): concise softmax regression and the concise MLP, watched by gradmedic.

Adapted from https://github.com/d2l-ai/d2l-en (the book's sample code is under the modified MIT licence of
LICENSE-SAMPLECODE, see LICENSE-d2lconcise): the PyTorch tabs of
chapter_linear-classification/softmax-regression-concise.md (commit 0f4e57be684684d5619bce727690bea54269849d;
``SoftmaxRegression``: ``nn.Sequential(nn.Flatten(), nn.LazyLinear(num_outputs))``, ``forward`` = ``self.net``;
``data = d2l.FashionMNIST(batch_size=256)``, ``SoftmaxRegression(num_outputs=10, lr=0.1)``,
``d2l.Trainer(max_epochs=10)``) and the concise part of chapter_multilayer-perceptrons/mlp-implementation.md
(commit 09d0288f5bd63cce2c879032192c621610621e09; ``MLP``: ``nn.Sequential(nn.Flatten(), nn.LazyLinear(num_hiddens),
nn.ReLU(), nn.LazyLinear(num_outputs))``, ``MLP(num_outputs=10, num_hiddens=256, lr=0.1)``, same data and
Trainer).  The d2l package's plumbing is d2l.py's port of d2l/torch.py (commit
23d7a5aecceee57d1292c56e90cce307f183bb0a), imported from it: ``Classifier`` (``loss`` = ``F.cross_entropy`` on the
logits, ``accuracy``; ``configure_optimizers`` = plain SGD at ``self.lr``) and ``fit`` (``Trainer.fit``/``fit_epoch``
as a plain loop: ``training_step``, ``zero_grad``, under ``torch.no_grad()`` ``loss.backward()`` and
``optim.step()``; no clipping: the Trainer's ``gradient_clip_val`` is 0 here).

Kept as in the book: the two models exactly, PyTorch's default init of the lazy Linear layers (the book sets
none), cross-entropy on the logits, SGD lr 0.1, batch 256, inputs in [0, 1] as ``transforms.ToTensor()`` gives
them (d2l's FashionMNIST does not Normalize), the training set shuffled each epoch.  The LazyLinear layers are
materialized by one forward pass on a training batch before the optimizer is built (the book's Trainer does
this through ``prepare_model``/``apply_init``).

Changed to run offline on one CPU thread: Fashion-MNIST is d2l.py's ``digits_fashion`` (scikit-learn's
``load_digits``, split 80/20 with random_state=0, upsampled bilinearly to 1x28x28 like Fashion-MNIST's images,
divided by 255 as ToTensor does; 1437 training and 360 test images, 6 steps an epoch at batch 256); 390 epochs
instead of the book's 10, so a run takes the book's number of steps (2340 here, 10 x 235 = 2350 on
Fashion-MNIST); the ProgressBoard, the per-epoch validation
pass (it only plots), ``save_hyperparameters`` and the GPU handling are left out; ``torch.manual_seed(seed)``
before the model is built (the book does not seed).  The metric is the accuracy on the 360 test images after
training.

The watch, as a user would: ``monitor = gradmedic.watch(model, optim, every=10)`` right after
``model.configure_optimizers()`` in ``fit``, ``monitor.step(loss)`` right after ``loss.backward()`` (inside
``fit_epoch``'s ``torch.no_grad()`` block), before ``optim.step()``; ``monitor.close()`` after the loop.

``CASES`` (in the shape of run.py's ``case()``, program "d2lconcise"; name prefixes d2lsoft, d2lmlp2): each
program on seeds 1-3, and one change each against the same seed's healthy run: lr x10 (MLP), x100 (seed 1;
seeds 1 and 2 on the MLP), /1000; ``normal_(0, 1)`` on every Linear weight after the lazy layers are
materialized (biases keep the default); raw 0..255 values (no ToTensor scaling).  Labels come from run.py's
outcome rules only.
Recorded (cases-public13, 158 s for the 16 runs on a shared 2-core machine; 5-14 s a run): softmax healthy 0.961
test accuracy on seeds 1-3 (train loss 2.05 -> 0.069); lr /1000 0.761 (loss 1.94): broken; lr x100 (10) 0.956, N(0,
1) weights 0.958 and raw 0..255 values 0.961 all reach the control's accuracy but their losses blew up on the way
(largest 271, 17.4 and 2.5e5 against the control's 2.35; the raw run's train loss ends at 0.0): ambiguous.  MLP
healthy 0.969-0.972 on seeds 1-3 (loss 2.2 -> 0.014); lr x10 (1.0) 0.081, x100 0.083 and 0.081, /1000 0.214, raw
0..255 values 0.081 (loss 3e6 at the start, then stuck at ln 10): broken; N(0, 1) weights 0.947 (loss 381 at the
start, 0.0004 at the end: it overfits): ambiguous.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from d2l import Classifier, digits_fashion, fit
from torch import nn

ARCH = "mlp"
MONITOR_AT = ("watch(model, optim, every=10) right after model.configure_optimizers() (d2l's Trainer.fit); "
              "monitor.step(loss) right after loss.backward() in Trainer.fit_epoch (inside its torch.no_grad() "
              "block), before optim.step()")


class SoftmaxRegression(Classifier):
    """The softmax regression model."""
    def __init__(self, num_outputs, lr):
        super().__init__()
        self.num_outputs, self.lr = num_outputs, lr
        self.net = nn.Sequential(nn.Flatten(),
                                 nn.LazyLinear(num_outputs))

    def forward(self, X):
        return self.net(X)


class MLP(Classifier):
    def __init__(self, num_outputs, num_hiddens, lr):
        super().__init__()
        self.num_outputs, self.num_hiddens, self.lr = num_outputs, num_hiddens, lr
        self.net = nn.Sequential(nn.Flatten(), nn.LazyLinear(num_hiddens),
                                 nn.ReLU(), nn.LazyLinear(num_outputs))


def init_normal1(module):
    """The bug: N(0, 1) weights on every Linear."""
    if type(module) == nn.Linear:  # noqa: E721
        nn.init.normal_(module.weight, 0.0, 1.0)


EPOCHS = {"soft": 390, "mlp": 390}


def train(seed: int = 1, prog: str = "soft", lr_mult: float = 1.0, raw_pixels: bool = False,
          init_std: float | None = None, max_epochs: int | None = None, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    torch.manual_seed(seed)
    t0 = time.time()
    max_epochs = max_epochs or EPOCHS[prog]
    d_train, d_test = digits_fashion(raw_pixels)
    train_loader = torch.utils.data.DataLoader(d_train, 256, shuffle=True)
    if prog == "soft":
        model = SoftmaxRegression(num_outputs=10, lr=0.1 * lr_mult)
    else:
        model = MLP(num_outputs=10, num_hiddens=256, lr=0.1 * lr_mult)
    model.apply_init([d_train.tensors[0][:1]], init_normal1 if init_std else None)  # materialize the LazyLinear
    monitor, losses = fit(model, train_loader, max_epochs, every=every, verbose=verbose)
    model.eval()
    with torch.no_grad():
        X, Y = d_test.tensors
        Y_hat = model(X)
        acc = float(model.accuracy(Y_hat, Y))
        test_loss = float(model.loss(Y_hat, Y))
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc, "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(prog=prog, test_loss=test_loss, lr=model.lr, train_loss=float(np.mean(losses[-20:])),
                          first_loss=float(np.mean(losses[:5])), max_loss=float(np.max(losses)), steps=len(losses),
                          epochs=max_epochs, lr_mult=lr_mult, test_images=360),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="d2lconcise", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_SM = "concise softmax regression (Flatten, LazyLinear 10; SGD lr 0.1, batch 256, 390 epochs of 6 steps)"
_ML = "concise MLP (Flatten, LazyLinear 256, ReLU, LazyLinear 10; SGD lr 0.1, batch 256, 390 epochs of 6 steps)"
_N1 = ("nn.init.normal_(weight, 0, 1) on every Linear after the lazy layers are materialized (biases keep "
       "PyTorch's default)")
_RAW = "raw 0..255 pixel values (no ToTensor scaling)"
CASES: list[dict] = (
    [_case(f"d2lsoft_healthy_s{s}", "healthy", s, {"prog": "soft"}, f"{_SM}: unchanged", False) for s in (1, 2, 3)]
    + [_case("d2lsoft_lr_x100_s1", "lr_high", 1, {"prog": "soft", "lr_mult": 100}, f"{_SM}: lr x100 (10)")]
    + [_case("d2lsoft_lr_div1000_s1", "lr_low", 1, {"prog": "soft", "lr_mult": 1e-3}, f"{_SM}: lr /1000 (0.0001)")]
    + [_case("d2lsoft_init_std1_s1", "init_large", 1, {"prog": "soft", "init_std": 1.0}, f"{_SM}: {_N1}")]
    + [_case("d2lsoft_raw_pixels_s1", "unscaled_inputs", 1, {"prog": "soft", "raw_pixels": True}, f"{_SM}: {_RAW}")]
    + [_case(f"d2lmlp2_healthy_s{s}", "healthy", s, {"prog": "mlp"}, f"{_ML}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"d2lmlp2_lr_x{k}_s{s}", "lr_high", s, {"prog": "mlp", "lr_mult": k}, f"{_ML}: lr x{k} ({0.1 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("d2lmlp2_lr_div1000_s1", "lr_low", 1, {"prog": "mlp", "lr_mult": 1e-3}, f"{_ML}: lr /1000 (0.0001)")]
    + [_case("d2lmlp2_init_std1_s1", "init_large", 1, {"prog": "mlp", "init_std": 1.0}, f"{_ML}: {_N1}")]
    + [_case("d2lmlp2_raw_pixels_s1", "unscaled_inputs", 1, {"prog": "mlp", "raw_pixels": True}, f"{_ML}: {_RAW}")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
