"""DeepSurv (czifan/DeepSurv.pytorch): a Cox proportional-hazards MLP on simulated linear survival data, watched by
gradmedic.

Adapted from https://github.com/czifan/DeepSurv.pytorch (commit f572a8a7d3ce5ad10609bd273ce3accaf7ea4b66;
networks.py, main.py's ``train``, utils.py's ``c_index`` and ``adjust_learning_rate``, datasets.py's
``SurvivalDataset``, configs/linear.ini).  The repository has no licence file, so the port keeps to what it needs
(LICENSE-deepsurv says so, and carries the MIT licence of the simulation code below).  Kept as upstream: ``DeepSurv``
built from linear.ini's network section (dims [10, 4, 1]: Linear(10, 4), BatchNorm1d(4), SELU, Dropout(0.375),
Linear(4, 1), BatchNorm1d(1), SELU - the activation after the output too, as ``_build_network`` adds one after every
layer; PyTorch's default inits), ``Regularization`` and ``NegativeLogLikelihood`` (the Cox partial likelihood with
the risk set ``mask[(y.T - y) > 0] = 0``, averaged over the risk set, divided by the number of events, plus the L2
term, here ``l2_reg = 0``), ``optim.Adam(model.parameters(), lr=2.922e-3)``, ``adjust_learning_rate`` (lr / (1 +
epoch * 3.579e-4)) each epoch, one full batch per epoch (upstream's DataLoader with batch_size=len(dataset)), the
order ``risk_pred = model(X)``, loss, ``optimizer.zero_grad()``, ``backward()``, ``step()``, ``model.train()`` /
``model.eval()`` around the train and valid steps, ``SurvivalDataset``'s min-max normalization of X (each split by
its own min and max, as upstream), and ``c_index(-risk_pred, y, e)``.

Changed to run offline on one CPU thread in ~5-11 s: the h5 file (data/linear/linear_survival_data.h5) is replaced
by data generated as jaredleekatzman/DeepSurv's ``SimulatedData`` does (deepsurv/datasets.py, commit
3ba8e3cf522b83cbcf3fb4e722953997c9a52e21; MIT, Copyright (c) 2016 Jared Katzman) for the linear experiment with the
settings of its hyperparam_search.py (hr_ratio 5, average_death 5, censor_mode 'observed_p', observed_p 0.5, 10
covariates uniform in [-1, 1], log-risk h(x) = x0 + 2 x1 centred, exponential death times of mean 5 / exp(h(x)),
censored at the time that leaves 50% of the deaths observed): 2000 training and 1000 test patients from one
``np.random.RandomState(0)`` (fixed across seeds, like upstream's fixed h5 file; upstream's generator is numpy's
global one); EPOCHS = 250 instead of 500 (the test c-index is within 0.002 of its final value by epoch 50) and no
early stopping (upstream validates every epoch, keeps the best c-index, saves a checkpoint on each new best and stops
after 50 epochs without one - the metric here is the final model's c-index, not the best one seen on the test set);
the valid step every 10 epochs for the record (``best_valid_c_index`` in ``extra``); the training c-index once after
the loop instead of every epoch; lifelines' ``concordance_index`` written out in numpy (lifelines is not installed;
Harrell's C, tied scores 1/2, tied deaths not compared, NaN scores give NaN instead of lifelines' error);
``getattr`` instead of ``eval`` to build the activation and optimizer; ``torch.manual_seed(seed)`` (upstream sets
none); no logger, prettytable, checkpoints or device; prints only with ``verbose``.  Knobs (one per variant):
``lr_mult``; ``input_scale`` / ``input_offset`` on the normalized covariates (train and test); ``init_std`` (N(0,
init_std) on both Linear weights, biases kept); ``zero_grad=False``; ``risk_set="reversed"`` (``mask[(y.T - y) < 0]
= 0``: each event compared with those who failed before it - the risk set sorted the wrong way in time);
``loss_sign=-1`` (the partial log-likelihood minimized instead of maximized); ``drop`` (the config's ``drop = None``
gives no Dropout layer); ``width_mult`` (the hidden width).

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the Adam is built,
``monitor.step(train_loss)`` right after ``train_loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the epochs.  Metric "test_discordance" (lower is better, a loss-like number for run.py's rules): 1 - the
c-index of the final model on the 1000 test patients; ``initial`` 0.5, an uninformative risk (the untrained
network's c-index, which depends on its random init - 0.40-0.64 on seeds 1-3 -, is in ``extra`` as
``untrained_c_index``).  The c-index is higher-is-better and tops out at the true log-risk's, 0.796 on this test set
(the paper reports 0.774 for DeepSurv on its linear data, upstream 0.779), so run.py's accuracy rule (>= 0.9) cannot
be met; as a discordance, a good outcome is at most 0.35 (0.7 x 0.5: a c-index of at least 0.65, 30% of the way
from chance to a perfect ordering); "broken" a control discordance below half the variant's (c-index below ~0.59),
or at most half its progress from 0.5 (c-index at most ~0.647); "healthy" at most 1.1x the control's discordance (a
c-index of at least ~0.773) with the largest training loss at most 2x the control's.  The training loss itself is
the averaged-risk-set partial likelihood and goes below 0 (from 0.16-0.65 to about -0.5).

``CASES`` (program "deepsurv"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10, x100 (seeds 1 and 2), x1000, /1000; the covariates x100 (seed 1) and +1000 (seed 2); N(0, 1) weights
(seeds 1 and 2); ``optimizer.zero_grad()`` left out (seeds 1 and 2); the risk set reversed (seed 1) and the loss's
sign flipped (seed 2) (cause wrong_loss); and two changes expected harmless (cause "healthy"): no dropout and hidden
width 8.
Recorded (cases-public111; 5-11 s a run, 126 s for all 18; c-index on the test set, "loss" the training loss, first-5
and last-20 means): healthy c-index 0.7942, 0.7943, 0.7924 on seeds 1-3 (discordance 0.2058, 0.2057, 0.2076; true risk
0.7963; untrained 0.642, 0.438, 0.396; loss 0.157/0.654/0.649 -> -0.500/-0.477/-0.350, largest 0.184, 0.721, 0.700;
every loss finite): healthy; lr x10 (0.029): 0.7949: healthy; lr x100 (0.29): 0.7948 on seeds 1 and 2: healthy
(BatchNorm after each Linear makes the output invariant to the weights' scale, so large steps that grow the weights
shrink their own effect - our reading, not measured); lr x1000 (2.9): the risk collapses to one value for every
patient (c-index 0.5000, training loss exactly 0 at the end, largest 1.24): broken; lr /1000 (2.9e-6): 0.6263 (from
0.642 untrained; loss 0.20 flat): broken; covariates x100: 0.7942, the control's numbers to 4 digits (BatchNorm
absorbs the scale; Adam is invariant to the gradient's): healthy; covariates +1000: 0.7826 (best seen 0.7956):
healthy; N(0, 1) weights: seed 1 0.7783 (largest loss 0.483 against the control's 0.184): ambiguous, seed 2 0.7884:
healthy; zero_grad left out: 0.7956 (seed 1) and 0.7781 (seed 2): healthy; risk set reversed: 0.2407 (the ordering
learned backwards; loss 0.51 -> -0.02): broken; loss sign flipped: 0.3551 (loss -0.73 -> -7.6, still falling): broken;
no dropout: 0.7921: healthy; width 8: 0.7941: healthy. Labels: 18 cases, 13 healthy (3 programs, lr x10, lr x100
twice, inputs x100 and +1000, N(0, 1) on seed 2, zero_grad left out twice, no dropout, width 8), 4 broken (lr x1000,
lr /1000, the two wrong losses), 1 ambiguous (N(0, 1) on seed 1). Every run's losses were finite. BatchNorm and Adam
make this small network shrug off most of the usual breakages (rate x100, input scale, weight scale, missing
zero_grad): they are recorded as the healthy outcomes they are.
"""

