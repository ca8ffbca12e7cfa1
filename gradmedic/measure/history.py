"""The recorded-statistics contract: what measuring writes, judging reads and pictures draw.

One place defines the names of the statistics and the arrays that hold them:

- ``LAYER_STATS`` per layer (a module that owns parameters): gradient L2 norm, weight L2 norm,
  update-to-weight ratio ``||w_t - w_{t-1}|| / ||w_{t-1}||``.  A layer that had no
  gradient at a step (frozen, unused) records NaN there, not 0: no gradient is not a zero gradient.
  The update ratio is NaN on a sampled step not preceded by an optimizer step (gradient
  accumulation, a step skipped by a GradScaler).  NaN means "not measured"; a gradient or weight
  that is itself non-finite is recorded as +inf (so the two can be told apart).  A step whose
  GradScaler-scaled gradients overflowed (the scaler skips it: normal while it calibrates the
  scale) records NaN gradient statistics: it was not a step of training.
- ``ACT_STATS`` per activation module: output mean, std, share <= 0, share saturated, share of
  units silent for every sampled input.
- ``OUT_STATS`` of the model's output on sampled steps: its width (classes C of a (N, C) or
  (N, T, C) output; NaN when the output is not a tensor), its spread across the batch (0 for a
  network that gives every input the same output: a constant predictor has learned nothing), and
  the mean range of each sample's outputs (max - min over C >= 2 outputs, |z| for one), which
  bounds a cross-entropy over them to ln C +- that range; and ``out_grad``, the gradient of the loss
  with respect to that output, summed over its rows of norms (each row: a sample, or a position of
  an (N, T, C) output).  Under a mean-reduced loss this is the mean per-row gradient: ||softmax(z) - y||
  for a cross-entropy over logits z, about sqrt(1 - 1/C) at chance level, whatever share of rows the
  loss counts (it includes a GradScaler's scale and a 1/k for a loss divided over k micro-batches).
  ``mse_implied``: the loss this gradient would give were it ``F.mse_loss(output, y)`` (mean over the output's n
  elements: n/4 sum(g^2)), and ``mse_const``: the variance across samples spread over the batch of the targets it would imply
  were the recorded loss r times such an error, r = mse_implied / loss (output - g n / (2 r); r = 1/2 for a 0.5 * MSE,
  n for a sum over the output's n elements): the squared error of predicting their mean, which times r is a
  regression's chance level; the doctor takes it when r is the same at every sampled step.  ``zero_nonneg``: the
  share of the sampled outputs that are exactly 0 when none of them is negative (0 when one is): an output passed
  through a ReLU (or a clamp at 0), which a real-valued layer's output almost never is.  ``calls``: how many times the
  output's module ran in the sampled training pass (1 for most models; a recurrent cell's steps; a policy called once per
  step of an episode, whose loss sums over the episode: the loss then scales with the count).
- ``pre_clip`` on sampled steps: the total gradient norm before clipping, as returned by
  ``torch.nn.utils.clip_grad_norm_`` and passed to ``monitor.step(loss, grad_norm=...)`` (NaN when
  not given); the recorded gradient norms are those after clipping.
- per activation module on sampled steps, a histogram of its outputs: ``ACT_HIST_BINS`` equal bins
  over the activation's range (``Chunk.hists``; the run records write the bin count in their header).
- per step with a loss: the loss and the learning rate of the first parameter group at that step
  (NaN when no optimizer is known), so a finding can cite the rate in force when it happened.

``History`` holds them on the host, bounded, and saves to / loads from one ``.npz`` file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

LAYER_STATS = ("grad_norm", "weight_norm", "update_ratio")
# Written by gradmedic before mean |gradient| was dropped (no diagnosis or picture read it, and its pass
# over every gradient was a sixth of a sampled step's cost): files with four columns are read by name.
_LAYER_STATS_V1 = ("grad_norm", "grad_mean_abs", "weight_norm", "update_ratio")
ACT_STATS = ("mean", "std", "zero_frac", "sat_frac", "dead_frac")
OUT_STATS = ("width", "batch_spread", "logit_range", "out_grad", "mse_implied", "mse_const", "zero_nonneg", "calls")
# Histograms: 40 bins resolve the shapes that matter (a spike at 0, mass piling up at sigmoid's 0
# and 1) and cost 40 numbers per layer per sampled step on disk (fastai's ActivationStats uses 40).
ACT_HIST_BINS = 40


@dataclass
class Chunk:
    """Records moved to the host in one flush.  Steps are 1-based ``step()`` counts."""

    loss_steps: np.ndarray  # (T,) int
    loss: np.ndarray  # (T,) float
    stat_steps: np.ndarray  # (S,) int
    layers: np.ndarray  # (S, L, len(LAYER_STATS))
    acts: np.ndarray  # (S, A, len(ACT_STATS))
    inputs: np.ndarray  # (S, 2, F): per-feature mean and std of the first layer's input (F=0 if unknown)
    hists: np.ndarray | None = None  # (S, A, ACT_HIST_BINS) activation counts per bin (NaN: not recorded)
    lr: np.ndarray | None = None  # (T,) learning rate at each loss step (NaN: unknown)
    out: np.ndarray | None = None  # (S, len(OUT_STATS)) model output statistics (NaN: not recorded)
    pre_clip: np.ndarray | None = None  # (S,) total gradient norm before clipping (NaN: not given)


def _fill(n: int, shape: tuple, dtype=np.float64) -> np.ndarray:
    return np.full((n, *shape), np.nan, dtype)


@dataclass
class History:
    """Bounded host-side history, appended chunk by chunk."""

    layer_names: list[str]
    act_names: list[str]
    act_kinds: list[str]
    max_rows: int = 20_000
    max_loss: int = 1_000_000
    hist_ranges: list[tuple[float, float]] | None = None  # per activation layer: the histogram's (lo, hi)
    # mse_const formed at the loss's own factor r (see OUT_STATS); False for a file written before it was (there it
    # is the targets' variance at r = 1 only, and the doctor reads it so)
    mse_const_at_r: bool = True
    # per activation entry, how many units it has (features; channels of an image), 0 while unknown (before its first
    # sampled pass, and in files written before it was recorded)
    act_units: list[int] | None = None
    _chunks: list[Chunk] = field(default_factory=list)

    def append(self, c: Chunk) -> None:
        self._chunks.append(c)
        if sum(len(x.stat_steps) for x in self._chunks) > self.max_rows or \
                sum(len(x.loss) for x in self._chunks) > self.max_loss:
            m = self._merged()
            rows, losses = max(self.max_rows, 1), max(self.max_loss, 1)  # one row can't be halved
            while len(m.stat_steps) > rows or len(m.loss) > losses:  # halve until within bounds
                ks = slice(None, None, 2) if len(m.stat_steps) > rows else slice(None)
                kl = slice(None, None, 2) if len(m.loss) > losses else slice(None)
                m = Chunk(m.loss_steps[kl], m.loss[kl], m.stat_steps[ks], m.layers[ks], m.acts[ks], m.inputs[ks],
                          None if m.hists is None else m.hists[ks], None if m.lr is None else m.lr[kl],
                          None if m.out is None else m.out[ks], None if m.pre_clip is None else m.pre_clip[ks])
            self._chunks = [m]

    def _merged(self) -> Chunk:
        if not self._chunks:
            L, A = len(self.layer_names), len(self.act_names)
            return Chunk(np.zeros(0, int), np.zeros(0), np.zeros(0, int), np.zeros((0, L, len(LAYER_STATS))),
                         np.zeros((0, A, len(ACT_STATS))), np.zeros((0, 2, 0)), None, np.zeros(0),
                         np.zeros((0, len(OUT_STATS))), np.zeros(0))
        if len(self._chunks) > 1:
            cs = self._chunks
            f = max(c.inputs.shape[2] for c in cs)
            inputs = [c.inputs if c.inputs.shape[2] == f else np.full((len(c.stat_steps), 2, f), np.nan) for c in cs]
            hists = None
            if any(c.hists is not None for c in cs):
                shape = next(c.hists.shape[1:] for c in cs if c.hists is not None)
                hists = np.concatenate([c.hists if c.hists is not None else _fill(len(c.stat_steps), shape, np.float32)
                                        for c in cs])
            lr = np.concatenate([c.lr if c.lr is not None else _fill(len(c.loss), ()) for c in cs])
            out = np.concatenate([c.out if c.out is not None else _fill(len(c.stat_steps), (len(OUT_STATS),)) for c in cs])
            pre = np.concatenate([c.pre_clip if c.pre_clip is not None else _fill(len(c.stat_steps), ()) for c in cs])
            self._chunks = [Chunk(np.concatenate([c.loss_steps for c in cs]), np.concatenate([c.loss for c in cs]),
                                  np.concatenate([c.stat_steps for c in cs]), np.concatenate([c.layers for c in cs]),
                                  np.concatenate([c.acts for c in cs]), np.concatenate(inputs), hists, lr, out, pre)]
        return self._chunks[0]

    @property
    def loss_steps(self) -> np.ndarray:
        return self._merged().loss_steps

    @property
    def loss(self) -> np.ndarray:
        return self._merged().loss

    @property
    def lr(self) -> np.ndarray:
        """(T,) learning rate at each loss step; NaN where unknown."""
        m = self._merged()
        return m.lr if m.lr is not None else _fill(len(m.loss), ())

    @property
    def stat_steps(self) -> np.ndarray:
        return self._merged().stat_steps

    def layer(self, stat: str) -> np.ndarray:
        """(S, L) array of one layer statistic."""
        return self._merged().layers[:, :, LAYER_STATS.index(stat)]

    def act(self, stat: str) -> np.ndarray:
        """(S, A) array of one activation statistic."""
        return self._merged().acts[:, :, ACT_STATS.index(stat)]

    def output(self, stat: str) -> np.ndarray:
        """(S,) one statistic of the model's output; NaN where not recorded."""
        m = self._merged()
        j = OUT_STATS.index(stat)
        if m.out is None or m.out.shape[1] <= j:  # recorded before this statistic existed
            return _fill(len(m.stat_steps), ())
        return m.out[:, j]

    @property
    def pre_clip_norm(self) -> np.ndarray:
        """(S,) total gradient norm before clipping at each recorded step, as the loop passed it to
        ``step(loss, grad_norm=...)``; NaN where not given."""
        m = self._merged()
        return m.pre_clip if m.pre_clip is not None else _fill(len(m.stat_steps), ())

    @property
    def inputs(self) -> np.ndarray:
        return self._merged().inputs

    @property
    def hists(self) -> np.ndarray | None:
        """(S, A, bins) activation histogram counts per recorded step, or None (a run recorded without them)."""
        return self._merged().hists

    def clip_seen(self) -> float | None:
        """About the ``max_norm`` the loop clips the total gradient norm to, or None when no clipping was seen.

        Told (``step(loss, grad_norm=...)`` on sampled steps): the median recorded norm where it is below the
        pre-clip one.  Not told: ``clip_grad_norm_`` leaves the total norm at max_norm (to ~1e-6) on every step it
        clips, while unclipped gradients never repeat their norm, so a total norm that sits at one value (within
        0.1%) on half the sampled steps or more (at least 5 with a gradient), a value of one or two significant digits,
        is the loop's clip."""
        pre = self.pre_clip_norm
        g = self.layer("grad_norm")
        fin = np.isfinite(g)
        post = np.sqrt((np.where(fin, g, 0.0) ** 2).sum(axis=1))  # total norm over the layers measured
        if len(pre) and np.isfinite(pre).any():
            clipped = np.isfinite(pre) & (pre > 0) & fin.any(axis=1) & (post < pre * (1 - 1e-3))
            return float(np.median(post[clipped])) if clipped.any() else None
        live = post[fin.any(axis=1) & (post > 0) & np.isfinite(post)]
        if len(live) < 5:
            return None
        med = float(np.median(live))
        if float(np.mean(np.abs(live - med) <= 1e-3 * med)) < 0.5:
            return None
        # ... at a value someone typed: max_norm has one or two significant digits (0.25, 1.0, 5, 40).  A loss whose
        # gradient has a fixed size holds its norm still too: an L1 loss's is the mean of the inputs' signs (mrdbourke's
        # full-batch linear regression: 1.0733 at every step, read as a clip, which hid its rate's oscillation; public
        # set 33, after it was scored)
        typed = float(f"{med:.2g}")
        return med if abs(med - typed) <= 1e-3 * med else None

    def lr_at(self, step: int) -> float | None:
        """The learning rate recorded at ``step`` (the last loss step at or before it); None if unknown."""
        steps, lr = self.loss_steps, self.lr
        i = int(np.searchsorted(steps, step, side="right")) - 1
        if i < 0 or not len(lr):
            i = 0
        if not len(lr) or not np.isfinite(lr[i]):
            return None
        return float(lr[i])

    # -- one file ---------------------------------------------------------------------------------
    def save(self, path: str | Path, **meta) -> None:
        """Write the whole history (and any JSON-able ``meta``) to one ``.npz`` file."""
        m = self._merged()
        header = {"layer_names": self.layer_names, "act_names": self.act_names, "act_kinds": self.act_kinds,
                  "hist_ranges": self.hist_ranges, "layer_stats": list(LAYER_STATS), "out_stats": list(OUT_STATS),
                  "mse_const_at_r": self.mse_const_at_r, "act_units": self.act_units, "meta": meta}
        arrays = {"loss_steps": m.loss_steps, "loss": m.loss, "stat_steps": m.stat_steps, "layers": m.layers,
                  "acts": m.acts, "inputs": m.inputs, "lr": self.lr,
                  "out": m.out if m.out is not None else _fill(len(m.stat_steps), (len(OUT_STATS),)),
                  "pre_clip": self.pre_clip_norm}
        if m.hists is not None:
            arrays["hists"] = m.hists
        np.savez_compressed(path, header=np.array(json.dumps(header)), **arrays)

    @classmethod
    def load(cls, path: str | Path) -> tuple[History, dict]:
        """A history written by :meth:`save`, and its meta."""
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(str(z["header"]))
            ranges = [tuple(r) for r in header["hist_ranges"]] if header.get("hist_ranges") else None
            h = cls(header["layer_names"], header["act_names"], header["act_kinds"], max_rows=10**9, max_loss=10**9,
                    hist_ranges=ranges, mse_const_at_r=bool(header.get("mse_const_at_r", False)),
                    act_units=header.get("act_units"))
            names = header.get("layer_stats") or (_LAYER_STATS_V1 if z["layers"].shape[-1] == 4 else LAYER_STATS)
            if len(names) != z["layers"].shape[-1] or not set(LAYER_STATS) <= set(names):
                raise ValueError(f"{path}: its header names the layer statistics {list(names)} but its layers array holds "
                                 f"{z['layers'].shape[-1]} per layer (needed: {list(LAYER_STATS)}); record the run again")
            layers = z["layers"][..., [list(names).index(s) for s in LAYER_STATS]]
            h.append(Chunk(z["loss_steps"], z["loss"], z["stat_steps"], layers, z["acts"], z["inputs"],
                           z["hists"] if "hists" in z else None, z["lr"], z["out"],
                           z["pre_clip"] if "pre_clip" in z else None))
        return h, header.get("meta", {})
