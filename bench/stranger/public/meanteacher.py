"""CuriousAI's Mean Teacher (semi-supervised: an EMA teacher, a consistency cost), watched by gradmedic.

Adapted from https://github.com/CuriousAI/mean-teacher (commit 546348ff863c998c26be4339021425df973b4a36, pytorch/main.py,
pytorch/mean_teacher/{architectures,losses,ramps,data,datasets}.py and pytorch/experiments/cifar10_test.py; Creative
Commons Attribution-NonCommercial 4.0 International, Copyright (c) 2018 Curious AI Ltd., see LICENSE-meanteacher - a
non-commercial licence, unlike the MIT ports).  Copied: ramps.py (sigmoid_rampup, linear_rampup, cosine_rampdown),
losses.py (softmax_mse_loss, softmax_kl_loss, symmetric_mse_loss), architectures.py's ResNet32x32, ShakeShakeBlock,
Shake, ShiftConvDownsample and conv3x3 (its inits: conv N(0, sqrt(2/n)), BatchNorm 1/0, PyTorch's default Linear),
data.py's TwoStreamBatchSampler / iterate_once / iterate_eternally / grouper, and main.py's create_model (ema=True
detaches every teacher parameter), update_ema_variables (alpha = min(1 - 1/(global_step + 1), ema_decay)),
adjust_learning_rate, get_current_consistency_weight (per integer epoch) and train loop: both models in train mode,
the teacher's forward on the second view without grad, two student heads (fc1 for the class loss, fc2 for the
consistency; logit_distance_cost .01 * symmetric_mse_loss between them), CrossEntropyLoss(reduction='sum',
ignore_index=NO_LABEL) / minibatch_size over the whole batch, consistency_weight * softmax_mse_loss(cons_logit,
ema_logit) / minibatch_size, optimizer.zero_grad(), loss.backward(), optimizer.step(), update_ema_variables.  The
hyperparameters are experiments/cifar10_test.py's 1000-label run on one GPU: batch 128 with 31 labelled,
SGD(lr 0.05, momentum 0.9, weight_decay 2e-4, nesterov=True), lr_rampup 0, cosine rampdown, consistency 100.0
('mse'), consistency_rampup 5 epochs, logit_distance_cost .01, ema_decay 0.97 (the cli default is 0.999;
cifar10_test uses 0.97 for 1000 labels and 0.99 for 4000).  An "epoch" is one pass over the unlabelled indices, as
upstream.  Metric: the EMA teacher's test accuracy (upstream's best_prec1 follows the EMA model); the student's is in
extra (student_test_acc).

Changed to run offline on one CPU thread: CIFAR-10 (a download) -> scikit-learn's 8x8 digits, pixels / 16 and
normalized by the digits' own mean/std (0.3053, 0.3760) as upstream's Normalize(channel_stats); a fixed test set of 497
digits (RandomState(0)), and of the other 1300, N_LABELED = 200 balanced labels (20 a class, chosen by the seed;
upstream's balanced label files) with the other 1100 NO_LABEL (11 steps an epoch); upstream's TransformTwice
(RandomTranslateWithReflect(4), RandomHorizontalFlip) -> two independent random translations of +-1 pixel with reflect
padding on the tensors (the same 1/8 of the image side; no flip: a mirrored digit is another glyph); the architecture
is cifar_shakeshake26 scaled down: layers [1, 1, 1] instead of [4, 4, 4], 16 channels instead of 96 (so 16, 32, 64),
1 input channel, AvgPool2d(2) instead of 8 (8x8 -> 2x2 after the two shift-conv downsamples); the same kind (shake-
shake residual blocks with BatchNorm, shift_conv downsampling, two heads); EPOCHS = 25 (275 steps; upstream 180) and
LR_RAMPDOWN_EPOCHS = 29 (upstream 210, the same 7/6 of the length); Shake as a staticmethod autograd.Function, the
old Variable / size_average / add_(scalar, tensor) calls in their current form; no DataParallel/cuda, checkpoints,
logs or meters (extra has the last-20-step means).  Upstream's ``assert not (np.isnan(loss) or loss > 1e5), 'Loss
explosion'`` is kept as a stop: the loop ends there (extra exploded_at) and the teacher is tested as it is.  Knobs:
lr_mult, init_std (every Conv2d and Linear weight from N(0, init_std), student and teacher), input_scale (training and
test images), zero_grad, ema_decay, consistency, batch_size / labeled_batch_size, epochs.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` on the student right after the
SGD is built (the teacher is not trained by the optimizer), ``monitor.step(loss)`` right after ``loss.backward()``,
before ``optimizer.step()`` and the EMA update; ``monitor.close()`` after the loop.  Good outcome as for the digit
classifiers: teacher test accuracy >= 0.9.  ``initial``: the untrained teacher's test accuracy.

``CASES`` (program "meanteacher"): the program on seeds 1-3, and one change each against the same seed's healthy run:
lr x10 (seeds 1, 2), x100, x1000, /1000; N(0, 1) weights (seeds 1, 2); the normalized images x100; optimizer.zero_grad()
left out; two Mean-Teacher settings far off, with cause "healthy" as no cause names them: ema_decay 0 (the teacher is
the student) and consistency weight 10000; and two changes expected harmless: batch 64 with 16 labelled, ema_decay 0.99.
Recorded (cases-public156; 16 runs, 22-36 s each on the shared 2-core machine, 15 s when it was idle; the runs that
stop at the explosion assert 1-9 s): healthy teacher test accuracy 0.966, 0.970, 0.940 on seeds 1-3 (student 0.966,
0.972, 0.942; untrained 0.115, 0.109, 0.115; loss 0.56-0.58 over the first 5 steps, largest 1.18-1.23 as the
consistency term ramps up, last-20 0.57-0.70 of which class 0.035-0.040, 96% of the labelled part right; 275 steps,
every loss finite); lr x10 (0.5): last-20 loss 1.41 and 3.11 (largest 8.8 and 10.2), 0.905 and 0.897: ambiguous (not
10 points below; loss max over 2x the control's); lr x100 (5): loss 370 at step 10, stopped by the assert at step 11,
0.089: broken; lr x1000 (50): first loss 355, stopped at step 3, 0.101: broken; lr /1000 (5e-5): class loss 0.57,
0.117: broken; N(0, 1) weights: first-5 loss 2.43 and 2.41, largest 11.4 and 7.8, 0.606 and 0.503: broken; images
x100: 0.962 (BatchNorm after every conv takes up the scale): healthy; zero_grad left out: loss 3262 at the end,
stopped by the assert at step 91, 0.165: broken; ema_decay 0: 0.970: healthy; consistency 10000: stopped by the
assert at step 42 (largest recorded loss 2.5e4), 0.121: ambiguous (cause "healthy" can only be healthy or
ambiguous); batch 64/16: 550 steps, largest loss 3.0, 0.968: healthy; ema_decay 0.99: 0.942: healthy.  Labels: 7
healthy (3 programs, 4 variants), 6 broken, 3 ambiguous; no non-finite loss recorded (the assert stops first).
"""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import torch
from torch import nn
from torch.autograd import Function
from torch.nn import functional as F

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(model, optimizer, every=10) on the student only, right after optimizer = torch.optim.SGD(model."
              "parameters(), lr, momentum=0.9, weight_decay=2e-4, nesterov=True) (the EMA teacher's parameters are "
              "detached and never stepped by the optimizer); monitor.step(loss) right after loss.backward() (loss = "
              "class_loss + consistency_loss + res_loss), before optimizer.step() and update_ema_variables")