from __future__ import annotations

import time
from math import exp

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = optim.Adam(model.parameters(), lr=2.922e-3); "
              "monitor.step(train_loss) right after train_loss.backward() (the Cox negative partial log-likelihood of "
              "the full training batch, one step per epoch), before optimizer.step()")

# configs/linear.ini
CONFIG = {
    "train": {"epochs": 500, "learning_rate": 2.922e-3, "lr_decay_rate": 3.579e-4, "optimizer": "Adam"},
    "network": {"drop": 0.375, "norm": True, "dims": [10, 4, 1], "activation": "SELU", "l2_reg": 0},
}
EPOCHS = 250  # upstream: epochs = 500 (and early stopping, patience 50)
N_TRAIN, N_TEST = 2000, 1000  # upstream: the h5 file's train and test sets
DATA_SEED = 0


# ------------------------------------------------------------------------------------------------------------------
# data: jaredleekatzman/DeepSurv's SimulatedData (deepsurv/datasets.py), the linear experiment as its
# hyperparam_search.py builds it (hr_ratio=5, average_death=5, censor_mode='observed_p', observed_p=.5,
# num_features=10, num_var=2)
# ------------------------------------------------------------------------------------------------------------------

class SimulatedData:
    def __init__(self, hr_ratio, average_death=5, censor_mode='end_time', end_time=15, observed_p=None,
                 num_features=10, num_var=2, treatment_group=False):
        self.hr_ratio = hr_ratio
        self.censor_mode = censor_mode
        self.end_time = end_time
        self.observed_p = observed_p
        self.average_death = average_death
        self.treatment_group = treatment_group
        self.m = int(num_features) + int(treatment_group)
        self.num_var = num_var

    def _linear_H(self, x):
        # Make the coefficients [1,2,...,num_var,0,..0]
        b = np.zeros((self.m,))
        b[0:self.num_var] = range(1, self.num_var + 1)
        # Linear Combinations of Coefficients and Covariates
        risk = np.dot(x, b)
        return risk

    def generate_data(self, N, rs, method='linear'):
        # upstream: np.random's global generator; here a RandomState passed in (rs), the same calls
        # Patient Baseline information
        data = rs.uniform(low=-1, high=1, size=(N, self.m))
        # Each patient has a uniform death probability
        p_death = self.average_death * np.ones((N, 1))
        risk = self._linear_H(data)  # upstream: also 'gaussian'; the linear experiment only here
        # Center the hazard ratio so population dies at the same rate
        risk = risk - np.mean(risk)
        # Generate time of death for each patient
        death_time = np.zeros((N, 1))
        for i in range(N):
            death_time[i] = rs.exponential(p_death[i]) / exp(risk[i])
        # If Censor_mode is 'observed_p': then find the end time in which observed_p percent of patients have an
        # observed death
        if self.censor_mode == 'observed_p':  # upstream: `is 'observed_p'`
            end_time_idx = int(N * self.observed_p)
            self.end_time = np.sort(death_time.flatten())[end_time_idx]
        # Censor anything that is past end time
        censoring = np.ones((N, 1))
        death_time[death_time > self.end_time] = self.end_time
        censoring[death_time == self.end_time] = 0
        death_time = np.squeeze(death_time)
        censoring = np.squeeze(censoring)
        return {'x': data.astype(np.float32), 'e': censoring.astype(np.int32), 't': death_time.astype(np.float32),
                'hr': risk.astype(np.float32)}


