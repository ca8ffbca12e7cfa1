"""Keller Jordan's Muon optimizer (``SingleDeviceMuonWithAuxAdam``: Muon for the hidden weight matrices, AdamW for
the rest) training a small character-level nanoGPT, watched by gradmedic.

Adapted from https://github.com/KellerJordan/Muon (commit 857d1adc159e098212f828d927460782d3da59e9, ``muon.py`` and
the README's "Usage"; MIT License, Copyright (c) 2024 Keller Jordan, see LICENSE-muongpt).  Kept as in the original:
``zeropower_via_newtonschulz5`` (the quintic Newton-Schulz iteration, coefficients (3.4445, -4.7750, 2.0315), the
transpose of tall matrices, the division by the Frobenius norm + 1e-7, 5 steps), ``muon_update`` (momentum
``lerp_``, Nesterov ``grad.lerp_(momentum, beta)``, the orthogonalization, the ``max(1, rows/cols)**0.5`` scale),
``adam_update`` and ``SingleDeviceMuonWithAuxAdam`` (the non-distributed variant of ``MuonWithAuxAdam``: its
defaults, asserts, decoupled weight decay ``p.mul_(1 - lr * wd)`` and steps for the Muon and the Adam groups), and
the README's documented usage: one Muon group for the hidden weights (every parameter of the blocks with ndim >= 2:
``c_attn``, ``c_fc`` and both ``c_proj`` weights) at lr 0.02, weight_decay 0.01 (momentum 0.95 by default), one
Adam group for the hidden gains and biases plus the non-hidden parameters (the tied ``wte``/``lm_head`` weight,
``wpe``, ``ln_f``) with betas (0.9, 0.95), weight_decay 0.01.  The model is nanoGPT's ``GPT`` imported from
nanogpt_model.py unchanged (``_init_weights``: normal std 0.02, c_proj std 0.02/sqrt(2 n_layer), zero biases, the
weight tying) as ``GPTConfig(block_size=64, vocab_size=<characters>, n_layer=3, n_head=4, n_embd=64, dropout=0.0,
bias=True)``; its ``F.cross_entropy`` loss.  The loop is the plain one the README implies (a single optimizer
replacing AdamW): ``optimizer.zero_grad()``, forward, ``loss.backward()``, ``optimizer.step()``, constant rates,
no clipping (the README uses neither a schedule nor clipping).

Changed: upstream's Newton-Schulz runs in bfloat16 on the GPU (``X = G.bfloat16()``); here ``X = G.float()``
(float32 on the CPU, where bfloat16 matmuls are slow), otherwise the math is unchanged.
``SingleDeviceMuonWithAuxAdam`` takes one extra argument ``ns_steps=5`` passed to ``muon_update`` (upstream's
``muon_update`` has the argument, its optimizer classes always use the default 5), only so the ``ns_steps=0``
case can be expressed.  The Adam group's rate is 3e-3 (the README's 3e-4 is for a large model's long run; 3e-3 is
a usual rate for a tiny char-level GPT and close to what modded-nanogpt's speedruns use for the embeddings and head
in Adam terms) so the 500-step run trains well.  Data: shipped_text.py's ``stdlib_docstrings()`` encoded by
its character vocabulary, the first 90% for training and the rest held out; nanoGPT's random-window ``get_batch``
(batch 16 x 64 drawn by a ``torch.Generator`` seeded with the run's seed), 500 steps; the model seed is the run's
seed.  The held-out loss is the mean over 20 fixed batches of 16x64 from the held-out split, at step 0 (the
untrained model, ``initial``) and after the last step (the metric), ``model.eval()`` and ``no_grad``.

The watch: ``monitor = gradmedic.watch(model, optimizer, every=10)`` on the single combined optimizer right after
it is built, ``monitor.step(loss)`` after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the loop.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the same
seed's healthy run: the Muon group's lr x10, x100 (seeds 1 and 2), x1000 and /1000 (Adam's rate unchanged);
Muon on every 2-D parameter including the tied embedding/head and ``wpe`` (the documented misuse; the 1-D gains
and biases stay in the Adam group because ``zeropower_via_newtonschulz5`` asserts ndim >= 2); Muon's momentum 0;
Newton-Schulz steps 0 (the update is the Nesterov momentum divided by its Frobenius norm, at Muon's rate); the Adam
group's rate x100 (0.3) with Muon's left alone; ``normal_(std=1.0)`` on every Linear and Embedding weight after the
model's init.  No input scaling (token ids) and no clipping in the program, so no such cases.  Labels come from
run.py's outcome rules only.  CAUSES has no optimizer-misuse key, so the three Muon-specific changes carry the
nearest one: Muon on everything and momentum 0 ``lr_high`` (full-size orthogonalized steps where they do not belong,
or driven by one noisy batch), Newton-Schulz steps 0 ``lr_low`` (a Frobenius-normalized update is ~sqrt(rank)
times smaller in spectral norm than the orthogonalized one).
Recorded (cases-public26, 635 s for the 13 runs, 26-67 s each on shared cores; a first pass at 300 steps gave the
same labels): healthy held-out loss 2.123, 2.106 and 2.124 from ~4.54-4.55 on seeds 1-3 (0.47x); Muon on every
2-D parameter (2.095) and momentum 0 (2.308, within 1.1x) are labelled healthy; every other change ends worse but
ambiguous by the rules: Muon lr x10 3.023, x100 3.298 and 3.306, x1000 3.325, /1000 2.820, Newton-Schulz steps 0
2.600, Adam lr x100 2.665, N(0, 1) init 3.060 (from 17.5).  Muon's normalized update never diverges (every high-rate
run stays finite), and the AdamW-trained embeddings, head and gains still learn a bigram-level model (~3.0-3.3), so
even the x100/x1000 runs keep just over half the program's progress (x100 s1: 1.26 of 2.43).
"""

