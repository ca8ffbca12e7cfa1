"""LSTNet (laiguokun/LSTNet): multivariate time-series forecasting, watched by gradmedic.

Adapted from https://github.com/laiguokun/LSTNet (commit 093c4dced7b7f7405be0620d65bb288b6d7ab4f0, the newest;
models/LSTNet.py, main.py, utils.py, Optim.py; MIT License, Copyright (c) 2019 Guokun Lai, Yiming Yang, Shinjae Yoo,
see LICENSE-lstnet).  Copied: ``Model`` (Conv2d(1, hidCNN, (CNN_kernel, m)) + ReLU over the window, the GRU over the
conv features, the skip-GRU over every ``skip``-th step, ``linear1``, the highway autoregressive Linear(24, 1) added
per series, ``output_fun``; PyTorch's default inits), ``Data_utility`` (normalize=2: each series divided by its
largest magnitude, ``scale`` kept; 0.6/0.2/0.2 split in time; ``_batchify`` windows of ``window`` steps predicting
the value ``horizon`` steps after the window; ``get_batches`` with ``torch.randperm``; ``rse`` = the test targets'
std in raw units), ``Optim`` (Adam; the gradient norm clipped to ``clip`` by scaling ``param.grad`` in place), and
main.py's ``evaluate`` (RSE, RAE, CORR in raw units) and ``train`` loop (``model.zero_grad()``, output, ``loss =
criterion(output * scale, Y * scale)``, ``loss.backward()``, ``optim.step()``).  Kept as main.py's defaults:
CNN_kernel 6, highway_window 24, skip 24, hidSkip 5, dropout 0.2, horizon 12, batch_size 128, clip 10, Adam lr 1e-3,
``--L1Loss`` True so ``nn.L1Loss`` summed (size_average=False) in the series' raw units, normalize 2, output_fun
'sigmoid' (traffic.sh's setting; ele.sh and solar.sh use a linear head), seed 54321 (+ the run's seed).

Changed to run offline on one CPU thread (each marked ``# upstream:``): the data (upstream's electricity / traffic /
solar / exchange-rate files are downloads) are ``make_series()``: a fixed 3000-hour x 12-series electricity-like
load matrix (seed 20180101): per-series level 300-5000 (log-uniform), daily cycle with per-series phase and a second
harmonic, a weekday/weekend effect, a slow linear trend, two shared AR(1) factors with per-series loadings (the
cross-correlation) and 4% multiplicative noise; values 37-7500, non-negative.  On its test split the per-series
training-mean forecast scores RSE 0.40, the last value 0.60, the value 24 h earlier 0.21.  window 96 (upstream 24 * 7),
hidCNN 32 and hidRNN 32 (100 each), 25 epochs (100; 14 steps an epoch, 350 in all); ``int`` skip and ``//`` for ``pt``
(upstream's float arithmetic only ran under Python 2 / torch 0.3, and --skip 0 would divide by zero there);
``size_average=False`` -> ``reduction='sum'``, ``.data[0]`` -> ``.item()``, no ``Variable``, ``torch.sigmoid`` for
``F.sigmoid``; evaluation under ``torch.no_grad()``; no model save: the metric is the final model's test RSE
(upstream reloads the best-validation checkpoint for its final test; that model's test RSE goes to ``extra``); the
epoch print only with ``verbose``; the CPU.  Knobs (one per variant): ``lr_mult`` scales Adam's rate; ``clip=None``
takes Optim's clipping out; ``init_std`` draws every parameter from N(0, init_std); ``zero_grad=False`` leaves
``model.zero_grad()`` out; ``normalize`` (main.py's --normalize); ``output_fun`` (--output_fun; None = linear);
``batch_size``; ``skip`` (--skip).

The watch, as a user would: ``monitor = gradmedic.watch(model, optim.optimizer, every=10)`` right after the Optim
wrapper is built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optim.step()`` (which clips, then
steps Adam); ``monitor.close()`` after the loop.  The loss is in raw units (L1 summed over 128 x 12 values of
hundreds to thousands: ~1e6 at the start), so the gradient norm is ~1e6 and clip 10 acts on every step.  Metric
"rse": the test RSE after training (lower is better); ``initial`` the untrained model's test RSE.

``CASES`` (program "lstnet"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10, x100 (seeds 1 and 2), x1000, /1000; --normalize 0 with the default sigmoid output (raw series in,
cause unscaled_inputs); --normalize 0 with a linear output (ele.sh's --output_fun Linear: raw series in and raw
targets out of the head, cause unscaled_target); clipping taken out together with lr x10 (no_clipping); N(0, 1) for
every parameter (seeds 1 and 2); ``model.zero_grad()`` left out (seeds 1 and 2); and two changes expected harmless
(cause "healthy"): batch_size 64 and --skip 0 (no skip-GRU).
Recorded (cases-public177; 53-94 s a run while the shared 2-core machine ran at load ~5 with other jobs, 28 s alone;
skip 0 19 s): healthy test RSE 0.1539, 0.1582, 0.1471 on seeds 1-3 (untrained 0.823, 0.935, 0.693; test CORR
0.89-0.90; summed L1 training loss 0.8-1.1e6 over the first 5 steps -> 1.9-2.0e5 over the last 20; every loss
finite); lr x10: 0.1350: healthy; lr x100: 1.084 (seed 1) and 0.935 (seed 2), the forecast constant (CORR nan),
training loss 1.6e6 / 1.35e6: broken; lr x1000: 1.075: broken; lr /1000: 0.811 (the untrained 0.823): broken;
normalize 0 with sigmoid: 1.610, unchanged from the untrained value (the sigmoid output cannot leave (0, 1) against
targets in the hundreds): broken; normalize 0 with a linear head: 0.1686 (1.10x its control; the highway, a linear
autoregression on the raw values, fits them) but a first loss of 4.7e6, 4.7x the control's largest: ambiguous (the
largest-loss rule); no clipping with lr x10: 0.1375: healthy (Adam is scale-invariant); N(0, 1): untrained 1.29 /
1.15, 0.9465 and 0.9439 (CORR 0.10 / 0.23): broken; zero_grad left out: 0.1526 and 0.1578: healthy - Optim clips
``param.grad`` in place to norm 10 while each new gradient has norm ~1e6, so what carries over is ~1e-5 of the next
gradient (the gradient norms agree with the healthy run's to 5 digits); batch_size 64: 0.1386: healthy; skip 0:
0.1519 (untrained 0.394): healthy.  Labels: 9 healthy (3 programs, lr x10, no clipping at lr x10, zero_grad left out
on seeds 1 and 2, batch 64, skip 0), 7 broken, 1 ambiguous (normalize 0 with a linear head).
Every run's losses were finite.
"""

