"""lucidrains/g-mlp-pytorch ``gMLP`` as a causal character-level language model (embedding, pre-norm residual gMLP
blocks with a causal spatial gating unit, LayerNorm + Linear to logits), trained as its train.py does, watched by
gradmedic.

Adapted from https://github.com/lucidrains/g-mlp-pytorch (commit 970966c10c10770b2098b8f88c7d1f86efbf611b,
g_mlp_pytorch/g_mlp_pytorch.py, g_mlp_pytorch/autoregressive_wrapper.py and train.py; MIT License, Copyright (c)
2021 Phil Wang, see LICENSE-gmlp).  Kept as in the original: ``Residual``, ``PreNorm``, ``PreShiftTokens`` (with
``shift_tokens=0``, the default, it passes through), ``SpatialGatingUnit`` (split into res and gate, LayerNorm on the
gate, a per-head (seq x seq) weight initialized uniform in +-init_eps/seq_len with init_eps 1e-3 and a bias of ones,
i.e. the paper's near-identity gate, the causal triu mask, identity activation), ``gMLPBlock`` (Linear(dim, dim_ff) +
GELU, SGU, Linear(dim_ff/2, dim)), ``gMLP`` (Embedding, ``depth`` blocks, LayerNorm + Linear to logits, the
layer-dropping ``dropout_layers`` with its default prob_survival 1 = off), ``circulant_matrix`` off and ``heads`` 1
(the defaults), PyTorch's default init for Embedding, Linear and LayerNorm (upstream sets none); the
``AutoregressiveWrapper`` loss (inputs x[:, :-1], targets x[:, 1:], ``F.cross_entropy(out.transpose(1, 2), xo)``);
train.py's loop: random windows of seq_len + 1 tokens, BATCH_SIZE 4, GRADIENT_ACCUMULATE_EVERY 4 (four backward
passes summed, the loss not divided), ``clip_grad_norm_(model.parameters(), 0.5)``, ``Adam(lr=2e-4)``, step, zero_grad.

Changed: einops is not installed here, so its two uses on this path are rewritten with plain torch ops of the same
meaning (``rearrange(mask, 'i j -> () i j')`` as ``mask[None]``; ``rearrange(gate, 'b n (h d) -> b h n d')`` as
``unflatten(-1, (h, -1)).transpose(1, 2)``, ``rearrange(bias, 'h n -> () h n ()')`` as ``bias[None, :, :, None]``
and back as ``transpose(1, 2).flatten(2)``); the unused Attention (aMLP), circulant, gMLPVision and generation code
is left out.  The text is the standard library's docstrings (shipped_text.py's ``stdlib_docstrings()``, first
400,000 characters) as characters instead of enwik8's bytes (so num_tokens is the text's character set, 95 instead
of 256); the last 10% is held out.  The windows are drawn by a ``torch.Generator`` seeded with the run's seed
(upstream: the global RNG) so every variant of a seed sees the same batches.  Sizes shrunk so a run takes 10-30 s
on one CPU thread: dim 64 instead of 512, depth 3 instead of 8, seq_len 64 instead of 768, 250 optimizer steps
instead of 1e5; lr 1e-3 instead of 2e-4 (the README names none, and 2e-4 is too slow for a model this small and a
run this short).  No tqdm, no validation/generation printing.

The watch: ``gradmedic.watch(model, optim, every=10)`` right after the optimizer is built, ``monitor.step(loss)``
once per optimizer step, after the fourth micro-batch's ``loss.backward()`` (the gradients then hold the sum of the
four), with the mean of the four micro-batch losses, before ``clip_grad_norm_`` and ``optim.step()``.  The metric
is the held-out loss: the mean cross-entropy of 32 fixed windows of the held-out tenth, before training
(``initial``) and after (``value``).

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the same
seed's healthy run: lr x10, x100 (seeds 1 and 2), x1000 and /1000; ``nn.init.normal_(0, 1)`` on every Linear
weight; the spatial gating unit's near-identity init replaced by PyTorch's default for a Linear(seq_len, seq_len)
(weight kaiming_uniform_(a=sqrt(5)) = U(+-1/sqrt(64)), bias U(+-1/sqrt(64)) instead of uniform +-1e-3/64 and
ones; seeds 1 and 2); no ``clip_grad_norm_`` (seeds 1 and 2).  No "unscaled inputs" case (the inputs are
character ids through an Embedding).
Recorded (cases-public16, 190 s in all): healthy 2.42-2.45 on seeds 1-3 (from 4.69-4.76 held-out before training);
lr x10 (0.01) ends at 2.09, better than the program (labelled healthy: at lr 1e-3 and 250 steps the program is
under-trained), lr x100 at 2.35 on seed 1 (healthy) and 2.45 on seed 2 (ambiguous: 2.453 vs 2.424; Adam with
LayerNorm before every block and the logits still trains at 0.1); x1000 ends at 82.5 and /1000 at 4.73 (no progress):
broken; N(0, 1) Linear weights start at 19.0 and end at 3.02 (ambiguous); the SGU's default init ends at 2.58 and
2.62 (labelled healthy: within 1.1x of the program); no clipping 2.44 and 2.45 (healthy: under Adam the 0.5 norm clip
only rescales a step).
"""

