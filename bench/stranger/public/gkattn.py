"""graykode/nlp-tutorial's Seq2Seq with attention (4-2.Seq2Seq(Attention): an RNN encoder, an RNN decoder and a
dot-product attention over the encoder's outputs), on a small synthetic translation corpus, watched by gradmedic.

Adapted from https://github.com/graykode/nlp-tutorial (commit d05e31ec81d56d70c1db89b99ab07e948f7ebc11, the newest;
4-2.Seq2Seq(Attention)/Seq2Seq(Attention).py, last changed in 5c4ed7f3cdec9f34baef489f967b91ebd885cc82; by Tae Hwan
Jung, after hunkim/PyTorchZeroToAll's 14_2_seq2seq_att.py; MIT License, Copyright (c) 2019 TaeHwan Jung, see
LICENSE-gkattn).

Kept as in the original: the ``Attention`` class unchanged (``enc_cell = nn.RNN(input_size=n_class,
hidden_size=n_hidden, dropout=0.5)``, the same for ``dec_cell``, ``attn = nn.Linear(n_hidden, n_hidden)``, ``out =
nn.Linear(n_hidden * 2, n_class)``; the forward pass one decoder step at a time, ``get_att_weight`` scoring each
encoder output with ``torch.dot(dec_output, attn(enc_output))`` and ``F.softmax`` over them, the context
``attn_weights.bmm(enc_outputs)``, ``out(cat(dec_output, context))``; batch size 1, as the class assumes), with
PyTorch's default init; the module globals it reads (``n_step = 5``, ``n_hidden = 128``, ``n_class``); the symbols
S (decoder start), E (end), P (padding) and ``make_batch`` (one-hot encoder and decoder inputs ``np.eye(n_class)``,
target indices); ``hidden = torch.zeros(1, 1, n_hidden)``; ``nn.CrossEntropyLoss()``,
``torch.optim.Adam(model.parameters(), lr=0.001)``; the loop: ``optimizer.zero_grad()``, forward with the decoder
fed the target shifted right (teacher forcing), ``criterion(output, target_batch.squeeze(0))``, ``loss.backward()``,
``optimizer.step()``, no clipping; the test as upstream (the decoder fed ``S P P P P`` and the argmax
read off, kept in ``extra``).

Changed: upstream trains on one sentence pair (``'ich mochte ein bier P'`` -> ``'i want a beer E'``) and has no
held-out text.  Here a fixed corpus is made by the code (``random.Random(0)``, the same for every run) from a toy
lexicon in upstream's style (upstream's own pair included): 5 subjects, 5 verbs, 3 articles, 8 nouns and 4 adverbs,
each a pseudo-German word with one English translation, in two templates, ``ich mochte ein bier`` -> ``i want a
beer`` (word for word) and ``heute mochte ich bier`` -> ``today i want beer`` (the German verb second, the English
subject first: a reordering the attention has to find); 400 training and 200 held-out pairs, disjoint, each
source 4 words + ``P`` (``n_step`` 5), 53 classes (upstream's ``word_dict`` over all words with S, E, P, in
``sorted`` instead of ``set`` order, which differs between Python processes).  Each step is one pair, as upstream
(the class takes batch size 1), the training pairs in an order shuffled each pass with the global generator: 3
passes of the 400 pairs, 1200 steps instead of upstream's 2000 (a step takes ~15 ms on one CPU thread, most of it
the backward pass through the per-score attention ops; 5 passes took 35-45 s on the shared machine).  ``torch.manual_seed(seed)``
(upstream seeds nothing); no plot and no prints (except under ``verbose``); ``n_class``, ``n_step``, ``n_hidden`` are
set as module globals by ``train()`` as upstream's ``__main__`` sets them; the ``F.softmax`` without ``dim`` and the
one-layer RNN's ``dropout`` warnings are silenced.  Added for the metric: the held-out mean cross-entropy with the
decoder fed the target shifted right, as in training, under ``torch.no_grad()`` after ``model.eval()``, before the
first step (``initial``) and after every pass, through the same output path as the training loss (with the
softmax variant's ``F.softmax`` too); the metric is the last one (``val_loss``).

The watch, as a user would add it: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the Adam is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the loop.

``CASES`` (name prefix ``gkattn``): the program on seeds 1-3, and one change each against the same seed's healthy
run: Adam lr x2, x10 (seeds 1 and 2), x100 (seeds 1 and 2), x1000, /1000 (seeds 1 and 2); ``normal_(0, 1)`` on every
weight of both RNNs and both Linears (seeds 1 and 2; the default is uniform +-1/sqrt(128) = +-0.088); ``zeros_`` on
every weight and bias (symmetric_init); ``optimizer.zero_grad()`` left out (seeds 1 and 2); ``F.softmax`` over the
output before ``CrossEntropyLoss`` (wrong_loss); the one-hot inputs replaced by each word's index as one raw float
feature (``input_size=1``, values 0..52; unscaled_inputs).  Upstream does not clip, so there is no clipping case.
Labels come from run.py's outcome rules only.
Recorded (cases-public31; 18 cases in ~4 min, 9-16 s a run on a shared 2-core machine): healthy held-out loss
0.587, 0.098, 0.535 on seeds 1-3 (from 3.97-3.98 untrained, log 53 = 3.97); seeds 1 and 3 are still falling after
the 1200 steps (1.23 -> 0.83 -> 0.59 over the passes on seed 1; at 2000 steps seed 1 reached 0.20 when tried by
hand), and upstream's ``S P P P P`` test gets 12% and 10% of the held-out sentences exactly right on them (81-82%
of the tokens) against 98.5% on seed 2.  Every variant is labelled broken: lr x2 1.29 (the loss levels off at
~1.2 from the second pass), x10 1.75 and 2.22 (losses up to 12-13), x100 23.1 and 17.7, x1000 203, /1000 3.95
and 3.94; ``normal_(0, 1)`` 23.2 and 23.1 (from 33-36); zeros 3.39 (only the output bias learns: every word
translated to E); no ``zero_grad`` 15.8 and 27.4; the softmax before CrossEntropyLoss 3.57 (its floor is log(e +
52) - 1 = 3.0); the raw word index 1.21.
"""

