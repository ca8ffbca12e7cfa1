"""Issue 8: the doctor judges from the network and knows "chance level" without being told.

Hand-made histories test each new rule at its threshold; small real loops test the own-loop
items the doctor owns (the rate in force when a problem began, the first-steps baseline,
lr_too_low over vanishing, remedies in the loop's own terms)."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import gradmedic
from gradmedic.doctor.diagnose import Context, diagnose, infer_chance
from gradmedic.measure.history import ACT_STATS, LAYER_STATS, OUT_STATS, Chunk, History

LAYERS = ["fc1", "fc2", "out"]


def hist(loss, grad=1.0, update=1e-3, out=None, acts=None, kinds=(), lr=None, every=10, weight=1.0, inputs=None):
    """A 3-layer history: per-step ``loss``; per sampled step the same grad norm, update ratio and weight norm in
    every layer (or arrays (S, 3)); ``out`` = (width, batch_spread, logit_range) for every sample; ``inputs`` = (mean,
    std) per input feature, (2, F), for every sample."""
    loss = np.asarray(loss, dtype=float)
    T = len(loss)
    st = np.arange(1, T + 1, every)
    S = len(st)
    layers = np.ones((S, 3, len(LAYER_STATS)))
    layers[:, :, LAYER_STATS.index("grad_norm")] = grad
    layers[:, :, LAYER_STATS.index("update_ratio")] = update
    layers[:, :, LAYER_STATS.index("weight_norm")] = weight
    o = (np.full((S, len(OUT_STATS)), np.nan) if out is None else np.asarray(out, float) if np.ndim(out) == 2
         else np.tile(np.asarray(out, float), (S, 1)))  # (per sample, when given as an (S, k) array)
    a = np.full((S, len(kinds), len(ACT_STATS)), np.nan) if acts is None else acts
    h = History(LAYERS, [f"act{i + 1}" for i in range(len(kinds))], list(kinds))
    lrs = np.full(T, np.nan) if lr is None else np.asarray(lr, float)
    x = np.zeros((S, 2, 0)) if inputs is None else np.tile(np.asarray(inputs, float), (S, 1, 1))
    h.append(Chunk(np.arange(1, T + 1), loss, st, layers, a, x, None, lrs, o))
    return h


def ctx(kinds=(), types=("Linear",) * 3, **kw):
    return Context(LAYERS, list(types), [f"act{i + 1}" for i in range(len(kinds))], list(kinds), **kw)


def noisy(level, T=400, noise=0.01, seed=0):
    return level + noise * np.random.default_rng(seed).standard_normal(T)


# -- chance level ------------------------------------------------------------------------------------
def test_chance_is_ln_c_when_the_loss_lies_within_the_logits_range():
    ln10 = math.log(10)
    chance, how = infer_chance(hist(noisy(2.3), out=(10, 0.5, 0.2)), ctx())
    assert chance == ln10 and "10 classes" in how
    # a 10-wide output whose loss is 44 with outputs in [0, 1] is no cross-entropy (a VAE's summed loss)
    assert infer_chance(hist(noisy(44.0), out=(10, 0.5, 1.0)), ctx()) == (None, "")
    # ... unless the logits span enough to explain it: |L - ln C| <= range + 10% of ln C
    assert infer_chance(hist(noisy(44.0), out=(10, 0.5, 45.0)), ctx())[0] == ln10
    assert infer_chance(hist(noisy(0.69), out=(1, 0.5, 0.1)), ctx())[0] == math.log(2)
    assert infer_chance(hist(noisy(2.3), out=(10, 0.5, 0.2)), ctx(reference_loss=1.5)) == (1.5, "given")
    assert infer_chance(hist(noisy(2.3), out=(10, 0.5, 0.2)), ctx(regression=True)) == (None, "")


def test_a_last_layer_at_its_optimum_for_a_constant_output_is_no_gradient_growth_through_depth():
    """PyTorchZeroToAll's sigmoid net drawn at std 1e-3 settles on the class prior: every input gets the same output,
    the last layer sits at its optimum for that constant input and its gradient falls below 1e-6, so the first layer's
    tiny 3.5e-5 is "240x the last one's".  That is no gradient growing layer by layer; with outputs that vary, it is."""
    grad = np.tile([3.5e-5, 5e-6, 1e-7], (50, 1))
    loss = np.r_[np.linspace(0.69, 0.644, 50), noisy(0.644, 450, 0.0005)]
    const = diagnose(hist(loss, grad=grad, out=(1, 0.001, 0.05)), ctx(lr=0.1, loop={"optimizer": "SGD"}))
    assert "exploding_gradients" not in const.problems and const.problems
    varying = diagnose(hist(loss, grad=grad, out=(1, 0.5, 0.05)), ctx(lr=0.1, loop={"optimizer": "SGD"}))
    assert "exploding_gradients" in varying.problems


def test_a_cross_entropy_summed_over_rows_has_no_chance_level_though_trained_samples_fit_ln_c():
    """graykode's Seq2Seq sums its cross-entropy over 6 word pairs: 20 = 6 ln 29 at step 1, far outside ln 29 +- the
    untrained logits' range 0.3, then near 0 with logits 5-9 wide, which any small loss fits.  The untrained sample
    decides: no chance level (so no "first loss 6x chance").  The mean over the same rows starts at ln 29 and keeps it."""
    S = 150
    rng = np.minimum(9.0, 0.3 + 4.0 * np.arange(S))  # (sampled every 10 steps: 0.3 at step 1, 4.3 at step 11, ...)
    out = np.stack([np.full(S, 29.0), np.full(S, 0.5), rng], axis=1)
    summed = 20.2 * np.exp(-np.arange(1500) / 30.0) + 0.002
    assert infer_chance(hist(summed, out=out), ctx()) == (None, "")
    assert infer_chance(hist(summed / 6, out=out), ctx())[0] == pytest.approx(math.log(29))


def _digits():
    """scikit-learn's digits, standardized per feature: (x, y)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor((d.data - d.data.mean(0)) / (d.data.std(0) + 1e-8), dtype=torch.float32)
    return x, torch.tensor(d.target)


def _digits_train(model, loss_fn, steps):
    """``model`` on digits under Adam 1e-2 in batches of 128, watched every 10 steps: (monitor, x)."""
    x, y = _digits()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    with gradmedic.watch(model, opt, every=10) as mon:
        for i in range(steps):
            b = slice((i * 128) % 1664, (i * 128) % 1664 + 128)
            opt.zero_grad()
            loss = loss_fn(model(x[b]), y[b])
            loss.backward()
            mon.step(loss)
            opt.step()
    return mon, x


def _digits_loop(head, steps=150):
    """A 64-32-10 MLP on scikit-learn's digits ending in the module ``head``, then NLLLoss, watched every 10 steps."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10), head)
    return _digits_train(model, F.nll_loss, steps)[0]


class _Head(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, z):
        return self.fn(z, dim=1)


def _per_pixel_classifier(steps: int = 150):
    """Two convs classifying every pixel of 8x8 two-channel images into 4 classes (the signs of its two channels):
    F.cross_entropy over the (N, 4, H, W) output, as a segmentation net or PixelCNN's 256 levels."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 2, 8, 8, generator=g)
    y = (x[:, 0] > 0).long() + 2 * (x[:, 1] > 0).long()
    net = nn.Sequential(nn.Conv2d(2, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 4, 1))
    return _cross_entropy_loop(net, x, y, steps, batch=32, wrap=256, lr=1e-2)


def _cross_entropy_loop(model, x, y, steps, batch, wrap, lr):
    """``model`` trained by Adam at ``lr`` on F.cross_entropy over consecutive batches of (x, y) starting at i * batch
    modulo ``wrap``, watched every 10 steps."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    with gradmedic.watch(model, opt, every=10) as mon:
        for i in range(steps):
            b = slice(i * batch % wrap, i * batch % wrap + batch)
            opt.zero_grad()
            loss = F.cross_entropy(model(x[b]), y[b])
            loss.backward()
            mon.step(loss)
            opt.step()
    return mon


def _full_batch_loop(model, opt, loss_of, steps, every):
    """``model`` stepped ``steps`` times by ``opt`` on the loss ``loss_of(model)`` (one full batch), watched every
    ``every`` steps; the monitor, closed."""
    with gradmedic.watch(model, opt, every=every) as mon:
        for _ in range(steps):
            loss = loss_of(model)
            opt.zero_grad()
            loss.backward()
            mon.step(loss)
            opt.step()
    return mon


def test_a_convolution_output_is_read_with_its_channels_as_the_outputs():
    """A per-pixel classifier's logits are (N, C, H, W), and F.cross_entropy takes dim 1 for the classes: the output is
    read with C last, width 4 and chance ln 4 (jzbontar's PixelCNN was read as 8 outputs wide, its images' width, for 256
    levels, and given no chance level; public set 114), the gradient per pixel fitting a cross-entropy's at every sample."""
    mon = _per_pixel_classifier()
    assert np.all(mon.history.output("width") == 4)
    assert infer_chance(mon.history, Context.from_monitor(mon))[0] == pytest.approx(math.log(4))
    assert mon.history.loss[-20:].mean() < 0.3 * math.log(4) and mon.diagnose().problems == set()


def test_log_softmax_then_nll_is_a_cross_entropy_at_any_loss():
    """log_softmax then NLLLoss (pytorch/examples mnist, gcn): the gradient at the output is minus the one-hot target, norm
    1 at any loss, which fits neither bound of a loss over logits or over probabilities once the loss is low; a trained gcn
    had no chance level, so its rate blowing the loss to 190x ln 7 at step 2 went unseen."""
    mon = _digits_loop(_Head(F.log_softmax))
    og = mon.history.output("out_grad")
    assert np.allclose(og, 1.0, atol=1e-5) and mon.history.loss[-20:].mean() < 0.3
    assert infer_chance(mon.history, Context.from_monitor(mon))[0] == pytest.approx(math.log(10))
    # an output gradient of 1.6 at a loss of 0.3 is none of a cross-entropy's
    assert infer_chance(hist(np.linspace(2.3, 0.3, 300), out=(10, 0.5, 3.0, 1.6)), ctx()) == (None, "")
    # a loss over a mask of rows (gat, gcn: the training nodes) need not lie within ln C +- the range of the first rows
    # recorded; a gradient that is exactly each row's one-hot at every sample still says NLL over log-probabilities
    blown = np.r_[1.95, np.full(299, 90.0)]
    assert infer_chance(hist(blown, out=(7, 0.8, 20.0, 1.0)), ctx())[0] == pytest.approx(math.log(7))
    assert infer_chance(hist(blown, out=(7, 0.8, 20.0, 0.7)), ctx()) == (None, "")


def test_nll_given_probabilities_is_a_wrong_loss():
    """F.softmax in place of F.log_softmax before NLLLoss (pytorch/examples gcn; a classic "my loss is negative"
    question): the loss is -mean p_y, in [-1, 0], and each row hands back its one-hot.  Reported as the loss's doing,
    with log_softmax as the remedy; the same net with log_softmax is silent."""
    from gradmedic.doctor.diagnose import Thresholds, _Loss, _nll_on_probabilities
    mon = _digits_loop(_Head(F.softmax))
    f = _nll_on_probabilities(mon.history, Context.from_monitor(mon), _Loss(mon.history, Thresholds(), None))
    assert f is not None and f.evidence["nll_on_probabilities"] and f.detected_at <= 30
    wrong = mon.diagnose()  # a finding, or - this loop fits its digits through it to -0.9x (floor_fit) - a note
    said = [g.message for g in wrong.findings if g.problem == "saturated_loss"] + wrong.notes
    assert any("-p_y" in m and "log_softmax" in m for m in said)
    assert _digits_loop(_Head(F.log_softmax)).diagnose().findings == []


def test_nll_given_probabilities_that_still_fits_is_a_note():
    """-p_y is at least -1; a run that ends within floor_fit of it puts nearly all its probability on the right class
    (Schedule-Free AdamW's example with softmax before nll_loss ended at -0.95 to -1.0, 0.97-0.98 accurate; public set
    97): a note that says to use log_softmax, not a finding.  One that ends at -0.55 (pytorch/examples gcn, 0.60-0.69
    against 0.93) is still the finding."""
    def run(end):
        loss = np.r_[np.linspace(-0.1, end, 150), noisy(end, 250, 0.005)].clip(-1.0, 0.0)
        out = np.full((40, len(OUT_STATS)), np.nan)
        for k, v in {"width": 10, "batch_spread": 0.3, "logit_range": 0.9, "out_grad": 1.0}.items():
            out[:, OUT_STATS.index(k)] = v  # probabilities (range <= 1), each row handing back its one-hot (norm 1)
        return diagnose(hist(loss, out=out), ctx(lr=1e-3))

    fitted, stuck = run(-0.97), run(-0.55)
    assert "saturated_loss" in stuck.problems
    assert "saturated_loss" not in fitted.problems and any("-p_y" in n and "log_softmax" in n for n in fitted.notes)


def test_nll_given_raw_scores_is_a_wrong_loss_not_a_divergence():
    """No log_softmax at all before NLLLoss (the PyTorch tutorial's M5 audio net with it removed): the loss is -mean z_y,
    with no floor, and the network drives it to minus thousands.  The loss is what is wrong: reported with log_softmax as
    the remedy, and the loss's growth in size is not called exploding gradients or a rate too high."""
    d = _digits_loop(nn.Identity(), steps=200).diagnose()
    f = next(f for f in d.findings if f.problem == "saturated_loss")
    assert f.evidence["nll_on_scores"] and "raw scores" in f.message and "log_softmax on the scores" in f.remedies[0].change
    assert not d.problems & {"exploding_gradients", "lr_too_high", "non_finite"}


