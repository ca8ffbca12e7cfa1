"""Udacity deep-learning-v2-pytorch, weight-initialization exercise (MLP 784-256-128-10 with dropout, its
``weights_init_*`` functions and ``helpers.compare_init_weights``), on digits.

Adapted from https://github.com/udacity/deep-learning-v2-pytorch (commit
c9404fc86181fc3f0906b368697268257f348535; "weight-initialization/weight_initialization_exercise.ipynb", last changed
in 2ec9bc370459abd1596f2e636914ea25f578efe8, its ``weights_init_normal`` as the solution notebook completes it, and
"weight-initialization/helpers.py", last changed in 88370125d5e3a71f6ac9774d92d32332671d738c; MIT License, Copyright
(c) 2018 Udacity, see LICENSE-udinit).  Kept as upstream has them: ``Net`` (``fc1`` Linear(784, 256), ``fc2``
Linear(256, 128), ``fc3`` Linear(128, 10); ``x.view(-1, 28 * 28)``, ``F.relu`` then ``nn.Dropout(0.2)`` after the
first two, logits out; its ``constant_weight`` argument: ``nn.init.constant_`` on every Linear weight, bias 0), the
notebook's init functions applied with ``model.apply``: ``weights_init_uniform`` (``weight.data.uniform_(0.0,
1.0)``, bias 0), ``weights_init_uniform_center`` (``uniform_(-0.5, 0.5)``), ``weights_init_uniform_rule``
(``uniform_(-y, y)``, ``y = 1.0/np.sqrt(m.in_features)``) and ``weights_init_normal`` (``normal_(0, y)``, same y,
bias 0), and PyTorch's default init (the exercise's "no explicit weight initialization" model); the batch size 100
and ``transforms.ToTensor()`` only (pixels in [0, 1], no Normalize); and helpers.py's ``_get_loss_acc`` loop:
``nn.CrossEntropyLoss()``, ``torch.optim.Adam(model.parameters(), 0.001)``, ``model.train()`` each epoch, per
batch ``optimizer.zero_grad()``, ``output = model(data)``, ``loss = criterion(output, target)``,
``loss.backward()``, ``optimizer.step()``; then ``model.eval()`` and the validation accuracy
``correct.item() / total`` from ``torch.max(output.data, 1)`` over the validation loader, which is the metric.
Note: the brief for this port said "SGD at the notebook's lr (0.01)"; upstream's helpers.py (every version of it)
trains with Adam at 0.001, so that is what is kept here.

Changed to run offline on one CPU thread: Fashion-MNIST (a download) is scikit-learn's ``load_digits`` upsampled to
1x28x28 in [0, 1] (``digits28`` from bmlp.py: 1437 training and 360 held-out images), the held-out set standing in
for the notebook's 20% validation split of the training set; the ``SubsetRandomSampler`` loaders are plain
``DataLoader``s with ``shuffle=True`` over ``TensorDataset``s (the same random order each epoch, batch 100).
helpers.py trains 2 epochs over 48000 images (960 batches of 100); over 1437 images that is 15 batches an epoch, so
the run is 64 epochs (960 batches, the same number of steps as upstream; the notebook itself suggests more epochs
when the batches are few).  ``torch.manual_seed(seed)`` added before the model is built (the notebook sets none);
the plots and ``hist_dist`` are left out; the loss curve and accuracy are returned instead of printed.

The watch: ``gradmedic.watch(model, optimizer, every=10)`` right after helpers.py builds its criterion and
optimizer, ``monitor.step(loss)`` after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the last epoch.

``CASES`` (program "udinit"): the notebook's recommended init (normal, std 1/sqrt(n), bias 0) on seeds 1-3, and
PyTorch's default init on seed 1 (its own healthy run, "udinitdefault"); one change each against the same seed's
healthy run, all from the notebook: all weights constant 0 (``Net(constant_weight=0)``), all weights constant 1
(``Net(constant_weight=1)``), uniform [0, 1) (``weights_init_uniform``), centred uniform [-0.5, 0.5)
(``weights_init_uniform_center``, the notebook's "too large" foil to the general rule); and Adam lr x10, x100
(seeds 1 and 2), x1000, /1000.  The program neither clips nor normalizes, so there are no clipping or raw-input
cases.  Labels come from run.py's outcome rules only.
Recorded (cases-public26; 13 cases in 155 s, 8-15 s a run on a shared 2-core machine): healthy validation accuracy
0.983, 0.981, 0.983 on seeds 1-3 (training loss 2.10-2.12 at the start, 0.005-0.011 at the end, largest 2.32-2.33);
the default init 0.978 (healthy); lr x10 (0.01) 0.961 (loss 2.92 -> 0.108, peak 3.57): healthy; lr x100 (0.1)
0.083 and 0.081 (losses in the hundreds early, back to 2.31) and x1000 (1.0) 0.081 (peak loss 2.1e5, 2.35 at the
end): broken; /1000 (1e-6) 0.428 (loss 2.32 -> 2.19): broken; constant 0 0.081 (loss stays at 2.302 = ln 10):
broken; constant 1 0.108 (start loss 7.3e3, peak 2.2e4, still 659 at the end): broken; uniform [0, 1) 0.711 (start
loss 6.8e4, 2.0 at the end): broken; centred uniform [-0.5, 0.5) 0.975 (start loss 41.6, peak 60.8, final 0.054):
ambiguous (a good accuracy within 3 points, but its largest loss far above 2x the control's).
"""

