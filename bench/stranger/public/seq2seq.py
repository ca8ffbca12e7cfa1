"""pytorch/tutorials' seq2seq translation tutorial (GRU encoder, GRU decoder with Bahdanau attention, teacher
forcing, NLLLoss, two Adam optimizers) on a generated French -> English corpus, watched by gradmedic.

Adapted from https://github.com/pytorch/tutorials, intermediate_source/seq2seq_translation_tutorial.py ("NLP From
Scratch: Translation with a Sequence to Sequence Network and Attention", Sean Robertson; BSD 3-Clause License,
Copyright (c) 2017-2022 Pytorch contributors, see LICENSE-pytorch-tutorials), the batched version on master (the
one with ``BahdanauAttention``, ``get_dataloader`` and ``train_epoch``).  The code index used here stores only the
older per-sentence versions of that file (commits 803c1b1273a47bc53bb6cd5f63eecfb897bbc856 and
05e7ce2c19e72d482475d91d458db210cdacec38: ``AttnDecoderRNN`` with a ``max_length`` attention Linear, SGD lr 0.01),
so the batched code was followed from the published tutorial (its lines reproduced in public copies of it, e.g.
``train_epoch`` and ``train`` verbatim); its Lang, readLangs, filterPair and prepareData parts are those of the
stored commits (the batched version's ``normalizeString`` drops the periods too and strips the result).

Kept as in the tutorial: ``SOS_token = 0``, ``EOS_token = 1``, ``Lang`` (word2index, word2count, index2word with
SOS and EOS, n_words), ``unicodeToAscii`` and ``normalizeString``, ``MAX_LENGTH = 10``, ``eng_prefixes`` and
``filterPair``/``filterPairs``, ``prepareData(..., reverse=True)`` (the pairs are English -> French and reversed:
the network translates French into English), ``indexesFromSentence``, ``get_dataloader`` (each sentence's ids plus
EOS in a zero-filled (n, MAX_LENGTH) array - padding with 0, which is the SOS id, as upstream - a ``TensorDataset``
and a ``DataLoader`` with a ``RandomSampler``), ``EncoderRNN`` (Embedding, dropout 0.1, GRU batch_first),
``BahdanauAttention`` (``Va(tanh(Wa(query) + Ua(keys)))``, softmax, bmm), ``AttnDecoderRNN`` (Embedding, attention,
GRU over [embedded; context], Linear out, dropout 0.1; MAX_LENGTH decoding steps from SOS with the target as the
next input - teacher forcing - and ``F.log_softmax`` over the stacked outputs), PyTorch's default initialization
(the tutorial sets none), ``train_epoch`` (both optimizers' zero_grad, encoder, decoder with the target,
``nn.NLLLoss`` over every one of the MAX_LENGTH positions - the padding too, as upstream -, backward,
``encoder_optimizer.step()``, ``decoder_optimizer.step()``; no clipping), ``train`` (two ``optim.Adam`` at
learning_rate 0.001, ``nn.NLLLoss()``), hidden_size 128, batch_size 32.

Changed:
- the data: eng-fra.txt (tatoeba via manythings.org) cannot be downloaded, so ``make_pairs`` generates a small
  deterministic parallel corpus in the tutorial's form ("he is buying three red cars." -> "il achete trois
  voitures rouges."): six subjects of ``eng_prefixes`` (i am, he is, she is, you are, we are, they are), four verbs
  conjugated per subject (buying/acheter, painting/peindre, selling/vendre, washing/laver; "je" elided before a
  vowel, the apostrophe removed as normalizeString does: "j achete"), the numbers two..ten, eight nouns with their
  gender and six adjectives agreeing in gender and number, colours after the noun and grand/petit before it (word
  order changes: "three red cars" -> "trois voitures rouges", "three big cars" -> "trois grandes voitures").  Of the
  10368 sentences, 1024 pairs drawn once with ``random.Random(0)`` (the same for every run) are the training set;
  readLangs reads them from that list instead of the file (normalized the same way); prepareData prints nothing.
  The input (French) Lang has 55 entries with SOS and EOS, the output (English) 38; sentences of 5-6 words.
- the size: 12 epochs of 32 steps (384 steps) instead of 80 epochs over ~11k pairs; hidden_size 128 and batch 32
  kept.  A run takes ~25-40 s on one (shared) CPU thread.
- ``torch.manual_seed(seed)`` and a ``torch.Generator`` seeded with the seed for the RandomSampler (upstream seeds
  nothing); ``device`` is the CPU; no plotting, no evaluation printout, no timing helpers.
- the bugs of the variants, in ``train``'s arguments: ``lr_mult`` (both Adams' rate), ``init_std`` (normal_(0, std)
  on every Linear and GRU weight matrix of both models, biases and embeddings kept), ``zero_out`` (zeros_ on the
  decoder's output Linear, weight and bias), ``softmax_out`` (the decoder returns ``F.softmax`` probabilities
  instead of ``F.log_softmax`` and ``nn.NLLLoss`` is applied to them: the loss minimized is minus the mean
  probability of the target).

The watch: one monitor on a ``Seq2Seq`` wrapper ``nn.Module`` holding the encoder and the decoder (no forward of
its own: the loop calls both as upstream), ``gradmedic.watch(model, decoder_optimizer, every=10)`` right after the
optimizers are built (the decoder's Adam: both optimizers have the same rate and step together, so its learning
rate and step count are the loop's; the encoder's Adam steps right before it), ``monitor.step(loss)`` after
``loss.backward()``, before ``encoder_optimizer.step()`` and ``decoder_optimizer.step()``.

Metric: ``train_loss``, the mean of the last 20 steps' training NLL against the mean of the first 5 (``initial``).
The NLL of a step is the loss the program minimizes, except for ``softmax_out``, whose minimized loss is minus a
probability (in [-1, 0]): there the step's NLL is ``nll_loss(log(probabilities))`` of the same forward pass (the
probabilities clamped at float32's smallest normal number before the log, so that an underflowed 0 reads as a
large finite loss; the monitor still gets the program's own loss), so that all runs are measured in the same units.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the same
seed's healthy run: Adam lr x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) on every Linear and GRU weight
(seeds 1 and 2); zeros on the decoder's output Linear; softmax probabilities into NLLLoss (seeds 1 and 2).  No
input-scaling or clipping variant: the inputs are token ids and the tutorial does not clip.  Labels come from
run.py's outcome rules only.
Recorded (cases-public7, 488 s for the 13 runs): healthy 0.020, 0.008, 0.007 on seeds 1-3 (from ~3.3; every
training sentence decoded exactly by greedy decoding); lr x10 trains as well (0.0003, labelled healthy); lr x100
ends at 1.02 and 0.57 (seeds 1, 2), x1000 at 13.7 (from 30), /1000 at 3.61 (from 3.67), N(0, 1) at 14.7 and 13.5,
the zeroed output Linear at 0.76 (it learns, slowly: every gradient below ``out`` is 0 until its first update),
softmax into NLLLoss at 2.35 and 2.21 (NLL; its own loss -0.72 and -0.68): all broken.
"""

