"""xqding's Importance Weighted Autoencoder (IWAE, one stochastic layer, k importance samples, tanh MLPs, Adam) on
binarized digits, watched by gradmedic.

Adapted from https://github.com/xqding/Importance_Weighted_Autoencoders (commit
56bc84c5b8d858d4c73a95a596f00fcd48504847, model/vae_models.py and MNIST/script/main_train.py; main_test.py for the
held-out bound).  The repository has no licence file and names no licence, so this port keeps to what is needed (no
LICENSE-iwae): ``MNIST_Dataset`` (dynamic binarization, ``np.random.binomial(1, image[idx])`` each time a digit is
drawn), ``BasicBlock`` and ``IWAE_1`` (its ``train_loss`` and ``test_loss``) are copied below; ``IWAE_2``, the
OMNIGLOT dataset and the MNIST download are left out; main_train.py's loop is written out in ``train()``.  Kept as
upstream: ``IWAE_1(50, .)`` (encoder ``BasicBlock``: Linear(., 200), Tanh, Linear(200, 200), Tanh, then ``fc_mu`` and
``fc_logsigma`` to 50, sigma = exp(log sigma); decoder Linear(50, 200), Tanh, Linear(200, 200), Tanh, Linear(200, .),
Sigmoid; PyTorch's default inits), ``vae.double()``, the reparameterized sample with its eps, ``train_loss``
(log w = log p(h) + log p(x|h) - log q(h|x) per sample, the normalized importance weights exp(log w - max) / sum
detached through ``Variable(weight.data)``, and the loss minus the batch mean of sum_k w~_k log w_k, whose gradient is
that of the IWAE bound log (1/k) sum_k w_k; the Bernoulli log-likelihood as ``torch.log(p)``/``torch.log(1-p)`` with no
clamp), the ``--model IWAE`` input ``inputs.expand(num_samples, batch_size, .)`` (and the ``--model VAE`` branch,
``repeat`` then ``expand(1, batch*k, .)``, kept but not used), ``optim.Adam(vae.parameters())`` at its defaults
(lr 1e-3, eps 1e-8; upstream has no lr schedule, unlike the paper's 3^i epochs of decreasing rate), a shuffled
DataLoader, and the loop (``optimizer.zero_grad()``, ``loss = vae.train_loss(inputs)``, ``loss.backward()``,
``optimizer.step()``; no clipping).

Changed to run offline on one CPU thread in ~20 s: MNIST (784 grey levels /255) is scikit-learn's ``load_digits``
(64 pixels, /16 to [0, 1]), a fixed split (permutation seeded 0) of 1500 training digits and 297 held out, dynamically
binarized as upstream; batch size 100 with drop_last (upstream 1000 of MNIST's 60000 images; 15 steps an epoch here,
60 upstream); NUM_EPOCHES = 30 epochs, 450 steps (upstream 5000 epochs; 40 epochs took 27 s here and reached the
same held-out bound within 0.1); k = 5 (upstream's --num_samples runs are 1, 5 and 50); ``torch.manual_seed(seed)``
and ``np.random.seed(seed)`` (upstream sets no seed); the CPU (upstream ``.cuda()``); no checkpoint every 1000
epochs, prints only with ``verbose``.  ``test_loss`` computes upstream's -mean log mean_k exp(log w) through
``torch.logsumexp`` (the same number without exp's underflow).
Knobs (one per variant): ``lr_mult`` scales Adam's lr; ``init_std``: ``nn.init.normal_(std=init_std)`` on every
Linear weight (biases kept); ``input_scale``: the binarized pixels are multiplied by it on their way into the encoder
(the Bernoulli likelihood still scores the 0/1 pixels); ``zero_grad=False`` leaves ``optimizer.zero_grad()`` out;
``sum_log_weights``: ``train_loss`` returns -mean over the batch of sum_k log w_k (the log weights summed instead of
upstream's importance-weighted / log-mean-exp form); ``num_samples``; ``batch_size``; ``model`` ("IWAE"/"VAE").

The watch, as a user would: ``monitor = gradmedic.watch(vae, optimizer, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the
loop.

Metric, ``heldout_neg_iwae_bound``: upstream's ``test_loss`` (minus the k-sample IWAE bound, nats per digit) at k = 5
(the healthy program's k, also for the k = 1 variant) on the 297 held-out digits, binarized once with a fixed
RandomState(1234) and with the encoder noise drawn under ``torch.manual_seed(0)`` (the same for every run; the
global RNGs restored after).  Its reference ("initial") is the same quantity for the untrained model (the run's own
initialization); ``chance`` is the Bernoulli entropy of the training set's mean image (27.09 nats: a model that
ignores its latent); ``extra`` has the bound at k = 50 too (upstream tests at k = 5000).

``CASES`` (program "iwae"): the program on seeds 1-3, and one change each against the same seed's healthy run: Adam
lr x10, x100, x1000, /1000; N(0, 1) Linear weights (seeds 1 and 2); pixels x100 into the encoder (seeds 1 and 2);
``optimizer.zero_grad()`` left out (seeds 1 and 2); and three changes expected harmless (cause "healthy"): the
summed log weights (k times the 5-sample VAE bound; with Adam's scale invariance this is upstream's own ``--model VAE
--num_samples 5``, a weaker but sound objective, so no cause names it), k = 1 in training (the VAE special case), and
batch size 50.  Labels come from run.py's outcome rules only.
Recorded (cases-public162; 7-23 s a run on the shared 2-core machine, 250 s in all): untrained held-out bound 44.88,
44.81, 44.52 on seeds 1-3 (first training loss 44.2; 64 log 2 = 44.4).  Healthy: 24.19, 24.26, 24.35 (k = 50: 23.79,
23.86, 23.86; first-5 training loss 43.2-43.7 -> last-20 23.7-23.9; every loss finite; 18-23 s): healthy.  lr x10
(0.01): 23.98 (largest loss 46.8): healthy; lr x100 (0.1): training losses up to 4e11, last-20 6.6e4, 68210: broken;
lr x1000 (1): every training loss NaN from the second step on, NaN: broken; lr /1000
(1e-6): 44.68 (training loss 44.4 -> 44.2): broken; N(0, 1) weights: every loss NaN from the first step and the
untrained bound NaN too (the sigmoid output saturates to exactly 1.0 in float64, (1 - x) * log(1 - p) = 0 * -inf),
NaN on both seeds: broken; pixels x100 into the encoder: 24.77 (seed 1) and 24.66 (seed 2), untrained 47.5 and
47.3: healthy; zero_grad left out: seed 1's training loss climbs to ~5000 (largest 5595), 4747: broken; seed 2's
turns NaN at step ~410 (largest finite 4372), NaN: broken; summed log weights: 24.20 (k = 50: 24.07; its training
loss is on a 5x scale, 223 -> 125): healthy; k = 1: 24.99 (k = 50: 24.80; 7 s): healthy; batch 50 (900 steps):
23.99: healthy.  Labels: 9 healthy (3 programs, lr x10, pixels x100 x2, summed log weights, k = 1, batch 50), 8
broken, 0 ambiguous.  Non-finite losses in lr x1000, both N(0, 1) runs and zero_grad seed 2.
"""

