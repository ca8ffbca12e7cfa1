"""pytorch/examples super_resolution (the sub-pixel CNN of Shi et al., Adam lr 0.01, MSELoss, PSNR), watched by gradmedic.

Adapted from https://github.com/pytorch/examples (commit 77f55b912142e11fcfdf5b530231fb9c52f181e8,
super_resolution/model.py, main.py, data.py and dataset.py; BSD 3-Clause, Copyright (c) 2017, Pytorch
contributors, see LICENSE-pytorch-examples).  Kept as in the original: ``Net`` (conv 5x5 1->64, conv 3x3
64->64, conv 3x3 64->32, ReLU after each, conv 3x3 32->upscale_factor**2, ``PixelShuffle``) and its
``_initialize_weights`` (orthogonal_ with ReLU gain on conv1-3, plain orthogonal_ on conv4, biases PyTorch's
default), the data pipeline of data.py/dataset.py (``load_img``: the image converted to YCbCr and only its Y
channel kept; input = the crop resized down by ``upscale_factor`` with PIL's bilinear resize, as torchvision's
``Resize`` does on a PIL image, then ``ToTensor`` (0..1); target = the crop itself, ``ToTensor``; a crop size
that ``calculate_valid_crop_size`` makes a multiple of the factor), main.py's defaults (Adam lr 0.01, batch 64
shuffled, ``nn.MSELoss``, testBatchSize 10) and its loop (zero_grad, ``criterion(model(input), target)``,
backward, step) and ``test()`` (PSNR ``10 log10(1 / mse)`` per test batch, averaged over the batches).

Changed to run offline without torchvision (which does not import here) or BSDS300 (a download), on one CPU
thread in about half a minute: the images are scikit-learn's two sample photos (``load_sample_images``:
china.jpg and flower.jpg, 427x640, shipped with scikit-learn); random 48x48 crops (instead of one centre crop
of 255x255 per BSDS300 image), upscale_factor 3 (main.py requires one; the README uses 3), so the input is
16x16 and the target 48x48.  512 training crops from the left 480 columns of both photos, 100 test crops from
the right 160 columns (a held-out region; the crop positions are drawn once with a fixed generator, the same
for every run; the seed drives the init and the shuffling), 24 epochs of 8 steps = 192 steps (main.py
defaults to 2 epochs of 4 steps over BSDS300's 200 images; its README trains 30 epochs).  torch's DataLoader
without worker threads; no checkpoint files.

The metric is the training MSE as for nanoGPT/minGPT (final = mean of the last 20 steps, ``initial`` = mean
of the first 5), the test PSNR in ``extra``.  The ``raw_pixels`` variant feeds the 0..255 values (no
``ToTensor`` scaling, as ``torch.from_numpy(np.array(img)).float()`` does) to the input and the target; its
losses are reported divided by 255**2 (the units of a [0, 1] image) so that it compares with its control;
the monitor sees the loss the program computes.  ``raw_input`` scales the target but not the input.

The watch: ``gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is built,
``monitor.step(loss)`` after ``loss.backward()``, before ``optimizer.step()``.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the
same seed's healthy run: lr x10, x100, x1000 and /1000, lr /10 (the README's 0.001: a healthy variant),
N(0, 1) init of every conv weight, zeros_ on conv1 or on conv4 (weight and bias), raw 0..255 pixels (input
and target, or input only), batch 4 (the README's ``--batchSize 4`` at main.py's default lr 0.01).
Raw pixels for input and target train as well as the program (Adam's steps do not depend on the loss's
scale, and the ReLU net is nearly scale-equivariant), but the loss the monitor records is in 0..255 units,
so run.py's blow-up check (largest recorded loss at most 2x the control's) makes them "ambiguous".
"""

from __future__ import annotations

import time
from math import log10

import numpy as np
import torch
import torch.nn as nn
import torch.nn.init as init
import torch.optim as optim
from PIL import Image
from torch.utils.data import DataLoader, TensorDataset

import gradmedic

ARCH = "cnn"
MONITOR_AT = "monitor.step(loss) after loss.backward() (MSELoss on the super-resolved Y channel), before optimizer.step()"


