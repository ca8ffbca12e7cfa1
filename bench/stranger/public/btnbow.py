"""bentrevett/pytorch-sentiment-analysis, notebook "1 - Neural Bag of Words": the NBoW sentiment classifier
(embedding, mean over the tokens, one Linear; Adam, CrossEntropyLoss), on a synthetic sentiment corpus, watched by
gradmedic.

Adapted from https://github.com/bentrevett/pytorch-sentiment-analysis (commit
329f654b2cfaed22fee432569ebd7a2674584f79, "1 - Neural Bag of Words.ipynb"; MIT License, Copyright (c) 2017 Ben
Trevett, see LICENSE-btnbow).

Kept as in the notebook: ``max_length = 256`` (tokens truncated); a 25% validation split of the training set;
the vocabulary as ``build_vocab_from_iterator`` builds it (``min_freq = 5``, specials ``["<unk>", "<pad>"]`` first,
then the tokens by descending frequency, ``<unk>`` the default index); ``numericalize_example``; the
``collate_fn`` (``pad_sequence(..., padding_value=pad_index, batch_first=True)``); ``batch_size = 512`` (training
loader shuffled); the ``NBoW`` class as written (``nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_index)``,
``embedded.mean(dim=1)`` - the padding included in the mean, as upstream -, ``nn.Linear(embedding_dim,
output_dim)``); ``embedding_dim = 300``, ``output_dim = 2``; ``optim.Adam(model.parameters())`` (lr 1e-3);
``nn.CrossEntropyLoss()``; the ``train`` / ``evaluate`` / ``get_accuracy`` functions and their order
(forward, loss, accuracy, ``zero_grad``, ``backward``, ``step``); ``n_epochs = 10``; after each epoch the
validation pass, the state dict kept when the validation loss is the best so far; at the end the best state
loaded and evaluated on the test set.

Changed to run offline on one CPU thread: IMDb (``datasets.load_dataset("imdb")``) cannot be downloaded, so the module
writes its own corpus (``make_corpus``): short "reviews" of 4-12 neutral film words (plot, acting, the cinema, filler)
with 3, 5 or 7 sentiment phrases each ("the plot was very dull", "i found it charming"), drawn from lists of 24
positive and 24 negative words (with intensifiers), 4% of the phrases negated ("not good", "never boring"), plus rare
made-up names (below ``min_freq``, so ``<unk>`` occurs); the label is 1 when the phrases' polarity (negation flips it)
sums above 0.  The negation rate was first a quarter of the phrases: a bag of words cannot undo a negation, and the
healthy run stopped at 0.70 test accuracy (the corpus' ceiling for a bag of words); at 4% it is about 0.93.  20000
training reviews (15000 train / 5000 validation after the 25% split) and 4000 test reviews, about 15-60 tokens each,
from a fixed generator (the same corpus for every seed; the validation split is drawn with the seed, as
``train_test_split`` is unseeded upstream).  torchtext's ``basic_english`` tokenizer (torchtext is not used here) is
replaced by lower-casing, spaces around ``. , !`` and a plain ``split()``.  The GloVe vectors
(``torchtext.vocab.GloVe()``, an 800 MB download) cannot be loaded: the embedding keeps nn.Embedding's default N(0, 1)
init (the pad row zero).  The checkpoint is kept in memory (``copy.deepcopy`` of the state dict) instead of
``nbow.pt``; no tqdm, no plots; ``torch.manual_seed(seed)`` (upstream 1234).  Nothing shrunk: 30 steps an epoch, 300
in all (the notebook's IMDb run is 37 an epoch); 7-15 s a run here.  (A port of the same repository's CNN notebook on
this corpus was tried and dropped: at a CPU-affordable size it reached only 0.59-0.67 test accuracy in 10 epochs.)

The metric is the notebook's: test accuracy of the best-validation checkpoint (``value``); ``initial`` the
untrained model's test accuracy, ``chance`` 0.5; the per-epoch train/valid losses and accuracies and the last
epoch's test accuracy go to ``extra``.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after
``optim.Adam(...)``; ``monitor.step(loss)`` inside ``train()`` right after ``loss.backward()``, before
``optimizer.step()``; ``monitor.close()`` after the epoch loop.

``CASES`` (name prefix btnbow): the notebook on seeds 1-3, and one change each against the same seed's healthy
run: Adam lr x2 (no-harm check), x10, x100 (seeds 1-2), x1000, /1000 (seeds 1-2); ``optim.SGD(model.parameters(),
lr=1e-3)`` instead of Adam (the default-lr-swap people report; cause lr_low); the Linear's weight normal std 1.0
(seeds 1-2); all parameters zero (embedding and Linear; cause symmetric_init); only the embedding zero (Linear at
its default); ``optimizer.zero_grad()`` left out (seeds 1-2); ``softmax`` applied to the predictions before
``CrossEntropyLoss`` (seeds 1-2); ``nn.NLLLoss()`` on the raw predictions (log_softmax missing).  Labels come
from run.py's outcome rules only.

Recorded (cases-public36, 21 cases, 202 s in all): healthy test accuracy 0.930, 0.930, 0.931 on seeds 1-3 (from
0.49, 0.52, 0.53 untrained; the valid accuracy still rising at epoch 10).  9 healthy, 6 broken, 6 ambiguous:
healthy - the three programs, lr x2 (0.932), lr x10 on seeds 1 and 2 (0.932 both), the zero embedding (0.932),
softmax before CrossEntropyLoss on seeds 1 and 2 (0.928 both: the argmax is unchanged and the run still
learns); broken - lr /1000 (0.490, 0.526), SGD at lr 1e-3 (0.502), every parameter zero (0.510: no gradient reaches
the embedding or fc.weight), no zero_grad on seed 2 (0.783), NLLLoss on the raw predictions (0.493);
ambiguous - lr x100 (0.930, 0.932) and x1000 (0.932), good final accuracy from the best-validation checkpoint but
losses on the way above 2x the control's largest, fc.weight std 1.0 (0.911, 0.910: 2 points below), no zero_grad
on seed 1 (0.862).
"""

