"""Remedies: the seeds' fixes for each problem, one prescription per problem.

A remedy says what to do in words, cites its source, and either

- a spec change (flat field -> value) that ``spec.override`` applies as is (the trainer, repair,
  compare), and
- for the user's own loop (``watch()``, where a Diagnosis prints it instead of spec flags): a short
  PyTorch snippet, aware of what the loop already does (``loop``: ``Monitor.loop_facts``, e.g. it
  already clips at 1.0, it uses a GradScaler).

A prescription is a pure function of the evidence, the spec and the loop: it never touches the model
or the disk.  ``PRESCRIPTIONS`` maps every problem code of ``diagnose.PROBLEMS`` to one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from gradmedic.spec import Spec, resolved_lr, usual_lr


@dataclass(frozen=True)
class Remedy:
    change: str  # what to do, in words
    source: str  # the seed section or paper behind it
    spec_change: dict[str, Any] = field(default_factory=dict)  # flat spec fields; empty when not expressible
    snippet: str = ""  # the change in a user's own PyTorch loop, when there is no spec

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# torch.optim class names (a user's own loop, ``Monitor.loop_facts()["optimizer"]``) in the spec's words
FAR_ABOVE = 10.0  # a rate this many times the optimizer's usual one is outside its usual range (seed 002 §7.3)

HAND_SCALED_INITS = ("normal", "uniform", "constant", "zeros")  # a scale picked by hand, not from the fan-in/out


def _fitted_init(act: str | None) -> str:
    """The variance-preserving rule for an activation: Glorot for sigmoid/tanh, LeCun for SELU, He otherwise."""
    return "glorot_uniform" if act in ("sigmoid", "tanh") else "lecun_normal" if act == "selu" else "he_uniform"


_INIT = {"glorot_uniform": "nn.init.xavier_uniform_(m.weight)",
         "he_uniform": "nn.init.kaiming_uniform_(m.weight, nonlinearity='relu')",
         "lecun_normal": "nn.init.kaiming_normal_(m.weight, nonlinearity='linear')"}
# (a layer built with bias=False has m.bias None, which nn.init.zeros_ refuses)
_INIT_SNIPPET = {k: "for m in model.modules():\n    if isinstance(m, (nn.Linear, nn.Conv2d)):\n"
                    f"        {v}\n        if m.bias is not None:\n            nn.init.zeros_(m.bias)" for k, v in _INIT.items()}


_ACT_MODULES = {"relu": "nn.ReLU()", "leaky_relu": "nn.LeakyReLU(0.01)", "elu": "nn.ELU()", "tanh": "nn.Tanh()"}


@dataclass
class _Rx:
    """What a prescription reads: the evidence, the spec or the loop, and the rate in force."""

    evidence: dict[str, Any]
    spec: Spec | None
    lr: float | None
    loop: dict[str, Any]

    @property
    def act(self) -> str | None:
        return self.spec.model.activation if self.spec else self.evidence.get("activation")

    @property
    def depth(self) -> int:
        return len(self.spec.model.hidden) if self.spec else int(self.evidence.get("depth") or 0)

    def R(self, change: str, source: str, spec_change: dict[str, Any] | None = None, snippet: str = "") -> Remedy:
        """One remedy: the spec change (the trainer's and repair's terms) and, for a user's own loop, the snippet."""
        return Remedy(change, source, dict(spec_change or {}), snippet)

    def rate(self) -> float | None:
        return resolved_lr(self.spec) if self.spec is not None else self.lr

    @property
    def usual_lr(self) -> float | None:
        """The optimizer's usual rate (seed 002 §7.3: 0.01 for SGD and its momentum variants, 1e-3 for Adam/RMSProp)."""
        return usual_lr(self.spec, self.loop.get("optimizer"))

    def rate_far_above(self) -> bool:
        """Is the rate in force when the finding began (``evidence["lr"]``, else the spec's) at least FAR_ABOVE
        times the optimizer's usual rate?"""
        cur, usual = self.evidence.get("lr") or self.rate(), self.usual_lr
        return bool(cur and usual and cur >= FAR_ABOVE * usual)

    def rates_doing(self) -> bool:
        """Units that died or saturated, or gradients that blew up, *after* training started under a rate far above
        the optimizer's usual range are the rate's doing (seed 002 §7.4.2: a large update pushes a ReLU where it
        never fires again; Fig. 7.6): lowering the rate comes first.  From the first step it is the init's."""
        return not self.evidence.get("at_init") and self.rate_far_above()

    @property
    def raw_target(self) -> bool:
        """A regression target at its own scale: the evidence says so, or the spec's built-in regression set is not
        standardized."""
        sp = self.spec
        return bool(self.evidence.get("regression")
                    or (sp and sp.data.dataset == "regression" and not sp.data.standardize_target))

    def rate_off(self, factor: float = 3.0) -> float | None:
        """usual rate / rate in force when the rate is ``factor`` or more times off the optimizer's usual rate, else None."""
        cur, usual = self.evidence.get("lr") or self.rate(), self.usual_lr
        if not (cur and usual) or usual / factor < cur < usual * factor:
            return None
        return usual / cur

    def to_usual_lr(self, source: str) -> Remedy:
        """Set the rate back to the optimizer's usual one (seed 002 §7.3's defaults)."""
        cur, usual = self.rate(), self.usual_lr
        return self.scaled_lr(usual / cur, source + f"; {usual:g} is the optimizer's usual rate") if cur and usual else \
            self.scaled_lr(0.1, source)

    def lower_lr(self, source: str) -> Remedy:
        """Lower the rate: back to the optimizer's usual rate when it is far above it, else 10x."""
        cur, usual = self.rate(), self.usual_lr
        if cur and usual and cur >= FAR_ABOVE * usual:
            return self.scaled_lr(usual / cur, source + f"; {usual:g} is the optimizer's usual rate")
        return self.scaled_lr(0.1, source)

    def scaled_lr(self, factor: float, source: str) -> Remedy:
        cur, verb = self.rate(), ("lower" if factor < 1 else "raise")
        if cur is None:
            return self.R(f"{verb} the learning rate {1 / factor if factor < 1 else factor:.3g}x", source, {},
                          f"for g in optimizer.param_groups:\n    g['lr'] *= {factor:g}")
        new = float(f"{cur * factor:.3g}")
        if self.loop.get("by_hand"):  # no optimizer: the rate read from the loop's own steps, p -= lr * p.grad
            return self.R(f"{verb} the learning rate of the update by hand from {cur:g} to {new:g}", source, {"lr": new},
                          f"lr = {new:g}  # in p -= lr * p.grad")
        return self.R(f"{verb} the learning rate from {cur:g} to {new:g}", source, {"lr": new},
                      f"for g in optimizer.param_groups:\n    g['lr'] = {new:g}  # and the scheduler's base/max lr")

    def clip(self, source: str) -> Remedy | None:
        """Clip the gradient norm to 1.0, or lower where the loop already clips (None: it already clips tighter)."""
        seen = self.loop.get("clips")
        if self.spec is not None:
            cur = self.spec.train.clip_norm
            if cur and cur <= 1.0:
                return self.R(f"clip the gradient norm tighter than {cur:g}, to {cur / 4:g}", source, {"clip_norm": cur / 4})
            return self.R("clip the gradient norm to 1.0", source, {"clip_norm": 1.0})
        if seen and seen <= 1.0:
            return self.R(f"the loop already clips the gradient norm at about {seen:.2g}: clip tighter, to {seen / 4:.2g}",
                          source, {}, f"torch.nn.utils.clip_grad_norm_(model.parameters(), {seen / 4:.2g})")
        before = "  # after scaler.unscale_(optimizer)" if self.loop.get("scaler") else "  # after loss.backward()"
        return self.R("clip the gradient norm to 1.0", source, {"clip_norm": 1.0},
                      "torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)" + before)

    def standardize_inputs(self) -> Remedy:
        return self.R("standardize each input feature with the training split's mean and std", "seed 000; seed 002 §7.6",
                      {"normalize": "standard"}, "mean, std = x_train.mean(0), x_train.std(0).clamp_min(1e-8)\n"
                                                 "x = (x - mean) / std  # the train statistics for every split")

    def standardize_target(self) -> Remedy:
        return self.R("standardize the regression target (train statistics)", "seed 004", {"standardize_target": True},
                      "y = (y - y_train.mean()) / y_train.std()  # predict in these units, convert back after")

    def init(self, name: str, change: str, source: str, extra: dict[str, Any] | None = None) -> Remedy:
        extra = dict(extra or {})
        if self.spec is not None and self.spec.model.bias_init != 0 and "bias_init" not in extra:
            extra["bias_init"] = 0.0  # a hand-picked bias (ReLUs at -3 never fire, tanh at -3 saturates) goes with the weights
            change += ", and zero biases"
        snippet = _INIT_SNIPPET.get(name, "")
        new_act = extra.get("activation")
        if new_act and new_act != self.act and new_act in _ACT_MODULES:  # the init comes with another activation
            snippet = f"replace each activation module by {_ACT_MODULES[new_act]}\n" + snippet
        return self.R(change, source, {"init": name, **extra}, snippet)

    def batchnorm(self, change: str = "add batch normalization before each activation",
                  source: str = "seed 002 §7.7; Ioffe & Szegedy 2015") -> Remedy:
        return self.R(change, source, {"batchnorm": "before"},
                      "nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out), nn.ReLU()  # per hidden layer")

    def adam(self, change: str, source: str = "seed 002 §7.3.5") -> Remedy:
        return self.R(change, source, {"optimizer": "adam", "lr": 0.001},
                      "optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)")

    def momentum(self, change: str, source: str) -> Remedy:
        return self.R(change, source, {"optimizer": "momentum", "momentum": 0.9},
                      "optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)")

    def anneal(self, change: str, source: str, extra: dict[str, Any] | None = None) -> Remedy:
        return self.R(change, source, {"schedule": "plateau", **(extra or {})},
                      "scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.1, patience=5)\n"
                      "scheduler.step(val_loss)  # once per epoch")

    def activation(self, name: str, change: str, source: str, extra: dict[str, Any] | None = None) -> Remedy:
        module = _ACT_MODULES[name]
        snippet = f"replace each activation module by {module}"
        init = (extra or {}).get("init")
        if init in _INIT_SNIPPET:  # a new activation with the init that fits it: both, in the loop's terms
            snippet += "\n" + _INIT_SNIPPET[init]
        return self.R(change, source, {"activation": name, **(extra or {})}, snippet)


