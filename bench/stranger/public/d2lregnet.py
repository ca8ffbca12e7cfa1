"""Dive into Deep Learning (d2l-ai/d2l-en): RegNetX-32 (AnyNet) on Fashion-MNIST, scaled down, watched by gradmedic.

In place of the chapter's VGG (vgg.md) and AlexNet (alexnet.md), which this port was asked for and which could not
be made to train here (see "Why RegNet" below), this is the RegNetX-32 of the same chapter
(chapter_convolutional-modern/cnn-design.md, "Designing Convolution Network Architectures"), trained by the same d2l
Trainer setup.

Adapted from https://github.com/d2l-ai/d2l-en (commit 23d7a5aecceee57d1292c56e90cce307f183bb0a, the newest stored;
cnn-design.md last changed in aaf8acadbf7111b356efd572a96bc91011ca460f), the PyTorch tab of "The AnyNet Design Space",
"RegNet" and "Training", with ``d2l.ResNeXtBlock`` as d2l/torch.py at that commit has it (from resnet.md); the book's
sample code is under the modified MIT licence of LICENSE-SAMPLECODE, see LICENSE-d2lregnet.  The d2l package's
plumbing the program uses is written out as in d2l/torch.py at that commit, as d2lresnet.py does: ``Module``
(``forward`` = ``self.net``, ``training_step``, ``configure_optimizers`` = ``torch.optim.SGD(self.parameters(),
lr=self.lr)``, ``apply_init``), ``Classifier`` (``loss`` = ``F.cross_entropy`` with mean reduction, ``accuracy``),
``init_cnn`` and ``Trainer.fit`` / ``fit_epoch`` as a plain loop (per batch: ``training_step`` (forward and loss),
``optim.zero_grad()``, then under ``torch.no_grad()``: ``loss.backward()`` and ``optim.step()``;
``gradient_clip_val=0``, so no clipping).

Kept as in the book: ``ResNeXtBlock`` line for line (1x1 conv to ``bot_channels = round(num_channels * bot_mul)``,
3x3 grouped conv with ``groups=bot_channels//groups`` and ``strides``, 1x1 conv back to ``num_channels``, a
LazyBatchNorm2d after each, ReLUs, the optional 1x1 ``conv4`` + ``bn4`` on the shortcut, ``relu(Y + X)``);
``AnyNet.stem`` (3x3 conv stride 2 padding 1, BatchNorm, ReLU), ``AnyNet.stage`` (the first block of each stage
``use_1x1conv=True, strides=2``), ``AnyNet.__init__`` (stem, the stages, then ``AdaptiveAvgPool2d((1, 1))``,
``Flatten``, ``LazyLinear(num_classes)``; ``self.net.apply(d2l.init_cnn)``, a no-op on the still lazy modules, as in
the book, so every layer keeps PyTorch's default init); ``RegNetX32``'s depths (4, 6), ``bot_mul`` 1, and the
number of groups in each grouped conv (2 and 5); the training cell ``model = RegNetX32(lr=0.05)``,
``d2l.FashionMNIST(batch_size=128, ...)`` (inputs in [0, 1] as ``ToTensor`` gives them, no Normalize; the training
loader shuffled), plain SGD lr 0.05 (no momentum, no weight decay), cross-entropy, no clipping.

Changed, to run offline on one CPU thread: Fashion-MNIST resized to 96x96 is scikit-learn's ``load_digits`` split
80/20 with random_state=0 (1437 training, 360 test images), /16 into [0, 1], upsampled bilinearly from 8x8 to 1x32x32
(clamped to [0, 1]; ``digits_fashion`` as in d2lresnet.py); every channel count and the group width halved (stem 16
instead of 32, stage channels 16 and 40 instead of 32 and 80, group width 8 instead of 16, so the group counts 2 and 5
are unchanged; ``width`` is an added argument of ``RegNetX32``): the full width took about 7 s an epoch (12 steps) at
32x32 here; 10 epochs (the book's ``max_epochs=10``) of 12 steps (120 steps) instead of 469 steps each; before the
optimizer is built, one forward in training mode on the first batch materializes the lazy modules (the book's Trainer
builds SGD over the still lazy parameters; here ``gradmedic.watch`` is called on a materialized model; the forward
also moves the BatchNorm running statistics once), i.e. ``model.apply_init([first batch])`` with no init, or with the
variant's init; the per-epoch validation pass (it only feeds the book's plot) is left out; the ProgressBoard,
``save_hyperparameters`` and the GPU handling are left out (CPU); ``torch.manual_seed(seed)`` before the data and
model are built (the book does not seed); the variants' switches are keywords of ``train`` (and a ``softmax`` flag on
``Classifier.loss``, a ``bn`` flag on the modules).

The outcome is the training loss, as d2ldensenet.py does it: metric "loss", the mean training loss of the last epoch
(12 steps), against the mean of the first 5 steps.  With 12 steps an epoch the eval-mode test accuracy (BatchNorm's
running statistics, as the book's validation uses) swings from epoch to epoch (unwatched trials at half width: seed 1
read 0.91, 0.89, 0.95 and seed 2 0.80, 0.86, 0.94, 0.95 at epochs 7-10, while the training loss fell smoothly to
0.09-0.11).  The test accuracy at the end is kept as the extra ``test_accuracy``.  For the softmax variant the loss
compared is its own training loss (a cross-entropy over probabilities), as the user would watch it.

Why RegNet: VGG as vgg.md has it (``vgg_block``: LazyConv2d 3x3 padding 1 + ReLU, MaxPool2d(2, 2); the training cell's
small arch ((1, 16), (1, 32), (2, 64), (2, 128), (2, 128)); the FC head LazyLinear(4096), ReLU, Dropout(0.5) twice,
then LazyLinear(10); ``apply_init`` with ``init_cnn`` Xavier; SGD lr 0.01, batch 128, 224x224) was tried at 32x32
(the smallest side its five pools allow) with the FC head 512 wide: its training loss stayed at ln 10 = 2.30 and its
test accuracy at chance for 72 steps at lr 0.01 and 168 steps at the 2021 edition's lr 0.05 (batch 128), and for
~700 steps at lr 0.05 with batch 32 and half the channels (escaping only then: 0.16 test accuracy after 900 steps and
50 s); with a quarter of the channels it stayed at 2.30 for 1,500 steps; the full small arch at batch 32 stayed at
2.30 for 270 steps (52 s).  AlexNet as alexnet.md has it (96/256/384/384/256 channels with 11x11/4, 5x5, 3x3 kernels,
three 3x3/2 max pools, two Dropout(0.5) FC layers of 4096; PyTorch's default init in the current book, Xavier via
``train_ch6`` in the 2021 edition; SGD lr 0.01, batch 128, 224x224) was tried at 68x68 (its pools' smallest side)
with the channels /8 and the FC 512: 2.30 for 120 steps (default init) and 168 steps (Xavier) at batch 128, for ~500
steps at batch 32, reaching 0.38 after 810 steps (58 s); with the channels /16 (seed 2) 0.71 after 1,800 steps (63
s).  Without normalization, ReLU stacks of this depth under Xavier/default init shrink the signal layer by layer and
sit on the ln 10 plateau for hundreds of steps (the book's runs have 4,690 steps); a healthy control was out of
reach within a run's ~30 s, so both are dropped (not recorded) and the chapter's RegNetX-32 (BatchNorm, lr 0.05,
batch 128, the same Trainer) is ported instead.

The watch, as a user would: ``monitor = gradmedic.watch(model, optim, every=10)`` right after
``model.configure_optimizers()`` in ``fit``, ``monitor.step(loss)`` right after ``loss.backward()`` (inside
``fit_epoch``'s ``torch.no_grad()`` block), before ``optim.step()``; ``monitor.close()`` after the loop.

``CASES`` (program "d2lregnet"): the program on seeds 1-3, and one change each against the same seed's healthy run:
SGD lr x2 (expected harmless), x10, x100 (seeds 1 and 2), /1000; raw 0..255 pixel values (no ToTensor scaling);
``normal_(0, 1)`` on every Conv2d and Linear weight after the first forward; every Conv2d and Linear weight and bias
zero; every BatchNorm layer removed (``nn.Identity``); ``optim.zero_grad()`` left out; softmax over the outputs
before ``F.cross_entropy``.  Labels come from run.py's outcome rules only.
Recorded (cases-public66; 14 cases in 213 s, 9-20 s a run on the shared 2-core machine): healthy training loss
2.36-2.42 at the start -> 0.108, 0.108, 0.111 on seeds 1-3 (largest 2.55-2.79, every loss finite; the extra test
accuracies 0.717, 0.947, 0.789 show the eval-mode swing described above); lr x2 (0.1): 0.022 (test accuracy 0.964):
healthy; lr x10 (0.5): first losses 5.1, largest 8.1 (over 2x its control's largest), training loss 0.026, test
accuracy 0.756: ambiguous; lr x100 (5.0): first losses 10-16, largest 39 and 71, training loss 2.12 and 2.32 on seeds 1
and 2 (test accuracy 0.200, 0.114): broken; lr /1000: 2.60 -> 2.56 (0.086): broken; raw 0..255 pixels: 0.086 (the
stem's BatchNorm divides the factor out; test accuracy 0.889): healthy; N(0, 1) weights: first losses 9.2, largest 13.0,
training loss 0.871 (0.561): broken; zero weights and biases: the loss stays at 2.303 (0.083): broken; BatchNorm
removed: the loss stays at 2.303 (0.083): broken; zero_grad left out: training loss 0.126 (1.17x its control's) but a
test accuracy of 0.100 (the eval-mode running statistics): ambiguous; softmax before cross_entropy: 2.30 -> 2.08
(0.456): broken.  Labels: 5 healthy (3 programs, lr x2, raw pixels), 7 broken, 2 ambiguous.  No run had a non-finite
loss.
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

LR = 0.05  # model = RegNetX32(lr=0.05)
BATCH_SIZE = 128  # d2l.FashionMNIST(batch_size=128, resize=(96, 96))
EPOCHS = 10  # d2l.Trainer(max_epochs=10)
SIZE = 32  # the digits' side after upsampling (the book resizes Fashion-MNIST to 96x96)
WIDTH = 2  # every channel count and the group width divided by this


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
    softmax = False  # the wrong_loss variant: probabilities fed to cross_entropy

    def accuracy(self, Y_hat, Y, averaged=True):
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        preds = Y_hat.argmax(axis=1).type(Y.dtype)
        compare = (preds == Y.reshape(-1)).type(torch.float32)
        return compare.mean() if averaged else compare

    def loss(self, Y_hat, Y, averaged=True):
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        if self.softmax:
            Y_hat = torch.softmax(Y_hat, dim=1)
        Y = Y.reshape((-1,))
        return F.cross_entropy(
            Y_hat, Y, reduction='mean' if averaged else 'none')


def init_cnn(module):
    """Initialize weights for CNNs."""
    if type(module) == nn.Linear or type(module) == nn.Conv2d:  # noqa: E721
        nn.init.xavier_uniform_(module.weight)


def init_normal1(module):
    """The init_large variant: N(0, 1) weights in place of the default init."""
    if type(module) == nn.Linear or type(module) == nn.Conv2d:  # noqa: E721
        nn.init.normal_(module.weight, 0.0, 1.0)


def init_zero(module):
    """The symmetric_init variant: every Conv2d and Linear weight and bias zero."""
    if type(module) == nn.Linear or type(module) == nn.Conv2d:  # noqa: E721
        nn.init.zeros_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


INITS = {"default": None, "std1": init_normal1, "zero": init_zero}


def fit(model, train_dataloader, max_epochs, zero_grad=True, every=10, verbose=False):
    """d2l.Trainer.fit and fit_epoch as plain loops (gradient_clip_val=0; no validation pass), watched."""
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
        if verbose:
            print(f"epoch {epoch + 1} loss {np.mean(losses[-12:]):.4f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    return monitor, losses


# --- d2l.ResNeXtBlock (d2l/torch.py, from resnet.md) ----------------------------------------------------------------

class ResNeXtBlock(nn.Module):  #@save
    """The ResNeXt block."""
    def __init__(self, num_channels, groups, bot_mul, use_1x1conv=False,
                 strides=1, bn=True):
        super().__init__()
        bot_channels = int(round(num_channels * bot_mul))
        self.conv1 = nn.LazyConv2d(bot_channels, kernel_size=1, stride=1)
        self.conv2 = nn.LazyConv2d(bot_channels, kernel_size=3,
                                   stride=strides, padding=1,
                                   groups=bot_channels//groups)
        self.conv3 = nn.LazyConv2d(num_channels, kernel_size=1, stride=1)
        # ``bn=False`` (the no_norm variant): the BatchNorm layers left out
        self.bn1 = nn.LazyBatchNorm2d() if bn else nn.Identity()
        self.bn2 = nn.LazyBatchNorm2d() if bn else nn.Identity()
        self.bn3 = nn.LazyBatchNorm2d() if bn else nn.Identity()
        if use_1x1conv:
            self.conv4 = nn.LazyConv2d(num_channels, kernel_size=1,
                                       stride=strides)
            self.bn4 = nn.LazyBatchNorm2d() if bn else nn.Identity()
        else:
            self.conv4 = None

    def forward(self, X):
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = F.relu(self.bn2(self.conv2(Y)))
        Y = self.bn3(self.conv3(Y))
        if self.conv4:
            X = self.bn4(self.conv4(X))
        return F.relu(Y + X)


# --- chapter_convolutional-modern/cnn-design.md ---------------------------------------------------------------------

class AnyNet(Classifier):
    def stem(self, num_channels):
        return nn.Sequential(
            nn.LazyConv2d(num_channels, kernel_size=3, stride=2, padding=1),
            nn.LazyBatchNorm2d() if self.bn else nn.Identity(), nn.ReLU())

    def stage(self, depth, num_channels, groups, bot_mul):
        blk = []
        for i in range(depth):
            if i == 0:
                blk.append(ResNeXtBlock(num_channels, groups, bot_mul,
                    use_1x1conv=True, strides=2, bn=self.bn))
            else:
                blk.append(ResNeXtBlock(num_channels, groups, bot_mul, bn=self.bn))
        return nn.Sequential(*blk)

    def __init__(self, arch, stem_channels, lr=0.1, num_classes=10, bn=True):
        super(AnyNet, self).__init__()  # noqa: UP008
        self.lr, self.num_classes, self.bn = lr, num_classes, bn
        self.net = nn.Sequential(self.stem(stem_channels))
        for i, s in enumerate(arch):
            self.net.add_module(f'stage{i+1}', self.stage(*s))
        self.net.add_module('head', nn.Sequential(
            nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
            nn.LazyLinear(num_classes)))
        self.net.apply(init_cnn)


class RegNetX32(AnyNet):
    def __init__(self, lr=0.1, num_classes=10, width=1, bn=True):
        stem_channels, groups, bot_mul = 32 // width, 16 // width, 1
        depths, channels = (4, 6), (32 // width, 80 // width)
        super().__init__(
            ((depths[0], channels[0], groups, bot_mul),
             (depths[1], channels[1], groups, bot_mul)),
            stem_channels, lr, num_classes, bn)


def digits_fashion(size=SIZE, input_scale=1.0):
    """FashionMNIST's stand-in: load_digits split 80/20 (random_state=0), /16 into [0, 1] as ToTensor gives them (the
    book does not Normalize), upsampled bilinearly from 8x8 to size x size (the book's Resize)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)

    def up(x):
        x = torch.tensor(x, dtype=torch.float32)[:, None] / 16.0
        return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1) * input_scale

    return (torch.utils.data.TensorDataset(up(xtr), torch.tensor(ytr)),
            torch.utils.data.TensorDataset(up(xte), torch.tensor(yte)))


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, init: str = "default", bn: bool = True,
          zero_grad: bool = True, softmax: bool = False, max_epochs: int = EPOCHS, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    torch.manual_seed(seed)
    t0 = time.time()
    d_train, d_test = digits_fashion(SIZE, input_scale)
    train_loader = torch.utils.data.DataLoader(d_train, BATCH_SIZE, shuffle=True)
    model = RegNetX32(lr=LR * lr_mult, width=WIDTH, bn=bn)
    model.softmax = softmax
    model.apply_init([next(iter(train_loader))[0]], INITS[init])  # materializes the lazy modules
    monitor, losses = fit(model, train_loader, max_epochs, zero_grad=zero_grad, every=every, verbose=verbose)
    model.eval()
    with torch.no_grad():
        X, Y = d_test.tensors
        Y_hat = model(X)
        acc = float(model.accuracy(Y_hat, Y))
        test_loss = float(F.cross_entropy(Y_hat, Y))
    ex = {"test_loss": test_loss, "lr": model.lr, "train_loss": float(np.mean(losses[-12:])),
          "first_loss": float(np.mean(losses[:5])), "max_loss": float(np.nanmax(losses)),
          "finite_losses": bool(np.isfinite(losses).all()), "steps": len(losses), "epochs": max_epochs,
          "lr_mult": lr_mult, "input_scale": input_scale, "init": init, "bn": bn, "zero_grad": zero_grad,
          "softmax": softmax, "test_images": len(Y)}
    # the outcome: the training loss of the last epoch (12 steps); the eval-mode test accuracy is only an extra
    return {"monitors": {"": monitor}, "metric": "loss", "value": ex["train_loss"], "chance": None,
            "initial": ex["first_loss"], "initial_what": "untrained: mean training loss of the first 5 steps",
            "extra": dict(ex, test_accuracy=acc), "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="d2lregnet", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"RegNetX-32 (AnyNet: stem, stages of ResNeXt blocks with LazyBatchNorm2d, depths (4, 6), channels (32, 80) and "
      f"stem 32 with every channel count and the group width /{WIDTH}, default init), cross_entropy, SGD lr {LR:g}, "
      f"batch {BATCH_SIZE}, {SIZE}x{SIZE} digits, {EPOCHS} epochs of 12 steps")
CASES: list[dict] = (
    [_case(f"d2lregnet_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"d2lregnet_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((2, (1,)), (10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("d2lregnet_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case("d2lregnet_raw_pixels_s1", "unscaled_inputs", 1, {"input_scale": 255.0},
             f"{_P}: raw 0..255 pixel values (no ToTensor scaling)")]
    + [_case("d2lregnet_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_P}: nn.init.normal_(weight, 0, 1) on every Conv2d and Linear after the first forward")]
    + [_case("d2lregnet_zero_init_s1", "symmetric_init", 1, {"init": "zero"},
             f"{_P}: every Conv2d and Linear weight and bias zeros_ after the first forward")]
    + [_case("d2lregnet_no_bn_s1", "no_norm", 1, {"bn": False}, f"{_P}: every BatchNorm layer removed")]
    + [_case("d2lregnet_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optim.zero_grad() left out of fit_epoch (the gradients accumulate)")]
    + [_case("d2lregnet_softmax_ce_s1", "wrong_loss", 1, {"softmax": True},
             f"{_P}: softmax over the outputs before F.cross_entropy in Classifier.loss")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
