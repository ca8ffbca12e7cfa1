"""DeepCTR-Torch's DCN (Deep & Cross Network) for click-through-rate prediction, watched by gradmedic.

Adapted from https://github.com/shenweichen/DeepCTR-Torch (commit f6854257b1fc29caab655ce72c6b5528b7432574;
deepctr_torch/models/dcn.py, deepctr_torch/layers/interaction.py (CrossNet), deepctr_torch/layers/core.py (DNN,
PredictionLayer), deepctr_torch/inputs.py (SparseFeat, DenseFeat, build_input_features, combined_dnn_input,
create_embedding_matrix), deepctr_torch/models/basemodel.py (Linear, BaseModel, the loop of ``fit``) and the program
of docs/source/Quick-Start.md / examples/run_classification_criteo.py with DCN in DeepFM's place; Apache License 2.0,
see LICENSE-dcn).  Only the code DCN needs is copied (no pip install of deepctr-torch).  Kept as upstream: the
feature columns (SparseFeat embedding_dim 4 per sparse field, DenseFeat 1 per dense field, the same list for the linear
and the DNN part), ``Linear`` (one Embedding(vocab, 1) per sparse field and a dense weight, N(0, 1e-4)), the embedding
tables N(0, init_std=1e-4), ``DCN``'s defaults (cross_num 2, cross_parameterization 'vector' ('matrix', DCN-M, is a
knob), dnn_hidden_units (128, 128), relu, no dropout or BatchNorm, DNN weights N(0, 1e-4) and PyTorch's default
biases, CrossNet kernels ``xavier_normal_`` and zero biases, ``dnn_linear`` Linear(37 + 128, 1, bias=False) on the
concatenated cross and deep outputs, added to the linear logit, PredictionLayer's bias and sigmoid), the L2 terms of
``get_regularization_loss`` (l2_reg_embedding, l2_reg_linear, l2_reg_cross 1e-5; l2_reg_dnn 0) added to
``F.binary_cross_entropy(y_pred, y, reduction='sum')``, ``compile("adam", "binary_crossentropy")`` =
``torch.optim.Adam(self.parameters())`` (lr 1e-3), Quick-Start.md's ``fit(..., batch_size=256, epochs=10,
validation_split=0.2)`` (the last 20% of the training rows held out for a validation log loss and AUC after each
epoch; shuffled batches), the loop's order (forward, ``optim.zero_grad()``, loss, regularization,
``total_loss.backward()``, ``optim.step()``), ``predict(x, 256)``, the example's ``MinMaxScaler(feature_range=(0, 1))``
on the dense features and its ``train_test_split(test_size=0.2, random_state=2020)``.

Changed to run offline on one CPU thread in 10-20 s: no criteo_sample.txt: ``make_data`` (fixed, data seed 0, the same
for every run) makes a Criteo-like table of 30000 rows: 8 label-encoded sparse fields C1..C8 with 182, 57, 127, 77, 113,
19, 31, 46 values (Zipf-like frequencies, p ~ 1/rank^0.8) and 5 dense counts I1..I5 (uniform, up to 50, 500, 2000, 5000,
10000), and a click drawn from a hidden logistic model: per-value field effects (0.8), pairwise crosses of five field
pairs through each value's coarse group (4 groups per field, a random 4x4 table per pair; 1.0), linear dense effects
(0.8), dense x dense crosses and one dense x field cross (1.2; each part standardized), shifted to a click rate of 25%.
On the 6000 test rows the hidden model's log loss is 0.384 (AUC 0.861), the constant predictor's (the training click
rate) 0.564, and a one-hot + min-max logistic regression (scikit-learn, C=0.3) gets 0.499 (AUC 0.731).
Kept from the example: the vocabularies ``data[feat].max() + 1`` (its ``LabelEncoder`` is the identity on this
table).  Not kept: its ``compile("adagrad")`` with ``batch_size=32``, tried first: 4 epochs took 36 s and stayed at the
logistic regression's level, so the program is Quick-Start.md's (adam, batch 256, 10 epochs).
Left out: tqdm, the per-batch sklearn metrics of ``verbose`` (no effect on training), callbacks/History, GPU and
DataParallel paths, VarLenSparseFeat (the table has none), ``activation_layer`` (relu only); ``seed=1023 + seed``
(upstream: ``seed=1024``, which seeds torch for the init and the DataLoader's shuffling); ``model.train()`` again at each
epoch's start because the per-epoch validation ``predict`` sets eval mode (no dropout or BatchNorm here: no effect).
Knobs (one per variant): ``lr_mult`` scales the Adam rate; ``scale_dense=False`` leaves the MinMaxScaler out (the
dense features enter as raw counts up to ~1e4); ``emb_init_std`` draws the DNN/cross embedding tables from
N(0, emb_init_std) instead of N(0, init_std=1e-4) (the linear part's tables keep 1e-4); ``cross_init_std`` draws the
CrossNet kernels from N(0, cross_init_std) instead of ``xavier_normal_`` (std sqrt(2/38) = 0.23 for the 'vector'
kernels); ``zero_grad=False`` leaves ``optim.zero_grad()`` out; ``batch_size``; ``cross_num``;
``cross_parameterization``; ``optimizer`` ("adam", "adagrad", "sgd" at compile's rates).

The watch, as a user would: ``monitor = gradmedic.watch(model, optim, every=10)`` right after ``compile`` builds the
Adam, ``monitor.step(total_loss)`` right after ``total_loss.backward()``, before ``optim.step()``; ``monitor.close()``
after the epochs.  Metric "test_auc_error": 1 - the test AUC on the 6000 held-out rows (lower is better; AUC is one of
upstream's two printed test metrics; run.py's rules know "accuracy" as their only higher-is-better metric, so the AUC
goes in as its error, as deepfm.py does); ``initial`` 0.5 (chance: an AUC of 0.5; the constant predictor's AUC is 0.5,
its log loss 0.564); the untrained model's test AUC and log loss, the test log loss (upstream's other metric), the
validation curves and the training losses (summed over the batch, as upstream: ~175 at the start for 256 rows) go to
``extra``.  A good outcome: an error of at most 0.35 (AUC >= 0.65); "broken": the control's error below half the
variant's, or (half_the_progress) a variant AUC at most about halfway from 0.5 to the control's.  The log loss was not
used: the healthy runs reach 0.48-0.50 against an untrained 0.69, about the 0.7x that a loss's good outcome asks
(0.486), so healthy seeds would fall on either side of it.

``CASES`` (program "dcn"): the program on seeds 1-3, and one change each against the same seed's healthy run: Adam lr
x10, x100, x1000, /1000; the MinMaxScaler left out (seeds 1 and 2); the embedding tables N(0, 1) (seeds 1 and 2); the
CrossNet kernels N(0, 1); ``optim.zero_grad()`` left out (seeds 1 and 2); and two changes expected harmless (cause
"healthy"): batch 1024 and cross_num 3.
Recorded (cases-public172; 7-20 s a run, 208 s for all 16, the shared machine loaded; AUC = 1 - the metric; "loss" the
training loss summed over the batch, first-5 and last-20 means): healthy test AUC 0.7259, 0.7514, 0.7412 on seeds 1-3
(error 0.274, 0.249, 0.259; untrained AUC 0.55, 0.54, 0.41, log loss 0.69-0.70; test log loss 0.502, 0.483, 0.490;
loss 173.5/175.9/169.5 -> 120.5/118.5/120.9, largest 177, 180, 172): healthy; lr x10 (0.01): 0.7631 (test log loss
0.519: it overfits after epoch 4; loss -> 96.6): healthy; lr x100 (0.1): 0.6984 (largest loss 539, log loss 0.540;
error 1.10x the control's): ambiguous; lr x1000 (1.0): loss 5016 -> 6265 (largest 8500; saturated outputs at
binary_cross_entropy's clamped log), every prediction on one side, AUC 0.5000, log loss 4.05: broken; lr /1000 (1e-6):
loss 177.2 -> 175.7, 0.5432 (log loss 0.686): broken; raw dense counts: the first loss ~18500 (saturated sigmoid), AUC
0.5003 (seed 1; log loss 11.8) and 0.4949 (seed 2; 5.85): broken; embedding tables N(0, 1): 0.7502 (seed 1) and 0.7543
(seed 2), better than their controls (the tiny 1e-4 tables are the slow start here; with 4-dim embeddings and 8 fields
N(0, 1) is not large for the cross and deep parts): healthy; CrossNet kernels N(0, 1): 0.7408: healthy;
optim.zero_grad() left out: the loss rises (seed 1: 173.5 -> 200.6, largest 254; test log loss 0.787) and falls back
(seed 2: largest 214, last-20 141.3), 0.6900 (seed 1) and 0.6362 (seed 2; its validation AUC fell from 0.715 to 0.643
over the epochs): ambiguous (error 1.13x and 1.46x the control's); batch 1024: 0.7176 (error 1.03x): healthy;
cross_num 3: 0.7347: healthy.  Labels: 9 healthy (3 programs, lr x10, embedding N(0, 1) on seeds 1 and 2, CrossNet
N(0, 1), batch 1024, cross_num 3), 4 broken (lr x1000, lr /1000, raw dense features on seeds 1 and 2), 3 ambiguous
(lr x100, zero_grad left out on seeds 1 and 2).  Every run's losses were finite.  At this scale (750 Adam steps) the
healthy DCN's AUC (0.73-0.75) is about the one-hot logistic regression's (0.731), below the hidden model's 0.861: it
learns the field effects and little of the crosses, so only the changes that stop learning altogether come out broken.
"""

