"""Erik Linder-Noren's PyTorch-GAN: the least-squares GAN (LSGAN), on digits, watched by gradmedic with one monitor per
model.

Adapted from https://github.com/eriklindernoren/PyTorch-GAN (commit 36d3c77e5ff20ebe0aeefd322326a134a279b93e, the
newest; implementations/lsgan/lsgan.py as last changed in c5d6be170013db8975d96806084df573d87e5d26; MIT License,
Copyright (c) 2018 Erik Linder-Noren, see LICENSE-ellsgan).  The plain GAN of the same repository is elgan.py, its
ACGAN elacgan.py, its WGANs wgangp.py and elwgan.py; this module follows their conventions (two monitors, the
Frechet distance outcome) and elacgan.py's sizes (the two networks are the same but for ACGAN's label embedding).

Kept as in the original: the argparse defaults as ``opt`` (batch_size 64, lr 0.0002, b1 0.5, b2 0.999, latent_dim
100, img_size 32, channels 1); ``weights_init_normal`` (Conv weights N(0, 0.02), BatchNorm weights N(1, 0.02) and
biases 0; Linear keeps PyTorch's default) applied to both models; ``Generator`` (``l1`` Linear to a (W, 8, 8) map -
init_size = img_size // 4 -, Upsample x2, Conv3x3, ``BatchNorm2d(., 0.8)`` - eps 0.8, as upstream -, LeakyReLU(0.2),
Upsample x2, Conv3x3 to W // 2, BatchNorm2d(eps 0.8), LeakyReLU, Conv3x3 to 1 channel, Tanh); ``Discriminator``
(four ``discriminator_block``: Conv3x3 stride 2, LeakyReLU(0.2), Dropout2d(0.25), BatchNorm2d(eps 0.8) but in the
first, 1-16-32-64-128 channels, 32 -> 2x2; ``adv_layer`` Linear(512, 1) with no sigmoid); ``adversarial_loss =
torch.nn.MSELoss()`` (the least-squares loss: D pushed to 1 on real and 0 on fake, G to 1); both ``torch.optim.Adam``
with lr 0.0002 and betas (0.5, 0.999); a shuffling DataLoader; and the loop in its order: ``valid`` / ``fake``
ground truths, ``optimizer_G.zero_grad()``, z from ``np.random.normal``, ``g_loss = adversarial_loss(
discriminator(gen_imgs), valid)``, ``g_loss.backward()``, ``optimizer_G.step()``; then ``optimizer_D.zero_grad()``,
``real_loss`` and ``fake_loss`` (the fake half on ``gen_imgs.detach()``), ``d_loss = 0.5 * (real_loss +
fake_loss)``, ``d_loss.backward()``, ``optimizer_D.step()``.  ``Variable`` and ``Tensor`` as upstream.

Changed to run offline on one CPU thread without torchvision:
- scikit-learn's ``load_digits`` (all 1797 images; pixel values 0..16 divided by 16 for ToTensor's [0, 1], upscaled
  bilinearly from 8x8 to upstream's 32x32 - ``transforms.Resize(opt.img_size)`` -, then Normalize to [-1, 1])
  instead of MNIST;
- the generator's width W = 32 instead of 128 (its last block W // 2 = 16 instead of 64), as elacgan.py, for the CPU
  time (upstream's widths cost ~0.7 s a step there); depth, layer kinds and the discriminator are upstream's.  The
  img_size stays 32: at 16 the discriminator's four stride-2 blocks end at 1x1 (see elacgan.py);
- EPOCHS epochs instead of 200: 29 batches an epoch (the last of 5 images; upstream: 938 batches an epoch);
- ``torch.manual_seed(seed)`` and ``np.random.seed(seed)`` (upstream seeds neither); no CUDA, no ``save_image``
  grids; the per-batch print is left out (a verbose print every epoch instead);
- the variants' switches (below) as keyword arguments of ``train``.

The watch: two monitors, one per model, as elgan.py's: ``gradmedic.watch(discriminator, optimizer_D, every=10)``
stepped with d_loss right after ``d_loss.backward()``, before ``optimizer_D.step()``; ``gradmedic.watch(generator,
optimizer_G, every=10)`` stepped with g_loss right after ``g_loss.backward()``, before ``optimizer_G.step()``.  The
discriminator's forward in the generator's step runs its hooks too, and ``g_loss.backward()`` leaves gradients on the
discriminator, which ``optimizer_D.zero_grad()`` clears, as for any user of this code.  Saved as two parts, ``disc``
(first) and ``gen``.

Outcome, as elacgan.py's: the Frechet distance (dcgan.py's ``frechet``, squared, as FID) between 1000 generated
digits (noise from a generator seeded apart from training; the generator in training mode, as upstream samples its
grids) and the 1797 real ones, both average-pooled from 32x32 to 8x8 (64 features, in the normalized [-1, 1] units),
after training; lower is better; the untrained generator's distance is ``initial``.  Named ``frechet_64px``, so
run.py labels it by its loss rules (broken when the control's distance is under half the variant's or the variant
made at most half its control's progress from the untrained distance; healthy when it ends at most 0.7x the
untrained distance, at most 1.1x its control's, and the discriminator's d_loss never rose above twice the control's
largest).  For the raw-pixel variant the generated images are mapped back to the normalized units (``2 x / 255 -
1``).  Extras: the final d_loss, g_loss, D(x) and D(G(z)) (the discriminator's raw outputs, whose targets are 1 and
0; means of the last 20 steps), the first and largest losses, the step counts, both rates and the switches.

``CASES`` (program "ellsgan"): the program on seeds 1-3, and one change each against the same seed's healthy run:
both learning rates x2 (expected harmless), x10 and x100 (seeds 1 and 2), x1000 (added after x100 came out
ambiguous) and /1000; the discriminator's rate alone x10; the real images as raw 0..255 pixels (no ToTensor, no
Normalize) against the generator's Tanh; ``weights_init_normal`` with N(0, 1) instead of N(0, 0.02) on the
generator's Conv weights (D kept); ``optimizer_G.zero_grad()`` left out; an ``nn.Sigmoid`` added after the
discriminator's Linear head with MSELoss kept (a mix-up with the repository's BCE GANs; cause "wrong_loss");
batch size 32 (cause "healthy", expected harmless).  Labels come from run.py's outcome rules only.

Recorded (cases-public101, 16 cases in 355 s, 15-30 s a run on the shared, loaded 2-core machine; 4 epochs, 116
steps of each model): healthy Frechet distance 9.124, 8.917, 7.910 on seeds 1-3 (from the untrained generator's
38.14, 35.53, 32.69; final raw D(x) 0.52-0.69, D(G(z)) 0.32-0.44, d_loss 0.12-0.22 against ~0.5 at the start,
largest d_loss 0.49-0.54; every loss finite).  Healthy also: both rates x2 (2.948), x10 on seeds 1 and 2 (4.346,
4.116), the discriminator's rate alone x10 (9.862, 1.08x its control; D(x) 0.82, D(G(z)) 0.20), the generator's
N(0, 1) Conv init (8.505 from its own untrained 23.62: the BatchNorm2d after each Conv absorbs the scale but for the
last Conv, into the Tanh), ``optimizer_G.zero_grad()`` left out (8.480; Adam's normalized step hides the growing
sum), the Sigmoid with MSELoss (6.820; d_loss starts at 0.25, the least-squares loss on probabilities still trains)
and batch 32 (2.806, 228 steps).  Broken: both rates x1000 (71.20 from 38.14: first d_loss 348, largest 829, g_loss
up to 795), /1000 (38.13: nothing learned) and raw 0..255 pixels (48.03 from 48.37; D wins, D(x) 0.99, D(G(z))
0.03, d_loss 0.004).  Ambiguous: both rates x100 on seeds 1 and 2 (5.519, 4.933: better than their controls, but
d_loss up to 8.9 and 48.7 on the way, over twice the control's largest).  Labels: 11 healthy (3 programs, 8
variants), 3 broken, 2 ambiguous; every recorded loss finite (x1000's too, spikes and all).
Several variants end below their control's distance (x2, x10, batch 32): after 116 steps the healthy generator is
still improving (as in elacgan.py), so a faster rate or more steps helps here.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from dcgan import frechet
from torch.autograd import Variable

import gradmedic

ARCH = "gan"
PARTS = ("disc", "gen")  # the two monitors' files, {name}_disc.npz and {name}_gen.npz, in train()'s order
MONITOR_AT = ("two monitors: the discriminator's watch(discriminator, optimizer_D, every=10) stepped with d_loss "
              "(0.5 * (real_loss + fake_loss), MSELoss on the raw adversarial output) right after d_loss.backward(), "
              "before optimizer_D.step(); the generator's watch(generator, optimizer_G, every=10) stepped with g_loss "
              "(MSELoss of D(G(z)) against 1) right after g_loss.backward(), before optimizer_G.step() (the "
              "generator's step comes first in each batch)")
EPOCHS = 4


class Opt:
    """upstream's argparse defaults (``opt``)."""
    n_epochs = 200
    batch_size = 64
    lr = 0.0002
    b1 = 0.5
    b2 = 0.999
    latent_dim = 100
    img_size = 32  # as upstream (MNIST resized to 32x32; here the 8x8 digits upscaled)
    channels = 1


