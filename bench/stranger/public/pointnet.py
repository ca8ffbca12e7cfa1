"""fxia22's PointNet classifier (STN3d, STNkd feature transform, PointNetfeat, PointNetCls; NLL loss on log_softmax,
Adam, StepLR) on generated point clouds, watched by gradmedic.

Adapted from https://github.com/fxia22/pointnet.pytorch (commit bafbf401e0af19be3262e448c59313fd2be0e421,
pointnet/model.py, utils/train_classification.py and the normalization/augmentation of pointnet/dataset.py; MIT
License, Copyright (c) 2017 Fei Xia, see LICENSE-pointnet).  Kept as upstream: ``STN3d``, ``STNkd``, ``PointNetfeat``,
``PointNetCls`` and ``feature_transform_regularizer`` copied line for line (the 3x3 input transform and the 64x64
feature transform, each added to the identity; Conv1d(.., 1) point-wise layers, every BatchNorm1d, the max pool,
the classifier head fc1-bn1-relu, fc2-dropout(0.3)-bn2-relu, fc3, ``F.log_softmax``; PyTorch's default inits; the
unused ``self.relu = nn.ReLU()`` modules too - forward uses ``F.relu``); the loop of train_classification.py run with
``--feature_transform``: ``optim.Adam(classifier.parameters(), lr=0.001, betas=(0.9, 0.999))``,
``StepLR(step_size=20, gamma=0.5)`` stepped once an epoch, batch 32 shuffled, ``optimizer.zero_grad()``,
``classifier.train()``, ``F.nll_loss(pred, target)`` + ``feature_transform_regularizer(trans_feat) * 0.001``,
backward, step, no clipping; the dataset's per-cloud ``np.random.choice`` of points (with replacement), centring,
scaling into the unit sphere, and, for training only, the random rotation about the up (y) axis and N(0, 0.02) jitter;
the final accuracy loop over the test set in ``eval()`` mode (the metric).

Changed (each marked ``# upstream:`` in the code):
- the data: ShapeNet / ModelNet40 cannot be downloaded, so ``ShapesDataset`` generates objects of 4 classes (sphere -
  an ellipsoid of axes 0.8-1.2; cube surface - a box of sides 0.8-1.2; cone with its base; torus lying in the x-z
  plane), each a pool of 1024 surface points with its up axis y and random proportions; 320 training (80 a class)
  and 200 test objects drawn with fixed data seeds (0 and 1), the test set's 128 points per object drawn once.  A
  first try with 5 classes (a cylinder too) and 12-20 epochs ended at 0.81-0.895 test accuracy (one class at
  0.5-0.6 at the last epoch while training accuracy was 0.97), so the cylinder was dropped.
- the size: 128 points per cloud (upstream 2500); the global feature width 256 instead of 1024 in all three
  places it appears (STN3d, STNkd, PointNetfeat; the heads' 512 and 256 kept) - width 1024 took ~0.5 s a step on
  one thread; 15 epochs of 10 steps (upstream 250 epochs of ShapeNet), so StepLR never halves the rate here.
- the scheduler is stepped at the start of every epoch but the first (upstream calls ``scheduler.step()`` first in
  every epoch, the pre-1.1 PyTorch order, which in current PyTorch moves the first halving one epoch earlier and
  warns); a seed (``torch.manual_seed(seed)``, ``np.random.seed(seed)``, a seeded DataLoader generator) instead
  of upstream's ``random.randint``; ``num_workers=0``; CPU instead of ``.cuda()`` (and ``Variable`` dropped);
  ``super().__init__()``; the test loader unshuffled and run under ``torch.no_grad()``; no checkpoints, no
  per-10-step test batch, prints (one a epoch) only with ``verbose``.
- the bugs of the variants: ``lr_mult``; ``coord_scale`` / ``coord_offset`` (applied after upstream's normalization
  and augmentation, train and test alike); ``init_std`` (N(0, init_std) on every Conv1d and Linear weight);
  ``zero_grad=False``; ``batch_norm=False`` (every BatchNorm1d an nn.Identity); ``log_softmax=False`` (raw scores
  to ``F.nll_loss``); ``batch_size``; ``feature_transform=False``.

The watch, as a user would: ``monitor = gradmedic.watch(classifier, optimizer, every=10)`` right after the optimizer
is built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the last epoch.  The model's ``nn.ReLU`` modules are never called (upstream's forward uses ``F.relu``), so
watch() warns at the first step that no activation hook fired; that is upstream's code as a user would run it.

``CASES`` (program "pointnet"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10, x100 (seeds 1 and 2), /1000; the coordinates x100; +1000 on every coordinate (not centred); N(0, 1)
weights (seeds 1 and 2); ``optimizer.zero_grad()`` left out; every BatchNorm1d removed (no_norm);
``F.log_softmax`` left out before ``F.nll_loss`` (wrong_loss); and two changes expected harmless: batch 16 and
``--feature_transform`` off (cause "healthy").  Labels come from run.py's outcome rules only.
Recorded (cases-public109; 16 runs, 12-39 s each on the shared 2-core machine, 416 s in all): healthy test
accuracy 1.0, 1.0, 0.995 on seeds 1-3 (training loss 1.19-1.29 over the first 5 steps -> 0.07-0.15 over the last 20,
every loss finite, largest 1.52-1.54); lr x10 (0.01): 0.765 (training accuracy 0.99, spheres 0.06 at test): broken;
lr x100 (0.1): first-5 loss 23 and 16, largest 65 and 47, 0.765 (seed 1) and 0.665 (seed 2): broken; lr /1000:
loss 1.58 -> 1.47, 0.365: broken; coordinates x100: training accuracy 0.99, 0.745 (cubes 0.0 at test): broken;
+1000 offset: training accuracy 1.0, 0.25 (every test cloud called a sphere): broken; N(0, 1) weights: first-5
loss ~101, final training loss 24, 0.92 (seed 1): ambiguous, 0.825 (seed 2): broken; zero_grad left out: the loss
rises to 2.6, 0.365: broken; BatchNorm removed: 0.93: ambiguous; log_softmax left out: the NLL of raw scores falls
to -25, yet the argmax is right, 0.985: healthy; batch 16: 0.95: healthy; feature transform off: training accuracy
0.98 but 0.615 at test (cubes 0.0): ambiguous (an expected-harmless change that was not).  Labels: 5 healthy (3
programs, log_softmax left out, batch 16), 8 broken, 3 ambiguous; no non-finite loss.  Several runs that fit the
training set (lr x10, the coordinates x100 or +1000, the feature transform off) lose one class only in eval()
mode: with 15 epochs of 10 steps the BatchNorm running statistics and the unjittered test clouds leave little margin,
so the test accuracy of this shortened program is more fragile than upstream's.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(classifier, optimizer, every=10) right after optimizer = optim.Adam(classifier.parameters(), "
              "lr=0.001, betas=(0.9, 0.999)); monitor.step(loss) right after loss.backward() (loss = F.nll_loss(pred, "
              "target) + feature_transform_regularizer(trans_feat) * 0.001), before optimizer.step()")

NUM_POINTS = 128     # upstream: --num_points 2500
WIDTH = 256          # upstream: 1024 (the global feature width; narrower for one CPU thread)
NEPOCH = 15          # upstream: --nepoch 250
N_TRAIN = 320        # clouds per split: 80 of each of the 4 classes (upstream: ShapeNet / ModelNet40)
N_TEST = 200
CLASSES = ("sphere", "cube", "cone", "torus")
POOL = 1024          # surface points drawn per object; each item samples NUM_POINTS of them, as upstream's dataset does


##########################
### model (pointnet/model.py, copied; nn.BatchNorm1d replaced by _bn so the no_norm variant can take them out)
##########################

_NORM = [True]


def _bn(n):
    return nn.BatchNorm1d(n) if _NORM[0] else nn.Identity()  # upstream: nn.BatchNorm1d(n)


class STN3d(nn.Module):
    def __init__(self):
        super().__init__()  # upstream: super(STN3d, self).__init__()
        self.conv1 = torch.nn.Conv1d(3, 64, 1)
        self.conv2 = torch.nn.Conv1d(64, 128, 1)
        self.conv3 = torch.nn.Conv1d(128, WIDTH, 1)  # upstream: 1024
        self.fc1 = nn.Linear(WIDTH, 512)
        self.fc2 = nn.Linear(512, 256)
        self.fc3 = nn.Linear(256, 9)
        self.relu = nn.ReLU()

        self.bn1 = _bn(64)
        self.bn2 = _bn(128)
        self.bn3 = _bn(WIDTH)
        self.bn4 = _bn(512)
        self.bn5 = _bn(256)

    def forward(self, x):
        batchsize = x.size()[0]
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = F.relu(self.bn3(self.conv3(x)))
        x = torch.max(x, 2, keepdim=True)[0]
        x = x.view(-1, WIDTH)

        x = F.relu(self.bn4(self.fc1(x)))
        x = F.relu(self.bn5(self.fc2(x)))
        x = self.fc3(x)

        # upstream: Variable(...) and .cuda() when x.is_cuda
        iden = torch.from_numpy(np.array([1, 0, 0, 0, 1, 0, 0, 0, 1]).astype(np.float32)).view(1, 9).repeat(batchsize, 1)
        x = x + iden
        x = x.view(-1, 3, 3)
        return x


class STNkd(nn.Module):
    def __init__(self, k=64):
        super().__init__()  # upstream: super(STNkd, self).__init__()
        self.conv1 = torch.nn.Conv1d(k, 64, 1)
        self.conv2 = torch.nn.Conv1d(64, 128, 1)
        self.conv3 = torch.nn.Conv1d(128, WIDTH, 1)  # upstream: 1024
        self.fc1 = nn.Linear(WIDTH, 512)
        self.fc2 = nn.Linear(512, 256)
        self.fc3 = nn.Linear(256, k*k)
        self.relu = nn.ReLU()

        self.bn1 = _bn(64)
        self.bn2 = _bn(128)
        self.bn3 = _bn(WIDTH)
        self.bn4 = _bn(512)
        self.bn5 = _bn(256)

        self.k = k

    def forward(self, x):
        batchsize = x.size()[0]
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = F.relu(self.bn3(self.conv3(x)))
        x = torch.max(x, 2, keepdim=True)[0]
        x = x.view(-1, WIDTH)

        x = F.relu(self.bn4(self.fc1(x)))
        x = F.relu(self.bn5(self.fc2(x)))
        x = self.fc3(x)

        iden = torch.from_numpy(np.eye(self.k).flatten().astype(np.float32)).view(1, self.k*self.k).repeat(batchsize, 1)
        x = x + iden
        x = x.view(-1, self.k, self.k)
        return x


class PointNetfeat(nn.Module):
    def __init__(self, global_feat=True, feature_transform=False):
        super().__init__()  # upstream: super(PointNetfeat, self).__init__()
        self.stn = STN3d()
        self.conv1 = torch.nn.Conv1d(3, 64, 1)
        self.conv2 = torch.nn.Conv1d(64, 128, 1)
        self.conv3 = torch.nn.Conv1d(128, WIDTH, 1)  # upstream: 1024
        self.bn1 = _bn(64)
        self.bn2 = _bn(128)
        self.bn3 = _bn(WIDTH)
        self.global_feat = global_feat
        self.feature_transform = feature_transform
        if self.feature_transform:
            self.fstn = STNkd(k=64)

    def forward(self, x):
        n_pts = x.size()[2]
        trans = self.stn(x)
        x = x.transpose(2, 1)
        x = torch.bmm(x, trans)
        x = x.transpose(2, 1)
        x = F.relu(self.bn1(self.conv1(x)))

        if self.feature_transform:
            trans_feat = self.fstn(x)
            x = x.transpose(2, 1)
            x = torch.bmm(x, trans_feat)
            x = x.transpose(2, 1)
        else:
            trans_feat = None

        pointfeat = x
        x = F.relu(self.bn2(self.conv2(x)))
        x = self.bn3(self.conv3(x))
        x = torch.max(x, 2, keepdim=True)[0]
        x = x.view(-1, WIDTH)
        if self.global_feat:
            return x, trans, trans_feat
        else:
            x = x.view(-1, WIDTH, 1).repeat(1, 1, n_pts)
            return torch.cat([x, pointfeat], 1), trans, trans_feat


class PointNetCls(nn.Module):
    def __init__(self, k=2, feature_transform=False, log_softmax=True):
        super().__init__()  # upstream: super(PointNetCls, self).__init__()
        self.feature_transform = feature_transform
        self.feat = PointNetfeat(global_feat=True, feature_transform=feature_transform)
        self.fc1 = nn.Linear(WIDTH, 512)
        self.fc2 = nn.Linear(512, 256)
        self.fc3 = nn.Linear(256, k)
        self.dropout = nn.Dropout(p=0.3)
        self.bn1 = _bn(512)
        self.bn2 = _bn(256)
        self.relu = nn.ReLU()
        self.log_softmax = log_softmax

    def forward(self, x):
        x, trans, trans_feat = self.feat(x)
        x = F.relu(self.bn1(self.fc1(x)))
        x = F.relu(self.bn2(self.dropout(self.fc2(x))))
        x = self.fc3(x)
        if not self.log_softmax:  # the wrong_loss variant: raw scores go to F.nll_loss
            return x, trans, trans_feat
        return F.log_softmax(x, dim=1), trans, trans_feat


def feature_transform_regularizer(trans):
    d = trans.size()[1]
    I = torch.eye(d)[None, :, :]  # noqa: E741 (as upstream)
    loss = torch.mean(torch.norm(torch.bmm(trans, trans.transpose(2, 1)) - I, dim=(1, 2)))
    return loss


##########################
### data (upstream: pointnet/dataset.py reads ShapeNet / ModelNet40 meshes; here generated shapes)
##########################

def _shape(cls, rng):
    """POOL surface points of one object of class cls, its up axis y, random proportions."""
    n = POOL
    if cls == 0:  # sphere (an ellipsoid of mild random axes)
        v = rng.normal(size=(n, 3))
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        return v * rng.uniform(0.8, 1.2, size=3)
    if cls == 1:  # cube surface (a box of mild random sides)
        p = rng.uniform(-1, 1, size=(n, 3))
        face = rng.integers(0, 3, size=n)
        p[np.arange(n), face] = rng.choice([-1.0, 1.0], size=n)
        return p * rng.uniform(0.8, 1.2, size=3)
    if cls == 2:  # cone (side and base)
        r, h = rng.uniform(0.5, 1.0), rng.uniform(0.8, 2.0)
        t = rng.uniform(0, 2 * np.pi, size=n)
        s = np.sqrt(rng.random(n))  # uniform on the side
        y = h / 2 - s * h
        rr = r * s
        base = rng.random(n) < 0.25
        y[base] = -h / 2
        rr[base] = r * np.sqrt(rng.random(base.sum()))
        return np.stack([rr * np.cos(t), y, rr * np.sin(t)], 1)
    # torus, lying in the x-z plane
    R, r = rng.uniform(0.7, 1.0), rng.uniform(0.15, 0.4)
    u, w = rng.uniform(0, 2 * np.pi, size=(2, n))
    return np.stack([(R + r * np.cos(w)) * np.cos(u), r * np.sin(w), (R + r * np.cos(w)) * np.sin(u)], 1)


class ShapesDataset(torch.utils.data.Dataset):
    """Generated objects (fixed data seed per split), served as upstream's ModelNetDataset serves its meshes."""

    def __init__(self, split="train", npoints=NUM_POINTS, data_augmentation=True, scale=1.0, offset=0.0):
        self.npoints = npoints
        self.data_augmentation = data_augmentation
        self.scale, self.offset = scale, offset  # the unscaled_inputs variants (after upstream's normalization)
        rng = np.random.default_rng(0 if split == "train" else 1)
        n = N_TRAIN if split == "train" else N_TEST
        self.labels = np.arange(n) % len(CLASSES)
        self.pts = [_shape(c, rng).astype(np.float32) for c in self.labels]
        self.classes = CLASSES
        self.fixed = None
        if not data_augmentation:  # the test set: one fixed draw of npoints per object
            self.fixed = [p[rng.choice(len(p), self.npoints, replace=True)] for p in self.pts]

    def __getitem__(self, index):
        pts, cls = self.pts[index], self.labels[index]
        if self.fixed is not None:
            point_set = self.fixed[index].copy()
        else:
            choice = np.random.choice(len(pts), self.npoints, replace=True)
            point_set = pts[choice, :]

        point_set = point_set - np.expand_dims(np.mean(point_set, axis=0), 0)  # center
        dist = np.max(np.sqrt(np.sum(point_set ** 2, axis=1)), 0)
        point_set = point_set / dist  # scale

        if self.data_augmentation:
            theta = np.random.uniform(0, np.pi * 2)
            rotation_matrix = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
            point_set[:, [0, 2]] = point_set[:, [0, 2]].dot(rotation_matrix)  # random rotation
            point_set += np.random.normal(0, 0.02, size=point_set.shape)  # random jitter

        point_set = point_set * self.scale + self.offset  # the unscaled_inputs variants (1.0 and 0.0 otherwise)
        point_set = torch.from_numpy(point_set.astype(np.float32))
        cls = torch.from_numpy(np.array([cls]).astype(np.int64))
        return point_set, cls

    def __len__(self):
        return len(self.labels)


