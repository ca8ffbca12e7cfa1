"""Ben Trevett's pytorch-image-classification tutorial 1 (MLP 784-250-100-10, Adam) on digits, watched by gradmedic.

Adapted from https://github.com/bentrevett/pytorch-image-classification (commit
33c9cfdb9097bc65b5800c1996f199f0ba520888, 1_mlp.ipynb, last changed in c8f8d3c08d67f1905b65374c98300466af3eedbf; MIT
License, Copyright (c) 2018 Ben Trevett, see LICENSE-bmlp), the notebook's code cells.  Kept as in the notebook:
``MLP(INPUT_DIM, OUTPUT_DIM)`` (``input_fc`` Linear(784, 250), ``hidden_fc`` Linear(250, 100), ``output_fc``
Linear(100, 10), ``F.relu`` after the first two; ``forward`` flattens with ``x.view(batch_size, -1)`` and returns
``y_pred, h_2``), PyTorch's default initialization (the notebook sets none), ``optim.Adam(model.parameters())`` at
its default lr 1e-3, ``nn.CrossEntropyLoss()``, BATCH_SIZE = 64 with a shuffled training iterator and unshuffled
validation and test iterators, the training transforms ``RandomRotation(5, fill=(0,))`` and ``RandomCrop(28,
padding=2)`` before ``ToTensor()`` and ``Normalize(mean, std)``, with the mean and std computed over the training
set's pixels in [0, 1] (``train_data.data.float().mean() / 255`` and ``.std() / 255``), the test transforms
(``ToTensor()`` and the same ``Normalize``), the 90/10 train/validation ``data.random_split`` with the validation
subset given the test transforms, ``calculate_accuracy``, the notebook's ``train()`` (``model.train()``,
``optimizer.zero_grad()``, ``y_pred, _ = model(x)``, ``loss = criterion(y_pred, y)``, ``loss.backward()``,
``optimizer.step()``) and ``evaluate()`` (``model.eval()``, ``torch.no_grad()``, mean batch loss and accuracy), the
epoch loop keeping the state with the best validation loss, and the test accuracy of that best state (the
notebook's ``torch.save``/``load_state_dict`` of 'tut1-model.pt', kept in memory here) as the metric.

Changed to run offline on one CPU thread: MNIST is scikit-learn's ``load_digits`` (no download, no torchvision):
the 8x8 images divided by 16 to [0, 1] (as ``ToTensor`` does to 0..255 pixels), bilinearly upsampled to 1x28x28 so
the MLP is unchanged, split 1437 / 360 into train and test (``train_test_split``, random_state 0), the 1437 then
split 1293 / 144 into train and validation as in the notebook.  The mean and std are computed over the 1437
upsampled training images.  The two augmentations are written in torch (no PIL): a rotation by an angle uniform in
[-5, 5] degrees about the centre with nearest-neighbour sampling and zero fill (``affine_grid``/``grid_sample``, as
RandomRotation's defaults), then a 28x28 crop at a random offset of the image zero-padded by 2, per image in the
Dataset's ``__getitem__``.  20 epochs (21 batches each, 420 steps) instead of 10 over MNIST's 54000 training images
(8440 steps), so a run takes ~10-15 s.  The seed is the case's seed instead of 1234; tqdm, the printing, the
plots, the confusion matrix, PCA/t-SNE and weight pictures are left out.

The variant with depth (name prefix ``bmlpdeep``, program "bmlp"): the same MLP with six hidden layers of 100
(``input_fc`` 784->250, ``hidden_fcs`` 250->100 and five 100->100, ``output_fc`` 100->10), everything else as
above, recorded healthy with ``F.relu`` (its own control) and with ``torch.sigmoid`` in place of every ``F.relu``.

The watch: ``gradmedic.watch(model, optimizer, every=10)`` right after the optimizer and criterion are built,
``monitor.step(loss)`` after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the last
epoch.

``CASES`` (program "bmlp"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) on every Linear weight; no ``Normalize`` and raw 0..255
pixel values (no ``ToTensor`` scaling); and the deeper MLP healthy with ReLU (seeds 1 and 2) against the same with
sigmoid (seeds 1 and 2).  The notebook does not clip, so there is no clipping case.  Labels come from run.py's
outcome rules only.
Recorded (cases-public16; 14 cases in 143 s, 7-13 s a run on a shared 2-core machine): healthy test accuracy 0.993,
0.984, 0.992 on seeds 1-3 (final training loss 0.08-0.10, largest loss 2.30-2.32); lr x10 (0.01) 0.978 (largest
loss 3.3): healthy; lr x100 (0.1) ends near chance on both seeds (0.157 and 0.158, training loss 2.28-2.29 after
spikes to 380-540), x1000 (1.0) 0.100 (training loss 327, peak 4e5) and /1000 (1e-6) 0.204 (loss still 2.25): all
broken; N(0, 1) weights start at losses in the thousands (peak 2589) and end at 0.912 (training loss 57): ambiguous
(a good accuracy, but its largest loss is far above 2x the control's); raw 0..255 pixels without Normalize end at
0.957 (training loss 0.20, peak 23.7): ambiguous (within the good-outcome bar but 3.6 points below the control and
its largest loss above 2x the control's); the deeper ReLU MLP 0.983 and 0.968 (training loss 0.16 and 0.20):
healthy; the deeper sigmoid MLP ends at 0.258 and 0.212 (training loss 1.70 and 1.73 after the 420 steps): broken
on both seeds.
"""

