"""Growing Neural Cellular Automata (Mordvintsev et al. 2020), chenmingxiang110's PyTorch port, watched by gradmedic.

Adapted from https://github.com/chenmingxiang110/Growing-Neural-Cellular-Automata (commit
9150dac2822f58c945387547e20a8e6c54578aef; lib/CAModel.py, lib/utils_vis.py's ``make_seed`` and training.ipynb; MIT
License, Copyright (c) 2020 Ming, see LICENSE-nca).  Kept as upstream: ``CAModel`` (copied below: perception by the
identity and two fixed 3x3 Sobel filters as a depthwise ``F.conv2d``, the update MLP ``fc0 = nn.Linear(48, 128)``,
ReLU, ``fc1 = nn.Linear(128, 16, bias=False)`` with ``fc1.weight.zero_()``, the stochastic update mask
``torch.rand(...) > fire_rate`` with CELL_FIRE_RATE 0.5, alive masking by a 3x3 max-pool of the alpha channel > 0.1
before and after the update), CHANNEL_N 16, the seed (one cell with channels 3: set to 1 in the grid's centre), the
notebook's ``train`` (``x = ca(x, steps=steps)``, ``F.mse_loss(x[:, :, :, :4], target)`` with the target's batch of 1
broadcast, ``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``, ``scheduler.step()``; no clipping
and no per-parameter gradient normalisation - this port does not have the TF original's, so there is no such
variant), ``optim.Adam(ca.parameters(), lr=2e-3, betas=(0.5, 0.5))``, ``ExponentialLR(optimizer, 0.9999)`` stepped
every iteration, a random number of CA steps per iteration drawn by ``np.random.randint``, and the "Growing"
experiment of the notebook's three (every batch starts from the seed; its ``EXPERIMENT_MAP`` option 0).

Changed to run offline on one CPU thread in ~25-40 s: the target is a 14x14 RGBA smiley drawn with numpy
(``make_target``: a yellow disc with a dark-red rim, two eyes and a mouth, premultiplied alpha; upstream reads the 40x40
lizard emoji from data/emoji.png) padded by 3 (TARGET_PADDING 16) to a 20x20 grid; BATCH_SIZE 4 (8); 32-48 CA steps
per iteration (64-96); n_epoch = 100 iterations (80000); the model is trained from scratch (the notebook resumes
models/remaster_1.pth with ``load_state_dict``); the notebook's default experiment "Regenerating" (sample pool of
1024 and damaged patterns) is replaced by its "Growing" option (no pool); the device is the CPU (cuda:0); no plots,
checkpoint or clear_output; prints only with ``verbose``; torch and numpy seeded with the run's seed (upstream does
not seed).  Knobs (one per variant): ``lr_mult`` scales lr; ``zero_last=False`` leaves ``fc1.weight.zero_()`` out
(PyTorch's default nn.Linear init of the last layer); ``init_std`` draws fc0's and fc1's weights from N(0, init_std);
``zero_grad=False`` leaves ``optimizer.zero_grad()`` out; ``hidden`` replaces hidden_size 128.

The watch, as a user would: ``monitor = gradmedic.watch(ca, optimizer, every=10)`` right after the Adam and its
scheduler are built, ``monitor.step(loss)`` right after ``loss.backward()`` in ``train``, before ``optimizer.step()``;
``monitor.close()`` after the loop.  Metric "mse" (lower is better): after training, 8 patterns grown from the seed for
40 CA steps (a fixed torch seed, 10000 + seed, for the update masks, the training RNG state restored), the MSE of their
RGBA to the padded target; ``initial`` 0.1836, the seed against the target, which the untrained CA (last layer zero)
leaves unchanged after any number of steps (a dead, empty grid scores 0.1842).

``CASES`` (program "nca"): the program on seeds 1-3, and one change each against the same seed's healthy run: lr x10,
x100 (seeds 1 and 2), /1000; the last layer's zero init left out (seeds 1 and 2; cause init_large, labelled by
outcome); N(0, 1) weights in both layers (seeds 1 and 2); ``optimizer.zero_grad()`` left out (seeds 1 and 2); and two
changes expected harmless: lr x2 (cause "lr_high") and hidden_size 64 (cause "healthy").  Labels come from run.py's
outcome rules only.
Recorded (cases-public193; 12-17 s a run, 232 s in all; an earlier recording with the same numbers, under more
load on the shared 2-core machine, took 11-38 s a run): healthy MSE 0.0322, 0.0377,
0.0474 on seeds 1-3 (0.18-0.26x the untrained 0.1836; training loss, first 5 iterations 0.13-0.15 -> last 20
0.053-0.059, largest 0.21-0.29, every loss finite; the loss is spiky, as NCA training is): healthy; lr x10 (0.02): the
first losses 6.9 (largest 33.6), then every cell dies (training loss and MSE 0.1842, the empty grid): broken; lr x100
(0.2): the state blows up (losses 1e24-1e29, all finite), MSE 6.2e23 (seed 1) and 7.0e21 (seed 2): broken; lr /1000
(2e-6): training loss 0.1836 -> 0.1829, MSE 0.1828: broken; default last-layer init: seed 1 trains (MSE 0.0316, but
its first losses 0.32 and largest 0.66, over 2x the control's 0.29): ambiguous; seed 2 dies out (MSE 0.1842): broken;
N(0, 1) weights: the loss is NaN from the start (seed 1) or soon after (seed 2), MSE NaN: broken (both); zero_grad
left out: MSE 1.4e9 (seed 1, training loss finite, largest 0.59; the grown pattern blows up at evaluation) and 0.143
(seed 2): broken; lr x2: MSE 0.0242: healthy; hidden_size 64: MSE 0.0374: healthy.  Labels: 5 healthy (3 programs,
lr x2, hidden 64), 9 broken, 1 ambiguous (the default last-layer init on seed 1).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

import gradmedic

ARCH = "nca"
MONITOR_AT = ("watch(ca, optimizer, every=10) right after optimizer = optim.Adam(ca.parameters(), lr=lr, betas=betas) "
              "(and the ExponentialLR scheduler) are built; monitor.step(loss) right after loss.backward() inside the "
              "notebook's train(), before optimizer.step() and scheduler.step() (the notebook does not clip)")

CHANNEL_N = 16        # Number of CA state channels
TARGET_PADDING = 3    # upstream: 16 (Number of pixels used to pad the target image border)
TARGET_SIZE = 14      # upstream: 40 (the 40x40 emoji)

lr = 2e-3
lr_gamma = 0.9999
betas = (0.5, 0.5)
n_epoch = 100         # upstream: 80000

BATCH_SIZE = 4        # upstream: 8
CELL_FIRE_RATE = 0.5
HIDDEN = 128          # CAModel's hidden_size default
STEPS_LO, STEPS_HI = 32, 48  # upstream: np.random.randint(64,96) CA steps per iteration
EVAL_STEPS = 40       # the metric: the pattern grown for 40 CA steps from the seed
EVAL_N = 8            # ... over 8 independent growths (the update mask is random)


class CAModel(nn.Module):  # lib/CAModel.py, copied
    def __init__(self, channel_n, fire_rate, device, hidden_size=128, zero_last=True):
        super(CAModel, self).__init__()  # noqa: UP008 (as upstream)

        self.device = device
        self.channel_n = channel_n

        self.fc0 = nn.Linear(channel_n*3, hidden_size)
        self.fc1 = nn.Linear(hidden_size, channel_n, bias=False)
        if zero_last:  # the default_last_init variant leaves this out (PyTorch's default nn.Linear init)
            with torch.no_grad():
                self.fc1.weight.zero_()

        self.fire_rate = fire_rate
        self.to(self.device)

    def alive(self, x):
        return F.max_pool2d(x[:, 3:4, :, :], kernel_size=3, stride=1, padding=1) > 0.1

    def perceive(self, x, angle):

        def _perceive_with(x, weight):
            conv_weights = torch.from_numpy(weight.astype(np.float32)).to(self.device)
            conv_weights = conv_weights.view(1,1,3,3).repeat(self.channel_n, 1, 1, 1)
            return F.conv2d(x, conv_weights, padding=1, groups=self.channel_n)

        dx = np.outer([1, 2, 1], [-1, 0, 1]) / 8.0  # Sobel filter
        dy = dx.T
        c = np.cos(angle*np.pi/180)
        s = np.sin(angle*np.pi/180)
        w1 = c*dx-s*dy
        w2 = s*dx+c*dy

        y1 = _perceive_with(x, w1)
        y2 = _perceive_with(x, w2)
        y = torch.cat((x,y1,y2),1)
        return y

    def update(self, x, fire_rate, angle):
        x = x.transpose(1,3)
        pre_life_mask = self.alive(x)

        dx = self.perceive(x, angle)
        dx = dx.transpose(1,3)
        dx = self.fc0(dx)
        dx = F.relu(dx)
        dx = self.fc1(dx)

        if fire_rate is None:
            fire_rate=self.fire_rate
        stochastic = torch.rand([dx.size(0),dx.size(1),dx.size(2),1])>fire_rate
        stochastic = stochastic.float().to(self.device)
        dx = dx * stochastic

        x = x+dx.transpose(1,3)

        post_life_mask = self.alive(x)
        life_mask = (pre_life_mask & post_life_mask).float()
        x = x * life_mask
        return x.transpose(1,3)

    def forward(self, x, steps=1, fire_rate=None, angle=0.0):
        for step in range(steps):  # noqa: B007 (as upstream)
            x = self.update(x, fire_rate, angle)
        return x


def make_seed(shape, n_channels):  # lib/utils_vis.py, copied
    seed = np.zeros([shape[0], shape[1], n_channels], np.float32)
    seed[shape[0]//2, shape[1]//2, 3:] = 1.0
    return seed


def make_target(size=TARGET_SIZE):
    """upstream: load_emoji(0) reads the 40x40 lizard from data/emoji.png; here a 14x14 RGBA smiley drawn with numpy
    (premultiplied alpha, as the emoji after /255): a yellow disc with a dark-red rim, two dark eyes and a mouth."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    cy = cx = size / 2
    r = np.hypot(yy - cy, xx - cx) / (size / 2)
    img = np.zeros([size, size, 4], np.float32)
    disc = r < 0.95
    img[disc] = (1.0, 0.85, 0.1, 1.0)
    img[disc & (r > 0.78)] = (0.7, 0.15, 0.05, 1.0)
    for ex in (-0.3, 0.3):
        eye = np.hypot((yy - cy) / (size / 2) + 0.3, (xx - cx) / (size / 2) - ex) < 0.14
        img[eye] = (0.15, 0.1, 0.05, 1.0)
    mouth = disc & (r > 0.38) & (r < 0.55) & ((yy - cy) > 0.25 * size / 2)
    img[mouth] = (0.6, 0.1, 0.05, 1.0)
    return img


