"""graykode/nlp-tutorial's TextCNN (2-1.TextCNN) and NNLM (1-1.NNLM), watched by gradmedic.

Adapted from https://github.com/graykode/nlp-tutorial (commit d05e31ec81d56d70c1db89b99ab07e948f7ebc11, the newest:
2-1.TextCNN/TextCNN.py, last changed in 5c4ed7f3cdec9f34baef489f967b91ebd885cc82, and 1-1.NNLM/NNLM.py, last changed
in af0b28a3ffd2180eb3863256bec7c3ab0fcd2165 (comments only); by Tae Hwan Jung; MIT License, Copyright (c) 2019
TaeHwan Jung, see LICENSE-gknlp).  One module, two programs: TextCNN (cases ``gknlp_*``) and NNLM (``gknnlm_*``).

Kept as in the original: both model classes (they read their sizes from module globals, set in ``train()`` as
upstream's ``__main__`` sets them; the only additions are a class attribute each, ``relu_shift`` / ``tanh_scale``,
used by one variant each and inert otherwise, and shorter shape comments).
``TextCNN``: ``W = nn.Embedding(vocab_size, embedding_size)``,
``Weight = nn.Linear(num_filters_total, num_classes, bias=False)``, the hand-made ``Bias = nn.Parameter(torch.ones
([num_classes]))``, ``Conv2d(1, num_filters, (size, embedding_size))`` per filter size, ReLU, MaxPool2d over the
sequence, concatenation, ``Weight(h) + Bias``; embedding_size 2, filter_sizes [2, 2, 2], num_filters 3,
num_classes 2.  ``NNLM``: ``C = nn.Embedding(n_class, m)``, ``H = nn.Linear(n_step * m, n_hidden, bias=False)``,
``d = nn.Parameter(torch.ones(n_hidden))``, ``U``, ``W`` (Linear, no bias), ``b = nn.Parameter(torch.ones(n_class))``,
``b + W(X) + U(tanh(d + H(X)))``; n_step 2; upstream's ``make_batch`` (the first n_step words of a sentence -> its
last word).  PyTorch's default init throughout (upstream sets none), ``nn.CrossEntropyLoss()``,
``optim.Adam(model.parameters(), lr=0.001)``, and the loop: the whole training set as one batch every step,
``zero_grad`` / forward / loss / ``backward`` / ``step``, no clipping (upstream clips nothing, so no "no clipping"
case), no scheduler.

Changed: upstream trains on 6 three-word sentiment sentences (TextCNN) and 3 three-word sentences (NNLM), with
no held-out text.  Here the data is made by the code, seeded ``random.Random(1000 + seed)``: TextCNN gets five-word
sentences (``sequence_length`` 5 instead of 3) from three templates ("i really love the movie", "the movie was truly
awful", "they say this awful show") with one sentiment word drawn from 6 positive / 6 negative verbs or adjectives,
label 1 good / 0 bad as upstream (vocabulary 59 words, upstream's ``word_dict`` built in sorted instead of
``set`` order); NNLM gets three-word sentences subject verb object from a small grammar (7 people and 4 animals; 6
and 4 verbs; the object drawn from the verb's list, which differs for people and animals: 43 words), so the best
held-out cross-entropy is about 1.2 (several objects per context).  600 training and 400 held-out sentences each.
NNLM's m 8 and n_hidden 16 instead of 2 and 2 (sized for a 43-word vocabulary; upstream's has 7 words).
``torch.manual_seed(seed)`` (upstream seeds nothing); 1200 (TextCNN) and 1000 (NNLM) steps instead of 5000 so a run
takes 3-15 s on one CPU thread (the healthy TextCNN is at 0.98-1.0 held-out accuracy by then; NNLM's held-out loss is
lowest near step 500 and creeps up by 0.05-0.1 after it, mild overfitting); no prints, no final prediction.  Added for
the metric: the held-out accuracy and mean cross-entropy with ``torch.no_grad()`` before the first step
(``initial``) and every 250 steps; the metric is the last held-out accuracy (TextCNN, ``accuracy``) or held-out
cross-entropy (NNLM, ``val_loss``).  ``ARCH`` is "cnn" for the module (run.py takes one per module; NNLM is an MLP
language model).

The watch: ``gradmedic.watch(model, optimizer, every=10)`` on the whole model (its own nn.Parameter attributes
``Bias``, ``d``, ``b`` as well as its layers) right after the Adam is built; ``monitor.step(loss)`` right after
``loss.backward()``, before ``optimizer.step()``.

``CASES`` (in the shape of run.py's ``case()``), for each program: the program on seeds 1-3, and one change each
against the same seed's healthy run: Adam lr x10, x100 (seeds 1 and 2), x1000 and /1000; the hand-made parameters
drawn from ``torch.randn(...) * 10`` (TextCNN: the embedding ``W`` and ``Bias``; NNLM: the embedding ``C``, ``d``
and ``b``; cause init_large); TextCNN only: ``F.relu(conv(embedded_chars) - 5)``, a bias of -5 before the ReLU after
each convolution (dead filters; cause dead_relu); NNLM only: ``torch.tanh(100 * (d + H(X)))``, the tanh's input
scaled x100 (saturated hidden units, the same as ``H`` and ``d`` initialized x100; cause init_large).  No raw-input
case (the inputs are word indices into an embedding).  Labels come from run.py's outcome rules only.
Recorded (cases-public25; 20 cases in 159 s, 2-15 s a run on a shared 2-core machine): TextCNN healthy held-out
accuracy 0.998, 0.983, 0.980 on seeds 1-3 (from 0.48-0.53 untrained); lr x10, x100 (both seeds) reach 1.0 by step
250 (healthy); lr x1000 also ends at 1.0 but its training loss jumps to 18.0 on the way (over 2x the control's
largest, 0.88: ambiguous); /1000 stays at 0.482 (broken); randn x10 starts at a held-out loss of 8.3 and ends at
0.592 (broken); the -5 ReLU bias leaves every filter dead, 0.518 from start to end (loss 0.693; broken).  NNLM
healthy held-out loss 1.486, 1.435, 1.362 on seeds 1-3 (from 3.85-4.29 untrained; training loss 1.11-1.13); lr x10
1.864, x100 1.950 and 1.897 (they fit the training set as well, training loss 1.09-1.10, and overfit more: over 1.1x
the control, under 2x: ambiguous); x1000 ends at 8.90 (the training loss up to 20.7 on the way; broken); /1000 stays
at 3.83 (broken); randn x10 starts at 20.9 and ends at 1.612 (ambiguous: 1.08x the control but its own start so high
that the largest loss is over 2x the control's); tanh x100 ends at 1.458 (healthy: the direct ``W(X)`` path and the
saturated units' sign still fit the grammar).
"""

