"""S4D (diagonal state-space model) on sequential digits, after state-spaces/s4's example.py, watched by gradmedic.

Adapted from https://github.com/state-spaces/s4 (commit e757cef57d89e448c413de7325ed5601aceaac13; Apache License 2.0,
see LICENSE-s4d): ``models/s4/s4d.py`` (``S4DKernel``: complex diagonal A from ``log_A_real`` and ``A_imag``,
``log_dt``, C a complex parameter stored with ``view_as_real``, the Vandermonde kernel in torch; ``S4D``: FFT
convolution, the D skip, GELU, ``DropoutNd``, the Conv1d(H, 2H, 1) + GLU output), ``DropoutNd`` from
``src/models/nn/dropout.py``, and ``example.py`` (``S4Model``: Linear encoder, ``n_layers`` S4D blocks with
nn.Dropout1d, residual and postnorm LayerNorm, mean over time, Linear decoder; ``setup_optimizer``: AdamW over the
general parameters at ``--lr`` 0.01 and ``--weight_decay`` 0.01, then one param group per distinct ``_optim`` dict,
here the SSM parameters log_dt, log_A_real, A_imag at lr ``min(0.001, args.lr)`` and weight_decay 0 (C and D stay in
the general group, as upstream); ``CosineAnnealingLR(optimizer, epochs)`` stepped once per epoch;
``nn.CrossEntropyLoss()``; its ``train()`` loop (zero_grad, forward, loss, backward, step) and ``eval()``).  Copied
as they are, with PyTorch's default inits and the upstream S4D init (C ~ complex N(0, 1), D ~ N(0, 1), A = -0.5 +
i pi n, dt log-uniform in [0.001, 0.1]).

Changed to run offline on one CPU thread: the data are scikit-learn's 8x8 digits read as sequences of 64 pixels, one
pixel per step (d_input 1, 10 classes), pixels / 16 into [0, 1] as example.py's MNIST ``ToTensor()`` (no Normalize),
instead of sequential CIFAR10 / MNIST from torchvision; a fixed 20% test split (359 images, ``torch.randperm`` with
generator seed 0) stands in for the dataset's test set, and the rest is split 90/10 into train (1294) and val (144)
by upstream's ``split_train_val`` (generator seed 42); d_model 64 (upstream 128), n_layers 2 (4), 12 epochs (100),
so 21 steps an epoch and 252 in all; ``torch.manual_seed(seed)`` (upstream sets none); num_workers 0; no tqdm,
checkpoint or resume; ``einops.repeat`` replaced by ``torch.repeat`` (einops is not installed; same tensor); the
globals ``args.lr`` and ``dropout_fn`` passed in / fixed to nn.Dropout1d (torch >= 1.12); the optimizer info print
left out.  Knobs (one per variant): ``lr_mult`` scales ``--lr`` (the SSM group's ``min(0.001, lr)`` follows only when
the rate falls below 0.001, as upstream); ``ssm_lr_mult`` scales the SSM group's rate too; ``ssm_group=False`` leaves
the ``_optim`` attribute out of ``S4DKernel.register`` (the SSM parameters then train in the general group at lr 0.01
with weight_decay 0.01); ``pixel_scale`` (1/16 healthy; 16 gives raw 0..255-like pixels); ``init_std`` draws the
encoder, decoder and every S4D output Conv1d weight from N(0, init_std); ``zero_grad=False``; ``batch_size``;
``dropout``.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after setup_optimizer,
``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()`` (example.py does not clip);
``monitor.close()`` after the last epoch.  Metric "accuracy": the test accuracy after the last epoch (359 images;
chance 0.1; ``initial`` None).

``CASES`` (program "s4d"): the program on seeds 1-3, and one change each against the same seed's healthy run: --lr
x10, x100, x1000 and /1000; --lr x100 with the SSM group's rate x100 too; the SSM param-group trick removed; raw
0..255 pixels; N(0, 1) Linear/Conv1d weights (seeds 1 and 2); ``optimizer.zero_grad()`` left out; and two changes
expected harmless: batch size 32 and dropout 0 (cause "healthy").  Seed 2 of lr x100, raw pixels and zero_grad were
left out to keep the job in time.
Recorded (cases-public169; 34-86 s a run on the shared 2-core machine with two runs at once and load 4-5; about 16 s
of CPU for a healthy run alone): healthy test accuracy 0.955, 0.905 and 0.900 (0.8997, one image short of 0.9:
ambiguous) on seeds 1-3 (training loss 2.44-2.46 over the first 5 steps -> 0.35-0.53 over the last 20; the model is
still learning at 12 epochs, as the seeds' spread shows); lr x10 (0.1): 0.084, training loss stuck at 2.30 (largest
8.4): broken; lr x100 (1.0): 0.086, first-5 loss 55.5, largest 203: broken; lr x1000 (10): 0.106, largest loss 1.1e4:
broken; lr x100 with the SSM group x100 (0.1): 0.084, largest 178: broken; lr /1000 (1e-5): 0.086, loss 2.34 ->
2.32: broken; SSM group removed: 0.955 (training loss 0.30 against 0.35): healthy; raw pixels x16: 0.967: healthy;
init std 1: first-5 loss 6.2 / 8.9, 0.939 (seed 1) and 0.900 (seed 2; control 0.905): ambiguous; zero_grad left
out: the loss rises to 3.85 (largest 10.8), 0.086: broken; batch 32: 0.981: healthy; dropout 0: 0.964: healthy.
Labels: 6 healthy (2 programs, SSM group removed, raw pixels, batch 32, dropout 0), 6 broken, 3 ambiguous (healthy
seed 3, both init std 1).  Every run's losses were finite.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

import gradmedic

ARCH = "ssm"
MONITOR_AT = ("watch(model, optimizer, every=10) right after setup_optimizer builds the AdamW (its param groups: the "
              "general parameters, then the SSM parameters log_dt/log_A_real/A_imag at lr 0.001, weight_decay 0); "
              "monitor.step(loss) right after loss.backward(), before optimizer.step() (example.py does not clip); "
              "scheduler.step() once per epoch")

EPOCHS = 12  # upstream: --epochs 100
D_MODEL = 64  # upstream: --d_model 128
N_LAYERS = 2  # upstream: --n_layers 4
D_STATE = 64  # upstream: S4D(d_state=64)


# ---------------------------------------------------------------------------------------------------------------------
# src/models/nn/dropout.py: DropoutNd (copied; rearrange is only used when transposed=False, never here)

class DropoutNd(nn.Module):
    def __init__(self, p: float = 0.5, tie=True, transposed=True):
        """
        tie: tie dropout mask across sequence lengths (Dropout1d/2d/3d)
        """
        super().__init__()
        if p < 0 or p >= 1:
            raise ValueError("dropout probability has to be in [0, 1), " "but got {}".format(p))  # noqa: UP032
        self.p = p
        self.tie = tie
        self.transposed = transposed
        self.binomial = torch.distributions.binomial.Binomial(probs=1-self.p)

    def forward(self, X):
        """X: (batch, dim, lengths...)."""
        if self.training:
            # upstream: if not self.transposed: X = rearrange(X, 'b ... d -> b d ...')  (transposed is True here)
            mask_shape = X.shape[:2] + (1,)*(X.ndim-2) if self.tie else X.shape
            # mask = self.binomial.sample(mask_shape)
            mask = torch.rand(*mask_shape, device=X.device) < 1.-self.p
            X = X * mask * (1.0/(1-self.p))
            return X
        return X


# ---------------------------------------------------------------------------------------------------------------------
# models/s4/s4d.py (copied)

class S4DKernel(nn.Module):
    """Generate convolution kernel from diagonal SSM parameters."""

    def __init__(self, d_model, N=64, dt_min=0.001, dt_max=0.1, lr=None, ssm_group=True):
        super().__init__()
        self.ssm_group = ssm_group  # False: the no_ssm_group variant (no _optim attributes)
        # Generate dt
        H = d_model
        log_dt = torch.rand(H) * (
            math.log(dt_max) - math.log(dt_min)
        ) + math.log(dt_min)

        C = torch.randn(H, N // 2, dtype=torch.cfloat)
        self.C = nn.Parameter(torch.view_as_real(C))
        self.register("log_dt", log_dt, lr)

        log_A_real = torch.log(0.5 * torch.ones(H, N//2))
        # upstream: A_imag = math.pi * repeat(torch.arange(N//2), 'n -> h n', h=H)  (einops, not installed here)
        A_imag = math.pi * torch.arange(N//2).unsqueeze(0).repeat(H, 1)
        self.register("log_A_real", log_A_real, lr)
        self.register("A_imag", A_imag, lr)

    def forward(self, L):
        """
        returns: (..., c, L) where c is number of channels (default 1)
        """

        # Materialize parameters
        dt = torch.exp(self.log_dt) # (H)
        C = torch.view_as_complex(self.C) # (H N)
        A = -torch.exp(self.log_A_real) + 1j * self.A_imag # (H N)

        # Vandermonde multiplication
        dtA = A * dt.unsqueeze(-1)  # (H N)
        K = dtA.unsqueeze(-1) * torch.arange(L, device=A.device) # (H N L)
        C = C * (torch.exp(dtA)-1.) / A
        K = 2 * torch.einsum('hn, hnl -> hl', C, torch.exp(K)).real

        return K

    def register(self, name, tensor, lr=None):
        """Register a tensor with a configurable learning rate and 0 weight decay"""

        if lr == 0.0:
            self.register_buffer(name, tensor)
        else:
            self.register_parameter(name, nn.Parameter(tensor))

            optim = {"weight_decay": 0.0}
            if lr is not None: optim["lr"] = lr  # noqa: E701
            if self.ssm_group:  # the no_ssm_group variant leaves the _optim attribute out
                setattr(getattr(self, name), "_optim", optim)  # noqa: B010


class S4D(nn.Module):
    def __init__(self, d_model, d_state=64, dropout=0.0, transposed=True, **kernel_args):
        super().__init__()

        self.h = d_model
        self.n = d_state
        self.d_output = self.h
        self.transposed = transposed

        self.D = nn.Parameter(torch.randn(self.h))

        # SSM Kernel
        self.kernel = S4DKernel(self.h, N=self.n, **kernel_args)

        # Pointwise
        self.activation = nn.GELU()
        # dropout_fn = nn.Dropout2d # NOTE: bugged in PyTorch 1.11
        dropout_fn = DropoutNd
        self.dropout = dropout_fn(dropout) if dropout > 0.0 else nn.Identity()

        # position-wise output transform to mix features
        self.output_linear = nn.Sequential(
            nn.Conv1d(self.h, 2*self.h, kernel_size=1),
            nn.GLU(dim=-2),
        )

    def forward(self, u, **kwargs): # absorbs return_output and transformer src mask
        """ Input and output shape (B, H, L) """
        if not self.transposed: u = u.transpose(-1, -2)  # noqa: E701
        L = u.size(-1)

        # Compute SSM Kernel
        k = self.kernel(L=L) # (H L)

        # Convolution
        k_f = torch.fft.rfft(k, n=2*L) # (H L)
        u_f = torch.fft.rfft(u, n=2*L) # (B H L)
        y = torch.fft.irfft(u_f*k_f, n=2*L)[..., :L] # (B H L)

        # Compute D term in state space equation - essentially a skip connection
        y = y + u * self.D.unsqueeze(-1)

        y = self.dropout(self.activation(y))
        y = self.output_linear(y)
        if not self.transposed: y = y.transpose(-1, -2)  # noqa: E701
        return y, None # Return a dummy state to satisfy this repo's interface, but this can be modified


# ---------------------------------------------------------------------------------------------------------------------
# example.py (copied: S4Model, setup_optimizer, the train loop)

dropout_fn = nn.Dropout1d  # example.py: nn.Dropout1d for torch >= 1.12


class S4Model(nn.Module):

    def __init__(
        self,
        d_input,
        d_output=10,
        d_model=256,
        n_layers=4,
        dropout=0.2,
        prenorm=False,
        lr=0.01,  # upstream: the global args.lr
        ssm_group=True,  # False: the no_ssm_group variant
    ):
        super().__init__()

        self.prenorm = prenorm

        # Linear encoder (d_input = 1 for grayscale and 3 for RGB)
        self.encoder = nn.Linear(d_input, d_model)

        # Stack S4 layers as residual blocks
        self.s4_layers = nn.ModuleList()
        self.norms = nn.ModuleList()
        self.dropouts = nn.ModuleList()
        for _ in range(n_layers):
            self.s4_layers.append(
                S4D(d_model, dropout=dropout, transposed=True, lr=min(0.001, lr), ssm_group=ssm_group)
            )
            self.norms.append(nn.LayerNorm(d_model))
            self.dropouts.append(dropout_fn(dropout))

        # Linear decoder
        self.decoder = nn.Linear(d_model, d_output)

    def forward(self, x):
        """
        Input x is shape (B, L, d_input)
        """
        x = self.encoder(x)  # (B, L, d_input) -> (B, L, d_model)

        x = x.transpose(-1, -2)  # (B, L, d_model) -> (B, d_model, L)
        for layer, norm, dropout in zip(self.s4_layers, self.norms, self.dropouts, strict=True):
            # Each iteration of this loop will map (B, d_model, L) -> (B, d_model, L)

            z = x
            if self.prenorm:
                # Prenorm
                z = norm(z.transpose(-1, -2)).transpose(-1, -2)

            # Apply S4 block: we ignore the state input and output
            z, _ = layer(z)

            # Dropout on the output of the S4 block
            z = dropout(z)

            # Residual connection
            x = z + x

            if not self.prenorm:
                # Postnorm
                x = norm(x.transpose(-1, -2)).transpose(-1, -2)

        x = x.transpose(-1, -2)

        # Pooling: average pooling over the sequence length
        x = x.mean(dim=1)

        # Decode the outputs
        x = self.decoder(x)  # (B, d_model) -> (B, d_output)

        return x


def setup_optimizer(model, lr, weight_decay, epochs, ssm_lr_mult=1.0):
    """
    S4 requires a specific optimizer setup.

    The S4 layer (A, B, C, dt) parameters typically
    require a smaller learning rate (typically 0.001), with no weight decay.

    The rest of the model can be trained with a higher learning rate (e.g. 0.004, 0.01)
    and weight decay (if desired).
    """

    # All parameters in the model
    all_parameters = list(model.parameters())

    # General parameters don't contain the special _optim key
    params = [p for p in all_parameters if not hasattr(p, "_optim")]

    # Create an optimizer with the general parameters
    optimizer = optim.AdamW(params, lr=lr, weight_decay=weight_decay)

    # Add parameters with special hyperparameters
    hps = [getattr(p, "_optim") for p in all_parameters if hasattr(p, "_optim")]  # noqa: B009
    hps = [
        dict(s) for s in sorted(list(dict.fromkeys(frozenset(hp.items()) for hp in hps)))  # noqa: C414
    ]  # Unique dicts
    for hp in hps:
        params = [p for p in all_parameters if getattr(p, "_optim", None) == hp]
        group = {"params": params, **hp}
        if "lr" in group:  # the ssm_lr variants scale the SSM group's rate too (upstream: {"params": params, **hp})
            group["lr"] = group["lr"] * ssm_lr_mult
        optimizer.add_param_group(group)

    # Create a lr scheduler
    # scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=patience, factor=0.2)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)

    # upstream prints each group's hyperparameters here
    return optimizer, scheduler


# ---------------------------------------------------------------------------------------------------------------------
# data: scikit-learn's 8x8 digits as sequences of 64 pixels (upstream: sequential CIFAR10 / MNIST from torchvision)

def digits_sequences(pixel_scale=1.0 / 16.0):
    """(train, val, test) TensorDatasets of (64, 1) pixel sequences, one pixel per step, and the labels.

    The test set is a fixed 20% of the 1797 images (upstream: the dataset's own test split); the rest is split 90/10
    into train and val with ``split_train_val`` (generator seed 42), as example.py does."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.data, dtype=torch.float32) * pixel_scale  # upstream: ToTensor() (pixels / 255 into [0, 1])
    x = x.view(-1, 64, 1)  # upstream: transforms.Lambda(lambda x: x.view(1, 784).t())
    y = torch.tensor(d.target, dtype=torch.long)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    n_test = len(y) // 5
    test = torch.utils.data.TensorDataset(x[perm[:n_test]], y[perm[:n_test]])
    full = torch.utils.data.TensorDataset(x[perm[n_test:]], y[perm[n_test:]])
    train, val = split_train_val(full, val_split=0.1)
    return train, val, test


def split_train_val(train, val_split):
    train_len = int(len(train) * (1.0-val_split))
    train, val = torch.utils.data.random_split(
        train,
        (train_len, len(train) - train_len),
        generator=torch.Generator().manual_seed(42),
    )
    return train, val


def train(seed: int = 1, lr_mult: float = 1.0, ssm_lr_mult: float = 1.0, ssm_group: bool = True,
          pixel_scale: float = 1.0 / 16.0, init_std: float | None = None, zero_grad: bool = True,
          batch_size: int = 64, dropout: float = 0.1, epochs: int = EPOCHS, d_model: int = D_MODEL,
          n_layers: int = N_LAYERS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)  # upstream sets no seed
    t0 = time.time()
    lr = 0.01 * lr_mult  # upstream: --lr 0.01
    weight_decay = 0.01  # upstream: --weight_decay 0.01
    trainset, valset, testset = digits_sequences(pixel_scale)
    d_input, d_output = 1, 10

    # Dataloaders (upstream: num_workers 4)
    trainloader = torch.utils.data.DataLoader(trainset, batch_size=batch_size, shuffle=True, num_workers=0)
    valloader = torch.utils.data.DataLoader(valset, batch_size=batch_size, shuffle=False, num_workers=0)
    testloader = torch.utils.data.DataLoader(testset, batch_size=batch_size, shuffle=False, num_workers=0)

    model = S4Model(d_input=d_input, d_output=d_output, d_model=d_model, n_layers=n_layers, dropout=dropout,
                    prenorm=False, lr=lr, ssm_group=ssm_group)
    if init_std is not None:  # the bug: N(0, init_std) for every Linear weight (encoder, decoder) and 1x1 Conv1d
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Conv1d)):
                nn.init.normal_(m.weight, mean=0.0, std=init_std)

    criterion = nn.CrossEntropyLoss()
    optimizer, scheduler = setup_optimizer(model, lr=lr, weight_decay=weight_decay, epochs=epochs,
                                           ssm_lr_mult=ssm_lr_mult)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    losses: list[float] = []

    def train_epoch():
        model.train()
        train_loss = 0
        correct = 0
        total = 0
        for batch_idx, (inputs, targets) in enumerate(trainloader):  # noqa: B007 (upstream: a tqdm progress bar)
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            outputs = model(inputs)
            loss = criterion(outputs, targets)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()

            losses.append(loss.item())
            train_loss += loss.item()
            _, predicted = outputs.max(1)
            total += targets.size(0)
            correct += predicted.eq(targets).sum().item()
        return train_loss / (batch_idx + 1), correct / total

    def evaluate(dataloader):  # upstream: eval(epoch, dataloader, checkpoint=False), no checkpoint here
        model.eval()
        eval_loss = 0
        correct = 0
        total = 0
        with torch.no_grad():
            for batch_idx, (inputs, targets) in enumerate(dataloader):  # noqa: B007
                outputs = model(inputs)
                loss = criterion(outputs, targets)
                eval_loss += loss.item()
                _, predicted = outputs.max(1)
                total += targets.size(0)
                correct += predicted.eq(targets).sum().item()
        return eval_loss / (batch_idx + 1), correct / total

    val_acc = test_acc = test_loss = float("nan")
    train_acc = float("nan")
    for epoch in range(epochs):
        _, train_acc = train_epoch()
        _, val_acc = evaluate(valloader)
        test_loss, test_acc = evaluate(testloader)
        scheduler.step()
        if verbose:
            print(f"epoch {epoch} | train loss {np.mean(losses[-20:]):.4f} acc {train_acc:.3f} | val acc "
                  f"{val_acc:.3f} | test acc {test_acc:.3f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(test_acc), "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(lr=lr, ssm_lr=min(0.001, lr) * ssm_lr_mult if ssm_group else lr,
                          train_loss=float(np.mean(la[-20:])), first_loss=float(np.mean(la[:5])),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), steps=len(la), epochs=epochs,
                          train_acc=float(train_acc), val_acc=float(val_acc), test_loss=float(test_loss),
                          lr_mult=lr_mult, ssm_lr_mult=ssm_lr_mult, ssm_group=ssm_group, pixel_scale=pixel_scale,
                          init_std=-1.0 if init_std is None else init_std, zero_grad=zero_grad,
                          batch_size=batch_size, dropout=dropout, d_model=d_model, n_layers=n_layers,
                          test_images=len(testset), train_images=len(trainset)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="s4d", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"S4D on sequential digits (S4Model: Linear encoder, {N_LAYERS} postnorm S4D layers d_model {D_MODEL} d_state "
      f"{D_STATE}, mean pooling, Linear decoder; AdamW lr 0.01 weight_decay 0.01, SSM params log_dt/log_A_real/A_imag "
      f"in their own group at lr 0.001 weight_decay 0; CosineAnnealingLR; batch 64; dropout 0.1; {EPOCHS} epochs)")
