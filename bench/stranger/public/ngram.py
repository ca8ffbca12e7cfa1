"""The PyTorch NLP tutorial "Word Embeddings: Encoding Lexical Semantics": its N-gram language model and its
CBOW exercise, trained one example per step with SGD, watched by gradmedic.

Adapted from https://github.com/pytorch/tutorials (commit 537d2173d209f790135701fa4dcdea2f73e718b7,
beginner_source/nlp/word_embeddings_tutorial.py, by Robert Guthrie; BSD 3-Clause License, Copyright (c) 2017-2022
Pytorch contributors, see LICENSE-ngram).  Kept as in the tutorial: the two texts it ships (Shakespeare's Sonnet 2
for the N-gram model, the SICP passage for CBOW, both ``.split()`` on whitespace), the trigrams
``([w[i], w[i+1]], w[i+2])`` and the CBOW samples (two words left and two right of the target),
``NGramLanguageModeler`` unchanged (``nn.Embedding(vocab, 10)``, ``view((1, -1))``, ``Linear(2 * 10, 128)``, ReLU,
``Linear(128, vocab)``, ``F.log_softmax``), PyTorch's default initialization (the embeddings N(0, 1)),
``nn.NLLLoss``, ``optim.SGD(model.parameters(), lr=0.001)``, and the loop: one example per step, in the text's
order every epoch (no shuffling, no batching), ``model.zero_grad()`` / forward / loss / ``loss.backward()`` /
``optimizer.step()``, no clipping.  The CBOW class is an empty exercise upstream; it is written here as the
tutorial's formula asks, ``-log Softmax(A (sum_{w in C} q_w) + b)``: ``nn.Embedding(vocab, 10)``, the context
embeddings summed and viewed as (1, 10), one ``nn.Linear(10, vocab)``, ``F.log_softmax``, trained with the same
NLLLoss, SGD lr 0.001 and loop as the N-gram model (the exercise gives no rate of its own).

Changed: the vocabulary is ``sorted(set(text))`` instead of ``set(text)`` (a set of strings is ordered by the
per-process string hash, so upstream's word indices change from run to run); the last 15% of the examples
(17 of the sonnet's 113 trigrams, 9 of the 58 CBOW samples) are held out and the rest trained on;
``torch.manual_seed(seed)`` instead of ``torch.manual_seed(1)``; 100 epochs instead of 10 (9600 steps for the
N-gram model, 4900 for CBOW: upstream's 10 epochs at lr 0.001 only take the loss from 4.6 to ~4.4), at
upstream's lr 0.001, which then trains well (the rate was not raised); the per-epoch ``total_loss`` list and
the prints replaced by ``extra``.  The metric is the training examples' mean NLL (``train_loss``: the
quantity the tutorial prints, "The loss decreased every iteration over the training data!"), evaluated on all
of them with ``torch.no_grad()`` before the first step (``initial``) and after the last (``value``), not the
held-out loss: on a 115-word sonnet the held-out trigrams' targets are mostly words never seen as a target, so
the healthy program's held-out NLL rises from its first epoch (4.50 -> 4.72 after 40 epochs, 5.2 after 100 at
lr 0.001; 8.5 at lr 0.01) and no run could reach run.py's good outcome on it.  The held-out NLL before and
after is kept in ``extra`` (``held_out_initial``, ``held_out_loss``).  Both are computed as
``NLLLoss(log_softmax(model(x)))``: for the healthy model ``log_softmax`` of log-probabilities changes
nothing, and for the variant without it the raw scores are scored as the distribution they stand for.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the SGD is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``.

``CASES`` (in the shape of run.py's ``case()``, all of program "ngram"; name prefixes ngram and cbow, run.py
finds a variant's control by the first "_" token of its name): each model on seeds 1-3, and one change each
against the same model's healthy run on that seed: for the N-gram model lr x10, x100 (seeds 1 and 2), x1000
and /1000, ``nn.init.normal_(std=1.0)`` on both Linears' weights (the embeddings are N(0, 1) already), and
``F.log_softmax`` removed (the raw scores of ``linear2`` go into NLLLoss, whose loss is then ``-score[target]``,
unbounded below); for CBOW lr x1000, N(0, 1) on its Linear's weight, and ``F.log_softmax`` removed.  No
clipping case (the tutorial does not clip), no unscaled-inputs case (token ids), no ReLU -> Sigmoid case (it
trains).  Labels come from run.py's outcome rules only.
Recorded (cases-public15): N-gram healthy train NLL 2.25-2.59 on seeds 1-3 (from 4.57-4.60; held-out 4.5 ->
5.2-5.3); lr x10 (0.036) and x100 (0.017 on both seeds) memorize the 96 trigrams and are labelled healthy by the
training-loss metric (their held-out NLL rises to 8.5-10.7); lr x1000 goes non-finite (broken); /1000 stays at
4.59 (broken); N(0, 1) on the Linears starts at 106 and still ends at 0.037 (ambiguous: its recorded losses reach
210, over twice the control's largest); no log_softmax ends at 9.87 (broken).  CBOW healthy 1.86-2.03 (from
4.52-4.71); lr x1000 non-finite (broken); N(0, 1) on its Linear 15.0 -> 4.76 (broken); no log_softmax 2.15
against 1.86 (ambiguous: 1.16x its control).  16 cases in 124 s.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("monitor.step(loss) after loss.backward() (NLLLoss of one example: batch of 1), before "
              "optimizer.step()")

# We will use Shakespeare Sonnet 2
SONNET = """When forty winters shall besiege thy brow,
And dig deep trenches in thy beauty's field,
Thy youth's proud livery so gazed on now,
Will be a totter'd weed of small worth held:
Then being asked, where all thy beauty lies,
Where all the treasure of thy lusty days;
To say, within thine own deep sunken eyes,
Were an all-eating shame, and thriftless praise.
How much more praise deserv'd thy beauty's use,
If thou couldst answer 'This fair child of mine
Shall sum my count, and make my old excuse,'
Proving his beauty by succession thine!
This were to be new made when thou art old,
And see thy blood warm when thou feel'st it cold."""

