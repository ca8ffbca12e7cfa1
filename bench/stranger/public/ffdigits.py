"""Hinton's forward-forward algorithm from pytorch/examples (mnist_forward_forward) on scikit-learn's 8x8 digits,
watched by gradmedic with one monitor per Layer (each Layer owns its Adam and trains on its own goodness loss).

Adapted from https://github.com/pytorch/examples (BSD 3-Clause License, Copyright (c) 2017 Pytorch contributors, see
LICENSE-ffdigits), mnist_forward_forward/main.py at commit 77f55b912142e11fcfdf5b530231fb9c52f181e8 (the newest
stored; the file was last changed in 65722fe3ce14447420cf922fdd713bfe900b410f).  Upstream's header says the code is
based on Mohammad Pezeshki's pytorch_forward_forward (MIT License), modified by Vivek V Patel.  The same program is
ported as ptff.py, watched there by one optimizer-less monitor on the whole Net; here each Layer is watched as its own
model with its own optimizer, ``gradmedic.watch(layer, layer.opt)``, the way a user watching a per-layer-optimizer
program would (two monitors, two files per case, as elgan.py's GAN).

Kept as upstream has it: ``get_y_neg``, ``overlay_y_on_x`` (the first 10 inputs zeroed, the label's input set to
``x.max()``), ``Net`` (a plain Python list of ``Layer``s, ``predict`` by the summed goodness per label, ``train``
layer by layer on the detached outputs of the layer below), ``Layer(nn.Linear)`` with PyTorch's default init, its
own ``Adam(self.parameters(), lr=args.lr)``, ``forward`` = ReLU of the Linear on the L2-normalised input
(``+ 1e-4``), ``train``: ``args.epochs`` full-batch steps of ``loss = log1p(exp(cat([-g_pos + threshold, g_neg -
threshold]))).mean()``, ``self.opt.zero_grad()``, ``loss.backward()``, ``self.opt.step()``; the defaults lr 0.03,
threshold 2, 1000 epochs per layer; the inputs as ``ToTensor()`` + ``Normalize((0.1307,), (0.3081,))`` + flatten give
them (MNIST's constants kept); one full batch of the training set (upstream's batch_size = train_size), negatives
drawn once by ``get_y_neg``; the metric upstream prints, ``net.predict(x_te).eq(y_te)`` (as accuracy, not error).

Changed, to run offline in seconds on one CPU thread: MNIST is scikit-learn's ``load_digits`` (64 inputs, the label
overlaid on the first 10 as upstream does with its first 10 pixels; split 80/20 with random_state=0: one full batch
of 1437 training images, 360 held-out test images; pixels /16 for ToTensor's [0, 1], then the Normalize above)
instead of 50000/10000 MNIST images; ``Net([64, 100, 100])`` instead of ``Net([784, 500, 500])`` (64 inputs for 8x8
images; two layers as upstream, 100 units each to keep a run near 10-15 s on this shared machine); ``args`` is a
fixed namespace (lr, threshold, epochs set by ``train()``'s keywords) instead of argparse; device cpu;
``torch.manual_seed(seed)`` (upstream parses --seed but never seeds); the per-layer prints and model saving are left
out.  Each change is marked ``# upstream: ...``.

The watch, as a user would, one monitor per Layer: ``layer.monitor = gradmedic.watch(layer, layer.opt, every=10)``
for each Layer of ``net.layers`` right after ``net = Net(DIMS)`` (each Layer's optimizer is built in its
``__init__``); ``self.monitor.step(loss)`` in ``Layer.train`` right after that layer's ``loss.backward()`` and
before its ``self.opt.step()``; both closed after ``net.train``.  Layer 0's monitor sees its 1000 steps, layer 1's
monitor its own 1000 (which start after layer 0's end).  Returned as ``{"layer0": ..., "layer1": ...}`` (``PARTS``;
files ``{name}_layer0.npz`` and ``{name}_layer1.npz``).

``CASES`` (program "ffdigits"): the program on seeds 1-3, and one change each against the same seed's healthy run:
every layer's Adam lr x10, x100 (seeds 1 and 2), /1000; the normalised inputs x100 (overlay's ``x.max()`` scales
with them); every Layer's weight and bias ``normal_(std=1)`` (seeds 1 and 2); ``self.opt.zero_grad()`` left out
(seeds 1 and 2); ``--threshold 0`` (cause "healthy": no cause names it; labelled by its outcome); lr x2 and the
hidden width halved (``Net([64, 50, 50])``), both expected harmless.

Recorded (cases-public185, 128 s for the 15 runs, 5-11 s a run; each case two files, _layer0 and _layer1, of 1000
steps each): healthy 0.944, 0.950, 0.939 held-out accuracy on seeds 1-3 (training accuracy 0.943-0.946; each layer's
loss 1.08-1.10 over its first 5 steps -> 0.163-0.172 over its last 20, every loss finite, largest 1.13); lr x10
(0.3): 0.911 (layer 0's loss down to 0.069, layer 1's 0.170): ambiguous (3.3 points below its control, just past
the no-harm margin of 3; lr x100 is already broken, so no stronger one was added); lr x100 (3.0), seeds 1 and 2:
layer 0's goodness loss overflows to inf and then NaN within the first steps, layer 1 is fed NaN from its first
step, 0.075 both: broken; lr /1000 (3e-5): losses stay at 1.06-1.13, 0.069: broken; inputs x100: 0.944, the same
numbers as its control (each Layer divides its input by its L2 norm, and overlay's x.max() scales with the input, so
the scale cancels up to the 1e-4): healthy; weights and biases N(0, 1), seeds 1 and 2: 0.958, 0.953 (losses
0.72-0.83 -> 0.12-0.13): healthy; zero_grad left out, seeds 1 and 2: layer 0's loss rises to 1.55-1.56 and ends at
1.13 (ReLUs silenced), layer 1's stays at 1.12-1.13 (max 1.21-1.22), 0.075 both: broken; threshold 0: 0.947 (loss
0.69 -> 0.36-0.39, training accuracy 0.971): healthy; lr x2: 0.933: healthy; width halved (Net([64, 50, 50])):
0.942: healthy.  Labels: 8 healthy (3 programs, 5 variants), 6 broken, 1 ambiguous.  Only the lr x100 runs had
non-finite losses.
"""

