"""facebookresearch/ConvNeXt (a tiny ``ConvNeXt``: depthwise 7x7 blocks, channels-last LayerNorm, layer scale) trained
on digits as its main.py trains, watched by gradmedic.

Adapted from https://github.com/facebookresearch/ConvNeXt (commit 048efcea897d999aed302f2639b6270aedf8d4c8;
MIT License, Copyright (c) Meta Platforms, Inc. and affiliates, see LICENSE-ConvNeXt): models/convnext.py (the
model), main.py, engine.py ``train_one_epoch``, optim_factory.py ``create_optimizer``/``get_parameter_groups`` and
utils.py ``cosine_scheduler`` (the training).  Kept as in the original: ``Block`` (depthwise Conv2d 7x7 padding 3,
``LayerNorm`` channels_last eps 1e-6, ``pwconv1`` Linear(dim, 4 dim), GELU, ``pwconv2`` Linear(4 dim, dim), layer scale
``gamma = layer_scale_init_value * ones(dim)`` with layer_scale_init_value 1e-6, drop path, residual add); ``ConvNeXt``
(stem conv + channels_first LayerNorm, three downsampling layers LayerNorm + Conv2d 2x2 stride 2, four stages, global
average pool, final nn.LayerNorm, head Linear, ``_init_weights``: trunc_normal_(std=.02) on every Conv2d and Linear
weight, zero biases, head_init_scale 1.0); the repository's ``LayerNorm`` class (channels_last via F.layer_norm,
channels_first by hand); drop path rates ``linspace(0, drop_path_rate, sum(depths))`` with drop_path_rate 0.1 (as
TRAINING.md uses for convnext_tiny).  Training as main.py's defaults: AdamW (eps 1e-8, weight decay 0.05 on the
"decay" group only, none on 1-D parameters and biases, as get_parameter_groups), lr 4e-3 and min_lr 1e-6 under
``cosine_scheduler`` (linear warmup from 0, then a cosine to min_lr, set per iteration into every param group),
label smoothing 0.1 cross-entropy, no gradient clipping (``--clip_grad`` defaults to None), the train loader with
drop_last=True, the loop of engine.py (forward, loss, backward, optimizer.step, zero_grad), test accuracy at the end.

Changed: timm is not installed, so ``timm.models.layers.trunc_normal_`` is torch's ``nn.init.trunc_normal_`` (same
meaning: normal(0, std) truncated at +-2, which at std .02 is no truncation in practice), timm's ``DropPath`` is
rewritten in plain torch (per-sample Bernoulli keep mask scaled by 1/keep_prob in training, identity in eval), and
timm's ``LabelSmoothingCrossEntropy(smoothing=0.1)`` is ``nn.CrossEntropyLoss(label_smoothing=0.1)`` (the same loss:
0.9 times the NLL of the target plus 0.1 times the mean NLL over all classes).  The model is tiny for 28x28
digits and one CPU thread: depths [1, 1, 2, 1], dims [16, 32, 64, 128], in_chans 1, num_classes 10; the stem is
Conv2d kernel 2 stride 2 instead of 4/4 (with 4/4 a 28x28 image becomes 7 -> 3 -> 1 -> 0 pixels after the three
downsamplings; with 2/2 it is 14 -> 7 -> 3 -> 1).  The data is scikit-learn's ``load_digits`` upsampled to 1x28x28
(``digits28`` from mnist.py: 1437 training and 360 test images, normalized by the training set's mean and std; raw
0..255 values are the ``raw_pixels`` variant), shuffled each epoch by a ``torch.Generator`` seeded with the run's
seed; none of main.py's ImageNet augmentation (RandAugment, random erasing, mixup/cutmix: their soft targets would
replace the label-smoothing loss), no EMA, no AMP, one process.  Batch 64 (main.py's per-GPU default) with the lr
left at 4e-3 (not scaled down to batch 64, which would give 6e-5 and no training in a short run), 10 epochs of 22
steps (220 steps) with 1 warmup epoch (upstream: 300 epochs with 20 of warmup); a run takes about 25 s of CPU.

The watch: ``gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is built,
``monitor.step(loss)`` after ``loss.backward()``, before ``optimizer.step()``.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the same
seed's healthy run: lr (and min_lr) x10, x100 (seeds 1 and 2), x1000 and /1000; N(0, 1) instead of
trunc_normal_(std=.02) on every Conv2d and Linear weight (seeds 1 and 2); zeros_ on the stem conv (weight and bias);
layer_scale_init_value 1.0 instead of 1e-6 (seeds 1 and 2: gamma starts at 1, as with no layer scale);
raw 0..255 pixels (seeds 1 and 2).  Labels come from run.py's outcome rules only.
Recorded (cases-public8, 721 s for the 15 runs on a shared 2-core machine; 38-67 s a run): healthy 0.978-0.981 test
accuracy on seeds 1-3 (training loss 2.2-2.3 -> 0.52, the label-smoothing floor being about 0.5); lr x10 (0.04)
0.981: healthy; lr x100 0.083 and 0.083, x1000 0.111 (loss up to 1051 on the way), /1000 0.211 (loss 2.36 -> 2.24):
broken; N(0, 1) weights 0.911 and 0.931 (starting loss 14-18, largest 15-21, over twice the control's): ambiguous;
the zeroed stem conv (0.975: the channels_first LayerNorm after it sees zero variance and divides by sqrt(1e-6), so
the zero weights get a gradient of norm ~6e11 on the first step and AdamW's normalized step moves them off zero),
layer_scale_init_value 1.0 (0.975, 0.978) and raw 0..255 pixels (0.967, 0.975: the stem's LayerNorm removes the
pixels' scale) train as well as the program: labelled healthy.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mnist import digits28

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("monitor.step(loss) after loss.backward() (label-smoothing 0.1 cross-entropy on the logits), before "
              "optimizer.step() (AdamW, lr set per iteration by the warmup-cosine schedule before the forward pass)")


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
    """timm.models.layers.trunc_normal_ (same signature and meaning)."""
    return nn.init.trunc_normal_(tensor, mean=mean, std=std, a=a, b=b)


def drop_path(x, drop_prob: float = 0.0, training: bool = False):
    """timm's drop_path: drop whole samples of a residual branch (stochastic depth)."""
    if drop_prob == 0.0 or not training:
        return x
    keep_prob = 1 - drop_prob
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    random_tensor = x.new_empty(shape).bernoulli_(keep_prob)
    if keep_prob > 0.0:
        random_tensor.div_(keep_prob)
    return x * random_tensor


