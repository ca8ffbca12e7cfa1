"""facebookresearch's poincare-embeddings (Poincare ball, distance model, Riemannian SGD), watched by gradmedic.

Adapted from https://github.com/facebookresearch/poincare-embeddings (commit b1364a1c19a6ab28256c8c11c1b1064a1038b762;
CC BY-NC 4.0, see LICENSE-poincare): hype/manifolds/{manifold,euclidean,poincare}.py (PoincareManifold: Distance with its
hand-written backward, rgrad, expm, normalize; init U(-1e-4, 1e-4)), hype/energy_function.py (DistanceEnergyFunction,
the loss F.cross_entropy(-distances, 0) over one positive and the negatives), hype/rsgd.py (RiemannianSGD, the optimizer
passed to watch), hype/train.py (the loop; burn-in: lr x burnin_multiplier 0.01, embed.py's default, and negatives
drawn from counts^0.75), graph_dataset.pyx's BatchedDataset (negative sampling, rewritten in numpy with the same rule)
and graph.py's eval_reconstruction, copied; the settings of train-mammals.sh (dim 5, lr 0.3, 50 negatives, batch 10).

Changed (each marked ``# upstream:``): data: WordNet's mammal closure is a download, so a random tree generated
offline (fixed seed 0; depth 4, 3-5 children a node: 383 nodes) and its transitive closure as (child, ancestor)
edges, weight 1, as wordnet/transitive_closure.py writes (1408 edges); 40 epochs with a 5-epoch burn-in (upstream 300
and 20); dense gradients (upstream -sparse: gradmedic's watch cannot take sparse gradients, so the dense rgrad path is
used, which lacks the sparse path's row renorm to 5); only the table is float64 (upstream sets the default tensor
type to double); seeds 42 + seed; no checkpoints, no eval process: the table is normalized after each epoch as
embed.py's control() does, and evaluated once before and once after training. Metric "mean_rank": graph.py's
reconstruction mean rank (lower is better; 1 is perfect); ``initial`` the untrained table's (157-184); MAP in extra.

Recorded (cases-public189; 19-41 s a run): healthy mean rank 13.18, 13.66, 12.38 on seeds 1-3 (from 169, 182, 184):
healthy; lr x10: 2.79: healthy; lr x100: NaN (seeds 1, 2): broken; lr /1000: 29.97: broken (control 13.18,
start 169); init U(-0.5, 0.5): 17.39 and 18.47: ambiguous; Riemannian rescaling removed (plain SGD): 143.8 and
147.1: broken; zero_grad left out: NaN (seeds 1, 2): broken; no burn-in: 9.33: healthy; lr x2: 3.35: healthy;
100 negatives: 12.43: healthy.  Labels: 7 healthy (3 programs, lr x10, lr x2, no burn-in, 100
negatives), 7 broken, 2 ambiguous; 16 cases, 454 s in all.  Note: 40 epochs are short of convergence, so higher rates
(x2, x10) and no burn-in end better than the healthy program.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch as th
import torch.nn.functional as F
from torch.autograd import Function
from torch.nn import Embedding
from torch.optim.optimizer import Optimizer, required

import gradmedic

ARCH = "embedding"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = RiemannianSGD(model.optim_params(), lr=0.3); "
              "monitor.step(loss) right after loss.backward(), before optimizer.step(lr=lr, counts=counts) "
              "(optimizer.zero_grad() comes before the forward, upstream's order; no clipping)")

# train-mammals.sh: -dim 5 -lr 0.3 -epochs 300 -negs 50 -burnin 20 -batchsize 10 -sparse -model distance -manifold poincare
DIM = 5
LR = 0.3
EPOCHS = 40  # upstream: 300 (train-mammals.sh)
NEGS = 50
BURNIN = 5  # upstream: 20 (of 300 epochs)
BATCHSIZE = 10
BURNIN_MULTIPLIER = 0.01  # embed.py's -burnin_multiplier default, set as train._lr_multiplier
DAMPENING = 0.75  # embed.py's -dampening default
DEPTH, BRANCH = 4, (3, 5)  # the generated hierarchy (upstream: WordNet's mammal closure)


# ---------------------------------------------------------------- hype/manifolds/euclidean.py, poincare.py

class EuclideanManifold:
    __slots__ = ["max_norm"]

    def __init__(self, max_norm=None, K=None, **kwargs):
        self.max_norm = max_norm
        self.K = K

    def allocate_lt(self, N, dim, sparse):  # manifold.py
        return Embedding(N, dim, sparse=sparse)

    def init_weights(self, w, scale=1e-4):  # manifold.py
        w.weight.data.uniform_(-scale, scale)

    def normalize(self, u):
        d = u.size(-1)
        if self.max_norm:
            u.view(-1, d).renorm_(2, 0, self.max_norm)
        return u

    def distance(self, u, v):
        return (u - v).pow(2).sum(dim=-1)

    def rgrad(self, p, d_p):
        return d_p

    def expm(self, p, d_p, normalize=False, lr=None, out=None):
        if lr is not None:
            d_p.mul_(-lr)
        if out is None:
            out = p
        out.add_(d_p)
        if normalize:
            self.normalize(out)
        return out

    def logm(self, p, d_p, out=None):
        return p - d_p

    def ptransp(self, p, x, y, v):
        ix, v_ = v._indices().squeeze(), v._values()
        return p.index_copy_(0, ix, v_)


class PoincareManifold(EuclideanManifold):
    def __init__(self, eps=1e-5, K=None, **kwargs):
        self.eps = eps
        super(PoincareManifold, self).__init__(max_norm=1 - eps)  # noqa: UP008 (as upstream)
        self.K = K  # upstream: also inner_radius when K is given (entailment cones only)

    def distance(self, u, v):
        return Distance.apply(u, v, self.eps)

    def rgrad(self, p, d_p):
        if d_p.is_sparse:
            p_sqnorm = th.sum(
                p[d_p._indices()[0].squeeze()] ** 2, dim=1,
                keepdim=True
            ).expand_as(d_p._values())
            n_vals = d_p._values() * ((1 - p_sqnorm) ** 2) / 4
            n_vals.renorm_(2, 0, 5)
            d_p = th.sparse_coo_tensor(d_p._indices(), n_vals, d_p.size())  # upstream: th.sparse.DoubleTensor(...)
        else:
            p_sqnorm = th.sum(p ** 2, dim=-1, keepdim=True)
            d_p = d_p * ((1 - p_sqnorm) ** 2 / 4).expand_as(d_p)
        return d_p


class Distance(Function):
    @staticmethod
    def grad(x, v, sqnormx, sqnormv, sqdist, eps):
        alpha = (1 - sqnormx)
        beta = (1 - sqnormv)
        z = 1 + 2 * sqdist / (alpha * beta)
        a = ((sqnormv - 2 * th.sum(x * v, dim=-1) + 1) / th.pow(alpha, 2))\
            .unsqueeze(-1).expand_as(x)
        a = a * x - v / alpha.unsqueeze(-1).expand_as(v)
        z = th.sqrt(th.pow(z, 2) - 1)
        z = th.clamp(z * beta, min=eps).unsqueeze(-1)
        return 4 * a / z.expand_as(x)

    @staticmethod
    def forward(ctx, u, v, eps):
        squnorm = th.clamp(th.sum(u * u, dim=-1), 0, 1 - eps)
        sqvnorm = th.clamp(th.sum(v * v, dim=-1), 0, 1 - eps)
        sqdist = th.sum(th.pow(u - v, 2), dim=-1)
        ctx.eps = eps
        ctx.save_for_backward(u, v, squnorm, sqvnorm, sqdist)
        x = sqdist / ((1 - squnorm) * (1 - sqvnorm)) * 2 + 1
        # arcosh
        z = th.sqrt(th.pow(x, 2) - 1)
        return th.log(x + z)

    @staticmethod
    def backward(ctx, g):
        u, v, squnorm, sqvnorm, sqdist = ctx.saved_tensors
        g = g.unsqueeze(-1)
        gu = Distance.grad(u, v, squnorm, sqvnorm, sqdist, ctx.eps)
        gv = Distance.grad(v, u, sqvnorm, squnorm, sqdist, ctx.eps)
        return g.expand_as(gu) * gu, g.expand_as(gv) * gv, None


# ---------------------------------------------------------------- hype/energy_function.py

class EnergyFunction(torch.nn.Module):
    def __init__(self, manifold, dim, size, sparse=False, init_scale=1e-4, **kwargs):
        super().__init__()
        self.manifold = manifold
        self.lt = manifold.allocate_lt(size, dim, sparse)
        self.nobjects = size
        self.manifold.init_weights(self.lt, scale=init_scale)  # upstream: init_weights(self.lt) (scale 1e-4)

    def forward(self, inputs):
        e = self.lt(inputs)
        with torch.no_grad():
            e = self.manifold.normalize(e)
        o = e.narrow(1, 1, e.size(1) - 1)
        s = e.narrow(1, 0, 1).expand_as(o)
        return self.energy(s, o).squeeze(-1)

    def optim_params(self, rgrad=True):
        return [
            {
                "params": self.lt.parameters(),
                # the plain-SGD variant: the Euclidean manifold's rgrad (the identity) instead of the Poincare one
                "rgrad": self.manifold.rgrad if rgrad else EuclideanManifold.rgrad.__get__(self.manifold),
                "expm": self.manifold.expm,
                "logm": self.manifold.logm,
                "ptransp": self.manifold.ptransp,
            }
        ]


class DistanceEnergyFunction(EnergyFunction):
    def energy(self, s, o):
        return self.manifold.distance(s, o)

    def loss(self, inp, target, **kwargs):
        return F.cross_entropy(inp.neg(), target)


# ---------------------------------------------------------------- hype/rsgd.py

class RiemannianSGD(Optimizer):
    r"""Riemannian stochastic gradient descent."""

    def __init__(
            self,
            params,
            lr=required,
            rgrad=required,
            expm=required,
    ):
        defaults = {
            'lr': lr,
            'rgrad': rgrad,
            'expm': expm,
        }
        super(RiemannianSGD, self).__init__(params, defaults)  # noqa: UP008 (as upstream)

    def step(self, lr=None, counts=None, **kwargs):
        loss = None

        for group in self.param_groups:
            for p in group['params']:
                lr = lr or group['lr']
                rgrad = group['rgrad']
                expm = group['expm']

                if p.grad is None:
                    continue
                d_p = p.grad.data
                # make sure we have no duplicates in sparse tensor
                if d_p.is_sparse:
                    d_p = d_p.coalesce()
                d_p = rgrad(p.data, d_p)
                d_p.mul_(-lr)
                expm(p.data, d_p)

        return loss


# ---------------------------------------------------------------- data: a generated hierarchy, hype/graph_dataset.pyx

def tree_closure(depth=DEPTH, branch=BRANCH, seed=0):
    """A random tree (each node above the last level has 3-5 children) and its transitive closure as (child,
    ancestor) edges, weight 1, as wordnet/transitive_closure.py writes WordNet's hypernym closure."""
    rng = np.random.default_rng(seed)
    parent = [-1]
    level = [0]
    frontier = [0]
    for d in range(1, depth + 1):
        nxt = []
        for u in frontier:
            for _ in range(int(rng.integers(branch[0], branch[1] + 1))):
                parent.append(u)
                level.append(d)
                nxt.append(len(parent) - 1)
        frontier = nxt
    edges = []
    for v in range(len(parent)):
        a = parent[v]
        while a >= 0:
            edges.append((v, a))
            a = parent[a]
    return np.array(edges, dtype=np.int64), len(parent), np.array(level)


