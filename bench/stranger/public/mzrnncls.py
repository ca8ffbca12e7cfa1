"""MorvanZhou/PyTorch-Tutorial's RNN classifier (an LSTM reading digit images row by row, Adam, CrossEntropyLoss),
on scikit-learn's 8x8 digits, watched by gradmedic.

Adapted from https://github.com/MorvanZhou/PyTorch-Tutorial (commit dbe154a9e56635e51c6b0c2ccea8ae36cfb585a7,
tutorial-contents/402_RNN_classifier.py; MIT License, Copyright (c) 2017, see LICENSE-mzrnncls).  The same
upstream file is also ported in morvan.py (program "rnn", case prefix mrnn, on digits upsampled to 28x28); this
port reads the native 8x8 images and carries mostly different changes.

Kept as in the original: ``RNN`` (``nn.LSTM(input_size=INPUT_SIZE, hidden_size=64, num_layers=1,
batch_first=True)``, zero initial state, ``self.out = nn.Linear(64, 10)`` on the last time step's output),
PyTorch's default initialization, BATCH_SIZE 64 with a shuffled DataLoader, ``torch.optim.Adam(rnn.parameters(),
lr=LR)`` with LR 0.01, ``nn.CrossEntropyLoss``, inputs in [0, 1] as ``ToTensor`` gives them (no Normalize), images
read row by row (``b_x.view(-1, TIME_STEP, INPUT_SIZE)``), the loop (forward, loss, zero_grad, backward, step; no
clipping), the test accuracy by ``torch.max(test_output, 1)[1]``.

Changed to run offline on one CPU thread: MNIST (a download) is scikit-learn's ``load_digits`` (1797 images of
8 rows of 8 pixels, 0..16, divided by 16 into [0, 1] as ToTensor scales MNIST's bytes), split 80/20 by
``train_test_split(..., random_state=seed, stratify=y)`` (1437 training images, 23 steps an epoch; the whole 360
test images instead of MNIST's first 2000); TIME_STEP = INPUT_SIZE = 8 instead of 28 (the image's rows and
width); EPOCH 20 (460 steps) instead of 1 epoch of MNIST's 938 steps; the test accuracy measured once after
training (under ``torch.no_grad()``), not every 50 steps; ``torch.manual_seed(seed)`` and a seeded
``torch.Generator`` for the shuffle; no plots or printed predictions; CPU only.

The watch, as a user would: ``monitor = gradmedic.watch(rnn, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the loop.

``CASES`` (program "mzrnncls", case prefix mzrc: run.py finds a variant's control as the first "_" token of its
name + "_healthy_s<seed>"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10, x100 (seeds 1 and 2), x1000 and /1000; the inputs x100 (0..100 instead of [0, 1]) and x1000 (added
after x100 came out ambiguous, as mmbow.py did);
``optimizer.zero_grad()`` left out (seeds 1 and 2); every weight and bias of the LSTM and the Linear set to the
constant 0.05 (symmetric init); ``F.softmax`` applied to the output before ``nn.CrossEntropyLoss`` (wrong loss);
and two changes expected harmless: Adam lr x2 (cause lr_high) and BATCH_SIZE 32 (cause healthy).  Labels come
from run.py's outcome rules only.
Recorded (cases-public90, 16 cases, 30 s in all; 1-2 s a run): healthy test accuracy 0.989, 0.981, 0.986 on
seeds 1-3 (training loss 2.28-2.30 over the first 5 steps -> 0.004-0.036 over the last 20); Adam lr x10 0.925
(ambiguous: good but 6 points below its control; training loss 3.16 at the start, 0.15 at the end); x100 0.100
and 0.103, x1000 0.097 (broken: chance; training losses of 15-17 and 207 at the start, up to 42-56 and 792, all
finite); /1000 0.078 (broken: the loss stays at 2.30); the inputs x100 0.911 (ambiguous: 8 points below its
control), x1000 0.781 (broken); no zero_grad 0.333 and 0.267 (broken: the loss ends at 2.9, above its start); the
constant 0.05 init 0.319 (broken); softmax before CrossEntropyLoss 0.964 (healthy: 2.5 points below its control,
the loss ends at 1.48, the bounded loss's floor being about 1.46, but the argmax is learned); lr x2 0.975 and
batch 32 0.972 (both healthy, as expected).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import gradmedic

ARCH = "lstm"
MONITOR_AT = ("watch(rnn, optimizer, every=10) right after the Adam is built; monitor.step(loss) right after "
              "loss.backward() (CrossEntropyLoss over a batch of 64 images read row by row), before optimizer.step() "
              "(no clipping)")

# Hyper Parameters
EPOCH = 20              # upstream: 1 epoch of MNIST (938 steps); here 20 of 23 steps
BATCH_SIZE = 64
TIME_STEP = 8           # rnn time step / image height  (upstream: 28, MNIST's)
INPUT_SIZE = 8          # rnn input size / image width  (upstream: 28)
LR = 0.01               # learning rate


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


def digits(seed, input_scale):
    # upstream: dsets.MNIST(..., transform=transforms.ToTensor()) -> scikit-learn's 8x8 digits / 16, in [0, 1]
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0 * input_scale).astype(np.float32).reshape(-1, TIME_STEP, INPUT_SIZE)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, random_state=seed, stratify=y)
    return (torch.from_numpy(x_tr), torch.from_numpy(y_tr).long(), torch.from_numpy(x_te), y_te)


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, zero_grad: bool = True,
          const_init: float | None = None, softmax_out: bool = False, batch_size: int = BATCH_SIZE,
          epochs: int = EPOCH, every: int = 10, verbose: bool = False) -> dict:
    """Variants: ``lr_mult`` multiplies Adam's LR 0.01; ``input_scale`` multiplies the [0, 1] pixels (train and
    test); ``zero_grad=False`` leaves out ``optimizer.zero_grad()``; ``const_init``: every weight and bias of the
    LSTM and the Linear set to this constant; ``softmax_out``: ``F.softmax(output, 1)`` fed to CrossEntropyLoss
    (the test accuracy's argmax is unchanged by it); ``batch_size`` replaces BATCH_SIZE 64."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    torch.manual_seed(seed)

    x_tr, y_tr, test_x, test_y = digits(seed, input_scale)
    train_data = torch.utils.data.TensorDataset(x_tr, y_tr)
    g = torch.Generator()
    g.manual_seed(seed)
    # Data Loader for easy mini-batch return in training
    train_loader = torch.utils.data.DataLoader(dataset=train_data, batch_size=batch_size, shuffle=True, generator=g)

    rnn = RNN()
    if const_init is not None:  # the bug: every parameter the same constant (identical hidden units)
        with torch.no_grad():
            for p in rnn.parameters():
                p.fill_(const_init)

    lr = LR * lr_mult
    optimizer = torch.optim.Adam(rnn.parameters(), lr=lr)   # optimize all cnn parameters
    monitor = gradmedic.watch(rnn, optimizer, every=every)  # gradmedic
    loss_func = nn.CrossEntropyLoss()                       # the target label is not one-hotted

    losses = []
    t0 = time.time()
    # training and testing
    for epoch in range(epochs):
        for _step, (b_x, b_y) in enumerate(train_loader):        # gives batch data
            b_x = b_x.view(-1, TIME_STEP, INPUT_SIZE)   # reshape x to (batch, time_step, input_size)

            output = rnn(b_x)                               # rnn output
            if softmax_out:  # the bug: probabilities fed to a loss that expects logits
                output = F.softmax(output, dim=1)
            loss = loss_func(output, b_y)                   # cross entropy loss
            if zero_grad:  # the bug (zero_grad=False): gradients summed over all past steps
                optimizer.zero_grad()                       # clear gradients for this training step
            loss.backward()                                 # backpropagation, compute gradients
            monitor.step(loss)                              # gradmedic
            optimizer.step()                                # apply gradients
            losses.append(loss.item())
        if verbose:
            print(f"epoch {epoch} train loss {np.mean(losses[-23:]):.4f} ({time.time() - t0:.1f}s)", flush=True)

    # upstream: the test accuracy every 50 steps; here once, after training
    with torch.no_grad():
        test_output = rnn(test_x)                   # (samples, time_step, input_size)
    pred_y = torch.max(test_output, 1)[1].data.numpy()
    accuracy = float((pred_y == test_y).astype(int).sum()) / float(test_y.size)
    monitor.close()
    if verbose:
        print(f"test accuracy {accuracy:.4f}")
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(accuracy), "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": {"train_loss": float(np.mean(losses[-20:])), "initial_train_loss": float(np.mean(losses[:5])),
                      "max_train_loss": float(np.max(losses)), "steps": len(losses), "lr": lr},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="mzrnncls", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


CASES: list[dict] = (
    [_case(f"mzrc_healthy_s{s}", "healthy", s, {}, "unchanged (LSTM(8, 64, 1 layer, batch_first) + Linear(64, 10) on "
           "8x8 digits read row by row, inputs in [0, 1], Adam lr 0.01, CrossEntropyLoss, batch 64, 20 epochs)", False)
     for s in (1, 2, 3)]
    + [_case(f"mzrc_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({0.01 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("mzrc_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (1e-05)")]
    + [_case("mzrc_input_x100_s1", "unscaled_inputs", 1, {"input_scale": 100.0},
             "the pixels x100 (0..100 instead of ToTensor's [0, 1]), training and test")]
    + [_case("mzrc_input_x1000_s1", "unscaled_inputs", 1, {"input_scale": 1000.0},
             "the pixels x1000 (0..1000 instead of ToTensor's [0, 1]), training and test (added: x100 was ambiguous)")]
    + [_case(f"mzrc_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             "optimizer.zero_grad() left out of the loop") for s in (1, 2)]
    + [_case("mzrc_const_init_s1", "symmetric_init", 1, {"const_init": 0.05},
             "every weight and bias of the LSTM and the Linear filled with the constant 0.05")]
    + [_case("mzrc_softmax_s1", "wrong_loss", 1, {"softmax_out": True},
             "F.softmax(output, dim=1) fed to nn.CrossEntropyLoss, which expects logits")]
    + [_case("mzrc_lr_x2_s1", "lr_high", 1, {"lr_mult": 2.0}, "Adam lr x2 (0.02; expected harmless)")]
    + [_case("mzrc_batch32_s2", "healthy", 2, {"batch_size": 32}, "BATCH_SIZE 32 instead of 64 (expected harmless)")]
)


if __name__ == "__main__":
    import sys
    kw = dict(a.split("=") for a in sys.argv[1:])
    kw = {k: (v == "1" if k in ("zero_grad", "softmax_out") else float(v)) for k, v in kw.items()}
    for k in ("epochs", "seed", "batch_size"):
        if k in kw:
            kw[k] = int(kw[k])
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
