"""Prototypical Networks for few-shot learning (orobix's PyTorch port of Snell et al.), watched by gradmedic.

Adapted from https://github.com/orobix/Prototypical-Networks-for-Few-shot-Learning-PyTorch (commit
df89808d708637b769a41f27416b911758b8efb7, the newest; MIT License, Copyright (c) 2018 Daniele Ciriello, see
LICENSE-protonet): src/protonet.py (``conv_block``, ``ProtoNet``), src/prototypical_loss.py (``euclidean_dist``,
``prototypical_loss``: prototypes as the means of the support embeddings, squared Euclidean distances,
``log_softmax`` over the negative distances, NLL of the query points and their accuracy) and
src/prototypical_batch_sampler.py (``PrototypicalBatchSampler``: episodes of classes_per_it classes with
num_support + num_query samples each) are copied below; src/train.py's ``init_seed``, ``init_optim``
(``torch.optim.Adam(params=model.parameters(), lr=0.001)``), ``init_lr_scheduler`` (``StepLR``, gamma 0.5, stepped
once per epoch), its training loop (``optim.zero_grad()``, ``model(x)``, ``loss_fn(model_output, target=y,
n_support=...)``, ``loss.backward()``, ``optim.step()``) and ``test`` (mean accuracy of 5-way 5-shot episodes with 15
queries per class, the val/test options of parser_util.py) are written out with the changes marked ``# upstream:``.
Kept: the four conv(3x3, padding 1)-BatchNorm2d-ReLU-MaxPool2d(2) blocks on 1x28x28 images (28 -> 1x1, the
embedding is the last block's channels), PyTorch's default inits, the loss and sampler, Adam at 0.001, gamma 0.5,
5 support and 5 query points per class in training, 5-way 5-shot 15-query evaluation, no clipping.

Changed to run offline on one CPU thread: Omniglot is a download, so the data are generated (``synthetic_characters``,
a fixed dataset that does not depend on the run's seed): random "characters" of 2-3 random-walk strokes, each in the
4 rotations 0/90/180/270 degrees as 4 classes (as omniglot_dataset.py makes 4 classes of every Omniglot character),
20 drawings per class (as Omniglot), each with point jitter, scale 0.85-1.15, a small rotation (sd 0.15 rad), a
shift of up to 2 px, a random stroke width and pixel noise, strokes 1 on 0 in [0, 1] (upstream: 1.0 - pixel);
16 characters (64 classes) for training and 8 other characters (32 disjoint classes) for the test.  Size: width
32 (upstream: hid_dim = z_dim = 64), 10 epochs of 15 episodes (upstream: 100 of 100) of 10 classes each (upstream's
classes_per_it_tr: 60), StepLR step 3 epochs (upstream: 20; the rate halves three times in the run, upstream's four
times in 100 epochs); no validation pass and no checkpoints (the model is put in eval mode for the test, as
upstream's last validation pass leaves it); the test is 40 episodes under ``torch.no_grad`` (upstream: 10 passes
of 100 episodes, autograd on); no tqdm; the run's seed replaces manual_seed 7.  Knobs: ``lr_mult``, ``init_std``
(N(0, init_std) for every Conv2d weight), ``input_scale`` (the images times it), ``zero_grad=False``,
``batchnorm=False`` (``nn.Identity`` in place of each BatchNorm2d), ``num_query_tr``.

The watch, as a user would: ``monitor = gradmedic.watch(model, optim, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``optim.step()``; ``monitor.close()`` after the loop.
Metric "accuracy": the test-class episode accuracy (40 5-way 5-shot episodes, 15 queries per class, disjoint test
classes); chance 0.2; ``initial`` is the untrained network's accuracy on 20 such episodes (0.72-0.79 for the
unchanged program: prototypes of random conv features already separate these strokes well above chance).  A good
outcome is run.py's accuracy rule, >= 0.9: clearly above the untrained 0.72-0.79 and below the healthy 0.95-0.96, so
that a run that learned little fails it; a variant is broken when its control is 10 points better.

``CASES`` (program "protonet"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) conv weights (seeds 1 and 2); pixels x100;
``optim.zero_grad()`` left out (seeds 1 and 2); BatchNorm2d taken out of every block (cause "no_norm"); and two
changes expected harmless: lr x2 (cause "lr_high") and 10 training query points per class (cause "healthy").
Recorded (cases-public150; 22-57 s a run of wall time while the 2 shared cores carried a load of ~5, about 17 s of CPU
time for a healthy run; the first run also builds the data, ~4 s): healthy test accuracy 0.946, 0.960, 0.951 on
seeds 1-3 (untrained 0.743, 0.718, 0.793; training loss 0.81-0.96 over the first 5 episodes -> 0.04-0.07 over the last
20, training episode accuracy 0.98-0.99; every loss finite): healthy; lr x10: 0.970: healthy; lr x100: 0.956 (seed
1), 0.938 (seed 2): healthy; lr x1000 (Adam lr 1): 0.933, training loss 0.19, largest loss 1.39: healthy; lr /1000:
0.744 (the untrained value; training loss 1.11 -> 1.12): broken; N(0, 1) conv weights: 0.844 (seed 1) and 0.842
(seed 2; untrained 0.81, 0.78; training loss 0.58-0.63, training accuracy 0.78-0.80): broken; pixels x100: 0.938:
healthy; zero_grad left out: 0.930 (seed 1): healthy, 0.926 (seed 2, 3.4 points below its control): ambiguous;
BatchNorm removed: first losses 2.29, training loss 0.28, 0.908 (3.9 points below): ambiguous; lr x2: 0.960:
healthy; 10 training queries: 0.947: healthy.  Labels: 11 healthy (3 programs, lr x10, x100 twice, x1000, pixels
x100, zero_grad left out on seed 1, lr x2, 10 queries), 3 broken (lr /1000, init std 1 twice), 2 ambiguous; no
non-finite loss.  Every conv layer is followed by BatchNorm, so the loss does not change with the scale of any conv
weight or of the input: a large rate only grows the weight norms (which shrinks the effective step), and pixels
x100 are normalized away; no stronger rate was added, as x1000 (Adam at 1.0) still reached 0.93.
"""

