"""Sung Kim's PyTorchZeroToAll (hunkim/PyTorchZeroToAll): the "hihell" -> "ihello" character RNN, watched by gradmedic.

Adapted from https://github.com/hunkim/PyTorchZeroToAll, file 12_2_hello_rnn.py at commit
e5a260fac0b4ff1e2ec434fc6f0d962ac97fc289 (HEAD; the file last changed in 47bb7e1f4f7950a37f72aafa99accddbd4fea9eb,
"Fix dimension errors in 12_2_hello_rnn.py").  The brief named 12_1_hello_rnn.py; the repository has no such file
(12_1 is 12_1_rnn_basics.py, shapes only, no training): 12_2_hello_rnn.py is the program it describes (nn.RNN with
hidden size 5 fed one character at a time, CrossEntropyLoss, Adam lr 0.1, 100 epochs).  Its sequence variant
12_3_hello_rnn_seq.py is the same net fed the whole sequence at once (and still uses ``loss.data[0]``, which fails on
current PyTorch); 12_4_hello_rnn_emb.py adds an Embedding and a Linear head.  The repository states no licence (see
LICENSE-szkrnn).  The data is the program's own: ``x_data = [0, 1, 0, 2, 3, 3]`` ("hihell") one-hot, labels
``y_data = [1, 0, 2, 3, 3, 4]`` ("ihello") over ``idx2char = ['h', 'i', 'e', 'l', 'o']``.

Kept as upstream has it: ``Model`` with ``nn.RNN(input_size=5, hidden_size=5, batch_first=True)`` whose hidden state
(tanh, 5 units) is read directly as the 5 class logits (``out.view(-1, num_classes)``), PyTorch's default RNN init;
``forward(hidden, x)`` on one character (batch 1, sequence length 1), ``init_hidden()`` zeros; the loop: per epoch
``optimizer.zero_grad()``, ``loss = 0``, ``hidden = model.init_hidden()``, then for each of the 6 characters
``hidden, output = model(hidden, input)`` and ``loss += criterion(output, label)`` (the loss is the SUM of the 6
per-character cross-entropies), then ``loss.backward()``, ``optimizer.step()``; ``nn.CrossEntropyLoss()``;
``torch.optim.Adam(model.parameters(), lr=0.1)``; 100 epochs (100 steps, well under a second of training).

Changed: ``torch.manual_seed(seed)`` instead of upstream's fixed ``torch.manual_seed(777)``; ``Variable`` dropped
(a no-op in current PyTorch); ``super(Model, self)`` written ``super()`` (ruff);
the label as ``labels[i:i + 1]`` instead of ``torch.LongTensor([label])`` (the same
1-element tensor); the predicted-string printing is kept only as a count of characters right.  The metric is "loss":
the final summed training loss (mean of the last 20 epochs), "initial" its mean over the first 5 epochs.  The
character accuracy (fraction of the 6 target characters predicted right in the last epoch) is in ``extra`` but is
not the metric: with 6 characters it moves in steps of 1/6, and seed 1's healthy run ends at 5/6 (0.833) although its
loss falls from 8.0 to 3.2 like the others' (the logits are tanh outputs in [-1, 1], so the summed loss cannot go
below 6 log(1 + 4 e^-2) = 2.6); "chance" is 6 log 5 = 9.66, the summed loss of a uniform guess.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after
``optimizer = torch.optim.Adam(...)``, ``monitor.step(loss)`` with the summed loss right after ``loss.backward()``,
before ``optimizer.step()``; ``monitor.close()`` after the loop.

``CASES`` (program "szkrnn"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10 (1.0); lr x100 (10; seeds 1 and 2); lr /1000 (1e-4); every RNN weight and bias ``normal_(std=1)``
(init_large; default is uniform +-1/sqrt(5) = +-0.45); every RNN weight and bias zero (symmetric_init; here each hidden
unit is its own class logit, so the units are not interchangeable); ``optimizer.zero_grad()`` left out (seeds 1 and 2);
and lr x2 (0.2, expected harmless).
Recorded (cases-public50, under 1 s of training a run): healthy summed loss 7.98 -> 3.170 ("ihelll", 5/6 right),
8.25 -> 2.759 and 8.01 -> 2.776 ("ihello", 6/6) on seeds 1-3 (largest 9.3-10.0); lr x10 (1.0): 6.730, "hhhhhh"
(1/6): broken; lr x100 (10): 10.28 (seed 1) and 11.57 (seed 2), above the uniform guess's 9.66, "hhhhhh": broken;
lr /1000: 9.275 -> 9.147, "ooooll": broken; init std 1: 3.163, "ihelll" (5/6): healthy; zero init: 2.746, "ihello":
healthy; zero_grad left out: 6.959 ("hhhhlo", 3/6; seed 1) and 7.873 ("ehelel", 3/6; seed 2): broken; lr x2: 2.733,
"ihello": healthy.  Labels: 6 healthy (3 programs, 3 variants), 6 broken, 0 ambiguous.  Every loss was finite.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn

import gradmedic

ARCH = "rnn"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = torch.optim.Adam(model.parameters(), lr=0.1); "
              "monitor.step(loss) with the loss summed over the 6 characters right after loss.backward(), before "
              "optimizer.step()")
EPOCHS = 100
LR = 0.1

#            0    1    2    3    4
idx2char = ['h', 'i', 'e', 'l', 'o']

# Teach hihell -> ihello
x_data = [0, 1, 0, 2, 3, 3]   # hihell
one_hot_lookup = [[1, 0, 0, 0, 0],  # 0
                  [0, 1, 0, 0, 0],  # 1
                  [0, 0, 1, 0, 0],  # 2
                  [0, 0, 0, 1, 0],  # 3
                  [0, 0, 0, 0, 1]]  # 4

y_data = [1, 0, 2, 3, 3, 4]    # ihello
x_one_hot = [one_hot_lookup[x] for x in x_data]

num_classes = 5
input_size = 5  # one-hot size
hidden_size = 5  # output from the RNN. 5 to directly predict one-hot
batch_size = 1   # one sentence
sequence_length = 1  # One by one
num_layers = 1  # one-layer rnn


class Model(nn.Module):

    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(input_size=input_size,
                          hidden_size=hidden_size, batch_first=True)

    def forward(self, hidden, x):
        # Reshape input (batch first)
        x = x.view(batch_size, sequence_length, input_size)

        # Propagate input through RNN
        # Input: (batch, seq_len, input_size)
        # hidden: (num_layers * num_directions, batch, hidden_size)
        out, hidden = self.rnn(x, hidden)
        return hidden, out.view(-1, num_classes)

    def init_hidden(self):
        # Initialize hidden and cell states
        # (num_layers * num_directions, batch, hidden_size)
        return torch.zeros(num_layers, batch_size, hidden_size)


def train(seed: int = 1, lr_mult: float = 1.0, init: str = "default", zero_grad: bool = True, epochs: int = EPOCHS,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    torch.manual_seed(seed)  # upstream: torch.manual_seed(777)
    inputs = torch.Tensor(x_one_hot)
    labels = torch.LongTensor(y_data)
    model = Model()
    if init != "default":
        for p in model.rnn.parameters():
            if init == "std1":  # the init_large variant
                nn.init.normal_(p, std=1.0)
            elif init == "zero":  # the symmetric_init variant
                nn.init.zeros_(p)
            else:
                raise ValueError(init)
    lr = LR * lr_mult
    # Set loss and optimizer function
    # CrossEntropyLoss = LogSoftmax + NLLLoss
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)
    losses, accs = [], []
    for epoch in range(epochs):
        if zero_grad:  # the no_zero_grad variant leaves this out
            optimizer.zero_grad()
        loss = 0
        hidden = model.init_hidden()
        right, predicted = 0, ""
        for i, input in enumerate(inputs):
            hidden, output = model(hidden, input)
            val, idx = output.max(1)
            predicted += idx2char[int(idx[0])]
            right += int(idx[0] == labels[i])
            loss += criterion(output, labels[i:i + 1])
        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()
        losses.append(loss.item())
        accs.append(right / len(y_data))
        if verbose and (epoch + 1) % max(1, epochs // 10) == 0:
            print(f"predicted string: {predicted}, epoch: {epoch + 1}, loss: {loss.item():1.3f}", flush=True)
    monitor.close()
    value = float(np.mean(losses[-20:]))
    return {"monitors": {"": monitor}, "metric": "loss", "value": value, "chance": len(y_data) * math.log(num_classes),
            "initial": float(np.mean(losses[:5])),
            "initial_what": "untrained: the loss summed over the 6 characters, mean of the first 5 epochs",
            "extra": dict(train_loss=value, first_loss=float(np.mean(losses[:5])), max_loss=float(np.nanmax(losses)),
                          finite_losses=bool(np.isfinite(losses).all()), steps=len(losses), epochs=epochs, lr=lr,
                          lr_mult=lr_mult, init=init, zero_grad=zero_grad, char_acc=accs[-1],
                          predicted=predicted),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="szkrnn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"hihell -> ihello char RNN (nn.RNN 5 -> 5, hidden state as logits, one character at a time; CrossEntropyLoss "
      f"summed over the 6 characters; Adam lr {LR:g}; {EPOCHS} epochs of one step)")
CASES: list[dict] = (
    [_case(f"szkrnn_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"szkrnn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("szkrnn_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case("szkrnn_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_P}: every RNN weight and bias normal_(std=1)")]
    + [_case("szkrnn_zero_init_s1", "symmetric_init", 1, {"init": "zero"},
             f"{_P}: every RNN weight and bias zeros_")]
    + [_case(f"szkrnn_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)") for s in (1, 2)]
    + [_case("szkrnn_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: lr x2 ({LR * 2:g})")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
