"""Ben Trevett's pytorch-image-classification, 2 - LeNet, watched by gradmedic.

Adapted from https://github.com/bentrevett/pytorch-image-classification (MIT licence, see LICENSE-btlenet),
``2_lenet.ipynb`` at commit 33c9cfdb9097bc65b5800c1996f199f0ba520888.

Kept as in the notebook: ``LeNet(output_dim)`` with ``conv1 = nn.Conv2d(1, 6, kernel_size=5)``,
``conv2 = nn.Conv2d(6, 16, kernel_size=5)``, ``fc_1 = nn.Linear(16 * 4 * 4, 120)``, ``fc_2 = nn.Linear(120, 84)``,
``fc_3 = nn.Linear(84, output_dim)``; forward conv1 -> ``max_pool2d(2)`` -> ReLU -> conv2 -> ``max_pool2d(2)`` -> ReLU ->
flatten (``h``) -> fc_1 -> ReLU -> fc_2 -> ReLU -> fc_3, returning ``(x, h)``; PyTorch's default init; the training
transforms ``RandomRotation(5, fill=(0,))``, ``RandomCrop(28, padding=2)``, ``ToTensor()``,
``Normalize(mean=[mean], std=[std])`` (test and validation: ``ToTensor`` and ``Normalize``) with one mean and std
computed from the training images; ``VALID_RATIO = 0.9`` with ``data.random_split`` (the validation part with the
test transforms); ``BATCH_SIZE = 64`` (training set shuffled); ``optim.Adam(model.parameters())`` (default lr 1e-3);
``nn.CrossEntropyLoss()``; ``EPOCHS = 20``; the notebook's ``train`` (per batch ``optimizer.zero_grad()``,
``y_pred, _ = model(x)``, ``loss = criterion(y_pred, y)``, ``loss.backward()``, ``optimizer.step()``) and
``evaluate``; after every epoch the model with the best validation loss is kept, and that model is tested at the end.

Changed, to run offline on one CPU thread: MNIST (a download) is scikit-learn's ``load_digits``, split 80/20 with
random_state=0 into a fixed 1437 training / 360 test images, values /16 into [0, 1] as ``ToTensor`` would give them,
and each 8x8 image upsampled to the 28x28 that LeNet's two 5x5 kernels and pools expect
(``F.interpolate(..., size=28, mode="bilinear", align_corners=False)``, once, before anything else); the 1437 are
split 0.9 / 0.1 (1293 train / 144 validation), so an epoch is 21 steps (upstream 844) and the 20 epochs are 420
steps; the mean and std are computed from the 1437 upsampled training images (upstream: the 60000 MNIST training
images); torchvision's transforms are written out with torch ops and applied to each batch by the DataLoader's
``collate_fn`` (each image still gets its own draw): the rotation by a uniform angle in [-5, 5] degrees about the
centre (``affine_grid`` / ``grid_sample``, nearest, zero fill, as RandomRotation's defaults), then zero padding by 2
and a random 28x28 crop, then Normalize (validation and test: Normalize only); ``SEED = 1234`` becomes
``torch.manual_seed(seed)`` (set before the split); the best model is kept with ``copy.deepcopy(model.state_dict())``
instead of ``torch.save`` to 'tut2-model.pt'; tqdm, the filter/pooling demos, plots, PCA/t-SNE and the analysis
cells are left out.  The metric is the test accuracy of the best model (the notebook's ``evaluate``: the mean of
the per-batch accuracies over the 360 test images).

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after
``optimizer = optim.Adam(model.parameters())``, ``monitor.step(loss)`` in ``train`` right after ``loss.backward()``,
before ``optimizer.step()``; ``monitor.close()`` after the epoch loop.

``CASES`` (in the shape of run.py's ``case()``, program "btlenet"): the program on seeds 1-3, and one change each
against the same seed's healthy run: lr x10 (0.01), x100 (0.1; seeds 1 and 2), /1000 (1e-6); inputs unnormalized
(the raw 0..16 pixel values, upsampled the same way: no /16, no Normalize); every Conv2d/Linear weight and bias
``normal_(std=1)``; ``optimizer.zero_grad()`` left out; softmax applied to the logits before ``CrossEntropyLoss``;
and lr x2 (2e-3, expected harmless).  Labels come from run.py's outcome rules only.
Recorded (cases-public52, 107 s for the 12 runs; 6-12 s a run): healthy 0.990, 0.991, 0.984 test accuracy on
seeds 1-3 (train loss 2.30 -> 0.11-0.14 under the augmentation, every loss finite, largest 2.31); lr x10 (0.01):
0.993: healthy; lr x100 (0.1): first losses ~63 and ~82 (largest 299 and 391), then stuck at 2.31, 0.077 (seed 1)
and 0.079 (seed 2): broken; lr /1000: the loss stays at 2.30, 0.115: broken; raw 0..16 inputs: 0.992: healthy;
init std 1: first losses ~4.6e4 (largest 5.1e4), train loss still 1.2e3 at the end, 0.800: broken; zero_grad left
out: losses up to 3.45, train loss 2.32 at the end, 0.536: broken; softmax before CrossEntropyLoss: train loss
2.30 -> 1.61, 0.880 (11 points below its control): broken; lr x2: 0.979: healthy.  Labels: 6 healthy (3 programs,
3 variants), 6 broken, 0 ambiguous.  No run had a non-finite loss.
"""

