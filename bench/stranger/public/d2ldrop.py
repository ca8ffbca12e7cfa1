"""Dive into Deep Learning (d2l-ai/d2l-en): dropout from scratch, watched by gradmedic.

Adapted from https://github.com/d2l-ai/d2l-en (the book's sample code is under the modified MIT licence of
LICENSE-SAMPLECODE, see LICENSE-d2ldrop): the PyTorch tab of "Implementation from Scratch" in
chapter_multilayer-perceptrons/dropout.md as the book's 0.17-era releases print it (``dropout_layer``, the
``Net(nn.Module)`` class with ``lin1``/``lin2``/``lin3`` and ``dropout1, dropout2 = 0.2, 0.5``,
``nn.CrossEntropyLoss(reduction='none')``, ``torch.optim.SGD``, ``d2l.train_ch3``).  The commit of that PyTorch tab
could not be pinned here: the stored copies of the file (commits 0dc735e5535bc7823390b67648e9d26be48cb766 and
00ad4e5fd3bc40dc56f9af381468befb5bf544a1) are older, MXNet-only versions of the same section (the same
``dropout``, 0.2/0.5, two hidden layers of 256); the PyTorch text is quoted from copies of the book's code.
The newer book (HEAD 23d7a5aecceee57d1292c56e90cce307f183bb0a, as d2lmlpscratch.py cites it) has the same
``dropout_layer`` in a ``DropoutMLPScratch`` with dropout 0.5/0.5 and lr 0.1.  ``d2l.train_ch3`` /
``train_epoch_ch3`` are written out as a plain loop: per batch ``y_hat = net(X)``, ``l = loss(y_hat, y)``,
``updater.zero_grad()``, ``l.mean().backward()``, ``updater.step()``.

Kept as in the book: ``dropout_layer(X, dropout)`` (``assert 0 <= dropout <= 1``; ``dropout == 1`` returns
``torch.zeros_like(X)``; ``dropout == 0`` returns ``X``; ``mask = (torch.rand(X.shape) > dropout).float()``;
``mask * X / (1.0 - dropout)``); ``Net``: ``lin1 = nn.Linear(num_inputs, 256)``, ``lin2 = nn.Linear(256, 256)``,
``lin3 = nn.Linear(256, 10)``, ``nn.ReLU``, forward ``relu(lin1(X.reshape((-1, num_inputs))))``, dropout 0.2 when
training, ``relu(lin2(H1))``, dropout 0.5 when training, ``lin3(H2)``; PyTorch's default ``nn.Linear`` init (the
from-scratch ``Net`` has no init of its own); ``nn.CrossEntropyLoss(reduction='none')`` on the logits and
``l.mean().backward()``; ``torch.optim.SGD(net.parameters(), lr=lr)`` (no momentum, no weight decay); batch 256;
inputs in [0, 1] as ``ToTensor`` gives them (no Normalize); the training set shuffled each epoch.

Changed, to run offline on one CPU thread: Fashion-MNIST is scikit-learn's ``load_digits`` (8x8 images, 64 inputs,
10 classes), split 80/20 with random_state=0 into a fixed 1437 training / 360 test images, values /16 into [0, 1]
(``num_inputs`` 64 instead of 784); lr 0.1 (the value the brief for this port gives, as the newer book's section;
the 0.17 PyTorch tab uses 0.5); 100 epochs of 6 steps (600 steps) instead of 10 epochs of 235 steps; the Animator
and the per-epoch test pass (they only plot) are left out; ``torch.manual_seed(seed)`` before the net is built (the
book does not seed); the training/evaluation switch is ``net.train()`` / ``net.eval()`` (the book's ``Net`` sets
``self.training`` itself and ``train_ch3`` calls ``net.train()`` / ``net.eval()``, the same thing).  The metric is
the accuracy on the 360 test images after training (dropout off).

The watch, as a user would: ``monitor = gradmedic.watch(net, trainer, every=10)`` right after
``trainer = torch.optim.SGD(...)``, ``monitor.step(l)`` with the mean loss right after ``l.mean().backward()``,
before ``trainer.step()``; ``monitor.close()`` after the loop.

``CASES`` (in the shape of run.py's ``case()``, program "d2ldrop"): the program on seeds 1-3, and one change each
against the same seed's healthy run: lr x10, x100 (seeds 1 and 2), /1000; dropout1 = 1.0 (``dropout_layer``
returns zeros for the first hidden layer: no gradient reaches lin1, nor lin2's weight); the dropout mask not
rescaled (``mask * X`` without ``/ (1.0 - dropout)``; cause "healthy", as no cause of causes.py names it); inputs
unscaled (x16: the digits' raw 0..16 values); every Linear weight and bias ``normal_(std=1)``; every Linear weight
and bias zero; ``trainer.zero_grad()`` left out; softmax applied to the logits before ``CrossEntropyLoss``; and
lr x2 (0.2, expected harmless).  Labels come from run.py's outcome rules only.
Recorded (cases-public38, 42 s for the 15 runs; 2-4 s a run): healthy 0.958, 0.964, 0.961 test accuracy on seeds
1-3 (train loss 2.30 -> 0.145-0.153, every loss finite, largest 2.31); lr x10 (1.0): loss up to 2.58, train loss
0.010, 0.981: healthy (the change did no harm here); lr x100 (seeds 1 and 2): losses up to 1e26 then NaN (seed 1,
0.075) and up to 7e15 then stuck at 2.3 (seed 2, 0.108): broken; lr /1000: the loss stays at 2.30, 0.097: broken;
dropout1 = 1.0: the loss stays at 2.30, 0.078: broken; mask not rescaled: train loss 0.345, 0.922 (3.6 points
below its control; cause "healthy", so only the good-outcome rule applies): healthy; raw 0..16 inputs: loss up to
3.44, 0.983: healthy; init std 1: first losses ~1e3 (largest 2325), 0.839: broken; zero init: the loss stays at
2.30, 0.081: broken; zero_grad left out: the loss climbs to 628 and ends at 34.5, 0.114: broken; softmax before
CrossEntropyLoss: train loss 2.30 -> 2.02, 0.489: broken; lr x2: 0.972: healthy.  Labels: 7 healthy (3 programs,
4 variants), 8 broken, 0 ambiguous.  Only lr x100 on seed 1 had a non-finite loss.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(net, trainer, every=10) right after trainer = torch.optim.SGD(net.parameters(), lr=lr); "
              "monitor.step(l.mean()) right after l.mean().backward() in train_epoch_ch3, before trainer.step()")
NUM_EPOCHS = 100
LR = 0.1


def digits64():
    """(train, test) load_digits images as 64 values in [0, 1] and their labels: a fixed 1437/360 split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.data, d.target, test_size=0.2, random_state=0)
    f = lambda x: torch.tensor(x, dtype=torch.float32) / 16.0  # noqa: E731  ToTensor: [0, 1]
    return f(xtr), torch.tensor(ytr), f(xte), torch.tensor(yte)


