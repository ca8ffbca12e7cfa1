"""DLinear (cure-lab/LTSF-Linear): series decomposition and two Linear heads, trained by exp_main's loop, watched by gradmedic.

Adapted from https://github.com/cure-lab/LTSF-Linear (commit 0c113668a3b88c4c4ee586b8c5ec3e539c4de5a6, the newest;
models/DLinear.py, exp/exp_main.py (``Exp_Main.train``/``vali``/``test``), utils/tools.py (``adjust_learning_rate``,
``EarlyStopping``), data_provider/data_loader.py (``Dataset_ETT_hour``), data_provider/data_factory.py,
run_longExp.py's defaults and scripts/EXP-LongForecasting/Linear/etth1.sh's DLinear line; Apache License 2.0,
Copyright 2022 DLinear Authors, see LICENSE-dlinear).  Copied: ``moving_avg``, ``series_decomp`` and ``Model``
(kernel 25, ``individual=False`` as the scripts run it: one ``Linear_Seasonal`` and one ``Linear_Trend``
``nn.Linear(seq_len, pred_len)`` shared by the 7 channels, PyTorch's default init); the script's settings (features
M, seq_len 336, pred_len 96, enc_in 7, batch_size 32, learning_rate 0.005) and run_longExp.py's defaults
(train_epochs 10, patience 3, lradj type1, label_len 48); ``Exp_Main.train``'s loop (``model_optim.zero_grad()``,
``outputs = self.model(batch_x)``, ``f_dim = 0``, the last pred_len steps, ``nn.MSELoss()``, ``loss.backward()``,
``model_optim.step()`` with ``optim.Adam(lr=0.005)``; after each epoch the validation and test losses,
``EarlyStopping`` on the validation loss and ``adjust_learning_rate`` type1, which halves the rate every epoch; the
best validation state loaded back for the test); the loaders (train and val shuffled with drop_last, test in order);
the StandardScaler fit on the train split and applied to the whole series.

Changed (each marked ``# upstream:``): ETTh1.csv is a download, so the series is generated (``make_series``, one
fixed series, data seed 0): 6000 hours (250 days; ETTh1's 20 used months are 14400), 7 channels, each a mix of
latent signals - a daily and a weekly cycle (sine and cosine), a slow trend with a 90-day wobble, two AR(1)
noises (phi 0.9) - through a random 7x7 mixing matrix (every channel has a positive trend weight), scaled by
10-60 and shifted to levels 100-500 (raw values in the hundreds), plus N(0, 2) noise; split 60/20/20 as ETT's
12/4/4 months, the val and test borders reaching back seq_len as upstream's; the time-stamp features are not built
(DLinear never reads them); the StandardScaler is a two-line numpy equivalent of scikit-learn's (fit/transform:
mean and population std); the checkpoint file is a deepcopy of the state_dict in memory; the seed of the run
replaces fix_seed = 2021 (torch and numpy); prints only with ``verbose``; no result files, plots or FLOP count; the
CPU.  Knobs (one per variant): ``lr_mult`` scales Adam's rate (the schedule halves it from there); ``scale=False``
is the loader's own switch (no StandardScaler: the raw series as input and target; validation then on the
criterion's raw loss, as exp_main's vali, while the outcome is put through the train scaler); ``init_std`` draws
the two heads' weights from N(0, init_std) (biases kept); ``zero_grad=False`` leaves ``model_optim.zero_grad()``
out; ``batch_size``.

The watch, as a user would: ``monitor = gradmedic.watch(model, model_optim, every=10)`` right after the Adam and
the criterion are built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``model_optim.step()``;
``monitor.close()`` after the loop (before the best state is loaded back).  Metric "loss": the held-out forecast
MSE on the test split (all 1105 windows, 96 steps x 7 channels) in the StandardScaler's units, at the best
validation state; ``initial`` the untrained model's held-out MSE (1.90, 1.81, 2.23 on seeds 1-3); ``chance`` 1.0
(the scaled series' variance); the repeat-last-value forecast scores 1.676 (``extra["naive_last_value_mse"]``).

``CASES`` (program "dlinear"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10, x100 (seeds 1 and 2), x1000, /1000; the series unscaled (seeds 1 and 2; cause unscaled_target: the
standardization that is left out is the target's as well as the input's); N(0, 1) weights of both heads (seeds 1
and 2); ``model_optim.zero_grad()`` left out (seeds 1 and 2); and two changes expected harmless: lr x2 (cause
lr_high) and batch_size 16 (cause "healthy").  Labels come from run.py's outcome rules only.
Recorded (cases-public190; 10-28 s a run on a shared CPU, 295 s for all 16): healthy held-out MSE 0.4751, 0.4752,
0.4754 on seeds 1-3 (untrained 1.90, 1.81, 2.23; last-value 1.676; 990 steps, 10 epochs, no early stop; training
loss 0.88/0.84/0.90 over the first 5 steps -> 0.41-0.42 over the last 20; largest loss 1.27-1.41, the first; every
loss finite): healthy; lr x10 (0.05): first loss 18.8, largest 48.2, 0.4727: ambiguous (the largest-loss rule:
48.2 > 2x 1.34); lr x100 (0.5): largest loss 5857 (s1) and 5814 (s2), the halving schedule brings it back, 0.4779
and 0.4803: ambiguous (same rule); lr x1000 (5): largest loss 6.0e5, test MSE 88.3 after the first epoch, 1.036 at
the end: broken; lr /1000 (5e-6): training loss 1.36 -> 1.04, 1.425: broken; unscaled: raw losses up to 1.27e5
(s1) and 1.25e5 (s2), early stop after 8 epochs, 0.5327 (1.12x its control) and 0.5019 (1.06x): ambiguous (the
largest-loss rule; s1 also just over 1.1x); N(0, 1) init: untrained 482 and 560, 17.32 and 17.56: broken;
zero_grad left out: the loss climbs to 1151 (s1) and 1209 (s2), early stop after 4 epochs at the first epoch's
state, 834.1 and 869.4: broken; lr x2: 0.4739, largest loss 1.34: healthy; batch_size 16 (1980 steps): 0.4742:
healthy.  Labels: 5 healthy (3 programs, lr x2, batch 16), 6 broken, 5 ambiguous (lr x10, lr x100 on seeds 1 and
2, unscaled on seeds 1 and 2).  A linear forecaster under Adam with a rate halved ten times recovers from a high
rate and from raw inputs: those runs end at their controls' MSE after losses thousands of times larger; lr x1000
(already in the list) is the one high rate that stays clearly worse.
"""

