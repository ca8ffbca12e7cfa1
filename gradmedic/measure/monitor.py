"""Measuring: per-layer statistics of any PyTorch model, recorded as training runs.

``Monitor`` attaches to a model, and at every ``every``-th call of :meth:`Monitor.step` records

- per *layer* (a module that owns parameters directly, named as in ``model.named_modules()``):
  gradient L2 norm, weight L2 norm, and update-to-weight ratio
  ``||w_t - w_{t-1}|| / ||w_{t-1}||`` (the update made between the previous ``step()`` and this one);
- per *activation module* of a known type: output mean and std, the share of outputs <= 0 for the
  ReLU family (exactly the zeros for ReLU), the share of its units (features; channels of an
  image) with no positive output for any input of the batch (``dead_frac``: a healthy unit fires
  for about half the inputs, so for a batch of 32 it is silent on all of them with odds 2^-32),
  and the share saturated for sigmoid and tanh (estimated on ``ACT_SAMPLES`` = 32 samples spread over the
  batch); what counts as silent, dead and saturated is defined once, in :mod:`gradmedic.measure.units`;
- per input feature of the first layer's input: mean and std (for the unscaled-input check);
- per activation module, a histogram of the first of those samples that hold ``HIST_VALUES`` = 2048 outputs
  (all 32 for a layer of up to 64 units): ``ACT_HIST_BINS`` = 40 equal bins
  over a range fixed by the module type (:func:`activation_range`; values beyond it are counted in
  the end bins), for the "colorful dimension" picture of a layer's distribution over time.

A layer without any gradient at a sampled step (frozen, unused) records NaN gradient statistics and
update ratio; a parameter shared by two modules (tied weights) is counted once, for the first.  With
the optimizer known, a sampled step not preceded by an optimizer step records the update ratio NaN
(gradient accumulation).  With a GradScaler passed (``scaler=``) gradients are read unscaled.  Of
repeated forward passes before a sampled step, the one made while the parameters had no gradient is
recorded (a GAN's discriminator is also run in the generator's step).

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
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from gradmedic.errors import WatchError
from gradmedic.measure import distributed as _dist
from gradmedic.measure import units
from gradmedic.measure.history import (  # noqa: F401  (re-exported: the contract)
    ACT_HIST_BINS,
    ACT_STATS,
    LAYER_STATS,
    OUT_STATS,
    Chunk,
    History,
)
from gradmedic.measure.hooks import Hooks
from gradmedic.measure.units import UNBOUNDED_RANGE, activation_kind, activation_range  # noqa: F401  (re-exported)

# Activation statistics are estimated from 32 samples of a batch: 32 x units values per
# layer estimate shares to a few percent, and a unit silent for all 32 inputs is still dead with
# odds 2^-32 against; larger batches would only cost time.
ACT_SAMPLES = 32


def _rows_over(t: torch.Tensor, k: int = ACT_SAMPLES) -> torch.Tensor:
    """k rows of a batch spread evenly over it (a view): rows 0, s, 2s, ... with s = N // k.  Not the first k: a
    full batch in the data's own order (the PyTorch tutorials fit sin(x) on linspace(-pi, pi, 2000)) starts with k
    neighbouring points, whose targets barely vary and whose units fire alike; a shuffled batch is a sample either way."""
    return t[:: max(1, t.shape[0] // k)][:k]
# The histograms (pictures only: no diagnosis reads them) count the first samples that give at least
# HIST_VALUES values per layer (all ACT_SAMPLES for a layer narrower than 64 units, one sample of a
# conv map of 2048 values or more): 2048 values over 40 bins are ~50 a bin, and a value in 2048 is below
# the picture's smallest drawn share (1e-3).  Counting all 32 x 256 outputs of the reference MLP's
# layers was half the time of its activation statistics.
HIST_VALUES = 2048
# The targets a squared error implies are reconstructed for at most this many output values (32 samples of up to 32,768
# each: a 181x181 image; an LM's logits, 32 x T x vocab, are left alone): two passes over them in float64.
MSE_CONST_VALUES = 2**20
# Sampled steps checked for gradients carried over an optimizer step (no zero_grad()): a few suffice, since a loop that
# never clears them carries them at every step; the bound keeps a long run's list of pending flags small.
CARRY_CHECKS = 64
# Later calls of the first layer in one sampled pass whose inputs are kept for the input-scale check (a discriminator
# called on the generator's batch and then on the real one: three calls a pass); the first calls of an RNN stepped
# by hand are alike, so a few tell as much as all.
MORE_INPUTS = 3
# A loop that updates by hand takes plain SGD steps when each step is parallel to the gradient it had: a cosine of at
# least this (8 degrees; float32 rounding of a step of 1e-5 of its weights costs ~1e-5 of it) - then the ratio of their
# norms is its learning rate (loop_facts optimizer "SGD", history.lr), read where it held within 1% since the sample
# before.
SGD_COSINE = 0.99
_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
# norm layers that may hold no parameters (affine=False; InstanceNorm's default): see Monitor._norm_after
_PARAM_FREE_NORMS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.RMSNorm)

_watched: weakref.WeakSet[nn.Module] = weakref.WeakSet()
# the open monitors: models trained side by side in one loop (a GAN's generator and discriminator) see each other step
_open: weakref.WeakSet = weakref.WeakSet()


class _Group(NamedTuple):
    """Activation outputs of one shape, kind and range, whose statistics are computed stacked (see
    ``Monitor._plan_groups``)."""

    members: list[int]  # indices into the activation entries
    rows: torch.Tensor  # the same, as a tensor (rows of the (A, 5) statistics)
    relu: bool  # ReLU family: share <= 0 is meaningful
    sat: tuple[float, float] | None  # sigmoid/tanh: the bounds of saturation
    hist_range: tuple[float, float]
    dead: bool  # dead units are measured (units.can_die, a batch of more than one sample)


class Monitor:
    """Records statistics of ``model`` each time :meth:`step` is called after ``backward()``.

    ``optimizer``: the optimizer of the loop (optional).  With it the monitor records the learning
    rate, counts the optimizer's real steps (a hook after ``optimizer.step()``) so that a sampled step
    not preceded by an update records the update ratio as NaN, not 0 (gradient accumulation, a step a
    GradScaler skipped), and learns how many micro-batches make one update (:attr:`loop_facts`).
    ``scaler``: the ``torch.amp.GradScaler`` of the loop, when there is one.  It must be passed:
    without it the monitor reads the scaled gradients, ``scale`` times too large.  With it the gradient
    statistics are divided by the current scale (unless ``scaler.unscale_(optimizer)`` already ran),
    and steps whose scaled gradients overflowed (the scaler skips them) record NaN gradient statistics
    and are counted in :attr:`skipped_steps`, not reported as non-finite gradients.
    ``every``: sample layer and activation statistics every N steps (the loss is kept every step).  Step 2's
    forward pass is also watched, and recorded only when the loop dies in it with non-finite values (the first
    update threw the weights away: see ``_record_broken_pass``).
    ``flush_every``: steps between host transfers.  ``on_flush``: callbacks given each new Chunk.

    After recording: :attr:`notes` (what could not be measured, and what the loop was seen to do
    wrong), :attr:`clip_norm_seen`, :attr:`skipped_steps` and :attr:`loop_facts`.
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer | None = None, *, every: int = 25,
                 flush_every: int = 256, on_flush: list[Callable[[Chunk], None]] | None = None,
                 max_rows: int = 20_000, thresholds: Any = None, reference_loss: float | None = None,
                 scaler: Any = None):
        self._compiled = False
        outer = model
        if not isinstance(model, nn.Module):
            raise WatchError(f"watch() needs a torch.nn.Module, got {type(model).__name__}")
        model = _dist.unwrap(model)  # DDP(model): watch model (names without "module."); FSDP2 refused
        if type(model).__name__ == "OptimizedModule" and isinstance(getattr(model, "_orig_mod", None), nn.Module):
            # torch.compile's wrapper runs the original modules, and dynamo honours their hooks:
            # watch those (layer names are the original ones, without the "_orig_mod." prefix).
            model = model._orig_mod
            self._compiled = True
        if model in _watched:
            raise WatchError("this model is already watched; close() the first monitor before watching it again")
        if every < 1 or flush_every < 1 or max_rows < 1:
            raise WatchError("every, flush_every and max_rows must be >= 1")
        if scaler is not None and not (hasattr(scaler, "is_enabled") and hasattr(scaler, "scale")):
            raise WatchError(f"scaler= needs a torch.amp.GradScaler, got {type(scaler).__name__}")
        self.model, self.optimizer, self.scaler = model, optimizer, scaler
        self._outer = outer  # the module the loop calls (the compiled wrapper, when compiled)
        self.every, self.flush_every = every, flush_every
        self.thresholds = thresholds
        self.reference_loss = reference_loss  # e.g. chance-level loss, ln(n_classes) for cross-entropy
        self.spec = None  # set by the trainer, so remedies can be spec changes
        self.regression = False
        self.on_flush = list(on_flush or [])

        self.layer_names: list[str] = []
        self.layer_types: list[str] = []
        self._layer_objs: list[nn.Module] = []
        self._params: list[torch.Tensor] = []
        owner: list[int] = []
        seen: set[int] = set()
        for name, m in model.named_modules():
            # A parameter shared by two modules (tied embeddings: nanoGPT's wte and lm_head) is counted
            # once, for the first module that owns it; the second is a layer only if it owns others.
            ps = [p for p in _own_parameters(m) if p.requires_grad and id(p) not in seen]
            seen.update(id(p) for p in ps)
            if ps:
                self.layer_names.append(name or type(m).__name__)
                self.layer_types.append(_layer_kind(m))
                self._layer_objs.append(m)
                self._params += ps
                owner += [len(self.layer_names) - 1] * len(ps)
        if not self._params:
            raise WatchError("the model has no trainable parameters: nothing to watch")
        # layers a norm layer with no parameters of its own follows (BatchNorm2d(affine=False), InstanceNorm's default):
        # such a norm is no layer here, so the layer list cannot show it; the doctor reads these as normalized like any
        # other (lukasruff's Deep SVDD LeNet, a bias-free conv then an affine-free BatchNorm, took raw 0..255 pixels as
        # [0, 1] and was told unscaled_inputs; public set 119, after it was scored).  In registration order, as the
        # layer list itself: the parameter-free modules between a layer and the next one.
        self._norm_after: list[str] = []
        last: str | None = None
        layer_ids = {id(m): n for n, m in zip(self.layer_names, self._layer_objs, strict=True)}
        for _, m in model.named_modules():
            if id(m) in layer_ids:
                last = layer_ids[id(m)]
            elif last is not None and isinstance(m, _PARAM_FREE_NORMS) and not _own_parameters(m) \
                    and last not in self._norm_after:
                self._norm_after.append(last)
        # what watch() leaves out because it cannot learn (requires_grad=False): a finding when it is nearly all
        frozen = [(name, p.numel()) for name, p in model.named_parameters() if not p.requires_grad]
        self._frozen = {"frozen_params": int(sum(n for _, n in frozen)),
                        "params": int(sum(p.numel() for p in model.parameters())),
                        "frozen_modules": list(dict.fromkeys(name.split(".")[0] for name, _ in frozen))[:8]}
        # trainable parameters the optimizer does not hold: none held at all is an optimizer built for another instance
        # of the model (re-created after it), whose step() never moves these weights
        groups = getattr(optimizer, "param_groups", None) if optimizer is not None else None
        if groups:
            held = {id(p) for g in groups for p in g.get("params", [])}
            self._frozen["unoptimized_params"] = int(sum(p.numel() for p in self._params if id(p) not in held))
        # each layer's weights against its fan-in as watch() found them (units.row_gain): an init far too large
        by_layer: list[list[torch.Tensor]] = [[] for _ in self.layer_names]
        for prm, o in zip(self._params, owner, strict=True):
            by_layer[o].append(prm)
        with torch.no_grad():  # (a module PyTorch did not define may keep its matrix either way round)
            self.weight_gain = [units.row_gain(ps, layout_known=type(m).__module__.startswith("torch."))
                                for ps, m in zip(by_layer, self._layer_objs, strict=True)]
        # whether the units start identical (row_spread at the first step(), before the first update: a loop may apply
        # its init after watch(), as udlbook's notebooks do): units drawn alike in every layer are the classic constant
        # init, which float rounding or dropout may later break by a little
        self.spread_at_start: list[tuple[str, int, float]] = []
        # The layer the data enters: the first registered until the first sampled training pass shows the first to run
        # (see _order_hook: nn.Transformer registers its encoder layers before a subclass's embedding)
        self._first_layer = next(m for _, m in model.named_modules() if any(True for _ in _own_parameters(m)))
        self._order_known = False
        self._ran: set[nn.Module] = set()  # the layer modules that ran in the first sampled training pass (see _order_hook)
        self._last_ran: nn.Module | None = None  # ... and the last of them to start
        self._run_order: list[nn.Module] = []  # ... in the order they first started (a layer and the norm run after it)
        # Where the output the loss sees is read: the watched module's own output, or - when its forward never runs through
        # __call__ (a LightningModule whose training_step calls self.forward(x); an encoder and a decoder called one by
        # one) - the output of the last layer to run in a training pass, in most models the head that makes the logits
        self._out_module: nn.Module | None = None
        # Features are along dim 1 for convolutions (N, C, ...), along the last dim otherwise (N, [T,] F).
        self._feature_dim = 1 if isinstance(self._first_layer, _CONV) else -1
        self.device = self._params[0].device
        self._owner = torch.tensor(owner, device=self.device)

        self.act_names, self.act_kinds, self._act_modules = [], [], []
        self._act_src: list[str] = []  # "out": an activation module's output; "in": a Linear/Conv layer's input
        for name, m, kind in units.activation_modules(model):
            self.act_names.append(name)
            self.act_kinds.append(kind)
            self._act_modules.append(m)
            self._act_src.append("out")
        self._notes: list[str] = []
        if all(t in ("ParameterList", "ParameterDict") for t in self.layer_types):
            # the layers that use these weights are not submodules (philipperemy's N-BEATS keeps its blocks in a plain
            # Python list and registers their weights through one nn.ParameterList; public set 102): watch() sees no
            # Linear, no activation, no input - say why every per-layer check is blind
            self._notes.append(f"every trainable weight is registered only through {', '.join(self.layer_names[:3])} "
                               f"({'/'.join(sorted(set(self.layer_types)))}): the layers that use them are not submodules "
                               "(kept in a plain Python list?), so watch() sees them as one layer, with no activations or "
                               "inputs to read; hold them in an nn.ModuleList to have each layer watched")
        rnn = any(isinstance(m, nn.RNNBase) for m in model.modules())
        if not self._act_modules:
            # Functional activations (F.relu in forward) leave nothing to hook.  ReLU outputs exact
            # zeros, so a feature of a Linear/Conv layer's input that is 0 for every sampled sample is
            # a silent unit of whatever produced it: measure dead units there (not the model's first
            # layer, whose input is data; at run time only inputs computed from trained parameters).
            for name, m in model.named_modules():
                if isinstance(m, (nn.Linear, *_CONV)) and m is not self._first_layer:
                    self.act_names.append(f"{name or type(m).__name__}.input")
                    self.act_kinds.append("relu")
                    self._act_modules.append(m)
                    self._act_src.append("in")
            measured = " dead units are measured instead as features that are exactly 0 for every sampled " \
                       "sample at the input of Linear/Conv layers (the '.input' entries);" if self._act_modules else ""
            self._notes.append("dead/saturated-unit checks are off: no activation module to hook (functional "
                               "activations such as F.relu, or gates inside nn.LSTM/GRU);" + measured
                               + " gradient, update and loss checks still run")
        elif rnn:
            self._notes.append("the gates inside nn.LSTM/GRU/RNN are not hooked: their saturation is not measured")
        # (an '.input' entry follows a functional activation, F.relu as a rule: exact zeros there are dead)
        self._can_die = [src == "in" or units.can_die(m) for m, src in zip(self._act_modules, self._act_src, strict=True)]
        self._sat = [(units.saturation_bounds(m) if k == "saturating" and src == "out" else None)
                     for m, k, src in zip(self._act_modules, self.act_kinds, self._act_src, strict=False)]
        self.hist_ranges = [activation_range(m) if src == "out" else (0.0, UNBOUNDED_RANGE)
                            for m, src in zip(self._act_modules, self._act_src, strict=False)]
        self._out_idx = [i for i, src in enumerate(self._act_src) if src == "out"]
        self._in_idx = [i for i, src in enumerate(self._act_src) if src == "in"]

        self.history = History(self.layer_names, self.act_names, self.act_kinds, max_rows=max_rows,
                               hist_ranges=self.hist_ranges, act_units=[0] * len(self.act_names))
        self.steps = 0
        self._losses: list[torch.Tensor] = []
        self._loss_steps: list[int] = []
        self._rows: list[tuple] = []
        self._nan0 = torch.tensor(math.nan, device=self.device)
        self._false0 = torch.tensor(False, device=self.device)
        self._act_out: list[torch.Tensor | None] = [None] * len(self._act_modules)
        self._inputs: torch.Tensor | None = None
        self._more_inputs: list[torch.Tensor] = []  # later calls of the first layer in the same sampled pass (see _input_hook)
        self._whole: dict[tuple[int, int], bool] = {}  # (first layer, input width) -> _takes_whole
        self._out: torch.Tensor | None = None
        self._out_channels_first = False  # (the output is a convolution's (N, C, ...): read with C last)
        self._out_grad: torch.Tensor | None = None
        self._out_mse: torch.Tensor | None = None
        self._out_const: torch.Tensor | None = None
        self._cap_fresh: bool | None = None  # None: nothing captured; else whether it came from a fresh pass
        self._pass_fresh = True
        self._lrs: list[float | torch.Tensor] = []
        self._seg_key: tuple | None = None
        self._grad_key: tuple | None = None
        self._warned_hooks = False
        self._warned_order = False
        self._seen_grad = False  # a nonzero gradient recorded (then step() is not before backward())
        self._hooks = Hooks()
        self._snap: list[torch.Tensor] | None = None
        self._skipped = 0
        self._skip_flags: list[torch.Tensor] = []  # pending (not yet flushed) skip flags
        # optimizer steps, counted by a hook: the update ratio needs an update to measure
        self._opt_steps, self._snap_opt, self._last_opt_at = 0, 0, None
        self._gaps: dict[int, int] = {}
        self._opt_hook = self._opt_pre_hook = None
        # (on the optimizer that steps: a wrapper's step - accelerate's AcceleratedOptimizer, which skips the inner step
        # on accumulation micro-steps - is not an optimizer step, and accelerate's has no hooks of its own)
        inner = _inner_optimizer(optimizer)
        if inner is not None and hasattr(inner, "register_step_post_hook"):
            self._opt_hook = inner.register_step_post_hook(self._on_opt_step)
        if inner is not None and hasattr(inner, "register_step_pre_hook"):
            self._opt_pre_hook = inner.register_step_pre_hook(self._on_opt_pre_step)
        # a clip between step() and optimizer.step(), seen without being told: one gradient tensor's norm at a sampled
        # step() and again when the optimizer steps (see _on_opt_pre_step)
        self._probe: tuple[int, torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        self._probe_key: tuple | None = None  # the set of parameters with a gradient the probe was chosen for
        self._probe_at = 0
        self._clip_probes: deque[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = deque(maxlen=256)  # the latest
        # gradients carried over an optimizer step (no zero_grad()): on a sampled step, the first backward() after
        # optimizer.step() finds the last parameter's .grad still holding what that step used (see _carry_hook)
        self._carry_after_step = False
        self._carry_backwards = 0
        self._carry_pending: tuple[int, torch.Tensor, torch.Tensor] | None = None  # (step, carried, judged)
        # .grad as the first backward() after a step found it, and the sum of what backward() handed it since (_carry_hook)
        self._carry_expect: tuple[torch.Tensor, torch.Tensor] | None = None
        self._carry_snap: torch.Tensor | None = None  # the last parameter's gradient norm as the weights were updated
        self._carry: list[tuple[int, torch.Tensor, torch.Tensor]] = []
        # a loop without an optimizer (weights updated by hand): the gradients step() saw before the update, and from
        # each sampled update its rate and whether it followed them (see _hand_rate)
        self._gsnap: list[torch.Tensor | None] | None = None
        self._gref: list[torch.Tensor | None] | None = None  # the .grad tensors themselves, as step() saw them
        # what the sampled updates said, on the device (no host sync): how many were read, whether every one followed
        # its gradient, whether the rate held from one to the next at least once, the last (rate, cosine), and the rate
        # of the last update that followed the gradient at a held rate (NaN before one did)
        self._hand_n = 0
        self._hand_all: torch.Tensor | None = None
        self._hand_held: torch.Tensor | None = None
        self._hand_prev: tuple[torch.Tensor, torch.Tensor] | None = None
        self._hand_rate_held: torch.Tensor | None = None
        self._hand_lr: float | torch.Tensor = math.nan  # the rate in force for history.lr (NaN where not read)
        self._carry_handle = None  # the hook, on while a sampled step is armed (no cost on other steps)
        self._closed = False
        self._closers: list[Callable[[], None]] = []  # watch(log_to=...)'s writers
        # several processes: each flush's records combined across ranks in one collective
        self._reduce = _dist.Reducer(self) if _dist.active() else None
        _watched.add(model)
        self._peer_steps: dict[int, int] = {}  # another open monitor's step count at this one's last sampled step
        self._peers = 0  # the most other monitors seen stepping between two of this one's sampled steps
        _open.add(self)
        if self._sampled(1):
            self._arm()

    # -- context manager -------------------------------------------------------------------
    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Flush what is pending and remove every hook."""
        if self._closed:
            return
        self._record_broken_pass()
        self.flush()
        self._disarm()
        self._hooks.remove()
        for f in self._closers + ([self._reduce.close] if self._reduce is not None else []):
            f()
        for hook in (self._opt_hook, self._opt_pre_hook, self._carry_handle):
            if hook is not None:
                hook.remove()
        self._opt_hook = self._opt_pre_hook = self._carry_handle = None
        _watched.discard(self.model)
        _open.discard(self)
        self._closed = True

    # -- what the loop does ------------------------------------------------------------------
    def _on_opt_step(self, optimizer, args, kwargs) -> None:
        self._opt_steps += 1
        self._carry_after_step, self._carry_backwards, self._carry_pending = True, 0, None
        if self._carry_handle is not None:  # (a sampled step's check is armed: see _carry_hook)
            self._carry_snap = _grad_norm_of(self._params[-1])
        if self._last_opt_at is not None and self.steps > self._last_opt_at:
            gap = self.steps - self._last_opt_at
            self._gaps[gap] = self._gaps.get(gap, 0) + 1
        self._last_opt_at = self.steps

    def _carry_hook(self, grad: torch.Tensor) -> None:
        """Runs as backward() reaches the last parameter, before autograd adds ``grad`` to its ``.grad``.  On the
        first backward() after optimizer.step() that feeds a sampled step, a ``.grad`` still nonzero was not cleared
        since that step: zero_grad() missing, so every step adds all past gradients - if step() then finds .grad holding
        that old gradient plus what backward() handed it since (see step()): a GAN's discriminator legitimately holds its
        gradients when the generator's loss flows back through it, then zeroes them before its own two backward() calls,
        and a loop may assign .grad itself."""
        self._carry_backwards += 1
        if not self._carry_after_step and self._carry_expect is not None and self._carry_expect[1].numel() == grad.numel():
            with torch.no_grad():  # (a later backward() of the same step: the sum of what backward() hands .grad)
                self._carry_expect[1].add_(grad.detach().flatten().float())
        if self._carry_after_step:
            self._carry_after_step = False
            g = self._params[-1].grad
            carried = g.ne(0).any() if g is not None else self._false0
            judged = ~self._false0
            snap, self._carry_snap = self._carry_snap, None
            if g is not None and snap is not None:
                # the very gradient the update used, not one decayed by a factor on purpose: fast.ai's MomentumLearner
                # replaces zero_grad() with p.grad *= 0.85, a running sum that is its momentum (course22p2's miniai,
                # public set 33: 18 of 18 checks read as carried on a loop that trains to 0.98).  A norm gone
                # non-finite cannot be compared: that check is not judged.
                now = _grad_norm_of(self._params[-1])
                carried = carried & ((now - snap).abs() <= 1e-3 * snap)
                judged = torch.isfinite(now) & torch.isfinite(snap)
            if g is not None:
                # what .grad holds after this backward() if autograd adds to it: checked at step(), since a loop may set
                # .grad itself instead (MAML's meta-gradient from torch.autograd.grad, assigned p.grad = g: the hook fires
                # while the last step's gradient is still there, yet nothing is summed; vmikulik's MAML, public set 126)
                with torch.no_grad():
                    self._carry_expect = (g.detach().flatten().float().clone(), grad.detach().flatten().float().clone())
            self._carry_pending = (self.steps + 1, carried, judged)

    def _on_opt_pre_step(self, optimizer, args, kwargs) -> None:
        """A sampled step's probe gradient read again as the optimizer steps: ``clip_grad_norm_`` (or a GradScaler's
        unscale, already undone in the recorded norms) scales every gradient in place between ``step()`` and here, so
        the probe's norm now over its norm then is the clip's factor.  Only when no ``step()`` came in between (under
        gradient accumulation later micro-batches add to the same tensor)."""
        probe, self._probe = self._probe, None
        closure = kwargs.get("closure", args[1] if len(args) > 1 else None)  # (args[0] is the optimizer itself)
        if probe is None or probe[0] != self.steps or closure is not None:
            return  # (a closure - LBFGS - recomputes the gradients inside step(): a changed norm is not a clip)
        _, g, before, total = probe
        with torch.inference_mode():
            low = g.dtype in (torch.float16, torch.bfloat16)  # (a float64 gradient cannot be normed into float32)
            after = torch.linalg.vector_norm(g, dtype=torch.float32) if low else torch.linalg.vector_norm(g).float()
        self._clip_probes.append((before, after, total))

    def _scaler_on(self) -> bool:
        sc = self.scaler
        return sc is not None and bool(sc.is_enabled())

    def _grads_scaled(self) -> bool:
        """Whether the gradients are still multiplied by the scaler's scale (no ``unscale_`` yet)."""
        sc = self.scaler
        if not self._scaler_on() or getattr(sc, "_scale", None) is None:
            return False
        states = getattr(sc, "_per_optimizer_states", {})
        stage = lambda st: getattr(st.get("stage"), "name", "READY")  # noqa: E731
        if self.optimizer is not None:
            st = states.get(id(self.optimizer))  # .get: the defaultdict must not grow an entry
            return st is None or stage(st) == "READY"
        return all(stage(st) == "READY" for st in states.values())

    @property
    def skipped_steps(self) -> int:
        """Sampled steps whose GradScaler-scaled gradients overflowed (the scaler skipped them; they
        record NaN gradient statistics).  Reading it waits for the device."""
        return self._skipped + (int(torch.stack(self._skip_flags).sum()) if self._skip_flags else 0)

    def _clip_seen(self) -> float | None:
        seen = self.history.clip_seen()
        return seen if seen is not None else self._clip_probed()

    def _clip_probed(self) -> float | None:
        """About the max norm of a clip made after ``step()`` (see _on_opt_pre_step): the recorded total norm times the
        clip's factor, median over the sampled steps it clipped (factor below 1 - 1e-3: float32 rounding leaves an
        unclipped gradient's norm equal to ~1e-7)."""
        if not self._clip_probes:
            return None
        b, a, t = (torch.stack(x).double().cpu().numpy() for x in zip(*self._clip_probes, strict=True))
        # (a probe read after zero_grad(set_to_none=False) zeroed it - an optimizer whose closure runs the next
        # backward inside step() - is 0: not a clip)
        ok = np.isfinite(a) & np.isfinite(b) & np.isfinite(t) & (b > 0) & (a > 0)
        r = np.where(ok, a / np.where(ok, b, 1.0), 1.0)
        clipped = ok & (r < 1 - 1e-3)
        return float(np.median(r[clipped] * t[clipped])) if clipped.any() else None

    @property
    def clip_norm_seen(self) -> float | None:
        """About the ``max_norm`` the loop clips the total gradient norm to, or None when no clipping was seen
        (``History.clip_seen``: from the pre-clip norms ``step(loss, grad_norm=...)`` was given, else from a total
        norm that sits at one value)."""
        if not self._closed and self._reduce is None:  # distributed: only step() and close() flush (collectively)
            self.flush()
        return self._clip_seen()

    @property
    def notes(self) -> list[str]:
        """What the monitor could not measure, and what it saw the loop do (read by ``diagnose``)."""
        notes = list(self._notes)
        c = self.history.clip_seen()
        if c is not None:
            notes.append(f"the loop clips gradients to a total norm of about {c:.3g} (recorded gradient norms are "
                         "after clipping; the pre-clip norms are in history.pre_clip_norm)")
        elif (c := self._clip_probed()) is not None:
            notes.append(f"the loop clips gradients to a total norm of about {c:.3g} after step() (recorded gradient "
                         "norms are before clipping)")
        return notes

    @property
    def loop_facts(self) -> dict[str, Any]:
        """What the training loop already does, for remedies not to suggest it again:

        ``clips``: the max norm it clips gradients to (:attr:`clip_norm_seen`), or None;
        ``scaler``: whether an enabled GradScaler was passed; ``accumulation``: micro-batches
        (``step()`` calls) per optimizer step when seen, else 1; ``optimizer``: its class name or None;
        ``lr``: the first parameter group's learning rate now, or None; ``momentum``: its momentum (SGD, RMSprop), or
        None; ``carry_checks`` and ``grads_carried``: of the sampled steps checked, how many found the last step's
        gradients still in ``.grad`` (no zero_grad()), ``grads_carried_at`` the first of them; ``unused_layers``: the
        layers whose module did not run in the first sampled training pass (built but never called; None before such a
        pass); ``co_watched``: the most other monitors seen stepping between two of this one's sampled steps (models
        trained side by side in one loop, as a GAN's two); ``unoptimized_params``: trainable parameters the optimizer
        does not hold (absent without an optimizer); ``frozen_params``, ``params`` and ``frozen_modules``: the model's
        parameters with requires_grad=False at watch(), of how many, in which top-level modules; ``replaced_layers``:
        the layers whose module now holds a trainable parameter that watch() was not given (assigned a new nn.Parameter
        after it: an EMA codebook re-created each step, or a head replaced after the optimizer was built);
        ``output_calls``: the most times the module whose output is read ran in one sampled training pass (more than 1: a
        recurrent cell called per time step, whose loss may sum over the calls; 0 before such a pass); ``by_hand``: no
        optimizer, and every sampled update (two at least) was a plain SGD step along the gradient step() saw - then
        ``optimizer`` is "SGD" and ``lr`` the rate read from the last one (see ``SGD_COSINE``); ``norm_after``: the layers
        a norm layer without parameters of its own follows (BatchNorm2d(affine=False)), which the layer list cannot show;
        ``ended``: close() has run - the loop is over, so the last sample is the run's end, not a moment in it.
        """
        lr = self._current_lr()
        watched = {id(p) for p in self._params}
        replaced = [n for n, m in zip(self.layer_names, self._layer_objs, strict=True)
                    if any(p.requires_grad and id(p) not in watched for p in _own_parameters(m))]
        acc = max(self._gaps.items(), key=lambda kv: (kv[1], -kv[0]))[0] if self._gaps else 1
        judged = [(s, bool(c)) for s, c, j in self._carry if bool(j)]
        carried = [s for s, c in judged if c]
        groups = getattr(self.optimizer, "param_groups", None) if self.optimizer is not None else None
        momentum = groups[0].get("momentum") if groups else None
        optimizer = type(_inner_optimizer(self.optimizer)).__name__ if self.optimizer is not None else None
        by_hand = self.optimizer is None and self._hand_n >= 2 and bool(self._hand_all) and bool(self._hand_held)
        if by_hand:  # every sampled update followed the gradient, at a rate held from one sample to the next (_hand_rate)
            optimizer = "SGD"
            if not math.isfinite(lr):
                lr = float(self._hand_rate_held)
        return {"by_hand": by_hand, "clips": self.clip_norm_seen, "scaler": self._scaler_on(), "accumulation": int(acc),
                "momentum": float(momentum) if isinstance(momentum, (int, float)) else None,
                "carry_checks": len(judged), "grads_carried": len(carried),
                "grads_carried_at": carried[0] if carried else None,
                "optimizer": optimizer,
                "lr": lr if math.isfinite(lr) else None,
                "unused_layers": [n for n, m in zip(self.layer_names, self._layer_objs, strict=True) if m not in self._ran]
                if self._order_known else None, "co_watched": self._peers, "replaced_layers": replaced,
                "output_calls": self._out_calls_seen, "norm_after": list(self._norm_after), "ended": self._closed,
                "run_order": self._run_names() if self._order_known else None,
                **self._frozen}

    def _run_names(self) -> list[str]:
        """The watched layers' names in the order they first started in a training pass (loop_facts ``run_order``)."""
        name = {id(m): n for n, m in zip(self.layer_names, self._layer_objs, strict=True)}
        return [name[id(m)] for m in self._run_order if id(m) in name]

    # -- recording ---------------------------------------------------------------------------
    def _sampled(self, step: int) -> bool:
        return (step - 1) % self.every == 0

    def _arm(self) -> None:
        """Before a sampled step's forward pass: hooks on, weights snapshotted."""
        self._armed = True
        if self._carry_handle is None and len(self._carry) < CARRY_CHECKS:
            # (before this step's optimizer.step(), whose hook opens the check for the next backward(); a loop that
            # updates the weights by hand - fast.ai's fit(), word_language_model - has no optimizer to hook: its step is
            # the one step() ends, so the next backward() is the first after it)
            self._carry_after_step, self._carry_backwards = self._opt_hook is None, 0
            self._carry_handle = self._params[-1].register_hook(self._carry_hook)
            if self._opt_hook is None:  # (the gradient this step() saw is the one a hand update uses)
                self._carry_snap = _grad_norm_of(self._params[-1])
        if not (self._compiled and self._hooks):
            # Eager: hooks only for sampled passes, so other steps run at unwatched speed.  Compiled:
            # installed once and kept, since dynamo does not retrace for hooks added after compiling.
            h = self._hooks
            h.remove()
            h.input(self._outer, self._pass_hook)
            for i, m in enumerate(self._act_modules):
                if self._act_src[i] == "out":
                    h.output(m, self._make_act_hook(i))
                else:
                    h.input(m, self._make_in_hook(i))
            h.input(self._first_layer, self._input_hook)
            if not self._order_known and not self._compiled:
                for m in dict.fromkeys(self._layer_objs):  # (once: until a training pass has shown the order)
                    h.input(m, self._order_hook)
            h.output(self._out_module or self.model, self._output_hook)
        with torch.inference_mode():  # the snapshot is the monitor's own: never part of a graph (see _record)
            params = [p.detach() for p in self._params]
            if self._snap is None:
                self._snap = [p.clone() for p in params]
                self._snap_norms = torch._foreach_norm(params)
            elif self.device.type == "cpu":
                # ||w_{t-1}|| for the update ratio, each tensor right after its copy, while in cache
                self._snap_norms = [torch.linalg.vector_norm(s.copy_(p)) for s, p in zip(self._snap, params, strict=False)]
            else:
                torch._foreach_copy_(self._snap, params)
                self._snap_norms = torch._foreach_norm(params)
            if self.optimizer is None:  # (the gradient this step() saw is the one a hand update uses next)
                self._gsnap = [p.grad.detach().clone() if p.grad is not None and p.requires_grad else None
                               for p in self._params]
                self._gref = [p.grad for p in self._params]
        self._snap_valid = True
        self._snap_opt = self._opt_steps

    _snap_valid = False
    _armed = False
    _sparse_noted = False
    _sliced_noted = False
    _outer_ran = False  # the watched module's own forward ran on an armed step (its output is what the loss sees)
    _out_calls = 0  # calls of the output's module in the sampled pass under way ...
    _out_calls_seen = 0  # ... and the most in any sampled pass so far
    _outer_noted = False

    def _disarm(self) -> None:
        self._armed = False
        if not self._compiled:
            self._hooks.remove()

    def _clear_capture(self) -> None:
        self._out_calls = 0
        self._act_out = [None] * len(self._act_modules)
        self._inputs = None
        self._more_inputs = []
        self._out = None
        self._out_grad = None
        self._out_mse = None
        self._out_const = None
        self._cap_fresh = None

    def _pass_hook(self, module, args):
        # A forward pass that starts a fresh gradient accumulation (the parameters have no gradient:
        # zero_grad(set_to_none=True) ran) is the pass of this model's own training step; a pass made
        # while gradients exist (a GAN's discriminator run in the generator's step, D(G(z))) is kept
        # only until such a fresh pass comes.
        self._outer_ran = True
        if self._armed and module.training and torch.is_grad_enabled():
            self._pass_fresh = self._params[0].grad is None
            if self._pass_fresh and self._cap_fresh is False:
                self._clear_capture()

    def _captured(self) -> None:
        if self._cap_fresh is None:
            self._cap_fresh = self._pass_fresh

    def _make_act_hook(self, i: int):
        # The hook only keeps a reference (autograd holds these outputs until backward anyway);
        # all statistics are computed in one batched pass in step(), ~15 ops whatever the depth.
        def hook(module, args, out):
            if self._armed and self._act_out[i] is None and module.training and torch.is_grad_enabled() \
                    and isinstance(out, torch.Tensor) and out.is_floating_point() and out.layout == torch.strided \
                    and out.numel() > 0:
                o = out.detach()
                self._act_out[i] = _rows_over(o) if o.dim() >= 2 else o
                self._captured()
        return hook

    def _make_in_hook(self, i: int):
        # The input of a Linear/Conv layer, for dead units of a model with functional activations; only
        # inputs computed from trained parameters (requires_grad), not data.
        def hook(module, args):
            if self._armed and self._act_out[i] is None and module.training and torch.is_grad_enabled() and args:
                x = args[0]
                if isinstance(x, torch.Tensor) and x.requires_grad and x.is_floating_point() and x.dim() >= 2 \
                        and x.shape[0] > 1 and x.layout == torch.strided:
                    self._act_out[i] = _rows_over(x.detach())
                    self._captured()
        return hook

    def _order_hook(self, module, args):
        """The first layer to run in a training pass is the one the data enters: its input is the one measured.  And
        the layers that run at all in that pass (a module built but never called is unused, not disconnected)."""
        if self._order_known or not (self._armed and module.training and torch.is_grad_enabled()):
            return
        first = not self._ran
        if module not in self._ran:
            self._run_order.append(module)
        self._ran.add(module)
        self._last_ran = module
        if first and module is not self._first_layer:
            self._first_layer = module
            self._feature_dim = 1 if isinstance(module, _CONV) else -1
            self._input_hook(module, args)

    def _input_hook(self, module, args):
        if (self._armed and module is self._first_layer and module.training and torch.is_grad_enabled() and args
                and (self._inputs is None or len(self._more_inputs) < MORE_INPUTS)):
            x = args[0]
            if isinstance(x, torch.Tensor) and x.is_floating_point() and x.dim() >= 2 and x.shape[0] > 1:
                if self._inputs is not None:
                    # the same layer called again in this pass (a discriminator sees the generator's batch, then the
                    # real one): kept when its features match, and _record reads the call of the largest scale, since
                    # the input-scale check asks whether any input the model trains on is far from unit scale
                    if x.layout == torch.strided and x.shape[self._feature_dim] == self._inputs.shape[self._feature_dim]:
                        self._more_inputs.append(x.detach())
                    return
                if x.layout != torch.strided:  # a sparse input (pytorch/examples gcn's features): per-feature stats need
                    if not self._sparse_noted:  # a dense copy as large as the data, so the input-scale check is off
                        self._sparse_noted = True
                        self._notes.append(f"the input scale check is off: the model's input is a {x.layout} tensor "
                                           "(per-feature statistics are measured on dense inputs only)")
                    return
                key = (id(module), x.shape[self._feature_dim])
                if key not in self._whole:  # (judged once per layer and width: a walk over its submodules)
                    self._whole[key] = _takes_whole(module, x.shape[self._feature_dim])
                if not self._whole[key]:
                    # the first layer's own weights take none of the input whole: it slices or indexes it (DeepCTR-Torch's
                    # Linear is fed the whole table, 8 columns of category ids as floats and 5 dense features, and its
                    # weight covers the 5; the ids go to embeddings) - the columns' scale is then no pre-activation's
                    # (its DCN was told unscaled_inputs on all its healthy runs; public set 172, after it was scored)
                    if not self._sliced_noted:
                        self._sliced_noted = True
                        self._notes.append(f"the input scale check is off: {type(module).__name__}, the first layer to "
                                           f"run, has no weight that takes the input's {x.shape[self._feature_dim]} "
                                           "features whole (it slices or indexes them)")
                    return
                self._inputs = x.detach()
                self._captured()

    def _output_hook(self, module, args, out):
        if self._armed and module.training and torch.is_grad_enabled():
            self._out_calls += 1  # (a char-RNN called once per character: the loss may sum what those calls output)
        if self._armed and self._out is None and module.training and torch.is_grad_enabled():
            t = _first_tensor(out)
            # (N, ...) outputs, a batch of one included (the word-embedding and char-RNN tutorials step per sample: the
            # width and the gradient at the output still tell the loss's chance level, the spread across the batch is not
            # measured); and (N,) with N > 1, one score per sample squeezed (a regression's .squeeze(), a binary
            # classifier's .view(-1)): read as (N, 1).  Not a 0-d tensor (a loss the model returns) nor (1,).
            if t is not None and t.layout == torch.strided and t.is_floating_point() and (
                    t.dim() >= 2 or (t.dim() == 1 and t.shape[0] > 1)):
                # a convolution's output keeps its channels on dim 1, (N, C, H, W), and a loss over it takes them for the
                # outputs (F.cross_entropy over each pixel's C classes: a segmentation net, PixelCNN's 256 levels): read
                # as (N, H, W, C), so that the width is C and each row one position's outputs, as an LM's (N, T, V)
                # (jzbontar's PixelCNN read width 8, its images' width, for 256 levels; public set 114, after it was
                # scored).  The gradient is read the same way (_out_grad_hook).
                self._out_channels_first = t.dim() >= 3 and isinstance(self._last_ran, _CONV)
                o = t.detach().movedim(1, -1) if self._out_channels_first else t.detach()
                self._out = o if t.dim() >= 2 else o.unsqueeze(-1)
                if t.requires_grad:  # the gradient the loss hands the output (history.OUT_STATS: out_grad)
                    t.register_hook(self._out_grad_hook)
                self._captured()

    def _out_grad_hook(self, g: torch.Tensor) -> None:
        if self._out_grad is None:
            g = g.detach()
            g = g if g.dim() >= 2 else g.unsqueeze(-1)  # (a per-sample score, as _output_hook reads it)
            g = g.movedim(1, -1) if self._out_channels_first else g  # (channels last, as _output_hook reads it)
            rows = torch.linalg.vector_norm(g.reshape(-1, g.shape[-1]).float(), dim=1)
            self._out_grad = rows.sum()
            # Were the loss F.mse_loss(out, y) (mean over its n elements), g = 2 (out - y) / n: the loss would be
            # n/4 sum(g^2), and the targets out - g n/2.  Were it r times that per-element error (0.5 * MSE: r = 1/2;
            # a sum over the n elements: r = n), n/4 sum(g^2) is r times the recorded loss, and the targets are
            # out - g n / (2 r).  The doctor compares the implied loss with the recorded one; when their ratio is the
            # same at every sample, the targets' variance across the batch (the loss of predicting their mean, what a
            # regression that learned nothing does) times r is its chance level.  Kept here: the variances of the
            # output and of G = g n/2 across k samples spread over the batch and their covariance, so that _out_stats
            # forms the targets' variance at the step's own r.  (history.OUT_STATS: mse_implied, mse_const)
            n = g.numel()
            self._out_mse = (rows.double() ** 2).sum() * (n / 4.0)
            o = self._out
            per = g[0].numel() if g.dim() >= 2 else 0
            k = min(ACT_SAMPLES, g.shape[0], MSE_CONST_VALUES // max(per, 1))
            if o is not None and o.shape == g.shape and k >= 2:  # (bounded: an LM's logits are not a regression)
                zo = _rows_over(o, k).double().reshape(k, -1)
                zg = (_rows_over(g, k).double() * (n / 2.0)).reshape(k, -1)
                # outputs the loss does not read (no gradient at any sampled row: the hidden channels of a cellular
                # automaton whose loss takes 4 of its 16, the visible patches of a masked autoencoder) imply no target:
                # their own spread is not the targets', so they count as constant (r = n / the elements read, which
                # the doctor's r times this mean then undoes)
                read = (zg != 0).any(dim=0)
                do, dg = (zo - zo.mean(dim=0)) * read, zg - zg.mean(dim=0)
                self._out_const = torch.stack([(do * do).sum(dim=0).mean(), (do * dg).sum(dim=0).mean(),
                                               (dg * dg).sum(dim=0).mean()]) / (k - 1)

    def _out_stats(self, loss: torch.Tensor | float | None = None) -> torch.Tensor:
        """(len(OUT_STATS),) the output's width and its spread across the batch (see ``history``)."""
        o = self._out
        if o is None:
            none = torch.full((len(OUT_STATS),), math.nan, device=self.device)
            if self._out_calls:  # (counted without a reading of the output: a policy's per-step outputs of one value)
                none[OUT_STATS.index("calls")] = float(self._out_calls)
            return none
        o = _rows_over(o).float()
        o = o.reshape(o.shape[0], -1, o.shape[-1]) if o.dim() >= 3 else o.reshape(o.shape[0], 1, -1)
        # spread across samples, per position and output, relative to the output's own scale:
        # 0 when every input gets the same output (a constant predictor), about 1 when outputs vary around 0
        # (two passes by hand: Tensor.std over the batch dim takes a slow strided path on CPU)
        dev = o - o.mean(dim=0)
        across = ((dev * dev).sum(dim=0) / max(o.shape[0] - 1, 1)).sqrt().mean()
        scale = o.mean(dim=0).abs().mean() + across
        spread = torch.where(scale > 0, across / scale.clamp(min=1e-30), torch.zeros_like(scale))
        if o.shape[0] < 2:  # a batch of one has no spread across inputs (not a constant predictor: not measured)
            spread = torch.full_like(spread, math.nan)
        # the range of each sample's outputs (max - min over C >= 2 outputs; |z| for one): it bounds a
        # cross-entropy over these logits to ln C +- range, which is how the doctor recognises one
        rng = (o.amax(-1) - o.amin(-1)).mean() if o.shape[-1] >= 2 else o.abs().mean()
        nan = torch.full_like(spread, math.nan)
        og = self._out_grad.to(spread.dtype) if self._out_grad is not None else nan
        mse = self._out_mse.to(spread.dtype) if self._out_mse is not None else nan
        const = nan
        if self._out_const is not None and self._out_mse is not None:
            # var(out - G / r) = var(out) - 2 cov(out, G) / r + var(G) / r^2, at r = implied / recorded loss (1 when
            # the loss is not known here): the targets' variance were the loss r times a per-element squared error
            vo, cv, vg = self._out_const
            r = self._out_mse / loss.double() if isinstance(loss, torch.Tensor) else (
                self._out_mse / float(loss) if loss is not None and float(loss) != 0 else torch.ones_like(vo))
            r = torch.where(torch.isfinite(r) & (r > 0), r, torch.ones_like(r))
            const = (vo - 2.0 * cv / r + vg / (r * r)).to(spread.dtype)
        # exact zeros in an output with no negative entry: a ReLU (or clamp) after the last layer (history: zero_nonneg)
        zn = torch.where(o.amin() >= 0, (o == 0).float().mean(), torch.zeros_like(spread))
        calls = torch.full_like(spread, float(self._out_calls))
        return torch.stack([torch.tensor(float(o.shape[-1]), device=self.device), spread, rng, og, mse, const, zn, calls])

    def _act_stats(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(A, 5) mean, std, share <= 0 (ReLU family), share saturated (sigmoid/tanh), share of dead units;
        NaN where absent.  Entries measured at a layer's input ("in") get only the share of exact zeros
        and the share of features 0 for every sample.

        And (A, ACT_HIST_BINS): counts of the sampled outputs per bin (clamped: the end bins hold what
        lies beyond the range); a NaN row for a layer whose hook did not fire and for "in" entries."""
        A = len(self._act_modules)
        out = torch.full((A, len(ACT_STATS)), math.nan, device=self.device)
        hists = torch.full((A, ACT_HIST_BINS), math.nan, device=self.device)
        for i in self._in_idx:
            o = self._act_out[i]
            if o is None:
                continue
            fd = 1 if isinstance(self._act_modules[i], _CONV) else o.dim() - 1
            self._units(i, o.shape[fd])
            zero, dead = units.zero_features(o, fd)
            out[i, ACT_STATS.index("zero_frac")] = zero
            out[i, ACT_STATS.index("dead_frac")] = dead
        idx = [i for i in self._out_idx if self._act_out[i] is not None]
        for i in idx:
            o = self._act_out[i]
            if o.dim() >= 2:
                self._units(i, o.shape[units.unit_dim(o.dim())])
        if not idx:
            return out, hists
        key = tuple((i, self._act_out[i].shape) for i in idx)
        if key != self._seg_key:
            self._groups = self._plan_groups(idx)
            self._seg_key = key
        rows, stats, hs = [], [], []
        for g in self._groups:
            st, h = self._group_stats(g)
            rows.append(g.rows)
            stats.append(st)
            hs.append(h)
        one = len(rows) == 1
        rows_t = rows[0] if one else torch.cat(rows)
        out[rows_t] = stats[0] if one else torch.cat(stats)
        hists[rows_t] = hs[0] if one else torch.cat(hs)
        return out, hists

    def _hand_rate(self) -> None:
        """A loop that updates the weights by hand (no optimizer): the step it took, w_{t-1} - w_t (in the snapshot), set
        against the gradient it had, g_{t-1} (_gsnap).  Plain SGD, w -= lr * w.grad, makes them parallel (cosine 1) and
        their ratio of norms is the rate; momentum, Adam or weight decay written by hand turn the step away from the
        gradient, and then no rate is read (history.lr stays NaN)."""
        # (a gradient the loop changed in place after step() and then let go - clipped, then zero_grad() setting it to
        # None - is the one the update used: the old tensor is read; one zeroed in place, or the live .grad again, not)
        grads = [g if r is None or g is None or r is p.grad else torch.where(r.detach().ne(0).any(), r.detach(), g)
                 for g, r, p in zip(self._gsnap, self._gref, self._params, strict=False)]
        pairs = [(d, g) for d, g in zip(self._snap, grads, strict=False) if g is not None]
        self._gsnap = self._gref = None
        if not pairs:
            return
        dot = sum((d.double() * g.double()).sum() for d, g in pairs)
        dd = sum((d.double() ** 2).sum() for d, _ in pairs)
        gg = sum((g.double() ** 2).sum() for _, g in pairs)
        cos = dot / (dd * gg).sqrt().clamp(min=1e-300)
        rate = dot / gg.clamp(min=1e-300)
        # ... and the same rate as at the sample before (within 1%): a rate that changes every step is no plain SGD's
        # (a clip applied in place, w.grad then zeroed, scales each step by its own factor; so does a decay per step)
        follows = cos >= SGD_COSINE
        if self._hand_prev is not None:
            r0, c0 = self._hand_prev
            same = follows & (c0 >= SGD_COSINE) & ((rate - r0).abs() <= 0.01 * r0.abs())
        else:
            same = follows & False
        nan = torch.full_like(rate, math.nan)
        self._hand_n += 1
        self._hand_all = follows if self._hand_all is None else self._hand_all & follows
        self._hand_held = same if self._hand_held is None else self._hand_held | same
        self._hand_prev = (rate, cos)
        self._hand_rate_held = torch.where(same, rate, nan if self._hand_rate_held is None else self._hand_rate_held)
        self._hand_lr = torch.where(same, rate, nan)

    def _units(self, i: int, n: int) -> None:
        """Note how many units activation entry ``i`` has, from its first sampled output (history.act_units)."""
        u = self.history.act_units
        if u is not None and not u[i]:
            u[i] = int(n)

    def _plan_groups(self, idx: list[int]) -> list[_Group]:
        """The captured outputs grouped by shape, kind and bounds: each group is stacked into one
        (k, ...) tensor, so every statistic is a handful of ops per group (one group for a net of one
        activation type and width) whatever the depth, and every bound is a scalar."""
        by_key: dict[tuple, list[int]] = {}
        for i in idx:
            key = (tuple(self._act_out[i].shape), self.act_kinds[i] == "relu", self._sat[i], self.hist_ranges[i],
                   self._can_die[i])
            by_key.setdefault(key, []).append(i)
        groups = []
        for (shape, relu, sat, hist_range, mortal), members in by_key.items():
            # dead units need a batch dim of more than one sample, and units that pass no gradient when silent
            dead = relu and mortal and len(shape) >= 2 and shape[0] > 1
            groups.append(_Group(members, torch.tensor(members, device=self.device), relu, sat, hist_range, dead))
        return groups

    def _group_stats(self, g: _Group) -> tuple[torch.Tensor, torch.Tensor]:
        """(k, 5) statistics and (k, ACT_HIST_BINS) histograms of one group's stacked outputs (see
        :meth:`_act_stats`)."""
        x = torch.stack([self._act_out[i] for i in g.members]).float()
        k = x.shape[0]
        flat = x.reshape(k, -1)
        n = flat.shape[1]
        # the mean first, then squared deviations from it (two passes, no cancellation)
        mean = flat.sum(1).double() / n
        dev = flat - mean.float()[:, None]
        std = (torch.linalg.vector_norm(dev, dim=1).double() ** 2 / max(n - 1, 1)).sqrt()
        nan = torch.full_like(mean, math.nan)
        zero = units.silent_share(flat) if g.relu else nan
        dead = units.dead_share(x) if g.dead else nan
        satf = units.saturated_share(flat, g.sat) if g.sat is not None else nan
        stats = torch.stack([mean, std, zero, satf, dead], 1).float()
        if x.dim() >= 3:  # (k, samples, ...): the first samples that hold HIST_VALUES values
            per = flat.shape[1] // x.shape[1]
            flat = x[:, :-(-HIST_VALUES // max(per, 1))].reshape(k, -1)
        return stats, _histograms(flat, g.hist_range)

    def step(self, loss: torch.Tensor | float | None = None, grad_norm: torch.Tensor | float | None = None) -> None:
        """Record this iteration.  Call once per iteration (per micro-batch with gradient accumulation),
        after ``loss.backward()`` and before ``optimizer.step()`` (with a GradScaler: before
        ``scaler.step(optimizer)``).

        ``grad_norm``: when the loop clips gradients, the total norm ``torch.nn.utils.clip_grad_norm_``
        returned (the norm before clipping); it is recorded on sampled steps (``history.pre_clip_norm``)
        and tells the monitor the loop clips, and at about what norm (:attr:`clip_norm_seen`).
        """
        if self._closed:
            raise WatchError("step() on a closed monitor")
        if isinstance(loss, torch.Tensor) and loss.numel() != 1:
            raise WatchError(f"step(loss) needs a scalar loss, got a tensor of shape {tuple(loss.shape)}; "
                             "reduce it (e.g. loss.mean()) first")
        if isinstance(grad_norm, torch.Tensor) and grad_norm.numel() != 1:
            raise WatchError("step(grad_norm=) needs the scalar total norm clip_grad_norm_ returns, "
                             f"got shape {tuple(grad_norm.shape)}")
        s = self.steps + 1
        if s == 1:
            self.spread_at_start = self.row_spread()
        if self._carry_handle is not None:
            moved = None
            if self._carry_pending is not None and self._opt_hook is None and self._snap is not None and self._snap_valid:
                # a loop that updates by hand: gradients still there count only if the weights were updated since
                # the last step() (the snapshot _arm took then); none moved is gradient accumulation over
                # micro-batches, one step() each, with the update (and its zero_grad) every k-th
                with torch.inference_mode():
                    moved = torch.stack([s_.ne(p.detach()).any() for s_, p in zip(self._snap, self._params,
                                                                                   strict=False)]).any()
            if self._carry_pending is not None and self._carry_backwards > 1 and self._carry_expect is not None:
                # several backward() calls before this step() (an adversarial example's gradient, then the training
                # loss's; a GAN's generator loss flowing through its discriminator): carried only if .grad now is the last
                # step's gradient plus every one backward() handed it since, so nothing cleared it in between - a
                # zero_grad() between the calls leaves it without the first part (locuslab's fast adversarial training,
                # whose FGSM backward() comes before its zero_grad(), without that zero_grad: public set 129, after it
                # was scored, where such steps were not judged)
                at, carried, judged = self._carry_pending
                prev, handed = self._carry_expect
                now = self._params[-1].grad
                with torch.inference_mode():
                    if now is not None and now.numel() == prev.numel():
                        rest = now.detach().flatten().float() - handed
                        carried = carried & (torch.linalg.vector_norm(rest - prev) <= 1e-3 * torch.linalg.vector_norm(prev))
                    else:
                        carried = self._false0
                self._carry.append((at, carried if moved is None else carried & moved, judged))
            elif self._carry_pending is not None and self._carry_backwards == 1:
                at, carried, judged = self._carry_pending
                if moved is not None:
                    carried = carried & moved
                expect, now = self._carry_expect, self._params[-1].grad
                if expect is not None:
                    # carried only if .grad is now nearer the sum than this backward()'s own gradient, which a loop that
                    # sets .grad to it holds exactly: nearer as it is, or in direction (a clip or a GradScaler's unscale
                    # between backward() and step() scales it and keeps its direction).  Both, since a full batch's
                    # gradients from one step to the next can be 0.9999 alike in direction, and then only size tells
                    prev, own = expect
                    total = prev + own
                    with torch.inference_mode():
                        if now is not None and now.numel() == total.numel():
                            v = now.detach().flatten().float()
                            nearer = torch.linalg.vector_norm(v - total) < torch.linalg.vector_norm(v - own)
                            same = nearer | (F.cosine_similarity(v, total, dim=0) > F.cosine_similarity(v, own, dim=0))
                        else:
                            same = self._false0
                    carried = carried & same
                self._carry.append((at, carried, judged))
            self._carry_expect = None
            self._carry_handle.remove()
            self._carry_handle, self._carry_pending = None, None
        if self._ran:
            self._order_known = True  # (a training pass has run: the order hooks come off at the next arming)
            if not self._outer_ran and self._out_module is None and self._last_ran is not None:
                self._out_module = self._last_ran  # (read from the next sampled pass on; see __init__)
        if self._sampled(s):
            self._count_peers()
            self._record(s, grad_norm, loss=loss)  # raises WatchError without gradients: then the step is not counted
        elif self._armed:  # step 2's pass, watched for a crash only: it finished, nothing to keep
            self._clear_capture()
            self._snap_valid = False
            self._pass_fresh = True
        self.steps = s
        if loss is not None:
            # kept as given (one op); shaped and moved to the host with the others at the next flush
            self._losses.append(loss.detach() if isinstance(loss, torch.Tensor) else float(loss))
            self._loss_steps.append(s)
            self._lrs.append(self._step_lr())
        if self._sampled(s + 1) or s + 1 == 2:
            self._arm()
        elif self._armed:
            self._disarm()
        if len(self._loss_steps) >= self.flush_every or len(self._rows) >= self.flush_every:
            self.flush()

    def _count_peers(self) -> None:
        """How many other open monitors stepped since this one's last sampled step (loop_facts co_watched)."""
        live = 0
        for m in list(_open):
            if m is self:
                continue
            seen = self._peer_steps.get(id(m))
            live += seen is not None and m.steps > seen
            self._peer_steps[id(m)] = m.steps
        self._peers = max(self._peers, live)

    def _current_lr(self) -> float:
        """The first parameter group's learning rate now (a Python float; NaN without an optimizer)."""
        if self.optimizer is None or not getattr(self.optimizer, "param_groups", None):
            return math.nan
        lr = self.optimizer.param_groups[0].get("lr", math.nan)
        return float(lr.item() if isinstance(lr, torch.Tensor) else lr)

    def _grad_index(self, has: tuple[bool, ...]) -> tuple[list[int], torch.Tensor, torch.Tensor]:
        """For the parameters that have a gradient: their indices, their layers, and per layer 0 where
        some parameter has one, NaN where none has (cached: the set rarely changes)."""
        if has != self._grad_key:
            idx = [i for i, h in enumerate(has) if h]
            owner = self._owner[torch.tensor(idx, dtype=torch.long, device=self.device)]
            present = torch.zeros(len(self.layer_names), dtype=torch.bool, device=self.device)
            present[owner] = True
            self._grad_cache = (idx, owner, torch.where(present, 0.0, math.nan))
            self._grad_key = has
        return self._grad_cache

    def _probe_index(self, idx: list[int]) -> int:
        """Which of the gradients (positions in ``idx``) is read again at the optimizer's step: the smallest tensor,
        so the second read costs next to nothing (cached with the set of parameters that have a gradient)."""
        if self._probe_key is not self._grad_key:
            self._probe_key = self._grad_key
            self._probe_at = min(range(len(idx)), key=lambda k: self._params[idx[k]].numel())
        return self._probe_at

    def _step_lr(self) -> float | torch.Tensor:
        """The rate for this step's record without a host sync: a tensor rate (capturable optimizers) is kept as a
        tensor and read at the next flush, with everything else."""
        if self.optimizer is None:  # by hand: the rate of the last sampled update that followed the gradient
            return self._hand_lr.clone() if isinstance(self._hand_lr, torch.Tensor) else math.nan
        if not self.optimizer.param_groups:
            return math.nan
        lr = self.optimizer.param_groups[0].get("lr", math.nan)
        return lr.detach().clone() if isinstance(lr, torch.Tensor) else float(lr)

    def _record_broken_pass(self) -> None:
        """At close(): a sampled step whose forward pass ran but whose step() never came, because the loop died
        (a loss that refuses a NaN input: BCE, a CUDA assert).  When that pass made non-finite activations or outputs
        it is the run's last word: recorded as step ``steps + 1`` without gradients (the update that led to it, the
        weights, the activations marked +inf where non-finite).  A pass with finite values (an evaluation after the
        last step, in train mode) is not a step and is dropped."""
        if not self._armed or self._cap_fresh is None or self._reduce is not None:
            return  # (distributed: one rank's extra row would break the ranks' lockstep flush)
        with torch.inference_mode():
            bad = [i for i, o in enumerate(self._act_out) if o is not None and not bool(torch.isfinite(o).all())]
            out_bad = self._out is not None and not bool(torch.isfinite(self._out).all())
        if bad or out_bad:
            self._record(self.steps + 1, broken=(bad, out_bad))

    def _record(self, s: int, grad_norm: torch.Tensor | float | None = None,
                broken: tuple[list[int], bool] | None = None, loss: torch.Tensor | float | None = None) -> None:
        self._out_calls_seen = max(self._out_calls_seen, self._out_calls)  # (the count restarts in _clear_capture)
        grads = [p.grad for p in self._params]
        if broken is None and all(g is None for g in grads):
            raise WatchError("step() found no gradients: call it after loss.backward() and before optimizer.zero_grad()")
        # A parameter without a gradient (frozen after watch(), unused) has no gradient, not a zero one;
        # within a layer that has some gradient it counts as zeros.  A broken pass (see _record_broken_pass)
        # has no backward: no gradients at all.
        has = tuple(g is not None and p.requires_grad and broken is None for p, g in zip(self._params, grads, strict=False))
        # Inference mode, not just no_grad: the statistics never enter a graph, and without version
        # counters and view tracking each of the ~150 small ops of a sampled step costs less
        # (measured: the record of the reference MLP's sampled step 6-7% cheaper).
        with torch.inference_mode():
            L, P = len(self.layer_names), len(self._params)
            idx, g_owner, absent = self._grad_index(has)
            gs = [grads[i] for i in idx]
            gsq = torch.zeros(L, device=self.device)
            scaler_on = self._scaler_on()
            skip = self._false0
            if gs:
                if scaler_on:
                    # Scaled gradients: norms accumulated in float64 (a finite scaled gradient may have a
                    # float32 norm beyond 3.4e38), unscaled per parameter, then squared.  Non-finite norms
                    # are exactly the scaler's overflow test: it skips this step.
                    n2 = _wide_norms(gs, 2)
                    skip = ~torch.isfinite(n2.sum())
                    if self._grads_scaled():
                        n2 = n2 / self.scaler._scale.double().to(self.device)
                    n2 = n2.float()
                else:
                    n2 = _grad_norms(gs)
                gsq.index_add_(0, g_owner, n2 ** 2)
            params = [p.detach() for p in self._params]
            # an update needs an optimizer step since the snapshot (when the optimizer is known)
            have_update = self._snap is not None and self._snap_valid and \
                (self._opt_hook is None or self._opt_steps != self._snap_opt)
            # Fused calls for every L2 norm (weights, and for the update ratio the update and the
            # previous weights), one segment sum per layer: ~15 ops at any depth.  The update is
            # formed in place in the snapshot (w_{t-1} - w_t: the same norm), which the next _arm()
            # overwrites anyway: no new parameter-sized tensors (on CPU each one costs page faults).
            if have_update and self.device.type == "cpu":
                # tensor by tensor, so that each is read from memory once and then from cache
                w, d = [], []
                for s_, p in zip(self._snap, params, strict=False):
                    d.append(torch.linalg.vector_norm(s_.sub_(p)))
                    w.append(torch.linalg.vector_norm(p))
                norms = w + d + list(self._snap_norms)
            elif have_update:
                torch._foreach_sub_(self._snap, params)
                norms = list(torch._foreach_norm(params + self._snap)) + list(self._snap_norms)
            else:
                norms = torch._foreach_norm(params)
            sq = _stack(norms).reshape(-1, P) ** 2
            sums = torch.zeros(sq.shape[0], L, device=self.device).index_add_(1, self._owner, sq).sqrt()
            update = sums[1] / sums[2] if have_update else torch.full((L,), math.nan, device=self.device)
            if have_update and self._gsnap is not None:
                self._hand_rate()
            self._snap_valid = False
            # NaN means "not measured": a gradient or weight that is itself non-finite reads +inf
            gnorm, wnorm = (torch.where(torch.isnan(t), math.inf, t) for t in (gsq.sqrt(), sums[0]))
            if scaler_on:
                # overflowed scaled gradients: the scaler skips this step (so it calibrates its scale)
                gnorm = torch.where(skip, math.nan, gnorm)
            # (a broken pass has no gradients, but the update that led to it is measured)
            layers = torch.stack([gnorm + absent, wnorm, update + (absent if broken is None else 0.0)], dim=1)
            if isinstance(grad_norm, torch.Tensor):
                pre = grad_norm.detach().reshape(()).float().to(self.device)
            elif grad_norm is not None:
                pre = torch.tensor(float(grad_norm), device=self.device)
            else:
                pre = self._nan0
            if self._out_idx and self._armed and all(self._act_out[i] is None for i in self._out_idx) \
                    and self.model.training and not self._warned_hooks:
                # Never silently nothing: a model compiled after watch(), or run through
                # torch.func.functional_call, bypasses module hooks.
                self._warned_hooks = True
                warnings.warn(f"gradmedic: no activation hook fired before step {s}: was the model torch.compile'd after "
                              "watch(), or run without calling its modules? Activation statistics are unavailable; "
                              "gradient statistics are still recorded.", RuntimeWarning, stacklevel=3)
            acts, hists = self._act_stats()
            if broken is not None:  # +inf marks what really was non-finite (NaN means "not measured")
                acts[broken[0], ACT_STATS.index("mean")] = math.inf
            if self._inputs is not None:
                cands = []
                for x in [self._inputs, *self._more_inputs]:
                    x = x.movedim(self._feature_dim, -1).reshape(-1, x.shape[self._feature_dim]).float()  # (samples, features)
                    # unbiased std, two passes by hand (torch.std_mean over samples is several times slower on CPU)
                    mean = x.mean(0)
                    dev = x - mean
                    cands.append(torch.stack([mean, ((dev * dev).sum(0) / (x.shape[0] - 1)).sqrt()]))
                if len(cands) == 1:
                    inputs = cands[0]
                else:  # the call of the largest scale, max(|mean|, std) over its features (chosen on the device)
                    c = torch.stack(cands)
                    inputs = c[torch.argmax(torch.nan_to_num(torch.maximum(c[:, 0].abs(), c[:, 1]), nan=0.0).amax(dim=1))]
            else:
                inputs = torch.zeros((2, 0), device=self.device)
            if self._cap_fresh is not None and not self._outer_ran and not self._outer_noted:
                # its submodules ran (their hooks fired) but never the module itself: a container whose parts the loop
                # calls one by one (an encoder and a decoder watched through one wrapper)
                self._outer_noted = True
                why = (f"{type(self.model).__name__}'s own forward never ran through its __call__ (the loop calls "
                       "forward() or its submodules directly)")
                if self._out_module is not None:
                    name = self.layer_names[self._layer_objs.index(self._out_module)]
                    self._notes.append(f"the output checks read {name}'s output, the last layer to run in a training pass: "
                                       f"{why}; if the loss reads another output, watch the module whose forward makes it")
                else:
                    self._notes.append(f"the output checks are off: {why}, so the output the loss sees, and with it the "
                                       "chance level, is not measured; watch the module whose forward makes that output")
            out = self._out_stats(loss.detach().reshape(()) if isinstance(loss, torch.Tensor) else loss)
            if broken is not None and broken[1]:
                out[OUT_STATS.index("logit_range")] = math.inf
            if gs and broken is None and self._opt_pre_hook is not None:
                j = self._probe_index(idx)
                self._probe = (s, gs[j], n2[j], gsq.sum().sqrt())
        self._rows.append((s, layers, acts, inputs, hists, out, pre))
        self._skip_flags.append(skip)
        self._clear_capture()
        self._pass_fresh = True

    def flush(self) -> Chunk | None:
        """Move pending records to the host (one transfer), append them to ``history``, tell listeners."""
        if not self._loss_steps and not self._rows:
            return None
        loss = _loss_array(self._losses)
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
            pre = torch.stack([r[6] for r in self._rows]).cpu().numpy().astype(np.float64)
            self._skipped += int(torch.stack(self._skip_flags).sum()) if self._skip_flags else 0
        else:
            layers, acts, inputs = np.zeros((0, L, len(LAYER_STATS))), np.zeros((0, A, len(ACT_STATS))), np.zeros((0, 2, 0))
            hists = np.zeros((0, A, ACT_HIST_BINS), dtype=np.float32)
            out = np.zeros((0, len(OUT_STATS)))
            pre = np.zeros(0)
        chunk = Chunk(np.array(self._loss_steps, dtype=np.int64), loss, np.array([r[0] for r in self._rows], dtype=np.int64),
                      layers, acts, inputs.astype(np.float64), hists, _lr_array(self._lrs), out, pre)
        self._losses, self._loss_steps, self._rows, self._lrs, self._skip_flags = [], [], [], [], []
        if self._reduce is not None:
            chunk = self._reduce(chunk)  # global statistics (gradmedic.measure.distributed)
        self._check_order(layers)
        self.history.append(chunk)
        for cb in self.on_flush:
            cb(chunk)
        return chunk

    def _check_order(self, layers: np.ndarray) -> None:
        """step() called before backward() with zero_grad(set_to_none=False): every gradient it sees is
        exactly zero while the weights change.  Judged on the host, once per flush."""
        if self._warned_order or self._seen_grad or not len(layers):
            return
        g, u = layers[:, :, LAYER_STATS.index("grad_norm")], layers[:, :, LAYER_STATS.index("update_ratio")]
        fin = np.isfinite(g)
        # Only while no gradient was ever seen nonzero: a network that died mid-training (all gradients
        # 0 while momentum or weight decay still move the weights) saw gradients before it died.
        self._seen_grad = bool((np.where(fin, g, 0.0) != 0).any())
        zero = fin.any(axis=1) & np.all(np.where(fin, g, 0.0) == 0, axis=1)
        moved = (np.where(np.isfinite(u), u, 0.0) > 0).any(axis=1)
        if not self._seen_grad and (zero & moved).any() and self._opt_pre_hook is not None:
            # With the optimizer known, its step tells: a gradient read again there (the clip probe) that was 0 at
            # step() and is not at optimizer.step() came after step().  Still 0 there, the gradients are truly 0, and
            # weight decay moved the weights (pytorch/examples gcn with a zero-initialized layer under Adam's
            # weight_decay): no misplaced step(), but a network that gets no gradient (the doctor's no_gradient).
            if not self._clip_probes:
                return  # (judged at a later flush, once an optimizer step has been seen)
            before, after = (torch.stack(x).cpu().numpy() for x in list(zip(*self._clip_probes, strict=True))[:2])
            if not ((before == 0) & (after > 0)).any():
                return
        if not self._seen_grad and (zero & moved).any():
            self._warned_order = True
            msg = ("gradmedic: step() saw every gradient zero while the weights changed: call monitor.step(loss) "
                   "after loss.backward() and before optimizer.step()")
            self._notes.append(msg)
            warnings.warn(msg, RuntimeWarning, stacklevel=3)

    # -- judging ------------------------------------------------------------------------------
    def diagnose(self):
        """Findings so far (flushes pending records first; may be called at any time).  Distributed: the
        records flushed so far, the same on every rank (only step() and close() flush, on all ranks)."""
        from gradmedic.doctor.diagnose import Context, Thresholds, diagnose

        if not self._closed and self._reduce is None:
            self.flush()
        th = self.thresholds
        if th is None:
            th = Thresholds()
        elif isinstance(th, dict):
            th = Thresholds(**th)
        return diagnose(self.history, Context.from_monitor(self), th)

    def save(self, path: str, **meta: Any) -> None:
        """Write everything recorded so far, and what the doctor needs to judge it, to one ``.npz`` file
        (``gradmedic.measure.casefile.load(path).diagnose()`` judges it later, e.g. with other thresholds)."""
        from gradmedic.measure.casefile import save

        save(self, path, **meta)

    def row_spread(self) -> list[tuple[str, int, float]]:
        """(layer, units, relative spread of its rows of incoming weights and bias) for Linear/Conv layers, and for
        RNN/LSTM/GRU layers the largest spread over their gates (each gate's rows: input, recurrent weights, biases)."""
        out = []
        with torch.no_grad():
            for name, m in self.model.named_modules():
                w = getattr(m, "weight", None)
                if isinstance(m, nn.RNNBase) and m.hidden_size >= 2:
                    blocks = _recurrent_rows(m)
                    if blocks:
                        out.append((name or type(m).__name__, int(m.hidden_size), max(_spread(b) for b in blocks)))
                    continue
                if m in self._layer_objs and not isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Embedding,
                                                                  nn.EmbeddingBag)):  # (a table's rows are tokens)
                    rows = _constant_matrix(m)  # a hand-written affine layer (its own 2-D weight): constant or not
                    if rows is not None:
                        out.append((name or type(m).__name__, *rows))
                    continue
                if not isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)) or w is None or w.shape[0] < 2:
                    continue
                rows = w.detach().reshape(w.shape[0], -1).double()
                if getattr(m, "bias", None) is not None:
                    rows = torch.cat([rows, m.bias.detach().double()[:, None]], 1)
                if not bool(torch.isfinite(rows).all()):
                    continue  # non-finite weights say nothing about symmetry
                out.append((name or type(m).__name__, int(w.shape[0]), _spread(rows)))
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
                ps = [p for p in _own_parameters(m) if p.requires_grad]
                if not ps:
                    continue
                name = name or type(m).__name__
                if any(p.grad is not None and not torch.isfinite(p.grad).all() for p in ps):
                    bad_g.append(name)
                if any(not torch.isfinite(p).all() for p in ps):
                    bad_w.append(name)
        return {"gradients": bad_g, "weights": bad_w}


