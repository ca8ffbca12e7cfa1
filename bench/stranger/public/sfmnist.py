"""Schedule-Free AdamW on the schedule_free repository's MNIST example (a small CNN on digits), watched by gradmedic.

Adapted from https://github.com/facebookresearch/schedule_free (commit 70785b53e778d0e872c0bbb75ff4ee54ee10c291;
Apache License 2.0, see LICENSE-sfmnist): ``examples/mnist/main.py`` (pytorch/examples' MNIST program with
``schedulefree.AdamWScheduleFree``), and the optimizer, ``schedulefree/adamw_schedulefree.py``'s ``AdamWScheduleFree``,
copied below (pure PyTorch).  Kept as upstream: the optimizer's code (its ``train()``/``eval()`` modes that move the
parameters between y and x by ``lerp_`` with z, ``warmup_steps``, the ``ckp1`` weighting with ``lr_max **
weight_lr_power``, the y/z update, the foreach path, the exception when ``step`` is called outside train mode);
the example's ``Net`` (conv 1->32 3x3, ReLU, conv 32->64 3x3, ReLU, max_pool 2, Dropout(0.25), flatten, fc1 -> 128,
ReLU, Dropout(0.5), fc2 -> 10, ``log_softmax``; PyTorch's default inits), ``F.nll_loss``, the optimizer's
construction ``AdamWScheduleFree(model.parameters(), lr=0.0025)`` (betas (0.9, 0.999), eps 1e-8, weight_decay 0,
warmup_steps 0, r 0, weight_lr_power 2), batch 64 (test batch 1000), 14 epochs, the DataLoaders as upstream builds
them on a CPU (no ``shuffle``: upstream adds ``shuffle=True`` only with CUDA), and the loop: ``model.train()`` and
``optimizer.train()`` at the start of each epoch, ``optimizer.zero_grad()`` / forward / ``nll_loss`` /
``loss.backward()`` / ``optimizer.step()``, then ``model.eval()`` and ``optimizer.eval()`` (the parameters set to
the averaged x) before each epoch's test.

Changed to run offline on one CPU thread in ~10 s: the data are scikit-learn's bundled digits (1797 8x8 images,
values 0..16; no download) instead of MNIST, split 1437 train / 360 test (stratified, ``random_state=0``, the same
for every seed), scaled to [0, 1] (as ``ToTensor`` does) and normalized by the training pixels' mean and std (0.3054,
0.3761: upstream's ``Normalize((0.1307,), (0.3081,))`` are MNIST's); so the Net sees 8x8 images, and fc1's input is
the 64 x 2 x 2 = 256 features that its two convs and max_pool leave of them (upstream: ``nn.Linear(9216, 128)``
for 28x28; every layer's kind, width and order kept); 14 epochs of 23 steps (322 steps); the seed goes to
``torch.manual_seed`` (upstream: 1); no model saving, prints only with ``verbose``.  The metric is the test accuracy
after the last epoch (the 360 held-out digits, the optimizer in eval mode, as upstream's last ``test``); each epoch's
test accuracy goes to ``extra``.

Knobs (one per variant): ``lr_mult`` scales lr; ``pixel_scale``/``pixel_offset`` feed the raw 0..16 pixels (no
[0, 1] scaling, no normalization) times a factor or plus an offset; ``init_std`` draws every conv and Linear weight
from N(0, init_std) (biases kept); ``zero_grad=False`` leaves ``optimizer.zero_grad()`` out; ``opt_eval=False``
leaves ``optimizer.eval()`` out of ``test`` (the model is then tested at y, the point where gradients are taken,
not at the average x; the next epoch's ``optimizer.train()`` is then a no-op, so training itself is unchanged);
``softmax=True`` ends ``forward`` with ``F.softmax`` instead of ``F.log_softmax`` (``nll_loss`` then takes minus
the probability of the target); ``batch_size``, ``warmup_steps``.

Forgetting ``optimizer.train()`` (the mistake this optimizer is known for) is not a case: at this commit the
optimizer starts in eval mode (``train_mode=False``) and ``step`` raises "Optimizer was not in train mode when step
is called" on the first step, so the program stops before it trains; leaving out ``optimizer.eval()`` before the
test, the silent half of the same mistake, is recorded instead (cause "healthy": no cause names it).

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()`` (which divides the
gradients in place); ``monitor.close()`` after the last epoch, before the final test.

``CASES`` (program "sfmnist"): the program on seeds 1-3, and one change each against the same seed's healthy run: lr
x10, x100 (seeds 1 and 2), x1000, /1000; the raw pixels x100 (seed 1) and +1000 (seed 2); N(0, 1) weights (seeds 1
and 2); ``optimizer.zero_grad()`` left out; softmax before ``nll_loss`` (seeds 1 and 2); ``optimizer.eval()`` left out
before the tests (cause "healthy"); and two changes expected harmless: batch 32 and warmup_steps 100 (cause
"healthy").  Labels come from run.py's outcome rules only.
Recorded (cases-public97; 18 runs, 2-5 s each, 65 s in all; metric "accuracy": the test accuracy on the 360 held-out
digits after epoch 14): healthy 0.986, 0.975, 0.981 on seeds 1-3 (training loss 2.25-2.28 over the first 5 steps,
0.045-0.048 over the last 20, largest 2.31-2.33; test accuracy 0.83-0.88 after the first epoch): healthy; lr x10
(0.025): 0.986 (best 0.989), but the loss rose to 4.66 early on, over twice the control's largest: ambiguous; lr x100
(0.25): the loss jumps to ~500 in the first steps (largest 2534 and 2304), then sits at 2.306 (ln 10), 0.100 on
seeds 1 and 2: broken; lr x1000 (2.5): losses up to 1.8e7, then 2.32, 0.100: broken; lr /1000 (2.5e-6): loss 2.31 ->
2.31, 0.075: broken; raw pixels x100: first-5 mean 96.8, largest 165, training loss 0.20 at the end, 0.961 (2.5 points
below its control): ambiguous (not clearly worse; its largest loss is over twice the control's); raw pixels +1000:
first-5 mean 39, largest 78, then ln 10, 0.100: broken; N(0, 1) weights: first losses ~1.2e4, training loss 520 and
611 at the end, 0.814 (seed 1) and 0.836 (seed 2): broken; zero_grad left out: the loss rises to 7.9 and ends at 2.29,
0.350 (best 0.439): broken; softmax before nll_loss (the loss is minus the target's probability, -0.10 -> -0.97):
0.978 (seed 1) and 0.972 (seed 2): healthy (the wrong loss trains this net almost as well in 14 epochs);
optimizer.eval() left out: training is unchanged, the tests at y give 0.989: healthy; batch 32 (45 steps an epoch,
630 steps): 0.986: healthy; warmup_steps 100: 0.983 (0.531 after the first epoch): healthy.  Labels: 8 healthy (3
programs, softmax on seeds 1 and 2, no optimizer.eval(), batch 32, warmup 100), 8 broken, 2 ambiguous (lr x10, raw
pixels x100).  Every run's losses were finite.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = AdamWScheduleFree(model.parameters(), "
              "lr=0.0025); monitor.step(loss) right after loss.backward() (nll_loss over a batch of 64), before "
              "optimizer.step(); optimizer.train() at each epoch's start, optimizer.eval() before each epoch's test")

ParamsT = Iterable[torch.Tensor] | Iterable[dict[str, Any]]  # upstream: from torch.optim.optimizer import ParamsT


# ----------------------------------------------------------------------------------------------------------------
# schedulefree/adamw_schedulefree.py (Copyright (c) Meta Platforms, Inc. and affiliates; Apache License 2.0)

class AdamWScheduleFree(torch.optim.Optimizer):
    r"""
    Schedule-Free AdamW
    As the name suggests, no scheduler is needed with this optimizer.
    To add warmup, rather than using a learning rate schedule you can just
    set the warmup_steps parameter.

    This optimizer requires that .train() and .eval() be called before the
    beginning of training and evaluation respectively. The optimizer should
    also be placed in eval mode when saving checkpoints.
    """  # upstream: the argument list follows here
    def __init__(self,
                 params: ParamsT,
                 lr: float | torch.Tensor = 0.0025,
                 betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8,
                 weight_decay: float = 0,
                 warmup_steps: int = 0,
                 r: float = 0.0,
                 weight_lr_power: float = 2.0,
                 inner_momentum: float = 0.0,
                 foreach: bool | None = hasattr(torch, "_foreach_mul_")
                 ):

        defaults = dict(lr=lr,
                        betas=betas,
                        eps=eps,
                        r=r,
                        k=0,
                        warmup_steps=warmup_steps,
                        train_mode=False,
                        weight_sum=0.0,
                        lr_max=-1.0,
                        scheduled_lr=0.0,
                        weight_lr_power=weight_lr_power,
                        weight_decay=weight_decay,
                        inner_momentum=inner_momentum,
                        foreach=foreach)
        super().__init__(params, defaults)

    @torch.no_grad()
    def eval(self):
        for group in self.param_groups:
            train_mode = group['train_mode']
            beta1, _ = group['betas']
            if train_mode:
                for p in group['params']:
                    state = self.state[p]
                    if 'z' in state:
                        # Set p to x
                        p.lerp_(end=state['z'].to(p.device), weight=1-1/beta1)
                group['train_mode'] = False

    @torch.no_grad()
    def train(self):
        for group in self.param_groups:
            train_mode = group['train_mode']
            beta1, _ = group['betas']
            if not train_mode:
                for p in group['params']:
                    state = self.state[p]
                    if 'z' in state:
                        # Set p to y
                        p.lerp_(end=state['z'].to(p.device), weight=1-beta1)
                group['train_mode'] = True

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Performs a single optimization step.

        Arguments:
            closure (callable, optional): A closure that reevaluates the model
                and returns the loss.
        """
        if not self.param_groups[0]['train_mode']:
            raise Exception("Optimizer was not in train mode when step is called. "
                            "Please insert .train() and .eval() calls on the "
                            "optimizer. See documentation for details.")

        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()

        for group in self.param_groups:
            eps = group['eps']
            beta1, beta2 = group['betas']
            decay = group['weight_decay']
            k = group['k']
            r = group['r']
            warmup_steps = group['warmup_steps']
            weight_lr_power = group['weight_lr_power']
            inner_momentum = group['inner_momentum']

            if k < warmup_steps:
                sched = (k+1) / warmup_steps  # upstream: two-space indent
            else:
                sched = 1.0

            bias_correction2 = 1 - beta2 ** (k+1)
            if inner_momentum != 0:
                bias_correction1 = 1 - inner_momentum ** (k+1)
            lr = group['lr']*sched
            group['scheduled_lr'] = lr # For logging purposes

            lr_max = group['lr_max'] = max(lr, group['lr_max'])

            weight = ((k+1)**r) * (lr_max**weight_lr_power)
            weight_sum = group['weight_sum'] = group['weight_sum'] + weight

            try:
                ckp1 = weight/weight_sum
            except ZeroDivisionError:
                ckp1 = 0

            active_p = [p for p in group['params'] if p.grad is not None]

            for p in active_p:
                if 'z' not in self.state[p]:
                    self.state[p]['z'] = torch.clone(p, memory_format=torch.preserve_format)
                    self.state[p]['exp_avg_sq'] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    if inner_momentum != 0:
                        self.state[p]['exp_avg'] = torch.zeros_like(p, memory_format=torch.preserve_format)

            if group['foreach'] and len(active_p) > 0:
                y, grad, exp_avg_sq, z = zip(*[(p,
                                                p.grad,
                                                self.state[p]['exp_avg_sq'],
                                                self.state[p]['z'])
                                                for p in active_p], strict=True)  # upstream: zip(...) (ruff B905)

                # Decay the first and second moment running average coefficient
                torch._foreach_mul_(exp_avg_sq, beta2)
                torch._foreach_addcmul_(exp_avg_sq, grad, grad, value=1-beta2)
                denom = torch._foreach_div(exp_avg_sq, bias_correction2)
                torch._foreach_sqrt_(denom)
                torch._foreach_add_(denom, eps)

                if inner_momentum != 0:
                    exp_avg = tuple(self.state[p]['exp_avg'] for p in active_p)
                    # exp_avg = inner_momentum*exp_avg + (1-inner_momentum)*grad
                    torch._foreach_mul_(exp_avg, inner_momentum)
                    torch._foreach_add_(exp_avg, grad, alpha=1-inner_momentum)
                    # grad_normalized = (exp_avg / bias_correction1) / denom
                    grad_normalized = torch._foreach_div(exp_avg, bias_correction1)
                    torch._foreach_div_(grad_normalized, denom)
                else:
                    # Normalize grad in-place for memory efficiency
                    torch._foreach_div_(grad, denom)
                    grad_normalized = grad

                # Weight decay calculated at y
                if decay != 0:
                    torch._foreach_add_(grad_normalized, y, alpha=decay)

                # These operations update y in-place,
                # without computing x explicitly.
                torch._foreach_lerp_(y, z, weight=ckp1)
                torch._foreach_add_(y, grad_normalized, alpha=lr*(beta1*(1-ckp1)-1))

                # z step
                torch._foreach_sub_(z, grad_normalized, alpha=lr)
            else:
                for p in active_p:
                    y = p # Notation to match theory
                    grad = p.grad

                    state = self.state[p]

                    z = state['z']
                    exp_avg_sq = state['exp_avg_sq']

                    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1-beta2)
                    denom = exp_avg_sq.div(bias_correction2).sqrt_().add_(eps)

                    if inner_momentum != 0:
                        exp_avg = state['exp_avg']
                        exp_avg.mul_(inner_momentum).add_(grad, alpha=1-inner_momentum)
                        grad_normalized = exp_avg.div(bias_correction1).div_(denom)
                    else:
                        # Reuse grad buffer for memory efficiency
                        grad_normalized = grad.div_(denom)

                    # Weight decay calculated at y
                    if decay != 0:
                        grad_normalized.add_(y, alpha=decay)

                    # These operations update y in-place,
                    # without computing x explicitly.
                    y.lerp_(end=z, weight=ckp1)
                    y.add_(grad_normalized, alpha=lr*(beta1*(1-ckp1)-1))

                    # z step
                    z.sub_(grad_normalized, alpha=lr)

            group['k'] = k+1
        return loss


