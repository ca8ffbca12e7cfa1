"""Erik Linder-Noren's PyTorch-GAN: WGAN-GP (an MLP generator with BatchNorm, an MLP critic, the Wasserstein loss
with a gradient penalty, n_critic 5), on 8x8 digits, watched by gradmedic with one monitor per model.

Adapted from https://github.com/eriklindernoren/PyTorch-GAN (commit 36d3c77e5ff20ebe0aeefd322326a134a279b93e, the
newest; implementations/wgan_gp/wgan_gp.py as last changed in c5d6be170013db8975d96806084df573d87e5d26; MIT License,
Copyright (c) 2018 Erik Linder-Noren, see LICENSE-wgangp).

Kept as in the original: the argparse defaults as ``opt`` (batch_size 64, lr 0.0002, b1 0.5, b2 0.999, latent_dim
100, channels 1, n_critic 5, and the unused clip_value), ``Generator`` (``block``: Linear, ``nn.BatchNorm1d(out_feat,
0.8)`` - eps 0.8, as upstream - and LeakyReLU(0.2); 100 -> 128 (no BatchNorm) -> 256 -> 512 -> 1024 -> Linear to the
image, Tanh, viewed as (1, H, W)), ``Discriminator`` (the critic: flatten, Linear 512, LeakyReLU(0.2), Linear 256,
LeakyReLU(0.2), Linear 1, no Sigmoid), PyTorch's default initialization (upstream sets none), ``lambda_gp = 10``,
``compute_gradient_penalty`` (alpha from ``np.random.random``, the interpolates, ``autograd.grad`` with create_graph,
``((norm - 1) ** 2).mean()``), both ``torch.optim.Adam`` with lr 0.0002 and betas (0.5, 0.999), the images as
``transforms.ToTensor()`` + ``transforms.Normalize([0.5], [0.5])`` give them ([-1, 1]), a shuffling DataLoader, and
the loop in its order: ``optimizer_D.zero_grad()``, z from ``np.random.normal``, ``fake_imgs = generator(z)`` (not
detached), the critic on the real and the fake images, the penalty on ``real_imgs.data`` and ``fake_imgs.data``,
``d_loss = -mean(real_validity) + mean(fake_validity) + lambda_gp * gradient_penalty``, ``d_loss.backward()``,
``optimizer_D.step()``, ``optimizer_G.zero_grad()``, then every ``i % n_critic == 0`` (i the batch index within the
epoch) the generator step on the same z: ``g_loss = -mean(discriminator(generator(z)))``, ``g_loss.backward()``,
``optimizer_G.step()``.  ``Variable`` and ``Tensor`` (``torch.FloatTensor``) as upstream.

Changed to run offline on one CPU thread without torchvision:
- scikit-learn's ``load_digits`` (all 1797 images, 8x8, pixel values 0..16 divided by 16 for ToTensor's [0, 1])
  instead of MNIST, so img_size is 8 instead of 28 (the last Linear is 1024 -> 64 instead of 784, the critic's first
  64 -> 512); the sizes of both networks are otherwise upstream's;
- 30 epochs instead of 200: 29 batches an epoch (the last of 5 images), 870 critic steps and 180 generator steps
  (upstream: 938 batches an epoch); ~20-30 s a run.  The healthy run's distance falls 45 -> 9.2 at 30 epochs, 8.1 at
  40 (seed 1, tried by hand before recording);
- ``torch.manual_seed(seed)`` and ``np.random.seed(seed)`` (upstream seeds neither); no CUDA, no ``save_image``
  grids; the per-G-step print is left out (a verbose print every 10 epochs instead).

The watch: two monitors, one per model, as for the other GANs here (dcgan.py, fcgan.py):
``gradmedic.watch(discriminator, optimizer_D, every=10)`` stepped with d_loss right after ``d_loss.backward()``,
before ``optimizer_D.step()``; ``gradmedic.watch(generator, optimizer_G, every=10)`` stepped with g_loss right after
``g_loss.backward()``, before ``optimizer_G.step()`` (every fifth batch, so every=10 records every 50th batch).  The
critic's forward on the interpolates (inside the penalty) and in the generator's step runs its hooks too, and
``d_loss.backward()`` leaves gradients on the generator (the fake images are not detached), which
``optimizer_G.zero_grad()`` clears, as for any user of this code.  Saved as two parts, ``disc`` and ``gen``.

Outcome, as dcgan.py's and fcgan.py's: a GAN's losses do not say how good it is (a WGAN's d_loss is the negative
critic estimate of the Wasserstein distance plus the penalty), so the outcome is the Frechet distance between 1000
generated digits (noise from a generator seeded apart from training; the generator in training mode, as upstream
samples its grids, BatchNorm on the batch's statistics) and the 1797 real ones in the 64-pixel space of the
normalized [-1, 1] images (mean and covariance, like FID without an Inception network; dcgan.py's ``frechet``); lower
is better; the untrained generator's distance (~45) is ``initial``.  For the variants that change the real images'
units the generated images are mapped back to the normalized units (``2 x - 1`` from [0, 1], ``2 x / 255 - 1``
from 0..255).  The metric is named ``frechet_64px``, not ``frechet_8x8``: run.py's GAN rules for ``frechet_8x8``
also ask that a BCE discriminator has not won outright (its final D(x) and D(G(z)) probabilities), which a WGAN
critic's unbounded scores do not have, so this program is labelled by run.py's rules for a loss (broken when the
control's distance is under half the variant's or the variant made at most half its control's progress from the
untrained generator's distance; healthy when it ends at most 0.7x the untrained distance, at most 1.1x its
control's, and its critic's d_loss never rose above twice the control's largest).  The final d_loss, g_loss, the
penalty and the critic's estimate mean(D(real)) - mean(D(fake)) (means of the last 20 records) go to ``extra``.

``CASES`` (in the shape of run.py's ``case()``, program "wgangp", name prefix wgangp): the program on seeds 1-3, and
one change each against the same seed's healthy run: both learning rates x2, x10, x100 (seeds 1 and 2), x1000 and
/1000; the critic's lr x100 only; the generator's lr x100 only; the real images as raw 0..255 pixels (no ToTensor,
no Normalize); Normalize left out ([0, 1] images against the generator's Tanh); N(0, 1) on every Linear weight of
both models (seeds 1 and 2); zeros on every Linear weight and bias of the generator; the critic's
``optimizer_D.zero_grad()`` left out; the generator's ``optimizer_G.zero_grad()`` left out; a Sigmoid on the
critic's output under the Wasserstein loss (seeds 1 and 2; a wrong loss for the output); the generator's BatchNorm1d
layers taken out; BatchNorm1d's eps set to the default 1e-5 instead of upstream's 0.8 (cause "healthy": the second
positional argument of nn.BatchNorm1d is eps; the 0.8 is probably meant as a momentum, as in Keras'
``BatchNormalization(momentum=0.8)``). Not carried: no clipping (upstream clips nothing; its clip_value is a
leftover of wgan.py). Labels come from run.py's outcome rules only.

Recorded (cases-public32, 22 cases in 474 s, 18-30 s a run on a shared 2-core machine): healthy Frechet distance
9.218, 8.122, 8.346 on seeds 1-3 (from the untrained generator's 45.30, 45.26, 45.18; the critic's estimate ~2.0,
the penalty ~0.013); healthy also: both rates x2 (5.695) and x10 (5.518; its g_loss reached 4.2), and the default
BatchNorm eps (4.207, from 39.36); broken: both rates x100 (38.83, 22.71; d_loss up to 1.9e6 and 1.2e6), x1000
(91.74), /1000 (45.31: nothing learned), the critic's rate x100 (43.27; d_loss up to 7.9e6), raw 0..255 pixels
(59.46 from 60.06: the critic's estimate 3.4e4), N(0, 1) weights (64.46, 63.91; d_loss 1.7e7 and 2.4e7 at the
start), the generator's zero init (43.70: with every weight zero only the last bias can learn, one image for every
z), no ``optimizer_D.zero_grad()`` (19.49), no ``optimizer_G.zero_grad()`` (162.0), the Sigmoid on the critic
(41.19, 36.42); ambiguous: the generator's rate x100 (16.76: 1.8x its control), Normalize left out (10.33: 1.12x)
and the generator without BatchNorm (14.51: 1.6x).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.autograd as autograd
import torch.nn as nn
from dcgan import frechet
from torch.autograd import Variable

import gradmedic

ARCH = "gan"
PARTS = ("disc", "gen")  # the two monitors' files, {name}_disc.npz and {name}_gen.npz, in train()'s order
MONITOR_AT = ("two monitors: the discriminator's (critic's) watch(discriminator, optimizer_D, every=10) stepped with "
              "d_loss (Wasserstein loss + lambda_gp * gradient penalty) right after d_loss.backward(), before "
              "optimizer_D.step(); the generator's watch(generator, optimizer_G, every=10) stepped with g_loss right "
              "after g_loss.backward(), before optimizer_G.step() (every n_critic=5th batch)")


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
    n_critic = 5
    clip_value = 0.01  # unused by wgan_gp.py (a leftover of wgan.py), as upstream


opt = Opt()
img_shape = (opt.channels, opt.img_size, opt.img_size)


class Generator(nn.Module):
    def __init__(self, bn=True, bn_eps=0.8):
        super(Generator, self).__init__()  # noqa: UP008

        def block(in_feat, out_feat, normalize=True):
            layers = [nn.Linear(in_feat, out_feat)]
            if normalize and bn:
                layers.append(nn.BatchNorm1d(out_feat, bn_eps))  # upstream: nn.BatchNorm1d(out_feat, 0.8), eps 0.8
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
        img = img.view(img.shape[0], *img_shape)
        return img


class Discriminator(nn.Module):
    def __init__(self, sigmoid=False):
        super(Discriminator, self).__init__()  # noqa: UP008

        self.model = nn.Sequential(
            nn.Linear(int(np.prod(img_shape)), 512),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 256),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(256, 1),
            *([nn.Sigmoid()] if sigmoid else []),  # the variant: a Sigmoid on the critic's output
        )

    def forward(self, img):
        img_flat = img.view(img.shape[0], -1)
        validity = self.model(img_flat)
        return validity


Tensor = torch.FloatTensor  # upstream: torch.cuda.FloatTensor if cuda else torch.FloatTensor


def compute_gradient_penalty(D, real_samples, fake_samples):
    """Calculates the gradient penalty loss for WGAN GP"""
    # Random weight term for interpolation between real and fake samples
    alpha = Tensor(np.random.random((real_samples.size(0), 1, 1, 1)))
    # Get random interpolation between real and fake samples
    interpolates = (alpha * real_samples + ((1 - alpha) * fake_samples)).requires_grad_(True)
    d_interpolates = D(interpolates)
    fake = Variable(Tensor(real_samples.shape[0], 1).fill_(1.0), requires_grad=False)
    # Get gradient w.r.t. interpolates
    gradients = autograd.grad(
        outputs=d_interpolates,
        inputs=interpolates,
        grad_outputs=fake,
        create_graph=True,
        retain_graph=True,
        only_inputs=True,
    )[0]
    gradients = gradients.view(gradients.size(0), -1)
    gradient_penalty = ((gradients.norm(2, dim=1) - 1) ** 2).mean()
    return gradient_penalty


def digits(pixels: str = "normalize") -> torch.Tensor:
    """load_digits as ``transforms.ToTensor()`` + ``transforms.Normalize([0.5], [0.5])`` would give it, (1797, 1, 8, 8);
    ``pixels="tensor"``: ToTensor only ([0, 1]); ``"raw"``: the 0..255 pixel values (no ToTensor, no Normalize)."""
    from sklearn.datasets import load_digits

    x = torch.tensor(load_digits().images, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16.0  # ToTensor: [0, 1]
    if pixels == "raw":
        return x * 255.0
    return (x - 0.5) / 0.5 if pixels == "normalize" else x


def train(seed: int = 1, lr_mult: float = 1.0, lr_mult_d: float = 1.0, lr_mult_g: float = 1.0,
          pixels: str = "normalize", init_std: float | None = None, g_zero_init: bool = False, bn: bool = True,
          bn_eps: float = 0.8, sigmoid: bool = False, zero_grad_d: bool = True, zero_grad_g: bool = True,
          n_epochs: int = 30, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    torch.manual_seed(seed)
    np.random.seed(seed)  # upstream draws z and the penalty's alpha from numpy's global generator, unseeded
    t0 = time.time()

    # Loss weight for gradient penalty
    lambda_gp = 10

    # Initialize generator and discriminator
    generator = Generator(bn=bn, bn_eps=bn_eps)
    discriminator = Discriminator(sigmoid=sigmoid)
    with torch.no_grad():  # the variants' inits (upstream keeps PyTorch's defaults)
        if init_std is not None:
            for m in (*generator.modules(), *discriminator.modules()):
                if isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0.0, init_std)
        if g_zero_init:
            for m in generator.modules():
                if isinstance(m, nn.Linear):
                    nn.init.zeros_(m.weight)
                    nn.init.zeros_(m.bias)

    # Configure data loader
    data = digits(pixels)
    dataloader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(data, torch.zeros(len(data))),  # (imgs, _) as from datasets.MNIST
        batch_size=opt.batch_size,
        shuffle=True,
    )
    real_all = digits("normalize").reshape(-1, 64).double().numpy()  # the reference for the outcome, in [-1, 1]

    # Optimizers
    optimizer_G = torch.optim.Adam(generator.parameters(), lr=opt.lr * lr_mult * lr_mult_g, betas=(opt.b1, opt.b2))
    optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=opt.lr * lr_mult * lr_mult_d, betas=(opt.b1, opt.b2))
    mon_d = gradmedic.watch(discriminator, optimizer_D, every=every)  # gradmedic
    mon_g = gradmedic.watch(generator, optimizer_G, every=every)  # gradmedic

    def sample_fd(n=1000):
        """The generator's Frechet distance to the 1797 real digits in the 64 pixels of the normalized images."""
        g = torch.Generator().manual_seed(1000 + seed)
        with torch.no_grad():
            fake = generator(torch.randn(n, opt.latent_dim, generator=g)).reshape(n, 64)  # training mode, as upstream
        if pixels == "tensor":  # from the variant's [0, 1] units to the normalized ones
            fake = 2 * fake - 1
        elif pixels == "raw":  # from the variant's 0..255 units
            fake = 2 * fake / 255.0 - 1
        f = fake.double().numpy()
        return frechet(f, real_all) if np.isfinite(f).all() else float("nan")

    fd_start = sample_fd()
    rec = {"d_loss": [], "g_loss": [], "gp": [], "wdist": []}

    # ----------
    #  Training
    # ----------

    batches_done = 0
    for epoch in range(n_epochs):
        for i, (imgs, _) in enumerate(dataloader):

            # Configure input
            real_imgs = Variable(imgs.type(Tensor))

            # ---------------------
            #  Train Discriminator
            # ---------------------

            if zero_grad_d:
                optimizer_D.zero_grad()

            # Sample noise as generator input
            z = Variable(Tensor(np.random.normal(0, 1, (imgs.shape[0], opt.latent_dim))))

            # Generate a batch of images
            fake_imgs = generator(z)

            # Real images
            real_validity = discriminator(real_imgs)
            # Fake images
            fake_validity = discriminator(fake_imgs)
            # Gradient penalty
            gradient_penalty = compute_gradient_penalty(discriminator, real_imgs.data, fake_imgs.data)
            # Adversarial loss
            d_loss = -torch.mean(real_validity) + torch.mean(fake_validity) + lambda_gp * gradient_penalty

            d_loss.backward()
            mon_d.step(d_loss)  # gradmedic
            optimizer_D.step()
            rec["d_loss"].append(d_loss.item())
            rec["gp"].append(gradient_penalty.item())
            rec["wdist"].append((torch.mean(real_validity) - torch.mean(fake_validity)).item())

            if zero_grad_g:
                optimizer_G.zero_grad()

            # Train the generator every n_critic steps
            if i % opt.n_critic == 0:

                # -----------------
                #  Train Generator
                # -----------------

                # Generate a batch of images
                fake_imgs = generator(z)
                # Loss measures generator's ability to fool the discriminator
                # Train on fake images
                fake_validity = discriminator(fake_imgs)
                g_loss = -torch.mean(fake_validity)

                g_loss.backward()
                mon_g.step(g_loss)  # gradmedic
                optimizer_G.step()
                rec["g_loss"].append(g_loss.item())

                batches_done += opt.n_critic
        if verbose and (epoch % 10 == 9 or epoch == n_epochs - 1):
            print(f"[Epoch {epoch}/{n_epochs}] [D loss: {np.mean(rec['d_loss'][-29:]):f}] "
                  f"[G loss: {np.mean(rec['g_loss'][-6:]):f}] [W {np.mean(rec['wdist'][-29:]):f}] "
                  f"[GP {np.mean(rec['gp'][-29:]):f}] FD {sample_fd():.3f} ({time.time() - t0:.1f}s)", flush=True)

    mon_d.close()
    mon_g.close()
    fd = sample_fd()
    last = {k: float(np.mean(v[-20:])) if v else float("nan") for k, v in rec.items()}
    return {"monitors": {"disc": mon_d, "gen": mon_g}, "metric": "frechet_64px", "value": fd, "initial": fd_start,
            "chance": None, "initial_what": "untrained generator: its Frechet distance to the real digits",
            "extra": {"fd_untrained_G": fd_start, **{f"final_{k}": v for k, v in last.items()},
                      "max_d_loss": float(np.nanmax(rec["d_loss"])) if rec["d_loss"] else None,
                      "d_steps": len(rec["d_loss"]), "g_steps": len(rec["g_loss"]), "epochs": n_epochs,
                      "lr_D": optimizer_D.param_groups[0]["lr"], "lr_G": optimizer_G.param_groups[0]["lr"]},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="wgangp", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_W = ("WGAN-GP (MLP G 100-128-256-512-1024-64 with BatchNorm1d(eps 0.8) and Tanh, MLP critic 64-512-256-1, both Adam "
      "lr 2e-4 betas (0.5, 0.999), lambda_gp 10, n_critic 5, batch 64, 30 epochs of the 1797 8x8 digits in [-1, 1])")
CASES: list[dict] = (
    [_case(f"wgangp_healthy_s{s}", "healthy", s, {}, f"{_W}: unchanged", False) for s in (1, 2, 3)]
    + [_case("wgangp_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_W}: both Adam lr x2 (4e-4)")]
    + [_case(f"wgangp_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_W}: both Adam lr x{k} ({2e-4 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("wgangp_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_W}: both Adam lr /1000 (2e-07)")]
    + [_case("wgangp_d_lr_x100_s1", "lr_high", 1, {"lr_mult_d": 100}, f"{_W}: optimizer_D lr x100 (0.02), G unchanged")]
    + [_case("wgangp_g_lr_x100_s1", "lr_high", 1, {"lr_mult_g": 100}, f"{_W}: optimizer_G lr x100 (0.02), D unchanged")]
    + [_case("wgangp_raw_pixels_s1", "unscaled_inputs", 1, {"pixels": "raw"},
             f"{_W}: the real images as raw 0..255 pixel values (no ToTensor scaling, no Normalize) while the "
             "generator's Tanh spans [-1, 1] (the outcome measured in the normalized units)")]
    + [_case("wgangp_no_normalize_s1", "unscaled_inputs", 1, {"pixels": "tensor"},
             f"{_W}: Normalize([0.5], [0.5]) left out: real images in [0, 1] while the generator's Tanh spans [-1, 1]")]
    + [_case(f"wgangp_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_W}: nn.init.normal_(std=1.0) on every Linear weight of G and D instead of PyTorch's default "
             "(kaiming_uniform_, a=sqrt(5)); biases kept") for s in (1, 2)]
    + [_case("wgangp_g_zero_init_s1", "symmetric_init", 1, {"g_zero_init": True},
             f"{_W}: nn.init.zeros_ on every Linear weight and bias of the generator (D kept)")]
    + [_case("wgangp_no_zero_grad_d_s1", "no_zero_grad", 1, {"zero_grad_d": False},
             f"{_W}: optimizer_D.zero_grad() left out: the critic's gradients accumulate (its d_loss steps and the "
             "generator steps' backward through it)")]
    + [_case("wgangp_no_zero_grad_g_s1", "no_zero_grad", 1, {"zero_grad_g": False},
             f"{_W}: optimizer_G.zero_grad() left out: the generator's gradients accumulate (its g_loss steps and every "
             "d_loss.backward() through the undetached fake images)")]
    + [_case(f"wgangp_sigmoid_critic_s{s}", "wrong_loss", s, {"sigmoid": True},
             f"{_W}: a Sigmoid after the critic's last Linear under the Wasserstein loss (the critic's scores squashed "
             "to (0, 1), as in a standard GAN's discriminator)") for s in (1, 2)]
    + [_case("wgangp_no_bn_s1", "no_norm", 1, {"bn": False},
             f"{_W}: the generator's three BatchNorm1d layers taken out (Linear/LeakyReLU blocks)")]
    + [_case("wgangp_bn_eps_default_s1", "healthy", 1, {"bn_eps": 1e-5},
             f"{_W}: the generator's BatchNorm1d(out_feat, 0.8) (eps 0.8, momentum meant) as BatchNorm1d(out_feat) "
             "(eps 1e-5)")]
)


if __name__ == "__main__":
    import ast
    import sys

    kw = {k: ast.literal_eval(v) for k, v in (a.split("=") for a in sys.argv[1:])}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
