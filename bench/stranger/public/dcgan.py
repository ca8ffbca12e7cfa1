"""pytorch/examples dcgan (Generator, Discriminator, BCELoss, two Adam optimizers), watched by gradmedic.

Adapted from https://github.com/pytorch/examples (commit 77f55b912142e11fcfdf5b530231fb9c52f181e8,
dcgan/main.py; BSD 3-Clause, Copyright (c) 2017, Pytorch contributors, see
LICENSE-pytorch-examples).  Kept as in the original: ``weights_init`` (conv N(0, 0.02), batchnorm
N(1, 0.02) and zero bias), the layer pattern (ConvTranspose2d + BatchNorm2d + ReLU ... Tanh for G;
Conv2d + LeakyReLU(0.2), Conv2d + BatchNorm2d + LeakyReLU(0.2) ... Sigmoid for D), BCELoss, both Adam
with lr 0.0002 and betas (0.5, 0.999), the training step (D on real then on fake.detach(), one
optimizerD.step(); then G with real labels through D, optimizerG.step()), batch 64, the
``Normalize((0.5,), (0.5,))`` of the mnist branch ([-1, 1] images).

Changed to run offline on one CPU thread without torchvision: scikit-learn's ``load_digits`` (all
1797) upsampled from 8x8 to 16x16 with ``F.interpolate`` instead of 64x64 MNIST, so G and D lose
their two middle blocks (G: nz -> ngf*4 at 4x4 -> ngf*2 at 8x8 -> 1 at 16x16; D: 16x16 -> ndf at 8x8
-> ndf*2 at 4x4 -> 1), nz = 32, ngf = ndf = 32 (original 100, 64, 64), 8 epochs; no image or
checkpoint saving.

The watch: two monitors, one per model: ``watch(netD, optimizerD, every=10)`` stepped with errD after
the fake half's backward (before optimizerD.step()), ``watch(netG, optimizerG, every=10)`` stepped
with errG after errG.backward().  (D's forward in G's step runs D's hooks too, as it would for any
user.)

Outcome: a GAN's losses do not say how good it is, so the outcome is a Frechet distance between 1000
generated and the real images, both average-pooled to 8x8 (64 pixels; mean and covariance, like FID
without an Inception network): lower is better.  Losses and D(x), D(G(z)) are recorded as extras.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

import gradmedic

nc, nz, ngf, ndf = 1, 32, 32, 32


def weights_init(m):
    classname = m.__class__.__name__
    if classname.find('Conv') != -1:
        torch.nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find('BatchNorm') != -1:
        torch.nn.init.normal_(m.weight, 1.0, 0.02)
        torch.nn.init.zeros_(m.bias)


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            # input is Z, going into a convolution
            nn.ConvTranspose2d(     nz, ngf * 4, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            # state size. (ngf*4) x 4 x 4
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            # state size. (ngf*2) x 8 x 8
            nn.ConvTranspose2d(ngf * 2,      nc, 4, 2, 1, bias=False),
            nn.Tanh()
            # state size. (nc) x 16 x 16
        )

    def forward(self, input):
        return self.main(input)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            # input is (nc) x 16 x 16
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf) x 8 x 8
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*2) x 4 x 4
            nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False),
            nn.Sigmoid()
        )

    def forward(self, input):
        output = self.main(input)
        return output.view(-1, 1).squeeze(1)


def digits16():
    from sklearn.datasets import load_digits

    x = torch.tensor(load_digits().images, dtype=torch.float32)[:, None] / 16.0
    x = F.interpolate(x, size=(16, 16), mode="bilinear", align_corners=False).clamp(0, 1)
    return (x - 0.5) / 0.5  # Normalize((0.5,), (0.5,))


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to the rows of a and b."""
    from scipy import linalg

    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean, _ = linalg.sqrtm(s1 @ s2, disp=False)
    covmean = covmean.real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def train(seed: int = 1, lr_mult_d: float = 1.0, lr_mult_g: float = 1.0, epochs: int = 8, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only: denormal floats (e.g. in saturated LSTM gates) are 10x slower
    torch.manual_seed(seed)
    x = digits16()
    dataloader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=64, shuffle=True)
    netG = Generator()
    netG.apply(weights_init)
    netD = Discriminator()
    netD.apply(weights_init)
    criterion = nn.BCELoss()
    real_label, fake_label = 1, 0
    lr = 0.0002
    optimizerD = optim.Adam(netD.parameters(), lr=lr * lr_mult_d, betas=(0.5, 0.999))
    optimizerG = optim.Adam(netG.parameters(), lr=lr * lr_mult_g, betas=(0.5, 0.999))
    monD = gradmedic.watch(netD, optimizerD, every=every)
    monG = gradmedic.watch(netG, optimizerG, every=every)

    def sample_fd(n=1000):
        netG.eval()
        with torch.no_grad():
            fake = netG(torch.randn(n, nz, 1, 1))
        netG.train()
        def pool(t):
            return F.avg_pool2d(t, 2).reshape(len(t), -1).double().numpy()
        f = pool(fake)
        return frechet(f, pool(x)) if np.isfinite(f).all() else float("nan")

    fd_start = sample_fd()
    rec = {"errD": [], "errG": [], "D_x": [], "D_G_z1": []}
    t0 = time.time()
    crash = None
    try:
        for epoch in range(epochs):
            for i, (real_cpu,) in enumerate(dataloader):
                netD.zero_grad()
                batch_size = real_cpu.size(0)
                label = torch.full((batch_size,), real_label, dtype=real_cpu.dtype)
                output = netD(real_cpu)
                errD_real = criterion(output, label)
                errD_real.backward()
                D_x = output.mean().item()
                noise = torch.randn(batch_size, nz, 1, 1)
                fake = netG(noise)
                label.fill_(fake_label)
                output = netD(fake.detach())
                errD_fake = criterion(output, label)
                errD_fake.backward()
                D_G_z1 = output.mean().item()
                errD = errD_real + errD_fake
                monD.step(errD)  # gradmedic
                optimizerD.step()

                netG.zero_grad()
                label.fill_(real_label)
                output = netD(fake)
                errG = criterion(output, label)
                errG.backward()
                monG.step(errG)  # gradmedic
                optimizerG.step()
                for k, v in (("errD", errD.item()), ("errG", errG.item()), ("D_x", D_x), ("D_G_z1", D_G_z1)):
                    rec[k].append(v)
            if verbose:
                print(f"epoch {epoch} Loss_D {np.mean(rec['errD'][-10:]):.3f} Loss_G {np.mean(rec['errG'][-10:]):.3f} "
                      f"D(x) {np.mean(rec['D_x'][-10:]):.3f} D(G(z)) {np.mean(rec['D_G_z1'][-10:]):.3f} {time.time() - t0:.1f}s")
    except RuntimeError as e:  # the original dies here too: BCELoss refuses a NaN probability
        crash = f"step {len(rec['errD']) + 1}: {str(e).splitlines()[0]}"
    monD.close()
    monG.close()
    fd = sample_fd()
    last = {k: float(np.mean(v[-20:])) if v else float("nan") for k, v in rec.items()}
    if crash:
        fd = float("nan")
    return {"monitors": {"netD": monD, "netG": monG}, "metric": "frechet_8x8", "value": fd, "initial": fd_start,
            "chance": fd_start, "extra": {"crashed": crash, "fd_untrained_G": fd_start,
                                          **{f"final_{k}": v for k, v in last.items()},
                                          "max_errG": float(np.nanmax(rec["errG"])) if rec["errG"] else None,
                                          "steps": len(rec["errD"])},
            "seconds": time.time() - t0}


if __name__ == "__main__":
    import sys
    kw = {"lr_mult_d": float(sys.argv[1])} if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
