"""Zalando Research's VQ-VAE (pytorch-vq-vae's notebook: Encoder, Decoder with residual stacks, VectorQuantizerEMA
and the plain VectorQuantizer), trained on digits, watched by gradmedic.

Adapted from https://github.com/zalandoresearch/pytorch-vq-vae (commit b98fde9a8f8f65486dbfaf12958049e8d33184a1,
vq-vae.ipynb; MIT License, Copyright (c) 2018 Zalando Research, see LICENSE-vqvae).  Kept as in the notebook (its
classes copied below): ``VectorQuantizer`` (codebook ``uniform_(-1/K, 1/K)``, ``q_latent_loss + commitment_cost *
e_latent_loss``, the straight-through ``inputs + (quantized - inputs).detach()``, perplexity of the code usage),
``VectorQuantizerEMA`` (codebook and ``_ema_w`` ``normal_()``, decay 0.99, epsilon 1e-5, Laplace smoothing, the
codebook and ``_ema_w`` re-created as new ``nn.Parameter`` objects on every training forward, loss
``commitment_cost * e_latent_loss``), ``Residual``/``ResidualStack`` (ReLU, 3x3 conv, ReLU, 1x1 conv, no bias; a
final ReLU), ``Encoder`` (4x4 stride-2 conv to num_hiddens//2, ReLU, 4x4 stride-2 conv, ReLU, 3x3 conv, residual
stack), ``Decoder`` (3x3 conv, residual stack, 4x4 stride-2 transposed conv, ReLU, 4x4 stride-2 transposed conv to 3
channels), ``Model`` (encoder, 1x1 ``_pre_vq_conv``, the quantizer: EMA when ``decay > 0``, decoder), PyTorch's
default initialization elsewhere, commitment_cost 0.25, decay 0.99, ``optim.Adam(lr=1e-3, amsgrad=False)``, batch
256 drawn as ``next(iter(training_loader))`` from a shuffled loader each update, and the loop (``zero_grad``,
``vq_loss, data_recon, perplexity = model(data)``, ``recon_error = F.mse_loss(data_recon, data) / data_variance``,
``loss = recon_error + vq_loss``, ``backward``, ``step``).  Inputs as the notebook's ``ToTensor()`` and
``Normalize((0.5,)*3, (1.0,)*3)``: pixels in [-0.5, 0.5]; ``data_variance`` the variance of the [0, 1] training
pixels (``np.var(training_data.data / 255.0)``).

Changed to run offline on one CPU thread without torchvision: the data is scikit-learn's ``load_digits`` (1437
training and 360 held-out images, the split of mnist.py's ``digits28``), 8x8 values / 16 (``ToTensor``'s [0, 1])
upsampled bilinearly to 32x32 (CIFAR-10's size) and tiled to 3 channels, because the notebook's ``Model`` and
``Decoder`` hard-code 3 input and output channels (tiling keeps every conv shape as upstream wrote it); then - 0.5.
The loader is shuffled by a ``torch.Generator`` seeded with the run's seed.  Sizes shrunk so a run takes 10-25 s:
num_hiddens 32 (128), num_residual_hiddens 8 (32), num_residual_layers 2 (as upstream), embedding_dim 1 (64),
num_embeddings 512 (as upstream), 60 updates (15000).  ``xrange`` is ``range``; no plots, no UMAP.  Why
embedding_dim 1: at PyTorch's default init the encoder's outputs barely vary (std 0.008 about a bias-set mean of
norm ~0.1-0.4), so in 16 or 64 dimensions every one of the first batch's vectors is nearest the same ``normal_()``
code (perplexity 1); upstream's EMA then leaves every code unused in that first step at ``_ema_w / ~1e-5``, about
1e5, where it stays until ``_ema_w``'s 0.99**t decay brings it back, some 700 updates later (fine for upstream's
15000, a dead program in 60).  With one dimension and 512 codes about four codes are hit from the first step
(perplexity ~4.3 at the end), enough to reconstruct the digits.

The watch: ``gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is built, ``monitor.step(loss)``
after ``loss.backward()``, before ``optimizer.step()``.  (In the EMA model the codebook and ``_ema_w`` are replaced by
fresh ``nn.Parameter`` objects every training step, as upstream does; they never get a gradient and the optimizer
keeps the original, gradient-less ones.)

Metric: the held-out normalized reconstruction error (the notebook's NMSE, ``F.mse_loss(recon, x) / data_variance``)
of the 360 held-out images passed through the model in ``eval()`` mode after training; its reference ("chance") is
the same quantity for predicting the training set's mean image on every held-out image.  ``extra`` has the held-out
codebook perplexity, the last 20 steps' training perplexity, NMSE and vq_loss.  For ``raw_pixels`` (0..255 values,
no ``ToTensor`` scaling and no ``Normalize``; ``data_variance`` still upstream's [0, 1] variance) the held-out images
are fed as 0..255 values and the reconstruction is mapped back (/255 - 0.5) and scored in the control's units.

``CASES`` (in the shape of run.py's ``case()``): the EMA program (upstream's ``decay = 0.99`` run) on seeds 1-3, and
one change each against the same seed's healthy run: lr x10, x100 (seeds 1 and 2), x1000, /1000; commitment_cost 0
(the encoder's outputs are no longer pulled toward the codebook); the straight-through estimator removed (the
decoder gets ``quantized`` itself, so no gradient reaches the encoder or ``_pre_vq_conv``); the codebook initialised
100x too large (``normal_(std=100)`` for the EMA codebook and ``_ema_w``; ``uniform_(-100/K, 100/K)`` for the plain
one, unused here); raw 0..255 pixels.  The plain ``VectorQuantizer`` (upstream's ``decay = 0`` model) is the prefix
``vqvaeplain_``: healthy on seed 1 only, with 120 updates (at 60 it had not yet beaten the mean image: 0.467;
its vq_loss peaks near 20 around update 50 before the encoder settles).  Labels come from run.py's outcome rules only.
Recorded (cases-public27; held-out NMSE, mean image 0.445, good outcome <= 0.311): EMA healthy 0.243, 0.303 and 0.264
on seeds 1-3 (held-out perplexity 4.3 on seed 1; 17-40 s each on two shared cores); lr x10 trains better (0.127,
healthy); lr x100 (5.02 and 4.97), x1000 (NaN), /1000 (1.37), commitment_cost 0 (1.08, perplexity 3.4), no
straight-through estimator (0.606) and the codebook x100 (0.614, perplexity 1: collapse) are broken; raw 0..255
pixels end at 0.331 (perplexity 22; 1.36x the control's, not good enough: ambiguous).  Plain VectorQuantizer
healthy 0.151 (perplexity 2.6).  Recording took 337 s for the first 13 runs plus 36 s for the plain one again.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

import gradmedic

ARCH = "vqvae"
MONITOR_AT = ("monitor.step(loss) after loss.backward() (loss = F.mse_loss(data_recon, data) / data_variance "
              "+ vq_loss), before optimizer.step()")


class VectorQuantizer(nn.Module):
    def __init__(self, num_embeddings, embedding_dim, commitment_cost, straight_through=True, codebook_scale=1.0):
        super(VectorQuantizer, self).__init__()  # noqa: UP008 (as in the notebook)

        self._embedding_dim = embedding_dim
        self._num_embeddings = num_embeddings

        self._embedding = nn.Embedding(self._num_embeddings, self._embedding_dim)
        self._embedding.weight.data.uniform_(-codebook_scale / self._num_embeddings,
                                             codebook_scale / self._num_embeddings)
        self._commitment_cost = commitment_cost
        self._straight_through = straight_through

    def forward(self, inputs):
        # convert inputs from BCHW -> BHWC
        inputs = inputs.permute(0, 2, 3, 1).contiguous()
        input_shape = inputs.shape

        # Flatten input
        flat_input = inputs.view(-1, self._embedding_dim)

        # Calculate distances
        distances = (torch.sum(flat_input**2, dim=1, keepdim=True)
                     + torch.sum(self._embedding.weight**2, dim=1)
                     - 2 * torch.matmul(flat_input, self._embedding.weight.t()))

        # Encoding
        encoding_indices = torch.argmin(distances, dim=1).unsqueeze(1)
        encodings = torch.zeros(encoding_indices.shape[0], self._num_embeddings, device=inputs.device)
        encodings.scatter_(1, encoding_indices, 1)

        # Quantize and unflatten
        quantized = torch.matmul(encodings, self._embedding.weight).view(input_shape)

        # Loss
        e_latent_loss = F.mse_loss(quantized.detach(), inputs)
        q_latent_loss = F.mse_loss(quantized, inputs.detach())
        loss = q_latent_loss + self._commitment_cost * e_latent_loss

        if self._straight_through:
            quantized = inputs + (quantized - inputs).detach()
        # else the bug: the decoder gets quantized itself, no gradient to the encoder
        avg_probs = torch.mean(encodings, dim=0)
        perplexity = torch.exp(-torch.sum(avg_probs * torch.log(avg_probs + 1e-10)))

        # convert quantized from BHWC -> BCHW
        return loss, quantized.permute(0, 3, 1, 2).contiguous(), perplexity, encodings


class VectorQuantizerEMA(nn.Module):
    def __init__(self, num_embeddings, embedding_dim, commitment_cost, decay, epsilon=1e-5, straight_through=True,
                 codebook_scale=1.0):
        super(VectorQuantizerEMA, self).__init__()  # noqa: UP008 (as in the notebook)

        self._embedding_dim = embedding_dim
        self._num_embeddings = num_embeddings

        self._embedding = nn.Embedding(self._num_embeddings, self._embedding_dim)
        self._embedding.weight.data.normal_(0.0, codebook_scale)
        self._commitment_cost = commitment_cost

        self.register_buffer('_ema_cluster_size', torch.zeros(num_embeddings))
        self._ema_w = nn.Parameter(torch.Tensor(num_embeddings, self._embedding_dim))
        self._ema_w.data.normal_(0.0, codebook_scale)

        self._decay = decay
        self._epsilon = epsilon
        self._straight_through = straight_through

    def forward(self, inputs):
        # convert inputs from BCHW -> BHWC
        inputs = inputs.permute(0, 2, 3, 1).contiguous()
        input_shape = inputs.shape

        # Flatten input
        flat_input = inputs.view(-1, self._embedding_dim)

        # Calculate distances
        distances = (torch.sum(flat_input**2, dim=1, keepdim=True)
                     + torch.sum(self._embedding.weight**2, dim=1)
                     - 2 * torch.matmul(flat_input, self._embedding.weight.t()))

        # Encoding
        encoding_indices = torch.argmin(distances, dim=1).unsqueeze(1)
        encodings = torch.zeros(encoding_indices.shape[0], self._num_embeddings, device=inputs.device)
        encodings.scatter_(1, encoding_indices, 1)

        # Quantize and unflatten
        quantized = torch.matmul(encodings, self._embedding.weight).view(input_shape)

        # Use EMA to update the embedding vectors
        if self.training:
            self._ema_cluster_size = self._ema_cluster_size * self._decay + \
                                     (1 - self._decay) * torch.sum(encodings, 0)

            # Laplace smoothing of the cluster size
            n = torch.sum(self._ema_cluster_size.data)
            self._ema_cluster_size = (
                (self._ema_cluster_size + self._epsilon)
                / (n + self._num_embeddings * self._epsilon) * n)

            dw = torch.matmul(encodings.t(), flat_input)
            self._ema_w = nn.Parameter(self._ema_w * self._decay + (1 - self._decay) * dw)

            self._embedding.weight = nn.Parameter(self._ema_w / self._ema_cluster_size.unsqueeze(1))

        # Loss
        e_latent_loss = F.mse_loss(quantized.detach(), inputs)
        loss = self._commitment_cost * e_latent_loss

        # Straight Through Estimator
        if self._straight_through:
            quantized = inputs + (quantized - inputs).detach()
        # else the bug: the decoder gets quantized itself (the codebook, no gradient at all under EMA)
        avg_probs = torch.mean(encodings, dim=0)
        perplexity = torch.exp(-torch.sum(avg_probs * torch.log(avg_probs + 1e-10)))

        # convert quantized from BHWC -> BCHW
        return loss, quantized.permute(0, 3, 1, 2).contiguous(), perplexity, encodings


class Residual(nn.Module):
    def __init__(self, in_channels, num_hiddens, num_residual_hiddens):
        super(Residual, self).__init__()  # noqa: UP008 (as in the notebook)
        self._block = nn.Sequential(
            nn.ReLU(True),
            nn.Conv2d(in_channels=in_channels,
                      out_channels=num_residual_hiddens,
                      kernel_size=3, stride=1, padding=1, bias=False),
            nn.ReLU(True),
            nn.Conv2d(in_channels=num_residual_hiddens,
                      out_channels=num_hiddens,
                      kernel_size=1, stride=1, bias=False)
        )

    def forward(self, x):
        return x + self._block(x)


class ResidualStack(nn.Module):
    def __init__(self, in_channels, num_hiddens, num_residual_layers, num_residual_hiddens):
        super(ResidualStack, self).__init__()  # noqa: UP008 (as in the notebook)
        self._num_residual_layers = num_residual_layers
        self._layers = nn.ModuleList([Residual(in_channels, num_hiddens, num_residual_hiddens)
                                      for _ in range(self._num_residual_layers)])

    def forward(self, x):
        for i in range(self._num_residual_layers):
            x = self._layers[i](x)
        return F.relu(x)


class Encoder(nn.Module):
    def __init__(self, in_channels, num_hiddens, num_residual_layers, num_residual_hiddens):
        super(Encoder, self).__init__()  # noqa: UP008 (as in the notebook)

        self._conv_1 = nn.Conv2d(in_channels=in_channels,
                                 out_channels=num_hiddens//2,
                                 kernel_size=4,
                                 stride=2, padding=1)
        self._conv_2 = nn.Conv2d(in_channels=num_hiddens//2,
                                 out_channels=num_hiddens,
                                 kernel_size=4,
                                 stride=2, padding=1)
        self._conv_3 = nn.Conv2d(in_channels=num_hiddens,
                                 out_channels=num_hiddens,
                                 kernel_size=3,
                                 stride=1, padding=1)
        self._residual_stack = ResidualStack(in_channels=num_hiddens,
                                             num_hiddens=num_hiddens,
                                             num_residual_layers=num_residual_layers,
                                             num_residual_hiddens=num_residual_hiddens)

    def forward(self, inputs):
        x = self._conv_1(inputs)
        x = F.relu(x)

        x = self._conv_2(x)
        x = F.relu(x)

        x = self._conv_3(x)
        return self._residual_stack(x)


class Decoder(nn.Module):
    def __init__(self, in_channels, num_hiddens, num_residual_layers, num_residual_hiddens):
        super(Decoder, self).__init__()  # noqa: UP008 (as in the notebook)

        self._conv_1 = nn.Conv2d(in_channels=in_channels,
                                 out_channels=num_hiddens,
                                 kernel_size=3,
                                 stride=1, padding=1)

        self._residual_stack = ResidualStack(in_channels=num_hiddens,
                                             num_hiddens=num_hiddens,
                                             num_residual_layers=num_residual_layers,
                                             num_residual_hiddens=num_residual_hiddens)

        self._conv_trans_1 = nn.ConvTranspose2d(in_channels=num_hiddens,
                                                out_channels=num_hiddens//2,
                                                kernel_size=4,
                                                stride=2, padding=1)

        self._conv_trans_2 = nn.ConvTranspose2d(in_channels=num_hiddens//2,
                                                out_channels=3,
                                                kernel_size=4,
                                                stride=2, padding=1)

    def forward(self, inputs):
        x = self._conv_1(inputs)

        x = self._residual_stack(x)

        x = self._conv_trans_1(x)
        x = F.relu(x)

        return self._conv_trans_2(x)


class Model(nn.Module):
    def __init__(self, num_hiddens, num_residual_layers, num_residual_hiddens,
                 num_embeddings, embedding_dim, commitment_cost, decay=0, **vq_kwargs):
        super(Model, self).__init__()  # noqa: UP008 (as in the notebook)

        self._encoder = Encoder(3, num_hiddens,
                                num_residual_layers,
                                num_residual_hiddens)
        self._pre_vq_conv = nn.Conv2d(in_channels=num_hiddens,
                                      out_channels=embedding_dim,
                                      kernel_size=1,
                                      stride=1)
        if decay > 0.0:
            self._vq_vae = VectorQuantizerEMA(num_embeddings, embedding_dim,
                                              commitment_cost, decay, **vq_kwargs)
        else:
            self._vq_vae = VectorQuantizer(num_embeddings, embedding_dim,
                                           commitment_cost, **vq_kwargs)
        self._decoder = Decoder(embedding_dim,
                                num_hiddens,
                                num_residual_layers,
                                num_residual_hiddens)

    def forward(self, x):
        z = self._encoder(x)
        z = self._pre_vq_conv(z)
        loss, quantized, perplexity, _ = self._vq_vae(z)
        x_recon = self._decoder(quantized)

        return loss, x_recon, perplexity


def digits32():
    """(train, test) [0, 1] digits, 3x32x32 (8x8 / 16, bilinear to 32x32, tiled to 3 channels), and their labels."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)

    def up(x):
        x = torch.tensor(x, dtype=torch.float32)[:, None] / 16.0  # ToTensor: [0, 1]
        x = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False).clamp(0, 1)
        return x.repeat(1, 3, 1, 1)

    return up(xtr), up(xte), torch.tensor(ytr), torch.tensor(yte)


