"""Measuring: per-layer statistics of any PyTorch model, recorded as training runs.

``Monitor`` attaches to a model, and at every ``every``-th call of :meth:`Monitor.step` records

- per *layer* (a module that owns parameters directly, named as in ``model.named_modules()``):
  gradient L2 norm, mean |gradient|, weight L2 norm, and update-to-weight ratio
  ``||w_t - w_{t-1}|| / ||w_{t-1}||`` (the update made between the previous ``step()`` and this one);
- per *activation module* of a known type: output mean and std, the share of outputs <= 0 for the
  ReLU family (exactly the zeros for ReLU), the share of its units (features; channels of an
  image) with no positive output for any input of the batch (``dead_frac``: a healthy unit fires
  for about half the inputs, so for a batch of 32 it is silent on all of them with odds 2^-32),
  and the share saturated for sigmoid and tanh (estimated on the first ``ACT_SAMPLES`` = 32 samples
  of the batch)
  (|tanh| > 0.99, sigmoid outside [0.01, 0.99]: there the derivative is at most 1/25 of its peak,
  seed 002 §7.4, so the unit passes almost no gradient back);
- per input feature of the first layer's input: mean and std (for the unscaled-input check);
- per activation module, a histogram of the same sampled outputs: ``ACT_HIST_BINS`` = 40 equal bins
  over a range fixed by the module type (:func:`activation_range`; values beyond it are counted in
  the end bins), for the "colorful dimension" picture of a layer's distribution over time.

The loss is kept every step.  Statistics stay on the model's device as small tensors and are
moved to the host in one transfer every ``flush_every`` steps (no host-device synchronisation
per step on CUDA).  Activation hooks are installed only for the forward passes that are sampled,
so unsampled steps run at the speed of an unwatched model.  The host-side history is bounded:
past ``max_rows`` rows it keeps every other row (the loss at full resolution up to ``max_loss``).
"""

from __future__ import annotations

import math
import warnings
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from .activations import Maxout
from .errors import WatchError
from .history import ACT_STATS, LAYER_STATS, OUT_STATS, Chunk, History  # noqa: F401  (re-exported: the contract)

# Activation statistics are estimated from the first 32 samples of a batch: 32 x units values per
# layer estimate shares to a few percent, and a unit silent for all 32 inputs is still dead with
# odds 2^-32 against; larger batches would only cost time.
ACT_SAMPLES = 32
# Histograms: 40 bins resolve the shapes that matter (a spike at 0, mass piling up at sigmoid's 0
# and 1) and cost 40 numbers per layer per sampled step on disk (fastai's ActivationStats uses 40).
ACT_HIST_BINS = 40
# Unbounded activations get [-4, 4] (ReLU [0, 4]): a well-initialized layer has unit-variance
# pre-activations (He/LeCun/Glorot, seed 002 §7.5), so 4 std hold all but ~1e-4 of its outputs and
# the bins stay narrow enough (0.2) to show the shape; a layer whose outputs blow up shows as mass
# piling into the end bins, which is itself the message.
UNBOUNDED_RANGE = 4.0

# Modules whose output we understand.  "relu": share <= 0 is meaningful (dead units);
# "saturating": share saturated is meaningful; "other": mean/std only.
_RELU_FAMILY = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.RReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish)
_SATURATING = {nn.Sigmoid: (0.01, 0.99), nn.Tanh: (-0.99, 0.99), nn.Hardtanh: (-0.99, 0.99)}
_OTHER = (Maxout, nn.Softplus)

_watched: "weakref.WeakSet[nn.Module]" = weakref.WeakSet()


def activation_range(m: nn.Module) -> tuple[float, float]:
    """The fixed histogram range of an activation module's outputs: its own bounds where it has them."""
    if isinstance(m, nn.Sigmoid):
        return (0.0, 1.0)
    if isinstance(m, (nn.Tanh, nn.Hardtanh)):
        return (float(getattr(m, "min_val", -1.0)), float(getattr(m, "max_val", 1.0)))
    if isinstance(m, nn.ReLU6):
        return (0.0, 6.0)
    if type(m) is nn.ReLU:  # never negative: spend every bin on [0, 4]
        return (0.0, UNBOUNDED_RANGE)
    return (-UNBOUNDED_RANGE, UNBOUNDED_RANGE)


