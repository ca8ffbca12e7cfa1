"""Udacity deep-learning-v2-pytorch's simple linear autoencoder (784 -> 32 -> 784, sigmoid out, MSE), on digits.

Adapted from https://github.com/udacity/deep-learning-v2-pytorch (commit
1ebb72470f192c0f83e57eeac3f05b8065d1714e, autoencoder/linear-autoencoder/Simple_Autoencoder_Solution.ipynb;
MIT License, Copyright (c) 2018 Udacity, see LICENSE-udae).  Kept as in the notebook: ``Autoencoder`` (copied
below: ``fc1`` Linear(28 * 28, encoding_dim), ``fc2`` Linear(encoding_dim, 28 * 28), ``forward`` ``F.relu(self.fc1(x))``
then ``F.sigmoid(self.fc2(x))``) with ``encoding_dim = 32``, PyTorch's default initialization (the notebook sets
none), ``criterion = nn.MSELoss()``, ``torch.optim.Adam(model.parameters(), lr=0.001)``, batch 20 from a
``DataLoader`` without shuffling (as upstream's ``train_loader``), inputs from ``transforms.ToTensor()`` alone
(pixels in [0, 1], no Normalize), and the loop: per batch ``images.view(images.size(0), -1)``,
``optimizer.zero_grad()``, ``outputs = model(images)``, ``loss = criterion(outputs, images)``, ``loss.backward()``,
``optimizer.step()``, ``train_loss += loss.item()*images.size(0)`` accumulated for the epoch's printout only
(divided by ``len(train_loader)``, as upstream).

Changed to run offline on one CPU thread without torchvision: the data is scikit-learn's ``load_digits``
upsampled to 1x28x28 (``digits28`` of mnist.py taken as raw 0..255 values and divided by 255 as ``ToTensor``
does: 1437 training and 360 held-out images instead of MNIST's 60000/10000); ``torch.manual_seed(seed)`` before
building the model (the notebook seeds nothing; without shuffling the seed only changes the init); 40 epochs of
72 batches (2880 steps; the notebook runs 20 epochs of 3000) so a run takes about 10-20 s; the printout only with
``verbose``; no image plots.

The watch: ``gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is built,
``monitor.step(loss)`` after ``loss.backward()``, before ``optimizer.step()``.

Metric: the held-out reconstruction MSE (the notebook's ``criterion`` on the 360 held-out images, flattened, after
training); its reference ("chance") is the MSE of predicting the training set's mean image for every held-out
image.  The final training loss is in ``extra``.  For ``raw_pixels`` (0..255 inputs and MSE targets, as a user
who forgot ``ToTensor``'s scaling would have) the held-out images are fed as 0..255 values too and the
reconstruction is scored against the [0, 1] images, in the same units as the control's.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the same
seed's healthy run: Adam lr x10, x100 (seeds 1 and 2), x1000 and /1000, ``nn.init.normal_(std=1.0)`` on every
Linear weight (seeds 1 and 2), ``nn.init.zeros_`` on ``fc1`` (weight and bias), raw 0..255 pixels as inputs and
targets (seeds 1 and 2), and the output sigmoid removed (once: the outputs are then unbounded, which the
notebook's markdown warns against; not expected to fail).  The notebook does not clip, so there is no clipping
case.  Labels come from run.py's outcome rules only.
Recorded (cases-public21; held-out MSE, mean image 0.0471): healthy 0.0085, 0.0059 and 0.0046 on seeds 1-3 (8-12 s
each, 181 s for all 14 cases); lr x100 (0.047, the mean image, on seed 1; 0.160 on seed 2), x1000 (0.152), lr /1000
(0.138: 2880 steps at 1e-6 leave the sigmoid's near-0.5 outputs, worse than the mean image), the N(0, 1) init
(0.180 and 0.201), the zeroed fc1 (0.052: the ReLU code stays 0, only fc2's bias learns, the mean image) and the
raw pixels (0.438 and 0.427: the 0..255 targets push every sigmoid output to 1) are broken; lr x10 (0.0119, 1.4x
its control) and the sigmoid removed (0.0096, 1.14x its control, just outside the 1.1x) are ambiguous.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mnist import digits28

import gradmedic

ARCH = "autoencoder"
MONITOR_AT = ("monitor.step(loss) after loss.backward() (nn.MSELoss of the sigmoid outputs against the flattened "
              "images), before optimizer.step()")


# define the NN architecture
class Autoencoder(nn.Module):
    def __init__(self, encoding_dim, sigmoid=True):
        super(Autoencoder, self).__init__()  # noqa: UP008 (as in the notebook)
        ## encoder ##
        # linear layer (784 -> encoding_dim)
        self.fc1 = nn.Linear(28 * 28, encoding_dim)

        ## decoder ##
        # linear layer (encoding_dim -> input size)
        self.fc2 = nn.Linear(encoding_dim, 28*28)
        self.sigmoid = sigmoid  # the variant: False drops the output sigmoid

    def forward(self, x):
        # add layer, with relu activation function
        x = F.relu(self.fc1(x))
        # output layer (sigmoid for scaling from 0 to 1)
        x = F.sigmoid(self.fc2(x)) if self.sigmoid else self.fc2(x)
        return x


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init_std: float | None = None,
          zero_layer: str | None = None, sigmoid: bool = True, n_epochs: int = 40, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    d_train, d_test = digits28(raw_pixels=True)  # 0..255 values (MNIST's uint8 pixels)
    scale = 1.0 if raw_pixels else 255.0  # transforms.ToTensor(): [0, 1]; the bug: no scaling
    x_train, x_test = d_train.tensors[0] / scale, d_test.tensors[0] / scale
    x_test01 = (d_test.tensors[0] / 255.0).view(len(x_test), -1)  # held-out targets for the metric, in [0, 1]

    # how many samples per batch to load
    batch_size = 20
    # prepare data loaders
    train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_train, d_train.tensors[1]),
                                               batch_size=batch_size, num_workers=0)

    torch.manual_seed(seed)
    # initialize the NN
    encoding_dim = 32
    model = Autoencoder(encoding_dim, sigmoid=sigmoid)
    if init_std is not None:  # the bug: normal_(0, std) on every Linear weight instead of the default init
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, init_std)
    if zero_layer:  # the bug: zeros_ on one layer's weight and bias
        nn.init.zeros_(getattr(model, zero_layer).weight)
        nn.init.zeros_(getattr(model, zero_layer).bias)

    # specify loss function
    criterion = nn.MSELoss()
    lr = 0.001 * lr_mult
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)
    losses = []

    start_time = time.time()
    for epoch in range(1, n_epochs+1):
        # monitor training loss
        train_loss = 0.0

        ###################
        # train the model #
        ###################
        for data in train_loader:
            # _ stands in for labels, here
            images, _ = data
            # flatten images
            images = images.view(images.size(0), -1)
            # clear the gradients of all optimized variables
            optimizer.zero_grad()
            # forward pass: compute predicted outputs by passing inputs to the model
            outputs = model(images)
            # calculate the loss
            loss = criterion(outputs, images)
            # backward pass: compute gradient of the loss with respect to model parameters
            loss.backward()
            monitor.step(loss)  # gradmedic
            # perform a single optimization step (parameter update)
            optimizer.step()
            # update running training loss
            train_loss += loss.item()*images.size(0)
            losses.append(loss.item())

        # print avg training statistics
        train_loss = train_loss/len(train_loader)
        if verbose:
            print('Epoch: {} \tTraining Loss: {:.6f} ({:.1f}s)'.format(  # noqa: UP032 (as in the notebook)
                epoch,
                train_loss,
                time.time() - start_time
                ), flush=True)
    monitor.close()

    model.eval()
    with torch.no_grad():
        outputs = model(x_test.view(len(x_test), -1))
        mse = F.mse_loss(outputs, x_test01).item()
        mean_img = (d_train.tensors[0] / 255.0).view(len(x_train), -1).mean(0, keepdim=True).expand_as(x_test01)
        mse_mean = F.mse_loss(mean_img, x_test01).item()
    value = mse if np.isfinite(mse) else float("nan")
    if verbose:
        print(f"held-out MSE {mse:.5f} vs mean image {mse_mean:.5f} ({time.time() - start_time:.1f}s)")
    return {"monitors": {"": monitor}, "metric": "heldout_recon_mse", "value": float(value), "chance": float(mse_mean),
            "initial": float(mse_mean),
            "initial_what": "the training set's mean image predicted for every held-out image: its held-out MSE",
            "extra": {"heldout_mse": mse, "mean_image_mse": mse_mean,
                      "train_loss": float(np.mean(losses[-20:])), "train_loss_first5": float(np.mean(losses[:5])),
                      "steps": len(losses), "lr": lr},
            "seconds": time.time() - start_time}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="udae", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"udae_healthy_s{s}", "healthy", s, {}, "unchanged (Adam lr 0.001, MSELoss on the sigmoid outputs, [0, 1] "
           "pixels, batch 20, 40 epochs)", False) for s in (1, 2, 3)]
    + [_case(f"udae_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({0.001 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("udae_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (1e-06)")]
    + [_case(f"udae_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Linear weight (fc1, fc2) instead of PyTorch's default "
             "(kaiming_uniform_, a=sqrt(5)); biases kept") for s in (1, 2)]
    + [_case("udae_zero_fc1_s1", "symmetric_init", 1, {"zero_layer": "fc1"},
             "nn.init.zeros_ on fc1 (the encoder Linear, weight and bias)")]
    + [_case(f"udae_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             "raw 0..255 pixel values (no ToTensor scaling) as inputs and as MSE targets; the metric scores the "
             "outputs against the [0, 1] images") for s in (1, 2)]
    + [_case("udae_no_sigmoid_s1", "wrong_loss", 1, {"sigmoid": False},
             "the output sigmoid removed: forward returns self.fc2(x), unbounded, under the same MSELoss")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = {"raw_pixels": lambda s: s == "1", "sigmoid": lambda s: s == "1", "zero_layer": str}.get(k, float)(v)
        if k in ("seed", "n_epochs"):
            kw[k] = int(kw[k])
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
