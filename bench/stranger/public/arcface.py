"""ronghuaiyang's arcface-pytorch (ResNetFace + ArcMarginProduct, focal loss, SGD, StepLR), watched by gradmedic.

Adapted from https://github.com/ronghuaiyang/arcface-pytorch (commit 47ace80b128042cd8d2efd408f55c5a3e156b032:
train.py, config/config.py, models/resnet.py, models/metrics.py, models/focal_loss.py).  The repository has no
licence file and names no licence, so this port keeps to what is needed (no LICENSE-arcface): the config's training
fields, ``resnet_face18``'s ``ResNetFace``/``IRBlock`` (use_se False, as the config), ``ArcMarginProduct`` and
``AddMarginProduct``, ``FocalLoss`` and train.py's loop.  Kept as upstream: the config (backbone resnet18, metric
arc_margin with s=30, m=0.5, easy_margin False; loss focal_loss, ``FocalLoss(gamma=2)`` applied to the batch-mean
cross entropy of the margin logits, as upstream; optimizer sgd, ``torch.optim.SGD([{'params': model.parameters()},
{'params': metric_fc.parameters()}], lr=0.1, weight_decay=5e-4)`` with no momentum; ``StepLR(step_size=lr_step,
gamma=0.1)`` stepped at the start of each epoch, upstream's order, so the rate falls one epoch early; train_batch_size
16); the backbone's structure (3x3 conv, BatchNorm, PReLU, max-pool, four stages of two IRBlocks - BN, conv, BN,
PReLU, conv with the stage's stride, BN, 1x1-conv shortcut, PReLU - then BN, Dropout(0.5), fc5 and BatchNorm1d, the
embedding of 512) and its init (xavier_normal_ for Conv2d and Linear, BN 1/0, Linear bias 0); the head's
xavier_uniform_; the loop (``feature = model(data_input)``, ``output = metric_fc(feature, label)``, ``loss =
criterion(output, label)``, ``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``).

Changed to run offline on one CPU thread in ~15-35 s: the faces (CASIA-WebFace, 13938 identities, 128x128 crops) are
a download, so the data are scikit-learn's 8x8 digits (1347 training and 450 test images, a stratified split drawn with
the seed) as one-channel images with upstream's ToTensor scaling and Normalize(mean 0.5, std 0.5), num_classes 10, no
RandomCrop/RandomHorizontalFlip (face augmentations; digits are not mirror-symmetric); the stage widths 16/32/64/128
instead of 64/128/256/512 and fc5 ``Linear(128 * 1 * 1, 512)`` for the 1x1 maps of an 8x8 input (upstream
``Linear(512 * 8 * 8, 512)``; the embedding stays 512: with 128 the healthy run collapsed on seed 2, training
accuracy 0); max_epoch 10 and lr_step 4 instead of 50 and 10 (85 steps an epoch; the rate is 0.1 for 3 epochs, 0.01
for 4, 0.001 for 3); an index shuffle per epoch instead of DataLoader(shuffle=True, num_workers=4), and a last batch of
one image skipped (BatchNorm1d); the CPU, no DataParallel (the heads' one-hot on ``cosine.device`` instead of 'cuda');
no Visualizer, checkpoints, prints or LFW test.  Metric "accuracy": test accuracy by the nearest class centre (cosine
similarity of the unit embeddings in eval mode to the normalized means of the training digits' unit embeddings), in
the spirit of upstream's LFW test, which compares embeddings by cosine; ``extra`` has the margin head's argmax at m=0
(cosine to the normalized head weights) as ``head_acc``, and the training accuracy of the margin logits.

The watch, as a user would: backbone and head wrapped in one ``nn.Module`` (``Net``: ``net.model``, ``net.metric_fc``,
for the watch only) and ``monitor = gradmedic.watch(net, optimizer, every=10)`` with upstream's one SGD over both,
right after the optimizer (and the StepLR) are built; ``monitor.step(loss)`` right after ``loss.backward()``, before
``optimizer.step()``; ``monitor.close()`` after the loop.

``CASES`` (program "arcface"): the program on seeds 1-3, and one change each against the same seed's healthy run:
SGD lr x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) instead of xavier_normal_ for the backbone's Conv2d and
Linear weights; the normalized pixels x100; ``optimizer.zero_grad()`` left out; ArcMarginProduct s=1 instead of 30 and
m=1.5 instead of 0.5 (cause "wrong_loss": a margin loss that cannot fall - s=1 bounds the logits to [-1, 1], m=1.5
pushes the target's logit below the others' for almost every angle - the nearest cause CAUSES names, described as
what they are); and three changes expected harmless (cause "healthy"): batch 32, easy_margin=True, and the config's
other head, AddMarginProduct (CosFace, s=30 m=0.35).  Labels come from run.py's outcome rules only.
Recorded (cases-public155; 13-35 s a run on the shared 2-core machine under a load of 4-6, ~17 s unloaded): healthy
test accuracy 0.978, 0.967, 0.978 on seeds 1-3 (head 0.976/0.964/0.980; focal loss 17.6-18.2 over the first 5 steps
-> 1.4-2.0 over the last 20; training accuracy of the margin logits 0.78-0.86; every loss finite); lr x10 (1.0):
0.562 (training accuracy 0.23): broken; lr x100 (10): seed 1 0.938 (loss 6.7, margin accuracy 0): ambiguous, seed 2
0.413: broken; lr x1000 (100): 0.829 (head 0.600): broken - the backbone's BatchNorms and the head's normalized
weights make the net scale-invariant, so a large rate grows the weights instead of blowing up, and no loss is
non-finite; lr /1000: loss 17.4 -> 16.9, 0.624 (head 0.171): broken; init N(0, 1): loss 16.8 -> 12.3, 0.736: broken;
pixels x100: largest loss 37.8 (control 22.7), loss 4.1, 0.929: ambiguous (within 10 points, but more than 3 below);
zero_grad left out: loss 18.7 -> 14.4, 0.489: broken; s=1: loss 2.4 -> 1.7 (its own scale), 0.844: broken; m=1.5:
loss 33.5 -> 41.1, 0.593: broken; batch 32: 0.942: healthy; easy_margin: 0.944: healthy; AddMarginProduct: 0.971:
healthy.  Labels: 6 healthy (3 programs, batch 32, easy_margin, add_margin), 8 broken, 2 ambiguous (lr x100 seed 1,
pixels x100); no non-finite loss in any run.  The margin head's training accuracy at m=0.5 stays far below the test
accuracy, as upstream's printed acc does: it is measured on the margin-penalized logits.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn import Parameter
from torch.optim.lr_scheduler import StepLR

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(net, optimizer, every=10), net an nn.Module holding the backbone (net.model) and the margin head "
              "(net.metric_fc), the two param groups of upstream's one SGD, right after the optimizer is built; "
              "monitor.step(loss) right after loss.backward() (focal loss on the margin logits), before "
              "optimizer.step()")


# ---------------------------------------------------------------------------------------- config/config.py
class Config(object):  # noqa: UP004 (as upstream)
    backbone = 'resnet18'
    num_classes = 10  # upstream: 13938 (CASIA-WebFace identities); the ten digits here
    metric = 'arc_margin'
    easy_margin = False
    use_se = False
    loss = 'focal_loss'
    train_batch_size = 16  # batch size
    test_batch_size = 60
    input_shape = (1, 8, 8)  # upstream: (1, 128, 128)
    optimizer = 'sgd'
    max_epoch = 10  # upstream: 50
    lr = 1e-1  # initial learning rate
    lr_step = 4  # upstream: 10
    weight_decay = 5e-4


WIDTHS = (16, 32, 64, 128)  # upstream: (64, 128, 256, 512)
EMB = 512  # fc5's output, the embedding, as upstream (128 collapsed on seed 2: training accuracy 0)


# ---------------------------------------------------------------------------------------- models/resnet.py
def conv3x3(in_planes, out_planes, stride=1):
    """3x3 convolution with padding"""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride,
                     padding=1, bias=False)


class IRBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, use_se=True):
        super(IRBlock, self).__init__()  # noqa: UP008 (as upstream)
        self.bn0 = nn.BatchNorm2d(inplanes)
        self.conv1 = conv3x3(inplanes, inplanes)
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.prelu = nn.PReLU()
        self.conv2 = conv3x3(inplanes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride
        self.use_se = use_se
        if self.use_se:
            raise NotImplementedError  # upstream: SEBlock(planes); the config has use_se = False

    def forward(self, x):
        residual = x
        out = self.bn0(x)
        out = self.conv1(out)
        out = self.bn1(out)
        out = self.prelu(out)

        out = self.conv2(out)
        out = self.bn2(out)
        if self.use_se:
            out = self.se(out)

        if self.downsample is not None:
            residual = self.downsample(x)

        out += residual
        out = self.prelu(out)

        return out


class ResNetFace(nn.Module):
    def __init__(self, block, layers, use_se=True, init_std=None):
        w = WIDTHS
        self.inplanes = w[0]  # upstream: 64
        self.use_se = use_se
        super(ResNetFace, self).__init__()  # noqa: UP008 (as upstream)
        self.conv1 = nn.Conv2d(1, w[0], kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(w[0])
        self.prelu = nn.PReLU()
        self.maxpool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.layer1 = self._make_layer(block, w[0], layers[0])
        self.layer2 = self._make_layer(block, w[1], layers[1], stride=2)
        self.layer3 = self._make_layer(block, w[2], layers[2], stride=2)
        self.layer4 = self._make_layer(block, w[3], layers[3], stride=2)
        self.bn4 = nn.BatchNorm2d(w[3])
        self.dropout = nn.Dropout()
        self.fc5 = nn.Linear(w[3] * 1 * 1, EMB)  # upstream: nn.Linear(512 * 8 * 8, 512) (8x8 maps of a 128x128 face)
        self.bn5 = nn.BatchNorm1d(EMB)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if init_std is None:
                    nn.init.xavier_normal_(m.weight)
                else:  # the init_large variant: N(0, init_std) instead of xavier_normal_
                    nn.init.normal_(m.weight, 0.0, init_std)
            elif isinstance(m, nn.BatchNorm2d) or isinstance(m, nn.BatchNorm1d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                if init_std is None:
                    nn.init.xavier_normal_(m.weight)
                else:  # the init_large variant
                    nn.init.normal_(m.weight, 0.0, init_std)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion,
                          kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = []
        layers.append(block(self.inplanes, planes, stride, downsample, use_se=self.use_se))
        self.inplanes = planes
        for _i in range(1, blocks):
            layers.append(block(self.inplanes, planes, use_se=self.use_se))

        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.conv1(x)
        x = self.bn1(x)
        x = self.prelu(x)
        x = self.maxpool(x)

        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.layer4(x)
        x = self.bn4(x)
        x = self.dropout(x)
        x = x.view(x.size(0), -1)
        x = self.fc5(x)
        x = self.bn5(x)

        return x


def resnet_face18(use_se=True, **kwargs):
    model = ResNetFace(IRBlock, [2, 2, 2, 2], use_se=use_se, **kwargs)
    return model


# ---------------------------------------------------------------------------------------- models/metrics.py
class ArcMarginProduct(nn.Module):
    r"""Implement of large margin arc distance: :
        Args:
            in_features: size of each input sample
            out_features: size of each output sample
            s: norm of input feature
            m: margin

            cos(theta + m)
        """
    def __init__(self, in_features, out_features, s=30.0, m=0.50, easy_margin=False):
        super(ArcMarginProduct, self).__init__()  # noqa: UP008 (as upstream)
        self.in_features = in_features
        self.out_features = out_features
        self.s = s
        self.m = m
        self.weight = Parameter(torch.FloatTensor(out_features, in_features))
        nn.init.xavier_uniform_(self.weight)

        self.easy_margin = easy_margin
        self.cos_m = math.cos(m)
        self.sin_m = math.sin(m)
        self.th = math.cos(math.pi - m)
        self.mm = math.sin(math.pi - m) * m

    def forward(self, input, label):
        # --------------------------- cos(theta) & phi(theta) ---------------------------
        cosine = F.linear(F.normalize(input), F.normalize(self.weight))
        sine = torch.sqrt((1.0 - torch.pow(cosine, 2)).clamp(0, 1))
        phi = cosine * self.cos_m - sine * self.sin_m
        if self.easy_margin:
            phi = torch.where(cosine > 0, phi, cosine)
        else:
            phi = torch.where(cosine > self.th, phi, cosine - self.mm)
        # --------------------------- convert label to one-hot ---------------------------
        # upstream: one_hot = torch.zeros(cosine.size(), device='cuda')
        one_hot = torch.zeros(cosine.size(), device=cosine.device)
        one_hot.scatter_(1, label.view(-1, 1).long(), 1)
        # -------------torch.where(out_i = {x_i if condition_i else y_i) -------------
        output = (one_hot * phi) + ((1.0 - one_hot) * cosine)  # you can use torch.where if your torch.__version__ is 0.4
        output *= self.s

        return output


class AddMarginProduct(nn.Module):
    r"""Implement of large margin cosine distance: :
    Args:
        in_features: size of each input sample
        out_features: size of each output sample
        s: norm of input feature
        m: margin
        cos(theta) - m
    """

    def __init__(self, in_features, out_features, s=30.0, m=0.40):
        super(AddMarginProduct, self).__init__()  # noqa: UP008 (as upstream)
        self.in_features = in_features
        self.out_features = out_features
        self.s = s
        self.m = m
        self.weight = Parameter(torch.FloatTensor(out_features, in_features))
        nn.init.xavier_uniform_(self.weight)

    def forward(self, input, label):
        # --------------------------- cos(theta) & phi(theta) ---------------------------
        cosine = F.linear(F.normalize(input), F.normalize(self.weight))
        phi = cosine - self.m
        # --------------------------- convert label to one-hot ---------------------------
        one_hot = torch.zeros(cosine.size(), device=cosine.device)  # upstream: device='cuda'
        one_hot.scatter_(1, label.view(-1, 1).long(), 1)
        # -------------torch.where(out_i = {x_i if condition_i else y_i) -------------
        output = (one_hot * phi) + ((1.0 - one_hot) * cosine)  # you can use torch.where if your torch.__version__ is 0.4
        output *= self.s

        return output


# ---------------------------------------------------------------------------------------- models/focal_loss.py
class FocalLoss(nn.Module):

    def __init__(self, gamma=0, eps=1e-7):
        super(FocalLoss, self).__init__()  # noqa: UP008 (as upstream)
        self.gamma = gamma
        self.eps = eps
        self.ce = torch.nn.CrossEntropyLoss()

    def forward(self, input, target):
        logp = self.ce(input, target)
        p = torch.exp(-logp)
        loss = (1 - p) ** self.gamma * logp
        return loss.mean()


# ---------------------------------------------------------------------------------------- data
def digits(seed: int):
    """scikit-learn's 8x8 digits as one-channel images, ToTensor's [0, 1] (pixel / 16) and upstream's
    Normalize(mean=[0.5], std=[0.5]); a stratified 75/25 split drawn with the seed."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0 - 0.5) / 0.5
    x_tr, x_te, y_tr, y_te = train_test_split(x, d.target, test_size=0.25, random_state=seed, stratify=d.target)
    return (torch.tensor(x_tr).unsqueeze(1), torch.tensor(y_tr, dtype=torch.long),
            torch.tensor(x_te).unsqueeze(1), torch.tensor(y_te, dtype=torch.long))


