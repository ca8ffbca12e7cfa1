"""Erik Linder-Noren's PyTorch-GAN: the original GAN (an MLP generator with BatchNorm, an MLP discriminator with a
Sigmoid, BCELoss), on 8x8 digits, watched by gradmedic with one monitor per model.

Adapted from https://github.com/eriklindernoren/PyTorch-GAN (commit 36d3c77e5ff20ebe0aeefd322326a134a279b93e, the
newest; implementations/gan/gan.py as last changed in c5d6be170013db8975d96806084df573d87e5d26; MIT License,
Copyright (c) 2018 Erik Linder-Noren, see LICENSE-elgan).  The WGAN-GP of the same repository is wgangp.py, the
weight-clipped WGAN elwgan.py; this module follows their conventions (two monitors, the Frechet distance outcome).

Kept as in the original: the argparse defaults as ``opt`` (batch_size 64, lr 0.0002, b1 0.5, b2 0.999, latent_dim
100, channels 1), ``Generator`` (``block``: Linear, ``nn.BatchNorm1d(out_feat, 0.8)`` - eps 0.8, as upstream - and
LeakyReLU(0.2); 100 -> 128 (no BatchNorm) -> 256 -> 512 -> 1024 -> Linear to the image, Tanh, viewed as (1, H, W)),
``Discriminator`` (flatten, Linear 512, LeakyReLU(0.2), Linear 256, LeakyReLU(0.2), Linear 1, Sigmoid), PyTorch's
default initialization (upstream sets none), ``adversarial_loss = torch.nn.BCELoss()``, both ``torch.optim.Adam``
with lr 0.0002 and betas (0.5, 0.999), the images as ``transforms.ToTensor()`` + ``transforms.Normalize([0.5],
[0.5])`` give them ([-1, 1]), a shuffling DataLoader, and the loop in its order: ``valid`` / ``fake`` ground truths,
``optimizer_G.zero_grad()``, z from ``np.random.normal(0, 1, ...)``, ``gen_imgs = generator(z)``, ``g_loss =
adversarial_loss(discriminator(gen_imgs), valid)``, ``g_loss.backward()``, ``optimizer_G.step()``; then
``optimizer_D.zero_grad()``, ``real_loss`` on the real images against ``valid``, ``fake_loss`` on
``gen_imgs.detach()`` against ``fake``, ``d_loss = (real_loss + fake_loss) / 2``, ``d_loss.backward()``,
``optimizer_D.step()``.  ``Variable`` and ``Tensor`` (``torch.FloatTensor``) as upstream.

Changed to run offline on one CPU thread without torchvision:
- scikit-learn's ``load_digits`` (all 1797 images, 8x8, pixel values 0..16 divided by 16 for ToTensor's [0, 1], then
  Normalize to [-1, 1]) instead of MNIST, so img_size is 8 instead of 28 (``transforms.Resize(opt.img_size)`` is
  moot; the generator's last Linear is 1024 -> 64 instead of 784, the discriminator's first 64 -> 512); the sizes of
  both networks are otherwise upstream's;
- EPOCHS epochs instead of 200: 29 batches an epoch (the last of 5 images), 29 generator and 29 discriminator steps
  an epoch (upstream: 938 batches an epoch);
- ``torch.manual_seed(seed)`` and ``np.random.seed(seed)`` (upstream seeds neither); no CUDA, no ``save_image``
  grids; the per-batch print is left out (a verbose print every 10 epochs instead).

The watch: two monitors, one per model, as wgangp.py's: ``gradmedic.watch(discriminator, optimizer_D, every=10)``
stepped with d_loss right after ``d_loss.backward()``, before ``optimizer_D.step()``; ``gradmedic.watch(generator,
optimizer_G, every=10)`` stepped with g_loss right after ``g_loss.backward()``, before ``optimizer_G.step()``.  The
discriminator's forward in the generator's step runs its hooks too, and ``g_loss.backward()`` leaves gradients on the
discriminator, which ``optimizer_D.zero_grad()`` clears, as for any user of this code.  Saved as two parts, ``disc``
(first) and ``gen``.

Outcome, as wgangp.py's: the Frechet distance (dcgan.py's ``frechet``, squared, as FID) between 1000 generated digits
(noise from a generator seeded apart from training; the generator in training mode, as upstream samples its grids)
and the 1797 real ones in the 64 pixels of the normalized [-1, 1] images, after training; lower is better; the
untrained generator's distance is ``initial``.  Named ``frechet_64px``, so run.py labels it by its loss rules (broken
when the control's distance is under half the variant's or the variant made at most half its control's progress
from the untrained distance; healthy when it ends at most 0.7x the untrained distance, at most 1.1x its control's,
and the discriminator's d_loss never rose above twice the control's largest).  For the raw-pixel variant the
generated images are mapped back to the normalized units (``2 x / 255 - 1``).  Extras: the final d_loss, g_loss,
D(x) and D(G(z)) (means of the last 20 steps), the largest d_loss, the step counts and both rates.

``CASES`` (in the shape of run.py's ``case()``, program "elgan"): the program on seeds 1-3, and one change each
against the same seed's healthy run: both learning rates x2 (expected harmless), x10 and x100 (seeds 1 and 2) and
/1000; the discriminator's lr x100 only; the real images as raw 0..255 pixels (no ToTensor, no Normalize) against the
generator's Tanh; N(0, 1) on every Linear weight of the generator; ``optimizer_G.zero_grad()`` left out.  Labels come
from run.py's outcome rules only.

Recorded (cases-public59, 13 cases in ~200 s, 9-22 s a run on the shared 2-core machine; 20 epochs, 580 steps of
each model): healthy Frechet distance 16.87, 19.78, 17.41 on seeds 1-3 (from the untrained generator's 45.30, 45.26,
45.18; final D(x) ~0.56, D(G(z)) ~0.44, d_loss ~0.6, largest d_loss 0.76-1.04); healthy also: both rates x10 on
seed 2 (20.19) and, against the rules' expectation, the generator's N(0, 1) init (12.64 from 65.23, although its
discriminator wins outright at the end: D(x) 0.99, D(G(z)) 0.008, g_loss 6.7); broken: both rates x100 (51.40 with
D(x) 1.0 and D(G(z)) 0.0, g_loss 12.4; 108.8 with d_loss stuck at 50, both probabilities 0), /1000 (45.31: nothing
learned), raw 0..255 pixels (59.51 from 60.06; first d_loss 5.5, then D(x) 0.998), no ``optimizer_G.zero_grad()``
(37.98; D wins, D(G(z)) 0.007, g_loss 8.0); ambiguous: both rates x2 (21.13: 1.25x its control, the seeds' own spread
is 16.9-19.8), both rates x10 on seed 1 (16.48, but its d_loss reached 1.94, over twice the control's 0.76) and the
discriminator's rate x100 (7.57, better than its control, but d_loss up to 37.6 and g_loss up to 46 on the way).
Labels: 5 healthy (3 programs, 2 variants), 5 broken, 3 ambiguous; every loss finite.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
from dcgan import frechet
from torch.autograd import Variable

import gradmedic

ARCH = "gan"
PARTS = ("disc", "gen")  # the two monitors' files, {name}_disc.npz and {name}_gen.npz, in train()'s order
MONITOR_AT = ("two monitors: the discriminator's watch(discriminator, optimizer_D, every=10) stepped with d_loss "
              "((real_loss + fake_loss) / 2, BCELoss) right after d_loss.backward(), before optimizer_D.step(); the "
              "generator's watch(generator, optimizer_G, every=10) stepped with g_loss right after g_loss.backward(), "
              "before optimizer_G.step() (the generator's step comes first in each batch)")
EPOCHS = 20


class Opt:
    """upstream's argparse defaults (``opt``), with the image size of the 8x8 digits."""
    n_epochs = 200
    batch_size = 64
    lr = 0.0002
    b1 = 0.5
    b2 = 0.999
    latent_dim = 100
    img_size = 8  # upstream 28 (MNIST)
    channels = 1