class SurvivalDataset:
    """czifan's SurvivalDataset without the h5 file: X, e (n, 1), y (n, 1), X min-max normalized per split."""

    def __init__(self, ds):
        # upstream: self._read_h5_file(h5_file, is_train)
        self.X, self.e, self.y = ds['x'], ds['e'].reshape(-1, 1), ds['t'].reshape(-1, 1)
        # normalizes data
        self._normalize()

    def _normalize(self):
        ''' Performs normalizing X data. '''
        self.X = (self.X-self.X.min(axis=0)) / \
            (self.X.max(axis=0)-self.X.min(axis=0))

    def tensors(self):  # upstream: a DataLoader with batch_size=len(dataset): one full batch
        return torch.from_numpy(self.X), torch.from_numpy(self.y), torch.from_numpy(self.e)


_DATA = {}


def datasets():
    if not _DATA:
        rs = np.random.RandomState(DATA_SEED)
        factory = SimulatedData(hr_ratio=5, average_death=5, censor_mode='observed_p', observed_p=.5,
                                num_features=10, num_var=2)
        _DATA["train"] = factory.generate_data(N_TRAIN, rs, method='linear')
        _DATA["test"] = factory.generate_data(N_TEST, rs, method='linear')
    return _DATA["train"], _DATA["test"]


