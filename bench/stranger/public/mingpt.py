"""minGPT's chargpt project with minGPT's Trainer, watched by gradmedic.

Adapted from https://github.com/karpathy/minGPT (commit 37baab71b9abea1b76ab957409a1cc2fbfba8a26,
projects/chargpt/chargpt.py and mingpt/trainer.py; MIT license, see LICENSE-minGPT).  The model is
mingpt/model.py in mingpt_model.py (only ``from_pretrained`` removed).  Kept as in the original:
chargpt's ``CharDataset`` (every character of the text in its vocabulary, ``(block_size + 1)``-character
chunks), its config (``Trainer`` defaults with learning_rate 5e-4, ``GPT`` defaults: dropout 0.1 in the
embedding, attention and residual paths), ``set_seed`` (mingpt/utils.py), and the ``Trainer`` loop: AdamW
from ``GPT.configure_optimizers`` (weight decay 0.1 on the Linear weights only, betas (0.9, 0.95)), a
constant learning rate (minGPT has no schedule), a ``DataLoader`` over a ``RandomSampler`` with
replacement, ``model.zero_grad(set_to_none=True)`` / ``loss.backward()`` / ``clip_grad_norm_(1.0)`` /
``optimizer.step()``, and the ``on_batch_end`` callback (here it only records ``trainer.loss.item()``, as
chargpt's callback prints it).

Changed to run offline on one CPU thread in under a minute: char-level text from the docstrings of the
standard library (shipped_text.py) instead of chargpt's input.txt (tiny-shakespeare), model_type
'gpt-nano' (n_layer 3, n_head 3, n_embd 48; chargpt: 'gpt-mini'), block_size 64 (128), batch_size 32
(64), 400 iterations (chargpt runs until stopped), num_workers 0 and pin_memory False in the DataLoader
(4 and True: no worker processes, no accelerator), device 'cpu', seed 3407 + seed (3407), no sampling or
checkpointing every 500 iterations, the prints of ``GPT.__init__``, ``CharDataset`` and ``Trainer``
silenced.  ``clip=None`` skips the ``clip_grad_norm_`` line (a variant; minGPT always clips).

The watch: minGPT's trainer has no callback between the backward and the update (``on_batch_end`` fires
after ``optimizer.step()``), so the loop itself is edited, with two lines: ``self.monitor =
gradmedic.watch(model, self.optimizer, every=10)`` right after ``configure_optimizers`` in ``run()``, and
``self.monitor.step(self.loss)`` right after ``self.loss.backward()``, before ``clip_grad_norm_`` and
``optimizer.step()``.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the
same seed's healthy run: learning_rate x10 ... x10000 and /1000, init std 1.0 and 10 (std 1.0 alone trains to
3.67 against 2.68: not twice the control's loss, so not "broken" by the loss rule; std 10 was added to have a
clear case), zeros_ init, and no clipping at lr x10 (a healthy variant: minGPT's AdamW trains as well without
the clip at x10 and as badly at x100, so clipping is no cause here).  A run stuck at chance (ln 96 = 4.56)
against a control at 2.68 is not below half, so lr /1000 and the zero init come out "ambiguous" by outcome.
"""

from __future__ import annotations

import contextlib
import io
import math
import random
import time
from collections import defaultdict

import numpy as np
import torch
from mingpt_model import GPT
from mingpt_model import CfgNode as CN
from shipped_text import stdlib_docstrings
from torch.utils.data import Dataset
from torch.utils.data.dataloader import DataLoader

import gradmedic

ARCH = "gpt"
MONITOR_AT = ("minGPT's Trainer.run edited (no callback fires between backward and update; on_batch_end comes after "
              "optimizer.step): watch(model, optimizer, every=10) right after configure_optimizers, monitor.step(loss) right "
              "after loss.backward(), before clip_grad_norm_(1.0) and optimizer.step()")

# -----------------------------------------------------------------------------
# mingpt/utils.py


def set_seed(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)

# -----------------------------------------------------------------------------
# mingpt/trainer.py (two lines for gradmedic, marked; num_workers 0, pin_memory False, device 'cpu' here; clip
# skipped when grad_norm_clip is None)