NO_LABEL = -1
N_TEST = 497        # a fixed test set of 497 digits (the same for every seed)
N_LABELED = 200     # upstream: 1000 (or 4000) balanced labels of CIFAR-10's 50000
EPOCHS = 25         # upstream cifar10_test.py (1000 labels): 'epochs': 180
LR_RAMPDOWN_EPOCHS = 29  # upstream: 'lr_rampdown_epochs': 210 (the same 7/6 of the training length)
CHANNELS = 16        # upstream cifar_shakeshake26: channels=96
# the digits' pixel mean and std (pixels / 16, all 1797 images): upstream's cifar10() channel_stats
CHANNEL_STATS = dict(mean=0.3053, std=0.3760)


# ---------------------------------------------------------------- mean_teacher/ramps.py (copied)

def sigmoid_rampup(current, rampup_length):
    """Exponential rampup from https://arxiv.org/abs/1610.02242"""
    if rampup_length == 0:
        return 1.0
    else:
        current = np.clip(current, 0.0, rampup_length)
        phase = 1.0 - current / rampup_length
        return float(np.exp(-5.0 * phase * phase))


def linear_rampup(current, rampup_length):
    """Linear rampup"""
    assert current >= 0 and rampup_length >= 0
    if current >= rampup_length:
        return 1.0
    else:
        return current / rampup_length


