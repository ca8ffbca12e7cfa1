"""Dive into Deep Learning (d2l-ai/d2l-en): "Working with Sequences", the autoregressive models of a noisy sine,
watched by gradmedic.

Adapted from https://github.com/d2l-ai/d2l-en (the book's sample code is under the modified MIT licence of
LICENSE-SAMPLECODE, see LICENSE-d2lseq), chapter_recurrent-neural-networks/sequence.md, PyTorch tabs, in two
editions (knob ``model``):

- "linear" (commit 23d7a5aecceee57d1292c56e90cce307f183bb0a, the current edition): ``class Data(d2l.DataModule)``
  (``batch_size=16, T=1000, num_train=600, tau=4``; ``self.x = d2l.sin(0.01 * self.time) + d2l.randn(T) * 0.2``),
  its ``get_dataloader`` (the ``tau`` lagged copies stacked as features, ``x[tau:]`` as labels, the first 600
  examples for training, the other 396 for validation, through ``get_tensorloader``: a ``TensorDataset`` in a
  ``DataLoader`` shuffled for training), ``model = d2l.LinearRegression(lr=0.01)`` (``nn.LazyLinear(1)`` with
  ``weight.data.normal_(0, 0.01)`` and ``bias.data.fill_(0)``, ``nn.MSELoss()``, ``torch.optim.SGD(params, lr)``)
  and ``trainer = d2l.Trainer(max_epochs=5)``.  ``LinearRegression`` and the parts of ``Module``, ``DataModule``
  and ``Trainer`` it uses are copied from d2l/torch.py of the same commit; ``Trainer.fit``/``fit_epoch`` are
  written out as a plain loop in the book's order: ``loss = model.training_step(batch)``, ``optim.zero_grad()``,
  then under ``torch.no_grad()``: ``loss.backward()``, ``optim.step()`` (``gradient_clip_val`` 0: no clipping).
- "mlp" (commit 37671459152d847eb58d623e05fbcbb44974ae8a, July 2021, the older edition's last PyTorch tab with the
  MLP's Xavier init; a month later e2d969c dropped ``init_weights`` and the 2022 "Rnn overhaul" replaced the MLP by
  the linear model): ``x = d2l.sin(0.01 * time) + d2l.normal(0, 0.2, (T,))``, the ``features``/``labels`` loop
  (``tau = 4``), ``batch_size, n_train = 16, 600``, ``train_iter = d2l.load_array(..., is_train=True)``,
  ``get_net()`` = ``nn.Sequential(nn.Linear(4, 10), nn.ReLU(), nn.Linear(10, 1))`` with ``init_weights``
  (``nn.init.xavier_uniform_`` on each Linear weight; biases keep PyTorch's default), ``loss = nn.MSELoss()``, and
  ``train(net, train_iter, loss, 5, 0.01)``: ``torch.optim.Adam(net.parameters(), lr)``, ``trainer.zero_grad()``,
  ``l = loss(net(X), y)``, ``l.backward()``, ``trainer.step()``, and ``d2l.evaluate_loss(net, train_iter, loss)``
  after each epoch (printed in the book, recorded in ``extra`` here).

Kept as in the book: the data (T 1000, noise sd 0.2, tau 4, 600 training examples), both models and their inits,
MSE, SGD 0.01 / Adam 0.01, batch 16 (38 steps an epoch), 5 epochs (190 steps), the shuffled loader, no clipping.

Changed: nothing is downloaded here (the data are generated, as in the book); ``torch.manual_seed(seed)`` before the
data are drawn (the book does not seed; the seed draws the noise, the init and the shuffling); the LazyLinear is
materialized by one forward pass on the first feature row before the optimizer is built (the book's Trainer builds
the SGD on the lazy parameter and materializes it in the first training step: the same model and init, drawn before
the loader's first shuffle instead of after it, and the watch is built on a materialized model); the plots, the
ProgressBoard, ``save_hyperparameters`` and the GPU handling are left out (the Trainer's per-epoch validation pass,
which only plots, is kept as a mean over its batches in ``extra["epoch_losses"]``).  Note that ``LazyLinear``'s materialization
calls ``reset_parameters``, so the book's ``normal_(0, 0.01)``/``fill_(0)`` on the lazy parameters is lost: the
linear model starts from PyTorch's default U(+-1/2) weights and bias, as it does in the book.
The metric is the one-step-ahead validation MSE after training (the book's ``onestep_preds`` on the 396 examples it
does not train on, with the model's own ``nn.MSELoss()``); ``initial`` the mean of the first 5 training losses.
Knobs (one per variant): ``lr_mult`` scales the learning rate; ``input_scale``/``input_offset`` change the features
(not the labels) as ``features * input_scale + input_offset``; ``init`` replaces the MLP's ``init_weights``
("normal1": ``nn.init.normal_(m.weight, 0, 1)``; "zeros": ``nn.init.zeros_(m.weight)``; "const":
``nn.init.constant_(m.weight, 0.5)`` and ``nn.init.zeros_(m.bias)``); ``hidden_bias`` fills
the hidden Linear's bias with a constant after the init; ``zero_grad=False`` leaves the zeroing out;
``batch_size`` replaces 16.

The watch, as a user would: ``monitor = gradmedic.watch(model, optim, every=10)`` right after the optimizer is built
(``model.configure_optimizers()`` in ``Trainer.fit``; ``torch.optim.Adam`` in the old ``train``),
``monitor.step(loss)`` right after ``loss.backward()`` (inside ``fit_epoch``'s ``torch.no_grad()`` block for the
linear model), before the optimizer's step; ``monitor.close()`` after the loop.

``CASES`` (program "d2lseq"; name prefixes d2lseqlin, d2lseqmlp): each model on seeds 1-3, and one change each
against the same seed's healthy run of that model: for the linear model lr x10, x100 (seeds 1 and 2), x1000, /1000;
the features x100 (seeds 1 and 2) and +1000; ``optim.zero_grad()`` left out (seeds 1 and 2); and two changes
expected harmless, lr x2 (cause "lr_high") and batch 8 (cause "healthy"); for the MLP lr x10, x100 (seeds 1 and 2),
x1000, /1000; N(0, 1) weights (seeds 1 and 2); zero weights (default biases); constant 0.5 weights with zero biases
(seeds 1 and 2); the hidden bias at -10 (seeds 1 and 2); the features +1000; ``zero_grad()`` left out (seeds 1 and
2); lr x2 and batch 8 (expected harmless).  Labels come from run.py's outcome rules only.
Recorded (cases-public82, 35 runs, 0.1-0.5 s a run (2 s for the first, the imports), 9 s in all on a shared 2-core
machine; "start" is the mean of the first 5 training losses, "largest" the largest training loss; the MSE of the
noise alone, the validation labels against the clean sine, is 0.044, 0.036, 0.040 on seeds 1-3).
Linear: healthy validation MSE 0.0677, 0.0630, 0.0584 on seeds 1-3 (start 1.42, 0.59, 0.43; train loss at the end
0.057-0.061; largest 2.36, 0.83, 0.59; every loss finite): healthy; lr x10 (0.1): 0.0562: healthy; lr x100 (1.0):
the loss grows from the first steps (start 784 and 2308) to inf and NaN on seeds 1 and 2: broken; lr x1000: the same
(start 8.3e11): broken; lr /1000: 2.146 (start 1.62, train loss 1.74 at the end): broken; features x100: inf and NaN
within the first 5 steps (start 1.6e23 and 6.1e21) on seeds 1 and 2: broken; features +1000: inf within the first 5
steps, then NaN: broken; zero_grad left out: seed 1 0.345 (train loss 0.67 at the end): broken, seed 2 0.0706 against
0.0630 (train loss 0.44 at the end, the accumulated gradient swings the weights; the last step happened to land near
the fit): ambiguous; lr x2: 0.0641: healthy; batch 8: 0.0641: healthy (batch 64 was tried first: 0.145 on seed 1,
too few SGD steps at lr 0.01 in 5 epochs, so not harmless; replaced before recording).
MLP: healthy 0.0575, 0.0527, 0.0556 on seeds 1-3 (start 1.32, 1.42, 2.16; train loss at the end 0.053-0.059; largest
2.20, 2.53, 2.96): healthy; lr x10 (0.1): 0.0860: ambiguous (worse than its control, not twice); lr x100 (1.0): 0.0690
(seed 1, start 85, largest 268) and 0.0710 (seed 2, largest 435): ambiguous (Adam recovers, but the loss blew up on
the way); lr x1000 (10): 0.337 (start 7.5e5, largest 3.2e6): broken; lr /1000: 1.694 (start 1.71): broken; N(0, 1)
weights: 0.215 (start 9.4) and 0.267 (start 40.9): broken; zero weights with the default biases: 0.0586 (start 0.62;
the random biases break the symmetry once the output layer moves): healthy; constant 0.5 weights, zero biases: 0.164
(start 19.5) and 0.155 (start 20.3): broken; hidden bias -10: 0.464 and 0.429 (only the output bias learns): broken;
features +1000: 0.335 (start 9.7e5): broken; zero_grad left out: 2.575 and 1.151 (the loss rises to 2.6 and 4.2 at
the end): broken; lr x2: 0.0564: healthy; batch 8: 0.0558: healthy.
Labels: 12 healthy (6 programs; linear lr x10, lr x2, batch 8; MLP zero weights, lr x2, batch 8), 19 broken,
4 ambiguous (linear zero_grad seed 2; MLP lr x10, lr x100 on seeds 1 and 2).  Non-finite losses only in the linear
model's lr x100/x1000 and unscaled-feature runs.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from torch import nn

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optim, every=10) right after the optimizer is built (the linear model: "
              "model.configure_optimizers() in d2l's Trainer.fit, written out; the MLP: torch.optim.Adam in the old "
              "edition's train()); monitor.step(loss) right after loss.backward() (inside fit_epoch's torch.no_grad() "
              "block for the linear model), before the optimizer's step")

EPOCHS = 5


# --- the current edition (commit 23d7a5a): d2l.DataModule, Data, d2l.LinearRegression ---------------------------------

class Data:  # upstream: class Data(d2l.DataModule)
    def __init__(self, batch_size=16, T=1000, num_train=600, tau=4):
        # upstream: self.save_hyperparameters()
        self.batch_size, self.T, self.num_train, self.tau = batch_size, T, num_train, tau
        self.time = torch.arange(1, T + 1, dtype=torch.float32)
        self.x = torch.sin(0.01 * self.time) + torch.randn(T) * 0.2

    def get_dataloader(self, train):
        features = [self.x[i : self.T-self.tau+i] for i in range(self.tau)]
        self.features = torch.stack(features, 1)
        self.labels = torch.reshape(self.x[self.tau:], (-1, 1))
        i = slice(0, self.num_train) if train else slice(self.num_train, None)
        return self.get_tensorloader([self.features, self.labels], train, i)

    # d2l.DataModule
    def train_dataloader(self):
        return self.get_dataloader(train=True)

    def val_dataloader(self):
        return self.get_dataloader(train=False)

    def get_tensorloader(self, tensors, train, indices=slice(0, None)):
        tensors = tuple(a[indices] for a in tensors)
        dataset = torch.utils.data.TensorDataset(*tensors)
        return torch.utils.data.DataLoader(dataset, self.batch_size,
                                           shuffle=train)


class LinearRegression(nn.Module):  # upstream: class LinearRegression(d2l.Module)
    """The linear regression model implemented with high-level APIs."""
    def __init__(self, lr):
        super().__init__()
        self.lr = lr  # upstream: self.save_hyperparameters()
        self.net = nn.LazyLinear(1)
        self.net.weight.data.normal_(0, 0.01)
        self.net.bias.data.fill_(0)

    def forward(self, X):
        return self.net(X)

    def loss(self, y_hat, y):
        fn = nn.MSELoss()
        return fn(y_hat, y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), self.lr)

    def training_step(self, batch):  # d2l.Module
        l = self.loss(self(*batch[:-1]), batch[-1])  # noqa: E741
        return l  # upstream: self.plot('loss', l, train=True)


# --- the older edition (commit 3767145): the MLP and its train() ---------------------------------------------------------

def init_weights(m):
    if type(m) == nn.Linear:  # noqa: E721 (as in the book)
        nn.init.xavier_uniform_(m.weight)


def get_net(init="xavier"):
    net = nn.Sequential(nn.Linear(4, 10),
                        nn.ReLU(),
                        nn.Linear(10, 1))
    if init == "xavier":
        net.apply(init_weights)
    else:  # the init variants: init_weights with another nn.init call
        for m in net:
            if type(m) == nn.Linear:  # noqa: E721
                if init == "normal1":
                    nn.init.normal_(m.weight, 0.0, 1.0)
                elif init == "zeros":
                    nn.init.zeros_(m.weight)
                elif init == "const":
                    nn.init.constant_(m.weight, 0.5)
                    nn.init.zeros_(m.bias)
                else:
                    raise ValueError(init)
    return net


def evaluate_loss(net, data_iter, loss):
    """Evaluate the loss of a model on the given dataset (d2l.evaluate_loss)."""
    total, n = 0.0, 0  # upstream: metric = d2l.Accumulator(2)
    for X, y in data_iter:
        out = net(X)
        y = torch.reshape(y, out.shape)
        l = loss(out, y)  # noqa: E741
        total, n = total + float(l.sum()), n + l.numel()
    return total / n


def train(seed: int = 1, model: str = "linear", lr_mult: float = 1.0, input_scale: float = 1.0,
          input_offset: float = 0.0, init: str = "xavier", hidden_bias: float | None = None, zero_grad: bool = True,
          batch_size: int = 16, max_epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    T, tau, n_train = 1000, 4, 600
    if model == "linear":
        data = Data(batch_size=batch_size)
        train_dataloader = data.train_dataloader()
        val_dataloader = data.val_dataloader()
        features, labels = data.features, data.labels
        if input_scale != 1.0 or input_offset != 0.0:  # the unscaled_inputs variants: the features only
            features = features * input_scale + input_offset
            train_dataloader = data.get_tensorloader([features, labels], True, slice(0, n_train))
            val_dataloader = data.get_tensorloader([features, labels], False, slice(n_train, None))
        net = LinearRegression(lr=0.01 * lr_mult)
        with torch.no_grad():
            net(features[:1])  # upstream: materialized in the first training step (see the docstring)
        loss_fn = net.loss
        # trainer = d2l.Trainer(max_epochs=5); trainer.fit(model, data):
        optim = net.configure_optimizers()
    elif model == "mlp":
        time_ = torch.arange(1, T + 1, dtype=torch.float32)
        x = torch.sin(0.01 * time_) + torch.normal(0, 0.2, (T,))
        features = torch.zeros((T - tau, tau))
        for i in range(tau):
            features[:, i] = x[i: T - tau + i]
        labels = torch.reshape(x[tau:], (-1, 1))
        features = features * input_scale + input_offset  # the unscaled_inputs variants (1 and 0: unchanged)
        dataset = torch.utils.data.TensorDataset(features[:n_train], labels[:n_train])  # d2l.load_array
        train_dataloader = torch.utils.data.DataLoader(dataset, batch_size, shuffle=True)
        val_dataloader = None
        net = get_net(init)
        if hidden_bias is not None:  # the dead_relu variant: the hidden layer's bias set to a large negative value
            nn.init.constant_(net[0].bias, hidden_bias)
        loss_fn = nn.MSELoss()
        optim = torch.optim.Adam(net.parameters(), 0.01 * lr_mult)
    else:
        raise ValueError(model)
    monitor = gradmedic.watch(net, optim, every=every)  # gradmedic

    losses, epoch_losses = [], []
    for epoch in range(max_epochs):
        net.train()
        for batch in train_dataloader:
            if model == "linear":  # d2l.Trainer.fit_epoch
                loss = net.training_step(batch)
                if zero_grad:  # the no_zero_grad variant leaves this out
                    optim.zero_grad()
                with torch.no_grad():
                    loss.backward()
                    monitor.step(loss)  # gradmedic
                    optim.step()
            else:  # the old edition's train()
                X, y = batch
                if zero_grad:  # the no_zero_grad variant leaves this out
                    optim.zero_grad()
                loss = loss_fn(net(X), y)
                loss.backward()
                monitor.step(loss)  # gradmedic
                optim.step()
            losses.append(float(loss.detach()))
        with torch.no_grad():
            if model == "mlp":
                epoch_losses.append(evaluate_loss(net, train_dataloader, loss_fn))
            else:  # the Trainer's validation pass (plotted in the book; its mean over batches here)
                epoch_losses.append(float(np.mean([float(loss_fn(net(X), y)) for X, y in val_dataloader])))
        if verbose:
            print(f'epoch {epoch + 1}, loss: {epoch_losses[-1]:f}', flush=True)
    monitor.close()

    with torch.no_grad():
        net.eval()
        onestep_preds = net(features)  # the book's one-step-ahead predictions over every example
        val_mse = float(loss_fn(onestep_preds[n_train:], labels[n_train:]))
        train_mse = float(loss_fn(onestep_preds[:n_train], labels[:n_train]))
        noise_floor = float(torch.mean((torch.sin(0.01 * torch.arange(1, T + 1, dtype=torch.float32))[tau:][n_train:]
                                        - labels[n_train:, 0]) ** 2))
    if not math.isfinite(val_mse):
        val_mse = float("nan")
    first = float(np.mean(losses[:5]))
    return {"monitors": {"": monitor}, "metric": "loss", "value": val_mse,
            "initial": first, "initial_what": "the mean training loss (MSE) of the first 5 steps",
            "chance": float(torch.var(labels[n_train:])),
            "extra": {"val_mse": val_mse, "train_mse": train_mse, "first_loss": first,
                      "train_loss": float(np.mean(losses[-20:])), "max_loss": float(np.nanmax(losses)),
                      "finite_losses": bool(np.isfinite(losses).all()), "epoch_losses": epoch_losses,
                      "noise_mse": noise_floor, "steps": len(losses), "epochs": max_epochs, "batch_size": batch_size,
                      "model": model, "lr": optim.param_groups[0]["lr"], "lr_mult": lr_mult,
                      "input_scale": input_scale, "input_offset": input_offset, "init": init,
                      "hidden_bias": hidden_bias if hidden_bias is not None else 0.0, "zero_grad": zero_grad},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="d2lseq", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_L = ("d2l sequence.md linear autoregression (noisy sine T 1000, tau 4, 600 training examples; LazyLinear(1), MSE, "
      f"SGD lr 0.01, batch 16, {EPOCHS} epochs of 38 steps)")
_M = ("d2l sequence.md (2021) MLP autoregression (noisy sine T 1000, tau 4, 600 training examples; Linear(4, 10), "
      f"ReLU, Linear(10, 1), Xavier-uniform weights, MSE, Adam lr 0.01, batch 16, {EPOCHS} epochs of 38 steps)")
CASES: list[dict] = (
    [_case(f"d2lseqlin_healthy_s{s}", "healthy", s, {"model": "linear"}, f"{_L}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"d2lseqlin_lr_x{k}_s{s}", "lr_high", s, {"model": "linear", "lr_mult": k},
             f"{_L}: lr x{k} ({0.01 * k:g})") for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("d2lseqlin_lr_div1000_s1", "lr_low", 1, {"model": "linear", "lr_mult": 1e-3}, f"{_L}: lr /1000 (1e-05)")]
    + [_case(f"d2lseqlin_inputs_x100_s{s}", "unscaled_inputs", s, {"model": "linear", "input_scale": 100.0},
             f"{_L}: the lagged features multiplied by 100 (the labels unchanged)") for s in (1, 2)]
    + [_case("d2lseqlin_inputs_plus1000_s1", "unscaled_inputs", 1, {"model": "linear", "input_offset": 1000.0},
             f"{_L}: 1000 added to the lagged features (the labels unchanged)")]
    + [_case(f"d2lseqlin_no_zero_grad_s{s}", "no_zero_grad", s, {"model": "linear", "zero_grad": False},
             f"{_L}: optim.zero_grad() left out of fit_epoch (the gradients accumulate)") for s in (1, 2)]
    + [_case("d2lseqlin_lr_x2_s1", "lr_high", 1, {"model": "linear", "lr_mult": 2}, f"{_L}: lr x2 (0.02), expected harmless")]
    + [_case("d2lseqlin_batch8_s1", "healthy", 1, {"model": "linear", "batch_size": 8},
             f"{_L}: batch_size 8 instead of 16 (75 steps an epoch), expected harmless")]
    + [_case(f"d2lseqmlp_healthy_s{s}", "healthy", s, {"model": "mlp"}, f"{_M}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"d2lseqmlp_lr_x{k}_s{s}", "lr_high", s, {"model": "mlp", "lr_mult": k},
             f"{_M}: lr x{k} ({0.01 * k:g})") for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("d2lseqmlp_lr_div1000_s1", "lr_low", 1, {"model": "mlp", "lr_mult": 1e-3}, f"{_M}: lr /1000 (1e-05)")]
    + [_case(f"d2lseqmlp_init_std1_s{s}", "init_large", s, {"model": "mlp", "init": "normal1"},
             f"{_M}: nn.init.normal_(m.weight, 0, 1) instead of xavier_uniform_ in init_weights") for s in (1, 2)]
    + [_case("d2lseqmlp_zero_init_s1", "symmetric_init", 1, {"model": "mlp", "init": "zeros"},
             f"{_M}: nn.init.zeros_(m.weight) instead of xavier_uniform_ in init_weights (biases keep the default)")]
    + [_case(f"d2lseqmlp_const_init_s{s}", "symmetric_init", s, {"model": "mlp", "init": "const"},
             f"{_M}: nn.init.constant_(m.weight, 0.5) and nn.init.zeros_(m.bias) instead of xavier_uniform_ in "
             "init_weights (ten identical hidden units)") for s in (1, 2)]
    + [_case(f"d2lseqmlp_dead_relu_s{s}", "dead_relu", s, {"model": "mlp", "hidden_bias": -10.0},
             f"{_M}: the hidden Linear(4, 10)'s bias set to -10 after init (every ReLU off for every input)")
       for s in (1, 2)]
    + [_case("d2lseqmlp_inputs_plus1000_s1", "unscaled_inputs", 1, {"model": "mlp", "input_offset": 1000.0},
             f"{_M}: 1000 added to the lagged features (the labels unchanged)")]
    + [_case(f"d2lseqmlp_no_zero_grad_s{s}", "no_zero_grad", s, {"model": "mlp", "zero_grad": False},
             f"{_M}: trainer.zero_grad() left out of train() (the gradients accumulate)") for s in (1, 2)]
    + [_case("d2lseqmlp_lr_x2_s1", "lr_high", 1, {"model": "mlp", "lr_mult": 2}, f"{_M}: lr x2 (0.02), expected harmless")]
    + [_case("d2lseqmlp_batch8_s1", "healthy", 1, {"model": "mlp", "batch_size": 8},
             f"{_M}: batch_size 8 instead of 16 (75 steps an epoch), expected harmless")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