def dropout_layer(X, dropout, rescale=True):
    assert 0 <= dropout <= 1
    # In this case, all elements are dropped out
    if dropout == 1:
        return torch.zeros_like(X)
    # In this case, all elements are kept
    if dropout == 0:
        return X
    mask = (torch.rand(X.shape) > dropout).float()
    if not rescale:  # the no_rescale variant: the survivors are not scaled up
        return mask * X
    return mask * X / (1.0 - dropout)


class Net(nn.Module):
    def __init__(self, num_inputs, num_outputs, num_hiddens1, num_hiddens2, dropout1, dropout2, rescale=True,
                 is_training=True):
        super().__init__()
        self.num_inputs = num_inputs
        self.training = is_training
        self.dropout1, self.dropout2, self.rescale = dropout1, dropout2, rescale
        self.lin1 = nn.Linear(num_inputs, num_hiddens1)
        self.lin2 = nn.Linear(num_hiddens1, num_hiddens2)
        self.lin3 = nn.Linear(num_hiddens2, num_outputs)
        self.relu = nn.ReLU()

    def forward(self, X):
        H1 = self.relu(self.lin1(X.reshape((-1, self.num_inputs))))
        # Use dropout only when training the model
        if self.training:
            # Add a dropout layer after the first fully connected layer
            H1 = dropout_layer(H1, self.dropout1, self.rescale)
        H2 = self.relu(self.lin2(H1))
        if self.training:
            # Add a dropout layer after the second fully connected layer
            H2 = dropout_layer(H2, self.dropout2, self.rescale)
        out = self.lin3(H2)
        return out


