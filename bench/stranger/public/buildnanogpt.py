"""karpathy/build-nanogpt's ``train_gpt2.py`` (the "Let's reproduce GPT-2 (124M)" lecture's GPT-2 training script),
on characters, watched by gradmedic.

Adapted from https://github.com/karpathy/build-nanogpt (commit 6104ab1b53920f6e2159749676073ff7d815c1fa, the master
head, ``train_gpt2.py``; MIT License per the README, which ends "## License\\n\\nMIT"; the repository has no LICENSE
file; see LICENSE-buildnanogpt).  Kept as in the original: ``CausalSelfAttention`` (one ``c_attn`` Linear for q, k,
v, ``F.scaled_dot_product_attention(q, k, v, is_causal=True)``, ``c_proj`` flagged ``NANOGPT_SCALE_INIT``),
``MLP`` (``c_fc`` 4x, ``nn.GELU(approximate='tanh')``, ``c_proj`` flagged ``NANOGPT_SCALE_INIT``), ``Block``
(pre-LayerNorm residual attention and MLP), ``GPTConfig``, ``GPT`` (``wte``, ``wpe``, the blocks, ``ln_f``,
``lm_head`` without bias, the weight tying ``wte.weight = lm_head.weight``, ``_init_weights``: normal std 0.02,
times ``(2 * n_layer) ** -0.5`` on the flagged projections, zero biases, embeddings normal std 0.02;
``F.cross_entropy`` on the flattened logits), ``configure_optimizers`` (AdamW, weight decay 0.1 on the parameters
with 2 or more dimensions, none on the rest, betas (0.9, 0.95), eps 1e-8; not fused, as on a non-CUDA device),
``DataLoaderLite.next_batch`` (consecutive B*T+1 windows walked through the tokens, wrapping to the start), ``get_lr``
(linear warmup to ``max_lr`` 6e-4, cosine decay to ``min_lr = max_lr * 0.1``), and the loop: per step
``optimizer.zero_grad()``, ``grad_accum_steps`` micro-steps of ``next_batch``, the forward under
``torch.autocast(device_type=device_type, dtype=torch.bfloat16)`` (device_type 'cpu' here, as upstream on a CPU),
``loss = loss / grad_accum_steps``, ``loss.backward()``; then ``clip_grad_norm_(model.parameters(), 1.0)``, the lr set
on every param group from ``get_lr(step)``, ``optimizer.step()``; the validation loss (``val_loader.reset()``, 20
batches under autocast, ``model.eval()`` and ``no_grad``) at step 0, every ``eval_every`` steps and at the last step.

Changed to run offline on one CPU thread in about 15-45 s: the data is shipped_text.py's ``stdlib_docstrings()`` (the
standard library's docstrings, about 880k characters) encoded by its character vocabulary (upstream: the GPT-2
tiktoken BPE of FineWeb-Edu shards, a download), the first 90% the "train" split and the rest "val" (upstream: shard
files named train/val), so ``DataLoaderLite`` takes the split's token tensor instead of listing shard files (no DDP:
process_rank 0, num_processes 1; its ``next_batch`` unchanged); ``GPTConfig(block_size=64, vocab_size=<characters>,
n_layer=3, n_head=4, n_embd=64)`` (upstream 1024, 50304, 12, 12, 768); total_batch_size 1024 tokens, B 8, T 64, so
grad_accum_steps 2 (upstream 524288, 64, 1024: 8); max_steps 200 and warmup_steps 10 (upstream 19073 and 715, a
similar ~4-5% warmup); validation every 100 steps (upstream 250) over val_loss_steps 20 batches of 8x64; the seed is
1337 + seed (upstream 1337); max_lr 6e-4 as upstream.  Dropped: ``from_pretrained`` (downloads GPT-2), the
HellaSwag eval, the sampling, the checkpoint and log files, DDP, torch.compile (off upstream too), the
``master_process`` prints; ``set_float32_matmul_precision('high')`` has no effect on a CPU and is left out.

The metric is the held-out loss: the validation loss at the last step against the same evaluation at step 0 (the
untrained model) as ``initial``.

The watch, as a user would add it: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after
``configure_optimizers``, ``monitor.step(loss)`` right after each micro-step's ``loss.backward()`` (the loss already
divided by grad_accum_steps), before ``clip_grad_norm_`` and ``optimizer.step()``; ``monitor.close()`` after the
loop.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the same
seed's healthy run: max_lr (and so min_lr) x10, x100 (seeds 1 and 2), x1000 and /1000; ``normal_(std=1.0)`` on every
Linear and Embedding weight after ``_init_weights`` (seeds 1 and 2; the tied wte/lm_head weight too); no
``clip_grad_norm_`` at max_lr x10; no warmup (``get_lr`` at max_lr from step 0, cosine decay kept) at max_lr x10.
The ``_init_weights``/``NANOGPT_SCALE_INIT`` removal is not a case (PyTorch's defaults train).  No input scaling in
the program (token ids), so no ``unscaled_inputs`` case.  Labels come from run.py's outcome rules only.
Recorded (cases-public19, 385 s for the 12 runs, 17-43 s each on shared cores): healthy val loss 2.975, 2.999 and
3.017 from ~4.55 on seeds 1-3 (0.65-0.66x); max_lr x10 reaches 3.121 (healthy: within 1.1x of 2.975); x100 (3.259 and
3.296) and x1000 (3.470) end worse but not below half the program's progress (ambiguous); /1000 stays at 4.539
(broken); N(0, 1) init ends at 7.55 and 8.30 from ~21 (broken); no clipping at x10 ends at 3.358 and no warmup at x10
at 3.249, both worse than the program and than x10 with clipping and warmup, but ambiguous by the rules.
"""

