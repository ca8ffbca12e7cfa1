"""Justin Johnson's pytorch-examples: the two-layer ReLU net of ``nn/two_layer_net_nn.py`` (manual SGD) and
``nn/two_layer_net_optim.py`` (Adam), watched by gradmedic.

Adapted from https://github.com/jcjohnson/pytorch-examples (commit 0003fcdc606a79951e53bf8f46f8574fa4739f23;
MIT License, Copyright (c) 2017 Justin Johnson, see LICENSE-jcjohnson): nn/two_layer_net_nn.py ("nn",
``run_nn``) and nn/two_layer_net_optim.py ("optim", ``run_optim``).  Each script's module-level body is a
function whose lines are upstream's in upstream's order; ``train(prog=...)`` calls one of them.

Kept as in the original: the shapes ``N, D_in, H, D_out = 64, 1000, 100, 10``; inputs ``x ~ N(0, 1)``; the model
``torch.nn.Sequential(Linear(D_in, H), ReLU(), Linear(H, D_out))`` with PyTorch's default init;
``torch.nn.MSELoss(reduction='sum')`` (upstream's "size_average=False" in its older versions); ``learning_rate =
1e-4``; nn: ``model.zero_grad()``, ``loss.backward()``, then ``param.data -= learning_rate * param.grad`` for every
parameter under ``torch.no_grad()``; optim: ``torch.optim.Adam(model.parameters(), lr=learning_rate)``,
``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``.  Upstream's indentation of 2 spaces is
written with 4 (ruff).

Changed: upstream fits one fixed batch of random ``x`` to random ``y = torch.randn(N, D_out)`` (memorization:
there is nothing to generalize).  Here the target is learnable and a held-out error means something:
``y = teacher(x) + 0.1 * noise``, with ``teacher(x) = relu(x @ A) @ B / s``, A (1000 x 10) drawn N(0, 1/1000),
B (10 x 10) N(0, 1/10), no biases, s the std of ``relu(x @ A) @ B`` over 4000 draws of x (so the targets have
std ~1), all drawn once from ``torch.Generator().manual_seed(0)`` (the same teacher for every seed and variant).
Each step draws a fresh batch of N = 64 (x, y) pairs the same way (from a generator seeded ``1000 + seed``;
upstream's single fixed batch of 64 in 1000 dimensions cannot show the teacher to the student), for 1000 steps
instead of upstream's 500 (at 500 the Adam program's held-out MSE is still 0.7x the constant prediction's).  The
held-out set: 1000 fresh x (``Generator().manual_seed(99)``) with their noisy targets.  ``torch.manual_seed(seed)``
before the model is built (upstream does not seed); ``print(t, loss.item())`` only with ``verbose`` (every 100
steps).  Metric ``test_mse``: the held-out MSE (mean over samples and outputs) at the end; ``initial`` (and
``chance``) the held-out MSE of the best constant prediction (the held-out targets' mean, ~0.78); the untrained
model's held-out MSE and the mean training loss (a sum over the batch) of the first 5 and last 20 steps are in
``extra``.  A run takes 2-15 s on one CPU thread.

The watch, as a user would: nn: ``monitor = gradmedic.watch(model, every=10)`` without an optimizer (the loop
updates ``param.data`` by hand); optim: ``gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built; both ``monitor.step(loss)`` right after ``loss.backward()`` (the loss summed over the batch), before the
update; ``monitor.close()`` after the loop.

``CASES`` (in the shape of run.py's ``case()``; name prefixes jjnn (manual SGD) and jjopt (Adam)): each program on
seeds 1-3, and one change each against the same seed's healthy run: lr x10, x100 (seeds 1 and 2), /1000, x1000
(Adam only: SGD is non-finite at x100 already); ``reduction='sum'`` with a batch of N = 640 at the same rate (the
summed gradient, so each step, is ~10x larger; labelled cause ``lr_high``); ``nn.init.normal_(0, 1)`` on the
weights of both Linears (biases kept); the inputs x scaled by 100 (training and held-out alike; the teacher sees
the unscaled x).
Recorded (cases-public14, 89 s for the 21 cases, 2-15 s each): healthy held-out MSE against the constant
prediction's 0.779: jjnn 0.132, 0.131, 0.120 and jjopt 0.261, 0.272, 0.267 on seeds 1-3 (healthy).  Upstream's rate
1e-4 is slow for this task: lr x10 trains better in both (jjnn 0.025, jjopt 0.022: healthy), as do Adam at x100
(0.053, 0.057: healthy) and the batch of 640 (jjnn 0.011, jjopt 0.120; both ambiguous: the summed loss is ~10x the
control's, so its largest recorded loss is above 2x the control's).  SGD at x100 (seeds 1, 2), SGD with N(0, 1)
weights and SGD on inputs x100 go non-finite: broken; lr /1000 stays above the constant prediction (jjnn 1.063,
jjopt 1.104: broken); Adam with N(0, 1) weights ends at 3.5e4 and on inputs x100 at 32.9 (broken); Adam at x1000
ends at 0.382 after a training loss of 4.6e4 over its first 5 steps
(1.7e5 at most; not twice the control's 0.261: ambiguous).
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("nn (manual SGD): watch(model) without an optimizer (the loop updates param.data by hand); optim: "
              "watch(model, optimizer) right after Adam is built; monitor.step(loss) right after loss.backward() "
              "(MSELoss(reduction='sum'): the loss summed over the batch), before the update")

D_IN, D_OUT, TEACHER_H, NOISE = 1000, 10, 10, 0.1


# ==== the learnable target (the change: upstream's y is torch.randn(N, D_out), unrelated to x) ====================
class Teacher:
    """y = relu(x @ A) @ B / s + NOISE * noise, drawn once from generator seed 0 (see the module docstring)."""

    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.A = torch.randn(D_IN, TEACHER_H, generator=g) / math.sqrt(D_IN)
        self.B = torch.randn(TEACHER_H, D_OUT, generator=g) / math.sqrt(TEACHER_H)
        self.s = 1.0
        self.s = self.f(torch.randn(4000, D_IN, generator=g)).std().item()

    def f(self, x):
        return torch.relu(x @ self.A) @ self.B / self.s

    def draw(self, n, g):
        x = torch.randn(n, D_IN, generator=g)
        return x, self.f(x) + NOISE * torch.randn(n, D_OUT, generator=g)


def spoil(model, init_std):
    if init_std is not None:  # the bug: both Linears' weights from N(0, init_std) instead of the default init
        for layer in (model[0], model[2]):
            torch.nn.init.normal_(layer.weight, 0.0, init_std)


# ==== nn/two_layer_net_nn.py ==================================================================================
def run_nn(seed, lr_mult, N, init_std, input_scale, steps, every, verbose, data, g):
    device = torch.device('cpu')
    # device = torch.device('cuda') # Uncomment this to run on GPU

    # N is batch size; D_in is input dimension;
    # H is hidden dimension; D_out is output dimension.
    N, D_in, H, D_out = N, D_IN, 100, D_OUT

    # Use the nn package to define our model as a sequence of layers.
    model = torch.nn.Sequential(
        torch.nn.Linear(D_in, H),
        torch.nn.ReLU(),
        torch.nn.Linear(H, D_out),
    ).to(device)
    spoil(model, init_std)

    loss_fn = torch.nn.MSELoss(reduction='sum')
    monitor = gradmedic.watch(model, every=every)  # gradmedic
    losses = []
    untrained = heldout(model, data, input_scale)

    learning_rate = 1e-4 * lr_mult
    for t in range(steps):
        # Create random Tensors to hold inputs and outputs (upstream: once, before the model; here a fresh batch)
        x, y = data.draw(N, g)
        x = x * input_scale

        # Forward pass: compute predicted y by passing x to the model.
        y_pred = model(x)

        # Compute and print loss.
        loss = loss_fn(y_pred, y)
        if verbose and t % 100 == 0:
            print(t, loss.item())
        losses.append(loss.item())

        # Zero the gradients before running the backward pass.
        model.zero_grad()

        # Backward pass: compute gradient of the loss with respect to all the learnable parameters of the model.
        loss.backward()
        monitor.step(loss)  # gradmedic

        # Update the weights using gradient descent.
        with torch.no_grad():
            for param in model.parameters():
                param.data -= learning_rate * param.grad
    monitor.close()
    return monitor, losses, model, untrained, learning_rate


# ==== nn/two_layer_net_optim.py ===============================================================================
def run_optim(seed, lr_mult, N, init_std, input_scale, steps, every, verbose, data, g):
    # N is batch size; D_in is input dimension;
    # H is hidden dimension; D_out is output dimension.
    N, D_in, H, D_out = N, D_IN, 100, D_OUT

    # Use the nn package to define our model and loss function.
    model = torch.nn.Sequential(
        torch.nn.Linear(D_in, H),
        torch.nn.ReLU(),
        torch.nn.Linear(H, D_out),
    )
    spoil(model, init_std)
    loss_fn = torch.nn.MSELoss(reduction='sum')
    untrained = heldout(model, data, input_scale)

    # Use the optim package to define an Optimizer that will update the weights of the model for us.
    learning_rate = 1e-4 * lr_mult
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    losses = []
    for t in range(steps):
        # Create random Tensors to hold inputs and outputs (upstream: once, before the model; here a fresh batch)
        x, y = data.draw(N, g)
        x = x * input_scale

        # Forward pass: compute predicted y by passing x to the model.
        y_pred = model(x)

        # Compute and print loss.
        loss = loss_fn(y_pred, y)
        if verbose and t % 100 == 0:
            print(t, loss.item())
        losses.append(loss.item())

        # Before the backward pass, use the optimizer object to zero all of the gradients
        optimizer.zero_grad()

        # Backward pass: compute gradient of the loss with respect to model parameters
        loss.backward()
        monitor.step(loss)  # gradmedic

        # Calling the step function on an Optimizer makes an update to its parameters
        optimizer.step()
    monitor.close()
    return monitor, losses, model, untrained, learning_rate


# ==== the held-out set and train() ============================================================================
_HELDOUT = {}


def heldout_set(data):
    if "xy" not in _HELDOUT:
        _HELDOUT["xy"] = data.draw(1000, torch.Generator().manual_seed(99))
    return _HELDOUT["xy"]


def heldout(model, data, input_scale):
    x, y = heldout_set(data)
    with torch.no_grad():
        return float(((model(x * input_scale) - y) ** 2).mean())


def train(seed: int = 1, prog: str = "nn", lr_mult: float = 1.0, N: int = 64, init_std: float | None = None,
          input_scale: float = 1.0, steps: int = 1000, every: int = 10, verbose: bool = False) -> dict:
    """Program ``prog`` ("nn": manual SGD, "optim": Adam) with one change per keyword: ``lr_mult`` scales the
    learning rate 1e-4; ``N`` the batch (upstream 64; the loss stays a sum); ``init_std`` draws both Linears' weights
    from N(0, init_std); ``input_scale`` multiplies every input x (training and held-out)."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    data = Teacher()
    g = torch.Generator().manual_seed(1000 + seed)
    fn = run_nn if prog == "nn" else run_optim
    monitor, losses, model, untrained, lr = fn(seed, lr_mult, N, init_std, input_scale, steps, every, verbose, data, g)
    value = heldout(model, data, input_scale)
    _, y = heldout_set(data)
    const = float(((y - y.mean(0)) ** 2).mean())
    if verbose:
        print(f"held-out MSE {value:.4f} (constant prediction {const:.4f}, untrained {untrained:.4f})")
    return {"monitors": {"": monitor}, "metric": "test_mse", "value": value if math.isfinite(value) else float("nan"),
            "chance": const, "initial": const,
            "initial_what": "the held-out MSE of the constant prediction (the held-out targets' mean)",
            "extra": {"prog": prog, "untrained_test_mse": untrained, "train_loss": float(np.mean(losses[-20:])),
                      "initial_train_loss": float(np.mean(losses[:5])), "steps": len(losses), "lr": lr, "N": N,
                      "init_std": init_std, "input_scale": input_scale},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="jcjohnson", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_NN = ("jjnn", "nn", "two_layer_net_nn (Linear(1000, 100), ReLU, Linear(100, 10), MSELoss(reduction='sum'), manual "
       "SGD param.data -= 1e-4 * param.grad, fresh batch of 64 each of 1000 steps)")
_OPT = ("jjopt", "optim", "two_layer_net_optim (Linear(1000, 100), ReLU, Linear(100, 10), MSELoss(reduction='sum'), "
        "torch.optim.Adam lr 1e-4, fresh batch of 64 each of 1000 steps)")
CASES: list[dict] = []
for _p, _prog, _what in (_NN, _OPT):
    _k = {"prog": _prog}
    _lrs = ((10, (1,)), (100, (1, 2))) + (((1000, (1,)),) if _prog == "optim" else ())
    CASES += (
        [_case(f"{_p}_healthy_s{s}", "healthy", s, dict(_k), f"{_what}: unchanged", False) for s in (1, 2, 3)]
        + [_case(f"{_p}_lr_x{k}_s{s}", "lr_high", s, dict(_k, lr_mult=k), f"{_what}: learning_rate x{k} ({1e-4 * k:g})")
           for k, ss in _lrs for s in ss]
        + [_case(f"{_p}_lr_div1000_s1", "lr_low", 1, dict(_k, lr_mult=1e-3), f"{_what}: learning_rate /1000 (1e-07)")]
        + [_case(f"{_p}_batch640_sum_s1", "lr_high", 1, dict(_k, N=640),
                 f"{_what}: batch N=640 instead of 64 with MSELoss(reduction='sum') kept at the same learning_rate "
                 + ("1e-4 (the summed gradient, so each SGD step, ~10x larger)" if _prog == "nn" else
                    "1e-4 (the summed gradient ~10x larger; Adam's step does not scale with it)"))]
        + [_case(f"{_p}_init_std1_s1", "init_large", 1, dict(_k, init_std=1.0),
                 f"{_what}: nn.init.normal_(0, 1) on the weights of both Linears instead of the default init (biases "
                 "kept)")]
        + [_case(f"{_p}_input_x100_s1", "unscaled_inputs", 1, dict(_k, input_scale=100.0),
                 f"{_what}: every input x multiplied by 100 (raw features of std 100 instead of N(0, 1); training and "
                 "held-out alike, the target unchanged)")]
    )


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