class Net(nn.Module):
    def __init__(self, upscale_factor):
        super().__init__()

        self.relu = nn.ReLU()
        self.conv1 = nn.Conv2d(1, 64, (5, 5), (1, 1), (2, 2))
        self.conv2 = nn.Conv2d(64, 64, (3, 3), (1, 1), (1, 1))
        self.conv3 = nn.Conv2d(64, 32, (3, 3), (1, 1), (1, 1))
        self.conv4 = nn.Conv2d(32, upscale_factor ** 2, (3, 3), (1, 1), (1, 1))
        self.pixel_shuffle = nn.PixelShuffle(upscale_factor)

        self._initialize_weights()

    def forward(self, x):
        x = self.relu(self.conv1(x))
        x = self.relu(self.conv2(x))
        x = self.relu(self.conv3(x))
        x = self.pixel_shuffle(self.conv4(x))
        return x

    def _initialize_weights(self):
        init.orthogonal_(self.conv1.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv2.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv3.weight, init.calculate_gain('relu'))
        init.orthogonal_(self.conv4.weight)


def calculate_valid_crop_size(crop_size, upscale_factor):
    return crop_size - (crop_size % upscale_factor)


def load_img(array):
    """dataset.py's load_img on an RGB array (instead of a file): the Y channel of its YCbCr conversion."""
    img = Image.fromarray(array).convert('YCbCr')
    y, _, _ = img.split()
    return y


def to_tensor(img, raw=False):
    """torchvision's ToTensor on a mode-L PIL image (1xHxW, /255); ``raw``: the 0..255 values as floats."""
    t = torch.from_numpy(np.array(img, dtype=np.float32))[None]
    return t if raw else t / 255.0