from __future__ import annotations

import functools
import time

import numpy as np
import torch
import torch.nn as nn
from torch.nn import functional as F

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(model, optim, every=10) right after the Adam optimizer is built (before the StepLR); "
              "monitor.step(loss) right after loss.backward() of each training episode (the prototypical loss over "
              "the episode's query points), before optim.step()")

# parser_util.py's defaults, and what this port runs
LEARNING_RATE = 0.001
LR_SCHEDULER_GAMMA = 0.5
EPOCHS = 10  # upstream: 100
ITERATIONS = 15  # upstream: 100 episodes per epoch
LR_SCHEDULER_STEP = 3  # upstream: 20
CLASSES_PER_IT_TR = 10  # upstream: 60
NUM_SUPPORT_TR = 5
NUM_QUERY_TR = 5
CLASSES_PER_IT_VAL = 5
NUM_SUPPORT_VAL = 5
NUM_QUERY_VAL = 15
HID_DIM = 32  # upstream: ProtoNet(x_dim=1, hid_dim=64, z_dim=64)
TEST_EPISODES = 40  # upstream's test(): 10 passes over the test sampler's 100 episodes
INITIAL_EPISODES = 20  # the untrained network's accuracy (not upstream)


##########################
### protonet.py (copied)
##########################

def conv_block(in_channels, out_channels, batchnorm=True):
    '''
    returns a block conv-bn-relu-pool
    '''
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1),
        nn.BatchNorm2d(out_channels) if batchnorm else nn.Identity(),  # upstream: always BatchNorm2d (the no_norm variant)
        nn.ReLU(),
        nn.MaxPool2d(2)
    )


