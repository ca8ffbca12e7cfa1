"""karpathy/ng-video-lecture's ``gpt.py`` (the "Let's build GPT: from scratch, in code, spelled out" lecture's
character-level GPT), watched by gradmedic.

Adapted from https://github.com/karpathy/ng-video-lecture (commit 52201428ed7b46804849dea0b3ccf0de9df1a5c3, the
master head; ``gpt.py`` last changed in 4c8e9028cc4fe417100e1e27db077fca0e0477f2; MIT License per the README,
Copyright (c) 2022 Andrej Karpathy, see LICENSE-ngvideo).  Kept as in the original: ``Head`` (key/query/value
Linear without bias, ``k.shape[-1]**-0.5`` scaling, the causal ``tril`` mask, softmax, dropout on the weights),
``MultiHeadAttention`` (heads concatenated, ``proj``, dropout), ``FeedFoward`` (sic; Linear 4x, ReLU, Linear,
Dropout), ``Block`` (pre-LayerNorm residual attention and feed-forward), ``GPTLanguageModel`` (token and
position ``nn.Embedding``, the blocks, ``ln_f``, ``lm_head``, its ``_init_weights``: normal std 0.02 on every
Linear and Embedding weight, zero biases; ``F.cross_entropy`` on the flattened logits), ``get_batch`` (random
windows of ``torch.randint``), ``estimate_loss`` (``model.eval()``, mean loss of ``eval_iters`` batches per
split, ``model.train()``), the 90/10 train/val split, the character vocabulary, dropout 0.2, and the loop:
``torch.optim.AdamW(model.parameters(), lr=3e-4)`` (its defaults otherwise: weight decay 0.01), per iteration
``get_batch('train')``, ``model(xb, yb)``, ``optimizer.zero_grad(set_to_none=True)``, ``loss.backward()``,
``optimizer.step()``, no clipping, no schedule, evaluation every ``eval_interval`` and at the last iteration.

Changed to run offline on one CPU thread in 10-60 s: the text is shipped_text.py's ``stdlib_docstrings()`` (the
standard library's docstrings, 881,124 characters, 96 distinct) instead of tinyshakespeare's input.txt (a
download); sizes shrunk from batch 64, block 256, n_embd 384, n_head 6, n_layer 6, 5000 iterations, eval every 500
over 200 batches to batch 16, block 32, n_embd 64, n_head 4, n_layer 3, 600 iterations, eval every 200 over 20
batches (learning rate, dropout and everything else as upstream); ``device`` is 'cpu'; the seed is 1337 + seed
(upstream 1337); the hyperparameters stay module globals as upstream has them, and the data and model globals
that ``get_batch``/``estimate_loss`` read are set by ``train()``; the parameter-count print, the final
``generate`` sample and the prints of ``estimate_loss`` are dropped (the evaluations go to ``extra["evals"]``).
The metric is the training loss: the mean of the last 20 iterations' batch losses against the mean of the first 5
(``initial``), as makemore.py and mingpt.py report it.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the AdamW is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the loop.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the same
seed's healthy run: lr x10, x100 (seeds 1 and 2), x1000 and /1000; ``normal_(std=1.0)`` instead of 0.02 in
``_init_weights`` (every Linear and Embedding weight; seeds 1 and 2); ``zeros_`` instead of ``normal_`` there;
and the code as it stood in the video, before commit d38c865 added ``_init_weights`` (PyTorch's defaults:
Embedding N(0, 1), Linear kaiming_uniform; the README: "will train and work fine, but its convergence is
slower"), as an ``init_large`` case whose label the outcome decides.  No clipping and no input scaling in the
program, so no ``no_clipping`` or ``unscaled_inputs`` case.  No dropout-0.9 case: no cause of causes.py
describes it.
Recorded (cases-public9, 472 s for the 12 runs): healthy 2.661-2.677 from ~4.44 on seeds 1-3 (0.60x; val loss
~2.6); lr x10 (3e-3) trains better than the program (2.517, healthy); lr x100 (3.202 and 3.203) and x1000 (3.323,
from 10.3) stall near the characters' unigram loss, worse than the program but not below half its progress, so
ambiguous; /1000 stays at 4.55 (broken); N(0, 1) in ``_init_weights`` ends at 6.14 and 5.85 from ~19.5 (broken);
zeros ends at 4.36 (broken: only ``lm_head``'s bias gets a gradient); the video's default init reaches 2.745
(healthy, as the README says: slower, but it trains).
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
from torch.nn import functional as F

import gradmedic

ARCH = "gpt"
MONITOR_AT = ("watch(model, optimizer, every=10) right after the AdamW is built; monitor.step(loss) right after "
              "loss.backward(), before optimizer.step() (gpt.py does not clip)")

# hyperparameters (upstream: batch 64, block 256, 5000 iters, eval every 500 over 200 batches, n_embd 384, 6 heads,
# 6 layers)
batch_size = 16 # how many independent sequences will we process in parallel?
block_size = 32 # what is the maximum context length for predictions?
max_iters = 600
eval_interval = 200
learning_rate = 3e-4
device = 'cpu'
eval_iters = 20
n_embd = 64
n_head = 4
n_layer = 3
dropout = 0.2
# ------------

# set by train(): the text's splits and the model, read by get_batch and estimate_loss as upstream's globals
train_data = val_data = model = None
vocab_size = None


def load_text():
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

class Head(nn.Module):
    """ one head of self-attention """

    def __init__(self, head_size):
        super().__init__()
        self.key = nn.Linear(n_embd, head_size, bias=False)
        self.query = nn.Linear(n_embd, head_size, bias=False)
        self.value = nn.Linear(n_embd, head_size, bias=False)
        self.register_buffer('tril', torch.tril(torch.ones(block_size, block_size)))

        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        # input of size (batch, time-step, channels)
        # output of size (batch, time-step, head size)
        B,T,C = x.shape
        k = self.key(x)   # (B,T,hs)
        q = self.query(x) # (B,T,hs)
        # compute attention scores ("affinities")
        wei = q @ k.transpose(-2,-1) * k.shape[-1]**-0.5 # (B, T, hs) @ (B, hs, T) -> (B, T, T)
        wei = wei.masked_fill(self.tril[:T, :T] == 0, float('-inf')) # (B, T, T)
        wei = F.softmax(wei, dim=-1) # (B, T, T)
        wei = self.dropout(wei)
        # perform the weighted aggregation of the values
        v = self.value(x) # (B,T,hs)
        out = wei @ v # (B, T, T) @ (B, T, hs) -> (B, T, hs)
        return out

class MultiHeadAttention(nn.Module):
    """ multiple heads of self-attention in parallel """

    def __init__(self, num_heads, head_size):
        super().__init__()
        self.heads = nn.ModuleList([Head(head_size) for _ in range(num_heads)])
        self.proj = nn.Linear(head_size * num_heads, n_embd)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        out = torch.cat([h(x) for h in self.heads], dim=-1)
        out = self.dropout(self.proj(out))
        return out

class FeedFoward(nn.Module):
    """ a simple linear layer followed by a non-linearity """

    def __init__(self, n_embd):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_embd, 4 * n_embd),
            nn.ReLU(),
            nn.Linear(4 * n_embd, n_embd),
            nn.Dropout(dropout),
        )

    def forward(self, x):
        return self.net(x)

class Block(nn.Module):
    """ Transformer block: communication followed by computation """

    def __init__(self, n_embd, n_head):
        # n_embd: embedding dimension, n_head: the number of heads we'd like
        super().__init__()
        head_size = n_embd // n_head
        self.sa = MultiHeadAttention(n_head, head_size)
        self.ffwd = FeedFoward(n_embd)
        self.ln1 = nn.LayerNorm(n_embd)
        self.ln2 = nn.LayerNorm(n_embd)

    def forward(self, x):
        x = x + self.sa(self.ln1(x))
        x = x + self.ffwd(self.ln2(x))
        return x

class GPTLanguageModel(nn.Module):

    def __init__(self):
        super().__init__()
        # each token directly reads off the logits for the next token from a lookup table
        self.token_embedding_table = nn.Embedding(vocab_size, n_embd)
        self.position_embedding_table = nn.Embedding(block_size, n_embd)
        self.blocks = nn.Sequential(*[Block(n_embd, n_head=n_head) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd) # final layer norm
        self.lm_head = nn.Linear(n_embd, vocab_size)

        # better init, not covered in the original GPT video, but important, will cover in followup video
        self.apply(self._init_weights)

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        B, T = idx.shape

        # idx and targets are both (B,T) tensor of integers
        tok_emb = self.token_embedding_table(idx) # (B,T,C)
        pos_emb = self.position_embedding_table(torch.arange(T, device=device)) # (T,C)
        x = tok_emb + pos_emb # (B,T,C)
        x = self.blocks(x) # (B,T,C)
        x = self.ln_f(x) # (B,T,C)
        logits = self.lm_head(x) # (B,T,vocab_size)

        if targets is None:
            loss = None
        else:
            B, T, C = logits.shape
            logits = logits.view(B*T, C)
            targets = targets.view(B*T)
            loss = F.cross_entropy(logits, targets)

        return logits, loss

    def generate(self, idx, max_new_tokens):
        # idx is (B, T) array of indices in the current context
        for _ in range(max_new_tokens):
            # crop idx to the last block_size tokens
            idx_cond = idx[:, -block_size:]
            # get the predictions
            logits, loss = self(idx_cond)
            # focus only on the last time step
            logits = logits[:, -1, :] # becomes (B, C)
            # apply softmax to get probabilities
            probs = F.softmax(logits, dim=-1) # (B, C)
            # sample from the distribution
            idx_next = torch.multinomial(probs, num_samples=1) # (B, 1)
            # append sampled index to the running sequence
            idx = torch.cat((idx, idx_next), dim=1) # (B, T+1)
        return idx


def train(seed: int = 1, lr_mult: float = 1.0, init: str = "upstream", iters: int | None = None, every: int = 10,
          verbose: bool = False, zero_grad: bool = True) -> dict:
    """``init``: "upstream" (``_init_weights``, normal std 0.02), "std1" (normal std 1.0 there), "zeros" (zeros_
    there) or "default" (no ``_init_weights``: PyTorch's default inits, as in the video's code)."""
    global train_data, val_data, model, vocab_size
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    n_iters = max_iters if iters is None else iters

    torch.manual_seed(1337 + seed)

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

    model = GPTLanguageModel()
    if init != "upstream":  # the variants: _init_weights changed (or, "default", never applied)
        for mod in model.modules():
            if isinstance(mod, (nn.Linear, nn.Embedding)):
                if init == "std1":
                    torch.nn.init.normal_(mod.weight, mean=0.0, std=1.0)
                elif init == "zeros":
                    torch.nn.init.zeros_(mod.weight)
                elif init == "default":
                    mod.reset_parameters()
                else:
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
        if iter % eval_interval == 0 or iter == n_iters - 1:
            ev = estimate_loss()
            evals.append({"iter": iter, "train": float(ev["train"]), "val": float(ev["val"])})
            if verbose:
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
    return {"monitors": {"": monitor}, "metric": "train_loss", "value": float(np.mean(losses[-20:])),
            "initial": float(np.mean(losses[:5])), "chance": math.log(vocab_size),
            "initial_what": "untrained: mean loss of the first 5 steps",
            "extra": {"steps": len(losses), "evals": evals, "val_loss": evals[-1]["val"],
                      "eval_train_loss": evals[-1]["train"], "vocab_size": vocab_size, "lr": lr, "init": init,
                      "n_params": sum(p.numel() for p in m.parameters()), "batch_size": batch_size,
                      "block_size": block_size, "n_embd": n_embd, "n_head": n_head, "n_layer": n_layer,
                      "dropout": dropout},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="ngvideo", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"ngvideo_healthy_s{s}", "healthy", s, {}, "unchanged (n_embd 64, 4 heads, 3 layers, block 32, batch 16, "
           "dropout 0.2, _init_weights std 0.02, AdamW lr 3e-4, no clipping, 600 iterations)", False)
     for s in (1, 2, 3)]
    + [_case(f"ngvideo_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"AdamW learning_rate x{k} ({3e-4 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("ngvideo_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "AdamW learning_rate /1000 (3e-07)")]
    + [_case(f"ngvideo_init_std1_s{s}", "init_large", s, {"init": "std1"},
             "normal_(std=1.0) instead of std=0.02 in _init_weights (every Linear and Embedding weight; biases zero)")
       for s in (1, 2)]
    + [_case("ngvideo_zero_init_s1", "symmetric_init", 1, {"init": "zeros"},
             "zeros_ instead of normal_ in _init_weights (every Linear and Embedding weight; biases zero)")]
    + [_case("ngvideo_default_init_s1", "init_large", 1, {"init": "default"},
             "no _init_weights, as gpt.py stood in the video before commit d38c865: PyTorch's default inits "
             "(Embedding N(0, 1), Linear kaiming_uniform_(a=sqrt(5)) and uniform bias)")]
    + [_case(f"ngvideo_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             "optimizer.zero_grad() left out of the loop (added after set 9 was scored: the gradients accumulate)")
       for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    kw = {"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}
    if len(sys.argv) > 2:
        kw["init"] = sys.argv[2]
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k not in ("monitors",)})
