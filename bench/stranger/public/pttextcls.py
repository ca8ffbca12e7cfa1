"""The PyTorch tutorial "Text classification with the torchtext library": ``nn.EmbeddingBag`` -> ``nn.Linear`` on a
4-topic news corpus, SGD lr 5 with gradient clipping, watched by gradmedic.

Adapted from https://github.com/pytorch/tutorials (commit 5130967035247c8343376ee69f49d6e10d61eaca,
beginner_source/text_sentiment_ngrams_tutorial.py; BSD 3-Clause License, Copyright (c) 2017-2022 Pytorch
contributors, see LICENSE-pttextcls).  Kept as in the tutorial: ``TextClassificationModel`` unchanged
(``nn.EmbeddingBag(vocab_size, 64, sparse=False)`` in its default "mean" mode -> ``nn.Linear(64, num_class)``,
``init_weights``: uniform(-0.5, 0.5) on both weights, zero bias), the ``<unk>``-first vocabulary with ``<unk>`` as
default index built from the training split, ``label_pipeline = int(x) - 1``, ``collate_batch`` (labels, the
concatenated token ids, ``offsets = torch.tensor(offsets[:-1]).cumsum(dim=0)``), ``num_class`` counted from the
training labels, ``nn.CrossEntropyLoss``, ``torch.optim.SGD(lr=5)``, ``StepLR(optimizer, 1.0, gamma=0.1)`` stepped
after an epoch only when the validation accuracy fell below the best so far, the 95/5 ``random_split`` of the
training set into train and valid, batch 64 with ``shuffle=True`` for all three loaders, 10 epochs, and the loop:
``optimizer.zero_grad()``, forward, loss, ``loss.backward()``, ``clip_grad_norm_(model.parameters(), 0.1)``,
``optimizer.step()``; the metric is the tutorial's final test accuracy.

Changed: torchtext is not installed and nothing may be downloaded, so AG_NEWS (120000 + 7600 news items) is
replaced by a fixed synthetic 4-topic corpus made by ``synthetic_news`` (numpy seed 0, the same for every run):
12000 training and 2000 test documents of 15-45 pronounceable pseudo-words, labels 1..4 as AG_NEWS yields them;
each word is with probability 0.22 one of the document's own topic's 300 words, with 0.05 one of another topic's,
otherwise one of 2000 common words (Zipf-distributed within each list); ``get_tokenizer("basic_english")`` becomes
``str.split`` (the text is already lower-case words) and ``build_vocab_from_iterator`` a small ``Vocab`` class of
the same order (specials, then tokens by frequency).  The corpus is sized so the healthy run reaches a clear but
not trivial test accuracy (0.95-0.96; the tutorial gets ~0.91 on AG_NEWS) in 6-9 s on one CPU thread (1780 steps).
``torch.manual_seed(seed)``, and a ``torch.Generator`` seeded with the run's seed for the split and the shuffling;
the prints replaced by ``extra`` (per-epoch valid accuracy and lr); ``predict`` on the golf story left out.

The watch: ``gradmedic.watch(model, optimizer, every=10)`` right after the scheduler is built,
``monitor.step(loss)`` after ``loss.backward()``, before ``clip_grad_norm_`` and ``optimizer.step()``.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the same
seed's healthy run: SGD lr x10, x100 (seeds 1 and 2), x1000 (clipping kept) and /1000 (0.005); the clipping removed
at lr x10 (50); ``initrange`` 50 (uniform(-50, 50)); ``collate_batch``'s offsets all zeros (every bag but the last
empty, the last the whole batch); the tutorial's ``- 1`` left out of ``label_pipeline`` (labels 1..4; num_class 5
so that CrossEntropyLoss accepts them, otherwise it crashes); the epoch scheduler stepped after every batch (the
lr divided by 10 each step).  The offsets and label bugs are filed under cause "wrong_loss" (the benchmark has no
data-pipeline cause; hfaccel's shifted labels is filed the same way), the per-step scheduler under "lr_low".
Labels come from run.py's outcome rules only.
Recorded (cases-public24): healthy test accuracy 0.955, 0.959, 0.958 on seeds 1-3 (6 s each); lr x10 0.954
(healthy); lr x100 0.951 and 0.958 and x1000 0.956 train as well as the program thanks to the 0.1 clip (the step
is at most lr x 0.1), but their training loss jumps to 90-97 (x100) and 7052 (x1000) on the way, over twice the
control's largest (1.4), so they are labelled ambiguous; lr /1000 0.297 (broken); no clipping at lr x10 goes
non-finite, 0.241 (broken); uniform(-50, 50) 0.688, its loss starting at ~1600 (broken); zero offsets 0.263
(broken); the labels 1..4 with num_class 5 0.953 (healthy); the scheduler stepped every batch 0.250 (broken).
"""

from __future__ import annotations

import time
from functools import cache

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from torch.utils.data.dataset import random_split

import gradmedic

ARCH = "embedding_bag"
MONITOR_AT = ("monitor.step(loss) after loss.backward() (CrossEntropyLoss on the logits), before "
              "clip_grad_norm_(0.1) and optimizer.step()")