# upstream's code is kept as written (super(Class, self), Variable, str.format)
# ruff: noqa: UP008, UP032

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
from torch.autograd import Variable
from torch.utils.data import DataLoader, Dataset

import gradmedic

ARCH = "vae"
MONITOR_AT = ("watch(vae, optimizer, every=10) right after optimizer = optim.Adam(vae.parameters()); "
              "monitor.step(loss) right after loss.backward() (upstream's train_loss: minus the batch mean of the "
              "importance-weighted sum of the k log weights, the normalized weights detached), before "
              "optimizer.step()")

NUM_SAMPLES = 5        # upstream: --num_samples 5 (of its 1, 5, 50)
BATCH_SIZE = 100       # upstream: batch_size = 1000 (MNIST's 60000 images; 1500 digits here)
NUM_EPOCHES = 30       # upstream: num_epoches = 5000
DIM_H1 = 50            # upstream: IWAE_1(50, 784)
N_TRAIN = 1500


# ---- upstream model/vae_models.py (IWAE_1 and what it needs; IWAE_2 and OMNIGLOT_Dataset left out) ----

class MNIST_Dataset(Dataset):
    def __init__(self, image):
        super(MNIST_Dataset).__init__()
        self.image = image
    def __len__(self):  # noqa: E301
        return self.image.shape[0]
    def __getitem__(self, idx):  # noqa: E301
        return np.random.binomial(1, self.image[idx, :]).astype('float32')


