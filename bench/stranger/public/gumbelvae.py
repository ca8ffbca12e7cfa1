"""YongfeiYan's Gumbel-Softmax VAE (categorical latent, 30 x 10-way, relaxed by the Gumbel-softmax; fc encoder and
decoder with ReLU and a sigmoid output, BCE summed + KL to the uniform categorical, Adam lr 1e-3) on digits, watched
by gradmedic.

Adapted from https://github.com/YongfeiYan/Gumbel_Softmax_VAE (commit 7d3df6c3c7ac9001e5d3a9ededd6f382a8421668,
gumbel_softmax_vae.py).  The repository has no licence file (its README credits dev4488's VAE_gumble_softmax, itself
modified from pytorch/examples' vae); so no LICENSE-gumbelvae, and only what the program needs is copied: upstream's
``sample_gumbel``, ``gumbel_softmax_sample``, ``gumbel_softmax``, ``VAE_gumbel``, ``loss_function`` and the body of
its ``train(epoch)``.

Kept as in the original: latent_dim 30, categorical_dim 10, temp 1.0 (``--temp``), temp_min 0.5, ANNEAL_RATE
0.00003, hard False (``--hard`` is off by default; the straight-through branch is copied and not used), batch size
100 shuffled, ``VAE_gumbel`` (fc1 Linear(., 512), fc2 Linear(512, 256), fc3 Linear(256, 300) and a ReLU on the
encoder's output, as upstream; fc4 Linear(300, 256), fc5 Linear(256, 512), fc6 Linear(512, .), ReLU, sigmoid) with
PyTorch's default inits, ``F.softmax(q_y, dim=-1)`` as q(y|x), ``loss_function`` (``F.binary_cross_entropy(...,
size_average=False) / x.shape[0]`` plus ``KLD = torch.sum(qy * log(qy * categorical_dim + 1e-20), dim=-1).mean()``,
the mean over batch and latent variables of the KL to the uniform categorical, as upstream computes it),
``optim.Adam(model.parameters(), lr=1e-3)``, and the loop: ``optimizer.zero_grad()``, forward at ``temp``,
``loss.backward()``, ``optimizer.step()``, and the annealing ``if batch_idx % 100 == 1: temp = np.maximum(temp *
np.exp(-ANNEAL_RATE * batch_idx), temp_min)`` with ``temp = args.temp`` again at the start of every epoch (as
upstream: with 15 batches an epoch it fires only at batch 1 and leaves temp at 0.99997; on MNIST's 600 batches it
ends each epoch near 0.956; temp_min is never reached).

Changed to run offline on one CPU thread in ~10-18 s: MNIST (28x28, ``transforms.ToTensor()``: [0, 1]) is
scikit-learn's ``load_digits`` (8x8, values 0..16) divided by 16 and upsampled bilinearly to 28x28 (as mnist.py's
``digits28``), so the network keeps upstream's 784 inputs and outputs (``N_PIX``; the 8x8 images fed as 64 inputs
were tried first, and at 16x16 as 256: with 64 or 256 pixels the reconstruction term is too small against the KL,
the encoder's final ReLU goes silent within ~40 steps (97% of fc3's outputs at zero), q(y|x) is uniform (held-out
KL 0.005) and the decoder gives the mean image, 27.13 per image against the mean image's 27.08 at 8x8, 112.9 against
116.4 at 16x16; at 28x28 the latent is used); a fixed split (permutation seeded 0) of 1497 training digits (15
batches an epoch, the last of 97) and 300 held out; EPOCHS epochs (450 steps; upstream default 10 epochs of MNIST's
600 batches, README 100; 40 epochs took 21 s here); ``torch.manual_seed(seed)`` as upstream's ``--seed`` (default
1) and the loader shuffled by a generator seeded with it; no CUDA, no test loop with ``save_image`` of
reconstructions and samples each epoch, prints only with ``verbose``; ``latent_dim`` / ``categorical_dim`` /
``temp_min`` are still module globals (read by ``gumbel_softmax``, ``loss_function`` and the loop as upstream) but
set by ``train`` for the variants.  The untrained held-out loss, 543 per image, is upstream's first MNIST loss
(542.6 in its README).
Knobs (one per variant): ``lr_mult`` scales Adam's lr; ``raw_pixels``: the encoder gets the raw 0..16 values (no
ToTensor-like scaling) while the BCE targets stay in [0, 1], as ``binary_cross_entropy`` needs them; ``raw255``: the
same with 0..255 values (MNIST's uint8 pixels without ToTensor);
``init_std``: ``nn.init.normal_(std=init_std)`` on every Linear weight (biases kept); ``zero_grad=False`` leaves
``optimizer.zero_grad()`` out; ``temp``/``temp_min_``: the training temperature's start and floor (the tiny-
temperature variant sets both to 0.01: with upstream's temp_min 0.5 a ``--temp 0.01`` would be lifted to 0.5 at
batch 1); ``batch_size``; ``categorical_dim_``.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the Adam is
built, ``monitor.step(loss)`` right after ``loss.backward()`` (the batch-mean negative ELBO), before
``optimizer.step()``; ``monitor.close()`` after the loop.

Metric, ``heldout_loss``: upstream's ``loss_function`` (the relaxed negative ELBO per image: summed BCE over the 784
pixels + the KL term) on the 300 held-out digits, model in eval mode, at the fixed temperature 1.0 (upstream's
``test`` uses ``args.temp``), not hard, with the Gumbel noise drawn under ``torch.manual_seed(0)`` (the same noise
for every run; the global RNG is restored after); for ``raw_pixels`` the held-out digits go in as 0..16 and are
scored against the [0, 1] images.  Its reference ("initial") is the same quantity for the untrained model (the run's
own initialization); ``chance`` is the BCE of the training set's mean image.  ``extra`` has the held-out BCE and KL
apart, the targets' own entropy (the BCE floor: digits/16 are not binary), and the training loss.

``CASES`` (program "gumbelvae"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10, x100, x1000, /1000; raw 0..16 inputs to the encoder (seeds 1 and 2) and, as those did no harm, 0..255
inputs (seeds 1 and 2, added after); N(0, 1) Linear weights (seeds 1 and 2); ``optimizer.zero_grad()`` left out;
the training temperature 0.01 from the start (seeds 1 and 2; cause "no_gradient": a saturated softmax passes almost
no gradient to the encoder); and two changes expected harmless: batch size 200 and categorical_dim 5 (cause
"healthy").  Labels come from run.py's outcome rules only.
Recorded (cases-public116; 10-17 s a run on the shared 2-core machine, 250 s in all): held-out loss per image,
untrained ~543 (543.0, 543.6, 543.7; KL 0.014-0.017), the mean image's BCE 354.0, the BCE floor (the targets' own
entropy) 253.3.  Healthy: 335.9, 340.8, 341.8 on seeds 1-3 (KL 2.9, 1.9, 1.7; first-5 training loss 533, last-20
337-341; every loss finite): healthy.  Adam lr x10 (0.01): 311.3 (KL 5.9): healthy; lr x100 (0.1) and x1000 (1):
19666 and 19606 (the sigmoid output saturated at 0/1, training loss ~2e4 from the first steps, the KL at its
maximum 69 = 30 log 10): broken; lr /1000 (1e-6): 541.4 (training loss 543 -> 541): broken; raw 0..16 inputs: 320.2
(seed 1) and 333.3 (seed 2), untrained 545-547: healthy; raw 0..255 inputs: 423.8 and 423.9 (the encoder's logits
huge, q(y|x) one-hot, KL 69; untrained 603-606): ambiguous (worse than the mean image, not twice the control's);
N(0, 1) weights: first losses ~3.8e4, 22453 (seed 1) and 23390 (seed 2): broken; zero_grad left out: 369.9 (1.10x
the control, KL 0.01: collapsed to about the mean image): ambiguous; temperature 0.01: 344.2 (seed 1) and 347.4
(seed 2): healthy; batch 200: 351.5: healthy; categorical_dim 5: 330.5: healthy.  Labels: 10 healthy (3 programs,
lr x10, raw 0..16 x2, temp 0.01 x2, batch 200, categorical_dim 5), 5 broken, 3 ambiguous.  Every run's losses were
finite; none crashed.
"""

