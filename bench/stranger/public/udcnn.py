"""Udacity deep-learning-v2-pytorch, convolutional-neural-networks/cifar-cnn (the CIFAR-10 CNN solution), on digits.

Adapted from https://github.com/udacity/deep-learning-v2-pytorch (commit c9404fc86181fc3f0906b368697268257f348535,
"convolutional-neural-networks/cifar-cnn/cifar10_cnn_solution.ipynb", last changed in
97da01b535deac01223a76aa434d7d18c9e19e4b; MIT License, Copyright (c) 2018 Udacity, see LICENSE-udcnn).  Kept as in the
notebook: ``Net`` (``conv1`` Conv2d(3, 16, 3, padding=1), ``conv2`` Conv2d(16, 32, 3, padding=1), ``conv3`` Conv2d(32,
64, 3, padding=1), each ``self.pool(F.relu(...))`` with ``nn.MaxPool2d(2, 2)``; ``x.view(-1, 64 * 4 * 4)``,
``nn.Dropout(0.25)``, ``fc1`` Linear(1024, 500) with ReLU, dropout, ``fc2`` Linear(500, 10) giving the logits),
PyTorch's default initialization (the notebook sets none), ``nn.CrossEntropyLoss()``, ``optim.SGD`` (no momentum; lr
changed, see below), batch 20, ``valid_size = 0.2`` of the training set held out by ``np.random.shuffle(indices)`` and
two ``SubsetRandomSampler``s, the training augmentation (``RandomHorizontalFlip()``, ``RandomRotation(10)``) applied to
the training and the validation batches alike (upstream's valid_loader reads ``train_data``, which carries
``train_transform``), ``Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))`` after ``ToTensor``, and the loop: per epoch
``model.train()``, per batch ``optimizer.zero_grad()``, ``output = model(data)``, ``loss = criterion(output, target)``,
``loss.backward()``, ``optimizer.step()``; then ``model.eval()`` and the validation loss; the model is saved whenever
``valid_loss <= valid_loss_min`` (kept, as a state_dict copy in memory instead of ``model_cifar.pt``) and loaded back
before the test pass (``model.eval()``, ``torch.max(output, 1)``, per-class counts over ``range(batch_size)``).  The
metric is the notebook's "Test Accuracy (Overall)" (``sum(class_correct) / sum(class_total)``) of the restored
best-validation model.  If no epoch ever saved (every validation loss NaN) upstream would fail at ``torch.load``; here
the final model is tested instead.

Changed to run offline on one CPU thread: CIFAR-10 (a download, no torchvision here) is scikit-learn's ``load_digits``:
the 8x8 images divided by 16 to [0, 1] (what ``ToTensor`` does to 0..255 pixels), bilinearly upsampled to 32x32 and
repeated to 3 channels so ``Net`` is unchanged; 360 test images held out (``train_test_split``, random_state 0), the
other 1437 split 1150 / 287 into train and validation as upstream does. The two transforms are done on each batch as
tensors: a flip of each image with probability 0.5, a rotation of each by an angle uniform in [-10, 10] degrees (nearest
interpolation, fill 0, as torchvision's defaults), before the Normalize.  Loaders are ``DataLoader``s over
``TensorDataset``s with the same samplers and batch size.  12 epochs (58 batches each, 696 steps) instead of 30 over
40000 CIFAR images (60000 steps), so a run takes ~10-25 s; with so few steps upstream's SGD lr 0.01 is still on the
initial plateau at the end (seed 1: training loss 2.30 -> 2.09, test accuracy 0.43), so the rate is 0.05 (``LR``; 0.942
after 10 epochs), and the lr variants multiply that (lr x10 is 50x upstream's rate).  The validation pass runs under
``torch.no_grad()`` (added; same values).  Seeds added (``random``, ``np.random``, ``torch.manual_seed``; the notebook
sets none); the printing is kept under ``verbose``; CUDA moves and the plotting cells are left out.

The watch: ``gradmedic.watch(model, optimizer, every=10)`` right after the criterion and optimizer are built,
``monitor.step(loss)`` after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the last epoch.

``CASES`` (program "udcnn"): the program on seeds 1-3, and one change each against the same seed's healthy run: SGD lr
x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) on every Conv2d and Linear weight; raw 0..255 pixel values (no
``ToTensor`` scaling, no Normalize); ``optimizer.zero_grad()`` left out; ``F.softmax`` on the output before
``nn.CrossEntropyLoss`` (seeds 1 and 2).  The notebook does not clip, so there is no clipping case.  Labels come from
run.py's outcome rules only.
Recorded (cases-public20; 13 cases in 235 s, 9-25 s a run on a shared 2-core machine): healthy test accuracy 0.947,
0.950, 0.969 on seeds 1-3 (training loss 2.30 at the start, 0.13-0.22 at the end, largest 2.32-2.44; best validation
loss at the last epoch): healthy. SGD lr x10 (0.5), x100 (5; seeds 1 and 2) and x1000 (50) all reach NaN losses (every
validation loss NaN, so no epoch is saved and the final NaN model is tested): 0.075 each (the share of the class
predicted by argmax over NaN), broken. lr /1000 (5e-05): loss stays at 2.30, 0.133, broken. N(0, 1) weights: NaN within
the first 5 steps, 0.075, broken. Raw 0..255 pixels: first losses ~7e4, then NaN, 0.075, broken. No zero_grad: the
epoch-1 model (validation loss 1.31) is restored after the losses went to NaN, 0.539, broken. Softmax before
CrossEntropyLoss: the loss stays at 2.30 (2.298-2.307) for all 696 steps, 0.122 and 0.153 on seeds 1 and 2, broken.
"""

