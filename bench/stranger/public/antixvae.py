"""AntixK's PyTorch-VAE VanillaVAE (strided-conv encoder with BatchNorm and LeakyReLU, transposed-conv decoder with
Tanh, MSE + KLD weighted by kld_weight, Adam with ExponentialLR), watched by gradmedic.

Adapted from https://github.com/AntixK/PyTorch-VAE (commit a6896b944c918dd7030e7d795a8c13e5c6345ec7;
models/vanilla_vae.py with the BaseVAE of models/base.py, the training step of experiment.py's ``VAEXperiment`` and
its ``configure_optimizers``, configs/vae.yaml; Apache License 2.0, Copyright Anand Krishnamoorthy Subramanian 2020,
see LICENSE-antixvae).  No Lightning: ``VAEXperiment`` is a LightningModule run by ``pytorch_lightning.Trainer``;
its ``training_step`` (``self.model(real_img, labels=labels)``, ``self.model.loss_function(*results,
M_N=kld_weight)``, the loss returned for Lightning's zero_grad / backward / step) is written here as a plain loop,
with the ExponentialLR stepped once per epoch (Lightning's default interval).  Kept as upstream: ``VanillaVAE``'s
layers (each encoder block ``Conv2d(k3, s2, p1)`` / ``BatchNorm2d`` / ``LeakyReLU``; ``fc_mu`` and ``fc_var`` from
the flattened 2x2 map; ``decoder_input``; each decoder block ``ConvTranspose2d(k3, s2, p1, output_padding 1)`` /
``BatchNorm2d`` / ``LeakyReLU``; the final ``ConvTranspose2d`` / ``BatchNorm2d`` / ``LeakyReLU`` / ``Conv2d(k3, p1)`` /
``Tanh``), PyTorch's default inits, latent_dim 128, ``reparameterize``, ``loss_function`` (``F.mse_loss`` + M_N x the
batch-mean KLD), kld_weight 0.00025, ``optim.Adam(lr=LR 0.005, weight_decay 0.0)``,
``ExponentialLR(gamma=scheduler_gamma 0.95)``, train batch 64 shuffled, the images scaled to [0, 1] as ToTensor
does (upstream's decoder ends in Tanh against [0, 1] targets; kept), RandomHorizontalFlip on the training images.

Changed to run offline on one CPU thread in ~15-30 s: the data are scikit-learn's ``load_digits`` (8x8, values
0..16) divided by 16 (ToTensor's [0, 1]) and upscaled to 16x16 by bilinear ``F.interpolate`` (upstream: CelebA,
CenterCrop(148), Resize(64)); in_channels 1 and out_channels 1 of the last Conv2d (upstream 3);
hidden_dims [32, 64, 128] (upstream [32, 64, 128, 256, 512]: two stride-2 blocks fewer in the encoder and the
decoder, so a 16x16 input ends at the same 2x2 map; a 32x32 input with [32, 64, 128, 256] took 80 s a run here), and
``decode``'s ``result.view(-1, 512, 2, 2)`` reads ``hidden_dims[-1]`` (128) instead of the
literal 512; a fixed split of 1497 training and 300 held-out digits; EPOCHS epochs (upstream max_epochs 100);
seed 1265 + seed (upstream seed_everything(1265)); no logging, sampling, image saving or checkpoints.  Knobs (one per
variant): ``lr_mult`` scales LR; ``init_std`` draws every Conv2d / ConvTranspose2d / Linear weight from
N(0, init_std) (biases and BatchNorm kept); ``raw_pixels`` feeds 0..255 pixel values (digits x 255/16, no ToTensor
scaling; they are also the reconstruction target, as upstream's input is); ``zero_grad=False`` leaves
``optimizer.zero_grad()`` out; ``batch_size`` replaces 64.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the Adam is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the loop.  Metric "loss": the held-out reconstruction term of ``loss_function`` (``F.mse_loss(recons, input)``
over the 300 held-out digits, model in eval mode, one reparameterized sample; upstream's validation logs
``loss_function`` with M_N=1.0, whose KLD term the training at kld_weight 0.00025 does not minimize, so the
reconstruction term is used); ``initial`` the mean of the first 5 training losses (``loss_function``'s 'loss').

``CASES`` (program "antixvae"): the program on seeds 1-3, and one change each against the same seed's healthy run:
LR x10, x100 (seeds 1 and 2), x1000, /1000; init std 1 (seeds 1 and 2); 0..255 pixels (seeds 1 and 2);
``optimizer.zero_grad()`` left out; and two changes expected harmless: LR x2 (cause "lr_high") and batch 32 (cause
"healthy").  Labels come from run.py's outcome rules only.
Recorded (cases-public88; 11-23 s a run, 219 s in all): healthy held-out reconstruction MSE 0.01111, 0.01154,
0.01246 on seeds 1-3 (start, the mean of the first 5 training losses, 0.239, 0.157, 0.174; training loss at the end
0.017-0.019; every loss finite): healthy; LR x10 (0.05): largest loss 16.1, 0.0473: broken; LR x100 (0.5, seeds 1
and 2) and x1000 (5): the loss goes to inf / NaN, metric NaN: broken; LR /1000 (5e-6): 0.4451 (training loss 0.457;
the Tanh output's BatchNorm keeps the untrained reconstruction far from the targets): broken; init std 1: first
losses 1.8e19 and 3.2e24 (the KLD of a huge log_var), training loss still 7e12 / 7e22 at the end, 0.0887 (seed 1) and
0.0856 (seed 2): broken; 0..255 pixels: 12495 on both seeds (the Tanh output cannot reach the targets; 0.19 in unit
pixels), broken; zero_grad left out: 0.2014 (largest loss 1.77): broken; LR x2: 0.01816, 1.6x the control's:
ambiguous; batch 32: 0.00901: healthy.  Labels: 4 healthy (3 programs, batch 32), 10 broken, 1 ambiguous (LR x2).
"""

