"""Sebastian Raschka's packed LSTM sentiment classifier (deeplearning-models' model zoo) on a synthetic sentiment
corpus, watched by gradmedic.

Adapted from https://github.com/rasbt/deeplearning-models (commit c8702ff1682e6b809ab2c203aa4484e678a5398e,
pytorch_ipynb/rnn/rnn_lstm_packed_imdb.ipynb; MIT License, Copyright (c) 2019 Sebastian Raschka, see
LICENSE-rasbtlstm).  Kept as in the notebook: the ``RNN`` class (copied below: ``nn.Embedding(input_dim,
embedding_dim)``, ``nn.LSTM(embedding_dim, hidden_dim)`` on [sentence len, batch] inputs,
``torch.nn.utils.rnn.pack_padded_sequence(embedded, text_length)`` over the batch's lengths sorted longest
first, ``self.fc(hidden.squeeze(0)).view(-1)`` on the LSTM's last hidden state, ``OUTPUT_DIM = 1``), PyTorch's
default initialization (the notebook sets none), ``torch.manual_seed`` before building the model,
``torch.optim.Adam(lr=LEARNING_RATE)``, ``BATCH_SIZE = 128``, the
loop (``cost = F.binary_cross_entropy_with_logits(logits, batch_data.label)``, ``optimizer.zero_grad()``,
``cost.backward()``, ``optimizer.step()``) and ``compute_binary_accuracy`` (sigmoid > 0.5, in percent).  The
notebook's loss is ``binary_cross_entropy_with_logits`` on one output, not ``F.cross_entropy``: kept as upstream.

Changed to run offline on one CPU thread without torchtext or IMDB: the corpus is synthetic (``make_corpus``):
sentences of 5-40 words, 22% of them sentiment words (16 positive, 16 negative), the rest from 48 neutral
words; each sentence leans to one polarity (85% of its sentiment words carry it) and a fifth of the sentiment
words are written as a negation (not, never, hardly) and the opposite word ("not good" for bad).  The label is
1 when the positive words outnumber the negative ones, a negation flipping the next sentiment word after it
(ties are redrawn), so word order matters.  Tokenized by whitespace; the
vocabulary (``<unk>`` 0, ``<pad>`` 1, then the words by frequency, as torchtext's ``build_vocab``) is built on
the training split; 3072 training and 1024 held-out sentences drawn with the run's seed.  torchtext's
``BucketIterator(sort_within_batch=True)`` becomes random batches of 128 (reshuffled each epoch by a
``torch.Generator`` seeded with the run's seed), padded with ``<pad>`` and sorted longest first within the
batch, as a DataLoader collate function does (the BucketIterator would also group similar lengths: not done,
so a batch holds lengths 5-40, as in a plain DataLoader).  Sizes shrunk so a run takes 10-25 s:
``EMBEDDING_DIM`` 32 (128), ``HIDDEN_DIM`` 64 (256), 8 epochs of 24 batches (192 steps; the notebook runs
15 epochs of 157 batches, 2355 steps).  With 12x fewer steps the notebook's ``LEARNING_RATE = 1e-4`` does not
train (held-out accuracy 0.56 after 288 steps on seed 1, loss 0.694 -> 0.685), so the rate is 2e-3 (20x); the
variants' rates are multiples of it.  The run's seed replaces ``RANDOM_SEED = 123``.

The watch: ``gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is built,
``monitor.step(cost)`` after ``cost.backward()``, before ``optimizer.step()``.

Metric: ``compute_binary_accuracy`` on the held-out sentences after training, as a fraction (chance 0.5; the
untrained model's is ``initial``).

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the same
seed's healthy run: Adam lr x10, x100 (seeds 1 and 2), x1000 and /1000; the LSTM's weights (``weight_ih_l0``,
``weight_hh_l0``) initialised N(0, 5) ("init_large", seeds 1 and 2); and three packing bugs, for which the
benchmark has no cause of their own, so they are filed as "wrong_loss" (the loss is computed on the wrong
thing: a plateau or a slow loss, as the pad-not-ignored case of bts2s): the lengths passed to
``pack_padded_sequence`` all set to the batch's maximum (padding read as words); the texts left in their
random order while the lengths are sorted (the lengths of another order, so ``enforce_sorted`` passes: each
sentence is cut or padded to another one's length); the last hidden state taken as ``output[-1]`` of
``pad_packed_sequence`` instead of the packed ``hidden`` (zeros for every sentence shorter than the batch's
longest).  No input-scaling or clipping variant: the inputs are token ids and the notebook does not clip.
Labels come from run.py's outcome rules only.
Recorded (cases-public27, 323 s for the 13 cases, 6-44 s each on two shared cores): healthy held-out accuracy
0.950, 0.947, 0.956 on seeds 1-3 (train loss 0.69 -> 0.08-0.12); lr x10 (0.02) trains better (0.989, labelled
healthy); lr x100 (0.580, 0.664), x1000 (0.501; train loss from 3.8), /1000 (0.518, loss flat at 0.692) and the
N(0, 5) LSTM weights (0.530, 0.514: train loss stuck near 0.69) are broken; of the packing bugs, the
lengths all set to the maximum (0.797), the mismatched lengths (0.829) and output[-1] of the padded output
(0.527, loss 0.676) are all broken.
"""

