"""adambielski/siamese-triplet's online triplet learning (EmbeddingNet, OnlineTripletLoss with the
RandomNegativeTripletSelector, BalancedBatchSampler, trainer.fit), on digits, watched by gradmedic.

Adapted from https://github.com/adambielski/siamese-triplet (commit 0c719f9e8f59fa386e8c59d10b2ddde9fac46276, the
newest: networks.py, losses.py, utils.py, datasets.py, metrics.py, trainer.py and the "Online triplet selection"
cells of Experiments_MNIST.ipynb; BSD 3-Clause License, Copyright (c) 2019, Adam Bielski, see LICENSE-triplet).

Kept as in the original: ``EmbeddingNet`` (Conv2d(1, 32, 5), PReLU, MaxPool 2, Conv2d(32, 64, 5), PReLU, MaxPool 2,
Linear(64*4*4, 256), PReLU, Linear(256, 256), PReLU, Linear(256, 2): a 2-D embedding) with PyTorch's default init;
``pdist``, ``FunctionNegativeTripletSelector`` with ``random_hard_negative`` (``RandomNegativeTripletSelector(margin)``,
the notebook's choice: for every anchor-positive pair of a class in the batch, a random negative whose triplet loss is
positive) and ``hardest_negative`` (one variant); ``OnlineTripletLoss(margin=1.)`` (squared distances, ``relu(ap - an
+ margin)``, mean over the triplets, returned with their count); ``BalancedBatchSampler`` (``n_classes`` classes,
``n_samples`` images each, ``np.random``); ``AverageNonzeroTripletsMetric``; ``fit`` / ``train_epoch`` / ``test_epoch``
(``scheduler.step()`` at the start of each epoch as written for PyTorch 0.4, ``optimizer.zero_grad()``, forward,
``loss_fn(*outputs, target)``, ``loss.backward()``, ``optimizer.step()``; the validation loss with the same loss on the
balanced test batches); ``optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)``,
``lr_scheduler.StepLR(optimizer, 8, gamma=0.1, last_epoch=-1)``, margin 1.

Changed to run offline on one CPU thread: MNIST (torchvision, not importable here) is scikit-learn's ``load_digits``
upsampled to 28x28 (``digits28`` from mnist.py: 1437 training and 360 held-out images, normalized by the training
set's mean and std, as the notebook's ``Normalize((0.1307,), (0.3081,))`` is MNIST's); the raw 0..255 pixels are a
variant.  ``BalancedBatchSampler(labels, n_classes=10, n_samples=10)`` (a batch of 100) instead of ``n_samples=25``
(250): 1437 images make 14 batches of 100 (5 of 250) an epoch, where MNIST makes 240; and 10 epochs instead of 20 (140
steps, ~20 s on one quiet CPU thread, 26-36 s on the shared machine; StepLR's step 8 kept, so epochs 1-7 run at 1e-3
and 8-10 at 1e-4).  ``num_workers``/``pin_memory`` and the CUDA branches dropped; the progress prints only under
``verbose``.  ``torch.manual_seed(seed)`` and ``np.random.seed(seed)`` (the sampler and the selector draw from
``np.random``; upstream seeds nothing).  The ``Metric`` base class and AverageNonzeroTripletsMetric are kept (the latter passed to
``fit`` as in the notebook).  Added for the metric: the notebook only plots the embeddings (``extract_embeddings`` of
the train and test loaders, batch 256); here the same extraction gives the 2-D embeddings of the 1437 training and 360
held-out images, and the metric is the held-out accuracy of a 5-nearest-neighbour classifier (scikit-learn's
``KNeighborsClassifier``) fitted on the training embeddings, before the first step (``initial``) and after the last
epoch: how well the embedding puts same-class digits together, which is what the plots show.  The validation triplet
loss of ``fit``'s ``test_epoch`` (3 balanced batches of the 360 images) is kept in ``extra``.

The watch, as a user would add it to ``fit``: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after
the Adam is built (the notebook's cell), passed into ``fit``; ``monitor.step(loss)`` in ``train_epoch`` right after
``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after ``fit``.

``CASES`` (name prefix ``triplet``): the program on seeds 1-3, and one change each against the same seed's healthy
run: Adam lr x2, x10 (seeds 1 and 2), x100 (seeds 1 and 2), x1000, /1000 (seeds 1 and 2); the raw 0..255 pixels
(seeds 1 and 2); ``normal_(0, 1)`` on every Conv2d and Linear weight (seeds 1 and 2; cause init_large);
``kaiming_normal_`` on them (a sane init, ~2.4x the default's scale; cause init_large); ``normal_(0, 1e-3)`` on them
(init_small); ``zeros_`` on every Linear weight and bias of ``fc`` (symmetric_init: every image gets the same
embedding); ``optimizer.zero_grad()`` left out (seeds 1 and 2); the ``HardestNegativeTripletSelector(margin)``
instead of the random hard negative (cause wrong_loss: the selection people report collapsing the embedding).
Labels come from run.py's outcome rules only.
Recorded (cases-public31; 21 cases in ~10.5 min, 26-36 s a run on a shared 2-core machine): healthy 5-NN held-out
accuracy 0.969, 0.981, 0.986 on seeds 1-3 (from 0.26-0.39 untrained).  The training loss is the mean over the mined
triplets with a positive loss, so it stays near the margin (0.99 -> 0.72, 0.93 -> 0.86, 1.04 -> 0.69) while the
number of such triplets falls (436 -> 38 a batch on seed 1); the validation triplet loss wanders between 0.8 and
1.6.  lr x2 0.975 (healthy); lr x10 0.917 and 0.969 (ambiguous: losses up to 45 and 5.8 on the way, over 2x the
control's largest); x100 0.361 and 0.436, x1000 0.528 (losses up to 1.8e9, 5e12, 1.4e23, all finite; the 2-D
embeddings blown up, a 5-NN on them still partly right), /1000 0.347 and 0.489 (loss 0.999 throughout) (all
broken); raw 0..255 pixels 0.931 and 0.972 (ambiguous: first losses 10.7 and 4.7, largest 38 and 13);
``normal_(0, 1)`` 0.806 and 0.819 (broken; losses ~1e11 falling to ~5e9); ``kaiming_normal_`` 0.967 (ambiguous:
as good as its control, largest loss 7.3 against 1.9); ``normal_(0, 1e-3)`` 0.083 and zeros in fc 0.083 (broken:
every image gets the same embedding, the loss exactly the margin, 1.0, throughout); no ``zero_grad`` 0.503 and
0.456 (broken; the loss climbs to 13 and 20); the hardest negative 0.317 (broken: the loss pinned at 1.0 from the
first epoch, the embedding collapsed).
"""

