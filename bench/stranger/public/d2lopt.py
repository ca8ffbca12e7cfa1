"""Dive into Deep Learning (d2l-ai/d2l-en), the optimization chapter: its from-scratch optimizers (minibatch SGD,
momentum, RMSProp, Adam) in ``train_ch11``, and ``train_concise_ch11`` with ``torch.optim.Adam``, watched by gradmedic.

Adapted from https://github.com/d2l-ai/d2l-en (the book's sample code is under the modified MIT licence of
LICENSE-SAMPLECODE, see LICENSE-d2lopt), repository HEAD 23d7a5aecceee57d1292c56e90cce307f183bb0a, the PyTorch
tabs of chapter_optimization/minibatch-sgd.md (``get_data_ch11``, ``sgd``, ``train_ch11``, ``train_sgd``,
``train_concise_ch11``; last changed in that commit), momentum.md (``init_momentum_states``, ``sgd_momentum``,
``train_momentum(0.02, 0.5)``; commit 0f4e57be684684d5619bce727690bea54269849d), rmsprop.md
(``init_rmsprop_states``, ``rmsprop`` with ``{'lr': 0.01, 'gamma': 0.9}``; commit
cdddd4ba807390be475a3dfcd4b7b169d27fd4de) and adam.md (``init_adam_states``, ``adam`` with ``{'lr': 0.01, 't': 1}``,
and ``train_concise_ch11(torch.optim.Adam, {'lr': 0.01}, data_iter)``; commit
0f4e57be684684d5619bce727690bea54269849d), with the d2l package's helpers they call written out from d2l/torch.py
of that HEAD (the package is not installed here): ``linreg`` (``X @ w + b``), ``squared_loss`` (``(y_hat -
y.reshape(y_hat.shape)) ** 2 / 2``) and ``load_array`` (``DataLoader(TensorDataset(...), batch_size,
shuffle=True)``, shuffled by the global RNG).

Kept as in the book: ``train_ch11``'s model and loop - ``w = torch.normal(0, 0.01, (5, 1))``, ``b =
torch.zeros(1)``, per batch ``l = squared_loss(linreg(X, w, b), y).mean()``, ``l.backward()``, then the chapter's
update function ``trainer_fn([w, b], states, hyperparams)``, which updates under ``torch.no_grad()`` (``sgd``:
``p.data.sub_(lr * p.grad)``) and zeroes each gradient itself (``p.grad.data.zero_()``; the loop has no
zero_grad) - ``num_epochs=2``, batch 10 (150 steps an epoch, 300 a run), and the four update functions with their
state initializers exactly as written (momentum ``v = momentum * v + g; p -= lr * v``; RMSProp ``s = gamma * s +
(1 - gamma) g^2; p -= lr * g / sqrt(s + 1e-6)``; Adam beta1 0.9, beta2 0.999, eps 1e-6 added after the square
root, bias-corrected by ``1 - beta ** t`` with ``t`` counted in ``hyperparams`` from 1), at the chapter's
hyperparameters: sgd lr 0.05 at batch 10 (``train_sgd(.05, 10)``), momentum lr 0.02 momentum 0.5, rmsprop lr 0.01
gamma 0.9, adam lr 0.01.  ``train_concise_ch11``: ``nn.Sequential(nn.Linear(5, 1))``, ``normal_(weight,
std=0.01)`` (the bias keeps PyTorch's default init), ``optimizer = torch.optim.Adam(net.parameters(), lr=0.01)``,
``nn.MSELoss(reduction='none')``, per batch ``zero_grad``, ``l = loss(out, y)``, ``l.mean().backward()``,
``optimizer.step()``; its default ``num_epochs=4`` (600 steps).  Nothing was shrunk: a run takes 1-3 s on one CPU
thread (the chapter's program is that small).

Changed: (1) the airfoil file (``d2l.download('airfoil')``, UCI airfoil self-noise) cannot be downloaded here, so
``airfoil_like`` makes a stand-in with the same shape and raw scales, from a fixed generator (as a file would be
the same for every seed): 2000 rows of five features like the file's - frequency (its 21 third-octave values 200 ..
20000 Hz), angle of attack U(0, 22.2) degrees, chord length (its six values 0.0254 .. 0.3048 m), free-stream
velocity (its four values 31.7 .. 71.3 m/s) and suction-side displacement thickness (0.0004 .. 0.058 m, growing
with the angle) - and a sound-pressure-level target in dB: a linear function of the features (the signs and sizes
of a linear fit to the real file) minus a mild quadratic in log-frequency plus N(0, 4.5) noise, so that a linear
model reaches a standardized MSE of about 0.2.  The whole table is standardized per column as ``get_data_ch11``
does (``(data - data.mean(axis=0)) / data.std(axis=0)``), the first 1500 rows are the training set (the chapter's
``n=1500``), and the last 500 rows are held out for the metric (the chapter only evaluates its training loss).
(2) From-scratch runs: ``w`` and ``b`` are ``nn.Parameter``s of a small ``nn.Module`` (``LinReg``) instead of
plain tensors with ``requires_grad=True``, drawn the same way, so that ``gradmedic.watch(module, every=10)`` finds
them; there is no ``torch.optim`` optimizer to give it (the update functions are plain functions), so the watch
is without one.  The update functions index ``p[:]``/``v[:]`` in place under ``torch.no_grad()`` as written, which
works on Parameters unchanged.  (3) ``torch.manual_seed(seed)`` before the model is built (the book does not seed);
the ``Animator``/``Timer`` plotting and its ``evaluate_loss`` on the training set every 200 examples (it only
plots) are left out.  (4) In ``train_concise_ch11`` the mean is named (``lm = l.mean(); lm.backward()``) so that
``monitor.step(lm)`` can be given it.

The metric, ``heldout_mse``, is the mean squared error ``((net(X) - y) ** 2).mean()`` on the 500 held-out rows
after training (the standardized target; no 1/2); ``initial`` is the untrained model's, ``chance`` the MSE of
predicting the training targets' mean (about 1).

The watch, as a user would: from scratch, ``monitor = gradmedic.watch(net, every=10)`` after the model is built
in ``train_ch11`` and ``monitor.step(l)`` right after ``l.backward()``, before ``trainer_fn(...)`` (which updates
and then zeroes the gradients); concise, ``monitor = gradmedic.watch(net, optimizer, every=10)`` after the
optimizer is built and ``monitor.step(lm)`` right after ``lm.backward()``, before ``optimizer.step()``.
``monitor.close()`` after the loop.

``CASES`` (in the shape of run.py's ``case()``, program "d2lopt"; one name prefix - and so one healthy control per
seed - for each program: ``d2loptsgd``, ``d2loptmom``, ``d2loptrms``, ``d2loptadam`` from scratch, ``d2loptc``
the concise Adam): each program healthy on seeds 1-2, and one change each against the same seed's healthy run of
the same program: for each of the five lr x10, x100 and /1000; the features not standardized (the raw
columns, up to 20000 Hz, with the standardized target) for sgd, adam and the concise Adam; adam's bias correction
removed (``v``, ``s`` used uncorrected; seeds 1 and 2; no cause fits it exactly: it is filed as ``lr_high``,
since its effect is early steps up to ~6.5x larger than the corrected ones); the gradient not zeroed in the
from-scratch ``sgd`` (``p.grad.data.zero_()`` left out: each step follows the sum of all past gradients);
w ~ N(0, 1) instead of N(0, 0.01) in the from-scratch sgd and in the concise net.  Labels come from run.py's
outcome rules only.  (The zips in the update functions carry ``strict=True`` for the linter.)
Recorded (cases-public29, 33 runs in 27 s, 39 s wall with start-up, on a shared 2-core machine; each run 0.3-1 s,
the first 5 s): healthy, held-out MSE 0.187-0.189 for all five programs on seeds 1 and 2 (untrained 0.90-1.01; the
least-squares fit of this data gives 0.185): healthy.  lr x10: sgd (0.5) 0.226, rmsprop (0.1) 0.243, adam (0.1)
0.213, concise Adam (0.1) 0.255 - worse than their controls by more than 10% but not by half: ambiguous; momentum
(0.2) 0.197: healthy.  lr x100: sgd and momentum diverge (NaN): broken; rmsprop 3.06, adam 0.60, concise Adam
0.61: broken.  lr /1000: 0.92-0.99 (learned nothing): broken, all five.  The raw features: sgd diverges (NaN),
adam 0.94, concise Adam 0.38 (untrained 1600-2200): broken, all three.  Adam without bias correction: 0.198 and
0.186 against 0.188 and 0.187: healthy (harmless at lr 0.01).  sgd without ``p.grad.data.zero_()``: 158 (the summed
gradients overshoot and oscillate): broken.  w ~ N(0, 1): 0.1868 (sgd) and 0.1863 (concise) against 0.187-0.188,
as good as the control, but their largest recorded losses (1.69 and 9.64, at the start) exceed twice the
control's (0.75 and 2.44): ambiguous.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from torch import nn

import gradmedic

ARCH = "linear"
MONITOR_AT = ("from scratch (d2loptsgd/mom/rms/adam): watch(net, every=10) without an optimizer (the chapter's update "
              "functions sgd/sgd_momentum/rmsprop/adam are plain functions; w and b held as nn.Parameter of a small "
              "module), monitor.step(l) right after l.backward() in train_ch11, before trainer_fn([w, b], states, "
              "hyperparams), which updates and then zeroes the gradients; concise (d2loptc): watch(net, optimizer, "
              "every=10), monitor.step(l.mean()) right after l.mean().backward(), before optimizer.step()")


# data -------------------------------------------------------------------------------------------------------

def airfoil_like(n=2000):
    """A stand-in for airfoil_self_noise.dat: five raw features at the file's scales and an SPL target (dB)."""
    rng = np.random.default_rng(0)
    freq = rng.choice([200, 250, 315, 400, 500, 630, 800, 1000, 1250, 1600, 2000, 2500, 3150, 4000, 5000, 6300, 8000,
                       10000, 12500, 16000, 20000], n).astype(float)
    angle = rng.uniform(0.0, 22.2, n)
    chord = rng.choice([0.0254, 0.0508, 0.1016, 0.1524, 0.2286, 0.3048], n)
    vel = rng.choice([31.7, 39.6, 55.5, 71.3], n)
    thick = np.clip(0.0004 * np.exp(0.17 * angle + 0.5 * rng.standard_normal(n)), 0.0004, 0.058)
    spl = (132.8 - 0.00128 * freq - 0.42 * angle - 35.7 * chord + 0.1 * vel - 147.0 * thick
           - 1.0 * (np.log(freq) - 7.6) ** 2 + rng.normal(0.0, 4.5, n))
    return np.stack([freq, angle, chord, vel, thick, spl], 1).astype(np.float32)