from __future__ import annotations

import contextlib
import io
import math
import time

import numpy as np
import torch
from nanogpt_model import GPT, GPTConfig
from torch import nn

import gradmedic

ARCH = "gpt"
MONITOR_AT = ("watch(model, optimizer) with the single SingleDeviceMuonWithAuxAdam (Muon and Adam groups in one "
              "optimizer); monitor.step(loss) after loss.backward(), before optimizer.step()")


# ---- muon.py (upstream), single-device parts --------------------------------------------------------------------

def zeropower_via_newtonschulz5(G, steps: int):
    """
    Newton-Schulz iteration to compute the zeroth power / orthogonalization of G. We opt to use a
    quintic iteration whose coefficients are selected to maximize the slope at zero. For the purpose
    of minimizing steps, it turns out to be empirically effective to keep increasing the slope at
    zero even beyond the point where the iteration no longer converges all the way to one everywhere
    on the interval. This iteration therefore does not produce UV^T but rather something like US'V^T
    where S' is diagonal with S_{ii}' ~ Uniform(0.5, 1.5), which turns out not to hurt model
    performance at all relative to UV^T, where USV^T = G is the SVD.
    """
    # batched Muon implementation by @scottjmaddox, and put into practice in the record by @YouJiacheng
    assert G.ndim >= 2
    a, b, c = (3.4445, -4.7750, 2.0315)
    X = G.float()  # upstream: G.bfloat16() (on the GPU); float32 on the CPU here
    if G.size(-2) > G.size(-1):
        X = X.mT

    # Ensure spectral norm is at most 1
    X = X / (X.norm(dim=(-2, -1), keepdim=True) + 1e-7)
    # Perform the NS iterations
    for _ in range(steps):
        A = X @ X.mT
        # quintic computation strategy adapted from suggestion by @jxbz, @leloykun, and @YouJiacheng
        B = b * A + c * A @ A
        X = a * X + B @ X

    if G.size(-2) > G.size(-1):
        X = X.mT
    return X


def muon_update(grad, momentum, beta=0.95, ns_steps=5, nesterov=True):
    momentum.lerp_(grad, 1 - beta)
    update = grad.lerp_(momentum, beta) if nesterov else momentum
    if update.ndim == 4:  # for the case of conv filters
        update = update.view(len(update), -1)
    update = zeropower_via_newtonschulz5(update, steps=ns_steps)
    update *= max(1, grad.size(-2) / grad.size(-1))**0.5
    return update


def adam_update(grad, buf1, buf2, step, betas, eps):
    buf1.lerp_(grad, 1 - betas[0])
    buf2.lerp_(grad.square(), 1 - betas[1])
    buf1c = buf1 / (1 - betas[0]**step)
    buf2c = buf2 / (1 - betas[1]**step)
    return buf1c / (buf2c.sqrt() + eps)


