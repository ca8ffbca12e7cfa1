"""makemore's BoW model (a causal bag-of-words character model of names), watched by gradmedic.

Adapted from https://github.com/karpathy/makemore (commit 988aa59e4d8fefa526d06f3b453ad116258398d4, makemore.py run
as ``--type bow``; MIT license, see LICENSE-mmbow).  The model and data code are not copied again: ``CausalBoW``,
``BoWBlock``, ``BoW``, ``ModelConfig``, ``CharDataset``, ``create_datasets``, ``InfiniteDataLoader``, ``evaluate`` and
upstream's argument parser are imported from makemore.py (the port of the same file and commit for its other model
types; its data/names.txt is the repository's names.txt, 32033 names - the full file, not zthmlp_names.txt's 8000).
Only makemore's training loop is written out here, to carry this program's variant knobs.  Kept as in the original:
the BoW (n_embd 64, n_embd2 64: ``wte`` and ``wpe`` embeddings, the uniform causal average, the tanh MLP with its
residual, ``lm_head``; PyTorch's default inits), the 1000-word test split by ``torch.randperm``, batch 32,
``torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.01, betas=(0.9, 0.99), eps=1e-8)``, a constant rate,
``model.zero_grad(set_to_none=True)`` / ``loss.backward()`` / ``optimizer.step()`` with no clipping, the models'
``F.cross_entropy(..., ignore_index=-1)``, and ``evaluate(model, test_dataset, batch_size=100, max_batches=10)``.

Changed to run offline on one CPU thread in ~15 s: STEPS steps (upstream runs until stopped; makemore.py's port uses
2000 for bow); seed 3407 + seed (3407); num_workers 0 and pin_memory False (4 and True); no tensorboard, checkpoint,
sampling or the every-500-step evaluation; the prints of ``create_datasets`` silenced; one evaluation of the test
loss after training (the whole 1000-word test set) is the metric.  Knobs (one per variant): ``lr_mult`` scales the
learning rate; ``init_std`` draws every Linear weight from N(0, init_std) instead of PyTorch's default
U(+-1/sqrt(fan_in)) (biases kept; the embeddings are N(0, 1) by default already), as makemore.py does;
``zero_grad=False`` leaves ``model.zero_grad(set_to_none=True)`` out; ``weight_decay`` replaces 0.01.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the AdamW is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the
loop.  Metric "loss": the test loss after training; ``initial`` the mean of the first 5 training losses.

``CASES`` (in the shape of run.py's ``case()``, program "mmbow"): the program on seeds 1-3, and one change each against
the same seed's healthy run: learning rate x10, x100 (seeds 1 and 2), x1000 (added after x100 came out ambiguous on
both seeds), /1000; init std 1 (seeds 1 and 2); ``model.zero_grad`` left out (seeds 1 and 2); and two changes
expected harmless: learning rate x2 (cause "lr_high") and weight_decay 0 (cause "healthy").
Recorded (cases-public72; 10-20 s a run, 30-37 s for the healthy runs while the shared machine was loaded by other
jobs): healthy test loss 2.244, 2.238, 2.249 on seeds 1-3 (start, the mean of the first 5 training losses, 3.82, 3.76,
3.78; train loss at the end 2.25-2.28; every loss finite); lr x10: 2.227: healthy; lr x100: 2.551 (seed 1, largest
loss 5.5) and 2.517 (seed 2): ambiguous (worse, not twice the control's loss); lr x1000: first-5 mean 210, largest
loss 1350, train loss 64, test loss 37.2: broken; lr /1000: 3.752 (start 3.93): broken; init std 1: first loss
~120, test loss 6.30 (seed 1) and 6.51 (seed 2): broken; zero_grad left out: the loss rises to 5.1-5.6, test loss
4.03 (seed 1) and 4.52 (seed 2): broken; lr x2: 2.224: healthy; weight_decay 0: 2.243: healthy.  Labels: 6 healthy
(3 programs, lr x10, lr x2, no weight decay), 6 broken, 2 ambiguous.  Every run's losses were finite.
"""

from __future__ import annotations

import contextlib
import io
import math
import time

import numpy as np
import torch
import torch.nn as nn
from makemore import BoW, InfiniteDataLoader, ModelConfig, create_datasets, evaluate, get_parser

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) right after the AdamW is built; monitor.step(loss) right after "
              "loss.backward(), before optimizer.step() (makemore does not clip)")
