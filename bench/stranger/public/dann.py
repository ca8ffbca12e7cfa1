"""fungtion/DANN: domain-adversarial training (a CNN with a gradient reversal layer), watched by gradmedic.

Adapted from https://github.com/fungtion/DANN (commit 476147f70bb818a63bb3461a6ecc12f97f7ab15e, the newest;
models/functions.py, models/model.py, train/main.py and train/test.py; MIT License, Copyright (c) 2019 fungtion, see
LICENSE-dann).  Kept as in the original: ``ReverseLayerF`` (identity forward, gradient times -alpha backward),
``CNNModel`` (feature: Conv2d(3, 64, 5), BatchNorm2d, MaxPool2d(2), ReLU, Conv2d(64, 50), BatchNorm2d, Dropout2d,
MaxPool2d(2), ReLU; class classifier: Linear 100, BatchNorm1d, ReLU, Dropout2d (on the (N, 100) features, as
upstream), Linear 100, BatchNorm1d, ReLU, Linear 10, LogSoftmax; domain classifier on the reversed features: Linear
100, BatchNorm1d, ReLU, Linear 2, LogSoftmax; the 1-channel source expanded to 3 channels in ``forward``; PyTorch's
default inits), ``optim.Adam(my_net.parameters(), lr=1e-3)``, batch_size 128, two ``NLLLoss``, the loop in its order
(p = (i + epoch len) / n_epoch / len, alpha = 2 / (1 + exp(-10 p)) - 1; ``my_net.zero_grad()``; a source batch
through the net: err_s_label and err_s_domain against domain 0; a target batch: err_t_domain against domain 1;
``err = err_t_domain + err_s_domain + err_s_label``; ``err.backward()``; ``optimizer.step()``; len_dataloader the
shorter loader), upstream's Normalize constants (source: MNIST's 0.1307 / 0.3081; target: (0.5, 0.5, 0.5) for both
mean and std) and test.py's accuracy (alpha 0, ``my_net.eval()``, batches of 128, argmax of the class output).

Changed to run offline on one CPU thread in ~10-40 s (each change marked ``# upstream:`` in the code):
- data: scikit-learn's ``load_digits`` (1797 8x8 images, 0..16 divided by 16 as ToTensor's [0, 1]) resized to 16x16
  (bilinear, as transforms.Resize) stand in for MNIST, split once (a fixed permutation, seed 0) into 1437 training and
  360 test digits; the target domain, for MNIST-M, is made as MNIST-M is (|background - digit| per channel, the
  background there a crop of a colour photo): the same digits blended with a smooth random dark colour background
  (a 4x4 random field plus a per-image colour, bicubically upsampled, each channel in [0, BG] = [0, 0.2]); the target
  training set is the transformed training digits (unlabelled for training: only its domain label is used), the
  target test set the transformed test digits; 12 batches an epoch (the last of 29 images);
- image_size 16 instead of 28, and f_conv2's kernel 3 instead of 5 (16 -> 12 -> 6 -> 4 -> 2), so the features are
  50 * 2 * 2 instead of 50 * 4 * 4 (both classifiers' first Linear 200 -> 100): the 28x28 network took ~1 s a step
  on this machine; widths and the layers' kinds and depth are upstream's;
- n_epoch 12 instead of 100 (144 steps; the alpha ramp spans the 12 epochs, as upstream's spans its 100);
- ``torch.manual_seed(seed)`` / ``np.random.seed(seed)`` instead of ``random.randint(1, 10000)``; no CUDA, no cudnn,
  num_workers 0, no ``torch.save`` of the model each epoch, and test() run once on both domains after training
  instead of after each epoch; Python 3 (``next(it)``, ``range``); the tensors fed directly instead of copied into
  preallocated buffers; the warnings of Dropout2d on 2-D input and of LogSoftmax's implicit dim silenced; no prints
  (a verbose per-epoch print).

The watch, as a user would: ``monitor = gradmedic.watch(my_net, optimizer, every=10)`` right after the Adam is built,
``monitor.step(err)`` right after ``err.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the loop.
Metric "accuracy": the target-domain test accuracy (360 transformed test digits; chance 0.1); extras: the source test
accuracy, the first-5 and last-20 means of err, its largest value, and the last-20 means of the three losses.

``CASES`` (program "dann"): the program on seeds 1-3, and one change each against seed 1's healthy run: Adam lr x10,
x100, x1000, /1000; raw 0..255 pixels in both domains (no ToTensor scaling, no Normalize; seeds 1 and 2); every
BatchNorm left out; N(0, 1) on every Conv2d and Linear weight; ``my_net.zero_grad()`` left out; and two changes
expected harmless: batch_size 256 (cause "healthy") and alpha fixed at 1 (cause "healthy").  Labels come from
run.py's outcome rules only.
Recorded (cases-public125, 14 cases in 251 s; 8-14 s a run once the shared 2-core machine was quiet, 26-42 s for the
healthy runs while it was loaded): healthy target accuracy 0.958, 0.933, 0.947 on seeds 1-3 (source 0.967, 0.967,
0.978; err from 3.7-3.8 over the first 5 steps to 1.64-1.67 over the last 20, class loss 0.26-0.29, both domain losses
at 0.69: the domain classifier is held at chance; largest err 3.8-4.0; every loss finite); lr x10: 0.928 (source
0.953, class loss 0.165): ambiguous (0.03 under its control, just past the no-harm margin); lr x100: 0.797 (source
0.947, first-5 err 6.2, largest 11.6): broken; lr x1000: 0.100 (source 0.100, largest err 164, the class loss stuck
at 2.52): broken; lr /1000: 0.119 (source 0.072, err 4.02 -> 4.00): broken; raw pixels: 0.975 (seed 1) and 0.981
(seed 2), source 0.978: healthy (the BatchNorm after f_conv1 absorbs the scale, and one scale for both domains
removes upstream's two Normalize constants' mismatch); no BatchNorm: 0.131 (source 0.458, the domain classifier wins:
domain losses 0.02 and 0.01, largest err 13.2): broken; N(0, 1) init: 0.372 (source 0.542, err 15.9 -> 7.9): broken;
zero_grad left out: 0.903 (source 0.947; the domain losses drift apart, 0.14 and 2.27): ambiguous; batch 256
(72 steps): 0.953: healthy; alpha fixed at 1: 0.939 (the same training losses as the ramp's, to 3 digits): healthy.
Labels: 7 healthy (3 programs, raw pixels on both seeds, batch 256, alpha 1), 5 broken, 2 ambiguous; every run's
losses were finite.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
import torch.utils.data
from torch.autograd import Function

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(my_net, optimizer, every=10) right after optimizer = optim.Adam(my_net.parameters(), lr=1e-3); "
              "monitor.step(err) right after err.backward() (err = err_t_domain + err_s_domain + err_s_label, the "
              "class loss on a source batch plus both domains' losses through the gradient reversal layer), before "
              "optimizer.step() (my_net.zero_grad() comes before the source forward, upstream's order)")

lr = 1e-3
batch_size = 128
image_size = 16  # upstream: 28 (MNIST resized to 28; here the 8x8 digits resized to 16, for speed)
BG = 0.2
n_epoch = 12  # upstream: 100 (469 steps an epoch on MNIST; here 12 an epoch)


# models/functions.py ---------------------------------------------------------------------------------------------

class ReverseLayerF(Function):

    @staticmethod
    def forward(ctx, x, alpha):
        ctx.alpha = alpha

        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output):
        output = grad_output.neg() * ctx.alpha

        return output, None


# models/model.py -------------------------------------------------------------------------------------------------

class CNNModel(nn.Module):

    def __init__(self, norm=True):
        super(CNNModel, self).__init__()  # noqa: UP008 (as upstream)
        self.feature = nn.Sequential()
        self.feature.add_module('f_conv1', nn.Conv2d(3, 64, kernel_size=5))
        if norm:  # the no_norm variant leaves every BatchNorm out
            self.feature.add_module('f_bn1', nn.BatchNorm2d(64))
        self.feature.add_module('f_pool1', nn.MaxPool2d(2))
        self.feature.add_module('f_relu1', nn.ReLU(True))
        self.feature.add_module('f_conv2', nn.Conv2d(64, 50, kernel_size=3))  # upstream: kernel_size=5
        if norm:
            self.feature.add_module('f_bn2', nn.BatchNorm2d(50))
        self.feature.add_module('f_drop1', nn.Dropout2d())
        self.feature.add_module('f_pool2', nn.MaxPool2d(2))
        self.feature.add_module('f_relu2', nn.ReLU(True))

        self.class_classifier = nn.Sequential()
        self.class_classifier.add_module('c_fc1', nn.Linear(50 * 2 * 2, 100))
        if norm:
            self.class_classifier.add_module('c_bn1', nn.BatchNorm1d(100))
        self.class_classifier.add_module('c_relu1', nn.ReLU(True))
        self.class_classifier.add_module('c_drop1', nn.Dropout2d())
        self.class_classifier.add_module('c_fc2', nn.Linear(100, 100))
        if norm:
            self.class_classifier.add_module('c_bn2', nn.BatchNorm1d(100))
        self.class_classifier.add_module('c_relu2', nn.ReLU(True))
        self.class_classifier.add_module('c_fc3', nn.Linear(100, 10))
        self.class_classifier.add_module('c_softmax', nn.LogSoftmax())

        self.domain_classifier = nn.Sequential()
        self.domain_classifier.add_module('d_fc1', nn.Linear(50 * 2 * 2, 100))
        if norm:
            self.domain_classifier.add_module('d_bn1', nn.BatchNorm1d(100))
        self.domain_classifier.add_module('d_relu1', nn.ReLU(True))
        self.domain_classifier.add_module('d_fc2', nn.Linear(100, 2))
        self.domain_classifier.add_module('d_softmax', nn.LogSoftmax(dim=1))

    def forward(self, input_data, alpha):
        input_data = input_data.expand(input_data.data.shape[0], 3, image_size, image_size)
        feature = self.feature(input_data)
        feature = feature.view(-1, 50 * 2 * 2)
        reverse_feature = ReverseLayerF.apply(feature, alpha)
        class_output = self.class_classifier(feature)
        domain_output = self.domain_classifier(reverse_feature)

        return class_output, domain_output


# data: 8x8 digits as MNIST, the same digits blended with coloured backgrounds as MNIST-M --------------------------

def digits_domains(raw=False):
    """Source (1 channel) and target (3 channels) images, 16x16, of scikit-learn's digits; split 1437 / 360.

    Source: the 8x8 digit (0..16 -> [0, 1], ToTensor's range) resized to 16x16 (bilinear, as transforms.Resize),
    normalized with upstream's MNIST mean/std.  Target, as MNIST-M is made (|background - digit| per channel, the
    background a crop of a colour photo): each digit blended with a smooth random dark colour background (each
    channel in [0, BG]), normalized
    with upstream's (0.5, 0.5, 0.5) / (0.5, 0.5, 0.5).  ``raw``: 0..255 pixel values, no Normalize."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.images / 16.0, dtype=torch.float32).unsqueeze(1)
    x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False).clamp(0, 1)
    y = torch.tensor(d.target, dtype=torch.long)
    g = torch.Generator().manual_seed(0)  # the data are fixed; the run's seed draws the model and the batches
    n = len(y)
    bg = (torch.rand(n, 3, 4, 4, generator=g) * 0.5 + torch.rand(n, 3, 1, 1, generator=g) * 0.5) * BG
    bg = F.interpolate(bg, size=(image_size, image_size), mode="bicubic", align_corners=False).clamp(0, 1)
    xt = (bg - x).abs()
    perm = torch.randperm(n, generator=g)
    tr, te = perm[:1437], perm[1437:]
    if raw:
        xs, xt = (x * 255).round(), (xt * 255).round()
    else:
        xs, xt = (x - 0.1307) / 0.3081, (xt - 0.5) / 0.5
    return (xs[tr], y[tr]), (xt[tr], y[tr]), (xs[te], y[te]), (xt[te], y[te])