from __future__ import annotations

import inspect
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
from torch.nn import functional as F

import gradmedic

ARCH = "gpt"
MONITOR_AT = ("watch(model, optimizer, every=10) right after configure_optimizers; monitor.step(loss) right after each "
              "micro-step's loss.backward() (2 micro-steps per step, the loss already divided by grad_accum_steps: the "
              "monitor handles the accumulation), before clip_grad_norm_(1.0), the lr update and optimizer.step(); the "
              "forward under torch.autocast('cpu', dtype=torch.bfloat16)")

master_process = False  # upstream prints from configure_optimizers on the master process; silenced here
# -----------------------------------------------------------------------------

class CausalSelfAttention(nn.Module):

    def __init__(self, config):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        # key, query, value projections for all heads, but in a batch
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)
        # output projection
        self.c_proj = nn.Linear(config.n_embd, config.n_embd)
        self.c_proj.NANOGPT_SCALE_INIT = 1
        # regularization
        self.n_head = config.n_head
        self.n_embd = config.n_embd

    def forward(self, x):
        B, T, C = x.size() # batch size, sequence length, embedding dimensionality (n_embd)
        # calculate query, key, values for all heads in batch and move head forward to be the batch dim
        qkv = self.c_attn(x)
        q, k, v = qkv.split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) # (B, nh, T, hs)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) # (B, nh, T, hs)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True) # flash attention
        y = y.transpose(1, 2).contiguous().view(B, T, C) # re-assemble all head outputs side by side
        # output projection
        y = self.c_proj(y)
        return y

class MLP(nn.Module):

    def __init__(self, config):
        super().__init__()
        self.c_fc    = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.gelu    = nn.GELU(approximate='tanh')
        self.c_proj  = nn.Linear(4 * config.n_embd, config.n_embd)
        self.c_proj.NANOGPT_SCALE_INIT = 1

    def forward(self, x):
        x = self.c_fc(x)
        x = self.gelu(x)
        x = self.c_proj(x)
        return x

