"""Erik Linder-Noren's PyTorch-GAN: the adversarial autoencoder (AAE), on digits, watched by gradmedic with one monitor
per optimizer.

Adapted from https://github.com/eriklindernoren/PyTorch-GAN (commit 36d3c77e5ff20ebe0aeefd322326a134a279b93e, the
newest; implementations/aae/aae.py as last changed in c5d6be170013db8975d96806084df573d87e5d26; MIT License,
Copyright (c) 2018 Erik Linder-Noren, see LICENSE-elaae).  The same repository's GANs are elgan.py, ellsgan.py,
elacgan.py, elwgan.py and wgangp.py; this module follows their conventions (one monitor per optimizer, two parts).

Kept as in the original: the argparse defaults as ``opt`` (batch_size 64, lr 0.0002, b1 0.5, b2 0.999, latent_dim 10,
channels 1); ``reparameterization`` (``std = exp(logvar / 2)``, ``sampled_z`` from ``np.random.normal``, ``z =
sampled_z * std + mu``); ``Encoder`` (Linear(64, 512), LeakyReLU(0.2), Linear(512, 512), BatchNorm1d(512), LeakyReLU,
then the ``mu`` and ``logvar`` Linear(512, latent_dim) heads and the reparameterization); ``Decoder`` (Linear(latent_dim,
512), LeakyReLU, Linear(512, 512), BatchNorm1d, LeakyReLU, Linear(512, 64), Tanh); the latent ``Discriminator``
(Linear(latent_dim, 512), LeakyReLU, Linear(512, 256), LeakyReLU, Linear(256, 1), Sigmoid); PyTorch's default init
(upstream applies none); ``adversarial_loss = torch.nn.BCELoss()``, ``pixelwise_loss = torch.nn.L1Loss()``;
``optimizer_G = Adam(itertools.chain(encoder.parameters(), decoder.parameters()), lr 0.0002, betas (0.5, 0.999))`` and
``optimizer_D`` the same on the discriminator; a shuffling DataLoader; and the loop in its order: ``valid`` / ``fake``
ground truths, ``optimizer_G.zero_grad()``, ``encoded_imgs = encoder(real_imgs)``, ``decoded_imgs =
decoder(encoded_imgs)``, ``g_loss = 0.001 * adversarial_loss(discriminator(encoded_imgs), valid) + 0.999 *
pixelwise_loss(decoded_imgs, real_imgs)``, ``g_loss.backward()``, ``optimizer_G.step()``; then
``optimizer_D.zero_grad()``, ``z`` from ``np.random.normal`` (the prior's samples are the "real" ones),
``real_loss = adversarial_loss(discriminator(z), valid)``, ``fake_loss = adversarial_loss(discriminator(
encoded_imgs.detach()), fake)``, ``d_loss = 0.5 * (real_loss + fake_loss)``, ``d_loss.backward()``,
``optimizer_D.step()``.  ``Variable`` and ``Tensor`` as upstream.

Changed to run offline on one CPU thread without torchvision:
- scikit-learn's ``load_digits`` (8x8, pixel values 0..16 divided by 16 for ToTensor's [0, 1], then Normalize to
  [-1, 1]) instead of MNIST resized to 32x32, so img_size is 8 (the encoder's first Linear is 64 -> 512 and the
  decoder's last 512 -> 64 instead of 1024); the widths are otherwise upstream's.  A fixed permutation (the same for
  every seed) holds out 297 digits for the outcome; the other 1500 train (upstream trains on MNIST's training set);
- EPOCHS = 40 epochs instead of 200: 24 batches an epoch (the last of 28 images), 960 steps of each optimizer
  (upstream: 938 batches an epoch);
- ``torch.manual_seed(seed)`` and ``np.random.seed(seed)`` (upstream seeds neither); no CUDA, no ``save_image``
  grids (``sample_image`` left out); the per-batch print is left out (a verbose print every 5 epochs instead);
- ``latent_dim`` passed to the three constructors and ``reparameterization`` instead of read from the global ``opt``
  (for the latent_dim variant), and the variants' switches (below) as keyword arguments of ``train``;
- as upstream would, the script stops when BCELoss gets a NaN probability ("all elements of input should be between 0
  and 1"): ``train`` catches that RuntimeError, closes the monitors and reports a NaN outcome and the step in
  ``extra["crash"]``.

The watch: two monitors, one per optimizer, as a user of this code would set them: ``gradmedic.watch(nn.Sequential(
encoder, decoder), optimizer_G, every=10)`` (the two models ``optimizer_G`` trains, in one container for the watch;
the loop still calls each as upstream) stepped with g_loss right after ``g_loss.backward()``, before
``optimizer_G.step()``; ``gradmedic.watch(discriminator, optimizer_D, every=10)`` stepped with d_loss right after
``d_loss.backward()``, before ``optimizer_D.step()``.  The discriminator's forward in the autoencoder's step runs its
hooks too, and ``g_loss.backward()`` leaves gradients on the discriminator, which ``optimizer_D.zero_grad()`` clears,
as for any user of this code.  Saved as two parts, ``ae`` (first: its loss is run.py's "largest loss" check) and
``disc``.

Outcome: ``heldout_recon_l1``, the L1 reconstruction error (``pixelwise_loss``, in the normalized [-1, 1] units) of
the 297 held-out digits after training, the three models in eval mode (BatchNorm's running statistics) and the
reparameterization's noise from numpy seeded apart from training (the training stream restored); lower is better;
``initial`` is the untrained autoencoder's (about 0.79).  run.py labels it by its loss rules (broken when the control's
error is under half the variant's, or the variant made at most half its control's progress from the untrained error,
or it is NaN; healthy when it ends at most 0.7x the untrained error, at most 1.1x its control's, and the
autoencoder's g_loss never rose above twice the control's largest).  For the raw-pixel variant the error is divided
by 8 (0..16 spans 8x the normalized [-1, 1]).  Extras: the latent discriminator's held-out accuracy (``disc_acc``:
the held-out codes as fake against as many prior samples as real, threshold 0.5) and its mean outputs, the final
g_loss, d_loss, training L1, D(z) and D(encoded) (means of the last 20 steps), the first and largest losses, the step
count, both rates and the switches.

``CASES`` (program "elaae"): the program on seeds 1-3, and one change each against the same seed's healthy run: both
learning rates x10, x100 (seeds 1 and 2), x1000 and /1000; the images as load_digits' raw 0..16 values (no ToTensor
scaling, no Normalize) into the encoder and as the L1 target of the decoder's Tanh (seeds 1 and 2); N(0, 1) on every
Linear weight of the three models (seeds 1 and 2); ``optimizer_G.zero_grad()`` left out; the loss weights swapped
(``0.999 * adversarial + 0.001 * pixelwise``: no cause of causes.py describes it - not a wrong loss for the output,
not a rate -, so it carries cause "healthy" and is labelled by outcome, where a worse run can only be
"ambiguous"); batch size 128 and latent_dim 16 (cause "healthy", expected harmless).  Labels come from run.py's outcome
rules only.

Recorded (cases-public145, 16 cases in 236 s, 13-19 s a run on the shared 2-core machine): healthy held-out L1 0.1083,
0.1096, 0.1102 on seeds 1-3 (from the untrained 0.797, 0.791, 0.791; g_loss ~0.77 -> 0.10, d_loss ~0.70 -> ~0.49,
largest g_loss 0.82, largest d_loss 0.70-0.72, held-out discriminator accuracy 0.77-0.79, final D(z) ~0.66,
D(encoded) ~0.35; every loss finite).  Healthy also: both rates x10 (0.1181, 1.09x its control), batch 128 (0.1115,
480 steps) and latent_dim 16 (0.0873).  Broken: both rates x100 on seed 1 (crashed at step 133: BCELoss got a NaN
probability after d_loss reached 11.1; NaN) and seed 2 (0.3879, while its training L1 was 0.148: d_loss up to 61.9,
the discriminator wins, D(z) 0.96, D(encoded) 0.02, held-out accuracy 0.98), x1000 (crashed at step 4, d_loss up to 50
in its 3 steps, so the monitors hold 3 steps; NaN), /1000 (0.7955 from 0.7968: nothing learned), raw 0..16 pixels
(0.557 on both seeds from the untrained 0.616: the Tanh cannot reach the target, g_loss 5.0 -> 4.46) and the N(0,
1) init (0.3784, 0.4044; the untrained eval-mode error is NaN - the unnormalized 512-wide activations give a logvar
whose exp overflows - while training mode's BatchNorm keeps the steps finite; d_loss up to 52-63, the discriminator
saturates, D(z) 1.0 and D(encoded) 0.96-1.0).  Ambiguous: ``optimizer_G.zero_grad()`` left out (0.1784, 1.65x its
control: worse, not twice as bad; the discriminator ends ahead, accuracy 0.94) and the swapped loss weights (0.2627,
2.4x its control, with training L1 0.26; the encoded codes are pushed to the prior, D(z) 0.52, D(encoded) 0.50).
Labels: 6 healthy (3 programs, 3 variants), 8 broken, 2 ambiguous; every loss the monitors recorded finite (the two
crashes stop before a NaN loss is stepped).
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import torch
import torch.nn as nn
from torch.autograd import Variable

import gradmedic

ARCH = "gan"
PARTS = ("ae", "disc")  # the two monitors' files, {name}_ae.npz and {name}_disc.npz, in train()'s order
MONITOR_AT = ("two monitors, one per optimizer: the autoencoder's watch(nn.Sequential(encoder, decoder), optimizer_G, "
              "every=10) (optimizer_G = Adam over itertools.chain(encoder.parameters(), decoder.parameters())) stepped "
              "with g_loss (0.001 * BCELoss(D(encoded), 1) + 0.999 * L1Loss(decoded, real)) right after "
              "g_loss.backward(), before optimizer_G.step(); the latent discriminator's watch(discriminator, "
              "optimizer_D, every=10) stepped with d_loss (0.5 * (real_loss + fake_loss), BCELoss, prior samples real, "
              "encoded_imgs.detach() fake) right after d_loss.backward(), before optimizer_D.step() (the autoencoder's "
              "step comes first in each batch)")
EPOCHS = 40
N_TEST = 297  # held-out digits (the other 1500 train)


class Opt:
    """upstream's argparse defaults (``opt``), with the image size of the 8x8 digits."""
    n_epochs = 200
    batch_size = 64
    lr = 0.0002
    b1 = 0.5
    b2 = 0.999
    latent_dim = 10
    img_size = 8  # upstream 32 (MNIST resized)
    channels = 1