def test(my_net, data):
    """train/test.py: accuracy with alpha 0, the model in eval mode, batches of 128."""
    my_net = my_net.eval()
    x, y = data
    n_correct, n_total = 0, 0
    with torch.no_grad():
        for i in range(0, len(y), batch_size):
            class_output, _ = my_net(input_data=x[i:i + batch_size], alpha=0)
            pred = class_output.data.max(1, keepdim=True)[1]
            n_correct += int(pred.eq(y[i:i + batch_size].view_as(pred)).sum())
            n_total += len(pred)
    my_net.train()
    return n_correct / n_total


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, norm: bool = True,
          init_std: float | None = None, zero_grad: bool = True, bs: int = batch_size,
          fixed_alpha: float | None = None, epochs: int = n_epoch, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    warnings.filterwarnings("ignore", message=".*dropout2d.*")  # Dropout2d on the (N, 100) features, as upstream
    warnings.filterwarnings("ignore", message=".*Implicit dimension choice for log_softmax.*")
    manual_seed = seed  # upstream: random.randint(1, 10000)
    np.random.seed(manual_seed)
    torch.manual_seed(manual_seed)

    (xs, ys), (xt, yt), s_test, t_test = digits_domains(raw=raw_pixels)
    dataloader_source = torch.utils.data.DataLoader(
        dataset=torch.utils.data.TensorDataset(xs, ys), batch_size=bs, shuffle=True, num_workers=0)  # upstream: MNIST, 8
    dataloader_target = torch.utils.data.DataLoader(
        dataset=torch.utils.data.TensorDataset(xt, yt), batch_size=bs, shuffle=True, num_workers=0)  # upstream: mnist_m

    my_net = CNNModel(norm=norm)  # upstream: no cuda (here the CPU)
    if init_std is not None:  # the init_large variant
        for m in my_net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, init_std)
    optimizer = optim.Adam(my_net.parameters(), lr=lr * lr_mult)
    monitor = gradmedic.watch(my_net, optimizer, every=every)  # gradmedic
    loss_class = torch.nn.NLLLoss()
    loss_domain = torch.nn.NLLLoss()
    for p in my_net.parameters():
        p.requires_grad = True

    errs, s_labels, s_domains, t_domains = [], [], [], []
    for epoch in range(epochs):  # upstream: xrange(n_epoch)
        len_dataloader = min(len(dataloader_source), len(dataloader_target))
        data_source_iter = iter(dataloader_source)
        data_target_iter = iter(dataloader_target)
        i = 0
        while i < len_dataloader:
            p = float(i + epoch * len_dataloader) / epochs / len_dataloader
            alpha = 2. / (1. + np.exp(-10 * p)) - 1
            if fixed_alpha is not None:  # the alpha1 variant
                alpha = fixed_alpha

            s_img, s_label = next(data_source_iter)  # upstream: data_source_iter.next()
            if zero_grad:  # the no_zero_grad variant leaves this out
                my_net.zero_grad()
            b = len(s_label)
            domain_label = torch.zeros(b).long()
            # upstream: copies s_img and s_label into preallocated FloatTensor/LongTensor buffers (same values)
            class_output, domain_output = my_net(input_data=s_img, alpha=alpha)
            err_s_label = loss_class(class_output, s_label)
            err_s_domain = loss_domain(domain_output, domain_label)

            t_img, _ = next(data_target_iter)  # upstream: data_target_iter.next()
            b = len(t_img)
            domain_label = torch.ones(b).long()
            _, domain_output = my_net(input_data=t_img, alpha=alpha)
            err_t_domain = loss_domain(domain_output, domain_label)
            err = err_t_domain + err_s_domain + err_s_label
            err.backward()
            monitor.step(err)  # gradmedic
            optimizer.step()
            i += 1
            errs.append(float(err.detach()))
            s_labels.append(float(err_s_label.detach()))
            s_domains.append(float(err_s_domain.detach()))
            t_domains.append(float(err_t_domain.detach()))
        if verbose:  # upstream: prints every step; saves the model and runs test() on both domains each epoch
            print(f"epoch {epoch} err_s_label {np.mean(s_labels[-len_dataloader:]):.4f} err_s_domain "
                  f"{np.mean(s_domains[-len_dataloader:]):.4f} err_t_domain {np.mean(t_domains[-len_dataloader:]):.4f} "
                  f"alpha {alpha:.3f} src {test(my_net, s_test):.3f} tgt {test(my_net, t_test):.3f} "
                  f"{time.time() - t0:.1f}s", flush=True)
    monitor.close()
    acc_s, acc_t = test(my_net, s_test), test(my_net, t_test)  # upstream: test(source), test(target) each epoch
    e = np.array(errs)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc_t, "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(source_acc=acc_s, target_acc=acc_t, lr=lr * lr_mult, lr_mult=lr_mult, raw_pixels=raw_pixels,
                          norm=norm, init_std=-1.0 if init_std is None else init_std, zero_grad=zero_grad,
                          batch_size=bs, fixed_alpha=-1.0 if fixed_alpha is None else fixed_alpha, epochs=epochs,
                          steps=len(errs), first_err=float(np.mean(e[:5])), final_err=float(np.mean(e[-20:])),
                          max_err=float(np.nanmax(e)) if np.isfinite(e).any() else float("nan"),
                          finite_losses=bool(np.isfinite(e).all()),
                          final_err_s_label=float(np.mean(s_labels[-20:])),
                          final_err_s_domain=float(np.mean(s_domains[-20:])),
                          final_err_t_domain=float(np.mean(t_domains[-20:]))),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="dann", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"DANN (CNNModel with BatchNorm, ReverseLayerF; Adam lr {lr:g}, batch {batch_size}, alpha 2/(1+exp(-10 p))-1, "
      f"err = err_t_domain + err_s_domain + err_s_label; {n_epoch} epochs of 12 steps)")