class BasicBlock(nn.Module):
    def __init__(self, input_dim, hidden_dim, output_dim):
        super(BasicBlock, self).__init__()
        self.input_dim = input_dim
        self.hidden_dim = hidden_dim
        self.output_dim = output_dim
        self.transform = nn.Sequential(nn.Linear(input_dim, hidden_dim),
                                       nn.Tanh(),
                                       nn.Linear(hidden_dim, hidden_dim),
                                       nn.Tanh())
        self.fc_mu = nn.Linear(hidden_dim, output_dim)
        self.fc_logsigma = nn.Linear(hidden_dim, output_dim)

    def forward(self, x):
        out = self.transform(x)
        mu = self.fc_mu(out)
        logsigma = self.fc_logsigma(out)
        sigma = torch.exp(logsigma)
        return mu, sigma


class IWAE_1(nn.Module):
    def __init__(self, dim_h1, dim_image_vars, input_scale=1.0, sum_log_weights=False):
        super(IWAE_1, self).__init__()
        self.dim_h1 = dim_h1
        self.dim_image_vars = dim_image_vars
        self.input_scale = input_scale  # the unscaled_inputs variant (not upstream): x100 into the encoder only
        self.sum_log_weights = sum_log_weights  # the summed-log-weights variant (not upstream)

        ## encoder
        self.encoder_h1 = BasicBlock(dim_image_vars, 200, dim_h1)

        ## decoder
        self.decoder_x =  nn.Sequential(nn.Linear(dim_h1, 200),  # noqa: E222
                                        nn.Tanh(),
                                        nn.Linear(200, 200),
                                        nn.Tanh(),
                                        nn.Linear(200, dim_image_vars),
                                        nn.Sigmoid())

    def encoder(self, x):
        mu_h1, sigma_h1 = self.encoder_h1(x * self.input_scale)  # upstream: self.encoder_h1(x)
        eps = Variable(sigma_h1.data.new(sigma_h1.size()).normal_())
        h1 = mu_h1 + sigma_h1 * eps
        return h1, mu_h1, sigma_h1, eps

    def decoder(self, h1):
        p = self.decoder_x(h1)
        return p

    def forward(self, x):
        h1, mu_h1, sigma_h1, eps = self.encoder(x)
        p = self.decoder(h1)
        return (h1, mu_h1, sigma_h1, eps), (p)

    def train_loss(self, inputs):
        h1, mu_h1, sigma_h1, eps = self.encoder(inputs)
        #log_Qh1Gx = torch.sum(-0.5*((h1-mu_h1)/sigma_h1)**2 - torch.log(sigma_h1), -1)
        log_Qh1Gx = torch.sum(-0.5*(eps)**2 - torch.log(sigma_h1), -1)

        p = self.decoder(h1)
        log_Ph1 = torch.sum(-0.5*h1**2, -1)
        log_PxGh1 = torch.sum(inputs*torch.log(p) + (1-inputs)*torch.log(1-p), -1)

        if self.sum_log_weights:  # the bug: the k log weights summed (k x the VAE bound), not log-mean-exp'd
            return -torch.mean(torch.sum(log_Ph1 + log_PxGh1 - log_Qh1Gx, 0))
        log_weight = log_Ph1 + log_PxGh1 - log_Qh1Gx
        log_weight = log_weight - torch.max(log_weight, 0)[0]
        weight = torch.exp(log_weight)
        weight = weight / torch.sum(weight, 0)
        weight = Variable(weight.data, requires_grad = False)
        loss = -torch.mean(torch.sum(weight * (log_Ph1 + log_PxGh1 - log_Qh1Gx), 0))
        return loss

    def test_loss(self, inputs):
        h1, mu_h1, sigma_h1, eps = self.encoder(inputs)
        #log_Qh1Gx = torch.sum(-0.5*((h1-mu_h1)/sigma_h1)**2 - torch.log(sigma_h1), -1)
        log_Qh1Gx = torch.sum(-0.5*(eps)**2 - torch.log(sigma_h1), -1)

        p = self.decoder(h1)
        log_Ph1 = torch.sum(-0.5*h1**2, -1)
        log_PxGh1 = torch.sum(inputs*torch.log(p) + (1-inputs)*torch.log(1-p), -1)

        log_weight = log_Ph1 + log_PxGh1 - log_Qh1Gx
        # upstream: weight = torch.exp(log_weight); loss = -torch.mean(torch.log(torch.mean(weight, 0)))
        # (the same number, computed without exp's underflow for a badly trained model)
        loss = -torch.mean(torch.logsumexp(log_weight, 0) - math.log(log_weight.shape[0]))
        return loss


