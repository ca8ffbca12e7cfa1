"""Activations, Maxout and batch normalization against seed 001, seed 002 §7.4 and §7.7, by hand."""

import math
from typing import get_args

import numpy as np
import pytest
import torch
from torch import nn

from gradmedic import spec as S
from gradmedic.errors import SpecError
from gradmedic.model import activations, build, data
from gradmedic.model.optim import make_optimizer

ACTIVATIONS = get_args(S.Activation)
SELU_LAMBDA, SELU_ALPHA = 1.0507009873554805, 1.6732632423543772  # Klambauer et al. 2017 (seed 001)


@pytest.fixture(scope="module")
def circles():
    return data.load(S.DataSpec(n_samples=120, normalize="standard"))


@pytest.fixture(scope="module")
def digits():
    return data.load(S.DataSpec(dataset="digits", n_samples=48, normalize="minmax"), image=True)


def formula(name, a, spec):
    """The seed's formula of each hidden activation (rrelu: its test-time mean slope; prelu: the initial 0.25)."""
    neg = a < 0
    if name == "sigmoid":
        return 1 / (1 + torch.exp(-a))
    if name == "tanh":
        return (torch.exp(a) - torch.exp(-a)) / (torch.exp(a) + torch.exp(-a))
    if name == "relu":
        return torch.where(neg, torch.zeros_like(a), a)
    if name == "leaky_relu":  # max(c a, a), 0 <= c < 1
        return torch.maximum(spec.leaky_slope * a, a)
    if name == "rrelu":
        return torch.maximum((spec.rrelu_lower + spec.rrelu_upper) / 2 * a, a)
    if name == "prelu":
        return torch.maximum(0.25 * a, a)
    if name == "elu":  # alpha (e^z - 1) for z < 0, z otherwise
        return torch.where(neg, spec.elu_alpha * (torch.exp(a) - 1), a)
    if name == "selu":
        return SELU_LAMBDA * torch.where(neg, SELU_ALPHA * (torch.exp(a) - 1), a)
    raise AssertionError(name)


# --------------------------------------------------------------------------- Maxout (seed 002 §7.4.4)


def test_maxout_linear_is_the_max_over_k_affine_maps_by_hand():
    torch.manual_seed(0)
    units, k, d = 4, 3, 5
    lin = nn.Linear(d, units * k)
    mo = activations.Maxout(lin, k)
    x = torch.randn(7, d, dtype=torch.float64)
    lin.double()
    W, b, X = lin.weight.detach().numpy(), lin.bias.detach().numpy(), x.numpy()
    expect = np.empty((7, units))
    for n in range(7):
        for i in range(units):
            # z'_i = max_j (z^T W_ij + b_ij); feature i*k + j is piece j of unit i
            expect[n, i] = max(X[n] @ W[i * k + j] + b[i * k + j] for j in range(k))
    out = mo(x)
    assert out.shape == (7, units)
    np.testing.assert_allclose(out.detach().numpy(), expect, rtol=1e-12)


def test_maxout_conv_is_the_max_over_k_feature_maps_by_hand():
    torch.manual_seed(1)
    c_in, units, k, hw = 2, 3, 2, 5
    conv = nn.Conv2d(c_in, units * k, 3, padding=1).double()
    mo = activations.Maxout(conv, k)
    x = torch.randn(2, c_in, hw, hw, dtype=torch.float64)
    W, b = conv.weight.detach().numpy(), conv.bias.detach().numpy()
    xp = np.pad(x.numpy(), ((0, 0), (0, 0), (1, 1), (1, 1)))
    a = np.empty((2, units * k, hw, hw))  # the 3x3 convolution (cross-correlation), written out
    for n in range(2):
        for f in range(units * k):
            for r in range(hw):
                for c in range(hw):
                    a[n, f, r, c] = (xp[n, :, r:r + 3, c:c + 3] * W[f]).sum() + b[f]
    expect = np.stack([a[:, [i * k + j for j in range(k)]].max(axis=1) for i in range(units)], axis=1)
    out = mo(x)
    assert out.shape == (2, units, hw, hw)
    np.testing.assert_allclose(out.detach().numpy(), expect, rtol=1e-12, atol=1e-12)


def test_maxout_gradient_reaches_only_the_winning_piece():
    torch.manual_seed(2)
    lin = nn.Linear(3, 2 * 4)  # 2 units, k = 4
    mo = activations.Maxout(lin, 4)
    x = torch.randn(50, 3)
    mo(x).sum().backward()
    a = lin(x).detach().reshape(50, 2, 4)
    wins = nn.functional.one_hot(a.argmax(2), 4).sum(0).reshape(8).float()  # times piece j of unit i wins
    torch.testing.assert_close(lin.bias.grad, wins)
    assert wins.sum() == 100  # one winner per unit and sample