def train(seed: int = 1, lr_mult: float = 1.0, dropout1: float = 0.2, dropout2: float = 0.5, rescale: bool = True,
          input_scale: float = 1.0, init: str = "default", zero_grad: bool = True, softmax: bool = False,
          num_epochs: int = NUM_EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    xtr, ytr, xte, yte = digits64()
    xtr, xte = xtr * input_scale, xte * input_scale  # input_scale 16: the raw 0..16 values
    train_iter = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xtr, ytr), 256, shuffle=True)
    net = Net(64, 10, 256, 256, dropout1, dropout2, rescale)
    if init != "default":
        for m in net.modules():
            if isinstance(m, nn.Linear):
                if init == "std1":  # the init_large variant
                    nn.init.normal_(m.weight, std=1.0)
                    nn.init.normal_(m.bias, std=1.0)
                elif init == "zero":  # the symmetric_init variant
                    nn.init.zeros_(m.weight)
                    nn.init.zeros_(m.bias)
                else:
                    raise ValueError(init)
    lr = LR * lr_mult
    loss = nn.CrossEntropyLoss(reduction='none')
    trainer = torch.optim.SGD(net.parameters(), lr=lr)
    monitor = gradmedic.watch(net, trainer, every=every)
    losses = []
    for epoch in range(num_epochs):
        net.train()
        for X, y in train_iter:
            y_hat = net(X)
            if softmax:  # the wrong_loss variant: probabilities fed to CrossEntropyLoss
                y_hat = torch.softmax(y_hat, dim=1)
            l = loss(y_hat, y)  # noqa: E741
            if zero_grad:  # the no_zero_grad variant leaves this out
                trainer.zero_grad()
            l.mean().backward()
            monitor.step(l.mean())  # gradmedic
            trainer.step()
            losses.append(float(l.detach().mean()))
        if verbose and (epoch + 1) % max(1, num_epochs // 10) == 0:
            print(f"epoch {epoch + 1} loss {np.mean(losses[-20:]):.4f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    net.eval()
    with torch.no_grad():
        y_hat = net(xte)
        acc = float((y_hat.argmax(dim=1) == yte).float().mean())
        test_loss = float(nn.functional.cross_entropy(y_hat, yte))
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc, "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(test_loss=test_loss, lr=lr, train_loss=float(np.mean(losses[-20:])),
                          first_loss=float(np.mean(losses[:5])), max_loss=float(np.nanmax(losses)),
                          finite_losses=bool(np.isfinite(losses).all()), steps=len(losses), epochs=num_epochs,
                          lr_mult=lr_mult, dropout1=dropout1, dropout2=dropout2, rescale=rescale,
                          input_scale=input_scale, init=init, test_images=len(yte)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="d2ldrop", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"dropout MLP from scratch (Linear 64-256-256-10, default init, ReLU, dropout_layer 0.2 / 0.5 while training; "
      f"CrossEntropyLoss(reduction='none'), l.mean().backward(); torch.optim.SGD lr {LR:g}, batch 256, "
      f"{NUM_EPOCHS} epochs of 6 steps)")
CASES: list[dict] = (
    [_case(f"d2ldrop_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"d2ldrop_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("d2ldrop_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case("d2ldrop_dropout1_1_s1", "no_gradient", 1, {"dropout1": 1.0},
             f"{_P}: dropout1 = 1.0 (dropout_layer returns zeros for the first hidden layer while training)")]
    + [_case("d2ldrop_no_rescale_s1", "healthy", 1, {"rescale": False},
             f"{_P}: dropout_layer returns mask * X without / (1.0 - dropout) (survivors not rescaled)")]
    + [_case("d2ldrop_raw_inputs_s1", "unscaled_inputs", 1, {"input_scale": 16.0},
             f"{_P}: inputs unscaled (x16: the digits' raw 0..16 values as raw pixels)")]
    + [_case("d2ldrop_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_P}: every Linear weight and bias normal_(std=1)")]
    + [_case("d2ldrop_zero_init_s1", "symmetric_init", 1, {"init": "zero"},
             f"{_P}: every Linear weight and bias zeros_ (symmetric)")]
    + [_case("d2ldrop_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: trainer.zero_grad() left out (the gradients accumulate)")]
    + [_case("d2ldrop_softmax_ce_s1", "wrong_loss", 1, {"softmax": True},
             f"{_P}: softmax over the logits before CrossEntropyLoss")]
    + [_case("d2ldrop_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: lr x2 ({LR * 2:g})")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
