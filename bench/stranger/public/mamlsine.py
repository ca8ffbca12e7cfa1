"""vmikulik's MAML on sine-wave regression (a 40-40 ReLU MLP meta-trained by Adam over SGD inner steps), watched by gradmedic.

Adapted from https://github.com/vmikulik/maml-pytorch (commit f4a6c070d10f9fa3005d446cad38bba5f12f1308,
MAML-Sines.ipynb and src/tasks.py).  The repository has no licence file and names no licence, so this port keeps to
what is needed (no LICENSE-mamlsine): the task distribution, the model, the MAML class and its loop.  Kept as in the
notebook: ``Sine_Task_Distribution(0.1, 5, 0, np.pi, -5, 5)`` (amplitude U(0.1, 5), phase U(0, pi), x U(-5, 5),
y = amplitude sin(phase + x)); ``MAMLModel`` (an ``nn.Sequential`` of Linear(1, 40), ReLU, Linear(40, 40), ReLU,
Linear(40, 1) with PyTorch's default inits, and ``parameterised(x, weights)``, the functional forward over a list of
weights, copied below); ``MAML(model, tasks, inner_lr=0.01, meta_lr=0.001)`` with K=10, inner_steps=1,
tasks_per_meta_batch=1000: each task's weights start as ``w.clone()`` of the meta weights, take ``inner_steps`` SGD
steps on ``MSELoss(...) / K`` of K samples with ``torch.autograd.grad(loss, temp_weights)`` (no ``create_graph``:
upstream's MAML is first-order as written), and the meta loss is the sum over the meta batch of ``MSELoss / K`` on K
new samples of the same task; ``meta_grads = torch.autograd.grad(meta_loss, self.weights)`` are assigned to
``w.grad`` and ``torch.optim.Adam(self.weights, meta_lr)`` steps (no zero_grad is needed, nothing accumulates; no
clipping, no schedule).  The functional forward bypasses the module's hooks, as upstream's does.

Changed to run offline on one CPU thread in ~20 s: META_ITERS = 400 meta-iterations instead of the notebook's
``main_loop(num_iterations=10000)`` (upstream's learning curve has its inflection near iteration 2000; in 400 the
meta-learner gets the mean function and a first response to the shots, see below); the 1000 tasks of a meta batch are
run as one batch (``torch.func.vmap`` of upstream's ``parameterised`` over per-task copies of the weights, each task's
inner gradient taken from the sum of the per-task losses, which is each task's own gradient): the same numbers as
upstream's Python loop over tasks, which takes ~1 s a meta-iteration here; the amplitudes, phases and the two K-sample
draws of a meta batch are drawn from ``np.random`` as arrays, not task by task (the same distribution, another order
of draws); ``np.random.seed(seed)`` and ``torch.manual_seed(seed)`` (upstream does not seed); no plots, no prints but
with ``verbose``, no "pretrained" baseline.  The metric: the mean squared error on 100 fixed held-out tasks (drawn once
from the same distribution with ``np.random.RandomState(0)``, the same for every run) after K=10 shots and one SGD step
of the run's inner_lr on upstream's ``MSELoss / K`` (the notebook's ``loss_on_random_task``, there with a fixed 0.01),
measured on 100 points evenly spaced over [-5, 5] per task; ``initial`` is the same for the untrained model.
Knobs (one per variant): ``meta_lr_mult`` scales the Adam rate; ``inner_lr_mult`` the inner SGD rate (used by the
metric's adaptation step too); ``init_std`` draws every Linear weight from N(0, init_std) (biases kept);
``x_scale`` feeds the network x * x_scale (x in [-500, 500] for 100) while the task stays
amplitude sin(phase + x) of the unscaled x (the held-out tasks too); ``amp_scale`` multiplies the amplitude range
(0.1-5 -> 10-500 for 100; the metric and ``initial`` are divided by amp_scale^2); ``zero_grad=False`` computes
the meta-gradient with ``meta_loss.backward()`` (as a user who replaces the assignment would) and never zeroes it, so
``w.grad`` accumulates; ``tasks_per_meta_batch`` and ``inner_steps`` replace 1000 and 1.

The watch, as a user would: ``monitor = gradmedic.watch(model, maml.meta_optimiser, every=10)`` right after the MAML
object (and its Adam) is built, ``monitor.step(meta_loss)`` right after the meta-gradient is in ``w.grad`` (after the
assignment loop; in the no_zero_grad variant right after ``meta_loss.backward()``), before ``meta_optimiser.step()``;
``monitor.close()`` after the loop.

``CASES`` (program "mamlsine"): the program on seeds 1-3, and one change each against the same seed's healthy run:
meta_lr x10, x100 (seeds 1 and 2), x1000, /1000; inner_lr x100 (seeds 1 and 2); N(0, 1) weights, inputs x100,
amplitudes x100, the meta-gradient accumulated without zeroing (each on seeds 1 and 2); and two changes expected
harmless: 2000 tasks a meta batch and 2 inner steps (cause "healthy").  Labels come from run.py's outcome rules only.
Recorded (cases-public126; 13-45 s a run on the shared 2-core machine, ~15 s of CPU for a healthy run; metric
"loss", the held-out post-adaptation MSE; every recorded meta loss finite): healthy 2.460, 2.418, 2.387 on seeds
1-3 (untrained 3.775, 3.693, 3.840; without the adaptation step 2.62, after 10 steps 1.97-2.08; meta loss per task
0.40-0.42 over the first 5 iterations -> 0.28 over the last 20): healthy; meta_lr x10: 2.078: healthy; meta_lr x100:
2.084 (seed 1) and 1.749 (seed 2), better than the control but the largest meta loss 3232 and 2183 against the
control's 412 and 410: ambiguous; meta_lr x1000: meta loss per task to 2e11, 32.8: broken; meta_lr /1000: 3.747:
broken; inner_lr x100: untrained 10.6 and 6.25 (the one big step overshoots), 2.263 with the largest meta loss 982
(seed 1, more than 2x the control's): ambiguous, 2.031 (seed 2): healthy; N(0, 1) weights: untrained 4.9e4 and 490,
824.5 and 545.6: broken; inputs x100: untrained 2.2e8 and 2.1e7, 64.0 and 153.4: broken; amplitudes x100 (divided by
1e4): 3.496 and 3.584 (untrained 3.85, 3.86): broken (less than half the control's progress); meta-gradient never
zeroed: 3.206 and 3.140: broken; 2000 tasks a meta batch: 2.435 (its summed meta loss twice the control's): healthy;
2 inner steps: 2.420: healthy.  Labels: 7 healthy (3 programs, meta_lr x10, inner_lr x100 seed 2, the two harmless
changes), 10 broken, 3 ambiguous.  In 400 meta-iterations the meta-learner is before upstream's inflection (near
iteration 2000): it has the tasks' mean function and a small response to the shots, so a healthy run's MSE is 0.63-0.65x
the untrained one (the good-outcome threshold is 0.7x), and meta_lr x10/x100 reach a lower MSE than the upstream rate.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
from torch.func import vmap

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, maml.meta_optimiser, every=10) right after MAML(...) builds its Adam; monitor.step(meta_loss) "
              "right after the meta-gradient (torch.autograd.grad(meta_loss, self.weights)) is assigned to w.grad, "
              "before meta_optimiser.step(); meta_loss is the sum over 1000 tasks of MSELoss/K after a first-order "
              "inner SGD step; the functional forward bypasses module hooks")
META_ITERS = 400  # the notebook: maml.main_loop(num_iterations=10000)
N_EVAL_TASKS = 100


class Sine_Task_Distribution():  # noqa: N801, UP039 (as in src/tasks.py)
    """
    The task distribution for sine regression tasks for MAML
    """

    def __init__(self, amplitude_min, amplitude_max, phase_min, phase_max, x_min, x_max):
        self.amplitude_min = amplitude_min
        self.amplitude_max = amplitude_max
        self.phase_min = phase_min
        self.phase_max = phase_max
        self.x_min = x_min
        self.x_max = x_max

    def sample_tasks(self, n, rng=np.random):
        # upstream: sample_task() returns one Sine_Task (amplitude, phase) at a time
        amplitude = rng.uniform(self.amplitude_min, self.amplitude_max, n)
        phase = rng.uniform(self.phase_min, self.phase_max, n)
        return amplitude, phase

    def sample_data(self, amplitude, phase, size=1, rng=np.random, x_scale=1.0):
        # upstream: Sine_Task.sample_data(size) for one task; x_scale is the unscaled_inputs variant's knob
        x = rng.uniform(self.x_min, self.x_max, (len(amplitude), size))
        y = amplitude[:, None] * np.sin(phase[:, None] + x)  # Sine_Task.true_function
        x = torch.tensor(x * x_scale, dtype=torch.float).unsqueeze(2)
        y = torch.tensor(y, dtype=torch.float).unsqueeze(2)
        return x, y


class MAMLModel(nn.Module):
    def __init__(self):
        super(MAMLModel, self).__init__()  # noqa: UP008 (as in the notebook)
        self.model = nn.Sequential(OrderedDict([
            ('l1', nn.Linear(1, 40)),
            ('relu1', nn.ReLU()),
            ('l2', nn.Linear(40, 40)),
            ('relu2', nn.ReLU()),
            ('l3', nn.Linear(40, 1))
        ]))

    def forward(self, x):
        return self.model(x)

    def parameterised(self, x, weights):
        # like forward, but uses ``weights`` instead of ``model.parameters()``
        # it'd be nice if this could be generated automatically for any nn.Module...
        x = nn.functional.linear(x, weights[0], weights[1])
        x = nn.functional.relu(x)
        x = nn.functional.linear(x, weights[2], weights[3])
        x = nn.functional.relu(x)
        x = nn.functional.linear(x, weights[4], weights[5])
        return x


def task_mse(pred, y):
    """nn.MSELoss() of each task of a batch (the mean over its K samples), as a vector of tasks."""
    return ((pred - y) ** 2).mean(dim=(1, 2))


class MAML():  # noqa: UP039 (as in the notebook)
    def __init__(self, model, tasks, inner_lr, meta_lr, K=10, inner_steps=1, tasks_per_meta_batch=1000, x_scale=1.0,
                 zero_grad=True):

        # important objects
        self.tasks = tasks
        self.model = model
        self.weights = list(model.parameters())  # the maml weights we will be meta-optimising
        self.criterion = nn.MSELoss()
        self.meta_optimiser = torch.optim.Adam(self.weights, meta_lr)
        self.batched = vmap(model.parameterised)  # upstream: model.parameterised, one task at a time

        # hyperparameters
        self.inner_lr = inner_lr
        self.meta_lr = meta_lr
        self.K = K
        self.inner_steps = inner_steps  # with the current design of MAML, >1 is unlikely to work well
        self.tasks_per_meta_batch = tasks_per_meta_batch
        self.x_scale = x_scale  # the unscaled_inputs variant
        self.zero_grad = zero_grad  # False: the no_zero_grad variant

        # metrics
        self.plot_every = 10
        self.print_every = 50  # upstream: 500
        self.meta_losses = []
        self.losses = []

    def inner_loop(self, amplitude, phase):
        # upstream: inner_loop(task) for one task, summed over the meta batch in main_loop; here all tasks at once
        # reset inner model to current maml weights
        temp_weights = [w.unsqueeze(0).expand(len(amplitude), *w.shape).clone() for w in self.weights]

        # perform training on data sampled from task
        X, y = self.tasks.sample_data(amplitude, phase, self.K, x_scale=self.x_scale)
        for step in range(self.inner_steps):  # noqa: B007 (as in the notebook)
            loss = task_mse(self.batched(X, temp_weights), y).sum() / self.K  # upstream: criterion(...) / K per task

            # compute grad and update inner loop weights
            grad = torch.autograd.grad(loss, temp_weights)
            temp_weights = [w - self.inner_lr * g for w, g in zip(temp_weights, grad, strict=True)]

        # sample new data for meta-update and compute loss
        X, y = self.tasks.sample_data(amplitude, phase, self.K, x_scale=self.x_scale)
        loss = task_mse(self.batched(X, temp_weights), y).sum() / self.K

        return loss

    def main_loop(self, num_iterations, monitor=None, verbose=False):
        epoch_loss = 0

        for iteration in range(1, num_iterations+1):

            # compute meta loss
            amplitude, phase = self.tasks.sample_tasks(self.tasks_per_meta_batch)  # upstream: one task per inner_loop
            meta_loss = self.inner_loop(amplitude, phase)

            if self.zero_grad:
                # compute meta gradient of loss with respect to maml weights
                meta_grads = torch.autograd.grad(meta_loss, self.weights)

                # assign meta gradient to weights and take optimisation step
                for w, g in zip(self.weights, meta_grads, strict=True):
                    w.grad = g
            else:  # the no_zero_grad variant: backward() into w.grad, never zeroed
                meta_loss.backward()
            monitor.step(meta_loss)  # gradmedic
            self.meta_optimiser.step()

            # log metrics
            epoch_loss += meta_loss.item() / self.tasks_per_meta_batch
            self.losses.append(meta_loss.item() / self.tasks_per_meta_batch)

            if verbose and iteration % self.print_every == 0:
                print("{}/{}. loss: {}".format(iteration, num_iterations, epoch_loss / self.plot_every))  # noqa: UP032

            if iteration % self.plot_every == 0:
                self.meta_losses.append(epoch_loss / self.plot_every)
                epoch_loss = 0


def held_out_tasks(tasks, K=10, x_scale=1.0, n=N_EVAL_TASKS):
    """100 fixed tasks (the same for every run): K shots each and 100 query points evenly spaced over [-5, 5]."""
    rng = np.random.RandomState(0)
    amplitude, phase = tasks.sample_tasks(n, rng=rng)
    X, y = tasks.sample_data(amplitude, phase, K, rng=rng, x_scale=x_scale)
    xq = np.linspace(tasks.x_min, tasks.x_max, 100)[None, :].repeat(n, 0)
    yq = amplitude[:, None] * np.sin(phase[:, None] + xq)
    return (X, y, torch.tensor(xq * x_scale, dtype=torch.float).unsqueeze(2),
            torch.tensor(yq, dtype=torch.float).unsqueeze(2))


def adapted_mse(model, data, inner_lr, K=10, steps=1):
    """Mean squared error on the query points after ``steps`` SGD steps on upstream's MSELoss / K of the K shots
    (the notebook's loss_on_random_task, each task from the meta weights), averaged over the held-out tasks."""
    X, y, XQ, YQ = data
    batched = vmap(model.parameterised)
    w = [p.detach().unsqueeze(0).expand(len(X), *p.shape).clone().requires_grad_() for p in model.parameters()]
    for _ in range(steps):
        loss = task_mse(batched(X, w), y).sum() / K
        grad = torch.autograd.grad(loss, w)
        w = [p - inner_lr * g for p, g in zip(w, grad, strict=True)]
    with torch.no_grad():
        return float(task_mse(batched(XQ, w), YQ).mean())


def train(seed: int = 1, meta_lr_mult: float = 1.0, inner_lr_mult: float = 1.0, init_std: float | None = None,
          x_scale: float = 1.0, amp_scale: float = 1.0, zero_grad: bool = True, tasks_per_meta_batch: int = 1000,
          inner_steps: int = 1, num_iterations: int = META_ITERS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    np.random.seed(seed)  # upstream: not seeded
    torch.manual_seed(seed)

    tasks = Sine_Task_Distribution(0.1 * amp_scale, 5 * amp_scale, 0, np.pi, -5, 5)  # amp_scale: unscaled_target
    model = MAMLModel()
    if init_std is not None:  # the init_large variant: N(0, init_std) for every Linear weight
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0.0, std=init_std)
    inner_lr, meta_lr = 0.01 * inner_lr_mult, 0.001 * meta_lr_mult
    maml = MAML(model, tasks, inner_lr=inner_lr, meta_lr=meta_lr, inner_steps=inner_steps,
                tasks_per_meta_batch=tasks_per_meta_batch, x_scale=x_scale, zero_grad=zero_grad)
    monitor = gradmedic.watch(model, maml.meta_optimiser, every=every)  # gradmedic

    data = held_out_tasks(tasks, K=maml.K, x_scale=x_scale)
    norm = amp_scale ** 2
    initial = adapted_mse(model, data, inner_lr, K=maml.K) / norm
    initial_unadapted = adapted_mse(model, data, inner_lr, K=maml.K, steps=0) / norm

    maml.main_loop(num_iterations=num_iterations, monitor=monitor, verbose=verbose)
    monitor.close()

    value = adapted_mse(model, data, inner_lr, K=maml.K) / norm
    unadapted = adapted_mse(model, data, inner_lr, K=maml.K, steps=0) / norm
    adapted10 = adapted_mse(model, data, inner_lr, K=maml.K, steps=10) / norm
    adapted_own = adapted_mse(model, data, inner_lr, K=maml.K, steps=inner_steps) / norm
    la = np.array(maml.losses)
    finite = np.isfinite(la)
    return {"monitors": {"": monitor}, "metric": "loss", "value": value if math.isfinite(value) else float("nan"),
            "initial": initial,
            "initial_what": "untrained: MSE on the 100 held-out sine tasks after K=10 shots and one inner SGD step",
            "chance": float(np.mean(data[3].numpy() ** 2)) / norm,
            "extra": {"unadapted_mse": unadapted, "adapted10_mse": adapted10, "adapted_inner_steps_mse": adapted_own,
                      "initial_unadapted_mse": initial_unadapted,
                      "meta_loss_per_task_first5": float(np.mean(la[:5])),
                      "meta_loss_per_task_last20": float(np.mean(la[-20:])),
                      "max_meta_loss_per_task": float(np.max(la[finite])) if finite.any() else float("nan"),
                      "finite_losses": bool(finite.all()), "steps": len(la), "meta_lr": meta_lr,
                      "inner_lr": inner_lr, "init_std": -1.0 if init_std is None else init_std, "x_scale": x_scale,
                      "amp_scale": amp_scale, "zero_grad": zero_grad, "tasks_per_meta_batch": tasks_per_meta_batch,
                      "inner_steps": inner_steps, "K": maml.K, "metric_divided_by": norm},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="mamlsine", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"mamlsine_healthy_s{s}", "healthy", s, {}, f"unchanged (MLP 1-40-40-1 ReLU; first-order MAML, inner SGD "
           f"lr 0.01 on MSELoss/K, K=10, 1 inner step, 1000 tasks a meta batch, Adam meta_lr 0.001; {META_ITERS} "
           "meta-iterations)", False) for s in (1, 2, 3)]
    + [_case(f"mamlsine_lr_x{k}_s{s}", "lr_high", s, {"meta_lr_mult": k}, f"meta_lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("mamlsine_lr_div1000_s1", "lr_low", 1, {"meta_lr_mult": 1e-3}, "meta_lr /1000 (1e-06)")]
    + [_case(f"mamlsine_inner_lr_x100_s{s}", "lr_high", s, {"inner_lr_mult": 100},
             "inner_lr x100 (1.0; the metric's adaptation step uses it too)") for s in (1, 2)]
    + [_case(f"mamlsine_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Linear weight instead of PyTorch's default U(+-1/sqrt(fan_in)) "
             "(biases kept)") for s in (1, 2)]
    + [_case(f"mamlsine_x100_s{s}", "unscaled_inputs", s, {"x_scale": 100.0},
             "the network is fed x * 100 (x in [-500, 500]) instead of x in [-5, 5]; the task, amplitude "
             "sin(phase + x), unchanged") for s in (1, 2)]
    + [_case(f"mamlsine_amp100_s{s}", "unscaled_target", s, {"amp_scale": 100.0},
             "amplitude range x100 (10-500 instead of 0.1-5): the targets in raw units; the metric and its start "
             "are divided by 100^2") for s in (1, 2)]
    + [_case(f"mamlsine_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             "meta_loss.backward() instead of assigning torch.autograd.grad's meta-gradient to w.grad, and no "
             "meta_optimiser.zero_grad(): w.grad accumulates over the meta-iterations") for s in (1, 2)]
    + [_case("mamlsine_batch2000_s1", "healthy", 1, {"tasks_per_meta_batch": 2000},
             "tasks_per_meta_batch 2000 instead of 1000 (expected harmless)")]
    + [_case("mamlsine_inner2_s1", "healthy", 1, {"inner_steps": 2},
             "inner_steps 2 instead of 1 (expected harmless; the metric still adapts by one step)")]
)


if __name__ == "__main__":
    import sys
    kw = {k: float(v) for k, v in (a.split("=") for a in sys.argv[1:])}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
