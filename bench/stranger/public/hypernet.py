"""g1910/HyperNetworks: a static hypernetwork (Ha, Dai & Le 2016) generating a ResNet's kernels, watched by gradmedic.

Adapted from https://github.com/g1910/HyperNetworks (commit 5b75f2b959141ece82a47c3b0e6246b91fea4246; GNU GPL v3, see
LICENSE-hypernet): ``hypernetwork_modules.py`` (``HyperNetwork``: a two-layer linear map from a 64-d layer embedding
z to a 16x16x3x3 kernel chunk, ``w1``, ``b1``, ``w2``, ``b2`` drawn as ``torch.fmod(torch.randn(...), 2)``),
``primary_net.py`` (``Embedding``: a grid of learned z's, fmod(randn, 2), each turned into a chunk and the chunks
concatenated into the layer's kernel; ``PrimaryNetwork``: a 3x3 stem conv with BatchNorm, residual blocks whose two
3x3 kernels per block come from the one shared hypernetwork, global average pool, ``nn.Linear(64, 10)``) and
``resnet_blocks.py`` (``ResNetBlock``: ``F.conv2d`` with the generated kernels, BatchNorm, ReLU, the identity or a
1x1 strided conv shortcut) are copied below; ``train.py``'s loop: ``optim.Adam(net.parameters(), lr=0.002,
weight_decay=0.0005)``, ``MultiStepLR(milestones=[168000, 336000, 400000, 450000, 550000, 600000], gamma=0.5)``
stepped every iteration, ``nn.CrossEntropyLoss()``, batch 128 shuffled, ``optimizer.zero_grad()`` / forward / loss /
``loss.backward()`` / ``optimizer.step()`` / ``lr_scheduler.step()``, no clipping, a test pass after every epoch with
the net left in training mode (no ``net.eval()``: BatchNorm normalizes each test batch of 128 by its own statistics;
kept).

Changed to run offline on one CPU thread in ~10-15 s: CIFAR-10 (torchvision, 3x32x32) is scikit-learn's
``load_digits`` split 80/20 (random_state=0; 1437 training, 360 test images) as 1x8x8 images, /16 as ToTensor gives
them, then Normalize with the training set's mean and std (one channel; upstream's CIFAR means and stds); the stem
conv takes 1 channel instead of 3; upstream's augmentation RandomCrop(32, padding=4) is RandomCrop(8, padding=1)
(the pad filled with a blank pixel's value), RandomHorizontalFlip left out (digits are not mirror-symmetric); the
ResNet has 1 block per stage instead of 6 (stages of 16, 32, 64 channels, the second and third starting with stride
2 and the 1x1 shortcut, built by upstream's rule; 6 generated conv kernels made of 1+1, 2+4, 8+16 hypernetwork
chunks instead of 36 layers) and ``AvgPool2d(2)`` on the final 2x2 maps instead of ``AvgPool2d(8)`` on 8x8; EPOCHS =
25 epochs of 12 steps (300 iterations) instead of max_iter = 1000000, so the MultiStepLR (kept with upstream's
milestones) never fires, as in upstream's first 168000 iterations; ``.cuda()`` and ``Variable`` left out (CPU); the
test pass runs under ``torch.no_grad()`` and the last epoch's test accuracy is the metric; no checkpoint saving or
resuming; ``torch.manual_seed(seed)`` before the model is built and a generator seeded with the seed for the shuffle
and the crops; prints only with ``verbose``.  Knobs (one per variant): ``lr_mult``; ``raw_pixels`` (the 0..16 values,
no scaling, no Normalize); ``hyper_init_mult`` multiplies the hypernetwork's four fmod(randn, 2) draws; ``bn=False``
puts identities in place of every BatchNorm2d; ``zero_grad=False``; ``batch_size``; ``z_dim``.

The watch, as a user would: ``monitor = gradmedic.watch(net, optimizer, every=10)`` right after the Adam, the
MultiStepLR and the criterion are built, ``monitor.step(loss)`` right after ``loss.backward()``, before
``optimizer.step()``; ``monitor.close()`` after the loop.  Metric "accuracy" on the 360 test digits (chance 0.1).

``CASES`` (program "hypernet"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10, x100 (seeds 1 and 2), x1000, /1000; raw 0..16 pixels; the hypernetwork's weights drawn x10 (seeds 1 and
2) and x100 (seed 1, added after x10 came out ambiguous on both seeds); every BatchNorm removed (seeds 1 and 2);
``optimizer.zero_grad()`` left out; and two changes expected harmless: batch 256 and z_dim 128 (cause "healthy").
Labels come from run.py's outcome rules only.
Recorded (cases-public144; 17 runs, 7-14 s each, the first 28 s with the start-up on a loaded machine): healthy test
accuracy 0.975, 0.981, 0.989 on seeds 1-3 (training loss 2.31-2.34 over the first 5 steps -> 0.076-0.093 over the
last 20, largest 2.34-2.39, every loss finite); lr x10 (0.02): 0.981: healthy; lr x100 (0.2): first losses 4.5-6.5,
largest 10.5-21.5, training loss 1.17-1.20, 0.564 (seed 1) and 0.567 (seed 2): broken; lr x1000 (2): first-5 mean
5604, largest 27677, training loss 8.5, 0.100: broken; lr /1000: the loss stays at 2.33, 0.108: broken; raw 0..16
pixels: 0.978 (the stem's BatchNorm divides the scale out): healthy; hypernetwork x10: training loss 0.52 and 0.45,
0.894 (seed 1) and 0.917 (seed 2), 8.1 and 6.4 points below the control: ambiguous; hypernetwork x100: 0.889,
training loss 0.53 (almost the x10 run: with BatchNorm after every generated conv the kernels' scale only slows their
learning): ambiguous; BatchNorm removed: the fmod(randn, 2) hypernetwork makes kernels of std ~40 and the loss starts
near 2e14-3e14 (largest 5.7e14, still finite), training loss 4e10-3e11, 0.081 and 0.106: broken; zero_grad left out:
training loss 0.79, 0.806: broken; batch 256: 0.956 (training loss 0.19 after its 150 steps): healthy; z_dim 128:
0.986: healthy.  Labels: 7 healthy (3 programs, lr x10, raw pixels, batch 256, z_dim 128), 7 broken, 3 ambiguous.
Every recorded loss was finite.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parameter import Parameter

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(net, optimizer, every=10) right after optim.Adam(net.parameters(), lr=0.002, weight_decay=0.0005) "
              "and the MultiStepLR are built; monitor.step(loss) right after loss.backward(), before optimizer.step() "
              "and lr_scheduler.step() (optimizer.zero_grad() comes before the forward, upstream's order; no clipping)")

learning_rate = 0.002
weight_decay = 0.0005
milestones = [168000, 336000, 400000, 450000, 550000, 600000]
max_iter = 1000000
BATCH = 128
EPOCHS = 25  # upstream: max_iter = 1000000 iterations (about 2560 CIFAR-10 epochs)
SIZE = 8  # the 8x8 digits as they come (upstream: 32x32 CIFAR-10 images)


# ---- hypernetwork_modules.py --------------------------------------------------------------------------------------

class HyperNetwork(nn.Module):

    def __init__(self, f_size = 3, z_dim = 64, out_size=16, in_size=16, init_mult=1.0):  # noqa: E251 (upstream)
        super(HyperNetwork, self).__init__()  # noqa: UP008 (upstream)
        self.z_dim = z_dim
        self.f_size = f_size
        self.out_size = out_size
        self.in_size = in_size

        # upstream: .cuda() on each tensor; init_mult (1.0 upstream) is the init_large variant's knob
        self.w1 = Parameter(torch.fmod(torch.randn((self.z_dim, self.out_size*self.f_size*self.f_size)),2) * init_mult)
        self.b1 = Parameter(torch.fmod(torch.randn(self.out_size*self.f_size*self.f_size),2) * init_mult)

        self.w2 = Parameter(torch.fmod(torch.randn((self.z_dim, self.in_size*self.z_dim)),2) * init_mult)
        self.b2 = Parameter(torch.fmod(torch.randn(self.in_size*self.z_dim),2) * init_mult)

    def forward(self, z):

        h_in = torch.matmul(z, self.w2) + self.b2
        h_in = h_in.view(self.in_size, self.z_dim)

        h_final = torch.matmul(h_in, self.w1) + self.b1
        kernel = h_final.view(self.out_size, self.in_size, self.f_size, self.f_size)

        return kernel


# ---- resnet_blocks.py ---------------------------------------------------------------------------------------------

class IdentityLayer(nn.Module):

    def forward(self, x):
        return x


class ResNetBlock(nn.Module):

    def __init__(self, in_size=16, out_size=16, downsample = False, bn=True):  # noqa: E251 (upstream)
        super(ResNetBlock,self).__init__()  # noqa: UP008 (upstream)
        self.out_size = out_size
        self.in_size = in_size
        if downsample:
            self.stride1 = 2
            self.reslayer = nn.Conv2d(in_channels=self.in_size, out_channels=self.out_size, stride=2, kernel_size=1)
        else:
            self.stride1 = 1
            self.reslayer = IdentityLayer()

        # the no_norm variant (bn=False) puts identities in place of the two BatchNorms
        self.bn1 = nn.BatchNorm2d(out_size) if bn else IdentityLayer()
        self.bn2 = nn.BatchNorm2d(out_size) if bn else IdentityLayer()

    def forward(self, x, conv1_w, conv2_w):

        residual = self.reslayer(x)

        out = F.relu(self.bn1(F.conv2d(x, conv1_w, stride=self.stride1, padding=1)), inplace=True)
        out = self.bn2(F.conv2d(out, conv2_w, padding=1))

        out += residual

        out = F.relu(out)

        return out


# ---- primary_net.py -----------------------------------------------------------------------------------------------

class Embedding(nn.Module):

    def __init__(self, z_num, z_dim):
        super(Embedding, self).__init__()  # noqa: UP008 (upstream)

        self.z_list = nn.ParameterList()
        self.z_num = z_num
        self.z_dim = z_dim

        h,k = self.z_num

        for _i in range(h):  # upstream: i, j
            for _j in range(k):
                self.z_list.append(Parameter(torch.fmod(torch.randn(self.z_dim), 2)))  # upstream: .cuda()

    def forward(self, hyper_net):
        ww = []
        h, k = self.z_num
        for i in range(h):
            w = []
            for j in range(k):
                w.append(hyper_net(self.z_list[i*k + j]))
            ww.append(torch.cat(w, dim=1))
        return torch.cat(ww, dim=0)


class PrimaryNetwork(nn.Module):

    def __init__(self, z_dim=64, blocks_per_stage=1, bn=True, hyper_init_mult=1.0):
        super(PrimaryNetwork, self).__init__()  # noqa: UP008 (upstream)
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)  # upstream: nn.Conv2d(3, 16, 3, padding=1) (RGB)
        self.bn1 = nn.BatchNorm2d(16) if bn else IdentityLayer()  # no_norm variant: bn=False

        self.z_dim = z_dim
        self.hope = HyperNetwork(z_dim=self.z_dim, init_mult=hyper_init_mult)

        # upstream: 18 blocks, 6 per stage (the 36 embeddings' sizes and the filter sizes written out for that);
        # here blocks_per_stage per stage, built by the same rule (stage widths 16, 32, 64; the first block of the
        # second and third stage goes from the last width to the new one with stride 2 and a 1x1 conv shortcut)
        n = blocks_per_stage
        self.n_blocks = 3 * n
        self.zs_size = ([[1, 1]] * (2 * n) + [[2, 1]] + [[2, 2]] * (2 * n - 1)
                        + [[4, 2]] + [[4, 4]] * (2 * n - 1))

        self.filter_size = ([[16, 16]] * n + [[16, 32]] + [[32, 32]] * (n - 1)
                            + [[32, 64]] + [[64, 64]] * (n - 1))

        self.res_net = nn.ModuleList()

        for i in range(self.n_blocks):  # upstream: range(18)
            down_sample = False
            if i > n - 1 and i % n == 0:  # upstream: i > 5 and i % 6 == 0
                down_sample = True
            self.res_net.append(ResNetBlock(self.filter_size[i][0], self.filter_size[i][1], downsample=down_sample,
                                            bn=bn))

        self.zs = nn.ModuleList()

        for i in range(2 * self.n_blocks):  # upstream: range(36)
            self.zs.append(Embedding(self.zs_size[i], self.z_dim))

        self.global_avg = nn.AvgPool2d(SIZE // 4)  # upstream: nn.AvgPool2d(8) on the 8x8 maps of 32x32 inputs
        self.final = nn.Linear(64,10)

    def forward(self, x):

        x = F.relu(self.bn1(self.conv1(x)))

        for i in range(self.n_blocks):  # upstream: range(18)
            # if i != 15 and i != 17:
            w1 = self.zs[2*i](self.hope)
            w2 = self.zs[2*i+1](self.hope)
            x = self.res_net[i](x, w1, w2)

        x = self.global_avg(x)
        x = self.final(x.view(-1,64))

        return x


# ---- data: load_digits in place of CIFAR-10 ----------------------------------------------------------------------

def digits(input_scale: float | None = 1.0):
    """CIFAR-10's stand-in: load_digits split 80/20 (random_state=0; 1437 training, 360 test images) as 1x8x8 images,
    /16 into [0, 1] as ToTensor gives them, then Normalize with the training set's mean and std (one channel) times
    ``input_scale``; also the value of a blank pixel.  ``input_scale=None``: the raw 0..16 pixel values, with no
    ToTensor scaling or Normalize."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)

    def prep(x):
        return torch.tensor(x, dtype=torch.float32).unsqueeze(1)

    xtr, xte = prep(xtr), prep(xte)
    if input_scale is None:
        return xtr, torch.tensor(ytr), xte, torch.tensor(yte), 0.0
    xtr, xte = xtr / 16.0, xte / 16.0
    mean, std = float(xtr.mean()), float(xtr.std())
    xtr, xte = (xtr - mean) / std * input_scale, (xte - mean) / std * input_scale
    return xtr, torch.tensor(ytr), xte, torch.tensor(yte), -mean / std * input_scale