def get_data_ch11(batch_size=10, n=1500, raw_features=False):
    raw = airfoil_like()
    data = (raw - raw.mean(axis=0)) / raw.std(axis=0)
    if raw_features:  # the bug: the feature columns left unstandardized (the target standardized as before)
        data[:, :-1] = raw[:, :-1]
    data = torch.from_numpy(data)
    data_iter = load_array((data[:n, :-1], data[:n, -1]), batch_size, is_train=True)
    return data_iter, data.shape[1] - 1, (data[n:, :-1], data[n:, -1]), data[:n, -1]


def load_array(data_arrays, batch_size, is_train=True):  # d2l.load_array
    dataset = torch.utils.data.TensorDataset(*data_arrays)
    return torch.utils.data.DataLoader(dataset, batch_size, shuffle=is_train)


def linreg(X, w, b):  # d2l.linreg
    return torch.matmul(X, w) + b


def squared_loss(y_hat, y):  # d2l.squared_loss
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


# the chapter's optimizers ----------------------------------------------------------------------------------

def sgd(params, states, hyperparams, zero_grad=True):
    for p in params:
        p.data.sub_(hyperparams['lr'] * p.grad)
        if zero_grad:  # the no_zero_grad variant leaves this out
            p.grad.data.zero_()


def init_momentum_states(feature_dim):
    v_w = torch.zeros((feature_dim, 1))
    v_b = torch.zeros(1)
    return (v_w, v_b)