from __future__ import annotations

import copy
import time

import numpy as np
import torch
import torch.nn as nn
from torch import optim

import gradmedic

ARCH = "linear"
MONITOR_AT = ("watch(model, model_optim, every=10) right after model_optim = optim.Adam(model.parameters(), "
              "lr=0.005) and criterion = nn.MSELoss(); monitor.step(loss) right after loss.backward() (the MSE of "
              "the 96-step forecast of 7 channels, batch 32), before model_optim.step() (model_optim.zero_grad() "
              "comes first in the loop, exp_main's order)")

SEQ_LEN = 336  # the ETTh1 script: seq_len=336
PRED_LEN = 96  # the ETTh1 script: --pred_len 96
ENC_IN = 7
BATCH_SIZE = 32  # the ETTh1 DLinear script: --batch_size 32
LEARNING_RATE = 0.005  # the ETTh1 DLinear script: --learning_rate 0.005
TRAIN_EPOCHS = 10  # run_longExp.py: --train_epochs 10
PATIENCE = 3  # run_longExp.py: --patience 3
N_HOURS = 6000  # upstream: ETTh1.csv (17420 hours, 20 months used); here a generated series of 250 days


##########################
### DATA (generated; upstream reads ETTh1.csv)
##########################

def make_series(n=N_HOURS, channels=ENC_IN, data_seed=0):
    """A multivariate hourly series in the raw units of a sensor log (values in the hundreds): a daily and a weekly
    cycle, a slow trend and AR(1) noise as latent signals, mixed across the 7 channels, plus per-channel levels."""
    rng = np.random.RandomState(data_seed)
    t = np.arange(n, dtype=np.float64)
    latents = [np.sin(2 * np.pi * t / 24), np.cos(2 * np.pi * t / 24),
               np.sin(2 * np.pi * t / 168), np.cos(2 * np.pi * t / 168),
               t / n + 0.3 * np.sin(2 * np.pi * t / (24 * 90))]
    ar = np.zeros((n, 2))
    e = rng.randn(n, 2)
    for i in range(1, n):
        ar[i] = 0.9 * ar[i - 1] + 0.3 * e[i]
    z = np.column_stack(latents + [ar[:, 0], ar[:, 1]])  # [n, 7]
    mix = rng.randn(z.shape[1], channels)
    mix[4] = rng.uniform(1.0, 3.0, channels)  # the trend in every channel
    amp = rng.uniform(10.0, 60.0, channels)
    level = rng.uniform(100.0, 500.0, channels)
    x = level + amp * (z @ mix) / np.sqrt(z.shape[1]) + 2.0 * rng.randn(n, channels)
    return x.astype(np.float64)


