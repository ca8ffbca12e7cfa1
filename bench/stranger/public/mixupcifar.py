"""facebookresearch/mixup-cifar10: mixup training (``train.py``) of its default ResNet18 (pre-activation blocks), on
digits, watched by gradmedic.

Adapted from https://github.com/facebookresearch/mixup-cifar10 (commit eaff31ab397a90fbc0a4aac71fb5311144b3608b,
train.py and models/resnet.py; CC BY-NC 4.0, Copyright (c) 2017-present Facebook, Inc.; its models are adapted from
kuangliu/pytorch-cifar, MIT License; both texts in LICENSE-mixupcifar).  Kept as in the original: ``mixup_data``
(``lam = np.random.beta(alpha, alpha)``, a ``torch.randperm`` of the batch, ``lam * x + (1 - lam) * x[index, :]``)
and ``mixup_criterion`` (``lam * criterion(pred, y_a) + (1 - lam) * criterion(pred, y_b)``) with alpha 1.0;
``nn.CrossEntropyLoss``; ``optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)``;
``adjust_learning_rate`` (lr /10 from the milestone epoch on, /100 from the second, set after each epoch's test, so
the epoch at the milestone still trains at the old rate); the per-batch loop (mix, ``outputs = net(inputs)``, the
mixed loss, ``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``), training batch 128 reshuffled
each epoch, test batch 100, the ``RandomCrop(size, padding)`` augmentation and a per-channel ``Normalize``; the
default model ``ResNet18()`` = ``ResNet(PreActBlock, [2, 2, 2, 2])`` of models/resnet.py as it is there (a 3x3 stem
conv -> BatchNorm2d -> ReLU, then four stages of two ``PreActBlock`` (BatchNorm2d -> ReLU -> 3x3 conv (no bias) ->
BatchNorm2d -> ReLU -> 3x3 conv, the shortcut a 1x1 conv of the pre-activated input where the shape changes) at
strides 1, 2, 2, 2 with widths doubling, ``F.avg_pool2d``, ``nn.Linear``; PyTorch's default initialization, as
upstream sets none); the test accuracy in ``net.eval()`` after each epoch.

Changed, so a run takes ~15-25 s on one CPU thread and needs no download (each change marked ``# upstream:``):
- Data: scikit-learn's ``load_digits`` instead of CIFAR-10: the 8x8 images scaled to [0, 1] (as ``ToTensor``
  does), bilinearly upsampled to 16x16, one channel, split 1437 / 360 (``train_test_split``, random_state 0);
  ``Normalize`` with the training set's mean and std (upstream's CIFAR constants do not apply).
  ``RandomCrop(16, padding=2)`` (upstream 32 with padding 4, the same 1/8) done on tensors; no
  ``RandomHorizontalFlip`` (mirrored digits are other shapes).
- Model: the stem conv takes 1 channel (upstream 3); the widths shrunk uniformly by 8 (stem and stages 8, 16, 32,
  64 instead of 64, 128, 256, 512: a ``width`` argument); ``F.avg_pool2d(out, 2)`` instead of 4 (on 16x16 inputs
  the last map is 2x2: the same global average pool); a ``norm`` argument (default ``nn.BatchNorm2d``) for the
  no-BatchNorm variant; ``super().__init__()`` (ruff); the other models and ``Variable`` left out.
- EPOCHS = 10 epochs (120 steps at batch 128) instead of 200, the lr milestones scaled with them (epochs 5 and 7
  instead of 100 and 150).  The run's seed goes to ``torch.manual_seed`` and ``np.random.seed`` (upstream seeds
  torch only when --seed is not 0 and never numpy's ``np.random.beta``); no checkpoint, csv log, progress bar,
  DataParallel or cudnn; the metric is the test accuracy after the last epoch (upstream logs it each epoch).

The watch, as a user would: ``monitor = gradmedic.watch(net, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(loss)`` right after ``loss.backward()`` (the mixed loss), before ``optimizer.step()``;
``monitor.close()`` after the last epoch.

``CASES`` (program "mixupcifar"): the program on seeds 1-3, and one change each against the same seed's healthy run:
lr x10, x100 (seeds 1 and 2), x1000, /1000 (the step schedule scaled with it); every BatchNorm2d replaced by
nn.Identity (seeds 1 and 2); raw 0..256 inputs (the 0..16 digit values x16, no scaling or Normalize; seeds 1 and
2); N(0, 1) on every Conv2d and Linear weight; ``optimizer.zero_grad()`` left out (seeds 1 and 2); and two changes
expected harmless, cause "healthy": mixup alpha 0.2 (the paper's ImageNet value) and batch 256.  Labels come from
run.py's outcome rules only.
Recorded (cases-public135; 17 cases in 295 s, 11-22 s a run; the metric is the test accuracy after the last epoch):
healthy 0.983 / 0.939 / 0.975 on seeds 1-3 (mixed training loss 2.3 over the first 5 steps -> 0.98-1.07 over the
last 20, largest 2.35-2.38, every loss finite; test loss 0.18-0.26); lr x10 (1.0): 0.781 (training loss 1.49,
largest 3.19), broken; lr x100 (10) on seeds 1 and 2 and x1000 (100): losses of 1e12-1e13 within the first steps,
then NaN, 0.075 (every prediction one class), broken; lr /1000 (1e-4): loss 2.35 -> 2.32, 0.117, broken; BatchNorm
removed: the loss stays at 2.28-2.29 (finite), 0.100 and 0.111, broken on both seeds; raw 0..256 inputs: 0.989 and
0.975, healthy on both seeds (the stem conv has no bias and is followed by BatchNorm2d, which removes the scale, as
in cifarnet.py); N(0, 1) weights: first losses ~100 (largest 153), training loss 2.02 at the end, 0.419, broken;
``optimizer.zero_grad()`` left out: the loss grows to 8e24 / 9e28 and then NaN, 0.075 on both seeds, broken; alpha
0.2: 0.978 (training loss 0.48, less mixing), healthy; batch 256: 0.942 (60 steps instead of 120), healthy (a
"healthy" cause is labelled by the good-outcome rule alone; it is 4 points below seed 1's 0.983).  Labels: 7
healthy (3 programs, 4 variants), 10 broken, 0 ambiguous.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(net, optimizer, every=10) right after optim.SGD(lr=0.1, momentum=0.9, weight_decay=1e-4); "
              "monitor.step(loss) right after loss.backward() (the mixup loss lam * CE(pred, y_a) + (1 - lam) * "
              "CE(pred, y_b) on the mixed batch), before optimizer.step(); lr /10 at half and three quarters of the "
              "epochs")

EPOCHS = 10  # upstream: --epoch 200
SIZE = 16  # upstream: 32x32 CIFAR-10 images


def conv3x3(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


class PreActBlock(nn.Module):
    '''Pre-activation version of the BasicBlock.'''
    expansion = 1

    def __init__(self, in_planes, planes, stride=1, norm=nn.BatchNorm2d):
        super().__init__()  # upstream: super(PreActBlock, self).__init__(); norm was nn.BatchNorm2d
        self.bn1 = norm(in_planes)
        self.conv1 = conv3x3(in_planes, planes, stride)
        self.bn2 = norm(planes)
        self.conv2 = conv3x3(planes, planes)

        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != self.expansion*planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, self.expansion*planes, kernel_size=1, stride=stride, bias=False)
            )

    def forward(self, x):
        out = F.relu(self.bn1(x))
        shortcut = self.shortcut(out)
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        out += shortcut
        return out


class ResNet(nn.Module):
    def __init__(self, block, num_blocks, num_classes=10, in_channels=1, width=64, pool=4, norm=nn.BatchNorm2d):
        super().__init__()  # upstream: super(ResNet, self).__init__()
        self.in_planes = width  # upstream: 64
        self.pool = pool  # upstream: F.avg_pool2d(out, 4) on the 4x4 map of a 32x32 input
        self.norm = norm

        self.conv1 = conv3x3(in_channels, width)  # upstream: conv3x3(3,64)
        self.bn1 = norm(width)  # upstream: nn.BatchNorm2d(64)
        self.layer1 = self._make_layer(block, width, num_blocks[0], stride=1)  # upstream: 64
        self.layer2 = self._make_layer(block, 2*width, num_blocks[1], stride=2)  # upstream: 128
        self.layer3 = self._make_layer(block, 4*width, num_blocks[2], stride=2)  # upstream: 256
        self.layer4 = self._make_layer(block, 8*width, num_blocks[3], stride=2)  # upstream: 512
        self.linear = nn.Linear(8*width*block.expansion, num_classes)

    def _make_layer(self, block, planes, num_blocks, stride):
        strides = [stride] + [1]*(num_blocks-1)
        layers = []
        for stride in strides:
            layers.append(block(self.in_planes, planes, stride, norm=self.norm))  # upstream: block(in, planes, stride)
            self.in_planes = planes * block.expansion
        return nn.Sequential(*layers)

    def forward(self, x, lin=0, lout=5):
        out = x
        if lin < 1 and lout > -1:
            out = self.conv1(out)
            out = self.bn1(out)
            out = F.relu(out)
        if lin < 2 and lout > 0:
            out = self.layer1(out)
        if lin < 3 and lout > 1:
            out = self.layer2(out)
        if lin < 4 and lout > 2:
            out = self.layer3(out)
        if lin < 5 and lout > 3:
            out = self.layer4(out)
        if lout > 4:
            out = F.avg_pool2d(out, self.pool)  # upstream: F.avg_pool2d(out, 4)
            out = out.view(out.size(0), -1)
            out = self.linear(out)
        return out


def ResNet18(width=64, pool=4, norm=nn.BatchNorm2d):
    return ResNet(PreActBlock, [2, 2, 2, 2], width=width, pool=pool, norm=norm)  # upstream: ResNet(PreActBlock, [2,2,2,2])


def no_norm(planes):
    """The BatchNorm removed: nn.Identity in every BatchNorm2d's place."""
    return nn.Identity()


