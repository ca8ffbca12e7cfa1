"""Shota Deguchi's PINN_Torch Burgers PINN (tanh MLP, Glorot init, IC/BC + PDE-residual MSE, Adam), watched by gradmedic.

Adapted from https://github.com/ShotaDeguchi/PINN_Torch (commit fbe9fb15c9d104e7627ea710006b27d07892055a,
00_burgers/main.py, pinn.py, parameters.py, preparations.py, icbc.py, optimizers.py, activations.py; MIT License,
Copyright (c) 2022 Shota DEGUCHI, see LICENSE-pinnburgers): a PINN for the viscous Burgers equation
u_t + u u_x = nu u_xx, nu = 0.01/pi, x in [-1, 1], t in [0, 1], u(x, 0) = -sin(pi x), u(+-1, t) = 0 (Raissi et al.'s
problem).  Kept as upstream: ``prp_dat`` (the 101 x 201 grid; 101 initial points uniform in x, 200 boundary points
at x = +-1 with uniform t, 60% of each - 60 and 120 - for training, drawn with numpy after the seeding of
``params()``), ``initial``/``boundary``, the ``PINN`` module (``torch.nn.ModuleList`` of Linear layers
[2, width, width, width, width, 1] (depth 5), ``xavier_normal_(gain=1.)`` weights and zero biases, tanh, min-max
feature scaling of (x, t) to [-1, 1] with the collocation points' bounds, ``loss_ini``/``loss_bnd`` (Dirichlet)
/``loss_pde`` with ``torch.autograd.grad(..., create_graph=True)`` for u_x, u_t and u_xx, ``MSELoss``, weights
w_ini = w_bnd = w_pde = 1), ``torch.optim.Adam(lr=5e-4, betas=(0.9, 0.999), eps=1e-08)`` from ``opt_alg``, and the
loop (full batch: loss, ``zero_grad``, ``backward``, ``step``).  Upstream trains with Adam only (no L-BFGS phase), so
there is no closure here.  Upstream's validation split is empty (``idx_ini[N_ini_trn:N_ini_val]`` with
N_ini_val < N_ini_trn), so its validation loss is NaN and its tolerance stop never fires: both left out, with the
empty test split and the prints.

Changed to run offline on one CPU thread in ~25 s: WIDTH 64 instead of 2 ** 8 = 256 (same depth, activation and
init); EPOCHS = 500 instead of n_epch = 1e5; the first N_PDE = 2000 of upstream's 12180 shuffled training
collocation points; seed: r_seed = seed - 1 (seed 1 is upstream's r_seed 0); the device is the CPU, float32; no
figures.  Knobs (one per variant): ``lr_mult`` scales Adam's rate; ``init_std`` draws every weight from
N(0, init_std) instead of Glorot normal; ``in_scale`` multiplies the min-max-scaled input (x100: inputs in
[-100, 100]; the derivatives stay with respect to x and t, so the PDE is unchanged); ``act`` "sigmoid" or "relu"
instead of "tanh" (``act_func`` upstream offers tanh, silu, gelu, mish); ``depth_`` replaces depth 5;
``zero_grad=False`` leaves ``optimzer.zero_grad()`` out; ``n_pde`` replaces N_PDE; ``width`` replaces WIDTH.

The watch, as a user would: ``monitor = gradmedic.watch(pinn, pinn.optimzer, every=10)`` right after the PINN has
built its Adam, ``monitor.step(loss_trn)`` right after ``loss_trn.backward()``, before ``optimzer.step()``;
``monitor.close()`` after the loop.  Metric "test_rel_l2" (lower is better): the relative L2 error of the trained
network's u against the exact solution on upstream main.py's 101 x 101 inference grid; the exact solution is
computed here by the Cole-Hopf transform (``burgers_reference``; not upstream code: a quadrature of the closed-form
solution, which on Raissi's 256 x 100 grid reproduces burgers_shock.mat to 4e-11, checked once offline with that file,
which is not shipped); ``initial`` the same error of the network as initialized.

``CASES`` (program "pinnburgers"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10, x100, x1000 (x1000 added after x10 and x100 came out ambiguous), /1000; N(0, 1) weights (seeds 1 and
2); inputs x100; sigmoid instead of tanh with depth 10 (saturating_depth); ``zero_grad`` left out; ReLU instead of tanh
(u_xx of a ReLU net is 0 almost everywhere, so the viscous term passes no gradient: no cause in causes.py fits
exactly, "no_gradient" is the closest); and two changes expected harmless: lr x2 (cause "lr_high") and 1000
collocation points instead of 2000 (cause "healthy").  Labels come from run.py's outcome rules only.
Recorded (cases-public167; 9-43 s a run on the shared, loaded 2-core machine): healthy test error 0.4987, 0.4964,
0.5054 on seeds 1-3 (untrained 1.132, 0.988, 1.001; training loss 0.70, 0.44, 0.45 over the first 5 epochs -> 0.125,
0.101, 0.116 over the last 20; largest loss 0.945, 0.507, 0.561; every loss finite): healthy; lr x10: 0.4196, largest
loss 3.1 (over 2x the control's 0.945): ambiguous; lr x100: first-5 mean 135, largest 634, then recovers to loss
0.126 and 0.472: ambiguous; lr x1000: first-5 mean 9.5e6, largest 1.7e10, final loss 2374, 44.86: broken; lr /1000:
loss 0.94 -> 0.83, 1.113: broken; N(0, 1) weights: untrained error 20.8 (seed 1) and 14.3 (seed 2), first losses
4.4e5 and 2.3e5, final losses 4258 and 1706, 11.15 and 5.96: broken; inputs x100: untrained 1.435, largest loss 11.5,
final loss 0.204, 0.5558: ambiguous; sigmoid, depth 10: loss 0.55 -> 0.31, 0.604: ambiguous (a good outcome, but
over 1.1x the control's); ``zero_grad`` left out: the loss rises from 0.72 to 1.67 (largest 8.1), 1.506: broken;
ReLU: loss 0.52 -> 0.18, 0.6105: ambiguous; lr x2: 0.4685: healthy; 1000 collocation points: 0.4953: healthy.
Labels (15 runs): 5 healthy (3 programs, lr x2, 1000 collocation points), 5 broken, 5 ambiguous; every run's losses were
finite.  The shortened run leaves the PINN far from upstream's accuracy (an error of 0.5: the shock at x = 0 not yet
formed), so the faster rates end up lower than the controls after their early spikes.
"""