def test_a_one_output_squared_error_is_not_taken_for_a_binary_cross_entropy():
    """A regression with one output whose loss and output range happen to fit ln 2 +- range (241 of 416 MSE MLPs in the
    tuning corpus) was given the chance level ln 2.  The gradient it hands its output tells them apart: a cross-entropy
    over a logit hands each row 1 - p_y = 1 - exp(-loss_i), a squared error 2 |z - y|.  Real loops, no flag given."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(512, 6, generator=g)
    y_reg = (x[:, :2].sum(1, keepdim=True) + 0.5 * torch.randn(512, 1, generator=g)) / 1.5
    y_bin = (y_reg > 0).float()

    def run(loss_fn, squash=None):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 1), *([squash] if squash else []))
        opt = torch.optim.SGD(model.parameters(), lr=0.1)  # (the regression's loss falls into 0.1-0.4, |z| to 0.6-0.8)
        with gradmedic.watch(model, opt, every=5) as mon:
            for _ in range(60):
                j = torch.randint(0, 512, (64,), generator=g)
                opt.zero_grad()
                loss = loss_fn(model(x[j]), j)
                loss.backward()
                mon.step(loss)
                opt.step()
        return infer_chance(mon.history, Context.from_monitor(mon))

    # not ln 2: its targets' variance, 1 here, as the median over 12 samples of a variance of 32 rows (each about 25%
    # off either way: 0.83 from rows spread over the batch, 0.93 from its first 32)
    chance, how = run(lambda z, j: F.mse_loss(z, y_reg[j]))
    assert chance == pytest.approx(1.0, abs=0.25) and "targets' mean" in how
    assert run(lambda z, j: F.binary_cross_entropy_with_logits(z, y_bin[j]))[0] == math.log(2)
    assert run(lambda z, j: F.binary_cross_entropy(z, y_bin[j]), squash=nn.Sigmoid())[0] == math.log(2)


def test_recovery_is_judged_against_chance_and_a_divergence_is_not_forgiven():
    """A finding about a stall or a spike is dropped when the run ends below half of chance level and below its level
    then.  Against chance itself: an RNN that fell to 0.3 within 25 steps, spiked back to chance at step 175 and ended
    at 0.17 was flagged against its first quarter window (0.3).  A loss that rose 1000x over its minimum diverged and
    is kept however the run ends (RMSprop at 241x its rate: 1.1 -> 5461 at step 3, then 0.27)."""
    rng = np.random.default_rng(0)
    spike = np.r_[np.linspace(0.69, 0.3, 10), np.full(160, 0.06), np.full(30, 0.6), np.linspace(0.45, 0.17, 25)]
    spike = spike * np.exp(0.05 * rng.standard_normal(len(spike)))
    assert diagnose(hist(spike, every=5, out=(1, 0.5, 3.0)), ctx()).problems == set()
    boom = np.r_[1.1, 1500.0, 5461.0, 800.0, 50.0, 10.0, 3.0, np.linspace(2.0, 0.27, 60), np.full(320, 0.27)]
    boom = boom * np.exp(0.05 * rng.standard_normal(len(boom)))
    d = diagnose(hist(boom, every=5, out=(3, 0.5, 3.0)), ctx())
    assert "lr_too_high" in d.problems or "exploding_gradients" in d.problems


def test_a_gradient_killed_by_one_update_is_the_rate_not_the_wiring():
    """pytorch/examples siamese_network under Adadelta at 100x its rate: the loss jumped from 0.73 to 50 at step 2 (a BCE
    whose sigmoid output saturated at 0 and 1) and every gradient was exactly 0 from then on.  The gradient was there
    before the update: lr_too_high, not no_gradient (which contradicts a rate too high).  Zero from the first step is
    still no_gradient."""
    loss = np.r_[0.73, np.full(199, 50.0)]
    grad = np.zeros((20, 3))
    grad[0] = 0.8
    d = diagnose(hist(loss, grad=grad, update=np.r_[[np.nan] * 3, [0.0] * 57].reshape(20, 3)), ctx(lr=11.8))
    f = next(f for f in d.findings if f.problem == "lr_too_high")
    # (the earliest evidence wins: the loss never came back below 2x its first value, reported at step 26; the
    # gradient that died with it is the other finding's)
    assert "no_gradient" not in d.problems and "0.73" in f.message
    assert f.evidence.get("gradient_died") or "never came back" in f.message
    d = diagnose(hist(loss, grad=np.zeros((20, 3))), ctx(lr=11.8))
    assert "no_gradient" in d.problems


def test_settling_at_inferred_chance_is_learning_nothing():
    """Issue 8: a loss that starts above chance and settles at chance was taken for progress (the
    reference was the initial loss).  With ln 2 inferred, the stall at chance is a plateau, and serious."""
    loss = np.r_[np.linspace(1.0, 0.69, 100), noisy(0.693, 700, 0.002)]
    d = diagnose(hist(loss, out=(1, 0.5, 3.0)), ctx())
    f = next(f for f in d.findings if f.problem == "plateau")
    assert f.severity == "serious" and "chance-level loss 0.69" in f.message
    # the reference used to be the initial loss: 0.69 is 69% of 1.0, which looked like progress
    assert diagnose(hist(loss), ctx()).findings == []
    # starting 4x above chance and settling there: the initialization's doing, reported at once
    loss = np.r_[np.linspace(3.0, 0.69, 100), noisy(0.693, 700, 0.002)]
    f = diagnose(hist(loss, out=(1, 0.5, 3.0)), ctx()).findings[0]
    assert f.problem == "initial_loss_high" and f.severity == "serious" and f.detected_at == 2


def test_constant_predictor_is_a_plateau_within_two_windows():
    loss = np.r_[np.linspace(1.2, 0.9, 50), noisy(0.9, 250, 0.001)]
    d = diagnose(hist(loss, out=(3, 0.001, 0.01)), ctx())
    f = next(f for f in d.findings if f.problem == "plateau")
    assert f.evidence["constant_output"] and "same output" in f.message and f.detected_at <= 201
    # outputs that vary with the input at the same loss: no finding before plateau_windows
    assert diagnose(hist(loss, out=(3, 0.5, 0.01)), ctx()).findings == []


def test_a_constant_predictors_plateau_the_run_left_behind_is_not_reported():
    """PyTorchZeroToAll's sigmoid net on the diabetes table sits at the class prior's loss 0.64, every input given the
    same output, for 2000 steps, then learns to 0.47 - as far as that table allows, 0.68 of ln 2, above the usual
    "recovered" bar of half of chance.  Its outputs vary again and the loss ended a fifth or more below the plateau:
    the plateau was left behind, and the run is silent.  Stuck there to the end, or varying again at the same loss, it
    is reported."""
    T, every = 5000, 10
    S = len(range(1, T + 1, every))
    sat = np.r_[np.linspace(0.8, 0.64, 50), noisy(0.64, 1950, 0.001)]
    left = np.r_[sat, np.linspace(0.64, 0.47, 1500), noisy(0.47, 1500, 0.002)]
    spread = np.where(np.arange(S) < 200, 0.001, 0.3)
    out = np.stack([np.ones(S), spread, np.full(S, 0.2)], axis=1)
    assert diagnose(hist(left, out=out), ctx()).findings == []
    stuck = np.r_[sat, noisy(0.64, 3000, 0.001)]
    assert "plateau" in diagnose(hist(stuck, out=(1, 0.001, 0.2)), ctx()).problems
    barely = np.r_[sat, noisy(0.62, 3000, 0.001)]
    assert "plateau" in diagnose(hist(barely, out=out), ctx()).problems


def test_a_rate_far_below_usual_is_judged_within_the_first_window_from_where_the_loss_began():
    """A run under SGD at 1/1000 of its usual rate with no chance level (a loss whose kind the history does not show)
    creeps 9.28 -> 9.14 over 400 steps.  Under a rate far below usual the first window is judged from the first loss, so
    lr_too_low is said at step 61, not a window later (the PyTorch tutorials' LegendrePolynomial3 at 1/1000: 221 -> 61)."""
    loss = np.linspace(9.28, 9.14, 400) + noisy(0.0, 400, 0.005)
    d = diagnose(hist(loss, update=4e-4), ctx(lr=1e-5, loop={"optimizer": "SGD"}))
    f = next(f for f in d.findings if f.problem == "lr_too_low")
    assert f.detected_at <= 70 and "in 59 steps" in f.message  # (from the median of steps 1-3, at step 2)


# -- new problem codes ------------------------------------------------------------------------------
def test_no_gradient_when_every_layer_gets_exactly_zero():
    d = diagnose(hist(noisy(7.0, 200), grad=0.0, update=0.0), ctx(lr=0.1))
    f = next(f for f in d.findings if f.problem == "no_gradient")
    assert f.severity == "critical" and f.detected_at == 21 and f.step == 1  # three sampled steps in a row
    # the doctor does not also blame the rate: lr_too_low is its consequence
    assert d.problems == {"no_gradient"}
    assert any("detach" in r.change for r in f.remedies)
    # a layer frozen part-way (NaN: not measured from then on) is not a zero gradient
    g = np.full((20, 3), 0.5)
    g[5:, 0] = np.nan
    assert diagnose(hist(noisy(0.5, 200), grad=g), ctx()).findings == []


def test_a_loss_that_is_zero_from_its_first_step_with_zero_gradients_is_no_gradient():
    """Keras's Dense(1, softmax) under categorical cross-entropy: the loss is 0 for every input from step 1 and every
    gradient is 0 - not a fit (a run that fell from 0.7 to 0 is one, and stays silent)."""
    d = diagnose(hist(np.full(300, 7.5e-8), grad=0.0, update=0.0, out=(1, 0.0, 1.0)), ctx())
    assert d.problems == {"no_gradient"}
    fitted = np.r_[np.linspace(0.7, 0.0, 100), np.zeros(200)]
    g = np.r_[np.ones(10), np.zeros(20)][:, None] * np.ones(3)
    assert "no_gradient" not in diagnose(hist(fitted, grad=g, update=0.0, out=(1, 0.5, 30.0)), ctx()).problems


def test_a_layer_that_never_gets_a_gradient_is_disconnected():
    """A .detach() in forward: the layers before it never receive a gradient while the rest learn."""
    g = np.full((30, 3), 0.5)
    g[:, 0] = np.nan
    falling = 2.3 * np.exp(-np.arange(300) / 100) + 0.2
    f = diagnose(hist(falling, grad=g), ctx()).findings[0]
    assert (f.problem, f.severity, f.layers) == ("no_gradient", "warning", ["fc1"]) and "never received a gradient" in f.message
    f = diagnose(hist(noisy(2.3, 300, 0.001), grad=g), ctx(reference_loss=2.3)).findings[0]
    assert (f.problem, f.severity) == ("no_gradient", "serious")


def test_unscaled_regression_target_when_training_suffers():
    """A squared error that starts at 1e4 with outputs of scale 0.2: targets ~100 (seed 004's regression)."""
    stuck = noisy(9000.0, 300, 500.0)
    f = next(f for f in diagnose(hist(stuck, out=(1, 0.5, 0.2)), ctx()).findings if f.problem == "unscaled_target")
    assert "about 95 in size" in f.message and f.remedies[0].spec_change == {"standardize_target": True}
    learning = 9000.0 * np.exp(-np.arange(300) / 30) + 1.0
    assert diagnose(hist(learning, out=(1, 0.5, 0.2)), ctx()).findings == []  # large targets, learning well: silent
    # a model trained against another: its targets are the game's labels, never a user's data (d2l's DCGAN sums its BCE
    # over 256 samples, 177 at the start, read as targets of scale 13 on all its healthy runs; public set 105)
    game = diagnose(hist(stuck, out=(1, 0.5, 0.2)), ctx(loop={"co_watched": 1, "optimizer": "Adam"}))
    assert "unscaled_target" not in game.problems
    # a loss far above the squared error its output gradient implies holds other terms (Bayes by Backprop's ELBO: a KL of
    # 57,000 beside a summed NLL of 230, read as targets of scale 240; public set 108): not a target's scale
    def with_implied(v):
        out = np.full((30, len(OUT_STATS)), np.nan)
        out[:, OUT_STATS.index("width")], out[:, OUT_STATS.index("batch_spread")] = 1, 0.5
        out[:, OUT_STATS.index("logit_range")], out[:, OUT_STATS.index("mse_implied")] = 0.2, v
        return diagnose(hist(stuck, out=out), ctx()).problems

    assert "unscaled_target" in with_implied(9000.0)  # the loss is the squared error its gradient implies
    assert "unscaled_target" not in with_implied(900.0)  # ten times it: something else is in the loss


def test_initial_loss_far_above_chance_only_when_it_stays_high():
    loss = np.r_[np.linspace(20.0, 2.5, 50), noisy(2.4, 350)]
    d = diagnose(hist(loss, out=(10, 0.5, 40.0)), ctx())
    f = next(f for f in d.findings if f.problem == "initial_loss_high")
    assert f.step == 2 and "8.5x the chance level 2.3" in f.message and "steps 1-3 (median)" in f.message
    recovering = np.r_[np.linspace(20.0, 0.3, 50), noisy(0.2, 350)]
    assert "initial_loss_high" not in diagnose(hist(recovering, out=(10, 0.5, 40.0)), ctx()).problems


def test_a_first_loss_far_above_chance_from_fan_in_weights_is_the_losss_not_the_inits():
    """ArcFace's margin head, s cos(theta + m), puts the target's logit near -14 from step 1: a first loss of 9-18
    against ln 10 from xavier weights (rows of norm 1.4 at most) on unit-scale inputs, in healthy runs too.  Weights
    drawn far larger than a fan-in init make such a start (initial_loss_high); weights at a fan-in scale do not."""
    loss = np.r_[np.linspace(20.0, 2.5, 50), noisy(2.4, 350)]
    large = diagnose(hist(loss, out=(10, 0.5, 40.0)), ctx(weight_gain=[11.0, 1.0, 0.6]))
    assert "initial_loss_high" in large.problems
    fan_in = diagnose(hist(loss, out=(10, 0.5, 40.0)), ctx(weight_gain=[1.4, 1.0, 0.6]))
    assert "initial_loss_high" not in fan_in.problems


def test_a_run_shorter_than_a_window_is_judged_at_its_end():
    """yunjey's BatchNorm CNN with N(0, 1) weights ran 90 steps: 28x chance at its start, above chance at its end.  A
    run as short that ends well below chance is healthy; one that ends too soon to tell (a quarter window) says nothing."""
    stuck = np.r_[np.linspace(65.0, 3.0, 80), noisy(2.9, 10)]
    f = next(f for f in diagnose(hist(stuck, out=(10, 0.5, 100.0)), ctx()).findings if f.problem == "initial_loss_high")
    assert "88 steps later it is 4.6" in f.message  # (the median of its last quarter window)
    learned = np.r_[np.linspace(65.0, 0.3, 60), noisy(0.2, 30)]
    assert "initial_loss_high" not in diagnose(hist(learned, out=(10, 0.5, 100.0)), ctx()).problems
    assert "initial_loss_high" not in diagnose(hist(np.linspace(65.0, 20.0, 20), out=(10, 0.5, 100.0)), ctx()).problems


def _relu_head(relu_on_logits: bool) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10), *([nn.ReLU()] if relu_on_logits else []))


def _relu_head_loop(relu_on_logits: bool, steps=200):
    """A 64-32-10 MLP on scikit-learn's digits under Adam 1e-2 and F.cross_entropy, with or without a ReLU on its
    logits (Lightning's image classifier example as written)."""
    return _digits_train(_relu_head(relu_on_logits), F.cross_entropy, steps)


