"""``gradmedic.model.init`` against the initialization rules of seed 002 §7.5 and the table of seed 001.

The rules are checked statistically on the 400 x 600 weight of ``nn.Linear(600, 400)`` (fan_in 600,
fan_out 400, 240,000 samples: the sample std is within ~0.3% of the true std, so 2% is a safe bound).
"""

import math
from typing import get_args

import pytest
import torch
from torch import nn

from gradmedic import spec as S
from gradmedic.model import build, data, init

FAN_IN, FAN_OUT = 600, 400
N = FAN_IN * FAN_OUT

# name -> (distribution, parameter): "normal" with its std, "uniform" with its bound r.
RULES = {
    # seed 002 §7.5 / seed 001 Glorot: variance 1 / fan_avg = 2 / (fan_in + fan_out), r = sqrt(6 / (fan_in + fan_out))
    "glorot_normal": ("normal", math.sqrt(2 / (FAN_IN + FAN_OUT))),
    "glorot_uniform": ("uniform", math.sqrt(6 / (FAN_IN + FAN_OUT))),
    # seed 001 He: variance 2 / fan_in; uniform with the same variance: r = sqrt(3 * 2 / fan_in)
    "he_normal": ("normal", math.sqrt(2 / FAN_IN)),
    "he_uniform": ("uniform", math.sqrt(6 / FAN_IN)),
    # seed 002 §7.5 ReLU rule: std sqrt(4 / (fan_in + fan_out)), r = sqrt(12 / (fan_in + fan_out))
    "he_avg_normal": ("normal", math.sqrt(4 / (FAN_IN + FAN_OUT))),
    "he_avg_uniform": ("uniform", math.sqrt(12 / (FAN_IN + FAN_OUT))),
    # seed 001 LeCun (for SELU): variance 1 / fan_in; uniform r = sqrt(3 / fan_in)
    "lecun_normal": ("normal", 1 / math.sqrt(FAN_IN)),
    "lecun_uniform": ("uniform", math.sqrt(3 / FAN_IN)),
    # the user's own distributions (ModelSpec defaults init_std 0.01, init_a -0.05, init_b 0.05)
    "normal": ("normal", 0.01),
    "uniform": ("uniform", 0.05),
}
OTHER = {"default", "zeros", "constant", "orthogonal"}


def test_every_init_name_has_a_test():
    assert set(get_args(S.Init)) == set(RULES) | OTHER


def _weight(name, seed=0, **model):
    torch.manual_seed(seed)
    layer = nn.Linear(FAN_IN, FAN_OUT)
    w = layer.weight
    assert w.shape == (FAN_OUT, FAN_IN)
    init.init_weight(w, S.ModelSpec(init=name, **model))
    return w.detach()


@pytest.mark.parametrize("name", [n for n, (d, _) in RULES.items() if d == "normal"])
def test_normal_rules_have_the_seeds_std(name):
    std = RULES[name][1]
    w = _weight(name)
    assert w.std().item() == pytest.approx(std, rel=0.02)
    assert abs(w.mean().item()) < 5 * std / math.sqrt(N)  # zero mean (5 standard errors)
    # Gaussian shape, not uniform: 68.3% within one std (a uniform law would give 57.7%)
    inside = (w.abs() < std).float().mean().item()
    assert inside == pytest.approx(0.6827, abs=0.01)
    assert w.abs().max().item() > 3.5 * std  # a uniform law never exceeds sqrt(3) std


@pytest.mark.parametrize("name", [n for n, (d, _) in RULES.items() if d == "uniform"])
def test_uniform_rules_have_the_seeds_bound(name):
    r = RULES[name][1]
    w = _weight(name)
    assert w.abs().max().item() <= r
    assert w.max().item() > 0.999 * r and w.min().item() < -0.999 * r  # both ends reached
    assert w.std().item() == pytest.approx(r / math.sqrt(3), rel=0.02)  # U(-r, r) has std r / sqrt(3)
    assert abs(w.mean().item()) < 5 * r / math.sqrt(3 * N)
    # flat: half the mass within r / 2
    assert (w.abs() < r / 2).float().mean().item() == pytest.approx(0.5, abs=0.01)


def test_he_avg_is_he_on_the_average_fan_and_twice_glorot():
    """Seed 002 §7.5: the ReLU rules double the variance of the Glorot rules (std x sqrt 2)."""
    assert _weight("he_avg_normal").var().item() == pytest.approx(2 * _weight("glorot_normal", seed=1).var().item(), rel=0.03)
    assert _weight("he_avg_uniform").abs().max().item() == pytest.approx(
        math.sqrt(2) * _weight("glorot_uniform", seed=1).abs().max().item(), rel=0.002)
    # with fan_in == fan_out, he_avg and he coincide: 4 / (2 n) = 2 / n
    torch.manual_seed(0)
    w = torch.empty(500, 500)
    init.init_weight(w, S.ModelSpec(init="he_avg_normal"))
    assert w.std().item() == pytest.approx(math.sqrt(2 / 500), rel=0.02)