class ProtoNet(nn.Module):
    '''
    Model as described in the reference paper,
    source: https://github.com/jakesnell/prototypical-networks/blob/f0c48808e496989d01db59f86d4449d7aee9ab0c/protonets/models/few_shot.py#L62-L84
    '''
    def __init__(self, x_dim=1, hid_dim=64, z_dim=64, batchnorm=True):
        super(ProtoNet, self).__init__()  # noqa: UP008 (as upstream)
        self.encoder = nn.Sequential(
            conv_block(x_dim, hid_dim, batchnorm),
            conv_block(hid_dim, hid_dim, batchnorm),
            conv_block(hid_dim, hid_dim, batchnorm),
            conv_block(hid_dim, z_dim, batchnorm),
        )

    def forward(self, x):
        x = self.encoder(x)
        return x.view(x.size(0), -1)


##########################
### prototypical_loss.py (copied)
##########################

def euclidean_dist(x, y):
    '''
    Compute euclidean distance between two tensors
    '''
    # x: N x D
    # y: M x D
    n = x.size(0)
    m = y.size(0)
    d = x.size(1)
    if d != y.size(1):
        raise Exception

    x = x.unsqueeze(1).expand(n, m, d)
    y = y.unsqueeze(0).expand(n, m, d)

    return torch.pow(x - y, 2).sum(2)


def prototypical_loss(input, target, n_support):
    '''
    Inspired by https://github.com/jakesnell/prototypical-networks/blob/master/protonets/models/few_shot.py

    Compute the barycentres by averaging the features of n_support
    samples for each class in target, computes then the distances from each
    samples' features to each one of the barycentres, computes the
    log_probability for each n_query samples for each one of the current
    classes, of appartaining to a class c, loss and accuracy are then computed
    and returned
    '''
    target_cpu = target.to('cpu')
    input_cpu = input.to('cpu')

    def supp_idxs(c):
        # FIXME when torch will support where as np
        return target_cpu.eq(c).nonzero()[:n_support].squeeze(1)

    # FIXME when torch.unique will be available on cuda too
    classes = torch.unique(target_cpu)
    n_classes = len(classes)
    # FIXME when torch will support where as np
    # assuming n_query, n_target constants
    n_query = target_cpu.eq(classes[0].item()).sum().item() - n_support

    support_idxs = list(map(supp_idxs, classes))

    prototypes = torch.stack([input_cpu[idx_list].mean(0) for idx_list in support_idxs])
    # FIXME when torch will support where as np
    query_idxs = torch.stack(list(map(lambda c: target_cpu.eq(c).nonzero()[n_support:], classes))).view(-1)

    query_samples = input.to('cpu')[query_idxs]
    dists = euclidean_dist(query_samples, prototypes)

    log_p_y = F.log_softmax(-dists, dim=1).view(n_classes, n_query, -1)

    target_inds = torch.arange(0, n_classes)
    target_inds = target_inds.view(n_classes, 1, 1)
    target_inds = target_inds.expand(n_classes, n_query, 1).long()

    loss_val = -log_p_y.gather(2, target_inds).squeeze().view(-1).mean()
    _, y_hat = log_p_y.max(2)
    acc_val = y_hat.eq(target_inds.squeeze(2)).float().mean()

    return loss_val,  acc_val


##########################
### prototypical_batch_sampler.py (copied)
##########################

