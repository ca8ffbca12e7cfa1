"""Dive into Deep Learning (d2l-ai/d2l-en): ResNet-18 on Fashion-MNIST, scaled down, watched by gradmedic.

Adapted from https://github.com/d2l-ai/d2l-en (commit 23d7a5aecceee57d1292c56e90cce307f183bb0a, the newest stored;
chapter_convolutional-modern/resnet.md last changed in 003f46d8d6bbe6311a235ca107b93f1b4e897953), the PyTorch tab of
"Residual Blocks", "ResNet Model" and "Training"; the book's sample code is under the modified MIT licence of
LICENSE-SAMPLECODE, see LICENSE-d2lresnet.  The d2l package's plumbing the program uses is written out as in
d2l/torch.py at that commit (the package is not installed here), as d2lbn.py does: ``Module`` (``forward`` =
``self.net``, ``training_step``, ``configure_optimizers`` = ``torch.optim.SGD(self.parameters(), lr=self.lr)``,
``apply_init``), ``Classifier`` (``loss`` = ``F.cross_entropy`` with mean reduction, ``accuracy``), ``init_cnn`` and
``Trainer.fit`` / ``fit_epoch`` as a plain loop (per batch: ``training_step`` (forward and loss), ``optim.zero_grad()``,
then under ``torch.no_grad()``: ``loss.backward()`` and ``optim.step()``; ``gradient_clip_val=0``, so no clipping).

Kept as in the book: ``Residual`` line for line (conv1 3x3 with padding 1 and ``strides``, conv2 3x3, the optional
1x1 ``conv3`` with ``strides`` on the shortcut, ``LazyBatchNorm2d`` after each 3x3 conv, ``Y = relu(bn1(conv1(X)))``,
``Y = bn2(conv2(Y))``, ``Y += X``, ``relu(Y)``); ``ResNet.b1`` (7x7 conv stride 2 padding 3, BatchNorm, ReLU, 3x3 max
pool stride 2 padding 1), ``ResNet.block`` (the first residual of every stage but the first halves the size with
``use_1x1conv=True, strides=2``), ``ResNet.__init__`` (b1, the stages as ``b2``..``b5``, then ``AdaptiveAvgPool2d((1,
1))``, ``Flatten``, ``LazyLinear(num_classes)``; ``self.net.apply(d2l.init_cnn)``, a no-op on the still lazy modules,
as in the book); ``ResNet18``'s arch ((2, 64), (2, 128), (2, 256), (2, 512)): four stages of two residual blocks, 18
layers; the training cell ``model = ResNet18(lr=0.01)``, ``d2l.FashionMNIST(batch_size=128, ...)`` (inputs in [0, 1]
as ``ToTensor`` gives them, no Normalize; the training loader shuffled), ``model.apply_init([next(iter(
data.get_dataloader(True)))[0]], d2l.init_cnn)`` (one forward in training mode on a first batch, which also moves the
BatchNorm running statistics once, then ``xavier_uniform_`` on every Conv2d and Linear weight; biases keep the lazy
modules' default init), plain SGD lr 0.01 (no momentum, no weight decay), cross-entropy, no clipping.

Changed, to run offline on one CPU thread: Fashion-MNIST resized to 96x96 is scikit-learn's ``load_digits`` split 80/20
with random_state=0 (1437 training, 360 test images), /16 into [0, 1], upsampled bilinearly from 8x8 to 1x32x32
(clamped to [0, 1]); every channel count divided by 8 (b1 8 channels, stages 8, 16, 32, 64; the depth, 18 layers, and
the block structure unchanged; ``width`` is an added argument of ``ResNet`` / ``ResNet18``): the full-width net took
about 5 s a step at 96x96 and 0.9 s at 32x32 on this machine; 12 epochs of 12 steps (144 steps) instead of the book's 10
epochs of 469; the per-epoch validation pass (it only feeds the book's plot) is left out, and the test accuracy on the
360 held-out images in eval mode (BatchNorm's running statistics, as the book's validation uses) after training is the
metric; the ProgressBoard, ``save_hyperparameters`` and the GPU handling are left out (CPU); ``torch.manual_seed(seed)``
before the data and model are built (the book does not seed); the variants' switches are keywords of ``train`` (and a
``softmax`` flag on ``Classifier.loss``, a ``bn`` flag on the modules).

The watch, as a user would: ``monitor = gradmedic.watch(model, optim, every=10)`` right after
``model.configure_optimizers()`` in ``fit``, ``monitor.step(loss)`` right after ``loss.backward()`` (inside
``fit_epoch``'s ``torch.no_grad()`` block), before ``optim.step()``; ``monitor.close()`` after the loop.

``CASES`` (program "d2lresnet"): the program on seeds 1-3, and one change each against the same seed's healthy run: SGD
lr x2 (expected harmless), x10, x100 (seeds 1 and 2), /1000; raw 0..255 pixel values (no ToTensor scaling);
``normal_(0, 1)`` and ``normal_(0, 1e-3)`` on every Conv2d and Linear weight in place of init_cnn's Xavier; every
Conv2d and Linear weight and bias zero; every BatchNorm layer removed (``nn.Identity``); ``optim.zero_grad()`` left
out; softmax over the outputs before ``F.cross_entropy``.  Labels come from run.py's outcome rules only.
Recorded (cases-public46; 15 cases in 374 s, 17-30 s a run on the shared 2-core machine, another program recording
alongside): healthy test accuracy 0.928, 0.953, 0.933 on seeds 1-3 (training loss 2.47-2.94 at the start -> 0.034-0.054,
largest 3.20-3.55, every loss finite); lr x2 (0.02): 0.942, training loss 0.020: healthy; lr x10 (0.1): training loss
0.019 but 0.744 (test loss 1.26: the eval-mode running statistics lag the fast-moving weights): broken; lr x100 (1.0):
0.792 on seed 1 (losses up to 8.0, training loss 0.36) and 0.567 on seed 2 (training loss 0.11, test loss 3.0): broken;
lr /1000: the loss stays near its start (2.85), 0.119: broken; raw 0..255 pixels: 0.925 (the BatchNorm after the first
convolution divides the factor out): healthy; N(0, 1) weights: first losses ~133 (largest 333), training loss 1.39,
0.708: broken; N(0, 1e-3) weights: training loss 1.43, 0.417: broken; zero weights and biases: the loss stays at 2.303,
0.081: broken; BatchNorm removed: training loss 2.31 -> 2.19, 0.250: broken; zero_grad left out: training loss 0.14 but
0.725 (test loss 3.5): broken; softmax before cross_entropy: training loss 2.30 -> 1.58 (a cross-entropy over
probabilities cannot go much lower), 0.894, 3.3 points below its control: ambiguous.  Labels: 5 healthy (3 programs,
lr x2, raw pixels), 9 broken, 1 ambiguous.  No run had a non-finite loss.
(An unwatched per-epoch check at lr x10 on seed 1 read test accuracies 0.54-0.98
from one epoch to the next with training losses 0.01-0.14; at lr 0.01 seed 3 read a steady 0.91-0.95 from epoch 5
on: the eval-mode accuracy of the fast-moving high-rate runs is noisy, and their labels follow that one reading.)
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

LR = 0.01  # model = ResNet18(lr=0.01)
BATCH_SIZE = 128  # d2l.FashionMNIST(batch_size=128, resize=(96, 96))
EPOCHS = 12
SIZE = 32  # the digits' side after upsampling (the book resizes Fashion-MNIST to 96x96)
WIDTH = 8  # every channel count divided by this (ResNet-18's 64, 128, 256, 512 -> 16, 32, 64, 128)


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
    """The init_large variant: N(0, 1) weights in place of init_cnn's Xavier."""
    if type(module) == nn.Linear or type(module) == nn.Conv2d:  # noqa: E721
        nn.init.normal_(module.weight, 0.0, 1.0)