# upstream's code is kept as written (super(Class, self), the mutable default metrics=[], unused loop counters,
# not type(x) in (...), str.format, zip without strict)
# ruff: noqa: UP008, UP032, B006, B007, B905, E713

from __future__ import annotations

import time
from itertools import combinations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from mnist import digits28
from torch.optim import lr_scheduler
from torch.utils.data.sampler import BatchSampler

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(model, optimizer, every=10) right after the Adam is built; in trainer.fit's train_epoch, "
              "monitor.step(loss) right after loss.backward() (OnlineTripletLoss over the batch's mined triplets), "
              "before optimizer.step()")


# networks.py -------------------------------------------------------------------------------------------------------

class EmbeddingNet(nn.Module):
    def __init__(self):
        super(EmbeddingNet, self).__init__()
        self.convnet = nn.Sequential(nn.Conv2d(1, 32, 5), nn.PReLU(),
                                     nn.MaxPool2d(2, stride=2),
                                     nn.Conv2d(32, 64, 5), nn.PReLU(),
                                     nn.MaxPool2d(2, stride=2))

        self.fc = nn.Sequential(nn.Linear(64 * 4 * 4, 256),
                                nn.PReLU(),
                                nn.Linear(256, 256),
                                nn.PReLU(),
                                nn.Linear(256, 2)
                                )

    def forward(self, x):
        output = self.convnet(x)
        output = output.view(output.size()[0], -1)
        output = self.fc(output)
        return output

    def get_embedding(self, x):
        return self.forward(x)