opt = Opt()
img_shape = (opt.channels, opt.img_size, opt.img_size)
Tensor = torch.FloatTensor  # upstream: torch.cuda.FloatTensor if cuda else torch.FloatTensor


def reparameterization(mu, logvar, latent_dim=opt.latent_dim):  # upstream: opt.latent_dim (the latent_dim variant)
    std = torch.exp(logvar / 2)
    sampled_z = Variable(Tensor(np.random.normal(0, 1, (mu.size(0), latent_dim))))
    z = sampled_z * std + mu
    return z


class Encoder(nn.Module):
    def __init__(self, latent_dim=opt.latent_dim):  # upstream: no argument (opt.latent_dim)
        super(Encoder, self).__init__()  # noqa: UP008
        self.latent_dim = latent_dim

        self.model = nn.Sequential(
            nn.Linear(int(np.prod(img_shape)), 512),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 512),
            nn.BatchNorm1d(512),
            nn.LeakyReLU(0.2, inplace=True),
        )

        self.mu = nn.Linear(512, latent_dim)
        self.logvar = nn.Linear(512, latent_dim)

    def forward(self, img):
        img_flat = img.view(img.shape[0], -1)
        x = self.model(img_flat)
        mu = self.mu(x)
        logvar = self.logvar(x)
        z = reparameterization(mu, logvar, self.latent_dim)
        return z


