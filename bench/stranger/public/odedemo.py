"""torchdiffeq's ode_demo: a Neural ODE fitted to a cubic spiral, watched by gradmedic.

Adapted from https://github.com/rtqichen/torchdiffeq (commit 657943acefa826ef04c025ebeb1ff5e9d60dc268,
examples/ode_demo.py; MIT License, Copyright (c) 2018 Ricky Tian Qi Chen, see LICENSE-odedemo).  Kept as upstream:
the true dynamics (``true_y0`` [[2, 0]], ``t = linspace(0, 25, 1000)``, ``true_A`` [[-0.1, 2], [-2, -0.1]],
``Lambda``: dy/dt = y**3 A), ``get_batch`` (batch_size 20 random starts, batch_time 10 points, numpy's
``np.random.choice``), ``ODEFunc`` (Linear(2, 50), Tanh, Linear(50, 2) applied to y**3; ``normal_(std=0.1)``
weights, zero biases), ``optim.RMSprop(func.parameters(), lr=1e-3)``, the loop (``optimizer.zero_grad()``,
``get_batch()``, ``odeint(func, batch_y0, batch_t)``, ``loss = torch.mean(torch.abs(pred_y - batch_y))``,
``loss.backward()``, ``optimizer.step()``) and the test (``odeint(func, true_y0, t)`` under no_grad, the mean
absolute error against ``true_y`` over all 1000 points).

Changed to run offline on one CPU thread: torchdiffeq is not installed, so only its fixed-grid rk4 path is vendored
below (``rk4_alt_step_func`` from _impl/rk_common.py, ``RK4._step_func`` from _impl/fixed_grid.py and
``FixedGridODESolver.integrate`` from _impl/solvers.py, with t as the grid) and every solve, the data's too, uses
``method='rk4'`` on the time grid's steps (dt = 25/999) instead of upstream's default adaptive dopri5 (no adaptive
solver vendored; upstream's --method flag is parsed but never passed to odeint); NITERS = 1000 iterations (upstream
--niters 2000: 2000 take ~16 s on an idle core, 2-5x that on this shared machine; the test loss is already at its
trained level by iteration 400); the seed goes to torch.manual_seed and np.random.seed (upstream sets none); the
device is the CPU; no plots (--viz); the test every --test_freq 20 iterations is run every 100 instead (kept in
``extra["test_every_100"]``).  Knobs (one per variant): ``lr_mult``; ``init_std`` for both Linear weights;
``data_scale`` multiplies true_y0 and every true_y point (the spiral in smaller units; the test loss and the
``extra`` train/first losses are divided back by it); ``zero_grad=False`` leaves ``optimizer.zero_grad()`` out;
``act`` ("relu" swaps the Tanh); ``hidden``; ``batch_size``.

The watch, as a user would: ``monitor = gradmedic.watch(func, optimizer, every=10)`` right after the RMSprop is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after
the loop.  Metric "loss": the whole-trajectory test loss from ``true_y0`` over all 1000 points after training (upstream's
"Total Loss"); ``initial`` the same for the untrained func (1.836, 0.683, 6.338 on seeds 1-3: an untrained field
drifts from [2, 0] by a seed-dependent amount).  This test loss is noisy: a small error in the spiral's angular speed
becomes a phase error over t = 25, so it moves between ~0.15 and ~0.75 from one test to the next in a healthy run
while the training loss stays near 0.004; the labels inherit that noise.

``CASES`` (program "odedemo"): the program on seeds 1-3, and one change each against the same seed's healthy run:
RMSprop lr x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) weights instead of N(0, 0.1); the data x100; the missing
``optimizer.zero_grad()``; Tanh replaced by ReLU (cause "healthy": the ReLU func trains as well; no cause names it,
and an untrained ReLU field on y**3 blows up, so its untrained test loss is not finite); and two changes expected
harmless: batch_size 40 and hidden width 100 (cause "healthy").
Recorded (cases-public133; 18-72 s a run while the shared 2-core machine was loaded 3x over, ~8 s idle): healthy
test loss 0.375, 0.347, 0.153 on seeds 1-3 (untrained 1.836, 0.683, 6.338; training loss 0.057-0.091 over the first
5 iterations -> 0.004-0.006 over the last 20; largest 0.11-0.14; every loss finite): healthy; lr x10: 0.600 (training
loss 0.011): ambiguous (worse, not twice the control's); lr x100: 0.840 (seed 1) and 0.656 (seed 2, untrained 0.683;
broken by half the progress), first-5 training loss 1.0-1.1, largest 2.1 and 3.5, training loss 0.056-0.058: broken;
lr x1000: first-5 mean 6.5, largest 15.3, training loss 1.48, 1.894 (above the untrained 1.836): broken; lr /1000:
1.795 (training loss 0.082): broken; N(0, 1) init: untrained 1.654, training loss 0.011, 0.823: broken; data x100:
the func never fits (largest loss 17.8 in the x100 units, training loss 0.065 and test loss 1.377 back in the
original units, untrained 1.259): broken; zero_grad left out: 0.780 (training loss 0.019): broken; ReLU: 0.231
(training loss 0.0023) but an untrained test loss of NaN, so no good outcome can be stated: ambiguous; batch_size
40: 0.394: healthy; hidden 100: 0.565 (untrained 2.882): healthy (below 0.7x its untrained loss, not twice the
control's).  Labels: 5 healthy (3 programs, batch 40, hidden 100), 7 broken, 2 ambiguous (lr x10, ReLU).  Every
run's losses were finite.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(func, optimizer, every=10) right after optimizer = optim.RMSprop(func.parameters(), lr=1e-3); "
              "monitor.step(loss) right after loss.backward() (the L1 loss of an rk4 solve over batch_time 10 grid "
              "points from 20 random starts), before optimizer.step() (optimizer.zero_grad() at the top of the "
              "iteration, upstream's order)")

NITERS = 1000  # upstream: --niters 2000
data_size = 1000
batch_time = 10
batch_size = 20


# ---------------------------------------------------------------------------------------------------------------
# The fixed-grid rk4 path of torchdiffeq's odeint, vendored (torchdiffeq is not installed).  MIT License, Copyright
# (c) 2018 Ricky Tian Qi Chen (see LICENSE-odedemo).  Only what odeint(func, y0, t, method='rk4') does on a tensor
# y0 with no options: the grid is t itself, each step is rk4_alt_step_func (the 3/8 rule), and the solution at each
# grid point is the step's end (the linear interpolation returns y1 when t == t1).  The _PerturbFunc wrapper is left
# out: it only nudges t, and these fields do not depend on t.
# ---------------------------------------------------------------------------------------------------------------
_one_third = 1 / 3
_two_thirds = 2 / 3


def rk4_alt_step_func(func, t0, dt, t1, y0, f0=None):
    """Smaller error with slightly more compute."""  # upstream: torchdiffeq/_impl/rk_common.py (perturb left out)
    k1 = f0
    if k1 is None:
        k1 = func(t0, y0)
    k2 = func(t0 + dt * _one_third, y0 + dt * k1 * _one_third)
    k3 = func(t0 + dt * _two_thirds, y0 + dt * (k2 - k1 * _one_third))
    k4 = func(t1, y0 + dt * (k1 - k2 + k3))
    return (k1 + 3 * (k2 + k3) + k4) * dt * 0.125


def odeint(func, y0, t, method='rk4'):
    """upstream: torchdiffeq/_impl/odeint.py odeint -> solvers.py FixedGridODESolver.integrate -> fixed_grid.py RK4,
    with grid_constructor t (no step_size) and interp "linear" (exact at the grid points)."""
    assert method == 'rk4', "only the fixed-grid rk4 solver is vendored"
    t = t.to(y0.abs().dtype)  # upstream: _check_inputs / _PerturbFunc cast t to y0's dtype
    time_grid = t
    solution = [y0]  # upstream: torch.empty(len(t), ...) filled in place; a stack of the same values
    y0_ = y0
    for t0, t1 in zip(time_grid[:-1], time_grid[1:], strict=True):
        dt = t1 - t0
        f0 = func(t0, y0_)  # upstream: RK4._step_func
        dy = rk4_alt_step_func(func, t0, dt, t1, y0_, f0=f0)
        y1 = y0_ + dy
        solution.append(y1)  # upstream: _linear_interp(t0, t1, y0, y1, t[j]) returns y1 when t[j] == t1
        y0_ = y1
    return torch.stack(solution, dim=0)


# ---------------------------------------------------------------------------------------------------------------
# examples/ode_demo.py
# ---------------------------------------------------------------------------------------------------------------
class Lambda(nn.Module):

    def __init__(self, true_A):
        super().__init__()  # upstream: true_A is a module-level global
        self.true_A = true_A

    def forward(self, t, y):
        return torch.mm(y**3, self.true_A)


class ODEFunc(nn.Module):

    def __init__(self, hidden=50, act="tanh", init_std=0.1):
        super(ODEFunc, self).__init__()  # noqa: UP008 (as upstream)

        self.net = nn.Sequential(
            nn.Linear(2, hidden),  # upstream: 50 (the hidden-100 variant changes it)
            nn.Tanh() if act == "tanh" else nn.ReLU(),  # upstream: nn.Tanh() (the relu variant swaps it)
            nn.Linear(hidden, 2),
        )

        for m in self.net.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0, std=init_std)  # upstream: std=0.1 (the init variant: 1.0)
                nn.init.constant_(m.bias, val=0)

    def forward(self, t, y):
        return self.net(y**3)


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float = 0.1, data_scale: float = 1.0, zero_grad: bool = True,
          act: str = "tanh", hidden: int = 50, batch_size: int = batch_size, niters: int = NITERS, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    torch.manual_seed(seed)  # upstream sets no seed
    np.random.seed(seed)
    t_start = time.time()
    device = torch.device('cpu')  # upstream: cuda if available

    true_y0 = torch.tensor([[2., 0.]]).to(device)
    t = torch.linspace(0., 25., data_size).to(device)
    true_A = torch.tensor([[-0.1, 2.0], [-2.0, -0.1]]).to(device)

    with torch.no_grad():
        true_y = odeint(Lambda(true_A), true_y0, t, method='rk4')  # upstream: method='dopri5' (adaptive, not vendored)
    # the unscaled_inputs variant: the spiral recorded in units data_scale times smaller (true_y0 and every point
    # multiplied by data_scale; the field the net must learn is the same spiral's, dz/dt = s (z/s)**3 A)
    true_y0, true_y = true_y0 * data_scale, true_y * data_scale

    def get_batch():
        s = torch.from_numpy(np.random.choice(np.arange(data_size - batch_time, dtype=np.int64), batch_size,
                                              replace=False))
        batch_y0 = true_y[s]  # (M, D)
        batch_t = t[:batch_time]  # (T)
        batch_y = torch.stack([true_y[s + i] for i in range(batch_time)], dim=0)  # (T, M, D)
        return batch_y0.to(device), batch_t.to(device), batch_y.to(device)

    def test_loss(func):
        with torch.no_grad():
            pred_y = odeint(func, true_y0, t, method='rk4')  # upstream: odeint(func, true_y0, t) (dopri5)
            loss = torch.mean(torch.abs(pred_y - true_y))
        return float(loss) / data_scale  # in the original units (data_scale 1 upstream)

    func = ODEFunc(hidden=hidden, act=act, init_std=init_std).to(device)
    initial = test_loss(func)

    lr = 1e-3 * lr_mult
    optimizer = optim.RMSprop(func.parameters(), lr=lr)
    monitor = gradmedic.watch(func, optimizer, every=every)  # gradmedic

    losses, tests = [], []
    for itr in range(1, niters + 1):
        if zero_grad:  # the no_zero_grad variant leaves this out
            optimizer.zero_grad()
        batch_y0, batch_t, batch_y = get_batch()
        pred_y = odeint(func, batch_y0, batch_t, method='rk4').to(device)  # upstream: odeint(func, batch_y0, batch_t)
        loss = torch.mean(torch.abs(pred_y - batch_y))
        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()
        losses.append(loss.item())

        if itr % 100 == 0:  # upstream: the whole-trajectory test every --test_freq 20 iterations (a full solve each)
            tests.append(test_loss(func))
            if verbose:
                print('Iter {:04d} | Total Loss {:.6f} | {:.1f}s'.format(itr, tests[-1], time.time() - t_start))  # noqa: UP032
    monitor.close()

    value = test_loss(func)
    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "loss", "value": value, "initial": initial,
            "initial_what": "untrained: the whole-trajectory L1 loss of the initialized func from true_y0 over all "
                            "1000 points (upstream's test)",
            "chance": float("nan"),
            "extra": {"train_loss": float(np.mean(la[-20:])) / data_scale, "first_loss": float(np.mean(la[:5])) / data_scale,
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "steps": len(losses), "lr": lr,
                      "lr_mult": lr_mult, "init_std": init_std, "data_scale": data_scale, "zero_grad": zero_grad,
                      "act": act, "hidden": hidden, "batch_size": batch_size,
                      "test_every_100": [x if math.isfinite(x) else float("nan") for x in tests]},
            "seconds": time.time() - t_start}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="odedemo", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"torchdiffeq ode_demo (ODEFunc Linear(2, 50), Tanh, Linear(50, 2) on y**3, N(0, 0.1) weights, zero biases; "
      f"RMSprop lr 1e-3; L1 loss of an rk4 solve over batch_time {batch_time}, batch_size {batch_size}; {NITERS} "
      f"iterations)")
CASES: list[dict] = (
    [_case(f"odedemo_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"odedemo_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: RMSprop lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("odedemo_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: RMSprop lr /1000 (1e-06)")]
    + [_case("odedemo_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) instead of std=0.1 on both Linear weights (biases zero as upstream)")]
    + [_case("odedemo_data_x100_s1", "unscaled_inputs", 1, {"data_scale": 100.0},
             f"{_P}: the spiral in units 100x smaller (true_y0 = [[200., 0.]] and every true_y point x100), so the "
             f"func's Linear(2, 50) sees y**3 of order 1e6; the test loss is divided by 100 (original units)")]
    + [_case("odedemo_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("odedemo_relu_s1", "healthy", 1, {"act": "relu"},
             f"{_P}: nn.ReLU() instead of nn.Tanh() (expected harmless; no cause names it)")]
    + [_case("odedemo_batch40_s1", "healthy", 1, {"batch_size": 40}, f"{_P}: batch_size 40 (expected harmless)")]
    + [_case("odedemo_hidden100_s1", "healthy", 1, {"hidden": 100}, f"{_P}: hidden width 100 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
