"""Global statistics under ``torch.distributed`` (DDP in a plain loop, Lightning's ``strategy="ddp"``).

When ``torch.distributed`` is initialised with more than one process, a :class:`~gradmedic.Monitor`
combines each flush's records across processes with ONE collective (an ``all_gather`` of every record
of the flush, packed into one vector), never one per step or per layer.  Every rank then holds the
same global history; rank 0 judges and reports (:func:`is_main`), the others stay quiet.

What "global" means, statistic by statistic (``n_r``: the values rank r sampled, from its histogram):

- loss: the mean over ranks (the loss of the global batch when every rank has the same batch size);
- per layer: under DDP the gradients are already averaged and the weights identical, so every rank
  measures the same numbers; they are averaged all the same (a NaN on one rank stays NaN);
- activations: mean, share <= 0 and share saturated weighted by ``n_r``; the std pooled exactly from
  each rank's mean and std (within- plus between-rank variance); histograms summed; dead units exactly:
  a unit is dead when it is silent on every rank's samples (each rank keeps, at sampled steps, which
  of its units fired: one bool per unit, gathered with the rest).  For the ``.input`` entries of
  models with functional activations the smallest rank's share is taken (an upper bound of the global
  share).  Each rank samples ``ACT_SAMPLES`` rows spread over its own batch, so up to ``world_size x 32``
  samples are summarised;
- input features: mean and std pooled exactly (the rows each rank saw are counted at sampled steps);
- model output: width and mean logit range averaged; the spread across the batch averaged (an
  approximation: it is a ratio of spreads);
- the pre-clip norm: averaged (``clip_grad_norm_`` on DDP's averaged gradients gives the same on each).

Layer names drop DDP's ``module.`` prefix: ``watch(DDP(model))`` watches ``model``.

FSDP2 (``fully_shard``) is not supported: its parameters are sharded DTensors, and a global norm
needs the sum of squares of every rank's local shards, all-reduced.  That path could not be run on
this machine (no GPU, FSDP2 needs one here), so it is not written; watching an FSDP2 model raises.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from gradmedic.errors import WatchError
from gradmedic.measure import units
from gradmedic.measure.history import ACT_STATS, OUT_STATS, Chunk
from gradmedic.measure.hooks import Hooks

_SAMPLES = 32  # = monitor.ACT_SAMPLES (not imported: monitor imports this module)


def active() -> bool:
    """Whether this process is one of several in an initialised ``torch.distributed`` group."""
    d = torch.distributed
    return d.is_available() and d.is_initialized() and d.get_world_size() > 1


def is_main() -> bool:
    """Rank 0, or not distributed: the process that judges and reports."""
    return not active() or torch.distributed.get_rank() == 0


def unwrap(model: nn.Module) -> nn.Module:
    """The module DDP wraps (layer names without ``module.``); FSDP2 models are refused."""
    if isinstance(model, nn.parallel.DistributedDataParallel):
        return model.module
    if type(model).__name__.startswith("FSDP") or any(type(p).__name__ == "DTensor" for p in model.parameters()):
        raise WatchError("FSDP2 (sharded DTensor parameters) is not supported yet: per-layer norms would be the local "
                         "shard's; see gradmedic/measure/distributed.py")
    return model


class Reducer:
    """Combines a monitor's chunk across ranks at each flush (one ``all_gather``)."""

    def __init__(self, monitor: Any):
        self.world = torch.distributed.get_world_size()
        backend = torch.distributed.get_backend()
        self.device = torch.device("cuda", torch.cuda.current_device()) if backend == "nccl" else torch.device("cpu")
        self._rows_seen = 0.0  # rows of the first layer's input at the last sampled pass (for pooling its std)
        self._m = monitor
        self._hooks = Hooks()
        self._hooks.input(monitor._first_layer, self._count_rows)
        # which units fired, per sampled step, for the ReLU-family modules whose dead units are measured
        self._dead_idx = [i for i, (k, src, mortal) in enumerate(zip(monitor.act_kinds, monitor._act_src,
                                                                      monitor._can_die, strict=True))
                          if k == "relu" and src == "out" and mortal]
        self._units: dict[int, int] = {}
        self._alive: dict[int, dict[int, torch.Tensor]] = {}  # step -> act index -> (units,) bool
        for i in self._dead_idx:
            self._hooks.output(monitor._act_modules[i], self._alive_hook(i))

    def _alive_hook(self, i: int):
        # Registered before the monitor's own hooks (which it re-registers at every sampled step): this
        # runs first, so it sees the same first pass the monitor records (its capture slot still empty).
        def hook(module, args, out):
            m = self._m
            if m._armed and m._act_out[i] is None and module.training and torch.is_grad_enabled() \
                    and isinstance(out, torch.Tensor) and out.dim() >= 2 and out.shape[0] > 1:
                alive = units.alive_units(out.detach()[:_SAMPLES])  # the monitor's own definition
                self._units[i] = alive.numel()
                self._alive.setdefault(m.steps + 1, {})[i] = alive
        return hook

    def _count_rows(self, module, args) -> None:
        m = self._m
        if m._armed and module.training and args and isinstance(args[0], torch.Tensor) and args[0].dim() >= 2:
            x = args[0]
            self._rows_seen = float(x.numel() // x.shape[m._feature_dim])

    def close(self) -> None:
        self._hooks.remove()

    def _alive_rows(self, steps: list[int]) -> np.ndarray:
        """(S, units of every tracked module) 1/0 per unit fired, NaN where not captured."""
        cols = [i for i in self._dead_idx if i in self._units]
        rows = []
        for s in steps:
            got = self._alive.pop(s, {})
            rows.append(np.concatenate([got[i].float().cpu().numpy() if i in got else np.full(self._units[i], np.nan)
                                        for i in cols]) if cols else np.zeros(0))
        self._alive = {s: v for s, v in self._alive.items() if not steps or s > steps[-1]}
        return np.array(rows).reshape(len(steps), -1)

    def __call__(self, c: Chunk) -> Chunk:
        S, A = c.layers.shape[0], c.acts.shape[1]
        hists = c.hists if c.hists is not None else np.full((S, A, 0), np.nan)
        out = c.out if c.out is not None else np.full((S, len(OUT_STATS)), np.nan)
        pre = c.pre_clip if c.pre_clip is not None else np.full(S, np.nan)
        alive = self._alive_rows(c.stat_steps.tolist())
        parts = [c.loss, c.layers, c.acts, c.inputs, hists, out, pre, np.array([self._rows_seen]), alive]
        vec = torch.from_numpy(np.concatenate([np.asarray(p, dtype=np.float64).ravel() for p in parts])).to(self.device)
        got = [torch.empty_like(vec) for _ in range(self.world)]
        torch.distributed.all_gather(got, vec)  # the one collective of this flush
        g = torch.stack(got).cpu().numpy()  # (world, n)
        sizes = [int(np.asarray(p).size) for p in parts]
        loss, layers, acts, inputs, hists_g, out_g, pre_g, rows, alive_g = (
            g[:, a:b].reshape(self.world, *np.asarray(p).shape)
            for a, b, p in zip(np.cumsum([0] + sizes[:-1]), np.cumsum(sizes), parts, strict=True))
        acts = _pool_acts(acts, hists_g)
        self._dead(acts, alive_g)
        return Chunk(c.loss_steps, loss.mean(0), c.stat_steps, layers.mean(0), acts,
                     _pool_inputs(inputs, rows[:, 0]), hists_g.sum(0).astype(np.float32) if c.hists is not None else None,
                     c.lr, out_g.mean(0) if c.out is not None else None, pre_g.mean(0) if c.pre_clip is not None else None)


    def _dead(self, acts: np.ndarray, alive: np.ndarray) -> None:
        """Global share of dead units in place: silent on every rank (alive: (world, S, units))."""
        k, a = ACT_STATS.index("dead_frac"), 0
        for i in [i for i in self._dead_idx if i in self._units]:
            u = alive[:, :, a:a + self._units[i]]
            a += self._units[i]
            known = np.isfinite(u).all(axis=(0, 2))  # steps every rank captured
            fired = u.max(axis=0)  # (S, units): fired on some rank
            acts[known, i, k] = 1.0 - fired[known].mean(axis=1)


def _pool(mean: np.ndarray, std: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased std of the union of groups of ``n`` values each (axis 0: the groups)."""
    N = n.sum(0)
    m = (n * mean).sum(0) / N
    var = ((n - 1) * std ** 2 + n * (mean - m) ** 2).sum(0) / np.maximum(N - 1, 1)
    return m, np.sqrt(var)


def _pool_acts(acts: np.ndarray, hists: np.ndarray) -> np.ndarray:
    """(world, S, A, 5) -> (S, A, 5); weights: the values each rank counted in its histogram (the same for ranks
    with equal batches, as DistributedSampler gives; a rank with fewer samples than the histogram takes weighs less)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        n = hists.sum(-1) if hists.shape[-1] else np.ones(acts.shape[:-1])
        n = np.where(np.isfinite(n) & (n > 0), n, 1.0)
        k = {s: ACT_STATS.index(s) for s in ACT_STATS}
        res = np.empty(acts.shape[1:])
        res[..., k["mean"]], res[..., k["std"]] = _pool(acts[..., k["mean"]], acts[..., k["std"]], n)
        for s in ("zero_frac", "sat_frac"):
            res[..., k[s]] = (n * acts[..., k[s]]).sum(0) / n.sum(0)
        res[..., k["dead_frac"]] = acts[..., k["dead_frac"]].min(0)
    return res


def _pool_inputs(inputs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(world, S, 2, F) per-feature mean and std -> (S, 2, F), each rank weighted by its rows."""
    if inputs.shape[-1] == 0:
        return inputs[0]
    n = np.maximum(rows, 1.0).reshape(-1, 1, 1)
    m, s = _pool(inputs[:, :, 0, :], inputs[:, :, 1, :], n)
    return np.stack([m, s], axis=1)