from __future__ import annotations

import time
from collections import OrderedDict, namedtuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.data as Data
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler
from torch.utils.data import DataLoader

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optim, every=10) right after model.compile('adagrad', 'binary_crossentropy') builds "
              "torch.optim.Adagrad(self.parameters()) (lr 0.01); monitor.step(total_loss) right after "
              "total_loss.backward() (F.binary_cross_entropy(reduction='sum') over the batch of 32 plus the L2 terms of "
              "get_regularization_loss()), before optim.step() (optim.zero_grad() comes after the forward, before the "
              "loss, upstream's order; no clipping)")

EPOCHS = 10  # Quick-Start.md: epochs=10
BATCH_SIZE = 256  # Quick-Start.md: batch_size=256
N_ROWS = 30000
N_SPARSE, N_DENSE = 8, 5
N_GROUPS = 4
W_LIN, W_CROSS, W_DENSE, W_DCROSS = 0.8, 1.0, 0.8, 1.2


# ----------------------------------------------------------------------------------------------------------------------
# data (the port's; upstream reads criteo_sample.txt)

def make_data(n=N_ROWS, seed=0):
    """A Criteo-like table: sparse C1..C8 (label-encoded ints), dense I1..I5 (raw counts), a click label."""
    rng = np.random.RandomState(seed)
    cards = rng.randint(10, 201, size=N_SPARSE)
    cat = np.empty((n, N_SPARSE), dtype=np.int64)
    for f, d in enumerate(cards):
        p = 1.0 / (np.arange(d) + 1.0) ** 0.8  # Zipf-like value frequencies
        p /= p.sum()
        cat[:, f] = rng.choice(d, size=n, p=p)
    scales = np.array([50.0, 500.0, 2000.0, 5000.0, 10000.0])
    dense_raw = np.floor(rng.rand(n, N_DENSE) * scales)  # counts, up to ~1e4
    zd = dense_raw.copy()
    zd = (zd - zd.mean(0)) / zd.std(0)
    # hidden click model: per-value field effects, pairwise crosses of fields (through each value's coarse group),
    # dense effects, dense x dense crosses and a dense x field cross
    lin = np.zeros(n)
    for f, d in enumerate(cards):
        lin += rng.randn(d)[cat[:, f]] * 0.5
    groups = [rng.randint(0, N_GROUPS, size=d) for d in cards]  # each value's coarse category (shared by many values)
    cross = np.zeros(n)
    for a, b in ((0, 1), (2, 3), (4, 5), (1, 6), (3, 7)):
        m = rng.randn(N_GROUPS, N_GROUPS)
        cross += m[groups[a][cat[:, a]], groups[b][cat[:, b]]]
    wd = rng.randn(N_DENSE) * 0.5
    dlin = zd @ wd
    dcross = zd[:, 0] * zd[:, 1] + zd[:, 2] * zd[:, 3] - zd[:, 4] * zd[:, 1] + zd[:, 0] * rng.randn(cards[5])[cat[:, 5]]
    z = (W_LIN * lin / lin.std() + W_CROSS * cross / cross.std() + W_DENSE * dlin / dlin.std()
         + W_DCROSS * dcross / dcross.std())
    lo, hi = -20.0, 20.0  # the shift that makes the click rate 0.25
    for _ in range(60):
        c = 0.5 * (lo + hi)
        if (1.0 / (1.0 + np.exp(-(z + c)))).mean() > 0.25:
            hi = c
        else:
            lo = c
    prob = 1.0 / (1.0 + np.exp(-(z + 0.5 * (lo + hi))))
    y = (np.random.RandomState(seed + 1).rand(n) < prob).astype(np.float64)
    return cat, dense_raw, y, prob


