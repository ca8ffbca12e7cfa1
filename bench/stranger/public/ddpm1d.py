"""lucidrains/denoising-diffusion-pytorch's 1-D models (``Unet1D`` and ``GaussianDiffusion1D``) trained on generated
sine-mixture sequences, watched by gradmedic.

Adapted from https://github.com/lucidrains/denoising-diffusion-pytorch (commit
faed4db28e724735323fa91c70aa9b28a6e1cbac, denoising_diffusion_pytorch/denoising_diffusion_pytorch_1d.py, as the
README's "1D Sequence" example uses it; MIT License, Copyright (c) 2020 Phil Wang, see LICENSE-ddpm1d).  Kept as in
the original: the helpers, ``Residual``, ``Upsample``, ``Downsample``, ``RMSNorm``, ``PreNorm``,
``SinusoidalPosEmb``, ``RandomOrLearnedSinusoidalPosEmb``, ``Block`` (Conv1d, RMSNorm, time scale/shift, SiLU),
``ResnetBlock`` (its time MLP), ``LinearAttention``, ``Attention``, ``Unet1D`` (init conv, sinusoidal time MLP,
two resnet blocks + linear attention per resolution, mid attention, skip connections, final resnet block and
conv), PyTorch's default initialization throughout (upstream sets none), and ``GaussianDiffusion1D``'s training
path: the cosine beta schedule, the buffers, ``predict_*``, ``model_predictions``, ``q_sample``, ``p_losses``
(MSE against the objective's target, per-sample mean, times the objective's ``loss_weight``: 1 for pred_noise,
snr for pred_x0, snr/(snr+1) for pred_v), ``forward`` (random timesteps, ``normalize`` to [-1, 1] when
``auto_normalize``).  The training loop is ``Trainer1D.train``'s without accelerate and EMA (neither changes the
gradients): ``loss = diffusion(data)``, ``loss.backward()``, ``clip_grad_norm_(parameters, max_grad_norm=1.0)``,
``opt.step()``, ``opt.zero_grad()``, with ``Adam(lr=8e-5, betas=(0.9, 0.99))`` (the README's ``train_lr`` and
``Trainer1D``'s ``adam_betas``) and the README's ``objective='pred_v'``.

Changed: einops is not installed here, so its uses are rewritten with plain torch ops of the same meaning
(``rearrange(x, 'b -> b 1')`` as ``x[:, None]``, ``'d -> 1 d'`` as ``[None, :]``, ``'b c -> b c 1'`` as
``[..., None]``, ``'b (h c) n -> b h c n'`` as ``unflatten(1, (h, -1))``, ``'b h c n -> b (h c) n'`` as
``flatten(1, 2)``, ``'b h n d -> b (h d) n'`` as ``transpose(-1, -2).flatten(1, 2)``, ``reduce(loss, 'b ... ->
b', 'mean')`` as ``loss.flatten(1).mean(1)``).  The sampling methods (``p_sample``, ``ddim_sample``, ``sample``,
``interpolate``), ``Dataset1D`` and ``Trainer1D``'s accelerate/EMA/checkpoint machinery are left out (not used
by training).  Sizes shrunk so a run takes 10-25 s on one CPU thread: ``Unet1D(dim=16, dim_mults=(1, 2),
channels=1)``, ``seq_length=32``, ``timesteps=100`` (README: dim 64, mults (1, 2, 4, 8), 32 channels, length 128,
1000 steps), batch 16 (``Trainer1D``'s default ``train_batch_size``; README: 32 with
``gradient_accumulate_every=2``) without accumulation, 200 steps.
Data (made by the program, no download): 2048 training and 256 held-out sequences of one channel, each
``0.5 + 0.25 sin(2 pi f1 x + p1) + 0.2 sin(2 pi f2 x + p2)`` on 32 points of [0, 1) with f1 in [1, 3), f2 in
[3, 6) and phases uniform, so values lie in [0.05, 0.95] ("features are normalized from 0 to 1" as the README
asks); the training batches are drawn with a ``torch.Generator`` seeded with the run's seed.  Metric: the
held-out diffusion loss, upstream's ``diffusion(x, times=t, noise=eps)`` on the 256 held-out sequences with
fixed timesteps and noise (generator seed 0), in eval mode, with upstream's ``loss_weight`` for pred_v.  For the
three objectives that weighted loss equals the mean squared error of the implied noise prediction, so it is
comparable across variants (and between data scales); ``initial`` is the same loss of the untrained model.

The watch: ``gradmedic.watch(diffusion, opt, every=10)`` right after the optimizer is built (the module that
owns the Unet, as ``Trainer1D`` hands ``diffusion_model.parameters()`` to Adam), ``monitor.step(loss)`` after
``loss.backward()``, before ``clip_grad_norm_`` and ``opt.step()``.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the same
seed's healthy run: lr x10, x100 (seeds 1 and 2), x1000 and /1000; data in [0, 100] with ``auto_normalize=False``
(unnormalized inputs); ``nn.init.normal_(std=1)`` on every Conv1d weight; the time embedding not passed to the
resnet blocks (``block(x)`` instead of ``block(x, t)``: the net is blind to the timestep, the time MLP and the
blocks' time MLPs get no gradient); ``objective='pred_x0'`` with the ``loss_weight`` buffer set to ones (the
x0 MSE unweighted; the metric keeps upstream's snr weighting); no ``clip_grad_norm_``.  Labels come from run.py's
outcome rules only.
Recorded (cases-public28): healthy 0.221-0.230 held-out loss on seeds 1-3 (untrained 0.39-0.53); lr x10 (0.184)
and x100 (0.186, 0.182 on seeds 1 and 2) train as well or better (labelled healthy: Adam with clip 1.0 and the
RMSNorm after every conv tolerate 8e-3), as do the blind-to-t Unet (0.217: on these smooth sequences the noise
level is readable from x_t itself) and no clipping (0.223); lr x1000 blows up (3399), lr /1000 stays at the start
(0.52), [0, 100] data without normalization ends at 142 (start 317), N(0, 1) conv weights at 1.9e14 (start
1.1e15), unweighted pred_x0 at 0.63: all broken.
"""

