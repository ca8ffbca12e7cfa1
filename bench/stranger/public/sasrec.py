"""pmixer's SASRec.pytorch (self-attentive sequential recommendation), watched by gradmedic.

Adapted from https://github.com/pmixer/SASRec.pytorch (commit fde8a9c08febc2c898dc269b1d98ab762c50d2be;
python/model.py, python/utils.py and python/main.py; Apache License 2.0, see LICENSE-sasrec).  Kept as upstream
(copied below): ``PointWiseFeedForward`` (two kernel-1 Conv1d with ReLU and dropout) and ``SASRec`` (item and
positional embeddings with ``padding_idx=0``, the item embedding times sqrt(hidden), positions zeroed where the
sequence is padding, embedding dropout, ``num_blocks`` post-norm blocks of ``torch.nn.MultiheadAttention`` under the
boolean causal mask and the point-wise feed-forward, each with its LayerNorm (eps 1e-8) and residual, a last
LayerNorm; logits as the dot product of the features with the positive and the negative item's embedding;
``predict`` from the last position), main.py's defaults (hidden 50, 2 blocks, 1 head, dropout 0.2, batch 128, Adam lr
0.001, betas (0.9, 0.98), l2_emb 0, norm_first False), its init (``xavier_normal_`` on every parameter it accepts, the
1-D ones skipped by the bare except, the padding rows of both embeddings zeroed), ``BCEWithLogitsLoss`` on the
positive logits (label 1) plus the negative logits (label 0) at the positions where ``pos != 0``, the loop's order
(forward, ``adam_optimizer.zero_grad()``, loss, ``loss.backward()``, ``adam_optimizer.step()``; no clipping), utils.py's
``sample_function`` (users shuffled each pass, each user's training sequence right-aligned in ``maxlen``, the next
item as the positive and one ``random_neq`` negative outside the user's items per position), ``data_partition``
(the last item held out for test, the one before it for validation) and ``evaluate``/``evaluate_valid`` (the held-out
item ranked against 100 items the user never had in training, HR@10 and NDCG@10).

Changed to run offline on one CPU thread in ~13-16 s: no MovieLens file: ``make_data`` (fixed, data seed 0, the same
for every run) makes 600 users' sequences over 400 items, 15-30 items each (20.2 on average in training): the first
item drawn by popularity (Zipf-like, p ~ 1/rank^0.8), then each next item with probability 0.75 one of the current
item's 3 fixed successors (probabilities 0.5, 0.3, 0.2) and otherwise drawn by popularity, so the order is learnable
from the last item (its 3 successors hold the next item at least 75% of the time; the rest follows popularity).
maxlen 25 (upstream 200), NUM_EPOCHS = 40 epochs of 5 steps (200 steps; upstream 1000 epochs); the
WarpSampler's 3 worker processes and queue are one plain generator (``sample_function``'s logic unchanged,
seeded 1000 + seed; upstream seeds each worker from ``np.random.randint(2e9)``); ``torch.manual_seed(seed)``
(upstream unseeded); device CPU; no args.txt/log.txt, no checkpoints, no per-step print; the every-20-epoch evaluation
is done once, after training (valid and test, the valid HR in ``extra``), and once before the first step for the
untrained value; the evaluation's 100 negatives come from ``np.random.RandomState(seed)`` (test; 10000 + seed for
valid) instead of the global np.random, so the variants of one seed are ranked against the same negatives, and the
users are scored in one batched ``predict`` under ``torch.no_grad()`` (upstream one call per user; the same numbers
in eval mode).  Knobs (one per variant): ``lr_mult`` scales the Adam rate; ``init_std`` uses
``normal_(0, init_std)`` instead of ``xavier_normal_`` on the same parameters; ``zero_grad=False`` leaves
``adam_optimizer.zero_grad()`` out; ``pos_emb=False`` drops ``seqs += self.pos_emb(...)``; ``causal=False`` passes
``attn_mask=None``; ``dropout_rate``; ``batch_size``.

The watch, as a user would: ``monitor = gradmedic.watch(model, adam_optimizer, every=10)`` right after the Adam is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``adam_optimizer.step()``; ``monitor.close()``
after the epochs.  Metric "test_hr_error": 1 - HR@10 on the held-out last item (HR@10 is upstream's metric; run.py's
rules treat every name but "accuracy" as lower-is-better, so it goes in as its error, as deepfm.py does with its
AUC); ``initial`` the untrained model's 1 - HR@10 on the same negatives (0.82-0.86 for xavier init, not 1 - 10/101 =
0.90: a held-out item that is already in the user's sequence, the last item's successors often are, scores high
even untrained).  A good outcome is an error of at most 0.7x that (HR@10 >= ~0.4); "broken" a control error below
half the variant's.

``CASES`` (program "sasrec"): the program on seeds 1-3, and one change each against the same seed's healthy run: Adam
lr x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) instead of xavier_normal_ (seeds 1 and 2);
``adam_optimizer.zero_grad()`` left out (seeds 1 and 2); and four changes expected harmless: the positional
embedding left out and the causal mask left out (cause "healthy": neither is a gradient pathology nor named by a
cause; the next item here depends on the last item only, which the residual carries, and the leak of the future
positions lowers the training loss, 0.548 against 0.606, without hurting the last position's ranking in 200 steps),
lr x2 (cause "lr_high") and dropout 0.5 (cause "healthy").
Recorded (cases-public153; 12.5-16 s a run, 222 s for all 16; "loss" the training loss, first-5 -> last-20 means,
every loss finite): healthy test HR@10 0.830, 0.828, 0.840 on seeds 1-3 (error 0.170, 0.172, 0.160 from untrained
0.848, 0.823, 0.860; NDCG@10 0.66, 0.64, 0.65; loss 1.36-1.37 -> 0.61-0.62, largest 1.41-1.42): healthy; lr x10
(0.01): 0.847 (loss 1.16 -> 0.29): healthy; lr x100 (0.1): 0.640 (seed 1) and 0.642 (seed 2), loss -> 0.89 and
0.90: broken; lr x1000 (1.0): first-5 mean 19.9, largest loss 71.7, loss -> 1.05, 0.617: broken; lr /1000 (1e-6):
loss 1.41 -> 1.39, 0.175: broken; N(0, 1) init: loss 5.4 -> 2.7 and 5.9 -> 2.8 (untrained HR 0.095, 0.085), 0.345
(seed 1) and 0.298 (seed 2): broken; zero_grad left out: loss -> 0.85 and 0.95, 0.698 (seed 1, error 0.302 against
0.170: ambiguous) and 0.607 (seed 2, error 0.393 against 0.172: broken); no positional embedding: 0.837: healthy; no
causal mask: 0.833: healthy; lr x2: 0.857: healthy; dropout 0.5: 0.792 (loss -> 0.76): healthy.  Labels: 8 healthy (3
programs, lr x10, no positional embedding, no causal mask, lr x2, dropout 0.5), 7 broken, 1 ambiguous.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import torch

import gradmedic

ARCH = "transformer"
MONITOR_AT = ("watch(model, adam_optimizer, every=10) right after the Adam is built; monitor.step(loss) right after "
              "loss.backward() (BCEWithLogitsLoss on the positive logits plus BCEWithLogitsLoss on the negative "
              "logits, masked where pos == 0), before adam_optimizer.step() (adam_optimizer.zero_grad() comes after "
              "the forward, before the loss, upstream's order; no clipping)")

# main.py's defaults (upstream: --maxlen 200, --num_epochs 1000, --device cuda)
BATCH_SIZE = 128
LR = 0.001
MAXLEN = 25  # upstream: 200 (the made-up sequences are 15-30 items long)
HIDDEN_UNITS = 50
NUM_BLOCKS = 2
NUM_HEADS = 1
DROPOUT_RATE = 0.2
L2_EMB = 0.0
NUM_EPOCHS = 40  # upstream: 1000

# the made-up data (fixed: data seed 0, the same for every run)
N_USERS = 600
N_ITEMS = 400


# ----------------------------------------------------------------------------------------------------------------
# model.py (copied; upstream's comments kept)

class PointWiseFeedForward(torch.nn.Module):
    def __init__(self, hidden_units, dropout_rate):

        super(PointWiseFeedForward, self).__init__()  # noqa: UP008 (as upstream)

        self.conv1 = torch.nn.Conv1d(hidden_units, hidden_units, kernel_size=1)
        self.dropout1 = torch.nn.Dropout(p=dropout_rate)
        self.relu = torch.nn.ReLU()
        self.conv2 = torch.nn.Conv1d(hidden_units, hidden_units, kernel_size=1)
        self.dropout2 = torch.nn.Dropout(p=dropout_rate)

    def forward(self, inputs):
        outputs = self.dropout2(self.conv2(self.relu(self.dropout1(self.conv1(inputs.transpose(-1, -2))))))
        outputs = outputs.transpose(-1, -2) # as Conv1D requires (N, C, Length)  # noqa: E261
        return outputs


class SASRec(torch.nn.Module):
    def __init__(self, user_num, item_num, args):
        super(SASRec, self).__init__()  # noqa: UP008 (as upstream)

        self.user_num = user_num
        self.item_num = item_num
        self.dev = args.device
        self.norm_first = args.norm_first
        self.pos_emb_on = args.pos_emb  # upstream: always on (the no_pos_emb variant leaves it out)
        self.causal = args.causal  # upstream: always on (the no_causal_mask variant leaves the mask out)

        # TODO: loss += args.l2_emb for regularizing embedding vectors during training
        # https://stackoverflow.com/questions/42704283/adding-l1-l2-regularization-in-pytorch
        self.item_emb = torch.nn.Embedding(self.item_num+1, args.hidden_units, padding_idx=0)
        self.pos_emb = torch.nn.Embedding(args.maxlen+1, args.hidden_units, padding_idx=0)
        self.emb_dropout = torch.nn.Dropout(p=args.dropout_rate)

        self.attention_layernorms = torch.nn.ModuleList() # to be Q for self-attention  # noqa: E261
        self.attention_layers = torch.nn.ModuleList()
        self.forward_layernorms = torch.nn.ModuleList()
        self.forward_layers = torch.nn.ModuleList()

        self.last_layernorm = torch.nn.LayerNorm(args.hidden_units, eps=1e-8)

        for _ in range(args.num_blocks):
            new_attn_layernorm = torch.nn.LayerNorm(args.hidden_units, eps=1e-8)
            self.attention_layernorms.append(new_attn_layernorm)

            new_attn_layer =  torch.nn.MultiheadAttention(args.hidden_units,  # noqa: E222
                                                            args.num_heads,
                                                            args.dropout_rate)
            self.attention_layers.append(new_attn_layer)

            new_fwd_layernorm = torch.nn.LayerNorm(args.hidden_units, eps=1e-8)
            self.forward_layernorms.append(new_fwd_layernorm)

            new_fwd_layer = PointWiseFeedForward(args.hidden_units, args.dropout_rate)
            self.forward_layers.append(new_fwd_layer)

            # self.pos_sigmoid = torch.nn.Sigmoid()
            # self.neg_sigmoid = torch.nn.Sigmoid()

    def log2feats(self, log_seqs): # TODO: fp64 and int64 as default in python, trim?  # noqa: E261
        seqs = self.item_emb(torch.LongTensor(log_seqs).to(self.dev))
        seqs *= self.item_emb.embedding_dim ** 0.5
        poss = np.tile(np.arange(1, log_seqs.shape[1] + 1), [log_seqs.shape[0], 1])
        # TODO: directly do tensor = torch.arange(1, xxx, device='cuda') to save extra overheads
        poss *= (log_seqs != 0)
        if self.pos_emb_on:  # upstream: unconditional
            seqs += self.pos_emb(torch.LongTensor(poss).to(self.dev))
        seqs = self.emb_dropout(seqs)

        tl = seqs.shape[1] # time dim len for enforce causality  # noqa: E261
        attention_mask = ~torch.tril(torch.ones((tl, tl), dtype=torch.bool, device=self.dev))
        if not self.causal:  # upstream: the mask is always passed (the no_causal_mask variant drops it)
            attention_mask = None

        for i in range(len(self.attention_layers)):
            seqs = torch.transpose(seqs, 0, 1)
            if self.norm_first:
                x = self.attention_layernorms[i](seqs)
                mha_outputs, _ = self.attention_layers[i](x, x, x,
                                                attn_mask=attention_mask)
                seqs = seqs + mha_outputs
                seqs = torch.transpose(seqs, 0, 1)
                seqs = seqs + self.forward_layers[i](self.forward_layernorms[i](seqs))
            else:
                mha_outputs, _ = self.attention_layers[i](seqs, seqs, seqs,
                                                attn_mask=attention_mask)
                seqs = self.attention_layernorms[i](seqs + mha_outputs)
                seqs = torch.transpose(seqs, 0, 1)
                seqs = self.forward_layernorms[i](seqs + self.forward_layers[i](seqs))

        log_feats = self.last_layernorm(seqs) # (U, T, C) -> (U, -1, C)  # noqa: E261

        return log_feats

    def forward(self, user_ids, log_seqs, pos_seqs, neg_seqs): # for training  # noqa: E261
        log_feats = self.log2feats(log_seqs) # user_ids hasn't been used yet  # noqa: E261

        pos_embs = self.item_emb(torch.LongTensor(pos_seqs).to(self.dev))
        neg_embs = self.item_emb(torch.LongTensor(neg_seqs).to(self.dev))

        pos_logits = (log_feats * pos_embs).sum(dim=-1)
        neg_logits = (log_feats * neg_embs).sum(dim=-1)

        # pos_pred = self.pos_sigmoid(pos_logits)
        # neg_pred = self.neg_sigmoid(neg_logits)

        return pos_logits, neg_logits # pos_pred, neg_pred  # noqa: E261

    def predict(self, user_ids, log_seqs, item_indices): # for inference  # noqa: E261
        log_feats = self.log2feats(log_seqs) # user_ids hasn't been used yet  # noqa: E261

        final_feat = log_feats[:, -1, :] # only use last QKV classifier, a waste  # noqa: E261

        item_embs = self.item_emb(torch.LongTensor(item_indices).to(self.dev)) # (U, I, C)  # noqa: E261

        logits = item_embs.matmul(final_feat.unsqueeze(-1)).squeeze(-1)

        # preds = self.pos_sigmoid(logits) # rank same item list for different users

        return logits # preds # (U, I)  # noqa: E261


# ----------------------------------------------------------------------------------------------------------------
# utils.py

def make_data(n_users=N_USERS, n_items=N_ITEMS, data_seed=0):
    """upstream: data/ml-1m.txt (a "user item" line per interaction, in time order).  Made up here: each user's
    sequence (15-30 items) starts at a popular item; each next item is, with probability 0.75, one of the current
    item's 3 successors (probabilities 0.5, 0.3, 0.2; successors drawn by popularity) and otherwise an item drawn by
    popularity (Zipf-like, p ~ 1/rank^0.8).  Returns ``User`` as data_partition builds it (user -> item list)."""
    rng = np.random.RandomState(data_seed)
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.8
    pop = pop[rng.permutation(n_items)]
    pop /= pop.sum()
    succ = np.stack([rng.choice(n_items, size=3, replace=False, p=pop) for _ in range(n_items)]) + 1
    succ_p = np.array([0.5, 0.3, 0.2])
    User = {}
    for u in range(1, n_users + 1):
        n = rng.randint(15, 31)
        seq = [int(rng.choice(n_items, p=pop)) + 1]
        for _ in range(n - 1):
            if rng.rand() < 0.75:
                seq.append(int(succ[seq[-1] - 1][rng.choice(3, p=succ_p)]))
            else:
                seq.append(int(rng.choice(n_items, p=pop)) + 1)
        User[u] = seq
    return User


# train/val/test data generation
def data_partition(User):  # upstream: data_partition(fname) reads data/<fname>.txt into User first
    usernum = max(User)
    itemnum = max(max(s) for s in User.values())
    user_train = {}
    user_valid = {}
    user_test = {}
    for user in User:
        nfeedback = len(User[user])
        if nfeedback < 4:                          # To be rigorous, the training set needs at least two data points to learn  # noqa: E501
            user_train[user] = User[user]
            user_valid[user] = []
            user_test[user] = []
        else:
            user_train[user] = User[user][:-2]
            user_valid[user] = []
            user_valid[user].append(User[user][-2])
            user_test[user] = []
            user_test[user].append(User[user][-1])
    return [user_train, user_valid, user_test, usernum, itemnum]


# sampler for batch generation
def random_neq(l, r, s):  # noqa: E741 (as upstream)
    t = np.random.randint(l, r)
    while t in s:
        t = np.random.randint(l, r)
    return t


def sample_function(user_train, usernum, itemnum, batch_size, maxlen, SEED):
    """upstream: run by WarpSampler in 3 worker processes that put batches on a Queue; here a plain generator."""
    def sample(uid):

        # uid = np.random.randint(1, usernum + 1)
        while len(user_train[uid]) <= 1: uid = np.random.randint(1, usernum + 1)  # noqa: E701

        seq = np.zeros([maxlen], dtype=np.int32)
        pos = np.zeros([maxlen], dtype=np.int32)
        neg = np.zeros([maxlen], dtype=np.int32)
        nxt = user_train[uid][-1]
        idx = maxlen - 1

        ts = set(user_train[uid])
        for i in reversed(user_train[uid][:-1]):
            seq[idx] = i
            pos[idx] = nxt
            neg[idx] = random_neq(1, itemnum + 1, ts)          # Don't need "if nxt != 0"
            nxt = i
            idx -= 1
            if idx == -1: break  # noqa: E701

        return (uid, seq, pos, neg)

    np.random.seed(SEED)
    uids = np.arange(1, usernum+1, dtype=np.int32)
    counter = 0
    while True:
        if counter % usernum == 0:
            np.random.shuffle(uids)
        one_batch = []
        for i in range(batch_size):  # noqa: B007 (as upstream)
            one_batch.append(sample(uids[counter % usernum]))
            counter += 1
        yield zip(*one_batch)  # noqa: B905  upstream: result_queue.put(zip(*one_batch))


def evaluate(model, dataset, args, rng, valid_set=False):
    """upstream's evaluate (test: train + the valid item as the sequence, the test item ranked) and evaluate_valid
    (valid_set=True: train as the sequence, the valid item ranked) in one.  The 100 negatives come from ``rng``
    (upstream: the global np.random), so the variants of one seed are ranked against the same negatives; the users'
    predictions are made in one batch (upstream: one ``model.predict`` per user; same numbers in eval mode)."""
    [train, valid, test, usernum, itemnum] = dataset

    NDCG = 0.0
    HT = 0.0
    valid_user = 0.0

    users = range(1, usernum + 1)  # upstream: random.sample(..., 10000) above 10000 users
    seqs, items = [], []
    for u in users:
        target = valid[u] if valid_set else test[u]
        if len(train[u]) < 1 or len(target) < 1: continue  # noqa: E701

        seq = np.zeros([args.maxlen], dtype=np.int32)
        idx = args.maxlen - 1
        if not valid_set:
            seq[idx] = valid[u][0]
            idx -= 1
        for i in reversed(train[u]):
            seq[idx] = i
            idx -= 1
            if idx == -1: break  # noqa: E701
        rated = set(train[u])
        rated.add(0)
        item_idx = [target[0]]
        for _ in range(100):
            t = rng.randint(1, itemnum + 1)
            while t in rated: t = rng.randint(1, itemnum + 1)  # noqa: E701
            item_idx.append(t)
        seqs.append(seq)
        items.append(item_idx)

    with torch.no_grad():  # upstream: autograd on (model.eval() only)
        predictions = -model.predict(None, np.array(seqs), np.array(items))
    for row in predictions:  # - for 1st argsort DESC
        rank = row.argsort().argsort()[0].item()

        valid_user += 1

        if rank < 10:
            NDCG += 1 / np.log2(rank + 2)
            HT += 1

    return NDCG / valid_user, HT / valid_user


# ----------------------------------------------------------------------------------------------------------------
# main.py

def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, zero_grad: bool = True,
          pos_emb: bool = True, causal: bool = True, dropout_rate: float = DROPOUT_RATE, batch_size: int = BATCH_SIZE,
          num_epochs: int = NUM_EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)  # upstream: unseeded
    t0 = time.time()
    args = SimpleNamespace(batch_size=batch_size, lr=LR * lr_mult, maxlen=MAXLEN, hidden_units=HIDDEN_UNITS,
                           num_blocks=NUM_BLOCKS, num_epochs=num_epochs, num_heads=NUM_HEADS, dropout_rate=dropout_rate,
                           l2_emb=L2_EMB, device='cpu', norm_first=False, pos_emb=pos_emb, causal=causal)

    # global dataset
    dataset = data_partition(make_data())

    [user_train, user_valid, user_test, usernum, itemnum] = dataset
    # num_batch = len(user_train) // args.batch_size # tail? + ((len(user_train) % args.batch_size) != 0)
    num_batch = (len(user_train) - 1) // args.batch_size + 1
    cc = 0.0
    for u in user_train:
        cc += len(user_train[u])
    if verbose:
        print('average sequence length: %.2f' % (cc / len(user_train)))  # noqa: UP031 (as upstream)

    # upstream: WarpSampler(..., n_workers=3), each worker seeded with np.random.randint(2e9)
    sampler = sample_function(user_train, usernum, itemnum, args.batch_size, args.maxlen, 1000 + seed)
    model = SASRec(usernum, itemnum, args).to(args.device) # no ReLU activation in original SASRec implementation?  # noqa: E261,E501

    for name, param in model.named_parameters():  # noqa: B007 (as upstream)
        try:
            if init_std is not None:  # the init_large variant: N(0, init_std) instead of xavier_normal_
                if param.dim() < 2:
                    raise ValueError
                torch.nn.init.normal_(param.data, 0.0, init_std)
            else:
                torch.nn.init.xavier_normal_(param.data)
        except Exception:  # upstream: a bare except
            pass # just ignore those failed init layers  # noqa: E261

    model.pos_emb.weight.data[0, :] = 0
    model.item_emb.weight.data[0, :] = 0

    # untrained: the same evaluation before the first step (not upstream)
    model.eval()
    untrained_ndcg, untrained_hr = evaluate(model, dataset, args, np.random.RandomState(seed))

    model.train() # enable model training  # noqa: E261

    epoch_start_idx = 1

    # ce_criterion = torch.nn.CrossEntropyLoss()
    # https://github.com/NVIDIA/pix2pixHD/issues/9 how could an old bug appear again...
    bce_criterion = torch.nn.BCEWithLogitsLoss() # torch.nn.BCELoss()  # noqa: E261
    adam_optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.98))
    monitor = gradmedic.watch(model, adam_optimizer, every=every)  # gradmedic

    losses = []
    for epoch in range(epoch_start_idx, args.num_epochs + 1):
        for step in range(num_batch): # tqdm(range(num_batch), total=num_batch, ncols=70, leave=False, unit='b'):  # noqa: B007,E261,E501
            u, seq, pos, neg = next(sampler) # tuples to ndarray  # noqa: E261  (upstream: sampler.next_batch())
            u, seq, pos, neg = np.array(u), np.array(seq), np.array(pos), np.array(neg)
            pos_logits, neg_logits = model(u, seq, pos, neg)
            pos_labels, neg_labels = torch.ones(pos_logits.shape, device=args.device), torch.zeros(neg_logits.shape, device=args.device)  # noqa: E501
            # print("\neye ball check raw_logits:"); print(pos_logits); print(neg_logits) # check pos_logits > 0, neg_logits < 0  # noqa: E501
            if zero_grad:  # the no_zero_grad variant leaves this out
                adam_optimizer.zero_grad()
            indices = np.where(pos != 0)
            loss = bce_criterion(pos_logits[indices], pos_labels[indices])
            loss += bce_criterion(neg_logits[indices], neg_labels[indices])
            for param in model.item_emb.parameters(): loss += args.l2_emb * torch.sum(param ** 2)  # noqa: E701
            loss.backward()
            monitor.step(loss)  # gradmedic
            adam_optimizer.step()
            losses.append(loss.item())
        if verbose and epoch % 10 == 0:  # upstream: prints every step's loss
            print(f"epoch {epoch}: loss {np.mean(losses[-num_batch:]):.4f} ({time.time() - t0:.1f}s)", flush=True)
        # upstream: evaluates (and saves a checkpoint) every 20 epochs; here once, after the last
    monitor.close()

    model.eval()
    t_valid = evaluate(model, dataset, args, np.random.RandomState(10_000 + seed), valid_set=True)
    t_test = evaluate(model, dataset, args, np.random.RandomState(seed))
    if verbose:
        print('valid (NDCG@10: %.4f, HR@10: %.4f), test (NDCG@10: %.4f, HR@10: %.4f)'  # noqa: UP031 (as upstream)
              % (t_valid[0], t_valid[1], t_test[0], t_test[1]))
    la = np.array(losses)
    fin = la[np.isfinite(la)]
    return {"monitors": {"": monitor}, "metric": "test_hr_error", "value": 1.0 - float(t_test[1]),
            "initial": 1.0 - float(untrained_hr),
            "initial_what": "the untrained model's 1 - HR@10 (held-out last item against the same 100 negatives)",
            "chance": 1.0 - 10 / 101,
            "extra": dict(test_hr10=float(t_test[1]), test_ndcg10=float(t_test[0]), valid_hr10=float(t_valid[1]),
                          valid_ndcg10=float(t_valid[0]), untrained_hr10=float(untrained_hr),
                          untrained_ndcg10=float(untrained_ndcg), train_loss=float(np.mean(la[-20:])),
                          first_loss=float(np.mean(la[:5])), max_loss=float(fin.max()) if fin.size else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), steps=len(la), epochs=args.num_epochs,
                          lr=args.lr, lr_mult=lr_mult, init_std=-1.0 if init_std is None else init_std,
                          zero_grad=zero_grad, pos_emb=pos_emb, causal=causal, dropout_rate=dropout_rate,
                          batch_size=batch_size, users=usernum, items=itemnum,
                          avg_seq_len=cc / len(user_train)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="sasrec", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"SASRec (hidden {HIDDEN_UNITS}, {NUM_BLOCKS} blocks, {NUM_HEADS} head, dropout {DROPOUT_RATE}, maxlen {MAXLEN}; "
      f"xavier_normal_; BCEWithLogitsLoss on positive vs one sampled negative; Adam lr {LR:g}, betas (0.9, 0.98); "
      f"batch {BATCH_SIZE}, {NUM_EPOCHS} epochs of {(N_USERS - 1) // BATCH_SIZE + 1} steps)")
CASES: list[dict] = (
    [_case(f"sasrec_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"sasrec_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("sasrec_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 ({LR * 1e-3:g})")]
    + [_case(f"sasrec_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) instead of xavier_normal_ on every parameter of 2+ dimensions (item and "
             f"positional embeddings, attention in_proj and out_proj weights, the Conv1d weights; then times "
             f"sqrt(50) for the item embeddings in log2feats, as upstream)") for s in (1, 2)]
    + [_case(f"sasrec_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: adam_optimizer.zero_grad() left out of the loop (the gradients accumulate)") for s in (1, 2)]
    + [_case("sasrec_no_pos_emb_s1", "healthy", 1, {"pos_emb": False},
             f"{_P}: the positional embedding left out of log2feats (seqs += self.pos_emb(...) dropped; the "
             f"next item here depends on the last item only, so expected harmless; no cause names it)")]
    + [_case("sasrec_no_causal_mask_s1", "healthy", 1, {"causal": False},
             f"{_P}: attn_mask=None instead of the causal mask (each position sees the items after it, its own "
             f"target among them: label leakage that training exploits, not a gradient pathology; no cause names it)")]
    + [_case("sasrec_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: Adam lr x2 ({LR * 2:g}; expected harmless)")]
    + [_case("sasrec_dropout05_s1", "healthy", 1, {"dropout_rate": 0.5},
             f"{_P}: dropout_rate 0.5 instead of 0.2 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