from __future__ import annotations

import math
import time
from random import randrange

import numpy as np
import torch
import torch.nn.functional as F
from shipped_text import stdlib_docstrings
from torch import einsum, nn

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("monitor.step(loss) once per optimizer step, after the fourth accumulated micro-batch's loss.backward() "
              "(loss: the mean of the four micro-batch losses; gradients: their sum, as train.py accumulates), before "
              "clip_grad_norm_(0.5) and optim.step()")


# functions

def exists(val):
    return val is not None


def dropout_layers(layers, prob_survival):
    if prob_survival == 1:
        return layers

    num_layers = len(layers)
    to_drop = torch.zeros(num_layers).uniform_(0., 1.) > prob_survival

    # make sure at least one layer makes it
    if all(to_drop):
        rand_index = randrange(num_layers)
        to_drop[rand_index] = False

    layers = [layer for (layer, drop) in zip(layers, to_drop, strict=False) if not drop]
    return layers


def shift(t, amount, mask=None):
    if amount == 0:
        return t
    return F.pad(t, (0, 0, amount, -amount), value=0.)


# helper classes

class Residual(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x) + x


class PreShiftTokens(nn.Module):
    def __init__(self, shifts, fn):
        super().__init__()
        self.fn = fn
        self.shifts = tuple(shifts)

    def forward(self, x, **kwargs):
        if self.shifts == (0,):
            return self.fn(x, **kwargs)

        shifts = self.shifts
        segments = len(shifts)
        feats_per_shift = x.shape[-1] // segments
        splitted = x.split(feats_per_shift, dim=-1)
        segments_to_shift, rest = splitted[:segments], splitted[segments:]
        segments_to_shift = list(map(lambda args: shift(*args), zip(segments_to_shift, shifts, strict=False)))
        x = torch.cat((*segments_to_shift, *rest), dim=-1)
        return self.fn(x, **kwargs)


class PreNorm(nn.Module):
    def __init__(self, dim, fn):
        super().__init__()
        self.fn = fn
        self.norm = nn.LayerNorm(dim)

    def forward(self, x, **kwargs):
        x = self.norm(x)
        return self.fn(x, **kwargs)


