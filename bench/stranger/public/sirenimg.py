"""SIREN fitting an image (vsitzmann/siren's explore_siren notebook, "Fitting an image"), watched by gradmedic.

Adapted from https://github.com/vsitzmann/siren (commit 4df34baee3f0f9c8f351630992c1fe1f69114b5f,
explore_siren.ipynb, the section "Fitting an image"; modules.py holds the same SineLayer/Siren in its longer form; MIT
License, Copyright (c) 2020 Vincent Sitzmann, see LICENSE-sirenimg).  Kept as in the notebook: ``get_mgrid``
(coordinates in [-1, 1]), ``SineLayer`` (``torch.sin(omega_0 * linear(x))``, omega_0 30; the paper's init: the
first layer's weights U(-1/in, 1/in), the others U(-sqrt(6/in)/omega_0, +sqrt(6/in)/omega_0); biases PyTorch's
default), ``Siren(in_features=2, out_features=1, hidden_layers=3, outermost_linear=True)`` with its final Linear
initialized like a hidden layer and its ``forward`` (coords cloned with requires_grad), ``ImageFitting`` (one item: all
coordinates and all pixels), the DataLoader with batch_size=1, ``optim = torch.optim.Adam(lr=1e-4,
params=img_siren.parameters())``, the full-batch loop (``loss = ((model_output - ground_truth)**2).mean()``,
``optim.zero_grad()``, ``loss.backward()``, ``optim.step()``), the image's Normalize(0.5, 0.5) to [-1, 1].

Changed to run offline on one CPU thread in ~15 s: the image is scikit-learn's bundled china.jpg (converted to grey,
centre-cropped to 427x427 and resized to 64x64, bilinear) instead of skimage's cameraman at 256x256 (no skimage or
torchvision here: ToTensor's /255 and Normalize(0.5, 0.5) are written out); hidden_features 128 instead of 256;
TOTAL_STEPS 300 instead of 500; ``torch.manual_seed(seed)`` (the notebook sets no seed); the CPU (no ``.cuda()``,
pin_memory False); ``torch.meshgrid(..., indexing="ij")`` (the old default, stated to silence the warning); no plots,
no gradient/laplacian summaries, prints every 50 steps only with ``verbose``.  The depth, omega_0, the init, the
optimizer, its rate, the loss and the loop are the notebook's.  Knobs (one per variant): ``lr_mult``;
``pixel_coords`` (coordinates as pixel indices 0..63); ``raw_target`` (intensities 0..255, no scaling or Normalize;
the outcome and losses reported are divided by 127.5^2, the [-1, 1] units); ``siren_init=False`` (the init_weights
call and the final layer's uniform_ left out: PyTorch's default nn.Linear init, U(+-1/sqrt(fan_in)), 12x SIREN's
range in the hidden and final layers, hence cause init_large); ``init_std`` (N(0, init_std) on every Linear weight);
``zero_grad=False``; ``omega_0`` (first and hidden); ``adamw`` (AdamW, default weight_decay 0.01, for Adam).

The watch, as a user would: ``monitor = gradmedic.watch(img_siren, optim, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``optim.step()``; ``monitor.close()`` after the loop.
Metric "loss": the final reconstruction MSE over all 4096 pixels (the training set: image fitting has no other) at
the final parameters, in the [-1, 1] units; ``initial`` the mean of the first 5 training losses; the PSNR (peak to
peak 2) goes to ``extra``.

``CASES`` (program "sirenimg"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10, x100, x1000, /1000; pixel-index coordinates (seeds 1 and 2); raw 0..255 target; PyTorch's default init
instead of SIREN's (seeds 1 and 2); N(0, 1) weights; ``optim.zero_grad()`` left out; and changes expected harmless:
lr x2 (cause lr_high), omega_0 25 (cause "healthy"), and AdamW for Adam (cause "healthy"; added after omega_0 25 came
out ambiguous).
Recorded (cases-public95; 16-17 s for the healthy runs, 9-15 s for the variants, the shared machine loaded): healthy
MSE 3.57e-4, 4.87e-4, 4.14e-4 on seeds 1-3 (start 0.326, 0.367, 0.319; PSNR 40.5, 39.1, 39.8 dB; every loss finite,
the largest the first); lr x10 (1e-3): 3.9e-14 (the 4096 pixels memorized), healthy; lr x100 (1e-2): 0.370 (start
0.378, largest 0.39), broken; lr x1000 (0.1): 0.386 (first-5 mean 0.594, largest 0.99), broken; lr /1000 (1e-7):
0.356 (start 0.362), broken; pixel-index coordinates: 5.3e-6 (seed 1) and 1.0e-4 (seed 2), both healthy (the higher
input frequencies fit the training pixels faster); raw 0..255 target: 1.58 in [-1, 1] units (start 1.65; ~25700 in
raw units), broken; PyTorch's default init: 3.8e-5 (seed 1) and 4.9e-5 (seed 2; start 0.53-0.56, largest 0.53 and
0.56), both healthy; N(0, 1) weights: 70.1 (start 72.1, largest 76.1), broken; zero_grad left out: the loss rises to
0.43 (largest 0.44), broken; lr x2: 4.0e-5, healthy; omega_0 25: 9.4e-4, ambiguous (good outcome, but the control's
loss is under half of it); AdamW: 3.58e-4, healthy.  Labels: 9 healthy (3 programs, lr x10, lr x2, pixel coordinates
x2, default init x2, AdamW), 6 broken, 1 ambiguous; no non-finite loss.  The metric is the fit of the training pixels,
which is all image fitting asks for; a change that only hurts the image between the pixels (the default init's and
the pixel coordinates' noisy interpolation) does not show in it.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(img_siren, optim, every=10) right after optim = torch.optim.Adam(lr=1e-4, "
              "params=img_siren.parameters()); monitor.step(loss) right after loss.backward() (the full-batch MSE over "
              "all pixels), before optim.step() (optim.zero_grad() comes before the backward, the notebook's order)")

SIDELENGTH = 64  # upstream: ImageFitting(256)
HIDDEN = 128  # upstream: hidden_features=256
TOTAL_STEPS = 300  # upstream: total_steps = 500
LR = 1e-4


def get_mgrid(sidelen, dim=2):
    '''Generates a flattened grid of (x,y,...) coordinates in a range of -1 to 1.
    sidelen: int
    dim: int'''
    tensors = tuple(dim * [torch.linspace(-1, 1, steps=sidelen)])
    mgrid = torch.stack(torch.meshgrid(*tensors, indexing="ij"), dim=-1)  # upstream: torch.meshgrid(*tensors)
    mgrid = mgrid.reshape(-1, dim)
    return mgrid


class SineLayer(nn.Module):
    # See paper sec. 3.2, final paragraph, and supplement Sec. 1.5 for discussion of omega_0.

    # If is_first=True, omega_0 is a frequency factor which simply multiplies the activations before the
    # nonlinearity. Different signals may require different omega_0 in the first layer - this is a
    # hyperparameter.

    # If is_first=False, then the weights will be divided by omega_0 so as to keep the magnitude of
    # activations constant, but boost gradients to the weight matrix (see supplement Sec. 1.5)

    def __init__(self, in_features, out_features, bias=True,
                 is_first=False, omega_0=30, siren_init=True):
        super().__init__()
        self.omega_0 = omega_0
        self.is_first = is_first

        self.in_features = in_features
        self.linear = nn.Linear(in_features, out_features, bias=bias)

        if siren_init:  # the default_init variant leaves this out (PyTorch's nn.Linear init stays)
            self.init_weights()

    def init_weights(self):
        with torch.no_grad():
            if self.is_first:
                self.linear.weight.uniform_(-1 / self.in_features,
                                            1 / self.in_features)
            else:
                self.linear.weight.uniform_(-np.sqrt(6 / self.in_features) / self.omega_0,
                                            np.sqrt(6 / self.in_features) / self.omega_0)

    def forward(self, input):
        return torch.sin(self.omega_0 * self.linear(input))


class Siren(nn.Module):
    def __init__(self, in_features, hidden_features, hidden_layers, out_features, outermost_linear=False,
                 first_omega_0=30, hidden_omega_0=30., siren_init=True):  # upstream: no siren_init knob
        super().__init__()

        self.net = []
        self.net.append(SineLayer(in_features, hidden_features,
                                  is_first=True, omega_0=first_omega_0, siren_init=siren_init))

        for i in range(hidden_layers):  # noqa: B007 (as in the notebook)
            self.net.append(SineLayer(hidden_features, hidden_features,
                                      is_first=False, omega_0=hidden_omega_0, siren_init=siren_init))

        if outermost_linear:
            final_linear = nn.Linear(hidden_features, out_features)

            if siren_init:  # the default_init variant leaves this out
                with torch.no_grad():
                    final_linear.weight.uniform_(-np.sqrt(6 / hidden_features) / hidden_omega_0,
                                                 np.sqrt(6 / hidden_features) / hidden_omega_0)

            self.net.append(final_linear)
        else:
            self.net.append(SineLayer(hidden_features, out_features,
                                      is_first=False, omega_0=hidden_omega_0, siren_init=siren_init))

        self.net = nn.Sequential(*self.net)

    def forward(self, coords):
        coords = coords.clone().detach().requires_grad_(True)  # allows to take derivative w.r.t. input
        output = self.net(coords)
        return output, coords


def get_china_tensor(sidelength, raw=False):
    """upstream: get_cameraman_tensor(sidelength), skimage.data.camera() (512x512 grey) through
    Compose([Resize(sidelength), ToTensor(), Normalize(0.5, 0.5)]).  Here scikit-learn's bundled china.jpg
    (427x640 RGB), converted to grey, centre-cropped to 427x427 and resized (bilinear, antialiased, as torchvision's
    Resize does on a PIL image); ToTensor's /255 and Normalize(0.5, 0.5) written out (no torchvision here).
    ``raw``: the unscaled_target variant keeps the 0..255 intensities (no ToTensor scaling, no Normalize)."""
    from sklearn.datasets import load_sample_image

    img = Image.fromarray(load_sample_image("china.jpg")).convert("L")
    w, h = img.size
    left = (w - h) // 2
    img = img.crop((left, 0, left + h, h)).resize((sidelength, sidelength), Image.BILINEAR)
    x = torch.tensor(np.asarray(img, dtype=np.float32))[None]  # 1 x H x W, 0..255
    if raw:
        return x
    x = x / 255.0  # ToTensor()
    return (x - 0.5) / 0.5  # Normalize(torch.Tensor([0.5]), torch.Tensor([0.5]))


class ImageFitting(Dataset):
    def __init__(self, sidelength, raw_target=False, pixel_coords=False):
        super().__init__()
        img = get_china_tensor(sidelength, raw=raw_target)  # upstream: get_cameraman_tensor(sidelength)
        self.pixels = img.permute(1, 2, 0).view(-1, 1)
        self.coords = get_mgrid(sidelength, 2)
        if pixel_coords:  # the unscaled_inputs variant: pixel indices 0..sidelength-1 instead of [-1, 1]
            self.coords = (self.coords + 1) / 2 * (sidelength - 1)

    def __len__(self):
        return 1

    def __getitem__(self, idx):
        if idx > 0:
            raise IndexError

        return self.coords, self.pixels


def train(seed: int = 1, lr_mult: float = 1.0, siren_init: bool = True, init_std: float | None = None,
          pixel_coords: bool = False, raw_target: bool = False, zero_grad: bool = True, omega_0: float = 30.0,
          adamw: bool = False, total_steps: int = TOTAL_STEPS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)  # upstream: no seed
    t0 = time.time()
    image = ImageFitting(SIDELENGTH, raw_target=raw_target, pixel_coords=pixel_coords)
    dataloader = DataLoader(image, batch_size=1, pin_memory=False, num_workers=0)  # upstream: pin_memory=True

    img_siren = Siren(in_features=2, out_features=1, hidden_features=HIDDEN,
                      hidden_layers=3, outermost_linear=True,
                      first_omega_0=omega_0, hidden_omega_0=omega_0,  # upstream: the defaults, 30 and 30.
                      siren_init=siren_init)
    # upstream: img_siren.cuda()
    if init_std is not None:  # the init_large variant: N(0, init_std) for every Linear weight (biases kept)
        with torch.no_grad():
            for m in img_siren.modules():
                if isinstance(m, nn.Linear):
                    m.weight.normal_(0.0, init_std)

    lr = LR * lr_mult
    if adamw:  # the adamw variant: torch.optim.AdamW (its default weight_decay 0.01) in place of Adam
        optim = torch.optim.AdamW(lr=lr, params=img_siren.parameters())
    else:
        optim = torch.optim.Adam(lr=lr, params=img_siren.parameters())
    monitor = gradmedic.watch(img_siren, optim, every=every)  # gradmedic

    model_input, ground_truth = next(iter(dataloader))  # upstream: .cuda() on both

    # the unscaled_target variant's losses are in 0..255 units; the metric is put back into the [-1, 1] units
    scale2 = 127.5 ** 2 if raw_target else 1.0
    losses = []
    for step in range(total_steps):
        model_output, coords = img_siren(model_input)
        loss = ((model_output - ground_truth)**2).mean()

        if verbose and not step % 50:  # upstream: every 10 steps, with plots of the output, gradient and laplacian
            print("Step %d, Total loss %0.6f" % (step, float(loss)))  # noqa: UP031 (upstream: % (step, loss))

        if zero_grad:  # the no_zero_grad variant leaves this out
            optim.zero_grad()
        loss.backward()
        monitor.step(loss)  # gradmedic
        optim.step()
        losses.append(float(loss.detach()))
    monitor.close()

    with torch.no_grad():  # the reconstruction at the final parameters
        model_output = img_siren.net(model_input)
        final_mse = float(((model_output - ground_truth) ** 2).mean()) / scale2
    la = np.array(losses) / scale2
    psnr = float(10 * np.log10(4.0 / final_mse)) if np.isfinite(final_mse) and final_mse > 0 else float("nan")
    return {"monitors": {"": monitor}, "metric": "loss", "value": final_mse,
            "initial": float(np.mean(la[:5])),
            "initial_what": "untrained: mean training MSE of the first 5 steps (in the [-1, 1] units)",
            "chance": float(ground_truth.var()) / scale2,
            "extra": {"train_loss": float(np.mean(la[-20:])), "first_loss": float(la[0]),
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "steps": len(la), "lr": lr, "lr_mult": lr_mult,
                      "psnr_db": psnr, "siren_init": siren_init, "init_std": -1.0 if init_std is None else init_std,
                      "pixel_coords": pixel_coords, "raw_target": raw_target, "zero_grad": zero_grad,
                      "omega_0": omega_0, "adamw": adamw, "sidelength": SIDELENGTH, "hidden_features": HIDDEN,
                      "loss_unit_divisor": scale2},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="sirenimg", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"SIREN image fit (Siren(2, {HIDDEN}, 3 hidden layers, 1, outermost_linear), omega_0 30, the paper's init; "
      f"full-batch MSE over {SIDELENGTH}x{SIDELENGTH} grey pixels in [-1, 1]; Adam lr {LR:g}; {TOTAL_STEPS} steps)")
CASES: list[dict] = (
    [_case(f"sirenimg_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"sirenimg_lr_x{k}_s1", "lr_high", 1, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({LR * k:g})")
       for k in (10, 100, 1000)]
    + [_case("sirenimg_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 ({LR * 1e-3:g})")]
    + [_case(f"sirenimg_pixel_coords_s{s}", "unscaled_inputs", s, {"pixel_coords": True},
             f"{_P}: the coordinates as pixel indices 0..{SIDELENGTH - 1} instead of get_mgrid's [-1, 1]")
       for s in (1, 2)]
    + [_case("sirenimg_raw_target_s1", "unscaled_target", 1, {"raw_target": True},
             f"{_P}: the intensities as raw 0..255 values (no ToTensor scaling, no Normalize); the outcome is "
             "divided by 127.5^2 (the [-1, 1] units)")]
    + [_case(f"sirenimg_default_init_s{s}", "init_large", s, {"siren_init": False},
             f"{_P}: SineLayer.init_weights and the final layer's uniform_ left out: PyTorch's default nn.Linear "
             f"init U(+-1/sqrt(fan_in)) (hidden and final weights +-{1 / np.sqrt(HIDDEN):.3f} instead of "
             f"+-{np.sqrt(6 / HIDDEN) / 30:.4f}, the first layer's +-0.707 instead of +-0.5)") for s in (1, 2)]
    + [_case("sirenimg_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every Linear weight after the SIREN init (biases kept)")]
    + [_case("sirenimg_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optim.zero_grad() left out (the gradients accumulate)")]
    + [_case("sirenimg_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: Adam lr x2 ({LR * 2:g}; expected harmless)")]
    + [_case("sirenimg_omega25_s1", "healthy", 1, {"omega_0": 25.0},
             f"{_P}: first_omega_0 and hidden_omega_0 25 instead of 30 (expected harmless)")]
    + [_case("sirenimg_adamw_s1", "healthy", 1, {"adamw": True},
             f"{_P}: torch.optim.AdamW(lr={LR:g}) (default weight_decay 0.01) instead of Adam (expected harmless; "
             "added after omega_0 25 came out ambiguous)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(**kw)
    print({k: v for k, v in r.items() if k != "monitors"})