class PrototypicalBatchSampler(object):  # noqa: UP004 (as upstream)
    '''
    PrototypicalBatchSampler: yield a batch of indexes at each iteration.
    Indexes are calculated by keeping in account 'classes_per_it' and 'num_samples',
    In fact at every iteration the batch indexes will refer to  'num_support' + 'num_query' samples
    for 'classes_per_it' random classes.

    __len__ returns the number of episodes per epoch (same as 'self.iterations').
    '''

    def __init__(self, labels, classes_per_it, num_samples, iterations):
        super(PrototypicalBatchSampler, self).__init__()  # noqa: UP008 (as upstream)
        self.labels = labels
        self.classes_per_it = classes_per_it
        self.sample_per_class = num_samples
        self.iterations = iterations

        self.classes, self.counts = np.unique(self.labels, return_counts=True)
        self.classes = torch.LongTensor(self.classes)

        # create a matrix, indexes, of dim: classes X max(elements per class)
        # fill it with nans
        # for every class c, fill the relative row with the indices samples belonging to c
        # in numel_per_class we store the number of samples for each class/row
        self.idxs = range(len(self.labels))
        self.indexes = np.empty((len(self.classes), max(self.counts)), dtype=int) * np.nan
        self.indexes = torch.Tensor(self.indexes)
        self.numel_per_class = torch.zeros_like(self.classes)
        for idx, label in enumerate(self.labels):
            label_idx = np.argwhere(self.classes == label).item()
            self.indexes[label_idx, np.where(np.isnan(self.indexes[label_idx]))[0][0]] = idx
            self.numel_per_class[label_idx] += 1

    def __iter__(self):
        '''
        yield a batch of indexes
        '''
        spc = self.sample_per_class
        cpi = self.classes_per_it

        for _it in range(self.iterations):
            batch_size = spc * cpi
            batch = torch.LongTensor(batch_size)
            c_idxs = torch.randperm(len(self.classes))[:cpi]
            for i, c in enumerate(self.classes[c_idxs]):
                s = slice(i * spc, (i + 1) * spc)
                # FIXME when torch.argwhere will exists
                label_idx = torch.arange(len(self.classes)).long()[self.classes == c].item()
                sample_idxs = torch.randperm(self.numel_per_class[label_idx])[:spc]
                batch[s] = self.indexes[label_idx][sample_idxs]
            batch = batch[torch.randperm(len(batch))]
            yield batch

    def __len__(self):
        '''
        returns the number of iterations (episodes) per epoch
        '''
        return self.iterations


##########################
### the data (upstream: omniglot_dataset.py downloads Omniglot)
##########################

N_BASE_TRAIN, N_BASE_TEST, PER_CLASS, SIZE = 16, 8, 20, 28