# ----------------------------------------------------------------------------------------------------------------------
# deepctr_torch/inputs.py (the parts DCN uses)

DEFAULT_GROUP_NAME = "default_group"


class SparseFeat(namedtuple('SparseFeat',
                            ['name', 'vocabulary_size', 'embedding_dim', 'use_hash', 'dtype', 'embedding_name',
                             'group_name'])):
    __slots__ = ()

    def __new__(cls, name, vocabulary_size, embedding_dim=4, use_hash=False, dtype="int32", embedding_name=None,
                group_name=DEFAULT_GROUP_NAME):
        if embedding_name is None:
            embedding_name = name
        if embedding_dim == "auto":
            embedding_dim = 6 * int(pow(vocabulary_size, 0.25))
        return super(SparseFeat, cls).__new__(cls, name, vocabulary_size, embedding_dim, use_hash, dtype,  # noqa: UP008
                                              embedding_name, group_name)

    def __hash__(self):
        return self.name.__hash__()


class DenseFeat(namedtuple('DenseFeat', ['name', 'dimension', 'dtype'])):
    __slots__ = ()

    def __new__(cls, name, dimension=1, dtype="float32"):
        return super(DenseFeat, cls).__new__(cls, name, dimension, dtype)  # noqa: UP008

    def __hash__(self):
        return self.name.__hash__()


def get_feature_names(feature_columns):
    features = build_input_features(feature_columns)
    return list(features.keys())


def build_input_features(feature_columns):
    # Return OrderedDict: {feature_name:(start, start+dimension)}

    features = OrderedDict()

    start = 0
    for feat in feature_columns:
        feat_name = feat.name
        if feat_name in features:
            continue
        if isinstance(feat, SparseFeat):
            features[feat_name] = (start, start + 1)
            start += 1
        elif isinstance(feat, DenseFeat):
            features[feat_name] = (start, start + feat.dimension)
            start += feat.dimension
        else:  # upstream: also VarLenSparseFeat
            raise TypeError("Invalid feature column type,got", type(feat))
    return features


def combined_dnn_input(sparse_embedding_list, dense_value_list):
    if len(sparse_embedding_list) > 0 and len(dense_value_list) > 0:
        sparse_dnn_input = torch.flatten(
            torch.cat(sparse_embedding_list, dim=-1), start_dim=1)
        dense_dnn_input = torch.flatten(
            torch.cat(dense_value_list, dim=-1), start_dim=1)
        return torch.cat([sparse_dnn_input, dense_dnn_input], dim=-1)  # upstream: concat_fun([...]) (the same cat)
    elif len(sparse_embedding_list) > 0:
        return torch.flatten(torch.cat(sparse_embedding_list, dim=-1), start_dim=1)
    elif len(dense_value_list) > 0:
        return torch.flatten(torch.cat(dense_value_list, dim=-1), start_dim=1)
    else:
        raise NotImplementedError


