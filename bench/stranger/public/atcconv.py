"""Alfredo Canziani's NYU Deep Learning course (Atcold/NYU-DLSP20): a small convnet on digits, watched by gradmedic.

Adapted from https://github.com/Atcold/NYU-DLSP20 (CC BY-NC-SA 4.0, see LICENSE-atcconv), commit
3049c83260ba05700e2ab9b7ed13cdbe5ddba0fd: notebook 06-convnet.ipynb (``FC2Layer`` and ``CNN`` as written, the
``train`` / ``test`` functions with their ``perm`` argument, ``optim.SGD(model.parameters(), lr=0.01,
momentum=0.5)``, ``n_features = 6`` for the CNN, ``n_hidden = 8`` for the FC2Layer).  The CNN is the main program.

Kept as upstream: ``CNN`` (``Conv2d(1, 6, 5)``, ReLU, ``max_pool2d(2)``, ``Conv2d(6, 6, 5)``, ReLU, ``max_pool2d(2)``,
``view(-1, n_feature*4*4)``, ``Linear(96, 50)``, ReLU, ``Linear(50, 10)``, ``log_softmax``) and ``FC2Layer``
(784-8-8-10 with ReLU and ``LogSoftmax``), PyTorch's default init; ``F.nll_loss`` on the log-probabilities;
per batch ``optimizer.zero_grad()``, ``output = model(data)``, ``loss.backward()``, ``optimizer.step()``; the pixel
permutation (``data.view(-1, 28*28)[:, perm].view(-1, 1, 28, 28)``, identity unless permuted); batch 64, shuffled;
SGD lr 0.01, momentum 0.5; inputs scaled to [0, 1] and normalized as ``ToTensor`` + ``Normalize`` do.

Changed, to run offline on one CPU thread: MNIST is scikit-learn's ``load_digits`` (1797 8x8 images, 0..16),
split 80/20 with random_state=0 (1437 training / 360 test images).  To keep the notebook's kernels and its
``n_feature*4*4`` flatten unchanged, every 8x8 image is resized to 28x28 with ``F.interpolate(mode="bilinear",
align_corners=False)`` (28 -> conv 24 -> pool 12 -> conv 8 -> pool 4, as for MNIST; the FC2Layer gets the same 784
inputs); ``ToTensor`` is /16 and ``Normalize((0.1307,), (0.3081,))`` uses the digits' own training mean and std
instead of MNIST's constants.  30 epochs of 23 steps (690 steps) instead of the notebook's single MNIST epoch of 938
steps (a single pass over 1437 images does not train); the whole test set in one batch instead of batches of 1000;
the prints, plots and ``accuracy_list`` left out; ``torch.manual_seed(seed)`` before the data order, the
permutation and the model (the notebook does not seed); CPU only.  The metric is the test accuracy after training.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after
``optimizer = optim.SGD(...)``, ``monitor.step(loss)`` right after ``loss.backward()`` in ``train``, before
``optimizer.step()``; ``monitor.close()`` after the epochs.

``CASES`` (program "atcconv"): the CNN on seeds 1-3, and one change each against the same seed's healthy run:
lr x10 (0.1), x100 (1.0; seeds 1 and 2), /1000; inputs unscaled (the raw 0..16 values, no /16 nor Normalize); every
Conv2d and Linear weight and bias ``normal_(std=1)``; ``optimizer.zero_grad()`` left out; the notebook's own
scrambled-pixel experiment (one fixed ``torch.randperm(784)`` on every train and test image; cause "healthy", no
cause of causes.py names it); the notebook's ``FC2Layer`` (n_hidden 8) in place of the CNN (cause "healthy"); lr
x2 (expected harmless).  Labels come from run.py's outcome rules only.
Recorded (cases-public69, 15-25 s a run on the shared machine, two recordings running side by side; the FC2Layer
4 s): healthy 0.928, 0.922, 0.942 test accuracy on seeds 1-3 (train loss 2.31 -> 0.058, 2.31 -> 0.063, 2.30 ->
0.120; every loss finite, largest 2.32); lr x10 (0.1): train loss 0.0004, 0.978: healthy; lr x100 (1.0): losses up to
3.8e11 (seed 1) and 14.5 (seed 2), then stuck at 2.31, 0.108 / 0.075: broken; lr /1000: the loss stays at 2.31,
0.108: broken; raw 0..16 inputs: train loss 0.005, 0.975: healthy (the change did no harm here); init std 1: first
losses ~1.3e3 (largest 3.7e3), then 2.30, 0.081: broken; zero_grad left out: the loss climbs to 7.8 and ends at 3.07,
0.100: broken; scrambled pixels: train loss 0.149, 0.950: healthy; FC2Layer: train loss 0.28, 0.914: healthy; lr x2:
0.956: healthy.  Labels: 8 healthy (3 programs, 5 variants), 5 broken, 0 ambiguous; every loss finite.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = optim.SGD(model.parameters(), lr=0.01, "
              "momentum=0.5); monitor.step(loss) right after loss.backward() in train(), before optimizer.step()")
LR = 0.01
EPOCHS = 30


def digits28():
    """(train, test) load_digits images resized 8x8 -> 28x28 (bilinear), /16 into [0, 1], a fixed 1437/360 split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.data, d.target, test_size=0.2, random_state=0)

    def f(x):
        x = torch.tensor(x, dtype=torch.float32).view(-1, 1, 8, 8)
        return F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False)  # 0..16, 28x28

    return f(xtr), torch.tensor(ytr), f(xte), torch.tensor(yte)