class Net(nn.Module):
    """The backbone and the margin head in one module, for the watch only (upstream keeps them apart, each
    wrapped in DataParallel, and gives both to one optimizer)."""

    def __init__(self, model, metric_fc):
        super().__init__()
        self.model = model
        self.metric_fc = metric_fc


@torch.no_grad()
def embed(model, x, bs):
    return torch.cat([model(x[i:i + bs]) for i in range(0, len(x), bs)])


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, input_scale: float = 1.0,
          zero_grad: bool = True, s: float = 30.0, m: float = 0.5, easy_margin: bool = False,
          metric: str = 'arc_margin', batch_size: int | None = None, max_epoch: int | None = None,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    torch.manual_seed(seed)
    np.random.seed(seed)
    t0 = time.time()
    opt = Config()
    opt.easy_margin = easy_margin
    opt.metric = metric
    if batch_size is not None:
        opt.train_batch_size = batch_size
    if max_epoch is not None:
        opt.max_epoch = max_epoch

    x_tr, y_tr, x_te, y_te = digits(seed)
    x_tr, x_te = x_tr * input_scale, x_te * input_scale  # the unscaled_inputs variant

    if opt.loss == 'focal_loss':
        criterion = FocalLoss(gamma=2)
    else:
        criterion = torch.nn.CrossEntropyLoss()

    model = resnet_face18(use_se=opt.use_se, init_std=init_std)

    if opt.metric == 'add_margin':
        metric_fc = AddMarginProduct(EMB, opt.num_classes, s=30, m=0.35)
    elif opt.metric == 'arc_margin':
        # upstream: s=30, m=0.5 (the scale and margin variants change them)
        metric_fc = ArcMarginProduct(EMB, opt.num_classes, s=s, m=m, easy_margin=opt.easy_margin)
    else:
        metric_fc = nn.Linear(EMB, opt.num_classes)
    # upstream: model.to(device); DataParallel(model); the same for metric_fc (one CPU here)

    lr = opt.lr * lr_mult
    if opt.optimizer == 'sgd':
        optimizer = torch.optim.SGD([{'params': model.parameters()}, {'params': metric_fc.parameters()}],
                                    lr=lr, weight_decay=opt.weight_decay)
    else:
        optimizer = torch.optim.Adam([{'params': model.parameters()}, {'params': metric_fc.parameters()}],
                                     lr=lr, weight_decay=opt.weight_decay)
    scheduler = StepLR(optimizer, step_size=opt.lr_step, gamma=0.1)
    monitor = gradmedic.watch(Net(model, metric_fc), optimizer, every=every)  # gradmedic

    losses, train_accs = [], []
    n = len(x_tr)
    g = torch.Generator().manual_seed(seed)
    for i in range(opt.max_epoch):
        with __import__("warnings").catch_warnings():  # upstream's order (scheduler.step() first) warns today
            __import__("warnings").simplefilter("ignore")
            scheduler.step()

        model.train()
        perm = torch.randperm(n, generator=g)  # upstream: DataLoader(shuffle=True, num_workers=4)
        for ii in range(math.ceil(n / opt.train_batch_size)):
            idx = perm[ii * opt.train_batch_size:(ii + 1) * opt.train_batch_size]
            if len(idx) < 2:  # BatchNorm1d needs two samples (upstream's 490k faces never leave one)
                continue
            data_input, label = x_tr[idx], y_tr[idx].long()
            feature = model(data_input)
            output = metric_fc(feature, label)
            loss = criterion(output, label)
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(float(loss.detach()))
            train_accs.append(float((output.detach().argmax(1) == label).float().mean()))
        if verbose:
            print(f"epoch {i} lr {optimizer.param_groups[0]['lr']:g} loss {np.mean(losses[-50:]):.4f} "
                  f"acc {np.mean(train_accs[-50:]):.3f} ({time.time() - t0:.1f}s)", flush=True)
        # upstream: save_model every save_interval epochs, lfw_test (verification by cosine similarity) each epoch
    monitor.close()

    # test: nearest class centre by cosine similarity of the embeddings (centres: mean unit training embedding)
    model.eval()
    f_tr = F.normalize(embed(model, x_tr, opt.test_batch_size))
    f_te = F.normalize(embed(model, x_te, opt.test_batch_size))
    centres = F.normalize(torch.stack([f_tr[y_tr == c].mean(0) for c in range(opt.num_classes)]))
    finite = bool(torch.isfinite(f_te).all() and torch.isfinite(centres).all())
    acc = float(((f_te @ centres.T).argmax(1) == y_te).float().mean()) if finite else float("nan")
    with torch.no_grad():
        w = metric_fc.weight if hasattr(metric_fc, "weight") else None
        head = (f_te @ F.normalize(w).T).argmax(1) if w is not None else None
        head_acc = float((head == y_te).float().mean()) if (head is not None and finite) else float("nan")
    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc, "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(lr=lr, lr_mult=lr_mult, train_loss=float(np.mean(la[-20:])), first_loss=float(np.mean(la[:5])),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), steps=len(la), epochs=opt.max_epoch,
                          train_acc=float(np.mean(train_accs[-50:])), head_acc=head_acc,
                          init_std=-1.0 if init_std is None else init_std, input_scale=input_scale,
                          zero_grad=zero_grad, s=s, m=m, easy_margin=easy_margin, metric_head=metric,
                          batch_size=opt.train_batch_size, test_images=len(y_te)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="arcface", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"arcface-pytorch (resnet_face18 of IRBlocks, widths {WIDTHS}, embedding {EMB}; ArcMarginProduct s=30 m=0.5; "
      f"FocalLoss gamma 2; SGD lr 0.1 wd 5e-4, StepLR(step {Config.lr_step} epochs, 0.1); batch "
      f"{Config.train_batch_size}; {Config.max_epoch} epochs of the 1347 training digits)")