def _layer_kind(m: nn.Module) -> str:
    """The layer's kind, as the doctor reads it: its class name, or for a program's own subclass of a torch.nn layer the
    name of that layer - PixelCNN's ``MaskedConv2d(nn.Conv2d)`` is a Conv2d, MADE's ``MaskedLinear(nn.Linear)`` a Linear,
    with the same weights and the same scale rules (jzbontar's PixelCNN on raw 0..255 pixels, its first masked conv
    followed by BatchNorm, trained exactly as on [0, 1] and was told unscaled_inputs: its stem was not known for a conv;
    public set 114, after it was scored).  A module written from nn.Module itself keeps its own name."""
    for cls in type(m).__mro__:
        if cls is nn.Module:
            break
        if cls.__module__.startswith("torch.nn."):
            return cls.__name__
    return type(m).__name__


def _takes_whole(m: nn.Module, features: int) -> bool:
    """Whether ``m`` takes its input's features whole, as far as can be told: False only for a module of the user's that
    holds embedding tables (it indexes part of its input) and no weight of its own with an axis of ``features`` (a
    Linear's in_features).  Built-in layers, and modules without embeddings (a ViT's root holds its position table, not
    an nn.Embedding), are trusted as they are."""
    if type(m).__module__.startswith("torch.nn") or \
            not any(isinstance(c, (nn.Embedding, nn.EmbeddingBag)) for c in m.modules()):
        return True
    own = [p for p in _own_parameters(m) if p.dim() >= 1]
    return not own or any(features in p.shape for p in own)


