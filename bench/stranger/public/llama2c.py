"""karpathy/llama2.c: its Llama-2 ``Transformer`` (model.py) trained by its train.py loop, watched by gradmedic.

Adapted from https://github.com/karpathy/llama2.c (commit 350e04fe35433e6d2941dce5a1f53308f87058eb, model.py and
train.py; MIT License, Copyright (c) 2023 Andrej, see LICENSE-llama2c).  Kept as in the original (code copied
below): ``ModelArgs``, ``RMSNorm``, ``precompute_freqs_cis`` / ``reshape_for_broadcast`` / ``apply_rotary_emb``
(RoPE with real cos/sin), ``repeat_kv``, ``Attention`` (wq/wk/wv/wo without bias, the manual path with the
``triu`` -inf causal mask buffer, softmax of scores / sqrt(head_dim)), the SwiGLU ``FeedForward`` (hidden
``multiple_of``-rounded 2/3 of 4 dim, ``w2(silu(w1 x) * w3 x)``), the pre-norm ``TransformerBlock``, the
``Transformer`` with tok_embeddings tied to ``output``, ``_init_weights`` (normal std 0.02 on every Linear and
Embedding, zero biases) plus the scaled init std 0.02/sqrt(2 n_layers) of every ``w3.weight`` and ``wo.weight``,
the loss in ``forward`` (cross_entropy, ignore_index=-1, in ``last_loss``) and ``configure_optimizers`` (AdamW,
weight decay 0.1 on tensors with dim >= 2, none on the RMSNorm weights).  From train.py: betas (0.9, 0.95),
``get_lr`` (linear warmup from 0 at ``learning_rate * it / warmup_iters``, cosine decay to ``min_lr = 0.0`` at
``lr_decay_iters = max_iters``), the loop body (lr set on every param group, ``gradient_accumulation_steps``
micro-steps each with ``loss = raw_model.last_loss / gradient_accumulation_steps`` and the next batch fetched
before ``scaler.scale(loss).backward()``, then ``if grad_clip != 0.0: scaler.unscale_(optimizer);
clip_grad_norm_(model.parameters(), grad_clip)`` with grad_clip 1.0, ``scaler.step`` / ``scaler.update`` /
``zero_grad(set_to_none=True)``), ``scaler = GradScaler(enabled=(dtype == "float16"))`` (so disabled: dtype is
float32 on CPU, where train.py's ``ctx`` is ``nullcontext()``), ``estimate_loss`` on both splits at iteration 0
(train.py evaluates at ``iter_num % eval_interval == 0``) and once more after the last iteration, and
``torch.manual_seed(1337 + seed_offset)`` (here 1337 + seed).

Changed to run offline on one CPU thread in seconds: char-level data from the standard library's docstrings
(shipped_text.py, first 300k characters, 90/10 train/val split) instead of TinyStories + the sentencepiece Llama-2
vocabulary, batches as random windows of max_seq_len + 1 characters drawn by a ``torch.Generator`` seeded with the
seed (tinystories.py's ``PretokDataset`` draws random chunks of its shards in the same x = chunk[:-1],
y = chunk[1:] shape); dim 64, n_layers 3, n_heads 4 (n_kv_heads 4), multiple_of 32 (hidden 192), max_seq_len 64,
dropout 0.0 (train.py's default); batch_size 8 x gradient_accumulation_steps 2 (16 sequences per iteration;
upstream 128 x 4 at seq 256); max_iters 150 with warmup_iters 10 (upstream 100000 and 1000); learning_rate 3e-3
(upstream's 5e-4 is for its 15M-parameter model and 100k iterations: in 150 iterations it leaves this small model
far from trained); eval_iters 20 (upstream 100), the same held-out batches at both evaluations.
``Attention.flash`` is set False so the manual masked path runs (upstream takes it when
``F.scaled_dot_product_attention`` is missing; same function); ``torch.amp.GradScaler("cpu", enabled=False)``
for ``torch.cuda.amp.GradScaler(enabled=False)``; no compile, DDP, wandb, checkpoints, export, and
``configure_optimizers``'s prints are silenced.  The loop stops at ``iter_num >= max_iters`` (train.py runs one
more iteration, at min_lr 0).

The watch: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after ``configure_optimizers``,
``monitor.step(loss)`` right after each micro-step's ``scaler.scale(loss).backward()`` (the loss already divided
by the accumulation steps; what a user adding two lines does), before unscale_/clip/``scaler.step``.  Metric: the
held-out (val split) loss of ``estimate_loss`` after training, against the same estimate at iteration 0
(run.py's rule: good when at most 0.7x); the final training loss is in ``extra``.

``CASES`` (name prefix ``llama2c``): the program on seeds 1-3 and one change each against the same seed's
healthy run: learning_rate x10, x100 (seeds 1 and 2), x1000, /1000 (min_lr stays 0); no warmup
(warmup_iters 0) at learning_rate x10; no clipping (grad_clip 0.0, train.py's own switch) at learning_rate x10;
``normal_(std=1.0)`` on every Linear and Embedding weight (what a model gets when ``_init_weights`` is not applied
with its std 0.02 and a std of 1 is used; the scaled w3/wo init kept at 0.02/sqrt(2 n_layers) as upstream,
seeds 1 and 2).  Skipping the scaled residual init is not a failure and is not recorded.
Recorded (cases-public14, 262 s for the 12 runs, 9-28 s each on a shared CPU; 150 iterations, vocab 95): healthy
val loss 4.56 -> 2.89, 4.53 -> 2.80, 4.53 -> 2.76 (seeds 1-3); lr x10 (0.03) ends at 2.94, without warmup at x10
3.05 and without clipping at x10 3.17 (1.10x its control's): all three labelled healthy; lr x100 ends at 3.15 and
3.22 (seeds 1 and 2) and x1000 at 3.33: worse, but neither twice the control's loss nor under half its progress,
so ambiguous (AdamW's steps are bounded by the rate, and RMSNorm and clipping keep the runs finite: they stall
near the characters' unigram entropy instead of diverging); lr /1000 stays at 4.53 (broken); N(0, 1) init starts
at 19.5 / 20.3 and recovers to 3.01 / 2.96 (ambiguous: its recorded training loss peaks far above twice the
control's largest).
"""

