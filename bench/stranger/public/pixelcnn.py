"""jzbontar's PixelCNN (masked convolutions, 256-way softmax per pixel) on scikit-learn's digits, watched by gradmedic.

Adapted from https://github.com/jzbontar/pixelcnn-pytorch (commit 14c9414602e0694692c77a5e0d87188adcded118, main.py;
MIT License, Copyright (c) 2020 Jure Zbontar, see LICENSE-pixelcnn).  Kept as upstream: ``MaskedConv2d`` (copied below:
the mask buffer, type A without and type B with the centre tap, ``self.weight.data *= self.mask`` in every forward),
the network of 8 masked 7x7 convolutions (stride 1, padding 3, ``bias=False``; the first of type A, the other seven of
type B), each followed by ``nn.BatchNorm2d(fm)`` and ``nn.ReLU(True)``, then ``nn.Conv2d(fm, 256, 1)``: 256 logits per
pixel; PyTorch's default inits; the input as ``transforms.ToTensor()`` gives it (intensity / 255 in [0, 1]) and the
target ``(input[:, 0] * 255).long()`` (the 256 intensity levels); ``F.cross_entropy(net(input), target)``;
``optim.Adam(net.parameters())`` (lr 1e-3, betas (0.9, 0.999)); batch 128, shuffled training loader, test loader
unshuffled; the loop (``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``), ``net.train(True)`` for
training and ``net.train(False)`` for the per-epoch test loss, the mean of the test batches' cross-entropies (nats per
pixel), which is the metric after the last epoch.

Changed to run offline on one CPU thread in ~20 s: the data is scikit-learn's ``load_digits`` (1797 images of 8x8
with values 0..16; no MNIST download) at its own 8x8 size (a 7x7 kernel with padding 3 runs on it as on 28x28, so no
upsampling), its values mapped to the 256 levels as round(v * 255 / 16) (17 distinct levels: 0, 16, ..., 239, 255;
the model still predicts all 256) and fed as intensity / 255; a fixed split (``torch.randperm`` with generator seed 0)
of 297 test and 1500 training images, the same for every seed; fm = 32 instead of upstream's 64 (fm 64 takes 0.56 s
a step here, 7 s an epoch; fm 32 takes 0.15 s); EPOCHS = 8 epochs (12 steps each, 96 steps) instead of 25;
``torch.manual_seed(seed)`` (upstream sets none) and a seeded generator for the shuffle; the CPU instead of CUDA,
num_workers 0, no pin_memory; no per-epoch sampling and ``save_image`` (and no prints unless ``verbose``).  The
Python 2 / old-PyTorch idioms (``Variable``, ``volatile``, ``loss.data[0]``, ``async``) are written as today's
equivalents (``torch.no_grad()`` for the test pass); ``super().__init__``.

Knobs (one per variant): ``lr_mult`` scales Adam's rate; ``raw_pixels`` feeds the intensities 0..255 instead of
ToTensor's 0..1 (the targets stay the level indices); ``init_std`` draws every masked conv weight and the output conv's
weight from N(0, init_std) instead of PyTorch's default; ``zero_grad=False`` leaves ``optimizer.zero_grad()`` out;
``first_mask="B"`` builds the first layer with mask type B instead of A, so every output sees the pixel it predicts
(the leak); ``norm=False`` builds the network without its eight BatchNorm2d layers; ``batch_size`` and ``fm``.

The watch, as a user would: ``monitor = gradmedic.watch(net, optimizer, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the loop.
Metric "nll": the held-out negative log-likelihood in nats per pixel after the last epoch (upstream's nll_te, the mean
over the test batches); ``initial`` the same for the untrained network (eval mode, as the test pass runs; about
ln 256 = 5.545, the uniform guess over the 256 levels, which is ``chance``).  For the leaked-mask variant this
one-pass value is not a likelihood (each pixel's output has seen that pixel): there the metric is the NLL of the
distribution upstream's sampler draws from, computed as upstream samples (for each pixel in raster order, the network
fed the test image with that pixel and every later one set to 0, the output at that pixel read off; 64 passes of the
test set), for the untrained and the trained network alike; the one-pass value it was trained to lower is
``extra["nll_as_trained"]``.  Every run records, in ``extra``, both ways on the first 32 test images
(``nll32_one_pass``, ``nll32_as_sampled``): with the masks of upstream they agree (the check that the mask is causal).

``CASES`` (program "pixelcnn"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10, x100, x1000, /1000; raw 0..255 pixels in; N(0, 1) weights; no
``optimizer.zero_grad()`` (seeds 1 and 2); the first layer's mask of type B (seeds 1 and 2; causes.py has no cause
for a leak of the target into the input, so, as pttransformer.py files its missing causal mask, it is filed under
"wrong_loss": the loss trained is not the model's likelihood); ``nn.Softmax(dim=1)`` appended to the network, so
``F.cross_entropy`` gets probabilities (seeds 1 and 2, "wrong_loss"; added to the brief's list, as most of its changes
came out harmless; its metric is the model's own NLL, -log of the probability it gives the true level, and upstream's
cross-entropy of the probabilities is ``extra["nll_as_trained"]``); BatchNorm removed; and two changes expected
harmless: batch 256 and fm 16 (cause "healthy").
Recorded (cases-public114; 18 runs, 389 s for the first 16 on a shared 2-core machine under load 3-4: healthy runs
29-41 s wall, 25 s of CPU, variants 17-36 s, fm 16 6 s; about 20 s a healthy run on an idle core): healthy held-out
NLL 2.393, 2.534, 2.846 nats per pixel on seeds 1-3 (untrained 5.523, 5.557, 5.497; ln 256 = 5.545; training loss
5.1-5.5 over the first 5 steps -> 2.56-3.05 over the last 20; still falling fast at the end of the 8 epochs, every loss
finite; the one-pass and as-sampled NLL agree on the first 32 test images, 2.385 and 2.385): healthy.  lr x10: 1.679,
lr x100: 1.690 (both converge in ~2 epochs to ~1.68, far below the under-trained control): healthy; lr x1000 (Adam lr
1.0): first-5 loss 11.9, largest 25.2, then 1.872: ambiguous (better than the control, but its largest loss is over
twice the control's 5.41); lr /1000: 5.320: broken (half the progress); raw 0..255 pixels: 2.390 (the BatchNorm after
the bias-free first conv takes the scale out): healthy; N(0, 1) weights: untrained value 6.0e8 (eval mode, the
BatchNorm running statistics still at 0 and 1), first-5 training loss 9.3, then 3.390: ambiguous; optimizer.zero_grad()
left out: 2.131 (seed 1) and 2.189 (seed 2), below the controls (Adam normalizes the summed gradients): healthy; first
mask of type B: 2.390 (seed 1) and 2.514 (seed 2) as sampled, with the one-pass value the same (2.390, 2.514) and the
same learning curve as the control: in 96 steps the network does not learn to use the leaked pixel (its only path is
the chain of centre taps; after 2 epochs, zeroing a pixel moved its own logits by ~1e-5 each in eval mode), so the training loss
does not look better than the control's here: healthy (at upstream's 25 MNIST epochs it would learn the copy);
softmax before cross_entropy: upstream's cross-entropy of the probabilities 5.33 and 5.26 (its floor is
-log(e / (e + 255)) = 4.55), the model's own NLL 4.334 (seed 1): broken (half the progress) and 3.487 (seed 2):
ambiguous; BatchNorm removed: 2.041: healthy; batch 256: 3.473 and fm 16: 3.591 (half the steps, a quarter of the
compute; both under-trained, not twice the control): healthy.  Labels: 13 healthy (3 programs and 10 variants),
2 broken (lr /1000, softmax seed 1), 3 ambiguous (lr x1000, N(0, 1) init, softmax seed 2).  Every run's losses
were finite.  This small BatchNorm-and-Adam network, under-trained in the budget, shrugs off most of the usual breakages.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.utils import data

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(net, optimizer, every=10) right after optimizer = optim.Adam(net.parameters()); monitor.step(loss) "
              "right after loss.backward() (F.cross_entropy over the 256 levels of every pixel), before "
              "optimizer.step() (optimizer.zero_grad() comes before the backward, upstream's order; no clipping)")
EPOCHS = 8  # upstream: 25
FM = 32  # upstream: fm = 64
N_TEST = 297


class MaskedConv2d(nn.Conv2d):
    def __init__(self, mask_type, *args, **kwargs):
        super().__init__(*args, **kwargs)  # upstream: super(MaskedConv2d, self).__init__(*args, **kwargs)
        assert mask_type in {'A', 'B'}
        self.register_buffer('mask', self.weight.data.clone())
        _, _, kH, kW = self.weight.size()
        self.mask.fill_(1)
        self.mask[:, :, kH // 2, kW // 2 + (mask_type == 'B'):] = 0
        self.mask[:, :, kH // 2 + 1:] = 0

    def forward(self, x):
        self.weight.data *= self.mask
        return super().forward(x)


def make_net(fm=FM, first_mask='A', norm=True, softmax_out=False):
    """Upstream's nn.Sequential (written out as a loop: 8 masked convs, BatchNorm2d, ReLU, then the 1x1 conv)."""
    layers = []
    for i in range(8):
        conv = MaskedConv2d(first_mask if i == 0 else 'B', 1 if i == 0 else fm, fm, 7, 1, 3, bias=False)
        # upstream: nn.BatchNorm2d(fm) after every masked conv; the no_norm variant leaves them out
        layers += [conv] + ([nn.BatchNorm2d(fm)] if norm else []) + [nn.ReLU(True)]
    # the softmax_out variant: nn.Softmax(dim=1) appended, so cross_entropy gets probabilities instead of logits
    return nn.Sequential(*layers, nn.Conv2d(fm, 256, 1), *([nn.Softmax(dim=1)] if softmax_out else []))