# upstream's code is kept as written (super(Class, self), str.format, np.maximum of a float)
# ruff: noqa: UP008, UP032

from __future__ import annotations

import time
import warnings

import numpy as np
import torch
from torch import nn, optim
from torch.nn import functional as F

import gradmedic

ARCH = "vae"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optim.Adam(model.parameters(), lr=1e-3); monitor.step(loss) "
              "right after loss.backward() (BCE summed over pixels / batch + the batch-mean KL to the uniform "
              "categorical), before optimizer.step()")

EPOCHS = 30  # upstream: --epochs 10 of MNIST's 600 batches (README: 100)
SIDE = 28
N_PIX = SIDE * SIDE  # upstream: 784 (MNIST 28x28)
BATCH_SIZE = 100  # upstream: --batch-size 100
TEMP = 1.0  # upstream: --temp 1.0
LR = 1e-3

latent_dim = 30
categorical_dim = 10  # one-of-K vector

temp_min = 0.5
ANNEAL_RATE = 0.00003


def digits(raw=False):
    """load_digits split once (permutation seeded 0): 1497 training and 300 held-out 8x8 images, /16 like ToTensor."""
    from sklearn.datasets import load_digits

    x = torch.tensor(load_digits().images, dtype=torch.float32)[:, None] / 16.0  # ToTensor: [0, 1]
    if SIDE != 8:
        x = F.interpolate(x, size=(SIDE, SIDE), mode="bilinear", align_corners=False).clamp(0, 1)
    x = x.reshape(x.shape[0], -1)
    perm = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(0))
    x = x[perm]
    return x[300:], x[:300]


