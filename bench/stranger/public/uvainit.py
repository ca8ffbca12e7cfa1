"""Phillip Lippe's UvA Deep Learning Tutorial 4 ("Optimization and Initialization"): the BaseNetwork MLP
784-512-256-256-128-10 with the notebook's own init functions, trained by its ``train_model`` loop on digits, watched
by gradmedic.

Adapted from https://github.com/phlippe/uvadlc_notebooks (commit 0da8037c7abc32f478ff6142acceb72dbcf088ee,
docs/tutorial_notebooks/tutorial4/Optimization_and_Initialization.ipynb, last changed in
90ce78f4747f18086d1770a9b7b3a63d3e1109df; MIT License, Copyright (c) 2020 Phillip Lippe, see LICENSE-uvainit).  The
notebook's blob was not readable from the stored snapshot, so its code cells were followed as they are reproduced in
public copies of the notebook (the same cells as the tutorial's rendered page).  Kept as in the notebook:
``BaseNetwork(act_fn, input_size=784, num_classes=10, hidden_sizes=[512, 256, 256, 128])`` (an ``nn.ModuleList`` of
Linear / act_fn pairs and a last Linear, ``x.view(x.size(0), -1)`` in ``forward``), ``Identity`` and
``act_fn_by_name`` (tanh, relu, identity), the init functions ``const_init(model, fill)`` (every parameter, biases
too, filled with one value), ``var_init(model, std)`` (every parameter from N(0, std); the notebook's "constant
variance" example, std=0.01 and 0.1), ``equal_var_init`` (N(0, 1/fan_in), biases 0), ``xavier_init`` (uniform with
bound sqrt(6)/sqrt(fan_in + fan_out), biases 0) and ``kaiming_init`` (N(0, 2/fan_in), the first layer N(0, 1/fan_in),
biases 0); the optimizer comparison's setup: ``base_model = BaseNetwork(act_fn=nn.ReLU(), hidden_sizes=[512, 256,
256, 128])``, ``kaiming_init(base_model)``, trained with Adam at lr 1e-3 (the notebook's own ``Adam`` class, whose
update - bias-corrected first and second moments, beta1 0.9, beta2 0.999, eps 1e-8 added to the square root - is
``torch.optim.Adam``'s, used here so gradmedic can read the param groups); ``train_model``: ``nn.CrossEntropyLoss()``,
a training DataLoader with batch_size=256, shuffle=True, drop_last=True, ``net.train()``, ``optimizer.zero_grad()``,
``preds = net(imgs)``, ``loss = loss_module(preds, labels)``, ``loss.backward()``, ``optimizer.step()``, the training
accuracy, ``test_model`` on the validation set after every epoch (argmax accuracy over all images, batch 1024), the
model saved at every new best validation accuracy, and the test accuracy of that best model (the notebook's
``save_model``/``load_model`` checkpoint, kept in memory here) as the metric.  The data transform ``ToTensor()`` then
``Normalize(mean, std)``.

Changed to run offline on one CPU thread: FashionMNIST is scikit-learn's ``load_digits`` upsampled to 1x28x28 in
[0, 1] (``digits28`` from bmlp.py: 1437 training and 360 test images), normalized by the mean and std of the 1437
training images' pixels (the notebook's Normalize((0.2861,), (0.3530,)) are FashionMNIST's training-set statistics),
and split 1150 / 287 into train and validation with ``data.random_split`` (the notebook: 50000 / 10000).  With 1150
images and drop_last there are 4 batches of 256 an epoch, so 60 epochs (240 steps) instead of max_epochs=40 (7800
steps over FashionMNIST); a run takes ~8-15 s.  The seed is the case's (the notebook's set_seed(42)).  tqdm, the
plots, the JSON result files, the visualisations of weights, gradients and activations, the hand-written SGD /
SGDMomentum classes and the pathological-curvature demos are left out.

The Tanh program (name prefix ``uvainittanh``, program "uvainit"): ``BaseNetwork(act_fn=nn.Tanh())`` with
``xavier_init``, the notebook's pairing for tanh, otherwise as above; its own healthy control for the tanh variant.

The watch: ``gradmedic.watch(model, optimizer, every=10)`` right after the optimizer and loss module are built (the
start of ``train_model``), ``monitor.step(loss)`` after ``loss.backward()``, before ``optimizer.step()``;
``monitor.close()`` after the last epoch.

``CASES``: the ReLU/kaiming program on seeds 1-3 and the Tanh/xavier program on seed 1 (control=False), and one
change each against the same seed's healthy run of its own activation: Adam lr x10, x100 (seeds 1 and 2), /1000;
``const_init(model, fill=0.005)`` (the notebook's symmetric example) and ``var_init(model, std=0.01)`` (its vanishing
example) in place of kaiming_init with ReLU; N(0, 1) on every weight (biases 0) in place of xavier_init with Tanh
(saturation); no Normalize (inputs in [0, 1]); raw 0..255 pixels without ToTensor's scaling or Normalize.  The
notebook does not clip, so there is no clipping case.  Labels come from run.py's outcome rules only.
Recorded (cases-public25; 13 cases in 133 s, 7-12 s a run on a shared 2-core machine): the ReLU/kaiming program
0.981, 0.975, 0.981 on seeds 1-3 and the Tanh/xavier program 0.972 (training loss 0.0002-0.001, the best validation
epoch 11-25 of 60): healthy; lr x10 (0.01) 0.978 but its largest loss 30.2 against the control's 2.8: ambiguous;
lr x100 (0.1) 0.711 and 0.111 (losses up to 7e4; seed 2 stuck at 2.30): broken; /1000 (1e-6) 0.225 (loss still
2.15): broken; const_init(0.005) 0.214 (training accuracy 0.21, loss 1.87: the neurons stay identical): broken;
var_init(std=0.01) trains slowly under Adam (best epoch 47, training accuracy 1.0) to 0.944, 3.6 points below the
control: ambiguous; N(0, 1) weights with Tanh 0.506 (training loss 1.36, training accuracy 0.76): broken; no
Normalize (inputs in [0, 1]) 0.983: healthy; raw 0..255 pixels 0.961 (largest loss 265): ambiguous.
"""

