"""Nitarshan Rajkumar's Bayes by Backprop ("Weight Uncertainty in Neural Networks": a Bayesian MLP trained on the
ELBO), watched by gradmedic.

Adapted from https://github.com/nitarshan/bayes-by-backprop (commit 186d9193fe12ac361d6fc6f5065f45e15a947aec, the
master head; ``Weight Uncertainty in Neural Networks.ipynb``, the notebook of the article at
nitarshan.com/bayes-by-backprop).  The repository has no licence file and names no licence, so this port keeps to what
is needed (no LICENSE-bbbmlp): the notebook's code cells for the model, the ELBO, the training loop and
``test_ensemble``, copied below.  Kept as in the notebook: ``Gaussian`` (mu, rho, sigma = log1p(exp(rho)), the
reparameterized sample, the summed log-density), ``ScaleMixtureGaussian`` (PI 0.5, SIGMA_1 = e^0, SIGMA_2 = e^-6),
``BayesianLinear`` (weight_mu and bias_mu U(-0.2, 0.2), weight_rho and bias_rho U(-5, -4); sampled weights in
training, the means in eval; log_prior and log_variational_posterior of the sampled weights), ``BayesianNetwork``
(BayesianLinear in -> 400 -> 400 -> 10, ReLU, log_softmax), ``sample_elbo`` (SAMPLES = 2 weight samples, the mean
log-probabilities, ``(log_variational_posterior - log_prior)/NUM_BATCHES + nll_loss(outputs.mean(0), target)``
summed over the batch), ``optim.Adam(net.parameters())`` (lr 1e-3), BATCH_SIZE 100 shuffled, TEST_BATCH_SIZE 5,
TRAIN_EPOCHS 20, the loop (``net.zero_grad()``, ``sample_elbo``, ``loss.backward()``, ``optimizer.step()``; no
clipping), and ``test_ensemble`` (TEST_SAMPLES 10 sampled networks plus the posterior mean; its "Ensemble Accuracy",
the argmax of the mean of those 11 log-probabilities, is the metric; the posterior-mean accuracy goes to ``extra``).

Changed (each marked ``# upstream:``): the data - the notebook trains on FashionMNIST (28x28, downloaded; the brief
said MNIST, the notebook's data cell has FashionMNIST and MNIST only as its out-of-domain set); here scikit-learn's
bundled 8x8 digits, pixels / 16 in [0, 1] as ToTensor gives, split by the run's seed into 1500 training images (a
multiple of BATCH_SIZE, as the notebook asserts; NUM_BATCHES 15) and 295 test images (a multiple of TEST_BATCH_SIZE;
2 of the 1797 left out); so the first layer is BayesianLinear(64, 400) (hidden width 400 kept); the CPU
(SIGMA_1/SIGMA_2 torch.FloatTensor instead of torch.cuda.FloatTensor); ``size_average=False`` written as its
equivalent ``reduction='sum'``; the two prior Normals built with ``validate_args=False``, as the PyTorch of the
notebook (0.4) had them (today's default check raises a ValueError on NaN weights, lr x100, where the notebook's
PyTorch let the loss go NaN); the notebook's globals (BATCH_SIZE, NUM_BATCHES, SAMPLES) are attributes of the
network so that one process runs the variants; the seed goes to ``torch.manual_seed`` (the notebook is unseeded);
the notebook's ``train(net, optimizer, epoch)`` is inlined without tensorboardX histograms/scalars and tqdm; the plots
and the uncertainty cells are left out.  Note that the complexity cost dominates the loss, as in the notebook (here
KL/15 ~ 57000 per batch against a summed NLL of ~230 at the start; 190k weights for 1500 images).

The watch, as a user would: ``monitor = gradmedic.watch(net, optimizer, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the
loop.  Metric "accuracy": test_ensemble's ensemble accuracy on the 295 test digits (chance 0.1).

``CASES`` (program "bbbmlp"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10, x100 (seeds 1 and 2), x1000, /1000; the pixels x100 (0..100; seeds 1 and 2); weight_rho and bias_rho
drawn U(0, 1) instead of U(-5, -4) (sigma ~1 instead of ~0.013; cause init_large; seeds 1 and 2); weight_mu drawn
N(0, 1) instead of U(-0.2, 0.2) (init_large; seeds 1 and 2); the complexity cost not divided by NUM_BATCHES (the
prior over-weighted 15x; cause "init_small", as hfner.py's weight_decay 10: the weights pulled toward the prior);
``net.zero_grad()`` left out (seeds 1 and 2); and two changes expected harmless: BATCH_SIZE 50 (NUM_BATCHES 30) and
SAMPLES 1 (cause "healthy").  Labels come from run.py's outcome rules only.
Recorded (cases-public108; 14-31 s a run, 5 s for SAMPLES 1, ~6 min in all on two shared CPU cores): healthy
ensemble accuracy 0.966, 0.986, 0.966 on seeds 1-3 (loss, KL/15 + summed NLL, 57570 over the first 5 steps -> 44400-
44900 over the last 20; NLL per image 2.2-2.5 -> 0.02; posterior-mean accuracy the same; every loss finite): healthy.
lr x10: 0.966 (NLL per image 0.23 at the end): healthy; lr x100: seed 1 goes NaN (108 of 300 losses non-finite),
0.136: broken; seed 2 stays finite (largest loss 71600, NLL per image 2.8 at the end), 0.654: broken; lr x1000:
first losses 3.4e6, inf and NaN (292 non-finite), 0.136: broken; lr /1000: NLL per image 3.2 -> 2.9, 0.115: broken;
pixels x100: first NLL per image 143 and 83, largest loss 81600 and 70900 (under 2x the control's 57800), 0.953 and
0.986: healthy (Adam and the noisy weights absorb it); rho U(0, 1): NLL per image 1240 -> 820-860, 0.112 and 0.098:
broken; weight_mu N(0, 1): first NLL per image 1190 and 1790, largest loss 205000 and 266000, 0.905 and 0.925:
ambiguous (worse by 6 points, under 10, and the largest loss over 2x the control's); KL not divided: loss 860000 ->
562000 (15x the control's), NLL per image 0.20 at the end, 0.953: ambiguous (accuracy not clearly lower, the loss
over 2x the control's); zero_grad left out: NLL per image 2.1 and 1.5 at the end, 0.719 and 0.820: broken; BATCH_SIZE
50: 0.973: healthy; SAMPLES 1: 0.963: healthy.  Labels: 8 healthy (3 programs, lr x10, pixels x100 twice, batch 50,
SAMPLES 1), 8 broken, 3 ambiguous.  The healthy, lr x10 runs were recorded before ``validate_args=False`` was added
(no number changes where the weights are finite).
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(net, optimizer, every=10) right after optimizer = optim.Adam(net.parameters()); monitor.step(loss) "
              "right after loss.backward() (loss: the notebook's sample_elbo, (log q - log P) / NUM_BATCHES plus the "
              "summed nll_loss of the batch, over SAMPLES = 2 weight samples), before optimizer.step() "
              "(net.zero_grad() comes before sample_elbo, the notebook's order; no clipping)")

DEVICE = torch.device("cpu")  # upstream: "cuda" if torch.cuda.is_available() else "cpu"

BATCH_SIZE = 100
TEST_BATCH_SIZE = 5
TRAIN_SIZE_DIGITS = 1500  # upstream: FashionMNIST's 60000 training images (here: scikit-learn's 8x8 digits)
HIDDEN = 400  # upstream: 400
IN_FEATURES = 8 * 8  # upstream: 28*28

CLASSES = 10
TRAIN_EPOCHS = 20
SAMPLES = 2
TEST_SAMPLES = 10

PI = 0.5
SIGMA_1 = torch.FloatTensor([math.exp(-0)])  # upstream: torch.cuda.FloatTensor
SIGMA_2 = torch.FloatTensor([math.exp(-6)])  # upstream: torch.cuda.FloatTensor


def digits_data(seed=1):
    """scikit-learn's 8x8 digits as the notebook's ToTensor gives images (pixels / 16 in [0, 1]), split by the seed:
    1500 for training (a multiple of BATCH_SIZE, as the notebook asserts) and 295 for testing (a multiple of
    TEST_BATCH_SIZE; the other 2 of the 1797 are left out)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)  # upstream: transforms.ToTensor() (pixels / 255)
    y = d.target.astype(np.int64)
    idx = np.random.RandomState(seed).permutation(len(y))
    tr, te = idx[:TRAIN_SIZE_DIGITS], idx[TRAIN_SIZE_DIGITS:TRAIN_SIZE_DIGITS + 295]
    return x[tr], y[tr], x[te], y[te]