from __future__ import annotations

import math
import time
from collections import namedtuple
from functools import partial
from random import random

import numpy as np
import torch
import torch.nn.functional as F
from torch import einsum, nn
from torch.nn import Module, ModuleList
from torch.optim import Adam

import gradmedic

ARCH = "unet"
MONITOR_AT = ("monitor.step(loss) after loss.backward() (upstream's weighted diffusion loss), before "
              "clip_grad_norm_(1.0) and opt.step()")

# constants

ModelPrediction = namedtuple('ModelPrediction', ['pred_noise', 'pred_x_start'])

# helpers functions


def exists(x):
    return x is not None


def default(val, d):
    if exists(val):
        return val
    return d() if callable(d) else d


def identity(t, *args, **kwargs):
    return t

# normalization functions


def normalize_to_neg_one_to_one(img):
    return img * 2 - 1


def unnormalize_to_zero_to_one(t):
    return (t + 1) * 0.5

# small helper modules


class Residual(Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x, *args, **kwargs):
        return self.fn(x, *args, **kwargs) + x


def Upsample(dim, dim_out=None):
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode='nearest'),
        nn.Conv1d(dim, default(dim_out, dim), 3, padding=1)
    )


def Downsample(dim, dim_out=None):
    return nn.Conv1d(dim, default(dim_out, dim), 4, 2, 1)


class RMSNorm(Module):
    def __init__(self, dim):
        super().__init__()
        self.g = nn.Parameter(torch.ones(1, dim, 1))

    def forward(self, x):
        return F.normalize(x, dim=1) * self.g * (x.shape[1] ** 0.5)


class PreNorm(Module):
    def __init__(self, dim, fn):
        super().__init__()
        self.fn = fn
        self.norm = RMSNorm(dim)

    def forward(self, x):
        x = self.norm(x)
        return self.fn(x)

# sinusoidal positional embeds


class SinusoidalPosEmb(Module):
    def __init__(self, dim, theta=10000):
        super().__init__()
        self.dim = dim
        self.theta = theta

    def forward(self, x):
        device = x.device
        half_dim = self.dim // 2
        emb = math.log(self.theta) / (half_dim - 1)
        emb = torch.exp(torch.arange(half_dim, device=device) * -emb)
        emb = x[:, None] * emb[None, :]
        emb = torch.cat((emb.sin(), emb.cos()), dim=-1)
        return emb


