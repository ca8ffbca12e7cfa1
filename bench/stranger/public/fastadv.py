"""locuslab's "Fast is better than free": FGSM adversarial training with a random start (the MNIST program), on 8x8
digits, watched by gradmedic.

Adapted from https://github.com/locuslab/fast_adversarial (commit 54f728755e71857b632882ba6d6cef22f56e2172, the
newest; MNIST/train_mnist.py, MNIST/mnist_net.py and the ``attack_pgd`` of MNIST/evaluate_mnist.py).  The repository
has no licence file and names no licence, so this port keeps to what is needed (no LICENSE-fastadv): the 12-line
``mnist_net``, the training loop and ``attack_pgd`` are copied below.  Kept as upstream: ``mnist_net`` (Conv2d(1, 16,
4, stride 2, padding 1), ReLU, Conv2d(16, 32, 4, stride 2, padding 1), ReLU, ``Flatten``, Linear to 100, ReLU, Linear
to 10; PyTorch's default init), the argparse defaults (--attack fgsm, --batch-size 100, --lr-max 5e-3, --lr-type
cyclic), ``torch.optim.Adam(model.parameters(), lr=args.lr_max)``, the cyclic schedule (``np.interp`` from 0 up to
lr_max at 2/5 of the epochs and back to 0, set per batch with ``opt.param_groups[0].update(lr=lr)``) and the flat one,
``nn.CrossEntropyLoss()``, and the loop in its order: delta drawn from U(-epsilon, epsilon), ``delta.requires_grad``,
``F.cross_entropy(model(X + delta), y).backward()``, ``delta + alpha * sign(grad)`` clamped to [-epsilon, epsilon]
and to [0 - X, 1 - X], detached; ``output = model(torch.clamp(X + delta, 0, 1))``, ``loss = criterion(output, y)``,
``opt.zero_grad()``, ``loss.backward()``, ``opt.step()`` (the attack's backward leaves parameter gradients that this
``opt.zero_grad()`` clears); evaluate_mnist.py's ``clamp`` and ``attack_pgd`` (random start, per-example early stop,
the restart bookkeeping) with ``model.eval()``.

Changed to run offline on one CPU thread in ~10 s:
- data: scikit-learn's ``load_digits`` (1797 8x8 images, 0..16 divided by 16 for ToTensor's [0, 1]), a stratified
  80/20 split by the seed (1437 training, 360 test images), batches from a shuffling DataLoader over a TensorDataset
  (upstream: torchvision's MNIST, 60000/10000 at 28x28); with 8x8 inputs the two stride-2 convolutions leave 2x2, so
  the first Linear is 32*2*2 -> 100 (upstream 32*7*7 -> 100); nothing else in the network changes;
- epsilon EPSILON = 0.1 and alpha ALPHA = 0.125 (upstream 0.3 and 0.375 = 1.25 epsilon; the ratio is kept): MNIST's
  strokes are nearly binary, so 0.3 leaves a digit readable, while an 8x8 digit is a 4x4-pixel average with many
  intermediate grey levels, each of its 64 pixels carrying more of the class; at 0.2 the healthy run's PGD accuracy
  was 0.44-0.46, at 0.1 it is 0.79-0.82, a trained but
  attackable model, as upstream's at 0.3 on MNIST;
- EPOCHS = 30 (450 steps; upstream 10 epochs of 600 steps), seed 1-3 (upstream 0) for numpy and torch; no CUDA, no
  logging module (a print every 5 epochs with ``verbose``), no ``torch.save`` after each epoch;
- the evaluation: the 360 test images, clean (evaluate_mnist.py's --attack none) and under ``attack_pgd`` with 10
  iterations of step epsilon/4 and 1 restart (upstream 50 of 0.01 with 10 restarts), in batches of 100; the
  attack's randomness seeded with 10000 + seed.

Metric: the clean test accuracy (run.py's digit rule: good at >= 0.9); the PGD-10 robust accuracy goes to ``extra``
(``robust_acc``).  Not the robust accuracy because the healthy program's robust accuracy (0.79-0.82 at epsilon 0.1)
is below the 0.9 a good outcome asks for at any epsilon worth the name, and on 360 images it moves by several
points between seeds.

Knobs (one per variant): ``lr_mult`` scales --lr-max; ``init_std`` draws every Conv2d and Linear weight from N(0,
init_std) (biases kept); ``upper=255`` feeds the pixels as 0..255 (no ToTensor scaling) with the clamps moved to [0,
255] (``upper - X``, ``clamp(X + delta, 0, upper)``, also in ``attack_pgd``) and epsilon and alpha unchanged, so the
attack is 255 times weaker relative to the image; ``zero_grad=False`` leaves out the ``opt.zero_grad()`` before the
training backward (the attack's parameter gradients then accumulate too); ``batch_size`` and ``lr_type`` as the
upstream flags; ``random_start=False`` starts FGSM from delta = 0 (tried, not a case: see below).

The watch, as a user would: ``monitor = gradmedic.watch(model, opt, every=10)`` right after the Adam and the schedule
are built, ``monitor.step(loss)`` right after the training ``loss.backward()``, before ``opt.step()``;
``monitor.close()`` after the loop.  The attack's forward and backward through the model run the watch's hooks too,
as for any user of this code.

``CASES`` (program "fastadv"): the program on seeds 1-3, and one change each against the same seed's healthy run:
--lr-max x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) weights (seeds 1 and 2); raw 0..255 pixels (seeds 1 and
2); ``opt.zero_grad()`` left out (seeds 1 and 2); and two changes expected harmless, cause "healthy": --batch-size 200
and --lr-type flat (the MNIST program has no epsilon schedule to turn off; flat is its other lr schedule).
Catastrophic overfitting was looked for and not found, so it is not a case: FGSM from delta = 0 with alpha = epsilon
(cyclic or flat lr) gave clean 0.986 and PGD accuracy 0.833-0.836 on seed 1, and the random start with alpha 0.25
(2.5 epsilon) clean 0.981 and PGD 0.833, no collapse of the robust accuracy (it would not show in the clean-accuracy
metric anyway, and no cause names it).

Recorded (cases-public129; 16 cases in 150 s, 7-16 s a run on the shared 2-core machine): healthy clean test
accuracy 0.986, 0.989, 0.981 on seeds 1-3 (PGD-10 accuracy 0.794, 0.786, 0.822; training loss on the FGSM batches
2.31 over the first 5 steps -> 0.17-0.19 over the last 20; every loss finite, the largest 2.32); lr x10 (0.05):
0.986, PGD 0.853 (training loss 0.034): healthy; lr x100 (0.5): 0.100 (seed 1) and 0.103 (seed 2), the loss stuck at
2.30 (largest 3.2-3.5): broken; lr x1000 (5): 0.103, largest loss 59: broken; lr /1000 (5e-6): 0.100, the loss 2.31
throughout: broken; N(0, 1) init: first losses 2401 (seed 1) and 1426 (seed 2), training loss at the end 31 and 18,
clean 0.922 and 0.919 (PGD 0.789, 0.756): ambiguous (6-7 points below the control, not 10, and not within 3); raw
0..255 pixels: training loss to 1e-4, clean 0.981 on both seeds (PGD 0.981: the attack is negligible at this scale);
seed 1 ambiguous (its largest loss, 5.42, is over twice the control's 2.32), seed 2 healthy (largest 4.14);
``opt.zero_grad()`` left out: the loss rises to 6.2 and 5.7, clean 0.561 and 0.122: broken; batch 200: 0.983
(PGD 0.764): healthy; lr flat: 0.978 (PGD 0.814): healthy.  Labels: 7 healthy (3 programs, lr x10, raw pixels seed
2, batch 200, lr flat), 6 broken, 3 ambiguous; no non-finite loss.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(model, opt, every=10) right after opt = torch.optim.Adam(model.parameters(), lr=args.lr_max); "
              "monitor.step(loss) right after the training loss.backward() on the perturbed batch, before opt.step() "
              "(the FGSM attack's own backward through the model runs before it, and opt.zero_grad() clears its "
              "parameter gradients, as upstream)")

EPOCHS = 30  # upstream: --epochs 10 over MNIST's 60000 images (600 steps an epoch); 1437 digits here, 15 steps an epoch
EPSILON = 0.1  # upstream: 0.3 for MNIST (see the docstring)
ALPHA = 0.125  # upstream: 0.375 = 1.25 x epsilon; kept at 1.25 x


class Flatten(nn.Module):
    def forward(self, x):
        return x.view(x.size(0), -1)


def mnist_net():
    model = nn.Sequential(
        nn.Conv2d(1, 16, 4, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 32, 4, stride=2, padding=1),
        nn.ReLU(),
        Flatten(),
        nn.Linear(32*2*2, 100),  # upstream: nn.Linear(32*7*7,100) for 28x28 images (8x8 -> 4x4 -> 2x2 here)
        nn.ReLU(),
        nn.Linear(100, 10)
    )
    return model


def clamp(X, lower_limit, upper_limit):
    return torch.max(torch.min(X, upper_limit), lower_limit)


def attack_pgd(model, X, y, epsilon, alpha, attack_iters, restarts, upper=1.0):
    max_loss = torch.zeros(y.shape[0])  # upstream: .cuda()
    max_delta = torch.zeros_like(X)
    for _ in range(restarts):
        delta = torch.zeros_like(X).uniform_(-epsilon, epsilon)
        delta.data = clamp(delta, 0-X, upper-X)  # upstream: 1-X (upper is 1 but for the raw-pixel variant, 255)
        delta.requires_grad = True
        for _ in range(attack_iters):
            output = model(X + delta)
            index = torch.where(output.max(1)[1] == y)[0]
            if len(index) == 0:
                break
            loss = F.cross_entropy(output, y)
            loss.backward()
            grad = delta.grad.detach()
            d = torch.clamp(delta + alpha * torch.sign(grad), -epsilon, epsilon)
            d = clamp(d, 0-X, upper-X)  # upstream: 1-X
            delta.data[index] = d[index]
            delta.grad.zero_()
        all_loss = F.cross_entropy(model(X+delta), y, reduction='none')
        max_delta[all_loss >= max_loss] = delta.detach()[all_loss >= max_loss]
        max_loss = torch.max(max_loss, all_loss)
    return max_delta


def digits(seed, upper=1.0):
    """scikit-learn's 8x8 digits (0..16) scaled to [0, upper] (ToTensor's [0, 1]), a stratified 80/20 split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    X = (d.images / 16.0 * upper).astype(np.float32).reshape(-1, 1, 8, 8)
    Xtr, Xte, ytr, yte = train_test_split(X, d.target, test_size=0.2, random_state=seed, stratify=d.target)
    return (torch.tensor(Xtr), torch.tensor(ytr, dtype=torch.long), torch.tensor(Xte), torch.tensor(yte, dtype=torch.long))


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, upper: float = 1.0,
          zero_grad: bool = True, batch_size: int = 100, lr_type: str = "cyclic", epsilon: float = EPSILON,
          alpha: float = ALPHA, random_start: bool = True, epochs: int = EPOCHS, pgd_iters: int = 10,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    lr_max = 5e-3 * lr_mult  # upstream: --lr-max 5e-3

    np.random.seed(seed)  # upstream: args.seed 0
    torch.manual_seed(seed)

    Xtr, ytr, Xte, yte = digits(seed, upper)  # upstream: datasets.MNIST(..., transform=transforms.ToTensor())
    train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(Xtr, ytr), batch_size=batch_size,
                                               shuffle=True)

    model = mnist_net()  # upstream: .cuda()
    if init_std is not None:  # the init_large variant: N(0, init_std) on every Conv2d and Linear weight
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, init_std)
    model.train()

    opt = torch.optim.Adam(model.parameters(), lr=lr_max)
    if lr_type == 'cyclic':
        def lr_schedule(t):
            return np.interp([t], [0, epochs * 2//5, epochs], [0, lr_max, 0])[0]
    elif lr_type == 'flat':
        def lr_schedule(t):
            return lr_max
    else:
        raise ValueError('Unknown lr_type')
    monitor = gradmedic.watch(model, opt, every=every)  # gradmedic

    criterion = nn.CrossEntropyLoss()

    losses, accs = [], []
    lr = 0.0
    for epoch in range(epochs):
        train_loss = 0
        train_acc = 0
        train_n = 0
        for i, (X, y) in enumerate(train_loader):
            lr = lr_schedule(epoch + (i+1)/len(train_loader))
            opt.param_groups[0].update(lr=lr)

            # attack == 'fgsm'
            if random_start:
                delta = torch.zeros_like(X).uniform_(-epsilon, epsilon)
            else:  # the no-random-start variant: FGSM from delta = 0 (the "FGSM training" the paper improves on)
                delta = torch.zeros_like(X)
            delta.requires_grad = True
            output = model(X + delta)
            loss = F.cross_entropy(output, y)
            loss.backward()
            grad = delta.grad.detach()
            delta.data = torch.clamp(delta + alpha * torch.sign(grad), -epsilon, epsilon)
            delta.data = torch.max(torch.min(upper-X, delta.data), 0-X)  # upstream: 1-X
            delta = delta.detach()
            output = model(torch.clamp(X + delta, 0, upper))  # upstream: torch.clamp(X + delta, 0, 1)
            loss = criterion(output, y)
            if zero_grad:  # the no_zero_grad variant leaves this out
                opt.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            opt.step()

            train_loss += loss.item() * y.size(0)
            train_acc += (output.max(1)[1] == y).sum().item()
            train_n += y.size(0)
            losses.append(loss.item())
        accs.append(train_acc / train_n)
        if verbose and (epoch % 5 == 4 or epoch == epochs - 1):
            print(f"{epoch} \t {time.time() - t0:.1f} \t {lr:.4f} \t {train_loss/train_n:.4f} \t {train_acc/train_n:.4f}",
                  flush=True)
        # upstream: torch.save(model.state_dict(), args.fname) after every epoch
    monitor.close()

    # evaluate_mnist.py: the test set under attack 'none' and 'pgd' (its attack_pgd; 10 iterations of step epsilon/4
    # and one restart here, upstream 50 of 0.01 with 10 restarts)
    model.eval()
    torch.manual_seed(10_000 + seed)
    with torch.no_grad():
        out = model(Xte)
        clean_acc = float((out.max(1)[1] == yte).float().mean())
        clean_loss = float(F.cross_entropy(out, yte))
    rob_acc, rob_loss, n = 0.0, 0.0, 0
    for j in range(0, len(yte), 100):  # upstream: --batch-size 100
        X, y = Xte[j:j + 100], yte[j:j + 100]
        delta = attack_pgd(model, X, y, epsilon, epsilon / 4, pgd_iters, 1, upper)
        with torch.no_grad():
            output = model(X + delta)
            rob_loss += F.cross_entropy(output, y).item() * y.size(0)
            rob_acc += (output.max(1)[1] == y).sum().item()
            n += y.size(0)
    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": clean_acc, "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(robust_acc=rob_acc / n, robust_loss=rob_loss / n, clean_loss=clean_loss,
                          train_loss=float(np.mean(la[-20:])), first_loss=float(np.mean(la[:5])),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), train_acc=accs[-1], steps=len(la), epochs=epochs,
                          lr_max=lr_max, lr_mult=lr_mult, init_std=-1.0 if init_std is None else init_std,
                          upper=upper, zero_grad=zero_grad, batch_size=batch_size, lr_type=lr_type,
                          epsilon=epsilon, alpha=alpha, random_start=random_start, pgd_iters=pgd_iters,
                          test_images=len(yte)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="fastadv", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"fast FGSM training (mnist_net on 8x8 digits; FGSM with a random start, epsilon {EPSILON:g}, alpha {ALPHA:g}; "
      f"Adam, cyclic lr up to 5e-3, batch 100, {EPOCHS} epochs)")
CASES: list[dict] = (
    [_case(f"fastadv_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"fastadv_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: --lr-max x{k} ({5e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("fastadv_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: --lr-max /1000 (5e-06)")]
    + [_case(f"fastadv_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every Conv2d and Linear weight (PyTorch's default "
             f"U(+-1/sqrt(fan_in)) upstream; biases kept)") for s in (1, 2)]
    + [_case(f"fastadv_raw_pixels_s{s}", "unscaled_inputs", s, {"upper": 255.0},
             f"{_P}: pixels 0..255 (no ToTensor scaling), the clamps moved to [0, 255], epsilon and alpha unchanged")
       for s in (1, 2)]
    + [_case(f"fastadv_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: opt.zero_grad() left out before the training loss.backward(): the gradients accumulate, the "
             f"attack's parameter gradients with them") for s in (1, 2)]
    + [_case("fastadv_batch200_s1", "healthy", 1, {"batch_size": 200},
             f"{_P}: --batch-size 200 (expected harmless)")]
    + [_case("fastadv_lr_flat_s1", "healthy", 1, {"lr_type": "flat"},
             f"{_P}: --lr-type flat (lr 5e-3 throughout, upstream's other schedule; expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
