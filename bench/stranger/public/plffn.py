"""Patrick Loeber's pytorchTutorial 13_feedforward.py (MNIST feed-forward net, Adam) on 8x8 digits, watched by gradmedic.

Adapted from https://github.com/patrickloeber/pytorchTutorial (commit 69637721ed9fa2ccf81a1093a928a52bbb591439;
13_feedforward.py last changed in 28e0e441b7174107361de17bb580d37663dc0854; MIT License, Copyright (c) 2020 Patrick
Loeber, see LICENSE-plffn).  The script is module-level code; here its body is ``train``, whose lines are upstream's
in upstream's order.  (plogreg.py ports the same script as its "pffnn" half on 28x28 upsampled digits; this port
feeds the 64 raw features instead, and has its own variants.)

Kept as upstream has it: ``NeuralNet(input_size, hidden_size, num_classes)`` = ``l1`` Linear(input_size, 500),
``nn.ReLU``, ``l2`` Linear(500, 10), no softmax at the end, PyTorch's default init; ``nn.CrossEntropyLoss()``,
``torch.optim.Adam(model.parameters(), lr=0.001)``, batch_size 100 with a shuffled training DataLoader and an
unshuffled test DataLoader, ``images.reshape(-1, input_size)``, the loop's order (forward, loss,
``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``), no clipping, inputs in [0, 1] as
``ToTensor`` gives them (not normalized), and the test accuracy with ``torch.max(outputs.data, 1)``.
Changed to run offline on one CPU thread: MNIST is scikit-learn's ``load_digits`` (1797 8x8 images, values 0..16,
no download), divided by 16 to [0, 1] as ToTensor divides pixels by 255, split 1437 / 360 by
``train_test_split(test_size=0.2, random_state=0)``; so input_size is 64 (8x8) instead of 784 (28x28) and an epoch is
15 steps instead of 600; NUM_EPOCHS below instead of upstream's 2 epochs (1200 steps); the device is the CPU;
``torch.manual_seed(seed)`` (upstream does not seed); the matplotlib example plot is left out; prints only with
``verbose``.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the loop.  Metric: test accuracy on the 360 test digits (run.py's good outcome: >= 0.9).

``CASES`` (program "plffn"): the program on seeds 1-3 and one change each against the same seed's healthy run: Adam
lr x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) on both Linear weights (seeds 1 and 2); the inputs x255 (raw
pixel values; seeds 1 and 2); l1's bias set to -10 (dead ReLUs); ``optimizer.zero_grad()`` left out (seeds 1 and
2); ``torch.softmax`` before ``nn.CrossEntropyLoss``; and two changes expected harmless: Adam lr x2 (cause
"lr_high") and batch_size 32 (cause "healthy").  The script does not clip, so there is no clipping case.  Labels
come from run.py's outcome rules only.
Recorded (cases-public83; 18 cases in 17 s, 1-3 s a run on a shared 2-core machine): healthy test accuracy 0.972,
0.969, 0.969 on seeds 1-3 (first-5 mean loss 2.23-2.28 -> 0.09-0.10 over the last 20 steps, largest 2.30-2.35,
every loss finite); lr x10 (0.01) 0.981: healthy; lr x100 (0.1) 0.981 (seed 1; first-5 mean 8.7, largest 11.3) and
0.978 (seed 2; 17.3, largest 26.5): ambiguous (accurate, but the largest loss is over 2x the control's); lr x1000
(1.0) 0.375 (first-5 mean 1153, largest 1865, 1.44 at the end): broken; lr /1000 (1e-6) 0.072 (loss stays at
2.33): broken; N(0, 1) weights 0.858 (seed 1; first-5 mean 72, 1.32 at the end) and 0.842 (seed 2; 101 -> 1.40):
broken; inputs x255 0.953 (seed 1) and 0.958 (seed 2) (first-5 mean ~31, largest ~55-57, training loss ~0 at the
end): ambiguous; l1.bias -10 0.081 (loss flat at 2.30): broken; zero_grad left out 0.714 (seed 1; loss 0.69 at the
end, largest 3.3) and 0.672 (seed 2; 0.93, largest 3.7): broken; softmax before CrossEntropyLoss 0.969 (its loss
only falls to 1.51, the floor of a softmax of probabilities, but the argmax is right): healthy; lr x2 0.975:
healthy; batch 32 0.975: healthy.  Labels: 8 healthy (3 programs, lr x10, softmax-CE, lr x2, batch 32), 6 broken,
4 ambiguous; no non-finite loss.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = torch.optim.Adam(model.parameters(), "
              "lr=learning_rate); monitor.step(loss) right after loss.backward(), before optimizer.step() "
              "(optimizer.zero_grad() precedes the backward; batch 100, nn.CrossEntropyLoss on the logits, no clipping)")

NUM_EPOCHS = 20  # upstream: num_epochs = 2 over MNIST's 600 batches (here 15 batches an epoch)


def digits64():
    """scikit-learn's digits as (N, 1, 8, 8) tensors in [0, 1] (ToTensor's scaling) and their labels."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)

    def tt(x):
        return torch.tensor(x, dtype=torch.float32)[:, None] / 16.0  # ToTensor: [0, 1]

    return tt(xtr), torch.tensor(ytr), tt(xte), torch.tensor(yte)


