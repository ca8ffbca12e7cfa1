"""Ben Trevett's pytorch-seq2seq, notebook 1 "Sequence to Sequence Learning with Neural Networks" (2-layer LSTM
encoder-decoder, teacher forcing 0.5, uniform(-0.08, 0.08) init, Adam, CrossEntropyLoss ignoring <pad>, clip 1.0) on
a generated translation task, watched by gradmedic.

Adapted from https://github.com/bentrevett/pytorch-seq2seq, "1 - Sequence to Sequence Learning with Neural
Networks.ipynb" at commit b3cd54c72cd6e4e63f672d334c795b4fe744ef92 (MIT License, Copyright (c) 2018 Ben Trevett,
see LICENSE-bts2s).

Kept as in the notebook: the special tokens in its order (``<unk>`` 0, ``<pad>`` 1, ``<sos>`` 2, ``<eos>`` 3) and
every sentence wrapped in ``<sos>``/``<eos>``; ``get_collate_fn`` (``pad_sequence`` with the pad index, time-major
``[length, batch]``) and ``get_data_loader`` (shuffled training loader, batch_size 128); ``Encoder`` (Embedding,
dropout, ``nn.LSTM(n_layers=2, dropout)``, returns hidden and cell), ``Decoder`` (Embedding, dropout, 2-layer LSTM,
``fc_out`` Linear), ``Seq2Seq.forward`` (the encoder's last hidden/cell start the decoder, ``<sos>`` first, a
``random.random() < teacher_forcing_ratio`` draw per step between the true token and the argmax), dropout 0.5
in both, ``init_weights`` (``nn.init.uniform_(param, -0.08, 0.08)`` on every parameter), ``optim.Adam`` with its
default rate 1e-3, ``nn.CrossEntropyLoss(ignore_index=pad_index)`` over ``output[1:]`` and ``trg[1:]``,
``train_fn`` (zero_grad, forward with teacher_forcing_ratio 0.5, loss, backward,
``clip_grad_norm_(model.parameters(), clip=1.0)``, step), ``evaluate_fn``'s decoding (``model(src, trg, 0)``: no
teacher forcing, the decoder fed its own argmax).

Changed:
- the data: Multi30k and spaCy cannot be downloaded, so ``make_pairs`` generates a translation task: source
  sentences of 2-5 words drawn uniformly from a 10-word vocabulary, the target each word mapped through a fixed
  one-to-one dictionary to a target word and the order reversed (``random.Random(0)``, the same for every run):
  2048 training pairs and 512 held-out pairs; both vocabularies are the 10 words plus the 4 specials (14).
- the sizes: embedding 128 and hidden 256 instead of 256/512 (n_layers 2, dropout 0.5 kept), batch 64 instead of
  128, and 384 steps (12 epochs of 32 batches) instead of 10 epochs of Multi30k, so that a run takes ~30-40 s on one
  (shared) CPU thread.  Smaller settings were tried first and did not train in the time: with embedding 64, hidden
  128 and 4-9 words from 30 (or 3-6 from 20, or 3-6 from 10) the loss stayed on the unigram plateau (the decoder
  ignoring the encoder) for 300-400 steps under the uniform(-0.08, 0.08) init.
- ``random``, ``numpy`` and ``torch`` are seeded with the run's seed (upstream: 1234), the loader shuffles with a
  ``torch.Generator`` seeded the same; no checkpointing of the best validation loss, no BLEU, no printing.
- the bugs of the variants, in ``train``'s arguments: ``lr_mult`` (Adam's lr), ``clip`` (None: no clipping),
  ``init_range`` (uniform(-a, a) instead of 0.08), ``ignore_pad`` (False: ``nn.CrossEntropyLoss()`` without
  ignore_index) with ``pad_to`` (every batch padded to that length, as a fixed max length pads it),
  ``leak`` (the teacher-forced decoder input at step t is ``trg[t]``, the token it must predict, instead of
  ``trg[t-1]``: the target not shifted).

The watch: ``gradmedic.watch(model, optimizer, every=10)`` after the optimizer is built; ``monitor.step(loss)``
after ``loss.backward()``, before ``clip_grad_norm_`` and ``optimizer.step()``.

Metric: ``valid_loss``, the notebook's own evaluation: ``evaluate_fn`` (teacher forcing 0, the decoder fed its
own argmax, CrossEntropyLoss ignoring <pad>, mean over batches) on the 512 held-out pairs after training, against
the same on the initialized model before training (``initial``).  This measures every variant in the same units (the
pad-not-ignored run's own loss counts the pads, the not-shifted run's own loss is the leaked one).  ``extra`` has
the greedy token accuracy (argmax of each step of trg[1:] against the true token over the non-pad positions,
<eos> included) before and after, the training loss ignoring <pad> (first 5 and last 20 steps) and the program's own.

``CASES``: the program on seeds 1-3, and one change each against the same seed's healthy run: Adam lr x10, x100
(seeds 1 and 2), x1000, /1000; no gradient clipping at lr x10; uniform(-5, 5) init (seeds 1 and 2); the pad not
ignored with every batch padded to 24 (cause "wrong_loss"); the target not shifted (cause "wrong_loss").  No
input-scaling variant (the inputs are token ids).  Teacher forcing 0 from the start is not a case: no cause of the
benchmark names it.  Labels come from run.py's outcome rules only.
Recorded (cases-public25, 588 s for the 13 runs, ~30-45 s each, 114 s for the padded one): healthy 0.383, 0.398,
0.424 on seeds 1-3 (held-out loss from ~2.65; greedy token accuracy 0.86, 0.87, 0.84); lr x10 trains better (0.065,
accuracy 0.985: labelled healthy); lr x100 ends at 1.76 and 1.24 (seeds 1, 2), x1000 at 33.6, /1000 at 2.64 (no
progress), no clipping at lr x10 at 0.95 (the clipped lr x10 run: 0.065), uniform(-5, 5) at 32.6 and 32.3 (from
34.6), the pad not ignored at 2.91 (greedy accuracy 0.10: it learns to emit <pad>): all broken; the target not
shifted ends at 0.54 (greedy accuracy 0.79 against 0.86: it still learns the task from the half of the steps
decoded without teacher forcing) and is labelled ambiguous.
"""

