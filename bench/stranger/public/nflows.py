"""karpathy/pytorch-normalizing-flows: a RealNVP flow fitted to two half-moons, watched by gradmedic.

Adapted from https://github.com/karpathy/pytorch-normalizing-flows (commit
b60e119b37be10ce2930ef9fa17e58686aaf2b3d, the master head; no LICENSE file there, see LICENSE-nflows): ``nflib/nets.py``
(``MLP``), ``nflib/flows.py`` (``AffineHalfFlow``'s forward, ``NormalizingFlow``, ``NormalizingFlowModel``; only the
forward passes: training and the held-out NLL need no inversion) and the notebook ``nflib1.ipynb`` (``DatasetMoons``,
the prior, the flow, the optimizer and the training cell).

Kept as upstream: ``DatasetMoons.sample`` (``datasets.make_moons(n_samples=n, noise=0.05)``, a fresh batch of 128 from
numpy's global random state every step); the notebook's active prior, the Logistic
``TransformedDistribution(Uniform(0, 1), SigmoidTransform().inv)``; its RealNVP line
``flows = [AffineHalfFlow(dim=2, parity=i%2) for i in range(9)]`` (each with an ``s_cond`` and a ``t_cond`` ``MLP``
1-24-24-24-1 with ``LeakyReLU(0.2)``, PyTorch's default Linear init, ``z1 = exp(s) * x1 + t``, ``log_det = sum(s)``);
``NormalizingFlowModel(prior, flows)``; ``optim.Adam(model.parameters(), lr=1e-4, weight_decay=1e-5)``; the loop
``zs, prior_logprob, log_det = model(x)``, ``logprob = prior_logprob + log_det``, ``loss = -torch.sum(logprob)``,
``model.zero_grad()``, ``loss.backward()``, ``optimizer.step()``, batch 128; ``model.train()`` / ``model.eval()``.

Changed: the notebook leaves several flows commented out and runs a neural-spline flow (``NSF_CL`` with ActNorm and
Invertible1x1Conv); this port runs its RealNVP line instead (the brief's choice: RealNVP or MAF), with everything
else of the cell as it is.  600 steps instead of the training cell's 1000 (the later "train and render" cell stops
after one step at its ``break``), to stay near 30 s on the shared 2-core machine.  ``validate_args=False`` on the
prior's ``Uniform`` and ``TransformedDistribution``: PyTorch of 2019 (1.3) did not validate by default, today's
raises on a NaN ``z`` where the notebook's torch let the NaN through to the loss.  ``torch.manual_seed(seed)`` and
``np.random.seed(seed)`` (the notebook does not seed).  The plots and prints are left out.  The metric: the flow's
NLL per sample (nats) on 1024 held-out moons (``make_moons(1024, noise=0.05, random_state=1000)``, the same for every
run) after training, against the untrained flow's on the same moons ("initial").  For the data-scale variant the
flow sees ``x * scale`` and the NLL is taken back to the moons' units (``- 2 log(scale)``, the change of variables),
so every run is measured on the same data.  ``extra``'s train/first/max losses are the batch NLL per sample
(``loss / 128``).

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the Adam is built,
``monitor.step(loss)`` with the summed batch NLL right after ``loss.backward()``, before ``optimizer.step()``;
``monitor.close()`` after the loop.

``CASES`` (program "nflows"): the program on seeds 1-3, and one change each against the same seed's healthy run:
lr x2 and x10 (expected harmless), x100 (seeds 1 and 2), x1000 and /1000; the moons x10 (seeds 1 and 2) and x100
(seed 1: coordinates up to ~200, where the float32 Logistic prior's log_prob is not finite); ``normal_(std=1.0)`` on every Linear
weight and bias of the s and t MLPs (seeds 1 and 2); every Linear weight and bias zero; ``normal_(std=1e-3)``
weights with zero biases; ``model.zero_grad()`` left out; the loss without the log-determinant
(``-torch.sum(prior_logprob)``, seeds 1 and 2: the classic flow slip, a wrong loss).  Labels come from run.py's
outcome rules only.

Recorded (cases-public40, the 19 runs in about 6.5 min with made's 13; 13-28 s a run on the shared, busy machine):
healthy held-out NLL 1.167, 0.970 and 1.278 nats per sample on seeds 1-3, from the untrained flow's 2.566, 3.190
and 3.719 (0.45x, 0.30x, 0.34x; batch NLL per sample 2.54-3.69 -> 0.95-1.30, every loss finite).  lr x2 (2e-4):
0.899, healthy; lr x10 (1e-3): 0.463, healthy (better than the program); lr x100 (1e-2), seed 1: 0.635, better
than its control, but the batch NLL reached 19.3 per sample on the way (the control's largest 2.56), so ambiguous;
seed 2: the batch NLL up to 550 per sample, non-finite from step 367, NaN: broken; lr x1000 (0.1): non-finite
from the second step, NaN: broken; lr /1000 (1e-7): 2.559, no progress: broken.  Moons x10: seed 1, 2.059 (batch
NLL, in the moons' units, 16.8 at the start; the untrained flow's held-out 18.9): broken (under half the control's
progress); seed 2, 1.714 (from 7.15): ambiguous (worse than its control's 0.970, yet more than half its progress);
moons x100: the Logistic prior's log_prob is not finite for the first batch already, NaN throughout: broken.
normal_(std=1) on the MLPs: NaN from the first step on seeds 1 and 2 (exp(s) overflows): broken.  Zero MLPs: 2.662
(only the last Linear's biases get a gradient: one constant affine map per coupling), broken.  std 1e-3: 1.952,
broken (under half the control's progress).  model.zero_grad() left out: 1.973, broken (likewise).  log_det left
out of the loss: the monitored loss (the prior term alone) falls while the true NLL rises, 2.58 -> 6.75 and 3.21 ->
7.28 (the flow shrinks the data onto the prior's mode): broken.  Labels: 6 healthy (3 programs, 3 variants), 11
broken, 2 ambiguous.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from sklearn import datasets
from torch import nn
from torch.distributions import SigmoidTransform, TransformedDistribution, Uniform

import gradmedic

ARCH = "flow"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = optim.Adam(model.parameters(), lr=1e-4, "
              "weight_decay=1e-5); monitor.step(loss) (the NLL summed over the batch of 128) right after "
              "loss.backward(), before optimizer.step()")
LR = 1e-4
WEIGHT_DECAY = 1e-5
STEPS = 600  # upstream: 1000 (see the docstring)
HELDOUT = 1024


# ---- nflib/nets.py ----------------------------------------------------------------------------------------------
class MLP(nn.Module):
    """ a simple 4-layer MLP """

    def __init__(self, nin, nout, nh):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(nin, nh),
            nn.LeakyReLU(0.2),
            nn.Linear(nh, nh),
            nn.LeakyReLU(0.2),
            nn.Linear(nh, nh),
            nn.LeakyReLU(0.2),
            nn.Linear(nh, nout),
        )

    def forward(self, x):
        return self.net(x)


# ---- nflib/flows.py ---------------------------------------------------------------------------------------------
class AffineHalfFlow(nn.Module):
    """
    As seen in RealNVP, affine autoregressive flow (z = x * exp(s) + t), where half of the
    dimensions in x are linearly scaled/transfromed as a function of the other half.
    Which half is which is determined by the parity bit.
    - RealNVP both scales and shifts (default)
    - NICE only shifts
    """
    def __init__(self, dim, parity, net_class=MLP, nh=24, scale=True, shift=True):
        super().__init__()
        self.dim = dim
        self.parity = parity
        self.s_cond = lambda x: x.new_zeros(x.size(0), self.dim // 2)
        self.t_cond = lambda x: x.new_zeros(x.size(0), self.dim // 2)
        if scale:
            self.s_cond = net_class(self.dim // 2, self.dim // 2, nh)
        if shift:
            self.t_cond = net_class(self.dim // 2, self.dim // 2, nh)

    def forward(self, x):
        x0, x1 = x[:, ::2], x[:, 1::2]
        if self.parity:
            x0, x1 = x1, x0
        s = self.s_cond(x0)
        t = self.t_cond(x0)
        z0 = x0  # untouched half
        z1 = torch.exp(s) * x1 + t  # transform this half as a function of the other
        if self.parity:
            z0, z1 = z1, z0
        z = torch.cat([z0, z1], dim=1)
        log_det = torch.sum(s, dim=1)
        return z, log_det


class NormalizingFlow(nn.Module):
    """ A sequence of Normalizing Flows is a Normalizing Flow """

    def __init__(self, flows):
        super().__init__()
        self.flows = nn.ModuleList(flows)

    def forward(self, x):
        m, _ = x.shape
        log_det = torch.zeros(m)
        zs = [x]
        for flow in self.flows:
            x, ld = flow.forward(x)
            log_det += ld
            zs.append(x)
        return zs, log_det


class NormalizingFlowModel(nn.Module):
    """ A Normalizing Flow Model is a (prior, flow) pair """

    def __init__(self, prior, flows):
        super().__init__()
        self.prior = prior
        self.flow = NormalizingFlow(flows)

    def forward(self, x):
        zs, log_det = self.flow.forward(x)
        prior_logprob = self.prior.log_prob(zs[-1]).view(x.size(0), -1).sum(1)
        return zs, prior_logprob, log_det


# ---- nflib1.ipynb -----------------------------------------------------------------------------------------------
class DatasetMoons:
    """ two half-moons """
    def sample(self, n):
        moons = datasets.make_moons(n_samples=n, noise=0.05)[0].astype(np.float32)
        return torch.from_numpy(moons)


def heldout_nll(model, x, scale):
    """Mean NLL per sample of the moons ``x`` (original units): the model sees ``x * scale``; the change of
    variables ``x -> x * scale`` adds 2 log(scale) back, so runs at any scale are measured on the same data."""
    with torch.no_grad():
        _, prior_logprob, log_det = model(x * scale)
        logprob = prior_logprob + log_det + 2 * math.log(scale)
    return float(-logprob.mean())


def train(seed: int = 1, lr_mult: float = 1.0, data_scale: float = 1.0, init: str = "default",
          zero_grad: bool = True, loss_kind: str = "nll", steps: int = STEPS, every: int = 10,
          verbose: bool = False) -> dict:
    """``lr_mult``: Adam's lr (1e-4) times this; ``data_scale``: the moons times this before the flow; ``init``:
    "std1" (normal_(std=1) on every Linear weight and bias), "zero" (every Linear weight and bias zero) or "std1e-3";
    ``zero_grad=False``: ``model.zero_grad()`` left out; ``loss_kind="no_logdet"``: the loss is
    ``-torch.sum(prior_logprob)`` (log_det left out of the NLL)."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    np.random.seed(seed)  # make_moons(random_state=None) draws from numpy's global state, as in the notebook
    t0 = time.time()
    d = DatasetMoons()
    xval = torch.from_numpy(datasets.make_moons(n_samples=HELDOUT, noise=0.05, random_state=1000)[0]
                            .astype(np.float32))

    # construct a model
    # (validate_args=False on both: as torch 1.3 (2019) did, a NaN z does not raise)
    prior = TransformedDistribution(Uniform(torch.zeros(2), torch.ones(2), validate_args=False),
                                    SigmoidTransform().inv, validate_args=False)  # Logistic distribution
    # RealNVP
    flows = [AffineHalfFlow(dim=2, parity=i % 2) for i in range(9)]
    # construct the model
    model = NormalizingFlowModel(prior, flows)
    if init != "default":
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, nn.Linear):
                    if init == "std1":  # the init_large variant
                        m.weight.normal_(0.0, 1.0)
                        m.bias.normal_(0.0, 1.0)
                    elif init == "zero":  # the symmetric_init variant
                        m.weight.zero_()
                        m.bias.zero_()
                    elif init == "std1e-3":  # the init_small variant
                        m.weight.normal_(0.0, 1e-3)
                        m.bias.zero_()
                    else:
                        raise ValueError(init)
    initial = heldout_nll(model, xval, data_scale)

    # optimizer
    lr = LR * lr_mult
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=WEIGHT_DECAY)  # todo tune WD
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    losses = []
    model.train()
    for k in range(steps):
        x = d.sample(128) * data_scale

        zs, prior_logprob, log_det = model(x)
        logprob = prior_logprob + log_det
        if loss_kind == "no_logdet":  # the wrong_loss variant: the log-determinant left out
            loss = -torch.sum(prior_logprob)
        else:
            loss = -torch.sum(logprob)  # NLL

        if zero_grad:  # the no_zero_grad variant leaves this out
            model.zero_grad()
        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()

        losses.append(float(-logprob.detach().mean()) - 2 * math.log(data_scale))
        if verbose and k % 100 == 0:
            print(k, loss.item(), f"heldout {heldout_nll(model, xval, data_scale):.4f} ({time.time() - t0:.1f}s)",
                  flush=True)
    monitor.close()
    model.eval()
    value = heldout_nll(model, xval, data_scale)
    if not math.isfinite(value):
        value = float("nan")
    fl = np.array(losses, dtype=float)
    return {"monitors": {"": monitor}, "metric": "loss", "value": value, "chance": initial,
            "initial": initial,
            "initial_what": f"the untrained flow's NLL per sample on the {HELDOUT} held-out moons (nats)",
            "extra": dict(train_loss=float(np.mean(fl[-20:])), first_loss=float(np.mean(fl[:5])),
                          max_loss=float(np.nanmax(fl)) if np.isfinite(fl).any() else float("nan"),
                          finite_losses=bool(np.isfinite(fl).all()), steps=len(losses), lr=lr, lr_mult=lr_mult,
                          data_scale=data_scale, init=init, zero_grad=zero_grad, loss_kind=loss_kind,
                          heldout=HELDOUT, batch=128),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="nflows", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"RealNVP (9 AffineHalfFlow, parity i % 2, s and t MLPs 1-24-24-24-1 LeakyReLU(0.2)) with a Logistic prior "
      f"on make_moons(128, noise=0.05) per step; NLL summed over the batch; Adam lr {LR:g}, weight_decay "
      f"{WEIGHT_DECAY:g}, {STEPS} steps")
