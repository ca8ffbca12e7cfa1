"""MorvanZhou/PyTorch-Tutorial's classification demo (a 2-10-2 ReLU MLP separating two Gaussian clusters with
CrossEntropyLoss and plain SGD), watched by gradmedic.

Adapted from https://github.com/MorvanZhou/PyTorch-Tutorial (commit 0f4219c72c18ffc28af771b43ec3271573d8fab1,
tutorial-contents/302_classification.py; MIT License, Copyright (c) 2017, see LICENSE-morvancls).

Kept as in the original: the data (``n_data = ones(100, 2)``; class 0 ``x0 = torch.normal(2 * n_data, 1)``, class 1
``x1 = torch.normal(-2 * n_data, 1)``, concatenated as float32 with int64 labels 0/1, 200 points, no
normalization), ``Net(n_feature=2, n_hidden=10, n_output=2)`` (``hidden = Linear(2, 10)``, ``F.relu``,
``out = Linear(10, 2)``) with PyTorch's default initialization (upstream sets none),
``torch.optim.SGD(net.parameters(), lr=0.02)``, ``torch.nn.CrossEntropyLoss()`` on the raw logits, 100 full-batch
steps in upstream's order (forward, loss, zero_grad, backward, step; no clipping, no schedule).

Changed: ``torch.manual_seed(seed)`` at the top, before the data, where upstream has ``torch.manual_seed(1)``
commented out (the data and the init follow the seed).  Added a held-out set drawn the same way (100 more points
of each class, ``torch.normal(2 * n_data, 1)`` and ``torch.normal(-2 * n_data, 1)``), drawn right after the
training data and before the net is built; upstream only prints the training accuracy on its live plot.  No plots
(upstream's scatter and its training-accuracy text every 2 steps do not touch the training); CPU only, one thread.
Nothing was shrunk: a run is upstream's 100 steps of a 52-parameter net on 200 points, well under a second on one
CPU thread (below the 10-60 s aimed at; the model and steps are upstream's).  The metric, ``accuracy``, is the
held-out accuracy at the end (argmax of the logits); ``initial`` is the untrained net's held-out accuracy;
``chance`` is 0.5 (two balanced classes).  The training accuracy and losses go in ``extra``.

The watch, as a user would: ``monitor = gradmedic.watch(net, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the loop.

``CASES`` (in the shape of run.py's ``case()``, program "morvancls", name prefix mcls: run.py finds a variant's
control as the first "_" token of its name + "_healthy_s<seed>"): the program on seeds 1-3; and one change each
against the same seed's healthy run: SGD lr x10, x100 (seeds 1 and 2), x1000 and /1000; the clusters' inputs x100
(``100 * x``, training and held-out; a unit change: upstream does not normalize, so this is "raw units"); ``normal_(0,
1) * 10`` (std 10) on both Linears' weights (biases kept), seeds 1 and 2; a ``softmax`` applied to the logits before
``CrossEntropyLoss`` (the common double-softmax mistake); ``optimizer.zero_grad()`` left out (the gradients
accumulate over the 100 steps).  Labels come from run.py's outcome rules only.
Recorded (cases-public23, 13 cases, 5 s in all inside run.py, 11 s with start-up; well under 1 s a run): healthy
held-out accuracy 1.000, 1.000, 0.995 on seeds 1-3 (from 0.50, 0.32, 0.42 untrained; training loss 0.85 -> 0.08,
0.75 -> 0.09, 0.77 -> 0.12); SGD lr x10 1.000, x100 1.000 and 1.000 (healthy: the clusters are separable and
plain SGD at lr 0.2-2 just fits them faster, final loss 0.009 and 0.0005), x1000 0.500 (broken: the loss is 2.7e11
by the first steps, then NaN); lr /1000 0.500 (broken: loss 0.98 -> 0.97, still the untrained answer); inputs x100
1.000 (ambiguous: the right answer in the end, but the loss starts at 1133 and peaks far above 2x the control's);
std-10 init 1.000 and 0.985 (ambiguous, the same way: starting losses 47 and 6.4); softmax before CrossEntropyLoss
1.000 (healthy: the loss only falls 0.75 -> 0.40, bounded below by the softmax, but the argmax is right); no
zero_grad 1.000 (healthy: the accumulated gradient acts as growing steps and the loss reaches 0.0003).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(net, optimizer, every=10) right after the SGD is built; monitor.step(loss) right after "
              "loss.backward() (CrossEntropyLoss over the full batch of 200 points), before optimizer.step() "
              "(no clipping)")

N_PER_CLASS = 100
LR = 0.02
STEPS = 100


class Net(torch.nn.Module):
    def __init__(self, n_feature, n_hidden, n_output):
        super(Net, self).__init__()  # noqa: UP008 (as upstream)
        self.hidden = torch.nn.Linear(n_feature, n_hidden)   # hidden layer
        self.out = torch.nn.Linear(n_hidden, n_output)   # output layer

    def forward(self, x):
        x = F.relu(self.hidden(x))      # activation function for hidden layer
        x = self.out(x)
        return x


def make_data():
    n_data = torch.ones(N_PER_CLASS, 2)
    x0 = torch.normal(2 * n_data, 1)      # class0 x data (tensor), shape=(100, 2)
    y0 = torch.zeros(N_PER_CLASS)               # class0 y data (tensor), shape=(100, 1)
    x1 = torch.normal(-2 * n_data, 1)     # class1 x data (tensor), shape=(100, 2)
    y1 = torch.ones(N_PER_CLASS)                # class1 y data (tensor), shape=(100, 1)
    x = torch.cat((x0, x1), 0).type(torch.FloatTensor)  # shape (200, 2) FloatTensor = 32-bit floating
    y = torch.cat((y0, y1), ).type(torch.LongTensor)    # shape (200,) LongTensor = 64-bit integer
    return x, y


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, init_std: float | None = None,
          softmax_first: bool = False, zero_grad: bool = True, steps: int = STEPS, every: int = 10,
          verbose: bool = False) -> dict:
    """Variants: ``lr_mult`` multiplies SGD's lr 0.02; ``input_scale``: the net reads ``x * input_scale``
    (training and held-out); ``init_std``: ``normal_(0, init_std)`` on both Linears' weights (biases kept);
    ``softmax_first``: ``loss_func(F.softmax(out, 1), y)``; ``zero_grad=False`` leaves ``optimizer.zero_grad()``
    out."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)    # reproducible (commented out upstream)

    # make fake data
    x, y = make_data()
    test_x, test_y = make_data()  # held-out set, drawn the same way (added)
    x, test_x = x * input_scale, test_x * input_scale  # the variant's units (1 as upstream)

    net = Net(n_feature=2, n_hidden=10, n_output=2)     # define the network
    if init_std is not None:  # the bug: a large normal init of both Linears' weights
        with torch.no_grad():
            for m in (net.hidden, net.out):
                m.weight.normal_(0.0, init_std)

    def accuracy(xx, yy):
        with torch.no_grad():
            return float((torch.max(net(xx), 1)[1] == yy).float().mean())

    initial = accuracy(test_x, test_y)

    lr = LR * lr_mult
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    loss_func = torch.nn.CrossEntropyLoss()  # the target label is NOT an one-hotted
    monitor = gradmedic.watch(net, optimizer, every=every)  # gradmedic

    losses = []
    t0 = time.time()
    for t in range(steps):
        out = net(x)                 # input x and predict based on x
        if softmax_first:  # the bug: probabilities fed to CrossEntropyLoss, which applies log_softmax itself
            out = F.softmax(out, dim=1)
        loss = loss_func(out, y)     # must be (1. nn output, 2. target), the target label is NOT one-hotted

        if zero_grad:
            optimizer.zero_grad()   # clear gradients for next train
        loss.backward()         # backpropagation, compute gradients
        monitor.step(loss)  # gradmedic
        optimizer.step()        # apply gradients
        losses.append(loss.item())
        if verbose and t % 10 == 0:
            print(f"step {t} loss {loss.item():.4g} train acc {accuracy(x, y):.3f}", flush=True)

    final = accuracy(test_x, test_y)
    train_acc = accuracy(x, y)
    monitor.close()
    if verbose:
        print(f"held-out accuracy {final:.3f} (untrained {initial:.3f}), train accuracy {train_acc:.3f}")
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(final), "chance": 0.5,
            "initial": float(initial),
            "initial_what": "untrained: the held-out accuracy of the net before its first step (chance 0.5)",
            "extra": {"train_accuracy": train_acc, "train_loss": float(np.mean(losses[-20:])),
                      "initial_train_loss": float(np.mean(losses[:5])), "steps": len(losses), "lr": lr},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="morvancls", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