def sgd_momentum(params, states, hyperparams):
    for p, v in zip(params, states, strict=True):
        with torch.no_grad():
            v[:] = hyperparams['momentum'] * v + p.grad
            p[:] -= hyperparams['lr'] * v
        p.grad.data.zero_()


def init_rmsprop_states(feature_dim):
    s_w = torch.zeros((feature_dim, 1))
    s_b = torch.zeros(1)
    return (s_w, s_b)


def rmsprop(params, states, hyperparams):
    gamma, eps = hyperparams['gamma'], 1e-6
    for p, s in zip(params, states, strict=True):
        with torch.no_grad():
            s[:] = gamma * s + (1 - gamma) * torch.square(p.grad)
            p[:] -= hyperparams['lr'] * p.grad / torch.sqrt(s + eps)
        p.grad.data.zero_()


def init_adam_states(feature_dim):
    v_w, v_b = torch.zeros((feature_dim, 1)), torch.zeros(1)
    s_w, s_b = torch.zeros((feature_dim, 1)), torch.zeros(1)
    return ((v_w, s_w), (v_b, s_b))


def adam(params, states, hyperparams, bias_correction=True):
    beta1, beta2, eps = 0.9, 0.999, 1e-6
    for p, (v, s) in zip(params, states, strict=True):
        with torch.no_grad():
            v[:] = beta1 * v + (1 - beta1) * p.grad
            s[:] = beta2 * s + (1 - beta2) * torch.square(p.grad)
            if bias_correction:
                v_bias_corr = v / (1 - beta1 ** hyperparams['t'])
                s_bias_corr = s / (1 - beta2 ** hyperparams['t'])
            else:  # the bug: the moments used uncorrected
                v_bias_corr, s_bias_corr = v, s
            p[:] -= hyperparams['lr'] * v_bias_corr / (torch.sqrt(s_bias_corr)
                                                       + eps)
        p.grad.data.zero_()
    hyperparams['t'] += 1


