"""Udacity deep-learning-v2-pytorch, intro-to-pytorch Part 5 (Classifier 784-256-128-64-10 with dropout), on digits.

Adapted from https://github.com/udacity/deep-learning-v2-pytorch (commit
c9404fc86181fc3f0906b368697268257f348535, "intro-to-pytorch/Part 5 - Inference and Validation (Solution).ipynb",
last changed in 90c81cfcacc7980012b99ec3a27deb95c6f8c7e2; MIT License, Copyright (c) 2018 Udacity, see
LICENSE-udmlp), the notebook's last training cells (the dropout model).  Kept as in the notebook: ``Classifier``
(``fc1`` Linear(784, 256), ``fc2`` Linear(256, 128), ``fc3`` Linear(128, 64), ``fc4`` Linear(64, 10);
``forward`` flattens with ``x.view(x.shape[0], -1)``, ``self.dropout(F.relu(...))`` with ``nn.Dropout(p=0.2)``
after the first three, ``F.log_softmax(self.fc4(x), dim=1)`` out), PyTorch's default initialization (the notebook
sets none), ``nn.NLLLoss()``, ``optim.Adam(model.parameters(), lr=0.003)``, batch 64 with both loaders shuffled
(``shuffle=True`` on the train and the test loader, as upstream), the transforms ``ToTensor()`` then
``Normalize((0.5,), (0.5,))`` (pixels to [-1, 1]), and the loop: per batch ``optimizer.zero_grad()``, ``log_ps =
model(images)``, ``loss = criterion(log_ps, labels)``, ``loss.backward()``, ``optimizer.step()``; after each
epoch the validation pass under ``torch.no_grad()`` with ``model.eval()`` (test loss, ``ps = torch.exp(log_ps)``,
``ps.topk(1, dim=1)``, ``accuracy += torch.mean(equals.type(torch.FloatTensor))``), then ``model.train()``.  The
metric is the last epoch's test accuracy as the notebook prints it (``accuracy / len(testloader)``, the mean of the
per-batch accuracies); the exact fraction correct is in ``extra``.

Changed to run offline on one CPU thread: Fashion-MNIST (a download) is scikit-learn's ``load_digits`` (no
torchvision): the 8x8 images divided by 16 to [0, 1] (as ``ToTensor`` does to 0..255 pixels), bilinearly upsampled
to 1x28x28 so the Classifier is unchanged, then ``(x - 0.5) / 0.5`` as the notebook's Normalize; split 1437 / 360
into train and test (``train_test_split``, random_state 0).  The loaders are plain ``DataLoader``s over
``TensorDataset``s (same batch size and shuffling).  The same 30 epochs as the notebook (23 batches each, 690 steps,
instead of 938 an epoch over Fashion-MNIST's 60000), so a run takes ~9-20 s.  ``torch.manual_seed(seed)`` added (the
notebook sets no seed); the printing is kept only under ``verbose``; the plots and the ``helper.view_classify``
cell are left out.

The watch: ``gradmedic.watch(model, optimizer, every=10)`` right after the criterion and optimizer are built,
``monitor.step(loss)`` after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the last
epoch.

``CASES`` (program "udmlp"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) on every Linear weight; raw 0..255 pixel values (no
``ToTensor`` scaling, no ``Normalize``); ``F.softmax`` instead of ``F.log_softmax`` before ``nn.NLLLoss`` (the loss
is then minus the probability; seeds 1 and 2); ``optimizer.zero_grad()`` left out.  The notebook does not clip, so
there is no clipping case; ``model.eval()`` left on after validation only switches dropout off and is not recorded.
Labels come from run.py's outcome rules only.
Recorded (cases-public18; 13 cases in 153 s, 8-14 s a run on a shared 2-core machine): healthy test accuracy 0.973,
0.977, 0.966 on seeds 1-3 (training loss 2.19-2.22 at the start, 0.04-0.07 at the end, largest loss 2.30-2.32); lr
x10 (0.03) 0.509 (training loss 1.54, peak 17.8): broken; lr x100 (0.3) 0.112 and 0.077 (losses in the tens of
thousands early, back to 2.32-2.33) and x1000 (3.0) 0.109 (peak loss 4.6e8, still 1e5 at the end): broken; /1000
(3e-6) 0.564 (loss 2.30 -> 2.23): broken; N(0, 1) weights start at a loss of ~1.8e4 (peak 2.3e4) and end at 0.949
(training loss 103): ambiguous (a good accuracy, but 2.4 points down and its largest loss far above 2x the
control's); raw 0..255 pixels 0.956 (start loss 12.3, peak 15.4, final 0.30): ambiguous (largest loss above 2x the
control's); softmax before NLLLoss (loss -p, from -0.12 to -0.93/-0.96) ends at 0.932 on seed 1 (4.1 points down:
ambiguous) and 0.963 on seed 2 (1.4 points down: healthy); no zero_grad 0.077 (training loss 2.37 after a peak of
18.3): broken.
"""

from __future__ import annotations

import random
import time

import numpy as np
import torch
import torch.nn.functional as F
from bmlp import digits28  # (train, test) images 1x28x28 in [0, 1], as ToTensor gives, and their labels
from torch import nn, optim

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("monitor.step(loss) after loss.backward() (nn.NLLLoss on the log_softmax output, batch 64), before "
              "optimizer.step() (optimizer.zero_grad() comes before the forward, the notebook's order)")

