"""lucidrains/perceiver-pytorch ``Perceiver`` trained by the repository's own train_cifar10.py loop, on digits,
watched by gradmedic.

Adapted from https://github.com/lucidrains/perceiver-pytorch (commit 96097c6a27cc64fc1f196d3a58d32b8a82f573e1;
MIT License, Copyright (c) 2021 Phil Wang, see LICENSE-perceiver): the model from perceiver_pytorch/perceiver_pytorch.py
(``exists``, ``default``, ``l1norm``, ``cache_fn``, ``fourier_encode``, ``PreNorm``, ``GEGLU``, ``FeedForward``,
``Attention``, ``Perceiver``, copied below with PyTorch's default inits and ``latents = nn.Parameter(torch.randn(...))``
as upstream) and the loop of the repository's train_cifar10.py (the brief expected no training loop in the repository;
this commit has one, so it is followed instead of a made-up Adam loop): ``nn.CrossEntropyLoss()``,
``optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)``, ``OneCycleLR(max_lr=lr, steps_per_epoch=
len(trainloader), epochs=epochs)`` stepped per batch, ``optimizer.zero_grad()`` / ``logits = model(inputs)`` /
``loss = criterion(logits, targets)`` / ``accelerator.backward(loss)`` / ``clip_grad_norm_(max_norm=1.0)`` /
``optimizer.step()`` / ``scheduler.step()``, shuffled training set, inputs as ``b h w c``, Normalize by the data
set's mean and std, ``eval_model`` (model.eval(), no_grad, accuracy of the argmax) on the held-out set, and
upstream's Perceiver arguments where not scaled down (input_axis 2, num_freq_bands 6, max_freq 10, cross_heads 1,
latent_heads 4, num_classes 10, weight_tie_layers False, fourier_encode_data True, inverted_cross_attn False).

Changed to run offline on one CPU thread (each change marked ``# upstream: ...``): einops is not installed here, so
its uses are plain torch ops of the same meaning (``# upstream: einops ...``); accelerate (CPU, one process:
``accelerator.backward`` is ``loss.backward()``, its ``clip_grad_norm_`` torch's), wandb, fire and the periodic
prints are left out; the data is scikit-learn's ``load_digits`` (8x8, one channel, ``train_test_split(test_size=0.2,
random_state=0)``: 1437 training and 360 held-out images) instead of downloading CIFAR-10, so input_channels 1 (3);
pixels go to [0, 1] (ToTensor's /16 for these 0..16 values) then Normalize with the training pixels' mean and std
(CIFAR10_MEAN/STD).  The model is scaled down to what one loaded CPU thread trains in ~30 s (upstream's size and
loop ran at ~1 s a step here, and a first try - depth 3, 64 latents of 64, dropout 0.1, RandomCrop(8, padding=1),
batch 128, lr 1e-3, 20 epochs of 12 steps - was still at a training loss of 1.9 after 12 epochs): depth 2 (3),
num_latents 32 (128), latent_dim 64 (128), cross_dim_head 32 (64), latent_dim_head 16 (64), self_per_cross_attn 1
(2), attn_dropout and ff_dropout 0 (0.1; the README's usage example's 0.), no training augmentation (RandomCrop
with padding and RandomHorizontalFlip; the README has none), batch 64 (128), EPOCHS = 10 epochs (20) of 23 steps
(230 steps), and lr 3e-3 (1e-3, which reached 0.81 held-out accuracy in these 230 steps against 0.94 for 3e-3);
the training set is shuffled by a ``torch.Generator`` seeded with the run's seed; num_workers 0.  The paper's LAMB
optimizer is not in torch; upstream's loop uses AdamW, as here.  Knobs (one per variant): ``lr_mult`` scales lr (the
OneCycle max_lr); ``pixels`` "raw" feeds the 0..16 values without ToTensor scaling or Normalize, "x100" the
normalized pixels times 100; ``init_std`` draws every nn.Linear weight from N(0, init_std) (biases and the latents
kept); ``zero_grad=False`` leaves ``optimizer.zero_grad()`` out; ``softmax_out`` applies softmax to the logits
before CrossEntropyLoss; ``weight_decay`` replaces 1e-4; ``batch_size`` replaces 64.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the AdamW is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``clip_grad_norm_`` and ``optimizer.step()``;
``monitor.close()`` after the loop.  Metric "accuracy": the held-out accuracy after training (chance 0.1).

``CASES`` (program "perceiver"): the program on seeds 1-3, and one change each against the same seed's healthy
run: lr x10, x100, x1000, /1000 (seed 1); raw 0..16 pixels (seed 1), normalized pixels x100 (seed 2); N(0, 1) on
every Linear weight; ``optimizer.zero_grad()`` left out; softmax before CrossEntropyLoss (seed 1); and two changes
expected harmless: lr x2 (cause "lr_high", seed 1) and weight_decay 1e-2 (cause "healthy", seed 2).  Labels come
from run.py's outcome rules only.
Recorded (cases-public179; 14 runs, 19-34 s each on the shared 2-core machine, ~360 s in all): healthy held-out
accuracy 0.936, 0.953, 0.947 on seeds 1-3 (training loss 2.49, 2.48, 2.42 over the first 5 steps -> 0.099, 0.062,
0.101 over the last 20; largest loss 2.51-2.62); lr x10 (0.03): 0.783 (training loss 0.47): broken; lr x100 (0.3):
0.097, stuck at 2.31: broken; lr x1000 (3): 0.081, losses up to 987 (all finite), 12.9 at the end: broken; lr /1000
(3e-6): 0.083, 2.56 -> 2.45: broken; raw 0..16 pixels: 0.925 (the context LayerNorm of the cross attention
removes most of the scale): healthy; normalized pixels x100 (seed 2): 0.194, training loss 2.06: broken; N(0, 1) on
every Linear weight: 0.919, first loss 7.7, largest 9.1 (over 2x the control's 2.59), training loss 0.18:
ambiguous (recovers, but blew up on the way); optimizer.zero_grad() left out: 0.939 (Adam's normalization and the
clipping to norm 1 absorb the accumulated sum): healthy; softmax before CrossEntropyLoss: 0.786, training loss
2.31 -> 1.64: broken; lr x2 (6e-3): 0.947: healthy; weight_decay 1e-2 (seed 2): 0.950: healthy.  Labels: 3 healthy
programs, 7 broken, 3 healthy variants, 1 ambiguous; no non-finite loss.
"""

