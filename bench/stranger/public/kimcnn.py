"""Kim's CNN for sentence classification (Shawn1993/cnn-text-classification-pytorch), watched by gradmedic.

Adapted from https://github.com/Shawn1993/cnn-text-classification-pytorch (commit
93415f08168a1ae60635320569f6eca0ae3a40bb; ``model.py``, ``train.py``, ``main.py`` and ``mydatasets.py``; Apache
License 2.0, see LICENSE-kimcnn).  Kept as in the original: ``CNN_Text`` (copied below: ``nn.Embedding(V, 128,
padding_idx=0)`` initialized U(-0.25, 0.25) with the padding row zeroed, one ``nn.Conv2d(1, 100, (K, 128))`` for each
of the kernel sizes 3, 4, 5, ReLU, max-over-time pooling by ``F.max_pool1d``, ``nn.Dropout(0.5)``, ``nn.Linear(300,
2)``), main.py's defaults (lr 0.001, batch size 64, dropout 0.5, max_norm 3.0, embed_dim 128, kernel_num 100,
kernel_sizes "3,4,5", non-static embeddings, Adam), train.py's loop (``optimizer.zero_grad()``, ``logit =
model(feature)``, ``F.cross_entropy(logit, target)``, ``loss.backward()``, ``optimizer.step()``, then Kim's L2
constraint that rescales each row of ``fc1.weight`` to norm at most max_norm; no gradient clipping upstream) and its
``eval`` (accuracy on the dev set in one batch), and the data pipeline of mydatasets.py (``clean_str``, lower-case,
split; ``Vocab`` built from all examples by frequency with ``<pad>`` = 0 and ``<unk>`` = 1; the label vocabulary
without specials; ``random.shuffle`` of the examples and the last 10% as the dev set; ``collate_fn`` padding each
batch to its longest sentence, at least 5; ``DataLoader(train_dataset, batch_size=64, shuffle=True)`` as main.py).

Changed to run offline on one CPU thread in ~15-25 s: the data.  MR (rt-polarity, 10662 movie-review sentences) is a
download; ``sentiment_corpus`` generates a sentiment-like corpus instead, as raw text that goes through upstream's
pipeline: a vocabulary of 2000 made-up words (pronounceable syllable strings) of which 40 are positive and 40 negative
(polarity strength 1 or 2), the rest neutral, with Zipf-like frequencies; sentences of 5-15 tokens carrying 1-2 polar
words (never adjacent), each preceded with probability 0.25 by a negator ("not", "never", "hardly", "isn't") that
flips it ("isn't" becomes "is n't" under ``clean_str``, as in MR), now and then a comma, and a final "." or "!"; the
label is the sign of the summed polarity (sentences summing to zero are drawn again), and 3% of the labels are
flipped at random (noise); the same 12000 sentences for every run (upstream's split gives 10800 for training, 1200
dev; the run's seed decides the shuffle and so the split).  A first try with 150 + 150 polar words, 5-30 tokens, 1-3
polar words, negation 0.35 and 3600 sentences left the healthy CNN at 0.59 after 6 epochs (it memorized the training
set) and took ~48 s, so the corpus was made easier and larger.  A bag-of-words baseline (scikit-learn's
LogisticRegression on word counts of the same split, liblinear, C=1; computed in ``train`` and kept in ``extra``)
reaches 0.650-0.662 on the dev set, since it cannot see negation; the CNN's kernels can.  EPOCHS = 2 epochs (338
steps; upstream: 256 epochs with early stopping after 1000 steps without a better dev accuracy; early stopping, the
every-100-step dev evaluation, the snapshots and the per-step prints are dropped); the metric is the dev accuracy
after the last epoch (a fraction, not upstream's percent); ``random.seed``/``torch.manual_seed`` take the run's seed
(upstream seeds nothing).  run.py's good outcome for "accuracy" is >= 0.9, which the healthy program reaches (the
label noise caps it at ~0.97), ~0.29 above the bag-of-words baseline.  Architecture, widths and every upstream
hyperparameter are unchanged.

Knobs (one per variant): ``lr_mult`` scales Adam's lr; ``init_std`` draws every Conv2d and Linear weight from N(0,
init_std) instead of PyTorch's default (biases kept); ``embed_std`` draws the embedding from N(0, embed_std) instead
of Kim's U(-0.25, 0.25) (padding row still zeroed); ``zero_grad=False`` leaves ``optimizer.zero_grad()`` out;
``softmax=True`` returns ``F.softmax(logit, dim=1)`` from ``forward`` (probabilities fed to F.cross_entropy, which
applies log_softmax again); ``batch_size`` and ``dropout`` replace main.py's 64 and 0.5.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()`` and the max-norm rescaling;
``monitor.close()`` after the loop.

``CASES`` (program "kimcnn"): the program on seeds 1-3, and one change each against the same seed's healthy run:
lr x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) conv and linear weights (seeds 1 and 2); the embedding N(0, 10);
``optimizer.zero_grad()`` left out (seeds 1 and 2); softmax before F.cross_entropy (seeds 1 and 2); and two changes
expected harmless: batch size 32 and dropout 0.2 (cause "healthy").
Recorded (cases-public160; 13-22 s a run on the shared 2-core machine, load average ~5; the watch adds ~4 s):
healthy dev accuracy 0.9475, 0.9542, 0.9492 on seeds 1-3 (first-5 training loss 0.69-0.70, largest 0.71-0.75, the
last 20 steps 0.17-0.24, training accuracy 0.94-0.96; bag-of-words baseline 0.652, 0.650, 0.662); lr x10 (0.01):
0.9325 (largest loss 0.82): healthy; lr x100 (0.1): first-5 loss 12.3/12.6, largest 64/47, 0.4875 (seed 1) and
0.4992 (seed 2): broken; lr x1000 (1.0): first-5 loss 1386, largest 2662, final training loss 95, 0.5092: broken;
lr /1000 (1e-6): loss 0.69 -> 0.695, 0.5117: broken; N(0, 1) conv and linear weights: first-5 loss 15.4/25.4,
largest 39/84, final 4.0/4.4, 0.6225 (seed 1) and 0.5908 (seed 2): broken; embedding N(0, 10): first-5 loss 4.5,
largest 6.1, 0.6175: broken; optimizer.zero_grad() left out: the loss rises to 3.3/2.2, 0.7200 (seed 1) and 0.6275
(seed 2): broken; softmax before F.cross_entropy: training loss 0.36-0.39 (its floor is above 0.31, the
cross-entropy of a one-hot probability), 0.9508 (seed 1) and 0.9500 (seed 2): healthy (with two classes and Adam's
scale-free steps the squeezed gradient did no harm in this budget); batch size 32: 0.9533: healthy; dropout 0.2:
0.9492: healthy.  Labels: 8 healthy (3 programs, lr x10, softmax twice, batch 32, dropout 0.2), 9 broken, 0
ambiguous.  Every run's losses were finite.
"""