def _render(strokes, size=SIZE, width=1.0):
    """Polylines drawn as strokes of value 1 on a 0 background (Omniglot as upstream loads it: 1.0 - pixel)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    P = np.stack([xx.ravel(), yy.ravel()], 1)
    img = np.zeros(size * size, np.float32)
    for pts in strokes:
        a, b = pts[:-1], pts[1:]
        ab = b - a
        t = np.clip(((P[:, None, :] - a[None]) * ab[None]).sum(-1) / np.maximum((ab ** 2).sum(-1), 1e-6)[None], 0, 1)
        d = np.sqrt(((P[:, None, :] - (a[None] + t[..., None] * ab[None])) ** 2).sum(-1)).min(1)
        img = np.maximum(img, np.clip(width + 0.5 - d, 0, 1))
    return img.reshape(size, size)


@functools.lru_cache(maxsize=2)
def synthetic_characters(n_base: int, seed: int):
    """Omniglot-like few-shot data: n_base random "characters" (2-3 random-walk strokes each), each in 4 rotations
    (0, 90, 180, 270 degrees: 4 classes, as omniglot_dataset.py makes 4 classes of every character by rotation),
    PER_CLASS drawings per class, each with its own jitter (point noise, scale, small rotation, shift, stroke width)
    and pixel noise; 28x28, values in [0, 1]."""
    rng = np.random.RandomState(seed)
    X, Y, c = [], [], 0
    for _ in range(n_base):
        strokes = []
        for _s in range(rng.randint(2, 4)):
            n = rng.randint(3, 6)
            p0 = rng.uniform(-7, 7, 2)
            strokes.append(np.concatenate([p0[None], p0 + np.cumsum(rng.normal(0, 4, (n - 1, 2)), 0)]))
        centre = np.concatenate(strokes).mean(0)
        strokes = [np.clip(p - centre, -10, 10) for p in strokes]
        for r in range(4):
            for _k in range(PER_CLASS):
                th = r * np.pi / 2 + rng.normal(0, 0.15)
                R = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
                sc, sh = rng.uniform(0.85, 1.15, 2), rng.uniform(-2, 2, 2)
                st = [(R @ ((p + rng.normal(0, 0.7, p.shape)) * sc).T).T + SIZE / 2 + sh for p in strokes]
                img = _render(st, SIZE, rng.uniform(0.6, 1.2))
                X.append(np.clip(img + rng.normal(0, 0.1, img.shape), 0, 1))
                Y.append(c)
            c += 1
    return np.asarray(X, np.float32)[:, None], np.asarray(Y)


class CharDataset(torch.utils.data.Dataset):
    def __init__(self, x, y, scale=1.0):
        self.x = torch.from_numpy(x) * scale  # the unscaled_inputs variant: x100
        self.y = y

    def __getitem__(self, idx):
        return self.x[idx], self.y[idx]

    def __len__(self):
        return len(self.y)


def test(test_dataloader, model, n_support, passes=1):
    '''
    Test the model trained with the prototypical learning algorithm
    '''
    avg_acc = list()
    with torch.no_grad():  # upstream: autograd on (no number changes)
        for _epoch in range(passes):  # upstream: 10 passes
            for batch in iter(test_dataloader):
                x, y = batch
                model_output = model(x)
                _, acc = prototypical_loss(model_output, target=y, n_support=n_support)
                avg_acc.append(acc.item())
    return float(np.mean(avg_acc))


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, input_scale: float = 1.0,
          zero_grad: bool = True, batchnorm: bool = True, num_query_tr: int = NUM_QUERY_TR, epochs: int = EPOCHS,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    # init_seed (upstream: manual_seed 7)
    np.random.seed(seed)
    torch.manual_seed(seed)

    xtr, ytr = synthetic_characters(N_BASE_TRAIN, 1000)
    xte, yte = synthetic_characters(N_BASE_TEST, 2000)  # other characters: the test classes are disjoint
    tr_dataset, test_dataset = CharDataset(xtr, ytr, input_scale), CharDataset(xte, yte, input_scale)
    tr_sampler = PrototypicalBatchSampler(labels=tr_dataset.y, classes_per_it=CLASSES_PER_IT_TR,
                                          num_samples=NUM_SUPPORT_TR + num_query_tr, iterations=ITERATIONS)
    test_sampler = PrototypicalBatchSampler(labels=test_dataset.y, classes_per_it=CLASSES_PER_IT_VAL,
                                            num_samples=NUM_SUPPORT_VAL + NUM_QUERY_VAL, iterations=TEST_EPISODES)
    tr_dataloader = torch.utils.data.DataLoader(tr_dataset, batch_sampler=tr_sampler)
    test_dataloader = torch.utils.data.DataLoader(test_dataset, batch_sampler=test_sampler)

    model = ProtoNet(hid_dim=HID_DIM, z_dim=HID_DIM, batchnorm=batchnorm)  # upstream: ProtoNet() (64, 64)
    if init_std is not None:  # the init_large variant: N(0, init_std) conv weights instead of PyTorch's default
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, mean=0.0, std=init_std)

    # the untrained network's test-episode accuracy (the reference; its own episodes, so the RNG of training is kept)
    state = torch.get_rng_state()
    torch.manual_seed(10_000 + seed)
    model.eval()
    test_sampler.iterations = INITIAL_EPISODES
    initial = test(test_dataloader, model, NUM_SUPPORT_VAL)
    test_sampler.iterations = TEST_EPISODES
    torch.set_rng_state(state)

    optim = torch.optim.Adam(params=model.parameters(), lr=LEARNING_RATE * lr_mult)
    monitor = gradmedic.watch(model, optim, every=every)  # gradmedic
    lr_scheduler = torch.optim.lr_scheduler.StepLR(optimizer=optim, gamma=LR_SCHEDULER_GAMMA,
                                                   step_size=LR_SCHEDULER_STEP)

    train_loss, train_acc = [], []
    for epoch in range(epochs):
        tr_iter = iter(tr_dataloader)
        model.train()
        for batch in tr_iter:  # upstream: tqdm(tr_iter)
            if zero_grad:  # the no_zero_grad variant leaves this out
                optim.zero_grad()
            x, y = batch
            model_output = model(x)
            loss, acc = prototypical_loss(model_output, target=y, n_support=NUM_SUPPORT_TR)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optim.step()
            train_loss.append(loss.item())
            train_acc.append(acc.item())
        avg_loss = np.mean(train_loss[-ITERATIONS:])
        avg_acc = np.mean(train_acc[-ITERATIONS:])
        if verbose:
            print(f'=== Epoch: {epoch} === Avg Train Loss: {avg_loss}, Avg Train Acc: {avg_acc} '
                  f'({time.time() - t0:.1f}s)', flush=True)
        lr_scheduler.step()
        # upstream: a validation pass and best_model.pth / last_model.pth checkpoints here (left out)
    monitor.close()

    torch.manual_seed(20_000 + seed)
    model.eval()  # upstream: the model is left in eval mode by the last validation pass
    test_acc = test(test_dataloader, model, NUM_SUPPORT_VAL)
    la = np.asarray(train_loss)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": test_acc, "chance": 1.0 / CLASSES_PER_IT_VAL,
            "initial": initial,
            "initial_what": (f"the untrained network's test accuracy ({TEST_EPISODES} {CLASSES_PER_IT_VAL}-way "
                             f"{NUM_SUPPORT_VAL}-shot episodes of {NUM_QUERY_VAL} queries per class)"),
            "extra": dict(lr=LEARNING_RATE * lr_mult, lr_mult=lr_mult, init_std=-1.0 if init_std is None else init_std,
                          input_scale=input_scale, zero_grad=zero_grad, batchnorm=batchnorm, num_query_tr=num_query_tr,
                          train_loss=float(np.mean(la[-20:])), first_loss=float(np.mean(la[:5])),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), train_acc=float(np.mean(train_acc[-20:])),
                          steps=len(la), epochs=epochs, untrained_test_acc=initial),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="protonet", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"ProtoNet (4 conv-BN-ReLU-maxpool blocks, width {HID_DIM}), prototypical loss; Adam lr {LEARNING_RATE:g}, "
      f"StepLR(step {LR_SCHEDULER_STEP}, gamma {LR_SCHEDULER_GAMMA:g}); {EPOCHS} epochs of {ITERATIONS} "
      f"{CLASSES_PER_IT_TR}-way {NUM_SUPPORT_TR}-shot episodes")
CASES: list[dict] = (
    [_case(f"protonet_healthy_s{s}", "healthy", s, {}, f"{_P}, {NUM_QUERY_TR} queries per class: unchanged", False)
     for s in (1, 2, 3)]
    + [_case(f"protonet_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({LEARNING_RATE * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("protonet_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 (1e-06)")]
    + [_case(f"protonet_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every Conv2d weight instead of PyTorch's default "
             "U(+-1/sqrt(fan_in)) (biases and BatchNorm kept)") for s in (1, 2)]
    + [_case("protonet_pixels_x100_s1", "unscaled_inputs", 1, {"input_scale": 100.0},
             f"{_P}: the [0, 1] images multiplied by 100 (train and test)")]
    + [_case(f"protonet_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optim.zero_grad() left out of the loop (the gradients accumulate)") for s in (1, 2)]
    + [_case("protonet_no_bn_s1", "no_norm", 1, {"batchnorm": False},
             f"{_P}: the BatchNorm2d of every conv block taken out (conv-ReLU-maxpool)")]
    + [_case("protonet_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: Adam lr x2 (0.002; expected harmless)")]
    + [_case("protonet_query10_s1", "healthy", 1, {"num_query_tr": 10},
             f"{_P}: 10 query points per class in the training episodes instead of 5 (expected harmless; no cause "
             "names it)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