from __future__ import annotations

import copy
import math
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
import torch.utils.data as data
from bmlp import digits28

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("monitor.step(loss) after loss.backward() (nn.CrossEntropyLoss on the logits, batch 256), before "
              "optimizer.step() (optimizer.zero_grad() comes before the forward, the notebook's order)")

MAX_EPOCHS = 60  # the notebook: 40 over FashionMNIST (see the docstring)
BATCH_SIZE = 256


class BaseNetwork(nn.Module):

    def __init__(self, act_fn, input_size=784, num_classes=10, hidden_sizes=[512, 256, 256, 128]):  # noqa: B006
        """
        Inputs:
            act_fn - Object of the activation function that should be used as non-linearity in the network.
            input_size - Size of the input images in pixels
            num_classes - Number of classes we want to predict
            hidden_sizes - A list of integers specifying the hidden layer sizes in the NN
        """
        super().__init__()

        # Create the network based on the specified hidden sizes
        layers = []
        layer_sizes = [input_size] + hidden_sizes
        for layer_index in range(1, len(layer_sizes)):
            layers += [nn.Linear(layer_sizes[layer_index - 1], layer_sizes[layer_index]),
                       act_fn]
        layers += [nn.Linear(layer_sizes[-1], num_classes)]
        self.layers = nn.ModuleList(layers)  # A module list registers a list of modules as submodules

        self.config = {"act_fn": act_fn.__class__.__name__, "input_size": input_size, "num_classes": num_classes,
                       "hidden_sizes": hidden_sizes}

    def forward(self, x):
        x = x.view(x.size(0), -1)
        for l in self.layers:  # noqa: E741
            x = l(x)
        return x


class Identity(nn.Module):
    def forward(self, x):
        return x


act_fn_by_name = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "identity": Identity
}


def const_init(model, fill=0.0):
    for name, param in model.named_parameters():  # noqa: B007 (the notebook's loop)
        param.data.fill_(fill)


def var_init(model, std=0.01):
    for name, param in model.named_parameters():  # noqa: B007 (the notebook's loop)
        param.data.normal_(mean=0.0, std=std)