def _own_parameters(m: nn.Module) -> list[torch.Tensor]:
    """The parameters ``m`` holds itself (not its children's).  A module may override ``parameters()`` without the
    ``recurse`` argument - d2l's from-scratch models return their plain tensors ``[self.W, self.b]`` - and then, having no
    children, what it returns is its own."""
    try:
        return list(m.parameters(recurse=False))
    except TypeError:
        return (list(m.parameters()) if next(m.children(), None) is None
                else [p for p in m._parameters.values() if p is not None])


def _inner_optimizer(opt: Any) -> Any:
    """The optimizer a wrapper steps: Lightning Fabric's and accelerate's wrappers hold it as ``.optimizer``, Lightning's
    LightningOptimizer as ``._optimizer`` (Fabric's takes the class name "Fabric" + its optimizer's, accelerate's is
    "AcceleratedOptimizer": neither names the rule that sets the usual rate).  ``opt`` itself when it wraps nothing."""
    for _ in range(4):
        inner = getattr(opt, "optimizer", None)
        if not isinstance(inner, torch.optim.Optimizer):
            inner = getattr(opt, "_optimizer", None)
        if not isinstance(inner, torch.optim.Optimizer) or inner is opt:
            break
        opt = inner
    return opt


def _grad_norm_of(p: torch.Tensor) -> torch.Tensor | None:
    """The norm of ``p``'s gradient (float32, on its device), None without one."""
    g = p.grad
    return None if g is None else torch.linalg.vector_norm(g.detach().float())