##########################
### training (utils/train_classification.py)
##########################

def train(seed: int = 1, lr_mult: float = 1.0, coord_scale: float = 1.0, coord_offset: float = 0.0,
          init_std: float | None = None, zero_grad: bool = True, batch_norm: bool = True, log_softmax: bool = True,
          feature_transform: bool = True, batch_size: int = 32, nepoch: int = NEPOCH, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    # upstream: opt.manualSeed = random.randint(1, 10000); random.seed / torch.manual_seed; numpy unseeded
    torch.manual_seed(seed)
    np.random.seed(seed)

    dataset = ShapesDataset(split="train", scale=coord_scale, offset=coord_offset)
    test_dataset = ShapesDataset(split="test", data_augmentation=False, scale=coord_scale, offset=coord_offset)
    g = torch.Generator()
    g.manual_seed(seed)
    dataloader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=0,
                                             generator=g)  # upstream: num_workers=4
    testdataloader = torch.utils.data.DataLoader(test_dataset, batch_size=batch_size, shuffle=False,
                                                 num_workers=0)  # upstream: shuffle=True, num_workers=4
    num_classes = len(dataset.classes)

    _NORM[0] = batch_norm
    try:
        classifier = PointNetCls(k=num_classes, feature_transform=feature_transform, log_softmax=log_softmax)
    finally:
        _NORM[0] = True
    if init_std is not None:  # the init_large variant: every Conv1d and Linear weight N(0, init_std)
        for m in classifier.modules():
            if isinstance(m, (nn.Conv1d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, init_std)

    lr = 0.001 * lr_mult
    optimizer = torch.optim.Adam(classifier.parameters(), lr=lr, betas=(0.9, 0.999))
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=20, gamma=0.5)
    monitor = gradmedic.watch(classifier, optimizer, every=every)  # gradmedic
    # upstream: classifier.cuda()

    num_batch = len(dataset) / batch_size
    losses, train_acc = [], []
    for epoch in range(nepoch):
        if epoch > 0:  # upstream: scheduler.step() first in every epoch (the pre-1.1 PyTorch order)
            scheduler.step()
        for i, data in enumerate(dataloader, 0):
            points, target = data
            target = target[:, 0]
            points = points.transpose(2, 1)
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            classifier = classifier.train()
            pred, trans, trans_feat = classifier(points)
            loss = F.nll_loss(pred, target)
            if feature_transform:
                loss += feature_transform_regularizer(trans_feat) * 0.001
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            pred_choice = pred.data.max(1)[1]
            correct = pred_choice.eq(target.data).cpu().sum()
            losses.append(loss.item())
            train_acc.append(correct.item() / float(batch_size))
            if verbose and i == 0:  # upstream: prints every step, and a test batch every 10 steps
                print('[%d: %d/%d] train loss: %f accuracy: %f (%.1fs)' % (  # noqa: UP031 (as upstream)
                    epoch, i, num_batch, loss.item(), correct.item() / float(batch_size), time.time() - t0))
        # upstream: torch.save(classifier.state_dict(), ...) every epoch
    monitor.close()

    total_correct = 0
    total_testset = 0
    per_class = np.zeros((2, num_classes))  # (correct, count) per class, for extra
    with torch.no_grad():  # upstream: no no_grad
        for _i, data in enumerate(testdataloader, 0):
            points, target = data
            target = target[:, 0]
            points = points.transpose(2, 1)
            classifier = classifier.eval()
            pred, _, _ = classifier(points)
            pred_choice = pred.data.max(1)[1]
            correct = pred_choice.eq(target.data).cpu().sum()
            total_correct += correct.item()
            total_testset += points.size()[0]
            np.add.at(per_class[0], target.numpy(), pred_choice.eq(target).numpy().astype(float))
            np.add.at(per_class[1], target.numpy(), 1.0)
    test_acc = total_correct / float(total_testset)
    if verbose:
        print("final accuracy {}".format(test_acc))  # noqa: UP032 (as upstream)

    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(test_acc), "chance": 1.0 / num_classes,
            "initial": None, "initial_what": f"chance accuracy 1/{num_classes}",
            "extra": dict(lr=lr, train_loss=float(np.mean(la[-20:])), first_loss=float(np.mean(la[:5])),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), steps=len(la), epochs=nepoch,
                          train_acc=float(np.mean(train_acc[-10:])), lr_mult=lr_mult, coord_scale=coord_scale,
                          coord_offset=coord_offset, init_std=-1.0 if init_std is None else init_std,
                          zero_grad=zero_grad, batch_norm=batch_norm, log_softmax=log_softmax,
                          feature_transform=feature_transform, batch_size=batch_size, num_points=NUM_POINTS,
                          width=WIDTH, test_clouds=total_testset,
                          **{f"test_acc_{c}": float(per_class[0, j] / per_class[1, j]) for j, c in enumerate(CLASSES)}),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="pointnet", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"PointNet classifier (STN3d, STNkd(64) feature transform, BatchNorm, global feature {WIDTH}; NLL on log_softmax "
      f"+ 0.001 x feature-transform regularizer; Adam lr 0.001, StepLR(20, 0.5), batch 32; {NUM_POINTS} points, "
      f"{len(CLASSES)} generated shape classes, {NEPOCH} epochs)")
