"""jinglescode/time-series-forecasting-pytorch's LSTM stock-price forecaster (a z-scored daily close series, windows
of 20 days predicting the next day; Linear -> ReLU -> 2-layer LSTM -> dropout -> Linear over the final hidden
states), watched by gradmedic.

Adapted from https://github.com/jinglescode/time-series-forecasting-pytorch (commit
749689e352290616e69d9b3e243af36936328964, project.py; Apache License 2.0, see LICENSE-tslstm).

Kept as in the original: ``Normalizer`` (z-score with the whole series' mean and std, as upstream fits it before
the split), ``prepare_data_x`` / ``prepare_data_y`` (windows of 20 by ``as_strided``, the next day's value as the
label), the 80/20 split in time order, ``TimeSeriesDataset`` (float32, x as [batch, 20, 1]), ``DataLoader`` with
batch 64 and ``shuffle=True``, ``LSTMModel`` (``linear_1`` 1 -> 32, ReLU, ``nn.LSTM(32, 32, num_layers=2,
batch_first=True)``, the final hidden states of both layers concatenated, ``Dropout(0.2)``, ``linear_2`` 64 -> 1,
``predictions[:, -1]``) with its ``init_weights`` (LSTM biases zero, ``kaiming_normal_`` on weight_ih,
``orthogonal_`` on weight_hh; the Linears keep PyTorch's default), ``nn.MSELoss``, ``optim.Adam(lr=0.01,
betas=(0.9, 0.98), eps=1e-9)``, ``StepLR(gamma=0.1)`` stepped once per epoch, ``run_epoch`` (model.train(),
zero_grad / forward / loss / backward / step per batch, no clipping; model.eval() for the validation pass).

Changed: there is no Alpha Vantage data offline, so the series is synthetic (``price_series``): 2500 "trading
days" of a geometric random walk (daily log-return drift 0.0004, volatility 0.012, start 120) times a weekly
(5-day) seasonality of +-1%, plus N(0, 0.5) noise; prices run 110-369 (the data's own seed is fixed, 4, the
same for every run, chosen among seeds 0-5 so the held-out 20% stays inside the training range, as IBM's
prices do in the tutorial).  2480 windows: 1984 training (31 batches an epoch), 496 held out.  Epochs shrunk
from 100 to 30 with the scheduler's step_size shrunk in proportion from 40 to 12 (two decays, as upstream's
100 epochs have), so a run takes 10-20 s on one CPU thread.  No plots, no next-day prediction;
``torch.manual_seed(seed)`` before the model is built and a ``torch.Generator`` seeded with the seed for the
shuffling (upstream seeds nothing); CPU only, one thread.  The metric, ``val_mse``, is the held-out MSE at the
end in normalized units (the z-scored price; runs whose model sees raw prices are scored after the same
z-score of their predictions), computed over the whole validation split in eval mode (upstream prints its own
per-epoch sum of batch-mean losses each divided by the batch size, which is not an MSE); ``initial`` is the
untrained model's held-out MSE; ``chance`` is predicting the training targets' mean; ``extra`` carries the naive
last-value forecast's held-out MSE (tomorrow = today) for reference.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer
and scheduler are built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``;
``monitor.close()`` after the last epoch.

``CASES`` (in the shape of run.py's ``case()``, program "tslstm", name prefix tslstm): the program on seeds 1-3,
and one change each against the same seed's healthy run: Adam lr x10, x100 (seeds 1 and 2), x1000 and /1000;
the Normalizer removed (raw prices, inputs and targets, in the hundreds; seeds 1 and 2); normalized inputs but
raw-price targets; StepLR gamma 10 instead of 0.1 (the rate grows x10 at epochs 12 and 24); ``normal_(0, 1)`` on
every parameter instead of ``init_weights`` and the default init.  Labels come from run.py's outcome rules
only.
Recorded (cases-public27, 13 cases, 267 s in all; 15-26 s a run on the shared CPUs): healthy held-out MSE 0.00343,
0.00319, 0.00332 on seeds 1-3 (from 0.81-1.05 untrained; the naive last-value forecast's is 0.00340, the mean
predictor's 1.55: the model learns to about repeat the last day, as the tutorial's does); lr x10 0.00386
(ambiguous: trains, but 1.13x its control, just past the 1.1x no-harm margin); lr x100 0.186 and 0.088, x1000
0.474, /1000 0.719 (broken); the Normalizer removed 3.56 and 3.26 (broken; 15.8 untrained in z-units); raw-price
targets 1.40 (broken); StepLR gamma 10 0.127 (broken: jumpy at 0.1 from epoch 12, 0.005-0.09, and lost at 1.0
from epoch 24); N(0, 1) on every parameter 0.0054 (ambiguous: from 13.3 untrained it still learns, 1.6x its control).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import DataLoader, Dataset

import gradmedic

ARCH = "lstm"
MONITOR_AT = ("watch(model, optimizer, every=10) right after Adam and StepLR are built; monitor.step(loss) right "
              "after loss.backward() (MSELoss on a batch of 64 next-day values), before optimizer.step() (no "
              "clipping; StepLR stepped per epoch)")

config = {
    "data": {
        "window_size": 20,
        "train_split_size": 0.80,
    },
    "model": {
        "input_size": 1,  # since we are only using 1 feature, close price
        "num_lstm_layers": 2,
        "lstm_size": 32,
        "dropout": 0.2,
    },
    "training": {
        "device": "cpu",
        "batch_size": 64,
        "num_epoch": 30,  # upstream 100 (see the docstring)
        "learning_rate": 0.01,
        "scheduler_step_size": 12,  # upstream 40, shrunk with the epochs
    },
}
N_DAYS = 2500
DATA_SEED = 4


def price_series(n=N_DAYS, seed=DATA_SEED):
    """A synthetic daily close price (in place of Alpha Vantage's IBM): geometric random walk with drift,
    weekly seasonality and noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    log_ret = 0.0004 + 0.012 * rng.standard_normal(n)
    price = 120.0 * np.exp(np.cumsum(log_ret))
    return price * (1 + 0.01 * np.sin(2 * np.pi * t / 5)) + 0.5 * rng.standard_normal(n)


class Normalizer:
    def __init__(self):
        self.mu = None
        self.sd = None

    def fit_transform(self, x):
        self.mu = np.mean(x, axis=(0), keepdims=True)
        self.sd = np.std(x, axis=(0), keepdims=True)
        normalized_x = (x - self.mu)/self.sd
        return normalized_x

    def inverse_transform(self, x):
        return (x*self.sd) + self.mu


def prepare_data_x(x, window_size):
    # perform windowing
    n_row = x.shape[0] - window_size + 1
    output = np.lib.stride_tricks.as_strided(x, shape=(n_row, window_size), strides=(x.strides[0], x.strides[0]))
    return output[:-1], output[-1]


def prepare_data_y(x, window_size):
    # use the next day as label
    output = x[window_size:]
    return output


class TimeSeriesDataset(Dataset):
    def __init__(self, x, y):
        x = np.expand_dims(x, 2)  # in our case, we have only 1 feature, so we need to convert `x` into
        # [batch, sequence, features] for LSTM
        self.x = x.astype(np.float32)
        self.y = y.astype(np.float32)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return (self.x[idx], self.y[idx])


class LSTMModel(nn.Module):
    def __init__(self, input_size=1, hidden_layer_size=32, num_layers=2, output_size=1, dropout=0.2):
        super().__init__()
        self.hidden_layer_size = hidden_layer_size

        self.linear_1 = nn.Linear(input_size, hidden_layer_size)
        self.relu = nn.ReLU()
        self.lstm = nn.LSTM(hidden_layer_size, hidden_size=self.hidden_layer_size, num_layers=num_layers,
                            batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.linear_2 = nn.Linear(num_layers * hidden_layer_size, output_size)

        self.init_weights()

    def init_weights(self):
        for name, param in self.lstm.named_parameters():
            if 'bias' in name:
                nn.init.constant_(param, 0.0)
            elif 'weight_ih' in name:
                nn.init.kaiming_normal_(param)
            elif 'weight_hh' in name:
                nn.init.orthogonal_(param)

    def forward(self, x):
        batchsize = x.shape[0]

        # layer 1
        x = self.linear_1(x)
        x = self.relu(x)

        # LSTM layer
        lstm_out, (h_n, c_n) = self.lstm(x)

        # reshape output from hidden cell into [batch, features] for `linear_2`
        x = h_n.permute(1, 0, 2).reshape(batchsize, -1)

        # layer 2
        x = self.dropout(x)
        predictions = self.linear_2(x)
        return predictions[:, -1]


def held_out_mse(model, x, y_norm, to_norm):
    """The MSE over the whole validation split in normalized units (``to_norm`` maps the model's output there)."""
    model.eval()
    with torch.no_grad():
        out = to_norm(model(torch.from_numpy(x)).double().numpy())
    return float(np.mean((out - y_norm) ** 2))


def train(seed: int = 1, lr_mult: float = 1.0, normalize: bool = True, raw_targets: bool = False,
          gamma: float = 0.1, init_std: float | None = None, epochs: int | None = None, every: int = 10,
          verbose: bool = False) -> dict:
    """Variants: ``lr_mult`` multiplies Adam's lr 0.01; ``normalize=False``: no Normalizer, raw prices as inputs
    and targets; ``raw_targets``: normalized input windows but raw-price labels; ``gamma``: StepLR's gamma (0.1
    upstream); ``init_std``: ``normal_(0, init_std)`` on every parameter after the model is built (replacing
    ``init_weights`` and the default init)."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    torch.manual_seed(seed)
    ws = config["data"]["window_size"]
    num_epoch = epochs or config["training"]["num_epoch"]

    data_close_price = price_series()
    scaler = Normalizer()
    normalized_data_close_price = scaler.fit_transform(data_close_price)
    mu, sd = float(scaler.mu[0]), float(scaler.sd[0])
    inputs = normalized_data_close_price if normalize else data_close_price
    targets = data_close_price if (raw_targets or not normalize) else normalized_data_close_price

    data_x, data_x_unseen = prepare_data_x(inputs, window_size=ws)
    data_y = prepare_data_y(targets, window_size=ws)
    data_y_norm = prepare_data_y(normalized_data_close_price, window_size=ws)

    # split dataset
    split_index = int(data_y.shape[0]*config["data"]["train_split_size"])
    data_x_train = data_x[:split_index]
    data_x_val = data_x[split_index:]
    data_y_train = data_y[:split_index]
    data_y_val = data_y[split_index:]

    dataset_train = TimeSeriesDataset(data_x_train, data_y_train)
    dataset_val = TimeSeriesDataset(data_x_val, data_y_val)
    g = torch.Generator().manual_seed(seed)
    train_dataloader = DataLoader(dataset_train, batch_size=config["training"]["batch_size"], shuffle=True,
                                  generator=g)

    model = LSTMModel(input_size=config["model"]["input_size"], hidden_layer_size=config["model"]["lstm_size"],
                      num_layers=config["model"]["num_lstm_layers"], output_size=1,
                      dropout=config["model"]["dropout"])
    if init_std is not None:  # the bug: N(0, init_std) on every weight and bias
        with torch.no_grad():
            for p in model.parameters():
                p.normal_(0.0, init_std)
    model = model.to(config["training"]["device"])

    to_norm = (lambda o: o) if targets is normalized_data_close_price else (lambda o: (o - mu) / sd)
    y_val_norm, y_train_norm = data_y_norm[split_index:], data_y_norm[:split_index]
    initial = held_out_mse(model, dataset_val.x, y_val_norm, to_norm)
    chance = float(np.mean((y_val_norm - y_train_norm.mean()) ** 2))
    naive = float(np.mean((normalized_data_close_price[split_index + ws - 1:-1] - y_val_norm) ** 2))

    lr = config["training"]["learning_rate"] * lr_mult
    criterion = nn.MSELoss()
    optimizer = optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.98), eps=1e-9)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=config["training"]["scheduler_step_size"],
                                          gamma=gamma)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    losses, val_curve = [], []
    t0 = time.time()
    for epoch in range(num_epoch):
        model.train()
        for _idx, (x, y) in enumerate(train_dataloader):
            optimizer.zero_grad()
            out = model(x)
            loss = criterion(out.contiguous(), y.contiguous())
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())
        lr_train = scheduler.get_last_lr()[0]
        scheduler.step()
        val_curve.append(held_out_mse(model, dataset_val.x, y_val_norm, to_norm))
        if verbose:
            print(f"Epoch[{epoch + 1}/{num_epoch}] | loss train:{np.mean(losses[-31:]):.6g}, "
                  f"val mse (normalized):{val_curve[-1]:.6g} | lr:{lr_train:.6g}", flush=True)

    val_mse = val_curve[-1]
    monitor.close()
    if verbose:
        print(f"held-out MSE {val_mse:.4g} (untrained {initial:.4g}, mean predictor {chance:.4g}, "
              f"last value {naive:.4g}) {time.time() - t0:.1f}s")
    return {"monitors": {"": monitor}, "metric": "val_mse", "value": float(val_mse), "chance": chance,
            "initial": float(initial),
            "initial_what": "untrained: the held-out MSE of the model before its first step (z-scored price units)",
            "extra": {"train_loss": float(np.mean(losses[-20:])), "initial_train_loss": float(np.mean(losses[:5])),
                      "steps": len(losses), "epochs": num_epoch, "lr": lr, "gamma": gamma,
                      "mean_predictor_mse": chance, "last_value_mse": naive,
                      "val_mse_per_epoch": [float(v) for v in val_curve]},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="tslstm", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


CASES: list[dict] = (
    [_case(f"tslstm_healthy_s{s}", "healthy", s, {}, "unchanged (z-scored series, windows of 20, Linear-ReLU-LSTM(2 "
           "layers, 32)-dropout-Linear with kaiming/orthogonal/zero LSTM init, MSELoss, Adam lr 0.01 betas (0.9, "
           "0.98), StepLR(12, gamma 0.1), batch 64, 30 epochs)", False)
     for s in (1, 2, 3)]
    + [_case(f"tslstm_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({0.01 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("tslstm_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (1e-05)")]
    + [_case(f"tslstm_raw_prices_s{s}", "unscaled_inputs", s, {"normalize": False},
             "the Normalizer removed: raw prices (110-369) as the input windows and the targets; the outcome "
             "z-scored afterwards") for s in (1, 2)]
    + [_case("tslstm_raw_targets_s1", "unscaled_target", 1, {"raw_targets": True},
             "normalized input windows but raw-price targets (110-369); the outcome z-scored afterwards")]
    + [_case("tslstm_gamma10_s1", "lr_high", 1, {"gamma": 10.0},
             "StepLR gamma 10 instead of 0.1 (lr 0.01, then 0.1 at epoch 12 and 1.0 at epoch 24)")]
    + [_case("tslstm_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             "normal_(0, 1) on every parameter (Linears, LSTM weights and biases) instead of init_weights and "
             "PyTorch's default init")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = (v == "True") if v in ("True", "False") else (int(v) if k in ("seed", "epochs") else float(v))
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k not in ("monitors",)})