class RandomOrLearnedSinusoidalPosEmb(Module):
    """ following @crowsonkb 's lead with random (learned optional) sinusoidal pos emb """
    """ https://github.com/crowsonkb/v-diffusion-jax/blob/master/diffusion/models/danbooru_128.py#L8 """

    def __init__(self, dim, is_random=False):
        super().__init__()
        assert (dim % 2) == 0
        half_dim = dim // 2
        self.weights = nn.Parameter(torch.randn(half_dim), requires_grad=not is_random)

    def forward(self, x):
        x = x[:, None]  # rearrange(x, 'b -> b 1')
        freqs = x * self.weights[None, :] * 2 * math.pi  # rearrange(self.weights, 'd -> 1 d')
        fouriered = torch.cat((freqs.sin(), freqs.cos()), dim=-1)
        fouriered = torch.cat((x, fouriered), dim=-1)
        return fouriered

# building block modules


class Block(Module):
    def __init__(self, dim, dim_out, dropout=0.):
        super().__init__()
        self.proj = nn.Conv1d(dim, dim_out, 3, padding=1)
        self.norm = RMSNorm(dim_out)
        self.act = nn.SiLU()
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, scale_shift=None):
        x = self.proj(x)
        x = self.norm(x)

        if exists(scale_shift):
            scale, shift = scale_shift
            x = x * (scale + 1) + shift

        x = self.act(x)
        return self.dropout(x)


class ResnetBlock(Module):
    def __init__(self, dim, dim_out, *, time_emb_dim=None, dropout=0.):
        super().__init__()
        self.mlp = nn.Sequential(
            nn.SiLU(),
            nn.Linear(time_emb_dim, dim_out * 2)
        ) if exists(time_emb_dim) else None

        self.block1 = Block(dim, dim_out, dropout=dropout)
        self.block2 = Block(dim_out, dim_out)
        self.res_conv = nn.Conv1d(dim, dim_out, 1) if dim != dim_out else nn.Identity()

    def forward(self, x, time_emb=None):

        scale_shift = None
        if exists(self.mlp) and exists(time_emb):
            time_emb = self.mlp(time_emb)
            time_emb = time_emb[..., None]  # rearrange(time_emb, 'b c -> b c 1')
            scale_shift = time_emb.chunk(2, dim=1)

        h = self.block1(x, scale_shift=scale_shift)

        h = self.block2(h)

        return h + self.res_conv(x)


class LinearAttention(Module):
    def __init__(self, dim, heads=4, dim_head=32):
        super().__init__()
        self.scale = dim_head ** -0.5
        self.heads = heads
        hidden_dim = dim_head * heads
        self.to_qkv = nn.Conv1d(dim, hidden_dim * 3, 1, bias=False)

        self.to_out = nn.Sequential(
            nn.Conv1d(hidden_dim, dim, 1),
            RMSNorm(dim)
        )

    def forward(self, x):
        b, c, n = x.shape
        qkv = self.to_qkv(x).chunk(3, dim=1)
        q, k, v = (t.unflatten(1, (self.heads, -1)) for t in qkv)  # 'b (h c) n -> b h c n'

        q = q.softmax(dim=-2)
        k = k.softmax(dim=-1)

        q = q * self.scale

        context = torch.einsum('b h d n, b h e n -> b h d e', k, v)

        out = torch.einsum('b h d e, b h d n -> b h e n', context, q)
        out = out.flatten(1, 2)  # 'b h c n -> b (h c) n'
        return self.to_out(out)


class Attention(Module):
    def __init__(self, dim, heads=4, dim_head=32):
        super().__init__()
        self.scale = dim_head ** -0.5
        self.heads = heads
        hidden_dim = dim_head * heads

        self.to_qkv = nn.Conv1d(dim, hidden_dim * 3, 1, bias=False)
        self.to_out = nn.Conv1d(hidden_dim, dim, 1)

    def forward(self, x):
        b, c, n = x.shape
        qkv = self.to_qkv(x).chunk(3, dim=1)
        q, k, v = (t.unflatten(1, (self.heads, -1)) for t in qkv)  # 'b (h c) n -> b h c n'

        q = q * self.scale

        sim = einsum('b h d i, b h d j -> b h i j', q, k)
        attn = sim.softmax(dim=-1)
        out = einsum('b h i j, b h d j -> b h i d', attn, v)

        out = out.transpose(-1, -2).flatten(1, 2)  # 'b h n d -> b (h d) n'
        return self.to_out(out)