def digits16(raw_scale: float | None = None):
    """(train, test) tensors: digits upsampled to 1x16x16 and normalized (ToTensor + Normalize), or, for the
    unscaled_inputs variant, the raw 0..16 values times raw_scale (16: 0..256 "pixels") with no scaling at all."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)

    def up(x):
        x = torch.tensor(x, dtype=torch.float32)[:, None] / 16.0
        return F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False).clamp(0, 1)

    xtr, xte = up(xtr), up(xte)
    if raw_scale is not None:  # the bug: raw pixel values (0..16 * raw_scale), no ToTensor scaling, no Normalize
        return xtr * 16.0 * raw_scale, torch.tensor(ytr), xte * 16.0 * raw_scale, torch.tensor(yte)
    mean, std = xtr.mean(), xtr.std()  # upstream: Normalize((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010))
    return (xtr - mean) / std, torch.tensor(ytr), (xte - mean) / std, torch.tensor(yte)


def random_crop(x, padding):
    """transforms.RandomCrop(size, padding) on each image of a batch (zero padding, as torchvision's default)."""
    n, _, h, w = x.shape
    xp = F.pad(x, (padding, padding, padding, padding))
    i = torch.randint(0, 2 * padding + 1, (n,))
    j = torch.randint(0, 2 * padding + 1, (n,))
    return torch.stack([xp[k, :, i[k]:i[k] + h, j[k]:j[k] + w] for k in range(n)])


def mixup_data(x, y, alpha=1.0, use_cuda=True):
    '''Returns mixed inputs, pairs of targets, and lambda'''
    if alpha > 0:
        lam = np.random.beta(alpha, alpha)
    else:
        lam = 1

    batch_size = x.size()[0]
    if use_cuda:
        index = torch.randperm(batch_size).cuda()
    else:
        index = torch.randperm(batch_size)

    mixed_x = lam * x + (1 - lam) * x[index, :]
    y_a, y_b = y, y[index]
    return mixed_x, y_a, y_b, lam


def mixup_criterion(criterion, pred, y_a, y_b, lam):
    return lam * criterion(pred, y_a) + (1 - lam) * criterion(pred, y_b)


def train(seed: int = 1, lr_mult: float = 1.0, alpha: float = 1.0, batch_size: int = 128, no_bn: bool = False,
          raw_scale: float | None = None, init_std: float | None = None, zero_grad: bool = True,
          epochs: int = EPOCHS, width: int = 8, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    t0 = time.time()
    torch.manual_seed(seed)  # upstream: if args.seed != 0: torch.manual_seed(args.seed)
    np.random.seed(seed)  # upstream: numpy's generator (np.random.beta) is not seeded
    xtr, ytr, xte, yte = digits16(raw_scale)

    net = ResNet18(width=width, pool=SIZE // 8, norm=no_norm if no_bn else nn.BatchNorm2d)  # upstream: ResNet18()
    if init_std is not None:  # the bug: normal_(0, std) on every Conv2d and Linear weight instead of the default init
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, init_std)

    base_lr = 0.1 * lr_mult  # upstream: --lr 0.1
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=base_lr, momentum=0.9, weight_decay=1e-4)
    monitor = gradmedic.watch(net, optimizer, every=every)  # gradmedic

    def adjust_learning_rate(optimizer, epoch):
        """decrease the learning rate at 100 and 150 epoch"""
        lr = base_lr
        if epoch >= epochs // 2:  # upstream: epoch >= 100 (of 200)
            lr /= 10
        if epoch >= 3 * epochs // 4:  # upstream: epoch >= 150
            lr /= 10
        for param_group in optimizer.param_groups:
            param_group['lr'] = lr

    def test():
        net.eval()
        correct, total, test_loss = 0, 0, 0.0
        with torch.no_grad():
            for b in range(0, len(xte), 100):
                inputs, targets = xte[b:b + 100], yte[b:b + 100]
                outputs = net(inputs)
                test_loss += criterion(outputs, targets).item() * len(targets)
                correct += outputs.max(1)[1].eq(targets).sum().item()
                total += len(targets)
        return test_loss / total, correct / total

    losses, accs, train_acc = [], [], float("nan")
    for epoch in range(epochs):
        net.train()
        correct, total = 0.0, 0
        perm = torch.randperm(len(xtr))  # upstream: DataLoader(trainset, batch_size=128, shuffle=True)
        for b in range(0, len(xtr), batch_size):
            idx = perm[b:b + batch_size]
            inputs, targets = random_crop(xtr[idx], 2), ytr[idx]  # upstream: RandomCrop(32, padding=4) + flip

            inputs, targets_a, targets_b, lam = mixup_data(inputs, targets, alpha, use_cuda=False)
            outputs = net(inputs)
            loss = mixup_criterion(criterion, outputs, targets_a, targets_b, lam)
            _, predicted = torch.max(outputs.data, 1)
            total += targets.size(0)
            correct += float(lam * predicted.eq(targets_a.data).sum().float()
                             + (1 - lam) * predicted.eq(targets_b.data).sum().float())

            if zero_grad:  # the no_zero_grad variant leaves it out
                optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())
        train_acc = correct / total
        test_loss, test_acc = test()
        accs.append(test_acc)
        adjust_learning_rate(optimizer, epoch)
        if verbose:
            print(f"epoch {epoch} loss {np.mean(losses[-12:]):.4f} train acc {train_acc:.3f} test loss {test_loss:.4f} "
                  f"acc {test_acc:.4f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(accs[-1]), "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"test_loss": float(test_loss), "best_acc": float(max(accs)), "train_acc": float(train_acc),
                      "train_loss": float(np.mean(la[-20:])), "first_loss": float(np.mean(la[:5])),
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "steps": len(losses), "epochs": epochs,
                      "lr": base_lr, "lr_mult": lr_mult, "alpha": alpha, "batch_size": batch_size, "no_bn": no_bn,
                      "raw_scale": -1.0 if raw_scale is None else raw_scale,
                      "init_std": -1.0 if init_std is None else init_std, "zero_grad": zero_grad, "width": width},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="mixupcifar", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"mixup (alpha 1.0) ResNet18 of pre-activation blocks at widths 8-64; SGD lr 0.1 momentum 0.9 weight_decay "
      f"1e-4, lr /10 at epochs {EPOCHS // 2} and {3 * EPOCHS // 4}; CrossEntropyLoss; batch 128; {EPOCHS} epochs")