RAW_TEXT = """We are about to study the idea of a computational process.
Computational processes are abstract beings that inhabit computers.
As they evolve, processes manipulate other abstract things called data.
The evolution of a process is directed by a pattern of rules
called a program. People create programs to direct processes. In effect,
we conjure the spirits of the computer with our spells."""

EMBEDDING_DIM = 10


class NGramLanguageModeler(nn.Module):

    def __init__(self, vocab_size, embedding_dim, context_size, log_softmax=True):
        super().__init__()
        self.embeddings = nn.Embedding(vocab_size, embedding_dim)
        self.linear1 = nn.Linear(context_size * embedding_dim, 128)
        self.linear2 = nn.Linear(128, vocab_size)
        self.log_softmax = log_softmax  # False: the bug (raw scores into NLLLoss)

    def forward(self, inputs):
        embeds = self.embeddings(inputs).view((1, -1))
        out = F.relu(self.linear1(embeds))
        out = self.linear2(out)
        if not self.log_softmax:
            return out
        log_probs = F.log_softmax(out, dim=1)
        return log_probs


class CBOW(nn.Module):
    """The exercise's model: -log Softmax(A (sum_{w in C} q_w) + b)."""

    def __init__(self, vocab_size, embedding_dim, log_softmax=True):
        super().__init__()
        self.embeddings = nn.Embedding(vocab_size, embedding_dim)
        self.linear = nn.Linear(embedding_dim, vocab_size)
        self.log_softmax = log_softmax

    def forward(self, inputs):
        embeds = self.embeddings(inputs).sum(dim=0).view((1, -1))
        out = self.linear(embeds)
        if not self.log_softmax:
            return out
        return F.log_softmax(out, dim=1)


def make_data(model: str):
    if model == "ngram":
        test_sentence = SONNET.split()
        # build a list of tuples.  Each tuple is ([ word_i-2, word_i-1 ], target word)
        data = [([test_sentence[i], test_sentence[i + 1]], test_sentence[i + 2])
                for i in range(len(test_sentence) - 2)]
        vocab = sorted(set(test_sentence))
    else:
        raw_text = RAW_TEXT.split()
        vocab = sorted(set(raw_text))
        data = []
        for i in range(2, len(raw_text) - 2):
            context = [raw_text[i - 2], raw_text[i - 1],
                       raw_text[i + 1], raw_text[i + 2]]
            target = raw_text[i]
            data.append((context, target))
    word_to_ix = {word: i for i, word in enumerate(vocab)}
    n_held = round(0.15 * len(data))
    return data[:-n_held], data[-n_held:], word_to_ix


def make_context_vector(context, word_to_ix):
    idxs = [word_to_ix[w] for w in context]
    return torch.tensor(idxs, dtype=torch.long)


def mean_nll(model, data, word_to_ix, loss_function):
    with torch.no_grad():
        total = 0.0
        for context, target in data:
            log_probs = F.log_softmax(model(make_context_vector(context, word_to_ix)), dim=1)
            total += loss_function(log_probs, torch.tensor([word_to_ix[target]], dtype=torch.long)).item()
    return total / len(data)