class StandardScaler:  # sklearn.preprocessing.StandardScaler's fit/transform (the loader's scaler)
    def fit(self, data):
        self.mean_, self.scale_ = data.mean(0), data.std(0)
        return self

    def transform(self, data):
        return (data - self.mean_) / self.scale_


class Dataset_ETT_hour(torch.utils.data.Dataset):
    """data_loader.py's Dataset_ETT_hour for features='M' (no time stamps: DLinear does not read them); the borders
    keep ETT's 12/4/4 split (60/20/20) of the series."""

    def __init__(self, raw, flag='train', size=None, scale=True):
        self.seq_len, self.label_len, self.pred_len = size
        type_map = {'train': 0, 'val': 1, 'test': 2}
        self.set_type = type_map[flag]
        self.scale = scale
        self.raw = raw
        self.__read_data__()

    def __read_data__(self):
        self.scaler = StandardScaler()
        n = len(self.raw)
        a, b = int(0.6 * n), int(0.8 * n)  # upstream: 12 * 30 * 24, 12 * 30 * 24 + 4 * 30 * 24
        border1s = [0, a - self.seq_len, b - self.seq_len]
        border2s = [a, b, n]
        border1 = border1s[self.set_type]
        border2 = border2s[self.set_type]
        train_data = self.raw[border1s[0]:border2s[0]]
        self.scaler.fit(train_data)
        if self.scale:
            data = self.scaler.transform(self.raw)
        else:  # the unscaled variant: the raw values
            data = self.raw
        self.data_x = data[border1:border2]
        self.data_y = data[border1:border2]

    def __getitem__(self, index):
        s_begin = index
        s_end = s_begin + self.seq_len
        r_begin = s_end - self.label_len
        r_end = r_begin + self.label_len + self.pred_len
        seq_x = self.data_x[s_begin:s_end]
        seq_y = self.data_y[r_begin:r_end]
        return torch.tensor(seq_x), torch.tensor(seq_y)  # upstream: also seq_x_mark, seq_y_mark

    def __len__(self):
        return len(self.data_x) - self.seq_len - self.pred_len + 1


##########################
### MODEL (models/DLinear.py, as upstream)
##########################

