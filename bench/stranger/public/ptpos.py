"""Two programs of the PyTorch NLP tutorials by Robert Guthrie: the LSTM part-of-speech tagger ("Sequence Models and
Long Short-Term Memory Networks") and the bag-of-words logistic-regression language classifier ("Deep Learning with
PyTorch"), each on a synthetic corpus, watched by gradmedic.

Adapted from https://github.com/pytorch/tutorials (BSD 3-Clause License, Copyright (c) 2017-2022 Pytorch
contributors, see LICENSE-ptpos): beginner_source/nlp/sequence_models_tutorial.py at commit
f77e1c2c11be5d612ed9adbc73a8b82904162c23 (program "pos", name prefix ptpos) and
beginner_source/nlp/deep_learning_tutorial.py at commit 016d0cc077f60c82b8497d4c7f92051ce40cafee (program "bow",
name prefix ptbow).  Each is module-level script code; here each script's training part is a function
(``run_tagger``, ``run_bow``) with upstream's lines in upstream's order, and ``train(prog=...)`` calls one.

Kept as in the tutorials:
- pos: ``prepare_sequence``, the word_to_ix built in first-seen order, ``LSTMTagger`` unchanged (``nn.Embedding``,
  ``nn.LSTM(embedding_dim, hidden_dim)``, ``hidden2tag`` ``nn.Linear``, the hidden state kept in ``self.hidden`` and
  reset by ``init_hidden()`` before each sentence, ``F.log_softmax(tag_space, dim=1)``), EMBEDDING_DIM = HIDDEN_DIM
  = 6 as upstream, PyTorch's default init, ``nn.NLLLoss()``, ``optim.SGD(model.parameters(), lr=0.1)``, one sentence
  per step in a fixed order, and the loop: ``model.zero_grad()``, ``model.hidden = model.init_hidden()``, forward,
  loss, ``loss.backward()``, ``optimizer.step()``.
- bow: ``BoWClassifier`` (``nn.Linear(vocab_size, num_labels)``, ``F.log_softmax(..., dim=1)``),
  ``make_bow_vector`` (raw word counts), ``make_target``, the word_to_ix over training and test sentences as
  upstream, ``label_to_ix = {"SPANISH": 0, "ENGLISH": 1}``, ``nn.NLLLoss()``, SGD lr 0.1, one sentence per step in a
  fixed order with ``model.zero_grad()`` first.

Changed: upstream trains on 2 (pos) and 4 (bow) toy sentences for 300 and 100 epochs and only prints the scores.
Here the data is synthetic and fixed (numpy seed 0 for every run): ``pos_corpus`` makes 400 training and 200 test
sentences (1261 test tokens, 54 words, 5 tags DET NN V ADJ ADV) of a small grammar with position-dependent words
(six noun/verb words, three adjective/adverb words; see its docstring); ``language_corpus`` makes 300 training and
200 test sentences of 3-10 pronounceable pseudo-words from two made-up "languages" (60 own words each, half of
each sentence from 40 shared words; 160 words).  pos trains 10 epochs (4000 steps, ~10 s), bow 12 epochs (3600
steps, ~3 s).  The metric is the held-out accuracy: per-token tag accuracy on the test sentences (each run with the
hidden state reset; upstream's after-training print carries ``model.hidden`` over from the last training sentence),
and the test sentences' classification accuracy.  ``torch.autograd.Variable`` wrappers are dropped (plain
tensors); the pos word_to_ix also covers the test sentences (every word of the grammar occurs in training anyway);
``torch.manual_seed(seed)`` instead of ``torch.manual_seed(1)``; the prints replaced by ``extra``; the variants'
switches (``log_softmax``, ``zero_grad``, ``lstm_std``, ``softmax``, ``count_scale``, ``lr_mult``) as in ``CASES``.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the SGD is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after
the loop.

``CASES`` (all of program "ptpos"; run.py finds a variant's control as the first "_" token of its name +
"_healthy_s<seed>"): pos on seeds 1-3 and one change each against the same seed's healthy run: SGD lr x10, x100
(seeds 1 and 2), x1000, /1000; ``F.log_softmax`` removed (NLLLoss over raw scores); ``model.zero_grad()`` left out;
the LSTM's weights N(0, 3).  bow on seeds 1-2 and, on seed 1: lr x100; ``F.softmax`` instead of ``F.log_softmax``
(NLLLoss over probabilities); the bag-of-words counts x100.  Labels come from run.py's outcome rules only.

Recorded (cases-public26, 167 s in all): pos healthy 0.999, 1.000, 0.998 on seeds 1-3 (~12 s each); lr x10 1.000
(healthy); lr x100 0.388 and 0.320, x1000 0.262, /1000 0.252 (broken); no log_softmax 0.270 (broken: the loss,
minus the raw score, runs off to -549); no zero_grad 0.307 (broken, loss up to 139); LSTM N(0, 3) 0.899
(ambiguous: just under 0.9 and not clearly worse).  bow healthy 0.985 on seeds 1-2 (~3 s each); lr x100 0.955
(ambiguous: the largest loss 104 against the control's 1.4) and counts x100 0.980 (ambiguous: largest loss 7.8e3);
softmax into NLLLoss 0.985 (healthy: minus the probability still ranks the right label first on this easy task).
"""

