"""Zero to Mastery PyTorch's computer-vision notebook (``FashionMNISTModelV2``, a TinyVGG) on digits, watched by
gradmedic.

Adapted from https://github.com/mrdbourke/pytorch-deep-learning (commit baa27b691617461c173ecf3439793cd8cde74e13,
03_pytorch_computer_vision.ipynb, section 7 "Model 2: Building a Convolutional Neural Network"; MIT License,
Copyright (c) 2021 Daniel Bourke, see LICENSE-ztmvgg). Kept as in the notebook: ``FashionMNISTModelV2``
(``block_1``: Conv2d(1, 10, 3, stride 1, padding 1), ReLU, Conv2d(10, 10, 3, padding 1), ReLU, MaxPool2d(2);
``block_2`` the same with 10 input channels; ``classifier``: Flatten, Linear(10*7*7, 10)) with ``input_shape=1,
hidden_units=10, output_shape=10`` and PyTorch's default initialization (the notebook sets none); ``loss_fn =
nn.CrossEntropyLoss()``; ``torch.optim.SGD(params=model_2.parameters(), lr=0.1)`` (the optimizer kept, its rate
halved: below); ``BATCH_SIZE = 32`` with a shuffled training loader and an unshuffled test loader; ``train_step`` as
written (forward, loss, ``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``, the per-epoch mean
loss and accuracy; like the notebook it never calls ``model.train()``, which does nothing to this model) and
``test_step`` (``model.eval()``, ``torch.inference_mode()``, the per-batch mean test loss), once per epoch; inputs
in [0, 1] as ``ToTensor`` gives, with no ``Normalize`` (the notebook has none).

Changed, so it needs no download and no torchvision/tqdm/helper_functions: the data is scikit-learn's
``load_digits`` instead of Fashion-MNIST: the 8x8 images divided by 16 to [0, 1], bilinearly upsampled to 1x28x28
(Fashion-MNIST's shape, so the model's 10*7*7 classifier is unchanged), split 1437 / 360 (``train_test_split``,
random_state 0; ``digits28`` from mnist.py, its raw 0..255 values divided back by 255). The training loader shuffles
with a ``torch.Generator`` seeded with the run's seed, and the run's seed replaces the notebook's
``torch.manual_seed(42)``. EPOCHS (16) epochs of 45 steps (1437 images at batch 32; 720 steps) instead of the
notebook's 3 epochs of 1875 steps, so a run takes ~10-20 s on one CPU thread. The metric is the test accuracy after
the last epoch as a fraction of the 360 test images (the notebook's ``accuracy_fn`` averages per-batch percentages;
the mean test loss per batch is kept in ``extra``); the learning rate is 0.05 instead of the notebook's 0.1: at 0.1
seed 2 spiked after ~100 steps and collapsed to a constant prediction (loss 2.30, test accuracy 0.08 after 12
epochs) while seeds 1 and 3 reached 0.97-0.98, so the program as written is not reliably healthy on this small data
set; at 0.05 seeds 1-3 train to 0.91-0.98 in 12 epochs, and 16 epochs give margin. No printing of per-epoch lines
unless verbose, no timing helper, no plots.

The watch: ``gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is built,
``monitor.step(loss)`` after ``loss.backward()``, before ``optimizer.step()``, inside ``train_step``;
``monitor.close()`` after the last epoch.

``CASES`` (program "ztmvgg"): the program on seeds 1-3, and one change each against the same seed's healthy run:
lr x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) on every Conv2d and Linear weight instead of the default init;
raw 0..255 pixels (no ``ToTensor`` scaling; seeds 1 and 2); ``optimizer.zero_grad()`` left out of ``train_step``
(seeds 1 and 2).  The notebook does not clip, so there is no clipping case; the ReLUs removed is left out (a
linear model classifies digits well, so it is no failure here, and it has no cause in causes.py).  Labels come from
run.py's outcome rules only.
Recorded (cases-public16; 13 cases in 163 s, 9-14 s a run): healthy test accuracy 0.967, 0.975, 0.969 on seeds 1-3
(training loss 2.30 -> 0.02-0.05, largest loss 2.6-3.7); lr x10 (0.5) ends at 0.081 (loss stuck at 2.31), x100 (5)
at 0.108 and 0.100 on seeds 1 and 2 (loss 2.36), x1000 (50) at 0.111 (losses ~1e20-1e30 on the way, finite at the
end, 18.3), /1000 (5e-5) at 0.111 (loss 2.30 throughout): all broken; N(0, 1) weights give losses up to ~1e25 and
NaN (0.075): broken; zero_grad left out ends at 0.108 and 0.114 (loss 2.40, largest 4.5 and 2.7): broken on both
seeds; raw 0..255 pixels still train (start loss 2.36-2.69): 0.914 on seed 1 (largest loss 7.5, over 2x its
control's 2.6, and more than 3 points below 0.967): ambiguous, and 0.947 on seed 2 (within 3 points of 0.975,
largest loss 3.8): healthy.  The first recording, at the notebook's lr 0.1 for 12 epochs, had seed 2's healthy run
collapse to 0.081 (see above), so it was discarded and the rate halved.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from mnist import digits28
from torch import nn

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("monitor.step(loss) after loss.backward() (CrossEntropyLoss on the logits, batch 32), before "
              "optimizer.step() (SGD lr 0.05), inside train_step")
EPOCHS = 16
LR = 0.05  # the notebook's 0.1 halved (see the docstring)


# Create a convolutional neural network
class FashionMNISTModelV2(nn.Module):
    """
    Model architecture copying TinyVGG from:
    https://poloclub.github.io/cnn-explainer/
    """
    def __init__(self, input_shape: int, hidden_units: int, output_shape: int):
        super().__init__()
        self.block_1 = nn.Sequential(
            nn.Conv2d(in_channels=input_shape,
                      out_channels=hidden_units,
                      kernel_size=3,  # how big is the square that's going over the image?
                      stride=1,  # default
                      padding=1),  # options = "valid" (no padding) or "same" or int for specific number
            nn.ReLU(),
            nn.Conv2d(in_channels=hidden_units,
                      out_channels=hidden_units,
                      kernel_size=3,
                      stride=1,
                      padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2,
                         stride=2)  # default stride value is same as kernel_size
        )
        self.block_2 = nn.Sequential(
            nn.Conv2d(hidden_units, hidden_units, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(hidden_units, hidden_units, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(in_features=hidden_units * 7 * 7,
                      out_features=output_shape)
        )

    def forward(self, x: torch.Tensor):
        x = self.block_1(x)
        x = self.block_2(x)
        x = self.classifier(x)
        return x


def accuracy_fn(y_true, y_pred):
    """helper_functions.accuracy_fn: percentage of correct predictions."""
    correct = torch.eq(y_true, y_pred).sum().item()
    return (correct / len(y_pred)) * 100


def train_step(model, data_loader, loss_fn, optimizer, accuracy_fn, monitor, losses, zero_grad=True):
    train_loss, train_acc = 0, 0
    for _batch, (X, y) in enumerate(data_loader):
        # 1. Forward pass
        y_pred = model(X)

        # 2. Calculate loss
        loss = loss_fn(y_pred, y)
        train_loss += loss.item()
        train_acc += accuracy_fn(y_true=y, y_pred=y_pred.argmax(dim=1))  # Go from logits -> pred labels

        # 3. Optimizer zero grad
        if zero_grad:  # the bug when False: the gradients accumulate
            optimizer.zero_grad()

        # 4. Loss backward
        loss.backward()
        monitor.step(loss)  # gradmedic

        # 5. Optimizer step
        optimizer.step()
        losses.append(loss.item())

    train_loss /= len(data_loader)
    train_acc /= len(data_loader)
    return train_loss, train_acc


def test_step(data_loader, model, loss_fn, accuracy_fn):
    test_loss, test_acc, correct, total = 0, 0, 0, 0
    model.eval()  # put model in eval mode
    with torch.inference_mode():
        for X, y in data_loader:
            test_pred = model(X)
            test_loss += loss_fn(test_pred, y).item()
            test_acc += accuracy_fn(y_true=y, y_pred=test_pred.argmax(dim=1))
            correct += (test_pred.argmax(dim=1) == y).sum().item()
            total += len(y)
        test_loss /= len(data_loader)
        test_acc /= len(data_loader)
    return test_loss, test_acc, correct / total


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init_std: float | None = None,
          zero_grad: bool = True, epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    train_data, test_data = digits28(raw_pixels=True)  # 0..255 values
    if not raw_pixels:  # ToTensor: [0, 1]; the bug when raw_pixels: the 0..255 values go straight in
        train_data = torch.utils.data.TensorDataset(train_data.tensors[0] / 255.0, train_data.tensors[1])
        test_data = torch.utils.data.TensorDataset(test_data.tensors[0] / 255.0, test_data.tensors[1])
    g = torch.Generator()
    g.manual_seed(seed)
    BATCH_SIZE = 32
    train_dataloader = torch.utils.data.DataLoader(train_data, batch_size=BATCH_SIZE, shuffle=True, generator=g)
    test_dataloader = torch.utils.data.DataLoader(test_data, batch_size=BATCH_SIZE, shuffle=False)

    model_2 = FashionMNISTModelV2(input_shape=1, hidden_units=10, output_shape=10)
    if init_std is not None:  # the bug: normal_(0, std) on every Conv2d and Linear weight instead of the default init
        for m in model_2.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, init_std)
    loss_fn = nn.CrossEntropyLoss()
    lr = LR * lr_mult
    optimizer = torch.optim.SGD(params=model_2.parameters(), lr=lr)
    monitor = gradmedic.watch(model_2, optimizer, every=every)
    losses: list[float] = []

    t0 = time.time()
    for epoch in range(epochs):
        train_loss, train_acc = train_step(model_2, train_dataloader, loss_fn, optimizer, accuracy_fn, monitor, losses,
                                           zero_grad=zero_grad)
        test_loss, test_acc, acc = test_step(test_dataloader, model_2, loss_fn, accuracy_fn)
        if verbose:
            print(f"epoch {epoch} train loss {train_loss:.5f} acc {train_acc:.2f}% | test loss {test_loss:.5f} "
                  f"acc {test_acc:.2f}% ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc), "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"test_loss": float(test_loss), "train_loss": float(np.mean(losses[-20:])),
                      "max_loss": float(np.nanmax(losses)) if np.isfinite(losses).any() else float("nan"),
                      "first_loss": float(np.mean(losses[:5])), "steps": len(losses), "lr": lr},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="ztmvgg", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"ztmvgg_healthy_s{s}", "healthy", s, {},
           f"unchanged (FashionMNISTModelV2 TinyVGG hidden 10, SGD lr {LR:g}, CrossEntropyLoss, batch 32, "
           f"inputs in [0, 1], {EPOCHS} epochs)", False) for s in (1, 2, 3)]
    + [_case(f"ztmvgg_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"SGD lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("ztmvgg_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "SGD lr /1000 (5e-05)")]
    + [_case("ztmvgg_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Conv2d and Linear weight instead of PyTorch's default "
             "(kaiming_uniform_, a=sqrt(5))")]
    + [_case(f"ztmvgg_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             "raw 0..255 pixel values: no ToTensor scaling to [0, 1]") for s in (1, 2)]
    + [_case(f"ztmvgg_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             "optimizer.zero_grad() left out of train_step: the gradients accumulate") for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = {"raw_pixels": lambda s: s == "1", "zero_grad": lambda s: s == "1", "seed": int,
                 "epochs": int}.get(k, float)(v)
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
