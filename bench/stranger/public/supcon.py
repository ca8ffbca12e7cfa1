"""HobbitLong's SupContrast (supervised contrastive learning: SupConLoss, two views per image, SGD with momentum and
a cosine rate), on digits, watched by gradmedic.

Adapted from https://github.com/HobbitLong/SupContrast (commit 66a8fe53880d6a1084b2e4e0db0a019024d6d41a, the newest:
losses.py, main_supcon.py, util.py, networks/resnet_big.py; BSD 2-Clause License, Copyright (c) 2020, Yonglong Tian,
see LICENSE-supcon).

Kept as in the original: ``SupConLoss`` copied whole (temperature 0.07, contrast_mode 'all', base_temperature 0.07;
main_supcon.py builds it as ``SupConLoss(temperature=opt.temp)``, so base_temperature stays 0.07 when --temp changes);
``SupConResNet``'s projection head (``head='mlp'``: Linear(dim_in, dim_in), ReLU, Linear(dim_in, feat_dim=128)) and
its forward (``F.normalize(self.head(self.encoder(x)), dim=1)``); the ResNet's init loop (kaiming_normal_ fan_out on
the convs, BN weight 1 and bias 0); ``set_optimizer`` (SGD lr 0.05, momentum 0.9, weight_decay 1e-4: parse_option's
defaults), ``adjust_learning_rate`` with ``--cosine`` (as in the README's commands; eta_min = lr * 0.1^3, set per epoch
from epoch 1), batch 256 (no warm-up: upstream warms only for batch > 256), ``AverageMeter``, and ``train``'s loop:
two views concatenated, ``features = model(images)``, split and stacked to [bsz, 2, 128],
``criterion(features, labels)`` (method SupCon), ``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``.

Changed to run offline on one CPU thread in ~20 s: CIFAR-10 (torchvision, not available here) is scikit-learn's 8x8
``load_digits`` (a stratified 80/20 split by the run's seed: 1437 training and 360 held-out images, pixels /16 then
standardized by the training mean and std, in the role of upstream's ``transforms.Normalize``); upstream's
``TwoCropTransform`` of RandomResizedCrop/flip/ColorJitter/grayscale becomes two independent draws of a random shift
by up to 1 pixel (pad 1, random 8x8 crop) plus gaussian noise of std 0.3 (standardized units), the shuffling loader
written out (``drop_last`` False as upstream: 6 steps an epoch, the last of 157 images); the ResNet-50 encoder
(dim_in 2048) is ``SmallConvEncoder``: three conv3x3-BN-ReLU layers (16, 32, 64 channels, no bias as in the
ResNet), a max pool after the second, the global average pool (dim_in 64; the head is 64 -> 64 -> 128); EPOCHS = 30
(180 steps) instead of 1000, the cosine over those 30; ``torch.manual_seed(seed)`` and a seeded generator for the
shuffles and views (upstream seeds nothing); no CUDA/apex/syncBN branches, no tensorboard logger, no checkpoints,
no warm-up call (a no-op at batch 256), prints only under ``verbose``.  Added for the metric (upstream's linear stage,
main_linear.py, trains a classifier on the frozen encoder with all labels; a random conv encoder on digits already
does well that way): the held-out accuracy of a 2-shot nearest-centroid probe on the frozen encoder's L2-normalized
features (eval mode): 2 labelled training images per class give the centroids, the 360 held-out images go to the
nearest by cosine, averaged over 20 fixed draws of the labelled images; ``initial`` is the same probe before the
first step (0.49-0.59 on these seeds: training clearly beats the random encoder).

Knobs (one per variant): ``lr_mult`` scales the learning rate (and so the cosine's floor); ``temp`` replaces --temp;
``normalize=False`` leaves ``F.normalize`` out of ``SupConResNet.forward``; ``init_std`` draws every Conv2d and
Linear weight from N(0, init_std) after the model's init; ``zero_grad=False`` leaves ``optimizer.zero_grad()`` out;
``batch_size`` replaces 256.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after ``set_optimizer``,
``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the
epochs.  Metric "accuracy": the few-label probe above after training.

``CASES`` (program "supcon"): the program on seeds 1-3, and one change each against the same seed's healthy run:
learning rate x10 (0.5, the README's rate), x100 (seeds 1 and 2), x1000, /1000; --temp 0.007 and --temp 10 (cause
"wrong_loss": a misconfigured loss); F.normalize left out (wrong_loss); N(0, 1) weights (seeds 1 and 2; init_large);
``optimizer.zero_grad()`` left out (seeds 1 and 2); and two changes expected harmless: lr x2 (cause "lr_high") and
batch 128 (cause "healthy").  Labels come from run.py's outcome rules only.
Recorded (cases-public192; 17 cases in 326 s, 10-26 s a run on the shared 2-core machine): healthy probe accuracy
0.954, 0.963, 0.956 on seeds 1-3 (untrained 0.488, 0.581, 0.571; SupConLoss 6.17, 6.18, 6.13 over the first 5
steps -> 3.97, 3.95, 3.96 over the last 20; every loss finite): healthy.  lr x10: 0.973, healthy; lr x100: seed 1
0.975 (loss 6.18 -> 4.03, largest 6.22): healthy, seed 2 0.211 (loss stuck at 6.12, largest 6.54): broken; lr
x1000: 0.849 (loss 6.22 -> 4.54): broken; lr /1000: 0.508 (6.20 -> 6.10): broken; --temp 0.007: 0.834 (the loss,
scaled by 0.1, 0.65 -> 0.45): broken; --temp 10: 0.637 (the loss, scaled by 143, 891 -> 864): broken; F.normalize
left out: 0.487, the untrained value (6.46 -> 6.14, largest 7.10): broken; N(0, 1) weights: 0.686 and 0.712 (probe
0.587 and 0.559 untrained; loss 6.18 -> 5.56 and 5.44): broken; no zero_grad: 0.263 and 0.387, below the untrained
probe (loss 6.14 -> 6.14, largest 6.44; 6.16 -> 6.01): broken; lr x2: 0.969: healthy; batch 128: 0.970 (360 steps;
loss 5.48 -> 3.19, fewer negatives a batch): healthy.  Labels: 7 healthy (3 programs, lr x10, lr x100 on seed 1,
lr x2, batch 128), 10 broken, 0 ambiguous.  Every run's losses were finite.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(model, optimizer, every=10) right after set_optimizer (SGD lr 0.05, momentum 0.9, weight_decay "
              "1e-4); monitor.step(loss) right after loss.backward() in train(), before optimizer.step() (SupConLoss "
              "over the batch's two views)")

# main_supcon.py's parse_option defaults (upstream: --epochs 1000, --batch_size 256, --learning_rate 0.05,
# --lr_decay_rate 0.1, --weight_decay 1e-4, --momentum 0.9, --temp 0.07, --method SupCon; --cosine as in the README)
EPOCHS = 30  # upstream: 1000
BATCH_SIZE = 256
LEARNING_RATE = 0.05
LR_DECAY_RATE = 0.1
WEIGHT_DECAY = 1e-4
MOMENTUM = 0.9
TEMP = 0.07
PROBE_SHOTS = 2  # labelled training images per class for the nearest-centroid probe (added: the metric)
PROBE_DRAWS = 20


# ---------------------------------------------------------------------------------------------------- losses.py
class SupConLoss(nn.Module):
    """Supervised Contrastive Learning: https://arxiv.org/pdf/2004.11362.pdf.
    It also supports the unsupervised contrastive loss in SimCLR"""
    def __init__(self, temperature=0.07, contrast_mode='all',
                 base_temperature=0.07):
        super(SupConLoss, self).__init__()  # noqa: UP008 (as upstream)
        self.temperature = temperature
        self.contrast_mode = contrast_mode
        self.base_temperature = base_temperature

    def forward(self, features, labels=None, mask=None):
        """Compute loss for model. If both `labels` and `mask` are None,
        it degenerates to SimCLR unsupervised loss:
        https://arxiv.org/pdf/2002.05709.pdf

        Args:
            features: hidden vector of shape [bsz, n_views, ...].
            labels: ground truth of shape [bsz].
            mask: contrastive mask of shape [bsz, bsz], mask_{i,j}=1 if sample j
                has the same class as sample i. Can be asymmetric.
        Returns:
            A loss scalar.
        """
        device = (torch.device('cuda')
                  if features.is_cuda
                  else torch.device('cpu'))

        if len(features.shape) < 3:
            raise ValueError('`features` needs to be [bsz, n_views, ...],'
                             'at least 3 dimensions are required')
        if len(features.shape) > 3:
            features = features.view(features.shape[0], features.shape[1], -1)

        batch_size = features.shape[0]
        if labels is not None and mask is not None:
            raise ValueError('Cannot define both `labels` and `mask`')
        elif labels is None and mask is None:
            mask = torch.eye(batch_size, dtype=torch.float32).to(device)
        elif labels is not None:
            labels = labels.contiguous().view(-1, 1)
            if labels.shape[0] != batch_size:
                raise ValueError('Num of labels does not match num of features')
            mask = torch.eq(labels, labels.T).float().to(device)
        else:
            mask = mask.float().to(device)

        contrast_count = features.shape[1]
        contrast_feature = torch.cat(torch.unbind(features, dim=1), dim=0)
        if self.contrast_mode == 'one':
            anchor_feature = features[:, 0]
            anchor_count = 1
        elif self.contrast_mode == 'all':
            anchor_feature = contrast_feature
            anchor_count = contrast_count
        else:
            raise ValueError('Unknown mode: {}'.format(self.contrast_mode))  # noqa: UP032 (as upstream)

        # compute logits
        anchor_dot_contrast = torch.div(
            torch.matmul(anchor_feature, contrast_feature.T),
            self.temperature)
        # for numerical stability
        logits_max, _ = torch.max(anchor_dot_contrast, dim=1, keepdim=True)
        logits = anchor_dot_contrast - logits_max.detach()

        # tile mask
        mask = mask.repeat(anchor_count, contrast_count)
        # mask-out self-contrast cases
        logits_mask = torch.scatter(
            torch.ones_like(mask),
            1,
            torch.arange(batch_size * anchor_count).view(-1, 1).to(device),
            0
        )
        mask = mask * logits_mask

        # compute log_prob
        exp_logits = torch.exp(logits) * logits_mask
        log_prob = logits - torch.log(exp_logits.sum(1, keepdim=True))

        # compute mean of log-likelihood over positive
        # modified to handle edge cases when there is no positive pair
        # for an anchor point.
        # Edge case e.g.:-
        # features of shape: [4,1,...]
        # labels:            [0,1,1,2]
        # loss before mean:  [nan, ..., ..., nan]
        mask_pos_pairs = mask.sum(1)
        mask_pos_pairs = torch.where(mask_pos_pairs < 1e-6, 1, mask_pos_pairs)
        mean_log_prob_pos = (mask * log_prob).sum(1) / mask_pos_pairs

        # loss
        loss = - (self.temperature / self.base_temperature) * mean_log_prob_pos
        loss = loss.view(anchor_count, batch_size).mean()

        return loss


# ---------------------------------------------------------------------------------------- networks/resnet_big.py
class SmallConvEncoder(nn.Module):
    """upstream: resnet50 (Bottleneck blocks, conv-BN-ReLU, global average pool, dim_in 2048); here three
    conv3x3-BN-ReLU layers on 8x8 digits, a max pool after the second, the same global average pool (dim_in 64)."""
    def __init__(self, in_channel=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channel, 16, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.conv3 = nn.Conv2d(32, 64, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(64)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        for m in self.modules():  # as upstream's ResNet.__init__
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.max_pool2d(F.relu(self.bn2(self.conv2(out))), 2)
        out = F.relu(self.bn3(self.conv3(out)))
        out = self.avgpool(out)
        out = torch.flatten(out, 1)
        return out


model_dict = {'smallconv': [SmallConvEncoder, 64]}  # upstream: resnet18/34/50/101


class SupConResNet(nn.Module):
    """backbone + projection head"""
    def __init__(self, name='smallconv', head='mlp', feat_dim=128, normalize=True):  # upstream: name='resnet50'
        super(SupConResNet, self).__init__()  # noqa: UP008 (as upstream)
        model_fun, dim_in = model_dict[name]
        self.encoder = model_fun()
        self.normalize = normalize
        if head == 'linear':
            self.head = nn.Linear(dim_in, feat_dim)
        elif head == 'mlp':
            self.head = nn.Sequential(
                nn.Linear(dim_in, dim_in),
                nn.ReLU(inplace=True),
                nn.Linear(dim_in, feat_dim)
            )
        else:
            raise NotImplementedError(
                'head not supported: {}'.format(head))  # noqa: UP032 (as upstream)

    def forward(self, x):
        feat = self.encoder(x)
        if not self.normalize:  # the unnormalised-features variant: F.normalize left out
            return self.head(feat)
        feat = F.normalize(self.head(feat), dim=1)
        return feat


# --------------------------------------------------------------------------------------------------- util.py
class AverageMeter(object):  # noqa: UP004 (as upstream)
    """Computes and stores the average and current value"""
    def __init__(self):
        self.reset()

    def reset(self):
        self.val = 0
        self.avg = 0
        self.sum = 0
        self.count = 0

    def update(self, val, n=1):
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count


def adjust_learning_rate(args, optimizer, epoch):
    lr = args.learning_rate
    if args.cosine:
        eta_min = lr * (args.lr_decay_rate ** 3)
        lr = eta_min + (lr - eta_min) * (
                1 + math.cos(math.pi * epoch / args.epochs)) / 2
    else:
        steps = np.sum(epoch > np.asarray(args.lr_decay_epochs))
        if steps > 0:
            lr = lr * (args.lr_decay_rate ** steps)

    for param_group in optimizer.param_groups:
        param_group['lr'] = lr


def set_optimizer(opt, model):
    optimizer = optim.SGD(model.parameters(),
                          lr=opt.learning_rate,
                          momentum=opt.momentum,
                          weight_decay=opt.weight_decay)
    return optimizer


# ------------------------------------------------------------------------------------- data (replaces set_loader)
def digits_split(seed):
    """scikit-learn's 8x8 digits (0..16), a stratified 80/20 split, standardized by the training mean and std (the
    role of upstream's transforms.Normalize with CIFAR's mean and std)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = d.images.astype(np.float32) / 16.0
    xtr, xte, ytr, yte = train_test_split(x, d.target, test_size=0.2, stratify=d.target, random_state=seed)
    mean, std = float(xtr.mean()), float(xtr.std())
    xtr, xte = (xtr - mean) / std, (xte - mean) / std
    return (torch.tensor(xtr).unsqueeze(1), torch.tensor(ytr, dtype=torch.long),
            torch.tensor(xte).unsqueeze(1), torch.tensor(yte, dtype=torch.long))


