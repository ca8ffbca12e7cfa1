"""alxndrTL/mamba.py: a Mamba (selective state-space) language model in pure PyTorch, with its parallel scan, trained
as a byte-level LM by the repository's own training loop, watched by gradmedic.

Adapted from https://github.com/alxndrTL/mamba.py (commit 2cc168c78b2494557f45072c4b8daa9d6f5608c7; MIT License,
Copyright (c) 2024 Alexandre TL, see LICENSE-mambapy): the model from mambapy/mamba.py, mambapy/pscan.py and
mambapy/lm.py, the training loop from tests/lr_sweep.py (the repository's byte-level LM training: ``LM(config,
vocab_size=256)``, ``model.configure_optimizers(weight_decay=0., learning_rate=lr, betas=(0.9, 0.95))`` (AdamW, two
groups), a linear warmup then cosine ``LambdaLR``, ``F.cross_entropy(logits[..., :-1, :].flatten(end_dim=-2),
batch[..., 1:].flatten())``, ``loss.backward()``, ``torch.nn.utils.clip_grad_value_(model.parameters(),
clip_value=1.0)``, ``opt.step()``, ``schedule.step()``; batches of random windows of the UTF-8 bytes), with the
Mamba-1 ``MambaConfig(d_model=width, n_layers=depth, mup=False)`` of its commented-out line (the "SP" type, without
``use_cuda``).  Kept as upstream has them: ``MambaConfig`` (dt_rank 'auto' = ceil(d_model/16), d_state 16, expand 2,
d_conv 4, dt_min/dt_max 0.001/0.1, dt_init "random", base_std 0.02, no Linear biases, conv bias), ``Mamba``,
``ResidualBlock`` (``mixer(norm(x)) + x``), ``MambaBlock`` (in_proj to 2*ED, causal depthwise ``Conv1d``, SiLU,
x_proj to (delta, B, C), dt_proj, the dt weight init U(-dt_rank^-0.5, dt_rank^-0.5), the inverse-softplus dt bias,
S4D-real ``A_log = log(1..N)``, ``D = ones``, ``softplus(delta + dt_proj.bias)``, ``selective_scan`` with the
Blelloch ``PScan`` autograd function and its hand-written backward, ``y * silu(z)``, out_proj), ``RMSNorm``, ``LM``
(``Embedding(vocab, d_model, padding_idx=0)``, the Mamba, ``norm_f``, an untied ``lm_head`` without bias) and its
non-muP init: ``self.apply(self._init_weights)`` (normal(0, 0.02) on every Linear weight and the Embedding, zeros on
every Linear bias, which, as upstream notes in a comment, also zeroes the dt_proj bias that MambaBlock had just set),
then out_proj weights normal(0, 0.02/sqrt(2 n_layers)); ``configure_optimizers`` (decay on >= 2-d params, none on
the rest, AdamW).

Changed: the data is the standard library's docstrings (shipped_text.py's ``stdlib_docstrings()``, ASCII, as bytes
0..255) instead of wikitext-103 from ``datasets`` (no download); the windows are drawn by a ``torch.Generator`` seeded
with the run's seed (upstream: the global RNG) so every variant of a seed sees the same batches; sizes shrunk so a
run takes ~20-50 s on one (shared) CPU thread: d_model 32 instead of the sweep's width 2048, n_layers 2 instead of
4, sequence_length 32 instead of 256 (a power of two, as pscan prefers), batch_size 16 as upstream, n_steps 300
instead of 5000 and warmup_steps 60 instead of 1000 (the same 20%); learning rate 2^-8 (0.0039; upstream sweeps SP
rates 2^-16..2^-10 at width 2048, and a 32-wide model wants a larger one) passed as a float instead of a 0-d
tensor, and the cosine factor as a float (``math.cos``) so the groups' lr stay floats; no ``torch.compile``, no tf32
flags, no tqdm, no pandas.  Dropped as unused on this path: the muP branches, the ``use_cuda`` path, the inner
layernorms (off by default), the recurrent ``step``/``generate`` inference code and ``from_pretrained``.

The watch: ``gradmedic.watch(model, opt, every=10)`` right after the optimizer and schedule are built,
``monitor.step(loss)`` inside ``run_step`` right after ``loss.backward()``, before ``clip_grad_value_``,
``opt.step()`` and ``schedule.step()``.  The metric is the train loss: the mean of the last 20 steps' losses against
the mean of the first 5 (``initial``).

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the same
seed's healthy run: lr x10, x100 (seeds 1 and 2), x1000 and /1000; ``nn.init.normal_(0, 1)`` on every Linear weight
(in_proj, x_proj, dt_proj, out_proj, lm_head) after upstream's init (seeds 1 and 2); zeros instead of normal in
``_init_weights`` (every Linear weight and the Embedding; out_proj's scaled normal kept, as nanogpt's zero_init
does); ``A_log`` initialized to zeros instead of log(1..16) (A = -1 for every state); no ``clip_grad_value_``
(seeds 1 and 2).  No "dt bias replaced by zeros" case: upstream's own ``_init_weights`` already zeroes it.  No
"unscaled inputs" case (the inputs are byte ids through an Embedding).
Recorded (cases-public10, 406 s in all): healthy 2.24-2.32 on seeds 1-3 (from 5.55-5.56 at the start); lr x10
(0.039) ends at 2.25 (labelled healthy); lr x100 at 5.13 on seed 1 (broken) and 3.40 on seed 2 (ambiguous: more
than half its control's progress); x1000 NaN and /1000 5.56 (no progress): broken; N(0, 1) Linear weights start at
16.2 and end at 3.88 and 3.73 (ambiguous); zeros in _init_weights stay at 5.545 = ln 256 (broken: every activation
and gradient is zero); A_log = 0 ends at 2.33 (healthy); no clip_grad_value_ gives exactly its control's losses on
both seeds (healthy: no gradient element reaches 1.0 at the default lr, so upstream's clipping never acts).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from shipped_text import stdlib_docstrings

import gradmedic

ARCH = "ssm"
MONITOR_AT = ("monitor.step(loss) inside run_step right after loss.backward() (F.cross_entropy on the next-byte "
              "logits), before clip_grad_value_(1.0), opt.step() and schedule.step()")


# mambapy/pscan.py ------------------------------------------------------------------------------------------------

def npo2(len):
    """
    Returns the next power of 2 above len
    """

    return 2 ** math.ceil(math.log2(len))


def pad_npo2(X):
    """
    Pads input length dim to the next power of 2

    Args:
        X : (B, L, D, N)

    Returns:
        Y : (B, npo2(L), D, N)
    """

    len_npo2 = npo2(X.size(1))
    pad_tuple = (0, 0, 0, 0, 0, len_npo2 - X.size(1))
    return F.pad(X, pad_tuple, "constant", 0)


class PScan(torch.autograd.Function):
    @staticmethod
    def pscan(A, X):
        # A : (B, D, L, N)
        # X : (B, D, L, N)

        # modifies X in place by doing a parallel scan.
        # more formally, X will be populated by these values :
        # H[t] = A[t] * H[t-1] + X[t] with H[0] = 0
        # which are computed in parallel (2*log2(T) sequential steps (ideally), instead of T sequential steps)

        # only supports L that is a power of two (mainly for a clearer code)

        B, D, L, _ = A.size()
        num_steps = int(math.log2(L))

        # up sweep (last 2 steps unfolded)
        Aa = A
        Xa = X
        for _ in range(num_steps-2):
            T = Xa.size(2)
            Aa = Aa.view(B, D, T//2, 2, -1)
            Xa = Xa.view(B, D, T//2, 2, -1)

            Xa[:, :, :, 1].add_(Aa[:, :, :, 1].mul(Xa[:, :, :, 0]))
            Aa[:, :, :, 1].mul_(Aa[:, :, :, 0])

            Aa = Aa[:, :, :, 1]
            Xa = Xa[:, :, :, 1]

        # we have only 4, 2 or 1 nodes left
        if Xa.size(2) == 4:
            Xa[:, :, 1].add_(Aa[:, :, 1].mul(Xa[:, :, 0]))
            Aa[:, :, 1].mul_(Aa[:, :, 0])

            Xa[:, :, 3].add_(Aa[:, :, 3].mul(Xa[:, :, 2] + Aa[:, :, 2].mul(Xa[:, :, 1])))
        elif Xa.size(2) == 2:
            Xa[:, :, 1].add_(Aa[:, :, 1].mul(Xa[:, :, 0]))
            return
        else:
            return

        # down sweep (first 2 steps unfolded)
        Aa = A[:, :, 2**(num_steps-2)-1:L:2**(num_steps-2)]
        Xa = X[:, :, 2**(num_steps-2)-1:L:2**(num_steps-2)]
        Xa[:, :, 2].add_(Aa[:, :, 2].mul(Xa[:, :, 1]))
        Aa[:, :, 2].mul_(Aa[:, :, 1])

        for k in range(num_steps-3, -1, -1):
            Aa = A[:, :, 2**k-1:L:2**k]
            Xa = X[:, :, 2**k-1:L:2**k]

            T = Xa.size(2)
            Aa = Aa.view(B, D, T//2, 2, -1)
            Xa = Xa.view(B, D, T//2, 2, -1)

            Xa[:, :, 1:, 0].add_(Aa[:, :, 1:, 0].mul(Xa[:, :, :-1, 1]))
            Aa[:, :, 1:, 0].mul_(Aa[:, :, :-1, 1])

    @staticmethod
    def pscan_rev(A, X):
        # A : (B, D, L, N)
        # X : (B, D, L, N)

        # the same function as above, but in reverse
        # (if you flip the input, call pscan, then flip the output, you get what this function outputs)
        # it is used in the backward pass

        # only supports L that is a power of two (mainly for a clearer code)

        B, D, L, _ = A.size()
        num_steps = int(math.log2(L))

        # up sweep (last 2 steps unfolded)
        Aa = A
        Xa = X
        for _ in range(num_steps-2):
            T = Xa.size(2)
            Aa = Aa.view(B, D, T//2, 2, -1)
            Xa = Xa.view(B, D, T//2, 2, -1)

            Xa[:, :, :, 0].add_(Aa[:, :, :, 0].mul(Xa[:, :, :, 1]))
            Aa[:, :, :, 0].mul_(Aa[:, :, :, 1])

            Aa = Aa[:, :, :, 0]
            Xa = Xa[:, :, :, 0]

        # we have only 4, 2 or 1 nodes left
        if Xa.size(2) == 4:
            Xa[:, :, 2].add_(Aa[:, :, 2].mul(Xa[:, :, 3]))
            Aa[:, :, 2].mul_(Aa[:, :, 3])

            Xa[:, :, 0].add_(Aa[:, :, 0].mul(Xa[:, :, 1].add(Aa[:, :, 1].mul(Xa[:, :, 2]))))
        elif Xa.size(2) == 2:
            Xa[:, :, 0].add_(Aa[:, :, 0].mul(Xa[:, :, 1]))
            return
        else:
            return

        # down sweep (first 2 steps unfolded)
        Aa = A[:, :, 0:L:2**(num_steps-2)]
        Xa = X[:, :, 0:L:2**(num_steps-2)]
        Xa[:, :, 1].add_(Aa[:, :, 1].mul(Xa[:, :, 2]))
        Aa[:, :, 1].mul_(Aa[:, :, 2])

        for k in range(num_steps-3, -1, -1):
            Aa = A[:, :, 0:L:2**k]
            Xa = X[:, :, 0:L:2**k]

            T = Xa.size(2)
            Aa = Aa.view(B, D, T//2, 2, -1)
            Xa = Xa.view(B, D, T//2, 2, -1)

            Xa[:, :, :-1, 1].add_(Aa[:, :, :-1, 1].mul(Xa[:, :, 1:, 0]))
            Aa[:, :, :-1, 1].mul_(Aa[:, :, 1:, 0])

    @staticmethod
    def forward(ctx, A_in, X_in):
        """
        Applies the parallel scan operation, as defined above. Returns a new tensor.
        If you can, privilege sequence lengths that are powers of two.

        Args:
            A_in : (B, L, D, N)
            X_in : (B, L, D, N)

        Returns:
            H : (B, L, D, N)
        """

        L = X_in.size(1)

        # cloning is requiered because of the in-place ops
        if L == npo2(L):
            A = A_in.clone()
            X = X_in.clone()
        else:
            # pad tensors (and clone btw)
            A = pad_npo2(A_in)  # (B, npo2(L), D, N)
            X = pad_npo2(X_in)  # (B, npo2(L), D, N)

        # prepare tensors
        A = A.transpose(2, 1)  # (B, D, npo2(L), N)
        X = X.transpose(2, 1)  # (B, D, npo2(L), N)

        # parallel scan (modifies X in-place)
        PScan.pscan(A, X)

        ctx.save_for_backward(A_in, X)

        # slice [:, :L] (cut if there was padding)
        return X.transpose(2, 1)[:, :L]

    @staticmethod
    def backward(ctx, grad_output_in):
        """
        Flows the gradient from the output to the input. Returns two new tensors.

        Args:
            ctx : A_in : (B, L, D, N), X : (B, D, L, N)
            grad_output_in : (B, L, D, N)

        Returns:
            gradA : (B, L, D, N), gradX : (B, L, D, N)
        """

        A_in, X = ctx.saved_tensors

        L = grad_output_in.size(1)

        # cloning is requiered because of the in-place ops
        if L == npo2(L):
            grad_output = grad_output_in.clone()
            # the next padding will clone A_in
        else:
            grad_output = pad_npo2(grad_output_in)  # (B, npo2(L), D, N)
            A_in = pad_npo2(A_in)  # (B, npo2(L), D, N)

        # prepare tensors
        grad_output = grad_output.transpose(2, 1)
        A_in = A_in.transpose(2, 1)  # (B, D, npo2(L), N)
        A = torch.nn.functional.pad(A_in[:, :, 1:], (0, 0, 0, 1))  # (B, D, npo2(L), N) shift 1 to the left

        # reverse parallel scan (modifies grad_output in-place)
        PScan.pscan_rev(A, grad_output)

        Q = torch.zeros_like(X)
        Q[:, :, 1:].add_(X[:, :, :-1] * grad_output[:, :, 1:])

        return Q.transpose(2, 1)[:, :L], grad_output.transpose(2, 1)[:, :L]


pscan = PScan.apply


# mambapy/mamba.py ------------------------------------------------------------------------------------------------

@dataclass
class MambaConfig:
    d_model: int  # D
    n_layers: int
    dt_rank: Union[int, str] = 'auto'  # noqa: UP007 (as upstream)
    d_state: int = 16  # N in paper/comments
    expand_factor: int = 2  # E in paper/comments
    d_conv: int = 4

    dt_min: float = 0.001
    dt_max: float = 0.1
    dt_init: str = "random"  # "random" or "constant"
    dt_scale: float = 1.0
    dt_init_floor = 1e-4

    rms_norm_eps: float = 1e-5
    base_std: float = 0.02

    bias: bool = False
    conv_bias: bool = True

    pscan: bool = True  # use parallel scan mode or sequential mode when training

    def __post_init__(self):
        self.d_inner = self.expand_factor * self.d_model  # E*D = ED in comments

        if self.dt_rank == 'auto':
            self.dt_rank = math.ceil(self.d_model / 16)


class Mamba(nn.Module):
    def __init__(self, config: MambaConfig):
        super().__init__()

        self.config = config

        self.layers = nn.ModuleList([ResidualBlock(config) for _ in range(config.n_layers)])

    def forward(self, x):
        # x : (B, L, D)

        # y : (B, L, D)

        for layer in self.layers:
            x = layer(x)

        return x


class ResidualBlock(nn.Module):
    def __init__(self, config: MambaConfig):
        super().__init__()

        self.mixer = MambaBlock(config)
        self.norm = RMSNorm(config.d_model, config.rms_norm_eps)

    def forward(self, x):
        # x : (B, L, D)

        # output : (B, L, D)

        output = self.mixer(self.norm(x)) + x
        return output


class MambaBlock(nn.Module):
    def __init__(self, config: MambaConfig):
        super().__init__()

        self.config = config

        # projects block input from D to 2*ED (two branches)
        self.in_proj = nn.Linear(config.d_model, 2 * config.d_inner, bias=config.bias)

        self.conv1d = nn.Conv1d(in_channels=config.d_inner, out_channels=config.d_inner,
                                kernel_size=config.d_conv, bias=config.conv_bias,
                                groups=config.d_inner,
                                padding=config.d_conv - 1)

        # projects x to input-dependent delta, B, C
        self.x_proj = nn.Linear(config.d_inner, config.dt_rank + 2 * config.d_state, bias=False)

        # projects delta from dt_rank to d_inner
        self.dt_proj = nn.Linear(config.dt_rank, config.d_inner, bias=True)

        # dt initialization
        # dt weights
        dt_init_std = config.dt_rank**-0.5 * config.dt_scale
        if config.dt_init == "constant":
            nn.init.constant_(self.dt_proj.weight, dt_init_std)
        elif config.dt_init == "random":
            nn.init.uniform_(self.dt_proj.weight, -dt_init_std, dt_init_std)
        else:
            raise NotImplementedError

        # delta bias
        dt = torch.exp(
            torch.rand(config.d_inner) * (math.log(config.dt_max) - math.log(config.dt_min)) + math.log(config.dt_min)
        ).clamp(min=config.dt_init_floor)
        inv_dt = dt + torch.log(-torch.expm1(-dt))  # inverse of softplus: https://github.com/pytorch/pytorch/issues/72759
        with torch.no_grad():
            self.dt_proj.bias.copy_(inv_dt)
        # self.dt_proj.bias._no_reinit = True # initialization would set all Linear.bias to zero, need to mark this one
        # as _no_reinit
        # todo : explain why removed

        # S4D real initialization
        A = torch.arange(1, config.d_state + 1, dtype=torch.float32).repeat(config.d_inner, 1)
        self.A_log = nn.Parameter(torch.log(A))  # why store A in log ? to keep A < 0 (cf -torch.exp(...)) ?
        self.A_log._no_weight_decay = True

        self.D = nn.Parameter(torch.ones(config.d_inner))
        self.D._no_weight_decay = True

        # projects block output from ED back to D
        self.out_proj = nn.Linear(config.d_inner, config.d_model, bias=config.bias)

    def forward(self, x):
        # x : (B, L, D)

        # y : (B, L, D)

        _, L, _ = x.shape

        xz = self.in_proj(x)  # (B, L, 2*ED)
        x, z = xz.chunk(2, dim=-1)  # (B, L, ED), (B, L, ED)

        # x branch
        x = x.transpose(1, 2)  # (B, ED, L)
        x = self.conv1d(x)[:, :, :L]  # depthwise convolution over time, with a short filter
        x = x.transpose(1, 2)  # (B, L, ED)

        x = F.silu(x)
        y = self.ssm(x, z)

        # z branch
        z = F.silu(z)

        output = y * z
        output = self.out_proj(output)  # (B, L, D)

        return output

    def ssm(self, x, z):
        # x : (B, L, ED)

        # y : (B, L, ED)

        A = -torch.exp(self.A_log.float())  # (ED, N)
        D = self.D.float()

        deltaBC = self.x_proj(x)  # (B, L, dt_rank+2*N)
        delta, B, C = torch.split(deltaBC, [self.config.dt_rank, self.config.d_state, self.config.d_state],
                                  dim=-1)  # (B, L, dt_rank), (B, L, N), (B, L, N)
        delta = self.dt_proj.weight @ delta.transpose(1, 2)  # (ED, dt_rank) @ (B, L, dt_rank) -> (B, ED, L)
        # here we just apply the matrix mul operation of delta = softplus(dt_proj(delta))
        # the rest will be applied later (fused if using cuda)

        delta = delta.transpose(1, 2)
        delta = F.softplus(delta + self.dt_proj.bias)

        if self.config.pscan:
            y = self.selective_scan(x, delta, A, B, C, D)
        else:
            y = self.selective_scan_seq(x, delta, A, B, C, D)

        return y

    def selective_scan(self, x, delta, A, B, C, D):
        # x : (B, L, ED)
        # Δ : (B, L, ED)
        # A : (ED, N)
        # B : (B, L, N)
        # C : (B, L, N)
        # D : (ED)

        # y : (B, L, ED)

        deltaA = torch.exp(delta.unsqueeze(-1) * A)  # (B, L, ED, N)
        deltaB = delta.unsqueeze(-1) * B.unsqueeze(2)  # (B, L, ED, N)

        BX = deltaB * (x.unsqueeze(-1))  # (B, L, ED, N)

        hs = pscan(deltaA, BX)

        y = (hs @ C.unsqueeze(-1)).squeeze(3)  # (B, L, ED, N) @ (B, L, N, 1) -> (B, L, ED, 1)

        y = y + D * x

        return y

    def selective_scan_seq(self, x, delta, A, B, C, D):
        _, L, _ = x.shape

        deltaA = torch.exp(delta.unsqueeze(-1) * A)  # (B, L, ED, N)
        deltaB = delta.unsqueeze(-1) * B.unsqueeze(2)  # (B, L, ED, N)

        BX = deltaB * (x.unsqueeze(-1))  # (B, L, ED, N)

        h = torch.zeros(x.size(0), self.config.d_inner, self.config.d_state, device=deltaA.device)  # (B, ED, N)
        hs = []

        for t in range(0, L):
            h = deltaA[:, t] * h + BX[:, t]
            hs.append(h)

        hs = torch.stack(hs, dim=1)  # (B, L, ED, N)

        y = (hs @ C.unsqueeze(-1)).squeeze(3)  # (B, L, ED, N) @ (B, L, N, 1) -> (B, L, ED, 1)

        y = y + D * x

        return y


class RMSNorm(nn.Module):
    def __init__(self, d_model: int, eps: float = 1e-5):
        super().__init__()

        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d_model))

    def forward(self, x):
        output = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)

        return output * self.weight


# mambapy/lm.py ---------------------------------------------------------------------------------------------------

class LM(nn.Module):
    def __init__(self, model_config: MambaConfig, vocab_size: int, pad_vocab_size_multiple: int = None,
                 zero_init: bool = False):
        super().__init__()

        if pad_vocab_size_multiple is not None and (vocab_size % pad_vocab_size_multiple != 0):
            vocab_size += (pad_vocab_size_multiple - vocab_size % pad_vocab_size_multiple)

        self.config = model_config
        self.zero_init = zero_init  # the variant: zeros_ instead of normal_ in _init_weights

        self.embedding = nn.Embedding(vocab_size, self.config.d_model, padding_idx=0)

        self.mamba = Mamba(self.config)

        self.norm_f = RMSNorm(self.config.d_model, self.config.rms_norm_eps)

        self.lm_head = nn.Linear(self.config.d_model, vocab_size, bias=False)
        # self.embedding.weight = self.lm_head.weight # weight-tying disabled

        self.apply(self._init_weights)
        for pn, p in self.named_parameters():
            if pn.endswith('mixer.out_proj.weight'):
                torch.nn.init.normal_(p, mean=0.0, std=self.config.base_std/math.sqrt(2 * self.config.n_layers))

    def forward(self, tokens):
        # tokens : (B, L)

        # logits : (B, L, vocab_size)

        x = self.embedding(tokens)
        x = self.mamba(x)
        x = self.norm_f(x)

        logits = self.lm_head(x)

        return logits

    # non-muP init (taken from llama2.c)
    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            if self.zero_init:
                torch.nn.init.zeros_(module.weight)
            else:
                torch.nn.init.normal_(module.weight, mean=0.0, std=self.config.base_std)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            if self.zero_init:
                torch.nn.init.zeros_(module.weight)
            else:
                torch.nn.init.normal_(module.weight, mean=0.0, std=self.config.base_std)

    # adaped from llama2.c
    def configure_optimizers(self, weight_decay, learning_rate, betas, device_type):
        param_dict = {pn: p for pn, p in self.named_parameters()}
        param_dict = {pn: p for pn, p in param_dict.items() if p.requires_grad}

        # create optim groups. Any parameters that is 2D will be weight decayed, otherwise no.
        # i.e. all weight tensors in matmuls + embeddings decay, all biases and layernorms don't.
        decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
        nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]

        optim_groups = [
            {'params': decay_params, 'weight_decay': weight_decay, 'lr': learning_rate},
            {'params': nodecay_params, 'weight_decay': 0.0, 'lr': learning_rate}
        ]

        # Create AdamW optimizer and use the fused version if it is available
        optimizer = torch.optim.AdamW(optim_groups, betas=betas, fused=False)

        return optimizer


# tests/lr_sweep.py -------------------------------------------------------------------------------------------------

def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, zero_init: bool = False,
          zero_a_log: bool = False, clip: bool = True, d_model: int = 32, depth: int = 2, n_steps: int = 300,
          warmup_steps: int = 60, batch_size: int = 16, sequence_length: int = 32, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    vocab_size = 256
    lr = 2.0 ** -8 * lr_mult
    device = torch.device("cpu")

    data = torch.frombuffer(bytearray(stdlib_docstrings(), encoding="utf8"), dtype=torch.uint8)
    gen = torch.Generator().manual_seed(seed)

    def batches():
        for _ in range(n_steps):
            yield torch.stack([
                data[i:i + sequence_length].to(device=device, dtype=torch.long)
                for i in torch.randint(0, len(data) - sequence_length, size=(batch_size,), generator=gen)
            ])

    def lr_schedule(step: int) -> float:
        if step < warmup_steps:
            return step / warmup_steps
        a = (step - warmup_steps) * math.pi / (n_steps - warmup_steps)
        return math.cos(a) * .5 + .5

    config = MambaConfig(d_model=d_model, n_layers=depth)
    model = LM(config, vocab_size, zero_init=zero_init).to(device)
    if init_std is not None:  # the bug: normal_(0, std) on every Linear weight after upstream's init
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, init_std)
    if zero_a_log:  # the bug: A_log = 0 (A = -1 for every state) instead of S4D-real log(1..N)
        for m in model.modules():
            if isinstance(m, MambaBlock):
                nn.init.zeros_(m.A_log)
    opt = model.configure_optimizers(weight_decay=0., learning_rate=lr, betas=(0.9, 0.95), device_type="cpu")

    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lr_schedule)
    monitor = gradmedic.watch(model, opt, every=every)  # gradmedic

    def run_step(batch):
        opt.zero_grad()
        logits = model(batch)
        loss = F.cross_entropy(logits[..., :-1, :].flatten(end_dim=-2), batch[..., 1:].flatten())
        loss.backward()
        monitor.step(loss)  # gradmedic
        if clip:
            torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=1.0)
        opt.step()
        schedule.step()
        return loss

    t0 = time.time()
    log = []
    for step, batch in enumerate(batches()):
        loss = run_step(batch)
        log.append(loss.item())
        if verbose and (step + 1) % 100 == 0:
            print(f"step {step + 1} loss = {np.mean(log[-20:]):.3f}  {time.time() - t0:.1f}s", flush=True)
    monitor.close()
    value = float(np.mean(log[-20:]))
    return {"monitors": {"": monitor}, "metric": "train_loss", "value": value if math.isfinite(value) else float("nan"),
            "initial": float(np.mean(log[:5])), "initial_what": "untrained: mean loss of the first 5 steps",
            "chance": math.log(vocab_size),
            "extra": {"steps": len(log), "d_model": d_model, "n_layers": depth, "sequence_length": sequence_length,
                      "batch_size": batch_size, "lr": lr, "warmup_steps": warmup_steps, "vocab_size": vocab_size,
                      "text_bytes": len(data), "n_params": sum(p.numel() for p in model.parameters())},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="mambalm", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"mambalm_healthy_s{s}", "healthy", s, {}, "unchanged (Mamba LM d_model 32, 2 layers, bytes, seq 32, batch "
           "16, AdamW lr 2^-8 betas (0.9, 0.95) wd 0, warmup 60 then cosine, clip_grad_value_ 1.0, 300 steps)", False)
     for s in (1, 2, 3)]
    + [_case(f"mambalm_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"AdamW lr x{k} ({2.0 ** -8 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("mambalm_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"AdamW lr /1000 ({2.0 ** -8 * 1e-3:g})")]
    + [_case(f"mambalm_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(0, 1) on every Linear weight (in_proj, x_proj, dt_proj, out_proj, lm_head) after "
             "upstream's init (normal 0.02, dt_proj U(+-dt_rank^-0.5))") for s in (1, 2)]
    + [_case("mambalm_zero_init_s1", "symmetric_init", 1, {"zero_init": True},
             "zeros_ instead of normal_ in _init_weights (every Linear weight and the Embedding; out_proj's scaled "
             "normal init kept)")]
    + [_case("mambalm_zero_alog_s1", "symmetric_init", 1, {"zero_a_log": True},
             "A_log initialized to zeros (A = -1 for all 16 states) instead of the S4D-real log(1..16)")]
    + [_case(f"mambalm_no_clip_s{s}", "no_clipping", s, {"clip": False},
             "no clip_grad_value_(1.0) at the default lr") for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    r = train(verbose=True, **({"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}))
    print({k: v for k, v in r.items() if k != "monitors"})