# ---- data: scikit-learn's digits in place of upstream's MNIST pickle ----

def digits_images():
    """(train_image, test_image): digits/16 as grey levels in [0, 1] (upstream: MNIST/255), a fixed split."""
    from sklearn.datasets import load_digits

    x = load_digits().data / 16.0
    perm = np.random.RandomState(0).permutation(len(x))
    return x[perm[:N_TRAIN]], x[perm[N_TRAIN:]]


def heldout_bound(vae, test_image, k, dim):
    """Minus the k-sample IWAE bound per held-out digit (upstream's test_loss), on one fixed binarization with the
    same encoder noise for every run (the global RNGs restored after)."""
    state, np_state = torch.get_rng_state(), np.random.get_state()
    torch.manual_seed(0)
    x = torch.tensor(np.random.RandomState(1234).binomial(1, test_image), dtype=torch.float64)
    with torch.no_grad():
        v = float(vae.test_loss(x.expand(k, x.shape[0], dim)))
    torch.set_rng_state(state)
    np.random.set_state(np_state)
    return v


def train(seed: int = 1, model: str = "IWAE", num_samples: int = NUM_SAMPLES, lr_mult: float = 1.0,
          init_std: float | None = None, input_scale: float = 1.0, zero_grad: bool = True,
          sum_log_weights: bool = False, batch_size: int = BATCH_SIZE, num_epoches: int = NUM_EPOCHES,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    t0 = time.time()
    torch.manual_seed(seed)  # upstream sets no seed
    np.random.seed(seed)
    train_image, test_image = digits_images()
    dim = train_image.shape[1]  # 64 (upstream: 784)

    train_data = MNIST_Dataset(train_image)
    train_data_loader = DataLoader(train_data, batch_size = batch_size,
                                   shuffle = True, drop_last = True)  # upstream: no drop_last (60000 / 1000)

    vae = IWAE_1(DIM_H1, dim, input_scale=input_scale, sum_log_weights=sum_log_weights)
    if init_std is not None:  # the bad-init variant: N(0, init_std) for every Linear weight (biases kept)
        for m in vae.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, init_std)
    vae.double()
    # vae.cuda()  (upstream; CPU here)
    initial = heldout_bound(vae, test_image, NUM_SAMPLES, dim)

    optimizer = torch.optim.Adam(vae.parameters(), lr=1e-3 * lr_mult)  # upstream: optim.Adam(vae.parameters())
    monitor = gradmedic.watch(vae, optimizer, every=every)  # gradmedic
    train_loss_epoch = []
    losses = []
    for epoch in range(num_epoches):
        running_loss = []
        for idx, data in enumerate(train_data_loader):
            data = data.double()
            inputs = Variable(data)  # upstream: .cuda()
            if model == "IWAE":
                inputs = inputs.expand(num_samples, batch_size, dim)
            elif model == "VAE":
                inputs = inputs.repeat(num_samples, 1)
                inputs = inputs.expand(1, batch_size*num_samples, dim)

            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            loss = vae.train_loss(inputs)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            if verbose and idx == 0 and epoch % 5 == 0:  # upstream: prints every step
                print(("Epoch: {:>4}, Step: {:>4}, loss: {:>4.2f}")
                      .format(epoch, idx, loss.item()), flush = True)
            running_loss.append(loss.item())
            losses.append(loss.item())

        train_loss_epoch.append(np.mean(running_loss))
        # upstream: torch.save(vae.state_dict(), ...) every 1000 epochs
    monitor.close()

    value = heldout_bound(vae, test_image, NUM_SAMPLES, dim)
    la = np.array(losses)
    mean_img = train_image.mean(0).clip(1e-6, 1 - 1e-6)
    chance = float(-np.sum(mean_img * np.log(mean_img) + (1 - mean_img) * np.log(1 - mean_img)))
    return {"monitors": {"": monitor}, "metric": "heldout_neg_iwae_bound",
            "value": value if math.isfinite(value) else float("nan"), "initial": initial,
            "initial_what": f"the untrained model's held-out negative IWAE bound (k={NUM_SAMPLES}) per digit",
            "chance": chance,
            "extra": {"train_loss": float(np.mean(la[-20:])), "first_loss": float(np.mean(la[:5])),
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "steps": len(la), "epochs": num_epoches,
                      "lr": 1e-3 * lr_mult, "lr_mult": lr_mult, "model": model, "num_samples": num_samples,
                      "batch_size": batch_size, "init_std": -1.0 if init_std is None else init_std,
                      "input_scale": input_scale, "zero_grad": zero_grad, "sum_log_weights": sum_log_weights,
                      "heldout_bound_k50": heldout_bound(vae, test_image, 50, dim)},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="iwae", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"IWAE_1 (tanh MLP encoder 64-200-200-(mu, log sigma) {DIM_H1}, decoder {DIM_H1}-200-200-64 sigmoid; k="
      f"{NUM_SAMPLES} importance samples; Adam lr 1e-3 default; batch {BATCH_SIZE}; {NUM_EPOCHES} epochs, float64)")
