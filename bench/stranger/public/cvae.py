"""timbmg/VAE-CVAE-MNIST's conditional VAE (``--conditional``: MLP encoder and decoder with ReLU, the one-hot label
concatenated to the image and to z, Sigmoid output; BCE summed plus KL, divided by the batch size; Adam lr 1e-3) on
digits, watched by gradmedic.

Adapted from https://github.com/timbmg/VAE-CVAE-MNIST (commit 4f1b22367a5c5cff88bf97ce78219132aa9fd977, the newest;
models.py last changed in 4f039d4d31f7b7d126386d8a6f9795d2bf9d0bf4, train.py and utils.py in
70dc739c56536cec0f9be88658a813fff818f243).  The repository has no licence file and its README names no licence, so
this port keeps to what is needed (no LICENSE-cvae): ``idx2onehot`` (utils.py) and ``VAE``, ``Encoder``, ``Decoder``
(models.py) are copied below; train.py's ``main`` is the body of ``train`` here, upstream's lines in upstream's order.

Kept as upstream with ``--conditional``: ``VAE(encoder_layer_sizes, latent_size, decoder_layer_sizes,
conditional=True, num_labels=10)`` - the encoder's one hidden Linear + ReLU on the image with the one-hot label
concatenated (``layer_sizes[0] += num_labels``), ``linear_means`` and ``linear_log_var`` to the latent, the
reparameterized z (``std = torch.exp(0.5 * log_var)``), the decoder's Linear + ReLU on z with the one-hot label
concatenated and a Linear + Sigmoid to the image; PyTorch's default inits; ``loss_fn`` (``binary_cross_entropy(...,
reduction='sum')`` plus ``KLD = -0.5 * torch.sum(1 + log_var - mean.pow(2) - log_var.exp())``, the sum divided by
``x.size(0)``); ``torch.optim.Adam(vae.parameters(), lr=0.001)``; the defaults ``--batch_size 64``,
``--latent_size 2``; a shuffled DataLoader on the global RNG after ``torch.manual_seed(args.seed)``; and the loop
(``recon_x, mean, log_var, z = vae(x, y)``, ``loss = loss_fn(...)``, ``optimizer.zero_grad()``, ``loss.backward()``,
``optimizer.step()``; no clipping, no schedule); the inputs in [0, 1] as ``transforms.ToTensor()`` gives them.

Changed to run offline on one CPU thread in ~5-15 s: MNIST is scikit-learn's ``load_digits`` (8x8 grey levels 0..16
divided by 16, ToTensor's [0, 1]; split 80/20 with random_state=0: 1437 training digits, 23 batches of 64 an epoch,
and 360 held out; upstream trains on MNIST's 60000 without a test set); the image size 28*28 -> 8*8 in
``VAE.forward`` and ``loss_fn``'s views; the layer sizes scaled with the image, the same number of layers:
encoder_layer_sizes [64, 64] and decoder_layer_sizes [64, 64] (upstream [784, 256] and [256, 784]); EPOCHS = 60
(1380 steps; upstream 10 epochs of 938 steps); the run's seed for ``torch.manual_seed`` (upstream's default --seed
0); the CPU; the per-example z tracker and the seaborn latent plot each epoch, the ``vae.inference`` figures every
100 batches and the ``figs`` directory left out; prints only with ``verbose``.  When ``binary_cross_entropy`` raises
on a NaN reconstruction ("all elements of input should be between 0 and 1"), the run stops there, as upstream's
script would, and its outcome is NaN (``extra["crashed"]`` says at which step).
Knobs (one per variant): ``lr_mult`` scales Adam's lr; ``input_scale``: the image times this on its way into the
encoder (16: the raw 0..16 grey levels; the BCE target stays the [0, 1] image, since ``binary_cross_entropy``
raises "all elements of target should be between 0 and 1" on the first batch when the raw digits are the target
too, so a user sees a crash, not a run, and that form is not a case); ``kl_weight`` multiplies the KLD in
``loss_fn``; ``init_std``: ``nn.init.normal_(std=init_std)`` on every Linear weight (biases kept); ``enc_bias``:
the encoder's hidden Linear (``MLP.L0``) bias filled with it; ``zero_grad=False`` leaves ``optimizer.zero_grad()``
out; ``batch_size``; ``latent_size``.

The watch, as a user would: ``monitor = gradmedic.watch(vae, optimizer, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the
loop.

Metric, ``heldout_neg_elbo``: upstream's ``loss_fn`` per digit (BCE summed over the 64 pixels + KLD) on the 360
held-out digits with their labels, one z per digit with eps from a generator seeded 0 (the same noise for every
run; the encoder fed the image as the program feeds it, the BCE against the [0, 1] image).  Its reference
("initial") is the same quantity for the untrained model (the run's own initialization); ``chance`` is the BCE of
the training set's mean image (27.24); ``extra`` holds the held-out BCE and KL apart, the targets' own entropy (the
BCE floor, 13.71: the digits are grey levels, not binary), the training loss, and ``sample_accuracy``: a
scikit-learn LogisticRegression fit on the real training digits, scored on 100 decoder outputs per class (z ~
N(0, I) from a generator seeded 0, ``vae.inference(z, c)``): does the decoder draw the digit it is asked for?

``CASES`` (program "cvae"): the program on seeds 1-3, and one change each against the same seed's healthy run: Adam
lr x10, x100 (seeds 1 and 2), x1000, /1000; the raw 0..16 grey levels into the encoder (seeds 1 and 2); the KLD
weighted x100 (posterior collapse; cause wrong_loss); N(0, 1) Linear weights (seeds 1 and 2); the encoder's hidden
bias at -10 (its ReLUs dead); ``optimizer.zero_grad()`` left out; and two changes expected harmless (cause
"healthy"): batch size 32 and latent size 4.  Labels come from run.py's outcome rules only.
Recorded (cases-public166; 17 runs, 0.1-15 s of training a run on the shared 2-core machine, 126 s in all):
held-out -ELBO per digit, untrained 44.26, 44.63, 44.91 on seeds 1-3 (64 log 2 = 44.36).  Healthy: 21.95, 21.86,
22.03 (BCE 21.1-21.3 + KL 0.70-0.75: with the label given to the decoder, two latent dimensions carry under one nat;
training loss 43.9-44.6 over the first 5 steps -> 21.4-21.5 over the last 20; every loss finite; samples classified
1.000): healthy.  lr x10 (0.01): 21.49 (KL 0.68): healthy; lr x100 (0.1): 22.62 (seed 1: KL 0.001, the posterior
collapsed, the decoder draws each class's mean digit, samples 1.000; largest loss 134.8 > 2x the control's 44.3):
ambiguous, and 22.56 (seed 2: KL 0.002, largest loss 77.4): healthy; lr x1000 (1): the reconstruction is NaN at the
second step and binary_cross_entropy raises (one step recorded), NaN: broken; lr /1000 (1e-6): 44.00 (training loss
44.3 -> 44.0, samples 0.100): broken; raw 0..16 into the encoder: 22.02 and 21.90 (untrained 49.2 and 64.6, first
losses 46.5 and 53.6, largest 49.3 and 66.7; Adam's first steps absorb the scale): healthy on both seeds; the KLD
x100: 22.51 (KL 0.000: the posterior collapses to the prior and z is ignored, BCE 22.51 from the label alone, samples
1.000; only 0.56 nats worse, as the healthy model's latent carries under one nat): healthy; N(0, 1) weights: the
untrained KL is 3.9e12 and 8.9e14 (log_var in the tens, exp of it), the training loss falls from ~1e14 to ~1e10 and
the held-out -ELBO stays at 5.06e7 and 4.43e10 (BCE 288 and 465, samples 0.513 and 0.667): broken on both seeds;
encoder bias -10: 22.51 (KL 0.000: the dead encoder gives a constant posterior, the decoder works from the label as in
the KLD x100 run): healthy; no zero_grad: 24.26 (1.105x the control, samples 0.982): ambiguous; batch size 32:
21.76 (2700 steps): healthy; latent size 4: 22.05 (untrained 44.70): healthy.  Labels: 11 healthy (3 programs, 8
variants), 4 broken, 2 ambiguous.  The conditional decoder makes this program robust: every change that only stops
the latent from being used (KL x100, a dead encoder, lr x100) costs about half a nat, since the label tells the
decoder most of what the 8x8 digit is.
"""

