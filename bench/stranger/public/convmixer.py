"""locuslab's ConvMixer ("Patches Are All You Need?") trained as convmixer-cifar10's train.py trains it, on digits,
watched by gradmedic.

Adapted from https://github.com/locuslab/convmixer (commit 47048118e95721a00385bfe3122519f4b583b26e, convmixer.py:
the model) and https://github.com/locuslab/convmixer-cifar10 (commit 2d3d9b73d3caa6112ecdcea866f1d2805f37cc8e,
train.py: the same model and the training); both MIT License (Copyright (c) 2022 CMU Locus Lab; Copyright (c) 2021
Author(s) of ICLR 2022 Submission "Patches Are All You Need?"), see LICENSE-convmixer.  Kept as in the original:
``Residual`` and ``ConvMixer`` (copied below: the patch embedding Conv2d(3, dim, patch, stride=patch), GELU,
BatchNorm2d; ``depth`` blocks of a residual depthwise Conv2d(dim, dim, kernel, groups=dim, padding="same") + GELU +
BatchNorm2d, then a pointwise Conv2d(dim, dim, 1) + GELU + BatchNorm2d; AdaptiveAvgPool2d, Flatten, Linear; PyTorch's
default inits), train.py's defaults kernel 5 and patch 2, ``nn.CrossEntropyLoss()`` (no label smoothing),
``optim.AdamW(model.parameters(), lr=args.lr_max, weight_decay=args.wd)`` with the defaults lr_max 0.01 and wd 0.01,
the per-iteration ``lr_schedule = lambda t: np.interp([t], [0, epochs*2//5, epochs*4//5, epochs], [0, lr_max,
lr_max/20.0, 0])[0]`` set into ``opt.param_groups[0]`` at ``epoch + (i + 1)/len(trainloader)``, the loop
(``model.train()``, lr update, ``opt.zero_grad()``, forward, loss, backward, the optional ``--clip-norm``
clip_grad_norm_(1.0), step), a shuffled train loader without drop_last, and the test accuracy after the last epoch
(``output.max(1)[1] == y``) as the metric.

Changed to run offline on one CPU thread in ~25-30 s: the data is scikit-learn's ``load_digits`` (1797 8x8 images,
values 0..16) instead of CIFAR-10: split by ``train_test_split(test_size=0.2, random_state=0)`` (1437 training, 360
test images), scaled to [0, 1] (pixel / 16, as ToTensor's / 255), upscaled to 16x16 by pixel repetition and repeated
over 3 channels (the model's Conv2d(3, ...)), then normalized per channel by the training set's mean and std (as
train.py's ``transforms.Normalize(cifar10_mean, cifar10_std)``, CIFAR's training-set statistics); no torchvision,
so none of the training augmentation (RandomResizedCrop, RandomHorizontalFlip - wrong for digits anyway -,
RandAugment, ColorJitter, RandomErasing); the loader is a ``torch.randperm`` per epoch from a generator seeded with
the run's seed, one process.  A small ConvMixer: hdim 64, depth 4 (train.py: 256 and 8).  Batch 128 (train.py:
512, which would be 3 steps an epoch on 1437 images) and EPOCHS = 15 (train.py: 25; 12 steps an epoch, 180 steps;
the schedule's corners are 6 and 12 epochs).
On the CPU the AMP parts are dropped: no ``torch.cuda.amp.autocast()`` (float32 forward) and no GradScaler
(``scaler.scale(loss).backward()`` is ``loss.backward()``, ``scaler.step(opt)``/``scaler.update()`` are
``opt.step()``, and ``scaler.unscale_(opt)`` before the optional clipping is not needed); no ``nn.DataParallel``/
``.cuda()``; the per-epoch print only with ``verbose``.

The watch, as a user would: ``monitor = gradmedic.watch(model, opt, every=10)`` right after the AdamW is built,
``monitor.step(loss)`` right after ``loss.backward()``, before the optional clipping and ``opt.step()``;
``monitor.close()`` after the loop.

``CASES`` (program "convmixer"): the program on seeds 1-3, and one change each against the same seed's healthy run:
lr_max x10, x100 (seeds 1 and 2), x1000 and /1000; N(0, 1) instead of PyTorch's default init on every Conv2d and
Linear weight (seeds 1 and 2); a constant 0.01 on every Conv2d and Linear weight (symmetric channels); raw 0..255
pixels (the digits x255/16, no normalization); ``opt.zero_grad()`` left out (seeds 1 and 2); every BatchNorm2d
replaced by nn.Identity; and two changes expected harmless: lr_max x2 (cause "lr_high") and upstream's
``--clip-norm`` switched on (cause "healthy").  Labels come from run.py's outcome rules only.
Recorded (cases-public79; 620 s for the 17 runs on a shared 2-core machine, 22-54 s a run): healthy test accuracy
0.994 on seeds 1-3 (training loss 2.26-2.30 over the first 5 steps -> 0.002-0.004 over the last 20, largest
2.31-2.34, training accuracy 1.0, every loss finite); lr_max x10 (0.1): 0.989: healthy; lr_max x100 (1.0): 0.986
(seed 1, largest loss 8.9) and 0.978 (seed 2, largest 7.0): ambiguous (within 3 points of the control, but the
largest loss is over twice the control's); lr_max x1000 (10): largest loss 2.6e3, training loss 0.21 at the end,
0.406: broken; lr_max /1000 (1e-5): loss 2.35 -> 2.29, 0.117: broken; N(0, 1) weights: first-5 loss 3.0 and 3.6,
0.972 (seed 1) and 0.981 (seed 2): healthy (BatchNorm after every conv removes the weights' scale); constant 0.01
weights: 0.967, training loss 0.053: healthy (the default-initialized conv and BatchNorm biases differ per channel,
which breaks the symmetry); raw 0..255 pixels: 0.997: healthy (the BatchNorm after the patch embedding removes the
scale); opt.zero_grad() left out: training loss 0.42-0.43 at the end, 0.906 (seed 1) and 0.903 (seed 2): ambiguous
(9 points below the control); BatchNorm2d removed: training loss 0.39, 0.814: broken; lr_max x2: 0.994: healthy;
--clip-norm: 0.997: healthy.  Labels: 10 healthy (3 programs, lr x10, N(0, 1) x2, constant init, raw pixels, lr x2,
clip-norm), 3 broken, 4 ambiguous (not strengthened: the session's time was
spent).  Every run's losses were finite.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(model, opt, every=10) right after opt = optim.AdamW(model.parameters(), lr=lr_max, "
              "weight_decay=wd); monitor.step(loss) right after loss.backward() (upstream: scaler.scale(loss).backward(); "
              "no GradScaler on CPU), before the optional clip_grad_norm_(1.0) and opt.step(); the lr is set per "
              "iteration by the np.interp one-cycle schedule")

HDIM, DEPTH, PSIZE, CONV_KS = 64, 4, 2, 5  # upstream: --hdim 256 --depth 8 --psize 2 --conv-ks 5
BATCH_SIZE = 128  # upstream: --batch-size 512
EPOCHS = 15  # upstream: --epochs 25
LR_MAX = 0.01  # upstream: --lr-max 0.01
WD = 0.01  # upstream: --wd 0.01


class Residual(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x) + x


def ConvMixer(dim, depth, kernel_size=5, patch_size=2, n_classes=10, norm=nn.BatchNorm2d):  # noqa: N802 (upstream name)
    # norm: the no_norm variant passes lambda d: nn.Identity()
    return nn.Sequential(
        nn.Conv2d(3, dim, kernel_size=patch_size, stride=patch_size),
        nn.GELU(),
        norm(dim),
        *[nn.Sequential(
                Residual(nn.Sequential(
                    nn.Conv2d(dim, dim, kernel_size, groups=dim, padding="same"),
                    nn.GELU(),
                    norm(dim)
                )),
                nn.Conv2d(dim, dim, kernel_size=1),
                nn.GELU(),
                norm(dim)
        ) for i in range(depth)],
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
        nn.Linear(dim, n_classes)
    )


def digits16(raw_pixels: bool = False):
    """load_digits as 3x16x16 images in [0, 1] (pixel repetition), normalized per channel by the training set's
    mean and std (upstream: ToTensor + Normalize(cifar10_mean, cifar10_std)); raw_pixels: 0..255, not normalized."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)

    def prep(x):
        x = np.asarray(x, dtype=np.float32) / 16.0  # as ToTensor: values in [0, 1]
        x = x.repeat(2, axis=1).repeat(2, axis=2)  # 8x8 -> 16x16 by pixel repetition
        return np.repeat(x[:, None], 3, axis=1)  # 3 channels

    xtr, xte = prep(xtr), prep(xte)
    if raw_pixels:  # the unscaled_inputs variant: 0..255 pixels, no ToTensor scaling, no Normalize
        xtr, xte = xtr * 255.0, xte * 255.0
    else:
        mean = xtr.mean(axis=(0, 2, 3), keepdims=True)
        std = xtr.std(axis=(0, 2, 3), keepdims=True)
        xtr, xte = (xtr - mean) / std, (xte - mean) / std
    return (torch.tensor(xtr), torch.tensor(ytr, dtype=torch.long), torch.tensor(xte),
            torch.tensor(yte, dtype=torch.long))


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, const_init: float | None = None,
          raw_pixels: bool = False, zero_grad: bool = True, batchnorm: bool = True, clip_norm: bool = False,
          epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    Xtr, ytr, Xte, yte = digits16(raw_pixels)
    gen = torch.Generator().manual_seed(seed)

    norm = nn.BatchNorm2d if batchnorm else (lambda d: nn.Identity())  # the no_norm variant
    model = ConvMixer(HDIM, DEPTH, patch_size=PSIZE, kernel_size=CONV_KS, n_classes=10, norm=norm)
    # upstream: model = nn.DataParallel(model).cuda()
    if init_std is not None or const_init is not None:  # the init variants: every Conv2d and Linear weight
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                if init_std is not None:
                    nn.init.normal_(m.weight, 0.0, init_std)
                else:
                    nn.init.constant_(m.weight, const_init)

    lr_max = LR_MAX * lr_mult
    lr_schedule = lambda t: np.interp([t], [0, epochs*2//5, epochs*4//5, epochs],  # noqa: E731 (as upstream)
                                      [0, lr_max, lr_max/20.0, 0])[0]

    opt = torch.optim.AdamW(model.parameters(), lr=lr_max, weight_decay=WD)
    criterion = nn.CrossEntropyLoss()
    # upstream: scaler = torch.cuda.amp.GradScaler() (dropped on CPU)
    monitor = gradmedic.watch(model, opt, every=every)  # gradmedic

    n_train = len(ytr)
    n_batches = (n_train + BATCH_SIZE - 1) // BATCH_SIZE  # len(trainloader), no drop_last
    losses, train_acc, lr = [], float("nan"), 0.0
    for epoch in range(epochs):
        start = time.time()
        train_loss, train_acc, n = 0, 0, 0
        perm = torch.randperm(n_train, generator=gen)  # upstream: DataLoader(shuffle=True)
        for i in range(n_batches):
            model.train()
            idx = perm[i * BATCH_SIZE:(i + 1) * BATCH_SIZE]
            X, y = Xtr[idx], ytr[idx]

            lr = lr_schedule(epoch + (i + 1)/n_batches)
            opt.param_groups[0].update(lr=lr)

            if zero_grad:  # the no_zero_grad variant leaves this out
                opt.zero_grad()
            output = model(X)  # upstream: inside torch.cuda.amp.autocast()
            loss = criterion(output, y)

            loss.backward()  # upstream: scaler.scale(loss).backward()
            monitor.step(loss)  # gradmedic
            if clip_norm:
                # upstream: scaler.unscale_(opt) first
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()  # upstream: scaler.step(opt); scaler.update()

            losses.append(float(loss.detach()))
            train_loss += loss.item() * y.size(0)
            train_acc += (output.max(1)[1] == y).sum().item()
            n += y.size(0)
        train_acc /= n

        model.eval()
        test_acc, m = 0, 0
        if verbose or epoch == epochs - 1:  # upstream: every epoch (printed)
            with torch.no_grad():
                for i in range(0, len(yte), BATCH_SIZE):
                    X, y = Xte[i:i + BATCH_SIZE], yte[i:i + BATCH_SIZE]
                    output = model(X)
                    test_acc += (output.max(1)[1] == y).sum().item()
                    m += y.size(0)
        if verbose:
            print(f'[ConvMixer] Epoch: {epoch} | Train Acc: {train_acc:.4f}, Test Acc: {test_acc/m:.4f}, '
                  f'Time: {time.time() - start:.1f}, lr: {lr:.6f}, loss: {train_loss/n:.4f}', flush=True)
    monitor.close()
    test_acc = test_acc / m
    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(test_acc), "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(train_loss=float(np.mean(la[-20:])), first_loss=float(np.mean(la[:5])),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), steps=len(la), epochs=epochs, train_acc=train_acc,
                          lr_max=lr_max, lr_mult=lr_mult, init_std=-1.0 if init_std is None else init_std,
                          const_init=-1.0 if const_init is None else const_init, raw_pixels=raw_pixels,
                          zero_grad=zero_grad, batchnorm=batchnorm, clip_norm=clip_norm, hdim=HDIM, depth=DEPTH,
                          batch_size=BATCH_SIZE, test_images=len(yte)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="convmixer", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"ConvMixer-{HDIM}/{DEPTH} (kernel {CONV_KS}, patch {PSIZE}; GELU, BatchNorm2d, residual depthwise convs) on 3x16x16 "
      f"digits; AdamW lr_max {LR_MAX:g} wd {WD:g} under the np.interp one-cycle schedule, batch {BATCH_SIZE}, {EPOCHS} "
      f"epochs, no clipping")