from __future__ import annotations

import random
import time

import numpy as np
import torch
import torch.nn.functional as F
from bmlp import digits28  # (train, test) images 1x28x28 in [0, 1], as ToTensor gives, and their labels
from torch import nn

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("monitor.step(loss) after loss.backward() (nn.CrossEntropyLoss on the logits, batch 100), before "
              "optimizer.step() (optimizer.zero_grad() comes before the forward, helpers.py's order)")

N_EPOCHS = 64  # helpers.py: 2 epochs of 480 batches; here 64 of 15 (the same 960 steps)
BATCH_SIZE = 100
LEARNING_RATE = 0.001


# define the NN architecture
class Net(nn.Module):
    def __init__(self, hidden_1=256, hidden_2=128, constant_weight=None):
        super(Net, self).__init__()  # noqa: UP008 (upstream's form)
        # linear layer (784 -> hidden_1)
        self.fc1 = nn.Linear(28 * 28, hidden_1)
        # linear layer (hidden_1 -> hidden_2)
        self.fc2 = nn.Linear(hidden_1, hidden_2)
        # linear layer (hidden_2 -> 10)
        self.fc3 = nn.Linear(hidden_2, 10)
        # dropout layer (p=0.2)
        self.dropout = nn.Dropout(0.2)

        # initialize the weights to a specified, constant value
        if(constant_weight is not None):
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    nn.init.constant_(m.weight, constant_weight)
                    nn.init.constant_(m.bias, 0)

    def forward(self, x):
        # flatten image input
        x = x.view(-1, 28 * 28)
        # add hidden layer, with relu activation function
        x = F.relu(self.fc1(x))
        # add dropout layer
        x = self.dropout(x)
        # add hidden layer, with relu activation function
        x = F.relu(self.fc2(x))
        # add dropout layer
        x = self.dropout(x)
        # add output layer
        x = self.fc3(x)
        return x


# takes in a module and applies the specified weight initialization
def weights_init_uniform(m):
    classname = m.__class__.__name__
    # for every Linear layer in a model..
    if classname.find('Linear') != -1:
        # apply a uniform distribution to the weights and a bias=0
        m.weight.data.uniform_(0.0, 1.0)
        m.bias.data.fill_(0)


# takes in a module and applies the specified weight initialization
def weights_init_uniform_center(m):
    classname = m.__class__.__name__
    # for every Linear layer in a model..
    if classname.find('Linear') != -1:
        # apply a centered, uniform distribution to the weights
        m.weight.data.uniform_(-0.5, 0.5)
        m.bias.data.fill_(0)


# takes in a module and applies the specified weight initialization
def weights_init_uniform_rule(m):
    classname = m.__class__.__name__
    # for every Linear layer in a model..
    if classname.find('Linear') != -1:
        # get the number of the inputs
        n = m.in_features
        y = 1.0/np.sqrt(n)
        m.weight.data.uniform_(-y, y)
        m.bias.data.fill_(0)


def weights_init_normal(m):
    classname = m.__class__.__name__
    # for every Linear layer in a model..
    if classname.find('Linear') != -1:
        # get the number of the inputs
        n = m.in_features
        y = (1.0/np.sqrt(n))
        m.weight.data.normal_(0, y)
        m.bias.data.fill_(0)


INITS = {"normal": weights_init_normal, "uniform": weights_init_uniform, "uniform_center": weights_init_uniform_center,
         "uniform_rule": weights_init_uniform_rule, "default": None}


