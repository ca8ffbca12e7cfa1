"""Deep SVDD (lukasruff/Deep-SVDD-PyTorch): one-class deep anomaly detection with the MNIST LeNet, on digits.

Adapted from https://github.com/lukasruff/Deep-SVDD-PyTorch (commit 1901612d595e23675fb75c4ebb563dd0ffebc21e;
src/networks/mnist_LeNet.py, src/optim/deepSVDD_trainer.py, src/optim/ae_trainer.py, src/deepSVDD.py's ``pretrain``
and ``init_network_weights_from_pretraining``, src/datasets/mnist.py and preprocessing.py; MIT License, Copyright (c)
2018 Lukas Ruff, see LICENSE-deepsvdd).  Kept as upstream: ``MNIST_LeNet`` and ``MNIST_LeNet_Autoencoder`` (bias-free
convs, deconvs and linear, BatchNorm2d(eps=1e-4, affine=False), leaky_relu, max-pooling, rep_dim 32; PyTorch's
default inits), the autoencoder pretraining (``AETrainer.train``: Adam, MultiStepLR gamma 0.1, the summed squared
reconstruction error averaged over the batch) and the copy of its encoder weights into the Deep SVDD network,
``init_center_c`` (mean of an initial forward pass in eval mode, coordinates within eps = 0.1 of zero set to +-eps),
the one-class objective ``loss = torch.mean(torch.sum((outputs - c) ** 2, dim=1))``, the Deep SVDD Adam and
MultiStepLR, ``scheduler.step()`` at the start of each epoch (PyTorch 0.4.1's order; on today's PyTorch this moves the
milestone one epoch earlier; the warning is silenced), shuffled training batches, ``global_contrast_normalization``
(copied; scale 'l1') followed by min-max scaling (``transforms.Normalize([min], [max - min])``), and the test AUC of the
distance ``sum((outputs - c) ** 2)`` by ``roc_auc_score``.  Hyper-parameters are the README's MNIST example: ``--lr
0.0001 --n_epochs 150 --lr_milestone 50 --batch_size 200 --weight_decay 0.5e-6 --pretrain True --ae_lr 0.0001
--ae_n_epochs 150 --ae_lr_milestone 50 --ae_batch_size 200 --ae_weight_decay 0.5e-3`` with its ``--normal_class 3``.

Changed to run offline on one CPU thread in ~11-22 s (about 14 s of CPU; the pretraining is most of it): MNIST cannot
be downloaded, so scikit-learn's ``load_digits`` (1797 8x8 images, 0..16) is scaled to [0, 1] (as ToTensor scales
MNIST's bytes) and upsampled bilinearly to 28x28, the input size the LeNet's 4*7*7 fc1 expects; a fixed stratified
2/3 - 1/3 train/test split (``RandomState(0)``, the same for every seed, as MNIST's split is fixed); the training set
is the normal class's 122 training images (one batch of 200 an epoch, so 150 Deep SVDD steps), the test set the whole
test split (599 images, 61 normal); GCN's min and max are computed from the normal class's training images (upstream
ships them precomputed from MNIST's); the normal class is 3 (the README's example) and not main.py's default 0: on
digits, class 0 gives a test AUC of 1.0000 (0.9999 before any Deep SVDD step), which leaves the metric no room;
``torch.manual_seed(seed)`` and a seeded shuffle (upstream: --seed -1, unseeded); the DataLoaders written out as
slices of one tensor (``_loader``); no BaseNet/logger, no AETrainer.test beyond its AUC (in ``extra``), no plots,
results json or model.tar; ``ConvTranspose2d(int(rep_dim / 16), ...)`` instead of the literal 2 for the rep_dim 64
variant.  Knobs (one per variant): ``lr_mult`` (the Deep SVDD --lr only; the pretraining's ae_lr kept);
``raw_pixels`` (no GCN and no min-max: 0..255 pixels); ``init_std`` (N(0, init_std) on every conv, deconv and linear
weight of both networks, so the autoencoder is pretrained from it); ``zero_grad=False`` (left out of the Deep SVDD
loop); ``c_zero`` (c = 0 instead of init_center_c's); ``bias`` (bias=True in conv1, conv2 and fc1 of both networks);
``rep_dim``; ``batch_size`` (the Deep SVDD --batch_size).

The watch, as a user would: ``monitor = gradmedic.watch(net, optimizer, every=10)`` right after the Deep SVDD
trainer's Adam is built (the pretraining's own Adam is not watched), ``monitor.step(loss)`` right after
``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the epochs.  Metric "test_auc_error"
(lower is better, a loss-like number for run.py's rules): 1 - the test AUC of the final network's anomaly score;
``initial`` 0.5, an uninformative score (the AUC at the start of Deep SVDD training, after pretraining and with the
centre set, is in ``extra`` as ``untrained_auc``; the autoencoder's reconstruction-error AUC as ``ae_test_auc``).  A
good outcome is an error of at most 0.35 (AUC >= 0.65); "broken" a control error below half the variant's;
"healthy" at most 1.1x the control's error with the largest training loss at most 2x the control's.

``CASES`` (program "deepsvdd"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Deep SVDD lr x10, x100, x1000 (seeds 1 and 2), /1000 (seeds 1 and 2); raw 0..255 pixels; N(0, 1) weights;
``optimizer.zero_grad()`` left out; c set to 0 (seeds 1 and 2; cause wrong_loss: the objective's target is one zero
weights reach); bias terms added (cause "healthy": no cause names the hypersphere collapse the paper warns of); and
two changes expected harmless (cause "healthy"): rep_dim 64 and batch_size 64 (batch x2 would change nothing, the
122 images already fit in one batch of 200).
Recorded (cases-public119; 11-22 s a run, 281 s for all 17, on a shared, loaded machine; "loss" the Deep SVDD
training loss, first-5 and last-20 means): healthy AUC 0.9636, 0.9905, 0.9617 on seeds 1-3 (error 0.0364, 0.0095,
0.0383; after pretraining 0.926, 0.960, 0.933; loss 1.21/1.54/1.35 -> 0.29/0.42/0.35, largest 1.31, 1.62, 1.44;
autoencoder AUC 0.883, 0.947, 0.958): healthy; lr x10 (1e-3): 0.9721 (loss -> 0.055): healthy; lr x100 (0.01): 0.9802
(largest loss 13.4 against the control's 1.31): ambiguous; lr x1000 (0.1): first-5 mean 506, largest loss 1180,
0.9595 (seed 1, error 1.11x the control's): ambiguous, and 0.9410 (seed 2, first-5 476, largest 1570): broken;
lr /1000 (1e-7): no progress (loss 1.30 and 1.62 flat), the pretrained net's AUC 0.9258 (seed 1) and 0.9602 (seed
2): broken; raw pixels: 0.9639 (BatchNorm after the bias-free conv1 absorbs the scale): healthy; N(0, 1) weights:
loss 887 -> 816 (fc1's weights are not normalized by a BatchNorm), 0.9601: ambiguous (largest loss 890); zero_grad
left out: 0.9604 (error 1.088x the control's): healthy; c = 0: the loss starts at 12 and 17 (AUC at the start 0.42
and 0.39), ends at 1.0 and 1.6, AUC 0.9252 (seed 1) and 0.9595 (seed 2): broken; bias terms: 0.9562 (loss 0.72 ->
0.20; no collapse in 150 steps at lr 1e-4): healthy; rep_dim 64: 0.9886: healthy; batch_size 64: 0.9658: healthy.
Labels: 17 cases, 9 healthy (3 programs, lr x10, raw pixels, zero_grad left out, bias terms, rep_dim 64, batch 64),
5 broken (lr x1000 on seed 2, lr /1000 twice, c = 0 twice), 3 ambiguous (lr x100, lr x1000 on seed 1, N(0, 1)).
Every run's losses were finite.  The margins are thin: the healthy error varies 4x across seeds (0.0095-0.038), and
lr /1000 and c = 0 on seed 1 are broken by 0.001-0.002 of error (0.0742 and 0.0748 against twice the control's
0.0729).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from sklearn.metrics import roc_auc_score

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(net, optimizer, every=10) right after the Deep SVDD trainer's optimizer = optim.Adam(net.parameters(), "
              "lr, weight_decay) (after the autoencoder pretraining, whose own Adam is not watched); monitor.step(loss) "
              "right after loss.backward() (loss = mean over the batch of sum((outputs - c) ** 2)), before "
              "optimizer.step()")

# the README's MNIST example: --objective one-class --lr 0.0001 --n_epochs 150 --lr_milestone 50 --batch_size 200
# --weight_decay 0.5e-6 --pretrain True --ae_lr 0.0001 --ae_n_epochs 150 --ae_lr_milestone 50 --ae_batch_size 200
# --ae_weight_decay 0.5e-3 (--normal_class 0 here, main.py's default)
LR, N_EPOCHS, LR_MILESTONES, BATCH_SIZE, WEIGHT_DECAY = 1e-4, 150, (50,), 200, 0.5e-6
AE_LR, AE_N_EPOCHS, AE_LR_MILESTONES, AE_BATCH_SIZE, AE_WEIGHT_DECAY = 1e-4, 150, (50,), 200, 0.5e-3
NORMAL_CLASS = 3


##########################
# src/datasets/preprocessing.py
##########################

def global_contrast_normalization(x: torch.tensor, scale='l2'):
    """
    Apply global contrast normalization to tensor, i.e. subtract mean across features (pixels) and normalize by scale,
    which is either the standard deviation, L1- or L2-norm across features (pixels).
    Note this is a *per sample* normalization globally across features (and not across the dataset).
    """

    assert scale in ('l1', 'l2')

    n_features = int(np.prod(x.shape))

    mean = torch.mean(x)  # mean over all features (pixels) per sample
    x -= mean

    if scale == 'l1':
        x_scale = torch.mean(torch.abs(x))

    if scale == 'l2':
        x_scale = torch.sqrt(torch.sum(x ** 2)) / n_features

    x /= x_scale

    return x


##########################
# the data: src/datasets/mnist.py's MNIST_Dataset on scikit-learn's digits
##########################

def digits_dataset(normal_class=NORMAL_CLASS, raw_pixels=False):
    """(train_x, test_x, test_labels): the normal class of the training split, and the whole test split with labels
    0 (normal) / 1 (outlier), as MNIST_Dataset builds them; images 1x28x28."""
    from sklearn.datasets import load_digits

    d = load_digits()
    # upstream: torchvision's MNIST (60000 train / 10000 test images of 28x28, uint8 0..255); here the 1797 8x8 digits
    # (0..16), scaled to [0, 1] as ToTensor scales MNIST's bytes, and upsampled bilinearly to 28x28 for the LeNet
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    x = F.interpolate(x, size=(28, 28), mode='bilinear', align_corners=False).clamp_(0.0, 1.0)
    y = d.target
    # upstream: MNIST's fixed train/test split; here a fixed stratified 2/3 - 1/3 split (the same for every seed)
    rs = np.random.RandomState(0)
    train_idx, test_idx = [], []
    for k in range(10):
        idx = rs.permutation(np.flatnonzero(y == k))
        n_train = int(round(len(idx) * 2 / 3))
        train_idx += idx[:n_train].tolist()
        test_idx += idx[n_train:].tolist()
    train_idx, test_idx = np.array(sorted(train_idx)), np.array(sorted(test_idx))

    if raw_pixels:  # the unscaled_inputs variant: no GCN, no min-max scaling; the raw 0..255 pixel values
        x = x * 255.0
    else:
        # MNIST preprocessing: GCN (with L1 norm) and min-max feature scaling to [0,1]
        x = torch.stack([global_contrast_normalization(xi.clone(), scale='l1') for xi in x])
        # upstream: "Pre-computed min and max values (after applying GCN) from train data per class" (a table for
        # MNIST); here computed the same way, from the normal class's training images
        normal_train = x[train_idx[y[train_idx] == normal_class]]
        mn, mx = float(normal_train.min()), float(normal_train.max())
        x = (x - mn) / (mx - mn)  # transforms.Normalize([min], [max - min])

    outlier_classes = [k for k in range(10) if k != normal_class]
    # Subset train_set to normal class
    train_x = x[train_idx[y[train_idx] == normal_class]]
    test_x = x[test_idx]
    test_labels = torch.tensor(np.isin(y[test_idx], outlier_classes).astype(np.int64))  # int(x in outlier_classes)
    return train_x, test_x, test_labels


##########################
# src/networks/mnist_LeNet.py
##########################

class MNIST_LeNet(nn.Module):  # upstream: BaseNet (nn.Module with a logger and rep_dim)

    def __init__(self, rep_dim=32, bias=False):
        super().__init__()

        self.rep_dim = rep_dim  # upstream: 32
        self.pool = nn.MaxPool2d(2, 2)

        # the bias variant: bias=True in every layer (upstream: bias=False, as the paper requires)
        self.conv1 = nn.Conv2d(1, 8, 5, bias=bias, padding=2)
        self.bn1 = nn.BatchNorm2d(8, eps=1e-04, affine=False)
        self.conv2 = nn.Conv2d(8, 4, 5, bias=bias, padding=2)
        self.bn2 = nn.BatchNorm2d(4, eps=1e-04, affine=False)
        self.fc1 = nn.Linear(4 * 7 * 7, self.rep_dim, bias=bias)

    def forward(self, x):
        x = self.conv1(x)
        x = self.pool(F.leaky_relu(self.bn1(x)))
        x = self.conv2(x)
        x = self.pool(F.leaky_relu(self.bn2(x)))
        x = x.view(x.size(0), -1)
        x = self.fc1(x)
        return x


class MNIST_LeNet_Autoencoder(nn.Module):  # upstream: BaseNet

    def __init__(self, rep_dim=32, bias=False):
        super().__init__()

        self.rep_dim = rep_dim  # upstream: 32
        self.pool = nn.MaxPool2d(2, 2)

        # Encoder (must match the Deep SVDD network above)
        self.conv1 = nn.Conv2d(1, 8, 5, bias=bias, padding=2)
        self.bn1 = nn.BatchNorm2d(8, eps=1e-04, affine=False)
        self.conv2 = nn.Conv2d(8, 4, 5, bias=bias, padding=2)
        self.bn2 = nn.BatchNorm2d(4, eps=1e-04, affine=False)
        self.fc1 = nn.Linear(4 * 7 * 7, self.rep_dim, bias=bias)

        # Decoder
        # upstream: nn.ConvTranspose2d(2, ...), 2 = rep_dim / 16 for rep_dim 32 (written so for the rep_dim 64 variant)
        self.deconv1 = nn.ConvTranspose2d(int(self.rep_dim / 16), 4, 5, bias=False, padding=2)
        self.bn3 = nn.BatchNorm2d(4, eps=1e-04, affine=False)
        self.deconv2 = nn.ConvTranspose2d(4, 8, 5, bias=False, padding=3)
        self.bn4 = nn.BatchNorm2d(8, eps=1e-04, affine=False)
        self.deconv3 = nn.ConvTranspose2d(8, 1, 5, bias=False, padding=2)

    def forward(self, x):
        x = self.conv1(x)
        x = self.pool(F.leaky_relu(self.bn1(x)))
        x = self.conv2(x)
        x = self.pool(F.leaky_relu(self.bn2(x)))
        x = x.view(x.size(0), -1)
        x = self.fc1(x)
        x = x.view(x.size(0), int(self.rep_dim / 16), 4, 4)
        x = F.interpolate(F.leaky_relu(x), scale_factor=2)
        x = self.deconv1(x)
        x = F.interpolate(F.leaky_relu(self.bn3(x)), scale_factor=2)
        x = self.deconv2(x)
        x = F.interpolate(F.leaky_relu(self.bn4(x)), scale_factor=2)
        x = self.deconv3(x)
        x = torch.sigmoid(x)

        return x


def _init_std(net, std):
    """The init_large variant: N(0, std) on every conv, deconv and linear weight (a user's init loop in the
    networks' constructors) instead of PyTorch's default kaiming-uniform."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)


def _loader(x, batch_size, shuffle, gen):
    """DataLoader(TensorDataset(x), batch_size, shuffle) written out (upstream: DataLoader over the dataset, which
    also yields labels and indices)."""
    order = torch.randperm(len(x), generator=gen) if shuffle else torch.arange(len(x))
    return [x[order[i:i + batch_size]] for i in range(0, len(x), batch_size)]


##########################
# src/optim/ae_trainer.py: AETrainer.train
##########################

def ae_train(train_x, ae_net, gen, lr=AE_LR, n_epochs=AE_N_EPOCHS, lr_milestones=AE_LR_MILESTONES,
             batch_size=AE_BATCH_SIZE, weight_decay=AE_WEIGHT_DECAY):
    # Set optimizer (Adam optimizer for now)
    optimizer = optim.Adam(ae_net.parameters(), lr=lr, weight_decay=weight_decay, amsgrad=False)

    # Set learning rate scheduler
    scheduler = optim.lr_scheduler.MultiStepLR(optimizer, milestones=lr_milestones, gamma=0.1)

    # Training
    ae_net.train()
    losses = []
    for _epoch in range(n_epochs):

        scheduler.step()  # upstream (PyTorch 0.4.1's order: at the start of the epoch)

        for inputs in _loader(train_x, batch_size, True, gen):

            # Zero the network parameter gradients
            optimizer.zero_grad()

            # Update network parameters via backpropagation: forward + backward + optimize
            outputs = ae_net(inputs)
            scores = torch.sum((outputs - inputs) ** 2, dim=tuple(range(1, outputs.dim())))
            loss = torch.mean(scores)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())

    return ae_net, losses


