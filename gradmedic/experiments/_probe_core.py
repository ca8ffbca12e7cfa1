"""One forward and backward pass through a freshly built network, seen layer by layer.

The initialization and SELU studies need no training loop: what they show is the state of the
network at step 0 (seed 002 Fig. 7.23/7.24; Glorot & Bengio 2010; Klambauer et al. 2017).  The
network comes from ``gradmedic.model.build.build`` with the trainer's seeding, so it is exactly the one
``gradmedic train`` would start from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from gradmedic.measure import units
from gradmedic.measure.hooks import capture_outputs
from gradmedic.model.build import build
from gradmedic.model.data import Dataset
from gradmedic.model.optim import make_loss
from gradmedic.model.plan import plan
from gradmedic.spec import Spec

# Histograms need no more: 200k values put ~5k in each of 40 bins (a share to ~1.5%).
MAX_KEEP = 200_000


@dataclass
class Probe:
    """Per activation layer (first hidden layer first): its outputs and the loss gradient w.r.t. them."""

    names: list[str]  # activation module names (act1, act2, ...)
    acts: list[np.ndarray]  # flattened outputs, float64, at most MAX_KEEP values each
    grads: list[np.ndarray] | None  # dLoss/d(output), same shapes; None without backward
    act_mean: list[float]
    act_std: list[float]
    act_var: list[float]
    grad_std: list[float] | None
    # per layer, the bounds of saturation (gradmedic.measure.units); None for a layer that does not saturate
    bounds: list[tuple[float, float] | None] = field(default_factory=list)

    def saturated(self, level: float | None = None) -> list[float | None]:
        """Share of each layer's outputs that are saturated (:mod:`gradmedic.measure.units`: tanh |a| >= 0.99,
        sigmoid outside (0.01, 0.99)); None for a layer that does not saturate.  With ``level``: the
        share with |a| > level in every layer, whatever its activation."""
        if level is not None:
            return [float(np.mean(np.abs(a) > level)) for a in self.acts]
        return [float(units.saturated_share(torch.from_numpy(a)[None], b)[0]) if b is not None and len(a) else None
                for a, b in zip(self.acts, self.bounds, strict=False)]


def _keep(t: torch.Tensor, gen: np.random.Generator) -> np.ndarray:
    a = t.detach().double().flatten().numpy()
    return a if a.size <= MAX_KEEP else gen.choice(a, MAX_KEEP, replace=False)


def probe(spec: Spec, data: Dataset, *, n: int = 1000, backward: bool = True) -> Probe:
    """Build ``spec.model`` for ``data`` (seeded by ``spec.train.seed``, as the trainer does), run the
    first ``n`` training inputs forward and, with ``backward``, the loss backward (the trainer's loss:
    :func:`gradmedic.model.plan.plan`).  Outputs are captured by the monitor's hook mechanism
    (:func:`gradmedic.measure.hooks.capture_outputs`) on the modules the monitor measures."""
    loss_name = plan(spec, data).loss  # a loss that does not fit the task fails here, as in the trainer
    torch.manual_seed(spec.train.seed)
    model = build(spec.model, data)
    model.train()
    mods = units.activation_modules(model)
    names = [name for name, _, _ in mods]
    x, y = data.x_train[:n], data.y_train[:n]
    with capture_outputs([(name, m) for name, m, _ in mods], retain_grad=backward) as outs:
        with torch.set_grad_enabled(backward):
            out = model(x)
            if backward:
                make_loss(loss_name)(out, y).backward()
    full = [outs[k].detach().double() for k in names]
    gen = np.random.default_rng(0)
    grads = None
    if backward:
        gfull = [outs[k].grad.double() for k in names]
        grads = [_keep(g, gen) for g in gfull]
    return Probe(
        names=names, acts=[_keep(a, gen) for a in full], grads=grads,
        act_mean=[float(a.mean()) for a in full], act_std=[float(a.std()) for a in full],
        act_var=[float(a.var()) for a in full],
        grad_std=[float(g.std()) for g in gfull] if backward else None,
        bounds=[units.saturation_bounds(m) for _, m, _ in mods],
    )


def spread(values: list[float]) -> float:
    """max / min of positive values: how far apart the layers are (1 = identical)."""
    v = np.asarray(values, dtype=float)
    return float(v.max() / v.min()) if v.min() > 0 else float("inf")