# upstream's code is kept as written (super(Class, self), the globals the class reads)
# ruff: noqa: UP008

from __future__ import annotations

import math
import random
import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import gradmedic

ARCH = "rnn"
MONITOR_AT = ("watch(model, optimizer, every=10) right after the Adam is built; monitor.step(loss) right after "
              "loss.backward() (CrossEntropyLoss over one sentence pair's 5 decoder steps), before optimizer.step()")

# S: Symbol that shows starting of decoding input
# E: Symbol that shows starting of decoding output
# P: Symbol that will fill in blank sequence if current batch data size is short than time steps

# the toy lexicon (upstream: the one pair 'ich mochte ein bier' -> 'i want a beer')
SUBJ = {"ich": "i", "du": "you", "er": "he", "sie": "she", "wir": "we"}
VERB = {"mochte": "want", "habe": "have", "sehe": "see", "kaufe": "buy", "finde": "find"}
ART = {"ein": "a", "das": "the", "kein": "no"}
NOUN = {"bier": "beer", "buch": "book", "haus": "house", "auto": "car", "hund": "dog", "brot": "bread",
        "wasser": "water", "apfel": "apple"}
ADV = {"heute": "today", "morgen": "tomorrow", "jetzt": "now", "oft": "often"}

n_step = 5  # number of cells(= number of Step)
n_hidden = 128  # number of hidden units in one cell
n_class = 0  # set by train() (vocab list)
word_dict: dict[str, int] = {}
index_input = False  # the unscaled-inputs variant: each word's index as one raw feature instead of one-hot