# upstream's code is kept as written ("{:d}".format, type(...) == list)
# ruff: noqa: UP032, E721

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

import gradmedic

ARCH = "vae"
MONITOR_AT = ("watch(vae, optimizer, every=10) right after optimizer = torch.optim.Adam(vae.parameters(), "
              "lr=args.learning_rate); monitor.step(loss) right after loss.backward() (loss = (BCE summed + KLD) / "
              "x.size(0)), before optimizer.step()")

IMG = 8 * 8  # upstream: 28*28
HIDDEN = 64  # upstream: 256 (encoder_layer_sizes [784, 256], decoder_layer_sizes [256, 784])
EPOCHS = 60  # upstream: --epochs 10 (of MNIST's 938 batches)


# utils.py ---------------------------------------------------------------------------------------------------------
def idx2onehot(idx, n):

    assert torch.max(idx).item() < n

    if idx.dim() == 1:
        idx = idx.unsqueeze(1)
    onehot = torch.zeros(idx.size(0), n).to(idx.device)
    onehot.scatter_(1, idx, 1)

    return onehot


# models.py --------------------------------------------------------------------------------------------------------
class VAE(nn.Module):

    def __init__(self, encoder_layer_sizes, latent_size, decoder_layer_sizes,
                 conditional=False, num_labels=0):

        super().__init__()

        if conditional:
            assert num_labels > 0

        assert type(encoder_layer_sizes) == list
        assert type(latent_size) == int
        assert type(decoder_layer_sizes) == list

        self.latent_size = latent_size

        self.encoder = Encoder(
            encoder_layer_sizes, latent_size, conditional, num_labels)
        self.decoder = Decoder(
            decoder_layer_sizes, latent_size, conditional, num_labels)

    def forward(self, x, c=None):

        if x.dim() > 2:
            x = x.view(-1, IMG)  # upstream: x.view(-1, 28*28)

        means, log_var = self.encoder(x, c)
        z = self.reparameterize(means, log_var)
        recon_x = self.decoder(z, c)

        return recon_x, means, log_var, z

    def reparameterize(self, mu, log_var):

        std = torch.exp(0.5 * log_var)
        eps = torch.randn_like(std)

        return mu + eps * std

    def inference(self, z, c=None):

        recon_x = self.decoder(z, c)

        return recon_x


