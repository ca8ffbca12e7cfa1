"""Ethan Rosenthal's torchmf: explicit matrix factorization (user/item embeddings and biases, MSE, Adam), watched by gradmedic.

Adapted from https://github.com/EthanRosenthal/torchmf (commit 7832e2da4997886160ff5700f8dfa433634b1527, torchmf.py,
run.py's ``explicit()`` example and utils.py's ``train_test_split``).  The repository has no licence file and its
README names no licence, so this port keeps to what it needs (no LICENSE-torchmf): ``Interactions``, ``BaseModule``
and the body of ``BasePipeline`` (``fit``, ``_fit_epoch``, ``_validation_loss``) written out in one function.
Kept as upstream: ``BaseModule`` (``user_biases``, ``item_biases``, ``user_embeddings``, ``item_embeddings`` as
``nn.Embedding`` with their default N(0, 1) init, ``nn.Dropout(p)`` on both factor embeddings, ``forward`` = user
bias + item bias + the dot product of the dropped-out factors, ``squeeze``); explicit()'s settings n_factors 10,
batch_size 1024, dropout_p 0.02, ``torch.optim.Adam(model.parameters(), lr=0.02, weight_decay=0.1)`` (upstream's
L2 regularization is this weight_decay: there is no separate regularization term in its loss), 40 -> N_EPOCHS
epochs (below), ``nn.MSELoss(reduction='sum')`` (BasePipeline's default loss_function), the shuffled
``DataLoader(Interactions(train), batch_size, shuffle=True)``, the loop (``optimizer.zero_grad()``, the row/col
``.long()`` and val ``.float()``, ``loss.backward()``, ``optimizer.step()``, the epoch's summed loss / train.nnz),
and the test MSE after each epoch as ``_validation_loss`` (summed squared error over the test loader / test.nnz);
utils.py's ``train_test_split`` (n=10 ratings of every user with more than 10 moved to the test matrix).

Changed to run offline on one CPU thread: MovieLens 100k (utils.get_movielens_train_test_split downloads it) is
replaced by ``make_ratings``: a fixed (data seed 0) N_USERS=800 x N_ITEMS=500 matrix of explicit ratings
clip(round(3.5 + b_u + b_i + U V^T + noise), 1, 5) with U, V of rank 5 (U[u] . V[i] of unit variance), biases
N(0, 0.4^2), noise N(0, 0.3^2), each rating observed with probability 0.10 (MovieLens: 943 x 1682, 6.3%); the
split draws from the same fixed RandomState (upstream: ``np.random.choice`` unseeded), so every run has the same
31734 training and 8000 test ratings (31 steps an epoch).  N_EPOCHS = 60 instead of 40 (the test MSE is still
falling steeply at 40 here: 0.50 on seed 1); the run's seed (2016 + seed) is set before the model is built (upstream
builds the model before ``torch.manual_seed(2017)``, so its init is unseeded) and again where upstream sets it
(shuffling, dropout); no tqdm progress bar, no hogwild/sparse/eval_metrics paths (unused by explicit()), the
validation under ``torch.no_grad()``; prints only with ``verbose``.  Knobs (one per variant): ``lr_mult`` scales
the rate; ``init_std`` draws all four embeddings from N(0, init_std); ``const_init`` sets the two factor
embeddings to a constant; ``zero_grad=False`` leaves ``optimizer.zero_grad()`` out; ``target_scale`` multiplies
the ratings before the split (the outcome and the losses in ``extra`` are divided by its square);
``dropout_p``, ``n_factors``, ``batch_size``, ``n_epochs`` replace explicit()'s values.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the Adam is
built, ``monitor.step(loss)`` right after ``loss.backward()`` (the summed MSE of the batch), before
``optimizer.step()``; ``monitor.close()`` after the loop.  Metric "loss": the test MSE after the last epoch (lower
is better); ``initial`` the untrained model's test MSE (about 26: N(0, 1) factors and biases); ``chance`` the test
MSE of predicting the training ratings' global mean, 1.165.  ``extra`` holds the per-rating training MSE (first 5
and last 20 steps, largest step, the last epoch) and the test MSE after epoch 1.

``CASES`` (program "torchmf"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 10^2) on the four embeddings (seeds 1 and 2); zeros on the
two factor embeddings (biases kept); ``optimizer.zero_grad()`` left out (seeds 1 and 2); the ratings x100
(100..500); and two changes expected harmless: lr x2 (cause "lr_high") and dropout_p 0 (cause "healthy").
Tried before recording and left out as not harmless here (the brief's suggestions): n_factors 20 (test MSE 0.513
against 0.302: twice the N(0, 1) init's variance to shrink) and batch 2048 (0.606: half the steps); and a constant
0.1 on the factor embeddings (40 epochs: 0.29 against 0.50, better than the default, as dropout breaks the
factors' symmetry and the small init starts near the answer).
Recorded (cases-public117; 8-14 s a run, 181 s for the 16): healthy test MSE 0.3021, 0.3025, 0.3003 on seeds 1-3
(untrained 25.9, 25.6, 25.2; per-rating training MSE 25-26 over the first 5 steps -> 0.16 over the last 20; test
MSE 16 after epoch 1); lr x10 (0.2): training MSE stalls near 1.0, test 0.941: broken; lr x100 (2): largest step
MSE 4.7e4 / 5.2e4, test 1.285 (seed 1) and 1.405 (seed 2): broken; lr x1000 (20): largest 4.4e8, test 1964:
broken; lr /1000: 25.26: broken; N(0, 10^2) embeddings: untrained 9.4e4, test 6080 (seed 1) and 5925 (seed 2):
broken; zero factor embeddings: the factors get no gradient (biases only), test 0.963: broken; zero_grad left out:
the training MSE rises to 450, test 527 (seed 1) and 516 (seed 2): broken; ratings x100: 0.836 (in rating units;
untrained 13.3): broken; lr x2: 0.3037: healthy; dropout_p 0: 0.3018: healthy.  Labels: 5 healthy (3 programs,
lr x2, no dropout), 11 broken, 0 ambiguous.  Every run's losses were finite.
"""