class DropPath(nn.Module):
    """timm.models.layers.DropPath in plain torch."""

    def __init__(self, drop_prob=None):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x):
        return drop_path(x, self.drop_prob, self.training)


class Block(nn.Module):
    r""" ConvNeXt Block. There are two equivalent implementations:
    (1) DwConv -> LayerNorm (channels_first) -> 1x1 Conv -> GELU -> 1x1 Conv; all in (N, C, H, W)
    (2) DwConv -> Permute to (N, H, W, C); LayerNorm (channels_last) -> Linear -> GELU -> Linear; Permute back
    We use (2) as we find it slightly faster in PyTorch

    Args:
        dim (int): Number of input channels.
        drop_path (float): Stochastic depth rate. Default: 0.0
        layer_scale_init_value (float): Init value for Layer Scale. Default: 1e-6.
    """
    def __init__(self, dim, drop_path=0., layer_scale_init_value=1e-6):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)  # depthwise conv
        self.norm = LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)  # pointwise/1x1 convs, implemented with linear layers
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(layer_scale_init_value * torch.ones(dim),
                                  requires_grad=True) if layer_scale_init_value > 0 else None
        self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()

    def forward(self, x):
        input = x
        x = self.dwconv(x)
        x = x.permute(0, 2, 3, 1)  # (N, C, H, W) -> (N, H, W, C)
        x = self.norm(x)
        x = self.pwconv1(x)
        x = self.act(x)
        x = self.pwconv2(x)
        if self.gamma is not None:
            x = self.gamma * x
        x = x.permute(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)

        x = input + self.drop_path(x)
        return x


