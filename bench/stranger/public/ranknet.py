"""haowei01/pytorch-examples' RankNet (pairwise learning to rank, factorized loss), watched by gradmedic.

Adapted from https://github.com/haowei01/pytorch-examples (commit a62cad2d73392da010acd7a8c60a7d2965ffdc37;
ranking/RankNet.py's ``RankNet``, ``train_rank_net`` and ``factorized_training_loop``, ranking/utils.py's
``init_weights``, ``eval_ndcg_at_k`` and ``eval_cross_entropy_loss``, ranking/metrics.py's ``DCG``/``NDCG``,
ranking/load_mslr.py's ``generate_batch_per_query`` and ``train_scaler_and_transform``).  The repository has no
licence file, so the port keeps to what it needs (LICENSE-ranknet says so).  Kept as upstream (copied below):
``RankNet`` with ``get_train_inference_net``'s structure [num_features, 64, 16] (Linear, ReLU, Linear, ReLU,
Linear(16, 1), ReLU6 on the score), ``net.apply(init_weights)`` (xavier_uniform_ weights, biases 0.01), the default
``train_algo`` SUM_SESSION: per query the pairwise cross entropy in its factorized form (``logaddexp(s_i, s_j)`` minus
the score of the more relevant document, sigma 1, over the pairs of different relevance), summed over
``batch_size=200`` queries and divided by their number of pairs, ``loss.backward()``, ``optimizer.step()``,
``net.zero_grad()``; queries without a pair skipped, the queries shuffled each epoch, the epoch's remaining queries
as a last, smaller step (with no zero_grad after it: the next epoch's ``net.zero_grad()`` comes first);
``torch.optim.Adam(net.parameters(), lr=lr)`` with the README's command ``--lr 0.001 --standardize`` (the argparse
default is 1e-4; the README's table reports 0.001 and 0.01), ``StepLR(step_size=10, gamma=0.75)`` stepped at the start
of each epoch (upstream's order; PyTorch warns about it), the StandardScaler of ``--standardize`` fitted on the
training documents and applied to the held-out ones, and NDCG@10 / NDCG@30 with exp2 gain over the held-out queries
(queries whose ideal DCG is 0 skipped).

Changed to run offline on one CPU thread: no MSLR-WEB10K (upstream reads Fold1's train.txt and vali.txt, 136
features): ``make_data`` (fixed, data seed 0, the same for every run) generates 2000 training and 300 held-out
queries of 10-30 documents (uniform), each document with 40 latent features (a query-level shift N(0, 0.25) plus
N(0, 1)); the hidden score is a random tanh layer (8 units) on 12 latents plus a linear part and one product
(z0 z1), standardized, plus noise N(0, 0.35^2); grades 0-4 cut at its 50/80/93/98% quantiles (49/31/13/5/2% of the
documents, MSLR-like), documents in random order; the 40 raw features are the latents in MSLR-like units, a quarter
each as they are, 20 exp(z/2) (BM25-like, 5..100), floor(exp(1 + 0.7 z)) (term counts) and 5000 exp(0.3 z)
(lengths / PageRank-like, thousands).  The noiseless hidden score ranks the held-out queries at NDCG@10 0.944; random
orders at 0.407; a least-squares linear scorer on the standardized features at 0.845.  EPOCHS = 10 (upstream:
``--additional_epoch 100``) of 10 steps (100 steps); no SummaryWriter, no checkpoints (upstream saves one and runs
``eval_model`` every 5 epochs; here NDCG@10 on the held-out queries after every epoch goes to ``extra``); lists of
numpy arrays instead of the pandas DataFrame (same per-query batches); ``np.argsort(-scores, kind="stable")``
instead of pandas' ``sort_values('score', ascending=False)`` (equal scores keep the documents' stored order); no
RankNetPairs (only the BASELINE algorithm uses it) and no ``dump_param``; device CPU;
``torch.manual_seed(seed)`` and ``np.random.seed(seed)`` (the shuffles) before the model (upstream unseeded).
Knobs (one per variant): ``lr_mult`` scales the Adam rate; ``standardize=False`` runs without ``--standardize``
(the raw features into fc1); ``init_std`` draws every Linear weight from N(0, init_std) after ``init_weights``;
``fc1_bias`` fills fc1's bias (before the first ReLU); ``zero_grad=False`` leaves out both ``net.zero_grad()``
calls; ``batch_size`` (queries a step); ``hidden`` (the two hidden widths); ``input_scale`` (unused by CASES).

The watch, as a user would: ``monitor = gradmedic.watch(net, optimizer, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()`` of each step (the last, smaller step of each epoch too), before
``optimizer.step()``; ``monitor.close()`` after the epochs.  Metric "test_ndcg10_error": 1 - the held-out NDCG@10
(NDCG is upstream's metric; run.py's rules treat every name but "accuracy" as lower-is-better, so the NDCG goes in as
its error, as deepfm.py does for AUC); ``initial`` 1 - the chance NDCG@10 (the mean over 20 random orders of the
held-out documents, 0.407: 0.593); the untrained net's NDCG@10 is in ``extra`` (``untrained_ndcg10``) with NDCG@30,
the held-out pairwise cross entropy (utils.py's ``eval_cross_entropy_loss``), the per-epoch NDCG@10 and the training
losses.  A good outcome is an error of at most 0.7 x 0.593 = 0.415 (NDCG@10 >= 0.585); "broken" a control error
below half the variant's (for these controls, an NDCG@10 below ~0.67).

``CASES`` (program "ranknet"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10 (seed 1), x100 (seeds 1 and 2), x1000, /1000; no ``--standardize`` (seeds 1 and 2); N(0, 1) weights
(seeds 1 and 2); fc1's bias -10 (dead ReLUs); ``net.zero_grad()`` left out (seeds 1 and 2); and two changes expected
harmless (cause "healthy"): 400 queries a step and hidden widths [128, 32].
Recorded (cases-public138; "loss" the training loss per step, first-5 and last-20 means; the healthy run on seed 1
took 13 s alone, the others 24-53 s with two runs side by side on the loaded 2-core machine; 360 s and 312 s for the
two halves): healthy NDCG@10 0.8340, 0.8344, 0.8330 on seeds 1-3 (error 0.166, 0.166, 0.167; untrained 0.379, 0.494,
0.417; loss 0.721/0.674/0.705 -> 0.322/0.312/0.322): healthy; lr x10 (0.01): 0.8667 (loss 0.228): healthy; lr x100
(0.1): seed 1 loss 0.702 -> 0.693 = log 2, every score the same (the ReLU6 output or the ReLUs before it dead), 0.3945
(the documents' stored order): broken, seed 2 0.8790 (loss 0.230): healthy; lr x1000 (1.0): loss 0.693, 0.3945:
broken; lr /1000 (1e-6): loss 0.740 -> 0.736, 0.3785 (the untrained value): broken; no --standardize: seed 1 loss
0.847 (largest 1.23) -> 0.693, seed 2 0.694 -> 0.693, both 0.3945 (every score equal): broken; N(0, 1) weights: loss
1.385 -> 0.784 and 1.898 -> 1.342, 0.4055 (seed 1) and 0.4826 (seed 2): broken; fc1 bias -10: loss 0.693 throughout,
0.3945 (= untrained): broken; net.zero_grad() left out: loss 0.721 -> 0.411 and 0.674 -> 0.385, 0.7167 (seed 1) and
0.7316 (seed 2), error 1.70x and 1.62x the control's: ambiguous; 400 queries a step (50 steps): 0.7552 (error 1.47x;
a cause-"healthy" run is labelled by the good-outcome rule and not clearly worse): healthy; hidden [128, 32]: 0.8509:
healthy.  Labels: 7 healthy (3 programs, lr x10, lr x100 on seed 2, 400 queries a step, hidden x2), 8 broken (lr
x100 on seed 1, lr x1000, lr /1000, no --standardize on seeds 1 and 2, N(0, 1) on seeds 1 and 2, fc1 bias -10),
2 ambiguous (zero_grad left out on seeds 1 and 2).  Every run's losses were finite.  The ReLU6 on the score makes the
usual failure a silent one: a big step or raw inputs push every document's score to the same clamp (0 or 6), the loss
sits at log 2 with no gradient and the ranking falls back to the documents' order.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(net, optimizer, every=10) right after torch.optim.Adam(net.parameters(), lr=0.001) is built (before "
              "the StepLR); monitor.step(loss) right after loss.backward() of each 200-query minibatch (the factorized "
              "pairwise loss summed over the queries' pairs and divided by their number), before optimizer.step() and "
              "net.zero_grad(); also on the epoch's last, smaller minibatch; no clipping")

EPOCHS = 10  # upstream: --additional_epoch 100
LEARNING_RATE = 0.001  # the README's command (python ranking/RankNet.py --lr 0.001 --debug --standardize)
BATCH_QUERIES = 200  # factorized_training_loop's batch_size (queries per optimizer step)
N_FEATURES = 40  # upstream: MSLR-WEB10K's 136
N_TRAIN_Q, N_TEST_Q = 2000, 300
N_INFORMATIVE, N_HIDDEN_UNITS = 12, 8


# ----------------------------------------------------------------------------------------------------------------------
# data (the port's; upstream reads MSLR-WEB10K Fold1 train.txt / vali.txt)

_DATA: dict = {}


def make_data(seed=0):
    if seed not in _DATA:
        _DATA[seed] = _make_data(seed)
    return _DATA[seed]


def _make_data(seed=0):
    """Generated learning-to-rank data: per query 10-30 documents with N_FEATURES raw features of MSLR-like scales and a
    graded relevance 0-4 from a hidden nonlinear function of latent features plus noise.
    Returns (train, test), each a list of (X raw float32 (n, F), rel int64 (n,)) per query, documents in random order."""
    rng = np.random.RandomState(seed)
    A = rng.randn(N_INFORMATIVE, N_HIDDEN_UNITS) * (1.5 / np.sqrt(N_INFORMATIVE))
    v = rng.randn(N_HIDDEN_UNITS)
    w = np.zeros(N_FEATURES)
    w[:N_INFORMATIVE] = rng.randn(N_INFORMATIVE) * 0.3
    perm = rng.permutation(N_FEATURES)  # the informative latents are spread over the four kinds of raw feature
    zs, hs = [], []
    for _ in range(N_TRAIN_Q + N_TEST_Q):
        n = rng.randint(10, 31)
        z = 0.5 * rng.randn(1, N_FEATURES) + rng.randn(n, N_FEATURES)  # a query-level shift plus each document's own
        h = np.tanh(z[:, :N_INFORMATIVE] @ A) @ v + z @ w + 0.5 * z[:, 0] * z[:, 1]
        zs.append(z[:, perm])
        hs.append(h)
    allh = np.concatenate(hs)
    mu, sd = allh.mean(), allh.std()
    noise = np.random.RandomState(seed + 1)
    h_noisy = [(h - mu) / sd + NOISE * noise.randn(len(h)) for h in hs]
    cuts = np.quantile(np.concatenate(h_noisy), [0.5, 0.8, 0.93, 0.98])  # MSLR-like: about 50/30/13/5/2 % of 0/1/2/3/4
    out = []
    for z, hn in zip(zs, h_noisy, strict=True):
        rel = np.digitize(hn, cuts).astype(np.int64)
        x = np.empty_like(z)
        k = np.arange(N_FEATURES) % 4
        x[:, k == 0] = z[:, k == 0]  # already normalized scores
        x[:, k == 1] = 20.0 * np.exp(0.5 * z[:, k == 1])  # BM25-like, skewed, ~5..100
        x[:, k == 2] = np.floor(np.exp(1.0 + 0.7 * z[:, k == 2]))  # term counts
        x[:, k == 3] = 5000.0 * np.exp(0.3 * z[:, k == 3])  # lengths / PageRank-like, thousands
        out.append((x.astype(np.float32), rel))
    return out[:N_TRAIN_Q], out[N_TRAIN_Q:], [(h - mu) / sd for h in hs]


NOISE = 0.35  # std of the noise on the standardized hidden score before the relevance grades are cut


# ----------------------------------------------------------------------------------------------------------------------
# ranking/metrics.py (NDCG; DCG's discount table grows as upstream's)

class DCG:

    def __init__(self, k=10, gain_type='exp2'):
        self.k = k
        self.discount = self._make_discount(256)
        if gain_type in ['exp2', 'identity']:
            self.gain_type = gain_type
        else:
            raise ValueError('gain type not equal to exp2 or identity')

    def evaluate(self, targets):
        gain = self._get_gain(targets)
        discount = self._get_discount(min(self.k, len(gain)))
        return np.sum(np.divide(gain, discount))

    def _get_gain(self, targets):
        t = targets[:self.k]
        if self.gain_type == 'exp2':
            return np.power(2.0, t) - 1.0
        else:
            return t

    def _get_discount(self, k):
        if k > len(self.discount):
            self.discount = self._make_discount(2 * len(self.discount))
        return self.discount[:k]

    @staticmethod
    def _make_discount(n):
        x = np.arange(1, n + 1, 1)
        discount = np.log2(x + 1)
        return discount


class NDCG(DCG):

    def __init__(self, k=10, gain_type='exp2'):
        super().__init__(k, gain_type)

    def evaluate(self, targets):
        dcg = super().evaluate(targets)
        ideal = np.sort(targets)[::-1]
        idcg = super().evaluate(ideal)
        return dcg / idcg

    def maxDCG(self, targets):
        ideal = np.sort(targets)[::-1]
        return super().evaluate(ideal)


# ----------------------------------------------------------------------------------------------------------------------
# ranking/RankNet.py's RankNet and utils.py's init_weights

class RankNet(nn.Module):
    def __init__(self, net_structures, double_precision=False):
        """
        :param net_structures: list of int for RankNet FC width
        """
        super().__init__()
        self.fc_layers = len(net_structures)
        for i in range(len(net_structures) - 1):
            layer = nn.Linear(net_structures[i], net_structures[i+1])
            if double_precision:
                layer = layer.double()
            setattr(self, 'fc' + str(i + 1), layer)

        last_layer = nn.Linear(net_structures[-1], 1)
        if double_precision:
            last_layer = last_layer.double()
        setattr(self, 'fc' + str(len(net_structures)), last_layer)
        self.activation = nn.ReLU6()

    def forward(self, input1):
        for i in range(1, self.fc_layers):
            fc = getattr(self, 'fc' + str(i))
            input1 = F.relu(fc(input1))

        fc = getattr(self, 'fc' + str(self.fc_layers))
        return self.activation(fc(input1))


def init_weights(m):
    if isinstance(m, nn.Linear):  # upstream: type(m) == nn.Linear (the same here: no Linear subclasses)
        nn.init.xavier_uniform_(m.weight)
        m.bias.data.fill_(0.01)


# ----------------------------------------------------------------------------------------------------------------------
# evaluation (utils.py's eval_ndcg_at_k and eval_cross_entropy_loss on the held-out queries)

def eval_ndcg_at_k(model, queries, k_list=(10, 30)):
    ndcg_metrics = {k: NDCG(k) for k in k_list}
    session_ndcgs = {k: [] for k in k_list}
    model.eval()
    with torch.no_grad():
        for x, rel in queries:
            scores = model(torch.from_numpy(x)).numpy().squeeze(1)
            if not np.isfinite(scores).all():
                return {k: float("nan") for k in k_list}
            # upstream: result_df.sort_values('score', ascending=False) in pandas (ties keep no particular order)
            rel_rank = rel[np.argsort(-scores, kind="stable")]
            for k, ndcg in ndcg_metrics.items():
                if ndcg.maxDCG(rel_rank) == 0:
                    continue
                ndcg_k = ndcg.evaluate(rel_rank)
                if not np.isnan(ndcg_k):
                    session_ndcgs[k].append(ndcg_k)
    return {k: float(np.mean(session_ndcgs[k])) for k in k_list}


def ndcg_of_scores(queries, scores_list, k=10):
    ndcg, vals = NDCG(k), []
    for (_, rel), s in zip(queries, scores_list, strict=True):
        rel_rank = rel[np.argsort(-s, kind="stable")]
        if ndcg.maxDCG(rel_rank) == 0:
            continue
        vals.append(ndcg.evaluate(rel_rank))
    return float(np.mean(vals))


def eval_cross_entropy_loss(model, queries, sigma=1.0):
    model.eval()
    total_cost, total_pairs = 0.0, 0
    with torch.no_grad():
        for x, rel in queries:
            Y = rel.reshape(-1, 1)
            rel_diff = Y - Y.T
            pos_pairs = torch.tensor((rel_diff > 0).astype(np.float32))
            neg_pairs = torch.tensor((rel_diff < 0).astype(np.float32))
            if pos_pairs.sum() == 0:
                continue
            Sij = pos_pairs - neg_pairs
            diff_pairs = pos_pairs + neg_pairs
            y_pred = model(torch.from_numpy(x))
            y_pred_diff = y_pred - y_pred.t()
            C = 0.5 * (1 - Sij) * sigma * y_pred_diff - F.logsigmoid(-sigma * y_pred_diff)
            total_cost += float(torch.sum(C * diff_pairs))
            total_pairs += int(diff_pairs.sum())
    return total_cost / total_pairs


# ----------------------------------------------------------------------------------------------------------------------
# RankNet.py's train_rank_net (train_algo SUM_SESSION, its default) and factorized_training_loop

def train(seed: int = 1, lr_mult: float = 1.0, standardize: bool = True, input_scale: float = 1.0,
          init_std: float | None = None, fc1_bias: float | None = None, zero_grad: bool = True,
          batch_size: int = BATCH_QUERIES, hidden: tuple = (64, 16), epochs: int = EPOCHS, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    train_q, test_q, _ = make_data()
    if standardize:  # upstream --standardize: DataLoader.train_scaler_and_transform / apply_scaler (StandardScaler)
        allx = np.concatenate([x for x, _ in train_q])
        mean, scale = allx.mean(0), allx.std(0)
        scale[scale == 0.0] = 1.0
        train_q = [(((x - mean) / scale).astype(np.float32), r) for x, r in train_q]
        test_q = [(((x - mean) / scale).astype(np.float32), r) for x, r in test_q]
    if input_scale != 1.0:  # the unscaled_inputs variant: the (standardized) features multiplied
        train_q = [((x * input_scale).astype(np.float32), r) for x, r in train_q]
        test_q = [((x * input_scale).astype(np.float32), r) for x, r in test_q]
    torch.manual_seed(seed)  # upstream: unseeded
    np.random.seed(seed)  # the order of the queries (generate_batch_per_query's np.random.shuffle)
    precision = torch.float32
    sigma = 1.0

    ranknet_structure = [N_FEATURES, *hidden]  # upstream: [num_features, 64, 16]
    net = RankNet(ranknet_structure)
    # initialize to make training faster
    net.apply(init_weights)
    if init_std is not None:  # the init_large variant: N(0, init_std) weights instead of xavier_uniform_
        for m in net.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, init_std)
    if fc1_bias is not None:  # the dead_relu variant: fc1's bias (before the first ReLU)
        nn.init.constant_(net.fc1.bias, fc1_bias)
    untrained = eval_ndcg_at_k(net, test_q)
    rng = np.random.RandomState(12345)  # chance: the mean NDCG@10 of random orders of the held-out documents
    chance_ndcg = float(np.mean([ndcg_of_scores(test_q, [rng.rand(len(r)) for _, r in test_q]) for _ in range(20)]))
    bayes_ndcg = ndcg_of_scores(test_q, make_data()[2][N_TRAIN_Q:])  # the hidden score without its noise

    lr = LEARNING_RATE * lr_mult
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    monitor = gradmedic.watch(net, optimizer, every=every)  # gradmedic
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.75)

    losses, step_losses, valid_ndcg = [], [], []
    for i in range(epochs):
        scheduler.step()  # upstream's order (before the epoch's optimizer steps; PyTorch warns about it)
        if zero_grad:  # the no_zero_grad variant leaves this out
            net.zero_grad()
        net.train()

        # factorized_training_loop(i, net, None, optimizer, train_loader, training_algo=SUM_SESSION, ...)
        minibatch_loss = []
        count, loss, pairs = 0, 0, 0
        order = np.arange(len(train_q))
        np.random.shuffle(order)  # upstream: qids = df.qid.unique(); np.random.shuffle(qids)
        for qi in order:
            X, Y = train_q[qi]
            if X is None or X.shape[0] == 0:
                continue
            Y = Y.reshape(-1, 1)
            rel_diff = Y - Y.T
            num_pos_pairs = np.sum(rel_diff > 0)
            # skip negative sessions, no relevant info:
            if num_pos_pairs == 0:
                continue
            num_pairs = 2 * num_pos_pairs  # num pos pairs and neg pairs are always the same

            rel_diff_tensor = torch.tensor(rel_diff)

            X_tensor = torch.tensor(X, dtype=precision)
            y_pred = net(X_tensor)
            zero = torch.tensor(0, dtype=precision)

            C = torch.where(
                rel_diff_tensor != 0, torch.logaddexp(sigma * y_pred, sigma * y_pred.t()), zero
            ) - torch.where(rel_diff_tensor > 0, sigma * y_pred, zero) \
                - torch.where(rel_diff_tensor < 0, sigma * y_pred.t(), zero)
            loss += torch.sum(C)

            pairs += num_pairs
            count += 1

            if count % batch_size == 0:
                loss /= pairs
                minibatch_loss.append(loss.item())
                loss.backward()
                monitor.step(loss)  # gradmedic
                optimizer.step()
                if zero_grad:  # the no_zero_grad variant leaves this out
                    net.zero_grad()
                step_losses.append(minibatch_loss[-1])
                loss, pairs = 0, 0  # loss used for sum_session

        if pairs:  # the epoch's remaining queries (upstream: no zero_grad after this step; the next epoch's comes first)
            loss /= pairs
            minibatch_loss.append(loss.item())
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            step_losses.append(minibatch_loss[-1])
        losses.append(float(np.mean(minibatch_loss)))
        # upstream: a checkpoint and eval_model every 5 epochs; here NDCG@10 on the held-out queries every epoch
        valid_ndcg.append(eval_ndcg_at_k(net, test_q)[10])
        if verbose:
            print(f"Epoch{i}, loss : {losses[-1]:.5f}, NDCG@10 {valid_ndcg[-1]:.4f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    ndcg_result = eval_ndcg_at_k(net, test_q)
    try:
        eval_ce = eval_cross_entropy_loss(net, test_q)
    except Exception:  # non-finite scores
        eval_ce = float("nan")
    sl = np.array(step_losses)
    fin = sl[np.isfinite(sl)]
    ndcg10 = ndcg_result[10]
    return {"monitors": {"": monitor}, "metric": "test_ndcg10_error", "value": 1.0 - ndcg10,
            "initial": 1.0 - chance_ndcg,
            "initial_what": "chance: 1 - the mean NDCG@10 of random orders of the held-out queries' documents",
            "chance": 1.0 - chance_ndcg,
            "extra": dict(test_ndcg10=ndcg10, test_ndcg30=ndcg_result[30], untrained_ndcg10=untrained[10],
                          chance_ndcg10=chance_ndcg, hidden_score_ndcg10=bayes_ndcg, eval_pairwise_ce=eval_ce,
                          valid_ndcg10=[float(v) for v in valid_ndcg], epoch_losses=losses,
                          first_loss=float(np.mean(sl[:5])), train_loss=float(np.mean(sl[-20:])),
                          max_loss=float(fin.max()) if fin.size else float("nan"),
                          finite_losses=bool(np.isfinite(sl).all()), steps=len(sl), epochs=epochs, lr=lr,
                          lr_mult=lr_mult, standardize=standardize, input_scale=input_scale,
                          init_std=-1.0 if init_std is None else init_std,
                          fc1_bias=0.01 if fc1_bias is None else fc1_bias, zero_grad=zero_grad,
                          batch_size=batch_size, hidden=list(hidden)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="ranknet", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"RankNet [{N_FEATURES}, 64, 16] (ReLU, ReLU6 output; xavier_uniform_, bias 0.01), factorized pairwise loss "
      f"(SUM_SESSION), Adam lr {LEARNING_RATE:g}, StepLR(10, 0.75), {BATCH_QUERIES} queries a step, {EPOCHS} epochs of "
      f"{N_TRAIN_Q} queries, standardized features")
CASES: list[dict] = (
    [_case(f"ranknet_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"ranknet_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({LEARNING_RATE * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("ranknet_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 ({LEARNING_RATE * 1e-3:g})")]
    + [_case(f"ranknet_raw_features_s{s}", "unscaled_inputs", s, {"standardize": False},
             f"{_P}: run without --standardize: the raw features (a quarter each ~N(0, 1), 5..100, counts 0..50, "
             f"thousands) go into fc1") for s in (1, 2)]
    + [_case(f"ranknet_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every Linear weight instead of xavier_uniform_ (biases 0.01 kept)")
       for s in (1, 2)]
    + [_case("ranknet_dead_relu_s1", "dead_relu", 1, {"fc1_bias": -10.0},
             f"{_P}: fc1's bias filled with -10 instead of 0.01 (the first ReLU layer starts dead)")]
    + [_case(f"ranknet_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: net.zero_grad() left out (after each step and at each epoch's start): the gradients accumulate")
       for s in (1, 2)]
    + [_case("ranknet_batch400_s1", "healthy", 1, {"batch_size": 2 * BATCH_QUERIES},
             f"{_P}: {2 * BATCH_QUERIES} queries a step instead of {BATCH_QUERIES} (twice the pairs a step; expected "
             f"harmless)")]
    + [_case("ranknet_hidden2x_s1", "healthy", 1, {"hidden": (128, 32)},
             f"{_P}: hidden widths [128, 32] instead of [64, 16] (expected harmless)")]
)

if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
