"""L1aoXingyu's pytorch-beginner convolutional autoencoder (Conv2d/ReLU/MaxPool encoder, ConvTranspose2d/ReLU/Tanh
decoder, MSELoss, Adam with weight decay) on digits upsampled to 28x28, watched by gradmedic.

Adapted from https://github.com/L1aoXingyu/pytorch-beginner (commit a57dd7ea35c9965a41f4963dee62d38884f92a65, the
newest; ``08-AutoEncoder/conv_autoencoder.py`` as last changed in db103d5).  The repository has no licence file and
its README names no licence, so this port keeps to what is needed: the network definition and the loop, re-typed
below (as pbgan.py does for the same repository's GAN).

Kept as in the original: ``batch_size = 128``, ``learning_rate = 1e-3``, ``num_epochs = 100``, the images as
``transforms.ToTensor()`` + ``transforms.Normalize((0.5), (0.5))`` give them ([-1, 1]), a shuffling DataLoader, the
``autoencoder`` class (encoder ``Conv2d(1, 16, 3, stride=3, padding=1)``, ``ReLU(True)``, ``MaxPool2d(2, stride=2)``,
``Conv2d(16, 8, 3, stride=2, padding=1)``, ``ReLU(True)``, ``MaxPool2d(2, stride=1)`` to a b x 8 x 2 x 2 code;
decoder ``ConvTranspose2d(8, 16, 3, stride=2)``, ``ReLU(True)``, ``ConvTranspose2d(16, 8, 5, stride=3, padding=1)``,
``ReLU(True)``, ``ConvTranspose2d(8, 1, 2, stride=2, padding=1)``, ``Tanh()``) with PyTorch's default init,
``nn.MSELoss()``, ``torch.optim.Adam(model.parameters(), lr=learning_rate, weight_decay=1e-5)``, and the loop
(``output = model(img)``, ``loss = criterion(output, img)``, ``optimizer.zero_grad()``, ``loss.backward()``,
``optimizer.step()``, ``total_loss += loss.data``; no clipping, no schedule).

Changed to run offline on one CPU thread without torchvision:
- MNIST is scikit-learn's ``load_digits``: the 8x8 images divided by 16 (ToTensor's [0, 1]), upsampled to MNIST's
  28x28 by ``F.interpolate(mode="bilinear", align_corners=False)`` (clamped to [0, 1]), then Normalize to [-1, 1];
  so the layer sizes are upstream's exactly (28 -> 10 -> 5 -> 3 -> 2 and back to 28); split 80/20 with
  ``train_test_split(random_state=0)`` into 1437 training and 360 held-out images (upstream trains on all 60000);
- upstream's 100 epochs, but 12 batches an epoch (the last of 29 images; upstream: 469), 1200 steps in all;
- ``torch.manual_seed(seed)`` (upstream seeds nothing); no CUDA (upstream calls ``.cuda()``), no ``save_image`` of the
  reconstructions every 10 epochs, no ``dc_img`` folder, no ``torch.save`` checkpoint; the per-epoch print only every
  10 epochs and only with ``verbose``.
Upstream has no held-out pass: the metric ("loss") is the MSE between the reconstructions of the 360 held-out
digits and the digits after training, in the normalized [-1, 1] units (for the raw-pixel variant both mapped there by
``2 v / 255 - 1``); ``initial`` is the mean of the first 5 training losses (same units); ``chance`` the held-out MSE
of the training images' mean image (0.1886).  Knobs (one per variant): ``lr_mult`` scales the Adam rate;
``pixels="raw"`` feeds and reconstructs raw 0..255 pixel values (the upsampled [0, 1] images x255, no Normalize);
``init_std`` draws every Conv2d and ConvTranspose2d weight from N(0, init_std); ``enc_bias`` sets the biases of the
encoder's two Conv2d layers; ``zero_grad=False`` leaves ``optimizer.zero_grad()`` out; ``bs`` and ``weight_decay``
replace 128 and 1e-5.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after
the loop.  (The monitor records the loss in the run's own units: for the raw-pixel variant in 0..255 units, about
1.3e4 at the start.)

``CASES`` (in the shape of run.py's ``case()``, program "pbconvae"): the program on seeds 1-3, and one change each
against the same seed's healthy run: Adam lr x2 (expected harmless), x10, x100 (seeds 1 and 2), x1000, /1000; the
images as raw 0..255 pixels, fed and reconstructed without ToTensor's scaling or Normalize (seeds 1 and 2; cause
"unscaled_inputs", as causes.py names raw 0..255 pixel inputs: here the target is the same unscaled image, which the
decoder's Tanh cannot reach, so the run could as well be read as an unscaled target); N(0, 1) on every conv weight
(seeds 1 and 2); the encoder convs' biases at -10 (dead ReLUs; seeds 1 and 2); ``optimizer.zero_grad()`` left out
(seeds 1 and 2); and two changes expected harmless, cause "healthy": batch_size 64 and weight_decay 0.  Labels come
from run.py's outcome rules only.

Recorded (cases-public103, 19 cases in 481 s on the shared 2-core machine at load ~3-4; 14-34 s a run, 18 s alone):
healthy held-out MSE 0.0638, 0.0429, 0.0408 on seeds 1-3 (from 0.801, 0.443, 0.782 over the first 5 steps; train
loss 0.060, 0.040, 0.038 at the end; the mean image scores 0.1886; every loss finite): healthy; lr x2: 0.0337:
healthy; lr x10: 0.0310: healthy; lr x100: seed 1 0.0686 (within 1.1x of its control's 0.0638; no loss above the
first): healthy, seed 2 0.1475 (control 0.0429): broken; lr x1000: 0.883 (losses up to 1.19, above the 0.81
start): broken; lr /1000: 0.8045 from 0.805 (nothing learned): broken; raw 0..255 pixels: 0.7792 on both seeds (the
Tanh output pinned at +1, i.e. -0.99 in the normalized units, which scores exactly 0.7792; train loss 0.787 of 0.80
at the start): broken; N(0, 1) conv weights: 0.772 (seed 1, from 1.67) and 0.879 (seed 2, from 1.52): broken; encoder biases -10:
0.3882 on both seeds (the code is all zeros; the decoder's biases alone make a periodic pattern, worse than the mean
image): broken; ``optimizer.zero_grad()`` left out: 0.2625 (seed 1) and 0.2348 (seed 2): broken; batch_size 64:
0.0282: healthy; weight_decay 0: 0.0413: healthy.  Labels: 8 healthy (3 programs, 5 variants), 11 broken,
0 ambiguous.  No run had a non-finite loss.  Seed 1's healthy run is the slowest of the three (still falling at
epoch 100), so lr x2, lr x10, batch 64 and weight_decay 0 all end below it.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd import Variable
from torch.utils.data import DataLoader, TensorDataset

import gradmedic

ARCH = "autoencoder"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, "
              "weight_decay=1e-5); monitor.step(loss) right after loss.backward() (nn.MSELoss() between the output and "
              "the input batch), before optimizer.step() (optimizer.zero_grad() comes before the backward, upstream's "
              "order; no clipping)")

num_epochs = 100  # upstream: 100 (here 12 batches an epoch instead of 469)
batch_size = 128
learning_rate = 1e-3


def digits(pixels: str = "normalize", seed_split: int = 0):
    """load_digits as ToTensor() + Normalize((0.5), (0.5)) would give it after a bilinear upsampling of the 8x8 images
    to MNIST's 28x28: (n, 1, 28, 28) in [-1, 1], split 1437 train / 360 held out; ``pixels="raw"``: 0..255."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x = torch.tensor(load_digits().images, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16.0  # ToTensor: [0, 1]
    x = F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False).clamp(0.0, 1.0)  # MNIST's 28x28
    tr, te = train_test_split(np.arange(len(x)), test_size=0.2, random_state=seed_split)
    if pixels == "raw":  # the unscaled variant: raw 0..255 pixel values, no ToTensor scaling, no Normalize
        x = x * 255.0
    else:
        x = (x - 0.5) / 0.5  # transforms.Normalize((0.5), (0.5))
    return x[tr], x[te]