def corpus(n_train: int = 400, n_test: int = 200, data_seed: int = 0):
    """All sentence pairs of the two templates, shuffled once; upstream's pair is the first training pair."""
    pairs = []
    for s in SUBJ:
        for v in VERB:
            for a in ART:
                for n in NOUN:  # ich mochte ein bier -> i want a beer
                    pairs.append((f"{s} {v} {a} {n}", f"{SUBJ[s]} {VERB[v]} {ART[a]} {NOUN[n]}"))
    for d in ADV:
        for v in VERB:
            for s in SUBJ:
                for n in NOUN:  # heute mochte ich bier -> today i want beer
                    pairs.append((f"{d} {v} {s} {n}", f"{ADV[d]} {SUBJ[s]} {VERB[v]} {NOUN[n]}"))
    first = ("ich mochte ein bier", "i want a beer")
    pairs.remove(first)
    random.Random(data_seed).shuffle(pairs)
    pairs = [first] + pairs
    to_sentences = [[src + " P", "S " + tgt, tgt + " E"] for src, tgt in pairs]
    return to_sentences[:n_train], to_sentences[n_train:n_train + n_test]


def _encode(words):
    if index_input:  # the bug: the word's index as one raw float feature
        return np.array([[word_dict[n]] for n in words], dtype=np.float32)
    return np.eye(n_class)[[word_dict[n] for n in words]]


def make_batch(sentences):
    input_batch = [_encode(sentences[0].split())]
    output_batch = [_encode(sentences[1].split())]
    target_batch = [[word_dict[n] for n in sentences[2].split()]]

    # make tensor
    return (torch.FloatTensor(np.array(input_batch)), torch.FloatTensor(np.array(output_batch)),
            torch.LongTensor(target_batch))


class Attention(nn.Module):
    def __init__(self):
        super(Attention, self).__init__()
        in_size = 1 if index_input else n_class
        self.enc_cell = nn.RNN(input_size=in_size, hidden_size=n_hidden, dropout=0.5)
        self.dec_cell = nn.RNN(input_size=in_size, hidden_size=n_hidden, dropout=0.5)

        # Linear for attention
        self.attn = nn.Linear(n_hidden, n_hidden)
        self.out = nn.Linear(n_hidden * 2, n_class)

    def forward(self, enc_inputs, hidden, dec_inputs):
        enc_inputs = enc_inputs.transpose(0, 1)  # enc_inputs: [n_step(=n_step, time step), batch_size, n_class]
        dec_inputs = dec_inputs.transpose(0, 1)  # dec_inputs: [n_step(=n_step, time step), batch_size, n_class]

        # enc_outputs : [n_step, batch_size, num_directions(=1) * n_hidden], matrix F
        # enc_hidden : [num_layers(=1) * num_directions(=1), batch_size, n_hidden]
        enc_outputs, enc_hidden = self.enc_cell(enc_inputs, hidden)

        trained_attn = []
        hidden = enc_hidden
        n_step = len(dec_inputs)
        model = torch.empty([n_step, 1, n_class])

        for i in range(n_step):  # each time step
            # dec_output : [n_step(=1), batch_size(=1), num_directions(=1) * n_hidden]
            # hidden : [num_layers(=1) * num_directions(=1), batch_size(=1), n_hidden]
            dec_output, hidden = self.dec_cell(dec_inputs[i].unsqueeze(0), hidden)
            attn_weights = self.get_att_weight(dec_output, enc_outputs)  # attn_weights : [1, 1, n_step]
            trained_attn.append(attn_weights.squeeze().data.numpy())

            # matrix-matrix product of matrices [1,1,n_step] x [1,n_step,n_hidden] = [1,1,n_hidden]
            context = attn_weights.bmm(enc_outputs.transpose(0, 1))
            dec_output = dec_output.squeeze(0)  # dec_output : [batch_size(=1), num_directions(=1) * n_hidden]
            context = context.squeeze(1)  # [1, num_directions(=1) * n_hidden]
            model[i] = self.out(torch.cat((dec_output, context), 1))

        # make model shape [n_step, n_class]
        return model.transpose(0, 1).squeeze(0), trained_attn

    def get_att_weight(self, dec_output, enc_outputs):  # get attention weight one 'dec_output' with 'enc_outputs'
        n_step = len(enc_outputs)
        attn_scores = torch.zeros(n_step)  # attn_scores : [n_step]

        for i in range(n_step):
            attn_scores[i] = self.get_att_score(dec_output, enc_outputs[i])

        # Normalize scores to weights in range 0 to 1
        return F.softmax(attn_scores).view(1, 1, -1)

    def get_att_score(self, dec_output, enc_output):  # enc_outputs [batch_size, num_directions(=1) * n_hidden]
        score = self.attn(enc_output)  # score : [batch_size, n_hidden]
        return torch.dot(dec_output.view(-1), score.view(-1))  # inner product make scalar value