# upstream's code is kept as written (super(Class, self), the unused loop variable tags)
# ruff: noqa: UP008, B007

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

import gradmedic

ARCH = "lstm"
MONITOR_AT = ("watch(model, optimizer, every=10) right after the SGD is built; monitor.step(loss) right after "
              "loss.backward() of each sentence (NLLLoss), before optimizer.step()")


# the corpora (numpy seed 0, the same for every run) -----------------------------------------------------------------

def _pseudo_words(rng, n, used, syl=(1, 3)):
    cons, vows = list("bcdfghjklmnprstvz"), list("aeiou")
    out = []
    while len(out) < n:
        k = int(rng.integers(syl[0], syl[1] + 1))
        w = "".join(str(rng.choice(cons)) + str(rng.choice(vows)) for _ in range(k))
        if w not in used:
            used.add(w)
            out.append(w)
    return out


def pos_corpus(n_train: int = 400, n_test: int = 200, data_seed: int = 0):
    """Sentences of a small grammar, ``DET ADJ* NN [ADV] V [DET ADJ* NN] [ADV]``, as (words, tags) pairs.  Six
    noun/verb words (``walk``, ``run``, ``book``, ...) are a noun after a determiner or adjective and a verb after the
    subject; ``fast``, ``late`` and ``hard`` are adjectives before a noun and adverbs after a verb: their tag depends
    on the position, which only the LSTM's left context gives."""
    rng = np.random.default_rng(data_seed)
    det = ["the", "a", "that", "every", "some", "this"]
    nn_only = ["dog", "apple", "cat", "teacher", "house", "river", "car", "child", "song", "letter", "garden",
               "bird", "city", "table", "friend", "window"]
    v_only = ["ate", "read", "saw", "likes", "found", "wrote", "sings", "opened", "sold", "carried", "visits"]
    nv = ["walk", "run", "book", "watch", "play", "drink"]  # NN or V by position
    adj_only = ["big", "old", "red", "happy", "small", "quiet", "green"]
    aa = ["fast", "late", "hard"]  # ADJ before a noun, ADV after a verb
    adv_only = ["slowly", "often", "quickly", "never", "again"]

    def noun_phrase():
        words, tags = [str(rng.choice(det))], ["DET"]
        for _ in range(int(rng.choice(3, p=[0.45, 0.4, 0.15]))):
            words.append(str(rng.choice(adj_only + aa)))
            tags.append("ADJ")
        words.append(str(rng.choice(nn_only + nv)))
        tags.append("NN")
        return words, tags

    def sentence():
        w, t = noun_phrase()
        if rng.random() < 0.2:
            w.append(str(rng.choice(adv_only)))
            t.append("ADV")
        w.append(str(rng.choice(v_only + nv)))
        t.append("V")
        if rng.random() < 0.7:
            w2, t2 = noun_phrase()
            w, t = w + w2, t + t2
        if rng.random() < 0.4:
            w.append(str(rng.choice(adv_only + aa)))
            t.append("ADV")
        return w, t

    train = [sentence() for _ in range(n_train)]
    test = [sentence() for _ in range(n_test)]
    return train, test