EPOCHS = 30
BATCH_SIZE = 64


class Classifier(nn.Module):
    def __init__(self, softmax_out=False):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 128)
        self.fc3 = nn.Linear(128, 64)
        self.fc4 = nn.Linear(64, 10)

        # Dropout module with 0.2 drop probability
        self.dropout = nn.Dropout(p=0.2)
        self.softmax_out = softmax_out

    def forward(self, x):
        # make sure input tensor is flattened
        x = x.view(x.shape[0], -1)

        # Now with dropout
        x = self.dropout(F.relu(self.fc1(x)))
        x = self.dropout(F.relu(self.fc2(x)))
        x = self.dropout(F.relu(self.fc3(x)))

        # output so no dropout here
        if self.softmax_out:  # the bug: probabilities where NLLLoss expects log-probabilities
            return F.softmax(self.fc4(x), dim=1)
        x = F.log_softmax(self.fc4(x), dim=1)

        return x



def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, raw_pixels: bool = False,
          softmax_out: bool = False, zero_grad: bool = True, epochs: int = EPOCHS, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)

    xtr, ytr, xte, yte = digits28()
    if raw_pixels:  # the bug: raw 0..255 pixel values, no ToTensor scaling and no Normalize
        xtr, xte = xtr * 255.0, xte * 255.0
    else:  # transforms.Normalize((0.5,), (0.5,))
        xtr, xte = (xtr - 0.5) / 0.5, (xte - 0.5) / 0.5
    trainloader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xtr, ytr), batch_size=BATCH_SIZE,
                                              shuffle=True)
    testloader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xte, yte), batch_size=BATCH_SIZE,
                                             shuffle=True)

    model = Classifier(softmax_out=softmax_out)
    if init_std is not None:  # the bug: normal_(0, std) on every Linear weight instead of the default init
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, init_std)
    lr = 0.003 * lr_mult
    criterion = nn.NLLLoss()
    optimizer = optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)

    t0 = time.time()
    losses: list[float] = []
    train_losses, test_losses = [], []
    accuracy = exact = torch.tensor(float("nan"))
    for e in range(epochs):
        running_loss = 0
        for images, labels in trainloader:

            if zero_grad:  # the bug when False: the gradients accumulate across steps
                optimizer.zero_grad()

            log_ps = model(images)
            loss = criterion(log_ps, labels)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()

            running_loss += loss.item()
            losses.append(loss.item())

        else:
            test_loss = 0
            accuracy = 0
            correct = 0

            # Turn off gradients for validation, saves memory and computations
            with torch.no_grad():
                model.eval()
                for images, labels in testloader:
                    log_ps = model(images)
                    test_loss += criterion(log_ps, labels)

                    ps = torch.exp(log_ps)
                    top_p, top_class = ps.topk(1, dim=1)
                    equals = top_class == labels.view(*top_class.shape)
                    accuracy += torch.mean(equals.type(torch.FloatTensor))
                    correct += int(equals.sum())

            model.train()

            train_losses.append(running_loss / len(trainloader))
            test_losses.append(float(test_loss / len(testloader)))
            exact = correct / len(testloader.dataset)

            if verbose and ((e + 1) % 5 == 0 or e == 0):
                print(f"Epoch: {e + 1}/{epochs}.. ",
                      f"Training Loss: {train_losses[-1]:.3f}.. ",
                      f"Test Loss: {test_losses[-1]:.3f}.. ",
                      f"Test Accuracy: {accuracy / len(testloader):.3f}",
                      f"({time.time() - t0:.1f}s)", flush=True)

    monitor.close()
    value = float(accuracy / len(testloader))
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": value, "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"test_loss": test_losses[-1], "exact_test_acc": float(exact),
                      "train_loss": float(np.mean(losses[-20:])), "train_loss_start": float(np.mean(losses[:5])),
                      "steps": len(losses), "lr": lr, "loss_max": float(np.max(losses)),
                      "loss_min": float(np.min(losses))},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="udmlp", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_H = ("unchanged (Classifier 784-256-128-64-10, ReLU, dropout 0.2, log_softmax, default init, NLLLoss, Adam lr "
      f"0.003, batch 64 shuffled, {EPOCHS} epochs = {EPOCHS * 23} steps, inputs Normalize((0.5,), (0.5,)) to [-1, 1])")
CASES: list[dict] = (
    [_case(f"udmlp_healthy_s{s}", "healthy", s, {}, _H, False) for s in (1, 2, 3)]
    + [_case(f"udmlp_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({0.003 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("udmlp_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (3e-06)")]
    + [_case("udmlp_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Linear weight instead of PyTorch's default (kaiming_uniform_, "
             "a=sqrt(5)); biases kept")]
    + [_case("udmlp_raw_pixels_s1", "unscaled_inputs", 1, {"raw_pixels": True},
             "raw 0..255 pixel values: no ToTensor scaling to [0, 1] and no Normalize((0.5,), (0.5,))")]
    + [_case(f"udmlp_softmax_nll_s{s}", "wrong_loss", s, {"softmax_out": True},
             "F.softmax instead of F.log_softmax at the output, before nn.NLLLoss (the loss is minus the "
             "probability of the label)") for s in (1, 2)]
    + [_case("udmlp_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             "optimizer.zero_grad() left out of the training loop: the gradients accumulate")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = float(v) if k in ("lr_mult", "init_std") else (int(v) if k in ("epochs", "seed") else v == "1")
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