def cosine_rampdown(current, rampdown_length):
    """Cosine rampdown from https://arxiv.org/abs/1608.03983"""
    assert 0 <= current <= rampdown_length
    return float(.5 * (np.cos(np.pi * current / rampdown_length) + 1))


# ---------------------------------------------------------------- mean_teacher/losses.py (copied)

def softmax_mse_loss(input_logits, target_logits):
    """Takes softmax on both sides and returns MSE loss

    Note:
    - Returns the sum over all examples. Divide by the batch size afterwards
      if you want the mean.
    - Sends gradients to inputs but not the targets.
    """
    assert input_logits.size() == target_logits.size()
    input_softmax = F.softmax(input_logits, dim=1)
    target_softmax = F.softmax(target_logits, dim=1)
    num_classes = input_logits.size()[1]
    return F.mse_loss(input_softmax, target_softmax, reduction='sum') / num_classes  # upstream: size_average=False


def softmax_kl_loss(input_logits, target_logits):
    """Takes softmax on both sides and returns KL divergence

    Note:
    - Returns the sum over all examples. Divide by the batch size afterwards
      if you want the mean.
    - Sends gradients to inputs but not the targets.
    """
    assert input_logits.size() == target_logits.size()
    input_log_softmax = F.log_softmax(input_logits, dim=1)
    target_softmax = F.softmax(target_logits, dim=1)
    return F.kl_div(input_log_softmax, target_softmax, reduction='sum')  # upstream: size_average=False


def symmetric_mse_loss(input1, input2):
    """Like F.mse_loss but sends gradients to both directions

    Note:
    - Returns the sum over all examples. Divide by the batch size afterwards
      if you want the mean.
    - Sends gradients to both input1 and input2.
    """
    assert input1.size() == input2.size()
    num_classes = input1.size()[1]
    return torch.sum((input1 - input2)**2) / num_classes


# ---------------------------------------------------------------- mean_teacher/architectures.py (copied; scaled down)

def cifar_shakeshake26(pretrained=False, init_std=None, **kwargs):
    assert not pretrained
    model = ResNet32x32(ShakeShakeBlock,
                        layers=[1, 1, 1],  # upstream: layers=[4, 4, 4]
                        channels=CHANNELS,  # upstream: channels=96
                        downsample='shift_conv', init_std=init_std, **kwargs)
    return model


