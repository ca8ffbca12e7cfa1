"""llm.c's PyTorch reference GPT-2 training script (``train_gpt2.py``), trained from scratch on characters, watched by
gradmedic.

Adapted from https://github.com/karpathy/llm.c (commit f1e2ace651495b74ae22d45d1723443fd00ecd3a, the master head,
``train_gpt2.py``, with the from-scratch settings of ``scripts/pyrun_gpt2_124M.sh``; MIT License, Copyright (c) 2024
Andrej Karpathy, see LICENSE-llmcgpt).  Kept as in the original: ``NewGELU`` (the tanh approximation written out),
``CausalSelfAttention`` with the ``FLASH = 0`` default path (one ``c_attn`` Linear for q, k, v, the registered
``bias`` lower-triangular mask, ``att = (q @ k^T) / sqrt(hs)``, ``masked_fill(-inf)``, softmax, ``att @ v``;
``c_proj`` flagged ``LLMC_RESIDUAL_SCALE_FLAG``), ``MLP`` (``c_fc`` 4x, NewGELU, flagged ``c_proj``), ``Block``
(pre-LayerNorm residual attention and MLP), ``GPTConfig``, ``GPT`` (``wte``, ``wpe``, the blocks, ``ln_f``,
``lm_head`` without bias flagged ``LLMC_SKIP_INIT``, the weight tying ``wte.weight = lm_head.weight``,
``_init_weights`` with its own ``torch.Generator`` ``init_rng``: normal std 0.02, ``0.02/sqrt(2*n_layer)`` on the
flagged projections, zero biases, embeddings std 0.02; ``F.cross_entropy(..., ignore_index=-1)`` and
``return_logits``), ``configure_optimizers`` (AdamW, weight decay on the parameters with 2 or more dimensions, none
on the rest, betas (0.9, 0.95), ``fused`` only on CUDA, so off here), ``DistributedDataLoader.next_batch``
(consecutive B*T+1 windows walked through the tokens, advancing to the next shard at the end), ``get_lr`` (linear
warmup over ``warmup_iters``, cosine decay to ``min_lr = learning_rate * learning_rate_decay_frac``), and the loop:
``num_iterations + 1`` steps, the validation loss (``model.eval()``, ``val_loader.reset()``, ``val_max_steps`` = 20
batches under ``no_grad``, ``return_logits=False``) at step 0, every ``val_loss_every`` steps and at the last step,
which only evaluates; per training step ``model.train()``, ``optimizer.zero_grad(set_to_none=True)``,
``grad_accum_steps = total_batch_size // (B * T)`` micro-steps of ``next_batch``, forward under ``ctx`` (a
``nullcontext()`` on a CPU, upstream's own CPU path: float32, no autocast, whatever ``--dtype`` says), ``loss =
loss / grad_accum_steps``, ``loss.backward()``; then ``clip_grad_norm_(model.parameters(), grad_clip=1.0)``, the lr
set on every param group from ``get_lr(step)``, ``optimizer.step()``.  The settings are pyrun_gpt2_124M.sh's
from-scratch run (``--learning_rate 0.0006``, ``--weight_decay 0.1``, ``--learning_rate_decay_frac 0.0``,
``--overfit_single_batch 0``, ``--grad_clip`` default 1.0, warmup ~3.7% of the steps) at a small size.

Changed to run offline on one CPU thread in about 15-30 s: the data is shipped_text.py's ``stdlib_docstrings()`` (the
standard library's docstrings, about 880k characters) encoded by its character vocabulary (upstream: GPT-2 tiktoken
tokens of FineWeb or tinyshakespeare in .bin shards, a download), the first 90% as the train "shard" and the rest as
the val "shard", so the loader takes a token array instead of globbing files (its ``next_batch`` unchanged; no DDP:
rank 0 of 1); ``GPTConfig(block_size=64, vocab_size=<characters>, n_layer=3, n_head=4, n_embd=64)`` built from the
config (upstream d12: 1024, 50257, 12, 12, 768; no ``from_pretrained``, which downloads GPT-2); B 8, T 64,
total_batch_size 1024 tokens, so grad_accum_steps 2 as the file computes it (the script: 32, 1024, 524288, i.e. 16 on
one GPU; the file's defaults 4, 64, 256: 1); num_iterations 400 and warmup_iters 15 (the script: 18865 and 700, the same 3.7%);
val_loss_every 100 (the script: 250); float32 throughout (``--dtype bfloat16`` upstream only reaches autocast on
CUDA); ``init_rng.manual_seed`` and ``torch.manual_seed`` take 41 + seed (upstream 42: seed 1 is upstream's; the
sequential loader has no randomness, so the seed changes only the init).  Dropped: the tokenizer/model/state .bin
writers and the debug forward before training, the sampling (``--sample_every 0`` in the script), the log file,
DDP and ZeroRedundancyOptimizer (zero_stage 0 off DDP upstream too), torch.compile, tensorcores, timing prints.

The metric is the held-out loss: the validation loss at the last step against the same evaluation at step 0 (the
untrained model) as ``initial``.

The watch, as a user would add it: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after
``configure_optimizers``, ``monitor.step(loss)`` right after each micro-step's ``loss.backward()`` (the loss already
divided by grad_accum_steps), before ``clip_grad_norm_`` and ``optimizer.step()``; ``monitor.close()`` after the
loop.

``CASES`` (in the shape of run.py's ``case()``, program "llmcgpt"): the program on seeds 1-3, and one change each
against the same seed's healthy run: learning_rate x10, x100 (seeds 1 and 2), x1000 and /1000 (warmup and cosine
kept, min_lr 0 as with decay_frac 0.0); ``normal_(std=1.0)`` on every Linear and Embedding weight after
``_init_weights`` (seeds 1 and 2); ``zeros_`` on those weights; ``optimizer.zero_grad(set_to_none=True)`` left out
(seeds 1 and 2); no ``clip_grad_norm_`` at learning_rate x10; and two changes expected harmless: learning_rate x2
(cause lr_high) and weight_decay 0.0 (the file's own ``--weight_decay`` default; cause "healthy").  No input
scaling in the program (token ids), so no ``unscaled_inputs`` case.  Labels come from run.py's outcome rules only.
Recorded (cases-public78, 531 s for the 16 runs, 24-43 s each on 2 shared cores; float32): healthy val loss 2.852,
2.857 and 2.850 from 4.552, 4.567 and 4.541 on seeds 1-3 (0.63x; training loss 2.98 over the last 20 steps; log(96)
= 4.564 is chance); lr x10 (6e-3) 2.797: healthy; lr x100 (0.06) 3.152 and 3.214, x1000 (0.6) 3.400: worse than
the program but more than half its progress, ambiguous (a trial x10000, not kept as a case, also ended ambiguous at
3.508 after validation losses of 481 on the way); lr /1000 (6e-7) 4.524: broken; N(0, 1) init starts at 18.99 and
20.63 and ends at 4.700 and 4.288: broken; zero init stays at 4.564 (chance; gradient norm exactly 0 throughout: zero
embeddings, weights and biases leave every activation 0, ln_f's output 0 and every logit 0, so no parameter gets a
gradient): broken; no zero_grad 2.854 and 2.844: healthy (AdamW's update is nearly invariant to the summed gradients' scale,
and the clip at 1.0 bounds them); no clipping at x10 3.025 (within 1.1x of 2.852): healthy; lr x2 2.788: healthy;
weight_decay 0.0 2.851: healthy.  Labels: 10 healthy (3 programs, 7 variants), 5 broken, 3 ambiguous (lr x100
twice, x1000); every recorded loss finite.
"""

