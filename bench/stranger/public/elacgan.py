"""Erik Linder-Noren's PyTorch-GAN: the auxiliary-classifier GAN (ACGAN), on digits, watched by gradmedic with one monitor
per model.

Adapted from https://github.com/eriklindernoren/PyTorch-GAN (commit 36d3c77e5ff20ebe0aeefd322326a134a279b93e, the
newest; implementations/acgan/acgan.py as last changed in c5d6be170013db8975d96806084df573d87e5d26; MIT License,
Copyright (c) 2018 Erik Linder-Noren, see LICENSE-elacgan).  The plain GAN of the same repository is elgan.py, its
WGANs wgangp.py and elwgan.py; this module follows their conventions (two monitors, the Frechet distance outcome).

Kept as in the original: the argparse defaults as ``opt`` (batch_size 64, lr 0.0002, b1 0.5, b2 0.999, latent_dim
100, n_classes 10, img_size 32, channels 1); ``weights_init_normal`` (Conv weights N(0, 0.02), BatchNorm2d weights
N(1, 0.02) and biases 0; Linear and Embedding keep PyTorch's defaults) applied to both models; ``Generator``
(``label_emb`` Embedding(10, 100) multiplied into the noise, ``l1`` Linear to a (W, 8, 8) map - init_size =
img_size // 4 -, BatchNorm2d, Upsample x2, Conv3x3, ``BatchNorm2d(., 0.8)`` - eps 0.8, as upstream -, LeakyReLU(0.2),
Upsample x2, Conv3x3 to W // 2, BatchNorm2d(eps 0.8), LeakyReLU, Conv3x3 to 1 channel, Tanh); ``Discriminator``
(four ``discriminator_block``: Conv3x3 stride 2, LeakyReLU(0.2), Dropout2d(0.25), BatchNorm2d(eps 0.8) but in the
first, 1-16-32-64-128 channels, 32 -> 2x2; ``adv_layer`` Linear(512, 1) + Sigmoid, ``aux_layer`` Linear(512, 10) +
Softmax - upstream feeds these probabilities to ``CrossEntropyLoss``, a known slip of the original that is kept in
the healthy program, and its fix is a variant); ``adversarial_loss = torch.nn.BCELoss()``, ``auxiliary_loss =
torch.nn.CrossEntropyLoss()``; both ``torch.optim.Adam`` with lr 0.0002 and betas (0.5, 0.999); a shuffling
DataLoader; and the loop in its order: ``valid`` / ``fake`` ground truths, ``optimizer_G.zero_grad()``, z and
``gen_labels`` from numpy (``np.random.normal``, ``np.random.randint``), ``g_loss = 0.5 * (adversarial_loss(validity,
valid) + auxiliary_loss(pred_label, gen_labels))``, ``g_loss.backward()``, ``optimizer_G.step()``; then
``optimizer_D.zero_grad()``, ``d_real_loss`` and ``d_fake_loss`` (each the mean of the BCE and the CE; the fake half
on ``gen_imgs.detach()``), ``d_loss = (d_real_loss + d_fake_loss) / 2``, the auxiliary accuracy ``d_acc``,
``d_loss.backward()``, ``optimizer_D.step()``.  ``Variable``, ``FloatTensor`` and ``LongTensor`` as upstream.

Changed to run offline on one CPU thread without torchvision:
- scikit-learn's ``load_digits`` (all 1797 images with their labels; pixel values 0..16 divided by 16 for ToTensor's
  [0, 1], upscaled bilinearly from 8x8 to upstream's 32x32 - ``transforms.Resize(opt.img_size)`` -, then Normalize to
  [-1, 1]) instead of MNIST;
- the generator's width W = 32 instead of 128 (its last block W // 2 = 16 instead of 64): with upstream's widths a
  step took ~0.7 s on the shared 2-core machine; depth, layer kinds and the discriminator are upstream's.  An
  img_size of 16 was tried first and dropped: the discriminator's four stride-2 blocks then end at 1x1, where the
  last BatchNorm2d, normalizing the real and the fake batches separately, gives both batches the same mean
  adversarial logit; D(x) and D(G(z)) stayed at 0.498 and the distance rose over 348 steps;
- EPOCHS = 4 epochs instead of 200: 29 batches an epoch (the last of 5 images), 116 generator and 116 discriminator
  steps (upstream: 938 batches an epoch);
- ``nn.Softmax(dim=1)`` instead of ``nn.Softmax()`` (the implicit dim is 1 for these 2-D logits; the same numbers
  without the deprecation warning);
- ``torch.manual_seed(seed)`` and ``np.random.seed(seed)`` (upstream seeds neither); no CUDA, no ``sample_image``
  grids (``save_image``); the per-batch print is left out (a verbose print every epoch instead);
- the variants' switches (below) as keyword arguments of ``train``.

The watch: two monitors, one per model, as elgan.py's: ``gradmedic.watch(discriminator, optimizer_D, every=10)``
stepped with d_loss right after ``d_loss.backward()``, before ``optimizer_D.step()``; ``gradmedic.watch(generator,
optimizer_G, every=10)`` stepped with g_loss right after ``g_loss.backward()``, before ``optimizer_G.step()``.  The
discriminator's forward in the generator's step runs its hooks too, and ``g_loss.backward()`` leaves gradients on the
discriminator, which ``optimizer_D.zero_grad()`` clears, as for any user of this code.  Saved as two parts, ``disc``
(first) and ``gen``.

Outcome, as elgan.py's: the Frechet distance (dcgan.py's ``frechet``, squared, as FID) between 1000 generated digits
(noise from a generator seeded apart from training, the labels 0..9 in turn as ``sample_image``'s rows; the generator
in training mode, as upstream samples its grids) and the 1797 real ones, both average-pooled from 32x32 to 8x8 (64
features, in the normalized [-1, 1] units), after training; lower is better; the untrained generator's distance is
``initial``.  Named ``frechet_64px``, so run.py labels it by its loss rules (broken when the control's distance is
under half the variant's or the variant made at most half its control's progress from the untrained distance;
healthy when it ends at most 0.7x the untrained distance, at most 1.1x its control's, and the discriminator's d_loss
never rose above twice the control's largest).  For the raw-pixel variant the generated images are mapped back to
the normalized units (``2 x / 255 - 1``).  Extras: the final d_loss, g_loss, D(x), D(G(z)) and d_acc (means of the
last 20 steps), the first and largest losses, the step counts, both rates and the switches.

``CASES`` (program "elacgan"): the program on seeds 1-3, and one change each against the same seed's healthy run:
both learning rates x2 (expected harmless), x10 (seeds 1 and 2), x100, x1000 (added after x100 came out healthy)
and /1000; the real images as raw 0..255 pixels (no ToTensor scaling, no Normalize) against the generator's Tanh;
``weights_init_normal`` with std 1.0 instead of 0.02 (N(0, 1) on every Conv weight of both models);
``optimizer_G.zero_grad()`` left out; the auxiliary head's Softmax left out (the fix of upstream's slip; cause
"healthy", expected harmless); batch size 32 (cause "healthy", expected harmless).  Labels come from run.py's
outcome rules only.

Recorded (cases-public81, 14 cases in 287 s, 14-28 s a run on the shared, loaded 2-core machine; 4 epochs, 116
steps of each model): healthy Frechet distance 8.006, 5.701, 6.998 on seeds 1-3 (from the untrained generator's
33.97, 31.36, 34.39; final D(x) 0.51-0.56, D(G(z)) 0.42-0.48, d_loss 1.45-1.48 against 1.498 at the start, auxiliary
accuracy 14-19%, largest d_loss 1.50-1.58; every loss finite).  Healthy also: both rates x2 (2.982), x10 on seeds 1
and 2 (3.395, 3.195; auxiliary accuracy 54-56%) and x100 (5.485; d_loss up to 2.48, under twice the control's
largest, 1.50), the Softmax left out (9.700, 1.21x its control's distance, but a cause-"healthy" run is labelled
by the good-outcome rule alone; auxiliary accuracy 47% against 19%) and batch 32 (3.295, 228 steps).
Broken: both rates x1000 (49.41: D wins outright, D(x) 1.0, D(G(z)) 0.0, g_loss 51.2; first d_loss 8.6, largest
22.1), /1000 (33.96: nothing learned), raw 0..255 pixels (48.22 from 48.41; D(x) 0.997, D(G(z)) 0.13) and
``weights_init_normal`` with std 1.0 (19.51 from its own untrained 23.61; D(x) 0.77).  Ambiguous: ``optimizer_G
.zero_grad()`` left out (14.18: a good outcome, but 1.77x its control's distance).  Labels: 8 healthy (3 programs,
5 variants), 5 broken, 1 ambiguous; every recorded loss finite.  Several variants end below their control's
distance (x2, x10, batch 32): after 116 steps the healthy generator is still improving (a 10-epoch trial of seed 1
went 8.0 -> 2.8), so a faster rate or more steps helps here.
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
              "((d_real_loss + d_fake_loss) / 2, each the mean of BCELoss and CrossEntropyLoss) right after "
              "d_loss.backward(), before optimizer_D.step(); the generator's watch(generator, optimizer_G, every=10) "
              "stepped with g_loss (0.5 * (BCELoss + CrossEntropyLoss)) right after g_loss.backward(), before "
              "optimizer_G.step() (the generator's step comes first in each batch)")
EPOCHS = 4


class Opt:
    """upstream's argparse defaults (``opt``), with the image size of the upscaled digits."""
    n_epochs = 200
    batch_size = 64
    lr = 0.0002
    b1 = 0.5
    b2 = 0.999
    latent_dim = 100
    n_classes = 10
    img_size = 32  # as upstream (MNIST resized to 32x32; here the 8x8 digits upscaled)
    channels = 1


