"""yunjey/pytorch-tutorial's variational autoencoder (03-advanced/variational_autoencoder: 784-400-(20, 20)-400-784,
sigmoid output, BCE summed plus the KL term, Adam lr 1e-3) on digits, watched by gradmedic.

Adapted from https://github.com/yunjey/pytorch-tutorial (commit 0500d3df5a2a8080ccfccbc00aca0eacc21818db, the
newest; the file was last changed in 78c6afe681c4ff5095ef13662c02a7e369b1bcbd;
tutorials/03-advanced/variational_autoencoder/main.py; MIT License, the repository's LICENSE, see LICENSE-yjvae).
The script's module-level code is the body of ``train`` here, upstream's lines in upstream's order.  (This port
takes the place of karpathy/pytorch-normalizing-flows, which has no licence.)

Kept as in the original: the hyper-parameters (image_size 784, h_dim 400, z_dim 20, batch_size 128,
learning_rate 1e-3), ``VAE`` (fc1 Linear(784, 400), ReLU, fc2/fc3 Linear(400, 20) for mu and log_var,
``reparameterize`` with ``std = torch.exp(log_var/2)``, fc4 Linear(20, 400), ReLU, fc5 Linear(400, 784),
``F.sigmoid``) with PyTorch's default init, ``torch.optim.Adam(model.parameters(), lr=learning_rate)``, the shuffled
DataLoader, and the loop: ``x.view(-1, image_size)``, forward, ``reconst_loss = F.binary_cross_entropy(x_reconst, x,
size_average=False)`` (the deprecated argument kept: it still means reduction="sum"), ``kl_div = - 0.5 *
torch.sum(1 + log_var - mu.pow(2) - log_var.exp())``, ``loss = reconst_loss + kl_div``, ``optimizer.zero_grad()``,
``loss.backward()``, ``optimizer.step()`` (no clipping, no scheduler); inputs in [0, 1] as ``transforms.ToTensor()``
gives them, not normalized.

Changed to run offline on one CPU thread without torchvision: MNIST is mnist.py's ``digits28`` (scikit-learn's
``load_digits``, split 80/20 with random_state=0, upsampled bilinearly to 28x28) taken as raw 0..255 values and
divided by 255 as ``ToTensor`` does: 1437 training images (12 steps of 128 per epoch) and 360 held out (upstream
trains on MNIST's 60000 without a test set); 60 epochs (720 steps) instead of 15 epochs of 469 steps (7035), so a
run takes ~10-30 s; ``device`` is the CPU; ``torch.manual_seed(seed)`` before the model is built and the loader
shuffled by a ``torch.Generator`` seeded with the run's seed (upstream does not seed); the print every 10 steps only
with ``verbose``; no ``samples`` directory and no ``save_image`` of sampled and reconstructed images each epoch;
``torch.set_flush_denormal(True)`` (speed only); the bugs of the variants as in ``train``'s docstring.  When
``F.binary_cross_entropy`` raises on a NaN reconstruction ("all elements of input should be between 0 and 1"), the
run stops there, as upstream's script would, and its outcome is NaN (``extra["crashed"]`` says at which step).

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(loss)`` right after ``loss.backward()`` (the loss summed over the batch, as upstream), before
``optimizer.step()``; ``monitor.close()`` after the loop.

Metric, ``heldout_loss``: upstream's loss per image (BCE summed over the 784 pixels plus the KL term) on the 360
held-out images, with the reparameterization's eps drawn from a generator seeded 0 (the same noise for every run);
its reference ("initial") is the same quantity for the untrained model (the run's own initialization).  ``extra``
holds the held-out BCE and KL apart, the BCE of predicting the training set's mean image and the targets' own
entropy (the BCE floor: the upsampled digits are blurred, not binary), and the training loss per image.  Whatever
the variant's loss, the metric is upstream's; for ``raw_pixels`` the held-out images go in as 0..255 values and the
reconstruction is scored against the [0, 1] images.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the same seed's
healthy run: the learning rate x2, x10, x100 (seeds 1 and 2), x1000 and /1000; raw 0..255 pixels as the network's
inputs (the BCE targets kept in [0, 1], as ``binary_cross_entropy`` wants them) on seeds 1 and 2; the KL term's sign
flipped (``kl_div = 0.5 * torch.sum(...)``); the reconstruction loss averaged over pixels and batch
(``size_average=True``, i.e. reduction="mean", the default) while the KL stays summed, a commonly reported mistake
that weighs the KL ~1e5 times more, on seeds 1 and 2 (cause wrong_loss); every weight and bias zero (symmetric init);
fc1's bias at -10 (the encoder's 400 ReLUs dead for every image); ``optimizer.zero_grad()`` left out. Labels come from
run.py's outcome rules only.

Not a case: ``nn.init.normal_(std=1.0)`` on every Linear weight (recorded on seeds 1 and 2, then taken out of
``CASES`` and its files deleted): the untrained encoder's log_var is in the hundreds, ``torch.exp`` overflows, and
the first ``binary_cross_entropy`` raises before any backward, so the monitor holds no step (as fcgan.py's note on
BCELoss without the Sigmoid).

Recorded (cases-public30; 16-20 s of training a run on the shared 2-core machine; 17 cases in ~7 min): held-out
loss per image, untrained ~549, the mean image's BCE 355.8, the BCE floor 253.7.  Healthy: 290.4, 290.3 and 290.0
on seeds 1-3 (BCE ~276 + KL ~14.5; training loss 515 -> 288), lr x2 288.1.  Broken: lr x1000 NaN (crashed at step
3: two steps recorded), lr /1000 536.4, raw 0..255 inputs 4.7e28 (seed 1: the KL of a log_var driven by 0..255
inputs; its untrained loss 5.6e28) and NaN (seed 2: crashed at step 3), the KL's sign flipped 2.7e21 (training loss
-1.3e21), all-zero init 450.8 (only the biases learn; above the mean image).  Ambiguous (good outcomes against the
untrained ~549 but worse than the control by more than 1.1x, or with losses far above the control's on the way):
lr x10 321.1 (1.11x; KL 4.5), lr x100 360.1 and 374.7 (the posterior collapses, KL ~3.5, the decoder about the
mean image; first losses ~1e6-6e6 per image), the BCE averaged 356.6 and 356.4 (KL 0.0: posterior collapse, the
decoder gives the mean image), fc1's bias at -10 356.5 (the encoder dead, KL 0.005, the mean image), no zero_grad
387.6 (1.33x).  In all: 4 healthy, 6 broken, 7 ambiguous.
"""

