"""rixwew/pytorch-fm's DeepFM (DeepFactorizationMachineModel) for click-through-rate prediction, watched by gradmedic.

Adapted from https://github.com/rixwew/pytorch-fm (commit f74ad19771eda104e99874d19dc892e988ec53fa; torchfm/layer.py,
torchfm/model/dfm.py and examples/main.py; MIT License, Copyright (c) 2019 rixwew, see LICENSE-deepfm).  Kept as
upstream (copied below): ``FeaturesLinear`` (an ``Embedding(sum(field_dims), 1)`` with PyTorch's default N(0, 1)
init, summed over the fields, plus a zero bias), ``FeaturesEmbedding`` (one table with per-field offsets,
``xavier_uniform_``), ``FactorizationMachine`` (reduce_sum, 0.5 (square of sum - sum of squares)),
``MultiLayerPerceptron`` (Linear, BatchNorm1d, ReLU, Dropout per layer, a Linear(., 1) output),
``DeepFactorizationMachineModel`` (linear + FM + MLP on the flattened embeddings, ``torch.sigmoid`` of the sum) with
main.py's ``get_model`` settings for 'dfm' (embed_dim 16, mlp_dims (16, 16), dropout 0.2), main.py's
``torch.nn.BCELoss()`` on the sigmoid output, ``torch.optim.Adam(params=model.parameters(), lr=0.001,
weight_decay=1e-6)``, batch 2048, the 80/10/10 ``random_split``, unshuffled training batches (upstream's DataLoader
has no shuffle), the loop of ``train`` (``model.zero_grad()``, ``loss.backward()``, ``optimizer.step()``) and
``test`` (``model.eval()``, ``roc_auc_score`` of the predicted probabilities), the validation AUC after every
epoch and the test AUC at the end.

Changed to run offline on one CPU thread (~12 s of CPU; 22-30 s of wall time on the shared, loaded machine): no
Criteo/Avazu/MovieLens download: ``make_data`` (fixed, data seed 0, the same for every run) makes a categorical click
log of 60000 rows and 12 fields with cardinalities drawn from 5..60 (49, 52, 58, 5, 8, 8, 44, 14, 24, 26, 55, 41: 384
feature values; each field's values Zipf-like, p ~ 1/rank^0.8), and clicks drawn from a hidden logistic model: 0.7x
per-value weights plus 1.5x rank-4 pairwise interactions of per-value latent vectors (the FM's own form; both parts
standardized), shifted so the click rate is 20.1%; on the last 10% of the rows the hidden model's AUC is 0.846 and a
one-hot logistic regression (scikit-learn, C=0.1 or 1, fitted on the first 80%) gets 0.691, so a model above ~0.70
has learned interactions (fields 16 / cardinalities up to 200 / 100000 rows were tried first: DeepFM reached only
0.67 in 12 epochs, below the linear model, as upstream's N(0, 1) ``FeaturesLinear`` init puts noise of std 4 on the
logit that Adam at 1e-3 needs many steps to remove).  EPOCHS = 30 fixed epochs of 24 steps (720 steps; upstream: up
to 100 epochs with ``EarlyStopper(num_trials=2)`` and a ``torch.save`` checkpoint each improvement; here no early
stopping and no checkpoint, the validation AUCs go to ``extra``); the batches are slices of tensors, not a
``DataLoader`` with 8 workers (same order, same batches); ``np.int64`` for ``np.long`` (removed from NumPy); no tqdm;
device CPU; ``torch.manual_seed(seed)`` before the split and the model (upstream unseeded).  Knobs (one per variant):
``lr_mult`` scales the Adam rate; ``emb_init_std`` draws ``FeaturesEmbedding``'s table from N(0, emb_init_std)
instead of xavier_uniform_ (+-0.12 here); ``bn_bias`` fills every hidden BatchNorm1d's bias (the shift just before
each ReLU; a bias on the Linear would be removed by the BatchNorm) so the MLP's ReLUs start dead; ``zero_grad=False``
leaves ``model.zero_grad()`` out; ``logits_loss=True`` uses ``torch.nn.BCEWithLogitsLoss()`` on the model's sigmoid
output (the model already applies the sigmoid); ``embed_dim``; ``batch_size``.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the
epochs.  Metric "test_auc_error": 1 - the test AUC (AUC is upstream's metric; run.py's rules know "accuracy" as their
only higher-is-better metric and treat every other name as a loss, so the AUC goes in as its error, lower is better,
as deepsvdd.py does); ``initial`` 0.5 (chance, an AUC of 0.5; the untrained model's test AUC is in ``extra`` as
``untrained_auc``, with the test log loss and the training loss).  A good outcome is an error of at most 0.35 (AUC >=
0.65); "broken" a control error below half the variant's.  Log loss was not used: with a 20% click rate a model that
learns only the base rate already sits at 0.50 against a start of ~0.7-0.9, so it would read as progress.

``CASES`` (program "deepfm"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10, x100, x1000, /1000; the embedding table N(0, 1) (seeds 1 and 2); the hidden
BatchNorm1d biases -10 (dead ReLUs); ``model.zero_grad()`` left out (seeds 1 and 2); BCEWithLogitsLoss on the
sigmoid output; and two changes expected harmless (cause "healthy"): embed_dim 8 and batch 1024.
Recorded (cases-public128; 22-30 s a run, 412 s for all 15; AUC = 1 - the metric; "loss" the training loss, first-5
and last-20 means): healthy test AUC 0.8027, 0.7940, 0.7908 on seeds 1-3 (error 0.197, 0.206, 0.209; untrained AUC
0.50-0.52; loss 1.27/1.17/1.50 -> 0.395/0.383/0.401, largest 1.34, 1.21, 1.60): healthy; lr x10 (0.01): 0.7896
(training loss 0.264: it overfits the 48000 clicks), error 1.07x the control's: healthy; lr x100 (0.1): 0.7694 (error
1.17x): ambiguous; lr x1000 (1.0): loss 31.7 -> 20.2 (largest 59: BCELoss's clamped log on saturated outputs),
0.5003: broken; lr /1000 (1e-6): loss 1.29 -> 1.28, 0.5026: broken; embedding N(0, 1): loss 25.2 -> 8.3 and 25.0 ->
8.8 (the FM term saturates the sigmoid), 0.6423 (seed 1) and 0.6335 (seed 2): broken (by half_the_progress: the
error fell 0.14 and 0.13 from 0.5 against the control's 0.30 and 0.29); BatchNorm biases -10 (dead ReLUs): 0.7789
(error 1.12x; the linear and FM parts carry the model): ambiguous; model.zero_grad() left out: training loss 0.69 and
0.66, 0.7535 (seed 1) and 0.7304 (seed 2): ambiguous; BCEWithLogitsLoss on the sigmoid output: loss 0.85 -> 0.69,
0.6896 (error 1.57x, about the linear model's AUC): ambiguous; embed_dim 8: 0.7735 (error 1.15x the control's; a
cause-"healthy" run is labelled by the good-outcome rule and not clearly worse): healthy; batch 1024:
0.8128: healthy.  Labels: 6 healthy (3 programs, lr x10, embed_dim 8, batch
1024), 4 broken (lr x1000, lr /1000, embedding N(0, 1) on seeds 1 and 2), 5 ambiguous (lr x100, dead ReLUs,
zero_grad left out on seeds 1 and 2, BCEWithLogitsLoss on probabilities).  Every run's losses were finite.  The AUC
error's "broken" needs an AUC at most ~0.60-0.65 here, so the partial harms (a DeepFM reduced to its FM, accumulated
gradients, a squeezed loss) come out ambiguous rather than broken.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) right after torch.optim.Adam(params=model.parameters(), lr=0.001, "
              "weight_decay=1e-6) is built; monitor.step(loss) right after loss.backward() (BCELoss on the sigmoid "
              "output, mean over the batch of 2048), before optimizer.step() (model.zero_grad() comes before the "
              "backward, upstream's order; no clipping)")

EPOCHS = 30  # upstream: --epoch 100 with early stopping (num_trials=2)
LEARNING_RATE = 0.001
BATCH_SIZE = 2048
WEIGHT_DECAY = 1e-6
N_ROWS = 60000
N_FIELDS = 12
MAX_CARD = 60
W_LIN, W_INT = 0.7, 1.5  # the hidden model's linear and pairwise parts (each standardized)


# ----------------------------------------------------------------------------------------------------------------------
# data (the port's; upstream reads Criteo/Avazu/MovieLens)

def make_data(n=None, num_fields=None, rank=4, seed=0):
    """A categorical click log: (fields (n, num_fields) int64, clicks (n,) float32, field_dims, true click prob)."""
    n, num_fields = n or N_ROWS, num_fields or N_FIELDS
    rng = np.random.RandomState(seed)
    field_dims = rng.randint(5, MAX_CARD + 1, size=num_fields)
    x = np.empty((n, num_fields), dtype=np.int64)
    lin = np.zeros(n)
    latents = []
    for f, d in enumerate(field_dims):
        p = 1.0 / (np.arange(d) + 1.0) ** 0.8
        p /= p.sum()
        x[:, f] = rng.choice(d, size=n, p=p)
        w = rng.randn(d) * 0.4
        lin += w[x[:, f]]
        latents.append(rng.randn(d, rank) * 0.5)
    e = np.stack([latents[f][x[:, f]] for f in range(num_fields)], 1)
    inter = 0.5 * ((e.sum(1) ** 2) - (e ** 2).sum(1)).sum(1)
    z = W_LIN * lin / lin.std() + W_INT * inter / inter.std()
    lo, hi = -20.0, 20.0  # the shift that makes the mean click probability 0.2
    for _ in range(60):
        c = 0.5 * (lo + hi)
        if (1.0 / (1.0 + np.exp(-(z + c)))).mean() > 0.2:
            hi = c
        else:
            lo = c
    prob = 1.0 / (1.0 + np.exp(-(z + 0.5 * (lo + hi))))
    y = (np.random.RandomState(seed + 1).rand(n) < prob).astype(np.float32)
    return x, y, field_dims, prob


# ----------------------------------------------------------------------------------------------------------------------
# torchfm/layer.py (the classes DeepFM uses)

class FeaturesLinear(torch.nn.Module):

    def __init__(self, field_dims, output_dim=1):
        super().__init__()
        self.fc = torch.nn.Embedding(sum(field_dims), output_dim)
        self.bias = torch.nn.Parameter(torch.zeros((output_dim,)))
        self.offsets = np.array((0, *np.cumsum(field_dims)[:-1]), dtype=np.int64)  # upstream: dtype=np.long

    def forward(self, x):
        """
        :param x: Long tensor of size ``(batch_size, num_fields)``
        """
        x = x + x.new_tensor(self.offsets).unsqueeze(0)
        return torch.sum(self.fc(x), dim=1) + self.bias


class FeaturesEmbedding(torch.nn.Module):

    def __init__(self, field_dims, embed_dim):
        super().__init__()
        self.embedding = torch.nn.Embedding(sum(field_dims), embed_dim)
        self.offsets = np.array((0, *np.cumsum(field_dims)[:-1]), dtype=np.int64)  # upstream: dtype=np.long
        torch.nn.init.xavier_uniform_(self.embedding.weight.data)

    def forward(self, x):
        """
        :param x: Long tensor of size ``(batch_size, num_fields)``
        """
        x = x + x.new_tensor(self.offsets).unsqueeze(0)
        return self.embedding(x)


class FactorizationMachine(torch.nn.Module):

    def __init__(self, reduce_sum=True):
        super().__init__()
        self.reduce_sum = reduce_sum

    def forward(self, x):
        """
        :param x: Float tensor of size ``(batch_size, num_fields, embed_dim)``
        """
        square_of_sum = torch.sum(x, dim=1) ** 2
        sum_of_square = torch.sum(x ** 2, dim=1)
        ix = square_of_sum - sum_of_square
        if self.reduce_sum:
            ix = torch.sum(ix, dim=1, keepdim=True)
        return 0.5 * ix


class MultiLayerPerceptron(torch.nn.Module):

    def __init__(self, input_dim, embed_dims, dropout, output_layer=True):
        super().__init__()
        layers = list()
        for embed_dim in embed_dims:
            layers.append(torch.nn.Linear(input_dim, embed_dim))
            layers.append(torch.nn.BatchNorm1d(embed_dim))
            layers.append(torch.nn.ReLU())
            layers.append(torch.nn.Dropout(p=dropout))
            input_dim = embed_dim
        if output_layer:
            layers.append(torch.nn.Linear(input_dim, 1))
        self.mlp = torch.nn.Sequential(*layers)

    def forward(self, x):
        """
        :param x: Float tensor of size ``(batch_size, embed_dim)``
        """
        return self.mlp(x)


# ----------------------------------------------------------------------------------------------------------------------
# torchfm/model/dfm.py

class DeepFactorizationMachineModel(torch.nn.Module):
    """
    A pytorch implementation of DeepFM.

    Reference:
        H Guo, et al. DeepFM: A Factorization-Machine based Neural Network for CTR Prediction, 2017.
    """

    def __init__(self, field_dims, embed_dim, mlp_dims, dropout):
        super().__init__()
        self.linear = FeaturesLinear(field_dims)
        self.fm = FactorizationMachine(reduce_sum=True)
        self.embedding = FeaturesEmbedding(field_dims, embed_dim)
        self.embed_output_dim = len(field_dims) * embed_dim
        self.mlp = MultiLayerPerceptron(self.embed_output_dim, mlp_dims, dropout)

    def forward(self, x):
        """
        :param x: Long tensor of size ``(batch_size, num_fields)``
        """
        embed_x = self.embedding(x)
        x = self.linear(x) + self.fm(embed_x) + self.mlp(embed_x.view(-1, self.embed_output_dim))
        return torch.sigmoid(x.squeeze(1))


# ----------------------------------------------------------------------------------------------------------------------
# examples/main.py's test (with the batches as slices) and the training loop

def _batches(fields, target, batch_size):
    for i in range(0, len(fields), batch_size):  # upstream: DataLoader(..., batch_size=batch_size, num_workers=8)
        yield fields[i:i + batch_size], target[i:i + batch_size]


def test(model, fields_all, target_all, batch_size):
    model.eval()
    targets, predicts = list(), list()
    with torch.no_grad():
        for fields, target in _batches(fields_all, target_all, batch_size):
            y = model(fields)
            targets.extend(target.tolist())
            predicts.extend(y.tolist())
    p = np.array(predicts)
    if not np.isfinite(p).all():  # roc_auc_score rejects NaN (upstream would stop with an error here)
        return float("nan"), float("nan")
    t = np.array(targets)
    pc = np.clip(p, 1e-7, 1 - 1e-7)
    logloss = float(-np.mean(t * np.log(pc) + (1 - t) * np.log(1 - pc)))
    return float(roc_auc_score(targets, predicts)), logloss


def train(seed: int = 1, lr_mult: float = 1.0, emb_init_std: float | None = None, bn_bias: float | None = None,
          zero_grad: bool = True, logits_loss: bool = False, embed_dim: int = 16, batch_size: int = BATCH_SIZE,
          epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    x, y, field_dims, prob = make_data()
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    torch.manual_seed(seed)  # upstream: unseeded
    train_length = int(len(dataset) * 0.8)
    valid_length = int(len(dataset) * 0.1)
    test_length = len(dataset) - train_length - valid_length
    train_dataset, valid_dataset, test_dataset = torch.utils.data.random_split(
        dataset, (train_length, valid_length, test_length))

    def _tensors(subset):
        idx = torch.tensor(subset.indices)
        return dataset.tensors[0][idx], dataset.tensors[1][idx]

    train_x, train_y = _tensors(train_dataset)
    valid_x, valid_y = _tensors(valid_dataset)
    test_x, test_y = _tensors(test_dataset)

    model = DeepFactorizationMachineModel(field_dims, embed_dim=embed_dim, mlp_dims=(16, 16), dropout=0.2)
    if emb_init_std is not None:  # the init_large variant: N(0, std) for the embedding table instead of xavier_uniform_
        torch.nn.init.normal_(model.embedding.embedding.weight, mean=0.0, std=emb_init_std)
    if bn_bias is not None:  # the dead_relu variant: every hidden BatchNorm1d's bias (just before its ReLU)
        for m in model.mlp.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                torch.nn.init.constant_(m.bias, bn_bias)
    untrained_auc, untrained_logloss = test(model, test_x, test_y, batch_size)

    criterion = torch.nn.BCEWithLogitsLoss() if logits_loss else torch.nn.BCELoss()  # logits_loss: the wrong_loss bug
    lr = LEARNING_RATE * lr_mult
    optimizer = torch.optim.Adam(params=model.parameters(), lr=lr, weight_decay=WEIGHT_DECAY)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    losses, valid_aucs = [], []
    for epoch_i in range(epochs):
        # main.py's train(model, optimizer, train_data_loader, criterion, device)
        model.train()
        for fields, target in _batches(train_x, train_y, batch_size):
            y_hat = model(fields)
            loss = criterion(y_hat, target.float())
            if zero_grad:  # the no_zero_grad variant leaves this out
                model.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())
        auc, _ = test(model, valid_x, valid_y, batch_size)
        valid_aucs.append(auc)
        if verbose:
            print('epoch:', epoch_i, 'validation: auc:', auc, f'loss {np.mean(losses[-20:]):.4f} '
                  f'({time.time() - t0:.1f}s)', flush=True)
    monitor.close()
    auc, logloss = test(model, test_x, test_y, batch_size)
    if verbose:
        print(f'test auc: {auc}')
    la = np.array(losses)
    fin = la[np.isfinite(la)]
    return {"monitors": {"": monitor}, "metric": "test_auc_error", "value": 1.0 - auc,
            "initial": 0.5, "initial_what": "chance: 1 - an AUC of 0.5 (an uninformative click score)", "chance": 0.5,
            "extra": dict(test_auc=auc, test_logloss=logloss, untrained_auc=untrained_auc,
                          untrained_logloss=untrained_logloss, valid_aucs=[float(v) for v in valid_aucs],
                          bayes_test_auc=float(roc_auc_score(test_y.numpy(), prob[np.array(test_dataset.indices)])),
                          train_loss=float(np.mean(la[-20:])), first_loss=float(np.mean(la[:5])),
                          max_loss=float(fin.max()) if fin.size else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), steps=len(la), epochs=epochs, lr=lr,
                          lr_mult=lr_mult, emb_init_std=-1.0 if emb_init_std is None else emb_init_std,
                          bn_bias=0.0 if bn_bias is None else bn_bias, zero_grad=zero_grad, logits_loss=logits_loss,
                          embed_dim=embed_dim, batch_size=batch_size, click_rate=float(y.mean()),
                          field_dims=[int(d) for d in field_dims]),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="deepfm", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"DeepFM (embed_dim 16, mlp_dims (16, 16), dropout 0.2; BCELoss on the sigmoid output; Adam lr "
      f"{LEARNING_RATE:g}, weight_decay {WEIGHT_DECAY:g}; batch {BATCH_SIZE}, {EPOCHS} epochs of {int(N_ROWS * 0.8)} clicks)")
CASES: list[dict] = (
    [_case(f"deepfm_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"deepfm_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({LEARNING_RATE * k:g})")
       for k, ss in ((10, (1,)), (100, (1,)), (1000, (1,))) for s in ss]
    + [_case("deepfm_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3},
             f"{_P}: Adam lr /1000 ({LEARNING_RATE * 1e-3:g})")]
    + [_case(f"deepfm_emb_std1_s{s}", "init_large", s, {"emb_init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on FeaturesEmbedding's table instead of xavier_uniform_ (+-0.12)")
       for s in (1, 2)]
    + [_case("deepfm_dead_relu_s1", "dead_relu", 1, {"bn_bias": -10.0},
             f"{_P}: the bias of both hidden BatchNorm1d layers (just before the ReLUs) set to -10: the MLP's ReLUs "
             f"start dead")]
    + [_case(f"deepfm_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: model.zero_grad() left out of the loop (the gradients accumulate)") for s in (1, 2)]
    + [_case(f"deepfm_logits_loss_s{s}", "wrong_loss", s, {"logits_loss": True},
             f"{_P}: torch.nn.BCEWithLogitsLoss() on the model's output, which is already a sigmoid") for s in (1,)]
    + [_case("deepfm_embed8_s1", "healthy", 1, {"embed_dim": 8}, f"{_P}: embed_dim 8 instead of 16 (expected harmless)")]
    + [_case("deepfm_batch1024_s1", "healthy", 1, {"batch_size": 1024},
             f"{_P}: batch 1024 instead of 2048 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