# training --------------------------------------------------------------------------------------------------

class LinReg(nn.Module):
    """train_ch11's w and b, held as nn.Parameter so that gradmedic.watch finds them (the book: plain tensors)."""

    def __init__(self, feature_dim, sigma=0.01):
        super().__init__()
        self.w = nn.Parameter(torch.normal(mean=0.0, std=sigma, size=(feature_dim, 1)))
        self.b = nn.Parameter(torch.zeros(1))

    def forward(self, X):
        return linreg(X, self.w, self.b)


def train_ch11(trainer_fn, states, hyperparams, data_iter, feature_dim, num_epochs=2, sigma=0.01, every=10,
               verbose=False):
    # Initialization
    net_module = LinReg(feature_dim, sigma)
    w, b = net_module.w, net_module.b
    net, loss = net_module, squared_loss
    monitor = gradmedic.watch(net_module, every=every)  # gradmedic: no optimizer to give it
    losses = []
    for epoch in range(num_epochs):
        for X, y in data_iter:
            l = loss(net(X), y).mean()  # noqa: E741
            l.backward()
            monitor.step(l)  # gradmedic
            trainer_fn([w, b], states, hyperparams)
            losses.append(l.item())
        if verbose:
            print(f"epoch {epoch + 1} loss {np.mean(losses[-20:]):.4g}", flush=True)
    monitor.close()
    return net, monitor, losses