class Decoder(nn.Module):
    def __init__(self, latent_dim=opt.latent_dim):  # upstream: no argument (opt.latent_dim)
        super(Decoder, self).__init__()  # noqa: UP008

        self.model = nn.Sequential(
            nn.Linear(latent_dim, 512),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 512),
            nn.BatchNorm1d(512),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, int(np.prod(img_shape))),
            nn.Tanh(),
        )

    def forward(self, z):
        img_flat = self.model(z)
        img = img_flat.view(img_flat.shape[0], *img_shape)
        return img


class Discriminator(nn.Module):
    def __init__(self, latent_dim=opt.latent_dim):  # upstream: no argument (opt.latent_dim)
        super(Discriminator, self).__init__()  # noqa: UP008

        self.model = nn.Sequential(
            nn.Linear(latent_dim, 512),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 256),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(256, 1),
            nn.Sigmoid(),
        )

    def forward(self, z):
        validity = self.model(z)
        return validity


def digits(pixels: str = "normalize") -> tuple[torch.Tensor, torch.Tensor]:
    """load_digits as ``transforms.ToTensor()`` + ``transforms.Normalize([0.5], [0.5])`` would give it, (n, 1, 8, 8) in
    [-1, 1], split into 1500 training and N_TEST held-out images (a fixed permutation, the same for every seed);
    ``pixels="raw"``: load_digits' own 0..16 pixel values (no ToTensor scaling, no Normalize)."""
    from sklearn.datasets import load_digits

    x = torch.tensor(load_digits().images, dtype=torch.float32).reshape(-1, 1, 8, 8)
    if pixels != "raw":
        x = (x / 16.0 - 0.5) / 0.5  # ToTensor's [0, 1], then Normalize([0.5], [0.5])
    idx = torch.from_numpy(np.random.RandomState(0).permutation(len(x)))
    return x[idx[N_TEST:]], x[idx[:N_TEST]]