CASES: list[dict] = (
    [_case(f"pointnet_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"pointnet_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({0.001 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("pointnet_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 (1e-06)")]
    + [_case("pointnet_coords_x100_s1", "unscaled_inputs", 1, {"coord_scale": 100.0},
             f"{_P}: the normalized coordinates multiplied by 100 (train and test)")]
    + [_case("pointnet_offset1000_s1", "unscaled_inputs", 1, {"coord_offset": 1000.0},
             f"{_P}: 1000 added to every normalized coordinate (not centred; train and test)")]
    + [_case(f"pointnet_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every Conv1d and Linear weight") for s in (1, 2)]
    + [_case("pointnet_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("pointnet_no_bn_s1", "no_norm", 1, {"batch_norm": False},
             f"{_P}: every BatchNorm1d removed (nn.Identity in its place)")]
    + [_case("pointnet_no_log_softmax_s1", "wrong_loss", 1, {"log_softmax": False},
             f"{_P}: F.log_softmax left out of PointNetCls.forward (raw scores to F.nll_loss)")]
    + [_case("pointnet_batch16_s1", "healthy", 1, {"batch_size": 16}, f"{_P}: batch 16 instead of 32")]
    + [_case("pointnet_no_ft_s1", "healthy", 1, {"feature_transform": False},
             f"{_P}: --feature_transform off (no STNkd, no regularizer)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
