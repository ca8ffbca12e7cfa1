"""Sebastian Raschka's multilayer perceptron from scratch with sigmoid activations and MSE loss (deeplearning-models'
model zoo), trained on digits, watched by gradmedic.

Adapted from https://github.com/rasbt/deeplearning-models (commit 18e046926551378cd691fd871dda0f21dcd272ab, the
newest stored; the notebook was last changed in c8702ff1682e6b809ab2c203aa4484e678a5398e;
pytorch_ipynb/mlp/mlp-fromscratch__sigmoid-mse.ipynb, the repository's only sigmoid + MSE MLP; MIT License,
Copyright (c) 2019-2022 Sebastian Raschka, see LICENSE-rasbtmse).

Kept as in the notebook (code copied below): ``MultilayerPerceptron`` with one hidden layer of 50 units
(``weight_1``, ``weight_o`` drawn ``torch.zeros(...).normal_(0.0, 0.1)``, ``bias_1``, ``bias_o`` zeros), ``forward``
(``torch.mm`` + bias, ``torch.sigmoid`` on the hidden and on the output layer), the hand-written ``backward``
(one-hot targets, ``dloss_da2 = 2.*(a_2 - y_onehot) / y.size(0)``, the sigmoid derivatives, the four gradients; no
autograd), ``to_onehot``, ``loss_func`` (the mean squared error over examples and classes, logged per minibatch),
``torch.manual_seed`` before the model is built, the loop (forward, backward, ``model.weight_1 -= learning_rate *
dloss_dw1`` and the three other plain SGD updates, then the cost), ``learning_rate=0.1``, ``BATCH_SIZE = 100`` with
``shuffle=True``, inputs in [0, 1] as ``ToTensor()`` gives them (no Normalize), test accuracy as
``compute_accuracy`` (argmax of the output probabilities).

Changed, to run offline on one CPU thread: MNIST is scikit-learn's ``load_digits`` (8x8 images, 64 inputs instead
of 28*28, 10 classes), split 80/20 with random_state=0 into 1437 training / 360 test images, values /16 into
[0, 1]; NUM_EPOCHS 400 epochs of 15 minibatches (6000 updates) instead of 50 epochs of 600 (30000): sigmoid + MSE
learns slowly (at 300 epochs the seed-1 run was at 0.939 test accuracy and still rising); the shuffling follows a
``torch.Generator`` seeded with the run's seed, and ``torch.manual_seed(seed)`` replaces ``RANDOM_SEED = 1``; the
per-epoch ``compute_mse`` pass, the printouts and the plots (they only log) are left out, and ``compute_accuracy``
works on the test tensors instead of a DataLoader (a fraction, not a percent).  For the watch, as a user would
make it watchable: the class derives from ``torch.nn.Module`` (its ``__init__`` already calls
``super().__init__()``) and holds its four tensors as ``nn.Parameter``; the loop runs under ``torch.no_grad()``
(the notebook uses no autograd; the Parameters would otherwise refuse the in-place updates); after
``model.backward(...)`` the cost is computed (upstream computes it after the updates, from the same ``a_2``) and
the four hand gradients are stored into the parameters' ``.grad``.  The metric is the accuracy on the 360 test
images after training.

The watch: ``monitor = gradmedic.watch(model, every=10)`` (no optimizer: the updates are written by hand) right
after the model is built; ``monitor.step(curr_cost)`` after the hand backward with the gradients in ``.grad``,
before the four updates; ``monitor.close()`` after the loop.  ``model.forward`` is called directly, as upstream,
so the model's forward hooks do not run.

``CASES`` (in the shape of run.py's ``case()``, program "rasbtmse"): the program on seeds 1-3, and one change each
against the same seed's healthy run: learning_rate x10, x100 (seeds 1 and 2), /1000; the inputs unscaled (x255,
MNIST's raw 0..255 pixel values, as without ``ToTensor``'s scaling; seeds 1 and 2); both weight matrices
``normal_(0.0, 1.0)``; both all zeros (the ``.normal_`` left off: every hidden unit the same); both
``normal_(0.0, 0.001)``; the hidden layer's two updates left out (the hand-written analogue of a frozen layer: no
update reaches it); learning_rate x2 (0.2, expected harmless).  (No zero_grad exists to leave out: the gradients are
fresh every step.)  Labels come from run.py's outcome rules only.
Recorded (cases-public42; 10-35 s a run on the shared machine, the 14 runs in about 4 min): healthy 0.947, 0.950,
0.950 test accuracy on seeds 1-3 (training cost 0.18 -> 0.014, every cost finite, the largest 0.25-0.26; training
accuracy 0.96).  learning_rate x10 (1.0): training cost 0.0019, 0.969: healthy (the program is slow at 0.1; the
change did no harm here); x100 (10.0) on seeds 1 and 2: the cost stays at 0.100 (every output pushed to 0), 0.097
and 0.122: broken; /1000: the cost only falls to 0.117, 0.122: broken; raw 0..255 pixels on seeds 1 and 2: training
cost 0.0018 and 0.0016 (training accuracy 0.997), 0.967 and 0.950: healthy (the saturated hidden sigmoids act as a
binary feature map that this program learns from faster); weights normal_(0, 1): first cost 0.40, final 0.026,
0.750: broken; zero weights: the cost stays at 0.090, 0.081: broken; normal_(0, 0.001): cost 0.069, 0.333: broken;
hidden layer frozen: cost 0.070, 0.614: broken; learning_rate x2: 0.961: healthy.  Labels: 7 healthy (3 programs,
4 variants: lr x10, lr x2, raw pixels on both seeds), 7 broken, 0 ambiguous.  Every cost finite in every run.
"""

