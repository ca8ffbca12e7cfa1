"""``gradmedic.model.optim`` against the update rules of seed 002 §7.3, written out by hand in numpy.

Every test runs PyTorch's optimizer (as built by ``make_optimizer`` from a resolved TrainSpec) for a
few steps on a fixed quadratic whose gradient is known in closed form, and compares the parameters
with the seed's equations iterated by hand.
"""

import math

import numpy as np
import pytest
import torch

from gradmedic import spec as S
from gradmedic.model.optim import make_optimizer, make_scheduler

# L(w) = 0.5 * sum(a * w^2): gradient g(w) = a * w.  The curvatures mix a steep (10), a unit and a
# shallow (0.1) direction: the narrow steep valley of seed 002 Figure 7.3.
A = np.array([10.0, 1.0, 0.1])
W0 = np.array([1.0, -2.0, 3.0])


def grad(w, center=0.0):
    return A * (w - center)


def train_spec(optimizer, **train):
    return S.resolve(S.validate({"train": {"optimizer": optimizer, **train}})).train


def torch_steps(optimizer, n=3, extra_l2=0.0, center=(0.0, 0.0, 0.0), **train):
    """Parameters after each of ``n`` steps of the optimizer built from the spec, and the spec.

    The loss is 0.5 * sum(a * (w - center)^2); ``extra_l2`` adds 0.5 * extra_l2 * |w|^2 to it (an
    explicit L2 penalty, gradient extra_l2 * w).
    """
    t = train_spec(optimizer, **train)
    w = torch.tensor(W0, dtype=torch.float64, requires_grad=True)
    opt = make_optimizer([w], t)
    a = torch.tensor(A, dtype=torch.float64)
    c = torch.tensor(center, dtype=torch.float64)
    out = []
    for _ in range(n):
        opt.zero_grad()
        loss = 0.5 * (a * (w - c) ** 2).sum() + 0.5 * extra_l2 * (w * w).sum()
        loss.backward()
        opt.step()
        out.append(w.detach().numpy().copy())
    return out, t


# --------------------------------------------------------------------------- defaults and mapping


@pytest.mark.parametrize("optimizer, cls, lr, momentum, eps", [
    ("gd", torch.optim.SGD, 0.01, 0.0, 1e-7),
    ("sgd", torch.optim.SGD, 0.01, 0.0, 1e-7),
    ("momentum", torch.optim.SGD, 0.01, 0.9, 1e-7),   # seed 002 §7.3.1: rho near 0.9
    ("nesterov", torch.optim.SGD, 0.01, 0.9, 1e-7),
    ("adagrad", torch.optim.Adagrad, 0.01, 0.0, 1e-7),  # seed 002 §7.3.3: eta 0.01, eps 1e-7
    ("rmsprop", torch.optim.RMSprop, 0.001, 0.0, 1e-7),
    ("adam", torch.optim.Adam, 0.001, 0.0, 1e-8),
    ("adamw", torch.optim.AdamW, 0.001, 0.0, 1e-8),
])
def test_resolved_defaults_reach_the_torch_optimizer(optimizer, cls, lr, momentum, eps):
    t = train_spec(optimizer)
    assert t.lr == lr == S.OPTIMIZER_DEFAULT_LR[optimizer]
    assert t.momentum == momentum and t.eps == eps and t.l2 == 0.0
    opt = make_optimizer([torch.zeros(2, requires_grad=True)], t)
    assert type(opt) is cls
    g = opt.param_groups[0]
    assert g["lr"] == lr and g["weight_decay"] == 0.0
    if cls is torch.optim.SGD:
        assert g["momentum"] == momentum
        assert g["nesterov"] is (optimizer == "nesterov")
    else:
        assert g["eps"] == eps
    if optimizer == "rmsprop":
        assert g["alpha"] == 0.9 and g["momentum"] == 0.0  # seed 002 §7.3.4: rho 0.9, no momentum
    if optimizer in ("adam", "adamw"):
        assert g["betas"] == (0.9, 0.999)