def test_a_relu_on_the_logits_is_dead_units_at_the_output():
    from gradmedic.measure.monitor import ACT_SAMPLES

    mon, x = _relu_head_loop(True)
    z = mon.history.output("zero_nonneg")
    with torch.no_grad():  # step 1's statistic against plain PyTorch: the untrained model's output on the first batch,
        out = _relu_head(True)(x[:128])[:: 128 // ACT_SAMPLES]  # at the ACT_SAMPLES rows spread over it (every 4th)
    assert z[0] == pytest.approx(float((out == 0).float().mean())) and (z[4:] >= 0.7).all()  # (0.59 at step 1)
    d = mon.diagnose()
    f = next(f for f in d.findings if f.problem == "dead_units" and f.evidence.get("output_relu"))
    assert f.layers == ["output"] and f.detected_at <= 150 and "never negative" in f.message
    assert "remove the ReLU" in f.remedies[0].change and "no_gradient" not in d.problems
    healthy, _ = _relu_head_loop(False)
    assert (healthy.history.output("zero_nonneg") == 0).all() and healthy.diagnose().findings == []


# -- the rate ---------------------------------------------------------------------------------------
def test_loss_ten_times_chance_is_lr_too_high_at_that_step():
    loss = np.r_[noisy(2.3, 15), [30.0], noisy(2.3, 100)]
    d = diagnose(hist(loss, out=(10, 0.5, 40.0)), ctx(lr=3.0))
    f = next(f for f in d.findings if f.problem == "lr_too_high")
    assert f.step == f.detected_at == 16 and "13x the chance level" in f.message


def test_an_early_spike_the_run_recovers_from_is_not_reported_at_the_end():
    """A healthy CNN at SGD 0.07 spiked to 22x chance at step 3 and ended at 0.95 accuracy: the jump is reported while
    it lasts, and dropped once the loss ends below half of chance; a run that stays above stays flagged."""
    spike = np.r_[noisy(2.3, 3), [50.0], noisy(2.3, 30)]
    early = diagnose(hist(spike, out=(10, 0.5, 60.0)), ctx(lr=0.07))
    assert "lr_too_high" in early.problems
    recovered = np.r_[spike, np.linspace(2.3, 0.3, 150), noisy(0.3, 200)]
    assert diagnose(hist(recovered, out=(10, 0.5, 60.0)), ctx(lr=0.07)).problems == set()
    stays = np.r_[spike, np.linspace(2.3, 1.5, 150), noisy(1.5, 200)]  # 65% of chance at the end: not recovered
    assert "lr_too_high" in diagnose(hist(stays, out=(10, 0.5, 60.0)), ctx(lr=0.07)).problems


def test_at_chance_with_every_gradient_fading_is_a_saturated_loss():
    """Probabilities fed to CrossEntropyLoss: the loss stays at chance while every layer's gradient fades (a tiny GPT:
    70x in 300 steps) - whatever the rate; with gradients that stay as they were it is not reported."""
    T = 300
    loss = noisy(math.log(65) - 0.1, T, 0.02)
    fading = np.geomspace(1.0, 1e-3, len(np.arange(1, T + 1, 10)))[:, None] * np.ones(3)
    d = diagnose(hist(loss, grad=fading, update=3e-3, out=(65, 0.5, 15.0)), ctx(lr=3e-3, loop={"optimizer": "Adam"}))
    assert d.problems == {"saturated_loss"}
    f = d.findings[0]
    assert f.detected_at - f.step <= 100
    assert "softmax" in f.remedies[0].change.lower() and "CrossEntropyLoss" in f.remedies[0].snippet
    steady = diagnose(hist(loss, grad=1.0, update=3e-3, out=(65, 0.5, 15.0)), ctx(lr=3e-3, loop={"optimizer": "Adam"}))
    assert "saturated_loss" not in steady.problems
    # a loss far above chance + 1 nat is a blow-up recovering, not a cross-entropy over squashed outputs
    high = diagnose(hist(loss * 3, grad=fading, update=3e-3, out=(65, 0.5, 15.0)), ctx(lr=3e-3, loop={"optimizer": "Adam"}))
    assert "saturated_loss" not in high.problems


def test_a_rate_far_below_the_optimizers_usual_one_is_blamed_within_a_window():
    """Adam at 1/35 of its usual 1e-3 moves its largest layer 4e-4 per step (above lr_low_stall 1e-4) and sits at
    chance: with the rate itself as evidence the doctor says lr_too_low within 100 steps; at Adam's usual rate the
    same updates at chance are not blamed on the rate."""
    loss = noisy(math.log(10), 300, 0.01)
    low = diagnose(hist(loss, update=4e-4, out=(10, 0.5, 0.2)), ctx(lr=1e-3 / 35, loop={"optimizer": "Adam"}))
    f = next(f for f in low.findings if f.problem == "lr_too_low")
    assert f.detected_at <= 110 and f.evidence["rate_far_below"]
    usual = diagnose(hist(loss, update=4e-4, out=(10, 0.5, 0.2)), ctx(lr=1e-3, loop={"optimizer": "Adam"}))
    assert "lr_too_low" not in usual.problems


def test_a_regression_crawling_under_a_rate_far_below_usual_is_lr_too_low():
    """Seed 12's regression MLP under Adam at 1/22 of its usual rate: its layers moved 2-3e-4 per step (Adam's step is
    about its rate) and the loss sat at 0.9 of its first for 480 steps.  No chance level: the first loss is the
    yardstick.  The same crawl at Adam's usual rate is not the rate's."""
    loss = np.r_[1.14, noisy(1.0, 479, 0.05)]
    low = diagnose(hist(loss, update=2.5e-4), ctx(lr=4.5e-5, regression=True, loop={"optimizer": "Adam"}))
    assert "lr_too_low" in low.problems
    usual = diagnose(hist(loss, update=2.5e-4), ctx(lr=1e-3, regression=True, loop={"optimizer": "Adam"}))
    assert "lr_too_low" not in usual.problems
    fast = diagnose(hist(loss, update=2e-3), ctx(lr=4.5e-5, regression=True, loop={"optimizer": "Adam"}))
    assert "lr_too_low" not in fast.problems  # layers moving the healthy 1e-3 are not starved by the rate


def test_a_crawl_that_ends_low_under_a_rate_still_far_below_usual_is_still_the_rates():
    """Seed 16's regression MLP under Adam at 1/20: at its first loss for 250 steps, then down to 0.44 of it, 12x its
    counterfactual's.  Ending below half the reference counts as recovered, but not while the rate that starved it is
    still far below usual at the end; a run whose rate was raised back to usual has recovered."""
    loss = np.r_[noisy(1.0, 250, 0.03), np.linspace(1.0, 0.42, 134)]
    kw = dict(regression=True, loop={"optimizer": "Adam"})
    still = diagnose(hist(loss, update=5e-4, lr=np.full(384, 5e-5)), ctx(lr=5e-5, **kw))
    f = next(f for f in still.findings if f.problem == "lr_too_low")
    assert f.detected_at <= 110 and f.evidence["rate_far_below"]
    raised = diagnose(hist(loss, update=5e-4, lr=np.r_[np.full(250, 5e-5), np.full(134, 1e-3)]), ctx(lr=1e-3, **kw))
    assert "lr_too_low" not in raised.problems
    # ... and a run that fell all the way, below fitted_share (5%) of its reference, was not held back by it (rasbt's
    # chapter-6 classifier fine-tuned at AdamW's 5e-5: at chance for 60 steps, then 0.01-0.03 of it; public set 33)
    fitted = np.r_[noisy(1.0, 250, 0.03), np.geomspace(1.0, 0.02, 134)]
    assert "lr_too_low" not in diagnose(hist(fitted, update=5e-4, lr=np.full(384, 5e-5)), ctx(lr=5e-5, **kw)).problems


def test_a_schedule_decayed_to_zero_is_not_a_rate_set_too_low():
    """The Hugging Face Trainer decays the rate linearly to 0: a run stuck for another reason (GPT-2 with N(0, 1) weights)
    ends under a rate 10x below any usual one, and was told lr_too_low at step 511 of 531.  A rate is far below usual
    only if the rate the run was set to (its peak) is."""
    loss = np.r_[1.14, noisy(1.0, 529, 0.02)]
    kw = dict(regression=True, loop={"optimizer": "AdamW"})
    decayed = diagnose(hist(loss, update=2.5e-4, lr=np.linspace(2e-3, 0.0, 530)), ctx(lr=0.0, **kw))
    assert "lr_too_low" not in decayed.problems
    set_low = diagnose(hist(loss, update=2.5e-4, lr=np.linspace(5e-5, 0.0, 530)), ctx(lr=0.0, **kw))
    assert "lr_too_low" in set_low.problems


def _raw_digits_loop(model):
    """``model`` on scikit-learn's 8x8 digits in raw 0..16 values x16 (0..255, no scaling); 30 steps of Adam."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.data.reshape(-1, 1, 8, 8) * 16.0, dtype=torch.float32)
    y = torch.tensor(d.target)
    return _cross_entropy_loop(model, x, y, 30, batch=64, wrap=1728, lr=1e-3).diagnose()


def _conv_stem(stem):
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), stem, nn.ReLU(), nn.Flatten(), nn.Linear(512, 10))


def test_raw_pixels_into_a_conv_normalized_right_away_are_not_reported_before_harm():
    """Raw 0..255 pixels are reported at once (unscaled_extreme), unless the first layer is a conv or linear map followed
    by a norm layer, or a norm layer itself: BatchNorm divides the scale away (yunjey's tutorial ResNet on raw pixels:
    0.96-0.98 accuracy against 0.96 on [0, 1], twice reported), and so does a LayerNorm over the raw input
    (lucidrains' SimpleViT normalizes each patch: raw pixels trained exactly as [0, 1])."""
    assert "unscaled_inputs" in _raw_digits_loop(_conv_stem(nn.Identity())).problems
    assert "unscaled_inputs" not in _raw_digits_loop(_conv_stem(nn.BatchNorm2d(8))).problems
    torch.manual_seed(0)
    norm_first = nn.Sequential(nn.Flatten(), nn.LayerNorm(64), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    assert "unscaled_inputs" not in _raw_digits_loop(norm_first).problems
    # a norm layer the program wrote itself, known by its class name (d2l's BatchNorm LeNet on raw pixels: as [0, 1])
    assert "unscaled_inputs" not in _raw_digits_loop(_conv_stem(BatchNorm())).problems
    # a conv the program subclassed (jzbontar's PixelCNN: MaskedConv2d(nn.Conv2d), then BatchNorm) is a conv stem too
    torch.manual_seed(0)
    masked = nn.Sequential(MaskedConv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(),
                           nn.Linear(512, 10))
    with gradmedic.watch(masked) as mon:
        assert mon.layer_types[0] == "Conv2d"
    assert "unscaled_inputs" not in _raw_digits_loop(masked).problems
    # and a norm layer with no parameters of its own, which is no layer in the list (lukasruff's Deep SVDD LeNet: a
    # bias-free conv, then BatchNorm2d(affine=False)); InstanceNorm2d has none by default
    for norm in (nn.BatchNorm2d(8, affine=False), nn.InstanceNorm2d(8)):
        stem = _conv_stem(norm)
        with gradmedic.watch(stem) as mon:
            assert mon.loop_facts["norm_after"] == ["0"] and mon.layer_names == ["0", "4"]
        assert "unscaled_inputs" not in _raw_digits_loop(stem).problems


class MaskedConv2d(nn.Conv2d):
    """jzbontar's PixelCNN mask, type A: each output sees only the pixels above and to the left of its centre."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register_buffer("mask", torch.ones_like(self.weight))
        _, _, kh, kw = self.weight.shape
        self.mask[:, :, kh // 2, kw // 2:] = 0
        self.mask[:, :, kh // 2 + 1:] = 0

    def forward(self, x):
        self.weight.data *= self.mask
        return super().forward(x)


class BatchNorm(nn.Module):
    """d2l's BatchNorm written out (batch statistics in training; per channel, with a learned scale and shift)."""

    def __init__(self, channels: int = 8):
        super().__init__()
        self.gamma, self.beta = nn.Parameter(torch.ones(1, channels, 1, 1)), nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x):
        mean, var = x.mean(dim=(0, 2, 3), keepdim=True), x.var(dim=(0, 2, 3), keepdim=True, unbiased=False)
        return self.gamma * (x - mean) / torch.sqrt(var + 1e-5) + self.beta


def test_sustained_huge_updates_with_a_stall_above_chance():
    loss = noisy(1.8, 400, 0.05)
    d = diagnose(hist(loss, update=0.3, out=(10, 0.5, 5.0)), ctx(lr=0.5))
    assert "lr_too_high" in d.problems
    assert diagnose(hist(loss, update=0.05, out=(10, 0.5, 5.0)), ctx(lr=0.5)).problems == set()


def test_lr_cited_is_the_rate_when_the_problem_began():
    """Own-loop item 2: StepLR cut the rate after the run diverged; the message and remedy cite 3.0."""
    loss = np.r_[noisy(2.3, 50), np.full(50, 80.0), noisy(2.3, 100)]
    lr = np.r_[np.full(100, 3.0), np.full(100, 3e-4)]
    d = diagnose(hist(loss, out=(10, 0.5, 100.0), lr=lr), ctx(lr=3e-4))
    f = next(f for f in d.findings if f.problem == "lr_too_high")
    assert "at lr 3" in f.message and f.remedies[0].change == "lower the learning rate from 3 to 0.3"


def test_a_blow_up_in_the_first_steps_is_not_the_baseline():
    """Own-loop item 6: with the median of steps 1-3 as the baseline, a loss 2, 50, 1e4, ... hid its rise."""
    loss = np.r_[[2.0, 50.0, 1e4], np.full(60, 1e4)]
    d = diagnose(hist(loss, every=1), ctx(regression=True))
    f = next(f for f in d.findings if f.problem == "exploding_gradients")
    assert f.evidence["initial_loss"] == 2.0


def test_lr_too_low_is_the_cause_not_vanishing_gradients():
    """Own-loop item 9: tiny updates everywhere explain the stall; the depth profile is secondary."""
    g = np.tile([1e-4, 1e-2, 1.0], (40, 1))
    d = diagnose(hist(noisy(0.69, 400, 0.001), grad=g, update=1e-7), ctx(lr=1e-6, reference_loss=0.69))
    assert "lr_too_low" in d.problems and "vanishing_gradients" not in d.problems


def test_a_depth_profile_kept_by_a_rate_far_below_usual_is_the_rates():
    """SASRec at 1/1000 of Adam's rate: its first attention layer gets 350-1300x its last layer's gradient all along -
    the untrained network's profile (4454x at step 1 in every run, 2-5x after one update at its own rate), which steps
    that small never changed.  lr_too_low, not exploding_gradients.  The same profile at the usual rate stays."""
    g = np.tile([800.0, 1.0, 1.0], (40, 1))
    kw = dict(reference_loss=1.41, loop={"optimizer": "Adam"})
    slow = diagnose(hist(noisy(1.41, 400, 0.001), grad=g, update=1e-5), ctx(lr=1e-6, **kw))
    assert "lr_too_low" in slow.problems and "exploding_gradients" not in slow.problems
    usual = diagnose(hist(noisy(1.41, 400, 0.001), grad=g, update=1e-5), ctx(lr=1e-3, **kw))
    assert "exploding_gradients" in usual.problems and "lr_too_low" not in usual.problems


def test_a_wholly_silent_branch_is_judged_by_the_share_of_the_whole_model():
    """A neural additive model sums thirty feature nets; one was wholly silent from step 1 in every healthy run.  A
    wholly silent layer that layers registered before it still learn around is one branch among others: judged by the
    share of silent units over the model (here 1 of 2 layers: at the threshold, silent).  On the only path, every layer
    before it gets exactly no gradient: a whole layer silent, serious."""
    acts = np.full((40, 2, len(ACT_STATS)), np.nan)
    acts[:, 0, ACT_STATS.index("dead_frac")] = 0.0
    acts[:, 1, ACT_STATS.index("dead_frac")] = 1.0
    falling = 2.3 * np.exp(-np.arange(400) / 200) + 0.1

    def units(grad):
        h = hist(falling, acts=acts, kinds=["relu", "relu"], grad=np.tile(grad, (40, 1)))
        c = Context(LAYERS, ["Linear"] * 3, ["fc2.input", "out.input"], ["relu", "relu"])
        return next((f for f in diagnose(h, c).findings if f.problem == "dead_units"), None)

    assert units([1.0, 0.0, 1.0]) is None
    f = units([0.0, 0.0, 1.0])
    assert f is not None and f.severity == "serious" and "100% of the features entering out" in f.message


def test_dead_units_warn_while_the_loss_falls_and_turn_serious_when_it_stalls():
    acts = np.full((40, 1, len(ACT_STATS)), np.nan)
    acts[:, 0, ACT_STATS.index("dead_frac")] = 0.78
    falling = 2.3 * np.exp(-np.arange(400) / 200) + 0.1
    f = next(f for f in diagnose(hist(falling, acts=acts, kinds=["relu"]), ctx(["relu"])).findings if f.problem == "dead_units")
    assert f.severity == "warning" and "still falls" in f.message
    counted = hist(falling, acts=acts, kinds=["relu"])
    counted.act_units = [500]  # recorded by the monitor: the message counts the units that still fire
    f = next(f for f in diagnose(counted, ctx(["relu"])).findings if f.problem == "dead_units")
    assert "78% of the 500 units in act1 (110 still fire)" in f.message
    acts[:, 0, ACT_STATS.index("dead_frac")] = 0.6  # below dead_alone while learning: silent
    assert diagnose(hist(falling, acts=acts, kinds=["relu"]), ctx(["relu"])).findings == []
    acts[:3, 0, ACT_STATS.index("dead_frac")] = 0.3  # died after step 21: the stall is theirs
    stalled = diagnose(hist(noisy(0.69, 400, 0.001), acts=acts, kinds=["relu"]), ctx(["relu"], reference_loss=0.69))
    f = next(f for f in stalled.findings if f.problem == "dead_units")
    assert f.severity == "serious" and f.step == 31


def test_weights_carried_far_away_by_a_rate_far_above_usual_are_lr_too_high():
    """The seq2seq tutorial under Adam at 100x: the median layer's weight norm 20x its start by step 201, the loss
    well below its first (no chance level: NLL over a large vocabulary) - reported, and kept however the loss ends.  The
    same growth at Adam's usual rate, or 8x growth at 100x (pytorch/examples gcn with weight decay), is not."""
    loss = np.r_[np.linspace(3.7, 1.0, 100), noisy(1.0, 300, 0.1)]

    def grown(factor):
        return hist(loss, weight=np.geomspace(1.0, factor, 40)[:, None] * np.ones(3))

    kw = dict(weight_gain=[0.58] * 3, loop={"optimizer": "Adam"})
    f = next(f for f in diagnose(grown(40.0), ctx(lr=0.1, **kw)).findings if f.problem == "lr_too_high")
    assert f.evidence["weight_growth"] >= 20 and "100x Adam's usual 0.001" in f.message
    assert "lr_too_high" not in diagnose(grown(40.0), ctx(lr=1e-3, **kw)).problems
    assert "lr_too_high" not in diagnose(grown(8.0), ctx(lr=0.1, **kw)).problems
    # under SGD too (the BiLSTM-CRF tutorial at 1000x: layers grown 95-3400x), not at its usual rate
    sgd = dict(weight_gain=[0.58] * 3, loop={"optimizer": "SGD"})
    f = next(f for f in diagnose(grown(40.0), ctx(lr=10.0, **sgd)).findings if f.problem == "lr_too_high")
    assert "1000x SGD's usual 0.01" in f.message
    assert "lr_too_high" not in diagnose(grown(40.0), ctx(lr=0.01, **sgd)).problems


def test_layers_drawn_near_zero_and_thrown_past_any_init_are_lr_too_high():
    """SIREN under Adam at 100x: every layer drawn at rows of ~0.05 (left out of the median growth, as near-zero
    layers grow by design) grew 420x, to rows of 20, and the loss never fell.  A near-zero layer grown 60x to rows of 3
    (d2l's GAN discriminator head, healthy) is not reported, nor the same growth at Adam's usual rate."""
    loss = noisy(0.38, 300, 0.01)

    def grown(factor):
        return hist(loss, weight=np.geomspace(1.0, factor, 30)[:, None] * np.ones(3))

    kw = dict(weight_gain=[0.047] * 3, loop={"optimizer": "Adam"})
    f = next(f for f in diagnose(grown(420.0), ctx(lr=0.1, **kw)).findings if f.problem == "lr_too_high")
    # reported at the first sampled step past rows of 5 (0.047 x 106), not at the end
    assert 106 <= f.evidence["weight_growth"] < 150 and f.step < 300 and "past any fan-in initialization" in f.message
    assert "lr_too_high" not in diagnose(grown(420.0), ctx(lr=1e-3, **kw)).problems
    assert "lr_too_high" not in diagnose(grown(64.0), ctx(lr=0.1, **kw)).problems  # rows of 3: a fan-in's reach


def test_a_dead_units_warning_is_dropped_once_the_loss_has_fallen_all_the_way():
    """A layer 78% dead while the loss falls is a warning; once the run ends below fitted_share (5%) of its reference
    the silent units cost nothing the loss shows (yunjey's feedforward net at 10x: 71% dead, loss 0.8% of chance, 0.97
    accuracy) and it is not reported; at 17% of it (the issue's slow learner) it stays."""
    acts = np.full((40, 1, len(ACT_STATS)), np.nan)
    acts[:, 0, ACT_STATS.index("dead_frac")] = 0.78
    fitted = 2.3 * np.exp(-np.arange(400) / 50)
    assert diagnose(hist(fitted, acts=acts, kinds=["relu"]), ctx(["relu"])).findings == []
    live = diagnose(hist(fitted[:120], acts=acts[:12], kinds=["relu"]), ctx(["relu"]))  # mid-run, at 9% of its start
    assert [f.severity for f in live.findings if f.problem == "dead_units"] == ["warning"]
    slow = 2.3 * np.exp(-np.arange(400) / 200) + 0.1
    assert "dead_units" in diagnose(hist(slow, acts=acts, kinds=["relu"]), ctx(["relu"])).problems


def test_units_killed_by_one_oversized_step_under_a_high_rate_are_the_rates_doing():
    """An RNN's ReLU head killed between steps 21 and 31 by an update of 0.49 of its weights under SGD at 83x its usual
    rate (seed 14's LSTM without clipping): dead units and lr_too_high, whose remedies lower the rate and clip.  The
    same step at SGD's usual rate, or on weights drawn tiny (every update is large beside them), leaves the dead units
    alone; so does AdamW at 13x (its step is bounded by its rate: lr_far_above applies)."""
    acts = np.full((40, 1, len(ACT_STATS)), np.nan)
    acts[:, 0, ACT_STATS.index("dead_frac")] = 0.9
    acts[:3, 0, ACT_STATS.index("dead_frac")] = 0.3  # alive until step 21, dead from step 31
    update = np.full((40, 3), 2e-3)
    update[2, 2] = 0.49  # the update just before step 21
    flat = noisy(0.69, 400, 0.001)

    def run(lr, optimizer="SGD", gain=(0.57, 0.58, 0.61)):
        return diagnose(hist(flat, update=update, acts=acts, kinds=["relu"], lr=np.full(400, lr)),
                        ctx(["relu"], reference_loss=0.69, lr=lr, loop={"optimizer": optimizer}, weight_gain=list(gain)))

    high = run(0.83)
    f = next(f for f in high.findings if f.problem == "lr_too_high")
    assert f.step == 21 and f.layers == ["out"] and f.evidence["update_ratio"] == 0.49
    assert "dead_units" in high.problems
    assert any("clip" in r.change for r in f.remedies) and any("lower the learning rate" in r.change for r in f.remedies)
    for quiet in (run(0.01), run(0.83, gain=(0.01, 0.01, 0.01)), run(0.013, optimizer="AdamW")):
        assert "dead_units" in quiet.problems and "lr_too_high" not in quiet.problems


def test_a_layer_partly_silent_from_the_first_step_is_not_blamed_for_a_stall():
    """An untrained LSTM's last state barely varies across a batch, so a ReLU head on it starts 53-69% silent: its live
    units still learn, and a stall there has another cause (seed 12's GRU at 1/100 of its rate was reported as dead units).
    At dead_init_share (90%) from the first step - large negative biases - the stall is theirs."""
    acts = np.full((40, 1, len(ACT_STATS)), np.nan)
    acts[:, 0, ACT_STATS.index("dead_frac")] = 0.6
    flat = noisy(0.69, 400, 0.001)
    partly = diagnose(hist(flat, acts=acts, kinds=["relu"]), ctx(["relu"], reference_loss=0.69))
    assert "dead_units" not in partly.problems
    acts[:, 0, ACT_STATS.index("dead_frac")] = 0.9
    f = next(f for f in diagnose(hist(flat, acts=acts, kinds=["relu"]), ctx(["relu"], reference_loss=0.69)).findings
             if f.problem == "dead_units")
    assert f.severity == "serious" and f.step == 1


def test_every_problem_has_a_reason_and_a_prescription():
    from gradmedic.doctor.diagnose import PROBLEMS, REASONS
    from gradmedic.doctor.remedies import PRESCRIPTIONS, for_problem

    assert set(REASONS) == set(PROBLEMS) == set(PRESCRIPTIONS)
    for p in PROBLEMS:
        rs = for_problem(p, {"activation": "tanh"}, None, 0.1)
        assert rs and all(r.change and r.source for r in rs), p


def test_tanh_symmetry_under_watch_prescribes_glorot():
    """The activation comes from the watched modules: a tanh net's symmetric units get Glorot, not He."""
    h = hist(noisy(0.69, 50), kinds=["saturating"])
    c = Context(LAYERS, ["Linear"] * 3, ["act1"], ["saturating"], ["Tanh"], symmetric=[("fc1", 8, 0.0)])
    f = next(f for f in diagnose(h, c).findings if f.problem == "symmetric_units")
    assert f.remedies[0].spec_change == {"init": "glorot_uniform"} and "xavier_uniform_" in f.remedies[0].snippet


# -- remedies in the loop's terms (own-loop item 10) ----------------------------------------------------
def _diverging_loop(clip: float | None):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 4))
    opt = torch.optim.SGD(model.parameters(), lr=30.0)
    x, y = torch.randn(256, 8), torch.randint(0, 4, (256,))
    with gradmedic.watch(model, opt, every=5) as mon:
        for i in range(60):
            opt.zero_grad()
            loss = F.cross_entropy(model(x[i % 8 * 32:(i % 8 + 1) * 32]), y[i % 8 * 32:(i % 8 + 1) * 32])
            loss.backward()
            total = torch.nn.utils.clip_grad_norm_(model.parameters(), clip) if clip else None
            mon.step(loss, grad_norm=total)
            opt.step()
        return mon.diagnose()


