"""The doctor: each detector on hand-made histories (exact thresholds), then end to end on the
seed cases through the public contract."""

import json
import math
import re

import numpy as np
import pytest
import torch
from torch import nn

import gradmedic
from gradmedic.doctor.diagnose import Context, Thresholds, diagnose
from gradmedic.measure.history import ACT_STATS, LAYER_STATS, OUT_STATS, Chunk, History

LAYERS = ["fc1", "fc2", "out"]
TYPES = ["Linear"] * 3


def history(loss, grad=None, update=None, acts=None, act_kinds=(), inputs=None, every=10, weight=None, lr=None):
    """A History with per-step ``loss`` (T,), and per sampled step (every ``every``) the given
    per-layer grad norms (S, 3), update ratios and activation stats (S, A, 5)."""
    loss = np.asarray(loss, dtype=float)
    T = len(loss)
    st = np.arange(1, T + 1, every)
    S = len(st)
    layers = np.ones((S, 3, len(LAYER_STATS)))
    layers[:, :, LAYER_STATS.index("update_ratio")] = 1e-3
    if grad is not None:
        layers[:, :, 0] = grad
    if update is not None:
        layers[:, :, LAYER_STATS.index("update_ratio")] = update
    if weight is not None:
        layers[:, :, LAYER_STATS.index("weight_norm")] = weight
    A = len(act_kinds)
    a = np.full((S, A, len(ACT_STATS)), np.nan) if acts is None else acts
    x = np.zeros((S, 2, 0)) if inputs is None else np.broadcast_to(inputs, (S, 2, inputs.shape[-1])).copy()
    h = History(LAYERS, [f"act{i + 1}" for i in range(A)], list(act_kinds))
    h.append(Chunk(np.arange(1, T + 1), loss, st, layers, a, x, lr=lr))
    return h


def ctx(**kw):
    kinds = kw.pop("act_kinds", [])
    return Context(LAYERS, TYPES, [f"act{i + 1}" for i in range(len(kinds))], kinds, **kw)


def flat(T=400, level=0.69, noise=0.002, seed=0):
    return level + noise * np.random.default_rng(seed).standard_normal(T)


def learning(T=400, seed=0):
    t = np.arange(T)
    return 0.69 * np.exp(-t / 150) + 0.05 + 0.01 * np.random.default_rng(seed).standard_normal(T)


def test_healthy_history_is_silent():
    d = diagnose(history(learning()), ctx(reference_loss=0.69))
    assert d.findings == [] and d.healthy and d.problems == set()
    assert str(d).startswith("gradmedic: no problems found")


def test_vanishing_needs_both_small_ratio_and_stall():
    grad = np.tile([1e-4, 1e-2, 1.0], (40, 1))  # first/last = 1e-4, below vanishing_ratio 0.1
    d = diagnose(history(flat(), grad=grad), ctx(reference_loss=0.69))
    assert d.problems == {"vanishing_gradients"}
    f = d.findings[0]
    assert f.layers == ["fc1", "fc2"] and f.evidence["ratio"] == pytest.approx(1e-4)
    assert f.step == 1 and f.detected_at <= 1 + 100 + 25  # within a window of becoming visible
    assert "fc1's gradient norm is 0.0001 of out's" in f.message
    # The same attenuation while the loss falls is not a problem (a deep sigmoid net that learns).
    assert diagnose(history(learning(), grad=grad), ctx(reference_loss=0.69)).findings == []
    # Nor a ratio just above the threshold while stalled... which is a plateau only after 4 windows.
    ok = np.tile([0.2, 0.5, 1.0], (40, 1))
    assert "vanishing_gradients" not in diagnose(history(flat(), grad=ok), ctx(reference_loss=0.69)).problems


def test_threshold_is_configurable():
    grad = np.tile([0.05, 0.5, 1.0], (40, 1))
    h = history(flat(), grad=grad)
    assert "vanishing_gradients" in diagnose(h, ctx(reference_loss=0.69)).problems
    assert "vanishing_gradients" not in diagnose(h, ctx(reference_loss=0.69), Thresholds(vanishing_ratio=0.01)).problems
    with pytest.raises(ValueError, match="vanishing_ratio"):  # pydantic's ValidationError
        Thresholds(vanishing_ratio=2.0)


def test_every_threshold_has_its_reason():
    """Each description says what the threshold measures, then (after ':', ';', '.' or '(') why it has its
    value; no two share a text (a reason copied onto another threshold is not its reason)."""
    texts = []
    for name, f in Thresholds.model_fields.items():
        parts = re.split(r": |; |\. | \(", f.description or "", maxsplit=1)
        assert len(parts) == 2, (name, f.description)
        what, why = parts
        assert len(what.split()) >= 2 and len(why.split()) >= 3, (name, f.description)
        texts.append(f.description)
    assert len(set(texts)) == len(texts)


def test_non_finite_at_the_step_it_happens():
    loss = list(learning(200))
    loss[137] = math.nan
    d = diagnose(history(loss), ctx())
    f = next(f for f in d.findings if f.problem == "non_finite")
    assert f.step == 138 and f.detected_at == 138 and f.severity == "critical"
    assert "the loss became nan at step 138" in f.message


def test_exploding_loss_growth():
    loss = np.r_[np.full(10, 100.0), 100.0 * 10.0 ** np.arange(1, 8)]
    d = diagnose(history(loss, every=1), ctx(regression=True))
    f = next(f for f in d.findings if f.problem == "exploding_gradients")
    assert f.step == 12 and f.detected_at == 14  # first step > 10x the early level (1e4); first > 1000x (1e6)
    assert f.remedies[0].spec_change == {"standardize_target": True}


def test_exploding_gradient_growth_per_layer():
    grad = np.ones((40, 3))
    grad[20:, 0] = 5e3  # fc1's gradient 5000x its early median from sample 20 (step 201), above its weight norm 10
    rising = np.r_[learning(200), np.linspace(0.1, 2.0, 200)]
    d = diagnose(history(rising, grad=grad, weight=10.0), ctx())
    f = next(f for f in d.findings if f.problem == "exploding_gradients")
    assert f.step == 201 and f.layers == ["fc1"] and "fc1.s gradient norm is 5e+03x out.s" in f.message.replace("'", ".")
    # The same growth while the loss keeps falling is a layer waking up, not divergence.
    assert "exploding_gradients" not in diagnose(history(learning(400), grad=grad, weight=10.0), ctx()).problems


def test_gradient_far_larger_than_its_weights_is_exploding():
    grad = np.ones((40, 3))
    grad[0, 1] = 1e14  # step 1: fc2's gradient 1e14 against a weight norm of 1 (the loss then turns NaN)
    loss = np.r_[1e13, np.nan]
    d = diagnose(history(loss, grad=grad[:1], every=10), ctx())
    f = next(f for f in d.findings if f.problem == "exploding_gradients")
    assert f.step == 1 and f.layers == ["fc2"] and "1e+14x its weight norm" in f.message


