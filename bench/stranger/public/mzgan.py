"""MorvanZhou/PyTorch-Tutorial's GAN (406_GAN.py: a generator "painter" learning to draw the curves of a famous
artist, a * x^2 + (a - 1) with a ~ U(1, 2), at 15 points), watched by gradmedic with one monitor per net.

Adapted from https://github.com/MorvanZhou/PyTorch-Tutorial (commit dbe154a9e56635e51c6b0c2ccea8ae36cfb585a7, the
newest; the file was last changed in 4e5122c3734dcdc9ace164c2a87fbd412ca1d431; tutorial-contents/406_GAN.py; MIT
License, Copyright (c) 2017, the repository's LICENCE, see LICENSE-mzgan).

Kept as in the original: the hyper parameters (BATCH_SIZE 64, LR_G = LR_D = 0.0001, N_IDEAS 5, ART_COMPONENTS 15,
``PAINT_POINTS``: 64 rows of ``np.linspace(-1, 1, 15)``), ``artist_works()`` (a new batch of 64 real paintings every
step from NumPy's global generator), ``G`` (Linear(5, 128), ReLU, Linear(128, 15)) and ``D`` (Linear(15, 128), ReLU,
Linear(128, 1), Sigmoid) as ``nn.Sequential`` with PyTorch's default init, ``opt_D`` and ``opt_G``
(``torch.optim.Adam``, default betas), and the loop's order (5000 steps instead of 10000, below): ``G_ideas =
torch.randn(BATCH_SIZE, N_IDEAS, requires_grad=True)``, ``G_paintings = G(G_ideas)``, ``G_loss =
torch.mean(torch.log(1. - D(G_paintings)))``, ``opt_G.zero_grad()``, ``G_loss.backward()``, ``opt_G.step()``; then
``D_loss = - torch.mean(torch.log(D(artist)) + torch.log(1. - D(G_paintings.detach())))``, ``opt_D.zero_grad()``,
``D_loss.backward(retain_graph=True)``, ``opt_D.step()`` (no clipping, no normalization; ``G_loss.backward()`` leaves
gradients on D too, which ``opt_D.zero_grad()`` clears, as upstream).

Changed to run offline on one CPU thread: no matplotlib (upstream plots every 50th step's first painting between
the bounds x^2 and 2 x^2 + 1, with "D accuracy" = mean D(artist) and "D score" = -D_loss; here they are recorded as
extras); ``torch.manual_seed(seed)`` and ``np.random.seed(seed)`` (upstream has both commented out: "#
reproducible"); the loop is the body of ``train`` and the variants' switches are its keywords.  5000 steps instead of
upstream's 10000: on the shared machine a 10000-step run took 60-67 s (22 s alone); by step 5000 the healthy
painter has converged as upstream describes it (D accuracy 0.50, D score -1.38; in three 10000-step runs the
distance below was, from about step 4000 on, within ~2x of its value at step 10000).

The watch, as a user would: two monitors, ``mon_d = gradmedic.watch(D, opt_D, every=10)`` and ``mon_g =
gradmedic.watch(G, opt_G, every=10)`` right after the optimizers are built; ``mon_g.step(G_loss)`` right after
``G_loss.backward()``, before ``opt_G.step()``; ``mon_d.step(D_loss)`` right after
``D_loss.backward(retain_graph=True)``, before ``opt_D.step()``; both closed after the loop. (D's forward in G's step
runs D's hooks too, as for any user.) Saved as two parts, ``disc`` first (run.py's loss-range check reads the first
part: D's loss is a positive BCE; G's, mean log(1 - D(G(z))), is negative), then ``gen``.

Outcome: the losses do not say how good the painter is, so the metric, ``frechet_15``, is the Frechet distance between
4000 generated paintings (ideas from a generator seeded apart from training) and 4000 artist paintings (a drawn from a
RandomState seeded 12345, the same for every run) in the 15-point space: Gaussians fitted by mean and covariance as in
dcgan.py's ``frechet`` (the artist's covariance has rank one), and the distance itself, the square root of that
function's (FID's) squared distance, in the paintings' units. It is measured every 100 steps and the outcome is the
mean of the last 10 measurements (steps 4100-5000): a healthy GAN's distance oscillates (in one 10000-step run the
squared distance went 0.016-0.094 over the last 6000 steps), and one measurement at the last step would label by that
noise. Lower is better; run.py has no GAN rule for this name, so it labels it by its loss rules (a good outcome is at
most 0.7x the untrained generator's distance, the reference; a change is broken when its distance is over twice its
control's, which is over 4x in the squared distance that run.py's GAN rule uses for dcgan.py). The square root and the
averaging were chosen from the three healthy runs (before any variant ran): the squared distance of single
measurements varied 2.5x between seeds. For the paintings-x100 variant the generated paintings are divided by 100
before the distance. Extras: the untrained distance, the last 20 steps' mean D(artist) (upstream's "D accuracy", 0.5
for D to converge), D(G(z)) and -D_loss (upstream's "D score", -1.38 for G to converge), G_loss, the fraction of
generated points between the artist's bounds x^2 and 2 x^2 + 1, and the mean and spread of the a fitted to each
generated painting (the artist's: 1.5 and 0.29).

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the same seed's
healthy run: both learning rates x2, x10 and x100 (these two on seeds 1 and 2), x1000 and /1000; LR_D x100 only; the
artist's paintings in units 100x larger (D's real inputs up to ~300; cause unscaled_inputs) on seeds 1 and 2; G's loss
with its sign flipped (``torch.mean(torch.log(prob_artist1))``: the painter minimizes D's belief in its paintings, a
wrong loss); the "non-saturating" generator loss ``-torch.mean(torch.log(prob_artist1))`` (a sane, common change,
cause healthy against its control); ``nn.init.normal_(std=1.0)`` on every Linear weight of G and D (seeds 1 and 2);
G's weights and biases all zero (symmetric init); G's first Linear's bias at -10 (its 128 ReLUs dead for every idea);
both ``zero_grad()`` calls removed. Labels come from run.py's outcome rules only.

Recorded (cases-public30; 21-33 s of training a run on the shared 2-core machine, ~50 s a case with the distance
checks and the saving of two monitors; 20 cases in ~16 min): healthy distance 0.207, 0.271 and 0.241 on seeds 1-3
from the untrained generator's 5.02, 5.09 and 4.60 (D accuracy 0.50, D score -1.38, 90% of the generated points
between the bounds, the fitted a 1.50-1.52 with spread 0.31-0.34; before the cut to 5000 steps three 10000-step
runs ended at 0.142, 0.217 and 0.151).  Healthy: the non-saturating G loss, 0.181.  Ambiguous: both rates x2,
0.345 (1.67x its control; D accuracy 0.50, 90% in bounds).  Broken: both rates x10, 1.09 and 1.26 (D ahead, D(x)
0.62 and 0.58), x100 NaN (seed 1) and 18.4 (seed 2: D wins, D(x) 1.00, D(G(z)) 0.00), x1000 138.5, /1000 5.04
(nothing learned); LR_D x100, 4.86 (D wins outright and G stays near its start); the paintings x100, 4.74 and 4.86
(D wins, G barely moves); G's loss sign flipped, NaN; N(0, 1) init, NaN and NaN (untrained distance 76 and 80);
G all zeros, 3.89, and G's bias at -10, 3.83 (one painting for every idea: the fitted a's spread 0.0); no
zero_grad, NaN.  In all: 4 healthy, 15 broken, 1 ambiguous.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import torch
import torch.nn as nn
from dcgan import frechet

import gradmedic

ARCH = "gan"
PARTS = ("disc", "gen")  # the two monitors' files, {name}_disc.npz and {name}_gen.npz, in train()'s order
MONITOR_AT = ("two monitors built right after the optimizers: G's (watch(G, opt_G, every=10)) stepped with G_loss right "
              "after G_loss.backward(), before opt_G.step(); D's (watch(D, opt_D, every=10)) stepped with D_loss right "
              "after D_loss.backward(retain_graph=True), before opt_D.step(); G's step comes first in each iteration")

# Hyper Parameters
BATCH_SIZE = 64
LR_G = 0.0001           # learning rate for generator
LR_D = 0.0001           # learning rate for discriminator
N_IDEAS = 5             # think of this as number of ideas for generating an art work (Generator)
ART_COMPONENTS = 15     # it could be total point G can draw in the canvas
PAINT_POINTS = np.vstack([np.linspace(-1, 1, ART_COMPONENTS) for _ in range(BATCH_SIZE)])
STEPS = 5000  # upstream: 10000 (see the docstring)


def artist_works():     # painting from the famous artist (real target)
    a = np.random.uniform(1, 2, size=BATCH_SIZE)[:, np.newaxis]
    paintings = a * np.power(PAINT_POINTS, 2) + (a-1)
    paintings = torch.from_numpy(paintings).float()
    return paintings


def _reference(n=4000):
    """n artist paintings, the same for every run (a from RandomState(12345))."""
    a = np.random.RandomState(12345).uniform(1, 2, size=n)[:, np.newaxis]
    x = PAINT_POINTS[0][np.newaxis, :]
    return a * np.power(x, 2) + (a - 1)


def _fit_a(p):
    """The a of a * x^2 + (a - 1) = a (x^2 + 1) - 1 fitted to each painting by least squares."""
    u = np.power(PAINT_POINTS[0], 2) + 1
    return (p + 1) @ u / (u @ u)


def train(seed: int = 1, lr_mult: float = 1.0, lr_mult_d: float = 1.0, art_scale: float = 1.0, g_loss: str = "upstream",
          init_std: float | None = None, zero_g: bool = False, g_bias: float | None = None, zero_grad: bool = True,
          steps: int = STEPS, every: int = 10, verbose: bool = False) -> dict:
    """``lr_mult``: both rates times this; ``lr_mult_d``: LR_D only; ``art_scale``: the artist's paintings times this;
    ``g_loss``: "upstream" (mean log(1 - D(G(z)))), "flipped" (mean log D(G(z))), "nonsat" (-mean log D(G(z)));
    ``init_std``: normal_(0, init_std) on every Linear weight of G and D; ``zero_g``: G's weights and biases zeros;
    ``g_bias``: G's first Linear's bias set to this constant; ``zero_grad=False``: both zero_grad() calls left out."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)    # reproducible (commented out upstream)
    np.random.seed(seed)

    G = nn.Sequential(                      # Generator
        nn.Linear(N_IDEAS, 128),            # random ideas (could from normal distribution)
        nn.ReLU(),
        nn.Linear(128, ART_COMPONENTS),     # making a painting from these random ideas
    )

    D = nn.Sequential(                      # Discriminator
        nn.Linear(ART_COMPONENTS, 128),     # receive art work either from the famous artist or a newbie like G
        nn.ReLU(),
        nn.Linear(128, 1),
        nn.Sigmoid(),                       # tell the probability that the art work is made by artist
    )
    with torch.no_grad():  # the variants' inits (none upstream)
        if init_std is not None:
            for m in (*G.modules(), *D.modules()):
                if isinstance(m, nn.Linear):
                    m.weight.normal_(0.0, init_std)
        if zero_g:
            for p in G.parameters():
                p.zero_()
        if g_bias is not None:
            G[0].bias.fill_(g_bias)

    opt_D = torch.optim.Adam(D.parameters(), lr=LR_D * lr_mult * lr_mult_d)
    opt_G = torch.optim.Adam(G.parameters(), lr=LR_G * lr_mult)
    mon_d = gradmedic.watch(D, opt_D, every=every)  # gradmedic
    mon_g = gradmedic.watch(G, opt_G, every=every)  # gradmedic

    ref = _reference()
    g_eval = torch.Generator().manual_seed(1000 + seed)
    eval_ideas = torch.randn(4000, N_IDEAS, generator=g_eval)

    def sample():
        with torch.no_grad():
            return G(eval_ideas).double().numpy() / art_scale

    def fd(p):  # the Frechet distance itself: the square root of dcgan.py's (FID's) squared distance
        if not np.isfinite(p).all():
            return float("nan")
        with warnings.catch_warnings():  # sqrtm of a singular product: the artist's covariance has rank one
            warnings.simplefilter("ignore")
            return float(np.sqrt(max(frechet(p, ref), 0.0)))

    fd_start = fd(sample())
    fd_curve = []  # the distance every 100 steps; the outcome is the mean of the last 10
    rec = {"D_x": [], "D_G_z1": [], "D_score": [], "G_loss": []}
    t0 = time.time()
    for step in range(steps):
        artist_paintings = artist_works() * art_scale  # real painting from artist
        G_ideas = torch.randn(BATCH_SIZE, N_IDEAS, requires_grad=True)  # random ideas\n
        G_paintings = G(G_ideas)                    # fake painting from G (random ideas)
        prob_artist1 = D(G_paintings)               # D try to reduce this prob
        if g_loss == "flipped":  # the bug: the sign of G's objective flipped
            G_loss = torch.mean(torch.log(prob_artist1))
        elif g_loss == "nonsat":  # the "non-saturating" generator loss of the GAN paper
            G_loss = -torch.mean(torch.log(prob_artist1))
        else:
            G_loss = torch.mean(torch.log(1. - prob_artist1))
        if zero_grad:
            opt_G.zero_grad()
        G_loss.backward()
        mon_g.step(G_loss)  # gradmedic
        opt_G.step()

        prob_artist0 = D(artist_paintings)          # D try to increase this prob
        prob_artist1 = D(G_paintings.detach())  # D try to reduce this prob
        D_loss = - torch.mean(torch.log(prob_artist0) + torch.log(1. - prob_artist1))
        if zero_grad:
            opt_D.zero_grad()
        D_loss.backward(retain_graph=True)      # reusing computational graph
        mon_d.step(D_loss)  # gradmedic
        opt_D.step()

        rec["D_x"].append(prob_artist0.data.numpy().mean())
        rec["D_G_z1"].append(prob_artist1.data.numpy().mean())
        rec["D_score"].append(-D_loss.item())
        rec["G_loss"].append(G_loss.item())
        if step % 100 == 99:
            fd_curve.append(fd(sample()))
        if verbose and (step % 1000 == 0 or step == steps - 1):  # upstream plots every 50 steps
            print(f"step {step} D accuracy={rec['D_x'][-1]:.2f} (0.5 for D to converge) D score= {rec['D_score'][-1]:.2f} "
                  f"(-1.38 for G to converge) FD {fd_curve[-1] if fd_curve else fd_start:.4f} {time.time() - t0:.1f}s",
                  flush=True)
    mon_d.close()
    mon_g.close()
    seconds = time.time() - t0

    p = sample()
    value = float(np.mean(fd_curve[-10:])) if len(fd_curve) >= 10 else fd(p)
    last = {k: float(np.mean(v[-20:])) for k, v in rec.items()}
    x2 = np.power(PAINT_POINTS[0], 2)
    extra = {"fd_untrained_G": fd_start, "fd_final_step": fd(p), "fd_every_100_steps": [float(v) for v in fd_curve],
             **{f"final_{k}": v for k, v in last.items()}, "steps": len(rec["D_x"])}
    if np.isfinite(p).all():
        a = _fit_a(p)
        extra.update(in_bounds=float(((p >= x2 - 1e-6) & (p <= 2 * x2 + 1 + 1e-6)).mean()),
                     fitted_a_mean=float(a.mean()), fitted_a_std=float(a.std()))
    if verbose:
        print(f"Frechet {value:.4g} (untrained {fd_start:.4g}); {extra}")
    return {"monitors": {"disc": mon_d, "gen": mon_g}, "metric": "frechet_15",
            "value": float(value) if np.isfinite(value) else float("nan"), "initial": float(fd_start),
            "chance": float(fd_start), "initial_what": "untrained generator's Frechet distance", "extra": extra,
            "seconds": seconds}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="mzgan", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"mzgan_healthy_s{s}", "healthy", s, {}, "unchanged (G 5-128-15 ReLU, D 15-128-1 ReLU Sigmoid, both Adam lr "
           "1e-4, G_loss mean log(1 - D(G(z))), batch 64, 5000 steps)", False) for s in (1, 2, 3)]
    + [_case("mzgan_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, "LR_G and LR_D x2 (0.0002)")]
    + [_case(f"mzgan_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"LR_G and LR_D x{k} ({1e-4 * k:g})")
       for k, ss in ((10, (1, 2)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("mzgan_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "LR_G and LR_D /1000 (1e-07)")]
    + [_case("mzgan_d_lr_x100_s1", "lr_high", 1, {"lr_mult_d": 100}, "LR_D x100 (0.01), LR_G unchanged")]
    + [_case(f"mzgan_paint_x100_s{s}", "unscaled_inputs", s, {"art_scale": 100.0},
             "the artist's paintings in units 100x larger (100 a x^2 + 100 (a - 1), up to 300) as D's real inputs; the "
             "generated paintings are divided by 100 for the outcome") for s in (1, 2)]
    + [_case("mzgan_g_loss_flipped_s1", "wrong_loss", 1, {"g_loss": "flipped"},
             "G_loss = torch.mean(torch.log(prob_artist1)) instead of torch.mean(torch.log(1. - prob_artist1)): the "
             "sign of the generator's objective flipped")]
    + [_case("mzgan_g_loss_nonsat_s1", "healthy", 1, {"g_loss": "nonsat"},
             "G_loss = -torch.mean(torch.log(prob_artist1)), the non-saturating generator loss, instead of "
             "torch.mean(torch.log(1. - prob_artist1))")]
    + [_case(f"mzgan_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Linear weight of G and D instead of PyTorch's default "
             "(kaiming_uniform_, a=sqrt(5)); biases kept") for s in (1, 2)]
    + [_case("mzgan_zero_g_s1", "symmetric_init", 1, {"zero_g": True},
             "nn.init.zeros_ on every weight and bias of G (both Linear layers)")]
    + [_case("mzgan_g_bias_neg10_s1", "dead_relu", 1, {"g_bias": -10.0},
             "G's first Linear's bias filled with -10: its 128 ReLUs are below zero for every idea")]
    + [_case("mzgan_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             "opt_G.zero_grad() and opt_D.zero_grad() left out: the gradients accumulate (D's also collects G_loss's)")]
)


if __name__ == "__main__":
    import ast
    import sys

    kw = {k: ast.literal_eval(v) for k, v in (a.split("=") for a in sys.argv[1:])}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