from __future__ import annotations

import math
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(model, optimizer, every=10) on the whole model (its nn.Parameter attributes Bias / d, b as well "
              "as its layers) right after the Adam is built; monitor.step(loss) after loss.backward() "
              "(CrossEntropyLoss on the full batch), before optimizer.step()")

# ---------------------------------------------------------------------------------------------------------------
# synthetic corpora (upstream: 6 sentiment sentences for TextCNN, 3 sentences for NNLM)

SUBJECTS = ["i", "we", "they", "he", "she", "critics", "fans", "everyone"]
INTENS = ["really", "truly", "just", "so", "honestly", "still"]
DETS = ["the", "this", "that", "her", "his"]
NOUNS = ["movie", "book", "song", "food", "show", "game", "hotel", "album", "story", "team"]
POS_VERBS = ["love", "like", "enjoy", "adore", "admire", "praise"]
NEG_VERBS = ["hate", "dislike", "despise", "loathe", "detest", "mock"]
POS_ADJS = ["great", "good", "wonderful", "excellent", "lovely", "brilliant"]
NEG_ADJS = ["awful", "bad", "terrible", "boring", "horrible", "dreadful"]
COPULAS = ["was", "is", "seems", "looks", "felt"]


def sentiment_sentences(n: int, rng: random.Random):
    """Five-word sentences with one sentiment word, label 1 good / 0 bad (upstream: "i love you" 1, "i hate you" 0)."""
    sentences, labels = [], []
    for _ in range(n):
        y = rng.randrange(2)
        verb = rng.choice(POS_VERBS if y else NEG_VERBS)
        adj = rng.choice(POS_ADJS if y else NEG_ADJS)
        t = rng.randrange(3)
        if t == 0:    # i really love the movie
            w = [rng.choice(SUBJECTS), rng.choice(INTENS), verb, rng.choice(DETS), rng.choice(NOUNS)]
        elif t == 1:  # the movie was truly awful
            w = [rng.choice(DETS), rng.choice(NOUNS), rng.choice(COPULAS), rng.choice(INTENS), adj]
        else:         # they say this awful show
            w = [rng.choice(SUBJECTS), "say", rng.choice(DETS), adj, rng.choice(NOUNS)]
        sentences.append(" ".join(w))
        labels.append(y)
    return sentences, labels