# upstream's loop variables are kept (they fed the prints left out here)
# ruff: noqa: B007

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
from torch.optim import Adam

import gradmedic

ARCH = "mlp"
PARTS = ("layer0", "layer1")  # one monitor per Layer: {name}_layer0.npz and {name}_layer1.npz, in train()'s order
MONITOR_AT = ("one monitor per Layer: watch(layer, layer.opt, every=10) for each of net.layers right after "
              "net = Net(DIMS) (each Layer builds its own Adam in __init__); self.monitor.step(loss) in Layer.train "
              "right after that layer's loss.backward() of its goodness loss, before self.opt.step() (layer 0's "
              "1000 steps, then layer 1's)")
DIMS = [64, 100, 100]  # upstream: Net([784, 500, 500])
EPOCHS = 1000
LR = 0.03
THRESHOLD = 2.0
device = torch.device("cpu")  # upstream: the accelerator when available


class _Args:  # upstream: argparse's namespace, read by Layer
    lr, threshold, epochs, log_interval = LR, THRESHOLD, EPOCHS, 10


args = _Args()
_OPT = {"zero_grad": True}  # the no_zero_grad variant turns it off


def digits():
    """upstream: MNIST with ToTensor, Normalize((0.1307,), (0.3081,)), flatten; here load_digits /16, the same
    Normalize, a fixed 1437/360 split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.data, d.target, test_size=0.2, random_state=0)
    f = lambda x: (torch.tensor(x, dtype=torch.float32) / 16.0 - 0.1307) / 0.3081  # noqa: E731
    return f(xtr), torch.tensor(ytr), f(xte), torch.tensor(yte)


def get_y_neg(y):
    y_neg = y.clone()
    for idx, y_samp in enumerate(y):
        allowed_indices = list(range(10))
        allowed_indices.remove(y_samp.item())
        y_neg[idx] = torch.tensor(allowed_indices)[
            torch.randint(len(allowed_indices), size=(1,))
        ].item()
    return y_neg.to(device)


def overlay_y_on_x(x, y, classes=10):
    x_ = x.clone()
    x_[:, :classes] *= 0.0
    x_[range(x.shape[0]), y] = x.max()
    return x_


class Net(torch.nn.Module):
    def __init__(self, dims):

        super().__init__()
        self.layers = []
        for d in range(len(dims) - 1):
            self.layers = self.layers + [Layer(dims[d], dims[d + 1]).to(device)]

    def predict(self, x):
        goodness_per_label = []
        for label in range(10):
            h = overlay_y_on_x(x, label)
            goodness = []
            for layer in self.layers:
                h = layer(h)
                goodness = goodness + [h.pow(2).mean(1)]
            goodness_per_label += [sum(goodness).unsqueeze(1)]
        goodness_per_label = torch.cat(goodness_per_label, 1)
        return goodness_per_label.argmax(1)

    def train(self, x_pos, x_neg):
        h_pos, h_neg = x_pos, x_neg
        for i, layer in enumerate(self.layers):
            # upstream: print("training layer: ", i)
            h_pos, h_neg = layer.train(h_pos, h_neg)


class Layer(nn.Linear):
    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__(in_features, out_features, bias, device, dtype)
        self.relu = torch.nn.ReLU()
        self.opt = Adam(self.parameters(), lr=args.lr)
        self.threshold = args.threshold
        self.num_epochs = args.epochs
        self.losses = []  # port: the recorded losses, for the outcome's extra

    def forward(self, x):
        x_direction = x / (x.norm(2, 1, keepdim=True) + 1e-4)
        return self.relu(torch.mm(x_direction, self.weight.T) + self.bias.unsqueeze(0))

    def train(self, x_pos, x_neg):
        for i in range(self.num_epochs):
            g_pos = self.forward(x_pos).pow(2).mean(1)
            g_neg = self.forward(x_neg).pow(2).mean(1)
            loss = torch.log1p(
                torch.exp(
                    torch.cat([-g_pos + self.threshold, g_neg - self.threshold])
                )
            ).mean()
            if _OPT["zero_grad"]:  # the no_zero_grad variant leaves this out
                self.opt.zero_grad()
            loss.backward()
            self.monitor.step(loss)  # gradmedic
            self.opt.step()
            self.losses.append(float(loss.detach()))  # upstream: print("Loss: ", loss.item()) every log_interval
        return self.forward(x_pos).detach(), self.forward(x_neg).detach()


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, init: str = "default",
          zero_grad: bool = True, threshold: float = THRESHOLD, width: int = DIMS[1], epochs: int = EPOCHS,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)  # upstream: --seed parsed, never used
    t0 = time.time()
    args.lr, args.threshold, args.epochs = LR * lr_mult, threshold, epochs
    _OPT["zero_grad"] = zero_grad
    x, y, x_te, y_te = digits()
    if input_scale != 1.0:  # the unscaled_inputs variant: the normalised inputs x100
        x, x_te = x * input_scale, x_te * input_scale
    net = Net([DIMS[0], width, width])
    if init != "default":
        for layer in net.layers:
            if init == "std1":  # the init_large variant
                nn.init.normal_(layer.weight, std=1.0)
                nn.init.normal_(layer.bias, std=1.0)
            else:
                raise ValueError(init)
    for layer in net.layers:
        layer.monitor = gradmedic.watch(layer, layer.opt, every=every)  # gradmedic
    x_pos = overlay_y_on_x(x, y)
    y_neg = get_y_neg(y)
    x_neg = overlay_y_on_x(x, y_neg)
    net.train(x_pos, x_neg)
    for layer in net.layers:
        layer.monitor.close()  # gradmedic
    with torch.no_grad():
        train_acc = float(net.predict(x).eq(y).float().mean())
        acc = float(net.predict(x_te).eq(y_te).float().mean())
    if verbose:
        print(f"train error {1 - train_acc:.4f} test error {1 - acc:.4f} ({time.time() - t0:.1f}s)")
    ls = [np.array(layer.losses) for layer in net.layers]
    ex = {}
    for k, lo in enumerate(ls):
        ex.update({f"layer{k}_first_loss": float(np.mean(lo[:5])), f"layer{k}_final_loss": float(np.mean(lo[-20:])),
                   f"layer{k}_max_loss": float(np.nanmax(lo)) if np.isfinite(lo).any() else float("nan"),
                   f"layer{k}_finite": bool(np.isfinite(lo).all())})
    return {"monitors": {f"layer{k}": layer.monitor for k, layer in enumerate(net.layers)},
            "metric": "accuracy", "value": acc, "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(ex, train_acc=train_acc, lr=LR * lr_mult, lr_mult=lr_mult, input_scale=input_scale, init=init,
                          zero_grad=zero_grad, threshold=threshold, width=width, epochs=epochs,
                          test_images=len(y_te)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="ffdigits", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"forward-forward Net({DIMS}) (Layer = nn.Linear on the L2-normalised input, ReLU, default init; each Layer "
      f"its own Adam lr {LR:g}, goodness loss log1p(exp(...)) with threshold {THRESHOLD:g}; {EPOCHS} full-batch "
      f"epochs per layer, layer by layer; one monitor per Layer)")
CASES: list[dict] = (
    [_case(f"ffdigits_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"ffdigits_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: every layer's Adam lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("ffdigits_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3},
             f"{_P}: every layer's Adam lr /1000 ({LR * 1e-3:g})")]
    + [_case("ffdigits_inputs_x100_s1", "unscaled_inputs", 1, {"input_scale": 100.0},
             f"{_P}: the normalised inputs x100 (train and test)")]
    + [_case(f"ffdigits_init_std1_s{s}", "init_large", s, {"init": "std1"},
             f"{_P}: every Layer's weight and bias normal_(std=1)") for s in (1, 2)]
    + [_case(f"ffdigits_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: self.opt.zero_grad() left out of Layer.train (the gradients accumulate)") for s in (1, 2)]
    + [_case("ffdigits_threshold0_s1", "healthy", 1, {"threshold": 0.0}, f"{_P}: --threshold 0 instead of 2")]
    + [_case("ffdigits_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: every layer's Adam lr x2 ({LR * 2:g})")]
    + [_case("ffdigits_width50_s1", "healthy", 1, {"width": 50}, f"{_P}: hidden width halved, Net([64, 50, 50])")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