from __future__ import annotations

import copy
import math
import random
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.utils.data.sampler import SubsetRandomSampler

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("monitor.step(loss) after loss.backward() (nn.CrossEntropyLoss on the logits, batch 20), before "
              "optimizer.step() (optimizer.zero_grad() comes before the forward, the notebook's order)")

EPOCHS = 12
LR = 0.05  # upstream 0.01 (see the docstring)
batch_size = 20
valid_size = 0.2


# define the CNN architecture
class Net(nn.Module):
    def __init__(self, softmax_out=False):
        super().__init__()
        # convolutional layer (sees 32x32x3 image tensor)
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        # convolutional layer (sees 16x16x16 tensor)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        # convolutional layer (sees 8x8x32 tensor)
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1)
        # max pooling layer
        self.pool = nn.MaxPool2d(2, 2)
        # linear layer (64 * 4 * 4 -> 500)
        self.fc1 = nn.Linear(64 * 4 * 4, 500)
        # linear layer (500 -> 10)
        self.fc2 = nn.Linear(500, 10)
        # dropout layer (p=0.25)
        self.dropout = nn.Dropout(0.25)
        self.softmax_out = softmax_out

    def forward(self, x):
        # add sequence of convolutional and max pooling layers
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = self.pool(F.relu(self.conv3(x)))
        # flatten image input
        x = x.view(-1, 64 * 4 * 4)
        # add dropout layer
        x = self.dropout(x)
        # add 1st hidden layer, with relu activation function
        x = F.relu(self.fc1(x))
        # add dropout layer
        x = self.dropout(x)
        # add 2nd hidden layer, with relu activation function
        x = self.fc2(x)
        if self.softmax_out:  # the bug: probabilities fed to CrossEntropyLoss, which applies log_softmax itself
            x = F.softmax(x, dim=1)
        return x