def equal_var_init(model):
    for name, param in model.named_parameters():
        if name.endswith(".bias"):
            param.data.fill_(0)
        else:
            param.data.normal_(std=1.0 / math.sqrt(param.shape[1]))


def xavier_init(model):
    for name, param in model.named_parameters():
        if name.endswith(".bias"):
            param.data.fill_(0)
        else:
            bound = math.sqrt(6) / math.sqrt(param.shape[0] + param.shape[1])
            param.data.uniform_(-bound, bound)


def kaiming_init(model):
    for name, param in model.named_parameters():
        if name.endswith(".bias"):
            param.data.fill_(0)
        elif name.startswith("layers.0"):  # The first layer does not have ReLU applied on its input
            param.data.normal_(0, 1 / math.sqrt(param.shape[1]))
        else:
            param.data.normal_(0, math.sqrt(2) / math.sqrt(param.shape[1]))


def normal1_init(model):
    """The benchmark's bad init: N(0, 1) on every weight, biases 0 (not in the notebook)."""
    for name, param in model.named_parameters():
        if name.endswith(".bias"):
            param.data.fill_(0)
        else:
            param.data.normal_(0, 1.0)


def test_model(net, data_loader):
    """
    Test a model on a specified dataset.

    Inputs:
        net - Trained model of type BaseNetwork
        data_loader - DataLoader object of the dataset to test on (validation or test)
    """
    net.eval()
    true_preds, count = 0., 0
    for imgs, labels in data_loader:
        with torch.no_grad():
            preds = net(imgs).argmax(dim=-1)
            true_preds += (preds == labels).sum().item()
            count += labels.shape[0]
    test_acc = true_preds / count
    return test_acc


def train(seed: int = 1, act: str = "relu", init: str = "kaiming", lr_mult: float = 1.0, normalize: bool = True,
          raw_pixels: bool = False, max_epochs: int = MAX_EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)

    xtr, ytr, xte, yte = digits28()  # ToTensor: [0, 1]
    mean, std = xtr.mean(), xtr.std()  # the notebook: Normalize((0.2861,), (0.3530,)), FashionMNIST's statistics
    if raw_pixels:  # the bug: raw 0..255 pixel values (no ToTensor scaling) and no Normalize
        xtr, xte = xtr * 255.0, xte * 255.0
    elif normalize:
        xtr, xte = (xtr - mean) / std, (xte - mean) / std
    train_dataset = data.TensorDataset(xtr, ytr)
    n_val = len(train_dataset) // 5
    train_set, val_set = data.random_split(train_dataset, [len(train_dataset) - n_val, n_val])
    test_set = data.TensorDataset(xte, yte)
    val_loader = data.DataLoader(val_set, batch_size=1024, shuffle=False, drop_last=False)
    test_loader = data.DataLoader(test_set, batch_size=1024, shuffle=False, drop_last=False)

    net = BaseNetwork(act_fn=act_fn_by_name[act](), hidden_sizes=[512, 256, 256, 128])
    if init == "kaiming":
        kaiming_init(net)
    elif init == "xavier":
        xavier_init(net)
    elif init == "const":  # the notebook's symmetric example: const_init(model, fill=0.005)
        const_init(net, fill=0.005)
    elif init == "var001":  # the notebook's vanishing example: var_init(model, std=0.01)
        var_init(net, std=0.01)
    elif init == "normal1":
        normal1_init(net)
    else:
        raise ValueError(init)

    # train_model(net, model_name, lambda params: Adam(params, lr=1e-3), max_epochs=40, batch_size=256)
    lr = 1e-3 * lr_mult
    optimizer = optim.Adam(net.parameters(), lr=lr)
    loss_module = nn.CrossEntropyLoss()
    train_loader_local = data.DataLoader(train_set, batch_size=BATCH_SIZE, shuffle=True, drop_last=True)
    monitor = gradmedic.watch(net, optimizer, every=every)

    val_scores = []
    train_losses, train_scores = [], []
    best_val_epoch = -1
    best_state = copy.deepcopy(net.state_dict())
    t0 = time.time()
    for epoch in range(max_epochs):
        ############
        # Training #
        ############
        net.train()
        true_preds, count = 0., 0
        for imgs, labels in train_loader_local:
            optimizer.zero_grad()
            preds = net(imgs)
            loss = loss_module(preds, labels)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            # Record statistics during training
            true_preds += (preds.argmax(dim=-1) == labels).sum().item()
            count += labels.shape[0]
            train_losses.append(loss.item())
        train_acc = true_preds / count
        train_scores.append(train_acc)

        ##############
        # Validation #
        ##############
        val_acc = test_model(net, val_loader)
        val_scores.append(val_acc)
        if verbose and (epoch + 1) % 10 == 0:
            print(f"[Epoch {epoch + 1:2d}] Training accuracy: {train_acc * 100.0:05.2f}%, Validation accuracy: "
                  f"{val_acc * 100.0:05.2f}%, loss {train_losses[-1]:.4f}, time = {time.time() - t0:05.2f}",
                  flush=True)

        if len(val_scores) == 1 or val_acc > val_scores[best_val_epoch]:
            best_state = copy.deepcopy(net.state_dict())  # the notebook: save_model(net, CHECKPOINT_PATH, ...)
            best_val_epoch = epoch

    net.load_state_dict(best_state)  # the notebook: load_model(CHECKPOINT_PATH, model_name, net=net)
    test_acc = test_model(net, test_loader)
    monitor.close()
    losses = np.array(train_losses)
    if verbose:
        print(f" Test accuracy: {test_acc * 100.0:4.2f}% (best epoch {best_val_epoch + 1}), steps {len(losses)}, "
              f"{time.time() - t0:.1f}s")
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(test_acc), "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"best_epoch": best_val_epoch + 1, "best_val_acc": val_scores[best_val_epoch],
                      "final_val_acc": val_scores[-1], "final_train_acc": train_scores[-1],
                      "train_loss": float(np.mean(losses[-20:])), "steps": len(losses), "lr": lr,
                      "loss_max": float(np.max(losses)) if np.isfinite(losses).all() else float("nan")},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="uvainit", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_H = ("unchanged (BaseNetwork 784-512-256-256-128-10 with nn.ReLU, kaiming_init, CrossEntropyLoss, Adam lr 1e-3, "
      f"batch 256 shuffled with drop_last, {MAX_EPOCHS} epochs = {MAX_EPOCHS * 4} steps, inputs normalized by the "
      "training set's mean and std, the best-validation-accuracy model tested)")