CASES: list[dict] = (
    [_case(f"arcface_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"arcface_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: SGD lr x{k} ({0.1 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("arcface_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: SGD lr /1000 (0.0001)")]
    + [_case("arcface_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) instead of xavier_normal_ on every Conv2d and Linear weight of the "
             "backbone (biases 0, BatchNorm 1/0 and the head's xavier_uniform_ kept)")]
    + [_case("arcface_pixels_x100_s1", "unscaled_inputs", 1, {"input_scale": 100.0},
             f"{_P}: the normalized pixels (-1..1) multiplied by 100")]
    + [_case(f"arcface_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)") for s in (1,)]
    + [_case("arcface_scale1_s1", "wrong_loss", 1, {"s": 1.0},
             f"{_P}: ArcMarginProduct s=1 instead of 30 (logits bounded in [-1, 1]: the loss cannot fall far)")]
    + [_case("arcface_margin1p5_s1", "wrong_loss", 1, {"m": 1.5},
             f"{_P}: ArcMarginProduct m=1.5 instead of 0.5 (an additive angular margin of 86 degrees)")]
    + [_case("arcface_batch32_s1", "healthy", 1, {"batch_size": 32},
             f"{_P}: train_batch_size 32 instead of 16 (expected harmless)")]
    + [_case("arcface_easy_margin_s1", "healthy", 1, {"easy_margin": True},
             f"{_P}: easy_margin=True (config option; expected harmless)")]
    + [_case("arcface_add_margin_s1", "healthy", 1, {"metric": "add_margin"},
             f"{_P}: metric 'add_margin' (upstream's AddMarginProduct, CosFace, s=30 m=0.35; expected harmless)")]
)

if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