# --------------------------------------------------------------------------- seed 001 formulas


def test_leaky_relu_elu_selu_match_the_seed_formulas():
    z = torch.linspace(-4, 4, 33, dtype=torch.float64)
    ms = S.ModelSpec
    lr = activations.make(ms(activation="leaky_relu", leaky_slope=0.2), 5)
    torch.testing.assert_close(lr(z), torch.where(z < 0, 0.2 * z, z))
    assert lr(torch.tensor([-2.0])).item() == pytest.approx(-0.4)
    assert activations.make(ms(activation="leaky_relu"), 5).negative_slope == 0.01  # the spec default
    elu = activations.make(ms(activation="elu", elu_alpha=1.5), 5)
    torch.testing.assert_close(elu(z), torch.where(z < 0, 1.5 * (torch.exp(z) - 1), z))
    assert elu(torch.tensor([-1.0])).item() == pytest.approx(1.5 * (math.exp(-1) - 1))  # -0.94818
    assert elu(torch.tensor([-50.0])).item() == pytest.approx(-1.5)  # saturates at -alpha
    selu = activations.make(ms(activation="selu"), 5)
    torch.testing.assert_close(selu(z), SELU_LAMBDA * torch.where(z < 0, SELU_ALPHA * (torch.exp(z) - 1), z))
    assert selu(torch.tensor([2.0])).item() == pytest.approx(2 * 1.0507, rel=1e-4)
    assert selu(torch.tensor([-50.0])).item() == pytest.approx(-1.0507 * 1.6733, rel=1e-4)  # -lambda alpha = -1.7581


def test_rrelu_slope_is_random_in_training_and_the_mean_in_evaluation(circles):
    torch.manual_seed(0)
    m = build.build(S.ModelSpec(hidden=[8], activation="rrelu", rrelu_lower=0.1, rrelu_upper=0.3), circles)
    rr = m.act1
    assert isinstance(rr, nn.RReLU) and (rr.lower, rr.upper) == (0.1, 0.3)
    neg = -torch.ones(20_000)
    pos = torch.linspace(0, 3, 100)
    m.train()
    slopes = -rr(neg)
    assert slopes.min().item() >= 0.1 and slopes.max().item() <= 0.3
    assert slopes.min().item() < 0.101 and slopes.max().item() > 0.299  # spans [lower, upper]
    assert slopes.mean().item() == pytest.approx(0.2, abs=0.002)
    assert slopes.std().item() == pytest.approx(0.2 / math.sqrt(12), rel=0.03)  # U(0.1, 0.3)
    assert not torch.equal(rr(neg), rr(neg))  # a fresh draw each pass
    torch.testing.assert_close(rr(pos), pos)  # identity for a >= 0
    m.eval()
    torch.testing.assert_close(rr(neg), torch.full_like(neg, -0.2))  # (lower + upper) / 2
    # the spec's defaults: U(1/8, 1/3), mean 11/48 at test time
    d = activations.make(S.ModelSpec(activation="rrelu"), 1).eval()
    assert d(torch.tensor([-48.0])).item() == pytest.approx(-11.0)


def test_prelu_has_one_learned_slope_per_unit(circles, digits):
    torch.manual_seed(0)
    m = build.build(S.ModelSpec(hidden=[16, 6], activation="prelu"), circles)
    assert m.act1.weight.shape == (16,) and m.act2.weight.shape == (6,)
    assert torch.all(m.act1.weight == 0.25)
    cnn = build.build(S.ModelSpec(kind="cnn", channels=[4], hidden=[5], activation="prelu"), digits)
    assert cnn.act1.weight.shape == (4,) and cnn.act2.weight.shape == (5,)  # one per channel, then per unit

    # seed 002 §7.4.3: dL/dbeta_i = sum over the batch of a_i dL/dz_i where a_i <= 0, else 0
    x, y = circles.x_train, circles.y_train
    a = m.fc1(x)
    a.retain_grad()
    z = m.act1(a)
    z.retain_grad()
    h = m.act2(m.fc2(z))
    nn.functional.binary_cross_entropy_with_logits(m.out(h), y).backward()
    expect = torch.where(a <= 0, a, torch.zeros_like(a)).mul(z.grad).sum(0)
    torch.testing.assert_close(m.act1.weight.grad, expect)
    assert expect.abs().max() > 1e-4

    slope0 = m.act1.weight.detach().clone()
    opt = make_optimizer(m.parameters(), S.resolve(S.validate({"train": {"optimizer": "sgd", "lr": 0.5}})).train)
    for _ in range(10):
        opt.zero_grad()
        nn.functional.binary_cross_entropy_with_logits(m(x), y).backward()
        opt.step()
    slope = m.act1.weight.detach()
    assert (slope - slope0).abs().max().item() > 1e-3  # learned by backprop
    assert slope.unique().numel() > 8  # each unit its own value


