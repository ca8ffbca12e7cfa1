"""nanoGPT's train.py, reduced to its essentials and watched by gradmedic.

Adapted from https://github.com/karpathy/nanoGPT (commit 3adf61e154c3fe3fca428ad6bc3818b27a3b8291,
train.py with config/train_shakespeare_char.py; MIT license, see nanogpt_model.py).  Kept as in the
original: the model (nanogpt_model.py, unchanged), AdamW from ``configure_optimizers`` (weight decay
0.1 on 2-D tensors, betas (0.9, 0.99) as in the shakespeare_char config), ``get_lr`` (linear warmup,
cosine decay to min_lr = learning_rate / 10), gradient accumulation with the loss divided by the
number of micro-steps, ``scaler.scale(loss).backward()`` / ``scaler.unscale_`` / clip 1.0 /
``scaler.step`` / ``scaler.update`` / ``zero_grad(set_to_none=True)``, ``ctx = nullcontext()`` on
CPU (the original's CPU path: no autocast), the poor man's random-window ``get_batch``.

Changed to run offline on one CPU thread in seconds: char-level data from the docstrings of the
standard library (shipped_text.py) instead of tiny-shakespeare, n_layer=3 n_head=4 n_embd=64
block_size=64 batch_size=32 dropout=0.0, bias=False (train.py's default), 500 iterations with 20
warmup (shakespeare_char: 5000 and 100), no periodic eval/checkpoint/wandb/DDP/compile (one eval of
20 batches at the end), ``torch.amp.GradScaler("cpu")`` for the original's
``torch.cuda.amp.GradScaler`` (disabled unless ``scaler=True``, exactly like dtype != 'float16').

The watch: ``monitor = gradmedic.watch(model, optimizer, every=10)`` and ``monitor.step(loss)``
right after each micro-step's backward (what a user adding two lines would do), so with
accumulation the monitor sees every micro-batch and its loss divided by the micro-step count, and
with an enabled GradScaler it sees gradients still multiplied by the scale.
"""

from __future__ import annotations

import contextlib
import io
import math
import time
from contextlib import nullcontext

import numpy as np
import torch
from nanogpt_model import GPT, GPTConfig
from shipped_text import stdlib_docstrings

import gradmedic

CONFIG = dict(
    gradient_accumulation_steps=1, batch_size=32, block_size=64,
    n_layer=3, n_head=4, n_embd=64, dropout=0.0, bias=False,
    learning_rate=1e-3, max_iters=500, weight_decay=1e-1, beta1=0.9, beta2=0.99, grad_clip=1.0,
    decay_lr=True, warmup_iters=20, lr_decay_iters=500, min_lr=1e-4,
    eval_iters=20,
)


