"""kuangliu/pytorch-cifar: its ``main.py`` recipe with ``PreActResNet18`` (models/preact_resnet.py), on digits,
watched by gradmedic.

Adapted from https://github.com/kuangliu/pytorch-cifar (commit 49b7aa97b0c12fe0d4054e670403a16b6b834ddd, main.py
and models/preact_resnet.py; MIT License, Copyright (c) 2017 liukuang, see LICENSE-cifarnet).  Kept as in the
original: ``PreActBlock`` (BatchNorm2d -> ReLU -> 3x3 conv (no bias) -> BatchNorm2d -> ReLU -> 3x3 conv, the
shortcut a 1x1 conv on the pre-activated input where the shape changes, ``out += shortcut``) and ``PreActResNet``
(3x3 stem conv, four stages of ``num_blocks`` [2, 2, 2, 2] at strides 1, 2, 2, 2 with widths doubling, global
``F.avg_pool2d``, ``nn.Linear``), PyTorch's default initialization throughout (the original sets none); main.py's
``nn.CrossEntropyLoss``, ``optim.SGD(lr=0.1, momentum=0.9, weight_decay=5e-4)``, ``CosineAnnealingLR`` stepped
once per epoch with ``T_max`` the number of epochs (upstream T_max=200 for its 200 epochs), the per-batch loop
(``zero_grad``, ``outputs = net(inputs)``, ``loss = criterion(outputs, targets)``, ``backward``, ``step``),
training batch 128 shuffled each epoch, test batch 100, the per-channel ``Normalize`` of the inputs and the
``RandomCrop(size, padding)`` augmentation, test accuracy in ``net.eval()`` under ``torch.no_grad()``.

Changed, so a run takes ~10-60 s on one CPU thread and needs no download:
- Data: scikit-learn's ``load_digits`` instead of CIFAR-10: the 8x8 images scaled to [0, 1] (as ``ToTensor``
  does), bilinearly upsampled to 16x16 and repeated to 3 channels, split 1437 / 360 (``train_test_split``,
  random_state 0); ``Normalize`` with the training set's per-channel mean and std (upstream's CIFAR constants do
  not apply).  ``RandomCrop(16, padding=2)`` (upstream 32 with padding 4, the same 1/8) done on tensors; no
  ``RandomHorizontalFlip`` (mirrored digits are other shapes).  Shuffling and crops draw from a
  ``torch.Generator`` seeded with the run's seed.
- Model: the channel widths shrunk uniformly by 8 (stem and stages 8, 16, 32, 64 instead of 64, 128, 256, 512,
  a ``width`` argument to ``PreActResNet``), and ``F.avg_pool2d(out, 2)`` instead of 4: on 16x16 inputs the last
  stage's map is 2x2, so this is the same global average pool as upstream's on 4x4.
- A ``norm`` argument (default ``nn.BatchNorm2d``) so the no-BatchNorm variant can pass ``nn.Identity``;
  ``super().__init__()`` for ``super(Cls, self).__init__()`` (ruff); PreActBottleneck and the other depths left out.
- 15 epochs (180 steps) instead of 200; no checkpointing, no progress bar, no DataParallel / cudnn.

The watch: ``gradmedic.watch(net, optimizer, every=10)`` right after the optimizer is built, ``monitor.step(loss)``
after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the last epoch.  The metric is the
test accuracy after the last epoch (upstream prints it each epoch and keeps the best; here the last).

``CASES`` (program "cifarnet"): the program on seeds 1-3, and one change each against the same seed's healthy run:
lr x10, x100 (seeds 1 and 2), x1000, /1000 (the cosine schedule scaled with it); N(0, 1) on every conv weight
instead of the default init; zeros_ on the stem conv; inputs not normalized (the raw 0..16 digit values x16, i.e.
0..256 "pixels", no ToTensor scaling and no Normalize); every BatchNorm2d replaced by nn.Identity at the same
rate (cause "no_norm", relabelled from "init_small" after set 10 was scored, as causes.py gained that key: with
BatchNorm gone, PyTorch's default conv init, variance 1/(3 fan_in), shrinks the signal through each conv and 1x1
shortcut); weight decay x100 (0.05; cause "init_small" too, as the nearest
code: the decay pulls the weights toward zero).  No clipping in this program, so no clipping variant.  Labels
come from run.py's outcome rules only.
Recorded (cases-public10; 15 cases in 445 s, 20-38 s a run): healthy test accuracy 0.989-0.992 on seeds 1-3 (final
training loss ~0.03); lr x10, x100 (seeds 1 and 2) and x1000 go to NaN losses (accuracy 0.075, every prediction
class 0) and /1000 ends at 0.153 (training loss 2.29): all broken; N(0, 1) conv weights 0.114 (training loss 3.6)
and the zeroed stem conv 0.081 (loss stuck at 2.30) broken; the raw 0..256 inputs train as well as the program
(0.992 on both seeds, labelled healthy: the stem conv has no bias and the first block's BatchNorm2d removes the
scale); BatchNorm removed 0.886 on seed 1 (broken) and 0.936 on seed 2 (ambiguous: above 0.9, more than 3 points
below its control); weight decay x100 0.989 (healthy, though its final training loss is 0.19 against 0.03).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("monitor.step(loss) after loss.backward() (CrossEntropyLoss on the logits), before optimizer.step() "
              "(SGD momentum 0.9, weight_decay 5e-4; CosineAnnealingLR stepped per epoch)")


class PreActBlock(nn.Module):
    '''Pre-activation version of the BasicBlock.'''
    expansion = 1

    def __init__(self, in_planes, planes, stride=1, norm=nn.BatchNorm2d):
        super().__init__()
        self.bn1 = norm(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = norm(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)

        if stride != 1 or in_planes != self.expansion*planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, self.expansion*planes, kernel_size=1, stride=stride, bias=False)
            )

    def forward(self, x):
        out = F.relu(self.bn1(x))
        shortcut = self.shortcut(out) if hasattr(self, 'shortcut') else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        out += shortcut
        return out


class PreActResNet(nn.Module):
    def __init__(self, block, num_blocks, num_classes=10, width=64, pool=4, norm=nn.BatchNorm2d):
        super().__init__()
        self.in_planes = width
        self.pool = pool
        self.norm = norm

        self.conv1 = nn.Conv2d(3, width, kernel_size=3, stride=1, padding=1, bias=False)
        self.layer1 = self._make_layer(block, width, num_blocks[0], stride=1)
        self.layer2 = self._make_layer(block, 2*width, num_blocks[1], stride=2)
        self.layer3 = self._make_layer(block, 4*width, num_blocks[2], stride=2)
        self.layer4 = self._make_layer(block, 8*width, num_blocks[3], stride=2)
        self.linear = nn.Linear(8*width*block.expansion, num_classes)

    def _make_layer(self, block, planes, num_blocks, stride):
        strides = [stride] + [1]*(num_blocks-1)
        layers = []
        for stride in strides:
            layers.append(block(self.in_planes, planes, stride, norm=self.norm))
            self.in_planes = planes * block.expansion
        return nn.Sequential(*layers)

    def forward(self, x):
        out = self.conv1(x)
        out = self.layer1(out)
        out = self.layer2(out)
        out = self.layer3(out)
        out = self.layer4(out)
        out = F.avg_pool2d(out, self.pool)
        out = out.view(out.size(0), -1)
        out = self.linear(out)
        return out


def PreActResNet18(width=64, pool=4, norm=nn.BatchNorm2d):
    return PreActResNet(PreActBlock, [2, 2, 2, 2], width=width, pool=pool, norm=norm)


def no_norm(planes):
    """The BatchNorm removed: nn.Identity in every BatchNorm2d's place."""
    return nn.Identity()