def test_own_loop_remedies_are_snippets_not_spec_flags_and_know_the_loop_clips():
    d = _diverging_loop(None)
    text = str(d)
    assert d.findings and "[clip_norm=" not in text and "[lr=" not in text
    assert "clip_grad_norm_(model.parameters(), 1.0)" in text
    clipped = _diverging_loop(1.0)
    for f in clipped.findings:
        changes = [r.change for r in f.remedies]
        assert "clip the gradient norm to 1.0" not in changes, changes
    advice = [r.change for f in clipped.findings for r in f.remedies]
    assert any("already clips" in c for c in advice) or not any("clip" in c for c in advice)


def test_the_rate_is_recorded_per_step_also_as_a_tensor():
    """A scheduler's rate at each step (findings cite it); a tensor rate (capturable optimizers) is read at flush."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    for lr in (0.1, torch.tensor(0.1)):
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.StepLR(opt, 5, 0.5)
        with gradmedic.watch(model, opt, every=5) as mon:
            for _ in range(12):
                opt.zero_grad()
                loss = F.cross_entropy(model(torch.randn(16, 4)), torch.randint(0, 2, (16,)))
                loss.backward()
                mon.step(loss)
                opt.step()
                sched.step()
            mon.flush()
            np.testing.assert_allclose(mon.history.lr, [0.1] * 5 + [0.05] * 5 + [0.025] * 2)


class _Digits(nn.Module):
    """64-32-10 MLP on digits with a spare Linear: ``detach`` cuts fc1 off the loss; unless ``call_spare`` the spare
    layer is built but never called (morvan's bn_input in its net without batch norm)."""

    def __init__(self, detach=False):
        super().__init__()
        self.fc1, self.fc2, self.spare = nn.Linear(64, 32), nn.Linear(32, 10), nn.Linear(32, 32)
        self.detach = detach

    def forward(self, x):
        h = F.relu(self.fc1(x))
        return self.fc2(h.detach() if self.detach else h)


def _digits_run(model, steps=120):
    return _digits_train(model, F.cross_entropy, steps)[0]


def test_a_layer_built_but_never_called_is_unused_not_disconnected():
    torch.manual_seed(0)
    mon = _digits_run(_Digits())
    assert mon.loop_facts["unused_layers"] == ["spare"]
    d = mon.diagnose()
    assert "no_gradient" not in d.problems and any("spare never ran in a training pass" in n for n in d.notes)
    torch.manual_seed(0)
    cut = _digits_run(_Digits(detach=True)).diagnose()  # fc1 runs, but its output is detached: cut off from the loss
    f = next(f for f in cut.findings if f.problem == "no_gradient")
    assert f.layers == ["fc1"]


def test_a_summed_squared_error_is_read_per_element_not_as_large_targets():
    """jcjohnson's pytorch-examples fit: MSELoss(reduction='sum') over 64 x 10 outputs.  Its loss is 640 times the
    per-element error (the implied loss over the recorded one is the number of elements summed, at every step), so a
    loss of ~700 at unit-scale targets is no unscaled target; the same targets x100 still are."""
    from gradmedic.doctor.diagnose import _squared_error_scale

    def run(scale):
        g = torch.Generator().manual_seed(0)
        teacher = torch.randn(32, 10, generator=g) / 32 ** 0.5
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 10))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        with gradmedic.watch(model, opt, every=10) as mon:
            for _ in range(150):
                x = torch.randn(64, 32, generator=g)
                loss = nn.MSELoss(reduction="sum")(model(x), scale * (x @ teacher) * 3)
                opt.zero_grad()
                loss.backward()
                mon.step(loss)
                opt.step()
        return mon

    unit = run(1.0)
    assert _squared_error_scale(unit.history) == pytest.approx(64 * 10, rel=1e-3)
    assert "unscaled_target" not in unit.diagnose().problems
    f = next(f for f in run(100.0).diagnose().findings if f.problem == "unscaled_target")
    assert "the loss sums 640 of them" in f.message


def test_a_first_window_lost_at_100x_an_adaptive_rate_is_reported_after_the_loss_recovers():
    """lucidrains' MLP-Mixer under Adam at 0.1: at chance for ~90 steps, then down to 0.2 of it.  The window lost at
    100x stays reported; at Adam's usual rate the same curve is a slow start that recovered (silent)."""
    loss = np.r_[noisy(2.3, 110, 0.02), np.linspace(2.3, 0.45, 90), noisy(0.45, 200, 0.02)]
    kw = dict(loop={"optimizer": "Adam"})
    f = next(f for f in diagnose(hist(loss, out=(10, 0.5, 5.0)), ctx(lr=0.1, **kw)).findings if f.problem == "lr_too_high")
    assert f.evidence.get("lasting") and "100x Adam's usual" in f.message
    assert "lr_too_high" not in diagnose(hist(loss, out=(10, 0.5, 5.0)), ctx(lr=1e-3, **kw)).problems


def test_a_first_window_lost_at_100x_is_not_reported_once_the_loss_fell_all_the_way():
    """efficient-kan's KAN under AdamW at 100x its usual rate lost its first window at chance, then fitted its data: its
    loss ended at 7e-4 of chance, as accurate as at the usual rate.  Below fitted_share of chance the harm a lost window
    leaves would show, and does not: silent.  Ending at 0.1 of chance (above fitted_share) it stays reported."""
    kw = dict(loop={"optimizer": "AdamW"})
    for end, reported in ((2.3 * 7e-4, False), (0.23, True)):
        loss = np.r_[noisy(2.3, 110, 0.02), np.geomspace(2.3, end, 90), end * noisy(1.0, 200, 0.02)]
        d = diagnose(hist(loss, out=(10, 0.5, 5.0)), ctx(lr=0.1, **kw))
        assert ("lr_too_high" in d.problems) is reported, end


def test_units_dead_from_the_first_step_take_a_stay_under_a_high_rate_from_the_rate():
    """MorvanZhou's ReLU net without batch norm under its Adam at 0.03 (30x the usual rate): fc2's input silent from
    step 1, the loss stuck.  The units died before any update, so the stay is theirs: dead_units, no lr_too_high."""
    acts = np.full((40, 1, len(ACT_STATS)), np.nan)
    acts[:, 0, ACT_STATS.index("dead_frac")] = 1.0
    d = diagnose(hist(noisy(2.3, 400, 0.001), acts=acts, kinds=["relu"], out=(10, 0.5, 0.1)),
                 ctx(["relu"], lr=0.03, loop={"optimizer": "Adam"}))
    assert "dead_units" in d.problems and "lr_too_high" not in d.problems
    acts[:2, 0, ACT_STATS.index("dead_frac")] = 0.3  # alive at steps 1-11, dead later: the rate may have killed them
    d = diagnose(hist(noisy(2.3, 400, 0.001), acts=acts, kinds=["relu"], out=(10, 0.5, 0.1)),
                 ctx(["relu"], lr=0.03, loop={"optimizer": "Adam"}))
    assert "lr_too_high" in d.problems


def test_models_trained_side_by_side_see_each_other_and_their_flat_losses_are_no_plateau():
    """A GAN's two models step in one loop under two monitors: each sees the other step (loop_facts co_watched), and
    a loss held flat - a discriminator at ln 2, its equilibrium - is not a plateau there.  Monitors used one after the
    other do not count each other."""
    def pair(together):
        torch.manual_seed(0)
        a, b = nn.Linear(4, 1), nn.Linear(4, 1)
        oa, ob = torch.optim.SGD(a.parameters(), lr=0.01), torch.optim.SGD(b.parameters(), lr=0.01)
        ma = gradmedic.watch(a, oa, every=5)
        mb = gradmedic.watch(b, ob, every=5) if together else None
        for _ in range(30):
            for m, o, mon in ((a, oa, ma), (b, ob, mb)):
                if mon is None:
                    continue
                o.zero_grad()
                loss = m(torch.randn(8, 4)).pow(2).mean()
                loss.backward()
                mon.step(loss)
                o.step()
        ma.close()
        if mb is not None:
            mb.close()
        return ma, mb

    ma, mb = pair(True)
    assert ma.loop_facts["co_watched"] == 1 and mb.loop_facts["co_watched"] == 1
    first, _ = pair(False)
    second, _ = pair(False)  # (the first is closed: not a peer)
    assert first.loop_facts["co_watched"] == 0 and second.loop_facts["co_watched"] == 0
    flat = noisy(0.69, 800, 0.01)
    assert "plateau" in diagnose(hist(flat, out=(1, 0.5, 0.3)), ctx(loop={"co_watched": 0})).problems
    assert "plateau" not in diagnose(hist(flat, out=(1, 0.5, 0.3)), ctx(loop={"co_watched": 1})).problems


def test_vanishing_gradients_are_dropped_once_the_network_has_fitted_its_data():
    """Gradients 1e-4 of the last layer's at the first one while the loss sits at chance are vanishing_gradients; a run
    that then falls to 2% of chance was reached after all (d2l's sigmoid LeNet at lr 0.9: 0.04 of chance, healthy) and
    is not told so at its end; one that ends at 20% of chance (a deep sigmoid stack's slow learning) still is."""
    grad = np.tile([1e-4, 1e-2, 1.0], (40, 1))
    t = np.arange(400)
    stall = np.where(t < 150, 2.3, 2.3 * np.exp(-(t - 150) / 40)) + 0.01 * np.random.default_rng(0).standard_normal(400)
    fitted = np.maximum(stall, 0.046)  # ends at 2% of the reference
    live = diagnose(hist(fitted[:140], grad=grad[:14]), ctx(reference_loss=2.3))
    assert "vanishing_gradients" in live.problems  # while it sits at chance it is told
    assert "vanishing_gradients" not in diagnose(hist(fitted, grad=grad), ctx(reference_loss=2.3)).problems
    slow = np.maximum(stall, 0.46)  # ends at 20%
    assert "vanishing_gradients" in diagnose(hist(slow, grad=grad), ctx(reference_loss=2.3)).problems


def test_a_layer_whose_every_output_is_zero_is_dead_with_a_batch_of_one():
    """With one sample a step there is no "silent for every input" (dead_frac is not measured), but a ReLU layer whose
    every output is 0 has every unit silent (milesial's U-Net, one image a step, under RMSprop at 1000x its rate: an
    up-block's ReLUs all 0 from step 241).  A layer half silent, as any ReLU layer is, is not dead."""
    acts = np.full((40, 1, len(ACT_STATS)), np.nan)
    acts[:, 0, ACT_STATS.index("zero_frac")] = 1.0
    loss = 1.6 * np.exp(-np.arange(400) / 100) + 0.05

    def found(act_type):
        return diagnose(hist(loss, acts=acts, kinds=["relu"]), ctx(["relu"], regression=True, act_types=[act_type]))

    f = next(f for f in found("ReLU").findings if f.problem == "dead_units")
    assert f.evidence["layers"] == {"act1": 1.0}
    assert "dead_units" not in found("LeakyReLU").problems  # its outputs <= 0 still pass a gradient
    acts[:, 0, ACT_STATS.index("zero_frac")] = 0.5
    assert "dead_units" not in found("ReLU").problems


