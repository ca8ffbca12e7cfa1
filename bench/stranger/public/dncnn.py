"""DnCNN (SaoYan/DnCNN-PyTorch: a residual denoising CNN trained on Gaussian noise of level 25), watched by gradmedic.

Adapted from https://github.com/SaoYan/DnCNN-PyTorch (commit 6b0804951484eadb7f1ea24e8e5c9ede9bea485b; models.py,
train.py, utils.py; GNU GPL v3, see LICENSE-dncnn).  Kept as in the original: ``DnCNN`` (copied below: Conv(1, F)+ReLU,
then (Conv(F, F)+BatchNorm2d+ReLU) x (num_of_layers - 2), then Conv(F, 1), every conv 3x3, padding 1, bias=False; it
predicts the noise), num_of_layers 17, ``weights_init_kaiming`` applied with ``net.apply`` (kaiming_normal fan_in on
the convs; BatchNorm weights N(0, sqrt(2/9/64)) clamped to +-0.025, biases 0), ``nn.MSELoss`` summed over the batch
and divided by 2 x the batch size, the loss against the noise, ``optim.Adam(lr=1e-3)``, the milestone schedule (lr,
then lr/10 from epoch ``milestone`` on, set by hand in every epoch's param groups), mode "S": noise of std
noiseL/255 = 25/255 drawn with ``torch.FloatTensor(size).normal_`` for every batch and added to the clean patches,
and the loop (``model.train()``, ``model.zero_grad()``, ``optimizer.zero_grad()``, ``loss.backward()``,
``optimizer.step()``), the validation's ``torch.clamp(imgn - model(imgn), 0., 1.)`` in eval mode.

Changed to run offline on one CPU thread in ~20-30 s: the data are not BSD400's 40x40 patches (a download and an
h5 preprocessing step) but 16x16 clean patches generated here, values in [0, 1]: scikit-learn's digits (8x8, /16,
bilinearly upsampled) and smooth random images (2-5 Gaussian blobs of random sign, width and place, half of them
plus a sinusoid, min-max scaled), the data set fixed (numpy seed 0): 512 + 512 training patches, 128 + 128 held-out
patches; FEATURES 32 instead of 64 (the depth, 17, is upstream's); batch 32 instead of 128; EPOCHS 5 of 32 steps
with MILESTONE 3 instead of 50 and 30 (the drop at the same 60 %); the run's seed goes to ``torch.manual_seed``
(upstream sets none); no DataParallel/cuda, num_workers 0; no tensorboard, image grids, checkpoint or per-step
prints; the per-step eval-mode forward that upstream runs after every step only to print the training PSNR is left
out (it changes no weight), and the per-epoch validation is done once, after training, on the held-out patches with
noise from a fixed generator (the same noisy patches for every run).  ``nn.MSELoss(reduction="sum")`` stands for the
removed ``size_average=False``, ``nn.init.kaiming_normal_``/``constant_`` for the removed ``kaiming_normal``/
``constant``.  Knobs (one per variant): ``lr_mult``; ``batch_norm=False`` (the BatchNorm2d layers left out of the 15
middle blocks: Conv+ReLU x16 then Conv); ``pixel_scale=255`` (patches in 0..255, as if ``normalize`` - dataset.py's
/255 - were left out, with noise std noiseL = 25 and the clamp to [0, 255], so the program is self-consistent in
raw units; the metric is divided by 255^2, the [0, 1] units); ``init_std`` (every conv weight N(0, init_std) instead
of Kaiming); ``bn_bias`` (the BatchNorm biases set to this constant instead of 0 in ``weights_init_kaiming``: -5
leaves every ReLU after a BatchNorm dead, since the BatchNorm weights are at most 0.025); ``zero_grad=False``
(``model.zero_grad()`` and ``optimizer.zero_grad()`` left out); ``batch_size``; ``num_of_layers``.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the
loop.  Metric "test_mse": the MSE of the denoised held-out patches, ``clamp(imgn - model(imgn), 0, 1)`` in eval
mode, against the clean ones (lower is better; its PSNR, 10 log10(1/mse), goes to ``extra`` as ``psnr_db``);
``initial`` the MSE of the noisy held-out patches clamped to [0, 1], i.e. of the do-nothing denoiser (the untrained
DnCNN, whose BatchNorm weights of at most 0.025 make its residual output small, is near it: ``untrained_mse`` in
``extra``).

``CASES`` (program "dncnn"): the program on seeds 1-3, and one change each against the same seed's healthy run: Adam
lr x10, x100 (seeds 1 and 2), x1000, /1000; BatchNorm removed at depth 17; patches in 0..255; conv weights N(0, 1);
BatchNorm biases -5 (dead ReLUs); the zero_grad calls left out; and two changes expected harmless: batch 16 instead
of 32 and num_of_layers 12 instead of 17 (both cause "healthy").
Recorded (cases-public168; 15 runs, two at a time on the shared 2-core machine: 23-102 s wall a run, the healthy
run ~27 s of CPU time alone; 160 steps each): held-out noisy-input MSE 0.00804 (PSNR 20.95 dB; the untrained DnCNN's
output is the same, 0.00804); healthy test MSE 0.00220, 0.00233, 0.00242 on seeds 1-3 (PSNR 26.57, 26.32, 26.17 dB;
training loss 1.25-1.26 over the first 5 steps -> 0.31-0.35 over the last 20; every loss finite); lr x10 (1e-2):
0.00496 (23.05 dB; largest loss 1.71), broken; lr x100 (0.1): 0.00804 (seed 1) and 0.00805 (seed 2), i.e. no
denoising at all (first-5 mean 69-84, largest 337-409, training loss back to 1.23, the do-nothing level): broken; lr
x1000 (1): 0.00804 (largest loss 2.8e6, final 1.23): broken; lr /1000 (1e-6): 0.00859 (20.66 dB, worse than the
noisy input; training loss 1.28 -> 1.29): broken; BatchNorm removed: untrained output MSE 0.196, first-5 mean 20.4,
largest 88.9, final test MSE 0.00490 (23.10 dB): broken; patches in 0..255: 0.00694 in [0, 1] units (21.59 dB;
training loss 8.0e4 -> 6.8e4 in raw units): broken; conv weights N(0, 1): 0.00806 (first-5 mean 6.8, largest 10,
training loss 1.24 at the end): broken; BatchNorm biases -5: 0.00804, training loss flat at 1.23: broken;
zero_grad left out: 0.00784 (training loss 1.19 at the end): broken; batch 16: 0.00182 (27.40 dB): healthy;
num_of_layers 12: 0.00179 (27.46 dB): healthy.  Labels: 5 healthy (3 programs, batch 16, depth 12), 10 broken,
0 ambiguous; no non-finite loss.  The harmless changes both come out a little better than the control: 160 steps
leave the 17-layer net short of convergence, so more steps (batch 16) or a shallower net gain.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = optim.Adam(model.parameters(), lr=1e-3); "
              "monitor.step(loss) right after loss.backward() (MSELoss summed, / (2 x batch size), of the predicted "
              "noise), before optimizer.step()")

PATCH = 16  # upstream: 40x40 patches of BSD400
FEATURES = 32  # upstream: 64
BATCH = 32  # upstream: --batchSize 128
EPOCHS = 5  # upstream: --epochs 50
MILESTONE = 3  # upstream: --milestone 30
LR = 1e-3
NOISE_L = 25.0


class DnCNN(nn.Module):
    def __init__(self, channels, num_of_layers=17, features=FEATURES, batch_norm=True):
        super(DnCNN, self).__init__()  # noqa: UP008 (as upstream)
        kernel_size = 3
        padding = 1
        # features = 64  # upstream: 64 (FEATURES here)
        layers = []
        layers.append(nn.Conv2d(in_channels=channels, out_channels=features, kernel_size=kernel_size, padding=padding, bias=False))  # noqa: E501
        layers.append(nn.ReLU(inplace=True))
        for _ in range(num_of_layers-2):
            layers.append(nn.Conv2d(in_channels=features, out_channels=features, kernel_size=kernel_size, padding=padding, bias=False))  # noqa: E501
            if batch_norm:  # the no_norm variant leaves the BatchNorm out
                layers.append(nn.BatchNorm2d(features))
            layers.append(nn.ReLU(inplace=True))
        layers.append(nn.Conv2d(in_channels=features, out_channels=channels, kernel_size=kernel_size, padding=padding, bias=False))  # noqa: E501
        self.dncnn = nn.Sequential(*layers)

    def forward(self, x):
        out = self.dncnn(x)
        return out


def weights_init_kaiming(m, init_std=None, bn_bias=0.0):
    classname = m.__class__.__name__
    if classname.find('Conv') != -1:
        if init_std is not None:  # the init_large variant: N(0, init_std) instead of Kaiming
            nn.init.normal_(m.weight.data, mean=0.0, std=init_std)
        else:
            nn.init.kaiming_normal_(m.weight.data, a=0, mode='fan_in')  # upstream: nn.init.kaiming_normal
    elif classname.find('Linear') != -1:
        nn.init.kaiming_normal_(m.weight.data, a=0, mode='fan_in')  # upstream: nn.init.kaiming_normal
    elif classname.find('BatchNorm') != -1:
        # nn.init.uniform(m.weight.data, 1.0, 0.02)
        m.weight.data.normal_(mean=0, std=math.sqrt(2./9./64.)).clamp_(-0.025,0.025)
        nn.init.constant_(m.bias.data, bn_bias)  # upstream: nn.init.constant(m.bias.data, 0.0)


def make_patches(patch=PATCH, n_train=512, n_test=128, seed=0):
    """Clean patches in [0, 1] (instead of BSD400): upsampled digits and smooth random images; a fixed data set."""
    from sklearn.datasets import load_digits

    rng = np.random.RandomState(seed)
    d = load_digits().images.astype(np.float32) / 16.0
    d = F.interpolate(torch.from_numpy(d)[:, None], size=(patch, patch), mode="bilinear",
                      align_corners=False).clamp(0, 1)
    d = d[torch.from_numpy(rng.permutation(len(d)))]
    yy, xx = np.mgrid[0:patch, 0:patch].astype(np.float32)
    smooth = []
    for _ in range(n_train + n_test):
        img = np.zeros((patch, patch), np.float32)
        for _ in range(rng.randint(2, 6)):
            cy, cx = rng.uniform(0, patch, 2)
            s, a = rng.uniform(1.5, 5), rng.uniform(-1, 1)
            img += a * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
        if rng.rand() < 0.5:
            f, ph = rng.uniform(0.1, 0.6, 2), rng.uniform(0, 2 * np.pi)
            img += rng.uniform(0.2, 0.6) * np.sin(f[0] * yy + f[1] * xx + ph)
        smooth.append((img - img.min()) / (img.max() - img.min() + 1e-6))
    s = torch.from_numpy(np.stack(smooth))[:, None]
    train = torch.cat([d[:n_train], s[:n_train]])
    test = torch.cat([d[n_train:n_train + n_test], s[n_train:]])
    return train, test


def train(seed: int = 1, lr_mult: float = 1.0, batch_norm: bool = True, pixel_scale: float = 1.0,
          init_std: float | None = None, bn_bias: float = 0.0, zero_grad: bool = True, batch_size: int = BATCH,
          num_of_layers: int = 17, epochs: int = EPOCHS, milestone: int = MILESTONE, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)  # upstream sets no seed
    t0 = time.time()
    clean_train, clean_test = make_patches()
    # the unscaled_inputs variant: patches in 0..255 (dataset.py's normalize left out), noise std 25 (not 25/255)
    dataset_train = clean_train * pixel_scale
    noise_std = NOISE_L / 255. * pixel_scale
    loader_train = DataLoader(dataset=dataset_train, num_workers=0, batch_size=batch_size, shuffle=True)  # upstream: 4
    # Build model
    net = DnCNN(channels=1, num_of_layers=num_of_layers, batch_norm=batch_norm)
    net.apply(lambda m: weights_init_kaiming(m, init_std=init_std, bn_bias=bn_bias))
    criterion = nn.MSELoss(reduction="sum")  # upstream: nn.MSELoss(size_average=False)
    model = net  # upstream: nn.DataParallel(net, device_ids=[0]).cuda()
    # the held-out patches and their noise, the same for every run (upstream: the val set's noise from the global RNG)
    g = torch.Generator().manual_seed(1234)
    img_val = clean_test * pixel_scale
    imgn_val = img_val + torch.randn(img_val.size(), generator=g) * noise_std
    model.eval()
    with torch.no_grad():
        untrained = float(F.mse_loss(torch.clamp(imgn_val - model(imgn_val), 0., pixel_scale), img_val)) / pixel_scale ** 2
    baseline = float(F.mse_loss(torch.clamp(imgn_val, 0., pixel_scale), img_val)) / pixel_scale ** 2
    # Optimizer
    optimizer = torch.optim.Adam(model.parameters(), lr=LR * lr_mult)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    losses = []
    step = 0
    for epoch in range(epochs):
        if epoch < milestone:
            current_lr = LR * lr_mult
        else:
            current_lr = LR * lr_mult / 10.
        # set learning rate
        for param_group in optimizer.param_groups:
            param_group["lr"] = current_lr
        if verbose:
            print('learning rate %f' % current_lr)  # noqa: UP031 (as upstream)
        # train
        for _i, data in enumerate(loader_train, 0):
            # training step
            model.train()
            if zero_grad:  # the no_zero_grad variant leaves both calls out
                model.zero_grad()
                optimizer.zero_grad()
            img_train = data
            noise = torch.FloatTensor(img_train.size()).normal_(mean=0, std=noise_std)
            imgn_train = img_train + noise
            out_train = model(imgn_train)
            loss = criterion(out_train, noise) / (imgn_train.size()[0]*2)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())
            # upstream: an eval-mode forward after every step to print the training PSNR (changes no weight); left out
            step += 1
        if verbose:
            print(f"[epoch {epoch + 1}] loss {np.mean(losses[-32:]):.4f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    # validate (upstream: after every epoch, PSNR by skimage's compare_psnr per image)
    model.eval()
    with torch.no_grad():
        out_val = torch.clamp(imgn_val - model(imgn_val), 0., pixel_scale)  # upstream: clamp(..., 0., 1.)
        test_mse = float(F.mse_loss(out_val, img_val)) / pixel_scale ** 2
        per_img = ((out_val - img_val) ** 2).mean(dim=(1, 2, 3)) / pixel_scale ** 2
        psnr_val = float(torch.mean(10 * torch.log10(1.0 / per_img)))
    if not math.isfinite(test_mse):
        test_mse = float("nan")
    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "test_mse", "value": test_mse,
            "initial": baseline,
            "initial_what": "the noisy held-out patches clamped to [0, 1] (the do-nothing denoiser): their MSE",
            "chance": baseline,
            "extra": {"psnr_db": 10 * math.log10(1.0 / test_mse) if test_mse > 0 else float("nan"),
                      "psnr_val_mean_per_image": psnr_val, "noisy_psnr_db": 10 * math.log10(1.0 / baseline),
                      "untrained_mse": untrained, "train_loss": float(np.mean(la[-20:])),
                      "first_loss": float(np.mean(la[:5])),
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "steps": step, "lr": LR * lr_mult,
                      "lr_mult": lr_mult, "batch_norm": batch_norm, "pixel_scale": pixel_scale,
                      "init_std": -1.0 if init_std is None else init_std, "bn_bias": bn_bias, "zero_grad": zero_grad,
                      "batch_size": batch_size, "num_of_layers": num_of_layers, "features": FEATURES,
                      "epochs": epochs, "milestone": milestone, "patch": PATCH},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="dncnn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"DnCNN (17 layers, {FEATURES} features, BatchNorm, Kaiming init; MSE sum / (2 batch) of the noise, sigma 25/255; "
      f"Adam lr {LR:g}, batch {BATCH}, {EPOCHS} epochs of 32 steps, lr / 10 from epoch {MILESTONE})")
CASES: list[dict] = (
    [_case(f"dncnn_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"dncnn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("dncnn_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 ({LR * 1e-3:g})")]
    + [_case("dncnn_no_bn_s1", "no_norm", 1, {"batch_norm": False},
             f"{_P}: the BatchNorm2d layers left out of the 15 middle blocks (Conv+ReLU x16, then Conv)")]
    + [_case("dncnn_pixels255_s1", "unscaled_inputs", 1, {"pixel_scale": 255.0},
             f"{_P}: patches in 0..255 (the /255 normalize left out), noise std 25, clamp to [0, 255]; the metric in "
             f"[0, 1] units")]
    + [_case("dncnn_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every conv weight instead of kaiming_normal (std 0.47 in the first, "
             f"0.083 in the others)")]
    + [_case("dncnn_bn_bias_neg5_s1", "dead_relu", 1, {"bn_bias": -5.0},
             f"{_P}: BatchNorm biases initialized to -5 instead of 0 (every ReLU after a BatchNorm dead)")]
    + [_case("dncnn_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: model.zero_grad() and optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("dncnn_batch16_s1", "healthy", 1, {"batch_size": 16},
             f"{_P}: batch 16 instead of 32 (64 steps an epoch; expected harmless)")]
    + [_case("dncnn_depth12_s1", "healthy", 1, {"num_of_layers": 12},
             f"{_P}: num_of_layers 12 instead of 17 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