class Trainer:

    @staticmethod
    def get_default_config():
        C = CN()
        # device to train on
        C.device = 'auto'
        # dataloder parameters
        C.num_workers = 0  # upstream: 4
        # optimizer parameters
        C.max_iters = None
        C.batch_size = 64
        C.learning_rate = 3e-4
        C.betas = (0.9, 0.95)
        C.weight_decay = 0.1 # only applied on matmul weights
        C.grad_norm_clip = 1.0
        C.watch_every = 10  # gradmedic
        return C

    def __init__(self, config, model, train_dataset):
        self.config = config
        self.model = model
        self.optimizer = None
        self.train_dataset = train_dataset
        self.callbacks = defaultdict(list)

        # determine the device we'll train on
        if config.device == 'auto':
            self.device = 'cuda' if torch.cuda.is_available() else 'cpu'
        else:
            self.device = config.device
        self.model = self.model.to(self.device)
        print("running on device", self.device)

        # variables that will be assigned to trainer class later for logging and etc
        self.iter_num = 0
        self.iter_time = 0.0
        self.iter_dt = 0.0

    def add_callback(self, onevent: str, callback):
        self.callbacks[onevent].append(callback)

    def set_callback(self, onevent: str, callback):
        self.callbacks[onevent] = [callback]

    def trigger_callbacks(self, onevent: str):
        for callback in self.callbacks.get(onevent, []):
            callback(self)

    def run(self):
        model, config = self.model, self.config

        # setup the optimizer
        self.optimizer = model.configure_optimizers(config)
        self.monitor = gradmedic.watch(model, self.optimizer, every=config.watch_every)  # gradmedic

        # setup the dataloader
        train_loader = DataLoader(
            self.train_dataset,
            sampler=torch.utils.data.RandomSampler(self.train_dataset, replacement=True, num_samples=int(1e10)),
            shuffle=False,
            pin_memory=False,  # upstream: True
            batch_size=config.batch_size,
            num_workers=config.num_workers,
        )

        model.train()
        self.iter_num = 0
        self.iter_time = time.time()
        data_iter = iter(train_loader)
        while True:

            # fetch the next batch (x, y) and re-init iterator if needed
            try:
                batch = next(data_iter)
            except StopIteration:
                data_iter = iter(train_loader)
                batch = next(data_iter)
            batch = [t.to(self.device) for t in batch]
            x, y = batch

            # forward the model
            logits, self.loss = model(x, y)

            # backprop and update the parameters
            model.zero_grad(set_to_none=True)
            self.loss.backward()
            self.monitor.step(self.loss)  # gradmedic
            if config.grad_norm_clip is not None:  # a variant: upstream always clips
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_norm_clip)
            self.optimizer.step()

            self.trigger_callbacks('on_batch_end')
            self.iter_num += 1
            tnow = time.time()
            self.iter_dt = tnow - self.iter_time
            self.iter_time = tnow

            # termination conditions
            if config.max_iters is not None and self.iter_num >= config.max_iters:
                break

# -----------------------------------------------------------------------------
# projects/chargpt/chargpt.py


def get_config():

    C = CN()

    # system
    C.system = CN()
    C.system.seed = 3407
    C.system.work_dir = './out/chargpt'  # unused here: nothing is written

    # data
    C.data = CharDataset.get_default_config()
    C.data.block_size = 64  # upstream: 128

    # model
    C.model = GPT.get_default_config()
    C.model.model_type = 'gpt-nano'  # upstream: 'gpt-mini'

    # trainer
    C.trainer = Trainer.get_default_config()
    C.trainer.learning_rate = 5e-4 # the model we're using is so small that we can go a bit faster
    C.trainer.device = 'cpu'  # upstream: 'auto'
    C.trainer.batch_size = 32  # upstream: 64
    C.trainer.max_iters = 400  # upstream: None (runs until stopped)

    return C


class CharDataset(Dataset):
    """
    Emits batches of characters
    """

    @staticmethod
    def get_default_config():
        C = CN()
        C.block_size = 128
        return C

    def __init__(self, config, data):
        self.config = config

        chars = sorted(list(set(data)))
        data_size, vocab_size = len(data), len(chars)
        print('data has %d characters, %d unique.' % (data_size, vocab_size))  # noqa: UP031 (upstream's)

        self.stoi = { ch:i for i,ch in enumerate(chars) }
        self.itos = { i:ch for i,ch in enumerate(chars) }
        self.vocab_size = vocab_size
        self.data = data

    def get_vocab_size(self):
        return self.vocab_size

    def get_block_size(self):
        return self.config.block_size

    def __len__(self):
        return len(self.data) - self.config.block_size

    def __getitem__(self, idx):
        # grab a chunk of (block_size + 1) characters from the data
        chunk = self.data[idx:idx + self.config.block_size + 1]
        # encode every character to an integer
        dix = [self.stoi[s] for s in chunk]
        # return as tensors
        x = torch.tensor(dix[:-1], dtype=torch.long)
        y = torch.tensor(dix[1:], dtype=torch.long)
        return x, y