def test_lecun_std_is_one_over_sqrt_fan_in_regardless_of_fan_out():
    for fan_out in (100, 400):
        torch.manual_seed(0)
        w = nn.Linear(FAN_IN, fan_out).weight
        init.init_weight(w, S.ModelSpec(init="lecun_normal"))
        assert w.std().item() == pytest.approx(1 / math.sqrt(FAN_IN), rel=0.02)


def test_user_normal_and_uniform_follow_their_fields():
    w = _weight("normal", init_std=0.3)
    assert w.std().item() == pytest.approx(0.3, rel=0.02) and abs(w.mean().item()) < 5 * 0.3 / math.sqrt(N)
    w = _weight("uniform", init_a=-0.2, init_b=0.1)  # an asymmetric interval
    assert w.min().item() >= -0.2 and w.max().item() <= 0.1
    assert w.min().item() < -0.1998 and w.max().item() > 0.0998
    assert w.mean().item() == pytest.approx(-0.05, abs=5 * 0.3 / math.sqrt(12 * N))  # (a + b) / 2
    assert w.std().item() == pytest.approx(0.3 / math.sqrt(12), rel=0.02)  # (b - a) / sqrt 12


def test_zeros_and_constant_are_exact():
    assert torch.equal(_weight("zeros"), torch.zeros(FAN_OUT, FAN_IN))
    assert torch.equal(_weight("constant", init_value=0.37), torch.full((FAN_OUT, FAN_IN), 0.37))
    assert torch.equal(_weight("constant"), torch.zeros(FAN_OUT, FAN_IN))  # init_value defaults to 0


def test_orthogonal_has_orthonormal_rows_or_columns():
    torch.manual_seed(0)
    w = nn.Linear(150, 100).weight  # wide 100 x 150 (a QR of the 400 x 600 weight is slow): orthonormal rows
    init.init_weight(w, S.ModelSpec(init="orthogonal"))
    w = w.detach().double()
    torch.testing.assert_close(w @ w.T, torch.eye(100, dtype=torch.float64), atol=1e-5, rtol=0)
    assert (w.T @ w).trace().item() == pytest.approx(100, rel=1e-5)  # a projection of rank 100, not the identity
    torch.manual_seed(0)
    tall = torch.empty(60, 40)  # tall: the 40 columns are orthonormal
    init.init_weight(tall, S.ModelSpec(init="orthogonal"))
    torch.testing.assert_close(tall.T @ tall, torch.eye(40), atol=1e-5, rtol=0)
    torch.manual_seed(0)
    sq = torch.empty(30, 30)  # square: orthogonal, all singular values 1
    init.init_weight(sq, S.ModelSpec(init="orthogonal"))
    torch.testing.assert_close(torch.linalg.svdvals(sq), torch.ones(30), atol=1e-5, rtol=0)


def test_conv_fans_include_the_receptive_field():
    """For a conv weight (out, in, kh, kw): fan_in = in * kh * kw, fan_out = out * kh * kw."""
    conv = nn.Conv2d(64, 128, 3)  # fan_in 576, fan_out 1152, 73,728 samples
    for name, std in [("he_normal", math.sqrt(2 / 576)), ("glorot_normal", math.sqrt(2 / (576 + 1152))),
                      ("lecun_normal", math.sqrt(1 / 576)), ("he_avg_normal", math.sqrt(4 / (576 + 1152)))]:
        torch.manual_seed(0)
        init.init_weight(conv.weight, S.ModelSpec(init=name))
        assert conv.weight.std().item() == pytest.approx(std, rel=0.03), name
    init.init_weight(conv.weight, S.ModelSpec(init="he_uniform"))
    assert conv.weight.abs().max().item() == pytest.approx(math.sqrt(6 / 576), rel=0.002)
    assert conv.weight.abs().max().item() <= math.sqrt(6 / 576)


# --------------------------------------------------------------------------- apply / build


def _net():
    return nn.Sequential(nn.Linear(5, 7), nn.PReLU(7), nn.BatchNorm1d(7), nn.Linear(7, 3),
                         nn.Conv2d(2, 4, 3), nn.Conv1d(2, 4, 3), nn.Linear(3, 2, bias=False))


def test_apply_sets_every_weight_and_the_biases_to_bias_init():
    net = _net()
    init.apply(net, S.ModelSpec(init="constant", init_value=0.7, bias_init=-0.25))
    affine = [m for m in net if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d))]
    assert len(affine) == 5
    for m in affine:
        assert torch.all(m.weight == 0.7)
        if m.bias is not None:
            assert torch.all(m.bias == -0.25)
    # PReLU slopes and batch-norm gamma/beta are not weights of an affine map: left alone
    assert torch.all(net[1].weight == 0.25)
    assert torch.all(net[2].weight == 1.0) and torch.all(net[2].bias == 0.0)


