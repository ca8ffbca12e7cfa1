"""Phillip Lippe's UvA Deep Learning Tutorial 3 ("Activation Functions"): the BaseNetwork MLP 784-512-256-256-128-10
with the notebook's own activation-function classes, trained by its ``train_model`` (SGD lr 1e-2, momentum 0.9) on
digits, watched by gradmedic.

Adapted from https://github.com/phlippe/uvadlc_notebooks (commit 0da8037c7abc32f478ff6142acceb72dbcf088ee, the
stored snapshot's HEAD; docs/tutorial_notebooks/tutorial3/Activation_Functions.ipynb, last changed in
f21b6428f522e879f90b1b6e3aef5846d78fafe4; MIT License, Copyright (c) 2020 Phillip Lippe, the repository's
LICENSE.md, see LICENSE-uvaact).  The notebook's code cells were read from that blob.  uvainit.py ports tutorial 4
(the same BaseNetwork under Adam with the notebook-4 init functions); this port is tutorial 3's own training run.

Kept as in the notebook: the ``ActivationFunction`` base class and its subclasses ``Sigmoid`` (``1 / (1 +
torch.exp(-x))``), ``Tanh`` (from ``torch.exp``), ``ReLU`` (``x * (x > 0).float()``), ``LeakyReLU`` (alpha 0.1),
``ELU`` and ``Swish``, and ``act_fn_by_name``; ``BaseNetwork(act_fn, input_size=784, num_classes=10,
hidden_sizes=[512, 256, 256, 128])`` (an ``nn.Sequential`` of Linear / act_fn pairs and a last Linear, the one
act_fn object shared by every hidden layer, ``x.view(x.size(0), -1)``), PyTorch's default ``nn.Linear`` init (the
notebook sets none); the data transform ``ToTensor()`` then ``Normalize((0.5,), (0.5,))`` (inputs in [-1, 1]); the
training/validation ``random_split`` and a validation and test loader of batch 1024; ``train_model`` line for line:
``optim.SGD(net.parameters(), lr=1e-2, momentum=0.9)``, ``nn.CrossEntropyLoss()``, a training DataLoader with
batch_size=256, shuffle=True, drop_last=True, ``net.train()``, ``optimizer.zero_grad()`` before the forward,
``preds = net(imgs)``, ``loss = loss_module(preds, labels)``, ``loss.backward()``, ``optimizer.step()``, the training
accuracy, ``test_model`` on the validation set after every epoch, the model saved at every new best validation
accuracy and the early-stopping test, then the best model (``save_model``/``load_model``, kept in memory here) tested
on the test set: its test accuracy is the metric (the notebook's ``train_model`` return value).  ``set_seed(seed)``
before the split and again before the network is built (the notebook: ``set_seed(42)`` at both places).

Changed to run offline on one CPU thread: FashionMNIST is scikit-learn's ``load_digits`` upsampled to 1x28x28 in
[0, 1] (``digits28`` from bmlp.py: 1437 training and 360 test images, so input_size stays 784), split 1150 / 287 into
train and validation with ``data.random_split`` (the notebook: 50000 / 10000).  With 1150 images and drop_last an
epoch is 4 steps (FashionMNIST: 195), so max_epochs is 80 (320 steps) instead of 50 (9750 steps), and the
early-stopping patience, 7 epochs in the notebook (1365 steps, more than this whole run), is set to max_epochs so it
never fires (with patience 7 = 28 steps here, a trial run stopped the healthy Swish and lr x10 runs during their slow
first epochs, which on FashionMNIST all lie inside the first epoch).  A run takes 11-16 s on the shared 2-core
machine.  tqdm, the plots, the pretrained-model download, the checkpoint files, the gradient / activation histograms
and the dead-neuron counts are left out; no ``.to(device)`` (CPU).

The watch, as a user would: ``monitor = gradmedic.watch(net, optimizer, every=10)`` right after the optimizer and
loss module are built (the start of ``train_model``), ``monitor.step(loss)`` right after ``loss.backward()``, before
``optimizer.step()``; ``monitor.close()`` after the last epoch.

``CASES`` (program "uvaact"): the ReLU program on seeds 1-3 (control=False), and one change each against the same
seed's healthy run: the notebook's other activations - ``Sigmoid`` (the notebook's own failing run, 10.00% test
accuracy there; cause "saturating_depth": four sigmoid layers), ``Tanh`` and ``ELU`` (seed 1) and ``LeakyReLU``
(seed 2), expected harmless (cause "healthy"); SGD lr x10 (seed 3), x100 (seeds 1 and 2), /1000, x2 (seed 2,
expected harmless); raw 0..255 pixels (no ToTensor scaling, no Normalize); every Linear weight and bias
``normal_(std=1)``; every Linear weight and bias zero; ``optimizer.zero_grad()`` left out; softmax applied to the
logits before ``CrossEntropyLoss``.  The notebook does not clip, so there is no clipping case.  Seeds were chosen from
trial runs so that the harmless changes land clearly on one side: Swish trains more slowly here (trial: 0.844 on seed
1, 0.889 on seed 2: ambiguous either way), so it is not a case; lr x10 on seed 1 reached 0.972 but its loss spiked to
5.1 (more than twice the control's largest, 2.31: ambiguous by run.py's rule), so the lr x10 case is on seed 3.
Labels come from run.py's outcome rules only.

Recorded (cases-public43, 17 runs, 11-16 s each): healthy 0.961, 0.944, 0.953 test accuracy on seeds 1-3 (train loss
2.30 -> 0.040-0.047, best validation epoch 80, 61, 72, every loss finite, largest 2.31): healthy; Sigmoid: the loss
stays at 2.30 (training accuracy 0.108), 0.083: broken; Tanh 0.953, ELU 0.942, LeakyReLU 0.944 (train loss
0.027-0.049): healthy; lr x10 (0.1, seed 3): loss up to 2.78, train loss 1e-4, 0.969: healthy; lr x100 (1.0): losses
up to 3.4e20 (seed 1) and 6.2e34 (seed 2) then NaN, 0.419 and 0.300 (the best-validation model is the one after the
first epoch): broken; lr /1000 (1e-5): the loss stays at 2.30, 0.097: broken; raw 0..255 pixels: first losses ~8,
up to 2.7e17 then NaN, 0.131: broken; N(0, 1) init: NaN from the first steps (largest finite 3.6e35), 0.075: broken;
zero init: the loss stays at 2.30, 0.075: broken; zero_grad left out: the loss up to 2.1e10, train loss 36, 0.639
(best epoch 7): broken; softmax before CrossEntropyLoss: train loss 2.303 -> 2.297, 0.167: broken; lr x2 (0.02, seed
2): 0.950: healthy.  Labels: 8 healthy (3 programs, 5 variants), 9 broken, 0 ambiguous.
"""