# ---- 06-convnet.ipynb -----------------------------------------------------------------------------------------------
class FC2Layer(nn.Module):
    def __init__(self, input_size, n_hidden, output_size):
        super(FC2Layer, self).__init__()  # noqa: UP008
        self.input_size = input_size
        self.network = nn.Sequential(
            nn.Linear(input_size, n_hidden),
            nn.ReLU(),
            nn.Linear(n_hidden, n_hidden),
            nn.ReLU(),
            nn.Linear(n_hidden, output_size),
            nn.LogSoftmax(dim=1)
        )

    def forward(self, x):
        x = x.view(-1, self.input_size)
        return self.network(x)


class CNN(nn.Module):
    def __init__(self, input_size, n_feature, output_size):
        super(CNN, self).__init__()  # noqa: UP008
        self.n_feature = n_feature
        self.conv1 = nn.Conv2d(in_channels=1, out_channels=n_feature, kernel_size=5)
        self.conv2 = nn.Conv2d(n_feature, n_feature, kernel_size=5)
        self.fc1 = nn.Linear(n_feature*4*4, 50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x, verbose=False):
        x = self.conv1(x)
        x = F.relu(x)
        x = F.max_pool2d(x, kernel_size=2)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, kernel_size=2)
        x = x.view(-1, self.n_feature*4*4)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.fc2(x)
        x = F.log_softmax(x, dim=1)
        return x


def train(seed: int = 1, lr_mult: float = 1.0, model_kind: str = "cnn", permute: bool = False,
          raw_inputs: bool = False, init: str = "default", zero_grad: bool = True, n_epochs: int = EPOCHS,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    input_size = 28*28   # images are 28x28 pixels
    output_size = 10      # there are 10 classes
    xtr, ytr, xte, yte = digits28()
    if not raw_inputs:  # ToTensor ([0, 1]) then Normalize(mean, std): the digits' own training mean and std
        xtr, xte = xtr / 16.0, xte / 16.0
        mean, std = float(xtr.mean()), float(xtr.std())
        xtr, xte = (xtr - mean) / std, (xte - mean) / std
    train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xtr, ytr), batch_size=64, shuffle=True)
    perm = torch.randperm(784) if permute else torch.arange(0, 784).long()

    if model_kind == "cnn":
        n_features = 6  # number of feature maps
        model = CNN(input_size, n_features, output_size)
    elif model_kind == "fnn":
        n_hidden = 8  # number of hidden units
        model = FC2Layer(input_size, n_hidden, output_size)
    else:
        raise ValueError(model_kind)
    if init == "std1":  # the init_large variant
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, std=1.0)
                nn.init.normal_(m.bias, std=1.0)
    elif init != "default":
        raise ValueError(init)
    lr = LR * lr_mult
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=0.5)
    monitor = gradmedic.watch(model, optimizer, every=every)
    losses = []
    for epoch in range(n_epochs):
        model.train()
        for batch_idx, (data, target) in enumerate(train_loader):  # noqa: B007
            # permute pixels
            data = data.view(-1, 28*28)
            data = data[:, perm]
            data = data.view(-1, 1, 28, 28)

            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(float(loss.detach()))
        if verbose and (epoch + 1) % max(1, n_epochs // 10) == 0:
            print(f"Train Epoch: {epoch} Loss: {np.mean(losses[-20:]):.6f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    # test
    model.eval()
    with torch.no_grad():
        data = xte.view(-1, 28*28)[:, perm].view(-1, 1, 28, 28)
        output = model(data)
        test_loss = F.nll_loss(output, yte, reduction='sum').item() / len(yte)
        pred = output.data.max(1, keepdim=True)[1]
        correct = pred.eq(yte.data.view_as(pred)).cpu().sum().item()
    acc = correct / len(yte)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc), "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(test_loss=float(test_loss), lr=lr, train_loss=float(np.mean(losses[-20:])),
                          first_loss=float(np.mean(losses[:5])), max_loss=float(np.nanmax(losses)),
                          finite_losses=bool(np.isfinite(losses).all()), steps=len(losses), epochs=n_epochs,
                          lr_mult=lr_mult, model_kind=model_kind, permute=permute, raw_inputs=raw_inputs, init=init,
                          zero_grad=zero_grad, test_images=len(yte)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="atcconv", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"CNN (Conv2d(1, 6, 5), ReLU, max_pool 2, Conv2d(6, 6, 5), ReLU, max_pool 2, Linear(96, 50), ReLU, "
      f"Linear(50, 10), log_softmax; default init) on digits resized to 28x28 and normalized; F.nll_loss; "
      f"SGD lr {LR:g} momentum 0.5, batch 64, {EPOCHS} epochs of 23 steps")
CASES: list[dict] = (
    [_case(f"atcconv_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"atcconv_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("atcconv_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case("atcconv_raw_inputs_s1", "unscaled_inputs", 1, {"raw_inputs": True},
             f"{_P}: inputs unscaled (the digits' raw 0..16 values, no ToTensor scaling nor Normalize)")]
    + [_case("atcconv_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_P}: every Conv2d and Linear weight and bias normal_(std=1)")]
    + [_case("atcconv_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("atcconv_permuted_s1", "healthy", 1, {"permute": True},
             f"{_P}: the notebook's scrambled-pixel experiment (one fixed torch.randperm(784) applied to every "
             f"train and test image)")]
    + [_case("atcconv_fc2layer_s1", "healthy", 1, {"model_kind": "fnn"},
             f"{_P}: the notebook's FC2Layer (Linear 784-8-8-10, ReLU, LogSoftmax; n_hidden = 8) in place of the CNN")]
    + [_case("atcconv_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: lr x2 ({LR * 2:g})")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