from __future__ import annotations

import time
from abc import abstractmethod
from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn, optim
from torch.nn import functional as F

import gradmedic

Tensor = torch.Tensor  # upstream: models/types_.py's TypeVar('torch.tensor')

ARCH = "vae"
MONITOR_AT = ("watch(model, optimizer, every=10) right after the Adam is built; monitor.step(loss) right after "
              "loss.backward(), before optimizer.step() (no clipping upstream); ExponentialLR stepped per epoch")
EPOCHS = 10
N_TEST = 300


class BaseVAE(nn.Module):

    def __init__(self) -> None:
        super().__init__()

    def encode(self, input: Tensor) -> list[Tensor]:
        raise NotImplementedError

    def decode(self, input: Tensor) -> Any:
        raise NotImplementedError

    def sample(self, batch_size: int, current_device: int, **kwargs) -> Tensor:
        raise NotImplementedError

    def generate(self, x: Tensor, **kwargs) -> Tensor:
        raise NotImplementedError

    @abstractmethod
    def forward(self, *inputs: Tensor) -> Tensor:
        pass

    @abstractmethod
    def loss_function(self, *inputs: Any, **kwargs) -> Tensor:
        pass


class VanillaVAE(BaseVAE):

    def __init__(self,
                 in_channels: int,
                 latent_dim: int,
                 hidden_dims: list = None,
                 **kwargs) -> None:
        super().__init__()

        self.latent_dim = latent_dim

        modules = []
        if hidden_dims is None:
            hidden_dims = [32, 64, 128]  # upstream: [32, 64, 128, 256, 512] (64x64 input; 16x16 here)
        hidden_dims = list(hidden_dims)
        out_channels = in_channels  # upstream: the last Conv2d has out_channels=3
        self.last_dim = hidden_dims[-1]  # upstream: decode() views to the literal 512

        # Build Encoder
        for h_dim in hidden_dims:
            modules.append(
                nn.Sequential(
                    nn.Conv2d(in_channels, out_channels=h_dim,
                              kernel_size=3, stride=2, padding=1),
                    nn.BatchNorm2d(h_dim),
                    nn.LeakyReLU())
            )
            in_channels = h_dim

        self.encoder = nn.Sequential(*modules)
        self.fc_mu = nn.Linear(hidden_dims[-1] * 4, latent_dim)
        self.fc_var = nn.Linear(hidden_dims[-1] * 4, latent_dim)

        # Build Decoder
        modules = []

        self.decoder_input = nn.Linear(latent_dim, hidden_dims[-1] * 4)

        hidden_dims.reverse()

        for i in range(len(hidden_dims) - 1):
            modules.append(
                nn.Sequential(
                    nn.ConvTranspose2d(hidden_dims[i],
                                       hidden_dims[i + 1],
                                       kernel_size=3,
                                       stride=2,
                                       padding=1,
                                       output_padding=1),
                    nn.BatchNorm2d(hidden_dims[i + 1]),
                    nn.LeakyReLU())
            )

        self.decoder = nn.Sequential(*modules)

        self.final_layer = nn.Sequential(
                            nn.ConvTranspose2d(hidden_dims[-1],
                                               hidden_dims[-1],
                                               kernel_size=3,
                                               stride=2,
                                               padding=1,
                                               output_padding=1),
                            nn.BatchNorm2d(hidden_dims[-1]),
                            nn.LeakyReLU(),
                            nn.Conv2d(hidden_dims[-1], out_channels=out_channels,
                                      kernel_size=3, padding=1),
                            nn.Tanh())

    def encode(self, input: Tensor) -> list[Tensor]:
        result = self.encoder(input)
        result = torch.flatten(result, start_dim=1)

        # Split the result into mu and var components
        # of the latent Gaussian distribution
        mu = self.fc_mu(result)
        log_var = self.fc_var(result)

        return [mu, log_var]

    def decode(self, z: Tensor) -> Tensor:
        result = self.decoder_input(z)
        result = result.view(-1, self.last_dim, 2, 2)  # upstream: result.view(-1, 512, 2, 2)
        result = self.decoder(result)
        result = self.final_layer(result)
        return result

    def reparameterize(self, mu: Tensor, logvar: Tensor) -> Tensor:
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return eps * std + mu

    def forward(self, input: Tensor, **kwargs) -> list[Tensor]:
        mu, log_var = self.encode(input)
        z = self.reparameterize(mu, log_var)
        return [self.decode(z), input, mu, log_var]

    def loss_function(self,
                      *args,
                      **kwargs) -> dict:
        recons = args[0]
        input = args[1]
        mu = args[2]
        log_var = args[3]

        kld_weight = kwargs['M_N']  # Account for the minibatch samples from the dataset
        recons_loss = F.mse_loss(recons, input)

        kld_loss = torch.mean(-0.5 * torch.sum(1 + log_var - mu ** 2 - log_var.exp(), dim=1), dim=0)

        loss = recons_loss + kld_weight * kld_loss
        return {'loss': loss, 'Reconstruction_Loss': recons_loss.detach(), 'KLD': -kld_loss.detach()}

    def generate(self, x: Tensor, **kwargs) -> Tensor:
        return self.forward(x)[0]