from __future__ import annotations

import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

import gradmedic

ARCH = "lstm"
MONITOR_AT = ("monitor.step(loss) after loss.backward() (CrossEntropyLoss over output[1:] and trg[1:], ignoring "
              "<pad>), before clip_grad_norm_(model.parameters(), 1.0) and optimizer.step()")

device = torch.device("cpu")

unk_token, pad_token, sos_token, eos_token = "<unk>", "<pad>", "<sos>", "<eos>"
special_tokens = [unk_token, pad_token, sos_token, eos_token]
unk_index, pad_index, sos_index, eos_index = 0, 1, 2, 3

N_WORDS = 10
LMIN, LMAX = 2, 5
N_TRAIN, N_TEST = 2048, 512


def make_pairs():
    """(source ids, target ids) pairs with <sos>/<eos>: 4-9 source words, target = dictionary(words) reversed."""
    rng = random.Random(0)
    mapping = list(range(N_WORDS))
    rng.shuffle(mapping)
    pairs = []
    for _ in range(N_TRAIN + N_TEST):
        n = rng.randint(LMIN, LMAX)
        src = [rng.randrange(N_WORDS) for _ in range(n)]
        trg = [mapping[w] for w in reversed(src)]
        k = len(special_tokens)
        pairs.append(([sos_index] + [w + k for w in src] + [eos_index],
                      [sos_index] + [w + k for w in trg] + [eos_index]))
    return pairs[:N_TRAIN], pairs[N_TRAIN:]


def get_collate_fn(pad_index, pad_to=None):
    def collate_fn(batch):
        batch_en_ids = [example["en_ids"] for example in batch]
        batch_de_ids = [example["de_ids"] for example in batch]
        if pad_to is not None:  # a variant: every batch padded to a fixed length (heavy padding)
            batch_en_ids = batch_en_ids + [torch.full((pad_to,), pad_index, dtype=torch.long)]
            batch_de_ids = batch_de_ids + [torch.full((pad_to,), pad_index, dtype=torch.long)]
        batch_en_ids = nn.utils.rnn.pad_sequence(batch_en_ids, padding_value=pad_index)
        batch_de_ids = nn.utils.rnn.pad_sequence(batch_de_ids, padding_value=pad_index)
        if pad_to is not None:
            batch_en_ids, batch_de_ids = batch_en_ids[:, :-1].contiguous(), batch_de_ids[:, :-1].contiguous()
        batch = {
            "en_ids": batch_en_ids,
            "de_ids": batch_de_ids,
        }
        return batch

    return collate_fn


def get_data_loader(dataset, batch_size, pad_index, shuffle=False, generator=None, pad_to=None):
    collate_fn = get_collate_fn(pad_index, pad_to)
    data_loader = torch.utils.data.DataLoader(
        dataset=dataset,
        batch_size=batch_size,
        collate_fn=collate_fn,
        shuffle=shuffle,
        generator=generator,
    )
    return data_loader


class Encoder(nn.Module):
    def __init__(self, input_dim, embedding_dim, hidden_dim, n_layers, dropout):
        super().__init__()
        self.hidden_dim = hidden_dim
        self.n_layers = n_layers
        self.embedding = nn.Embedding(input_dim, embedding_dim)
        self.rnn = nn.LSTM(embedding_dim, hidden_dim, n_layers, dropout=dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, src):
        embedded = self.dropout(self.embedding(src))
        outputs, (hidden, cell) = self.rnn(embedded)
        return hidden, cell


