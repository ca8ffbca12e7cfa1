"""labml.ai's annotated capsule network (Squash, dynamic-routing Router, MarginLoss, the MNIST model with its
reconstruction decoder) on digits, watched by gradmedic.

Adapted from https://github.com/labmlai/annotated_deep_learning_paper_implementations (commit
e6b3c8a6a2cdae4071bcde1abeaaf9a2bc37bd53, labml_nn/capsule_networks/__init__.py and
labml_nn/capsule_networks/mnist.py, with the data and loop settings of labml_nn/helpers/datasets.py'
``MNISTConfigs`` and trainer.py; MIT License, Copyright (c) 2020 Varuna Jayasiri, see LICENSE-capsnet).  Kept as
in the original: ``Squash`` (epsilon 1e-8 under the square root), ``Router`` (``u_hat`` by einsum with a
``torch.randn`` weight of shape (in_caps, 10, 8, 16), zero logits, 3 routing iterations of softmax over the
output capsules, weighted sum, squash, agreement added to the logits), ``MarginLoss`` (m+ 0.9, m- 0.1,
lambda 0.5; upstream's code does not square the ``max(0, .)`` terms that its docstring squares, kept so), and
``MNISTCapsuleNetworkModel`` (Conv2d(1, C, 9), ReLU, Conv2d(C, caps*8, 9, stride 2), ``view(b, 8, caps*6*6)
.permute(0, 2, 1)``, squash, routing, prediction = the longest capsule, the masked capsules through the decoder
Linear(160, 512), ReLU, Linear(512, 1024), ReLU, Linear(1024, 784), Sigmoid), PyTorch's default init elsewhere;
the loss ``margin_loss(caps, target) + 0.0005 * MSELoss(reconstructions, data)`` (the reconstruction target is
the normalized image, as upstream), Adam lr 1e-3 (the experiment's configs), training batch 64 shuffled,
validation batch 1024, the step order forward, loss, backward, ``optimizer.step()``, ``optimizer.zero_grad()``,
accuracy of ``pred`` on the validation set.

Changed: written without the labml framework (a plain loop over epochs; no tracker, no experiment); MNIST is
mnist.py's ``digits28`` (scikit-learn's ``load_digits``, 1437 training and 360 test images upsampled to 1x28x28,
[0, 1] then normalized by the training set's mean and std in place of upstream's ``Normalize((0.1307,),
(0.3081,))``; the raw 0..255 values are the ``raw_pixels`` variant), shuffled by a ``torch.Generator`` seeded
with the run's seed; the widths shrunk so a run takes 20-40 s on one shared CPU thread (about 14 s of CPU):
conv1 64 channels instead of 256, 8 primary capsule channels instead of 32 (conv2 64 -> 8*8, so 8*6*6 = 288
primary 8-d capsules instead of 1152; the 6x6 maps and 9x9 kernels kept), the decoder's widths kept; 3 epochs
(69 steps) instead of 10 epochs of 938.  ``MNISTCapsuleNetworkModel`` takes the widths as arguments and
``Squash``/``Router`` a ``squash_identity`` flag for the variant; ``torch.manual_seed(seed)``.

The watch: ``gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is built,
``monitor.step(loss)`` after ``loss.backward()``, before ``optimizer.step()``.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the
same seed's healthy run: Adam lr x10, x100 (seeds 1 and 2), x1000 and /1000, N(0, 1) on both convolutions'
weights (seeds 1 and 2), raw 0..255 pixels (seeds 1 and 2), the squash replaced by the identity (one line:
``return s``) in the primary capsules and the routing.  Labels come from run.py's outcome rules only.
Recorded (cases-public15): healthy 0.944-0.953 on seeds 1-3; lr x10 trains as well (0.969, healthy); lr x1000
(0.117) and /1000 (0.144) end near chance and the identity squash at 0.503 (broken); lr x100 (0.906, 0.936),
N(0, 1) on the convolutions (0.886, 0.881) and the raw pixels (0.936, 0.933) end a little below the program and
are labelled ambiguous.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from mnist import digits28
from torch import nn

import gradmedic

ARCH = "capsnet"
MONITOR_AT = ("monitor.step(loss) after loss.backward() (margin loss + 0.0005 * reconstruction MSE), before "
              "optimizer.step() and optimizer.zero_grad()")


class Squash(nn.Module):
    """The squashing function of the paper's equation (1), as upstream."""

    def __init__(self, epsilon=1e-8, identity=False):
        super().__init__()
        self.epsilon = epsilon
        self.identity = identity

    def forward(self, s: torch.Tensor):
        if self.identity:  # the bug: the squash replaced by the identity
            return s
        s2 = (s ** 2).sum(dim=-1, keepdims=True)
        return (s2 / (1 + s2)) * (s / torch.sqrt(s2 + self.epsilon))


