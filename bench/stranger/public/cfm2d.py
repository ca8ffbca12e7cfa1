"""Conditional flow matching (I-CFM) from 8 Gaussians to the moons, torchcfm's 2-D tutorial, watched by gradmedic.

Adapted from https://github.com/atong01/conditional-flow-matching (commit cacd4dc8a5b6f50de63780e8f73754c9371f15db;
MIT License, Copyright (c) 2023 Alexander Tong, see LICENSE-cfm2d): examples/2D_tutorials/Flow_matching_tutorial.ipynb,
its first training cell (independent CFM, 8 Gaussians -> moons), with ``MLP`` from torchcfm/models/models.py,
``eight_normal_sample``/``sample_8gaussians``/``sample_moons`` from torchcfm/utils.py and the ``generate_moons`` that
utils.py imports from torchdyn (DiffEqML/torchdyn 95cc74b0e35330b03d2cd4d875df362a93e1b5ea, torchdyn/datasets/
static_datasets.py: the two half circles, both coordinates shifted by one U(0, noise) draw per point), all copied
below.  (The repository's tutorial_training_8_gaussians_to_moons.ipynb is absent from the snapshot; the tutorial
notebook trains the same program.)  Kept as in the notebook: ``MLP(dim=2, time_varying=True)`` (w=64: Linear(3, 64),
SELU, Linear(64, 64), SELU, Linear(64, 64), SELU, Linear(64, 2); PyTorch's default inits),
``torch.optim.Adam(model.parameters())`` (lr 1e-3), batch 256, and the loop: ``optimizer.zero_grad()``, x0 from
``sample_8gaussians``, x1 from ``sample_moons``, ``t = torch.rand``, ``xt = sample_conditional_pt(x0, x1, t,
sigma=0.01)`` (the notebook sets ``sigma = 0.1`` and passes 0.01; 0.01 is what runs), ``ut = x1 - x0``
(``compute_conditional_vector_field``), ``vt = model(torch.cat([xt, t[:, None]], dim=-1))``, ``loss =
torch.mean((vt - ut) ** 2)``, ``loss.backward()``, ``optimizer.step()``; no clipping, no schedule.  The notebook's
own ``sample_conditional_pt`` and ``compute_conditional_vector_field`` are used (the same numbers as torchcfm's
``ConditionalFlowMatcher(sigma=0.01).sample_location_and_conditional_flow``); the OT-CFM cell that follows it in
the notebook needs the POT package and is not ported.

Changed to run offline on one CPU thread in ~10-20 s: STEPS = 3000 steps instead of 20000 (2000 steps take ~7 s
and give a Chamfer distance of 0.185, 3000 steps 0.153, 4000 steps 0.138 in 14.5 s); ``torch.manual_seed(seed)``
and ``np.random.seed(seed)`` (upstream does not seed; ``generate_moons`` draws from numpy's global stream);
``eight_normal_sample`` gathers ``centers[multi] + noise`` at once instead of its per-point Python loop (the same
numbers); the progress print every 500 steps and only with ``verbose`` (upstream: every 5000, with a dopri5
``NeuralODE`` trajectory and a plot); no torchdyn, matplotlib, POT or model directory.
Metric "chamfer" (added; the flow-matching loss has a large irreducible part - 16.8 over the first 5 steps, ~9.0
at the end - so the samples are what says whether the program works): 1000 prior points from ``sample_8gaussians``
and 1000 moons points from ``sample_moons``, drawn once with seed 12345 (the same for every run; the global random
states put back), the prior points carried to t = 1 by 100 Euler steps of dx = v_theta([x, t]) dt, and the mean of
"precision" (mean distance from each sample to its nearest moons point) and "coverage" (mean distance from each
moons point to its nearest sample); NaN when a sample is not finite.  For reference: 1000 fresh moons points
score 0.049 against the fixed ones, the prior points themselves 1.55.  ``initial`` is the same number for the
untrained model; ``extra`` holds both halves and the training losses.

Knobs (one per variant): ``lr_mult`` scales Adam's rate; ``data_scale`` multiplies the moons points x1 (so the
target ut = x1 - x0 and, as t grows, the input xt; the samples are divided by it for the metric); ``init_std``
draws every Linear weight from N(0, init_std) (biases kept); ``zero_grad=False`` leaves ``optimizer.zero_grad()``
out; ``batch`` and ``width`` replace 256 and 64.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the Adam is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the loop.

``CASES`` (program "cfm2d"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10, x100 (seeds 1 and 2), x1000, /1000; the moons x100 (seeds 1 and 2; cause "unscaled_target": the
regression target ut = x1 - x0 is in the hundreds at every t, while the input xt is only at large t - at t = 0 it
is the unscaled prior point - so the target is what the change puts off scale) and x1000 (added after x100 came
out ambiguous on both seeds); N(0, 1) Linear weights (seeds 1 and 2); ``optimizer.zero_grad()`` left out (seeds
1 and 2); and two changes expected harmless, batch 512 and w=128 (cause "healthy").  The time input left out (the
brief's wrong-model bug) is not a case: no cause of causes.py names it.  Labels come from run.py's outcome rules
only.
Recorded (cases-public113; 17 runs, 8-19 s each on the shared machine, 268 s in all): healthy Chamfer distance
0.153, 0.148, 0.147 on seeds 1-3 (untrained 1.48, 1.60, 1.57; precision 0.205-0.217, coverage 0.086-0.091;
training loss 16.6-16.8 over the first 5 steps -> 8.9-9.1 over the last 20, largest 18.1-19.1, every loss
finite): healthy.  lr x10 (0.01): 0.133: healthy; lr x100 (0.1): first-5 mean 310, largest 906 and 1158,
training loss 10.1 and 10.0, 0.329 (seed 1): broken and 0.279 (seed 2; under 2x its control 0.148): ambiguous;
lr x1000 (1): first-5 mean 8e8, largest 3.2e9, training loss 17.3, 1.524 (untrained 1.48): broken; lr /1000
(1e-6): training loss 15.8, 0.957: broken; moons x100: training loss 4.7e4 -> 1.3e3 and 1.4e3, 0.181 (seed 1,
precision 0.110, coverage 0.251) and 0.216 (seed 2): ambiguous (worse, not twice the control); moons x1000:
4.7e6 -> 2.6e5, 0.409: broken; N(0, 1) weights: first losses 3.9e5 and 7.9e5, training loss 58 and 92, the
untrained samples 2.6e17 away (seed 1) and overflowing (seed 2: ``initial`` NaN), after training 1.4e5 and 2.4e16
(precision huge, coverage 0.60 and 0.76): broken; zero_grad left out: the loss rises to 190 and 336 (largest 415,
806), 14.2 (seed 1) and NaN (seed 2: samples not finite, every training loss finite): broken; batch 512: 0.125:
healthy; w=128: 0.138: healthy.  Labels: 6 healthy (3 programs, lr x10, batch 512, w=128), 8 broken (lr x100 on
seed 1, x1000, /1000, moons x1000, N(0, 1) twice, zero_grad twice), 3 ambiguous (lr x100 on seed 2, moons x100
twice).  Every run's training losses were finite.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = torch.optim.Adam(model.parameters()); "
              "monitor.step(loss) right after loss.backward() (the mean squared error between v_theta(xt, t) and "
              "ut = x1 - x0), before optimizer.step() (optimizer.zero_grad() opens each step, the notebook's order)")

sigma = 0.01  # the notebook sets sigma = 0.1 but calls sample_conditional_pt(x0, x1, t, sigma=0.01)
dim = 2
batch_size = 256
LEARNING_RATE = 1e-3  # torch.optim.Adam's default, the notebook passes none
STEPS = 3000  # upstream: 20000
EVAL_N = 1000
EVAL_STEPS = 100


# ---- torchcfm/models/models.py -------------------------------------------------------------------------------------
class MLP(torch.nn.Module):
    def __init__(self, dim, out_dim=None, w=64, time_varying=False):
        super().__init__()
        self.time_varying = time_varying
        if out_dim is None:
            out_dim = dim
        self.net = torch.nn.Sequential(
            torch.nn.Linear(dim + (1 if time_varying else 0), w),
            torch.nn.SELU(),
            torch.nn.Linear(w, w),
            torch.nn.SELU(),
            torch.nn.Linear(w, w),
            torch.nn.SELU(),
            torch.nn.Linear(w, out_dim),
        )

    def forward(self, x):
        return self.net(x)


# ---- torchcfm/utils.py (and torchdyn's generate_moons, which it imports) -------------------------------------------
def eight_normal_sample(n, dim, scale=1, var=1):
    m = torch.distributions.multivariate_normal.MultivariateNormal(
        torch.zeros(dim), math.sqrt(var) * torch.eye(dim)
    )
    centers = [
        (1, 0),
        (-1, 0),
        (0, 1),
        (0, -1),
        (1.0 / np.sqrt(2), 1.0 / np.sqrt(2)),
        (1.0 / np.sqrt(2), -1.0 / np.sqrt(2)),
        (-1.0 / np.sqrt(2), 1.0 / np.sqrt(2)),
        (-1.0 / np.sqrt(2), -1.0 / np.sqrt(2)),
    ]
    centers = torch.tensor(centers) * scale
    noise = m.sample((n,))
    multi = torch.multinomial(torch.ones(8), n, replacement=True)
    # upstream: a Python loop, data.append(centers[multi[i]] + noise[i]) for each i, then torch.stack (the same numbers)
    data = centers[multi] + noise
    return data


def generate_moons(n_samples=100, noise=1e-4):
    """torchdyn.datasets.generate_moons (DiffEqML/torchdyn 95cc74b0e35330b03d2cd4d875df362a93e1b5ea), the points only."""
    n_samples_out = n_samples // 2
    n_samples_in = n_samples - n_samples_out
    outer_circ_x = np.cos(np.linspace(0, np.pi, n_samples_out))
    outer_circ_y = np.sin(np.linspace(0, np.pi, n_samples_out))
    inner_circ_x = 1 - np.cos(np.linspace(0, np.pi, n_samples_in))
    inner_circ_y = 1 - np.sin(np.linspace(0, np.pi, n_samples_in)) - .5

    X = np.vstack([np.append(outer_circ_x, inner_circ_x),
                   np.append(outer_circ_y, inner_circ_y)]).T
    if noise is not None:
        X += np.random.rand(n_samples, 1) * noise
    return torch.Tensor(X), None  # upstream: also the labels y


def sample_moons(n):
    x0, _ = generate_moons(n, noise=0.2)
    return x0 * 3 - 1


def sample_8gaussians(n):
    return eight_normal_sample(n, 2, scale=5, var=0.1).float()


# ---- the notebook (examples/2D_tutorials/Flow_matching_tutorial.ipynb) ---------------------------------------------
def sample_conditional_pt(x0, x1, t, sigma):
    """Draw a sample from the probability path N(t * x1 + (1 - t) * x0, sigma), see (Eq.14) [1]."""
    t = t.reshape(-1, *([1] * (x0.dim() - 1)))
    mu_t = t * x1 + (1 - t) * x0
    epsilon = torch.randn_like(x0)
    return mu_t + sigma * epsilon


def compute_conditional_vector_field(x0, x1):
    """Compute the conditional vector field ut(x1|x0) = x1 - x0, see Eq.(15) [1]."""
    return x1 - x0


# ---- evaluation (added) --------------------------------------------------------------------------------------------
def eval_sets():
    """1000 prior points and 1000 moons points, the same for every run (torch and numpy seeds 12345, their global
    states put back)."""
    state = np.random.get_state()
    with torch.random.fork_rng():
        torch.manual_seed(12345)
        np.random.seed(12345)
        z = sample_8gaussians(EVAL_N)
        data = sample_moons(EVAL_N)
    np.random.set_state(state)
    return z, data


@torch.no_grad()
def generate(model, z, time_varying=True):
    """Euler integration of dx = v_theta(x, t) dt from t = 0 to 1 in EVAL_STEPS steps (the notebook plots a dopri5
    NeuralODE trajectory through torch_wrapper; the same concatenation [x, t] here)."""
    x = z.clone()
    dt = 1.0 / EVAL_STEPS
    for k in range(EVAL_STEPS):
        t = torch.full((x.shape[0], 1), k * dt)
        x = x + dt * model(torch.cat([x, t], 1) if time_varying else x)
    return x


def sample_distances(samples, data):
    """(precision, coverage): the mean distance from each sample to its nearest data point, and from each data point
    to its nearest sample (NaN when a sample is not finite)."""
    if not torch.isfinite(samples).all():
        return float("nan"), float("nan")
    d = torch.cdist(samples.double(), data.double())
    return float(d.min(1).values.mean()), float(d.min(0).values.mean())


def train(seed: int = 1, lr_mult: float = 1.0, data_scale: float = 1.0, init_std: float | None = None,
          zero_grad: bool = True, batch: int = batch_size, width: int = 64, steps: int = STEPS,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)  # upstream: not seeded
    np.random.seed(seed)
    t_start = time.time()
    z_eval, data_eval = eval_sets()

    model = MLP(dim=dim, w=width, time_varying=True)  # upstream: w=64 (the default)
    if init_std is not None:  # the init_large variant: N(0, init_std) on every Linear weight (biases kept)
        for m in model.modules():
            if isinstance(m, torch.nn.Linear):
                torch.nn.init.normal_(m.weight, std=init_std)
    lr = LEARNING_RATE * lr_mult
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)  # upstream: torch.optim.Adam(model.parameters())
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    initial_prec, initial_cov = sample_distances(generate(model, z_eval) / data_scale, data_eval)
    initial = (initial_prec + initial_cov) / 2

    losses = []
    start = time.time()
    for k in range(steps):  # upstream: range(20000)
        if zero_grad:  # the no_zero_grad variant leaves this out
            optimizer.zero_grad()

        x0 = sample_8gaussians(batch)
        x1 = sample_moons(batch) * data_scale  # the unscaled_target variant: the moons x100

        t = torch.rand(x0.shape[0]).type_as(x0)
        xt = sample_conditional_pt(x0, x1, t, sigma=0.01)
        ut = compute_conditional_vector_field(x0, x1)

        vt = model(torch.cat([xt, t[:, None]], dim=-1))
        loss = torch.mean((vt - ut) ** 2)

        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()
        losses.append(float(loss.detach()))

        if verbose and (k + 1) % 500 == 0:  # upstream: every 5000 steps, with a trajectory plot
            end = time.time()
            print(f"{k+1}: loss {loss.item():0.3f} time {(end - start):0.2f}")
            start = end
    monitor.close()

    precision, coverage = sample_distances(generate(model, z_eval) / data_scale, data_eval)
    value = (precision + coverage) / 2
    la = np.asarray(losses)
    return {"monitors": {"": monitor}, "metric": "chamfer", "value": value,
            "initial": initial, "initial_what": "untrained: the same Chamfer distance for its 1000 samples",
            "chance": initial,
            "extra": {"precision": precision, "coverage": coverage, "initial_precision": initial_prec,
                      "initial_coverage": initial_cov, "train_loss": float(np.mean(la[-20:])),
                      "first_loss": float(np.mean(la[:5])),
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "steps": steps, "lr": lr, "lr_mult": lr_mult,
                      "data_scale": data_scale, "init_std": -1.0 if init_std is None else init_std,
                      "zero_grad": zero_grad, "batch_size": batch, "width": width},
            "seconds": time.time() - t_start}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="cfm2d", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"torchcfm I-CFM, 8 Gaussians to moons (MLP w=64, 3 SELU hidden layers, input [xt, t]; sigma {sigma:g}; Adam lr "
      f"{LEARNING_RATE:g}, batch {batch_size}, {STEPS} steps)")
CASES: list[dict] = (
    [_case(f"cfm2d_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"cfm2d_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({LEARNING_RATE * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("cfm2d_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3},
             f"{_P}: Adam lr /1000 ({LEARNING_RATE * 1e-3:g})")]
    + [_case(f"cfm2d_moons_x100_s{s}", "unscaled_target", s, {"data_scale": 100.0},
             f"{_P}: the moons points x1 multiplied by 100 (the regression target ut = x1 - x0 in the hundreds, and "
             f"xt with it as t grows); the samples divided by 100 for the metric") for s in (1, 2)]
    + [_case("cfm2d_moons_x1000_s1", "unscaled_target", 1, {"data_scale": 1000.0},
             f"{_P}: the moons points x1 multiplied by 1000 (added after x100 came out ambiguous on both seeds); the "
             f"samples divided by 1000 for the metric")]
    + [_case(f"cfm2d_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every Linear weight instead of PyTorch's default "
             f"U(+-1/sqrt(fan_in)) (biases kept)") for s in (1, 2)]
    + [_case(f"cfm2d_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)") for s in (1, 2)]
    + [_case("cfm2d_batch512_s1", "healthy", 1, {"batch": 512},
             f"{_P}: batch 512 instead of 256 (expected harmless)")]
    + [_case("cfm2d_width128_s1", "healthy", 1, {"width": 128},
             f"{_P}: MLP w=128 instead of 64 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
