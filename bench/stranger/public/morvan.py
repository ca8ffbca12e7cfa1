"""Two programs of MorvanZhou/PyTorch-Tutorial (the batch-normalization demo's deep tanh MLP, the LSTM digit
classifier), watched by gradmedic.

Adapted from https://github.com/MorvanZhou/PyTorch-Tutorial (commit dbe154a9e56635e51c6b0c2ccea8ae36cfb585a7;
MIT License, Copyright (c) 2017, see LICENSE-morvan): tutorial-contents/504_batch_normalization.py ("bn",
case prefix mbn) and tutorial-contents/402_RNN_classifier.py ("rnn", case prefix mrnn).  ``train(prog=...)``
runs one of them.

Kept as in the original:
- bn: the data (``x = linspace(-7, 10, 2000)``, ``y = x**2 - 5 + N(0, 2)`` noise; test set ``linspace(-7, 10,
  200)`` with its own noise), ``Net`` (``bn_input = BatchNorm1d(1, momentum=0.5)``, N_HIDDEN = 8 hidden
  ``Linear`` layers of width 10, each followed by ``BatchNorm1d(10, momentum=0.5)`` when ``batch_normalization``
  and by ``ACTIVATION = torch.tanh``, ``predict = Linear(10, 1)``), ``_set_init`` (``normal_(weight, 0, .1)``,
  ``constant_(bias, B_INIT = -0.2)``: upstream's "bad bias constant initializer") on every Linear, BATCH_SIZE 64,
  EPOCH 12 (32 steps an epoch, 384 steps), Adam LR 0.03, ``nn.MSELoss``, the loop (forward, loss, zero_grad,
  backward, step) and the test MSE measured in ``eval()`` mode at the start of each epoch and after training.
  The healthy program is the batch-normalized net (``batch_normalization=True``), the one the tutorial shows
  working; the net without it is the variant the tutorial shows failing.
- rnn: ``RNN`` (``nn.LSTM(input_size=28, hidden_size=64, num_layers=1, batch_first=True)``, zero initial state,
  ``Linear(64, 10)`` on the last time step's output), PyTorch's default initialization, BATCH_SIZE 64 with a
  shuffled training loader, Adam LR 0.01, ``nn.CrossEntropyLoss``, images read row by row (``view(-1, 28, 28)``),
  inputs in [0, 1] as ``ToTensor`` gives them (no Normalize, as upstream), the loop (forward, loss, zero_grad,
  backward, step; no clipping), test accuracy by ``torch.max(test_output, 1)[1]``.

Changed to run offline on one CPU thread in a few seconds a run:
- bn: upstream's numpy noise is unseeded (``np.random.seed(1)`` commented out); here it is drawn from
  ``np.random.RandomState(seed)``, and ``torch.manual_seed(seed)``.  One net per run (upstream trains the plain
  and the BN net side by side, each with its own Adam); ``num_workers=0`` instead of 2, the shuffle seeded by a
  ``torch.Generator``; no plots (the histograms, the loss curves); ``Net.forward`` still returns
  ``(out, layer_input, pre_activation)``.  ``ACTIVATION`` is an argument (``torch.relu`` is a variant, the one
  the tutorial's comment offers).  Metric: the final test MSE (200 points), against the untrained net's test MSE
  (``initial``, upstream's first recorded test loss).
- rnn: MNIST (torchvision does not import here) is mnist.py's ``digits28(raw_pixels=True)`` divided by 255 as
  ``ToTensor`` does (scikit-learn's ``load_digits`` split 80/20 with random_state=0, upsampled bilinearly to
  28x28: 1437 training and 360 test images, the whole test set instead of 2000 of MNIST's); 16 epochs of 23
  steps (368 steps; upstream: 1 epoch of 938 on MNIST's 60000 images); the test accuracy only at the end; no
  plots or printed predictions.
- both: CPU only; the bugs of the variants (``lr_mult``, ``batch_normalization``, ``activation``, ``init_std``,
  ``raw_pixels``) as in ``train``'s docstring.

The watch, as a user would: ``monitor = gradmedic.watch(net, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the loop.

``CASES`` (in the shape of run.py's ``case()``, all of program "morvan"; run.py finds a variant's control as the
first "_" token of its name + "_healthy_s<seed>"): each program on seeds 1-3 and one change each against the same
seed's healthy run.  bn: the net without batch normalization (seeds 1 and 2), lr x10 and x100, N(0, 1) instead
of N(0, .1) in ``_set_init``, ReLU instead of tanh (with and without batch normalization).  rnn: lr x10, x100
(seeds 1 and 2), /1000, raw 0..255 pixels, N(0, 1) on every weight.  Labels come from run.py's outcome rules.
Recorded (cases-public14, 19 cases, 122 s in all; bn runs 2-4 s, rnn runs 7-9 s): bn healthy test MSE 98.8, 90.7,
76.2 on seeds 1-3 (from ~1170 untrained; the BN net's eval-mode MSE is noisy from epoch to epoch, its running
statistics follow the last batches at momentum 0.5); without batch normalization 690 and 692 (broken: the plain
net fits little more than the mean, as the tutorial shows); lr x10 248 and x100 368 (broken); N(0, 1) in
``_set_init`` 39.9 (healthy: better than its control, BatchNorm undoes the weights' scale); ReLU with BN 110
(healthy); ReLU without BN 829 (broken).  rnn healthy accuracy 0.964, 0.961, 0.964; lr x10 0.775, x100 0.075 and
0.100, /1000 0.200, raw 0..255 pixels 0.619, N(0, 1) on every weight 0.550 (all broken).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.utils.data as Data
from mnist import digits28
from torch import nn
from torch.nn import init

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(net, optimizer, every=10) right after the Adam is built; monitor.step(loss) right after "
              "loss.backward() (MSELoss for bn, CrossEntropyLoss for rnn), before optimizer.step() (no clipping)")

# 504_batch_normalization.py ------------------------------------------------------------------------------------
# Hyper parameters
N_SAMPLES = 2000
BATCH_SIZE = 64
EPOCH = 12
LR = 0.03
N_HIDDEN = 8
B_INIT = -0.2   # use a bad bias constant initializer


class Net(nn.Module):
    def __init__(self, batch_normalization=False, activation=torch.tanh, init_std=.1):
        super().__init__()
        self.do_bn = batch_normalization
        self.activation = activation  # upstream: the module-level ACTIVATION
        self.init_std = init_std      # upstream: .1 in _set_init
        self.fcs = []
        self.bns = []
        self.bn_input = nn.BatchNorm1d(1, momentum=0.5)   # for input data

        for i in range(N_HIDDEN):               # build hidden layers and BN layers
            input_size = 1 if i == 0 else 10
            fc = nn.Linear(input_size, 10)
            setattr(self, f'fc{i}', fc)       # IMPORTANT set layer to the Module
            self._set_init(fc)                  # parameters initialization
            self.fcs.append(fc)
            if self.do_bn:
                bn = nn.BatchNorm1d(10, momentum=0.5)
                setattr(self, f'bn{i}', bn)   # IMPORTANT set layer to the Module
                self.bns.append(bn)

        self.predict = nn.Linear(10, 1)         # output layer
        self._set_init(self.predict)            # parameters initialization

    def _set_init(self, layer):
        init.normal_(layer.weight, mean=0., std=self.init_std)
        init.constant_(layer.bias, B_INIT)

    def forward(self, x):
        pre_activation = [x]
        if self.do_bn:
            x = self.bn_input(x)     # input batch normalization
        layer_input = [x]
        for i in range(N_HIDDEN):
            x = self.fcs[i](x)
            pre_activation.append(x)
            if self.do_bn:
                x = self.bns[i](x)   # batch normalization
            x = self.activation(x)
            layer_input.append(x)
        out = self.predict(x)
        return out, layer_input, pre_activation


def run_bn(seed, lr_mult, batch_normalization, activation, init_std, every, verbose):
    rs = np.random.RandomState(seed)
    # training data
    x = np.linspace(-7, 10, N_SAMPLES)[:, np.newaxis]
    noise = rs.normal(0, 2, x.shape)
    y = np.square(x) - 5 + noise

    # test data
    test_x = np.linspace(-7, 10, 200)[:, np.newaxis]
    noise = rs.normal(0, 2, test_x.shape)
    test_y = np.square(test_x) - 5 + noise

    train_x, train_y = torch.from_numpy(x).float(), torch.from_numpy(y).float()
    test_x = torch.from_numpy(test_x).float()
    test_y = torch.from_numpy(test_y).float()

    g = torch.Generator()
    g.manual_seed(seed)
    train_dataset = Data.TensorDataset(train_x, train_y)
    train_loader = Data.DataLoader(dataset=train_dataset, batch_size=BATCH_SIZE, shuffle=True, num_workers=0,
                                   generator=g)

    net = Net(batch_normalization=batch_normalization, activation=activation, init_std=init_std)
    lr = LR * lr_mult
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    monitor = gradmedic.watch(net, opt, every=every)  # gradmedic
    loss_func = torch.nn.MSELoss()

    test_losses, losses = [], []
    t0 = time.time()
    for epoch in range(EPOCH):
        net.eval()              # set eval mode to fix moving_mean and moving_var
        with torch.no_grad():
            pred, _, _ = net(test_x)
        test_losses.append(loss_func(pred, test_y).item())
        net.train()             # free moving_mean and moving_var
        if verbose:
            print(f"Epoch: {epoch} test loss {test_losses[-1]:.4g} ({time.time() - t0:.1f}s)", flush=True)
        for _step, (b_x, b_y) in enumerate(train_loader):
            pred, _, _ = net(b_x)
            loss = loss_func(pred, b_y)
            opt.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            opt.step()    # it will also learns the parameters in Batch Normalization
            losses.append(loss.item())
    net.eval()
    with torch.no_grad():
        pred, _, _ = net(test_x)
    test_mse = loss_func(pred, test_y).item()
    monitor.close()
    if verbose:
        print(f"final test loss {test_mse:.4g}")
    return {"monitors": {"": monitor}, "metric": "test_mse", "value": float(test_mse), "chance": None,
            "initial": float(test_losses[0]),
            "initial_what": "untrained: the test MSE of the net before its first step (eval mode)",
            "extra": {"test_losses": test_losses, "train_loss": float(np.mean(losses[-20:])),
                      "initial_train_loss": float(np.mean(losses[:5])), "steps": len(losses), "lr": lr},
            "seconds": time.time() - t0}


# 402_RNN_classifier.py -----------------------------------------------------------------------------------------
RNN_EPOCH = 16          # upstream: 1 epoch of MNIST (938 steps)
TIME_STEP = 28          # rnn time step / image height
INPUT_SIZE = 28         # rnn input size / image width
RNN_LR = 0.01           # learning rate


class RNN(nn.Module):
    def __init__(self):
        super().__init__()

        self.rnn = nn.LSTM(         # if use nn.RNN(), it hardly learns
            input_size=INPUT_SIZE,
            hidden_size=64,         # rnn hidden unit
            num_layers=1,           # number of rnn layer
            batch_first=True,       # input & output will has batch size as 1s dimension. e.g. (batch, time_step,
                                    # input_size)
        )

        self.out = nn.Linear(64, 10)

    def forward(self, x):
        # x shape (batch, time_step, input_size)
        # r_out shape (batch, time_step, output_size)
        # h_n shape (n_layers, batch, hidden_size)
        # h_c shape (n_layers, batch, hidden_size)
        r_out, (h_n, h_c) = self.rnn(x, None)   # None represents zero initial hidden state

        # choose r_out at the last time step
        out = self.out(r_out[:, -1, :])
        return out


def run_rnn(seed, lr_mult, raw_pixels, init_std, epochs, every, verbose):
    # Mnist digital dataset -> scikit-learn's digits upsampled to 28x28, as ToTensor gives them: [0, 1]
    d_train, d_test = digits28(raw_pixels=True)  # 0..255
    scale = 1.0 if raw_pixels else 255.  # the bug: raw 0..255 pixel values, no ToTensor scaling
    train_data = Data.TensorDataset(d_train.tensors[0] / scale, d_train.tensors[1])
    g = torch.Generator()
    g.manual_seed(seed)
    train_loader = torch.utils.data.DataLoader(dataset=train_data, batch_size=BATCH_SIZE, shuffle=True, generator=g)
    test_x = (d_test.tensors[0] / scale).view(-1, 28, 28)   # shape (360, 28, 28) value in range(0,1)
    test_y = d_test.tensors[1].numpy()

    rnn = RNN()
    if init_std is not None:  # the bug: normal_(0, std) on every weight (LSTM and Linear), biases kept
        for name, p in rnn.named_parameters():
            if "weight" in name:
                init.normal_(p, 0.0, init_std)
    lr = RNN_LR * lr_mult
    optimizer = torch.optim.Adam(rnn.parameters(), lr=lr)   # optimize all cnn parameters
    monitor = gradmedic.watch(rnn, optimizer, every=every)  # gradmedic
    loss_func = nn.CrossEntropyLoss()                       # the target label is not one-hotted

    losses = []
    t0 = time.time()
    # training and testing
    for epoch in range(epochs):
        for _step, (b_x, b_y) in enumerate(train_loader):        # gives batch data
            b_x = b_x.view(-1, 28, 28)              # reshape x to (batch, time_step, input_size)

            output = rnn(b_x)                               # rnn output
            loss = loss_func(output, b_y)                   # cross entropy loss
            optimizer.zero_grad()                           # clear gradients for this training step
            loss.backward()                                 # backpropagation, compute gradients
            monitor.step(loss)                              # gradmedic
            optimizer.step()                                # apply gradients
            losses.append(loss.item())
        if verbose:
            print(f"epoch {epoch} train loss {np.mean(losses[-23:]):.4f} ({time.time() - t0:.1f}s)", flush=True)

    with torch.no_grad():
        test_output = rnn(test_x)                   # (samples, time_step, input_size)
    pred_y = torch.max(test_output, 1)[1].data.numpy()
    accuracy = float((pred_y == test_y).astype(int).sum()) / float(test_y.size)
    monitor.close()
    if verbose:
        print(f"test accuracy {accuracy:.4f}")
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(accuracy), "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"train_loss": float(np.mean(losses[-20:])), "initial_train_loss": float(np.mean(losses[:5])),
                      "steps": len(losses), "lr": lr},
            "seconds": time.time() - t0}


def train(seed: int = 1, prog: str = "bn", lr_mult: float = 1.0, batch_normalization: bool = True,
          activation: str = "tanh", init_std: float | None = None, raw_pixels: bool = False,
          epochs: int = RNN_EPOCH, every: int = 10, verbose: bool = False) -> dict:
    """``prog``: "bn" (504_batch_normalization.py) or "rnn" (402_RNN_classifier.py).  Variants: ``lr_mult``
    multiplies the Adam rate; bn: ``batch_normalization=False`` (the tutorial's plain net), ``activation="relu"``
    (``torch.relu`` for ``ACTIVATION``), ``init_std`` replaces ``_set_init``'s std .1; rnn: ``init_std``:
    ``normal_(0, init_std)`` on every weight of the LSTM and the Linear, ``raw_pixels``: 0..255 values."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    torch.manual_seed(seed)
    if prog == "bn":
        act = {"tanh": torch.tanh, "relu": torch.relu}[activation]
        return run_bn(seed, lr_mult, batch_normalization, act, .1 if init_std is None else init_std, every, verbose)
    if prog == "rnn":
        return run_rnn(seed, lr_mult, raw_pixels, init_std, epochs, every, verbose)
    raise ValueError(prog)


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="morvan", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_BN = {"prog": "bn"}
_RNN = {"prog": "rnn"}

CASES: list[dict] = (
    [_case(f"mbn_healthy_s{s}", "healthy", s, dict(_BN), "unchanged (8 tanh layers of 10 with BatchNorm1d, N(0, .1) "
           "weights, bias -0.2, Adam lr 0.03, MSELoss, batch 64, 12 epochs)", False) for s in (1, 2, 3)]
    + [_case(f"mbn_no_bn_s{s}", "no_norm", s, dict(_BN, batch_normalization=False),
             "batch_normalization=False: the same net without its BatchNorm1d layers (the tutorial's plain net)")
       for s in (1, 2)]
    + [_case(f"mbn_lr_x{k}_s1", "lr_high", 1, dict(_BN, lr_mult=k), f"Adam lr x{k} ({0.03 * k:g})") for k in (10, 100)]
    + [_case("mbn_init_std1_s1", "init_large", 1, dict(_BN, init_std=1.0),
             "_set_init: normal_(weight, 0, 1.0) instead of std .1 on every Linear (bias -0.2 kept)")]
    + [_case("mbn_relu_s1", "healthy", 1, dict(_BN, activation="relu"),
             "ACTIVATION = torch.relu instead of torch.tanh (batch normalization kept)")]
    + [_case("mbn_relu_no_bn_s1", "dead_relu", 1, dict(_BN, activation="relu", batch_normalization=False),
             "ACTIVATION = torch.relu and batch_normalization=False: ReLUs under the bias -0.2 init with no BatchNorm")]
    + [_case(f"mrnn_healthy_s{s}", "healthy", s, dict(_RNN), "unchanged (LSTM(28, 64, 1 layer, batch_first) + "
             "Linear(64, 10), Adam lr 0.01, CrossEntropyLoss, batch 64, inputs in [0, 1], 16 epochs)", False)
       for s in (1, 2, 3)]
    + [_case(f"mrnn_lr_x{k}_s{s}", "lr_high", s, dict(_RNN, lr_mult=k), f"Adam lr x{k} ({0.01 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("mrnn_lr_div1000_s1", "lr_low", 1, dict(_RNN, lr_mult=1e-3), "Adam lr /1000 (1e-05)")]
    + [_case("mrnn_raw_pixels_s1", "unscaled_inputs", 1, dict(_RNN, raw_pixels=True),
             "raw 0..255 pixel values: no ToTensor scaling")]
    + [_case("mrnn_init_std1_s1", "init_large", 1, dict(_RNN, init_std=1.0),
             "nn.init.normal_(std=1.0) on every weight (LSTM weight_ih, weight_hh, Linear) instead of PyTorch's "
             "default uniform +-1/sqrt(64); biases kept")]
)


if __name__ == "__main__":
    import sys
    kw = dict(a.split("=") for a in sys.argv[1:])
    kw = {k: (v if k in ("prog", "activation") else v == "1" if k in ("batch_normalization", "raw_pixels")
              else float(v)) for k, v in kw.items()}
    for k in ("epochs", "seed"):
        if k in kw:
            kw[k] = int(kw[k])
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