from __future__ import annotations

import inspect
import math
import time
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
from torch.nn import functional as F

import gradmedic

ARCH = "gpt"
MONITOR_AT = ("watch(model, optimizer, every=10) right after configure_optimizers; monitor.step(loss) right after each "
              "micro-step's loss.backward() (2 micro-steps per step, the loss already divided by grad_accum_steps: the "
              "monitor handles the accumulation), before clip_grad_norm_(1.0), the lr update and optimizer.step(); "
              "float32, no autocast (upstream's CPU path)")

# -----------------------------------------------------------------------------
# PyTorch nn.Module definitions for the GPT-2 model

class NewGELU(nn.Module):
    """Careful there are a few versions of GeLU, this one is the exact one used by OpenAI"""
    def forward(self, input):
        return 0.5 * input * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (input + 0.044715 * torch.pow(input, 3.0))))

# using a global to toggle flash-attention
FLASH = 0

class CausalSelfAttention(nn.Module):

    def __init__(self, config):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        # key, query, value projections for all heads, but in a batch
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)
        # output projection
        self.c_proj = nn.Linear(config.n_embd, config.n_embd)
        self.c_proj.LLMC_RESIDUAL_SCALE_FLAG = 1
        # regularization
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        # not really a 'bias', more of a mask, but following the OpenAI/HF naming though
        self.register_buffer("bias", torch.tril(torch.ones(config.block_size, config.block_size))
                                     .view(1, 1, config.block_size, config.block_size))

    def forward(self, x):
        B, T, C = x.size() # batch size, sequence length, embedding dimensionality (n_embd)
        # calculate query, key, values for all heads in batch and move head forward to be the batch dim
        qkv = self.c_attn(x)
        q, k, v = qkv.split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) # (B, nh, T, hs)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) # (B, nh, T, hs)
        if FLASH:
            # flashattention
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            # manual implementation of attention
            # this materializes the large (T,T) matrix for all the queries and keys
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.bias[:,:,:T,:T] == 0, float('-inf'))
            att = F.softmax(att, dim=-1)
            y = att @ v # (B, nh, T, T) x (B, nh, T, hs) -> (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C) # re-assemble all head outputs side by side
        # output projection
        y = self.c_proj(y)
        return y