class autoencoder(nn.Module):  # noqa: N801 (upstream's name)
    def __init__(self):
        super(autoencoder, self).__init__()  # noqa: UP008 (as upstream)
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 16, 3, stride=3, padding=1),  # b, 16, 10, 10
            nn.ReLU(True),
            nn.MaxPool2d(2, stride=2),  # b, 16, 5, 5
            nn.Conv2d(16, 8, 3, stride=2, padding=1),  # b, 8, 3, 3
            nn.ReLU(True),
            nn.MaxPool2d(2, stride=1)  # b, 8, 2, 2
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(8, 16, 3, stride=2),  # b, 16, 5, 5
            nn.ReLU(True),
            nn.ConvTranspose2d(16, 8, 5, stride=3, padding=1),  # b, 8, 15, 15
            nn.ReLU(True),
            nn.ConvTranspose2d(8, 1, 2, stride=2, padding=1),  # b, 1, 28, 28
            nn.Tanh()
        )

    def forward(self, x):
        x = self.encoder(x)
        x = self.decoder(x)
        return x


def train(seed: int = 1, lr_mult: float = 1.0, pixels: str = "normalize", init_std: float | None = None,
          enc_bias: float | None = None, zero_grad: bool = True, bs: int = batch_size,
          weight_decay: float = 1e-5, n_epochs: int = num_epochs, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    torch.manual_seed(seed)  # upstream seeds nothing
    t0 = time.time()

    x_train, x_test = digits(pixels)  # upstream: MNIST('./data', transform=img_transform)
    dataset = TensorDataset(x_train, torch.zeros(len(x_train)))
    dataloader = DataLoader(dataset, batch_size=bs, shuffle=True)
    # the outcome is measured in the normalized [-1, 1] units: the raw variant's 0..255 mapped by 2 v / 255 - 1
    unit = (lambda v: 2.0 * v / 255.0 - 1.0) if pixels == "raw" else (lambda v: v)
    sq = (2.0 / 255.0) ** 2 if pixels == "raw" else 1.0  # an MSE in the raw units times sq: the normalized units

    model = autoencoder()  # upstream: .cuda()
    if init_std is not None:  # the init_large variant: N(0, init_std) on every conv weight (upstream: PyTorch's default)
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                    nn.init.normal_(m.weight, 0.0, init_std)
    if enc_bias is not None:  # the dead_relu variant: the encoder convs' biases (before their ReLUs) set to enc_bias
        with torch.no_grad():
            for i in (0, 3):
                model.encoder[i].bias.fill_(enc_bias)
    criterion = nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate * lr_mult,
                                 weight_decay=weight_decay)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    losses = []
    for epoch in range(n_epochs):
        total_loss = 0
        for data in dataloader:
            img, _ = data
            img = Variable(img)  # upstream: .cuda()
            # ===================forward=====================
            output = model(img)
            loss = criterion(output, img)
            # ===================backward====================
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            total_loss += loss.data
            losses.append(float(loss.detach()))
        # ===================log========================
        if verbose and (epoch % 10 == 9 or epoch == n_epochs - 1):  # upstream: prints every epoch
            print('epoch [{}/{}], loss:{:.4f}'  # noqa: UP032 (as upstream)
                  .format(epoch+1, n_epochs, total_loss), f"({time.time() - t0:.1f}s)", flush=True)
        # upstream: save_image of the last batch every 10 epochs (left out)
    monitor.close()
    # upstream: torch.save(model.state_dict(), './conv_autoencoder.pth') (left out); no held-out pass upstream
    with torch.no_grad():
        test_mse = float(F.mse_loss(unit(model(x_test)), unit(x_test)))
        chance = float(F.mse_loss(unit(x_train).mean(0, keepdim=True).expand_as(x_test), unit(x_test)))
    la = np.array(losses) * sq
    return {"monitors": {"": monitor}, "metric": "loss", "value": test_mse,
            "initial": float(np.mean(la[:5])), "chance": chance,
            "initial_what": "untrained: mean training MSE of the first 5 steps (normalized [-1, 1] units)",
            "extra": {"train_loss": float(np.mean(la[-20:])), "first_loss": float(la[0]),
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "steps": len(la), "epochs": n_epochs,
                      "batch_size": bs, "lr": optimizer.param_groups[0]["lr"], "lr_mult": lr_mult,
                      "weight_decay": weight_decay, "pixels": pixels,
                      "init_std": -1.0 if init_std is None else float(init_std),
                      "enc_bias": float("nan") if enc_bias is None else float(enc_bias), "zero_grad": zero_grad,
                      "mean_image_mse": chance},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="pbconvae", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = ("conv autoencoder (Conv2d 1-16 s3, ReLU, MaxPool 2, Conv2d 16-8 s2, ReLU, MaxPool 2 s1; ConvTranspose2d 8-16 s2, "
      "ReLU, 16-8 s3, ReLU, 8-1 s2, Tanh), MSELoss, Adam lr 1e-3 weight_decay 1e-5, batch 128, "
      f"{num_epochs} epochs of 1437 digits upsampled to 28x28 in [-1, 1]")
CASES: list[dict] = (
    [_case(f"pbconvae_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"pbconvae_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({learning_rate * k:g})")
       for k, ss in ((2, (1,)), (10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("pbconvae_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 (1e-06)")]
    + [_case(f"pbconvae_raw_pixels_s{s}", "unscaled_inputs", s, {"pixels": "raw"},
             f"{_P}: the images as raw 0..255 pixel values (no ToTensor scaling, no Normalize), fed and reconstructed "
             "as such while the decoder's Tanh spans [-1, 1] (the outcome measured in the normalized units)")
       for s in (1, 2)]
    + [_case(f"pbconvae_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every Conv2d and ConvTranspose2d weight instead of PyTorch's default "
             "(kaiming_uniform_, a=sqrt(5)); biases kept") for s in (1, 2)]
    + [_case(f"pbconvae_dead_relu_s{s}", "dead_relu", s, {"enc_bias": -10.0},
             f"{_P}: the biases of the encoder's two Conv2d layers (before their ReLUs) set to -10") for s in (1, 2)]
    + [_case(f"pbconvae_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out: the gradients accumulate") for s in (1, 2)]
    + [_case("pbconvae_bs64_s1", "healthy", 1, {"bs": 64}, f"{_P}: batch_size 64 instead of 128")]
    + [_case("pbconvae_no_wd_s1", "healthy", 1, {"weight_decay": 0.0}, f"{_P}: Adam weight_decay 0 instead of 1e-5")]
)


if __name__ == "__main__":
    import ast
    import sys

    kw = {k: ast.literal_eval(v) for k, v in (a.split("=") for a in sys.argv[1:])}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
