"""The PyTorch NLP tutorial "Advanced: Making Dynamic Decisions and the Bi-LSTM CRF": its BiLSTM_CRF tagger
(B, I, O), trained one sentence per step with SGD on its negative log-likelihood, watched by gradmedic.

Adapted from https://github.com/pytorch/tutorials (commit 546ebc600c1972a19cc2aa858b081b85ac7bbf12,
beginner_source/nlp/advanced_tutorial.py, by Robert Guthrie; BSD 3-Clause License, Copyright (c) 2017-2022
Pytorch contributors, see LICENSE-bilstmcrf).  Kept as in the tutorial: ``argmax``, ``prepare_sequence``,
``log_sum_exp``, and ``BiLSTM_CRF`` line for line: ``nn.Embedding(vocab, EMBEDDING_DIM)``, a bidirectional
``nn.LSTM(EMBEDDING_DIM, HIDDEN_DIM // 2)``, ``hidden2tag`` Linear, ``transitions = nn.Parameter(torch.randn(5, 5))``
with the START/STOP constraints (``-10000`` into every transition to START and from STOP), ``init_hidden``'s
random initial states (``torch.randn``, drawn again for every sentence), ``_forward_alg`` (log-space forward
algorithm, a Python loop over the words and the tags), ``_score_sentence``, ``_viterbi_decode``,
``neg_log_likelihood`` (forward score minus gold score: the loss, summed over the sentence, not averaged) and
``forward`` (the Viterbi path); the tag set ``{"B": 0, "I": 1, "O": 2, START, STOP}``; ``word_to_ix`` built over
all the data, in order of appearance; PyTorch's default initialization elsewhere;
``optim.SGD(model.parameters(), lr=0.01, weight_decay=1e-4)``; and the loop: the sentences in the same order
every epoch (no shuffling, no batching), ``model.zero_grad()`` / ``prepare_sequence`` / ``neg_log_likelihood`` /
``backward()`` / ``optimizer.step()``, no clipping, and the "Check predictions before/after training" Viterbi
decodes (here of the held-out sentences).

Changed: the two toy sentences (upstream: 300 epochs over "the wall street journal reported today ..." and "georgia
tech is a university in georgia") become a small synthetic NER corpus made by ``make_data``: 10 templates of context
words (upstream's two sentences among them) whose slots are filled with named entities drawn from a list of 20 (one
to four words each: "the wall street journal", "apple corporation", "georgia tech", "georgia", "bank of america",
...; an entity's first word tagged B, the rest I, every other word O), 150 training and 80 held-out sentences drawn
with ``random.Random(0)`` (the same corpus for every seed; every held-out word occurs in training; 63 words, 8 a
sentence on average), 4 epochs (600 steps, as upstream's 300 epochs of 2 sentences) instead of 300 epochs.
EMBEDDING_DIM 8 and HIDDEN_DIM 8 instead of 5 and 4: with 5 and 4 the 600 steps take the held-out NLL from 10.0 to
4.7 but the tag accuracy only from 0.30 to 0.57 (all-O: 0.54); with 8 and 8 from 12.0 to 3.9 and 0.34 to 0.71 (seed
1; more steps would cost more than the 10-25 s a run may take here: one step is ~20 ms of Python loops).
``torch.manual_seed(seed)`` instead of ``torch.manual_seed(1)``. ``autograd.Variable(...)`` kept where upstream has
it (a no-op wrapper today); ``log_sum_exp(...).view(1)`` and ``next_tag_var[0][best_tag_id].view(1)`` as in the
tutorial's current version (torch.cat no longer concatenates the 0-dim tensors that the stored commit's version
appends).  The prints become ``extra``.  Metric: the held-out sentences' mean ``neg_log_likelihood``
(``held_out_nll``, under ``torch.no_grad()``; each call draws ``init_hidden``'s random states, as upstream's decodes
do) after training (``value``) and before (``initial``); the held-out tag accuracy of the Viterbi paths
(``model(sentence)``; a decode that failed upstream's START sanity check would count all its tokens wrong: none did)
is kept in ``extra``, beside the all-O accuracy.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the SGD is
built, ``monitor.step(neg_log_likelihood)`` right after ``neg_log_likelihood.backward()``, before
``optimizer.step()``.

``CASES`` (in the shape of run.py's ``case()``, all of program "bilstmcrf"): the program on seeds 1-3, and one
change each against the same seed's healthy run: lr x10, x100 (seeds 1 and 2), x1000 and /1000; the transitions
drawn as ``torch.randn(5, 5) * 100`` instead of ``torch.randn(5, 5)`` (START/STOP constraints kept); the
weight_decay x1000 (0.1 instead of 1e-4); ``model.zero_grad()`` left out of the loop (the gradients
accumulate over the sentences); ``nn.init.normal_(std=1.0)`` on the LSTM's and hidden2tag's weight matrices
instead of PyTorch's default.  Labels come from run.py's outcome rules only (the weight-decay case under cause
"init_small", as cifarnet.py's: weights pulled toward zero).
Recorded (cases-public17, 172 s for the 12 runs on a shared CPU): healthy held-out NLL 3.67-3.90 from 10.9-12.0
on seeds 1-3 (tag accuracy 0.71-0.76, all-O 0.54); lr x10 trains far better than the program (NLL 0.07,
accuracy 1.00: upstream's lr 0.01 is slow for 600 steps) and N(0, 1) on the weight matrices as well (3.28, 0.79):
both labelled healthy; lr x100 (24.6, 15.3), x1000 (142) and /1000 (11.9, no progress), the transitions x100
(509, from 821) and no zero_grad (40.2, though its accuracy 0.73 is the program's) broken; weight_decay x1000
(5.11 against 3.90, accuracy 0.57) ambiguous.
"""