from __future__ import annotations

import time
from functools import wraps
from math import pi

import numpy as np
import torch
import torch.nn.functional as F
from torch import cat, einsum, nn, stack
from torch.nn import Module, ModuleList

import gradmedic

ARCH = "transformer"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4); "
              "monitor.step(loss) right after loss.backward() (accelerator.backward), before "
              "clip_grad_norm_(max_norm=1.0), optimizer.step() and the OneCycleLR scheduler.step()")

EPOCHS = 10  # upstream: epochs = 20 (of CIFAR-10's 391 batches; here 23 batches each)
LR = 3e-3  # upstream: lr = 1e-3 (0.81 held-out accuracy in these 230 steps)
WEIGHT_DECAY = 1e-4
BATCH_SIZE = 64  # upstream: batch_size = 128
# upstream: depth 3, num_latents 128, latent_dim 128, cross_dim_head 64, latent_dim_head 64, self_per_cross_attn 2, dropout 0.1
MODEL = dict(depth=2, num_latents=32, latent_dim=64, cross_dim_head=32, latent_dim_head=16, self_per_cross_attn=1, dropout=0.0)
AUGMENT = False  # upstream: RandomCrop(32, padding=4) + RandomHorizontalFlip (here RandomCrop(8, padding=1) when True)


# helpers (perceiver_pytorch/perceiver_pytorch.py)

def exists(val):
    return val is not None


def default(val, d):
    return val if exists(val) else d


def l1norm(t, dim=-1, eps=1e-8):
    return F.normalize(t, p=1, dim=dim, eps=eps)


def cache_fn(f):
    cache = dict()

    @wraps(f)
    def cached_fn(*args, _cache=True, key=None, **kwargs):
        if not _cache:
            return f(*args, **kwargs)
        nonlocal cache
        if key in cache:
            return cache[key]
        result = f(*args, **kwargs)
        cache[key] = result
        return result
    return cached_fn


