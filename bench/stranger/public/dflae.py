"""dataflowr's stacked autoencoder (Module 9, 09_AE_NoisyAE_sol.ipynb, "1. Exercise: Stacked Autoencoder":
DeepAutoEncoder, an MLP encoder 128-64-32 and decoder 32-64-128 with ReLUs, MSELoss, optim.Adam(model.parameters())
with its defaults, batch 256, the notebook's train_model loop), on load_digits, watched by gradmedic.

Adapted from https://github.com/dataflowr/notebooks (commit 043dff0f792a5ae67005ba147f7b9dd5fc66e2a1,
Module9/sol/09_AE_NoisyAE_sol.ipynb; Apache License 2.0, see LICENSE-dflae).

Kept as upstream: the DeepAutoEncoder class (encoder Linear(input_dim, 128)-ReLU-Linear(128, 64)-ReLU-Linear(64,
encoding_dim), decoder its mirror), encoding_dim 32, torch.nn.MSELoss(), optim.Adam(model.parameters()) with its
defaults (lr 1e-3), batch_size 256 with shuffle, train_model's loop (view to (-1, input_dim), zero_grad, forward,
loss_fn(output, data), backward, step; the print every 100 batches, here every 25 epochs behind verbose); PyTorch's
default initialization.

Changed for running offline on one CPU thread: MNIST (torchvision, which does not import here) -> scikit-learn's
load_digits, 8x8 images scaled to 0..1 as ToTensor would (pixel / 16), a fixed stratified 1437/360 train/test split
(random_state 0, the same for every seed); so input_dim is 64 instead of 784, and the 10 epochs over MNIST's 60000
(2350 steps) become 200 epochs over the 1437 digits (6 batches an epoch, 1200 steps).  train_model takes its loader as
an argument (upstream reads the global train_loader).  torch.manual_seed(seed) first.  The notebook has no test
metric (it plots reconstructions of test digits): the outcome, test_mse, is the mean squared reconstruction error
on the 360 test digits in 0..1 units (initial: the untrained model's; chance: predicting the mean training digit).
For a BCEWithLogitsLoss model the reconstruction is sigmoid(output), as the notebook's plots would want.

The watch, as a user would add it: gradmedic.watch(model, optimizer, every=10) right after the Adam optimizer is
built; monitor.step(loss) in train_model right after loss.backward(), before optimizer.step(); monitor.close() after
train_model returns.

Variants (each one change against the same seed's healthy run): Adam lr x2, x10 (seeds 1, 2), x100 (seeds 1, 2),
x1000, /1000 (seeds 1, 2); raw 0..255 pixels as input and target (seeds 1, 2; outcome divided by 255^2); normal_
(std=1) on every Linear weight (seeds 1, 2); zeros on every Linear weight and bias; bias -5 on the four Linears that
feed a ReLU (seeds 1, 2); no optimizer.zero_grad(); BCEWithLogitsLoss as the notebook's next cell does (cause
healthy); BCEWithLogitsLoss fed sigmoid(output) (a sigmoid twice; wrong_loss).

Recorded (cases-public34, 21 cases, about 5 s each; test MSE in 0..1 units, untrained about 0.23, the mean digit
0.074): healthy seeds 1-3: 0.0081, 0.0101, 0.0077 (healthy).  lr x2: 0.0069, healthy.  lr x10: 0.0105 and 0.0168,
ambiguous.  lr x100: 0.075 and 154, broken.  lr x1000: 0.075, broken.  lr /1000: 0.224 and 0.222, broken.  Raw pixels:
0.0092 and 0.0085, ambiguous (a good outcome, but the recorded loss is in 0..255 units, so its largest is far over
twice the control's).  normal_(std=1): 1.7e4 and 2.9e4 (from 2.5e9 and 1.7e9 untrained), broken.  Zero init: 0.074,
broken (the mean digit).  Bias -5: 0.074 and 0.074, broken.  No zero_grad: 0.105, broken.  BCEWithLogitsLoss: 0.0124,
healthy.  Sigmoid into BCEWithLogitsLoss: 0.087, broken.  Totals: 5 healthy, 12 broken, 4 ambiguous.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import TensorDataset

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optim.Adam(model.parameters()); monitor.step(loss) in "
              "train_model right after loss.backward(), before optimizer.step() (no clipping)")


# --- the notebook's cells (code and comments as upstream) ------------------------------------------------------------

class DeepAutoEncoder(nn.Module):
    def __init__(self, input_dim, encoding_dim):
        super(DeepAutoEncoder, self).__init__()  # noqa: UP008
        self.encoder = nn.Sequential(
            nn.Linear(input_dim, 128),
            nn.ReLU(),
            nn.Linear(128, 64),
            nn.ReLU(),
            nn.Linear(64, encoding_dim),

        )
        self.decoder = nn.Sequential(
            nn.Linear(encoding_dim, 64),
            nn.ReLU(),
            nn.Linear(64, 128),
            nn.ReLU(),
            nn.Linear(128, input_dim),
        )

    def forward(self, x):
        x = self.encoder(x)
        x = self.decoder(x)
        return x


def train_model(model, loss_fn, data_loader=None, epochs=1, optimizer=None, monitor=None, zero_grad=True,
                sigmoid_out=False, losses=None, verbose=False):
    model.train()
    for epoch in range(epochs):
        for batch_idx, (data, _) in enumerate(data_loader):  # upstream: the global train_loader
            data = data.view([-1, 64])  # 784
            if zero_grad:  # the no_zero_grad variant leaves this line out
                optimizer.zero_grad()
            output = model(data)
            if sigmoid_out:  # the wrong_loss variant: a sigmoid on the output before BCEWithLogitsLoss
                output = torch.sigmoid(output)
            loss = loss_fn(output, data)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())
            if verbose and epoch % 25 == 0 and batch_idx == 0:
                print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(  # noqa: UP032
                    epoch, batch_idx * len(data), len(data_loader.dataset),
                    100. * batch_idx / len(data_loader), loss.data.item()))


# --- data: load_digits in place of datasets.MNIST(transform=transforms.ToTensor()) ----------------------------------

def digits(raw_pixels: bool):
    """load_digits' 8x8 images as ToTensor would give them (0..16 -> 0..1); a fixed 1437/360 train/test split (the same
    for every seed). ``raw_pixels``: the images in 0..255 (x 255, no ToTensor scaling), input and target alike."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    if raw_pixels:
        x = x * 255.0
    y = torch.tensor(d.target, dtype=torch.long)
    itr, ite = train_test_split(np.arange(len(y)), test_size=360, random_state=0, stratify=d.target)
    return TensorDataset(x[itr], y[itr]), TensorDataset(x[ite], y[ite])


