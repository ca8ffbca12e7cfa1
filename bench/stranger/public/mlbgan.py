"""The fully connected GAN of Raschka, Liu and Mirjalili's "Machine Learning with PyTorch and Scikit-Learn",
chapter 17 part 1 (``make_generator_network``, ``make_discriminator_network``, ``d_train``/``g_train`` and the epoch
loop), on scikit-learn's 8x8 digits instead of MNIST, watched by gradmedic with one monitor per net.

Adapted from https://github.com/rasbt/machine-learning-book (commit 35ab3774e8e249c43a98209d8efd94c060102003, the
newest; the file was last changed in 6aade64392f7eb18bbae0c41c1fe5896229ad534; ch17/ch17_part1.py; MIT License,
Copyright (c) 2021-2025 Sebastian Raschka, the repository's LICENSE.txt, see LICENSE-mlbgan).

Kept as in the original: ``make_generator_network`` (Linear(20, 100), LeakyReLU, Linear(100, n_pixels), Tanh) and
``make_discriminator_network`` (Linear(n_pixels, 100, bias=False), LeakyReLU, Dropout(0.5), Linear(100, 1),
Sigmoid) with PyTorch's default init, z_size 20, one hidden layer of 100 units each, ``create_noise`` with mode_z
'uniform' (U(-1, 1)), batch 64 with ``shuffle=True, drop_last=True``, ``nn.BCELoss()``, ``g_optimizer`` and
``d_optimizer`` as ``torch.optim.Adam`` with its defaults (lr 1e-3, betas (0.9, 0.999)), the images scaled to
[-1, 1] as ``ToTensor()`` + ``Normalize(mean=(0.5), std=(0.5))`` do, and ``d_train``/``g_train`` line for line:
``disc_model.zero_grad()``, D on the real batch against ones, D on ``gen_model(create_noise(...))`` (not detached)
against zeros, ``d_loss = d_loss_real + d_loss_fake``, ``d_loss.backward()``, ``d_optimizer.step()``; then
``gen_model.zero_grad()``, fresh noise, ``g_loss = loss_fn(disc_model(gen_model(z)), ones)``, ``g_loss.backward()``,
``g_optimizer.step()`` (no clipping; the discriminator stays in train mode, Dropout on, throughout, as upstream;
``d_loss.backward()`` leaves gradients on G, which ``gen_model.zero_grad()`` clears, and ``g_loss.backward()``
leaves gradients on D, which the next ``disc_model.zero_grad()`` clears); the loop (d_train then g_train on every
batch, per-epoch means of the losses, D(x) and D(G(z))).

Changed to run offline on one CPU thread without torchvision: scikit-learn's ``load_digits`` (all 1797 images,
8x8, pixel values 0..16 divided by 16 for ToTensor's [0, 1], then (x - 0.5) / 0.5) instead of MNIST, so
image_size is (8, 8) and the generator's output 64 instead of 784; 80 epochs of 28 steps (2240 steps) instead of 100
epochs of 937 (a 100-epoch run took 25 s of training on the shared machine, at the limit of a case's time; at epoch
80 the healthy seed-1 distance below was 2.7, at epoch 100 2.4: still slowly falling); ``torch.manual_seed(seed)``
and ``np.random.seed(seed)`` instead of the fixed seed 1; device "cpu"; no matplotlib figures and no
``epoch_samples`` grid (the per-epoch means are recorded as extras instead of printed); the functions live inside
``train`` and the variants' switches are its keywords.  (Upstream's code after the training loop, an MMD score with
``.cuda()`` calls, is not part of the training and is left out.)

The watch, as a user would: two monitors, ``mon_d = gradmedic.watch(disc_model, d_optimizer, every=10)`` and
``mon_g = gradmedic.watch(gen_model, g_optimizer, every=10)`` right after the optimizers are built;
``mon_d.step(d_loss)`` right after ``d_loss.backward()`` in d_train, before ``d_optimizer.step()``;
``mon_g.step(g_loss)`` right after ``g_loss.backward()`` in g_train, before ``g_optimizer.step()``; both closed after
the loop. (D's forward in g_train and G's in d_train run the other net's hooks too, as for any user.) Saved as two
parts, ``disc`` first (run.py's loss-range check reads the first part), then ``gen``.

Outcome, as mzgan.py's: the losses do not say how good the generator is, so the metric, ``frechet_64px``, is the
Frechet distance between 2000 generated digits (noise from a generator seeded 1000 + seed, apart from training) and
the 1797 real ones in the 64-pixel space of the [-1, 1] images: Gaussians fitted by mean and covariance as in
dcgan.py's ``frechet``, the distance itself the square root of that function's (FID's) squared distance.  It is
measured after every epoch and the outcome is the mean of the last 10 measurements (a GAN's distance oscillates).
Lower is better.  The name is not ``frechet_8x8``, so run.py labels it by its loss rules: a good outcome is at most
0.7x the untrained generator's distance (the reference); a change is broken when its distance is over twice its
control's, or it made at most half the control's progress from the control's start.  (The 80 epochs, the square
root and the averaging were set from the healthy seed-1 run before any variant ran.)  For the data-x100 variant the
generator's Tanh output is measured against the [-1, 1] digits like every other run (the images the user wanted).
Extras: the untrained distance, the distance after every epoch and at the end, the last epoch's mean D(x), D(G(z)),
d_loss and g_loss, the generated pixels' mean and their spread across samples (the real digits': 0.46).

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the same
seed's healthy run: both learning rates x2 (harmless, cause healthy), x10 and x100 (seeds 1 and 2), x1000 and
/1000; d_optimizer's rate x100 only; mode_z 'normal' instead of 'uniform' (the alternative upstream's comment names;
cause healthy); the real images x100 (unscaled_inputs, seeds 1 and 2); ``nn.init.normal_(std=1.0)`` on every
Linear weight of both nets (seeds 1 and 2); every weight and bias of G zero (symmetric init);
``disc_model.zero_grad()`` left out of d_train (no_zero_grad); g_train's BCE target zeros instead of ones (the
generator pushed towards D's "fake" label: a wrong loss; removing the Sigmoid and keeping BCELoss, the other
common slip, raises an error in BCELoss on values outside [0, 1] instead of training).  Labels come from run.py's
outcome rules only.

Recorded (cases-public37):
19 cases in 198 s (7-22 s of training a run on the shared machine; the first few ran while it was busier).
Healthy programs: distance 3.01, 3.14 and 2.83 on seeds 1-3 from the untrained generator's 6.51, 6.65 and 6.52 (last
epoch's D(x) 0.50-0.58, D(G(z)) 0.39-0.44; the generated pixels' spread across samples 0.36-0.39 against the real
0.46).  Healthy: both rates x2, 3.04; mode_z 'normal', 2.74.  Broken: both rates x100, 6.22 and 5.81 (D wins: D(x)
0.99 and 1.00, D(G(z)) 0.00 and 0.01, g_loss 100 and 84); x1000, 10.4 (D(x) 1.00); /1000, 6.52 (nothing learned); G
all zeros, 6.19 (one image for every z: the spread 0.0); D's zero_grad left out, 8.78 (D(x) and D(G(z)) both ~1.0,
d_loss 68, the spread 0.04); G's labels zeros, 10.2 (D(x) 1.00, D(G(z)) 0.00).  Ambiguous (not over twice the
control's distance, not healthy by run.py's rules): both rates x10, 3.77 and 3.60 (D(x) 0.50 and 0.54);
d_optimizer's rate x100, 2.32 (below its control's 3.01, but D's loss reached 11.9 on the way against the control's
largest 1.58, so run.py's rules do not call it healthy; D(x) 0.66, g_loss 2.5); the images x100, 3.53 and 3.61 (D
wins on the real side, D(x) 1.00, D(G(z)) 0.17-0.18, yet the generator still moved towards the digits); N(0, 1)
init, 3.70 and 3.69 from an untrained 8.88 and 8.18 (g_loss 20 and 12, D(x) 0.88).  In all: 5 healthy, 7 broken, 7
ambiguous.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import torch
import torch.nn as nn
from dcgan import frechet
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader, TensorDataset

import gradmedic

ARCH = "gan"
PARTS = ("disc", "gen")  # the two monitors' files, {name}_disc.npz and {name}_gen.npz, in train()'s order
MONITOR_AT = ("two monitors built right after the optimizers: the discriminator's (watch(disc_model, d_optimizer, "
              "every=10)) stepped with d_loss right after d_loss.backward() in d_train, before d_optimizer.step(); the "
              "generator's (watch(gen_model, g_optimizer, every=10)) stepped with g_loss right after g_loss.backward() "
              "in g_train, before g_optimizer.step(); d_train comes first in each iteration")

image_size = (8, 8)  # upstream: (28, 28) (MNIST)
z_size = 20

gen_hidden_layers = 1
gen_hidden_size = 100
disc_hidden_layers = 1
disc_hidden_size = 100
batch_size = 64
mode_z = 'uniform'  # 'uniform' vs. 'normal'
NUM_EPOCHS = 80  # upstream: 100 epochs of MNIST (937 steps each); here 80 epochs of 28 steps (see the docstring)


## define a function for the generator:
def make_generator_network(
        input_size=20,
        num_hidden_layers=1,
        num_hidden_units=100,
        num_output_units=784):
    model = nn.Sequential()
    for i in range(num_hidden_layers):
        model.add_module(f'fc_g{i}',
                         nn.Linear(input_size,
                                   num_hidden_units))
        model.add_module(f'relu_g{i}',
                         nn.LeakyReLU())
        input_size = num_hidden_units
    model.add_module(f'fc_g{num_hidden_layers}',
                     nn.Linear(input_size, num_output_units))
    model.add_module('tanh_g', nn.Tanh())
    return model


## define a function for the discriminator:
def make_discriminator_network(
        input_size,
        num_hidden_layers=1,
        num_hidden_units=100,
        num_output_units=1):
    model = nn.Sequential()
    for i in range(num_hidden_layers):
        model.add_module(f'fc_d{i}',
                         nn.Linear(input_size,
                                   num_hidden_units, bias=False))
        model.add_module(f'relu_d{i}',
                         nn.LeakyReLU())
        model.add_module('dropout', nn.Dropout(p=0.5))
        input_size = num_hidden_units
    model.add_module(f'fc_d{num_hidden_layers}',
                     nn.Linear(input_size, num_output_units))
    model.add_module('sigmoid', nn.Sigmoid())
    return model


def create_noise(batch_size, z_size, mode_z, generator=None):
    if mode_z == 'uniform':
        input_z = torch.rand(batch_size, z_size, generator=generator)*2 - 1
    elif mode_z == 'normal':
        input_z = torch.randn(batch_size, z_size, generator=generator)
    return input_z


def digits() -> torch.Tensor:
    """All 1797 of scikit-learn's 8x8 digits, 0..16 -> [0, 1] (ToTensor) -> [-1, 1] (Normalize(mean=0.5, std=0.5))."""
    x = torch.tensor(load_digits().images, dtype=torch.float32) / 16.0
    return (x - 0.5) / 0.5