class Decoder(nn.Module):
    def __init__(self, output_dim, embedding_dim, hidden_dim, n_layers, dropout):
        super().__init__()
        self.output_dim = output_dim
        self.hidden_dim = hidden_dim
        self.n_layers = n_layers
        self.embedding = nn.Embedding(output_dim, embedding_dim)
        self.rnn = nn.LSTM(embedding_dim, hidden_dim, n_layers, dropout=dropout)
        self.fc_out = nn.Linear(hidden_dim, output_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, input, hidden, cell):
        input = input.unsqueeze(0)
        embedded = self.dropout(self.embedding(input))
        output, (hidden, cell) = self.rnn(embedded, (hidden, cell))
        prediction = self.fc_out(output.squeeze(0))
        return prediction, hidden, cell


class Seq2Seq(nn.Module):
    def __init__(self, encoder, decoder, device, leak=False):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.device = device
        self.leak = leak  # the bug of a variant: the teacher-forced input is the token to predict (not shifted)
        assert (
            encoder.hidden_dim == decoder.hidden_dim
        ), "Hidden dimensions of encoder and decoder must be equal!"
        assert (
            encoder.n_layers == decoder.n_layers
        ), "Encoder and decoder must have equal number of layers!"

    def forward(self, src, trg, teacher_forcing_ratio):
        batch_size = trg.shape[1]
        trg_length = trg.shape[0]
        trg_vocab_size = self.decoder.output_dim
        outputs = torch.zeros(trg_length, batch_size, trg_vocab_size).to(self.device)
        hidden, cell = self.encoder(src)
        input = trg[0, :]
        if self.leak and random.random() < teacher_forcing_ratio:
            input = trg[1, :]
        for t in range(1, trg_length):
            output, hidden, cell = self.decoder(input, hidden, cell)
            outputs[t] = output
            teacher_force = random.random() < teacher_forcing_ratio
            top1 = output.argmax(1)
            if self.leak:  # the next step's target itself instead of this step's
                input = (trg[t + 1] if t + 1 < trg_length else trg[t]) if teacher_force else top1
            else:
                input = trg[t] if teacher_force else top1
        return outputs


def init_weights(m, a=0.08):
    for _name, param in m.named_parameters():
        nn.init.uniform_(param.data, -a, a)


def evaluate(model, data_loader):
    """evaluate_fn (teacher forcing 0, CrossEntropyLoss ignoring <pad>), plus the greedy token accuracy over the
    non-pad positions of trg[1:] (<eos> included)."""
    criterion = nn.CrossEntropyLoss(ignore_index=pad_index)
    model.eval()
    epoch_loss = 0
    correct = total = 0
    with torch.no_grad():
        for _i, batch in enumerate(data_loader):
            src = batch["de_ids"].to(device)
            trg = batch["en_ids"].to(device)
            output = model(src, trg, 0)  # turn off teacher forcing
            pred, mask = output[1:].argmax(-1), trg[1:] != pad_index
            correct += int(((pred == trg[1:]) & mask).sum())
            total += int(mask.sum())
            output_dim = output.shape[-1]
            output = output[1:].view(-1, output_dim)
            trg = trg[1:].view(-1)
            loss = criterion(output, trg)
            epoch_loss += loss.item()
    return {"loss": epoch_loss / len(data_loader), "accuracy": correct / total}