class BatchedDataset:
    """graph_dataset.pyx's BatchedDataset in numpy: batches of (t, h, negatives...) with target 0."""

    def __init__(self, idx, N, weights, nnegs, batch_size, burnin=False, sample_dampening=0.75, rng=None):
        self.idx = idx
        self.N = N
        self.nnegs = nnegs
        self.burnin = burnin
        self.batch_size = batch_size
        self.neg_multiplier = 1
        self.max_tries = 10 * nnegs
        self.rng = rng
        self._weights = [dict() for _ in range(N)]
        self.counts = np.zeros(N)
        for (t, h), w in zip(idx, weights, strict=True):
            self.counts[h] += w
            self._weights[t][h] = w
        self.counts = self.counts ** sample_dampening
        self.p = self.counts / self.counts.sum()  # upstream: the alias method's tables S, A for this distribution
        self.adj = np.zeros((N, N), dtype=bool)  # (t, n) is a positive: not a negative
        self.adj[idx[:, 0], idx[:, 1]] = True

    def nnegatives(self):
        return int(self.neg_multiplier * self.nnegs) if self.burnin else self.nnegs

    def __len__(self):
        return int(np.ceil(float(self.idx.shape[0]) / self.batch_size))

    def __iter__(self):
        perm = self.rng.permutation(len(self.idx))
        nn_ = self.nnegatives()
        for i in range(0, len(perm), self.batch_size):
            rows = perm[i:i + self.batch_size]
            ix = np.empty((len(rows), nn_ + 2), dtype=np.int64)
            ix[:, :2] = self.idx[rows]
            # upstream: draws one at a time (rand_r seeded by the batch's index) until nnegs distinct
            # negatives or max_tries draws; the same rule on max_tries draws per row made at once
            if self.burnin:
                cand = self.rng.choice(self.N, size=(len(rows), self.max_tries), p=self.p)
            else:
                cand = self.rng.integers(0, self.N, size=(len(rows), self.max_tries))
            t = ix[:, :1]
            valid = (cand != t) & ~self.adj[t, cand]  # all weights are 1: "weight < weight_th" never holds
            for j in range(len(rows)):
                ok = cand[j][valid[j]]
                _, first = np.unique(ok, return_index=True)
                negs = ok[np.sort(first)][:nn_]
                if len(negs) == 0:
                    negs = t[j]
                k = len(negs)
                ix[j, 2:2 + k] = negs
                if k < nn_:  # upstream: each remaining slot repeats one of the slots before it, drawn uniformly
                    for p in range(2 + k, nn_ + 2):
                        ix[j, p] = ix[j, 2 + int(self.rng.random() * (p - 2))]
            yield torch.from_numpy(ix), torch.zeros(len(rows), dtype=torch.long)


