"""The PyTorch recipe "Automatic Mixed Precision" (a stack of Linear + ReLU layers, MSELoss, SGD lr 0.001, the
"all together" loop with autocast and GradScaler) on a learnable synthetic regression, watched by gradmedic.

Adapted from https://github.com/pytorch/tutorials (commit 00b83bfab7d1cd0cd7c53fbba59db65c2e021bb6,
recipes_source/recipes/amp_recipe.py, by Michael Carilli; BSD 3-Clause License, Copyright (c) 2017-2022, Pytorch
contributors, see LICENSE-amprecipe).

Kept as in the original: ``make_model(in_size, out_size, num_layers)`` (``num_layers - 1`` blocks of
``Linear(in_size, in_size)`` + ``ReLU``, then ``Linear(in_size, out_size)``) with PyTorch's default initialization,
``torch.nn.MSELoss()``, ``torch.optim.SGD(net.parameters(), lr=0.001)``, a fixed list of ``num_batches`` batches
visited in the same order every epoch (``for input, target in zip(data, targets)``), and the "All together" loop:
``with autocast(enabled=use_amp): output = net(input); loss = loss_fn(output, target)``, then
``scaler.scale(loss).backward()``, ``scaler.step(opt)``, ``scaler.update()``, ``opt.zero_grad()``, with
``scaler = GradScaler(enabled=use_amp)`` at its default arguments (init_scale 2**16).  The clipping variant follows
the recipe's "Inspecting/modifying gradients" section (``scaler.unscale_(opt)`` then ``clip_grad_norm_`` before
``scaler.step``), at max_norm 1.0 instead of its 0.1.

Changed: CPU instead of CUDA: ``torch.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=use_amp)`` and
``torch.amp.GradScaler("cpu", enabled=use_amp)`` (both work in torch 2.13; the scaler is active on CPU although
bfloat16 does not need it); no timers.  Sizes shrunk so a run takes 10-25 s on one CPU thread: in_size 512,
out_size 4, num_layers 3 (upstream 4096, 4096, 3), batch_size 256 (512), num_batches 50 (as upstream), 16 epochs
(800 steps; upstream 3 epochs, 150 steps: at lr 0.001 the net needs more steps to learn anything).  Upstream trains
on ``torch.randn`` inputs and unrelated ``torch.randn`` targets, which nothing can learn; here the data is a
learnable regression drawn once from a generator seeded 1234 (the same for every seed and variant): raw features
``(Z @ A) * sd + mu`` with Z ~ N(0, 1) of 8 latent dimensions, A ~ N(0, 1) of shape 8 x 512, per-feature scales sd
log-uniform in [1, 1000] and offsets mu = sd * U(-5, 5); the inputs are these standardized by the training set's
mean and std (the ``raw_inputs`` variant feeds the raw features); targets are a fixed teacher ``make_model(512, 4,
3)`` (default init, seeded 1234) applied to the standardized inputs, standardized per output on the training set,
plus N(0, 0.1^2) noise.  12800 training samples (the 50 batches), 4096 held out.  The seed sets the student's init.
Metric: ``test_mse``, the held-out MSE after training (float32, no autocast); ``initial``: the untrained net's
held-out MSE.

The watch: ``monitor = gradmedic.watch(net, opt, every=10, scaler=scaler)`` right after the scaler is built;
``monitor.step(loss)`` right after ``scaler.scale(loss).backward()`` (the loss unscaled), before ``scaler.step(opt)``;
with clipping, after ``clip_grad_norm_`` as ``monitor.step(loss, grad_norm=total_norm)``.

``CASES`` (program "amprecipe"; run.py finds a variant's control as the first "_" token of its name +
"_healthy_s<seed>", so the clipping program has its own prefix ampclip): the program on seeds 1-3, and one change
each against the same seed's healthy run: SGD lr x10, x100 (seeds 1 and 2), x1000 and /1000; normal_(0, 1) on every
Linear weight; raw unstandardized inputs; GradScaler(init_scale=2**40); autocast and GradScaler disabled
(``use_amp = False``: plain float32, a healthy change).  The clipping program (``scaler.unscale_(opt)`` then
``clip_grad_norm_(net.parameters(), 1.0)``) healthy on seed 1, and the same with ``unscale_`` forgotten (the
scaled gradients clipped to norm 1.0, then divided by the scale in ``scaler.step``: updates ~65536x too small).
Labels come from run.py's outcome rules only.
Recorded (cases-public28, 14 cases, 204 s in all; 8-17 s a run): healthy held-out MSE 0.371, 0.366, 0.375 on
seeds 1-3 (from 1.00 untrained; the mean predictor's is ~1.01); lr x10 (0.122) and x100 (0.059, 0.052 on seeds 1
and 2) train better than the program (labelled healthy: lr 0.001 is slow for this net); lr x1000 NaN (broken: the
scaler backed off to scale 0 after 166 skipped steps); lr /1000 1.001 (broken: no progress); N(0, 1) init 4.6e16
(broken: from 3.0e7 untrained); raw inputs NaN (broken; from 4885 untrained, 166 skipped steps); GradScaler
init_scale 2**40 0.3707, bit-identical to the control (healthy: in bfloat16/float32 nothing overflows, so no step is
skipped, and scaling by a power of two is exact); use_amp = False 0.3707 (healthy); the clipping program 0.385
(healthy); unscale_ forgotten 1.002 (broken: no progress).  No case came out "ambiguous".
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(net, opt, every=10, scaler=scaler); monitor.step(loss) right after scaler.scale(loss).backward() "
              "(MSELoss under bfloat16 autocast, the unscaled loss), before scaler.step(opt)/scaler.update(); in the "
              "clipping program after scaler.unscale_(opt) and clip_grad_norm_(1.0), as monitor.step(loss, "
              "grad_norm=total_norm)")

in_size, out_size, num_layers = 512, 4, 3
batch_size, num_batches, latent = 256, 50, 8


def make_model(in_size, out_size, num_layers):
    layers = []
    for _ in range(num_layers - 1):
        layers.append(torch.nn.Linear(in_size, in_size))
        layers.append(torch.nn.ReLU())
    layers.append(torch.nn.Linear(in_size, out_size))
    return torch.nn.Sequential(*tuple(layers))  # upstream: .cuda()


def make_data(raw_inputs: bool = False, n_test: int = 4096):
    """The fixed regression (generator and teacher seeded 1234): standardized (or raw) inputs, teacher targets."""
    g = torch.Generator().manual_seed(1234)
    n_train = batch_size * num_batches
    z = torch.randn(n_train + n_test, latent, generator=g)
    a = torch.randn(latent, in_size, generator=g)
    sd = 10 ** (3 * torch.rand(in_size, generator=g))
    mu = sd * (10 * torch.rand(in_size, generator=g) - 5)
    raw = (z @ a) * sd + mu
    x = (raw - raw[:n_train].mean(0)) / raw[:n_train].std(0)
    state = torch.random.get_rng_state()
    torch.manual_seed(1234)
    teacher = make_model(in_size, out_size, num_layers)
    torch.random.set_rng_state(state)
    with torch.no_grad():
        t = teacher(x)
    t = (t - t[:n_train].mean(0)) / t[:n_train].std(0)
    y = t + 0.1 * torch.randn(t.shape, generator=g)
    inp = raw if raw_inputs else x
    data = list(inp[:n_train].split(batch_size))
    targets = list(y[:n_train].split(batch_size))
    return data, targets, inp[n_train:], y[n_train:]


def train(seed: int = 1, lr_mult: float = 1.0, use_amp: bool = True, init_scale: float = 2.0 ** 16,
          init_std: float | None = None, raw_inputs: bool = False, clip: str | None = None, epochs: int = 16,
          every: int = 10, verbose: bool = False) -> dict:
    """``clip``: None (the recipe's "all together" loop), "unscale" (unscale_ then clip_grad_norm_ 1.0, the recipe's
    clipping section), "scaled" (clip_grad_norm_ 1.0 without unscale_: the bug)."""
    torch.set_num_threads(1)
    data, targets, x_test, y_test = make_data(raw_inputs)
    loss_fn = torch.nn.MSELoss()

    torch.manual_seed(seed)
    net = make_model(in_size, out_size, num_layers)
    if init_std is not None:  # the bug: normal_(0, std) on every Linear weight instead of the default init
        for m in net.modules():
            if isinstance(m, torch.nn.Linear):
                torch.nn.init.normal_(m.weight, 0.0, init_std)
    lr = 0.001 * lr_mult
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    scaler = torch.amp.GradScaler("cpu", init_scale=init_scale, enabled=use_amp)
    monitor = gradmedic.watch(net, opt, every=every, scaler=scaler)

    def held_out():
        with torch.no_grad():
            return float(loss_fn(net(x_test), y_test))

    initial = held_out()
    losses, skipped = [], 0
    t0 = time.time()
    for epoch in range(epochs):
        for input, target in zip(data, targets, strict=True):
            with torch.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=use_amp):
                output = net(input)
                loss = loss_fn(output, target)
            scaler.scale(loss).backward()
            if clip is None:
                monitor.step(loss)  # gradmedic
            else:
                if clip == "unscale":
                    scaler.unscale_(opt)
                total_norm = torch.nn.utils.clip_grad_norm_(net.parameters(), max_norm=1.0)
                monitor.step(loss, grad_norm=total_norm)  # gradmedic
            before = scaler.get_scale() if use_amp else 1.0
            scaler.step(opt)
            scaler.update()
            if use_amp and scaler.get_scale() < before:
                skipped += 1
            opt.zero_grad()
            losses.append(loss.item())
        if verbose:
            print(f"epoch {epoch + 1} loss {np.mean(losses[-num_batches:]):.4g} ({time.time() - t0:.1f}s)", flush=True)
    test_mse = held_out()
    monitor.close()
    if not math.isfinite(test_mse):
        test_mse = float("nan")
    if verbose:
        print(f"held-out MSE {test_mse:.4g} (untrained {initial:.4g})")
    return {"monitors": {"": monitor}, "metric": "test_mse", "value": test_mse, "chance": 1.01, "initial": initial,
            "initial_what": "untrained: the held-out MSE of the net before its first step",
            "extra": {"train_loss": float(np.mean(losses[-20:])), "initial_train_loss": float(np.mean(losses[:5])),
                      "steps": len(losses), "lr": lr, "skipped_steps": skipped,
                      "final_scale": float(scaler.get_scale()) if use_amp else None},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="amprecipe", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_BASE = ("make_model(512, 4, 3), MSELoss, SGD lr 0.001, bfloat16 autocast + GradScaler('cpu') at its defaults, batch 256, "
         "50 batches x 16 epochs")
CASES: list[dict] = (
    [_case(f"amprecipe_healthy_s{s}", "healthy", s, {}, f"unchanged ({_BASE})", False) for s in (1, 2, 3)]
    + [_case(f"amprecipe_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"SGD lr x{k} ({0.001 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("amprecipe_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "SGD lr /1000 (1e-06)")]
    + [_case("amprecipe_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Linear weight instead of PyTorch's default (kaiming_uniform_, a=sqrt(5))")]
    + [_case("amprecipe_raw_inputs_s1", "unscaled_inputs", 1, {"raw_inputs": True},
             "raw features (per-feature scales 1..1000, offsets up to 5x the scale) instead of the standardized inputs")]
    + [_case("amprecipe_init_scale_2e40_s1", "healthy", 1, {"init_scale": 2.0 ** 40},
             "torch.amp.GradScaler('cpu', init_scale=2**40) instead of the default 2**16")]
    + [_case("amprecipe_fp32_s1", "healthy", 1, {"use_amp": False},
             "use_amp = False: autocast and GradScaler disabled (enabled=False), plain float32")]
    + [_case("ampclip_healthy_s1", "healthy", 1, {"clip": "unscale"},
             f"the recipe's clipping loop: scaler.unscale_(opt), clip_grad_norm_(net.parameters(), 1.0), "
             f"scaler.step ({_BASE})", False)]
    + [_case("ampclip_no_unscale_s1", "lr_low", 1, {"clip": "scaled"},
             "scaler.unscale_(opt) forgotten before clip_grad_norm_(net.parameters(), 1.0): the scaled gradients "
             "(x65536) are clipped to norm 1, then divided by the scale in scaler.step (updates far too small)")]
)


if __name__ == "__main__":
    import sys
    r = train(verbose=True, **({"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}))
    print({k: v for k, v in r.items() if k != "monitors"})