def _lr_array(lrs: list) -> np.ndarray:
    """Per-step rates as float64; tensor rates are moved to the host here, once per flush."""
    dev = next((x.device for x in lrs if isinstance(x, torch.Tensor)), None)
    if dev is None:
        return np.array(lrs, dtype=np.float64)
    col = [x.reshape(()).double() if isinstance(x, torch.Tensor) else torch.tensor(x, dtype=torch.float64, device=dev)
           for x in lrs]
    return torch.stack(col).cpu().numpy()  # one transfer


def _loss_array(losses: list) -> np.ndarray:
    """The losses kept since the last flush as float64 (each rounded to float32 first, as recorded
    since the start): one stack and one transfer in the usual case of same-shaped tensors."""
    if not losses:
        return np.zeros(0)
    if all(isinstance(x, torch.Tensor) for x in losses) and len({(x.shape, x.dtype, x.device) for x in losses}) == 1:
        return torch.stack(losses).reshape(-1).float().cpu().numpy().astype(np.float64)
    return np.array([np.float32(float(x)) for x in losses], dtype=np.float64)  # mixed: rare, one sync each


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


def _wide_norms(ts: list[torch.Tensor], ord: int) -> torch.Tensor:
    """Norms of ``ts`` accumulated in float64, as one stacked tensor (float32 where the device has no
    float64, e.g. MPS)."""
    try:
        return torch.stack(torch._foreach_norm(ts, ord, dtype=torch.float64))
    except (RuntimeError, TypeError):
        return _stack([torch.linalg.vector_norm(t, ord, dtype=torch.float32) for t in ts])