from __future__ import annotations

import random
import re
import time
import unicodedata

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.utils.data import DataLoader, RandomSampler, TensorDataset

import gradmedic

ARCH = "gru"
MONITOR_AT = ("one watch on a wrapper nn.Module holding encoder and decoder, with the decoder's Adam (both Adams "
              "step together at the same lr); monitor.step(loss) after loss.backward() (NLLLoss over the batch's "
              "MAX_LENGTH positions), before encoder_optimizer.step() and decoder_optimizer.step()")

device = torch.device("cpu")

SOS_token = 0
EOS_token = 1


class Lang:
    def __init__(self, name):
        self.name = name
        self.word2index = {}
        self.word2count = {}
        self.index2word = {0: "SOS", 1: "EOS"}
        self.n_words = 2  # Count SOS and EOS

    def addSentence(self, sentence):
        for word in sentence.split(' '):
            self.addWord(word)

    def addWord(self, word):
        if word not in self.word2index:
            self.word2index[word] = self.n_words
            self.word2count[word] = 1
            self.index2word[self.n_words] = word
            self.n_words += 1
        else:
            self.word2count[word] += 1


# Turn a Unicode string to plain ASCII, thanks to
# https://stackoverflow.com/a/518232/2809427
def unicodeToAscii(s):
    return ''.join(
        c for c in unicodedata.normalize('NFD', s)
        if unicodedata.category(c) != 'Mn'
    )