class Encoder(nn.Module):

    def __init__(self, layer_sizes, latent_size, conditional, num_labels):

        super().__init__()

        self.conditional = conditional
        if self.conditional:
            layer_sizes[0] += num_labels

        self.MLP = nn.Sequential()

        for i, (in_size, out_size) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:], strict=False)):
            self.MLP.add_module(
                name="L{:d}".format(i), module=nn.Linear(in_size, out_size))
            self.MLP.add_module(name="A{:d}".format(i), module=nn.ReLU())

        self.linear_means = nn.Linear(layer_sizes[-1], latent_size)
        self.linear_log_var = nn.Linear(layer_sizes[-1], latent_size)

    def forward(self, x, c=None):

        if self.conditional:
            c = idx2onehot(c, n=10)
            x = torch.cat((x, c), dim=-1)

        x = self.MLP(x)

        means = self.linear_means(x)
        log_vars = self.linear_log_var(x)

        return means, log_vars


class Decoder(nn.Module):

    def __init__(self, layer_sizes, latent_size, conditional, num_labels):

        super().__init__()

        self.MLP = nn.Sequential()

        self.conditional = conditional
        if self.conditional:
            input_size = latent_size + num_labels
        else:
            input_size = latent_size

        for i, (in_size, out_size) in enumerate(zip([input_size]+layer_sizes[:-1], layer_sizes, strict=False)):
            self.MLP.add_module(
                name="L{:d}".format(i), module=nn.Linear(in_size, out_size))
            if i+1 < len(layer_sizes):
                self.MLP.add_module(name="A{:d}".format(i), module=nn.ReLU())
            else:
                self.MLP.add_module(name="sigmoid", module=nn.Sigmoid())

    def forward(self, z, c):

        if self.conditional:
            c = idx2onehot(c, n=10)
            z = torch.cat((z, c), dim=-1)

        x = self.MLP(z)

        return x


