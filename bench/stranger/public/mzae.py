"""MorvanZhou/PyTorch-Tutorial's autoencoder (a tanh MLP encoder to 3 features and a decoder back, ending in a
Sigmoid, trained with MSE to reconstruct its input), watched by gradmedic.

Adapted from https://github.com/MorvanZhou/PyTorch-Tutorial (commit dbe154a9e56635e51c6b0c2ccea8ae36cfb585a7,
tutorial-contents/404_autoencoder.py as last changed in 4e5122c3734dcdc9ace164c2a87fbd412ca1d431; MIT License,
Copyright (c) 2017, the repository's LICENCE, see LICENSE-mzae).

Kept as in the original: ``BATCH_SIZE = 64``, ``LR = 0.005``; the ``AutoEncoder`` class (encoder ``Linear(in, 128)``,
``Tanh``, ``Linear(128, 64)``, ``Tanh``, ``Linear(64, 12)``, ``Tanh``, ``Linear(12, 3)``; decoder ``Linear(3, 12)``,
``Tanh``, ``Linear(12, 64)``, ``Tanh``, ``Linear(64, 128)``, ``Tanh``, ``Linear(128, in)``, ``Sigmoid``; forward
returns ``encoded, decoded``) with PyTorch's default init; ``torch.optim.Adam(autoencoder.parameters(), lr=LR)``;
``nn.MSELoss()``; a shuffling ``DataLoader`` of batch 64; the loop (``b_x = b_y = x.view(-1, in)``,
``encoded, decoded = autoencoder(b_x)``, ``loss = loss_func(decoded, b_y)``, ``optimizer.zero_grad()``,
``loss.backward()``, ``optimizer.step()``; no clipping).

Changed, to run offline on one CPU thread: MNIST (28x28, ``ToTensor`` into [0, 1]) is scikit-learn's
``load_digits`` (8x8 images, 64 values), divided by 16 into [0, 1], split 80/20 with random_state=0 into a fixed
1437 training / 360 held-out images; so the input and output width 28*28 is 64 (``Linear(64, 128)`` first and
``Linear(128, 64)`` last); the hidden sizes 128, 64, 12, 3 are all kept (they fit: the first layer now widens 64
to 128 instead of narrowing 784); 100 epochs of 23 steps (2300 steps) instead of 10 epochs of 938 (9380 steps),
so a run takes roughly 10-15 s on an idle CPU thread (24-38 s on the loaded machine of the recording);
``torch.manual_seed(seed)`` first (commented out upstream); ``super().__init__()`` for upstream's
``super(AutoEncoder, self).__init__()`` (the linter's wish, the same call); the image plots, the per-100-step
print and the 3D plot of the codes are left out.  Upstream has no test pass: the metric ("loss") is the MSE
reconstruction loss ``loss_func(decoded, x)`` on the 360 held-out digits after training (in the [0, 1] units:
divided by the square of the input scale for the unscaled-inputs variant); ``initial`` is the mean of the first 5
training losses (same units); ``chance`` the held-out MSE of predicting the training images' mean image.

The watch, as a user would: ``monitor = gradmedic.watch(autoencoder, optimizer, every=10)`` right after the
optimizer is built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``;
``monitor.close()`` after the loop.

``CASES`` (in the shape of run.py's ``case()``, program "mzae"): the program on seeds 1-3, and one change each
against the same seed's healthy run: LR x10, x100 (seeds 1 and 2), /1000; the inputs unscaled (the digits' raw
0..16 values, fed and reconstructed as such: the Sigmoid output cannot reach them); every Linear weight and bias
``normal_(std=1)``; ``optimizer.zero_grad()`` left out (the gradients accumulate); BATCH_SIZE 32 instead of 64
(expected harmless; cause "healthy").  Labels come from run.py's outcome rules only.
Recorded (cases-public56, 11 cases in 320 s on a shared 2-core machine at load ~6, run alongside zthmlp's
recording: 24-38 s a run under that load): healthy held-out MSE 0.0233, 0.0233, 0.0246 on seeds 1-3 (first losses
0.137-0.146, train loss 0.015-0.017 at the end; the mean image scores 0.0737; every loss finite): healthy; LR x10
(0.05): 0.137 (losses up to 0.68): broken; LR x100 (0.5), seeds 1 and 2: 0.692 and 0.291 (the outputs stuck:
losses up to 0.71 and 0.69): broken; LR /1000: 0.109 (from 0.18): broken; raw 0..16 inputs: 0.198 in [0, 1] units
(the train loss stays at 0.20 of its 0.21 start): broken; normal_(std=1) init: 0.0649 (from 0.388): broken;
optimizer.zero_grad() left out: 0.689 (up from 0.146 at the start): broken; BATCH_SIZE 32: 0.0253: healthy.
Labels: 4 healthy (3 programs, 1 variant), 7 broken, 0 ambiguous.  No run had a non-finite loss.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.utils.data as Data

import gradmedic

ARCH = "autoencoder"
MONITOR_AT = ("watch(autoencoder, optimizer, every=10) right after optimizer = torch.optim.Adam(...); "
              "monitor.step(loss) right after loss.backward() (MSELoss of decoded vs the batch), before "
              "optimizer.step() (no clipping)")

# Hyper Parameters
EPOCH = 100  # upstream 10 (of 938 MNIST batches; here 23 digits batches)
BATCH_SIZE = 64
LR = 0.005  # learning rate
N_IN = 64  # upstream 28*28


def digits64():
    """(train, test) load_digits images as 64 values in [0, 1]: a fixed 1437/360 split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.data, d.target, test_size=0.2, random_state=0)
    f = lambda x: torch.tensor(x, dtype=torch.float32) / 16.0  # noqa: E731  ToTensor: [0, 1]
    return f(xtr), torch.tensor(ytr), f(xte), torch.tensor(yte)