from __future__ import annotations

import collections
import time

import numpy as np
import scipy.sparse as sp
import torch
import torch.utils.data as data
from torch import nn

import gradmedic

ARCH = "embedding"
MONITOR_AT = ("watch(model, optimizer, every=10) right after the pipeline builds torch.optim.Adam(model.parameters(), "
              "lr=0.02, weight_decay=0.1); monitor.step(loss) right after loss.backward() (nn.MSELoss(reduction='sum') "
              "over the batch of 1024 ratings), before optimizer.step() (optimizer.zero_grad() comes first in the loop, "
              "upstream's order; no clipping)")

N_USERS, N_ITEMS, RANK, DENSITY, N_TEST = 800, 500, 5, 0.10, 10
N_EPOCHS = 60


# ----------------------------------------------------------------------------------------------------------------
# data: upstream downloads MovieLens 100k (utils.get_movielens_train_test_split); here explicit ratings come from a
# hidden low-rank model (fixed data seed), split by upstream's train_test_split
# ----------------------------------------------------------------------------------------------------------------

def make_ratings(data_seed: int = 0):
    """upstream: utils.get_movielens_interactions() (943 x 1682 MovieLens ratings 1..5, 6.3% observed).
    Here: N_USERS x N_ITEMS ratings clip(round(3.5 + b_u + b_i + U V^T + noise), 1, 5), U and V of rank RANK,
    each entry observed with probability DENSITY; 0 means not rated, as upstream's dense matrix."""
    rs = np.random.RandomState(data_seed)
    s = (1.0 / RANK) ** 0.25  # U[u] . V[i] of unit variance
    U = rs.normal(0, s, (N_USERS, RANK))
    V = rs.normal(0, s, (N_ITEMS, RANK))
    bu = rs.normal(0, 0.4, (N_USERS, 1))
    bi = rs.normal(0, 0.4, (1, N_ITEMS))
    full = 3.5 + bu + bi + U @ V.T + rs.normal(0, 0.3, (N_USERS, N_ITEMS))
    full = np.clip(np.round(full), 1, 5)
    mask = rs.rand(N_USERS, N_ITEMS) < DENSITY
    return full * mask, rs


def train_test_split(interactions, n=10, rs=np.random):
    """
    Split an interactions matrix into training and test sets.
    Parameters
    ----------
    interactions : np.ndarray
    n : int (default=10)
        Number of items to select / row to place into test.

    Returns
    -------
    train : np.ndarray
    test : np.ndarray
    """
    test = np.zeros(interactions.shape)
    train = interactions.copy()
    for user in range(interactions.shape[0]):
        if interactions[user, :].nonzero()[0].shape[0] > n:
            test_interactions = rs.choice(interactions[user, :].nonzero()[0],  # upstream: np.random.choice
                                          size=n,
                                          replace=False)
            train[user, test_interactions] = 0.
            test[user, test_interactions] = interactions[user, test_interactions]

    # Test and training are truly disjoint
    assert(np.all((train * test) == 0))
    return train, test


