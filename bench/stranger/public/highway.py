"""A deep highway network (RobinFrcd/Highway-Network-PyTorch's ``Highway`` module, 20 layers) on 8x8 digits,
watched by gradmedic.

Adapted from https://github.com/RobinFrcd/Highway-Network-PyTorch (commit 80e72d9b514c0ab6c056e8cdf9e5f2155ad59ad6,
the newest; highway/Highway.py; MIT License, Copyright (c) 2019 RobinFrcd, see LICENSE-highway), a PyTorch
implementation of Srivastava, Greff and Schmidhuber's "Training Very Deep Networks" (2015).  Kept as upstream (copied
below): ``Highway(size, num_layers, activation_fctn, drop_out=0)`` with one ``nn.Linear(size, size)`` H and one
transform gate ``nn.Linear(size, size)`` per layer (PyTorch's default inits), the gate bias filled with
``-((num_layers - 1) // 10 + 1)`` (-2 for 20 layers), and the forward ``T = sigmoid(gate(x))``, ``H = f(nonlinear(x))``,
``x = T * H + (1 - T) * x``.  Upstream is the module only, with no data, model around it or training loop; its README
passes ``activation_fctn=torch.nn.ReLU`` (the class, which would build a module instead of applying it), so the port
passes ``F.relu``.  The program around it is written as the paper's MNIST experiment describes it: a plain fully
connected first layer (``Linear(64, 50)`` and ReLU), the stack of thin highway layers (50 units, 20 layers here),
a ``Linear(50, 10)`` classifier, ``nn.CrossEntropyLoss``, SGD with momentum and minibatches, the usual loop
(``optimizer.zero_grad()``, forward, loss, ``loss.backward()``, ``optimizer.step()``); lr 0.05, momentum 0.9, batch 64
(reshuffled every epoch by ``torch.randperm``), a constant rate and 30 epochs are the port's choices.

Data: MNIST is scikit-learn's ``load_digits`` through d2ldrop.py's ``digits64`` (imported: the 8x8 images as 64
values divided by 16 into [0, 1], a fixed 1437/360 split, random_state 0); the metric is the accuracy on the 360
held-out digits after training (chance 0.1).  ``torch.manual_seed(seed)`` before the model is built; one CPU thread;
no dropout (upstream's default 0).  Knobs (one per variant): ``lr_mult``; ``gate_bias`` (the value the transform
gates' biases are filled with, instead of -2); ``gates=False`` (y = H(x): the paper's plain network of the same depth
and width, the gate layers not built); ``input_scale`` on the [0, 1] inputs; ``init_std`` (every Linear weight
N(0, init_std), biases kept); ``zero_grad=False``; ``batch_size``.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the SGD is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()`` (no clipping);
``monitor.close()`` after the epochs.

``CASES`` (program "highway"): the program on seeds 1-3, and one change each against the same seed's healthy run:
lr x10, x100 (seeds 1 and 2), x1000, /1000; the gate biases +2 instead of -2 (gates 88% open at the start, seeds 1
and 2; cause "saturating_depth", as the plain stack); the gates taken out (the paper's plain counterfactual, seeds 1
and 2; cause "saturating_depth": causes.py has no deep-plain cause, and this is its "gradient lost through depth" of
a deep stack - here ReLU layers at PyTorch's default init, whose signal shrinks layer by layer; init_small's
mechanism is the same); the inputs x100; N(0, 1) weights; ``optimizer.zero_grad()`` left out; and two changes
expected harmless: lr x2 (cause "lr_high") and batch 32 (cause "healthy").
Recorded (cases-public180; 6-19 s a run on the shared 2-core machine; "first-5" the mean of the first 5 training
losses, "end" the mean of the last 20): healthy test accuracy 0.961, 0.947, 0.947 on seeds 1-3 (first-5 2.31, end
0.046-0.056, largest loss 2.32-2.33, training accuracy 0.983-0.991, test loss 0.14-0.17; the gates' mean
sigmoid(bias) 0.117 at the end, from 0.119; every loss finite): healthy; lr x10 (0.5): 0.972 (end 0.001, training
accuracy 1.0, largest loss 2.36): healthy; lr x100 (5): losses to 2.3e5 (seed 1) and 1.5e30 (seed 2), then NaN,
0.075: broken on both; lr x1000 (50): first-5 7.0, losses up to 153, end 84.8, 0.122: broken; lr /1000 (5e-5): end
2.306, 0.100: broken; gate bias +2: end 2.305 and 2.303, training accuracy 0.11, 0.081 (seed 1) and 0.083 (seed 2):
broken on both (the same course as the plain stack: a 20-layer stack whose gates are mostly open does not learn in
30 epochs); gates taken out: end 2.305 and 2.303, 0.081 (seed 1) and 0.075 (seed 2): broken on both; inputs x100:
losses to 2.7e17, then NaN, 0.075: broken; N(0, 1) weights: the first-5 mean not finite (largest finite loss 1.3e12),
0.075: broken; zero_grad left out: losses to 5e30, then NaN, 0.075: broken; lr x2: 0.964: healthy; batch 32: 0.967:
healthy.  Labels: 6 healthy (3 programs, lr x10, lr x2, batch 32), 11 broken, 0 ambiguous (17 cases).  Non-finite
losses only in the 5 runs that diverged (lr x100 on both seeds, inputs x100, N(0, 1) weights, zero_grad left out);
their accuracy 0.075 is that of the NaN logits' argmax (class 0).
"""

