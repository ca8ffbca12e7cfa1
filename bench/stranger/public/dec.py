"""Deep Embedded Clustering (vlukiyanov/pt-dec with its pt-sdae pretraining) on digits, watched by gradmedic.

Adapted from https://github.com/vlukiyanov/pt-dec (commit 11b30553858c1c146a5ee0b696c768ab5244f0ff: examples/mnist/
mnist.py, ptdec/cluster.py, ptdec/dec.py, ptdec/model.py, ptdec/utils.py) and https://github.com/vlukiyanov/pt-sdae
(commit 57b2c544cd3f989e87a3037d5ea0bb3a59d05eed: ptsdae/dae.py, ptsdae/sdae.py, ptsdae/model.py); both MIT License,
Copyright (c) 2018 Vladimir Lukiyanov (the same text in both), see LICENSE-dec.  Copied below, as upstream:
``DenoisingAutoencoder`` (untied weights, Xavier-uniform with gain sqrt(2), zero biases, the Dropout(corruption) on its
hidden code), ``StackedDenoisingAutoEncoder`` (ReLU units, a linear 10-d code, ``final_activation=None`` as the example
builds it), the layer-wise ``pretrain`` (one DAE per layer, corruption 0.2 except the last, each trained with
``SGD(lr=0.1, momentum=0.9)`` and ``StepLR(gamma=0.1)``, the data passed through each trained encoder), the fine-tuning
``train`` of the whole autoencoder (MSELoss, ``F.dropout(batch, 0.2)`` on the input, SGD lr 0.1 momentum 0.9, StepLR,
``scheduler.step()`` at the start of each epoch - PyTorch 0.4's order; today's PyTorch warns about it),
``ClusterAssignment`` (Student's t soft assignment, alpha 1), ``DEC``, ``target_distribution``, ``cluster_accuracy``
(Hungarian matching by ``linear_sum_assignment``) and ptdec.model.train's DEC loop: KMeans(n_clusters=10, n_init=20)
on the encoder's features of the whole set (un-shuffled batches) initialises the cluster centres, then each shuffled
batch of 256: ``output = model(batch)``, ``target = target_distribution(output).detach()`` (recomputed on every batch,
as pt-dec does; it has no target-update interval), ``loss = KLDivLoss(sum)(output.log(), target) / batch``,
``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``; after each epoch ``predict`` over the whole set,
the label change ``delta_label`` and upstream's early stop when it is below ``stopping_delta=0.000001`` (no label
changed in an epoch); ``dec_optimizer = SGD(model.parameters(), lr=0.01, momentum=0.9)``; the final accuracy is
``cluster_accuracy`` of ``predict`` over the training set, as mnist.py prints it.

Changed to run offline on one CPU thread in ~4-8 s:
- data: MNIST cannot be downloaded; scikit-learn's ``load_digits`` (1797 8x8 images, 64 features) replaces it, put on
  MNIST's byte scale and multiplied by upstream's 0.02 (``CachedMNIST._transformation``).  Digits are far denser than
  MNIST (per-pixel root mean square 0.484 of full scale against MNIST's 0.335), and on the plain 0..255 mapping
  (values 0..5.1, as MNIST's) the fine-tuning at upstream's lr 0.1 diverged to NaN with the full-width network and left
  seed-dependent, poor codes with the narrow one (KMeans accuracy 0.66, 0.69, 0.52 on seeds 1-3 after 30 + 30 epochs;
  0.62, 0.49, 0.24 after 20 + 20); so each digit is scaled to
  MNIST's per-pixel root mean square (x 0.691 after the /16, then x 255 x 0.02: values 0..3.52);
- sizes: the stack is [64, 125, 125, 500, 10] (upstream [784, 500, 500, 2000, 10]: the same depth and kinds, the hidden
  widths quartered; the full width diverged as said and is several times slower); PRETRAIN_EPOCHS = 30 per layer and
  FINETUNE_EPOCHS = 30 (upstream 300 and 500) with StepLR step STEP_SIZE = 10 (upstream 100: the decay at the same
  third of pretraining); DEC_EPOCHS = 40 (upstream 100; 8 batches an epoch, the last of 5 images, so 320 steps unless
  the early stop comes first); batch 256 as upstream in all three stages;
- ``torch.manual_seed(seed)``, ``np.random.seed(seed)`` and ``KMeans(random_state=seed)`` (upstream is unseeded); no
  CUDA, tqdm, tensorboardX, validation set (upstream validates the autoencoder on MNIST's test set, which changes no
  parameter), seaborn confusion plot; the unused ``features.append(model.encoder(batch)...)`` in the DEC batch loop is
  left out; ``nn.KLDivLoss(reduction="sum")`` for upstream's deprecated ``size_average=False`` (the same sum);
  cytoolz's ``sliding_window``/``concat`` written out.
Knobs (one per variant, all in the DEC stage): ``lr_mult`` scales the DEC SGD's lr 0.01 (the autoencoder's 0.1 are
kept); ``zero_grad=False`` leaves ``optimizer.zero_grad()`` out of the DEC loop; ``dec_batch_size``.  Also present but
not recorded: ``input_scale`` (the inputs x100: the unwatched pretraining goes to NaN at once and upstream's
``kmeans.fit_predict`` raises "Input X contains NaN", so the program crashes before the DEC stage - no run to record)
and ``pretrain=False`` (both autoencoder stages left out, KMeans and DEC on the Xavier-initialised encoder: seed 1
gives KMeans accuracy 0.396 and DEC 0.510 against the pretrained 0.683/0.710; not recorded, as no cause in
causes.py names a missing pretraining and run.py's rules would label it "healthy" - error 0.490, within the good
outcome and not twice the control's 0.290 - though it is 20 points worse).

The watch, as a user would, on the DEC stage only (the pretraining and fine-tuning of the autoencoder are not
watched): ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after ``dec_optimizer`` is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the
epochs (or upstream's early stop).  The DEC loss is a KL divergence to a target recomputed from the same batch: it
does not fall in a healthy run (first-5 mean 0.251-0.256, last-20 mean 0.263-0.269 on seeds 1-3).

Metric "cluster_error" (lower is better, a loss-like number for run.py's rules, as deepsvdd.py's AUC error): 1 - the
Hungarian-matched clustering accuracy of the final model's ``predict`` on all 1797 digits (in ``extra`` as
``cluster_accuracy``); ``initial`` 0.9, chance (an uninformative assignment to 10 clusters).  The accuracy of the
KMeans initialisation on the pretrained encoder's features (the accuracy at the start of the DEC stage) is in
``extra`` as ``kmeans_accuracy``.  "accuracy" is not the metric's name because run.py's good outcome for an accuracy
is the digit classifiers' >= 0.9, which no DEC on these data reaches here (0.69-0.74); with the error, a good outcome
is an error of at most 0.63 (accuracy >= 0.37), "broken" a control error below half the variant's, "healthy" at most
1.1x the control's error with the largest DEC loss at most 2x the control's.

``CASES`` (program "dec"): the program on seeds 1-3, and one change each against the same seed's healthy run: DEC lr
x10, x100 (seeds 1 and 2), x1000 (seeds 1 and 2), /1000; ``optimizer.zero_grad()`` left out of the DEC loop (seeds 1
and 2); and two changes expected harmless: DEC batch size 512 (cause "healthy") and DEC lr x2 (cause "lr_high").
Unscaled inputs and a missing pretraining were tried and are not recorded (above).
Recorded (cases-public139; 4-8 s a run, of which 4-6 s the autoencoder; 82 s for the 14 first recorded, the
no-pretraining run since dropped): healthy accuracy 0.7101, 0.7412, 0.6939 on seeds 1-3 (error 0.2899, 0.2588,
0.3061; KMeans on the pretrained features 0.6828, 0.7234, 0.6683; 320 DEC steps, largest loss 0.308, 0.299, 0.295;
every loss finite): healthy; lr x10 (0.1): 0.7279 (the loss falls to 0.14): healthy; lr x100 (1.0): every digit in
one cluster, accuracy 0.1018 (seed 1: early stop in epoch 30, 240 steps; seed 2: in epoch 4, 32 steps; loss
-> 0.03): broken; lr x1000 (10): one cluster at once, early stop in epoch 2 and 3, 0.1018 (16 and 24 steps, loss ->
0.02 and 0.0):
broken; lr /1000 (1e-5): no label changes in the first epoch, upstream's early stop after 8 steps, the KMeans
assignment's 0.6828 (error 0.3172, 1.094x the control's): healthy; zero_grad left out: the accumulated gradient
collapses the clusters (loss -> 0), 0.1018 (seed 1, early stop in epoch 26) and 0.1987 (seed 2, in epoch 36): broken;
batch 512: 0.7045 (early stop in epoch 32, 128 steps): healthy; lr x2: 0.7195: healthy.  Labels: 7 healthy (3
programs, lr x10, lr /1000, batch 512, lr x2), 6 broken, 0 ambiguous; no non-finite loss in any recorded run.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from torch.nn import Parameter
from torch.optim import SGD
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, Dataset, TensorDataset

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("DEC stage only (the autoencoder's layer-wise pretraining and fine-tuning are not watched): "
              "watch(model, optimizer, every=10) right after dec_optimizer = SGD(model.parameters(), lr=0.01, "
              "momentum=0.9); monitor.step(loss) right after loss.backward() (the batch KL divergence to the target "
              "distribution), before optimizer.step()")

DIMS = [64, 125, 125, 500, 10]  # upstream: [28 * 28, 500, 500, 2000, 10]
PRETRAIN_EPOCHS = 30  # upstream: 300 (per sub-autoencoder)
FINETUNE_EPOCHS = 30  # upstream: 500
STEP_SIZE = 10  # upstream: StepLR(x, 100, gamma=0.1) with 300 / 500 epochs
DEC_EPOCHS = 40  # upstream: 100


def sliding_window(n, seq):  # upstream: cytoolz.itertoolz.sliding_window (n == 2 here)
    seq = list(seq)
    return zip(*(seq[i:] for i in range(n)), strict=False)


# ---------------------------------------------------------------- ptsdae/dae.py (copied)
class DenoisingAutoencoder(nn.Module):
    def __init__(
        self,
        embedding_dimension: int,
        hidden_dimension: int,
        activation: torch.nn.Module | None = nn.ReLU(),  # noqa: B008 (as upstream)
        gain: float = nn.init.calculate_gain("relu"),
        corruption: torch.nn.Module | None = None,
        tied: bool = False,
    ) -> None:
        super(DenoisingAutoencoder, self).__init__()  # noqa: UP008 (as upstream)
        self.embedding_dimension = embedding_dimension
        self.hidden_dimension = hidden_dimension
        self.activation = activation
        self.gain = gain
        self.corruption = corruption
        # encoder parameters
        self.encoder_weight = Parameter(
            torch.Tensor(hidden_dimension, embedding_dimension)
        )
        self.encoder_bias = Parameter(torch.Tensor(hidden_dimension))
        self._initialise_weight_bias(self.encoder_weight, self.encoder_bias, self.gain)
        # decoder parameters
        self._decoder_weight = (
            Parameter(torch.Tensor(embedding_dimension, hidden_dimension))
            if not tied
            else None
        )
        self.decoder_bias = Parameter(torch.Tensor(embedding_dimension))
        self._initialise_weight_bias(self._decoder_weight, self.decoder_bias, self.gain)

    @property
    def decoder_weight(self):
        return (
            self._decoder_weight
            if self._decoder_weight is not None
            else self.encoder_weight.t()
        )

    @staticmethod
    def _initialise_weight_bias(weight: torch.Tensor, bias: torch.Tensor, gain: float):
        if weight is not None:
            nn.init.xavier_uniform_(weight, gain)
        nn.init.constant_(bias, 0)

    def copy_weights(self, encoder: torch.nn.Linear, decoder: torch.nn.Linear) -> None:
        encoder.weight.data.copy_(self.encoder_weight)
        encoder.bias.data.copy_(self.encoder_bias)
        decoder.weight.data.copy_(self.decoder_weight)
        decoder.bias.data.copy_(self.decoder_bias)

    def encode(self, batch: torch.Tensor) -> torch.Tensor:
        transformed = F.linear(batch, self.encoder_weight, self.encoder_bias)
        if self.activation is not None:
            transformed = self.activation(transformed)
        if self.corruption is not None:
            transformed = self.corruption(transformed)
        return transformed

    def decode(self, batch: torch.Tensor) -> torch.Tensor:
        return F.linear(batch, self.decoder_weight, self.decoder_bias)

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(batch))


# ---------------------------------------------------------------- ptsdae/sdae.py (copied)
def build_units(
    dimensions: Iterable[int], activation: torch.nn.Module | None
) -> list[torch.nn.Module]:
    def single_unit(in_dimension: int, out_dimension: int) -> torch.nn.Module:
        unit = [("linear", nn.Linear(in_dimension, out_dimension))]
        if activation is not None:
            unit.append(("activation", activation))
        return nn.Sequential(OrderedDict(unit))

    return [
        single_unit(embedding_dimension, hidden_dimension)
        for embedding_dimension, hidden_dimension in sliding_window(2, dimensions)
    ]


def default_initialise_weight_bias_(
    weight: torch.Tensor, bias: torch.Tensor, gain: float
) -> None:
    nn.init.xavier_uniform_(weight, gain)
    nn.init.constant_(bias, 0)


class StackedDenoisingAutoEncoder(nn.Module):
    def __init__(
        self,
        dimensions: list[int],
        activation: torch.nn.Module = nn.ReLU(),  # noqa: B008 (as upstream)
        final_activation: torch.nn.Module | None = nn.ReLU(),  # noqa: B008 (as upstream)
        weight_init: Callable[
            [torch.Tensor, torch.Tensor, float], None
        ] = default_initialise_weight_bias_,
        gain: float = nn.init.calculate_gain("relu"),
    ):
        super(StackedDenoisingAutoEncoder, self).__init__()  # noqa: UP008 (as upstream)
        self.dimensions = dimensions
        self.embedding_dimension = dimensions[0]
        self.hidden_dimension = dimensions[-1]
        # construct the encoder
        encoder_units = build_units(self.dimensions[:-1], activation)
        encoder_units.extend(
            build_units([self.dimensions[-2], self.dimensions[-1]], None)
        )
        self.encoder = nn.Sequential(*encoder_units)
        # construct the decoder
        decoder_units = build_units(reversed(self.dimensions[1:]), activation)
        decoder_units.extend(
            build_units([self.dimensions[1], self.dimensions[0]], final_activation)
        )
        self.decoder = nn.Sequential(*decoder_units)
        # initialise the weights and biases in the layers
        for layer in [*self.encoder, *self.decoder]:  # upstream: cytoolz concat([self.encoder, self.decoder])
            weight_init(layer[0].weight, layer[0].bias, gain)

    def get_stack(self, index: int) -> tuple[torch.nn.Module, torch.nn.Module]:
        if (index > len(self.dimensions) - 2) or (index < 0):
            raise ValueError(
                "Requested subautoencoder cannot be constructed, index out of range."
            )
        return self.encoder[index].linear, self.decoder[-(index + 1)].linear

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        encoded = self.encoder(batch)
        return self.decoder(encoded)


# ---------------------------------------------------------------- ptsdae/model.py (train, pretrain, predict)
def ae_train(
    dataset: torch.utils.data.Dataset,
    autoencoder: torch.nn.Module,
    epochs: int,
    batch_size: int,
    optimizer: torch.optim.Optimizer,
    scheduler: Any = None,
    corruption: float | None = None,
) -> list[float]:
    """ptsdae.model.train without tqdm, the validation set and the callbacks (upstream validates on MNIST's test
    set every epoch, which changes no parameter); returns the batch losses."""
    dataloader = DataLoader(
        dataset,
        batch_size=batch_size,
        pin_memory=False,
        shuffle=True,
        num_workers=0,
    )
    loss_function = nn.MSELoss()
    autoencoder.train()
    losses = []
    for _epoch in range(epochs):
        if scheduler is not None:
            scheduler.step()  # upstream's order (PyTorch 0.4): the scheduler steps at the start of each epoch
        for _index, batch in enumerate(dataloader):
            if (
                isinstance(batch, tuple)
                or isinstance(batch, list)
                and len(batch) in [1, 2]
            ):
                batch = batch[0]
            # run the batch through the autoencoder and obtain the output
            if corruption is not None:
                output = autoencoder(F.dropout(batch, corruption))
            else:
                output = autoencoder(batch)
            loss = loss_function(output, batch)
            losses.append(float(loss.item()))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step(closure=None)
    return losses


def ae_pretrain(
    dataset,
    autoencoder: StackedDenoisingAutoEncoder,
    epochs: int,
    batch_size: int,
    optimizer: Callable[[torch.nn.Module], torch.optim.Optimizer],
    scheduler: Callable[[torch.optim.Optimizer], Any] | None = None,
    corruption: float | None = None,
) -> list[list[float]]:
    current_dataset = dataset
    number_of_subautoencoders = len(autoencoder.dimensions) - 1
    all_losses = []
    for index in range(number_of_subautoencoders):
        encoder, decoder = autoencoder.get_stack(index)
        embedding_dimension = autoencoder.dimensions[index]
        hidden_dimension = autoencoder.dimensions[index + 1]
        # manual override to prevent corruption for the last subautoencoder
        if index == (number_of_subautoencoders - 1):
            corruption = None
        # initialise the subautoencoder
        sub_autoencoder = DenoisingAutoencoder(
            embedding_dimension=embedding_dimension,
            hidden_dimension=hidden_dimension,
            activation=torch.nn.ReLU()
            if index != (number_of_subautoencoders - 1)
            else None,
            corruption=nn.Dropout(corruption) if corruption is not None else None,
        )
        ae_optimizer = optimizer(sub_autoencoder)
        ae_scheduler = scheduler(ae_optimizer) if scheduler is not None else scheduler
        all_losses.append(ae_train(
            current_dataset,
            sub_autoencoder,
            epochs,
            batch_size,
            ae_optimizer,
            corruption=None,  # already have dropout in the DAE
            scheduler=ae_scheduler,
        ))
        # copy the weights
        sub_autoencoder.copy_weights(encoder, decoder)
        # pass the dataset through the encoder part of the subautoencoder
        if index != (number_of_subautoencoders - 1):
            current_dataset = TensorDataset(
                ae_predict(
                    current_dataset,
                    sub_autoencoder,
                    batch_size,
                )
            )
        else:
            current_dataset = None  # minor optimisation on the last subautoencoder
    return all_losses


def ae_predict(dataset, model, batch_size: int, encode: bool = True) -> torch.Tensor:
    dataloader = DataLoader(
        dataset, batch_size=batch_size, pin_memory=False, shuffle=False
    )
    features = []
    if isinstance(model, torch.nn.Module):
        model.eval()
    for batch in dataloader:
        if isinstance(batch, tuple) or isinstance(batch, list) and len(batch) in [1, 2]:
            batch = batch[0]
        batch = batch.squeeze(1).view(batch.size(0), -1)
        if encode:
            output = model.encode(batch)
        else:
            output = model(batch)
        features.append(
            output.detach().cpu()
        )  # move to the CPU to prevent out of memory on the GPU
    return torch.cat(features)


# ---------------------------------------------------------------- ptdec/cluster.py, dec.py, utils.py (copied)
class ClusterAssignment(nn.Module):
    def __init__(
        self,
        cluster_number: int,
        embedding_dimension: int,
        alpha: float = 1.0,
        cluster_centers: torch.Tensor | None = None,
    ) -> None:
        super(ClusterAssignment, self).__init__()  # noqa: UP008 (as upstream)
        self.embedding_dimension = embedding_dimension
        self.cluster_number = cluster_number
        self.alpha = alpha
        if cluster_centers is None:
            initial_cluster_centers = torch.zeros(
                self.cluster_number, self.embedding_dimension, dtype=torch.float
            )
            nn.init.xavier_uniform_(initial_cluster_centers)
        else:
            initial_cluster_centers = cluster_centers
        self.cluster_centers = Parameter(initial_cluster_centers)

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        norm_squared = torch.sum((batch.unsqueeze(1) - self.cluster_centers) ** 2, 2)
        numerator = 1.0 / (1.0 + (norm_squared / self.alpha))
        power = float(self.alpha + 1) / 2
        numerator = numerator ** power
        return numerator / torch.sum(numerator, dim=1, keepdim=True)


class DEC(nn.Module):
    def __init__(
        self,
        cluster_number: int,
        hidden_dimension: int,
        encoder: torch.nn.Module,
        alpha: float = 1.0,
    ):
        super(DEC, self).__init__()  # noqa: UP008 (as upstream)
        self.encoder = encoder
        self.hidden_dimension = hidden_dimension
        self.cluster_number = cluster_number
        self.alpha = alpha
        self.assignment = ClusterAssignment(
            cluster_number, self.hidden_dimension, alpha
        )

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        return self.assignment(self.encoder(batch))


def cluster_accuracy(y_true, y_predicted, cluster_number: int | None = None):
    if cluster_number is None:
        cluster_number = (
            max(y_predicted.max(), y_true.max()) + 1
        )  # assume labels are 0-indexed
    count_matrix = np.zeros((cluster_number, cluster_number), dtype=np.int64)
    for i in range(y_predicted.size):
        count_matrix[y_predicted[i], y_true[i]] += 1

    row_ind, col_ind = linear_sum_assignment(count_matrix.max() - count_matrix)
    reassignment = dict(zip(row_ind, col_ind, strict=True))
    accuracy = count_matrix[row_ind, col_ind].sum() / y_predicted.size
    return reassignment, accuracy


def target_distribution(batch: torch.Tensor) -> torch.Tensor:
    weight = (batch ** 2) / torch.sum(batch, 0)
    return (weight.t() / torch.sum(weight, 1)).t()


def dec_predict(dataset, model, batch_size: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    """ptdec.model.predict with return_actual=True."""
    dataloader = DataLoader(dataset, batch_size=batch_size, shuffle=False)
    features = []
    actual = []
    model.eval()
    for batch, value in dataloader:
        actual.append(value)
        features.append(model(batch).detach().cpu())
    return torch.cat(features).max(1)[1], torch.cat(actual).long()


# ---------------------------------------------------------------- data (examples/mnist/mnist.py's CachedMNIST)
MNIST_RMS = (0.1307 ** 2 + 0.3081 ** 2) ** 0.5  # MNIST's per-pixel root mean square in [0, 1] (mean 0.1307, std 0.3081)


class CachedDigits(Dataset):
    """scikit-learn's 8x8 digits (0..16) put on MNIST's byte scale with MNIST's per-pixel root mean square (digits are
    denser than MNIST: 0.484 in [0, 1] against 0.335), then multiplied by upstream's 0.02."""

    def __init__(self, scale: float = 1.0):
        from sklearn.datasets import load_digits

        d = load_digits()
        x = torch.tensor(d.data, dtype=torch.float32) / 16.0
        x = x * (MNIST_RMS / float(x.pow(2).mean().sqrt())) * 255.0  # upstream: MNIST bytes 0..255
        self.x = x * 0.02 * scale  # upstream: ``* 0.02`` in CachedMNIST._transformation
        self.y = torch.tensor(d.target, dtype=torch.long)

    def __getitem__(self, index: int):
        return [self.x[index], self.y[index]]

    def __len__(self) -> int:
        return len(self.y)


