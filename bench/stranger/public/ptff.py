"""Hinton's forward-forward algorithm from pytorch/examples (mnist_forward_forward), on scikit-learn's 8x8 digits,
watched by gradmedic.

Adapted from https://github.com/pytorch/examples (BSD 3-Clause License, Copyright (c) 2017 Pytorch contributors, see
LICENSE-ptff), mnist_forward_forward/main.py at commit 77f55b912142e11fcfdf5b530231fb9c52f181e8 (the newest stored;
the file was last changed in 65722fe3ce14447420cf922fdd713bfe900b410f).  Upstream's header says the code is based on
Mohammad Pezeshki's pytorch_forward_forward (MIT License), modified by Vivek V Patel.

Kept as upstream has it: ``get_y_neg``, ``overlay_y_on_x`` (the first 10 inputs zeroed, the label's input set to
``x.max()``), ``Net`` (a plain list of ``Layer``s, ``predict`` by the summed goodness per label, ``train`` layer by
layer on the detached outputs of the layer below), ``Layer(nn.Linear)`` with PyTorch's default init, its own
``Adam(self.parameters(), lr=args.lr)``, ``forward`` = ReLU of the Linear on the L2-normalised input (``+ 1e-4``),
``train``: ``args.epochs`` full-batch steps of ``loss = log1p(exp(cat([-g_pos + threshold, g_neg - threshold])))
.mean()``, ``self.opt.zero_grad()``, ``loss.backward()``, ``self.opt.step()``; the defaults lr 0.03, threshold 2,
1000 epochs per layer; the inputs as ``ToTensor()`` + ``Normalize((0.1307,), (0.3081,))`` + flatten give them (the
MNIST constants kept); one full batch of the training set, negatives drawn once by ``get_y_neg``; the metric
upstream prints: ``net.predict(x_te).eq(y_te)`` (reported as accuracy rather than error).

Changed, to run offline in a few seconds on one CPU thread: MNIST is scikit-learn's ``load_digits`` (64 inputs,
split 80/20 with random_state=0: one full batch of 1437 training images, 360 test images; pixels /16 then the
Normalize above) instead of 50000/10000 MNIST images; ``Net([64, 100, 100])`` instead of ``Net([784, 500, 500])``
(64 inputs for 8x8 images; 500 units per layer took 82 s a run and 200 units 30 s on this shared 2-core machine, 100
units ~12 s; the 500-unit run reached 0.931 test accuracy, the 100-unit one 0.944); ``args`` is a fixed namespace
(lr, threshold, epochs set by ``train()``'s keywords) instead of argparse; device cpu; ``torch.manual_seed(seed)``
(upstream parses --seed but never seeds); the per-layer prints and the model saving are left out; the Layers are
also registered as submodules of ``Net`` (``add_module(f"layer{i}", layer)`` after upstream's list is built)
because upstream's plain Python list hides them from ``net.parameters()`` and so from ``gradmedic.watch(net)``: it
changes no number of the training (each Layer keeps its own Adam).

The watch, as a user would, on the whole Net without an optimizer (there is no single one: each Layer owns an Adam):
``monitor = gradmedic.watch(net, every=10)`` right after ``net = Net(DIMS)``; ``monitor.step(loss)`` inside
``Layer.train``, right after that layer's ``loss.backward()`` and before its ``self.opt.step()``, with that
layer's goodness loss - the only place in the program where a loss and its fresh gradients exist together (there is
no end-to-end backward).  So the monitor sees 2000 steps: layer 0's 1000 steps, then layer 1's 1000 (in the second
half layer 0's ``.grad`` keeps its last value; the loss starts again from ~1.1 at step 1000).  The monitor is
reached through the module-level ``_HOOK`` dict (the loop lives in upstream's ``Layer.train``).

``CASES`` (program "ptff"): the program on seeds 1-3, and one change each against the same seed's healthy run:
every layer's Adam lr x10, x100 (seeds 1 and 2), /1000; the digits' raw 0..16 pixels (no /16, no Normalize);
every Layer's weight and bias ``normal_(std=1)``; every Layer's weight and bias zero; ``self.opt.zero_grad()``
left out; ``--threshold 4`` (cause "healthy": no cause names it); lr x2 (expected harmless).

Recorded (cases-public60, 153 s for the 24 runs of ptff and ptbowtoy; 9-16 s a ptff run): healthy 0.944, 0.950,
0.939 test accuracy on seeds 1-3 (training accuracy 0.943-0.946; each layer's loss 1.08 -> 0.16-0.17, every loss
finite, largest 1.13); lr x10 (0.3): 0.911 (layer 0's loss down to 0.069, layer 1's 0.170): ambiguous (3.3 points
below its control, just past the no-harm margin of 3); lr x100 (3.0), seeds 1 and 2: the goodness loss overflows to
inf and then NaN within the first steps, 0.075 both: broken; lr /1000: losses stay at 1.06-1.10, 0.069: broken;
raw 0..16 pixels: 0.928 (each Layer divides its input by its norm, so the scale hardly matters): healthy; weights
and biases N(0, 1): 0.958 (loss 0.72 -> 0.12): healthy; zero init: the loss stays at 1.1269 (ReLU of zero, no
gradient), 0.075: broken; zero_grad left out: the loss rises to 1.56 and ends at 1.1269, 0.075: broken; threshold
4: 0.908 (loss 1.95 -> 0.15): healthy; lr x2: 0.933: healthy.  Labels: 7 healthy (3 programs, 4 variants), 5
broken, 1 ambiguous.  Only the lr x100 runs had non-finite losses.
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
MONITOR_AT = ("watch(net, every=10) on the whole Net, no optimizer (each Layer has its own Adam), right after "
              "net = Net(DIMS); monitor.step(loss) in Layer.train right after each layer's loss.backward(), "
              "before that layer's self.opt.step(), with that layer's goodness loss (layer 0's 1000 steps, then "
              "layer 1's)")
DIMS = [64, 100, 100]
EPOCHS = 1000
LR = 0.03
THRESHOLD = 2.0
device = torch.device("cpu")


class _Args:  # upstream's argparse namespace, read by Layer
    lr, threshold, epochs, log_interval = LR, THRESHOLD, EPOCHS, 10


args = _Args()
_HOOK: dict = {"monitor": None, "zero_grad": True, "losses": []}


def digits():
    """load_digits as MNIST's transform gives it: /16 for ToTensor's [0, 1], Normalize((0.1307,), (0.3081,)),
    flattened; a fixed 1437/360 split."""
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
        for i, layer in enumerate(self.layers):  # port: registered so that watch(net) sees the layers' parameters
            self.add_module(f"layer{i}", layer)

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
            h_pos, h_neg = layer.train(h_pos, h_neg)


class Layer(nn.Linear):
    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__(in_features, out_features, bias, device, dtype)
        self.relu = torch.nn.ReLU()
        self.opt = Adam(self.parameters(), lr=args.lr)
        self.threshold = args.threshold
        self.num_epochs = args.epochs

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
            if _HOOK["zero_grad"]:  # the no_zero_grad variant leaves this out
                self.opt.zero_grad()
            loss.backward()
            _HOOK["monitor"].step(loss)  # gradmedic
            self.opt.step()
            _HOOK["losses"].append(float(loss.detach()))
        return self.forward(x_pos).detach(), self.forward(x_neg).detach()


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init: str = "default",
          zero_grad: bool = True, threshold: float = THRESHOLD, epochs: int = EPOCHS, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    args.lr, args.threshold, args.epochs = LR * lr_mult, threshold, epochs
    x, y, x_te, y_te = digits()
    if raw_pixels:  # the unscaled_inputs variant: the digits' raw 0..16 values, no ToTensor scaling, no Normalize
        x, x_te = (x * 0.3081 + 0.1307) * 16.0, (x_te * 0.3081 + 0.1307) * 16.0
    net = Net(DIMS)
    if init != "default":
        for layer in net.layers:
            if init == "std1":  # the init_large variant
                nn.init.normal_(layer.weight, std=1.0)
                nn.init.normal_(layer.bias, std=1.0)
            elif init == "zero":  # the symmetric_init variant
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)
            else:
                raise ValueError(init)
    monitor = gradmedic.watch(net, every=every)
    _HOOK.update(monitor=monitor, zero_grad=zero_grad, losses=[])
    x_pos = overlay_y_on_x(x, y)
    y_neg = get_y_neg(y)
    x_neg = overlay_y_on_x(x, y_neg)
    net.train(x_pos, x_neg)
    monitor.close()
    losses = list(_HOOK["losses"])
    _HOOK.update(monitor=None, losses=[])
    with torch.no_grad():
        train_acc = float(net.predict(x).eq(y).float().mean())
        acc = float(net.predict(x_te).eq(y_te).float().mean())
    if verbose:
        print(f"train error {1 - train_acc:.4f} test error {1 - acc:.4f} ({time.time() - t0:.1f}s)")
    e = epochs
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc, "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(train_acc=train_acc, lr=LR * lr_mult, train_loss=float(np.mean(losses[-20:])),
                          first_loss=float(np.mean(losses[:5])), max_loss=float(np.nanmax(losses)),
                          finite_losses=bool(np.isfinite(losses).all()), steps=len(losses),
                          layer0_first_loss=float(np.mean(losses[:5])), layer0_final_loss=float(losses[e - 1]),
                          layer1_first_loss=float(np.mean(losses[e:e + 5])), layer1_final_loss=float(losses[-1]),
                          lr_mult=lr_mult, raw_pixels=raw_pixels, init=init, zero_grad=zero_grad,
                          threshold=threshold, epochs=epochs, test_images=len(y_te)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="ptff", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"forward-forward Net({DIMS}) (Layer = nn.Linear on the L2-normalised input, ReLU, default init; each Layer "
      f"its own Adam lr {LR:g}, goodness loss log1p(exp(...)) with threshold {THRESHOLD:g}; {EPOCHS} full-batch "
      f"epochs per layer, layer by layer)")
CASES: list[dict] = (
    [_case(f"ptff_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"ptff_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: every layer's Adam lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("ptff_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: every layer's Adam lr /1000 ({LR * 1e-3:g})")]
    + [_case("ptff_raw_pixels_s1", "unscaled_inputs", 1, {"raw_pixels": True},
             f"{_P}: the digits' raw 0..16 pixel values (no ToTensor scaling, no Normalize)")]
    + [_case("ptff_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_P}: every Layer's weight and bias normal_(std=1)")]
    + [_case("ptff_zero_init_s1", "symmetric_init", 1, {"init": "zero"},
             f"{_P}: every Layer's weight and bias zeros_")]
    + [_case("ptff_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: self.opt.zero_grad() left out of Layer.train (the gradients accumulate)")]
    + [_case("ptff_threshold4_s1", "healthy", 1, {"threshold": 4.0}, f"{_P}: --threshold 4 instead of 2")]
    + [_case("ptff_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: every layer's Adam lr x2 ({LR * 2:g})")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