def test_explicit_hyperparameters_override_the_defaults():
    g = make_optimizer([torch.zeros(1, requires_grad=True)], train_spec("nesterov", lr=0.3, momentum=0.5)).param_groups[0]
    assert (g["lr"], g["momentum"], g["nesterov"]) == (0.3, 0.5, True)
    g = make_optimizer([torch.zeros(1, requires_grad=True)], train_spec("rmsprop", rho=0.8, eps=1e-3)).param_groups[0]
    assert (g["alpha"], g["eps"]) == (0.8, 1e-3)
    g = make_optimizer([torch.zeros(1, requires_grad=True)], train_spec("adam", beta1=0.8, beta2=0.99)).param_groups[0]
    assert g["betas"] == (0.8, 0.99)
    g = make_optimizer([torch.zeros(1, requires_grad=True)], train_spec("sgd", momentum=0.3)).param_groups[0]
    assert g["momentum"] == 0.3 and g["nesterov"] is False


# --------------------------------------------------------------------------- update rules, 3 steps each


@pytest.mark.parametrize("optimizer", ["gd", "sgd"])
def test_plain_gradient_descent(optimizer):
    got, t = torch_steps(optimizer, lr=0.05)
    w = W0.copy()
    for step in range(3):
        w = w - t.lr * grad(w)  # w(n+1) = w(n) - eta g(n)
        np.testing.assert_allclose(got[step], w, rtol=1e-13, atol=1e-15)
    # hand value of the first step: w0 - 0.05 * a * w0
    np.testing.assert_allclose(got[0], [0.5, -1.9, 2.985], rtol=1e-13)


def test_momentum_is_seed_eq_7_1_to_7_3():
    got, t = torch_steps("momentum", lr=0.02)
    assert t.momentum == 0.9
    w, v, gs = W0.copy(), np.zeros(3), []
    for n in range(3):
        g = grad(w)
        gs.append(g)
        v = t.momentum * v - t.lr * g  # v(n) = rho v(n-1) - eta g(n)
        # eq 7.2: v(n) = -eta * sum_i rho^(n-i) g(i)
        np.testing.assert_allclose(v, -t.lr * sum(t.momentum ** (n - i) * gs[i] for i in range(n + 1)), rtol=1e-12)
        w = w + v  # eq 7.1
        np.testing.assert_allclose(got[n], w, rtol=1e-12, atol=1e-14)
    # the momentum rule differs from plain gradient descent after the first step
    plain, _ = torch_steps("sgd", lr=0.02)
    np.testing.assert_allclose(got[0], plain[0], rtol=1e-13)
    assert np.abs(got[2] - plain[2]).max() > 1e-3


def test_nesterov_parameter_is_the_seeds_look_ahead_point():
    got, t = torch_steps("nesterov", lr=0.02, n=4)
    assert t.momentum == 0.9
    w, v = W0.copy(), np.zeros(3)
    for n in range(4):
        v = t.momentum * v - t.lr * grad(w + t.momentum * v)  # seed 002 §7.3.2: g at w(n) + rho v(n-1)
        w = w + v
        # PyTorch keeps the look-ahead point w + rho v as its parameter (Sutskever et al. 2013)
        np.testing.assert_allclose(got[n], w + t.momentum * v, rtol=1e-12, atol=1e-14)
    momentum, _ = torch_steps("momentum", lr=0.02, n=4)
    assert np.abs(got[3] - momentum[3]).max() > 1e-3  # a different rule from plain momentum


# PyTorch adds eps outside the square root (sqrt(s) + eps), the seed inside (sqrt(s + eps)).  With
# eps = 1e-12 and gradients of order 0.1..30 the two differ by ~1e-12 relative, so the seed's rule
# is checked tightly; the looser check with the default eps shows the difference stays below 1e-6.


@pytest.mark.parametrize("eps, rtol", [(1e-12, 1e-10), (None, 1e-6)])
def test_adagrad_is_seed_eq_7_4(eps, rtol):
    got, t = torch_steps("adagrad", **({} if eps is None else {"eps": eps}))
    assert t.lr == 0.01
    w, acc = W0.copy(), np.zeros(3)
    for n in range(3):
        g = grad(w)
        acc = acc + g * g  # sum_i g(i)^2
        w = w - t.lr / np.sqrt(acc + t.eps) * g  # eq 7.4
        np.testing.assert_allclose(got[n], w, rtol=rtol, atol=1e-14)