def train(seed: int = 1, lr_mult: float = 1.0, zero_last: bool = True, init_std: float | None = None,
          zero_grad: bool = True, hidden: int = HIDDEN, epochs: int = n_epoch, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    np.random.seed(seed)
    t0 = time.time()
    warnings.filterwarnings("ignore", message="Using a target size")  # upstream's target has batch 1 (broadcast)
    device = torch.device("cpu")  # upstream: torch.device("cuda:0")

    target_img = make_target()  # upstream: load_emoji(TARGET_EMOJI)
    p = TARGET_PADDING
    pad_target = np.pad(target_img, [(p, p), (p, p), (0, 0)])
    h, w = pad_target.shape[:2]
    pad_target = np.expand_dims(pad_target, axis=0)
    pad_target = torch.from_numpy(pad_target.astype(np.float32)).to(device)

    seed_x = make_seed((h, w), CHANNEL_N)  # upstream: seed = make_seed(...)

    ca = CAModel(CHANNEL_N, CELL_FIRE_RATE, device, hidden_size=hidden, zero_last=zero_last).to(device)
    # upstream: ca.load_state_dict(torch.load(model_path)) - it resumes the repository's trained model; here from scratch
    if init_std is not None:  # the init variant: every Linear weight from N(0, init_std)
        with torch.no_grad():
            for m in (ca.fc0, ca.fc1):
                m.weight.normal_(0.0, init_std)

    optimizer = optim.Adam(ca.parameters(), lr=lr * lr_mult, betas=betas)
    scheduler = optim.lr_scheduler.ExponentialLR(optimizer, lr_gamma)
    monitor = gradmedic.watch(ca, optimizer, every=every)

    loss_log = []

    def train_step(x, target, steps, optimizer, scheduler):  # upstream: train(x, target, steps, optimizer, scheduler)
        x = ca(x, steps=steps)
        loss = F.mse_loss(x[:, :, :, :4], target)
        if zero_grad:  # the no_zero_grad variant leaves this out
            optimizer.zero_grad()
        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()
        scheduler.step()
        return x, loss

    for i in range(epochs):  # noqa: B007 (upstream: range(n_epoch+1))
        # EXPERIMENT_TYPE = "Growing" (upstream's default is "Regenerating": the sample pool and damage are not used)
        x0 = np.repeat(seed_x[None, ...], BATCH_SIZE, 0)
        x0 = torch.from_numpy(x0.astype(np.float32)).to(device)

        x, loss = train_step(x0, pad_target, np.random.randint(STEPS_LO, STEPS_HI), optimizer, scheduler)

        step_i = len(loss_log)
        loss_log.append(loss.item())

        if verbose and step_i % 25 == 0:  # upstream: every 100, with the batch plots and a checkpoint
            print(step_i, "loss =", loss.item(), f"{time.time() - t0:.1f}s", flush=True)
    monitor.close()

    # the metric: grow EVAL_N patterns from the seed for EVAL_STEPS CA steps, MSE of their RGBA to the target
    x0 = torch.from_numpy(np.repeat(seed_x[None, ...], EVAL_N, 0)).to(device)
    g = torch.random.fork_rng()
    with g, torch.no_grad():
        torch.manual_seed(10_000 + seed)
        xe = ca(x0, steps=EVAL_STEPS)
        mse = float(F.mse_loss(xe[..., :4], pad_target.expand(EVAL_N, -1, -1, -1)))
        alpha_err = float((xe[..., 3].clamp(0, 1) > 0.1).float().ne(pad_target[..., 3] > 0.1).float().mean())
    initial = float(F.mse_loss(torch.from_numpy(seed_x[None, ..., :4]), pad_target))
    losses = np.asarray(loss_log)
    fin = losses[np.isfinite(losses)]
    return {"monitors": {"": monitor}, "metric": "mse", "value": mse if np.isfinite(mse) else float("nan"),
            "initial": initial,
            "initial_what": ("the seed (one live cell) against the target: what the untrained CA, its last layer "
                             "zero, leaves after any number of steps"),
            "chance": initial,
            "extra": dict(lr=lr * lr_mult, lr_mult=lr_mult, zero_last=zero_last, init_std=init_std,
                          zero_grad=zero_grad, hidden=hidden, epochs=epochs,
                          train_loss=float(np.mean(losses[-20:])), first_loss=float(np.mean(losses[:5])),
                          max_loss=float(np.max(fin)) if len(fin) else float("nan"),
                          finite_losses=bool(np.isfinite(losses).all()), alpha_mismatch=alpha_err,
                          eval_steps=EVAL_STEPS, eval_n=EVAL_N, grid=h),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="nca", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"growing NCA (16 channels, Sobel/identity perception, Linear(48, {HIDDEN})-ReLU-Linear({HIDDEN}, 16) last "
      f"layer zero, fire rate 0.5, alive masking; MSE of RGBA, Adam lr {lr:g} betas (0.5, 0.5), ExponentialLR 0.9999, "
      f"batch {BATCH_SIZE} grown {STEPS_LO}-{STEPS_HI} steps, {n_epoch} iterations)")
CASES: list[dict] = (
    [_case(f"nca_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"nca_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({lr * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("nca_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({lr * 1e-3:g})")]
    + [_case(f"nca_default_last_init_s{s}", "init_large", s, {"zero_last": False},
             f"{_P}: fc1.weight.zero_() left out (PyTorch's default nn.Linear init of the last layer)")
       for s in (1, 2)]
    + [_case(f"nca_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: fc0 and fc1 weights drawn from N(0, 1) (the last layer not zero)") for s in (1, 2)]
    + [_case(f"nca_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out of train() (the gradients accumulate)") for s in (1, 2)]
    + [_case("nca_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: lr x2 ({lr * 2:g}; expected harmless)")]
    + [_case("nca_hidden64_s1", "healthy", 1, {"hidden": 64},
             f"{_P}: hidden_size 64 instead of 128 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(**kw)
    print({k: v for k, v in r.items() if k != "monitors"})
