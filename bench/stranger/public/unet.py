"""milesial/Pytorch-UNet: its ``UNet`` (unet/unet_model.py, unet/unet_parts.py) trained by its train.py recipe on
synthetic shapes, watched by gradmedic.

Adapted from https://github.com/milesial/Pytorch-UNet (commit 21d7850f2af30a9695bbeea75f3136aa538cfc4a:
unet/unet_model.py, unet/unet_parts.py, train.py, evaluate.py, utils/dice_score.py, the image preprocessing of
utils/data_loading.py; GNU GPL v3, Copyright (C) milesial, see LICENSE-unet).  Kept as in the original:
``DoubleConv`` ((3x3 conv without bias -> BatchNorm2d -> ReLU) x 2), ``Down`` (MaxPool2d(2) -> DoubleConv), ``Up``
(ConvTranspose2d(k=2, s=2), the default ``bilinear=False``, or Upsample + DoubleConv with mid channels; the F.pad to
the skip's size, ``cat([x2, x1])``), ``OutConv`` (1x1 conv), ``UNet`` (inc, down1-4, up1-4, outc, ``factor`` 2 when
bilinear), PyTorch's default initialization throughout (upstream sets none),
``model.to(memory_format=torch.channels_last)``; dice_score.py's ``dice_coeff``, ``multiclass_dice_coeff`` and
``dice_loss`` verbatim; train.py's ``train_model`` defaults and loop: ``n_classes`` 2 (its ``--classes`` default),
``RMSprop(lr=1e-5, weight_decay=1e-8, momentum=0.999, foreach=True)``, ``ReduceLROnPlateau(optimizer, 'max',
patience=5)`` stepped with the validation Dice score every ``n_train // (5 * batch_size)`` steps,
``nn.CrossEntropyLoss()`` plus ``dice_loss(F.softmax(masks_pred, dim=1).float(), one_hot(true_masks).permute(0, 3,
1, 2).float(), multiclass=True)``, ``zero_grad(set_to_none=True)``, backward, ``clip_grad_norm_(model.parameters(),
1.0)`` (``gradient_clipping``), step; batch size 1 (its default), 5 epochs, a 10% validation split by
``random_split`` with ``torch.Generator().manual_seed(0)``, the training loader shuffled, the validation loader
``drop_last=True``; evaluate.py's Dice of the argmax prediction against the true mask, background ignored, in
``net.eval()``; the images scaled by 1/255 as ``BasicDataset.preprocess`` does when a pixel is above 1 (no other
normalization).

Changed, so a run takes ~15-30 s on one CPU thread and needs no download:
- Data: instead of the Carvana car masks, 120 synthetic RGB 32x32 uint8 images made here with numpy (seed 0): a
  random dark background colour (each channel uniform 0..110) plus Gaussian pixel noise (sd 25), one to three
  filled discs or squares (radius 3-7), each of a random bright colour (each channel 130..255); the mask is 1 inside
  the shapes, 0 outside (``mask_values`` [0, 1]; 17% foreground).  108 train / 12 validation by upstream's
  ``random_split``, so 540 steps of batch 1 in 5 epochs; the shuffling draws from a ``torch.Generator`` seeded
  with the run's seed; ``torch.manual_seed(seed)`` sets the initialization.  (A first try with backgrounds and
  shapes of any colour trained, but with batch 1 the BatchNorm running statistics did not fit any one image, so the
  eval-mode validation Dice stayed near 0.3 and ReduceLROnPlateau cut the rate early; a try with batch 4 learned
  too little in its fewer steps at lr 1e-5.)
- Model: the channel widths shrunk uniformly by 8 (8, 16, 32, 64, 128 instead of 64 ... 1024; a ``base``
  argument to ``UNet``), the input 32x32 (the bottleneck map is 2x2); ``n_channels`` 3.
- No AMP (off on CPU: the GradScaler and autocast are disabled no-ops upstream there, so left out), no wandb, tqdm,
  logging, checkpoints or ``use_checkpointing``; ``super().__init__()`` for ``super(Cls, self).__init__()``.
- A ``norm`` argument to ``DoubleConv`` (default ``nn.BatchNorm2d``) so the no-BatchNorm variant can pass
  ``nn.Identity``; ``clip`` and ``raw_pixels`` switches for the variants; ``n_images`` and ``batch_size`` arguments
  (defaults 120 and 1).

The watch: ``gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is built, ``monitor.step(loss)``
after ``loss.backward()`` (the CrossEntropy + dice loss), before ``clip_grad_norm_`` and ``optimizer.step()``;
``monitor.close()`` after the last epoch.  The metric is the training loss (run.py's rule: the mean of the last 20
steps against the mean of the first 5); the final validation Dice is in ``extra``.

``CASES`` (program "unet"): the program on seeds 1-3, and one change each against the same seed's healthy run:
RMSprop lr x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) on every Conv2d and ConvTranspose2d weight instead of
the default init (seeds 1 and 2); raw 0..255 pixels (no /255; seeds 1 and 2); every BatchNorm2d replaced by
nn.Identity (cause "no_norm", set before the set was scored in place of the helper's "init_small", since both
runs diverged: with BatchNorm gone the signal's scale through the 18 convs is the init's alone; seeds 1 and 2); no
gradient clipping (seeds 1 and 2).
Labels come from run.py's outcome rules only.
Recorded (cases-public11; 16 cases in 388 s, 15-30 s a run): healthy training loss 1.07-1.57 -> 0.023-0.035 on seeds
1-3 (validation Dice 0.92-0.94); lr x10 (0.020, Dice 0.84) and x100 on seed 1 (0.025, Dice 0.67) labelled healthy
by the training loss; x100 on seed 2 ambiguous (0.016, but a loss spike to 12 on the way, over 2x its control's
largest); x1000 broken by the loss rule (0.077 against 0.023, though its Dice is 0.98); /1000 broken (1.51, Dice
0.29); N(0, 1) conv weights broken on both seeds (0.81 from a start of 3.3, Dice 0.0; 0.11, Dice 0.88); raw 0..255
pixels healthy on both seeds (0.024 and 0.032: the first conv has no bias and its BatchNorm2d removes the scale);
BatchNorm removed broken on both seeds, the loss blowing up (largest 6e4 and 1e7; final 22.4 and 1.20); no clipping
healthy on seed 2 (0.036) and ambiguous on seed 1 (0.039, over 1.1x its control's 0.023).
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor, optim
from torch.utils.data import DataLoader, random_split

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("monitor.step(loss) after loss.backward() (CrossEntropyLoss + dice_loss), before "
              "clip_grad_norm_(1.0) and optimizer.step()")


# unet/unet_parts.py ------------------------------------------------------------------------------------------

class DoubleConv(nn.Module):
    """(convolution => [BN] => ReLU) * 2"""

    def __init__(self, in_channels, out_channels, mid_channels=None, norm=nn.BatchNorm2d):
        super().__init__()
        if not mid_channels:
            mid_channels = out_channels
        self.double_conv = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1, bias=False),
            norm(mid_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, out_channels, kernel_size=3, padding=1, bias=False),
            norm(out_channels),
            nn.ReLU(inplace=True)
        )

    def forward(self, x):
        return self.double_conv(x)


class Down(nn.Module):
    """Downscaling with maxpool then double conv"""

    def __init__(self, in_channels, out_channels, norm=nn.BatchNorm2d):
        super().__init__()
        self.maxpool_conv = nn.Sequential(
            nn.MaxPool2d(2),
            DoubleConv(in_channels, out_channels, norm=norm)
        )

    def forward(self, x):
        return self.maxpool_conv(x)


class Up(nn.Module):
    """Upscaling then double conv"""

    def __init__(self, in_channels, out_channels, bilinear=True, norm=nn.BatchNorm2d):
        super().__init__()

        # if bilinear, use the normal convolutions to reduce the number of channels
        if bilinear:
            self.up = nn.Upsample(scale_factor=2, mode='bilinear', align_corners=True)
            self.conv = DoubleConv(in_channels, out_channels, in_channels // 2, norm=norm)
        else:
            self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
            self.conv = DoubleConv(in_channels, out_channels, norm=norm)

    def forward(self, x1, x2):
        x1 = self.up(x1)
        # input is CHW
        diffY = x2.size()[2] - x1.size()[2]
        diffX = x2.size()[3] - x1.size()[3]

        x1 = F.pad(x1, [diffX // 2, diffX - diffX // 2,
                        diffY // 2, diffY - diffY // 2])
        x = torch.cat([x2, x1], dim=1)
        return self.conv(x)


class OutConv(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)

    def forward(self, x):
        return self.conv(x)


# unet/unet_model.py (widths base, 2 base, ... 16 base; upstream base = 64) -----------------------------------

class UNet(nn.Module):
    def __init__(self, n_channels, n_classes, bilinear=False, base=64, norm=nn.BatchNorm2d):
        super().__init__()
        self.n_channels = n_channels
        self.n_classes = n_classes
        self.bilinear = bilinear
        b = base

        self.inc = (DoubleConv(n_channels, b, norm=norm))
        self.down1 = (Down(b, 2 * b, norm=norm))
        self.down2 = (Down(2 * b, 4 * b, norm=norm))
        self.down3 = (Down(4 * b, 8 * b, norm=norm))
        factor = 2 if bilinear else 1
        self.down4 = (Down(8 * b, 16 * b // factor, norm=norm))
        self.up1 = (Up(16 * b, 8 * b // factor, bilinear, norm=norm))
        self.up2 = (Up(8 * b, 4 * b // factor, bilinear, norm=norm))
        self.up3 = (Up(4 * b, 2 * b // factor, bilinear, norm=norm))
        self.up4 = (Up(2 * b, b, bilinear, norm=norm))
        self.outc = (OutConv(b, n_classes))

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        x5 = self.down4(x4)
        x = self.up1(x5, x4)
        x = self.up2(x, x3)
        x = self.up3(x, x2)
        x = self.up4(x, x1)
        logits = self.outc(x)
        return logits


# utils/dice_score.py (verbatim) --------------------------------------------------------------------------------

def dice_coeff(input: Tensor, target: Tensor, reduce_batch_first: bool = False, epsilon: float = 1e-6):
    # Average of Dice coefficient for all batches, or for a single mask
    assert input.size() == target.size()
    assert input.dim() == 3 or not reduce_batch_first

    sum_dim = (-1, -2) if input.dim() == 2 or not reduce_batch_first else (-1, -2, -3)

    inter = 2 * (input * target).sum(dim=sum_dim)
    sets_sum = input.sum(dim=sum_dim) + target.sum(dim=sum_dim)
    sets_sum = torch.where(sets_sum == 0, inter, sets_sum)

    dice = (inter + epsilon) / (sets_sum + epsilon)
    return dice.mean()


def multiclass_dice_coeff(input: Tensor, target: Tensor, reduce_batch_first: bool = False, epsilon: float = 1e-6):
    # Average of Dice coefficient for all classes
    return dice_coeff(input.flatten(0, 1), target.flatten(0, 1), reduce_batch_first, epsilon)


def dice_loss(input: Tensor, target: Tensor, multiclass: bool = False):
    # Dice loss (objective to minimize) between 0 and 1
    fn = multiclass_dice_coeff if multiclass else dice_coeff
    return 1 - fn(input, target, reduce_batch_first=True)


# evaluate.py (no autocast, no tqdm) -----------------------------------------------------------------------------

@torch.inference_mode()
def evaluate(net, dataloader, device):
    net.eval()
    num_val_batches = len(dataloader)
    dice_score = 0

    # iterate over the validation set
    for batch in dataloader:
        image, mask_true = batch['image'], batch['mask']

        # move images and labels to correct device and type
        image = image.to(device=device, dtype=torch.float32, memory_format=torch.channels_last)
        mask_true = mask_true.to(device=device, dtype=torch.long)

        # predict the mask
        mask_pred = net(image)

        if net.n_classes == 1:
            assert mask_true.min() >= 0 and mask_true.max() <= 1, 'True mask indices should be in [0, 1]'
            mask_pred = (F.sigmoid(mask_pred) > 0.5).float()
            # compute the Dice score
            dice_score += dice_coeff(mask_pred, mask_true, reduce_batch_first=False)
        else:
            assert mask_true.min() >= 0 and mask_true.max() < net.n_classes, \
                'True mask indices should be in [0, n_classes['
            # convert to one-hot format
            mask_true = F.one_hot(mask_true, net.n_classes).permute(0, 3, 1, 2).float()
            mask_pred = F.one_hot(mask_pred.argmax(dim=1), net.n_classes).permute(0, 3, 1, 2).float()
            # compute the Dice score, ignoring background
            dice_score += multiclass_dice_coeff(mask_pred[:, 1:], mask_true[:, 1:], reduce_batch_first=False)

    net.train()
    return dice_score / max(num_val_batches, 1)


# the data (made here; upstream reads Carvana's jpg/gif pairs) ----------------------------------------------------

def make_shapes(n: int = 400, size: int = 32, seed: int = 0):
    """uint8 RGB images (n, size, size, 3) of 1-3 filled discs/squares on a noisy background, and their 0/1 masks."""
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[:size, :size]
    imgs = np.zeros((n, size, size, 3), dtype=np.uint8)
    masks = np.zeros((n, size, size), dtype=np.uint8)
    for i in range(n):
        bg = rng.uniform(0, 110, 3)
        img = np.broadcast_to(bg, (size, size, 3)).copy()
        mask = np.zeros((size, size), dtype=bool)
        for _ in range(rng.randint(1, 4)):
            cy, cx = rng.uniform(4, size - 4, 2)
            r = rng.uniform(3, 7)
            region = ((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r) if rng.rand() < 0.5 else (
                (np.abs(yy - cy) <= r) & (np.abs(xx - cx) <= r))
            color = rng.uniform(130, 255, 3)
            img[region] = color
            mask |= region
        img += rng.normal(0, 25, img.shape)
        imgs[i] = np.clip(np.round(img), 0, 255).astype(np.uint8)
        masks[i] = mask
    return imgs, masks


class ShapesDataset(torch.utils.data.Dataset):
    """Items as BasicDataset's: {'image': float CHW (scaled by 1/255 as its preprocess does), 'mask': long HW}."""

    def __init__(self, imgs, masks, raw_pixels=False):
        self.imgs, self.masks, self.raw_pixels = imgs, masks, raw_pixels
        self.mask_values = [0, 1]

    def __len__(self):
        return len(self.imgs)

    def __getitem__(self, idx):
        img = self.imgs[idx].transpose((2, 0, 1)).astype(np.float64)
        if not self.raw_pixels and (img > 1).any():  # the variant skips this
            img = img / 255.0
        return {'image': torch.as_tensor(img.copy()).float().contiguous(),
                'mask': torch.as_tensor(self.masks[idx].copy()).long().contiguous()}


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, raw_pixels: bool = False,
          no_bn: bool = False, clip: float | None = 1.0, epochs: int = 5, base: int = 8, n_images: int = 120,
          batch_size: int = 1,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    device = torch.device('cpu')
    val_percent = 0.1
    learning_rate, weight_decay, momentum = 1e-5 * lr_mult, 1e-8, 0.999

    model = UNet(n_channels=3, n_classes=2, bilinear=False, base=base, norm=nn.Identity if no_bn else nn.BatchNorm2d)
    if init_std is not None:  # the bug: normal_(0, std) on every conv weight instead of the default init
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(m.weight, 0.0, init_std)
    model = model.to(memory_format=torch.channels_last)

    # 1. Create dataset
    imgs, masks = make_shapes(n_images)
    dataset = ShapesDataset(imgs, masks, raw_pixels)
    # 2. Split into train / validation partitions
    n_val = int(len(dataset) * val_percent)
    n_train = len(dataset) - n_val
    train_set, val_set = random_split(dataset, [n_train, n_val], generator=torch.Generator().manual_seed(0))
    # 3. Create data loaders
    g = torch.Generator()
    g.manual_seed(seed)
    loader_args = dict(batch_size=batch_size, num_workers=0)
    train_loader = DataLoader(train_set, shuffle=True, generator=g, **loader_args)
    val_loader = DataLoader(val_set, shuffle=False, drop_last=True, **loader_args)

    # 4. Set up the optimizer, the loss, the learning rate scheduler
    optimizer = optim.RMSprop(model.parameters(),
                              lr=learning_rate, weight_decay=weight_decay, momentum=momentum, foreach=True)
    scheduler = optim.lr_scheduler.ReduceLROnPlateau(optimizer, 'max', patience=5)  # goal: maximize Dice score
    monitor = gradmedic.watch(model, optimizer, every=every)
    criterion = nn.CrossEntropyLoss() if model.n_classes > 1 else nn.BCEWithLogitsLoss()
    global_step = 0
    losses, val_scores = [], []

    # 5. Begin training
    t0 = time.time()
    for epoch in range(1, epochs + 1):
        model.train()
        for batch in train_loader:
            images, true_masks = batch['image'], batch['mask']
            images = images.to(device=device, dtype=torch.float32, memory_format=torch.channels_last)
            true_masks = true_masks.to(device=device, dtype=torch.long)

            masks_pred = model(images)
            if model.n_classes == 1:
                loss = criterion(masks_pred.squeeze(1), true_masks.float())
                loss += dice_loss(F.sigmoid(masks_pred.squeeze(1)), true_masks.float(), multiclass=False)
            else:
                loss = criterion(masks_pred, true_masks)
                loss += dice_loss(
                    F.softmax(masks_pred, dim=1).float(),
                    F.one_hot(true_masks, model.n_classes).permute(0, 3, 1, 2).float(),
                    multiclass=True
                )

            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            monitor.step(loss)  # gradmedic
            if clip is not None:  # the variant drops this
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()

            global_step += 1
            losses.append(loss.item())

            # Evaluation round
            division_step = (n_train // (5 * batch_size))
            if division_step > 0:
                if global_step % division_step == 0:
                    val_score = float(evaluate(model, val_loader, device))
                    scheduler.step(val_score)
                    val_scores.append(val_score)
                    if verbose:
                        print(f"epoch {epoch} step {global_step} loss {np.mean(losses[-20:]):.4f} val dice "
                              f"{val_score:.4f} lr {optimizer.param_groups[0]['lr']:.2e} ({time.time() - t0:.1f}s)",
                              flush=True)
    monitor.close()
    value = float(np.mean(losses[-20:]))
    return {"monitors": {"": monitor}, "metric": "train_loss", "value": value if math.isfinite(value) else float("nan"),
            "initial": float(np.mean(losses[:5])), "initial_what": "untrained: mean loss of the first 5 steps",
            "chance": None,
            "extra": {"val_dice": val_scores[-1] if val_scores else float("nan"), "val_dice_curve": val_scores,
                      "steps": global_step, "lr": learning_rate, "final_lr": optimizer.param_groups[0]['lr'],
                      "n_params": sum(p.numel() for p in model.parameters())},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="unet", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"unet_healthy_s{s}", "healthy", s, {}, "unchanged (UNet base 8, transposed-conv up, RMSprop lr 1e-5 "
           "momentum 0.999 wd 1e-8, ReduceLROnPlateau on val Dice, CrossEntropy + dice_loss, clip 1.0, batch 1, "
           "5 epochs)", False) for s in (1, 2, 3)]
    + [_case(f"unet_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"RMSprop lr x{k} ({1e-5 * k:g}), clip 1.0 kept")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("unet_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "RMSprop lr /1000 (1e-08)")]
    + [_case(f"unet_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Conv2d and ConvTranspose2d weight instead of PyTorch's default "
             "(kaiming_uniform_, a=sqrt(5))") for s in (1, 2)]
    + [_case(f"unet_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             "raw 0..255 pixel values: no /255 in the dataset's preprocess") for s in (1, 2)]
    + [_case(f"unet_no_bn_s{s}", "no_norm", s, {"no_bn": True},
             "every BatchNorm2d in DoubleConv replaced by nn.Identity, same lr and default conv init") for s in (1, 2)]
    + [_case(f"unet_no_clip_s{s}", "no_clipping", s, {"clip": None},
             "no clip_grad_norm_(model.parameters(), 1.0) before optimizer.step()") for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        if k in ("raw_pixels", "no_bn"):
            kw[k] = v == "1"
        elif k in ("epochs", "base", "seed", "n_images", "batch_size"):
            kw[k] = int(v)
        elif k == "clip":
            kw[k] = None if v == "none" else float(v)
        else:
            kw[k] = float(v)
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