def test_apply_bias_init_defaults_to_zero_with_a_random_rule():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(300, 200), nn.Linear(200, 100))
    init.apply(net, S.ModelSpec(init="he_normal"))
    assert torch.all(net[0].bias == 0) and torch.all(net[1].bias == 0)
    assert net[0].weight.std().item() == pytest.approx(math.sqrt(2 / 300), rel=0.03)
    assert net[1].weight.std().item() == pytest.approx(math.sqrt(2 / 200), rel=0.03)  # each layer its own fan_in


def test_default_leaves_pytorchs_own_init():
    """init=default: PyTorch's kaiming_uniform(a=sqrt 5), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)); bias_init ignored."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(FAN_IN, FAN_OUT))
    before = [p.detach().clone() for p in net.parameters()]
    init.apply(net, S.ModelSpec(init="default", bias_init=0.5))
    for a, b in zip(before, net.parameters(), strict=True):
        assert torch.equal(a, b)
    w, r = net[0].weight, 1 / math.sqrt(FAN_IN)
    assert w.abs().max().item() <= r and w.abs().max().item() > 0.999 * r
    assert w.std().item() == pytest.approx(r / math.sqrt(3), rel=0.02)
    assert net[0].bias.abs().max().item() <= r and net[0].bias.std().item() > 0


def test_init_weight_default_is_pytorchs_own_rule():
    """init=default on a single tensor should give what nn.Linear/nn.Conv do: kaiming_uniform(a=sqrt 5)."""
    torch.manual_seed(0)
    w = nn.Linear(FAN_IN, FAN_OUT).weight
    with torch.no_grad():
        w.zero_()
    init.init_weight(w, S.ModelSpec())
    r = 1 / math.sqrt(FAN_IN)
    assert w.abs().max().item() <= r and w.abs().max().item() > 0.999 * r


def test_build_applies_the_init_including_inside_maxout():
    d = data.load(S.DataSpec(n_samples=40))
    m = build.build(S.ModelSpec(hidden=[4, 3], init="constant", init_value=0.1, bias_init=0.2), d)
    for name in ("fc1", "fc2", "out"):
        layer = getattr(m, name)
        assert torch.all(layer.weight == 0.1) and torch.all(layer.bias == 0.2)
    # a hand forward: every unit of fc1 is 0.1 * (x1 + x2) + 0.2, relu, and so on
    x = d.x_train[:5]
    h1 = torch.relu(0.1 * x.sum(1, keepdim=True) + 0.2).expand(5, 4)
    h2 = torch.relu(0.1 * h1.sum(1, keepdim=True) + 0.2).expand(5, 3)
    torch.testing.assert_close(m(x), 0.1 * h2.sum(1, keepdim=True) + 0.2)
    mo = build.build(S.ModelSpec(hidden=[4], activation="maxout", init="constant", init_value=-0.3, bias_init=0.05), d)
    assert torch.all(mo.fc1.affine.weight == -0.3) and torch.all(mo.fc1.affine.bias == 0.05)
    img = data.load(S.DataSpec(dataset="digits", n_samples=20), image=True)
    cnn = build.build(S.ModelSpec(kind="cnn", channels=[3], hidden=[5], init="zeros", bias_init=0.1), img)
    assert torch.all(cnn.conv1.weight == 0) and torch.all(cnn.conv1.bias == 0.1)
    assert torch.all(cnn.fc2.weight == 0) and torch.all(cnn.out.bias == 0.1)


def _hidden_stds(init_name, activation, seed=0, width=64, depth=8):
    torch.manual_seed(seed)
    x = torch.randn(300, width)  # standardized inputs
    d = data.Dataset(x, torch.zeros(300, 1), x[:10], torch.zeros(10, 1), "binary", 2)
    m = build.build(S.ModelSpec(hidden=[width] * depth, activation=activation, init=init_name), d)
    h, stats = x, []
    with torch.no_grad():
        for name, mod in m.named_children():
            h = mod(h)
            if name.startswith("act"):
                stats.append((h.mean().item(), h.std().item()))
    return stats


def test_selu_with_lecun_normal_self_normalizes_and_small_normal_vanishes():
    """Seed 001: SELU with LeCun-normal weights keeps each layer near mean 0, std 1; seed 002 §7.8:
    N(0, 0.01^2) weights shrink the activations layer after layer; He's variance is too large for SELU."""
    for mean, std in _hidden_stds("lecun_normal", "selu"):
        assert abs(mean) < 0.1 and 0.85 < std < 1.15
    assert _hidden_stds("normal", "selu")[-1][1] < 1e-3
    assert _hidden_stds("he_normal", "selu")[-1][1] > 2.0