opt = Opt()
W = 32  # the generator's width: upstream's 128 (and 64 in its last block) divided by 4, for the CPU time


def weights_init_normal(m, std=0.02):  # upstream: no std argument (0.02); the init_large variant passes 1.0 for G
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        torch.nn.init.normal_(m.weight.data, 0.0, std)
    elif classname.find("BatchNorm") != -1:
        torch.nn.init.normal_(m.weight.data, 1.0, 0.02)
        torch.nn.init.constant_(m.bias.data, 0.0)


class Generator(nn.Module):
    def __init__(self):
        super(Generator, self).__init__()  # noqa: UP008

        self.init_size = opt.img_size // 4
        self.l1 = nn.Sequential(nn.Linear(opt.latent_dim, W * self.init_size ** 2))  # upstream: 128 for W

        self.conv_blocks = nn.Sequential(  # upstream: 128 for W, 64 for W // 2
            nn.Upsample(scale_factor=2),
            nn.Conv2d(W, W, 3, stride=1, padding=1),
            nn.BatchNorm2d(W, 0.8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(W, W // 2, 3, stride=1, padding=1),
            nn.BatchNorm2d(W // 2, 0.8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(W // 2, opt.channels, 3, stride=1, padding=1),
            nn.Tanh(),
        )

    def forward(self, z):
        out = self.l1(z)
        out = out.view(out.shape[0], W, self.init_size, self.init_size)  # upstream: 128 for W
        img = self.conv_blocks(out)
        return img


class Discriminator(nn.Module):
    def __init__(self, sigmoid: bool = False):  # upstream: no argument (the sigmoid variant passes True)
        super(Discriminator, self).__init__()  # noqa: UP008

        def discriminator_block(in_filters, out_filters, bn=True):
            block = [nn.Conv2d(in_filters, out_filters, 3, 2, 1), nn.LeakyReLU(0.2, inplace=True), nn.Dropout2d(0.25)]
            if bn:
                block.append(nn.BatchNorm2d(out_filters, 0.8))
            return block

        self.model = nn.Sequential(
            *discriminator_block(opt.channels, 16, bn=False),
            *discriminator_block(16, 32),
            *discriminator_block(32, 64),
            *discriminator_block(64, 128),
        )

        # The height and width of downsampled image
        ds_size = opt.img_size // 2 ** 4
        self.adv_layer = nn.Linear(128 * ds_size ** 2, 1)
        # upstream: no sigmoid (the least-squares loss on the raw output); the sigmoid variant adds one, as in the
        # repository's BCE GANs, and keeps MSELoss
        if sigmoid:
            self.adv_layer = nn.Sequential(nn.Linear(128 * ds_size ** 2, 1), nn.Sigmoid())

    def forward(self, img):
        out = self.model(img)
        out = out.view(out.shape[0], -1)
        validity = self.adv_layer(out)

        return validity


Tensor = torch.FloatTensor  # upstream: torch.cuda.FloatTensor if cuda else torch.FloatTensor


def digits(pixels: str = "normalize") -> torch.Tensor:
    """load_digits as ``transforms.Resize(opt.img_size)`` + ``ToTensor()`` + ``Normalize([0.5], [0.5])`` would give
    it, (1797, 1, img_size, img_size) in [-1, 1]; ``pixels="raw"``: 0..255 pixel values (no ToTensor scaling, no
    Normalize)."""
    from sklearn.datasets import load_digits

    x = torch.tensor(load_digits().images, dtype=torch.float32)[:, None] / 16.0  # ToTensor: [0, 1]
    x = F.interpolate(x, size=(opt.img_size, opt.img_size), mode="bilinear", align_corners=False).clamp(0, 1)
    if pixels == "raw":
        return x * 255.0
    return (x - 0.5) / 0.5


def to64(img: torch.Tensor) -> np.ndarray:
    """Images (n, 1, img_size, img_size) average-pooled to 8x8 and flattened: the 64 features of the outcome."""
    return F.adaptive_avg_pool2d(img, 8).reshape(len(img), 64).double().numpy()


def train(seed: int = 1, lr_mult: float = 1.0, lr_mult_d: float = 1.0, pixels: str = "normalize",
          g_init_std: float = 0.02, zero_grad_g: bool = True, sigmoid: bool = False,
          batch_size: int = opt.batch_size, n_epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    torch.manual_seed(seed)
    np.random.seed(seed)  # upstream draws z from numpy's global generator, unseeded
    t0 = time.time()

    # !!! Minimizes MSE instead of BCE
    adversarial_loss = torch.nn.MSELoss()

    # Initialize generator and discriminator
    generator = Generator()
    discriminator = Discriminator(sigmoid)

    # Initialize weights
    generator.apply(lambda m: weights_init_normal(m, g_init_std))  # upstream: generator.apply(weights_init_normal)
    discriminator.apply(weights_init_normal)

    # Configure data loader
    data = digits(pixels)
    dataloader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(data, torch.zeros(len(data))),  # upstream: datasets.MNIST(..., transform=...)
        batch_size=batch_size,
        shuffle=True,
    )
    real_all = to64(digits("normalize"))  # the reference for the outcome, in [-1, 1]

    # Optimizers
    optimizer_G = torch.optim.Adam(generator.parameters(), lr=opt.lr * lr_mult, betas=(opt.b1, opt.b2))
    optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=opt.lr * lr_mult * lr_mult_d, betas=(opt.b1, opt.b2))
    mon_d = gradmedic.watch(discriminator, optimizer_D, every=every)  # gradmedic
    mon_g = gradmedic.watch(generator, optimizer_G, every=every)  # gradmedic

    def sample_fd(n=1000):
        """The generator's Frechet distance to the 1797 real digits, both pooled to 8x8 (64 features)."""
        g = torch.Generator().manual_seed(1000 + seed)
        with torch.no_grad():
            fake = generator(torch.randn(n, opt.latent_dim, generator=g))  # training mode, as upstream samples
        if pixels == "raw":  # from the variant's 0..255 units
            fake = 2 * fake / 255.0 - 1
        if not torch.isfinite(fake).all():
            return float("nan")
        return frechet(to64(fake), real_all)

    fd_start = sample_fd()
    rec = {"d_loss": [], "g_loss": [], "d_x": [], "d_g_z": []}

    # ----------
    #  Training
    # ----------

    for epoch in range(n_epochs):
        for _i, (imgs, _) in enumerate(dataloader):  # upstream: i

            # Adversarial ground truths
            valid = Variable(Tensor(imgs.shape[0], 1).fill_(1.0), requires_grad=False)
            fake = Variable(Tensor(imgs.shape[0], 1).fill_(0.0), requires_grad=False)

            # Configure input
            real_imgs = Variable(imgs.type(Tensor))

            # -----------------
            #  Train Generator
            # -----------------

            if zero_grad_g:  # the no_zero_grad variant leaves this out
                optimizer_G.zero_grad()

            # Sample noise as generator input
            z = Variable(Tensor(np.random.normal(0, 1, (imgs.shape[0], opt.latent_dim))))

            # Generate a batch of images
            gen_imgs = generator(z)

            # Loss measures generator's ability to fool the discriminator
            g_loss = adversarial_loss(discriminator(gen_imgs), valid)

            g_loss.backward()
            mon_g.step(g_loss)  # gradmedic
            optimizer_G.step()

            # ---------------------
            #  Train Discriminator
            # ---------------------

            optimizer_D.zero_grad()

            # Measure discriminator's ability to classify real from generated samples
            d_real = discriminator(real_imgs)  # upstream: inline in real_loss (kept for D(x))
            d_fake = discriminator(gen_imgs.detach())  # upstream: inline in fake_loss (kept for D(G(z)))
            real_loss = adversarial_loss(d_real, valid)
            fake_loss = adversarial_loss(d_fake, fake)
            d_loss = 0.5 * (real_loss + fake_loss)

            d_loss.backward()
            mon_d.step(d_loss)  # gradmedic
            optimizer_D.step()
            rec["d_loss"].append(d_loss.item())
            rec["g_loss"].append(g_loss.item())
            rec["d_x"].append(d_real.mean().item())
            rec["d_g_z"].append(d_fake.mean().item())
            # upstream: the per-batch print and save_image every 1000 batches are left out

        if verbose:
            k = len(dataloader)
            print(f"[Epoch {epoch}/{n_epochs}] [D loss: {np.mean(rec['d_loss'][-k:]):f}] "
                  f"[G loss: {np.mean(rec['g_loss'][-k:]):f}] [D(x) {np.mean(rec['d_x'][-k:]):.3f}] "
                  f"[D(G(z)) {np.mean(rec['d_g_z'][-k:]):.3f}] FD {sample_fd():.3f} ({time.time() - t0:.1f}s)",
                  flush=True)

    mon_d.close()
    mon_g.close()
    fd = sample_fd()
    last = {k: float(np.mean(v[-20:])) if v else float("nan") for k, v in rec.items()}
    return {"monitors": {"disc": mon_d, "gen": mon_g}, "metric": "frechet_64px", "value": fd, "initial": fd_start,
            "chance": None, "initial_what": "untrained generator: its Frechet distance to the real digits",
            "extra": {"fd_untrained_G": fd_start, **{f"final_{k}": v for k, v in last.items()},
                      "first_d_loss": float(np.mean(rec["d_loss"][:5])),
                      "max_d_loss": float(np.nanmax(rec["d_loss"])), "max_g_loss": float(np.nanmax(rec["g_loss"])),
                      "finite_losses": bool(np.isfinite(rec["d_loss"]).all() and np.isfinite(rec["g_loss"]).all()),
                      "steps": len(rec["d_loss"]), "epochs": n_epochs, "batch_size": dataloader.batch_size,
                      "lr_D": optimizer_D.param_groups[0]["lr"], "lr_G": optimizer_G.param_groups[0]["lr"],
                      "lr_mult": lr_mult, "lr_mult_d": lr_mult_d, "pixels": pixels, "g_init_std": float(g_init_std),
                      "zero_grad_g": zero_grad_g, "sigmoid": sigmoid, "img_size": opt.img_size},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="ellsgan", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_G = ("LSGAN (conv G: Linear 100-2048 (32 x 8 x 8), 2x (Upsample, Conv3x3 32-32 and 32-16, BatchNorm2d(eps 0.8), "
      "LeakyReLU), Conv3x3 to 1 channel, Tanh; conv D: 4 stride-2 Conv3x3 blocks 16-32-64-128 with LeakyReLU, "
      "Dropout2d(0.25), BatchNorm2d(eps 0.8), a Linear(512, 1) head without sigmoid; weights_init_normal N(0, 0.02); "
      "MSELoss (least squares); both Adam lr 2e-4 betas (0.5, 0.999), batch 64, "
      f"{EPOCHS} epochs of the 1797 digits upscaled to 32x32 in [-1, 1])")
CASES: list[dict] = (
    [_case(f"ellsgan_healthy_s{s}", "healthy", s, {}, f"{_G}: unchanged", False) for s in (1, 2, 3)]
    + [_case("ellsgan_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_G}: both Adam lr x2 (4e-4)")]
    + [_case("ellsgan_batch32_s1", "healthy", 1, {"batch_size": 32},
             f"{_G}: batch size 32 instead of 64 (twice the steps an epoch; expected harmless)")]
    + [_case(f"ellsgan_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_G}: both Adam lr x{k} ({2e-4 * k:g})")
       for k, ss in ((10, (1, 2)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("ellsgan_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_G}: both Adam lr /1000 (2e-07)")]
    + [_case("ellsgan_d_lr_x10_s1", "lr_high", 1, {"lr_mult_d": 10}, f"{_G}: optimizer_D lr x10 (0.002), G unchanged")]
    + [_case("ellsgan_raw_pixels_s1", "unscaled_inputs", 1, {"pixels": "raw"},
             f"{_G}: the real images as raw 0..255 pixel values (no ToTensor scaling, no Normalize) while the "
             "generator's Tanh spans [-1, 1] (the outcome measured in the normalized units)")]
    + [_case("ellsgan_g_init_std1_s1", "init_large", 1, {"g_init_std": 1.0},
             f"{_G}: the generator's weights_init_normal with N(0, 1.0) instead of N(0, 0.02) on its Conv weights "
             "(D kept)")]
    + [_case("ellsgan_no_zero_grad_g_s1", "no_zero_grad", 1, {"zero_grad_g": False},
             f"{_G}: optimizer_G.zero_grad() left out: the generator's gradients accumulate over its steps")]
    + [_case("ellsgan_sigmoid_s1", "wrong_loss", 1, {"sigmoid": True},
             f"{_G}: an nn.Sigmoid after the discriminator's Linear head (as in the BCE GANs) with MSELoss kept")]
)


if __name__ == "__main__":
    import ast
    import sys

    kw = {k: ast.literal_eval(v) for k, v in (a.split("=") for a in sys.argv[1:])}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
