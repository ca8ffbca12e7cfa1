"""BinaryNet.pytorch's binarized MLP (main_mnist.py: BinarizeLinear, BatchNorm1d, Hardtanh), on 8x8 digits, watched by gradmedic.

Adapted from https://github.com/itayhubara/BinaryNet.pytorch (main_mnist.py and models/binarized_modules.py at commit
b99870af6e73992896ab5db5ea26b83d2adb1201, Dec 2019; the repository's newest commit, 80f6d4685510314a974889c1ca50a385431bb69f
"adding support for pytorch2", rewrote ``BinarizeLinear`` so that it no longer keeps ``weight.org`` and leaves
``input_b`` unset for the 784-wide first layer (an UnboundLocalError in main_mnist.py), while main_mnist.py still does
the ``.org`` dance: the older, working pair is ported, the one the repository's README and paper describe).  The
repository has no licence file and names no licence, so this port keeps to what is needed (no LICENSE-binarynet):
``Binarize``, ``BinarizeLinear``, main_mnist.py's ``Net``, its ``train`` and ``test``.
Kept as upstream: ``Binarize`` (deterministic: ``tensor.sign()``), ``BinarizeLinear`` (the layer's input binarized
through ``input.data`` unless it is the first layer, the real weights kept in ``weight.org`` and ``weight.data`` set to
their sign in every forward - the straight-through estimator: the gradient is taken at the binarized weights and
inputs, and Hardtanh's gradient cancels it outside [-1, 1]; ``bias.org`` reset to the bias every forward), ``Net``
(BinarizeLinear fc1 -> BatchNorm1d -> Hardtanh, fc2 -> BatchNorm1d -> Hardtanh, fc3 -> Dropout(0.5) -> BatchNorm1d ->
Hardtanh, nn.Linear fc4 -> LogSoftmax; widths 2048 * infl_ratio with infl_ratio 3; PyTorch's default inits),
``nn.CrossEntropyLoss()`` on the log-probabilities, ``optim.Adam(model.parameters(), lr=0.01)``, batch 64 with
shuffling, the loop (``optimizer.zero_grad()`` before the forward and again before ``loss.backward()``; then
``p.data.copy_(p.org)`` for every parameter with an ``org``, ``optimizer.step()``, ``p.org.copy_(p.data.clamp_(-1,
1))``), the schedule (lr x0.1 at epochs divisible by 40, applied in the loop at every batch of such an epoch and once
more after it; it never fires in the EPOCHS run here, as in any upstream run of fewer than 40 epochs), and ``test()``
(eval mode, the argmax of the log-probabilities; its accuracy is the metric).

Changed (each marked ``# upstream:`` in the code): the data is scikit-learn's ``load_digits`` (1797 8x8 images, 64
inputs, a stratified 80/20 split with random_state 0: 1437 training and 360 test images) in place of MNIST, scaled as
upstream scales MNIST: ``ToTensor``'s /255 becomes /16 (the digits' pixel range) and ``Normalize((0.1307,), (0.3081,))``
becomes the training images' own pixel mean and std (0.305, 0.378); the first-layer test ``input.size(1) != 784``
becomes ``!= 64``; the width base 2048 becomes WIDTH = 256 (768 units per hidden layer with infl_ratio 3, depth
kept), EPOCHS = 12 epochs of 23 batches instead of 100 of 938; the run's seed replaces ``--seed 1``; CPU only; the
per-10-batch training prints and the per-epoch test prints only with ``verbose``; ``Variable`` wrappers dropped (no-ops).

Knobs (one per variant): ``lr_mult`` scales Adam's lr; ``inputs`` "raw" feeds the pixels 0..16 unscaled (no /16, no
Normalize), ``input_scale`` multiplies the normalized inputs; ``bn=False`` takes the three BatchNorm1d layers out;
``zero_grad=False`` leaves both ``optimizer.zero_grad()`` calls out; ``org="none"`` leaves out the two loops over
``p.org`` around ``optimizer.step()`` (Adam then updates the binarized weights in ``p.data``, and the next forward
overwrites them with the sign of the never-updated ``weight.org``: the binarized layers' weights never change, only
the biases, the BatchNorms and fc4 learn), ``org="no_clamp"`` keeps the loops but drops ``.clamp_(-1, 1)`` (the real
weights drift past +-1); ``batch_size`` replaces 64.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()``, before the ``p.data.copy_(p.org)`` loop and
``optimizer.step()`` (so the weights it sees in the binarized layers are the +-1 signs, and their gradients are the
straight-through gradients at those signs); ``monitor.close()`` after the loop.  Metric "accuracy": test accuracy on
the 360 held-out digits (chance 0.10).

``CASES`` (program "binarynet"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10, x100 (seeds 1 and 2), x1000, /1000 (seeds 1 and 2), /10000 (added after /1000 came out ambiguous on
both seeds); the raw pixels 0..16 and the normalized inputs x100
(unscaled_inputs); the three BatchNorm1d layers removed (no_norm, seeds 1 and 2); both ``optimizer.zero_grad()``
left out (seeds 1 and 2); the ``.org`` loops left out (cause "no_gradient", the nearest: the straight-through
gradients never reach the real weights); and two changes expected harmless: batch 128 (cause "healthy") and lr x2
(cause "lr_high").  Labels come from run.py's outcome rules only.
Recorded (cases-public124; 14-25 s a run wall time on the shared 2-core machine, ~11 s of CPU): healthy test
accuracy 0.953, 0.922, 0.953 on seeds 1-3 (training loss 1.18-1.21 over the first 5 steps, 0.07-0.18 over the last
20; largest 2.3-2.4; every loss finite; the accuracy is above 0.92 from the first epoch on and moves by a few points
from epoch to epoch): healthy; lr x10 (0.1): 0.914 (losses up to 13.8, train loss 3.6; 3.9 points below): ambiguous;
lr x100 (1.0): 0.161 (seed 1) and 0.097 (seed 2), losses 160-380: broken; lr x1000 (10): 0.108, losses up to 6560:
broken; lr /1000 (1e-5): 0.858 and 0.842 (train loss 2.3 -> 1.2; the BatchNorms and fc4 still learn on the random
binary features): ambiguous; lr /10000 (1e-6): 0.281 (train loss 2.38 -> 2.19): broken; raw pixels 0..16: 0.947:
healthy; inputs x100: 0.939: healthy (the first BatchNorm1d takes the scale out); BatchNorms removed: 0.100 on both
seeds (train loss 2.5 -> 2.7): broken; zero_grad left out: 0.711 and 0.789 (train loss rising to 20-31, largest
69-95): broken; the .org loops left out: 0.964 (the binarized layers stay at their initial random signs; BatchNorms
and fc4 on those features suffice for 8x8 digits): healthy; batch 128: 0.933: healthy; lr x2: 0.969: healthy.
Labels: 8 healthy (3 programs, raw pixels, inputs x100, no .org loops, batch 128, lr x2), 8 broken, 3 ambiguous;
every run's losses were finite.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = optim.Adam(model.parameters(), lr=0.01); "
              "monitor.step(loss) right after loss.backward(), before the p.data.copy_(p.org) loop, optimizer.step() "
              "and p.org.copy_(p.data.clamp_(-1,1)) (the binarized layers' weights are their +-1 signs at that point)")

EPOCHS = 12  # upstream: --epochs 100
WIDTH = 256  # upstream: 2048 (times infl_ratio 3)
LR = 0.01
BATCH = 64
N_IN = 64  # upstream: 784 (28*28)


# --- models/binarized_modules.py (commit b99870af) ------------------------------------------------------------------

def Binarize(tensor, quant_mode='det'):
    if quant_mode == 'det':
        return tensor.sign()
    else:
        return tensor.add_(1).div_(2).add_(torch.rand(tensor.size()).add(-0.5)).clamp_(0, 1).round().mul_(2).add_(-1)


class BinarizeLinear(nn.Linear):

    def __init__(self, *kargs, **kwargs):
        super(BinarizeLinear, self).__init__(*kargs, **kwargs)  # noqa: UP008 (as upstream)

    def forward(self, input):

        if input.size(1) != N_IN:  # upstream: 784
            input.data = Binarize(input.data)
        if not hasattr(self.weight, 'org'):
            self.weight.org = self.weight.data.clone()
        self.weight.data = Binarize(self.weight.org)
        out = nn.functional.linear(input, self.weight)
        if self.bias is not None:
            self.bias.org = self.bias.data.clone()
            out += self.bias.view(1, -1).expand_as(out)

        return out


# --- main_mnist.py ------------------------------------------------------------------------------------------------

class Net(nn.Module):
    def __init__(self, width=WIDTH, bn=True):
        super(Net, self).__init__()  # noqa: UP008 (as upstream)
        self.infl_ratio = 3
        norm = nn.BatchNorm1d if bn else (lambda n: nn.Identity())  # the no_norm variant: the BatchNorms taken out
        self.fc1 = BinarizeLinear(N_IN, width * self.infl_ratio)  # upstream: BinarizeLinear(784, 2048*self.infl_ratio)
        self.htanh1 = nn.Hardtanh()
        self.bn1 = norm(width * self.infl_ratio)
        self.fc2 = BinarizeLinear(width * self.infl_ratio, width * self.infl_ratio)
        self.htanh2 = nn.Hardtanh()
        self.bn2 = norm(width * self.infl_ratio)
        self.fc3 = BinarizeLinear(width * self.infl_ratio, width * self.infl_ratio)
        self.htanh3 = nn.Hardtanh()
        self.bn3 = norm(width * self.infl_ratio)
        self.fc4 = nn.Linear(width * self.infl_ratio, 10)
        self.logsoftmax = nn.LogSoftmax(dim=1)  # upstream: nn.LogSoftmax() (the implicit dim is 1 for 2-D input)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        x = x.view(-1, N_IN)  # upstream: x.view(-1, 28*28)
        x = self.fc1(x)
        x = self.bn1(x)
        x = self.htanh1(x)
        x = self.fc2(x)
        x = self.bn2(x)
        x = self.htanh2(x)
        x = self.fc3(x)
        x = self.drop(x)
        x = self.bn3(x)
        x = self.htanh3(x)
        x = self.fc4(x)
        return self.logsoftmax(x)


def digits(inputs="normalized", input_scale=1.0):
    """upstream: datasets.MNIST with ToTensor() and Normalize((0.1307,), (0.3081,)); here load_digits, /16 and the
    training pixels' mean and std (the raw variant: the pixels 0..16 as they are)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = d.data.astype(np.float32)
    xtr, xte, ytr, yte = train_test_split(x, d.target, test_size=0.2, random_state=0, stratify=d.target)
    if inputs != "raw":
        xtr, xte = xtr / 16.0, xte / 16.0  # ToTensor: /255 for MNIST's bytes, /16 for the digits' 0..16
        mu, sd = float(xtr.mean()), float(xtr.std())  # MNIST's 0.1307, 0.3081 are its training pixels' mean and std
        xtr, xte = (xtr - mu) / sd, (xte - mu) / sd
    xtr, xte = xtr * input_scale, xte * input_scale  # the unscaled_inputs variant (x100)
    return (torch.tensor(xtr), torch.tensor(ytr, dtype=torch.long), torch.tensor(xte),
            torch.tensor(yte, dtype=torch.long))


