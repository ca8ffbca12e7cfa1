"""Phillip Lippe's UvA Deep Learning Tutorial 9 ("Deep Autoencoders", AE_CIFAR10): the convolutional Encoder /
Decoder (GELU, base 32 channels, latent 128, Tanh out), MSE summed over the pixels and averaged over the batch, Adam
lr 1e-3 with ReduceLROnPlateau, on scikit-learn's digits at 16x16, watched by gradmedic.

Adapted from https://github.com/phlippe/uvadlc_notebooks (commit 0da8037c7abc32f478ff6142acceb72dbcf088ee, the
stored snapshot's HEAD; docs/tutorial_notebooks/tutorial9/AE_CIFAR10.ipynb, last changed in
1869d5257ba30b7e7e44f973bc3909a9f21d235b; MIT License, Copyright (c) 2020 Phillip Lippe, the repository's
LICENSE.md, see LICENSE-uvaae).  The notebook's code cells were read from that blob.

Kept as in the notebook: ``Encoder`` and ``Decoder`` as written (five Conv2d 3x3, padding 1, strides 2/1/2/1/2,
``act_fn = nn.GELU`` after each, ``nn.Flatten``, a Linear to ``latent_dim``; the decoder's Linear + GELU, reshape to
a grid, ConvTranspose2d(stride 2, output_padding 1) / Conv2d / ConvTranspose2d / Conv2d / ConvTranspose2d, GELU
between, ``nn.Tanh`` out), ``base_channel_size=32`` as ``train_cifar`` builds it, PyTorch's default init (the
notebook sets none); ``_get_reconstruction_loss`` line for line (``F.mse_loss(x, x_hat, reduction="none")``,
``.sum(dim=[1,2,3]).mean(dim=[0])``); ``configure_optimizers`` as written (``optim.Adam(lr=1e-3)``,
``ReduceLROnPlateau(mode='min', factor=0.2, patience=20, min_lr=5e-5)`` on "val_loss", stepped after each
validation epoch as Lightning does); the data as the notebook prepares it: ``ToTensor`` then
``Normalize((0.5,),(0.5,))`` (pixels in [-1, 1]), ``pl.seed_everything(42)`` before a ``random_split`` of the
training set into train / validation, loaders of batch 256 (train ``shuffle=True, drop_last=True``; validation and
test unshuffled); the metric is the test loss as ``trainer.test`` logs it (the batch losses averaged over the test
set).  latent_dim 128 is one of the notebook's four (64, 128, 256, 384).

Changed, to run offline on one CPU thread in under ~30 s: CIFAR-10 (a download) is scikit-learn's ``load_digits``,
1 channel (``num_input_channels=1``), the 8x8 images /16 to [0, 1] then bilinearly upsampled to 16x16 (not 32x32:
a 32x32 step took ~0.7 s here), split 1437 / 360 into train and test (``train_test_split``, random_state 0), the
1437 split 1294 / 143 (one tenth) into train / validation (upstream 45000 / 5000).  The strides are kept, so at
16x16 the encoder goes 16 -> 8 -> 4 -> 2 and its grid is 2x2: the Encoder's Linear is ``2*4*c_hid`` (upstream
``2*16*c_hid``, a 4x4 grid), the Decoder's Linear is ``2*4*c_hid`` and it reshapes to ``(-1, 2, 2)`` (upstream 4,
4), its ConvTranspose2d go 2 -> 4 -> 8 -> 16; nothing else in the layers changes.  The Lightning module is a plain
``nn.Module`` with the same methods and a plain loop does what ``trainer.fit`` does (``training_step``'s loss,
``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``; a validation pass after each epoch feeding
the scheduler); 20 epochs of 5 steps (100 steps) instead of ``max_epochs=500`` of 175 steps, so the scheduler
(patience 20) never reduces the lr in the healthy runs; ``torch.manual_seed(seed)`` after the split (the
notebook: 42 everywhere); the checkpoint download, ModelCheckpoint, GenerateCallback, LearningRateMonitor,
TensorBoard and the plots are left out.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after
``configure_optimizers`` returns the optimizer and scheduler; ``monitor.step(loss)`` right after
``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the last epoch.

``CASES`` (program "uvaae"): the program on seeds 1-3 (control=False), and one change each against the same seed's
healthy run: Adam lr x10 (seed 1), x100 (seeds 1 and 2), /1000; the digits' raw 0..16 values (no /16, no
Normalize: "unscaled_inputs"); every Conv2d / ConvTranspose2d / Linear weight and bias ``normal_(std=1)``;
``optimizer.zero_grad()`` left out; latent_dim 64 (seed 1) and 256 (seed 2) instead of 128 (cause "healthy",
expected harmless: the notebook trains all of 64..384).  The notebook does not clip, so there is no clipping case.
Labels come from run.py's outcome rules only.

Recorded (cases-public67, 12 runs in 289 s, 15-31 s a run on the shared 2-core machine under a load of 4-6; the
test loss is the summed squared error per 16x16 image): healthy 35.6, 36.9, 43.2 on seeds 1-3 (training loss
116.8 / 144.6 / 210.7 at the start, 37.5-44.3 at the end, largest 120-218, every loss finite): healthy; lr x10
(0.01): losses up to 608, train loss 228, test 221.5: broken; lr x100 (0.1): test 198.1 (seed 1) and 209.0
(seed 2), losses up to 205 and 488, training stuck near 200-210: broken; lr /1000 (1e-6): the loss stays at 118.9
-> 118.8, test 118.5: broken; raw 0..16 pixels: start 13060, test 10450 (the Tanh output cannot reach 16): broken;
N(0, 1) init: the loss stays at 277.5 -> 277.5, test 276.4: broken; zero_grad left out: losses up to 216, train
loss 85.5, test 104.4: broken; latent 64: test 45.2 (start 118.9): healthy; latent 256 (seed 2): test 45.6
(start 111.6): healthy.  Labels: 5 healthy (3 programs, 2 variants), 7 broken, 0 ambiguous.  Every loss was finite.
A first recording with 25 epochs (runs of 28-39 s, too long) gave the same labels (healthy 29.4, 30.4, 41.3).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
import torch.utils.data as data

import gradmedic

ARCH = "autoencoder"
MONITOR_AT = ("watch(model, optimizer, every=10) right after configure_optimizers' Adam and ReduceLROnPlateau are "
              "built; monitor.step(loss) right after loss.backward() of training_step's reconstruction loss, before "
              "optimizer.step()")
LR = 1e-3
LATENT_DIM = 128
MAX_EPOCHS = 20


def digits32(input_scale=1.0):
    """load_digits as 1x16x16 images: /16 to [0, 1] (ToTensor), bilinear 8x8 -> 16x16, Normalize((0.5,), (0.5,)).

    ``input_scale`` 16 (the raw_pixels variant) keeps the digits' raw 0..16 values: no /16 and no Normalize.
    Returns (train_dataset, test_set) as TensorDatasets of (image, label)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.data, d.target, test_size=0.2, random_state=0)

    def f(x):
        x = torch.tensor(x, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16.0
        x = F.interpolate(x, size=(16, 16), mode="bilinear", align_corners=False)
        if input_scale != 1.0:
            return x * input_scale  # raw 0..16 values, no Normalize
        return (x - 0.5) / 0.5  # transforms.Normalize((0.5,), (0.5,))

    return data.TensorDataset(f(xtr), torch.tensor(ytr)), data.TensorDataset(f(xte), torch.tensor(yte))


class Encoder(nn.Module):

    def __init__(self,
                 num_input_channels : int,
                 base_channel_size : int,
                 latent_dim : int,
                 act_fn : object = nn.GELU):
        super().__init__()
        c_hid = base_channel_size
        self.net = nn.Sequential(
            nn.Conv2d(num_input_channels, c_hid, kernel_size=3, padding=1, stride=2), # 16x16 => 8x8 (CIFAR: 32x32 => 16x16)
            act_fn(),
            nn.Conv2d(c_hid, c_hid, kernel_size=3, padding=1),
            act_fn(),
            nn.Conv2d(c_hid, 2*c_hid, kernel_size=3, padding=1, stride=2), # 8x8 => 4x4 (CIFAR: 16x16 => 8x8)
            act_fn(),
            nn.Conv2d(2*c_hid, 2*c_hid, kernel_size=3, padding=1),
            act_fn(),
            nn.Conv2d(2*c_hid, 2*c_hid, kernel_size=3, padding=1, stride=2), # 4x4 => 2x2 (CIFAR: 8x8 => 4x4)
            act_fn(),
            nn.Flatten(), # Image grid to single feature vector
            nn.Linear(2*4*c_hid, latent_dim)  # a 2x2 grid (CIFAR: 2*16*c_hid, 4x4)
        )

    def forward(self, x):
        return self.net(x)


class Decoder(nn.Module):

    def __init__(self,
                 num_input_channels : int,
                 base_channel_size : int,
                 latent_dim : int,
                 act_fn : object = nn.GELU):
        super().__init__()
        c_hid = base_channel_size
        self.linear = nn.Sequential(
            nn.Linear(latent_dim, 2*4*c_hid),  # a 2x2 grid (CIFAR: 2*16*c_hid, 4x4)
            act_fn()
        )
        self.net = nn.Sequential(
            nn.ConvTranspose2d(2*c_hid, 2*c_hid, kernel_size=3, output_padding=1, padding=1, stride=2), # 2 => 4 (CIFAR 4 => 8)
            act_fn(),
            nn.Conv2d(2*c_hid, 2*c_hid, kernel_size=3, padding=1),
            act_fn(),
            nn.ConvTranspose2d(2*c_hid, c_hid, kernel_size=3, output_padding=1, padding=1, stride=2), # 4x4 => 8x8 (CIFAR 8 => 16)
            act_fn(),
            nn.Conv2d(c_hid, c_hid, kernel_size=3, padding=1),
            act_fn(),
            # 8x8 => 16x16 (CIFAR: 16x16 => 32x32)
            nn.ConvTranspose2d(c_hid, num_input_channels, kernel_size=3, output_padding=1, padding=1, stride=2),
            nn.Tanh() # The input images is scaled between -1 and 1, hence the output has to be bounded as well
        )

    def forward(self, x):
        x = self.linear(x)
        x = x.reshape(x.shape[0], -1, 2, 2)  # CIFAR: 4, 4
        x = self.net(x)
        return x


class Autoencoder(nn.Module):
    """The notebook's pl.LightningModule as a plain nn.Module (no save_hyperparameters / example_input_array)."""

    def __init__(self,
                 base_channel_size: int,
                 latent_dim: int,
                 encoder_class : object = Encoder,
                 decoder_class : object = Decoder,
                 num_input_channels: int = 3,
                 width: int = 16,
                 height: int = 16):
        super().__init__()
        # Creating encoder and decoder
        self.encoder = encoder_class(num_input_channels, base_channel_size, latent_dim)
        self.decoder = decoder_class(num_input_channels, base_channel_size, latent_dim)

    def forward(self, x):
        """
        The forward function takes in an image and returns the reconstructed image
        """
        z = self.encoder(x)
        x_hat = self.decoder(z)
        return x_hat

    def _get_reconstruction_loss(self, batch):
        """
        Given a batch of images, this function returns the reconstruction loss (MSE in our case)
        """
        x, _ = batch # We do not need the labels
        x_hat = self.forward(x)
        loss = F.mse_loss(x, x_hat, reduction="none")
        loss = loss.sum(dim=[1,2,3]).mean(dim=[0])
        return loss

    def configure_optimizers(self, lr=LR):
        optimizer = optim.Adam(self.parameters(), lr=lr)
        # The scheduler reduces the LR if the validation performance hasn't improved for the last N epochs
        scheduler = optim.lr_scheduler.ReduceLROnPlateau(optimizer,
                                                         mode='min',
                                                         factor=0.2,
                                                         patience=20,
                                                         min_lr=5e-5)
        return {"optimizer": optimizer, "lr_scheduler": scheduler, "monitor": "val_loss"}


def _mean_loss(model, loader):
    """Lightning's validation / test epoch: the batch losses averaged, weighted by batch size."""
    model.eval()
    tot, n = 0.0, 0
    with torch.no_grad():
        for x, y in loader:
            tot += float(model._get_reconstruction_loss((x, y))) * len(x)
            n += len(x)
    model.train()
    return tot / n


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, init: str = "default",
          zero_grad: bool = True, latent_dim: int = LATENT_DIM, max_epochs: int = MAX_EPOCHS, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(42)  # pl.seed_everything(42) before the split, as the notebook
    t0 = time.time()
    train_dataset, test_set = digits32(input_scale)
    n_val = len(train_dataset) // 10
    train_set, val_set = data.random_split(train_dataset, [len(train_dataset) - n_val, n_val])
    torch.manual_seed(seed)
    train_loader = data.DataLoader(train_set, batch_size=256, shuffle=True, drop_last=True)
    val_loader = data.DataLoader(val_set, batch_size=256, shuffle=False, drop_last=False)
    test_loader = data.DataLoader(test_set, batch_size=256, shuffle=False, drop_last=False)

    model = Autoencoder(base_channel_size=32, latent_dim=latent_dim, num_input_channels=1)
    if init != "default":
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                if init == "std1":  # the init_large variant
                    nn.init.normal_(m.weight, std=1.0)
                    nn.init.normal_(m.bias, std=1.0)
                else:
                    raise ValueError(init)
    lr = LR * lr_mult
    opt = model.configure_optimizers(lr)
    optimizer, scheduler = opt["optimizer"], opt["lr_scheduler"]
    monitor = gradmedic.watch(model, optimizer, every=every)
    losses, val_losses = [], []
    model.train()
    for epoch in range(max_epochs):
        for batch in train_loader:
            loss = model._get_reconstruction_loss(batch)  # training_step
            if zero_grad:  # the no_zero_grad variant leaves this out (Lightning zeroes before each step)
                optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(float(loss.detach()))
        val_loss = _mean_loss(model, val_loader)
        val_losses.append(val_loss)
        scheduler.step(val_loss)  # Lightning: ReduceLROnPlateau on "val_loss" after each validation epoch
        if verbose:
            print(f"epoch {epoch + 1} train {np.mean(losses[-5:]):.2f} val {val_loss:.2f} "
                  f"({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    test_loss = _mean_loss(model, test_loader)
    return {"monitors": {"": monitor}, "metric": "loss", "value": test_loss, "chance": None,
            "initial": float(np.mean(losses[:5])),
            "initial_what": "mean of the first 5 training reconstruction losses (summed squared error per image)",
            "extra": dict(test_loss=test_loss, val_loss=val_losses[-1], lr=lr,
                          final_lr=float(optimizer.param_groups[0]["lr"]),
                          train_loss=float(np.mean(losses[-20:])), first_loss=float(np.mean(losses[:5])),
                          max_loss=float(np.nanmax(losses)), finite_losses=bool(np.isfinite(losses).all()),
                          steps=len(losses), epochs=max_epochs, lr_mult=lr_mult, input_scale=input_scale,
                          init=init, zero_grad=zero_grad, latent_dim=latent_dim),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="uvaae", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"UvA tutorial 9 convolutional autoencoder (Encoder/Decoder, GELU, base 32 channels, latent {LATENT_DIM}, Tanh "
      f"out; MSE summed over pixels, mean over the batch; Adam lr {LR:g}, ReduceLROnPlateau; batch 256, "
      f"{MAX_EPOCHS} epochs on 1x16x16 digits)")
CASES: list[dict] = (
    [_case(f"uvaae_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"uvaae_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("uvaae_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case("uvaae_raw_pixels_s1", "unscaled_inputs", 1, {"input_scale": 16.0},
             f"{_P}: inputs unscaled (the digits' raw 0..16 values, no /16 and no Normalize)")]
    + [_case("uvaae_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_P}: every Conv2d / ConvTranspose2d / Linear weight and bias normal_(std=1)")]
    + [_case("uvaae_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("uvaae_latent64_s1", "healthy", 1, {"latent_dim": 64},
             f"{_P}: latent_dim 64 instead of {LATENT_DIM} (expected harmless)")]
    + [_case("uvaae_latent256_s2", "healthy", 2, {"latent_dim": 256},
             f"{_P}: latent_dim 256 instead of {LATENT_DIM} (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