def random_crop(x, pad=1, fill=0.0, gen=None):
    """transforms.RandomCrop(32, padding=4) at this size: pad by ``pad`` with ``fill`` (the value a blank 0 pixel has
    after the scaling, as torchvision pads the image with 0 before ToTensor and Normalize) and cut a random SIZE x SIZE
    window per image."""
    n = x.shape[0]
    xp = F.pad(x, (pad, pad, pad, pad), value=fill)
    ox = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    oy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    out = torch.empty_like(x)
    for i in range(n):
        out[i] = xp[i, :, oy[i]:oy[i] + x.shape[2], ox[i]:ox[i] + x.shape[3]]
    return out


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, input_scale: float = 1.0,
          hyper_init_mult: float = 1.0, bn: bool = True, zero_grad: bool = True, batch_size: int = BATCH,
          z_dim: int = 64, blocks_per_stage: int = 1, epochs: int = EPOCHS, crop: bool = True, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    torch.manual_seed(seed)
    xtr, ytr, xte, yte, blank = digits(None if raw_pixels else input_scale)
    gen = torch.Generator().manual_seed(seed)

    net = PrimaryNetwork(z_dim=z_dim, blocks_per_stage=blocks_per_stage, bn=bn, hyper_init_mult=hyper_init_mult)

    steps_per_epoch = -(-len(xtr) // batch_size)
    # upstream's milestones (iterations out of max_iter = 1000000) kept: a run this short never reaches the first
    # (168000), as upstream's first 168000 iterations do not
    ms = list(milestones)

    lr = learning_rate * lr_mult
    optimizer = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    lr_scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer=optimizer, milestones=ms, gamma=0.5)
    criterion = nn.CrossEntropyLoss()
    monitor = gradmedic.watch(net, optimizer, every=every)  # gradmedic

    losses, accs = [], []
    total_iter = 0
    print_freq = 50
    for epoch in range(epochs):
        running_loss = 0.0
        perm = torch.randperm(len(xtr), generator=gen)  # the DataLoader's shuffle=True
        for i in range(steps_per_epoch):
            idx = perm[i * batch_size:(i + 1) * batch_size]
            inputs, labels = xtr[idx], ytr[idx]
            if crop:  # upstream: RandomCrop(32, padding=4) and RandomHorizontalFlip() (no flip for digits)
                inputs = random_crop(inputs, fill=blank, gen=gen)

            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()

            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            monitor.step(loss)  # gradmedic

            optimizer.step()
            lr_scheduler.step()

            losses.append(float(loss.detach()))
            running_loss += losses[-1]
            if verbose and i % print_freq == (print_freq - 1):
                print("[Epoch %d, Total Iterations %6d] Loss: %.4f" % (epoch + 1, total_iter + 1,  # noqa: UP031
                                                                      running_loss / print_freq))
                running_loss = 0.0
            total_iter += 1

        # upstream: the test pass after every epoch (net stays in training mode: BatchNorm uses each test batch's own
        # statistics, kept); here after every epoch too, the last one is the metric; no checkpoint saving
        correct = 0
        with torch.no_grad():  # upstream: Variable without no_grad (no number changes)
            for j in range(0, len(xte), 128):
                toutputs = net(xte[j:j + 128])
                _, predicted = torch.max(toutputs.data, 1)
                correct += int((predicted == yte[j:j + 128]).sum())
        accs.append(correct / len(xte))
        if verbose:
            print("After epoch %d, accuracy: %.4f %% (loss %.4f, %.1fs)" % (  # noqa: UP031
                epoch + 1, 100.0 * accs[-1], float(np.mean(losses[-steps_per_epoch:])), time.time() - t0))
    monitor.close()

    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": accs[-1], "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(lr=lr, train_loss=float(np.mean(la[-20:])), first_loss=float(np.mean(la[:5])),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), steps=len(la), epochs=epochs,
                          epoch_accs=[float(a) for a in accs], milestones=ms, lr_mult=lr_mult,
                          raw_pixels=raw_pixels, input_scale=input_scale, hyper_init_mult=hyper_init_mult, bn=bn,
                          zero_grad=zero_grad, batch_size=batch_size, z_dim=z_dim, blocks_per_stage=blocks_per_stage,
                          crop=crop),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="hypernet", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"g1910 HyperNetworks (a static hypernetwork, z_dim 64, generating the 3x3 kernels of a 3-block ResNet from "
      f"learned layer embeddings, F.conv2d with BatchNorm; Adam lr {learning_rate:g}, weight_decay {weight_decay:g}, "
      f"MultiStepLR, batch {BATCH}, {EPOCHS} epochs of load_digits)")
