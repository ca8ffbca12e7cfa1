"""IcarusWizard/MAE (a small Masked Autoencoder ViT, mae_pretrain.py), watched by gradmedic.

Adapted from https://github.com/IcarusWizard/MAE (commit 11c21fcbdb4d26a7ef84cf4d95679921c958105a, model.py and
mae_pretrain.py, with utils.py's setup_seed; MIT License, Copyright (c) 2021 IcarusWizard, see LICENSE-mae).  The
model is copied: ``random_indexes``, ``take_indexes``, ``PatchShuffle`` (a per-image random permutation of the
patches, the first 25% kept), ``MAE_Encoder`` (Conv2d patchify, pos_embedding, shuffle, cls token, timm Blocks,
LayerNorm), ``MAE_Decoder`` (mask tokens, unshuffle, pos_embedding, Blocks, Linear head, the mask of the hidden
patches) and ``MAE_ViT``; cls/pos/mask tokens ``trunc_normal_(std=.02)``, PyTorch's default inits elsewhere.  timm
(upstream pins timm==0.4.12) and einops are not installed here: timm 0.4.12's ``Mlp``, ``Attention`` and ``Block``
(timm/models/vision_transformer.py, Apache-2.0, Ross Wightman) are copied below (DropPath never built: drop_path 0),
and each einops ``rearrange``/``repeat``/``Rearrange`` is written with torch ops of the same shapes, marked
``# upstream:``.  Kept as in mae_pretrain.py: mask_ratio 0.75, the loss ``torch.mean((predicted_img - img) ** 2 *
mask) / mask_ratio`` (MSE on the masked patches), ``AdamW(lr=base_learning_rate * batch_size / 256, betas=(0.9,
0.95), weight_decay=0.05)`` with base_learning_rate 1.5e-4, the warmup-then-cosine ``LambdaLR`` stepped per epoch
(``min((epoch + 1) / (warmup_epoch + 1e-8), 0.5 * (cos(epoch / total_epoch * pi) + 1))``), gradient accumulation
(``batch_size // max_device_batch_size`` loaded batches per ``optim.step()``, ``optim.zero_grad()`` once before the
loop and after each step), no clipping, a shuffled DataLoader without drop_last.

Changed to run offline on one CPU thread in ~30 s: data - scikit-learn's digits instead of CIFAR10 (download), the
8x8 images (0..16) upsampled to 16x16 by nearest-neighbour repetition, scaled as ToTensor() then Normalize(0.5, 0.5)
would (to [-1, 1]), one grey channel (Conv2d and head for 1 channel instead of 3); the first 1497 images train, the
last 300 are held out; size - image 16, patch 4 (16 patches, 4 kept; upstream 32 and 2), emb_dim 32 (192), encoder 3
layers of 2 heads (12 of 3), decoder 1 layer of 2 heads (4 of 3), batch_size 512 with max_device_batch_size 256 (4096
and 512: two loaded batches per update as upstream has eight; lr 3e-4 by the base-lr rule), 60 epochs with 6 warmup
(2000 and 200: the same 10%), 3 loaded batches per epoch, 180 updates; seed = the run's seed (42); no tqdm,
tensorboard, reconstruction images or ``torch.save``; ``verbose=True`` left out of LambdaLR (deprecated).  Knobs
(one per variant): ``lr_mult`` scales the rate; ``raw_pixels`` feeds the raw digit values x16 (0..256) as input and
target; ``init_std`` draws every Linear and Conv2d weight from N(0, init_std); ``zero_grad=False`` leaves the
in-loop ``optim.zero_grad()`` out; ``batch_size`` replaces 512 (the rate follows the base-lr rule).

The watch, as a user would: ``monitor = gradmedic.watch(model, optim, every=10)`` right after the LambdaLR is
built, ``monitor.step(loss)`` right after ``loss.backward()`` of each loaded batch, before the accumulated
``optim.step()``; ``monitor.close()`` after the loop.  Metric "loss": the held-out masked-patch MSE (the 300 held-out
images, mask ratio 0.75 with masks from a fixed numpy seed, the squared error summed over the masked pixels / their
count, eval mode) after training; ``initial`` the same for the untrained model (0.758, 0.771, 0.798 on seeds 1-3);
``chance`` the MSE of predicting the training mean image (0.2957); for raw_pixels all three are divided by 128^2
(x_raw = 128 (x + 1)), so they are in the [-1, 1] units.

``CASES`` (program "mae"): the program on seeds 1-3, and one change each against the same seed's healthy run:
learning rate x10, x100, x1000, /1000; raw pixels (seeds 1 and 2); N(0, 1) init (seeds 1 and 2); the in-loop
``optim.zero_grad()`` left out (seeds 1 and 2); and two changes expected harmless: learning rate x2 (cause
"lr_high") and batch_size 256 (cause "healthy").  A mask ratio of 0, suggested in the brief, was left out: no patch
is masked, the loss is 0/0 = NaN from the first step, and no cause in causes.py names it.
Recorded (cases-public188; 11-39 s a run on the shared, loaded 2-core machine, 407 s in all): healthy held-out masked
MSE 0.330, 0.329, 0.320 on seeds 1-3 (start 0.758, 0.771, 0.798; training loss 0.75 over the first 5 steps ->
0.32 over the last 20; every loss finite) - a good outcome by the 0.7x rule, but only near the mean image's 0.296:
in 180 updates at the upstream rate the model learns little more than the mean digit; lr x10: 0.299, healthy; lr
x100: 0.296, healthy (both better than the control: the upstream rate is low for so short a run); lr x1000: largest
training loss 3.7e5, held-out 1.016: broken; lr /1000: 0.757 (start 0.758): broken; raw pixels: 0.918 (seed 1) and
0.908 (seed 2), start 0.961: broken; N(0, 1) init: start 5.3e4 and 1.4e5, end 1252 (seed 1) and 1469 (seed 2):
broken; zero_grad left out: 0.581 (seed 1): broken, 0.468 (seed 2, not twice the control's 0.329): ambiguous; lr x2:
0.306: healthy; batch 256: 0.322: healthy.  Labels: 7 healthy (3 programs, lr x10, x100, x2, batch 256), 7 broken,
1 ambiguous.  Every run's losses were finite.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn

import gradmedic

ARCH = "transformer"
MONITOR_AT = ("watch(model, optim, every=10) right after the LambdaLR is built; monitor.step(loss) right after "
              "loss.backward() of each loaded batch (MSE on the masked patches / mask_ratio), before the "
              "accumulated optim.step() / optim.zero_grad() (no clipping upstream)")

IMAGE_SIZE = 16  # upstream: 32 (CIFAR10); here sklearn digits 8x8 upsampled x2
PATCH_SIZE = 4  # upstream: 2
EMB_DIM = 32  # upstream: 192
ENCODER_LAYER = 3  # upstream: 12
ENCODER_HEAD = 2  # upstream: 3
DECODER_LAYER = 1  # upstream: 4
DECODER_HEAD = 2  # upstream: 3
BATCH_SIZE = 512  # upstream: 4096
MAX_DEVICE_BATCH_SIZE = 256  # upstream: 512
TOTAL_EPOCH = 60  # upstream: 2000
WARMUP_EPOCH = 6  # upstream: 200


# ---- timm 0.4.12 timm/models/vision_transformer.py (Apache-2.0, Ross Wightman): Mlp, Attention, Block -------------
# upstream: ``from timm.models.vision_transformer import Block`` (timm==0.4.12); timm is not installed here, so the
# three classes are copied (drop 0 and drop_path 0 as MAE uses them: DropPath is never built)
class Mlp(nn.Module):
    def __init__(self, in_features, hidden_features=None, out_features=None, act_layer=nn.GELU, drop=0.):
        super().__init__()
        out_features = out_features or in_features
        hidden_features = hidden_features or in_features
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = act_layer()
        self.fc2 = nn.Linear(hidden_features, out_features)
        self.drop = nn.Dropout(drop)

    def forward(self, x):
        x = self.fc1(x)
        x = self.act(x)
        x = self.drop(x)
        x = self.fc2(x)
        x = self.drop(x)
        return x


class Attention(nn.Module):
    def __init__(self, dim, num_heads=8, qkv_bias=False, qk_scale=None, attn_drop=0., proj_drop=0.):
        super().__init__()
        self.num_heads = num_heads
        head_dim = dim // num_heads
        # NOTE scale factor was wrong in my original version, can set manually to be compat with prev weights
        self.scale = qk_scale or head_dim ** -0.5

        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]   # make torchscript happy (cannot use tensor as tuple)

        attn = (q @ k.transpose(-2, -1)) * self.scale
        attn = attn.softmax(dim=-1)
        attn = self.attn_drop(attn)

        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        x = self.proj(x)
        x = self.proj_drop(x)
        return x


class Block(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4., qkv_bias=False, qk_scale=None, drop=0., attn_drop=0.,
                 drop_path=0., act_layer=nn.GELU, norm_layer=nn.LayerNorm):
        super().__init__()
        self.norm1 = norm_layer(dim)
        self.attn = Attention(
            dim, num_heads=num_heads, qkv_bias=qkv_bias, qk_scale=qk_scale, attn_drop=attn_drop, proj_drop=drop)
        # NOTE: drop path for stochastic depth, we shall see if this is better than dropout here
        self.drop_path = nn.Identity()  # upstream (timm): DropPath(drop_path) if drop_path > 0. else nn.Identity()
        self.norm2 = norm_layer(dim)
        mlp_hidden_dim = int(dim * mlp_ratio)
        self.mlp = Mlp(in_features=dim, hidden_features=mlp_hidden_dim, act_layer=act_layer, drop=drop)

    def forward(self, x):
        x = x + self.drop_path(self.attn(self.norm1(x)))
        x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x


# ---- IcarusWizard/MAE model.py ---------------------------------------------------------------------------------
# upstream: einops' repeat/rearrange/Rearrange; einops is not installed here, so each is written with torch ops
# (same shapes and order) and marked
def random_indexes(size: int):
    forward_indexes = np.arange(size)
    np.random.shuffle(forward_indexes)
    backward_indexes = np.argsort(forward_indexes)
    return forward_indexes, backward_indexes


def take_indexes(sequences, indexes):
    # upstream: torch.gather(sequences, 0, repeat(indexes, 't b -> t b c', c=sequences.shape[-1]))
    return torch.gather(sequences, 0, indexes.unsqueeze(-1).expand(-1, -1, sequences.shape[-1]))


class PatchShuffle(torch.nn.Module):
    def __init__(self, ratio) -> None:
        super().__init__()
        self.ratio = ratio

    def forward(self, patches: torch.Tensor):
        T, B, C = patches.shape
        remain_T = int(T * (1 - self.ratio))

        indexes = [random_indexes(T) for _ in range(B)]
        forward_indexes = torch.as_tensor(np.stack([i[0] for i in indexes], axis=-1), dtype=torch.long).to(patches.device)
        backward_indexes = torch.as_tensor(np.stack([i[1] for i in indexes], axis=-1), dtype=torch.long).to(patches.device)

        patches = take_indexes(patches, forward_indexes)
        patches = patches[:remain_T]

        return patches, forward_indexes, backward_indexes


def _patch2img(x, patch_size, h):
    # upstream: Rearrange('(h w) b (c p1 p2) -> b c (h p1) (w p2)', p1=patch_size, p2=patch_size, h=image_size//patch_size)
    T, B, D = x.shape
    w = T // h
    c = D // (patch_size * patch_size)
    x = x.reshape(h, w, B, c, patch_size, patch_size).permute(2, 3, 0, 4, 1, 5)
    return x.reshape(B, c, h * patch_size, w * patch_size)


class MAE_Encoder(torch.nn.Module):
    def __init__(self,
                 image_size=32,
                 patch_size=2,
                 emb_dim=192,
                 num_layer=12,
                 num_head=3,
                 mask_ratio=0.75,
                 in_chans=1,  # upstream: 3 (CIFAR10's RGB; digits are grey)
                 ) -> None:
        super().__init__()

        self.cls_token = torch.nn.Parameter(torch.zeros(1, 1, emb_dim))
        self.pos_embedding = torch.nn.Parameter(torch.zeros((image_size // patch_size) ** 2, 1, emb_dim))
        self.shuffle = PatchShuffle(mask_ratio)

        self.patchify = torch.nn.Conv2d(in_chans, emb_dim, patch_size, patch_size)  # upstream: Conv2d(3, ...)

        self.transformer = torch.nn.Sequential(*[Block(emb_dim, num_head) for _ in range(num_layer)])

        self.layer_norm = torch.nn.LayerNorm(emb_dim)

        self.init_weight()

    def init_weight(self):
        nn.init.trunc_normal_(self.cls_token, std=.02)  # upstream: timm's trunc_normal_ (the same: a=-2, b=2)
        nn.init.trunc_normal_(self.pos_embedding, std=.02)

    def forward(self, img):
        patches = self.patchify(img)
        patches = patches.flatten(2).permute(2, 0, 1)  # upstream: rearrange(patches, 'b c h w -> (h w) b c')
        patches = patches + self.pos_embedding

        patches, forward_indexes, backward_indexes = self.shuffle(patches)

        patches = torch.cat([self.cls_token.expand(-1, patches.shape[1], -1), patches], dim=0)
        patches = patches.transpose(0, 1)  # upstream: rearrange(patches, 't b c -> b t c')
        features = self.layer_norm(self.transformer(patches))
        features = features.transpose(0, 1)  # upstream: rearrange(features, 'b t c -> t b c')

        return features, backward_indexes


class MAE_Decoder(torch.nn.Module):
    def __init__(self,
                 image_size=32,
                 patch_size=2,
                 emb_dim=192,
                 num_layer=4,
                 num_head=3,
                 in_chans=1,  # upstream: 3
                 ) -> None:
        super().__init__()

        self.mask_token = torch.nn.Parameter(torch.zeros(1, 1, emb_dim))
        self.pos_embedding = torch.nn.Parameter(torch.zeros((image_size // patch_size) ** 2 + 1, 1, emb_dim))

        self.transformer = torch.nn.Sequential(*[Block(emb_dim, num_head) for _ in range(num_layer)])

        self.head = torch.nn.Linear(emb_dim, in_chans * patch_size ** 2)  # upstream: 3 * patch_size ** 2
        self.patch_size, self.h = patch_size, image_size // patch_size  # upstream: self.patch2img = Rearrange(...)

        self.init_weight()

    def patch2img(self, x):
        return _patch2img(x, self.patch_size, self.h)

    def init_weight(self):
        nn.init.trunc_normal_(self.mask_token, std=.02)
        nn.init.trunc_normal_(self.pos_embedding, std=.02)

    def forward(self, features, backward_indexes):
        T = features.shape[0]
        backward_indexes = torch.cat([torch.zeros(1, backward_indexes.shape[1]).to(backward_indexes), backward_indexes + 1],
                                     dim=0)
        features = torch.cat([features, self.mask_token.expand(backward_indexes.shape[0] - features.shape[0],
                                                               features.shape[1], -1)], dim=0)
        features = take_indexes(features, backward_indexes)
        features = features + self.pos_embedding

        features = features.transpose(0, 1)  # upstream: rearrange(features, 't b c -> b t c')
        features = self.transformer(features)
        features = features.transpose(0, 1)  # upstream: rearrange(features, 'b t c -> t b c')
        features = features[1:]  # remove global feature

        patches = self.head(features)
        mask = torch.zeros_like(patches)
        mask[T - 1:] = 1
        mask = take_indexes(mask, backward_indexes[1:] - 1)
        img = self.patch2img(patches)
        mask = self.patch2img(mask)

        return img, mask


class MAE_ViT(torch.nn.Module):
    def __init__(self,
                 image_size=32,
                 patch_size=2,
                 emb_dim=192,
                 encoder_layer=12,
                 encoder_head=3,
                 decoder_layer=4,
                 decoder_head=3,
                 mask_ratio=0.75,
                 ) -> None:
        super().__init__()

        self.encoder = MAE_Encoder(image_size, patch_size, emb_dim, encoder_layer, encoder_head, mask_ratio)
        self.decoder = MAE_Decoder(image_size, patch_size, emb_dim, decoder_layer, decoder_head)

    def forward(self, img):
        features, backward_indexes = self.encoder(img)
        predicted_img, mask = self.decoder(features, backward_indexes)
        return predicted_img, mask


# ---- data: sklearn digits instead of CIFAR10 ----------------------------------------------------------------------
def digits_images(raw_pixels: bool = False):
    """Digits 8x8 (0..16) upsampled to 16x16 (nearest), as ToTensor() then Normalize(0.5, 0.5) would give: [-1, 1].

    raw_pixels: the raw values x16 (0..256), no ToTensor scaling, no Normalize.  The first 1497 images train, the last
    300 are the held-out set."""
    from sklearn.datasets import load_digits

    x = torch.tensor(load_digits().images, dtype=torch.float32)  # (1797, 8, 8) in 0..16
    x = x.repeat_interleave(2, dim=1).repeat_interleave(2, dim=2).unsqueeze(1)  # (1797, 1, 16, 16)
    x = x * 16.0 if raw_pixels else ((x / 16.0) - 0.5) / 0.5
    return x[:-300], x[-300:]


@torch.no_grad()
def masked_mse(model, imgs, mask_ratio=0.75, seed=0):
    """Held-out MSE on the masked patches (mask ratio 0.75, masks drawn from a fixed numpy seed)."""
    state = np.random.get_state()
    np.random.seed(seed)
    old = model.encoder.shuffle.ratio
    model.encoder.shuffle.ratio = mask_ratio
    was = model.training
    model.eval()
    pred, mask = model(imgs)
    model.encoder.shuffle.ratio = old
    model.train(was)
    np.random.set_state(state)
    return float(torch.sum((pred - imgs) ** 2 * mask) / torch.sum(mask))


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init_std: float | None = None,
          zero_grad: bool = True, batch_size: int | None = None, total_epoch: int | None = None, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t_start = time.time()
    # setup_seed(args.seed), utils.py
    torch.manual_seed(seed)  # upstream: 42
    np.random.seed(seed)
    import random
    random.seed(seed)

    base_learning_rate, weight_decay, mask_ratio = 1.5e-4, 0.05, 0.75
    batch_size = batch_size or BATCH_SIZE
    total_epoch = total_epoch or TOTAL_EPOCH
    warmup_epoch = max(1, total_epoch // 10) if total_epoch != TOTAL_EPOCH else WARMUP_EPOCH
    load_batch_size = min(MAX_DEVICE_BATCH_SIZE, batch_size)
    assert batch_size % load_batch_size == 0
    steps_per_update = batch_size // load_batch_size

    train_x, val_x = digits_images(raw_pixels)
    scale = 128.0 if raw_pixels else 1.0  # raw units -> [-1, 1] units for the metric (x_raw = 128 (x + 1))
    dataloader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(train_x), load_batch_size, shuffle=True)

    model = MAE_ViT(image_size=IMAGE_SIZE, patch_size=PATCH_SIZE, emb_dim=EMB_DIM, encoder_layer=ENCODER_LAYER,
                    encoder_head=ENCODER_HEAD, decoder_layer=DECODER_LAYER, decoder_head=DECODER_HEAD,
                    mask_ratio=mask_ratio)
    if init_std is not None:  # the bug: N(0, init_std) for every Linear and Conv2d weight
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                nn.init.normal_(m.weight, mean=0.0, std=init_std)
    initial = masked_mse(model, val_x) / scale ** 2
    optim = torch.optim.AdamW(model.parameters(), lr=base_learning_rate * batch_size / 256 * lr_mult, betas=(0.9, 0.95),
                              weight_decay=weight_decay)
    lr_func = lambda epoch: min((epoch + 1) / (warmup_epoch + 1e-8), 0.5 * (math.cos(epoch / total_epoch * math.pi) + 1))  # noqa: E731
    lr_scheduler = torch.optim.lr_scheduler.LambdaLR(optim, lr_lambda=lr_func)  # upstream: verbose=True
    monitor = gradmedic.watch(model, optim, every=every)  # gradmedic

    all_losses = []
    step_count = 0
    optim.zero_grad()
    for e in range(total_epoch):
        model.train()
        losses = []
        for (img,) in dataloader:  # upstream: for img, label in tqdm(iter(dataloader))
            step_count += 1
            predicted_img, mask = model(img)
            loss = torch.mean((predicted_img - img) ** 2 * mask) / mask_ratio
            loss.backward()
            monitor.step(loss)  # gradmedic
            if step_count % steps_per_update == 0:
                optim.step()
                if zero_grad:  # the no_zero_grad variant leaves this out
                    optim.zero_grad()
            losses.append(loss.item())
        lr_scheduler.step()
        all_losses += losses
        avg_loss = sum(losses) / len(losses)
        if verbose and e % 10 == 0:
            print(f'In epoch {e}, average traning loss is {avg_loss}. ({time.time() - t_start:.1f}s)', flush=True)
        # upstream: tensorboard scalar and image of 16 reconstructions, torch.save(model) every epoch - left out

    monitor.close()
    value = masked_mse(model, val_x) / scale ** 2
    la = np.array(all_losses) / scale ** 2
    mean_img = train_x.mean(0, keepdim=True)
    mean_mse = float(((val_x - mean_img) ** 2).mean()) / scale ** 2
    return {"monitors": {"": monitor}, "metric": "loss", "value": value,
            "initial": initial, "initial_what": "untrained: held-out masked-patch MSE of the initial model",
            "chance": mean_mse,
            "extra": {"train_loss": float(np.mean(la[-20:])), "first5_loss": float(np.mean(la[:5])),
                      "first_loss": float(la[0]), "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "steps": step_count,
                      "updates": step_count // steps_per_update, "lr": base_learning_rate * batch_size / 256 * lr_mult,
                      "lr_mult": lr_mult, "batch_size": batch_size, "raw_pixels": raw_pixels,
                      "init_std": -1.0 if init_std is None else init_std, "zero_grad": zero_grad,
                      "mean_image_mse": mean_mse, "epochs": total_epoch},
            "seconds": time.time() - t_start}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="mae", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"mae_healthy_s{s}", "healthy", s, {}, f"unchanged (MAE_ViT emb {EMB_DIM}, encoder {ENCODER_LAYER}x{ENCODER_HEAD} "
           f"heads, decoder {DECODER_LAYER}x{DECODER_HEAD}, patch {PATCH_SIZE}, mask_ratio 0.75; AdamW base lr 1.5e-4 x "
           f"batch {BATCH_SIZE}/256, betas (0.9, 0.95), weight_decay 0.05, warmup+cosine LambdaLR per epoch; "
           f"{TOTAL_EPOCH} epochs, micro-batch {MAX_DEVICE_BATCH_SIZE})", False) for s in (1, 2, 3)]
    + [_case(f"mae_lr_x{k}_s1", "lr_high", 1, {"lr_mult": k}, f"learning rate x{k} ({3e-4 * k:g})") for k in (10, 100, 1000)]
    + [_case("mae_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "learning rate /1000 (3e-07)")]
    + [_case(f"mae_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             "raw digit values x16 (0..256), no ToTensor scaling and no Normalize(0.5, 0.5) (input and reconstruction "
             "target; the metric is divided by 128^2 to the [-1, 1] units)") for s in (1, 2)]
    + [_case(f"mae_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Linear and Conv2d weight (patchify, qkv, proj, fc1, fc2, head) instead "
             "of PyTorch's default init (biases, tokens and LayerNorms kept)") for s in (1, 2)]
    + [_case(f"mae_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             "optim.zero_grad() after optim.step() left out of the loop (only the one before the loop kept): the "
             "gradients accumulate") for s in (1, 2)]
    + [_case("mae_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, "learning rate x2 (6e-4; expected harmless)")]
    + [_case("mae_batch256_s1", "healthy", 1, {"batch_size": 256},
             "batch_size 256 instead of 512 (so lr 1.5e-4 by the base-lr rule and no accumulation; expected harmless)")]
)


if __name__ == "__main__":
    import sys
    kw = dict(a.split("=") for a in sys.argv[1:])
    kw = {k: (float(v) if k == "lr_mult" else int(v)) for k, v in kw.items()}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
