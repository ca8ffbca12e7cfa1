"""karpathy/ng-video-lecture's ``bigram.py`` (the "Let's build GPT: from scratch, in code, spelled out" lecture's
bigram language model: one ``nn.Embedding(vocab_size, vocab_size)`` table whose rows are the next character's
logits), watched by gradmedic.

Adapted from https://github.com/karpathy/ng-video-lecture (commit 52201428ed7b46804849dea0b3ccf0de9df1a5c3, the
master head, ``bigram.py``; the repository has no LICENSE file, its README.md ends "### License\\n\\nMIT"; MIT
License, Copyright (c) 2022 Andrej Karpathy, see LICENSE-ngbigram).  Kept as in the original: the hyperparameters
(batch 32, block 8, ``max_iters`` 3000, ``eval_interval`` 300, ``learning_rate`` 1e-2, ``eval_iters`` 200), the
character vocabulary and ``encode``, the 90/10 train/val split, ``get_batch`` (random windows of
``torch.randint``), ``estimate_loss`` (``model.eval()``, mean loss of ``eval_iters`` batches per split,
``model.train()``), ``BigramLanguageModel`` (the table with PyTorch's default Embedding init, N(0, 1);
``F.cross_entropy`` on the flattened logits), ``torch.optim.AdamW(model.parameters(), lr=learning_rate)`` (its
defaults otherwise: weight decay 0.01), and the loop: per iteration ``get_batch('train')``, ``model(xb, yb)``,
``optimizer.zero_grad(set_to_none=True)``, ``loss.backward()``, ``optimizer.step()``, no clipping, no schedule,
``estimate_loss()`` every ``eval_interval`` iterations.

Changed to run offline on one CPU thread: the text is shipped_text.py's ``stdlib_docstrings()`` (the standard
library's docstrings, the text ngvideo.py - gpt.py of the same repository - uses; its char tokenizer is the same
code) instead of tinyshakespeare's input.txt (a download); ``device`` is 'cpu'; the seed is 1337 + seed (upstream
1337); the data and model globals that ``get_batch``/``estimate_loss`` read are set by ``train()``; one more
``estimate_loss()`` after the loop (upstream's last one is at iteration 2700), whose val loss is the metric; the
prints and the final ``generate`` sample are dropped (the evaluations go to ``extra["evals"]``).  Sizes are
upstream's (3000 iterations fit in a few seconds).

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the AdamW is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the loop.  Metric "val_loss": ``estimate_loss()['val']`` after the last iteration; ``initial`` its value
before the first (upstream's step-0 evaluation).

``CASES`` (program "ngbigram"): the program on seeds 1-3, and one change each against the same seed's healthy run:
learning rate x10, x100 (seeds 1 and 2), x1000, /1000; the table drawn N(0, 10) instead of N(0, 1) (seeds 1 and 2);
the table constant (``nn.init.constant_(..., 0.5)``: every logit equal); ``optimizer.zero_grad`` left out (seeds 1
and 2); ``F.softmax(logits, -1)`` fed to ``F.cross_entropy`` (which expects logits; seeds 1 and 2); and two changes
expected harmless: learning rate x2 (cause "lr_high") and batch 64 (cause "healthy"); N(0, 100) on seed 1 was added
after N(0, 10) came out ambiguous on both seeds.
Recorded (cases-public84; 18 runs, 6-15 s each with the data and the 11 evaluations, ~5.5 s of training loop; 191 s
in all): healthy val loss 2.708, 2.721, 2.714 on seeds 1-3 from 5.107, 5.150, 5.129 at step 0 (0.53x; training loss
over the last 20 iterations 2.63-2.66; every loss finite, the largest 5.2-5.3); lr x10 (0.1): 2.753: healthy; lr x100
(1.0): 3.171 (seed 1) and 3.124 (seed 2), the first 5 losses ~4.1, the val loss flat near 3.1 from iteration 300 on:
ambiguous (worse than 1.1x the control, not below half its progress); lr x1000 (10): first-5 mean 11.2, largest loss
15.0, 5.843, above its start: broken; lr /1000 (1e-5): 5.075 from 5.107: broken; N(0, 10) table: 3.495 (seed 1) and
3.387 (seed 2) from ~24 (largest loss ~26): ambiguous; N(0, 100) table: 136.6 from 235.5: broken; constant table:
2.705 from log(96) = 4.564: healthy (a bigram table has no symmetry to break: each row's gradient is its own
character's softmax minus its targets); zero_grad left out: the val loss falls to 2.98 by iteration 300, then rises to
3.831 (seed 1) and 3.819 (seed 2): ambiguous; softmax before F.cross_entropy: 4.321 and 4.322 from 4.564 (the loss
cannot go below log(95 + e) - 1): broken (less than half the control's progress from 5.1); lr x2: 2.714: healthy;
batch 64: 2.695: healthy.  Labels: 7 healthy (3 programs, lr x10, lr x2, constant table, batch 64), 5 broken (lr
x1000, lr /1000, N(0, 100), softmax on seeds 1 and 2), 6 ambiguous (lr x100, N(0, 10) and no zero_grad, each on
seeds 1 and 2).  No non-finite loss in any run.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
from torch.nn import functional as F

import gradmedic

ARCH = "embedding"
MONITOR_AT = ("watch(model, optimizer, every=10) right after the AdamW is built; monitor.step(loss) right after "
              "loss.backward(), before optimizer.step() (bigram.py does not clip)")

# hyperparameters
batch_size = 32 # how many independent sequences will we process in parallel?
block_size = 8 # what is the maximum context length for predictions?
max_iters = 3000
eval_interval = 300
learning_rate = 1e-2
device = 'cpu'  # upstream: 'cuda' if torch.cuda.is_available() else 'cpu'
eval_iters = 200
# ------------

# set by train(): the text's splits and the model, read by get_batch and estimate_loss as upstream's globals
train_data = val_data = model = None
SOFTMAX = False  # the wrong_loss variant: probabilities fed to F.cross_entropy


def load_text():
    # upstream: open('input.txt') (tinyshakespeare, a download)
    from shipped_text import stdlib_docstrings
    return stdlib_docstrings()


# data loading
def get_batch(split):
    # generate a small batch of data of inputs x and targets y
    data = train_data if split == 'train' else val_data
    ix = torch.randint(len(data) - block_size, (batch_size,))
    x = torch.stack([data[i:i+block_size] for i in ix])
    y = torch.stack([data[i+1:i+block_size+1] for i in ix])
    x, y = x.to(device), y.to(device)
    return x, y

@torch.no_grad()
def estimate_loss():
    out = {}
    model.eval()
    for split in ['train', 'val']:
        losses = torch.zeros(eval_iters)
        for k in range(eval_iters):
            X, Y = get_batch(split)
            logits, loss = model(X, Y)
            losses[k] = loss.item()
        out[split] = losses.mean()
    model.train()
    return out

# super simple bigram model
class BigramLanguageModel(nn.Module):

    def __init__(self, vocab_size):
        super().__init__()
        # each token directly reads off the logits for the next token from a lookup table
        self.token_embedding_table = nn.Embedding(vocab_size, vocab_size)

    def forward(self, idx, targets=None):

        # idx and targets are both (B,T) tensor of integers
        logits = self.token_embedding_table(idx) # (B,T,C)

        if targets is None:
            loss = None
        else:
            B, T, C = logits.shape
            logits = logits.view(B*T, C)
            targets = targets.view(B*T)
            if SOFTMAX:  # the wrong_loss variant (upstream: F.cross_entropy(logits, targets))
                loss = F.cross_entropy(F.softmax(logits, dim=-1), targets)
            else:
                loss = F.cross_entropy(logits, targets)

        return logits, loss


def train(seed: int = 1, lr_mult: float = 1.0, init: str = "upstream", zero_grad: bool = True, softmax: bool = False,
          batch: int | None = None, iters: int | None = None, every: int = 10, verbose: bool = False) -> dict:
    """``init``: "upstream" (PyTorch's default Embedding init, N(0, 1)), "std10" (N(0, 10)), "std100" (N(0, 100)) or
    "const" (every entry 0.5).  ``softmax``: the logits softmaxed before ``F.cross_entropy``.
    ``batch``: batch_size instead of 32."""
    global train_data, val_data, model, SOFTMAX, batch_size
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    n_iters = max_iters if iters is None else iters
    SOFTMAX = softmax
    batch_size = 32 if batch is None else batch  # upstream: 32

    torch.manual_seed(1337 + seed)  # upstream: torch.manual_seed(1337)

    text = load_text()
    # here are all the unique characters that occur in this text
    chars = sorted(list(set(text)))
    vocab_size = len(chars)
    # create a mapping from characters to integers
    stoi = { ch:i for i,ch in enumerate(chars) }
    encode = lambda s: [stoi[c] for c in s] # encoder: take a string, output a list of integers  # noqa: E731

    # Train and test splits
    data = torch.tensor(encode(text), dtype=torch.long)
    n = int(0.9*len(data)) # first 90% will be train, rest val
    train_data = data[:n]
    val_data = data[n:]

    model = BigramLanguageModel(vocab_size)
    if init in ("std10", "std100"):  # the init_large variants (upstream: nn.Embedding's default N(0, 1))
        torch.nn.init.normal_(model.token_embedding_table.weight, mean=0.0, std=float(init[3:]))
    elif init == "const":  # the symmetric_init variant: every logit the same
        torch.nn.init.constant_(model.token_embedding_table.weight, 0.5)
    elif init != "upstream":
        raise ValueError(init)
    m = model.to(device)

    # create a PyTorch optimizer
    lr = learning_rate * lr_mult
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    losses, evals = [], []
    t0 = time.time()
    for iter in range(n_iters):

        # every once in a while evaluate the loss on train and val sets
        if iter % eval_interval == 0:
            ev = estimate_loss()
            evals.append({"iter": iter, "train": float(ev["train"]), "val": float(ev["val"])})
            if verbose:  # upstream: print(f"step {iter}: train loss ..., val loss ...")
                print(f"step {iter}: train loss {ev['train']:.4f}, val loss {ev['val']:.4f} "
                      f"(batch mean {np.mean(losses[-20:]) if losses else float('nan'):.4f}, {time.time() - t0:.1f}s)",
                      flush=True)

        # sample a batch of data
        xb, yb = get_batch('train')

        # evaluate the loss
        logits, loss = model(xb, yb)
        if zero_grad:  # (the no_zero_grad cases leave it out, as people forget it)
            optimizer.zero_grad(set_to_none=True)
        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()
        losses.append(loss.item())
    monitor.close()
    ev = estimate_loss()  # upstream: none after the loop (the last at iteration 2700)
    evals.append({"iter": n_iters, "train": float(ev["train"]), "val": float(ev["val"])})
    if verbose:
        print(f"step {n_iters}: train loss {ev['train']:.4f}, val loss {ev['val']:.4f} ({time.time() - t0:.1f}s)")
    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "val_loss", "value": evals[-1]["val"],
            "initial": evals[0]["val"], "initial_what": "untrained: estimate_loss()['val'] before the first iteration",
            "chance": math.log(vocab_size),
            "extra": {"steps": len(losses), "evals": evals, "train_loss": float(np.mean(la[-20:])),
                      "first5_train_loss": float(np.mean(la[:5])), "eval_train_loss": evals[-1]["train"],
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "vocab_size": vocab_size, "lr": lr,
                      "lr_mult": lr_mult, "init": init, "zero_grad": zero_grad, "softmax": softmax,
                      "batch_size": batch_size, "block_size": block_size,
                      "n_params": sum(p.numel() for p in m.parameters())},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="ngbigram", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"ngbigram_healthy_s{s}", "healthy", s, {}, "unchanged (nn.Embedding(vocab, vocab) table, default N(0, 1) "
           "init; AdamW lr 1e-2, batch 32, block 8, no clipping, 3000 iterations)", False) for s in (1, 2, 3)]
    + [_case(f"ngbigram_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"AdamW learning_rate x{k} ({1e-2 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("ngbigram_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "AdamW learning_rate /1000 (1e-05)")]
    + [_case(f"ngbigram_init_std10_s{s}", "init_large", s, {"init": "std10"},
             "the table drawn nn.init.normal_(std=10.0) instead of nn.Embedding's default N(0, 1)") for s in (1, 2)]
    + [_case("ngbigram_init_std100_s1", "init_large", 1, {"init": "std100"},
             "the table drawn nn.init.normal_(std=100.0) instead of nn.Embedding's default N(0, 1) (added after N(0, 10) "
             "came out ambiguous on both seeds)")]
    + [_case("ngbigram_const_init_s1", "symmetric_init", 1, {"init": "const"},
             "the table set by nn.init.constant_(weight, 0.5): every logit equal at the start")]
    + [_case(f"ngbigram_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             "optimizer.zero_grad(set_to_none=True) left out of the loop: the gradients accumulate") for s in (1, 2)]
    + [_case(f"ngbigram_softmax_ce_s{s}", "wrong_loss", s, {"softmax": True},
             "F.cross_entropy(F.softmax(logits, dim=-1), targets): probabilities fed to a loss that expects logits "
             "(estimate_loss reports the same loss)") for s in (1, 2)]
    + [_case("ngbigram_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, "AdamW learning_rate x2 (0.02; expected harmless)")]
    + [_case("ngbigram_batch64_s1", "healthy", 1, {"batch": 64},
             "batch_size 64 instead of 32 (expected harmless; no cause names it)")]
)


if __name__ == "__main__":
    import sys
    kw = {"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}
    if len(sys.argv) > 2:
        kw["init"] = sys.argv[2]
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k not in ("monitors",)})