from __future__ import annotations

import copy
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
MONITOR_AT = ("watch(net, optimizer, every=10) right after optimizer = optim.SGD(...) and loss_module in train_model; "
              "monitor.step(loss) after loss.backward() (nn.CrossEntropyLoss on the logits, batch 256), before "
              "optimizer.step() (optimizer.zero_grad() comes before the forward, the notebook's order)")

MAX_EPOCHS = 80  # the notebook: max_epochs=50 over FashionMNIST (195 batches an epoch); here 4 batches an epoch
PATIENCE = MAX_EPOCHS  # the notebook: patience=7 epochs (1365 steps, more than this whole run): never fires here
BATCH_SIZE = 256
LR = 1e-2


class ActivationFunction(nn.Module):

    def __init__(self):
        super().__init__()
        self.name = self.__class__.__name__
        self.config = {"name": self.name}

##############################


class Sigmoid(ActivationFunction):

    def forward(self, x):
        return 1 / (1 + torch.exp(-x))

##############################


class Tanh(ActivationFunction):

    def forward(self, x):
        x_exp, neg_x_exp = torch.exp(x), torch.exp(-x)
        return (x_exp - neg_x_exp) / (x_exp + neg_x_exp)

##############################


class ReLU(ActivationFunction):

    def forward(self, x):
        return x * (x > 0).float()

##############################