def fourier_encode(x, max_freq, num_bands=4):
    x = x.unsqueeze(-1)  # upstream: einops rearrange(x, '... -> ... 1')
    device, dtype, orig_x = x.device, x.dtype, x

    scales = torch.linspace(1., max_freq / 2, num_bands, device=device, dtype=dtype)
    scales = scales[(*((None,) * (len(x.shape) - 1)), Ellipsis)]

    x = x * scales * pi
    x = cat([x.sin(), x.cos()], dim=-1)
    x = cat((x, orig_x), dim=-1)
    return x


# helper classes

class PreNorm(nn.Module):
    def __init__(self, dim, fn, context_dim=None):
        super().__init__()
        self.fn = fn
        self.norm = nn.LayerNorm(dim)
        self.norm_context = nn.LayerNorm(context_dim) if exists(context_dim) else None

    def forward(self, x, **kwargs):
        x = self.norm(x)

        if exists(self.norm_context):
            context = kwargs['context']
            normed_context = self.norm_context(context)
            kwargs.update(context=normed_context)

        return self.fn(x, **kwargs)


class GEGLU(Module):
    def forward(self, x):
        x, gates = x.chunk(2, dim=-1)
        return x * F.gelu(gates)


class FeedForward(Module):
    def __init__(self, dim, mult=4, dropout=0.):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(dim, dim * mult * 2),
            GEGLU(),
            nn.Linear(dim * mult, dim),
            nn.Dropout(dropout)
        )

    def forward(self, x):
        return self.net(x)


class Attention(nn.Module):
    def __init__(self, query_dim, context_dim=None, heads=8, dim_head=64, dropout=0.):
        super().__init__()
        inner_dim = dim_head * heads
        context_dim = default(context_dim, query_dim)

        self.scale = dim_head ** -0.5
        self.heads = heads

        self.to_q = nn.Linear(query_dim, inner_dim, bias=False)
        self.to_kv = nn.Linear(context_dim, inner_dim * 2, bias=False)

        self.dropout = nn.Dropout(dropout)
        self.to_out = nn.Linear(inner_dim, query_dim)

    def forward(self, x, context=None, mask=None, inverted_attention=False):
        h = self.heads

        q = self.to_q(x)
        context = default(context, x)
        k, v = self.to_kv(context).chunk(2, dim=-1)

        # upstream: einops rearrange(t, 'b n (h d) -> (b h) n d', h = h)
        q, k, v = (t.unflatten(-1, (h, -1)).transpose(1, 2).flatten(0, 1) for t in (q, k, v))

        sim = einsum('b i d, b j d -> b i j', q, k) * self.scale

        if exists(mask):
            mask = mask.flatten(1)  # upstream: einops rearrange(mask, 'b ... -> b (...)')
            max_neg_value = -torch.finfo(sim.dtype).max
            mask = mask.repeat_interleave(h, dim=0)[:, None]  # upstream: einops repeat(mask, 'b j -> (b h) () j', h = h)
            sim.masked_fill_(~mask, max_neg_value)

        # attention, what we cannot get enough of

        if inverted_attention:
            attn = sim.softmax(dim=-2)

            if exists(mask):
                attn = attn.masked_fill(~mask, 0.)

            attn = l1norm(attn)
        else:
            attn = sim.softmax(dim=-1)

        attn = self.dropout(attn)

        # aggregate

        out = einsum('b i j, b j d -> b i d', attn, v)
        # upstream: einops rearrange(out, '(b h) n d -> b n (h d)', h = h)
        out = out.unflatten(0, (-1, h)).transpose(1, 2).flatten(2)
        return self.to_out(out)


class MeanTokens(Module):
    """upstream: einops.layers.torch Reduce('b n d -> b d', 'mean')."""

    def forward(self, x):
        return x.mean(dim=1)


# main class