from __future__ import annotations

import os
import random
import time

import numpy as np
import torch

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(pinn, optimizer, every=10) right after the PINN (a torch.nn.Module holding its Linear layers) has "
              "built its torch.optim.Adam(self.layers.parameters(), lr=5e-4); monitor.step(loss_trn) right after "
              "loss_trn.backward() (loss_trn = MSE on the initial points + MSE on the boundary points + MSE of the "
              "Burgers residual u_t + u u_x - nu u_xx on the collocation points, derivatives by torch.autograd.grad "
              "with create_graph=True; full batch), before optimizer.step(); Adam only, no L-BFGS, no clipping")

# network structure (upstream parameters.py)
f_in = 2
f_out = 1
WIDTH = 64  # upstream: width = 2 ** 8 (256; see the docstring)
depth = 5
EPOCHS = 500  # upstream: n_epch = int(1e5)
N_PDE = 2000  # upstream: all 12180 training collocation points (60% of the 101 x 201 grid)
lr = 5e-4
nu = .01 / np.pi
w_ini = 1.
w_bnd = 1.
w_pde = 1.


# upstream icbc.py
def initial(x):
    if torch.is_tensor(x) == True:  # noqa: E712 (as upstream)
        pass
    else:
        x = torch.from_numpy(x)
    y = -torch.sin(np.pi * x)
    return y


def boundary(t):
    if torch.is_tensor(t) == True:  # noqa: E712 (as upstream)
        pass
    else:
        t = torch.from_numpy(t)
    y = torch.zeros(size = [t.shape[0]])
    return y


