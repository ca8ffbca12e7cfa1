"""Alfredo Canziani's NYU Deep Learning course (Atcold/NYU-DLSP20): spiral classification, watched by gradmedic.

Adapted from https://github.com/Atcold/NYU-DLSP20 (CC BY-NC-SA 4.0, see LICENSE-atcspiral), notebook
04-spiral_classification.ipynb at commit 3049c83260ba05700e2ab9b7ed13cdbe5ddba0fd: the spiral data made in the
notebook (``N = 1000`` points per class, ``D = 2``, ``C = 3`` arms, ``t = torch.linspace(0, 1, N)``, angle
``torch.linspace(2 pi c / C, 2 pi (2 + c) / C, N) + torch.randn(N) * 0.2``, ``X[ix] = t * (sin, cos)``) and the
"Two-layered network" of the notebook's second half.  ``res/plot_lib.py`` only plots and is not used.

Kept as upstream: the data generator (the per-point Python loop, as the notebook writes it) seeded with
``random.seed(12345)`` / ``torch.manual_seed(12345)`` for the training draw; ``H = 100``;
``nn.Sequential(nn.Linear(D, H), nn.ReLU(), nn.Linear(H, C))`` with PyTorch's default init;
``torch.nn.CrossEntropyLoss()``; ``torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-5)``; the
full-batch loop of 1000 epochs (``y_pred = model(X)``, ``loss = criterion(y_pred, y)``, ``optimizer.zero_grad()``,
``loss.backward()``, ``optimizer.step()``).

Changed: upstream reports the training accuracy only; here the metric is the accuracy on a second, held-out spiral
draw made by the same generator seeded with 54321 (3000 points), computed once after training.  The model is built
after ``torch.manual_seed(seed)`` (upstream builds it right after drawing the data from seed 12345); the per-epoch
print/``display.clear_output`` and the plots are left out; CPU only, one thread.  Nothing else (the run takes
about 1-2 s, so no epochs were cut).

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after
``optimizer = torch.optim.Adam(...)``, ``monitor.step(loss)`` right after ``loss.backward()``, before
``optimizer.step()``; ``monitor.close()`` after the loop.

``CASES`` (program "atcspiral"): the program on seeds 1-3, and one change each against the same seed's healthy run:
lr x10, x100 (seeds 1 and 2), /1000; inputs x1000 (the spiral coordinates in [-1000, 1000] instead of [-1, 1]);
every Linear weight and bias zero (symmetric); ``optimizer.zero_grad()`` left out; softmax applied to the logits
before ``CrossEntropyLoss``; lr x2 (expected harmless).  Labels come from run.py's outcome rules only.  The
notebook's first-half linear model (``nn.Linear(D, H), nn.Linear(H, C)`` with no ReLU, plain SGD) is not a case: no
cause of causes.py names a model without the capacity for the task.  Tried and dropped because run.py labelled them
ambiguous in a first recording: inputs x100 (0.982 test accuracy, but first losses ~6.3 and a largest loss of 7.9,
over twice the control's) and every weight and bias ``normal_(std=1)`` (0.929, largest loss 7.8); inputs x1000
replaced the x100 case.
Recorded (cases-public49, 2-6 s a run on the shared machine): healthy 0.946, 0.953, 0.947 test accuracy on seeds 1-3
(train loss 1.09 -> 0.18, 0.17, 0.18; every loss finite, largest 1.11); lr x10 (0.01): 0.999, train loss 0.011:
healthy; lr x100 (0.1): 0.999 on seeds 1 and 2 (train loss 0.008): healthy (Adam on this small net takes it);
lr /1000: the loss stays at 1.10, 0.488: broken; inputs x1000: first losses ~62 (largest 78), train loss 0.49,
0.799: broken; zero init: the loss stays at 1.099 (ln 3), 0.333: broken; zero_grad left out: loss up to 1.25,
train loss 0.44, 0.808: broken; softmax before CrossEntropyLoss: train loss 0.65, 0.940: healthy; lr x2: 0.993:
healthy.  Labels: 8 healthy (3 programs, 5 variants), 4 broken, 0 ambiguous; every loss finite.
"""

from __future__ import annotations

import math
import random
import time

import numpy as np
import torch
from torch import nn

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = torch.optim.Adam(...); monitor.step(loss) "
              "right after loss.backward() in the full-batch loop, before optimizer.step()")
N = 1000  # num_samples_per_class
D = 2  # dimensions
C = 3  # num_classes
H = 100  # num_hidden_units
LR = 1e-3
LAMBDA_L2 = 1e-5
EPOCHS = 1000