PEOPLE = ["i", "you", "we", "they", "tom", "anna", "kids"]
ANIMALS = ["dog", "cat", "horse", "bird"]
PEOPLE_VERBS = {"eat": ["bread", "rice", "cake", "apples"], "drink": ["coffee", "tea", "milk", "juice"],
                "read": ["books", "news", "letters"], "play": ["football", "chess", "piano"],
                "like": ["coffee", "cake", "chess", "books", "dogs"], "hate": ["milk", "news", "rain", "mondays"]}
ANIMAL_VERBS = {"eat": ["meat", "bones", "seeds", "grass"], "drink": ["water", "milk"],
                "chase": ["balls", "mice", "birds"], "like": ["bones", "grass", "balls"]}


def grammar_sentences(n: int, rng: random.Random):
    """Three-word sentences subject verb object (upstream: "i like dog", "i love coffee", "i hate milk"); the
    object depends on the verb and on whether the subject is a person or an animal."""
    out = []
    for _ in range(n):
        if rng.random() < 0.6:
            s = rng.choice(PEOPLE)
            v = rng.choice(sorted(PEOPLE_VERBS))
            o = rng.choice(PEOPLE_VERBS[v])
        else:
            s = rng.choice(ANIMALS)
            v = rng.choice(sorted(ANIMAL_VERBS))
            o = rng.choice(ANIMAL_VERBS[v])
        out.append(f"{s} {v} {o}")
    return out


def make_batch(sentences):
    input_batch = []
    target_batch = []

    for sen in sentences:
        word = sen.split()  # space tokenizer
        input = [word_dict[n] for n in word[:-1]]  # create (1~n-1) as input
        target = word_dict[word[-1]]  # create (n) as target, We usually call this 'casual language model'

        input_batch.append(input)
        target_batch.append(target)

    return input_batch, target_batch


# ---------------------------------------------------------------------------------------------------------------
# the models, as upstream (they read their sizes from module globals, set in train() as upstream's __main__ does)

embedding_size = sequence_length = num_classes = num_filters = vocab_size = 0
filter_sizes: list[int] = []
n_step = n_hidden = m = n_class = 0
word_dict: dict[str, int] = {}


class TextCNN(nn.Module):
    relu_shift = 0.0  # the dead-filter variant: F.relu(conv(x) + relu_shift) with relu_shift -5

    def __init__(self):
        super().__init__()
        self.num_filters_total = num_filters * len(filter_sizes)
        self.W = nn.Embedding(vocab_size, embedding_size)
        self.Weight = nn.Linear(self.num_filters_total, num_classes, bias=False)
        self.Bias = nn.Parameter(torch.ones([num_classes]))
        self.filter_list = nn.ModuleList([nn.Conv2d(1, num_filters, (size, embedding_size)) for size in filter_sizes])

    def forward(self, X):
        embedded_chars = self.W(X)  # [batch_size, sequence_length, embedding_size]
        embedded_chars = embedded_chars.unsqueeze(1)  # add channel(=1) [batch, 1, sequence_length, embedding_size]

        pooled_outputs = []
        for i, conv in enumerate(self.filter_list):
            # conv : [input_channel(=1), output_channel(=3), (filter_height, filter_width), bias_option]
            h = F.relu(conv(embedded_chars) + self.relu_shift) if self.relu_shift else F.relu(conv(embedded_chars))
            # mp : ((filter_height, filter_width))
            mp = nn.MaxPool2d((sequence_length - filter_sizes[i] + 1, 1))
            # pooled : [batch_size(=6), output_height(=1), output_width(=1), output_channel(=3)]
            pooled = mp(h).permute(0, 3, 2, 1)
            pooled_outputs.append(pooled)

        h_pool = torch.cat(pooled_outputs, len(filter_sizes))  # [batch, 1, 1, num_filters * 3]
        h_pool_flat = torch.reshape(h_pool, [-1, self.num_filters_total])  # [batch, num_filters_total]
        model = self.Weight(h_pool_flat) + self.Bias  # [batch_size, num_classes]
        return model