# losses.py ---------------------------------------------------------------------------------------------------------

class OnlineTripletLoss(nn.Module):
    """
    Online Triplets loss
    Takes a batch of embeddings and corresponding labels.
    Triplets are generated using triplet_selector object that take embeddings and targets and return indices of
    triplets
    """

    def __init__(self, margin, triplet_selector):
        super(OnlineTripletLoss, self).__init__()
        self.margin = margin
        self.triplet_selector = triplet_selector

    def forward(self, embeddings, target):

        triplets = self.triplet_selector.get_triplets(embeddings, target)

        if embeddings.is_cuda:
            triplets = triplets.cuda()

        ap_distances = (embeddings[triplets[:, 0]] - embeddings[triplets[:, 1]]).pow(2).sum(1)  # .pow(.5)
        an_distances = (embeddings[triplets[:, 0]] - embeddings[triplets[:, 2]]).pow(2).sum(1)  # .pow(.5)
        losses = F.relu(ap_distances - an_distances + self.margin)

        return losses.mean(), len(triplets)


# utils.py ----------------------------------------------------------------------------------------------------------

def pdist(vectors):
    distance_matrix = -2 * vectors.mm(torch.t(vectors)) + vectors.pow(2).sum(dim=1).view(1, -1) + vectors.pow(2).sum(
        dim=1).view(-1, 1)
    return distance_matrix


class TripletSelector:
    """
    Implementation should return indices of anchors, positive and negative samples
    return np array of shape [N_triplets x 3]
    """

    def __init__(self):
        pass

    def get_triplets(self, embeddings, labels):
        raise NotImplementedError


def hardest_negative(loss_values):
    hard_negative = np.argmax(loss_values)
    return hard_negative if loss_values[hard_negative] > 0 else None


def random_hard_negative(loss_values):
    hard_negatives = np.where(loss_values > 0)[0]
    return np.random.choice(hard_negatives) if len(hard_negatives) > 0 else None


class FunctionNegativeTripletSelector(TripletSelector):
    """
    For each positive pair, takes the hardest negative sample (with the greatest triplet loss value) to create a triplet
    Margin should match the margin used in triplet loss.
    negative_selection_fn should take array of loss_values for a given anchor-positive pair and all negative samples
    and return a negative index for that pair
    """

    def __init__(self, margin, negative_selection_fn, cpu=True):
        super(FunctionNegativeTripletSelector, self).__init__()
        self.cpu = cpu
        self.margin = margin
        self.negative_selection_fn = negative_selection_fn

    def get_triplets(self, embeddings, labels):
        if self.cpu:
            embeddings = embeddings.cpu()
        distance_matrix = pdist(embeddings)
        distance_matrix = distance_matrix.cpu()

        labels = labels.cpu().data.numpy()
        triplets = []

        for label in set(labels):
            label_mask = (labels == label)
            label_indices = np.where(label_mask)[0]
            if len(label_indices) < 2:
                continue
            negative_indices = np.where(np.logical_not(label_mask))[0]
            anchor_positives = list(combinations(label_indices, 2))  # All anchor-positive pairs
            anchor_positives = np.array(anchor_positives)

            ap_distances = distance_matrix[anchor_positives[:, 0], anchor_positives[:, 1]]
            for anchor_positive, ap_distance in zip(anchor_positives, ap_distances):
                loss_values = ap_distance - distance_matrix[torch.LongTensor(np.array([anchor_positive[0]])), torch.LongTensor(negative_indices)] + self.margin  # noqa: E501
                loss_values = loss_values.data.cpu().numpy()
                hard_negative = self.negative_selection_fn(loss_values)
                if hard_negative is not None:
                    hard_negative = negative_indices[hard_negative]
                    triplets.append([anchor_positive[0], anchor_positive[1], hard_negative])

        if len(triplets) == 0:
            triplets.append([anchor_positive[0], anchor_positive[1], negative_indices[0]])

        triplets = np.array(triplets)

        return torch.LongTensor(triplets)


