"""PyTorch tutorials, "Learning PyTorch with Examples": ``DynamicNet`` (control flow + weight sharing), watched by gradmedic.

Adapted from https://github.com/pytorch/tutorials (BSD 3-Clause, Copyright (c) 2017-2022, Pytorch contributors, see
LICENSE-ptdynnet): beginner_source/examples_nn/dynamic_net.py at commit 1d189709801e98f5f184af0567c7f06b8b5156c2 (the
polynomial version of the tutorial; an older stored version, e13beed18d7cc24f9ed01746a6d03325ce622800, is the
earlier ReLU net on random data with lr 1e-4 and 500 steps, not ported).

Kept as in the tutorial: ``DynamicNet`` with five scalar ``nn.Parameter``s a..e drawn ``torch.randn(())``, forward
``y = a + b x + c x^2 + d x^3`` plus ``e * x ** exp`` for ``exp in range(4, random.randint(4, 6))`` (0, 1 or 2
extra orders each pass, the same ``e`` reused); the data ``x = torch.linspace(-pi, pi, 2000)``, ``y = sin(x)``;
``torch.nn.MSELoss(reduction='sum')``; ``torch.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)``; the step
``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``.

Changed: 15000 steps instead of 30000 (a run takes 7-11 s on one CPU thread with the watch instead of ~16-22 s, as
the brief asks for ~15 s; the healthy loss still falls from ~1e5-1e6 to ~12, where 30000 steps reach ~9);
``torch.manual_seed(seed)`` and ``random.seed(seed)`` first (the tutorial does not seed; ``random`` draws the number
of orders); ``print(t, loss.item())`` every 2000 steps only with ``verbose``.  Metric "loss": the final loss (the mean of the
last 20 steps' summed squared error); "initial" the mean of the first 5 steps; "chance" the zero predictor's loss
(sum of sin(x)^2 = 999.5).

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built; ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the loop.

``CASES`` (program "ptdynnet"): the program on seeds 1-3, and one change each against the same seed's healthy run:
lr x10 (1e-7), x100 (1e-6; seeds 1 and 2), /1000 (1e-11); x scaled by 100 (the polynomial of ``100 x``, the target
still sin of the unscaled x: "unscaled_inputs"); ``optimizer.zero_grad()`` left out; a..e drawn ``normal_(std=10)``
(ten times the tutorial's ``randn``: "init_large"); a..e all zero (cause "symmetric_init", though nothing is
symmetric in this model: expected harmless); ``optimizer.zero_grad()`` moved after ``optimizer.step()`` (the same
thing: cause "healthy"); lr x1.5 (1.5e-8; expected harmless).  Not included: the target ``100 sin(x)`` - the model
is linear in its weights, so the summed squared error in units of a unit sine follows the same path from any scale
(in trials it ended at 21.7 against the control's 27.8), while its raw loss, which the watch sees, is 1e4 times the
control's: the run.py rules could only call it ambiguous.  Labels come from run.py's outcome rules only.
Recorded (cases-public48, 119 s for the 27 runs of both programs; 7-11 s a run here): healthy final loss 11.76,
11.47, 12.42 on seeds 1-3 (from 6.8e5, 8.6e5, 7.8e4 over the first 5 steps; largest 2.8e6, 1.7e7, 1.2e5; every loss
finite): healthy; lr x10: non-finite from step 105: broken; lr x100: non-finite from step 33 (seed 1) and 22
(seed 2): broken; lr /1000: 3.0e4 (from 7.2e5): broken; inputs x100: the first loss ~1e17, non-finite from step 2:
broken; zero_grad left out: non-finite from step 162: broken; init std 10: 527.9 (from 2.2e8, largest 9.3e8):
broken; all-zero init: 10.45 (from 990.5): healthy; zero_grad after step: 11.76, the same run as its control
(zeroing before backward or after step is the same computation): healthy; lr x1.5: 8.98, largest loss 5.2e6 (1.86x
its control's 2.8e6, under run.py's 2x): healthy.  Labels: 7 healthy (3 programs, 4 variants), 8 broken,
0 ambiguous.
"""

from __future__ import annotations

import math
import random
import time

import numpy as np
import torch

import gradmedic

ARCH = "linear"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = torch.optim.SGD(model.parameters(), lr=1e-8, "
              "momentum=0.9); monitor.step(loss) right after loss.backward(), before optimizer.step()")
LR = 1e-8
STEPS = 15000