@pytest.mark.parametrize("eps, rtol", [(1e-12, 1e-10), (None, 1e-6)])
def test_rmsprop_is_seed_eq_7_5(eps, rtol):
    got, t = torch_steps("rmsprop", lr=0.01, **({} if eps is None else {"eps": eps}))
    assert t.rho == 0.9
    w, e = W0.copy(), np.zeros(3)
    for n in range(3):
        g = grad(w)
        e = t.rho * e + (1 - t.rho) * g * g  # E[g^2]_n
        w = w - t.lr / np.sqrt(e + t.eps) * g  # eq 7.5, RMS[g]_n = sqrt(E[g^2]_n + eps)
        np.testing.assert_allclose(got[n], w, rtol=rtol, atol=1e-14)
    # first step by hand: E = 0.1 g^2, so the step is eta * g / sqrt(0.1 g^2) = eta * sqrt(10) * sign(g)
    np.testing.assert_allclose(got[0], W0 - 0.01 * math.sqrt(10) * np.sign(W0), rtol=rtol)


@pytest.mark.parametrize("eps, rtol", [(1e-12, 1e-10), (None, 1e-6)])
def test_adam_is_the_seeds_rule_with_bias_correction(eps, rtol):
    got, t = torch_steps("adam", lr=0.01, **({} if eps is None else {"eps": eps}))
    assert (t.beta1, t.beta2) == (0.9, 0.999)
    w, lam, delta = W0.copy(), np.zeros(3), np.zeros(3)
    for n in range(1, 4):
        g = grad(w)
        lam = t.beta1 * lam + (1 - t.beta1) * g  # Lambda(n), first moment
        delta = t.beta2 * delta + (1 - t.beta2) * g * g  # Delta(n), second moment
        lam_hat, delta_hat = lam / (1 - t.beta1 ** n), delta / (1 - t.beta2 ** n)
        w = w - t.lr * lam_hat / np.sqrt(delta_hat + t.eps)
        np.testing.assert_allclose(got[n - 1], w, rtol=rtol, atol=1e-14)
    # first step by hand: the bias-corrected moments are g and g^2, so each coordinate moves by eta
    np.testing.assert_allclose(got[0], W0 - 0.01 * np.sign(W0), rtol=rtol)


def test_eps_sits_outside_the_root_in_torch():
    """With a large eps the two placements differ visibly: PyTorch's is sqrt(s) + eps (documented in optim.py)."""
    got, t = torch_steps("adagrad", n=1, lr=0.1, eps=0.5)
    g = grad(W0)
    np.testing.assert_allclose(got[0], W0 - 0.1 * g / (np.sqrt(g * g) + 0.5), rtol=1e-12)
    assert np.abs(got[0] - (W0 - 0.1 * g / np.sqrt(g * g + 0.5))).max() > 1e-3


# --------------------------------------------------------------------------- L2 (weight decay)


def test_l2_adds_l2_w_to_the_gradient_by_hand():
    got, t = torch_steps("sgd", lr=0.05, l2=0.3)
    w = W0.copy()
    for n in range(3):
        w = w - t.lr * (grad(w) + 0.3 * w)
        np.testing.assert_allclose(got[n], w, rtol=1e-13)


