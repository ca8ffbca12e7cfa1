"""graphsage-simple (William L. Hamilton's reference PyTorch GraphSAGE, supervised, on Cora), watched by gradmedic.

Adapted from https://github.com/williamleif/graphsage-simple (commit d3105e5223e9602ba3ef2dd27e343d044fe4bb5f,
graphsage/aggregators.py, graphsage/encoders.py and graphsage/model.py's ``run_cora``).  The repository has no licence
file and its README names no licence, so this port keeps to what is needed (no LICENSE-graphsage): ``MeanAggregator``,
``Encoder`` and ``SupervisedGraphSage`` are copied below, ``load_cora``'s adjacency-list code and ``run_cora``'s loop
are written out in ``load_cora``/``train()``.  Kept as upstream: neighbour sampling by ``random.sample`` and the dense
row-normalized mask; two ``gcn=True`` Encoders of 128 ReLU units (``combined = neigh_feats``: with gcn=True and the
aggregators' gcn=False a node's prediction comes from the mean of its sampled neighbours' embeddings only, as upstream)
with ``init.xavier_uniform_`` weights and no biases, the second over ``lambda nodes: enc1(nodes).t()``;
``enc1.num_samples = 5`` and ``enc2.num_samples = 5`` (upstream's typo for ``num_sample``: the attribute is never read,
so both encoders sample the default 10 neighbours, kept); the features in a frozen ``nn.Embedding`` lookup table
(``requires_grad=False``, left out of the optimizer by ``filter``); ``SupervisedGraphSage(7, enc2)`` (its own 7 x 128
weight, xavier_uniform_, ``nn.CrossEntropyLoss`` on ``scores.t()``); the split (``np.random.permutation``: 1000 test,
500 validation, 1208 training nodes); ``torch.optim.SGD(..., lr=0.7)``; 100 batches, each ``train[:256]`` then
``random.shuffle(train)``, ``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``, no clipping; and the
metric upstream prints, ``f1_score(labels[val], ..., average="micro")`` on the 500 validation nodes (micro F1 =
accuracy; the test nodes' accuracy, never scored upstream, goes to ``extra``).

Changed to run offline on one CPU thread (each change marked ``# upstream:``): Cora (cora/cora.content, cora.cites)
is replaced by ``cora_like``, a graph drawn once with a fixed generator (the same for every run; the seed drives the
split, the xavier inits, the neighbour sampling and the batches): 2708 papers in Cora's 7 class sizes, binary
bag-of-words features over 500 words (upstream's Cora: 1433; 500 is its Pubmed example's width, and it cuts the run
time ~3x: the first layer's mask x features product dominates), 18 words per paper on average from a Zipf-like
vocabulary of which each class favours its own 60 topic words (a quarter of a paper's words), and an undirected
stochastic block model with mean degree 4 (Cora: 3.9) and 90% of edges within a class (Cora: 81%), every paper with
at least one neighbour (upstream's aggregator divides by the neighbour count; every Cora paper has a citation).  A
logistic regression on the features alone reaches 0.77 validation accuracy (Cora: ~0.75); with 85% homophily the
program reached 0.89 on seed 1, and with half the words from the topic features alone gave 0.99, so 90% homophily
and a quarter were kept, and run.py's accuracy rule (>= 0.9) applies.  ``random.sample`` gets ``tuple(to_neigh)``
(Python 3.11 no longer samples from a set; 3.9-3.10 took the tuple themselves); ``init.xavier_uniform`` ->
``xavier_uniform_``; ``loss.data[0]`` -> ``.item()``; Python 2 prints only with ``verbose``; the seed replaces
``np.random.seed(1)``/``random.seed(1)`` and also seeds torch (upstream leaves the xavier inits unseeded); the final
forward passes run under ``torch.no_grad()``.  Knobs (one per variant): ``lr_mult``; ``init_std`` (N(0, init_std)
for the three weights instead of xavier_uniform_); ``const_init`` (every weight that constant); ``feature_scale``
(the Embedding table multiplied); ``zero_grad=False``; ``num_sample`` (what ``enc.num_samples = 5`` meant);
``batch_size``.

The watch, as a user would: ``monitor = gradmedic.watch(graphsage, optimizer, every=10)`` right after the SGD is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after
the loop.  Metric "accuracy": validation micro F1 after the 100 batches (chance: the largest class, 0.302).

``CASES`` (program "graphsage"): the program on seeds 1-3, and one change each against the same seed's healthy run:
SGD lr x10 (7), x100 (70; seeds 1 and 2), /1000 (0.0007); N(0, 1) instead of xavier_uniform_ on all three weights
(seeds 1 and 2); the word features x100 (seeds 1 and 2); ``optimizer.zero_grad()`` left out (seeds 1 and 2); every
weight constant 0.01 (symmetric_init); and two changes expected harmless: num_sample 5 in both encoders (upstream's
intent) and batches of 128 (both cause "healthy").
Recorded (cases-public157; 16 runs, 3-6 s each, 69 s in all): healthy validation accuracy 0.944, 0.912, 0.932 on
seeds 1-3 (test 0.937, 0.919, 0.937; training loss 1.85-1.91 over the first 5 batches -> 0.12-0.15 over the last 20,
every loss finite, largest 1.96-2.95).  Upstream's lr 0.7 is already large: at x10 (7) the loss jumps to 1.4e11 and
then sits at exactly log 7 = 1.9459 (every ReLU of the embedding dead, all scores 0, argmax class 0), 0.104: broken;
lr x100: the same, first-5 mean 3e11 (seed 1) and 1e7 (seed 2), 0.108 and 0.102: broken; lr /1000: loss 1.95 ->
1.95, 0.078: broken; N(0, 1) init: first-5 loss 5095 (seed 1) and 9219 (seed 2), largest 5e9 and 8e24, seed 1 then
at log 7 (dead), seed 2 non-finite from the 30th batch on, 0.102 and 0.104: broken; features x100: first-5 loss 4052
and 8130, largest 2e4 and 4e5, then log 7 (dead), 0.106 and 0.104: broken; zero_grad left out: seed 1's loss climbs
to 87 and ends at log 7 (dead), 0.106, seed 2's rises to 8.8 and ends at 2.26 (training loss worse than at the
start), 0.796: broken (0.116 below its control); constant 0.01: loss 1.87 -> 1.44, 0.392: broken; num_sample 5:
0.936, healthy; batch 128: 0.948, healthy.  Labels: 5 healthy (3 programs, num_sample 5, batch 128), 11 broken,
0 ambiguous.  Every loss was finite except init_std1_s2's.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.metrics import f1_score
from torch.autograd import Variable
from torch.nn import init

import gradmedic

ARCH = "gnn"
MONITOR_AT = ("watch(graphsage, optimizer, every=10) right after optimizer = torch.optim.SGD(filter(lambda p: "
              "p.requires_grad, graphsage.parameters()), lr=0.7); monitor.step(loss) right after loss.backward(), "
              "before optimizer.step() (no clipping upstream)")

CORA_CLASS_SIZES = (298, 418, 818, 426, 217, 180, 351)  # Cora's 7 classes, 2708 papers
NUM_BATCHES = 100  # upstream: range(100)
LR = 0.7


# --------------------------------------------------------------------------------------------------------------------
# graphsage/aggregators.py
# --------------------------------------------------------------------------------------------------------------------

class MeanAggregator(nn.Module):
    """
    Aggregates a node's embeddings using mean of neighbors' embeddings
    """
    def __init__(self, features, cuda=False, gcn=False):
        """
        Initializes the aggregator for a specific graph.

        features -- function mapping LongTensor of node ids to FloatTensor of feature values.
        cuda -- whether to use GPU
        gcn --- whether to perform concatenation GraphSAGE-style, or add self-loops GCN-style
        """

        super(MeanAggregator, self).__init__()  # noqa: UP008 (as upstream)

        self.features = features
        self.cuda = cuda
        self.gcn = gcn

    def forward(self, nodes, to_neighs, num_sample=10):
        """
        nodes --- list of nodes in a batch
        to_neighs --- list of sets, each set is the set of neighbors for node in batch
        num_sample --- number of neighbors to sample. No sampling if None.
        """
        # Local pointers to functions (speed hack)
        _set = set
        if num_sample is not None:
            _sample = random.sample
            # upstream: _sample(to_neigh, num_sample); Python 3.11 no longer samples from a set, and 3.9-3.10
            # took tuple(population), so the same draw is made here
            samp_neighs = [_set(_sample(tuple(to_neigh),
                            num_sample,
                            )) if len(to_neigh) >= num_sample else to_neigh for to_neigh in to_neighs]
        else:
            samp_neighs = to_neighs

        if self.gcn:
            samp_neighs = [samp_neigh + set([nodes[i]]) for i, samp_neigh in enumerate(samp_neighs)]
        unique_nodes_list = list(set.union(*samp_neighs))
        unique_nodes = {n: i for i, n in enumerate(unique_nodes_list)}
        mask = Variable(torch.zeros(len(samp_neighs), len(unique_nodes)))
        column_indices = [unique_nodes[n] for samp_neigh in samp_neighs for n in samp_neigh]
        row_indices = [i for i in range(len(samp_neighs)) for j in range(len(samp_neighs[i]))]
        mask[row_indices, column_indices] = 1
        if self.cuda:
            mask = mask.cuda()
        num_neigh = mask.sum(1, keepdim=True)
        mask = mask.div(num_neigh)
        if self.cuda:
            embed_matrix = self.features(torch.LongTensor(unique_nodes_list).cuda())
        else:
            embed_matrix = self.features(torch.LongTensor(unique_nodes_list))
        to_feats = mask.mm(embed_matrix)
        return to_feats


# --------------------------------------------------------------------------------------------------------------------
# graphsage/encoders.py
# --------------------------------------------------------------------------------------------------------------------

class Encoder(nn.Module):
    """
    Encodes a node's using 'convolutional' GraphSage approach
    """
    def __init__(self, features, feature_dim,
                 embed_dim, adj_lists, aggregator,
                 num_sample=10,
                 base_model=None, gcn=False, cuda=False,
                 feature_transform=False):
        super(Encoder, self).__init__()  # noqa: UP008 (as upstream)

        self.features = features
        self.feat_dim = feature_dim
        self.adj_lists = adj_lists
        self.aggregator = aggregator
        self.num_sample = num_sample
        if base_model is not None:  # upstream: base_model != None
            self.base_model = base_model

        self.gcn = gcn
        self.embed_dim = embed_dim
        self.cuda = cuda
        self.aggregator.cuda = cuda
        self.weight = nn.Parameter(
                torch.FloatTensor(embed_dim, self.feat_dim if self.gcn else 2 * self.feat_dim))
        init.xavier_uniform_(self.weight)  # upstream: init.xavier_uniform (deprecated alias)

    def forward(self, nodes):
        """
        Generates embeddings for a batch of nodes.

        nodes     -- list of nodes
        """
        neigh_feats = self.aggregator.forward(nodes, [self.adj_lists[int(node)] for node in nodes],
                                              self.num_sample)
        if not self.gcn:
            if self.cuda:
                self_feats = self.features(torch.LongTensor(nodes).cuda())
            else:
                self_feats = self.features(torch.LongTensor(nodes))
            combined = torch.cat([self_feats, neigh_feats], dim=1)
        else:
            combined = neigh_feats
        combined = F.relu(self.weight.mm(combined.t()))
        return combined


# --------------------------------------------------------------------------------------------------------------------
# graphsage/model.py
# --------------------------------------------------------------------------------------------------------------------

class SupervisedGraphSage(nn.Module):

    def __init__(self, num_classes, enc):
        super(SupervisedGraphSage, self).__init__()  # noqa: UP008 (as upstream)
        self.enc = enc
        self.xent = nn.CrossEntropyLoss()

        self.weight = nn.Parameter(torch.FloatTensor(num_classes, enc.embed_dim))
        init.xavier_uniform_(self.weight)  # upstream: init.xavier_uniform (deprecated alias)

    def forward(self, nodes):
        embeds = self.enc(nodes)
        scores = self.weight.mm(embeds)
        return scores.t()

    def loss(self, nodes, labels):
        scores = self.forward(nodes)
        return self.xent(scores, labels.squeeze())


def cora_like(n_features=500, words_per_node=18.0, topic_words=60, topic_frac=0.25, mean_degree=4.0,
              homophily=0.9, gen_seed=0):
    """A synthetic stand-in for cora/cora.content and cora/cora.cites (a download is not possible here): a stochastic
    block model over Cora's 7 class sizes and bag-of-words binary features whose word probabilities depend on the
    class.  Returns (features N x F float, labels N x 1 int64, list of undirected edges)."""
    rng = np.random.RandomState(gen_seed)
    labels = np.repeat(np.arange(len(CORA_CLASS_SIZES)), CORA_CLASS_SIZES)
    rng.shuffle(labels)
    n, n_classes = len(labels), len(CORA_CLASS_SIZES)
    # words: a Zipf-like background vocabulary, and per class a set of favoured topic words
    background = 1.0 / np.arange(1, n_features + 1) ** 0.8
    background = background[rng.permutation(n_features)]
    background /= background.sum()
    topics = [rng.choice(n_features, topic_words, replace=False) for _ in range(n_classes)]
    feat = np.zeros((n, n_features))
    for i in range(n):
        k = max(1, rng.poisson(words_per_node))
        n_topic = rng.binomial(k, topic_frac)
        words = np.concatenate([rng.choice(topics[labels[i]], n_topic),
                                rng.choice(n_features, k - n_topic, p=background)]).astype(int)
        feat[i, words] = 1.0
    # citations: a stochastic block model, P(edge) p_in within a class and p_out across, so that a fraction
    # ``homophily`` of the n * mean_degree / 2 expected edges join papers of one class
    sizes = np.array(CORA_CLASS_SIZES, dtype=float)
    pairs_in = float((sizes * (sizes - 1) / 2).sum())
    pairs_out = n * (n - 1) / 2 - pairs_in
    n_edges = n * mean_degree / 2
    p_in, p_out = homophily * n_edges / pairs_in, (1 - homophily) * n_edges / pairs_out
    same = labels[:, None] == labels[None, :]
    upper = np.triu(rng.rand(n, n) < np.where(same, p_in, p_out), k=1)
    edges = [(int(a), int(b)) for a, b in zip(*np.nonzero(upper), strict=True)]
    # every paper cites or is cited at least once in Cora (upstream's aggregator divides by the neighbour count)
    deg = upper.sum(0) + upper.sum(1)
    members = [np.where(labels == c)[0] for c in range(n_classes)]
    for a in np.where(deg == 0)[0]:
        pool = members[labels[a]] if rng.rand() < homophily else np.where(labels != labels[a])[0]
        b = int(rng.choice(pool[pool != a]))
        edges.append((int(a), b))
    return feat, labels.astype(np.int64).reshape(-1, 1), edges


def load_cora(feature_scale=1.0):
    # upstream: reads cora/cora.content (2708 x 1433 binary words, 7 labels) and cora/cora.cites
    feat_data, labels, edges = cora_like()
    feat_data = feat_data * feature_scale  # the unscaled_inputs variant: x100
    adj_lists = defaultdict(set)
    for paper1, paper2 in edges:
        adj_lists[paper1].add(paper2)
        adj_lists[paper2].add(paper1)
    return feat_data, labels, adj_lists


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, const_init: float | None = None,
          feature_scale: float = 1.0, zero_grad: bool = True, num_sample: int | None = None, batch_size: int = 256,
          num_batches: int = NUM_BATCHES, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    np.random.seed(seed)  # upstream: np.random.seed(1)
    random.seed(seed)  # upstream: random.seed(1)
    torch.manual_seed(seed)  # upstream leaves torch unseeded (the xavier inits)
    num_nodes = 2708
    feat_data, labels, adj_lists = load_cora(feature_scale)
    num_feats = feat_data.shape[1]
    features = nn.Embedding(2708, num_feats)
    features.weight = nn.Parameter(torch.FloatTensor(feat_data), requires_grad=False)
    # features.cuda()

    agg1 = MeanAggregator(features, cuda=True)
    enc1 = Encoder(features, num_feats, 128, adj_lists, agg1, gcn=True, cuda=False)
    agg2 = MeanAggregator(lambda nodes: enc1(nodes).t(), cuda=False)
    enc2 = Encoder(lambda nodes: enc1(nodes).t(), enc1.embed_dim, 128, adj_lists, agg2,
                   base_model=enc1, gcn=True, cuda=False)
    enc1.num_samples = 5  # as upstream: a typo for num_sample, so both encoders sample 10 neighbours (the default)
    enc2.num_samples = 5
    if num_sample is not None:  # the num_sample variant: what upstream meant (enc.num_sample = 5)
        enc1.num_sample = num_sample
        enc2.num_sample = num_sample

    graphsage = SupervisedGraphSage(7, enc2)
    #    graphsage.cuda()
    for w in (enc1.weight, enc2.weight, graphsage.weight):
        if init_std is not None:  # the init_large variant: N(0, init_std) instead of xavier_uniform_
            nn.init.normal_(w, 0.0, init_std)
        if const_init is not None:  # the symmetric_init variant: every weight the same constant
            nn.init.constant_(w, const_init)
    rand_indices = np.random.permutation(num_nodes)
    test = rand_indices[:1000]
    val = rand_indices[1000:1500]
    train = list(rand_indices[1500:])

    lr = LR * lr_mult
    optimizer = torch.optim.SGD(filter(lambda p: p.requires_grad, graphsage.parameters()), lr=lr)
    monitor = gradmedic.watch(graphsage, optimizer, every=every)  # gradmedic
    times, losses = [], []
    for batch in range(num_batches):
        batch_nodes = train[:batch_size]  # upstream: train[:256]
        random.shuffle(train)
        start_time = time.time()
        if zero_grad:  # the no_zero_grad variant leaves this out
            optimizer.zero_grad()
        loss = graphsage.loss(batch_nodes,
                              Variable(torch.LongTensor(labels[np.array(batch_nodes)])))
        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()
        end_time = time.time()
        times.append(end_time - start_time)
        losses.append(float(loss.data.item()))  # upstream: loss.data[0]
        if verbose:
            print(batch, losses[-1])  # upstream: print batch, loss.data[0]
    monitor.close()

    with torch.no_grad():  # upstream: computed with autograd on; no number changes
        val_output = graphsage.forward(val)
        val_f1 = f1_score(labels[val], val_output.data.numpy().argmax(axis=1), average="micro")
        test_output = graphsage.forward(test)  # upstream: the test nodes are split off but never scored
        test_f1 = f1_score(labels[test], test_output.data.numpy().argmax(axis=1), average="micro")
    if verbose:
        print("Validation F1:", val_f1)
        print("Average batch time:", np.mean(times))
    la = np.array(losses)
    counts = np.bincount(labels[:, 0], minlength=7)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(val_f1), "chance": float(counts.max() / 2708),
            "initial": None, "initial_what": "chance accuracy: the largest class, 818/2708 = 0.302",
            "extra": dict(lr=lr, test_accuracy=float(test_f1), train_loss=float(np.mean(la[-20:])),
                          first_loss=float(np.mean(la[:5])),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), steps=len(la), batch_size=batch_size,
                          num_sample=enc1.num_sample, lr_mult=lr_mult,
                          init_std=-1.0 if init_std is None else init_std,
                          const_init=float("nan") if const_init is None else const_init,
                          feature_scale=feature_scale, zero_grad=zero_grad,
                          mean_batch_time=float(np.mean(times))),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="graphsage", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"graphsage-simple run_cora (two gcn=True Encoders of 128 ReLU units over MeanAggregators sampling 10 neighbours, "
      f"xavier_uniform_, SupervisedGraphSage's 7 x 128 weight, CrossEntropyLoss; SGD lr {LR:g}, {NUM_BATCHES} batches of "
      f"256 random training nodes; a generated Cora-like block-model graph)")
CASES: list[dict] = (
    [_case(f"graphsage_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"graphsage_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: SGD lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("graphsage_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: SGD lr /1000 ({LR * 1e-3:g})")]
    + [_case(f"graphsage_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) instead of init.xavier_uniform_ on enc1.weight, enc2.weight and the "
             f"classifier weight") for s in (1, 2)]
    + [_case(f"graphsage_features_x100_s{s}", "unscaled_inputs", s, {"feature_scale": 100.0},
             f"{_P}: the binary word features multiplied by 100 in the nn.Embedding lookup table") for s in (1, 2)]
    + [_case(f"graphsage_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)") for s in (1, 2)]
    + [_case("graphsage_const_init_s1", "symmetric_init", 1, {"const_init": 0.01},
             f"{_P}: nn.init.constant_(0.01) instead of init.xavier_uniform_ on all three weights")]
    + [_case("graphsage_num_sample5_s1", "healthy", 1, {"num_sample": 5},
             f"{_P}: num_sample 5 in both encoders (what upstream's enc.num_samples = 5 meant; expected harmless)")]
    + [_case("graphsage_batch128_s1", "healthy", 1, {"batch_size": 128},
             f"{_P}: batches of 128 training nodes instead of 256 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(**kw)
    print({k: v for k, v in r.items() if k != "monitors"})