class DynamicNet(torch.nn.Module):
    def __init__(self):
        """
        In the constructor we instantiate five parameters and assign them as members.
        """
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))
        self.e = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        """
        For the forward pass of the model, we randomly choose either 4, 5
        and reuse the e parameter to compute the contribution of these orders.
        """
        y = self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3
        for exp in range(4, random.randint(4, 6)):
            y = y + self.e * x ** exp
        return y

    def string(self):
        """
        Just like any class in Python, you can also define custom method on PyTorch modules
        """
        return (f'y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + {self.d.item()} x^3 + '
                f'{self.e.item()} x^4 ? + {self.e.item()} x^5 ?')


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, zero_grad: str = "before",
          init: str = "randn", steps: int = STEPS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    random.seed(seed)
    t0 = time.time()

    # Create Tensors to hold input and outputs.
    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)
    x_in = x * input_scale  # input_scale 100: the unscaled_inputs variant

    # Construct our model by instantiating the class defined above
    model = DynamicNet()
    if init == "std10":  # the init_large variant
        for p in model.parameters():
            torch.nn.init.normal_(p, std=10.0)
    elif init == "zero":  # the all-zero variant
        for p in model.parameters():
            torch.nn.init.zeros_(p)
    elif init != "randn":
        raise ValueError(init)

    # Construct our loss function and an Optimizer. Training this strange model with
    # vanilla stochastic gradient descent is tough, so we use momentum
    lr = LR * lr_mult
    criterion = torch.nn.MSELoss(reduction='sum')
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    losses = []
    for t in range(steps):
        # Forward pass: Compute predicted y by passing x to the model
        y_pred = model(x_in)

        # Compute and print loss
        loss = criterion(y_pred, y)
        if verbose and t % 2000 == 1999:
            print(t, loss.item())
        losses.append(loss.item())

        # Zero gradients, perform a backward pass, and update the weights.
        if zero_grad == "before":  # "none": the no_zero_grad variant; "after": moved after optimizer.step()
            optimizer.zero_grad()
        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()
        if zero_grad == "after":
            optimizer.zero_grad()
    monitor.close()
    if verbose:
        print(f'Result: {model.string()}')

    L = np.asarray(losses, dtype=np.float64)
    value = float(np.mean(L[-20:]))
    initial = float(np.mean(L[:5]))
    finite = bool(np.isfinite(L).all())
    max_loss = float(np.nanmax(L)) if (~np.isnan(L)).any() else float("nan")  # inf when a loss overflowed
    return {"monitors": {"": monitor}, "metric": "loss", "value": value if math.isfinite(value) else float("nan"),
            "chance": float((y ** 2).sum()),
            "initial": initial if math.isfinite(initial) else float("nan"),
            "initial_what": "untrained: the mean loss (MSELoss(reduction='sum')) of the first 5 steps",
            "extra": dict(train_loss=value, first_loss=initial, max_loss=max_loss, finite_losses=finite,
                          steps=len(losses), lr=lr, lr_mult=lr_mult, input_scale=input_scale, zero_grad=zero_grad,
                          init=init, model=model.string()),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="ptdynnet", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = (f"DynamicNet (a + b x + c x^2 + d x^3 + e x^4? + e x^5?, a..e randn) fitted to sin(x) on 2000 points of "
      f"[-pi, pi]; MSELoss(reduction='sum'); SGD lr {LR:g} momentum 0.9; {STEPS} steps")
CASES: list[dict] = (
    [_case(f"ptdynnet_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"ptdynnet_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("ptdynnet_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case("ptdynnet_inputs_x100_s1", "unscaled_inputs", 1, {"input_scale": 100.0},
             f"{_P}: x scaled by 100 (the polynomial of 100 x), the target still sin(x)")]
    + [_case("ptdynnet_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": "none"},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("ptdynnet_init_std10_s1", "init_large", 1, {"init": "std10"},
             f"{_P}: a..e drawn normal_(std=10) instead of randn")]
    + [_case("ptdynnet_zero_init_s1", "symmetric_init", 1, {"init": "zero"}, f"{_P}: a..e all zeros_")]
    + [_case("ptdynnet_zero_grad_after_s1", "healthy", 1, {"zero_grad": "after"},
             f"{_P}: optimizer.zero_grad() moved after optimizer.step()")]
    + [_case("ptdynnet_lr_x1p5_s1", "lr_high", 1, {"lr_mult": 1.5}, f"{_P}: lr x1.5 ({LR * 1.5:g})")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
