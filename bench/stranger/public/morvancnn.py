"""MorvanZhou/PyTorch-Tutorial's CNN digit classifier (401_CNN.py), watched by gradmedic.

Adapted from https://github.com/MorvanZhou/PyTorch-Tutorial (commit dbe154a9e56635e51c6b0c2ccea8ae36cfb585a7,
tutorial-contents/401_CNN.py as last changed in 4e5122c3734dcdc9ace164c2a87fbd412ca1d431; MIT License, Copyright
(c) 2017, see LICENSE-morvancnn).

Kept as in the original: ``CNN`` (``conv1``: Conv2d(1, 16, 5, 1, 2), ReLU, MaxPool2d(2); ``conv2``: Conv2d(16, 32,
5, 1, 2), ReLU, MaxPool2d(2); ``out``: Linear(32 * 7 * 7, 10); ``forward`` returns ``(output, x)``), PyTorch's
default initialization (upstream sets none), BATCH_SIZE = 50 with a shuffled training loader, Adam LR = 0.001,
``nn.CrossEntropyLoss``, inputs in [0, 1] as ``ToTensor`` gives them (no Normalize, as upstream), the loop
(``output = cnn(b_x)[0]``, loss, ``zero_grad``, ``backward``, ``step``; no clipping), the test accuracy by
``torch.max(test_output, 1)[1]`` on the held-out images (no ``eval()``: the net has no dropout or batch norm).

Changed to run offline on one CPU thread in ~10-20 s a run: MNIST (torchvision does not import here) is mnist.py's
``digits28(raw_pixels=True)`` divided by 255 as ``ToTensor`` does (scikit-learn's ``load_digits`` split 80/20 with
random_state=0, upsampled bilinearly to 28x28: 1437 training and 360 test images, the whole test set instead of 2000
of MNIST's); EPOCH = 10 instead of upstream's 1 (upstream's one epoch is 1200 steps on MNIST's 60000 images; one
epoch of the 1437 digits is 29 steps and ends at 0.82 test accuracy on seed 1, training loss still 1.48; 3 epochs
reach 0.96; 10 epochs, 290 steps, let it finish learning); ``torch.manual_seed(seed)`` (upstream has
``torch.manual_seed(1)`` commented out) and the shuffle seeded by a ``torch.Generator``; the test accuracy only
after training (upstream prints it every 50 steps, with a t-SNE plot); no MNIST plots, no t-SNE, no printed
predictions; CPU only. The variants' bugs (``lr_mult``, ``raw_pixels``, ``init_std``, ``zero_grad``,
``softmax_output``) as in ``train``'s docstring.

The watch, as a user would: ``monitor = gradmedic.watch(cnn, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the loop.

``CASES`` (program "morvancnn", name prefix mcnn): the program on seeds 1-3, and one change each against the same
seed's healthy run: Adam lr x10, x100 (seeds 1 and 2), x1000, /1000; raw 0..255 pixels (no ``ToTensor`` scaling;
seeds 1 and 2); N(0, 1) on every Conv2d and Linear weight; ``optimizer.zero_grad()`` left out; a softmax before
``nn.CrossEntropyLoss``.  Upstream does not clip, so there is no clipping case.  Labels come from run.py's outcome
rules only.
Recorded (cases-public22; 13 cases in 124 s, 4-23 s a run on a shared 2-core machine): healthy test accuracy 0.975,
0.972, 0.978 on seeds 1-3 (training loss from 2.29 to 0.03-0.05, largest loss 2.31-2.32); lr x10 (0.01) 0.981
(largest loss 4.35): healthy; lr x100 (0.1) 0.097 on both seeds (training loss 2.31-2.32 after losses up to 270-446),
x1000 (1.0) 0.111 (peak loss 3.6e5), /1000 (1e-6) 0.172 (loss still 2.30): all broken; raw 0..255 pixels 0.983 and
0.986 (training loss 0.001-0.003, but starting at 11-26 with peaks of 13-35): ambiguous on both seeds (as good or
better than the control, its largest loss far above 2x the control's); N(0, 1) on every weight 0.744 (losses in the
thousands at the start, 40 at the end): broken; no zero_grad 0.103 (training loss 2.16, peak 10.9): broken; a
softmax before CrossEntropyLoss 0.878 (training loss 1.58: the doubled softmax's loss cannot fall below 1.46):
ambiguous (under the 0.9 bar, but 9.7 points below the control, short of the 10 that make it clearly worse).
"""

# upstream's code is kept as written (super(Class, self), the loop's step counter)
# ruff: noqa: UP008, B007

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.data as Data
from mnist import digits28

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(cnn, optimizer, every=10) right after the Adam is built; monitor.step(loss) right after "
              "loss.backward(), before optimizer.step() (no clipping)")

# Hyper Parameters
EPOCH = 10              # upstream: 1 epoch of MNIST (1200 steps); here 10 epochs of 29 steps
BATCH_SIZE = 50
LR = 0.001              # learning rate