class Block(nn.Module):

    def __init__(self, config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.mlp = MLP(config)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x

@dataclass
class GPTConfig:
    block_size: int = 64 # max sequence length (upstream 1024)
    vocab_size: int = 96 # number of tokens: the text's characters (upstream 50257 BPE tokens)
    n_layer: int = 3 # number of layers (upstream 12)
    n_head: int = 4 # number of heads (upstream 12)
    n_embd: int = 64 # embedding dimension (upstream 768)

class GPT(nn.Module):

    def __init__(self, config):
        super().__init__()
        self.config = config

        self.transformer = nn.ModuleDict(dict(
            wte = nn.Embedding(config.vocab_size, config.n_embd),
            wpe = nn.Embedding(config.block_size, config.n_embd),
            h = nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f = nn.LayerNorm(config.n_embd),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)

        # weight sharing scheme
        self.transformer.wte.weight = self.lm_head.weight

        # init params
        self.apply(self._init_weights)

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            std = 0.02
            if hasattr(module, 'NANOGPT_SCALE_INIT'):
                std *= (2 * self.config.n_layer) ** -0.5
            torch.nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        # idx is of shape (B, T)
        B, T = idx.size()
        assert T <= self.config.block_size, \
            f"Cannot forward sequence of length {T}, block size is only {self.config.block_size}"
        # forward the token and posisition embeddings
        pos = torch.arange(0, T, dtype=torch.long, device=idx.device) # shape (T)
        pos_emb = self.transformer.wpe(pos) # position embeddings of shape (T, n_embd)
        tok_emb = self.transformer.wte(idx) # token embeddings of shape (B, T, n_embd)
        x = tok_emb + pos_emb
        # forward the blocks of the transformer
        for block in self.transformer.h:
            x = block(x)
        # forward the final layernorm and the classifier
        x = self.transformer.ln_f(x)
        logits = self.lm_head(x) # (B, T, vocab_size)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss

    def configure_optimizers(self, weight_decay, learning_rate, device_type):
        # start with all of the candidate parameters (that require grad)
        param_dict = {pn: p for pn, p in self.named_parameters()}
        param_dict = {pn: p for pn, p in param_dict.items() if p.requires_grad}
        # create optim groups. Any parameters that is 2D will be weight decayed, otherwise no.
        # i.e. all weight tensors in matmuls + embeddings decay, all biases and layernorms don't.
        decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
        nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
        optim_groups = [
            {'params': decay_params, 'weight_decay': weight_decay},
            {'params': nodecay_params, 'weight_decay': 0.0}
        ]
        num_decay_params = sum(p.numel() for p in decay_params)
        num_nodecay_params = sum(p.numel() for p in nodecay_params)
        if master_process:
            print(f"num decayed parameter tensors: {len(decay_params)}, with {num_decay_params:,} parameters")
            print(f"num non-decayed parameter tensors: {len(nodecay_params)}, with {num_nodecay_params:,} parameters")
        # Create AdamW optimizer and use the fused version if it is available
        fused_available = 'fused' in inspect.signature(torch.optim.AdamW).parameters
        use_fused = fused_available and device_type == "cuda"
        if master_process:
            print(f"using fused AdamW: {use_fused}")
        optimizer = torch.optim.AdamW(optim_groups, lr=learning_rate, betas=(0.9, 0.95), eps=1e-8, fused=use_fused)
        return optimizer

# -----------------------------------------------------------------------------

def load_splits():
    """The text's characters as token ids, split 90/10 into "train" and "val" (upstream: FineWeb-Edu shards)."""
    from shipped_text import stdlib_docstrings
    text = stdlib_docstrings()
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(0.9 * len(data))
    return {"train": data[:n], "val": data[n:]}, len(chars)

class DataLoaderLite:
    def __init__(self, B, T, process_rank, num_processes, split, tokens):
        self.B = B
        self.T = T
        self.process_rank = process_rank
        self.num_processes = num_processes
        assert split in {'train', 'val'}
        # one "shard": the split's token tensor (upstream lists edu_fineweb10B/*{split}* files)
        self.shards = [tokens]
        self.reset()

    def reset(self):
        # state, init at shard zero
        self.current_shard = 0
        self.tokens = self.shards[self.current_shard]
        self.current_position = self.B * self.T * self.process_rank

    def next_batch(self):
        B, T = self.B, self.T
        buf = self.tokens[self.current_position : self.current_position+B*T+1]
        x = (buf[:-1]).view(B, T) # inputs
        y = (buf[1:]).view(B, T) # targets
        # advance the position in the tensor
        self.current_position += B * T * self.num_processes
        # if loading the next batch would be out of bounds, advance to next shard
        if self.current_position + (B * T * self.num_processes + 1) > len(self.tokens):
            self.current_shard = (self.current_shard + 1) % len(self.shards)
            self.tokens = self.shards[self.current_shard]
            self.current_position = B * T * self.process_rank
        return x, y

# -----------------------------------------------------------------------------

def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, clip: bool = True,
          warmup: bool = True, max_steps: int = 200, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    device = "cpu"
    device_type = "cpu"
    ddp_rank, ddp_world_size = 0, 1

    torch.manual_seed(1337 + seed)

    splits, vocab_size = load_splits()

    total_batch_size = 1024 # upstream 524288 tokens
    B = 8 # micro batch size (upstream 64)
    T = 64 # sequence length (upstream 1024)
    assert total_batch_size % (B * T * ddp_world_size) == 0
    grad_accum_steps = total_batch_size // (B * T * ddp_world_size)

    train_loader = DataLoaderLite(B=B, T=T, process_rank=ddp_rank, num_processes=ddp_world_size, split="train",
                                  tokens=splits["train"])
    val_loader = DataLoaderLite(B=B, T=T, process_rank=ddp_rank, num_processes=ddp_world_size, split="val",
                                tokens=splits["val"])

    # create model
    model = GPT(GPTConfig(block_size=64, vocab_size=vocab_size, n_layer=3, n_head=4, n_embd=64))
    if init_std is not None:  # the bug: normal_(0, init_std) on every Linear and Embedding weight
        for mod in model.modules():
            if isinstance(mod, (nn.Linear, nn.Embedding)):
                torch.nn.init.normal_(mod.weight, mean=0.0, std=init_std)
    model.to(device)
    raw_model = model

    max_lr = 6e-4 * lr_mult
    min_lr = max_lr * 0.1
    warmup_steps = 10 if warmup else 0 # upstream 715 of 19073
    def get_lr(it):
        # 1) linear warmup for warmup_iters steps
        if it < warmup_steps:
            return max_lr * (it+1) / warmup_steps
        # 2) if it > lr_decay_iters, return min learning rate
        if it > max_steps:
            return min_lr
        # 3) in between, use cosine decay down to min learning rate
        decay_ratio = (it - warmup_steps) / (max_steps - warmup_steps)
        assert 0 <= decay_ratio <= 1
        coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio)) # coeff starts at 1 and goes to 0
        return min_lr + coeff * (max_lr - min_lr)

    # optimize!
    optimizer = raw_model.configure_optimizers(weight_decay=0.1, learning_rate=max_lr, device_type=device_type)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    eval_every = 100 # upstream 250
    losses, norms, evals = [], [], []
    t0 = time.time()
    for step in range(max_steps):
        last_step = (step == max_steps - 1)

        # once in a while evaluate our validation loss
        if step % eval_every == 0 or last_step:
            model.eval()
            val_loader.reset()
            with torch.no_grad():
                val_loss_accum = 0.0
                val_loss_steps = 20
                for _ in range(val_loss_steps):
                    x, y = val_loader.next_batch()
                    x, y = x.to(device), y.to(device)
                    with torch.autocast(device_type=device_type, dtype=torch.bfloat16):
                        logits, loss = model(x, y)
                    loss = loss / val_loss_steps
                    val_loss_accum += loss.detach()
            evals.append({"step": step, "val": float(val_loss_accum.item())})
            if verbose:
                print(f"step {step}: validation loss: {val_loss_accum.item():.4f} ({time.time() - t0:.1f}s)",
                      flush=True)

        # do one step of the optimization
        model.train()
        optimizer.zero_grad()
        loss_accum = 0.0
        for micro_step in range(grad_accum_steps):  # noqa: B007 (upstream uses it for DDP)
            x, y = train_loader.next_batch()
            x, y = x.to(device), y.to(device)
            with torch.autocast(device_type=device_type, dtype=torch.bfloat16):
                logits, loss = model(x, y)
            # we have to scale the loss to account for gradient accumulation,
            # because the gradients just add on each successive backward().
            loss = loss / grad_accum_steps
            loss_accum += loss.detach()
            loss.backward()
            monitor.step(loss)  # gradmedic
        if clip:  # (the no_clipping case leaves it out)
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        else:
            norm = torch.nn.utils.get_total_norm([p.grad for p in model.parameters() if p.grad is not None])
        # determine and set the learning rate for this iteration
        lr = get_lr(step)
        for param_group in optimizer.param_groups:
            param_group['lr'] = lr
        optimizer.step()
        losses.append(float(loss_accum.item()))
        norms.append(float(norm))
        if verbose and (step % 50 == 0 or last_step):
            print(f"step {step:5d} | loss: {loss_accum.item():.6f} | lr {lr:.4e} | norm: {norm:.4f}", flush=True)
    monitor.close()
    value = evals[-1]["val"]
    return {"monitors": {"": monitor}, "metric": "val_loss", "value": value if math.isfinite(value) else float("nan"),
            "initial": evals[0]["val"], "chance": math.log(vocab_size),
            "initial_what": "the validation loss at step 0 (the untrained model), 20 batches of 8x64 under autocast",
            "extra": {"train_loss": float(np.mean(losses[-20:])), "train_loss_first5": float(np.mean(losses[:5])),
                      "evals": evals, "steps": len(losses), "grad_accum_steps": grad_accum_steps,
                      "max_grad_norm_seen": float(np.nanmax(norms)), "vocab_size": vocab_size, "max_lr": max_lr,
                      "warmup_steps": warmup_steps, "clip": clip, "init_std": init_std,
                      "n_params": sum(p.numel() for p in model.parameters())},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="buildnanogpt", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


CASES: list[dict] = (
    [_case(f"buildnanogpt_healthy_s{s}", "healthy", s, {}, "unchanged (GPT n_layer 3, n_head 4, n_embd 64, block 64, "
           "tied wte/lm_head, _init_weights with NANOGPT_SCALE_INIT, AdamW betas (0.9, 0.95) wd 0.1 on 2-D params, "
           "max_lr 6e-4 with 10 warmup steps and cosine decay to 6e-5 over 200 steps, 2 micro-steps of 8x64, "
           "clip 1.0, bf16 autocast)", False) for s in (1, 2, 3)]
    + [_case(f"buildnanogpt_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k},
             f"max_lr (and min_lr = max_lr * 0.1) x{k} ({6e-4 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("buildnanogpt_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3},
             "max_lr (and min_lr = max_lr * 0.1) /1000 (6e-07)")]
    + [_case(f"buildnanogpt_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "normal_(std=1.0) on every Linear and Embedding weight after _init_weights (the tied wte/lm_head weight, "
             "c_proj's too; biases stay zero)") for s in (1, 2)]
    + [_case("buildnanogpt_no_clip_x10_s1", "no_clipping", 1, {"clip": False, "lr_mult": 10},
             "no clip_grad_norm_(1.0) at max_lr x10 (6e-3)")]
    + [_case("buildnanogpt_nowarmup_lr_x10_s1", "lr_high", 1, {"warmup": False, "lr_mult": 10},
             "no warmup (get_lr at max_lr from step 0, cosine decay kept) at max_lr x10 (6e-3)")]
)


if __name__ == "__main__":
    import sys
    kw = {"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