# ---------------------------------------------------------------- examples/mnist/mnist.py main + ptdec.model.train
def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, pretrain: bool = True,
          zero_grad: bool = True, dec_batch_size: int = 256, pretrain_epochs: int = PRETRAIN_EPOCHS,
          finetune_epochs: int = FINETUNE_EPOCHS, dec_epochs: int = DEC_EPOCHS, dims: list[int] | None = None,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)  # upstream: unseeded
    np.random.seed(seed)
    t0 = time.time()
    batch_size = 256
    ds_train = CachedDigits(scale=input_scale)
    autoencoder = StackedDenoisingAutoEncoder(dims or DIMS, final_activation=None)
    pre_losses, ft_losses = [], []
    if pretrain:  # the no-pretraining variant leaves out both autoencoder stages (the encoder keeps its Xavier init)
        pre_losses = ae_pretrain(
            ds_train,
            autoencoder,
            epochs=pretrain_epochs,
            batch_size=batch_size,
            optimizer=lambda model: SGD(model.parameters(), lr=0.1, momentum=0.9),
            scheduler=lambda x: StepLR(x, STEP_SIZE, gamma=0.1),  # upstream: StepLR(x, 100, gamma=0.1)
            corruption=0.2,
        )
        ae_optimizer = SGD(params=autoencoder.parameters(), lr=0.1, momentum=0.9)
        ft_losses = ae_train(
            ds_train,
            autoencoder,
            epochs=finetune_epochs,
            batch_size=batch_size,
            optimizer=ae_optimizer,
            scheduler=StepLR(ae_optimizer, STEP_SIZE, gamma=0.1),  # upstream: StepLR(ae_optimizer, 100, gamma=0.1)
            corruption=0.2,
        )
    t_ae = time.time() - t0
    if verbose:
        print(f"autoencoder: pretrain last losses {[round(ls[-1], 4) for ls in pre_losses]}, finetune "
              f"{[round(x, 4) for x in ft_losses[::7]]} ({t_ae:.1f}s)", flush=True)

    # DEC stage
    model = DEC(cluster_number=10, hidden_dimension=10, encoder=autoencoder.encoder)
    dec_optimizer = SGD(model.parameters(), lr=0.01 * lr_mult, momentum=0.9)
    optimizer = dec_optimizer
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    # ptdec.model.train(dataset=ds_train, model=model, epochs=100, batch_size=256, optimizer=dec_optimizer,
    # stopping_delta=0.000001, cuda=cuda), without tqdm and the callbacks
    dataset, epochs, stopping_delta = ds_train, dec_epochs, 0.000001
    static_dataloader = DataLoader(dataset, batch_size=dec_batch_size, pin_memory=False, shuffle=False)
    train_dataloader = DataLoader(dataset, batch_size=dec_batch_size, shuffle=True)
    kmeans = KMeans(n_clusters=model.cluster_number, n_init=20, random_state=seed)  # upstream: no random_state
    model.train()
    features = []
    actual = []
    # form initial cluster centres
    for batch, value in static_dataloader:
        actual.append(value)
        features.append(model.encoder(batch).detach().cpu())
    actual = torch.cat(actual).long()
    predicted = kmeans.fit_predict(torch.cat(features).numpy())
    predicted_previous = torch.tensor(np.copy(predicted), dtype=torch.long)
    _, accuracy = cluster_accuracy(predicted, actual.cpu().numpy())
    kmeans_accuracy = float(accuracy)
    cluster_centers = torch.tensor(
        kmeans.cluster_centers_, dtype=torch.float, requires_grad=True
    )
    with torch.no_grad():
        # initialise the cluster centers
        model.state_dict()["assignment.cluster_centers"].copy_(cluster_centers)
    loss_function = nn.KLDivLoss(reduction="sum")  # upstream: nn.KLDivLoss(size_average=False), the same sum
    delta_label = None
    losses, accs, deltas = [], [], []
    stopped_at = None
    for epoch in range(epochs):
        model.train()
        for _index, (batch, _) in enumerate(train_dataloader):
            output = model(batch)
            target = target_distribution(output).detach()
            loss = loss_function(output.log(), target) / output.shape[0]
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step(closure=None)
            losses.append(float(loss.item()))
            # upstream also appends model.encoder(batch) to an unused ``features`` list here; left out
        predicted, actual = dec_predict(dataset, model, batch_size=1024)
        delta_label = (
            float((predicted != predicted_previous).float().sum().item())
            / predicted_previous.shape[0]
        )
        if stopping_delta is not None and delta_label < stopping_delta:
            stopped_at = epoch  # upstream prints 'Early stopping as label delta ...'
            break
        predicted_previous = predicted
        _, accuracy = cluster_accuracy(predicted.cpu().numpy(), actual.cpu().numpy())
        accs.append(float(accuracy))
        deltas.append(delta_label)
        if verbose and (epoch % 5 == 0 or epoch == epochs - 1):
            print(f"epoch {epoch} loss {losses[-1]:.5f} acc {accuracy:.4f} dlb {delta_label:.4f} "
                  f"({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    predicted, actual = dec_predict(ds_train, model, 1024)
    _, final_accuracy = cluster_accuracy(actual.cpu().numpy(), predicted.cpu().numpy())
    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "cluster_error", "value": 1.0 - float(final_accuracy),
            "initial": 0.9, "initial_what": "chance: 1 - 0.1, the error of an uninformative assignment to 10 clusters",
            "chance": 0.9,
            "extra": dict(cluster_accuracy=float(final_accuracy), kmeans_accuracy=kmeans_accuracy,
                          lr=0.01 * lr_mult, lr_mult=lr_mult,
                          input_scale=input_scale, pretrain=pretrain, zero_grad=zero_grad,
                          dec_batch_size=dec_batch_size, dec_epochs=dec_epochs, pretrain_epochs=pretrain_epochs,
                          finetune_epochs=finetune_epochs, stopped_at=-1 if stopped_at is None else stopped_at,
                          steps=len(losses), first_loss=float(np.mean(la[:5])) if len(la) else float("nan"),
                          train_loss=float(np.mean(la[-20:])) if len(la) else float("nan"),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()),
                          best_epoch_accuracy=max(accs) if accs else float("nan"),
                          last_delta_label=deltas[-1] if deltas else float("nan"),
                          pretrain_final_losses=[float(ls[-1]) for ls in pre_losses],
                          finetune_first_loss=ft_losses[0] if ft_losses else float("nan"),
                          finetune_final_loss=float(np.mean(ft_losses[-8:])) if ft_losses else float("nan"),
                          autoencoder_seconds=t_ae),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="dec", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"pt-dec on digits (SDAE {DIMS}, layer-wise pretraining {PRETRAIN_EPOCHS} epochs and fine-tuning "
      f"{FINETUNE_EPOCHS} epochs with SGD lr 0.1 momentum 0.9, StepLR({STEP_SIZE}, 0.1), corruption 0.2; KMeans "
      f"n_init 20; DEC: SGD lr 0.01 momentum 0.9, batch 256, KLDivLoss(sum) / batch, {DEC_EPOCHS} epochs)")
CASES: list[dict] = (
    [_case(f"dec_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"dec_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: DEC-stage lr x{k} ({0.01 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1, 2))) for s in ss]
    + [_case("dec_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: DEC-stage lr /1000 (1e-05)")]
    + [_case(f"dec_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out of the DEC loop (the gradients accumulate)") for s in (1, 2)]
    + [_case("dec_batch512_s1", "healthy", 1, {"dec_batch_size": 512},
             f"{_P}: DEC-stage batch size 512 instead of 256 (expected harmless)")]
    + [_case("dec_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: DEC-stage lr x2 (0.02; expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
