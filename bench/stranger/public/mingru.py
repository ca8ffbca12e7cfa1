"""lucidrains/minGRU-pytorch: the minGRU byte-level language model (minLM) and its train.py, watched by gradmedic.

Adapted from https://github.com/lucidrains/minGRU-pytorch (commit 38b26e119a2e85e70ea53825dc09b91b021afa06; MIT
License, Copyright (c) 2024 Phil Wang, see LICENSE-mingru): minGRU_pytorch/minGRU.py (the log-space minGRU of
arXiv:2410.01201 appendix B.3: ``to_hidden_and_gate`` Linear without bias, ``log_coeffs = -softplus(gate)``,
``log_z = -softplus(-gate)``, ``log_g(hidden)``, ``heinsen_associative_scan_log`` (cumsum + logcumsumexp), ``to_out``
when the expansion is not 1; the sequential ``g``/sigmoid path for one token) and minGRU_pytorch/minLM.py (``minLM``:
token Embedding, per layer an optional causal depthwise conv (off, as in train.py), ``RMSNorm`` -> minGRU (expansion
1.5) with a residual, ``RMSNorm`` -> FeedForward (Linear, GELU, Linear; mult 4) with a residual, optional dropout
(0), a final ``RMSNorm``, ``to_logits`` without bias, ``F.cross_entropy`` on the next bytes) are copied as upstream
has them (PyTorch's default inits; only the unused minLSTM import is left out), and train.py's loop: ``minLM(
num_tokens=256, dim, depth, use_lstm=False)``, ``Adam(model.parameters(), lr=LEARNING_RATE)`` with LEARNING_RATE
1e-4, batches of BATCH_SIZE 4 random windows of SEQ_LEN + 1 bytes (``TextSamplerDataset`` through a
``DataLoader``), GRAD_ACCUM_EVERY 4 micro-batches each with ``(loss / GRAD_ACCUM_EVERY).backward()``, then
``clip_grad_norm_(model.parameters(), 0.5)``, ``optim.step()``, ``optim.zero_grad()``, and one validation batch every
VALIDATE_EVERY 100 steps (kept, in ``extra["periodic_val"]``).

Changed to run offline on one CPU thread in ~15-30 s: the data is the standard library's docstrings (shipped_text.py's
``stdlib_docstrings()``, ASCII, ~880 kB as bytes 0..255, split 90/10 by position as upstream splits enwik8 at 90e6 of
95e6 bytes) instead of enwik8.gz; dim 64 (upstream 512), depth 2 (6), SEQ_LEN 64 (512), NUM_BATCHES 250 (1e5); the
windows are drawn by a ``torch.Generator`` seeded with 1000 + seed (upstream: the global RNG, unseeded) so every
variant of a seed sees the same batches, and ``torch.manual_seed(seed)`` before the model; no ``.cuda()``, no tqdm,
no sampling/``base_decoding`` every 500 steps, prints only with ``verbose``.  The learning rate is upstream's 1e-4,
although this 64-wide model would train faster with more (see lr x10 to x1000 below).  The metric (not upstream's):
after training, the validation loss (nats per byte) on 16 fixed batches of 4 held-out windows drawn with seed 0 (the
same for every run); ``extra["val_bits_per_byte"]`` is it over ln 2; chance is ln 256 = 5.545.  ``initial``: the mean
training loss of the first 5 micro-batches.  Knobs (one per variant): ``lr_mult`` scales LEARNING_RATE; ``clip=None``
leaves ``clip_grad_norm_`` out; ``init_std`` draws every Linear weight from N(0, init_std) after construction;
``zero_grad=False`` leaves ``optim.zero_grad()`` out (never zeroed: the accumulation upstream does on purpose over 4
micro-batches then runs on over every step); ``grad_accum_every`` replaces GRAD_ACCUM_EVERY; ``depth`` replaces 2.

The watch, as a user would: ``monitor = gradmedic.watch(model, optim, every=10)`` right after the Adam is built,
``monitor.step(loss / GRAD_ACCUM_EVERY)`` right after each micro-batch's ``(loss / GRAD_ACCUM_EVERY).backward()``
(before the clipping and ``optim.step()``, as buildnanogpt.py and llama2c.py do with their accumulation);
``monitor.close()`` after the loop.

``CASES`` (program "mingru"): the program on seeds 1-3, and one change each against the same seed's healthy run: Adam
lr x10, x100 (seeds 1 and 2), x1000 and /1000; lr x10000 (added after x10, x100 and x1000 all came out healthy);
``clip_grad_norm_`` left out together with lr x10 (seeds 1 and 2) and with lr x1000 (added after those came out
healthy); N(0, 1) on every Linear weight (seeds 1 and 2); ``optim.zero_grad()`` left out (seeds 1 and 2); and two
changes expected harmless: GRAD_ACCUM_EVERY 2 and depth 3 (cause "healthy").  Labels come from run.py's outcome rules
only.
Recorded (cases-public171; 12-38 s a run on the shared 2-core machine (load ~5), 34-50 s for the healthy runs, 28 s
for one healthy run alone; 517 s in all): healthy validation loss 3.347, 3.383, 3.366 on seeds 1-3 (4.83-4.88 bits
per byte; from 5.77, 5.79, 5.66 over the first 5 micro-batches; training loss at the end 3.32-3.41, still falling;
largest loss 5.83; every loss finite): healthy.  lr x10 (1e-3): 2.438; x100 (1e-2): 2.163 (seed 1), 2.142 (seed 2);
x1000 (0.1): 2.527: all healthy (better than the control: the run at 1e-4 is far from converged, and with Adam,
the RMSNorms and clip 0.5 the model takes rates up to 0.1); x10000 (1): the loss spikes to 144, ends at 10.8
(training), 14.25 (validation): broken; /1000 (1e-7): 5.775 from 5.77: broken.  No clip with lr x10: 2.475 (seed
1), 2.502 (seed 2); no clip with lr x1000: 2.600 (largest loss 6.22): all healthy (clip 0.5 changes little under
Adam).  N(0, 1) Linear weights: start 23.8 and 19.2, validation 9.577 (seed 1) and 9.854 (seed 2): broken.
``optim.zero_grad()`` left out: 3.308 (seed 1) and 3.347 (seed 2): healthy (Adam's per-parameter normalization
makes the summed gradient act like heavy momentum; at 1e-4 in 250 steps it does no harm).  GRAD_ACCUM_EVERY 2:
3.409; depth 3: 3.281: healthy.  Labels: 14 healthy (3 programs; lr x10, x100 twice, x1000; 3 no-clip; 2 no-zero_grad;
accumulation 2; depth 3), 4 broken (lr x10000, lr /1000, init std 1 twice), 0 ambiguous; every run's losses were
finite.  The changes users report for this program mostly do no harm here: the healthy program is undertrained at
upstream's 1e-4, so larger rates only help until 1 (x10000).
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from shipped_text import stdlib_docstrings
from torch import nn
from torch.nn import Identity, Linear, Module, ModuleList, RMSNorm
from torch.optim import Adam
from torch.utils.data import DataLoader, Dataset

import gradmedic

ARCH = "rnn"
MONITOR_AT = ("watch(model, optim, every=10) right after optim = Adam(model.parameters(), lr=LEARNING_RATE); "
              "monitor.step(loss / GRAD_ACCUM_EVERY) right after each micro-batch's (loss / GRAD_ACCUM_EVERY).backward() "
              "(GRAD_ACCUM_EVERY = 4 micro-batches per optimizer step, the loss already divided: the monitor handles the "
              "accumulation), before clip_grad_norm_(model.parameters(), 0.5), optim.step() and optim.zero_grad()")

# ---------------------------------------------------------------------------------------------------------------
# minGRU_pytorch/minGRU.py (copied as upstream has it)

# https://arxiv.org/abs/2410.01201v1


def exists(v):
    return v is not None


def default(v, d):
    return v if exists(v) else d

# appendix B
# https://github.com/glassroom/heinsen_sequence


def heinsen_associative_scan_log(log_coeffs, log_values):
    a_star = log_coeffs.cumsum(dim = 1)
    log_h0_plus_b_star = (log_values - a_star).logcumsumexp(dim = 1)
    log_h = a_star + log_h0_plus_b_star
    return log_h.exp()

# appendix B.3


def g(x):
    return torch.where(x >= 0, x + 0.5, x.sigmoid())


def log_g(x):
    return torch.where(x >= 0, (F.relu(x) + 0.5).log(), -F.softplus(-x))

# log-space version of minGRU - B.3.1
# they enforce the hidden states to be positive


class minGRU(Module):
    def __init__(self, dim, expansion_factor = 1., proj_out = None):
        super().__init__()

        dim_inner = int(dim * expansion_factor)
        proj_out = default(proj_out, expansion_factor != 1.)

        self.to_hidden_and_gate = Linear(dim, dim_inner * 2, bias = False)
        self.to_out = Linear(dim_inner, dim, bias = False) if proj_out else Identity()

    def forward(self, x, prev_hidden = None, return_next_prev_hidden = False):
        seq_len = x.shape[1]
        hidden, gate = self.to_hidden_and_gate(x).chunk(2, dim = -1)

        if seq_len == 1:
            # handle sequential

            hidden = g(hidden)
            gate = gate.sigmoid()
            out = torch.lerp(prev_hidden, hidden, gate) if exists(prev_hidden) else (hidden * gate)
        else:
            # parallel

            log_coeffs = -F.softplus(gate)

            log_z = -F.softplus(-gate)
            log_tilde_h = log_g(hidden)
            log_values = log_z + log_tilde_h

            if exists(prev_hidden):
                log_values = torch.cat((prev_hidden.log(), log_values), dim = 1)
                log_coeffs = F.pad(log_coeffs, (0, 0, 1, 0))

            out = heinsen_associative_scan_log(log_coeffs, log_values)
            out = out[:, -seq_len:]

        next_prev_hidden = out[:, -1:]

        out = self.to_out(out)

        if not return_next_prev_hidden:
            return out

        return out, next_prev_hidden

# ---------------------------------------------------------------------------------------------------------------
# minGRU_pytorch/minLM.py (copied; upstream: also imports minLSTM for use_lstm=True, not used by train.py's model)


def FeedForward(dim, mult = 4):
    dim_inner = int(dim * mult)
    return nn.Sequential(
        nn.Linear(dim, dim_inner),
        nn.GELU(),
        nn.Linear(dim_inner, dim)
    )

# conv


class CausalDepthWiseConv1d(Module):
    def __init__(self, dim, kernel_size):
        super().__init__()
        self.kernel_size = kernel_size
        self.net = nn.Sequential(
            nn.Conv1d(dim, dim, kernel_size = kernel_size, groups = dim),
            nn.Conv1d(dim, dim, kernel_size = 1)
        )

    def forward(self, x):
        x = x.transpose(1, 2) # b n d -> b d n
        x = F.pad(x, (self.kernel_size - 1, 0), value = 0.)
        x = self.net(x)
        return x.transpose(1, 2) # b d n -> b n d

# main class


class minLM(Module):
    def __init__(
        self,
        *,
        num_tokens,
        dim,
        depth,
        ff_mult = 4,
        expansion = 1.5,
        conv_kernel_size = 3,
        use_lstm = False,
        enable_conv = False,
        dropout = 0.
    ):
        super().__init__()
        self.token_emb = nn.Embedding(num_tokens, dim)

        self.layers = ModuleList([])

        assert not use_lstm  # upstream: min_rnn_klass = minGRU if not use_lstm else minLSTM
        min_rnn_klass = minGRU

        for _ in range(depth):
            self.layers.append(ModuleList([
                CausalDepthWiseConv1d(dim, conv_kernel_size) if enable_conv else None,
                RMSNorm(dim),
                min_rnn_klass(dim, expansion_factor = expansion),
                RMSNorm(dim),
                FeedForward(dim, mult = ff_mult),
                nn.Dropout(dropout) if dropout > 0. else None
            ]))

        self.norm = RMSNorm(dim)
        self.to_logits = nn.Linear(dim, num_tokens, bias = False)

        self.can_cache = not enable_conv

    def forward(
        self,
        x,
        return_loss = False,
        return_prev_hiddens = False,
        prev_hiddens = None
    ):

        if return_loss:
            x, labels = x[:, :-1], x[:, 1:]

        x = self.token_emb(x)

        # handle previous hiddens, for recurrent decoding

        if exists(prev_hiddens):
            x = x[:, -1:]

        next_prev_hiddens = []
        prev_hiddens = iter(default(prev_hiddens, []))

        for conv, norm, mingru, ff_norm, ff, dropout in self.layers:

            # conv

            if exists(conv):
                assert len(list(prev_hiddens)) == 0, 'caching not supported for conv version'
                x = conv(x) + x

            # min gru

            prev_hidden = next(prev_hiddens, None)

            min_gru_out, next_prev_hidden = mingru(
                norm(x),
                prev_hidden,
                return_next_prev_hidden = True
            )

            x = min_gru_out + x
            next_prev_hiddens.append(next_prev_hidden)

            # feedforward

            x = ff(ff_norm(x)) + x

            # dropout

            if exists(dropout):
                x = dropout(x)

        embed = self.norm(x)
        logits = self.to_logits(embed)

        if not return_loss:
            if not return_prev_hiddens:
                return logits

            return logits, next_prev_hiddens

        loss = F.cross_entropy(
            logits.transpose(1, 2),
            labels
        )

        return loss

# ---------------------------------------------------------------------------------------------------------------
# train.py

# constants

NUM_BATCHES = 250  # upstream: int(1e5)
BATCH_SIZE = 4
GRAD_ACCUM_EVERY = 4
LEARNING_RATE = 1e-4
VALIDATE_EVERY = 100
SEQ_LEN = 64  # upstream: 512
DIM = 64  # upstream: dim = 512
DEPTH = 2  # upstream: depth = 6
VAL_BATCHES = 16  # the final evaluation: 16 fixed validation batches of BATCH_SIZE windows (upstream: none)


def cycle(loader):
    while True:
        yield from loader


class TextSamplerDataset(Dataset):
    def __init__(self, data, seq_len, generator=None):
        super().__init__()
        self.data = data
        self.seq_len = seq_len
        self.generator = generator  # upstream: the global RNG

    def __len__(self):
        return self.data.size(0) // self.seq_len

    def __getitem__(self, index):
        rand_start = torch.randint(0, self.data.size(0) - self.seq_len, (1,), generator=self.generator)
        full_seq = self.data[rand_start : rand_start + self.seq_len + 1].long()
        return full_seq  # upstream: full_seq.cuda()


def train(seed: int = 1, lr_mult: float = 1.0, clip: float | None = 0.5, init_std: float | None = None,
          zero_grad: bool = True, grad_accum_every: int = GRAD_ACCUM_EVERY, depth: int = DEPTH,
          num_batches: int | None = None, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    t_start = time.time()
    torch.manual_seed(seed)  # upstream: no seed
    num_batches = num_batches or NUM_BATCHES

    # the min{GRU|LSTM} char language model

    model = minLM(
        num_tokens = 256,
        dim = DIM,
        depth = depth,
        use_lstm = False # set to True for minLSTM
    )  # upstream: .cuda()
    if init_std is not None:  # the bug: N(0, init_std) on every Linear weight instead of PyTorch's default init
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0.0, std=init_std)

    # prepare the data (upstream: the first 95e6 bytes of enwik8, split at 90e6)
    data = np.frombuffer(stdlib_docstrings().encode("ascii"), dtype=np.uint8).copy()
    np_train, np_valid = np.split(data, [int(0.9 * len(data))])
    data_train, data_val = torch.from_numpy(np_train), torch.from_numpy(np_valid)

    gen = torch.Generator().manual_seed(1000 + seed)
    train_dataset = TextSamplerDataset(data_train, SEQ_LEN, generator=gen)
    val_dataset = TextSamplerDataset(data_val, SEQ_LEN, generator=gen)
    train_loader = DataLoader(train_dataset, batch_size = BATCH_SIZE)
    val_loader = DataLoader(val_dataset, batch_size = BATCH_SIZE)

    # optimizer

    optim = Adam(model.parameters(), lr = LEARNING_RATE * lr_mult)  # upstream: lr = LEARNING_RATE
    monitor = gradmedic.watch(model, optim, every=every)  # gradmedic

    train_loader = cycle(train_loader)
    val_loader = cycle(val_loader)

    # training

    losses, vals = [], []
    for i in range(num_batches):  # upstream: tqdm.tqdm(range(NUM_BATCHES), ...)
        model.train()

        for _ in range(grad_accum_every):
            data = next(train_loader)

            loss = model(data, return_loss = True)

            (loss / grad_accum_every).backward()
            monitor.step(loss / grad_accum_every)  # gradmedic
            losses.append(loss.item())

        if verbose and i % 25 == 0:  # upstream: prints every batch
            print(f"{i} training loss: {loss.item():.3f} ({time.time() - t_start:.1f}s)", flush=True)

        if clip is not None:  # the no_clipping variant leaves this out
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)

        optim.step()
        if zero_grad:  # the no_zero_grad variant never zeroes the gradients
            optim.zero_grad()

        if i % VALIDATE_EVERY == 0:
            model.eval()
            with torch.no_grad():
                valid_data = next(val_loader)

                loss = model(valid_data, return_loss = True)
                vals.append(loss.item())
                if verbose:
                    print(f"validation loss: {loss.item():.3f}")

        # upstream: every GENERATE_EVERY (500) batches, samples GENERATE_LENGTH bytes from a primed validation window

    monitor.close()

    # the metric: the validation loss on VAL_BATCHES fixed batches of held-out windows (the same for every run)
    model.eval()
    fixed = TextSamplerDataset(data_val, SEQ_LEN, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        vl = [model(torch.stack([fixed[0] for _ in range(BATCH_SIZE)]), return_loss = True).item()
              for _ in range(VAL_BATCHES)]
    val_loss = float(np.mean(vl))
    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "loss", "value": val_loss,
            "initial": float(np.mean(la[:5])), "initial_what": "untrained: mean training loss of the first 5 micro-batches",
            "chance": math.log(256),
            "extra": {"train_loss": float(np.mean(la[-20:])), "first_loss": float(la[0]),
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "val_bits_per_byte": val_loss / math.log(2),
                      "periodic_val": vals, "steps": num_batches, "micro_batches": len(losses),
                      "lr": LEARNING_RATE * lr_mult, "lr_mult": lr_mult, "clip": -1.0 if clip is None else clip,
                      "init_std": -1.0 if init_std is None else init_std, "zero_grad": zero_grad,
                      "grad_accum_every": grad_accum_every, "depth": depth, "dim": DIM, "seq_len": SEQ_LEN},
            "seconds": time.time() - t_start}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="mingru", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"mingru_healthy_s{s}", "healthy", s, {}, f"unchanged (minLM dim {DIM}, depth {DEPTH}, expansion 1.5, ff_mult 4, "
           f"no conv; Adam lr 1e-4, batch 4 x {GRAD_ACCUM_EVERY} accumulated micro-batches of {SEQ_LEN + 1} bytes, "
           f"clip_grad_norm_ 0.5; {NUM_BATCHES} steps)", False) for s in (1, 2, 3)]
    + [_case(f"mingru_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({1e-4 * k:g}), clip 0.5 kept")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("mingru_lr_x10000_s1", "lr_high", 1, {"lr_mult": 1e4},
             "Adam lr x10000 (1), clip 0.5 kept (added after x10, x100 and x1000 all came out healthy)")]
    + [_case("mingru_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (1e-07)")]
    + [_case(f"mingru_no_clip_lr_x10_s{s}", "no_clipping", s, {"clip": None, "lr_mult": 10},
             "clip_grad_norm_(model.parameters(), 0.5) left out and Adam lr x10 (1e-3)") for s in (1, 2)]
    + [_case("mingru_no_clip_lr_x1000_s1", "no_clipping", 1, {"clip": None, "lr_mult": 1000},
             "clip_grad_norm_ left out and Adam lr x1000 (0.1; added after both no-clip x10 runs came out healthy and "
             "x1000 with the clip did too)")]
    + [_case(f"mingru_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Linear weight (minGRU's to_hidden_and_gate and to_out, the feedforwards, "
             "to_logits) instead of PyTorch's default U(+-1/sqrt(fan_in)) (biases kept; the Embedding is N(0, 1) by "
             "default)") for s in (1, 2)]
    + [_case(f"mingru_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             "optim.zero_grad() left out: the gradients are never zeroed (upstream accumulates 4 micro-batches on purpose "
             "and zeroes after optim.step(); here every step follows the sum of all past gradients)") for s in (1, 2)]
    + [_case("mingru_accum2_s1", "healthy", 1, {"grad_accum_every": 2},
             "GRAD_ACCUM_EVERY 2 instead of 4 (8 sequences per step; expected harmless)")]
    + [_case("mingru_depth3_s1", "healthy", 1, {"depth": 3}, "minLM depth 3 instead of 2 (expected harmless)")]
)


if __name__ == "__main__":
    import sys
    r = train(verbose=True, **({"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}))
    print({k: v for k, v in r.items() if k != "monitors"})