def sample_gumbel(shape, eps=1e-20):
    U = torch.rand(shape)  # upstream: .cuda() when args.cuda
    return -torch.log(-torch.log(U + eps) + eps)


def gumbel_softmax_sample(logits, temperature):
    y = logits + sample_gumbel(logits.size())
    return F.softmax(y / temperature, dim=-1)


def gumbel_softmax(logits, temperature, hard=False):
    """
    ST-gumple-softmax
    input: [*, n_class]
    return: flatten --> [*, n_class] an one-hot vector
    """
    y = gumbel_softmax_sample(logits, temperature)

    if not hard:
        return y.view(-1, latent_dim * categorical_dim)

    shape = y.size()
    _, ind = y.max(dim=-1)
    y_hard = torch.zeros_like(y).view(-1, shape[-1])
    y_hard.scatter_(1, ind.view(-1, 1), 1)
    y_hard = y_hard.view(*shape)
    # Set gradients w.r.t. y_hard gradients w.r.t. y
    y_hard = (y_hard - y).detach() + y
    return y_hard.view(-1, latent_dim * categorical_dim)


class VAE_gumbel(nn.Module):
    def __init__(self, temp):
        super(VAE_gumbel, self).__init__()

        self.fc1 = nn.Linear(N_PIX, 512)  # upstream: nn.Linear(784, 512)
        self.fc2 = nn.Linear(512, 256)
        self.fc3 = nn.Linear(256, latent_dim * categorical_dim)

        self.fc4 = nn.Linear(latent_dim * categorical_dim, 256)
        self.fc5 = nn.Linear(256, 512)
        self.fc6 = nn.Linear(512, N_PIX)  # upstream: nn.Linear(512, 784)

        self.relu = nn.ReLU()
        self.sigmoid = nn.Sigmoid()

    def encode(self, x):
        h1 = self.relu(self.fc1(x))
        h2 = self.relu(self.fc2(h1))
        return self.relu(self.fc3(h2))

    def decode(self, z):
        h4 = self.relu(self.fc4(z))
        h5 = self.relu(self.fc5(h4))
        return self.sigmoid(self.fc6(h5))

    def forward(self, x, temp, hard):
        q = self.encode(x.view(-1, N_PIX))  # upstream: x.view(-1, 784)
        q_y = q.view(q.size(0), latent_dim, categorical_dim)
        z = gumbel_softmax(q_y, temp, hard)
        return self.decode(z), F.softmax(q_y, dim=-1).reshape(*q.size())