def train_transform(x, g):
    """upstream: RandomResizedCrop(32, scale=(0.2, 1.)), RandomHorizontalFlip, ColorJitter, RandomGrayscale (torchvision,
    not available here, and made for 32x32 colour images); here a random shift of up to 1 pixel (zero padding 1 and a
    random 8x8 crop) and gaussian noise of std 0.3 (in standardized units), each image drawn independently."""
    n = x.shape[0]
    xp = F.pad(x, (1, 1, 1, 1), value=float(x.min()))
    dy = torch.randint(0, 3, (n,), generator=g)
    dx = torch.randint(0, 3, (n,), generator=g)
    rows = (dy.view(n, 1) + torch.arange(8).view(1, 8)).view(n, 1, 8, 1).expand(n, 1, 8, 10)
    out = torch.gather(xp, 2, rows)
    cols = (dx.view(n, 1) + torch.arange(8).view(1, 8)).view(n, 1, 1, 8).expand(n, 1, 8, 8)
    out = torch.gather(out, 3, cols)
    return out + 0.3 * torch.randn(out.shape, generator=g)


def two_crop_batches(x, y, batch_size, g):
    """TwoCropTransform(train_transform) under a shuffling DataLoader(batch_size, drop_last=False)."""
    perm = torch.randperm(x.shape[0], generator=g)
    for i in range(0, x.shape[0], batch_size):
        idx = perm[i:i + batch_size]
        xb = x[idx]
        yield [train_transform(xb, g), train_transform(xb, g)], y[idx]


