"""Patrick Loeber's pytorchTutorial 14_cnn.py (the CIFAR-10 ConvNet, plain SGD, batch 4) on digits, watched by gradmedic.

Adapted from https://github.com/patrickloeber/pytorchTutorial (commit 69637721ed9fa2ccf81a1093a928a52bbb591439;
14_cnn.py last changed in 28e0e441b7174107361de17bb580d37663dc0854; MIT License, Copyright (c) 2020 Patrick
Loeber, see LICENSE-plcnn).  The script is module-level code; here its body is ``train``, whose lines are upstream's
in upstream's order.

Kept as upstream has it: ``ConvNet`` (conv1 Conv2d(3, 6, 5), MaxPool2d(2, 2), conv2 Conv2d(6, 16, 5), fc1
Linear(400, 120), fc2 Linear(120, 84), fc3 Linear(84, 10), ReLU after every conv and the first two Linears, no
softmax; PyTorch's default init), ``nn.CrossEntropyLoss()``, ``torch.optim.SGD(model.parameters(), lr=0.001)`` (no
momentum), batch_size 4 with a shuffled training DataLoader and an unshuffled test DataLoader, the transform
(``ToTensor`` to [0, 1], then ``Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))`` to [-1, 1]), the loop's order
(forward, loss, ``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``), no clipping, and the test
accuracy (overall and per class) with ``torch.max(outputs, 1)``.
Changed to run offline on one CPU thread: CIFAR-10 is scikit-learn's ``load_digits`` (1797 8x8 images, values 0..16,
no download), divided by 16 to [0, 1] as ToTensor divides by 255, upscaled to 32x32 by repeating each pixel 4x4 and
repeated over 3 channels (CIFAR's shape), then normalized with upstream's (0.5, 0.5, 0.5); split 1437 / 360 by
``train_test_split(test_size=0.2, random_state=0)``, so an epoch is 360 steps instead of 12500; NUM_EPOCHS below
instead of upstream's 5 epochs (62500 steps); the class names are the digits; the device is the CPU;
``torch.manual_seed(seed)`` (upstream does not seed); the ``imshow`` of a training batch and the
``torch.save(model.state_dict(), './cnn.pth')`` checkpoint are left out; prints only with ``verbose``.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the loop.  Metric: test accuracy on the 360 test digits (run.py's good outcome: >= 0.9).

``CASES`` (program "plcnn"): the program on seeds 1-3 and one change each against the same seed's healthy run: SGD
lr x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) on every conv and Linear weight (seeds 1 and 2); raw 0..255
pixels, neither scaled nor normalized (seeds 1 and 2); every weight and bias set to 0.01 (symmetric units);
``optimizer.zero_grad()`` left out (seeds 1 and 2); and two changes expected harmless: SGD lr x2 (cause "lr_high")
and weight_decay 5e-4 (cause "healthy").  The script does not clip, so there is no clipping case.  Labels come from
run.py's outcome rules only.
Recorded (cases-public83; 16 cases in 467 s, 22-38 s a run on a shared 2-core machine, 10800 steps each): healthy
test accuracy 0.961, 0.933, 0.961 on seeds 1-3 (first-5 mean loss 2.30-2.32 -> 0.05-0.10 over the last 20 steps,
largest 2.7-3.5, every loss finite; plain SGD at 0.001 sits near 2.30 for the first ~3000 steps before it learns);
lr x10 (0.01) 0.983: healthy; lr x100 (0.1) 0.122 (seed 1; largest loss 17.5, then stuck at 2.31) and 0.075 (seed
2; losses reach 9e28, then NaN): broken; lr x1000 (1.0) 0.122 (stuck at 2.35): broken; lr /1000 (1e-6) 0.142 (loss
stays at 2.30): broken; N(0, 1) weights 0.075 on seeds 1 and 2 (losses up to 9e36 and 2e27, then NaN): broken; raw
0..255 pixels 0.975 (seed 1; first-5 mean 3.8, largest 8.1: ambiguous, its largest loss over 2x the control's) and
0.978 (seed 2; largest 3.0: healthy); constant 0.01 init 0.186 (loss 2.11 at the end): broken; zero_grad left out
0.114 (seed 1; largest 8.8, 2.53 at the end) and 0.081 (seed 2; largest 640, 2.99 at the end): broken; lr x2 0.972:
healthy; weight_decay 5e-4 0.961: healthy.  Labels: 7 healthy (3 programs, lr x10, raw pixels seed 2, lr x2, weight
decay), 8 broken, 1 ambiguous.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = torch.optim.SGD(model.parameters(), "
              "lr=learning_rate); monitor.step(loss) right after loss.backward(), before optimizer.step() "
              "(optimizer.zero_grad() precedes the backward; batch 4, nn.CrossEntropyLoss on the logits, no clipping)")

NUM_EPOCHS = 30  # upstream: num_epochs = 5 over CIFAR-10's 12500 batches (here 360 batches an epoch)


def digits_cifar(normalize=True, pixel_scale=1.0):
    """scikit-learn's digits as CIFAR-shaped (N, 3, 32, 32) tensors: [0, 1] (ToTensor), 4x4 pixel repetition,
    3 channels, then Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)); and their labels."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)

    def tt(x):
        x = torch.tensor(x, dtype=torch.float32)[:, None] / 16.0  # ToTensor: [0, 1]
        x = x.repeat_interleave(4, dim=2).repeat_interleave(4, dim=3).repeat(1, 3, 1, 1)  # 8x8 -> 3x32x32
        x = x * pixel_scale  # the unscaled_inputs variant: x255 (raw pixel values)
        if normalize:  # transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
            x = (x - 0.5) / 0.5
        return x

    return tt(xtr), torch.tensor(ytr), tt(xte), torch.tensor(yte)