# upstream's code is kept as written (super(Class, self), str.format)
# ruff: noqa: UP008, UP032

from __future__ import annotations

import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mnist import digits28

import gradmedic

ARCH = "vae"
MONITOR_AT = ("monitor.step(loss) right after loss.backward() (BCE summed over the batch's pixels plus the summed KL), "
              "before optimizer.step()")

# Device configuration
device = torch.device('cpu')  # upstream: cuda when available

# Hyper-parameters
image_size = 784
h_dim = 400
z_dim = 20
num_epochs = 60  # upstream: 15 epochs of MNIST
batch_size = 128
learning_rate = 1e-3


# VAE model
class VAE(nn.Module):
    def __init__(self, image_size=784, h_dim=400, z_dim=20):
        super(VAE, self).__init__()
        self.fc1 = nn.Linear(image_size, h_dim)
        self.fc2 = nn.Linear(h_dim, z_dim)
        self.fc3 = nn.Linear(h_dim, z_dim)
        self.fc4 = nn.Linear(z_dim, h_dim)
        self.fc5 = nn.Linear(h_dim, image_size)

    def encode(self, x):
        h = F.relu(self.fc1(x))
        return self.fc2(h), self.fc3(h)

    def reparameterize(self, mu, log_var):
        std = torch.exp(log_var/2)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h = F.relu(self.fc4(z))
        return F.sigmoid(self.fc5(h))

    def forward(self, x):
        mu, log_var = self.encode(x)
        z = self.reparameterize(mu, log_var)
        x_reconst = self.decode(z)
        return x_reconst, mu, log_var


