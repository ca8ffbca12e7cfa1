"""lucidrains/vit-pytorch ``SimpleViT`` (patch embedding, sin-cos positions, pre-norm transformer, mean pool) on
digits, watched by gradmedic.

Adapted from https://github.com/lucidrains/vit-pytorch (commit 69d24fe9e3024c0d4b02761123b8583a24ebed1e,
vit_pytorch/simple_vit.py; MIT License, Copyright (c) 2020 Phil Wang, see LICENSE-vit-pytorch).  Kept as in
the original: ``posemb_sincos_2d``, ``FeedForward`` (LayerNorm, Linear, GELU, Linear), ``Attention`` (LayerNorm,
``to_qkv`` without bias, scaled dot-product softmax, ``to_out`` without bias), ``Transformer`` (residual
attention and feed-forward blocks, a final LayerNorm) and ``SimpleViT`` (patches -> LayerNorm -> Linear ->
LayerNorm, ``x += pos_embedding``, mean pool, ``linear_head``), PyTorch's default initialization throughout
(the original sets none).  The training loop is the plain one of the README's usage example (``preds = v(img)``)
carried on: Adam, ``nn.CrossEntropyLoss`` on the logits, zero_grad / backward / step per batch, batch 64,
accuracy on the test set at the end.

Changed: einops is not installed here, so its three uses are rewritten with plain torch ops of the same meaning
(``Rearrange("b c (h p1) (w p2) -> b (h w) (p1 p2 c)")`` as ``Patchify``: view, permute, reshape;
``rearrange(t, "b n (h d) -> b h n d")`` as ``unflatten(-1, (h, -1)).transpose(1, 2)``; ``rearrange(out,
"b h n d -> b n (h d)")`` as ``transpose(1, 2).flatten(2)``).  The data is scikit-learn's ``load_digits``
upsampled to 1x28x28 (``digits28`` from mnist.py: 1437 training and 360 test images, normalized by the training
set's mean and std; the raw 0..255 values are the ``raw_pixels`` variant), shuffled each epoch by a
``torch.Generator`` seeded with the run's seed.  The model is small so a run takes 10-40 s on one CPU thread:
image 28, patch 7 (16 patches), channels 1, dim 64, depth 3, heads 4, dim_head 16, mlp_dim 128; Adam lr 1e-3
(the repository sets no rate in the README; its cats-and-dogs notebook uses 3e-5 with StepLR for a 20-epoch
run on a bigger model), 15 epochs (345 steps).

The watch: ``gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is built,
``monitor.step(loss)`` after ``loss.backward()``, before ``optimizer.step()``.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the
same seed's healthy run: lr x10, x100 (seeds 1 and 2), x1000 and /1000, N(0, 1) instead of the default init on
every Linear weight, zeros_ on the patch embedding's Linear (weight and bias), raw 0..255 pixels.  Labels come
from run.py's outcome rules only.
Recorded (cases-public6): healthy 0.947-0.961 on seeds 1-3; lr x10 (0.936), the zeroed patch Linear and the
raw pixels train as well as the program (labelled healthy: the ``LayerNorm(patch_dim)`` on each patch before the
embedding removes the pixels' scale and offset, so raw 0..255 values give the same accuracy); lr x100, x1000 and
/1000 end near chance, N(0, 1) at 0.60.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from mnist import digits28
from torch import nn

import gradmedic

ARCH = "transformer"
MONITOR_AT = "monitor.step(loss) after loss.backward() (CrossEntropyLoss on the logits), before optimizer.step()"


# helpers

def pair(t):
    return t if isinstance(t, tuple) else (t, t)


def posemb_sincos_2d(h, w, dim, temperature: int = 10000, dtype=torch.float32):
    y, x = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    assert (dim % 4) == 0, "feature dimension must be multiple of 4 for sincos emb"
    omega = torch.arange(dim // 4) / (dim // 4 - 1)
    omega = 1.0 / (temperature ** omega)

    y = y.flatten()[:, None] * omega[None, :]
    x = x.flatten()[:, None] * omega[None, :]
    pe = torch.cat((x.sin(), x.cos(), y.sin(), y.cos()), dim=1)
    return pe.type(dtype)


class Patchify(nn.Module):
    """einops' Rearrange("b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=p1, p2=p2) in plain torch."""

    def __init__(self, p1, p2):
        super().__init__()
        self.p1, self.p2 = p1, p2

    def forward(self, x):
        b, c, hh, ww = x.shape
        h, w = hh // self.p1, ww // self.p2
        x = x.view(b, c, h, self.p1, w, self.p2).permute(0, 2, 4, 3, 5, 1)
        return x.reshape(b, h * w, self.p1 * self.p2 * c)


# classes

class FeedForward(nn.Module):
    def __init__(self, dim, hidden_dim):
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(dim),
            nn.Linear(dim, hidden_dim),
            nn.GELU(),
            nn.Linear(hidden_dim, dim),
        )

    def forward(self, x):
        return self.net(x)


class Attention(nn.Module):
    def __init__(self, dim, heads=8, dim_head=64):
        super().__init__()
        inner_dim = dim_head * heads
        self.heads = heads
        self.scale = dim_head ** -0.5
        self.norm = nn.LayerNorm(dim)

        self.attend = nn.Softmax(dim=-1)

        self.to_qkv = nn.Linear(dim, inner_dim * 3, bias=False)
        self.to_out = nn.Linear(inner_dim, dim, bias=False)

    def forward(self, x):
        x = self.norm(x)

        qkv = self.to_qkv(x).chunk(3, dim=-1)
        q, k, v = (t.unflatten(-1, (self.heads, -1)).transpose(1, 2) for t in qkv)  # b n (h d) -> b h n d

        dots = torch.matmul(q, k.transpose(-1, -2)) * self.scale

        attn = self.attend(dots)

        out = torch.matmul(attn, v)
        out = out.transpose(1, 2).flatten(2)  # b h n d -> b n (h d)
        return self.to_out(out)


