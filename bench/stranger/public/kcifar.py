"""kuangliu/pytorch-cifar: its ``main.py`` recipe with ``MobileNetV2`` (models/mobilenetv2.py), on digits, watched by
gradmedic.

Adapted from https://github.com/kuangliu/pytorch-cifar (commit 49b7aa97b0c12fe0d4054e670403a16b6b834ddd, main.py
and models/mobilenetv2.py; MIT License, Copyright (c) 2017 liukuang, see LICENSE-kcifar).  Kept as in the original:
``Block`` (1x1 expand conv -> BatchNorm2d -> ReLU -> 3x3 depthwise conv (groups=planes) -> BatchNorm2d -> ReLU ->
1x1 linear-bottleneck conv -> BatchNorm2d, no bias; the shortcut, identity or a 1x1 conv + BatchNorm2d where the
width changes, added only when stride is 1) and ``MobileNetV2`` (its ``cfg`` of 17 blocks in 7 stages with
expansion 1 then 6 and strides 1, 1, 2, 2, 1, 2, 1 - upstream's CIFAR strides -, the 3x3 stride-1 stem conv +
BatchNorm2d + ReLU, the 1x1 head conv to 1280 (scaled) + BatchNorm2d + ReLU, ``F.avg_pool2d``, ``nn.Linear``), F.relu
as upstream (not ReLU6), PyTorch's default initialization throughout (the original sets none); main.py's
``nn.CrossEntropyLoss``, ``optim.SGD(lr=0.1, momentum=0.9, weight_decay=5e-4)``, ``CosineAnnealingLR`` stepped once
per epoch after train()/test(), the per-batch loop (``zero_grad``, ``outputs = net(inputs)``, ``loss =
criterion(outputs, targets)``, ``backward``, ``step``), training batch 128 shuffled each epoch, test batch 100 in
``net.eval()`` under ``torch.no_grad()`` after every epoch, the per-channel ``Normalize`` and the ``RandomCrop(size,
padding)`` augmentation.

Changed, so a run takes ~40-60 s on one (shared) CPU thread and needs no download:
- Data: scikit-learn's ``load_digits`` instead of CIFAR-10 (as cifarnet.py does): the 8x8 images scaled to [0, 1]
  (as ``ToTensor``), bilinearly upsampled to 16x16 and repeated to 3 channels, split 1437 / 360
  (``train_test_split``, random_state 0); ``Normalize`` with the training set's per-channel mean and std (upstream's
  CIFAR constants do not apply).  ``RandomCrop(16, padding=2)`` (upstream 32 with padding 4, the same 1/8) done on
  tensors; no ``RandomHorizontalFlip`` (mirrored digits are other shapes).  Shuffling and crops draw from a
  ``torch.Generator`` seeded with the run's seed.
- Model: every channel count x0.25 (stem 8, stages 4, 6, 8, 16, 24, 40, 80, head 320 instead of 32, 16, ..., 320,
  1280; a ``width`` argument), all 17 blocks and their expansions kept (165k parameters; at width 0.5 a step took
  0.57 s against 0.34 s); ``F.avg_pool2d(out, 2)`` instead of 4: on 16x16 inputs the last map is 2x2, so this is the
  same global average pool as upstream's on 4x4.
- A ``norm`` argument (default ``nn.BatchNorm2d``) so the no-BatchNorm variant can pass ``nn.Identity``;
  ``super().__init__()`` for ``super(Cls, self).__init__()``.
- 10 epochs (120 steps) instead of 200, ``T_max`` = 10 (upstream T_max=200 for its 200 epochs); no checkpointing, no
  progress bar, no DataParallel / cudnn, no ``--resume``.  The metric is the test accuracy after the last epoch
  (upstream keeps the best, which goes to ``extra`` as best_acc).

The watch: ``gradmedic.watch(net, optimizer, every=10)`` right after the optimizer is built (before the scheduler),
``monitor.step(loss)`` after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the last
epoch.

``CASES`` (program "kcifar"): the program on seeds 1-3, and one change each against the same seed's healthy run: SGD
lr x10 (1.0), x100 (10; seeds 1 and 2), /1000 (1e-4), the cosine schedule scaled with it; inputs not normalized (the
raw 0..16 digit values x100, 0..1600, no ToTensor scaling and no Normalize; seeds 1 and 2); N(0, 1) on every conv
weight instead of the default init; every BatchNorm2d replaced by nn.Identity (cause "no_norm"); optimizer.zero_grad()
left out; and two changes expected harmless (cause "healthy"): batch 64, weight decay 0.  No clipping in this program,
so no clipping variant.  Labels come from run.py's outcome rules only.
Recorded (cases-public98; 14 cases in 706 s, 20-78 s a run on a shared machine, ~42 s alone): healthy test accuracy
0.972 / 0.967 / 0.967 on seeds 1-3 (training loss 2.34-2.37 over the first 5 steps -> 0.09-0.16 over the last 20;
the test accuracy sits near chance for the first 5 epochs, BatchNorm's running statistics lagging, and on seed 1
passes 0.9 at epoch 7): all healthy; lr x10: loss up to 7.9, stuck at 2.22, accuracy 0.108, broken; lr x100: loss
up to 53 (seed 1) and 7.9e4 (seed 2), then stuck at 2.26 / 2.39, accuracy 0.083 / 0.081, both broken (every loss
finite); lr /1000: loss 2.32 -> 2.32, 0.094, broken; raw 0..1600 inputs: 0.978 (seed 1) and 0.953 (seed 2, 1.4 points below its
control), both healthy (the stem conv has no bias and its BatchNorm2d removes the scale); N(0, 1) conv weights:
training loss 1.82, 0.383, broken; BatchNorm removed: loss stuck at 2.30 from the start, 0.081, broken; no zero_grad:
the training loss climbs to 44.7 (19.9 over the last 20 steps, test loss 7.7e20), 0.083, broken; batch 64 (230
steps): 0.986, healthy; weight decay 0: 0.950, healthy (2.2 points below its control).  Labels: 7 healthy (3 programs,
4 variants), 7 broken, 0 ambiguous; no non-finite loss.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from cifarnet import SIZE, digits16, no_norm  # the same repository's data and norm-less helpers (cifarnet.py)

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("monitor.step(loss) after loss.backward() (CrossEntropyLoss on the logits), before optimizer.step() "
              "(SGD momentum 0.9, weight_decay 5e-4; CosineAnnealingLR stepped per epoch)")


class Block(nn.Module):
    '''expand + depthwise + pointwise'''
    def __init__(self, in_planes, out_planes, expansion, stride, norm=nn.BatchNorm2d):
        super().__init__()  # upstream: super(Block, self).__init__(); norm: upstream nn.BatchNorm2d throughout
        self.stride = stride

        planes = expansion * in_planes
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=1, stride=1, padding=0, bias=False)
        self.bn1 = norm(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=1, groups=planes, bias=False)
        self.bn2 = norm(planes)
        self.conv3 = nn.Conv2d(planes, out_planes, kernel_size=1, stride=1, padding=0, bias=False)
        self.bn3 = norm(out_planes)

        self.shortcut = nn.Sequential()
        if stride == 1 and in_planes != out_planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=1, padding=0, bias=False),
                norm(out_planes),
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out = out + self.shortcut(x) if self.stride==1 else out
        return out


class MobileNetV2(nn.Module):
    # (expansion, out_planes, num_blocks, stride)
    cfg = [(1,  16, 1, 1),
           (6,  24, 2, 1),  # NOTE: change stride 2 -> 1 for CIFAR10
           (6,  32, 3, 2),
           (6,  64, 4, 2),
           (6,  96, 3, 1),
           (6, 160, 3, 2),
           (6, 320, 1, 1)]

    def __init__(self, num_classes=10, width=1.0, pool=4, norm=nn.BatchNorm2d):
        super().__init__()  # upstream: super(MobileNetV2, self).__init__()
        # upstream: no width, pool or norm arguments (width 1.0, pool 4, nn.BatchNorm2d)
        self.width, self.pool, self.norm = width, pool, norm
        w = self._w
        # NOTE: change conv1 stride 2 -> 1 for CIFAR10
        self.conv1 = nn.Conv2d(3, w(32), kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = norm(w(32))
        self.layers = self._make_layers(in_planes=w(32))
        self.conv2 = nn.Conv2d(w(320), w(1280), kernel_size=1, stride=1, padding=0, bias=False)
        self.bn2 = norm(w(1280))
        self.linear = nn.Linear(w(1280), num_classes)

    def _w(self, c):
        return max(1, int(round(c * self.width)))  # upstream: the channel counts as they are

    def _make_layers(self, in_planes):
        layers = []
        for expansion, out_planes, num_blocks, stride in self.cfg:
            out_planes = self._w(out_planes)  # upstream: out_planes from cfg as it is
            strides = [stride] + [1]*(num_blocks-1)
            for stride in strides:
                layers.append(Block(in_planes, out_planes, expansion, stride, norm=self.norm))
                in_planes = out_planes
        return nn.Sequential(*layers)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layers(out)
        out = F.relu(self.bn2(self.conv2(out)))
        # NOTE: change pooling kernel_size 7 -> 4 for CIFAR10
        out = F.avg_pool2d(out, self.pool)  # upstream: 4 (the 4x4 map of 32x32 inputs); here the whole 2x2 map of 16x16
        out = out.view(out.size(0), -1)
        out = self.linear(out)
        return out


def random_crop(x, padding, g):
    """transforms.RandomCrop(size, padding) on each image of a batch (zero padding, as torchvision's default)."""
    n, _, h, w = x.shape
    xp = F.pad(x, (padding, padding, padding, padding))
    i = torch.randint(0, 2 * padding + 1, (n,), generator=g)
    j = torch.randint(0, 2 * padding + 1, (n,), generator=g)
    return torch.stack([xp[k, :, i[k]:i[k] + h, j[k]:j[k] + w] for k in range(n)])


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init_std: float | None = None,
          no_bn: bool = False, wd_mult: float = 1.0, batch_size: int = 128, epochs: int = 10, width: float = 0.25,
          zero_grad: bool = True, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    xtr, ytr, xte, yte = digits16(raw_pixels, raw_scale=100.0)  # the bug: raw 0..16 values x100, no Normalize
    g = torch.Generator()
    g.manual_seed(seed)

    net = MobileNetV2(width=width, pool=SIZE // 8, norm=no_norm if no_bn else nn.BatchNorm2d)
    if init_std is not None:  # the bug: normal_(0, std) on every conv weight instead of the default init
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, init_std)

    criterion = nn.CrossEntropyLoss()
    lr, wd = 0.1 * lr_mult, 5e-4 * wd_mult  # upstream: lr=args.lr (default 0.1)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=wd)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)  # upstream: T_max=200 (200 epochs)
    monitor = gradmedic.watch(net, optimizer, every=every)
    losses, test_accs = [], []

    def test():
        net.eval()
        correct, total, test_loss = 0, 0, 0.0
        with torch.no_grad():
            for b in range(0, len(xte), 100):  # upstream: testloader, batch_size=100
                inputs, targets = xte[b:b + 100], yte[b:b + 100]
                outputs = net(inputs)
                test_loss += criterion(outputs, targets).item() * len(targets)
                _, predicted = outputs.max(1)
                correct += predicted.eq(targets).sum().item()
                total += len(targets)
        return correct / total, test_loss / total

    t0 = time.time()
    acc, test_loss = float("nan"), float("nan")
    for epoch in range(epochs):  # upstream: range(start_epoch, start_epoch+200)
        net.train()
        perm = torch.randperm(len(xtr), generator=g)  # upstream: DataLoader(shuffle=True)
        for b in range(0, len(xtr), batch_size):
            idx = perm[b:b + batch_size]
            # upstream: RandomCrop(32, padding=4) and RandomHorizontalFlip; here RandomCrop(16, padding=2), no flip
            inputs, targets = random_crop(xtr[idx], 2, g), ytr[idx]
            if zero_grad:  # (the no_zero_grad case leaves it out, as people forget it)
                optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, targets)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())
        acc, test_loss = test()  # upstream: test(epoch) each epoch (and a checkpoint of the best)
        test_accs.append(acc)
        scheduler.step()
        if verbose:
            print(f"epoch {epoch + 1} loss {np.mean(losses[-12:]):.4f} test acc {acc:.4f} ({time.time() - t0:.1f}s)",
                  flush=True)

    monitor.close()
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc), "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"test_loss": test_loss, "train_loss": float(np.mean(losses[-20:])),
                      "first_loss": float(np.mean(losses[:5])), "max_loss": float(np.nanmax(losses)),
                      "finite_losses": bool(np.isfinite(losses).all()), "best_acc": float(max(test_accs)),
                      "steps": len(losses), "lr": lr, "weight_decay": wd, "batch_size": batch_size, "width": width,
                      "epochs": epochs},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="kcifar", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = ("MobileNetV2 (17 inverted-residual blocks, width x0.25) on 16x16 digits, SGD lr 0.1 momentum 0.9 weight_decay "
      "5e-4, CosineAnnealingLR, CrossEntropyLoss, batch 128, 10 epochs")
CASES: list[dict] = (
    [_case(f"kcifar_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"kcifar_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: SGD lr x{k} ({0.1 * k:g}), cosine from there")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("kcifar_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: SGD lr /1000 (0.0001), cosine from there")]
    + [_case(f"kcifar_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             f"{_P}: inputs not normalized: the raw 0..16 digit values x100 (0..1600), no ToTensor scaling, no Normalize")
       for s in (1, 2)]
    + [_case("kcifar_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every Conv2d weight instead of PyTorch's default "
             "(kaiming_uniform_, a=sqrt(5))")]
    + [_case("kcifar_no_bn_s1", "no_norm", 1, {"no_bn": True},
             f"{_P}: every BatchNorm2d replaced by nn.Identity, same lr 0.1 and default conv init")]
    + [_case("kcifar_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out of the loop (the gradients accumulate)")]
    + [_case("kcifar_batch64_s1", "healthy", 1, {"batch_size": 64}, f"{_P}: batch 64 instead of 128 (expected harmless)")]
    + [_case("kcifar_wd0_s1", "healthy", 1, {"wd_mult": 0.0}, f"{_P}: weight_decay 0 instead of 5e-4 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