def _heldout(model, x_in, x_target):
    """Upstream's loss per held-out image, eps from a generator seeded 0 (the same noise for every run)."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        mu, log_var = model.encode(x_in)
        std = torch.exp(log_var/2)
        eps = torch.randn(std.shape, generator=g)
        x_reconst = model.decode(mu + eps * std)
        n = x_in.shape[0]
        if not torch.isfinite(x_reconst).all():
            return float("nan"), float("nan")
        bce = F.binary_cross_entropy(x_reconst, x_target, reduction="sum").item() / n
        kl = (- 0.5 * torch.sum(1 + log_var - mu.pow(2) - log_var.exp())).item() / n
    return bce, kl


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, kl_sign: float = 1.0,
          mean_bce: bool = False, init_std: float | None = None, zero_init: bool = False,
          fc1_bias: float | None = None, zero_grad: bool = True, epochs: int = num_epochs, every: int = 10,
          verbose: bool = False) -> dict:
    """``lr_mult``: Adam's lr times this; ``raw_pixels``: the network's inputs are 0..255 values (the BCE targets stay
    in [0, 1]); ``kl_sign=-1``: ``kl_div = 0.5 * torch.sum(...)``; ``mean_bce``: ``size_average=True`` in the BCE
    (reduction "mean") with the KL still summed; ``init_std``: ``nn.init.normal_(std=init_std)`` on every Linear
    weight; ``zero_init``: every weight and bias zero; ``fc1_bias``: fc1's bias filled with it; ``zero_grad=False``:
    no ``optimizer.zero_grad()``."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    warnings.filterwarnings("ignore", message=".*size_average.*")  # upstream's deprecated argument, kept
    d_train, d_test = digits28(raw_pixels=True)  # 0..255 values (MNIST's uint8 pixels)
    x_train = d_train.tensors[0].view(-1, image_size) / 255.0  # transforms.ToTensor(): [0, 1]
    x_test = d_test.tensors[0].view(-1, image_size) / 255.0
    scale_in = 255.0 if raw_pixels else 1.0  # the bug: no ToTensor scaling on what goes into the network

    # Data loader
    data_loader = torch.utils.data.DataLoader(dataset=torch.utils.data.TensorDataset(x_train, d_train.tensors[1]),
                                              batch_size=batch_size,
                                              shuffle=True, generator=torch.Generator().manual_seed(seed))

    torch.manual_seed(seed)
    model = VAE().to(device)
    with torch.no_grad():  # the variants' inits (none upstream)
        for m in model.modules():
            if isinstance(m, nn.Linear):
                if init_std is not None:
                    nn.init.normal_(m.weight, 0.0, init_std)
                if zero_init:
                    m.weight.zero_()
                    m.bias.zero_()
        if fc1_bias is not None:
            model.fc1.bias.fill_(fc1_bias)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate * lr_mult)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    bce0, kl0 = _heldout(model, x_test * scale_in, x_test)
    losses = []

    t0 = time.time()
    crash = None
    try:
        # Start training
        for epoch in range(epochs):
            for i, (x, _) in enumerate(data_loader):
                # Forward pass
                x = x.to(device).view(-1, image_size)
                x_reconst, mu, log_var = model(x * scale_in)

                # Compute reconstruction loss and kl divergence
                # For KL divergence, see Appendix B in VAE paper or http://yunjey47.tistory.com/43
                reconst_loss = F.binary_cross_entropy(x_reconst, x, size_average=mean_bce)
                kl_div = - 0.5 * kl_sign * torch.sum(1 + log_var - mu.pow(2) - log_var.exp())

                # Backprop and optimize
                loss = reconst_loss + kl_div
                if zero_grad:
                    optimizer.zero_grad()
                loss.backward()
                monitor.step(loss)  # gradmedic
                optimizer.step()
                losses.append(loss.item() / x.shape[0])

                if verbose and (i+1) % 12 == 0 and (epoch % 10 == 9 or epoch == 0):  # upstream: every 10 steps
                    print ("Epoch[{}/{}], Step [{}/{}], Reconst Loss: {:.4f}, KL Div: {:.4f}"
                           .format(epoch+1, epochs, i+1, len(data_loader), reconst_loss.item(), kl_div.item()))
    except RuntimeError as e:  # as upstream would: BCE refuses a NaN reconstruction, and the script stops
        crash = f"step {len(losses) + 1}: {str(e).splitlines()[0]}"
    monitor.close()
    seconds = time.time() - t0

    model.eval()
    bce, kl = _heldout(model, x_test * scale_in, x_test)  # the metric: upstream's loss, whatever the variant's
    value = float("nan") if crash else bce + kl
    initial = bce0 + kl0
    mean_img = x_train.mean(0, keepdim=True).clamp(1e-7, 1 - 1e-7).expand_as(x_test)
    bce_mean = F.binary_cross_entropy(mean_img, x_test, reduction="sum").item() / x_test.shape[0]
    t = x_test.clamp(1e-7, 1 - 1e-7)
    entropy = F.binary_cross_entropy(t, x_test, reduction="sum").item() / x_test.shape[0]
    if verbose:
        print(f"held-out loss/image {value:.2f} (BCE {bce:.2f} + KL {kl:.2f}) vs untrained {initial:.2f}; mean image "
              f"BCE {bce_mean:.2f}, floor {entropy:.2f}; {seconds:.1f}s")
    finite = [v for v in losses if np.isfinite(v)]
    return {"monitors": {"": monitor}, "metric": "heldout_loss",
            "value": float(value) if np.isfinite(value) else float("nan"), "chance": float(bce_mean),
            "initial": float(initial),
            "initial_what": "the untrained model's held-out loss per image (BCE summed over pixels + KL)",
            "extra": {"heldout_bce": bce, "heldout_kl": kl, "initial_bce": bce0, "initial_kl": kl0,
                      "mean_image_bce": bce_mean, "target_entropy": entropy, "steps": len(losses),
                      "train_loss_per_image": float(np.mean(losses[-20:])) if losses else None,
                      "initial_train_loss_per_image": float(np.mean(losses[:5])),
                      "nonfinite_steps": len(losses) - len(finite), "crashed": crash},
            "seconds": seconds}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="yjvae", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"yjvae_healthy_s{s}", "healthy", s, {}, "unchanged (VAE 784-400-20-400-784, Adam lr 1e-3, BCE sum + KL, "
           "batch 128, 60 epochs of 1437 digits)", False) for s in (1, 2, 3)]
    + [_case("yjvae_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, "Adam lr x2 (0.002)")]
    + [_case(f"yjvae_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("yjvae_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (1e-06)")]
    + [_case(f"yjvae_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             "raw 0..255 pixel values into the encoder (no ToTensor scaling); the BCE targets kept in [0, 1]")
       for s in (1, 2)]
    + [_case("yjvae_kl_sign_s1", "wrong_loss", 1, {"kl_sign": -1.0},
             "kl_div = 0.5 * torch.sum(1 + log_var - mu.pow(2) - log_var.exp()): the KL term's minus dropped")]
    + [_case(f"yjvae_mean_bce_s{s}", "wrong_loss", s, {"mean_bce": True},
             "F.binary_cross_entropy(x_reconst, x, size_average=True) (reduction 'mean': averaged over the batch's "
             "784 x 128 pixels) while kl_div stays summed over the batch") for s in (1, 2)]
    + [_case("yjvae_zero_init_s1", "symmetric_init", 1, {"zero_init": True},
             "nn.init.zeros_ on every weight and bias of the five Linear layers")]
    + [_case("yjvae_fc1_bias_neg10_s1", "dead_relu", 1, {"fc1_bias": -10.0},
             "fc1's bias filled with -10: the encoder's 400 ReLUs are below zero for every image")]
    + [_case("yjvae_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             "optimizer.zero_grad() left out: the gradients accumulate")]
)


if __name__ == "__main__":
    import ast
    import sys

    kw = {k: ast.literal_eval(v) for k, v in (a.split("=") for a in sys.argv[1:])}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
