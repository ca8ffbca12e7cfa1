"""Judging: from recorded statistics to findings.

Each detector is a small pure function of the recorded history (``monitor.History``) and a
``Context`` (what is known about the model and, in the trainer, the spec).  None touches the
model, the disk or the screen.  Every threshold lives in :class:`Thresholds` with its reason.

A problem is reported only when training suffers from it (no progress, rising loss, NaN, a whole
layer silent), not because of the configuration: a deep sigmoid net that loses gradient through
depth but still learns is healthy.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from . import remedies as remedies_mod
from .history import History
from .spec import Spec

PROBLEMS = ("vanishing_gradients", "exploding_gradients", "non_finite", "dead_units", "saturated_units",
            "lr_too_high", "lr_too_low", "plateau", "unscaled_inputs", "symmetric_units")

# Modules whose weights map one layer to the next; their gradient norms are compared across depth.
AFFINE_TYPES = {"Linear", "Conv1d", "Conv2d", "Conv3d", "RNN", "LSTM", "GRU", "Bilinear", "LazyLinear",
                "NonDynamicallyQuantizableLinear", "MultiheadAttention"}


class Thresholds(BaseModel):
    """The doctor's thresholds; each field says why it has its value.  Override any of them with
    ``watch(model, thresholds={"vanishing_ratio": 0.05})``."""

    model_config = ConfigDict(extra="forbid")

    window: int = Field(100, ge=10, description=(
        "steps over which progress is judged. The issue asks for a report within 100 steps of a problem "
        "becoming visible; 100 mini-batches also average out batch-to-batch noise in the loss."))
    min_steps: int = Field(60, ge=10, description=(
        "no judgement of progress before this many steps: the first few dozen updates of a healthy run "
        "can be flat while momentum builds up or symmetry breaks."))
    stall_gain: float = Field(0.01, gt=0, lt=1, description=(
        "relative decrease of the smoothed loss over one window below which training makes no progress: "
        "1% over 100 steps would need 10,000 steps to halve the loss."))
    high_loss: float = Field(0.9, gt=0, description=(
        "a stalled loss above this share of its reference (chance level when known, else the initial loss) "
        "means the network has learned next to nothing; a run stalled below it has learned and converged."))
    plateau_windows: int = Field(5, ge=1, description=(
        "windows without progress, at a loss above high_loss of its reference, before a stall with no other "
        "cause is called a plateau. Seed 004's healthy ReLU/He net sits at chance for ~300 steps before it "
        "learns (loss 0.693 -> 0.689 over steps 1-300, seed 1) and issue 3's 8x32 sigmoid net with N(0, 1) "
        "weights for ~400 steps (scenario mlp_sigmoid_8x32_normal1), so shorter stalls with healthy gradients "
        "are not yet evidence. (A run that "
        "stalls after learning part of the task is not flagged: without labels the doctor cannot tell a "
        "plateau from the best loss the data allows.)"))
    vanishing_ratio: float = Field(0.1, gt=0, lt=1, description=(
        "first/last affine layer gradient-norm ratio. With Glorot/He init the variance argument keeps "
        "per-layer gradient norms within a small factor (4.6x across 6 layers for seed 004's ReLU/He net); "
        "sigmoid's derivative <= 1/4 shrinks them >= 4x per layer (seed 002 §7.8, seed 003)."))
    exploding_ratio: float = Field(100.0, gt=1, description=(
        "first/last ratio above which gradients grow through depth: per-layer gains > 1 compound "
        "geometrically (seed 003 chain rule); 100x is far outside the healthy few-fold spread."))
    exploding_growth: float = Field(1000.0, gt=1, description=(
        "growth of a layer's gradient norm (or of the loss) over its early median; mini-batch noise moves "
        "these by a few-fold, 1000x means divergence (seed 004: the regression net's loss runs to NaN)."))
    dead_share: float = Field(0.5, gt=0, le=1, description=(
        "share of a ReLU layer's units silent for every input of every sampled batch in a window; "
        "such units pass no gradient (seed 002 §7.4.2) and at half the layer its capacity is halved."))
    saturated_share: float = Field(0.5, gt=0, le=1, description=(
        "share of sigmoid/tanh outputs in the flat tails (derivative <= 1/25 of its peak, seed 002 §7.4)."))
    lr_high_rise: float = Field(3.0, gt=1, description=(
        "smoothed loss rising to this multiple of its running minimum: mini-batch noise of a converging "
        "run stays well under 2x; a rate past the stability limit makes the loss grow (seed 002 Fig. 7.6)."))
    rise_undo: float = Field(0.25, gt=0, description=(
        "a rising loss counts only if it gives back at least this share of the starting loss: near convergence "
        "a loss of 0.001 that wobbles to 0.004 is 4x up but nothing lost (healthy moons/blobs runs), and a healthy "
        "spirals/maxout run spiked from 0.002 to 0.075 (11% of its start) and recovered to 99% accuracy."))
    lr_low_update: float = Field(1e-5, gt=0, description=(
        "update-to-weight ratio per step. About 1e-3 is the usual healthy rate (Karpathy, CS231n); at 1e-5 "
        "weights change 1% in 1000 steps, so a high loss that moves this slowly is starved by the rate."))
    unscaled_scale: float = Field(10.0, gt=1, description=(
        "input feature std or |mean| above which the first layer's pre-activation variance is >= 100x what "
        "Glorot/He init assume (unit-scale inputs, seed 000; seed 002 §7.6)."))
    unscaled_spread: float = Field(100.0, gt=1, description=(
        "ratio of the largest to the smallest non-constant feature std: weights on the small features learn "
        "100x slower at one learning rate (seed 002 §7.6, Fig. 7.20 zig-zag)."))
    unscaled_extreme: float = Field(50.0, gt=1, description=(
        "an input scale reported even before training visibly suffers: at 50 the first layer's pre-activation "
        "variance is 2500x what the init assumes, and its gradients 50x larger than with unit inputs (seed 002 "
        "§7.6). A ReLU CNN on raw 0..255 pixels reached 0.63 accuracy against 0.94 standardized (scenario cnn_raw_pixels)."))
    symmetric_spread: float = Field(1e-6, gt=0, description=(
        "relative spread of a layer's rows of weights below which its units are identical copies; "
        "identical units get identical gradients and stay identical (seed 002 §7.5)."))


SEVERITY = {"non_finite": "critical", "exploding_gradients": "serious", "vanishing_gradients": "serious",
            "dead_units": "serious", "saturated_units": "serious", "lr_too_high": "serious", "lr_too_low": "serious",
            "plateau": "warning", "unscaled_inputs": "serious", "symmetric_units": "serious"}


@dataclass
class Finding:
    problem: str
    severity: str
    layers: list[str]
    step: int  # first step it was seen
    detected_at: int  # step at which the evidence became conclusive
    message: str  # the evidence in one sentence a person can check
    evidence: dict[str, Any]
    remedies: list[remedies_mod.Remedy]

    def to_dict(self) -> dict[str, Any]:
        return {"problem": self.problem, "severity": self.severity, "layers": self.layers, "step": self.step,
                "detected_at": self.detected_at, "message": self.message, "evidence": _jsonable(self.evidence),
                "remedies": [r.to_dict() for r in self.remedies]}


@dataclass
class Diagnosis:
    findings: list[Finding]
    steps: int
    notes: list[str] = field(default_factory=list)  # checks that were off, and why

    @property
    def problems(self) -> set[str]:
        return {f.problem for f in self.findings}

    @property
    def healthy(self) -> bool:
        return not self.findings

    def first_serious(self) -> Finding | None:
        serious = [f for f in self.findings if f.severity in ("critical", "serious")]
        return min(serious, key=lambda f: (f.detected_at, f.severity != "critical")) if serious else None

    def to_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "healthy": self.healthy, "problems": sorted(self.problems),
                "findings": [f.to_dict() for f in self.findings], "notes": list(self.notes)}

    def __str__(self) -> str:
        notes = [f"  note: {n}" for n in self.notes]
        if not self.findings:
            return "\n".join([f"gradmedic: no problems found in {self.steps} steps."] + notes)
        lines = [f"gradmedic: {len(self.findings)} problem(s) in {self.steps} steps"]
        for f in self.findings:
            where = f" in {', '.join(map(_n, f.layers[:4]))}{'...' if len(f.layers) > 4 else ''}" if f.layers else ""
            lines.append(f"- {f.problem} ({f.severity}){where}, since step {f.step} (sure at step {f.detected_at})")
            lines.append(f"    {f.message}")
            for i, r in enumerate(f.remedies[:3], 1):
                ch = "  [" + ", ".join(f"{k}={v}" for k, v in r.spec_change.items()) + "]" if r.spec_change else ""
                lines.append(f"    {i}. {r.change} ({r.source}){ch}")
        return "\n".join(lines + notes)

    __repr__ = __str__


@dataclass
class Context:
    """What the doctor knows beside the statistics."""

    layer_names: list[str]
    layer_types: list[str]
    act_names: list[str]
    act_kinds: list[str]
    act_types: list[str] = field(default_factory=list)
    lr: float | None = None
    reference_loss: float | None = None  # chance-level loss when known (ln 2 for binary cross-entropy, ...)
    symmetric: list[tuple[str, int, float]] = field(default_factory=list)  # (layer, units, relative row spread)
    spec: Spec | None = None
    regression: bool = False
    notes: list[str] = field(default_factory=list)  # what the monitor could not measure, and why

    @classmethod
    def from_monitor(cls, m: Any) -> "Context":
        """What a live ``Monitor`` knows: its layers, activations, optimizer's rate, the model's symmetry."""
        lr = m._current_lr() if m.optimizer is not None else None
        return cls(list(m.layer_names), list(m.layer_types), list(m.act_names), list(m.act_kinds),
                   list(m.act_types), lr=lr if lr is not None and math.isfinite(lr) else None,
                   reference_loss=m.reference_loss, symmetric=m.row_spread(), spec=m.spec, regression=m.regression,
                   notes=list(getattr(m, "notes", [])))

    @classmethod
    def from_run(cls, run: Any) -> "Context":
        """What a recorded run directory (``records.Run``) tells: its header, summary and spec."""
        from .spec import resolved_lr, validate

        spec = validate(run.spec)
        h, hist = run.header, run.history
        return cls(list(hist.layer_names), h.get("layer_types") or ["Linear"] * len(hist.layer_names),
                   list(hist.act_names), list(hist.act_kinds), list(h.get("activation_types") or []), lr=resolved_lr(spec),
                   reference_loss=h.get("reference_loss"),
                   symmetric=[tuple(x) for x in (run.summary or {}).get("row_spread", [])], spec=spec,
                   regression=spec.data.dataset == "regression" or (run.summary or {}).get("metric") == "mse")

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in ("layer_names", "layer_types", "act_names", "act_kinds", "act_types", "lr",
                                           "reference_loss", "regression", "notes")}
        d["symmetric"] = [list(x) for x in self.symmetric]
        d["spec"] = self.spec.model_dump(mode="json") if self.spec is not None else None
        return _jsonable(d)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Context":
        from .spec import validate

        d = dict(d)
        spec = d.pop("spec", None)
        d["symmetric"] = [tuple(x) for x in d.get("symmetric", [])]
        return cls(**d, spec=validate(spec) if spec else None)


# -- helpers -------------------------------------------------------------------------------------
def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return f if math.isfinite(f) else str(f)
    if isinstance(v, np.integer):
        return int(v)
    return v


def _g(x: float) -> str:
    return f"{x:.2g}"


def _n(name: str) -> str:
    """A module name as a reader sees it: 'fc1', but 'layer 0' for nn.Sequential's numbers."""
    return f"layer {name}" if name[:1].isdigit() else name