# upstream's code is kept as written (super(Class, self), autograd.Variable, torch.Tensor(...).fill_, an unused
# loop variable)
# ruff: noqa: UP008, B007

from __future__ import annotations

import math
import random
import time

import numpy as np
import torch
import torch.autograd as autograd
import torch.nn as nn
import torch.optim as optim

import gradmedic

ARCH = "lstm"
MONITOR_AT = ("watch(model, optimizer, every=10) right after the SGD is built; monitor.step(neg_log_likelihood) right "
              "after neg_log_likelihood.backward() (the CRF's NLL of one sentence, summed over its words), before "
              "optimizer.step()")

#####################################################################
# Helper functions to make the code more readable.


def to_scalar(var):
    # returns a python float
    return var.view(-1).data.tolist()[0]


def argmax(vec):
    # return the argmax as a python int
    _, idx = torch.max(vec, 1)
    return to_scalar(idx)


def prepare_sequence(seq, to_ix):
    idxs = [to_ix[w] for w in seq]
    tensor = torch.LongTensor(idxs)
    return autograd.Variable(tensor)


# Compute log sum exp in a numerically stable way for the forward algorithm
def log_sum_exp(vec):
    max_score = vec[0, argmax(vec)]
    max_score_broadcast = max_score.view(1, -1).expand(1, vec.size()[1])
    return max_score + \
        torch.log(torch.sum(torch.exp(vec - max_score_broadcast)))

#####################################################################
# Create model