# --------------------------------------------------------------------------- every activation builds and runs


def _block_io(model, affine_name, act_name, x):
    """Input to and output of the activation, captured by hooks during one forward."""
    seen = {}
    h1 = getattr(model, affine_name).register_forward_hook(lambda m, i, o: seen.__setitem__("a", o))
    h2 = getattr(model, act_name).register_forward_hook(lambda m, i, o: seen.__setitem__("z", o))
    out = model(x)
    h1.remove(), h2.remove()
    return out, seen["a"], seen["z"]


@pytest.mark.parametrize("name", [a for a in ACTIVATIONS if a != "maxout"])
def test_every_activation_builds_and_runs_as_the_formula(name, circles, digits):
    spec = S.ModelSpec(hidden=[6], channels=[4], activation=name, leaky_slope=0.05, elu_alpha=0.7)
    torch.manual_seed(0)
    mlp = build.build(spec, circles).eval()
    assert [n for n, _ in mlp.named_children()] == ["fc1", "act1", "out"]
    out, a, z = _block_io(mlp, "fc1", "act1", circles.x_train)
    assert out.shape == (len(circles.x_train), 1) and torch.isfinite(out).all()
    assert (a < 0).any() and (a > 0).any()
    torch.testing.assert_close(z, formula(name, a, spec))
    torch.testing.assert_close(out, mlp.out(z))

    cnn = build.build(spec.model_copy(update={"kind": "cnn"}), digits).eval()
    assert [n for n, _ in cnn.named_children()] == ["conv1", "act1", "pool1", "flatten", "fc2", "act2", "out"]
    out, a, z = _block_io(cnn, "conv1", "act1", digits.x_train)
    assert out.shape == (len(digits.x_train), 10) and torch.isfinite(out).all()
    assert a.shape == (len(digits.x_train), 4, 8, 8)
    torch.testing.assert_close(z, formula(name, a, spec))
    _, a2, z2 = _block_io(cnn, "fc2", "act2", digits.x_train)
    assert a2.shape == (len(digits.x_train), 6)
    torch.testing.assert_close(z2, formula(name, a2, spec))


def test_maxout_builds_and_runs_in_an_mlp_and_a_cnn(circles, digits):
    spec = S.ModelSpec(hidden=[6], channels=[4], activation="maxout", maxout_k=3)
    torch.manual_seed(0)
    mlp = build.build(spec, circles)
    assert [n for n, _ in mlp.named_children()] == ["fc1", "out"]
    assert isinstance(mlp.fc1, activations.Maxout) and mlp.fc1.k == 3
    assert mlp.fc1.affine.out_features == 18 and mlp.out.in_features == 6
    x = circles.x_train
    a = mlp.fc1.affine(x).reshape(-1, 6, 3)
    torch.testing.assert_close(mlp(x), mlp.out(a.max(2).values))

    cnn = build.build(spec.model_copy(update={"kind": "cnn"}), digits)
    assert isinstance(cnn.conv1, activations.Maxout) and cnn.conv1.affine.out_channels == 12
    assert cnn.fc2.affine.in_features == 4 * 4 * 4 and cnn.fc2.affine.out_features == 18
    xi = digits.x_train
    c = cnn.conv1.affine(xi)
    expect = torch.stack([c[:, 3 * i:3 * i + 3].max(1).values for i in range(4)], 1)
    torch.testing.assert_close(cnn.conv1(xi), expect)
    out = cnn(xi)
    assert out.shape == (len(xi), 10) and torch.isfinite(out).all()


def test_maxout_with_batchnorm_before_is_rejected():
    with pytest.raises(SpecError) as err:
        S.validate({"model": {"activation": "maxout", "batchnorm": "before"}})
    assert err.value.field == "model" and "maxout" in str(err.value)
    for ok in ("after", "none"):
        assert S.validate({"model": {"activation": "maxout", "batchnorm": ok}}).model.batchnorm == ok


# --------------------------------------------------------------------------- batch normalization (seed 002 §7.7)


@pytest.mark.parametrize("place, names", [
    ("none", ["fc1", "act1", "fc2", "act2", "out"]),
    ("before", ["fc1", "bn1", "act1", "fc2", "bn2", "act2", "out"]),
    ("after", ["fc1", "act1", "bn1", "fc2", "act2", "bn2", "out"]),
])
def test_batchnorm_placement_in_the_mlp(place, names, circles):
    m = build.build(S.ModelSpec(hidden=[8, 5], batchnorm=place), circles)
    assert [n for n, _ in m.named_children()] == names
    if place != "none":
        assert isinstance(m.bn1, nn.BatchNorm1d) and m.bn1.num_features == 8 and m.bn2.num_features == 5
        assert isinstance(m.act1, nn.ReLU)
        # the order shows in the numbers: the block's output in training mode
        m.train()
        block_out = {}
        last = "act1" if place == "before" else "bn1"
        getattr(m, last).register_forward_hook(lambda mod, i, o: block_out.__setitem__("z", o))
        m(circles.x_train)
        z = block_out["z"]
        if place == "before":  # normalize, then relu: non-negative
            assert z.min().item() == 0.0
        else:  # relu, then normalize: per-unit batch mean 0 (gamma 1, beta 0)
            torch.testing.assert_close(z.mean(0), torch.zeros(8), atol=1e-5, rtol=0)
            assert (z < 0).any()