# ------------------------------------------------------------------------------------- metric (added; see above)
@torch.no_grad()
def probe_accuracy(model, xtr, ytr, xte, yte, shots=PROBE_SHOTS, draws=PROBE_DRAWS):
    """Few-label nearest-centroid accuracy of the frozen encoder's features (L2-normalized): ``shots`` labelled
    training images per class give the class centroids, the 360 held-out images are assigned to the nearest;
    averaged over ``draws`` fixed draws of the labelled images (the same draws for every run of a seed)."""
    was = model.training
    model.eval()
    ftr = F.normalize(model.encoder(xtr), dim=1)
    fte = F.normalize(model.encoder(xte), dim=1)
    model.train(was)
    if not (torch.isfinite(ftr).all() and torch.isfinite(fte).all()):
        return float("nan")
    rng = np.random.RandomState(12345)
    ytr_np = ytr.numpy()
    accs = []
    for _ in range(draws):
        cent = []
        for c in range(10):
            idx = rng.choice(np.flatnonzero(ytr_np == c), shots, replace=False)
            cent.append(ftr[idx].mean(0))
        cent = F.normalize(torch.stack(cent), dim=1)
        pred = (fte @ cent.T).argmax(1)
        accs.append(float((pred == yte).float().mean()))
    return float(np.mean(accs))