# ----------------------------------------------------------------------------------------------------------------
# examples/mnist/main.py

class Net(nn.Module):
    def __init__(self, softmax=False):
        super().__init__()  # upstream: super(Net, self).__init__()
        self.softmax = softmax
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(256, 128)  # upstream: nn.Linear(9216, 128) (28x28 MNIST; 8x8 digits leave 64 x 2 x 2)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        if self.softmax:  # the wrong_loss variant: probabilities, not log-probabilities, go to nll_loss
            return F.softmax(x, dim=1)
        output = F.log_softmax(x, dim=1)
        return output


def train_epoch(model, train_loader, optimizer, monitor, losses, zero_grad=True, verbose=False, epoch=1):
    # upstream: train(args, model, device, train_loader, optimizer, epoch)
    model.train()
    optimizer.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        if zero_grad:  # the no_zero_grad variant leaves this out
            optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()
        losses.append(loss.item())
        if verbose and batch_idx % 10 == 0:  # upstream: log_interval 200 (always printed)
            print(f"Train Epoch: {epoch} [{batch_idx * len(data)}/{len(train_loader.dataset)}]\tLoss: {loss.item():.6f}")


def test(model, optimizer, test_loader, opt_eval=True):
    model.eval()
    if opt_eval:  # the no_opt_eval variant leaves this out (the model is tested at y, not x)
        optimizer.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction='sum').item()  # sum up batch loss
            pred = output.argmax(dim=1, keepdim=True)  # get the index of the max log-probability
            correct += pred.eq(target.view_as(pred)).sum().item()

    test_loss /= len(test_loader.dataset)
    return test_loss, correct / len(test_loader.dataset)  # upstream: prints them


