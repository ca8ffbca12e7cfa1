"""NVIDIA DeepLearningExamples' Neural Collaborative Filtering (``NeuMF``: GMF and MLP branches fused, He et al. 2017)
on implicit feedback made by a hidden low-rank model, watched by gradmedic.

Adapted from https://github.com/NVIDIA/DeepLearningExamples, PyTorch/Recommendation/NCF (Apache License 2.0,
Copyright (c) 2018 deepakn94, codyaustun, robieta and (c) 2018-2021 NVIDIA CORPORATION, see LICENSE-ncf): ``NeuMF``
from neumf.py (commit 205058fd7c1941cd7d6a86a4eaf417bdc32730cb), the training loop and ``val_epoch`` from ncf.py
(commit 05ee9863290facde91057a15ce75b71ca7dca02d), ``prepare_epoch_train_data`` and ``create_test_data`` from
dataloading.py (commit 0663b67c1afe9979c9767ed63c7e719b1d0629b9).  The brief named guoyang9/NCF first, but that
repository (and yihong-chen/neural-collaborative-filtering) carries no licence, so this follows NVIDIA's, which has
the same model and the same init scheme.

Kept as upstream: ``NeuMF`` (GMF: user and item embeddings multiplied; MLP: the two MLP embeddings concatenated
through Linear + ReLU + dropout layers; ``final`` Linear on the concatenation, ``sigmoid`` flag in ``forward``) and
its init (``normal_(0, 0.01)`` on the four embeddings, glorot_uniform on the MLP weights, lecunn_uniform on
``final``, PyTorch's default biases); ``BCEWithLogitsLoss(reduction='none')`` on the logits then
``torch.mean``; Adam with upstream's defaults lr 0.0045, betas (0.25, 0.5), eps 1e-8; dropout 0.5; 4 negatives
per positive drawn uniformly at random each epoch (not checked against the positives, as upstream), the epoch's
samples shuffled and split into batches, the last smaller one dropped; ``p.grad = None`` on every parameter after
each step; evaluation each epoch as ``val_epoch``: sigmoid scores of each user's 100 candidates (the held-out
item last, 99 negatives), ``topk`` 10, HR@10 and NDCG.

Changed: no apex, CUDA, AMP, distributed or dllogger: ``torch.optim.Adam`` (same arguments) for apex's
``FusedAdam``, no ``torch.jit.trace`` of the criterion, no GradScaler (upstream's is disabled without --amp), no
gradient accumulation (upstream's default 1).  No MovieLens download: the data is made by ``make_data`` (fixed,
data seed 0): 300 users and 200 items with a hidden rank-4 taste ``U[u] . V[i]`` plus an item popularity, each
user's 20 top-scored items are its interactions, one of them at random is the leave-one-out test item (upstream
holds out the latest; there are no timestamps here), and its 99 test negatives are drawn without repeats from
the items it never interacted with (so upstream's duplicate mask is not needed).  Sizes shrunk so a run takes
10-20 s on one CPU thread: mf_dim 8 (upstream 64), MLP layers [32, 32, 16, 8] (upstream [256, 256, 128, 64]),
batch 1024 (upstream 2**20, more than a whole epoch here), 40 epochs (upstream 30; 27 steps an epoch, 1080 in
all).  The run's seed seeds torch (init, negatives, shuffling).  The outcome is the final epoch's HR@10, reported
under the metric name "accuracy" (run.py knows accuracy as its higher-is-better metric; a good outcome is >= 0.9,
chance is 0.1).

The watch: ``gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is built,
``monitor.step(loss)`` after ``loss.backward()``, before ``optimizer.step()``.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the
same seed's healthy run: lr x10, x100 (seeds 1 and 2), x1000 and /1000; N(0, 1) instead of N(0, 0.01) on the
four embeddings (seeds 1 and 2); zeros on the four embeddings; ``sigmoid=True`` in the training forward
(probabilities into BCEWithLogitsLoss, seeds 1 and 2); the ``p.grad = None`` loop left out.  Labels come from
run.py's outcome rules only.
Recorded (cases-public12): healthy HR@10 0.983, 0.977, 0.983 on seeds 1-3; lr x10 0.983 (healthy); lr x100
0.32 and 0.34, x1000 0.10, /1000 0.15 (broken); N(0, 1) embeddings 0.59 and 0.60 (broken); zero embeddings 0.81
(broken: the GMF branch has no gradient, only the MLP branch learns); double sigmoid 0.00 on both seeds (broken:
the loss sits at log 2 and the logits are driven to -150..-530, so every sigmoid score underflows to 0 and
``topk`` among the ties never picks the held-out item, which is last); no zeroing of the gradients 0.937
(ambiguous).  About 13 s a case, 185 s for the 14.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("monitor.step(loss) after loss.backward() (BCEWithLogitsLoss(reduction='none') on the logits, then "
              "torch.mean), before optimizer.step()")

NB_USERS, NB_ITEMS, RANK, NB_POS, VALID_NEG = 300, 200, 4, 20, 99


class NeuMF(nn.Module):
    def __init__(self, nb_users, nb_items,
                 mf_dim, mlp_layer_sizes, dropout=0):

        if mlp_layer_sizes[0] % 2 != 0:
            raise RuntimeError('u dummy, mlp_layer_sizes[0] % 2 != 0')
        super().__init__()
        nb_mlp_layers = len(mlp_layer_sizes)

        self.mf_user_embed = nn.Embedding(nb_users, mf_dim)
        self.mf_item_embed = nn.Embedding(nb_items, mf_dim)
        self.mlp_user_embed = nn.Embedding(nb_users, mlp_layer_sizes[0] // 2)
        self.mlp_item_embed = nn.Embedding(nb_items, mlp_layer_sizes[0] // 2)
        self.dropout = dropout

        self.mlp = nn.ModuleList()
        for i in range(1, nb_mlp_layers):
            self.mlp.extend([nn.Linear(mlp_layer_sizes[i - 1], mlp_layer_sizes[i])])  # noqa: E501

        self.final = nn.Linear(mlp_layer_sizes[-1] + mf_dim, 1)

        self.mf_user_embed.weight.data.normal_(0., 0.01)
        self.mf_item_embed.weight.data.normal_(0., 0.01)
        self.mlp_user_embed.weight.data.normal_(0., 0.01)
        self.mlp_item_embed.weight.data.normal_(0., 0.01)

        def glorot_uniform(layer):
            fan_in, fan_out = layer.in_features, layer.out_features
            limit = np.sqrt(6. / (fan_in + fan_out))
            layer.weight.data.uniform_(-limit, limit)

        def lecunn_uniform(layer):
            fan_in, fan_out = layer.in_features, layer.out_features  # noqa: F841, E501
            limit = np.sqrt(3. / fan_in)
            layer.weight.data.uniform_(-limit, limit)
        for layer in self.mlp:
            if type(layer) is not nn.Linear:
                continue
            glorot_uniform(layer)
        lecunn_uniform(self.final)

    def forward(self, user, item, sigmoid=False):
        xmfu = self.mf_user_embed(user)
        xmfi = self.mf_item_embed(item)
        xmf = xmfu * xmfi

        xmlpu = self.mlp_user_embed(user)
        xmlpi = self.mlp_item_embed(item)
        xmlp = torch.cat((xmlpu, xmlpi), dim=1)
        for layer in self.mlp:
            xmlp = layer(xmlp)
            xmlp = nn.functional.relu(xmlp)
            if self.dropout != 0:
                xmlp = nn.functional.dropout(xmlp, p=self.dropout, training=self.training)

        x = torch.cat((xmf, xmlp), dim=1)
        x = self.final(x)
        if sigmoid:
            x = torch.sigmoid(x)
        return x


def make_data(data_seed: int = 0):
    """Implicit feedback from a hidden low-rank model: user u "interacted with" the NB_POS items of largest
    U[u] . V[i] + b[i] (a rank-RANK taste plus an item popularity); one of them, drawn at random, is u's
    held-out test item (leave-one-out), the others are training positives.  Each user's test series is the
    held-out item and VALID_NEG items u never interacted with (sampled without repeats), the positive last as in
    ``create_test_data``."""
    g = torch.Generator().manual_seed(data_seed)
    U = torch.randn(NB_USERS, RANK, generator=g)
    V = torch.randn(NB_ITEMS, RANK, generator=g)
    b = torch.randn(NB_ITEMS, generator=g)
    score = U @ V.T + b
    top = score.topk(NB_POS, dim=1).indices                      # (users, NB_POS)
    pick = torch.randint(0, NB_POS, (NB_USERS,), generator=g)
    test_pos = top[torch.arange(NB_USERS), pick]
    keep = torch.ones_like(top, dtype=torch.bool)
    keep[torch.arange(NB_USERS), pick] = False
    train_items = top[keep].view(NB_USERS, NB_POS - 1)
    train_ratings = torch.stack((torch.arange(NB_USERS).repeat_interleave(NB_POS - 1), train_items.reshape(-1)), 1)
    interacted = torch.zeros(NB_USERS, NB_ITEMS, dtype=torch.bool)
    interacted[torch.arange(NB_USERS)[:, None], top] = True
    negs = []
    for u in range(NB_USERS):
        cand = (~interacted[u]).nonzero().view(-1)
        negs.append(cand[torch.randperm(len(cand), generator=g)[:VALID_NEG]])
    test_items = torch.cat((torch.stack(negs), test_pos[:, None]), dim=1)   # real sample at last position
    test_users = torch.arange(NB_USERS)[:, None].repeat(1, 1 + VALID_NEG)
    return train_ratings, test_users, test_items


def prepare_epoch_train_data(train_ratings, nb_items, negative_samples, batch_size):
    # create label
    train_label = torch.ones_like(train_ratings[:, 0], dtype=torch.float32)
    neg_label = torch.zeros_like(train_label, dtype=torch.float32)
    neg_label = neg_label.repeat(negative_samples)
    train_label = torch.cat((train_label, neg_label))

    train_users = train_ratings[:, 0]
    train_items = train_ratings[:, 1]

    # prepare data for epoch
    neg_users = train_users.repeat(negative_samples)
    neg_items = torch.empty_like(neg_users, dtype=torch.int64).random_(0, nb_items)

    epoch_users = torch.cat((train_users, neg_users))
    epoch_items = torch.cat((train_items, neg_items))

    # shuffle prepared data and split into batches
    epoch_indices = torch.randperm(len(train_label))

    epoch_users = epoch_users[epoch_indices]
    epoch_items = epoch_items[epoch_indices]
    epoch_label = train_label[epoch_indices]

    epoch_users = epoch_users.split(batch_size)
    epoch_items = epoch_items.split(batch_size)
    epoch_label = epoch_label.split(batch_size)

    # the last batch will almost certainly be smaller, drop it
    return epoch_users[:-1], epoch_items[:-1], epoch_label[:-1]


def val_epoch(model, test_users, test_items, k):
    model.eval()
    with torch.no_grad():
        ratings = model(test_users.reshape(-1), test_items.reshape(-1), sigmoid=True).view(-1, 1 + VALID_NEG)
        labels = torch.zeros_like(ratings)
        labels[:, -1] = 1
        loss = nn.functional.binary_cross_entropy(ratings.reshape(-1), labels.reshape(-1)).item()
        top_indices = torch.topk(ratings, k)[1]
        ifzero = torch.gather(labels, 1, top_indices) == 1
        hits = ifzero.sum()
        ndcg = (np.log(2) / (torch.nonzero(ifzero)[:, 1].view(-1).to(torch.float) + 2).log_()).sum()
    model.train()
    return hits.item() / len(ratings), ndcg.item() / len(ratings), loss


def train(seed: int = 1, lr_mult: float = 1.0, emb_init_std: float | None = None, zero_emb: bool = False,
          double_sigmoid: bool = False, no_zero_grad: bool = False, epochs: int = 40, batch_size: int = 1024,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    train_ratings, test_users, test_items = make_data()

    model = NeuMF(nb_users=NB_USERS, nb_items=NB_ITEMS, mf_dim=8, mlp_layer_sizes=[32, 32, 16, 8], dropout=0.5)
    if emb_init_std is not None:  # the bug: normal_(0, std) on the four embeddings instead of normal_(0, 0.01)
        for e in (model.mf_user_embed, model.mf_item_embed, model.mlp_user_embed, model.mlp_item_embed):
            e.weight.data.normal_(0., emb_init_std)
    if zero_emb:  # the bug: zeros instead of normal_(0, 0.01) on all four embeddings
        for e in (model.mf_user_embed, model.mf_item_embed, model.mlp_user_embed, model.mlp_item_embed):
            e.weight.data.zero_()
    lr = 0.0045 * lr_mult
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.25, 0.5), eps=1e-8)
    monitor = gradmedic.watch(model, optimizer, every=every)
    criterion = nn.BCEWithLogitsLoss(reduction='none')
    losses, hrs = [], []

    t0 = time.time()
    hr0, _, _ = val_epoch(model, test_users, test_items, 10)
    for epoch in range(epochs):
        users, items, labels = prepare_epoch_train_data(train_ratings, NB_ITEMS, 4, batch_size)
        for user_batch, item_batch, label_batch in zip(users, items, labels, strict=True):
            outputs = model(user_batch, item_batch, sigmoid=double_sigmoid)
            loss = criterion(outputs, label_batch.view(-1, 1))
            loss = torch.mean(loss.float().view(-1), 0)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            if not no_zero_grad:
                for p in model.parameters():
                    p.grad = None
            losses.append(loss.item())
        hr, ndcg, val_loss = val_epoch(model, test_users, test_items, 10)
        hrs.append(hr)
        if verbose:
            print(f"epoch {epoch + 1} loss {np.mean(losses[-len(users):]):.4f} hr@10 {hr:.4f} ndcg {ndcg:.4f} "
                  f"val_loss {val_loss:.4f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(hr), "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1 (HR@10 of a random ranking of 100 candidates)",
            "extra": {"hr@10": hr, "ndcg": ndcg, "val_loss": val_loss, "hr@10_untrained": hr0, "hr@10_per_epoch": hrs,
                      "train_loss": float(np.mean(losses[-20:])), "steps": len(losses), "lr": lr},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="ncf", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"ncf_healthy_s{s}", "healthy", s, {}, "unchanged (NeuMF mf_dim 8, MLP [32, 32, 16, 8], dropout 0.5, Adam lr "
           "0.0045 betas (0.25, 0.5), BCEWithLogitsLoss, 4 negatives per positive resampled each epoch, batch 1024, "
           "40 epochs)", False) for s in (1, 2, 3)]
    + [_case(f"ncf_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({0.0045 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("ncf_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (4.5e-06)")]
    + [_case(f"ncf_emb_init_std1_s{s}", "init_large", s, {"emb_init_std": 1.0},
             "normal_(0, 1.0) instead of normal_(0, 0.01) on the four embeddings (GMF and MLP, users and items)")
       for s in (1, 2)]
    + [_case("ncf_zero_emb_s1", "symmetric_init", 1, {"zero_emb": True},
             "zeros instead of normal_(0, 0.01) on the four embeddings (GMF and MLP, users and items)")]
    + [_case(f"ncf_double_sigmoid_s{s}", "wrong_loss", s, {"double_sigmoid": True},
             "model(user, item, sigmoid=True) in the training step: probabilities fed to BCEWithLogitsLoss, which "
             "applies a second sigmoid (evaluation unchanged)") for s in (1, 2)]
    + [_case("ncf_no_zero_grad_s1", "no_zero_grad", 1, {"no_zero_grad": True},
             "the loop's `for p in model.parameters(): p.grad = None` after optimizer.step() left out: gradients "
             "accumulate over all steps")]
)


if __name__ == "__main__":
    import sys
    kw = dict(a.split("=") for a in sys.argv[1:])
    r = train(verbose=True, **{k: (float(v) if k in ("lr_mult", "emb_init_std") else int(v) if k in ("seed", "epochs",
                               "batch_size") else v == "1") for k, v in kw.items()})
    print({k: v for k, v in r.items() if k != "monitors"})
