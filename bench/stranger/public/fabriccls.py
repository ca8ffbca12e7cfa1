"""Lightning Fabric's image classifier example (Net, Adadelta lr 1.0, StepLR gamma 0.7, run with ``Fabric``),
watched by gradmedic.

Adapted from https://github.com/Lightning-AI/pytorch-lightning (commit 17c3d0bc8af7179d187457bd9f3ba34d57240fbb,
examples/fabric/image_classifier/train_fabric.py; Apache-2.0, Copyright The Lightning AI team, see
LICENSE-fabriccls), run with the installed ``lightning`` (2.6.6 when recorded) and ``torchmetrics`` (1.9.0).
Kept as in the example: ``Net`` (copied below: two 3x3 convs 1->32->64, ReLU, max-pool, Dropout(0.25), fc1 9216
-> 128, ReLU, Dropout(0.5), fc2 128 -> 10, ``F.log_softmax``), PyTorch's default init, ``F.nll_loss``,
``optim.Adadelta(model.parameters(), lr=1.0)``, ``model, optimizer = fabric.setup(model, optimizer)``,
``StepLR(optimizer, step_size=1, gamma=0.7)`` stepped per epoch, ``fabric.setup_dataloaders`` on the train and
test ``DataLoader``s (batch 64 both, no shuffling, as in the example), the loop (``optimizer.zero_grad()``,
``output = model(data)``, ``loss = F.nll_loss(output, target)``, ``fabric.backward(loss)``, ``optimizer.step()``),
the test loop with torchmetrics' ``Accuracy(task="multiclass", num_classes=10)`` and the summed test nll_loss
``fabric.all_gather``-ed, ``seed_everything(seed)``, the transform's ``Normalize((0.1307,), (0.3081,))``
(MNIST's statistics, used as the example uses them) after ``ToTensor``'s [0, 1] scaling.

Changed to run offline on one CPU thread without torchvision (which does not import here): the data is
scikit-learn's ``load_digits`` (1797 8x8 images, 0..16) split 80/20 (random_state=0: 1437 train, 360 test),
scaled to [0, 1] by /16 (ToTensor's /255) and upsampled to 28x28 with ``F.interpolate(mode="bilinear")`` (as
mnist.py does) so that fc1's 9216 inputs are unchanged, then normalized with (0.1307, 0.3081) as the example's
transform does; ``Fabric(accelerator="cpu", devices=1)`` instead of the CLI-configured ``Fabric()`` (the
example's ``fabric run`` launcher is not used); 4 epochs (the example's default 14) of 23 steps (92 optimizer
steps), so a run takes about 10-20 s; no per-batch printing, no ``rank_zero_first`` download, no checkpoint.

The watch: ``gradmedic.watch(model, optimizer, every=10)`` on the Fabric-wrapped ``_FabricModule`` and
``_FabricOptimizer`` that ``fabric.setup`` returns (the objects the example's loop uses), right after
``fabric.setup``; ``monitor.step(loss)`` after ``fabric.backward(loss)``, before ``optimizer.step()``.

Metric: the last epoch's test accuracy by torchmetrics' ``Accuracy`` over the 360 held-out digits (chance 0.1);
the training loss (first 5 and last 20 steps) and the last test loss in ``extra``.

``CASES``: the program on seeds 1-3, and one change each against the same seed's healthy run: Adadelta lr x10,
x100 (seeds 1 and 2), x1000 and /1000; N(0, 1) weights on every Conv2d and Linear (biases kept); raw 0..255 pixels
(no ToTensor scaling, no Normalize) for train and test; ``F.log_softmax`` removed from ``Net.forward`` (so
``F.nll_loss`` gets raw logits: a wrong loss); ``optimizer.zero_grad()`` left out (the gradients accumulate).

Recorded (cases-public18, 276 s for the 12 runs, 9-35 s each with the cores shared): healthy 0.975 / 0.967 /
0.969 on seeds 1-3 (training loss 2.67 -> 0.31 on seed 1); lr x10 (10) 0.886, ambiguous (not clearly worse,
below 0.9; losses up to 165 on the way); lr x100 (100) 0.083 on seeds 1 and 2, x1000 0.081 and /1000 (0.001) 0.194,
broken; N(0, 1) init 0.764, broken (first losses ~5.5e4); raw 0..255 pixels 0.969, ambiguous (as accurate as the
program, but its losses reach 233, over twice the control's largest 4.07); log_softmax removed 0.097, broken;
no zero_grad 0.839, broken (last training loss 1.08 against 0.31).
"""

from __future__ import annotations

import contextlib
import io
import logging
import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("gradmedic.watch on the Fabric-wrapped model and optimizer (fabric.setup's _FabricModule and "
              "_FabricOptimizer); monitor.step(loss) after fabric.backward(loss) (F.nll_loss), before optimizer.step()")