def create_embedding_matrix(feature_columns, init_std=0.0001, linear=False, sparse=False, device='cpu'):
    # Return nn.ModuleDict: for sparse features, {embedding_name: nn.Embedding}
    sparse_feature_columns = list(
        filter(lambda x: isinstance(x, SparseFeat), feature_columns)) if len(feature_columns) else []

    embedding_dict = nn.ModuleDict(
        {feat.embedding_name: nn.Embedding(feat.vocabulary_size, feat.embedding_dim if not linear else 1, sparse=sparse)
         for feat in
         sparse_feature_columns}
    )

    for tensor in embedding_dict.values():
        nn.init.normal_(tensor.weight, mean=0, std=init_std)

    return embedding_dict.to(device)


# ----------------------------------------------------------------------------------------------------------------------
# deepctr_torch/layers/core.py, interaction.py (DNN, PredictionLayer, CrossNet)

class DNN(nn.Module):

    def __init__(self, inputs_dim, hidden_units, activation='relu', l2_reg=0, dropout_rate=0, use_bn=False,
                 init_std=0.0001, dice_dim=3, seed=1024, device='cpu'):
        super(DNN, self).__init__()  # noqa: UP008
        self.dropout_rate = dropout_rate
        self.dropout = nn.Dropout(dropout_rate)
        self.seed = seed
        self.l2_reg = l2_reg
        self.use_bn = use_bn
        if len(hidden_units) == 0:
            raise ValueError("hidden_units is empty!!")
        hidden_units = [inputs_dim] + list(hidden_units)

        self.linears = nn.ModuleList(
            [nn.Linear(hidden_units[i], hidden_units[i + 1]) for i in range(len(hidden_units) - 1)])

        if self.use_bn:
            self.bn = nn.ModuleList(
                [nn.BatchNorm1d(hidden_units[i + 1]) for i in range(len(hidden_units) - 1)])

        # upstream: activation_layer(activation, ...), which gives nn.ReLU(inplace=True) for 'relu'
        assert activation == 'relu'
        self.activation_layers = nn.ModuleList(
            [nn.ReLU(inplace=True) for i in range(len(hidden_units) - 1)])

        for name, tensor in self.linears.named_parameters():
            if 'weight' in name:
                nn.init.normal_(tensor, mean=0, std=init_std)

        self.to(device)

    def forward(self, inputs):
        deep_input = inputs

        for i in range(len(self.linears)):

            fc = self.linears[i](deep_input)

            if self.use_bn:
                fc = self.bn[i](fc)

            fc = self.activation_layers[i](fc)

            fc = self.dropout(fc)
            deep_input = fc
        return deep_input


class PredictionLayer(nn.Module):

    def __init__(self, task='binary', use_bias=True, **kwargs):
        if task not in ["binary", "multiclass", "regression"]:
            raise ValueError("task must be binary,multiclass or regression")

        super(PredictionLayer, self).__init__()  # noqa: UP008
        self.use_bias = use_bias
        self.task = task
        if self.use_bias:
            self.bias = nn.Parameter(torch.zeros((1,)))

    def forward(self, X):
        output = X
        if self.use_bias:
            output += self.bias
        if self.task == "binary":
            output = torch.sigmoid(output)
        return output


class CrossNet(nn.Module):

    def __init__(self, in_features, layer_num=2, parameterization='vector', seed=1024, device='cpu',
                 kernel_init_std=None):
        super(CrossNet, self).__init__()  # noqa: UP008
        self.layer_num = layer_num
        self.parameterization = parameterization
        if self.parameterization == 'vector':
            # weight in DCN.  (in_features, 1)
            self.kernels = nn.Parameter(torch.Tensor(self.layer_num, in_features, 1))
        elif self.parameterization == 'matrix':
            # weight matrix in DCN-M.  (in_features, in_features)
            self.kernels = nn.Parameter(torch.Tensor(self.layer_num, in_features, in_features))
        else:  # error
            raise ValueError("parameterization should be 'vector' or 'matrix'")

        self.bias = nn.Parameter(torch.Tensor(self.layer_num, in_features, 1))

        for i in range(self.kernels.shape[0]):
            if kernel_init_std is None:
                nn.init.xavier_normal_(self.kernels[i])
            else:  # the init_large variant: N(0, kernel_init_std) instead of xavier_normal_
                nn.init.normal_(self.kernels[i], mean=0, std=kernel_init_std)
        for i in range(self.bias.shape[0]):
            nn.init.zeros_(self.bias[i])

        self.to(device)

    def forward(self, inputs):
        x_0 = inputs.unsqueeze(2)
        x_l = x_0
        for i in range(self.layer_num):
            if self.parameterization == 'vector':
                xl_w = torch.tensordot(x_l, self.kernels[i], dims=([1], [0]))
                dot_ = torch.matmul(x_0, xl_w)
                x_l = dot_ + self.bias[i] + x_l
            elif self.parameterization == 'matrix':
                xl_w = torch.matmul(self.kernels[i], x_l)  # W * xi  (bs, in_features, 1)
                dot_ = xl_w + self.bias[i]  # W * xi + b
                x_l = x_0 * dot_ + x_l  # x0 · (W * xi + b) +xl  Hadamard-product
            else:  # error
                raise ValueError("parameterization should be 'vector' or 'matrix'")
        x_l = torch.squeeze(x_l, dim=2)
        return x_l