def test_units_silent_for_a_stretch_that_fire_again_by_the_end_were_not_dead():
    """A generated RNN's ReLU head: 56-81% of its units silent for every input while the run sat at chance for 250 steps,
    then 6% once it learned (0.88 accuracy, healthy).  A live diagnose() during the stretch reports dead_units; at the
    end, with the layer below dead_share over its last window, it does not.  Still silent at the end: still reported."""
    T = 400
    rng = np.random.default_rng(0)
    loss = np.r_[np.full(250, 0.69), np.linspace(0.69, 0.41, 150)] + 0.003 * rng.standard_normal(T)
    acts = np.full((T // 10, 1, len(ACT_STATS)), np.nan)
    acts[:, 0, ACT_STATS.index("dead_frac")] = np.r_[np.full(26, 0.7), np.full(14, 0.06)]
    c = ctx(act_kinds=["relu"], reference_loss=0.69)
    live = diagnose(history(loss[:200], acts=acts[:20], act_kinds=["relu"]), c)
    assert "dead_units" in live.problems
    assert "dead_units" not in diagnose(history(loss, acts=acts, act_kinds=["relu"]), c).problems
    acts[:, 0, ACT_STATS.index("dead_frac")] = 0.7
    assert "dead_units" in diagnose(history(loss, acts=acts, act_kinds=["relu"]), c).problems


def test_dead_units_whole_layer_reported_even_while_loss_falls():
    acts = np.full((40, 1, len(ACT_STATS)), np.nan)
    acts[:, 0, ACT_STATS.index("dead_frac")] = 1.0
    d = diagnose(history(learning(), acts=acts, act_kinds=["relu"]), ctx(act_kinds=["relu"]))
    f = next(f for f in d.findings if f.problem == "dead_units")
    assert f.layers == ["act1"] and "100% of the units in act1" in f.message
    # dead from the first recorded step: the initialization is the first suspect, then Leaky ReLU / ELU
    assert f.evidence["at_init"] and f.remedies[0].spec_change == {"init": "he_uniform", "bias_init": 0.0}
    assert [r.spec_change.get("activation") for r in f.remedies[1:3]] == ["leaky_relu", "elu"]
    acts[:10, 0, ACT_STATS.index("dead_frac")] = 0.0  # dying later, during training: Leaky ReLU first
    f = next(f for f in diagnose(history(learning(), acts=acts, act_kinds=["relu"]), ctx(act_kinds=["relu"])).findings
             if f.problem == "dead_units")
    assert not f.evidence["at_init"] and f.remedies[0].spec_change["activation"] == "leaky_relu"
    acts[:10, 0, ACT_STATS.index("dead_frac")] = 1.0
    # 60% dead while learning well: not a problem; 60% dead (since step 51: died in training) while stalled: a problem.
    acts[:, 0, ACT_STATS.index("dead_frac")] = 0.6
    assert diagnose(history(learning(), acts=acts, act_kinds=["relu"]), ctx(act_kinds=["relu"])).findings == []
    acts[:5, 0, ACT_STATS.index("dead_frac")] = 0.2
    stalled = diagnose(history(flat(), acts=acts, act_kinds=["relu"]), ctx(act_kinds=["relu"], reference_loss=0.69))
    assert "dead_units" in stalled.problems


def test_saturated_units_when_stalled():
    acts = np.full((40, 1, len(ACT_STATS)), np.nan)
    acts[:, 0, ACT_STATS.index("sat_frac")] = 0.8
    d = diagnose(history(flat(), acts=acts, act_kinds=["saturating"]), ctx(act_kinds=["saturating"], reference_loss=0.69))
    assert "saturated_units" in d.problems
    assert diagnose(history(learning(), acts=acts, act_kinds=["saturating"]), ctx(act_kinds=["saturating"])).findings == []


def test_lr_too_high_rising_loss():
    loss = np.r_[learning(150), np.linspace(0.3, 3.0, 100)]
    d = diagnose(history(loss), ctx(lr=1.0))
    f = next(f for f in d.findings if f.problem == "lr_too_high")
    assert "at lr 1" in f.message and f.remedies[0].spec_change == {"lr": 0.1}


def test_lr_too_low_tiny_updates_and_no_progress():
    d = diagnose(history(flat(), update=1e-7), ctx(lr=1e-6, reference_loss=0.69))
    f = next(f for f in d.findings if f.problem == "lr_too_low")
    assert f.remedies[0].spec_change == {"lr": 1e-3}  # updates 1e4x below the healthy 1e-3: raised by the most allowed, 1000x
    d = diagnose(history(flat(), update=2e-6), ctx(lr=1e-6, reference_loss=0.69))
    f = next(f for f in d.findings if f.problem == "lr_too_low")
    assert f.remedies[0].spec_change == {"lr": 1e-3}  # 500x below the healthy 1e-3: up 1000x, the nearest power of ten
    d = diagnose(history(flat(), update=8e-6), ctx(lr=1e-6, reference_loss=0.69))
    f = next(f for f in d.findings if f.problem == "lr_too_low")
    assert f.remedies[0].spec_change == {"lr": 1e-4}  # 125x below: up 100x
    # Tiny updates after converging to a low loss are not a problem.
    assert diagnose(history(learning(), update=1e-7), ctx(lr=1e-6)).findings == []


def test_plateau_only_after_four_windows_with_no_other_cause():
    assert diagnose(history(flat(350)), ctx(reference_loss=0.69)).findings == []
    d = diagnose(history(flat(600)), ctx(reference_loss=0.69))
    assert d.problems == {"plateau"} and d.findings[0].severity == "serious"  # at chance level: nothing learned
    d = diagnose(history(flat(600)), ctx())  # no chance level known: stalled at its initial loss, a warning
    assert d.problems == {"plateau"} and d.findings[0].severity == "warning"


def test_unscaled_inputs_need_suffering_unless_extreme():
    x = np.array([[[5e3, 0.1]], [[1.2e4, 0.5]]]).reshape(2, 2)  # mean, std per feature
    inputs = x[None]
    d = diagnose(history(flat(), inputs=inputs), ctx(reference_loss=0.69))
    f = next(f for f in d.findings if f.problem == "unscaled_inputs")
    assert "input feature 0 has std 1.2e+04 and mean 5e+03" in f.message
    mild = np.array([[20.0, 0.0], [15.0, 1.0]])[None]
    assert diagnose(history(learning(), inputs=mild), ctx()).findings == []  # learns fine: silent
    assert "unscaled_inputs" in diagnose(history(flat(), inputs=mild), ctx(reference_loss=0.69)).problems


def test_symmetric_units_from_row_spread():
    d = diagnose(history(flat()), ctx(symmetric=[("fc1", 32, 0.0), ("fc2", 32, 0.3)], reference_loss=0.69))
    assert d.problems == {"symmetric_units"}  # and the stall is not also called vanishing or a plateau
    assert d.findings[0].layers == ["fc1"] and d.findings[0].step == 1


def test_units_worn_alike_after_being_drawn_apart_are_not_symmetric_units():
    """Rows identical at the end but apart at the first step were worn alike (no gradient, decayed to 0: pytorch-beginner's
    conv autoencoder behind ReLUs dead from its first step, public set 103), not drawn alike: that is not an init's
    symmetry.  Identical at the first step as well, it is."""
    now = [("fc1", 32, 0.0)]
    worn = diagnose(history(flat()), ctx(symmetric=now, symmetric_at_start=[("fc1", 32, 0.06)], reference_loss=0.69))
    assert "symmetric_units" not in worn.problems
    drawn = diagnose(history(flat()), ctx(symmetric=now, symmetric_at_start=[("fc1", 32, 0.0)], reference_loss=0.69))
    assert "symmetric_units" in drawn.problems


def test_diagnosis_serializes_and_prints():
    d = diagnose(history(flat(), grad=np.tile([1e-4, 1e-2, 1.0], (40, 1))), ctx(reference_loss=0.69))
    back = json.loads(json.dumps(d.to_dict()))
    assert back["problems"] == ["vanishing_gradients"] and back["findings"][0]["remedies"][0]["source"]
    text = str(d)
    assert "vanishing_gradients (serious) in fc1, fc2, since step 1" in text and "1. " in text


# -- end to end, through gradmedic.watch ---------------------------------------------------------------
def _seed004(activation, init_fn, seed=1, steps=300):
    from sklearn.datasets import make_circles

    x, y = make_circles(n_samples=1000, noise=0.1, random_state=1)
    x = torch.tensor(x[:500], dtype=torch.float32)
    x = (x - (x.max(0).values + x.min(0).values) / 2) / ((x.max(0).values - x.min(0).values) / 2)
    y = torch.tensor(y[:500], dtype=torch.float32)[:, None]
    torch.manual_seed(seed)
    layers, w = [], 2
    for _ in range(5):
        lin = nn.Linear(w, 5)
        init_fn(lin.weight)
        nn.init.zeros_(lin.bias)
        layers += [lin, activation()]
        w = 5
    model = nn.Sequential(*layers, nn.Linear(5, 1))
    init_fn(model[-1].weight)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    lf = nn.BCEWithLogitsLoss()
    with gradmedic.watch(model, opt, every=10) as monitor:
        for i in range(steps):
            b = (i * 32) % 480
            opt.zero_grad()
            loss = lf(model(x[b:b + 32]), y[b:b + 32])
            loss.backward()
            monitor.step(loss)
            opt.step()
        return monitor.diagnose()


def test_seed004_sigmoid_vanishing_found_early():
    d = _seed004(nn.Sigmoid, lambda w: nn.init.normal_(w, 0, 1))
    f = next(f for f in d.findings if f.problem == "vanishing_gradients")
    assert f.detected_at <= 200  # visible from the first window; reported within 100 steps of it
    assert f.layers[0] == "0" and f.remedies[0].spec_change == {"activation": "relu", "init": "he_uniform"}


def test_seed004_relu_he_is_silent():
    assert _seed004(nn.ReLU, lambda w: nn.init.kaiming_uniform_(w, nonlinearity="relu"), steps=900).findings == []


def test_trainer_prints_and_records_the_diagnosis(tmp_path, seed004):
    from gradmedic import spec as S
    from gradmedic.run.records import Run
    from gradmedic.run.train import train

    sp = seed004(epochs=20)
    r = train(sp, runs_dir=tmp_path, progress="none")
    assert "vanishing_gradients" in r.diagnosis.problems
    # Remedies are spec changes that apply as they are.
    for rem in r.diagnosis.findings[0].remedies:
        if rem.spec_change:
            S.override(sp, rem.spec_change)
    saved = json.loads((r.run_dir / "diagnosis.json").read_text())
    assert "vanishing_gradients" in saved["problems"]
    assert Run(r.run_dir).diagnose().problems == r.diagnosis.problems  # the recorded run gives the same answer


def test_features_constant_within_a_batch_are_not_unscaled_inputs():
    """Standardized digits have pixels that take one value in every sample of a batch; float32 leaves such a column a
    std of ~1e-7 of its value, not 0, which once read as 'feature stds span a factor 7e+07'.  A constant column says
    nothing about scale; the same run with one feature 1000x larger is still unscaled."""
    import torch

    def run(big: float):
        g = torch.Generator().manual_seed(0)
        x = torch.randn(224, 24, generator=g)
        x[:, :6] = -1.3  # pixels that take one standardized value in every sample of a batch
        x[:, 6] *= big
        y = torch.randint(0, 4, (224,), generator=g)
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(24, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
        opt = torch.optim.SGD(model.parameters(), lr=1e-6)  # starved: training suffers, so scale would be blamed
        mon = gradmedic.watch(model, opt, every=5)
        for i in range(120):
            b = slice((i % 7) * 32, (i % 7 + 1) * 32)
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[b]), y[b])
            loss.backward()
            mon.step(loss)
            opt.step()
        mon.close()
        return mon.diagnose()

    assert "unscaled_inputs" not in run(1.0).problems
    assert "unscaled_inputs" in run(1000.0).problems


def test_plateau_remedies_at_chance_and_on_a_raw_regression_target():
    """A stall at chance level has learned nothing: a smaller rate cannot help, so annealing comes after momentum and
    Adam; away from chance with healthy-sized steps it comes first.  A raw regression target is the first suspect."""
    from gradmedic.doctor.remedies import for_problem
    from gradmedic.spec import validate

    spec = validate({"name": "p", "data": {"dataset": "circles", "normalize": "standard"},
                     "train": {"optimizer": "sgd", "lr": 0.01}})
    at_chance = for_problem("plateau", {"loss": 0.69, "reference_loss": 0.69, "update_ratio": 5e-3}, spec, 0.01)
    later = for_problem("plateau", {"loss": 0.3, "reference_loss": 0.69, "update_ratio": 5e-3}, spec, 0.01)
    kinds = [[next(iter(r.spec_change), "") for r in rs] for rs in (at_chance, later)]
    assert kinds[0] == ["optimizer", "optimizer", "schedule"] and kinds[1] == ["schedule", "optimizer", "optimizer"], kinds
    raw = validate({"name": "r", "data": {"dataset": "regression", "normalize": "standard"},
                    "train": {"optimizer": "sgd", "lr": 0.01}})
    assert for_problem("plateau", {"loss": 5.0, "update_ratio": 5e-3}, raw, 0.01)[0].spec_change == {"standardize_target": True}
    done = raw.model_copy(update={"data": raw.data.model_copy(update={"standardize_target": True})})
    assert all("standardize_target" not in r.spec_change for r in for_problem("plateau", {"loss": 5.0}, done, 0.01))


def _watched_regression(model, opt, x, y, steps=200):
    """A plain MSE loop over batches of 64, watched every 5 steps; the closed monitor."""
    mon = gradmedic.watch(model, opt, every=5)
    for i in range(steps):
        b = slice((i % 8) * 64, (i % 8 + 1) * 64)
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x[b]), y[b])
        loss.backward()
        mon.step(loss)
        opt.step()
    mon.close()
    return mon


