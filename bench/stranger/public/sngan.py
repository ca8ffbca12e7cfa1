"""Christian Cosgrove's pytorch-spectral-normalization-gan: the DCGAN-like generator and the spectrally normalized
discriminator (the hand-written ``SpectralNorm`` wrapper, one power iteration a forward), the hinge loss, Adam lr 2e-4
betas (0.0, 0.9), 5 discriminator steps per generator step, on 8x8 digits, watched by gradmedic with one monitor per
model.

Adapted from https://github.com/christiancosgrove/pytorch-spectral-normalization-gan (commit
12dcf945a6359301d63d1e0da3708cd0f0590b19, the newest, "Update model.py", 2018-04-17): spectral_normalization.py,
model.py and main.py; MIT License, Copyright (c) 2017 Christian Cosgrove, see LICENSE-sngan.  This module follows the
conventions of elgan.py / elwgan.py (two monitors, the Frechet distance outcome ``frechet_64px``).

Kept as in the original (copied, marked ``# upstream:`` where changed): ``SpectralNorm`` line for line (``weight_u``
and ``weight_v`` as Parameters with requires_grad=False, ``weight_bar`` the trained Parameter, one power iteration on
every forward, the weight set to ``w / sigma``; not torch.nn.utils.spectral_norm); model.py's ``leak = 0.1``, the
Generator (ConvTranspose2d k4 s1 from the 1x1 noise to 4x4, BatchNorm2d, ReLU, ConvTranspose2d k4 s2 p1, BatchNorm2d,
ReLU, ..., ConvTranspose2d k3 s1 p1 to the image, Tanh) and the Discriminator (seven SpectralNorm Conv2d, k3 s1 /
k4 s2 alternating, LeakyReLU(0.1) after each, then a SpectralNorm Linear to one score), PyTorch's default init
(upstream sets none); main.py's defaults: batch_size 64, lr 2e-4, loss 'hinge' (``nn.ReLU()(1.0 - D(x)).mean() +
nn.ReLU()(1.0 + D(G(z))).mean()`` for D, ``-D(G(z)).mean()`` for G), Z_dim 128, disc_iters 5, ``optim.Adam`` with
betas (0.0, 0.9) for both (D's filtered to the parameters that require grad, as upstream), ``ExponentialLR(gamma=
0.99)`` stepped once an epoch for both; the loop: batches that are not full skipped; per batch disc_iters times (new
z, ``optim_disc.zero_grad()``, ``optim_gen.zero_grad()``, the hinge loss on D(data) and D(generator(z)) - the fake
not detached, so the backward runs through G too, as upstream -, backward, ``optim_disc.step()``), then a new z, both
zero_grad, gen_loss, backward, ``optim_gen.step()``.

Changed to run offline on one CPU thread in ~20-35 s:
- scikit-learn's ``load_digits`` (1797 images, 8x8, 0..16 divided by 16 for ToTensor, then Normalize(0.5, 0.5) to
  [-1, 1]; one channel instead of CIFAR-10's 3) instead of CIFAR-10; 28 full batches an epoch (the 29th, 5 images,
  skipped by upstream's check);
- 8x8 images instead of 32x32: the generator loses two of its three stride-2 ConvTranspose2d+BatchNorm2d+ReLU blocks
  (4x4 -> 8x8 only; the last conv takes the remaining block's channels); the discriminator keeps all seven convs and
  the Linear, its three stride-2 convs taking 8x8 to 1x1 (``w_g`` 1 instead of 4);
- every channel width divided by DIV = 4 (G 128, 64; D 16, 16, 32, 32, 64, 64, 128; upstream 512, 256 and 64 ... 512):
  DIV = 2 took ~30 s an epoch on the shared machine;
- EPOCHS = 2 instead of 2000 (56 generator and 280 discriminator steps; the ExponentialLR decay is stepped twice);
  upstream's default ``--model`` is ``resnet`` (model_resnet.py); this port is its ``model.py`` (``--model dcgan``);
- ``torch.manual_seed(seed)`` (upstream seeds nothing); no CUDA, no matplotlib ``evaluate`` grids, no checkpoints; the
  print every 100 batches is left out (a verbose print each epoch instead); the hinge loss's two D outputs are kept in
  names (``d_real``, ``d_fake``) for the extras, the same arithmetic;
- the variants' switches as keyword arguments (``Discriminator(sn=...)`` for the variant without SpectralNorm).

The watch: two monitors built right after the optimizers, ``gradmedic.watch(discriminator, optim_disc, every=10)``
stepped with disc_loss right after ``disc_loss.backward()``, before ``optim_disc.step()`` (every discriminator step),
and ``gradmedic.watch(generator, optim_gen, every=10)`` stepped with gen_loss right after ``gen_loss.backward()``,
before ``optim_gen.step()``.  The discriminator's backward leaves gradients on G and the generator's on D, which the
next step's zero_grad calls clear, as upstream.  Saved as two parts, ``disc`` (first; run.py's loss-range check
reads it) and ``gen``.

Outcome, as elgan.py's: ``frechet_64px``, dcgan.py's ``frechet`` (squared, as FID) between 1000 generated digits
(noise from a torch.Generator seeded 1000 + seed, apart from training; the generator in training mode, as upstream's
``evaluate``) and the 1797 real ones in the 64 pixels of the [-1, 1] images; lower is better; the untrained
generator's distance is ``initial``; labelled by run.py's loss rules (broken when the control's distance is under half
the variant's or the variant made at most half its control's progress; healthy when it ends at most 0.7x its
untrained distance, at most 1.1x its control's, and disc_loss never above twice the control's largest).  Extras: the
final disc_loss, gen_loss, mean D(x) and D(G(z)) scores (means of the last 20 steps), the largest losses, the step
counts, the rates and the switches.  Note: the SpectralNorm wrappers draw u and v from torch's generator before G is
built, so the variant without them starts from another generator init (its untrained distance differs).

``CASES`` (program "sngan"): the program on seeds 1-3, and one change each against the same seed's healthy run:
both Adam rates x10 (seed 1), x100 (seeds 1, 2), /1000; optim_disc's rate x10 only; the SpectralNorm wrappers left
out of the discriminator (seeds 1, 2; cause "no_norm", the closest in causes.py: the normalization that the
discriminator and its rate were built around is taken out); ``normal_(0, 1)`` on every conv/linear weight of both
models (init_large); both ``optim_disc.zero_grad()`` calls left out (no_zero_grad); and, expected harmless (cause
healthy), batch_size 32 and disc_iters 1.  Labels come from run.py's outcome rules only.

Recorded (cases-public173, 14 cases in 344 s, 7-36 s a run on the shared 2-core machine): healthy distance 7.19, 8.43,
6.07 on seeds 1-3 from the untrained 38.47, 53.87, 44.36 (final disc_loss 0.62-0.91, gen_loss 0.65-0.82, scores
D(x) ~0.6-0.84 and D(G(z)) ~-0.64 to -0.80; largest disc_loss 2.0, the hinge's start).  Broken: both rates x100, 60.07
(seed 1: disc_loss 0.0, the scores 2.37 / -1.22, the generator worse than untrained) and 18.54 (seed 2, 2.2x its
control; disc_loss up to 14.4, gen_loss up to 19.3); /1000, 38.72 (nothing learned); N(0, 1) init, 55.67 from an
untrained 69.29 (D's scores stay near 0, disc_loss 1.98: its spectrally normalized weights barely move at Adam's step
size); no optim_disc.zero_grad(), 25.67 (D's scores 0.75 / 0.07).  Healthy: batch 32, 5.69; disc_iters 1, 8.89
(1.24x its control; scores near 0, disc_loss 1.90).  Ambiguous: both rates x10, 10.87 (1.5x its control); D's rate
x10, 7.63 (as good as its control, but disc_loss reached 4.04, over twice the control's 2.0); no SpectralNorm, 10.29
(seed 1, from 48.91) and 10.61 (seed 2, from 44.98), 1.4x and 1.26x their controls, disc_loss up to 2.2 and 3.1.
Labels: 5 healthy (3 programs, 2 variants), 5 broken, 4 ambiguous; every loss finite.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from dcgan import frechet
from torch.autograd import Variable
from torch.nn import Parameter

import gradmedic

ARCH = "gan"
PARTS = ("disc", "gen")  # the two monitors' files, {name}_disc.npz and {name}_gen.npz, in train()'s order
MONITOR_AT = ("two monitors: the discriminator's watch(discriminator, optim_disc, every=10) stepped with disc_loss "
              "(hinge: relu(1 - D(x)).mean() + relu(1 + D(G(z))).mean()) right after disc_loss.backward(), before "
              "optim_disc.step(), on each of the disc_iters=5 discriminator steps; the generator's watch(generator, "
              "optim_gen, every=10) stepped with gen_loss (-D(G(z)).mean()) right after gen_loss.backward(), before "
              "optim_gen.step() (once per batch, after the discriminator's steps)")
EPOCHS = 2


# ---- spectral_normalization.py (upstream, unchanged but for the style noqa marks) ------------------------------------
def l2normalize(v, eps=1e-12):
    return v / (v.norm() + eps)


class SpectralNorm(nn.Module):
    def __init__(self, module, name='weight', power_iterations=1):
        super(SpectralNorm, self).__init__()  # noqa: UP008
        self.module = module
        self.name = name
        self.power_iterations = power_iterations
        if not self._made_params():
            self._make_params()

    def _update_u_v(self):
        u = getattr(self.module, self.name + "_u")
        v = getattr(self.module, self.name + "_v")
        w = getattr(self.module, self.name + "_bar")

        height = w.data.shape[0]
        for _ in range(self.power_iterations):
            v.data = l2normalize(torch.mv(torch.t(w.view(height, -1).data), u.data))
            u.data = l2normalize(torch.mv(w.view(height, -1).data, v.data))

        # sigma = torch.dot(u.data, torch.mv(w.view(height,-1).data, v.data))
        sigma = u.dot(w.view(height, -1).mv(v))
        setattr(self.module, self.name, w / sigma.expand_as(w))

    def _made_params(self):
        try:
            u = getattr(self.module, self.name + "_u")  # noqa: F841
            v = getattr(self.module, self.name + "_v")  # noqa: F841
            w = getattr(self.module, self.name + "_bar")  # noqa: F841
            return True
        except AttributeError:
            return False

    def _make_params(self):
        w = getattr(self.module, self.name)

        height = w.data.shape[0]
        width = w.view(height, -1).data.shape[1]

        u = Parameter(w.data.new(height).normal_(0, 1), requires_grad=False)
        v = Parameter(w.data.new(width).normal_(0, 1), requires_grad=False)
        u.data = l2normalize(u.data)
        v.data = l2normalize(v.data)
        w_bar = Parameter(w.data)

        del self.module._parameters[self.name]

        self.module.register_parameter(self.name + "_u", u)
        self.module.register_parameter(self.name + "_v", v)
        self.module.register_parameter(self.name + "_bar", w_bar)

    def forward(self, *args):
        self._update_u_v()
        return self.module.forward(*args)


# ---- model.py (DCGAN-like generator and discriminator) ---------------------------------------------------------------
channels = 1  # upstream: 3 (CIFAR-10)
leak = 0.1
w_g = 1  # upstream: 4 (32x32 images after three stride-2 convs; 8x8 -> 1x1 here)
DIV = 4  # upstream: every width as written (64 ... 512); here divided by DIV for one CPU thread


def _sn(module, sn=True):
    """SpectralNorm(module) as upstream; the no_sn variant leaves the wrapper out."""
    return SpectralNorm(module) if sn else module


class Generator(nn.Module):
    def __init__(self, z_dim):
        super(Generator, self).__init__()  # noqa: UP008
        self.z_dim = z_dim

        self.model = nn.Sequential(
            nn.ConvTranspose2d(z_dim, 512 // DIV, 4, stride=1),
            nn.BatchNorm2d(512 // DIV),
            nn.ReLU(),
            nn.ConvTranspose2d(512 // DIV, 256 // DIV, 4, stride=2, padding=(1, 1)),
            nn.BatchNorm2d(256 // DIV),
            nn.ReLU(),
            # upstream: two more ConvTranspose2d(k4, s2) + BatchNorm2d + ReLU blocks (256 -> 128 -> 64, 8x8 -> 32x32);
            # left out for the 8x8 digits, so the last conv takes 256 // DIV channels instead of 64
            nn.ConvTranspose2d(256 // DIV, channels, 3, stride=1, padding=(1, 1)),
            nn.Tanh())

    def forward(self, z):
        return self.model(z.view(-1, self.z_dim, 1, 1))


class Discriminator(nn.Module):
    def __init__(self, sn=True):  # upstream: no argument (always SpectralNorm)
        super(Discriminator, self).__init__()  # noqa: UP008

        self.conv1 = _sn(nn.Conv2d(channels, 64 // DIV, 3, stride=1, padding=(1, 1)), sn)

        self.conv2 = _sn(nn.Conv2d(64 // DIV, 64 // DIV, 4, stride=2, padding=(1, 1)), sn)
        self.conv3 = _sn(nn.Conv2d(64 // DIV, 128 // DIV, 3, stride=1, padding=(1, 1)), sn)
        self.conv4 = _sn(nn.Conv2d(128 // DIV, 128 // DIV, 4, stride=2, padding=(1, 1)), sn)
        self.conv5 = _sn(nn.Conv2d(128 // DIV, 256 // DIV, 3, stride=1, padding=(1, 1)), sn)
        self.conv6 = _sn(nn.Conv2d(256 // DIV, 256 // DIV, 4, stride=2, padding=(1, 1)), sn)
        self.conv7 = _sn(nn.Conv2d(256 // DIV, 512 // DIV, 3, stride=1, padding=(1, 1)), sn)

        self.fc = _sn(nn.Linear(w_g * w_g * 512 // DIV, 1), sn)

    def forward(self, x):
        m = x
        m = nn.LeakyReLU(leak)(self.conv1(m))
        m = nn.LeakyReLU(leak)(self.conv2(m))
        m = nn.LeakyReLU(leak)(self.conv3(m))
        m = nn.LeakyReLU(leak)(self.conv4(m))
        m = nn.LeakyReLU(leak)(self.conv5(m))
        m = nn.LeakyReLU(leak)(self.conv6(m))
        m = nn.LeakyReLU(leak)(self.conv7(m))

        return self.fc(m.view(-1, w_g * w_g * 512 // DIV))


# ---- main.py ---------------------------------------------------------------------------------------------------------
def digits() -> torch.Tensor:
    """load_digits as ``transforms.ToTensor()`` + ``transforms.Normalize((0.5,), (0.5,))`` would give it: (1797, 1, 8, 8)
    in [-1, 1]."""
    from sklearn.datasets import load_digits

    x = torch.tensor(load_digits().images, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16.0  # ToTensor: [0, 1]
    return (x - 0.5) / 0.5


def train(seed: int = 1, lr_mult: float = 1.0, lr_mult_d: float = 1.0, sn: bool = True, init_std: float | None = None,
          zero_grad_d: bool = True, disc_iters: int = 5, batch_size: int = 64, n_epochs: int = EPOCHS, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    torch.manual_seed(seed)  # upstream does not seed
    t0 = time.time()

    class args:  # upstream's argparse defaults
        lr = 2e-4
        loss = 'hinge'
    args.batch_size = batch_size  # upstream default 64

    data_all = digits()
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(data_all, torch.zeros(len(data_all))),  # (data, target) as from datasets.CIFAR10
        batch_size=args.batch_size, shuffle=True)  # upstream: num_workers=1, pin_memory=True
    real_all = data_all.reshape(-1, 64).double().numpy()  # the reference for the outcome, in [-1, 1]

    Z_dim = 128
    # number of updates to discriminator for every update to generator
    # upstream: disc_iters = 5 (the disc_iters variant changes it)

    # upstream: --model resnet by default (model_resnet.py); this port follows model.py (--model dcgan)
    discriminator = Discriminator(sn=sn)  # upstream: .cuda()
    generator = Generator(Z_dim)
    if init_std is not None:  # the init_large variant: normal_(0, std) on every conv/linear weight of both models
        with torch.no_grad():
            for mod in list(discriminator.modules()) + list(generator.modules()):
                if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                    w = mod.weight_bar if hasattr(mod, "weight_bar") else mod.weight
                    nn.init.normal_(w, 0.0, init_std)

    # because the spectral normalization module creates parameters that don't require gradients (u and v), we don't
    # want to optimize these using sgd. We only let the optimizer operate on parameters that _do_ require gradients
    optim_disc = optim.Adam(filter(lambda p: p.requires_grad, discriminator.parameters()), lr=args.lr * lr_mult * lr_mult_d,
                            betas=(0.0, 0.9))
    optim_gen = optim.Adam(generator.parameters(), lr=args.lr * lr_mult, betas=(0.0, 0.9))
    mon_d = gradmedic.watch(discriminator, optim_disc, every=every)  # gradmedic
    mon_g = gradmedic.watch(generator, optim_gen, every=every)  # gradmedic

    # use an exponentially decaying learning rate
    scheduler_d = optim.lr_scheduler.ExponentialLR(optim_disc, gamma=0.99)
    scheduler_g = optim.lr_scheduler.ExponentialLR(optim_gen, gamma=0.99)

    def sample_fd(n=1000):
        """The generator's Frechet distance to the 1797 real digits in the 64 pixels of the normalized images."""
        g = torch.Generator().manual_seed(1000 + seed)
        with torch.no_grad():
            fake = generator(torch.randn(n, Z_dim, generator=g)).reshape(n, 64)  # training mode, as upstream's evaluate
        f = fake.double().numpy()
        return frechet(f, real_all) if np.isfinite(f).all() else float("nan")

    fd_start = sample_fd()
    rec = {"disc_loss": [], "gen_loss": [], "d_real": [], "d_fake": []}

    def train_epoch(epoch):  # upstream: train(epoch)
        for _batch_idx, (data, target) in enumerate(loader):  # upstream: batch_idx
            if data.size()[0] != args.batch_size:
                continue
            data, target = Variable(data), Variable(target)  # upstream: .cuda()

            # update discriminator
            for _ in range(disc_iters):
                z = Variable(torch.randn(args.batch_size, Z_dim))
                if zero_grad_d:  # the no_zero_grad variant leaves this out
                    optim_disc.zero_grad()
                optim_gen.zero_grad()
                if args.loss == 'hinge':
                    d_real, d_fake = discriminator(data), discriminator(generator(z))  # upstream: inline, below
                    disc_loss = nn.ReLU()(1.0 - d_real).mean() + nn.ReLU()(1.0 + d_fake).mean()
                disc_loss.backward()
                mon_d.step(disc_loss)  # gradmedic
                optim_disc.step()
                rec["disc_loss"].append(disc_loss.item())
                rec["d_real"].append(d_real.mean().item())
                rec["d_fake"].append(d_fake.mean().item())

            z = Variable(torch.randn(args.batch_size, Z_dim))

            # update generator
            if zero_grad_d:  # the no_zero_grad variant leaves this out too
                optim_disc.zero_grad()
            optim_gen.zero_grad()
            if args.loss == 'hinge' or args.loss == 'wasserstein':
                gen_loss = -discriminator(generator(z)).mean()
            gen_loss.backward()
            mon_g.step(gen_loss)  # gradmedic
            optim_gen.step()
            rec["gen_loss"].append(gen_loss.item())

            # upstream: print('disc loss', ..., 'gen loss', ...) every 100 batches (verbose print per epoch below)
        scheduler_d.step()
        scheduler_g.step()

    for epoch in range(n_epochs):  # upstream: range(2000), evaluate(epoch) plots and torch.save checkpoints each epoch
        train_epoch(epoch)
        if verbose:
            print(f"epoch {epoch} disc loss {np.mean(rec['disc_loss'][-100:]):.4f} gen loss "
                  f"{np.mean(rec['gen_loss'][-20:]):.4f} D(x) {np.mean(rec['d_real'][-100:]):.3f} D(G(z)) "
                  f"{np.mean(rec['d_fake'][-100:]):.3f} FD {sample_fd():.3f} ({time.time() - t0:.1f}s)", flush=True)

    mon_d.close()
    mon_g.close()
    fd = sample_fd()
    last = {k: float(np.mean(v[-20:])) if v else float("nan") for k, v in rec.items()}
    fin = bool(np.isfinite(rec["disc_loss"]).all() and np.isfinite(rec["gen_loss"]).all())
    return {"monitors": {"disc": mon_d, "gen": mon_g}, "metric": "frechet_64px", "value": fd, "initial": fd_start,
            "chance": None, "initial_what": "untrained generator: its Frechet distance to the real digits",
            "extra": {"fd_untrained_G": fd_start, **{f"final_{k}": v for k, v in last.items()},
                      "first_disc_loss": float(np.mean(rec["disc_loss"][:5])),
                      "max_disc_loss": float(np.nanmax(rec["disc_loss"])), "max_gen_loss": float(np.nanmax(rec["gen_loss"])),
                      "max_abs_gen_loss": float(np.nanmax(np.abs(rec["gen_loss"]))), "finite_losses": fin,
                      "disc_steps": len(rec["disc_loss"]), "gen_steps": len(rec["gen_loss"]), "epochs": n_epochs,
                      "lr_D": args.lr * lr_mult * lr_mult_d, "lr_G": args.lr * lr_mult, "lr_mult": lr_mult,
                      "lr_mult_d": lr_mult_d, "sn": sn, "init_std": -1.0 if init_std is None else float(init_std),
                      "zero_grad_d": zero_grad_d, "disc_iters": disc_iters, "batch_size": batch_size},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="sngan", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_S = ("SN-GAN (DCGAN-like G: ConvTranspose2d 128-128-64-1 with BatchNorm2d, ReLU, Tanh; D: seven SpectralNorm Conv2d "
      "16-16-32-32-64-64-128 with LeakyReLU(0.1) and a SpectralNorm Linear, one power iteration a forward; hinge loss, "
      "both Adam lr 2e-4 betas (0.0, 0.9), ExponentialLR 0.99 a epoch, disc_iters 5, batch 64, "
      f"{EPOCHS} epochs of the 1797 8x8 digits in [-1, 1])")
CASES: list[dict] = (
    [_case(f"sngan_healthy_s{s}", "healthy", s, {}, f"{_S}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"sngan_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_S}: both Adam lr x{k} ({2e-4 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("sngan_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_S}: both Adam lr /1000 (2e-07)")]
    + [_case("sngan_d_lr_x10_s1", "lr_high", 1, {"lr_mult_d": 10}, f"{_S}: optim_disc lr x10 (0.002), G unchanged")]
    + [_case(f"sngan_no_sn_s{s}", "no_norm", s, {"sn": False},
             f"{_S}: the SpectralNorm wrappers left out of the discriminator (plain Conv2d and Linear with PyTorch's "
             "default init, everything else unchanged)") for s in (1, 2)]
    + [_case("sngan_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_S}: nn.init.normal_(std=1.0) on every conv and linear weight of both models (D's weight_bar under "
             "SpectralNorm) instead of PyTorch's default kaiming_uniform_(a=sqrt(5)); biases kept")]
    + [_case("sngan_no_zero_grad_d_s1", "no_zero_grad", 1, {"zero_grad_d": False},
             f"{_S}: both optim_disc.zero_grad() calls left out (in the discriminator's loop and before the "
             "generator's step): the discriminator's gradients accumulate over all its steps (and the generator "
             "steps' gen_loss gradients on D join them)")]
    + [_case("sngan_batch32_s1", "healthy", 1, {"batch_size": 32}, f"{_S}: batch_size 32 instead of 64 "
             "(twice the steps an epoch)")]
    + [_case("sngan_disc_iters1_s1", "healthy", 1, {"disc_iters": 1}, f"{_S}: disc_iters 1 instead of 5 (one "
             "discriminator step per generator step)")]
)


if __name__ == "__main__":
    import ast
    import sys

    kw = {k: ast.literal_eval(v) for k, v in (a.split("=") for a in sys.argv[1:])}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
