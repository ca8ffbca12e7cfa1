"""Dive into Deep Learning (d2l-ai/d2l-en), 0.17 edition: softmax regression from scratch with d2l.sgd, watched by
gradmedic.

Adapted from https://github.com/d2l-ai/d2l-en (the book's sample code is under the modified MIT licence of
LICENSE-SAMPLECODE, see LICENSE-d2lsoftmax): the PyTorch tab of chapter_linear-networks/softmax-regression-scratch.md
on the r0.17 branch (commit d749ac0d4d73f61a9c7e0be33f3e8d43c975bd4a; the file last changed in
de596266, "[PyTorch] Use reduction=none loss for train_epoch_ch3"), with ``d2l.sgd`` from d2l/torch.py of the same
commit.  Why this edition: the current edition of the same section (``SoftmaxRegressionScratch`` with
``torch.optim.SGD`` through ``d2l.Trainer``) is already ported as d2lscratch.py; the 0.17 edition is the same
model and loss trained by a different program: the hand-written ``d2l.sgd`` (``param -= lr * param.grad /
batch_size; param.grad.zero_()``, the zeroing inside the updater) after ``l.sum().backward()`` in
``train_epoch_ch3``, no ``torch.optim`` at all.

Kept as in the book: ``W = torch.normal(0, 0.01, size=(num_inputs, num_outputs), requires_grad=True)``, ``b =
torch.zeros(num_outputs, requires_grad=True)``; ``softmax(X)`` = ``exp(X) / exp(X).sum(1, keepdim=True)`` (no
max-subtraction: it overflows to inf/NaN for large logits, as the book warns); ``net(X)`` = ``softmax(X.reshape((-1,
W.shape[0])) @ W + b)``; ``cross_entropy(y_hat, y)`` = ``-log(y_hat[range(len(y_hat)), y])`` (per example, no
log-sum-exp); ``lr = 0.1``; ``updater(batch_size)`` = ``d2l.sgd([W, b], lr, batch_size)``; ``train_epoch_ch3``'s
custom-updater branch: ``y_hat = net(X)``, ``l = loss(y_hat, y)``, ``l.sum().backward()``, ``updater(X.shape[0])``
(so the last, smaller batch of an epoch is divided by its own size); batch 256; inputs in [0, 1] as
``ToTensor`` gives them (no Normalize); the training set shuffled each epoch.

Changed, to run offline on one CPU thread: W and b are ``nn.Parameter``s of a small ``nn.Module``
(``SoftmaxRegression``; the same leaf tensors the book makes with ``requires_grad=True``, now registered) whose
``forward`` is the book's ``net``, so that ``gradmedic.watch`` finds them; ``updater`` passes ``[net.W, net.b]`` to
``d2l.sgd``.  Fashion-MNIST (784 inputs) is scikit-learn's ``load_digits`` (8x8 images, 64 inputs, 10 classes),
split 80/20 with random_state=0 into a fixed 1437 training / 360 test images, values /16 into [0, 1]
(``num_inputs = 64``); 250 epochs of 6 steps (1500 steps) instead of 10 epochs of 235 steps (2350); the Animator,
the per-epoch test pass (it only plots) and train_ch3's final asserts are left out; ``torch.manual_seed(seed)``
before W is drawn (the book does not seed).  The metric is the accuracy on the 360 test images after training.

The watch, as a user would: d2l.sgd is no ``torch.optim.Optimizer``, so ``monitor = gradmedic.watch(net,
every=10)`` without an optimizer, before the first epoch; ``monitor.step(l.mean())`` (the mean per-example loss,
the one the book reports) right after ``l.sum().backward()``, before ``updater(X.shape[0])``; ``monitor.close()``
after the loop.

``CASES`` (program "d2lsoftmax"): the program on seeds 1-3, and one change each against the same seed's healthy
run: lr x10 (1.0), x100 (10; seeds 1 and 2), x1000 (100), /1000 (1e-4); inputs unscaled (x16: the digits' raw 0..16 values);
W ~ N(0, 1) instead of N(0, 0.01); ``param.grad.zero_()`` left out of ``d2l.sgd`` (the gradients accumulate); W
all zero (softmax regression is convex, so expected harmless; cause "symmetric_init", labelled by outcome); lr x2
(0.2, expected harmless).  Labels come from run.py's outcome rules only.
Recorded (cases-public64, 13 runs, 3-7 s a run on a shared 2-core machine): healthy 0.950 test accuracy on seeds
1, 2 and 3 (train loss 2.26 -> 0.217-0.221, every loss finite, largest 2.30); lr x10 (1.0): 0.964 (train loss
0.068): healthy; lr x100 (10), seed 1: 0.958 (train loss 0.013), but its loss reached 20.6 on the way (over twice
the control's 2.30): ambiguous; lr x100, seed 2: the book's softmax overflows within the first 5 steps (loss inf,
then NaN), 0.075: broken; lr x1000 (100): the loss reaches 21.2, then NaN, 0.075: broken; lr /1000: the loss stays
at 2.27-2.30, 0.142: broken; raw 0..16 inputs: the loss is inf/NaN from the first steps, 0.075: broken; W ~ N(0, 1):
0.906 (first losses 6.6, largest 8.0, train loss 0.272 at the end; 4.4 points below its control, not 10): ambiguous;
grad.zero_() left out of d2l.sgd: the accumulated gradients overflow the softmax (NaN), 0.075: broken; W all zero:
0.950, the same as its control: healthy; lr x2: 0.964: healthy.  Labels: 7 healthy (3 programs, 4 variants), 6
broken, 2 ambiguous (lr x100 on seed 1 and W ~ N(0, 1)).
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

import gradmedic

ARCH = "linear"
MONITOR_AT = ("watch(net, every=10) without an optimizer (d2l.sgd updates the parameters by hand) before the first "
              "epoch; monitor.step(l.mean()) right after l.sum().backward() in train_epoch_ch3, before "
              "updater(X.shape[0])")
NUM_EPOCHS = 250
LR = 0.1


def digits64():
    """(train, test) load_digits images as 64 values in [0, 1] and their labels: a fixed 1437/360 split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.data, d.target, test_size=0.2, random_state=0)
    f = lambda x: torch.tensor(x, dtype=torch.float32) / 16.0  # noqa: E731  ToTensor: [0, 1]
    return f(xtr), torch.tensor(ytr), f(xte), torch.tensor(yte)