CASES: list[dict] = (
    [_case(f"hypernet_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"hypernet_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({learning_rate * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("hypernet_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3},
             f"{_P}: Adam lr /1000 ({learning_rate * 1e-3:g})")]
    + [_case("hypernet_raw_pixels_s1", "unscaled_inputs", 1, {"raw_pixels": True},
             f"{_P}: raw 0..16 pixel values (no ToTensor scaling, no Normalize)")]
    + [_case(f"hypernet_hyper_init_x10_s{s}", "init_large", s, {"hyper_init_mult": 10.0},
             f"{_P}: the hypernetwork's w1, b1, w2, b2 drawn as 10 * fmod(randn, 2) instead of fmod(randn, 2) "
             "(generated kernels about 100x larger)") for s in (1, 2)]
    + [_case("hypernet_hyper_init_x100_s1", "init_large", 1, {"hyper_init_mult": 100.0},
             f"{_P}: the hypernetwork's w1, b1, w2, b2 drawn as 100 * fmod(randn, 2) (generated kernels about 1e4x "
             "larger; added after x10 came out ambiguous on both seeds)")]
    + [_case(f"hypernet_no_bn_s{s}", "no_norm", s, {"bn": False},
             f"{_P}: every BatchNorm2d removed (the stem's and both of each block's)") for s in (1, 2)]
    + [_case("hypernet_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("hypernet_batch256_s1", "healthy", 1, {"batch_size": 256},
             f"{_P}: batch 256 instead of 128 (expected harmless)")]
    + [_case("hypernet_zdim128_s1", "healthy", 1, {"z_dim": 128},
             f"{_P}: z_dim 128 instead of 64 (layer embeddings and hypernetwork twice as wide; expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
