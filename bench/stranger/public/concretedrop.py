"""Yarin Gal's Concrete Dropout (learned dropout rates, a heteroscedastic regression on 1-D toy data), watched by
gradmedic.

Adapted from https://github.com/yaringal/ConcreteDropout (commit 0cb396d07696e537d831fba0102920d927c91750,
concrete-dropout-pytorch.ipynb; MIT License, see LICENSE-concretedrop).  Copied below from the notebook's cells:
``ConcreteDropout`` (p = sigmoid(p_logit), p_logit initialised at logit(0.1); the relaxed Bernoulli mask with eps 1e-7
and temperature 0.1, the input rescaled by 1/(1 - p); the weight regulariser ``weight_regularizer * sum of squares /
(1 - p)`` of the wrapped layer's parameters and the dropout regulariser ``dropout_regularizer * input_dim * (p log p +
(1 - p) log(1 - p))``), ``Model`` (three ConcreteDropout-wrapped Linear+ReLU hidden layers 1 -> nb_features ->
nb_features -> nb_features, and ConcreteDropout-wrapped ``linear4_mu`` and ``linear4_logvar`` heads; PyTorch's
default inits; the five regularisers summed), ``heteroscedastic_loss``, ``gen_data`` (Y = 2 X + 8 + N(0, 1), X ~
N(0, 1)), ``fit_model`` (wr = l**2 / N with l = 1e-4, dr = 2 / N, ``optim.Adam(model.parameters())`` at its
default lr 1e-3, batch_size 20 in order without shuffling, ``optimizer.zero_grad()`` / ``loss.backward()`` /
``optimizer.step()``, no clipping), K_test 20 MC samples, nb_val_size 1000, and ``test`` (the MC predictive
log-likelihood per point and the RMSE of the MC-averaged mean).  Kept too, as the notebook has it: ``fit_model``
never advances ``old_batch``, so its batch k of an epoch is X[0: 20 k], the first 20, 40, ..., N points (the batches
grow to the whole training set, 50 steps an epoch for N = 1000).  The notebook's experiment loops over N in (10, 25,
50, 100, 1000, 10000) with nb_epochs (2000, 1000, 500, 200, 20, 2) and 3 repetitions; this port runs its N = 1000
setting (the notebook's printed result for it, 20 epochs of width 1024: RMSE 1.036, dropout rates 0.056 for the
first layer and 0.23 for the others; the port with upstream's sizes reproduced it, RMSE 1.045, p 0.054 and 0.23,
but took 290 s on this machine).

Changed (each marked ``# upstream:``): one setting (N 1000) instead of the loop over six N and 3 repetitions;
NB_EPOCH 5 instead of 20 (250 steps) and nb_features 256 instead of 1024 (same depth, ReLU, the five ConcreteDropout
wrappers): at width 1024 one step took ~67 ms and one K_test evaluation ~5 s on the loaded shared CPU, so even two
epochs (100 steps) ran ~40 s, where width 256 and 5 epochs run 10-18 s and reach the same RMSE (1.06; the dropout
rates have moved less far from their 0.1 start: 0.08-0.09 and 0.11-0.12); the CPU instead of ``.cuda()``;
``Variable`` dropped (a no-op in today's PyTorch); the run's seed goes to ``np.random.seed`` and ``torch.manual_seed``
(upstream 0 for both); ``test`` is given Y_val instead of reading the global; the evaluation runs under
``torch.no_grad()``; the plots and the pickle are left out.

Knobs (one per variant): ``lr_mult`` scales Adam's rate; ``input_scale`` multiplies X (training and validation);
``target_scale`` multiplies Y (training and validation; the metric is divided by it, back to the units of Y);
``init_std`` draws every Linear weight from N(0, init_std) instead of PyTorch's default U(+-1/sqrt(fan_in));
``dead_bias`` sets the three hidden Linear biases to that constant; ``zero_grad=False`` leaves
``optimizer.zero_grad()`` out; ``batch_size`` and ``nb_features`` replace 20 and 256.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the
loop.  Metric "rmse": the notebook's held-out RMSE of the mean prediction averaged over K_test = 20 MC dropout
samples on the 1000 validation points (Y's noise has std 1, so ~1.0 is the floor; a constant prediction of the mean
scores ~2.2).  The RMSE rather than the predictive log-likelihood because it is positive with a known floor, so
run.py's ratio rules (half the control, 0.7x the start) mean what they say, where a log-likelihood crosses zero; and
the notebook's ``test`` sums the log-likelihood over the K_test samples before its logsumexp over what is by then a
scalar, so its "per point" value is ~20x the mean per-sample log-likelihood (-33.6 for a healthy run); it goes to
``extra`` as ``val_ll_per_point``, as computed.  ``initial``: the same RMSE of the untrained model (8.2-8.4: it
predicts ~0 where Y has mean 8), computed before training with the torch RNG state restored afterwards, so the
training run draws the same masks as without it.

``CASES`` (program "concretedrop"): the program on seeds 1-3, and one change each against the same seed's healthy
run: Adam lr x10, x100 (seeds 1 and 2), x1000, /1000; X x100 (seeds 1 and 2); Y x100 (seeds 1 and 2); every Linear
weight N(0, 1) (seeds 1 and 2); the hidden biases -10 (dead ReLUs); ``optimizer.zero_grad()`` left out (seeds 1 and
2); and two changes expected harmless: batch_size 40 and nb_features 512 (cause "healthy").  Labels come from run.py's
outcome rules only.
Recorded (cases-public134; 6-18 s a run, 265 s in all, on two CPU cores shared with other jobs, load 5-7): healthy
RMSE 1.064, 1.056, 1.065 on seeds 1-3 (untrained 8.40, 8.26, 8.17; loss, heteroscedastic + regularisers, 36.6-46.8
over the first 5 steps -> 0.73-0.78 over the last 20, largest 59-76; every loss finite): healthy. lr x10: 1.055
(largest loss 59.5, the control's): healthy; lr x100: losses inf/NaN from the first steps (172 and 246 of 250
non-finite), NaN: broken (seeds 1 and 2); lr x1000: 248 of 250 non-finite, NaN: broken; lr /1000: loss 60.9 -> 59.5,
8.379 (the dropout rates still 0.100): broken; X x100: seed 1 loss 28.6 -> 3.9, 5.183, broken; seed 2 loss 1.1e6 over
the first 5 steps, largest 7.9e11, 518.8, broken (untrained RMSE 6.98 and 11.2); Y x100: loss 3.7e5-4.7e5 -> 15, 8.246
and 8.164 in Y's units (Adam's 1e-3 steps do not carry the outputs to ~800 in 250 steps): broken; init N(0, 1):
untrained RMSE 1620 and 1344, every or all but one loss non-finite, NaN: broken (seeds 1 and 2); hidden biases -10:
loss 63.5 -> 50.4 (only the heads' biases learn), 8.195: broken; zero_grad left out: 11.54 and 6.041 (loss 37-47 ->
11.3 and 3.9, aleatoric std ~1e6-1e7): broken; batch_size 40 (125 steps of X[0: 40 k]): 1.070: healthy; nb_features
512: 1.057: healthy.
Labels: 6 healthy (3 programs, lr x10, batch 40, width 512), 13 broken, 0 ambiguous.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn, optim

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = optim.Adam(model.parameters()); "
              "monitor.step(loss) right after loss.backward() (loss: heteroscedastic_loss + the summed concrete-dropout "
              "regularisers), before optimizer.step() (optimizer.zero_grad() comes before the backward, the notebook's "
              "order; no clipping)")

N = 1000  # upstream: Ns = [10, 25, 50, 100, 1000, 10000], one run per N (and 3 repetitions)
NB_EPOCH = 5  # upstream: nb_epochs = [2000, 1000, 500, 200, 20, 2] (20 for N = 1000)
nb_val_size = 1000  # Validation size
nb_features = 256  # Hidden layer size  # upstream: 1024
Q = 1  # Data dimensionality
D = 1  # One mean, one log_var
K_test = 20  # Number of MC samples
batch_size = 20
l = 1e-4  # Lengthscale  # noqa: E741 (as in the notebook)


class ConcreteDropout(nn.Module):
    def __init__(self, weight_regularizer=1e-6,
                 dropout_regularizer=1e-5, init_min=0.1, init_max=0.1):
        super(ConcreteDropout, self).__init__()  # noqa: UP008 (as in the notebook)

        self.weight_regularizer = weight_regularizer
        self.dropout_regularizer = dropout_regularizer

        init_min = np.log(init_min) - np.log(1. - init_min)
        init_max = np.log(init_max) - np.log(1. - init_max)

        self.p_logit = nn.Parameter(torch.empty(1).uniform_(init_min, init_max))

    def forward(self, x, layer):
        p = torch.sigmoid(self.p_logit)

        out = layer(self._concrete_dropout(x, p))

        sum_of_square = 0
        for param in layer.parameters():
            sum_of_square += torch.sum(torch.pow(param, 2))

        weights_regularizer = self.weight_regularizer * sum_of_square / (1 - p)

        dropout_regularizer = p * torch.log(p)
        dropout_regularizer += (1. - p) * torch.log(1. - p)

        input_dimensionality = x[0].numel()  # Number of elements of first item in batch
        dropout_regularizer *= self.dropout_regularizer * input_dimensionality

        regularization = weights_regularizer + dropout_regularizer
        return out, regularization

    def _concrete_dropout(self, x, p):
        eps = 1e-7
        temp = 0.1

        unif_noise = torch.rand_like(x)

        drop_prob = (torch.log(p + eps)
                     - torch.log(1 - p + eps)
                     + torch.log(unif_noise + eps)
                     - torch.log(1 - unif_noise + eps))

        drop_prob = torch.sigmoid(drop_prob / temp)
        random_tensor = 1 - drop_prob
        retain_prob = 1 - p

        x = torch.mul(x, random_tensor)
        x /= retain_prob

        return x


class Model(nn.Module):
    def __init__(self, nb_features, weight_regularizer, dropout_regularizer):
        super(Model, self).__init__()  # noqa: UP008 (as in the notebook)
        self.linear1 = nn.Linear(1, nb_features)
        self.linear2 = nn.Linear(nb_features, nb_features)
        self.linear3 = nn.Linear(nb_features, nb_features)

        self.linear4_mu = nn.Linear(nb_features, 1)
        self.linear4_logvar = nn.Linear(nb_features, 1)

        self.conc_drop1 = ConcreteDropout(weight_regularizer=weight_regularizer,
                                          dropout_regularizer=dropout_regularizer)
        self.conc_drop2 = ConcreteDropout(weight_regularizer=weight_regularizer,
                                          dropout_regularizer=dropout_regularizer)
        self.conc_drop3 = ConcreteDropout(weight_regularizer=weight_regularizer,
                                          dropout_regularizer=dropout_regularizer)
        self.conc_drop_mu = ConcreteDropout(weight_regularizer=weight_regularizer,
                                            dropout_regularizer=dropout_regularizer)
        self.conc_drop_logvar = ConcreteDropout(weight_regularizer=weight_regularizer,
                                                dropout_regularizer=dropout_regularizer)

        self.relu = nn.ReLU()

    def forward(self, x):
        regularization = torch.empty(5, device=x.device)

        x1, regularization[0] = self.conc_drop1(x, nn.Sequential(self.linear1, self.relu))
        x2, regularization[1] = self.conc_drop2(x1, nn.Sequential(self.linear2, self.relu))
        x3, regularization[2] = self.conc_drop3(x2, nn.Sequential(self.linear3, self.relu))

        mean, regularization[3] = self.conc_drop_mu(x3, self.linear4_mu)
        log_var, regularization[4] = self.conc_drop_logvar(x3, self.linear4_logvar)

        return mean, log_var, regularization.sum()


def heteroscedastic_loss(true, mean, log_var):
    precision = torch.exp(-log_var)
    return torch.mean(torch.sum(precision * (true - mean)**2 + log_var, 1), 0)


def gen_data(N):
    """
    Function to generate data
    """
    sigma = 1e0  # ground truth
    X = np.random.randn(N, Q)
    w = 2.
    b = 8.
    Y = X.dot(w) + b + sigma * np.random.randn(N, D)
    return X, Y


def logsumexp(a):
    a_max = a.max(axis=0)
    return np.log(np.sum(np.exp(a - a_max), axis=0)) + a_max


def test(Y_true, K_test, means, logvar, Y_val):  # upstream: Y_val read from the notebook's globals
    """
    Estimate predictive log likelihood:
    log p(y|x, D) = log int p(y|x, w) p(w|D) dw
                 ~= log int p(y|x, w) q(w) dw
                 ~= log 1/K sum p(y|x, w_k) with w_k sim q(w)
                  = LogSumExp log p(y|x, w_k) - log K
    :Y_true: a 2D array of size N x dim
    :MC_samples: a 3D array of size samples K x N x 2*D
    """
    k = K_test
    N = Y_true.shape[0]
    mean = means
    logvar = logvar
    test_ll = -0.5 * np.exp(-logvar) * (mean - Y_val.squeeze())**2. - 0.5 * logvar - 0.5 * np.log(2 * np.pi)  # Y_true[None]
    test_ll = np.sum(np.sum(test_ll, -1), -1)
    test_ll = logsumexp(test_ll) - np.log(k)
    pppp = test_ll / N  # per point predictive probability
    rmse = np.mean((np.mean(mean, 0) - Y_val.squeeze())**2.)**0.5
    return pppp, rmse


def mc_eval(model, X_val, Y_val):
    """The notebook's evaluation cell: K_test MC dropout samples on X_val (model.eval() leaves the masks on)."""
    model.eval()
    with torch.no_grad():  # upstream: autograd on (no number changes)
        MC_samples = [model(torch.FloatTensor(X_val)) for _ in range(K_test)]  # upstream: Variable(...).cuda()
    means = torch.stack([tup[0] for tup in MC_samples]).view(K_test, X_val.shape[0]).cpu().data.numpy()
    logvar = torch.stack([tup[1] for tup in MC_samples]).view(K_test, X_val.shape[0]).cpu().data.numpy()
    with np.errstate(all="ignore"):
        pppp, rmse = test(Y_val, K_test, means, logvar, Y_val)
    model.train()
    return float(pppp), float(rmse), means, logvar


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, target_scale: float = 1.0,
          init_std: float | None = None, dead_bias: float | None = None, zero_grad: bool = True,
          batch_size: int = batch_size, nb_features: int = nb_features, nb_epoch: int = NB_EPOCH,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    np.random.seed(seed)  # upstream: np.random.seed(0)
    torch.manual_seed(seed)  # upstream: torch.manual_seed(0)

    X, Y = gen_data(N + nb_val_size)
    X, Y = X * input_scale, Y * target_scale  # the unscaled_inputs / unscaled_target variants: x100
    X_train, Y_train = X[:N], Y[:N]
    X_val, Y_val = X[N:], Y[N:]

    # fit_model(nb_epoch, X_train, Y_train), inlined
    X, Y = X_train, Y_train
    N_ = X.shape[0]
    wr = l**2. / N_
    dr = 2. / N_
    model = Model(nb_features, wr, dr)  # upstream: .cuda()
    if init_std is not None:  # the init_large variant: N(0, init_std) for every Linear weight
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0.0, std=init_std)
    if dead_bias is not None:  # the dead_relu variant: the three hidden layers' biases set to a large negative value
        for lin in (model.linear1, model.linear2, model.linear3):
            nn.init.constant_(lin.bias, dead_bias)
    lr = 1e-3 * lr_mult
    optimizer = optim.Adam(model.parameters(), lr=lr)  # upstream: optim.Adam(model.parameters()) (lr 1e-3)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    # the untrained model's validation RMSE (the reference), with the RNG put back so training draws the same masks
    rng = torch.get_rng_state()
    _, rmse0, _, _ = mc_eval(model, X_val, Y_val)
    torch.set_rng_state(rng)

    losses, regs = [], []
    for i in range(nb_epoch):
        old_batch = 0
        for batch in range(int(np.ceil(X.shape[0]/batch_size))):
            batch = (batch + 1)
            _x = X[old_batch: batch_size*batch]
            _y = Y[old_batch: batch_size*batch]
            # (upstream never advances old_batch: each batch is X[0: 20 * batch], the first 20, 40, ... points)

            x = torch.FloatTensor(_x)  # upstream: Variable(torch.FloatTensor(_x)).cuda()
            y = torch.FloatTensor(_y)

            mean, log_var, regularization = model(x)

            loss = heteroscedastic_loss(y, mean, log_var) + regularization

            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(float(loss.detach()))
            regs.append(float(regularization.detach()))
        if verbose:
            print(f"epoch {i + 1} | loss {np.mean(losses[-50:]):.4f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()

    pppp, rmse, means, logvar = mc_eval(model, X_val, Y_val)
    ps = [float(torch.sigmoid(module.p_logit).detach()[0]) for module in model.modules() if hasattr(module, 'p_logit')]
    with np.errstate(all="ignore"):
        epistemic = float(np.var(means, 0).mean(0))
        aleatoric = float(np.exp(np.mean(logvar, 0)).mean(0))
    la = np.array(losses)
    value = rmse / target_scale  # in the units of Y (for the unscaled_target variant)
    return {"monitors": {"": monitor}, "metric": "rmse", "value": float(value) if np.isfinite(value) else float("nan"),
            "initial": rmse0 / target_scale,
            "initial_what": "untrained: validation RMSE of the untrained model's MC-mean prediction (K_test 20)",
            "chance": float(np.std(Y_val) / target_scale),
            "extra": {"val_ll_per_point": pppp, "val_rmse_raw": rmse, "train_loss": float(np.mean(la[-20:])),
                      "first_loss": float(np.mean(la[:5])),
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "final_regularization": float(np.mean(regs[-20:])),
                      "dropout_p": ps, "aleatoric_std": aleatoric ** 0.5, "epistemic_std": epistemic ** 0.5,
                      "steps": len(losses), "epochs": nb_epoch, "lr": lr, "lr_mult": lr_mult,
                      "input_scale": input_scale, "target_scale": target_scale,
                      "init_std": -1.0 if init_std is None else init_std,
                      "dead_bias": 0.0 if dead_bias is None else dead_bias, "zero_grad": zero_grad,
                      "batch_size": batch_size, "nb_features": nb_features, "n_train": N, "n_val": nb_val_size},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="concretedrop", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = (f"Concrete Dropout regression (1 -> {nb_features} -> {nb_features} -> {nb_features} ReLU, mean and log-variance "
      f"heads, all five ConcreteDropout-wrapped; heteroscedastic_loss + regularisers; Adam lr 1e-3, batch {batch_size}, "
      f"N {N}, {NB_EPOCH} epochs)")
CASES: list[dict] = (
    [_case(f"concretedrop_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"concretedrop_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("concretedrop_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 (1e-06)")]
    + [_case(f"concretedrop_x_x100_s{s}", "unscaled_inputs", s, {"input_scale": 100.0},
             f"{_P}: the inputs X multiplied by 100 (training and validation)") for s in (1, 2)]
    + [_case(f"concretedrop_y_x100_s{s}", "unscaled_target", s, {"target_scale": 100.0},
             f"{_P}: the target Y multiplied by 100 (mean 800; the metric divided by 100)") for s in (1, 2)]
    + [_case(f"concretedrop_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every Linear weight instead of PyTorch's default "
             "U(+-1/sqrt(fan_in)) (biases kept)") for s in (1, 2)]
    + [_case("concretedrop_dead_bias_s1", "dead_relu", 1, {"dead_bias": -10.0},
             f"{_P}: the biases of linear1, linear2 and linear3 set to -10 (every hidden ReLU below zero)")]
    + [_case(f"concretedrop_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)") for s in (1, 2)]
    + [_case("concretedrop_batch40_s1", "healthy", 1, {"batch_size": 40},
             f"{_P}: batch_size 40 instead of 20 (expected harmless)")]
    + [_case("concretedrop_width512_s1", "healthy", 1, {"nb_features": 2 * nb_features},
             f"{_P}: nb_features {2 * nb_features} instead of {nb_features} (x2, half-way back to upstream's 1024; "
             "expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
