"""Remedies: the seeds' fixes for each problem, as a change a person can read and, where the spec
is known, a spec change (flat field -> value) that ``spec.override`` applies as is.

A remedy is a pure function of the evidence and the spec: it never touches the model or the disk.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from .spec import Spec, resolved_lr


@dataclass(frozen=True)
class Remedy:
    change: str  # what to do, in words
    source: str  # the seed section or paper behind it
    spec_change: dict[str, Any] = field(default_factory=dict)  # flat spec fields; empty when not expressible

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


HAND_SCALED_INITS = ("normal", "uniform", "constant", "zeros")  # a scale picked by hand, not from the fan-in/out


def _fitted_init(act: str | None) -> str:
    """The variance-preserving rule for an activation: Glorot for sigmoid/tanh, LeCun for SELU, He otherwise."""
    return "glorot_uniform" if act in ("sigmoid", "tanh") else "lecun_normal" if act == "selu" else "he_uniform"


def _lr(spec: Spec | None, lr: float | None) -> float | None:
    if spec is not None:
        return resolved_lr(spec)
    return lr


def _scaled_lr(spec: Spec | None, lr: float | None, factor: float) -> tuple[str, dict[str, Any]]:
    cur = _lr(spec, lr)
    if cur is None:
        return f"{'lower' if factor < 1 else 'raise'} the learning rate {1 / factor if factor < 1 else factor:g}x", {}
    new = float(f"{cur * factor:.3g}")
    return f"{'lower' if factor < 1 else 'raise'} the learning rate from {cur:g} to {new:g}", {"lr": new}


def for_problem(problem: str, evidence: dict[str, Any], spec: Spec | None = None, lr: float | None = None) -> list[Remedy]:
    """Remedies for one finding, best first, ordered by what the evidence says."""
    act = spec.model.activation if spec else evidence.get("activation")
    depth = len(spec.model.hidden) if spec else evidence.get("depth", 0)
    R = Remedy
    if problem == "vanishing_gradients":
        sat = act in ("sigmoid", "tanh") or evidence.get("saturating")
        out = []
        if sat:
            out.append(R("replace sigmoid/tanh by ReLU with He initialization", "seed 004; seed 002 §7.4-7.5; He et al. 2015",
                         {"activation": "relu", "init": "he_uniform"}))
            out.append(R("keep tanh but use Glorot initialization, which keeps the variance of activations and gradients "
                         "equal across layers", "seed 000; Glorot & Bengio 2010", {"activation": "tanh", "init": "glorot_uniform"}))
        else:
            out.append(R("use He initialization (variance 2/fan_in) so each ReLU layer keeps the gradient's scale",
                         "seed 001; He et al. 2015", {"init": "he_uniform"}))
        out.append(R("add batch normalization before each activation", "seed 002 §7.7; Ioffe & Szegedy 2015", {"batchnorm": "before"}))
        out.append(R("use Adam, whose per-parameter step size compensates small gradients", "seed 002 §7.3.5", {"optimizer": "adam", "lr": 0.001}))
        if depth and depth > 4:
            out.append(R("use fewer layers", "seed 004", {"hidden": ",".join(map(str, spec.model.hidden[:max(2, depth // 2)]))} if spec else {}))
        return out
    if problem == "exploding_gradients":
        out = [R("clip the gradient norm to 1.0", "seed 004 (clipnorm); Pascanu et al. 2013", {"clip_norm": 1.0})]
        if evidence.get("regression") or (spec and spec.data.dataset == "regression" and not spec.data.standardize_target):
            out.insert(0, R("standardize the regression target (train statistics)", "seed 004", {"standardize_target": True}))
        text, ch = _scaled_lr(spec, lr, 0.1)
        out.append(R(text, "seed 002 §7.1-7.2", ch))
        if evidence.get("unscaled_inputs") or (spec and spec.data.normalize == "none"):
            out.append(R("standardize the inputs on the training split", "seed 000; seed 002 §7.6", {"normalize": "standard"}))
        out.append(R("clip each gradient element to [-5, 5]", "seed 004 (clipvalue)", {"clip_value": 5.0}))
        out.append(R("use He initialization so weights do not amplify the signal layer by layer", "seed 000; He et al. 2015", {"init": "he_uniform"}))
        return out
    if problem == "non_finite":
        text, ch = _scaled_lr(spec, lr, 0.1)
        out = [R("clip the gradient norm to 1.0", "seed 004; Pascanu et al. 2013", {"clip_norm": 1.0}), R(text, "seed 002 §7.1", ch)]
        if evidence.get("regression") or (spec and spec.data.dataset == "regression" and not spec.data.standardize_target):
            out.insert(0, R("standardize the regression target", "seed 004", {"standardize_target": True}))
        out.append(R("check the loss for log(0), division by zero or sqrt of a negative number", "numerics", {}))
        return out
    if problem == "dead_units":
        text, ch = _scaled_lr(spec, lr, 0.1)
        out = [R("use Leaky ReLU (slope 0.01), whose units keep a gradient when their input is negative",
                 "seed 001; seed 002 §7.4.2; Maas et al. 2013", {"activation": "leaky_relu"}),
               R("use ELU", "seed 001; Clevert et al. 2015", {"activation": "elu"})]
        if evidence.get("lr_high"):
            out.insert(0, R(text, "seed 002 §7.4.2: a large update can push a ReLU's weights where it never fires again", ch))
        else:
            out.append(R(text, "seed 002 §7.4.2", ch))
        init = R("use He initialization and zero biases", "He et al. 2015", {"init": "he_uniform", "bias_init": 0.0})
        # dead from the first step: the weights and biases were drawn where the units never fire
        out.insert(0, init) if evidence.get("at_init") else out.append(init)
        return out
    if problem == "saturated_units":
        out = [R("use Glorot initialization (or He with ReLU) so pre-activations stay near the linear region",
                 "seed 000; seed 002 §7.5; Glorot & Bengio 2010", {"init": "glorot_uniform"}),
               R("add batch normalization before each activation", "seed 002 §7.7", {"batchnorm": "before"}),
               R("use a non-saturating activation (ReLU with He init)", "seed 002 §7.4", {"activation": "relu", "init": "he_uniform"})]
        if evidence.get("unscaled_inputs") or (spec and spec.data.normalize == "none"):
            out.insert(0, R("standardize the inputs on the training split", "seed 000; seed 002 §7.6", {"normalize": "standard"}))
        return out
    if problem == "lr_too_high":
        text, ch = _scaled_lr(spec, lr, 0.1)
        return [R(text, "seed 002 §7.1-7.2, Fig. 7.6", ch),
                R("anneal the learning rate when the held-out loss plateaus", "seed 002 §7.2", {"schedule": "plateau"}),
                R("clip the gradient norm to 1.0", "seed 004", {"clip_norm": 1.0}),
                R("add batch normalization, which tolerates larger rates", "seed 002 §7.7", {"batchnorm": "before"})]
    if problem == "lr_too_low":
        # Aim the update-to-weight ratio at the healthy ~1e-3 (CS231n): for SGD it scales with the rate,
        # so raise the rate by the gap, rounded to a power of ten (at least 10x, at most 1000x).
        ratio = evidence.get("update_ratio")
        gap = 1e-3 / ratio if ratio and ratio > 0 and math.isfinite(ratio) else 10.0
        text, ch = _scaled_lr(spec, lr, float(min(1000.0, max(10.0, 10 ** round(math.log10(gap))))))
        return [R(text, "seed 002 §7.2, Fig. 7.6", ch),
                R("use Adam (lr 0.001), which adapts each parameter's step", "seed 002 §7.3.5", {"optimizer": "adam", "lr": 0.001}),
                R("add momentum 0.9", "seed 002 §7.3.1", {"optimizer": "momentum", "momentum": 0.9})]
    if problem == "plateau":
        anneal = R("anneal: divide the learning rate by 10 when the loss stops improving", "seed 002 §7.2, Fig. 7.6",
                   {"schedule": "plateau", "plateau_patience": 5})
        momentum = R("use momentum (0.9) to carry the iterate across flat regions and saddle points", "seed 002 §7.1, §7.3.1, Fig. 7.8",
                     {"optimizer": "momentum", "momentum": 0.9})
        adam = R("use Adam, whose normalized steps cross flat regions", "seed 002 §7.3.5", {"optimizer": "adam", "lr": 0.001})
        small_steps = evidence.get("update_ratio", 1.0) < 1e-3  # below the ~1e-3 healthy update rate: stuck, not bouncing
        out = [momentum, adam, anneal] if small_steps else [anneal, momentum, adam]
        if spec is not None and spec.model.init in HAND_SCALED_INITS:
            # weights at a hand-picked scale (seed 004's N(0, 1), U(0, 1)) are the first suspect of a stall:
            # the variance-preserving rule for the activation replaces the guess (seed 002 §7.5)
            out.insert(0, R(f"replace init={spec.model.init} by the initialization that keeps the variance across layers "
                            f"for {act} ({_fitted_init(act)})", "seed 002 §7.5; Glorot & Bengio 2010; He et al. 2015",
                            {"init": _fitted_init(act)}))
        return out
    if problem == "unscaled_inputs":
        return [R("standardize each input feature with the training split's mean and std", "seed 000; seed 002 §7.6", {"normalize": "standard"}),
                R("min-max scale each input feature to [-1, 1] on the training split", "seed 002 §7.6; seed 004", {"normalize": "minmax"}),
                R("add batch normalization", "seed 002 §7.7", {"batchnorm": "before"})]
    if problem == "symmetric_units":
        return [R("initialize weights randomly (He for ReLU, Glorot for tanh/sigmoid) to break the symmetry between units",
                  "seed 002 §7.5", {"init": "he_uniform" if act not in ("sigmoid", "tanh") else "glorot_uniform"})]
    raise ValueError(f"unknown problem {problem!r}")