# ---------------------------------------------------------------- hype/graph.py's eval_reconstruction

def eval_reconstruction(adj, model):
    from sklearn.metrics import average_precision_score

    ranksum = nranks = ap_scores = iters = 0
    labels = np.empty(model.lt.weight.size(0))
    with torch.no_grad():
        for object in adj:
            labels.fill(0)
            neighbors = np.array(list(adj[object]), dtype=np.int32)
            dists = model.energy(model.lt.weight[None, object], model.lt.weight)
            dists[object] = 1e12
            sorted_dists, sorted_idx = dists.sort()
            ranks, = np.where(np.isin(sorted_idx.numpy(), neighbors))  # upstream: np.in1d
            ranks += 1
            N = ranks.shape[0]
            ranksum += ranks.sum() - (N * (N - 1) / 2)
            nranks += ranks.shape[0]
            labels[neighbors] = 1
            ap_scores += average_precision_score(labels, -dists.numpy())
            iters += 1
    return float(ranksum) / nranks, float(ap_scores) / iters


def reconstruction(adj, model):
    w = model.lt.weight.data
    if not torch.isfinite(w).all():
        return float("nan"), float("nan")
    model.manifold.normalize(w)  # embed.py's control() normalizes the table before each evaluation
    return eval_reconstruction(adj, model)


