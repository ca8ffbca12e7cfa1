"""Udacity deep-learning-v2-pytorch, batch normalization notebook (``NeuralNet`` with ``use_batch_norm=True``, its
``train`` and ``test``), on scikit-learn's 8x8 digits instead of MNIST, watched by gradmedic.

Adapted from https://github.com/udacity/deep-learning-v2-pytorch (commit c9404fc86181fc3f0906b368697268257f348535;
"batch-norm/Batch_Normalization.ipynb", last changed in 8f59822634134c4b3112440ecf4dcc913e7244ee; MIT License,
Copyright (c) 2018 Udacity, see LICENSE-udbn).

Kept as in the notebook: ``NeuralNet(use_batch_norm, input_size, hidden_dim=256, output_size=10)``: with batch norm
``fc1 = nn.Linear(input_size, hidden_dim*2, bias=False)`` + ``nn.BatchNorm1d(hidden_dim*2)``, ``fc2 =
nn.Linear(hidden_dim*2, hidden_dim, bias=False)`` + ``nn.BatchNorm1d(hidden_dim)``, without it the same Linears with
bias and no BatchNorm; ``fc3 = nn.Linear(hidden_dim, output_size)``; forward fc1 -> (batch_norm1) -> ``F.relu`` ->
fc2 -> (batch_norm2) -> ``F.relu`` -> fc3 (logits); PyTorch's default init; the notebook's ``train(model)``:
``nn.CrossEntropyLoss()``, ``torch.optim.SGD(model.parameters(), lr=0.01)`` (no momentum), ``model.train()`` once
before the epochs, per batch ``optimizer.zero_grad()``, ``output = model(data)``, ``loss = criterion(output,
target)``, ``loss.backward()``, ``optimizer.step()``; batch 64, ``transforms.ToTensor()`` only (pixels in [0, 1], no
Normalize), the training loader not shuffled (as upstream's ``DataLoader`` without ``shuffle``); and ``test(model,
train=False)`` (``model.eval()``, the overall test accuracy, which is the metric; the test loss is an extra).

Changed to run offline on one CPU thread: MNIST (a download) is scikit-learn's ``load_digits`` (8x8 images, values /16
into [0, 1] as ToTensor's range), split 80/20 with random_state=0 into a fixed 1437 training / 360 test images, so
``input_size`` is 64 and ``x.view(-1, 8*8)`` instead of ``x.view(-1, 28*28)``; 100 epochs of 23 batches (2300 steps;
the last batch has 29 images) instead of 10 epochs of 938 (9380 steps), to fit ~15 s; ``torch.manual_seed(seed)``
before the net is built (the notebook sets none); the ``print``s and the loss plot are left out (the losses are
returned); the notebook's ``test`` accumulates per-class counts over a test loader, here one pass over the 360 test
images gives the same overall accuracy.  The notebook trains ``net_batchnorm`` and then ``net_no_norm``; here the
batch-norm net is the program and the no-norm net is a variant.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built in ``train``, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``;
``monitor.close()`` after the epochs.

``CASES`` (program "udbn"): the program on seeds 1-3, and one change each against the same seed's healthy run: lr x10
(0.1), x100 (1.0; seeds 1 and 2), x1000 (10); lr /1000 (1e-5); the raw 0..16 pixel values (x16); every Linear weight
(and fc3's bias) ``nn.init.normal_(std=1)``; every Linear weight (and fc3's bias) zero; ``optimizer.zero_grad()`` left
out; the notebook's own ``net_no_norm`` (``use_batch_norm=False``; cause "no_norm"); softmax over the logits before
``CrossEntropyLoss`` (wrong loss); lr x2 (0.02, expected harmless).  Labels come from run.py's outcome rules only.
(The lr x1000 and zero-init cases were added after the first recording showed that most of the other changes did no
harm to this batch-normalized net.)

Recorded (cases-public55, 15 runs of 5-14 s on the shared machine): healthy 0.978, 0.975, 0.981 test accuracy on seeds
1-3 (train loss 2.10-2.23 -> 0.011-0.012, every loss finite, largest 2.29-2.44).  Healthy (the change did no harm, as
BatchNorm1d rescales each layer): lr x10, 0.983 (train loss 0.0007); lr x100, 0.981 and 0.975 (train loss 1e-4, the
largest loss 2.72 and 2.53); lr x2, 0.981; raw 0..16 pixels, 0.978, the very same run as its control (fc1 has no bias
and BatchNorm1d divides the x16 away: same losses to 4 digits); zero_grad left out, 0.964 (train loss 0.012, largest
3.54, but a test loss of 25.1 against the control's 0.066: confidently wrong on the 13 images it misses); net_no_norm,
0.950 (train loss 0.195, 2.8 points below its control, inside run.py's 3-point margin); softmax before
CrossEntropyLoss, 0.975 (the train loss only falls to 1.48, as probabilities cap it, yet the argmax is right).
Broken: lr x1000, 0.336 (first losses ~49, largest 96, train loss 1.44); lr /1000, 0.233 (loss 2.33 -> 2.17); all
zero, 0.081 (the loss stays at 2.30: only fc3's bias can move).  Ambiguous: N(0, 1) init, 0.911 (first losses ~12.5,
6.7 points below its control: neither 10 points worse nor within 3).  In all: 11 healthy (3 programs, 8 variants),
3 broken, 1 ambiguous; no non-finite loss.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = torch.optim.SGD(model.parameters(), lr=0.01) "
              "in the notebook's train(); monitor.step(loss) right after loss.backward(), before optimizer.step()")
N_EPOCHS = 100  # upstream: 10 epochs of 938 MNIST batches; here 100 epochs of 23 digits batches
LR = 0.01
batch_size = 64


def digits64():
    """(train, test) load_digits images as 64 values in [0, 1] and their labels: a fixed 1437/360 split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.data, d.target, test_size=0.2, random_state=0)
    f = lambda x: torch.tensor(x, dtype=torch.float32) / 16.0  # noqa: E731  ToTensor: [0, 1]
    return f(xtr), torch.tensor(ytr), f(xte), torch.tensor(yte)