from __future__ import annotations

import copy
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
import torch.utils.data as data

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("monitor.step(loss) after loss.backward() (nn.CrossEntropyLoss on the logits, batch 64), before "
              "optimizer.step() (optimizer.zero_grad() comes before the forward, the notebook's order)")

BATCH_SIZE = 64
VALID_RATIO = 0.9
EPOCHS = 20  # the notebook: 10 over MNIST (see the docstring)
INPUT_DIM = 28 * 28
OUTPUT_DIM = 10


class MLP(nn.Module):
    def __init__(self, input_dim, output_dim):
        super().__init__()

        self.input_fc = nn.Linear(input_dim, 250)
        self.hidden_fc = nn.Linear(250, 100)
        self.output_fc = nn.Linear(100, output_dim)

    def forward(self, x):

        # x = [batch size, height, width]

        batch_size = x.shape[0]

        x = x.view(batch_size, -1)

        # x = [batch size, height * width]

        h_1 = F.relu(self.input_fc(x))

        # h_1 = [batch size, 250]

        h_2 = F.relu(self.hidden_fc(h_1))

        # h_2 = [batch size, 100]

        y_pred = self.output_fc(h_2)

        # y_pred = [batch size, output dim]

        return y_pred, h_2


class DeepMLP(nn.Module):
    """The benchmark's deeper version of MLP: six hidden layers of 100, ``act`` F.relu or torch.sigmoid."""

    def __init__(self, input_dim, output_dim, n_hidden=6, act=F.relu):
        super().__init__()

        self.act = act
        self.input_fc = nn.Linear(input_dim, 250)
        self.hidden_fcs = nn.ModuleList([nn.Linear(250 if i == 0 else 100, 100) for i in range(n_hidden)])
        self.output_fc = nn.Linear(100, output_dim)

    def forward(self, x):
        batch_size = x.shape[0]
        x = x.view(batch_size, -1)
        h = self.act(self.input_fc(x))
        for fc in self.hidden_fcs:
            h = self.act(fc(h))
        y_pred = self.output_fc(h)
        return y_pred, h


def rotate_crop(x: torch.Tensor) -> torch.Tensor:
    """RandomRotation(5, fill=(0,)) then RandomCrop(28, padding=2) on one 1x28x28 image (in torch, not PIL)."""
    angle = float(torch.empty(1).uniform_(-5.0, 5.0)) * np.pi / 180
    c, s = np.cos(angle), np.sin(angle)
    theta = torch.tensor([[[c, -s, 0.0], [s, c, 0.0]]], dtype=torch.float32)
    grid = F.affine_grid(theta, [1, *x.shape], align_corners=False)
    x = F.grid_sample(x[None], grid, mode="nearest", padding_mode="zeros", align_corners=False)[0]
    x = F.pad(x, (2, 2, 2, 2))
    i, j = (int(v) for v in torch.randint(0, 5, (2,)))
    return x[:, i:i + 28, j:j + 28]