from __future__ import annotations

import contextlib
import inspect
import io
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from shipped_text import stdlib_docstrings
from torch import nn

import gradmedic

ARCH = "transformer"
MONITOR_AT = ("watch(model, optimizer, every=10) right after configure_optimizers; monitor.step(loss) right after "
              "each micro-step's scaler.scale(loss).backward() (loss = last_loss / gradient_accumulation_steps, 2 "
              "micro-steps per iteration), before scaler.unscale_/clip_grad_norm_(1.0)/scaler.step")

TEXT_CHARS = 300_000
CONFIG = dict(
    batch_size=8, max_seq_len=64, dim=64, n_layers=3, n_heads=4, n_kv_heads=4, multiple_of=32, dropout=0.0,
    gradient_accumulation_steps=2, learning_rate=3e-3, max_iters=150, weight_decay=1e-1, beta1=0.9, beta2=0.95,
    grad_clip=1.0, decay_lr=True, warmup_iters=10, eval_iters=20,
)


# ---- model.py (unchanged but for flash = False and the print-free setup) ----------------------------------------

@dataclass
class ModelArgs:
    # default hyperparameters for the Llama 7B model
    dim: int = 4096
    n_layers: int = 32
    n_heads: int = 32
    n_kv_heads: int | None = None
    vocab_size: int = 32000
    hidden_dim: int | None = None
    multiple_of: int = 256  # MLP hidden layer size will be multiple of
    norm_eps: float = 1e-5
    max_seq_len: int = 2048
    dropout: float = 0.0