def train(seed: int = 1, decay: float = 0.99, lr_mult: float = 1.0, commitment_cost: float = 0.25,
          straight_through: bool = True, codebook_scale: float = 1.0, raw_pixels: bool = False,
          num_training_updates: int = 60, embedding_dim: int = 1, num_embeddings: int = 512, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    x01_train, x01_test, y_train, y_test = digits32()
    data_variance = float(np.var(x01_train.numpy()))  # np.var(training_data.data / 255.0)
    if raw_pixels:  # the bug: 0..255 values, no ToTensor scaling, no Normalize (not centred)
        x_train, x_test = x01_train * 255.0, x01_test * 255.0
    else:  # ToTensor + Normalize((0.5, 0.5, 0.5), (1.0, 1.0, 1.0)): [-0.5, 0.5]
        x_train, x_test = x01_train - 0.5, x01_test - 0.5
    g = torch.Generator()
    g.manual_seed(seed)
    batch_size = 256
    training_loader = DataLoader(torch.utils.data.TensorDataset(x_train, y_train), batch_size=batch_size,
                                 shuffle=True, generator=g)

    num_hiddens = 32
    num_residual_hiddens = 8
    num_residual_layers = 2
    learning_rate = 1e-3 * lr_mult

    torch.manual_seed(seed)
    model = Model(num_hiddens, num_residual_layers, num_residual_hiddens,
                  num_embeddings, embedding_dim,
                  commitment_cost, decay, straight_through=straight_through, codebook_scale=codebook_scale)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate, amsgrad=False)
    monitor = gradmedic.watch(model, optimizer, every=every)

    model.train()
    train_res_recon_error = []
    train_res_perplexity = []
    train_vq_loss = []
    losses = []

    start_time = time.time()
    for i in range(num_training_updates):
        (data, _) = next(iter(training_loader))
        optimizer.zero_grad()

        vq_loss, data_recon, perplexity = model(data)
        recon_error = F.mse_loss(data_recon, data) / data_variance
        loss = recon_error + vq_loss
        loss.backward()
        monitor.step(loss)  # gradmedic

        optimizer.step()

        train_res_recon_error.append(recon_error.item())
        train_res_perplexity.append(perplexity.item())
        train_vq_loss.append(vq_loss.item())
        losses.append(loss.item())

        if verbose and (i + 1) % 25 == 0:
            print(f"{i + 1} iterations: recon_error {np.mean(train_res_recon_error[-25:]):.3f} perplexity "
                  f"{np.mean(train_res_perplexity[-25:]):.3f} vq_loss {np.mean(train_vq_loss[-25:]):.4g} "
                  f"({time.time() - start_time:.1f}s)", flush=True)
    monitor.close()

    model.eval()
    x_target = x01_test - 0.5  # held-out images in the program's [-0.5, 0.5] units
    with torch.no_grad():
        vq_output_eval = model._pre_vq_conv(model._encoder(x_test))
        _, valid_quantize, valid_perplexity, _ = model._vq_vae(vq_output_eval)
        valid_reconstructions = model._decoder(valid_quantize)
        if raw_pixels:  # back to the control's units
            valid_reconstructions = valid_reconstructions / 255.0 - 0.5
        value = F.mse_loss(valid_reconstructions, x_target).item() / data_variance
        mean_img = (x01_train - 0.5).mean(0, keepdim=True).expand_as(x_target)
        initial = F.mse_loss(mean_img, x_target).item() / data_variance
    value = float(value) if np.isfinite(value) else float("nan")
    if verbose:
        print(f"held-out NMSE {value:.4f} (mean image {initial:.4f}); "
              f"held-out perplexity {valid_perplexity.item():.2f}")
    return {"monitors": {"": monitor}, "metric": "heldout_nmse", "value": value, "chance": float(initial),
            "initial": float(initial),
            "initial_what": "the training set's mean image predicted for every held-out image: its held-out "
                            "MSE / data_variance",
            "extra": {"heldout_perplexity": float(valid_perplexity.item()),
                      "train_perplexity": float(np.mean(train_res_perplexity[-20:])),
                      "train_recon_error": float(np.mean(train_res_recon_error[-20:])),
                      "train_vq_loss": float(np.mean(train_vq_loss[-20:])),
                      "train_loss": float(np.mean(losses[-20:])), "train_loss_first5": float(np.mean(losses[:5])),
                      "data_variance": data_variance, "steps": len(losses), "lr": learning_rate,
                      "num_embeddings": num_embeddings},
            "seconds": time.time() - start_time}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="vqvae", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"vqvae_healthy_s{s}", "healthy", s, {}, "unchanged (VectorQuantizerEMA decay 0.99, commitment_cost 0.25, "
           "Adam lr 1e-3 amsgrad=False, batch 256, 60 updates, inputs in [-0.5, 0.5])", False) for s in (1, 2, 3)]
    + [_case(f"vqvae_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("vqvae_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (1e-06)")]
    + [_case("vqvae_commit0_s1", "wrong_loss", 1, {"commitment_cost": 0.0},
             "commitment_cost 0 instead of 0.25: vq_loss is 0, nothing pulls the encoder's outputs toward the "
             "codebook")]
    + [_case("vqvae_no_ste_s1", "no_gradient", 1, {"straight_through": False},
             "the straight-through estimator removed (no quantized = inputs + (quantized - inputs).detach()): the "
             "decoder gets the codebook vectors, which the EMA updates without gradient, so no gradient reaches the "
             "encoder or _pre_vq_conv")]
    + [_case("vqvae_codebook_x100_s1", "init_large", 1, {"codebook_scale": 100.0},
             "the codebook (and _ema_w) initialised normal_(std=100) instead of normal_() (std 1)")]
    + [_case("vqvae_raw_pixels_s1", "unscaled_inputs", 1, {"raw_pixels": True},
             "raw 0..255 pixel values (no ToTensor scaling, no Normalize: not centred) as inputs and MSE targets, "
             "data_variance still that of [0, 1] pixels; the metric maps the reconstruction back (/255 - 0.5)")]
    + [_case("vqvaeplain_healthy_s1", "healthy", 1, {"decay": 0.0, "num_training_updates": 120}, "the plain "
             "VectorQuantizer (decay 0: codebook learned by q_latent_loss), commitment_cost 0.25, Adam lr 1e-3, batch "
             "256, 120 updates", False)]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = {"raw_pixels": lambda s: s == "1", "straight_through": lambda s: s == "1"}.get(k, float)(v)
        if k in ("seed", "num_training_updates", "embedding_dim", "num_embeddings"):
            kw[k] = int(kw[k])
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