class Perceiver(nn.Module):
    def __init__(
        self,
        *,
        num_freq_bands,
        depth,
        max_freq,
        input_channels=3,
        input_axis=2,
        num_latents=512,
        latent_dim=512,
        cross_heads=1,
        latent_heads=8,
        cross_dim_head=64,
        latent_dim_head=64,
        num_classes=1000,
        attn_dropout=0.,
        ff_dropout=0.,
        weight_tie_layers=False,
        fourier_encode_data=True,
        self_per_cross_attn=1,
        final_classifier_head=True,
        inverted_cross_attn: bool | tuple[bool, ...] = False
    ):
        super().__init__()
        self.input_axis = input_axis
        self.max_freq = max_freq
        self.num_freq_bands = num_freq_bands

        if isinstance(inverted_cross_attn, bool):
            inverted_cross_attn = (inverted_cross_attn,) * depth

        assert len(inverted_cross_attn) == depth, f'inverted_cross_attn tuple must have length of depth ({depth})'
        self.inverted_cross_attn = inverted_cross_attn

        # fourier

        self.fourier_encode_data = fourier_encode_data
        fourier_channels = (input_axis * ((num_freq_bands * 2) + 1)) if fourier_encode_data else 0
        input_dim = fourier_channels + input_channels

        self.latents = nn.Parameter(torch.randn(num_latents, latent_dim))

        def get_cross_attn():
            return PreNorm(latent_dim, Attention(latent_dim, input_dim, heads=cross_heads, dim_head=cross_dim_head,
                                                 dropout=attn_dropout), context_dim=input_dim)

        def get_cross_ff():
            return PreNorm(latent_dim, FeedForward(latent_dim, dropout=ff_dropout))

        def get_latent_attn():
            return PreNorm(latent_dim, Attention(latent_dim, heads=latent_heads, dim_head=latent_dim_head,
                                                 dropout=attn_dropout))

        def get_latent_ff():
            return PreNorm(latent_dim, FeedForward(latent_dim, dropout=ff_dropout))

        get_cross_attn, get_cross_ff, get_latent_attn, get_latent_ff = (
            cache_fn(fn) for fn in (get_cross_attn, get_cross_ff, get_latent_attn, get_latent_ff))

        self.layers = ModuleList([])
        for i in range(depth):
            should_cache = i > 0 and weight_tie_layers
            cache_args = {'_cache': should_cache}

            self_attns = ModuleList([])

            for block_ind in range(self_per_cross_attn):
                self_attns.append(ModuleList([
                    get_latent_attn(**cache_args, key=block_ind),
                    get_latent_ff(**cache_args, key=block_ind)
                ]))

            self.layers.append(ModuleList([
                get_cross_attn(**cache_args),
                get_cross_ff(**cache_args),
                self_attns
            ]))

        self.to_logits = nn.Sequential(
            MeanTokens(),  # upstream: einops Reduce('b n d -> b d', 'mean')
            nn.LayerNorm(latent_dim),
            nn.Linear(latent_dim, num_classes)
        ) if final_classifier_head else nn.Identity()

    def forward(
        self,
        data,
        mask=None,
        return_embeddings=False
    ):
        b, *axis, _, device, dtype = *data.shape, data.device, data.dtype
        assert len(axis) == self.input_axis, 'input data must have the right number of axis'

        if self.fourier_encode_data:
            # calculate fourier encoded positions in the range of [-1, 1], for all axis

            axis_pos = [torch.linspace(-1., 1., steps=size, device=device, dtype=dtype) for size in axis]
            pos = stack(torch.meshgrid(*axis_pos, indexing='ij'), dim=-1)
            enc_pos = fourier_encode(pos, self.max_freq, self.num_freq_bands)
            enc_pos = enc_pos.flatten(-2)  # upstream: einops rearrange(enc_pos, '... n d -> ... (n d)')
            enc_pos = enc_pos.expand(b, *enc_pos.shape)  # upstream: einops repeat(enc_pos, '... -> b ...', b = b)

            data = cat((data, enc_pos), dim=-1)

        # concat to channels of data and flatten axis

        data = data.flatten(1, -2)  # upstream: einops rearrange(data, 'b ... d -> b (...) d')

        x = self.latents.expand(b, *self.latents.shape)  # upstream: einops repeat(self.latents, 'n d -> b n d', b = b)

        # layers

        for i, (cross_attn, cross_ff, self_attns) in enumerate(self.layers):
            x = cross_attn(x, context=data, mask=mask, inverted_attention=self.inverted_cross_attn[i]) + x
            x = cross_ff(x) + x

            for self_attn, self_ff in self_attns:
                x = self_attn(x) + x
                x = self_ff(x) + x

        # allow for fetching embeddings

        if return_embeddings:
            return x

        # to logits

        return self.to_logits(x)