class NeuralNet(nn.Module):
    def __init__(self, use_batch_norm, input_size=784, hidden_dim=256, output_size=10):
        """
        Creates a PyTorch net using the given parameters.

        :param use_batch_norm: bool
            Pass True to create a network that uses batch normalization; False otherwise
            Note: this network will not use batch normalization on layers that do not have an
            activation function.
        """
        super().__init__()  # init super (upstream: super(NeuralNet, self))

        # Default layer sizes
        self.input_size = input_size  # (28*28 images)
        self.hidden_dim = hidden_dim
        self.output_size = output_size  # (number of classes)
        # Keep track of whether or not this network uses batch normalization.
        self.use_batch_norm = use_batch_norm

        # define hidden linear layers, with optional batch norm on their outputs
        # layers with batch_norm applied have no bias term
        if use_batch_norm:
            self.fc1 = nn.Linear(input_size, hidden_dim*2, bias=False)
            self.batch_norm1 = nn.BatchNorm1d(hidden_dim*2)
        else:
            self.fc1 = nn.Linear(input_size, hidden_dim*2)

        # define *second* hidden linear layers, with optional batch norm on their outputs
        if use_batch_norm:
            self.fc2 = nn.Linear(hidden_dim*2, hidden_dim, bias=False)
            self.batch_norm2 = nn.BatchNorm1d(hidden_dim)
        else:
            self.fc2 = nn.Linear(hidden_dim*2, hidden_dim)

        # third and final, fully-connected layer
        self.fc3 = nn.Linear(hidden_dim, output_size)

    def forward(self, x):
        # flatten image
        x = x.view(-1, self.input_size)  # upstream: x.view(-1, 28*28)
        # all hidden layers + optional batch norm + relu activation
        x = self.fc1(x)
        if self.use_batch_norm:
            x = self.batch_norm1(x)
        x = F.relu(x)
        # second layer
        x = self.fc2(x)
        if self.use_batch_norm:
            x = self.batch_norm2(x)
        x = F.relu(x)
        # third layer, no batch norm or activation
        x = self.fc3(x)
        return x