class ConvNeXt(nn.Module):
    r""" ConvNeXt
        A PyTorch impl of : `A ConvNet for the 2020s`  -
          https://arxiv.org/pdf/2201.03545.pdf

    Args:
        in_chans (int): Number of input image channels. Default: 3
        num_classes (int): Number of classes for classification head. Default: 1000
        depths (tuple(int)): Number of blocks at each stage. Default: [3, 3, 9, 3]
        dims (int): Feature dimension at each stage. Default: [96, 192, 384, 768]
        drop_path_rate (float): Stochastic depth rate. Default: 0.
        layer_scale_init_value (float): Init value for Layer Scale. Default: 1e-6.
        head_init_scale (float): Init scaling value for classifier weights and biases. Default: 1.
        stem_kernel (int): the stem conv's kernel and stride (4 upstream; 2 here for 28x28 digits).
    """
    def __init__(self, in_chans=3, num_classes=1000,
                 depths=[3, 3, 9, 3], dims=[96, 192, 384, 768], drop_path_rate=0.,  # noqa: B006 (as upstream)
                 layer_scale_init_value=1e-6, head_init_scale=1., stem_kernel=4,
                 ):
        super().__init__()

        self.downsample_layers = nn.ModuleList()  # stem and 3 intermediate downsampling conv layers
        stem = nn.Sequential(
            nn.Conv2d(in_chans, dims[0], kernel_size=stem_kernel, stride=stem_kernel),
            LayerNorm(dims[0], eps=1e-6, data_format="channels_first")
        )
        self.downsample_layers.append(stem)
        for i in range(3):
            downsample_layer = nn.Sequential(
                LayerNorm(dims[i], eps=1e-6, data_format="channels_first"),
                nn.Conv2d(dims[i], dims[i + 1], kernel_size=2, stride=2),
            )
            self.downsample_layers.append(downsample_layer)

        self.stages = nn.ModuleList()  # 4 feature resolution stages, each consisting of multiple residual blocks
        dp_rates = [x.item() for x in torch.linspace(0, drop_path_rate, sum(depths))]
        cur = 0
        for i in range(4):
            stage = nn.Sequential(
                *[Block(dim=dims[i], drop_path=dp_rates[cur + j],
                        layer_scale_init_value=layer_scale_init_value) for j in range(depths[i])]
            )
            self.stages.append(stage)
            cur += depths[i]

        self.norm = nn.LayerNorm(dims[-1], eps=1e-6)  # final norm layer
        self.head = nn.Linear(dims[-1], num_classes)

        self.apply(self._init_weights)
        self.head.weight.data.mul_(head_init_scale)
        self.head.bias.data.mul_(head_init_scale)

    def _init_weights(self, m):
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            trunc_normal_(m.weight, std=.02)
            nn.init.constant_(m.bias, 0)

    def forward_features(self, x):
        for i in range(4):
            x = self.downsample_layers[i](x)
            x = self.stages[i](x)
        return self.norm(x.mean([-2, -1]))  # global average pooling, (N, C, H, W) -> (N, C)

    def forward(self, x):
        x = self.forward_features(x)
        x = self.head(x)
        return x


class LayerNorm(nn.Module):
    r""" LayerNorm that supports two data formats: channels_last (default) or channels_first.
    The ordering of the dimensions in the inputs. channels_last corresponds to inputs with
    shape (batch_size, height, width, channels) while channels_first corresponds to inputs
    with shape (batch_size, channels, height, width).
    """
    def __init__(self, normalized_shape, eps=1e-6, data_format="channels_last"):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(normalized_shape))
        self.bias = nn.Parameter(torch.zeros(normalized_shape))
        self.eps = eps
        self.data_format = data_format
        if self.data_format not in ["channels_last", "channels_first"]:
            raise NotImplementedError
        self.normalized_shape = (normalized_shape, )

    def forward(self, x):
        if self.data_format == "channels_last":
            return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        elif self.data_format == "channels_first":
            u = x.mean(1, keepdim=True)
            s = (x - u).pow(2).mean(1, keepdim=True)
            x = (x - u) / torch.sqrt(s + self.eps)
            x = self.weight[:, None, None] * x + self.bias[:, None, None]
            return x


# training (main.py, optim_factory.py, utils.py, engine.py)

