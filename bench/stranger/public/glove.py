"""kefirski's PyTorch GloVe (word and context embeddings with biases, f(X) = min(1, (X/x_max)^0.75), Adagrad 0.05) on a
generated topic corpus, watched by gradmedic.

Adapted from https://github.com/kefirski/pytorch_GloVe (commit 1ca49c93885c9468aa148058faf5f35d1e460154,
GloVe/glove.py and the training loop in its README.md; MIT License, Copyright (c) 2017 Daniil Gavrilov, see
LICENSE-glove).  Chosen over noaRricky/pytorch-glove (no licence file; its loss adds log X instead of subtracting it)
and 2014mchidamb/TorchGlove (one Variable per word, x_max 2, embedding size 2): it has the brief's x_max 100,
alpha 0.75 and Adagrad 0.05, and a model in one nn.Module.  Kept as upstream: ``GloVe`` (copied below: the
co-occurrence matrix shifted by +1 "to prevent having log(0)", ``in_embed``/``out_embed`` ``nn.Embedding(V, E)`` and
``in_bias``/``out_bias`` ``nn.Embedding(V, 1)``, all four ``xavier_normal`` initialized; the weights ``_weight``
(1 above x_max = 100, else (x/x_max)^0.75) and the counts looked up in numpy per pair; the loss
``sum(weights * (w_i . w~_j + b_i + b~_j - log X_ij)^2)`` summed over the batch; ``embeddings()`` = in + out), and
the README's loop (``Adagrad(glove.parameters(), 0.05)``; ``input, target = next_batch(batch_size)``,
``loss = glove(input, target)``, ``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``).

Changed: upstream ships no data, no co-occurrence counting, no ``next_batch`` and no embedding size, batch size or
iteration count.  Here the corpus is generated (``make_corpus``, fixed seed 0): 2000 sentences of 8-15 words over 320
words, 10 topics of 30 words and 20 shared function words; each sentence draws a main and a second topic, and each
word is a main-topic word (Zipf-weighted) with probability 0.3, a second-topic word with probability 0.2, else a
function word.  The counts use a symmetric window of 5 with each pair counted 1/distance (the GloVe paper's
counting; 19941 of the 102400 pairs non-zero, the largest count 2124, so x_max = 100 caps the frequent pairs);
``next_batch`` draws ``batch_size`` uniform (i, j) pairs of the whole V x V matrix (the zero ones too, as upstream's
dense shifted matrix suggests) with a numpy RandomState(seed); embedding size 50, batch 512, 1000 steps; the run's
seed goes to ``torch.manual_seed`` (the init).  One fix for today's PyTorch: upstream (June 2017, PyTorch 0.1.12,
before broadcasting) adds the [B] dot products to the [B, 1] biases and then squeezes; with broadcasting that is a
[B, B] matrix, so the biases are squeezed first (marked ``# upstream:``).  ``Variable`` and the deprecated
``xavier_normal`` are replaced by plain tensors and ``xavier_normal_`` (the same numbers).  Knobs (one per variant):
``lr_mult``; ``init_std`` (every embedding and bias N(0, init_std)); ``const_init`` (every one a constant);
``zero_grad=False``; ``use_log=False`` (the raw shifted counts as the target); ``use_weight=False`` (f = 1);
``embed_size``; ``batch_size``.

The watch, as a user would: ``monitor = gradmedic.watch(glove, optimizer, every=10)`` right after the Adagrad is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after
the loop.  Metric "accuracy": the fraction of the 300 topic words whose nearest other topic word (cosine of
``embeddings()``) is in the same topic (chance 29/299 = 0.097; the untrained embeddings score 0.09-0.13, which is
``initial``); ``extra`` also holds the healthy objective's weighted loss averaged over all V x V pairs
(``full_weighted_loss``).

``CASES`` (program "glove"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adagrad lr x10, x100 (seeds 1 and 2), /1000; N(0, 1) embeddings and biases (seeds 1 and 2); every parameter 0.1;
``optimizer.zero_grad()`` left out (seeds 1 and 2); the log left out; the weighting left out; and two changes
expected harmless: embedding size 100 and batch 1024 (cause "healthy").  Labels come from run.py's outcome rules only.
Recorded (cases-public115; 16 runs, 2-9 s each, 67 s in all): healthy accuracy 0.973, 0.977, 0.987 on seeds 1-3
(summed batch loss 44.0, 38.2, 52.3 over the first 5 steps -> 1.51-1.69 over the last 20, largest 77-82, full
weighted loss 0.0031-0.0033, every loss finite); lr x10 (0.5): first-5 mean 174, largest 356, last 1.27, full
weighted loss 0.0026 (below the control's), accuracy 0.847: broken; lr x100 (5): losses ~1.5e6 at the start, ~1e3
at the end, accuracy 0.120 (seed 1) and 0.110 (seed 2): broken; lr /1000: loss 47.0 -> 54.1, accuracy 0.097:
broken; N(0, 1) init: loss 1084 -> 201 (seed 1), 1161 -> 194 (seed 2), accuracy 0.120 and 0.140: broken;
constant 0.1 init: loss 25.2 -> 3.54 (full weighted loss 0.0069; the words stay identical up to scale), accuracy
0.107: broken; zero_grad left out: loss 43 -> 77 (largest 393) and 37 -> 100 (404), accuracy 0.123 and 0.153:
broken; the log left out: loss 1.7e4 -> 3.1e4, largest 2.5e6, accuracy 0.573: broken; the weighting left out:
loss 163 -> 17.6, largest 194 (more than twice the control's 82, the loss now counts every pair at weight 1),
accuracy 0.987: ambiguous; embedding size 100: 0.980: healthy; batch 1024: 0.993 (largest loss 118): healthy.
Labels: 5 healthy (3 programs, embedding 100, batch 1024), 10 broken, 1 ambiguous; every run's losses finite.
"""