def train(seed: int = 1, lr_mult: float = 1.0, lr_mult_d: float = 1.0, data_scale: float = 1.0,
          init_std: float | None = None, zero_g: bool = False, d_zero_grad: bool = True, g_labels: str = "real",
          mode: str = mode_z, num_epochs: int = NUM_EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    """``lr_mult``: both Adam rates (default 1e-3) times this; ``lr_mult_d``: d_optimizer's only; ``data_scale``: the
    real images times this; ``init_std``: normal_(0, init_std) on every Linear weight of both nets; ``zero_g``: the
    generator's weights and biases zeros; ``d_zero_grad=False``: ``disc_model.zero_grad()`` left out of d_train;
    ``g_labels="fake"``: g_train's BCE targets zeros instead of ones; ``mode``: mode_z."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)  # upstream: torch.manual_seed(1); np.random.seed(1)
    np.random.seed(seed)
    device = "cpu"

    data = digits()
    ## Set up the dataset
    mnist_dl = DataLoader(TensorDataset(data * data_scale, torch.zeros(len(data))), batch_size=batch_size,
                          shuffle=True, drop_last=True)

    ## Set up the models
    gen_model = make_generator_network(
        input_size=z_size,
        num_hidden_layers=gen_hidden_layers,
        num_hidden_units=gen_hidden_size,
        num_output_units=np.prod(image_size)).to(device)

    disc_model = make_discriminator_network(
        input_size=np.prod(image_size),
        num_hidden_layers=disc_hidden_layers,
        num_hidden_units=disc_hidden_size).to(device)
    with torch.no_grad():  # the variants' inits (none upstream)
        if init_std is not None:
            for m in (*gen_model.modules(), *disc_model.modules()):
                if isinstance(m, nn.Linear):
                    m.weight.normal_(0.0, init_std)
        if zero_g:
            for p in gen_model.parameters():
                p.zero_()

    ## Loss function and optimizers:
    loss_fn = nn.BCELoss()
    g_optimizer = torch.optim.Adam(gen_model.parameters(), lr=1e-3 * lr_mult)  # upstream: Adam's default lr 1e-3
    d_optimizer = torch.optim.Adam(disc_model.parameters(), lr=1e-3 * lr_mult * lr_mult_d)
    mon_d = gradmedic.watch(disc_model, d_optimizer, every=every)  # gradmedic
    mon_g = gradmedic.watch(gen_model, g_optimizer, every=every)  # gradmedic

    ## Train the discriminator
    def d_train(x):
        if d_zero_grad:
            disc_model.zero_grad()

        # Train discriminator with a real batch
        batch_size = x.size(0)
        x = x.view(batch_size, -1).to(device)
        d_labels_real = torch.ones(batch_size, 1, device=device)

        d_proba_real = disc_model(x)
        d_loss_real = loss_fn(d_proba_real, d_labels_real)

        # Train discriminator on a fake batch
        input_z = create_noise(batch_size, z_size, mode).to(device)
        g_output = gen_model(input_z)

        d_proba_fake = disc_model(g_output)
        d_labels_fake = torch.zeros(batch_size, 1, device=device)
        d_loss_fake = loss_fn(d_proba_fake, d_labels_fake)

        # gradient backprop & optimize ONLY D's parameters
        d_loss = d_loss_real + d_loss_fake
        d_loss.backward()
        mon_d.step(d_loss)  # gradmedic
        d_optimizer.step()

        return d_loss.data.item(), d_proba_real.detach(), d_proba_fake.detach()

    ## Train the generator
    def g_train(x):
        gen_model.zero_grad()

        batch_size = x.size(0)
        input_z = create_noise(batch_size, z_size, mode).to(device)
        if g_labels == "fake":  # the bug: the generator trained towards D's "fake" label
            g_labels_real = torch.zeros(batch_size, 1, device=device)
        else:
            g_labels_real = torch.ones(batch_size, 1, device=device)

        g_output = gen_model(input_z)
        d_proba_fake = disc_model(g_output)
        g_loss = loss_fn(d_proba_fake, g_labels_real)

        # gradient backprop & optimize ONLY G's parameters
        g_loss.backward()
        mon_g.step(g_loss)  # gradmedic
        g_optimizer.step()

        return g_loss.data.item()

    # the outcome: 2000 generated digits from noise seeded apart from training against the 1797 real ones
    ref = data.view(len(data), -1).double().numpy()
    eval_z = create_noise(2000, z_size, mode, generator=torch.Generator().manual_seed(1000 + seed))

    def sample():
        with torch.no_grad():
            return gen_model(eval_z).double().numpy()

    def fd(p):  # the Frechet distance itself: the square root of dcgan.py's (FID's) squared distance
        if not np.isfinite(p).all():
            return float("nan")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(np.sqrt(max(frechet(p, ref), 0.0)))

    fd_start = fd(sample())
    fd_curve = []  # the distance after every epoch; the outcome is the mean of the last 10

    all_d_losses = []
    all_g_losses = []
    all_d_real = []
    all_d_fake = []
    t0 = time.time()
    for epoch in range(1, num_epochs+1):
        d_losses, g_losses = [], []
        d_vals_real, d_vals_fake = [], []
        for _i, (x, _) in enumerate(mnist_dl):  # upstream: i
            d_loss, d_proba_real, d_proba_fake = d_train(x)
            d_losses.append(d_loss)
            g_losses.append(g_train(x))

            d_vals_real.append(d_proba_real.mean().cpu())
            d_vals_fake.append(d_proba_fake.mean().cpu())

        all_d_losses.append(torch.tensor(d_losses).mean())
        all_g_losses.append(torch.tensor(g_losses).mean())
        all_d_real.append(torch.tensor(d_vals_real).mean())
        all_d_fake.append(torch.tensor(d_vals_fake).mean())
        fd_curve.append(fd(sample()))
        if verbose and (epoch % 10 == 0 or epoch == 1):
            print(f'Epoch {epoch:03d} | Avg Losses >>'
                  f' G/D {all_g_losses[-1]:.4f}/{all_d_losses[-1]:.4f}'
                  f' [D-Real: {all_d_real[-1]:.4f} D-Fake: {all_d_fake[-1]:.4f}] FD {fd_curve[-1]:.3f}'
                  f' {time.time() - t0:.1f}s', flush=True)
    mon_d.close()
    mon_g.close()
    seconds = time.time() - t0

    p = sample()
    value = float(np.mean(fd_curve[-10:])) if len(fd_curve) >= 10 else fd(p)
    extra = {"fd_untrained_G": fd_start, "fd_final_epoch": fd(p), "fd_every_epoch": [float(v) for v in fd_curve],
             "final_D_x": float(all_d_real[-1]), "final_D_G_z1": float(all_d_fake[-1]),
             "final_d_loss": float(all_d_losses[-1]), "final_g_loss": float(all_g_losses[-1]),
             "epochs": len(all_d_losses), "steps": len(all_d_losses) * len(mnist_dl)}
    if np.isfinite(p).all():
        extra.update(gen_pixel_mean=float(p.mean()), gen_pixel_std_over_samples=float(p.std(0).mean()),
                     real_pixel_std_over_samples=float(ref.std(0).mean()))
    if verbose:
        print(f"Frechet {value:.4g} (untrained {fd_start:.4g}); "
              f"{ {k: v for k, v in extra.items() if k != 'fd_every_epoch'} }")
    return {"monitors": {"disc": mon_d, "gen": mon_g}, "metric": "frechet_64px",
            "value": float(value) if np.isfinite(value) else float("nan"), "initial": float(fd_start),
            "chance": float(fd_start), "initial_what": "untrained generator's Frechet distance", "extra": extra,
            "seconds": seconds}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="mlbgan", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"mlbgan_healthy_s{s}", "healthy", s, {}, "unchanged (G 20-100-64 LeakyReLU Tanh, D 64-100-1 LeakyReLU "
           "Dropout(0.5) Sigmoid, both Adam with the default lr 1e-3, BCELoss, uniform z, batch 64, 80 epochs)", False)
     for s in (1, 2, 3)]
    + [_case("mlbgan_lr_x2_s1", "healthy", 1, {"lr_mult": 2}, "both Adam lr x2 (0.002)")]
    + [_case("mlbgan_z_normal_s1", "healthy", 1, {"mode": "normal"},
             "mode_z = 'normal' instead of 'uniform' (the alternative the book's code names)")]
    + [_case(f"mlbgan_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"both Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1, 2)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("mlbgan_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "both Adam lr /1000 (1e-06)")]
    + [_case("mlbgan_d_lr_x100_s1", "lr_high", 1, {"lr_mult_d": 100}, "d_optimizer lr x100 (0.1), g_optimizer unchanged")]
    + [_case(f"mlbgan_data_x100_s{s}", "unscaled_inputs", s, {"data_scale": 100.0},
             "the real images x100 (in [-100, 100]) as the discriminator's real inputs; the generator's Tanh output "
             "is measured against the [-1, 1] digits as usual") for s in (1, 2)]
    + [_case(f"mlbgan_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Linear weight of both nets instead of PyTorch's default "
             "(kaiming_uniform_, a=sqrt(5)); biases kept") for s in (1, 2)]
    + [_case("mlbgan_zero_g_s1", "symmetric_init", 1, {"zero_g": True},
             "nn.init.zeros_ on every weight and bias of the generator (both Linear layers)")]
    + [_case("mlbgan_no_zero_grad_d_s1", "no_zero_grad", 1, {"d_zero_grad": False},
             "disc_model.zero_grad() left out of d_train: D's gradients accumulate (g_train's backward adds to them too)")]
    + [_case("mlbgan_g_labels_fake_s1", "wrong_loss", 1, {"g_labels": "fake"},
             "g_train's BCELoss targets torch.zeros (the fake label) instead of torch.ones: the generator minimizes "
             "D's belief in its images")]
)


if __name__ == "__main__":
    import ast
    import sys

    kw = {k: ast.literal_eval(v) for k, v in (a.split("=") for a in sys.argv[1:])}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k not in ("monitors", "extra")})