class Gaussian(object):  # noqa: UP004 (as in the notebook)
    def __init__(self, mu, rho):
        super().__init__()
        self.mu = mu
        self.rho = rho
        self.normal = torch.distributions.Normal(0,1)

    @property
    def sigma(self):
        return torch.log1p(torch.exp(self.rho))

    def sample(self):
        epsilon = self.normal.sample(self.rho.size()).to(DEVICE)
        return self.mu + self.sigma * epsilon

    def log_prob(self, input):
        return (-math.log(math.sqrt(2 * math.pi))
                - torch.log(self.sigma)
                - ((input - self.mu) ** 2) / (2 * self.sigma ** 2)).sum()


class ScaleMixtureGaussian(object):  # noqa: UP004 (as in the notebook)
    def __init__(self, pi, sigma1, sigma2):
        super().__init__()
        self.pi = pi
        self.sigma1 = sigma1
        self.sigma2 = sigma2
        # upstream: Normal(0,sigma1), Normal(0,sigma2); validate_args=False as the PyTorch of the notebook (0.4) had it:
        # today's default check raises on NaN weights (lr x100) instead of letting the loss go NaN
        self.gaussian1 = torch.distributions.Normal(0,sigma1, validate_args=False)
        self.gaussian2 = torch.distributions.Normal(0,sigma2, validate_args=False)

    def log_prob(self, input):
        prob1 = torch.exp(self.gaussian1.log_prob(input))
        prob2 = torch.exp(self.gaussian2.log_prob(input))
        return (torch.log(self.pi * prob1 + (1-self.pi) * prob2)).sum()


