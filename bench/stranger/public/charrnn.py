"""spro/practical-pytorch's char-rnn-generation (an Embedding, a GRU and a Linear decoder trained one character at a
time on random chunks of text), watched by gradmedic.

Adapted from https://github.com/spro/practical-pytorch (commit c520c52e68e945d88fff563dba1c028b6ec0197b,
char-rnn-generation/char-rnn-generation.ipynb, with model.py, train.py and helpers.py of the same folder; MIT License,
Copyright (c) 2017 Sean Robertson, see LICENSE-charrnn).  Kept as in the original: the ``RNN`` class (``nn.Embedding
(input_size, hidden_size)``, ``nn.GRU(hidden_size, hidden_size, n_layers)``, ``nn.Linear(hidden_size, output_size)``,
``forward`` one character at a time with the views of the original, ``init_hidden`` as zeros), PyTorch's default
initialization throughout (the original sets none), ``all_characters = string.printable`` (100 characters) as the
vocabulary, ``char_tensor``, ``random_chunk`` / ``random_training_set`` (a random ``chunk_len + 1`` slice of the
text, input its first ``chunk_len`` characters and target the last ``chunk_len``), the notebook's hyper-parameters
(hidden_size 100, n_layers 1, ``torch.optim.Adam(decoder.parameters(), lr=0.005)``, ``nn.CrossEntropyLoss()``) and
its ``train(inp, target)``: the hidden state re-initialized to zeros for every chunk, ``decoder.zero_grad()``, a
Python loop over the chunk's characters that adds each character's ``criterion(output, target[c])`` into ``loss``,
``loss.backward()`` on that *sum* and ``decoder_optimizer.step()``, no clipping; the value it returns (and prints
and plots) is the per-character mean ``loss / chunk_len``.  Note that upstream back-propagates the summed loss, not
the mean: only the reported number is divided by the chunk length.

Changed: the text is the standard library's docstrings (shipped_text.py's ``stdlib_docstrings()``, 881,124 ASCII
characters here, all in ``string.printable``) instead of ../data/shakespeare.txt, so ``unidecode`` (not installed)
is not needed; ``random.randint`` is drawn from a ``random.Random(seed)`` and the model from
``torch.manual_seed(seed)``; ``criterion(output, target[c].view(1))`` instead of ``target[c]`` (a 0-d target
against a (1, 100) output is an error in current PyTorch); ``loss.item()`` instead of ``loss.data[0]``, no
``Variable``, ``super().__init__()`` (ruff); no sampling with ``evaluate('Wh', 100)`` every 100 epochs (it would
draw from the global RNG) and no ``save()``.  Shrunk so a run takes 19-36 s on one CPU thread: ``chunk_len`` 100
instead of 200 and ``n_epochs`` 250 instead of 2000 (one "epoch" is one chunk, one optimizer step).

The watch: ``gradmedic.watch(decoder, decoder_optimizer, every=10)`` right after the optimizer is built,
``monitor.step(loss)`` inside ``train()`` right after ``loss.backward()`` (the summed loss, as back-propagated),
before ``decoder_optimizer.step()``; ``monitor.close()`` after the loop.  The metric is the train loss: the mean
of the last 20 steps' per-character losses (upstream's returned ``loss / chunk_len``) against the mean of the first
5 (``initial``).

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the same
seed's healthy run: Adam lr x10 (seeds 1 and 2), x100 (seeds 1 and 2), x1000 and /1000; ``nn.init.normal_(0, 1)``
on every weight (the Embedding's is N(0, 1) already; the GRU's and the Linear's instead of U(-0.1, 0.1)) on seeds
1 and 2; ``nn.init.zeros_`` on every parameter; and the loss divided by ``chunk_len`` before ``backward()`` (the
mean instead of upstream's sum: gradients 100x smaller, which Adam's normalization should absorb; cause "healthy",
a change against its control).  No "unscaled inputs" case (the inputs are token ids through an Embedding), no
"no clipping" case (upstream does not clip) and no hidden state carried across chunks (upstream re-initializes it).
Recorded (cases-public9): healthy 2.38-2.40 on seeds 1-3 (from 4.29-4.50 at the start); lr x10 ends at 3.80 and
3.44, x100 at 22.2 and 21.5 (above its start), x1000 at 233, /1000 at 4.61 (no progress), N(0, 1) weights at 12.2
and 11.8 (from 22.5), zeros everywhere at 3.69 (only the decoder's bias learns: the unigram): all broken; the mean
loss gives the same 2.396 as its control (Adam normalizes the 100x scale away; labelled healthy).
"""

from __future__ import annotations

import math
import random
import string
import time

import numpy as np
import torch
import torch.nn as nn
from shipped_text import stdlib_docstrings

import gradmedic

ARCH = "gru"
MONITOR_AT = ("monitor.step(loss) inside train() right after loss.backward() on the chunk's summed CrossEntropyLoss "
              "(one term per character, as upstream back-propagates it), before decoder_optimizer.step()")