class SpatialGatingUnit(nn.Module):
    def __init__(self, dim, dim_seq, causal=False, act=nn.Identity(), heads=1, init_eps=1e-3):  # noqa: B008
        super().__init__()
        dim_out = dim // 2
        self.heads = heads
        self.causal = causal
        self.norm = nn.LayerNorm(dim_out)

        self.act = act

        # parameters (circulant_matrix=False, the default)

        shape = (heads, dim_seq, dim_seq)
        weight = torch.zeros(shape)

        self.weight = nn.Parameter(weight)
        init_eps /= dim_seq
        nn.init.uniform_(self.weight, -init_eps, init_eps)

        self.bias = nn.Parameter(torch.ones(heads, dim_seq))

    def forward(self, x, gate_res=None):
        device, n, h = x.device, x.shape[1], self.heads

        res, gate = x.chunk(2, dim=-1)
        gate = self.norm(gate)

        weight, bias = self.weight, self.bias

        if self.causal:
            weight, bias = weight[:, :n, :n], bias[:, :n]
            mask = torch.ones(weight.shape[-2:], device=device).triu_(1).bool()
            mask = mask[None]  # rearrange(mask, 'i j -> () i j')
            weight = weight.masked_fill(mask, 0.)

        gate = gate.unflatten(-1, (h, -1)).transpose(1, 2)  # rearrange(gate, 'b n (h d) -> b h n d', h = h)

        gate = einsum('b h n d, h m n -> b h m d', gate, weight)
        gate = gate + bias[None, :, :, None]  # rearrange(bias, 'h n -> () h n ()')

        gate = gate.transpose(1, 2).flatten(2)  # rearrange(gate, 'b h n d -> b n (h d)')

        if exists(gate_res):
            gate = gate + gate_res

        return self.act(gate) * res