class Digits(data.Dataset):
    """Images in [0, 1] (or 0..255) with a transform applied per item, as torchvision's datasets do."""

    def __init__(self, images, targets, transform):
        self.images, self.targets, self.transform = images, targets, transform

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        return self.transform(self.images[i]), int(self.targets[i])


def digits28():
    """(train, test) images as 1x28x28 tensors in [0, 1] and their labels."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)

    def up(x):
        x = torch.tensor(x, dtype=torch.float32)[:, None] / 16.0  # ToTensor: [0, 1]
        return F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False).clamp(0, 1)

    return up(xtr), torch.tensor(ytr), up(xte), torch.tensor(yte)


def calculate_accuracy(y_pred, y):
    top_pred = y_pred.argmax(1, keepdim=True)
    correct = top_pred.eq(y.view_as(top_pred)).sum()
    acc = correct.float() / y.shape[0]
    return acc


def train_epoch(model, iterator, optimizer, criterion, device, monitor, losses):

    epoch_loss = 0
    epoch_acc = 0

    model.train()

    for (x, y) in iterator:

        x = x.to(device)
        y = y.to(device)

        optimizer.zero_grad()

        y_pred, _ = model(x)

        loss = criterion(y_pred, y)

        acc = calculate_accuracy(y_pred, y)

        loss.backward()
        monitor.step(loss)  # gradmedic

        optimizer.step()

        epoch_loss += loss.item()
        epoch_acc += acc.item()
        losses.append(loss.item())

    return epoch_loss / len(iterator), epoch_acc / len(iterator)


def evaluate(model, iterator, criterion, device):

    epoch_loss = 0
    epoch_acc = 0

    model.eval()

    with torch.no_grad():

        for (x, y) in iterator:

            x = x.to(device)
            y = y.to(device)

            y_pred, _ = model(x)

            loss = criterion(y_pred, y)

            acc = calculate_accuracy(y_pred, y)

            epoch_loss += loss.item()
            epoch_acc += acc.item()

    return epoch_loss / len(iterator), epoch_acc / len(iterator)


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, raw_pixels: bool = False,
          deep: bool = False, sigmoid: bool = False, epochs: int = EPOCHS, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    device = torch.device("cpu")

    xtr, ytr, xte, yte = digits28()
    mean = xtr.mean()  # the notebook: train_data.data.float().mean() / 255
    std = xtr.std()
    if raw_pixels:  # the bug: raw 0..255 pixel values (no ToTensor scaling) and no Normalize
        xtr, xte = xtr * 255.0, xte * 255.0

        def normalize(x):
            return x
    else:
        def normalize(x):
            return (x - mean) / std

    def train_transforms(x):
        return normalize(rotate_crop(x))

    def test_transforms(x):
        return normalize(x)

    train_data = Digits(xtr, ytr, train_transforms)
    test_data = Digits(xte, yte, test_transforms)

    n_train_examples = int(len(train_data) * VALID_RATIO)
    n_valid_examples = len(train_data) - n_train_examples
    train_data, valid_data = data.random_split(train_data, [n_train_examples, n_valid_examples])
    valid_data = copy.deepcopy(valid_data)
    valid_data.dataset.transform = test_transforms

    train_iterator = data.DataLoader(train_data, shuffle=True, batch_size=BATCH_SIZE)
    valid_iterator = data.DataLoader(valid_data, batch_size=BATCH_SIZE)
    test_iterator = data.DataLoader(test_data, batch_size=BATCH_SIZE)

    if deep:
        model = DeepMLP(INPUT_DIM, OUTPUT_DIM, act=torch.sigmoid if sigmoid else F.relu)
    else:
        model = MLP(INPUT_DIM, OUTPUT_DIM)
    if init_std is not None:  # the bug: normal_(0, std) on every Linear weight instead of the default init
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, init_std)
    lr = 1e-3 * lr_mult
    optimizer = optim.Adam(model.parameters()) if lr_mult == 1.0 else optim.Adam(model.parameters(), lr=lr)
    criterion = nn.CrossEntropyLoss()
    model = model.to(device)
    criterion = criterion.to(device)
    monitor = gradmedic.watch(model, optimizer, every=every)
    losses: list[float] = []

    best_valid_loss = float("inf")
    best_state, best_epoch = copy.deepcopy(model.state_dict()), 0
    train_loss = train_acc = valid_loss = valid_acc = float("nan")
    t0 = time.time()
    for epoch in range(epochs):
        train_loss, train_acc = train_epoch(model, train_iterator, optimizer, criterion, device, monitor, losses)
        valid_loss, valid_acc = evaluate(model, valid_iterator, criterion, device)

        if valid_loss < best_valid_loss:
            best_valid_loss = valid_loss
            best_state, best_epoch = copy.deepcopy(model.state_dict()), epoch + 1  # the notebook: torch.save

        if verbose and (epoch + 1) % 5 == 0:
            print(f"Epoch: {epoch + 1:02} | Train Loss: {train_loss:.3f} | Train Acc: {train_acc * 100:.2f}% | "
                  f"Val. Loss: {valid_loss:.3f} | Val. Acc: {valid_acc * 100:.2f}% ({time.time() - t0:.1f}s)",
                  flush=True)

    model.load_state_dict(best_state)
    test_loss, test_acc = evaluate(model, test_iterator, criterion, device)
    monitor.close()
    if verbose:
        print(f"Test Loss: {test_loss:.3f} | Test Acc: {test_acc * 100:.2f}% (best epoch {best_epoch}) "
              f"steps {len(losses)} {time.time() - t0:.1f}s")
    # the notebook's evaluate() averages the batch accuracies (the last test batch has 40 of 360 images)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(test_acc), "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"test_loss": test_loss, "best_epoch": best_epoch, "best_valid_loss": best_valid_loss,
                      "final_valid_acc": valid_acc, "final_train_acc": train_acc,
                      "train_loss": float(np.mean(losses[-20:])), "steps": len(losses), "lr": lr,
                      "loss_max": float(np.max(losses))},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="bmlp", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_H = ("unchanged (MLP 784-250-100-10 with F.relu, default init, CrossEntropyLoss, Adam default lr 1e-3, batch 64 "
      f"shuffled, {EPOCHS} epochs = {EPOCHS * 21} steps, rotation/crop augmentation, inputs normalized by the "
      "training set's mean and std, the best-validation-loss state tested)")
_HD = ("the deeper MLP (784-250, six hidden Linear layers of 100, 100-10) with F.relu, otherwise unchanged (default "
       f"init, CrossEntropyLoss, Adam 1e-3, batch 64, {EPOCHS} epochs, normalized inputs)")
CASES: list[dict] = (
    [_case(f"bmlp_healthy_s{s}", "healthy", s, {}, _H, False) for s in (1, 2, 3)]
    + [_case(f"bmlp_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("bmlp_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (1e-06)")]
    + [_case("bmlp_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Linear weight instead of PyTorch's default (kaiming_uniform_, "
             "a=sqrt(5)); biases kept")]
    + [_case("bmlp_raw_pixels_s1", "unscaled_inputs", 1, {"raw_pixels": True},
             "raw 0..255 pixel values: no ToTensor scaling to [0, 1] and no Normalize(mean, std)")]
    + [_case(f"bmlpdeep_healthy_s{s}", "healthy", s, {"deep": True}, _HD, False) for s in (1, 2)]
    + [_case(f"bmlpdeep_sigmoid_s{s}", "saturating_depth", s, {"deep": True, "sigmoid": True},
             "the deeper MLP (six hidden layers of 100) with torch.sigmoid in place of every F.relu (seven of them), "
             "against the same deeper MLP with F.relu") for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = float(v) if k in ("lr_mult", "init_std") else (int(v) if k in ("epochs", "seed") else v == "1")
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
