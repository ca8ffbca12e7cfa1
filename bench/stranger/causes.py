"""The labelling contract of the stranger's benchmark: causes, and which problem codes answer them.

A case is a training run recorded with ``gradmedic.watch`` and saved with ``monitor.save(path, **meta)``.
Its meta says what it is and how it was labelled *by outcome*:

    source       "generated" | "public" | "bugreport"
    family       architecture family (mlp, cnn, rnn, lstm, gru, transformer, gpt, vae, gan, ...)
    name         a readable id, unique within the source
    cause        a key of CAUSES below, or "healthy"
    outcome      {"metric": name, "value": final value of the run}
    control      {"metric": name, "value": the same run with the cause removed (the counterfactual)}
    label        "broken" when the control trains clearly better (see ``clearly_better``),
                 "healthy" when the run itself trains well (cause "healthy", or a cause that did no harm),
                 "ambiguous" otherwise (excluded from the scores)
    onset        step at which the problem starts (0 = from the start), when known
    seed         the run's seed

Scoring: a broken case is *found* when the doctor reports one of its cause's ``answers`` codes;
a found code in its cause's ``contradicts`` counts as a contradiction; any finding on a healthy
case is a false alarm.
"""

from __future__ import annotations

# Codes the doctor may give.  The new ones (no_gradient, initial_loss_high, saturated_loss) are issue 8's;
# saturated_loss (probabilities fed to a loss that expects logits) was added with this session's tuning on seeds 0-2.
LR_HIGH = {"lr_too_high", "exploding_gradients", "non_finite", "dead_units", "saturated_units"}

CAUSES: dict[str, dict[str, set[str]]] = {
    # rate far above the optimizer's usual range: divergence, spikes, units killed or saturated by big updates
    "lr_high": {"answers": LR_HIGH, "contradicts": {"lr_too_low", "symmetric_units", "no_gradient", "plateau", "saturated_loss"}},
    # rate far below: no progress
    "lr_low": {"answers": {"lr_too_low", "plateau"}, "contradicts": {"lr_too_high", "exploding_gradients", "non_finite",
                                                                   "saturated_loss"}},
    # weights drawn too large (e.g. N(0, 1) in a wide layer, U(0, 1)): saturation, explosion, a huge initial loss
    "init_large": {"answers": {"exploding_gradients", "saturated_units", "initial_loss_high", "non_finite", "vanishing_gradients",
                               "dead_units", "lr_too_high", "plateau"},
                   "contradicts": {"lr_too_low", "unscaled_inputs"}},
    # weights drawn too small in a deep stack: signal and gradient die out with depth
    # (dead_units too: a ReLU layer whose tiny weights leave it silent from the start; its at-init remedy is the
    # fan-in init that removes the cause)
    "init_small": {"answers": {"vanishing_gradients", "plateau", "lr_too_low", "dead_units"},
                   "contradicts": {"exploding_gradients", "lr_too_high", "unscaled_inputs"}},
    # deep sigmoid/tanh stack: gradient lost through depth, units in the flat tails
    "saturating_depth": {"answers": {"vanishing_gradients", "saturated_units", "plateau"},
                         "contradicts": {"exploding_gradients", "lr_too_high", "unscaled_inputs"}},
    # identical units: constant or zero init
    "symmetric_init": {"answers": {"symmetric_units", "no_gradient", "plateau", "vanishing_gradients"},
                       "contradicts": {"exploding_gradients", "lr_too_high", "unscaled_inputs"}},
    # ReLU units dead from a bias or init that puts them below zero for every input
    "dead_relu": {"answers": {"dead_units", "no_gradient", "vanishing_gradients", "plateau"},
                  "contradicts": {"exploding_gradients", "lr_too_high", "unscaled_inputs", "lr_too_low"}},
    # raw inputs (pixels 0..255, features of mean 1e3): the first layer is far from its assumed scale
    "unscaled_inputs": {"answers": {"unscaled_inputs", "saturated_units", "exploding_gradients", "dead_units", "non_finite",
                                    "lr_too_high"}, "contradicts": {"lr_too_low", "symmetric_units"}},
    # an unstandardized regression target (values in the hundreds): MSE gradients explode
    "unscaled_target": {"answers": {"unscaled_target", "exploding_gradients", "non_finite", "lr_too_high"},
                        "contradicts": {"lr_too_low", "vanishing_gradients"}},
    # an RNN trained without gradient clipping at a rate that needs it
    "no_clipping": {"answers": {"exploding_gradients", "non_finite", "lr_too_high"},
                    "contradicts": {"lr_too_low", "vanishing_gradients"}},
    # no gradient reaches the weights: a detached graph, softmax over one unit, a saturated output under a clipped loss
    "no_gradient": {"answers": {"no_gradient", "vanishing_gradients", "dead_units", "saturated_units", "saturated_loss"},
                    "contradicts": {"lr_too_high", "exploding_gradients", "lr_too_low"}},
    # the normalization layers taken out of a network built around them (BatchNorm removed): the signal shrinks or
    # grows through depth at the rate the network was tuned for with them
    "no_norm": {"answers": {"vanishing_gradients", "exploding_gradients", "non_finite", "lr_too_high", "plateau",
                            "dead_units", "saturated_units", "initial_loss_high"},
                "contradicts": {"lr_too_low", "unscaled_inputs", "symmetric_units"}},
    # the loop never calls optimizer.zero_grad(): every step follows the sum of all past gradients
    "no_zero_grad": {"answers": {"grads_not_zeroed", "lr_too_high", "exploding_gradients", "non_finite"},
                     "contradicts": {"lr_too_low", "vanishing_gradients", "symmetric_units", "saturated_loss"}},
    # a loss that cannot fall: wrong loss for the output (sigmoid then CrossEntropy, double softmax) - learns slowly or not
    "wrong_loss": {"answers": {"plateau", "saturated_units", "no_gradient", "vanishing_gradients", "initial_loss_high",
                               "saturated_loss"},
                   "contradicts": {"exploding_gradients", "lr_too_high"}},
}


def clearly_better(metric: str, broken: float, control: float) -> bool:
    """The control trains clearly better than the broken run.

    Losses (lower is better): the control's final loss is below half the broken run's, or the broken
    run is non-finite.  Accuracy (higher is better): 10 points or more above."""
    import math

    if not math.isfinite(broken):
        return math.isfinite(control)
    if metric in ("accuracy", "acc"):
        return control - broken >= 0.10
    return control < 0.5 * broken


def score(found: set[str], meta: dict) -> dict:
    """One case's result: hit, contradiction, false alarm."""
    label, cause = meta["label"], meta["cause"]
    if label == "healthy":
        return {"hit": None, "contradiction": False, "false_alarm": bool(found)}
    if label != "broken":
        return {"hit": None, "contradiction": False, "false_alarm": False}
    c = CAUSES[cause]
    return {"hit": bool(found & c["answers"]), "contradiction": bool(found & c["contradicts"]), "false_alarm": False}