def train_concise_ch11(trainer_fn, hyperparams, data_iter, num_epochs=4, sigma=0.01, every=10, verbose=False):
    # Initialization
    net = nn.Sequential(nn.Linear(5, 1))

    def init_weights(module):
        if type(module) is nn.Linear:
            torch.nn.init.normal_(module.weight, std=sigma)
    net.apply(init_weights)
    optimizer = trainer_fn(net.parameters(), **hyperparams)
    monitor = gradmedic.watch(net, optimizer, every=every)  # gradmedic
    loss = nn.MSELoss(reduction='none')
    losses = []
    for epoch in range(num_epochs):
        for X, y in data_iter:
            optimizer.zero_grad()
            out = net(X)
            y = y.reshape(out.shape)
            l = loss(out, y)  # noqa: E741
            lm = l.mean()
            lm.backward()
            monitor.step(lm)  # gradmedic
            optimizer.step()
            losses.append(lm.item())
        if verbose:
            print(f"epoch {epoch + 1} loss {np.mean(losses[-20:]):.4g}", flush=True)
    monitor.close()
    return net, monitor, losses


HYPER = {"sgd": {"lr": 0.05}, "momentum": {"lr": 0.02, "momentum": 0.5}, "rmsprop": {"lr": 0.01, "gamma": 0.9},
         "adam": {"lr": 0.01, "t": 1}, "concise_adam": {"lr": 0.01}}


def heldout_mse(net, held):
    X, y = held
    with torch.no_grad():
        return float(((net(X).reshape(-1) - y) ** 2).mean())