def digits_datasets(pixel_scale=None, pixel_offset=None):
    """scikit-learn's digits in the shape MNIST's transform gives: (N, 1, 8, 8) float, normalized; labels int64."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = d.images.astype(np.float32)  # 0..16
    xtr, xte, ytr, yte = train_test_split(x, d.target, test_size=360, stratify=d.target, random_state=0)
    if pixel_scale is None and pixel_offset is None:
        # transforms.ToTensor() (to [0, 1]) and transforms.Normalize((0.1307,), (0.3081,)) (MNIST's mean and std)
        xtr, xte = xtr / 16.0, xte / 16.0
        mean, std = float(xtr.mean()), float(xtr.std())
        xtr, xte = (xtr - mean) / std, (xte - mean) / std
    else:  # the unscaled_inputs variants: raw 0..16 pixels, times a factor or plus an offset, not normalized
        xtr, xte = xtr * (pixel_scale or 1.0) + (pixel_offset or 0.0), xte * (pixel_scale or 1.0) + (pixel_offset or 0.0)
    ds = [torch.utils.data.TensorDataset(torch.tensor(a).unsqueeze(1), torch.tensor(b, dtype=torch.int64))
          for a, b in ((xtr, ytr), (xte, yte))]
    return ds[0], ds[1]


LR = 0.0025
BATCH_SIZE = 64
EPOCHS = 14


def train(seed: int = 1, lr_mult: float = 1.0, pixel_scale: float | None = None, pixel_offset: float | None = None,
          init_std: float | None = None, zero_grad: bool = True, opt_eval: bool = True, softmax: bool = False,
          batch_size: int = BATCH_SIZE, warmup_steps: int = 0, epochs: int = EPOCHS, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    torch.manual_seed(seed)  # upstream: args.seed, default 1

    train_kwargs = {'batch_size': batch_size}
    test_kwargs = {'batch_size': 1000}
    dataset1, dataset2 = digits_datasets(pixel_scale, pixel_offset)  # upstream: datasets.MNIST with the transform
    train_loader = torch.utils.data.DataLoader(dataset1, **train_kwargs)
    test_loader = torch.utils.data.DataLoader(dataset2, **test_kwargs)

    model = Net(softmax=softmax)
    if init_std is not None:  # the init_large variant: N(0, init_std) for every conv and Linear weight (biases kept)
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, mean=0.0, std=init_std)
    lr = LR * lr_mult
    optimizer = AdamWScheduleFree(model.parameters(), lr=lr, warmup_steps=warmup_steps)  # upstream: lr=args.lr only
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    losses, test_losses, test_accs = [], [], []
    for epoch in range(1, epochs + 1):
        train_epoch(model, train_loader, optimizer, monitor, losses, zero_grad=zero_grad, verbose=verbose, epoch=epoch)
        if epoch == epochs:
            monitor.close()
        tl, ta = test(model, optimizer, test_loader, opt_eval=opt_eval)
        test_losses.append(tl)
        test_accs.append(ta)
        if verbose:
            print(f"Test set: Average loss: {tl:.4f}, Accuracy: {ta:.4f} ({time.time() - t0:.1f}s)")

    la = np.array(losses)
    finite = bool(np.isfinite(la).all())
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(test_accs[-1]), "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(lr=lr, lr_mult=lr_mult, train_loss=float(np.mean(la[-20:])), first_loss=float(np.mean(la[:5])),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=finite, steps=len(la), epochs=epochs, batch_size=batch_size,
                          warmup_steps=warmup_steps, test_loss=float(test_losses[-1]),
                          test_accs=[float(a) for a in test_accs], best_test_acc=float(max(test_accs)),
                          pixel_scale=-1.0 if pixel_scale is None else pixel_scale,
                          pixel_offset=-1.0 if pixel_offset is None else pixel_offset,
                          init_std=-1.0 if init_std is None else init_std, zero_grad=zero_grad, opt_eval=opt_eval,
                          softmax=softmax, train_images=len(dataset1), test_images=len(dataset2)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="sfmnist", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"schedule_free MNIST example on 8x8 digits (Net: 2 convs, dropout, 2 Linear, log_softmax + nll_loss; "
      f"AdamWScheduleFree lr {LR:g}, betas (0.9, 0.999), warmup 0, batch {BATCH_SIZE}, {EPOCHS} epochs)")
CASES: list[dict] = (
    [_case(f"sfmnist_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"sfmnist_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("sfmnist_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case("sfmnist_raw_x100_s1", "unscaled_inputs", 1, {"pixel_scale": 100.0},
             f"{_P}: the raw 0..16 pixels times 100 (0..1600), not scaled to [0, 1] nor normalized")]
    + [_case("sfmnist_raw_plus1000_s2", "unscaled_inputs", 2, {"pixel_offset": 1000.0},
             f"{_P}: the raw 0..16 pixels plus 1000 (1000..1016), not scaled to [0, 1] nor normalized")]
    + [_case(f"sfmnist_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every conv and Linear weight instead of PyTorch's default "
             "U(+-1/sqrt(fan_in)) (biases kept)") for s in (1, 2)]
    + [_case("sfmnist_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case(f"sfmnist_softmax_s{s}", "wrong_loss", s, {"softmax": True},
             f"{_P}: F.softmax instead of F.log_softmax at the end of forward, before F.nll_loss") for s in (1, 2)]
    + [_case("sfmnist_no_opt_eval_s1", "healthy", 1, {"opt_eval": False},
             f"{_P}: optimizer.eval() left out before each test (tested at y, not the averaged x)")]
    + [_case("sfmnist_batch32_s1", "healthy", 1, {"batch_size": 32}, f"{_P}: batch 32 (expected harmless)")]
    + [_case("sfmnist_warmup100_s1", "healthy", 1, {"warmup_steps": 100},
             f"{_P}: warmup_steps 100 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