from __future__ import annotations

import time

import numpy as np
import torch

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, every=10) without an optimizer (the loop updates the weights by hand) right after the model "
              "is built; monitor.step(curr_cost) once per minibatch right after model.backward() (the hand-written "
              "backward; its gradients stored into each parameter's .grad), before the four hand updates")

##########################
### SETTINGS
##########################

RANDOM_SEED = 1
BATCH_SIZE = 100
NUM_EPOCHS = 400  # upstream: 50 epochs of MNIST's 600 minibatches; here 400 epochs of 15 (see the docstring)
LEARNING_RATE = 0.1


def digits64():
    """(train, test) load_digits images as 64 values in [0, 1] (ToTensor's range) and their labels: 1437/360."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.data, d.target, test_size=0.2, random_state=0)
    f = lambda x: torch.tensor(x, dtype=torch.float32) / 16.0  # noqa: E731  ToTensor: [0, 1]
    return f(xtr), torch.tensor(ytr), f(xte), torch.tensor(yte)


##########################
### MODEL
##########################

class MultilayerPerceptron(torch.nn.Module):  # upstream: a plain class (its __init__ already calls super().__init__())

    def __init__(self, num_features, num_hidden, num_classes, init="upstream"):
        super(MultilayerPerceptron, self).__init__()  # noqa: UP008 (as in the notebook)

        self.num_classes = num_classes

        std = {"upstream": 0.1, "std1": 1.0, "small": 1e-3, "zero": 0.0}[init]  # the variants' inits
        # hidden 1  (nn.Parameter so that watch() finds the weights; upstream: plain tensors)
        self.weight_1 = torch.nn.Parameter(torch.zeros(num_hidden, num_features,
                                                       dtype=torch.float).normal_(0.0, std))
        self.bias_1 = torch.nn.Parameter(torch.zeros(num_hidden, dtype=torch.float))

        # output
        self.weight_o = torch.nn.Parameter(torch.zeros(self.num_classes, num_hidden,
                                                       dtype=torch.float).normal_(0.0, std))
        self.bias_o = torch.nn.Parameter(torch.zeros(self.num_classes, dtype=torch.float))

    def forward(self, x):
        # hidden 1

        # input dim: [n_hidden, n_features] dot [n_features, n_examples] .T
        # output dim: [n_examples, n_hidden]
        z_1 = torch.mm(x, self.weight_1.t()) + self.bias_1
        a_1 = torch.sigmoid(z_1)

        # hidden 2
        # input dim: [n_classes, n_hidden] dot [n_hidden, n_examples] .T
        # output dim: [n_examples, n_classes]
        z_2 = torch.mm(a_1, self.weight_o.t()) + self.bias_o
        a_2 = torch.sigmoid(z_2)
        return a_1, a_2

    def backward(self, x, a_1, a_2, y):

        #########################
        ### Output layer weights
        #########################

        # onehot encoding
        y_onehot = torch.FloatTensor(y.size(0), self.num_classes)
        y_onehot.zero_()
        y_onehot.scatter_(1, y.view(-1, 1).long(), 1)

        # Part 1: dLoss/dOutWeights
        ## = dLoss/dOutAct * dOutAct/dOutNet * dOutNet/dOutWeight
        ## where DeltaOut = dLoss/dOutAct * dOutAct/dOutNet
        ## for convenient re-use

        # input/output dim: [n_examples, n_classes]
        dloss_da2 = 2.*(a_2 - y_onehot) / y.size(0)

        # input/output dim: [n_examples, n_classes]
        da2_dz2 = a_2 * (1. - a_2) # sigmoid derivative

        # output dim: [n_examples, n_classes]
        delta_out = dloss_da2 * da2_dz2 # "delta (rule) placeholder"

        # gradient for output weights

        # [n_examples, n_hidden]
        dz2__dw_out = a_1

        # input dim: [n_classlabels, n_examples] dot [n_examples, n_hidden]
        # output dim: [n_classlabels, n_hidden]
        dloss__dw_out = torch.mm(delta_out.t(), dz2__dw_out)
        dloss__db_out = torch.sum(delta_out, dim=0)

        #################################
        # Part 2: dLoss/dHiddenWeights
        ## = DeltaOut * dOutNet/dHiddenAct * dHiddenAct/dHiddenNet * dHiddenNet/dWeight

        # [n_classes, n_hidden]
        dz2__a1 = self.weight_o

        # output dim: [n_examples, n_hidden]
        dloss_a1 = torch.mm(delta_out, dz2__a1)

        # [n_examples, n_hidden]
        da1__dz1 = a_1 * (1. - a_1) # sigmoid derivative

        # [n_examples, n_features]
        dz1__dw1 = x

        # output dim: [n_hidden, n_features]
        dloss_dw1 = torch.mm((dloss_a1 * da1__dz1).t(), dz1__dw1)
        dloss_db1 = torch.sum((dloss_a1 * da1__dz1), dim=0)

        return dloss__dw_out, dloss__db_out, dloss_dw1, dloss_db1


####################################################
##### Training and evaluation wrappers
###################################################

def to_onehot(y, num_classes):
    y_onehot = torch.FloatTensor(y.size(0), num_classes)
    y_onehot.zero_()
    y_onehot.scatter_(1, y.view(-1, 1).long(), 1).float()
    return y_onehot


def loss_func(targets_onehot, probas_onehot):
    return torch.mean(torch.mean((targets_onehot - probas_onehot)**2, dim=0))


def compute_accuracy(net, features, targets):  # upstream: over a DataLoader, in percent
    with torch.no_grad():
        _, outputs = net.forward(features)
        predicted_labels = torch.argmax(outputs, 1)
        return float((predicted_labels == targets).float().mean())


def train(seed: int = RANDOM_SEED, lr_mult: float = 1.0, input_scale: float = 1.0, init: str = "upstream",
          freeze_hidden: bool = False, num_epochs: int = NUM_EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    """``lr_mult``: learning_rate (0.1) times this; ``input_scale``: the [0, 1] images times this (255: raw pixel
    values); ``init``: "upstream" (normal_(0.0, 0.1) weights, zero biases), "std1", "small" (1e-3) or "zero" weights;
    ``freeze_hidden``: the hidden layer's two updates left out."""
    torch.set_num_threads(1)
    t0 = time.time()
    xtr, ytr, xte, yte = digits64()
    xtr, xte = xtr * input_scale, xte * input_scale
    g = torch.Generator()
    g.manual_seed(seed)
    train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xtr, ytr), batch_size=BATCH_SIZE,
                                               shuffle=True, generator=g)

    torch.manual_seed(seed)  # upstream: torch.manual_seed(RANDOM_SEED)
    model = MultilayerPerceptron(num_features=8*8,  # upstream: 28*28
                                 num_hidden=50,
                                 num_classes=10, init=init)
    monitor = gradmedic.watch(model, every=every)  # gradmedic
    learning_rate = LEARNING_RATE * lr_mult

    minibatch_cost = []
    with torch.no_grad():  # the gradients are computed by hand (no autograd), as upstream
        for e in range(num_epochs):

            for _batch_idx, (features, targets) in enumerate(train_loader):

                features = features.view(-1, 8*8)  # upstream: 28*28

                #### Compute outputs ####
                a_1, a_2 = model.forward(features)

                #### Compute gradients ####
                dloss__dw_out, dloss__db_out, dloss_dw1, dloss_db1 = \
                    model.backward(features, a_1, a_2, targets)

                #### gradmedic: the hand gradients where the monitor reads them ####
                curr_cost = loss_func(to_onehot(targets, model.num_classes), a_2)
                for p, grad in ((model.weight_1, dloss_dw1), (model.bias_1, dloss_db1),
                                (model.weight_o, dloss__dw_out), (model.bias_o, dloss__db_out)):
                    p.grad = grad
                monitor.step(curr_cost)  # gradmedic

                #### Update weights ####
                if not freeze_hidden:  # the no_gradient variant leaves the hidden layer's updates out
                    model.weight_1 -= learning_rate * dloss_dw1
                    model.bias_1 -= learning_rate * dloss_db1
                model.weight_o -= learning_rate * dloss__dw_out
                model.bias_o -= learning_rate * dloss__db_out

                #### Logging ####
                minibatch_cost.append(float(curr_cost))
            if verbose and (e + 1) % max(1, num_epochs // 10) == 0:
                print(f'Epoch: {e + 1:03d}/{num_epochs:03d} | Cost: {np.mean(minibatch_cost[-15:]):.4f} | '
                      f'Test acc {compute_accuracy(model, xte, yte):.3f} ({time.time() - t0:.1f}s)', flush=True)
    monitor.close()
    acc = compute_accuracy(model, xte, yte)
    losses = np.array(minibatch_cost)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc, "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(train_acc=compute_accuracy(model, xtr, ytr), lr=learning_rate,
                          train_loss=float(np.mean(losses[-20:])), first_loss=float(np.mean(losses[:5])),
                          max_loss=float(np.nanmax(losses)), finite_losses=bool(np.isfinite(losses).all()),
                          steps=len(losses), epochs=num_epochs, lr_mult=lr_mult, input_scale=input_scale, init=init,
                          freeze_hidden=freeze_hidden, test_images=len(yte)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="rasbtmse", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"MLP from scratch (64-50-10, sigmoid hidden and output, weights normal_(0.0, 0.1), zero biases; MSE on one-hot "
      f"targets with a hand-written backward; plain SGD by hand lr {LEARNING_RATE:g}, batch {BATCH_SIZE}, "
      f"{NUM_EPOCHS} epochs of 15 minibatches)")