CASES: list[dict] = (
    [_case(f"nflows_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case("nflows_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: lr x2 ({LR * 2:g})")]
    + [_case(f"nflows_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("nflows_lr_x1000_s1", "lr_high", 1, {"lr_mult": 1000}, f"{_P}: lr x1000 ({LR * 1000:g})")]
    + [_case("nflows_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case(f"nflows_data_x{k}_s{s}", "unscaled_inputs", s, {"data_scale": float(k)},
             f"{_P}: the moons x{k} fed to the flow (coordinates up to ~{2 * k}); the held-out NLL is measured "
             f"back in the moons' own units (minus 2 log {k})") for k, ss in ((10, (1, 2)), (100, (1,))) for s in ss]
    + [_case(f"nflows_init_std1_s{s}", "init_large", s, {"init": "std1"},
             f"{_P}: nn.init.normal_(std=1.0) on every Linear weight and bias of the s and t MLPs") for s in (1, 2)]
    + [_case("nflows_init_zero_s1", "symmetric_init", 1, {"init": "zero"},
             f"{_P}: every Linear weight and bias of the s and t MLPs zero")]
    + [_case("nflows_init_std1e-3_s1", "init_small", 1, {"init": "std1e-3"},
             f"{_P}: nn.init.normal_(std=1e-3) on every Linear weight of the s and t MLPs, biases zero")]
    + [_case("nflows_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: model.zero_grad() left out: the gradients accumulate")]
    + [_case(f"nflows_no_logdet_s{s}", "wrong_loss", s, {"loss_kind": "no_logdet"},
             f"{_P}: loss = -torch.sum(prior_logprob): the flow's log_det left out of the NLL") for s in (1, 2)]
)


if __name__ == "__main__":
    import ast
    import sys

    kw = {k: ast.literal_eval(v) for k, v in (a.split("=") for a in sys.argv[1:])}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k not in ("monitors",)})
