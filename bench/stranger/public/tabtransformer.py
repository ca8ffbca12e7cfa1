"""lucidrains/tab-transformer-pytorch ``TabTransformer`` (column embeddings, a transformer over the categorical
columns, LayerNorm on the continuous features, an MLP head) on scikit-learn's breast-cancer table, watched by
gradmedic.

Adapted from https://github.com/lucidrains/tab-transformer-pytorch (commit 43ecec9740c4eaea2850b893692c77a0ad1e2695,
tab_transformer_pytorch/tab_transformer_pytorch.py and README.md; MIT License, Copyright (c) 2020 Phil Wang, see
LICENSE-tab-transformer).  That commit (2023-12-06) is the last self-contained version of the file: later ones
(2024-12 on) import the author's ``hyper_connections``, ``x_mlps_pytorch`` and ``discrete_continuous_embed_readout``
packages, which are not installed here.  Kept as in that commit: ``Residual``, ``PreNorm``, ``GEGLU``,
``FeedForward`` (Linear to 2 x 4 x dim, GEGLU, Dropout, Linear), ``Attention`` (``to_qkv`` without bias, scaled
dot-product softmax, dropout on the attention, ``to_out``), ``Transformer`` (pre-norm residual attention and
feed-forward blocks, no final norm), ``MLP`` and ``TabTransformer`` (one ``nn.Embedding`` table for all categories
with per-column offsets and 2 special tokens, the shared per-column embedding of dim/8 initialized N(0, 0.02), the
optional ``continuous_mean_std`` normalization and then ``nn.LayerNorm(num_continuous)`` on the continuous features,
the flattened transformer output concatenated with them into the MLP), PyTorch's default initialization elsewhere
(the original sets none).  The configuration is the README's usage example: dim 32, depth 6, heads 8 (dim_head 16),
attn_dropout 0.1, ff_dropout 0.1, mlp_hidden_mults (4, 2), mlp_act nn.ReLU(), and ``continuous_mean_std`` given (the
training set's mean and std of each continuous column: "normalize the continuous values before layer norm").
The loop is the plain one the README's example implies: Adam lr 1e-3 (the README gives no optimizer or rate),
``nn.CrossEntropyLoss`` on the logits, zero_grad / backward / step per batch of 64, test accuracy at the end
with ``model.eval()``.

Changed: einops is not installed, so its uses are rewritten in plain torch ops of the same meaning
(``rearrange(t, "b n (h d) -> b h n d")`` as ``unflatten(-1, (h, -1)).transpose(1, 2)``, ``rearrange(out,
"b h n d -> b n (h d)")`` as ``transpose(1, 2).flatten(2)``, ``repeat(e, "n d -> b n d")`` as ``expand``,
``rearrange(x, "b ... -> b (...)")`` as ``flatten(1)``; the two ``einsum`` calls are kept).  ``dim_out`` 2 instead
of the README's 1, for the cross-entropy on two logits.  The data: ``load_breast_cancer`` (569 rows, 30 features, 2
classes) split once (a fixed ``torch.Generator`` seeded 0, the same for every run) into 455 training and 114 test
rows; five of the "mean" columns (texture, smoothness, compactness, symmetry, fractal dimension) binned into
categories by the training set's quantiles (8, 5, 6, 5, 4 bins, as the README's ``categories`` have uneven counts),
the other 25 columns continuous.  The training set is shuffled each epoch by a ``torch.Generator`` seeded with the
run's seed; 20 epochs (160 steps; the healthy run is at a training loss ~0.005 by epoch 15), ~15 s on one
CPU thread.

The watch: ``gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is built,
``monitor.step(loss)`` after ``loss.backward()``, before ``optimizer.step()``.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the
same seed's healthy run: Adam lr x10, x100 (seeds 1 and 2), x1000 and /1000; ``nn.init.normal_(std=1.0)`` on every
Linear weight (seeds 1 and 2); ``zeros_`` on the MLP head's first Linear, weight and bias (seeds 1 and 2); the
continuous features raw (no ``continuous_mean_std``: only the LayerNorm across the 25 columns, whose scales run
from ~0.003 to ~900; seeds 1 and 2).  Labels come from run.py's outcome rules only.
Recorded (cases-public9, 221 s for the 14 cases, 12-19 s each): healthy 0.947, 0.939, 0.956 test accuracy on seeds
1-3 (the test set's majority class is 0.614); lr x100 (both seeds), x1000 and the zeroed MLP Linear (both seeds) end
at 0.614, the majority class (broken); lr /1000 at 0.544 (broken); N(0, 1) on every Linear at 0.719 and 0.728
(broken); lr x10 ends at the control's 0.947 but its batch loss reached 9.8 on the way (control's largest 0.73), so it
is ambiguous; the raw continuous features give 0.921 on seed 1 (healthy: the LayerNorm across the columns, and the
binned columns through the transformer, keep enough) and 0.860 on seed 2 (ambiguous: 7.9 points below its control).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import einsum, nn

import gradmedic

ARCH = "transformer"
MONITOR_AT = "monitor.step(loss) after loss.backward() (CrossEntropyLoss on the logits), before optimizer.step()"


# helpers

def exists(val):
    return val is not None


def default(val, d):
    return val if exists(val) else d


# classes

class Residual(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x, **kwargs):
        return self.fn(x, **kwargs) + x


class PreNorm(nn.Module):
    def __init__(self, dim, fn):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fn = fn

    def forward(self, x, **kwargs):
        return self.fn(self.norm(x), **kwargs)


# attention

class GEGLU(nn.Module):
    def forward(self, x):
        x, gates = x.chunk(2, dim=-1)
        return x * F.gelu(gates)


class FeedForward(nn.Module):
    def __init__(self, dim, mult=4, dropout=0.):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(dim, dim * mult * 2),
            GEGLU(),
            nn.Dropout(dropout),
            nn.Linear(dim * mult, dim)
        )

    def forward(self, x, **kwargs):
        return self.net(x)


class Attention(nn.Module):
    def __init__(self, dim, heads=8, dim_head=16, dropout=0.):
        super().__init__()
        inner_dim = dim_head * heads
        self.heads = heads
        self.scale = dim_head ** -0.5

        self.to_qkv = nn.Linear(dim, inner_dim * 3, bias=False)
        self.to_out = nn.Linear(inner_dim, dim)

        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        h = self.heads
        q, k, v = self.to_qkv(x).chunk(3, dim=-1)
        q, k, v = (t.unflatten(-1, (h, -1)).transpose(1, 2) for t in (q, k, v))  # b n (h d) -> b h n d
        sim = einsum('b h i d, b h j d -> b h i j', q, k) * self.scale

        attn = sim.softmax(dim=-1)
        dropped_attn = self.dropout(attn)

        out = einsum('b h i j, b h j d -> b h i d', dropped_attn, v)
        out = out.transpose(1, 2).flatten(2)  # b h n d -> b n (h d)
        return self.to_out(out), attn


# transformer

class Transformer(nn.Module):
    def __init__(self, dim, depth, heads, dim_head, attn_dropout, ff_dropout):
        super().__init__()
        self.layers = nn.ModuleList([])

        for _ in range(depth):
            self.layers.append(nn.ModuleList([
                PreNorm(dim, Attention(dim, heads=heads, dim_head=dim_head, dropout=attn_dropout)),
                PreNorm(dim, FeedForward(dim, dropout=ff_dropout)),
            ]))

    def forward(self, x, return_attn=False):
        post_softmax_attns = []

        for attn, ff in self.layers:
            attn_out, post_softmax_attn = attn(x)
            post_softmax_attns.append(post_softmax_attn)

            x = x + attn_out
            x = ff(x) + x

        if not return_attn:
            return x

        return x, torch.stack(post_softmax_attns)


# mlp

class MLP(nn.Module):
    def __init__(self, dims, act=None):
        super().__init__()
        dims_pairs = list(zip(dims[:-1], dims[1:], strict=False))
        layers = []
        for ind, (dim_in, dim_out) in enumerate(dims_pairs):
            is_last = ind >= (len(dims_pairs) - 1)
            linear = nn.Linear(dim_in, dim_out)
            layers.append(linear)

            if is_last:
                continue

            act = default(act, nn.ReLU())
            layers.append(act)

        self.mlp = nn.Sequential(*layers)

    def forward(self, x):
        return self.mlp(x)


# main class

class TabTransformer(nn.Module):
    def __init__(
        self,
        *,
        categories,
        num_continuous,
        dim,
        depth,
        heads,
        dim_head=16,
        dim_out=1,
        mlp_hidden_mults=(4, 2),
        mlp_act=None,
        num_special_tokens=2,
        continuous_mean_std=None,
        attn_dropout=0.,
        ff_dropout=0.,
        use_shared_categ_embed=True,
        shared_categ_dim_divisor=8.   # in paper, they reserve dimension / 8 for category shared embedding
    ):
        super().__init__()
        assert all(map(lambda n: n > 0, categories)), 'number of each category must be positive'
        assert len(categories) + num_continuous > 0, 'input shape must not be null'

        # categories related calculations

        self.num_categories = len(categories)
        self.num_unique_categories = sum(categories)

        # create category embeddings table

        self.num_special_tokens = num_special_tokens
        total_tokens = self.num_unique_categories + num_special_tokens

        shared_embed_dim = 0 if not use_shared_categ_embed else int(dim // shared_categ_dim_divisor)

        self.category_embed = nn.Embedding(total_tokens, dim - shared_embed_dim)

        # take care of shared category embed

        self.use_shared_categ_embed = use_shared_categ_embed

        if use_shared_categ_embed:
            self.shared_category_embed = nn.Parameter(torch.zeros(self.num_categories, shared_embed_dim))
            nn.init.normal_(self.shared_category_embed, std=0.02)

        # for automatically offsetting unique category ids to the correct position in the categories embedding table

        if self.num_unique_categories > 0:
            categories_offset = F.pad(torch.tensor(list(categories)), (1, 0), value=num_special_tokens)
            categories_offset = categories_offset.cumsum(dim=-1)[:-1]
            self.register_buffer('categories_offset', categories_offset)

        # continuous

        self.num_continuous = num_continuous

        if self.num_continuous > 0:
            if exists(continuous_mean_std):
                assert continuous_mean_std.shape == (num_continuous, 2), (
                    f'continuous_mean_std must have a shape of ({num_continuous}, 2) where the last dimension contains '
                    'the mean and variance respectively')
            self.register_buffer('continuous_mean_std', continuous_mean_std)

            self.norm = nn.LayerNorm(num_continuous)

        # transformer

        self.transformer = Transformer(
            dim=dim,
            depth=depth,
            heads=heads,
            dim_head=dim_head,
            attn_dropout=attn_dropout,
            ff_dropout=ff_dropout
        )

        # mlp to logits

        input_size = (dim * self.num_categories) + num_continuous

        hidden_dimensions = [input_size * t for t in mlp_hidden_mults]
        all_dimensions = [input_size, *hidden_dimensions, dim_out]

        self.mlp = MLP(all_dimensions, act=mlp_act)

    def forward(self, x_categ, x_cont, return_attn=False):
        xs = []

        assert x_categ.shape[-1] == self.num_categories, \
            f'you must pass in {self.num_categories} values for your categories input'

        if self.num_unique_categories > 0:
            x_categ = x_categ + self.categories_offset

            categ_embed = self.category_embed(x_categ)

            if self.use_shared_categ_embed:
                shared_categ_embed = self.shared_category_embed.expand(categ_embed.shape[0], -1, -1)  # n d -> b n d
                categ_embed = torch.cat((categ_embed, shared_categ_embed), dim=-1)

            x, attns = self.transformer(categ_embed, return_attn=True)

            flat_categ = x.flatten(1)  # b ... -> b (...)
            xs.append(flat_categ)

        assert x_cont.shape[1] == self.num_continuous, \
            f'you must pass in {self.num_continuous} values for your continuous input'

        if self.num_continuous > 0:
            if exists(self.continuous_mean_std):
                mean, std = self.continuous_mean_std.unbind(dim=-1)
                x_cont = (x_cont - mean) / std

            normed_cont = self.norm(x_cont)
            xs.append(normed_cont)

        x = torch.cat(xs, dim=-1)
        logits = self.mlp(x)

        if not return_attn:
            return logits

        return logits, attns


# data: breast cancer, five "mean" columns binned into categories by the training set's quantiles

CATEG_COLUMNS = (1, 4, 5, 8, 9)   # mean texture, smoothness, compactness, symmetry, fractal dimension
CATEG_BINS = (8, 5, 6, 5, 4)


def breast_cancer_tables():
    from sklearn.datasets import load_breast_cancer

    d = load_breast_cancer()
    x = d.data.astype(np.float32)
    y = d.target.astype(np.int64)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(0)).numpy()
    tr, te = perm[:455], perm[455:]
    cont_cols = [j for j in range(x.shape[1]) if j not in CATEG_COLUMNS]
    cats_tr, cats_te = [], []
    for j, nb in zip(CATEG_COLUMNS, CATEG_BINS, strict=True):
        edges = np.quantile(x[tr, j], np.linspace(0, 1, nb + 1)[1:-1])
        cats_tr.append(np.digitize(x[tr, j], edges))
        cats_te.append(np.digitize(x[te, j], edges))
    xc_tr, xc_te = np.stack(cats_tr, 1), np.stack(cats_te, 1)
    xn_tr, xn_te = x[tr][:, cont_cols], x[te][:, cont_cols]
    mean_std = np.stack([xn_tr.mean(0), xn_tr.std(0)], 1)
    t = torch.from_numpy
    return ((t(xc_tr), t(xn_tr), t(y[tr])), (t(xc_te), t(xn_te), t(y[te])), t(mean_std.astype(np.float32)))


def evaluate(model, xc, xn, y, criterion):
    model.eval()
    with torch.no_grad():
        preds = model(xc, xn)
        loss = criterion(preds, y).item()
        acc = (preds.argmax(dim=1) == y).float().mean().item()
    return loss, acc


def train(seed: int = 1, lr_mult: float = 1.0, raw_cont: bool = False, init_std: float | None = None,
          zero_mlp: bool = False, epochs: int = 20, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    (xc_tr, xn_tr, y_tr), (xc_te, xn_te, y_te), cont_mean_std = breast_cancer_tables()
    g = torch.Generator()
    g.manual_seed(seed)

    model = TabTransformer(
        categories=CATEG_BINS,
        num_continuous=xn_tr.shape[1],
        dim=32,
        dim_out=2,
        depth=6,
        heads=8,
        attn_dropout=0.1,
        ff_dropout=0.1,
        mlp_hidden_mults=(4, 2),
        mlp_act=nn.ReLU(),
        continuous_mean_std=None if raw_cont else cont_mean_std,  # the bug: raw features, LayerNorm only
    )
    if init_std is not None:  # the bug: normal_(0, std) on every Linear weight instead of the default init
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, init_std)
    if zero_mlp:  # the bug: zeros_ on the MLP head's first Linear
        nn.init.zeros_(model.mlp.mlp[0].weight)
        nn.init.zeros_(model.mlp.mlp[0].bias)
    lr = 1e-3 * lr_mult
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)
    criterion = nn.CrossEntropyLoss()
    losses = []

    t0 = time.time()
    n = len(y_tr)
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=g)
        for i in range(0, n, 64):
            idx = perm[i:i + 64]
            optimizer.zero_grad()
            preds = model(xc_tr[idx], xn_tr[idx])
            loss = criterion(preds, y_tr[idx])
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())
        if verbose and (epoch + 1) % 5 == 0:
            print(f"epoch {epoch + 1} loss {np.mean(losses[-8:]):.4f} ({time.time() - t0:.1f}s)", flush=True)
    test_loss, acc = evaluate(model, xc_te, xn_te, y_te, criterion)
    monitor.close()
    if verbose:
        print(f"test loss {test_loss:.4f} accuracy {acc:.4f}")
    majority = float(max(y_te.float().mean().item(), 1 - y_te.float().mean().item()))
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc), "chance": 0.5, "initial": None,
            "initial_what": f"chance accuracy 0.5 (the test set's majority class is {majority:.3f})",
            "extra": {"test_loss": test_loss, "train_loss": float(np.mean(losses[-20:])), "steps": len(losses),
                      "lr": lr, "test_majority": majority},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="tabtransformer", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


CASES: list[dict] = (
    [_case(f"tabtransformer_healthy_s{s}", "healthy", s, {}, "unchanged (TabTransformer dim 32, depth 6, heads 8, "
           "dropouts 0.1, MLP (4, 2) ReLU, continuous_mean_std given; Adam lr 1e-3, CrossEntropyLoss, batch 64, "
           "20 epochs)", False) for s in (1, 2, 3)]
    + [_case(f"tabtransformer_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("tabtransformer_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (1e-06)")]
    + [_case(f"tabtransformer_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Linear weight instead of PyTorch's default "
             "(kaiming_uniform_, a=sqrt(5))")
       for s in (1, 2)]
    + [_case(f"tabtransformer_zero_mlp_s{s}", "symmetric_init", s, {"zero_mlp": True},
             "nn.init.zeros_ on the MLP head's first Linear (weight and bias)") for s in (1, 2)]
    + [_case(f"tabtransformer_raw_cont_s{s}", "unscaled_inputs", s, {"raw_cont": True},
             "continuous features raw: no continuous_mean_std (not standardized), only the LayerNorm across the 25 "
             "columns") for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    r = train(verbose=True, **({"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}))
    print({k: v for k, v in r.items() if k != "monitors"})