from __future__ import annotations

import time

import numpy as np
import torch as t
import torch.nn as nn
from torch.nn.init import xavier_normal_

import gradmedic

ARCH = "embedding"
MONITOR_AT = ("watch(glove, optimizer, every=10) right after optimizer = Adagrad(glove.parameters(), 0.05); "
              "monitor.step(loss) right after loss.backward() (the README's order: optimizer.zero_grad(), "
              "loss.backward(), optimizer.step()), before optimizer.step()")

EMBED_SIZE = 50
BATCH_SIZE = 512
LEARNING_RATE = 0.05
NUM_ITERATIONS = 1000
WINDOW = 5
N_TOPICS, TOPIC_WORDS, N_FUNCTION = 10, 30, 20  # 320 words
N_SENTENCES = 2000


##########################
### GENERATED CORPUS
##########################

def make_corpus(corpus_seed: int = 0):
    """Sentences from a toy topic model: each sentence draws a main topic and a second topic; each word is one of the
    main topic's 30 words (Zipf-weighted) with probability 0.3, one of the second topic's with probability 0.2, else
    one of 20 shared function words (Zipf-weighted)."""
    rng = np.random.RandomState(corpus_seed)
    V = N_TOPICS * TOPIC_WORDS + N_FUNCTION
    topic_of = np.full(V, -1)
    topic_of[:N_TOPICS * TOPIC_WORDS] = np.repeat(np.arange(N_TOPICS), TOPIC_WORDS)
    zt = 1.0 / np.arange(1, TOPIC_WORDS + 1)
    zt /= zt.sum()
    zf = 1.0 / np.arange(1, N_FUNCTION + 1)
    zf /= zf.sum()
    corpus = []
    for _ in range(N_SENTENCES):
        k, k2 = rng.randint(N_TOPICS), rng.randint(N_TOPICS)
        n = rng.randint(8, 16)
        u = rng.rand(n)
        words = np.where(u < 0.3, k * TOPIC_WORDS + rng.choice(TOPIC_WORDS, n, p=zt),
                         np.where(u < 0.5, k2 * TOPIC_WORDS + rng.choice(TOPIC_WORDS, n, p=zt),
                                  N_TOPICS * TOPIC_WORDS + rng.choice(N_FUNCTION, n, p=zf)))
        corpus.append(words.tolist())
    return corpus, V, topic_of


def cooccurrence(corpus, V, window=WINDOW):
    """Symmetric window, each pair counted 1/distance (the GloVe paper's counting; upstream takes a ready matrix)."""
    co = np.zeros((V, V))
    for s in corpus:
        for i, w in enumerate(s):
            for d in range(1, window + 1):
                if i + d < len(s):
                    co[w, s[i + d]] += 1.0 / d
                    co[s[i + d], w] += 1.0 / d
    return co


##########################
### MODEL (upstream GloVe/glove.py)
##########################