from __future__ import annotations

import collections
import copy
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

import gradmedic

ARCH = "linear"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optim.Adam; monitor.step(loss) in train() right after "
              "loss.backward() (CrossEntropyLoss on a batch of 512 reviews), before optimizer.step()")

# --- the synthetic corpus (not upstream: IMDb cannot be downloaded) ----------------------------------------------

POS = ("good great excellent wonderful brilliant superb enjoyable delightful moving beautiful fun charming "
       "clever gripping touching stunning memorable impressive hilarious masterful engaging fantastic solid "
       "heartfelt refreshing").split()
NEG = ("bad terrible awful boring dull poor weak horrible tedious predictable clumsy forgettable annoying "
       "painful bland lifeless mediocre messy pointless shallow dreadful lazy cheap stupid").split()
INTENS = "very really quite truly so rather incredibly".split()
NEGATORS = ("not", "never", "hardly", "not at all")
NEUTRAL = ("the a an this that film movie story plot director actor actress cast script scene scenes camera music "
           "score ending beginning character characters dialogue screen picture studio drama comedy thriller "
           "sequel runtime minutes hour audience theater cinema performance performances role roles lead "
           "supporting writer editing lighting sound effects budget production set costumes city town family "
           "friend wife husband son daughter war love life night day year years time world house car police "
           "detective killer monster ship team school teacher doctor was is were are has had have it its he she "
           "they we i you in on at of to for with about from by and but or as then when while after before "
           "also just still even again some many most every each one two three first last new old watched saw "
           "seen felt thought found seemed looked played plays made makes tried tries shows showed").split()
PHRASE_FRAMES = ("the {n} was {a}", "a {a} {n}", "{a}", "it was {a}", "the {n} felt {a}", "{a} from start to finish",
                 "i found it {a}", "the {n} is {a}")
FRAME_NOUNS = "film movie acting plot script ending cast story music direction".split()


def _phrase(rng, polarity, negate):
    word = rng.choice(POS if (polarity > 0) != negate else NEG)
    if rng.random() < 0.3:
        word = rng.choice(INTENS) + " " + word
    if negate:
        word = rng.choice(NEGATORS) + " " + word
    return rng.choice(PHRASE_FRAMES).format(n=rng.choice(FRAME_NOUNS), a=word)