class ResNet32x32(nn.Module):
    def __init__(self, block, layers, channels, groups=1, num_classes=1000, downsample='basic', init_std=None):
        super().__init__()
        assert len(layers) == 3
        self.downsample_mode = downsample
        self.inplanes = 16
        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, stride=1,  # upstream: nn.Conv2d(3, 16, ...) (RGB)
                               padding=1, bias=False)
        self.layer1 = self._make_layer(block, channels, groups, layers[0])
        self.layer2 = self._make_layer(
            block, channels * 2, groups, layers[1], stride=2)
        self.layer3 = self._make_layer(
            block, channels * 4, groups, layers[2], stride=2)
        self.avgpool = nn.AvgPool2d(2)  # upstream: nn.AvgPool2d(8) (32x32 images: 32 -> 8; here 8 -> 2)
        self.fc1 = nn.Linear(block.out_channels(
            channels * 4, groups), num_classes)
        self.fc2 = nn.Linear(block.out_channels(
            channels * 4, groups), num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                m.weight.data.normal_(0, math.sqrt(2. / n))
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.data.fill_(1)
                m.bias.data.zero_()
            if init_std is not None and isinstance(m, (nn.Conv2d, nn.Linear)):  # the init_large variant
                m.weight.data.normal_(0, init_std)

    def _make_layer(self, block, planes, groups, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != block.out_channels(planes, groups):
            if self.downsample_mode == 'basic' or stride == 1:
                downsample = nn.Sequential(
                    nn.Conv2d(self.inplanes, block.out_channels(planes, groups),
                              kernel_size=1, stride=stride, bias=False),
                    nn.BatchNorm2d(block.out_channels(planes, groups)),
                )
            elif self.downsample_mode == 'shift_conv':
                downsample = ShiftConvDownsample(in_channels=self.inplanes,
                                                 out_channels=block.out_channels(planes, groups))
            else:
                assert False  # noqa: B011 (as upstream)

        layers = []
        layers.append(block(self.inplanes, planes, groups, stride, downsample))
        self.inplanes = block.out_channels(planes, groups)
        for _i in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups))

        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.conv1(x)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.avgpool(x)
        x = x.view(x.size(0), -1)
        return self.fc1(x), self.fc2(x)


def conv3x3(in_planes, out_planes, stride=1):
    "3x3 convolution with padding"
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride,
                     padding=1, bias=False)


class ShakeShakeBlock(nn.Module):
    @classmethod
    def out_channels(cls, planes, groups):
        assert groups == 1
        return planes

    def __init__(self, inplanes, planes, groups, stride=1, downsample=None):
        super().__init__()
        assert groups == 1
        self.conv_a1 = conv3x3(inplanes, planes, stride)
        self.bn_a1 = nn.BatchNorm2d(planes)
        self.conv_a2 = conv3x3(planes, planes)
        self.bn_a2 = nn.BatchNorm2d(planes)

        self.conv_b1 = conv3x3(inplanes, planes, stride)
        self.bn_b1 = nn.BatchNorm2d(planes)
        self.conv_b2 = conv3x3(planes, planes)
        self.bn_b2 = nn.BatchNorm2d(planes)

        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        a, b, residual = x, x, x

        a = F.relu(a, inplace=False)
        a = self.conv_a1(a)
        a = self.bn_a1(a)
        a = F.relu(a, inplace=True)
        a = self.conv_a2(a)
        a = self.bn_a2(a)

        b = F.relu(b, inplace=False)
        b = self.conv_b1(b)
        b = self.bn_b1(b)
        b = F.relu(b, inplace=True)
        b = self.conv_b2(b)
        b = self.bn_b2(b)

        ab = shake(a, b, training=self.training)

        if self.downsample is not None:
            residual = self.downsample(x)

        return residual + ab


class Shake(Function):
    @staticmethod  # upstream: @classmethod forward(cls, ctx, ...) (old-style; current PyTorch wants a staticmethod)
    def forward(ctx, inp1, inp2, training):
        assert inp1.size() == inp2.size()
        gate_size = [inp1.size()[0], *itertools.repeat(1, inp1.dim() - 1)]
        gate = inp1.new(*gate_size)
        if training:
            gate.uniform_(0, 1)
        else:
            gate.fill_(0.5)
        return inp1 * gate + inp2 * (1. - gate)

    @staticmethod  # upstream: @classmethod backward(cls, ctx, grad_output)
    def backward(ctx, grad_output):
        grad_inp1 = grad_inp2 = grad_training = None
        gate_size = [grad_output.size()[0], *itertools.repeat(1,
                                                              grad_output.dim() - 1)]
        gate = grad_output.data.new(*gate_size).uniform_(0, 1)  # upstream: Variable(...)
        if ctx.needs_input_grad[0]:
            grad_inp1 = grad_output * gate
        if ctx.needs_input_grad[1]:
            grad_inp2 = grad_output * (1 - gate)
        assert not ctx.needs_input_grad[2]
        return grad_inp1, grad_inp2, grad_training