def test_regression_outputs_several_times_unit_scale_at_init_are_initial_loss_high():
    """A squared error with no chance level: first outputs ~4-6x unit scale that alone make the first loss, still
    above 1% of it a window later, are weights too large for their fan-in (initial_output); the fan-in init is silent."""
    import torch

    def run(std: float | None):
        g = torch.Generator().manual_seed(0)
        x = torch.randn(512, 10, generator=g)
        y = (x[:, :1] - 0.5 * x[:, 1:2] * x[:, 2:3]) / 1.2  # about unit scale
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(10, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 1))
        if std is not None:
            for m in model:
                if isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0.0, std)
                    nn.init.normal_(m.bias, 0.0, std)
        return _watched_regression(model, torch.optim.RMSprop(model.parameters(), lr=8e-4), x, y)

    big = run(2.0)  # (at 1.5 the first sampled outputs span 3.5-4.7x, depending on which 32 rows are read)
    assert 4 <= big.history.output("logit_range")[0] < 30  # below the old threshold of 30
    f = next((f for f in big.diagnose().findings if f.problem == "initial_loss_high"), None)
    assert f is not None and f.evidence["regression"], str(big.diagnose())
    assert "initial_loss_high" not in run(None).diagnose().problems


def test_a_measured_full_output_gradient_overrules_fading_layer_gradients():
    """At chance with every layer's gradient faded 100x: without the output's own gradient that reads as a saturated
    loss; with it measured at a cross-entropy's full value (sqrt(1 - 1/C) at chance) the loss is passing gradient, so
    what faded is the network, and saturated_loss is not said.  Measured 100x lower, it is."""
    loss = flat(T=300)
    S = len(range(1, 301, 10))
    grad = np.tile(np.geomspace(1.0, 0.01, S)[:, None], (1, 3))

    def with_out(out_grad):
        h = history(loss, grad=grad)
        m = h._merged()
        out = np.full((S, len(OUT_STATS)), np.nan)
        out[:, OUT_STATS.index("width")] = 2
        out[:, OUT_STATS.index("logit_range")] = 0.1
        out[:, OUT_STATS.index("out_grad")] = out_grad
        h._chunks = [Chunk(m.loss_steps, m.loss, m.stat_steps, m.layers, m.acts, m.inputs, out=out)]
        return diagnose(h, ctx(reference_loss=0.69))

    assert "saturated_loss" in with_out(np.nan).problems  # not recorded: the fading rule
    assert "saturated_loss" not in with_out(math.sqrt(0.5)).problems  # a full output gradient
    starved = with_out(0.007)
    assert "saturated_loss" in starved.problems
    assert "out_grad" in next(f for f in starved.findings if f.problem == "saturated_loss").evidence