class moving_avg(nn.Module):
    """
    Moving average block to highlight the trend of time series
    """
    def __init__(self, kernel_size, stride):
        super(moving_avg, self).__init__()  # noqa: UP008 (as upstream)
        self.kernel_size = kernel_size
        self.avg = nn.AvgPool1d(kernel_size=kernel_size, stride=stride, padding=0)

    def forward(self, x):
        # padding on the both ends of time series
        front = x[:, 0:1, :].repeat(1, (self.kernel_size - 1) // 2, 1)
        end = x[:, -1:, :].repeat(1, (self.kernel_size - 1) // 2, 1)
        x = torch.cat([front, x, end], dim=1)
        x = self.avg(x.permute(0, 2, 1))
        x = x.permute(0, 2, 1)
        return x


class series_decomp(nn.Module):
    """
    Series decomposition block
    """
    def __init__(self, kernel_size):
        super(series_decomp, self).__init__()  # noqa: UP008 (as upstream)
        self.moving_avg = moving_avg(kernel_size, stride=1)

    def forward(self, x):
        moving_mean = self.moving_avg(x)
        res = x - moving_mean
        return res, moving_mean


class Model(nn.Module):
    """
    Decomposition-Linear
    """
    def __init__(self, configs):
        super(Model, self).__init__()  # noqa: UP008 (as upstream)
        self.seq_len = configs.seq_len
        self.pred_len = configs.pred_len

        # Decompsition Kernel Size
        kernel_size = 25
        self.decompsition = series_decomp(kernel_size)
        self.individual = configs.individual
        self.channels = configs.enc_in

        if self.individual:
            self.Linear_Seasonal = nn.ModuleList()
            self.Linear_Trend = nn.ModuleList()

            for i in range(self.channels):  # noqa: B007 (as upstream)
                self.Linear_Seasonal.append(nn.Linear(self.seq_len, self.pred_len))
                self.Linear_Trend.append(nn.Linear(self.seq_len, self.pred_len))
        else:
            self.Linear_Seasonal = nn.Linear(self.seq_len, self.pred_len)
            self.Linear_Trend = nn.Linear(self.seq_len, self.pred_len)

    def forward(self, x):
        # x: [Batch, Input length, Channel]
        seasonal_init, trend_init = self.decompsition(x)
        seasonal_init, trend_init = seasonal_init.permute(0, 2, 1), trend_init.permute(0, 2, 1)
        if self.individual:
            seasonal_output = torch.zeros([seasonal_init.size(0), seasonal_init.size(1), self.pred_len],
                                          dtype=seasonal_init.dtype).to(seasonal_init.device)
            trend_output = torch.zeros([trend_init.size(0), trend_init.size(1), self.pred_len],
                                       dtype=trend_init.dtype).to(trend_init.device)
            for i in range(self.channels):
                seasonal_output[:, i, :] = self.Linear_Seasonal[i](seasonal_init[:, i, :])
                trend_output[:, i, :] = self.Linear_Trend[i](trend_init[:, i, :])
        else:
            seasonal_output = self.Linear_Seasonal(seasonal_init)
            trend_output = self.Linear_Trend(trend_init)

        x = seasonal_output + trend_output
        return x.permute(0, 2, 1)  # to [Batch, Output length, Channel]


class Configs:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def adjust_learning_rate(optimizer, epoch, args, verbose=False):
    # utils/tools.py, lradj 'type1' (run_longExp.py's default)
    lr_adjust = {epoch: args.learning_rate * (0.5 ** ((epoch - 1) // 1))}
    if epoch in lr_adjust.keys():
        lr = lr_adjust[epoch]
        for param_group in optimizer.param_groups:
            param_group['lr'] = lr
        if verbose:
            print('Updating learning rate to {}'.format(lr))  # noqa: UP032 (as upstream)


class EarlyStopping:
    """utils/tools.py's EarlyStopping; the best state is kept in memory (upstream: torch.save to checkpoint.pth)."""

    def __init__(self, patience=7, verbose=False, delta=0):
        self.patience = patience
        self.verbose = verbose
        self.counter = 0
        self.best_score = None
        self.early_stop = False
        self.val_loss_min = np.inf
        self.delta = delta
        self.state = None

    def __call__(self, val_loss, model):
        score = -val_loss
        if self.best_score is None:
            self.best_score = score
            self.save_checkpoint(val_loss, model)
        elif score < self.best_score + self.delta:
            self.counter += 1
            if self.verbose:
                print(f'EarlyStopping counter: {self.counter} out of {self.patience}')
            if self.counter >= self.patience:
                self.early_stop = True
        else:
            self.best_score = score
            self.save_checkpoint(val_loss, model)
            self.counter = 0

    def save_checkpoint(self, val_loss, model):
        self.state = copy.deepcopy(model.state_dict())  # upstream: torch.save(model.state_dict(), ...)
        self.val_loss_min = val_loss


def _scaled_mse(model, loader, scaler, scale):
    """The forecast MSE over a split, in the StandardScaler's units (for the unscaled variant, the raw forecast and
    target put through the train split's scaler)."""
    model.eval()
    se, n = 0.0, 0
    with torch.no_grad():
        for batch_x, batch_y in loader:
            out = model(batch_x.float())[:, -PRED_LEN:, :].double()
            y = batch_y[:, -PRED_LEN:, :].double()
            if not scale:
                m, s = torch.tensor(scaler.mean_), torch.tensor(scaler.scale_)
                out, y = (out - m) / s, (y - m) / s
            se += float(((out - y) ** 2).sum())
            n += y.numel()
    model.train()
    return se / n


def train(seed: int = 1, lr_mult: float = 1.0, scale: bool = True, init_std: float | None = None,
          zero_grad: bool = True, batch_size: int = BATCH_SIZE, train_epochs: int = TRAIN_EPOCHS,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)  # upstream: fix_seed = 2021 for random, torch and numpy
    np.random.seed(seed)
    t0 = time.time()
    args = Configs(seq_len=SEQ_LEN, label_len=48, pred_len=PRED_LEN, enc_in=ENC_IN, individual=False,
                   learning_rate=LEARNING_RATE * lr_mult, batch_size=batch_size, train_epochs=train_epochs,
                   patience=PATIENCE, features='M')
    raw = make_series()
    size = [args.seq_len, args.label_len, args.pred_len]
    train_data = Dataset_ETT_hour(raw, 'train', size, scale)
    vali_data = Dataset_ETT_hour(raw, 'val', size, scale)
    test_data = Dataset_ETT_hour(raw, 'test', size, scale)
    train_loader = torch.utils.data.DataLoader(train_data, batch_size=args.batch_size, shuffle=True, drop_last=True)
    vali_loader = torch.utils.data.DataLoader(vali_data, batch_size=args.batch_size, shuffle=True, drop_last=True)
    test_loader = torch.utils.data.DataLoader(test_data, batch_size=args.batch_size, shuffle=False, drop_last=False)
    scaler = train_data.scaler

    model = Model(args).float()
    if init_std is not None:  # the init_large variant: N(0, init_std) weights of both Linear heads (biases kept)
        for lin in (model.Linear_Seasonal, model.Linear_Trend):
            nn.init.normal_(lin.weight, std=init_std)

    # references on the test split: the untrained model, and the repeat-last-value forecast
    untrained = _scaled_mse(model, test_loader, scaler, scale)
    sc = scaler.transform(raw)[int(0.8 * len(raw)) - SEQ_LEN:]
    idx = np.arange(len(sc) - SEQ_LEN - PRED_LEN + 1)
    naive = float(np.mean([((sc[i + SEQ_LEN:i + SEQ_LEN + PRED_LEN] - sc[i + SEQ_LEN - 1]) ** 2).mean() for i in idx]))

    model_optim = optim.Adam(model.parameters(), lr=args.learning_rate)
    criterion = nn.MSELoss()
    monitor = gradmedic.watch(model, model_optim, every=every)
    early_stopping = EarlyStopping(patience=args.patience, verbose=verbose)

    losses, scaled_losses, epochs_run, val_curve = [], [], 0, []
    for epoch in range(args.train_epochs):
        train_loss = []
        model.train()
        for i, (batch_x, batch_y) in enumerate(train_loader):
            if zero_grad:  # the no_zero_grad variant leaves this out
                model_optim.zero_grad()
            batch_x = batch_x.float()
            batch_y = batch_y.float()
            outputs = model(batch_x)
            f_dim = -1 if args.features == 'MS' else 0
            outputs = outputs[:, -args.pred_len:, f_dim:]
            batch_y = batch_y[:, -args.pred_len:, f_dim:]
            loss = criterion(outputs, batch_y)
            train_loss.append(loss.item())
            if verbose and (i + 1) % 100 == 0:
                print("\titers: {0}, epoch: {1} | loss: {2:.7f}".format(i + 1, epoch + 1, loss.item()))  # noqa: UP030, UP032
            loss.backward()
            monitor.step(loss)  # gradmedic
            model_optim.step()
            losses.append(loss.item())
            if scale:
                scaled_losses.append(loss.item())
            else:  # the same loss in the scaler's units (not part of the program)
                with torch.no_grad():
                    s = torch.tensor(scaler.scale_, dtype=torch.float32)
                    scaled_losses.append(float((((outputs - batch_y) / s) ** 2).mean()))
        epochs_run += 1
        train_loss = np.average(train_loss)
        vali_loss = _scaled_mse(model, vali_loader, scaler, True) if scale else float(np.average(
            [criterion(model(bx.float())[:, -PRED_LEN:], by.float()[:, -PRED_LEN:]).item()
             for bx, by in vali_loader]))  # exp_main.vali: the criterion's loss over the val loader
        test_loss = _scaled_mse(model, test_loader, scaler, scale)
        val_curve.append(float(test_loss))
        if verbose:
            print("Epoch: {0}, Steps: {1} | Train Loss: {2:.7f} Vali Loss: {3:.7f} Test Loss: {4:.7f} ({5:.1f}s)".format(  # noqa: UP030, UP032, E501
                epoch + 1, len(train_loader), train_loss, vali_loss, test_loss, time.time() - t0))
        early_stopping(vali_loss, model)
        if early_stopping.early_stop:
            if verbose:
                print("Early stopping")
            break
        adjust_learning_rate(model_optim, epoch + 1, args, verbose)
    monitor.close()

    model.load_state_dict(early_stopping.state)  # upstream: torch.load(best_model_path)
    test_mse = _scaled_mse(model, test_loader, scaler, scale)
    la = np.array(scaled_losses)
    return {"monitors": {"": monitor}, "metric": "loss", "value": test_mse,
            "initial": untrained,
            "initial_what": "untrained: the untrained model's held-out (test split) forecast MSE, scaled units",
            "chance": 1.0,
            "extra": {"train_loss": float(np.mean(la[-20:])), "first_loss": float(np.mean(la[:5])),
                      "max_loss": float(np.nanmax(losses)) if np.isfinite(losses).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(losses).all()), "steps": len(losses),
                      "epochs": epochs_run, "lr": args.learning_rate, "lr_mult": lr_mult, "scale": scale,
                      "init_std": -1.0 if init_std is None else init_std, "zero_grad": zero_grad,
                      "batch_size": batch_size, "naive_last_value_mse": naive, "untrained_mse": untrained,
                      "test_mse_per_epoch": val_curve, "best_val": float(early_stopping.val_loss_min),
                      "n_params": sum(p.numel() for p in model.parameters())},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="dlinear", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"DLinear (moving-average decomposition, kernel 25; shared seasonal and trend nn.Linear({SEQ_LEN}, {PRED_LEN})); "
      f"MSELoss, Adam lr {LEARNING_RATE:g} halved every epoch (type1), batch {BATCH_SIZE}, up to {TRAIN_EPOCHS} "
      f"epochs with early stopping (patience {PATIENCE}), a generated 7-channel hourly series standardized on the "
      f"train split")
CASES: list[dict] = (
    [_case(f"dlinear_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"dlinear_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({LEARNING_RATE * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("dlinear_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3},
             f"{_P}: Adam lr /1000 ({LEARNING_RATE * 1e-3:g})")]
    + [_case(f"dlinear_unscaled_s{s}", "unscaled_target", s, {"scale": False},
             f"{_P}: scale=False in the data loader (no StandardScaler: the raw series, values in the hundreds, "
             f"as input and target)") for s in (1, 2)]
    + [_case(f"dlinear_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on the weights of Linear_Seasonal and Linear_Trend instead of "
             f"PyTorch's default U(+-1/sqrt({SEQ_LEN})); biases kept") for s in (1, 2)]
    + [_case(f"dlinear_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: model_optim.zero_grad() left out of the loop (the gradients accumulate)") for s in (1, 2)]
    + [_case("dlinear_lr_x2_s1", "lr_high", 1, {"lr_mult": 2.0},
             f"{_P}: Adam lr x2 ({LEARNING_RATE * 2:g}; expected harmless)")]
    + [_case("dlinear_batch16_s1", "healthy", 1, {"batch_size": 16},
             f"{_P}: batch_size 16 instead of {BATCH_SIZE} (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