def _get_loss_acc(model, train_loader, valid_loader, lr=LEARNING_RATE, n_epochs=N_EPOCHS, every=10, verbose=False):
    """
    Get losses and validation accuracy of example neural network (helpers.py, with the watch added)
    """
    learning_rate = lr

    # Training loss
    criterion = nn.CrossEntropyLoss()

    # Optimizer
    optimizer = optimizer = torch.optim.Adam(model.parameters(), learning_rate)
    monitor = gradmedic.watch(model, optimizer, every=every)

    # Measurements used for graphing loss
    loss_batch = []

    for epoch in range(1, n_epochs+1):
        # initialize var to monitor training loss
        train_loss = 0.0  # noqa: F841 (upstream's)
        ###################
        # train the model #
        ###################
        model.train()
        for data, target in train_loader:
            # clear the gradients of all optimized variables
            optimizer.zero_grad()
            # forward pass: compute predicted outputs by passing inputs to the model
            output = model(data)
            # calculate the batch loss
            loss = criterion(output, target)
            # backward pass: compute gradient of the loss with respect to model parameters
            loss.backward()
            monitor.step(loss)  # gradmedic
            # perform a single optimization step (parameter update)
            optimizer.step()
            # record average batch loss
            loss_batch.append(loss.item())
        if verbose and (epoch % 8 == 0 or epoch == 1):
            print(f"epoch {epoch}: loss {np.mean(loss_batch[-15:]):.4f}", flush=True)
    monitor.close()

    # after training for 2 epochs, check validation accuracy
    correct = 0
    total = 0
    model.eval()
    for data, target in valid_loader:
        # forward pass: compute predicted outputs by passing inputs to the model
        output = model(data)
        # get the predicted class from the maximum class score
        _, predicted = torch.max(output.data, 1)
        # count up total number of correct labels
        # for which the predicted and true labels are equal
        total += target.size(0)
        correct += (predicted == target).sum()

    # calculate the accuracy
    # to convert `correct` from a Tensor into a scalar, use .item()
    valid_acc = correct.item() / total

    # return model stats
    return loss_batch, valid_acc, monitor


def train(seed: int = 1, init: str = "normal", constant_weight: float | None = None, lr_mult: float = 1.0,
          n_epochs: int = N_EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)

    xtr, ytr, xte, yte = digits28()  # transforms.ToTensor(): [0, 1], no Normalize
    train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xtr, ytr), batch_size=BATCH_SIZE,
                                               shuffle=True)
    valid_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xte, yte), batch_size=BATCH_SIZE,
                                               shuffle=True)

    if constant_weight is not None:  # Net(constant_weight=0) / Net(constant_weight=1)
        model = Net(constant_weight=constant_weight)
    else:
        model = Net()
        if INITS[init] is not None:
            model.apply(INITS[init])

    lr = LEARNING_RATE * lr_mult
    t0 = time.time()
    losses, acc, monitor = _get_loss_acc(model, train_loader, valid_loader, lr=lr, n_epochs=n_epochs, every=every,
                                         verbose=verbose)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc), "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"train_loss": float(np.mean(losses[-20:])), "train_loss_start": float(np.mean(losses[:5])),
                      "last_batch_loss": losses[-1], "steps": len(losses), "lr": lr,
                      "loss_max": float(np.max(losses)), "loss_min": float(np.min(losses))},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="udinit", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_H = ("unchanged (Net 784-256-128-10, ReLU, dropout 0.2, weights_init_normal: normal_(0, 1/sqrt(n)) with bias 0, "
      f"CrossEntropyLoss, Adam lr 0.001, batch 100 shuffled, {N_EPOCHS} epochs = {N_EPOCHS * 15} steps, inputs "
      "ToTensor [0, 1])")
CASES: list[dict] = (
    [_case(f"udinit_healthy_s{s}", "healthy", s, {}, _H, False) for s in (1, 2, 3)]
    + [_case(f"udinit_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({LEARNING_RATE * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("udinit_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (1e-06)")]
    + [_case("udinit_const0_s1", "symmetric_init", 1, {"constant_weight": 0},
             "Net(constant_weight=0): nn.init.constant_ 0 on every Linear weight and bias instead of "
             "weights_init_normal")]
    + [_case("udinit_const1_s1", "symmetric_init", 1, {"constant_weight": 1},
             "Net(constant_weight=1): nn.init.constant_ 1 on every Linear weight, bias 0, instead of "
             "weights_init_normal")]
    + [_case("udinit_uniform01_s1", "init_large", 1, {"init": "uniform"},
             "weights_init_uniform: uniform_(0.0, 1.0) on every Linear weight, bias 0, instead of "
             "weights_init_normal")]
    + [_case("udinit_uniform_center_s1", "init_large", 1, {"init": "uniform_center"},
             "weights_init_uniform_center: uniform_(-0.5, 0.5) on every Linear weight, bias 0, instead of "
             "weights_init_normal")]
    # last: its name's prefix differs, so it is its own control and never replaces udinit_healthy_s1
    + [_case("udinitdefault_healthy_s1", "healthy", 1, {"init": "default"},
             _H.replace("weights_init_normal: normal_(0, 1/sqrt(n)) with bias 0",
                        "PyTorch's default init (no explicit weight initialization)"), False)]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = (float(v) if k in ("lr_mult", "constant_weight") else int(v) if k in ("n_epochs", "seed") else v)
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