def train(seed: int = 1, lr_mult: float = 1.0, pixels: str = "normalize", init_std: float | None = None,
          zero_grad_g: bool = True, adv_weight: float = 0.001, batch_size: int = opt.batch_size,
          latent_dim: int = opt.latent_dim, n_epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    torch.manual_seed(seed)
    np.random.seed(seed)  # upstream draws the reparameterization's and the prior's noise from numpy, unseeded
    t0 = time.time()

    # Use binary cross-entropy loss
    adversarial_loss = torch.nn.BCELoss()
    pixelwise_loss = torch.nn.L1Loss()

    # Initialize generator and discriminator
    encoder = Encoder(latent_dim)  # upstream: Encoder() (and so for the other two)
    decoder = Decoder(latent_dim)
    discriminator = Discriminator(latent_dim)
    if init_std is not None:  # the init_large variant (upstream keeps PyTorch's default init)
        with torch.no_grad():
            for model in (encoder, decoder, discriminator):
                for m in model.modules():
                    if isinstance(m, nn.Linear):
                        nn.init.normal_(m.weight, 0.0, init_std)

    # Configure data loader
    data, test = digits(pixels)
    dataloader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(data, torch.zeros(len(data))),  # upstream: datasets.MNIST(..., transform=...)
        batch_size=batch_size,
        shuffle=True,
    )
    unit = 8.0 if pixels == "raw" else 1.0  # the outcome in the normalized units: 0..16 is 8x the [-1, 1] span

    # Optimizers
    optimizer_G = torch.optim.Adam(
        itertools.chain(encoder.parameters(), decoder.parameters()), lr=opt.lr * lr_mult, betas=(opt.b1, opt.b2)
    )
    optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=opt.lr * lr_mult, betas=(opt.b1, opt.b2))
    autoencoder = nn.Sequential(encoder, decoder)  # gradmedic: the two models optimizer_G trains, for one watch
    mon_g = gradmedic.watch(autoencoder, optimizer_G, every=every)  # gradmedic
    mon_d = gradmedic.watch(discriminator, optimizer_D, every=every)  # gradmedic

    def evaluate():
        """Held-out reconstruction L1 (in the normalized units) and the latent discriminator's accuracy on the
        held-out codes (fake) against as many prior samples (real), all three models in eval mode, the noise from
        numpy seeded apart (the training stream is restored)."""
        state = np.random.get_state()
        np.random.seed(1000 + seed)
        for m in (encoder, decoder, discriminator):
            m.eval()
        with torch.no_grad():
            enc = encoder(test)
            rec_l1 = pixelwise_loss(decoder(enc), test).item() / unit
            d_fake = discriminator(enc)
            d_real = discriminator(Tensor(np.random.normal(0, 1, (len(test), latent_dim))))
            acc = 0.5 * ((d_real > 0.5).float().mean() + (d_fake < 0.5).float().mean()).item()
        for m in (encoder, decoder, discriminator):
            m.train()
        np.random.set_state(state)
        return (rec_l1 if np.isfinite(rec_l1) else float("nan")), acc, d_real.mean().item(), d_fake.mean().item()

    l1_start, acc_start, _, _ = evaluate()
    rec = {"g_loss": [], "d_loss": [], "l1": [], "d_z": [], "d_enc": []}

    # ----------
    #  Training
    # ----------

    crash = ""
    try:
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

                encoded_imgs = encoder(real_imgs)
                decoded_imgs = decoder(encoded_imgs)

                # Loss measures generator's ability to fool the discriminator
                # upstream: 0.001 and 0.999 (the swapped-weights variant passes adv_weight 0.999)
                pix = pixelwise_loss(decoded_imgs, real_imgs)
                g_loss = adv_weight * adversarial_loss(discriminator(encoded_imgs), valid) + (1 - adv_weight) * pix

                g_loss.backward()
                mon_g.step(g_loss)  # gradmedic
                optimizer_G.step()

                # ---------------------
                #  Train Discriminator
                # ---------------------

                optimizer_D.zero_grad()

                # Sample noise as discriminator ground truth
                z = Variable(Tensor(np.random.normal(0, 1, (imgs.shape[0], latent_dim))))  # upstream: opt.latent_dim

                # Measure discriminator's ability to classify real from generated samples
                d_z = discriminator(z)
                d_enc = discriminator(encoded_imgs.detach())
                real_loss = adversarial_loss(d_z, valid)
                fake_loss = adversarial_loss(d_enc, fake)
                d_loss = 0.5 * (real_loss + fake_loss)

                d_loss.backward()
                mon_d.step(d_loss)  # gradmedic
                optimizer_D.step()
                rec["g_loss"].append(g_loss.item())
                rec["d_loss"].append(d_loss.item())
                rec["l1"].append(pix.item() / unit)
                rec["d_z"].append(d_z.mean().item())
                rec["d_enc"].append(d_enc.mean().item())

            if verbose and (epoch % 5 == 4 or epoch == n_epochs - 1):
                n = len(dataloader)
                print(f"[Epoch {epoch}/{n_epochs}] [D loss: {np.mean(rec['d_loss'][-n:]):f}] "
                      f"[G loss: {np.mean(rec['g_loss'][-n:]):f}] [D(z) {np.mean(rec['d_z'][-n:]):.3f}] "
                      f"[D(enc) {np.mean(rec['d_enc'][-n:]):.3f}] held-out L1 / D acc {evaluate()[:2]} "
                      f"({time.time() - t0:.1f}s)", flush=True)
    except RuntimeError as e:  # as upstream would: BCELoss refuses a NaN probability, and the script stops
        if "between 0 and 1" not in str(e):
            raise
        crash = f"step {len(rec['g_loss']) + 1}: {str(e).splitlines()[0]}"
    mon_g.close()
    mon_d.close()
    l1, acc, dz, denc = evaluate()
    if crash:  # the program stopped: no trained autoencoder to measure
        l1 = float("nan")
    last = {k: float(np.mean(v[-20:])) if v else float("nan") for k, v in rec.items()}
    big = {k: float(max(v)) if v and np.isfinite(v).all() else float("nan") for k, v in rec.items()}
    return {"monitors": {"ae": mon_g, "disc": mon_d}, "metric": "heldout_recon_l1", "value": l1, "initial": l1_start,
            "chance": None, "initial_what": "untrained autoencoder: its held-out reconstruction L1 (eval mode)",
            "extra": {"recon_l1_untrained": l1_start, "disc_acc": acc, "disc_acc_untrained": acc_start,
                      "disc_D_prior_heldout": dz, "disc_D_enc_heldout": denc,
                      **{f"final_{k}": v for k, v in last.items()},
                      "first_g_loss": float(np.mean(rec["g_loss"][:5] or [np.nan])),
                      "first_d_loss": float(np.mean(rec["d_loss"][:5] or [np.nan])),
                      "max_g_loss": big["g_loss"], "max_d_loss": big["d_loss"],
                      "finite_losses": bool(np.isfinite(rec["d_loss"] + rec["g_loss"]).all()),
                      "steps": len(rec["g_loss"]), "epochs": n_epochs, "batch_size": batch_size,
                      "latent_dim": latent_dim, "lr_G": optimizer_G.param_groups[0]["lr"],
                      "lr_D": optimizer_D.param_groups[0]["lr"], "lr_mult": lr_mult, "pixels": pixels,
                      "init_std": -1.0 if init_std is None else float(init_std), "zero_grad_g": zero_grad_g,
                      "adv_weight": adv_weight, "crash": crash},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="elaae", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_A = ("adversarial autoencoder (MLP encoder 64-512-512(BatchNorm1d)-(mu, logvar) 10 with reparameterization, MLP decoder "
      "10-512-512(BatchNorm1d)-64 with Tanh, latent discriminator 10-512-256-1 with Sigmoid; g_loss 0.001 BCE + 0.999 "
      f"L1, both Adam lr 2e-4 betas (0.5, 0.999), batch 64, {EPOCHS} epochs of 1500 8x8 digits in [-1, 1])")
CASES: list[dict] = (
    [_case(f"elaae_healthy_s{s}", "healthy", s, {}, f"{_A}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"elaae_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_A}: both Adam lr x{k} ({2e-4 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("elaae_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_A}: both Adam lr /1000 (2e-07)")]
    + [_case(f"elaae_raw_pixels_s{s}", "unscaled_inputs", s, {"pixels": "raw"},
             f"{_A}: the images as load_digits' raw 0..16 pixel values (no ToTensor scaling, no Normalize) into the "
             "encoder and as the L1 target of the decoder's Tanh (the outcome measured in the normalized units)")
       for s in (1, 2)]
    + [_case(f"elaae_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_A}: nn.init.normal_(std=1.0) on every Linear weight of the encoder, decoder and discriminator instead "
             "of PyTorch's default (kaiming_uniform_, a=sqrt(5)); biases and BatchNorm kept") for s in (1, 2)]
    + [_case("elaae_no_zero_grad_g_s1", "no_zero_grad", 1, {"zero_grad_g": False},
             f"{_A}: optimizer_G.zero_grad() left out: the encoder's and decoder's gradients accumulate over the steps")]
    + [_case("elaae_adv_weight_swapped_s1", "healthy", 1, {"adv_weight": 0.999},
             f"{_A}: the loss weights swapped, g_loss = 0.999 * adversarial + 0.001 * pixelwise")]
    + [_case("elaae_batch128_s1", "healthy", 1, {"batch_size": 128}, f"{_A}: batch_size 128 instead of 64")]
    + [_case("elaae_latent16_s1", "healthy", 1, {"latent_dim": 16}, f"{_A}: latent_dim 16 instead of 10")]
)


if __name__ == "__main__":
    import ast
    import sys

    kw = {k: ast.literal_eval(v) for k, v in (a.split("=") for a in sys.argv[1:])}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
