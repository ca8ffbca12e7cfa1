"""dreamquark-ai's pytorch-tabnet (TabNet: sparsemax attentive masks, GLU feature transformers, ghost batch norm),
trained as ``TabNetClassifier().fit(X_train, y_train)`` does, watched by gradmedic.

Adapted from https://github.com/dreamquark-ai/tabnet (commit 2c0c4ebd2bb1cb639ea94ab4b11823bc49265588; MIT License,
Copyright (c) 2019 DreamQuark, see LICENSE-tabnet).  Copied from ``pytorch_tabnet/tab_network.py``:
``initialize_non_glu``, ``initialize_glu``, ``GBN`` (ghost batch norm: ``BatchNorm1d`` over chunks of
``virtual_batch_size``), ``TabNetEncoder`` (its own input ``initial_bn``, the shared and step-dependent
``FeatTransformer``s, ``AttentiveTransformer``s, the prior update with gamma, ``M_loss``), ``TabNetNoEmbeddings``
(with its ``initial_bn``, which upstream builds and never uses in ``forward``: its two parameters get no gradient,
kept), ``TabNet``, ``AttentiveTransformer``, ``FeatTransformer``, ``GLU_Block``, ``GLU_Layer``; from
``pytorch_tabnet/sparsemax.py``: ``_make_ix_like``, ``SparsemaxFunction`` (its own backward) and ``Sparsemax``.
Left out: ``EmbeddingGenerator`` (with no categorical columns it returns x unchanged and passes the group matrix on;
``TabNet`` here takes no cat_* arguments), the decoder/pretraining classes, ``Entmax15`` (mask_type "entmax" only).
The loop is ``abstract_model.py``'s ``fit`` / ``_train_epoch`` / ``_train_batch`` with ``tab_model.py``'s
``TabNetClassifier`` pieces (classes mapped to 0..K-1, ``compute_loss`` = ``F.cross_entropy(output, y.long())``,
prediction = argmax of the logits), written out inline: the ``TabModel`` defaults (n_d 8, n_a 8, n_steps 3, gamma 1.3,
n_independent 2, n_shared 2, epsilon 1e-15, momentum 0.02, lambda_sparse 1e-3, ``clip_value=1``,
``torch.optim.Adam`` with ``lr=2e-2``, no scheduler, mask_type "sparsemax", ``group_attention_matrix = torch.eye``
as ``create_group_matrix([], input_dim)``), ``torch.manual_seed(seed)`` before the network is built, a shuffled
``DataLoader`` with ``drop_last=True``, ``network.train()``, ``param.grad = None`` for every parameter, ``output,
M_loss = network(X)``, ``loss = cross_entropy - lambda_sparse * M_loss``, ``loss.backward()``,
``clip_grad_norm_(network.parameters(), clip_value)``, ``optimizer.step()``; ``predict`` in ``network.eval()``.
Note: the brief expected clip_value None (the README says "default None"), but the code's ``TabModel`` dataclass
default is ``clip_value: int = 1`` and ``_train_batch`` clips when it is truthy, so a user's fit() clips at 1: kept.

Changed to run offline on one CPU thread in ~15-30 s: the data is scikit-learn's ``make_classification`` (12000 rows,
24 features: 12 informative, 6 redundant, 6 noise; 4 classes, 2 clusters a class, class_sep 2, random_state 0; a
``train_test_split`` of 9000 / 3000, random_state 0), fed raw as upstream does (TabNet's ``initial_bn`` normalizes);
batch_size 256 (upstream's fit default 1024; 35 steps an epoch here) with upstream's virtual_batch_size 128; 15 epochs
(fit's max_epochs 100 with early stopping on an eval set; here no eval set, so no early stopping and the last weights
are used, as upstream does without one); the run's seed replaces TabModel's seed 0; no feature importances,
explain, history callbacks or saving; the test accuracy on the 3000 held-out rows is the metric (chance 0.25).
Knobs (one per variant): ``lr_mult``; ``feature_scale`` / ``feature_offset`` applied to the raw features (train and
test); ``init_std`` draws every Linear weight from N(0, init_std) after the network is built; ``lambda_sparse``;
``zero_grad=False`` leaves the ``param.grad = None`` loop out; ``n_steps``; ``virtual_batch_size``.

The watch, as a user would: ``monitor = gradmedic.watch(network, optimizer, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``clip_grad_norm_`` and ``optimizer.step()``;
``monitor.close()`` after the loop.

``CASES`` (program "tabnet"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10, x100, x1000, /1000; the raw features x100, and shifted by +1000 (unscaled_inputs); N(0, 1) weights
(seeds 1 and 2; init_large); lambda_sparse 10 (cause "wrong_loss", the closest name: no cause names an over-weighted
regularizer); the ``param.grad = None`` loop left out (seeds 1 and 2); and two changes expected harmless: n_steps 5
and virtual_batch_size 64 (cause "healthy").
Recorded (cases-public170; 525 steps a run, 15-30 s a run with the 2 shared cores loaded by other jobs; whole set 330
s): healthy test accuracy 0.9837, 0.9833, 0.9823 on seeds 1-3 (training loss, first 5 steps 1.53-1.62 -> last 20
steps 0.054-0.056; largest 1.8-1.9; every loss finite): healthy.  lr x10 (0.2): train loss 0.45, 0.7933: broken;
lr x100 (2): first-5 mean 18.4, largest 44.5, train loss 1.39 (ln 4), 0.2573 (chance): broken; lr x1000 (20):
first-5 mean 1.0e4, largest 1.9e4, train loss 1.39, 0.2577: broken; lr /1000 (2e-5): train loss 1.69 -> 1.65,
0.2857: broken; features x100: 0.9833 (train loss 0.064): healthy (initial_bn absorbs the scale); offset +1000:
training goes as the control's (train loss 0.045), but initial_bn's running mean (momentum 0.01, from 0) has not
reached 1000 after 525 steps, so the eval-mode inputs are shifted by several standard deviations: 0.4067: broken;
N(0, 1) init: first-5 mean 1.72 (seed 1) and 2.30 (seed 2, largest 3.24), 0.982 and 0.984: healthy (a GBN follows
every Linear but the final mapping); lambda_sparse 10: first-5 mean 10.6, train loss 0.73, 0.7757: broken;
``param.grad = None`` left out: train loss 0.30 / 0.24 (Adam's normalization and the clip at 1 soften the summed
gradients), 0.9667 (seed 1: within 3 points: healthy) and 0.952 (seed 2: 3.1 points below: ambiguous);
n_steps 5: 0.9493 (train loss 0.16): healthy (by the 0.9 rule for cause "healthy"; 3.4 points below its
control); virtual_batch_size 64: 0.985: healthy.  Labels: 9 healthy (3 programs, features x100, init N(0, 1) on
seeds 1 and 2, grad reset left out on seed 1, n_steps 5, virtual_batch_size 64), 6 broken (lr x10, x100, x1000,
/1000, offset +1000, lambda_sparse 10), 1 ambiguous (grad reset left out on seed 2); every run's losses finite.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn
from torch.autograd import Function
from torch.nn import BatchNorm1d, Linear, ReLU
from torch.nn.utils import clip_grad_norm_

import gradmedic

ARCH = "tabnet"
MONITOR_AT = ("watch(network, optimizer, every=10) right after the Adam is built (_set_optimizer); monitor.step(loss) "
              "right after loss.backward() in _train_batch (loss = cross_entropy - lambda_sparse * M_loss), before "
              "clip_grad_norm_(network.parameters(), clip_value=1) and optimizer.step()")

N_SAMPLES = 12000  # make_classification rows (3/4 train, 1/4 test)
MAX_EPOCHS = 15  # upstream fit(): max_epochs=100 (with early stopping on an eval set)
BATCH_SIZE = 256  # upstream fit(): batch_size=1024
VIRTUAL_BATCH_SIZE = 128  # upstream fit(): virtual_batch_size=128
CLUSTERS, CLASS_SEP = 2, 2.0  # make_classification: 2 clusters a class, class_sep 2
LR = 2e-2  # upstream TabModel: optimizer_params=dict(lr=2e-2)


# ---------------------------------------------------------------------------------------------------------------
# pytorch_tabnet/sparsemax.py (the Sparsemax part; Entmax15 is not used by the default mask_type="sparsemax")
# ---------------------------------------------------------------------------------------------------------------

# credits to Yandex https://github.com/Qwicen/node/blob/master/lib/nn_utils.py
def _make_ix_like(input, dim=0):
    d = input.size(dim)
    rho = torch.arange(1, d + 1, device=input.device, dtype=input.dtype)
    view = [1] * input.dim()
    view[0] = -1
    return rho.view(view).transpose(0, dim)


class SparsemaxFunction(Function):
    """
    An implementation of sparsemax (Martins & Astudillo, 2016). See
    :cite:`DBLP:journals/corr/MartinsA16` for detailed description.
    By Ben Peters and Vlad Niculae
    """

    @staticmethod
    def forward(ctx, input, dim=-1):
        ctx.dim = dim
        max_val, _ = input.max(dim=dim, keepdim=True)
        input -= max_val  # same numerical stability trick as for softmax
        tau, supp_size = SparsemaxFunction._threshold_and_support(input, dim=dim)
        output = torch.clamp(input - tau, min=0)
        ctx.save_for_backward(supp_size, output)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        supp_size, output = ctx.saved_tensors
        dim = ctx.dim
        grad_input = grad_output.clone()
        grad_input[output == 0] = 0

        v_hat = grad_input.sum(dim=dim) / supp_size.to(output.dtype).squeeze()
        v_hat = v_hat.unsqueeze(dim)
        grad_input = torch.where(output != 0, grad_input - v_hat, grad_input)
        return grad_input, None

    @staticmethod
    def _threshold_and_support(input, dim=-1):
        input_srt, _ = torch.sort(input, descending=True, dim=dim)
        input_cumsum = input_srt.cumsum(dim) - 1
        rhos = _make_ix_like(input, dim)
        support = rhos * input_srt > input_cumsum

        support_size = support.sum(dim=dim).unsqueeze(dim)
        tau = input_cumsum.gather(dim, support_size - 1)
        tau /= support_size.to(input.dtype)
        return tau, support_size


sparsemax = SparsemaxFunction.apply


class Sparsemax(nn.Module):

    def __init__(self, dim=-1):
        self.dim = dim
        super(Sparsemax, self).__init__()  # noqa: UP008 (as upstream)

    def forward(self, input):
        return sparsemax(input, self.dim)


# ---------------------------------------------------------------------------------------------------------------
# pytorch_tabnet/tab_network.py (what TabNet needs without categorical embeddings; docstrings shortened)
# ---------------------------------------------------------------------------------------------------------------

def initialize_non_glu(module, input_dim, output_dim):
    gain_value = np.sqrt((input_dim + output_dim) / np.sqrt(4 * input_dim))
    torch.nn.init.xavier_normal_(module.weight, gain=gain_value)
    # torch.nn.init.zeros_(module.bias)
    return


def initialize_glu(module, input_dim, output_dim):
    gain_value = np.sqrt((input_dim + output_dim) / np.sqrt(input_dim))
    torch.nn.init.xavier_normal_(module.weight, gain=gain_value)
    # torch.nn.init.zeros_(module.bias)
    return


class GBN(torch.nn.Module):
    """
    Ghost Batch Normalization
    https://arxiv.org/abs/1705.08741
    """

    def __init__(self, input_dim, virtual_batch_size=128, momentum=0.01):
        super(GBN, self).__init__()  # noqa: UP008 (as upstream)

        self.input_dim = input_dim
        self.virtual_batch_size = virtual_batch_size
        self.bn = BatchNorm1d(self.input_dim, momentum=momentum)

    def forward(self, x):
        chunks = x.chunk(int(np.ceil(x.shape[0] / self.virtual_batch_size)), 0)
        res = [self.bn(x_) for x_ in chunks]

        return torch.cat(res, dim=0)


class TabNetEncoder(torch.nn.Module):
    def __init__(
        self,
        input_dim,
        output_dim,
        n_d=8,
        n_a=8,
        n_steps=3,
        gamma=1.3,
        n_independent=2,
        n_shared=2,
        epsilon=1e-15,
        virtual_batch_size=128,
        momentum=0.02,
        mask_type="sparsemax",
        group_attention_matrix=None,
    ):
        super(TabNetEncoder, self).__init__()  # noqa: UP008 (as upstream)
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.is_multi_task = isinstance(output_dim, list)
        self.n_d = n_d
        self.n_a = n_a
        self.n_steps = n_steps
        self.gamma = gamma
        self.epsilon = epsilon
        self.n_independent = n_independent
        self.n_shared = n_shared
        self.virtual_batch_size = virtual_batch_size
        self.mask_type = mask_type
        self.initial_bn = BatchNorm1d(self.input_dim, momentum=0.01)
        self.group_attention_matrix = group_attention_matrix

        if self.group_attention_matrix is None:
            # no groups
            self.group_attention_matrix = torch.eye(self.input_dim)
            self.attention_dim = self.input_dim
        else:
            self.attention_dim = self.group_attention_matrix.shape[0]

        if self.n_shared > 0:
            shared_feat_transform = torch.nn.ModuleList()
            for i in range(self.n_shared):
                if i == 0:
                    shared_feat_transform.append(
                        Linear(self.input_dim, 2 * (n_d + n_a), bias=False)
                    )
                else:
                    shared_feat_transform.append(
                        Linear(n_d + n_a, 2 * (n_d + n_a), bias=False)
                    )

        else:
            shared_feat_transform = None

        self.initial_splitter = FeatTransformer(
            self.input_dim,
            n_d + n_a,
            shared_feat_transform,
            n_glu_independent=self.n_independent,
            virtual_batch_size=self.virtual_batch_size,
            momentum=momentum,
        )

        self.feat_transformers = torch.nn.ModuleList()
        self.att_transformers = torch.nn.ModuleList()

        for _step in range(n_steps):
            transformer = FeatTransformer(
                self.input_dim,
                n_d + n_a,
                shared_feat_transform,
                n_glu_independent=self.n_independent,
                virtual_batch_size=self.virtual_batch_size,
                momentum=momentum,
            )
            attention = AttentiveTransformer(
                n_a,
                self.attention_dim,
                group_matrix=group_attention_matrix,
                virtual_batch_size=self.virtual_batch_size,
                momentum=momentum,
                mask_type=self.mask_type,
            )
            self.feat_transformers.append(transformer)
            self.att_transformers.append(attention)

    def forward(self, x, prior=None):
        x = self.initial_bn(x)

        bs = x.shape[0]  # batch size
        if prior is None:
            prior = torch.ones((bs, self.attention_dim)).to(x.device)

        M_loss = 0
        att = self.initial_splitter(x)[:, self.n_d :]
        steps_output = []
        for step in range(self.n_steps):
            M = self.att_transformers[step](prior, att)
            M_loss += torch.mean(
                torch.sum(torch.mul(M, torch.log(M + self.epsilon)), dim=1)
            )
            # update prior
            prior = torch.mul(self.gamma - M, prior)
            # output
            M_feature_level = torch.matmul(M, self.group_attention_matrix)
            masked_x = torch.mul(M_feature_level, x)
            out = self.feat_transformers[step](masked_x)
            d = ReLU()(out[:, : self.n_d])
            steps_output.append(d)
            # update attention
            att = out[:, self.n_d :]

        M_loss /= self.n_steps
        return steps_output, M_loss


class TabNetNoEmbeddings(torch.nn.Module):
    def __init__(
        self,
        input_dim,
        output_dim,
        n_d=8,
        n_a=8,
        n_steps=3,
        gamma=1.3,
        n_independent=2,
        n_shared=2,
        epsilon=1e-15,
        virtual_batch_size=128,
        momentum=0.02,
        mask_type="sparsemax",
        group_attention_matrix=None,
    ):
        super(TabNetNoEmbeddings, self).__init__()  # noqa: UP008 (as upstream)
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.is_multi_task = isinstance(output_dim, list)
        self.n_d = n_d
        self.n_a = n_a
        self.n_steps = n_steps
        self.gamma = gamma
        self.epsilon = epsilon
        self.n_independent = n_independent
        self.n_shared = n_shared
        self.virtual_batch_size = virtual_batch_size
        self.mask_type = mask_type
        self.initial_bn = BatchNorm1d(self.input_dim, momentum=0.01)  # upstream too: never used in forward

        self.encoder = TabNetEncoder(
            input_dim=input_dim,
            output_dim=output_dim,
            n_d=n_d,
            n_a=n_a,
            n_steps=n_steps,
            gamma=gamma,
            n_independent=n_independent,
            n_shared=n_shared,
            epsilon=epsilon,
            virtual_batch_size=virtual_batch_size,
            momentum=momentum,
            mask_type=mask_type,
            group_attention_matrix=group_attention_matrix
        )

        if self.is_multi_task:
            self.multi_task_mappings = torch.nn.ModuleList()
            for task_dim in output_dim:
                task_mapping = Linear(n_d, task_dim, bias=False)
                initialize_non_glu(task_mapping, n_d, task_dim)
                self.multi_task_mappings.append(task_mapping)
        else:
            self.final_mapping = Linear(n_d, output_dim, bias=False)
            initialize_non_glu(self.final_mapping, n_d, output_dim)

    def forward(self, x):
        res = 0
        steps_output, M_loss = self.encoder(x)
        res = torch.sum(torch.stack(steps_output, dim=0), dim=0)

        if self.is_multi_task:
            # Result will be in list format
            out = []
            for task_mapping in self.multi_task_mappings:
                out.append(task_mapping(res))
        else:
            out = self.final_mapping(res)
        return out, M_loss


class TabNet(torch.nn.Module):
    """upstream: also cat_idxs, cat_dims, cat_emb_dim and the EmbeddingGenerator; with no categorical columns
    (this data has none) the embedder returns x unchanged and passes the group matrix on, so it is left out."""

    def __init__(
        self,
        input_dim,
        output_dim,
        n_d=8,
        n_a=8,
        n_steps=3,
        gamma=1.3,
        n_independent=2,
        n_shared=2,
        epsilon=1e-15,
        virtual_batch_size=128,
        momentum=0.02,
        mask_type="sparsemax",
        group_attention_matrix=None,
    ):
        super(TabNet, self).__init__()  # noqa: UP008 (as upstream)
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.n_d = n_d
        self.n_a = n_a
        self.n_steps = n_steps
        self.gamma = gamma
        self.epsilon = epsilon
        self.n_independent = n_independent
        self.n_shared = n_shared
        self.mask_type = mask_type

        if self.n_steps <= 0:
            raise ValueError("n_steps should be a positive integer.")
        if self.n_independent == 0 and self.n_shared == 0:
            raise ValueError("n_shared and n_independent can't be both zero.")

        self.virtual_batch_size = virtual_batch_size
        self.post_embed_dim = input_dim  # upstream: self.embedder.post_embed_dim (= input_dim without categoricals)

        self.tabnet = TabNetNoEmbeddings(
            self.post_embed_dim,
            output_dim,
            n_d,
            n_a,
            n_steps,
            gamma,
            n_independent,
            n_shared,
            epsilon,
            virtual_batch_size,
            momentum,
            mask_type,
            group_attention_matrix,  # upstream: self.embedder.embedding_group_matrix (the same matrix)
        )

    def forward(self, x):
        # upstream: x = self.embedder(x) (the identity without categorical columns)
        return self.tabnet(x)


class AttentiveTransformer(torch.nn.Module):
    def __init__(
        self,
        input_dim,
        group_dim,
        group_matrix,
        virtual_batch_size=128,
        momentum=0.02,
        mask_type="sparsemax",
    ):
        super(AttentiveTransformer, self).__init__()  # noqa: UP008 (as upstream)
        self.fc = Linear(input_dim, group_dim, bias=False)
        initialize_non_glu(self.fc, input_dim, group_dim)
        self.bn = GBN(
            group_dim, virtual_batch_size=virtual_batch_size, momentum=momentum
        )

        if mask_type == "sparsemax":
            # Sparsemax
            self.selector = Sparsemax(dim=-1)
        else:  # upstream: "entmax" selects sparsemax.Entmax15 (not copied: not the default)
            raise NotImplementedError(
                "Please choose either sparsemax" + "or entmax as masktype"
            )

    def forward(self, priors, processed_feat):
        x = self.fc(processed_feat)
        x = self.bn(x)
        x = torch.mul(x, priors)
        x = self.selector(x)
        return x


class FeatTransformer(torch.nn.Module):
    def __init__(
        self,
        input_dim,
        output_dim,
        shared_layers,
        n_glu_independent,
        virtual_batch_size=128,
        momentum=0.02,
    ):
        super(FeatTransformer, self).__init__()  # noqa: UP008 (as upstream)

        params = {
            "n_glu": n_glu_independent,
            "virtual_batch_size": virtual_batch_size,
            "momentum": momentum,
        }

        if shared_layers is None:
            # no shared layers
            self.shared = torch.nn.Identity()
            is_first = True
        else:
            self.shared = GLU_Block(
                input_dim,
                output_dim,
                first=True,
                shared_layers=shared_layers,
                n_glu=len(shared_layers),
                virtual_batch_size=virtual_batch_size,
                momentum=momentum,
            )
            is_first = False

        if n_glu_independent == 0:
            # no independent layers
            self.specifics = torch.nn.Identity()
        else:
            spec_input_dim = input_dim if is_first else output_dim
            self.specifics = GLU_Block(
                spec_input_dim, output_dim, first=is_first, **params
            )

    def forward(self, x):
        x = self.shared(x)
        x = self.specifics(x)
        return x


class GLU_Block(torch.nn.Module):  # noqa: N801 (upstream's name)
    """
    Independent GLU block, specific to each step
    """

    def __init__(
        self,
        input_dim,
        output_dim,
        n_glu=2,
        first=False,
        shared_layers=None,
        virtual_batch_size=128,
        momentum=0.02,
    ):
        super(GLU_Block, self).__init__()  # noqa: UP008 (as upstream)
        self.first = first
        self.shared_layers = shared_layers
        self.n_glu = n_glu
        self.glu_layers = torch.nn.ModuleList()

        params = {"virtual_batch_size": virtual_batch_size, "momentum": momentum}

        fc = shared_layers[0] if shared_layers else None
        self.glu_layers.append(GLU_Layer(input_dim, output_dim, fc=fc, **params))
        for glu_id in range(1, self.n_glu):
            fc = shared_layers[glu_id] if shared_layers else None
            self.glu_layers.append(GLU_Layer(output_dim, output_dim, fc=fc, **params))

    def forward(self, x):
        scale = torch.sqrt(torch.FloatTensor([0.5]).to(x.device))
        if self.first:  # the first layer of the block has no scale multiplication
            x = self.glu_layers[0](x)
            layers_left = range(1, self.n_glu)
        else:
            layers_left = range(self.n_glu)

        for glu_id in layers_left:
            x = torch.add(x, self.glu_layers[glu_id](x))
            x = x * scale
        return x


class GLU_Layer(torch.nn.Module):  # noqa: N801 (upstream's name)
    def __init__(
        self, input_dim, output_dim, fc=None, virtual_batch_size=128, momentum=0.02
    ):
        super(GLU_Layer, self).__init__()  # noqa: UP008 (as upstream)

        self.output_dim = output_dim
        if fc:
            self.fc = fc
        else:
            self.fc = Linear(input_dim, 2 * output_dim, bias=False)
        initialize_glu(self.fc, input_dim, 2 * output_dim)

        self.bn = GBN(
            2 * output_dim, virtual_batch_size=virtual_batch_size, momentum=momentum
        )

    def forward(self, x):
        x = self.fc(x)
        x = self.bn(x)
        out = torch.mul(x[:, : self.output_dim], torch.sigmoid(x[:, self.output_dim :]))
        return out


# ---------------------------------------------------------------------------------------------------------------
# data, and TabNetClassifier().fit(X_train, y_train) reduced to what it runs (abstract_model.py, tab_model.py)
# ---------------------------------------------------------------------------------------------------------------

def make_data():
    """upstream: the user's own table (the README's examples: census income, forest cover type - downloads)."""
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    X, y = make_classification(n_samples=N_SAMPLES, n_features=24, n_informative=12, n_redundant=6, n_repeated=0,
                               n_classes=4, n_clusters_per_class=CLUSTERS, class_sep=CLASS_SEP, flip_y=0.0, random_state=0)
    return train_test_split(X, y, test_size=0.25, random_state=0)


def train(seed: int = 1, lr_mult: float = 1.0, feature_scale: float = 1.0, feature_offset: float = 0.0,
          init_std: float | None = None, lambda_sparse: float = 1e-3, zero_grad: bool = True, n_steps: int = 3,
          virtual_batch_size: int = VIRTUAL_BATCH_SIZE, max_epochs: int = MAX_EPOCHS, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    X_train, X_test, y_train, y_test = make_data()
    # the unscaled_inputs variants: the raw features multiplied by feature_scale and shifted by feature_offset
    X_train = X_train * feature_scale + feature_offset
    X_test = X_test * feature_scale + feature_offset

    # TabNetClassifier(): n_d=8, n_a=8, n_steps=3, gamma=1.3, n_independent=2, n_shared=2, epsilon=1e-15,
    # momentum=0.02, lambda_sparse=1e-3, seed=0, clip_value=1, optimizer_fn=Adam, optimizer_params=dict(lr=2e-2),
    # scheduler_fn=None, mask_type="sparsemax"
    n_d, n_a, gamma, n_independent, n_shared, epsilon, momentum = 8, 8, 1.3, 2, 2, 1e-15, 0.02
    clip_value = 1
    batch_size, drop_last = BATCH_SIZE, True
    torch.manual_seed(seed)  # upstream: torch.manual_seed(self.seed), seed=0

    # update_fit_params / prepare_target: classes mapped to 0..K-1
    classes = np.unique(y_train)
    target_mapper = {c: i for i, c in enumerate(classes)}
    output_dim = len(classes)
    y_train_mapped = np.vectorize(target_mapper.get)(y_train)
    input_dim = X_train.shape[1]

    # _construct_loaders -> create_dataloaders (weights=0: shuffle, no sampler; drop_last=True)
    train_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(X_train.astype(np.float32)), torch.from_numpy(y_train_mapped)),
        batch_size=batch_size, shuffle=True, num_workers=0, drop_last=drop_last)

    # _set_network
    torch.manual_seed(seed)  # upstream: torch.manual_seed(self.seed)
    group_matrix = torch.eye(input_dim)  # create_group_matrix([], input_dim)
    network = TabNet(input_dim, output_dim, n_d=n_d, n_a=n_a, n_steps=n_steps, gamma=gamma,
                     n_independent=n_independent, n_shared=n_shared, epsilon=epsilon,
                     virtual_batch_size=virtual_batch_size, momentum=momentum, mask_type="sparsemax",
                     group_attention_matrix=group_matrix)
    if init_std is not None:  # the init_large variant: N(0, init_std) for every Linear weight (not in upstream)
        for m in network.modules():
            if isinstance(m, Linear):
                nn.init.normal_(m.weight, mean=0.0, std=init_std)

    # _set_optimizer
    lr = LR * lr_mult
    optimizer = torch.optim.Adam(network.parameters(), lr=lr)
    monitor = gradmedic.watch(network, optimizer, every=every)  # gradmedic

    losses = []
    for epoch_idx in range(max_epochs):
        # _train_epoch
        network.train()
        for X, y in train_loader:
            # _train_batch
            X = X.float()
            y = y.float()
            if zero_grad:  # the no_zero_grad variant leaves these two lines out
                for param in network.parameters():
                    param.grad = None

            output, M_loss = network(X)

            loss = torch.nn.functional.cross_entropy(output, y.long())  # compute_loss
            # Add the overall sparsity loss
            loss = loss - lambda_sparse * M_loss

            # Perform backward pass and optimization
            loss.backward()
            monitor.step(loss)  # gradmedic
            if clip_value:
                clip_grad_norm_(network.parameters(), clip_value)
            optimizer.step()
            losses.append(loss.cpu().detach().numpy().item())
        if verbose:
            print(f"epoch {epoch_idx} | loss: {np.mean(losses[-len(train_loader):]):.5f} | {time.time() - t0:.1f}s",
                  flush=True)
    monitor.close()

    # predict(X_test): eval mode, batches of batch_size, argmax of the logits
    network.eval()
    preds = []
    with torch.no_grad():  # upstream: .detach() on the output
        for i in range(0, len(X_test), batch_size):
            output, _ = network(torch.from_numpy(X_test[i:i + batch_size]).float())
            preds.append(output.cpu().detach().numpy())
    pred = classes[np.argmax(np.vstack(preds), axis=1)]
    acc = float(np.mean(pred == y_test))
    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc, "chance": 1.0 / output_dim,
            "initial": None, "initial_what": f"chance accuracy {1.0 / output_dim:g}",
            "extra": dict(lr=lr, lr_mult=lr_mult, train_loss=float(np.mean(la[-20:])), first_loss=float(np.mean(la[:5])),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), steps=len(la), epochs=max_epochs,
                          batch_size=batch_size, virtual_batch_size=virtual_batch_size, n_steps=n_steps,
                          lambda_sparse=lambda_sparse, feature_scale=feature_scale, feature_offset=feature_offset,
                          init_std=-1.0 if init_std is None else init_std, zero_grad=zero_grad,
                          n_train=len(y_train), n_test=len(y_test)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="tabnet", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"TabNetClassifier defaults (n_d 8, n_a 8, n_steps 3, gamma 1.3, 2 shared + 2 independent GLU layers, "
      f"sparsemax masks, lambda_sparse 1e-3, Adam lr {LR:g}, clip_value 1, no scheduler), batch {BATCH_SIZE}, "
      f"virtual batch {VIRTUAL_BATCH_SIZE}, {MAX_EPOCHS} epochs")
CASES: list[dict] = (
    [_case(f"tabnet_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"tabnet_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: optimizer_params lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1,)), (1000, (1,))) for s in ss]
    + [_case("tabnet_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: optimizer_params lr /1000 ({LR * 1e-3:g})")]
    + [_case("tabnet_features_x100_s1", "unscaled_inputs", 1, {"feature_scale": 100.0},
             f"{_P}: the raw features multiplied by 100 (they reach initial_bn, TabNet's own input BatchNorm1d)")]
    + [_case("tabnet_offset1000_s1", "unscaled_inputs", 1, {"feature_offset": 1000.0},
             f"{_P}: the raw features shifted by +1000 (they reach initial_bn, TabNet's own input BatchNorm1d)")]
    + [_case(f"tabnet_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every Linear weight (the GLU fcs, the attentive fcs, final_mapping) "
             "after the network is built, instead of initialize_glu / initialize_non_glu's scaled xavier_normal_")
       for s in (1, 2)]
    + [_case("tabnet_lambda_sparse10_s1", "wrong_loss", 1, {"lambda_sparse": 10.0},
             f"{_P}: lambda_sparse 10 instead of 1e-3 (the mask-entropy penalty outweighs the cross-entropy; no cause "
             "names an over-weighted regularizer, wrong_loss is the closest: the loss followed is not the task's)")]
    + [_case(f"tabnet_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: the loop's `for param in network.parameters(): param.grad = None` left out (the gradients "
             "accumulate)") for s in (1, 2)]
    + [_case("tabnet_n_steps5_s1", "healthy", 1, {"n_steps": 5}, f"{_P}: n_steps 5 instead of 3 (expected harmless)")]
    + [_case("tabnet_vbs64_s1", "healthy", 1, {"virtual_batch_size": 64},
             f"{_P}: virtual_batch_size 64 instead of 128 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