# upstream preparations.py (the validation and test splits, empty or unused upstream, left out)
def prp_dat():
    # set domain
    xmin, xmax, nx = -1., 1., int(1e2) + 1
    tmin, tmax, nt =  0., 1., int(2e2) + 1
    x = np.linspace(xmin, xmax, nx)
    t = np.linspace(tmin, tmax, nt)
    x, t = np.meshgrid(x, t)
    x, t = x.reshape(-1, 1), t.reshape(-1, 1)
    XT = np.c_[x, t]

    # find lower & upper bound
    lb = [min(XT[:,0]), min(XT[:,1])]
    ub = [max(XT[:,0]), max(XT[:,1])]

    # fraction for training, validation, test set
    frac_trn = .6

    # initial condition evaluation
    N_ini = nx
    x_ini = np.random.uniform(low=lb[0], high=ub[0], size=N_ini)
    t_ini = lb[1] * np.ones((N_ini))  # noqa: UP034 (as upstream)
    XT_ini = np.c_[x_ini, t_ini]

    N_ini = XT_ini.shape[0]
    N_ini_trn = int(frac_trn * N_ini)

    idx_ini = np.random.choice(N_ini, N_ini, replace=False)
    idx_ini_trn = idx_ini[0:N_ini_trn]
    XT_ini_trn = XT_ini[idx_ini_trn,:]

    # boundary condition evaluation
    N_bnd = nt
    x_lb = lb[0] * np.ones((int(.5 * N_bnd)))  # noqa: UP034 (as upstream)
    x_ub = ub[0] * np.ones((int(.5 * N_bnd)))  # noqa: UP034 (as upstream)
    x_bnd = np.append(x_lb, x_ub)
    t_bnd = np.random.uniform(low=lb[1], high=ub[1], size=N_bnd-1)
    XT_bnd = np.c_[x_bnd, t_bnd]

    N_bnd = XT_bnd.shape[0]
    N_bnd_trn = int(frac_trn * N_bnd)

    idx_bnd = np.random.choice(N_bnd, N_bnd, replace=False)
    idx_bnd_trn = idx_bnd[0:N_bnd_trn]
    XT_bnd_trn = XT_bnd[idx_bnd_trn,:]

    # PDE-residual evaluation
    N_pde = XT.shape[0]
    N_pde_trn = int(frac_trn * N_pde)

    idx_pde = np.random.choice(N_pde, N_pde, replace=False)
    idx_pde_trn = idx_pde[0:N_pde_trn]
    XT_pde_trn = XT[idx_pde_trn,:]

    return torch.from_numpy(XT_ini_trn), torch.from_numpy(XT_bnd_trn), torch.from_numpy(XT_pde_trn)


def act_func(name):
    if name == "tanh":
        activation = torch.nn.Tanh()
    elif name == "relu":  # upstream: tanh, silu, gelu, mish (the relu variant)
        activation = torch.nn.ReLU()
    elif name == "sigmoid":  # (the saturating_depth variant)
        activation = torch.nn.Sigmoid()
    else:
        raise NotImplementedError(">>>>> act_func")
    return activation


