"""pytorch/examples siamese_network (APP_MATCHER pairs, BCELoss, Adadelta lr 1.0, StepLR 0.7), watched by gradmedic.

Adapted from https://github.com/pytorch/examples (commit 77f55b912142e11fcfdf5b530231fb9c52f181e8,
siamese_network/main.py; BSD 3-Clause, Copyright (c) 2017, Pytorch contributors, see
LICENSE-pytorch-examples).  Kept as in the original: ``SiameseNetwork``'s head (the two branches'
features concatenated, ``Linear(2f, 256)``, ReLU, ``Linear(256, 1)``, ``Sigmoid``), its ``init_weights``
(xavier_uniform_ and bias 0.01 on every Linear), ``APP_MATCHER.__getitem__`` (a random class, a second
image of the same class for even indices (target 1) or of another class for odd ones (target 0), Python's
``random``), ``train`` (zero_grad, ``BCELoss`` on the sigmoid output ``.squeeze()``, backward, step) and
``test`` (prediction ``outputs > 0.5``), Adadelta(lr=1.0), StepLR(step_size=1, gamma=0.7) per epoch,
batch 64, the CPU path's DataLoader without shuffling.

Changed to run offline without torchvision (which does not import here): the backbone ``resnet18(weights=
None)`` with a 1-channel conv1 and the fc removed is replaced by a small ResNet-like stack in the same shape:
conv1 7x7 stride 2 padding 3 (bias False), BatchNorm, ReLU, max-pool 3/2/1, then conv3x3-BN-ReLU (16->32)
and conv3x3 stride 2-BN-ReLU (32->64), adaptive average pool: 64 features instead of 512 (the head's first
Linear takes 128 inputs).  The data is scikit-learn's ``load_digits`` upsampled to 28x28 as in mnist.py
(``digits28``: 1437 training and 360 test images, scaled to [0, 1] and normalized by the training set's
mean and std; the original feeds MNIST's raw 0..255 values cast to float, which resnet18's BatchNorm after
conv1 absorbs; here the raw values are the ``raw_pixels`` variant), 6 epochs (original 14) of 4 x 1437 =
5748 pairs (90 steps; ``__len__`` is 4x the images: the original's epoch is MNIST's 60000 pairs, 938 steps,
and with 1437 pairs per epoch StepLR's decay stops training at ~0.85),
``random.seed(seed)`` for the training pairs; the test pairs are drawn once with a fixed
``random.Random(0)`` (5 passes of ``__getitem__`` over the 360 test images = 1800 pairs, the same for every
run) so that a variant and its control are scored on the same pairs.

The watch: ``gradmedic.watch(model, optimizer, every=10)``, ``monitor.step(loss)`` after ``loss.backward()``,
before ``optimizer.step()``.
"""

from __future__ import annotations

import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from mnist import digits28
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import Dataset

import gradmedic

ARCH = "cnn"
MONITOR_AT = "monitor.step(loss) after loss.backward() (BCELoss on the sigmoid output), before optimizer.step()"


class SiameseNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        # replaces torchvision.models.resnet18(weights=None) with conv1 = Conv2d(1, 64, 7, 2, 3) and the fc removed
        self.resnet = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False),
            nn.BatchNorm2d(16), nn.ReLU(inplace=True), nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
            nn.Conv2d(16, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
            nn.Conv2d(32, 64, 3, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d((1, 1)),
        )
        self.fc_in_features = 64

        self.fc = nn.Sequential(
            nn.Linear(self.fc_in_features * 2, 256),
            nn.ReLU(inplace=True),
            nn.Linear(256, 1),
        )

        self.sigmoid = nn.Sigmoid()

        self.resnet.apply(self.init_weights)
        self.fc.apply(self.init_weights)

    def init_weights(self, m):
        if isinstance(m, nn.Linear):
            torch.nn.init.xavier_uniform_(m.weight)
            m.bias.data.fill_(0.01)

    def forward_once(self, x):
        output = self.resnet(x)
        output = output.view(output.size()[0], -1)
        return output

    def forward(self, input1, input2):
        output1 = self.forward_once(input1)
        output2 = self.forward_once(input2)
        output = torch.cat((output1, output2), 1)
        output = self.fc(output)
        output = self.sigmoid(output)
        return output


class APP_MATCHER(Dataset):
    """The original's pair dataset over a TensorDataset of digits (instead of datasets.MNIST)."""

    def __init__(self, tensor_dataset, rng=random, passes=1):
        super().__init__()
        self.data, targets = tensor_dataset.tensors
        self.rng, self.passes = rng, passes
        np_arr = targets.numpy()
        self.grouped_examples = {i: np.where(np_arr == i)[0] for i in range(10)}

    def __len__(self):
        return self.data.shape[0] * self.passes

    def __getitem__(self, index):
        r = self.rng
        selected_class = r.randint(0, 9)
        random_index_1 = r.randint(0, self.grouped_examples[selected_class].shape[0] - 1)
        index_1 = self.grouped_examples[selected_class][random_index_1]
        image_1 = self.data[index_1].clone().float()
        if index % 2 == 0:
            random_index_2 = r.randint(0, self.grouped_examples[selected_class].shape[0] - 1)
            while random_index_2 == random_index_1:
                random_index_2 = r.randint(0, self.grouped_examples[selected_class].shape[0] - 1)
            index_2 = self.grouped_examples[selected_class][random_index_2]
            image_2 = self.data[index_2].clone().float()
            target = torch.tensor(1, dtype=torch.float)
        else:
            other_selected_class = r.randint(0, 9)
            while other_selected_class == selected_class:
                other_selected_class = r.randint(0, 9)
            random_index_2 = r.randint(0, self.grouped_examples[other_selected_class].shape[0] - 1)
            index_2 = self.grouped_examples[other_selected_class][random_index_2]
            image_2 = self.data[index_2].clone().float()
            target = torch.tensor(0, dtype=torch.float)
        return image_1, image_2, target


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, zero_last: bool = False,
          epochs: int = 6, passes: int = 4, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    random.seed(seed)
    d_train, d_test = digits28(raw_pixels)
    train_loader = torch.utils.data.DataLoader(APP_MATCHER(d_train, passes=passes), batch_size=64)
    fixed = APP_MATCHER(d_test, random.Random(0))
    pairs = [fixed[i] for _ in range(5) for i in range(len(fixed))]
    test_set = [torch.stack([p[j] for p in pairs]) for j in range(3)]

    model = SiameseNetwork()
    if zero_last:  # the bug: nn.init.zeros_ on the last Linear (weight and bias)
        nn.init.zeros_(model.fc[2].weight)
        nn.init.zeros_(model.fc[2].bias)
    optimizer = optim.Adadelta(model.parameters(), lr=1.0 * lr_mult)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    monitor = gradmedic.watch(model, optimizer, every=every)
    criterion = nn.BCELoss()
    losses = []

    def test():
        model.eval()
        with torch.no_grad():
            outs = []
            for k in range(0, len(pairs), 1000):
                outs.append(model(test_set[0][k:k + 1000], test_set[1][k:k + 1000]).squeeze(1))
            outputs, targets = torch.cat(outs), test_set[2]
            test_loss = criterion(outputs, targets).item() if torch.isfinite(outputs).all() else float("nan")
            pred = torch.where(outputs > 0.5, 1, 0)
            correct = pred.eq(targets.view_as(pred)).sum().item()
        return test_loss, correct / len(pairs)

    t0 = time.time()
    for epoch in range(1, epochs + 1):
        model.train()
        for images_1, images_2, targets in train_loader:
            optimizer.zero_grad()
            outputs = model(images_1, images_2).squeeze()
            loss = criterion(outputs, targets)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())
        test_loss, acc = test()
        if verbose:
            print(f"epoch {epoch} train {np.mean(losses[-10:]):.4f} test {test_loss:.4f} acc {acc:.3f} {time.time() - t0:.1f}s")
        scheduler.step()
    monitor.close()
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc), "chance": 0.5, "initial": None,
            "initial_what": "chance pair accuracy 0.5",
            "extra": {"test_loss": test_loss, "train_loss": float(np.mean(losses[-20:])), "steps": len(losses),
                      "test_pairs": len(pairs)},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="siamese", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"siamese_healthy_s{s}", "healthy", s, {}, "unchanged (Adadelta lr 1.0, StepLR 0.7, BCELoss on the sigmoid; "
           "6 epochs of 90 steps)", False) for s in (1, 2, 3)]
    + [_case(f"siamese_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adadelta lr x{k} ({k:g})")
       for k, ss in ((10, (1, 2)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case(f"siamese_lr_div1000_s{s}", "lr_low", s, {"lr_mult": 1e-3}, "Adadelta lr /1000 (0.001)") for s in (1, 2)]
    + [_case(f"siamese_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             "raw 0..255 pixel values, no scaling or Normalize (as the original's APP_MATCHER feeds MNIST's uint8 "
             "data cast to float)") for s in (1, 2)]
    + [_case(f"siamese_zero_fc_last_s{s}", "symmetric_init", s, {"zero_last": True},
             "nn.init.zeros_ on the last Linear's weight and bias (fc[2], before the sigmoid)") for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    r = train(verbose=True, **({"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}))
    print({k: v for k, v in r.items() if k != "monitors"})
