"""MorvanZhou/PyTorch-Tutorial's conditional GAN (406_conditional_GAN.py: a generator "painter" learning to draw the
artist's curves a * x^2 + (a - 1), a ~ U(1, 2), at 15 points, for a given class: upper (a - 1 > 0.5) or lower),
watched by gradmedic with one monitor per net.

Adapted from https://github.com/MorvanZhou/PyTorch-Tutorial (tutorial-contents/406_conditional_GAN.py at commit
4e5122c3734dcdc9ace164c2a87fbd412ca1d431, the stored version; MIT License, Copyright (c) 2017, the repository's
LICENCE, see LICENSE-mzcgan).  mzgan.py ports the unconditional 406_GAN.py; this module follows its conventions
(two monitors, parts ``disc`` then ``gen``, a Frechet distance on the painter curves as the metric).

Kept as in the original: the hyper parameters (BATCH_SIZE 64, LR_G = LR_D = 0.0001, N_IDEAS 5, ART_COMPONENTS 15,
``PAINT_POINTS``: 64 rows of ``np.linspace(-1, 1, 15)``), ``artist_works_with_labels()`` (a new batch of 64 real
paintings every step from NumPy's global generator, labels ``(a-1) > 0.5`` as a float column), ``G`` (Linear(5 + 1,
128), ReLU, Linear(128, 15)) and ``D`` (Linear(15 + 1, 128), ReLU, Linear(128, 1), Sigmoid) as ``nn.Sequential``
with PyTorch's default init, ``opt_D`` and ``opt_G`` (``torch.optim.Adam``, default betas), and the loop's order:
``G_ideas = torch.randn(BATCH_SIZE, N_IDEAS)``, ``G_inputs = torch.cat((G_ideas, labels), 1)``, ``G_paintings =
G(G_inputs)``, D on the labelled real and fake paintings, ``D_loss = - torch.mean(log(prob_artist0) + log(1. -
prob_artist1))``, ``G_loss = torch.mean(log(1. - prob_artist1))``, ``opt_D.zero_grad()``,
``D_loss.backward(retain_graph=True)``, ``opt_D.step()``, then ``opt_G.zero_grad()``, ``G_loss.backward()``,
``opt_G.step()`` (no clipping, no normalization; G's backward also leaves gradients on D, which the next
``opt_D.zero_grad()`` clears, as upstream).

Changed:
- One fix, needed to run on a current PyTorch: upstream computes ``G_loss`` from the same ``prob_artist1`` as
  ``D_loss`` and calls ``G_loss.backward()`` after ``opt_D.step()``; since PyTorch 1.5 the optimizers update D's
  weights in place and that backward raises "one of the variables needed for gradient computation has been modified
  by an inplace operation" (under torch 0.4, which the file names, the update went through ``p.data`` and the
  backward silently used the new weights).  Here ``G_loss`` is ``torch.mean(torch.log(1. - D(D_inputs1)))`` with
  ``prob_artist1`` recomputed by the updated D just before ``opt_G.zero_grad()``; everything else in the step is
  upstream's.  (The unconditional 406_GAN.py was fixed upstream by reordering its step instead: G first, then D on
  ``G_paintings.detach()``; that reordering was not copied here.)
- Offline on one CPU thread: no matplotlib (upstream plots every 200th step; "D accuracy" = mean D(artist) and "D
  score" = -D_loss are recorded as extras); ``torch.manual_seed(seed)`` and ``np.random.seed(seed)`` (upstream has
  both commented out: "# reproducible"); the loop is the body of ``train`` and the variants' switches are its
  keywords.  4000 steps instead of upstream's 10000, to fit the time a run may take on the shared 2-core
  machine (a 4000-step run took 16-19 s): in the healthy seed-1 run D accuracy was 0.50 and D score -1.38 (upstream's
  marks of convergence) from about step 3000 on, and the distance below had fallen from 4.7 to ~0.3-0.4.

The watch, as a user would: two monitors, ``mon_d = gradmedic.watch(D, opt_D, every=10)`` and ``mon_g =
gradmedic.watch(G, opt_G, every=10)`` right after the optimizers are built; ``mon_d.step(D_loss)`` right after
``D_loss.backward(retain_graph=True)``, before ``opt_D.step()``; ``mon_g.step(G_loss)`` right after
``G_loss.backward()``, before ``opt_G.step()``; both closed after the loop.  Saved as two parts, ``disc`` first, then
``gen`` (as mzgan.py).

Outcome: metric ``frechet_15`` as in mzgan.py, made conditional: 4000 artist paintings (a from a RandomState seeded
12345, the same for every run) with their class labels; G paints 4000 ideas (from a generator seeded apart from
training) with those same labels; the Frechet distance (the square root of dcgan.py's ``frechet``, in the paintings'
units) is taken per class, generated class-c paintings against the artist's class-c paintings, and the two are
averaged, so a painter that ignores its label is penalized.  Measured every 100 steps, the outcome is the mean of the
last 10 measurements.  Lower is better; run.py labels it by its loss rules (a good outcome is at most 0.7x the
untrained generator's distance; broken when over twice its control's).  For the paintings-x100 variant the
generated paintings are divided by 100 before the distance.  Extras: the untrained distance, the last 20 steps' mean
D(artist) ("D accuracy"), D(G(z)), -D_loss ("D score"), G_loss, the fraction of generated points inside their
class's bounds (x^2 + [0, 0.5] and 2 x^2 + 1 + [0, 0.5] as upstream's plot draws them: lower x^2 .. 2 x^2 + 0.5,
upper x^2 + 0.5 .. 2 x^2 + 1) and the mean fitted a per class (the artist's: 1.25 and 1.75).

``CASES`` (program "mzcgan"): the program on seeds 1-3, and one change each against the same seed's healthy run:
LR_D x100 only; both learning rates x10 and x100 (seeds 1 and 2), /1000; the artist's paintings in units 100x
larger (D's real inputs up to ~300; cause unscaled_inputs); ``nn.init.normal_(std=1.0)`` on G's Linear weights
(init_large); G's weights and biases all zero (symmetric_init); ``opt_G.zero_grad()`` left out (G's gradients
accumulate); and the "non-saturating" generator loss ``-torch.mean(torch.log(prob_artist1))`` (expected harmless,
cause healthy).  Labels come from run.py's outcome rules only.

Recorded (cases-public57, 14 cases in ~300 s with alpfc's 13; 11-23 s of training a run on the shared 2-core
machine): healthy distance 0.378, 0.498 and 0.505 on seeds 1-3 from the untrained generator's 4.75, 5.00 and 4.44
(D accuracy 0.50, D score -1.38 to -1.39, 95-96% of the generated points inside their class's bounds, fitted a
1.18-1.20 for the lower class and 1.80-1.83 for the upper).  Healthy: the non-saturating G loss, 0.496.  Ambiguous:
both rates x10 on seed 2, 0.993 (1.99x its control, just under the 2x of the broken rule; D(x) 0.52, 95% in bounds).
Broken: LR_D x100, 1.40 (D ahead: D(x) 0.95, D(G(z)) 0.05; 75% in bounds; the classes barely apart, fitted a 1.48
and 1.61); both rates x10 on seed 1, 1.02 (D(x) 0.55); x100, NaN on seeds 1 and 2; /1000, 4.74 (nothing learned);
the paintings x100, 4.67 (D wins outright, D(x) 1.00, G stays a flat line, 3% in bounds); G's weights N(0, 1), NaN
(untrained distance 75); G all zeros, 3.86 (one painting for every idea and both classes: fitted a 0.84 for both;
D(x) 0.99); ``opt_G.zero_grad()`` left out, 2.94 (D(x) 0.79, 33% in bounds).  In all: 4 healthy (3 programs, 1
variant), 10 broken, 1 ambiguous.
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
MONITOR_AT = ("two monitors built right after the optimizers: D's (watch(D, opt_D, every=10)) stepped with D_loss right "
              "after D_loss.backward(retain_graph=True), before opt_D.step(); G's (watch(G, opt_G, every=10)) stepped "
              "with G_loss right after G_loss.backward(), before opt_G.step(); D's step comes first in each iteration "
              "(upstream's order)")

# Hyper Parameters
BATCH_SIZE = 64
LR_G = 0.0001           # learning rate for generator
LR_D = 0.0001           # learning rate for discriminator
N_IDEAS = 5             # think of this as number of ideas for generating an art work (Generator)
ART_COMPONENTS = 15     # it could be total point G can draw in the canvas
PAINT_POINTS = np.vstack([np.linspace(-1, 1, ART_COMPONENTS) for _ in range(BATCH_SIZE)])
STEPS = 4000  # upstream: 10000 (see the docstring)


def artist_works_with_labels():     # painting from the famous artist (real target)
    a = np.random.uniform(1, 2, size=BATCH_SIZE)[:, np.newaxis]
    paintings = a * np.power(PAINT_POINTS, 2) + (a-1)
    labels = (a-1) > 0.5            # upper paintings (1), lower paintings (0), two classes
    paintings = torch.from_numpy(paintings).float()
    labels = torch.from_numpy(labels.astype(np.float32))
    return paintings, labels


def _reference(n=4000):
    """n artist paintings and their labels, the same for every run (a from RandomState(12345))."""
    a = np.random.RandomState(12345).uniform(1, 2, size=n)[:, np.newaxis]
    x = PAINT_POINTS[0][np.newaxis, :]
    return a * np.power(x, 2) + (a - 1), ((a - 1) > 0.5)[:, 0]


def _fit_a(p):
    """The a of a * x^2 + (a - 1) = a (x^2 + 1) - 1 fitted to each painting by least squares."""
    u = np.power(PAINT_POINTS[0], 2) + 1
    return (p + 1) @ u / (u @ u)


def train(seed: int = 1, lr_mult: float = 1.0, lr_mult_d: float = 1.0, art_scale: float = 1.0, g_loss: str = "upstream",
          g_init_std: float | None = None, zero_g: bool = False, zero_grad_g: bool = True, steps: int = STEPS,
          every: int = 10, verbose: bool = False) -> dict:
    """``lr_mult``: both rates times this; ``lr_mult_d``: LR_D only; ``art_scale``: the artist's paintings times this;
    ``g_loss``: "upstream" (mean log(1 - D(G(z)))), "nonsat" (-mean log D(G(z))); ``g_init_std``: normal_(0, std)
    on G's Linear weights; ``zero_g``: G's weights and biases zeros; ``zero_grad_g=False``: opt_G.zero_grad() left
    out."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)    # reproducible (commented out upstream)
    np.random.seed(seed)

    G = nn.Sequential(                      # Generator
        nn.Linear(N_IDEAS+1, 128),          # random ideas (could from normal distribution) + class label
        nn.ReLU(),
        nn.Linear(128, ART_COMPONENTS),     # making a painting from these random ideas
    )

    D = nn.Sequential(                      # Discriminator
        nn.Linear(ART_COMPONENTS+1, 128),   # receive art work either from the famous artist or a newbie like G with label
        nn.ReLU(),
        nn.Linear(128, 1),
        nn.Sigmoid(),                       # tell the probability that the art work is made by artist
    )
    with torch.no_grad():  # the variants' inits (none upstream)
        if g_init_std is not None:
            for m in G.modules():
                if isinstance(m, nn.Linear):
                    m.weight.normal_(0.0, g_init_std)
        if zero_g:
            for p in G.parameters():
                p.zero_()

    opt_D = torch.optim.Adam(D.parameters(), lr=LR_D * lr_mult * lr_mult_d)
    opt_G = torch.optim.Adam(G.parameters(), lr=LR_G * lr_mult)
    mon_d = gradmedic.watch(D, opt_D, every=every)  # gradmedic
    mon_g = gradmedic.watch(G, opt_G, every=every)  # gradmedic

    ref, ref_lab = _reference()
    g_eval = torch.Generator().manual_seed(1000 + seed)
    eval_inputs = torch.cat((torch.randn(4000, N_IDEAS, generator=g_eval),
                             torch.from_numpy(ref_lab.astype(np.float32))[:, None]), 1)

    def sample():
        with torch.no_grad():
            return G(eval_inputs).double().numpy() / art_scale

    def fd(p):  # per class, the square root of dcgan.py's (FID's) squared distance; the mean of the two classes
        if not np.isfinite(p).all():
            return float("nan")
        with warnings.catch_warnings():  # sqrtm of a singular product: the artist's covariance has rank one
            warnings.simplefilter("ignore")
            return float(np.mean([np.sqrt(max(frechet(p[ref_lab == c], ref[ref_lab == c]), 0.0)) for c in (0, 1)]))

    fd_start = fd(sample())
    fd_curve = []  # the distance every 100 steps; the outcome is the mean of the last 10
    rec = {"D_x": [], "D_G_z1": [], "D_score": [], "G_loss": []}
    t0 = time.time()
    for step in range(steps):
        artist_paintings, labels = artist_works_with_labels()           # real painting, label from artist
        artist_paintings = artist_paintings * art_scale                  # the unscaled_inputs variant (1 upstream)
        G_ideas = torch.randn(BATCH_SIZE, N_IDEAS)                      # random ideas
        G_inputs = torch.cat((G_ideas, labels), 1)                      # ideas with labels
        G_paintings = G(G_inputs)                                       # fake painting w.r.t label from G

        D_inputs0 = torch.cat((artist_paintings, labels), 1)            # all have their labels
        D_inputs1 = torch.cat((G_paintings, labels), 1)
        prob_artist0 = D(D_inputs0)                 # D try to increase this prob
        prob_artist1 = D(D_inputs1)                 # D try to reduce this prob

        D_score0 = torch.log(prob_artist0)          # maximise this for D
        D_score1 = torch.log(1. - prob_artist1)     # maximise this for D
        D_loss = - torch.mean(D_score0 + D_score1)  # minimise the negative of both two above for D

        opt_D.zero_grad()
        D_loss.backward(retain_graph=True)      # reusing computational graph
        mon_d.step(D_loss)  # gradmedic
        opt_D.step()

        # the fix (see the docstring): D(D_inputs1) again, by the updated D, for G's loss
        prob_g = D(D_inputs1)
        if g_loss == "nonsat":  # the "non-saturating" generator loss of the GAN paper
            G_loss = -torch.mean(torch.log(prob_g))
        else:
            G_loss = torch.mean(torch.log(1. - prob_g))  # minimise D score w.r.t G

        if zero_grad_g:  # the no_zero_grad variant leaves this out
            opt_G.zero_grad()
        G_loss.backward()
        mon_g.step(G_loss)  # gradmedic
        opt_G.step()

        rec["D_x"].append(prob_artist0.data.numpy().mean())
        rec["D_G_z1"].append(prob_artist1.data.numpy().mean())
        rec["D_score"].append(-D_loss.item())
        rec["G_loss"].append(G_loss.item())
        if step % 100 == 99:
            fd_curve.append(fd(sample()))
        if verbose and (step % 500 == 0 or step == steps - 1):  # upstream plots every 200 steps
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
        lo = x2 + 0.5 * ref_lab[:, None]
        hi = 2 * x2 + 0.5 + 0.5 * ref_lab[:, None]
        extra.update(in_bounds=float(((p >= lo - 1e-6) & (p <= hi + 1e-6)).mean()),
                     fitted_a_lower=float(a[~ref_lab].mean()), fitted_a_upper=float(a[ref_lab].mean()))
    if verbose:
        print(f"Frechet {value:.4g} (untrained {fd_start:.4g}); {extra}")
    return {"monitors": {"disc": mon_d, "gen": mon_g}, "metric": "frechet_15",
            "value": float(value) if np.isfinite(value) else float("nan"), "initial": float(fd_start),
            "chance": float(fd_start), "initial_what": "untrained generator's Frechet distance", "extra": extra,
            "seconds": seconds}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="mzcgan", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"mzcgan_healthy_s{s}", "healthy", s, {}, "unchanged (G 6-128-15 ReLU, D 16-128-1 ReLU Sigmoid, the class "
           "label concatenated to G's ideas and to D's paintings, both Adam lr 1e-4, D step then G step, G_loss mean "
           f"log(1 - D(G(z|y)|y)), batch 64, {STEPS} steps)", False) for s in (1, 2, 3)]
    + [_case("mzcgan_d_lr_x100_s1", "lr_high", 1, {"lr_mult_d": 100}, "LR_D x100 (0.01), LR_G unchanged")]
    + [_case(f"mzcgan_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"LR_G and LR_D x{k} ({1e-4 * k:g})")
       for k in (10, 100) for s in (1, 2)]
    + [_case("mzcgan_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "LR_G and LR_D /1000 (1e-07)")]
    + [_case("mzcgan_paint_x100_s1", "unscaled_inputs", 1, {"art_scale": 100.0},
             "the artist's paintings in units 100x larger (100 a x^2 + 100 (a - 1), up to 300) as D's real inputs; the "
             "generated paintings are divided by 100 for the outcome")]
    + [_case("mzcgan_g_init_std1_s1", "init_large", 1, {"g_init_std": 1.0},
             "nn.init.normal_(std=1.0) on G's two Linear weights instead of PyTorch's default (kaiming_uniform_, "
             "a=sqrt(5)); biases and D kept")]
    + [_case("mzcgan_zero_g_s1", "symmetric_init", 1, {"zero_g": True},
             "nn.init.zeros_ on every weight and bias of G (both Linear layers)")]
    + [_case("mzcgan_no_zero_grad_g_s1", "no_zero_grad", 1, {"zero_grad_g": False},
             "opt_G.zero_grad() left out: G's gradients accumulate (opt_D.zero_grad() kept)")]
    + [_case("mzcgan_g_loss_nonsat_s1", "healthy", 1, {"g_loss": "nonsat"},
             "G_loss = -torch.mean(torch.log(prob_artist1)), the non-saturating generator loss, instead of "
             "torch.mean(torch.log(1. - prob_artist1))")]
)


if __name__ == "__main__":
    import ast
    import sys

    kw = {k: ast.literal_eval(v) for k, v in (a.split("=") for a in sys.argv[1:])}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