# ------------------------------------------------------------------------------------------------------------------
# networks.py
# ------------------------------------------------------------------------------------------------------------------

class Regularization(object):  # noqa: UP004 (as upstream)
    def __init__(self, order, weight_decay):
        super(Regularization, self).__init__()  # noqa: UP008 (as upstream)
        self.order = order
        self.weight_decay = weight_decay

    def __call__(self, model):
        reg_loss = 0
        for name, w in model.named_parameters():
            if 'weight' in name:
                reg_loss = reg_loss + torch.norm(w, p=self.order)
        reg_loss = self.weight_decay * reg_loss
        return reg_loss


class DeepSurv(nn.Module):
    ''' The module class performs building network according to config'''
    def __init__(self, config):
        super(DeepSurv, self).__init__()  # noqa: UP008 (as upstream)
        # parses parameters of network from configuration
        self.drop = config['drop']
        self.norm = config['norm']
        self.dims = config['dims']
        self.activation = config['activation']
        # builds network
        self.model = self._build_network()

    def _build_network(self):
        ''' Performs building networks according to parameters'''
        layers = []
        for i in range(len(self.dims)-1):
            if i and self.drop is not None:  # adds dropout layer
                layers.append(nn.Dropout(self.drop))
            # adds linear layer
            layers.append(nn.Linear(self.dims[i], self.dims[i+1]))
            if self.norm:  # adds batchnormalize layer
                layers.append(nn.BatchNorm1d(self.dims[i+1]))
            # adds activation layer
            layers.append(getattr(nn, self.activation)())  # upstream: eval('nn.{}()'.format(self.activation))
        # builds sequential network
        return nn.Sequential(*layers)

    def forward(self, X):
        return self.model(X)


class NegativeLogLikelihood(nn.Module):
    def __init__(self, config, risk_set="upstream", sign=1.0):
        super(NegativeLogLikelihood, self).__init__()  # noqa: UP008 (as upstream)
        self.L2_reg = config['l2_reg']
        self.reg = Regularization(order=2, weight_decay=self.L2_reg)
        self.risk_set = risk_set  # the wrong_loss variant "reversed": the risk set taken the wrong way in time
        self.sign = sign  # the wrong_loss variant -1: the likelihood's sign flipped

    def forward(self, risk_pred, y, e, model):
        mask = torch.ones(y.shape[0], y.shape[0])
        if self.risk_set == "reversed":  # the bug: those who failed before, not those still at risk
            mask[(y.T - y) < 0] = 0
        else:
            mask[(y.T - y) > 0] = 0
        log_loss = torch.exp(risk_pred) * mask
        log_loss = torch.sum(log_loss, dim=0) / torch.sum(mask, dim=0)
        log_loss = torch.log(log_loss).reshape(-1, 1)
        neg_log_loss = -self.sign * torch.sum((risk_pred-log_loss) * e) / torch.sum(e)  # upstream: no self.sign
        l2_loss = self.reg(model)
        return neg_log_loss + l2_loss


# ------------------------------------------------------------------------------------------------------------------
# utils.py
# ------------------------------------------------------------------------------------------------------------------

def concordance_index(event_times, predicted_scores, event_observed):
    """lifelines.utils.concordance_index (Harrell's C; higher score = longer survival; tied scores count 1/2),
    written out in numpy (lifelines is not installed; all pairs at once, O(n^2))."""
    t = np.asarray(event_times, dtype=np.float64).ravel()
    s = np.asarray(predicted_scores, dtype=np.float64).ravel()
    e = np.asarray(event_observed).ravel().astype(bool)
    # a pair is comparable when the earlier time is an observed event; a death tied with a censoring counts with
    # the censored one surviving longer (lifelines' rule); tied deaths are not compared
    earlier = (t[:, None] < t[None, :]) | ((t[:, None] == t[None, :]) & ~e[None, :])
    comp = earlier & e[:, None]
    if not comp.any():
        return float("nan")
    conc = (s[:, None] < s[None, :]) & comp
    tie = (s[:, None] == s[None, :]) & comp
    return float((conc.sum() + 0.5 * tie.sum()) / comp.sum())