def init_zero(module):
    """The symmetric_init variant: every Conv2d and Linear weight and bias zero."""
    if type(module) == nn.Linear or type(module) == nn.Conv2d:  # noqa: E721
        nn.init.zeros_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def init_small(module):
    """The init_small variant: N(0, 1e-3) weights in place of init_cnn's Xavier."""
    if type(module) == nn.Linear or type(module) == nn.Conv2d:  # noqa: E721
        nn.init.normal_(module.weight, 0.0, 1e-3)


INITS = {"xavier": init_cnn, "std1": init_normal1, "zero": init_zero, "small": init_small}


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


# --- chapter_convolutional-modern/resnet.md --------------------------------------------------------------------------

class Residual(nn.Module):  #@save
    """The Residual block of ResNet models."""
    def __init__(self, num_channels, use_1x1conv=False, strides=1, bn=True):
        super().__init__()
        self.conv1 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1,
                                   stride=strides)
        self.conv2 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1)
        if use_1x1conv:
            self.conv3 = nn.LazyConv2d(num_channels, kernel_size=1,
                                       stride=strides)
        else:
            self.conv3 = None
        # ``bn=False`` (the no_norm variant): the BatchNorm layers left out
        self.bn1 = nn.LazyBatchNorm2d() if bn else nn.Identity()
        self.bn2 = nn.LazyBatchNorm2d() if bn else nn.Identity()

    def forward(self, X):
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3:
            X = self.conv3(X)
        Y += X
        return F.relu(Y)