def test_mse(model, test_loader, scale, sigmoid_out, bce):
    """Not in the notebook (it plots 10 test reconstructions): the mean squared reconstruction error over the 360
    test digits, in the units of the 0..1 images (divided by scale^2)."""
    model.eval()
    se, n = 0.0, 0
    with torch.no_grad():
        for data, _ in test_loader:
            data = data.view([-1, 64])
            out = model(data)
            if sigmoid_out or bce:  # a BCEWithLogitsLoss model outputs logits: its reconstruction is their sigmoid
                out = torch.sigmoid(out)
            se += float(((out - data) ** 2).sum())
            n += data.numel()
    model.train()
    return se / n / scale ** 2


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init_std: float | None = None,
          zero_init: bool = False, bias: float | None = None, zero_grad: bool = True, bce: bool = False,
          sigmoid_out: bool = False, epochs: int = 200, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    train_set, test_set = digits(raw_pixels)
    scale = 255.0 if raw_pixels else 1.0
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=256, shuffle=True)
    test_loader = torch.utils.data.DataLoader(test_set, batch_size=10, shuffle=False)

    input_dim = 64  # 784
    encoding_dim = 32

    model = DeepAutoEncoder(input_dim, encoding_dim)
    for m in model.modules():  # the init variants (not upstream)
        if isinstance(m, nn.Linear):
            if zero_init:
                nn.init.zeros_(m.weight)
                nn.init.zeros_(m.bias)
            elif init_std is not None:
                nn.init.normal_(m.weight, std=init_std)
    if bias is not None:  # the dead_relu variant: a large negative bias on the Linears that feed a ReLU
        for seq in (model.encoder, model.decoder):
            for i in (0, 2):
                nn.init.constant_(seq[i].bias, bias)
    initial = test_mse(model, test_loader, scale, sigmoid_out, bce)
    optimizer = optim.Adam(model.parameters(), lr=1e-3 * lr_mult)  # upstream: optim.Adam(model.parameters())
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    loss_fn = torch.nn.BCEWithLogitsLoss() if (bce or sigmoid_out) else torch.nn.MSELoss()

    losses: list[float] = []
    train_model(model, loss_fn, data_loader=train_loader, epochs=epochs, optimizer=optimizer, monitor=monitor,
                zero_grad=zero_grad, sigmoid_out=sigmoid_out, losses=losses, verbose=verbose)
    monitor.close()
    value = test_mse(model, test_loader, scale, sigmoid_out, bce)
    tl = float(np.mean(losses[-20:]))
    return {"monitors": {"": monitor}, "metric": "test_mse", "value": value if math.isfinite(value) else float("nan"),
            "initial": initial, "initial_what": "untrained: the reconstruction MSE on the 360 test digits (0..1 units)",
            "chance": float(((test_set.tensors[0] / scale - train_set.tensors[0].mean(0) / scale) ** 2).mean()),
            "extra": {"train_loss": tl if math.isfinite(tl) else float("nan"),
                      "initial_train_loss": float(np.mean(losses[:5])), "steps": len(losses), "epochs": epochs,
                      "lr": 1e-3 * lr_mult, "loss_fn": type(loss_fn).__name__,
                      "n_params": sum(p.numel() for p in model.parameters())},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="dflae", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_W = ("DeepAutoEncoder (64-128-64-32-64-128-64, ReLU), MSELoss, Adam defaults (lr 1e-3), batch 256, 200 epochs = 1200 "
      "steps on 8x8 digits")
CASES: list[dict] = (
    [_case(f"dflae_healthy_s{s}", "healthy", s, {}, f"{_W}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"dflae_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_W}: Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((2, (1,)), (10, (1, 2)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case(f"dflae_lr_div1000_s{s}", "lr_low", s, {"lr_mult": 1e-3}, f"{_W}: Adam lr /1000 (1e-6)") for s in (1, 2)]
    + [_case(f"dflae_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             f"{_W}: raw 0..255 pixel values (no ToTensor scaling) as input and target; the outcome in 0..1 units "
             "(divided by 255^2)") for s in (1, 2)]
    + [_case(f"dflae_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_W}: nn.init.normal_(std=1.0) on every Linear weight (biases kept)") for s in (1, 2)]
    + [_case("dflae_zero_init_s1", "symmetric_init", 1, {"zero_init": True},
             f"{_W}: nn.init.zeros_ on every Linear weight and bias")]
    + [_case(f"dflae_neg_bias_s{s}", "dead_relu", s, {"bias": -5.0},
             f"{_W}: bias constant -5 on the four Linears that feed a ReLU") for s in (1, 2)]
    + [_case("dflae_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_W}: optimizer.zero_grad() left out: the gradients accumulate")]
    + [_case("dflae_bce_s1", "healthy", 1, {"bce": True},
             f"{_W}: torch.nn.BCEWithLogitsLoss() instead of MSELoss, as the notebook's next cell does; the outcome is "
             "the MSE of sigmoid(output)")]
    + [_case("dflae_sigmoid_bce_s1", "wrong_loss", 1, {"sigmoid_out": True},
             f"{_W}: BCEWithLogitsLoss as in the notebook's next cell, but fed torch.sigmoid(output) (a sigmoid "
             "twice); the outcome is the MSE of sigmoid(output)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