CASES: list[dict] = (
    [_case(f"convmixer_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"convmixer_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr_max x{k} ({LR_MAX * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("convmixer_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr_max /1000 ({LR_MAX * 1e-3:g})")]
    + [_case(f"convmixer_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every Conv2d and Linear weight instead of PyTorch's default "
             f"U(+-1/sqrt(fan_in)) (biases kept)") for s in (1, 2)]
    + [_case("convmixer_const_init_s1", "symmetric_init", 1, {"const_init": 0.01},
             f"{_P}: nn.init.constant_(0.01) on every Conv2d and Linear weight (all channels identical; biases kept)")]
    + [_case("convmixer_raw_pixels_s1", "unscaled_inputs", 1, {"raw_pixels": True},
             f"{_P}: raw 0..255 pixels (no ToTensor scaling, no Normalize)")]
    + [_case(f"convmixer_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: opt.zero_grad() left out of the loop (the gradients accumulate)") for s in (1, 2)]
    + [_case("convmixer_no_bn_s1", "no_norm", 1, {"batchnorm": False},
             f"{_P}: every BatchNorm2d replaced by nn.Identity")]
    + [_case("convmixer_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: lr_max x2 ({LR_MAX * 2:g}; expected harmless)")]
    + [_case("convmixer_clip_norm_s1", "healthy", 1, {"clip_norm": True},
             f"{_P}: upstream's --clip-norm on (clip_grad_norm_(1.0) after the backward; expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