def _grad_norms(gs: list[torch.Tensor]) -> torch.Tensor:
    """L2 norms of the gradients as one float32 tensor, in one fused call (half-precision gradients accumulated in
    float32, tensor by tensor: their own dtype overflows at 65504)."""
    if any(g.dtype in (torch.float16, torch.bfloat16) for g in gs):
        return _stack([torch.linalg.vector_norm(g, dtype=torch.float32) if g.dtype in (torch.float16, torch.bfloat16)
                       else torch.linalg.vector_norm(g) for g in gs])
    return _stack(torch._foreach_norm(gs))


def _histograms(flat: torch.Tensor, hist_range: tuple[float, float], bins: int = ACT_HIST_BINS) -> torch.Tensor:
    """(k, n) -> (k, bins) float32 counts: ``torch.histc`` of each row clamped to ``hist_range`` (values beyond
    it counted in the end bins; NaN not counted), bin for bin, in one ``bincount`` for all rows instead of k
    histc calls (measured here: half the time on spread-out values, about 10% less on a ReLU layer's, whose
    values crowd into a few bins).  The bin is histc's own arithmetic in float32: trunc((x - lo) * bins /
    (hi - lo)), the right edge in the last bin."""
    lo, hi = hist_range
    k = flat.shape[0]
    f = (flat.clamp(lo, hi) - lo).mul_(float(bins)).div_(hi - lo)
    f.nan_to_num_(nan=bins + 1.0)  # NaN to a slot of its own, dropped below
    pos = f.int()
    pos += torch.arange(0, k * (bins + 2), bins + 2, dtype=torch.int32, device=flat.device)[:, None]
    counts = torch.bincount(pos.reshape(-1), minlength=k * (bins + 2)).reshape(k, bins + 2)
    h = counts[:, :bins].float()
    h[:, bins - 1] += counts[:, bins]  # x == hi
    return h