def train(seed: int = 1, lr_mult: float = 1.0, clip: float | None = 1.0, init_range: float = 0.08,
          ignore_pad: bool = True, pad_to: int | None = None, leak: bool = False, n_epochs: int = 12,
          every: int = 10, verbose: bool = False) -> dict:
    """One run of the notebook; the variants: ``lr_mult`` (Adam's lr), ``clip`` (None: no clipping),
    ``init_range`` (uniform(-a, a) on every parameter), ``ignore_pad`` (False: the pad counted in the loss) with
    ``pad_to`` (batches padded to that length), ``leak`` (the decoder fed the token it must predict)."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    g = torch.Generator()
    g.manual_seed(seed)

    train_pairs, test_pairs = make_pairs()
    # as upstream: "de" is the source, "en" the target
    train_data = [{"de_ids": torch.tensor(s), "en_ids": torch.tensor(t)} for s, t in train_pairs]
    test_data = [{"de_ids": torch.tensor(s), "en_ids": torch.tensor(t)} for s, t in test_pairs]
    batch_size = 64
    train_data_loader = get_data_loader(train_data, batch_size, pad_index, shuffle=True, generator=g, pad_to=pad_to)
    test_data_loader = get_data_loader(test_data, batch_size, pad_index)

    input_dim = output_dim = N_WORDS + len(special_tokens)
    encoder_embedding_dim = 128
    decoder_embedding_dim = 128
    hidden_dim = 256
    n_layers = 2
    encoder_dropout = 0.5
    decoder_dropout = 0.5
    encoder = Encoder(input_dim, encoder_embedding_dim, hidden_dim, n_layers, encoder_dropout)
    decoder = Decoder(output_dim, decoder_embedding_dim, hidden_dim, n_layers, decoder_dropout)
    model = Seq2Seq(encoder, decoder, device, leak=leak).to(device)
    model.apply(lambda m: init_weights(m, init_range))

    lr = 1e-3 * lr_mult
    optimizer = optim.Adam(model.parameters(), lr=lr)
    criterion = nn.CrossEntropyLoss(ignore_index=pad_index) if ignore_pad else nn.CrossEntropyLoss()
    monitor = gradmedic.watch(model, optimizer, every=every)
    teacher_forcing_ratio = 0.5

    initial = evaluate(model, test_data_loader)
    losses: list[float] = []
    nlls: list[float] = []  # the training loss ignoring <pad> (the program's own loss except with ignore_pad=False)
    t0 = time.time()
    for epoch in range(n_epochs):
        model.train()
        for _i, batch in enumerate(train_data_loader):
            src = batch["de_ids"].to(device)
            trg = batch["en_ids"].to(device)
            optimizer.zero_grad()
            output = model(src, trg, teacher_forcing_ratio)
            output_dim = output.shape[-1]
            output = output[1:].view(-1, output_dim)
            trg = trg[1:].view(-1)
            loss = criterion(output, trg)
            loss.backward()
            monitor.step(loss)  # gradmedic
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            losses.append(loss.item())
            nlls.append(loss.item() if ignore_pad else
                        nn.functional.cross_entropy(output.detach(), trg, ignore_index=pad_index).item())
        if verbose:
            print(f"epoch {epoch + 1} loss {np.mean(losses[-len(train_data_loader):]):.4f} "
                  f"({time.time() - t0:.1f}s)", flush=True)
    monitor.close()

    test = evaluate(model, test_data_loader)
    return {"monitors": {"": monitor}, "metric": "valid_loss", "value": test["loss"], "initial": initial["loss"],
            "chance": float(np.log(output_dim)),
            "initial_what": "untrained: held-out loss (teacher forcing 0) of the initialized model",
            "extra": {"greedy_token_accuracy": test["accuracy"], "initial_greedy_token_accuracy": initial["accuracy"],
                      "train_loss_last20": float(np.mean(nlls[-20:])), "train_loss_first5": float(np.mean(nlls[:5])),
                      "program_loss_last20": float(np.mean(losses[-20:])), "steps": len(losses), "lr": lr},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="bts2s", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"bts2s_healthy_s{s}", "healthy", s, {}, "unchanged (2-layer LSTM encoder-decoder, emb 128, hidden 256, "
           "dropout 0.5, teacher forcing 0.5, uniform(-0.08, 0.08) init, Adam lr 1e-3, CrossEntropyLoss ignoring "
           "<pad>, clip_grad_norm_ 1.0, batch 64, 384 steps)", False) for s in (1, 2, 3)]
    + [_case(f"bts2s_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({1e-3 * k:g}), clip 1.0 kept")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("bts2s_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (1e-06)")]
    + [_case("bts2s_no_clip_lr_x10_s1", "no_clipping", 1, {"clip": None, "lr_mult": 10},
             "no clip_grad_norm_ and Adam lr x10 (0.01); the control is the healthy run (lr 1e-3, clip 1.0)")]
    + [_case(f"bts2s_init_uniform5_s{s}", "init_large", s, {"init_range": 5.0},
             "init_weights with nn.init.uniform_(param, -5, 5) instead of (-0.08, 0.08) on every parameter")
       for s in (1, 2)]
    + [_case("bts2s_pad_not_ignored_s1", "wrong_loss", 1, {"ignore_pad": False, "pad_to": 24},
             "nn.CrossEntropyLoss() without ignore_index=pad_index, every training batch padded to length 12 "
             "(4-7 real tokens): the loss is mostly the <pad> positions")]
    + [_case("bts2s_target_not_shifted_s1", "wrong_loss", 1, {"leak": True},
             "the target not shifted: when teacher forcing, the decoder input at step t is trg[t] (the token it "
             "must predict) instead of trg[t-1]")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = (float(v) if k in ("lr_mult", "init_range") else None if v == "None" and k == "clip"
                 else float(v) if k == "clip" else (v == "1") if k in ("ignore_pad", "leak") else int(v))
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