# -----------------------------------------------------------------------------


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, zero_init: bool = False,
          clip: float | None = 1.0, weight_decay: float | None = None, betas: tuple[float, float] | None = None,
          max_iters: int | None = None, every: int = 10, verbose: bool = False) -> dict:
    """chargpt's ``__main__`` with one change per keyword: ``lr_mult`` scales learning_rate 5e-4; ``init_std``
    replaces the 0.02 of ``_init_weights`` for every Linear and Embedding (c_proj's scaled init becomes
    init_std/sqrt(2*n_layer)); ``zero_init`` puts zeros_ where the init draws normal_ (every Linear weight,
    c_proj included, and both embeddings; biases are zero and LayerNorms ones as upstream); ``clip=None``
    drops clip_grad_norm_; ``weight_decay`` and ``betas`` replace the Trainer's 0.1 and (0.9, 0.95)."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    t0 = time.time()

    # get default config and overrides, if any
    config = get_config()
    config.system.seed = 3407 + seed
    config.trainer.learning_rate *= lr_mult
    config.trainer.grad_norm_clip = clip
    config.trainer.watch_every = every
    if weight_decay is not None:
        config.trainer.weight_decay = weight_decay
    if betas is not None:
        config.trainer.betas = tuple(betas)
    if max_iters:
        config.trainer.max_iters = max_iters
    set_seed(config.system.seed)

    with contextlib.redirect_stdout(io.StringIO()):
        # construct the training dataset
        text = stdlib_docstrings()  # upstream: open('input.txt', 'r').read()
        train_dataset = CharDataset(config.data, text)

        # construct the model
        config.model.vocab_size = train_dataset.get_vocab_size()
        config.model.block_size = train_dataset.get_block_size()
        model = GPT(config.model)
        n_layer = config.model.n_layer
        if init_std is not None:  # the bug: another std where minGPT's _init_weights writes 0.02
            for m in model.modules():
                if isinstance(m, (torch.nn.Linear, torch.nn.Embedding)):
                    torch.nn.init.normal_(m.weight, mean=0.0, std=init_std)
            for pn, p in model.named_parameters():
                if pn.endswith('c_proj.weight'):
                    torch.nn.init.normal_(p, mean=0.0, std=init_std / math.sqrt(2 * n_layer))
        if zero_init:  # the bug: zeros_ instead of normal_ (all Linear weights, c_proj's too, and the embeddings)
            for m in model.modules():
                if isinstance(m, (torch.nn.Linear, torch.nn.Embedding)):
                    torch.nn.init.zeros_(m.weight)

        # construct the trainer object
        trainer = Trainer(config.trainer, model, train_dataset)

    losses = []

    # iteration callback
    def batch_end_callback(trainer):
        losses.append(trainer.loss.item())
        if verbose and trainer.iter_num % 50 == 0:
            print(f"iter_dt {trainer.iter_dt * 1000:.2f}ms; iter {trainer.iter_num}: train loss {trainer.loss.item():.5f}")

    trainer.set_callback('on_batch_end', batch_end_callback)

    # run the optimization
    trainer.run()
    trainer.monitor.close()
    vocab_size = train_dataset.get_vocab_size()
    return {"monitors": {"": trainer.monitor}, "metric": "train_loss", "value": float(np.mean(losses[-20:])),
            "initial": float(np.mean(losses[:5])), "chance": math.log(vocab_size),
            "extra": {"iters": trainer.iter_num, "vocab_size": vocab_size, "n_params": sum(p.numel() for p in model.parameters()),
                      "lr": config.trainer.learning_rate, "grad_norm_clip": clip, "weight_decay": config.trainer.weight_decay,
                      "betas": list(config.trainer.betas)},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="mingpt", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"mingpt_healthy_s{s}", "healthy", s, {}, "unchanged (gpt-nano, AdamW lr 5e-4 constant, betas (0.9, 0.95), "
           "weight decay 0.1, clip 1.0, dropout 0.1)", False) for s in (1, 2, 3)]
    + [_case(f"mingpt_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"learning_rate x{k} ({5e-4 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1, 2)), (10000, (1, 2))) for s in ss]
    + [_case("mingpt_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "learning_rate /1000 (5e-07)")]
    + [_case(f"mingpt_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "normal init std 1.0 instead of 0.02 for every Linear and Embedding (c_proj 1.0/sqrt(2*n_layer))") for s in (1, 2)]
    + [_case(f"mingpt_init_std10_s{s}", "init_large", s, {"init_std": 10.0},
             "normal init std 10 instead of 0.02 for every Linear and Embedding (c_proj 10/sqrt(2*n_layer))") for s in (1, 2)]
    + [_case(f"mingpt_zero_init_s{s}", "symmetric_init", s, {"zero_init": True},
             "zeros_ instead of normal_ for every Linear weight (c_proj and lm_head included) and both embeddings")
       for s in (1, 2)]
    # clipping does not matter here (AdamW's steps are bounded by the rate anyway): without it, lr x10 trains as well as
    # with it (2.63 vs 2.50, both below the plain run's 2.68) and lr x100 as badly (3.03 vs 3.01), so this is a healthy
    # variant, not a no_clipping case
    + [_case("mingpt_no_clip_lr_x10_s1", "healthy", 1, {"lr_mult": 10, "clip": None},
             "no clip_grad_norm_ at learning_rate x10 (5e-3); minGPT always clips at 1.0")]
)


if __name__ == "__main__":
    import sys
    r = train(verbose=True, **({"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}))
    print({k: v for k, v in r.items() if k != "monitors"})