def train(seed: int = 1, lr_mult: float = 1.0, use_batch_norm: bool = True, input_scale: float = 1.0,
          init: str = "default", zero_grad: bool = True, softmax: bool = False, n_epochs: int = N_EPOCHS,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    xtr, ytr, xte, yte = digits64()
    xtr, xte = xtr * input_scale, xte * input_scale  # input_scale 16: the raw 0..16 values
    train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xtr, ytr), batch_size=batch_size)
    model = NeuralNet(use_batch_norm=use_batch_norm, input_size=64)
    if init == "std1":  # the init_large variant
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=1.0)
                if m.bias is not None:
                    nn.init.normal_(m.bias, std=1.0)
    elif init == "zero":  # the symmetric_init variant
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.zeros_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
    elif init != "default":
        raise ValueError(init)

    # --- the notebook's train(model, n_epochs) ---
    losses = []  # per batch (upstream keeps per-epoch means)
    # specify loss function (categorical cross-entropy)
    criterion = nn.CrossEntropyLoss()
    # specify optimizer (stochastic gradient descent) and learning rate = 0.01
    lr = LR * lr_mult
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)
    # set the model to training mode
    model.train()
    for epoch in range(1, n_epochs + 1):
        train_loss = 0.0
        batch_count = 0
        for _batch_idx, (data, target) in enumerate(train_loader):
            # clear the gradients of all optimized variables
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            # forward pass: compute predicted outputs by passing inputs to the model
            output = model(data)
            if softmax:  # the wrong_loss variant: probabilities fed to CrossEntropyLoss
                output = torch.softmax(output, dim=1)
            # calculate the loss
            loss = criterion(output, target)
            # backward pass: compute gradient of the loss with respect to model parameters
            loss.backward()
            monitor.step(loss)  # gradmedic
            # perform a single optimization step (parameter update)
            optimizer.step()
            # update average training loss
            train_loss += loss.item()  # add up avg batch loss
            batch_count += 1
            losses.append(loss.item())
        if verbose and epoch % max(1, n_epochs // 10) == 0:
            print(f"Epoch: {epoch} \tTraining Loss: {train_loss / batch_count:.6f} ({time.time() - t0:.1f}s)",
                  flush=True)
    monitor.close()

    # --- the notebook's test(model, train=False) ---
    model.eval()
    with torch.no_grad():
        output = model(xte)
        test_loss = float(F.cross_entropy(output, yte))
        _, pred = torch.max(output, 1)
        acc = float((pred == yte).float().mean())
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc, "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(test_loss=test_loss, lr=lr, train_loss=float(np.mean(losses[-23:])),
                          first_loss=float(np.mean(losses[:5])), max_loss=float(np.nanmax(losses)),
                          finite_losses=bool(np.isfinite(losses).all()), steps=len(losses), epochs=n_epochs,
                          lr_mult=lr_mult, use_batch_norm=use_batch_norm, input_scale=input_scale, init=init,
                          zero_grad=zero_grad, softmax=softmax, test_images=len(yte)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="udbn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"Udacity batch-norm NeuralNet (Linear 64-512 no bias, BatchNorm1d, ReLU, Linear 512-256 no bias, BatchNorm1d, "
      f"ReLU, Linear 256-10; default init; CrossEntropyLoss; SGD lr {LR:g}, batch 64 unshuffled, "
      f"{N_EPOCHS} epochs of 23 steps)")
CASES: list[dict] = (
    [_case(f"udbn_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"udbn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("udbn_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case("udbn_raw_pixels_s1", "unscaled_inputs", 1, {"input_scale": 16.0},
             f"{_P}: inputs unscaled (x16: the digits' raw 0..16 values as raw pixels)")]
    + [_case("udbn_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_P}: every Linear weight (and fc3's bias) normal_(std=1)")]
    + [_case("udbn_zero_init_s1", "symmetric_init", 1, {"init": "zero"},
             f"{_P}: every Linear weight (and fc3's bias) zeros_ (symmetric)")]
    + [_case("udbn_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case(f"udbn_no_bn_s{s}", "no_norm", s, {"use_batch_norm": False},
             f"{_P}: the notebook's net_no_norm (use_batch_norm=False: Linears with bias, no BatchNorm1d)")
       for s in (1,)]
    + [_case("udbn_softmax_ce_s1", "wrong_loss", 1, {"softmax": True},
             f"{_P}: softmax over the logits before CrossEntropyLoss")]
    + [_case("udbn_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: lr x2 ({LR * 2:g})")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