class SingleDeviceMuonWithAuxAdam(torch.optim.Optimizer):
    """
    Non-distributed variant of MuonWithAuxAdam.
    """
    def __init__(self, param_groups, ns_steps=5):  # ns_steps: added here (upstream always uses 5)
        self.ns_steps = ns_steps
        for group in param_groups:
            assert "use_muon" in group
            if group["use_muon"]:
                # defaults
                group["lr"] = group.get("lr", 0.02)
                group["momentum"] = group.get("momentum", 0.95)
                group["weight_decay"] = group.get("weight_decay", 0)
                assert set(group.keys()) == set(["params", "lr", "momentum", "weight_decay", "use_muon"])
            else:
                # defaults
                group["lr"] = group.get("lr", 3e-4)
                group["betas"] = group.get("betas", (0.9, 0.95))
                group["eps"] = group.get("eps", 1e-10)
                group["weight_decay"] = group.get("weight_decay", 0)
                assert set(group.keys()) == set(["params", "lr", "betas", "eps", "weight_decay", "use_muon"])
        super().__init__(param_groups, dict())

    @torch.no_grad()
    def step(self, closure=None):

        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()

        for group in self.param_groups:
            if group["use_muon"]:
                for p in group["params"]:
                    if p.grad is None:
                        # continue
                        p.grad = torch.zeros_like(p)  # Force synchronization
                    state = self.state[p]
                    if len(state) == 0:
                        state["momentum_buffer"] = torch.zeros_like(p)
                    update = muon_update(p.grad, state["momentum_buffer"], beta=group["momentum"],
                                         ns_steps=self.ns_steps)
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                    p.add_(update.reshape(p.shape), alpha=-group["lr"])
            else:
                for p in group["params"]:
                    if p.grad is None:
                        # continue
                        p.grad = torch.zeros_like(p)  # Force synchronization
                    state = self.state[p]
                    if len(state) == 0:
                        state["exp_avg"] = torch.zeros_like(p)
                        state["exp_avg_sq"] = torch.zeros_like(p)
                        state["step"] = 0
                    state["step"] += 1
                    update = adam_update(p.grad, state["exp_avg"], state["exp_avg_sq"],
                                         state["step"], group["betas"], group["eps"])
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                    p.add_(update, alpha=-group["lr"])

        return loss


# ---- the training program ------------------------------------------------------------------------------------------

def load_splits():
    from shipped_text import stdlib_docstrings
    text = stdlib_docstrings()
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(0.9 * len(data))
    return data[:n], data[n:], len(chars)


def get_batch(data, batch_size, block_size, g):  # nanoGPT's random-window get_batch
    ix = torch.randint(len(data) - block_size, (batch_size,), generator=g)
    x = torch.stack([data[i:i + block_size] for i in ix])
    y = torch.stack([data[i + 1:i + 1 + block_size] for i in ix])
    return x, y


@torch.no_grad()
def held_out_loss(model, val_batches):
    model.eval()
    out = float(np.mean([model(x, y)[1].item() for x, y in val_batches]))
    model.train()
    return out