def char_data():
    data = stdlib_docstrings()
    chars = sorted(list(set(data)))
    stoi = {ch: i for i, ch in enumerate(chars)}
    n = len(data)
    train_ids = np.array([stoi[c] for c in data[:int(n * 0.9)]], dtype=np.uint16)
    val_ids = np.array([stoi[c] for c in data[int(n * 0.9):]], dtype=np.uint16)
    return train_ids, val_ids, len(chars)


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, zero_init: bool = False,
          scaler: bool = False, gradient_accumulation_steps: int = 1, batch_size: int | None = None,
          max_iters: int | None = None,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only: denormal floats (e.g. in saturated LSTM gates) are 10x slower
    cfg = dict(CONFIG)
    cfg["gradient_accumulation_steps"] = gradient_accumulation_steps
    if batch_size:
        cfg["batch_size"] = batch_size
    if max_iters:
        cfg["max_iters"] = cfg["lr_decay_iters"] = max_iters
    learning_rate = cfg["learning_rate"] * lr_mult
    min_lr = cfg["min_lr"] * lr_mult  # the config's "min_lr ~= learning_rate/10"
    block_size, batch_size = cfg["block_size"], cfg["batch_size"]
    warmup_iters, lr_decay_iters = cfg["warmup_iters"], cfg["lr_decay_iters"]
    device, device_type = "cpu", "cpu"
    torch.manual_seed(1337 + seed)
    ctx = nullcontext()  # device_type == 'cpu' in the original: no autocast

    train_data, val_data, vocab_size = char_data()

    def get_batch(split):
        data = train_data if split == "train" else val_data
        ix = torch.randint(len(data) - block_size, (batch_size,))
        x = torch.stack([torch.from_numpy((data[i:i + block_size]).astype(np.int64)) for i in ix])
        y = torch.stack([torch.from_numpy((data[i + 1:i + 1 + block_size]).astype(np.int64)) for i in ix])
        return x.to(device), y.to(device)

    model_args = dict(n_layer=cfg["n_layer"], n_head=cfg["n_head"], n_embd=cfg["n_embd"], block_size=block_size,
                      bias=cfg["bias"], vocab_size=vocab_size, dropout=cfg["dropout"])
    with contextlib.redirect_stdout(io.StringIO()):
        model = GPT(GPTConfig(**model_args))
        if init_std is not None:  # the bug: another std where nanoGPT writes 0.02
            for m in model.modules():
                if isinstance(m, (torch.nn.Linear, torch.nn.Embedding)):
                    torch.nn.init.normal_(m.weight, mean=0.0, std=init_std)
            for pn, p in model.named_parameters():
                if pn.endswith("c_proj.weight"):
                    torch.nn.init.normal_(p, mean=0.0, std=init_std / math.sqrt(2 * cfg["n_layer"]))
        if zero_init:  # the bug: zeros_ instead of normal_ in _init_weights (c_proj's scaled init untouched)
            for m in model.modules():
                if isinstance(m, (torch.nn.Linear, torch.nn.Embedding)):
                    torch.nn.init.zeros_(m.weight)
            for pn, p in model.named_parameters():
                if pn.endswith("c_proj.weight"):
                    torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg["n_layer"]))
        model.to(device)
        gscaler = torch.amp.GradScaler("cpu", enabled=scaler)
        optimizer = model.configure_optimizers(cfg["weight_decay"], learning_rate, (cfg["beta1"], cfg["beta2"]), device_type)

    def get_lr(it):
        if it < warmup_iters:
            return learning_rate * (it + 1) / (warmup_iters + 1)
        if it > lr_decay_iters:
            return min_lr
        decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
        assert 0 <= decay_ratio <= 1
        coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
        return min_lr + coeff * (learning_rate - min_lr)

    @torch.no_grad()
    def estimate_loss():
        out = {}
        model.eval()
        for split in ["train", "val"]:
            losses = torch.zeros(cfg["eval_iters"])
            for k in range(cfg["eval_iters"]):
                X, Y = get_batch(split)
                with ctx:
                    logits, loss = model(X, Y)
                losses[k] = loss.item()
            out[split] = losses.mean().item()
        model.train()
        return out

    monitor = gradmedic.watch(model, optimizer, every=every)
    t0 = time.time()
    X, Y = get_batch("train")
    iter_losses = []
    iter_num = 0
    while True:
        lr = get_lr(iter_num) if cfg["decay_lr"] else learning_rate
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr
        lossf = 0.0
        for micro_step in range(gradient_accumulation_steps):
            with ctx:
                logits, loss = model(X, Y)
                loss = loss / gradient_accumulation_steps
            X, Y = get_batch("train")
            gscaler.scale(loss).backward()
            monitor.step(loss)  # gradmedic
            lossf += loss.item()
        if cfg["grad_clip"] != 0.0:
            gscaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["grad_clip"])
        gscaler.step(optimizer)
        gscaler.update()
        optimizer.zero_grad(set_to_none=True)
        iter_losses.append(lossf)
        if verbose and iter_num % 50 == 0:
            print(f"iter {iter_num}: loss {lossf:.4f}, lr {lr:.2e}, {time.time() - t0:.1f}s")
        iter_num += 1
        if iter_num >= cfg["max_iters"]:
            break
    monitor.close()
    final = float(np.mean(iter_losses[-20:]))
    ev = estimate_loss()
    return {"monitors": {"": monitor}, "metric": "train_loss", "value": final,
            "initial": float(np.mean(iter_losses[:5])), "chance": math.log(vocab_size),
            "extra": {"val_loss": ev["val"], "iters": iter_num, "vocab_size": vocab_size,
                      "final_scale": gscaler.get_scale() if scaler else None},
            "seconds": time.time() - t0}


if __name__ == "__main__":
    import sys
    r = train(verbose=True, **({"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}))
    print({k: v for k, v in r.items() if k != "monitors"})