CASES: list[dict] = (
    [_case(f"iwae_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"iwae_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1,)), (1000, (1,))) for s in ss]
    + [_case("iwae_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 (1e-06)")]
    + [_case(f"iwae_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every Linear weight (encoder and decoder) instead of PyTorch's "
             f"default U(+-1/sqrt(fan_in)) (biases kept)") for s in (1, 2)]
    + [_case(f"iwae_inputs_x100_s{s}", "unscaled_inputs", s, {"input_scale": 100.0},
             f"{_P}: the binarized pixels multiplied by 100 on their way into the encoder (0/100 instead of 0/1; the "
             f"Bernoulli likelihood still scores the 0/1 pixels)") for s in (1, 2)]
    + [_case(f"iwae_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)") for s in (1, 2)]
    + [_case("iwae_sum_logw_s1", "healthy", 1, {"sum_log_weights": True},
             f"{_P}: train_loss sums the k log weights (-mean over the batch of sum_k log w) instead of upstream's "
             f"importance-weighted (log-mean-exp) form: k times the k-sample VAE bound, which Adam's scale "
             f"invariance makes upstream's own --model VAE --num_samples {NUM_SAMPLES}; no cause names it")]
    + [_case("iwae_k1_s1", "healthy", 1, {"num_samples": 1},
             f"{_P}: k=1 (the VAE special case) in training instead of k={NUM_SAMPLES}; the metric still at "
             f"k={NUM_SAMPLES} (expected harmless)")]
    + [_case("iwae_batch50_s1", "healthy", 1, {"batch_size": 50}, f"{_P}: batch size 50 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
