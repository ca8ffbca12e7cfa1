"""Each component against the seed's equation or a hand computation."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from gradmedic import activations, build, data, init
from gradmedic import spec as S
from gradmedic.errors import SpecError
from gradmedic.optim import make_optimizer, make_scheduler

# A fixed quadratic: L(w) = 0.5 * sum(a * w^2), gradient a * w; a mixes steep and shallow directions.
A = np.array([10.0, 1.0, 0.1])
W0 = np.array([1.0, -2.0, 3.0])


def _torch_steps(optimizer, n=3, **train):
    t = S.resolve(S.validate({"train": {"optimizer": optimizer, **train}})).train
    w = torch.tensor(W0, dtype=torch.float64, requires_grad=True)
    opt = make_optimizer([w], t)
    out = []
    for _ in range(n):
        opt.zero_grad()
        (0.5 * (torch.tensor(A) * w * w).sum()).backward()
        opt.step()
        out.append(w.detach().numpy().copy())
    return out, t


def test_momentum_is_seed_eq_7_1():
    got, t = _torch_steps("momentum", lr=0.1)
    assert t.momentum == 0.9  # seed 002 §7.3.1: rho near 0.9
    w, v = W0.copy(), np.zeros(3)
    for step in range(3):
        v = t.momentum * v - t.lr * A * w  # v(n) = rho v(n-1) - eta g
        w = w + v  # w(n+1) = w(n) + v(n)   (7.1)
        np.testing.assert_allclose(got[step], w, rtol=1e-12, atol=1e-12)


def test_nesterov_evaluates_the_gradient_at_the_look_ahead_point():
    got, t = _torch_steps("nesterov", lr=0.1, n=4)
    w, v = W0.copy(), np.zeros(3)
    for step in range(4):
        v = t.momentum * v - t.lr * A * (w + t.momentum * v)  # g(w(n) + rho v(n-1)), seed 002 §7.3.2
        w = w + v
        # PyTorch keeps the look-ahead point w + rho v as its parameter (Sutskever et al. 2013).
        np.testing.assert_allclose(got[step], w + t.momentum * v, rtol=1e-12, atol=1e-12)


def test_adagrad_is_seed_eq_7_4():
    got, t = _torch_steps("adagrad", eps=1e-10)
    assert t.lr == 0.01  # seed 002 §7.3.3 default
    w, acc = W0.copy(), np.zeros(3)
    for step in range(3):
        g = A * w
        acc += g * g
        w = w - t.lr / np.sqrt(acc + t.eps) * g  # eps inside the root in the seed, outside in torch: 1e-10 is negligible
        np.testing.assert_allclose(got[step], w, rtol=1e-9, atol=1e-12)


def test_rmsprop_is_seed_eq_7_5():
    got, t = _torch_steps("rmsprop", eps=1e-10)
    assert t.rho == 0.9 and t.lr == 0.001
    w, e = W0.copy(), np.zeros(3)
    for step in range(3):
        g = A * w
        e = t.rho * e + (1 - t.rho) * g * g  # E[g^2]_n
        w = w - t.lr / np.sqrt(e + t.eps) * g
        np.testing.assert_allclose(got[step], w, rtol=1e-9, atol=1e-12)


def test_adam_is_the_seeds_update_with_bias_correction():
    got, t = _torch_steps("adam", eps=1e-12)
    assert (t.beta1, t.beta2, t.lr) == (0.9, 0.999, 0.001)
    w, m, d = W0.copy(), np.zeros(3), np.zeros(3)
    for n in range(1, 4):
        g = A * w
        m = t.beta1 * m + (1 - t.beta1) * g  # Lambda(n)
        d = t.beta2 * d + (1 - t.beta2) * g * g  # Delta(n)
        mh, dh = m / (1 - t.beta1 ** n), d / (1 - t.beta2 ** n)
        w = w - t.lr * mh / np.sqrt(dh + t.eps)
        np.testing.assert_allclose(got[n - 1], w, rtol=1e-9, atol=1e-12)


def test_sgd_and_l2():
    got, t = _torch_steps("sgd", lr=0.1, l2=0.5, n=1)
    np.testing.assert_allclose(got[0], W0 - 0.1 * (A * W0 + 0.5 * W0))  # weight decay adds l2 * w to the gradient
    assert t.momentum == 0.0


@pytest.mark.parametrize("schedule, expect", [
    ("step", [0.1, 0.1, 0.01, 0.01, 0.001]),  # step_size 2, gamma 0.1
    ("exponential", [0.1 * 0.1 ** k for k in range(5)]),
    ("cosine", [0.05 * (1 + math.cos(math.pi * k / 5)) for k in range(5)]),  # T_max = epochs = 5
])
def test_annealing_by_epoch(schedule, expect):
    t = S.resolve(S.validate({"train": {"optimizer": "sgd", "lr": 0.1, "schedule": schedule, "step_size": 2, "epochs": 5}})).train
    w = torch.zeros(1, requires_grad=True)
    opt = make_optimizer([w], t)
    sch = make_scheduler(opt, t)
    lrs = []
    for _ in range(5):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sch.step()
    np.testing.assert_allclose(lrs, expect, rtol=1e-9, atol=1e-12)


def test_plateau_annealing_cuts_the_rate_when_the_metric_stalls():
    t = S.resolve(S.validate({"train": {"optimizer": "sgd", "lr": 0.1, "schedule": "plateau", "plateau_patience": 2}})).train
    w = torch.zeros(1, requires_grad=True)
    opt = make_optimizer([w], t)
    sch = make_scheduler(opt, t)
    for loss in [1.0, 0.9, 0.9, 0.9, 0.9]:
        sch.step(loss)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01)


FAN_IN, FAN_OUT = 600, 400


@pytest.mark.parametrize("name, std", [
    ("glorot_normal", math.sqrt(2 / (FAN_IN + FAN_OUT))), ("he_normal", math.sqrt(2 / FAN_IN)),
    ("he_avg_normal", math.sqrt(4 / (FAN_IN + FAN_OUT))), ("lecun_normal", math.sqrt(1 / FAN_IN)),
    ("normal", 0.05),
])
def test_normal_inits_have_the_rules_std(name, std):
    torch.manual_seed(0)
    w = torch.empty(FAN_OUT, FAN_IN)
    init.init_weight(w, S.ModelSpec(init=name, init_std=0.05))
    assert w.std().item() == pytest.approx(std, rel=0.02) and abs(w.mean().item()) < 0.05 * std


@pytest.mark.parametrize("name, r", [
    ("glorot_uniform", math.sqrt(6 / (FAN_IN + FAN_OUT))), ("he_uniform", math.sqrt(6 / FAN_IN)),
    ("he_avg_uniform", math.sqrt(12 / (FAN_IN + FAN_OUT))), ("lecun_uniform", math.sqrt(3 / FAN_IN)),
])
def test_uniform_inits_have_the_rules_bounds(name, r):
    torch.manual_seed(0)
    w = torch.empty(FAN_OUT, FAN_IN)
    init.init_weight(w, S.ModelSpec(init=name))
    assert w.abs().max().item() <= r and w.abs().max().item() > 0.999 * r
    assert w.std().item() == pytest.approx(r / math.sqrt(3), rel=0.02)  # U(-r, r) has std r / sqrt(3)


def test_other_inits_and_biases():
    w = torch.empty(50, 30)
    init.init_weight(w, S.ModelSpec(init="uniform", init_a=-0.2, init_b=0.1))
    assert w.min() >= -0.2 and w.max() <= 0.1
    init.init_weight(w, S.ModelSpec(init="constant", init_value=0.3))
    assert torch.all(w == 0.3)
    init.init_weight(w, S.ModelSpec(init="zeros"))
    assert torch.all(w == 0)
    init.init_weight(w, S.ModelSpec(init="orthogonal"))
    torch.testing.assert_close(w.T @ w, torch.eye(30), atol=1e-5, rtol=0)
    m = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    init.apply(m, S.ModelSpec(init="he_uniform", bias_init=0.5))
    assert all(torch.all(layer.bias == 0.5) for layer in m)


def test_maxout_is_the_max_of_k_affine_maps():
    torch.manual_seed(0)
    lin = nn.Linear(3, 4 * 3)  # 4 units, k = 3 pieces
    mo = activations.Maxout(lin, 3)
    x = torch.randn(5, 3)
    a = x @ lin.weight.T + lin.bias
    expect = torch.stack([torch.stack([a[:, i * 3 + j] for j in range(3)]).max(0).values for i in range(4)], 1)
    torch.testing.assert_close(mo(x), expect)
    conv = nn.Conv2d(2, 3 * 2, 3, padding=1)
    mc = activations.Maxout(conv, 2)
    xi = torch.randn(2, 2, 5, 5)
    c = conv(xi)
    torch.testing.assert_close(mc(xi), torch.maximum(c[:, 0::2], c[:, 1::2]))


def test_activation_formulas():
    z = torch.linspace(-3, 3, 13)
    ms = S.ModelSpec
    torch.testing.assert_close(activations.make(ms(activation="leaky_relu", leaky_slope=0.1), 1)(z), torch.maximum(0.1 * z, z))
    torch.testing.assert_close(activations.make(ms(activation="elu", elu_alpha=2.0), 1)(z), torch.where(z < 0, 2.0 * (torch.exp(z) - 1), z))
    lam, alpha = 1.0507009873554805, 1.6732632423543772  # Klambauer et al. 2017
    torch.testing.assert_close(activations.make(ms(activation="selu"), 1)(z), lam * torch.where(z < 0, alpha * (torch.exp(z) - 1), z))
    rr = activations.make(ms(activation="rrelu", rrelu_lower=0.1, rrelu_upper=0.3), 1)
    neg = -torch.ones(10_000)
    rr.train()
    slopes = -rr(neg)
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.03  # random slope per element
    rr.eval()
    torch.testing.assert_close(-rr(neg), torch.full_like(neg, 0.2))  # the mean slope at test time


def _circles():
    return data.load(S.DataSpec(n_samples=200, normalize="standard"))


def test_prelu_learns_one_slope_per_unit():
    d = _circles()
    torch.manual_seed(0)
    model = build.build(S.ModelSpec(hidden=[16], activation="prelu"), d)
    slope = model.act1.weight
    assert slope.shape == (16,) and torch.all(slope == 0.25)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(20):
        opt.zero_grad()
        nn.functional.binary_cross_entropy_with_logits(model(d.x_train), d.y_train).backward()
        opt.step()
    assert (slope - 0.25).abs().max() > 1e-3 and len(set(slope.tolist())) > 1  # learned, per unit


@pytest.mark.parametrize("place, order", [("before", ["fc1", "bn1", "act1"]), ("after", ["fc1", "act1", "bn1"])])
def test_batchnorm_placement(place, order):
    model = build.build(S.ModelSpec(hidden=[8], batchnorm=place), _circles())
    assert [n for n, _ in model.named_children()][:3] == order


def test_batchnorm_uses_batch_statistics_in_training_and_running_in_evaluation():
    torch.manual_seed(0)
    bn = nn.BatchNorm1d(3, momentum=None)  # cumulative average of the batches seen
    batches = [torch.randn(64, 3) * 2 + 5 for _ in range(4)]
    bn.train()
    for b in batches:
        out = bn(b)
        mu, var = b.mean(0), b.var(0, unbiased=False)
        torch.testing.assert_close(out, (b - mu) / torch.sqrt(var + bn.eps))  # seed 002 §7.7 with gamma 1, beta 0
    bn.eval()
    x = torch.randn(10, 3)
    mean = torch.stack([b.mean(0) for b in batches]).mean(0)
    var = torch.stack([b.var(0, unbiased=True) for b in batches]).mean(0)
    torch.testing.assert_close(bn(x), (x - mean) / torch.sqrt(var + bn.eps))


def test_every_activation_builds_an_mlp_and_a_cnn():
    img = data.load(S.DataSpec(dataset="digits", n_samples=64), image=True)
    for act in ("sigmoid", "tanh", "relu", "leaky_relu", "rrelu", "prelu", "elu", "selu", "maxout"):
        m = build.build(S.ModelSpec(activation=act, hidden=[6], channels=[4]), img)
        assert m(img.x_train[:3]).shape == (3, 10)
    with pytest.raises(SpecError):
        S.validate({"model": {"activation": "maxout", "batchnorm": "before"}})