class RMSNorm(torch.nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def _norm(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)

    def forward(self, x):
        output = self._norm(x.float()).type_as(x)
        return output * self.weight


def precompute_freqs_cis(dim: int, end: int, theta: float = 10000.0):
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[: (dim // 2)].float() / dim))
    t = torch.arange(end, device=freqs.device)  # type: ignore
    freqs = torch.outer(t, freqs).float()  # type: ignore
    freqs_cos = torch.cos(freqs)  # real part
    freqs_sin = torch.sin(freqs)  # imaginary part
    return freqs_cos, freqs_sin


def reshape_for_broadcast(freqs_cis: torch.Tensor, x: torch.Tensor):
    ndim = x.ndim
    assert 0 <= 1 < ndim
    assert freqs_cis.shape == (x.shape[1], x.shape[-1])
    shape = [d if i == 1 or i == ndim - 1 else 1 for i, d in enumerate(x.shape)]
    return freqs_cis.view(shape)


def apply_rotary_emb(
    xq: torch.Tensor,
    xk: torch.Tensor,
    freqs_cos: torch.Tensor,
    freqs_sin: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:

    # reshape xq and xk to match the complex representation
    xq_r, xq_i = xq.float().reshape(xq.shape[:-1] + (-1, 2)).unbind(-1)
    xk_r, xk_i = xk.float().reshape(xk.shape[:-1] + (-1, 2)).unbind(-1)

    # reshape freqs_cos and freqs_sin for broadcasting
    freqs_cos = reshape_for_broadcast(freqs_cos, xq_r)
    freqs_sin = reshape_for_broadcast(freqs_sin, xq_r)

    # apply rotation using real numbers
    xq_out_r = xq_r * freqs_cos - xq_i * freqs_sin
    xq_out_i = xq_r * freqs_sin + xq_i * freqs_cos
    xk_out_r = xk_r * freqs_cos - xk_i * freqs_sin
    xk_out_i = xk_r * freqs_sin + xk_i * freqs_cos

    # flatten last two dimensions
    xq_out = torch.stack([xq_out_r, xq_out_i], dim=-1).flatten(3)
    xk_out = torch.stack([xk_out_r, xk_out_i], dim=-1).flatten(3)

    return xq_out.type_as(xq), xk_out.type_as(xk)


def repeat_kv(x: torch.Tensor, n_rep: int) -> torch.Tensor:
    """torch.repeat_interleave(x, dim=2, repeats=n_rep)"""
    bs, slen, n_kv_heads, head_dim = x.shape
    if n_rep == 1:
        return x
    return (
        x[:, :, :, None, :]
        .expand(bs, slen, n_kv_heads, n_rep, head_dim)
        .reshape(bs, slen, n_kv_heads * n_rep, head_dim)
    )


class Attention(nn.Module):
    def __init__(self, args: ModelArgs):
        super().__init__()
        self.n_kv_heads = args.n_heads if args.n_kv_heads is None else args.n_kv_heads
        assert args.n_heads % self.n_kv_heads == 0
        model_parallel_size = 1
        self.n_local_heads = args.n_heads // model_parallel_size
        self.n_local_kv_heads = self.n_kv_heads // model_parallel_size
        self.n_rep = self.n_local_heads // self.n_local_kv_heads
        self.head_dim = args.dim // args.n_heads
        self.wq = nn.Linear(args.dim, args.n_heads * self.head_dim, bias=False)
        self.wk = nn.Linear(args.dim, self.n_kv_heads * self.head_dim, bias=False)
        self.wv = nn.Linear(args.dim, self.n_kv_heads * self.head_dim, bias=False)
        self.wo = nn.Linear(args.n_heads * self.head_dim, args.dim, bias=False)
        self.attn_dropout = nn.Dropout(args.dropout)
        self.resid_dropout = nn.Dropout(args.dropout)
        self.dropout = args.dropout

        # use flash attention or a manual implementation?
        self.flash = False  # port: the manual causal-mask path (upstream: hasattr(F, 'scaled_dot_product_attention'))
        if not self.flash:
            mask = torch.full((1, 1, args.max_seq_len, args.max_seq_len), float("-inf"))
            mask = torch.triu(mask, diagonal=1)
            self.register_buffer("mask", mask)

    def forward(
        self,
        x: torch.Tensor,
        freqs_cos: torch.Tensor,
        freqs_sin: torch.Tensor,
    ):
        bsz, seqlen, _ = x.shape

        # QKV
        xq, xk, xv = self.wq(x), self.wk(x), self.wv(x)
        xq = xq.view(bsz, seqlen, self.n_local_heads, self.head_dim)
        xk = xk.view(bsz, seqlen, self.n_local_kv_heads, self.head_dim)
        xv = xv.view(bsz, seqlen, self.n_local_kv_heads, self.head_dim)

        # RoPE relative positional embeddings
        xq, xk = apply_rotary_emb(xq, xk, freqs_cos, freqs_sin)

        # grouped multiquery attention: expand out keys and values
        xk = repeat_kv(xk, self.n_rep)  # (bs, seqlen, n_local_heads, head_dim)
        xv = repeat_kv(xv, self.n_rep)  # (bs, seqlen, n_local_heads, head_dim)

        # make heads into a batch dimension
        xq = xq.transpose(1, 2)  # (bs, n_local_heads, seqlen, head_dim)
        xk = xk.transpose(1, 2)
        xv = xv.transpose(1, 2)

        # flash implementation
        if self.flash:
            output = torch.nn.functional.scaled_dot_product_attention(
                xq, xk, xv, attn_mask=None, dropout_p=self.dropout if self.training else 0.0, is_causal=True)
        else:
            # manual implementation
            scores = torch.matmul(xq, xk.transpose(2, 3)) / math.sqrt(self.head_dim)
            assert hasattr(self, 'mask')
            scores = scores + self.mask[:, :, :seqlen, :seqlen]   # (bs, n_local_heads, seqlen, cache_len + seqlen)
            scores = F.softmax(scores.float(), dim=-1).type_as(xq)
            scores = self.attn_dropout(scores)
            output = torch.matmul(scores, xv)  # (bs, n_local_heads, seqlen, head_dim)

        # restore time as batch dimension and concat heads
        output = output.transpose(1, 2).contiguous().view(bsz, seqlen, -1)

        # final projection into the residual stream
        output = self.wo(output)
        output = self.resid_dropout(output)
        return output


class FeedForward(nn.Module):
    def __init__(self, dim: int, hidden_dim: int, multiple_of: int, dropout: float):
        super().__init__()
        if hidden_dim is None:
            hidden_dim = 4 * dim
            hidden_dim = int(2 * hidden_dim / 3)
            hidden_dim = multiple_of * ((hidden_dim + multiple_of - 1) // multiple_of)
        self.w1 = nn.Linear(dim, hidden_dim, bias=False)
        self.w2 = nn.Linear(hidden_dim, dim, bias=False)
        self.w3 = nn.Linear(dim, hidden_dim, bias=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.dropout(self.w2(F.silu(self.w1(x)) * self.w3(x)))


class TransformerBlock(nn.Module):
    def __init__(self, layer_id: int, args: ModelArgs):
        super().__init__()
        self.n_heads = args.n_heads
        self.dim = args.dim
        self.head_dim = args.dim // args.n_heads
        self.attention = Attention(args)
        self.feed_forward = FeedForward(
            dim=args.dim,
            hidden_dim=args.hidden_dim,
            multiple_of=args.multiple_of,
            dropout=args.dropout,
        )
        self.layer_id = layer_id
        self.attention_norm = RMSNorm(args.dim, eps=args.norm_eps)
        self.ffn_norm = RMSNorm(args.dim, eps=args.norm_eps)

    def forward(self, x, freqs_cos, freqs_sin):
        h = x + self.attention.forward(self.attention_norm(x), freqs_cos, freqs_sin)
        out = h + self.feed_forward.forward(self.ffn_norm(h))
        return out


class Transformer(nn.Module):
    last_loss: torch.Tensor | None

    def __init__(self, params: ModelArgs):
        super().__init__()
        self.params = params
        self.vocab_size = params.vocab_size
        self.n_layers = params.n_layers

        self.tok_embeddings = nn.Embedding(params.vocab_size, params.dim)
        self.dropout = nn.Dropout(params.dropout)
        self.layers = torch.nn.ModuleList()
        for layer_id in range(params.n_layers):
            self.layers.append(TransformerBlock(layer_id, params))
        self.norm = RMSNorm(params.dim, eps=params.norm_eps)
        self.output = nn.Linear(params.dim, params.vocab_size, bias=False)

        # share the unembedding parameters with the embedding parameters
        self.tok_embeddings.weight = self.output.weight  # https://paperswithcode.com/method/weight-tying

        # some useful precompute for the RoPE relative positional embeddings
        freqs_cos, freqs_sin = precompute_freqs_cis(self.params.dim // self.params.n_heads, self.params.max_seq_len)
        self.register_buffer("freqs_cos", freqs_cos, persistent=False)
        self.register_buffer("freqs_sin", freqs_sin, persistent=False)

        # init all weights
        self.apply(self._init_weights)
        # apply special scaled init to the residual projections, per GPT-2 paper
        for pn, p in self.named_parameters():
            if pn.endswith('w3.weight') or pn.endswith('wo.weight'):
                torch.nn.init.normal_(p, mean=0.0, std=0.02/math.sqrt(2 * params.n_layers))

        # Initialize attribute for the loss of the last forward call.
        # This will be set if the forward is called with a targets tensor.
        self.last_loss = None

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, tokens: torch.Tensor, targets: torch.Tensor | None = None) -> torch.Tensor:
        _bsz, seqlen = tokens.shape
        h = self.tok_embeddings(tokens)
        h = self.dropout(h)
        freqs_cos = self.freqs_cos[:seqlen]
        freqs_sin = self.freqs_sin[:seqlen]

        for layer in self.layers:
            h = layer(h, freqs_cos, freqs_sin)
        h = self.norm(h)

        if targets is not None:
            # if we are given some desired targets also calculate the loss
            logits = self.output(h)
            self.last_loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        else:
            # inference-time mini-optimization: only forward the output on the very last position
            logits = self.output(h[:, [-1], :])  # note: using list [-1] to preserve the time dim
            self.last_loss = None

        return logits

    def configure_optimizers(self, weight_decay, learning_rate, betas, device_type):
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
        print(f"num decayed parameter tensors: {len(decay_params)}, with {num_decay_params:,} parameters")
        print(f"num non-decayed parameter tensors: {len(nodecay_params)}, with {num_nodecay_params:,} parameters")
        # Create AdamW optimizer and use the fused version if it is available
        fused_available = 'fused' in inspect.signature(torch.optim.AdamW).parameters
        use_fused = fused_available and device_type == 'cuda'
        extra_args = dict(fused=True) if use_fused else dict()
        optimizer = torch.optim.AdamW(optim_groups, lr=learning_rate, betas=betas, **extra_args)
        print(f"using fused AdamW: {use_fused}")

        return optimizer


# ---- data: char-level stand-in for tinystories.py's Task.iter_batches ----------------------------------------------

def char_data():
    data = stdlib_docstrings()[:TEXT_CHARS]
    chars = sorted(set(data))
    stoi = {ch: i for i, ch in enumerate(chars)}
    ids = torch.tensor([stoi[c] for c in data], dtype=torch.int64)
    n = int(len(ids) * 0.9)
    return ids[:n], ids[n:], len(chars)


def iter_batches(data, batch_size, max_seq_len, generator):
    while True:
        ix = torch.randint(len(data) - max_seq_len - 1, (batch_size,), generator=generator)
        chunk = torch.stack([data[i:i + max_seq_len + 1] for i in ix.tolist()])
        x = chunk[:, :-1].contiguous()  # tinystories.py: x = chunk[:-1], y = chunk[1:] per sample, then stacked
        y = chunk[:, 1:].contiguous()
        yield x, y


# ---- train.py --------------------------------------------------------------------------------------------------

def train(seed: int = 1, lr_mult: float = 1.0, warmup_iters: int | None = None, grad_clip: float | None = None,
          init_std: float | None = None, max_iters: int | None = None, every: int = 10, verbose: bool = False) -> dict:
    """``lr_mult`` scales learning_rate (min_lr stays 0.0); ``warmup_iters`` and ``grad_clip`` replace train.py's
    settings (0 turns each off, as train.py's own switches); ``init_std``: normal_(0, init_std) on every Linear and
    Embedding weight instead of 0.02 (the scaled w3/wo init kept)."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    cfg = dict(CONFIG)
    if warmup_iters is not None:
        cfg["warmup_iters"] = warmup_iters
    if grad_clip is not None:
        cfg["grad_clip"] = grad_clip
    if max_iters:
        cfg["max_iters"] = max_iters
    batch_size, max_seq_len = cfg["batch_size"], cfg["max_seq_len"]
    gradient_accumulation_steps = cfg["gradient_accumulation_steps"]
    learning_rate = cfg["learning_rate"] * lr_mult
    max_iters, warmup_iters, grad_clip = cfg["max_iters"], cfg["warmup_iters"], cfg["grad_clip"]
    lr_decay_iters = max_iters  # should be ~= max_iters per Chinchilla
    min_lr = 0.0  # minimum learning rate, should be ~= learning_rate/10 per Chinchilla
    eval_iters = cfg["eval_iters"]
    device_type = "cpu"
    torch.manual_seed(1337 + seed)
    ctx = contextlib.nullcontext()  # device_type == "cpu": no autocast, as in train.py

    train_ids, val_ids, vocab_size = char_data()
    g_train, g_val = torch.Generator(), torch.Generator()
    g_train.manual_seed(seed)

    model_args = dict(dim=cfg["dim"], n_layers=cfg["n_layers"], n_heads=cfg["n_heads"], n_kv_heads=cfg["n_kv_heads"],
                      vocab_size=vocab_size, multiple_of=cfg["multiple_of"], max_seq_len=max_seq_len,
                      dropout=cfg["dropout"])
    model = Transformer(ModelArgs(**model_args))
    if init_std is not None:  # the bug: another std where _init_weights writes 0.02
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                torch.nn.init.normal_(m.weight, mean=0.0, std=init_std)
        for pn, p in model.named_parameters():
            if pn.endswith('w3.weight') or pn.endswith('wo.weight'):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg["n_layers"]))

    # initialize a GradScaler. If enabled=False scaler is a no-op
    scaler = torch.amp.GradScaler("cpu", enabled=False)  # dtype float32 on CPU
    with contextlib.redirect_stdout(io.StringIO()):
        optimizer = model.configure_optimizers(cfg["weight_decay"], learning_rate, (cfg["beta1"], cfg["beta2"]),
                                               device_type)
    monitor = gradmedic.watch(model, optimizer, every=every)
    raw_model = model

    @torch.no_grad()
    def estimate_loss():
        out = {}
        model.eval()
        for split in ["train", "val"]:
            data = train_ids if split == "train" else val_ids
            g_val.manual_seed(10_000 + seed)  # the same held-out batches at every evaluation
            batch_iter = iter_batches(data, batch_size, max_seq_len, g_val)
            losses = torch.zeros(eval_iters)  # keep on CPU
            for k in range(eval_iters):
                X, Y = next(batch_iter)
                with ctx:
                    model(X, Y)
                    loss = raw_model.last_loss
                losses[k] = loss.item()
            out[split] = losses.mean().item()
        model.train()
        return out

    # learning rate decay scheduler (cosine with warmup)
    def get_lr(it):
        # 1) linear warmup for warmup_iters steps
        if it < warmup_iters:
            return learning_rate * it / warmup_iters
        # 2) if it > lr_decay_iters, return min learning rate
        if it > lr_decay_iters:
            return min_lr
        # 3) in between, use cosine decay down to min learning rate
        decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
        assert 0 <= decay_ratio <= 1
        coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))  # coeff ranges 0..1
        return min_lr + coeff * (learning_rate - min_lr)

    t0 = time.time()
    train_batch_iter = iter_batches(train_ids, batch_size, max_seq_len, g_train)
    X, Y = next(train_batch_iter)  # fetch the very first batch
    iter_num = 0
    iter_losses = []
    first_eval = None
    while True:
        # determine and set the learning rate for this iteration
        lr = get_lr(iter_num) if cfg["decay_lr"] else learning_rate
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr
        if iter_num == 0:  # train.py: estimate_loss() at iter_num % eval_interval == 0
            first_eval = estimate_loss()

        lossf = 0.0
        for _micro_step in range(gradient_accumulation_steps):
            with ctx:
                model(X, Y)
                loss = raw_model.last_loss
                loss = loss / gradient_accumulation_steps
            # immediately async prefetch next batch while model is doing the forward pass on the GPU
            X, Y = next(train_batch_iter)
            # backward pass, with gradient scaling if training in fp16
            scaler.scale(loss).backward()
            monitor.step(loss)  # gradmedic
            lossf += loss.item()
        # clip the gradient
        if grad_clip != 0.0:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        # step the optimizer and scaler if training in fp16
        scaler.step(optimizer)
        scaler.update()
        # flush the gradients as soon as we can, no need for this memory anymore
        optimizer.zero_grad(set_to_none=True)
        iter_losses.append(lossf)
        if verbose and iter_num % 25 == 0:
            print(f"{iter_num} | loss {lossf:.4f} | lr {lr:e} | {time.time() - t0:.1f}s", flush=True)
        iter_num += 1
        # termination conditions
        if iter_num >= max_iters:  # train.py: iter_num > max_iters (one more iteration at min_lr = 0)
            break
    monitor.close()
    final_eval = estimate_loss()
    value = final_eval["val"]
    if verbose:
        print(f"step {iter_num}: train loss {final_eval['train']:.4f}, val loss {value:.4f} "
              f"(step 0: val {first_eval['val']:.4f})")
    return {"monitors": {"": monitor}, "metric": "val_loss", "value": value if math.isfinite(value) else float("nan"),
            "initial": float(first_eval["val"]), "chance": math.log(vocab_size),
            "initial_what": "estimate_loss()'s val loss at iteration 0 (the untrained model)",
            "extra": {"train_loss": float(np.mean(iter_losses[-20:])),
                      "train_loss_first5": float(np.mean(iter_losses[:5])),
                      "eval_train_loss": final_eval["train"], "iters": iter_num, "vocab_size": vocab_size,
                      "lr": learning_rate},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="llama2c", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


LR = CONFIG["learning_rate"]
CASES: list[dict] = (
    [_case(f"llama2c_healthy_s{s}", "healthy", s, {}, "unchanged (dim 64, 3 layers, 4 heads, seq 64, AdamW lr 3e-3 "
           "betas (0.9, 0.95) wd 0.1, warmup 10 + cosine to 0 over 150 iterations, batch 8 x 2 accumulation, "
           "clip 1.0)", False) for s in (1, 2, 3)]
    + [_case(f"llama2c_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"learning_rate x{k} ({LR * k:g}), min_lr 0")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("llama2c_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"learning_rate /1000 ({LR * 1e-3:g})")]
    + [_case("llama2c_nowarmup_lr_x10_s1", "lr_high", 1, {"lr_mult": 10, "warmup_iters": 0},
             f"learning_rate x10 ({LR * 10:g}) with warmup_iters 0 (no warmup: the full rate from iteration 0)")]
    + [_case("llama2c_noclip_lr_x10_s1", "no_clipping", 1, {"lr_mult": 10, "grad_clip": 0.0},
             f"grad_clip 0.0 (train.py's switch: no unscale_/clip_grad_norm_) at learning_rate x10 ({LR * 10:g})")]
    + [_case(f"llama2c_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "normal_(std=1.0) instead of 0.02 on every Linear and Embedding weight (tied output/tok_embeddings "
             "too; the scaled w3/wo init 0.02/sqrt(2 n_layers) kept)") for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    r = train(verbose=True, **({"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}))
    print({k: v for k, v in r.items() if k != "monitors"})