def language_corpus(n_train: int = 300, n_test: int = 200, data_seed: int = 0):
    """Sentences of two pseudo-languages ("SPANISH", "ENGLISH") as (words, label) pairs: each has 60 words of its
    own; half the words of a sentence come from 40 words both share (as "me", "no", "a" are in upstream's data)."""
    rng = np.random.default_rng(data_seed + 1)
    used: set[str] = set()
    shared = _pseudo_words(rng, 40, used)
    own = {"SPANISH": _pseudo_words(rng, 60, used), "ENGLISH": _pseudo_words(rng, 60, used)}

    def sentence():
        label = "SPANISH" if rng.random() < 0.5 else "ENGLISH"
        n = int(rng.integers(3, 11))
        words = [str(rng.choice(shared)) if rng.random() < 0.5 else str(rng.choice(own[label])) for _ in range(n)]
        return words, label

    return [sentence() for _ in range(n_train)], [sentence() for _ in range(n_test)]


# sequence_models_tutorial.py ----------------------------------------------------------------------------------------

def prepare_sequence(seq, to_ix):
    idxs = [to_ix[w] for w in seq]
    return torch.tensor(idxs, dtype=torch.long)


class LSTMTagger(nn.Module):

    def __init__(self, embedding_dim, hidden_dim, vocab_size, tagset_size, log_softmax=True):
        super(LSTMTagger, self).__init__()
        self.hidden_dim = hidden_dim

        self.word_embeddings = nn.Embedding(vocab_size, embedding_dim)

        # The LSTM takes word embeddings as inputs, and outputs hidden states
        # with dimensionality hidden_dim.
        self.lstm = nn.LSTM(embedding_dim, hidden_dim)

        # The linear layer that maps from hidden state space to tag space
        self.hidden2tag = nn.Linear(hidden_dim, tagset_size)
        self.hidden = self.init_hidden()
        self.log_softmax = log_softmax

    def init_hidden(self):
        # The axes semantics are (num_layers, minibatch_size, hidden_dim)
        return (torch.zeros(1, 1, self.hidden_dim),
                torch.zeros(1, 1, self.hidden_dim))

    def forward(self, sentence):
        embeds = self.word_embeddings(sentence)
        lstm_out, self.hidden = self.lstm(
            embeds.view(len(sentence), 1, -1), self.hidden)
        tag_space = self.hidden2tag(lstm_out.view(len(sentence), -1))
        if not self.log_softmax:  # the bug: NLLLoss over the raw scores
            return tag_space
        tag_scores = F.log_softmax(tag_space, dim=1)
        return tag_scores


