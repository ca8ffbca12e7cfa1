"""Activation functions by their textbook names (seeds 001, 002 §7.4, 004).

PyTorch has all of them but Maxout, which is written here (seed 002 §7.4.4).
"""

from __future__ import annotations

import torch
from torch import nn

from gradmedic.spec import ModelSpec


class Maxout(nn.Module):
    """Maxout (Goodfellow et al. 2013; seed 002 §7.4.4): each unit is the max of k affine maps.

    ``affine`` maps its input to ``units * k`` features along dim 1 (an ``nn.Linear`` or a conv);
    feature ``i * k + j`` is piece ``j`` of unit ``i``.  Output: ``units`` features along dim 1.
    """

    def __init__(self, affine: nn.Module, k: int):
        super().__init__()
        self.affine = affine
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.affine(x)
        shape = a.shape
        a = a.reshape(shape[0], shape[1] // self.k, self.k, *shape[2:])
        return a.amax(dim=2)


def make(spec: ModelSpec, units: int) -> nn.Module:
    """A hidden activation module for a layer of ``units`` units (maxout is built by the caller)."""
    a = spec.activation
    if a == "sigmoid":
        return nn.Sigmoid()
    if a == "tanh":
        return nn.Tanh()
    if a == "relu":
        return nn.ReLU()
    if a == "leaky_relu":
        return nn.LeakyReLU(spec.leaky_slope)
    if a == "rrelu":  # slope drawn from U(lower, upper) per element in training, the mean at test
        return nn.RReLU(spec.rrelu_lower, spec.rrelu_upper)
    if a == "prelu":  # one learnable slope per unit (per channel in a CNN), seed 002 §7.4.3
        return nn.PReLU(num_parameters=units, init=0.25)
    if a == "elu":
        return nn.ELU(spec.elu_alpha)
    if a == "selu":
        return nn.SELU()
    raise ValueError(f"no module for activation {a!r}")