opt = Opt()
img_shape = (opt.channels, opt.img_size, opt.img_size)


class Generator(nn.Module):
    def __init__(self):
        super(Generator, self).__init__()  # noqa: UP008

        def block(in_feat, out_feat, normalize=True):
            layers = [nn.Linear(in_feat, out_feat)]
            if normalize:
                layers.append(nn.BatchNorm1d(out_feat, 0.8))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            return layers

        self.model = nn.Sequential(
            *block(opt.latent_dim, 128, normalize=False),
            *block(128, 256),
            *block(256, 512),
            *block(512, 1024),
            nn.Linear(1024, int(np.prod(img_shape))),
            nn.Tanh()
        )

    def forward(self, z):
        img = self.model(z)
        img = img.view(img.size(0), *img_shape)
        return img


class Discriminator(nn.Module):
    def __init__(self):
        super(Discriminator, self).__init__()  # noqa: UP008

        self.model = nn.Sequential(
            nn.Linear(int(np.prod(img_shape)), 512),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 256),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(256, 1),
            nn.Sigmoid(),
        )

    def forward(self, img):
        img_flat = img.view(img.size(0), -1)
        validity = self.model(img_flat)

        return validity


Tensor = torch.FloatTensor  # upstream: torch.cuda.FloatTensor if cuda else torch.FloatTensor


