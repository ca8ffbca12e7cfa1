"""tonyduan/normalizing-flows: two planar flows fitted to a 2-D mixture of three Gaussians, watched by gradmedic.

Adapted from https://github.com/tonyduan/normalizing-flows (commit 3ee9127e3753be3878a0a4fd3ea435ff2d31d143, the
master head; MIT License, Copyright (c) 2019 Tony Duan, see LICENSE-planarflow): ``src/flows.py`` (``Planar`` and its
``functional_derivatives`` entry for ``torch.tanh``, copied as they are), ``src/models.py`` (``NormalizingFlowModel``:
the ``MultivariateNormal(torch.zeros(dim), torch.eye(dim))`` prior and the forward pass that sums each flow's
log-determinant; its ``inverse``/``sample`` left out: a planar flow has no inverse) and ``examples/ex_2d.py`` (the
training script) run as ``python -m examples.ex_2d --flow Planar``: the script's default flow is ``NSF_CL``; this port
uses its ``Planar`` (the brief's choice) with every other argument at its default (``--flows 2``, ``--n 512``,
``--iterations 500``, no ``--use-mixture``/``--convolve``/``--actnorm``).  Kept as upstream: ``gen_data(n=512)`` (three
unit-variance Gaussians at (0, 6), (2.5, 3) and (-2.5, 3), n // 3 = 170 points each, from numpy's global state), the
per-column standardization ``x[:,i] = (x[:,i] - torch.mean(x[:,i])) / torch.std(x[:,i])``, ``Planar(dim=2)`` with its
``reset_parameters`` (w, u, b uniform in +-sqrt(1/dim)), the u-hat reparametrization that keeps tanh planar flows
invertible, ``log_det = torch.log(torch.abs(1 + phi @ u) + 1e-4)``, ``optim.Adam(model.parameters(), lr=0.005)``, the
full-batch loop of 500 iterations (``optimizer.zero_grad()``, ``z, prior_logprob, log_det = model(x)``,
``loss = -torch.mean(prior_logprob + log_det)``, ``loss.backward()``, ``optimizer.step()``); no clipping, no schedule,
no weight decay.

Changed (each marked ``# upstream:``): ``np.random.seed(seed)`` and ``torch.manual_seed(seed)`` (the script does not
seed); ``super().__init__()`` and the ``Planar``'s unused ``F.elu``/``F.leaky_relu`` branches dropped (only tanh is
used; the code path is the same); the logging every 100 iterations only with ``verbose``; the plots at the end left
out (upstream's ``model.sample(500)`` there raises NotImplementedError for Planar anyway, after training).  No
iteration count was shrunk: a run takes 2-6 s.  The metric, not upstream: the held-out NLL minus the density's
entropy, i.e. an estimate of KL(p || q) in nats, on 30000 fresh samples from ``gen_data``'s density (10000 per
component, ``np.random.RandomState(1000 + seed)``, drawn apart from the global state), put through the run's own
preprocessing (the training set's column means and stds, and the variant's scale), with the true log-density of
the mixture in the same units (the change of variables adds sum log std - 2 log scale); the same held-out samples give
both terms, so their noise largely cancels.  The NLL itself is near 2.5 nats at best (the standardized mixture's
entropy, 2.44-2.50), and 2.5-3.3 untrained, so no run could come below 0.7x its untrained NLL; the KL (0 for a perfect
fit) is what run.py's ratio rules can read.  KL is unchanged by an invertible change of units, so a run fed data x100
is measured on the same footing.  ``initial`` is the untrained flow's KL on the same samples.  ``extra`` holds the
held-out NLL and the entropy estimate, and the training NLL (first 5, last 20, largest).

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the loop.

``CASES`` (program "planarflow"): the program on seeds 1-3, and one change each against the same seed's healthy run: lr
x10, x100, x1000, /1000; every flow's w, u, b drawn from upstream's uniform bounds x10 (seeds 1 and 2) and x30 (seed
2, added after x10 came out ambiguous there; x100 is NaN before the first step, exp(w @ u) overflowing in u-hat); the
standardized data x100 (seeds 1 and 2); ``optimizer.zero_grad()`` left out (seeds 1 and 2); and two changes expected
harmless: ``--n 1024`` (the full batch x2) and ``--flows 3`` (one more planar flow), both cause "healthy".  Labels
come from run.py's outcome rules only.
Recorded (cases-public143, the 16 runs in 24 s; 1-3 s a run): healthy held-out KL 0.252, 0.379 and 0.248 nats on
seeds 1-3, from the untrained flow's 0.618, 0.944 and 0.522 (0.41x, 0.40x, 0.48x; held-out NLL 2.753, 2.813, 2.704
against entropies 2.501, 2.434, 2.455; training NLL 2.96-3.31 over the first 5 iterations -> 2.71-2.84 over the last
20; every loss finite).  lr x10 (0.05): 0.170, healthy (better than the program); lr x100 (0.5): 0.220, healthy (the
largest loss the first, 3.11: a two-flow model with 10 parameters under Adam takes steps of at most ~lr per
parameter); lr x1000 (5): the training NLL 3.11, 63.9, 37.7, then NaN from the fourth iteration, KL NaN: broken;
lr /1000 (5e-6): 0.614 (no progress from 0.618): broken.  Init x10: seed 1, untrained KL 12.38 (training NLL 14.3 at
the start), 0.793 at the end: broken; seed 2, 3.191 -> 0.510 against the control's 0.379: ambiguous (worse, not
twice as bad); init x30, seed 2: 16.28 -> 5.798: broken.  Data x100: KL 1.0e4 / 9.3e3 untrained, 6123 / 6833 at the
end (training NLL 9870 -> 5850 and 9694 -> 7017; a planar flow's shift is bounded by |u| and the prior is N(0, I)):
broken.  optimizer.zero_grad() left out: 0.410 (seed 1) and 0.545 (seed 2), worse than 0.252 / 0.379 but neither
twice as bad nor under half the progress: ambiguous.  --n 1024: 0.233, healthy; --flows 3: 0.175 (untrained 0.757),
healthy.  Labels: 7 healthy (3 programs, 4 variants), 6 broken, 3 ambiguous.  Only lr x1000 had a non-finite loss.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.init as init
import torch.optim as optim
from torch.distributions import MultivariateNormal

import gradmedic

ARCH = "flow"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = optim.Adam(model.parameters(), lr=0.005); "
              "monitor.step(loss) (the full batch's mean NLL, -torch.mean(prior_logprob + log_det)) right after "
              "loss.backward(), before optimizer.step()")
LR = 0.005
N = 512
FLOWS = 2
ITERATIONS = 500
HELDOUT = 10000  # per component
CENTERS = np.array([[0, 6], [2.5, 3], [-2.5, 3]], dtype=float)


# ---- src/flows.py --------------------------------------------------------------------------------------------------
# supported non-linearities: note that the function must be invertible
functional_derivatives = {
    torch.tanh: lambda x: 1 - torch.pow(torch.tanh(x), 2),
    # upstream: also F.leaky_relu and F.elu (not used here)
}


class Planar(nn.Module):
    """
    Planar flow.

        z = f(x) = x + u h(wᵀx + b)

    [Rezende and Mohamed, 2015]
    """
    def __init__(self, dim, nonlinearity=torch.tanh, init_mode="default"):
        super().__init__()
        self.h = nonlinearity
        self.w = nn.Parameter(torch.Tensor(dim))
        self.u = nn.Parameter(torch.Tensor(dim))
        self.b = nn.Parameter(torch.Tensor(1))
        self.reset_parameters(dim, init_mode)

    def reset_parameters(self, dim, init_mode="default"):
        if init_mode == "default":  # upstream (the only branch)
            init.uniform_(self.w, -math.sqrt(1/dim), math.sqrt(1/dim))
            init.uniform_(self.u, -math.sqrt(1/dim), math.sqrt(1/dim))
            init.uniform_(self.b, -math.sqrt(1/dim), math.sqrt(1/dim))
        elif init_mode == "std1":  # the init_large variant: N(0, 1)
            for p in (self.w, self.u, self.b):
                init.normal_(p, 0.0, 1.0)
        elif init_mode.startswith("x"):  # the init_large variant: upstream's bounds times k ("x10")
            k = float(init_mode[1:])
            for p in (self.w, self.u, self.b):
                init.uniform_(p, -k * math.sqrt(1/dim), k * math.sqrt(1/dim))
        else:
            raise ValueError(init_mode)

    def forward(self, x):
        """
        Given x, returns z and the log-determinant log|df/dx|.

        Returns
        -------
        """
        if self.h == torch.tanh:  # upstream: an elif after the F.elu/F.leaky_relu branch
            scal = torch.log(1+torch.exp(self.w @ self.u)) - self.w @ self.u - 1
            u = self.u + scal * self.w / torch.norm(self.w) ** 2
        else:
            raise NotImplementedError("Non-linearity is not supported.")
        lin = torch.unsqueeze(x @ self.w, 1) + self.b
        z = x + u * self.h(lin)
        phi = functional_derivatives[self.h](lin) * self.w
        log_det = torch.log(torch.abs(1 + phi @ u) + 1e-4)
        return z, log_det

    def inverse(self, z):
        raise NotImplementedError("Planar flow has no algebraic inverse.")


# ---- src/models.py -------------------------------------------------------------------------------------------------
class NormalizingFlowModel(nn.Module):

    def __init__(self, dim, flows):
        super().__init__()
        # upstream: MultivariateNormal(torch.zeros(dim), torch.eye(dim)); validate_args=False lets a NaN z through to the
        # loss (as PyTorch before 1.8 did) where today's default raises ValueError mid-run
        self.prior = MultivariateNormal(torch.zeros(dim), torch.eye(dim), validate_args=False)
        self.flows = nn.ModuleList(flows)

    def forward(self, x):
        bsz, _ = x.shape
        log_det = torch.zeros(bsz)
        for flow in self.flows:
            x, ld = flow.forward(x)
            log_det += ld
        z, prior_logprob = x, self.prior.log_prob(x)
        return z, prior_logprob, log_det


# ---- examples/ex_2d.py ---------------------------------------------------------------------------------------------
def gen_data(n=512):
    return np.r_[np.random.randn(n // 3, 2) + np.array([0, 6]),
                 np.random.randn(n // 3, 2) + np.array([2.5, 3]),
                 np.random.randn(n // 3, 2) + np.array([-2.5, 3])]


def mixture_logpdf(y):
    """log density of gen_data's mixture (equal weights, unit covariances) at raw points ``y`` (not upstream)."""
    d = ((y[:, None, :] - CENTERS[None]) ** 2).sum(-1)
    a = -0.5 * d - math.log(2 * math.pi) - math.log(3)
    m = a.max(1, keepdims=True)
    return (m + np.log(np.exp(a - m).sum(1, keepdims=True)))[:, 0]