def _data(raw_pixels: bool):
    """load_digits upscaled to 16x16; [0, 1] as ToTensor gives (upstream: CelebA, CenterCrop(148), Resize(64))."""
    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    x = F.interpolate(x, size=(16, 16), mode="bilinear", align_corners=False).clamp(0.0, 1.0)
    if raw_pixels:  # the bug: 0..255 pixel values, no ToTensor scaling
        x = x * 255.0
    y = torch.tensor(d.target)
    g = torch.Generator().manual_seed(0)  # a fixed split, the same for every seed
    perm = torch.randperm(len(x), generator=g)
    te, tr = perm[:N_TEST], perm[N_TEST:]
    return x[tr], y[tr], x[te], y[te]


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, raw_pixels: bool = False,
          zero_grad: bool = True, batch_size: int = 64, epochs: int | None = None, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    t_start = time.time()
    params = {'LR': 0.005 * lr_mult, 'weight_decay': 0.0, 'scheduler_gamma': 0.95, 'kld_weight': 0.00025}
    torch.manual_seed(1265 + seed)  # upstream: seed_everything(1265)
    np.random.seed(1265 + seed)

    x_tr, y_tr, x_te, y_te = _data(raw_pixels)
    model = VanillaVAE(in_channels=1, latent_dim=128)  # upstream: in_channels 3 (RGB CelebA)
    if init_std is not None:  # the bug: N(0, init_std) for every conv and linear weight
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                nn.init.normal_(m.weight, mean=0.0, std=init_std)

    # configure_optimizers
    optimizer = optim.Adam(model.parameters(), lr=params['LR'], weight_decay=params['weight_decay'])
    scheduler = optim.lr_scheduler.ExponentialLR(optimizer, gamma=params['scheduler_gamma'])
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    losses, recs = [], []
    n_epochs = epochs or EPOCHS  # upstream: max_epochs 100
    step = 0
    for epoch in range(n_epochs):
        model.train()
        perm = torch.randperm(len(x_tr))  # DataLoader(shuffle=True)
        for batch_idx, i in enumerate(range(0, len(x_tr), batch_size)):
            idx = perm[i:i + batch_size]
            real_img, labels = x_tr[idx], y_tr[idx]
            flip = torch.rand(len(real_img)) < 0.5  # transforms.RandomHorizontalFlip()
            real_img = torch.where(flip[:, None, None, None], real_img.flip(-1), real_img)
            # VAEXperiment.training_step
            results = model(real_img, labels=labels)
            train_loss = model.loss_function(*results, M_N=params['kld_weight'], optimizer_idx=0,
                                             batch_idx=batch_idx)
            loss = train_loss['loss']
            # Lightning's automatic optimization
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())
            recs.append(train_loss['Reconstruction_Loss'].item())
            step += 1
        scheduler.step()  # Lightning steps the ExponentialLR once per epoch
        if verbose:
            print(f"epoch {epoch} | loss {np.mean(losses[-20:]):.4f} rec {np.mean(recs[-20:]):.4f} "
                  f"({time.time() - t_start:.1f}s)", flush=True)
    monitor.close()

    model.eval()
    with torch.no_grad():
        results = model(x_te, labels=y_te)
        val = model.loss_function(*results, M_N=1.0)
    scale = 255.0 ** 2 if raw_pixels else 1.0
    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "loss", "value": float(val['Reconstruction_Loss']),
            "initial": float(np.mean(la[:5])), "initial_what": "untrained: mean training loss of the first 5 steps",
            "chance": float(((x_te - x_te.mean()) ** 2).mean()),
            "extra": {"train_loss": float(np.mean(la[-20:])), "train_rec": float(np.mean(recs[-20:])),
                      "first_loss": float(la[0]),
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "val_kld": float(val['KLD']),
                      "val_rec_in_unit_pixels": float(val['Reconstruction_Loss']) / scale, "steps": step,
                      "epochs": n_epochs, "lr": params['LR'], "lr_mult": lr_mult,
                      "init_std": -1.0 if init_std is None else init_std, "raw_pixels": raw_pixels,
                      "zero_grad": zero_grad, "batch_size": batch_size},
            "seconds": time.time() - t_start}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="antixvae", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"antixvae_healthy_s{s}", "healthy", s, {}, f"unchanged (VanillaVAE hidden_dims [32, 64, 128], latent "
           f"128; Adam LR 0.005, weight_decay 0, ExponentialLR 0.95 per epoch, kld_weight 0.00025, batch 64; "
           f"{EPOCHS} epochs)", False) for s in (1, 2, 3)]
    + [_case(f"antixvae_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"LR x{k} ({0.005 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("antixvae_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "LR /1000 (5e-06)")]
    + [_case(f"antixvae_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Conv2d, ConvTranspose2d and Linear weight instead of PyTorch's default "
             "(biases and BatchNorm kept)") for s in (1, 2)]
    + [_case(f"antixvae_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             "0..255 pixel values (no ToTensor scaling), which are also the reconstruction target") for s in (1, 2)]
    + [_case("antixvae_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             "optimizer.zero_grad() left out of the loop: the gradients accumulate")]
    + [_case("antixvae_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, "LR x2 (0.01; expected harmless)")]
    + [_case("antixvae_bs32_s1", "healthy", 1, {"batch_size": 32},
             "train batch 32 instead of 64 (expected harmless; no cause names it)")]
)


if __name__ == "__main__":
    import sys
    r = train(verbose=True, **({"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}))
    print({k: v for k, v in r.items() if k != "monitors"})
