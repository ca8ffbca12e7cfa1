"""Activation units: which modules' outputs gradmedic understands, and the one definition of a silent,
a dead and a saturated unit, and of a layer's row gain (how much it amplifies its input's scale).  The
monitor, the distributed reducer, the experiments' probes and the pictures all count with these functions
(pure tensor functions: tested against plain comparisons in tests/test_monitor.py).

- kind: ``"relu"`` for the ReLU family (an output <= 0 passes no signal: exactly 0 for ReLU),
  ``"saturating"`` for sigmoid, tanh and hardtanh, ``"other"`` for what is measured by mean and std only.
- silent output: <= 0, for the ReLU family.  A *dead* unit (a feature; a channel of an image) is silent
  for every sampled input: a healthy unit fires for about half the inputs, so for the 32 samples the
  monitor keeps it is silent on all of them with odds 2^-32.
- saturated output: sigmoid outside (0.01, 0.99), tanh and hardtanh outside (-0.99, 0.99): there the
  derivative is at most 1/25 of its peak (seed 002 §7.4), so the unit passes almost no gradient back.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from gradmedic.model.activations import Maxout

RELU_FAMILY = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.RReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish)
# the bounds of saturation (inclusive: an output at a bound is saturated), by module type
SATURATION = {nn.Sigmoid: (0.01, 0.99), nn.Tanh: (-0.99, 0.99), nn.Hardtanh: (-0.99, 0.99)}
OTHER = (Maxout, nn.Softplus)
# Unbounded activations get histogram range [-4, 4] (ReLU [0, 4]): a well-initialized layer has
# unit-variance pre-activations (He/LeCun/Glorot, seed 002 §7.5), so 4 std hold all but ~1e-4 of its
# outputs and 40 bins stay narrow enough (0.2) to show the shape; a layer whose outputs blow up shows
# as mass piling into the end bins, which is itself the message.
UNBOUNDED_RANGE = 4.0


def activation_kind(m: nn.Module) -> str | None:
    """``"relu"``, ``"saturating"``, ``"other"``, or None for a module whose output is not measured."""
    if isinstance(m, RELU_FAMILY):
        return "relu"
    if type(m) in SATURATION:
        return "saturating"
    if isinstance(m, OTHER):
        return "other"
    return None


def can_die(m: nn.Module) -> bool:
    """Whether a unit of the ReLU-family module ``m`` that never fires passes no gradient (or one that fades to 0), and
    so is dead: ReLU and ReLU6 (exactly 0 below 0), and the smooth members (GELU, SiLU, ELU, SELU, CELU, Mish: their
    slope tends to 0 far below 0).  Not a leaky unit - LeakyReLU of any slope c > 0 (PyTorch's default 0.01; GANs'
    0.2), PReLU (a learned slope), RReLU (random slopes): it "backpropagates a gradient of c if the input a < 0, thus
    avoiding the Dead ReLU problem" (seed 002 §7.4.3), so a unit of it with no positive output still learns and can
    come back.  (It is the remedy the doctor prescribes for dead ReLUs.)"""
    if isinstance(m, (nn.PReLU, nn.RReLU)):
        return False
    if isinstance(m, nn.LeakyReLU):
        return float(m.negative_slope) == 0.0
    return isinstance(m, RELU_FAMILY)


def activation_modules(model: nn.Module) -> list[tuple[str, nn.Module, str]]:
    """(name, module, kind) of every measured activation module of ``model``, in ``named_modules()`` order."""
    return [(name, m, kind) for name, m in model.named_modules() if (kind := activation_kind(m)) is not None]


def saturation_bounds(m: nn.Module) -> tuple[float, float] | None:
    """(lo, hi): outputs <= lo or >= hi are saturated; None for a module that does not saturate."""
    return SATURATION.get(type(m))


def activation_range(m: nn.Module) -> tuple[float, float]:
    """The fixed histogram range of an activation module's outputs: its own bounds where it has them."""
    if isinstance(m, nn.Sigmoid):
        return (0.0, 1.0)
    if isinstance(m, (nn.Tanh, nn.Hardtanh)):
        return (float(getattr(m, "min_val", -1.0)), float(getattr(m, "max_val", 1.0)))
    if isinstance(m, nn.ReLU6):
        return (0.0, 6.0)
    if type(m) is nn.ReLU:  # never negative: spend every bin on [0, 4]
        return (0.0, UNBOUNDED_RANGE)
    return (-UNBOUNDED_RANGE, UNBOUNDED_RANGE)


def unit_dim(ndim: int) -> int:
    """The dim that indexes units in an output of ``ndim`` dims: channels of an image (N, C, H, W), else the last."""
    return 1 if ndim == 4 else ndim - 1