class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()  # upstream: super(AutoEncoder, self).__init__()

        self.encoder = nn.Sequential(
            nn.Linear(N_IN, 128),
            nn.Tanh(),
            nn.Linear(128, 64),
            nn.Tanh(),
            nn.Linear(64, 12),
            nn.Tanh(),
            nn.Linear(12, 3),   # compress to 3 features which can be visualized in plt
        )
        self.decoder = nn.Sequential(
            nn.Linear(3, 12),
            nn.Tanh(),
            nn.Linear(12, 64),
            nn.Tanh(),
            nn.Linear(64, 128),
            nn.Tanh(),
            nn.Linear(128, N_IN),
            nn.Sigmoid(),       # compress to a range (0, 1)
        )

    def forward(self, x):
        encoded = self.encoder(x)
        decoded = self.decoder(encoded)
        return encoded, decoded


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, init_std: float | None = None,
          zero_grad: bool = True, batch_size: int = BATCH_SIZE, epochs: int = EPOCH, every: int = 10,
          verbose: bool = False) -> dict:
    """Variants: ``lr_mult`` multiplies LR; ``input_scale`` 16 feeds (and reconstructs) the raw 0..16 values;
    ``init_std``: ``normal_(0, init_std)`` on every Linear weight and bias; ``zero_grad=False`` leaves out
    ``optimizer.zero_grad()``; ``batch_size`` replaces BATCH_SIZE."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)    # reproducible (commented out upstream)
    t0 = time.time()
    xtr, ytr, xte, yte = digits64()
    xtr, xte = xtr * input_scale, xte * input_scale  # input_scale 16: the raw 0..16 values
    train_data = Data.TensorDataset(xtr, ytr)
    train_loader = Data.DataLoader(dataset=train_data, batch_size=batch_size, shuffle=True)

    autoencoder = AutoEncoder()
    if init_std is not None:  # the init_large variant
        with torch.no_grad():
            for m in autoencoder.modules():
                if isinstance(m, nn.Linear):
                    m.weight.normal_(0.0, init_std)
                    m.bias.normal_(0.0, init_std)

    lr = LR * lr_mult
    optimizer = torch.optim.Adam(autoencoder.parameters(), lr=lr)
    loss_func = nn.MSELoss()
    monitor = gradmedic.watch(autoencoder, optimizer, every=every)  # gradmedic
    s2 = float(input_scale) ** 2

    losses = []
    for epoch in range(epochs):
        for _step, (x, _b_label) in enumerate(train_loader):
            b_x = x.view(-1, N_IN)   # batch x, shape (batch, 64)
            b_y = x.view(-1, N_IN)   # batch y, shape (batch, 64)

            encoded, decoded = autoencoder(b_x)

            loss = loss_func(decoded, b_y)      # mean square error
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()           # clear gradients for this training step
            loss.backward()                     # backpropagation, compute gradients
            monitor.step(loss)                  # gradmedic
            optimizer.step()                    # apply gradients
            losses.append(loss.item() / s2)
        if verbose and (epoch + 1) % max(1, epochs // 10) == 0:
            print(f"Epoch: {epoch} | train loss: {np.mean(losses[-20:]):.4f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()

    with torch.no_grad():
        _, decoded = autoencoder(xte)
        test_mse = float(loss_func(decoded, xte)) / s2
        chance = float(loss_func(xtr.mean(0, keepdim=True).expand_as(xte), xte)) / s2
    fin = np.isfinite(losses)
    initial = float(np.mean(losses[:5]))
    if verbose:
        print(f"test MSE {test_mse:.4f} (first losses {initial:.4f}, mean image {chance:.4f})")
    return {"monitors": {"": monitor}, "metric": "loss", "value": test_mse, "chance": chance, "initial": initial,
            "initial_what": "untrained: mean training loss of the first 5 steps (in [0, 1] pixel units)",
            "extra": dict(train_loss=float(np.mean(losses[-20:])), first_loss=initial,
                          max_loss=float(np.max(np.asarray(losses)[fin])) if fin.any() else float("nan"),
                          finite_losses=bool(fin.all()), steps=len(losses), epochs=epochs, lr=lr, lr_mult=lr_mult,
                          input_scale=input_scale, init_std=-1.0 if init_std is None else init_std,
                          zero_grad=zero_grad, batch_size=batch_size, mean_image_mse=chance,
                          test_images=len(yte)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="mzae", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"autoencoder (64-128-64-12-3 tanh encoder, 3-12-64-128-64 tanh decoder with a final Sigmoid, default init; "
      f"MSELoss, Adam lr {LR:g}, batch {BATCH_SIZE}, {EPOCH} epochs of 23 steps on 1437 digits in [0, 1])")
CASES: list[dict] = (
    [_case(f"mzae_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"mzae_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: LR x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("mzae_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: LR /1000 ({LR * 1e-3:g})")]
    + [_case("mzae_raw_inputs_s1", "unscaled_inputs", 1, {"input_scale": 16.0},
             f"{_P}: inputs unscaled (the digits' raw 0..16 values, fed and reconstructed as such)")]
    + [_case("mzae_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_P}: every Linear weight and bias normal_(std=1)")]
    + [_case("mzae_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("mzae_batch32_s1", "healthy", 1, {"batch_size": 32}, f"{_P}: BATCH_SIZE 32 instead of 64")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = eval(v)
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