from __future__ import annotations

import random
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import gradmedic

ARCH = "lstm"
MONITOR_AT = ("monitor.step(cost) after cost.backward() (binary_cross_entropy_with_logits on the one-unit logits), "
              "before optimizer.step()")

POSITIVE = ("good great excellent wonderful superb brilliant lovely delightful enjoyable charming fantastic "
            "amazing moving touching perfect fun").split()
NEGATIVE = ("bad awful terrible boring dull poor weak horrible lame tedious messy bland clumsy painful "
            "stupid ugly").split()
NEUTRAL = ("the a an movie film plot actor actress scene story it this that was is and but with of to in on "
           "for director script music camera ending start cast role screen night day people time really quite "
           "very some there here then also just so as").split()
NEGATION = ("not never hardly").split()


def _sentence(rng: random.Random) -> tuple[list[str], int] | None:
    n = rng.randint(5, 40)
    y = rng.random() < 0.5  # the polarity the sentence leans to: 85% of its sentiment words carry it
    words, score = [], 0
    for _ in range(n):
        u = rng.random()
        if u < 0.22:
            pos = (rng.random() < 0.85) == y  # the word's meaning in context
            if rng.random() < 0.2:  # said with a negation before it: "not good" means bad
                words.append(rng.choice(NEGATION))
                words.append(rng.choice(NEGATIVE if pos else POSITIVE))
            else:
                words.append(rng.choice(POSITIVE if pos else NEGATIVE))
            score += 1 if pos else -1
        else:
            words.append(rng.choice(NEUTRAL))
    words = words[:n]
    score = _score(words)
    if score == 0:
        return None
    return words, int(score > 0)


def _score(words: list[str]) -> int:
    """Positive minus negative words, a negation flipping the next sentiment word after it."""
    score, flip = 0, False
    for w in words:
        if w in NEGATION:
            flip = True
        elif w in POSITIVE or w in NEGATIVE:
            s = 1 if w in POSITIVE else -1
            score += -s if flip else s
            flip = False
    return score


def make_corpus(seed: int, n: int) -> list[tuple[list[str], int]]:
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        s = _sentence(rng)
        if s is not None:
            out.append(s)
    return out


def build_vocab(corpus) -> dict[str, int]:
    counts: dict[str, int] = {}
    for words, _ in corpus:
        for w in words:
            counts[w] = counts.get(w, 0) + 1
    stoi = {"<unk>": 0, "<pad>": 1}
    for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        stoi[w] = len(stoi)
    return stoi