# Counts with float ops (a comparison into bool costs 3-4x more on CPU): x > t exactly when x - t > 0
# (a difference of distinct floats is never 0), and relu(.).sign() is that 0/1 indicator.  NaN, which
# compares False, is first mapped to 1: not silent, not saturated (relu itself may map NaN to 0).
def _count_above(v: torch.Tensor) -> torch.Tensor:
    """Per row of the temporary (k, n) ``v`` (overwritten), how many entries are > 0 (NaN counts as > 0)."""
    return v.nan_to_num_(1.0).relu_().sign_().sum(1).double()


def silent_share(flat: torch.Tensor) -> torch.Tensor:
    """(k, n) outputs -> (k,) float64 share <= 0 per row (NaN is not silent)."""
    n = flat.shape[1]
    return (n - _count_above(torch.nan_to_num(flat, 1.0))) / n


def saturated_share(flat: torch.Tensor, bounds: tuple[float, float]) -> torch.Tensor:
    """(k, n) outputs -> (k,) float64 share <= lo or >= hi per row (NaN is not saturated)."""
    lo, hi = bounds
    n = flat.shape[1]
    return (2 * n - _count_above(flat - lo) - _count_above(hi - flat)) / n


def dead_share(x: torch.Tensor) -> torch.Tensor:
    """(k, N, ...) outputs of k layers of one shape (N samples) -> (k,) float64 share of their units
    (:func:`unit_dim` of a layer's output) silent for every sample and position."""
    u = unit_dim(x.dim() - 1) + 1
    return (x.amax(dim=tuple(d for d in range(1, x.dim()) if d != u)) <= 0).double().mean(1)


def alive_units(o: torch.Tensor) -> torch.Tensor:
    """(N, ...) outputs of one layer -> (units,) bool: the units that fire (> 0) for some sample (not dead)."""
    u = unit_dim(o.dim())
    return ~(o.movedim(u, -1).reshape(-1, o.shape[u]).amax(0) <= 0)


def zero_features(x: torch.Tensor, feature_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The input of a Linear/Conv layer under functional activations (F.relu: its silent outputs are
    exact zeros; negative inputs may come from elsewhere, so here silent means exactly 0): the share of
    exact zeros, and the share of features (along ``feature_dim``) exactly 0 for every sample."""
    peak = x.movedim(feature_dim, -1).reshape(-1, x.shape[feature_dim]).abs().amax(0)
    return (x == 0).float().mean(), (peak == 0).float().mean()


def saturated_fraction(m: nn.Module, values: Any) -> float | None:
    """The share of ``values`` (outputs of module ``m``: a tensor or an array) that are saturated, or None
    for a module that does not saturate.  For callers outside the monitor (pictures, experiments)."""
    bounds = saturation_bounds(m)
    if bounds is None:
        return None
    t = values.detach() if isinstance(values, torch.Tensor) else torch.from_numpy(np.asarray(values))
    t = t.reshape(1, -1)
    return float(saturated_share(t.float() if not t.is_floating_point() else t, bounds)[0]) if t.numel() else float("nan")


def silent_fraction(values: Any) -> float:
    """The share of ``values`` (a tensor or an array) that are <= 0 (silent, for the ReLU family)."""
    t = values.detach() if isinstance(values, torch.Tensor) else torch.from_numpy(np.asarray(values))
    t = t.reshape(1, -1)
    return float(silent_share(t.float() if not t.is_floating_point() else t)[0]) if t.numel() else float("nan")


def row_gain(weights: list[torch.Tensor], layout_known: bool = True) -> float:
    """How much a layer amplifies its input's scale: the root-mean-square norm of the rows of its weight matrices
    (each output's incoming weights; the largest over the layer's matrices, e.g. an LSTM's input and recurrent ones),
    NaN for a layer without one.  A unit fed unit-variance inputs has a pre-activation of about this std: fan-in
    inits give 0.58 (PyTorch's default), 1 (LeCun, orthogonal) or 1.41 (He), whatever the width; N(0, 1) weights
    give sqrt(fan_in).

    ``layout_known=False`` for a module PyTorch did not define: it may keep a matrix (in, out) and compute x @ W
    (nn-zero-to-hero's ``Linear``), so its rows are inputs, and a fan-in init of 30 -> 200 reads 2.6 across them.  Of the
    two readings of a matrix (its rows, its columns) the one nearer 1 is taken: a fan-in init reads as such either way
    round, and weights far too large or too small read so across both axes (N(0, 1) gives sqrt(in) and sqrt(out))."""
    gains = []
    for w in weights:
        if w.dim() < 2 or w.shape[0] == 0:
            continue
        norm = float(torch.linalg.vector_norm(w.detach().float()))
        g = norm / w.shape[0] ** 0.5
        if not layout_known and w.dim() == 2 and w.shape[1] > 0:
            g = min(g, norm / w.shape[1] ** 0.5, key=lambda v: abs(math.log(v)) if v > 0 else math.inf)
        gains.append(g)
    return max(gains) if gains else float("nan")