def heldout(model, y, true_logp):
    """(KL estimate, held-out NLL) per sample in nats: mean(log p(y) - log q(y)) and mean(-log q(y))."""
    with torch.no_grad():
        _, prior_logprob, log_det = model(y)
        nll = float(-(prior_logprob + log_det).double().mean())
    kl = nll - float(-true_logp.mean())
    return (kl, nll) if math.isfinite(nll) else (float("nan"), float("nan"))


def train(seed: int = 1, lr_mult: float = 1.0, data_scale: float = 1.0, standardize: bool = True,
          init_mode: str = "default", zero_grad: bool = True, n: int = N, flows_n: int = FLOWS,
          iterations: int = ITERATIONS, every: int = 10, verbose: bool = False) -> dict:
    """``lr_mult``: Adam's lr (0.005) times this; ``data_scale``: the standardized data times this; ``standardize``:
    False leaves out the per-column standardization; ``init_mode``: "default" (upstream's uniform +-sqrt(1/dim)),
    "std1" (N(0, 1)) or "x<k>" (upstream's bounds times k) on every flow's w, u, b; ``zero_grad=False``:
    ``optimizer.zero_grad()`` left out; ``n``: gen_data's n (512); ``flows_n``: the number of planar flows (2)."""
    torch.set_num_threads(1)
    np.random.seed(seed)  # upstream: not seeded
    torch.manual_seed(seed)  # upstream: not seeded
    t0 = time.time()

    flow = Planar  # upstream: flow = eval(args.flow), args.flow "NSF_CL" by default; here --flow Planar
    flows = [flow(dim=2, init_mode=init_mode) for _ in range(flows_n)]  # upstream: flow(dim=2)

    model = NormalizingFlowModel(dim=2, flows=flows)

    lr = LR * lr_mult
    optimizer = optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    x = torch.Tensor(gen_data(n))

    mean, std = x.mean(0).clone(), x.std(0).clone()  # not upstream: kept for the held-out samples
    if standardize:  # the unscaled_inputs variant (raw data) leaves this out
        for i in range(x.shape[1]):
            x[:, i] = (x[:, i] - torch.mean(x[:, i])) / torch.std(x[:, i])
    else:
        mean, std = torch.zeros(2), torch.ones(2)
    x = x * data_scale  # the unscaled_inputs variant (1.0: unchanged)

    # the metric's held-out samples (not upstream): fresh draws of the same density, the run's own preprocessing
    rs = np.random.RandomState(1000 + seed)
    yraw = np.r_[rs.randn(HELDOUT, 2) + CENTERS[0], rs.randn(HELDOUT, 2) + CENTERS[1], rs.randn(HELDOUT, 2) + CENTERS[2]]
    mu, sd = mean.double().numpy(), std.double().numpy()
    y = torch.Tensor((yraw - mu) / sd * data_scale)
    true_logp = mixture_logpdf(yraw) + np.log(sd).sum() - 2 * math.log(data_scale)
    entropy = float(-true_logp.mean())
    initial, initial_nll = heldout(model, y, true_logp)

    losses = []
    for i in range(iterations):
        if zero_grad:  # the no_zero_grad variant leaves this out
            optimizer.zero_grad()
        z, prior_logprob, log_det = model(x)
        logprob = prior_logprob + log_det
        loss = -torch.mean(prior_logprob + log_det)
        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()
        losses.append(float(loss.detach()))
        if verbose and i % 100 == 0:  # upstream: logger.info every 100 iterations
            print(f"Iter: {i}\t" +
                  f"Logprob: {logprob.mean().data:.2f}\t" +
                  f"Prior: {prior_logprob.mean().data:.2f}\t" +
                  f"LogDet: {log_det.mean().data:.2f}", flush=True)
    monitor.close()
    value, nll = heldout(model, y, true_logp)
    fl = np.array(losses, dtype=float)
    return {"monitors": {"": monitor}, "metric": "loss", "value": value, "chance": initial,
            "initial": initial,
            "initial_what": (f"the untrained flow's held-out KL(p || q) estimate (NLL minus the density's entropy, "
                             f"nats per sample) on {3 * HELDOUT} fresh samples"),
            "extra": dict(heldout_nll=nll, initial_heldout_nll=initial_nll, entropy=entropy,
                          train_loss=float(np.mean(fl[-20:])), first_loss=float(np.mean(fl[:5])),
                          max_loss=float(np.nanmax(fl)) if np.isfinite(fl).any() else float("nan"),
                          finite_losses=bool(np.isfinite(fl).all()), steps=len(losses), lr=lr, lr_mult=lr_mult,
                          data_scale=data_scale, standardize=standardize, init_mode=init_mode, zero_grad=zero_grad,
                          n=n, flows=flows_n, heldout=3 * HELDOUT),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="planarflow", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = (f"tonyduan ex_2d.py --flow Planar ({FLOWS} tanh planar flows, N(0, I) prior) on gen_data({N}) standardized, "
      f"full batch; loss = -torch.mean(prior_logprob + log_det); Adam lr {LR:g}; {ITERATIONS} iterations")
CASES: list[dict] = (
    [_case(f"planarflow_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"planarflow_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1,)), (1000, (1,))) for s in ss]
    + [_case("planarflow_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case(f"planarflow_init_x10_s{s}", "init_large", s, {"init_mode": "x10"},
             f"{_P}: w, u, b of every planar flow uniform in +-10 sqrt(1/dim) (+-7.07) instead of +-0.707")
       for s in (1, 2)]
    + [_case("planarflow_init_x30_s2", "init_large", 2, {"init_mode": "x30"},
             f"{_P}: w, u, b of every planar flow uniform in +-30 sqrt(1/dim) (+-21.2) instead of +-0.707 (added "
             f"after x10 came out ambiguous on seed 2)")]
    + [_case(f"planarflow_data_x100_s{s}", "unscaled_inputs", s, {"data_scale": 100.0},
             f"{_P}: the standardized data x100 fed to the flow (the KL is unit-free)") for s in (1, 2)]
    + [_case(f"planarflow_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out: the gradients accumulate") for s in (1, 2)]
    + [_case("planarflow_n1024_s1", "healthy", 1, {"n": 1024},
             f"{_P}: gen_data(1024) (--n 1024, the batch x2; expected harmless)")]
    + [_case("planarflow_flows3_s1", "healthy", 1, {"flows_n": 3},
             f"{_P}: --flows 3 (one more planar flow; expected harmless)")]
)


if __name__ == "__main__":
    import ast
    import sys

    kw = {k: ast.literal_eval(v) for k, v in (a.split("=") for a in sys.argv[1:])}
    r = train(**kw)
    print({k: v for k, v in r.items() if k not in ("monitors",)})
