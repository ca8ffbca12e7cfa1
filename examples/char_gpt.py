"""A small character-level GPT, trained with the doctor watching, three ways:

    python examples/char_gpt.py plain                          # your own loop: watch + step
    python examples/char_gpt.py lightning                      # a Lightning fit: GradmedicCallback
    torchrun --nproc_per_node 2 examples/char_gpt.py ddp       # DDP in your own loop (gloo on CPU)

The text is one that ships with Python: the source of the standard library's ``textwrap`` module
(~20k characters, ~80 distinct ones).  The model is nanoGPT's shape at toy size: 3 blocks of width
64 with 4 heads, context 64, tied input/output embeddings.  Options: ``--steps 300 --lr 3e-3
--every 25``; ``--lr 3`` shows what the doctor says about a rate 1000x too high.
"""

from __future__ import annotations

import argparse
import inspect
import textwrap

import torch
import torch.nn.functional as F
from torch import nn

import gradmedic

BLOCK, BATCH = 64, 16


def corpus() -> tuple[torch.Tensor, list[str]]:
    text = inspect.getsource(textwrap)
    chars = sorted(set(text))
    ix = {c: i for i, c in enumerate(chars)}
    return torch.tensor([ix[c] for c in text], dtype=torch.long), chars


def batches(data: torch.Tensor, seed: int):
    """Endless (x, y) batches of BATCH windows of BLOCK characters; y is x shifted by one."""
    g = torch.Generator().manual_seed(seed)
    while True:
        i = torch.randint(0, len(data) - BLOCK - 1, (BATCH,), generator=g)
        x = torch.stack([data[j:j + BLOCK] for j in i.tolist()])
        y = torch.stack([data[j + 1:j + BLOCK + 1] for j in i.tolist()])
        yield x, y


class Block(nn.Module):
    def __init__(self, d: int, heads: int):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
        self.heads = heads

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.attn(self.ln1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, C)
        x = x + self.proj(y)
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self, vocab: int, d: int = 64, layers: int = 3, heads: int = 4):
        super().__init__()
        torch.manual_seed(0)
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(BLOCK, d)
        self.blocks = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.lm_head.weight = self.wte.weight  # tied, as in nanoGPT
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, 0.0, 0.02)

    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device))
        for b in self.blocks:
            x = b(x)
        return self.lm_head(self.ln_f(x))


def loss_of(model, x, y):
    return F.cross_entropy(model(x).flatten(0, 1), y.flatten())


def plain(args, data, vocab) -> None:
    model = GPT(vocab)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr)
    with gradmedic.watch(model, opt, every=args.every) as monitor:
        for step, (x, y) in zip(range(args.steps), batches(data, seed=0), strict=False):  # batches() is endless
            opt.zero_grad(set_to_none=True)
            loss = loss_of(model, x, y)
            loss.backward()
            monitor.step(loss)
            opt.step()
            if step % 100 == 0 or step == args.steps - 1:
                print(f"step {step:4d}  loss {loss.item():.3f}")
    print(monitor.diagnose())


def lightning(args, data, vocab) -> None:
    import lightning.pytorch as pl
    from lightning.pytorch.loggers import CSVLogger

    from gradmedic.integrations.lightning import GradmedicCallback

    class LitGPT(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.gpt = GPT(vocab)

        def training_step(self, batch, batch_idx):
            loss = loss_of(self.gpt, *batch)
            self.log("train_loss", loss)
            if batch_idx % 100 == 0 or batch_idx == args.steps - 1:
                print(f"step {batch_idx:4d}  loss {loss.item():.3f}")
            return loss

        def configure_optimizers(self):
            return torch.optim.AdamW(self.parameters(), lr=args.lr)

    class Stream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return batches(data, seed=0)

    trainer = pl.Trainer(max_steps=args.steps, accelerator="cpu", devices=1, logger=CSVLogger("runs", name="char_gpt"),
                         callbacks=[GradmedicCallback(every=args.every, stop_on="critical")], enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(LitGPT(), torch.utils.data.DataLoader(Stream(), batch_size=None))
    print(f"per-layer statistics logged to {trainer.logger.log_dir}/metrics.csv")


def ddp(args, data, vocab) -> None:
    import torch.distributed as dist

    from gradmedic.measure.distributed import is_main

    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    model = nn.parallel.DistributedDataParallel(GPT(vocab))  # the same initial weights on every rank (seed 0)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr)
    with gradmedic.watch(model, opt, every=args.every) as monitor:  # layer names without "module."
        for step, (x, y) in zip(range(args.steps), batches(data, seed=rank), strict=False):  # endless batches, each rank its own
            opt.zero_grad(set_to_none=True)
            loss = loss_of(model, x, y)
            loss.backward()  # DDP averages the gradients across ranks
            monitor.step(loss)
            opt.step()
            if is_main() and (step % 100 == 0 or step == args.steps - 1):
                print(f"step {step:4d}  loss {loss.item():.3f} (rank 0's batch)")
    # every rank holds the same global records (one all_gather per flush); rank 0 reports
    if is_main():
        print(f"{world} processes; global loss at the last step {monitor.history.loss[-1]:.3f}")
        print(monitor.diagnose())
    dist.destroy_process_group()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=["plain", "lightning", "ddp"])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--every", type=int, default=25)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    data, chars = corpus()
    {"plain": plain, "lightning": lightning, "ddp": ddp}[args.mode](args, data, len(chars))


if __name__ == "__main__":
    main()