# Reconstruction + KL divergence losses summed over all elements and batch
def loss_function(recon_x, x, qy):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, N_PIX), size_average=False) / x.shape[0]  # upstream: 784

    log_ratio = torch.log(qy * categorical_dim + 1e-20)
    KLD = torch.sum(qy * log_ratio, dim=-1).mean()

    return BCE + KLD


def _heldout(model, x_in, x_target):
    """loss_function per held-out image at temperature 1.0 (not hard), Gumbel noise under manual_seed(0)."""
    with torch.no_grad(), torch.random.fork_rng():
        torch.manual_seed(0)
        recon, qy = model(x_in, TEMP, False)
        if not (torch.isfinite(recon).all() and torch.isfinite(qy).all()):
            return float("nan"), float("nan")
        bce = F.binary_cross_entropy(recon, x_target, reduction="sum").item() / x_in.shape[0]
        kl = torch.sum(qy * torch.log(qy * categorical_dim + 1e-20), dim=-1).mean().item()
    return bce, kl


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, raw255: bool = False, init_std: float | None = None,
          zero_grad: bool = True, temp: float = TEMP, temp_min_: float | None = None, batch_size: int = BATCH_SIZE,
          categorical_dim_: int = 10, epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    global categorical_dim, temp_min
    categorical_dim = categorical_dim_  # upstream: the module global 10
    temp_min = 0.5 if temp_min_ is None else temp_min_  # upstream: the module global 0.5
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    warnings.filterwarnings("ignore", message=".*size_average.*")  # upstream's deprecated argument, kept
    t0 = time.time()
    x_train, x_test = digits()
    scale_in = 16.0 if raw_pixels else 255.0 if raw255 else 1.0  # the bug: the encoder gets raw 0..16 / 0..255 values

    torch.manual_seed(seed)  # upstream: torch.manual_seed(args.seed)
    train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_train), batch_size=batch_size,
                                               shuffle=True, generator=torch.Generator().manual_seed(seed))
    model = VAE_gumbel(temp)
    if init_std is not None:  # the bug: N(0, init_std) for every Linear weight instead of PyTorch's default
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0.0, init_std)
    lr = LR * lr_mult
    optimizer = optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    bce0, kl0 = _heldout(model, x_test * scale_in, x_test)

    losses, temps = [], []
    crash = None
    try:
        for epoch in range(1, epochs + 1):
            # upstream's train(epoch)
            model.train()
            train_loss = 0
            temp_ = temp  # upstream: temp = args.temp
            for batch_idx, (data,) in enumerate(train_loader):
                if zero_grad:  # the no_zero_grad variant leaves this out
                    optimizer.zero_grad()
                recon_batch, qy = model(data * scale_in, temp_, False)  # upstream: model(data, temp, args.hard)
                loss = loss_function(recon_batch, data, qy)
                loss.backward()
                monitor.step(loss)  # gradmedic
                train_loss += loss.item() * len(data)
                optimizer.step()
                losses.append(loss.item())
                if batch_idx % 100 == 1:
                    temp_ = np.maximum(temp_ * np.exp(-ANNEAL_RATE * batch_idx), temp_min)
            temps.append(float(temp_))
            if verbose and (epoch % 10 == 0 or epoch == 1):
                print('====> Epoch: {} Average loss: {:.4f}'.format(
                    epoch, train_loss / len(train_loader.dataset)), flush=True)
    except RuntimeError as e:  # as upstream would: BCE refuses a NaN reconstruction, and the script stops
        crash = f"step {len(losses) + 1}: {str(e).splitlines()[0]}"
    monitor.close()

    model.eval()
    bce, kl = _heldout(model, x_test * scale_in, x_test)
    value = float("nan") if crash else bce + kl
    initial = bce0 + kl0
    mean_img = x_train.mean(0, keepdim=True).clamp(1e-7, 1 - 1e-7).expand_as(x_test)
    bce_mean = F.binary_cross_entropy(mean_img, x_test, reduction="sum").item() / x_test.shape[0]
    t = x_test.clamp(1e-7, 1 - 1e-7)
    entropy = F.binary_cross_entropy(t, x_test, reduction="sum").item() / x_test.shape[0]
    la = np.array(losses, dtype=float)
    seconds = time.time() - t0
    if verbose:
        print(f"held-out loss/image {value:.3f} (BCE {bce:.3f} + KL {kl:.3f}) vs untrained {initial:.3f}; mean image "
              f"BCE {bce_mean:.3f}, floor {entropy:.3f}; train {np.mean(la[-20:]):.3f}; {seconds:.1f}s")
    return {"monitors": {"": monitor}, "metric": "heldout_loss",
            "value": float(value) if np.isfinite(value) else float("nan"), "chance": float(bce_mean),
            "initial": float(initial),
            "initial_what": "the untrained model's held-out loss per image (BCE summed over pixels + KL) at temp 1.0",
            "extra": {"heldout_bce": bce, "heldout_kl": kl, "initial_bce": bce0, "initial_kl": kl0,
                      "mean_image_bce": bce_mean, "target_entropy": entropy, "steps": len(losses),
                      "train_loss": float(np.mean(la[-20:])) if len(la) else None,
                      "first_loss": float(np.mean(la[:5])) if len(la) else None,
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "lr": lr, "lr_mult": lr_mult,
                      "raw_pixels": raw_pixels, "raw255": raw255, "init_std": -1.0 if init_std is None else init_std,
                      "zero_grad": zero_grad, "temp": temp, "temp_min": temp_min, "final_temp": temps[-1] if temps else temp,
                      "batch_size": batch_size, "categorical_dim": categorical_dim, "epochs": epochs, "crashed": crash},
            "seconds": seconds}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="gumbelvae", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"Gumbel-softmax VAE (64-512-256-30x10 / 300-256-512-64, ReLU, sigmoid; BCE sum / batch + KL to uniform; "
      f"Adam lr {LR:g}, batch {BATCH_SIZE}, temp {TEMP:g}, temp_min 0.5, ANNEAL_RATE 3e-5, soft; {EPOCHS} epochs of "
      f"1497 digits upsampled to 28x28)")