from __future__ import annotations

import copy
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
import torch.utils.data as data

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = optim.Adam(model.parameters()); "
              "monitor.step(loss) right after loss.backward() in train(), before optimizer.step()")
EPOCHS = 20
LR = 1e-3  # Adam's default
BATCH_SIZE = 64
VALID_RATIO = 0.9


def digits28():
    """(train, test) load_digits images as (N, 1, 28, 28) raw 0..16 values (bilinear upsampling) and labels."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)
    up = lambda x: F.interpolate(torch.tensor(x, dtype=torch.float32)[:, None], size=28, mode="bilinear",  # noqa: E731
                                 align_corners=False)
    return up(xtr), torch.tensor(ytr), up(xte), torch.tensor(yte)


def random_rotation(x, degrees=5.0):
    """RandomRotation(degrees, fill=(0,)) on each image of a (B, 1, 28, 28) batch: its own uniform angle, nearest,
    zero fill, about the centre."""
    a = (torch.rand(x.shape[0]) * 2 - 1) * degrees * math.pi / 180
    c, s, z = torch.cos(a), torch.sin(a), torch.zeros_like(a)
    theta = torch.stack([torch.stack([c, -s, z], 1), torch.stack([s, c, z], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def random_crop(x, size=28, padding=2):
    """RandomCrop(size, padding) on each image of a (B, 1, H, W) batch: zero padding, then its own random window."""
    x = F.pad(x, (padding, padding, padding, padding))
    ij = torch.randint(0, x.shape[-1] - size + 1, (x.shape[0], 2)).tolist()
    return torch.stack([im[:, i:i + size, j:j + size] for im, (i, j) in zip(x, ij, strict=True)])


def collate(transform):
    """A DataLoader collate_fn that stacks a batch of (image, label) and applies the transform to the images (the
    per-image torchvision transforms, done batch-wise for speed)."""
    def fn(batch):
        return transform(torch.stack([b[0] for b in batch])), torch.stack([b[1] for b in batch])
    return fn


class LeNet(nn.Module):
    def __init__(self, output_dim):
        super().__init__()

        self.conv1 = nn.Conv2d(in_channels=1,
                               out_channels=6,
                               kernel_size=5)

        self.conv2 = nn.Conv2d(in_channels=6,
                               out_channels=16,
                               kernel_size=5)

        self.fc_1 = nn.Linear(16 * 4 * 4, 120)
        self.fc_2 = nn.Linear(120, 84)
        self.fc_3 = nn.Linear(84, output_dim)

    def forward(self, x):
        # x = [batch size, 1, 28, 28]
        x = self.conv1(x)
        # x = [batch size, 6, 24, 24]
        x = F.max_pool2d(x, kernel_size=2)
        # x = [batch size, 6, 12, 12]
        x = F.relu(x)
        x = self.conv2(x)
        # x = [batch size, 16, 8, 8]
        x = F.max_pool2d(x, kernel_size=2)
        # x = [batch size, 16, 4, 4]
        x = F.relu(x)
        x = x.view(x.shape[0], -1)
        # x = [batch size, 16*4*4 = 256]
        h = x
        x = self.fc_1(x)
        # x = [batch size, 120]
        x = F.relu(x)
        x = self.fc_2(x)
        # x = batch size, 84]
        x = F.relu(x)
        x = self.fc_3(x)
        # x = [batch size, output dim]
        return x, h


def calculate_accuracy(y_pred, y):
    top_pred = y_pred.argmax(1, keepdim=True)
    correct = top_pred.eq(y.view_as(top_pred)).sum()
    acc = correct.float() / y.shape[0]
    return acc


def train_epoch(model, iterator, optimizer, criterion, monitor, losses, zero_grad=True, softmax=False):
    epoch_loss = 0
    epoch_acc = 0
    model.train()
    for (x, y) in iterator:
        if zero_grad:  # the no_zero_grad variant leaves this out
            optimizer.zero_grad()
        y_pred, _ = model(x)
        if softmax:  # the wrong_loss variant: probabilities fed to CrossEntropyLoss
            y_pred = F.softmax(y_pred, dim=-1)
        loss = criterion(y_pred, y)
        acc = calculate_accuracy(y_pred, y)
        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()
        epoch_loss += loss.item()
        epoch_acc += acc.item()
        losses.append(loss.item())
    return epoch_loss / len(iterator), epoch_acc / len(iterator)


def evaluate(model, iterator, criterion, softmax=False):
    epoch_loss = 0
    epoch_acc = 0
    model.eval()
    with torch.no_grad():
        for (x, y) in iterator:
            y_pred, _ = model(x)
            if softmax:
                y_pred = F.softmax(y_pred, dim=-1)
            loss = criterion(y_pred, y)
            acc = calculate_accuracy(y_pred, y)
            epoch_loss += loss.item()
            epoch_acc += acc.item()
    return epoch_loss / len(iterator), epoch_acc / len(iterator)


def train(seed: int = 1, lr_mult: float = 1.0, raw_inputs: bool = False, init: str = "default",
          zero_grad: bool = True, softmax: bool = False, epochs: int = EPOCHS, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    xtr, ytr, xte, yte = digits28()
    if raw_inputs:  # the unscaled_inputs variant: raw 0..16 pixels, no ToTensor scaling, no Normalize
        def normalize(x):
            return x
    else:
        xtr, xte = xtr / 16.0, xte / 16.0  # ToTensor: [0, 1]
        mean, std = xtr.mean(), xtr.std()

        def normalize(x):
            return (x - mean) / std

    def train_transforms(x):
        return normalize(random_crop(random_rotation(x, 5), 28, padding=2))

    train_data = data.TensorDataset(xtr, ytr)  # images in [0, 1] (raw: 0..16); the transforms come per batch
    n_train_examples = int(len(train_data) * VALID_RATIO)
    n_valid_examples = len(train_data) - n_train_examples
    train_data, valid_data = data.random_split(train_data, [n_train_examples, n_valid_examples])
    test_data = data.TensorDataset(xte, yte)
    train_iterator = data.DataLoader(train_data, shuffle=True, batch_size=BATCH_SIZE,
                                     collate_fn=collate(train_transforms))
    valid_iterator = data.DataLoader(valid_data, batch_size=BATCH_SIZE, collate_fn=collate(normalize))  # test_transforms
    test_iterator = data.DataLoader(test_data, batch_size=BATCH_SIZE, collate_fn=collate(normalize))

    model = LeNet(10)
    if init != "default":
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                if init == "std1":  # the init_large variant
                    nn.init.normal_(m.weight, std=1.0)
                    nn.init.normal_(m.bias, std=1.0)
                else:
                    raise ValueError(init)
    lr = LR * lr_mult
    optimizer = optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)
    criterion = nn.CrossEntropyLoss()

    losses: list[float] = []
    best_valid_loss = float('inf')
    best_state = copy.deepcopy(model.state_dict())
    for epoch in range(epochs):
        train_loss, train_acc = train_epoch(model, train_iterator, optimizer, criterion, monitor, losses, zero_grad,
                                            softmax)
        valid_loss, valid_acc = evaluate(model, valid_iterator, criterion, softmax)
        if valid_loss < best_valid_loss:
            best_valid_loss = valid_loss
            best_state = copy.deepcopy(model.state_dict())
        if verbose and (epoch + 1) % max(1, epochs // 10) == 0:
            print(f"epoch {epoch + 1} train loss {train_loss:.3f} acc {train_acc:.3f} | valid loss {valid_loss:.3f} "
                  f"acc {valid_acc:.3f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    model.load_state_dict(best_state)
    test_loss, test_acc = evaluate(model, test_iterator, criterion, softmax)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(test_acc), "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(test_loss=float(test_loss), best_valid_loss=float(best_valid_loss), lr=lr,
                          train_loss=float(np.mean(losses[-21:])), first_loss=float(np.mean(losses[:5])),
                          max_loss=float(np.nanmax(losses)), finite_losses=bool(np.isfinite(losses).all()),
                          steps=len(losses), epochs=epochs, lr_mult=lr_mult, raw_inputs=raw_inputs, init=init,
                          zero_grad=zero_grad, softmax=softmax, test_images=len(test_data)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="btlenet", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"LeNet (conv 6/16 5x5, max_pool 2, ReLU, fc 120/84/10, default init) on normalized 28x28-upsampled digits with "
      f"RandomRotation(5)/RandomCrop(28, padding=2); CrossEntropyLoss; optim.Adam default lr {LR:g}; "
      f"batch {BATCH_SIZE}, {EPOCHS} epochs of 21 steps, best-validation-loss model tested")
CASES: list[dict] = (
    [_case(f"btlenet_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"btlenet_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("btlenet_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case("btlenet_raw_inputs_s1", "unscaled_inputs", 1, {"raw_inputs": True},
             f"{_P}: inputs unnormalized (the digits' raw 0..16 pixel values, no ToTensor scaling, no Normalize)")]
    + [_case("btlenet_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_P}: every Conv2d/Linear weight and bias normal_(std=1)")]
    + [_case("btlenet_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("btlenet_softmax_ce_s1", "wrong_loss", 1, {"softmax": True},
             f"{_P}: softmax over the logits before CrossEntropyLoss")]
    + [_case("btlenet_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: lr x2 ({LR * 2:g})")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