# data (upstream: torchvision CIFAR10 with RandomCrop(32, padding=4), RandomHorizontalFlip, ToTensor, Normalize)

def digits_data(pixels: str = "normalized"):
    """(x_train, y_train, x_test, y_test, mean, std) as [N, 8, 8] pixels in [0, 1] (raw 0..16 for pixels='raw')."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)
    xtr, xte = torch.tensor(xtr, dtype=torch.float32), torch.tensor(xte, dtype=torch.float32)
    if pixels != "raw":  # the raw variant: no ToTensor scaling (the 0..16 values as they are)
        xtr, xte = xtr / 16.0, xte / 16.0  # ToTensor: [0, 1]
    mean, std = xtr.mean().item(), xtr.std().item()  # upstream: CIFAR10_MEAN, CIFAR10_STD
    return xtr, torch.tensor(ytr), xte, torch.tensor(yte), mean, std


def random_crop(x, gen, padding=1):
    """RandomCrop(8, padding=1) per image (zero padding, before Normalize as in transforms.Compose)."""
    n, h, w = x.shape
    xp = F.pad(x, (padding, padding, padding, padding))
    off = torch.randint(0, 2 * padding + 1, (n, 2), generator=gen)
    return torch.stack([xp[i, a:a + h, c:c + w] for i, (a, c) in enumerate(off.tolist())])


def transform(x, pixels, mean, std):
    if pixels == "raw":  # the bug: no ToTensor scaling, no Normalize
        x = x
    else:
        x = (x - mean) / std  # transforms.Normalize
        if pixels == "x100":  # the bug: the normalized pixels x100
            x = x * 100.0
    return x.unsqueeze(-1)  # upstream: einops rearrange(inputs, 'b c h w -> b h w c') (one channel)


def eval_model(model, x_test, y_test, criterion, batch_size):
    model.eval()
    total_loss = 0.
    correct = 0
    total = 0

    with torch.no_grad():
        for i in range(0, len(y_test), batch_size):
            inputs, targets = x_test[i:i + batch_size], y_test[i:i + batch_size]
            batch = targets.shape[0]
            logits = model(inputs)
            loss = criterion(logits, targets)

            total_loss += loss.item() * batch
            correct += (logits.argmax(dim=-1) == targets).sum().item()
            total += batch

    model.train()
    return total_loss / total, correct / total


def train(seed: int = 1, lr_mult: float = 1.0, pixels: str = "normalized", init_std: float | None = None,
          zero_grad: bool = True, softmax_out: bool = False, weight_decay: float = WEIGHT_DECAY,
          batch_size: int = BATCH_SIZE, epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    lr = LR * lr_mult

    # data

    xtr, ytr, xte, yte, mean, std = digits_data(pixels)
    gen = torch.Generator().manual_seed(seed)
    x_test = transform(xte, pixels, mean, std)
    steps_per_epoch = -(-len(ytr) // batch_size)  # len(trainloader), drop_last False

    # model

    model = Perceiver(
        input_channels=1,  # upstream: 3
        input_axis=2,
        num_freq_bands=6,
        max_freq=10.,
        depth=MODEL["depth"],
        num_latents=MODEL["num_latents"],  # upstream: 128
        latent_dim=MODEL["latent_dim"],  # upstream: 128
        cross_heads=1,
        latent_heads=4,
        cross_dim_head=MODEL["cross_dim_head"],
        latent_dim_head=MODEL["latent_dim_head"],  # upstream: 64
        num_classes=10,
        attn_dropout=MODEL["dropout"],
        ff_dropout=MODEL["dropout"],
        weight_tie_layers=False,
        fourier_encode_data=True,
        self_per_cross_attn=MODEL["self_per_cross_attn"],
        inverted_cross_attn=False
    )
    if init_std is not None:  # the init_large variant: N(0, init_std) on every nn.Linear weight
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=init_std)

    # optimizer

    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, steps_per_epoch=steps_per_epoch,
                                                    epochs=epochs)
    monitor = gradmedic.watch(model, optimizer, every=every)

    # train

    step = 0
    losses, accs = [], []
    for epoch in range(1, epochs + 1):
        model.train()
        perm = torch.randperm(len(ytr), generator=gen)  # shuffle=True
        for i in range(0, len(ytr), batch_size):
            idx = perm[i:i + batch_size]
            inputs, targets = transform(random_crop(xtr[idx], gen) if AUGMENT else xtr[idx], pixels, mean, std), ytr[idx]

            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            logits = model(inputs)
            if softmax_out:  # the wrong_loss variant: probabilities into CrossEntropyLoss
                logits = logits.softmax(dim=-1)
            loss = criterion(logits, targets)

            loss.backward()  # upstream: accelerator.backward(loss)
            monitor.step(loss)  # gradmedic
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)  # upstream: accelerator.clip_grad_norm_

            optimizer.step()
            scheduler.step()

            losses.append(loss.item())
            accs.append((logits.argmax(dim=-1) == targets).float().mean().item())
            step += 1
        if verbose:
            print(f'epoch {epoch}/{epochs} | train loss: {np.mean(losses[-steps_per_epoch:]):.4f}, '
                  f'train acc: {np.mean(accs[-steps_per_epoch:]):.4f}')
    monitor.close()

    val_loss, val_acc = eval_model(model, x_test, yte, criterion, batch_size)
    if verbose:
        print(f'val loss: {val_loss:.4f}, val acc: {val_acc:.4f}, {time.time() - t0:.1f} s')
    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(val_acc), "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": {"val_loss": float(val_loss), "train_loss": float(np.mean(la[-20:])),
                      "first_loss": float(np.mean(la[:5])),
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "train_acc": float(np.mean(accs[-steps_per_epoch:])),
                      "steps": step, "epochs": epochs, "lr": lr, "lr_mult": lr_mult, "pixels": pixels,
                      "init_std": -1.0 if init_std is None else init_std, "zero_grad": zero_grad,
                      "softmax_out": softmax_out, "weight_decay": weight_decay, "batch_size": batch_size},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="perceiver", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"Perceiver (depth 2, 32 latents of 64, self_per_cross_attn 1, no dropout) by train_cifar10.py's loop (AdamW lr "
      f"{LR:g}, weight_decay {WEIGHT_DECAY:g}, OneCycleLR, clip_grad_norm_ 1.0, batch {BATCH_SIZE}, {EPOCHS} epochs) on digits")
CASES: list[dict] = (
    [_case(f"perceiver_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"perceiver_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr (OneCycle max_lr) x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1,)), (1000, (1,))) for s in ss]
    + [_case("perceiver_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr (OneCycle max_lr) /1000 ({LR * 1e-3:g})")]
    + [_case("perceiver_raw_pixels_s1", "unscaled_inputs", 1, {"pixels": "raw"},
             f"{_P}: raw 0..16 pixel values, no ToTensor scaling and no Normalize")]
    + [_case("perceiver_pixels_x100_s2", "unscaled_inputs", 2, {"pixels": "x100"},
             f"{_P}: the normalized pixels multiplied by 100")]
    + [_case(f"perceiver_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every nn.Linear weight instead of PyTorch's default "
             "U(+-1/sqrt(fan_in)) (biases and the N(0, 1) latents kept)") for s in (1,)]
    + [_case(f"perceiver_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate; clip_grad_norm_ 1.0 still applied)")
       for s in (1,)]
    + [_case("perceiver_softmax_ce_s1", "wrong_loss", 1, {"softmax_out": True},
             f"{_P}: softmax applied to the logits before nn.CrossEntropyLoss")]
    + [_case("perceiver_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: lr x2 ({LR * 2:g}; expected harmless)")]
    + [_case("perceiver_wd_1e-2_s2", "healthy", 2, {"weight_decay": 1e-2},
             f"{_P}: AdamW weight_decay 1e-2 (torch's default) instead of 1e-4 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
