"""dataflowr's homework 1, part 3 (HW1/sol/hw1_mlp_sol.ipynb, "3. Using a Pytorch module"): an MLP 2-50-1 built from
the homework's own MyLinear_mod (weights and biases torch.randn) and MyReLU_mod, an nn.Sigmoid output, nn.BCELoss,
optim.SGD lr 1e-2, trained one random example at a time on sklearn's two moons, watched by gradmedic.

Adapted from https://github.com/dataflowr/notebooks (commit 043dff0f792a5ae67005ba147f7b9dd5fc66e2a1, the newest
commit touching the file being 95997f787b5d02f485093c51ca42b93ad83b2ab6; HW1/sol/hw1_mlp_sol.ipynb;
Apache License 2.0, see LICENSE-dflmlp).  Picked because it is the course's MLP notebook
whose data is made offline as upstream makes it (make_moons) and whose loop is a plain PyTorch loop (the Module 5
MLP notebook, MLP_CIFAR10.ipynb, needs CIFAR-10; Module 2's backprop notebook computes its gradients by hand in
numpy and Module 4's runs optimizers on 2-D test functions);
dflae.py already ports Module 9's autoencoder and dflconv.py Module 6's CNN.

Kept as upstream: X, Y = make_moons(n_samples=2000, noise=0.1); MyLinear_mod (self.A = nn.Parameter(torch.randn(
n_input, n_output)), self.b = nn.Parameter(torch.randn(n_output)), forward torch.mm(x, self.A) + self.b) and
MyReLU_mod (x*(x > 0)); h=50; net = nn.Sequential(MyLinear_mod(2, h), MyReLU_mod(), MyLinear_mod(h, 1),
nn.Sigmoid()); optimizer = optim.SGD(net.parameters(), lr=1e-2); criterion = nn.BCELoss(); the loop of 10000
iterations, each on one example j = np.random.randint(1, len(X)) (upstream's 1, which never picks example 0, kept):
output = net(example), loss = criterion(output, label), optimizer.zero_grad(), loss.backward(), optimizer.step().

Changed: make_moons gets random_state=0 (the same 2000 training points for every seed; upstream unseeded);
np.random.seed(seed) and torch.manual_seed(seed) first; the decision-boundary plots every 250 iterations are left
out.  Nothing else was needed: the run takes a few seconds at upstream's size.  The notebook has no test set: the
outcome is the accuracy (output > 0.5, as the notebook's plot thresholds it) on 1000 fresh points, make_moons(
n_samples=1000, noise=0.1, random_state=1000), the same for every seed (chance 0.5).

The watch, as a user would add it: gradmedic.watch(net, optimizer, every=10) right after optim.SGD(...);
monitor.step(loss) right after loss.backward(), before optimizer.step(); monitor.close() after the loop.

Variants (each one change against the same seed's healthy run): SGD lr x10 (0.1), x100 (1.0, seeds 1 and 2), /1000
(1e-5); the inputs x100 (training and test points; unscaled_inputs); A and b initialized with torch.zeros instead of
torch.randn (symmetric_init); A and b torch.randn * 1e-3 (init_small); optimizer.zero_grad() left out; the net's
nn.Sigmoid output fed to nn.BCEWithLogitsLoss (a sigmoid twice, wrong_loss); and lr x2 (0.02), expected harmless.

Recorded (cases-public58, 13 runs, 5-10 s each; accuracy on the 1000 test points, chance 0.5; "train" is the mean
loss of the last 500 steps, "max" the largest one-example loss, BCELoss clamping its log at -100): healthy seeds 1-3:
0.987, 0.994, 0.996 (train 0.031-0.035, max 4.4-7.9, every loss finite): healthy.  lr x10: 0.996 (train 0.0024, max
11.3): ambiguous (a good outcome, but the largest loss more than twice the control's).  lr x100: 0.877 (seed 1,
max 100, train 0.34) and 0.500 (seed 2, stuck at the clamp, train 51): broken.  lr /1000: 0.628 (train 0.89): broken.
Inputs x100: 0.739 (train 24.9, max 100): broken.  Zero init: 0.500 (stuck at 0.693): broken.  randn * 1e-3: 0.872
(train 0.24): broken.  No zero_grad: 0.500 (train 48, max 100): broken.  BCEWithLogitsLoss on the sigmoid output:
0.889 (train 0.55): ambiguous (9.8 points under the control).  lr x2: 0.995: healthy.  Labels: 4 healthy (3
programs, 1 variant), 7 broken, 2 ambiguous; no non-finite loss.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
from torch import optim

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(net, optimizer, every=10) right after optim.SGD(net.parameters(), lr=1e-2); monitor.step(loss) "
              "right after loss.backward(), before optimizer.step(); one example per step")


# --- the notebook's cells (code and comments as upstream) ------------------------------------------------------------

# y = xW + b
class MyLinear_mod(nn.Module):  # noqa: N801
    def __init__(self, n_input, n_output, init_scale=1.0):
        super(MyLinear_mod, self).__init__()  # noqa: UP008
        # define self.A and self.b the weights and biases
        # initialize them with a normal distribution
        # use nn.Parameters
        self.A = nn.Parameter(torch.randn(n_input, n_output) * init_scale)  # init_scale: the init variants
        self.b = nn.Parameter(torch.randn(n_output) * init_scale)

    def forward(self, x):
        return torch.mm(x, self.A) + self.b


class MyReLU_mod(nn.Module):  # noqa: N801
    def __init__(self):
        super(MyReLU_mod, self).__init__()  # noqa: UP008

    def forward(self, x):
        return x*(x > 0)


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, init_scale: float = 1.0,
          zero_grad: bool = True, bce_logits: bool = False, n_iter: int = 10000, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    np.random.seed(seed)
    t0 = time.time()
    from sklearn.datasets import make_moons

    X, Y = make_moons(n_samples=2000, noise=0.1, random_state=0)  # upstream: no random_state
    X_test, Y_test = make_moons(n_samples=1000, noise=0.1, random_state=1000)  # not upstream: the test points
    X, X_test = X * input_scale, X_test * input_scale  # input_scale 100: the unscaled_inputs variant

    h = 50
    # define your network with nn.Sequential
    # use MyLinear_mod, MyReLU_mod and nn.Sigmoid (from pytorch)
    net = nn.Sequential(
        MyLinear_mod(2, h, init_scale),
        MyReLU_mod(),
        MyLinear_mod(h, 1, init_scale),
        nn.Sigmoid()
    )
    lr = 1e-2 * lr_mult
    optimizer = optim.SGD(net.parameters(), lr=lr)
    monitor = gradmedic.watch(net, optimizer, every=every)  # gradmedic
    X_torch = torch.from_numpy(X).float()
    Y_torch = torch.from_numpy(Y).float()
    losses = []
    # the wrong_loss variant: BCEWithLogitsLoss on the sigmoid's output
    criterion = nn.BCEWithLogitsLoss() if bce_logits else nn.BCELoss()
    for it in range(n_iter):
        # pick a random example id
        j = np.random.randint(1, len(X))
        # select the corresponding example and label
        example = X_torch[j:j+1]
        label = Y_torch[j:j+1].unsqueeze(1)
        # do a forward pass on the example
        output = net(example)
        # compute the loss according to your output and the label
        loss = criterion(output, label)
        losses.append(loss.item())
        # zero the gradients
        if zero_grad:  # the no_zero_grad variant leaves this line out
            optimizer.zero_grad()
        # backward pass
        loss.backward()
        monitor.step(loss)  # gradmedic
        # gradient step
        optimizer.step()
        if verbose and it % 1000 == 0:
            print(it, float(np.mean(losses[-250:])), flush=True)
    monitor.close()
    with torch.no_grad():
        out = net(torch.from_numpy(X_test).float()).squeeze(1).numpy()
    acc = float(((out > 0.5) == (Y_test == 1)).mean())
    tl = float(np.mean(losses[-500:]))
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc, "chance": 0.5,
            "initial": None, "initial_what": "chance accuracy 0.5 (two moons)",
            "extra": dict(train_loss=tl, first_loss=float(np.mean(losses[:5])),
                          first_loss_100=float(np.mean(losses[:100])), max_loss=float(np.nanmax(losses)),
                          finite_losses=bool(np.isfinite(losses).all()), steps=len(losses), lr=lr, lr_mult=lr_mult,
                          input_scale=input_scale, init_scale=init_scale, zero_grad=zero_grad, bce_logits=bce_logits),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="dflmlp", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_W = ("MLP 2-50-1 (MyLinear_mod with torch.randn init, MyReLU_mod, nn.Sigmoid), BCELoss, SGD lr 1e-2, one example "
      "per step, 10000 steps on make_moons(2000, noise 0.1)")
CASES: list[dict] = (
    [_case(f"dflmlp_healthy_s{s}", "healthy", s, {}, f"{_W}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"dflmlp_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_W}: SGD lr x{k} ({1e-2 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("dflmlp_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_W}: SGD lr /1000 (1e-5)")]
    + [_case("dflmlp_inputs_x100_s1", "unscaled_inputs", 1, {"input_scale": 100.0},
             f"{_W}: the moons' coordinates x100 (training and test points)")]
    + [_case("dflmlp_zero_init_s1", "symmetric_init", 1, {"init_scale": 0.0},
             f"{_W}: A and b of both MyLinear_mod all zero (torch.randn * 0)")]
    + [_case("dflmlp_init_small_s1", "init_small", 1, {"init_scale": 1e-3},
             f"{_W}: A and b of both MyLinear_mod torch.randn * 1e-3")]
    + [_case("dflmlp_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_W}: optimizer.zero_grad() left out: the gradients accumulate")]
    + [_case("dflmlp_bce_logits_s1", "wrong_loss", 1, {"bce_logits": True},
             f"{_W}: nn.BCEWithLogitsLoss on the nn.Sigmoid output (a sigmoid twice)")]
    + [_case("dflmlp_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_W}: SGD lr x2 (0.02), expected harmless")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=False, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