def run_tagger(seed, lr_mult=1.0, log_softmax=True, zero_grad=True, lstm_std=None, epochs=10, verbose=False):
    torch.manual_seed(seed)
    training_data, test_data = pos_corpus()
    word_to_ix = {}
    for sent, tags in training_data + test_data:
        for word in sent:
            if word not in word_to_ix:
                word_to_ix[word] = len(word_to_ix)
    tag_to_ix = {"DET": 0, "NN": 1, "V": 2, "ADJ": 3, "ADV": 4}
    EMBEDDING_DIM = 6  # noqa: N806
    HIDDEN_DIM = 6  # noqa: N806

    model = LSTMTagger(EMBEDDING_DIM, HIDDEN_DIM, len(word_to_ix), len(tag_to_ix), log_softmax=log_softmax)
    if lstm_std is not None:  # the bug: the LSTM's weights drawn from N(0, lstm_std)
        for name, p in model.lstm.named_parameters():
            if name.startswith("weight"):
                nn.init.normal_(p, 0.0, lstm_std)
    loss_function = nn.NLLLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.1 * lr_mult)
    monitor = gradmedic.watch(model, optimizer, every=10)

    def evaluate(data):
        correct = total = 0
        with torch.no_grad():
            for sentence, tags in data:
                model.hidden = model.init_hidden()
                pred = model(prepare_sequence(sentence, word_to_ix)).argmax(1)
                correct += int((pred == prepare_sequence(tags, tag_to_ix)).sum())
                total += len(tags)
        return correct / total

    losses, t0 = [], time.time()
    for epoch in range(epochs):  # upstream: 300 epochs of its 2 sentences
        for sentence, tags in training_data:
            # Step 1. Remember that Pytorch accumulates gradients.
            # We need to clear them out before each instance
            if zero_grad:  # the bug: left out
                model.zero_grad()

            # Also, we need to clear out the hidden state of the LSTM,
            # detaching it from its history on the last instance.
            model.hidden = model.init_hidden()

            sentence_in = prepare_sequence(sentence, word_to_ix)
            targets = prepare_sequence(tags, tag_to_ix)

            tag_scores = model(sentence_in)

            loss = loss_function(tag_scores, targets)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())
        if verbose:
            print(f"epoch {epoch} loss {np.mean(losses[-100:]):.4f} test acc {evaluate(test_data):.4f} "
                  f"({time.time() - t0:.1f}s)", flush=True)
    acc = evaluate(test_data)
    monitor.close()
    return monitor, acc, losses, {"train_acc": evaluate(training_data), "vocab_size": len(word_to_ix),
                                  "test_tokens": sum(len(t) for _, t in test_data)}, t0


# deep_learning_tutorial.py ------------------------------------------------------------------------------------------

class BoWClassifier(nn.Module):  # inheriting from nn.Module!

    def __init__(self, num_labels, vocab_size, softmax=False):
        super(BoWClassifier, self).__init__()
        self.linear = nn.Linear(vocab_size, num_labels)
        self.softmax = softmax

    def forward(self, bow_vec):
        if self.softmax:  # the bug: probabilities, not log-probabilities, into NLLLoss
            return F.softmax(self.linear(bow_vec), dim=1)
        return F.log_softmax(self.linear(bow_vec), dim=1)


def make_bow_vector(sentence, word_to_ix, scale=1.0):
    vec = torch.zeros(len(word_to_ix))
    for word in sentence:
        vec[word_to_ix[word]] += 1
    return (vec * scale).view(1, -1)


def make_target(label, label_to_ix):
    return torch.LongTensor([label_to_ix[label]])


def run_bow(seed, lr_mult=1.0, softmax=False, count_scale=1.0, epochs=12, verbose=False):
    torch.manual_seed(seed)
    data, test_data = language_corpus()
    word_to_ix = {}
    for sent, _ in data + test_data:
        for word in sent:
            if word not in word_to_ix:
                word_to_ix[word] = len(word_to_ix)
    VOCAB_SIZE = len(word_to_ix)  # noqa: N806
    NUM_LABELS = 2  # noqa: N806
    model = BoWClassifier(NUM_LABELS, VOCAB_SIZE, softmax=softmax)
    label_to_ix = {"SPANISH": 0, "ENGLISH": 1}
    loss_function = nn.NLLLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.1 * lr_mult)
    monitor = gradmedic.watch(model, optimizer, every=10)

    def evaluate(d):
        with torch.no_grad():
            return float(np.mean([int(model(make_bow_vector(inst, word_to_ix, count_scale)).argmax(1))
                                  == label_to_ix[lab] for inst, lab in d]))

    losses, t0 = [], time.time()
    for epoch in range(epochs):  # upstream: 100 epochs of its 4 sentences
        for instance, label in data:
            model.zero_grad()
            bow_vec = make_bow_vector(instance, word_to_ix, count_scale)
            target = make_target(label, label_to_ix)
            log_probs = model(bow_vec)
            loss = loss_function(log_probs, target)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())
        if verbose:
            print(f"epoch {epoch} loss {np.mean(losses[-100:]):.4f} test acc {evaluate(test_data):.4f} "
                  f"({time.time() - t0:.1f}s)", flush=True)
    acc = evaluate(test_data)
    monitor.close()
    return monitor, acc, losses, {"train_acc": evaluate(data), "vocab_size": VOCAB_SIZE}, t0