class GloVe(nn.Module):
    def __init__(self, co_oc, embed_size, x_max=100, alpha=0.75, use_log=True, use_weight=True):
        """
        :param co_oc: Co-occurrence ndarray with shape of [num_classes, num_classes]
        :param embed_size: embedding size
        :param x_max: An int representing cutoff of the weighting function
        :param alpha: Ant float parameter of the weighting function
        """

        super(GloVe, self).__init__()  # noqa: UP008 (as upstream)

        self.embed_size = embed_size
        self.x_max = x_max
        self.alpha = alpha
        self.use_log = use_log  # the unscaled_target variant fits the raw counts
        self.use_weight = use_weight  # the wrong_loss variant: f(X) = 1

        ''' co_oc Matrix is shifted in order to prevent having log(0) '''
        self.co_oc = co_oc + 1.0

        [self.num_classes, _] = self.co_oc.shape

        # upstream: xavier_normal (the deprecated alias of xavier_normal_, the same init)
        self.in_embed = nn.Embedding(self.num_classes, self.embed_size)
        self.in_embed.weight = xavier_normal_(self.in_embed.weight)

        self.in_bias = nn.Embedding(self.num_classes, 1)
        self.in_bias.weight = xavier_normal_(self.in_bias.weight)

        self.out_embed = nn.Embedding(self.num_classes, self.embed_size)
        self.out_embed.weight = xavier_normal_(self.out_embed.weight)

        self.out_bias = nn.Embedding(self.num_classes, 1)
        self.out_bias.weight = xavier_normal_(self.out_bias.weight)

    def forward(self, input, output):
        """
        :param input: An array with shape of [batch_size] of int type
        :param output: An array with shape of [batch_size] of int type
        :return: loss estimation for Global Vectors word representations
                 defined in nlp.stanford.edu/pubs/glove.pdf
        """

        batch_size = len(input)

        co_occurences = np.array([self.co_oc[input[i], output[i]] for i in range(batch_size)])
        weights = np.array([self._weight(var) for var in co_occurences])

        co_occurences = t.from_numpy(co_occurences).float()  # upstream: Variable(...)
        weights = t.from_numpy(weights).float()

        input = t.from_numpy(input)
        output = t.from_numpy(output)

        input_embed = self.in_embed(input)
        input_bias = self.in_bias(input)
        output_embed = self.out_embed(output)
        output_bias = self.out_bias(output)

        target = t.log(co_occurences) if self.use_log else co_occurences
        # upstream (PyTorch 0.1.12, before broadcasting): ((input_embed * output_embed).sum(1) + input_bias +
        # output_bias).squeeze(1); with broadcasting [B] + [B, 1] is [B, B], so the biases are squeezed first
        return (t.pow(
            ((input_embed * output_embed).sum(1) + input_bias.squeeze(1) + output_bias.squeeze(1)) - target, 2
        ) * weights).sum()

    def _weight(self, x):
        if not self.use_weight:
            return 1.0
        return 1 if x > self.x_max else (x / self.x_max) ** self.alpha

    def embeddings(self):
        return self.in_embed.weight.data.cpu().numpy() + self.out_embed.weight.data.cpu().numpy()


def topic_accuracy(emb, topic_of):
    """Fraction of topic words whose nearest other topic word (cosine) belongs to the same topic."""
    m = topic_of >= 0
    e = emb[m] / (np.linalg.norm(emb[m], axis=1, keepdims=True) + 1e-12)
    s = e @ e.T
    np.fill_diagonal(s, -np.inf)
    nn_ = s.argmax(1)
    return float(np.mean(topic_of[m][nn_] == topic_of[m]))