# model


class Unet1D(Module):
    def __init__(
        self,
        dim,
        init_dim=None,
        out_dim=None,
        dim_mults=(1, 2, 4, 8),
        channels=3,
        dropout=0.,
        self_condition=False,
        learned_variance=False,
        learned_sinusoidal_cond=False,
        random_fourier_features=False,
        learned_sinusoidal_dim=16,
        sinusoidal_pos_emb_theta=10000,
        attn_dim_head=32,
        attn_heads=4,
        use_time=True,  # not upstream: False is the "time embedding not passed to the blocks" variant
    ):
        super().__init__()

        # determine dimensions

        self.channels = channels
        self.self_condition = self_condition
        self.use_time = use_time
        input_channels = channels * (2 if self_condition else 1)

        init_dim = default(init_dim, dim)
        self.init_conv = nn.Conv1d(input_channels, init_dim, 7, padding=3)

        dims = [init_dim, *(dim * m for m in dim_mults)]
        in_out = list(zip(dims[:-1], dims[1:], strict=False))

        # time embeddings

        time_dim = dim * 4

        self.random_or_learned_sinusoidal_cond = learned_sinusoidal_cond or random_fourier_features

        if self.random_or_learned_sinusoidal_cond:
            sinu_pos_emb = RandomOrLearnedSinusoidalPosEmb(learned_sinusoidal_dim, random_fourier_features)
            fourier_dim = learned_sinusoidal_dim + 1
        else:
            sinu_pos_emb = SinusoidalPosEmb(dim, theta=sinusoidal_pos_emb_theta)
            fourier_dim = dim

        self.time_mlp = nn.Sequential(
            sinu_pos_emb,
            nn.Linear(fourier_dim, time_dim),
            nn.GELU(),
            nn.Linear(time_dim, time_dim)
        )

        resnet_block = partial(ResnetBlock, time_emb_dim=time_dim, dropout=dropout)

        # layers

        self.downs = ModuleList([])
        self.ups = ModuleList([])
        num_resolutions = len(in_out)

        for ind, (dim_in, dim_out) in enumerate(in_out):
            is_last = ind >= (num_resolutions - 1)

            self.downs.append(ModuleList([
                resnet_block(dim_in, dim_in),
                resnet_block(dim_in, dim_in),
                Residual(PreNorm(dim_in, LinearAttention(dim_in))),
                Downsample(dim_in, dim_out) if not is_last else nn.Conv1d(dim_in, dim_out, 3, padding=1)
            ]))

        mid_dim = dims[-1]
        self.mid_block1 = resnet_block(mid_dim, mid_dim)
        self.mid_attn = Residual(PreNorm(mid_dim, Attention(mid_dim, dim_head=attn_dim_head, heads=attn_heads)))
        self.mid_block2 = resnet_block(mid_dim, mid_dim)

        for ind, (dim_in, dim_out) in enumerate(reversed(in_out)):
            is_last = ind == (len(in_out) - 1)

            self.ups.append(ModuleList([
                resnet_block(dim_out + dim_in, dim_out),
                resnet_block(dim_out + dim_in, dim_out),
                Residual(PreNorm(dim_out, LinearAttention(dim_out))),
                Upsample(dim_out, dim_in) if not is_last else nn.Conv1d(dim_out, dim_in, 3, padding=1)
            ]))

        default_out_dim = channels * (1 if not learned_variance else 2)
        self.out_dim = default(out_dim, default_out_dim)

        self.final_res_block = resnet_block(init_dim * 2, init_dim)
        self.final_conv = nn.Conv1d(init_dim, self.out_dim, 1)

    def forward(self, x, time, x_self_cond=None):
        if self.self_condition:
            x_self_cond = default(x_self_cond, lambda: torch.zeros_like(x))
            x = torch.cat((x_self_cond, x), dim=1)

        x = self.init_conv(x)
        r = x.clone()

        t = self.time_mlp(time)
        if not self.use_time:  # the variant: the blocks are called without the time embedding
            t = None

        h = []

        for block1, block2, attn, downsample in self.downs:
            x = block1(x, t)
            h.append(x)

            x = block2(x, t)
            x = attn(x)
            h.append(x)

            x = downsample(x)

        x = self.mid_block1(x, t)
        x = self.mid_attn(x)
        x = self.mid_block2(x, t)

        for block1, block2, attn, upsample in self.ups:
            x = torch.cat((x, h.pop()), dim=1)
            x = block1(x, t)

            x = torch.cat((x, h.pop()), dim=1)
            x = block2(x, t)
            x = attn(x)

            x = upsample(x)

        x = torch.cat((x, r), dim=1)

        x = self.final_res_block(x, t)
        return self.final_conv(x)