def test_a_large_row_gain_over_sparse_inputs_is_judged_by_the_pre_activation_it_gives():
    """PyTorch's default LSTM init, U(+-1/sqrt(hidden)), reads a row gain of 2.6 across 101 one-hot inputs (graykode's
    Bi-LSTM, hidden 5): over inputs of root-mean-square 0.1 its units get a pre-activation of 0.26, and the run that
    sits at chance a window in is not told its init saturates the gates.  A gain past the recurrent bar (3.5 here) is
    judged the same way: told over unit-scale inputs, not over one-hot ones (root-mean-square 0.1: a pre-activation of
    0.35)."""
    loss = noisy(math.log(10), 300, 0.01)
    c = dict(types=("LSTM", "Linear", "Linear"), weight_gain=[3.5, 0.58, 0.58])
    one_hot = np.stack([np.full(101, 1 / 101), np.full(101, math.sqrt(1 / 101 * (1 - 1 / 101)))])
    sparse = diagnose(hist(loss, out=(10, 0.5, 0.2), inputs=one_hot), ctx(**c))
    assert "saturated_units" not in sparse.problems
    dense = diagnose(hist(loss, out=(10, 0.5, 0.2), inputs=np.stack([np.zeros(101), np.ones(101)])), ctx(**c))
    f = next(f for f in dense.findings if f.problem == "saturated_units")
    assert f.evidence["init_too_large"] and f.layers == ["fc1"]


def test_a_loss_far_above_chance_is_not_a_squashed_output():
    """A loss held near chance while the output's gradient is a tenth of a cross-entropy's there is a squashed output;
    at chance_jump (10x) chance or more the run diverged instead (rasbt's autoencoder at 100x its rate: 1.8e5 against a
    chance of 3.3, told saturated_loss beside its divergence)."""
    og = 0.1 * math.sqrt(0.9)  # a tenth of what a cross-entropy over 10 logits hands the output at chance
    near = diagnose(hist(noisy(math.log(10), 300, 0.01), out=(10, 0.5, 0.2, og, np.nan, np.nan, 0.0)), ctx())
    assert "saturated_loss" in near.problems
    # logits spread 100 wide: a cross-entropy of 69 over them is possible, and chance is still ln 10
    far = diagnose(hist(noisy(30 * math.log(10), 300, 0.01), out=(10, 0.5, 100.0, og, np.nan, np.nan, 0.0)), ctx())
    assert far.findings and "saturated_loss" not in far.problems


def test_a_small_gradient_at_one_of_several_output_calls_is_not_a_squashed_output():
    """Virtual adversarial training runs the model three times a step; the output read is the first call's, its power
    iteration at x + xi d, whose own backward() hands it a KL's gradient 50-2000x below a cross-entropy's.  With the
    model run more than once in a pass (output_calls), that gradient does not say what the loss hands its output."""
    og = 0.01 * math.sqrt(0.9)
    loss = noisy(math.log(10), 300, 0.01)
    assert "saturated_loss" in diagnose(hist(loss, out=(10, 0.5, 0.2, og, np.nan, np.nan, 0.0)), ctx()).problems
    several = diagnose(hist(loss, out=(10, 0.5, 0.2, og, np.nan, np.nan, 0.0)), ctx(loop={"output_calls": 3}))
    assert "saturated_loss" not in several.problems


def test_a_loss_that_falls_below_zero_without_end_is_a_wrong_loss_not_a_divergence():
    """Aladdin Persson's VAE with its KL term's sign flipped: 1.5e4 -> -1.2e12.  No loss bounded below goes there: a
    term is lowered without end (saturated_loss, no_floor), and the growing size of the loss is not called exploding
    gradients.  A loss that dips a little below zero (a Gaussian likelihood with a learned variance) is not that."""
    t = np.arange(600)
    runaway = np.where(t < 170, 1.5e4 * np.exp(-t / 100), -np.exp((t - 170) / 15.0))
    d = diagnose(hist(runaway), ctx(regression=True))
    f = next(f for f in d.findings if f.problem == "saturated_loss")
    assert f.evidence["no_floor"] and "has no floor" in f.message and "exploding_gradients" not in d.problems
    assert "mind the leading minus" in f.remedies[0].snippet
    dip = np.linspace(1.0, -2.0, 600)
    assert "saturated_loss" not in diagnose(hist(dip), ctx(regression=True)).problems
    # fast.ai's chapter-4 mnist_loss without its sigmoid: 0.47 at step 1, below zero from step 2 (the median of steps 1-3
    # is -0.35, no start above zero to measure from), -7000 by the end: no floor, measured from the first step
    fastai = np.r_[0.47, -0.35, -0.76, -np.linspace(1.0, 7000.0, 597)]
    d = diagnose(hist(fastai), ctx())
    f = next(f for f in d.findings if f.problem == "saturated_loss")
    assert f.evidence["no_floor"] and f.evidence["initial_loss"] == pytest.approx(0.47)
    assert "exploding_gradients" not in d.problems


def test_a_gradient_far_larger_than_its_weights_under_an_adaptive_optimizer_is_not_divergence():
    """A gradient 1000x the weights it updates throws them away under SGD; Adam's step is about its rate per weight
    whatever the gradient's size (a VAE's loss summed over pixels and images: 1e4x from step 1, healthy under Adam)."""
    grad = np.tile([1e4, 1e4, 1e4], (40, 1))
    stall = noisy(2.0e4, 400, 10.0)
    # (SGD at 0.01 on a gradient 1e4x the weights: steps 100x the weights)
    sgd = diagnose(hist(stall, grad=grad, update=100.0), ctx(regression=True, lr=0.01, loop={"optimizer": "SGD"}))
    assert "exploding_gradients" in sgd.problems
    # ... but steps that stay small, the rate making them so, throw nothing away: the PyTorch tutorials' DynamicNet sums
    # its squared error over 2000 points of x^5 under SGD at 1e-8 and moves its weights 1e-4 per step
    tiny = diagnose(hist(stall, grad=grad, update=1e-4), ctx(regression=True, lr=1e-8, loop={"optimizer": "SGD"}))
    assert "exploding_gradients" not in tiny.problems and "lr_too_low" in tiny.problems
    adam = diagnose(hist(stall, grad=grad), ctx(regression=True, lr=1e-3, loop={"optimizer": "Adam"}))
    assert "exploding_gradients" not in adam.problems


def test_a_gradient_taken_away_under_a_rate_far_above_usual_is_the_rate_even_where_the_loss_cannot_jump():
    """Jeff Heaton's iris MLP puts a softmax before CrossEntropyLoss (upstream), which bounds the loss: under Adam at
    1000x its usual rate the gradient there at step 1 was exactly 0 from step 11 on, the loss at 1.1x chance - no jump to
    blame the step by, but the rate itself is far above usual.  At Adam's usual rate the same zeros are no_gradient."""
    grad = np.zeros((70, 3))
    grad[0] = [0.08, 0.29, 0.26]
    loss = noisy(1.2, 700, 0.05)
    far = diagnose(hist(loss, grad=grad, out=(3, 0.5, 0.2)), ctx(lr=1.0, loop={"optimizer": "Adam"}))
    f = next(f for f in far.findings if f.problem == "lr_too_high")
    assert f.evidence["gradient_died"] and "1000x Adam's usual" in f.message and "no_gradient" not in far.problems
    usual = diagnose(hist(loss, grad=grad, out=(3, 0.5, 0.2)), ctx(lr=1e-3, loop={"optimizer": "Adam"}))
    assert "no_gradient" in usual.problems and "lr_too_high" not in usual.problems


def test_every_gradient_zero_from_the_start_under_weights_drawn_far_too_large_is_the_init():
    """The same MLP with N(0, 1) weights (row gains 2.2, 6.7, 5.0) saturates its softmax before the first step: every
    gradient is exactly 0 from step 1.  The init is the finding (its remedies re-draw it), not "no gradient reaches the
    weights" (whose remedies look for a detached graph), nor the rate the run is stuck under."""
    loss = noisy(1.2, 700, 0.05)
    c = ctx(lr=0.01, loop={"optimizer": "Adam"}, weight_gain=[2.2, 6.7, 5.0])
    d = diagnose(hist(loss, grad=np.zeros((70, 3)), out=(3, 0.5, 0.2)), c)
    f = next(f for f in d.findings if f.evidence.get("init_too_large"))
    assert f.layers and "no_gradient" not in d.problems and "lr_too_high" not in d.problems
    fan_in = diagnose(hist(loss, grad=np.zeros((70, 3)), out=(3, 0.5, 0.2)),
                      ctx(lr=0.01, loop={"optimizer": "Adam"}, weight_gain=[0.58] * 3))
    assert "no_gradient" in fan_in.problems



def test_a_first_gradient_far_larger_than_weights_drawn_near_zero_is_no_divergence():
    """A gradient 1000x the weights it updates throws them away - unless the weights were drawn near 0 by design (row
    gain below 0.3): d2l's linear regression from scratch draws w ~ N(0, 0.01), whose first gradient is 1,200x it, and
    at 10x its rate fell from 24 to 0 in 15 steps (its recorded losses below).  The same first sample on weights drawn
    at a fan-in scale is still reported."""
    loss = np.r_[24.3, 5.62, 2.17, 1.11, 1.04, 0.27, 0.25, 0.09, 0.015, 0.011, 0.005, 0.002, 0.001, 0.001, np.zeros(82)]
    grad = np.tile([8.5, 1.0, 1.0], (10, 1))
    weight = np.tile([5.7, 1.0, 1.0], (10, 1))
    weight[0, 0] = 0.007
    kw = dict(regression=True, lr=0.3, loop={"optimizer": "SGD"})
    near_zero = diagnose(hist(loss, grad=grad, weight=weight), ctx(weight_gain=[0.007, 0.58, 0.58], **kw))
    assert "exploding_gradients" not in near_zero.problems
    fan_in = diagnose(hist(loss, grad=grad, weight=weight), ctx(weight_gain=[0.58, 0.58, 0.58], **kw))
    assert "exploding_gradients" in fan_in.problems


def test_a_loop_that_never_zeroes_its_gradients_but_fitted_its_data_gets_a_note_not_a_finding():
    """yunjey's logistic regression and MorvanZhou's classifier without zero_grad() ended at 0.003 and 0.001 of chance,
    as accurate as with it: the carried gradients are a fact of the loop (a note), not a problem of the run.  Where the
    loss ends at half of chance (the 19 runs it broke ended at 0.22 of chance or above) it is a critical finding."""
    carried = dict(loop={"carry_checks": 40, "grads_carried": 40, "grads_carried_at": 2})
    fitted = 2.3 * np.exp(-np.arange(400) / 40)
    d = diagnose(hist(fitted, out=(10, 0.5, 8.0)), ctx(**carried))
    assert d.findings == [] and any("optimizer.zero_grad()" in n and "cost this run nothing" in n for n in d.notes)
    stuck = 1.15 + 1.15 * np.exp(-np.arange(400) / 40)
    d = diagnose(hist(stuck, out=(10, 0.5, 8.0)), ctx(**carried))
    assert [f.severity for f in d.findings if f.problem == "grads_not_zeroed"] == ["critical"]
    assert not any("cost this run nothing" in n for n in d.notes)


def _breast_cancer_logistic_regression(lr: float, steps: int = 100):
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    torch.manual_seed(0)
    X, y = load_breast_cancer(return_X_y=True)
    X = torch.tensor(StandardScaler().fit_transform(X), dtype=torch.float32)
    y = torch.tensor(y, dtype=torch.float32)[:, None]
    model = nn.Linear(30, 1)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    w0 = model.weight.norm().item()
    mon = gradmedic.watch(model, opt, every=10)
    for _ in range(steps):
        loss = F.binary_cross_entropy(torch.sigmoid(model(X)), y)
        opt.zero_grad()
        loss.backward()
        mon.step(loss)
        opt.step()
    acc = ((model(X) > 0).float() == y).float().mean().item()
    return mon.diagnose(), model.weight.norm().item() / w0, acc


def test_a_linear_models_weights_growing_under_a_high_rate_are_its_confidence_not_a_divergence():
    """Patrick Loeber's logistic regression (breast cancer, standardized, SGD) at 1000x SGD's usual rate: its one
    weight layer grows 15x+ in 100 steps - on near-separable data that is how it sharpens - and it ends as accurate as
    at 0.01.  With no depth to saturate or silence, that growth is no lr_too_high (a 3-layer net's is: see above)."""
    d, growth, acc = _breast_cancer_logistic_regression(10.0)
    assert growth >= 15 and acc >= 0.95
    assert d.findings == []


def test_a_rate_far_below_usual_is_reported_beside_large_targets_that_also_stall_the_run():
    """MorvanZhou's batch-norm regression (y = x^2 - 5, targets of scale 30) under Adam: its scale is a finding at any
    rate, and at 3e-5 (33x below Adam's usual 1e-3) the rate holds the run at its first loss too - both are said, not
    only the targets (which would leave the rate unchanged)."""
    torch.manual_seed(0)
    x = torch.linspace(-7, 10, 2000)[:, None]
    y = x ** 2 - 5 + 2 * torch.randn_like(x)
    model = nn.Sequential(nn.BatchNorm1d(1), nn.Linear(1, 10), nn.Tanh(), nn.Linear(10, 10), nn.Tanh(), nn.Linear(10, 1))
    opt = torch.optim.Adam(model.parameters(), lr=3e-5)
    mon = gradmedic.watch(model, opt, every=10)
    g = torch.Generator().manual_seed(0)
    for _ in range(400):
        i = torch.randint(0, 2000, (64,), generator=g)
        loss = F.mse_loss(model(x[i]), y[i])
        opt.zero_grad()
        loss.backward()
        mon.step(loss)
        opt.step()
    d = mon.diagnose()
    assert {"unscaled_target", "lr_too_low"} <= d.problems
    f = next(f for f in d.findings if f.problem == "lr_too_low")
    assert f.evidence["rate_far_below"] and f.detected_at <= 100


def test_a_blow_up_in_the_first_steps_at_the_usual_rate_from_weights_drawn_far_too_large_is_the_init():
    """Udacity's weight-init notebook with every weight 1 (rows of norm 28, 16, 11): the loss sat at ln 10 at step 1 (the
    units are identical) and jumped to 6800 at step 2 under Adam's usual 0.001.  The weights did it, not the rate: one
    init finding from step 2, whose remedies re-draw the weights, and no lr_too_high.  The same jump from weights drawn at a
    fan-in scale is the rate's."""
    loss = np.r_[2.3, 6.8e3, 1e4, 3.5e3, noisy(1.5e3, 396, 100.0)]
    c = dict(lr=1e-3, loop={"optimizer": "Adam"})
    d = diagnose(hist(loss, out=(10, 0.1, 2e4)), ctx(weight_gain=[28.0, 16.0, 11.3], **c))
    f = next(f for f in d.findings if f.evidence.get("init_too_large"))
    assert "lr_too_high" not in d.problems and f.detected_at == 2 and "the weights, not the rate" in f.message
    assert "re-initialize" in f.remedies[0].change
    fan_in = diagnose(hist(loss, out=(10, 0.1, 2e4)), ctx(weight_gain=[0.58] * 3, **c))
    assert "lr_too_high" in fan_in.problems


def test_parameters_the_loop_replaces_after_watch_are_a_note_not_a_cut_off_layer_while_the_loss_falls():
    """zalando's VQ-VAE re-creates its EMA codebook as a new nn.Parameter each step and moves it by moving averages, not
    gradients: the one watch() was given never gets a gradient, yet nothing is cut off (healthy on three seeds).  A note,
    not no_gradient.  A head replaced after the optimizer was built is never trained: there the loss stays at chance and
    it is a finding, whose message says the parameters were replaced."""
    torch.manual_seed(0)
    x = torch.randn(256, 8)
    y = (x[:, 0] > 0).long()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body, self.head = nn.Linear(8, 16), nn.Linear(16, 2)
            self.book = nn.Linear(16, 16, bias=False)  # used under no_grad, moved by hand: an EMA codebook's place

        def forward(self, v):
            h = torch.relu(self.body(v))
            with torch.no_grad():
                self.book.weight = nn.Parameter(0.99 * self.book.weight + 0.01 * h.T @ h / len(h))
            return self.head(h)

    net = Net()
    opt = torch.optim.Adam([p for n, p in net.named_parameters() if not n.startswith("book")], 1e-2)
    mon = gradmedic.watch(net, opt, every=5)
    for _ in range(150):
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        mon.step(loss)
        opt.step()
    d = mon.diagnose()
    assert "no_gradient" not in d.problems and any("book now hold parameters" in n for n in d.notes)

    # a layer the loop replaced that never gets a gradient while the loss sits at chance: still a finding, and it says so
    grad = np.ones((40, 3))
    grad[:, 0] = np.nan
    d = diagnose(hist(noisy(2.3), grad=grad, out=(10, 0.5, 0.2)), ctx(loop={"replaced_layers": ["fc1"]}))
    f = next(f for f in d.findings if f.problem == "no_gradient")
    assert f.severity == "serious" and "replaced their parameters after watch()" in f.message