def full_loss(glove, co):
    """The weighted loss of the healthy objective, averaged over all V x V pairs (shifted counts, as upstream)."""
    with t.no_grad():
        X = t.from_numpy(co + 1.0).float()
        f = t.clamp((X / 100.0) ** 0.75, max=1.0)
        w, c = glove.in_embed.weight, glove.out_embed.weight
        pred = w @ c.T + glove.in_bias.weight + glove.out_bias.weight.T
        return float((f * (pred - t.log(X)) ** 2).mean())


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, const_init: float | None = None,
          zero_grad: bool = True, use_log: bool = True, use_weight: bool = True, embed_size: int = EMBED_SIZE,
          batch_size: int = BATCH_SIZE, num_iterations: int = NUM_ITERATIONS, every: int = 10,
          verbose: bool = False) -> dict:
    t.set_num_threads(1)
    t.manual_seed(seed)
    t0 = time.time()
    corpus, V, topic_of = make_corpus(0)
    co_oc_matrix = cooccurrence(corpus, V)
    rng = np.random.RandomState(seed)

    glove = GloVe(co_oc_matrix, embed_size, use_log=use_log, use_weight=use_weight)
    if init_std is not None:  # the init_large variant: every embedding and bias N(0, init_std)
        for p in glove.parameters():
            nn.init.normal_(p, 0.0, init_std)
    if const_init is not None:  # the symmetric_init variant: every embedding and bias the same constant
        for p in glove.parameters():
            nn.init.constant_(p, const_init)
    initial_acc = topic_accuracy(glove.embeddings(), topic_of)

    lr = LEARNING_RATE * lr_mult
    optimizer = t.optim.Adagrad(glove.parameters(), lr)
    monitor = gradmedic.watch(glove, optimizer, every=every)  # gradmedic

    def next_batch(batch_size):  # upstream leaves next_batch to the user: uniform pairs of the V x V matrix
        return rng.randint(V, size=batch_size), rng.randint(V, size=batch_size)

    losses = []
    for i in range(num_iterations):
        '''
        input and target are [batch_size] shaped arrays of int type
        '''
        input, target = next_batch(batch_size)

        loss = glove(input, target)

        if zero_grad:  # the no_zero_grad variant leaves this out
            optimizer.zero_grad()
        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()
        losses.append(float(loss.detach()))
        if verbose and i % 100 == 0:
            print(f"step {i} loss {losses[-1]:.2f} acc {topic_accuracy(glove.embeddings(), topic_of):.3f} "
                  f"({time.time() - t0:.1f}s)", flush=True)
    monitor.close()

    word_embeddings = glove.embeddings()
    acc = topic_accuracy(word_embeddings, topic_of)
    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc if np.isfinite(word_embeddings).all()
            else float("nan"), "chance": (TOPIC_WORDS - 1) / (N_TOPICS * TOPIC_WORDS - 1),
            "initial": initial_acc, "initial_what": "untrained embeddings' topic nearest-neighbour accuracy",
            "extra": dict(lr=lr, train_loss=float(np.mean(la[-20:])), first_loss=float(np.mean(la[:5])),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), steps=len(la),
                          full_weighted_loss=full_loss(glove, co_oc_matrix), vocab_size=V,
                          nonzero_pairs=int((co_oc_matrix > 0).sum()), max_count=float(co_oc_matrix.max()),
                          lr_mult=lr_mult, init_std=-1.0 if init_std is None else init_std,
                          const_init=-1.0 if const_init is None else const_init, zero_grad=zero_grad,
                          use_log=use_log, use_weight=use_weight, embed_size=embed_size, batch_size=batch_size),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="glove", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"kefirski GloVe (embed {EMBED_SIZE}, x_max 100, alpha 0.75, summed weighted loss; Adagrad lr {LEARNING_RATE:g}, "
      f"batch {BATCH_SIZE} random pairs, {NUM_ITERATIONS} steps; generated 320-word topic corpus)")
CASES: list[dict] = (
    [_case(f"glove_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"glove_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adagrad lr x{k} ({LEARNING_RATE * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("glove_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3},
             f"{_P}: Adagrad lr /1000 ({LEARNING_RATE * 1e-3:g})")]
    + [_case(f"glove_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: every embedding and bias N(0, 1) instead of xavier_normal_ (std sqrt(2/(V+E)) = 0.075)")
       for s in (1, 2)]
    + [_case("glove_const_init_s1", "symmetric_init", 1, {"const_init": 0.1},
             f"{_P}: every embedding and bias set to the constant 0.1 (all words identical)")]
    + [_case(f"glove_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)") for s in (1, 2)]
    + [_case("glove_no_log_s1", "unscaled_target", 1, {"use_log": False},
             f"{_P}: t.log left out: the dot products fit the raw shifted counts (1 to ~2100) instead of their log")]
    + [_case("glove_no_weight_s1", "wrong_loss", 1, {"use_weight": False},
             f"{_P}: the weighting left out (f(X) = 1 for every pair, the 80% of zero pairs included)")]
    + [_case("glove_embed100_s1", "healthy", 1, {"embed_size": 100},
             f"{_P}: embedding size 100 instead of 50 (expected harmless)")]
    + [_case("glove_batch1024_s1", "healthy", 1, {"batch_size": 1024},
             f"{_P}: batch 1024 instead of 512 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
