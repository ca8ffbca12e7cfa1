"""xternalz's WideResNet-pytorch (pre-activation Wide ResNet, SGD Nesterov, cosine schedule), watched by gradmedic.

Adapted from https://github.com/xternalz/WideResNet-pytorch (commit 1171f93d5a9ae28eb5e603e5e7545f488d0df6ab,
wideresnet.py and train.py; MIT License, Copyright (c) 2019 xternalz, see LICENSE-wrn).  Kept as in the original:
``BasicBlock`` line for line (pre-activation BN-ReLU, 3x3 conv1 with the stride, BN-ReLU, optional dropout
``dropRate``, 3x3 conv2, the 1x1 ``convShortcut`` when the width changes, ``torch.add``), ``NetworkBlock``,
``WideResNet(depth, num_classes, widen_factor, dropRate)`` (conv1, three groups of (depth-4)/6 blocks at widths 16k,
32k, 64k with strides 1, 2, 2, the final BN-ReLU, average pooling of the whole final map, ``fc``) and its init loop
(``kaiming_normal_(mode='fan_out', nonlinearity='relu')`` on every Conv2d, BatchNorm weight 1 and bias 0, Linear bias
0; the Linear weight keeps PyTorch's default); train.py's ``nn.CrossEntropyLoss()``, ``torch.optim.SGD(lr 0.1,
momentum 0.9, nesterov=True, weight_decay 5e-4)``, the cosine rate ``CosineAnnealingLR(optimizer,
len(train_loader)*args.epochs)`` stepped after every batch (the HEAD train.py's schedule; no warm-up), batch 128 with
shuffling, the loop's ``optimizer.zero_grad()`` / ``loss.backward()`` / ``optimizer.step()`` / ``scheduler.step()``
(no clipping), the augmentation (reflect padding, random crop, random horizontal flip) and the validation in eval mode.

Changed, to run offline on one CPU thread in ~15-25 s: CIFAR-10 is scikit-learn's ``load_digits`` split 80/20 with
random_state=0 (1437 training, 360 test images of 1x8x8), /16 into [0, 1] (ToTensor's range) then normalized with
the training images' mean and std (train.py's Normalize uses CIFAR's per-channel constants; one channel here);
conv1 takes 1 input channel (3); the augmentation is written in torch on the batch (no torchvision): reflect pad 1
(upstream 4 on 32x32, the same fraction of the side), a random 8x8 crop per image, a flip with probability 0.5;
WRN-16-2 (upstream default WRN-28-10: --layers 28 --widen-factor 10; here 2 blocks per group at widths 32, 64, 128,
691k parameters, 16 layers deep); ``F.avg_pool2d(out, 2)`` instead of ``(out, 8)`` (the final map is 2x2 from 8x8
inputs, as it is 8x8 from 32x32: both pool the whole map); 15 epochs of 12 steps (180 steps; upstream 200 epochs),
the cosine over those 180 steps; ``torch.manual_seed(seed)`` and a seeded generator for shuffling and augmentation
(upstream does not seed); the per-epoch validation, checkpoints, tensorboard logging, ``.cuda()`` and cudnn left
out, and one validation after training (test accuracy on the 360 held-out digits, eval mode) is the metric; prints
only with ``verbose``.  Knobs (one per variant) are keywords of ``train`` and of the model classes (``bn`` swaps
every BatchNorm2d for nn.Identity; ``init_std`` replaces the He init of the Conv2d weights).

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the SGD is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()`` and ``scheduler.step()``;
``monitor.close()`` after the loop.  Metric "accuracy" (chance 0.1).

``CASES`` (program "wrn"): the program on seeds 1-3, and one change each against the same seed's healthy run: lr x10,
x100 (seeds 1 and 2), /1000; the raw 0..16 pixel values (no /16, no Normalize); every BatchNorm2d removed (seeds 1
and 2); N(0, 1) Conv2d weights instead of He's (seeds 1 and 2); ``optimizer.zero_grad()`` left out (seeds 1 and 2);
and two changes expected harmless: batch size 64 and ``--droprate 0.3`` (both cause "healthy").  Labels come from
run.py's outcome rules only.
Recorded (cases-public175; 16 cases in 548 s; 15-24 s for the healthy runs, 32-43 s for the others while the shared
2-core machine was loaded by other jobs): healthy test accuracy 0.964, 0.981, 0.975 on seeds 1-3 (training loss
2.26-2.27 over the first 5 steps -> 0.084-0.100 over the last 20, largest 2.34-2.35, training accuracy 0.97-0.98, test
loss 0.083-0.086, every loss finite); lr x10 (1.0): first losses 3.2, training loss 1.13, 0.633: broken; lr x100
(10): first-5 mean 10.2 and 9.7, largest loss 1.4e6 (seed 1) and 5.3e3 (seed 2), then stuck at ~2.30 (chance),
0.081 and 0.075: broken; lr /1000 (1e-4): training loss 2.34 -> 2.30, 0.139: broken; raw 0..16 pixels: 0.972
(training loss 0.090; the BatchNorm at the start of block1 divides the scale out): healthy; BatchNorm removed: seed
1 largest loss 4.95, training loss 0.96, 0.697: broken; seed 2 largest 2.56, training loss 0.42, 0.897 (8.3 points
below its control, under the 10-point rule): ambiguous; N(0, 1) conv weights: the loss starts at 2.33 (the
BatchNorms rescale the activations) but training is slow (weights 10-30x He's scale shrink the effective step),
training loss 1.06 and 1.02, 0.731 and 0.756: broken; zero_grad left out: the loss rises to 719 (seed 1) and 570
(seed 2), training loss 222 and 28, 0.100 and 0.172: broken; batch 64 (24 steps an epoch, 360 steps): 0.981:
healthy; droprate 0.3: training loss 0.32 (dropout on), 0.928, 3.6 points below its control (a cause "healthy" run is
labelled by the good-outcome rule, >= 0.9, and not clearly worse, under 10 points): healthy.
Labels: 6 healthy (3 programs, raw pixels, batch 64, droprate 0.3), 9 broken, 1 ambiguous.  No run had a
non-finite loss.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import gradmedic

ARCH = "resnet"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = torch.optim.SGD(model.parameters(), lr 0.1, "
              "momentum 0.9, nesterov, weight_decay 5e-4); monitor.step(loss) right after loss.backward(), before "
              "optimizer.step() and scheduler.step() (optimizer.zero_grad() comes before the backward, train.py's order; "
              "no clipping)")

LAYERS = 16  # upstream: --layers 28
WIDEN_FACTOR = 2  # upstream: --widen-factor 10
EPOCHS = 15  # upstream: --epochs 200
BATCH_SIZE = 128
LR = 0.1


def _bn(planes, bn=True):
    # the no_norm variant: every BatchNorm2d replaced by nn.Identity
    return nn.BatchNorm2d(planes) if bn else nn.Identity()


class BasicBlock(nn.Module):
    def __init__(self, in_planes, out_planes, stride, dropRate=0.0, bn=True):
        super(BasicBlock, self).__init__()  # noqa: UP008 (as upstream)
        self.bn1 = _bn(in_planes, bn)  # upstream: nn.BatchNorm2d(in_planes)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride,
                               padding=1, bias=False)
        self.bn2 = _bn(out_planes, bn)  # upstream: nn.BatchNorm2d(out_planes)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_planes, out_planes, kernel_size=3, stride=1,
                               padding=1, bias=False)
        self.droprate = dropRate
        self.equalInOut = (in_planes == out_planes)
        self.convShortcut = (not self.equalInOut) and nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride,
                               padding=0, bias=False) or None

    def forward(self, x):
        if not self.equalInOut:
            x = self.relu1(self.bn1(x))
        else:
            out = self.relu1(self.bn1(x))
        out = self.relu2(self.bn2(self.conv1(out if self.equalInOut else x)))
        if self.droprate > 0:
            out = F.dropout(out, p=self.droprate, training=self.training)
        out = self.conv2(out)
        return torch.add(x if self.equalInOut else self.convShortcut(x), out)


class NetworkBlock(nn.Module):
    def __init__(self, nb_layers, in_planes, out_planes, block, stride, dropRate=0.0, bn=True):
        super(NetworkBlock, self).__init__()  # noqa: UP008 (as upstream)
        self.layer = self._make_layer(block, in_planes, out_planes, nb_layers, stride, dropRate, bn)

    def _make_layer(self, block, in_planes, out_planes, nb_layers, stride, dropRate, bn=True):
        layers = []
        for i in range(int(nb_layers)):
            layers.append(block(i == 0 and in_planes or out_planes, out_planes, i == 0 and stride or 1, dropRate, bn))
        return nn.Sequential(*layers)

    def forward(self, x):
        return self.layer(x)


class WideResNet(nn.Module):
    def __init__(self, depth, num_classes, widen_factor=1, dropRate=0.0, in_channels=1, bn=True, init_std=None):
        super(WideResNet, self).__init__()  # noqa: UP008 (as upstream)
        nChannels = [16, 16*widen_factor, 32*widen_factor, 64*widen_factor]
        assert((depth - 4) % 6 == 0)
        n = (depth - 4) / 6
        block = BasicBlock
        # 1st conv before any network block
        self.conv1 = nn.Conv2d(in_channels, nChannels[0], kernel_size=3, stride=1,  # upstream: 3 input channels
                               padding=1, bias=False)
        # 1st block
        self.block1 = NetworkBlock(n, nChannels[0], nChannels[1], block, 1, dropRate, bn)
        # 2nd block
        self.block2 = NetworkBlock(n, nChannels[1], nChannels[2], block, 2, dropRate, bn)
        # 3rd block
        self.block3 = NetworkBlock(n, nChannels[2], nChannels[3], block, 2, dropRate, bn)
        # global average pooling and classifier
        self.bn1 = _bn(nChannels[3], bn)  # upstream: nn.BatchNorm2d(nChannels[3])
        self.relu = nn.ReLU(inplace=True)
        self.fc = nn.Linear(nChannels[3], num_classes)
        self.nChannels = nChannels[3]

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if init_std is not None:  # the init_large variant: N(0, init_std) instead of He (fan_out)
                    nn.init.normal_(m.weight, mean=0.0, std=init_std)
                else:
                    nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.data.fill_(1)
                m.bias.data.zero_()
            elif isinstance(m, nn.Linear):
                m.bias.data.zero_()

    def forward(self, x):
        out = self.conv1(x)
        out = self.block1(out)
        out = self.block2(out)
        out = self.block3(out)
        out = self.relu(self.bn1(out))
        out = F.avg_pool2d(out, 2)  # upstream: F.avg_pool2d(out, 8) (the whole final map: 8x8 from 32x32, 2x2 from 8x8)
        out = out.view(-1, self.nChannels)
        return self.fc(out)


def digits(normalize=True):
    """CIFAR's stand-in: load_digits split 80/20 (random_state=0), 1x8x8 images.  upstream: ToTensor() then
    Normalize with CIFAR's per-channel mean/std; here the training images' mean and std (one channel) after /16
    (ToTensor's [0, 1]).  normalize=False (the unscaled_inputs variant): the raw 0..16 values, neither step."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)
    xtr = torch.tensor(xtr, dtype=torch.float32)[:, None]
    xte = torch.tensor(xte, dtype=torch.float32)[:, None]
    if normalize:
        xtr, xte = xtr / 16.0, xte / 16.0
        mean, std = float(xtr.mean()), float(xtr.std())
        xtr, xte = (xtr - mean) / std, (xte - mean) / std
    return xtr, torch.tensor(ytr), xte, torch.tensor(yte)


def augment(x, g):
    """upstream's transform_train, batched in torch: reflect pad 4 then RandomCrop(32), RandomHorizontalFlip.
    Here reflect pad 1 (4/32 of the side, on 8x8), a random 8x8 crop per image, a flip with probability 0.5."""
    n, _, h, w = x.shape
    p = 1  # upstream: (4,4,4,4)
    xp = F.pad(x, (p, p, p, p), mode='reflect')
    dy = torch.randint(0, 2 * p + 1, (n,), generator=g)
    dx = torch.randint(0, 2 * p + 1, (n,), generator=g)
    out = torch.stack([xp[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])
    flip = torch.rand(n, generator=g) < 0.5
    out[flip] = out[flip].flip(-1)
    return out


def train(seed: int = 1, lr_mult: float = 1.0, normalize: bool = True, bn: bool = True, init_std: float | None = None,
          zero_grad: bool = True, batch_size: int = BATCH_SIZE, drop_rate: float = 0.0, epochs: int = EPOCHS,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)  # upstream does not seed
    t0 = time.time()
    xtr, ytr, xte, yte = digits(normalize)
    g = torch.Generator().manual_seed(seed)

    # create model
    model = WideResNet(LAYERS, 10, WIDEN_FACTOR, dropRate=drop_rate, bn=bn, init_std=init_std)
    if verbose:
        print('Number of model parameters: {}'.format(  # noqa: UP032 (as upstream)
            sum([p.data.nelement() for p in model.parameters()])))

    # define loss function (criterion) and optimizer
    criterion = nn.CrossEntropyLoss()
    lr = LR * lr_mult
    optimizer = torch.optim.SGD(model.parameters(), lr,
                                momentum=0.9, nesterov=True,
                                weight_decay=5e-4)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    # cosine learning rate
    steps_per_epoch = math.ceil(len(xtr) / batch_size)  # len(train_loader)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps_per_epoch * epochs)

    losses, accs = [], []
    for epoch in range(epochs):
        # train for one epoch (shuffle=True)
        model.train()
        perm = torch.randperm(len(xtr), generator=g)
        for i in range(steps_per_epoch):
            idx = perm[i * batch_size:(i + 1) * batch_size]
            input, target = augment(xtr[idx], g), ytr[idx]

            # compute output
            output = model(input)
            loss = criterion(output, target)

            # measure accuracy and record loss
            accs.append(float((output.detach().argmax(1) == target).float().mean()))
            losses.append(float(loss.detach()))

            # compute gradient and do SGD step
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            scheduler.step()
        if verbose:
            print(f"Epoch: [{epoch}] loss {np.mean(losses[-steps_per_epoch:]):.4f} "
                  f"prec {np.mean(accs[-steps_per_epoch:]):.3f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()

    # evaluate on the validation set (upstream: every epoch; here once, after training)
    model.eval()
    with torch.no_grad():
        output = model(xte)
        test_loss = float(criterion(output, yte))
        test_acc = float((output.argmax(1) == yte).float().mean())
    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": test_acc, "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(lr=lr, train_loss=float(np.mean(la[-20:])), first_loss=float(np.mean(la[:5])),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), steps=len(la), epochs=epochs,
                          train_acc=float(np.mean(accs[-steps_per_epoch:])), test_loss=test_loss,
                          lr_mult=lr_mult, normalize=normalize, bn=bn,
                          init_std=-1.0 if init_std is None else init_std, zero_grad=zero_grad,
                          batch_size=batch_size, drop_rate=drop_rate, depth=LAYERS, widen_factor=WIDEN_FACTOR,
                          test_images=len(yte)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="wrn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"WRN-{LAYERS}-{WIDEN_FACTOR} (pre-activation BasicBlocks, He fan_out init; SGD lr {LR:g}, momentum 0.9, "
      f"nesterov, weight_decay 5e-4, CosineAnnealingLR over all steps, batch {BATCH_SIZE}, {EPOCHS} epochs on "
      f"normalized, augmented 8x8 digits)")
CASES: list[dict] = (
    [_case(f"wrn_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"wrn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("wrn_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case("wrn_raw_inputs_s1", "unscaled_inputs", 1, {"normalize": False},
             f"{_P}: the raw 0..16 pixel values (no ToTensor scaling, no Normalize)")]
    + [_case(f"wrn_no_bn_s{s}", "no_norm", s, {"bn": False},
             f"{_P}: every BatchNorm2d (two per block and the final bn1, 15 layers) replaced by nn.Identity "
             f"(the pre-activation blocks keep their ReLUs and residual sums; He init unchanged)") for s in (1, 2)]
    + [_case(f"wrn_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every Conv2d weight instead of kaiming_normal_(mode='fan_out') "
             f"(std sqrt(2/(9 c_out)), 0.03-0.12 here)") for s in (1, 2)]
    + [_case(f"wrn_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out of train(): the gradients accumulate") for s in (1, 2)]
    + [_case("wrn_batch64_s1", "healthy", 1, {"batch_size": 64},
             f"{_P}: batch size 64 instead of 128 (twice the steps; the cosine schedule over them; expected harmless)")]
    + [_case("wrn_droprate03_s1", "healthy", 1, {"drop_rate": 0.3},
             f"{_P}: --droprate 0.3 instead of 0 (dropout inside every block, as the WRN paper uses; expected "
             f"harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
