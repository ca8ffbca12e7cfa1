"""lucidrains/mlp-mixer-pytorch ``MLPMixer`` (patches -> Linear, token-mixing and channel-mixing pre-norm residual
MLPs, LayerNorm, mean pool, Linear head) on digits, watched by gradmedic.

Adapted from https://github.com/lucidrains/mlp-mixer-pytorch (commit b102a9b25cb8bd2360db36cbd252dc4e670fd5e4,
mlp_mixer_pytorch/mlp_mixer_pytorch.py; MIT License, Copyright (c) 2021 Phil Wang, see LICENSE-mlpmixer).  Kept as
in the original: ``PreNormResidual`` (``fn(LayerNorm(x)) + x``), ``FeedForward`` (dense, GELU, Dropout, dense,
Dropout, with ``dense`` = ``Conv1d(kernel_size=1)`` over the patches for token mixing and ``nn.Linear`` over the
channels for channel mixing), ``MLPMixer`` as upstream's ``nn.Sequential`` (Rearrange into patches,
``Linear(patch_size**2 * channels, dim)``, ``depth`` blocks of token mixing with hidden ``int(expansion_factor *
dim)`` and channel mixing with hidden ``int(expansion_factor_token * dim)``, defaults 4 and 0.5 as upstream,
``LayerNorm(dim)``, Reduce mean over the patches, ``Linear(dim, num_classes)``), dropout 0. (upstream's default) and
PyTorch's default initialization throughout (upstream sets none).  The README gives no training loop; the loop is
the plain one its users write: Adam lr 1e-3, ``nn.CrossEntropyLoss`` on the logits, zero_grad / backward / step per
batch of 64, shuffled each epoch, test accuracy at the end.

Changed: einops is not installed here, so ``Rearrange('b c (h p1) (w p2) -> b (h w) (p1 p2 c)')`` is ``Patchify``
(view, permute, reshape) and ``Reduce('b n c -> b c', 'mean')`` is ``MeanTokens`` (``x.mean(dim=1)``), same
meaning.  The data is scikit-learn's ``load_digits`` split 80/20 with random_state=0 (1437 training, 360 test
images) and upsampled bilinearly to 1x16x16 with values in [0, 1] (the 0..16 counts divided by 16, as
``ToTensor`` gives an image; no Normalize, as the repo's users feed [0, 1] images; the raw 0..255 values are the
``raw_pixels`` variant); the shuffle uses a ``torch.Generator`` seeded with the run's seed.  The model is small so
a run takes ~15-20 s on one CPU thread: image 16, patch 4 (16 patches), channels 1, dim 64, depth 4 (token-mixing
hidden 256, channel-mixing hidden 32); 8 epochs (184 steps).  ``MLPMixer`` takes a ``norm`` argument (default
``nn.LayerNorm``) for PreNormResidual so the no-LayerNorm variant can pass ``nn.Identity``; the final LayerNorm is
kept in every variant.

The watch: ``gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is built,
``monitor.step(loss)`` after ``loss.backward()``, before ``optimizer.step()``.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the
same seed's healthy run: Adam lr x10, x100 (seeds 1 and 2), x1000 and /1000; N(0, 1) instead of the default
init on every Linear and Conv1d weight (seeds 1 and 2); raw 0..255 pixels (seeds 1 and 2); the LayerNorm of every
PreNormResidual replaced by nn.Identity at the same lr (seeds 1 and 2).  Labels come from run.py's outcome rules
only.
Recorded (cases-public14, 14 cases in 436 s with other jobs sharing the CPU, 18-42 s a run): healthy 0.983, 0.986,
0.992 on seeds 1-3; lr x100 (0.858, 0.850), x1000 (0.108) and /1000 (0.111) broken; lr x10 (0.947), N(0, 1) init
(0.928, 0.925), raw 0..255 pixels (0.911, 0.939) and no PreNormResidual LayerNorm (0.933, 0.917) ambiguous: each
still trains to >= 0.9 but ends 4-8 points below its control, neither 10 points below (broken) nor within 3
(healthy).  The LayerNorms (in every residual branch and before the head) absorb most of the inputs' and the
weights' scale, so the mixer degrades rather than fails under these changes.
"""

from __future__ import annotations

import time
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import gradmedic

ARCH = "mlp"
MONITOR_AT = "monitor.step(loss) after loss.backward() (CrossEntropyLoss on the logits), before optimizer.step()"


def pair(x):
    return x if isinstance(x, tuple) else (x, x)


class Patchify(nn.Module):
    """einops' Rearrange('b c (h p1) (w p2) -> b (h w) (p1 p2 c)', p1=p1, p2=p2) in plain torch."""

    def __init__(self, p1, p2):
        super().__init__()
        self.p1, self.p2 = p1, p2

    def forward(self, x):
        b, c, hh, ww = x.shape
        h, w = hh // self.p1, ww // self.p2
        x = x.view(b, c, h, self.p1, w, self.p2).permute(0, 2, 4, 3, 5, 1)
        return x.reshape(b, h * w, self.p1 * self.p2 * c)


class MeanTokens(nn.Module):
    """einops' Reduce('b n c -> b c', 'mean') in plain torch."""

    def forward(self, x):
        return x.mean(dim=1)