def get_train_test_split(target_scale: float = 1.0):
    interactions, rs = make_ratings()  # upstream: get_movielens_interactions()
    interactions = interactions * target_scale  # the unscaled_target variant: ratings x100
    train, test = train_test_split(interactions, n=N_TEST, rs=rs)
    train = sp.coo_matrix(train)
    test = sp.coo_matrix(test)
    return train, test


# ----------------------------------------------------------------------------------------------------------------
# torchmf.py (Interactions, BaseModule, BasePipeline's fit / _fit_epoch / _validation_loss) as upstream
# ----------------------------------------------------------------------------------------------------------------

class Interactions(data.Dataset):
    """
    Hold data in the form of an interactions matrix.
    Typical use-case is like a ratings matrix:
    - Users are the rows
    - Items are the columns
    - Elements of the matrix are the ratings given by a user for an item.
    """

    def __init__(self, mat):
        self.mat = mat.astype(np.float32).tocoo()
        self.n_users = self.mat.shape[0]
        self.n_items = self.mat.shape[1]

    def __getitem__(self, index):
        row = self.mat.row[index]
        col = self.mat.col[index]
        val = self.mat.data[index]
        return (row, col), val

    def __len__(self):
        return self.mat.nnz


class BaseModule(nn.Module):
    """
    Base module for explicit matrix factorization.
    """

    def __init__(self,
                 n_users,
                 n_items,
                 n_factors=40,
                 dropout_p=0,
                 sparse=False):
        super(BaseModule, self).__init__()  # noqa: UP008 (as upstream)
        self.n_users = n_users
        self.n_items = n_items
        self.n_factors = n_factors
        self.user_biases = nn.Embedding(n_users, 1, sparse=sparse)
        self.item_biases = nn.Embedding(n_items, 1, sparse=sparse)
        self.user_embeddings = nn.Embedding(n_users, n_factors, sparse=sparse)
        self.item_embeddings = nn.Embedding(n_items, n_factors, sparse=sparse)

        self.dropout_p = dropout_p
        self.dropout = nn.Dropout(p=self.dropout_p)

        self.sparse = sparse

    def forward(self, users, items):
        ues = self.user_embeddings(users)
        uis = self.item_embeddings(items)

        preds = self.user_biases(users)
        preds += self.item_biases(items)
        preds += (self.dropout(ues) * self.dropout(uis)).sum(dim=1, keepdim=True)

        return preds.squeeze()

    def __call__(self, *args):
        return self.forward(*args)

    def predict(self, users, items):
        return self.forward(users, items)


