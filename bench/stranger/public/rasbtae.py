"""Sebastian Raschka's convolutional autoencoder with nearest-neighbour upsampling (deeplearning-models' model zoo),
trained on digits, watched by gradmedic.

Adapted from https://github.com/rasbt/deeplearning-models (commit c8702ff1682e6b809ab2c203aa4484e678a5398e,
pytorch_ipynb/autoencoder/ae-conv-nneighbor.ipynb; MIT License, Copyright (c) 2019 Sebastian Raschka, see
LICENSE-rasbtae).  Kept as in the notebook: ``ConvolutionalAutoencoder`` (copied below: encoder ``conv_1``
1->4 3x3 pad 1, leaky_relu, 2x2 max-pool, ``conv_2`` 4->8, leaky_relu, max-pool to 7x7x8; decoder
``F.interpolate(scale_factor=2, mode='nearest')``, ``conv_3`` 8->4, leaky_relu, nearest upsampling, ``conv_4``
4->1, ``logits = F.leaky_relu(x)``, ``probas = torch.sigmoid(logits)``), PyTorch's default initialization (the
notebook sets none), ``torch.manual_seed`` before building the model, ``torch.optim.Adam(lr=0.05)``, batch 128
with ``shuffle=True``, the loop (``cost = F.binary_cross_entropy_with_logits(logits, features)`` on the leaky
logits, ``optimizer.zero_grad()``, ``cost.backward()``, ``optimizer.step()``), inputs from ``ToTensor()``: pixels
in [0, 1], no Normalize.

Changed to run offline on one CPU thread without torchvision: the data is scikit-learn's ``load_digits``
upsampled to 1x28x28 (``digits28`` of mnist.py taken as raw 0..255 values and divided by 255 as ``ToTensor``
does: 1437 training and 360 held-out images instead of MNIST's 60000/10000), shuffled by a ``torch.Generator``
seeded with the run's seed (the notebook's ``random_seed`` 123 becomes the run's seed); 15 epochs of 12 batches
(180 steps; the notebook runs 10 epochs of 469) so a run takes about 10-20 s; no image plots.

The watch: ``gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is built,
``monitor.step(cost)`` after ``cost.backward()``, before ``optimizer.step()``.

Metric: the held-out reconstruction loss: the notebook's cost (``binary_cross_entropy_with_logits`` of the
model's logits against the [0, 1] images) on the 360 held-out images after training, less the entropy of those
target pixels (the BCE of a perfect reconstruction: the upsampled digits are blurred, two thirds of their pixels
are strictly between 0 and 1, and that floor, 0.324, is 0.71 of the mean image's BCE 0.454, so raw BCE could
never fall to 0.7 of it).  The value is thus the mean per-pixel KL divergence between the target and the
reconstruction (0 for a perfect one); its reference ("chance") is the same quantity for predicting the training
set's mean image on every held-out image (0.130).  The raw held-out BCE and the final training cost are in
``extra``.  For ``raw_pixels`` (0..255 inputs and BCE targets, as a user who dropped ``ToTensor``'s scaling would
have) the held-out images are fed as 0..255 values too and the reconstruction ``probas`` are scored against the
[0, 1] images, in the same units as the control's.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the same
seed's healthy run: Adam lr x10, x100 (seeds 1 and 2), x1000 and /1000, ``nn.init.normal_(std=1.0)`` on every
conv weight (seeds 1 and 2), ``nn.init.zeros_`` on ``conv_1`` (weight and bias), raw 0..255 pixels as inputs and
targets (seeds 1 and 2).  The sigmoid removed is not a variant: the loss is BCE with logits, which never uses it.
Labels come from run.py's outcome rules only.
Recorded (cases-public17; held-out excess BCE, mean image 0.130): healthy 0.015, 0.044 and 0.020 on seeds 1-3
(10-20 s each); lr x10 (3.16), x100 (2.6e4 and 299), x1000 (1.2e5) and the raw pixels (10.8 on both seeds: the
0..255 BCE targets drive every logit up, probas near 1) are broken, lr /1000 (0.377, worse than the mean image
after 180 steps) broken; the N(0, 1) conv init (0.018 on seed 1, 0.044 on seed 2) and the zeroed conv_1 (0.017)
end near their controls but are labelled ambiguous (the N(0, 1) runs' training cost peaked at 2.6 and 15.4, over
twice their controls' largest, 0.71 and 0.96; the zeroed conv_1 ends 1.16x its control's, outside the 1.1x).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from mnist import digits28
from torch import nn

import gradmedic

ARCH = "autoencoder"
MONITOR_AT = ("monitor.step(cost) after cost.backward() (binary_cross_entropy_with_logits of the leaky logits against "
              "the images), before optimizer.step()")


##########################
### MODEL
##########################


class ConvolutionalAutoencoder(torch.nn.Module):

    def __init__(self):
        super(ConvolutionalAutoencoder, self).__init__()  # noqa: UP008 (as in the notebook)

        # calculate same padding:
        # (w - k + 2*p)/s + 1 = o
        # => p = (s(o-1) - w + k)/2

        ### ENCODER

        # 28x28x1 => 28x28x4
        self.conv_1 = torch.nn.Conv2d(in_channels=1,
                                      out_channels=4,
                                      kernel_size=(3, 3),
                                      stride=(1, 1),
                                      # (1(28-1) - 28 + 3) / 2 = 1
                                      padding=1)
        # 28x28x4 => 14x14x4
        self.pool_1 = torch.nn.MaxPool2d(kernel_size=(2, 2),
                                         stride=(2, 2),
                                         # (2(14-1) - 28 + 2) / 2 = 0
                                         padding=0)
        # 14x14x4 => 14x14x8
        self.conv_2 = torch.nn.Conv2d(in_channels=4,
                                      out_channels=8,
                                      kernel_size=(3, 3),
                                      stride=(1, 1),
                                      # (1(14-1) - 14 + 3) / 2 = 1
                                      padding=1)
        # 14x14x8 => 7x7x8
        self.pool_2 = torch.nn.MaxPool2d(kernel_size=(2, 2),
                                         stride=(2, 2),
                                         # (2(7-1) - 14 + 2) / 2 = 0
                                         padding=0)

        ### DECODER

        # 7x7x8 => 14x14x8
        # Unpool

        # 14x14x8 => 14x14x8
        self.conv_3 = torch.nn.Conv2d(in_channels=8,
                                      out_channels=4,
                                      kernel_size=(3, 3),
                                      stride=(1, 1),
                                      # (1(14-1) - 14 + 3) / 2 = 1
                                      padding=1)
        # 14x14x4 => 28x28x4
        # Unpool

        # 28x28x4 => 28x28x1
        self.conv_4 = torch.nn.Conv2d(in_channels=4,
                                      out_channels=1,
                                      kernel_size=(3, 3),
                                      stride=(1, 1),
                                      # (1(28-1) - 28 + 3) / 2 = 1
                                      padding=1)

    def forward(self, x):

        ### ENCODER
        x = self.conv_1(x)
        x = F.leaky_relu(x)
        x = self.pool_1(x)
        x = self.conv_2(x)
        x = F.leaky_relu(x)
        x = self.pool_2(x)

        ### DECODER
        x = F.interpolate(x, scale_factor=2, mode='nearest')
        x = self.conv_3(x)
        x = F.leaky_relu(x)
        x = F.interpolate(x, scale_factor=2, mode='nearest')
        x = self.conv_4(x)
        logits = F.leaky_relu(x)
        probas = torch.sigmoid(logits)
        return logits, probas


def _entropy(t: torch.Tensor) -> float:
    """Mean per-pixel Bernoulli entropy of [0, 1] targets: the BCE of a perfect reconstruction."""
    p = t.clamp(1e-7, 1 - 1e-7)
    return float(F.binary_cross_entropy(p, t).item())


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init_std: float | None = None,
          zero_layer: str | None = None, num_epochs: int = 15, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    d_train, d_test = digits28(raw_pixels=True)  # 0..255 values (MNIST's uint8 pixels)
    scale = 1.0 if raw_pixels else 255.0  # transforms.ToTensor(): [0, 1]; the bug: no scaling
    x_train, x_test = d_train.tensors[0] / scale, d_test.tensors[0] / scale
    x_test01 = d_test.tensors[0] / 255.0  # held-out targets for the metric, always in [0, 1]
    g = torch.Generator()
    g.manual_seed(seed)
    train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_train, d_train.tensors[1]),
                                               batch_size=128, shuffle=True, generator=g)

    torch.manual_seed(seed)
    model = ConvolutionalAutoencoder()
    if init_std is not None:  # the bug: normal_(0, std) on every conv weight instead of the default init
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, init_std)
    if zero_layer:  # the bug: zeros_ on one conv layer's weight and bias
        nn.init.zeros_(getattr(model, zero_layer).weight)
        nn.init.zeros_(getattr(model, zero_layer).bias)
    learning_rate = 0.05 * lr_mult
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    monitor = gradmedic.watch(model, optimizer, every=every)
    losses = []

    start_time = time.time()
    for epoch in range(num_epochs):
        for features, _targets in train_loader:
            # don't need labels, only the images (features)
            ### FORWARD AND BACK PROP
            logits, decoded = model(features)
            cost = F.binary_cross_entropy_with_logits(logits, features)
            optimizer.zero_grad()

            cost.backward()
            monitor.step(cost)  # gradmedic

            ### UPDATE MODEL PARAMETERS
            optimizer.step()
            losses.append(cost.item())
        if verbose and (epoch % 5 == 4 or epoch == 0):
            print(f"Epoch: {epoch + 1:03d}/{num_epochs:03d} | Cost: {np.mean(losses[-12:]):.4f} "
                  f"({time.time() - start_time:.1f}s)", flush=True)
    monitor.close()

    model.eval()
    with torch.no_grad():
        logits, probas = model(x_test)
        if raw_pixels:  # score the reconstruction (probas) against the [0, 1] images
            bce = F.binary_cross_entropy(probas.clamp(1e-7, 1 - 1e-7), x_test01).item()
        else:
            bce = F.binary_cross_entropy_with_logits(logits, x_test01).item()
        mse = F.mse_loss(probas, x_test01).item()
        mean_img = (d_train.tensors[0] / 255.0).mean(0, keepdim=True).clamp(1e-7, 1 - 1e-7).expand_as(x_test01)
        bce_mean = F.binary_cross_entropy(mean_img, x_test01).item()
    ent = _entropy(x_test01)
    value = bce - ent if np.isfinite(bce) else float("nan")
    initial = bce_mean - ent
    if verbose:
        print(f"held-out BCE {bce:.4f} (floor {ent:.4f}, mean image {bce_mean:.4f}) -> excess {value:.4f} vs "
              f"{initial:.4f}; MSE {mse:.4f}")
    return {"monitors": {"": monitor}, "metric": "heldout_recon_kl", "value": float(value), "chance": float(initial),
            "initial": float(initial),
            "initial_what": "the training set's mean image predicted for every held-out image: its held-out BCE less "
                            "the targets' entropy",
            "extra": {"heldout_bce": bce, "target_entropy": ent, "mean_image_bce": bce_mean, "heldout_mse": mse,
                      "train_loss": float(np.mean(losses[-20:])), "train_loss_first5": float(np.mean(losses[:5])),
                      "steps": len(losses), "lr": learning_rate},
            "seconds": time.time() - start_time}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="rasbtae", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"rasbtae_healthy_s{s}", "healthy", s, {}, "unchanged (Adam lr 0.05, binary_cross_entropy_with_logits on "
           "[0, 1] pixels, batch 128, 15 epochs)", False) for s in (1, 2, 3)]
    + [_case(f"rasbtae_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({0.05 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("rasbtae_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (5e-05)")]
    + [_case(f"rasbtae_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Conv2d weight instead of PyTorch's default (kaiming_uniform_, "
             "a=sqrt(5)); biases kept") for s in (1, 2)]
    + [_case("rasbtae_zero_conv1_s1", "symmetric_init", 1, {"zero_layer": "conv_1"},
             "nn.init.zeros_ on conv_1 (the first encoder conv, weight and bias)")]
    + [_case(f"rasbtae_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             "raw 0..255 pixel values (no ToTensor scaling) as inputs and as BCE targets; the metric scores the "
             "probas against the [0, 1] images") for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = {"raw_pixels": lambda s: s == "1", "zero_layer": str}.get(k, float)(v)
        if k in ("seed", "num_epochs"):
            kw[k] = int(kw[k])
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