from __future__ import annotations

import time
from typing import Callable  # noqa: UP035 (as upstream)

import numpy as np
import torch
import torch.nn.functional as F
from d2ldrop import digits64
from torch import nn

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = torch.optim.SGD(model.parameters(), lr=0.05, "
              "momentum=0.9); monitor.step(loss) right after loss.backward() (CrossEntropyLoss, batch 64), before "
              "optimizer.step() (no clipping)")

SIZE = 50  # the paper's thin highway layers: 50 blocks each
NUM_LAYERS = 20
LR = 0.05
MOMENTUM = 0.9
BATCH_SIZE = 64
EPOCHS = 30


class Highway(nn.Module):
    def __init__(
        self, size: int, num_layers: int, activation_fctn: Callable, drop_out: float = 0,
        gate_bias: float | None = None, gates: bool = True,
    ):
        super(Highway, self).__init__()  # noqa: UP008 (as upstream)
        self.num_layers = num_layers
        self.gates = gates  # the deep_plain variant: gates=False, x = H(x) (the paper's plain network)
        if drop_out:
            self.nonlinear = nn.ModuleList(
                [
                    nn.Sequential(nn.Linear(size, size), nn.Dropout(drop_out))
                    for _ in range(num_layers)
                ]
            )

        else:
            self.nonlinear = nn.ModuleList(
                [nn.Linear(size, size) for _ in range(num_layers)]
            )

        transform_gates = list()
        for _ in range(num_layers):
            transform_gate = nn.Linear(size, size)
            T_gate_bias = (num_layers - 1) // 10 + 1
            if gate_bias is not None:  # the gate-bias variant: +2 (gates open) instead of -T_gate_bias
                T_gate_bias = -gate_bias
            transform_gate.bias.data.fill_(-T_gate_bias)
            transform_gates.append(transform_gate)

        self.transform_gate = nn.ModuleList(transform_gates)
        if not gates:  # upstream: no such option; the plain stack has no transform gates at all
            self.transform_gate = nn.ModuleList()
        self.activation_fctn = activation_fctn

    def forward(self, x):
        for layer in range(self.num_layers):
            if not self.gates:  # the deep_plain variant: y = H(x)
                x = self.activation_fctn(self.nonlinear[layer](x))
                continue
            T_gate = torch.sigmoid(self.transform_gate[layer](x))
            H = self.activation_fctn(self.nonlinear[layer](x))

            x = T_gate * H + (1 - T_gate) * x

        return x


class HighwayNet(nn.Module):
    """The paper's MNIST network: a plain fully connected first layer, the highway stack, a softmax classifier
    (upstream has only the Highway module; this wrapper is the port's)."""

    def __init__(self, in_features=64, size=SIZE, num_layers=NUM_LAYERS, n_classes=10, **kw):
        super().__init__()
        self.first = nn.Linear(in_features, size)
        self.highway = Highway(size=size, num_layers=num_layers, activation_fctn=F.relu, **kw)
        self.classifier = nn.Linear(size, n_classes)

    def forward(self, x):
        return self.classifier(self.highway(F.relu(self.first(x))))