def validation_loss(model, test_loader, test, loss_function):
    """BasePipeline._validation_loss: the summed squared error over the test ratings / test.nnz (the test MSE)."""
    model.eval()
    total_loss = torch.Tensor([0])
    with torch.no_grad():  # upstream: no no_grad (no number changes)
        for batch_idx, ((row, col), val) in enumerate(test_loader):  # noqa: B007 (as upstream)
            row = row.long()
            col = col.long()
            val = val.float()

            preds = model(row, col)
            loss = loss_function(preds, val)
            total_loss += loss.item()

    total_loss /= test.nnz
    return float(total_loss[0])


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, const_init: float | None = None,
          zero_grad: bool = True, target_scale: float = 1.0, n_factors: int = 10, batch_size: int = 1024, dropout_p: float = 0.02,
          n_epochs: int = N_EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    train_m, test_m = get_train_test_split(target_scale)

    # run.py's explicit(): BasePipeline(train, test=test, model=BaseModule, n_factors=10, batch_size=1024,
    # dropout_p=0.02, lr=0.02, weight_decay=0.1, optimizer=torch.optim.Adam, n_epochs=40, verbose=True,
    # random_seed=2017), with BasePipeline's default loss_function=nn.MSELoss(reduction='sum')
    lr = 0.02 * lr_mult
    weight_decay = 0.1
    loss_function = nn.MSELoss(reduction='sum')
    # BasePipeline.__init__, in its order: the loaders, the model, the optimizer, then the seed
    train_loader = data.DataLoader(Interactions(train_m), batch_size=batch_size, shuffle=True, num_workers=0)
    test_loader = data.DataLoader(Interactions(test_m), batch_size=batch_size, shuffle=True, num_workers=0)
    torch.manual_seed(2016 + seed)  # upstream: the model is built before torch.manual_seed(2017), i.e. unseeded
    model = BaseModule(train_m.shape[0], train_m.shape[1], n_factors=n_factors, dropout_p=dropout_p, sparse=False)
    if init_std is not None:  # the init_large variant: N(0, init_std) on the four embeddings (default N(0, 1))
        for emb in (model.user_biases, model.item_biases, model.user_embeddings, model.item_embeddings):
            nn.init.normal_(emb.weight, 0.0, init_std)
    if const_init is not None:  # the symmetric_init variant: the two factor embeddings constant
        for emb in (model.user_embeddings, model.item_embeddings):
            nn.init.constant_(emb.weight, const_init)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    torch.manual_seed(2016 + seed)  # upstream: random_seed=2017
    np.random.seed(2016 + seed)

    untrained = validation_loss(model, test_loader, test_m, loss_function) / target_scale ** 2
    mu = train_m.data.mean()
    mean_mse = float(np.mean((test_m.tocoo().data - mu) ** 2)) / target_scale ** 2

    losses = collections.defaultdict(list)
    step_losses = []
    for epoch in range(1, n_epochs + 1):  # BasePipeline.fit (no hogwild, no eval_metrics)
        # BasePipeline._fit_epoch
        model.train()
        total_loss = torch.Tensor([0])
        for batch_idx, ((row, col), val) in enumerate(train_loader):  # noqa: B007  upstream: wrapped in a tqdm progress bar
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()

            row = row.long()
            col = col.long()
            val = val.float()

            preds = model(row, col)
            loss = loss_function(preds, val)
            loss.backward()
            monitor.step(loss)  # gradmedic

            optimizer.step()

            total_loss += loss.item()
            step_losses.append(loss.item() / row.size()[0])
        total_loss /= train_m.nnz
        losses['train'].append(float(total_loss[0]))
        losses['test'].append(validation_loss(model, test_loader, test_m, loss_function))
        losses['epoch'].append(epoch)
        if verbose:
            print('Epoch: {0:^3}  train: {1:^10.5f}val: {2:^10.5f}'.format(  # noqa: UP030 (as upstream)
                epoch, losses['train'][-1], losses['test'][-1]), flush=True)
    monitor.close()

    test_mse = losses['test'][-1] / target_scale ** 2
    la = np.array(step_losses) / target_scale ** 2
    return {"monitors": {"": monitor}, "metric": "loss", "value": float(test_mse),
            "initial": float(untrained), "initial_what": "untrained: the test MSE of the model before training",
            "chance": mean_mse,
            "extra": {"train_mse": losses['train'][-1] / target_scale ** 2, "first_loss": float(la[0]),
                      "first5_train_mse": float(np.mean(la[:5])), "last20_train_mse": float(np.mean(la[-20:])),
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "steps": len(la), "epochs": n_epochs,
                      "test_mse_epoch1": losses['test'][0] / target_scale ** 2,
                      "global_mean_mse": mean_mse, "lr": lr, "lr_mult": lr_mult,
                      "init_std": -1.0 if init_std is None else init_std,
                      "const_init": -1.0 if const_init is None else const_init, "zero_grad": zero_grad,
                      "target_scale": target_scale, "n_factors": n_factors, "batch_size": batch_size, "dropout_p": dropout_p,
                      "n_train": int(train_m.nnz), "n_test": int(test_m.nnz)},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="torchmf", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"torchmf explicit MF (BaseModule n_factors 10, dropout 0.02, default N(0, 1) embeddings; MSELoss(reduction='sum'); "
      f"Adam lr 0.02, weight_decay 0.1; batch 1024, {N_EPOCHS} epochs)")
CASES: list[dict] = (
    [_case(f"torchmf_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"torchmf_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({0.02 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("torchmf_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 (2e-05)")]
    + [_case(f"torchmf_init_std10_s{s}", "init_large", s, {"init_std": 10.0},
             f"{_P}: nn.init.normal_(std=10) on the four embeddings (user/item factors and biases) instead of "
             f"nn.Embedding's default N(0, 1)") for s in (1, 2)]
    + [_case("torchmf_zero_factors_s1", "symmetric_init", 1, {"const_init": 0.0},
             f"{_P}: nn.init.constant_(0) on user_embeddings and item_embeddings (the biases keep N(0, 1))")]
    + [_case(f"torchmf_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out of _fit_epoch (the gradients accumulate)") for s in (1, 2)]
    + [_case("torchmf_ratings_x100_s1", "unscaled_target", 1, {"target_scale": 100.0},
             f"{_P}: the ratings multiplied by 100 (100..500) before the split; the outcome is divided by 100^2")]
    + [_case("torchmf_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: Adam lr x2 (0.04; expected harmless)")]
    + [_case("torchmf_no_dropout_s1", "healthy", 1, {"dropout_p": 0.0},
             f"{_P}: dropout_p 0 instead of 0.02 (expected harmless; no cause names it)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k not in ("monitors", "extra")})
    print(r["extra"])