# the corpus: AG_NEWS stand-in -------------------------------------------------------------------------------------

def _words(rng, n, used):
    """``n`` new pronounceable pseudo-words (2-3 consonant-vowel syllables)."""
    cons, vows = np.array(list("bcdfghjklmnprstvwz")), np.array(list("aeiou"))
    out = []
    while len(out) < n:
        k = int(rng.integers(2, 4))
        w = "".join(c + v for c, v in zip(rng.choice(cons, k), rng.choice(vows, k), strict=True))
        if w not in used:
            used.add(w)
            out.append(w)
    return out


def _zipf(n):
    p = 1.0 / np.arange(1, n + 1)
    return p / p.sum()


@cache
def synthetic_news(n_train: int = 12000, n_test: int = 2000, n_common: int = 2000, n_topic: int = 300,
                   p_topic: float = 0.22, p_other: float = 0.05, data_seed: int = 0):
    """A fixed 4-class corpus of (label, text) pairs, labels 1..4 as AG_NEWS yields them.  Each document is 15-45
    words: with probability ``p_topic`` a word of its own class's topical vocabulary, with ``p_other`` a word of
    another (random) class's, otherwise a word of the shared common vocabulary (all Zipf-distributed)."""
    rng = np.random.default_rng(data_seed)
    used: set[str] = set()
    common = np.array(_words(rng, n_common, used))
    topics = np.array([_words(rng, n_topic, used) for _ in range(4)])

    def split(n):
        labels = rng.integers(0, 4, n)
        lengths = rng.integers(15, 46, n)
        total = int(lengths.sum())
        lab = np.repeat(labels, lengths)
        u = rng.random(total)
        ic, it = rng.choice(n_common, total, p=_zipf(n_common)), rng.choice(n_topic, total, p=_zipf(n_topic))
        other = (lab + rng.integers(1, 4, total)) % 4
        words = np.where(u < p_topic, topics[lab, it], np.where(u < p_topic + p_other, topics[other, it], common[ic]))
        ends = np.cumsum(lengths)
        return [(int(y) + 1, " ".join(words[e - m:e])) for y, m, e in zip(labels, lengths, ends, strict=True)]

    return split(n_train), split(n_test)


class Vocab:
    """torchtext's ``build_vocab_from_iterator(..., specials=["<unk>"])`` with ``set_default_index(vocab["<unk>"])``:
    the specials first, then the tokens by descending frequency (ties in first-seen order)."""

    def __init__(self, token_lists):
        counts: dict[str, int] = {}
        for toks in token_lists:
            for t in toks:
                counts[t] = counts.get(t, 0) + 1
        itos = ["<unk>"] + sorted(counts, key=lambda t: -counts[t])
        self.stoi = {t: i for i, t in enumerate(itos)}

    def __len__(self):
        return len(self.stoi)

    def __call__(self, tokens):
        return [self.stoi.get(t, 0) for t in tokens]


def tokenizer(text):
    return text.split()


# the tutorial's model -----------------------------------------------------------------------------------------

class TextClassificationModel(nn.Module):
    def __init__(self, vocab_size, embed_dim, num_class, initrange=0.5):
        super(TextClassificationModel, self).__init__()  # noqa: UP008 (upstream's spelling)
        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, sparse=False)
        self.fc = nn.Linear(embed_dim, num_class)
        self.initrange = initrange
        self.init_weights()

    def init_weights(self):
        initrange = self.initrange  # upstream: initrange = 0.5 (the init_range variant changes it)
        self.embedding.weight.data.uniform_(-initrange, initrange)
        self.fc.weight.data.uniform_(-initrange, initrange)
        self.fc.bias.data.zero_()

    def forward(self, text, offsets):
        embedded = self.embedding(text, offsets)
        return self.fc(embedded)


