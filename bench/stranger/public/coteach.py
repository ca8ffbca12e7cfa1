"""Co-teaching (two networks teaching each other under noisy labels, bhanML/Co-teaching), watched by gradmedic.

Adapted from https://github.com/bhanML/Co-teaching (commit 7c7fbe23e15e517db76a0882b6d108e4508e09d6: main.py, loss.py,
model.py, data/utils.py and data/mnist.py).  The repository has no licence file and names no licence, so this port
keeps to what is needed (no LICENSE-coteach): ``loss_coteaching``, the ``CNN`` (upstream has only this CNN, no MLP
variant), the symmetric ``noisify`` functions, ``accuracy``, ``evaluate`` and main.py's loop, copied below.  Kept as
upstream: the 9-conv CNN (three 3x3 convs, max-pool, three more, max-pool, three more, global average pool, Linear;
BatchNorm2d and leaky_relu(0.01) after every conv; PyTorch's default inits); ``loss_coteaching`` (each network's
per-sample cross-entropy sorted, the other network trained on the ``1 - forget_rate`` share with the smallest loss,
the mean cross-entropy divided once more by num_remember, as upstream returns it); forget_rate = noise_rate, ramped
linearly from 0 over num_gradual epochs (exponent 1); two ``torch.optim.Adam(lr=0.001)``; ``adjust_learning_rate``
(lr decayed linearly to 0 and beta1 0.9 -> 0.1 from epoch_decay_start, two fifths of n_epoch as upstream's 80 of
200); batch 128 with drop_last and shuffle; epoch 0 only evaluates the untrained networks; the order
``optimizer1.zero_grad(); loss_1.backward(); optimizer1.step(); optimizer2.zero_grad(); loss_2.backward();
optimizer2.step()``; the noise drawn by ``multiclass_noisify`` with random_state 0 (the same noisy labels on every
seed); clean test labels; ``torch.manual_seed(args.seed)``.

Changed to run offline on one CPU thread in ~15 s:
- scikit-learn's ``load_digits`` instead of MNIST (a download): 8x8 images in [0, 1] (ToTensor; pixels 0..16 / 16),
  a fixed stratified 80/20 split (1437 training, 360 test images, random_state 0); symmetric noise 0.2 (upstream's
  default noise_rate; its default type is pairflip, its README's example symmetric, and its results table has
  symmetric 20%) on the training labels: 20.3% of them flipped;
- channel counts divided by 8 (128/256/512 -> 16/32/64) and padding 1 instead of 0 in c7-c9 (upstream's 28/32-pixel
  images are 7/8 wide there; the digits are 2 wide after the two pools, so padding 0 is impossible); same depth, same
  layers;
- ``F.dropout2d(h, p=0.25, training=False)``: upstream calls ``F.dropout2d(h, p=self.dropout_rate)``, which under its
  PyTorch 0.3 defaults to training=False (no dropout, ever); today's default is True, so it is spelled out;
- n_epoch 15 (upstream 200), epoch_decay_start 6 (80), num_gradual 5 (upstream default 10; its help names 5, 10, 15);
  11 steps an epoch, 154 steps of each network (upstream breaks after 400 iterations an epoch);
- no CUDA, num_workers 0, no result files, ``reduction='none'`` for the removed ``reduce=False``, ``torch.argsort``
  for ``np.argsort(...).cuda()``, the test set evaluated in one batch (upstream: batches of 128 with drop_last, which
  would drop 104 of the 360 digits), ``torch.no_grad()`` around the evaluation; prints only with ``verbose``.

The watch, as a user would, one monitor per network (as elgan.py for a GAN): ``gradmedic.watch(cnn1, optimizer1,
every=10)`` and ``gradmedic.watch(cnn2, optimizer2, every=10)`` right after both optimizers are built;
``monitor1.step(loss_1)`` right after ``loss_1.backward()``, before ``optimizer1.step()``; ``monitor2.step(loss_2)``
right after ``loss_2.backward()``, before ``optimizer2.step()``; both closed after the loop.  Saved as two parts,
``model1`` (first: its losses are the ones run.py reads) and ``model2``.  The recorded losses are upstream's
returned losses, the small-loss cross-entropy / num_remember (~0.018 at the start, 128 x smaller than the
cross-entropy at the start of the ramp).

Metric "accuracy": model 1's test accuracy (clean labels) after the last epoch; ``initial`` its accuracy before
training.  Extras: model 2's accuracy, model 1's best accuracy over the epochs, the pure ratios (the share of clean
labels among the samples each network keeps, last epoch), first and final loss_1, the step count and the knobs.

``CASES`` (program "coteach"): the program on seeds 1-3, and one change each against the same seed's healthy run:
both Adam rates x10, x100 (seeds 1 and 2), x1000 and /1000; N(0, 1) on every Conv2d and Linear weight of both
networks (seeds 1 and 2); the pixels x100; ``optimizer1.zero_grad()`` left out (seeds 1 and 2); ``--forget_rate 0``
(both networks train on every noisy label: plain training, no co-teaching; cause "healthy" as no gradient cause fits,
labelled by outcome); and two changes expected harmless: batch 64 and num_gradual 2 (cause "healthy").  Labels come
from run.py's outcome rules only.
Recorded (cases-public154; 16 cases in 267 s, 12-22 s a run on the shared 2-core machine): healthy test accuracy
0.936, 0.958, 0.953 on seeds 1-3 (model 2: 0.953, 0.964, 0.964; from 0.10 untrained; loss_1 0.018 -> 0.005; pure
ratio 97%); lr x10 (0.01): 0.967: healthy; lr x100 (0.1): 0.883 (seed 1, loss_1 up to 0.058, three times its
control's largest): ambiguous, 0.797 (seed 2): broken; lr x1000 (1.0): 0.347: broken; lr /1000 (1e-6): 0.097,
loss_1 0.020 -> 0.023: broken; N(0, 1) init: 0.728 (seed 1) and 0.792 (seed 2): broken; pixels x100: 0.953 (the
BatchNorm after c1 absorbs the scale): healthy; ``optimizer1.zero_grad()`` left out: 0.894 (seed 1) and 0.881
(seed 2; model 2, still zeroed, 0.942 and 0.931): ambiguous; forget_rate 0: 0.875 (model 2 0.894, best 0.936 before
the networks memorized the noise; pure ratio 80%, the noise rate): ambiguous; batch 64: 0.947: healthy;
num_gradual 2, against the expectation of no harm: 0.819 (pure ratio 90%: the networks start dropping samples
before they can rank them): ambiguous.  Labels: 6 healthy (3 programs, lr x10, pixels x100, batch 64), 5 broken,
5 ambiguous.  Every loss finite.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from numpy.testing import assert_array_almost_equal
from torch.autograd import Variable

import gradmedic

ARCH = "cnn"
PARTS = ("model1", "model2")  # the two monitors' files, {name}_model1.npz and {name}_model2.npz, in train()'s order
MONITOR_AT = ("two monitors, one per network: watch(cnn1, optimizer1, every=10) and watch(cnn2, optimizer2, every=10) "
              "right after both Adam optimizers are built; monitor1.step(loss_1) right after loss_1.backward(), before "
              "optimizer1.step(), then monitor2.step(loss_2) right after loss_2.backward(), before optimizer2.step() "
              "(loss_1 is cnn1's cross-entropy on the small-loss samples cnn2 picked, and the other way round)")

# upstream main.py's hyper-parameters (argparse defaults, and the values its mnist branch sets)
learning_rate = 0.001  # --lr
batch_size = 128
NOISE_TYPE = "symmetric"  # upstream default 'pairflip'; its README's example run is '--noise_type symmetric --noise_rate 0.5'
NOISE_RATE = 0.2  # upstream's default rate (its README's table: MNIST, symmetric 20%, 97.71%)
N_EPOCH = 15  # upstream: args.n_epoch = 200 (epoch 0 only evaluates the untrained networks)
EPOCH_DECAY_START = 6  # upstream: 80 (two fifths of n_epoch, kept)
NUM_GRADUAL = 5  # --num_gradual, upstream default 10 epochs of 200 (its help: 5, 10, 15)
EXPONENT = 1  # --exponent
NUM_ITER_PER_EPOCH = 400  # --num_iter_per_epoch (never reached here: 11 batches an epoch)
WIDTH = 8  # upstream's channel counts divided by this (128/256/512 -> 16/32/64), for one CPU thread


# ---------------------------------------------------------------------------------------------------------------
# data/utils.py: the noise (copied; the Python 2 prints left out)

def multiclass_noisify(y, P, random_state=0):
    """ Flip classes according to transition probability matrix T.
    It expects a number between 0 and the number of classes - 1.
    """
    assert P.shape[0] == P.shape[1]
    assert np.max(y) < P.shape[0]

    # row stochastic matrix
    assert_array_almost_equal(P.sum(axis=1), np.ones(P.shape[1]))
    assert (P >= 0.0).all()

    m = y.shape[0]
    new_y = y.copy()
    flipper = np.random.RandomState(random_state)

    for idx in np.arange(m):
        i = y[idx]
        # draw a vector with only an 1
        flipped = flipper.multinomial(1, P[i, :][0], 1)[0]
        new_y[idx] = np.where(flipped == 1)[0]

    return new_y


def noisify_multiclass_symmetric(y_train, noise, random_state=None, nb_classes=10):
    """mistakes:
        flip in the symmetric way
    """
    P = np.ones((nb_classes, nb_classes))
    n = noise
    P = (n / (nb_classes - 1)) * P

    actual_noise = 0.0  # upstream: undefined when noise is 0
    if n > 0.0:
        # 0 -> 1
        P[0, 0] = 1. - n
        for i in range(1, nb_classes-1):
            P[i, i] = 1. - n
        P[nb_classes-1, nb_classes-1] = 1. - n

        y_train_noisy = multiclass_noisify(y_train, P=P,
                                           random_state=random_state)
        actual_noise = (y_train_noisy != y_train).mean()
        assert actual_noise > 0.0
        y_train = y_train_noisy

    return y_train, actual_noise


def noisify(dataset='mnist', nb_classes=10, train_labels=None, noise_type=None, noise_rate=0, random_state=0):
    if noise_type == 'symmetric':  # upstream also has 'pairflip' (noisify_pairflip), not used here
        train_noisy_labels, actual_noise_rate = noisify_multiclass_symmetric(train_labels, noise_rate, random_state=0,
                                                                             nb_classes=nb_classes)
    return train_noisy_labels, actual_noise_rate


def digits_noisy(noise_rate=NOISE_RATE):
    """scikit-learn's digits in place of MNIST, as data/mnist.py serves them: images in [0, 1] (ToTensor), the
    training labels noisified with random_state 0 (fixed, as upstream), ``noise_or_not``, clean test labels."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = d.images.astype(np.float32)[:, None] / 16.0  # ToTensor's [0, 1] (digits' pixels are 0..16)
    y = d.target.astype(np.int64)
    # upstream: MNIST's fixed 60000/10000 split; here a fixed 80/20 split (1437 training, 360 test images)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
    train_labels = np.asarray([[y_tr[i]] for i in range(len(y_tr))])
    train_noisy_labels, actual_noise_rate = noisify(dataset='mnist', train_labels=train_labels, noise_type=NOISE_TYPE,
                                                    noise_rate=noise_rate, random_state=0)
    train_noisy_labels = [i[0] for i in train_noisy_labels]
    _train_labels = [i[0] for i in train_labels]
    noise_or_not = np.transpose(train_noisy_labels) == np.transpose(_train_labels)
    return x_tr, np.asarray(train_noisy_labels, dtype=np.int64), noise_or_not, x_te, y_te, float(actual_noise_rate)