def train(seed: int = 1, opt: str = "sgd", lr_mult: float = 1.0, sigma: float = 0.01, raw_features: bool = False,
          bias_correction: bool = True, zero_grad: bool = True, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    data_iter, feature_dim, held, y_train = get_data_ch11(batch_size=10, raw_features=raw_features)
    hyperparams = dict(HYPER[opt])
    hyperparams["lr"] = hyperparams["lr"] * lr_mult
    lr = hyperparams["lr"]

    if opt == "concise_adam":
        net, monitor, losses = train_concise_ch11(torch.optim.Adam, hyperparams, data_iter, sigma=sigma, every=every,
                                                  verbose=verbose)
    else:
        if opt == "sgd":
            def fn(params, states, hp):
                return sgd(params, states, hp, zero_grad=zero_grad)
            states = None
        elif opt == "momentum":
            fn, states = sgd_momentum, init_momentum_states(feature_dim)
        elif opt == "rmsprop":
            fn, states = rmsprop, init_rmsprop_states(feature_dim)
        else:
            def fn(params, states, hp):
                return adam(params, states, hp, bias_correction=bias_correction)
            states = init_adam_states(feature_dim)
        net, monitor, losses = train_ch11(fn, states, hyperparams, data_iter, feature_dim, sigma=sigma, every=every,
                                          verbose=verbose)
    # the untrained model's held-out MSE: the same seed's initial weights, drawn again
    torch.manual_seed(seed)
    if opt == "concise_adam":
        net0 = nn.Sequential(nn.Linear(5, 1))
        torch.nn.init.normal_(net0[0].weight, std=sigma)
    else:
        net0 = LinReg(feature_dim, sigma)
    initial = heldout_mse(net0, held)
    chance = float(((held[1] - y_train.mean()) ** 2).mean())
    value = heldout_mse(net, held)
    if verbose:
        print(f"held-out MSE {value:.4g} (untrained {initial:.4g}, mean predictor {chance:.4g}); "
              f"{time.time() - t0:.1f}s")
    fin = np.isfinite(losses)
    return {"monitors": {"": monitor}, "metric": "heldout_mse",
            "value": value if math.isfinite(value) else float("nan"), "chance": chance, "initial": initial,
            "initial_what": "untrained: the held-out MSE of the model before its first step",
            "extra": dict(train_loss=float(np.mean(losses[-20:])), first_loss=float(np.mean(losses[:5])),
                          max_loss=float(np.max(np.array(losses)[fin])) if fin.any() else float("nan"),
                          finite_losses=bool(fin.all()), steps=len(losses), opt=opt, lr=lr, lr_mult=lr_mult,
                          sigma=sigma, raw_features=raw_features, bias_correction=bias_correction,
                          zero_grad=zero_grad, mean_predictor_mse=chance),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="d2lopt", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_DATA = "an airfoil-like 5-feature regression set, 1500 standardized training rows"
_PROG = {
    "d2loptsgd": ("sgd", f"train_ch11 (linreg w ~ N(0, 0.01), b 0, squared loss) with the chapter's from-scratch sgd "
                         f"lr 0.05, batch 10, 2 epochs, on {_DATA}"),
    "d2loptmom": ("momentum", f"train_ch11 (linreg w ~ N(0, 0.01), b 0, squared loss) with the chapter's from-scratch "
                              f"sgd_momentum lr 0.02 momentum 0.5, batch 10, 2 epochs, on {_DATA}"),
    "d2loptrms": ("rmsprop", f"train_ch11 (linreg w ~ N(0, 0.01), b 0, squared loss) with the chapter's from-scratch "
                             f"rmsprop lr 0.01 gamma 0.9, batch 10, 2 epochs, on {_DATA}"),
    "d2loptadam": ("adam", f"train_ch11 (linreg w ~ N(0, 0.01), b 0, squared loss) with the chapter's from-scratch "
                           f"adam lr 0.01 (bias-corrected), batch 10, 2 epochs, on {_DATA}"),
    "d2loptc": ("concise_adam", f"train_concise_ch11 (nn.Linear(5, 1), weight normal_ std 0.01, MSELoss(reduction="
                                f"'none').mean()) with torch.optim.Adam lr 0.01, batch 10, 4 epochs, on {_DATA}"),
}


def _build() -> list[dict]:
    out = []
    for pre, (opt, desc) in _PROG.items():
        for s in (1, 2):
            out.append(_case(f"{pre}_healthy_s{s}", "healthy", s, {"opt": opt}, f"{desc}: unchanged", False))
    for pre, (opt, desc) in _PROG.items():
        lr0 = HYPER[opt]["lr"]
        for k in (10, 100):
            out.append(_case(f"{pre}_lr_x{k}_s1", "lr_high", 1, {"opt": opt, "lr_mult": k},
                             f"{desc}: lr x{k} ({lr0 * k:g})"))
        out.append(_case(f"{pre}_lr_div1000_s1", "lr_low", 1, {"opt": opt, "lr_mult": 1e-3},
                         f"{desc}: lr /1000 ({lr0 * 1e-3:g})"))
    for pre in ("d2loptsgd", "d2loptadam", "d2loptc"):
        opt, desc = _PROG[pre]
        out.append(_case(f"{pre}_raw_features_s1", "unscaled_inputs", 1, {"opt": opt, "raw_features": True},
                         f"{desc}: the five feature columns left unstandardized (raw scales: frequency 200..20000 Hz, "
                         f"velocity 31.7..71.3, angle 0..22, chord and thickness under 0.31); the target standardized"))
    for s in (1, 2):
        out.append(_case(f"d2loptadam_no_bias_corr_s{s}", "lr_high", s, {"opt": "adam", "bias_correction": False},
                         f"{_PROG['d2loptadam'][1]}: bias correction removed (p -= lr * v / (sqrt(s) + eps) with v, s "
                         f"uncorrected: the early steps up to ~6.5x larger than the corrected ones)"))
    out.append(_case("d2loptsgd_no_zero_grad_s1", "no_zero_grad", 1, {"opt": "sgd", "zero_grad": False},
                     f"{_PROG['d2loptsgd'][1]}: p.grad.data.zero_() left out of sgd (the gradients accumulate)"))
    for pre in ("d2loptsgd", "d2loptc"):
        opt, desc = _PROG[pre]
        out.append(_case(f"{pre}_init_std1_s1", "init_large", 1, {"opt": opt, "sigma": 1.0},
                         f"{desc}: weights drawn from N(0, 1) instead of N(0, 0.01)"))
    return out


CASES: list[dict] = _build()


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