def get_parameter_groups(model, weight_decay=1e-5, skip_list=()):
    """optim_factory.get_parameter_groups without layer decay: no weight decay on 1-D parameters and biases."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue  # frozen weights
        if len(param.shape) == 1 or name.endswith(".bias") or name in skip_list:
            no_decay.append(param)
        else:
            decay.append(param)
    return [{"weight_decay": 0.0, "params": no_decay, "lr_scale": 1.0},
            {"weight_decay": weight_decay, "params": decay, "lr_scale": 1.0}]


def cosine_scheduler(base_value, final_value, epochs, niter_per_ep, warmup_epochs=0,
                     start_warmup_value=0, warmup_steps=-1):
    warmup_schedule = np.array([])
    warmup_iters = warmup_epochs * niter_per_ep
    if warmup_steps > 0:
        warmup_iters = warmup_steps
    if warmup_epochs > 0:
        warmup_schedule = np.linspace(start_warmup_value, base_value, warmup_iters)

    iters = np.arange(epochs * niter_per_ep - warmup_iters)
    schedule = np.array(
        [final_value + 0.5 * (base_value - final_value) * (1 + math.cos(math.pi * i / (len(iters)))) for i in iters])

    schedule = np.concatenate((warmup_schedule, schedule))

    assert len(schedule) == epochs * niter_per_ep
    return schedule


def evaluate(model, loader, criterion):
    model.eval()
    correct, total, loss_sum = 0, 0, 0.0
    with torch.no_grad():
        for images, target in loader:
            output = model(images)
            loss_sum += criterion(output, target).item() * len(target)
            correct += (output.argmax(dim=1) == target).sum().item()
            total += len(target)
    return loss_sum / total, correct / total


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init_std: float | None = None,
          zero_stem: bool = False, layer_scale_init_value: float = 1e-6, epochs: int = 10, warmup_epochs: int = 1,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    d_train, d_test = digits28(raw_pixels)
    g = torch.Generator()
    g.manual_seed(seed)
    batch_size = 64
    data_loader_train = torch.utils.data.DataLoader(d_train, batch_size=batch_size, shuffle=True, generator=g,
                                                    drop_last=True)
    data_loader_val = torch.utils.data.DataLoader(d_test, batch_size=int(1.5 * batch_size))

    model = ConvNeXt(in_chans=1, num_classes=10, depths=[1, 1, 2, 1], dims=[16, 32, 64, 128], drop_path_rate=0.1,
                     layer_scale_init_value=layer_scale_init_value, head_init_scale=1.0, stem_kernel=2)
    if init_std is not None:  # the bug: normal_(0, std) instead of trunc_normal_(std=.02) on every Conv2d/Linear weight
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, init_std)
    if zero_stem:  # the bug: zeros_ on the stem conv
        nn.init.zeros_(model.downsample_layers[0][0].weight)
        nn.init.zeros_(model.downsample_layers[0][0].bias)

    lr, min_lr, weight_decay = 4e-3 * lr_mult, 1e-6 * lr_mult, 0.05
    optimizer = torch.optim.AdamW(get_parameter_groups(model, weight_decay), lr=lr, weight_decay=0.0, eps=1e-8)
    monitor = gradmedic.watch(model, optimizer, every=every)
    num_training_steps_per_epoch = len(d_train) // batch_size
    lr_schedule_values = cosine_scheduler(lr, min_lr, epochs, num_training_steps_per_epoch,
                                          warmup_epochs=warmup_epochs)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)  # timm's LabelSmoothingCrossEntropy(smoothing=0.1)
    losses = []

    t0 = time.time()
    for epoch in range(epochs):
        model.train(True)
        optimizer.zero_grad()
        start_steps = epoch * num_training_steps_per_epoch
        for step, (samples, targets) in enumerate(data_loader_train):
            if step >= num_training_steps_per_epoch:
                continue
            it = start_steps + step  # global training iteration
            for param_group in optimizer.param_groups:
                param_group["lr"] = lr_schedule_values[it] * param_group["lr_scale"]
            output = model(samples)
            loss = criterion(output, targets)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            optimizer.zero_grad()
            losses.append(loss.item())
        if verbose:
            print(f"epoch {epoch + 1} loss {np.mean(losses[-22:]):.4f} lr {lr_schedule_values[it]:.2e} "
                  f"({time.time() - t0:.1f}s)", flush=True)
    test_loss, acc = evaluate(model, data_loader_val, criterion)
    monitor.close()
    if verbose:
        print(f"test loss {test_loss:.4f} accuracy {acc:.4f}")
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc), "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"test_loss": test_loss, "train_loss": float(np.mean(losses[-20:])), "steps": len(losses),
                      "lr": lr, "loss_first5": float(np.mean(losses[:5]))},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="convnext", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"convnext_healthy_s{s}", "healthy", s, {}, "unchanged (ConvNeXt depths [1,1,2,1] dims [16,32,64,128], "
           "stem 2x2, layer scale 1e-6, drop path 0.1; AdamW lr 4e-3 wd 0.05, warmup 1 epoch + cosine, "
           "label smoothing 0.1, batch 64, 10 epochs)", False) for s in (1, 2, 3)]
    + [_case(f"convnext_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"AdamW lr and min_lr x{k} (lr {4e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("convnext_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "AdamW lr and min_lr /1000 (lr 4e-06)")]
    + [_case(f"convnext_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) instead of trunc_normal_(std=.02) on every Conv2d and Linear weight")
       for s in (1, 2)]
    + [_case("convnext_zero_stem_s1", "symmetric_init", 1, {"zero_stem": True},
             "nn.init.zeros_ on the stem Conv2d (weight and bias)")]
    + [_case(f"convnext_layer_scale1_s{s}", "init_large", s, {"layer_scale_init_value": 1.0},
             "layer_scale_init_value 1.0 instead of 1e-6 (gamma starts at 1)") for s in (1, 2)]
    + [_case(f"convnext_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             "raw 0..255 pixel values: no ToTensor scaling, no Normalize") for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    r = train(verbose=True, **({"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}))
    print({k: v for k, v in r.items() if k != "monitors"})