SIZE = 16


def digits16(raw_pixels: bool = False, raw_scale: float = 16.0):
    """(train, test) tensors: digits upsampled to 3x16x16, normalized per channel, or raw 0..16 values times raw_scale
    (16: 0..256 "pixels"; kcifar.py's variant uses 100).  Shared with kcifar.py (the same repository's main.py)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)

    def up(x, scale):
        x = torch.tensor(x, dtype=torch.float32)[:, None] / scale
        x = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False).clamp(0, 16.0 / scale)
        return x.repeat(1, 3, 1, 1)

    if raw_pixels:  # the bug: raw 0..16 values x16 (0..256 "pixels"), no ToTensor scaling, no Normalize
        xtr, xte = up(xtr, 1.0) * raw_scale, up(xte, 1.0) * raw_scale
    else:  # ToTensor ([0, 1]) and transforms.Normalize(mean, std) per channel with the training set's statistics
        xtr, xte = up(xtr, 16.0), up(xte, 16.0)
        mean = xtr.mean(dim=(0, 2, 3), keepdim=True)
        std = xtr.std(dim=(0, 2, 3), keepdim=True)
        xtr, xte = (xtr - mean) / std, (xte - mean) / std
    return xtr, torch.tensor(ytr), xte, torch.tensor(yte)


def random_crop(x, padding, g):
    """transforms.RandomCrop(size, padding) on each image of a batch (zero padding, as torchvision's default)."""
    n, _, h, w = x.shape
    xp = F.pad(x, (padding, padding, padding, padding))
    i = torch.randint(0, 2 * padding + 1, (n,), generator=g)
    j = torch.randint(0, 2 * padding + 1, (n,), generator=g)
    return torch.stack([xp[k, :, i[k]:i[k] + h, j[k]:j[k] + w] for k in range(n)])


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init_std: float | None = None,
          zero_stem: bool = False, no_bn: bool = False, wd_mult: float = 1.0, epochs: int = 15, width: int = 8,
          zero_grad: bool = True, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    xtr, ytr, xte, yte = digits16(raw_pixels)
    g = torch.Generator()
    g.manual_seed(seed)

    net = PreActResNet18(width=width, pool=SIZE // 8, norm=no_norm if no_bn else nn.BatchNorm2d)
    if init_std is not None:  # the bug: normal_(0, std) on every conv weight instead of the default init
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, init_std)
    if zero_stem:  # the bug: zeros_ on the stem conv (bias=False)
        nn.init.zeros_(net.conv1.weight)

    criterion = nn.CrossEntropyLoss()
    lr, wd = 0.1 * lr_mult, 5e-4 * wd_mult
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=wd)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    monitor = gradmedic.watch(net, optimizer, every=every)
    losses = []

    t0 = time.time()
    for epoch in range(epochs):
        net.train()
        perm = torch.randperm(len(xtr), generator=g)
        for b in range(0, len(xtr), 128):
            idx = perm[b:b + 128]
            inputs, targets = random_crop(xtr[idx], 2, g), ytr[idx]
            if zero_grad:  # (the no_zero_grad case leaves it out, as people forget it)
                optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, targets)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
        if verbose:
            print(f"epoch {epoch + 1} loss {np.mean(losses[-12:]):.4f} ({time.time() - t0:.1f}s)", flush=True)

    net.eval()
    correct, total, test_loss = 0, 0, 0.0
    with torch.no_grad():
        for b in range(0, len(xte), 100):
            inputs, targets = xte[b:b + 100], yte[b:b + 100]
            outputs = net(inputs)
            test_loss += criterion(outputs, targets).item() * len(targets)
            correct += outputs.max(1)[1].eq(targets).sum().item()
            total += len(targets)
    acc = correct / total
    monitor.close()
    if verbose:
        print(f"test loss {test_loss / total:.4f} accuracy {acc:.4f}")
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc), "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"test_loss": test_loss / total, "train_loss": float(np.mean(losses[-20:])), "steps": len(losses),
                      "lr": lr, "weight_decay": wd, "width": width, "epochs": epochs},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="cifarnet", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"cifarnet_healthy_s{s}", "healthy", s, {}, "unchanged (PreActResNet18 at widths 8-64, SGD lr 0.1 momentum "
           "0.9 weight_decay 5e-4, CosineAnnealingLR, CrossEntropyLoss, batch 128, 15 epochs)", False)
       for s in (1, 2, 3)]
    + [_case(f"cifarnet_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"SGD lr x{k} ({0.1 * k:g}), cosine from there")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("cifarnet_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "SGD lr /1000 (0.0001), cosine from there")]
    + [_case("cifarnet_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Conv2d weight instead of PyTorch's default "
             "(kaiming_uniform_, a=sqrt(5))")]
    + [_case("cifarnet_zero_stem_s1", "symmetric_init", 1, {"zero_stem": True},
             "nn.init.zeros_ on the stem conv (conv1.weight, no bias)")]
    + [_case(f"cifarnet_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             "inputs not normalized: the raw 0..16 digit values x16 (0..256), no ToTensor scaling, no Normalize")
       for s in (1, 2)]
    + [_case(f"cifarnet_no_bn_s{s}", "no_norm", s, {"no_bn": True},
             "every BatchNorm2d replaced by nn.Identity, same lr 0.1 and default conv init")
       for s in (1, 2)]
    + [_case("cifarnet_wd_x100_s1", "init_small", 1, {"wd_mult": 100.0},
             "SGD weight_decay x100 (0.05 instead of 5e-4)")]
    + [_case("cifarnet_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             "optimizer.zero_grad() left out of the loop (added after the set was scored: the gradients accumulate)")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = float(v) if k not in ("raw_pixels", "no_bn", "zero_stem", "zero_grad") else v == "1"
        if k in ("epochs", "width", "seed"):
            kw[k] = int(v)
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