class LeakyReLU(ActivationFunction):

    def __init__(self, alpha=0.1):
        super().__init__()
        self.config["alpha"] = alpha

    def forward(self, x):
        return torch.where(x > 0, x, self.config["alpha"] * x)

##############################


class ELU(ActivationFunction):

    def forward(self, x):
        return torch.where(x > 0, x, torch.exp(x) - 1)

##############################


class Swish(ActivationFunction):

    def forward(self, x):
        return x * torch.sigmoid(x)

##############################


act_fn_by_name = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leakyrelu": LeakyReLU,
    "elu": ELU,
    "swish": Swish
}


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
        # nn.Sequential summarizes a list of modules into a single module, applying them in sequence
        self.layers = nn.Sequential(*layers)

        # We store all hyperparameters in a dictionary for saving and loading of the model
        self.config = {"act_fn": act_fn.config, "input_size": input_size, "num_classes": num_classes,
                       "hidden_sizes": hidden_sizes}

    def forward(self, x):
        x = x.view(x.size(0), -1)  # Reshape images to a flat vector
        out = self.layers(x)
        return out


def set_seed(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


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


def train(seed: int = 1, act: str = "relu", lr_mult: float = 1.0, raw_pixels: bool = False, init: str = "default",
          zero_grad: bool = True, softmax: bool = False, max_epochs: int = MAX_EPOCHS, patience: int = PATIENCE,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    t0 = time.time()
    set_seed(seed)  # the notebook: set_seed(42) at the top, before the data split

    # transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))]): [-1, 1]
    xtr, ytr, xte, yte = digits28()  # ToTensor: [0, 1]
    if raw_pixels:  # the bug: raw 0..255 pixel values, no ToTensor scaling and no Normalize
        xtr, xte = xtr * 255.0, xte * 255.0
    else:
        xtr, xte = (xtr - 0.5) / 0.5, (xte - 0.5) / 0.5
    train_dataset = data.TensorDataset(xtr, ytr)
    n_val = len(train_dataset) // 5  # the notebook: random_split(train_dataset, [50000, 10000])
    train_set, val_set = data.random_split(train_dataset, [len(train_dataset) - n_val, n_val])
    test_set = data.TensorDataset(xte, yte)
    val_loader = data.DataLoader(val_set, batch_size=1024, shuffle=False, drop_last=False)
    test_loader = data.DataLoader(test_set, batch_size=1024, shuffle=False, drop_last=False)

    set_seed(seed)  # the notebook: set_seed(42) before each activation's network
    act_fn = act_fn_by_name[act]()
    net = BaseNetwork(act_fn=act_fn)
    if init != "default":  # the notebook keeps PyTorch's default nn.Linear init
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

    # train_model(net, model_name, max_epochs=50, patience=7, batch_size=256)
    # Defining optimizer, loss and data loader
    lr = LR * lr_mult
    optimizer = optim.SGD(net.parameters(), lr=lr, momentum=0.9)  # Default parameters, feel free to change
    loss_module = nn.CrossEntropyLoss()
    train_loader_local = data.DataLoader(train_set, batch_size=BATCH_SIZE, shuffle=True, drop_last=True)
    monitor = gradmedic.watch(net, optimizer, every=every)

    val_scores = []
    train_losses, train_scores = [], []
    best_val_epoch = -1
    best_state = copy.deepcopy(net.state_dict())
    stopped_early = False
    for epoch in range(max_epochs):
        ############
        # Training #
        ############
        net.train()
        true_preds, count = 0., 0
        for imgs, labels in train_loader_local:
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()  # Zero-grad can be placed anywhere before "loss.backward()"
            preds = net(imgs)
            if softmax:  # the wrong_loss variant: probabilities fed to CrossEntropyLoss
                preds = torch.softmax(preds, dim=-1)
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
        if verbose:
            print(f"[Epoch {epoch + 1:2d}] Training accuracy: {train_acc * 100.0:05.2f}%, Validation accuracy: "
                  f"{val_acc * 100.0:05.2f}%, loss {train_losses[-1]:.4f}, time = {time.time() - t0:05.2f}",
                  flush=True)

        if len(val_scores) == 1 or val_acc > val_scores[best_val_epoch]:
            best_state = copy.deepcopy(net.state_dict())  # the notebook: save_model(net, CHECKPOINT_PATH, model_name)
            best_val_epoch = epoch
        elif best_val_epoch <= epoch - patience:
            if verbose:
                print(f"Early stopping due to no improvement over the last {patience} epochs")
            stopped_early = True
            break

    monitor.close()
    net.load_state_dict(best_state)  # the notebook: load_model(CHECKPOINT_PATH, model_name, net=net)
    test_acc = test_model(net, test_loader)
    losses = np.array(train_losses)
    if verbose:
        print(f" Test accuracy: {test_acc * 100.0:4.2f}% (best epoch {best_val_epoch + 1}, {len(val_scores)} epochs), "
              f"steps {len(losses)}, {time.time() - t0:.1f}s")
    finite = bool(np.isfinite(losses).all())
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(test_acc), "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"best_epoch": best_val_epoch + 1, "epochs_run": len(val_scores), "stopped_early": stopped_early,
                      "best_val_acc": float(val_scores[best_val_epoch]), "final_val_acc": float(val_scores[-1]),
                      "final_train_acc": float(train_scores[-1]), "train_loss": float(np.mean(losses[-20:])),
                      "first_loss": float(np.mean(losses[:5])), "max_loss": float(np.nanmax(losses)),
                      "finite_losses": finite, "steps": len(losses), "lr": lr, "lr_mult": lr_mult, "act": act,
                      "raw_pixels": raw_pixels, "init": init, "zero_grad": zero_grad, "softmax": softmax},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="uvaact", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = ("BaseNetwork 784-512-256-256-128-10 with the notebook's ReLU class, default init, CrossEntropyLoss, SGD lr "
      f"{LR:g} momentum 0.9, batch 256 shuffled with drop_last, {MAX_EPOCHS} epochs of 4 steps, inputs "
      "Normalize((0.5,), (0.5,)), the best-validation-accuracy model tested")
CASES: list[dict] = (
    [_case(f"uvaact_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case("uvaact_sigmoid_s1", "saturating_depth", 1, {"act": "sigmoid"},
             f"{_P}: the notebook's Sigmoid class in every hidden layer instead of ReLU (the notebook's failing run)")]
    + [_case("uvaact_tanh_s1", "healthy", 1, {"act": "tanh"},
             f"{_P}: the notebook's Tanh class instead of ReLU (expected harmless)")]
    + [_case("uvaact_elu_s1", "healthy", 1, {"act": "elu"},
             f"{_P}: the notebook's ELU class instead of ReLU (expected harmless)")]
    + [_case("uvaact_leakyrelu_s2", "healthy", 2, {"act": "leakyrelu"},
             f"{_P}: the notebook's LeakyReLU class (alpha 0.1) instead of ReLU (expected harmless)")]
    + [_case("uvaact_lr_x10_s3", "lr_high", 3, {"lr_mult": 10}, f"{_P}: lr x10 ({LR * 10:g})")]
    + [_case(f"uvaact_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((100, (1, 2)),) for s in ss]
    + [_case("uvaact_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case("uvaact_raw_pixels_s1", "unscaled_inputs", 1, {"raw_pixels": True},
             f"{_P}: raw 0..255 pixel values (no ToTensor scaling, no Normalize)")]
    + [_case("uvaact_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_P}: every Linear weight and bias normal_(std=1)")]
    + [_case("uvaact_zero_init_s1", "symmetric_init", 1, {"init": "zero"},
             f"{_P}: every Linear weight and bias zeros_")]
    + [_case("uvaact_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out")]
    + [_case("uvaact_softmax_ce_s1", "wrong_loss", 1, {"softmax": True},
             f"{_P}: softmax applied to the logits before CrossEntropyLoss")]
    + [_case("uvaact_lr_x2_s2", "lr_high", 2, {"lr_mult": 2}, f"{_P}: lr x2 ({LR * 2:g}, expected harmless)")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = (float(v) if k == "lr_mult" else int(v) if k in ("max_epochs", "seed", "patience")
                 else v if k in ("act", "init") else v == "1")
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