class PINN(torch.nn.Module):
    """upstream pinn.py's PINN, less the validation set, the prints and the tolerance stop."""

    def __init__(self, x_ini_trn, t_ini_trn, u_ini_trn, x_bnd_trn, t_bnd_trn, u_bnd_trn, x_pde_trn, t_pde_trn,
                 f_in, f_out, width, depth, act, lr, f_scl, nu, w_ini, w_bnd, w_pde, r_seed,
                 init_std=None, in_scale=1.0):
        # init
        super().__init__()
        self.f_in   = f_in  # noqa: E221 (as upstream)
        self.f_out  = f_out  # noqa: E221
        self.width  = width  # noqa: E221
        self.depth  = depth  # noqa: E221
        self.act    = act  # noqa: E221
        self.lr     = lr  # noqa: E221
        self.f_scl  = f_scl  # noqa: E221
        self.in_scale = in_scale
        self.r_seed = r_seed
        self.device = torch.device("cpu")
        self.setup(r_seed)

        # training set
        self.x_ini_trn = x_ini_trn.float().reshape(-1, 1).to(self.device)
        self.t_ini_trn = t_ini_trn.float().reshape(-1, 1).to(self.device)
        self.u_ini_trn = u_ini_trn.float().reshape(-1, 1).to(self.device)
        self.x_bnd_trn = x_bnd_trn.float().reshape(-1, 1).to(self.device)
        self.t_bnd_trn = t_bnd_trn.float().reshape(-1, 1).to(self.device)
        self.u_bnd_trn = u_bnd_trn.float().reshape(-1, 1).to(self.device)
        self.x_pde_trn = x_pde_trn.float().reshape(-1, 1).to(self.device)
        self.t_pde_trn = t_pde_trn.float().reshape(-1, 1).to(self.device)

        # weights
        self.w_ini = w_ini
        self.w_bnd = w_bnd
        self.w_pde = w_pde

        # setup
        self.nu = nu

        # bounds
        self.bounds = torch.cat((self.x_pde_trn, self.t_pde_trn), dim = 1)
        self.lb = torch.min(self.bounds, dim = 0).values.to(self.device)
        self.ub = torch.max(self.bounds, dim = 0).values.to(self.device)

        self.arch = [self.f_in] + [self.width] * (self.depth - 1) + [self.f_out]
        self.layers = torch.nn.ModuleList(
            [torch.nn.Linear(self.arch[d], self.arch[d + 1]) for d in range(self.depth)]
            )
        for d in range(0, self.depth):
            torch.nn.init.xavier_normal_(self.layers[d].weight.data, gain=1.)
            if init_std is not None:  # the init_large variant: N(0, init_std) instead of Glorot normal
                torch.nn.init.normal_(self.layers[d].weight.data, std=init_std)
            torch.nn.init.zeros_(self.layers[d].bias.data)

        self.activation = act_func(self.act)
        self.optimzer = torch.optim.Adam(  # upstream: opt_alg(self.layers.parameters(), self.lr, "Adam")
            self.layers.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, amsgrad=False
            )
        self.loss_func = torch.nn.MSELoss(reduction = "mean")
        self.loss_trn_log = []

    def setup(self, r_seed):
        os.environ["PYTHONHASHSEED"] = str(r_seed)
        np.random.seed(r_seed)
        random.seed(r_seed)
        torch.manual_seed(r_seed)

    def forward(self, x):
        # convert to tensor
        if torch.is_tensor(x) == True:  # noqa: E712 (as upstream)
            pass
        else:
            x = torch.from_numpy(x)

        # feature scaling
        x = x.to(self.device)
        if self.f_scl == "minmax":
            z = 2. * (x - self.lb) / (self.ub - self.lb) - 1.
        else:
            raise NotImplementedError(">>>>> forward_pass (f_scl)")
        z = self.in_scale * z  # upstream: no such factor (the unscaled_inputs variant: x100)

        # forward pass
        for d in range(0, self.depth - 1):
            u = self.layers[d](z)
            z = self.activation(u)
        y = self.layers[-1](z)
        return y

    def loss_ini(self, x, y):
        x_ = x.clone()
        x_.requires_grad = False
        y_ = self.forward(x_)
        loss = self.loss_func(y, y_)
        return loss

    def loss_bnd(self, x, y):  # upstream's bc == "Dir" branch
        x_ = x.clone()
        x_.requires_grad = True
        y_ = self.forward(x_)
        loss = self.loss_func(y, y_)
        return loss

    def loss_pde(self, x):
        x_ = x.clone()
        x_.requires_grad = True
        u = self.forward(x_)
        u_x_t   = torch.autograd.grad(u,     x_, torch.ones([x.shape[0], 1]).to(self.device), retain_graph=True, create_graph=True)[0]  # noqa: E221,E501
        u_xx_tt = torch.autograd.grad(u_x_t, x_, torch.ones(x.shape).to(self.device), create_graph=True)[0]
        u_x  = u_x_t[:,[0]]  # noqa: E221
        u_t  = u_x_t[:,[1]]  # noqa: E221
        u_xx = u_xx_tt[:,[0]]
        gveq = u_t + u * u_x - self.nu * u_xx
        _ = torch.zeros_like(gveq)
        loss = self.loss_func(_, gveq)
        return loss

    def loss_glb(self, x_ini, t_ini, u_ini, x_bnd, t_bnd, u_bnd, x_pde, t_pde):
        XT_ini = torch.cat((x_ini, t_ini), dim = 1)
        XT_bnd = torch.cat((x_bnd, t_bnd), dim = 1)
        XT_pde = torch.cat((x_pde, t_pde), dim = 1)
        loss_ini = self.loss_ini(XT_ini, u_ini)
        loss_bnd = self.loss_bnd(XT_bnd, u_bnd)
        loss_pde = self.loss_pde(XT_pde)
        loss = self.w_ini * loss_ini \
                + self.w_bnd * loss_bnd \
                + self.w_pde * loss_pde
        return loss

    def train(self, epoch=int(1e3), monitor=None, zero_grad=True, verbose=False):  # noqa: D102
        t0 = time.time()
        for ep in range(epoch):
            loss_trn = self.loss_glb(
                self.x_ini_trn, self.t_ini_trn, self.u_ini_trn,
                self.x_bnd_trn, self.t_bnd_trn, self.u_bnd_trn,
                self.x_pde_trn, self.t_pde_trn
            )
            # upstream: loss_val on the validation set, which is empty (idx_ini[N_ini_trn:N_ini_val] with
            # N_ini_val < N_ini_trn), so NaN; it only drives the tolerance stop, which therefore never fires
            if zero_grad:  # the no_zero_grad variant leaves this out
                self.optimzer.zero_grad()
            loss_trn.backward()
            if monitor is not None:
                monitor.step(loss_trn)  # gradmedic
            self.optimzer.step()
            ep_loss_trn = loss_trn.item()
            self.loss_trn_log.append(ep_loss_trn)
            if verbose and ep % 100 == 0:  # upstream: a print every f_mntr = 10 epochs
                print("epoch: %d, loss_trn: %.3e, elps: %.3f" % (ep, ep_loss_trn, time.time() - t0))  # noqa: UP031
        return self

    def infer(self, x):
        u_ = self.forward(x)
        u_ = u_.cpu().detach().numpy()
        return u_