# ruff: noqa: E703, E702, B020, UP004, UP008, UP032  (upstream's semicolons, one-line statements, loop variables, class X(object))
from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

import gradmedic

ARCH = "gru"
MONITOR_AT = ("watch(model, optim.optimizer, every=10) right after Optim.Optim (Adam lr 1e-3, clip 10) is built; "
              "monitor.step(loss) right after loss.backward() (L1Loss(reduction='sum') of output * scale against "
              "Y * scale, i.e. in the series' raw units), before optim.step() (which clips the gradient norm to 10 "
              "and then steps Adam)")

# the generated data set (upstream reads data/electricity.txt etc., downloads)
N_STEPS = 3000  # hours
N_SERIES = 12
DATA_SEED = 20180101
# main.py's arguments, scaled to one CPU thread (upstream defaults in the comments)
WINDOW = 96  # upstream: 24 * 7
HID_CNN = 32  # upstream: 100
HID_RNN = 32  # upstream: 100
EPOCHS = 25  # upstream: 100


def make_series(n=N_STEPS, m=N_SERIES, seed=DATA_SEED):
    """An electricity-like hourly load matrix (n x m, comma-separated-file layout, values ~1e2-1e4, non-negative):
    per-series level, daily and weekly cycles with per-series phase and shape, a slow trend, two shared AR(1)
    "weather" factors with per-series loadings (the cross-correlation), and multiplicative noise."""
    rng = np.random.RandomState(seed)
    t = np.arange(n, dtype=np.float64)
    hour, day = t % 24, (t // 24) % 7
    f = np.zeros((n, 2))
    for k in range(1, n):  # shared slow factors
        f[k] = 0.995 * f[k - 1] + 0.1 * rng.randn(2)
    out = np.zeros((n, m))
    for i in range(m):
        level = float(np.exp(rng.uniform(np.log(300.0), np.log(5000.0))))
        ph = rng.uniform(0, 2 * np.pi)
        daily = 0.25 * np.sin(2 * np.pi * hour / 24 + ph) + 0.1 * np.sin(4 * np.pi * hour / 24 + 2 * ph)
        weekly = rng.uniform(0.05, 0.2) * np.where(day >= 5, -1.0, 0.4)
        trend = rng.uniform(-0.15, 0.15) * t / n
        load = rng.randn(2) * 0.1
        x = 1.0 + rng.uniform(0.6, 1.4) * daily + weekly + trend + f @ load
        x = x * (1.0 + 0.04 * rng.randn(n))
        out[:, i] = level * np.clip(x, 0.05, None)
    return out


def normal_std(x):
    return x.std() * np.sqrt((len(x) - 1.)/(len(x)))


class Data_utility(object):
    # train and valid is the ratio of training set and validation set. test = 1 - train - valid
    def __init__(self, rawdat, train, valid, cuda, horizon, window, normalize = 2):  # upstream: file_name
        self.cuda = cuda;
        self.P = window;
        self.h = horizon
        self.rawdat = rawdat  # upstream: fin = open(file_name); self.rawdat = np.loadtxt(fin,delimiter=',');
        self.dat = np.zeros(self.rawdat.shape);
        self.n, self.m = self.dat.shape;
        self.normalize = 2
        self.scale = np.ones(self.m);
        self._normalized(normalize);
        self._split(int(train * self.n), int((train+valid) * self.n), self.n);

        self.scale = torch.from_numpy(self.scale).float();
        tmp = self.test[1] * self.scale.expand(self.test[1].size(0), self.m);

        if self.cuda:
            self.scale = self.scale.cuda();
        # upstream: self.scale = Variable(self.scale);

        self.rse = normal_std(tmp);
        self.rae = torch.mean(torch.abs(tmp - torch.mean(tmp)));

    def _normalized(self, normalize):
        #normalized by the maximum value of entire matrix.

        if (normalize == 0):
            self.dat = self.rawdat

        if (normalize == 1):
            self.dat = self.rawdat / np.max(self.rawdat);

        #normlized by the maximum value of each row(sensor).
        if (normalize == 2):
            for i in range(self.m):
                self.scale[i] = np.max(np.abs(self.rawdat[:,i]));
                self.dat[:,i] = self.rawdat[:,i] / np.max(np.abs(self.rawdat[:,i]));


    def _split(self, train, valid, test):

        train_set = range(self.P+self.h-1, train);
        valid_set = range(train, valid);
        test_set = range(valid, self.n);
        self.train = self._batchify(train_set, self.h);
        self.valid = self._batchify(valid_set, self.h);
        self.test = self._batchify(test_set, self.h);


    def _batchify(self, idx_set, horizon):

        n = len(idx_set);
        X = torch.zeros((n,self.P,self.m));
        Y = torch.zeros((n,self.m));

        for i in range(n):
            end = idx_set[i] - self.h + 1;
            start = end - self.P;
            X[i,:,:] = torch.from_numpy(self.dat[start:end, :]);
            Y[i,:] = torch.from_numpy(self.dat[idx_set[i], :]);

        return [X, Y];

    def get_batches(self, inputs, targets, batch_size, shuffle=True):
        length = len(inputs)
        if shuffle:
            index = torch.randperm(length)
        else:
            index = torch.LongTensor(range(length))
        start_idx = 0
        while (start_idx < length):
            end_idx = min(length, start_idx + batch_size)
            excerpt = index[start_idx:end_idx]
            X = inputs[excerpt]; Y = targets[excerpt];
            if (self.cuda):
                X = X.cuda();
                Y = Y.cuda();
            yield X, Y;  # upstream: yield Variable(X), Variable(Y);
            start_idx += batch_size


class Model(nn.Module):
    def __init__(self, args, data):
        super(Model, self).__init__()
        self.use_cuda = args.cuda
        self.P = args.window;
        self.m = data.m
        self.hidR = args.hidRNN;
        self.hidC = args.hidCNN;
        self.hidS = args.hidSkip;
        self.Ck = args.CNN_kernel;
        self.skip = int(args.skip);  # upstream: args.skip (a float from argparse; Python 2 and torch 0.3)
        # upstream: self.pt = (self.P - self.Ck)/self.skip (a float, and a ZeroDivisionError for --skip 0)
        self.pt = (self.P - self.Ck)//self.skip if self.skip > 0 else 0
        self.hw = args.highway_window
        self.conv1 = nn.Conv2d(1, self.hidC, kernel_size = (self.Ck, self.m));
        self.GRU1 = nn.GRU(self.hidC, self.hidR);
        self.dropout = nn.Dropout(p = args.dropout);
        if (self.skip > 0):
            self.GRUskip = nn.GRU(self.hidC, self.hidS);
            self.linear1 = nn.Linear(self.hidR + self.skip * self.hidS, self.m);
        else:
            self.linear1 = nn.Linear(self.hidR, self.m);
        if (self.hw > 0):
            self.highway = nn.Linear(self.hw, 1);
        self.output = None;
        if (args.output_fun == 'sigmoid'):
            self.output = torch.sigmoid;  # upstream: F.sigmoid (deprecated alias)
        if (args.output_fun == 'tanh'):
            self.output = torch.tanh;  # upstream: F.tanh (deprecated alias)

    def forward(self, x):
        batch_size = x.size(0);

        #CNN
        c = x.view(-1, 1, self.P, self.m);
        c = F.relu(self.conv1(c));
        c = self.dropout(c);
        c = torch.squeeze(c, 3);

        # RNN
        r = c.permute(2, 0, 1).contiguous();
        _, r = self.GRU1(r);
        r = self.dropout(torch.squeeze(r,0));


        #skip-rnn

        if (self.skip > 0):
            s = c[:,:, int(-self.pt * self.skip):].contiguous();
            s = s.view(batch_size, self.hidC, self.pt, self.skip);
            s = s.permute(2,0,3,1).contiguous();
            s = s.view(self.pt, batch_size * self.skip, self.hidC);
            _, s = self.GRUskip(s);
            s = s.view(batch_size, self.skip * self.hidS);
            s = self.dropout(s);
            r = torch.cat((r,s),1);

        res = self.linear1(r);

        #highway
        if (self.hw > 0):
            z = x[:, -self.hw:, :];
            z = z.permute(0,2,1).contiguous().view(-1, self.hw);
            z = self.highway(z);
            z = z.view(-1,self.m);
            res = res + z;

        if (self.output):
            res = self.output(res);
        return res;


class Optim(object):

    def _makeOptimizer(self):
        if self.method == 'sgd':
            self.optimizer = optim.SGD(self.params, lr=self.lr)
        elif self.method == 'adagrad':
            self.optimizer = optim.Adagrad(self.params, lr=self.lr)
        elif self.method == 'adadelta':
            self.optimizer = optim.Adadelta(self.params, lr=self.lr)
        elif self.method == 'adam':
            self.optimizer = optim.Adam(self.params, lr=self.lr)
        else:
            raise RuntimeError("Invalid optim method: " + self.method)

    def __init__(self, params, method, lr, max_grad_norm, lr_decay=1, start_decay_at=None):
        self.params = list(params)  # careful: params may be a generator
        self.last_ppl = None
        self.lr = lr
        self.max_grad_norm = max_grad_norm
        self.method = method
        self.lr_decay = lr_decay
        self.start_decay_at = start_decay_at
        self.start_decay = False

        self._makeOptimizer()

    def step(self):
        # Compute gradients norm.
        grad_norm = 0
        for param in self.params:
            grad_norm += math.pow(param.grad.data.norm(), 2)

        grad_norm = math.sqrt(grad_norm)
        if grad_norm > 0 and self.max_grad_norm is not None:  # upstream: if grad_norm > 0: (no_clipping variant: None)
            shrinkage = self.max_grad_norm / grad_norm
        else:
            shrinkage = 1.

        for param in self.params:
            if shrinkage < 1:
                param.grad.data.mul_(shrinkage)

        self.optimizer.step()
        return grad_norm


def evaluate(data, X, Y, model, evaluateL2, evaluateL1, batch_size):
    model.eval();
    total_loss = 0;
    total_loss_l1 = 0;
    n_samples = 0;
    predict = None;
    test = None;

    with torch.no_grad():  # upstream: autograd on (torch 0.3 Variables); no number changes
        for X, Y in data.get_batches(X, Y, batch_size, False):
            output = model(X);
            if predict is None:
                predict = output;
                test = Y;
            else:
                predict = torch.cat((predict,output));
                test = torch.cat((test, Y));

            scale = data.scale.expand(output.size(0), data.m)
            total_loss += evaluateL2(output * scale, Y * scale).item()  # upstream: .data[0]
            total_loss_l1 += evaluateL1(output * scale, Y * scale).item()  # upstream: .data[0]
            n_samples += (output.size(0) * data.m);
    rse = math.sqrt(total_loss / n_samples)/data.rse
    rae = (total_loss_l1/n_samples)/data.rae

    predict = predict.data.cpu().numpy();
    Ytest = test.data.cpu().numpy();
    sigma_p = (predict).std(axis = 0);
    sigma_g = (Ytest).std(axis = 0);
    mean_p = predict.mean(axis = 0)
    mean_g = Ytest.mean(axis = 0)
    index = (sigma_g!=0);
    with np.errstate(divide="ignore", invalid="ignore"):  # upstream: numpy's warnings printed
        correlation = ((predict - mean_p) * (Ytest - mean_g)).mean(axis = 0)/(sigma_p * sigma_g);
    correlation = (correlation[index]).mean();
    return float(rse), float(rae), float(correlation);


class _Args:
    """main.py's argparse defaults (the ones the model and loop read)."""
    model = 'LSTNet'
    hidCNN = HID_CNN
    hidRNN = HID_RNN
    window = WINDOW
    CNN_kernel = 6
    highway_window = 24
    clip = 10.
    epochs = EPOCHS
    batch_size = 128
    dropout = 0.2
    seed = 54321
    cuda = False
    optim = 'adam'
    lr = 0.001
    horizon = 12
    skip = 24
    hidSkip = 5
    L1Loss = True
    normalize = 2
    output_fun = 'sigmoid'


def train(seed: int = 1, lr_mult: float = 1.0, clip: float | None = 10., init_std: float | None = None,
          zero_grad: bool = True, normalize: int = 2, output_fun: str = 'sigmoid', batch_size: int = 128,
          skip: int = 24, epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    args = _Args()
    args.lr = args.lr * lr_mult
    args.clip = clip
    args.normalize = normalize
    args.output_fun = output_fun
    args.batch_size = batch_size
    args.skip = skip
    args.epochs = epochs
    args.seed = 54321 + seed  # upstream: 54321

    # Set the random seed manually for reproducibility.
    torch.manual_seed(args.seed)

    Data = Data_utility(make_series(), 0.6, 0.2, args.cuda, args.horizon, args.window, args.normalize);

    model = Model(args, Data);  # upstream: eval(args.model).Model(args, Data)
    if init_std is not None:  # the init_large variant: N(0, init_std) for every weight and bias
        for p in model.parameters():
            nn.init.normal_(p, 0.0, init_std)

    if args.L1Loss:
        criterion = nn.L1Loss(reduction='sum');  # upstream: size_average=False
    else:
        criterion = nn.MSELoss(reduction='sum');  # upstream: size_average=False
    evaluateL2 = nn.MSELoss(reduction='sum');  # upstream: size_average=False
    evaluateL1 = nn.L1Loss(reduction='sum')  # upstream: size_average=False

    optim_ = Optim(
        model.parameters(), args.optim, args.lr, args.clip,
    )
    monitor = gradmedic.watch(model, optim_.optimizer, every=every)  # gradmedic

    init_rse, init_rae, init_corr = evaluate(Data, Data.test[0], Data.test[1], model, evaluateL2, evaluateL1,
                                             args.batch_size)
    losses, epoch_losses = [], []
    best_val, best_test = 10000000, float("nan")
    for epoch in range(1, args.epochs+1):
        # train(Data, Data.train[0], Data.train[1], model, criterion, optim, args.batch_size), written out:
        model.train();
        total_loss = 0;
        n_samples = 0;
        for X, Y in Data.get_batches(Data.train[0], Data.train[1], args.batch_size, True):
            if zero_grad:  # the no_zero_grad variant leaves this out
                model.zero_grad();
            output = model(X);
            scale = Data.scale.expand(output.size(0), Data.m)
            loss = criterion(output * scale, Y * scale);
            loss.backward();
            monitor.step(loss)  # gradmedic
            optim_.step();
            total_loss += loss.item();  # upstream: loss.data[0]
            losses.append(loss.item())
            n_samples += (output.size(0) * Data.m);
        train_loss = total_loss / n_samples
        epoch_losses.append(train_loss)
        val_loss, val_rae, val_corr = evaluate(Data, Data.valid[0], Data.valid[1], model, evaluateL2, evaluateL1,
                                               args.batch_size);
        if val_loss < best_val:  # upstream: torch.save(model, args.save) here, reloaded for the final test
            best_val = val_loss
            best_test = evaluate(Data, Data.test[0], Data.test[1], model, evaluateL2, evaluateL1, args.batch_size)[0]
        if verbose:
            print('| end of epoch {:3d} | train_loss {:5.4f} | valid rse {:5.4f} | valid rae {:5.4f} | valid corr '
                  '{:5.4f} ({:.1f}s)'.format(epoch, train_loss, val_loss, val_rae, val_corr, time.time() - t0),
                  flush=True)
    monitor.close()

    # upstream: the best-validation checkpoint is reloaded for the final test; here the final model is tested
    test_rse, test_rae, test_corr = evaluate(Data, Data.test[0], Data.test[1], model, evaluateL2, evaluateL1,
                                             args.batch_size);
    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "rse", "value": test_rse if math.isfinite(test_rse) else float("nan"),
            "initial": init_rse, "initial_what": "the untrained model's test RSE (root squared error over the test "
                                                 "targets' standard deviation, raw units)",
            "chance": 1.0,
            "extra": {"train_loss": float(np.mean(la[-20:])), "first_loss": float(np.mean(la[:5])),
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "steps": len(la), "epochs": args.epochs,
                      "train_loss_per_value": float(epoch_losses[-1]), "test_rae": test_rae,
                      "test_corr": float(test_corr), "initial_rae": init_rae, "initial_corr": float(init_corr),
                      "best_val_rse": float(best_val), "test_rse_at_best_val": float(best_test),
                      "lr": args.lr, "lr_mult": lr_mult, "clip": -1.0 if clip is None else clip,
                      "init_std": -1.0 if init_std is None else init_std, "zero_grad": zero_grad,
                      "normalize": normalize, "output_fun": str(output_fun), "batch_size": batch_size, "skip": skip,
                      "window": args.window, "hidCNN": args.hidCNN, "hidRNN": args.hidRNN,
                      "train_windows": len(Data.train[0]), "test_windows": len(Data.test[0])},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="lstnet", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"LSTNet (Conv2d {HID_CNN}x(6, m), GRU {HID_RNN}, skip-GRU 5 x 24, highway 24, sigmoid output; window {WINDOW}, "
      f"horizon 12, dropout 0.2; L1Loss(reduction='sum') in raw units; Adam lr 1e-3, clip 10, batch 128, {EPOCHS} epochs; "
      f"normalize 2)")
CASES: list[dict] = (
    [_case(f"lstnet_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"lstnet_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({1e-3 * k:g}), clip 10 kept")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("lstnet_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 (1e-06)")]
    + [_case("lstnet_raw_sigmoid_s1", "unscaled_inputs", 1, {"normalize": 0},
             f"{_P}: --normalize 0: the raw series (37-7500) go into the Conv2d and the highway, scale = 1, so the "
             f"sigmoid output is compared with targets in the hundreds and thousands")]
    + [_case("lstnet_raw_linear_s1", "unscaled_target", 1, {"normalize": 0, "output_fun": None},
             f"{_P}: --normalize 0 --output_fun Linear (ele.sh's output): raw series in, raw targets (37-7500) out "
             f"of a linear head")]
    + [_case("lstnet_no_clip_lr_x10_s1", "no_clipping", 1, {"lr_mult": 10, "clip": None},
             f"{_P}: Optim's gradient-norm clipping taken out and Adam lr x10 (0.01)")]
    + [_case(f"lstnet_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every parameter (Conv2d, both GRUs, linear1, highway; weights and "
             f"biases) instead of PyTorch's defaults") for s in (1, 2)]
    + [_case(f"lstnet_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: model.zero_grad() left out of train(): the gradients accumulate (clip 10 still applied to "
             f"the sum)") for s in (1, 2)]
    + [_case("lstnet_batch64_s1", "healthy", 1, {"batch_size": 64}, f"{_P}: batch_size 64 (expected harmless)")]
    + [_case("lstnet_skip0_s1", "healthy", 1, {"skip": 0},
             f"{_P}: --skip 0: no skip-GRU, linear1 on the GRU state alone (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