CASES: list[dict] = (
    [_case(f"s4d_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"s4d_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k},
             f"{_P}: --lr x{k} ({0.01 * k:g}); the SSM group keeps min(0.001, lr) = 0.001, as example.py does")
       for k, ss in ((10, (1,)), (100, (1,)), (1000, (1,))) for s in ss]
    + [_case("s4d_lr_all_x100_s1", "lr_high", 1, {"lr_mult": 100, "ssm_lr_mult": 100},
             f"{_P}: --lr x100 (1.0) and the SSM group's lr x100 too (0.1)")]
    + [_case("s4d_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3},
             f"{_P}: --lr /1000 (1e-05; the SSM group's min(0.001, lr) is 1e-05 too)")]
    + [_case("s4d_no_ssm_group_s1", "lr_high", 1, {"ssm_group": False},
             f"{_P}: the _optim attributes left out of S4DKernel.register, so log_dt, log_A_real and A_imag join the "
             f"general group (lr 0.01, x10 the SSM rate, and weight_decay 0.01)")]
    + [_case(f"s4d_raw_pixels_s{s}", "unscaled_inputs", s, {"pixel_scale": 16.0},
             f"{_P}: pixels as raw 0..255 values (digits' 0..16 x16) instead of ToTensor's [0, 1]") for s in (1,)]
    + [_case(f"s4d_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on the encoder and decoder Linear weights and every S4D output Conv1d "
             f"(kernel 1) weight instead of PyTorch's default U(+-1/sqrt(fan_in))") for s in (1, 2)]
    + [_case(f"s4d_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out of train(): the gradients accumulate") for s in (1,)]
    + [_case("s4d_batch32_s1", "healthy", 1, {"batch_size": 32}, f"{_P}: batch size 32 (expected harmless)")]
    + [_case("s4d_dropout0_s1", "healthy", 1, {"dropout": 0.0}, f"{_P}: dropout 0 instead of 0.1 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
