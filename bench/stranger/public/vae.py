"""pytorch/examples vae (VAE, Adam lr 1e-3, BCE + KLD summed), watched by gradmedic.

Adapted from https://github.com/pytorch/examples (commit 77f55b912142e11fcfdf5b530231fb9c52f181e8,
vae/main.py; BSD 3-Clause, Copyright (c) 2017, Pytorch contributors, see
LICENSE-pytorch-examples).  Kept as in the original: ``VAE`` (fc1 -> 400 -> (20, 20), fc3 20 ->
400, fc4 -> sigmoid), ``loss_function`` (binary cross-entropy summed over pixels and batch + KL
divergence), Adam(lr=1e-3), batch 128 with shuffling, the train step.

Changed to run offline without torchvision: the data is scikit-learn's ``load_digits`` (8x8, /16 to
[0, 1]; 1437 training images, split 80/20 with random_state=0), so 784 becomes 64 everywhere;
50 epochs (original 10 over 60000 images), no test pass and no saved images.

The watch: ``gradmedic.watch(model, optimizer, every=10)``, ``monitor.step(loss)`` after
``loss.backward()`` (the loss is the batch's sum, as in the original).  The outcome is the final
train loss per image (mean of the last 20 steps); a run that dies (BCE raises on a NaN
reconstruction, as the original would) ends there with a NaN outcome and the error in ``extra``.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn, optim
from torch.nn import functional as F

import gradmedic

D = 64  # 784 in the original


class VAE(nn.Module):
    def __init__(self):
        super().__init__()

        self.fc1 = nn.Linear(D, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, D)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5*logvar)
        eps = torch.randn_like(std)
        return mu + eps*std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, D))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, D), reduction='sum')
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD


def digits01():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, _, ytr, _ = train_test_split(d.images, d.target, test_size=0.2, random_state=0)
    return torch.tensor(xtr.reshape(-1, D) / 16.0, dtype=torch.float32)


def train(seed: int = 1, lr_mult: float = 1.0, epochs: int = 50, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only: denormal floats (e.g. in saturated LSTM gates) are 10x slower
    torch.manual_seed(seed)
    x = digits01()
    train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=128, shuffle=True)
    model = VAE()
    optimizer = optim.Adam(model.parameters(), lr=1e-3 * lr_mult)
    monitor = gradmedic.watch(model, optimizer, every=every)
    per_image = []
    t0 = time.time()
    crash = None
    try:
        for epoch in range(1, epochs + 1):
            model.train()
            for batch_idx, (data,) in enumerate(train_loader):
                optimizer.zero_grad()
                recon_batch, mu, logvar = model(data)
                loss = loss_function(recon_batch, data, mu, logvar)
                loss.backward()
                monitor.step(loss)  # gradmedic
                optimizer.step()
                per_image.append(loss.item() / len(data))
            if verbose and epoch % 5 == 0:
                print(f"epoch {epoch} loss/image {np.mean(per_image[-12:]):.3f} {time.time() - t0:.1f}s")
    except RuntimeError as e:  # the original dies here too: BCE refuses a NaN reconstruction
        crash = f"step {len(per_image) + 1}: {str(e).splitlines()[0]}"
        per_image.append(float("nan"))
    monitor.close()
    # references: the loss of the best constant reconstruction (the mean image, KLD 0) and the data's own
    # entropy (the floor of a BCE on grey levels: BCE(x, x) > 0 when x is not binary)
    with torch.no_grad():
        m = x.mean(0, keepdim=True).expand_as(x)
        const = F.binary_cross_entropy(m, x, reduction="sum").item() / len(x)
        floor = F.binary_cross_entropy(x.clamp(1e-6, 1 - 1e-6), x, reduction="sum").item() / len(x)
    return {"monitors": {"": monitor}, "metric": "train_loss", "value": float(np.mean(per_image[-20:])),
            "initial": float(np.mean(per_image[:5])), "chance": const,
            "extra": {"crashed": crash, "constant_reconstruction_loss": const, "bce_floor": floor, "steps": len(per_image)},
            "seconds": time.time() - t0}


if __name__ == "__main__":
    import sys
    kw = {"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