def train(seed: int = 1, model: str = "ngram", lr_mult: float = 1.0, init_std: float | None = None,
          log_softmax: bool = True, epochs: int = 100, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    trigrams, held_out, word_to_ix = make_data(model)
    vocab_size = len(word_to_ix)
    if model == "ngram":
        net = NGramLanguageModeler(vocab_size, EMBEDDING_DIM, 2, log_softmax=log_softmax)
    else:
        net = CBOW(vocab_size, EMBEDDING_DIM, log_softmax=log_softmax)
    if init_std is not None:  # the bug: normal_(0, std) on every Linear weight instead of the default init
        for m in net.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, init_std)
    loss_function = nn.NLLLoss()
    lr = 0.001 * lr_mult
    optimizer = optim.SGD(net.parameters(), lr=lr)
    monitor = gradmedic.watch(net, optimizer, every=every)

    initial = mean_nll(net, trigrams, word_to_ix, loss_function)
    held_out_initial = mean_nll(net, held_out, word_to_ix, loss_function)
    losses, epoch_losses = [], []
    t0 = time.time()
    for epoch in range(epochs):
        total_loss = 0
        for context, target in trigrams:
            context_idxs = make_context_vector(context, word_to_ix)
            net.zero_grad()
            log_probs = net(context_idxs)
            loss = loss_function(log_probs, torch.tensor([word_to_ix[target]], dtype=torch.long))
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            total_loss += loss.item()
            losses.append(loss.item())
        epoch_losses.append(total_loss / len(trigrams))
        if verbose and (epoch % 10 == 9 or epoch == 0):
            print(f"epoch {epoch + 1} mean loss {epoch_losses[-1]:.4f} ({time.time() - t0:.1f}s)", flush=True)
    value = mean_nll(net, trigrams, word_to_ix, loss_function)
    held = mean_nll(net, held_out, word_to_ix, loss_function)
    monitor.close()
    if verbose:
        print(f"train NLL {initial:.4f} -> {value:.4f}; held-out NLL {held_out_initial:.4f} -> {held:.4f}")
    return {"monitors": {"": monitor}, "metric": "train_loss", "value": value if math.isfinite(value) else float("nan"),
            "chance": math.log(vocab_size), "initial": initial,
            "initial_what": "untrained: the training examples' mean NLL before the first step",
            "extra": {"held_out_initial": held_out_initial, "held_out_loss": held, "steps": len(losses), "lr": lr,
                      "model": model, "epoch_losses": [float(x) for x in epoch_losses[::10]],
                      "last_step_losses": float(np.mean(losses[-20:])), "n_train": len(trigrams),
                      "n_held_out": len(held_out), "vocab": vocab_size},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="ngram", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_NG = "N-gram LM (Embedding 10, Linear 20-128, ReLU, Linear 128-97, log_softmax)"
_CB = "CBOW (sum of 4 context embeddings, Linear 10-49, log_softmax)"
CASES: list[dict] = (
    [_case(f"ngram_healthy_s{s}", "healthy", s, {}, f"{_NG}: unchanged (NLLLoss, SGD lr 0.001, one trigram per step, "
           "100 epochs)", False) for s in (1, 2, 3)]
    + [_case(f"ngram_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_NG}: SGD lr x{k} ({0.001 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("ngram_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_NG}: SGD lr /1000 (1e-06)")]
    + [_case("ngram_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_NG}: nn.init.normal_(std=1.0) on linear1.weight and linear2.weight instead of PyTorch's default")]
    + [_case("ngram_no_log_softmax_s1", "wrong_loss", 1, {"log_softmax": False},
             f"{_NG}: F.log_softmax removed from forward, linear2's raw scores go into nn.NLLLoss")]
    + [_case(f"cbow_healthy_s{s}", "healthy", s, {"model": "cbow"}, f"{_CB}: unchanged (NLLLoss, SGD lr 0.001, one "
             "sample per step, 100 epochs)", False) for s in (1, 2, 3)]
    + [_case("cbow_lr_x1000_s1", "lr_high", 1, {"model": "cbow", "lr_mult": 1000}, f"{_CB}: SGD lr x1000 (1)")]
    + [_case("cbow_init_std1_s1", "init_large", 1, {"model": "cbow", "init_std": 1.0},
             f"{_CB}: nn.init.normal_(std=1.0) on the Linear's weight instead of PyTorch's default")]
    + [_case("cbow_no_log_softmax_s1", "wrong_loss", 1, {"model": "cbow", "log_softmax": False},
             f"{_CB}: F.log_softmax removed from forward, the Linear's raw scores go into nn.NLLLoss")]
)


if __name__ == "__main__":
    import sys
    r = train(verbose=True, model=sys.argv[1] if len(sys.argv) > 1 else "ngram",
              **({"lr_mult": float(sys.argv[2])} if len(sys.argv) > 2 else {}))
    print({k: v for k, v in r.items() if k != "monitors"})