class ResNet(Classifier):
    def b1(self):
        return nn.Sequential(
            nn.LazyConv2d(64 // self.width, kernel_size=7, stride=2, padding=3),
            nn.LazyBatchNorm2d() if self.bn else nn.Identity(), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1))

    def block(self, num_residuals, num_channels, first_block=False):
        blk = []
        for i in range(num_residuals):
            if i == 0 and not first_block:
                blk.append(Residual(num_channels, use_1x1conv=True, strides=2, bn=self.bn))
            else:
                blk.append(Residual(num_channels, bn=self.bn))
        return nn.Sequential(*blk)

    def __init__(self, arch, lr=0.1, num_classes=10, width=1, bn=True):
        super(ResNet, self).__init__()  # noqa: UP008
        self.lr, self.num_classes, self.width, self.bn = lr, num_classes, width, bn
        self.net = nn.Sequential(self.b1())
        for i, b in enumerate(arch):
            self.net.add_module(f'b{i+2}', self.block(*b, first_block=(i==0)))
        self.net.add_module('last', nn.Sequential(
            nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
            nn.LazyLinear(num_classes)))
        self.net.apply(init_cnn)


class ResNet18(ResNet):
    def __init__(self, lr=0.1, num_classes=10, width=1, bn=True):
        super().__init__(((2, 64 // width), (2, 128 // width), (2, 256 // width), (2, 512 // width)),
                         lr, num_classes, width, bn)


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


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, init: str = "xavier", bn: bool = True,
          zero_grad: bool = True, softmax: bool = False, max_epochs: int = EPOCHS, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    torch.manual_seed(seed)
    t0 = time.time()
    d_train, d_test = digits_fashion(SIZE, input_scale)
    train_loader = torch.utils.data.DataLoader(d_train, BATCH_SIZE, shuffle=True)
    model = ResNet18(lr=LR * lr_mult, width=WIDTH, bn=bn)
    model.softmax = softmax
    model.apply_init([next(iter(train_loader))[0]], INITS[init])
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
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc, "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1", "extra": ex, "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="d2lresnet", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"ResNet-18 (Residual blocks with LazyBatchNorm2d, arch ((2, 64), (2, 128), (2, 256), (2, 512)) with every "
      f"channel count /{WIDTH}, init_cnn Xavier after a first forward), cross_entropy, SGD lr {LR:g}, batch {BATCH_SIZE}, "
      f"{SIZE}x{SIZE} digits, {EPOCHS} epochs of 12 steps")
CASES: list[dict] = (
    [_case(f"d2lresnet_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"d2lresnet_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((2, (1,)), (10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("d2lresnet_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case("d2lresnet_raw_pixels_s1", "unscaled_inputs", 1, {"input_scale": 255.0},
             f"{_P}: raw 0..255 pixel values (no ToTensor scaling)")]
    + [_case("d2lresnet_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_P}: nn.init.normal_(weight, 0, 1) on every Conv2d and Linear in place of init_cnn's xavier_uniform_")]
    + [_case("d2lresnet_init_small_s1", "init_small", 1, {"init": "small"},
             f"{_P}: nn.init.normal_(weight, 0, 1e-3) on every Conv2d and Linear in place of init_cnn's "
             "xavier_uniform_")]
    + [_case("d2lresnet_zero_init_s1", "symmetric_init", 1, {"init": "zero"},
             f"{_P}: every Conv2d and Linear weight and bias zeros_ in place of init_cnn")]
    + [_case("d2lresnet_no_bn_s1", "no_norm", 1, {"bn": False}, f"{_P}: every BatchNorm layer removed")]
    + [_case("d2lresnet_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optim.zero_grad() left out of fit_epoch (the gradients accumulate)")]
    + [_case("d2lresnet_softmax_ce_s1", "wrong_loss", 1, {"softmax": True},
             f"{_P}: softmax over the outputs before F.cross_entropy in Classifier.loss")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