@pytest.mark.parametrize("summed", [True, False])
def test_a_model_called_once_per_time_step_has_a_chance_level_only_for_a_per_step_loss(summed):
    """The char-RNN name generator (the PyTorch tutorial) calls its model once per character of a name, one name a step,
    and sums the cross-entropy over the characters: 24 at its start against ln 62 = 4.1.  The output read is the first
    call's, and NLLLoss hands each call's row exactly its one-hot target, as a per-step loss would: with the loss summed
    over six calls no chance level is inferred (it was: ln 62, and the healthy run was told initial_loss_high).
    Averaged over the calls, ln C holds."""
    torch.manual_seed(0)

    class Cell(nn.Module):
        def __init__(self):
            super().__init__()
            self.i2h, self.h2o = nn.Linear(20 + 16, 16), nn.Linear(16, 20)

        def forward(self, x, h):
            h = torch.tanh(self.i2h(torch.cat([x, h], 1)))
            return F.log_softmax(self.h2o(h), 1), h  # (as the tutorial: LogSoftmax and NLLLoss)

    cell = Cell()
    opt = torch.optim.SGD(cell.parameters(), 0.005)
    mon = gradmedic.watch(cell, opt, every=10)
    for _ in range(200):
        word = torch.randint(0, 20, (7,))
        h, loss = torch.zeros(1, 16), 0.0
        for a, b in zip(word[:-1], word[1:], strict=True):
            out, h = cell(F.one_hot(a, 20).float()[None], h)
            loss = loss + F.nll_loss(out, b[None])
        loss = loss if summed else loss / 6
        opt.zero_grad()
        loss.backward()
        mon.step(loss)
        opt.step()
    assert mon.loop_facts["output_calls"] == 6
    chance, _ = infer_chance(mon.history, Context.from_monitor(mon))
    assert chance is None if summed else chance == pytest.approx(math.log(20))


@pytest.mark.parametrize("kind", ["saturating", "relu"])
def test_a_generators_tanh_in_its_tails_is_not_blamed_on_a_stalled_adversarial_loss(kind):
    """A generator trained against a discriminator in one loop (loop_facts co_watched): its loss holds still at the
    pair's equilibrium, which is no stall, and its Tanh output sits in the tails where the images it learned are at
    their extremes (eriklindernoren's WGAN-GP at 10x its rate: 51% of its output in the tails, trained better than at
    its own rate; public set 32).  The same saturation in a model trained alone, its loss stalled, is a finding.  Dead
    ReLUs stay dead in an adversarial loop (MorvanZhou's painter GAN at 10x its rate, public set 30)."""
    stat = "sat_frac" if kind == "saturating" else "dead_frac"
    acts = np.full((40, 1, len(ACT_STATS)), np.nan)
    acts[:, 0, ACT_STATS.index(stat)] = 0.95
    acts[:, 0, ACT_STATS.index("zero_frac")] = 0.95 if kind == "relu" else np.nan
    loss = noisy(0.7, 400, 0.01)
    act_type = "Tanh" if kind == "saturating" else "ReLU"
    problem = "saturated_units" if kind == "saturating" else "dead_units"

    def found(co_watched):
        c = ctx([kind], regression=True, act_types=[act_type], loop={"co_watched": co_watched})
        return diagnose(hist(loss, acts=acts, kinds=[kind]), c).problems

    assert problem in found(0)
    assert (problem in found(1)) == (kind == "relu")


def test_a_loss_that_settles_above_where_it_started_is_the_rate_not_a_plateau():
    """graykode's seq2seq with attention under Adam at 10x its rate: the loss rose from 3.2 to 3.6 (114%) and held there
    for 500 steps - training made the predictions worse than untrained, which a rate too high does; a rate too low or a
    network that cannot learn stays where it started (a plateau).  No chance level is known (a summed NLL)."""
    risen = np.r_[np.full(20, 3.2), noisy(3.6, 680, 0.002)]
    d = diagnose(hist(risen, lr=[0.01] * 700), ctx(lr=0.01, loop={"optimizer": "Adam"}))
    f = next(f for f in d.findings if f.problem == "lr_too_high")
    assert f.evidence["settled_above"] and "worse than untrained" in f.message and "plateau" not in d.problems
    flat = diagnose(hist(noisy(3.2, 700, 0.002)), ctx(loop={"optimizer": "Adam"}))
    assert flat.problems == {"plateau"}


def test_a_first_update_that_throws_the_network_flat_is_the_rates():
    """rasbt's sigmoid + MSE net updated by hand at 100x its rate: the gradient at step 1, before any update, was 0.09;
    from step 11 on it was 1e-9 (every sigmoid output pinned at 0) and the loss sat at 0.1 for good.  Tiny updates there
    are the flat region's, not a low rate's: lr_too_high, not lr_too_low.  A gradient that falls as far while the loss
    falls with it is a run that learned."""
    grad = np.full((40, 3), 1e-9)
    grad[0] = 0.09
    flat = np.r_[0.2576, np.full(399, 0.1)]
    d = diagnose(hist(flat, grad=grad, update=1e-10), ctx())
    f = next(f for f in d.findings if f.problem == "lr_too_high")
    assert f.evidence["thrown_flat"] and "lr_too_low" not in d.problems
    learning = 0.2576 * np.exp(-np.arange(400) / 30)
    assert "lr_too_high" not in diagnose(hist(learning, grad=grad, update=1e-3), ctx()).problems
    grad[1:] = 1e-3  # a hundredfold fall only: not thrown flat
    assert "lr_too_high" not in diagnose(hist(flat, grad=grad, update=1e-10), ctx()).problems


def test_an_adversarial_loss_is_not_read_as_progress_or_divergence():
    """A model trained against another in one loop (co_watched) starts at the game's equilibrium and returns there: a
    generator's loss that rises 2.5x from its low back past its start (rasbt's, mlbgan's healthy GANs: 2.1-3.1x) is not
    the rate's, nor one at 5x (the discriminator still gives the fakes 3%), one that tops ln 100 / ln 2 = 6.64x its
    start is; a loss at ln 2 under Adam at 50x its usual rate (d2l's discriminator at
    0.05, as the book trains it) is the equilibrium, not a run held at chance; and weights drawn N(0, 0.02) are not
    judged by a loss still near its start at step 100.  Each is reported for a model trained alone."""
    def rise(top):
        return np.r_[np.linspace(0.69, 0.35, 60), np.linspace(0.35, top * 0.69, 100), np.full(240, top * 0.69)]

    gan, alone = {"co_watched": 1, "optimizer": "Adam"}, {"co_watched": 0, "optimizer": "Adam"}
    assert "lr_too_high" not in diagnose(hist(rise(2.5)), ctx(loop=gan, lr=1e-3)).problems
    assert "lr_too_high" in diagnose(hist(rise(2.5)), ctx(loop=alone, lr=1e-3)).problems
    assert "lr_too_high" not in diagnose(hist(rise(5.0)), ctx(loop=gan, lr=1e-3)).problems  # D still gives 3% to fakes
    assert "lr_too_high" in diagnose(hist(rise(8.0)), ctx(loop=gan, lr=1e-3)).problems  # past ln 100: the game is lost
    at_equilibrium = noisy(math.log(2), 400, 0.01)
    assert "lr_too_high" not in diagnose(hist(at_equilibrium, out=(1, 0.5, 0.3)), ctx(loop=gan, lr=0.05)).problems
    assert "lr_too_high" in diagnose(hist(at_equilibrium, out=(1, 0.5, 0.3)), ctx(loop=alone, lr=0.05)).problems
    slow = np.linspace(4.0, 3.0, 400)
    small = dict(weight_gain=[0.03, 0.03, 0.03], lr=0.005)
    faded = np.tile([1e-4, 1e-2, 1.0], (40, 1))  # the gradient such weights hand back: 1/30 per layer, and then some
    assert "vanishing_gradients" not in diagnose(hist(slow, grad=faded), ctx(loop=gan, **small)).problems
    assert "vanishing_gradients" in diagnose(hist(slow, grad=faded), ctx(loop=alone, **small)).problems


def test_a_faded_gradient_in_a_game_counts_only_where_the_game_has_not_moved_and_the_steps_faded_too():
    """A model trained against another (co_watched) cannot show vanishing gradients' cost in its own loss: its gradient
    through depth (first layer 1/50 of the last) is the finding only while its loss sits where the game began
    (adversarial_unmoved) and its first layer's steps faded too (_steps_kept_pace: pytorch-beginner's healthy generator
    under Adam stepped at 0.36-0.38 of its last layer's pace, public set 86).  A model trained alone is judged by its
    stalled loss, whatever its steps (a saturating CNN under Adagrad at 0.72 of that pace still trained far worse)."""
    S = 40
    grad = np.tile([0.02, 0.2, 1.0], (S, 1))
    kept, faded = np.tile([4e-4, 1e-3, 1e-3], (S, 1)), np.tile([1e-5, 1e-3, 1e-3], (S, 1))
    gan, alone = {"co_watched": 1, "optimizer": "Adam"}, {"co_watched": 0, "optimizer": "Adam"}
    at_start, moved = noisy(0.69, 400, 0.005), np.r_[np.linspace(0.69, 1.0, 40), noisy(1.0, 360, 0.005)]

    def vanishing(loss, update, loop):
        return "vanishing_gradients" in diagnose(hist(loss, grad=grad, update=update), ctx(loop=loop, lr=1e-3)).problems

    assert vanishing(at_start, faded, gan)
    assert not vanishing(at_start, kept, gan)
    assert not vanishing(moved, faded, gan)  # 1.45x its start: the discriminator leads, the game goes on
    assert vanishing(at_start, kept, alone)


def test_a_games_half_dead_relu_layer_is_dead_units_only_while_the_game_has_not_moved():
    """pytorch-beginner's healthy generator had 51-54% of a ReLU layer silent while its loss stood at 3.7-3.9x its start
    (the discriminator leading, public set 86): not a stall of its own (adversarial_unmoved).  The same layer with the
    loss still where the game began is; and for a model trained alone a stalled loss is a stall."""
    S = 40
    acts = np.zeros((S, 1, len(ACT_STATS)))
    acts[:, 0, ACT_STATS.index("dead_frac")] = 0.55
    acts[:3, 0, ACT_STATS.index("dead_frac")] = 0.1  # (silenced by training, not by the untrained input)
    acts[:, 0, ACT_STATS.index("zero_frac")] = 0.7
    at_start, moved = noisy(0.69, 400, 0.005), np.r_[np.linspace(0.69, 2.6, 40), noisy(2.6, 360, 0.005)]

    def dead(loss, loop):
        c = ctx(kinds=("relu",), loop=loop, lr=1e-3, act_types=["ReLU"])
        return "dead_units" in diagnose(hist(loss, acts=acts, kinds=("relu",)), c).problems

    gan, alone = {"co_watched": 1, "optimizer": "Adam"}, {"co_watched": 0, "optimizer": "Adam"}
    assert dead(at_start, gan) and dead(at_start, alone)
    assert not dead(moved, gan)


def test_gradients_growing_through_depth_made_a_problem_by_a_spike_the_run_left_are_dropped():
    """SIREN under PyTorch's default init (public set 95): its first layer's gradient 5e3x its last one's all run long,
    the loss spiked from 0.0025 to 0.40 at step 180, and ended at 3e-5 - better than SIREN's own init.  The finding rested
    on the rise (no stall), and the run left it behind; a run still up there at the end keeps it."""
    T = 400
    grad = np.tile([5000.0, 50.0, 1.0], (T // 10, 1))
    down = np.geomspace(0.5, 0.0025, 100)
    spike = np.r_[down, np.geomspace(0.0025, 0.4, 80), np.full(20, 0.4)]
    left = np.r_[spike, np.geomspace(0.4, 3e-5, 200)]
    stays = np.r_[spike, np.full(200, 0.4)]

    def exploding(loss):
        return "exploding_gradients" in diagnose(hist(loss, grad=grad), ctx(regression=True, lr=1e-4,
                                                                              loop={"optimizer": "Adam"})).problems

    assert exploding(stays)
    assert not exploding(left)


def test_a_plateau_without_a_chance_level_is_dropped_once_the_run_has_left_it():
    """A loss with no chance level to call its plateau "nothing learned" is told plateau as a warning; a run that then
    leaves it and ends far below (Ben Moseley's PINN: 95-99% of its first loss for 3,000 steps, then 0.014 of it, on
    every healthy seed; public set 92) was resting, as a serious plateau left behind is."""
    flat = noisy(0.31, 800, 0.001)
    left = np.r_[flat, np.linspace(0.31, 0.004, 200), noisy(0.004, 400, 0.0002)]
    assert "plateau" in diagnose(hist(flat), ctx(regression=True, lr=1e-4, loop={"optimizer": "Adam"})).problems
    assert "plateau" not in diagnose(hist(left), ctx(regression=True, lr=1e-4, loop={"optimizer": "Adam"})).problems


# -- a rate's number against the steps it makes (the PyTorch tutorials' DynamicNet, public set 48) -------------------
def test_a_rate_far_below_usual_whose_steps_are_large_is_not_too_low():
    """SGD at 1e-6, 10^4 below its usual rate, with the loss at chance for 400 steps: held there by the rate when no
    layer moves more than 1e-3 of its weights per step.  Moving 5e-2 per step (gradients 1e4x the weights under a
    summed loss), the steps are not small whatever the rate's number, and the rate is not blamed - unless the layers
    that move so were drawn near 0 (d2l's linear regression from scratch: N(0, 0.01) weights, steps of 2e-2 of them)."""
    stuck = noisy(2.3, 400, 0.01)
    c = dict(lr=1e-6, loop={"optimizer": "SGD"})
    small = diagnose(hist(stuck, update=1e-3, out=(10, 0.5, 0.2)), ctx(**c))
    assert "lr_too_low" in small.problems
    large = diagnose(hist(stuck, update=5e-2, out=(10, 0.5, 0.2)), ctx(**c))
    assert "lr_too_low" not in large.problems
    near_zero = diagnose(hist(stuck, update=5e-2, out=(10, 0.5, 0.2)), ctx(weight_gain=[0.007] * 3, **c))
    assert "lr_too_low" in near_zero.problems


def test_a_rate_below_usual_that_holds_a_run_at_chance_with_steps_below_the_healthy_size_is_too_low():
    """d2l's RNN from scratch at 1/1000 of its SGD rate of 1: at ln 28 for 400 steps, its weights moving 7e-4 per step.
    1e-3 is 10x below SGD's usual 1e-2, not more, so not "far below"; but at 10x, two windows at chance with steps
    under the healthy ~1e-3 are the rate's.  At 3x below (a plateau scenario's rate) the same stall is not blamed on it."""
    stuck = noisy(math.log(28), 400, 0.001)
    out = (28, 0.5, 0.3)
    low = diagnose(hist(stuck, update=7e-4, out=out), ctx(lr=1e-3, loop={"optimizer": "SGD"}))
    assert "lr_too_low" in low.problems
    usual = diagnose(hist(stuck, update=7e-4, out=out), ctx(lr=3e-3, loop={"optimizer": "SGD"}))
    assert "lr_too_low" not in usual.problems
    # a cross-entropy held at ln 28 holds the ratio of the squared error its gradient implies still too (here 2x): it is
    # not a squared error summed twice, and its rate is not read as 2e-3
    S = len(range(1, 401, 10))
    implied = np.stack([np.full(S, 28.0), np.full(S, 0.5), np.full(S, 0.3), np.full(S, np.nan),
                        2.0 * stuck[::10]], axis=1)
    ce = diagnose(hist(stuck, update=7e-4, out=implied), ctx(lr=1e-3, loop={"optimizer": "SGD"}))
    assert "lr_too_low" in ce.problems


def test_a_loss_far_above_chance_that_keeps_falling_is_not_sitting_at_chance():
    """A loss 30-300x its chance level falling a third per 100 steps (DynamicNet drawn at std 10 under SGD at 1e-8,
    its layers moving 4e-3 per step, fell 3.2e5 -> 2.1e5 over steps 200-300) is learning its way down from a bad start:
    not "at chance", so no lr_too_low.  The same level held flat is."""
    c = dict(lr=1e-8, loop={"optimizer": "SGD"})
    out = (1, 0.5, 0.2)
    falling = np.geomspace(3.0e5, 3.0e4, 400)
    d = diagnose(hist(falling, update=4e-3, out=out), ctx(reference_loss=1000.0, **c))
    assert "lr_too_low" not in d.problems
    flat = diagnose(hist(noisy(2.0e5, 400, 100.0), update=4e-3, out=out), ctx(reference_loss=1000.0, **c))
    assert "lr_too_low" in flat.problems


def test_an_ordered_full_batch_is_measured_on_rows_spread_over_it():
    """The PyTorch tutorials fit sin(x) on linspace(-pi, pi, 2000) in one ordered batch, with a squared error summed
    over it.  The statistics read 32 rows: the first 32 (x near -pi) put the targets' variance at 1e-3 and a unit that
    fires only for x > 0 at dead; 32 rows spread over the batch give the chance level n var(y) = 1000 and no dead unit."""
    x = torch.linspace(-math.pi, math.pi, 2000)[:, None]
    y = torch.sin(x)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 1))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0], [-1.0]]))  # unit 0 fires for x > 0 only, unit 1 for x < 0
        model[0].bias.zero_()
    opt = torch.optim.SGD(model.parameters(), lr=1e-5)
    with gradmedic.watch(model, opt, every=5) as mon:
        for _ in range(30):
            opt.zero_grad()
            loss = F.mse_loss(model(x), y, reduction="sum")
            loss.backward()
            mon.step(loss)
            opt.step()
    chance, how = infer_chance(mon.history, Context.from_monitor(mon))
    assert chance == pytest.approx(float(((y - y.mean()) ** 2).sum()), rel=0.1) and "2e+03x" in how
    assert (mon.history.act("dead_frac")[:, 0] == 0).all()