CASES: list[dict] = (
    [_case(f"rasbtmse_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"rasbtmse_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: learning_rate x{k} ({LEARNING_RATE * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("rasbtmse_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3},
             f"{_P}: learning_rate /1000 ({LEARNING_RATE * 1e-3:g})")]
    + [_case(f"rasbtmse_raw_pixels_s{s}", "unscaled_inputs", s, {"input_scale": 255.0},
             f"{_P}: inputs unscaled (x255: raw 0..255 pixel values, ToTensor's scaling left out)") for s in (1, 2)]
    + [_case("rasbtmse_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_P}: weight_1 and weight_o normal_(0.0, 1.0) instead of normal_(0.0, 0.1)")]
    + [_case("rasbtmse_zero_init_s1", "symmetric_init", 1, {"init": "zero"},
             f"{_P}: weight_1 and weight_o all zeros (torch.zeros without .normal_): every hidden unit the same")]
    + [_case("rasbtmse_init_small_s1", "init_small", 1, {"init": "small"},
             f"{_P}: weight_1 and weight_o normal_(0.0, 0.001) instead of normal_(0.0, 0.1)")]
    + [_case("rasbtmse_frozen_hidden_s1", "no_gradient", 1, {"freeze_hidden": True},
             f"{_P}: the updates of weight_1 and bias_1 left out (the hidden layer stays at its random init)")]
    + [_case("rasbtmse_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: learning_rate x2 ({LEARNING_RATE * 2:g})")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