_HT = ("the Tanh program: BaseNetwork with nn.Tanh and xavier_init, otherwise unchanged (Adam 1e-3, batch 256, "
       f"{MAX_EPOCHS} epochs, normalized inputs)")
CASES: list[dict] = (
    [_case(f"uvainit_healthy_s{s}", "healthy", s, {}, _H, False) for s in (1, 2, 3)]
    + [_case("uvainittanh_healthy_s1", "healthy", 1, {"act": "tanh", "init": "xavier"}, _HT, False)]
    + [_case(f"uvainit_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("uvainit_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (1e-06)")]
    + [_case("uvainit_const_init_s1", "symmetric_init", 1, {"init": "const"},
             "const_init(model, fill=0.005) (every weight and bias 0.005, the notebook's example) instead of "
             "kaiming_init")]
    + [_case("uvainit_var_init001_s1", "init_small", 1, {"init": "var001"},
             "var_init(model, std=0.01) (every weight and bias from N(0, 0.01^2), the notebook's vanishing example) "
             "instead of kaiming_init")]
    + [_case("uvainittanh_init_std1_s1", "init_large", 1, {"act": "tanh", "init": "normal1"},
             "N(0, 1) on every weight (biases 0) instead of xavier_init, with nn.Tanh (against the Tanh/xavier "
             "program)")]
    + [_case("uvainit_no_normalize_s1", "unscaled_inputs", 1, {"normalize": False},
             "no Normalize(mean, std): the inputs are ToTensor's [0, 1] pixels")]
    + [_case("uvainit_raw_pixels_s1", "unscaled_inputs", 1, {"raw_pixels": True},
             "raw 0..255 pixel values: no ToTensor scaling to [0, 1] and no Normalize(mean, std)")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = (float(v) if k == "lr_mult" else int(v) if k in ("max_epochs", "seed")
                 else v if k in ("act", "init") else v == "1")
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