@pytest.mark.parametrize("optimizer", ["gd", "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"])
def test_l2_equals_an_explicit_penalty_in_the_loss(optimizer):
    """weight_decay=l2 is the same as adding 0.5 * l2 * |w|^2 to the loss (gradient + l2 * w).

    The quadratic is centred off the origin so that g + l2 w is not a multiple of g (the adaptive
    rules' first steps are invariant to a rescaled gradient)."""
    c = (0.5, 1.0, 2.0)
    with_l2, t = torch_steps(optimizer, lr=0.05, l2=0.3, eps=1e-10, center=c)
    assert t.l2 == 0.3
    explicit, _ = torch_steps(optimizer, lr=0.05, extra_l2=0.3, eps=1e-10, center=c)
    without, _ = torch_steps(optimizer, lr=0.05, eps=1e-10, center=c)
    for a, b in zip(with_l2, explicit, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert np.abs(with_l2[-1] - without[-1]).max() > 1e-4  # l2 did something


def test_adamw_decays_the_weights_outside_the_adaptive_step():
    """adamw's l2 is decoupled (Loshchilov & Hutter): w <- w (1 - eta l2), then the Adam step on g alone."""
    got, t = torch_steps("adamw", lr=0.01, l2=0.5, eps=1e-12)
    w, lam, delta = W0.copy(), np.zeros(3), np.zeros(3)
    for n in range(1, 4):
        g = grad(w)
        w = w * (1 - t.lr * 0.5)
        lam = t.beta1 * lam + (1 - t.beta1) * g
        delta = t.beta2 * delta + (1 - t.beta2) * g * g
        w = w - t.lr * (lam / (1 - t.beta1 ** n)) / np.sqrt(delta / (1 - t.beta2 ** n) + t.eps)
        np.testing.assert_allclose(got[n - 1], w, rtol=1e-10)


# --------------------------------------------------------------------------- annealing


def _lrs(t, epochs, metrics=None):
    """Learning rate in use during each epoch, stepping the scheduler once per epoch as train.py does."""
    w = torch.zeros(1, requires_grad=True)
    opt = make_optimizer([w], t)
    sch = make_scheduler(opt, t)
    lrs = []
    for e in range(epochs):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sch.step(metrics[e]) if metrics is not None else sch.step()
    return lrs, sch


def test_no_schedule_gives_no_scheduler():
    t = train_spec("sgd")
    assert t.schedule == "none"
    assert make_scheduler(make_optimizer([torch.zeros(1, requires_grad=True)], t), t) is None


def test_step_schedule_multiplies_by_gamma_every_step_size_epochs():
    lrs, sch = _lrs(train_spec("sgd", lr=0.1, schedule="step", step_size=2, gamma=0.5), 7)
    assert isinstance(sch, torch.optim.lr_scheduler.StepLR)
    np.testing.assert_allclose(lrs, [0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125], rtol=1e-12)
    # the spec's default: gamma 0.1 every 30 epochs
    lrs, _ = _lrs(train_spec("sgd", lr=0.1, schedule="step"), 32)
    np.testing.assert_allclose([lrs[29], lrs[30], lrs[31]], [0.1, 0.01, 0.01], rtol=1e-12)


def test_exponential_schedule_multiplies_by_gamma_every_epoch():
    lrs, sch = _lrs(train_spec("adam", schedule="exponential", gamma=0.9), 5)
    assert isinstance(sch, torch.optim.lr_scheduler.ExponentialLR)
    np.testing.assert_allclose(lrs, [0.001, 0.0009, 0.00081, 0.000729, 0.0006561], rtol=1e-12)


def test_cosine_schedule_anneals_to_zero_over_the_epochs():
    lrs, sch = _lrs(train_spec("sgd", lr=0.2, schedule="cosine", epochs=4), 5)
    assert isinstance(sch, torch.optim.lr_scheduler.CosineAnnealingLR) and sch.T_max == 4
    # eta_k = 0.5 * eta_0 * (1 + cos(pi k / T)): 0.2, 0.1 (1 + 1/sqrt 2), 0.1, 0.1 (1 - 1/sqrt 2), 0
    expect = [0.2, 0.1 * (1 + 1 / math.sqrt(2)), 0.1, 0.1 * (1 - 1 / math.sqrt(2)), 0.0]
    np.testing.assert_allclose(lrs, expect, rtol=1e-9, atol=1e-15)


def test_plateau_schedule_cuts_the_rate_after_patience_stalled_epochs():
    t = train_spec("sgd", lr=0.1, schedule="plateau", plateau_patience=2, plateau_factor=0.5)
    held_out = [1.0, 0.8, 0.8, 0.8, 0.8, 0.7, 0.7, 0.7, 0.7, 0.7]
    lrs, sch = _lrs(t, len(held_out), held_out)
    assert isinstance(sch, torch.optim.lr_scheduler.ReduceLROnPlateau) and sch.mode == "min"
    # best 0.8 in epoch 2; three epochs without improvement (> patience 2) cut the rate after epoch 5;
    # the improvement to 0.7 in epoch 6 resets the count, three more stalls cut it again after epoch 9.
    np.testing.assert_allclose(lrs, [0.1] * 5 + [0.05] * 4 + [0.025], rtol=1e-12)
    assert sch.get_last_lr()[0] == pytest.approx(0.025)
    # the spec's default factor: a tenth
    lrs, _ = _lrs(train_spec("sgd", lr=0.1, schedule="plateau", plateau_patience=2), 6, [1.0, 0.9, 0.9, 0.9, 0.9, 0.9])
    np.testing.assert_allclose(lrs, [0.1] * 5 + [0.01], rtol=1e-12)