def _stuck_then(level_at_100, T=300, chance=0.69, seed=0):
    """A loss that starts at chance and is at ``level_at_100`` x chance from step 100 on."""
    t = np.arange(T)
    target = level_at_100 * chance
    loss = chance + (target - chance) * np.clip(t / 80, 0, 1)
    return loss + 0.002 * np.random.default_rng(seed).standard_normal(T)


@pytest.mark.parametrize("types, kinds, code", [
    (["Linear"] * 3, ["relu"], "exploding_gradients"),
    (["Linear"] * 3, ["saturating"], "saturated_units"),
    (["LSTM", "Linear", "Linear"], [], "saturated_units"),
])
def test_weights_far_above_their_fan_in_scale_are_reported_when_the_run_is_still_far_from_trained(types, kinds, code):
    h = history(_stuck_then(0.6), act_kinds=kinds)
    c = Context(LAYERS, types, [f"act{i + 1}" for i in range(len(kinds))], kinds, reference_loss=0.69,
                weight_gain=[8.0, 1.0, 0.6])
    d = diagnose(h, c)
    f = next(f for f in d.findings if f.problem == code)
    assert f.evidence["init_too_large"] and f.evidence["weight_gain"] == 8.0 and f.detected_at == 100
    assert "rows of norm 8" in f.message and f.layers == ["fc1"]
    assert "reset_parameters" in f.remedies[0].snippet  # the init is the cause: its remedies come first
    if code == "exploding_gradients":
        assert "He" in f.remedies[1].change
    # the same run with fan-in weights, or with weights just under init_gain: not this finding
    th = Thresholds()
    for g in (0.58, (th.init_gain_recurrent if types[0] == "LSTM" else th.init_gain) * 0.97):
        c.weight_gain = [g, 1.0, 0.6]
        assert not any(f.evidence.get("init_too_large") for f in diagnose(h, c).findings)


def test_large_weights_a_norm_layer_follows_learn_at_a_rate_gain_squared_lower():
    """BatchNorm/LayerNorm right after a layer rescale its output whatever its weights' scale, so nothing grows layer by
    layer, but the gradient reaching those weights shrinks with their norm: vanishing_gradients, not exploding (U-Net's
    convs drawn N(0, 1) before BatchNorm, gain 34: loss 0.81 against 0.023).  A gain a fan-in init gives (1.69: the
    5/3 Kaiming of nn-zero-to-hero's BatchNorm MLP) is silent."""
    h = history(_stuck_then(0.6), act_kinds=["relu"])

    def found(types, gain=8.0):
        c = Context(LAYERS, types, ["act1"], ["relu"], reference_loss=0.69, weight_gain=[gain, math.nan, 0.6])
        return next((f for f in diagnose(h, c).findings if f.evidence.get("init_too_large")), None)

    assert found(["Linear", "Linear", "Linear"]).problem == "exploding_gradients"
    for types in (["Linear", "BatchNorm1d", "Linear"], ["Conv2d", "LayerNorm", "Linear"]):
        f = found(types)
        assert f.problem == "vanishing_gradients" and f.evidence["normed"] and "~64x less" in f.message
        assert found(types, gain=1.69) is None


def test_large_weights_stay_silent_when_the_run_learns_or_was_trained_before_watch():
    c = ctx(reference_loss=0.69, act_kinds=["relu"], weight_gain=[8.0, 1.0, 0.6])
    fast = history(_stuck_then(0.1), act_kinds=["relu"])  # a CNN head drawn N(0, 0.05): learns fast
    assert diagnose(fast, c).findings == []
    fine_tune = history(_stuck_then(0.6) * 0.5, act_kinds=["relu"])  # starts at half of chance: trained weights
    assert diagnose(fine_tune, c).findings == []
    # a Context read back from a case file keeps the gains (NaN for a layer without a weight matrix)
    c.weight_gain = [8.0, math.nan, 0.6]
    back = Context.from_dict(json.loads(json.dumps(c.to_dict())))
    assert back.weight_gain[0] == 8.0 and math.isnan(back.weight_gain[1])


def test_an_adaptive_optimizer_far_above_its_usual_rate_with_the_run_stuck_at_chance_is_lr_too_high():
    # (gradient norms that vary, as unclipped ones do: a constant total norm reads as a loop that clips)
    h = history(flat(T=300), update=3e-3, grad=np.random.default_rng(1).uniform(0.5, 2.0, (30, 3)))
    th = Thresholds()
    for opt, lr, clips, expect in [("Adam", 0.06, None, True),  # 60x Adam's usual 1e-3
                                   # just under the bar: only once two windows have passed at chance
                                   ("Adam", th.lr_far_above * 1e-3 * 0.9, None, 200),
                                   ("SGD", 0.6, None, False),  # SGD's step scales with the gradient: other rules
                                   # clipping does not bound Adam's step (it divides by the gradient's own scale)
                                   ("Adam", 0.06, 1.0, True)]:
        d = diagnose(h, ctx(reference_loss=0.69, lr=lr, loop={"optimizer": opt, "clips": clips}))
        f = next((f for f in d.findings if f.problem == "lr_too_high"), None)
        assert (f is not None) == bool(expect), (opt, lr, clips, d.problems)
        if expect is True:
            assert f.evidence["rate_far_above"] and "60x Adam's usual 0.001" in f.message and f.detected_at <= 100
        elif expect:
            assert f.detected_at == expect and "since step 1" in f.message