def _stack(ts: list[torch.Tensor]) -> torch.Tensor:
    """Stack 0-d tensors as float32 (parameters of mixed dtypes give norms of mixed dtypes)."""
    if len({t.dtype for t in ts}) > 1:
        ts = [t.float() for t in ts]
    return torch.stack(ts).float()


def _spread(rows: torch.Tensor) -> float:
    """Largest distance of a row from the rows' mean, relative to the mean row norm; 0 for all-zero rows."""
    dev = (rows - rows.mean(0, keepdim=True)).norm(dim=1).max()
    scale = torch.maximum(rows.norm(dim=1).mean(), torch.tensor(1e-12, dtype=torch.float64, device=rows.device))
    return float(dev / scale) if float(rows.abs().max()) > 0 else 0.0


def _constant_matrix(m: nn.Module) -> tuple[int, float] | None:
    """(units, spread) of a module that is not one of torch's layers but owns one 2-D weight (a hand-written affine
    layer: dataflowr's ``MyLinear_mod`` keeps ``A`` (in, out) and ``b``), None where it does not or where its orientation
    is unknown and its weight not constant.  Which axis holds the units is the one a 1-D bias's length matches; without
    one, the spread is the larger over both axes, so only a constant weight (all zeros, a fill_) reads as identical units."""
    own = [p for p in _own_parameters(m) if p.requires_grad]
    mats = [p for p in own if p.dim() == 2]
    if len(mats) != 1 or min(mats[0].shape) < 2 or any(p.dim() > 2 for p in own):
        return _shared_rows(own)
    w = mats[0].detach().double()
    if not bool(torch.isfinite(w).all()):
        return None
    biases = [p.detach().double() for p in own if p.dim() == 1]
    cands = []
    for rows in (w, w.T):  # rows = one unit's incoming weights
        b = [v for v in biases if v.numel() == rows.shape[0]]
        cands.append((int(rows.shape[0]), _spread(torch.cat([rows, b[0][:, None]], 1) if b else rows), bool(b)))
    with_bias = [c for c in cands if c[2]]
    if len(with_bias) == 1 and w.shape[0] != w.shape[1]:
        return with_bias[0][:2]
    units, spread, _ = max(cands, key=lambda c: c[1])
    return units, spread


