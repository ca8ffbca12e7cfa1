"""PyTorch tutorials, "Learning PyTorch with Examples": the custom autograd Function LegendrePolynomial3, watched by gradmedic.

Adapted from https://github.com/pytorch/tutorials (BSD 3-Clause, Copyright (c) 2017-2022, Pytorch contributors, see
LICENSE-ptlegendre): beginner_source/examples_autograd/polynomial_custom_function.py at commit
c53e7d4efc0e39e455c531d21ec7db28ba220214.  A third order polynomial ``y = a + b * P3(c + d * x)`` with
``P3(x) = 0.5 * (5x^3 - 3x)`` fitted to ``y = sin(x)`` on ``x = torch.linspace(-pi, pi, 2000)``.

Kept as in the tutorial: ``LegendrePolynomial3`` (forward ``0.5 * (5 * input ** 3 - 3 * input)`` with
``ctx.save_for_backward(input)``, backward ``grad_output * 1.5 * (5 * input ** 2 - 1)``); the data (2000 points of
``linspace(-pi, pi)``, ``y = sin(x)``, float32); the four scalar weights and their starting values a = 0.0, b = -1.0,
c = 0.0, d = 0.3; the loss ``(y_pred - y).pow(2).sum()``; ``learning_rate = 5e-6``; 2000 steps; the update by hand
under ``torch.no_grad()`` (``a -= learning_rate * a.grad`` ...) followed by ``a.grad = None`` ... for the four
weights.

Changed: the four weights are ``nn.Parameter``s of a small ``nn.Module`` (``LegendreWeights``: a, b, c, d), not loose
tensors, so that ``gradmedic.watch(module, every=10)`` finds them (the loop uses ``w.a`` for ``a`` and so on; the
arithmetic is the tutorial's).  The tutorial's start is the same for every run (no randomness at all), so that
seeds 1-3 are not three copies of one run each starting value gets ``0.01 * torch.randn(())`` added, drawn after
``torch.manual_seed(seed)`` (the runs still converge to the same fit: a -> ~0, b -> ~-2.2, c -> ~0, d -> ~0.26);
``print(t, loss.item())`` every 100 steps only with ``verbose``.  Nothing else needed cutting: 2000 steps take
about 1 s.  Metric "loss": the final loss (the mean of the last 20 steps' sum of squares); "initial" the mean of
the first 5 steps; "chance" the zero predictor's loss (sum of sin(x)^2 = 999.5).  In the targets-x100 variant both
are divided by 100^2 (units of a unit sine, as the healthy runs); the monitor still sees the raw loss.

The watch, as a user would: no optimizer object (the update is by hand), so ``monitor = gradmedic.watch(w,
every=10)`` right after the weights are made; ``monitor.step(loss)`` right after ``loss.backward()``, before the
update by hand; ``monitor.close()`` after the loop.

``CASES`` (program "ptlegendre"): the program on seeds 1-3, and one change each against the same seed's healthy
run: learning_rate x10 (5e-5), x100 (5e-4; seeds 1 and 2), /1000 (5e-9); x scaled by 100 inside the polynomial
(``P3(c + d * 100x)``, the target still sin of the unscaled x: "unscaled_inputs"); the target ``100 sin(x)``
("unscaled_target"); the ``a.grad = None`` ... lines left out (the gradients accumulate: "no_zero_grad"); a, b, c,
d drawn ``normal_(std=1)`` instead of the tutorial's values ("init_large"); a, b, c, d all zero
("symmetric_init": every gradient is exactly zero there, as P3(0) = 0 and sin is odd); learning_rate x2 (1e-5) and
x1.5 (7.5e-6; the one expected harmless).  Labels come from run.py's outcome rules only.
Recorded (cases-public48, ~1 s a run): healthy final loss 8.949, 8.948, 8.949 on seeds 1-3 (from 351.3, 325.3,
333.9 over the first 5 steps; largest 509, 393, 424; every loss finite; the fit a ~0, b -2.21, c ~0, d 0.255):
healthy; learning_rate x10: the loss climbs to 6.9e24, non-finite from step 22: broken; x100: non-finite from step 2
(seeds 1 and 2): broken; /1000: 326.2 (from 508.4): broken; inputs x100: 1.4e15 at the first step, non-finite from
step 1: broken; targets x100: non-finite from step 3: broken; grads not set to None: non-finite from step 58:
broken; init N(0, 1): the first losses ~1e27, non-finite from step 4: broken; all-zero start: stays at 999.5 (no
gradient at all): broken; learning_rate x2: 30.98 (every loss finite, largest 509 as its control's; it settles
3.5x above its control): broken; learning_rate x1.5: 8.82: healthy.  Labels: 4 healthy (3 programs, 1 variant),
10 broken, 0 ambiguous.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from torch import nn

import gradmedic

ARCH = "linear"
MONITOR_AT = ("watch(w, every=10) without an optimizer (a, b, c, d are nn.Parameters of a small module, updated by "
              "hand); monitor.step(loss) right after loss.backward(), before the manual update "
              "a -= learning_rate * a.grad ... and a.grad = None ...")
LR = 5e-6
STEPS = 2000


class LegendrePolynomial3(torch.autograd.Function):
    """
    We can implement our own custom autograd Functions by subclassing
    torch.autograd.Function and implementing the forward and backward passes
    which operate on Tensors.
    """

    @staticmethod
    def forward(ctx, input):
        """
        In the forward pass we receive a Tensor containing the input and return
        a Tensor containing the output. ctx is a context object that can be used
        to stash information for backward computation. You can cache arbitrary
        objects for use in the backward pass using the ctx.save_for_backward method.
        """
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        """
        In the backward pass we receive a Tensor containing the gradient of the loss
        with respect to the output, and we need to compute the gradient of the loss
        with respect to the input.
        """
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


class LegendreWeights(nn.Module):
    """The tutorial's four scalar weights as nn.Parameters (the port's change, so that gradmedic.watch finds them)."""

    def __init__(self, a, b, c, d):
        super().__init__()
        self.a, self.b, self.c, self.d = (nn.Parameter(torch.tensor(float(v))) for v in (a, b, c, d))


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, target_scale: float = 1.0,
          zero_grad: bool = True, init: str = "tutorial", steps: int = STEPS, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    dtype = torch.float
    device = torch.device("cpu")

    # Create Tensors to hold input and outputs.
    x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
    y = torch.sin(x) * target_scale  # target_scale 100: the unscaled_target variant
    x_in = x * input_scale  # input_scale 100: the unscaled_inputs variant (the target stays sin of the unscaled x)

    # 4 weights: y = a + b * P3(c + d * x), initialized not too far from the correct result to ensure convergence.
    start = torch.tensor([0.0, -1.0, 0.0, 0.3]) + 0.01 * torch.randn(4)  # the port's seeded jitter
    if init == "std1":  # the init_large variant
        start = torch.randn(4)
    elif init == "zero":  # the symmetric_init variant
        start = torch.zeros(4)
    elif init != "tutorial":
        raise ValueError(init)
    w = LegendreWeights(*start.tolist())
    a, b, c, d = w.a, w.b, w.c, w.d
    monitor = gradmedic.watch(w, every=every)  # gradmedic

    learning_rate = LR * lr_mult
    losses = []
    for t in range(steps):
        # To apply our Function, we use Function.apply method. We alias this as 'P3'.
        P3 = LegendrePolynomial3.apply

        # Forward pass: compute predicted y using operations; we compute
        # P3 using our custom autograd operation.
        y_pred = a + b * P3(c + d * x_in)

        # Compute and print loss
        loss = (y_pred - y).pow(2).sum()
        if verbose and t % 100 == 99:
            print(t, loss.item())
        losses.append(loss.item())

        # Use autograd to compute the backward pass.
        loss.backward()
        monitor.step(loss)  # gradmedic

        # Update weights using gradient descent
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad

            # Manually zero the gradients after updating weights
            if zero_grad:  # the no_zero_grad variant leaves these out
                a.grad = None
                b.grad = None
                c.grad = None
                d.grad = None
    monitor.close()
    if verbose:
        print(f'Result: y = {a.item()} + {b.item()} * P3({c.item()} + {d.item()} x)')

    s2 = target_scale ** 2
    L = np.asarray(losses, dtype=np.float64) / s2
    value = float(np.mean(L[-20:]))
    initial = float(np.mean(L[:5]))
    finite = bool(np.isfinite(L).all())
    max_loss = float(np.nanmax(L)) if (~np.isnan(L)).any() else float("nan")  # inf when a loss overflowed
    return {"monitors": {"": monitor}, "metric": "loss", "value": value if math.isfinite(value) else float("nan"),
            "chance": float((torch.sin(x) ** 2).sum()),
            "initial": initial if math.isfinite(initial) else float("nan"),
            "initial_what": "untrained: the mean loss (sum of squares, units of a unit sine) of the first 5 steps",
            "extra": dict(train_loss=value, first_loss=initial, max_loss=max_loss,
                          finite_losses=finite, steps=len(losses), lr=learning_rate, lr_mult=lr_mult,
                          input_scale=input_scale, target_scale=target_scale, zero_grad=zero_grad, init=init,
                          a=a.item(), b=b.item(), c=c.item(), d=d.item()),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="ptlegendre", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = (f"y = a + b * LegendrePolynomial3(c + d * x) fitted to sin(x) on 2000 points of [-pi, pi] (a, b, c, d start "
      f"0, -1, 0, 0.3; sum-of-squares loss; update by hand learning_rate {LR:g}, grads set to None; {STEPS} steps)")
CASES: list[dict] = (
    [_case(f"ptlegendre_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"ptlegendre_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: learning_rate x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("ptlegendre_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3},
             f"{_P}: learning_rate /1000 ({LR * 1e-3:g})")]
    + [_case("ptlegendre_inputs_x100_s1", "unscaled_inputs", 1, {"input_scale": 100.0},
             f"{_P}: x scaled by 100 inside the polynomial (P3(c + d * 100x)), the target still sin(x)")]
    + [_case("ptlegendre_targets_x100_s1", "unscaled_target", 1, {"target_scale": 100.0},
             f"{_P}: the target 100 sin(x) (the outcome divided by 100^2)")]
    + [_case("ptlegendre_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: the a.grad = None ... lines left out (the gradients accumulate)")]
    + [_case("ptlegendre_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_P}: a, b, c, d drawn from N(0, 1) instead of the tutorial's starting values")]
    + [_case("ptlegendre_zero_init_s1", "symmetric_init", 1, {"init": "zero"},
             f"{_P}: a, b, c, d all zero (every gradient is zero there)")]
    + [_case("ptlegendre_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: learning_rate x2 ({LR * 2:g})")]
    + [_case("ptlegendre_lr_x1p5_s1", "lr_high", 1, {"lr_mult": 1.5}, f"{_P}: learning_rate x1.5 ({LR * 1.5:g})")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