def _held_out(model, hidden, criterion, batches, softmax_out=False):
    """The held-out mean of the training loss (teacher forcing), through the same output path as in training."""
    model.eval()
    with torch.no_grad():
        outs = [(model(i, hidden, o)[0], t) for i, o, t in batches]
        losses = [criterion(F.softmax(out, dim=1) if softmax_out else out, t.squeeze(0)).item() for out, t in outs]
    model.train()
    return float(np.mean(losses))


def train(seed: int = 1, lr_mult: float = 1.0, init: str | None = None, zero_grad: bool = True,
          softmax_out: bool = False, raw_index: bool = False, passes: int = 3, every: int = 10,
          verbose: bool = False) -> dict:
    """Variants: ``lr_mult`` multiplies Adam's lr 0.001; ``init`` "std1" (``normal_(0, 1)`` on every weight) or
    "zeros" (every parameter); ``zero_grad=False`` leaves ``optimizer.zero_grad()`` out; ``softmax_out`` puts
    ``F.softmax`` on the output before CrossEntropyLoss; ``raw_index`` feeds each word's index as one float."""
    global n_class, word_dict, index_input
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    train_sentences, test_sentences = corpus()

    word_list = " ".join(s for tr in train_sentences + test_sentences for s in tr).split()
    word_list = sorted(set(word_list))  # upstream: list(set(word_list)), whose order changes between processes
    word_dict = {w: i for i, w in enumerate(word_list)}
    number_dict = {i: w for i, w in enumerate(word_list)}
    n_class = len(word_dict)  # vocab list
    index_input = raw_index

    # hidden : [num_layers(=1) * num_directions(=1), batch_size, n_hidden]
    hidden = torch.zeros(1, 1, n_hidden)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # dropout=0.5 on a one-layer RNN does nothing
        model = Attention()
    if init is not None:  # the variant: another init of every parameter
        for name, p in model.named_parameters():
            if init == "zeros":
                nn.init.zeros_(p)
            elif "weight" in name:  # "std1"
                nn.init.normal_(p, 0.0, 1.0)
    criterion = nn.CrossEntropyLoss()
    lr = 0.001 * lr_mult
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    train_batches = [make_batch(s) for s in train_sentences]
    test_batches = [make_batch(s) for s in test_sentences]

    losses: list[float] = []
    t0 = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # F.softmax without dim (upstream's)
        initial = _held_out(model, hidden, criterion, test_batches, softmax_out)
        per_pass = [initial]
        # Train
        for _pass in range(passes):
            for j in torch.randperm(len(train_batches)).tolist():
                input_batch, output_batch, target_batch = train_batches[j]
                if zero_grad:  # the variant leaves optimizer.zero_grad() out
                    optimizer.zero_grad()
                output, _ = model(input_batch, hidden, output_batch)
                if softmax_out:  # the bug: probabilities into CrossEntropyLoss
                    output = F.softmax(output, dim=1)

                loss = criterion(output, target_batch.squeeze(0))
                if verbose and (len(losses) + 1) % 400 == 0:
                    print('Step:', f'{len(losses) + 1:04d}', 'cost =', f'{np.mean(losses[-400:]):.6f}', flush=True)

                loss.backward()
                monitor.step(loss)  # gradmedic
                optimizer.step()
                losses.append(loss.item())
            per_pass.append(_held_out(model, hidden, criterion, test_batches, softmax_out))
            if verbose:
                print(f"pass {_pass + 1}: held-out loss {per_pass[-1]:.4f}", flush=True)
        monitor.close()
        seconds = time.time() - t0

        # Test (upstream's: the decoder fed S P P P P), on the held-out pairs
        model.eval()
        exact, tok = 0, 0
        with torch.no_grad():
            for input_batch, _, target_batch in test_batches:
                test_batch = torch.FloatTensor(np.array([_encode(list('SPPPP'))]))
                predict, trained_attn = model(input_batch, hidden, test_batch)
                predict = predict.data.max(1, keepdim=True)[1].squeeze()
                hit = (predict == target_batch.squeeze(0))
                exact += int(hit.all())
                tok += int(hit.sum())
        example = [number_dict[n.item()] for n in model(train_batches[0][0], hidden,
                                                         torch.FloatTensor(np.array([_encode(list('SPPPP'))])))[0]
                   .data.max(1, keepdim=True)[1].squeeze()]
    value = per_pass[-1]
    if verbose:
        print(f"held-out loss {value:.4f} (untrained {initial:.4f}); train loss {np.mean(losses[:5]):.4g} -> "
              f"{np.mean(losses[-20:]):.4g}; SPPPP test exact {exact / len(test_batches):.3f} tokens "
              f"{tok / (5 * len(test_batches)):.3f}; {train_sentences[0][0]} -> {example}; {seconds:.1f}s", flush=True)
    return {"monitors": {"": monitor}, "metric": "val_loss", "value": value, "initial": initial,
            "chance": float(math.log(n_class)),
            "initial_what": "untrained: the held-out mean cross-entropy (teacher forcing) before the first step",
            "extra": {"train_loss": float(np.mean(losses[-20:])), "initial_train_loss": float(np.mean(losses[:5])),
                      "val_loss_per_pass": per_pass, "steps": len(losses), "lr": lr, "n_class": n_class,
                      "sppp_test_exact": exact / len(test_batches), "sppp_test_tokens": tok / (5 * len(test_batches)),
                      "first_pair_translation": " ".join(example)},
            "seconds": seconds}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="gkattn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