def sgd(params, lr, batch_size, zero_grad=True):
    """Minibatch stochastic gradient descent (d2l.sgd)."""
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            if zero_grad:  # the no_zero_grad variant leaves this out
                param.grad.zero_()


def softmax(X):
    X_exp = torch.exp(X)
    partition = X_exp.sum(1, keepdim=True)
    return X_exp / partition  # The broadcasting mechanism is applied here


class SoftmaxRegression(nn.Module):
    """The book's W, b and net(X), registered in a Module (the only change to the model)."""

    def __init__(self, num_inputs, num_outputs, init="normal"):
        super().__init__()
        if init == "normal":
            W = torch.normal(0, 0.01, size=(num_inputs, num_outputs))
        elif init == "std1":  # the init_large variant
            W = torch.normal(0, 1.0, size=(num_inputs, num_outputs))
        elif init == "zero":  # the symmetric_init variant
            W = torch.zeros(num_inputs, num_outputs)
        else:
            raise ValueError(init)
        self.W = nn.Parameter(W)
        self.b = nn.Parameter(torch.zeros(num_outputs))

    def forward(self, X):
        return softmax(torch.matmul(X.reshape((-1, self.W.shape[0])), self.W) + self.b)


def cross_entropy(y_hat, y):
    return - torch.log(y_hat[range(len(y_hat)), y])


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, init: str = "normal",
          zero_grad: bool = True, num_epochs: int = NUM_EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    xtr, ytr, xte, yte = digits64()
    xtr, xte = xtr * input_scale, xte * input_scale  # input_scale 16: the raw 0..16 values
    batch_size = 256
    train_iter = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xtr, ytr), batch_size, shuffle=True)
    num_inputs, num_outputs = 64, 10
    net = SoftmaxRegression(num_inputs, num_outputs, init)
    lr = LR * lr_mult

    def updater(batch_size):
        return sgd([net.W, net.b], lr, batch_size, zero_grad)

    loss = cross_entropy
    monitor = gradmedic.watch(net, every=every)  # gradmedic
    losses = []
    for epoch in range(num_epochs):
        net.train()
        for X, y in train_iter:
            # Compute gradients and update parameters
            y_hat = net(X)
            l = loss(y_hat, y)  # noqa: E741
            # Using custom built optimizer & loss criterion
            l.sum().backward()
            monitor.step(l.mean())  # gradmedic
            updater(X.shape[0])
            losses.append(float(l.detach().mean()))
        if verbose and (epoch + 1) % max(1, num_epochs // 10) == 0:
            print(f"epoch {epoch + 1} loss {np.mean(losses[-20:]):.4f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    net.eval()
    with torch.no_grad():
        y_hat = net(xte)
        acc = float((y_hat.argmax(dim=1) == yte).float().mean())
        test_loss = float(cross_entropy(y_hat, yte).mean())
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc, "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(test_loss=test_loss, lr=lr, train_loss=float(np.mean(losses[-20:])),
                          first_loss=float(np.mean(losses[:5])), max_loss=float(np.nanmax(losses)),
                          finite_losses=bool(np.isfinite(losses).all()), steps=len(losses), epochs=num_epochs,
                          lr_mult=lr_mult, input_scale=input_scale, init=init, zero_grad=zero_grad,
                          test_images=len(yte)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="d2lsoftmax", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = (f"softmax regression from scratch, 0.17 edition (W ~ N(0, 0.01) 64x10, b = 0, the book's exp/sum softmax and "
      f"-log(picked) cross_entropy, l.sum().backward(), d2l.sgd lr {LR:g} / batch size with grad.zero_() inside, "
      f"batch 256, {NUM_EPOCHS} epochs of 6 steps)")
CASES: list[dict] = (
    [_case(f"d2lsoftmax_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"d2lsoftmax_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("d2lsoftmax_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case("d2lsoftmax_raw_inputs_s1", "unscaled_inputs", 1, {"input_scale": 16.0},
             f"{_P}: inputs unscaled (x16: the digits' raw 0..16 values)")]
    + [_case("d2lsoftmax_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_P}: W = torch.normal(0, 1, ...) instead of std 0.01")]
    + [_case("d2lsoftmax_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: param.grad.zero_() left out of d2l.sgd (the gradients accumulate)")]
    + [_case("d2lsoftmax_zero_init_s1", "symmetric_init", 1, {"init": "zero"},
             f"{_P}: W = torch.zeros (all-zero weights; a convex model, expected harmless)")]
    + [_case("d2lsoftmax_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: lr x2 ({LR * 2:g}), expected harmless")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