class BiLSTM_CRF(nn.Module):

    def __init__(self, vocab_size, tag_to_ix, embedding_dim, hidden_dim, trans_scale=None):
        super(BiLSTM_CRF, self).__init__()
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.vocab_size = vocab_size
        self.tag_to_ix = tag_to_ix
        self.tagset_size = len(tag_to_ix)

        self.word_embeds = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim // 2,
                            num_layers=1, bidirectional=True)

        # Maps the output of the LSTM into tag space.
        self.hidden2tag = nn.Linear(hidden_dim, self.tagset_size)

        # Matrix of transition parameters.  Entry i,j is the score of
        # transitioning *to* i *from* j.
        self.transitions = nn.Parameter(
            torch.randn(self.tagset_size, self.tagset_size))
        if trans_scale is not None:  # the bug: transitions drawn at a large scale (randn * trans_scale)
            self.transitions.data.mul_(trans_scale)

        # These two statements enforce the constraint that we never transfer
        # to the start tag and we never transfer from the stop tag
        self.transitions.data[tag_to_ix[START_TAG], :] = -10000
        self.transitions.data[:, tag_to_ix[STOP_TAG]] = -10000

        self.hidden = self.init_hidden()

    def init_hidden(self):
        return (autograd.Variable(torch.randn(2, 1, self.hidden_dim // 2)),
                autograd.Variable(torch.randn(2, 1, self.hidden_dim // 2)))

    def _forward_alg(self, feats):
        # Do the forward algorithm to compute the partition function
        init_alphas = torch.Tensor(1, self.tagset_size).fill_(-10000.)
        # START_TAG has all of the score.
        init_alphas[0][self.tag_to_ix[START_TAG]] = 0.

        # Wrap in a variable so that we will get automatic backprop
        forward_var = autograd.Variable(init_alphas)

        # Iterate through the sentence
        for feat in feats:
            alphas_t = []  # The forward variables at this timestep
            for next_tag in range(self.tagset_size):
                # broadcast the emission score: it is the same regardless of
                # the previous tag
                emit_score = feat[next_tag].view(
                    1, -1).expand(1, self.tagset_size)
                # the ith entry of trans_score is the score of transitioning to
                # next_tag from i
                trans_score = self.transitions[next_tag].view(1, -1)
                # The ith entry of next_tag_var is the value for the
                # edge (i -> next_tag) before we do log-sum-exp
                next_tag_var = forward_var + trans_score + emit_score
                # The forward variable for this tag is log-sum-exp of all the
                # scores.
                alphas_t.append(log_sum_exp(next_tag_var).view(1))  # .view(1): as the tutorial's current version
            forward_var = torch.cat(alphas_t).view(1, -1)
        terminal_var = forward_var + self.transitions[self.tag_to_ix[STOP_TAG]]
        alpha = log_sum_exp(terminal_var)
        return alpha

    def _get_lstm_features(self, sentence):
        self.hidden = self.init_hidden()
        embeds = self.word_embeds(sentence).view(len(sentence), 1, -1)
        lstm_out, self.hidden = self.lstm(embeds, self.hidden)
        lstm_out = lstm_out.view(len(sentence), self.hidden_dim)
        lstm_feats = self.hidden2tag(lstm_out)
        return lstm_feats

    def _score_sentence(self, feats, tags):
        # Gives the score of a provided tag sequence
        score = autograd.Variable(torch.Tensor([0]))
        tags = torch.cat([torch.LongTensor([self.tag_to_ix[START_TAG]]), tags])
        for i, feat in enumerate(feats):
            score = score + \
                self.transitions[tags[i + 1], tags[i]] + feat[tags[i + 1]]
        score = score + self.transitions[self.tag_to_ix[STOP_TAG], tags[-1]]
        return score

    def _viterbi_decode(self, feats):
        backpointers = []

        # Initialize the viterbi variables in log space
        init_vvars = torch.Tensor(1, self.tagset_size).fill_(-10000.)
        init_vvars[0][self.tag_to_ix[START_TAG]] = 0

        # forward_var at step i holds the viterbi variables for step i-1
        forward_var = autograd.Variable(init_vvars)
        for feat in feats:
            bptrs_t = []  # holds the backpointers for this step
            viterbivars_t = []  # holds the viterbi variables for this step

            for next_tag in range(self.tagset_size):
                # next_tag_var[i] holds the viterbi variable for tag i at the
                # previous step, plus the score of transitioning
                # from tag i to next_tag.
                # We don't include the emission scores here because the max
                # does not depend on them (we add them in below)
                next_tag_var = forward_var + self.transitions[next_tag]
                best_tag_id = argmax(next_tag_var)
                bptrs_t.append(best_tag_id)
                viterbivars_t.append(next_tag_var[0][best_tag_id].view(1))  # .view(1): as the current version
            # Now add in the emission scores, and assign forward_var to the set
            # of viterbi variables we just computed
            forward_var = (torch.cat(viterbivars_t) + feat).view(1, -1)
            backpointers.append(bptrs_t)

        # Transition to STOP_TAG
        terminal_var = forward_var + self.transitions[self.tag_to_ix[STOP_TAG]]
        best_tag_id = argmax(terminal_var)
        path_score = terminal_var[0][best_tag_id]

        # Follow the back pointers to decode the best path.
        best_path = [best_tag_id]
        for bptrs_t in reversed(backpointers):
            best_tag_id = bptrs_t[best_tag_id]
            best_path.append(best_tag_id)
        # Pop off the start tag (we dont want to return that to the caller)
        start = best_path.pop()
        assert start == self.tag_to_ix[START_TAG]  # Sanity check
        best_path.reverse()
        return path_score, best_path

    def neg_log_likelihood(self, sentence, tags):
        feats = self._get_lstm_features(sentence)
        forward_score = self._forward_alg(feats)
        gold_score = self._score_sentence(feats, tags)
        return forward_score - gold_score

    def forward(self, sentence):  # dont confuse this with _forward_alg above.
        # Get the emission scores from the BiLSTM
        lstm_feats = self._get_lstm_features(sentence)

        # Find the best path, given the features.
        score, tag_seq = self._viterbi_decode(lstm_feats)
        return score, tag_seq


START_TAG = "<START>"
STOP_TAG = "<STOP>"
EMBEDDING_DIM = 8  # upstream: 5 (see the docstring)
HIDDEN_DIM = 8  # upstream: 4

# ==== the data: upstream's two sentences -> a synthetic NER corpus of the same kind ==================
TEMPLATES = [
    "{} reported today that {} made money",  # upstream's first sentence
    "{} is a university in {}",  # upstream's second
    "yesterday {} said that {} will buy {}",
    "{} met {} in {}",
    "a spokesman for {} declined to comment",
    "shares of {} fell",
    "{} moved to {} in march",
    "the money that {} made went to {}",
    "{} and {} visited {}",
    "{} said the market was slow",
]
ENTITIES = [
    "the wall street journal", "apple corporation", "georgia tech", "georgia", "new york", "john smith",
    "mary jones", "acme", "san francisco", "general motors", "bank of america", "paris", "london", "alice",
    "microsoft", "united nations", "tokyo", "peter parker", "boston", "the white house",
]


def make_data(n_train=200, n_held_out=80, data_seed=0):
    """(training, held_out) lists of (words, tags) as upstream's training_data, drawn with random.Random(data_seed):
    a template, each slot an entity (first word B, the rest I), every other word O.  Held-out sentences whose words
    do not all occur in the training sentences are drawn again."""
    rng = random.Random(data_seed)

    def sentence():
        t = rng.choice(TEMPLATES)
        words, tags = [], []
        for i, part in enumerate(t.split("{}")):
            if i > 0:
                e = rng.choice(ENTITIES).split()
                words += e
                tags += ["B"] + ["I"] * (len(e) - 1)
            w = part.split()
            words += w
            tags += ["O"] * len(w)
        return words, tags

    training = [sentence() for _ in range(n_train)]
    seen = {w for s, _ in training for w in s}
    held_out = []
    while len(held_out) < n_held_out:
        s = sentence()
        if set(s[0]) <= seen:
            held_out.append(s)
    return training, held_out


def evaluate(model, data, word_to_ix, tag_to_ix):
    """(mean neg_log_likelihood per sentence, tag accuracy of the Viterbi paths, decodes that failed upstream's
    START sanity check) over ``data``, under torch.no_grad()."""
    correct = total = failed = 0
    nll = 0.0
    with torch.no_grad():
        for sentence, tags in data:
            sentence_in = prepare_sequence(sentence, word_to_ix)
            targets = torch.LongTensor([tag_to_ix[t] for t in tags])
            nll += model.neg_log_likelihood(sentence_in, targets).item()
            try:
                _, path = model(sentence_in)
            except AssertionError:  # upstream's "Sanity check" (a non-finite model can end its path elsewhere)
                path, failed = [-1] * len(tags), failed + 1
            correct += sum(int(p == g) for p, g in zip(path, targets.tolist(), strict=True))
            total += len(tags)
    return nll / len(data), correct / total, failed


EPOCHS = 4


def train(seed: int = 1, lr_mult: float = 1.0, wd_mult: float = 1.0, trans_scale: float | None = None,
          zero_grad: bool = True, init_std: float | None = None, epochs: int = EPOCHS, n_train: int = 150,
          every: int = 10, verbose: bool = False) -> dict:
    """The tutorial's training with one change per keyword: ``lr_mult`` scales SGD's lr 0.01, ``wd_mult`` its
    weight_decay 1e-4; ``trans_scale`` draws the transitions as ``torch.randn(5, 5) * trans_scale`` (the START/STOP
    constraints set after); ``zero_grad=False`` leaves ``model.zero_grad()`` out; ``init_std`` puts
    ``nn.init.normal_(0, init_std)`` on the LSTM's weight matrices and hidden2tag.weight."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t_start = time.time()
    training_data, held_out = make_data(n_train)

    word_to_ix = {}
    for sentence, tags in training_data + held_out:
        for word in sentence:
            if word not in word_to_ix:
                word_to_ix[word] = len(word_to_ix)

    tag_to_ix = {"B": 0, "I": 1, "O": 2, START_TAG: 3, STOP_TAG: 4}

    model = BiLSTM_CRF(len(word_to_ix), tag_to_ix, EMBEDDING_DIM, HIDDEN_DIM, trans_scale=trans_scale)
    if init_std is not None:  # the bug: N(0, init_std) on every weight matrix of the LSTM and hidden2tag
        for name, p in model.named_parameters():
            if name.startswith(("lstm.weight", "hidden2tag.weight")):
                nn.init.normal_(p, 0.0, init_std)
    lr, weight_decay = 0.01 * lr_mult, 1e-4 * wd_mult
    optimizer = optim.SGD(model.parameters(), lr=lr, weight_decay=weight_decay)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    # Check predictions before training
    initial, initial_acc, _ = evaluate(model, held_out, word_to_ix, tag_to_ix)
    losses, epoch_losses = [], []
    for epoch in range(epochs):
        for sentence, tags in training_data:
            # Step 1. Remember that Pytorch accumulates gradients.
            # We need to clear them out before each instance
            if zero_grad:  # the bug when False: the gradients of every sentence so far add up
                model.zero_grad()

            # Step 2. Get our inputs ready for the network, that is,
            # turn them into Variables of word indices.
            sentence_in = prepare_sequence(sentence, word_to_ix)
            targets = torch.LongTensor([tag_to_ix[t] for t in tags])

            # Step 3. Run our forward pass.
            neg_log_likelihood = model.neg_log_likelihood(sentence_in, targets)

            # Step 4. Compute the loss, gradients, and update the parameters by
            # calling optimizer.step()
            neg_log_likelihood.backward()
            monitor.step(neg_log_likelihood)  # gradmedic
            optimizer.step()
            losses.append(neg_log_likelihood.item())
        epoch_losses.append(float(np.mean(losses[-len(training_data):])))
        if verbose:
            print(f"epoch {epoch + 1} mean NLL {epoch_losses[-1]:.4f} ({time.time() - t_start:.1f}s)", flush=True)
    monitor.close()

    # Check predictions after training
    nll, acc, failed = evaluate(model, held_out, word_to_ix, tag_to_ix)
    o_share = sum(t == "O" for _, tags in held_out for t in tags) / sum(len(tags) for _, tags in held_out)
    if verbose:
        print(f"held-out NLL {initial:.4f} -> {nll:.4f}; tag accuracy {initial_acc:.4f} -> {acc:.4f} "
              f"(all-O {o_share:.4f}); {time.time() - t_start:.1f}s")
    value = nll if math.isfinite(nll) else float("nan")
    return {"monitors": {"": monitor}, "metric": "held_out_nll", "value": value, "chance": None,
            "initial": float(initial),
            "initial_what": "untrained: the held-out sentences' mean neg_log_likelihood before the first step",
            "extra": {"held_out_accuracy": float(acc), "held_out_accuracy_initial": float(initial_acc),
                      "all_O_accuracy": float(o_share), "failed_decodes": failed, "steps": len(losses),
                      "epochs": epochs, "lr": lr, "weight_decay": weight_decay, "n_train": len(training_data),
                      "n_held_out": len(held_out), "vocab": len(word_to_ix),
                      "held_out_tokens": sum(len(t) for _, t in held_out),
                      "epoch_losses": epoch_losses, "last_step_losses": float(np.mean(losses[-20:]))},
            "seconds": time.time() - t_start}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="bilstmcrf", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_W = f"BiLSTM_CRF (Embedding 8, BiLSTM 2x4, CRF over B/I/O; {EPOCHS} epochs of 150 sentences, one per step)"
CASES: list[dict] = (
    [_case(f"bilstmcrf_healthy_s{s}", "healthy", s, {}, f"{_W}: unchanged (neg_log_likelihood, SGD lr 0.01 "
           "weight_decay 1e-4, model.zero_grad() per sentence)", False) for s in (1, 2, 3)]
    + [_case(f"bilstmcrf_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_W}: SGD lr x{k} ({0.01 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("bilstmcrf_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_W}: SGD lr /1000 (1e-05)")]
    + [_case("bilstmcrf_trans_x100_s1", "init_large", 1, {"trans_scale": 100.0},
             f"{_W}: transitions = nn.Parameter(torch.randn(5, 5) * 100) instead of torch.randn(5, 5) (the "
             "START/STOP -10000 constraints set after, as upstream)")]
    + [_case("bilstmcrf_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_W}: nn.init.normal_(std=1.0) on the LSTM's weight_ih/weight_hh (both directions) and "
             "hidden2tag.weight instead of PyTorch's default init (biases kept)")]
    + [_case("bilstmcrf_wd_x1000_s1", "init_small", 1, {"wd_mult": 1000.0},
             f"{_W}: SGD weight_decay x1000 (0.1 instead of 1e-4)")]
    + [_case("bilstmcrf_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_W}: model.zero_grad() left out of the loop: the gradients of every sentence so far add up")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