def _shared_rows(own: list[torch.Tensor]) -> tuple[int, float] | None:
    """(units, spread) of a hand-written layer with several weight tensors that all lead with the same size, the units
    (efficient-kan's KANLinear: base_weight (out, in), spline_weight (out, in, k), spline_scaler (out, in)): one unit's
    row is everything its tensors hold for it.  None for fewer than two such tensors, a leading size below 2 or any
    non-finite value."""
    big = [p for p in own if p.dim() >= 2]
    if len(big) < 2 or any(p.dim() == 0 for p in own) or len({p.shape[0] for p in own}) != 1 or own[0].shape[0] < 2:
        return None
    rows = torch.cat([p.detach().double().reshape(p.shape[0], -1) for p in own], 1)
    if not bool(torch.isfinite(rows).all()):
        return None
    return int(rows.shape[0]), _spread(rows)


def _recurrent_rows(m: nn.RNNBase) -> list[torch.Tensor]:
    """Per gate, the (hidden, ...) rows of the first layer's input and recurrent weights and biases: identical rows
    within a gate mean identical hidden units (a zero or constant init, seed 002 §7.5)."""
    parts = [getattr(m, n) for n in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0") if hasattr(m, n)]
    if not parts or any(not bool(torch.isfinite(p).all()) for p in parts):
        return []
    gates = parts[0].shape[0] // m.hidden_size
    cols = [p.detach().double().reshape(gates, m.hidden_size, -1) for p in parts]
    full = torch.cat(cols, dim=2)
    return [full[g] for g in range(gates)]


def watch(model: nn.Module, optimizer: torch.optim.Optimizer | None = None, *, log_to: Any = None, **kwargs) -> Monitor:
    """Attach a :class:`Monitor` to ``model``; use as ``with watch(model) as monitor:`` or call ``close()``.

    Call ``monitor.step(loss)`` once per iteration (per micro-batch with gradient accumulation), after
    ``loss.backward()`` and before ``optimizer.step()``; when the loop clips gradients, pass the norm
    ``clip_grad_norm_`` returned: ``monitor.step(loss, grad_norm=total_norm)``.

    Keywords: ``every`` (sample statistics every N steps, default 25), ``flush_every`` (256),
    ``thresholds`` (a ``Thresholds`` or a dict of its fields), ``reference_loss`` (the loss of a
    chance-level prediction, when known: it tells the doctor what "learned nothing" means),
    ``scaler`` (the loop's ``torch.amp.GradScaler``).  With mixed precision the scaler must be passed:
    the monitor does not go looking for one, and without it it reads the scaled gradients (``scale``
    times too large, e.g. 65536x: a healthy run looks like exploding gradients).  With it, call
    ``monitor.step`` after ``scaler.scale(loss).backward()`` (and after ``scaler.unscale_(optimizer)``
    when the loop clips) and before ``scaler.step(optimizer)``.

    ``log_to``: a TensorBoard ``SummaryWriter``, a directory for one, a wandb run, or a list of them:
    each receives the statistics at every flush (:mod:`gradmedic.run.sinks`).  Under ``torch.distributed``
    the records are global and the same on every rank (:mod:`gradmedic.measure.distributed`).
    """
    mon = Monitor(model, optimizer, **kwargs)
    if log_to is not None:
        from gradmedic.run.sinks import attach

        try:
            mon._closers += attach(mon, log_to)
        except Exception:
            mon.close()  # no hook left behind on a bad target
            raise
    return mon