def digits(pixels: str = "normalize") -> torch.Tensor:
    """load_digits as ``transforms.ToTensor()`` + ``transforms.Normalize([0.5], [0.5])`` would give it, (1797, 1, 8, 8);
    ``pixels="raw"``: the 0..255 pixel values (no ToTensor, no Normalize)."""
    from sklearn.datasets import load_digits

    x = torch.tensor(load_digits().images, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16.0  # ToTensor: [0, 1]
    if pixels == "raw":
        return x * 255.0
    return (x - 0.5) / 0.5


def train(seed: int = 1, lr_mult: float = 1.0, lr_mult_d: float = 1.0, pixels: str = "normalize",
          g_init_std: float | None = None, zero_grad_g: bool = True, n_epochs: int = EPOCHS, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    torch.manual_seed(seed)
    np.random.seed(seed)  # upstream draws z from numpy's global generator, unseeded
    t0 = time.time()

    # Loss function
    adversarial_loss = torch.nn.BCELoss()

    # Initialize generator and discriminator
    generator = Generator()
    discriminator = Discriminator()
    if g_init_std is not None:  # the init_large variant (upstream keeps PyTorch's defaults)
        with torch.no_grad():
            for m in generator.modules():
                if isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0.0, g_init_std)

    # Configure data loader
    data = digits(pixels)
    dataloader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(data, torch.zeros(len(data))),  # (imgs, _) as from datasets.MNIST
        batch_size=opt.batch_size,
        shuffle=True,
    )
    real_all = digits("normalize").reshape(-1, 64).double().numpy()  # the reference for the outcome, in [-1, 1]

    # Optimizers
    optimizer_G = torch.optim.Adam(generator.parameters(), lr=opt.lr * lr_mult, betas=(opt.b1, opt.b2))
    optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=opt.lr * lr_mult * lr_mult_d, betas=(opt.b1, opt.b2))
    mon_d = gradmedic.watch(discriminator, optimizer_D, every=every)  # gradmedic
    mon_g = gradmedic.watch(generator, optimizer_G, every=every)  # gradmedic

    def sample_fd(n=1000):
        """The generator's Frechet distance to the 1797 real digits in the 64 pixels of the normalized images."""
        g = torch.Generator().manual_seed(1000 + seed)
        with torch.no_grad():
            fake = generator(torch.randn(n, opt.latent_dim, generator=g)).reshape(n, 64)  # training mode, as upstream
        if pixels == "raw":  # from the variant's 0..255 units
            fake = 2 * fake / 255.0 - 1
        f = fake.double().numpy()
        return frechet(f, real_all) if np.isfinite(f).all() else float("nan")

    fd_start = sample_fd()
    rec = {"d_loss": [], "g_loss": [], "d_x": [], "d_g_z": []}

    # ----------
    #  Training
    # ----------

    for epoch in range(n_epochs):
        for _i, (imgs, _) in enumerate(dataloader):  # upstream: i

            # Adversarial ground truths
            valid = Variable(Tensor(imgs.size(0), 1).fill_(1.0), requires_grad=False)
            fake = Variable(Tensor(imgs.size(0), 1).fill_(0.0), requires_grad=False)

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
            d_real = discriminator(real_imgs)
            d_fake = discriminator(gen_imgs.detach())
            real_loss = adversarial_loss(d_real, valid)
            fake_loss = adversarial_loss(d_fake, fake)
            d_loss = (real_loss + fake_loss) / 2

            d_loss.backward()
            mon_d.step(d_loss)  # gradmedic
            optimizer_D.step()
            rec["d_loss"].append(d_loss.item())
            rec["g_loss"].append(g_loss.item())
            rec["d_x"].append(d_real.mean().item())
            rec["d_g_z"].append(d_fake.mean().item())

        if verbose and (epoch % 10 == 9 or epoch == n_epochs - 1):
            print(f"[Epoch {epoch}/{n_epochs}] [D loss: {np.mean(rec['d_loss'][-29:]):f}] "
                  f"[G loss: {np.mean(rec['g_loss'][-29:]):f}] [D(x) {np.mean(rec['d_x'][-29:]):.3f}] "
                  f"[D(G(z)) {np.mean(rec['d_g_z'][-29:]):.3f}] FD {sample_fd():.3f} ({time.time() - t0:.1f}s)",
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
                      "steps": len(rec["d_loss"]), "epochs": n_epochs,
                      "lr_D": optimizer_D.param_groups[0]["lr"], "lr_G": optimizer_G.param_groups[0]["lr"],
                      "lr_mult": lr_mult, "lr_mult_d": lr_mult_d, "pixels": pixels,
                      "g_init_std": -1.0 if g_init_std is None else float(g_init_std), "zero_grad_g": zero_grad_g},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="elgan", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_G = ("GAN (MLP G 100-128-256-512-1024-64 with BatchNorm1d(eps 0.8) and Tanh, MLP D 64-512-256-1 with Sigmoid, "
      f"BCELoss, both Adam lr 2e-4 betas (0.5, 0.999), batch 64, {EPOCHS} epochs of the 1797 8x8 digits in [-1, 1])")