class Transformer(nn.Module):
    def __init__(self, dim, depth, heads, dim_head, mlp_dim):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.layers = nn.ModuleList([])
        for _ in range(depth):
            self.layers.append(nn.ModuleList([
                Attention(dim, heads=heads, dim_head=dim_head),
                FeedForward(dim, mlp_dim)
            ]))

    def forward(self, x):
        for attn, ff in self.layers:
            x = attn(x) + x
            x = ff(x) + x
        return self.norm(x)


class SimpleViT(nn.Module):
    def __init__(self, *, image_size, patch_size, num_classes, dim, depth, heads, mlp_dim, channels=3, dim_head=64):
        super().__init__()
        image_height, image_width = pair(image_size)
        self.patch_size = patch_height, patch_width = pair(patch_size)

        assert image_height % patch_height == 0 and image_width % patch_width == 0, \
            'Image dimensions must be divisible by the patch size.'

        patch_dim = channels * patch_height * patch_width

        self.to_patch_embedding = nn.Sequential(
            Patchify(patch_height, patch_width),
            nn.LayerNorm(patch_dim),
            nn.Linear(patch_dim, dim),
            nn.LayerNorm(dim),
        )

        self.pos_embedding = posemb_sincos_2d(
            h=image_height // patch_height,
            w=image_width // patch_width,
            dim=dim,
        )

        self.transformer = Transformer(dim, depth, heads, dim_head, mlp_dim)

        self.pool = "mean"
        self.to_latent = nn.Identity()

        self.linear_head = nn.Linear(dim, num_classes)

    def forward(self, img):
        device = img.device

        x = self.to_patch_embedding(img)
        x += self.pos_embedding.to(device, dtype=x.dtype)

        x = self.transformer(x)
        x = x.mean(dim=1)

        x = self.to_latent(x)
        return self.linear_head(x)


def evaluate(model, loader, criterion):
    model.eval()
    correct, total, loss_sum = 0, 0, 0.0
    with torch.no_grad():
        for img, label in loader:
            preds = model(img)
            loss_sum += criterion(preds, label).item() * len(label)
            correct += (preds.argmax(dim=1) == label).sum().item()
            total += len(label)
    return loss_sum / total, correct / total


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init_std: float | None = None,
          zero_patch: bool = False, epochs: int = 15, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    d_train, d_test = digits28(raw_pixels)
    g = torch.Generator()
    g.manual_seed(seed)
    train_loader = torch.utils.data.DataLoader(d_train, batch_size=64, shuffle=True, generator=g)
    test_loader = torch.utils.data.DataLoader(d_test, batch_size=1000)

    v = SimpleViT(image_size=28, patch_size=7, num_classes=10, dim=64, depth=3, heads=4, mlp_dim=128, channels=1,
                  dim_head=16)
    if init_std is not None:  # the bug: normal_(0, std) on every Linear weight instead of the default init
        for m in v.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, init_std)
    if zero_patch:  # the bug: zeros_ on the patch embedding's Linear
        nn.init.zeros_(v.to_patch_embedding[2].weight)
        nn.init.zeros_(v.to_patch_embedding[2].bias)
    lr = 1e-3 * lr_mult
    optimizer = torch.optim.Adam(v.parameters(), lr=lr)
    monitor = gradmedic.watch(v, optimizer, every=every)
    criterion = nn.CrossEntropyLoss()
    losses = []

    t0 = time.time()
    for epoch in range(epochs):
        v.train()
        for img, label in train_loader:
            optimizer.zero_grad()
            preds = v(img)
            loss = criterion(preds, label)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())
        if verbose:
            print(f"epoch {epoch + 1} loss {np.mean(losses[-22:]):.4f} ({time.time() - t0:.1f}s)", flush=True)
    test_loss, acc = evaluate(v, test_loader, criterion)
    monitor.close()
    if verbose:
        print(f"test loss {test_loss:.4f} accuracy {acc:.4f}")
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc), "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"test_loss": test_loss, "train_loss": float(np.mean(losses[-20:])), "steps": len(losses), "lr": lr},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="vit", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"vit_healthy_s{s}", "healthy", s, {}, "unchanged (SimpleViT patch 7, dim 64, depth 3, heads 4, Adam lr 1e-3, "
           "CrossEntropyLoss, batch 64, 15 epochs)", False) for s in (1, 2, 3)]
    + [_case(f"vit_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("vit_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (1e-06)")]
    + [_case("vit_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Linear weight instead of PyTorch's default (kaiming_uniform_, a=sqrt(5))")]
    + [_case("vit_zero_patch_s1", "symmetric_init", 1, {"zero_patch": True},
             "nn.init.zeros_ on the patch embedding's Linear (weight and bias)")]
    + [_case("vit_raw_pixels_s1", "unscaled_inputs", 1, {"raw_pixels": True},
             "raw 0..255 pixel values: no ToTensor scaling, no Normalize")]
)


if __name__ == "__main__":
    import sys
    r = train(verbose=True, **({"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}))
    print({k: v for k, v in r.items() if k != "monitors"})
