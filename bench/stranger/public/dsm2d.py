"""A noise-conditional score network trained by sigma-weighted denoising score matching on 2-D toy data, watched by gradmedic.

Adapted from https://github.com/Zenchiyu/deep-learning-implementations (commit bc64684b472c744f7e0062b93128ad32cce643c1;
the files last changed in 12d9e1e765396fcb3dd7ae7c95098f1aea057da3; MIT License, Copyright (c) 2023 Nguyen Stephane
Liem, see LICENSE-dsm2d): score-based-generative-modelling/noise-conditional-score-network-mlp.py (an NCSN after Song
and Ermon 2019 with an MLP on a 2-D toy distribution) and the ``ToyGen`` dataset of
score-based-generative-modelling/toy_distributions_generative_modelling.py, both copied below.  Kept as upstream:
``NoiseConditionalScoreNetwork(input_dim=2)`` (Linear(3, 128), Softplus, Linear(128, 128), Softplus, Linear(128, 2),
the noise level std appended to x as a third input; PyTorch's default inits), the data (``ToyGen(10_000, f_inv)``:
N(0, I) points moved by ``f_inv = x + [sign(x_0), 0]``, two half-Gaussians 2 apart; upstream's own generated data,
in upstream's units: no scaling), the geometric noise levels (std_1 = 5, std_L = 0.01, L = 10, decreasing), the loss
of ``train_ncsn`` (for every std: ``X_noisy = X + torch.normal(0, std, X.shape)``, ``l = 0.5*(y_hat +
(X_noisy-X)/std**2).pow(2).mean()``, ``loss += std**2 * l``; then ``loss /= len(stds)``: the lambda(sigma) =
sigma^2-weighted DSM objective), ``optim.Adam(model.parameters(), lr=1e-4)``, batch 128 of a shuffled DataLoader,
the loop (``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``), and ``sample`` (annealed Langevin
dynamics, eps = 1e-4, T = 100 steps per level, from U(-1.5, 1.5)^2 as ``hypercube_len=3``).

Changed to run offline on one CPU thread in ~10-30 s: NB_EPOCHS = 12 epochs of 79 batches (948 steps) instead of
upstream's nb_epochs = 1000 (79000 steps); ``num_workers=0`` and no pin_memory (upstream: 4 workers, pinned);
``torch.manual_seed(seed)`` (upstream does not seed); no tqdm, no plots.  The monitor's every=10.

Metric "dsm_loss" (added): the same sigma-weighted DSM loss (every std, weight std**2, mean over the 10 levels) at the
final parameters on 2000 held-out ``ToyGen`` points with their noise for every level drawn once with seed 12345 (the
same draws for every run and seed; the global random state put back); lower is better; ``initial`` is the same
number for the untrained model.  The loss has an irreducible part (the noise the score cannot predict at the large
levels), so a perfect score network is not at 0.  ``extra["sample_dist"]``: 1000 samples by upstream's ``sample``
(started from fixed draws), their mean distance to the nearest of the 2000 held-out points (NaN when a sample is
not finite); also ``initial_sample_dist`` for the untrained model.

Knobs (one per variant): ``lr_mult`` scales Adam's rate; ``data_scale`` multiplies the data X (training and held-out;
the DSM target -(X_noisy-X)/std**2 is unchanged, only the input is off scale); ``init_std`` draws every Linear weight
from N(0, init_std) (biases kept); ``zero_grad=False`` leaves ``optimizer.zero_grad()`` out; ``weighting=False``
leaves the ``w = std**2`` weighting out (``loss += l``; the held-out metric stays the weighted one); ``batch_size``
replaces 128.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the
loop.

``CASES`` (program "dsm2d"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10, x100 (seeds 1 and 2), x1000, x10000 (added after x100 and x1000 came out
ambiguous), /1000; the data x100 (unscaled_inputs); N(0, 1) Linear weights (seeds 1
and 2); ``optimizer.zero_grad()`` left out; the std**2 weighting left out (seeds 1 and 2; cause "unscaled_target":
the regression target -(X_noisy-X)/std**2 = -z/std is up to 100x the unit-noise target at std 0.01 and the
unweighted loss sums it unscaled); and two changes expected harmless, lr x2 (cause "lr_high") and batch 64 (cause
"healthy").  Labels come from run.py's outcome rules only.
Recorded (cases-public191; 17 runs, 13-29 s each on the shared machine, 384 s for the first 16): healthy
held-out DSM loss 0.3887, 0.3888, 0.3915 on seeds 1-3 (untrained 0.7307, 0.7358, 0.7480; training loss 0.64-0.68 over
the first 5 steps -> 0.387-0.395 over the last 20, largest 0.73-0.76, every loss finite; sample_dist 0.43, 0.43,
0.49; the untrained network's samples are not finite - upstream's sampler steps alpha = 25 at std 5 - so
initial_sample_dist is NaN or inf): healthy.  lr x10 (1e-3): 0.3826 (sample_dist 0.29): healthy; lr x100 (0.01):
first-5 mean 6.8 and 5.9, largest 23.3 and 19.9, 0.3833 and 0.3849 (sample_dist 0.30): ambiguous (a good outcome,
but the largest loss over 2x the control's); lr x1000 (0.1): first-5 mean 3853, largest 1.9e4, 0.4975 (sample_dist
70): ambiguous; lr x10000 (1): first-5 mean 1.7e8, largest 8.3e8, training loss 6.05, 5.85 (sample_dist 3442):
broken; lr /1000 (1e-7): training loss 0.696, 0.691: broken; data x100: first-5 mean 180, largest 241, training
loss 0.507, 0.5073 (held-out points x100 as well; untrained 227.4; sample_dist 0.38 in the data's units):
ambiguous; N(0, 1) weights: first-5 mean 1.9e5 and 2.7e5, 2667 and 1497 (training loss 2579 and 1570; samples not
finite): broken (seeds 1 and 2); optimizer.zero_grad() left out: largest 1.77, 0.4857 (sample_dist 111): ambiguous;
the std**2 weighting left out: training loss (unweighted) 631 -> 661 and 660 -> 672, held-out weighted loss 0.9103
and 0.8561 (above the untrained 0.73): broken (seeds 1 and 2); lr x2: 0.3879: healthy; batch 64 (1896 steps):
0.3876: healthy.  Labels: 7 healthy (3 programs, 4 variants), 6 broken, 4 ambiguous; no non-finite training loss.
The held-out loss has a floor near 0.38 here (the noise at the large levels cannot be predicted), so a change that
still trains ends within 2x of the control; lr x10 and x100 give better samples than the healthy 948 steps (upstream
trains 79000).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import DataLoader, Dataset

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = optim.Adam(model.parameters(), lr=1e-4); "
              "monitor.step(loss) right after loss.backward() (the std**2-weighted DSM loss summed over the 10 noise "
              "levels and divided by 10, batch 128), before optimizer.step() (optimizer.zero_grad() comes after the "
              "loss and before the backward, upstream's order)")

N_train = 10_000
NB_EPOCHS = 12  # upstream: nb_epochs = 1000
LR = 1e-4
BATCH_SIZE = 128
std_1, std_L, L = 5, 0.01, 10
EPS, T = 1e-4, 100


class ToyGen(Dataset):
    def __init__(self, nb: int, f_inv: callable, generator=None) -> None:
        super().__init__()
        # 2D Gaussian
        Z = torch.normal(0, 1, size=(nb, 2), generator=generator)  # upstream: no generator (the held-out set has one)
        self.nb = nb
        self.f_inv = f_inv
        self.X = self.f_inv(Z)

    def __len__(self) -> int:
        return self.nb

    def __getitem__(self, index: int) -> tuple[torch.Tensor]:
        return self.X[index]


class NoiseConditionalScoreNetwork(nn.Module):
    """
    This network is trained to predict the (Stein)
    score functions of perturbed data distributions
    for different noise levels.

    Just an MLP with softplus activation functions.
    """
    def __init__(self, input_dim, hidden_dim=128) -> None:
        super().__init__()
        # A Multi-Layer Perceptron
        self.layers = nn.Sequential(
            nn.Linear(input_dim+1, hidden_dim),
            nn.Softplus(),  # to follow a bit the paper
            nn.Linear(hidden_dim, hidden_dim),
            nn.Softplus(),
            nn.Linear(hidden_dim, input_dim)
            # I don't use a softplus for the last layer
            # since gradients can be negative!
        )

    def forward(self, x, std):
        x_new = torch.cat([x, std.expand(x.shape[0], 1)], dim=1)
        return self.layers(x_new)


def sample(n_samples, model, stds, input_dim, eps, T, hypercube_len=2, generator=None):
    """Annealed Langevin dynamics using trained score network (upstream's, without track_paths)."""
    # Sample from prior distribution (here uniform)
    x = hypercube_len*torch.rand(size=(n_samples, input_dim), generator=generator)-hypercube_len/2
    for std in stds:  # should be in decreasing order
        alpha = eps*std**2/stds[-1]**2  # step size
        for _ in range(T):
            z = torch.randn(size=(n_samples, input_dim), generator=generator)
            x += alpha/2*model(x, std) + torch.sqrt(alpha)*z
    return x


def f_inv(x):
    return x + torch.stack([torch.sign(x[:, 0]), torch.zeros(x.shape[0])], dim=1)


def geometric_stds():
    # Noise levels following a geometric sequence
    common_ratio = (std_1/std_L)**(1/(L-1))
    return std_L*common_ratio**torch.arange(L-1, -1, -1)  # decreasing order, from std_1 to std_L


def _heldout(data_scale):
    g = torch.Generator().manual_seed(12345)
    X = ToyGen(2000, f_inv, generator=g).X * data_scale
    noise = [torch.normal(0, 1, X.shape, generator=g) for _ in range(L)]
    return X, noise, g


@torch.no_grad()
def heldout_loss(model, stds, X, noise):
    loss = 0.
    for std, z in zip(stds, noise, strict=True):
        X_noisy = X + z * std
        y_hat = model(X_noisy, std)
        loss += std**2 * 0.5*(y_hat+(X_noisy-X)/std**2).pow(2).mean()
    return float(loss / len(stds))


@torch.no_grad()
def sample_dist(model, stds, X, data_scale):
    g = torch.Generator().manual_seed(54321)
    x = sample(1000, model, stds, input_dim=2, eps=EPS, T=T, hypercube_len=3 * data_scale, generator=g)
    if not torch.isfinite(x).all():
        return float("nan")
    return float(torch.cdist(x / data_scale, X / data_scale).min(dim=1).values.mean())


def train(seed: int = 1, lr_mult: float = 1.0, data_scale: float = 1.0, init_std: float | None = None,
          zero_grad: bool = True, weighting: bool = True, batch_size: int = BATCH_SIZE, nb_epochs: int = NB_EPOCHS,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    real_data = ToyGen(N_train, f_inv)
    real_data.X = real_data.X * data_scale  # the unscaled_inputs variant: x100
    stds = geometric_stds()

    # Instantiate our model
    model = NoiseConditionalScoreNetwork(input_dim=2)
    if init_std is not None:  # the init_large variant: N(0, init_std) Linear weights
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=init_std)

    Xh, noise_h, _ = _heldout(data_scale)
    initial = heldout_loss(model, stds, Xh, noise_h)
    initial_sd = sample_dist(model, stds, Xh, data_scale)

    # train_ncsn
    train_loader = DataLoader(real_data, batch_size=batch_size,
                              num_workers=0,  # upstream: num_workers=4, pin_memory=True
                              shuffle=True)
    lr = LR * lr_mult
    optimizer = optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)

    losses = []
    # Training loop, training the score function
    for e in range(nb_epochs):
        for X in train_loader:
            # Call the score network for different noise levels
            loss = 0
            for std in stds:
                # Perturbe the input
                X_noisy = X + torch.normal(0, std, X.shape)

                # Predict scores of noisy-perturbed
                y_hat = model(X_noisy, std)

                # Denoising score matching objective
                l = 0.5*(y_hat+(X_noisy-X)/std**2).pow(2).mean()  # noqa: E741 (upstream's name)

                # Combine into the unified objective
                w = std**2 if weighting else 1.  # the unscaled_target variant leaves the weighting out
                loss += w*l
            # Unified objective
            loss /= len(stds)
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(float(loss.detach()))
        if verbose:
            print(f"epoch {e + 1}: loss {np.mean(losses[-79:]):.4f}")
    monitor.close()

    value = heldout_loss(model, stds, Xh, noise_h)
    sd = sample_dist(model, stds, Xh, data_scale)
    la = np.asarray(losses)
    return {"monitors": {"": monitor}, "metric": "dsm_loss", "value": value,
            "initial": initial, "initial_what": "untrained: the same held-out sigma-weighted DSM loss",
            "chance": initial,
            "extra": {"sample_dist": sd, "initial_sample_dist": initial_sd, "train_loss": float(np.mean(la[-20:])),
                      "first_loss": float(np.mean(la[:5])),
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "steps": len(la), "epochs": nb_epochs, "lr": lr,
                      "lr_mult": lr_mult, "data_scale": data_scale, "init_std": -1.0 if init_std is None else init_std,
                      "zero_grad": zero_grad, "weighting": weighting, "batch_size": batch_size},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="dsm2d", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"NCSN MLP (Linear(3, 128), Softplus, Linear(128, 128), Softplus, Linear(128, 2)) by std**2-weighted DSM over "
      f"{L} geometric noise levels {std_1}..{std_L}; Adam lr {LR:g}, batch {BATCH_SIZE}, {NB_EPOCHS} epochs of the "
      f"{N_train} 2-D toy points")
CASES: list[dict] = (
    [_case(f"dsm2d_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"dsm2d_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,)), (10000, (1,))) for s in ss]
    + [_case("dsm2d_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 ({LR * 1e-3:g})")]
    + [_case("dsm2d_data_x100_s1", "unscaled_inputs", 1, {"data_scale": 100.0},
             f"{_P}: the data points x100 (the network's input off scale; the DSM target unchanged)")]
    + [_case(f"dsm2d_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: N(0, 1) weights in every Linear (default uniform +-1/sqrt(fan_in); biases kept)") for s in (1, 2)]
    + [_case("dsm2d_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case(f"dsm2d_no_weighting_s{s}", "unscaled_target", s, {"weighting": False},
             f"{_P}: the lambda(std) = std**2 weighting left out (w = 1: the target -(X_noisy-X)/std**2 unscaled, "
             f"up to 1/std_L = 100x the unit noise)") for s in (1, 2)]
    + [_case("dsm2d_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: Adam lr x2 ({LR * 2:g}; expected harmless)")]
    + [_case("dsm2d_batch64_s1", "healthy", 1, {"batch_size": 64}, f"{_P}: batch 64 instead of 128 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(**kw)
    print({k: v for k, v in r.items() if k != "monitors"})