class BayesianLinear(nn.Module):
    def __init__(self, in_features, out_features, rho_init=(-5, -4), mu_normal=False):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        # Weight parameters
        self.weight_mu = nn.Parameter(torch.Tensor(out_features, in_features).uniform_(-0.2, 0.2))
        if mu_normal:  # the init_large variant: weight_mu drawn N(0, 1) instead of U(-0.2, 0.2)
            with torch.no_grad():
                self.weight_mu.normal_(0, 1)
        # upstream: .uniform_(-5,-4); the rho_large variant passes (0, 1)
        self.weight_rho = nn.Parameter(torch.Tensor(out_features, in_features).uniform_(*rho_init))
        self.weight = Gaussian(self.weight_mu, self.weight_rho)
        # Bias parameters
        self.bias_mu = nn.Parameter(torch.Tensor(out_features).uniform_(-0.2, 0.2))
        self.bias_rho = nn.Parameter(torch.Tensor(out_features).uniform_(*rho_init))  # upstream: .uniform_(-5,-4)
        self.bias = Gaussian(self.bias_mu, self.bias_rho)
        # Prior distributions
        self.weight_prior = ScaleMixtureGaussian(PI, SIGMA_1, SIGMA_2)
        self.bias_prior = ScaleMixtureGaussian(PI, SIGMA_1, SIGMA_2)
        self.log_prior = 0
        self.log_variational_posterior = 0

    def forward(self, input, sample=False, calculate_log_probs=False):
        if self.training or sample:
            weight = self.weight.sample()
            bias = self.bias.sample()
        else:
            weight = self.weight.mu
            bias = self.bias.mu
        if self.training or calculate_log_probs:
            self.log_prior = self.weight_prior.log_prob(weight) + self.bias_prior.log_prob(bias)
            self.log_variational_posterior = self.weight.log_prob(weight) + self.bias.log_prob(bias)
        else:
            self.log_prior, self.log_variational_posterior = 0, 0

        return F.linear(input, weight, bias)


