"""Udacity deep-learning-v2-pytorch, gan-mnist (the MNIST GAN solution: MLP generator and discriminator with LeakyReLU,
dropout and a Tanh output, BCEWithLogitsLoss with label smoothing), on 8x8 digits, watched by gradmedic with one monitor
per model.

Adapted from https://github.com/udacity/deep-learning-v2-pytorch (commit c9404fc86181fc3f0906b368697268257f348535, the
newest; "gan-mnist/MNIST_GAN_Solution.ipynb", its code cells, last changed in 5443e9037abe434c3b542f35f7619c88de8edb24;
MIT License, Copyright (c) 2018 Udacity, see LICENSE-udgan).  Kept as in the notebook: ``Discriminator`` (fc1
input -> hidden*4, fc2 -> hidden*2, fc3 -> hidden, each ``F.leaky_relu(..., 0.2)`` then ``nn.Dropout(0.3)``, fc4 ->
1 giving a logit), ``Generator`` (fc1 z -> hidden, fc2 -> hidden*2, fc3 -> hidden*4, each LeakyReLU(0.2) and
Dropout(0.3), fc4 -> the image, tanh), d_hidden_size = g_hidden_size = 32, z_size 100, PyTorch's default
initialization (upstream sets none), ``real_loss`` (``nn.BCEWithLogitsLoss``, labels 0.9 when ``smooth``) and
``fake_loss``, both ``optim.Adam(..., lr=0.002)`` (default betas), batch_size 64, a DataLoader without shuffling
(num_workers 0, as upstream), and the loop in its order: the "Important rescaling step" ``real_images*2 - 1``;
``d_optimizer.zero_grad()``, ``real_loss(D(real_images), smooth=True)``, fake images from ``np.random.uniform(-1, 1)``
z under ``torch.no_grad()``, ``fake_loss(D(fake_images))``, ``d_loss = d_real_loss + d_fake_loss``,
``d_loss.backward()``, ``d_optimizer.step()``; then ``g_optimizer.zero_grad()``, fresh uniform z, ``g_loss =
real_loss(D(G(z)))`` (flipped labels, no smoothing), ``g_loss.backward()``, ``g_optimizer.step()``; D.train() and
G.train() throughout.

Changed to run offline on one CPU thread without torchvision:
- scikit-learn's ``load_digits`` (all 1797 images, 8x8, pixel values 0..16 divided by 16 for ToTensor's [0, 1], then
  the notebook's rescaling to [-1, 1]) instead of MNIST: input_size and g_output_size 64 instead of 784, and
  ``x.view(-1, 8*8)`` in the discriminator; the hidden sizes are upstream's;
- EPOCHS (40) epochs instead of 100: 29 batches an epoch (the last of 5 images), 1160 steps of each model (upstream:
  938 batches an epoch);
- ``torch.manual_seed(seed)`` and ``np.random.seed(seed)`` (upstream seeds neither); ``torch.tanh`` for the
  deprecated alias ``F.tanh``; the print every 400 batches, the per-epoch ``G(fixed_z)`` samples, the pickle and the
  plots left out (a verbose print every 10 epochs instead); the generator step's ``D_fake`` renamed ``D_fake_g`` so
  that the discriminator's D(G(z)) can be recorded.

The watch: two monitors, one per model, as elgan.py's: ``gradmedic.watch(D, d_optimizer, every=10)`` stepped with
d_loss right after ``d_loss.backward()``, before ``d_optimizer.step()``; ``gradmedic.watch(G, g_optimizer, every=10)``
stepped with g_loss right after ``g_loss.backward()``, before ``g_optimizer.step()``.  The discriminator's forward in
the generator's step runs its hooks too, and ``g_loss.backward()`` leaves gradients on D, which the next
``d_optimizer.zero_grad()`` clears, as for any user of this code.  Saved as two parts, ``disc`` (first) and ``gen``.

Outcome, as elgan.py's: the Frechet distance (dcgan.py's ``frechet``, squared, as FID) between 1000 generated digits
(uniform z in [-1, 1] from a generator seeded apart from training; G in eval mode, as the notebook samples) and the
1797 real ones in the 64 pixels of the [-1, 1] images, after training; lower is better; the untrained generator's
distance is ``initial``.  Named ``frechet_64px``, so run.py labels it by its loss rules.  For the [0, 1] and raw-pixel
variants the generated images are mapped back to the rescaled units (``2 x - 1``, ``2 x / 255 - 1``).  Extras: the
final d_loss, g_loss, D(x) and D(G(z)) (sigmoids of the logits, discriminator step; means of the last 20 steps), the
first and largest d_loss, the largest g_loss, the step count and the rate.  With the 0.9 label smoothing a
discriminator that has won sits at D(x) ~0.89, not 1.

``CASES`` (in the shape of run.py's ``case()``, program "udgan"): the program on seeds 1-3, and one change each
against the same seed's healthy run: both learning rates x2 (expected harmless), x10 and x100 (seeds 1 and 2) and
/1000; the rescaling step left out (real images in [0, 1]); the real images as raw 0..255 pixels; N(0, 1) on every
Linear weight of the generator; ``g_optimizer.zero_grad()`` left out; and, expected harmless, batch_size 128 and the
discriminator's real labels unsmoothed (``smooth=False``).  Labels come from run.py's outcome rules only.

Recorded (cases-public87, 15 cases, 6-16 s a run on the shared 2-core machine, ~185 s in all; 40 epochs, 1160 steps of
each model): healthy Frechet distance 23.79, 28.35, 23.24 on seeds 1-3 (from the untrained generator's 46.76, 45.97,
44.70; final D(x) 0.55-0.68, D(G(z)) 0.25-0.36, d_loss 0.9-1.24, largest d_loss 2.4-2.9); healthy also: the rescaling
step left out (24.87 from 58.32) and, against the expectation, the generator's N(0, 1) init (14.07 from 75.61,
although its discriminator wins: D(G(z)) 0.025, g_loss 26.6); broken: both rates x2 (43.78: D wins, D(x) 0.89,
D(G(z)) 0.006, g_loss 24; less than half the control's progress), x10 on seed 1 (36.80, D wins, g_loss 27), x100 on
seeds 1 and 2 (111.8 and 71.84; d_loss up to 2.2e5 and 6.4e4, g_loss up to 1e7 and 3.9e6, all finite), /1000
(46.48: nothing learned), raw 0..255 pixels (59.48 from 60.05; first d_loss 3.4, D wins), no
``g_optimizer.zero_grad()`` (37.93; D wins, D(G(z)) 0.001, g_loss 26); ambiguous: x10 on seed 2 (34.53 against
28.35; D wins, D(G(z)) 0.000), batch 128 (40.79: 1.7x its control, d_loss up to 3.5) and no label smoothing (41.77:
1.76x its control).  Labels: 5 healthy (3 programs, 2 variants), 7 broken, 3 ambiguous; every loss finite.  The
expected-harmless changes (x2, batch 128, no smoothing) all ended far worse than the control: at lr 0.002 this
small GAN is on the edge of the discriminator winning, and its distance is noisy.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from dcgan import frechet

import gradmedic

ARCH = "gan"
PARTS = ("disc", "gen")  # the two monitors' files, {name}_disc.npz and {name}_gen.npz, in train()'s order
MONITOR_AT = ("two monitors: the discriminator's watch(D, d_optimizer, every=10) stepped with d_loss (d_real_loss + "
              "d_fake_loss, BCEWithLogitsLoss, real labels smoothed to 0.9) right after d_loss.backward(), before "
              "d_optimizer.step(); the generator's watch(G, g_optimizer, every=10) stepped with g_loss right after "
              "g_loss.backward(), before g_optimizer.step() (the discriminator's step comes first in each batch)")
EPOCHS = 40
BATCH_SIZE = 64
LR = 0.002

# Discriminator hyperparams
input_size = 64  # upstream: 784 (28*28)
d_output_size = 1
d_hidden_size = 32
# Generator hyperparams
z_size = 100
g_output_size = 64  # upstream: 784
g_hidden_size = 32


class Discriminator(nn.Module):

    def __init__(self, input_size, hidden_dim, output_size):
        super(Discriminator, self).__init__()  # noqa: UP008

        # define hidden linear layers
        self.fc1 = nn.Linear(input_size, hidden_dim*4)
        self.fc2 = nn.Linear(hidden_dim*4, hidden_dim*2)
        self.fc3 = nn.Linear(hidden_dim*2, hidden_dim)

        # final fully-connected layer
        self.fc4 = nn.Linear(hidden_dim, output_size)

        # dropout layer
        self.dropout = nn.Dropout(0.3)

    def forward(self, x):
        # flatten image
        x = x.view(-1, 8*8)  # upstream: 28*28
        # all hidden layers
        x = F.leaky_relu(self.fc1(x), 0.2)  # (input, negative_slope=0.2)
        x = self.dropout(x)
        x = F.leaky_relu(self.fc2(x), 0.2)
        x = self.dropout(x)
        x = F.leaky_relu(self.fc3(x), 0.2)
        x = self.dropout(x)
        # final layer
        out = self.fc4(x)

        return out


class Generator(nn.Module):

    def __init__(self, input_size, hidden_dim, output_size):
        super(Generator, self).__init__()  # noqa: UP008

        # define hidden linear layers
        self.fc1 = nn.Linear(input_size, hidden_dim)
        self.fc2 = nn.Linear(hidden_dim, hidden_dim*2)
        self.fc3 = nn.Linear(hidden_dim*2, hidden_dim*4)

        # final fully-connected layer
        self.fc4 = nn.Linear(hidden_dim*4, output_size)

        # dropout layer
        self.dropout = nn.Dropout(0.3)

    def forward(self, x):
        # all hidden layers
        x = F.leaky_relu(self.fc1(x), 0.2)  # (input, negative_slope=0.2)
        x = self.dropout(x)
        x = F.leaky_relu(self.fc2(x), 0.2)
        x = self.dropout(x)
        x = F.leaky_relu(self.fc3(x), 0.2)
        x = self.dropout(x)
        # final layer with tanh applied
        out = torch.tanh(self.fc4(x))  # upstream: F.tanh (deprecated alias, same function)

        return out


# Calculate losses
def real_loss(D_out, smooth=False):
    batch_size = D_out.size(0)
    # label smoothing
    if smooth:
        # smooth, real labels = 0.9
        labels = torch.ones(batch_size)*0.9
    else:
        labels = torch.ones(batch_size)  # real labels = 1

    # numerically stable loss
    criterion = nn.BCEWithLogitsLoss()
    # calculate loss
    loss = criterion(D_out.squeeze(), labels)
    return loss


def fake_loss(D_out):
    batch_size = D_out.size(0)
    labels = torch.zeros(batch_size)  # fake labels = 0
    criterion = nn.BCEWithLogitsLoss()
    # calculate loss
    loss = criterion(D_out.squeeze(), labels)
    return loss


def digits() -> torch.Tensor:
    """load_digits as ``transforms.ToTensor()`` gives MNIST: (1797, 1, 8, 8) in [0, 1] (pixel values 0..16 / 16)."""
    from sklearn.datasets import load_digits

    return torch.tensor(load_digits().images, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16.0


def train(seed: int = 1, lr_mult: float = 1.0, pixels: str = "rescale", g_init_std: float | None = None,
          zero_grad_g: bool = True, smooth: bool = True, batch_size: int = BATCH_SIZE, n_epochs: int = EPOCHS,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    torch.manual_seed(seed)
    np.random.seed(seed)  # upstream: unseeded (z drawn from numpy's global generator)
    t0 = time.time()
    bs = batch_size  # the loop rebinds batch_size to each batch's size, as upstream

    # prepare data loader (upstream: datasets.MNIST with transforms.ToTensor(), num_workers 0, no shuffle)
    data = digits()
    train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data, torch.zeros(len(data))),
                                               batch_size=batch_size, num_workers=0)
    real_all = (data * 2 - 1).reshape(-1, 64).double().numpy()  # the reference for the outcome, in [-1, 1]

    # instantiate discriminator and generator
    D = Discriminator(input_size, d_hidden_size, d_output_size)
    G = Generator(z_size, g_hidden_size, g_output_size)
    if g_init_std is not None:  # the init_large variant (upstream keeps PyTorch's defaults)
        with torch.no_grad():
            for m in G.modules():
                if isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0.0, g_init_std)

    # Optimizers
    lr = LR * lr_mult

    # Create optimizers for the discriminator and generator
    d_optimizer = optim.Adam(D.parameters(), lr)
    g_optimizer = optim.Adam(G.parameters(), lr)
    mon_d = gradmedic.watch(D, d_optimizer, every=every)  # gradmedic
    mon_g = gradmedic.watch(G, g_optimizer, every=every)  # gradmedic

    def sample_fd(n=1000):
        """G's Frechet distance to the 1797 real digits in the 64 pixels of the [-1, 1] images (z uniform in [-1, 1]
        from a generator seeded apart from training; G in eval mode, as upstream draws its samples)."""
        g = torch.Generator().manual_seed(1000 + seed)
        G.eval()
        with torch.no_grad():
            fake = G(torch.rand(n, z_size, generator=g) * 2 - 1).reshape(n, 64)
        G.train()
        if pixels == "raw":  # from the variant's 0..255 units
            fake = 2 * fake / 255.0 - 1
        elif pixels == "unit":  # from the variant's [0, 1] units
            fake = 2 * fake - 1
        f = fake.double().numpy()
        return frechet(f, real_all) if np.isfinite(f).all() else float("nan")

    fd_start = sample_fd()
    rec = {"d_loss": [], "g_loss": [], "d_x": [], "d_g_z": []}

    # train the network
    D.train()
    G.train()
    for epoch in range(n_epochs):

        for _batch_i, (real_images, _) in enumerate(train_loader):  # upstream: batch_i (for its print)

            batch_size = real_images.size(0)

            ## Important rescaling step ##
            if pixels == "rescale":
                real_images = real_images*2 - 1  # rescale input images from [0,1) to [-1, 1)
            elif pixels == "raw":  # the unscaled_inputs variant: raw 0..255 pixel values
                real_images = real_images * 255.0
            # pixels == "unit": the rescaling step left out, images in [0, 1]

            # ============================================
            #            TRAIN THE DISCRIMINATOR
            # ============================================

            d_optimizer.zero_grad()

            # 1. Train with real images

            # Compute the discriminator losses on real images
            # smooth the real labels
            D_real = D(real_images)
            d_real_loss = real_loss(D_real, smooth=smooth)

            # 2. Train with fake images

            # Generate fake images
            # gradients don't have to flow during this step
            with torch.no_grad():
                z = np.random.uniform(-1, 1, size=(batch_size, z_size))
                z = torch.from_numpy(z).float()
                fake_images = G(z)

            # Compute the discriminator losses on fake images
            D_fake = D(fake_images)
            d_fake_loss = fake_loss(D_fake)

            # add up loss and perform backprop
            d_loss = d_real_loss + d_fake_loss
            d_loss.backward()
            mon_d.step(d_loss)  # gradmedic
            d_optimizer.step()

            # =========================================
            #            TRAIN THE GENERATOR
            # =========================================
            if zero_grad_g:  # the no_zero_grad variant leaves this out
                g_optimizer.zero_grad()

            # 1. Train with fake images and flipped labels

            # Generate fake images
            z = np.random.uniform(-1, 1, size=(batch_size, z_size))
            z = torch.from_numpy(z).float()
            fake_images = G(z)

            # Compute the discriminator losses on fake images
            # using flipped labels!
            D_fake_g = D(fake_images)  # upstream: D_fake
            g_loss = real_loss(D_fake_g)  # use real loss to flip labels

            # perform backprop
            g_loss.backward()
            mon_g.step(g_loss)  # gradmedic
            g_optimizer.step()

            rec["d_loss"].append(d_loss.item())
            rec["g_loss"].append(g_loss.item())
            rec["d_x"].append(torch.sigmoid(D_real).mean().item())
            rec["d_g_z"].append(torch.sigmoid(D_fake).mean().item())

        # upstream prints every 400 batches and keeps G(fixed_z) samples each epoch for plots: left out
        if verbose and (epoch % 10 == 9 or epoch == n_epochs - 1):
            print(f"Epoch [{epoch + 1:5d}/{n_epochs:5d}] | d_loss: {np.mean(rec['d_loss'][-29:]):6.4f} | "
                  f"g_loss: {np.mean(rec['g_loss'][-29:]):6.4f} | D(x) {np.mean(rec['d_x'][-29:]):.3f} | "
                  f"D(G(z)) {np.mean(rec['d_g_z'][-29:]):.3f} | FD {sample_fd():.3f} ({time.time() - t0:.1f}s)",
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
                      "lr": lr, "lr_mult": lr_mult, "pixels": pixels, "smooth": smooth,
                      "g_init_std": -1.0 if g_init_std is None else float(g_init_std), "zero_grad_g": zero_grad_g},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="udgan", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_G = ("GAN (MLP D 64-128-64-32-1 and G 100-32-64-128-64 with LeakyReLU(0.2), Dropout(0.3) and Tanh, "
      "BCEWithLogitsLoss with real labels smoothed to 0.9 for D, both Adam lr 0.002, batch 64, "
      f"{EPOCHS} epochs of the 1797 8x8 digits rescaled to [-1, 1])")
CASES: list[dict] = (
    [_case(f"udgan_healthy_s{s}", "healthy", s, {}, f"{_G}: unchanged", False) for s in (1, 2, 3)]
    + [_case("udgan_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_G}: both Adam lr x2 (0.004)")]
    + [_case(f"udgan_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_G}: both Adam lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1, 2)), (100, (1, 2))) for s in ss]
    + [_case("udgan_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_G}: both Adam lr /1000 (2e-06)")]
    + [_case("udgan_no_rescale_s1", "unscaled_inputs", 1, {"pixels": "unit"},
             f"{_G}: the 'Important rescaling step' (real_images*2 - 1) left out: real images in [0, 1] against "
             "the generator's Tanh in [-1, 1] (the outcome measured in the rescaled units)")]
    + [_case("udgan_raw_pixels_s1", "unscaled_inputs", 1, {"pixels": "raw"},
             f"{_G}: the real images as raw 0..255 pixel values (no ToTensor scaling, no rescaling) while the "
             "generator's Tanh spans [-1, 1] (the outcome measured in the rescaled units)")]
    + [_case("udgan_g_init_std1_s1", "init_large", 1, {"g_init_std": 1.0},
             f"{_G}: nn.init.normal_(std=1.0) on every Linear weight of the generator instead of PyTorch's default "
             "(kaiming_uniform_, a=sqrt(5)); biases and D kept")]
    + [_case("udgan_no_zero_grad_g_s1", "no_zero_grad", 1, {"zero_grad_g": False},
             f"{_G}: g_optimizer.zero_grad() left out: the generator's gradients accumulate over its steps (and "
             "take in its share of nothing else: D's step runs G under no_grad)")]
    + [_case("udgan_batch128_s1", "healthy", 1, {"batch_size": 128}, f"{_G}: batch_size 128 instead of 64")]
    + [_case("udgan_no_smooth_s1", "healthy", 1, {"smooth": False},
             f"{_G}: real_loss(D_real, smooth=False) for the discriminator: real labels 1 instead of 0.9")]
)


if __name__ == "__main__":
    import ast
    import sys

    kw = {k: ast.literal_eval(v) for k, v in (a.split("=") for a in sys.argv[1:])}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