# ------------------------------------------------------------------------------------------- main_supcon.py
class _Opt:
    pass


def train(seed: int = 1, lr_mult: float = 1.0, temp: float = TEMP, normalize: bool = True,
          init_std: float | None = None, zero_grad: bool = True, batch_size: int = BATCH_SIZE,
          epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)  # upstream seeds nothing
    t0 = time.time()
    opt = _Opt()
    opt.batch_size, opt.epochs, opt.print_freq = batch_size, epochs, 10
    opt.learning_rate = LEARNING_RATE * lr_mult
    opt.lr_decay_rate, opt.lr_decay_epochs = LR_DECAY_RATE, [700, 800, 900]
    opt.weight_decay, opt.momentum, opt.temp, opt.method = WEIGHT_DECAY, MOMENTUM, temp, 'SupCon'
    opt.cosine, opt.warm = True, False  # upstream: --cosine as in the README's commands; warm only for batch > 256

    xtr, ytr, xte, yte = digits_split(seed)
    g = torch.Generator().manual_seed(1000 + seed)

    # set_model
    model = SupConResNet(name='smallconv', normalize=normalize)
    if init_std is not None:  # the init_large variant: N(0, init_std) on every Conv2d and Linear weight
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, init_std)
    criterion = SupConLoss(temperature=opt.temp)
    initial = probe_accuracy(model, xtr, ytr, xte, yte)

    # build optimizer
    optimizer = set_optimizer(opt, model)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    all_losses, epoch_losses = [], []
    for epoch in range(1, opt.epochs + 1):
        adjust_learning_rate(opt, optimizer, epoch)

        # train for one epoch (main_supcon.train)
        model.train()
        losses = AverageMeter()
        for idx, (images, labels) in enumerate(two_crop_batches(xtr, ytr, opt.batch_size, g)):  # noqa: B007
            images = torch.cat([images[0], images[1]], dim=0)
            bsz = labels.shape[0]

            # compute loss
            features = model(images)
            f1, f2 = torch.split(features, [bsz, bsz], dim=0)
            features = torch.cat([f1.unsqueeze(1), f2.unsqueeze(1)], dim=1)
            if opt.method == 'SupCon':
                loss = criterion(features, labels)
            elif opt.method == 'SimCLR':
                loss = criterion(features)
            else:
                raise ValueError('contrastive method not supported: {}'.format(opt.method))  # noqa: UP032

            # update metric
            losses.update(loss.item(), bsz)
            all_losses.append(loss.item())

            # SGD
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
        epoch_losses.append(losses.avg)
        if verbose:
            print(f"epoch {epoch}, loss {losses.avg:.4f}, lr {optimizer.param_groups[0]['lr']:.4g}, "
                  f"{time.time() - t0:.1f}s", flush=True)
    monitor.close()

    value = probe_accuracy(model, xtr, ytr, xte, yte)
    la = np.array(all_losses)
    if verbose:
        print(f"probe accuracy {value:.4f} (untrained {initial:.4f}), {time.time() - t0:.1f}s")
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": value, "initial": initial, "chance": 0.1,
            "initial_what": (f"untrained: the {PROBE_SHOTS}-shot nearest-centroid held-out accuracy of the encoder's "
                             "features before the first step"),
            "extra": {"train_loss": float(np.mean(la[-20:])), "first_loss": float(np.mean(la[:5])),
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "steps": len(la), "epochs": epochs,
                      "last_epoch_loss": float(epoch_losses[-1]), "lr": opt.learning_rate, "lr_mult": lr_mult,
                      "temp": temp, "normalize": normalize, "init_std": -1.0 if init_std is None else init_std,
                      "zero_grad": zero_grad, "batch_size": batch_size, "probe_shots": PROBE_SHOTS,
                      "probe_draws": PROBE_DRAWS},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="supcon", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"SupContrast on digits (small conv encoder + MLP head, SupConLoss temp {TEMP:g}; SGD lr {LEARNING_RATE:g}, "
      f"momentum {MOMENTUM:g}, weight_decay {WEIGHT_DECAY:g}, cosine, batch {BATCH_SIZE}, {EPOCHS} epochs)")