class MLP(nn.Module):

    def __init__(self, config):
        super().__init__()
        self.c_fc    = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.gelu    = NewGELU()
        self.c_proj  = nn.Linear(4 * config.n_embd, config.n_embd)
        self.c_proj.LLMC_RESIDUAL_SCALE_FLAG = 1

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

# -----------------------------------------------------------------------------
# The main GPT-2 model

@dataclass
class GPTConfig:
    block_size: int = 1024
    vocab_size: int = 50257
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768

class GPT(nn.Module):

    def __init__(self, config, init_seed=42):  # upstream: no init_seed argument (the generator is seeded with 42)
        super().__init__()
        self.config = config

        self.transformer = nn.ModuleDict(dict(
            wte = nn.Embedding(config.vocab_size, config.n_embd),
            wpe = nn.Embedding(config.block_size, config.n_embd),
            h = nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f = nn.LayerNorm(config.n_embd),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.LLMC_SKIP_INIT = 1 # don't init this one, we will tie weights
        self.transformer.wte.weight = self.lm_head.weight # https://paperswithcode.com/method/weight-tying

        # init all weights, use a torch rng object to be very careful
        self.init_rng = torch.Generator()
        self.init_rng.manual_seed(init_seed)  # upstream: self.init_rng.manual_seed(42)
        self.apply(self._init_weights)

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            # apply special scaled init to the residual projections, per GPT-2 paper
            std = 0.02 if not hasattr(module, 'LLMC_RESIDUAL_SCALE_FLAG') else 0.02/math.sqrt(2 * self.config.n_layer)
            # we want to skip initializing lm_head, which shares parameters with wte
            # and wte was already initialized down below during the Embedding init
            if not hasattr(module, 'LLMC_SKIP_INIT'):
                torch.nn.init.normal_(module.weight, mean=0.0, std=std, generator=self.init_rng)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02, generator=self.init_rng)

    def forward(self, idx, targets=None, return_logits=True):
        device = idx.device
        b, t = idx.size()
        assert t <= self.config.block_size, f"Cannot forward sequence of length {t}, block size is only {self.config.block_size}"
        pos = torch.arange(0, t, dtype=torch.long, device=device) # shape (t)

        # forward the GPT model itself
        tok_emb = self.transformer.wte(idx) # token embeddings of shape (b, t, n_embd)
        pos_emb = self.transformer.wpe(pos) # position embeddings of shape (t, n_embd)
        x = tok_emb + pos_emb

        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)

        if targets is not None:
            # if we are given some desired targets also calculate the loss
            logits = self.lm_head(x)
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        else:
            # inference-time mini-optimization: only forward the lm_head on the very last position
            logits = self.lm_head(x[:, [-1], :]) # note: using list [-1] to preserve the time dim
            loss = None

        # there are performance reasons why not returning logits is prudent, if not needed
        if not return_logits:
            logits = None

        return logits, loss

    # upstream: from_pretrained (loads GPT-2 weights from the Hugging Face hub) left out: the model is built from config

    def configure_optimizers(self, weight_decay, learning_rate, betas, device_type, zero_stage):
        # start with all of the candidate parameters
        param_dict = {pn: p for pn, p in self.named_parameters()}
        # filter out those that do not require grad
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
        print0(f"num decayed parameter tensors: {len(decay_params)}, with {num_decay_params:,} parameters")
        print0(f"num non-decayed parameter tensors: {len(nodecay_params)}, with {num_nodecay_params:,} parameters")
        # Create AdamW optimizer and use the fused version if it is available
        fused_available = 'fused' in inspect.signature(torch.optim.AdamW).parameters
        use_fused = fused_available and device_type == 'cuda'
        print0(f"using fused AdamW: {use_fused}")
        # upstream: a zero_stage == 1 branch builds a ZeroRedundancyOptimizer (DDP only; zero_stage is 0 here)
        print0("using regular AdamW")
        optimizer = torch.optim.AdamW(optim_groups, lr=learning_rate, betas=betas, fused=use_fused)
        return optimizer

