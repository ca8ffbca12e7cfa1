"""Sebastian Raschka's deeplearning-models ResNet-18 (BasicBlock, BatchNorm, Adam) on digits, watched by gradmedic.

Adapted from https://github.com/rasbt/deeplearning-models (commit 18e046926551378cd691fd871dda0f21dcd272ab,
pytorch_ipynb/cnn/cnn-resnet18-mnist.ipynb, last changed in c8702ff1682e6b809ab2c203aa4484e678a5398e; MIT License,
Copyright (c) 2019-2022 Sebastian Raschka, see LICENSE-rasbtresnet), the notebook's code cells.  Kept as in the
notebook: ``conv3x3``, ``BasicBlock`` and ``ResNet`` (copied below: a 7x7 stride-2 stem conv without bias,
BatchNorm2d, ReLU, MaxPool2d(3, 2, 1), four stages of two BasicBlocks (``layers=[2, 2, 2, 2]``) with 1x1-conv +
BatchNorm2d downsampling where the stride or width changes, the average pool disabled as in the notebook (the map
is already 1x1 for 28x28 inputs), ``fc`` on the flattened features, ``forward`` returning ``logits, probas``), its
own init loop (``normal_(0, sqrt(2 / (k*k*out_channels)))`` on every Conv2d, BatchNorm weight 1 and bias 0; the fc
keeps PyTorch's default), ``torch.manual_seed(RANDOM_SEED)`` right before ``resnet18(NUM_CLASSES)``,
``torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)`` with LEARNING_RATE = 0.001, BATCH_SIZE = 128 with a
shuffled training loader and an unshuffled test loader, 28x28 inputs in [0, 1] (``ToTensor()``; no Normalize), the
training loop (``model.train()``, ``logits, probas = model(features)``, ``cost = F.cross_entropy(logits,
targets)``, ``optimizer.zero_grad()``, ``cost.backward()``, ``optimizer.step()``), the per-epoch
``compute_accuracy`` over the (shuffled) training loader under ``model.eval()`` (kept: it draws from the global RNG
through the shuffled loader, as in the notebook; its value goes to ``extra``), and the test accuracy from
``compute_accuracy`` on the test loader (argmax of ``probas``, BatchNorm in eval mode) as the metric (a fraction
here, not a percentage).

Changed to run offline on one CPU thread: MNIST is scikit-learn's ``load_digits`` (no download, no torchvision):
the 8x8 images divided by 16 to [0, 1] and bilinearly upsampled to 1x28x28 (``digits28`` of mnist.py taken as raw
0..255 values and divided by 255, as ``ToTensor`` does), split 1437 / 360 (``train_test_split``, random_state 0).
The stage widths are 16-32-64-128 instead of 64-128-256-512 (``ResNet(..., width=16)``; depth, block structure,
strides and init unchanged), and a run is NUM_EPOCHS epochs of 12 batches instead of 10 epochs over MNIST's 60000
images (4690 steps), so a run takes 10-25 s.  ``DEVICE`` is the CPU; the notebook's batch-shape checks, per-50-batch
printing, timing prints and plots are left out; ``torch.manual_seed(seed)`` also before the data is built (the
notebook seeds only the model); the run's seed replaces RANDOM_SEED = 1.

The watch: ``gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is built,
``monitor.step(cost)`` after ``cost.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the last
epoch.

``CASES`` (program "rasbtresnet"): the program on seeds 1-3, and one change each against the same seed's healthy
run: Adam lr x10, x100 (seeds 1 and 2), x1000, /1000; ``nn.init.normal_(std=1.0)`` on every Conv2d weight instead
of the notebook's He init (seeds 1 and 2; BatchNorm follows every conv, so the label decides); raw 0..255 pixel
values (no ``ToTensor`` scaling; seeds 1 and 2); every BatchNorm2d replaced by ``nn.Identity`` (stem, blocks and
downsampling); ``optimizer.zero_grad()`` left out.  The notebook does not clip, so there is no
clipping case.  Labels come from run.py's outcome rules only.
Recorded (cases-public20; 14 cases in 251 s, 12-22 s a run on a shared 2-core machine): healthy test accuracy
0.969, 0.953, 0.958 on seeds 1-3 (final training loss 0.006-0.028, largest loss 2.39-2.52); lr x10 (0.01) 0.939
(training loss 0.044): ambiguous (3.1 points under its control); lr x100 (0.1) 0.697 and 0.761 (loss peaks 8.3 and
10.0), x1000 (1.0) 0.278 (peak 121, training loss 2.24) and /1000 (1e-6) 0.153 (training loss still 2.36): all
broken; N(0, 1) conv weights train (BatchNorm rescales every conv's output) but end at 0.925 and 0.911 (training
loss 0.10 and 0.14): ambiguous on both seeds; raw 0..255 pixels 0.975 and 0.950 (the stem conv has no bias and a
BatchNorm follows it, so the input scale is normalized away: the same largest loss as the control): healthy; the
BatchNorm removed 0.961 (training loss 0.085): healthy; optimizer.zero_grad() left out 0.575 (training loss 0.66):
broken.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mnist import digits28
from torch.utils.data import DataLoader, TensorDataset

import gradmedic

ARCH = "resnet"
MONITOR_AT = ("monitor.step(cost) after cost.backward() (F.cross_entropy on the logits, batch 128), before "
              "optimizer.step() (optimizer.zero_grad() comes before the backward, the notebook's order)")

##########################
### SETTINGS
##########################

# Hyperparameters
RANDOM_SEED = 1
LEARNING_RATE = 0.001
BATCH_SIZE = 128
NUM_EPOCHS = 10

# Architecture
NUM_FEATURES = 28*28
NUM_CLASSES = 10
WIDTH = 16  # the notebook: 64 (stages 64-128-256-512)

# Other
GRAYSCALE = True


##########################
### MODEL
##########################


def conv3x3(in_planes, out_planes, stride=1):
    """3x3 convolution with padding"""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride,
                     padding=1, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super(BasicBlock, self).__init__()  # noqa: UP008 (as in the notebook)
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        residual = x

        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)

        out = self.conv2(out)
        out = self.bn2(out)

        if self.downsample is not None:
            residual = self.downsample(x)

        out += residual
        out = self.relu(out)

        return out


class ResNet(nn.Module):

    def __init__(self, block, layers, num_classes, grayscale, width=64):
        self.inplanes = width
        if grayscale:
            in_dim = 1
        else:
            in_dim = 3
        super(ResNet, self).__init__()  # noqa: UP008
        self.conv1 = nn.Conv2d(in_dim, width, kernel_size=7, stride=2, padding=3,
                               bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, width, layers[0])
        self.layer2 = self._make_layer(block, width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, width * 8, layers[3], stride=2)
        self.avgpool = nn.AvgPool2d(7, stride=1)
        self.fc = nn.Linear(width * 8 * block.expansion, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                m.weight.data.normal_(0, (2. / n)**.5)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.data.fill_(1)
                m.bias.data.zero_()

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion,
                          kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion),
            )

        layers = []
        layers.append(block(self.inplanes, planes, stride, downsample))
        self.inplanes = planes * block.expansion
        for i in range(1, blocks):  # noqa: B007
            layers.append(block(self.inplanes, planes))

        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.conv1(x)
        x = self.bn1(x)
        x = self.relu(x)
        x = self.maxpool(x)

        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.layer4(x)
        # because MNIST is already 1x1 here:
        # disable avg pooling
        #x = self.avgpool(x)

        x = x.view(x.size(0), -1)
        logits = self.fc(x)
        probas = F.softmax(logits, dim=1)
        return logits, probas


def resnet18(num_classes, width=WIDTH):
    """Constructs a ResNet-18 model."""
    model = ResNet(block=BasicBlock,
                   layers=[2, 2, 2, 2],
                   num_classes=NUM_CLASSES,
                   grayscale=GRAYSCALE,
                   width=width)
    return model


def _strip_bn(module: nn.Module) -> None:
    """The bug: every BatchNorm2d replaced by nn.Identity (stem, blocks, downsampling)."""
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            setattr(module, name, nn.Identity())
        else:
            _strip_bn(child)


def compute_accuracy(model, data_loader, device):
    correct_pred, num_examples = 0, 0
    for i, (features, targets) in enumerate(data_loader):  # noqa: B007

        features = features.to(device)
        targets = targets.to(device)

        logits, probas = model(features)
        _, predicted_labels = torch.max(probas, 1)
        num_examples += targets.size(0)
        correct_pred += (predicted_labels == targets).sum()
    return correct_pred.float()/num_examples * 100


def train(seed: int = RANDOM_SEED, lr_mult: float = 1.0, raw_pixels: bool = False, init_std: float | None = None,
          no_bn: bool = False, zero_grad: bool = True, epochs: int = NUM_EPOCHS, width: int = WIDTH,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    DEVICE = torch.device("cpu")
    torch.manual_seed(seed)
    d_train, d_test = digits28(raw_pixels=True)  # 0..255 values (MNIST's uint8 pixels)
    scale = 1.0 if raw_pixels else 255.0  # transforms.ToTensor(): [0, 1]; the bug: no scaling
    train_dataset = TensorDataset(d_train.tensors[0] / scale, d_train.tensors[1])
    test_dataset = TensorDataset(d_test.tensors[0] / scale, d_test.tensors[1])
    train_loader = DataLoader(dataset=train_dataset, batch_size=BATCH_SIZE, shuffle=True)
    test_loader = DataLoader(dataset=test_dataset, batch_size=BATCH_SIZE, shuffle=False)

    torch.manual_seed(seed)
    model = resnet18(NUM_CLASSES, width=width)
    if init_std is not None:  # the bug: normal_(0, std) on every Conv2d weight instead of the notebook's He init
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, init_std)
    if no_bn:
        _strip_bn(model)
    model.to(DEVICE)

    lr = LEARNING_RATE * lr_mult
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)
    losses: list[float] = []
    train_acc = float("nan")

    start_time = time.time()
    for epoch in range(epochs):

        model.train()
        for batch_idx, (features, targets) in enumerate(train_loader):  # noqa: B007

            features = features.to(DEVICE)
            targets = targets.to(DEVICE)

            ### FORWARD AND BACK PROP
            logits, probas = model(features)
            cost = F.cross_entropy(logits, targets)
            if zero_grad:  # (the no_zero_grad case leaves it out, as people forget it)
                optimizer.zero_grad()

            cost.backward()
            monitor.step(cost)  # gradmedic

            ### UPDATE MODEL PARAMETERS
            optimizer.step()
            losses.append(cost.item())

        model.eval()
        with torch.set_grad_enabled(False):  # save memory during inference
            train_acc = compute_accuracy(model, train_loader, device=DEVICE).item()
        if verbose:
            print(f"Epoch: {epoch + 1:03d}/{epochs:03d} | Cost: {np.mean(losses[-12:]):.4f} | Train: {train_acc:.3f}% "
                  f"({time.time() - start_time:.1f}s)", flush=True)

    with torch.set_grad_enabled(False):  # save memory during inference
        acc = compute_accuracy(model, test_loader, device=DEVICE).item() / 100
    monitor.close()
    if verbose:
        print(f"Test accuracy: {acc:.4f} steps {len(losses)} {time.time() - start_time:.1f}s")
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc), "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"train_acc": train_acc / 100, "train_loss": float(np.mean(losses[-20:])), "steps": len(losses),
                      "lr": lr, "loss_max": float(np.max(losses))},
            "seconds": time.time() - start_time}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="rasbtresnet", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_H = (f"unchanged (ResNet-18 BasicBlocks, widths {WIDTH}-{2 * WIDTH}-{4 * WIDTH}-{8 * WIDTH}, He-normal conv init, "
      f"BatchNorm 1/0, F.cross_entropy, Adam lr 0.001, batch 128 shuffled, {NUM_EPOCHS} epochs = {NUM_EPOCHS * 12} "
      "steps, 28x28 inputs in [0, 1])")
CASES: list[dict] = (
    [_case(f"rasbtresnet_healthy_s{s}", "healthy", s, {}, _H, False) for s in (1, 2, 3)]
    + [_case(f"rasbtresnet_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({LEARNING_RATE * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("rasbtresnet_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3},
             f"Adam lr /1000 ({LEARNING_RATE * 1e-3:g})")]
    + [_case(f"rasbtresnet_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Conv2d weight instead of the notebook's normal_(0, sqrt(2/n)) "
             "(BatchNorm follows every conv; fc default)") for s in (1, 2)]
    + [_case(f"rasbtresnet_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             "raw 0..255 pixel values: no ToTensor scaling to [0, 1]") for s in (1, 2)]
    + [_case("rasbtresnet_no_bn_s1", "no_norm", 1, {"no_bn": True},
             "every BatchNorm2d (stem, blocks, downsampling) replaced by nn.Identity; same init and lr")]
    + [_case("rasbtresnet_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             "optimizer.zero_grad() left out of the training loop: the gradients accumulate")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = float(v) if k in ("lr_mult", "init_std") else (int(v) if k in ("epochs", "seed", "width") else v == "1")
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