def sr_data(upscale_factor=3, crop=48, n_train=512, n_test=100, raw_input=False, raw_target=False):
    """Random crops of scikit-learn's sample photos: (input, target) tensors for training and testing."""
    from sklearn.datasets import load_sample_images

    ys = [load_img(a) for a in load_sample_images().images]  # 427x640 each
    crop = calculate_valid_crop_size(crop, upscale_factor)
    rng = np.random.RandomState(0)

    def crops(n, x0, x1):
        ins, tgs = [], []
        for k in range(n):
            y = ys[k % len(ys)]
            left = rng.randint(x0, x1 - crop + 1)
            top = rng.randint(0, y.height - crop + 1)
            c = y.crop((left, top, left + crop, top + crop))
            ins.append(to_tensor(c.resize((crop // upscale_factor,) * 2, Image.BILINEAR), raw_input))  # Resize, ToTensor
            tgs.append(to_tensor(c, raw_target))  # CenterCrop, ToTensor
        return TensorDataset(torch.stack(ins), torch.stack(tgs))

    return crops(n_train, 0, 480), crops(n_test, 480, 640)


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, zero_layer: str | None = None,
          raw_pixels: str | None = None, batch_size: int = 64, epochs: int = 24, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    upscale_factor, lr = 3, 0.01 * lr_mult
    raw_in, raw_tg = raw_pixels in ("input", "both"), raw_pixels == "both"
    unit = 255.0 ** 2 if raw_tg else 1.0  # the reported MSE is in the units of a [0, 1] image
    train_set, test_set = sr_data(upscale_factor, raw_input=raw_in, raw_target=raw_tg)
    training_data_loader = DataLoader(dataset=train_set, batch_size=batch_size, shuffle=True)
    testing_data_loader = DataLoader(dataset=test_set, batch_size=10, shuffle=False)

    model = Net(upscale_factor=upscale_factor)
    if init_std is not None:  # the bug: normal_(0, std) instead of orthogonal_ on every conv weight
        for m in (model.conv1, model.conv2, model.conv3, model.conv4):
            init.normal_(m.weight, 0.0, init_std)
    if zero_layer is not None:  # the bug: zeros_ on one conv's weight and bias
        init.zeros_(getattr(model, zero_layer).weight)
        init.zeros_(getattr(model, zero_layer).bias)
    criterion = nn.MSELoss()
    optimizer = optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)
    losses = []

    def test():
        avg_psnr, avg_mse = 0.0, 0.0
        with torch.no_grad():
            for batch in testing_data_loader:
                input, target = batch[0], batch[1]
                prediction = model(input)
                mse = criterion(prediction, target).item() / unit
                psnr = 10 * log10(1 / mse) if 0 < mse < float("inf") else float("nan")
                avg_psnr += psnr
                avg_mse += mse
        return avg_psnr / len(testing_data_loader), avg_mse / len(testing_data_loader)

    t0 = time.time()
    for epoch in range(1, epochs + 1):
        for batch in training_data_loader:
            input, target = batch[0], batch[1]

            optimizer.zero_grad()
            loss = criterion(model(input), target)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item() / unit)
        if verbose:
            psnr, mse = test()
            print(f"epoch {epoch} loss {np.mean(losses[-8:]):.5f} test psnr {psnr:.2f} dB {time.time() - t0:.1f}s")
    psnr, mse = test()
    monitor.close()
    with torch.no_grad():  # a reference, not in the original: the test inputs upsampled bilinearly, no network
        x, y = test_set.tensors
        up = torch.nn.functional.interpolate(x, scale_factor=upscale_factor, mode="bilinear", align_corners=False)
        if raw_in and not raw_tg:
            up = up / 255.0
        bilinear_psnr = 10 * log10(unit / criterion(up, y).item())
    return {"monitors": {"": monitor}, "metric": "train_loss", "value": float(np.mean(losses[-20:])),
            "initial": float(np.mean(losses[:5])),
            "initial_what": "untrained: mean training MSE of the first 5 steps (units of a [0, 1] image)",
            "extra": {"test_psnr": psnr, "test_mse": mse, "bilinear_psnr": bilinear_psnr, "steps": len(losses), "lr": lr,
                      "batch_size": batch_size, "upscale_factor": upscale_factor,
                      "loss_units": "raw 0..255 squared / 255^2" if raw_tg else "[0, 1]"},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="super_resolution", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


CASES: list[dict] = (
    [_case(f"superres_healthy_s{s}", "healthy", s, {}, "unchanged (Adam lr 0.01, batch 64, MSELoss, upscale_factor 3; "
           "24 epochs of 8 steps)", False) for s in (1, 2, 3)]
    + [_case(f"superres_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({0.01 * k:g})")
       for k, ss in ((10, (1, 2)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case(f"superres_lr_div1000_s{s}", "lr_low", s, {"lr_mult": 1e-3}, "Adam lr /1000 (1e-05)") for s in (1, 2)]
    + [_case("superres_lr_div10_s1", "healthy", 1, {"lr_mult": 0.1}, "Adam lr /10 (0.001, as in the README's example)")]
    + [_case(f"superres_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) instead of orthogonal_ on every conv weight (biases kept)") for s in (1, 2)]
    + [_case(f"superres_zero_conv1_s{s}", "symmetric_init", s, {"zero_layer": "conv1"},
             "nn.init.zeros_ on conv1.weight and conv1.bias (the first layer)") for s in (1, 2)]
    + [_case("superres_zero_conv4_s1", "symmetric_init", 1, {"zero_layer": "conv4"},
             "nn.init.zeros_ on conv4.weight and conv4.bias (the layer before PixelShuffle)")]
    + [_case(f"superres_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": "both"},
             "raw 0..255 Y values for input and target (np.array(img) cast to float instead of ToTensor); the losses "
             "reported divided by 255^2") for s in (1, 2)]
    + [_case(f"superres_raw_input_s{s}", "unscaled_inputs", s, {"raw_pixels": "input"},
             "raw 0..255 Y values for the input only (the target through ToTensor, 0..1)") for s in (1, 2)]
    + [_case("superres_batch4_s1", "healthy", 1, {"batch_size": 4, "epochs": 2},
             "batch 4 (the README's --batchSize 4) at main.py's default lr 0.01; 2 epochs of 128 steps")]
)


if __name__ == "__main__":
    import sys
    r = train(verbose=True, **({"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}))
    print({k: v for k, v in r.items() if k != "monitors"})