CASES: list[dict] = (
    [_case(f"mcls_healthy_s{s}", "healthy", s, {}, "unchanged (Net(2, 10, 2): Linear(2, 10), relu, Linear(10, 2); "
           "CrossEntropyLoss, SGD lr 0.02, 100 full-batch steps on 200 points of two Gaussian clusters)", False)
     for s in (1, 2, 3)]
    + [_case(f"mcls_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"SGD lr x{k} ({0.02 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("mcls_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "SGD lr /1000 (2e-05)")]
    + [_case("mcls_input_x100_s1", "unscaled_inputs", 1, {"input_scale": 100.0},
             "the net reads 100 * x instead of x (the clusters at +-200 with spread 100; training and held-out)")]
    + [_case(f"mcls_init_std10_s{s}", "init_large", s, {"init_std": 10.0},
             "normal_(0, 1) * 10 (std 10) on both Linears' weights instead of PyTorch's default uniform "
             "+-1/sqrt(fan_in) (+-0.71 and +-0.32); biases kept") for s in (1, 2)]
    + [_case("mcls_softmax_first_s1", "wrong_loss", 1, {"softmax_first": True},
             "F.softmax(out, dim=1) before CrossEntropyLoss (which applies log_softmax itself)")]
    + [_case("mcls_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             "optimizer.zero_grad() left out: the gradients accumulate over the steps")]
)


if __name__ == "__main__":
    import sys
    kw = {k: float(v) for k, v in (a.split("=") for a in sys.argv[1:])}
    for k in ("steps", "seed"):
        if k in kw:
            kw[k] = int(kw[k])
    for k in ("softmax_first", "zero_grad"):
        if k in kw:
            kw[k] = bool(kw[k])
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