class ConvNet(nn.Module):
    def __init__(self):
        super(ConvNet, self).__init__()  # noqa: UP008 (as upstream)
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        # -> n, 3, 32, 32
        x = self.pool(F.relu(self.conv1(x)))  # -> n, 6, 14, 14
        x = self.pool(F.relu(self.conv2(x)))  # -> n, 16, 5, 5
        x = x.view(-1, 16 * 5 * 5)            # -> n, 400
        x = F.relu(self.fc1(x))               # -> n, 120
        x = F.relu(self.fc2(x))               # -> n, 84
        x = self.fc3(x)                       # -> n, 10
        return x


def train(seed: int = 1, lr_mult: float = 1.0, normalize: bool = True, pixel_scale: float = 1.0,
          init_std: float | None = None, init_const: float | None = None, zero_grad: bool = True,
          weight_decay: float = 0.0, num_epochs: int = NUM_EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    """One change per keyword: ``lr_mult`` scales SGD's 0.001; ``normalize=False`` with ``pixel_scale=255`` feeds raw
    0..255 pixels; ``init_std`` draws every conv and Linear weight from N(0, init_std); ``init_const`` sets every
    weight and bias to that constant; ``zero_grad=False`` leaves optimizer.zero_grad() out; ``weight_decay`` is
    passed to SGD (upstream: none)."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)  # upstream does not seed
    t0 = time.time()
    # Device configuration
    device = torch.device('cpu')  # upstream: 'cuda' if torch.cuda.is_available() else 'cpu'

    # Hyper-parameters
    # num_epochs: upstream 5 (see NUM_EPOCHS)
    batch_size = 4
    learning_rate = 0.001 * lr_mult

    # dataset has PILImage images of range [0, 1].
    # We transform them to Tensors of normalized range [-1, 1]
    # CIFAR10 -> upstream: torchvision.datasets.CIFAR10(..., download=True, transform=transform); here digits_cifar
    xtr, ytr, xte, yte = digits_cifar(normalize, pixel_scale)
    train_dataset = torch.utils.data.TensorDataset(xtr, ytr)
    test_dataset = torch.utils.data.TensorDataset(xte, yte)

    train_loader = torch.utils.data.DataLoader(train_dataset, batch_size=batch_size,
                                               shuffle=True)

    test_loader = torch.utils.data.DataLoader(test_dataset, batch_size=batch_size,
                                              shuffle=False)

    classes = tuple(str(i) for i in range(10))  # upstream: ('plane', 'car', 'bird', ...)
    # upstream: imshow(torchvision.utils.make_grid(images)) of one training batch (left out)

    model = ConvNet().to(device)
    if init_std is not None:  # the init_large variant: N(0, init_std) on every weight instead of the default (biases kept)
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, init_std)
    if init_const is not None:  # the symmetric_init variant: every weight and bias set to one constant
        for p in model.parameters():
            nn.init.constant_(p, init_const)

    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate,
                                weight_decay=weight_decay)  # upstream: no weight_decay (0)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    losses = []

    n_total_steps = len(train_loader)
    for epoch in range(num_epochs):
        for i, (images, labels) in enumerate(train_loader):
            # origin shape: [4, 3, 32, 32] = 4, 3, 1024
            # input_layer: 3 input channels, 6 output channels, 5 kernel size
            images = images.to(device)
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

            if verbose and (i+1) % n_total_steps == 0:  # upstream: if (i+1) % 2000 == 0
                print (f'Epoch [{epoch+1}/{num_epochs}], Step [{i+1}/{n_total_steps}], Loss: {loss.item():.4f}')
    monitor.close()

    if verbose:
        print('Finished Training')
    # upstream: torch.save(model.state_dict(), './cnn.pth') (left out)

    with torch.no_grad():
        n_correct = 0
        n_samples = 0
        n_class_correct = [0 for i in range(10)]
        n_class_samples = [0 for i in range(10)]
        for images, labels in test_loader:
            images = images.to(device)
            labels = labels.to(device)
            outputs = model(images)
            # max returns (value ,index)
            _, predicted = torch.max(outputs, 1)
            n_samples += labels.size(0)
            n_correct += (predicted == labels).sum().item()

            for i in range(batch_size):
                label = labels[i]
                pred = predicted[i]
                if (label == pred):
                    n_class_correct[label] += 1
                n_class_samples[label] += 1

        acc = 100.0 * n_correct / n_samples
        if verbose:
            print(f'Accuracy of the network: {acc} %')

        class_acc = []
        for i in range(10):
            class_acc.append(100.0 * n_class_correct[i] / n_class_samples[i])
            if verbose:
                print(f'Accuracy of {classes[i]}: {class_acc[-1]} %')
    la = np.array(losses)
    fin = la[np.isfinite(la)]
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc / 100.0), "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": {"train_loss": float(np.mean(la[-20:])), "first_loss": float(np.mean(la[:5])),
                      "max_loss": float(fin.max()) if fin.size else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "steps": len(la), "epochs": num_epochs,
                      "lr": learning_rate, "normalize": normalize, "pixel_scale": pixel_scale, "init_std": init_std,
                      "init_const": init_const, "zero_grad": zero_grad, "weight_decay": weight_decay,
                      "class_acc": class_acc, "test_digits": n_samples},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="plcnn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = (f"14_cnn (ConvNet conv-pool-conv-pool-fc-fc-fc, CrossEntropyLoss, SGD lr 0.001 no momentum, batch 4, "
      f"{NUM_EPOCHS} epochs of 360 steps, digits as 3x32x32 normalized to [-1, 1])")
CASES: list[dict] = (
    [_case(f"plcnn_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"plcnn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: SGD lr x{k} ({0.001 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("plcnn_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: SGD lr /1000 (1e-06)")]
    + [_case(f"plcnn_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every conv and Linear weight instead of PyTorch's default "
             "(biases kept)") for s in (1, 2)]
    + [_case(f"plcnn_raw_pixels_s{s}", "unscaled_inputs", s, {"normalize": False, "pixel_scale": 255.0},
             f"{_P}: raw 0..255 pixel values (neither ToTensor's scaling nor Normalize)") for s in (1, 2)]
    + [_case("plcnn_const_init_s1", "symmetric_init", 1, {"init_const": 0.01},
             f"{_P}: nn.init.constant_(p, 0.01) on every weight and bias (identical units in every layer)")]
    + [_case(f"plcnn_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)") for s in (1, 2)]
    + [_case("plcnn_lr_x2_s1", "lr_high", 1, {"lr_mult": 2.0}, f"{_P}: SGD lr x2 (0.002)")]
    + [_case("plcnn_wd5e-4_s1", "healthy", 1, {"weight_decay": 5e-4}, f"{_P}: SGD weight_decay 5e-4 (upstream none)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