def _ref(L: "_Loss", loss: float) -> str:
    if not (L.reference and math.isfinite(loss)):
        return ""
    return f" ({loss / L.reference:.0%} of the {'chance-level' if L.ref_is_chance else 'initial'} loss {_g(L.reference)})"


class _Loss:
    """The per-step loss, smoothed by medians over quarter windows (robust to single bad batches)."""

    def __init__(self, h: History, th: Thresholds, reference: float | None):
        self.steps, self.values = h.loss_steps, h.loss
        finite = np.isfinite(self.values)
        self.steps_f, self.values_f = self.steps[finite], self.values[finite]
        self.q = max(5, th.window // 4)
        head = self.values_f[: self.q]
        self.initial = float(np.median(head)) if len(head) else math.nan
        self.reference = min(self.initial, reference) if reference else self.initial
        self.ref_is_chance = bool(reference) and reference <= self.initial
        # The loss before training moved it: the first steps' level, or chance level if higher.
        first = self.values_f[:3]
        head = abs(float(np.median(first))) if len(first) else 0.0
        self.head = float(np.median(first)) if len(first) else math.nan
        self.start = max(head, abs(reference or 0.0), abs(self.initial) if math.isfinite(self.initial) else 0.0)
        self._smooth: tuple[np.ndarray, np.ndarray] | None = None

    def level(self, lo: int, hi: int) -> float:
        """Median finite loss over steps (lo, hi]."""
        i, j = np.searchsorted(self.steps_f, [lo + 1, hi + 1])
        return float(np.median(self.values_f[i:j])) if j > i else math.nan

    def best_before(self, t: int) -> tuple[float, int]:
        """Lowest smoothed loss (median of q consecutive steps) ending at or before step t, and its step."""
        if self._smooth is None:
            n = len(self.values_f)
            if n >= self.q:
                win = np.lib.stride_tricks.sliding_window_view(self.values_f, self.q)
                self._smooth = (np.median(win, axis=1), self.steps_f[self.q - 1:])
            else:
                self._smooth = (np.zeros(0), np.zeros(0, dtype=np.int64))
        vals, steps = self._smooth
        i = np.searchsorted(steps, t + 1)
        if i == 0:
            return math.nan, 0
        k = int(np.argmin(vals[:i]))
        return float(vals[k]), int(steps[k])

    def stalled(self, t: int, th: Thresholds, windows: int = 1) -> bool:
        """No progress over the last ``windows`` windows ending at step t."""
        w = th.window * windows
        if t < max(th.min_steps, w):
            return False
        before, now = self.level(t - w - self.q, t - w), self.level(t - self.q, t)
        if not (math.isfinite(before) and math.isfinite(now)):
            return False
        return (before - now) < th.stall_gain * abs(before)

    def high(self, t: int, frac: float) -> bool:
        now = self.level(t - self.q, t)
        return math.isfinite(now) and math.isfinite(self.reference) and now > frac * abs(self.reference)


def _eval_points(h: History, th: Thresholds) -> np.ndarray:
    """Steps at which conditions are judged: every sampled step, plus every quarter window of the loss."""
    pts = set(h.stat_steps.tolist())
    if len(h.loss_steps):
        last = int(h.loss_steps[-1])
        q = max(5, th.window // 4)
        pts.update(range(q, last + 1, q))
        pts.add(last)
    return np.array(sorted(pts), dtype=np.int64)


def _sustained(steps: np.ndarray, cond: np.ndarray, span: int) -> tuple[int, int] | None:
    """First run of consecutive True samples covering at least ``span`` steps: (start, end) steps."""
    start = None
    for s, c in zip(steps.tolist(), cond.tolist()):
        if c:
            if start is None:
                start = s
            if s - start >= span:
                return start, s
        else:
            start = None
    return None


def _window_rows(h: History, t: int, w: int) -> np.ndarray:
    st = h.stat_steps
    return np.nonzero((st > t - w) & (st <= t))[0]


# -- detectors -------------------------------------------------------------------------------------
def detect_non_finite(h: History, ctx: Context, th: Thresholds, L: _Loss) -> list[Finding]:
    bad_loss = ~np.isfinite(h.loss)
    g = h.layer("grad_norm")
    w = h.layer("weight_norm")
    bad_stats = ~np.isfinite(g) | ~np.isfinite(w)
    step_loss = int(h.loss_steps[np.argmax(bad_loss)]) if bad_loss.any() else None
    row = int(np.argmax(bad_stats.any(axis=1))) if bad_stats.any() else None
    step_stat = int(h.stat_steps[row]) if row is not None else None
    steps = [s for s in (step_loss, step_stat) if s is not None]
    if not steps:
        return []
    step = min(steps)
    layers = [ctx.layer_names[j] for j in np.nonzero(bad_stats[row])[0]] if row is not None and step_stat == step else []
    last_ok = L.values_f[L.steps_f < step]
    ev: dict[str, Any] = {"step": step, "loss": float(h.loss[np.argmax(bad_loss)]) if step_loss == step else None,
                          "last_finite_loss": float(last_ok[-1]) if len(last_ok) else None, "layers": layers}
    msg = f"the loss became {ev['loss']} at step {step}" if step_loss == step else f"gradients or weights became non-finite at step {step}"
    if layers:
        msg += f" (non-finite in {', '.join(map(_n, layers))})"
    if ev["last_finite_loss"] is not None:
        msg += f"; the last finite loss was {_g(ev['last_finite_loss'])}"
    return [Finding("non_finite", SEVERITY["non_finite"], layers, step, step, msg, ev, [])]


def _affine(ctx: Context) -> list[int]:
    idx = [j for j, t in enumerate(ctx.layer_types) if t in AFFINE_TYPES]
    return idx if len(idx) >= 2 else []


def detect_depth_gradients(h: History, ctx: Context, th: Thresholds, L: _Loss) -> list[Finding]:
    """vanishing: early layers get a small share of the last layer's gradient and the loss stalls;
    exploding: they get 100x more, or gradients/loss grow 1000x over their early level."""
    out = []
    aff = _affine(ctx)
    g = h.layer("grad_norm")
    st = h.stat_steps
    if aff and len(st):
        first, last = g[:, aff[0]], g[:, aff[-1]]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = first / last
        # Vanishing: ratio small at every sample of a window in which the loss stalls high.
        small = np.isfinite(ratio) & (ratio < th.vanishing_ratio) | ((first == 0) & (last > 0))
        for k, t in enumerate(st.tolist()):
            rows = _window_rows(h, t, th.window)
            if t < th.min_steps or len(rows) == 0 or not small[rows].all():
                continue
            if L.stalled(t, th) and L.high(t, th.high_loss):
                since = _since(st, small, k)
                r = float(np.median(ratio[rows]))
                inner = [ctx.layer_names[j] for j in aff[:-1] if np.median(g[rows, j]) < th.vanishing_ratio * np.median(last[rows])]
                ev = {"first_layer": ctx.layer_names[aff[0]], "last_layer": ctx.layer_names[aff[-1]], "ratio": r,
                      "first_grad_norm": float(np.median(first[rows])), "last_grad_norm": float(np.median(last[rows])),
                      "loss": L.level(t - L.q, t), "reference_loss": L.reference,
                      "saturating": any(k2 == "saturating" for k2 in ctx.act_kinds), "depth": len(aff) - 1}
                msg = (f"{_n(ev['first_layer'])}'s gradient norm is {_g(r)} of {_n(ev['last_layer'])}'s since step {since} "
                       f"({_g(ev['first_grad_norm'])} vs {_g(ev['last_grad_norm'])}), and the loss has stalled at "
                       f"{_g(ev['loss'])}{_ref(L, ev['loss'])}")
                out.append(Finding("vanishing_gradients", SEVERITY["vanishing_gradients"], inner or [ev["first_layer"]],
                                   since, t, msg, ev, []))
                break
        # Exploding through depth: early layers get >= 100x the last layer's gradient while training suffers.
        big = np.isfinite(ratio) & (ratio > th.exploding_ratio)
        for k, t in enumerate(st.tolist()):
            rows = _window_rows(h, t, th.window)
            if t < th.min_steps or len(rows) == 0 or not big[rows].all():
                continue
            if (L.stalled(t, th) and L.high(t, th.high_loss)) or _rising(L, t, th):
                since = _since(st, big, k)
                r = float(np.median(ratio[rows]))
                ev = {"first_layer": ctx.layer_names[aff[0]], "last_layer": ctx.layer_names[aff[-1]], "ratio": r}
                msg = f"{_n(ev['first_layer'])}'s gradient norm is {_g(r)}x {_n(ev['last_layer'])}'s since step {since}: gradients grow layer by layer"
                out.append(Finding("exploding_gradients", SEVERITY["exploding_gradients"], [ev["first_layer"]], since, t, msg, ev, []))
                break
    if not any(f.problem == "exploding_gradients" for f in out):
        f = _growth(h, ctx, th, L)
        if f:
            out.append(f)
    return out


def _since(steps: np.ndarray, cond: np.ndarray, k: int) -> int:
    """The first step of the run of True ending at sample k."""
    j = k
    while j > 0 and cond[j - 1]:
        j -= 1
    return int(steps[j])


def _rising(L: _Loss, t: int, th: Thresholds) -> bool:
    """The smoothed loss at t is ``lr_high_rise`` times the lowest smoothed loss before it, and the
    rise gives back at least ``rise_undo`` of the initial loss (near zero, relative noise is large)."""
    now = L.level(t - L.q, t)
    best, _ = L.best_before(t - L.q)
    if not math.isfinite(best) or (math.isfinite(L.head) and L.head < best):
        best = L.head  # a jump within the first steps: compare with where the loss began
    if not (math.isfinite(now) and math.isfinite(best) and best >= 0):
        return False
    return now > th.lr_high_rise * max(best, 1e-12) and (now - best) > th.rise_undo * L.start


def _growth(h: History, ctx: Context, th: Thresholds, L: _Loss) -> Finding | None:
    """Gradient norms or the loss growing 1000x over their early level: divergence."""
    g = h.layer("grad_norm")
    w = h.layer("weight_norm")
    st = h.stat_steps
    cands = []
    # A gradient 1000x the weights it updates: one step of any usual rate throws the weights away.
    with np.errstate(divide="ignore", invalid="ignore"):
        huge = np.isfinite(g) & (g > th.exploding_growth * np.maximum(w, 1e-12))
    if huge.any():
        k = int(np.argmax(huge.any(axis=1)))
        j0 = int(np.nanargmax(np.where(huge[k], g[k] / np.maximum(w[k], 1e-12), np.nan)))
        cands.append((int(st[k]), int(st[k]), [ctx.layer_names[j] for j in np.nonzero(huge[k])[0]],
                      f"{_n(ctx.layer_names[j0])}'s gradient norm is {_g(g[k, j0])}, {_g(g[k, j0] / w[k, j0])}x its weight norm, at step {int(st[k])}",
                      {"layer": ctx.layer_names[j0], "grad_norm": float(g[k, j0]), "weight_norm": float(w[k, j0])}))
    if len(st) >= 2:
        early = np.nanmedian(np.where(np.isfinite(g[:3]), g[:3], np.nan), axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            grow = g / early
        # Growth from a tiny start (a layer behind a LayerNorm or a zero-initialized head) is not
        # divergence: also ask for a gradient larger than the weights it updates.
        hit = np.isfinite(grow) & (grow > th.exploding_growth) & (g > w) | (~np.isfinite(g) & np.isfinite(early))
        # ... and only when training suffers then: divergence ahead, a rising loss, or a stall at a high loss.
        doomed = not np.all(np.isfinite(h.loss))
        for k in np.nonzero(hit.any(axis=1))[0]:
            t = int(st[k])
            if not (doomed or _rising(L, t, th) or (L.stalled(t, th) and L.high(t, th.high_loss))):
                hit[k] = False
        if hit.any():
            k = int(np.argmax(hit.any(axis=1)))
            layers = [ctx.layer_names[j] for j in np.nonzero(hit[k])[0]]
            j0 = int(np.nonzero(hit[k])[0][0])
            val = g[k, j0]
            cands.append((int(st[k]), int(st[k]), layers, f"{_n(ctx.layer_names[j0])}'s gradient norm grew from {_g(early[j0])} to {_g(val)} by step {int(st[k])}",
                          {"layer": ctx.layer_names[j0], "early_grad_norm": float(early[j0]), "grad_norm": float(val)}))
    vals, steps = h.loss, h.loss_steps
    if len(vals) > 3:
        head = vals[:3][np.isfinite(vals[:3])]
        early = abs(float(np.median(head))) if len(head) else 0.0
        with np.errstate(invalid="ignore", over="ignore"):
            hit = (np.abs(vals) > th.exploding_growth * max(early, 1e-12)) | (~np.isfinite(vals))
        hit[:3] = False
        if hit.any() and early > 0:
            k = int(np.argmax(hit))
            first_big = int(np.argmax(np.isfinite(vals) & (np.abs(vals) > 10 * early))) if (np.isfinite(vals) & (np.abs(vals) > 10 * early)).any() else k
            peak = np.nanmax(np.where(np.isfinite(vals[: k + 1]), np.abs(vals[: k + 1]), np.nan)) if np.isfinite(vals[: k + 1]).any() else math.nan
            cands.append((int(steps[first_big]), int(steps[k]), [], f"the loss grew from {_g(early)} to {_g(peak)} by step {int(steps[k])}"
                          + (" and then became non-finite" if not np.isfinite(vals[k]) else ""),
                          {"initial_loss": early, "peak_loss": float(peak)}))
    if not cands:
        return None
    step, detected, layers, msg, ev = min(cands, key=lambda c: c[1])
    ev["regression"] = ctx.regression
    return Finding("exploding_gradients", SEVERITY["exploding_gradients"], layers, step, detected, msg, ev, [])


def detect_units(h: History, ctx: Context, th: Thresholds, L: _Loss) -> list[Finding]:
    """Dead ReLU units and saturated sigmoid/tanh units, reported when training suffers."""
    out = []
    st = h.stat_steps
    if not len(st) or not ctx.act_names:
        return out
    for problem, stat, thr, kind in (("dead_units", "dead_frac", th.dead_share, "relu"),
                                     ("saturated_units", "sat_frac", th.saturated_share, "saturating")):
        a = h.act(stat)
        cols = [i for i, k in enumerate(ctx.act_kinds) if k == kind]
        if not cols:
            continue
        for k, t in enumerate(st.tolist()):
            rows = _window_rows(h, t, th.window)
            if len(rows) == 0:
                continue
            share = np.nanmin(np.where(np.isfinite(a[rows][:, cols]), a[rows][:, cols], np.nan), axis=0) if len(rows) else None
            bad = [(ctx.act_names[c], float(s)) for c, s in zip(cols, share) if np.isfinite(s) and s >= thr]
            if not bad:
                continue
            # Training suffers: no progress at a high loss, or a whole layer passes no gradient.
            whole = problem == "dead_units" and any(s >= 1.0 for _, s in bad) and t >= min(th.min_steps, st[-1])
            if not (whole or (L.stalled(t, th) and L.high(t, th.high_loss))):
                continue
            col = np.array([a[:, c] for c in cols]).T
            cond = (np.where(np.isfinite(col), col, 0) >= thr).any(axis=1)
            since = _since(st, cond, k)
            name, s = max(bad, key=lambda b: b[1])
            span = int(t - st[rows[0]]) if len(rows) > 1 else 0
            if problem == "dead_units":
                msg = (f"{s:.0%} of the units in {_n(name)} gave no positive output for any input of each sampled batch"
                       + (f" over the last {span} steps" if span else f" at step {t}") + f" (since step {since})")
            else:
                msg = (f"{s:.0%} of {_n(name)}'s outputs sit in the flat tails of the activation (derivative <= 1/25 of its peak)"
                       + (f" over the last {span} steps" if span else f" at step {t}") + f" (since step {since})")
            # dead or saturated from the first recorded step: the initialization put them there, not training
            ev = {"layers": dict(bad), "threshold": thr, "loss": L.level(t - L.q, t), "at_init": bool(since <= st[0])}
            out.append(Finding(problem, SEVERITY[problem], [b[0] for b in bad], since, t, msg, ev, []))
            break
    return out


def detect_lr(h: History, ctx: Context, th: Thresholds, L: _Loss) -> list[Finding]:
    out = []
    pts = _eval_points(h, th)
    # Too high: the smoothed loss rises well above its running minimum.
    for t in pts.tolist():
        if t < L.q * 2:
            continue
        if _rising(L, t, th):
            now = L.level(t - L.q, t)
            best, sbest = L.best_before(t - L.q)
            if not math.isfinite(best) or (math.isfinite(L.head) and L.head < best):
                best, sbest = L.head, int(L.steps_f[0])
            lr = ctx.lr
            msg = f"the loss rose {_g(now / max(best, 1e-12))}x in {t - sbest} steps (from {_g(best)} at step {sbest} to {_g(now)})" + \
                  (f" at lr {lr:g}" if lr else "")
            out.append(Finding("lr_too_high", SEVERITY["lr_too_high"], [], sbest, t, msg,
                               {"min_loss": best, "min_step": sbest, "loss": now, "lr": lr}, []))
            break
    # Too low: high loss, no real progress, and every layer's weights move < 1e-5 of their norm per step.
    u = h.layer("update_ratio")
    st = h.stat_steps
    if len(st):
        umax = np.nanmax(np.where(np.isfinite(u), u, np.nan), axis=1) if u.shape[1] else np.full(len(st), np.nan)
        tiny = np.isfinite(umax) & (umax < th.lr_low_update)
        for k, t in enumerate(st.tolist()):
            rows = _window_rows(h, t, th.window)
            if t < th.min_steps or len(rows) < 2 or not tiny[rows].all():
                continue
            before, now = L.level(t - th.window - L.q, t - th.window), L.level(t - L.q, t)
            slow = math.isfinite(before) and math.isfinite(now) and (before - now) < 0.05 * abs(before)
            if slow and L.high(t, th.high_loss):
                since = _since(st, tiny, k)
                med = float(np.median(umax[rows]))
                msg = (f"the largest update-to-weight ratio per step is {_g(med)} (healthy is about 1e-3) since step {since}, "
                       f"and the loss moved only from {_g(before)} to {_g(now)} in {th.window} steps" + (f" at lr {ctx.lr:g}" if ctx.lr else ""))
                out.append(Finding("lr_too_low", SEVERITY["lr_too_low"], [], since, t, msg,
                                   {"update_ratio": med, "loss_before": before, "loss": now, "lr": ctx.lr}, []))
                break
    return out


def detect_plateau(h: History, ctx: Context, th: Thresholds, L: _Loss) -> list[Finding]:
    """Stalled at a high value for two windows (seed 002 Fig. 7.6); other causes are reported instead when found."""
    for t in _eval_points(h, th).tolist():
        if L.stalled(t, th, windows=th.plateau_windows) and L.high(t, th.high_loss):
            now = L.level(t - L.q, t)
            since = t - th.plateau_windows * th.window
            msg = f"the loss has stayed at {_g(now)}{_ref(L, now)} from step {since} to step {t}"
            u = h.layer("update_ratio")
            rows = _window_rows(h, t, th.window)
            upd = float(np.nanmedian(np.nanmax(u[rows], axis=1))) if len(rows) and u.shape[1] else math.nan
            return [Finding("plateau", SEVERITY["plateau"], [], since, t, msg,
                            {"loss": now, "reference_loss": L.reference, "update_ratio": upd}, [])]
    return []


def detect_unscaled_inputs(h: History, ctx: Context, th: Thresholds, L: _Loss, suffering: bool) -> list[Finding]:
    x = h.inputs
    if x.shape[0] == 0 or x.shape[2] == 0:
        return []
    mean = np.nanmedian(x[:, 0, :], axis=0)
    std = np.nanmedian(x[:, 1, :], axis=0)
    scale = np.maximum(np.abs(mean), std)
    live = std[np.isfinite(std) & (std > 1e-8 * max(1.0, float(np.nanmax(scale))))]
    spread = float(live.max() / live.min()) if len(live) >= 2 else 1.0
    j = int(np.nanargmax(scale))
    big = scale[j] > th.unscaled_scale
    extreme = scale[j] > th.unscaled_extreme
    if not ((big or spread > th.unscaled_spread) and (suffering or extreme)):
        return []
    step = int(h.stat_steps[0])
    parts = []
    if big:
        parts.append(f"input feature {j} has std {_g(std[j])} and mean {_g(mean[j])}")
    if spread > th.unscaled_spread:
        parts.append(f"feature stds span a factor {_g(spread)}")
    ev = {"feature": j, "std": float(std[j]), "mean": float(mean[j]), "std_spread": spread, "unscaled_inputs": True}
    return [Finding("unscaled_inputs", SEVERITY["unscaled_inputs"], [ctx.layer_names[0]], step, step,
                    "; ".join(parts) + " (networks are initialized for inputs of unit scale)", ev, [])]


def detect_symmetric(h: History, ctx: Context, th: Thresholds, L: _Loss) -> list[Finding]:
    layers = [(n, u, s) for n, u, s in ctx.symmetric if s < th.symmetric_spread]
    if not layers or not len(h.loss_steps) or h.loss_steps[-1] < 2:
        return []
    names = [n for n, _, _ in layers]
    desc = ", ".join(f"all {u} units of {_n(n)}" for n, u, _ in layers[:3])
    msg = f"{desc} have identical incoming weights (relative spread {_g(max(s for *_, s in layers))}); they can only change in lock step"
    # Identical units are identical from the first update on: diagnose() reports them from step 2.
    return [Finding("symmetric_units", SEVERITY["symmetric_units"], names, 1, min(2, int(h.loss_steps[-1])), msg,
                    {"layers": {n: u for n, u, _ in layers}}, [])]


# -- the doctor -----------------------------------------------------------------------------------
def diagnose(h: History, ctx: Context, th: Thresholds | None = None) -> Diagnosis:
    """All findings in the recorded history, each with evidence and remedies, ordered by first step."""
    with warnings.catch_warnings():  # all-NaN columns (statistics that do not apply) are expected
        warnings.simplefilter("ignore", RuntimeWarning)
        return _diagnose(h, ctx, th)


def _diagnose(h: History, ctx: Context, th: Thresholds | None) -> Diagnosis:
    th = th or Thresholds()
    steps = int(h.loss_steps[-1]) if len(h.loss_steps) else (int(h.stat_steps[-1]) if len(h.stat_steps) else 0)
    L = _Loss(h, th, ctx.reference_loss)
    findings: list[Finding] = []
    findings += detect_non_finite(h, ctx, th, L)
    findings += detect_depth_gradients(h, ctx, th, L)
    findings += detect_units(h, ctx, th, L)
    findings += detect_lr(h, ctx, th, L)
    findings += detect_symmetric(h, ctx, th, L)
    suffering = bool(findings) or any(L.stalled(t, th) and L.high(t, th.high_loss) for t in _eval_points(h, th).tolist())
    findings += detect_unscaled_inputs(h, ctx, th, L, suffering)
    if not findings:  # a plateau is the diagnosis of a stall with no other cause
        findings += detect_plateau(h, ctx, th, L)
    findings = _reconcile(findings)
    found = {f.problem for f in findings}
    for f in findings:
        ev = dict(f.evidence)
        ev.setdefault("regression", ctx.regression)
        if "unscaled_inputs" in found:
            ev["unscaled_inputs"] = True
        if "lr_too_high" in found:
            ev["lr_high"] = True
        f.remedies = remedies_mod.for_problem(f.problem, ev, ctx.spec, ctx.lr)
    findings.sort(key=lambda f: (f.step, PROBLEMS.index(f.problem)))
    return Diagnosis(findings, steps, list(ctx.notes))


def _reconcile(findings: list[Finding]) -> list[Finding]:
    """One cause per symptom where the seeds say which comes first."""
    found = {f.problem for f in findings}
    drop = set()
    if "symmetric_units" in found:  # identical units explain the stall; their gradients may look vanishing
        drop |= {"vanishing_gradients", "lr_too_low", "dead_units", "saturated_units"}
    if "dead_units" in found:
        drop.add("vanishing_gradients")  # silent units pass no gradient back: they are the cause
    if "lr_too_high" in found:
        drop.add("vanishing_gradients")  # a rate past stability saturates or kills units; the rate is the cause
    if "non_finite" in found or "exploding_gradients" in found:
        drop |= {"lr_too_low", "vanishing_gradients"}
    return [f for f in findings if f.problem not in drop]


def to_json(d: Diagnosis) -> str:
    return json.dumps(d.to_dict(), indent=2)
