"""L1aoXingyu's pytorch-beginner simple GAN (MLP discriminator with LeakyReLU and Sigmoid, MLP generator with ReLU and
Tanh, BCELoss, Adam) on 8x8 digits, watched by gradmedic with one monitor per model.

Adapted from https://github.com/L1aoXingyu/pytorch-beginner (commit a57dd7ea35c9965a41f4963dee62d38884f92a65, the
newest; ``09-Generative Adversarial network/simple_Gan.py`` as last changed in
1e9ccd46767feba2cc2b664eed625c6e3c9f48a1).  The repository has no licence file and its README names no licence, so
this port keeps to what is needed: the two small network definitions and the loop, re-typed below.

Kept as in the original: batch_size 128, z_dimension 100, the images as ``transforms.ToTensor()`` +
``transforms.Normalize(0.5, 0.5)`` give them ([-1, 1]), a shuffling DataLoader, ``discriminator`` (Linear 256,
LeakyReLU(0.2), Linear 256, LeakyReLU(0.2), Linear 1, Sigmoid), ``generator`` (Linear 100 -> 256, ReLU(True), Linear
256, ReLU(True), Linear to the image, Tanh), PyTorch's default initialization, ``criterion = nn.BCELoss()``, both
``torch.optim.Adam(..., lr=0.0003)`` (default betas), and the loop in its order: the discriminator first
(``real_out = D(real_img)``, ``d_loss_real`` against ones, ``z = torch.randn``, ``fake_img = G(z)`` - not detached,
so ``d_loss.backward()`` also leaves gradients on G, which ``g_optimizer.zero_grad()`` clears -, ``d_loss_fake``
against zeros, ``d_loss = d_loss_real + d_loss_fake`` (a sum, not a mean), ``d_optimizer.zero_grad()``,
``d_loss.backward()``, ``d_optimizer.step()``); then the generator with a fresh z (``g_loss = criterion(D(G(z)),
real_label)``, ``g_optimizer.zero_grad()``, ``g_loss.backward()``, ``g_optimizer.step()``).

Changed to run offline on one CPU thread without torchvision:
- scikit-learn's ``load_digits`` (all 1797 images, pixel values 0..16 divided by 16 for ToTensor's [0, 1], then
  Normalize to [-1, 1]) instead of MNIST, so the images are 64 pixels instead of 784 (the discriminator's first
  Linear is 64 -> 256, the generator's last 256 -> 64); the hidden widths are upstream's;
- upstream's 100 epochs, but 15 batches an epoch (the last of 5 images; upstream: 469 batches an epoch);
- ``real_label``/``fake_label`` shaped (num_img, 1) like D's output (upstream's (num_img,) no longer broadcasts
  under current PyTorch's BCELoss, which raises on the size mismatch);
- ``torch.manual_seed(seed)`` (upstream seeds nothing); no CUDA (upstream calls ``.cuda()`` unconditionally), no
  ``save_image`` grids, no ``torch.save`` checkpoints; the print every 100 batches is left out (a verbose print every
  10 epochs instead).

The watch: two monitors, one per model, as elgan.py's: ``gradmedic.watch(D, d_optimizer, every=10)`` stepped with
d_loss right after ``d_loss.backward()``, before ``d_optimizer.step()``; ``gradmedic.watch(G, g_optimizer,
every=10)`` stepped with g_loss right after ``g_loss.backward()``, before ``g_optimizer.step()``.  Saved as two parts,
``disc`` (first) and ``gen``.

Outcome, as elgan.py's: the Frechet distance (dcgan.py's ``frechet``, squared, as FID) between 1000 generated digits
(noise from a generator seeded apart from training) and the 1797 real ones in the 64 pixels of the normalized [-1, 1]
images, after training; lower is better; the untrained generator's distance is ``initial``.  Named ``frechet_64px``,
so run.py labels it by its loss rules.  For the raw-pixel variant the generated images are mapped back to the
normalized units (``2 x / 255 - 1``).  Extras: the final d_loss, g_loss, D(x) and D(G(z)) (means of the last 20
steps), the largest d_loss, the step counts and both rates.

``CASES`` (program "pbgan"): the program on seeds 1-3, and one change each against the same seed's healthy run: both
learning rates x2 (expected harmless), x10 and x100 (seeds 1 and 2) and /1000; batch_size 64 (cause "healthy",
expected harmless); the real images as raw 0..255 pixels (no ToTensor, no Normalize) against the generator's Tanh;
N(0, 1) on every Linear weight of the generator; the generator's two hidden biases at -10 (dead ReLUs);
``g_optimizer.zero_grad()`` left out.  Labels come from run.py's outcome rules only.

Recorded (cases-public86, 14 cases in 309 s, 13-31 s a run on the shared 2-core machine; 100 epochs, 1500 steps of
each model): healthy Frechet distance 24.90 and 20.35 on seeds 1-2 (from the untrained generator's 42.49, 44.74):
healthy; seed 3 ends at 36.97 from 44.06 (0.84x, above the 0.7x rule: ambiguous; this small GAN's distance swings
between epochs, seed 1 went 65 -> 74 -> 44 -> 35 -> 27 over its first 60 epochs); healthy also: both rates x2
(22.54), batch 64 (24.26) and, against the rules' expectation, the generator's N(0, 1) init (16.57 from 67.36);
broken: both rates x10 (68.73, 50.87), x100 (43.44, 53.07), /1000 (42.33: nothing learned), raw 0..255 pixels
(59.91 from 60.04), the dead generator ReLUs (42.55 from 45.87) and no ``g_optimizer.zero_grad()`` (81.19).
Labels: 5 healthy (2 programs, 3 variants), 8 broken, 1 ambiguous (healthy_s3).
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
MONITOR_AT = ("two monitors: the discriminator's watch(D, d_optimizer, every=10) stepped with d_loss (d_loss_real + "
              "d_loss_fake, BCELoss) right after d_loss.backward(), before d_optimizer.step(); the generator's "
              "watch(G, g_optimizer, every=10) stepped with g_loss right after g_loss.backward(), before "
              "g_optimizer.step() (the discriminator's step comes first in each batch)")
EPOCHS = 100  # upstream num_epoch 100 (here 15 batches an epoch)
batch_size = 128
num_epoch = 100
z_dimension = 100
IMG = 64  # upstream 784 (28 * 28)


# Discriminator
class discriminator(nn.Module):  # noqa: N801
    def __init__(self):
        super(discriminator, self).__init__()  # noqa: UP008
        self.dis = nn.Sequential(
            nn.Linear(IMG, 256),  # upstream: 784
            nn.LeakyReLU(0.2),
            nn.Linear(256, 256),
            nn.LeakyReLU(0.2), nn.Linear(256, 1), nn.Sigmoid())

    def forward(self, x):
        x = self.dis(x)
        return x


# Generator
class generator(nn.Module):  # noqa: N801
    def __init__(self):
        super(generator, self).__init__()  # noqa: UP008
        self.gen = nn.Sequential(
            nn.Linear(100, 256),
            nn.ReLU(True),
            nn.Linear(256, 256), nn.ReLU(True), nn.Linear(256, IMG), nn.Tanh())  # upstream: 784

    def forward(self, x):
        x = self.gen(x)
        return x


def digits(pixels: str = "normalize") -> torch.Tensor:
    """load_digits as ToTensor() + Normalize(0.5, 0.5) would give it, (1797, 1, 8, 8); ``pixels="raw"``: 0..255."""
    from sklearn.datasets import load_digits

    x = torch.tensor(load_digits().images, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16.0  # ToTensor: [0, 1]
    if pixels == "raw":
        return x * 255.0
    return (x - 0.5) / 0.5


def train(seed: int = 1, lr_mult: float = 1.0, pixels: str = "normalize", g_init_std: float | None = None,
          zero_grad_g: bool = True, g_bias: float | None = None, bs: int = batch_size, n_epochs: int = EPOCHS,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    torch.manual_seed(seed)  # upstream seeds nothing
    t0 = time.time()

    data = digits(pixels)
    dataloader = torch.utils.data.DataLoader(
        dataset=torch.utils.data.TensorDataset(data, torch.zeros(len(data))),  # upstream: datasets.MNIST
        batch_size=bs, shuffle=True)
    real_all = digits("normalize").reshape(-1, 64).double().numpy()  # the reference for the outcome, in [-1, 1]

    D = discriminator()
    G = generator()
    if g_init_std is not None:  # the init_large variant (upstream keeps PyTorch's defaults)
        with torch.no_grad():
            for m in G.modules():
                if isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0.0, g_init_std)
    if g_bias is not None:  # the dead_relu variant: the generator's hidden ReLU layers' biases set to g_bias
        with torch.no_grad():
            for i in (0, 2):
                G.gen[i].bias.fill_(g_bias)
    # Binary cross entropy loss and optimizer
    criterion = nn.BCELoss()
    d_optimizer = torch.optim.Adam(D.parameters(), lr=0.0003 * lr_mult)
    g_optimizer = torch.optim.Adam(G.parameters(), lr=0.0003 * lr_mult)
    mon_d = gradmedic.watch(D, d_optimizer, every=every)  # gradmedic
    mon_g = gradmedic.watch(G, g_optimizer, every=every)  # gradmedic

    def sample_fd(n=1000):
        g = torch.Generator().manual_seed(1000 + seed)
        with torch.no_grad():
            fake = G(torch.randn(n, z_dimension, generator=g))
        if pixels == "raw":  # from the variant's 0..255 units
            fake = 2 * fake / 255.0 - 1
        f = fake.double().numpy()
        return frechet(f, real_all) if np.isfinite(f).all() else float("nan")

    fd_start = sample_fd()
    rec = {"d_loss": [], "g_loss": [], "d_x": [], "d_g_z": []}

    # Start training
    for epoch in range(n_epochs):
        for _i, (img, _) in enumerate(dataloader):  # upstream: i
            num_img = img.size(0)
            # =================train discriminator
            img = img.view(num_img, -1)
            real_img = Variable(img)  # upstream: .cuda()
            real_label = Variable(torch.ones(num_img, 1))  # upstream: torch.ones(num_img), .cuda()
            fake_label = Variable(torch.zeros(num_img, 1))  # upstream: torch.zeros(num_img), .cuda()

            # compute loss of real_img
            real_out = D(real_img)
            d_loss_real = criterion(real_out, real_label)
            real_scores = real_out  # closer to 1 means better

            # compute loss of fake_img
            z = Variable(torch.randn(num_img, z_dimension))
            fake_img = G(z)
            fake_out = D(fake_img)
            d_loss_fake = criterion(fake_out, fake_label)
            fake_scores = fake_out  # closer to 0 means better

            # bp and optimize
            d_loss = d_loss_real + d_loss_fake
            d_optimizer.zero_grad()
            d_loss.backward()
            mon_d.step(d_loss)  # gradmedic
            d_optimizer.step()

            # ===============train generator
            # compute loss of fake_img
            z = Variable(torch.randn(num_img, z_dimension))
            fake_img = G(z)
            output = D(fake_img)
            g_loss = criterion(output, real_label)

            # bp and optimize
            if zero_grad_g:  # the no_zero_grad variant leaves this out
                g_optimizer.zero_grad()
            g_loss.backward()
            mon_g.step(g_loss)  # gradmedic
            g_optimizer.step()

            rec["d_loss"].append(d_loss.item())
            rec["g_loss"].append(g_loss.item())
            rec["d_x"].append(real_scores.mean().item())
            rec["d_g_z"].append(fake_scores.mean().item())

        if verbose and (epoch % 10 == 9 or epoch == n_epochs - 1):
            print(f"Epoch [{epoch}/{n_epochs}], d_loss: {np.mean(rec['d_loss'][-15:]):.6f}, "
                  f"g_loss: {np.mean(rec['g_loss'][-15:]):.6f} D real: {np.mean(rec['d_x'][-15:]):.6f}, "
                  f"D fake: {np.mean(rec['d_g_z'][-15:]):.6f} FD {sample_fd():.3f} ({time.time() - t0:.1f}s)",
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
                      "steps": len(rec["d_loss"]), "epochs": n_epochs, "batch_size": bs,
                      "lr_D": d_optimizer.param_groups[0]["lr"], "lr_G": g_optimizer.param_groups[0]["lr"],
                      "lr_mult": lr_mult, "pixels": pixels,
                      "g_init_std": -1.0 if g_init_std is None else float(g_init_std),
                      "g_bias": float("nan") if g_bias is None else float(g_bias), "zero_grad_g": zero_grad_g},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="pbgan", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_G = ("GAN (MLP G 100-256-256-64 with ReLU and Tanh, MLP D 64-256-256-1 with LeakyReLU(0.2) and Sigmoid, BCELoss "
      f"(d_loss summed over real and fake), both Adam lr 3e-4, batch 128, {EPOCHS} epochs of the 1797 8x8 digits in "
      "[-1, 1]; D's step first)")
CASES: list[dict] = (
    [_case(f"pbgan_healthy_s{s}", "healthy", s, {}, f"{_G}: unchanged", False) for s in (1, 2, 3)]
    + [_case("pbgan_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_G}: both Adam lr x2 (6e-4)")]
    + [_case(f"pbgan_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_G}: both Adam lr x{k} ({3e-4 * k:g})")
       for k, ss in ((10, (1, 2)), (100, (1, 2))) for s in ss]
    + [_case("pbgan_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_G}: both Adam lr /1000 (3e-07)")]
    + [_case("pbgan_bs64_s1", "healthy", 1, {"bs": 64}, f"{_G}: batch_size 64 instead of 128")]
    + [_case("pbgan_raw_pixels_s1", "unscaled_inputs", 1, {"pixels": "raw"},
             f"{_G}: the real images as raw 0..255 pixel values (no ToTensor scaling, no Normalize) while the "
             "generator's Tanh spans [-1, 1] (the outcome measured in the normalized units)")]
    + [_case("pbgan_g_init_std1_s1", "init_large", 1, {"g_init_std": 1.0},
             f"{_G}: nn.init.normal_(std=1.0) on every Linear weight of the generator instead of PyTorch's default "
             "(kaiming_uniform_, a=sqrt(5)); biases and D kept")]
    + [_case("pbgan_g_dead_relu_s1", "dead_relu", 1, {"g_bias": -10.0},
             f"{_G}: the biases of the generator's two hidden Linear layers (before its ReLUs) set to -10")]
    + [_case("pbgan_no_zero_grad_g_s1", "no_zero_grad", 1, {"zero_grad_g": False},
             f"{_G}: g_optimizer.zero_grad() left out: the generator's gradients accumulate over its steps (and "
             "take in those d_loss.backward() leaves on G through the undetached fake_img)")]
)


if __name__ == "__main__":
    import ast
    import sys

    kw = {k: ast.literal_eval(v) for k, v in (a.split("=") for a in sys.argv[1:])}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