# gaussian diffusion trainer class


def extract(a, t, x_shape):
    b, *_ = t.shape
    out = a.gather(-1, t)
    return out.reshape(b, *((1,) * (len(x_shape) - 1)))


def linear_beta_schedule(timesteps):
    scale = 1000 / timesteps
    beta_start = scale * 0.0001
    beta_end = scale * 0.02
    return torch.linspace(beta_start, beta_end, timesteps, dtype=torch.float64)


def cosine_beta_schedule(timesteps, s=0.008):
    """
    cosine schedule
    as proposed in https://openreview.net/forum?id=-NEXDKk8gZ
    """
    steps = timesteps + 1
    x = torch.linspace(0, timesteps, steps, dtype=torch.float64)
    alphas_cumprod = torch.cos(((x / timesteps) + s) / (1 + s) * math.pi * 0.5) ** 2
    alphas_cumprod = alphas_cumprod / alphas_cumprod[0]
    betas = 1 - (alphas_cumprod[1:] / alphas_cumprod[:-1])
    return torch.clip(betas, 0, 0.999)


class GaussianDiffusion1D(Module):
    def __init__(
        self,
        model,
        *,
        seq_length,
        timesteps=1000,
        sampling_timesteps=None,
        objective='pred_noise',
        beta_schedule='cosine',
        ddim_sampling_eta=0.,
        auto_normalize=True,
        channels=None,
        self_condition=None,
        channel_first=True
    ):
        super().__init__()
        self.model = model
        self.channels = default(channels, lambda: self.model.channels)
        self.self_condition = default(self_condition, lambda: self.model.self_condition)

        self.channel_first = channel_first
        self.seq_index = -2 if not channel_first else -1

        self.seq_length = seq_length

        self.objective = objective

        assert objective in {'pred_noise', 'pred_x0', 'pred_v'}, 'objective must be either pred_noise (predict noise) or pred_x0 (predict image start) or pred_v (predict v [v-parameterization as defined in appendix D of progressive distillation paper, used in imagen-video successfully])'  # noqa: E501

        if beta_schedule == 'linear':
            betas = linear_beta_schedule(timesteps)
        elif beta_schedule == 'cosine':
            betas = cosine_beta_schedule(timesteps)
        else:
            raise ValueError(f'unknown beta schedule {beta_schedule}')

        alphas = 1. - betas
        alphas_cumprod = torch.cumprod(alphas, dim=0)
        alphas_cumprod_prev = F.pad(alphas_cumprod[:-1], (1, 0), value=1.)

        timesteps, = betas.shape
        self.num_timesteps = int(timesteps)

        # sampling related parameters

        self.sampling_timesteps = default(sampling_timesteps, timesteps)  # default num sampling timesteps to number of timesteps at training  # noqa: E501

        assert self.sampling_timesteps <= timesteps
        self.is_ddim_sampling = self.sampling_timesteps < timesteps
        self.ddim_sampling_eta = ddim_sampling_eta

        # helper function to register buffer from float64 to float32

        def register_buffer(name, val):
            return self.register_buffer(name, val.to(torch.float32))

        register_buffer('betas', betas)
        register_buffer('alphas_cumprod', alphas_cumprod)
        register_buffer('alphas_cumprod_prev', alphas_cumprod_prev)

        # calculations for diffusion q(x_t | x_{t-1}) and others

        register_buffer('sqrt_alphas_cumprod', torch.sqrt(alphas_cumprod))
        register_buffer('sqrt_one_minus_alphas_cumprod', torch.sqrt(1. - alphas_cumprod))
        register_buffer('log_one_minus_alphas_cumprod', torch.log(1. - alphas_cumprod))
        register_buffer('sqrt_recip_alphas_cumprod', torch.sqrt(1. / alphas_cumprod))
        register_buffer('sqrt_recipm1_alphas_cumprod', torch.sqrt(1. / alphas_cumprod - 1))

        # calculations for posterior q(x_{t-1} | x_t, x_0)

        posterior_variance = betas * (1. - alphas_cumprod_prev) / (1. - alphas_cumprod)

        # above: equal to 1. / (1. / (1. - alpha_cumprod_tm1) + alpha_t / beta_t)

        register_buffer('posterior_variance', posterior_variance)

        # below: log calculation clipped because the posterior variance is 0 at the beginning of the diffusion chain

        register_buffer('posterior_log_variance_clipped', torch.log(posterior_variance.clamp(min=1e-20)))
        register_buffer('posterior_mean_coef1', betas * torch.sqrt(alphas_cumprod_prev) / (1. - alphas_cumprod))
        register_buffer('posterior_mean_coef2', (1. - alphas_cumprod_prev) * torch.sqrt(alphas) / (1. - alphas_cumprod))

        # calculate loss weight

        snr = alphas_cumprod / (1 - alphas_cumprod)

        if objective == 'pred_noise':
            loss_weight = torch.ones_like(snr)
        elif objective == 'pred_x0':
            loss_weight = snr
        elif objective == 'pred_v':
            loss_weight = snr / (snr + 1)

        register_buffer('loss_weight', loss_weight)

        # whether to autonormalize

        self.normalize = normalize_to_neg_one_to_one if auto_normalize else identity
        self.unnormalize = unnormalize_to_zero_to_one if auto_normalize else identity

    def predict_start_from_noise(self, x_t, t, noise):
        return (
            extract(self.sqrt_recip_alphas_cumprod, t, x_t.shape) * x_t -
            extract(self.sqrt_recipm1_alphas_cumprod, t, x_t.shape) * noise
        )

    def predict_noise_from_start(self, x_t, t, x0):
        return (
            (extract(self.sqrt_recip_alphas_cumprod, t, x_t.shape) * x_t - x0) /
            extract(self.sqrt_recipm1_alphas_cumprod, t, x_t.shape)
        )

    def predict_v(self, x_start, t, noise):
        return (
            extract(self.sqrt_alphas_cumprod, t, x_start.shape) * noise -
            extract(self.sqrt_one_minus_alphas_cumprod, t, x_start.shape) * x_start
        )

    def predict_start_from_v(self, x_t, t, v):
        return (
            extract(self.sqrt_alphas_cumprod, t, x_t.shape) * x_t -
            extract(self.sqrt_one_minus_alphas_cumprod, t, x_t.shape) * v
        )

    @property
    def device(self):
        return self.betas.device

    def model_predictions(self, x, t, x_self_cond=None, clip_x_start=False, rederive_pred_noise=False,
                          model_forward_kwargs: dict | None = None):
        model_forward_kwargs = model_forward_kwargs or {}

        if exists(x_self_cond):
            model_forward_kwargs = {**model_forward_kwargs, 'self_cond': x_self_cond}

        model_output = self.model(x, t, **model_forward_kwargs)
        maybe_clip = partial(torch.clamp, min=-1., max=1.) if clip_x_start else identity

        if self.objective == 'pred_noise':
            pred_noise = model_output
            x_start = self.predict_start_from_noise(x, t, pred_noise)
            x_start = maybe_clip(x_start)

            if clip_x_start and rederive_pred_noise:
                pred_noise = self.predict_noise_from_start(x, t, x_start)

        elif self.objective == 'pred_x0':
            x_start = model_output
            x_start = maybe_clip(x_start)
            pred_noise = self.predict_noise_from_start(x, t, x_start)

        elif self.objective == 'pred_v':
            v = model_output
            x_start = self.predict_start_from_v(x, t, v)
            x_start = maybe_clip(x_start)
            pred_noise = self.predict_noise_from_start(x, t, x_start)

        return ModelPrediction(pred_noise, x_start)

    def q_sample(self, x_start, t, noise=None):
        noise = default(noise, lambda: torch.randn_like(x_start))

        return (
            extract(self.sqrt_alphas_cumprod, t, x_start.shape) * x_start +
            extract(self.sqrt_one_minus_alphas_cumprod, t, x_start.shape) * noise
        )

    def p_losses(self, x_start, t, noise=None, model_forward_kwargs: dict | None = None, return_reduced_loss=True,
                 loss_reduction='mean'):
        model_forward_kwargs = model_forward_kwargs or {}
        noise = default(noise, lambda: torch.randn_like(x_start))

        # noise sample

        x = self.q_sample(x_start=x_start, t=t, noise=noise)

        # if doing self-conditioning, 50% of the time, predict x_start from current set of times
        # and condition with unet with that
        # this technique will slow down training by 25%, but seems to lower FID significantly

        x_self_cond = None
        if self.self_condition and random() < 0.5:
            with torch.no_grad():
                x_self_cond = self.model_predictions(x, t).pred_x_start
                x_self_cond.detach_()

            model_forward_kwargs = {**model_forward_kwargs, 'self_cond': x_self_cond}

        # predict and take gradient step

        model_out = self.model(x, t, **model_forward_kwargs)

        if self.objective == 'pred_noise':
            target = noise
        elif self.objective == 'pred_x0':
            target = x_start
        elif self.objective == 'pred_v':
            v = self.predict_v(x_start, t, noise)
            target = v
        else:
            raise ValueError(f'unknown objective {self.objective}')

        loss = F.mse_loss(model_out, target, reduction='none')

        if not return_reduced_loss:
            return loss * extract(self.loss_weight, t, loss.shape)

        loss = loss.flatten(1).mean(1)  # reduce(loss, 'b ... -> b', 'mean')

        loss = loss * extract(self.loss_weight, t, loss.shape)

        if loss_reduction == 'none':
            return loss

        return loss.mean()

    def random_times(self, batch_size):
        return torch.randint(0, self.num_timesteps, (batch_size,), device=self.device).long()

    def forward(self, img, *args, times=None, loss_reduction='mean', **kwargs):
        b, n, _device, seq_length, = img.shape[0], img.shape[self.seq_index], img.device, self.seq_length

        assert n == seq_length, f'seq length must be {seq_length}'

        times = default(times, lambda: self.random_times(b))

        img = self.normalize(img)
        return self.p_losses(img, times, *args, loss_reduction=loss_reduction, **kwargs)