def c_index(risk_pred, y, e):
    if not isinstance(y, np.ndarray):
        y = y.detach().cpu().numpy()
    if not isinstance(risk_pred, np.ndarray):
        risk_pred = risk_pred.detach().cpu().numpy()
    if not isinstance(e, np.ndarray):
        e = e.detach().cpu().numpy()
    if not np.isfinite(risk_pred).all():  # lifelines raises on NaN scores
        return float("nan")
    return concordance_index(y, risk_pred, e)


def adjust_learning_rate(optimizer, epoch, lr, lr_decay_rate):
    for param_group in optimizer.param_groups:
        param_group['lr'] = lr / (1+epoch*lr_decay_rate)
    return optimizer.param_groups[0]['lr']


# ------------------------------------------------------------------------------------------------------------------
# main.py's train
# ------------------------------------------------------------------------------------------------------------------

def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, input_offset: float = 0.0,
          init_std: float | None = None, zero_grad: bool = True, risk_set: str = "upstream", loss_sign: float = 1.0,
          drop: float | None = CONFIG["network"]["drop"], width_mult: int = 1, epochs: int = EPOCHS, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)  # upstream: no seed
    t0 = time.time()
    config = {"train": dict(CONFIG["train"]), "network": dict(CONFIG["network"])}
    config['train']['learning_rate'] *= lr_mult
    config['network']['drop'] = drop  # the dropout-off variant: None (no Dropout layer, as the config allows)
    d = config['network']['dims']
    config['network']['dims'] = [d[0]] + [k * width_mult for k in d[1:-1]] + [d[-1]]  # the width x2 variant
    # builds network|criterion|optimizer based on configuration
    model = DeepSurv(config['network'])
    if init_std is not None:  # the init_large variant: N(0, init_std) on every Linear weight (biases kept)
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0.0, std=init_std)
    criterion = NegativeLogLikelihood(config['network'], risk_set=risk_set, sign=loss_sign)
    optimizer = getattr(optim, config['train']['optimizer'])(  # upstream: eval('optim.{}'.format(...))
        model.parameters(), lr=config['train']['learning_rate'])
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    # constructs data loaders based on configuration
    train_ds, test_ds = datasets()
    train_dataset, test_dataset = SurvivalDataset(train_ds), SurvivalDataset(test_ds)
    X_tr, y_tr, e_tr = train_dataset.tensors()
    X_te, y_te, e_te = test_dataset.tensors()
    # the unscaled_inputs variants, after the normalization, on both splits
    X_tr, X_te = X_tr * input_scale + input_offset, X_te * input_scale + input_offset
    true_c = c_index(-torch.from_numpy(test_ds['hr']), y_te, e_te)  # the true log-risk's c-index on the test set
    model.eval()
    with torch.no_grad():
        untrained_c = c_index(-model(X_te), y_te, e_te)
    # training
    losses, valid_cs = [], []
    best_c_index = 0
    lr = config['train']['learning_rate']
    train_loss = valid_loss = risk_pred = None
    for epoch in range(1, epochs+1):
        # adjusts learning rate
        lr = adjust_learning_rate(optimizer, epoch,
                                  config['train']['learning_rate'],
                                  config['train']['lr_decay_rate'])
        # train step
        model.train()
        for X, y, e in ((X_tr, y_tr, e_tr),):  # upstream: the train_loader's one full batch
            # makes predictions
            risk_pred = model(X)
            train_loss = criterion(risk_pred, y, e, model)
            # upstream: train_c = c_index(-risk_pred, y, e) every epoch; here once, after the loop
            # updates parameters
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            train_loss.backward()
            monitor.step(train_loss)  # gradmedic
            optimizer.step()
            losses.append(float(train_loss.detach()))
        # valid step (upstream: every epoch, keeping the best c-index, saving a checkpoint and stopping after 50
        # epochs without a new best; here every 10 epochs, for the record only, and no early stop)
        if epoch % 10 == 0 or epoch == epochs:
            model.eval()
            for X, y, e in ((X_te, y_te, e_te),):
                with torch.no_grad():
                    risk_pred_v = model(X)
                    valid_loss = criterion(risk_pred_v, y, e, model)
                    valid_c = c_index(-risk_pred_v, y, e)
                    valid_cs.append(valid_c)
                    if best_c_index < valid_c:
                        best_c_index = valid_c
            if verbose:
                print('Epoch: {}\tLoss: {:.8f}({:.8f})\tc-index: {:.8f}\tlr: {:g}'.format(  # noqa: UP032 (as upstream)
                    epoch, train_loss.item(), valid_loss.item(), valid_c, lr), flush=True)
    monitor.close()
    train_c = c_index(-risk_pred, y_tr, e_tr)  # the last epoch's training c-index (train mode, before its step)
    model.eval()
    with torch.no_grad():
        final_c = c_index(-model(X_te), y_te, e_te)
    la = np.array(losses)
    value = 1.0 - final_c if np.isfinite(final_c) else float("nan")
    return {"monitors": {"": monitor}, "metric": "test_discordance", "value": float(value),
            "initial": 0.5, "initial_what": "chance: 1 - a c-index of 0.5 (an uninformative risk)", "chance": 0.5,
            "extra": dict(test_c_index=final_c, untrained_c_index=untrained_c, true_risk_c_index=true_c,
                          best_valid_c_index=float(best_c_index), train_c_index=train_c,
                          valid_loss=float(valid_loss) if valid_loss is not None else float("nan"),
                          train_loss=float(np.mean(la[-20:])), first_loss=float(np.mean(la[:5])),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), steps=len(la), epochs=epochs, lr=lr,
                          lr_mult=lr_mult, input_scale=input_scale, input_offset=input_offset,
                          init_std=-1.0 if init_std is None else init_std, zero_grad=zero_grad, risk_set=risk_set,
                          loss_sign=loss_sign, drop=-1.0 if drop is None else drop, width_mult=width_mult,
                          n_train=len(y_tr), n_test=len(y_te), observed_train=float(e_tr.float().mean())),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="deepsurv", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_LR = CONFIG["train"]["learning_rate"]