# Lowercase, trim, and remove non-letter characters
def normalizeString(s):
    s = unicodeToAscii(s.lower().strip())
    s = re.sub(r"([.!?])", r" \1", s)
    s = re.sub(r"[^a-zA-Z!?]+", r" ", s)
    return s.strip()


# ---- the generated corpus (replaces data/eng-fra.txt) ----------------------------------------------------------
_SUBJECTS = [("I am", "je", 0), ("He is", "il", 1), ("She is", "elle", 1), ("You are", "vous", 2),
             ("We are", "nous", 3), ("They are", "ils", 4)]
_VERBS = [("buying", ["achète", "achète", "achetez", "achetons", "achètent"]),
          ("painting", ["peins", "peint", "peignez", "peignons", "peignent"]),
          ("selling", ["vends", "vend", "vendez", "vendons", "vendent"]),
          ("washing", ["lave", "lave", "lavez", "lavons", "lavent"])]
_NUMBERS = [("two", "deux"), ("three", "trois"), ("four", "quatre"), ("five", "cinq"), ("six", "six"),
            ("seven", "sept"), ("eight", "huit"), ("nine", "neuf"), ("ten", "dix")]
_NOUNS = [("cars", "voitures", "f"), ("houses", "maisons", "f"), ("chairs", "chaises", "f"), ("tables", "tables", "f"),
          ("boats", "bateaux", "m"), ("books", "livres", "m"), ("bikes", "vélos", "m"), ("walls", "murs", "m")]
_ADJS = [("red", "rouges", "rouges", False), ("green", "verts", "vertes", False),
         ("black", "noirs", "noires", False), ("white", "blancs", "blanches", False),
         ("big", "grands", "grandes", True), ("small", "petits", "petites", True)]  # True: before the noun


def make_pairs():
    """Every sentence of the toy grammar as an "English<TAB>French" line, in a fixed order."""
    lines = []
    for eng_s, fra_s, conj in _SUBJECTS:
        for eng_v, fra_vs in _VERBS:
            fra_v = fra_vs[conj]
            subj = "j'" if fra_s == "je" and fra_v[0] in "aeiou" else fra_s + " "
            for eng_n, fra_n in _NUMBERS:
                for eng_noun, fra_noun, g in _NOUNS:
                    for eng_a, fra_am, fra_af, before in _ADJS:
                        fra_a = fra_af if g == "f" else fra_am
                        np_fra = f"{fra_a} {fra_noun}" if before else f"{fra_noun} {fra_a}"
                        lines.append(f"{eng_s} {eng_v} {eng_n} {eng_a} {eng_noun}.\t"
                                     f"{subj[0].upper()}{subj[1:]}{fra_v} {fra_n} {np_fra}.")
    return lines


N_PAIRS = 1024


