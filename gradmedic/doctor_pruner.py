"""The doctor as an Optuna pruner: stop a trial because the network is sick, say why, spare slow starters.

Optuna's pruners judge a trial by its reported values alone: below the median at this epoch, out.
The doctor judges it by what happens inside (NaN, exploding or vanishing gradients, dead units, a rate
far too high or low), so it can stop a sick trial before its value says anything, and it can tell a
healthy net still sitting at its start (seed 004's ReLU/He net is at chance for ~300 steps before it
learns) from one that is sick.

The objective (``gradmedic.tune``) writes the doctor's verdict of the trial so far into the trial's
user attribute ``doctor`` after each epoch (:func:`verdict`), then asks ``trial.should_prune()``.
:class:`DoctorPruner` reads it:

1. the doctor is sure of a serious or critical finding: prune, and store the reason on the trial
   (``pruned_by`` = doctor, ``prune_problem``, ``prune_step``, ``prune_reason``: the evidence sentence);
2. the trial is healthy (no finding at all), not getting worse, has not started learning yet (its training
   loss is still within 10% of its first steps': a slow starter) and is still within its warm-up: keep it,
   whatever the wrapped pruner says (the slow-starter veto).  A healthy trial that has started and trails the
   others is the wrapped pruner's to judge, as without the doctor: that is where the value is informative;
3. otherwise the wrapped pruner (MedianPruner by default) decides; its prunes are stored the same way.
"""

from __future__ import annotations

import math
from typing import Any

import optuna
from optuna.pruners import BasePruner, MedianPruner
from optuna.trial import FrozenTrial

from gradmedic.doctor.diagnose import Thresholds

SERIOUS = ("critical", "serious")
VERDICT_ATTR = "doctor"
# The veto's warm-up, as a share of a trial's planned steps.  A quarter: long enough for the flat start of
# seed 004's ReLU/He net (~300 of its 4800 steps; a tuned trial is usually shorter, and most of it is spent
# learning), short enough that a healthy but poor trial costs at most a quarter run before the median rule
# may cut it.  Never longer than the doctor's own patience for a flat start (window x plateau_windows =
# 500 steps): past it the doctor itself calls a plateau, so "healthy" no longer covers "has not started".
WARMUP_SHARE = 0.25
RISING = 1.01  # an epoch's training loss 1% above the best epoch before it: getting worse, not learning
# Started learning: the last epoch's training loss 10% or more below the loss of the first steps.  Seed 004's ReLU/He
# net moves 0.693 -> 0.689 during its flat start (0.6%); any trial that has taken off is far past 10%, and its value
# then says how good it is, so the median rule may judge it.
STARTED = 0.9


def patience(th: Thresholds | None = None) -> int:
    """Steps the doctor waits before calling a flat start a plateau."""
    th = th or Thresholds()
    return th.window * th.plateau_windows