# Fully connected neural network with one hidden layer
class NeuralNet(nn.Module):
    def __init__(self, input_size, hidden_size, num_classes, softmax_out=False):
        super(NeuralNet, self).__init__()  # noqa: UP008 (as upstream)
        self.input_size = input_size
        self.l1 = nn.Linear(input_size, hidden_size)
        self.relu = nn.ReLU()
        self.l2 = nn.Linear(hidden_size, num_classes)
        self.softmax_out = softmax_out

    def forward(self, x):
        out = self.l1(x)
        out = self.relu(out)
        out = self.l2(out)
        # no activation and no softmax at the end
        if self.softmax_out:  # the wrong_loss variant: probabilities into CrossEntropyLoss, which expects logits
            out = torch.softmax(out, dim=1)
        return out


def train(seed: int = 1, lr_mult: float = 1.0, pixel_scale: float = 1.0, init_std: float | None = None,
          l1_bias: float | None = None, softmax_out: bool = False, zero_grad: bool = True,
          batch_size: int = 100, num_epochs: int = NUM_EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    """One change per keyword: ``lr_mult`` scales Adam's 0.001; ``pixel_scale`` multiplies the [0, 1] inputs (255:
    raw pixel values); ``init_std`` draws both Linear weights from N(0, init_std); ``l1_bias`` sets l1's bias to
    that constant; ``softmax_out`` puts a softmax before CrossEntropyLoss; ``zero_grad=False`` leaves
    optimizer.zero_grad() out; ``batch_size`` replaces 100."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)  # upstream does not seed
    t0 = time.time()
    # Device configuration
    device = torch.device('cpu')  # upstream: 'cuda' if torch.cuda.is_available() else 'cpu'

    # Hyper-parameters
    input_size = 64  # upstream: 784 # 28x28 (here 8x8 digits)
    hidden_size = 500
    num_classes = 10
    # num_epochs: upstream 2 (see NUM_EPOCHS)
    # batch_size = 100 (a keyword here, for the batch-size variant)
    learning_rate = 0.001 * lr_mult

    # MNIST dataset -> upstream: torchvision.datasets.MNIST(..., transform=transforms.ToTensor(), download=True)
    xtr, ytr, xte, yte = digits64()
    xtr, xte = xtr * pixel_scale, xte * pixel_scale  # the unscaled_inputs variant: x255, raw pixel values
    train_dataset = torch.utils.data.TensorDataset(xtr, ytr)
    test_dataset = torch.utils.data.TensorDataset(xte, yte)

    # Data loader
    train_loader = torch.utils.data.DataLoader(dataset=train_dataset,
                                               batch_size=batch_size,
                                               shuffle=True)

    test_loader = torch.utils.data.DataLoader(dataset=test_dataset,
                                              batch_size=batch_size,
                                              shuffle=False)
    # upstream: six test images plotted with matplotlib (left out)

    model = NeuralNet(input_size, hidden_size, num_classes, softmax_out).to(device)
    if init_std is not None:  # the init_large variant: N(0, init_std) on both weights instead of the default (biases kept)
        nn.init.normal_(model.l1.weight, 0.0, init_std)
        nn.init.normal_(model.l2.weight, 0.0, init_std)
    if l1_bias is not None:  # the dead_relu variant: l1's bias set to a large negative constant
        nn.init.constant_(model.l1.bias, l1_bias)

    # Loss and optimizer
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    losses = []

    # Train the model
    n_total_steps = len(train_loader)
    for epoch in range(num_epochs):
        for i, (images, labels) in enumerate(train_loader):
            # origin shape: [100, 1, 28, 28] (here [100, 1, 8, 8])
            # resized: [100, 784] (here [100, 64])
            images = images.reshape(-1, input_size).to(device)  # upstream: reshape(-1, 28*28)
            labels = labels.to(device)

            # Forward pass
            outputs = model(images)
            loss = criterion(outputs, labels)

            # Backward and optimize
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())

            if verbose and (i+1) % n_total_steps == 0:  # upstream: if (i+1) % 100 == 0
                print (f'Epoch [{epoch+1}/{num_epochs}], Step [{i+1}/{n_total_steps}], Loss: {loss.item():.4f}')
    monitor.close()

    # Test the model
    # In test phase, we don't need to compute gradients (for memory efficiency)
    with torch.no_grad():
        n_correct = 0
        n_samples = 0
        for images, labels in test_loader:
            images = images.reshape(-1, input_size).to(device)  # upstream: reshape(-1, 28*28)
            labels = labels.to(device)
            outputs = model(images)
            # max returns (value ,index)
            _, predicted = torch.max(outputs.data, 1)
            n_samples += labels.size(0)
            n_correct += (predicted == labels).sum().item()

        acc = 100.0 * n_correct / n_samples
        if verbose:
            print(f'Accuracy of the network on the {n_samples} test images: {acc} %')
    la = np.array(losses)
    fin = la[np.isfinite(la)]
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc / 100.0), "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": {"train_loss": float(np.mean(la[-20:])), "first_loss": float(np.mean(la[:5])),
                      "max_loss": float(fin.max()) if fin.size else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "steps": len(la), "epochs": num_epochs,
                      "lr": learning_rate, "batch_size": batch_size, "pixel_scale": pixel_scale,
                      "init_std": init_std, "l1_bias": l1_bias, "softmax_out": softmax_out, "zero_grad": zero_grad,
                      "test_digits": n_samples},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="plffn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = (f"13_feedforward (64-500-10 ReLU NeuralNet, CrossEntropyLoss on the logits, Adam lr 0.001, batch 100, "
      f"{NUM_EPOCHS} epochs of 15 steps, 8x8 digits in [0, 1])")
CASES: list[dict] = (
    [_case(f"plffn_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"plffn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({0.001 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("plffn_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 (1e-06)")]
    + [_case(f"plffn_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on l1.weight and l2.weight instead of PyTorch's default (biases kept)")
       for s in (1, 2)]
    + [_case(f"plffn_raw_pixels_s{s}", "unscaled_inputs", s, {"pixel_scale": 255.0},
             f"{_P}: the inputs x255 (raw 0..255 pixel values, no ToTensor scaling)") for s in (1, 2)]
    + [_case("plffn_dead_relu_s1", "dead_relu", 1, {"l1_bias": -10.0},
             f"{_P}: nn.init.constant_(l1.bias, -10.0) (every hidden ReLU below zero for every input)")]
    + [_case(f"plffn_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)") for s in (1, 2)]
    + [_case("plffn_softmax_ce_s1", "wrong_loss", 1, {"softmax_out": True},
             f"{_P}: torch.softmax on the outputs before nn.CrossEntropyLoss (which applies log_softmax itself)")]
    + [_case("plffn_lr_x2_s1", "lr_high", 1, {"lr_mult": 2.0}, f"{_P}: Adam lr x2 (0.002)")]
    + [_case("plffn_batch32_s1", "healthy", 1, {"batch_size": 32}, f"{_P}: batch_size 32 instead of 100")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
