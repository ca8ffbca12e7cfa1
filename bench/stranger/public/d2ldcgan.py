"""Dive into Deep Learning (d2l-ai/d2l-en): the Deep Convolutional GAN (G_block/D_block nets) on scikit-learn's digits
instead of the Pokemon sprites, watched by gradmedic with one monitor per net.

Adapted from https://github.com/d2l-ai/d2l-en (commit 23d7a5aecceee57d1292c56e90cce307f183bb0a, the newest; the file
was last changed in 0f4e57be684684d5619bce727690bea54269849d), chapter_generative-adversarial-networks/dcgan.md, the
PyTorch tab, with ``update_D``/``update_G`` from gan.md (as d2lgan.py has them; the book's sample code is under the
modified MIT licence of LICENSE-SAMPLECODE, see LICENSE-d2ldcgan).

Kept as in the book (code copied below): ``G_block`` (ConvTranspose2d k4 s2 p1 without bias, BatchNorm2d, ReLU) and
``D_block`` (Conv2d k4 s2 p1 without bias, BatchNorm2d, LeakyReLU(0.2, inplace=True)) line for line; net_G as
G_blocks from the 100-d latent (the first with strides=1, padding=0: 1x1 -> 4x4), halving the channels, then
ConvTranspose2d to 3 channels and Tanh; net_D as D_blocks doubling the channels, then Conv2d(kernel_size=4,
bias=False) to one logit; ``latent_dim, lr, num_epochs = 100, 0.005, 20``; batch 256 with ``shuffle=True`` (no
drop_last: each epoch's last batch holds 5 images); ``train`` as the book: ``nn.BCEWithLogitsLoss(reduction='sum')``,
``nn.init.normal_(w, 0, 0.02)`` on every parameter of both nets (the BatchNorm weights and biases too), both Adam with
``{'lr': lr, 'betas': [0.5, 0.999]}``, per batch ``Z = torch.normal(0, 1, size=(batch_size, latent_dim, 1, 1))`` then
``update_D`` (``trainer_D.zero_grad()``, real against ones, ``net_G(Z).detach()`` against zeros, ``(... + ...) / 2``,
``backward``, ``trainer_D.step()``) and ``update_G`` (``trainer_G.zero_grad()``, ``net_D(net_G(Z))`` against ones,
``backward``, ``trainer_G.step()``) with the same Z; the per-epoch ``Accumulator`` of loss_D, loss_G and examples.
net_G is never put in eval mode (the book shows its samples in train mode, BatchNorm on batch statistics).

Changed to run offline on one CPU thread in ~15-25 s:
- the data: the Pokemon sprites (a download) are scikit-learn's 1797 ``load_digits`` images (0..16), resized
  bilinearly to 16x16 (``F.interpolate`` for ``Resize``), repeated to 3 channels (the nets keep the book's 3-channel
  input and output), /16 for ``ToTensor`` and ``(x - 0.5) / 0.5`` for ``Normalize(0.5, 0.5)``: [-1, 1];
  (TensorDataset(images, zeros) stands in for ImageFolder's (image, label) pairs; num_workers 0);
- 16x16 images instead of 64x64, so each net loses its two widest blocks: net_G is G_block(100 -> 2 n_G, 4x4),
  G_block(2 n_G -> n_G, 8x8), ConvTranspose2d(n_G -> 3, 16x16), Tanh; net_D is D_block(3 -> n_D, 8x8), D_block(n_D ->
  2 n_D, 4x4), Conv2d(2 n_D -> 1, kernel 4) (the book: four G_blocks 8, 4, 2, 1 x n_G and four D_blocks 1, 2, 4, 8 x
  n_D).  The brief asked for 32x32 with one block dropped: tried before recording, 32x32 with n_G = n_D = 16 took
  45-75 s for the 20 epochs on the loaded machine and its distance only fell from 34.3 to 19.0 (not the good outcome's
  half), and n = 8 at 32x32 learned slower still (23.9 after 40 epochs); 16x16 with n = 32 reached 8.2 in 20 epochs;
- n_G = n_D = 32 instead of 64; the book's 20 epochs are 8 steps each here (160 updates of each net; the sprites'
  epochs are longer);
- ``torch.manual_seed(seed)`` (the book does not seed); device CPU; the Animator and the 21 generated examples shown
  each epoch (plots only) and the final print are left out (the numbers go to the extras);
- ``update_D`` also records D(x) and D(G(z)) (the sigmoid of the two outputs' means, for run.py's GAN rule) and
  takes the monitor; ``update_G`` takes the monitor and the no_zero_grad switch; ``train`` returns what the
  benchmark needs.

The watch, as a user would: two monitors built right after the optimizers, ``mon_D = gradmedic.watch(net_D, trainer_D,
every=10)`` and ``mon_G = gradmedic.watch(net_G, trainer_G, every=10)``; ``mon_D.step(loss_D)`` right after
``loss_D.backward()`` in update_D, before ``trainer_D.step()``; ``mon_G.step(loss_G)`` right after
``loss_G.backward()`` in update_G, before ``trainer_G.step()`` (net_D's forward in update_G runs its hooks too, as for
any user); both closed after the loop.  Saved as two parts, ``netD`` first (run.py's loss-range check reads it), then
``netG``.

Outcome (metric ``frechet_8x8``, run.py's GAN rules): dcgan.py's ``frechet`` (FID's squared distance between
Gaussians fitted by mean and covariance; imported, not copied) between 1000 generated images and the 1797 real [-1,
1] digits, both averaged over their 3 channels and average-pooled from 16x16 to 8x8 (64 values), measured once
before training (the reference: the untrained generator, ~34.3) and once after; the noise is N(0, 1) from a generator
seeded 1000 + seed, apart from training; net_G in train mode, as the book shows its samples.  For the raw-pixel
variant the generator is measured against the [-1, 1] digits like every run.  Extras: ``final_D_x`` and
``final_D_G_z1`` (means of the last 20 update_D steps), the last epoch's loss_D and loss_G per example (the book's
printed numbers), the largest losses, the generated pixels' spread across samples (the real digits': 0.354).

``CASES`` (program "d2ldcgan"): the program on seeds 1-3, and one change each against the same seed's healthy run:
both rates x10, x100 (seeds 1 and 2), x1000 (seed 2, added after x100 came out ambiguous there), /1000; the real images
in raw 0..16 units (no ToTensor scaling, no Normalize; seeds 1 and 2); ``normal_(0, 1)`` instead of ``normal_(0,
0.02)`` on every parameter (seeds 1 and 2); ``trainer_G.zero_grad()`` left out of update_G (seeds 1 and 2); and,
expected harmless, ``BCEWithLogitsLoss()`` with its default reduction='mean' at the same rate (cause healthy), batch
128 (cause healthy), both rates x2 (lr_high, added after x0.5 came out not harmless) and x0.5 (lr_low).

Recorded (cases-public105; 18 cases, 13-23 s of training a run on the shared 2-core machine, ~5 min in all; 160 steps
of each net a run, 300 for batch 128).  Healthy programs: distance 8.20, 12.16 and 10.59 on seeds 1-3 from the
untrained 34.27, 34.25 and 34.23 (D(x) 0.52-0.53, D(G(z)) 0.48: D near chance; last epoch's loss_D 0.67-0.68 and
loss_G 0.85-0.94 per example; loss_D at most 195-227 (the sum over 256); the generated spread 0.13-0.17 against the
real 0.354).  Broken: both rates x100 on seed 1, 35.0 (D wins outright, D(x) 1.000 and D(G(z)) 0.000, loss_D up to
25863, loss_G 48.5 per example at the end); /1000, 34.26 (nothing learned, spread 0.001); raw 0..16 pixels on seed 1,
37.96 (D stays at chance, D(x) 0.51: each batch goes through D's BatchNorm on its own statistics; the generator does
not learn the [-1, 1] digits); N(0, 1) init on seed 1, 39.6 from an untrained 31.7 (D(x) 0.997, D(G(z)) 0.004,
loss_D up to 3922, loss_G up to 6817).  Healthy: reduction='mean', 7.18 (losses 256x smaller); batch 128, 2.37; both
rates x2, 2.76.  Ambiguous (neither 4x their control's distance nor healthy by run.py's rules): both rates x10, 3.72
(better than its control, but loss_D up to 552, over 2x the control's 227); x100 on seed 2, 47.0 (D wins outright;
just under 4x the control's 12.16); x1000 on seed 2, 40.8 (D wins outright; loss_D up to 2.5e6, loss_G up to 2.5e7,
all finite); raw pixels on seed 2, 39.2 (as seed 1; 3.2x its control); N(0, 1) init on seed 2, 29.1 from 32.3 (D wins,
D(x) 0.994); trainer_G.zero_grad() left out, 18.4 (seed 1) and 18.6 (seed 2) (D wins outright, D(x) 0.998-0.999,
loss_G up to 2156-2681; about 2x and 1.5x their controls); both rates x0.5, 18.27 (not under half the untrained 34.27:
the slower run has not got there in 160 steps; D near chance).  Labels: 6 healthy (3 programs, reduction mean, batch
128, lr x2), 4 broken, 8 ambiguous.  Every loss finite in every run.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from dcgan import frechet
from torch import nn

import gradmedic

ARCH = "gan"
PARTS = ("netD", "netG")  # the two monitors' files, {name}_netD.npz and {name}_netG.npz, in train()'s order
MONITOR_AT = ("two monitors built right after the optimizers: the discriminator's (watch(net_D, trainer_D, every=10)) "
              "stepped with loss_D right after loss_D.backward() in update_D, before trainer_D.step(); the generator's "
              "(watch(net_G, trainer_G, every=10)) stepped with loss_G right after loss_G.backward() in update_G, "
              "before trainer_G.step(); update_D comes first in each iteration")
N_G = N_D = 32  # upstream: n_G = n_D = 64
SIZE = 16  # upstream: 64x64 images (Resize((64, 64)))
LATENT_DIM, LR, NUM_EPOCHS = 100, 0.005, 20  # upstream: latent_dim, lr, num_epochs = 100, 0.005, 20
BATCH_SIZE = 256  # upstream: batch_size = 256


class G_block(nn.Module):
    def __init__(self, out_channels, in_channels=3, kernel_size=4, strides=2,
                 padding=1, **kwargs):
        super(G_block, self).__init__(**kwargs)  # noqa: UP008 (as in the book)
        self.conv2d_trans = nn.ConvTranspose2d(in_channels, out_channels,
                                kernel_size, strides, padding, bias=False)
        self.batch_norm = nn.BatchNorm2d(out_channels)
        self.activation = nn.ReLU()

    def forward(self, X):
        return self.activation(self.batch_norm(self.conv2d_trans(X)))


class D_block(nn.Module):
    def __init__(self, out_channels, in_channels=3, kernel_size=4, strides=2,
                padding=1, alpha=0.2, **kwargs):
        super(D_block, self).__init__(**kwargs)  # noqa: UP008 (as in the book)
        self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size,
                                strides, padding, bias=False)
        self.batch_norm = nn.BatchNorm2d(out_channels)
        self.activation = nn.LeakyReLU(alpha, inplace=True)

    def forward(self, X):
        return self.activation(self.batch_norm(self.conv2d(X)))


def make_nets(n_G: int = N_G, n_D: int = N_D, size: int = SIZE):
    """The book's net_G and net_D for size x size images: for 32x32 one G_block and one D_block fewer than for 64x64,
    for 16x16 two fewer."""
    k = {32: 4, 16: 2}[size]
    # upstream (64x64): G_block(100 -> n_G*8, strides=1, padding=0) (4x4), G_block(n_G*8 -> n_G*4) (8x8),
    # G_block(n_G*4 -> n_G*2) (16x16), G_block(n_G*2 -> n_G) (32x32), ConvTranspose2d(n_G -> 3) (64x64), Tanh; here the
    # widest blocks are dropped, so the first block projects to n_G*k (k = 2 at 16x16: 100 -> n_G*2 -> n_G -> 3)
    net_G = nn.Sequential(
        G_block(in_channels=100, out_channels=n_G*k,
                strides=1, padding=0),                  # Output: (n_G * k, 4, 4)
        *[G_block(in_channels=n_G*k >> i, out_channels=n_G*k >> (i + 1)) for i in range(k.bit_length() - 1)],
        nn.ConvTranspose2d(in_channels=n_G, out_channels=3,
                           kernel_size=4, stride=2, padding=1, bias=False),
        nn.Tanh())  # Output: (3, size, size)
    # upstream (64x64): D_block(3 -> n_D), D_block(n_D -> n_D*2), D_block(n_D*2 -> n_D*4), D_block(n_D*4 -> n_D*8),
    # Conv2d(n_D*8 -> 1, kernel_size=4, bias=False); here the widest D_blocks are dropped (16x16: 3 -> n_D -> n_D*2 -> 1)
    net_D = nn.Sequential(
        D_block(n_D),  # Output: (n_D, size / 2, size / 2)
        *[D_block(in_channels=n_D << i, out_channels=n_D << (i + 1)) for i in range(k.bit_length() - 1)],
        nn.Conv2d(in_channels=n_D*k, out_channels=1,
                  kernel_size=4, bias=False))  # Output: (1, 1, 1)
    return net_G, net_D


def digits(raw: bool = False, size: int = SIZE) -> torch.Tensor:
    """scikit-learn's 1797 8x8 digits as 3-channel 32x32 images, as the book's transformer gives the sprites:
    Resize, ToTensor ([0, 1]), Normalize(0.5, 0.5) ([-1, 1]).  ``raw``: the 0..16 values, neither scaled nor
    normalized."""
    from sklearn.datasets import load_digits

    x = torch.tensor(load_digits().images, dtype=torch.float32).unsqueeze(1)  # 0..16
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 16)  # Resize((32, 32))
    x = x.repeat(1, 3, 1, 1)  # grey digits as RGB (the sprites are RGB; the nets expect 3 channels)
    if raw:  # the unscaled_inputs variant: no ToTensor scaling, no Normalize
        return x
    x = x / 16.0  # ToTensor
    return (x - 0.5) / 0.5  # Normalize(0.5, 0.5)


def update_D(X, Z, net_D, net_G, loss, trainer_D, monitor, rec):
    """Update discriminator."""
    batch_size = X.shape[0]
    ones = torch.ones((batch_size,), device=X.device)
    zeros = torch.zeros((batch_size,), device=X.device)
    trainer_D.zero_grad()
    real_Y = net_D(X)
    fake_X = net_G(Z)
    # Do not need to compute gradient for `net_G`, detach it from
    # computing gradients.
    fake_Y = net_D(fake_X.detach())
    loss_D = (loss(real_Y, ones.reshape(real_Y.shape)) +
              loss(fake_Y, zeros.reshape(fake_Y.shape))) / 2
    loss_D.backward()
    monitor.step(loss_D)  # gradmedic
    trainer_D.step()
    rec["D_x"].append(torch.sigmoid(real_Y).mean().item())  # not upstream: D(x) and D(G(z)) for the outcome
    rec["D_G_z1"].append(torch.sigmoid(fake_Y).mean().item())
    return loss_D


def update_G(Z, net_D, net_G, loss, trainer_G, monitor, zero_grad=True):
    """Update generator."""
    batch_size = Z.shape[0]
    ones = torch.ones((batch_size,), device=Z.device)
    if zero_grad:  # the no_zero_grad variant leaves this out
        trainer_G.zero_grad()
    # We could reuse `fake_X` from `update_D` to save computation
    fake_X = net_G(Z)
    # Recomputing `fake_Y` is needed since `net_D` is changed
    fake_Y = net_D(fake_X)
    loss_G = loss(fake_Y, ones.reshape(fake_Y.shape))
    loss_G.backward()
    monitor.step(loss_G)  # gradmedic
    trainer_G.step()
    return loss_G


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float = 0.02, raw: bool = False, g_zero_grad: bool = True,
          reduction: str = "sum", batch_size: int = BATCH_SIZE, num_epochs: int = NUM_EPOCHS, n_G: int = N_G,
          n_D: int = N_D, size: int = SIZE, every: int = 10, verbose: bool = False) -> dict:
    """``lr_mult``: the Adam rate (0.005, both nets) times this; ``init_std``: the std of the normal_ init of every
    parameter (0.02 in the book); ``raw``: the real images in raw 0..16 units (no ToTensor scaling, no Normalize);
    ``g_zero_grad=False``: ``trainer_G.zero_grad()`` left out of update_G; ``reduction``: the BCEWithLogitsLoss
    reduction ('sum' in the book); ``batch_size``: the DataLoader's (256 in the book)."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)  # upstream: unseeded
    device = torch.device("cpu")  # upstream: d2l.try_gpu()

    data = digits(raw, size)
    # upstream: DataLoader(pokemon, batch_size=batch_size, shuffle=True, num_workers=d2l.get_dataloader_workers());
    # the (X, label) pairs of ImageFolder here (X, zeros)
    data_iter = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(data, torch.zeros(len(data), dtype=torch.long)), batch_size=batch_size,
        shuffle=True)

    net_G, net_D = make_nets(n_G, n_D, size)
    lr, latent_dim = LR * lr_mult, LATENT_DIM

    # the book's train(net_D, net_G, data_iter, num_epochs, lr, latent_dim, device)
    loss = nn.BCEWithLogitsLoss(reduction=reduction)  # the book: reduction='sum'
    for w in net_D.parameters():
        nn.init.normal_(w, 0, init_std)  # upstream: nn.init.normal_(w, 0, 0.02)
    for w in net_G.parameters():
        nn.init.normal_(w, 0, init_std)  # upstream: nn.init.normal_(w, 0, 0.02)
    net_D, net_G = net_D.to(device), net_G.to(device)
    trainer_hp = {'lr': lr, 'betas': [0.5, 0.999]}
    trainer_D = torch.optim.Adam(net_D.parameters(), **trainer_hp)
    trainer_G = torch.optim.Adam(net_G.parameters(), **trainer_hp)
    mon_D = gradmedic.watch(net_D, trainer_D, every=every)  # gradmedic
    mon_G = gradmedic.watch(net_G, trainer_G, every=every)  # gradmedic

    # the outcome: dcgan.py's Frechet distance between 1000 generated and the 1797 real [-1, 1] images, both averaged
    # over their 3 (equal) channels and average-pooled from 32x32 to 8x8 (64 values); noise from a generator seeded
    # 1000 + seed, apart from training; net_G in train mode (batch statistics), as the book shows its samples
    def pool(t):
        return F.avg_pool2d(t.mean(1, keepdim=True), size // 8).reshape(len(t), -1).double().numpy()

    real_all = pool(digits(size=size))
    eval_z = torch.normal(0, 1, size=(1000, latent_dim, 1, 1), generator=torch.Generator().manual_seed(1000 + seed))

    def sample_fd():
        with torch.no_grad():
            f = pool(net_G(eval_z))
        if not np.isfinite(f).all():
            return float("nan")
        with warnings.catch_warnings():  # sqrtm's "singular matrix" warning (a collapsed generator)
            warnings.simplefilter("ignore")
            return frechet(f, real_all)

    fd_start = sample_fd()
    t0 = time.time()
    rec = {"D_x": [], "D_G_z1": []}
    losses_D, losses_G = [], []
    for epoch in range(1, num_epochs + 1):
        # Train one epoch
        metric = [0.0, 0.0, 0]  # loss_D, loss_G, num_examples (d2l.Accumulator(3))
        for X, _ in data_iter:
            batch_size = X.shape[0]
            Z = torch.normal(0, 1, size=(batch_size, latent_dim, 1, 1))
            X, Z = X.to(device), Z.to(device)
            lD = update_D(X, Z, net_D, net_G, loss, trainer_D, mon_D, rec)
            lG = update_G(Z, net_D, net_G, loss, trainer_G, mon_G, g_zero_grad)
            losses_D.append(lD.item())
            losses_G.append(lG.item())
            metric[0] += lD.item()
            metric[1] += lG.item()
            metric[2] += batch_size
        # upstream: the 21 generated examples shown and the losses plotted here (the Animator), left out
        loss_D, loss_G = metric[0] / metric[2], metric[1] / metric[2]
        if verbose:
            print(f"epoch {epoch} loss_D {loss_D:.3f}, loss_G {loss_G:.3f}, D(x) {np.mean(rec['D_x'][-8:]):.3f} "
                  f"D(G(z)) {np.mean(rec['D_G_z1'][-8:]):.3f} ({time.time() - t0:.1f}s)", flush=True)
    mon_D.close()
    mon_G.close()
    seconds = time.time() - t0
    fd = sample_fd()
    with torch.no_grad():
        p = pool(net_G(eval_z))
    last = {k: float(np.mean(v[-20:])) for k, v in rec.items()}
    fin = bool(np.isfinite(losses_D).all() and np.isfinite(losses_G).all())
    extra = {"fd_untrained_G": fd_start, **{f"final_{k}": v for k, v in last.items()},
             "loss_D": float(loss_D), "loss_G": float(loss_G),
             "max_loss_D": float(np.nanmax(losses_D)), "max_loss_G": float(np.nanmax(losses_G)),
             "finite_losses": fin, "steps": len(losses_D), "epochs": num_epochs, "lr": lr, "lr_mult": lr_mult,
             "init_std": init_std, "raw": raw, "g_zero_grad": g_zero_grad, "reduction": reduction,
             "batch_size": data_iter.batch_size, "n_G": n_G, "n_D": n_D}
    if np.isfinite(p).all():
        extra.update(gen_pixel_std_over_samples=float(p.std(0).mean()),
                     real_pixel_std_over_samples=float(real_all.std(0).mean()))
    return {"monitors": {"netD": mon_D, "netG": mon_G}, "metric": "frechet_8x8",
            "value": float(fd) if np.isfinite(fd) else float("nan"), "initial": float(fd_start),
            "chance": float(fd_start), "initial_what": "untrained generator", "extra": extra, "seconds": seconds}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="d2ldcgan", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"the book's DCGAN on the digits as 3-channel {SIZE}x{SIZE} images in [-1, 1] (net_G G_blocks 100-{N_G * 2}-{N_G} "
      f"and ConvTranspose2d to 3, Tanh; net_D D_blocks 3-{N_D}-{N_D * 2} and Conv2d to 1; normal_(0, 0.02) on every "
      f"parameter; BCEWithLogitsLoss(reduction='sum'); both Adam lr {LR:g}, betas (0.5, 0.999); batch {BATCH_SIZE}, "
      f"{NUM_EPOCHS} epochs of 8 steps)")