##########################
# src/optim/deepSVDD_trainer.py: DeepSVDDTrainer (objective 'one-class')
##########################

def init_center_c(train_x, net, batch_size, gen, eps=0.1):
    """Initialize hypersphere center c as the mean from an initial forward pass on the data."""
    n_samples = 0
    c = torch.zeros(net.rep_dim)

    net.eval()
    with torch.no_grad():
        for inputs in _loader(train_x, batch_size, True, gen):
            # get the inputs of the batch
            outputs = net(inputs)
            n_samples += outputs.shape[0]
            c += torch.sum(outputs, dim=0)

    c /= n_samples

    # If c_i is too close to 0, set to +-eps. Reason: a zero unit can be trivially matched with zero weights.
    c[(abs(c) < eps) & (c < 0)] = -eps
    c[(abs(c) < eps) & (c > 0)] = eps

    return c


def test_auc(test_x, test_labels, net, c, batch_size):
    net.eval()
    scores = []
    with torch.no_grad():
        for inputs in _loader(test_x, batch_size, False, None):
            outputs = net(inputs)
            dist = torch.sum((outputs - c) ** 2, dim=1)
            scores.append(dist)
    scores = torch.cat(scores).numpy()
    if not np.isfinite(scores).all():
        return float("nan")
    return float(roc_auc_score(test_labels.numpy(), scores))


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init_std: float | None = None,
          zero_grad: bool = True, bias: bool = False, c_zero: bool = False, rep_dim: int = 32,
          batch_size: int = BATCH_SIZE, pretrain: bool = True, n_epochs: int = N_EPOCHS,
          ae_n_epochs: int = AE_N_EPOCHS, normal_class: int = NORMAL_CLASS, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message=".*lr_scheduler.step.*")  # upstream's PyTorch 0.4.1 order
    t0 = time.time()
    # Set seed (upstream: --seed -1, no seed, by default)
    np.random.seed(seed)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)

    train_x, test_x, test_labels = digits_dataset(normal_class, raw_pixels=raw_pixels)

    # deep_SVDD.set_network('mnist_LeNet')
    net = MNIST_LeNet(rep_dim=rep_dim, bias=bias)
    if init_std is not None:
        _init_std(net, init_std)

    ae_losses, ae_auc = [], float("nan")
    if pretrain:
        # DeepSVDD.pretrain: build_autoencoder, AETrainer.train, init_network_weights_from_pretraining
        ae_net = MNIST_LeNet_Autoencoder(rep_dim=rep_dim, bias=bias)
        if init_std is not None:
            _init_std(ae_net, init_std)
        ae_net, ae_losses = ae_train(train_x, ae_net, gen, n_epochs=ae_n_epochs)
        ae_net.eval()
        with torch.no_grad():  # AETrainer.test's AUC of the reconstruction error (for the record)
            rec = torch.sum((ae_net(test_x) - test_x) ** 2, dim=(1, 2, 3)).numpy()
            ae_auc = float(roc_auc_score(test_labels.numpy(), rec)) if np.isfinite(rec).all() else float("nan")
        net_dict = net.state_dict()
        ae_net_dict = ae_net.state_dict()
        # Filter out decoder network keys
        ae_net_dict = {k: v for k, v in ae_net_dict.items() if k in net_dict}
        # Overwrite values in the existing state_dict
        net_dict.update(ae_net_dict)
        # Load the new state_dict
        net.load_state_dict(net_dict)

    # DeepSVDDTrainer.train
    lr = LR * lr_mult
    # Set optimizer (Adam optimizer for now)
    optimizer = optim.Adam(net.parameters(), lr=lr, weight_decay=WEIGHT_DECAY, amsgrad=False)
    monitor = gradmedic.watch(net, optimizer, every=every)  # gradmedic

    # Set learning rate scheduler
    scheduler = optim.lr_scheduler.MultiStepLR(optimizer, milestones=LR_MILESTONES, gamma=0.1)

    # Initialize hypersphere center c (if c not loaded)
    c = init_center_c(train_x, net, batch_size, gen)
    if c_zero:  # the c_zero variant: the centre set to the origin instead of the initial mean
        c = torch.zeros(net.rep_dim)
    untrained_auc = test_auc(test_x, test_labels, net, c, batch_size)

    # Training
    net.train()
    losses = []
    for epoch in range(n_epochs):

        scheduler.step()  # upstream (PyTorch 0.4.1's order: at the start of the epoch)

        loss_epoch = 0.0
        n_batches = 0
        for inputs in _loader(train_x, batch_size, True, gen):

            # Zero the network parameter gradients
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()

            # Update network parameters via backpropagation: forward + backward + optimize
            outputs = net(inputs)
            dist = torch.sum((outputs - c) ** 2, dim=1)
            loss = torch.mean(dist)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()

            loss_epoch += loss.item()
            n_batches += 1
            losses.append(loss.item())

        if verbose and (epoch % 10 == 0 or epoch == n_epochs - 1):
            print(f"  Epoch {epoch + 1}/{n_epochs}\t Loss: {loss_epoch / n_batches:.8f}", flush=True)
    monitor.close()

    auc = test_auc(test_x, test_labels, net, c, batch_size)
    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "test_auc_error", "value": 1.0 - auc,
            "initial": 0.5, "initial_what": "chance: 1 - an AUC of 0.5 (an uninformative anomaly score)", "chance": 0.5,
            "extra": dict(test_auc=auc, untrained_auc=untrained_auc, ae_test_auc=ae_auc,
                          ae_loss_first=float(np.mean(ae_losses[:5])) if ae_losses else float("nan"),
                          ae_loss_last=float(np.mean(ae_losses[-20:])) if ae_losses else float("nan"),
                          first_loss=float(np.mean(la[:5])), train_loss=float(np.mean(la[-20:])),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), steps=len(la), epochs=n_epochs,
                          lr=lr, lr_mult=lr_mult, raw_pixels=raw_pixels,
                          init_std=-1.0 if init_std is None else init_std, zero_grad=zero_grad, bias=bias,
                          c_zero=c_zero, rep_dim=rep_dim, batch_size=batch_size, pretrain=pretrain,
                          c_norm=float(c.norm()), n_train=len(train_x), n_test=len(test_x),
                          n_test_normal=int((test_labels == 0).sum())),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="deepsvdd", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"Deep SVDD one-class (MNIST_LeNet rep_dim 32, bias-free, BatchNorm affine=False; autoencoder pretraining Adam "
      f"lr {AE_LR:g}, wd {AE_WEIGHT_DECAY:g}, {AE_N_EPOCHS} epochs, milestone 50; Deep SVDD Adam lr {LR:g}, wd "
      f"{WEIGHT_DECAY:g}, {N_EPOCHS} epochs, milestone 50, batch {BATCH_SIZE}; digits upsampled to 28x28, normal class "
      f"{NORMAL_CLASS})")