def _review(rng):
    while True:
        k = rng.choice((3, 5, 7))
        eff = [rng.choice((-1, 1)) for _ in range(k)]
        if sum(eff) != 0:
            break
    parts = []
    for e in eff:
        negate = rng.random() < 0.04
        parts.append(_phrase(rng, e, negate))
    n_tokens = rng.randint(4, 12)
    words = []
    while len(words) < n_tokens:
        r = rng.random()
        if r < 0.04:  # a rare made-up name (mostly below min_freq)
            words.append("".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(3)))
        else:
            words.append(rng.choice(NEUTRAL))
    for p in parts:  # the phrases at random places, each followed by a full stop or a comma
        pos = rng.randint(0, len(words))
        words[pos:pos] = p.split() + [rng.choice((".", ",", "!"))]
    text = " ".join(words).capitalize() + "."
    return {"text": text, "label": int(sum(eff) > 0)}


def make_corpus(n_train=20000, n_test=4000, seed=1234):
    rng = random.Random(seed)
    train = [_review(rng) for _ in range(n_train)]
    test = [_review(rng) for _ in range(n_test)]
    return train, test


def tokenizer(text):  # stands in for torchtext's "basic_english": lower case, punctuation split off
    for ch in ".,!":
        text = text.replace(ch, f" {ch} ")
    return text.lower().split()


class Vocab:  # what torchtext.vocab.build_vocab_from_iterator builds (specials first, then by frequency)
    def __init__(self, iterator, min_freq, specials):
        counter = collections.Counter()
        for tokens in iterator:
            counter.update(tokens)
        ordered = sorted(counter.items(), key=lambda x: (-x[1], x[0]))
        self.itos = list(specials) + [t for t, c in ordered if c >= min_freq and t not in specials]
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        self.default_index = None

    def __len__(self):
        return len(self.itos)

    def __getitem__(self, token):
        return self.stoi[token]

    def set_default_index(self, index):
        self.default_index = index

    def lookup_indices(self, tokens):
        return [self.stoi.get(t, self.default_index) for t in tokens]


def prepare_data(seed, max_length=256, min_freq=5, test_size=0.25, n_train=20000, n_test=4000):
    """The notebook's data cells: tokenize, split, vocab, numericalize."""
    train_data, test_data = make_corpus(n_train, n_test)

    def tokenize_example(example, tokenizer, max_length):
        tokens = tokenizer(example["text"])[:max_length]
        return {"tokens": tokens}

    train_data = [dict(e, **tokenize_example(e, tokenizer, max_length)) for e in train_data]
    test_data = [dict(e, **tokenize_example(e, tokenizer, max_length)) for e in test_data]
    perm = np.random.RandomState(seed).permutation(len(train_data))  # train_test_split(test_size=0.25)
    n_valid = int(round(test_size * len(train_data)))
    valid_data = [train_data[i] for i in perm[:n_valid]]
    train_data = [train_data[i] for i in perm[n_valid:]]
    special_tokens = ["<unk>", "<pad>"]
    vocab = Vocab((e["tokens"] for e in train_data), min_freq=min_freq, specials=special_tokens)
    unk_index = vocab["<unk>"]
    pad_index = vocab["<pad>"]
    vocab.set_default_index(unk_index)

    def numericalize_example(example, vocab):
        ids = vocab.lookup_indices(example["tokens"])
        return {"ids": torch.tensor(ids), "label": torch.tensor(example["label"])}

    train_data = [numericalize_example(e, vocab) for e in train_data]
    valid_data = [numericalize_example(e, vocab) for e in valid_data]
    test_data = [numericalize_example(e, vocab) for e in test_data]
    return train_data, valid_data, test_data, vocab, pad_index


def get_collate_fn(pad_index):
    def collate_fn(batch):
        batch_ids = [i["ids"] for i in batch]
        batch_ids = nn.utils.rnn.pad_sequence(
            batch_ids, padding_value=pad_index, batch_first=True
        )
        batch_label = [i["label"] for i in batch]
        batch_label = torch.stack(batch_label)
        batch = {"ids": batch_ids, "label": batch_label}
        return batch

    return collate_fn


def get_data_loader(dataset, batch_size, pad_index, shuffle=False):
    collate_fn = get_collate_fn(pad_index)
    data_loader = torch.utils.data.DataLoader(
        dataset=dataset,
        batch_size=batch_size,
        collate_fn=collate_fn,
        shuffle=shuffle,
    )
    return data_loader


# --- the notebook's model and loop ------------------------------------------------------------------------------