# ----------------------------------------------------------------------------------------------------------------------
# deepctr_torch/models/basemodel.py (Linear, BaseModel without fit/evaluate/predict: the loop is in train() below)

class Linear(nn.Module):
    def __init__(self, feature_columns, feature_index, init_std=0.0001, device='cpu'):
        super(Linear, self).__init__()  # noqa: UP008
        self.feature_index = feature_index
        self.device = device
        self.sparse_feature_columns = list(
            filter(lambda x: isinstance(x, SparseFeat), feature_columns)) if len(feature_columns) else []
        self.dense_feature_columns = list(
            filter(lambda x: isinstance(x, DenseFeat), feature_columns)) if len(feature_columns) else []

        self.embedding_dict = create_embedding_matrix(feature_columns, init_std, linear=True, sparse=False,
                                                      device=device)

        for tensor in self.embedding_dict.values():
            nn.init.normal_(tensor.weight, mean=0, std=init_std)

        if len(self.dense_feature_columns) > 0:
            self.weight = nn.Parameter(torch.Tensor(sum(fc.dimension for fc in self.dense_feature_columns), 1).to(
                device))
            torch.nn.init.normal_(self.weight, mean=0, std=init_std)

    def forward(self, X, sparse_feat_refine_weight=None):

        sparse_embedding_list = [self.embedding_dict[feat.embedding_name](
            X[:, self.feature_index[feat.name][0]:self.feature_index[feat.name][1]].long()) for
            feat in self.sparse_feature_columns]

        dense_value_list = [X[:, self.feature_index[feat.name][0]:self.feature_index[feat.name][1]] for feat in
                            self.dense_feature_columns]

        # upstream: varlen (sequence) features pooled and appended here; this table has none

        linear_logit = torch.zeros([X.shape[0], 1]).to(self.device)
        if len(sparse_embedding_list) > 0:
            sparse_embedding_cat = torch.cat(sparse_embedding_list, dim=-1)
            if sparse_feat_refine_weight is not None:
                # w_{x,i}=m_{x,i} * w_i (in IFM and DIFM)
                sparse_embedding_cat = sparse_embedding_cat * sparse_feat_refine_weight.unsqueeze(1)
            sparse_feat_logit = torch.sum(sparse_embedding_cat, dim=-1, keepdim=False)
            linear_logit += sparse_feat_logit
        if len(dense_value_list) > 0:
            dense_value_logit = torch.cat(
                dense_value_list, dim=-1).matmul(self.weight)
            linear_logit += dense_value_logit

        return linear_logit