# Reading the text (helpers.py / the notebook's first cell)

all_characters = string.printable
n_characters = len(all_characters)


# model.py

class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size, n_layers=1):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.n_layers = n_layers

        self.encoder = nn.Embedding(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, n_layers)
        self.decoder = nn.Linear(hidden_size, output_size)

    def forward(self, input, hidden):
        input = self.encoder(input.view(1, -1))
        output, hidden = self.gru(input.view(1, 1, -1), hidden)
        output = self.decoder(output.view(1, -1))
        return output, hidden

    def init_hidden(self):
        return torch.zeros(self.n_layers, 1, self.hidden_size)


# Turn string into list of longs
def char_tensor(string):
    tensor = torch.zeros(len(string)).long()
    for c in range(len(string)):
        tensor[c] = all_characters.index(string[c])
    return tensor


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, zero_init: bool = False,
          mean_loss: bool = False, n_epochs: int = 250, chunk_len: int = 100, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    file = stdlib_docstrings()
    file_len = len(file)

    def random_chunk():
        start_index = rng.randint(0, file_len - chunk_len)
        end_index = start_index + chunk_len + 1
        return file[start_index:end_index]

    def random_training_set():
        chunk = random_chunk()
        inp = char_tensor(chunk[:-1])
        target = char_tensor(chunk[1:])
        return inp, target

    hidden_size = 100
    n_layers = 1
    lr = 0.005 * lr_mult

    decoder = RNN(n_characters, hidden_size, n_characters, n_layers)
    if init_std is not None:  # the bug: normal_(0, std) on every weight instead of PyTorch's default init
        for name, p in decoder.named_parameters():
            if "weight" in name:
                nn.init.normal_(p, 0.0, init_std)
    if zero_init:  # the bug: zeros on every parameter
        for p in decoder.parameters():
            nn.init.zeros_(p)
    decoder_optimizer = torch.optim.Adam(decoder.parameters(), lr=lr)
    monitor = gradmedic.watch(decoder, decoder_optimizer, every=every)  # gradmedic
    criterion = nn.CrossEntropyLoss()

    def train_step(inp, target):
        hidden = decoder.init_hidden()
        decoder.zero_grad()
        loss = 0

        for c in range(chunk_len):
            output, hidden = decoder(inp[c], hidden)
            loss += criterion(output, target[c].view(1))

        if mean_loss:  # the variant: the mean over the chunk back-propagated instead of upstream's sum
            loss = loss / chunk_len
        loss.backward()
        monitor.step(loss)  # gradmedic
        decoder_optimizer.step()

        return loss.item() if mean_loss else loss.item() / chunk_len

    t0 = time.time()
    all_losses = []
    for epoch in range(1, n_epochs + 1):
        loss = train_step(*random_training_set())
        all_losses.append(loss)
        if verbose and epoch % 50 == 0:
            print(f"[{time.time() - t0:.1f}s ({epoch} {epoch / n_epochs * 100:.0f}%) {np.mean(all_losses[-20:]):.4f}]",
                  flush=True)
    monitor.close()
    value = float(np.mean(all_losses[-20:]))
    return {"monitors": {"": monitor}, "metric": "train_loss", "value": value if math.isfinite(value) else float("nan"),
            "initial": float(np.mean(all_losses[:5])), "initial_what": "untrained: mean loss of the first 5 steps",
            "chance": math.log(n_characters),
            "extra": {"steps": len(all_losses), "chunk_len": chunk_len, "hidden_size": hidden_size,
                      "n_layers": n_layers, "lr": lr, "text_chars": file_len, "vocab_size": n_characters,
                      "n_params": sum(p.numel() for p in decoder.parameters())},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="charrnn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"charrnn_healthy_s{s}", "healthy", s, {}, "unchanged (Embedding + GRU hidden 100, 1 layer + Linear, one "
           "character at a time over a 100-character chunk, summed CrossEntropyLoss, Adam lr 0.005, 250 chunks)", False)
     for s in (1, 2, 3)]
    + [_case(f"charrnn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({0.005 * k:g})")
       for k, ss in ((10, (1, 2)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("charrnn_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (5e-06)")]
    + [_case(f"charrnn_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(0, 1) on every weight (Embedding, GRU weight_ih/weight_hh, Linear) instead of PyTorch's "
             "default") for s in (1, 2)]
    + [_case("charrnn_zero_init_s1", "symmetric_init", 1, {"zero_init": True},
             "nn.init.zeros_ on every parameter (Embedding, GRU weights and biases, Linear weight and bias)")]
    + [_case("charrnn_mean_loss_s1", "healthy", 1, {"mean_loss": True},
             "the summed loss divided by chunk_len before backward() (the mean, gradients 100x smaller) instead of "
             "upstream's backward on the sum")]
)


if __name__ == "__main__":
    import sys
    r = train(verbose=True, **({"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}))
    print({k: v for k, v in r.items() if k != "monitors"})