def burgers_reference(x, t, nu=nu, n=2001):
    """The exact solution by the Cole-Hopf transform (as Raissi's burgers_shock.mat was made):
    u = -int sin(pi (x - e)) F(x - e) G(e) de / int F(x - e) G(e) de, F(y) = exp(-cos(pi y) / (2 pi nu)),
    G(e) = exp(-e^2 / (4 nu t)); the trapezoid rule over e in +-12 sqrt(4 nu t), weights normalised in log space.
    Not upstream code (upstream has no reference); on Raissi's 256 x 100 grid it matches burgers_shock.mat to 1e-10."""
    X, T = np.meshgrid(x, t)
    u = np.empty_like(X)
    for i, ti in enumerate(t):
        if ti == 0:
            u[i] = -np.sin(np.pi * x)
            continue
        s = np.sqrt(4 * nu * ti)
        e = np.linspace(-12 * s, 12 * s, n)
        y = x[:, None] - e[None, :]
        logw = -np.cos(np.pi * y) / (2 * np.pi * nu) - e[None, :] ** 2 / (4 * nu * ti)
        w = np.exp(logw - logw.max(axis=1, keepdims=True))
        u[i] = -(np.sin(np.pi * y) * w).sum(1) / w.sum(1)
    return u


_REF = {}


def test_grid():
    """upstream main.py's inference grid (nx = nt = 101 on [-1, 1] x [0, 1]) and the exact u on it."""
    if not _REF:
        nx, nt = 101, 101
        x, t = np.linspace(-1, 1, nx), np.linspace(0, 1, nt)
        X, T = np.meshgrid(x, t)
        X, T = X.reshape(-1, 1), T.reshape(-1, 1)
        XT = np.hstack((X, T)).astype(np.float32)
        _REF["XT"] = XT
        _REF["u"] = burgers_reference(x, t).reshape(-1, 1)
    return _REF["XT"], _REF["u"]


