"""David Ha's mixture density network in PyTorch (the inverted-sinusoid toy problem), watched by gradmedic.

Adapted from https://github.com/hardmaru/pytorch_notebooks (commit 83a0a20318eb2872537593a387069f3c74a186e8,
mixture_density_networks.ipynb; MIT License, Copyright (c) 2017, see LICENSE-hamdn).  Kept as in the notebook:
``generate_data`` (x ~ U(-10.5, 10.5), y = 7 sin(0.75 x) + 0.5 x + N(0, 1), n_samples = 1000, numpy), the inverse
problem (the MDN's input is y, its target x), ``MDN`` (copied below: ``z_h`` = Linear(1, n_hidden) + Tanh, then
Linear(n_hidden, n_gaussians) heads for pi (softmax), sigma (exp) and mu (linear); n_hidden=20, n_gaussians=5 as in
the notebook - not the 24/24 of the TensorFlow blog post), ``gaussian_distribution`` and ``mdn_loss_fn`` (the mean
negative log-likelihood of the mixture, computed naively as -log(sum(pi * N(y; mu, sigma))), so a point whose every
component density underflows float32 gives inf), ``torch.optim.Adam(network.parameters())`` (lr 1e-3), the full-batch
loop ``train_mdn`` (forward, loss, ``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``) for its 10000
epochs, and PyTorch's default inits.  The notebook's run printed 7.36 at epoch 0 and 1.22 at epoch 9500.

Changed: the notebook's first part (a plain Linear(1, 20)-Tanh-Linear(20, 1) net fitted with MSELoss and RMSprop to
y(x), then to the inverted x(y), where it fails by design) is left out, as is its torch RNG use before the MDN is
built; the notebook sets no seed, here the run's seed goes to ``np.random.seed`` and ``torch.manual_seed``; a second
call of ``generate_data(1000)`` right after the training sample gives a fresh held-out sample; ``Variable`` wrappers
dropped (no-ops now); no plots or sampling; prints every 500 epochs only with ``verbose``.  Knobs (one per variant):
``lr_mult`` scales Adam's rate; ``input_scale`` / ``target_scale`` multiply the MDN's input / target (train and
held-out); ``init_std`` draws every Linear weight from N(0, init_std) (biases kept); ``const_init`` sets every Linear
weight to that constant and every bias to zero; ``zero_grad=False`` leaves ``optimizer.zero_grad()`` out;
``n_hidden`` replaces 20.

The watch, as a user would: ``monitor = gradmedic.watch(network, optimizer, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the
loop.  Metric "loss": the held-out NLL, ``mdn_loss_fn`` (the notebook's own function) on the fresh 1000-point sample
after training, minus log(target_scale) (so the unscaled_target run reads in the units of the unscaled target);
``initial`` the mean of the first 5 training losses (same units); ``chance`` the NLL of one Gaussian fitted to the
targets (about 3.2).

``CASES`` (program "hamdn"): the program on seeds 1-3, and one change each against the same seed's healthy run: Adam
lr x10, x100 (seeds 1 and 2), x1000 (added after x100 came out ambiguous on both seeds), /1000; the input (y) x100
(seeds 1 and 2); the target (x) x100; N(0, 1) weights (seeds 1 and 2); constant 0.01 weights with zero biases (first
tried with 0.1: every component density underflowed at the first step, loss inf and NaN from step 0; 0.01 shows the
symmetry itself); optimizer.zero_grad() left out; and two changes expected harmless: lr x2 (cause "lr_high") and
n_hidden 32 (cause "healthy").
Recorded (cases-public96; 15-22 s a run with the shared machine loaded): healthy held-out NLL 1.399, 1.499, 1.907 on
seeds 1-3 (start 10.6, 7.39, 8.67; training NLL over the last 20 epochs 1.217, 1.234, 1.648: the held-out NLL sits
0.2-0.3 above it, a few held-out points falling in the tails of narrow components; every loss finite); lr x10:
2.011 (train 1.515): ambiguous; lr x100: 2.746 (seed 1) and 2.772 (seed 2, largest loss 15.8), train 2.77-2.79:
ambiguous (worse, not twice the control's); lr x1000: the loss inf at step 17 and NaN after: broken; lr /1000: 8.719
(start 11.2, train 8.65): broken; input x100: training NLL 1.574 (seed 1) and 1.781 (seed 2), held-out inf on both
(tanh saturated into steps of the input: a couple of held-out points get a density that underflows in mdn_loss_fn;
a logsumexp evaluation of the seed-1 network gave 1.88, two points at 63 and 135 nats): broken by the inf; target
x100: every density underflows at the first step, loss inf then NaN: broken; N(0, 1) weights: 1.602 (seed 1):
ambiguous, 1.573 (seed 2): healthy; constant 0.01 weights: one effective hidden unit and one effective Gaussian,
start 18.9, 3.166 (train 3.158, about one Gaussian's NLL): broken; zero_grad left out: trains, then the loss goes
non-finite at step 3434: broken; lr x2: 1.413: healthy; n_hidden 32: 1.767 (train 1.301): healthy.  Labels: 6
healthy (3 programs, init std 1 seed 2, lr x2, n_hidden 32), 7 broken, 4 ambiguous (lr x10, lr x100 twice, init std
1 seed 1).
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(network, optimizer, every=10) right after optimizer = torch.optim.Adam(network.parameters()); "
              "monitor.step(loss) right after loss.backward() (mdn_loss_fn: the mean negative log-likelihood of the "
              "Gaussian mixture over the full batch of 1000 points), before optimizer.step() (optimizer.zero_grad() "
              "comes before the backward, the notebook's order)")

EPOCHS = 10000  # the notebook's train_mdn: range(10000)
n_samples = 1000


def generate_data(n_samples):
    epsilon = np.random.normal(size=(n_samples))
    x_data = np.random.uniform(-10.5, 10.5, n_samples)
    y_data = 7*np.sin(0.75*x_data) + 0.5*x_data + epsilon
    return x_data, y_data


class MDN(nn.Module):
    def __init__(self, n_hidden, n_gaussians):
        super(MDN, self).__init__()  # noqa: UP008 (as in the notebook)
        self.z_h = nn.Sequential(
            nn.Linear(1, n_hidden),
            nn.Tanh()
        )
        self.z_pi = nn.Linear(n_hidden, n_gaussians)
        self.z_sigma = nn.Linear(n_hidden, n_gaussians)
        self.z_mu = nn.Linear(n_hidden, n_gaussians)

    def forward(self, x):
        z_h = self.z_h(x)
        pi = nn.functional.softmax(self.z_pi(z_h), -1)
        sigma = torch.exp(self.z_sigma(z_h))
        mu = self.z_mu(z_h)
        return pi, sigma, mu


oneDivSqrtTwoPI = 1.0 / np.sqrt(2.0*np.pi)  # normalization factor for Gaussians


def gaussian_distribution(y, mu, sigma):
    # make |mu|=K copies of y, subtract mu, divide by sigma
    result = (y.expand_as(mu) - mu) * torch.reciprocal(sigma)
    result = -0.5 * (result * result)
    return (torch.exp(result) * torch.reciprocal(sigma)) * oneDivSqrtTwoPI


def mdn_loss_fn(pi, sigma, mu, y):
    result = gaussian_distribution(y, mu, sigma) * pi
    result = torch.sum(result, dim=1)
    result = -torch.log(result)
    return torch.mean(result)


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, target_scale: float = 1.0,
          init_std: float | None = None, const_init: float | None = None, zero_grad: bool = True,
          n_hidden: int = 20, epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    np.random.seed(seed)  # upstream: no seed
    torch.manual_seed(seed)  # upstream: no seed
    x_data, y_data = generate_data(n_samples)
    x_held, y_held = generate_data(n_samples)  # upstream: none (a fresh sample of the same generator, for the metric)
    # upstream: the plain regression net (nn.Sequential(Linear(1, 20), Tanh, Linear(20, 1)), MSELoss, RMSprop,
    # 3000 epochs on y(x), then on the inverted x(y)) is left out: it only shows that one output cannot fit x(y)
    x_tensor = torch.from_numpy(np.float32(x_data).reshape(n_samples, 1))
    y_tensor = torch.from_numpy(np.float32(y_data).reshape(n_samples, 1))

    network = MDN(n_hidden=n_hidden, n_gaussians=5)  # upstream: n_hidden=20 (the n_hidden variant changes it)
    if init_std is not None:  # the init_large variant: N(0, init_std) for every Linear weight (biases kept)
        for m in network.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0.0, std=init_std)
    if const_init is not None:  # the symmetric_init variant: every Linear weight one constant, every bias zero
        for m in network.modules():
            if isinstance(m, nn.Linear):
                nn.init.constant_(m.weight, const_init)
                nn.init.zeros_(m.bias)
    lr = 1e-3 * lr_mult
    optimizer = torch.optim.Adam(network.parameters(), lr=lr)  # upstream: Adam(network.parameters()) (lr 1e-3)
    monitor = gradmedic.watch(network, optimizer, every=every)  # gradmedic

    # upstream: mdn_x_tensor = y_tensor, mdn_y_tensor = x_tensor wrapped in Variable (a no-op in current PyTorch);
    # the unscaled_inputs / unscaled_target variants multiply them by input_scale / target_scale
    x_variable = y_tensor * input_scale
    y_variable = x_tensor * target_scale

    losses = []
    for epoch in range(epochs):
        pi_variable, sigma_variable, mu_variable = network(x_variable)
        loss = mdn_loss_fn(pi_variable, sigma_variable, mu_variable, y_variable)
        if zero_grad:  # the no_zero_grad variant leaves this out
            optimizer.zero_grad()
        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()
        losses.append(float(loss.detach()))

        if verbose and epoch % 500 == 0:
            print(epoch, losses[-1], f"({time.time() - t0:.1f}s)", flush=True)  # upstream: print(epoch, loss.data[0])
    monitor.close()

    # the metric: the held-out mean NLL on a fresh sample, in the units of the unscaled target (a density of
    # target_scale * x is 1/target_scale times that of x: log(target_scale) taken off)
    with torch.no_grad():
        hx = torch.from_numpy(np.float32(y_held).reshape(n_samples, 1)) * input_scale
        hy = torch.from_numpy(np.float32(x_held).reshape(n_samples, 1)) * target_scale
        pi_h, sigma_h, mu_h = network(hx)
        held = float(mdn_loss_fn(pi_h, sigma_h, mu_h, hy)) - math.log(target_scale)
    la = np.array(losses) - math.log(target_scale)
    return {"monitors": {"": monitor}, "metric": "loss", "value": held,
            "initial": float(np.mean(la[:5])),
            "initial_what": "untrained: mean training NLL of the first 5 steps (in the unscaled target's units)",
            "chance": 0.5 * math.log(2 * math.pi * math.e * float(np.var(x_data))),  # one Gaussian for all x
            "extra": {"train_loss": float(np.mean(la[-20:])), "first_loss": float(la[0]),
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "steps": len(la), "lr": lr, "lr_mult": lr_mult,
                      "input_scale": input_scale, "target_scale": target_scale,
                      "init_std": -1.0 if init_std is None else init_std,
                      "const_init": float("nan") if const_init is None else const_init, "zero_grad": zero_grad,
                      "n_hidden": n_hidden, "n_gaussians": 5, "n_samples": n_samples},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="hamdn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"hardmaru's MDN (Linear(1, 20)-Tanh, then Linear(20, 5) heads for pi (softmax), sigma (exp), mu; mean mixture "
      f"NLL; Adam lr 1e-3, full batch of 1000 points of the inverted sinusoid, {EPOCHS} epochs)")
CASES: list[dict] = (
    [_case(f"hamdn_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"hamdn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("hamdn_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 (1e-06)")]
    + [_case(f"hamdn_inputs_x100_s{s}", "unscaled_inputs", s, {"input_scale": 100.0},
             f"{_P}: the network's input (the sinusoid's y, range about -13..13) multiplied by 100") for s in (1, 2)]
    + [_case("hamdn_target_x100_s1", "unscaled_target", 1, {"target_scale": 100.0},
             f"{_P}: the target (the sinusoid's x, -10.5..10.5) multiplied by 100 (the metric and losses are "
             f"reported in the unscaled units: log(100) taken off)")]
    + [_case(f"hamdn_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every Linear weight (z_h, z_pi, z_sigma, z_mu) instead of PyTorch's "
             f"default U(+-1/sqrt(fan_in)) (biases kept)") for s in (1, 2)]
    + [_case("hamdn_const_init_s1", "symmetric_init", 1, {"const_init": 0.01},
             f"{_P}: nn.init.constant_(weight, 0.01) and zeros_(bias) on every Linear (identical hidden units and "
             f"identical mixture components)")]
    + [_case("hamdn_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("hamdn_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: Adam lr x2 (0.002; expected harmless)")]
    + [_case("hamdn_hidden32_s1", "healthy", 1, {"n_hidden": 32},
             f"{_P}: n_hidden 32 instead of 20 (expected harmless; no cause names it)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