def readLangs(lang1, lang2, reverse=False):
    # Read the generated lines (upstream: open('data/%s-%s.txt' % (lang1, lang2)).read().strip().split('\n'))
    lines = random.Random(0).sample(make_pairs(), N_PAIRS)

    # Split every line into pairs and normalize
    pairs = [[normalizeString(s) for s in line.split('\t')] for line in lines]

    # Reverse pairs, make Lang instances
    if reverse:
        pairs = [list(reversed(p)) for p in pairs]
        input_lang = Lang(lang2)
        output_lang = Lang(lang1)
    else:
        input_lang = Lang(lang1)
        output_lang = Lang(lang2)

    return input_lang, output_lang, pairs


MAX_LENGTH = 10

eng_prefixes = (
    "i am ", "i m ",
    "he is", "he s ",
    "she is", "she s ",
    "you are", "you re ",
    "we are", "we re ",
    "they are", "they re "
)


def filterPair(p):
    return len(p[0].split(' ')) < MAX_LENGTH and \
        len(p[1].split(' ')) < MAX_LENGTH and \
        p[1].startswith(eng_prefixes)


def filterPairs(pairs):
    return [pair for pair in pairs if filterPair(pair)]


def prepareData(lang1, lang2, reverse=False):
    input_lang, output_lang, pairs = readLangs(lang1, lang2, reverse)
    pairs = filterPairs(pairs)
    for pair in pairs:
        input_lang.addSentence(pair[0])
        output_lang.addSentence(pair[1])
    return input_lang, output_lang, pairs


class EncoderRNN(nn.Module):
    def __init__(self, input_size, hidden_size, dropout_p=0.1):
        super().__init__()
        self.hidden_size = hidden_size

        self.embedding = nn.Embedding(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, input):
        embedded = self.dropout(self.embedding(input))
        output, hidden = self.gru(embedded)
        return output, hidden


class BahdanauAttention(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.Wa = nn.Linear(hidden_size, hidden_size)
        self.Ua = nn.Linear(hidden_size, hidden_size)
        self.Va = nn.Linear(hidden_size, 1)

    def forward(self, query, keys):
        scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys)))
        scores = scores.squeeze(2).unsqueeze(1)

        weights = F.softmax(scores, dim=-1)
        context = torch.bmm(weights, keys)

        return context, weights


class AttnDecoderRNN(nn.Module):
    def __init__(self, hidden_size, output_size, dropout_p=0.1, softmax_out=False):
        super().__init__()
        self.embedding = nn.Embedding(output_size, hidden_size)
        self.attention = BahdanauAttention(hidden_size)
        self.gru = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, output_size)
        self.dropout = nn.Dropout(dropout_p)
        self.softmax_out = softmax_out  # the bug of a variant: probabilities instead of log-probabilities

    def forward(self, encoder_outputs, encoder_hidden, target_tensor=None):
        batch_size = encoder_outputs.size(0)
        decoder_input = torch.empty(batch_size, 1, dtype=torch.long, device=device).fill_(SOS_token)
        decoder_hidden = encoder_hidden
        decoder_outputs = []
        attentions = []

        for i in range(MAX_LENGTH):
            decoder_output, decoder_hidden, attn_weights = self.forward_step(
                decoder_input, decoder_hidden, encoder_outputs
            )
            decoder_outputs.append(decoder_output)
            attentions.append(attn_weights)

            if target_tensor is not None:
                # Teacher forcing: Feed the target as the next input
                decoder_input = target_tensor[:, i].unsqueeze(1)  # Teacher forcing
            else:
                # Without teacher forcing: use its own predictions as the next input
                _, topi = decoder_output.topk(1)
                decoder_input = topi.squeeze(-1).detach()  # detach from history as input

        decoder_outputs = torch.cat(decoder_outputs, dim=1)
        if self.softmax_out:
            decoder_outputs = F.softmax(decoder_outputs, dim=-1)
        else:
            decoder_outputs = F.log_softmax(decoder_outputs, dim=-1)
        attentions = torch.cat(attentions, dim=1)

        return decoder_outputs, decoder_hidden, attentions

    def forward_step(self, input, hidden, encoder_outputs):
        embedded = self.dropout(self.embedding(input))

        query = hidden.permute(1, 0, 2)
        context, attn_weights = self.attention(query, encoder_outputs)
        input_gru = torch.cat((embedded, context), dim=2)

        output, hidden = self.gru(input_gru, hidden)
        output = self.out(output)

        return output, hidden, attn_weights