def spiral(seed):
    """The notebook's spiral data (3 arms of N points each), drawn after seeding random and torch with ``seed``."""
    random.seed(seed)
    torch.manual_seed(seed)
    X = torch.zeros(N * C, D)
    y = torch.zeros(N * C, dtype=torch.long)
    for c in range(C):
        index = 0
        t = torch.linspace(0, 1, N)
        inner_var = torch.linspace(
            # When t = 0
            (2 * math.pi / C) * (c),
            # When t = 1
            (2 * math.pi / C) * (2 + c),
            N
        ) + torch.randn(N) * 0.2

        for ix in range(N * c, N * (c + 1)):
            X[ix] = t[index] * torch.FloatTensor((
                math.sin(inner_var[index]), math.cos(inner_var[index])
            ))
            y[ix] = c
            index += 1
    return X, y


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, init: str = "default",
          zero_grad: bool = True, softmax: bool = False, epochs: int = EPOCHS, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    X, y = spiral(12345)  # the notebook's draw
    Xte, yte = spiral(54321)  # the held-out draw (not upstream)
    X, Xte = X * input_scale, Xte * input_scale  # the unscaled_inputs variant
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Linear(D, H),
        nn.ReLU(),
        nn.Linear(H, C)
    )
    if init != "default":
        for m in model.modules():
            if isinstance(m, nn.Linear):
                if init == "std1":  # the init_large variant
                    nn.init.normal_(m.weight, std=1.0)
                    nn.init.normal_(m.bias, std=1.0)
                elif init == "zero":  # the symmetric_init variant
                    nn.init.zeros_(m.weight)
                    nn.init.zeros_(m.bias)
                else:
                    raise ValueError(init)
    lr = LR * lr_mult
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=LAMBDA_L2)  # built-in L2
    monitor = gradmedic.watch(model, optimizer, every=every)
    losses = []
    for t in range(epochs):
        y_pred = model(X)
        if softmax:  # the wrong_loss variant: probabilities fed to CrossEntropyLoss
            y_pred = torch.softmax(y_pred, dim=1)
        loss = criterion(y_pred, y)
        if zero_grad:  # the no_zero_grad variant leaves this out
            optimizer.zero_grad()
        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()
        losses.append(float(loss.detach()))
        if verbose and (t + 1) % 100 == 0:
            acc = float((y_pred.argmax(1) == y).float().mean())
            print(f"[EPOCH]: {t + 1}, [LOSS]: {losses[-1]:.6f}, [ACCURACY]: {acc:.3f} ({time.time() - t0:.1f}s)",
                  flush=True)
    monitor.close()
    with torch.no_grad():
        train_acc = float((model(X).argmax(1) == y).float().mean())
        out = model(Xte)
        acc = float((out.argmax(1) == yte).float().mean())
        test_loss = float(nn.functional.cross_entropy(out, yte))
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc, "chance": 1.0 / C,
            "initial": None, "initial_what": "chance accuracy 1/3",
            "extra": dict(test_loss=test_loss, train_acc=train_acc, lr=lr, train_loss=float(np.mean(losses[-5:])),
                          first_loss=float(np.mean(losses[:5])), max_loss=float(np.nanmax(losses)),
                          finite_losses=bool(np.isfinite(losses).all()), steps=len(losses), epochs=epochs,
                          lr_mult=lr_mult, input_scale=input_scale, init=init, zero_grad=zero_grad,
                          softmax=softmax, test_points=len(yte)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="atcspiral", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = (f"spiral classification (3 arms x {N} points; Linear {D}-{H}-{C}, ReLU, default init; CrossEntropyLoss; "
      f"Adam lr {LR:g} weight_decay {LAMBDA_L2:g}; {EPOCHS} full-batch epochs)")
CASES: list[dict] = (
    [_case(f"atcspiral_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"atcspiral_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("atcspiral_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case("atcspiral_inputs_x1000_s1", "unscaled_inputs", 1, {"input_scale": 1000.0},
             f"{_P}: inputs x1000 (coordinates in [-1000, 1000])")]
    + [_case("atcspiral_zero_init_s1", "symmetric_init", 1, {"init": "zero"},
             f"{_P}: every Linear weight and bias zeros_ (symmetric)")]
    + [_case("atcspiral_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("atcspiral_softmax_ce_s1", "wrong_loss", 1, {"softmax": True},
             f"{_P}: softmax over the logits before CrossEntropyLoss")]
    + [_case("atcspiral_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: lr x2 ({LR * 2:g})")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