def test_a_blow_up_at_step_2_that_the_loss_never_came_back_below_its_first_value_from_is_reported():
    """RealNVP on moons under Adam at 100x its rate: 2.5 at step 1 (before any update), 54410 at step 2, then down to
    ~9 and slowly to 3.9, where it stays - below half of its first quarter window, but 1.6x where it started (0.55 at
    its usual rate).  The rise is reported; the same course ending at 1.5, below its first value, has recovered."""
    def course(end):
        return np.r_[2.5, 54410.0, 47.0, 13.6, np.linspace(9.1, 8.2, 30), np.geomspace(8.2, end, 300),
                     end * noisy(1.0, 600, 0.01)]

    kw = dict(loop={"optimizer": "Adam"})
    f = next(f for f in diagnose(hist(course(3.9)), ctx(lr=0.01, **kw)).findings if f.problem == "lr_too_high")
    assert f.detected_at <= 100 and "2.5 at step 1" in f.message
    assert "lr_too_high" not in diagnose(hist(course(1.5)), ctx(lr=0.01, **kw)).problems


def test_a_jump_to_ten_times_chance_from_an_untrained_network_stays_reported_after_the_loss_comes_back():
    """fxia22's PointNet under Adam at 100x its rate: ln 4 at step 1, 22x chance at steps 2-3, then back down to a
    training loss of 0.25 (0.03 at its usual rate, and 0.77 test accuracy against 1.0).  The first updates threw the init
    away: the jump stays reported however the loss ends.  The same spike from a network already learning (a GRU at 0.58 of
    chance, one step at 46x, then 0.05 of chance) is a passing one: silent; so is one under a rate nearer the usual one
    (test_an_early_spike_the_run_recovers_from_is_not_reported_at_the_end)."""
    ln4 = math.log(4)
    out, adam = (4, 0.5, 5.0), ctx(lr=0.1, loop={"optimizer": "Adam"})
    thrown = np.r_[ln4, 30.0, 31.0, 8.0, np.geomspace(3.0, 0.25, 60), 0.25 * noisy(1.0, 200, 0.02)]
    f = next(f for f in diagnose(hist(thrown, out=out), adam).findings if f.problem == "lr_too_high")
    assert f.detected_at == 2 and f.evidence["thrown_untrained"]
    spiked = np.r_[np.linspace(ln4, 0.58 * ln4, 24), 46 * ln4, 3.0, np.geomspace(0.8, 0.05 * ln4, 60),
                   0.05 * ln4 * noisy(1.0, 200, 0.02)]
    assert "lr_too_high" not in diagnose(hist(spiked, out=out), adam).problems


def test_a_loss_with_no_chance_level_that_jumps_tenfold_over_its_first_value_under_a_rate_far_above_usual_is_reported():
    """coral-pytorch's CORAL MLP under Adam at 0.5 (a loss summed over 9 binary thresholds: no chance level): 7.8 at step
    1, 168 at step 2, 12-210 for 25 steps, then down to the healthy run's level (0.72 test error against 0.35).  The
    jump over the untrained network's loss is reported at step 2 and stays; under Adam's usual rate the same jump is
    left to the other rules (dataflowr's MLP's first batches are 50-1500x apart at its usual rate, healthy)."""
    rng = np.random.default_rng(0)
    loss = np.r_[7.8, 168.0, 110.0, 89.0, rng.uniform(12, 210, 22), np.geomspace(12.0, 1.3, 40), 1.3 * noisy(1.0, 200, 0.05)]
    adam = {"optimizer": "Adam"}
    f = next(f for f in diagnose(hist(loss), ctx(lr=0.5, loop=adam)).findings if f.problem == "lr_too_high")
    assert f.detected_at == 2 and "before any update" in f.message and "500x Adam's usual" in f.message
    usual = diagnose(hist(loss), ctx(lr=1e-3, loop=adam)).findings
    assert not any(f.evidence.get("thrown_untrained") for f in usual)
    # a run that ends inside those updates (Mean Teacher asserts its loss below 1e5 and stops: at SGD 5000x its usual
    # rate, 0.6 -> 2.6 -> 1061 in three steps) or whose loss turns NaN there is judged on what it recorded
    short = diagnose(hist(np.array([0.6, 2.6, 1061.0])), ctx(lr=50.0, loop={"optimizer": "SGD"}))
    f = next(f for f in short.findings if f.problem == "lr_too_high")
    assert f.detected_at == 3 and "5000x SGD's usual 0.01" in f.message


def test_an_output_squashed_flat_only_after_the_loss_jumped_is_the_rates_doing():
    """AttentionDeepMIL under Adam at 100x: a bag's loss jumped to 17x chance at step 3, and from step 550 the sigmoid sat
    pinned at its clamp, handing the output no gradient - told saturated_loss beside the rate, a code that contradicts a
    rate 100x too high.  A squashed output that comes after such a jump is the jump's; one with no jump before it stays."""
    from gradmedic.doctor.diagnose import SEVERITY, Finding, _reconcile

    def jump():
        return Finding("lr_too_high", SEVERITY["lr_too_high"], [], 3, 3, "the loss jumped to 12 at step 3",
                       {"loss": 12.0, "chance_loss": 0.69, "jump": True}, [])

    def squashed(at):
        return Finding("saturated_loss", SEVERITY["saturated_loss"], [], at, at, "the output is squashed",
                       {"out_grad": 0.0, "out_grad_at_chance": 0.5}, [])

    assert {f.problem for f in _reconcile([jump(), squashed(550)])} == {"lr_too_high"}
    assert "saturated_loss" in {f.problem for f in _reconcile([squashed(550)])}
    rise = Finding("lr_too_high", SEVERITY["lr_too_high"], [], 3, 100, "the loss rose 3x", {"loss": 2.0, "min_loss": 0.6}, [])
    assert "saturated_loss" in {f.problem for f in _reconcile([rise, squashed(550)])}


def test_a_squared_error_chance_level_far_above_the_first_loss_is_no_chance_level():
    """greydanus's Hamiltonian network: its loss is on the time derivatives autograd takes of its output (the energy), so
    the targets its output gradient implies are no targets - 610 against a first loss of 0.93, and its stall under a rate
    1000x too low read as 0.0015 of "chance".  An untrained network 100x better than predicting the targets' mean is no
    untrained regression: no chance level; the same loss with targets of variance 1 keeps it."""
    loss = np.linspace(0.926, 0.916, 600)
    S = len(np.arange(1, 601, 10))

    def out(var):
        o = np.full((S, len(OUT_STATS)), np.nan)
        o[:, OUT_STATS.index("width")] = 1
        o[:, OUT_STATS.index("mse_implied")] = loss[::10]
        o[:, OUT_STATS.index("mse_const")] = var
        return o

    from gradmedic.doctor.diagnose import _squared_error_chance

    assert _squared_error_chance(hist(loss, out=out(610.0))) is None
    assert _squared_error_chance(hist(loss, out=out(1.0)))[0] == pytest.approx(1.0)


def test_constant_targets_give_a_squared_error_no_chance_level():
    """Deep SVDD's loss is the squared distance to one fixed centre c: the variance of those "targets" is float rounding
    (1e-16 to 1e-14 of the first loss), so predicting their mean is the whole task, not an untrained guess, and every
    healthy run sat at 1e14x "chance".  Targets of variance 1e-3 against the same first loss keep their chance level."""
    loss = np.linspace(1.2, 0.01, 150)
    S = len(np.arange(1, 151, 10))

    def out(var):
        o = np.full((S, len(OUT_STATS)), np.nan)
        o[:, OUT_STATS.index("width")] = 32
        o[:, OUT_STATS.index("mse_implied")] = loss[::10]
        o[:, OUT_STATS.index("mse_const")] = var
        return o

    from gradmedic.doctor.diagnose import _squared_error_chance

    assert _squared_error_chance(hist(loss, out=out(2e-15))) is None
    assert _squared_error_chance(hist(loss, out=out(1e-3)))[0] == pytest.approx(1e-3)


def test_a_run_that_ended_at_chance_without_ever_leaving_it_learned_nothing():
    """d2l's deep GRU at 1/1000 of its SGD rate sat at ln 28 for all its 395 steps (5x below SGD's usual rate, its steps
    not small enough for lr_too_low): nothing learned, told nothing.  A run that never left chance and ended there is a
    plateau at its last sample, one window long at least; the same course cut at step 90, or one that leaves chance by
    its end, or a live diagnose() while the loss still sits there and the run may yet learn (the monitor not closed:
    loop_facts ended), is not judged so."""
    c = ctx(lr=2e-3, loop={"optimizer": "SGD", "ended": True})
    out = (28, 0.5, 0.3)
    stuck = noisy(math.log(28), 395, 0.003)
    assert "plateau" in diagnose(hist(stuck, update=5e-3, out=out), c).problems
    assert not diagnose(hist(stuck, update=5e-3, out=out), ctx(lr=2e-3, loop={"optimizer": "SGD"})).problems
    assert not diagnose(hist(stuck[:90], update=5e-3, out=out), c).problems
    learns = np.concatenate([stuck[:300], np.linspace(math.log(28), 0.3, 95)])
    assert not diagnose(hist(learns, update=5e-3, out=out), c).problems


def test_a_closed_monitor_says_its_run_is_over():
    """loop_facts ended: False while the loop runs (a live diagnose() judges a moment of it), True once close() ran."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    mon = gradmedic.watch(model, opt, every=1)
    for _ in range(3):
        opt.zero_grad()
        loss = F.cross_entropy(model(torch.randn(16, 4)), torch.randint(0, 3, (16,)))
        loss.backward()
        mon.step(loss)
        opt.step()
    assert mon.loop_facts["ended"] is False
    mon.close()
    assert mon.loop_facts["ended"] is True


@pytest.mark.parametrize("assign", [True, False])
def test_a_loop_that_sets_grad_itself_is_not_read_as_one_that_never_zeroes_it(assign):
    """vmikulik's MAML takes its meta-gradient with torch.autograd.grad and assigns it, p.grad = g, never calling
    zero_grad(): nothing is summed, yet the check saw last step's gradient in .grad as the hook fired and told every run
    grads_not_zeroed (7 healthy runs of public set 126).  The same loop with backward() and no zero_grad() sums them."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    mon = gradmedic.watch(model, opt, every=1)
    x, y = torch.randn(64, 4), torch.randn(64, 1)
    for _ in range(30):
        loss = F.mse_loss(model(x), y)
        if assign:
            for p, g in zip(model.parameters(), torch.autograd.grad(loss, list(model.parameters())), strict=True):
                p.grad = g
        else:
            loss.backward()
        mon.step(loss)
        opt.step()
    mon.close()
    assert ("grads_not_zeroed" in mon.diagnose().problems) is (not assign)


@pytest.mark.parametrize("zero", [True, False])
def test_a_step_with_two_backward_calls_is_judged_for_carried_gradients(zero):
    """locuslab's fast adversarial training: each step's FGSM backward() (for the input's gradient) comes before its
    opt.zero_grad(), then the training loss's backward().  Steps with several backward() calls were not judged, so the
    loop without that zero_grad() was told dead units, never grads_not_zeroed (public set 129).  Now .grad at step()
    is checked for the last step's gradient plus all that backward() handed it since: only what nothing cleared."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 3))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    mon = gradmedic.watch(model, opt, every=1)
    for _ in range(30):
        x, y = torch.randn(32, 8), torch.randint(0, 3, (32,))
        delta = torch.zeros_like(x).uniform_(-0.1, 0.1).requires_grad_(True)
        F.cross_entropy(model(x + delta), y).backward()  # the attack's gradient (into the weights' .grad too)
        adv = (x + 0.1 * delta.grad.sign()).detach()
        if zero:
            opt.zero_grad()
        loss = F.cross_entropy(model(adv), y)
        loss.backward()
        mon.step(loss)
        opt.step()
    mon.close()
    facts = mon.loop_facts
    assert facts["carry_checks"] >= 20
    assert ("grads_not_zeroed" in mon.diagnose().problems) is (not zero)


@pytest.mark.parametrize("evidence", [{"gradient_died": True}, {"weight_growth": 27.0}, {"settled_above": True}])
def test_an_output_squashed_after_the_rate_killed_the_gradient_or_grew_the_weights_is_the_rates(evidence):
    """haowei01's RankNet under Adam at 100x and 1000x: every gradient 0 from step 11 (or the weights 27x by then), its
    ReLU6 score pinned flat, then told saturated_loss at step 61 beside the rate (public set 138).  A squash that comes
    after the rate visibly acted - a jump, a killed gradient, weights grown many times - is the rate's doing; after a
    finding that only says the loss settled, it is kept."""
    from gradmedic.doctor.diagnose import Finding, _reconcile

    rate = Finding("lr_too_high", "serious", [], 11, 11, "", dict(evidence), [])
    squash = Finding("saturated_loss", "serious", [], 61, 61, "", {"out_grad": 1e-3}, [])
    kept = {f.problem for f in _reconcile([rate, squash])}
    assert ("saturated_loss" in kept) is bool(evidence.get("settled_above"))


def test_weights_drawn_far_too_large_under_a_loss_with_no_chance_level_are_judged_by_their_first_gradient():
    """A Burgers PINN, an HNN, MAML's sine regression and a CVAE with N(0, 1) weights: no chance level, so the first loss
    is the yardstick, and the loss the init made huge (5e5, 1e12) fell 100x and read as progress - nothing was reported
    (public sets 126, 131, 166, 167).  Their first gradient was 35 to 1e15x the weight norm of a layer drawn above
    init_gain; a fan-in init's is a small fraction of it, and so was that of the healthy runs with such a layer (a neural
    additive model 0.19, an MDN 0.26).  The init is reported at the first sample, the steepness in its evidence."""
    loss = np.r_[5e5, np.geomspace(5e4, 2e3, 24), np.geomspace(1.9e3, 1e3, 375)]  # 0.14 of the first quarter window's
    c = dict(lr=5e-4, loop={"optimizer": "Adam"})
    grad = np.repeat(np.r_[[3e4 * 63.0] * 3, np.geomspace(3e3, 1.0, 37)][:, None], 3, axis=1)  # 3e4x the weight norm
    steep = hist(loss, grad=grad, weight=63.0, kinds=("saturating",) * 2)
    d = diagnose(steep, ctx(("saturating",) * 2, act_types=["Tanh", "Tanh"], weight_gain=[8.0, 8.0, 8.0], **c))
    f = next(f for f in d.findings if f.evidence.get("init_too_large"))
    assert f.problem == "saturated_units" and f.detected_at == 1 and "rows of norm 8" in f.message
    # the same first gradient from fan-in weights is not the init's; nor a gradient 0.2x the weights from large ones
    fan_in = diagnose(steep, ctx(("saturating",) * 2, act_types=["Tanh", "Tanh"], weight_gain=[0.58] * 3, **c))
    assert not any(f.evidence.get("init_too_large") for f in fan_in.findings)
    gentle = grad.copy()
    gentle[0] = 0.2 * 63.0
    calm = diagnose(hist(loss, grad=gentle, weight=63.0, kinds=("saturating",) * 2),
                    ctx(("saturating",) * 2, act_types=["Tanh", "Tanh"], weight_gain=[8.0, 8.0, 8.0], **c))
    assert not any(f.evidence.get("init_too_large") for f in calm.findings)
    # a ReLU net with a Sigmoid output (the CVAE) is held to init_gain, not to a sigmoid net's 4x: its signal grows
    relu = diagnose(hist(loss, grad=grad, weight=63.0, kinds=("relu", "saturating")),
                    ctx(("relu", "saturating"), act_types=["ReLU", "Sigmoid"], weight_gain=[9.0, 9.0, 9.0], **c))
    g = next(f for f in relu.findings if f.evidence.get("init_too_large"))
    assert g.problem == "exploding_gradients" and "grow layer by layer" in g.message


def test_a_first_layer_that_indexes_its_input_into_embeddings_leaves_the_input_scale_unjudged():
    """DeepCTR-Torch feeds its models one float table: category ids in some columns, dense features in others; its Linear
    (run first) holds the ids' embedding tables and a weight over the dense columns only.  The ids' scale is no
    pre-activation's, yet it was read as input features of scale 49 and told unscaled_inputs on every healthy run (public
    set 172).  Such a first layer - the user's own module, holding embeddings, no weight of its own over the input's
    features - leaves the check off, with a note; the same table fed to an nn.Linear is still unscaled_inputs."""

    class CTRLinear(nn.Module):  # DeepCTR-Torch's Linear: embeddings for the id columns, a weight for the dense ones
        def __init__(self):
            super().__init__()
            self.emb = nn.ModuleList(nn.Embedding(1000, 1) for _ in range(4))
            self.weight = nn.Parameter(torch.randn(2, 1) * 1e-2)

        def forward(self, x):
            ids = sum(e(x[:, i].long()) for i, e in enumerate(self.emb))
            return ids + x[:, 4:] @ self.weight

    class CTR(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = CTRLinear()
            self.emb = nn.ModuleList(nn.Embedding(1000, 8) for _ in range(4))
            self.dnn = nn.Sequential(nn.Linear(34, 32), nn.ReLU(), nn.Linear(32, 1))

        def forward(self, x):
            logit = self.linear(x)  # run first, as in DeepCTR's models: the layer the data enters
            deep = torch.cat([e(x[:, i].long()) for i, e in enumerate(self.emb)] + [x[:, 4:]], dim=1)
            return logit + self.dnn(deep)

    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 1000, (512, 4), generator=g).float()
    x = torch.cat([ids, torch.rand(512, 2, generator=g)], dim=1)
    y = ((ids[:, 0] % 2) == 0).float()[:, None]
    torch.manual_seed(0)
    net = CTR()
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    mon = _full_batch_loop(net, opt, lambda m: F.binary_cross_entropy_with_logits(m(x), y), 120, every=5)
    d = mon.diagnose()
    assert "unscaled_inputs" not in d.problems and any("input scale check is off" in n and "CTRLinear" in n
                                                        for n in d.notes)
    assert mon.history.inputs.shape[2] == 0
    # the same table into a plain nn.Linear is read, and its id columns are far from unit scale
    torch.manual_seed(0)
    flat = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 1))
    opt = torch.optim.SGD(flat.parameters(), 1e-3)
    mon = _full_batch_loop(flat, opt, lambda m: F.binary_cross_entropy_with_logits(m(x), y), 60, every=5)
    assert "unscaled_inputs" in mon.diagnose().problems


def test_a_cross_entropy_summed_over_the_batch_is_no_squared_error_over_large_targets():
    """DeepCTR-Torch sums its binary cross-entropy over the batch: 256 ln 2 = 177 at the start, over a sigmoid output of
    scale 0.5, which read as a squared error over targets of scale 13 once the loss stalled (public set 172, every healthy
    run).  The targets' variance that the output gradient implies beside the loss (mse_const) is that of 0/1 labels, far
    inside the bar: no unscaled_target.  A real squared error over targets of scale 100 still is one."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 8, generator=g)
    y = (torch.rand(256, 1, generator=g) < 0.25).float()  # labels independent of x: the loss stalls at 256 H(0.25)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid())
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    mon = _full_batch_loop(net, opt, lambda m: F.binary_cross_entropy(m(x), y, reduction="sum"), 400, every=10)
    assert "unscaled_target" not in mon.diagnose().problems
    torch.manual_seed(0)
    reg = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1))
    opt = torch.optim.SGD(reg.parameters(), 1e-5)
    target = 100.0 * (x[:, :1] + 1.0)
    mon = _full_batch_loop(reg, opt, lambda m: F.mse_loss(m(x), target), 200, every=10)
    assert "unscaled_target" in mon.diagnose().problems