def test_a_cross_entropy_at_chance_two_windows_under_an_adaptive_rate_10x_its_usual_one_is_lr_too_high():
    """BERT under AdamW at 10x stayed at ln 2 for 375 steps (0.48 accuracy against 1.0), with HF's linear decay taking
    the rate to 7x by step 200: the peak rate over the stay counts.  Healthy runs at 10-20x left chance by step 73."""
    T = 300
    grad = np.random.default_rng(1).uniform(0.5, 2.0, (T // 10, 3))
    loop = {"optimizer": "AdamW", "clips": None}

    def found(loss, lr, opt="AdamW", decay=False):
        # (decay: linear to 0 over the run, as HF's Trainer does)
        h = history(loss, update=3e-3, grad=grad, lr=lr * np.linspace(1.0, 0.0, T, endpoint=False) if decay else None)
        d = diagnose(h, ctx(reference_loss=0.69, lr=lr, loop={**loop, "optimizer": opt}))
        return next((f for f in d.findings if f.problem == "lr_too_high"), None)

    f = found(flat(T), 0.01, decay=True)
    assert f is not None and f.detected_at == 200 and f.evidence["rate_far_above"] and "since step 1" in f.message
    assert found(flat(T), 0.009) is None  # 9x: under the bar
    assert found(flat(T), 0.1, opt="SGD") is None  # SGD: other rules
    # a healthy start: at chance for 73 steps, then learning
    slow_start = np.r_[flat(73), 0.69 * np.exp(-np.arange(T - 73) / 60) + 0.02]
    assert found(slow_start, 0.015) is None
    # a sigmoid stack losing its gradient through depth stays at chance under any rate (seed 004's 5x5 net under Adam at
    # 0.01; with ReLU it trains at that rate): vanishing_gradients, not the rate
    deep = np.tile([1e-4, 1e-2, 1.0], (T // 10, 1))
    sig = ["saturating"] * 2
    c = ctx(act_kinds=sig, act_types=["Sigmoid"] * 2, reference_loss=0.69, lr=0.01, loop=loop)
    h = history(flat(T), update=3e-3, grad=deep, act_kinds=sig)
    assert diagnose(h, c).problems == {"vanishing_gradients"}
    # ... but one tanh (BERT's pooler, beside GELUs the monitor does not hook) is no sigmoid stack: BERT at 10x stays
    # at ln 2 because of the rate
    c1 = ctx(act_kinds=["saturating"], act_types=["Tanh"], reference_loss=0.69, lr=0.01, loop=loop)
    assert diagnose(history(flat(T), update=3e-3, grad=deep, act_kinds=["saturating"]), c1).problems == {"lr_too_high"}


def test_an_adaptive_optimizer_100x_above_usual_still_far_from_trained_a_window_in_is_lr_too_high():
    """A run that does progress, slowly: yunjey's tutorial ResNet under Adam at 0.1 was at 0.71 of chance at step 100
    (0.34 accuracy against 0.96).  At 100x or more, above slow_share of chance a window in is the rate's; at 50x it needs
    a stall, and a run already below slow_share (the gcns under Adam at 100-1000x, 0.15-0.18 of chance) is silent."""
    falling = 0.69 * np.linspace(1.0, 0.55, 300) + 0.005 * np.random.default_rng(0).standard_normal(300)
    grad = np.random.default_rng(1).uniform(0.5, 2.0, (30, 3))
    loop = {"optimizer": "Adam", "clips": None}

    def found(loss, lr):
        d = diagnose(history(loss, update=3e-3, grad=grad), ctx(reference_loss=0.69, lr=lr, loop=loop))
        return next((f for f in d.findings if f.problem == "lr_too_high"), None)

    f = found(falling, 0.1)
    assert f is not None and f.detected_at <= 100 and f.evidence["rate_far_above"]
    assert found(falling, 0.05) is None
    assert found(0.69 * np.linspace(1.0, 0.1, 300), 0.1) is None


def test_a_loss_thrown_above_chance_by_the_first_steps_of_a_far_too_high_adaptive_rate_is_lr_too_high():
    """pytorch/examples gat under Adam at 0.5 (500x its usual rate): from chance 1.95 at step 1 to 2.8-3.0 at steps 2-40,
    its whole run; healthy runs at 10x or more never went above 1.05x chance in their first 30 steps."""
    rng = np.random.default_rng(2)
    thrown = np.r_[0.69, 1.0 + 0.02 * rng.standard_normal(39)]  # 1.45x chance from step 2 on, 40 steps in all
    loop = {"optimizer": "Adam", "clips": None}

    def found(loss, lr, opt="Adam"):
        d = diagnose(history(loss, update=3e-3), ctx(reference_loss=0.69, lr=lr, loop={**loop, "optimizer": opt}))
        return next((f for f in d.findings if f.problem == "lr_too_high"), None)

    f = found(thrown, 0.05)
    assert f is not None and f.evidence["overshoot"] and f.detected_at == 4
    assert "50x Adam's usual 0.001" in f.message and "1.4x chance" in f.message
    assert found(thrown, 0.009) is None  # 9x: under overshoot_rate
    assert found(thrown, 0.5, "SGD") is None  # SGD's step scales with the gradient: other rules
    assert found(np.r_[0.69, 0.79 + 0.002 * rng.standard_normal(39)], 0.05) is None  # 1.15x: under the bar
    assert found(np.r_[1.0, 1.0 + 0.02 * rng.standard_normal(39)], 0.05) is None  # started above chance: not the steps'
    late = np.r_[0.69 - 0.1 * np.arange(40) / 40, np.full(20, 1.0)]  # a rise after step 40 is not the first steps'
    g = found(late, 0.05)
    assert g is None or not g.evidence.get("overshoot")


def test_a_run_shorter_than_min_steps_at_chance_under_a_rate_far_below_usual_is_judged_at_its_end():
    """pytorch/examples gat trains 40 full-batch steps; under Adam at 1/200 of its usual rate it sat at ln 7 for all of
    them.  A run that ends before min_steps is judged once, at its last sample, by the rule that needs only a stretch
    at chance under a rate 30x or more below usual; at the usual rate, or learning, it stays silent."""
    stuck = flat(T=40, level=0.69, noise=0.001)
    loop = {"optimizer": "Adam", "clips": None}

    def found(loss, lr):
        d = diagnose(history(loss, update=2e-5, every=5), ctx(reference_loss=0.69, lr=lr, loop=loop))
        return next((f for f in d.findings if f.problem == "lr_too_low"), None)

    f = found(stuck, 5e-6)
    assert f is not None and f.detected_at == 36 and f.evidence["rate_far_below"]
    assert found(stuck, 1e-3) is None  # the usual rate: a short run at chance is not the rate's
    assert found(stuck, 5e-5) is None  # 20x below: under the 30x a short run needs
    assert found(np.linspace(0.69, 0.3, 40), 5e-6) is None  # it learns


def test_a_loss_that_rose_at_the_first_update_and_never_came_back_is_lr_too_high():
    """practical-pytorch's char-RNN under Adam at 100x: 464 at step 1, then 1132, 1605, ... 2596, never back below 2x
    its first value; its summed loss has no chance level, and the median of steps 1-3 the smoothed rule starts from is
    already lifted.  A first-step bump that comes back, or a batch-of-one loss alternating 0.02/0.7 from step 1, is not."""
    rng = np.random.default_rng(5)
    climb = np.r_[464.0, np.linspace(1132, 2596, 30), 2000 + 100 * rng.standard_normal(170)]
    f = next(f for f in diagnose(history(climb), ctx(lr=0.5, loop={"optimizer": "Adam"})).findings
             if f.problem == "lr_too_high")
    assert f.detected_at == 26 and "never came back below 2x its first value" in f.message
    bump = np.r_[1.0, 1.9, 1.5, np.linspace(1.2, 0.3, 197)]  # back below 2x at once: a rise, not a throw
    assert "lr_too_high" not in diagnose(history(bump), ctx(lr=1e-3, loop={"optimizer": "Adam"})).problems
    alternating = np.tile([0.02, 0.7], 100)  # (comes back to 0.02 at every other step)
    assert not any("never came back" in f.message
                   for f in diagnose(history(alternating), ctx(lr=1e-3, loop={"optimizer": "SGD"})).findings)


def test_a_rate_far_below_usual_that_crawls_above_slow_share_of_chance_is_lr_too_low():
    crawl = flat(T=300, level=0.8 * 0.69)  # learned the easy part at once, then no progress
    loop = {"optimizer": "Adam"}
    d = diagnose(history(crawl, update=5e-5), ctx(reference_loss=0.69, lr=1e-5, loop=loop))  # 1/100 of Adam's usual
    f = next(f for f in d.findings if f.problem == "lr_too_low")
    assert f.evidence["rate_far_below"] and f.detected_at <= 110
    # at the usual rate the same course is a converged run (not the rate), and below slow_share of chance it learned
    assert "lr_too_low" not in diagnose(history(crawl, update=5e-5), ctx(reference_loss=0.69, lr=1e-3, loop=loop)).problems
    low = flat(T=300, level=0.5 * 0.69)
    assert "lr_too_low" not in diagnose(history(low, update=5e-5), ctx(reference_loss=0.69, lr=1e-5, loop=loop)).problems
    # a squared error (no chance level): its first loss is the yardstick; SGD at 1/1000 of its usual 0.01
    still = flat(T=300, level=1.0, noise=0.01)
    sgd = {"optimizer": "SGD"}
    assert "lr_too_low" in diagnose(history(still, update=5e-5), ctx(lr=1e-5, loop=sgd)).problems
    assert "lr_too_low" not in diagnose(history(still, update=5e-5), ctx(lr=1e-2, loop=sgd)).problems


def test_identical_units_absorb_a_later_rise_of_the_loss():
    rise = np.r_[learning(150), np.linspace(0.3, 3.0, 100)]  # the rise test_lr_too_high_rising_loss calls the rate's
    c = ctx(reference_loss=0.69, symmetric=[("fc1", 32, 0.0)])
    assert diagnose(history(rise), c).problems == {"symmetric_units"}
    assert "lr_too_high" in diagnose(history(rise), ctx(reference_loss=0.69)).problems  # without them: the rate


def test_a_spread_of_feature_scales_is_said_only_beside_a_large_input_scale():
    # pixels in [0, 1] whose border pixels are nearly always 0: stds from 0.003 to 0.45, nothing above unit scale
    pixels = np.array([[0.001, 0.5, 0.3], [0.003, 0.45, 0.3]])[None]
    assert "unscaled_inputs" not in diagnose(history(flat(), inputs=pixels), ctx(reference_loss=0.69)).problems
    # the same spread reaching 4.5 (digits standardized by one global mean and std, as Ben Trevett's MLP does): over
    # every corpus a spread alone found no broken run, so it is said only beside a scale above unscaled_scale
    wide = pixels * np.array([1.0, 10.0, 1.0])
    assert "unscaled_inputs" not in diagnose(history(flat(), inputs=wide), ctx(reference_loss=0.69)).problems
    raw = pixels * np.array([1.0, 100.0, 1.0])  # reaching 45
    f = next(f for f in diagnose(history(flat(), inputs=raw), ctx(reference_loss=0.69)).findings
             if f.problem == "unscaled_inputs")
    assert "feature stds span a factor" in f.message and "input feature 1 has std 45" in f.message


def test_batch_of_one_noise_is_not_a_rise_from_a_low_first_step():
    # a batch-1 MSE alternates between the easy and the hard samples from step 1 on (DLRM's bug report, ported):
    # the first three steps may all be easy ones, but the level later is what the first window already showed
    rng = np.random.default_rng(0)
    loss = np.where(rng.random(400) < 0.5, 0.02, 0.7) + 0.01 * rng.random(400)
    loss[:3] = 0.02
    assert "lr_too_high" not in diagnose(history(loss), ctx(lr=0.01)).problems
    loss[150:] *= 10  # a real rise later, above everything the first window showed
    assert "lr_too_high" in diagnose(history(loss), ctx(lr=0.01)).problems


def test_a_rise_over_weights_that_barely_moved_is_the_datas_not_the_rates():
    """dataflowr's moons MLP, one example per step in the data's order, at 1/1000 of its rate: its per-example loss sits
    near 0.02 and climbs to ~1 for a stretch of hard examples while each step moves the weights 4e-6 of their norm - in
    total 1e-4 over the rise, far under rise_still (1e-2), so the network's function did not change: no lr_too_high.
    The same losses with steps of 5e-3 each (0.5 over the rise) are a rise the updates made."""
    loss = np.r_[np.full(150, 0.02), np.full(100, 1.0)] + 0.001 * np.random.default_rng(0).random(250)
    assert "lr_too_high" not in diagnose(history(loss, update=4e-6), ctx(lr=1e-5)).problems
    assert "lr_too_high" in diagnose(history(loss, update=5e-3), ctx(lr=1e-5)).problems
    # the guard is the total: 4e-6 a step stays under it over 100 steps (4e-4), 2e-4 a step does not (2e-2)
    assert "lr_too_high" in diagnose(history(loss, update=2e-4), ctx(lr=1e-5)).problems


def test_a_generators_gradient_growing_from_nothing_is_not_exploding_while_the_game_goes_on():
    """devnag's GAN: the generator's gradients start at 0.002 (the untrained discriminator hands it next to none) and grow
    2000x once the discriminator learns, while its adversarial loss wanders between 0.3 and 1.5 around a start of 0.8 -
    a stall "at a high loss" and rises back to the game's equilibrium, which say nothing of its progress (co_watched).
    The same history for a model trained alone is exploding_gradients; and a generator whose loss runs past
    adversarial_rise x its start (the game lost) still is."""
    rng = np.random.default_rng(0)
    T = 3000
    loss = 0.8 + 0.3 * np.sin(np.arange(T) / 150.0) + 0.05 * rng.standard_normal(T)
    grad = np.tile([0.002, 0.002, 0.002], (T // 10, 1))
    grad[100:] = 4.0  # 2000x its start, above the weights (norm 1)
    alone = diagnose(history(loss, grad=grad), ctx(lr=0.001))
    assert "exploding_gradients" in alone.problems
    game = diagnose(history(loss, grad=grad), ctx(lr=0.001, loop={"co_watched": 1}))
    assert "exploding_gradients" not in game.problems, str(game)
    lost = loss.copy()
    lost[1500:] = 8.0  # 10x its start, past adversarial_rise (6.64x): the discriminator won outright
    assert "exploding_gradients" in diagnose(history(lost, grad=grad), ctx(lr=0.001, loop={"co_watched": 1})).problems


def test_a_run_that_ends_at_chance_before_two_windows_is_judged_over_its_whole_length():
    """fast.ai's hand-written Adam at 1/1000 of its rate, watched without an optimizer (no rate known): 180 steps at ln 10
    (2.40 -> 2.20), every layer moving 1e-5 per step.  The two windows at chance lr_too_low asks for without a rate are
    more than the run has; at its last sample the whole run, at chance from first step to last with steps that small,
    is lr_too_low.  Steps of a healthy size (1e-3) over the same losses are not the rate's; a run that learns is silent."""
    rng = np.random.default_rng(0)
    loss = np.linspace(2.40, 2.20, 180) + 0.01 * rng.standard_normal(180)
    d = diagnose(history(loss, update=1e-5), ctx(reference_loss=math.log(10)))
    f = next(f for f in d.findings if f.problem == "lr_too_low")
    assert f.detected_at == 171  # the last sample (steps 1, 11, ..., 171)
    assert "lr_too_low" not in diagnose(history(loss, update=1e-3), ctx(reference_loss=math.log(10))).problems
    learns = np.r_[np.linspace(2.40, 0.5, 90), np.full(90, 0.5)] + 0.01 * rng.standard_normal(180)
    assert diagnose(history(learns, update=1e-5), ctx(reference_loss=math.log(10))).findings == []
    # 400 steps: two windows fit, and the rule is what it was (found from the second window's end on)
    long = np.linspace(2.40, 2.25, 400) + 0.01 * rng.standard_normal(400)
    f = next(f for f in diagnose(history(long, update=1e-5), ctx(reference_loss=math.log(10))).findings
             if f.problem == "lr_too_low")
    assert f.detected_at >= 200


def test_a_generator_whose_gradient_died_when_its_discriminator_won_is_told_the_rate_not_no_gradient():
    """pytorch-beginner's simple GAN at 10x its rate: the discriminator wins outright, its sigmoid output saturates, and
    every one of the generator's gradients is exactly 0 from step 700 while its loss sits at 11, 16x its start of 0.69.
    For a model trained against another (co_watched) that is the game lost to the pair's steps (lr_too_high), not a
    network no rate can help; the same history for a model trained alone stays no_gradient."""
    T = 1000
    loss = np.r_[np.full(50, 0.69), np.linspace(0.69, 11.0, 200), np.full(750, 11.0)]
    grad = np.tile([0.5, 0.5, 0.5], (T // 10, 1))
    grad[70:] = 0.0  # from step 701, long after the rise: no jump to blame on the last update
    game = diagnose(history(loss, grad=grad), ctx(lr=3e-3, loop={"co_watched": 1}))
    assert game.problems == {"lr_too_high"}, str(game)  # (the rise that lost the game is its first sign, at step 25)
    alone = diagnose(history(loss, grad=grad), ctx(lr=3e-3))
    assert "no_gradient" in alone.problems and "lr_too_high" not in alone.problems, str(alone)


def test_a_generator_loss_that_led_and_came_back_is_a_game_still_alive():
    """Udacity's MNIST GAN, healthy: its generator's loss climbs to 7x its start (the discriminator gives the fakes 1-2%)
    around step 500 and is back near 1.5x by the end.  For a model trained against another that is one side leading,
    not divergence: no lr_too_high once the run has come back.  Still up at the end (the discriminator won and stayed
    ahead), or a model trained alone, it is."""
    T = 1200
    rng = np.random.default_rng(0)
    up = np.r_[np.full(200, 0.6), np.linspace(0.6, 4.2, 300), np.linspace(4.2, 0.9, 300), np.full(400, 0.9)]
    up = up + 0.02 * rng.standard_normal(T)
    game = ctx(lr=2e-3, loop={"co_watched": 1})
    assert "lr_too_high" not in diagnose(history(up), game).problems
    live = diagnose(history(up[:520]), game)  # a live diagnose() while it is up: told
    assert "lr_too_high" in live.problems
    stays = np.r_[up[:500], np.full(700, 4.2)]
    assert "lr_too_high" in diagnose(history(stays), game).problems
    assert "lr_too_high" in diagnose(history(up), ctx(lr=2e-3)).problems


def test_targets_far_from_the_outputs_scale_are_reported_even_while_the_loss_falls():
    """A real regression loop (PyTorch default init, Adam): targets x100 make the first squared error ~1e4 against
    outputs of scale ~0.3; the loss falls (to ~1e3 by step 100), so only target_extreme reports it, as a warning;
    the standardized target is silent."""
    import torch

    def run(scale: float):
        g = torch.Generator().manual_seed(0)
        x = torch.randn(512, 8, generator=g)
        y = (x[:, :1] + 0.5 * torch.sin(3 * x[:, 1:2])) * scale
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1))
        return _watched_regression(model, torch.optim.Adam(model.parameters(), lr=3e-2), x, y)

    raw = run(100.0)
    h = raw.history
    assert h.loss[0] >= Thresholds().target_extreme * (1 + h.output("logit_range")[0] ** 2) and h.loss[-1] < 0.6 * h.loss[0]
    f = next(f for f in raw.diagnose().findings if f.problem == "unscaled_target")
    assert f.severity == "warning" and "standardize" in f.remedies[0].change
    assert run(1.0).diagnose().findings == []


def test_an_extreme_depth_profile_is_a_warning_when_the_loss_stalls_partway():
    t = np.arange(400)
    partway = 0.69 * (1 - 0.55 * np.clip(t / 120, 0, 1)) + 0.002 * np.random.default_rng(0).standard_normal(400)
    extreme = np.tile([1e-6, 1e-3, 0.1], (40, 1))  # the first layer gets 1e-5 of the last one's gradient
    d = diagnose(history(partway, grad=extreme), ctx(reference_loss=0.69))
    f = next(f for f in d.findings if f.problem == "vanishing_gradients")
    assert f.severity == "warning" and f.evidence["ratio"] < Thresholds().vanishing_extreme
    mild = np.tile([5e-3, 0.03, 0.1], (40, 1))  # 1/20: a plain deep net's ordinary profile
    assert diagnose(history(partway, grad=mild), ctx(reference_loss=0.69)).findings == []
    fitted = 0.69 * np.exp(-t / 60) + 0.01  # the same profile in a run that fits: silent
    assert diagnose(history(fitted, grad=extreme), ctx(reference_loss=0.69)).findings == []


def test_a_window_at_chance_under_a_rate_30x_below_usual_is_lr_too_low_whatever_the_updates():
    # SGD with momentum at 1/60 of its usual 0.01 moves a Transformer's layers ~1.5e-3 per step (large gradients)
    sgd = {"optimizer": "SGD"}
    d = diagnose(history(flat(T=300), update=1.5e-3), ctx(reference_loss=0.69, lr=0.01 / 60, loop=sgd))
    assert "lr_too_low" in d.problems
    # 1/5 of usual: the updates of a healthy size say the rate is not what holds it back
    assert "lr_too_low" not in diagnose(history(flat(T=300), update=1.5e-3), ctx(reference_loss=0.69, lr=0.002,
                                                                                 loop=sgd)).problems


def test_a_sigmoid_net_is_allowed_four_times_the_weights():
    """Glorot & Bengio scale a sigmoid net's init by 4 (its slope is at most 1/4): an 8x32 sigmoid stack with N(0, 1)
    weights (gain ~5.7) learns, and with a fan-in init it never leaves chance, so 5.7 is no init too large there."""
    h = history(_stuck_then(0.6), act_kinds=["saturating"])

    def found(gain, act_type):
        c = Context(LAYERS, ["Linear"] * 3, ["act1"], ["saturating"], act_types=[act_type], reference_loss=0.69,
                    weight_gain=[gain, 1.0, 0.6])
        return any(f.evidence.get("init_too_large") for f in diagnose(h, c).findings)

    assert found(5.7, "Tanh") and not found(5.7, "Sigmoid") and found(13.0, "Sigmoid")


def test_a_recurrent_layer_is_too_large_from_the_bar_of_the_others():
    """Recurrent layers at 2.5-3 trained in every public program (the Neural Turing Machine's own controller LSTM at
    2.5, nn.RNNs drawn N(0, 1) at 2.6 and 3.0); those found broken by their init were at 5.6-18."""
    h = history(_stuck_then(1.0))

    def found(gain, first_type):
        c = Context(LAYERS, [first_type, "Linear", "Linear"], [], [], reference_loss=0.69, weight_gain=[gain, 1.0, 0.6])
        return any(f.evidence.get("init_too_large") for f in diagnose(h, c).findings)

    assert found(5.6, "LSTM") and found(3.2, "GRU") and found(3.2, "RNN")
    assert not found(2.5, "LSTM") and not found(2.98, "RNN") and not found(1.67, "RNN")


def test_weights_far_below_their_fan_in_scale_are_vanishing_gradients_when_the_run_is_slow():
    faded = np.ones((30, 3))
    faded[:3] = [1e-5, 1e-3, 0.1]  # the gradient such rows hand back at the start
    h = history(_stuck_then(0.8), grad=faded)

    def small(gains):
        c = Context(LAYERS, ["Linear"] * 3, [], [], reference_loss=0.69, weight_gain=gains)
        return next((f for f in diagnose(h, c).findings if f.evidence.get("init_too_small")), None)

    f = small([0.004, 0.004, 0.004])  # N(0, 5e-4) at width 64
    assert f.problem == "vanishing_gradients" and "reset_parameters" in f.remedies[0].snippet
    assert small([0.11, 0.11, 0.11]) is None  # GPT-2's std 0.02 at width 32
    assert small([0.58, 0.58, 0.0]) is None  # a zero-initialized head is a choice: the median counts
    assert small([0.0, 0.0, 0.0]) is None  # all zeros: symmetric_units' finding
    fast = history(_stuck_then(0.1))
    c = Context(LAYERS, ["Linear"] * 3, [], [], reference_loss=0.69, weight_gain=[0.004] * 3)
    assert diagnose(fast, c).findings == []  # small weights behind a norm layer that learns: silent
    # rows as small whose layers hand the gradient back undiminished multiply their weights back up (SIREN's sin(30 Wx),
    # public set 95): the measured gradient, 0.17 of the last layer's at the start, says the signal is not shrinking
    siren = history(_stuck_then(0.8), grad=np.tile([0.017, 0.05, 0.1], (30, 1)))
    c = Context(LAYERS, ["Linear"] * 3, [], [], reference_loss=0.69, weight_gain=[0.004] * 3)
    assert not any(f.evidence.get("init_too_small") for f in diagnose(siren, c).findings)


def test_a_mostly_frozen_untrained_model_that_crawls_is_no_gradient_but_a_fine_tune_is_not():
    t = np.arange(300)
    frozen = {"frozen_params": 18336, "params": 18400, "frozen_modules": ["tok", "blocks", "lm_head"]}
    crawl = 4.28 - 0.6 * np.clip(t / 200, 0, 1)  # only the final LayerNorm trains: 4.3 -> 3.7 nats, chance 4.28
    d = diagnose(history(crawl), ctx(reference_loss=4.28, loop=frozen))
    assert "no_gradient" in d.problems
    fine_tune = 2.5 - 0.5 * np.clip(t / 200, 0, 1)  # LoRA on a trained model: starts far below chance
    assert "no_gradient" not in diagnose(history(fine_tune), ctx(reference_loss=4.28, loop=frozen)).problems
    probe = 4.28 * np.exp(-t / 60) + 0.3  # a probe that learns
    assert "no_gradient" not in diagnose(history(probe), ctx(reference_loss=4.28, loop=frozen)).problems


def test_an_adaptive_optimizer_100x_above_usual_that_bounces_without_progress_is_lr_too_high():
    rng = np.random.default_rng(0)
    t = np.arange(300)
    bounce = 0.69 * (1 - 0.48 * np.clip(t / 80, 0, 1)) + 0.04 * rng.standard_normal(300)  # to 0.52 of chance (the GRU: 0.36)
    adam = {"optimizer": "Adam"}
    grad = rng.uniform(0.5, 2.0, (30, 3))  # varying, as unclipped norms do
    d = diagnose(history(bounce, grad=grad), ctx(reference_loss=0.69, lr=0.131, loop=adam))  # 131x Adam's usual 1e-3
    assert "lr_too_high" in d.problems
    assert "lr_too_high" not in diagnose(history(bounce, grad=grad), ctx(reference_loss=0.69, lr=0.03, loop=adam)).problems
    # a loop that clips (one total norm) is no different: clipping rescales the gradient, and Adam's step divides the
    # scale out (every adaptive run of the corpora at 10x or more in a loop that clips was broken, 13 of 13)
    clipped = diagnose(history(bounce), ctx(reference_loss=0.69, lr=0.131, loop=adam))
    assert "lr_too_high" in clipped.problems


def test_a_jump_to_10x_chance_must_also_rise_from_where_the_run_started():
    """locuslab's TCN under Adam at 1/1000 of its rate started at 7.5x its squared error's chance level; one batch at
    10.2x (1.4x its first loss) was no jump.  A loss at chance at step 1 and 20x chance at step 2 is."""
    rng = np.random.default_rng(0)
    start_high = 7.5 * 0.69 * (1 + 0.1 * rng.standard_normal(300))
    start_high[8] = 10.2 * 0.69
    c = ctx(reference_loss=0.69, lr=4e-6, loop={"optimizer": "Adam"})
    fs = [f for f in diagnose(history(start_high), c).findings if f.problem == "lr_too_high"]
    assert not fs
    blow = np.r_[0.69, 20 * 0.69, flat(298, level=0.69 * 15)]
    f = next(f for f in diagnose(history(blow), c).findings if f.problem == "lr_too_high")
    assert f.detected_at == 2 and "20x the chance level" in f.message


def test_a_window_above_chance_that_the_run_never_leaves_is_lr_too_high():
    """word_language_model's Transformer under main.py's default SGD at 20: 6.3 at step 2, then 6-21 around a chance
    level of 7.6, a window's median at 1.6x, and it ended at 10.  A recurrent net whose clipping let it spike to 2x
    chance over its first window and then learn (it ended at 0.6 of chance) was healthy."""
    rng = np.random.default_rng(0)
    chance = 0.69
    thrown = np.r_[chance, 0.83 * chance, chance * (1.6 + 0.3 * rng.standard_normal(298))]  # 8.0, 6.3, then 6-21
    c = ctx(reference_loss=chance, loop={"optimizer": None})
    f = next(f for f in diagnose(history(thrown), c).findings if f.problem == "lr_too_high")
    assert f.evidence["above_chance"] and f.detected_at == 100 and "1.6x the chance level" in f.message
    recovers = np.r_[chance, chance * (2.0 + 0.1 * rng.standard_normal(99)), chance * np.linspace(1.5, 0.6, 200)]
    assert not any(f.evidence.get("above_chance") for f in diagnose(history(recovers), c).findings)
    started_high = chance * (1.6 + 0.3 * rng.standard_normal(300))  # the init's, not the updates'
    assert not any(f.evidence.get("above_chance") for f in diagnose(history(started_high), c).findings)


def test_layers_whose_gradient_fell_to_exactly_zero_behind_a_live_output_layer_are_dead_units():
    """The spatial transformer tutorial under SGD at 100x: conv1, conv2 and fc1 at exactly 0 from step 51 (F.relu, which
    no activation hook sees, silenced everything before fc2), fc2 alone learning, the loss at ln 10.  A path that goes
    quiet while the loss falls, or one at 0 from the start (an identity-initialized branch), is not a dead network."""
    T = 300
    grad = np.ones((T // 10, 3))
    grad[5:, :2] = 0.0  # fc1, fc2 exactly 0 from step 51; out alive
    c = ctx(reference_loss=0.69, lr=1.0, loop={"optimizer": "SGD"})
    f = next(f for f in diagnose(history(flat(T), grad=grad), c).findings if f.problem == "dead_units")
    assert f.evidence["silenced"] and f.layers == ["fc1", "fc2"] and f.step == 51 and f.detected_at == 71
    assert not any(f.evidence.get("silenced") for f in diagnose(history(learning(T), grad=grad), c).findings)
    zero_from_start = np.ones((T // 10, 3))
    zero_from_start[:, 0] = 0.0
    assert not any(f.evidence.get("silenced") for f in diagnose(history(flat(T), grad=zero_from_start), c).findings)


def test_sgd_momentum_lengthens_the_step_a_rate_is_judged_by():
    """The 60-minute blitz's classifier, SGD at 0.001 with momentum 0.9, sat at chance for 350 steps and then trained
    to 0.96: its steps are those of SGD at 0.01, the usual rate.  At 5e-4 with momentum 0.9 its steps are 2x below it,
    still usual; without momentum 20x below, far outside it.  (Plain SGD at 0.001, exactly 10x below, is the edge of
    the usual range: see Thresholds.lr_far_below.)"""
    slow_start = np.r_[flat(350, level=2.30), 2.30 * np.exp(-np.arange(50) / 20)]
    for lr, momentum, low in ((1e-3, 0.9, False), (5e-4, 0.9, False), (5e-4, 0.0, True), (5e-4, None, True),
                              (1e-3, None, False)):
        c = ctx(reference_loss=2.30, lr=lr, loop={"optimizer": "SGD", "momentum": momentum})
        found = "lr_too_low" in diagnose(history(slow_start, update=6e-4), c).problems
        assert found == low, (lr, momentum)


def test_unscaled_inputs_that_cost_nothing_the_loss_shows_move_to_the_notes():
    """Raw inputs of scale 1e4 are reported at once (unscaled_extreme) and stay reported while the loss is far from
    fitted; once the run has ended below fitted_share (5%) of chance the scale cost it nothing the loss shows: said in
    the notes, with the fix, not as a finding (raw 0..255 pixels into CNNs that ended at 1-4% of chance, as accurate as
    on scaled pixels)."""
    inputs = np.array([[5e3, 0.1], [1.2e4, 0.5]])[None]
    T = 400
    fitted = np.log(2) * np.exp(-np.arange(T) / 40)  # ends at 5e-5 of ln 2
    d = diagnose(history(fitted, inputs=inputs), ctx(reference_loss=np.log(2)))
    assert d.findings == []
    assert any("input feature 0 has std 1.2e+04" in n and "scale the inputs" in n for n in d.notes)
    half = np.log(2) * (0.5 + 0.5 * np.exp(-np.arange(T) / 40))  # ends at half of chance: still reported
    assert "unscaled_inputs" in diagnose(history(half, inputs=inputs), ctx(reference_loss=np.log(2))).problems
    live = diagnose(history(fitted[:60], inputs=inputs), ctx(reference_loss=np.log(2)))  # early, at 0.2 of chance
    assert "unscaled_inputs" in live.problems