def verdict(monitor: Any, planned_steps: int, epochs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The doctor's view of a trial so far, small and JSON-able (it is stored on the trial):
    ``steps`` trained of ``total_steps`` planned, ``healthy`` (no finding, not even a warning),
    ``rising`` (the last epoch's training loss, measured on the whole training split, is 1% above the
    best before it: getting worse), ``started`` (that loss is 10% or more below the first steps'), and
    ``finding``, the first serious or critical finding the doctor is sure of (problem, severity, step,
    detected_at, message), or None."""
    d = monitor.diagnose()
    f = d.first_serious()
    return {"steps": int(monitor.steps), "total_steps": int(planned_steps), "healthy": bool(d.healthy),
            "rising": _rising(epochs or []), "started": _started(monitor, epochs or []),
            "finding": None if f is None else {"problem": f.problem, "severity": f.severity, "step": int(f.step),
                                               "detected_at": int(f.detected_at), "message": f.message}}


def refresh(v: dict[str, Any], monitor: Any, epochs: list[dict[str, Any]]) -> dict[str, Any]:
    """A verdict with the doctor's findings as last judged, and the steps and the loss as they are now
    (between two diagnoses: one reads the whole history, so it is not repeated every short epoch)."""
    return {**v, "steps": int(monitor.steps), "rising": _rising(epochs), "started": _started(monitor, epochs)}


def _started(monitor: Any, epochs: list[dict[str, Any]]) -> bool:
    """The last epoch's training loss is STARTED x the loss of the first steps or lower: the trial is learning."""
    first = [x for x in monitor.history.loss[:10].tolist() if math.isfinite(x)]
    last = epochs[-1]["train_loss"] if epochs else math.nan
    return bool(first and math.isfinite(last) and last <= STARTED * sorted(first)[len(first) // 2])


def _rising(epochs: list[dict[str, Any]]) -> bool:
    losses = [e["train_loss"] for e in epochs]
    if not losses:
        return False
    last, before = losses[-1], [x for x in losses[:-1] if math.isfinite(x)]
    return not math.isfinite(last) or bool(before and last > RISING * min(before))


def _store(study: optuna.Study, trial: FrozenTrial, attrs: dict[str, Any]) -> None:
    """Write the reason onto the trial being pruned (a pruner is handed a frozen copy, so through the storage)."""
    for k, v in attrs.items():
        study._storage.set_trial_user_attr(trial._trial_id, k, v)


def pruner_name(p: BasePruner) -> str:
    return {"MedianPruner": "median", "HyperbandPruner": "hyperband", "PercentilePruner": "percentile",
            "SuccessiveHalvingPruner": "successive_halving", "NopPruner": "none",
            "DoctorPruner": "doctor"}.get(type(p).__name__, type(p).__name__)


def value_reason(name: str, trial: FrozenTrial, direction: str) -> str:
    """Why a value-based pruner cut ``trial``, in words (the value and epoch it was cut at)."""
    step = trial.last_step
    v = trial.intermediate_values.get(step) if step is not None else None
    shown = f"{v:.4g}" if isinstance(v, float) else "-"
    rule = {"median": "the median of the earlier trials at that epoch",
            "hyperband": "the best third of its Hyperband bracket at that epoch"}.get(name, f"what {name} keeps")
    side = "below" if direction == "maximize" else "above"
    return f"value {shown} at epoch {step} was {side} {rule}"


class DoctorPruner(BasePruner):
    """Prune on the doctor's serious findings; otherwise defer to ``wrapped`` (MedianPruner()), except
    that a healthy trial that is not getting worse is kept until ``warmup`` of its planned steps
    (default: a quarter, at most the doctor's 500-step patience)."""

    def __init__(self, wrapped: BasePruner | None = None, warmup: float = WARMUP_SHARE, max_warmup_steps: int | None = None):
        if not 0 <= warmup <= 1:
            raise ValueError("warmup is a share of the planned steps, in [0, 1]")
        self.wrapped = wrapped if wrapped is not None else MedianPruner()
        self.warmup = warmup
        self.max_warmup_steps = patience() if max_warmup_steps is None else max_warmup_steps

    def warmup_steps(self, total_steps: int) -> int:
        return int(min(self.max_warmup_steps, self.warmup * total_steps))

    def decide(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, Any] | None:
        """The reason to prune ``trial`` now (the user attributes to store), or None to keep it."""
        v = trial.user_attrs.get(VERDICT_ATTR) or {}
        f = v.get("finding")
        if f and f.get("severity") in SERIOUS:
            return {"pruned_by": "doctor", "prune_problem": f["problem"], "prune_step": f["detected_at"],
                    "prune_reason": f"{f['problem']} ({f['severity']}) since step {f['step']}, sure at step "
                                    f"{f['detected_at']}: {f['message']}"}
        if (v.get("healthy") and not v.get("rising") and not v.get("started")
                and v.get("steps", 0) < self.warmup_steps(v.get("total_steps", 0))):
            return None  # the slow-starter veto
        if self.wrapped.prune(study, trial):
            name = pruner_name(self.wrapped)
            return {"pruned_by": name, "prune_problem": None, "prune_step": v.get("steps"),
                    "prune_reason": value_reason(name, trial, study.direction.name.lower())}
        return None

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        reason = self.decide(study, trial)
        if reason is None:
            return False
        _store(study, trial, reason)
        return True