def _cases() -> list[dict]:
    P = "gkattn"  # noqa: N806
    out = []
    for s in (1, 2, 3):
        out.append(_case(f"{P}_healthy_s{s}", "healthy", s, {},
                         "unchanged (RNN encoder-decoder with dot attention, n_hidden 128, CrossEntropyLoss, Adam lr "
                         "0.001, one pair a step, 1200 steps, no clipping)", False))
    for k, ss in ((2, (1,)), (10, (1, 2)), (100, (1, 2)), (1000, (1,))):
        for s in ss:
            out.append(_case(f"{P}_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({1e-3 * k:g})"))
    for s in (1, 2):
        out.append(_case(f"{P}_lr_div1000_s{s}", "lr_low", s, {"lr_mult": 1e-3}, "Adam lr /1000 (1e-06)"))
    for s in (1, 2):
        out.append(_case(f"{P}_init_std1_s{s}", "init_large", s, {"init": "std1"},
                         "nn.init.normal_(std=1.0) on every weight of both RNNs, attn and out (biases kept)"))
    out.append(_case(f"{P}_zero_init_s1", "symmetric_init", 1, {"init": "zeros"},
                     "nn.init.zeros_ on every parameter (weights and biases)"))
    for s in (1, 2):
        out.append(_case(f"{P}_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
                         "optimizer.zero_grad() left out: the gradients accumulate"))
    out.append(_case(f"{P}_softmax_out_s1", "wrong_loss", 1, {"softmax_out": True},
                     "F.softmax(output, dim=1) before CrossEntropyLoss (probabilities where it expects logits)"))
    out.append(_case(f"{P}_raw_index_s1", "unscaled_inputs", 1, {"raw_index": True},
                     "each word's index (0..52) as one raw float input feature (input_size=1) instead of its one-hot "
                     "vector, encoder and decoder"))
    return out


CASES: list[dict] = _cases()

if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        if k == "init":
            kw[k] = v
        elif k in ("zero_grad", "softmax_out", "raw_index"):
            kw[k] = v == "True"
        else:
            kw[k] = float(v)
    for k in ("seed", "passes"):
        if k in kw:
            kw[k] = int(kw[k])
    train(verbose=True, **kw)