# the program ------------------------------------------------------------------------------------------------------

SEQ, TIMESTEPS = 32, 100


def sine_mixtures(n: int, gen: torch.Generator) -> torch.Tensor:
    """n sequences (n, 1, 32) in [0.05, 0.95]: 0.5 + 0.25 sin(2 pi f1 x + p1) + 0.2 sin(2 pi f2 x + p2)."""
    x = torch.arange(SEQ) / SEQ
    f1 = 1 + 2 * torch.rand(n, 1, generator=gen)
    f2 = 3 + 3 * torch.rand(n, 1, generator=gen)
    p1, p2 = (2 * math.pi * torch.rand(n, 1, generator=gen) for _ in range(2))
    s = 0.5 + 0.25 * torch.sin(2 * math.pi * f1 * x + p1) + 0.2 * torch.sin(2 * math.pi * f2 * x + p2)
    return s[:, None, :]


def heldout_loss(diffusion, x, times, noise, weight) -> float:
    """Upstream's diffusion loss on the held-out sequences with fixed times and noise, with upstream's loss_weight."""
    kept = diffusion.loss_weight.clone()
    diffusion.loss_weight.copy_(weight)
    diffusion.eval()
    with torch.no_grad():
        value = float(diffusion(x, times=times, noise=noise))
    diffusion.train()
    diffusion.loss_weight.copy_(kept)
    return value if math.isfinite(value) else float("nan")


