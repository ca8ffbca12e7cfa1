"""Neel Nanda's 1L-Sparse-Autoencoder (a sparse dictionary on toy superposition data), watched by gradmedic.

Adapted from https://github.com/neelnanda-io/1L-Sparse-Autoencoder (commit bcae01328a2f41d24bd4a9160828f2fc22737f75,
utils.py and train.py; MIT License, Copyright (c) 2023 Neel Nanda, see LICENSE-nnsae).  Kept as upstream: the
``AutoEncoder`` class (copied below: W_enc and W_dec by ``kaiming_uniform_`` on (act_size, d_hidden) and (d_hidden,
act_size) tensors, zero b_enc and b_dec, the decoder rows normalised at init, ``torch.manual_seed(cfg["seed"])``;
forward ``relu((x - b_dec) @ W_enc + b_enc)``, ``acts @ W_dec + b_dec``, loss = l2 (squared error summed over the dims,
mean over the batch) + ``l1_coeff * acts.abs().sum()`` (summed over the batch as well: the L1's weight per point grows
with the batch size); ``make_decoder_weights_and_grad_unit_norm``: the W_dec gradient's component along each row
removed and the rows renormalised, called between backward and step), ``torch.optim.Adam(lr=1e-4, betas=(0.9,
0.99))``, l1_coeff 3e-4, dict_mult 32, fp32, and train.py's loop (``buffer.next()``, forward, ``loss.backward()``,
the decoder step, ``encoder_optim.step()``, ``encoder_optim.zero_grad()`` after the step).

Changed to run offline on one CPU thread in ~20-35 s (each marked ``# upstream:``): the activations.  Upstream's
``Buffer`` runs the gelu-2l transformer over c4-code tokens and serves its layer-0 MLP outputs (512 dims); neither
the model nor the data can be had offline, so ``ToyBuffer`` generates activations the standard toy way ("Toy Models of
Superposition"): 256 sparse ground-truth features, each on with probability 0.02 (about 5 a point), magnitude
U(0, 1), embedded by a fixed random dictionary of unit-norm directions in act_size = 32 dims (upstream 512), so
dict_size = 1024; a fresh batch each step from a generator with a fixed seed (1000 + seed for the dictionary,
2000 + seed for the stream, 3000 + seed for the held-out batch).  Batch 1024 instead of 4096 and STEPS = 1000 instead
of num_tokens // batch_size = 488281 (upstream's every-1000-batch LM evaluation and its every-30000-batch neuron
resampling ``re_init`` are never reached, and left out with wandb, checkpoints and the buffer's bf16 autocast);
cfg seed 48 + seed (seed 1 is upstream's 49); device cpu.  The untrained and trained autoencoder are evaluated on a
fixed held-out batch of 4096 points.

The watch, as a user would: ``monitor = gradmedic.watch(encoder, encoder_optim, every=10)`` right after the Adam is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before the decoder-norm step and ``encoder_optim.step()``;
``monitor.close()`` after the loop.  Metric "nmse" (lower is better): the held-out normalized MSE, the mean squared
reconstruction error over the data's variance about its mean (fraction of variance unexplained); ``initial`` the same
for the untrained autoencoder.  ``extra`` has the held-out MSE, the held-out loss (l2 + the L1 weighted as at the
training batch size), the fraction of dead latents (never active on the 4096 held-out points, upstream's
``get_freqs == 0``), L0, and the training losses.

``CASES`` (program "nnsae"): the program on seeds 1-3, and one change each against the same seed's healthy run: Adam lr
x10, x100 (seeds 1 and 2), x1000 (added after x100 came out healthy), /1000; l1_coeff x100 (seeds 1 and 2; cause
dead_relu, the nearest in causes.py: the penalty drives the ReLU latents below zero for almost every input - it is
the loss's weighting, not a bias or init, that kills them); the activations x100 (unscaled_inputs); W_enc from N(0, 1)
(init_large, seeds 1 and 2); ``encoder_optim.zero_grad()`` left out (seeds 1 and 2); the decoder-norm step left out
(cause "healthy": no cause names it); and two changes expected harmless (cause "healthy"): batch_size 2048 and
dict_mult 16.  Labels come from run.py's outcome rules only.
Recorded (cases-public110; 20-37 s a run on the shared 2-core machine, 11 s for dict_mult 16): healthy nmse 0.2435,
0.2492, 0.2498 on seeds 1-3 (untrained 1.92-1.99; training loss 9.8-10.2 over the first 5 steps -> 1.03 over the last
20; L0 79-81 of 1024 latents, 0-2 dead; every loss finite); lr x10: 0.2150 (34% of the latents dead, L0 51): healthy;
lr x100: 0.2556 (seed 1), 0.2585 (seed 2), with 67% of the latents dead and L0 15-16: healthy (the reconstruction is
as good); lr x1000: training loss up to 122, 68% dead, L0 4.9, 0.7633: broken; lr /1000: 1.891 (training loss 9.9 ->
10.0): broken; l1_coeff x100: first-5 loss 676-688 -> 2.0, L0 0.7, 9-10% never active, 1.106 (seed 1) and 1.115
(seed 2): broken; activations x100: 0.01451 (better than the control: the L1's weight is 100x smaller relative to the
squared error, L0 498), but the training loss is 3.1e4 -> 754, above 2x the control's largest: ambiguous; W_enc
N(0, 1): untrained nmse 489 and 514, first-5 loss 941 and 1014, 51.72 (seed 1) and 52.67 (seed 2): broken;
zero_grad left out: 0.4242 (seed 1), 0.4324 (seed 2) (L0 41; worse, not twice the control): ambiguous; no decoder-norm
step: 0.2071: healthy; batch_size 2048: 0.5501 (L0 45: the L1 summed over the batch doubles its weight per point,
so the sparser code reconstructs worse): ambiguous; dict_mult 16: 0.2946: healthy.  Labels: 8 healthy (3 programs,
lr x10, lr x100 twice, no decoder norm, dict_mult 16), 6 broken, 4 ambiguous; no non-finite loss.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import gradmedic

ARCH = "autoencoder"
MONITOR_AT = ("watch(encoder, encoder_optim, every=10) right after the Adam is built; monitor.step(loss) right after "
              "loss.backward() (l2 reconstruction summed over the 64 dims and averaged over the batch, plus l1_coeff "
              "times the L1 of the latents summed over the batch), before "
              "encoder.make_decoder_weights_and_grad_unit_norm() (which removes the W_dec gradient's component along "
              "each decoder row and renormalises the rows) and encoder_optim.step(); encoder_optim.zero_grad() comes "
              "after the step, upstream's order")

# upstream: default_cfg in utils.py; batch_size 4096, num_tokens 2e9, act_size 512 (gelu-2l mlp_out), device cuda:0
default_cfg = {
    "seed": 49,
    "batch_size": 1024,  # upstream: 4096 (a CPU thread; the L1 is summed over the batch, see the docstring)
    "lr": 1e-4,
    "l1_coeff": 3e-4,
    "beta1": 0.9,
    "beta2": 0.99,
    "dict_mult": 32,
    "enc_dtype": "fp32",
    "act_size": 32,  # upstream: 512 (site_to_size["mlp_out"]); here the toy data's d_mlp
    "device": "cpu",  # upstream: "cuda:0"
}
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
STEPS = 1000  # upstream: num_tokens // batch_size = 488281 batches
N_FEATURES = 256  # the toy data (upstream: a language model's MLP outputs)
FEATURE_PROB = 0.02
HELDOUT = 4096


class AutoEncoder(nn.Module):
    def __init__(self, cfg, init_std=None):
        super().__init__()
        d_hidden = cfg["dict_size"]
        l1_coeff = cfg["l1_coeff"]
        dtype = DTYPES[cfg["enc_dtype"]]
        torch.manual_seed(cfg["seed"])
        self.W_enc = nn.Parameter(torch.nn.init.kaiming_uniform_(torch.empty(cfg["act_size"], d_hidden, dtype=dtype)))
        if init_std is not None:  # the init_large variant: N(0, init_std) encoder weights instead of kaiming_uniform_
            self.W_enc.data.normal_(0.0, init_std)
        self.W_dec = nn.Parameter(torch.nn.init.kaiming_uniform_(torch.empty(d_hidden, cfg["act_size"], dtype=dtype)))
        self.b_enc = nn.Parameter(torch.zeros(d_hidden, dtype=dtype))
        self.b_dec = nn.Parameter(torch.zeros(cfg["act_size"], dtype=dtype))

        self.W_dec.data[:] = self.W_dec / self.W_dec.norm(dim=-1, keepdim=True)

        self.d_hidden = d_hidden
        self.l1_coeff = l1_coeff

        self.to(cfg["device"])

    def forward(self, x):
        x_cent = x - self.b_dec
        acts = F.relu(x_cent @ self.W_enc + self.b_enc)
        x_reconstruct = acts @ self.W_dec + self.b_dec
        l2_loss = (x_reconstruct.float() - x.float()).pow(2).sum(-1).mean(0)
        l1_loss = self.l1_coeff * (acts.float().abs().sum())
        loss = l2_loss + l1_loss
        return loss, x_reconstruct, acts, l2_loss, l1_loss

    @torch.no_grad()
    def make_decoder_weights_and_grad_unit_norm(self):
        W_dec_normed = self.W_dec / self.W_dec.norm(dim=-1, keepdim=True)
        W_dec_grad_proj = (self.W_dec.grad * W_dec_normed).sum(-1, keepdim=True) * W_dec_normed
        self.W_dec.grad -= W_dec_grad_proj
        # Bugfix(?) for ensuring W_dec retains unit norm, this was not there when I trained my original autoencoders.
        self.W_dec.data = W_dec_normed

    # upstream: get_version, save, load, load_from_hf (checkpoints) left out


class ToyBuffer:
    """upstream: Buffer, which runs gelu-2l over c4-code tokens and serves shuffled MLP outputs.  Here the toy model of
    superposition's data instead: N_FEATURES sparse ground-truth features (each on with probability FEATURE_PROB,
    magnitude U(0, 1)) embedded by a fixed random dictionary of unit-norm directions in act_size dims, a fresh batch
    drawn each step from a generator with a fixed seed."""

    def __init__(self, cfg, seed, scale=1.0):
        g = torch.Generator().manual_seed(1000 + seed)
        d = torch.randn(N_FEATURES, cfg["act_size"], generator=g)
        self.dirs = d / d.norm(dim=-1, keepdim=True)
        self.cfg = cfg
        self.scale = scale  # the unscaled_inputs variant: every activation x100
        self.gen = torch.Generator().manual_seed(2000 + seed)

    def sample(self, n, gen):
        on = (torch.rand(n, N_FEATURES, generator=gen) < FEATURE_PROB).float()
        mags = torch.rand(n, N_FEATURES, generator=gen)
        return (on * mags) @ self.dirs * self.scale

    @torch.no_grad()
    def next(self):
        return self.sample(self.cfg["batch_size"], self.gen)


@torch.no_grad()
def evaluate(encoder, x):
    """Held-out numbers: normalized MSE (the reconstruction's squared error over the data's variance about its mean),
    the loss at the training batch size's L1 weight, the fraction of latents never active (upstream's get_freqs == 0),
    and L0 (active latents per point)."""
    xs, x_hats, actss = [], [], []
    for xb in x.split(1024):
        _, x_hat, acts, _, _ = encoder(xb)
        xs.append(xb)
        x_hats.append(x_hat)
        actss.append(acts)
    x, x_hat, acts = torch.cat(xs), torch.cat(x_hats), torch.cat(actss)
    err = (x_hat - x).pow(2).sum(-1).mean()
    var = (x - x.mean(0)).pow(2).sum(-1).mean()
    freqs = (acts > 0).float().mean(0)
    l1_per_batch = encoder.l1_coeff * acts.abs().sum(-1).mean() * encoder.batch_size
    return dict(nmse=float(err / var), mse=float(err), loss=float(err + l1_per_batch),
                dead=float((freqs == 0).float().mean()), l0=float((acts > 0).float().sum(-1).mean()))


def train(seed: int = 1, lr_mult: float = 1.0, l1_mult: float = 1.0, input_scale: float = 1.0,
          init_std: float | None = None, decoder_norm: bool = True, zero_grad: bool = True,
          batch_size: int | None = None, dict_mult: int | None = None, steps: int = STEPS,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    cfg = dict(default_cfg)
    cfg["seed"] = 48 + seed  # upstream: 49 (seed 1 is upstream's)
    cfg["lr"] *= lr_mult
    cfg["l1_coeff"] *= l1_mult
    if batch_size is not None:
        cfg["batch_size"] = batch_size
    if dict_mult is not None:
        cfg["dict_mult"] = dict_mult
    cfg["dict_size"] = cfg["act_size"] * cfg["dict_mult"]  # upstream: post_init_cfg
    np.random.seed(cfg["seed"])

    buffer = ToyBuffer(cfg, seed, scale=input_scale)
    x_held = buffer.sample(HELDOUT, torch.Generator().manual_seed(3000 + seed))
    encoder = AutoEncoder(cfg, init_std=init_std)
    encoder.batch_size = cfg["batch_size"]  # for evaluate's loss only
    before = evaluate(encoder, x_held)

    num_batches = steps  # upstream: cfg["num_tokens"] // cfg["batch_size"]
    encoder_optim = torch.optim.Adam(encoder.parameters(), lr=cfg["lr"], betas=(cfg["beta1"], cfg["beta2"]))
    monitor = gradmedic.watch(encoder, encoder_optim, every=every)  # gradmedic
    losses, l2s, l1s = [], [], []
    for i in range(num_batches):
        acts = buffer.next()
        loss, x_reconstruct, mid_acts, l2_loss, l1_loss = encoder(acts)
        loss.backward()
        monitor.step(loss)  # gradmedic
        if decoder_norm:  # the no_decoder_norm variant leaves this out
            encoder.make_decoder_weights_and_grad_unit_norm()
        encoder_optim.step()
        if zero_grad:  # the no_zero_grad variant leaves this out
            encoder_optim.zero_grad()
        loss_dict = {"loss": loss.item(), "l2_loss": l2_loss.item(), "l1_loss": l1_loss.item()}
        losses.append(loss_dict["loss"])
        l2s.append(loss_dict["l2_loss"])
        l1s.append(loss_dict["l1_loss"])
        del loss, x_reconstruct, mid_acts, l2_loss, l1_loss, acts
        if verbose and (i) % 100 == 0:  # upstream: wandb.log and print every 100 batches
            print(i, loss_dict, flush=True)
        # upstream: every 1000 batches get_recons_loss (the LM's loss with the reconstruction spliced in) and
        # get_freqs; every 30000 batches save and re_init of the rare latents (never reached in these runs)
    monitor.close()
    after = evaluate(encoder, x_held)
    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "nmse", "value": after["nmse"], "initial": before["nmse"],
            "initial_what": "untrained: normalized MSE of the initial autoencoder on the held-out batch",
            "chance": 1.0,
            "extra": dict(lr=cfg["lr"], l1_coeff=cfg["l1_coeff"], batch_size=cfg["batch_size"],
                          dict_size=cfg["dict_size"], steps=num_batches, train_loss=float(np.mean(la[-20:])),
                          first_loss=float(np.mean(la[:5])),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), train_l2=float(np.mean(l2s[-20:])),
                          train_l1=float(np.mean(l1s[-20:])), heldout_mse=after["mse"], heldout_loss=after["loss"],
                          dead_frac=after["dead"], l0=after["l0"], initial_mse=before["mse"],
                          initial_loss=before["loss"], initial_dead_frac=before["dead"], initial_l0=before["l0"],
                          lr_mult=lr_mult, l1_mult=l1_mult, input_scale=input_scale,
                          init_std=-1.0 if init_std is None else init_std, decoder_norm=decoder_norm,
                          zero_grad=zero_grad, n_features=N_FEATURES, feature_prob=FEATURE_PROB),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="nnsae", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"1L-Sparse-Autoencoder on toy superposition data (act_size {default_cfg['act_size']}, dict_mult "
      f"{default_cfg['dict_mult']}, ReLU latents, unit-norm decoder rows; l2 + l1_coeff {default_cfg['l1_coeff']:g} x "
      f"L1; Adam lr {default_cfg['lr']:g}, betas (0.9, 0.99), batch {default_cfg['batch_size']}, {STEPS} steps)")
CASES: list[dict] = (
    [_case(f"nnsae_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"nnsae_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({1e-4 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("nnsae_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 (1e-07)")]
    + [_case(f"nnsae_l1_x100_s{s}", "dead_relu", s, {"l1_mult": 100.0},
             f"{_P}: l1_coeff x100 (0.03): the sparsity penalty drives the ReLU latents below zero for every input")
       for s in (1, 2)]
    + [_case("nnsae_inputs_x100_s1", "unscaled_inputs", 1, {"input_scale": 100.0},
             f"{_P}: the activations multiplied by 100 (no normalisation of the data's scale)")]
    + [_case(f"nnsae_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: W_enc drawn from N(0, 1) instead of kaiming_uniform_") for s in (1, 2)]
    + [_case(f"nnsae_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: encoder_optim.zero_grad() left out (the gradients accumulate)") for s in (1, 2)]
    + [_case("nnsae_no_decoder_norm_s1", "healthy", 1, {"decoder_norm": False},
             f"{_P}: encoder.make_decoder_weights_and_grad_unit_norm() left out (decoder rows free to grow; no cause "
             "names it)")]
    + [_case("nnsae_batch2048_s1", "healthy", 1, {"batch_size": 2048},
             f"{_P}: batch_size 2048 instead of 1024 (expected harmless)")]
    + [_case("nnsae_dict_mult16_s1", "healthy", 1, {"dict_mult": 16},
             f"{_P}: dict_mult 16 instead of 32 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