class gMLPBlock(nn.Module):
    def __init__(self, *, dim, dim_ff, seq_len, heads=1, causal=False, act=nn.Identity()):  # noqa: B008
        super().__init__()
        self.proj_in = nn.Sequential(
            nn.Linear(dim, dim_ff),
            nn.GELU()
        )

        self.attn = None  # attn_dim=None (no aMLP attention)

        self.sgu = SpatialGatingUnit(dim_ff, seq_len, causal, act, heads)
        self.proj_out = nn.Linear(dim_ff // 2, dim)

    def forward(self, x):
        gate_res = self.attn(x) if exists(self.attn) else None
        x = self.proj_in(x)
        x = self.sgu(x, gate_res=gate_res)
        x = self.proj_out(x)
        return x


# main classes

class gMLP(nn.Module):
    def __init__(self, *, num_tokens=None, dim, depth, seq_len, heads=1, ff_mult=4, prob_survival=1., causal=False,
                 shift_tokens=0, act=nn.Identity()):  # noqa: B008
        super().__init__()
        assert (dim % heads) == 0, 'dimension must be divisible by number of heads'

        dim_ff = dim * ff_mult
        self.seq_len = seq_len
        self.prob_survival = prob_survival

        self.to_embed = nn.Embedding(num_tokens, dim) if exists(num_tokens) else nn.Identity()

        token_shifts = tuple(range(0 if causal else -shift_tokens, shift_tokens + 1))
        self.layers = nn.ModuleList([Residual(PreNorm(dim, PreShiftTokens(token_shifts, gMLPBlock(
            dim=dim, heads=heads, dim_ff=dim_ff, seq_len=seq_len, causal=causal, act=act)))) for i in range(depth)])

        self.to_logits = nn.Sequential(
            nn.LayerNorm(dim),
            nn.Linear(dim, num_tokens)
        ) if exists(num_tokens) else nn.Identity()

    def forward(self, x):
        x = self.to_embed(x)
        layers = self.layers if not self.training else dropout_layers(self.layers, self.prob_survival)
        out = nn.Sequential(*layers)(x)
        return self.to_logits(out)


class AutoregressiveWrapper(nn.Module):
    def __init__(self, net, ignore_index=-100, pad_value=0):
        super().__init__()
        self.pad_value = pad_value
        self.ignore_index = ignore_index

        self.net = net
        self.max_seq_len = net.seq_len

    def forward(self, x, **kwargs):
        xi, xo = x[:, :-1], x[:, 1:]
        out = self.net(xi, **kwargs)
        loss = F.cross_entropy(out.transpose(1, 2), xo, ignore_index=self.ignore_index)
        return loss


# train.py -------------------------------------------------------------------------------------------------------

def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, default_sgu_init: bool = False,
          clip: bool = True, dim: int = 64, depth: int = 3, seq_len: int = 64, num_batches: int = 250,
          batch_size: int = 4, grad_accumulate_every: int = 4, n_chars: int = 400_000, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    lr = 1e-3 * lr_mult

    text = stdlib_docstrings()[:n_chars]
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    X = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n_train = int(0.9 * len(X))
    data_train, data_val = X[:n_train], X[n_train:]
    gen = torch.Generator().manual_seed(seed)

    def sample(data, n, g):
        starts = torch.randint(0, data.size(0) - seq_len - 1, (n,), generator=g)
        return torch.stack([data[s: s + seq_len + 1] for s in starts.tolist()])

    val_batch = sample(data_val, 32, torch.Generator().manual_seed(1234))  # fixed held-out windows

    model = gMLP(num_tokens=len(chars), dim=dim, seq_len=seq_len, depth=depth, causal=True)
    if init_std is not None:  # the bug: normal_(0, std) on every Linear weight instead of PyTorch's default
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, init_std)
    if default_sgu_init:  # the bug: the SGU's near-identity init replaced by PyTorch's default for a Linear(n, n)
        for m in model.modules():
            if isinstance(m, SpatialGatingUnit):
                for h in range(m.heads):
                    nn.init.kaiming_uniform_(m.weight.data[h], a=math.sqrt(5))
                bound = 1 / math.sqrt(m.weight.shape[-1])
                nn.init.uniform_(m.bias, -bound, bound)
    model = AutoregressiveWrapper(model)

    def evaluate():
        model.eval()
        with torch.no_grad():
            v = model(val_batch).item()
        model.train()
        return v

    initial = evaluate()
    optim = torch.optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optim, every=every)  # gradmedic

    t0 = time.time()
    log = []
    for i in range(num_batches):
        model.train()
        micro = []
        for __ in range(grad_accumulate_every):
            loss = model(sample(data_train, batch_size, gen))
            loss.backward()
            micro.append(loss.detach())
        step_loss = torch.stack(micro).mean()
        monitor.step(step_loss)  # gradmedic
        if clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optim.step()
        optim.zero_grad()
        log.append(step_loss.item())
        if verbose and (i + 1) % 50 == 0:
            print(f"step {i + 1} training loss {np.mean(log[-20:]):.3f}  {time.time() - t0:.1f}s", flush=True)
    monitor.close()
    value = evaluate()
    if verbose:
        print(f"validation loss {initial:.3f} -> {value:.3f}")
    return {"monitors": {"": monitor}, "metric": "val_loss", "value": value if math.isfinite(value) else float("nan"),
            "initial": initial, "initial_what": "untrained: held-out loss before training",
            "chance": math.log(len(chars)),
            "extra": {"train_loss": float(np.mean(log[-20:])), "steps": len(log), "lr": lr, "dim": dim, "depth": depth,
                      "seq_len": seq_len, "vocab_size": len(chars), "batch_size": batch_size,
                      "grad_accumulate_every": grad_accumulate_every,
                      "n_params": sum(p.numel() for p in model.parameters())},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="gmlp", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"gmlp_healthy_s{s}", "healthy", s, {}, "unchanged (causal gMLP dim 64, depth 3, seq_len 64, chars, batch 4 "
           "x 4 accumulated, Adam lr 1e-3, clip_grad_norm_ 0.5, 250 steps)", False) for s in (1, 2, 3)]
    + [_case(f"gmlp_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({1e-3 * k:g}), clip 0.5 kept")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("gmlp_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (1e-06)")]
    + [_case("gmlp_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             "nn.init.normal_(0, 1) on every Linear weight (proj_in, proj_out, to_logits) instead of PyTorch's default "
             "(kaiming_uniform_, a=sqrt(5))")]
    + [_case(f"gmlp_sgu_default_init_s{s}", "init_large", s, {"default_sgu_init": True},
             "the spatial gating unit's weight and bias initialized as PyTorch's default Linear(64, 64) "
             "(kaiming_uniform_(a=sqrt(5)), bias U(+-1/8)) instead of uniform +-1e-3/64 and ones") for s in (1, 2)]
    + [_case(f"gmlp_no_clip_s{s}", "no_clipping", s, {"clip": False},
             "no clip_grad_norm_(0.5) at the default lr") for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    r = train(verbose=True, **({"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}))
    print({k: v for k, v in r.items() if k != "monitors"})
