"""The public contract of gradmedic.watch on a user's own loop."""

import numpy as np
import torch
from torch import nn

import gradmedic


def _loop(model, step_before_opt=True, compiled=False, steps=6, every=2):
    torch.manual_seed(0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    run = torch.compile(model, backend="eager") if compiled else model
    x, y = torch.randn(64, 4), torch.randn(64, 1)
    with gradmedic.watch(run, opt, every=every) as mon:
        for _ in range(steps):
            opt.zero_grad()
            loss = ((run(x) - y) ** 2).mean()
            loss.backward()
            if step_before_opt:
                mon.step(loss)
                opt.step()
            else:
                opt.step()
                mon.step(loss)
        d = mon.diagnose()
    return mon, d


def _mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))


def test_compiled_model_is_watched_like_the_eager_one():
    eager, _ = _loop(_mlp())
    comp, _ = _loop(_mlp(), compiled=True)
    assert comp.layer_names == eager.layer_names == ["0", "2"]
    for stat in ("grad_norm", "weight_norm", "update_ratio"):
        np.testing.assert_allclose(comp.history.layer(stat), eager.history.layer(stat), rtol=1e-5, equal_nan=True)
    np.testing.assert_allclose(comp.history.act("std"), eager.history.act("std"), rtol=1e-5)
    assert np.isfinite(comp.history.act("std")).all()


def test_step_before_or_after_optimizer_step_sees_the_same_update():
    a, _ = _loop(_mlp(), step_before_opt=True, every=1)
    b, _ = _loop(_mlp(), step_before_opt=False, every=1)
    # The update between consecutive step() calls is one optimizer step either way.
    ua, ub = a.history.layer("update_ratio"), b.history.layer("update_ratio")
    np.testing.assert_allclose(ua[2:], ub[1:-1], rtol=1e-4)


def test_with_block_removes_every_hook_and_allows_watching_again():
    m = _mlp()
    mon, d = _loop(m)
    assert all(not mod._forward_hooks and not mod._forward_pre_hooks for mod in m.modules())
    assert d.steps == 6 and d.findings == []  # six healthy steps of a small regression: silent
    assert len(mon.history.loss) == 6  # what was recorded outlives the hooks
    gradmedic.watch(m).close()  # a closed monitor releases the model


def test_optimizer_is_optional_and_diagnose_works_mid_training():
    m = _mlp()
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    mon = gradmedic.watch(m)
    x, y = torch.randn(64, 4), torch.randn(64, 1)
    for i in range(30):
        opt.zero_grad()
        loss = ((m(x) - y) ** 2).mean()
        loss.backward()
        mon.step(loss)
        opt.step()
        if i == 10:
            assert mon.diagnose().steps == 11
    assert mon.diagnose().steps == 30 and len(mon.history.loss) == 30
    mon.close()


def test_problems_contract():
    assert gradmedic.PROBLEMS == ("vanishing_gradients", "exploding_gradients", "non_finite", "dead_units", "saturated_units",
                                  "lr_too_high", "lr_too_low", "plateau", "unscaled_inputs", "symmetric_units", "no_gradient",
                                  "initial_loss_high", "unscaled_target", "saturated_loss", "grads_not_zeroed",
                                  "not_optimized")