def indexesFromSentence(lang, sentence):
    return [lang.word2index[word] for word in sentence.split(' ')]


def get_dataloader(batch_size, generator=None):
    input_lang, output_lang, pairs = prepareData('eng', 'fra', True)

    n = len(pairs)
    input_ids = np.zeros((n, MAX_LENGTH), dtype=np.int32)
    target_ids = np.zeros((n, MAX_LENGTH), dtype=np.int32)

    for idx, (inp, tgt) in enumerate(pairs):
        inp_ids = indexesFromSentence(input_lang, inp)
        tgt_ids = indexesFromSentence(output_lang, tgt)
        inp_ids.append(EOS_token)
        tgt_ids.append(EOS_token)
        input_ids[idx, :len(inp_ids)] = inp_ids
        target_ids[idx, :len(tgt_ids)] = tgt_ids

    train_data = TensorDataset(torch.LongTensor(input_ids).to(device),
                               torch.LongTensor(target_ids).to(device))

    train_sampler = RandomSampler(train_data, generator=generator)
    train_dataloader = DataLoader(train_data, sampler=train_sampler, batch_size=batch_size)
    return input_lang, output_lang, train_dataloader


class Seq2Seq(nn.Module):
    """The two models in one module, for one gradmedic watch (no forward: the loop calls each as upstream)."""

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder


def train_epoch(dataloader, encoder, decoder, encoder_optimizer,
                decoder_optimizer, criterion, monitor, losses, nlls):
    total_loss = 0
    for data in dataloader:
        input_tensor, target_tensor = data

        encoder_optimizer.zero_grad()
        decoder_optimizer.zero_grad()

        encoder_outputs, encoder_hidden = encoder(input_tensor)
        decoder_outputs, _, _ = decoder(encoder_outputs, encoder_hidden, target_tensor)

        loss = criterion(
            decoder_outputs.view(-1, decoder_outputs.size(-1)),
            target_tensor.view(-1)
        )
        loss.backward()
        monitor.step(loss)  # gradmedic

        encoder_optimizer.step()
        decoder_optimizer.step()

        total_loss += loss.item()
        losses.append(loss.item())
        if decoder.softmax_out:  # the outcome in the units of the other runs: the NLL of the same probabilities
            with torch.no_grad():
                probs = decoder_outputs.detach().view(-1, decoder_outputs.size(-1))
                logp = probs.clamp_min(torch.finfo(probs.dtype).tiny).log()
                nlls.append(F.nll_loss(logp, target_tensor.view(-1)).item())
        else:
            nlls.append(loss.item())

    return total_loss / len(dataloader)


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, zero_out: bool = False,
          softmax_out: bool = False, n_epochs: int = 12, every: int = 10, verbose: bool = False) -> dict:
    """One run of the tutorial; the variants: ``lr_mult`` (both Adams), ``init_std`` (normal_ on every Linear and
    GRU weight matrix), ``zero_out`` (zeros_ on decoder.out), ``softmax_out`` (softmax probabilities into NLLLoss)."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    g = torch.Generator()
    g.manual_seed(seed)

    hidden_size = 128
    batch_size = 32
    input_lang, output_lang, train_dataloader = get_dataloader(batch_size, generator=g)

    encoder = EncoderRNN(input_lang.n_words, hidden_size).to(device)
    decoder = AttnDecoderRNN(hidden_size, output_lang.n_words, softmax_out=softmax_out).to(device)
    if init_std is not None:  # the bug: N(0, std) on every weight matrix of the Linears and GRUs (biases kept)
        for m in list(encoder.modules()) + list(decoder.modules()):
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, init_std)
            elif isinstance(m, nn.GRU):
                for name, p in m.named_parameters():
                    if name.startswith("weight"):
                        nn.init.normal_(p, 0.0, init_std)
    if zero_out:  # the bug: zeros on the decoder's output Linear
        nn.init.zeros_(decoder.out.weight)
        nn.init.zeros_(decoder.out.bias)

    learning_rate = 0.001 * lr_mult
    encoder_optimizer = optim.Adam(encoder.parameters(), lr=learning_rate)
    decoder_optimizer = optim.Adam(decoder.parameters(), lr=learning_rate)
    criterion = nn.NLLLoss()
    monitor = gradmedic.watch(Seq2Seq(encoder, decoder), decoder_optimizer, every=every)

    losses: list[float] = []
    nlls: list[float] = []
    t0 = time.time()
    for epoch in range(1, n_epochs + 1):
        loss = train_epoch(train_dataloader, encoder, decoder, encoder_optimizer, decoder_optimizer, criterion,
                           monitor, losses, nlls)
        if verbose:
            print(f"epoch {epoch} loss {loss:.4f} nll {np.mean(nlls[-len(train_dataloader):]):.4f} "
                  f"({time.time() - t0:.1f}s)", flush=True)
    monitor.close()

    # greedy decoding of the training pairs (no teacher forcing), as the tutorial's evaluate: exact sentences
    encoder.eval()
    decoder.eval()
    correct = total = 0
    with torch.no_grad():
        for input_tensor, target_tensor in DataLoader(train_dataloader.dataset, batch_size=256):
            out, _, _ = decoder(*encoder(input_tensor))
            pred = out.argmax(-1)
            for p, t in zip(pred.tolist(), target_tensor.tolist(), strict=True):
                n = t.index(EOS_token) + 1
                correct += p[:n] == t[:n]
                total += 1
    value = float(np.mean(nlls[-20:]))
    return {"monitors": {"": monitor}, "metric": "train_loss", "value": value, "initial": float(np.mean(nlls[:5])),
            "chance": float(np.log(output_lang.n_words)),
            "initial_what": "untrained: mean training NLL of the first 5 steps",
            "extra": {"steps": len(losses), "epochs": n_epochs, "lr": learning_rate,
                      "pairs": len(train_dataloader.dataset),
                      "input_words": input_lang.n_words, "output_words": output_lang.n_words,
                      "program_loss_last20": float(np.mean(losses[-20:])),
                      "greedy_sentence_accuracy": correct / total},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="seq2seq", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"seq2seq_healthy_s{s}", "healthy", s, {}, "unchanged (EncoderRNN + AttnDecoderRNN with BahdanauAttention, "
           "hidden 128, teacher forcing, log_softmax + NLLLoss, two Adam lr 0.001, batch 32, 12 epochs of 32 steps)",
           False) for s in (1, 2, 3)]
    + [_case(f"seq2seq_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"both Adams' lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("seq2seq_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "both Adams' lr /1000 (1e-06)")]
    + [_case(f"seq2seq_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Linear weight and GRU weight_ih/weight_hh of encoder and decoder "
             "instead of PyTorch's default init (biases kept; the embeddings are N(0, 1) already)") for s in (1, 2)]
    + [_case("seq2seq_zero_out_s1", "symmetric_init", 1, {"zero_out": True},
             "nn.init.zeros_ on the decoder's output Linear (weight and bias)")]
    + [_case(f"seq2seq_softmax_nll_s{s}", "wrong_loss", s, {"softmax_out": True},
             "the decoder returns F.softmax probabilities instead of F.log_softmax, fed to nn.NLLLoss (the loss is "
             "minus the mean target probability; the outcome is the NLL of those probabilities)") for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = float(v) if k in ("lr_mult", "init_std") else (v == "1") if k in ("zero_out", "softmax_out") else int(v)
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