# ---------------------------------------------------------------- embed.py + hype/train.py

def train(seed: int = 1, lr_mult: float = 1.0, init_scale: float | None = None, rgrad: bool = True,
          zero_grad: bool = True, burnin: int = BURNIN, negs: int = NEGS, epochs: int = EPOCHS, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    th.manual_seed(42 + seed)  # upstream: th.manual_seed(42); np.random.seed(42)
    rng = np.random.default_rng(42 + seed)
    if True:  # upstream: th.set_default_tensor_type('torch.DoubleTensor'); here only the table is float64 (model.double())
        idx, N, level = tree_closure()
        weights = np.ones(len(idx))
        data = BatchedDataset(idx, N, weights, negs, BATCHSIZE, burnin > 0, DAMPENING, rng=rng)
        model = DistanceEnergyFunction(PoincareManifold(), dim=DIM, size=N, sparse=False,  # upstream: -sparse
                                       init_scale=1e-4 if init_scale is None else init_scale).double()
        lr0 = LR * lr_mult
        optimizer = RiemannianSGD(model.optim_params(rgrad=rgrad), lr=lr0)
        monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

        adj = {}
        for t, h in idx:
            adj.setdefault(int(t), set()).add(int(h))
        initial_rank, initial_map = eval_reconstruction(adj, model)

        losses, hist = [], []
        for epoch in range(epochs):
            epoch_loss = []
            data.burnin = False
            lr = lr0
            if epoch < burnin:
                data.burnin = True
                lr = lr0 * BURNIN_MULTIPLIER
            for inputs, targets in data:
                if zero_grad:  # the no_zero_grad variant leaves this out
                    optimizer.zero_grad()
                preds = model(inputs)
                loss = model.loss(preds, targets, size_average=True)
                loss.backward()
                monitor.step(loss)  # gradmedic
                optimizer.step(lr=lr, counts=None)  # upstream: counts, only used by -asgd
                epoch_loss.append(loss.item())
            losses += epoch_loss
            model.manifold.normalize(model.lt.weight.data)  # embed.py's control(), after every epoch (eval_each 1)
            hist.append((epoch, float(np.mean(epoch_loss))))
            if verbose and epoch % 5 == 4:
                print(f"epoch {epoch} loss {np.mean(epoch_loss):.4f} ({time.time() - t0:.1f}s)", flush=True)
        monitor.close()
        mean_rank, map_rank = reconstruction(adj, model)
    la = np.array(losses)
    norms = model.lt.weight.data.norm(dim=-1).numpy()
    return {"monitors": {"": monitor}, "metric": "mean_rank", "value": float(mean_rank),
            "initial": float(initial_rank), "initial_what": "untrained: reconstruction mean rank of the initial table",
            "chance": float(initial_rank),
            "extra": {"map_rank": float(map_rank), "initial_map": float(initial_map),
                      "train_loss": float(np.mean(la[-20:])), "first_loss": float(la[0]),
                      "start_loss": float(np.mean(la[:5])),
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "steps": len(la), "epochs": epochs,
                      "nodes": N, "edges": len(idx), "lr": lr0, "lr_mult": lr_mult, "burnin": burnin, "negs": negs,
                      "init_scale": -1.0 if init_scale is None else init_scale, "rgrad": rgrad,
                      "zero_grad": zero_grad, "norm_root": float(norms[0]),
                      "norm_leaf_mean": float(norms[level == DEPTH].mean()),
                      "epoch_losses": [h[1] for h in hist]},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="poincare", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"poincare_healthy_s{s}", "healthy", s, {}, f"unchanged (Poincare ball, dim {DIM}, distance model, "
           f"RiemannianSGD lr {LR}, batch {BATCHSIZE}, {NEGS} negatives, burn-in {BURNIN} epochs at lr x0.01 with "
           f"unigram^0.75 negatives; {EPOCHS} epochs)", False) for s in (1, 2, 3)]
    + [_case(f"poincare_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("poincare_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"lr /1000 ({LR * 1e-3:g})")]
    + [_case(f"poincare_init_unif05_s{s}", "init_large", s, {"init_scale": 0.5},
             "init_weights scale 0.5: U(-0.5, 0.5) instead of U(-1e-4, 1e-4) (dim 5: many points outside the ball)")
       for s in (1, 2)]
    + [_case(f"poincare_plain_sgd_s{s}", "lr_high", s, {"rgrad": False},
             "the Riemannian rescaling (1 - |x|^2)^2 / 4 left out: the Euclidean gradient applied on the ball "
             "(plain SGD; at least 4x the Riemannian step, far more near the boundary)") for s in (1, 2)]
    + [_case(f"poincare_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             "optimizer.zero_grad() left out of the loop: the gradients accumulate") for s in (1, 2)]
    + [_case("poincare_no_burnin_s1", "lr_high", 1, {"burnin": 0},
             "no burn-in: the full lr and uniform negatives from the first epoch")]
    + [_case("poincare_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"lr x2 ({LR * 2:g}; expected harmless)")]
    + [_case("poincare_negs100_s1", "healthy", 1, {"negs": 100},
             "100 negatives instead of 50 (expected harmless; no cause names it)")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = {"True": True, "False": False}.get(v, None) if v in ("True", "False") else float(v)
        if k in ("burnin", "negs", "epochs", "seed"):
            kw[k] = int(kw[k])
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k not in ("monitors",)})
