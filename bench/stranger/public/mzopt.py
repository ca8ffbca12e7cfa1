"""MorvanZhou/PyTorch-Tutorial's optimizer comparison (four copies of a 1-20-1 ReLU net fitting y = x^2 + noise, trained
side by side on the same batches with SGD, SGD with momentum, RMSprop and Adam), watched by gradmedic, one monitor a
net.

Adapted from https://github.com/MorvanZhou/PyTorch-Tutorial (commit 4e5122c3734dcdc9ace164c2a87fbd412ca1d431,
tutorial-contents/306_optimizer.py; MIT License, Copyright (c) 2017, see LICENSE-mzopt).

Kept as in the original: LR 0.01, BATCH_SIZE 32, EPOCH 12 (32 batches an epoch, 384 steps a net); the data
(``x = torch.unsqueeze(torch.linspace(-1, 1, 1000), dim=1)``, ``y = x.pow(2) + 0.1*torch.normal(zeros)``, drawn from
the global generator before the nets are built); ``TensorDataset`` and a shuffling ``DataLoader`` of batch 32; the
``Net`` class (``hidden = Linear(1, 20)``, ``F.relu``, ``predict = Linear(20, 1)``) with PyTorch's default
initialization, built four times in upstream's order (SGD, Momentum, RMSprop, Adam); the four optimizers
(``SGD(lr=LR)``, ``SGD(lr=LR, momentum=0.8)``, ``RMSprop(lr=LR, alpha=0.9)``, ``Adam(lr=LR, betas=(0.9, 0.99))``);
``torch.nn.MSELoss()``; the one loop (for each batch, for each net in turn: forward, loss, zero_grad, backward, step;
no clipping, no normalization).

Changed: no plots (the data scatter, the loss curves); ``torch.manual_seed(seed)`` first (upstream has it commented
out); ``num_workers=0`` instead of 2 (one process, one thread); CPU only.  Upstream has no test set: a held-out set of
200 points is drawn the same way (``y = x^2 + 0.1 * N(0, 1)``) but with ``x`` uniform on [-1, 1] instead of the
training grid, from a separate generator seeded with ``seed + 1000`` so that it is the same for a seed's healthy run
and its variants.  The metric, ``test_mse``, is a net's MSE on it after the 12 epochs; ``initial`` is that untrained
net's MSE on it; ``chance`` the MSE of predicting the training targets' mean (about 0.1; the noise floor is 0.01).
Nothing was shrunk or extended: a loop (all four nets) takes a few seconds on one CPU thread, below the 10-60 s aimed
at; the program is upstream's size.  ``hidden``, ``in_scale``, ``target_scale``, ``init_std`` and ``lr_mult`` are
arguments so a variant can change one thing; with the target scaled the outcome and references are divided by the
scale squared (in the units of the unscaled target).

One loop, four programs: every case trains all four nets in the one loop, as upstream does, with the case's change
applied to all four (the nets never interact; they share only the data and the batch order), and records one net:
``train(net=...)`` picks which ("sgd", "mom", "rms", "adam").  The loop's result is cached per (seed, change), so the
four consecutive cases of one change (one per net) run the loop once; ``seconds`` is the whole loop's.  run.py's
PARTS mechanism (one case, one label, one file per part) does not fit: each net needs its own outcome, control and
label, so each net is its own program in the case list (name prefixes mzoptsgd, mzoptmom, mzoptrms, mzoptadam; the
run.py program is "mzopt" for all).

The watch, as a user would: four monitors, ``gradmedic.watch(net, opt, every=10)`` for each net right after the
optimizers are built; in the loop, each net's ``monitor.step(loss)`` right after that net's ``loss.backward()``,
before its ``opt.step()``; ``monitor.close()`` on all four after the loop.

``CASES`` (in the shape of run.py's ``case()``), for each of the four nets: the program on seeds 1-2, and one change
each against the same net's and seed's healthy run: lr x10, x100 (seeds 1 and 2), /1000 (every optimizer's LR,
upstream's shared constant); the inputs x100 (a unit change: the nets are fed ``100 * x``, x in [-100, 100],
training and held-out, the target still ``x^2 + noise`` of the unscaled ``x``); the targets x100 (``100 * y``);
``normal_(0, 1)`` on the weight of the first Linear with its 20 units replaced by 2000 (``Linear(1, 2000)``,
``predict = Linear(2000, 1)`` with default init; cause init_large).  Not carried: no clipping (upstream does not
clip) and raw inputs (upstream does not normalize; its inputs are already in [-1, 1]).  Labels come from run.py's
outcome rules only.
Recorded (cases-public29, 36 cases from 9 loops, 20 s in all; about 2 s a loop): healthy held-out MSE on seeds 1
and 2: SGD 0.0787 and 0.0268 (from 0.77 and 0.57 untrained; plain SGD at lr 0.01 is the slow one, as upstream's
plot shows: seed 1 is still above the curve, below the mean predictor's 0.104), Momentum 0.0103 and 0.0120,
RMSprop 0.0110 and 0.0113, Adam 0.0096 and 0.0100 (the noise floor is 0.01).  LR x10: SGD 0.0137 and Momentum
0.0094 (healthy: faster), RMSprop 0.0185 (ambiguous), Adam 0.0102 (healthy).  LR x100, seeds 1 and 2: SGD 87 and
79, Momentum 0.104 and 0.091, RMSprop 0.51 and 0.43, Adam 0.069 and 0.089 (all broken).  LR /1000: SGD 0.72,
Momentum 0.149, RMSprop 0.105, Adam 0.114 (all broken: barely moved).  The inputs x100: SGD and Momentum NaN,
RMSprop 0.066, Adam 0.025 (all broken).  The targets x100 (in the unscaled units): SGD 0.0124 and Momentum 0.0124
(ambiguous: better than or as good as their controls, but the recorded loss is in the scaled units, so its
largest is over 2x the control's), RMSprop 0.057 and Adam 0.035 (broken).  2000 units with normal_(0, 1): SGD
0.085 (ambiguous: the loss spiked to 1.5e5 on the way and ended near its control), Momentum 0.056 and RMSprop
0.042 (broken), Adam 0.0185 (ambiguous: 1.9x its control).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
import torch.utils.data as Data

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("one loop trains four nets (SGD, Momentum, RMSprop, Adam) on the same batches, each watched by its own "
              "watch(net, opt, every=10) built right after the optimizers; each net's monitor.step(loss) right after "
              "that net's loss.backward() (MSELoss on a batch of 32), before its opt.step() (no clipping); this "
              "recording is one of the four nets")

LR = 0.01
BATCH_SIZE = 32
EPOCH = 12
N_TEST = 200
NETS = ("sgd", "mom", "rms", "adam")


# default network
class Net(torch.nn.Module):
    def __init__(self, n_hidden=20):
        super().__init__()
        self.hidden = torch.nn.Linear(1, n_hidden)   # hidden layer
        self.predict = torch.nn.Linear(n_hidden, 1)   # output layer

    def forward(self, x):
        x = F.relu(self.hidden(x))      # activation function for hidden layer
        x = self.predict(x)             # linear output
        return x


_CACHE: dict = {}


def _loop(seed, lr_mult, in_scale, target_scale, hidden, init_std, epochs, every, verbose):
    torch.set_num_threads(1)
    torch.manual_seed(seed)    # reproducible (commented out upstream)

    # fake dataset
    x = torch.unsqueeze(torch.linspace(-1, 1, 1000), dim=1)
    y = x.pow(2) + 0.1*torch.normal(torch.zeros(*x.size()))

    # held-out set (not upstream): x uniform on [-1, 1], its own noise, the same for a seed's variants
    g = torch.Generator().manual_seed(seed + 1000)
    tx = torch.rand(N_TEST, 1, generator=g) * 2 - 1
    ty = tx.pow(2) + 0.1 * torch.randn(N_TEST, 1, generator=g)

    # put dateset into torch dataset
    torch_dataset = Data.TensorDataset(x * in_scale, y * target_scale)
    loader = Data.DataLoader(dataset=torch_dataset, batch_size=BATCH_SIZE, shuffle=True, num_workers=0,)
    test_x, test_y = tx * in_scale, ty * target_scale

    # different nets
    net_SGD         = Net(hidden)
    net_Momentum    = Net(hidden)
    net_RMSprop     = Net(hidden)
    net_Adam        = Net(hidden)
    nets = [net_SGD, net_Momentum, net_RMSprop, net_Adam]
    if init_std is not None:  # the bug: a large normal init of the (wide) first Linear's weight
        with torch.no_grad():
            for net in nets:
                net.hidden.weight.normal_(0.0, init_std)

    # different optimizers
    lr = LR * lr_mult
    opt_SGD         = torch.optim.SGD(net_SGD.parameters(), lr=lr)
    opt_Momentum    = torch.optim.SGD(net_Momentum.parameters(), lr=lr, momentum=0.8)
    opt_RMSprop     = torch.optim.RMSprop(net_RMSprop.parameters(), lr=lr, alpha=0.9)
    opt_Adam        = torch.optim.Adam(net_Adam.parameters(), lr=lr, betas=(0.9, 0.99))
    optimizers = [opt_SGD, opt_Momentum, opt_RMSprop, opt_Adam]
    monitors = [gradmedic.watch(net, opt, every=every) for net, opt in zip(nets, optimizers, strict=True)]  # gradmedic

    loss_func = torch.nn.MSELoss()
    losses_his = [[], [], [], []]   # record loss
    s2 = float(target_scale) ** 2

    def test_mse(net):
        with torch.no_grad():
            return loss_func(net(test_x), test_y).item() / s2

    chance = float(((test_y - (y * target_scale).mean()) ** 2).mean()) / s2
    initial = [test_mse(net) for net in nets]
    per_epoch = [[v] for v in initial]

    # training
    t0 = time.time()
    for epoch in range(epochs):
        for _step, (b_x, b_y) in enumerate(loader):          # for each training step
            for net, opt, l_his, mon in zip(nets, optimizers, losses_his, monitors, strict=True):
                output = net(b_x)              # get output for every net
                loss = loss_func(output, b_y)  # compute loss for every net
                opt.zero_grad()                # clear gradients for next train
                loss.backward()                # backpropagation, compute gradients
                mon.step(loss)                 # gradmedic
                opt.step()                     # apply gradients
                l_his.append(loss.item())     # loss recoder
        for i, net in enumerate(nets):
            per_epoch[i].append(test_mse(net))
        if verbose:
            print(f"Epoch {epoch} test MSE " + " ".join(f"{n} {pe[-1]:.4g}" for n, pe in zip(NETS, per_epoch, strict=True)),
                  flush=True)
    for mon in monitors:
        mon.close()
    seconds = time.time() - t0

    out = {}
    for i, name in enumerate(NETS):
        final = per_epoch[i][-1]
        lh = losses_his[i]
        out[name] = {
            "monitors": {"": monitors[i]}, "metric": "test_mse", "value": float(final), "chance": chance,
            "initial": float(initial[i]),
            "initial_what": "untrained: the net's held-out MSE before its first step (in the unscaled target's units)",
            "extra": {"net": name, "train_loss": float(np.mean(lh[-20:])) / s2,
                      "initial_train_loss": float(np.mean(lh[:5])) / s2, "steps": len(lh), "lr": lr,
                      "hidden": hidden, "in_scale": in_scale, "target_scale": target_scale,
                      "mean_predictor_mse": chance, "test_mse_per_epoch": [float(v) for v in per_epoch[i]],
                      "loop_trains_all_four_nets": True},
            "seconds": seconds}
    return out


def train(seed: int = 1, net: str = "sgd", lr_mult: float = 1.0, in_scale: float = 1.0, target_scale: float = 1.0,
          hidden: int = 20, init_std: float | None = None, epochs: int = EPOCH, every: int = 10,
          verbose: bool = False) -> dict:
    """Runs upstream's one loop (all four nets, the change applied to all) and returns ``net``'s result ("sgd",
    "mom", "rms", "adam").  Variants: ``lr_mult`` multiplies LR 0.01 (every optimizer's); ``in_scale`` multiplies
    the inputs (training and held-out); ``target_scale`` the targets (the outcome is divided by its square);
    ``hidden`` the first Linear's units (20); ``init_std``: ``normal_(0, init_std)`` on the first Linear's weight."""
    key = (seed, lr_mult, in_scale, target_scale, hidden, init_std, epochs, every)
    if key not in _CACHE:
        _CACHE.clear()  # keep one loop's monitors at a time
        _CACHE[key] = _loop(seed, lr_mult, in_scale, target_scale, hidden, init_std, epochs, every, verbose)
    r = _CACHE[key][net]
    if verbose:
        e = r["extra"]
        print(f"{net}: test MSE {r['value']:.4g} (untrained {r['initial']:.4g}, mean predictor {r['chance']:.4g}); "
              f"train loss {e['initial_train_loss']:.4g} -> {e['train_loss']:.4g}")
    return r


_PREFIX = {"sgd": "mzoptsgd", "mom": "mzoptmom", "rms": "mzoptrms", "adam": "mzoptadam"}
_OPT = {"sgd": "SGD(lr=0.01)", "mom": "SGD(lr=0.01, momentum=0.8)", "rms": "RMSprop(lr=0.01, alpha=0.9)",
        "adam": "Adam(lr=0.01, betas=(0.9, 0.99))"}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="mzopt", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


def _cases() -> list[dict]:
    out = []
    # ordered change by change, the four nets of one change together (one loop each: see train's cache)
    for s in (1, 2):
        for n in NETS:
            out.append(_case(f"{_PREFIX[n]}_healthy_s{s}", "healthy", s, {"net": n},
                             f"unchanged (the {n} net of upstream's four: Linear(1, 20), ReLU, Linear(20, 1), default "
                             f"init; MSELoss, {_OPT[n]}, batch 32, 12 epochs of 1000 points; trained in one loop with "
                             "the other three)", False))
    changes = [(f"lr_x{k}", "lr_high", s, {"lr_mult": k}, f"LR x{k} ({LR * k:g}) for every optimizer")
               for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    changes += [("lr_div1000", "lr_low", 1, {"lr_mult": 1e-3}, f"LR /1000 ({LR * 1e-3:g}) for every optimizer"),
                ("inputs_x100", "unscaled_inputs", 1, {"in_scale": 100.0},
                 "the inputs x100: the nets are fed 100 * x (x in [-100, 100]), training and held-out; the target "
                 "still x^2 + noise of the unscaled x"),
                ("target_x100", "unscaled_target", 1, {"target_scale": 100.0},
                 "the targets x100 (100 * y, training and held-out); the outcome is divided by 100^2"),
                ("wide2000_init_std1", "init_large", 1, {"hidden": 2000, "init_std": 1.0},
                 "the first Linear's 20 units replaced by 2000 (Linear(1, 2000), predict Linear(2000, 1)) and "
                 "normal_(0, 1) on its weight (bias and predict at the default init)")]
    for tag, cause, s, kw, variant in changes:
        for n in NETS:
            out.append(_case(f"{_PREFIX[n]}_{tag}_s{s}", cause, s, dict(kw, net=n),
                             variant + f"; in the one loop of all four nets, this recording the {n} net"))
    return out


CASES: list[dict] = _cases()

if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = v if k == "net" else float(v)
    for k in ("epochs", "seed", "hidden"):
        if k in kw:
            kw[k] = int(kw[k])
    for n in NETS:
        train(verbose=True, **dict(kw, net=n))