_P = (f"DeepSurv, configs/linear.ini (dims [10, 4, 1], BatchNorm, SELU, dropout 0.375; Cox partial likelihood, l2_reg "
      f"0; Adam lr {_LR:g} / (1 + epoch * 3.579e-4), full batch of {N_TRAIN} simulated patients, {EPOCHS} epochs)")
CASES: list[dict] = (
    [_case(f"deepsurv_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"deepsurv_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: learning_rate x{k} ({_LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("deepsurv_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: learning_rate /1000 ({_LR * 1e-3:g})")]
    + [_case("deepsurv_inputs_x100_s1", "unscaled_inputs", 1, {"input_scale": 100.0},
             f"{_P}: the min-max normalized covariates multiplied by 100 (train and test)")]
    + [_case("deepsurv_inputs_plus1000_s2", "unscaled_inputs", 2, {"input_offset": 1000.0},
             f"{_P}: 1000 added to the min-max normalized covariates (train and test)")]
    + [_case(f"deepsurv_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on both Linear weights instead of PyTorch's default "
             "U(+-1/sqrt(fan_in)) (biases kept)") for s in (1, 2)]
    + [_case(f"deepsurv_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)") for s in (1, 2)]
    + [_case("deepsurv_reversed_risk_set_s1", "wrong_loss", 1, {"risk_set": "reversed"},
             f"{_P}: the risk set taken the wrong way in time (mask[(y.T - y) < 0] = 0: each event compared with "
             "those who failed before it, not those still at risk)")]
    + [_case("deepsurv_loss_sign_s2", "wrong_loss", 2, {"loss_sign": -1.0},
             f"{_P}: the partial log-likelihood's sign flipped (minimized instead of maximized)")]
    + [_case("deepsurv_no_dropout_s1", "healthy", 1, {"drop": None},
             f"{_P}: drop = None (no Dropout layer; expected harmless)")]
    + [_case("deepsurv_width8_s2", "healthy", 2, {"width_mult": 2},
             f"{_P}: dims [10, 8, 1] (hidden width x2; expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(**kw)
    print({k: v for k, v in r.items() if k != "monitors"})