def shake(inp1, inp2, training=False):
    return Shake.apply(inp1, inp2, training)


class ShiftConvDownsample(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(in_channels=2 * in_channels,
                              out_channels=out_channels,
                              kernel_size=1,
                              groups=2)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        x = torch.cat((x[:, :, 0::2, 0::2],
                       x[:, :, 1::2, 1::2]), dim=1)
        x = self.relu(x)
        x = self.conv(x)
        x = self.bn(x)
        return x


# ---------------------------------------------------------------- mean_teacher/data.py (samplers copied; transform on tensors)

def random_translate_with_reflect(x, max_translation):
    """upstream: data.RandomTranslateWithReflect(4) on a PIL image (a random shift in [-4, 4] per axis, the uncovered
    area filled by the mirrored image); here on a batch of 8x8 tensors, one shift per image, reflect padding."""
    n, _, h, w = x.shape
    p = max_translation
    padded = F.pad(x, (p, p, p, p), mode='reflect')
    shifts = np.random.randint(-p, p + 1, size=(n, 2))
    out = torch.empty_like(x)
    for k, (xt, yt) in enumerate(shifts):
        out[k] = padded[k, :, p - yt:p - yt + h, p - xt:p - xt + w]
    return out


class TwoStreamBatchSampler:
    """Iterate two sets of indices

    An 'epoch' is one iteration through the primary indices.
    During the epoch, the secondary indices are iterated through
    as many times as needed.
    """
    def __init__(self, primary_indices, secondary_indices, batch_size, secondary_batch_size):
        self.primary_indices = primary_indices
        self.secondary_indices = secondary_indices
        self.secondary_batch_size = secondary_batch_size
        self.primary_batch_size = batch_size - secondary_batch_size

        assert len(self.primary_indices) >= self.primary_batch_size > 0
        assert len(self.secondary_indices) >= self.secondary_batch_size > 0

    def __iter__(self):
        primary_iter = iterate_once(self.primary_indices)
        secondary_iter = iterate_eternally(self.secondary_indices)
        return (
            primary_batch + secondary_batch
            for (primary_batch, secondary_batch)
            in zip(grouper(primary_iter, self.primary_batch_size),
                   grouper(secondary_iter, self.secondary_batch_size), strict=False)
        )

    def __len__(self):
        return len(self.primary_indices) // self.primary_batch_size


def iterate_once(iterable):
    return np.random.permutation(iterable)


def iterate_eternally(indices):
    def infinite_shuffles():
        while True:
            yield np.random.permutation(indices)
    return itertools.chain.from_iterable(infinite_shuffles())


def grouper(iterable, n):
    "Collect data into fixed-length chunks or blocks"
    # grouper('ABCDEFG', 3) --> ABC DEF"
    args = [iter(iterable)] * n
    return zip(*args, strict=False)


def digits_semisupervised(seed):
    """upstream: torchvision ImageFolder of CIFAR-10 and a balanced label file (relabel_dataset sets the rest to
    NO_LABEL).  Here: scikit-learn's 8x8 digits, a fixed test set, N_LABELED balanced labels chosen by the seed."""
    from sklearn.datasets import load_digits

    d = load_digits()
    X = (d.images / 16.0).astype(np.float32)  # ToTensor's scaling to 0..1 (digits' pixels are 0..16)
    X = (X - CHANNEL_STATS['mean']) / CHANNEL_STATS['std']  # transforms.Normalize(**channel_stats)
    y = d.target.astype(np.int64)
    perm = np.random.RandomState(0).permutation(len(y))
    test, train = perm[:N_TEST], perm[N_TEST:]
    rs = np.random.RandomState(seed)
    per_class = N_LABELED // 10
    labeled = np.sort(np.concatenate([rs.choice(train[y[train] == c], per_class, replace=False) for c in range(10)]))
    targets = np.full(len(train), NO_LABEL, dtype=np.int64)
    pos = {int(i): k for k, i in enumerate(train)}
    labeled_idxs = sorted(pos[int(i)] for i in labeled)
    for k in labeled_idxs:
        targets[k] = y[train[k]]
    unlabeled_idxs = sorted(set(range(len(train))) - set(labeled_idxs))
    return (torch.tensor(X[train]).unsqueeze(1), torch.tensor(targets), labeled_idxs, unlabeled_idxs,
            torch.tensor(X[test]).unsqueeze(1), torch.tensor(y[test]))


# ---------------------------------------------------------------- main.py

def update_ema_variables(model, ema_model, alpha, global_step):
    # Use the true average until the exponential average is more correct
    alpha = min(1 - 1 / (global_step + 1), alpha)
    for ema_param, param in zip(ema_model.parameters(), model.parameters(), strict=True):
        ema_param.data.mul_(alpha).add_(param.data, alpha=1 - alpha)  # upstream: .add_(1 - alpha, param.data)


def validate(X, y, model):
    model.eval()
    with torch.no_grad():
        output1, output2 = model(X)
    return float((output1.argmax(1) == y).float().mean())


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, input_scale: float = 1.0,
          zero_grad: bool = True, ema_decay: float = 0.97, consistency: float = 100.0, batch_size: int = 128,
          labeled_batch_size: int = 31, epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    np.random.seed(seed)
    t0 = time.time()
    # upstream experiments/cifar10_test.py, 1000 labels (one GPU): batch_size 128, labeled_batch_size 31, lr 0.05,
    # nesterov, weight_decay 2e-4, consistency 100.0 ('mse'), consistency_rampup 5, logit_distance_cost .01,
    # ema_decay 0.97, lr_rampup 0; momentum 0.9 and initial_lr 0.0 are cli.py's defaults
    base_lr, momentum, weight_decay, nesterov = 0.05, 0.9, 2e-4, True
    consistency_rampup, logit_distance_cost, lr_rampup, initial_lr = 5, .01, 0, 0.0
    lr_max = base_lr * lr_mult

    X_train, targets, labeled_idxs, unlabeled_idxs, X_test, y_test = digits_semisupervised(seed)
    X_train, X_test = X_train * input_scale, X_test * input_scale  # the unscaled_inputs variant

    def create_model(ema=False):
        model = cifar_shakeshake26(num_classes=10, init_std=init_std)
        # upstream: model = nn.DataParallel(model).cuda()
        if ema:
            for param in model.parameters():
                param.detach_()
        return model

    model = create_model()
    ema_model = create_model(ema=True)

    optimizer = torch.optim.SGD(model.parameters(), lr_max,
                                momentum=momentum,
                                weight_decay=weight_decay,
                                nesterov=nesterov)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic: the student only

    ema_untrained = validate(X_test, y_test, ema_model)
    batch_sampler = TwoStreamBatchSampler(unlabeled_idxs, labeled_idxs, batch_size, labeled_batch_size)

    def adjust_learning_rate(optimizer, epoch, step_in_epoch, total_steps_in_epoch):
        epoch = epoch + step_in_epoch / total_steps_in_epoch
        # LR warm-up to handle large minibatch sizes from https://arxiv.org/abs/1706.02677
        lr = linear_rampup(epoch, lr_rampup) * (lr_max - initial_lr) + initial_lr
        # Cosine LR rampdown from https://arxiv.org/abs/1608.03983 (but one cycle only)
        if LR_RAMPDOWN_EPOCHS:
            assert LR_RAMPDOWN_EPOCHS >= epochs
            lr *= cosine_rampdown(epoch, LR_RAMPDOWN_EPOCHS)
        for param_group in optimizer.param_groups:
            param_group['lr'] = lr

    def get_current_consistency_weight(epoch):
        # Consistency ramp-up from https://arxiv.org/abs/1610.02242
        return consistency * sigmoid_rampup(epoch, consistency_rampup)

    class_criterion = nn.CrossEntropyLoss(reduction='sum', ignore_index=NO_LABEL)  # upstream: size_average=False
    consistency_criterion = softmax_mse_loss  # args.consistency_type == 'mse'
    residual_logit_criterion = symmetric_mse_loss

    global_step = 0
    losses, class_losses, cons_losses, top1, ema_top1 = [], [], [], [], []
    exploded_at = None
    for epoch in range(epochs):
        # switch to train mode
        model.train()
        ema_model.train()
        for i, idx in enumerate(batch_sampler):
            idx = list(idx)
            adjust_learning_rate(optimizer, epoch, i, len(batch_sampler))
            # upstream: TransformTwice(RandomTranslateWithReflect(4), RandomHorizontalFlip(), ToTensor(), Normalize):
            # two independently translated views of each image (no flip: a mirrored digit is another glyph)
            input = random_translate_with_reflect(X_train[idx], 1)  # noqa: A001 (upstream's name)
            ema_input = random_translate_with_reflect(X_train[idx], 1)
            target_var = targets[idx]

            minibatch_size = len(target_var)
            labeled_minibatch_size = target_var.data.ne(NO_LABEL).sum()
            assert labeled_minibatch_size > 0

            with torch.no_grad():  # upstream: Variable(ema_input, volatile=True)
                ema_model_out = ema_model(ema_input)
            model_out = model(input)

            assert len(model_out) == 2
            assert len(ema_model_out) == 2
            logit1, logit2 = model_out
            ema_logit, _ = ema_model_out

            ema_logit = ema_logit.detach()  # upstream: Variable(ema_logit.detach().data, requires_grad=False)

            if logit_distance_cost >= 0:
                class_logit, cons_logit = logit1, logit2
                res_loss = logit_distance_cost * residual_logit_criterion(class_logit, cons_logit) / minibatch_size
            else:
                class_logit, cons_logit = logit1, logit1
                res_loss = 0

            class_loss = class_criterion(class_logit, target_var) / minibatch_size

            if consistency:
                consistency_weight = get_current_consistency_weight(epoch)
                consistency_loss = consistency_weight * consistency_criterion(cons_logit, ema_logit) / minibatch_size
            else:
                consistency_loss = 0

            loss = class_loss + consistency_loss + res_loss
            lv = float(loss.detach())
            if np.isnan(lv) or lv > 1e5:  # upstream: assert not (np.isnan(loss) or loss > 1e5), 'Loss explosion'
                exploded_at = global_step  # the run stops here, as upstream's assert would stop it
                break

            lab = target_var.ne(NO_LABEL)
            top1.append(float((class_logit.detach()[lab].argmax(1) == target_var[lab]).float().mean()))
            ema_top1.append(float((ema_logit[lab].argmax(1) == target_var[lab]).float().mean()))

            # compute gradient and do SGD step
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            global_step += 1
            update_ema_variables(model, ema_model, ema_decay, global_step)
            losses.append(lv)
            class_losses.append(float(class_loss.detach()))
            cons_losses.append(float(consistency_loss.detach()) if torch.is_tensor(consistency_loss) else 0.0)
        if exploded_at is not None:
            break
        if verbose:
            print(f"epoch {epoch}: loss {np.mean(losses[-12:]):.4f} class {np.mean(class_losses[-12:]):.4f} "
                  f"cons {np.mean(cons_losses[-12:]):.4f} top1 {np.mean(top1[-12:]):.3f} "
                  f"lr {optimizer.param_groups[0]['lr']:.4f}  {time.time() - t0:.1f}s", flush=True)
    monitor.close()

    ema_acc = validate(X_test, y_test, ema_model)
    student_acc = validate(X_test, y_test, model)
    la = np.array(losses, dtype=float)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": ema_acc, "chance": 0.1,
            "initial": ema_untrained, "initial_what": "the untrained EMA teacher's test accuracy (chance 0.1)",
            "extra": dict(student_test_acc=student_acc, ema_test_acc=ema_acc, lr=lr_max, lr_mult=lr_mult,
                          init_std=-1.0 if init_std is None else init_std, input_scale=input_scale,
                          zero_grad=zero_grad, ema_decay=ema_decay, consistency=consistency, batch_size=batch_size,
                          labeled_batch_size=labeled_batch_size, epochs=epochs, steps=global_step,
                          exploded_at=-1 if exploded_at is None else exploded_at,
                          first_loss=float(np.mean(la[:5])) if len(la) else float("nan"),
                          train_loss=float(np.mean(la[-20:])) if len(la) else float("nan"),
                          max_loss=float(np.max(la)) if len(la) else float("nan"),
                          class_loss=float(np.mean(class_losses[-20:])) if class_losses else float("nan"),
                          cons_loss=float(np.mean(cons_losses[-20:])) if cons_losses else float("nan"),
                          train_top1=float(np.mean(top1[-20:])) if top1 else float("nan"),
                          train_ema_top1=float(np.mean(ema_top1[-20:])) if ema_top1 else float("nan"),
                          n_labeled=len(labeled_idxs), n_unlabeled=len(unlabeled_idxs), n_test=len(y_test)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="meanteacher", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = (f"Mean Teacher (scaled ShakeShake ResNet32x32, layers [1, 1, 1], {CHANNELS} channels; SGD lr 0.05 nesterov, "
      f"momentum 0.9, wd 2e-4, cosine rampdown over {LR_RAMPDOWN_EPOCHS} epochs; batch 128 with 31 labelled; softmax-MSE "
      f"consistency 100 ramped over 5 epochs; logit distance cost 0.01; EMA decay 0.97; {N_LABELED} labels; "
      f"{EPOCHS} epochs)")
CASES: list[dict] = (
    [_case(f"meanteacher_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"meanteacher_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({0.05 * k:g})")
       for k, ss in ((10, (1, 2)), (100, (1,)), (1000, (1,))) for s in ss]
    + [_case("meanteacher_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 (5e-05)")]
    + [_case(f"meanteacher_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: every Conv2d and Linear weight (student and teacher) drawn from N(0, 1) instead of upstream's "
             f"N(0, sqrt(2/n)) for the convs and PyTorch's default for fc1/fc2") for s in (1, 2)]
    + [_case("meanteacher_inputs_x100_s1", "unscaled_inputs", 1, {"input_scale": 100.0},
             f"{_P}: the normalized images multiplied by 100 (training and test)")]
    + [_case("meanteacher_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("meanteacher_ema0_s1", "healthy", 1, {"ema_decay": 0.0},
             f"{_P}: ema_decay 0 (the teacher is a copy of the student after every step: a Pi-model-like consistency "
             f"to the student's own prediction on the other view; no cause names it)")]
    + [_case("meanteacher_cons10000_s1", "healthy", 1, {"consistency": 10000.0},
             f"{_P}: consistency weight 10000 instead of 100 (no cause names it)")]
    + [_case("meanteacher_batch64_s1", "healthy", 1, {"batch_size": 64, "labeled_batch_size": 16},
             f"{_P}: batch 64 with 16 labelled instead of 128 with 31 (expected harmless)")]
    + [_case("meanteacher_ema099_s1", "healthy", 1, {"ema_decay": 0.99},
             f"{_P}: ema_decay 0.99 (cifar10_test.py's 4000-label value) instead of 0.97 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
