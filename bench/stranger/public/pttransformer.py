"""The PyTorch tutorials' "Language Modeling with nn.Transformer" (TransformerEncoder LM), watched by gradmedic.

Adapted from https://github.com/pytorch/tutorials, beginner_source/transformer_tutorial.py (BSD 3-Clause,
Copyright (c) 2017-2022, Pytorch contributors, see LICENSE-pytorch-tutorials).  Followed: commit
00109f5abe4d664833ae7cde8b694b41356adb2b for the model and the data functions (``TransformerModel(ntoken,
d_model, nhead, d_hid, nlayers, dropout)`` with ``TransformerEncoderLayer(d_model, nhead, d_hid, dropout)`` x
nlayers, ``embedding(src) * sqrt(d_model)``, ``PositionalEncoding`` with the model's dropout, ``init_weights``:
U(+-0.1) on the embedding and the output Linear, zero output bias, PyTorch's defaults elsewhere; ``batchify``,
``get_batch`` with bptt 35, ``evaluate``), and for the causal mask the tutorial's earlier training loop (commit
e5f60c64367b2ff3c19e5b73a2c7eac4bf1269f1): ``generate_square_subsequent_mask(bptt)`` (0 on and below the
diagonal, -inf above) passed as ``src_mask`` in ``train()`` and ``evaluate()``, a smaller one for the last short
chunk.  (In 00109f5 ``forward(src, src_mask=None)`` is kept but ``train()``/``evaluate()`` call ``model(data)``
without the mask, so every position attends to the words it must predict: the reported bug, recorded here as the
``no_mask`` variant.)  Kept as upstream: ``nn.CrossEntropyLoss`` on ``output.view(-1, ntokens)``, SGD lr 5.0,
``StepLR(optimizer, 1.0, gamma=0.95)`` stepped once per epoch, ``optimizer.zero_grad()`` / ``loss.backward()`` /
``clip_grad_norm_(model.parameters(), 0.5)`` / ``optimizer.step()``, nhead 2, nlayers 2, dropout 0.2, batch 20,
eval batch 10.

Changed to run offline on one CPU thread in 10-25 s: WikiText-2 (torchtext) is replaced by the standard library's
docstrings (shipped_text.py, its first 500,000 characters), tokenized by a re-implementation of torchtext's
``basic_english`` tokenizer (lower case, punctuation split off), lines split 80/10/10 into train/valid/test, the
vocabulary the 1999 most frequent training words plus ``<unk>`` (the rest map to ``<unk>``, as
``vocab.set_default_index``), empty lines dropped as in ``data_process``; emsize 64 and d_hid 128 (upstream
200 / 200), EPOCHS epochs (upstream 3); no checkpoint of the best model and no test pass.

The watch: ``gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is built, ``monitor.step(loss)``
after ``loss.backward()``, before ``clip_grad_norm_`` and ``optimizer.step()``.
Metric: the held-out loss (``evaluate`` on the validation split, with the causal mask, as the earlier tutorial
evaluates) after the last epoch, against the same before the first step (the untrained model).  For the
``no_mask`` variant the metric is still the causal (true next-word) held-out loss; the loss ``evaluate`` gives
without the mask, as 00109f5 computes it, is ``extra["val_loss_as_trained"]``.

``CASES`` (name prefix ``pttf``): the program on seeds 1-3 and one change each against the same seed's healthy run:
lr x10, x100 (seeds 1 and 2), x1000, /1000; no clip_grad_norm_ at lr 5 and at lr x10 (50); N(0, 1) instead of
the original init on every Linear weight (output Linear, attention in_proj_weight and out_proj, linear1, linear2)
and the embedding; the causal mask left out of training and of the program's own evaluation (seeds 1 and 2;
causes.py has no cause for a leak of the targets into the inputs, so it is filed under "wrong_loss": the loss
trained is not the next-word loss).
Recorded (cases-public19, 242 s for the 13 runs, 14-22 s each on a shared CPU): healthy held-out loss 7.72 -> 4.78,
7.67 -> 4.79, 7.66 -> 4.82 (seeds 1-3; training loss 7.6 -> 4.8); broken: lr x10 ends at 95, x100 at 9.9e3 and
8.2e3, x1000 at 9.6e5, /1000 at 7.17; without clipping the training loss is already 623 (lr 5) and 1.9e9 (lr 50)
in the first 5 steps and the run ends NaN; N(0, 1) init starts at 26.2 (training 24.0) and ends at 7.21.  No mask:
labelled healthy (4.94 and 5.01 against 4.78 and 4.79, within 1.1x): at this size and 2 epochs the leak only starts
to show (training loss 4.66 / 4.58, below the healthy 4.83 / 4.75; the mask-less evaluate gives 4.64 / 4.60).
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter

import numpy as np
import torch
from shipped_text import stdlib_docstrings
from torch import Tensor, nn
from torch.nn import TransformerEncoder, TransformerEncoderLayer

import gradmedic

ARCH = "transformer"
MONITOR_AT = ("monitor.step(loss) after loss.backward() (CrossEntropyLoss on the logits), before "
              "clip_grad_norm_(model.parameters(), 0.5) and optimizer.step()")


# ---- the tutorial's model (commit 00109f5), unchanged -------------------------------------------------------------
class TransformerModel(nn.Module):

    def __init__(self, ntoken: int, d_model: int, nhead: int, d_hid: int,
                 nlayers: int, dropout: float = 0.5):
        super().__init__()
        self.model_type = 'Transformer'
        self.pos_encoder = PositionalEncoding(d_model, dropout)
        encoder_layers = TransformerEncoderLayer(d_model, nhead, d_hid, dropout)
        self.transformer_encoder = TransformerEncoder(encoder_layers, nlayers)
        self.embedding = nn.Embedding(ntoken, d_model)
        self.d_model = d_model
        self.linear = nn.Linear(d_model, ntoken)

        self.init_weights()

    def init_weights(self) -> None:
        initrange = 0.1
        self.embedding.weight.data.uniform_(-initrange, initrange)
        self.linear.bias.data.zero_()
        self.linear.weight.data.uniform_(-initrange, initrange)

    def forward(self, src: Tensor, src_mask: Tensor = None) -> Tensor:
        src = self.embedding(src) * math.sqrt(self.d_model)
        src = self.pos_encoder(src)
        output = self.transformer_encoder(src, src_mask)
        output = self.linear(output)
        return output


class PositionalEncoding(nn.Module):

    def __init__(self, d_model: int, dropout: float = 0.1, max_len: int = 5000):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)

        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, 1, d_model)
        pe[:, 0, 0::2] = torch.sin(position * div_term)
        pe[:, 0, 1::2] = torch.cos(position * div_term)
        self.register_buffer('pe', pe)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.pe[:x.size(0)]
        return self.dropout(x)


# the earlier tutorial's mask (commit e5f60c64, a method of its TransformerModel there)
def generate_square_subsequent_mask(sz):
    mask = (torch.triu(torch.ones(sz, sz)) == 1).transpose(0, 1)
    mask = mask.float().masked_fill(mask == 0, float('-inf')).masked_fill(mask == 1, float(0.0))  # noqa: UP018 (upstream's text)
    return mask


# ---- data: torchtext's basic_english on shipped text --------------------------------------------------------------
_PATTERNS = [(re.compile(p), r) for p, r in (
    (r"\'", " '  "), (r"\"", ""), (r"\.", " . "), (r"<br \/>", " "), (r",", " , "), (r"\(", " ( "), (r"\)", " ) "),
    (r"\!", " ! "), (r"\?", " ? "), (r"\;", " "), (r"\:", " "), (r"\s+", " "))]


def basic_english(line: str) -> list[str]:
    line = line.lower()
    for pat, rep in _PATTERNS:
        line = pat.sub(rep, line)
    return line.split()


_DATA = None
VOCAB = 2000
TEXT_CHARS = 500_000


def corpus():
    global _DATA
    if _DATA is None:
        lines = [basic_english(ln) for ln in stdlib_docstrings(TEXT_CHARS).split("\n")]
        n = len(lines)
        splits = lines[:int(n * 0.8)], lines[int(n * 0.8):int(n * 0.9)], lines[int(n * 0.9):]
        itos = ['<unk>'] + [w for w, _ in Counter(w for ln in splits[0] for w in ln).most_common(VOCAB - 1)]
        stoi = {w: i for i, w in enumerate(itos)}

        def data_process(raw):
            data = [torch.tensor([stoi.get(w, 0) for w in item], dtype=torch.long) for item in raw]
            return torch.cat(tuple(filter(lambda t: t.numel() > 0, data)))

        _DATA = (len(itos),) + tuple(data_process(s) for s in splits)
    return _DATA


EPOCHS = 2
DEFAULTS = dict(emsize=64, d_hid=128, nlayers=2, nhead=2, dropout=0.2, lr=5.0, clip=0.5, epochs=EPOCHS,
                batch_size=20, eval_batch_size=10, bptt=35)


def train(seed: int = 1, lr_mult: float = 1.0, clip: float | None = 0.5, init_std: float | None = None,
          mask: bool = True, epochs: int | None = None, every: int = 10, verbose: bool = False) -> dict:
    """``clip=None`` drops the clip_grad_norm_ line; ``init_std`` re-initializes every Linear weight (and
    MultiheadAttention's in_proj_weight) and the embedding with N(0, init_std); ``mask=False`` calls
    ``model(data)`` without the causal mask in training and in the program's own evaluation."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    args = dict(DEFAULTS, lr=DEFAULTS["lr"] * lr_mult, clip=clip, epochs=epochs or DEFAULTS["epochs"])
    torch.manual_seed(seed)
    device = torch.device("cpu")
    ntokens, train_raw, val_raw, _test_raw = corpus()

    def batchify(data: Tensor, bsz: int) -> Tensor:
        seq_len = data.size(0) // bsz
        data = data[:seq_len * bsz]
        data = data.view(bsz, seq_len).t().contiguous()
        return data.to(device)

    train_data = batchify(train_raw, args["batch_size"])
    val_data = batchify(val_raw, args["eval_batch_size"])
    bptt = args["bptt"]

    def get_batch(source: Tensor, i: int):
        seq_len = min(bptt, len(source) - 1 - i)
        data = source[i:i + seq_len]
        target = source[i + 1:i + 1 + seq_len].reshape(-1)
        return data, target

    model = TransformerModel(ntokens, args["emsize"], args["nhead"], args["d_hid"], args["nlayers"],
                             args["dropout"]).to(device)
    if init_std is not None:  # the bug: N(0, init_std) on every Linear weight and the embedding
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, (nn.Linear, nn.Embedding)):
                    nn.init.normal_(m.weight, 0.0, init_std)
                elif isinstance(m, nn.MultiheadAttention):
                    nn.init.normal_(m.in_proj_weight, 0.0, init_std)

    criterion = nn.CrossEntropyLoss()
    lr = args["lr"]  # learning rate
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.95)
    monitor = gradmedic.watch(model, optimizer, every=every)
    losses: list[float] = []

    def run_epoch():
        model.train()  # turn on train mode
        src_mask = generate_square_subsequent_mask(bptt).to(device)
        for _batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
            data, targets = get_batch(train_data, i)
            optimizer.zero_grad()
            if data.size(0) != bptt:
                src_mask = generate_square_subsequent_mask(data.size(0)).to(device)
            output = model(data, src_mask) if mask else model(data)
            loss = criterion(output.view(-1, ntokens), targets)
            loss.backward()
            monitor.step(loss)  # gradmedic
            if args["clip"] is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), args["clip"])
            optimizer.step()
            losses.append(loss.item())

    def evaluate(eval_data: Tensor, causal: bool = True) -> float:
        model.eval()  # turn on evaluation mode
        total_loss = 0.
        src_mask = generate_square_subsequent_mask(bptt).to(device)
        with torch.no_grad():
            for i in range(0, eval_data.size(0) - 1, bptt):
                data, targets = get_batch(eval_data, i)
                seq_len = data.size(0)
                if seq_len != bptt:
                    src_mask = generate_square_subsequent_mask(seq_len).to(device)
                output = model(data, src_mask) if causal else model(data)
                output_flat = output.view(-1, ntokens)
                total_loss += seq_len * criterion(output_flat, targets).item()
        return total_loss / (len(eval_data) - 1)

    t0 = time.time()
    initial = evaluate(val_data)
    val_losses = []
    for epoch in range(1, args["epochs"] + 1):
        run_epoch()
        val_losses.append(evaluate(val_data))
        if verbose:
            print(f"epoch {epoch} train {np.mean(losses[-20:]):.3f} val {val_losses[-1]:.3f} "
                  f"lr {scheduler.get_last_lr()[0]:.3g} {time.time() - t0:.1f}s", flush=True)
        scheduler.step()
    as_trained = val_losses[-1] if mask else evaluate(val_data, causal=False)
    monitor.close()
    value = val_losses[-1]
    train_final = float(np.mean(losses[-20:]))
    return {"monitors": {"": monitor}, "metric": "val_loss", "value": value if math.isfinite(value) else float("nan"),
            "chance": math.log(ntokens), "initial": initial,
            "initial_what": "untrained: the held-out (validation) loss with the causal mask before the first step",
            "extra": {"val_losses": val_losses, "val_loss_as_trained": as_trained,
                      "train_loss": train_final if math.isfinite(train_final) else float("nan"),
                      "initial_train_loss": float(np.mean(losses[:5])), "steps": len(losses), "vocab_size": ntokens,
                      "lr": args["lr"], "train_tokens": int(train_raw.numel()), "val_tokens": int(val_raw.numel())},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="pttransformer", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


CASES: list[dict] = (
    [_case(f"pttf_healthy_s{s}", "healthy", s, {}, f"unchanged (TransformerModel emsize 64, d_hid 128, 2 layers, "
           f"nhead 2, SGD lr 5.0, StepLR gamma 0.95, clip 0.5, {EPOCHS} epochs)", False) for s in (1, 2, 3)]
    + [_case(f"pttf_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"SGD lr x{k} ({5 * k:g}), clip 0.5 kept")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("pttf_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "SGD lr /1000 (0.005)")]
    + [_case("pttf_no_clip_s1", "no_clipping", 1, {"clip": None}, "no clip_grad_norm_ at lr 5")]
    + [_case("pttf_no_clip_lr_x10_s1", "no_clipping", 1, {"clip": None, "lr_mult": 10},
             "no clip_grad_norm_ at lr x10 (50)")]
    + [_case("pttf_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Linear weight (output linear, attention in_proj_weight and out_proj, "
             "linear1, linear2) and the embedding, instead of U(+-0.1) / PyTorch's defaults (biases kept)")]
    + [_case(f"pttf_no_mask_s{s}", "wrong_loss", s, {"mask": False},
             "model(data) without src_mask in train() and evaluate(), as the tutorial's later version calls it: "
             "each position attends to the words it predicts (the metric stays the causal held-out loss)")
       for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = {"mask": lambda s: s == "1", "clip": lambda s: None if s == "none" else float(s),
                 "epochs": int}.get(k, float)(v)
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k not in ("monitors",)})