def make_batch(items, stoi, sort: str = "sorted"):
    """Pad a list of (words, label) to [sentence len, batch] with <pad> (1); sort longest first (sort_within_batch).

    sort="mismatched": the bug: the texts stay in their order, the lengths are sorted (another order's lengths)."""
    ids = [torch.tensor([stoi.get(w, 0) for w in words]) for words, _ in items]
    labels = torch.tensor([float(y) for _, y in items])
    lengths = torch.tensor([len(t) for t in ids])
    order = torch.argsort(lengths, descending=True, stable=True)
    text = nn.utils.rnn.pad_sequence(ids, padding_value=1)  # [sentence len, batch]
    if sort == "mismatched":
        return text, lengths[order], labels
    return text[:, order], lengths[order], labels[order]


##########################
### MODEL
##########################


class RNN(nn.Module):
    def __init__(self, input_dim, embedding_dim, hidden_dim, output_dim, last_from_output=False):

        super().__init__()

        self.embedding = nn.Embedding(input_dim, embedding_dim)
        self.rnn = nn.LSTM(embedding_dim, hidden_dim)
        self.fc = nn.Linear(hidden_dim, output_dim)
        self.last_from_output = last_from_output  # the bug: output[-1] of the padded output instead of hidden

    def forward(self, text, text_length):

        #[sentence len, batch size] => [sentence len, batch size, embedding size]
        embedded = self.embedding(text)

        packed = torch.nn.utils.rnn.pack_padded_sequence(embedded, text_length)

        #[sentence len, batch size, embedding size] =>
        #  output: [sentence len, batch size, hidden size]
        #  hidden: [1, batch size, hidden size]
        packed_output, (hidden, cell) = self.rnn(packed)

        if self.last_from_output:
            output, _ = torch.nn.utils.rnn.pad_packed_sequence(packed_output)
            return self.fc(output[-1]).view(-1)
        return self.fc(hidden.squeeze(0)).view(-1)


def compute_binary_accuracy(model, data_loader, device):
    model.eval()
    correct_pred, num_examples = 0, 0
    with torch.no_grad():
        for batch_idx, batch_data in enumerate(data_loader):  # noqa: B007 (as in the notebook)
            text, text_lengths, label = batch_data
            logits = model(text, text_lengths)
            predicted_labels = (torch.sigmoid(logits) > 0.5).long()
            num_examples += label.size(0)
            correct_pred += (predicted_labels == label.long()).sum()
        return correct_pred.float()/num_examples * 100