STEPS = 3000


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, zero_grad: bool = True,
          weight_decay: float | None = None, max_steps: int | None = None, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    t_start = time.time()
    args = get_parser().parse_args([])
    args.type = 'bow'
    args.seed = 3407 + seed  # upstream: 3407
    args.learning_rate *= lr_mult
    if weight_decay is not None:
        args.weight_decay = weight_decay
    args.max_steps = max_steps or STEPS  # upstream: -1 (runs until stopped)

    # system inits
    torch.manual_seed(args.seed)
    torch.cuda.manual_seed_all(args.seed)

    with contextlib.redirect_stdout(io.StringIO()):
        # init datasets
        train_dataset, test_dataset = create_datasets(args.input_file)
    vocab_size = train_dataset.get_vocab_size()
    block_size = train_dataset.get_output_length()

    # init model
    config = ModelConfig(vocab_size=vocab_size, block_size=block_size,
                         n_layer=args.n_layer, n_head=args.n_head,
                         n_embd=args.n_embd, n_embd2=args.n_embd2)
    model = BoW(config)
    model.to(args.device)
    if init_std is not None:  # the bug: N(0, init_std) for every Linear weight instead of PyTorch's default init
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0.0, std=init_std)

    # init optimizer
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay,
                                  betas=(0.9, 0.99), eps=1e-8)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    # init dataloader (pin_memory False here: no accelerator; upstream: True)
    batch_loader = InfiniteDataLoader(train_dataset, batch_size=args.batch_size, pin_memory=False,
                                      num_workers=args.num_workers)

    # training loop
    losses = []
    step = 0
    while True:

        # get the next batch, ship to device, and unpack it to input and target
        batch = batch_loader.next()
        batch = [t.to(args.device) for t in batch]
        X, Y = batch

        # feed into the model
        logits, loss = model(X, Y)

        # calculate the gradient, update the weights
        if zero_grad:  # the no_zero_grad variant leaves this out
            model.zero_grad(set_to_none=True)
        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()
        losses.append(loss.item())

        # logging
        if verbose and step % 200 == 0:  # upstream: prints every 10 steps
            print(f"step {step} | loss {loss.item():.4f} ({time.time() - t_start:.1f}s)", flush=True)

        step += 1
        # termination conditions
        if args.max_steps >= 0 and step >= args.max_steps:
            break

    monitor.close()
    test_loss = evaluate(model, test_dataset, batch_size=100, max_batches=10, device=args.device)
    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "loss", "value": float(test_loss),
            "initial": float(np.mean(la[:5])), "initial_what": "untrained: mean training loss of the first 5 steps",
            "chance": math.log(vocab_size),
            "extra": {"train_loss": float(np.mean(la[-20:])), "first_loss": float(la[0]),
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "steps": step, "lr": args.learning_rate,
                      "lr_mult": lr_mult, "init_std": -1.0 if init_std is None else init_std, "zero_grad": zero_grad,
                      "weight_decay": args.weight_decay, "vocab_size": vocab_size, "block_size": block_size},
            "seconds": time.time() - t_start}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="mmbow", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"mmbow_healthy_s{s}", "healthy", s, {}, f"unchanged (BoW n_embd 64, n_embd2 64; AdamW lr 5e-4, weight_decay "
           f"0.01, betas (0.9, 0.99), eps 1e-8, batch 32, no clipping; {STEPS} steps)", False) for s in (1, 2, 3)]
    + [_case(f"mmbow_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"learning_rate x{k} ({5e-4 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("mmbow_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "learning_rate /1000 (5e-07)")]
    + [_case(f"mmbow_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Linear weight (c_fc, c_proj, lm_head) instead of PyTorch's default "
             "U(+-1/sqrt(fan_in)) (biases kept; the embeddings are N(0, 1) by default)") for s in (1, 2)]
    + [_case(f"mmbow_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             "model.zero_grad(set_to_none=True) left out of the loop: the gradients accumulate") for s in (1, 2)]
    + [_case("mmbow_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, "learning_rate x2 (1e-3; expected harmless)")]
    + [_case("mmbow_no_wd_s1", "healthy", 1, {"weight_decay": 0.0},
             "AdamW weight_decay 0 instead of 0.01 (expected harmless; no cause names it)")]
)


if __name__ == "__main__":
    import sys
    r = train(verbose=True, **({"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}))
    print({k: v for k, v in r.items() if k != "monitors"})