class PreNormResidual(nn.Module):
    def __init__(self, dim, fn, norm=nn.LayerNorm):
        super().__init__()
        self.fn = fn
        self.norm = norm(dim)

    def forward(self, x):
        return self.fn(self.norm(x)) + x


def FeedForward(dim, dim_hidden, dropout=0., dense=nn.Linear):
    return nn.Sequential(
        dense(dim, dim_hidden),
        nn.GELU(),
        nn.Dropout(dropout),
        dense(dim_hidden, dim),
        nn.Dropout(dropout)
    )


def MLPMixer(*, image_size, channels, patch_size, dim, depth, num_classes, expansion_factor=4,
             expansion_factor_token=0.5, dropout=0., norm=nn.LayerNorm):
    image_h, image_w = pair(image_size)
    assert (image_h % patch_size) == 0 and (image_w % patch_size) == 0, 'image must be divisible by patch size'
    num_patches = (image_h // patch_size) * (image_w // patch_size)
    chan_first, chan_last = partial(nn.Conv1d, kernel_size=1), nn.Linear

    return nn.Sequential(
        Patchify(patch_size, patch_size),
        nn.Linear((patch_size ** 2) * channels, dim),
        *[nn.Sequential(
            PreNormResidual(dim, FeedForward(num_patches, int(expansion_factor * dim), dropout, chan_first), norm),
            PreNormResidual(dim, FeedForward(dim, int(expansion_factor_token * dim), dropout, chan_last), norm)
        ) for _ in range(depth)],
        nn.LayerNorm(dim),
        MeanTokens(),
        nn.Linear(dim, num_classes)
    )


def digits16(raw_pixels: bool = False):
    """(train, test) TensorDatasets of digits upsampled to 1x16x16 in [0, 1], or raw 0..255 values."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)

    def up(x):
        x = torch.tensor(x, dtype=torch.float32)[:, None] / 16.0  # ToTensor: [0, 1]
        return F.interpolate(x, size=(16, 16), mode="bilinear", align_corners=False).clamp(0, 1)

    xtr, xte = up(xtr), up(xte)
    if raw_pixels:  # the bug: 0..255 pixel values straight into the network, no ToTensor scaling
        xtr, xte = xtr * 255.0, xte * 255.0
    return (torch.utils.data.TensorDataset(xtr, torch.tensor(ytr)),
            torch.utils.data.TensorDataset(xte, torch.tensor(yte)))


def evaluate(model, loader, criterion):
    model.eval()
    correct, total, loss_sum = 0, 0, 0.0
    with torch.no_grad():
        for img, label in loader:
            preds = model(img)
            loss_sum += criterion(preds, label).item() * len(label)
            correct += (preds.argmax(dim=1) == label).sum().item()
            total += len(label)
    return loss_sum / total, correct / total


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init_std: float | None = None,
          no_norm: bool = False, epochs: int = 8, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    d_train, d_test = digits16(raw_pixels)
    g = torch.Generator()
    g.manual_seed(seed)
    train_loader = torch.utils.data.DataLoader(d_train, batch_size=64, shuffle=True, generator=g)
    test_loader = torch.utils.data.DataLoader(d_test, batch_size=1000)

    model = MLPMixer(image_size=16, channels=1, patch_size=4, dim=64, depth=4, num_classes=10,
                     norm=nn.Identity if no_norm else nn.LayerNorm)
    if init_std is not None:  # the bug: normal_(0, std) on every Linear and Conv1d weight instead of the default init
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Conv1d)):
                nn.init.normal_(m.weight, 0.0, init_std)
    lr = 1e-3 * lr_mult
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)
    criterion = nn.CrossEntropyLoss()
    losses = []

    t0 = time.time()
    for epoch in range(epochs):
        model.train()
        for img, label in train_loader:
            optimizer.zero_grad()
            preds = model(img)
            loss = criterion(preds, label)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())
        if verbose:
            print(f"epoch {epoch + 1} loss {np.mean(losses[-23:]):.4f} ({time.time() - t0:.1f}s)", flush=True)
    test_loss, acc = evaluate(model, test_loader, criterion)
    monitor.close()
    if verbose:
        print(f"test loss {test_loss:.4f} accuracy {acc:.4f}")
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc), "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"test_loss": test_loss, "train_loss": float(np.mean(losses[-20:])), "steps": len(losses),
                      "lr": lr},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="mlpmixer", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"mlpmixer_healthy_s{s}", "healthy", s, {}, "unchanged (MLPMixer patch 4, dim 64, depth 4, Adam lr 1e-3, "
           "CrossEntropyLoss, batch 64, 8 epochs)", False) for s in (1, 2, 3)]
    + [_case(f"mlpmixer_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("mlpmixer_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (1e-06)")]
    + [_case(f"mlpmixer_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Linear and Conv1d weight instead of PyTorch's default "
             "(kaiming_uniform_, a=sqrt(5))") for s in (1, 2)]
    + [_case(f"mlpmixer_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             "raw 0..255 pixel values instead of [0, 1] (no ToTensor scaling)") for s in (1, 2)]
    + [_case(f"mlpmixer_no_layernorm_s{s}", "no_norm", s, {"no_norm": True},
             "the LayerNorm of every PreNormResidual replaced by nn.Identity (final LayerNorm kept), same lr 1e-3")
       for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    r = train(verbose=True, **({"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}))
    print({k: v for k, v in r.items() if k != "monitors"})