def train(seed: int = 1, prog: str = "pos", lr_mult: float = 1.0, log_softmax: bool = True, zero_grad: bool = True,
          lstm_std: float | None = None, softmax: bool = False, count_scale: float = 1.0, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    if prog == "pos":
        monitor, acc, losses, extra, t0 = run_tagger(seed, lr_mult, log_softmax, zero_grad, lstm_std, verbose=verbose)
        chance, what = 0.2, "chance accuracy 0.2 (5 tags)"
    else:
        monitor, acc, losses, extra, t0 = run_bow(seed, lr_mult, softmax, count_scale, verbose=verbose)
        chance, what = 0.5, "chance accuracy 0.5 (2 balanced labels)"
    losses = np.asarray(losses, dtype=float)
    if verbose:
        print(f"{prog} test accuracy {acc:.4f}")
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc), "chance": chance, "initial": None,
            "initial_what": what,
            "extra": dict(extra, prog=prog, train_loss=float(np.mean(losses[-20:])),
                          first_loss=float(np.mean(losses[:5])), steps=len(losses), lr=0.1 * lr_mult),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="ptpos", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_T = ("LSTMTagger (Embedding 6, LSTM 6, Linear, log_softmax), NLLLoss, SGD lr 0.1, one sentence per step, "
      "10 epochs of 400 sentences")
_B = ("BoWClassifier (Linear over bag-of-words counts, log_softmax), NLLLoss, SGD lr 0.1, one sentence per step, "
      "12 epochs of 300 sentences")
CASES: list[dict] = (
    [_case(f"ptpos_healthy_s{s}", "healthy", s, {}, f"{_T}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"ptpos_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_T}: SGD lr x{k} ({0.1 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("ptpos_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_T}: SGD lr /1000 (0.0001)")]
    + [_case("ptpos_no_log_softmax_s1", "wrong_loss", 1, {"log_softmax": False},
             f"{_T}: F.log_softmax removed from forward(): NLLLoss over the raw tag scores")]
    + [_case("ptpos_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_T}: model.zero_grad() left out: the gradients accumulate over the sentences")]
    + [_case("ptpos_lstm_std3_s1", "init_large", 1, {"lstm_std": 3.0},
             f"{_T}: nn.init.normal_(std=3) on the LSTM's weight_ih_l0 and weight_hh_l0 (default uniform +-0.25)")]
    + [_case(f"ptbow_healthy_s{s}", "healthy", s, {"prog": "bow"}, f"{_B}: unchanged", False) for s in (1, 2)]
    + [_case("ptbow_lr_x100_s1", "lr_high", 1, {"prog": "bow", "lr_mult": 100}, f"{_B}: SGD lr x100 (10)")]
    + [_case("ptbow_softmax_s1", "wrong_loss", 1, {"prog": "bow", "softmax": True},
             f"{_B}: F.softmax instead of F.log_softmax in forward(): NLLLoss over probabilities")]
    + [_case("ptbow_counts_x100_s1", "unscaled_inputs", 1, {"prog": "bow", "count_scale": 100.0},
             f"{_B}: the bag-of-words counts multiplied by 100")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