CASES: list[dict] = (
    [_case(f"gumbelvae_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"gumbelvae_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1,)), (1000, (1,))) for s in ss]
    + [_case("gumbelvae_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 ({LR * 1e-3:g})")]
    + [_case(f"gumbelvae_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             f"{_P}: the encoder gets the raw 0..16 digit values (not scaled to [0, 1]); the BCE targets kept in "
             f"[0, 1]") for s in (1, 2)]
    + [_case(f"gumbelvae_raw255_s{s}", "unscaled_inputs", s, {"raw255": True},
             f"{_P}: the encoder gets 0..255 values (MNIST's raw uint8 pixels, no ToTensor scaling: the [0, 1] digits "
             f"x255); the BCE targets kept in [0, 1]") for s in (1, 2)]
    + [_case(f"gumbelvae_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every Linear weight (biases kept)") for s in (1, 2)]
    + [_case(f"gumbelvae_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out: the gradients accumulate") for s in (1,)]
    + [_case(f"gumbelvae_temp001_s{s}", "no_gradient", s, {"temp": 0.01, "temp_min_": 0.01},
             f"{_P}: the training temperature 0.01 from the start (temp 0.01 and temp_min 0.01): the Gumbel-softmax "
             f"is all but one-hot, its gradient to the encoder near zero except at near-ties (where it is 1/temp "
             f"larger); the held-out metric still at temperature 1.0") for s in (1, 2)]
    + [_case("gumbelvae_batch200_s1", "healthy", 1, {"batch_size": 200},
             f"{_P}: batch size 200 (expected harmless)")]
    + [_case("gumbelvae_catdim5_s1", "healthy", 1, {"categorical_dim_": 5},
             f"{_P}: categorical_dim 5 (30 x 5-way latent; expected harmless)")]
)


if __name__ == "__main__":
    import ast
    import sys

    kw = {k: ast.literal_eval(v) for k, v in (a.split("=") for a in sys.argv[1:])}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