def HardestNegativeTripletSelector(margin, cpu=False): return FunctionNegativeTripletSelector(margin=margin,
                                                                                 negative_selection_fn=hardest_negative,
                                                                                 cpu=cpu)


def RandomNegativeTripletSelector(margin, cpu=False): return FunctionNegativeTripletSelector(margin=margin,
                                                                                negative_selection_fn=random_hard_negative,
                                                                                cpu=cpu)


# datasets.py -------------------------------------------------------------------------------------------------------

class BalancedBatchSampler(BatchSampler):
    """
    BatchSampler - from a MNIST-like dataset, samples n_classes and within these classes samples n_samples.
    Returns batches of size n_classes * n_samples
    """

    def __init__(self, labels, n_classes, n_samples):
        self.labels = labels
        self.labels_set = list(set(self.labels.numpy()))
        self.label_to_indices = {label: np.where(self.labels.numpy() == label)[0]
                                 for label in self.labels_set}
        for l in self.labels_set:  # noqa: E741
            np.random.shuffle(self.label_to_indices[l])
        self.used_label_indices_count = {label: 0 for label in self.labels_set}
        self.count = 0
        self.n_classes = n_classes
        self.n_samples = n_samples
        self.n_dataset = len(self.labels)
        self.batch_size = self.n_samples * self.n_classes

    def __iter__(self):
        self.count = 0
        while self.count + self.batch_size < self.n_dataset:
            classes = np.random.choice(self.labels_set, self.n_classes, replace=False)
            indices = []
            for class_ in classes:
                indices.extend(self.label_to_indices[class_][
                               self.used_label_indices_count[class_]:self.used_label_indices_count[
                                                                         class_] + self.n_samples])
                self.used_label_indices_count[class_] += self.n_samples
                if self.used_label_indices_count[class_] + self.n_samples > len(self.label_to_indices[class_]):
                    np.random.shuffle(self.label_to_indices[class_])
                    self.used_label_indices_count[class_] = 0
            yield indices
            self.count += self.n_classes * self.n_samples

    def __len__(self):
        return self.n_dataset // self.batch_size


# metrics.py --------------------------------------------------------------------------------------------------------

class Metric:
    def __init__(self):
        pass

    def __call__(self, outputs, target, loss):
        raise NotImplementedError

    def reset(self):
        raise NotImplementedError

    def value(self):
        raise NotImplementedError

    def name(self):
        raise NotImplementedError


class AverageNonzeroTripletsMetric(Metric):
    '''
    Counts average number of nonzero triplets found in minibatches
    '''

    def __init__(self):
        self.values = []

    def __call__(self, outputs, target, loss):
        self.values.append(loss[1])
        return self.value()

    def reset(self):
        self.values = []

    def value(self):
        return np.mean(self.values)

    def name(self):
        return 'Average nonzero triplets'


# trainer.py (monitor added; zero_grad switchable for one variant; the losses kept for the result) ------------------