def train(seed: int = 1, lr_mult: float = 1.0, lstm_init_std: float | None = None, lengths_max: bool = False,
          mismatched_lengths: bool = False, last_from_output: bool = False, num_epochs: int = 8,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    LEARNING_RATE = 2e-3 * lr_mult
    BATCH_SIZE = 128
    EMBEDDING_DIM = 32
    HIDDEN_DIM = 64
    OUTPUT_DIM = 1
    DEVICE = torch.device("cpu")

    train_data = make_corpus(1000 + seed, 3072)
    test_data = make_corpus(5000 + seed, 1024)
    stoi = build_vocab(train_data)
    sort = "mismatched" if mismatched_lengths else "sorted"

    def batches(data, shuffle_gen=None):
        idx = list(range(len(data)))
        if shuffle_gen is not None:
            idx = torch.randperm(len(data), generator=shuffle_gen).tolist()
        out = []
        for i in range(0, len(idx), BATCH_SIZE):
            text, lengths, label = make_batch([data[j] for j in idx[i:i + BATCH_SIZE]], stoi, sort)
            if lengths_max:  # the bug: every length set to the padded length
                lengths = torch.full_like(lengths, text.shape[0])
            out.append((text, lengths, label))
        return out

    test_loader = batches(test_data)
    g = torch.Generator()
    g.manual_seed(seed)

    INPUT_DIM = len(stoi)
    torch.manual_seed(seed)
    model = RNN(INPUT_DIM, EMBEDDING_DIM, HIDDEN_DIM, OUTPUT_DIM, last_from_output=last_from_output)
    if lstm_init_std is not None:  # the bug: N(0, std) on the LSTM's weight matrices
        for name, p in model.rnn.named_parameters():
            if name.startswith("weight"):
                nn.init.normal_(p, 0.0, lstm_init_std)
    model = model.to(DEVICE)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    monitor = gradmedic.watch(model, optimizer, every=every)
    initial = float(compute_binary_accuracy(model, test_loader, DEVICE)) / 100
    losses = []

    start_time = time.time()
    for epoch in range(num_epochs):
        model.train()
        for batch_idx, batch_data in enumerate(batches(train_data, g)):  # noqa: B007 (as in the notebook)

            text, text_lengths, label = batch_data

            ### FORWARD AND BACK PROP
            logits = model(text, text_lengths)
            cost = F.binary_cross_entropy_with_logits(logits, label)
            optimizer.zero_grad()

            cost.backward()
            monitor.step(cost)  # gradmedic

            ### UPDATE MODEL PARAMETERS
            optimizer.step()
            losses.append(cost.item())
        if verbose and (epoch % 3 == 2 or epoch == 0):
            print(f"Epoch: {epoch + 1:03d}/{num_epochs:03d} | Cost: {np.mean(losses[-24:]):.4f} | valid acc "
                  f"{compute_binary_accuracy(model, test_loader, DEVICE):.2f}% ({time.time() - start_time:.1f}s)",
                  flush=True)
    monitor.close()

    acc = float(compute_binary_accuracy(model, test_loader, DEVICE)) / 100
    train_loss = float(np.mean(losses[-20:]))
    if verbose:
        print(f"held-out accuracy {acc:.4f} (untrained {initial:.4f}); train loss {train_loss:.4f}")
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc,
            "chance": 0.5, "initial": initial,
            "initial_what": "the untrained model's held-out accuracy",
            "extra": {"train_loss": train_loss, "train_loss_first5": float(np.mean(losses[:5])),
                      "steps": len(losses), "lr": LEARNING_RATE, "vocab": INPUT_DIM,
                      "held_out_positive": float(np.mean([y for _, y in test_data]))},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="rasbtlstm", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


CASES: list[dict] = (
    [_case(f"rasbtlstm_healthy_s{s}", "healthy", s, {}, "unchanged (packed LSTM, Adam lr 2e-3, BCE with logits, "
           "batch 128 sorted within, 8 epochs)", False) for s in (1, 2, 3)]
    + [_case(f"rasbtlstm_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({2e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("rasbtlstm_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (2e-06)")]
    + [_case(f"rasbtlstm_lstm_init_std5_s{s}", "init_large", s, {"lstm_init_std": 5.0},
             "nn.init.normal_(std=5.0) on the LSTM's weight_ih_l0 and weight_hh_l0 instead of the default "
             "uniform +-1/sqrt(hidden_dim); biases kept") for s in (1, 2)]
    + [_case("rasbtlstm_lengths_max_s1", "wrong_loss", 1, {"lengths_max": True},
             "the lengths passed to pack_padded_sequence all set to the batch's padded length: the <pad> tokens "
             "after each sentence are read as words and the last hidden state comes after them")]
    + [_case("rasbtlstm_lengths_mismatched_s1", "wrong_loss", 1, {"mismatched_lengths": True},
             "the lengths sorted longest first but the texts left in their order (another order's lengths, so "
             "enforce_sorted passes): each sentence is cut, or read into its padding, at another one's length")]
    + [_case("rasbtlstm_last_from_output_s1", "wrong_loss", 1, {"last_from_output": True},
             "the classifier fed output[-1] of pad_packed_sequence(packed_output) instead of the packed hidden "
             "state: zeros for every sentence shorter than the batch's longest")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = {"lengths_max": lambda s: s == "1", "mismatched_lengths": lambda s: s == "1",
                 "last_from_output": lambda s: s == "1"}.get(k, float)(v)
        if k in ("seed", "num_epochs"):
            kw[k] = int(kw[k])
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