def rel_l2(pinn):
    XT, u = test_grid()
    with torch.no_grad():
        u_ = pinn.infer(XT).astype(np.float64)
    return float(np.linalg.norm(u_ - u) / np.linalg.norm(u))


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, in_scale: float = 1.0,
          act: str = "tanh", depth_: int = depth, width: int = WIDTH, n_pde: int = N_PDE, zero_grad: bool = True,
          epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float32)
    t0 = time.time()
    r_seed = seed - 1  # upstream: r_seed = 0 (seed 1 is upstream's)
    # upstream params(): seeds numpy, random and torch before prp_dat() draws the points
    os.environ["PYTHONHASHSEED"] = str(r_seed)
    np.random.seed(r_seed)
    random.seed(r_seed)
    torch.manual_seed(r_seed)
    XT_ini_trn, XT_bnd_trn, XT_pde_trn = prp_dat()
    XT_pde_trn = XT_pde_trn[:n_pde]  # upstream: all 12180 (already shuffled: the first n_pde of them)

    # training set
    u_ini_trn = initial(XT_ini_trn[:,0])
    u_bnd_trn = boundary(XT_bnd_trn[:,1])

    pinn = PINN(
        XT_ini_trn[:,0], XT_ini_trn[:,1], u_ini_trn,
        XT_bnd_trn[:,0], XT_bnd_trn[:,1], u_bnd_trn,
        XT_pde_trn[:,0], XT_pde_trn[:,1],
        f_in, f_out, width, depth_,
        act, lr * lr_mult, "minmax", nu,
        w_ini, w_bnd, w_pde, r_seed, init_std=init_std, in_scale=in_scale,
    )
    monitor = gradmedic.watch(pinn, pinn.optimzer, every=every)  # gradmedic
    initial_err = rel_l2(pinn)
    pinn.train(epoch=epochs, monitor=monitor, zero_grad=zero_grad, verbose=verbose)
    monitor.close()

    value = rel_l2(pinn)
    la = np.array(pinn.loss_trn_log)
    fin = np.isfinite(la)
    return {"monitors": {"": monitor}, "metric": "test_rel_l2", "value": value if np.isfinite(value) else float("nan"),
            "initial": initial_err,
            "initial_what": "untrained: relative L2 error of the initialized network's u against the exact "
                            "(Cole-Hopf) solution on upstream's 101 x 101 grid of [-1, 1] x [0, 1]",
            "chance": None,
            "extra": {"train_loss": float(np.mean(la[-20:])), "first_loss": float(np.mean(la[:5])),
                      "max_loss": float(np.nanmax(la)) if fin.any() else float("nan"),
                      "finite_losses": bool(fin.all()), "epochs": epochs, "lr": lr * lr_mult, "lr_mult": lr_mult,
                      "init_std": -1.0 if init_std is None else init_std, "in_scale": in_scale, "act": act,
                      "depth": depth_, "width": width, "n_pde": n_pde, "zero_grad": zero_grad},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="pinnburgers", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = (f"PINN_Torch Burgers PINN ([2, {WIDTH}, {WIDTH}, {WIDTH}, {WIDTH}, 1] tanh, Glorot normal, min-max input "
      f"scaling; MSE on 60 initial + 120 boundary points + MSE of the residual on {N_PDE} collocation points; Adam "
      f"lr 5e-4, full batch, {EPOCHS} epochs)")
CASES: list[dict] = (
    [_case(f"pinnburgers_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"pinnburgers_lr_x{k}_s1", "lr_high", 1, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({lr * k:g})")
       for k in (10, 100, 1000)]
    + [_case("pinnburgers_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 ({lr * 1e-3:g})")]
    + [_case(f"pinnburgers_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every Linear weight instead of xavier_normal_ (biases zero)")
       for s in (1, 2)]
    + [_case("pinnburgers_inputs_x100_s1", "unscaled_inputs", 1, {"in_scale": 100.0},
             f"{_P}: the network fed 100x the min-max-scaled (x, t), i.e. inputs in [-100, 100] instead of [-1, 1]; "
             f"the residual's derivatives stay with respect to x and t")]
    + [_case("pinnburgers_sigmoid_deep_s1", "saturating_depth", 1, {"act": "sigmoid", "depth_": 10},
             f"{_P}: nn.Sigmoid instead of nn.Tanh and depth 10 (nine hidden layers of {WIDTH}) instead of 5")]
    + [_case("pinnburgers_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: self.optimzer.zero_grad() left out (the gradients accumulate)")]
    + [_case("pinnburgers_relu_s1", "no_gradient", 1, {"act": "relu"},
             f"{_P}: nn.ReLU instead of nn.Tanh (u_xx of a ReLU net is 0 almost everywhere: the viscous term of the "
             f"residual passes no gradient to the weights)")]
    + [_case("pinnburgers_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: Adam lr x2 ({lr * 2:g}; expected harmless)")]
    + [_case("pinnburgers_npde1000_s1", "healthy", 1, {"n_pde": 1000},
             f"{_P}: 1000 collocation points instead of {N_PDE} (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