class NBoW(nn.Module):
    def __init__(self, vocab_size, embedding_dim, output_dim, pad_index):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_index)
        self.fc = nn.Linear(embedding_dim, output_dim)

    def forward(self, ids):
        # ids = [batch size, seq len]
        embedded = self.embedding(ids)
        # embedded = [batch size, seq len, embedding dim]
        pooled = embedded.mean(dim=1)
        # pooled = [batch size, embedding dim]
        prediction = self.fc(pooled)
        # prediction = [batch size, output dim]
        return prediction


def get_accuracy(prediction, label):
    batch_size, _ = prediction.shape
    predicted_classes = prediction.argmax(dim=-1)
    correct_predictions = predicted_classes.eq(label).sum()
    accuracy = correct_predictions / batch_size
    return accuracy


class LossWrap:
    """The wrong-loss variants: ``softmax`` before CrossEntropyLoss, or NLLLoss on the raw predictions."""

    def __init__(self, kind):
        self.kind = kind
        self.ce, self.nll = nn.CrossEntropyLoss(), nn.NLLLoss()

    def __call__(self, prediction, label):
        if self.kind == "softmax_ce":
            return self.ce(torch.softmax(prediction, dim=-1), label)
        if self.kind == "nll_raw":
            return self.nll(prediction, label)
        return self.ce(prediction, label)


def run_notebook(model, optimizer, criterion, train_data_loader, valid_data_loader, test_data_loader, n_epochs,
                 zero_grad=True, every=10, verbose=False):
    """The notebook's train/evaluate functions and its epoch loop (shared by the CNN port, btcnn)."""
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    step_losses = []

    def train(data_loader, model, criterion, optimizer):
        model.train()
        epoch_losses = []
        epoch_accs = []
        for batch in data_loader:
            ids = batch["ids"]
            label = batch["label"]
            prediction = model(ids)
            loss = criterion(prediction, label)
            accuracy = get_accuracy(prediction, label)
            if zero_grad:
                optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            epoch_losses.append(loss.item())
            epoch_accs.append(accuracy.item())
            step_losses.append(loss.item())
        return np.mean(epoch_losses), np.mean(epoch_accs)

    def evaluate(data_loader, model, criterion):
        model.eval()
        epoch_losses = []
        epoch_accs = []
        with torch.no_grad():
            for batch in data_loader:
                ids = batch["ids"]
                label = batch["label"]
                prediction = model(ids)
                loss = criterion(prediction, label)
                accuracy = get_accuracy(prediction, label)
                epoch_losses.append(loss.item())
                epoch_accs.append(accuracy.item())
        return np.mean(epoch_losses), np.mean(epoch_accs)

    initial_test_loss, initial_test_acc = evaluate(test_data_loader, model, criterion)
    best_valid_loss = float("inf")
    best_state = copy.deepcopy(model.state_dict())
    metrics = collections.defaultdict(list)
    for epoch in range(n_epochs):
        train_loss, train_acc = train(train_data_loader, model, criterion, optimizer)
        valid_loss, valid_acc = evaluate(valid_data_loader, model, criterion)
        metrics["train_losses"].append(float(train_loss))
        metrics["train_accs"].append(float(train_acc))
        metrics["valid_losses"].append(float(valid_loss))
        metrics["valid_accs"].append(float(valid_acc))
        if valid_loss < best_valid_loss:
            best_valid_loss = valid_loss
            best_state = copy.deepcopy(model.state_dict())  # torch.save(model.state_dict(), "nbow.pt")
        if verbose:
            print(f"epoch: {epoch}")
            print(f"train_loss: {train_loss:.3f}, train_acc: {train_acc:.3f}")
            print(f"valid_loss: {valid_loss:.3f}, valid_acc: {valid_acc:.3f}", flush=True)
    monitor.close()
    last_test_loss, last_test_acc = evaluate(test_data_loader, model, criterion)
    model.load_state_dict(best_state)  # model.load_state_dict(torch.load("nbow.pt"))
    test_loss, test_acc = evaluate(test_data_loader, model, criterion)
    if verbose:
        print(f"test_loss: {test_loss:.3f}, test_acc: {test_acc:.3f} (last epoch's model: {last_test_acc:.3f})")
    return monitor, dict(test_loss=float(test_loss), test_acc=float(test_acc), initial_test_acc=float(initial_test_acc),
                         initial_test_loss=float(initial_test_loss), last_test_acc=float(last_test_acc),
                         best_valid_loss=float(best_valid_loss), metrics=dict(metrics), step_losses=step_losses)