class Router(nn.Module):
    """Dynamic routing (Procedure 1 of the paper), as upstream."""

    def __init__(self, in_caps: int, out_caps: int, in_d: int, out_d: int, iterations: int, squash_identity=False):
        super().__init__()
        self.in_caps = in_caps
        self.out_caps = out_caps
        self.iterations = iterations
        self.softmax = nn.Softmax(dim=1)
        self.squash = Squash(identity=squash_identity)
        self.weight = nn.Parameter(torch.randn(in_caps, out_caps, in_d, out_d), requires_grad=True)

    def forward(self, u: torch.Tensor):
        u_hat = torch.einsum('ijnm,bin->bijm', self.weight, u)
        b = u.new_zeros(u.shape[0], self.in_caps, self.out_caps)
        v = None
        for _i in range(self.iterations):
            c = self.softmax(b)
            s = torch.einsum('bij,bijm->bjm', c, u_hat)
            v = self.squash(s)
            a = torch.einsum('bjm,bijm->bij', v, u_hat)
            b = b + a
        return v


class MarginLoss(nn.Module):
    """Margin loss for class existence, as upstream's code has it (its ``max(0, .)`` terms are not squared there)."""

    def __init__(self, *, n_labels: int, lambda_: float = 0.5, m_positive: float = 0.9, m_negative: float = 0.1):
        super().__init__()
        self.m_negative = m_negative
        self.m_positive = m_positive
        self.lambda_ = lambda_
        self.n_labels = n_labels

    def forward(self, v: torch.Tensor, labels: torch.Tensor):
        v_norm = torch.sqrt((v ** 2).sum(dim=-1))
        labels = torch.eye(self.n_labels, device=labels.device)[labels]
        loss = labels * F.relu(self.m_positive - v_norm) + \
            self.lambda_ * (1.0 - labels) * F.relu(v_norm - self.m_negative)
        return loss.sum(dim=-1).mean()


class MNISTCapsuleNetworkModel(nn.Module):
    """Upstream's model with its widths as arguments (upstream: conv 256, 32 primary capsule channels, decoder
    512 and 1024)."""

    def __init__(self, conv_channels=256, caps_channels=32, dec1=512, dec2=1024, squash_identity=False):
        super().__init__()
        self.caps_channels = caps_channels
        self.conv1 = nn.Conv2d(in_channels=1, out_channels=conv_channels, kernel_size=9, stride=1)
        self.conv2 = nn.Conv2d(in_channels=conv_channels, out_channels=caps_channels * 8, kernel_size=9, stride=2,
                               padding=0)
        self.squash = Squash(identity=squash_identity)
        self.digit_capsules = Router(caps_channels * 6 * 6, 10, 8, 16, 3, squash_identity=squash_identity)
        self.decoder = nn.Sequential(
            nn.Linear(16 * 10, dec1),
            nn.ReLU(),
            nn.Linear(dec1, dec2),
            nn.ReLU(),
            nn.Linear(dec2, 784),
            nn.Sigmoid()
        )

    def forward(self, data: torch.Tensor):
        x = F.relu(self.conv1(data))
        x = self.conv2(x)
        caps = x.view(x.shape[0], 8, self.caps_channels * 6 * 6).permute(0, 2, 1)
        caps = self.squash(caps)
        caps = self.digit_capsules(caps)
        with torch.no_grad():
            pred = (caps ** 2).sum(-1).argmax(-1)
            mask = torch.eye(10, device=data.device)[pred]
        reconstructions = self.decoder((caps * mask[:, :, None]).view(x.shape[0], -1))
        reconstructions = reconstructions.view(-1, 1, 28, 28)
        return caps, reconstructions, pred