def test_a_depth_profile_is_no_vanishing_stall_after_the_first_updates_halved_the_loss():
    """juho-lee's Set Transformer: its first attention block's query projection gets 0.015-0.037 of the output layer's
    gradient from step 1, and its loss falls from 8.8 to 4.3 in its first updates, then slowly (public set 148): the
    reference (the first quarter window's median) came after that fall, and four healthy runs were told
    vanishing_gradients.  The same profile under a loss that sits where it began is still vanishing_gradients."""
    grad = np.ones((40, 3))
    grad[:, 0] = 0.02
    fell = np.r_[8.8, 6.0, 4.6, noisy(4.2, 397, 0.05)]
    d = diagnose(hist(fell, grad=grad), ctx())
    assert "vanishing_gradients" not in d.problems
    flat = np.r_[4.4, 4.3, 4.2, noisy(4.2, 397, 0.05)]
    assert "vanishing_gradients" in diagnose(hist(flat, grad=grad), ctx()).problems


def test_a_head_whose_output_reaches_no_loss_is_a_note_not_a_cut_off_network():
    """emited's VRNN computes a decoder std head beside a Bernoulli likelihood that reads only the mean: the head never
    gets a gradient while the layers before it do, and all ten healthy runs were told no_gradient, "only the layers after
    them learn" (public set 176).  A dead end changes no other layer's training: a note.  A cut - a .detach() between
    the layers - leaves every layer before it without a gradient, and stays a finding."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 8, generator=g)
    y = (x[:, :1] > 0).float()

    class TwoHeads(nn.Module):
        def __init__(self, cut=False):
            super().__init__()
            self.body, self.mean, self.std, self.cut = nn.Linear(8, 16), nn.Linear(16, 1), nn.Linear(16, 1), cut

        def forward(self, v):
            h = torch.relu(self.body(v))
            return self.mean(h.detach() if self.cut else h), F.softplus(self.std(h))

    for cut in (False, True):
        torch.manual_seed(0)
        net = TwoHeads(cut)
        opt = torch.optim.Adam(net.parameters(), 1e-2)
        # (the std head is computed and left out of the loss)
        mon = _full_batch_loop(net, opt, lambda m: F.binary_cross_entropy_with_logits(m(x)[0], y), 150, every=5)
        d = mon.diagnose()
        if not cut:
            assert "no_gradient" not in d.problems
            assert any("std" in n and "reaches no loss" in n for n in d.notes)
        else:  # body and std behind the cut: the first layer is silent
            f = next(f for f in d.findings if f.problem == "no_gradient")
            assert "body" in f.layers


def test_a_layer_whose_norm_runs_right_after_it_from_another_module_is_held_to_the_normed_bar():
    """TabNet's GLU layers call a Linear held in a shared ModuleList, then their own ghost BatchNorm: registration order
    puts another Linear after it, so its own init (rows of norm 3.1) read as too large on every run, told saturated_units
    (public set 170).  The monitor records the order layers first start in a training pass (loop_facts run_order); a
    layer a norm runs right after is normed, held to init_gain_normed (6): TabNet's N(0, 1) draw (5.1) trained as well,
    those that broke behind norms were at 11-34."""
    chance = math.log(10)
    loss = np.r_[noisy(chance, 60, 0.02), np.linspace(chance, 0.5 * chance, 340)]  # slow: 0.7 of chance at step 100
    types = ("Linear", "Linear", "BatchNorm1d")
    loop = {"run_order": ["fc1", "out", "fc2"], "optimizer": "Adam"}  # fc1 -> its norm (registered last) -> fc2
    d = diagnose(hist(loss, out=(10, 0.5, 1.0)), ctx(types=types, weight_gain=[4.0, 0.5, 1.0], lr=1e-3, loop=loop))
    assert not any(f.evidence.get("init_too_large") for f in d.findings)
    # registered and run in the same order (no norm after fc1): the same draw is too large
    plain = diagnose(hist(loss, out=(10, 0.5, 1.0)),
                     ctx(types=types, weight_gain=[4.0, 0.5, 1.0], lr=1e-3, loop={**loop, "run_order": ["fc1", "fc2", "out"]}))
    assert any(f.evidence.get("init_too_large") and not f.evidence.get("normed") for f in plain.findings)
    # N(0, 1) behind the norm (rows of norm 12): each step moves it 144x less for its size
    big = diagnose(hist(loss, out=(10, 0.5, 1.0)), ctx(types=types, weight_gain=[12.0, 0.5, 1.0], lr=1e-3, loop=loop))
    f = next(f for f in big.findings if f.evidence.get("init_too_large"))
    assert f.evidence.get("normed") and f.problem == "vanishing_gradients"


def test_the_monitor_records_the_order_layers_first_run_in():
    """loop_facts run_order: the watched layers in the order they first start in a training pass, not as registered."""

    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.shared = nn.ModuleList([nn.Linear(8, 16)])  # registered first, as TabNet's shared GLU Linears
            self.head = nn.Linear(16, 2)
            self.bn = nn.BatchNorm1d(16)  # registered last, run right after the shared Linear

        def forward(self, v):
            return self.head(torch.relu(self.bn(self.shared[0](v))))

    torch.manual_seed(0)
    net = Shared()
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    x, y = torch.randn(64, 8), torch.randint(0, 2, (64,))
    mon = _full_batch_loop(net, opt, lambda m: F.cross_entropy(m(x), y), 6, every=2)
    assert mon.loop_facts["run_order"] == ["shared.0", "bn", "head"]


def test_a_softmax_before_cross_entropy_is_told_from_the_first_gradient_and_the_probability_floor():
    """F.softmax in forward, then F.cross_entropy: before any update the loss hands the logits about 1/C of what a
    cross-entropy over them must (||p - y|| >= 1 - p_y, 0.84 at these untrained logits; 0.09 recorded), and the loss never
    goes below ln(e + C - 1) - 1, the least it can be over probabilities.  On digits with 30% of the labels redrawn the
    squashed net stalls at 1.75 while the one given its logits goes on to 0.87; the output-gradient reading at the loss
    alone waited until step 131, past the 100 steps an unambiguous problem gets (bentrevett's LeNet, public set 75)."""
    x, y = _digits()
    g = torch.Generator().manual_seed(0)
    redrawn = torch.where(torch.rand(len(y), generator=g) < 0.3, torch.randint(0, 10, (len(y),), generator=g), y)

    def run(loss_fn):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)

        batches = iter(range(10**6))

        def loss_of(m):  # consecutive batches of 128, as _digits_train's
            start = (next(batches) * 128) % 1664
            return loss_fn(m(x[start:start + 128]), redrawn[start:start + 128])
        return _full_batch_loop(model, opt, loss_of, 200, 10)

    squashed = run(lambda z, t: F.cross_entropy(F.softmax(z, dim=1), t))
    floor = math.log(math.e + 9) - 1
    assert squashed.history.loss.min() >= floor and squashed.history.loss[-10:].mean() > floor + 0.2
    f = next(f for f in squashed.diagnose().findings if f.problem == "saturated_loss")
    assert f.detected_at <= 100 and f.evidence["out_grad"] < 0.1 and f.evidence["floor"] == pytest.approx(floor)
    logits = run(F.cross_entropy)
    assert logits.history.loss[-10:].mean() < 1.0 and logits.diagnose().problems == set()


def test_a_rate_is_not_judged_low_while_a_warm_up_is_still_raising_it():
    """PatchTST's OneCycleLR climbs from 1/25 of its peak of 1e-4 (10x below Adam's usual rate) over its first 160 steps;
    its healthy runs sat at the loss of predicting the mean until step ~100 and then learned, and were told lr_too_low
    at step 61 (public set 183).  While the recorded rate still climbs the rate is not yet the one set: judged once it
    stops.  A peak 30x or more below usual is low whatever the warm-up reaches, and is still told within 100 steps."""
    loss = np.r_[noisy(1.0, 100, 0.003), np.linspace(1.0, 0.3, 100), noisy(0.3, 300, 0.003)]

    def run(peak):
        lr = np.r_[np.linspace(peak / 25, peak, 160), np.full(340, peak)]
        return diagnose(hist(loss, update=5e-4, lr=lr), ctx(reference_loss=1.0, lr=peak, loop={"optimizer": "Adam"}))

    assert "lr_too_low" not in run(0.9996e-4).problems  # (OneCycle's recorded peak: a hair under 1e-4)
    f = next(f for f in run(1e-6).findings if f.problem == "lr_too_low")
    assert f.detected_at <= 100


def test_a_loss_that_crosses_zero_or_sums_over_more_calls_is_no_rise_over_its_minimum():
    """pytorch/examples' actor-critic sums -log p times standardized advantages and the critic's error over each episode
    (public set 182): the loss swings through 0 (-34 to 140), so a multiple of its least value measures nothing; and
    where it stays positive it grows with the episodes, 25 to 500 calls of the policy a pass, 8.4 to 28 while each call's
    share fell (told a 3.4x rise).  The same rise of a loss that stays above 0 over a constant count is still one."""
    rise = np.r_[noisy(1.0, 100, 0.05), np.linspace(1.0, 6.0, 100), noisy(6.0, 200, 0.05)]
    assert "lr_too_high" in diagnose(hist(rise), ctx()).problems
    crossing = rise.copy()
    crossing[40:45] = -2.0  # five episodes whose advantages outweighed the critic's error
    assert "lr_too_high" not in diagnose(hist(crossing), ctx()).problems

    def counted(calls):
        out = np.full((40, len(OUT_STATS)), np.nan)
        out[:, OUT_STATS.index("calls")] = calls
        return diagnose(hist(rise, out=out), ctx())

    assert "lr_too_high" not in counted(np.r_[np.full(10, 25.0), np.linspace(25, 500, 10), np.full(20, 500.0)]).problems
    assert "lr_too_high" in counted(np.full(40, 25.0)).problems


def test_the_monitor_counts_the_output_modules_calls_in_each_sampled_pass():
    """history ``calls``: how many times the output's module ran in a sampled training pass - a policy stepped once per
    step of an episode whose length the loop decides (7, then 12 steps here), each a batch of one."""
    torch.manual_seed(0)
    policy = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    opt = torch.optim.Adam(policy.parameters(), lr=1e-2)
    with gradmedic.watch(policy, opt, every=1) as mon:
        for length in (7, 12):
            logp = torch.stack([F.log_softmax(policy(torch.randn(4)), -1)[0] for _ in range(length)])
            loss = -logp.sum()
            opt.zero_grad()
            loss.backward()
            mon.step(loss)
            opt.step()
    assert mon.history.output("calls").tolist() == [7.0, 12.0]


def test_a_plateau_at_chance_that_the_run_left_is_dropped_by_its_end():
    """Poincare embeddings under their burn-in sit at ln 51 for 500 steps, then fall to 0.52 of it (public set 189): a
    live diagnosis at step 501 reports the plateau; the run's end, below plateau_left (0.8) of it, has left it behind.
    One that ends at 0.9 of chance has not."""
    chance = math.log(51)
    left = np.r_[noisy(chance, 600, 0.003), np.linspace(chance, 0.52 * chance, 1400), noisy(0.52 * chance, 600, 0.003)]
    assert "plateau" in diagnose(hist(left[:520]), ctx(reference_loss=chance)).problems
    assert "plateau" not in diagnose(hist(left), ctx(reference_loss=chance)).problems
    stayed = np.r_[noisy(chance, 600, 0.003), np.linspace(chance, 0.9 * chance, 1400), noisy(0.9 * chance, 600, 0.003)]
    assert "plateau" in diagnose(hist(stayed), ctx(reference_loss=chance)).problems


def test_outputs_the_loss_does_not_read_imply_no_targets():
    """A squared error over 4 of the output's 16 channels (a cellular automaton's RGBA against one target image; its
    hidden channels get no gradient) implied the hidden state's spread as the targets', a chance level of 0.014 against a
    loss that fell from 0.18 to 0.05, and every healthy run was told lr_too_high (public set 193).  The channels the loss
    does not read count as constant: one target for every sample has no chance level, and targets that vary keep theirs."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 16))
    x = torch.randn(256, 8)

    def run(y):
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        return _full_batch_loop(model, opt, lambda m: F.mse_loss(m(x)[:, :4], y), 30, 10)

    one = run(torch.full((256, 4), 0.5))  # one target for every sample
    assert infer_chance(one.history, Context.from_monitor(one))[0] is None
    varied = torch.randn(256, 4) * 2.0  # targets of variance 4: the chance level of a mean over them
    mon = run(varied)
    assert infer_chance(mon.history, Context.from_monitor(mon))[0] == pytest.approx(float(varied.var(0).mean()), rel=0.25)