# ---------------------------------------------------------------------------------------------------------------
# model.py (copied; channel counts / WIDTH, and padding 1 in c7-c9, see the docstring)

def call_bn(bn, x):
    return bn(x)


class CNN(nn.Module):
    def __init__(self, input_channel=3, n_outputs=10, dropout_rate=0.25, top_bn=False):
        self.dropout_rate = dropout_rate
        self.top_bn = top_bn
        super(CNN, self).__init__()  # noqa: UP008 (as upstream)
        w = WIDTH  # upstream: 128, 256, 512 channels (w = 1)
        self.c1=nn.Conv2d(input_channel,128//w,kernel_size=3,stride=1, padding=1)
        self.c2=nn.Conv2d(128//w,128//w,kernel_size=3,stride=1, padding=1)
        self.c3=nn.Conv2d(128//w,128//w,kernel_size=3,stride=1, padding=1)
        self.c4=nn.Conv2d(128//w,256//w,kernel_size=3,stride=1, padding=1)
        self.c5=nn.Conv2d(256//w,256//w,kernel_size=3,stride=1, padding=1)
        self.c6=nn.Conv2d(256//w,256//w,kernel_size=3,stride=1, padding=1)
        self.c7=nn.Conv2d(256//w,512//w,kernel_size=3,stride=1, padding=1)  # upstream: padding=0 (28x28 -> 7 -> 5 -> 3 -> 1)
        self.c8=nn.Conv2d(512//w,256//w,kernel_size=3,stride=1, padding=1)  # upstream: padding=0
        self.c9=nn.Conv2d(256//w,128//w,kernel_size=3,stride=1, padding=1)  # upstream: padding=0
        self.l_c1=nn.Linear(128//w,n_outputs)
        self.bn1=nn.BatchNorm2d(128//w)
        self.bn2=nn.BatchNorm2d(128//w)
        self.bn3=nn.BatchNorm2d(128//w)
        self.bn4=nn.BatchNorm2d(256//w)
        self.bn5=nn.BatchNorm2d(256//w)
        self.bn6=nn.BatchNorm2d(256//w)
        self.bn7=nn.BatchNorm2d(512//w)
        self.bn8=nn.BatchNorm2d(256//w)
        self.bn9=nn.BatchNorm2d(128//w)

    def forward(self, x,):
        h=x
        h=self.c1(h)
        h=F.leaky_relu(call_bn(self.bn1, h), negative_slope=0.01)
        h=self.c2(h)
        h=F.leaky_relu(call_bn(self.bn2, h), negative_slope=0.01)
        h=self.c3(h)
        h=F.leaky_relu(call_bn(self.bn3, h), negative_slope=0.01)
        h=F.max_pool2d(h, kernel_size=2, stride=2)
        h=F.dropout2d(h, p=self.dropout_rate, training=False)  # upstream: no training= (PyTorch 0.3's default False)

        h=self.c4(h)
        h=F.leaky_relu(call_bn(self.bn4, h), negative_slope=0.01)
        h=self.c5(h)
        h=F.leaky_relu(call_bn(self.bn5, h), negative_slope=0.01)
        h=self.c6(h)
        h=F.leaky_relu(call_bn(self.bn6, h), negative_slope=0.01)
        h=F.max_pool2d(h, kernel_size=2, stride=2)
        h=F.dropout2d(h, p=self.dropout_rate, training=False)  # upstream: no training= (PyTorch 0.3's default False)

        h=self.c7(h)
        h=F.leaky_relu(call_bn(self.bn7, h), negative_slope=0.01)
        h=self.c8(h)
        h=F.leaky_relu(call_bn(self.bn8, h), negative_slope=0.01)
        h=self.c9(h)
        h=F.leaky_relu(call_bn(self.bn9, h), negative_slope=0.01)
        h=F.avg_pool2d(h, kernel_size=h.data.shape[2])

        h = h.view(h.size(0), h.size(1))
        logit=self.l_c1(h)
        if self.top_bn:
            logit=call_bn(self.bn_c1, logit)
        return logit


# ---------------------------------------------------------------------------------------------------------------
# loss.py (copied; np.argsort(...).cuda() -> torch.argsort on the CPU, reduce=False -> reduction='none')

def loss_coteaching(y_1, y_2, t, forget_rate, ind, noise_or_not):
    loss_1 = F.cross_entropy(y_1, t, reduction='none')  # upstream: reduce = False
    ind_1_sorted = torch.argsort(loss_1.data)  # upstream: np.argsort(loss_1.data).cuda()
    loss_1_sorted = loss_1[ind_1_sorted]

    loss_2 = F.cross_entropy(y_2, t, reduction='none')  # upstream: reduce = False
    ind_2_sorted = torch.argsort(loss_2.data)  # upstream: np.argsort(loss_2.data).cuda()
    loss_2_sorted = loss_2[ind_2_sorted]  # noqa: F841 (as upstream)

    remember_rate = 1 - forget_rate
    num_remember = int(remember_rate * len(loss_1_sorted))

    pure_ratio_1 = np.sum(noise_or_not[ind[ind_1_sorted[:num_remember].numpy()]])/float(num_remember)
    pure_ratio_2 = np.sum(noise_or_not[ind[ind_2_sorted[:num_remember].numpy()]])/float(num_remember)

    ind_1_update=ind_1_sorted[:num_remember]
    ind_2_update=ind_2_sorted[:num_remember]
    # exchange
    loss_1_update = F.cross_entropy(y_1[ind_2_update], t[ind_2_update])
    loss_2_update = F.cross_entropy(y_2[ind_1_update], t[ind_1_update])

    return torch.sum(loss_1_update)/num_remember, torch.sum(loss_2_update)/num_remember, pure_ratio_1, pure_ratio_2


# ---------------------------------------------------------------------------------------------------------------
# main.py

def accuracy(logit, target, topk=(1,)):
    """Computes the precision@k for the specified values of k"""
    output = F.softmax(logit, dim=1)
    maxk = max(topk)
    batch_size = target.size(0)

    _, pred = output.topk(maxk, 1, True, True)
    pred = pred.t()
    correct = pred.eq(target.view(1, -1).expand_as(pred))

    res = []
    for k in topk:
        correct_k = correct[:k].reshape(-1).float().sum(0, keepdim=True)  # upstream: .view(-1)
        res.append(correct_k.mul_(100.0 / batch_size))
    return res


def evaluate(x_te, y_te, model1, model2):
    """upstream's evaluate: both models in eval mode over the clean test images (F.dropout2d's default
    training=True keeps its dropout on, as upstream); percent accuracies."""
    model1.eval()    # Change model to 'eval' mode.
    with torch.no_grad():  # upstream: autograd on (PyTorch 0.3); no number changes
        logits1 = model1(x_te)  # upstream: batches of 128 with drop_last=True; here all 360 test images at once
        outputs1 = F.softmax(logits1, dim=1)
        _, pred1 = torch.max(outputs1.data, 1)
        correct1 = (pred1 == y_te).sum()
    model2.eval()    # Change model to 'eval' mode
    with torch.no_grad():
        logits2 = model2(x_te)
        outputs2 = F.softmax(logits2, dim=1)
        _, pred2 = torch.max(outputs2.data, 1)
        correct2 = (pred2 == y_te).sum()
    acc1 = 100*float(correct1)/float(len(y_te))
    acc2 = 100*float(correct2)/float(len(y_te))
    return acc1, acc2


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, pixel_scale: float = 1.0,
          zero_grad_1: bool = True, forget_rate: float | None = None, batch: int = batch_size,
          num_gradual: int = NUM_GRADUAL, n_epoch: int = N_EPOCH, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    # Seed
    torch.manual_seed(seed)

    x_tr, y_tr_noisy, noise_or_not, x_te, y_te, actual_noise = digits_noisy(NOISE_RATE)
    x_tr, x_te = x_tr * pixel_scale, x_te * pixel_scale  # the unscaled_inputs variant (x100)
    train_dataset = torch.utils.data.TensorDataset(torch.tensor(x_tr), torch.tensor(y_tr_noisy),
                                                   torch.arange(len(y_tr_noisy)))  # (images, labels, indexes)
    x_te_t, y_te_t = torch.tensor(x_te), torch.tensor(y_te)
    input_channel = 1
    num_classes = 10

    if forget_rate is None:
        forget_rate = NOISE_RATE  # upstream: forget_rate = args.noise_rate unless --forget_rate is given
    lr0 = learning_rate * lr_mult

    # Adjust learning rate and betas for Adam Optimizer
    mom1 = 0.9
    mom2 = 0.1
    alpha_plan = [lr0] * n_epoch
    beta1_plan = [mom1] * n_epoch
    epoch_decay_start = EPOCH_DECAY_START * n_epoch // N_EPOCH
    for i in range(epoch_decay_start, n_epoch):
        alpha_plan[i] = float(n_epoch - i) / (n_epoch - epoch_decay_start) * lr0
        beta1_plan[i] = mom2

    def adjust_learning_rate(optimizer, epoch):
        for param_group in optimizer.param_groups:
            param_group['lr']=alpha_plan[epoch]
            param_group['betas']=(beta1_plan[epoch], 0.999) # Only change beta1

    # define drop rate schedule
    rate_schedule = np.ones(n_epoch)*forget_rate
    rate_schedule[:num_gradual] = np.linspace(0, forget_rate**EXPONENT, num_gradual)

    # Data Loader (Input Pipeline)
    train_loader = torch.utils.data.DataLoader(dataset=train_dataset, batch_size=batch,
                                               num_workers=0,  # upstream: args.num_workers (4)
                                               drop_last=True, shuffle=True)
    # Define models
    cnn1 = CNN(input_channel=input_channel, n_outputs=num_classes)
    optimizer1 = torch.optim.Adam(cnn1.parameters(), lr=lr0)
    cnn2 = CNN(input_channel=input_channel, n_outputs=num_classes)
    optimizer2 = torch.optim.Adam(cnn2.parameters(), lr=lr0)
    if init_std is not None:  # the init_large variant: N(0, init_std) on every conv and Linear weight of both networks
        with torch.no_grad():
            for m in list(cnn1.modules()) + list(cnn2.modules()):
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    nn.init.normal_(m.weight, 0.0, init_std)
    monitor1 = gradmedic.watch(cnn1, optimizer1, every=every)  # gradmedic
    monitor2 = gradmedic.watch(cnn2, optimizer2, every=every)  # gradmedic

    # evaluate models with random weights
    test_acc1, test_acc2 = evaluate(x_te_t, y_te_t, cnn1, cnn2)
    initial_acc1 = test_acc1 / 100.0
    rec = {"loss_1": [], "loss_2": [], "pure_1": [], "pure_2": [], "train_acc1": [], "train_acc2": []}
    log = []

    # training
    for epoch in range(1, n_epoch):
        # train models
        cnn1.train()
        adjust_learning_rate(optimizer1, epoch)
        cnn2.train()
        adjust_learning_rate(optimizer2, epoch)
        for i, (images, labels, indexes) in enumerate(train_loader):
            ind=indexes.cpu().numpy().transpose()
            if i>NUM_ITER_PER_EPOCH:
                break

            images = Variable(images)  # upstream: .cuda()
            labels = Variable(labels)

            # Forward + Backward + Optimize
            logits1=cnn1(images)
            prec1, _ = accuracy(logits1, labels, topk=(1, 5))

            logits2 = cnn2(images)
            prec2, _ = accuracy(logits2, labels, topk=(1, 5))
            loss_1, loss_2, pure_ratio_1, pure_ratio_2 = loss_coteaching(logits1, logits2, labels, rate_schedule[epoch],
                                                                         ind, noise_or_not)

            if zero_grad_1:  # the no_zero_grad variant leaves this out
                optimizer1.zero_grad()
            loss_1.backward()
            monitor1.step(loss_1)  # gradmedic
            optimizer1.step()
            optimizer2.zero_grad()
            loss_2.backward()
            monitor2.step(loss_2)  # gradmedic
            optimizer2.step()
            rec["loss_1"].append(float(loss_1.detach()))
            rec["loss_2"].append(float(loss_2.detach()))
            rec["pure_1"].append(100 * float(pure_ratio_1))
            rec["pure_2"].append(100 * float(pure_ratio_2))
            rec["train_acc1"].append(float(prec1))
            rec["train_acc2"].append(float(prec2))
        # evaluate models
        test_acc1, test_acc2 = evaluate(x_te_t, y_te_t, cnn1, cnn2)
        log.append((epoch, test_acc1, test_acc2))
        if verbose:
            print('Epoch [%d/%d] Test Accuracy on the %s test images: Model1 %.4f %% Model2 %.4f %%, '  # noqa: UP031
                  'Loss1 %.5f Loss2 %.5f Pure Ratio 1 %.4f %%, Pure Ratio 2 %.4f %% (%.1fs)'
                  % (epoch+1, n_epoch, len(y_te), test_acc1, test_acc2, np.mean(rec["loss_1"][-11:]),
                     np.mean(rec["loss_2"][-11:]), np.mean(rec["pure_1"][-11:]), np.mean(rec["pure_2"][-11:]),
                     time.time() - t0), flush=True)

    monitor1.close()
    monitor2.close()
    l1 = np.asarray(rec["loss_1"])
    best1 = max(a for _, a, _ in log) / 100.0
    return {"monitors": {"model1": monitor1, "model2": monitor2}, "metric": "accuracy", "value": test_acc1 / 100.0,
            "initial": initial_acc1, "initial_what": "model 1's test accuracy before training (upstream's epoch 0)",
            "chance": 0.1,
            "extra": dict(test_acc2=test_acc2 / 100.0, best_test_acc1=best1,
                          test_acc1_at_decay_start=log[epoch_decay_start - 1][1] / 100.0,
                          first_loss_1=float(np.mean(l1[:5])), final_loss_1=float(np.mean(l1[-20:])),
                          max_loss_1=float(np.nanmax(l1)) if np.isfinite(l1).any() else float("nan"),
                          final_loss_2=float(np.mean(rec["loss_2"][-20:])),
                          finite_losses=bool(np.isfinite(l1).all() and np.isfinite(rec["loss_2"]).all()),
                          pure_ratio_1=float(np.mean(rec["pure_1"][-11:])),
                          pure_ratio_2=float(np.mean(rec["pure_2"][-11:])),
                          train_acc1_noisy=float(np.mean(rec["train_acc1"][-11:])) / 100.0,
                          actual_noise=actual_noise, noise_rate=NOISE_RATE, forget_rate=float(forget_rate),
                          num_gradual=num_gradual, batch=batch, steps=len(l1), epochs=n_epoch, lr=lr0,
                          lr_mult=lr_mult, init_std=-1.0 if init_std is None else float(init_std),
                          pixel_scale=pixel_scale, zero_grad_1=zero_grad_1, width_divisor=WIDTH),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="coteach", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"Co-teaching (two 9-conv CNNs with BatchNorm and LeakyReLU, channels /{WIDTH}; each ranks its batch by its own "
      f"cross-entropy and the other trains on the small-loss share, forget rate ramped 0 -> {NOISE_RATE} over "
      f"{NUM_GRADUAL} epochs; two Adam lr {learning_rate:g}, the lr and beta1 decay from epoch {EPOCH_DECAY_START}; "
      f"batch {batch_size}, {N_EPOCH} epochs of 1437 8x8 digits with {NOISE_TYPE} label noise {NOISE_RATE})")
CASES: list[dict] = (
    [_case(f"coteach_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"coteach_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k},
             f"{_P}: both Adam lr x{k} ({learning_rate * k:g}, the schedule scaled with it)")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("coteach_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3},
             f"{_P}: both Adam lr /1000 ({learning_rate * 1e-3:g})")]
    + [_case(f"coteach_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every Conv2d and Linear weight of both networks instead of PyTorch's "
             "default (kaiming_uniform_, a=sqrt(5)); biases and BatchNorm kept")
       for s in (1, 2)]
    + [_case("coteach_pixels_x100_s1", "unscaled_inputs", 1, {"pixel_scale": 100.0},
             f"{_P}: the images' pixels x100 (0..100 instead of ToTensor's [0, 1]), train and test")]
    + [_case(f"coteach_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad_1": False},
             f"{_P}: optimizer1.zero_grad() left out: model 1's gradients accumulate (model 2's loop unchanged)")
       for s in (1, 2)]
    + [_case("coteach_forget0_s1", "healthy", 1, {"forget_rate": 0.0},
             f"{_P}: --forget_rate 0 (each network trains on the whole noisy batch: plain training of two networks, "
             "no co-teaching)")]
    + [_case("coteach_batch64_s1", "healthy", 1, {"batch": 64}, f"{_P}: batch 64 instead of 128")]
    + [_case("coteach_num_gradual2_s1", "healthy", 1, {"num_gradual": 2},
             f"{_P}: num_gradual 2 instead of {NUM_GRADUAL} (the forget rate reaches {NOISE_RATE} in 2 epochs)")]
)

if __name__ == "__main__":
    import ast
    import sys

    kw = {k: ast.literal_eval(v) for k, v in (a.split("=") for a in sys.argv[1:])}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