class BayesianNetwork(nn.Module):
    # upstream: no arguments (the sizes, BATCH_SIZE, NUM_BATCHES and SAMPLES are the notebook's globals; here they
    # are attributes so that one process can run the variants)
    def __init__(self, hidden=HIDDEN, batch_size=BATCH_SIZE, num_batches=None, samples=SAMPLES,
                 kl_per_batch=True, **layer_kw):
        super().__init__()
        self.batch_size, self.num_batches, self.samples = batch_size, num_batches, samples
        self.kl_per_batch = kl_per_batch
        self.l1 = BayesianLinear(IN_FEATURES, hidden, **layer_kw)  # upstream: BayesianLinear(28*28, 400)
        self.l2 = BayesianLinear(hidden, hidden, **layer_kw)  # upstream: BayesianLinear(400, 400)
        self.l3 = BayesianLinear(hidden, 10, **layer_kw)  # upstream: BayesianLinear(400, 10)

    def forward(self, x, sample=False):
        x = x.view(-1, IN_FEATURES)  # upstream: x.view(-1, 28*28)
        x = F.relu(self.l1(x, sample))
        x = F.relu(self.l2(x, sample))
        x = F.log_softmax(self.l3(x, sample), dim=1)
        return x

    def log_prior(self):
        return self.l1.log_prior \
               + self.l2.log_prior \
               + self.l3.log_prior

    def log_variational_posterior(self):
        return self.l1.log_variational_posterior \
               + self.l2.log_variational_posterior \
               + self.l3.log_variational_posterior

    def sample_elbo(self, input, target, samples=None):  # upstream: samples=SAMPLES
        samples = self.samples if samples is None else samples
        outputs = torch.zeros(samples, self.batch_size, CLASSES).to(DEVICE)  # upstream: BATCH_SIZE
        log_priors = torch.zeros(samples).to(DEVICE)
        log_variational_posteriors = torch.zeros(samples).to(DEVICE)
        for i in range(samples):
            outputs[i] = self(input, sample=True)
            log_priors[i] = self.log_prior()
            log_variational_posteriors[i] = self.log_variational_posterior()
        log_prior = log_priors.mean()
        log_variational_posterior = log_variational_posteriors.mean()
        # upstream: size_average=False (deprecated; the same sum)
        negative_log_likelihood = F.nll_loss(outputs.mean(0), target, reduction='sum')
        if self.kl_per_batch:
            loss = (log_variational_posterior - log_prior)/self.num_batches + negative_log_likelihood  # upstream
        else:  # the kl_full variant: the complexity cost not divided by NUM_BATCHES (counted once per minibatch)
            loss = (log_variational_posterior - log_prior) + negative_log_likelihood
        return loss, log_prior, log_variational_posterior, negative_log_likelihood


def test_ensemble(net, test_loader, test_size):
    """The notebook's test_ensemble, returning its numbers instead of printing them."""
    net.eval()
    correct = 0
    corrects = np.zeros(TEST_SAMPLES+1, dtype=int)
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(DEVICE), target.to(DEVICE)
            outputs = torch.zeros(TEST_SAMPLES+1, TEST_BATCH_SIZE, CLASSES).to(DEVICE)
            for i in range(TEST_SAMPLES):
                outputs[i] = net(data, sample=True)
            outputs[TEST_SAMPLES] = net(data, sample=False)
            output = outputs.mean(0)
            preds = preds = outputs.max(2, keepdim=True)[1]
            pred = output.max(1, keepdim=True)[1] # index of max log-probability
            corrects += preds.eq(target.view_as(pred)).sum(dim=1).squeeze().cpu().numpy()
            correct += pred.eq(target.view_as(pred)).sum().item()
    return correct / test_size, corrects[TEST_SAMPLES] / test_size, corrects[:TEST_SAMPLES] / test_size