# -----------------------------------------------------------------------------
# Our own simple Distributed Data Loader

def load_splits():
    """The text's characters as token ids, 90/10 into train and val (upstream: tiktoken GPT-2 tokens in .bin shards)."""
    from shipped_text import stdlib_docstrings
    text = stdlib_docstrings()
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    data = np.array([stoi[c] for c in text], dtype=np.uint16)  # upstream's shards hold uint16 tokens too
    n = int(0.9 * len(data))
    return {"train": data[:n], "val": data[n:]}, len(chars)

class DistributedDataLoader:
    def __init__(self, tokens, B, T, process_rank, num_processes):  # upstream: filename_pattern (globbed .bin files)
        self.process_rank = process_rank
        self.num_processes = num_processes
        self.B = B
        self.T = T

        # one "shard": the split's token array (upstream: sorted(glob.glob(filename_pattern)), each file a shard)
        self.files = [tokens]
        assert len(tokens) >= num_processes * B * T + 1
        self.ntok_total = len(tokens)

        # kick things off
        self.current_shard = None
        self.reset()

    def reset(self):
        # we're being a bit clever here: if we already had shard 0 loaded,
        # then don't do the work to reload it, just reset the pointer
        if self.current_shard != 0:
            self.current_shard = 0
            self.tokens = self.files[self.current_shard]  # upstream: _load_data_shard(self.files[...])
        self.current_position = self.process_rank * self.B * self.T

    def advance(self): # advance to next data shard
        self.current_shard = (self.current_shard + 1) % len(self.files)
        self.current_position = self.process_rank * self.B * self.T
        self.tokens = self.files[self.current_shard]  # upstream: _load_data_shard(self.files[...])

    def next_batch(self):
        B = self.B
        T = self.T
        buf = self.tokens[self.current_position : self.current_position+B*T+1]
        buf = torch.tensor(buf.astype(np.int32), dtype=torch.long)
        x = (buf[:-1]).view(B, T) # inputs
        y = (buf[1:]).view(B, T) # targets
        # advance the start pointer in current shard
        self.current_position += B * T * self.num_processes
        # if loading the next batch would be out of bounds advance the shard
        if self.current_position + (B * T * self.num_processes + 1) > len(self.tokens):
            self.advance()
        return x, y

# -----------------------------------------------------------------------------

VERBOSE = False