from __future__ import annotations

import math
import random
import re
import time
from collections import Counter

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = torch.optim.Adam(model.parameters(), lr=0.001); "
              "monitor.step(loss) right after loss.backward() (F.cross_entropy over a batch of 64), before "
              "optimizer.step() and Kim's max-norm rescaling of fc1.weight (upstream does not clip gradients)")
EPOCHS = 2  # upstream: 256 with early stopping
N_SENTENCES = 12000


# ---------------------------------------------------------------------------------------------------------------
# data: a generated sentiment corpus (upstream: MR, a download), then upstream's mydatasets.py pipeline
# ---------------------------------------------------------------------------------------------------------------

def _words(n, rng):
    on, nu = "bcdfghjklmnprstvwz", "aeiou"
    out, seen = [], {"not", "never", "hardly", "isn", "is"}
    while len(out) < n:
        w = "".join(rng.choice(on) + rng.choice(nu) for _ in range(rng.choice((2, 2, 3)))) + rng.choice(("", "n", "s", "t"))
        if w not in seen:
            seen.add(w)
            out.append(w)
    return out


def sentiment_corpus(n=N_SENTENCES, vocab=2000, n_polar=40, negate_p=0.25, noise=0.03, min_len=5, max_len=15,
                     max_polar=2, data_seed=0):
    """Raw sentences and their labels ("positive"/"negative"); the same corpus for every run (data_seed)."""
    rng = random.Random(data_seed)
    words = _words(vocab, rng)
    pos, neg, neutral = words[:n_polar], words[n_polar:2 * n_polar], words[2 * n_polar:]
    strength = {w: rng.choice((1, 2)) for w in pos + neg}
    zipf = [1.0 / (i + 1) ** 0.8 for i in range(len(neutral))]
    negators = ("not", "never", "hardly", "isn't")
    examples = []
    while len(examples) < n:
        length = rng.randint(min_len, max_len)
        n_pol = rng.randint(1, max_polar)
        toks = rng.choices(neutral, weights=zipf, k=length)
        score, slots = 0, [2 * j + 1 for j in sorted(rng.sample(range(length // 2), min(n_pol, length // 2)))]
        for i in slots:
            positive = rng.random() < 0.5
            w = rng.choice(pos if positive else neg)
            s = strength[w] * (1 if positive else -1)
            if rng.random() < negate_p:
                toks[i - 1] = rng.choice(negators)
                s = -s
            toks[i] = w
            score += s
        if score == 0:
            continue
        if rng.random() < 0.15:
            toks.insert(rng.randint(1, len(toks) - 1), ",")
        text = " ".join(toks).replace(" ,", ",") + rng.choice((" .", " .", " !"))
        label = "positive" if score > 0 else "negative"
        if rng.random() < noise:
            label = "negative" if label == "positive" else "positive"
        examples.append((text, label))
    return examples


class Vocab:
    """Simple vocabulary class to replace legacy torchtext Field.vocab."""

    def __init__(self, counter, specials=('<pad>', '<unk>')):
        self.itos = list(specials)
        self.stoi = {s: i for i, s in enumerate(self.itos)}
        # Sort by frequency desc, then alphabetically for deterministic ordering
        for word, _ in sorted(counter.items(), key=lambda x: (-x[1], x[0])):
            if word not in self.stoi:
                self.stoi[word] = len(self.itos)
                self.itos.append(word)

    def __len__(self):
        return len(self.itos)


def clean_str(string):
    """
    Tokenization/string cleaning for all datasets except for SST.
    Original taken from https://github.com/yoonkim/CNN_sentence/blob/master/process_data.py
    """
    string = re.sub(r"[^A-Za-z0-9(),!?\'\`]", " ", string)
    string = re.sub(r"\'s", " \'s", string)
    string = re.sub(r"\'ve", " \'ve", string)
    string = re.sub(r"n\'t", " n\'t", string)
    string = re.sub(r"\'re", " \'re", string)
    string = re.sub(r"\'d", " \'d", string)
    string = re.sub(r"\'ll", " \'ll", string)
    string = re.sub(r",", " , ", string)
    string = re.sub(r"!", " ! ", string)
    string = re.sub(r"\(", " \\( ", string)
    string = re.sub(r"\)", " \\) ", string)
    string = re.sub(r"\?", " \\? ", string)
    string = re.sub(r"\s{2,}", " ", string)
    return string.strip()


class MRDataset(Dataset):
    """Movie Review polarity dataset using standard PyTorch Dataset."""

    def __init__(self, examples, text_vocab, label_vocab):
        self.examples = examples  # list of (text_tokens, label_str)
        self.text_vocab = text_vocab
        self.label_vocab = label_vocab

    def __len__(self):
        return len(self.examples)

    def __getitem__(self, idx):
        tokens, label = self.examples[idx]
        text_ids = [self.text_vocab.stoi.get(t, 1) for t in tokens]  # 1 = <unk>
        text_tensor = torch.tensor(text_ids, dtype=torch.long)
        label_id = self.label_vocab.stoi[label]
        label_tensor = torch.tensor(label_id, dtype=torch.long)
        return text_tensor, label_tensor

    @classmethod
    def splits(cls, dev_ratio=0.1, shuffle=True, root='.'):
        """Create train/dev dataset splits with vocabularies."""
        # upstream: path = cls.download_or_unzip(root), then rt-polarity.neg and rt-polarity.pos read line by line
        examples = []
        for line, lab in sentiment_corpus():
            line = line.strip()
            if line:
                tokens = clean_str(line).lower().split()
                examples.append((tokens, lab))

        if shuffle:
            random.shuffle(examples)

        # Build vocabularies from all data
        text_counter = Counter()
        label_counter = Counter()
        for tokens, label in examples:
            text_counter.update(tokens)
            label_counter[label] += 1

        text_vocab = Vocab(text_counter)
        label_vocab = Vocab(label_counter, specials=[])

        # Split into train/dev
        dev_index = -1 * int(dev_ratio * len(examples))
        train_examples = examples[:dev_index]
        dev_examples = examples[dev_index:]

        train_dataset = cls(train_examples, text_vocab, label_vocab)
        dev_dataset = cls(dev_examples, text_vocab, label_vocab)

        return train_dataset, dev_dataset, text_vocab, label_vocab


def collate_fn(batch, min_len=5):
    """Pad sequences in a batch to the same length (at least min_len for conv kernels)."""
    texts, labels = zip(*batch)  # noqa: B905 (as upstream)
    max_len = max(max(len(t) for t in texts), min_len)
    padded = torch.zeros(len(texts), max_len, dtype=torch.long)
    for i, t in enumerate(texts):
        padded[i, :len(t)] = t
    labels = torch.stack(labels)
    return padded, labels


_BOW: dict = {}  # the baseline per seed (split), computed once per process


def bow_baseline(train_dataset, dev_dataset):
    """Dev accuracy of a logistic regression on word counts (not upstream: the bar the CNN should clear)."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = CountVectorizer(analyzer=lambda toks: toks)
    xt = vec.fit_transform([t for t, _ in train_dataset.examples])
    xd = vec.transform([t for t, _ in dev_dataset.examples])
    yt = [lab for _, lab in train_dataset.examples]
    yd = [lab for _, lab in dev_dataset.examples]
    return float(LogisticRegression(C=1.0, solver="liblinear").fit(xt, yt).score(xd, yd))


# ---------------------------------------------------------------------------------------------------------------
# model.py
# ---------------------------------------------------------------------------------------------------------------

class CNN_Text(nn.Module):

    def __init__(self, args):
        super(CNN_Text, self).__init__()  # noqa: UP008 (as upstream)
        self.args = args

        V = args.embed_num
        D = args.embed_dim
        C = args.class_num
        Ci = 1
        Co = args.kernel_num
        Ks = args.kernel_sizes

        self.embed = nn.Embedding(V, D, padding_idx=0)
        # Kim's paper: uniform[-0.25, 0.25] initialization for random embeddings
        nn.init.uniform_(self.embed.weight, -0.25, 0.25)
        if args.embed_std is not None:  # the embed_std variant: N(0, embed_std) instead
            nn.init.normal_(self.embed.weight, 0.0, args.embed_std)
        self.embed.weight.data[0].fill_(0)  # padding stays zero

        self.convs = nn.ModuleList([nn.Conv2d(Ci, Co, (K, D)) for K in Ks])
        self.dropout = nn.Dropout(args.dropout)
        self.fc1 = nn.Linear(len(Ks) * Co, C)

        if args.init_std is not None:  # the init_std variant: N(0, init_std) conv and linear weights
            for m in list(self.convs) + [self.fc1]:
                nn.init.normal_(m.weight, 0.0, args.init_std)

        if self.args.static:
            self.embed.weight.requires_grad = False

    def forward(self, x):
        x = self.embed(x)  # (N, W, D)

        x = x.unsqueeze(1)  # (N, Ci, W, D)

        x = [F.relu(conv(x)).squeeze(3) for conv in self.convs]  # [(N, Co, W), ...]*len(Ks)

        x = [F.max_pool1d(i, i.size(2)).squeeze(2) for i in x]  # [(N, Co), ...]*len(Ks)

        x = torch.cat(x, 1)

        x = self.dropout(x)  # (N, len(Ks)*Co)
        logit = self.fc1(x)  # (N, C)
        if self.args.softmax:  # the wrong_loss variant: probabilities returned to F.cross_entropy
            logit = F.softmax(logit, dim=1)
        return logit


# ---------------------------------------------------------------------------------------------------------------
# main.py's defaults and train.py's loop
# ---------------------------------------------------------------------------------------------------------------

class _Args:
    lr = 0.001
    epochs = EPOCHS  # upstream: 256
    batch_size = 64
    dropout = 0.5
    max_norm = 3.0
    embed_dim = 128
    kernel_num = 100
    kernel_sizes = '3,4,5'
    static = False
    optimizer = 'adam'
    cuda = False


def evaluate(data_iter, model, args):  # upstream: train.eval
    model.eval()
    corrects, avg_loss = 0, 0
    total = 0
    with torch.no_grad():
        for batch in data_iter:
            feature, target = batch
            logit = model(feature)
            loss = F.cross_entropy(logit, target, reduction='sum')

            avg_loss += loss.item()
            corrects += (torch.max(logit, 1)[1] == target).sum().item()
            total += target.size(0)

    avg_loss /= total
    accuracy = corrects / total  # upstream: 100.0 * corrects / total, printed
    return accuracy, avg_loss


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, embed_std: float | None = None,
          zero_grad: bool = True, softmax: bool = False, batch_size: int | None = None, dropout: float | None = None,
          epochs: int | None = None, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    random.seed(seed)  # upstream seeds nothing
    torch.manual_seed(seed)
    args = _Args()
    args.lr = args.lr * lr_mult
    if batch_size is not None:
        args.batch_size = batch_size
    if dropout is not None:
        args.dropout = dropout
    if epochs is not None:
        args.epochs = epochs
    args.init_std, args.embed_std, args.softmax = init_std, embed_std, softmax

    # load dataset
    train_dataset, dev_dataset, text_vocab, label_vocab = MRDataset.splits()
    bow = _BOW.get(seed)
    if bow is None:
        bow = _BOW[seed] = bow_baseline(train_dataset, dev_dataset)
    train_iter = DataLoader(train_dataset, batch_size=args.batch_size, shuffle=True, collate_fn=collate_fn)
    dev_iter = DataLoader(dev_dataset, batch_size=len(dev_dataset), shuffle=False, collate_fn=collate_fn)

    # update args
    args.embed_num = len(text_vocab)
    args.class_num = len(label_vocab)
    args.kernel_sizes = [int(k) for k in args.kernel_sizes.split(',')]

    cnn = CNN_Text(args)
    model = cnn

    # train.train
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    losses, accs = [], []
    steps = 0
    model.train()
    for epoch in range(1, args.epochs + 1):
        for batch in train_iter:
            model.train()
            feature, target = batch

            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            logit = model(feature)
            loss = F.cross_entropy(logit, target)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()

            # Kim's paper: L2 weight constraint on fc layer (rescale if norm > max_norm)
            with torch.no_grad():
                for name, param in model.named_parameters():
                    if 'fc1.weight' in name:
                        norms = param.norm(2, dim=-1, keepdim=True)
                        desired = torch.clamp(norms, max=args.max_norm)
                        param.mul_(desired / (norms + 1e-8))

            steps += 1
            losses.append(loss.item())
            accs.append((torch.max(logit, 1)[1] == target).float().mean().item())
        if verbose:  # upstream: prints every step and evaluates every 100 steps
            dev_acc, dev_loss = evaluate(dev_iter, model, args)
            print(f"epoch {epoch} step {steps} loss {np.mean(losses[-20:]):.4f} dev acc {dev_acc:.4f} "
                  f"({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    dev_acc, dev_loss = evaluate(dev_iter, model, args)
    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(dev_acc), "chance": 0.5,
            "initial": None, "initial_what": "chance accuracy 0.5",
            "extra": {"lr": args.lr, "train_loss": float(np.mean(la[-20:])), "first_loss": float(np.mean(la[:5])),
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "steps": steps, "epochs": args.epochs,
                      "train_acc": float(np.mean(accs[-20:])), "dev_loss": float(dev_loss), "bow_baseline_acc": bow,
                      "vocab_size": len(text_vocab), "train_sentences": len(train_dataset),
                      "dev_sentences": len(dev_dataset), "lr_mult": lr_mult,
                      "init_std": -1.0 if init_std is None else init_std,
                      "embed_std": -1.0 if embed_std is None else embed_std, "zero_grad": zero_grad,
                      "softmax": softmax, "batch_size": args.batch_size, "dropout": args.dropout,
                      "chance_loss": math.log(2)},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="kimcnn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"Kim's CNN_Text (embedding 128 U(-0.25, 0.25), Conv2d 100 x (3|4|5, 128), ReLU, max-over-time, dropout 0.5, "
      f"Linear(300, 2)); Adam lr 0.001, batch 64, F.cross_entropy, fc1 max-norm 3, no clipping; {EPOCHS} epochs of a "
      f"generated sentiment corpus")
CASES: list[dict] = (
    [_case(f"kimcnn_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"kimcnn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("kimcnn_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 (1e-06)")]
    + [_case(f"kimcnn_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on the three Conv2d weights and fc1.weight instead of PyTorch's default "
             f"(biases kept)") for s in (1, 2)]
    + [_case("kimcnn_embed_std10_s1", "init_large", 1, {"embed_std": 10.0},
             f"{_P}: the embedding drawn from N(0, 10) instead of U(-0.25, 0.25) (padding row still zero)")]
    + [_case(f"kimcnn_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)") for s in (1, 2)]
    + [_case(f"kimcnn_softmax_s{s}", "wrong_loss", s, {"softmax": True},
             f"{_P}: forward returns F.softmax(logit, dim=1), probabilities fed to F.cross_entropy") for s in (1, 2)]
    + [_case("kimcnn_batch32_s1", "healthy", 1, {"batch_size": 32}, f"{_P}: batch size 32 (expected harmless)")]
    + [_case("kimcnn_dropout02_s1", "healthy", 1, {"dropout": 0.2}, f"{_P}: dropout 0.2 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