CASES: list[dict] = (
    [_case(f"supcon_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"supcon_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k},
             f"{_P}: learning_rate x{k} ({LEARNING_RATE * k:g}; cosine to 1e-3 of it)")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("supcon_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3},
             f"{_P}: learning_rate /1000 ({LEARNING_RATE * 1e-3:g})")]
    + [_case("supcon_temp0p007_s1", "wrong_loss", 1, {"temp": 0.007},
             f"{_P}: --temp 0.007 (base_temperature stays 0.07, so the loss is also scaled by 0.1)")]
    + [_case("supcon_temp10_s1", "wrong_loss", 1, {"temp": 10.0},
             f"{_P}: --temp 10 (base_temperature stays 0.07, so the loss is also scaled by 10/0.07 = 143)")]
    + [_case("supcon_unnormalized_s1", "wrong_loss", 1, {"normalize": False},
             f"{_P}: F.normalize left out of SupConResNet.forward (raw projection-head outputs into SupConLoss)")]
    + [_case(f"supcon_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every Conv2d and Linear weight (instead of kaiming_normal_ fan_out "
             "for the convs and PyTorch's default for the head)") for s in (1, 2)]
    + [_case(f"supcon_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)") for s in (1, 2)]
    + [_case("supcon_lr_x2_s1", "lr_high", 1, {"lr_mult": 2},
             f"{_P}: learning_rate x2 ({LEARNING_RATE * 2:g}; expected harmless)")]
    + [_case("supcon_batch128_s1", "healthy", 1, {"batch_size": 128},
             f"{_P}: batch_size 128 instead of 256 (expected harmless; no cause names it)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