def _vanishing(x: _Rx) -> list[Remedy]:
    out = []
    if x.act in ("sigmoid", "tanh") or x.evidence.get("saturating"):
        out.append(x.activation("relu", "replace sigmoid/tanh by ReLU with He initialization",
                                "seed 004; seed 002 §7.4-7.5; He et al. 2015", {"init": "he_uniform"}))
        verb = "keep tanh but use" if x.act == "tanh" else "use tanh with"
        out.append(x.init("glorot_uniform", f"{verb} Glorot initialization, which keeps the variance of activations "
                          "and gradients equal across layers", "seed 000; Glorot & Bengio 2010", {"activation": "tanh"}))
    else:
        out.append(x.init("he_uniform", "use He initialization (variance 2/fan_in) so each ReLU layer keeps the gradient's scale",
                          "seed 001; He et al. 2015"))
    off = x.rate_off(10.0)
    if off and off > 1:  # a rate 10x below the usual one starves every layer, not just the first
        out.insert(1, x.to_usual_lr("seed 002 §7.2, Fig. 7.6"))
    out.append(x.batchnorm())
    out.append(x.adam("use Adam, whose per-parameter step size compensates small gradients", "seed 002 §7.3.5"))
    if x.depth > 4:
        out.append(x.R("use fewer layers", "seed 004",
                       {"hidden": ",".join(map(str, x.spec.model.hidden[:max(2, x.depth // 2)]))} if x.spec else {}))
    if x.raw_target:  # the output layer's gradient scales with the target: a raw one skews the depth profile
        out.append(x.standardize_target())
    return out


def _exploding(x: _Rx) -> list[Remedy]:
    out = [r for r in [x.clip("seed 004 (clipnorm); Pascanu et al. 2013")] if r]
    if x.raw_target:
        out.insert(0, x.standardize_target())
    lower = x.lower_lr("seed 002 §7.1-7.2")
    out.insert(0, lower) if x.rates_doing() else out.append(lower)
    if x.evidence.get("unscaled_inputs") or (x.spec and x.spec.data.normalize == "none"):
        out.append(x.standardize_inputs())
    out.append(x.R("clip each gradient element to [-5, 5]", "seed 004 (clipvalue)", {"clip_value": 5.0},
                   "torch.nn.utils.clip_grad_value_(model.parameters(), 5.0)"))
    he = x.init("he_uniform", "use He initialization so weights do not amplify the signal layer by layer",
                "seed 000; He et al. 2015")
    # weights drawn far above their fan-in scale (detect_large_init): the init is the cause, the rest only contains it
    out.insert(0, he) if x.evidence.get("init_too_large") else out.append(he)
    return out


def _non_finite(x: _Rx) -> list[Remedy]:
    out = [r for r in [x.clip("seed 004; Pascanu et al. 2013")] if r]
    lower = x.lower_lr("seed 002 §7.1")
    out.insert(0, lower) if x.rate_far_above() else out.append(lower)
    if x.raw_target:
        out.insert(0, x.standardize_target())
    out.append(x.R("check the loss for log(0), division by zero or sqrt of a negative number", "numerics", {},
                   "torch.autograd.set_detect_anomaly(True)  # names the operation that made the first NaN"))
    return out


def _dead(x: _Rx) -> list[Remedy]:
    if x.evidence.get("output_relu"):  # a ReLU on the logits: the fix is to take it out, not to change the hidden units
        return [x.R("remove the ReLU (or clamp) after the last layer: a cross-entropy needs logits of any sign, and "
                    "a ReLU there cuts every negative logit to 0 with no gradient", "PyTorch's CrossEntropyLoss documentation",
                    {}, "return self.fc(x)  # raw logits, no F.relu / nn.ReLU after the last layer")]
    lower = x.lower_lr("seed 002 §7.4.2: a large update can push a ReLU's weights where it never fires again")
    out = [x.activation("leaky_relu", "use Leaky ReLU (slope 0.01), whose units keep a gradient when their input is negative",
                        "seed 001; seed 002 §7.4.2; Maas et al. 2013"),
           x.activation("elu", "use ELU", "seed 001; Clevert et al. 2015")]
    out.insert(0, lower) if x.evidence.get("lr_high") or x.rates_doing() else out.append(lower)
    init = x.init("he_uniform", "use He initialization and zero biases", "He et al. 2015", {"bias_init": 0.0})
    # dead from the first step: the weights and biases were drawn where the units never fire
    out.insert(0, init) if x.evidence.get("at_init") else out.append(init)
    return out


def _saturated(x: _Rx) -> list[Remedy]:
    out = [x.init("glorot_uniform", "use Glorot initialization (or He with ReLU) so pre-activations stay near the linear region",
                  "seed 000; seed 002 §7.5; Glorot & Bengio 2010"),
           x.batchnorm(),
           x.activation("relu", "use a non-saturating activation (ReLU with He init)", "seed 002 §7.4", {"init": "he_uniform"})]
    if x.evidence.get("unscaled_inputs") or (x.spec and x.spec.data.normalize == "none"):
        out.insert(0, x.standardize_inputs())
    lower = x.lower_lr("seed 002 §7.4: large updates push pre-activations into the flat tails")
    out.insert(0, lower) if x.rates_doing() or x.evidence.get("lr_high") else out.append(lower)
    if x.raw_target:  # a raw target's large errors drive pre-activations into the tails too
        out.append(x.standardize_target())
    return out


def _lr_high(x: _Rx) -> list[Remedy]:
    out = [x.lower_lr("seed 002 §7.1-7.2, Fig. 7.6"),
           x.anneal("anneal the learning rate when the held-out loss plateaus", "seed 002 §7.2"),
           x.clip("seed 004"),
           x.batchnorm("add batch normalization, which tolerates larger rates", "seed 002 §7.7")]
    cur, usual = x.rate(), x.usual_lr
    if x.spec is not None and x.spec.model.init in HAND_SCALED_INITS and cur and usual and cur <= usual:
        # the loss rises at or below the usual rate: weights at a hand-picked scale (U(0, 1)) make the first steps
        # huge; the rate is not the cause (seed 002 §7.5)
        out.insert(0, x.init(_fitted_init(x.act), f"replace init={x.spec.model.init} by {_fitted_init(x.act)}: the rate "
                             "is not above the optimizer's usual one", "seed 002 §7.5; Glorot & Bengio 2010; He et al. 2015"))
    if x.raw_target:
        # seed 004: a target in the thousands makes the squared error and its gradient huge at any usual rate
        out.insert(0 if not x.rate_far_above() else 1, x.standardize_target())
    return [r for r in out if r]


def _lr_low(x: _Rx) -> list[Remedy]:
    # Aim the update-to-weight ratio at the healthy ~1e-3 (CS231n): for SGD it scales with the rate,
    # so raise the rate by the gap, rounded to a power of ten (at least 10x, at most 1000x).
    ratio = x.evidence.get("update_ratio")
    gap = 1e-3 / ratio if ratio and ratio > 0 and math.isfinite(ratio) else 10.0
    factor = float(min(1000.0, max(10.0, 10 ** round(math.log10(gap)))))
    cur, usual = x.rate(), x.usual_lr
    if cur and usual and cur * factor < usual:  # at least back to the optimizer's usual rate
        return [x.to_usual_lr("seed 002 §7.2, Fig. 7.6"),
                x.adam("use Adam (lr 0.001), which adapts each parameter's step", "seed 002 §7.3.5"),
                x.momentum("add momentum 0.9", "seed 002 §7.3.1")]
    return [x.scaled_lr(factor, "seed 002 §7.2, Fig. 7.6"),
            x.adam("use Adam (lr 0.001), which adapts each parameter's step", "seed 002 §7.3.5"),
            x.momentum("add momentum 0.9", "seed 002 §7.3.1")]


def _plateau(x: _Rx) -> list[Remedy]:
    anneal = x.anneal("anneal: divide the learning rate by 10 when the loss stops improving", "seed 002 §7.2, Fig. 7.6",
                      {"plateau_patience": 5})
    momentum = x.momentum("use momentum (0.9) to carry the iterate across flat regions and saddle points",
                          "seed 002 §7.1, §7.3.1, Fig. 7.8")
    adam = x.adam("use Adam, whose normalized steps cross flat regions", "seed 002 §7.3.5")
    # below the ~1e-3 healthy update rate: stuck, not bouncing; a run that ended having learned little (``underfit``:
    # repair's check of a whole run the doctor found nothing in) needs faster progress, not smaller steps
    small_steps = (x.evidence.get("update_ratio") or 1.0) < 1e-3 or x.evidence.get("underfit")
    # at chance level nothing has been learned yet: smaller steps cannot help, so annealing comes last there too
    loss, ref = x.evidence.get("loss"), x.evidence.get("reference_loss")
    at_chance = bool(loss and ref and loss >= 0.9 * ref)
    out = [momentum, adam, anneal] if small_steps or at_chance else [anneal, momentum, adam]
    if x.raw_target:  # a squared error over a raw target stalls at the target's scale (seed 004)
        out.insert(0, x.standardize_target())
    if x.spec is not None and x.spec.data.normalize == "none" and x.spec.model.kind != "cnn":
        out.insert(0, x.standardize_inputs())
    if x.spec is not None and (x.spec.model.init in HAND_SCALED_INITS or x.spec.model.bias_init != 0):
        # weights (or biases) at a hand-picked scale (seed 004's N(0, 1), U(0, 1)) are the first suspect of a stall:
        # the variance-preserving rule for the activation replaces the guess (seed 002 §7.5)
        out.insert(0, x.init(_fitted_init(x.act),
                             f"replace init={x.spec.model.init} by the initialization that keeps the variance "
                             f"across layers for {x.act} ({_fitted_init(x.act)})" if x.spec.model.init in HAND_SCALED_INITS else
                             f"use {_fitted_init(x.act)} for {x.act}", "seed 002 §7.5; Glorot & Bengio 2010; He et al. 2015"))
    elif x.spec is None and x.evidence.get("constant_output"):
        out.insert(0, x.init(_fitted_init(x.act), "the network gives every input the same output: check the initialization "
                             f"({_fitted_init(x.act)} for {x.act or 'its activation'}) and that the inputs reach the output",
                             "seed 002 §7.5"))
    off = x.rate_off()
    if off:
        # a rate 3x or more off the optimizer's usual one is the first suspect of a stall (seed 002 Fig. 7.6): too
        # low and the loss creeps, too high and it bounces at a high level
        out.insert(0, x.to_usual_lr("seed 002 §7.2-7.3, Fig. 7.6"))
    return out


def _unscaled(x: _Rx) -> list[Remedy]:
    return [x.standardize_inputs(),
            x.R("min-max scale each input feature to [-1, 1] on the training split", "seed 002 §7.6; seed 004",
                {"normalize": "minmax"},
                "lo, hi = x_train.min(0).values, x_train.max(0).values\nx = 2 * (x - lo) / (hi - lo).clamp_min(1e-8) - 1"),
            x.batchnorm("add batch normalization")]


def _symmetric(x: _Rx) -> list[Remedy]:
    name = "he_uniform" if x.act not in ("sigmoid", "tanh") else "glorot_uniform"
    return [x.init(name, "initialize weights randomly (He for ReLU, Glorot for tanh/sigmoid) to break the symmetry between units",
                   "seed 002 §7.5")]


def _no_gradient(x: _Rx) -> list[Remedy]:
    if x.evidence.get("frozen_params"):
        mods = x.evidence.get("frozen_modules") or []
        return [x.R("unfreeze what should learn: set requires_grad=True on the frozen modules"
                    f"{' (' + ', '.join(mods[:4]) + ')' if mods else ''} before building the optimizer, and pass the optimizer "
                    "every parameter that should train", "autograd", {},
                    "for p in model.parameters():\n    p.requires_grad_(True)\n"
                    "optimizer = torch.optim.AdamW(model.parameters(), lr=lr)  # rebuilt over all of them")]
    return [x.R("make sure the loss depends on the weights through differentiable operations: no .detach(), .item(), "
                "argmax or numpy round trip between the model and the loss", "autograd", {},
                "print([n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().max() == 0])"),
            x.R("a softmax or log-softmax over a single output is constant (always 1): use one logit with "
                "BCEWithLogitsLoss, or C >= 2 outputs with CrossEntropyLoss", "seed 002 §7.4", {},
                "loss = nn.BCEWithLogitsLoss()(model(x).squeeze(-1), y.float())"),
            x.R("feed the loss the logits, not probabilities: a sigmoid/softmax output saturated at 0 or 1 under a "
                "clipped loss passes no gradient", "seed 002 §7.4", {},
                "loss = nn.CrossEntropyLoss()(logits, y)  # no softmax in the model's last layer"),
            x.standardize_inputs()]


def _initial_high(x: _Rx) -> list[Remedy]:
    name = _fitted_init(x.act)
    return [x.init(name, f"initialize with the variance-preserving rule for {x.act or 'the activation'} ({name}) and a small "
                   "output layer, so the first predictions are near chance",
                   "seed 002 §7.5; Glorot & Bengio 2010; He et al. 2015"),
            x.R("scale the last layer's initial weights down (e.g. std 0.02 or zeros) so the first logits are small",
                "GPT-2 / nanoGPT init", {}, "nn.init.normal_(model_output_layer.weight, std=0.02)"),
            x.standardize_inputs()] + ([x.lower_lr("seed 002 §7.1: a first step far past stability lands the "
                                               "loss far above chance")] if x.rate_far_above() else [])


def _saturated_loss(x: _Rx) -> list[Remedy]:
    if x.evidence.get("no_floor"):  # a loss bounded below never goes below zero: a term is lowered without end
        return [x.R("check each term of the loss and its sign: a cross-entropy, a squared error and a KL divergence are "
                    "never below zero, so a term that falls without end is added where it should be subtracted (or "
                    "is not the quantity meant)", "Kingma & Welling 2014, Appendix B (a VAE's KL term)", {},
                    "kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())  # >= 0: mind the leading minus\n"
                    "loss = reconstruction + kl")]
    if x.evidence.get("nll_on_probabilities"):  # NLLLoss(softmax(z)) returns -p_y, NLLLoss(z) -z_y: it needs log-probabilities
        what = "log_softmax on the scores" if x.evidence.get("nll_on_scores") else "log_softmax instead of softmax"
        return [x.R(f"give NLLLoss log-probabilities: {what} (or the raw logits to CrossEntropyLoss, which applies "
                    "log-softmax itself)", "PyTorch's NLLLoss documentation", {},
                    "output = F.log_softmax(z, dim=1)  # not F.softmax, not the raw z\nloss = F.nll_loss(output, y)")]
    return [x.R("feed the loss the raw logits: CrossEntropyLoss applies log-softmax itself, so a softmax (or sigmoid) "
                "before it squashes the outputs twice and its gradient vanishes as they saturate", "seed 002 §7.4", {},
                "loss = nn.CrossEntropyLoss()(logits, y)  # no softmax/sigmoid between the model and the loss"),
            x.R("for a binary or multi-label target use one logit per label with BCEWithLogitsLoss instead of a sigmoid "
                "followed by a loss", "seed 002 §7.4", {},
                "loss = nn.BCEWithLogitsLoss()(logits, y.float())")]


def _grads_not_zeroed(x: _Rx) -> list[Remedy]:
    acc = int(x.loop.get("accumulation") or 1)
    when = (f"once per optimizer step (every {acc} micro-batches, after optimizer.step())" if acc > 1
            else "once per step, before loss.backward() (or right after optimizer.step())")
    if not x.loop.get("optimizer") or x.loop.get("by_hand"):  # a loop that updates the weights by hand (p -= lr * p.grad)
        return [x.R("clear the gradients once per step, after the update by hand: backward() adds to .grad, it never "
                    "replaces it", "torch.optim docs", {}, "model.zero_grad()  # after the update, before the next backward()")]
    return [x.R(f"clear the gradients {when}: backward() adds to .grad, it never replaces it", "torch.optim docs",
                {}, "optimizer.zero_grad()  # each step, before loss.backward()")]


def _not_optimized(x: _Rx) -> list[Remedy]:
    return [x.R("build the optimizer from the model the loop trains, after the model is (re-)created", "torch.optim docs",
                {}, "model = Net()\noptimizer = torch.optim.AdamW(model.parameters(), lr=lr)  # this model's parameters")]


def _unscaled_target(x: _Rx) -> list[Remedy]:
    return [x.standardize_target(), x.clip("seed 004 (clipnorm)"), x.scaled_lr(0.1, "seed 002 §7.1-7.2")]


PRESCRIPTIONS: dict[str, Callable[[_Rx], list[Remedy]]] = {
    "vanishing_gradients": _vanishing, "exploding_gradients": _exploding, "non_finite": _non_finite, "dead_units": _dead,
    "saturated_units": _saturated, "lr_too_high": _lr_high, "lr_too_low": _lr_low, "plateau": _plateau,
    "unscaled_inputs": _unscaled, "symmetric_units": _symmetric, "no_gradient": _no_gradient,
    "initial_loss_high": _initial_high, "unscaled_target": _unscaled_target, "saturated_loss": _saturated_loss,
    "grads_not_zeroed": _grads_not_zeroed, "not_optimized": _not_optimized,
}


def for_problem(problem: str, evidence: dict[str, Any], spec: Spec | None = None, lr: float | None = None,
                loop: dict[str, Any] | None = None) -> list[Remedy]:
    """Remedies for one finding, best first, ordered by what the evidence says."""
    if problem not in PRESCRIPTIONS:
        raise ValueError(f"unknown problem {problem!r}")
    out = PRESCRIPTIONS[problem](_Rx(evidence, spec, lr, dict(loop or {})))
    layer = evidence.get("layer")
    scale = "large" if evidence.get("init_too_large") else "small" if evidence.get("init_too_small") else None
    if scale and spec is None and layer:
        # a user's own model whose weights were drawn too large or too small (diagnose.detect_large_init/small_init):
        # put back each layer's own fan-in default; the init rules above need the model's activation, this works for
        # any layer (an LSTM too)
        out.insert(0, Remedy(f"re-initialize {layer} (and each layer drawn too {scale}) with PyTorch's fan-in default "
                             "(weights U(+-1/sqrt(fan_in)))", "seed 002 §7.5; LeCun et al. 1998", {},
                             f"model.get_submodule({layer!r}).reset_parameters()  # for each layer drawn too {scale}"))
    return out