class Net(nn.Module):
    def __init__(self, log_softmax: bool = True) -> None:  # added: log_softmax (False: the no_log_softmax bug)
        super().__init__()
        self.log_softmax = log_softmax
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
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
        return F.log_softmax(x, dim=1) if self.log_softmax else x  # changed only for the no_log_softmax case


def _digits(raw_pixels: bool = False):
    """(train, test) TensorDatasets of digits upsampled to 1x28x28: ToTensor + Normalize((0.1307,), (0.3081,)),
    or raw 0..255 values (the bug)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)

    def up(x):
        x = torch.tensor(x, dtype=torch.float32)[:, None] / 16.0  # ToTensor: [0, 1]
        x = F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False).clamp(0, 1)
        if raw_pixels:  # the bug: 0..255 pixel values, no ToTensor scaling, no Normalize
            return x * 255.0
        return (x - 0.1307) / 0.3081  # T.Normalize((0.1307,), (0.3081,))

    return (torch.utils.data.TensorDataset(up(xtr), torch.tensor(ytr)),
            torch.utils.data.TensorDataset(up(xte), torch.tensor(yte)))


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, raw_pixels: bool = False,
          log_softmax: bool = True, zero_grad: bool = True, epochs: int = 4, batch_size: int = 64, every: int = 10,
          verbose: bool = False) -> dict:
    from lightning.fabric import Fabric, seed_everything
    from torchmetrics.classification import Accuracy

    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    for name in ("lightning", "lightning.fabric", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    fabric = Fabric(accelerator="cpu", devices=1)  # changed: the example's Fabric() takes these from `fabric run`
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seed_everything(seed, verbose=False)

    train_dataset, test_dataset = _digits(raw_pixels)
    train_loader = torch.utils.data.DataLoader(train_dataset, batch_size=batch_size)
    test_loader = torch.utils.data.DataLoader(test_dataset, batch_size=batch_size)
    train_loader, test_loader = fabric.setup_dataloaders(train_loader, test_loader)

    model = Net(log_softmax=log_softmax)
    if init_std is not None:  # the bug: every Conv2d and Linear weight ~ N(0, init_std^2) (biases kept)
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, std=init_std)
    lr = 1.0 * lr_mult
    optimizer = optim.Adadelta(model.parameters(), lr=lr)
    model, optimizer = fabric.setup(model, optimizer)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic, on the Fabric-wrapped objects
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    test_acc = Accuracy(task="multiclass", num_classes=10).to(fabric.device)

    losses: list[float] = []
    t0 = time.time()
    acc, test_loss = float("nan"), float("nan")
    for epoch in range(1, epochs + 1):
        model.train()
        for data, target in train_loader:  # (the example enumerates for its batch_idx log lines, dropped here)
            if zero_grad:  # (the no_zero_grad case leaves it out)
                optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            fabric.backward(loss)
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()

        model.eval()
        test_loss = 0
        with torch.no_grad():
            for data, target in test_loader:
                output = model(data)
                test_loss += F.nll_loss(output, target, reduction="sum").item()
                test_acc(output, target)
        test_loss = float(fabric.all_gather(test_loss).sum() / len(test_loader.dataset))
        acc = float(test_acc.compute())
        test_acc.reset()
        if verbose:
            print(f"epoch {epoch} train {np.mean(losses[-10:]):.4f} test {test_loss:.4f} acc {acc:.3f} "
                  f"{time.time() - t0:.1f}s", flush=True)
    monitor.close()
    tl = np.asarray(losses, dtype=float)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc, "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"first_loss": float(np.mean(tl[:5])), "last_loss": float(np.mean(tl[-20:])),
                      "test_loss": test_loss, "steps": len(tl), "lr": lr, "train_images": len(train_dataset),
                      "test_images": len(test_dataset)},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="fabriccls", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


CASES: list[dict] = (
    [_case(f"fabriccls_healthy_s{s}", "healthy", s, {}, "unchanged (Adadelta lr 1.0, StepLR 0.7, nll_loss on "
           "log_softmax, Normalize((0.1307,), (0.3081,)), batch 64; 4 epochs of 23 steps)", False) for s in (1, 2, 3)]
    + [_case(f"fabriccls_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adadelta lr x{k} ({k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("fabriccls_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adadelta lr /1000 (0.001)")]
    + [_case("fabriccls_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Conv2d and Linear weight instead of PyTorch's default "
             "kaiming-uniform (biases kept)")]
    + [_case("fabriccls_raw_pixels_s1", "unscaled_inputs", 1, {"raw_pixels": True},
             "raw 0..255 pixel values for train and test: no ToTensor scaling, no Normalize")]
    + [_case("fabriccls_no_log_softmax_s1", "wrong_loss", 1, {"log_softmax": False},
             "F.log_softmax removed from Net.forward: F.nll_loss on the raw logits (-logit of the target)")]
    + [_case("fabriccls_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             "optimizer.zero_grad() left out of the training loop: the gradients accumulate")]
)


if __name__ == "__main__":
    import sys
    r = train(verbose=True, **({"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}))
    print({k: v for k, v in r.items() if k != "monitors"})