def digits32():
    """(train, test) images as 3x32x32 tensors in [0, 1] (what ToTensor gives) and their labels."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)

    def up(x):
        x = torch.tensor(x, dtype=torch.float32)[:, None] / 16.0  # ToTensor: [0, 1]
        x = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False).clamp(0, 1)
        return x.repeat(1, 3, 1, 1)

    return up(xtr), torch.tensor(ytr), up(xte), torch.tensor(yte)


def augment(x):
    """RandomHorizontalFlip() and RandomRotation(10) (nearest, fill 0) on each image of a batch."""
    n = x.shape[0]
    flip = torch.rand(n) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    a = (torch.rand(n) * 20.0 - 10.0) * math.pi / 180.0
    c, s = torch.cos(a), torch.sin(a)
    theta = torch.stack([torch.stack([c, -s, torch.zeros(n)], 1), torch.stack([s, c, torch.zeros(n)], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, raw_pixels: bool = False,
          softmax_out: bool = False, zero_grad: bool = True, epochs: int = EPOCHS, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)

    xtr, ytr, xte, yte = digits32()
    if raw_pixels:  # the bug: raw 0..255 pixel values, no ToTensor scaling and no Normalize
        xtr, xte = xtr * 255.0, xte * 255.0

        def transform(x):
            return x
    else:
        def transform(x):  # transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
            return (x - 0.5) / 0.5
    train_data = torch.utils.data.TensorDataset(xtr, ytr)
    test_data = torch.utils.data.TensorDataset(xte, yte)

    # obtain training indices that will be used for validation
    num_train = len(train_data)
    indices = list(range(num_train))
    np.random.shuffle(indices)
    split = int(np.floor(valid_size * num_train))
    train_idx, valid_idx = indices[split:], indices[:split]
    train_sampler = SubsetRandomSampler(train_idx)
    valid_sampler = SubsetRandomSampler(valid_idx)
    train_loader = torch.utils.data.DataLoader(train_data, batch_size=batch_size, sampler=train_sampler)
    valid_loader = torch.utils.data.DataLoader(train_data, batch_size=batch_size, sampler=valid_sampler)
    test_loader = torch.utils.data.DataLoader(test_data, batch_size=batch_size)

    model = Net(softmax_out=softmax_out)
    if init_std is not None:  # the bug: normal_(0, std) on every Conv2d and Linear weight instead of the default
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, init_std)
    lr = LR * lr_mult
    # specify loss function (categorical cross-entropy)
    criterion = nn.CrossEntropyLoss()
    # specify optimizer
    optimizer = optim.SGD(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)

    t0 = time.time()
    losses: list[float] = []
    valid_losses: list[float] = []
    valid_loss_min = np.inf  # track change in validation loss
    best_state, best_epoch = None, None
    for epoch in range(1, epochs + 1):
        train_loss = 0.0
        valid_loss = 0.0
        # train the model
        model.train()
        for data, target in train_loader:
            data = transform(augment(data))
            if zero_grad:  # the bug when False: the gradients accumulate across steps
                optimizer.zero_grad()
            output = model(data)
            loss = criterion(output, target)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            train_loss += loss.item() * data.size(0)
            losses.append(loss.item())
        # validate the model
        model.eval()
        with torch.no_grad():  # (added: the notebook builds graphs here it never uses; same values)
            for data, target in valid_loader:
                data = transform(augment(data))
                output = model(data)
                loss = criterion(output, target)
                valid_loss += loss.item() * data.size(0)
        train_loss = train_loss / len(train_loader.sampler)
        valid_loss = valid_loss / len(valid_loader.sampler)
        valid_losses.append(valid_loss)
        if verbose:
            print(f"Epoch: {epoch} \tTraining Loss: {train_loss:.6f} \tValidation Loss: {valid_loss:.6f} "
                  f"({time.time() - t0:.1f}s)", flush=True)
        # save model if validation loss has decreased
        if valid_loss <= valid_loss_min:
            best_state, best_epoch = copy.deepcopy(model.state_dict()), epoch
            valid_loss_min = valid_loss
    monitor.close()

    if best_state is not None:
        model.load_state_dict(best_state)
    # test
    test_loss = 0.0
    class_correct = list(0. for i in range(10))
    class_total = list(0. for i in range(10))
    model.eval()
    with torch.no_grad():
        for data, target in test_loader:
            data = transform(data)
            output = model(data)
            loss = criterion(output, target)
            test_loss += loss.item() * data.size(0)
            _, pred = torch.max(output, 1)
            correct = np.squeeze(pred.eq(target.data.view_as(pred)).numpy())
            for i in range(batch_size):
                label = target.data[i]
                class_correct[label] += correct[i].item()
                class_total[label] += 1
    test_loss = test_loss / len(test_loader.dataset)
    value = float(np.sum(class_correct) / np.sum(class_total))
    if verbose:
        print(f"Test Loss: {test_loss:.6f}  Test Accuracy (Overall): {value:.3f}  (best epoch {best_epoch})")
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": value, "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"test_loss": test_loss, "valid_loss_min": float(valid_loss_min), "best_epoch": best_epoch,
                      "valid_loss_last": valid_losses[-1],
                      "train_loss": float(np.mean(losses[-20:])), "train_loss_start": float(np.mean(losses[:5])),
                      "steps": len(losses), "lr": lr, "loss_max": float(np.max(losses)),
                      "loss_min": float(np.min(losses))},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="udcnn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_H = ("unchanged (Net conv 16-32-64 + maxpool, dropout 0.25, fc 1024-500-10, default init, CrossEntropyLoss, "
      f"SGD lr {LR} (upstream 0.01), batch 20, flip + rotation(10) augmentation, Normalize((0.5,)*3, (0.5,)*3), "
      f"{EPOCHS} epochs = {EPOCHS * 58} steps, best-validation-loss model tested)")
CASES: list[dict] = (
    [_case(f"udcnn_healthy_s{s}", "healthy", s, {}, _H, False) for s in (1, 2, 3)]
    + [_case(f"udcnn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"SGD lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("udcnn_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "SGD lr /1000 (5e-05)")]
    + [_case("udcnn_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Conv2d and Linear weight instead of PyTorch's default "
             "(kaiming_uniform_, a=sqrt(5)); biases kept")]
    + [_case("udcnn_raw_pixels_s1", "unscaled_inputs", 1, {"raw_pixels": True},
             "raw 0..255 pixel values: no ToTensor scaling to [0, 1] and no Normalize((0.5,)*3, (0.5,)*3)")]
    + [_case("udcnn_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             "optimizer.zero_grad() left out of the training loop: the gradients accumulate")]
    + [_case(f"udcnn_softmax_ce_s{s}", "wrong_loss", s, {"softmax_out": True},
             "F.softmax on the output before nn.CrossEntropyLoss (which applies log_softmax itself)") for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = float(v) if k in ("lr_mult", "init_std") else (int(v) if k in ("epochs", "seed") else v == "1")
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