opt = Opt()
W = 32  # the generator's width: upstream's 128 (and 64 in its last block) divided by 4, for the CPU time


def weights_init_normal(m, std=0.02):  # upstream: no std argument (0.02); the init_large variant passes 1.0
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        torch.nn.init.normal_(m.weight.data, 0.0, std)
    elif classname.find("BatchNorm2d") != -1:
        torch.nn.init.normal_(m.weight.data, 1.0, 0.02)
        torch.nn.init.constant_(m.bias.data, 0.0)


class Generator(nn.Module):
    def __init__(self):
        super(Generator, self).__init__()  # noqa: UP008

        self.label_emb = nn.Embedding(opt.n_classes, opt.latent_dim)

        self.init_size = opt.img_size // 4  # Initial size before upsampling
        self.l1 = nn.Sequential(nn.Linear(opt.latent_dim, W * self.init_size ** 2))  # upstream: 128 for W

        self.conv_blocks = nn.Sequential(  # upstream: 128 for W, 64 for W // 2
            nn.BatchNorm2d(W),
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

    def forward(self, noise, labels):
        gen_input = torch.mul(self.label_emb(labels), noise)
        out = self.l1(gen_input)
        out = out.view(out.shape[0], W, self.init_size, self.init_size)  # upstream: 128 for W
        img = self.conv_blocks(out)
        return img


class Discriminator(nn.Module):
    def __init__(self, softmax: bool = True):  # upstream: no argument (the no_softmax variant passes False)
        super(Discriminator, self).__init__()  # noqa: UP008

        def discriminator_block(in_filters, out_filters, bn=True):
            """Returns layers of each discriminator block"""
            block = [nn.Conv2d(in_filters, out_filters, 3, 2, 1), nn.LeakyReLU(0.2, inplace=True), nn.Dropout2d(0.25)]
            if bn:
                block.append(nn.BatchNorm2d(out_filters, 0.8))
            return block

        self.conv_blocks = nn.Sequential(
            *discriminator_block(opt.channels, 16, bn=False),
            *discriminator_block(16, 32),
            *discriminator_block(32, 64),
            *discriminator_block(64, 128),
        )

        # The height and width of downsampled image
        ds_size = opt.img_size // 2 ** 4

        # Output layers
        self.adv_layer = nn.Sequential(nn.Linear(128 * ds_size ** 2, 1), nn.Sigmoid())
        # upstream: nn.Softmax() (implicit dim, 1 for these 2-D logits, with a deprecation warning) before
        # CrossEntropyLoss, as here; the no_softmax variant leaves it out
        self.aux_layer = (nn.Sequential(nn.Linear(128 * ds_size ** 2, opt.n_classes), nn.Softmax(dim=1)) if softmax
                          else nn.Sequential(nn.Linear(128 * ds_size ** 2, opt.n_classes)))

    def forward(self, img):
        out = self.conv_blocks(img)
        out = out.view(out.shape[0], -1)
        validity = self.adv_layer(out)
        label = self.aux_layer(out)

        return validity, label


FloatTensor = torch.FloatTensor  # upstream: torch.cuda.FloatTensor if cuda else torch.FloatTensor
LongTensor = torch.LongTensor  # upstream: torch.cuda.LongTensor if cuda else torch.LongTensor


def digits(pixels: str = "normalize") -> tuple[torch.Tensor, torch.Tensor]:
    """load_digits as ``transforms.Resize(opt.img_size)`` + ``ToTensor()`` + ``Normalize([0.5], [0.5])`` would give
    it, (1797, 1, img_size, img_size) in [-1, 1], and the labels; ``pixels="raw"``: 0..255 pixel values (no ToTensor
    scaling, no Normalize)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32)[:, None] / 16.0  # ToTensor: [0, 1]
    x = F.interpolate(x, size=(opt.img_size, opt.img_size), mode="bilinear", align_corners=False).clamp(0, 1)
    y = torch.tensor(d.target, dtype=torch.long)
    if pixels == "raw":
        return x * 255.0, y
    return (x - 0.5) / 0.5, y


def to64(img: torch.Tensor) -> np.ndarray:
    """Images (n, 1, img_size, img_size) average-pooled to 8x8 and flattened: the 64 features of the outcome."""
    return F.adaptive_avg_pool2d(img, 8).reshape(len(img), 64).double().numpy()


def train(seed: int = 1, lr_mult: float = 1.0, pixels: str = "normalize", init_std: float = 0.02,
          zero_grad_g: bool = True, softmax: bool = True, batch_size: int = opt.batch_size, n_epochs: int = EPOCHS,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    torch.manual_seed(seed)
    np.random.seed(seed)  # upstream draws z and the labels from numpy's global generator, unseeded
    t0 = time.time()

    # Loss functions
    adversarial_loss = torch.nn.BCELoss()
    auxiliary_loss = torch.nn.CrossEntropyLoss()

    # Initialize generator and discriminator
    generator = Generator()
    discriminator = Discriminator(softmax)

    # Initialize weights
    generator.apply(lambda m: weights_init_normal(m, init_std))  # upstream: generator.apply(weights_init_normal)
    discriminator.apply(lambda m: weights_init_normal(m, init_std))  # upstream: discriminator.apply(weights_init_normal)

    # Configure data loader
    data, targets = digits(pixels)
    dataloader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(data, targets),  # upstream: datasets.MNIST(..., transform=...)
        batch_size=batch_size,
        shuffle=True,
    )
    real_all = to64(digits("normalize")[0])  # the reference for the outcome, in [-1, 1]

    # Optimizers
    optimizer_G = torch.optim.Adam(generator.parameters(), lr=opt.lr * lr_mult, betas=(opt.b1, opt.b2))
    optimizer_D = torch.optim.Adam(discriminator.parameters(), lr=opt.lr * lr_mult, betas=(opt.b1, opt.b2))
    mon_d = gradmedic.watch(discriminator, optimizer_D, every=every)  # gradmedic
    mon_g = gradmedic.watch(generator, optimizer_G, every=every)  # gradmedic

    def sample_fd(n=1000):
        """The generator's Frechet distance to the 1797 real digits, both pooled to 8x8 (64 features)."""
        g = torch.Generator().manual_seed(1000 + seed)
        z = torch.randn(n, opt.latent_dim, generator=g)
        lab = torch.arange(n) % opt.n_classes  # every class equally, as sample_image's rows of 0..9
        with torch.no_grad():
            fake = generator(z, lab)  # training mode, as upstream samples its grids
        if pixels == "raw":  # from the variant's 0..255 units
            fake = 2 * fake / 255.0 - 1
        if not torch.isfinite(fake).all():
            return float("nan")
        return frechet(to64(fake), real_all)

    fd_start = sample_fd()
    rec = {"d_loss": [], "g_loss": [], "d_x": [], "d_g_z": [], "d_acc": []}

    # ----------
    #  Training
    # ----------

    for epoch in range(n_epochs):
        for _i, (imgs, labels) in enumerate(dataloader):  # upstream: i

            batch_size = imgs.shape[0]

            # Adversarial ground truths
            valid = Variable(FloatTensor(batch_size, 1).fill_(1.0), requires_grad=False)
            fake = Variable(FloatTensor(batch_size, 1).fill_(0.0), requires_grad=False)

            # Configure input
            real_imgs = Variable(imgs.type(FloatTensor))
            labels = Variable(labels.type(LongTensor))

            # -----------------
            #  Train Generator
            # -----------------

            if zero_grad_g:  # the no_zero_grad variant leaves this out
                optimizer_G.zero_grad()

            # Sample noise and labels as generator input
            z = Variable(FloatTensor(np.random.normal(0, 1, (batch_size, opt.latent_dim))))
            gen_labels = Variable(LongTensor(np.random.randint(0, opt.n_classes, batch_size)))

            # Generate a batch of images
            gen_imgs = generator(z, gen_labels)

            # Loss measures generator's ability to fool the discriminator
            validity, pred_label = discriminator(gen_imgs)
            g_loss = 0.5 * (adversarial_loss(validity, valid) + auxiliary_loss(pred_label, gen_labels))

            g_loss.backward()
            mon_g.step(g_loss)  # gradmedic
            optimizer_G.step()

            # ---------------------
            #  Train Discriminator
            # ---------------------

            optimizer_D.zero_grad()

            # Loss for real images
            real_pred, real_aux = discriminator(real_imgs)
            d_real_loss = (adversarial_loss(real_pred, valid) + auxiliary_loss(real_aux, labels)) / 2

            # Loss for fake images
            fake_pred, fake_aux = discriminator(gen_imgs.detach())
            d_fake_loss = (adversarial_loss(fake_pred, fake) + auxiliary_loss(fake_aux, gen_labels)) / 2

            # Total discriminator loss
            d_loss = (d_real_loss + d_fake_loss) / 2

            # Calculate discriminator accuracy
            pred = np.concatenate([real_aux.data.cpu().numpy(), fake_aux.data.cpu().numpy()], axis=0)
            gt = np.concatenate([labels.data.cpu().numpy(), gen_labels.data.cpu().numpy()], axis=0)
            d_acc = np.mean(np.argmax(pred, axis=1) == gt)

            d_loss.backward()
            mon_d.step(d_loss)  # gradmedic
            optimizer_D.step()
            rec["d_loss"].append(d_loss.item())
            rec["g_loss"].append(g_loss.item())
            rec["d_x"].append(real_pred.mean().item())
            rec["d_g_z"].append(fake_pred.mean().item())
            rec["d_acc"].append(float(d_acc))
            # upstream: the per-batch print and sample_image every 400 batches (save_image grids) are left out

        if verbose:
            k = len(dataloader)
            print(f"[Epoch {epoch}/{n_epochs}] [D loss: {np.mean(rec['d_loss'][-k:]):f}, acc: "
                  f"{100 * np.mean(rec['d_acc'][-k:]):.0f}%] [G loss: {np.mean(rec['g_loss'][-k:]):f}] "
                  f"[D(x) {np.mean(rec['d_x'][-k:]):.3f}] [D(G(z)) {np.mean(rec['d_g_z'][-k:]):.3f}] "
                  f"FD {sample_fd():.3f} ({time.time() - t0:.1f}s)", flush=True)

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
                      "lr_mult": lr_mult, "pixels": pixels, "init_std": float(init_std), "zero_grad_g": zero_grad_g,
                      "softmax": softmax, "img_size": opt.img_size},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="elacgan", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_G = ("ACGAN (conv G: label Embedding x noise, Linear 100-512 (32 x 4 x 4), BatchNorm2d, 2x (Upsample, Conv3x3 32-32 "
      "and 32-16, BatchNorm2d(eps 0.8), LeakyReLU), Conv3x3 to 1 channel, Tanh; "
      "conv D: 4 stride-2 Conv3x3 blocks 16-32-64-128 with LeakyReLU, "
      "Dropout2d(0.25), BatchNorm2d(eps 0.8), a Sigmoid adversarial head and a Softmax auxiliary class head; "
      "weights_init_normal N(0, 0.02); BCELoss + CrossEntropyLoss; both Adam lr 2e-4 betas (0.5, 0.999), batch 64, "
      f"{EPOCHS} epochs of the 1797 digits upscaled to 32x32 in [-1, 1])")