def train(seed: int = 1, lr_mult: float = 1.0, feature_scale: float = 1.0, zero_grad: bool = True,
          rho_init: tuple = (-5, -4), mu_normal: bool = False, kl_per_batch: bool = True,
          batch_size: int = BATCH_SIZE, samples: int = SAMPLES, hidden: int = HIDDEN, epochs: int = TRAIN_EPOCHS,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)  # upstream: unseeded
    t0 = time.time()
    x_tr, y_tr, x_te, y_te = digits_data(seed)
    x_tr, x_te = x_tr * feature_scale, x_te * feature_scale  # the unscaled_inputs variant: x100
    train_set = torch.utils.data.TensorDataset(torch.from_numpy(x_tr), torch.from_numpy(y_tr))
    test_set = torch.utils.data.TensorDataset(torch.from_numpy(x_te), torch.from_numpy(y_te))
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=batch_size, shuffle=True)
    test_loader = torch.utils.data.DataLoader(test_set, batch_size=TEST_BATCH_SIZE, shuffle=False)
    TRAIN_SIZE = len(train_loader.dataset)
    TEST_SIZE = len(test_loader.dataset)
    NUM_BATCHES = len(train_loader)
    assert (TRAIN_SIZE % batch_size) == 0
    assert (TEST_SIZE % TEST_BATCH_SIZE) == 0

    net = BayesianNetwork(hidden=hidden, batch_size=batch_size, num_batches=NUM_BATCHES, samples=samples,
                          kl_per_batch=kl_per_batch, rho_init=rho_init, mu_normal=mu_normal).to(DEVICE)
    lr = 1e-3 * lr_mult  # upstream: optim.Adam(net.parameters()) (Adam's default lr 1e-3)
    optimizer = optim.Adam(net.parameters(), lr=lr)
    monitor = gradmedic.watch(net, optimizer, every=every)  # gradmedic

    losses, nlls, kls = [], [], []
    for epoch in range(epochs):
        # the notebook's train(net, optimizer, epoch), inlined; no tensorboard histograms or scalars, no tqdm
        net.train()
        for batch_idx, (data, target) in enumerate(train_loader):  # noqa: B007 (as in the notebook)
            data, target = data.to(DEVICE), target.to(DEVICE)
            if zero_grad:  # the no_zero_grad variant leaves this out
                net.zero_grad()
            loss, log_prior, log_variational_posterior, negative_log_likelihood = net.sample_elbo(data, target)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(float(loss.detach()))
            nlls.append(float(negative_log_likelihood.detach()))
            kls.append(float((log_variational_posterior - log_prior).detach()))
        if verbose:
            print(f"epoch {epoch} loss {np.mean(losses[-NUM_BATCHES:]):.1f} nll/batch {np.mean(nlls[-NUM_BATCHES:]):.2f} "
                  f"kl {np.mean(kls[-NUM_BATCHES:]):.0f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()

    ens_acc, mean_acc, comp_acc = test_ensemble(net, test_loader, TEST_SIZE)
    la = np.array(losses)
    fin = np.isfinite(la)
    with torch.no_grad():
        sig = [float(F.softplus(m.weight_rho).mean()) for m in (net.l1, net.l2, net.l3)]
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(ens_acc), "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(lr=lr, train_loss=float(np.mean(la[-20:])), first_loss=float(np.mean(la[:5])),
                          max_loss=float(np.nanmax(la)) if fin.any() else float("nan"), finite_losses=bool(fin.all()),
                          train_nll=float(np.mean(nlls[-20:])) / batch_size, first_nll=float(np.mean(nlls[:5])) / batch_size,
                          train_kl=float(np.mean(kls[-20:])), first_kl=float(np.mean(kls[:5])),
                          posterior_mean_acc=float(mean_acc), component_acc_mean=float(np.mean(comp_acc)),
                          sigma_mean_l1=sig[0], sigma_mean_l2=sig[1], sigma_mean_l3=sig[2],
                          steps=len(losses), epochs=epochs, num_batches=NUM_BATCHES, batch_size=batch_size,
                          samples=samples, hidden=hidden, lr_mult=lr_mult, feature_scale=feature_scale,
                          zero_grad=zero_grad, rho_lo=float(rho_init[0]), rho_hi=float(rho_init[1]),
                          mu_normal=mu_normal, kl_per_batch=kl_per_batch, train_size=TRAIN_SIZE, test_size=TEST_SIZE),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="bbbmlp", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"Bayes by Backprop (BayesianLinear 64 -> {HIDDEN} -> {HIDDEN} -> 10, ReLU, log_softmax; scale-mixture prior; "
      f"ELBO over SAMPLES={SAMPLES}, complexity cost / NUM_BATCHES; Adam lr 1e-3, batch {BATCH_SIZE}, "
      f"{TRAIN_EPOCHS} epochs of 1500 digits)")
CASES: list[dict] = (
    [_case(f"bbbmlp_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"bbbmlp_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("bbbmlp_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 (1e-06)")]
    + [_case(f"bbbmlp_features_x100_s{s}", "unscaled_inputs", s, {"feature_scale": 100.0},
             f"{_P}: the pixels x100 (0..100 instead of ToTensor's 0..1)") for s in (1, 2)]
    + [_case(f"bbbmlp_rho_large_s{s}", "init_large", s, {"rho_init": (0, 1)},
             f"{_P}: weight_rho and bias_rho drawn U(0, 1) instead of U(-5, -4) (sigma = softplus(rho) 0.69-1.31 "
             "instead of 0.007-0.018: weight noise far larger than the weights)") for s in (1, 2)]
    + [_case(f"bbbmlp_mu_normal_s{s}", "init_large", s, {"mu_normal": True},
             f"{_P}: weight_mu drawn N(0, 1) instead of U(-0.2, 0.2)") for s in (1, 2)]
    + [_case("bbbmlp_kl_full_s1", "init_small", 1, {"kl_per_batch": False},
             f"{_P}: the complexity cost (log q - log P) not divided by NUM_BATCHES (the prior weighted "
             "NUM_BATCHES = 15 times over: the weights pulled toward the prior, as by a too-strong weight decay)")]
    + [_case(f"bbbmlp_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: net.zero_grad() left out (the gradients accumulate)") for s in (1, 2)]
    + [_case("bbbmlp_batch50_s1", "healthy", 1, {"batch_size": 50},
             f"{_P}: BATCH_SIZE 50 (NUM_BATCHES 30; expected harmless)")]
    + [_case("bbbmlp_samples1_s1", "healthy", 1, {"samples": 1},
             f"{_P}: SAMPLES 1 instead of 2 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