def train(seed: int = 1, lr_mult: float = 1.0, raw_scale: bool = False, init_std: float | None = None,
          use_time: bool = True, pred_x0_unweighted: bool = False, clip: float | None = 1.0, steps: int = 200,
          batch_size: int = 16, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    gdata = torch.Generator().manual_seed(1234)  # the data set is the same for every run
    train_seq, test_seq = sine_mixtures(2048, gdata), sine_mixtures(256, gdata)
    if raw_scale:  # the variant: features in [0, 100], not [0, 1], and auto_normalize off
        train_seq, test_seq = 100 * train_seq, 100 * test_seq
    geval = torch.Generator().manual_seed(0)
    eval_times = torch.randint(0, TIMESTEPS, (len(test_seq),), generator=geval)
    eval_noise = torch.randn(test_seq.shape, generator=geval)
    torch.manual_seed(seed)

    model = Unet1D(dim=16, dim_mults=(1, 2), channels=1, use_time=use_time)
    objective = "pred_x0" if pred_x0_unweighted else "pred_v"
    diffusion = GaussianDiffusion1D(model, seq_length=SEQ, timesteps=TIMESTEPS, objective=objective,
                                    auto_normalize=not raw_scale)
    weight = diffusion.loss_weight.clone()  # upstream's weighting, for the metric
    if pred_x0_unweighted:  # the variant: predict x0 with its snr weighting dropped (loss_weight = 1)
        diffusion.loss_weight.fill_(1.0)
    if init_std is not None:  # the variant: N(0, init_std) on every Conv1d weight instead of PyTorch's default
        for m in diffusion.modules():
            if isinstance(m, nn.Conv1d):
                nn.init.normal_(m.weight, 0.0, init_std)
    lr = 8e-5 * lr_mult
    opt = Adam(diffusion.parameters(), lr=lr, betas=(0.9, 0.99))
    monitor = gradmedic.watch(diffusion, opt, every=every)
    initial = heldout_loss(diffusion, test_seq, eval_times, eval_noise, weight)
    g = torch.Generator().manual_seed(seed)
    losses = []

    t0 = time.time()
    for step in range(steps):
        data = train_seq[torch.randint(0, len(train_seq), (batch_size,), generator=g)]
        loss = diffusion(data)
        loss.backward()
        monitor.step(loss)  # gradmedic
        if clip is not None:
            nn.utils.clip_grad_norm_(diffusion.parameters(), clip)
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
        if verbose and (step + 1) % 100 == 0:
            print(f"step {step + 1} loss {np.mean(losses[-100:]):.4f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    value = heldout_loss(diffusion, test_seq, eval_times, eval_noise, weight)
    if verbose:
        print(f"held-out diffusion loss {value:.4f} (untrained {initial:.4f})")
    return {"monitors": {"": monitor}, "metric": "heldout_loss", "value": value, "chance": 1.0,
            "initial": initial,
            "initial_what": "the untrained model's held-out diffusion loss (upstream's weighted loss = the implied "
                            "noise prediction's MSE; 1.0 is predicting zero noise)",
            "extra": {"train_loss": float(np.mean(losses[-20:])), "train_loss_first5": float(np.mean(losses[:5])),
                      "steps": len(losses), "lr": lr, "objective": objective},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="ddpm1d", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"ddpm1d_healthy_s{s}", "healthy", s, {}, "unchanged (Unet1D dim 16 mults (1, 2), GaussianDiffusion1D "
           "pred_v, cosine schedule, 100 timesteps, data in [0, 1] auto-normalized, Adam lr 8e-5 betas (0.9, 0.99), "
           "clip_grad_norm_ 1.0, batch 16, 200 steps)", False) for s in (1, 2, 3)]
    + [_case(f"ddpm1d_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({8e-5 * k:g}), clipping kept")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("ddpm1d_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (8e-08)")]
    + [_case("ddpm1d_raw_scale_s1", "unscaled_inputs", 1, {"raw_scale": True},
             "the sequences in [0, 100] (x100) with auto_normalize=False: no scaling to [-1, 1] before the noising")]
    + [_case("ddpm1d_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Conv1d weight instead of PyTorch's default (kaiming_uniform_, "
             "a=sqrt(5)); biases and Linears kept")]
    + [_case("ddpm1d_no_time_s1", "no_gradient", 1, {"use_time": False},
             "the time embedding not passed to the resnet blocks (block(x) instead of block(x, t)): the Unet is blind "
             "to the timestep; time_mlp and every block's time mlp get no gradient")]
    + [_case("ddpm1d_x0_unweighted_s1", "wrong_loss", 1, {"pred_x0_unweighted": True},
             "objective='pred_x0' with the loss_weight buffer set to ones (upstream weights the x0 MSE by snr); the "
             "metric keeps upstream's weighting")]
    + [_case("ddpm1d_no_clip_s1", "no_clipping", 1, {"clip": None}, "no clip_grad_norm_(1.0) before opt.step()")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