def activation_kind(m: nn.Module) -> str | None:
    if isinstance(m, _RELU_FAMILY):
        return "relu"
    if type(m) in _SATURATING:
        return "saturating"
    if isinstance(m, _OTHER):
        return "other"
    return None


class Monitor:
    """Records statistics of ``model`` each time :meth:`step` is called after ``backward()``.

    ``every``: sample layer and activation statistics every N steps (the loss is kept every step).
    ``flush_every``: steps between host transfers.  ``on_flush``: callbacks given each new Chunk.
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer | None = None, *, every: int = 25,
                 flush_every: int = 256, on_flush: list[Callable[[Chunk], None]] | None = None,
                 max_rows: int = 20_000, thresholds: Any = None, reference_loss: float | None = None):
        self._compiled = False
        if not isinstance(model, nn.Module):
            raise WatchError(f"watch() needs a torch.nn.Module, got {type(model).__name__}")
        if type(model).__name__ == "OptimizedModule" and isinstance(getattr(model, "_orig_mod", None), nn.Module):
            # torch.compile's wrapper runs the original modules, and dynamo honours their hooks:
            # watch those (layer names are the original ones, without the "_orig_mod." prefix).
            model = model._orig_mod
            self._compiled = True
        if model in _watched:
            raise WatchError("this model is already watched; close() the first monitor before watching it again")
        if every < 1 or flush_every < 1 or max_rows < 1:
            raise WatchError("every, flush_every and max_rows must be >= 1")
        self.model, self.optimizer = model, optimizer
        self.every, self.flush_every = every, flush_every
        self.thresholds = thresholds
        self.reference_loss = reference_loss  # e.g. chance-level loss, ln(n_classes) for cross-entropy
        self.spec = None  # set by the trainer, so remedies can be spec changes
        self.regression = False
        self.on_flush = list(on_flush or [])

        self.layer_names: list[str] = []
        self.layer_types: list[str] = []
        self._params: list[torch.Tensor] = []
        owner: list[int] = []
        for name, m in model.named_modules():
            ps = [p for p in m.parameters(recurse=False) if p.requires_grad]
            if ps:
                self.layer_names.append(name or type(m).__name__)
                self.layer_types.append(type(m).__name__)
                self._params += ps
                owner += [len(self.layer_names) - 1] * len(ps)
        if not self._params:
            raise WatchError("the model has no trainable parameters: nothing to watch")
        self._first_layer = next(m for _, m in model.named_modules() if any(True for _ in m.parameters(recurse=False)))
        # Features are along dim 1 for convolutions (N, C, ...), along the last dim otherwise (N, [T,] F).
        self._feature_dim = 1 if isinstance(self._first_layer, (nn.Conv1d, nn.Conv2d, nn.Conv3d)) else -1
        self.device = self._params[0].device
        self._owner = torch.tensor(owner, device=self.device)
        self._numel = torch.zeros(len(self.layer_names), device=self.device).index_add_(
            0, self._owner, torch.tensor([float(p.numel()) for p in self._params], device=self.device))

        self.act_names, self.act_kinds, self._act_modules = [], [], []
        for name, m in model.named_modules():
            kind = activation_kind(m)
            if kind:
                self.act_names.append(name)
                self.act_kinds.append(kind)
                self._act_modules.append(m)
        self._sat = [(_SATURATING[type(m)] if k == "saturating" else None) for m, k in zip(self._act_modules, self.act_kinds)]
        self.hist_ranges = [activation_range(m) for m in self._act_modules]

        self.history = History(self.layer_names, self.act_names, self.act_kinds, max_rows=max_rows,
                               hist_ranges=self.hist_ranges)
        self.steps = 0
        self._losses: list[torch.Tensor] = []
        self._loss_steps: list[int] = []
        self._rows: list[tuple[int, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self._no_hist = torch.full((ACT_HIST_BINS,), math.nan, device=self.device)
        self._act_out: list[torch.Tensor | None] = [None] * len(self._act_modules)
        self._inputs: torch.Tensor | None = None
        self._out: torch.Tensor | None = None
        self._lrs: list[float] = []
        self._seg_key: tuple | None = None
        self._warned_hooks = False
        self._hooks: list = []
        self._snap: list[torch.Tensor] | None = None
        self._closed = False
        _watched.add(model)
        if self._sampled(1):
            self._arm()

    # -- context manager -------------------------------------------------------------------
    def __enter__(self) -> "Monitor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Flush what is pending and remove every hook."""
        if self._closed:
            return
        self.flush()
        self._disarm()
        self._remove_hooks()
        _watched.discard(self.model)
        self._closed = True

    # -- recording ---------------------------------------------------------------------------
    def _sampled(self, step: int) -> bool:
        return (step - 1) % self.every == 0

    def _arm(self) -> None:
        """Before a sampled step's forward pass: hooks on, weights snapshotted."""
        self._armed = True
        if not (self._compiled and self._hooks):
            # Eager: hooks only for sampled passes, so other steps run at unwatched speed.  Compiled:
            # installed once and kept, since dynamo does not retrace for hooks added after compiling.
            self._remove_hooks()
            for i, m in enumerate(self._act_modules):
                self._hooks.append(m.register_forward_hook(self._make_act_hook(i)))
            self._hooks.append(self._first_layer.register_forward_pre_hook(self._input_hook))
            self._hooks.append(self.model.register_forward_hook(self._output_hook))
        with torch.no_grad():
            if self._snap is None:
                self._snap = [p.detach().clone() for p in self._params]
            else:
                torch._foreach_copy_(self._snap, [p.detach() for p in self._params])
        self._snap_valid = True

    _snap_valid = False
    _armed = False

    def _disarm(self) -> None:
        self._armed = False
        if not self._compiled:
            self._remove_hooks()

    def _remove_hooks(self) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks = []

    def _make_act_hook(self, i: int):
        # The hook only keeps a reference (autograd holds these outputs until backward anyway);
        # all statistics are computed in one batched pass in step(), ~15 ops whatever the depth.
        def hook(module, args, out):
            if self._armed and self._act_out[i] is None and module.training and torch.is_grad_enabled() \
                    and isinstance(out, torch.Tensor) and out.is_floating_point() and out.numel() > 0:
                o = out.detach()
                self._act_out[i] = o[:ACT_SAMPLES] if o.dim() >= 2 else o
        return hook

    def _input_hook(self, module, args):
        if self._armed and self._inputs is None and module.training and torch.is_grad_enabled() and args:
            x = args[0]
            if isinstance(x, torch.Tensor) and x.is_floating_point() and x.dim() >= 2 and x.shape[0] > 1:
                self._inputs = x.detach()

    def _output_hook(self, module, args, out):
        if self._armed and self._out is None and module.training and torch.is_grad_enabled():
            t = _first_tensor(out)
            if t is not None and t.dim() >= 2 and t.shape[0] > 1:
                self._out = t.detach()

    def _out_stats(self) -> torch.Tensor:
        """(len(OUT_STATS),) the output's width and its spread across the batch (see ``history``)."""
        o = self._out
        if o is None:
            return torch.full((len(OUT_STATS),), math.nan, device=self.device)
        o = o[:ACT_SAMPLES].float()
        o = o.reshape(o.shape[0], -1, o.shape[-1]) if o.dim() >= 3 else o.reshape(o.shape[0], 1, -1)
        # spread across samples, per position and output, relative to the output's own scale:
        # 0 when every input gets the same output (a constant predictor), about 1 when outputs vary around 0
        across = o.std(dim=0).mean()
        scale = o.mean(dim=0).abs().mean() + across
        spread = torch.where(scale > 0, across / scale.clamp(min=1e-30), torch.zeros_like(scale))
        return torch.stack([torch.tensor(float(o.shape[-1]), device=self.device), spread])

    def _act_stats(self) -> torch.Tensor:
        """(A, 4) mean, std, share <= 0 (ReLU family), share saturated (sigmoid/tanh); NaN where absent."""
        A = len(self._act_modules)
        out = torch.full((A, len(ACT_STATS)), math.nan, device=self.device)
        idx = [i for i, o in enumerate(self._act_out) if o is not None]
        if not idx:
            return out
        outs = [self._act_out[i] for i in idx]
        key = tuple((i, o.numel()) for i, o in zip(idx, outs))
        if key != self._seg_key:
            sizes = torch.tensor([n for _, n in key], device=self.device)
            self._seg_n = sizes.double()
            self._seg_lengths = sizes
            lo = torch.tensor([self._sat[i][0] if self._sat[i] else -math.inf for i in idx], device=self.device)
            hi = torch.tensor([self._sat[i][1] if self._sat[i] else math.inf for i in idx], device=self.device)
            self._seg_lo, self._seg_hi = lo.repeat_interleave(sizes), hi.repeat_interleave(sizes)
            relu = torch.tensor([self.act_kinds[i] == "relu" for i in idx], device=self.device)
            sat = torch.tensor([self._sat[i] is not None for i in idx], device=self.device)
            self._seg_mask = (relu, sat)
            self._seg_any = (bool(relu.any()), bool(sat.any()))
            self._seg_idx = torch.tensor(idx, device=self.device)
            self._seg_key = key
        n, lengths = self._seg_n, self._seg_lengths
        relu, sat = self._seg_mask
        # Segment sums over the concatenated outputs, one column at a time (no (N, 4) matrix):
        # the mean first, then squared deviations from it (two passes, no cancellation).
        flat = torch.cat([o.reshape(-1) for o in outs]).float()
        segsum = lambda v: torch.segment_reduce(v, "sum", lengths=lengths).double()  # noqa: E731
        mean = segsum(flat) / n
        dev = flat - mean.float().repeat_interleave(lengths, output_size=flat.numel())
        var = segsum(dev * dev) / (n - 1).clamp(min=1)
        nan = torch.full_like(mean, math.nan)
        zero = segsum((flat <= 0).float()) / n if self._seg_any[0] else nan
        satf = segsum(((flat <= self._seg_lo) | (flat >= self._seg_hi)).float()) / n if self._seg_any[1] else nan
        dead = nan.clone()
        for j, (i, o) in enumerate(zip(idx, outs)):
            if self.act_kinds[i] == "relu" and o.dim() >= 2 and o.shape[0] > 1:
                unit_dim = 1 if o.dim() == 4 else o.dim() - 1  # channels of an image, else features
                peak = o.detach().movedim(unit_dim, -1).reshape(-1, o.shape[unit_dim]).amax(0)
                dead[j] = (peak <= 0).double().mean()
        stats = torch.stack([mean, var.sqrt(), torch.where(relu, zero, nan), torch.where(sat, satf, nan), dead], 1)
        out[self._seg_idx] = stats.float()
        return out

    def _act_hists(self) -> torch.Tensor:
        """(A, ACT_HIST_BINS) counts of the sampled outputs per bin (clamped: the end bins hold what lies
        beyond the range); a NaN row for a layer whose hook did not fire.  2 ops per layer, on the device."""
        rows = []
        for o, (lo, hi) in zip(self._act_out, self.hist_ranges):
            rows.append(self._no_hist if o is None else torch.histc(o.float().clamp(lo, hi), ACT_HIST_BINS, lo, hi))
        return torch.stack(rows) if rows else torch.zeros((0, ACT_HIST_BINS), device=self.device)

    def step(self, loss: torch.Tensor | float | None = None) -> None:
        """Record this iteration.  Call once per iteration, after ``loss.backward()``."""
        if self._closed:
            raise WatchError("step() on a closed monitor")
        if isinstance(loss, torch.Tensor) and loss.numel() != 1:
            raise WatchError(f"step(loss) needs a scalar loss, got a tensor of shape {tuple(loss.shape)}; reduce it (e.g. loss.mean()) first")
        s = self.steps + 1
        if self._sampled(s):
            self._record(s)  # raises WatchError without gradients: then the step is not counted
        self.steps = s
        if loss is not None:
            self._losses.append(loss.detach().reshape(()).float() if isinstance(loss, torch.Tensor) else torch.tensor(float(loss)))
            self._loss_steps.append(s)
            self._lrs.append(self._current_lr())
        if self._sampled(s + 1):
            self._arm()
        else:
            self._disarm()
        if len(self._loss_steps) >= self.flush_every or len(self._rows) >= self.flush_every:
            self.flush()

    def _current_lr(self) -> float:
        """The first parameter group's learning rate now (a Python float; NaN without an optimizer)."""
        if self.optimizer is None or not self.optimizer.param_groups:
            return math.nan
        lr = self.optimizer.param_groups[0].get("lr", math.nan)
        return float(lr.item() if isinstance(lr, torch.Tensor) else lr)

    def _record(self, s: int) -> None:
        grads = [p.grad for p in self._params]
        if all(g is None for g in grads):
            raise WatchError("step() found no gradients: call it after loss.backward() and before optimizer.zero_grad()")
        with torch.no_grad():
            if any(g is None for g in grads):  # unused parameters: count them as zero gradient
                grads = [torch.zeros_like(p) if g is None else g for p, g in zip(self._params, grads)]
            L, P = len(self.layer_names), len(self._params)
            params = [p.detach() for p in self._params]
            have_update = self._snap is not None and self._snap_valid
            # One fused call for every L2 norm (gradients, weights, and for the update ratio the
            # update and the previous weights), one segment sum per layer: ~15 ops at any depth.
            tensors = grads + params + (list(torch._foreach_sub(params, self._snap)) + self._snap if have_update else [])
            sq = _stack(torch._foreach_norm(tensors)).reshape(-1, P) ** 2
            sums = torch.zeros(sq.shape[0], L, device=self.device).index_add_(1, self._owner, sq).sqrt()
            l1 = torch.zeros(L, device=self.device).index_add_(0, self._owner, _stack(torch._foreach_norm(grads, 1)))
            update = sums[2] / sums[3] if have_update else torch.full((L,), math.nan, device=self.device)
            self._snap_valid = False
            layers = torch.stack([sums[0], l1 / self._numel, sums[1], update], dim=1)
            if self._act_modules and self._armed and all(o is None for o in self._act_out) and self.model.training \
                    and not self._warned_hooks:
                # Never silently nothing: a model compiled after watch(), or run through
                # torch.func.functional_call, bypasses module hooks.
                self._warned_hooks = True
                warnings.warn(f"gradmedic: no activation hook fired before step {s}: was the model torch.compile'd after "
                              "watch(), or run without calling its modules? Activation statistics are unavailable; "
                              "gradient statistics are still recorded.", RuntimeWarning, stacklevel=3)
            acts = self._act_stats()
            hists = self._act_hists()
            if self._inputs is not None:
                x = self._inputs
                x = x.movedim(self._feature_dim, 0).reshape(x.shape[self._feature_dim], -1)  # (features, samples)
                std, mean = torch.std_mean(x.float(), dim=1)
                inputs = torch.stack([mean, std])
            else:
                inputs = torch.zeros((2, 0), device=self.device)
            out = self._out_stats()
        self._rows.append((s, layers, acts, inputs, hists, out))
        self._act_out = [None] * len(self._act_modules)
        self._inputs = None
        self._out = None

    def flush(self) -> Chunk | None:
        """Move pending records to the host (one transfer), append them to ``history``, tell listeners."""
        if not self._loss_steps and not self._rows:
            return None
        loss = torch.stack(self._losses).cpu().numpy().astype(np.float64) if self._losses else np.zeros(0)
        L, A = len(self.layer_names), len(self.act_names)
        if self._rows:
            layers = torch.stack([r[1] for r in self._rows]).cpu().numpy().astype(np.float64)
            acts = torch.stack([r[2] for r in self._rows]).cpu().numpy().astype(np.float64)
            f = max(r[3].shape[1] for r in self._rows)
            inputs = np.stack([r[3].cpu().numpy() if r[3].shape[1] == f else np.full((2, f), np.nan) for r in self._rows])
            # float32 holds every count exactly (up to 2^24) at half the memory of float64: the histograms
            # are 10x the size of all other statistics of a layer
            hists = torch.stack([r[4] for r in self._rows]).cpu().numpy().astype(np.float32)
            out = torch.stack([r[5] for r in self._rows]).cpu().numpy().astype(np.float64)
        else:
            layers, acts, inputs = np.zeros((0, L, len(LAYER_STATS))), np.zeros((0, A, len(ACT_STATS))), np.zeros((0, 2, 0))
            hists = np.zeros((0, A, ACT_HIST_BINS), dtype=np.float32)
            out = np.zeros((0, len(OUT_STATS)))
        chunk = Chunk(np.array(self._loss_steps, dtype=np.int64), loss, np.array([r[0] for r in self._rows], dtype=np.int64),
                      layers, acts, inputs.astype(np.float64), hists, np.array(self._lrs, dtype=np.float64), out)
        self._losses, self._loss_steps, self._rows, self._lrs = [], [], [], []
        self.history.append(chunk)
        for cb in self.on_flush:
            cb(chunk)
        return chunk

    # -- judging ------------------------------------------------------------------------------
    def diagnose(self):
        """Findings so far (flushes pending records first; may be called at any time)."""
        from .diagnose import Context, Thresholds, diagnose

        if not self._closed:
            self.flush()
        th = self.thresholds
        if th is None:
            th = Thresholds()
        elif isinstance(th, dict):
            th = Thresholds(**th)
        return diagnose(self.history, Context.from_monitor(self), th)

    def save(self, path: str, **meta: Any) -> None:
        """Write everything recorded so far, and what the doctor needs to judge it, to one ``.npz`` file
        (``gradmedic.casefile.load(path).diagnose()`` judges it later, e.g. with other thresholds)."""
        from .casefile import save

        save(self, path, **meta)

    def row_spread(self) -> list[tuple[str, int, float]]:
        """(layer, units, relative spread of its rows of incoming weights and bias) for Linear/Conv layers."""
        out = []
        with torch.no_grad():
            for name, m in self.model.named_modules():
                w = getattr(m, "weight", None)
                if not isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)) or w is None or w.shape[0] < 2:
                    continue
                rows = w.detach().reshape(w.shape[0], -1).double()
                if getattr(m, "bias", None) is not None:
                    rows = torch.cat([rows, m.bias.detach().double()[:, None]], 1)
                if not bool(torch.isfinite(rows).all()):
                    continue  # non-finite weights say nothing about symmetry
                mean = rows.mean(0, keepdim=True)
                dev = (rows - mean).norm(dim=1).max()
                scale = torch.maximum(rows.norm(dim=1).mean(), torch.tensor(1e-12, dtype=torch.float64, device=rows.device))
                spread = float(dev / scale) if float(rows.abs().max()) > 0 else 0.0
                out.append((name or type(m).__name__, int(w.shape[0]), spread))
        return out

    @property
    def act_types(self) -> list[str]:
        """The class name of each watched activation module (``ReLU``, ``GELU``, ...)."""
        return [type(m).__name__ for m in self._act_modules]

    # -- inspection --------------------------------------------------------------------------
    def nonfinite_layers(self) -> dict[str, list[str]]:
        """Layers whose current gradients or weights hold NaN/inf (a synchronising check; use on failure)."""
        bad_g, bad_w = [], []
        with torch.no_grad():
            for name, m in self.model.named_modules():
                ps = [p for p in m.parameters(recurse=False) if p.requires_grad]
                if not ps:
                    continue
                name = name or type(m).__name__
                if any(p.grad is not None and not torch.isfinite(p.grad).all() for p in ps):
                    bad_g.append(name)
                if any(not torch.isfinite(p).all() for p in ps):
                    bad_w.append(name)
        return {"gradients": bad_g, "weights": bad_w}