def evaluate(model, loader, margin_loss, reconstruction_loss):
    model.eval()
    correct, total, loss_sum = 0, 0, 0.0
    with torch.no_grad():
        for data, target in loader:
            caps, reconstructions, pred = model(data)
            loss = margin_loss(caps, target) + 0.0005 * reconstruction_loss(reconstructions, data)
            loss_sum += loss.item() * len(target)
            correct += (pred == target).sum().item()
            total += len(target)
    return loss_sum / total, correct / total


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, conv_init_std: float | None = None,
          squash_identity: bool = False, epochs: int = 3, conv_channels: int = 64, caps_channels: int = 8,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    d_train, d_test = digits28(raw_pixels)
    g = torch.Generator()
    g.manual_seed(seed)
    train_loader = torch.utils.data.DataLoader(d_train, batch_size=64, shuffle=True, generator=g)
    valid_loader = torch.utils.data.DataLoader(d_test, batch_size=1024, shuffle=False)

    model = MNISTCapsuleNetworkModel(conv_channels=conv_channels, caps_channels=caps_channels,
                                     squash_identity=squash_identity)
    if conv_init_std is not None:  # the bug: normal_(0, std) on both convolutions' weights
        for m in (model.conv1, model.conv2):
            nn.init.normal_(m.weight, 0.0, conv_init_std)
    lr = 1e-3 * lr_mult
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)
    reconstruction_loss = nn.MSELoss()
    margin_loss = MarginLoss(n_labels=10)
    losses = []

    t0 = time.time()
    for epoch in range(epochs):
        model.train(True)
        correct = total = 0
        for data, target in train_loader:
            caps, reconstructions, pred = model(data)
            loss = margin_loss(caps, target) + 0.0005 * reconstruction_loss(reconstructions, data)
            correct += (pred == target).sum().item()
            total += len(target)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            optimizer.zero_grad()
            losses.append(loss.item())
        if verbose:
            print(f"epoch {epoch + 1} loss {np.mean(losses[-22:]):.4f} train acc {correct / total:.3f} "
                  f"({time.time() - t0:.1f}s)", flush=True)
    valid_loss, acc = evaluate(model, valid_loader, margin_loss, reconstruction_loss)
    monitor.close()
    if verbose:
        print(f"valid loss {valid_loss:.4f} accuracy {acc:.4f}")
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc), "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"valid_loss": valid_loss, "train_loss": float(np.mean(losses[-20:])), "steps": len(losses),
                      "lr": lr},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="capsnet", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"capsnet_healthy_s{s}", "healthy", s, {}, "unchanged (conv 64, 8x8 primary capsules on 6x6, 3 routing "
           "iterations, margin loss + 0.0005 reconstruction MSE, Adam lr 1e-3, batch 64, 3 epochs)", False)
     for s in (1, 2, 3)]
    + [_case(f"capsnet_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("capsnet_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (1e-06)")]
    + [_case(f"capsnet_conv_init_std1_s{s}", "init_large", s, {"conv_init_std": 1.0},
             "nn.init.normal_(std=1.0) on conv1's and conv2's weights instead of PyTorch's default "
             "(kaiming_uniform_, a=sqrt(5))") for s in (1, 2)]
    + [_case(f"capsnet_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             "raw 0..255 pixel values: no ToTensor scaling, no Normalize (the reconstruction target too)")
       for s in (1, 2)]
    + [_case("capsnet_no_squash_s1", "no_norm", 1, {"squash_identity": True},
             "Squash.forward returns s unchanged (identity) in the primary capsules and in the routing")]
)


if __name__ == "__main__":
    import sys
    kw = dict(a.split("=") for a in sys.argv[1:])
    kw = {k: (float(v) if "." in v or "e" in v else int(v)) for k, v in kw.items()}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