def digits_levels():
    """load_digits as upstream's ToTensor() MNIST: intensity / 255 with the intensity in 0..255 (17 levels here)."""
    from sklearn.datasets import load_digits

    v = torch.tensor(load_digits().images, dtype=torch.float32)  # (1797, 8, 8), values 0..16
    x = (torch.round(v * 255 / 16) / 255).unsqueeze(1)  # upstream: datasets.MNIST(..., transform=transforms.ToTensor())
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    return x[perm[N_TEST:]], x[perm[:N_TEST]]


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init_std: float | None = None,
          zero_grad: bool = True, first_mask: str = 'A', norm: bool = True,
          softmax_out: bool = False, batch_size: int = 128, fm: int = FM,
          epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)  # upstream: no seed
    t0 = time.time()
    x_tr, x_te = digits_levels()
    net = make_net(fm, first_mask, norm, softmax_out)
    if init_std is not None:  # the init_large variant: N(0, init_std) for every conv weight instead of the default
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, init_std)
    scale = 255.0 if raw_pixels else 1.0  # the unscaled_inputs variant: the intensities 0..255 fed in

    tr = data.DataLoader(data.TensorDataset(x_tr), batch_size=batch_size, shuffle=True,
                         generator=torch.Generator().manual_seed(seed))  # upstream: num_workers=1, pin_memory=True
    te = data.DataLoader(data.TensorDataset(x_te), batch_size=128, shuffle=False)
    lr = 1e-3 * lr_mult
    optimizer = optim.Adam(net.parameters(), lr=lr)  # upstream: optim.Adam(net.parameters()) (lr 1e-3)
    monitor = gradmedic.watch(net, optimizer, every=every)  # gradmedic

    def nll_of(out, target, honest):
        if softmax_out and honest:  # the model's own likelihood: its outputs are probabilities
            return F.nll_loss(out.clamp_min(1e-30).log(), target)
        return F.cross_entropy(out, target)

    def test_nll(loader=te, honest=True):
        # compute error on test set (upstream's loop: the mean over the test batches)
        err_te = []
        net.train(False)
        with torch.no_grad():  # upstream: Variable(..., volatile=True)
            for (input,) in loader:
                target = (input[:, 0] * 255).long()
                loss = nll_of(net(input * scale), target, honest)
                err_te.append(float(loss))
        return float(np.mean(err_te))

    def sampled_nll(loader=te):
        """The NLL of the distribution upstream's sampler draws from: pixel (i, j) predicted from the image with it and
        every later pixel set to 0 (upstream: sample.fill_(0), then net(sample)[:, :, i, j] in raster order)."""
        err_te = []
        net.train(False)
        with torch.no_grad():
            for (input,) in loader:
                target = (input[:, 0] * 255).long()
                H, W = input.shape[2:]
                nll = torch.zeros(len(input))
                flat = input.reshape(len(input), -1)
                for k in range(H * W):
                    seen = flat.clone()
                    seen[:, k:] = 0
                    out = net(seen.view_as(input) * scale)[:, :, k // W, k % W]
                    nll += F.cross_entropy(out, target[:, k // W, k % W], reduction='none')
                err_te.append(float(nll.mean()) / (H * W))
        return float(np.mean(err_te))

    def nll_value():
        return sampled_nll() if first_mask != 'A' else test_nll()

    def as_trained():
        return test_nll(honest=False)

    initial = nll_value()
    losses, per_epoch = [], []
    for epoch in range(epochs):
        # train
        net.train(True)
        for (input,) in tr:
            target = (input[:, 0] * 255).long()
            loss = F.cross_entropy(net(input * scale), target)
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(float(loss.detach()))
        nll_te = as_trained()  # upstream's nll_te (for softmax_out: cross_entropy of the probabilities)
        per_epoch.append(nll_te)
        if verbose:
            print('epoch={}; nll_tr={:.7f}; nll_te={:.7f}; time={:.1f}s'.format(  # noqa: UP032 (as upstream)
                epoch, np.mean(losses[-len(tr):]), nll_te, time.time() - t0), flush=True)
    monitor.close()
    value = nll_value()
    first32 = data.DataLoader(data.TensorDataset(x_te[:32]), batch_size=32)
    la = np.array(losses)
    finite = bool(np.isfinite(la).all())
    return {"monitors": {"": monitor}, "metric": "nll", "value": value if math.isfinite(value) else float("nan"),
            "initial": initial,
            "initial_what": ("untrained network: held-out NLL in nats per pixel, eval mode" +
                             (", as sampled (pixel by pixel)" if first_mask != 'A' else "")),
            "chance": math.log(256),
            "extra": {"nll_as_trained": per_epoch[-1] if per_epoch else float("nan"), "nll_per_epoch": per_epoch,
                      "nll32_one_pass": test_nll(first32), "nll32_as_sampled": sampled_nll(first32),
                      "train_loss": float(np.mean(la[-20:])), "first5_loss": float(np.mean(la[:5])),
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": finite, "steps": len(la), "epochs": epochs, "lr": lr, "lr_mult": lr_mult,
                      "raw_pixels": raw_pixels, "init_std": -1.0 if init_std is None else init_std,
                      "zero_grad": zero_grad, "first_mask": first_mask, "norm": norm, "batch_size": batch_size,
                      "softmax_out": softmax_out, "fm": fm, "ln_levels": math.log(256),
                      "n_train": len(x_tr), "n_test": len(x_te)},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="pixelcnn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"pixelcnn_healthy_s{s}", "healthy", s, {}, f"unchanged (8 masked 7x7 convs A,B..B with BatchNorm2d and ReLU, "
           f"fm {FM}, 1x1 conv to 256 levels, cross_entropy; Adam lr 1e-3, batch 128; {EPOCHS} epochs)", False)
     for s in (1, 2, 3)]
    + [_case(f"pixelcnn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1,)), (1000, (1,))) for s in ss]
    + [_case("pixelcnn_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (1e-06)")]
    + [_case(f"pixelcnn_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             "the intensities 0..255 fed to the network instead of ToTensor's intensity / 255 (targets unchanged)")
       for s in (1,)]
    + [_case("pixelcnn_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every conv weight (the 8 masked convs and the 1x1 output conv) instead of "
             "PyTorch's default kaiming_uniform_(a=sqrt(5)); the output conv's bias kept")]
    + [_case(f"pixelcnn_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             "optimizer.zero_grad() left out of the loop: the gradients accumulate") for s in (1, 2)]
    + [_case(f"pixelcnn_mask_b_first_s{s}", "wrong_loss", s, {"first_mask": "B"},
             "MaskedConv2d('B', 1, fm, ...) as the first layer instead of 'A': every output sees the pixel it predicts "
             "(a leak of the target into the input); metric: the NLL as sampled, pixel by pixel") for s in (1, 2)]
    + [_case(f"pixelcnn_softmax_s{s}", "wrong_loss", s, {"softmax_out": True},
             "nn.Softmax(dim=1) appended to the network, so F.cross_entropy gets probabilities instead of logits "
             "(metric: the model's own NLL, -log of its probability of the true level)") for s in (1, 2)]
    + [_case(f"pixelcnn_no_bn_s{s}", "no_norm", s, {"norm": False},
             "the eight nn.BatchNorm2d(fm) layers left out (masked conv, ReLU, ...; the convs keep bias=False)")
       for s in (1,)]
    + [_case("pixelcnn_batch256_s1", "healthy", 1, {"batch_size": 256},
             "batch_size 256 instead of 128 (expected harmless)")]
    + [_case("pixelcnn_fm16_s1", "healthy", 1, {"fm": 16}, f"fm 16 instead of {FM} (expected harmless)")]
)


if __name__ == "__main__":
    import sys
    kw = eval("dict(" + " ".join(sys.argv[1:]) + ")") if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