def _first_tensor(out: Any) -> torch.Tensor | None:
    """The first floating tensor of a model's output: the tensor itself, or the first in a tuple, list,
    dict or dataclass-like output (nanoGPT returns (logits, loss); Hugging Face models a ModelOutput)."""
    if isinstance(out, torch.Tensor):
        return out if out.is_floating_point() else None
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (tuple, list)):
        for o in out:
            if isinstance(o, torch.Tensor) and o.is_floating_point() and o.dim() >= 2:
                return o
    return None


def _stack(ts: list[torch.Tensor]) -> torch.Tensor:
    """Stack 0-d tensors as float32 (parameters of mixed dtypes give norms of mixed dtypes)."""
    if len({t.dtype for t in ts}) > 1:
        ts = [t.float() for t in ts]
    return torch.stack(ts).float()


def watch(model: nn.Module, optimizer: torch.optim.Optimizer | None = None, **kwargs) -> Monitor:
    """Attach a :class:`Monitor` to ``model``; use as ``with watch(model) as monitor:`` or call ``close()``.

    Keywords: ``every`` (sample statistics every N steps, default 25), ``flush_every`` (256),
    ``thresholds`` (a ``Thresholds`` or a dict of its fields), ``reference_loss`` (the loss of a
    chance-level prediction, when known: it tells the doctor what "learned nothing" means).
    """
    return Monitor(model, optimizer, **kwargs)
