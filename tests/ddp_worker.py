"""Run by tests/test_distributed.py under ``torchrun --nproc_per_node 2`` (gloo, CPU): a tiny DDP
training loop watched by gradmedic; each rank saves its history, rank 0 prints the diagnosis.

    torchrun --nproc_per_node 2 tests/ddp_worker.py OUT_DIR
"""

import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

STEPS, EVERY, FLUSH, LOCAL, CLIP = 7, 2, 3, 8, 1.0


def make_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1))


def global_batches(world):
    g = torch.Generator().manual_seed(1)
    return [(torch.randn(LOCAL * world, 5, generator=g), torch.randn(LOCAL * world, 1, generator=g) + 2.0)
            for _ in range(STEPS)]


def train(model, batches, rank=0, world=1):
    """The loop, the same in one process (world 1, the whole global batch) and in each DDP rank (its slice)."""
    import gradmedic

    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    with gradmedic.watch(model, opt, every=EVERY, flush_every=FLUSH) as mon:
        for x, y in batches:
            n = x.shape[0] // world
            xs, ys = x[rank * n:(rank + 1) * n], y[rank * n:(rank + 1) * n]
            opt.zero_grad()
            loss = F.mse_loss(model(xs), ys)
            loss.backward()
            total = torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
            mon.step(loss, grad_norm=total)
            opt.step()
    return mon


def main(out: Path) -> None:
    import torch.distributed as dist

    from gradmedic.measure.distributed import is_main

    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.set_num_threads(1)
    ddp = nn.parallel.DistributedDataParallel(make_model())
    mon = train(ddp, global_batches(world), rank, world)
    mon.history.save(out / f"rank{rank}.npz", layer_names=mon.layer_names)
    if is_main():
        print(mon.diagnose())
    # both ranks reach the teardown together: a rank that destroyed its gloo group while rank 0 was still diagnosing
    # aborted at exit now and then ("terminate called without an active exception", SIGABRT, once in seven runs)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
