"""minGPT's adder project (a GPT that learns to add 2-digit numbers) with minGPT's Trainer, watched by gradmedic.

Adapted from https://github.com/karpathy/minGPT (commit 37baab71b9abea1b76ab957409a1cc2fbfba8a26, HEAD;
projects/adder/adder.py, last changed in acaadacd595dedf354a48852841824d51ce131af, and mingpt/trainer.py; MIT
license, see LICENSE-mingptadder).  The model is mingpt/model.py as mingpt_model.py already carries it (only
``from_pretrained`` removed).  Kept as in the original: ``AdditionDataset`` (ndigit 2, the fixed
``torch.randperm`` with generator seed 1337, 500 test problems and 9500 training problems, the sum's digits
reversed, the loss masked with -1 on the first 2*ndigit-1 positions), adder's config (model_type 'gpt-nano':
n_layer 3, n_head 3, n_embd 48; dropout 0.1; learning_rate 5e-4; the Trainer's defaults batch_size 64, betas (0.9,
0.95), weight_decay 0.1 on the Linear weights only, grad_norm_clip 1.0), ``set_seed(3407)`` (mingpt/utils.py), the
Trainer loop (AdamW from ``GPT.configure_optimizers``, a constant rate, a ``RandomSampler`` with replacement,
``model.zero_grad(set_to_none=True)`` / ``loss.backward()`` / ``clip_grad_norm_(1.0)`` / ``optimizer.step()``) and
adder's ``eval_split`` (greedy ``model.generate`` of the ndigit+1 answer digits, the answer counted correct when the
decoded integer equals a + b).

Changed to run offline on one CPU thread in ~26 s: 1500 iterations, ``ITERS`` (upstream runs until stopped; a
trial run of 1000 iterations reached only 0.632 test accuracy, 1500 reach 0.97); the evaluation
of the train and test splits every 500 iterations, its prints and the checkpoint (``model.pt``) are left out, and
the test split is evaluated once after training (its accuracy is the metric; adder's own score); num_workers 0 and
pin_memory False (4 and True), device 'cpu'; seed 3407 + seed (3407); no ``setup_logging`` (it writes the config
into ./out/adder); the prints of ``GPT.__init__`` and the Trainer silenced.  Knobs (one per variant): ``lr_mult``
scales learning_rate; ``init_std`` replaces the 0.02 of ``_init_weights`` for every Linear and Embedding (c_proj's
scaled init becomes init_std/sqrt(2*n_layer)), as mingpt.py does; ``zero_grad=False`` leaves
``model.zero_grad(set_to_none=True)`` out of the loop; ``clip=None`` leaves ``clip_grad_norm_`` out;
``weight_decay`` replaces the Trainer's 0.1.

The watch: minGPT's trainer has no callback between the backward and the update (``on_batch_end`` fires after
``optimizer.step()``), so the loop itself is edited, as in mingpt.py: ``self.monitor = gradmedic.watch(model,
self.optimizer, every=10)`` right after ``configure_optimizers`` in ``run()``, ``self.monitor.step(self.loss)`` right
after ``self.loss.backward()``, before ``clip_grad_norm_`` and ``optimizer.step()``; ``monitor.close()`` after
``trainer.run()``.

``CASES`` (in the shape of run.py's ``case()``, program "mingptadder"): the program on seeds 1-3, and one change each
against the same seed's healthy run: learning_rate x10, x100 (seeds 1 and 2), /1000; init std 1.0 (seeds 1 and 2);
``model.zero_grad`` left out; ``clip_grad_norm_`` left out (seeds 1 and 2; cause "no_clipping", labelled by outcome);
and two changes expected harmless: learning_rate x2 (cause "lr_high") and weight_decay 0 (cause "healthy").
Recorded (cases-public72, 520 s for the 14 runs; ~26 s a run alone, 36-81 s for the first runs while the shared
machine was loaded by other jobs): healthy 0.976, 0.978, 0.966 test accuracy on seeds 1-3 (train loss 2.29-2.33 ->
0.27-0.33, every loss finite); lr x10: train loss 0.25, 0.958: healthy; lr x100: train loss stuck ~1.6 (largest loss
3.5-3.6), 0.014 (seed 1) and 0.006 (seed 2): broken; lr /1000: train loss 2.30 -> 2.18, 0.006: broken; init std 1:
first loss 9.1 / 10.3, train loss 1.8, 0.012 (seed 1) and 0.024 (seed 2): broken; zero_grad left out: train loss
0.59, 0.730: broken; no clipping: 0.928 (seed 1, 4.8 points below its control and not clearly worse: ambiguous) and
0.966 (seed 2: healthy); lr x2: train loss 0.85 at the end, 0.094: broken (odd for an expected-harmless change: at
1500 iterations this run had not yet made the jump in accuracy that the lr 5e-4 runs make between ~1000 and 1500
iterations; with upstream's unlimited iterations it would likely get there later, so this label belongs to the
shortened budget); weight_decay 0: 0.942: healthy.  Labels: 6 healthy (3 programs, lr x10, no clip seed 2, no weight
decay), 7 broken, 1 ambiguous.  Every run's losses were finite.
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
from torch.utils.data import Dataset
from torch.utils.data.dataloader import DataLoader

import gradmedic

ARCH = "gpt"
MONITOR_AT = ("minGPT's Trainer.run edited (no callback fires between backward and update; on_batch_end comes after "
              "optimizer.step): watch(model, optimizer, every=10) right after configure_optimizers, monitor.step(loss) right "
              "after loss.backward(), before clip_grad_norm_(1.0) and optimizer.step()")
ITERS = 1500

# -----------------------------------------------------------------------------
# mingpt/utils.py


def set_seed(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)

# -----------------------------------------------------------------------------
# mingpt/trainer.py (two lines for gradmedic, marked; num_workers 0, pin_memory False here; zero_grad and the clip
# skippable for the variants)


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
        C.zero_grad = True  # a variant knob: upstream always zeroes
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
            if config.zero_grad:  # the no_zero_grad variant leaves this out
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
# projects/adder/adder.py


def get_config():

    C = CN()

    # system
    C.system = CN()
    C.system.seed = 3407
    C.system.work_dir = './out/adder'  # unused here: nothing is written

    # data
    C.data = AdditionDataset.get_default_config()

    # model
    C.model = GPT.get_default_config()
    C.model.model_type = 'gpt-nano'

    # trainer
    C.trainer = Trainer.get_default_config()
    C.trainer.learning_rate = 5e-4 # the model we're using is so small that we can go a bit faster
    C.trainer.device = 'cpu'  # upstream: 'auto'
    C.trainer.max_iters = ITERS  # upstream: None (runs until stopped)

    return C

# -----------------------------------------------------------------------------


class AdditionDataset(Dataset):
    """
    Creates n-digit addition problems. For example, if n=2, then an example
    addition problem would be to add 85 + 50 = 135. This problem would be
    represented as the following string for the GPT:

    "8550531"

    This is because:
    - we are discarding the + and =, which are not necessary. We just encode the digits
      of the input numbers concatenated together.
    - the result 135 is encoded backwards to make the addition easier to learn for the
      GPT model, because of how the addition algorithm works.

    As one more example, the problem 6 + 39 = 45 would be encoded as:

    "0639054"

    where you will notice that we are padding with zeros to make sure that we always
    produce strings of the exact same size: n + n + (n + 1). When n=2, this is 7.
    At test time, we will feed in an addition problem by giving the first 2n digits,
    and hoping that the GPT model completes the sequence with the next (n+1) digits
    correctly.
    """

    @staticmethod
    def get_default_config():
        C = CN()
        C.ndigit = 2
        return C

    def __init__(self, config, split):
        self.config = config
        self.split = split # train/test

        # split up all addition problems into either training data or test data
        ndigit = self.config.ndigit
        assert ndigit <= 3, "the lines below would be very memory inefficient, in future maybe refactor to support"
        num = (10**ndigit)**2 # total number of possible addition problems with ndigit numbers
        rng = torch.Generator()
        rng.manual_seed(1337)
        perm = torch.randperm(num, generator=rng)
        num_test = min(int(num*0.2), 500) # 20% of the whole dataset, or only up to 500
        self.ixes = perm[:num_test] if split == 'test' else perm[num_test:]

    def get_vocab_size(self):
        return 10 # digits 0..9

    def get_block_size(self):
        # a,b,a+b, and +1 due to potential carry overflow,
        # but then also -1 because very last digit doesn't ever plug back
        # as there is no explicit <EOS> token to predict, it is implied
        return 3*self.config.ndigit + 1 - 1

    def __len__(self):
        return self.ixes.nelement()

    def __getitem__(self, idx):
        ndigit = self.config.ndigit
        # given a problem index idx, first recover the associated a + b
        idx = self.ixes[idx].item()
        nd = 10**ndigit
        a = idx // nd
        b = idx %  nd
        # calculate the "label" of the addition problem a + b
        c = a + b
        # encode the digits of a, b, c into strings
        astr = f'%0{ndigit}d' % a  # noqa: UP031 (upstream's)
        bstr = f'%0{ndigit}d' % b  # noqa: UP031
        cstr = (f'%0{ndigit+1}d' % c)[::-1] # reverse c to make addition easier  # noqa: UP031
        render = astr + bstr + cstr
        dix = [int(s) for s in render] # convert each character to its token index
        # x will be input to GPT and y will be the associated expected outputs
        x = torch.tensor(dix[:-1], dtype=torch.long)
        y = torch.tensor(dix[1:], dtype=torch.long) # predict the next token in the sequence
        y[:ndigit*2-1] = -1 # we will only train in the output locations. -1 will mask loss to zero
        return x, y

# -----------------------------------------------------------------------------


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, zero_grad: bool = True,
          clip: float | None = 1.0, weight_decay: float | None = None, max_iters: int | None = None, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    t0 = time.time()

    # get default config and overrides, if any
    config = get_config()
    config.system.seed = 3407 + seed
    config.trainer.learning_rate *= lr_mult
    config.trainer.grad_norm_clip = clip
    config.trainer.zero_grad = zero_grad
    config.trainer.watch_every = every
    if weight_decay is not None:
        config.trainer.weight_decay = weight_decay
    if max_iters:
        config.trainer.max_iters = max_iters
    set_seed(config.system.seed)

    with contextlib.redirect_stdout(io.StringIO()):
        # construct train and test datasets
        train_dataset = AdditionDataset(config.data, split='train')
        test_dataset  = AdditionDataset(config.data, split='test')

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

        # construct the trainer object
        trainer = Trainer(config.trainer, model, train_dataset)

    # helper function for the evaluation of a model (adder's, without its prints of the first mistakes)
    def eval_split(trainer, split, max_batches=None):
        dataset = {'train':train_dataset, 'test':test_dataset}[split]
        ndigit = config.data.ndigit
        results = []
        factors = torch.tensor([[10**i for i in range(ndigit+1)][::-1]]).to(trainer.device)
        loader = DataLoader(dataset, batch_size=100, num_workers=0, drop_last=False)
        for b, (x, _y) in enumerate(loader):
            x = x.to(trainer.device)
            # isolate the first two digits of the input sequence alone
            d1d2 = x[:, :ndigit*2]
            # let the model sample the rest of the sequence
            d1d2d3 = model.generate(d1d2, ndigit+1, do_sample=False) # using greedy argmax, not sampling
            # isolate the last digit of the sampled sequence
            d3 = d1d2d3[:, -(ndigit+1):]
            d3 = d3.flip(1) # reverse the digits to their "normal" order
            # decode the integers from individual digits
            d1i = (d1d2[:,:ndigit] * factors[:,1:]).sum(1)
            d2i = (d1d2[:,ndigit:ndigit*2] * factors[:,1:]).sum(1)
            d3i_pred = (d3 * factors).sum(1)
            d3i_gt = d1i + d2i # manually calculate the ground truth
            # evaluate the correctness of the results in this batch
            correct = (d3i_pred == d3i_gt).cpu() # Software 1.0 vs. Software 2.0 fight RIGHT on this line haha
            for i in range(x.size(0)):
                results.append(int(correct[i]))
            if max_batches is not None and b+1 >= max_batches:
                break
        rt = torch.tensor(results, dtype=torch.float)
        return rt.sum(), len(results)

    losses = []

    # iteration callback
    def batch_end_callback(trainer):
        losses.append(trainer.loss.item())
        if verbose and trainer.iter_num % 100 == 0:
            print(f"iter_dt {trainer.iter_dt * 1000:.2f}ms; iter {trainer.iter_num}: train loss {trainer.loss.item():.5f} "
                  f"({time.time() - t0:.1f}s)", flush=True)

    trainer.set_callback('on_batch_end', batch_end_callback)

    # run the optimization
    trainer.run()
    trainer.monitor.close()
    model.eval()
    with torch.no_grad():
        test_score, n_test = eval_split(trainer, 'test', max_batches=None)
    acc = float(test_score) / n_test
    la = np.array(losses)
    fin = bool(np.isfinite(la).all())
    return {"monitors": {"": trainer.monitor}, "metric": "accuracy", "value": acc, "chance": 0.0,
            "initial": None, "initial_what": "untrained: no sum right (chance accuracy ~0)",
            "extra": {"train_loss": float(np.mean(la[-20:])), "first_loss": float(la[0]),
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": fin, "steps": trainer.iter_num, "lr": config.trainer.learning_rate,
                      "lr_mult": lr_mult, "init_std": -1.0 if init_std is None else init_std, "zero_grad": zero_grad,
                      "clip": -1.0 if clip is None else clip,
                      "weight_decay": config.trainer.weight_decay, "n_test": n_test},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="mingptadder", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"mingptadder_healthy_s{s}", "healthy", s, {}, f"unchanged (gpt-nano, AdamW lr 5e-4 constant, betas (0.9, "
           f"0.95), weight decay 0.1, clip 1.0, dropout 0.1, batch 64; {ITERS} iterations)", False) for s in (1, 2, 3)]
    + [_case(f"mingptadder_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"learning_rate x{k} ({5e-4 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("mingptadder_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "learning_rate /1000 (5e-07)")]
    + [_case(f"mingptadder_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "normal init std 1.0 instead of 0.02 for every Linear and Embedding (c_proj 1.0/sqrt(2*n_layer))")
       for s in (1, 2)]
    + [_case("mingptadder_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             "model.zero_grad(set_to_none=True) left out of the Trainer loop: the gradients accumulate")]
    + [_case(f"mingptadder_no_clip_s{s}", "no_clipping", s, {"clip": None},
             "clip_grad_norm_(model.parameters(), 1.0) left out of the Trainer loop (minGPT always clips)") for s in (1, 2)]
    + [_case("mingptadder_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, "learning_rate x2 (1e-3; expected harmless)")]
    + [_case("mingptadder_no_wd_s1", "healthy", 1, {"weight_decay": 0.0},
             "weight_decay 0 instead of 0.1 in configure_optimizers (expected harmless; no cause names it)")]
)


if __name__ == "__main__":
    import sys
    r = train(verbose=True, **({"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}))
    print({k: v for k, v in r.items() if k != "monitors"})