# data -------------------------------------------------------------------------------------------------------------
def digits01():
    """scikit-learn's digits, 8x8 grey levels 0..16 divided by 16 (ToTensor's [0, 1]); 80/20 split, random_state=0."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)
    f = lambda a: torch.tensor(a, dtype=torch.float32)[:, None] / 16.0  # noqa: E731  (N, 1, 8, 8) as MNIST's
    return f(xtr), torch.tensor(ytr), f(xte), torch.tensor(yte)


_CLF = {}


def _sample_accuracy(vae, latent_size, n_per_class=100):
    """A logistic regression fit on the real training digits, scored on n_per_class decoder means per class
    (z ~ N(0, I) from a generator seeded 0): does the decoder draw the digit it is asked for?"""
    from sklearn.linear_model import LogisticRegression

    if "clf" not in _CLF:
        xtr, ytr, _, _ = digits01()
        _CLF["clf"] = LogisticRegression(max_iter=2000).fit(xtr.view(-1, IMG).numpy(), ytr.numpy())
    g = torch.Generator().manual_seed(0)
    c = torch.arange(10).repeat_interleave(n_per_class)
    z = torch.randn((c.size(0), latent_size), generator=g)
    with torch.no_grad():
        x = vae.inference(z, c=c)
    if not torch.isfinite(x).all():
        return float("nan")
    return float((_CLF["clf"].predict(x.numpy()) == c.numpy()).mean())


def _heldout(vae, x_in, x_target, y):
    """Upstream's loss_fn per held-out digit (BCE summed + KLD, / N): one z per digit with eps from a generator
    seeded 0 (the same noise for every run); x_in is what the program feeds the encoder, x_target the [0, 1] digit."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        means, log_var = vae.encoder(x_in.view(-1, IMG), y)
        std = torch.exp(0.5 * log_var)
        z = means + torch.randn(std.shape, generator=g) * std
        recon_x = vae.decoder(z, y)
        n = x_in.size(0)
        if not (torch.isfinite(recon_x).all() and torch.isfinite(log_var).all() and torch.isfinite(means).all()):
            return float("nan"), float("nan")
        bce = torch.nn.functional.binary_cross_entropy(recon_x, x_target.view(-1, IMG), reduction='sum').item() / n
        kld = (-0.5 * torch.sum(1 + log_var - means.pow(2) - log_var.exp())).item() / n
    return bce, kld


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, kl_weight: float = 1.0,
          init_std: float | None = None, enc_bias: float | None = None, zero_grad: bool = True,
          batch_size: int = 64, latent_size: int = 2, epochs: int = EPOCHS, every: int = 10,
          verbose: bool = False) -> dict:
    """``lr_mult``: Adam's lr times this; ``input_scale``: the encoder's input image times this (16: the raw 0..16
    grey levels; the BCE target stays the [0, 1] image); ``kl_weight``: the KLD term times this in loss_fn;
    ``init_std``: ``nn.init.normal_(std=init_std)`` on every Linear weight; ``enc_bias``: the encoder's hidden
    Linear (L0) bias filled with it; ``zero_grad=False``: no ``optimizer.zero_grad()``; ``batch_size`` and
    ``latent_size`` as upstream's arguments."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)  # upstream: torch.manual_seed(args.seed) (its default --seed 0)
    device = torch.device('cpu')  # upstream: cuda when available
    t_start = time.time()

    # upstream: MNIST(root='data', train=True, transform=transforms.ToTensor(), download=True)
    xtr, ytr, xte, yte = digits01()
    dataset = TensorDataset(xtr, ytr)
    data_loader = DataLoader(
        dataset=dataset, batch_size=batch_size, shuffle=True)

    def loss_fn(recon_x, x, mean, log_var):
        BCE = torch.nn.functional.binary_cross_entropy(
            recon_x.view(-1, IMG), x.view(-1, IMG), reduction='sum')  # upstream: view(-1, 28*28)
        KLD = -0.5 * torch.sum(1 + log_var - mean.pow(2) - log_var.exp())

        return (BCE + kl_weight * KLD) / x.size(0)  # upstream: (BCE + KLD) / x.size(0); kl_weight 1

    vae = VAE(
        encoder_layer_sizes=[IMG, HIDDEN],  # upstream: [784, 256]
        latent_size=latent_size,
        decoder_layer_sizes=[HIDDEN, IMG],  # upstream: [256, 784]
        conditional=True,  # upstream: --conditional
        num_labels=10).to(device)
    with torch.no_grad():  # the variants' inits (none upstream)
        for m in vae.modules():
            if isinstance(m, nn.Linear) and init_std is not None:
                nn.init.normal_(m.weight, 0.0, init_std)
        if enc_bias is not None:
            vae.encoder.MLP.L0.bias.fill_(enc_bias)

    optimizer = torch.optim.Adam(vae.parameters(), lr=1e-3 * lr_mult)  # upstream: lr=args.learning_rate (0.001)
    monitor = gradmedic.watch(vae, optimizer, every=every)  # gradmedic
    bce0, kld0 = _heldout(vae, xte * input_scale, xte, yte)

    logs = defaultdict(list)
    crash = None
    t0 = time.time()
    try:
        for epoch in range(epochs):

            for iteration, (x, y) in enumerate(data_loader):

                x, y = x.to(device), y.to(device)

                # upstream: recon_x, mean, log_var, z = vae(x, y) (the conditional branch)
                recon_x, mean, log_var, z = vae(x * input_scale, y)

                # upstream: the z of every example goes to tracker_epoch for a seaborn plot per epoch (left out)

                loss = loss_fn(recon_x, x, mean, log_var)

                if zero_grad:  # the no_zero_grad variant leaves this out
                    optimizer.zero_grad()
                loss.backward()
                monitor.step(loss)  # gradmedic
                optimizer.step()

                logs['loss'].append(loss.item())

                if verbose and epoch % 10 == 9 and iteration == len(data_loader)-1:  # upstream: every 100 batches
                    print("Epoch {:02d}/{:02d} Batch {:04d}/{:d}, Loss {:9.4f}".format(
                        epoch, epochs, iteration, len(data_loader)-1, loss.item()))
                # upstream: then vae.inference on one z per class and a matplotlib figure saved (left out)
    except RuntimeError as e:  # as upstream would: binary_cross_entropy refuses a NaN reconstruction; the script stops
        crash = f"step {len(logs['loss']) + 1}: {str(e).splitlines()[0]}"
    monitor.close()
    seconds = time.time() - t0

    vae.eval()
    bce, kld = _heldout(vae, xte * input_scale, xte, yte)
    value = float("nan") if crash else bce + kld
    initial = bce0 + kld0
    sample_acc = float("nan") if crash else _sample_accuracy(vae, latent_size)
    mean_img = xtr.view(-1, IMG).mean(0, keepdim=True).clamp(1e-7, 1 - 1e-7).expand(xte.size(0), IMG)
    bce_mean = torch.nn.functional.binary_cross_entropy(mean_img, xte.view(-1, IMG), reduction="sum").item() / xte.size(0)
    t = xte.view(-1, IMG).clamp(1e-7, 1 - 1e-7)
    floor = torch.nn.functional.binary_cross_entropy(t, xte.view(-1, IMG), reduction="sum").item() / xte.size(0)
    la = np.array(logs['loss'], dtype=float)
    if verbose:
        print(f"held-out -ELBO/digit {value:.3f} (BCE {bce:.3f} + KL {kld:.3f}) vs untrained {initial:.3f}; mean image "
              f"{bce_mean:.3f}, floor {floor:.3f}; samples classified {sample_acc:.3f}; {seconds:.1f}s")
    return {"monitors": {"": monitor}, "metric": "heldout_neg_elbo",
            "value": float(value) if np.isfinite(value) else float("nan"), "chance": float(bce_mean),
            "initial": float(initial),
            "initial_what": "the untrained model's held-out negative ELBO per digit (BCE summed over 64 pixels + KL)",
            "extra": {"heldout_bce": bce, "heldout_kl": kld, "initial_bce": bce0, "initial_kl": kld0,
                      "mean_image_bce": bce_mean, "target_entropy": floor, "sample_accuracy": sample_acc,
                      "steps": len(la), "epochs": epochs,
                      "train_loss": float(np.mean(la[-20:])) if len(la) else None,
                      "first_loss": float(np.mean(la[:5])) if len(la) else None,
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "crashed": crash, "lr": 1e-3 * lr_mult,
                      "input_scale": input_scale, "kl_weight": kl_weight,
                      "init_std": -1.0 if init_std is None else init_std,
                      "enc_bias": float("nan") if enc_bias is None else enc_bias, "zero_grad": zero_grad,
                      "batch_size": batch_size, "latent_size": latent_size},
            "seconds": time.time() - t_start}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="cvae", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"timbmg CVAE (encoder [64+10, {HIDDEN}] ReLU -> means/log_var 2, decoder [2+10, {HIDDEN}, 64] ReLU/Sigmoid; "
      f"(BCE sum + KLD) / batch; Adam lr 1e-3, batch 64, {EPOCHS} epochs of 1437 digits)")
CASES: list[dict] = (
    [_case(f"cvae_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"cvae_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("cvae_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 (1e-06)")]
    + [_case(f"cvae_raw_pixels_s{s}", "unscaled_inputs", s, {"input_scale": 16.0},
             f"{_P}: the raw 0..16 grey levels into the encoder (no ToTensor scaling); the BCE target kept in [0, 1] "
             "(binary_cross_entropy raises on a target above 1)") for s in (1, 2)]
    + [_case("cvae_kl_x100_s1", "wrong_loss", 1, {"kl_weight": 100.0},
             f"{_P}: the KLD term weighted x100 in loss_fn: (BCE + 100 * KLD) / x.size(0)")]
    + [_case(f"cvae_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every Linear weight (biases kept)") for s in (1, 2)]
    + [_case("cvae_enc_bias_neg10_s1", "dead_relu", 1, {"enc_bias": -10.0},
             f"{_P}: the encoder's hidden Linear (MLP.L0) bias filled with -10: its {HIDDEN} ReLUs are below zero "
             "for every digit")]
    + [_case("cvae_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out: the gradients accumulate")]
    + [_case("cvae_batch32_s1", "healthy", 1, {"batch_size": 32}, f"{_P}: --batch_size 32 instead of 64 "
             "(expected harmless)")]
    + [_case("cvae_latent4_s1", "healthy", 1, {"latent_size": 4}, f"{_P}: --latent_size 4 instead of 2 "
             "(expected harmless)")]
)


if __name__ == "__main__":
    import ast
    import sys

    kw = {k: ast.literal_eval(v) for k, v in (a.split("=") for a in sys.argv[1:])}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