CASES: list[dict] = (
    [_case(f"mixupcifar_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"mixupcifar_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({0.1 * k:g}), the step "
             "schedule from there") for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("mixupcifar_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3},
             f"{_P}: lr /1000 (0.0001), the step schedule from there")]
    + [_case(f"mixupcifar_no_bn_s{s}", "no_norm", s, {"no_bn": True},
             f"{_P}: every BatchNorm2d (stem and blocks) replaced by nn.Identity, same lr and default init")
       for s in (1, 2)]
    + [_case(f"mixupcifar_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_scale": 16.0},
             f"{_P}: inputs not normalized: the raw 0..16 digit values x16 (0..256 pixels), no ToTensor scaling, "
             "no Normalize") for s in (1, 2)]
    + [_case("mixupcifar_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every Conv2d and Linear weight instead of PyTorch's default "
             "(kaiming_uniform_, a=sqrt(5))")]
    + [_case(f"mixupcifar_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out of the loop (the gradients accumulate)") for s in (1, 2)]
    + [_case("mixupcifar_alpha02_s1", "healthy", 1, {"alpha": 0.2},
             f"{_P}: mixup alpha 0.2 instead of 1.0 (expected harmless)")]
    + [_case("mixupcifar_batch256_s1", "healthy", 1, {"batch_size": 256},
             f"{_P}: batch 256 instead of 128 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