def train(seed: int = 1, lr_mult: float = 1.0, inputs: str = "normalized", input_scale: float = 1.0, bn: bool = True,
          zero_grad: bool = True, org: str = "full", batch_size: int = BATCH, epochs: int = EPOCHS, width: int = WIDTH,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    torch.manual_seed(seed)  # upstream: torch.manual_seed(args.seed), --seed 1
    xtr, ytr, xte, yte = digits(inputs, input_scale)
    train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xtr, ytr), batch_size=batch_size,
                                               shuffle=True)
    test_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xte, yte), batch_size=1000, shuffle=True)

    model = Net(width=width, bn=bn)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=LR * lr_mult)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    losses: list[float] = []

    def train_epoch(epoch):  # upstream: def train(epoch)
        model.train()
        for batch_idx, (data, target) in enumerate(train_loader):
            if zero_grad:  # the no_zero_grad variant leaves this out (and the second call below)
                optimizer.zero_grad()
            output = model(data)
            loss = criterion(output, target)

            if epoch % 40 == 0:
                optimizer.param_groups[0]['lr'] = optimizer.param_groups[0]['lr'] * 0.1

            if zero_grad:
                optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            if org != "none":  # the org="none" variant leaves both loops out
                for p in list(model.parameters()):
                    if hasattr(p, 'org'):
                        p.data.copy_(p.org)
            optimizer.step()
            if org != "none":
                for p in list(model.parameters()):
                    if hasattr(p, 'org'):
                        if org == "no_clamp":  # the variant: the real weights are not clamped to [-1, 1]
                            p.org.copy_(p.data)
                        else:
                            p.org.copy_(p.data.clamp_(-1, 1))
            losses.append(float(loss.detach()))

            if verbose and batch_idx % 10 == 0:
                print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(  # noqa: UP032 (as upstream)
                    epoch, batch_idx * len(data), len(train_loader.dataset),
                    100. * batch_idx / len(train_loader), loss.item()))

    def test():
        model.eval()
        test_loss = 0
        correct = 0
        with torch.no_grad():
            for data, target in test_loader:
                output = model(data)
                test_loss += criterion(output, target).item()  # sum up batch loss
                pred = output.data.max(1, keepdim=True)[1]  # get the index of the max log-probability
                correct += int(pred.eq(target.data.view_as(pred)).cpu().sum())

        test_loss /= len(test_loader.dataset)
        if verbose:
            print('\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'.format(  # noqa: UP032 (as upstream)
                test_loss, correct, len(test_loader.dataset),
                100. * correct / len(test_loader.dataset)))
        return correct / len(test_loader.dataset), test_loss

    acc, test_loss = float("nan"), float("nan")
    for epoch in range(1, epochs + 1):
        train_epoch(epoch)
        acc, test_loss = test()
        if epoch % 40 == 0:
            optimizer.param_groups[0]['lr'] = optimizer.param_groups[0]['lr'] * 0.1
    monitor.close()

    la = np.array(losses)
    real = [p.org for p in model.parameters() if hasattr(p, 'org') and p.dim() == 2]
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc), "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(lr=LR * lr_mult, test_loss=float(test_loss), train_loss=float(np.mean(la[-20:])),
                          first_loss=float(np.mean(la[:5])),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), steps=len(la), epochs=epochs,
                          lr_mult=lr_mult, inputs=inputs, input_scale=input_scale, bn=bn, zero_grad=zero_grad,
                          org=org, batch_size=batch_size, width=width * 3,
                          max_abs_real_weight=float(max(float(w.abs().max()) for w in real))),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="binarynet", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"BinaryNet MLP (3 BinarizeLinear layers of {WIDTH * 3} with BatchNorm1d, Hardtanh, Dropout(0.5); nn.Linear "
      f"out, LogSoftmax; CrossEntropyLoss; Adam lr {LR:g}, batch {BATCH}, the .org copy/clamp around optimizer.step(); "
      f"{EPOCHS} epochs on 8x8 digits)")