class CNN(nn.Module):
    def __init__(self, softmax_output=False):
        super(CNN, self).__init__()
        self.conv1 = nn.Sequential(         # input shape (1, 28, 28)
            nn.Conv2d(
                in_channels=1,              # input height
                out_channels=16,            # n_filters
                kernel_size=5,              # filter size
                stride=1,                   # filter movement/step
                padding=2,                  # padding=(kernel_size-1)/2 if stride=1
            ),                              # output shape (16, 28, 28)
            nn.ReLU(),                      # activation
            nn.MaxPool2d(kernel_size=2),    # choose max value in 2x2 area, output shape (16, 14, 14)
        )
        self.conv2 = nn.Sequential(         # input shape (16, 14, 14)
            nn.Conv2d(16, 32, 5, 1, 2),     # output shape (32, 14, 14)
            nn.ReLU(),                      # activation
            nn.MaxPool2d(2),                # output shape (32, 7, 7)
        )
        self.out = nn.Linear(32 * 7 * 7, 10)   # fully connected layer, output 10 classes
        self.softmax_output = softmax_output

    def forward(self, x):
        x = self.conv1(x)
        x = self.conv2(x)
        x = x.view(x.size(0), -1)           # flatten the output of conv2 to (batch_size, 32 * 7 * 7)
        output = self.out(x)
        if self.softmax_output:  # the bug: probabilities fed to nn.CrossEntropyLoss, which expects logits
            output = F.softmax(output, dim=1)
        return output, x    # return x for visualization


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init_std: float | None = None,
          zero_grad: bool = True, softmax_output: bool = False, epochs: int = EPOCH, every: int = 10,
          verbose: bool = False) -> dict:
    """401_CNN.py with one change per keyword: ``lr_mult`` multiplies Adam's LR; ``raw_pixels`` feeds the 0..255
    values (no ``ToTensor`` scaling); ``init_std``: ``normal_(0, init_std)`` on every Conv2d and Linear weight
    (biases kept); ``zero_grad=False`` leaves ``optimizer.zero_grad()`` out (the gradients accumulate);
    ``softmax_output`` ends ``forward`` with ``F.softmax(output, dim=1)`` before ``nn.CrossEntropyLoss``."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    torch.manual_seed(seed)
    t0 = time.time()

    # Mnist digits dataset -> scikit-learn's digits upsampled to 28x28, as ToTensor gives them: [0, 1]
    d_train, d_test = digits28(raw_pixels=True)  # 0..255
    scale = 1.0 if raw_pixels else 255.  # the bug: raw 0..255 pixel values, no ToTensor scaling
    train_data = Data.TensorDataset(d_train.tensors[0] / scale, d_train.tensors[1])
    g = torch.Generator()
    g.manual_seed(seed)
    # Data Loader for easy mini-batch return in training, the image batch shape will be (50, 1, 28, 28)
    train_loader = Data.DataLoader(dataset=train_data, batch_size=BATCH_SIZE, shuffle=True, generator=g)
    test_x = d_test.tensors[0] / scale   # shape (360, 1, 28, 28), value in range(0,1)
    test_y = d_test.tensors[1]

    cnn = CNN(softmax_output)
    if init_std is not None:  # the bug: normal_(0, std) on every Conv2d and Linear weight, biases kept
        for m in cnn.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, init_std)

    lr = LR * lr_mult
    optimizer = torch.optim.Adam(cnn.parameters(), lr=lr)   # optimize all cnn parameters
    monitor = gradmedic.watch(cnn, optimizer, every=every)  # gradmedic
    loss_func = nn.CrossEntropyLoss()                       # the target label is not one-hotted

    losses = []
    # training and testing
    for epoch in range(epochs):
        for step, (b_x, b_y) in enumerate(train_loader):   # gives batch data

            output = cnn(b_x)[0]               # cnn output
            loss = loss_func(output, b_y)   # cross entropy loss
            if zero_grad:  # the bug when False: the gradients of every step accumulate
                optimizer.zero_grad()           # clear gradients for this training step
            loss.backward()                 # backpropagation, compute gradients
            monitor.step(loss)              # gradmedic
            optimizer.step()                # apply gradients
            losses.append(loss.item())
        if verbose:
            print(f"Epoch: {epoch} | train loss: {np.mean(losses[-step - 1:]):.4f} ({time.time() - t0:.1f}s)",
                  flush=True)
    monitor.close()

    with torch.no_grad():
        test_output, last_layer = cnn(test_x)
    pred_y = torch.max(test_output, 1)[1].data.numpy()
    accuracy = float((pred_y == test_y.data.numpy()).astype(int).sum()) / float(test_y.size(0))
    if verbose:
        print(f"test accuracy: {accuracy:.4f}")
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(accuracy), "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"train_loss": float(np.mean(losses[-20:])), "initial_train_loss": float(np.mean(losses[:5])),
                      "steps": len(losses), "epochs": epochs, "lr": lr, "test_images": int(test_y.size(0))},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="morvancnn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_W = ("401_CNN (Conv 1->16->32 5x5, MaxPool, Linear(1568, 10), Adam lr 0.001, CrossEntropyLoss, batch 50, inputs "
      "in [0, 1]; 10 epochs of 29 steps)")
CASES: list[dict] = (
    [_case(f"mcnn_healthy_s{s}", "healthy", s, {}, f"{_W}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"mcnn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_W}: Adam lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("mcnn_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_W}: Adam lr /1000 (1e-06)")]
    + [_case(f"mcnn_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             f"{_W}: raw 0..255 pixel values (no ToTensor scaling)") for s in (1, 2)]
    + [_case("mcnn_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_W}: nn.init.normal_(std=1.0) on every Conv2d and Linear weight instead of PyTorch's default "
             "kaiming-uniform (biases kept)")]
    + [_case("mcnn_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_W}: optimizer.zero_grad() left out of the loop: the gradients accumulate")]
    + [_case("mcnn_softmax_ce_s1", "wrong_loss", 1, {"softmax_output": True},
             f"{_W}: forward ends with F.softmax(output, dim=1), fed to nn.CrossEntropyLoss (a softmax twice)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
