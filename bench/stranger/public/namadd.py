"""Neural Additive Models (AmrMKayid/nam: ExU feature nets summed, penalized BCE, Adam), watched by gradmedic.

Adapted from https://github.com/AmrMKayid/nam (commit fc2da75ba008c4ef02a83747f2116036fa6fec46; MIT License,
Copyright (c) 2020 Amr M. Kayid, see LICENSE-namadd): nam/config/default.py (``defaults()``), nam/models/activation/exu.py
and relu.py (``ExU``, ``LinReLU``), nam/models/base.py, featurenn.py and nam.py (``Model``, ``FeatureNN``, ``NAM``),
nam/models/utils.py (``get_num_units``), nam/trainer/losses.py (``penalized_loss``, ``bce_loss``, ``mse_loss``),
nam/trainer/metrics.py (``accuracy``), nam/data/datasets.py's ``load_breast_data`` with nam/data/base.py's
``NAMDataset`` and nam/data/utils.py's ``transform_data``, nam/trainer/litnam.py's ``configure_optimizers``, and the
loop of nam/trainer/trainer.py (``train_step``, ``evaluate_epoch``).  Kept as upstream has them: one ``FeatureNN``
per input column (an ``ExU`` layer, ``(x - b) @ exp(W)`` with ReLU-n capped at n=1, then ``nn.Linear(units, 1)``,
``hidden_sizes=[]`` so no LinReLU layers; ``nn.Dropout(config.dropout)`` after every layer, the last included), the
NAM's sum of the per-feature outputs after a second ``nn.Dropout(config.dropout)`` plus a zero-initialized bias (the
config's ``feature_dropout`` is never read upstream: the NAM's "feature dropout" is ``config.dropout``);
``ExU.reset_parameters``' ``trunc_normal_(weights, mean=4.0, std=0.5)`` with torch's default bounds a=-2, b=2, so every
ExU weight starts near 2 (torch warns that the mean is more than 2 std from [a, b]; exp(w) ~ 7.4, not the paper's
exp(4)); ``get_num_units`` (min(num_basis_functions, 2 x the column's unique values) units per feature);
``penalized_loss`` (BCE-with-logits, plus output_regularization 0.1 x the mean squared per-feature output, plus
l2_regularization 0.1 x the sum of squares of *every* parameter over the number of feature nets); the
``defaults()`` config (lr 1e-2, batch_size 128, dropout 0.1, decay_rate 0.995, regression False, activation 'exu');
the breast-cancer data as ``load_breast_data`` builds it (all 30 columns min-max scaled to (-1, 1) over the whole
table, target 0/1, ``random_split`` into 411 train / 45 val / 113 test rows, a shuffled train DataLoader); upstream's
``accuracy`` (targets > 0 against logits > 0.5, the logit, not the probability, at 0.5) as the metric.

The optimizer: main.py trains ``LitNAM`` under ``pl.Trainer``, whose ``configure_optimizers`` builds
``torch.optim.AdamW(self.parameters(), lr=config.lr, weight_decay=config.decay_rate)`` (0.995) and
``StepLR(optimizer, gamma=0.995, step_size=1)`` stepped once per epoch; that is used here.  nam/trainer/trainer.py's
plain ``Trainer`` builds ``torch.optim.Adam`` with the same arguments (coupled L2 of 0.995, no scheduler); tried
first on 100 epochs it reached test accuracy 0.91-0.96 with the training BCE stuck near 0.40 (the coupled decay pulls
every weight, the output bias too, to zero), too close to the 0.9 line to compare variants against, so the Lightning
path is the one recorded.  The loop is Lightning's automatic optimization written out in trainer.py's shape:
``optimizer.zero_grad()``, ``predictions, fnn_out = model(features)``, the penalized loss, ``loss.backward()``,
``optimizer.step()``; the validation pass after each epoch (no effect on training), then ``scheduler.step()``.

Changed to run offline on one CPU thread in ~10 s: NUM_EPOCHS = 50 (200 steps; upstream's default num_epochs = 10
would give the watch, every=10, four records); num_basis_functions 100 instead of 1000 (3000 ExU units over the 30
features instead of 29396: each column of this table has 2 x its unique values > 1000 for most columns, so every
feature net would have 1000 units; the 1000-unit program, tried with the Trainer's Adam for 100 epochs, took ~60 s and
reached 0.92); seed 2020 + seed instead of ``pl.seed_everything(2021)`` (seed 1 is upstream's); the table built
without pandas (scikit-learn's ``MinMaxScaler((-1, 1))`` on the numeric array, which is what ``transform_data``'s
pipeline computes for an all-numeric table; upstream's ``OneHotEncoder(sparse=False)`` and pandas are not needed); no
TensorBoard/wandb logging, checkpoints, ray.tune reports, tqdm bars or plots; the test accuracy computed once over the
113 test rows (upstream's ``test()`` averages per-batch accuracies over its 128-row batches, a single batch here).
Knobs (one per variant): ``lr_mult`` scales the learning rate; ``exu_weight_mean`` draws the ExU weights from
trunc_normal_(mean, 0.5) truncated to mean +-1; ``linear_std`` draws each feature net's ``nn.Linear`` weight from N(0,
linear_std); ``feature_scale`` multiplies the scaled features; ``raw_features`` leaves the MinMaxScaler out;
``zero_grad=False`` leaves ``optimizer.zero_grad()`` out; ``batch_size`` and ``dropout`` replace the config's.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer and
scheduler are built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``;
``monitor.close()`` after the loop.  Metric "accuracy": upstream's ``accuracy`` on the 113 test rows (majority class
0.627); ``extra`` holds the training loss (penalized) and BCE at the start and end, the test BCE, and the accuracy
with the threshold at logit 0.

``CASES`` (program "namadd"): the program on seeds 1-3 (three splits and inits), and one change each against the same
seed's healthy run: lr x10, x100 (seeds 1 and 2), x1000, /1000; ExU weights around 8 (exp(w) ~ 3000, the brief's "ExU
weights far too large"); N(0, 1) last-Linear weights; the scaled features x100; the MinMaxScaler left out;
``optimizer.zero_grad()`` left out (seeds 1 and 2); and two changes expected harmless: batch size 64 and dropout 0
(cause "healthy").  Labels come from run.py's outcome rules only.
Recorded (cases-public159; 16 runs, 7-13 s each on the shared 2-core machine, 143 s in all): healthy test accuracy
0.947, 0.947, 0.956 on seeds 1-3 (penalized training loss 34.2-34.7 over the first 5 steps, mostly the weight
penalty, -> 0.22 over the last 20; training BCE 0.61-0.92 -> 0.16; largest loss 36.6-36.8; every loss finite);
lr x10 (0.1): first-5 loss 26.4, largest 47.2, 0.938: healthy; lr x100 (1): first-5 BCE 41.5 and 26.9, largest loss
205 and 129, training BCE 0.34 and 0.43 at the end, 0.814 (seed 1): broken, 0.894 (seed 2): ambiguous; lr x1000
(10): loss non-finite (largest finite 4.6e6), 0.407: broken; lr /1000 (1e-5): loss 36.7 -> 36.3, training BCE 0.59,
0.752: broken; ExU weights around 8: loss 614 -> 10.9 (the weight penalty), training BCE 0.15, 0.956: ambiguous (no
harm to the accuracy, but its largest loss, 643, is over twice the control's); last Linear N(0, 1): first-5 BCE 2.9,
largest loss 51.9, 0.947: healthy; features x100: 0.920: healthy; raw features: first-5 BCE 4.5, 0.912: ambiguous
(0.035 under the control); zero_grad left out: the training BCE rises (1.41 -> 1.60 on seed 1, 0.77 -> 1.07 on seed
2), 0.850 (seed 1): ambiguous (0.097 under the control, just short of 10 points), 0.611 (seed 2): broken; batch 64:
0.956: healthy; dropout 0: 0.956: healthy.  Labels: 8 healthy (3 programs, lr x10, last Linear N(0, 1), features x100,
batch 64, dropout 0), 4 broken, 4 ambiguous; one non-finite run (lr x1000).  The heavy regularization (decoupled
decay 0.995 and the summed-square penalty) pulls bad inits back within a few dozen steps, and the ReLU-1 cap bounds
every unit, so init and input-scale changes leave this table's accuracy nearly unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parameter import Parameter
from torch.utils.data import DataLoader, random_split

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) right after LitNAM's torch.optim.AdamW(model.parameters(), lr=1e-2, "
              "weight_decay=0.995) and StepLR(gamma=0.995, step_size=1) are built; monitor.step(loss) right after "
              "loss.backward() of train_step (loss = penalized_loss: BCE-with-logits + 0.1 output penalty + 0.1 "
              "summed-square weight penalty), before optimizer.step(); optimizer.zero_grad() comes before the forward, "
              "upstream's order; the scheduler steps once per epoch")

NUM_EPOCHS = 50  # upstream: num_epochs=10
NUM_BASIS = 100  # upstream: num_basis_functions=1000


def defaults(**kw) -> SimpleNamespace:
    """nam/config/default.py's values that the program uses (upstream: a Config(SimpleNamespace) with logging,
    saver, folds and device entries as well)."""
    config = SimpleNamespace(
        seed=2021,
        regression=False,

        ## training
        num_epochs=NUM_EPOCHS,  # upstream: 10
        lr=1e-2,
        batch_size=128,

        ## Hidden size for layers
        hidden_sizes=[],  #[64, 32],

        ## Activation choice
        activation='exu',  ## Either `ExU` or `Relu`

        ## regularization_techniques
        dropout=0.1,
        feature_dropout=0.1,  #0.5,
        decay_rate=0.995,
        l2_regularization=0.1,
        output_regularization=0.1,

        ## Num units for FeatureNN
        num_basis_functions=NUM_BASIS,  # upstream: 1000
        units_multiplier=2,
        shuffle=True,

        use_dnn=False,
    )
    for k, v in kw.items():
        setattr(config, k, v)
    return config


# ----------------------------------------------------------------------------- nam/models/activation/exu.py, relu.py

class ExU(torch.nn.Module):

    def __init__(
        self,
        in_features: int,
        out_features: int,
        weight_mean: float = 4.0,
    ) -> None:
        super(ExU, self).__init__()  # noqa: UP008 (as upstream)
        self.in_features = in_features
        self.out_features = out_features
        self.weight_mean = weight_mean  # the init_large variant: a larger mean than upstream's 4.0
        self.weights = Parameter(torch.Tensor(in_features, out_features))
        self.bias = Parameter(torch.Tensor(in_features))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        ## Page(4): initializing the weights using a normal distribution
        ##          N(x; 0:5) with x 2 [3; 4] works well in practice.
        if self.weight_mean == 4.0:
            torch.nn.init.trunc_normal_(self.weights, mean=4.0, std=0.5)  # (a=-2, b=2 by default: all weights near 2)
        else:  # the init_large variant: N(weight_mean, 0.5) truncated to +-1 around its own mean
            torch.nn.init.trunc_normal_(self.weights, mean=self.weight_mean, std=0.5, a=self.weight_mean - 1,
                                        b=self.weight_mean + 1)
        torch.nn.init.trunc_normal_(self.bias, std=0.5)

    def forward(
        self,
        inputs: torch.Tensor,
        n: int = 1,
    ) -> torch.Tensor:
        output = (inputs - self.bias).matmul(torch.exp(self.weights))

        # ReLU activations capped at n (ReLU-n)
        output = F.relu(output)
        output = torch.clamp(output, 0, n)

        return output

    def extra_repr(self):
        return f'in_features={self.in_features}, out_features={self.out_features}'


class LinReLU(torch.nn.Module):
    __constants__ = ['bias']

    def __init__(
        self,
        in_features: int,
        out_features: int,
    ) -> None:
        super(LinReLU, self).__init__()  # noqa: UP008 (as upstream)
        self.in_features = in_features
        self.out_features = out_features
        self.weights = Parameter(torch.Tensor(in_features, out_features))
        self.bias = Parameter(torch.Tensor(in_features))

        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.weights)
        torch.nn.init.trunc_normal_(self.bias, std=0.5)

    def forward(
        self,
        inputs: torch.Tensor,
    ) -> torch.Tensor:
        output = (inputs - self.bias) @ self.weights
        output = F.relu(output)

        return output

    def extra_repr(self):
        return f'in_features={self.in_features}, out_features={self.out_features}'


# ----------------------------------------------------------------------------- nam/models/base.py, featurenn.py, nam.py

class Model(torch.nn.Module):

    def __init__(self, config, name):
        super(Model, self).__init__()  # noqa: UP008 (as upstream)
        self._config = config
        self._name = name

    def forward(self):
        raise NotImplementedError

    def __str__(self):
        return f'{self.__class__.__name__}(name={self._name})'

    @property
    def config(self):
        return self._config

    @property
    def name(self):
        return self._name


class FeatureNN(Model):
    """Neural Network model for each individual feature."""

    def __init__(
        self,
        config,
        name,
        *,
        input_shape: int,
        num_units: int,
        feature_num: int = 0,
        exu_weight_mean: float = 4.0,
    ) -> None:
        """Initializes FeatureNN hyperparameters.

        Args:
          num_units: Number of hidden units in first hidden layer.
          dropout: Coefficient for dropout regularization.
          feature_num: Feature Index used for naming the hidden layers.
        """
        super(FeatureNN, self).__init__(config, name)  # noqa: UP008 (as upstream)
        self._input_shape = input_shape
        self._num_units = num_units
        self._feature_num = feature_num
        self.dropout = nn.Dropout(p=self.config.dropout)

        hidden_sizes = [self._num_units] + self.config.hidden_sizes

        layers = []

        ## First layer is ExU
        if self.config.activation == "exu":
            layers.append(ExU(in_features=input_shape, out_features=num_units, weight_mean=exu_weight_mean))
        else:
            layers.append(LinReLU(in_features=input_shape, out_features=num_units))

        ## Hidden Layers
        for in_features, out_features in zip(hidden_sizes, hidden_sizes[1:], strict=False):
            layers.append(LinReLU(in_features, out_features))

        ## Last Linear Layer
        layers.append(nn.Linear(in_features=hidden_sizes[-1], out_features=1))

        self.model = nn.ModuleList(layers)
        # self.apply(init_weights)

    def forward(self, inputs) -> torch.Tensor:
        """Computes FeatureNN output with either evaluation or training
        mode."""
        outputs = inputs.unsqueeze(1)
        for layer in self.model:
            outputs = self.dropout(layer(outputs))
        return outputs


class NAM(Model):

    def __init__(
        self,
        config,
        name,
        *,
        num_inputs: int,
        num_units: int,
        exu_weight_mean: float = 4.0,
    ) -> None:
        super(NAM, self).__init__(config, name)  # noqa: UP008 (as upstream)

        self._num_inputs = num_inputs
        self.dropout = nn.Dropout(p=self.config.dropout)

        if isinstance(num_units, list):
            assert len(num_units) == num_inputs
            self._num_units = num_units
        elif isinstance(num_units, int):
            self._num_units = [num_units for _ in range(self._num_inputs)]

        ## Builds the FeatureNNs on the first call.
        self.feature_nns = nn.ModuleList([
            FeatureNN(config=config, name=f'FeatureNN_{i}', input_shape=1, num_units=self._num_units[i], feature_num=i,
                      exu_weight_mean=exu_weight_mean)
            for i in range(num_inputs)
        ])

        self._bias = torch.nn.Parameter(data=torch.zeros(1))

    def calc_outputs(self, inputs: torch.Tensor) -> Sequence[torch.Tensor]:
        """Returns the output computed by each feature net."""
        return [self.feature_nns[i](inputs[:, i]) for i in range(self._num_inputs)]

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        individual_outputs = self.calc_outputs(inputs)
        conc_out = torch.cat(individual_outputs, dim=-1)
        dropout_out = self.dropout(conc_out)

        out = torch.sum(dropout_out, dim=-1)
        return out + self._bias, dropout_out


def get_num_units(
    config,
    features: torch.Tensor,
) -> list:
    features = features.cpu()
    num_unique_vals = [len(np.unique(features[:, i])) for i in range(features.shape[1])]

    num_units = [min(config.num_basis_functions, i * config.units_multiplier) for i in num_unique_vals]

    return num_units


# ----------------------------------------------------------------------------- nam/trainer/losses.py, metrics.py

def bce_loss(logits: torch.Tensor, targets: torch.Tensor, weights: torch.tensor) -> torch.Tensor:
    """Cross entropy loss for binary classification."""
    return F.binary_cross_entropy_with_logits(logits.view(-1), targets.view(-1))


def mse_loss(logits: torch.Tensor, targets: torch.Tensor, weights: torch.tensor) -> torch.Tensor:
    """Mean squared error loss for regression."""
    return F.mse_loss(logits.view(-1), targets.view(-1))


def penalized_loss(config, logits: torch.Tensor, targets: torch.Tensor, weights: torch.tensor,
                   fnn_out: torch.Tensor, model: nn.Module) -> torch.Tensor:
    """Computes penalized loss with L2 regularization and output penalty."""

    def features_loss(per_feature_outputs: torch.Tensor) -> torch.Tensor:
        """Penalizes the L2 norm of the prediction of each feature net."""
        per_feature_norm = [  # L2 Regularization
            torch.mean(torch.square(outputs)) for outputs in per_feature_outputs
        ]
        return sum(per_feature_norm) / len(per_feature_norm)

    def weight_decay(model: nn.Module) -> torch.Tensor:
        """Penalizes the L2 norm of weights in each feature net."""
        num_networks = 1 if config.use_dnn else len(model.feature_nns)
        l2_losses = [(x**2).sum() for x in model.parameters()]
        return sum(l2_losses) / num_networks

    loss_func = mse_loss if config.regression else bce_loss
    loss = loss_func(logits, targets, weights)

    reg_loss = 0.0
    if config.output_regularization > 0:
        reg_loss += config.output_regularization * features_loss(fnn_out)

    if config.l2_regularization > 0:
        reg_loss += config.l2_regularization * weight_decay(model)

    return loss + reg_loss


def accuracy(logits, targets):
    return (((targets.view(-1) > 0) == (logits.view(-1) > 0.5)).sum() / targets.numel()).item()


# ----------------------------------------------------------------------------- nam/data: load_breast_data, NAMDataset

class NAMDataset(torch.utils.data.Dataset):
    """NAMDataset on scikit-learn's breast cancer table (nam/data/datasets.py's load_breast_data): the features
    min-max scaled to (-1, 1) over the whole table (transform_data), the 0/1 target, and random_split into
    train / val / test (test 20%, val 10% of the rest)."""

    def __init__(self, config, feature_scale: float = 1.0, raw_features: bool = False) -> None:
        from sklearn.datasets import load_breast_cancer
        from sklearn.preprocessing import MinMaxScaler

        self._config = config
        breast_cancer = load_breast_cancer()
        # upstream: a pandas DataFrame through transform_data's ColumnTransformer (every column numeric, so the
        # identity FunctionTransformer) and MinMaxScaler((-1, 1)); the same numbers without pandas
        if raw_features:  # the unscaled_inputs variant: transform_data's MinMaxScaler((-1, 1)) left out
            self.features = breast_cancer.data.copy()
        else:
            self.features = MinMaxScaler((-1, 1)).fit_transform(breast_cancer.data)
        self.features = self.features * feature_scale  # the unscaled_inputs variant: x100
        targets = breast_cancer.target
        self.features = torch.from_numpy(self.features).float()
        self.targets = torch.from_numpy(targets).view(-1, 1).float()
        self.setup_dataloaders()

    @property
    def config(self):
        return self._config

    def __len__(self):
        return len(self.features)

    def __getitem__(self, idx: int):
        return self.features[idx], self.targets[idx]  #, self.wgts[idx]

    def setup_dataloaders(self, val_split: float = 0.1, test_split: float = 0.2):
        test_size = int(test_split * len(self))
        val_size = int(val_split * (len(self) - test_size))
        train_size = len(self) - val_size - test_size

        train_subset, val_subset, test_subset = random_split(self, [train_size, val_size, test_size])

        self.train_dl = DataLoader(train_subset, batch_size=self.config.batch_size, shuffle=True)

        self.val_dl = DataLoader(val_subset, batch_size=self.config.batch_size, shuffle=False)

        self.test_dl = DataLoader(test_subset, batch_size=self.config.batch_size, shuffle=False)

    def train_dataloaders(self):
        return self.train_dl, self.val_dl

    def test_dataloaders(self) -> DataLoader:
        return self.test_dl


# ----------------------------------------------------------------------------- the loop: LitNAM under pl.Trainer
# (main.py), written out in nam/trainer/trainer.py's shape (train_step, evaluate_epoch)

def train(seed: int = 1, lr_mult: float = 1.0, exu_weight_mean: float = 4.0, feature_scale: float = 1.0,
          zero_grad: bool = True, raw_features: bool = False, linear_std: float | None = None,
          batch_size: int | None = None, dropout: float | None = None,
          num_epochs: int | None = None, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    config = defaults(seed=2020 + seed)  # upstream: seed=2021 (seed 1 is upstream's)
    if batch_size is not None:
        config.batch_size = batch_size
    if dropout is not None:
        config.dropout = dropout
    if num_epochs is not None:
        config.num_epochs = num_epochs
    torch.manual_seed(config.seed)  # upstream: pl.seed_everything(config.seed)
    np.random.seed(config.seed)

    dataset = NAMDataset(config, feature_scale=feature_scale, raw_features=raw_features)
    model = NAM(
        config=config,
        name="NAM_BREAST",
        num_inputs=len(dataset[0][0]),
        num_units=get_num_units(config, dataset.features),
        exu_weight_mean=exu_weight_mean,
    )
    if linear_std is not None:  # the init_large variant: each feature net's last nn.Linear drawn from N(0, linear_std)
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=linear_std)
    # LitNAM.configure_optimizers (main.py's path; nam/trainer/trainer.py's Trainer has torch.optim.Adam with the same
    # arguments and no scheduler)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr * lr_mult, weight_decay=config.decay_rate)

    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, gamma=0.995, step_size=1)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    def criterion(inputs, targets, weights, fnns_out, model):
        return penalized_loss(config, inputs, targets, weights, fnns_out, model)

    dataloader_train, dataloader_val = dataset.train_dataloaders()
    dataloader_test = dataset.test_dataloaders()

    losses, bces = [], []

    def train_step(batch):
        features, targets = batch

        # Resets optimizer's gradients.
        if zero_grad:  # the no_zero_grad variant leaves this out
            optimizer.zero_grad()

        # Forward pass from the model.
        predictions, fnn_out = model(features)

        loss = criterion(predictions, targets, None, fnn_out, model)
        metrics = accuracy(predictions, targets)

        # Backward pass.
        loss.backward()
        monitor.step(loss)  # gradmedic

        # Performs a gradient descent step.
        optimizer.step()
        losses.append(float(loss.detach()))
        bces.append(float(bce_loss(predictions.detach(), targets, None)))
        return loss, metrics

    def evaluate_epoch(dataloader):
        model.eval()
        loss, metrics, n = 0.0, 0.0, 0
        for features, targets in dataloader:
            with torch.no_grad():
                predictions, fnn_out = model(features)
                loss += float(criterion(predictions, targets, None, fnn_out, model))
                metrics += accuracy(predictions, targets)
                n += 1
        return loss / n, metrics / n

    for epoch in range(config.num_epochs):
        model.train()
        loss_train, metrics_train = 0.0, 0.0
        for batch in dataloader_train:  # upstream: a tqdm bar
            step_loss, step_metrics = train_step(batch)
            loss_train += float(step_loss.detach())
            metrics_train += step_metrics
        loss_train, metrics_train = loss_train / len(dataloader_train), metrics_train / len(dataloader_train)
        loss_val, metrics_val = evaluate_epoch(dataloader_val)
        scheduler.step()  # Lightning steps an epoch-interval scheduler after the epoch's validation
        # upstream: TensorBoard writes, checkpoints every save_model_frequency epochs, ray.tune.report
        if verbose and (epoch % 10 == 0 or epoch == config.num_epochs - 1):
            print(f"Epoch({epoch}): TL: {loss_train:.3f} | VL: {loss_val:.3f} | Accuracy: {metrics_train:.3f} "
                  f"| val Accuracy: {metrics_val:.3f} | bce {np.mean(bces[-4:]):.3f}", flush=True)
    monitor.close()

    # the test set: one pass (upstream's test() evaluates it num_epochs times over, the same numbers each time);
    # the accuracy over all 113 test rows (upstream averages the per-batch accuracies)
    model.eval()
    with torch.no_grad():
        test_x = torch.stack([dataset[i][0] for i in dataloader_test.dataset.indices])
        test_y = torch.stack([dataset[i][1] for i in dataloader_test.dataset.indices])
        logits, fnn_out = model(test_x)
        test_acc = accuracy(logits, test_y)
        test_acc_p05 = float(((logits.view(-1) > 0) == (test_y.view(-1) > 0)).float().mean())
        test_bce = float(bce_loss(logits, test_y, None))
    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(test_acc), "chance": 0.627,
            "initial": None, "initial_what": "majority-class accuracy 0.627 (357 of 569 benign)",
            "extra": dict(lr=config.lr * lr_mult, train_loss=float(np.mean(la[-20:])), first_loss=float(np.mean(la[:5])),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), steps=len(la), epochs=config.num_epochs,
                          train_bce=float(np.mean(bces[-20:])), first_bce=float(np.mean(bces[:5])),
                          test_bce=test_bce, test_acc_logit0=test_acc_p05, val_acc=float(metrics_val),
                          train_acc=float(metrics_train), lr_mult=lr_mult, exu_weight_mean=exu_weight_mean,
                          feature_scale=feature_scale, zero_grad=zero_grad, batch_size=config.batch_size,
                          dropout=config.dropout, test_rows=len(test_y),
                          num_units=int(sum(get_num_units(config, dataset.features)))),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="namadd", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"NAM on breast cancer (30 ExU feature nets of min(100, 2 x unique values) units, ReLU-1, dropout 0.1, summed "
      f"plus a bias; BCE-with-logits + 0.1 output penalty + 0.1 weight penalty; AdamW lr 1e-2 weight_decay 0.995, "
      f"StepLR 0.995 per epoch; batch 128; {NUM_EPOCHS} epochs)")
CASES: list[dict] = (
    [_case(f"namadd_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"namadd_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({1e-2 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("namadd_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 (1e-05)")]
    + [_case("namadd_exu_mean8_s1", "init_large", 1, {"exu_weight_mean": 8.0},
             f"{_P}: ExU weights from trunc_normal_(mean=8, std=0.5, a=7, b=9) (exp(w) ~ 3000; upstream's mean=4 "
             f"with the default bounds +-2 gives weights near 2, exp(w) ~ 7.4)")]
    + [_case("namadd_linear_std1_s1", "init_large", 1, {"linear_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on each feature net's last nn.Linear weight (default U(+-0.1))")]
    + [_case("namadd_features_x100_s1", "unscaled_inputs", 1, {"feature_scale": 100.0},
             f"{_P}: the min-max scaled features multiplied by 100 (range +-100)")]
    + [_case("namadd_raw_features_s1", "unscaled_inputs", 1, {"raw_features": True},
             f"{_P}: transform_data's MinMaxScaler((-1, 1)) left out (raw features, up to 4254)")]
    + [_case(f"namadd_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)") for s in (1, 2)]
    + [_case("namadd_batch64_s1", "healthy", 1, {"batch_size": 64}, f"{_P}: batch_size 64 instead of 128 "
             f"(expected harmless)")]
    + [_case("namadd_no_dropout_s1", "healthy", 1, {"dropout": 0.0}, f"{_P}: dropout 0 instead of 0.1 "
             f"(expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