CASES: list[dict] = (
    [_case(f"deepsvdd_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"deepsvdd_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Deep SVDD lr x{k} ({LR * k:g}; "
             f"the pretraining's ae_lr kept)") for k, ss in ((10, (1,)), (100, (1,)), (1000, (1, 2))) for s in ss]
    + [_case(f"deepsvdd_lr_div1000_s{s}", "lr_low", s, {"lr_mult": 1e-3},
             f"{_P}: Deep SVDD lr /1000 ({LR * 1e-3:g}; the pretraining's ae_lr kept)") for s in (1, 2)]
    + [_case("deepsvdd_raw_pixels_s1", "unscaled_inputs", 1, {"raw_pixels": True},
             f"{_P}: no global contrast normalization and no min-max scaling: raw 0..255 pixel values")]
    + [_case("deepsvdd_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every conv, deconv and linear weight of both networks (the "
             f"autoencoder is pretrained from it) instead of PyTorch's default kaiming-uniform")]
    + [_case("deepsvdd_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out of the Deep SVDD loop (the pretraining keeps it)")]
    + [_case(f"deepsvdd_c_zero_s{s}", "wrong_loss", s, {"c_zero": True},
             f"{_P}: the centre c set to the origin instead of init_center_c's mean of the initial outputs (the "
             f"objective's target is then reached by zero weights: the collapse route init_center_c's eps guards "
             f"against)") for s in (1, 2)]
    + [_case("deepsvdd_bias_s1", "healthy", 1, {"bias": True},
             f"{_P}: bias=True in conv1, conv2 and fc1 of both networks (the bias terms the paper forbids: they "
             f"allow the hypersphere collapse; no cause names it)")]
    + [_case("deepsvdd_rep_dim64_s1", "healthy", 1, {"rep_dim": 64},
             f"{_P}: rep_dim 64 instead of 32 (expected harmless)")]
    + [_case("deepsvdd_batch64_s1", "healthy", 1, {"batch_size": 64},
             f"{_P}: Deep SVDD batch_size 64 instead of 200 (two batches an epoch instead of one; expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
