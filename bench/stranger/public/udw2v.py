"""Udacity deep-learning-v2-pytorch, word2vec with negative sampling (``SkipGramNeg``, ``NegativeSamplingLoss``, Adam
lr 0.003, the notebook's subsampling, ``get_target`` and ``get_batches``), on a shipped excerpt of Anna Karenina
instead of text8, watched by gradmedic.

Adapted from https://github.com/udacity/deep-learning-v2-pytorch (commit c9404fc86181fc3f0906b368697268257f348535;
"word2vec-embeddings/Negative_Sampling_Solution.ipynb" and "word2vec-embeddings/utils.py", both last changed in
4e4a3bc2059a45623845b1de63d86f2fd20be34e; MIT License, Copyright (c) 2018 Udacity, see LICENSE-udw2v).

Kept as in the notebook: ``utils.preprocess`` (lower case, the punctuation tokens ``<PERIOD>``, ``<COMMA>``, ...,
words with 5 or fewer occurrences removed) and ``utils.create_lookup_tables`` (ids by falling frequency); the
subsampling ``p_drop = 1 - sqrt(threshold / freq)``, ``train_words = [w for w in int_words if random.random() < (1 -
p_drop[w])]`` (done once, as in the notebook); ``get_target`` (a random window ``R`` in 1..5 on each side) and
``get_batches`` (only full batches of 512 words, every (word, context word) pair of a batch); the noise distribution
``unigram_dist**0.75`` normalized, from the sorted word frequencies; ``SkipGramNeg(n_vocab, 300, noise_dist)``: two
``nn.Embedding(n_vocab, 300)`` tables, both ``weight.data.uniform_(-1, 1)``, ``forward_input``, ``forward_output``,
``forward_noise`` (``torch.multinomial(noise_dist, batch_size * n_samples, replacement=True)``, 5 noise words per
pair); ``NegativeSamplingLoss`` line for line (``torch.bmm(...).sigmoid().log()`` for the true and the negated noise
vectors, ``-(out_loss + noise_loss).mean()``); ``optim.Adam(model.parameters(), lr=0.003)``; the loop per batch:
input, output and noise vectors, ``loss = criterion(...)``, ``optimizer.zero_grad()``, ``loss.backward()``,
``optimizer.step()``.

Changed to run offline on one CPU thread: text8 (a 100 MB download) is udw2v.txt, the first 49,974 characters of
"recurrent-neural-networks/char-rnn/data/anna.txt", which the same upstream repository ships (Tolstoy's Anna
Karenina in Constance Garnett's translation, public domain; chapter 1 to the end of chapter 5), quoted into the file
unchanged: 10,783 tokens (1,884 distinct), 8,132 of them kept by ``preprocess`` (241 distinct words); the
subsampling threshold 1e-3 (the original word2vec tool's default ``-sample 1e-3``) instead of the notebook's 1e-5, which
is tuned to text8's 17M words: on this text every kept word has a frequency of at least 7e-4, so 1e-5 would leave a
few hundred training words, less than one batch of 512, where 1e-3 leaves about 3,110 (6 batches of 512, ~3,000
(word, context) pairs each); 40 epochs (240 steps) instead of 5 epochs over text8 (~4,600 batches each), to fit the
time of a case (a run takes 16-22 s on the shared machine, above the ~15 s aimed at; the healthy loss is still
falling at the end); ``random.seed(seed)``, ``np.random.seed(seed)`` and
``torch.manual_seed(seed)`` first (the notebook seeds nothing); ``forward_noise`` picks its device from
``self.out_embed`` instead of the notebook's global ``model`` (the same thing, device "cpu"); the every-1500-steps
print of the loss and of ``cosine_similarity`` neighbours and the t-SNE plot are left out.  The metric is the final
training loss, the mean of the last 10 batches' losses (lower is better); the reference ("initial") is the mean of
the first 5 batches' losses.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after ``optimizer =
optim.Adam(...)``, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``;
``monitor.close()`` after the loop.

``CASES`` (program "udw2v"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10 (0.03), x100 (0.3; seeds 1 and 2), /1000 (3e-6); both embedding tables ``normal_(0, 10)``
and, separately, ``normal_(0, 1)`` instead of ``uniform_(-1, 1)`` (init_large); ``optimizer.zero_grad()`` left out;
``noise_dist=None`` (SkipGramNeg's own uniform noise; cause "healthy") and lr x2 (0.006), both expected harmless.
Labels come from run.py's outcome rules only.  (A wrong-loss case, ``NegativeSamplingLoss`` without
``noise_vectors.neg()``, was recorded once and dropped: its loss is a different function that falls to 0.07, so the
final-loss metric cannot judge it against the control's.)

Recorded (cases-public55, 12 runs of 16-26 s on the shared machine): healthy final loss 2.76, 2.82, 2.74 on seeds
1-3 from 13.9, 14.5, 14.3 (every loss finite).  Healthy: lr x10, 2.13 (from 11.7); lr x2, 2.11; uniform noise, 2.57.
Broken: lr x100, NaN on both seeds (the loss rose to 18.5 and 19.1, then ``sigmoid().log()`` gave -inf); lr /1000,
14.24 (from 14.20: no progress); N(0, 10) init, NaN from the first step (dot products of ~1,700 underflow
``sigmoid`` to 0 and ``log`` to -inf; the reference is NaN too); N(0, 1) init, 8.82 from 41.1 (over 3x its control).
Ambiguous: zero_grad left out, 4.92 from 13.8 (1.8x its control: not twice, not within 10%).  In all: 6 healthy (3
programs, 3 variants), 5 broken, 1 ambiguous.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
import torch.optim as optim
from torch import nn

import gradmedic

ARCH = "embedding"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = optim.Adam(model.parameters(), lr=0.003); "
              "monitor.step(loss) right after loss.backward(), before optimizer.step()")
TEXT = Path(__file__).with_name("udw2v.txt")
EPOCHS = 40  # upstream: 5 epochs over text8; here 40 epochs of 6 batches (see the docstring)
LR = 0.003
THRESHOLD = 1e-3  # upstream: 1e-5 (tuned to text8's 17M words; see the docstring)


# --- word2vec-embeddings/utils.py ---
def preprocess(text):

    # Replace punctuation with tokens so we can use them in our model
    text = text.lower()
    text = text.replace('.', ' <PERIOD> ')
    text = text.replace(',', ' <COMMA> ')
    text = text.replace('"', ' <QUOTATION_MARK> ')
    text = text.replace(';', ' <SEMICOLON> ')
    text = text.replace('!', ' <EXCLAMATION_MARK> ')
    text = text.replace('?', ' <QUESTION_MARK> ')
    text = text.replace('(', ' <LEFT_PAREN> ')
    text = text.replace(')', ' <RIGHT_PAREN> ')
    text = text.replace('--', ' <HYPHENS> ')
    text = text.replace('?', ' <QUESTION_MARK> ')
    # text = text.replace('\n', ' <NEW_LINE> ')
    text = text.replace(':', ' <COLON> ')
    words = text.split()

    # Remove all words with  5 or fewer occurences
    word_counts = Counter(words)
    trimmed_words = [word for word in words if word_counts[word] > 5]

    return trimmed_words


def create_lookup_tables(words):
    """
    Create lookup tables for vocabulary
    :param words: Input list of words
    :return: Two dictionaries, vocab_to_int, int_to_vocab
    """
    word_counts = Counter(words)
    # sorting the words from most to least frequent in text occurrence
    sorted_vocab = sorted(word_counts, key=word_counts.get, reverse=True)
    # create int_to_vocab dictionaries
    int_to_vocab = {ii: word for ii, word in enumerate(sorted_vocab)}
    vocab_to_int = {word: ii for ii, word in int_to_vocab.items()}

    return vocab_to_int, int_to_vocab


# --- the notebook ---
def get_target(words, idx, window_size=5):
    ''' Get a list of words in a window around an index. '''

    R = np.random.randint(1, window_size+1)
    start = idx - R if (idx - R) > 0 else 0
    stop = idx + R
    target_words = words[start:idx] + words[idx+1:stop+1]

    return list(target_words)


def get_batches(words, batch_size, window_size=5):
    ''' Create a generator of word batches as a tuple (inputs, targets) '''

    n_batches = len(words)//batch_size

    # only full batches
    words = words[:n_batches*batch_size]

    for idx in range(0, len(words), batch_size):
        x, y = [], []
        batch = words[idx:idx+batch_size]
        for ii in range(len(batch)):
            batch_x = batch[ii]
            batch_y = get_target(batch, ii, window_size)
            y.extend(batch_y)
            x.extend([batch_x]*len(batch_y))
        yield x, y


class SkipGramNeg(nn.Module):
    def __init__(self, n_vocab, n_embed, noise_dist=None, init_std=None):
        super().__init__()

        self.n_vocab = n_vocab
        self.n_embed = n_embed
        self.noise_dist = noise_dist

        # define embedding layers for input and output words
        self.in_embed = nn.Embedding(n_vocab, n_embed)
        self.out_embed = nn.Embedding(n_vocab, n_embed)

        # Initialize embedding tables with uniform distribution
        # I believe this helps with convergence
        if init_std is None:
            self.in_embed.weight.data.uniform_(-1, 1)
            self.out_embed.weight.data.uniform_(-1, 1)
        else:  # the init_large variant
            self.in_embed.weight.data.normal_(0, init_std)
            self.out_embed.weight.data.normal_(0, init_std)

    def forward_input(self, input_words):
        input_vectors = self.in_embed(input_words)
        return input_vectors

    def forward_output(self, output_words):
        output_vectors = self.out_embed(output_words)
        return output_vectors

    def forward_noise(self, batch_size, n_samples):
        """ Generate noise vectors with shape (batch_size, n_samples, n_embed)"""
        if self.noise_dist is None:
            # Sample words uniformly
            noise_dist = torch.ones(self.n_vocab)
        else:
            noise_dist = self.noise_dist

        # Sample words from our noise distribution
        noise_words = torch.multinomial(noise_dist,
                                        batch_size * n_samples,
                                        replacement=True)

        device = "cuda" if self.out_embed.weight.is_cuda else "cpu"  # upstream: model.out_embed (the global)
        noise_words = noise_words.to(device)

        noise_vectors = self.out_embed(noise_words).view(batch_size, n_samples, self.n_embed)

        return noise_vectors


class NegativeSamplingLoss(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, input_vectors, output_vectors, noise_vectors):

        batch_size, embed_size = input_vectors.shape

        # Input vectors should be a batch of column vectors
        input_vectors = input_vectors.view(batch_size, embed_size, 1)

        # Output vectors should be a batch of row vectors
        output_vectors = output_vectors.view(batch_size, 1, embed_size)

        # bmm = batch matrix multiplication
        # correct log-sigmoid loss
        out_loss = torch.bmm(output_vectors, input_vectors).sigmoid().log()
        out_loss = out_loss.squeeze()

        # incorrect log-sigmoid loss
        noise_loss = torch.bmm(noise_vectors.neg(), input_vectors).sigmoid().log()
        noise_loss = noise_loss.squeeze().sum(1)  # sum the losses over the sample of noise vectors

        # negate and sum correct and noisy log-sigmoid losses
        # return average batch loss
        return -(out_loss + noise_loss).mean()


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, zero_grad: bool = True,
          uniform_noise: bool = False, epochs: int = EPOCHS, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    t0 = time.time()
    text = TEXT.read_text(encoding="utf-8")
    words = preprocess(text)
    vocab_to_int, int_to_vocab = create_lookup_tables(words)
    int_words = [vocab_to_int[word] for word in words]

    threshold = THRESHOLD
    word_counts = Counter(int_words)
    total_count = len(int_words)
    freqs = {word: count/total_count for word, count in word_counts.items()}
    p_drop = {word: 1 - np.sqrt(threshold/freqs[word]) for word in word_counts}
    # discard some frequent words, according to the subsampling equation
    # create a new list of words for training
    train_words = [word for word in int_words if random.random() < (1 - p_drop[word])]

    # Get our noise distribution
    # Using word frequencies calculated earlier in the notebook
    word_freqs = np.array(sorted(freqs.values(), reverse=True))
    unigram_dist = word_freqs/word_freqs.sum()
    noise_dist = torch.from_numpy(unigram_dist**(0.75)/np.sum(unigram_dist**(0.75)))

    # instantiating the model
    embedding_dim = 300
    model = SkipGramNeg(len(vocab_to_int), embedding_dim, noise_dist=None if uniform_noise else noise_dist,
                        init_std=init_std)

    # using the loss that we defined
    criterion = NegativeSamplingLoss()
    lr = LR * lr_mult
    optimizer = optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)

    losses = []
    steps = 0
    # train for some number of epochs
    for e in range(epochs):

        # get our input, target batches
        for input_words, target_words in get_batches(train_words, 512):
            steps += 1
            inputs, targets = torch.LongTensor(input_words), torch.LongTensor(target_words)

            # input, output, and noise vectors
            input_vectors = model.forward_input(inputs)
            output_vectors = model.forward_output(targets)
            noise_vectors = model.forward_noise(inputs.shape[0], 5)

            # negative sampling loss
            loss = criterion(input_vectors, output_vectors, noise_vectors)

            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())
        if verbose and (e + 1) % max(1, epochs // 10) == 0:
            print(f"Epoch: {e + 1}/{epochs} Loss: {np.mean(losses[-10:]):.4f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    value = float(np.mean(losses[-10:]))
    initial = float(np.mean(losses[:5]))
    fin = np.isfinite(losses)
    return {"monitors": {"": monitor}, "metric": "loss", "value": value, "chance": None,
            "initial": initial, "initial_what": "untrained: mean negative-sampling loss of the first 5 steps",
            "extra": dict(train_loss=value, first_loss=initial,
                          max_loss=float(np.max(np.asarray(losses)[fin])) if fin.any() else float("nan"),
                          finite_losses=bool(fin.all()), steps=steps, epochs=epochs, lr=lr, lr_mult=lr_mult,
                          init_std=-1.0 if init_std is None else float(init_std), zero_grad=zero_grad,
                          uniform_noise=uniform_noise, n_vocab=len(vocab_to_int),
                          words=len(int_words), train_words=len(train_words), pairs_last_batch=len(input_words)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="udw2v", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"Udacity SkipGramNeg (two Embedding(241, 300) tables, uniform_(-1, 1)), NegativeSamplingLoss with 5 noise "
      f"words from unigram^0.75, Adam lr {LR:g}, batches of 512 words, {EPOCHS} epochs of 6 steps")
CASES: list[dict] = (
    [_case(f"udw2v_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"udw2v_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("udw2v_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case("udw2v_init_std10_s1", "init_large", 1, {"init_std": 10.0},
             f"{_P}: both embedding tables normal_(0, 10) instead of uniform_(-1, 1)")]
    + [_case("udw2v_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_P}: both embedding tables normal_(0, 1) instead of uniform_(-1, 1)")]
    + [_case("udw2v_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("udw2v_uniform_noise_s1", "healthy", 1, {"uniform_noise": True},
             f"{_P}: noise_dist=None (SkipGramNeg's own default: noise words drawn uniformly)")]
    + [_case("udw2v_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: lr x2 ({LR * 2:g})")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