class NNLM(nn.Module):
    tanh_scale = 1.0  # the saturated-tanh variant: torch.tanh(tanh_scale * (d + H(X))) with tanh_scale 100

    def __init__(self):
        super().__init__()
        self.C = nn.Embedding(n_class, m)
        self.H = nn.Linear(n_step * m, n_hidden, bias=False)
        self.d = nn.Parameter(torch.ones(n_hidden))
        self.U = nn.Linear(n_hidden, n_class, bias=False)
        self.W = nn.Linear(n_step * m, n_class, bias=False)
        self.b = nn.Parameter(torch.ones(n_class))

    def forward(self, X):
        X = self.C(X)  # X : [batch_size, n_step, m]
        X = X.view(-1, n_step * m)  # [batch_size, n_step * m]
        if self.tanh_scale != 1.0:
            tanh = torch.tanh(self.tanh_scale * (self.d + self.H(X)))
        else:
            tanh = torch.tanh(self.d + self.H(X))  # [batch_size, n_hidden]
        output = self.b + self.W(X) + self.U(tanh)  # [batch_size, n_class]
        return output


# ---------------------------------------------------------------------------------------------------------------

def train(seed: int = 1, model: str = "textcnn", lr_mult: float = 1.0, randn_x10: bool = False,
          relu_shift: float = 0.0, tanh_scale: float = 1.0, epochs: int | None = None, every: int = 10,
          verbose: bool = False) -> dict:
    global embedding_size, sequence_length, num_classes, filter_sizes, num_filters, vocab_size
    global n_step, n_hidden, m, n_class, word_dict
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    rng = random.Random(1000 + seed)
    textcnn = model == "textcnn"
    if textcnn:
        embedding_size = 2  # embedding size
        sequence_length = 5  # sequence length (upstream 3)
        num_classes = 2  # number of classes
        filter_sizes = [2, 2, 2]  # n-gram windows
        num_filters = 3  # number of filters
        epochs = epochs or N_EPOCHS_TEXTCNN
        sentences, labels = sentiment_sentences(N_TRAIN + N_HELD, rng)
        word_list = sorted(set(" ".join(sentences).split()))
        word_dict = {w: i for i, w in enumerate(word_list)}
        vocab_size = len(word_dict)
        net = TextCNN()
        net.relu_shift = relu_shift
        if randn_x10:  # the bug: the hand-made parameters drawn from randn * 10
            with torch.no_grad():
                net.W.weight.copy_(torch.randn(vocab_size, embedding_size) * 10)
                net.Bias.copy_(torch.randn([num_classes]) * 10)
        allx = torch.LongTensor(np.asarray([[word_dict[n] for n in sen.split()] for sen in sentences]))
        ally = torch.LongTensor(labels)
        inputs, targets = allx[:N_TRAIN], ally[:N_TRAIN]
        held_x, held_y = allx[N_TRAIN:], ally[N_TRAIN:]
    else:
        n_step = 2  # number of steps, n-1 in paper
        n_hidden = 16  # number of hidden size, h in paper (upstream 2)
        m = 8  # embedding size, m in paper (upstream 2)
        epochs = epochs or N_EPOCHS_NNLM
        sentences = grammar_sentences(N_TRAIN + N_HELD, rng)
        word_list = sorted(set(" ".join(sentences).split()))
        word_dict = {w: i for i, w in enumerate(word_list)}
        n_class = len(word_dict)  # number of Vocabulary
        net = NNLM()
        net.tanh_scale = tanh_scale
        if randn_x10:  # the bug: the hand-made parameters drawn from randn * 10
            with torch.no_grad():
                net.C.weight.copy_(torch.randn(n_class, m) * 10)
                net.d.copy_(torch.randn(n_hidden) * 10)
                net.b.copy_(torch.randn(n_class) * 10)
        input_batch, target_batch = make_batch(sentences)
        allx, ally = torch.LongTensor(input_batch), torch.LongTensor(target_batch)
        inputs, targets = allx[:N_TRAIN], ally[:N_TRAIN]
        held_x, held_y = allx[N_TRAIN:], ally[N_TRAIN:]

    criterion = nn.CrossEntropyLoss()
    lr = 0.001 * lr_mult
    optimizer = optim.Adam(net.parameters(), lr=lr)
    monitor = gradmedic.watch(net, optimizer, every=every)  # gradmedic

    def held_out():
        with torch.no_grad():
            out = net(held_x)
            return float((out.argmax(1) == held_y).float().mean()), float(criterion(out, held_y))

    t0 = time.time()
    evals = [(0,) + held_out()]
    losses = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        output = net(inputs)
        loss = criterion(output, targets)
        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()
        losses.append(loss.item())
        if (epoch + 1) % 250 == 0 or epoch + 1 == epochs:
            evals.append((epoch + 1,) + held_out())
            if verbose:
                print(f"Epoch: {epoch + 1:04d} cost = {loss.item():.6f} held-out acc {evals[-1][1]:.4f} "
                      f"loss {evals[-1][2]:.4f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    train_final = float(np.mean(losses[-20:]))
    extra = {"program": "TextCNN" if textcnn else "NNLM", "steps": len(losses), "lr": lr,
             "train_examples": len(targets), "held_out_examples": len(held_y), "vocab": len(word_dict),
             "train_loss": train_final if math.isfinite(train_final) else float("nan"),
             "initial_train_loss": float(np.mean(losses[:5])), "held_out_evals": evals}
    if textcnn:
        value, initial = evals[-1][1], evals[0][1]
        return {"monitors": {"": monitor}, "metric": "accuracy",
                "value": value if math.isfinite(value) else float("nan"), "chance": 0.5, "initial": initial,
                "initial_what": "untrained: the held-out accuracy of the model before its first step",
                "extra": extra, "seconds": time.time() - t0}
    value, initial = evals[-1][2], evals[0][2]
    return {"monitors": {"": monitor}, "metric": "val_loss", "value": value if math.isfinite(value) else float("nan"),
            "chance": math.log(n_class), "initial": initial,
            "initial_what": "untrained: the held-out mean cross-entropy of the model before its first step",
            "extra": dict(extra, held_out_accuracy=evals[-1][1]), "seconds": time.time() - t0}


N_TRAIN, N_HELD = 600, 400
N_EPOCHS_TEXTCNN, N_EPOCHS_NNLM = 1200, 1000


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="gknlp", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


def _cases(p, kw, what):
    return [_case(f"{p}_lr_x{k}_s{s}", "lr_high", s, dict(kw, lr_mult=k), f"{what}: Adam lr x{k} ({0.001 * k:g})")
            for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss] + [
        _case(f"{p}_lr_div1000_s1", "lr_low", 1, dict(kw, lr_mult=1e-3), f"{what}: Adam lr /1000 (1e-06)")]


_T, _N = {"model": "textcnn"}, {"model": "nnlm"}
CASES: list[dict] = (
    [_case(f"gknlp_healthy_s{s}", "healthy", s, dict(_T), "TextCNN: unchanged (embedding 2, filters [2, 2, 2] x 3, "
           "CrossEntropyLoss, Adam lr 0.001, full batch)", False) for s in (1, 2, 3)]
    + _cases("gknlp", _T, "TextCNN")
    + [_case("gknlp_randn_x10_s1", "init_large", 1, dict(_T, randn_x10=True),
             "TextCNN: the embedding W.weight and Bias drawn from torch.randn(...) * 10 (instead of N(0, 1) and ones)")]
    + [_case("gknlp_relu_bias_m5_s1", "dead_relu", 1, dict(_T, relu_shift=-5.0),
             "TextCNN: F.relu(conv(embedded_chars) - 5): a bias of -5 added before the ReLU after each convolution")]
    + [_case(f"gknnlm_healthy_s{s}", "healthy", s, dict(_N), "NNLM: unchanged (n_step 2, m 8, n_hidden 16, "
             "CrossEntropyLoss, Adam lr 0.001, full batch)", False) for s in (1, 2, 3)]
    + _cases("gknnlm", _N, "NNLM")
    + [_case("gknnlm_randn_x10_s1", "init_large", 1, dict(_N, randn_x10=True),
             "NNLM: the embedding C.weight and the parameters d and b drawn from torch.randn(...) * 10 "
             "(instead of N(0, 1) and ones)")]
    + [_case("gknnlm_tanh_x100_s1", "init_large", 1, dict(_N, tanh_scale=100.0),
             "NNLM: torch.tanh(100 * (d + H(X))): the tanh's input scaled x100 (saturated hidden units)")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = (int(v) if k in ("seed", "epochs") else v if k == "model" else
                 v == "True" if k == "randn_x10" else float(v))
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k not in ("monitors", "extra")})
