"""efficient-kan's MNIST example (a Kolmogorov-Arnold network, KAN([in, 64, 10])), watched by gradmedic.

Adapted from https://github.com/Blealtan/efficient-kan (commit 7b6ce1c87f18c8bc90c208f6b494042344216b11;
src/efficient_kan/kan.py and examples/mnist.py; MIT License, Copyright (c) 2024 Huanqi Cao, see LICENSE-ekan).
Copied below from kan.py: ``KANLinear`` (the SiLU base branch ``F.linear(silu(x), base_weight)`` plus the B-spline
branch ``F.linear(b_splines(x), scaled_spline_weight)``; ``reset_parameters`` with its kaiming_uniform_ base and
spline-scaler weights and the spline weights fitted by ``curve2coeff`` to uniform noise of scale
``scale_noise / grid_size``; ``b_splines``, ``curve2coeff``, ``scaled_spline_weight``, ``update_grid`` and
``regularization_loss``) and ``KAN`` (grid_size 5, spline_order 3, grid_range [-1, 1]).  Kept as in mnist.py: the
model ``KAN([28 * 28, 64, 10])`` with a 64-unit hidden layer, ``optim.AdamW(model.parameters(), lr=1e-3,
weight_decay=1e-4)``, ``optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.8)`` stepped after each epoch,
``nn.CrossEntropyLoss()``, batch size 64 with shuffling, 10 epochs, the loop (``optimizer.zero_grad()``, forward,
loss, ``loss.backward()``, ``optimizer.step()``) and the validation loop (the mean over batches of 64 of each
batch's accuracy, and of its loss).

Changed to run offline on one CPU thread in about 10 s: the data are scikit-learn's bundled digits (8x8 = 64
pixels of 0..16, 1797 images) instead of MNIST (no download), so the model is ``KAN([8 * 8, 64, 10])``; the
pixels are scaled as ToTensor and Normalize((0.5,), (0.5,)) scale MNIST's (``x / 16`` into [0, 1], then
``(x - 0.5) / 0.5`` into [-1, 1], the KAN's grid range); a fixed stratified split (``train_test_split``,
test_size 360, random_state 0) stands for MNIST's train and test sets: 1437 training images and 360 validation
images; each of the 10 epochs (one ExponentialLR step each, as upstream) makes PASSES = 4 passes over the 1437
training images (92 steps an epoch, 920 in all; one pass, 230 steps, reached only 0.886 on seed 1, and upstream's
epoch over MNIST is 938 steps); the run's seed goes to ``torch.manual_seed`` (init and the loader's
shuffling); no tqdm, no device moves; prints only with ``verbose``.  Knobs (one per variant): ``lr_mult`` scales
the rate; ``input_scale`` / ``input_offset`` change the pixels the model sees (``raw_pixels`` skips the scaling:
the 0..16 values); ``init_std`` redraws every parameter (base_weight, spline_weight, spline_scaler) from
N(0, init_std) after the model is built; ``const_init`` sets every parameter to that constant; ``zero_grad=False``
leaves ``optimizer.zero_grad()`` out; ``softmax_out`` applies ``torch.softmax`` to the output before
``nn.CrossEntropyLoss``; ``batch_size`` and ``grid_size`` replace 64 and 5.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the AdamW is
built (before the scheduler), ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``;
``monitor.close()`` after the loop.  Metric "accuracy": the validation accuracy after the 10th epoch (higher is
better; chance 0.1), computed as mnist.py does.

``CASES`` (program "ekan"): the program on seeds 1-3, and one change each against the same seed's healthy run:
AdamW lr x10, x100 (seeds 1 and 2), x1000, /1000; the raw 0..16 pixels x100 (seeds 1 and 2); the scaled pixels
+1000 (seeds 1 and 2; seed 2 added after the raw x100 runs came out ambiguous); every parameter from N(0, 1)
(seeds 1 and 2); every parameter set to 0.1 (symmetric); ``optimizer.zero_grad()`` left out; softmax before
``nn.CrossEntropyLoss``; and two changes expected harmless: batch size 128 and grid_size 8 (cause "healthy").
Labels come from run.py's outcome rules only.
Recorded (cases-public93; 19 runs, 7-12 s each on the shared 2-core machine, ~3 min in all): healthy validation
accuracy 0.971, 0.971, 0.974 on seeds 1-3 (training loss 2.29 over the first 5 steps -> 0.049-0.051 over the last
20, training accuracy 0.99, validation loss 0.12-0.13, every loss finite); lr x10 (0.01): 0.974: healthy; lr x100
(0.1): training loss 0.0045 and 2e-6 but validation loss 0.34 / 0.75, 0.959 (seed 1) and 0.946 (seed 2): healthy
(within 3 points, largest loss 2.3 / 2.5); lr x1000 (1): first-5 mean 775, largest loss 1401, the loss ends at
2.30 (ln 10), 0.109: broken; lr /1000 (1e-6): loss 2.30 -> 2.29, 0.191: broken; raw pixels x100 (0..1600): first-5
mean 127 / 209, largest 198 / 286, training loss 3e-4 / 1e-4 and training accuracy 1.0 but validation loss 3.7 /
3.1, 0.909 (seed 1) and 0.929 (seed 2): ambiguous (4-6 points below, not 10; the inputs fall outside the spline
grid, so only the SiLU base branch, nearly linear there, learns - x1000 and x10000 gave 0.915 and 0.904 on seed 1
in a trial, not recorded); scaled pixels +1000: first-5 mean 157 / 318, largest 210 / 461, the loss ends at
2.41 / 2.48, 0.104 (seed 1) and 0.069 (seed 2): broken; every parameter from N(0, 1): first-5 mean 49.9 / 37.5,
largest 55 / 53, training loss 1.5 / 2.3, validation loss 4.7 / 4.9, 0.662 (seed 1) and 0.654 (seed 2): broken;
every parameter 0.1: loss 2.30 -> 1.36, training accuracy 0.44, 0.409: broken; optimizer.zero_grad() left out:
training loss 0.021, validation loss 0.31, 0.956: healthy; softmax before CrossEntropyLoss: the loss only goes
from 2.30 to 1.49 (its floor is about 1.46) yet training accuracy 0.99, 0.965: healthy; batch 128: 0.962: healthy;
grid_size 8: 0.971: healthy.  Labels: 9 healthy (3 programs, lr x10, lr x100 on seeds 1 and 2, no zero_grad,
softmax, batch 128, grid 8), 8 broken, 2 ambiguous.  Every run's losses were finite.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset

import gradmedic

ARCH = "kan"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = optim.AdamW(model.parameters(), lr=1e-3, "
              "weight_decay=1e-4), before the ExponentialLR scheduler; monitor.step(loss) right after loss.backward(), "
              "before optimizer.step() (optimizer.zero_grad() comes before the forward, as in mnist.py)")
EPOCHS = 10
PASSES = 4  # passes over the 1437 digits per epoch (upstream: one pass over MNIST's 60000, 938 steps an epoch)


# ---- src/efficient_kan/kan.py, as upstream -------------------------------------------------------------------------

class KANLinear(torch.nn.Module):
    def __init__(
        self,
        in_features,
        out_features,
        grid_size=5,
        spline_order=3,
        scale_noise=0.1,
        scale_base=1.0,
        scale_spline=1.0,
        enable_standalone_scale_spline=True,
        base_activation=torch.nn.SiLU,
        grid_eps=0.02,
        grid_range=[-1, 1],  # noqa: B006 (as upstream)
    ):
        super(KANLinear, self).__init__()  # noqa: UP008 (as upstream)
        self.in_features = in_features
        self.out_features = out_features
        self.grid_size = grid_size
        self.spline_order = spline_order

        h = (grid_range[1] - grid_range[0]) / grid_size
        grid = (
            (
                torch.arange(-spline_order, grid_size + spline_order + 1) * h
                + grid_range[0]
            )
            .expand(in_features, -1)
            .contiguous()
        )
        self.register_buffer("grid", grid)

        self.base_weight = torch.nn.Parameter(torch.Tensor(out_features, in_features))
        self.spline_weight = torch.nn.Parameter(
            torch.Tensor(out_features, in_features, grid_size + spline_order)
        )
        if enable_standalone_scale_spline:
            self.spline_scaler = torch.nn.Parameter(
                torch.Tensor(out_features, in_features)
            )

        self.scale_noise = scale_noise
        self.scale_base = scale_base
        self.scale_spline = scale_spline
        self.enable_standalone_scale_spline = enable_standalone_scale_spline
        self.base_activation = base_activation()
        self.grid_eps = grid_eps

        self.reset_parameters()

    def reset_parameters(self):
        torch.nn.init.kaiming_uniform_(self.base_weight, a=math.sqrt(5) * self.scale_base)
        with torch.no_grad():
            noise = (
                (
                    torch.rand(self.grid_size + 1, self.in_features, self.out_features)
                    - 1 / 2
                )
                * self.scale_noise
                / self.grid_size
            )
            self.spline_weight.data.copy_(
                (self.scale_spline if not self.enable_standalone_scale_spline else 1.0)
                * self.curve2coeff(
                    self.grid.T[self.spline_order : -self.spline_order],
                    noise,
                )
            )
            if self.enable_standalone_scale_spline:
                # torch.nn.init.constant_(self.spline_scaler, self.scale_spline)
                torch.nn.init.kaiming_uniform_(self.spline_scaler, a=math.sqrt(5) * self.scale_spline)

    def b_splines(self, x: torch.Tensor):
        """
        Compute the B-spline bases for the given input tensor.

        Args:
            x (torch.Tensor): Input tensor of shape (batch_size, in_features).

        Returns:
            torch.Tensor: B-spline bases tensor of shape (batch_size, in_features, grid_size + spline_order).
        """
        assert x.dim() == 2 and x.size(1) == self.in_features

        grid: torch.Tensor = (
            self.grid
        )  # (in_features, grid_size + 2 * spline_order + 1)
        x = x.unsqueeze(-1)
        bases = ((x >= grid[:, :-1]) & (x < grid[:, 1:])).to(x.dtype)
        for k in range(1, self.spline_order + 1):
            bases = (
                (x - grid[:, : -(k + 1)])
                / (grid[:, k:-1] - grid[:, : -(k + 1)])
                * bases[:, :, :-1]
            ) + (
                (grid[:, k + 1 :] - x)
                / (grid[:, k + 1 :] - grid[:, 1:(-k)])
                * bases[:, :, 1:]
            )

        assert bases.size() == (
            x.size(0),
            self.in_features,
            self.grid_size + self.spline_order,
        )
        return bases.contiguous()

    def curve2coeff(self, x: torch.Tensor, y: torch.Tensor):
        """
        Compute the coefficients of the curve that interpolates the given points.

        Args:
            x (torch.Tensor): Input tensor of shape (batch_size, in_features).
            y (torch.Tensor): Output tensor of shape (batch_size, in_features, out_features).

        Returns:
            torch.Tensor: Coefficients tensor of shape (out_features, in_features, grid_size + spline_order).
        """
        assert x.dim() == 2 and x.size(1) == self.in_features
        assert y.size() == (x.size(0), self.in_features, self.out_features)

        A = self.b_splines(x).transpose(
            0, 1
        )  # (in_features, batch_size, grid_size + spline_order)
        B = y.transpose(0, 1)  # (in_features, batch_size, out_features)
        solution = torch.linalg.lstsq(
            A, B
        ).solution  # (in_features, grid_size + spline_order, out_features)
        result = solution.permute(
            2, 0, 1
        )  # (out_features, in_features, grid_size + spline_order)

        assert result.size() == (
            self.out_features,
            self.in_features,
            self.grid_size + self.spline_order,
        )
        return result.contiguous()

    @property
    def scaled_spline_weight(self):
        return self.spline_weight * (
            self.spline_scaler.unsqueeze(-1)
            if self.enable_standalone_scale_spline
            else 1.0
        )

    def forward(self, x: torch.Tensor):
        assert x.size(-1) == self.in_features
        original_shape = x.shape
        x = x.reshape(-1, self.in_features)

        base_output = F.linear(self.base_activation(x), self.base_weight)
        spline_output = F.linear(
            self.b_splines(x).view(x.size(0), -1),
            self.scaled_spline_weight.view(self.out_features, -1),
        )
        output = base_output + spline_output

        output = output.reshape(*original_shape[:-1], self.out_features)
        return output

    @torch.no_grad()
    def update_grid(self, x: torch.Tensor, margin=0.01):
        assert x.dim() == 2 and x.size(1) == self.in_features
        batch = x.size(0)

        splines = self.b_splines(x)  # (batch, in, coeff)
        splines = splines.permute(1, 0, 2)  # (in, batch, coeff)
        orig_coeff = self.scaled_spline_weight  # (out, in, coeff)
        orig_coeff = orig_coeff.permute(1, 2, 0)  # (in, coeff, out)
        unreduced_spline_output = torch.bmm(splines, orig_coeff)  # (in, batch, out)
        unreduced_spline_output = unreduced_spline_output.permute(
            1, 0, 2
        )  # (batch, in, out)

        # sort each channel individually to collect data distribution
        x_sorted = torch.sort(x, dim=0)[0]
        grid_adaptive = x_sorted[
            torch.linspace(
                0, batch - 1, self.grid_size + 1, dtype=torch.int64, device=x.device
            )
        ]

        uniform_step = (x_sorted[-1] - x_sorted[0] + 2 * margin) / self.grid_size
        grid_uniform = (
            torch.arange(
                self.grid_size + 1, dtype=torch.float32, device=x.device
            ).unsqueeze(1)
            * uniform_step
            + x_sorted[0]
            - margin
        )

        grid = self.grid_eps * grid_uniform + (1 - self.grid_eps) * grid_adaptive
        grid = torch.concatenate(
            [
                grid[:1]
                - uniform_step
                * torch.arange(self.spline_order, 0, -1, device=x.device).unsqueeze(1),
                grid,
                grid[-1:]
                + uniform_step
                * torch.arange(1, self.spline_order + 1, device=x.device).unsqueeze(1),
            ],
            dim=0,
        )

        self.grid.copy_(grid.T)
        self.spline_weight.data.copy_(self.curve2coeff(x, unreduced_spline_output))

    def regularization_loss(self, regularize_activation=1.0, regularize_entropy=1.0):
        """
        Compute the regularization loss.

        This is a dumb simulation of the original L1 regularization as stated in the
        paper, since the original one requires computing absolutes and entropy from the
        expanded (batch, in_features, out_features) intermediate tensor, which is hidden
        behind the F.linear function if we want an memory efficient implementation.

        The L1 regularization is now computed as mean absolute value of the spline
        weights. The authors implementation also includes this term in addition to the
        sample-based regularization.
        """
        l1_fake = self.spline_weight.abs().mean(-1)
        regularization_loss_activation = l1_fake.sum()
        p = l1_fake / regularization_loss_activation
        regularization_loss_entropy = -torch.sum(p * p.log())
        return (
            regularize_activation * regularization_loss_activation
            + regularize_entropy * regularization_loss_entropy
        )


class KAN(torch.nn.Module):
    def __init__(
        self,
        layers_hidden,
        grid_size=5,
        spline_order=3,
        scale_noise=0.1,
        scale_base=1.0,
        scale_spline=1.0,
        base_activation=torch.nn.SiLU,
        grid_eps=0.02,
        grid_range=[-1, 1],  # noqa: B006 (as upstream)
    ):
        super(KAN, self).__init__()  # noqa: UP008 (as upstream)
        self.grid_size = grid_size
        self.spline_order = spline_order

        self.layers = torch.nn.ModuleList()
        for in_features, out_features in zip(layers_hidden, layers_hidden[1:]):  # noqa: B905 (as upstream)
            self.layers.append(
                KANLinear(
                    in_features,
                    out_features,
                    grid_size=grid_size,
                    spline_order=spline_order,
                    scale_noise=scale_noise,
                    scale_base=scale_base,
                    scale_spline=scale_spline,
                    base_activation=base_activation,
                    grid_eps=grid_eps,
                    grid_range=grid_range,
                )
            )

    def forward(self, x: torch.Tensor, update_grid=False):
        for layer in self.layers:
            if update_grid:
                layer.update_grid(x)
            x = layer(x)
        return x

    def regularization_loss(self, regularize_activation=1.0, regularize_entropy=1.0):
        return sum(
            layer.regularization_loss(regularize_activation, regularize_entropy)
            for layer in self.layers
        )


# ---- examples/mnist.py's data, model, optimizer and loop ------------------------------------------------------------

def digits(raw_pixels=False, input_scale=1.0, input_offset=0.0):
    """scikit-learn's digits split into a training and a validation set, scaled as mnist.py's transform scales MNIST."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    if not raw_pixels:  # the unscaled_inputs variant keeps the 0..16 values
        X = X / 16.0  # upstream: transforms.ToTensor() (MNIST's 0..255 into [0, 1])
        X = (X - 0.5) / 0.5  # transforms.Normalize((0.5,), (0.5,))
    X = X * input_scale + input_offset  # the unscaled_inputs variants
    # upstream: torchvision.datasets.MNIST(train=True) and (train=False)
    Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=360, random_state=0, stratify=y)
    return (TensorDataset(torch.tensor(Xtr), torch.tensor(ytr, dtype=torch.long)),
            TensorDataset(torch.tensor(Xva), torch.tensor(yva, dtype=torch.long)))


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, input_scale: float = 1.0,
          input_offset: float = 0.0, init_std: float | None = None, const_init: float | None = None,
          zero_grad: bool = True, softmax_out: bool = False, batch_size: int = 64, grid_size: int = 5,
          epochs: int = EPOCHS, passes: int = PASSES, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)  # upstream: no seed
    t0 = time.time()
    trainset, valset = digits(raw_pixels, input_scale, input_offset)
    trainloader = DataLoader(trainset, batch_size=batch_size, shuffle=True)  # upstream: batch_size=64
    valloader = DataLoader(valset, batch_size=64, shuffle=False)

    # Define model
    model = KAN([8 * 8, 64, 10], grid_size=grid_size)  # upstream: KAN([28 * 28, 64, 10]) (grid_size 5 by default)
    if init_std is not None:  # the init_large variant: every parameter from N(0, init_std)
        with torch.no_grad():
            for p in model.parameters():
                p.normal_(0.0, init_std)
    if const_init is not None:  # the symmetric_init variant: every parameter set to one constant
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(const_init)
    # Define optimizer
    lr = 1e-3 * lr_mult
    optimizer = optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    # Define learning rate scheduler
    scheduler = optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.8)

    # Define loss
    criterion = nn.CrossEntropyLoss()
    losses, train_accs, history = [], [], []
    val_loss = val_accuracy = float("nan")
    for epoch in range(epochs):
        # Train
        model.train()
        for images, labels in (b for _ in range(passes) for b in trainloader):  # upstream: with tqdm(trainloader) as pbar
            images = images.view(-1, 8 * 8)  # upstream: images.view(-1, 28 * 28).to(device)
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            output = model(images)
            if softmax_out:  # the wrong_loss variant: probabilities fed to CrossEntropyLoss
                output = torch.softmax(output, dim=1)
            loss = criterion(output, labels)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            accuracy = (output.argmax(dim=1) == labels).float().mean()
            losses.append(loss.item())
            train_accs.append(accuracy.item())

        # Validation
        model.eval()
        val_loss = 0
        val_accuracy = 0
        with torch.no_grad():
            for images, labels in valloader:
                images = images.view(-1, 8 * 8)  # upstream: images.view(-1, 28 * 28).to(device)
                output = model(images)
                if softmax_out:
                    output = torch.softmax(output, dim=1)
                val_loss += criterion(output, labels).item()
                val_accuracy += (
                    (output.argmax(dim=1) == labels).float().mean().item()
                )
        val_loss /= len(valloader)
        val_accuracy /= len(valloader)

        # Update learning rate
        scheduler.step()
        history.append((val_loss, val_accuracy))
        if verbose:
            print(f"Epoch {epoch + 1}, Val Loss: {val_loss}, Val Accuracy: {val_accuracy}, "
                  f"train loss {np.mean(losses[-20:]):.4f}", flush=True)
    monitor.close()
    la = np.asarray(losses, dtype=float)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(val_accuracy), "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(lr=lr, lr_mult=lr_mult, val_loss=float(val_loss),
                          val_acc_per_epoch=[float(a) for _, a in history],
                          train_loss=float(np.mean(la[-20:])), first_loss=float(np.mean(la[:5])),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), train_acc=float(np.mean(train_accs[-20:])),
                          steps=len(losses), epochs=epochs, passes=passes, batch_size=batch_size, grid_size=grid_size,
                          raw_pixels=raw_pixels, input_scale=input_scale, input_offset=input_offset,
                          init_std=-1.0 if init_std is None else init_std,
                          const_init=float("nan") if const_init is None else const_init,
                          zero_grad=zero_grad, softmax_out=softmax_out,
                          train_images=len(trainset), val_images=len(valset)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="ekan", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"efficient-kan MNIST example on digits (KAN([64, 64, 10]), grid_size 5, spline_order 3; AdamW lr 1e-3, "
      f"weight_decay 1e-4, ExponentialLR gamma 0.8 per epoch; CrossEntropyLoss; batch 64; {EPOCHS} epochs)")