def print0(*args, **kwargs):
    # modified print that only prints from the master process
    # if this is not a distributed run, it's just a print
    if VERBOSE:  # upstream: if int(os.environ.get("RANK", 0)) == 0 (quiet here unless verbose)
        print(*args, **kwargs)


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, zero_init: bool = False,
          clip: bool = True, zero_grad: bool = True, weight_decay: float = 0.1, num_iterations: int = 400,
          every: int = 10, verbose: bool = False) -> dict:
    global VERBOSE
    VERBOSE = verbose
    torch.set_num_threads(1)
    t_start = time.time()

    # the arguments, as pyrun_gpt2_124M.sh passes them, at a small size
    B, T = 8, 64  # upstream script: --batch_size 32 --sequence_length 1024
    total_batch_size = 1024  # upstream script: 524288
    learning_rate = 6e-4 * lr_mult  # --learning_rate 0.0006
    warmup_iters = 15  # upstream script: 700 of 18865 (3.7%)
    learning_rate_decay_frac = 0.0
    grad_clip = 1.0  # the file's default
    val_loss_every = 100  # upstream script: 250
    val_max_steps = 20

    ddp_rank, ddp_world_size, zero_stage = 0, 1, 0
    device = "cpu"
    device_type = 'cuda' if 'cuda' in device else 'cpu'

    # calculate gradient accumulation from the desired total batch size and the current run configuration
    tokens_per_fwdbwd = B * T * ddp_world_size
    assert total_batch_size % tokens_per_fwdbwd == 0
    grad_accum_steps = total_batch_size // tokens_per_fwdbwd
    print0(f"=> calculated gradient accumulation steps: {grad_accum_steps}")

    # set up a context manager following the desired dtype and device
    ptdtype = torch.bfloat16  # the script's --dtype bfloat16
    ctx = torch.amp.autocast(device_type=device_type, dtype=ptdtype) if device_type == "cuda" else nullcontext()

    # rng / reproducibility
    torch.manual_seed(41 + seed)  # upstream: torch.manual_seed(42)

    splits, vocab_size = load_splits()

    # from scratch (random weights)
    model = GPT(GPTConfig(block_size=64, vocab_size=vocab_size, n_layer=3, n_head=4, n_embd=64),
                init_seed=41 + seed)  # upstream d12: GPTConfig(1024, 50257, 12, 12, 768), init_rng seed 42
    if init_std is not None:  # the bug: normal_(0, init_std) on every Linear and Embedding weight
        for mod in model.modules():
            if isinstance(mod, (nn.Linear, nn.Embedding)):
                torch.nn.init.normal_(mod.weight, mean=0.0, std=init_std)
    if zero_init:  # the bug: zeros_ for every Linear and Embedding weight (the tied wte/lm_head too)
        for mod in model.modules():
            if isinstance(mod, (nn.Linear, nn.Embedding)):
                torch.nn.init.zeros_(mod.weight)
    model.train()
    model.to(device)

    train_loader = DistributedDataLoader(splits["train"], B, T, ddp_rank, ddp_world_size)
    val_loader = DistributedDataLoader(splits["val"], B, T, ddp_rank, ddp_world_size)

    raw_model = model # always contains the "raw" unwrapped model

    # init the optimizer
    optimizer = raw_model.configure_optimizers(weight_decay=weight_decay,
                                               learning_rate=learning_rate, betas=(0.9, 0.95),
                                               device_type=device, zero_stage=zero_stage)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    # learning rate decay scheduler (cosine with warmup)
    def get_lr(it):
        min_lr = learning_rate * learning_rate_decay_frac
        # 1) linear warmup for warmup_iters steps
        if it < warmup_iters:
            return learning_rate * (it+1) / warmup_iters
        # 2) if it > lr_decay_iters, return min learning rate
        if it > num_iterations:
            return min_lr
        # 3) in between, use cosine decay down to min learning rate
        decay_ratio = (it - warmup_iters) / (num_iterations - warmup_iters)
        assert 0 <= decay_ratio <= 1
        coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio)) # coeff starts at 1 and goes to 0
        return min_lr + coeff * (learning_rate - min_lr)

    losses, norms, evals = [], [], []
    norm = -1.0   # dummy value to print in inference-only mode
    for step in range(num_iterations + 1):
        last_step = (step == num_iterations)

        # once in a while evaluate the validation dataset
        if (val_loss_every > 0 and (step % val_loss_every == 0 or last_step)) and (val_loader is not None):
            model.eval()
            val_loader.reset()
            with torch.no_grad():
                val_loss = 0.0
                for _ in range(val_max_steps):
                    x, y = val_loader.next_batch()
                    x, y = x.to(device), y.to(device)
                    _, loss = model(x, y, return_logits=False)
                    val_loss += loss.item()
                val_loss /= val_max_steps
            # log to console and to file
            print0(f"val loss {val_loss}  ({time.time() - t_start:.1f}s)")
            evals.append({"step": step, "val": float(val_loss)})

        if last_step:
            break

        # --------------- TRAINING SECTION BEGIN -----------------
        model.train()
        if zero_grad:  # (the no_zero_grad case leaves it out)
            optimizer.zero_grad(set_to_none=True)
        # micro-batch loop where we do gradient accumulation to reach desired total batch size
        lossf = 0.0 # for getting the mean loss (as simple float) over the accumulation steps
        for micro_step in range(grad_accum_steps):  # noqa: B007 (upstream uses it for DDP)
            # fetch a batch
            x, y = train_loader.next_batch()
            x, y = x.to(device), y.to(device)
            # forward pass
            with ctx:
                _, loss = model(x, y, return_logits=False)
                # we have to scale the loss to account for gradient accumulation,
                # because the gradients just add on each successive backward().
                # addition of gradients corresponds to a SUM in the objective, but
                # instead of a SUM we want MEAN, so we scale the loss here
                loss = loss / grad_accum_steps
                lossf += loss.detach() # keep track of the mean loss
            # backward pass
            loss.backward()
            monitor.step(loss)  # gradmedic
        lossf = lossf.item()
        if clip:  # (the no_clipping case leaves it out)
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        else:
            norm = torch.nn.utils.get_total_norm([p.grad for p in model.parameters() if p.grad is not None])
        # determine and set the learning rate for this iteration
        lr = get_lr(step)
        for param_group in optimizer.param_groups:
            param_group['lr'] = lr
        # step the optimizer
        optimizer.step()
        # --------------- TRAINING SECTION END -------------------
        losses.append(float(lossf))
        norms.append(float(norm))
        if verbose and (step % 50 == 0):
            print0(f"step {step+1:4d}/{num_iterations} | train loss {lossf:.6f} | norm {norm:.4f} | lr {lr:.2e}")
    monitor.close()
    value = evals[-1]["val"]
    return {"monitors": {"": monitor}, "metric": "val_loss", "value": value if math.isfinite(value) else float("nan"),
            "initial": evals[0]["val"], "chance": math.log(vocab_size),
            "initial_what": "the validation loss at step 0 (the untrained model), 20 batches of 8x64",
            "extra": {"train_loss": float(np.mean(losses[-20:])), "train_loss_first5": float(np.mean(losses[:5])),
                      "evals": evals, "steps": len(losses), "grad_accum_steps": grad_accum_steps,
                      "max_grad_norm_seen": float(np.nanmax(norms)), "vocab_size": vocab_size,
                      "learning_rate": learning_rate, "warmup_iters": warmup_iters, "weight_decay": weight_decay,
                      "clip": clip, "zero_grad": zero_grad, "init_std": init_std, "zero_init": zero_init,
                      "n_params": sum(p.numel() for p in model.parameters())},
            "seconds": time.time() - t_start}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="llmcgpt", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