CASES: list[dict] = (
    [_case(f"dann_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"dann_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({lr * k:g})")
       for k, ss in ((10, (1,)), (100, (1,)), (1000, (1,))) for s in ss]
    + [_case("dann_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 ({lr * 1e-3:g})")]
    + [_case(f"dann_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             f"{_P}: raw 0..255 pixel values in both domains (no ToTensor scaling, no Normalize)") for s in (1, 2)]
    + [_case("dann_no_bn_s1", "no_norm", 1, {"norm": False},
             f"{_P}: every BatchNorm (f_bn1, f_bn2, c_bn1, c_bn2, d_bn1) left out of CNNModel")]
    + [_case("dann_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every Conv2d and Linear weight (biases kept)")]
    + [_case("dann_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: my_net.zero_grad() left out of the loop (the gradients accumulate)")]
    + [_case("dann_batch256_s1", "healthy", 1, {"bs": 2 * batch_size},
             f"{_P}: batch_size 256 instead of 128 in both loaders (6 steps an epoch; expected harmless)")]
    + [_case("dann_alpha1_s1", "healthy", 1, {"fixed_alpha": 1.0},
             f"{_P}: alpha fixed at 1 instead of the 2/(1+exp(-10 p))-1 ramp (expected harmless)")]
)

if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