def fit(train_loader, val_loader, model, loss_fn, optimizer, scheduler, n_epochs, cuda, log_interval, metrics=[],
        start_epoch=0, monitor=None, zero_grad=True, verbose=False, log=None):
    """
    Loaders, model, loss function and metrics should work together for a given task,
    i.e. The model should be able to process data output of loaders,
    loss function should process target output of loaders and outputs from the model

    Examples: Classification: batch loader, classification model, NLL loss, accuracy metric
    Siamese network: Siamese loader, siamese model, contrastive loss
    Online triplet learning: batch loader, embedding model, online triplet loss
    """
    for epoch in range(0, start_epoch):
        scheduler.step()

    for epoch in range(start_epoch, n_epochs):
        scheduler.step()

        # Train stage
        train_loss, metrics = train_epoch(train_loader, model, loss_fn, optimizer, cuda, log_interval, metrics,
                                          monitor, zero_grad, verbose, log)

        message = 'Epoch: {}/{}. Train set: Average loss: {:.4f}'.format(epoch + 1, n_epochs, train_loss)
        for metric in metrics:
            message += '\t{}: {}'.format(metric.name(), metric.value())

        val_loss, metrics = test_epoch(val_loader, model, loss_fn, cuda, metrics)
        val_loss /= len(val_loader)
        if log is not None:
            log["val_loss"].append(val_loss)

        message += '\nEpoch: {}/{}. Validation set: Average loss: {:.4f}'.format(epoch + 1, n_epochs,
                                                                                 val_loss)
        for metric in metrics:
            message += '\t{}: {}'.format(metric.name(), metric.value())

        if verbose:
            print(message, flush=True)


def train_epoch(train_loader, model, loss_fn, optimizer, cuda, log_interval, metrics, monitor=None, zero_grad=True,
                verbose=False, log=None):
    for metric in metrics:
        metric.reset()

    model.train()
    losses = []
    total_loss = 0

    for batch_idx, (data, target) in enumerate(train_loader):
        target = target if len(target) > 0 else None
        if not type(data) in (tuple, list):
            data = (data,)
        if cuda:
            data = tuple(d.cuda() for d in data)
            if target is not None:
                target = target.cuda()


        if zero_grad:  # the variant leaves optimizer.zero_grad() out
            optimizer.zero_grad()
        outputs = model(*data)

        if type(outputs) not in (tuple, list):
            outputs = (outputs,)

        loss_inputs = outputs
        if target is not None:
            target = (target,)
            loss_inputs += target

        loss_outputs = loss_fn(*loss_inputs)
        loss = loss_outputs[0] if type(loss_outputs) in (tuple, list) else loss_outputs
        losses.append(loss.item())
        total_loss += loss.item()
        loss.backward()
        if monitor is not None:
            monitor.step(loss)  # gradmedic
        optimizer.step()
        if log is not None:
            log["train_loss"].append(loss.item())

        for metric in metrics:
            metric(outputs, target, loss_outputs)

        if batch_idx % log_interval == 0:
            message = 'Train: [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                batch_idx * len(data[0]), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), np.mean(losses))
            for metric in metrics:
                message += '\t{}: {}'.format(metric.name(), metric.value())

            if verbose:
                print(message, flush=True)
            losses = []

    total_loss /= (batch_idx + 1)
    return total_loss, metrics


def test_epoch(val_loader, model, loss_fn, cuda, metrics):
    with torch.no_grad():
        for metric in metrics:
            metric.reset()
        model.eval()
        val_loss = 0
        for batch_idx, (data, target) in enumerate(val_loader):
            target = target if len(target) > 0 else None
            if not type(data) in (tuple, list):
                data = (data,)
            if cuda:
                data = tuple(d.cuda() for d in data)
                if target is not None:
                    target = target.cuda()

            outputs = model(*data)

            if type(outputs) not in (tuple, list):
                outputs = (outputs,)
            loss_inputs = outputs
            if target is not None:
                target = (target,)
                loss_inputs += target

            loss_outputs = loss_fn(*loss_inputs)
            loss = loss_outputs[0] if type(loss_outputs) in (tuple, list) else loss_outputs
            val_loss += loss.item()

            for metric in metrics:
                metric(outputs, target, loss_outputs)

    return val_loss, metrics


# the notebook's extract_embeddings, and the metric (added) ------------------------------------------------------------

def extract_embeddings(dataloader, model):
    with torch.no_grad():
        model.eval()
        embeddings = np.zeros((len(dataloader.dataset), 2))
        labels = np.zeros(len(dataloader.dataset))
        k = 0
        for images, target in dataloader:
            embeddings[k:k+len(images)] = model.get_embedding(images).data.cpu().numpy()
            labels[k:k+len(images)] = target.numpy()
            k += len(images)
    return embeddings, labels