def evaluate(model, x, y):
    model.eval()
    with torch.no_grad():
        logits = model(x)
        acc = (logits.argmax(1) == y).float().mean().item()
        loss = F.cross_entropy(logits, y).item()
    model.train()
    return acc, loss


def train(seed: int = 1, lr_mult: float = 1.0, gate_bias: float | None = None, gates: bool = True,
          input_scale: float = 1.0, init_std: float | None = None, zero_grad: bool = True,
          batch_size: int = BATCH_SIZE, epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    xtr, ytr, xte, yte = digits64()
    xtr, xte = xtr * input_scale, xte * input_scale  # the unscaled_inputs variant: x100

    model = HighwayNet(gate_bias=gate_bias, gates=gates)
    if init_std is not None:  # the init_large variant: every Linear weight N(0, init_std); biases (gate's -2) kept
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0.0, std=init_std)
    lr = LR * lr_mult
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=MOMENTUM)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    losses = []
    n = len(xtr)
    for epoch in range(epochs):
        perm = torch.randperm(n)
        for i in range(0, n, batch_size):
            idx = perm[i:i + batch_size]
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            out = model(xtr[idx])
            loss = criterion(out, ytr[idx])
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())
        if verbose and (epoch + 1) % 5 == 0:
            acc, tl = evaluate(model, xte, yte)
            print(f"epoch {epoch + 1} | loss {np.mean(losses[-20:]):.4f} | test acc {acc:.4f} "
                  f"({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    test_acc, test_loss = evaluate(model, xte, yte)
    train_acc, _ = evaluate(model, xtr, ytr)
    la = np.array(losses)
    fin = np.isfinite(la)
    with torch.no_grad():
        gate_mean = (float(np.mean([torch.sigmoid(g.bias).mean().item() for g in model.highway.transform_gate]))
                     if gates else float("nan"))
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": test_acc,
            "chance": 0.1, "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(lr=lr, train_loss=float(np.mean(la[-20:])), first_loss=float(np.mean(la[:5])),
                          max_loss=float(np.nanmax(la)) if fin.any() else float("nan"),
                          finite_losses=bool(fin.all()), steps=len(la), epochs=epochs, batch_size=batch_size,
                          train_acc=train_acc, test_loss=test_loss, lr_mult=lr_mult,
                          gate_bias=float("nan") if gate_bias is None else gate_bias, gates=gates,
                          input_scale=input_scale, init_std=-1.0 if init_std is None else init_std,
                          zero_grad=zero_grad, sigmoid_gate_bias_mean=gate_mean),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="highway", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"highway MLP on digits (Linear(64, {SIZE}) + ReLU, {NUM_LAYERS} highway layers of {SIZE} (ReLU H, sigmoid T, "
      f"gate bias -2), Linear({SIZE}, 10); CrossEntropyLoss; SGD lr {LR:g} momentum {MOMENTUM:g}, batch {BATCH_SIZE}, "
      f"{EPOCHS} epochs)")
CASES: list[dict] = (
    [_case(f"highway_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"highway_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("highway_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case(f"highway_gate_bias_pos2_s{s}", "saturating_depth", s, {"gate_bias": 2.0},
             f"{_P}: transform-gate bias filled with +2 instead of -2 (gates start 88% open: nearly a plain stack)")
       for s in (1, 2)]
    + [_case(f"highway_plain_s{s}", "saturating_depth", s, {"gates": False},
             f"{_P}: the transform gates taken out, y = H(x) (the paper's plain network of the same depth and width)")
       for s in (1, 2)]
    + [_case("highway_inputs_x100_s1", "unscaled_inputs", 1, {"input_scale": 100.0},
             f"{_P}: the [0, 1] inputs multiplied by 100")]
    + [_case("highway_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every Linear weight (biases, the gates' -2 too, kept)")]
    + [_case("highway_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("highway_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: lr x2 ({LR * 2:g}; expected harmless)")]
    + [_case("highway_batch32_s1", "healthy", 1, {"batch_size": 32},
             f"{_P}: batch 32 instead of 64 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