class BaseModel(nn.Module):
    def __init__(self, linear_feature_columns, dnn_feature_columns, l2_reg_linear=1e-5, l2_reg_embedding=1e-5,
                 init_std=0.0001, seed=1024, task='binary', device='cpu', gpus=None, emb_init_std=None):

        super(BaseModel, self).__init__()  # noqa: UP008
        torch.manual_seed(seed)
        self.dnn_feature_columns = dnn_feature_columns

        self.reg_loss = torch.zeros((1,), device=device)
        self.aux_loss = torch.zeros((1,), device=device)
        self.device = device
        self.gpus = gpus

        self.feature_index = build_input_features(
            linear_feature_columns + dnn_feature_columns)
        self.dnn_feature_columns = dnn_feature_columns

        # the init_large variant: emb_init_std (1.0) for the embedding tables instead of init_std (1e-4)
        self.embedding_dict = create_embedding_matrix(dnn_feature_columns, init_std if emb_init_std is None else
                                                      emb_init_std, sparse=False, device=device)

        self.linear_model = Linear(
            linear_feature_columns, self.feature_index, device=device)

        self.regularization_weight = []

        self.add_regularization_weight(self.embedding_dict.parameters(), l2=l2_reg_embedding)
        self.add_regularization_weight(self.linear_model.parameters(), l2=l2_reg_linear)

        self.out = PredictionLayer(task, )
        self.to(device)

    def input_from_feature_columns(self, X, feature_columns, embedding_dict, support_dense=True):

        sparse_feature_columns = list(
            filter(lambda x: isinstance(x, SparseFeat), feature_columns)) if len(feature_columns) else []
        dense_feature_columns = list(
            filter(lambda x: isinstance(x, DenseFeat), feature_columns)) if len(feature_columns) else []

        if not support_dense and len(dense_feature_columns) > 0:
            raise ValueError(
                "DenseFeat is not supported in dnn_feature_columns")

        sparse_embedding_list = [embedding_dict[feat.embedding_name](
            X[:, self.feature_index[feat.name][0]:self.feature_index[feat.name][1]].long()) for
            feat in sparse_feature_columns]

        dense_value_list = [X[:, self.feature_index[feat.name][0]:self.feature_index[feat.name][1]] for feat in
                            dense_feature_columns]

        return sparse_embedding_list, dense_value_list  # upstream: + varlen_sparse_embedding_list (none here)

    def compute_input_dim(self, feature_columns, include_sparse=True, include_dense=True, feature_group=False):
        sparse_feature_columns = list(
            filter(lambda x: isinstance(x, SparseFeat), feature_columns)) if len(
            feature_columns) else []
        dense_feature_columns = list(
            filter(lambda x: isinstance(x, DenseFeat), feature_columns)) if len(feature_columns) else []

        dense_input_dim = sum(
            map(lambda x: x.dimension, dense_feature_columns))
        if feature_group:
            sparse_input_dim = len(sparse_feature_columns)
        else:
            sparse_input_dim = sum(feat.embedding_dim for feat in sparse_feature_columns)
        input_dim = 0
        if include_sparse:
            input_dim += sparse_input_dim
        if include_dense:
            input_dim += dense_input_dim
        return input_dim

    def add_regularization_weight(self, weight_list, l1=0.0, l2=0.0):
        # For a Parameter, put it in a list to keep Compatible with get_regularization_loss()
        if isinstance(weight_list, torch.nn.parameter.Parameter):
            weight_list = [weight_list]
        # For generators, filters and ParameterLists, convert them to a list of tensors to avoid bugs.
        # e.g., we can't pickle generator objects when we save the model.
        else:
            weight_list = list(weight_list)
        self.regularization_weight.append((weight_list, l1, l2))

    def get_regularization_loss(self, ):
        total_reg_loss = torch.zeros((1,), device=self.device)
        for weight_list, l1, l2 in self.regularization_weight:
            for w in weight_list:
                if isinstance(w, tuple):
                    parameter = w[1]  # named_parameters
                else:
                    parameter = w
                if l1 > 0:
                    total_reg_loss += torch.sum(l1 * torch.abs(parameter))
                if l2 > 0:
                    try:
                        total_reg_loss += torch.sum(l2 * torch.square(parameter))
                    except AttributeError:
                        total_reg_loss += torch.sum(l2 * parameter * parameter)

        return total_reg_loss

    def compile(self, optimizer, loss=None, metrics=None, lr_mult=1.0):
        self.optim = self._get_optim(optimizer, lr_mult)
        self.loss_func = F.binary_cross_entropy  # upstream: _get_loss_func("binary_crossentropy")

    def _get_optim(self, optimizer, lr_mult=1.0):
        # the lr variants: lr_mult x each optimizer's rate (upstream: the default rate, in the comments)
        if optimizer == "sgd":
            optim = torch.optim.SGD(self.parameters(), lr=0.01 * lr_mult)
        elif optimizer == "adam":
            optim = torch.optim.Adam(self.parameters(), lr=0.001 * lr_mult)  # 0.001
        elif optimizer == "adagrad":
            optim = torch.optim.Adagrad(self.parameters(), lr=0.01 * lr_mult)  # 0.01
        else:
            raise NotImplementedError
        return optim

    def predict(self, x, batch_size=256):
        model = self.eval()
        tensor_data = Data.TensorDataset(torch.from_numpy(x))
        test_loader = DataLoader(
            dataset=tensor_data, shuffle=False, batch_size=batch_size)

        pred_ans = []
        with torch.no_grad():
            for _, x_test in enumerate(test_loader):
                x = x_test[0].to(self.device).float()

                y_pred = model(x).cpu().data.numpy()  # .squeeze()
                pred_ans.append(y_pred)

        return np.concatenate(pred_ans).astype("float64")


# ----------------------------------------------------------------------------------------------------------------------
# deepctr_torch/models/dcn.py

class DCN(BaseModel):

    def __init__(self, linear_feature_columns, dnn_feature_columns, cross_num=2, cross_parameterization='vector',
                 dnn_hidden_units=(128, 128), l2_reg_linear=0.00001, l2_reg_embedding=0.00001, l2_reg_cross=0.00001,
                 l2_reg_dnn=0, init_std=0.0001, seed=1024, dnn_dropout=0, dnn_activation='relu', dnn_use_bn=False,
                 task='binary', device='cpu', gpus=None, emb_init_std=None, cross_init_std=None):

        super(DCN, self).__init__(linear_feature_columns=linear_feature_columns,  # noqa: UP008
                                  dnn_feature_columns=dnn_feature_columns, l2_reg_embedding=l2_reg_embedding,
                                  init_std=init_std, seed=seed, task=task, device=device, gpus=gpus,
                                  emb_init_std=emb_init_std)
        self.dnn_hidden_units = dnn_hidden_units
        self.cross_num = cross_num
        self.dnn = DNN(self.compute_input_dim(dnn_feature_columns), dnn_hidden_units,
                       activation=dnn_activation, use_bn=dnn_use_bn, l2_reg=l2_reg_dnn, dropout_rate=dnn_dropout,
                       init_std=init_std, device=device)
        if len(self.dnn_hidden_units) > 0 and self.cross_num > 0:
            dnn_linear_in_feature = self.compute_input_dim(dnn_feature_columns) + dnn_hidden_units[-1]
        elif len(self.dnn_hidden_units) > 0:
            dnn_linear_in_feature = dnn_hidden_units[-1]
        elif self.cross_num > 0:
            dnn_linear_in_feature = self.compute_input_dim(dnn_feature_columns)

        self.dnn_linear = nn.Linear(dnn_linear_in_feature, 1, bias=False).to(
            device)
        self.crossnet = CrossNet(in_features=self.compute_input_dim(dnn_feature_columns),
                                 layer_num=cross_num, parameterization=cross_parameterization, device=device,
                                 kernel_init_std=cross_init_std)
        self.add_regularization_weight(
            filter(lambda x: 'weight' in x[0] and 'bn' not in x[0], self.dnn.named_parameters()), l2=l2_reg_dnn)
        self.add_regularization_weight(self.dnn_linear.weight, l2=l2_reg_linear)
        self.add_regularization_weight(self.crossnet.kernels, l2=l2_reg_cross)
        self.to(device)

    def forward(self, X):

        logit = self.linear_model(X)
        sparse_embedding_list, dense_value_list = self.input_from_feature_columns(X, self.dnn_feature_columns,
                                                                                  self.embedding_dict)

        dnn_input = combined_dnn_input(sparse_embedding_list, dense_value_list)

        if len(self.dnn_hidden_units) > 0 and self.cross_num > 0:  # Deep & Cross
            deep_out = self.dnn(dnn_input)
            cross_out = self.crossnet(dnn_input)
            stack_out = torch.cat((cross_out, deep_out), dim=-1)
            logit += self.dnn_linear(stack_out)
        elif len(self.dnn_hidden_units) > 0:  # Only Deep
            deep_out = self.dnn(dnn_input)
            logit += self.dnn_linear(deep_out)
        elif self.cross_num > 0:  # Only Cross
            cross_out = self.crossnet(dnn_input)
            logit += self.dnn_linear(cross_out)
        else:  # Error
            pass
        y_pred = self.out(logit)
        return y_pred