def train(seed: int = 1, muon_lr_mult: float = 1.0, adam_lr_mult: float = 1.0, muon_everything: bool = False,
          momentum: float = 0.95, ns_steps: int = 5, init_std: float | None = None, steps: int = 500,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    train_data, val_data, vocab_size = load_splits()
    batch_size, block_size = 16, 64
    gv = torch.Generator()
    gv.manual_seed(0)  # the same held-out batches for every run
    val_batches = [get_batch(val_data, batch_size, block_size, gv) for _ in range(20)]
    g = torch.Generator()
    g.manual_seed(seed)

    with contextlib.redirect_stdout(io.StringIO()):  # GPT() prints its parameter count
        model = GPT(GPTConfig(block_size=block_size, vocab_size=vocab_size, n_layer=3, n_head=4, n_embd=64,
                              dropout=0.0, bias=True))
    if init_std is not None:  # the bug: normal_(0, init_std) on every Linear and Embedding weight
        for mod in model.modules():
            if isinstance(mod, (nn.Linear, nn.Embedding)):
                nn.init.normal_(mod.weight, mean=0.0, std=init_std)

    # the README's usage: Muon for the hidden weights, AdamW for the hidden gains/biases and the non-hidden params
    body = model.transformer.h
    if muon_everything:  # the misuse: Muon on every 2-D parameter, embeddings and head included
        hidden_weights = [p for p in model.parameters() if p.ndim >= 2]
        hidden_gains_biases = [p for p in model.parameters() if p.ndim < 2]
        nonhidden_params = []
    else:
        hidden_weights = [p for p in body.parameters() if p.ndim >= 2]
        hidden_gains_biases = [p for p in body.parameters() if p.ndim < 2]
        nonhidden_params = [*model.lm_head.parameters(), *model.transformer.wpe.parameters(),
                            *model.transformer.ln_f.parameters()]  # lm_head.weight is the tied wte.weight
    assert len(hidden_weights) + len(hidden_gains_biases) + len(nonhidden_params) == len(list(model.parameters()))
    muon_lr, adam_lr = 0.02 * muon_lr_mult, 3e-3 * adam_lr_mult
    param_groups = [
        dict(params=hidden_weights, use_muon=True,
             lr=muon_lr, momentum=momentum, weight_decay=0.01),
        dict(params=hidden_gains_biases + nonhidden_params, use_muon=False,
             lr=adam_lr, betas=(0.9, 0.95), weight_decay=0.01),
    ]
    optimizer = SingleDeviceMuonWithAuxAdam(param_groups, ns_steps=ns_steps)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    initial = held_out_loss(model, val_batches)
    losses = []
    t0 = time.time()
    for it in range(steps):
        x, y = get_batch(train_data, batch_size, block_size, g)
        optimizer.zero_grad()
        logits, loss = model(x, y)
        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()
        losses.append(loss.item())
        if verbose and (it % 50 == 0 or it == steps - 1):
            print(f"step {it}: loss {loss.item():.4f} ({time.time() - t0:.1f}s)", flush=True)
    value = held_out_loss(model, val_batches)
    monitor.close()
    if verbose:
        print(f"held-out loss {initial:.4f} -> {value:.4f}")
    return {"monitors": {"": monitor}, "metric": "val_loss", "value": value if math.isfinite(value) else float("nan"),
            "initial": initial, "chance": math.log(vocab_size),
            "initial_what": "the held-out loss of the untrained model (step 0), 20 fixed batches of 16x64",
            "extra": {"train_loss": float(np.mean(losses[-20:])), "train_loss_first5": float(np.mean(losses[:5])),
                      "steps": len(losses), "muon_lr": muon_lr, "adam_lr": adam_lr, "momentum": momentum,
                      "ns_steps": ns_steps, "muon_everything": muon_everything, "init_std": init_std,
                      "vocab_size": vocab_size, "n_params": sum(p.numel() for p in model.parameters())},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="muongpt", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"muongpt_healthy_s{s}", "healthy", s, {}, "unchanged (nanoGPT GPT 3x64, 4 heads, block 64; "
           "SingleDeviceMuonWithAuxAdam: Muon lr 0.02 momentum 0.95 wd 0.01 on the blocks' 2-D weights, Adam lr 3e-3 "
           "betas (0.9, 0.95) wd 0.01 on the rest; batch 16, 500 steps)", False) for s in (1, 2, 3)]
    + [_case(f"muongpt_lr_x{k}_s{s}", "lr_high", s, {"muon_lr_mult": k},
             f"the Muon group's lr x{k} ({0.02 * k:g}), Adam's 3e-3 unchanged")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("muongpt_lr_div1000_s1", "lr_low", 1, {"muon_lr_mult": 1e-3},
             "the Muon group's lr /1000 (2e-05), Adam's 3e-3 unchanged")]
    + [_case("muongpt_muon_everything_s1", "lr_high", 1, {"muon_everything": True},
             "Muon on every 2-D parameter, the tied wte/lm_head weight and wpe included (the README says AdamW for "
             "embeddings and heads); the 1-D gains and biases stay in the Adam group")]
    + [_case("muongpt_momentum0_s1", "lr_high", 1, {"momentum": 0.0},
             "the Muon group's momentum 0 instead of 0.95")]
    + [_case("muongpt_ns_steps0_s1", "lr_low", 1, {"ns_steps": 0},
             "Newton-Schulz steps 0 instead of 5: the Muon update is the Nesterov momentum divided by its Frobenius "
             "norm (no orthogonalization), at Muon's lr 0.02")]
    + [_case("muongpt_adam_lr_x100_s1", "lr_high", 1, {"adam_lr_mult": 100},
             "the Adam group's lr x100 (0.3), Muon's 0.02 unchanged")]
    + [_case("muongpt_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             "normal_(std=1.0) on every Linear and Embedding weight after the model's init (the tied wte/lm_head "
             "weight and c_proj's too; biases stay zero)")]
)


if __name__ == "__main__":
    r = train(verbose=True)
    print({k: v for k, v in r.items() if k != "monitors"})