CASES: list[dict] = (
    [_case(f"binarynet_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"binarynet_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case(f"binarynet_lr_div1000_s{s}", "lr_low", s, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 ({LR * 1e-3:g})")
       for s in (1, 2)]
    + [_case("binarynet_lr_div10000_s1", "lr_low", 1, {"lr_mult": 1e-4},
             f"{_P}: Adam lr /10000 ({LR * 1e-4:g}; added after lr /1000 came out ambiguous on both seeds)")]
    + [_case("binarynet_raw_pixels_s1", "unscaled_inputs", 1, {"inputs": "raw"},
             f"{_P}: the raw pixels 0..16 (no /16, no Normalize)")]
    + [_case("binarynet_inputs_x100_s1", "unscaled_inputs", 1, {"input_scale": 100.0},
             f"{_P}: the normalized inputs multiplied by 100")]
    + [_case(f"binarynet_no_bn_s{s}", "no_norm", s, {"bn": False},
             f"{_P}: the three BatchNorm1d layers taken out (fc -> Hardtanh directly)") for s in (1, 2)]
    + [_case(f"binarynet_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: both optimizer.zero_grad() calls left out (the gradients accumulate)") for s in (1, 2)]
    + [_case("binarynet_no_org_s1", "no_gradient", 1, {"org": "none"},
             f"{_P}: the p.data.copy_(p.org) and p.org.copy_(p.data.clamp_(-1,1)) loops left out: Adam updates the "
             f"binarized weights and the next forward overwrites them with the sign of the never-updated weight.org, so "
             f"the three binarized layers' weights never change (biases, BatchNorms and fc4 still learn)")]
    + [_case("binarynet_batch128_s1", "healthy", 1, {"batch_size": 128},
             f"{_P}: batch 128 instead of 64 (expected harmless)")]
    + [_case("binarynet_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: Adam lr x2 ({LR * 2:g}; expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(**kw)
    print({k: v for k, v in r.items() if k != "monitors"})