def train(seed: int = 1, lr_mult: float = 1.0, sgd: bool = False, fc_init_std: float | None = None,
          zero_init: str | None = None, zero_grad: bool = True, loss: str = "ce", n_epochs: int = 10,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    train_data, valid_data, test_data, vocab, pad_index = prepare_data(seed)
    batch_size = 512
    train_data_loader = get_data_loader(train_data, batch_size, pad_index, shuffle=True)
    valid_data_loader = get_data_loader(valid_data, batch_size, pad_index)
    test_data_loader = get_data_loader(test_data, batch_size, pad_index)

    vocab_size = len(vocab)
    embedding_dim = 300
    output_dim = 2
    model = NBoW(vocab_size, embedding_dim, output_dim, pad_index)
    with torch.no_grad():  # the variants' inits
        if fc_init_std is not None:
            model.fc.weight.normal_(0.0, fc_init_std)
        if zero_init in ("all", "embedding"):
            model.embedding.weight.zero_()
        if zero_init == "all":
            model.fc.weight.zero_()
            model.fc.bias.zero_()
    lr = 1e-3 * lr_mult
    optimizer = optim.SGD(model.parameters(), lr=lr) if sgd else optim.Adam(model.parameters(), lr=lr)
    criterion = LossWrap(loss)
    monitor, r = run_notebook(model, optimizer, criterion, train_data_loader, valid_data_loader, test_data_loader,
                              n_epochs, zero_grad=zero_grad, every=every, verbose=verbose)
    sl = r.pop("step_losses")
    value = r["test_acc"]
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": value, "initial": r["initial_test_acc"],
            "initial_what": "untrained: the model's test accuracy before training", "chance": 0.5,
            "extra": dict(r, train_loss=float(np.mean(sl[-20:])), initial_train_loss=float(np.mean(sl[:5])),
                          steps=len(sl), lr=lr, optimizer="SGD" if sgd else "Adam", vocab_size=vocab_size,
                          n_train=len(train_data), n_valid=len(valid_data), n_test=len(test_data)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="btnbow", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_W = ("NBoW (Embedding 300 + mean + Linear) on the synthetic sentiment corpus, Adam lr 1e-3, CrossEntropyLoss, "
      "batch 512, 10 epochs, best-validation checkpoint")
CASES: list[dict] = (
    [_case(f"btnbow_healthy_s{s}", "healthy", s, {}, f"{_W}: unchanged", False) for s in (1, 2, 3)]
    + [_case("btnbow_lr_x2_s1", "healthy", 1, {"lr_mult": 2}, f"{_W}: Adam lr x2 (2e-3)")]
    + [_case(f"btnbow_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_W}: Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1, 2)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case(f"btnbow_lr_div1000_s{s}", "lr_low", s, {"lr_mult": 1e-3}, f"{_W}: Adam lr /1000 (1e-6)") for s in (1, 2)]
    + [_case("btnbow_sgd_s1", "lr_low", 1, {"sgd": True},
             f"{_W}: optim.SGD(model.parameters(), lr=1e-3) instead of optim.Adam (Adam's default lr kept)")]
    + [_case(f"btnbow_fc_std1_s{s}", "init_large", s, {"fc_init_std": 1.0},
             f"{_W}: normal_(0, 1.0) on fc.weight (default uniform, bound 1/sqrt(300))") for s in (1, 2)]
    + [_case("btnbow_zero_init_s1", "symmetric_init", 1, {"zero_init": "all"},
             f"{_W}: every parameter zero (embedding, fc.weight, fc.bias)")]
    + [_case("btnbow_zero_embedding_s1", "symmetric_init", 1, {"zero_init": "embedding"},
             f"{_W}: the embedding zero (fc at its default init)")]
    + [_case(f"btnbow_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_W}: optimizer.zero_grad() left out of train(): the gradients accumulate") for s in (1, 2)]
    + [_case(f"btnbow_softmax_ce_s{s}", "wrong_loss", s, {"loss": "softmax_ce"},
             f"{_W}: torch.softmax(prediction, dim=-1) passed to CrossEntropyLoss (training and evaluation)")
       for s in (1, 2)]
    + [_case("btnbow_nll_raw_s1", "wrong_loss", 1, {"loss": "nll_raw"},
             f"{_W}: nn.NLLLoss() on the raw predictions instead of CrossEntropyLoss (log_softmax missing)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k not in ("monitors", "extra")}, r["extra"]["vocab_size"])