# ----------------------------------------------------------------------------------------------------------------------
# examples/run_classification_criteo.py with DCN for DeepFM, and BaseModel.fit's loop

def train(seed: int = 1, lr_mult: float = 1.0, scale_dense: bool = True, emb_init_std: float | None = None,
          cross_init_std: float | None = None, zero_grad: bool = True, batch_size: int = BATCH_SIZE,
          cross_num: int = 2, cross_parameterization: str = 'vector', optimizer: str = "adam",
          epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    cat, dense_raw, label, prob = make_data()
    sparse_features = ['C' + str(i) for i in range(1, N_SPARSE + 1)]
    dense_features = ['I' + str(i) for i in range(1, N_DENSE + 1)]

    # 1.Label Encoding for sparse features,and do simple Transformation for dense features
    # (the table's categories are label-encoded already: upstream's LabelEncoder per field is the identity here)
    dense = dense_raw.copy()
    if scale_dense:  # the unscaled_inputs variant leaves the MinMaxScaler out (raw counts, up to ~1e4)
        mms = MinMaxScaler(feature_range=(0, 1))
        dense = mms.fit_transform(dense)

    # 2.count #unique features for each sparse field,and record dense feature field name
    fixlen_feature_columns = [SparseFeat(feat, vocabulary_size=int(cat[:, i].max()) + 1, embedding_dim=4)
                              for i, feat in enumerate(sparse_features)] + [DenseFeat(feat, 1, )
                                                                            for feat in dense_features]
    dnn_feature_columns = fixlen_feature_columns
    linear_feature_columns = fixlen_feature_columns

    # 3.generate input data for model (columns in feature_index order: C1..C8, I1..I5)
    X = np.concatenate([cat.astype(np.float64), dense], axis=1)
    idx = np.arange(len(label))
    tr_idx, te_idx = train_test_split(idx, test_size=0.2, random_state=2020)
    x_train, y_train, x_test, y_test = X[tr_idx], label[tr_idx], X[te_idx], label[te_idx]

    # 4.Define Model,train,predict and evaluate
    model = DCN(linear_feature_columns=linear_feature_columns, dnn_feature_columns=dnn_feature_columns,
                task='binary', l2_reg_embedding=1e-5, device='cpu', seed=1023 + seed,  # upstream: seed=1024
                cross_num=cross_num, cross_parameterization=cross_parameterization,
                emb_init_std=emb_init_std, cross_init_std=cross_init_std)
    untrained = model.predict(x_test, 256)
    initial = float(log_loss(y_test, np.clip(untrained, 1e-7, 1 - 1e-7)))
    untrained_auc = float(roc_auc_score(y_test, untrained))
    model.compile(optimizer, "binary_crossentropy", metrics=["binary_crossentropy", "auc"], lr_mult=lr_mult)

    # BaseModel.fit(x_train, y_train, batch_size=32, epochs=EPOCHS, verbose=2, validation_split=0.2)
    split_at = int(x_train.shape[0] * (1. - 0.2))
    x, val_x = x_train[:split_at], x_train[split_at:]
    y, val_y = y_train[:split_at], y_train[split_at:]
    train_tensor_data = Data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    model = model.train()
    loss_func = model.loss_func
    optim = model.optim
    monitor = gradmedic.watch(model, optim, every=every)  # gradmedic
    train_loader = DataLoader(dataset=train_tensor_data, shuffle=True, batch_size=batch_size)
    sample_num = len(train_tensor_data)
    losses, epoch_loss, val_logloss, val_auc = [], [], [], []
    for epoch in range(epochs):
        model.train()  # upstream: model = self.train() once before the epochs; predict() below sets eval mode
        loss_epoch = 0
        total_loss_epoch = 0
        for _, (x_train_b, y_train_b) in enumerate(train_loader):  # upstream: wrapped in tqdm
            xb = x_train_b.to(model.device).float()
            yb = y_train_b.to(model.device).float()

            y_pred = model(xb).squeeze()

            if zero_grad:  # the no_zero_grad variant leaves this out
                optim.zero_grad()
            loss = loss_func(y_pred, yb.squeeze(), reduction='sum')
            reg_loss = model.get_regularization_loss()

            total_loss = loss + reg_loss + model.aux_loss

            loss_epoch += loss.item()
            total_loss_epoch += total_loss.item()
            total_loss.backward()
            monitor.step(total_loss)  # gradmedic
            optim.step()
            losses.append(total_loss.item())
            # upstream: with verbose > 0, log loss and AUC of every training batch (sklearn; no effect on training)
        epoch_loss.append(total_loss_epoch / sample_num)
        pv = model.predict(val_x, batch_size)
        val_logloss.append(float(log_loss(val_y, np.clip(pv, 1e-7, 1 - 1e-7))) if np.isfinite(pv).all()
                           else float("nan"))
        val_auc.append(float(roc_auc_score(val_y, pv)) if np.isfinite(pv).all() else float("nan"))
        if verbose:
            print(f"Epoch {epoch + 1}/{epochs} {time.time() - t0:.0f}s - loss: {epoch_loss[-1]: .4f} - "
                  f"val_binary_crossentropy: {val_logloss[-1]: .4f} - val_auc: {val_auc[-1]: .4f}", flush=True)
    monitor.close()

    pred_ans = model.predict(x_test, 256)
    if np.isfinite(pred_ans).all():
        # upstream: log_loss(test[target].values, pred_ans) (sklearn clips the probabilities, eps 1e-15 in older versions)
        test_ll = float(log_loss(y_test, np.clip(pred_ans, 1e-7, 1 - 1e-7)))
        test_auc = float(roc_auc_score(y_test, pred_ans))
    else:
        test_ll = test_auc = float("nan")
    base = float(y[:].mean())
    const_ll = float(log_loss(y_test, np.full(len(y_test), base)))
    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "test_auc_error", "value": 1.0 - test_auc,
            "initial": 0.5, "initial_what": "chance: an AUC of 0.5 (error 0.5); the untrained model's test AUC is "
                                            "extra's untrained_auc",
            "chance": 0.5,
            "extra": {"test_auc": test_auc, "test_logloss": test_ll, "untrained_logloss": initial,
                      "untrained_auc": untrained_auc, "constant_logloss": const_ll,
                      "bayes_logloss": float(log_loss(y_test, prob[te_idx])),
                      "bayes_auc": float(roc_auc_score(y_test, prob[te_idx])),
                      "val_logloss": val_logloss, "val_auc": val_auc, "epoch_loss": epoch_loss,
                      "train_loss": float(np.mean(la[-20:])), "first_loss": float(np.mean(la[:5])),
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "steps": len(la), "epochs": epochs,
                      "lr": optim.param_groups[0]["lr"], "lr_mult": lr_mult, "batch_size": batch_size,
                      "scale_dense": scale_dense, "emb_init_std": -1.0 if emb_init_std is None else emb_init_std,
                      "cross_init_std": -1.0 if cross_init_std is None else cross_init_std, "zero_grad": zero_grad,
                      "cross_num": cross_num, "cross_parameterization": cross_parameterization,
                      "optimizer": optimizer, "click_rate_train": base},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="dcn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"DeepCTR-Torch DCN (embedding_dim 4, CrossNet 'vector' cross_num 2, DNN (128, 128) relu, init_std 1e-4; "
      f"F.binary_cross_entropy(reduction='sum') + L2 1e-5 on embeddings, linear, cross kernels; Adam lr 1e-3, batch "
      f"{BATCH_SIZE}, {EPOCHS} epochs)")
CASES: list[dict] = (
    [_case(f"dcn_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"dcn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1,)), (1000, (1,))) for s in ss]
    + [_case("dcn_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 (1e-06)")]
    + [_case(f"dcn_raw_dense_s{s}", "unscaled_inputs", s, {"scale_dense": False},
             f"{_P}: the MinMaxScaler left out: the dense features I1..I5 go in as raw counts (up to ~1e4)")
       for s in (1, 2)]
    + [_case(f"dcn_emb_std1_s{s}", "init_large", s, {"emb_init_std": 1.0},
             f"{_P}: the DNN/cross embedding tables drawn from N(0, 1) instead of N(0, init_std=1e-4) "
             f"(create_embedding_matrix's normal_; the linear part's tables kept at 1e-4)") for s in (1, 2)]
    + [_case("dcn_cross_std1_s1", "init_large", 1, {"cross_init_std": 1.0},
             f"{_P}: the CrossNet kernels drawn from N(0, 1) instead of xavier_normal_ (std ~0.23 here)")]
    + [_case(f"dcn_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optim.zero_grad() left out of the fit loop: the gradients accumulate") for s in (1, 2)]
    + [_case("dcn_batch1024_s1", "healthy", 1, {"batch_size": 1024},
             f"{_P}: batch_size 1024 instead of 256 (expected harmless)")]
    + [_case("dcn_cross3_s1", "healthy", 1, {"cross_num": 3},
             f"{_P}: cross_num 3 instead of 2 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k not in ("monitors",)})