CASES: list[dict] = (
    [_case(f"d2ldcgan_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"d2ldcgan_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: both Adam lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (2,))) for s in ss]
    + [_case("d2ldcgan_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: both Adam lr /1000 ({LR * 1e-3:g})")]
    + [_case(f"d2ldcgan_raw_pixels_s{s}", "unscaled_inputs", s, {"raw": True},
             f"{_P}: the real images in raw 0..16 units (ToTensor's scaling and Normalize(0.5, 0.5) left out); the "
             f"generator is measured against the [-1, 1] digits as usual") for s in (1, 2)]
    + [_case(f"d2ldcgan_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: normal_(0, 1) instead of normal_(0, 0.02) on every parameter of both nets") for s in (1, 2)]
    + [_case(f"d2ldcgan_no_zero_grad_g_s{s}", "no_zero_grad", s, {"g_zero_grad": False},
             f"{_P}: trainer_G.zero_grad() left out of update_G (net_G's gradients accumulate)") for s in (1, 2)]
    + [_case("d2ldcgan_bce_mean_s1", "healthy", 1, {"reduction": "mean"},
             f"{_P}: BCEWithLogitsLoss() with its default reduction='mean' instead of 'sum' at the same rate (gradients "
             f"/256; Adam is invariant to their scale)")]
    + [_case("d2ldcgan_batch128_s1", "healthy", 1, {"batch_size": 128}, f"{_P}: batch 128 instead of 256")]
    + [_case("d2ldcgan_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: both Adam lr x2 ({LR * 2:g})")]
    + [_case("d2ldcgan_lr_half_s1", "lr_low", 1, {"lr_mult": 0.5}, f"{_P}: both Adam lr x0.5 ({LR * 0.5:g})")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k not in ("monitors",)})