CASES: list[dict] = (
    [_case(f"elgan_healthy_s{s}", "healthy", s, {}, f"{_G}: unchanged", False) for s in (1, 2, 3)]
    + [_case("elgan_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_G}: both Adam lr x2 (4e-4)")]
    + [_case(f"elgan_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_G}: both Adam lr x{k} ({2e-4 * k:g})")
       for k, ss in ((10, (1, 2)), (100, (1, 2))) for s in ss]
    + [_case("elgan_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_G}: both Adam lr /1000 (2e-07)")]
    + [_case("elgan_d_lr_x100_s1", "lr_high", 1, {"lr_mult_d": 100}, f"{_G}: optimizer_D lr x100 (0.02), G unchanged")]
    + [_case("elgan_raw_pixels_s1", "unscaled_inputs", 1, {"pixels": "raw"},
             f"{_G}: the real images as raw 0..255 pixel values (no ToTensor scaling, no Normalize) while the "
             "generator's Tanh spans [-1, 1] (the outcome measured in the normalized units)")]
    + [_case("elgan_g_init_std1_s1", "init_large", 1, {"g_init_std": 1.0},
             f"{_G}: nn.init.normal_(std=1.0) on every Linear weight of the generator instead of PyTorch's default "
             "(kaiming_uniform_, a=sqrt(5)); biases and D kept")]
    + [_case("elgan_no_zero_grad_g_s1", "no_zero_grad", 1, {"zero_grad_g": False},
             f"{_G}: optimizer_G.zero_grad() left out: the generator's gradients accumulate over its steps")]
)


if __name__ == "__main__":
    import ast
    import sys

    kw = {k: ast.literal_eval(v) for k, v in (a.split("=") for a in sys.argv[1:])}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
