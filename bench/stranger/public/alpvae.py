"""Aladdin Persson's variational autoencoder (fully connected, 784 -> 200 -> mu, sigma 20) on digits, watched by
gradmedic.

Adapted from https://github.com/aladdinpersson/Machine-Learning-Collection (commit
ae581a64e6b1a9350adbdc726bc5a860cb6f5370 for ML/Pytorch/more_advanced/VAE/train.py, the version with the training
loop, and 609b7511c82c3421459df79e2324c8ee5a5dbfc5 for ML/Pytorch/more_advanced/VAE/model.py; MIT License,
Copyright (c) 2020 Aladdin Persson, see LICENSE-alpvae).

Kept as upstream has it: ``VariationalAutoEncoder`` (copied below: ``img_2hid`` Linear(784, 200), ReLU, ``hid_2mu``
and ``hid_2sigma`` Linear(200, 20) - "sigma" is the raw linear output, not a log-variance; ``z_new = mu +
sigma*epsilon``; ``z_2hid`` Linear(20, 200), ReLU, ``hid_2img`` Linear(200, 784), ``torch.sigmoid``), PyTorch's
default init (upstream sets none), ``optim.Adam(lr=3e-4)``, batch 32 with ``shuffle=True``, ``loss_fn =
nn.BCELoss(reduction="sum")``, the loop (``x.view(x.shape[0], INPUT_DIM)``, ``reconstruction_loss = loss_fn(
x_reconstructed, x)``, ``kl_div = -torch.sum(1 + torch.log(sigma.pow(2)) - mu.pow(2) - sigma.pow(2))`` exactly as
written there (twice the textbook KL, no 0.5), ``loss = reconstruction_loss + kl_div``, ``optimizer.zero_grad()``,
``loss.backward()``, ``optimizer.step()``; no clipping, no scheduler), inputs from ``ToTensor()``: pixels in [0, 1],
no Normalize.

Changed to run offline on one CPU thread without torchvision: MNIST is mnist.py's ``digits28`` (scikit-learn's
``load_digits``, split 80/20 with random_state=0, upsampled bilinearly to 28x28) taken as raw 0..255 values and
divided by 255 as ``ToTensor`` does: 1437 training images (45 steps of 32 per epoch) and 360 held-out ones; 40
epochs (1800 steps; upstream: 10 epochs of MNIST's 1875) so a run takes about 10-15 s; ``torch.manual_seed(seed)``
before building the model (upstream does not seed) and the loader shuffled by a ``torch.Generator`` seeded with the
run's seed; device the CPU; ``torch.set_flush_denormal(True)`` (speed only); no tqdm; the ``inference``/
``save_image`` part (generating images of each digit) is left out; the bugs of the variants as in ``train``.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(loss)`` right after ``loss.backward()`` (the loss summed over the batch, as upstream), before
``optimizer.step()``; ``monitor.close()`` after the loop.

Metric: the held-out loss per image: upstream's loss (BCE summed over the 784 pixels plus upstream's KL term) on the
360 held-out images, divided by 360, with the reparametrization's epsilon drawn from a generator seeded 0 (the same
noise for every run).  Its reference ("initial") is the same quantity for the untrained model (the run's own
initialization, before the first step).  ``extra`` holds the held-out BCE and KL apart, the BCE of predicting the
training set's mean image and the targets' entropy (the BCE floor: the upsampled digits are blurred), and the
training loss per image.  For ``raw_pixels`` the held-out images go in as 0..255 values too and the reconstruction
is scored against the [0, 1] images, in the same units as the control's.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the same
seed's healthy run: Adam lr x10, x100 (seeds 1 and 2), x1000 and /1000; raw 0..255 pixels as the network's inputs
(the BCE targets kept in [0, 1]: ``BCELoss`` needs them) on seeds 1 and 2; the KL term's sign flipped (``kl_div =
torch.sum(...)`` without the leading minus, a reported bug) on seeds 1 and 2; ``nn.init.normal_(std=1.0)`` on every
Linear weight (biases kept) on seeds 1 and 2.  There is no clipping and no normalization upstream to remove.
Labels come from run.py's outcome rules only.

Recorded (cases-public19, 308 s in all, 13-32 s a run on shared cores; held-out loss per image, untrained model
~630, mean image's BCE 355.8, BCE floor 253.7): healthy 310.7, 312.5 and 313.4 on seeds 1-3 (BCE ~293 + KL ~18;
training loss 606 -> 308).  Healthy: lr x10 (300.9, a little better than its control).  Broken: lr x1000
(2.0e4), lr /1000 (626.4: no progress), the KL sign flipped (3.9e10 and 2.6e10: mu and sigma run away, the
training loss to -3.9e10), N(0, 1) init (3.6e4 and 3.7e4; first losses ~5.6e5 per image).  Ambiguous: lr x100
(356.0 and 356.2: the posterior collapses, KL 0, and the decoder gives the mean image, 1.14x the control, after
first losses of ~4e3) and raw 0..255 inputs (360.7 and 392.5: BCE ~358, again about the mean image; 1.16x and 1.26x
the control): good outcomes against the untrained model's ~630 but worse than their controls by more than 1.1x.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from mnist import digits28
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset

import gradmedic

ARCH = "vae"
MONITOR_AT = ("watch(model, optimizer, every=10) right after the optimizer is built; monitor.step(loss) right after "
              "loss.backward() (BCE summed over the batch's pixels plus upstream's KL term), before optimizer.step()")


class VariationalAutoEncoder(nn.Module):
    def __init__(self, input_dim, h_dim=200, z_dim=20):
        super().__init__()
        # encoder
        self.img_2hid = nn.Linear(input_dim, h_dim)
        self.hid_2mu = nn.Linear(h_dim, z_dim)
        self.hid_2sigma = nn.Linear(h_dim, z_dim)

        # decoder
        self.z_2hid = nn.Linear(z_dim, h_dim)
        self.hid_2img = nn.Linear(h_dim, input_dim)

        self.relu = nn.ReLU()

    def encode(self, x):
        h = self.relu(self.img_2hid(x))
        mu, sigma = self.hid_2mu(h), self.hid_2sigma(h)
        return mu, sigma

    def decode(self, z):
        h = self.relu(self.z_2hid(z))
        return torch.sigmoid(self.hid_2img(h))

    def forward(self, x):
        mu, sigma = self.encode(x)
        epsilon = torch.randn_like(sigma)
        z_new = mu + sigma*epsilon
        x_reconstructed = self.decode(z_new)
        return x_reconstructed, mu, sigma


# Configuration
DEVICE = torch.device("cpu")  # upstream: cuda when available
INPUT_DIM = 784
H_DIM = 200
Z_DIM = 20
NUM_EPOCHS = 40  # upstream: 10 epochs of MNIST
BATCH_SIZE = 32
LR_RATE = 3e-4  # Karpathy constant


def _kl(mu, sigma, kl_sign: float = 1.0):
    # upstream: kl_div = -torch.sum(1 + torch.log(sigma.pow(2)) - mu.pow(2) - sigma.pow(2)); the bug: the sign flipped
    return -kl_sign * torch.sum(1 + torch.log(sigma.pow(2)) - mu.pow(2) - sigma.pow(2))


def _heldout(model, x_in, x_target, loss_fn, kl_sign: float = 1.0):
    """Upstream's loss per held-out image, epsilon from a generator seeded 0 (the same noise for every run)."""
    g = torch.Generator()
    g.manual_seed(0)
    with torch.no_grad():
        mu, sigma = model.encode(x_in)
        epsilon = torch.randn(sigma.shape, generator=g)
        x_reconstructed = model.decode(mu + sigma * epsilon)
        n = x_in.shape[0]
        bce = loss_fn(x_reconstructed, x_target).item() / n
        kl = _kl(mu, sigma, kl_sign).item() / n
    return bce, kl


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, kl_sign: float = 1.0,
          init_std: float | None = None, num_epochs: int = NUM_EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    """``lr_mult``: Adam's lr times this; ``raw_pixels``: the network's inputs are 0..255 values (the BCE targets stay
    the [0, 1] images); ``kl_sign=-1``: ``kl_div = torch.sum(...)`` (the minus dropped); ``init_std``:
    ``nn.init.normal_(std=init_std)`` on every Linear weight after the model is built (biases kept)."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    d_train, d_test = digits28(raw_pixels=True)  # 0..255 values (MNIST's uint8 pixels)
    x_train = d_train.tensors[0].view(-1, INPUT_DIM) / 255.0  # transforms.ToTensor(): [0, 1]
    x_test = d_test.tensors[0].view(-1, INPUT_DIM) / 255.0
    scale_in = 255.0 if raw_pixels else 1.0  # the bug: no ToTensor scaling on what goes into the network
    g = torch.Generator()
    g.manual_seed(seed)
    train_loader = DataLoader(dataset=TensorDataset(x_train, d_train.tensors[1]), batch_size=BATCH_SIZE, shuffle=True,
                              generator=g)

    torch.manual_seed(seed)
    model = VariationalAutoEncoder(INPUT_DIM, H_DIM, Z_DIM).to(DEVICE)
    if init_std is not None:  # the bug: N(0, init_std) on every Linear weight instead of PyTorch's default
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, init_std)
    optimizer = optim.Adam(model.parameters(), lr=LR_RATE * lr_mult)
    loss_fn = nn.BCELoss(reduction="sum")
    monitor = gradmedic.watch(model, optimizer, every=every)
    bce0, kl0 = _heldout(model, x_test * scale_in, x_test, loss_fn)
    losses = []

    start_time = time.time()
    # Start Training
    for epoch in range(num_epochs):
        for _i, (x, _) in enumerate(train_loader):
            # Forward pass
            x = x.to(DEVICE).view(x.shape[0], INPUT_DIM)
            x_reconstructed, mu, sigma = model(x * scale_in)

            # Compute loss
            reconstruction_loss = loss_fn(x_reconstructed, x)
            kl_div = _kl(mu, sigma, kl_sign)

            # Backprop
            loss = reconstruction_loss + kl_div
            optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item() / x.shape[0])
        if verbose and (epoch % 10 == 9 or epoch == 0):
            print(f"epoch {epoch + 1}/{num_epochs} loss/image {np.mean(losses[-45:]):.2f} "
                  f"({time.time() - start_time:.1f}s)", flush=True)
    monitor.close()

    model.eval()
    bce, kl = _heldout(model, x_test * scale_in, x_test, loss_fn)  # the metric: upstream's KL, whatever the variant's
    value = bce + kl
    initial = bce0 + kl0
    mean_img = x_train.mean(0, keepdim=True).clamp(1e-7, 1 - 1e-7).expand_as(x_test)
    bce_mean = loss_fn(mean_img, x_test).item() / x_test.shape[0]
    t = x_test.clamp(1e-7, 1 - 1e-7)
    entropy = loss_fn(t, x_test).item() / x_test.shape[0]
    if verbose:
        print(f"held-out loss/image {value:.2f} (BCE {bce:.2f} + KL {kl:.2f}) vs untrained {initial:.2f}; mean image "
              f"BCE {bce_mean:.2f}, floor {entropy:.2f}")
    return {"monitors": {"": monitor}, "metric": "heldout_loss", "value": float(value) if np.isfinite(value) else
            float("nan"), "chance": float(initial), "initial": float(initial),
            "initial_what": "the untrained model's held-out loss per image (BCE sum + upstream's KL term)",
            "extra": {"heldout_bce": bce, "heldout_kl": kl, "initial_bce": bce0, "initial_kl": kl0,
                      "mean_image_bce": bce_mean, "target_entropy": entropy,
                      "train_loss": float(np.mean(losses[-20:])), "train_loss_first5": float(np.mean(losses[:5])),
                      "steps": len(losses), "lr": LR_RATE * lr_mult},
            "seconds": time.time() - start_time}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="alpvae", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"alpvae_healthy_s{s}", "healthy", s, {}, "unchanged (Adam lr 3e-4, BCELoss(sum) + upstream's KL, batch 32, "
           "[0, 1] pixels, 40 epochs)", False) for s in (1, 2, 3)]
    + [_case(f"alpvae_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({3e-4 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("alpvae_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (3e-07)")]
    + [_case(f"alpvae_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             "raw 0..255 pixel values (no ToTensor scaling) as the network's inputs; the BCE targets kept in [0, 1]")
       for s in (1, 2)]
    + [_case(f"alpvae_kl_sign_s{s}", "wrong_loss", s, {"kl_sign": -1.0},
             "the KL term's sign flipped: kl_div = torch.sum(1 + log(sigma^2) - mu^2 - sigma^2) without the leading "
             "minus (the loss rewards a large KL)") for s in (1, 2)]
    + [_case(f"alpvae_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Linear weight instead of PyTorch's default (kaiming_uniform_, "
             "a=sqrt(5)); biases kept") for s in (1, 2)]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