def train(seed: int = 1, lr_mult: float = 1.0, clip: float | None = 0.1, initrange: float = 0.5,
          zero_offsets: bool = False, shift_labels: bool = False, sched_every_step: bool = False, epochs: int = 10,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    train_data, test_data = synthetic_news()
    vocab = Vocab(tokenizer(text) for _, text in train_data)

    def text_pipeline(x):
        return vocab(tokenizer(x))

    def label_pipeline(x):
        return int(x) if shift_labels else int(x) - 1  # the bug: the tutorial's "- 1" forgotten

    def collate_batch(batch):
        label_list, text_list, offsets = [], [], [0]
        for _label, _text in batch:
            label_list.append(label_pipeline(_label))
            processed_text = torch.tensor(text_pipeline(_text), dtype=torch.int64)
            text_list.append(processed_text)
            offsets.append(processed_text.size(0))
        label_list = torch.tensor(label_list, dtype=torch.int64)
        offsets = torch.tensor(offsets[:-1]).cumsum(dim=0)
        if zero_offsets:  # the bug: offsets not cumsum'd lengths but all zeros
            offsets = torch.zeros_like(offsets)
        text_list = torch.cat(text_list)
        return label_list, text_list, offsets

    num_class = len({label for (label, text) in train_data}) + (1 if shift_labels else 0)
    vocab_size = len(vocab)
    emsize = 64
    model = TextClassificationModel(vocab_size, emsize, num_class, initrange=initrange)

    EPOCHS = epochs  # noqa: N806
    LR = 5 * lr_mult  # noqa: N806
    BATCH_SIZE = 64  # noqa: N806
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.1)
    monitor = gradmedic.watch(model, optimizer, every=every)
    total_accu = None
    g = torch.Generator()
    g.manual_seed(seed)
    num_train = int(len(train_data) * 0.95)
    split_train_, split_valid_ = random_split(train_data, [num_train, len(train_data) - num_train], generator=g)
    train_dataloader = DataLoader(split_train_, batch_size=BATCH_SIZE, shuffle=True, collate_fn=collate_batch,
                                  generator=g)
    valid_dataloader = DataLoader(split_valid_, batch_size=BATCH_SIZE, shuffle=True, collate_fn=collate_batch,
                                  generator=g)
    test_dataloader = DataLoader(test_data, batch_size=BATCH_SIZE, shuffle=True, collate_fn=collate_batch,
                                 generator=g)

    def evaluate(dataloader):
        model.eval()
        total_acc, total_count, loss_sum = 0, 0, 0.0
        with torch.no_grad():
            for label, text, offsets in dataloader:
                predicted_label = model(text, offsets)
                loss = criterion(predicted_label, label)
                loss_sum += loss.item() * label.size(0)
                total_acc += (predicted_label.argmax(1) == label).sum().item()
                total_count += label.size(0)
        return total_acc / total_count, loss_sum / total_count

    losses, valid_accs, lrs = [], [], []
    t0 = time.time()
    for epoch in range(1, EPOCHS + 1):
        model.train()
        for label, text, offsets in train_dataloader:
            optimizer.zero_grad()
            predicted_label = model(text, offsets)
            loss = criterion(predicted_label, label)
            loss.backward()
            monitor.step(loss)  # gradmedic
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            if sched_every_step:  # the bug: the epoch scheduler stepped every batch
                scheduler.step()
            losses.append(loss.item())
        accu_val, _ = evaluate(valid_dataloader)
        valid_accs.append(accu_val)
        lrs.append(optimizer.param_groups[0]["lr"])
        if not sched_every_step:
            if total_accu is not None and total_accu > accu_val:
                scheduler.step()
            else:
                total_accu = accu_val
        if verbose:
            print(f"epoch {epoch} train loss {np.mean(losses[-20:]):.4f} valid accuracy {accu_val:.4f} "
                  f"lr {lrs[-1]:.3g} ({time.time() - t0:.1f}s)", flush=True)
    accu_test, test_loss = evaluate(test_dataloader)
    monitor.close()
    if verbose:
        print(f"test accuracy {accu_test:.4f} test loss {test_loss:.4f}")
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(accu_test), "chance": 0.25, "initial": None,
            "initial_what": "chance accuracy 0.25 (4 balanced classes)",
            "extra": {"test_loss": float(test_loss), "train_loss": float(np.mean(losses[-20:])), "steps": len(losses),
                      "lr": LR, "valid_acc": [float(a) for a in valid_accs], "lr_per_epoch": lrs,
                      "vocab_size": vocab_size, "num_class": num_class},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="pttextcls", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"pttextcls_healthy_s{s}", "healthy", s, {}, "unchanged (EmbeddingBag(vocab, 64) -> Linear(64, 4), "
           "uniform(-0.5, 0.5) init, CrossEntropyLoss, SGD lr 5, StepLR(1.0, gamma=0.1) on a valid-accuracy drop, "
           "clip_grad_norm_ 0.1, batch 64, 10 epochs)", False) for s in (1, 2, 3)]
    + [_case(f"pttextcls_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"SGD lr x{k} ({5 * k:g}), clip 0.1 kept")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("pttextcls_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "SGD lr /1000 (0.005)")]
    + [_case("pttextcls_no_clip_lr_x10_s1", "no_clipping", 1, {"lr_mult": 10, "clip": None},
             "clip_grad_norm_(0.1) removed, at SGD lr x10 (50)")]
    + [_case("pttextcls_init_range50_s1", "init_large", 1, {"initrange": 50.0},
             "init_weights with initrange 50: uniform(-50, 50) on the EmbeddingBag and Linear weights")]
    + [_case("pttextcls_zero_offsets_s1", "wrong_loss", 1, {"zero_offsets": True},
             "collate_batch's offsets all zeros instead of the cumsum of the lengths: every bag but the last is "
             "empty (EmbeddingBag's mean gives zeros) and the last bag is the whole batch's text")]
    + [_case("pttextcls_shift_labels_s1", "wrong_loss", 1, {"shift_labels": True},
             "label_pipeline without the '- 1' (labels 1..4), with num_class 5 so that it runs")]
    + [_case("pttextcls_sched_every_step_s1", "lr_low", 1, {"sched_every_step": True},
             "scheduler.step() (StepLR step_size 1, gamma 0.1) after every optimizer.step() instead of once per epoch "
             "on a valid-accuracy drop: the lr falls 10x a batch")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = None if v == "None" else (v == "True" if v in ("True", "False") else float(v))
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