@pytest.mark.parametrize("place, names", [
    ("before", ["conv1", "bn1", "act1", "pool1", "flatten", "fc2", "bn2", "act2", "out"]),
    ("after", ["conv1", "act1", "bn1", "pool1", "flatten", "fc2", "act2", "bn2", "out"]),
])
def test_batchnorm_placement_in_the_cnn(place, names, digits):
    m = build.build(S.ModelSpec(kind="cnn", channels=[4], hidden=[6], batchnorm=place, activation="elu"), digits)
    assert [n for n, _ in m.named_children()] == names
    assert isinstance(m.bn1, nn.BatchNorm2d) and m.bn1.num_features == 4
    assert isinstance(m.bn2, nn.BatchNorm1d) and m.bn2.num_features == 6
    assert m(digits.x_train).shape == (len(digits.x_train), 10)


def test_batchnorm_after_maxout(circles):
    m = build.build(S.ModelSpec(hidden=[5], activation="maxout", batchnorm="after"), circles)
    assert [n for n, _ in m.named_children()] == ["fc1", "bn1", "out"]
    assert isinstance(m.fc1, activations.Maxout) and m.bn1.num_features == 5


def test_batchnorm_uses_batch_statistics_in_training_and_running_statistics_in_evaluation(circles):
    torch.manual_seed(0)
    m = build.build(S.ModelSpec(hidden=[6], batchnorm="before"), circles)
    bn = m.bn1
    with torch.no_grad():  # non-trivial gamma and beta
        bn.weight.copy_(torch.linspace(0.5, 2.0, 6))
        bn.bias.copy_(torch.linspace(-1.0, 1.0, 6))
    gamma, beta = bn.weight.detach(), bn.bias.detach()
    x = circles.x_train[:32]
    a = m.fc1(x).detach()

    # training: mu_B, sigma_B^2 (biased, 1/B) of the batch; a_hat = (a - mu_B) / sqrt(sigma_B^2 + eps); c = gamma a_hat + beta
    m.train()
    mu = a.sum(0) / 32
    var = ((a - mu) ** 2).sum(0) / 32
    expect = gamma * (a - mu) / torch.sqrt(var + bn.eps) + beta
    torch.testing.assert_close(bn(a), expect)
    # a sample's output depends on the rest of the batch
    assert not torch.allclose(bn(a[:8])[0], expect[0], atol=1e-3)

    # the running statistics after those two batches: PyTorch's moving average (momentum 0.1) of the batch
    # mean and of the unbiased batch variance stands in for the seed's whole-training-set statistics
    mu8, var8 = a[:8].mean(0), a[:8].var(0, unbiased=True)
    rm = 0.9 * (0.9 * 0 + 0.1 * mu) + 0.1 * mu8
    rv = 0.9 * (0.9 * 1 + 0.1 * var * 32 / 31) + 0.1 * var8
    torch.testing.assert_close(bn.running_mean, rm)
    torch.testing.assert_close(bn.running_var, rv)

    # evaluation: the running statistics, the same for every batch
    m.eval()
    x_new = circles.x_test[:5]
    a_new = m.fc1(x_new).detach()
    torch.testing.assert_close(bn(a_new), gamma * (a_new - rm) / torch.sqrt(rv + bn.eps) + beta)
    torch.testing.assert_close(m(x_new)[:1], m(x_new[:1]))  # one sample alone gives the same output
    torch.testing.assert_close(bn.running_mean, rm)  # not updated in evaluation


def test_batchnorm2d_normalizes_each_channel_over_batch_and_pixels(digits):
    torch.manual_seed(0)
    m = build.build(S.ModelSpec(kind="cnn", channels=[3], hidden=[4], batchnorm="before"), digits).train()
    a = m.conv1(digits.x_train).detach()  # (N, 3, 8, 8)
    mu = a.mean(dim=(0, 2, 3), keepdim=True)
    var = a.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    torch.testing.assert_close(m.bn1(a), (a - mu) / torch.sqrt(var + m.bn1.eps))
    n = a.numel() / 3
    torch.testing.assert_close(m.bn1.running_var, 0.9 + 0.1 * var.flatten() * n / (n - 1))
