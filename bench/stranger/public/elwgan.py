"""Erik Linder-Noren's PyTorch-GAN: the WGAN with weight clipping (an MLP generator with BatchNorm, an MLP critic,
the Wasserstein loss, the critic's weights clamped to [-0.01, 0.01], RMSprop, n_critic 5), on 8x8 digits, watched by
gradmedic with one monitor per model.

Adapted from https://github.com/eriklindernoren/PyTorch-GAN (commit 36d3c77e5ff20ebe0aeefd322326a134a279b93e, the
newest; implementations/wgan/wgan.py as last changed in c5d6be170013db8975d96806084df573d87e5d26; MIT License,
Copyright (c) 2018 Erik Linder-Noren, see LICENSE-elwgan).  The WGAN-GP of the same repository is wgangp.py, its
original GAN elgan.py; this module follows their conventions (two monitors, the Frechet distance outcome).

Kept as in the original: the argparse defaults as ``opt`` (batch_size 64, lr 0.00005, latent_dim 100, channels 1,
n_critic 5, clip_value 0.01), ``Generator`` (``block``: Linear, ``nn.BatchNorm1d(out_feat, 0.8)`` - eps 0.8, as
upstream - and LeakyReLU(0.2); 100 -> 128 (no BatchNorm) -> 256 -> 512 -> 1024 -> Linear to the image, Tanh, viewed
as (1, H, W)), ``Discriminator`` (the critic: flatten, Linear 512, LeakyReLU(0.2), Linear 256, LeakyReLU(0.2),
Linear 1, no Sigmoid), PyTorch's default initialization (upstream sets none), both ``torch.optim.RMSprop`` with lr
0.00005 (RMSprop's other defaults), the images as ``transforms.ToTensor()`` + ``transforms.Normalize([0.5], [0.5])``
give them ([-1, 1]), a shuffling DataLoader, and the loop in its order: ``optimizer_D.zero_grad()``, z from
``np.random.normal``, ``fake_imgs = generator(z).detach()``, ``loss_D = -torch.mean(discriminator(real_imgs)) +
torch.mean(discriminator(fake_imgs))``, ``loss_D.backward()``, ``optimizer_D.step()``, then every parameter of the
critic ``p.data.clamp_(-opt.clip_value, opt.clip_value)``; every ``i % opt.n_critic == 0`` (i the batch index within
the epoch) ``optimizer_G.zero_grad()``, ``gen_imgs = generator(z)`` on the same z, ``loss_G =
-torch.mean(discriminator(gen_imgs))``, ``loss_G.backward()``, ``optimizer_G.step()``.  ``Variable`` and ``Tensor``
(``torch.FloatTensor``) as upstream.

Changed to run offline on one CPU thread without torchvision:
- scikit-learn's ``load_digits`` (all 1797 images, 8x8, pixel values 0..16 divided by 16 for ToTensor's [0, 1], then
  Normalize to [-1, 1]) instead of MNIST, so img_size is 8 instead of 28 (the generator's last Linear is 1024 -> 64
  instead of 784, the critic's first 64 -> 512); the sizes of both networks are otherwise upstream's;
- EPOCHS epochs instead of 200: 29 batches an epoch (the last of 5 images), 29 critic steps and 6 generator steps an
  epoch (upstream: 938 batches an epoch);
- ``torch.manual_seed(seed)`` and ``np.random.seed(seed)`` (upstream seeds neither); no CUDA, no ``save_image``
  grids; the per-G-step print is left out (a verbose print every 10 epochs instead).

The watch: two monitors, one per model, as wgangp.py's: ``gradmedic.watch(discriminator, optimizer_D, every=10)``
stepped with loss_D right after ``loss_D.backward()``, before ``optimizer_D.step()`` (and so before the clamp);
``gradmedic.watch(generator, optimizer_G, every=10)`` stepped with loss_G right after ``loss_G.backward()``, before
``optimizer_G.step()`` (every fifth batch, so every=10 records every 50th batch).  The critic's forward in the
generator's step runs its hooks too, and ``loss_G.backward()`` leaves gradients on the critic, which
``optimizer_D.zero_grad()`` clears, as for any user of this code.  Saved as two parts, ``disc`` (first) and ``gen``.

Outcome, as wgangp.py's: the Frechet distance (dcgan.py's ``frechet``, squared, as FID) between 1000 generated digits
(noise from a generator seeded apart from training; the generator in training mode, as upstream samples its grids)
and the 1797 real ones in the 64 pixels of the normalized [-1, 1] images, after training; lower is better; the
untrained generator's distance is ``initial``.  Named ``frechet_64px``, so run.py labels it by its loss rules (broken
when the control's distance is under half the variant's or the variant made at most half its control's progress
from the untrained distance; healthy when it ends at most 0.7x the untrained distance, at most 1.1x its control's,
and the critic's loss_D never rose above twice the control's largest).  For the raw-pixel variant the generated
images are mapped back to the normalized units (``2 x / 255 - 1``).  Extras: the final loss_D, loss_G and the
critic's estimate mean(D(real)) - mean(D(fake)) (means of the last 20 records), the largest loss_D and |loss_D|, the
step counts and both rates.

``CASES`` (in the shape of run.py's ``case()``, program "elwgan"): the program on seeds 1-3, and one change each
against the same seed's healthy run: both learning rates x2 (expected harmless), x10 and x100 (seeds 1 and 2) and
/1000; the critic's lr x100 only; the real images as raw 0..255 pixels (no ToTensor, no Normalize) against the
generator's Tanh; N(0, 1) on every Linear weight of the generator; ``optimizer_G.zero_grad()`` left out; the
critic's weight clamp left out (cause "no_clipping", the closest in causes.py: that cause is written for an RNN's
gradient clipping; here the clamp of the critic's weights, the WGAN's Lipschitz constraint, is what is taken out).
Labels come from run.py's outcome rules only.

Recorded (cases-public59, 14 cases in ~115 s, 6-9 s a run on the shared 2-core machine; 20 epochs, 580 critic and
120 generator steps): healthy Frechet distance 16.60, 17.06, 16.99 on seeds 1-3 (from 45.30, 45.26, 45.18; the
critic's estimate mean(D(real)) - mean(D(fake)) ~0.08-0.10 at the end, loss_D between -0.49 and +0.03); broken: both
rates /1000 (45.30: nothing learned), raw 0..255 pixels (59.47 from 60.06; the critic's estimate 279), the
generator's N(0, 1) init (56.92 from 65.23); ambiguous: all the others.  A weight-clipped critic's loss_D is negative
(about -0.003 at the start, -0.1 at the end), so run.py's check for a healthy outcome ("the first part's largest loss
at most twice the control's largest") cannot pass for a run whose largest loss_D is near zero like its control's:
both rates x2 (15.89 vs 16.60), x10 (8.64 and 6.69, about half their controls' distances) and the critic's rate x100
(16.77) end as good as or better than their controls but are labelled ambiguous by that check; both rates x100
(20.10, 22.06: 1.2-1.3x their controls, loss_D up to 0.48 and 0.61), no ``optimizer_G.zero_grad()`` (25.98: 1.56x)
and the clamp left out (17.19, about its control's, although the critic's scores grew: loss_D -4.9 at the end, up to
|19.8|, loss_G -42.9) were neither clearly broken nor harmless.  Labels: 3 healthy (the programs), 3 broken, 11
ambiguous; every loss finite.
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
MONITOR_AT = ("two monitors: the critic's watch(discriminator, optimizer_D, every=10) stepped with loss_D "
              "(-mean(D(real)) + mean(D(fake))) right after loss_D.backward(), before optimizer_D.step() and the "
              "weight clamp; the generator's watch(generator, optimizer_G, every=10) stepped with loss_G right after "
              "loss_G.backward(), before optimizer_G.step() (every n_critic=5th batch)")
EPOCHS = 20


class Opt:
    """upstream's argparse defaults (``opt``), with the image size of the 8x8 digits."""
    n_epochs = 200
    batch_size = 64
    lr = 0.00005
    latent_dim = 100
    img_size = 8  # upstream 28 (MNIST)
    channels = 1
    n_critic = 5
    clip_value = 0.01


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
        img = img.view(img.shape[0], *img_shape)
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
        )

    def forward(self, img):
        img_flat = img.view(img.shape[0], -1)
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
          g_init_std: float | None = None, zero_grad_g: bool = True, clip: bool = True, n_epochs: int = EPOCHS,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    torch.manual_seed(seed)
    np.random.seed(seed)  # upstream draws z from numpy's global generator, unseeded
    t0 = time.time()

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
    optimizer_G = torch.optim.RMSprop(generator.parameters(), lr=opt.lr * lr_mult)
    optimizer_D = torch.optim.RMSprop(discriminator.parameters(), lr=opt.lr * lr_mult * lr_mult_d)
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
    rec = {"loss_D": [], "loss_G": [], "wdist": []}

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

            optimizer_D.zero_grad()

            # Sample noise as generator input
            z = Variable(Tensor(np.random.normal(0, 1, (imgs.shape[0], opt.latent_dim))))

            # Generate a batch of images
            fake_imgs = generator(z).detach()
            # Adversarial loss
            d_real, d_fake = torch.mean(discriminator(real_imgs)), torch.mean(discriminator(fake_imgs))
            loss_D = -d_real + d_fake  # upstream: -torch.mean(discriminator(real_imgs)) + torch.mean(...(fake_imgs))

            loss_D.backward()
            mon_d.step(loss_D)  # gradmedic
            optimizer_D.step()
            rec["loss_D"].append(loss_D.item())
            rec["wdist"].append((d_real - d_fake).item())

            # Clip weights of discriminator
            if clip:  # the no_clipping variant leaves the clamp out
                for p in discriminator.parameters():
                    p.data.clamp_(-opt.clip_value, opt.clip_value)

            # Train the generator every n_critic iterations
            if i % opt.n_critic == 0:

                # -----------------
                #  Train Generator
                # -----------------

                if zero_grad_g:  # the no_zero_grad variant leaves this out
                    optimizer_G.zero_grad()

                # Generate a batch of images
                gen_imgs = generator(z)
                # Adversarial loss
                loss_G = -torch.mean(discriminator(gen_imgs))

                loss_G.backward()
                mon_g.step(loss_G)  # gradmedic
                optimizer_G.step()
                rec["loss_G"].append(loss_G.item())

            batches_done += 1
        if verbose and (epoch % 10 == 9 or epoch == n_epochs - 1):
            print(f"[Epoch {epoch}/{n_epochs}] [D loss: {np.mean(rec['loss_D'][-29:]):f}] "
                  f"[G loss: {np.mean(rec['loss_G'][-6:]):f}] [W {np.mean(rec['wdist'][-29:]):f}] "
                  f"FD {sample_fd():.3f} ({time.time() - t0:.1f}s)", flush=True)

    mon_d.close()
    mon_g.close()
    fd = sample_fd()
    last = {k: float(np.mean(v[-20:])) if v else float("nan") for k, v in rec.items()}
    return {"monitors": {"disc": mon_d, "gen": mon_g}, "metric": "frechet_64px", "value": fd, "initial": fd_start,
            "chance": None, "initial_what": "untrained generator: its Frechet distance to the real digits",
            "extra": {"fd_untrained_G": fd_start, **{f"final_{k}": v for k, v in last.items()},
                      "first_loss_D": float(np.mean(rec["loss_D"][:5])),
                      "max_loss_D": float(np.nanmax(rec["loss_D"])),
                      "max_abs_loss_D": float(np.nanmax(np.abs(rec["loss_D"]))),
                      "finite_losses": bool(np.isfinite(rec["loss_D"]).all() and np.isfinite(rec["loss_G"]).all()),
                      "d_steps": len(rec["loss_D"]), "g_steps": len(rec["loss_G"]), "epochs": n_epochs,
                      "lr_D": optimizer_D.param_groups[0]["lr"], "lr_G": optimizer_G.param_groups[0]["lr"],
                      "lr_mult": lr_mult, "lr_mult_d": lr_mult_d, "pixels": pixels,
                      "g_init_std": -1.0 if g_init_std is None else float(g_init_std), "zero_grad_g": zero_grad_g,
                      "clip": clip},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="elwgan", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_W = ("WGAN (MLP G 100-128-256-512-1024-64 with BatchNorm1d(eps 0.8) and Tanh, MLP critic 64-512-256-1, both RMSprop "
      f"lr 5e-5, critic weights clamped to [-0.01, 0.01], n_critic 5, batch 64, {EPOCHS} epochs of the 1797 8x8 digits "
      "in [-1, 1])")
CASES: list[dict] = (
    [_case(f"elwgan_healthy_s{s}", "healthy", s, {}, f"{_W}: unchanged", False) for s in (1, 2, 3)]
    + [_case("elwgan_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_W}: both RMSprop lr x2 (1e-4)")]
    + [_case(f"elwgan_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_W}: both RMSprop lr x{k} ({5e-5 * k:g})")
       for k, ss in ((10, (1, 2)), (100, (1, 2))) for s in ss]
    + [_case("elwgan_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_W}: both RMSprop lr /1000 (5e-08)")]
    + [_case("elwgan_d_lr_x100_s1", "lr_high", 1, {"lr_mult_d": 100},
             f"{_W}: optimizer_D lr x100 (0.005), G unchanged")]
    + [_case("elwgan_raw_pixels_s1", "unscaled_inputs", 1, {"pixels": "raw"},
             f"{_W}: the real images as raw 0..255 pixel values (no ToTensor scaling, no Normalize) while the "
             "generator's Tanh spans [-1, 1] (the outcome measured in the normalized units)")]
    + [_case("elwgan_g_init_std1_s1", "init_large", 1, {"g_init_std": 1.0},
             f"{_W}: nn.init.normal_(std=1.0) on every Linear weight of the generator instead of PyTorch's default "
             "(kaiming_uniform_, a=sqrt(5)); biases and the critic kept")]
    + [_case("elwgan_no_zero_grad_g_s1", "no_zero_grad", 1, {"zero_grad_g": False},
             f"{_W}: optimizer_G.zero_grad() left out: the generator's gradients accumulate over its steps")]
    + [_case("elwgan_no_clip_s1", "no_clipping", 1, {"clip": False},
             f"{_W}: the critic's weight clamp to [-0.01, 0.01] left out (the Lipschitz constraint of the Wasserstein "
             "loss gone: the critic's scores and loss_D free to grow)")]
)


if __name__ == "__main__":
    import ast
    import sys

    kw = {k: ast.literal_eval(v) for k, v in (a.split("=") for a in sys.argv[1:])}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