CASES: list[dict] = (
    [_case(f"elacgan_healthy_s{s}", "healthy", s, {}, f"{_G}: unchanged", False) for s in (1, 2, 3)]
    + [_case("elacgan_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_G}: both Adam lr x2 (4e-4)")]
    + [_case(f"elacgan_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_G}: both Adam lr x{k} ({2e-4 * k:g})")
       for k, ss in ((10, (1, 2)), (100, (1,)), (1000, (1,))) for s in ss]
    + [_case("elacgan_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_G}: both Adam lr /1000 (2e-07)")]
    + [_case("elacgan_raw_pixels_s1", "unscaled_inputs", 1, {"pixels": "raw"},
             f"{_G}: the real images as raw 0..255 pixel values (no ToTensor scaling, no Normalize) while the "
             "generator's Tanh spans [-1, 1] (the outcome measured in the normalized units)")]
    + [_case("elacgan_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_G}: weights_init_normal with N(0, 1.0) instead of N(0, 0.02) on every Conv weight of both models")]
    + [_case("elacgan_no_zero_grad_g_s1", "no_zero_grad", 1, {"zero_grad_g": False},
             f"{_G}: optimizer_G.zero_grad() left out: the generator's gradients accumulate over its steps")]
    + [_case("elacgan_no_softmax_s1", "healthy", 1, {"softmax": False},
             f"{_G}: the auxiliary head's nn.Softmax left out, so CrossEntropyLoss gets the logits it expects "
             "(expected harmless)")]
    + [_case("elacgan_batch32_s1", "healthy", 1, {"batch_size": 32},
             f"{_G}: batch size 32 instead of 64 (expected harmless)")]
)


if __name__ == "__main__":
    import ast
    import sys

    kw = {k: ast.literal_eval(v) for k, v in (a.split("=") for a in sys.argv[1:])}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