def knn_accuracy(train_plain_loader, test_plain_loader, model):
    """Held-out accuracy of a 5-NN classifier on the 2-D embeddings (NaN embeddings count as wrong)."""
    from sklearn.neighbors import KNeighborsClassifier

    etr, ltr = extract_embeddings(train_plain_loader, model)
    ete, lte = extract_embeddings(test_plain_loader, model)
    if not (np.isfinite(etr).all() and np.isfinite(ete).all()):
        return 0.0
    etr, ete = np.clip(etr, -1e30, 1e30), np.clip(ete, -1e30, 1e30)
    knn = KNeighborsClassifier(n_neighbors=5).fit(etr, ltr)
    return float((knn.predict(ete) == lte).mean())


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init: str | None = None,
          zero_fc: bool = False, zero_grad: bool = True, selector: str = "random", n_epochs: int = 10,
          n_samples: int = 10, every: int = 10, verbose: bool = False) -> dict:
    """Variants: ``lr_mult`` multiplies Adam's lr 1e-3; ``raw_pixels`` feeds 0..255; ``init`` "std1" / "std1e-3"
    (``normal_`` on every Conv2d and Linear weight) or "kaiming" (``kaiming_normal_``); ``zero_fc`` zeros the fc
    Linears; ``zero_grad=False`` leaves ``optimizer.zero_grad()`` out; ``selector`` "random" or "hardest"."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    np.random.seed(seed)
    cuda = False

    train_dataset, test_dataset = digits28(raw_pixels)
    train_labels, test_labels = train_dataset.tensors[1], test_dataset.tensors[1]
    n_classes = 10

    # We'll create mini batches by sampling labels that will be present in the mini batch and number of examples from
    # each class
    train_batch_sampler = BalancedBatchSampler(train_labels, n_classes=10, n_samples=n_samples)
    test_batch_sampler = BalancedBatchSampler(test_labels, n_classes=10, n_samples=n_samples)

    online_train_loader = torch.utils.data.DataLoader(train_dataset, batch_sampler=train_batch_sampler)
    online_test_loader = torch.utils.data.DataLoader(test_dataset, batch_sampler=test_batch_sampler)
    # the notebook's plain loaders (batch_size 256), used for extract_embeddings
    train_loader = torch.utils.data.DataLoader(train_dataset, batch_size=256, shuffle=False)
    test_loader = torch.utils.data.DataLoader(test_dataset, batch_size=256, shuffle=False)

    # Set up the network and training parameters
    margin = 1.
    embedding_net = EmbeddingNet()
    model = embedding_net
    if init is not None:  # the variant: another init of every Conv2d and Linear weight
        for mod in model.modules():
            if isinstance(mod, (nn.Conv2d, nn.Linear)):
                if init == "kaiming":
                    nn.init.kaiming_normal_(mod.weight)
                else:
                    nn.init.normal_(mod.weight, 0.0, {"std1": 1.0, "std1e-3": 1e-3}[init])
    if zero_fc:  # the variant: every Linear of fc all zeros (weights and biases)
        for mod in model.fc:
            if isinstance(mod, nn.Linear):
                nn.init.zeros_(mod.weight)
                nn.init.zeros_(mod.bias)
    sel = {"random": RandomNegativeTripletSelector, "hardest": HardestNegativeTripletSelector}[selector]
    loss_fn = OnlineTripletLoss(margin, sel(margin))
    lr = 1e-3 * lr_mult
    optimizer = optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    scheduler = lr_scheduler.StepLR(optimizer, 8, gamma=0.1, last_epoch=-1)
    log_interval = 50

    initial = knn_accuracy(train_loader, test_loader, model)
    log = {"train_loss": [], "val_loss": []}
    t0 = time.time()
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # scheduler.step() before optimizer.step(), as written for 0.4
        fit(online_train_loader, online_test_loader, model, loss_fn, optimizer, scheduler, n_epochs, cuda, log_interval,
            metrics=[AverageNonzeroTripletsMetric()], monitor=monitor, zero_grad=zero_grad, verbose=verbose, log=log)
    monitor.close()
    seconds = time.time() - t0
    value = knn_accuracy(train_loader, test_loader, model)
    tl = log["train_loss"]
    if verbose:
        print(f"5-NN held-out accuracy {value:.4f} (untrained {initial:.4f}); train loss "
              f"{np.mean(tl[:5]):.4g} -> {np.mean(tl[-20:]):.4g}; val loss {log['val_loss'][-1]:.4g}; {seconds:.1f}s")
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": value, "initial": initial, "chance": 0.1,
            "initial_what": "untrained: the 5-NN held-out accuracy of the embedding before the first step",
            "extra": {"train_loss": float(np.mean(tl[-20:])), "initial_train_loss": float(np.mean(tl[:5])),
                      "val_loss_per_epoch": [float(v) for v in log["val_loss"]], "steps": len(tl), "lr": lr,
                      "n_classes": n_classes, "n_samples": n_samples, "selector": selector},
            "seconds": seconds}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="triplet", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


def _cases() -> list[dict]:
    P = "triplet"  # noqa: N806
    out = []
    for s in (1, 2, 3):
        out.append(_case(f"{P}_healthy_s{s}", "healthy", s, {},
                         "unchanged (EmbeddingNet to 2-D, OnlineTripletLoss(1.0) with RandomNegativeTripletSelector, "
                         "Adam lr 1e-3 weight_decay 1e-4, StepLR(8, 0.1), balanced batches of 10x10, 10 epochs)", False))
    for k, ss in ((2, (1,)), (10, (1, 2)), (100, (1, 2)), (1000, (1,))):
        for s in ss:
            out.append(_case(f"{P}_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({1e-3 * k:g})"))
    for s in (1, 2):
        out.append(_case(f"{P}_lr_div1000_s{s}", "lr_low", s, {"lr_mult": 1e-3}, "Adam lr /1000 (1e-06)"))
    for s in (1, 2):
        out.append(_case(f"{P}_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
                         "raw 0..255 pixel values: no ToTensor scaling, no Normalize"))
    for s in (1, 2):
        out.append(_case(f"{P}_init_std1_s{s}", "init_large", s, {"init": "std1"},
                         "nn.init.normal_(std=1.0) on every Conv2d and Linear weight (biases kept)"))
    out.append(_case(f"{P}_init_kaiming_s1", "init_large", 1, {"init": "kaiming"},
                     "nn.init.kaiming_normal_ on every Conv2d and Linear weight (a sane init, ~2.4x the default's scale)"))
    out.append(_case(f"{P}_init_small_s1", "init_small", 1, {"init": "std1e-3"},
                     "nn.init.normal_(std=1e-3) on every Conv2d and Linear weight (biases kept)"))
    out.append(_case(f"{P}_zero_fc_s1", "symmetric_init", 1, {"zero_fc": True},
                     "nn.init.zeros_ on the weight and bias of every Linear of fc (all embeddings the same)"))
    for s in (1, 2):
        out.append(_case(f"{P}_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
                         "optimizer.zero_grad() left out of train_epoch: the gradients accumulate"))
    out.append(_case(f"{P}_hardest_negative_s1", "wrong_loss", 1, {"selector": "hardest"},
                     "HardestNegativeTripletSelector(margin) instead of RandomNegativeTripletSelector(margin): each "
                     "anchor-positive pair gets the negative with the largest triplet loss"))
    return out


CASES: list[dict] = _cases()

if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = v if k in ("init", "selector") else (v == "True" if k in ("raw_pixels", "zero_fc", "zero_grad") else float(v))
    for k in ("seed", "n_epochs", "n_samples"):
        if k in kw:
            kw[k] = int(kw[k])
    train(verbose=True, **kw)
