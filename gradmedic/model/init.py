"""Weight initialization rules by name, through ``torch.nn.init`` (seed 000, 001, 002 §7.5).

=================  ==========================================  ===========================
name               rule                                        torch.nn.init call
=================  ==========================================  ===========================
glorot_normal      N(0, 2/(fan_in+fan_out))                     xavier_normal_
glorot_uniform     U(-r, r), r = sqrt(6/(fan_in+fan_out))       xavier_uniform_
he_normal          N(0, 2/fan_in)                               kaiming_normal_(fan_in)
he_uniform         U(-r, r), r = sqrt(6/fan_in)                 kaiming_uniform_(fan_in)
he_avg_normal      N(0, 4/(fan_in+fan_out))  (seed 002 §7.5)    xavier_normal_(gain=sqrt 2)
he_avg_uniform     U(-r, r), r = sqrt(12/(fan_in+fan_out))      xavier_uniform_(gain=sqrt 2)
lecun_normal       N(0, 1/fan_in)  (seed 001, for SELU)         kaiming_normal_(linear)
lecun_uniform      U(-r, r), r = sqrt(3/fan_in)                 kaiming_uniform_(linear)
=================  ==========================================  ===========================
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gradmedic.spec import ModelSpec

SQRT2 = math.sqrt(2.0)


def init_weight(w: torch.Tensor, spec: ModelSpec) -> None:
    """Initialize one weight tensor (out, in, ...) in place by ``spec.init``."""
    name = spec.init
    with torch.no_grad():
        if name == "default":  # what nn.Linear / nn.Conv*d.reset_parameters do to the weight
            nn.init.kaiming_uniform_(w, a=math.sqrt(5))
        elif name == "zeros":
            nn.init.zeros_(w)
        elif name == "constant":
            nn.init.constant_(w, spec.init_value)
        elif name == "normal":
            nn.init.normal_(w, 0.0, spec.init_std)
        elif name == "uniform":
            nn.init.uniform_(w, spec.init_a, spec.init_b)
        elif name == "glorot_normal":
            nn.init.xavier_normal_(w)
        elif name == "glorot_uniform":
            nn.init.xavier_uniform_(w)
        elif name == "he_normal":
            nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu")
        elif name == "he_uniform":
            nn.init.kaiming_uniform_(w, mode="fan_in", nonlinearity="relu")
        elif name == "he_avg_normal":
            nn.init.xavier_normal_(w, gain=SQRT2)
        elif name == "he_avg_uniform":
            nn.init.xavier_uniform_(w, gain=SQRT2)
        elif name == "lecun_normal":
            nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="linear")
        elif name == "lecun_uniform":
            nn.init.kaiming_uniform_(w, mode="fan_in", nonlinearity="linear")
        elif name == "orthogonal":
            nn.init.orthogonal_(w)
        else:
            raise ValueError(f"unknown init {name!r}")


def apply(model: nn.Module, spec: ModelSpec) -> None:
    """Apply ``spec.init`` to every Linear/Conv weight and ``spec.bias_init`` to their biases."""
    if spec.init == "default":
        return
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            init_weight(m.weight, spec)
            if m.bias is not None:
                nn.init.constant_(m.bias, spec.bias_init)