CASES: list[dict] = (
    [_case(f"llmcgpt_healthy_s{s}", "healthy", s, {}, "unchanged (GPT-2 n_layer 3, n_head 4, n_embd 64, block 64, "
           "manual causal attention, NewGELU, tied wte/lm_head, _init_weights with LLMC_RESIDUAL_SCALE_FLAG, AdamW "
           "betas (0.9, 0.95) wd 0.1 on 2-D params, learning_rate 6e-4 with 15 warmup iters and cosine decay to 0 over "
           "400 iterations, 2 micro-steps of 8x64, clip 1.0, float32)", False) for s in (1, 2, 3)]
    + [_case(f"llmcgpt_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k},
             f"learning_rate x{k} ({6e-4 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("llmcgpt_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "learning_rate /1000 (6e-07)")]
    + [_case(f"llmcgpt_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "normal_(std=1.0) on every Linear and Embedding weight after _init_weights (the tied wte/lm_head weight, "
             "c_proj's too; biases stay zero)") for s in (1, 2)]
    + [_case("llmcgpt_zero_init_s1", "symmetric_init", 1, {"zero_init": True},
             "zeros_ on every Linear and Embedding weight after _init_weights (the tied wte/lm_head weight too; "
             "biases zero as upstream)")]
    + [_case(f"llmcgpt_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             "optimizer.zero_grad(set_to_none=True) left out: the gradients add up over every micro-step and step")
       for s in (1, 2)]
    + [_case("llmcgpt_no_clip_x10_s1", "no_clipping", 1, {"clip": False, "lr_mult": 10},
             "no clip_grad_norm_(grad_clip=1.0) at learning_rate x10 (6e-3)")]
    + [_case("llmcgpt_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, "learning_rate x2 (1.2e-3; expected harmless)")]
    + [_case("llmcgpt_no_wd_s1", "healthy", 1, {"weight_decay": 0.0},
             "weight_decay 0.0 (the file's --weight_decay default) instead of the script's 0.1 (expected harmless)")]
)


if __name__ == "__main__":
    import sys
    kw = {"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