CASES: list[dict] = (
    [_case(f"ekan_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"ekan_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: AdamW lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("ekan_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: AdamW lr /1000 (1e-06)")]
    + [_case(f"ekan_raw_x100_s{s}", "unscaled_inputs", s, {"raw_pixels": True, "input_scale": 100.0},
             f"{_P}: the raw 0..16 pixels x100 (0..1600) instead of x/16 and Normalize((0.5,), (0.5,))") for s in (1, 2)]
    + [_case(f"ekan_offset1000_s{s}", "unscaled_inputs", s, {"input_offset": 1000.0},
             f"{_P}: the scaled pixels +1000 (999..1001, far outside the spline grid [-1, 1])") for s in (1, 2)]
    + [_case(f"ekan_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: every parameter (base_weight, spline_weight, spline_scaler) redrawn from N(0, 1) after "
             f"reset_parameters") for s in (1, 2)]
    + [_case("ekan_const_init_s1", "symmetric_init", 1, {"const_init": 0.1},
             f"{_P}: every parameter (base_weight, spline_weight, spline_scaler) set to 0.1 (identical units)")]
    + [_case("ekan_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("ekan_softmax_s1", "wrong_loss", 1, {"softmax_out": True},
             f"{_P}: torch.softmax(output, dim=1) applied before nn.CrossEntropyLoss")]
    + [_case("ekan_batch128_s1", "healthy", 1, {"batch_size": 128},
             f"{_P}: batch size 128 instead of 64 (expected harmless)")]
    + [_case("ekan_grid8_s1", "healthy", 1, {"grid_size": 8},
             f"{_P}: KAN grid_size 8 instead of 5 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
