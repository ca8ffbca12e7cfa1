"""gradmedic.measure.monitor against a plain-PyTorch reference computed by hand, sampling, hooks, misuse,
bounded history, flush callbacks and convolutional models."""

import math
from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from gradmedic.errors import WatchError
from gradmedic.measure.history import ACT_STATS, LAYER_STATS, Chunk, History
from gradmedic.measure.monitor import ACT_SAMPLES, Monitor, watch


def mlp(seed=0, sharp=False):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Linear(6, 5), nn.Sigmoid(), nn.Linear(5, 4), nn.Tanh(),
                          nn.Linear(4, 1))
    if sharp:  # large weights: part of the sigmoid and tanh outputs saturate
        with torch.no_grad():
            model[2].weight.mul_(6)
            model[4].weight.mul_(8)
    return model


def sampled(t):
    """The rows the monitor's activation and output statistics are measured on: ACT_SAMPLES spread evenly over the
    batch (rows 0, s, 2s, ... with s = N // ACT_SAMPLES), written out here independently of the monitor."""
    step = max(1, t.shape[0] // ACT_SAMPLES)
    return torch.stack([t[i * step] for i in range(min(ACT_SAMPLES, -(-t.shape[0] // step)))])


def no_hooks(model):
    return all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


class Reference:
    """What the monitor should record, computed with plain PyTorch at each step() call."""

    def __init__(self, model):
        self.model = model
        self.layers = [(n, [p for p in m.parameters(recurse=False)]) for n, m in model.named_modules()
                       if any(True for _ in m.parameters(recurse=False))]
        self.acts = {}
        self.handles = []
        for n, m in model.named_modules():
            if isinstance(m, (nn.ReLU, nn.Sigmoid, nn.Tanh)):
                self.handles.append(m.register_forward_hook(lambda mod, a, o, n=n: self.acts.__setitem__(n, o.detach().clone())))
        self.first = self.layers[0][0]
        self.handles.append(dict(model.named_modules())[self.first].register_forward_pre_hook(
            lambda mod, a: setattr(self, "x", a[0].detach().clone())))
        self.prev = self._weights()  # the weights when watch() was called
        self.rows = []

    def _weights(self):
        return [torch.cat([p.detach().flatten() for p in ps]).double() for _, ps in self.layers]

    def at_step(self):
        g = [torch.cat([p.grad.flatten() for p in ps]).double() for _, ps in self.layers]
        w = self._weights()
        row = {
            "grad_norm": [gi.square().sum().sqrt().item() for gi in g],
            "weight_norm": [wi.norm().item() for wi in w],
            "update_ratio": [((wi - pi).norm() / pi.norm()).item() for wi, pi in zip(w, self.prev, strict=False)],
            "acts": {k: v.double() for k, v in self.acts.items()},
            "x": self.x.double(),
        }
        self.prev = w
        self.rows.append(row)

    def remove(self):
        for h in self.handles:
            h.remove()


def act_ref(out, kind):
    """mean, std (Bessel), zero_frac, sat_frac, dead_frac of an activation output, as the seeds define them."""
    o = sampled(out)
    nan = math.nan
    mean, std = o.mean().item(), o.std().item()
    if kind == "relu":
        unit = 1
        peak = o.movedim(unit, -1).reshape(-1, o.shape[unit]).amax(0)
        return [mean, std, (o <= 0).double().mean().item(), nan, (peak <= 0).double().mean().item()]
    if kind == "sigmoid":
        return [mean, std, nan, ((o <= 0.01) | (o >= 0.99)).double().mean().item(), nan]
    return [mean, std, nan, (o.abs() >= 0.99).double().mean().item(), nan]


@pytest.mark.parametrize("every", [1, 3])
@pytest.mark.parametrize("order", ["step_then_update", "update_then_step"])
def test_statistics_match_plain_pytorch(order, every):
    model = mlp(sharp=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.3)
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(24, 3, generator=g) * 3 + torch.tensor([1.0, -2.0, 0.5]), torch.randn(24, 1, generator=g)
    ref = Reference(model)
    mon = watch(model, opt, every=every)
    steps = 7
    for _ in range(steps):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        if order == "step_then_update":
            ref.at_step()
            mon.step(loss)
            opt.step()
        else:
            opt.step()
            ref.at_step()
            mon.step(loss)
    mon.flush()
    h = mon.history
    ref.remove()
    sampled = [s for s in range(1, steps + 1) if (s - 1) % every == 0]
    assert mon.layer_names == ["0", "2", "4", "6"] and mon.act_names == ["1", "3", "5"]
    assert mon.act_kinds == ["relu", "saturating", "saturating"]
    assert h.stat_steps.tolist() == sampled and h.loss_steps.tolist() == list(range(1, steps + 1))
    assert h.layer("grad_norm").shape == (len(sampled), 4) and h.act("mean").shape == (len(sampled), 3)
    assert h.inputs.shape == (len(sampled), 2, 3)
    for k, s in enumerate(sampled):
        r = ref.rows[s - 1]
        for stat in LAYER_STATS:
            if stat == "update_ratio" and s == 1 and order == "step_then_update":
                continue  # no optimizer step between watch() and step 1: NaN, asserted below
            np.testing.assert_allclose(h.layer(stat)[k], r[stat], rtol=2e-5, atol=1e-12, err_msg=f"{stat} step {s}")
        for j, (name, kind) in enumerate([("1", "relu"), ("3", "sigmoid"), ("5", "tanh")]):
            expect = act_ref(r["acts"][name], kind)
            np.testing.assert_allclose([h.act(st)[k, j] for st in ACT_STATS], expect, rtol=2e-5, atol=1e-7,
                                       equal_nan=True, err_msg=f"act {name} step {s}")
        np.testing.assert_allclose(h.inputs[k, 0], r["x"].mean(0).numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(h.inputs[k, 1], r["x"].std(0).numpy(), rtol=1e-5)
    # the statistics are not degenerate: saturation, zeros and updates all happen here
    r0 = ref.rows[0]["acts"]
    assert 0 < (r0["1"] <= 0).double().mean() < 1 and 0 < ((r0["3"] <= 0.01) | (r0["3"] >= 0.99)).double().mean() < 1
    assert 0 < (r0["5"].abs() >= 0.99).double().mean() < 1
    assert np.all(h.layer("update_ratio")[1:] > 1e-4)
    assert np.isfinite(h.loss).all()
    if order == "step_then_update":  # no optimizer step between watch() and the first step(): no update to measure
        assert np.isnan(h.layer("update_ratio")[0]).all()
    mon.close()


def test_the_update_ratio_is_the_same_update_whichever_side_of_optimizer_step():
    """step() before opt.step() sees at step s the update of step s-1; after it, the update of step s."""
    ratios = {}
    for order in ("before", "after"):
        model = mlp()
        opt = torch.optim.SGD(model.parameters(), lr=0.3, momentum=0.9)
        x, y = torch.randn(16, 3, generator=torch.Generator().manual_seed(2)), torch.ones(16, 1)
        with watch(model, opt, every=1) as mon:
            for _ in range(6):
                opt.zero_grad()
                loss = ((model(x) - y) ** 2).mean()
                loss.backward()
                if order == "before":
                    mon.step(loss)
                    opt.step()
                else:
                    opt.step()
                    mon.step(loss)
        ratios[order] = mon.history.layer("update_ratio")
    np.testing.assert_allclose(ratios["before"][1:], ratios["after"][:-1], rtol=1e-5)


def test_activation_statistics_use_samples_spread_over_the_batch_and_inputs_the_whole_batch():
    model = mlp()
    x = torch.randn(80, 3) * 2
    ref = Reference(model)
    mon = watch(model, every=1)
    model(x).pow(2).mean().backward()
    ref.at_step()
    mon.step()
    mon.close()
    ref.remove()
    h = mon.history
    r = ref.rows[0]
    for j, (name, kind) in enumerate([("1", "relu"), ("3", "sigmoid"), ("5", "tanh")]):
        got = [h.act(s)[0, j] for s in ACT_STATS]
        np.testing.assert_allclose(got, act_ref(r["acts"][name], kind), rtol=2e-5, atol=1e-7, equal_nan=True)
    np.testing.assert_allclose(h.inputs[0, 0], x.double().mean(0).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h.inputs[0, 1], x.double().std(0).numpy(), rtol=1e-5)
    assert len(h.loss) == 0 and h.stat_steps.tolist() == [1]  # step() without a loss still samples


def test_layer_names_follow_named_modules_and_unused_layers_record_no_gradient():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.tensor(2.0))  # owned by the root module
            self.enc = nn.Sequential(OrderedDict(fc=nn.Linear(2, 3, bias=False), act=nn.GELU()))
            self.head = nn.Linear(3, 1)
            self.unused = nn.Linear(3, 3)
            self.frozen = nn.Linear(3, 3)
            self.frozen.requires_grad_(False)

        def forward(self, x):
            return self.head(self.enc(x)) * self.scale

    torch.manual_seed(0)
    net = Net()
    mon = watch(net, every=1)
    assert mon.layer_names == ["Net", "enc.fc", "head", "unused"] and mon.act_names == ["enc.act"]
    assert mon.layer_types == ["Net", "Linear", "Linear", "Linear"]
    x = torch.randn(8, 2)
    net(x).mean().backward()
    mon.step()
    mon.close()
    gn = mon.history.layer("grad_norm")[0]
    assert gn[0] == pytest.approx(abs(net.scale.grad.item()), rel=1e-6)
    assert gn[1] == pytest.approx(net.enc.fc.weight.grad.norm().item(), rel=1e-6)
    # a layer with no gradient at all records NaN (no gradient is not a zero gradient)
    assert np.isnan(gn[3])
    assert np.isnan(mon.history.layer("update_ratio")[0, 3])
    wn = mon.history.layer("weight_norm")[0]
    assert wn[3] == pytest.approx(torch.cat([net.unused.weight.flatten(), net.unused.bias]).norm().item(), rel=1e-6)
    assert math.isnan(mon.history.act("sat_frac")[0, 0]) and 0 <= mon.history.act("zero_frac")[0, 0] <= 1
    np.testing.assert_allclose(mon.history.inputs[0, 0], x.mean(0).numpy(), rtol=1e-5, atol=1e-6)


# -- sampling and hooks ------------------------------------------------------------------------------
def test_every_5_samples_steps_1_6_11_and_keeps_every_loss():
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(16, 3), torch.randn(16, 1)
    mon = watch(model, opt, every=5, flush_every=4)
    losses = []
    assert not no_hooks(model)  # armed for step 1 already
    for s in range(1, 24):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        losses.append(loss.item())
        mon.step(loss)
        opt.step()
        # hooks only before sampled steps 6, 11, 16, 21, and step 2 (watched for a crash, not recorded)
        assert no_hooks(model) == ((s + 1 - 1) % 5 != 0 and s + 1 != 2)
    mon.close()
    assert no_hooks(model)
    h = mon.history
    assert h.stat_steps.tolist() == [1, 6, 11, 16, 21]
    assert h.loss_steps.tolist() == list(range(1, 24))
    np.testing.assert_allclose(h.loss, losses, rtol=1e-7)
    assert np.isfinite(h.layer("grad_norm")).all() and np.isfinite(h.act("std")).all()


def test_activation_hooks_ignore_eval_and_no_grad_passes_of_a_sampled_step():
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(16, 3), torch.randn(16, 1)
    ref = Reference(model)
    mon = watch(model, opt, every=3)
    for s in range(1, 5):  # step 4 is sampled
        if s in (2, 4):
            model.eval()  # an evaluation pass, in eval mode
            model(x * 100 + 7)
            model.train()
            with torch.no_grad():  # a pass in train mode without gradients
                model(x * 50 - 3)
            with torch.inference_mode():
                model(x * 30)
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        ref.at_step()
        mon.step(loss)
        opt.step()
    mon.close()
    ref.remove()
    h = mon.history
    assert h.stat_steps.tolist() == [1, 4]
    r = ref.rows[3]  # the reference hooks saw the training pass last
    for j, (name, kind) in enumerate([("1", "relu"), ("3", "sigmoid"), ("5", "tanh")]):
        got = [h.act(s)[1, j] for s in ACT_STATS]
        np.testing.assert_allclose(got, act_ref(r["acts"][name], kind), rtol=2e-5, atol=1e-7, equal_nan=True)
    np.testing.assert_allclose(h.inputs[1, 0], x.mean(0).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h.inputs[1, 1], x.std(0).numpy(), rtol=1e-5)


def test_close_removes_only_the_monitors_hooks():
    model = mlp()
    mine = model[1].register_forward_hook(lambda m, a, o: None)
    mon = watch(model, every=1)
    # model[0]: the input hook, and until a training pass has shown which layer runs first, the order hook
    assert len(model[1]._forward_hooks) == 2 and len(model[0]._forward_pre_hooks) == 2
    model(torch.randn(4, 3)).sum().backward()
    mon.step()
    assert len(model[0]._forward_pre_hooks) == 1 and not model[2]._forward_pre_hooks  # re-armed: the input hook only
    mon.close()
    assert list(model[1]._forward_hooks) == [mine.id]
    assert all(not m._forward_pre_hooks for m in model.modules())
    assert all(not m._forward_hooks for i, m in enumerate(model) if i != 1)
    mon.close()  # twice is harmless
    with pytest.raises(WatchError):
        mon.step()


# -- misuse ------------------------------------------------------------------------------------------
def test_step_without_gradients():
    model = mlp()
    mon = watch(model)
    with pytest.raises(WatchError, match="no gradients"):
        mon.step(torch.tensor(1.0))
    mon.close()
    # gradients cleared with set_to_none before a sampled step
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    mon = watch(model, opt, every=2)
    model(torch.randn(4, 3)).sum().backward()
    mon.step()
    opt.zero_grad(set_to_none=True)
    mon.step()  # step 2 is not sampled: nothing is read
    with pytest.raises(WatchError, match="loss.backward"):
        mon.step()
    mon.close()


def test_models_without_trainable_parameters_and_non_modules():
    for m in (nn.ReLU(), nn.Sequential(nn.ReLU(), nn.Tanh()), nn.Linear(2, 2).requires_grad_(False)):
        with pytest.raises(WatchError, match="no trainable parameters"):
            watch(m)
    with pytest.raises(WatchError, match="torch.nn.Module"):
        watch(lambda x: x)
    with pytest.raises(WatchError):
        watch(mlp(), every=0)
    # a model whose monitor failed at construction is not left marked as watched
    m = nn.Linear(2, 2)
    with pytest.raises(WatchError):
        watch(m, flush_every=0)
    watch(m).close()


def test_watching_the_same_model_twice():
    model = mlp()
    mon = watch(model)
    with pytest.raises(WatchError, match="already watched"):
        watch(model)
    with pytest.raises(WatchError, match="already watched"):
        Monitor(model)
    watch(model[0]).close()  # a submodule is another module
    mon.close()
    again = watch(model)  # allowed again after close()
    again.close()
    with watch(model):
        pass
    watch(model).close()  # the with block closed it


def test_non_scalar_loss():
    model = mlp()
    mon = watch(model)
    out = model(torch.randn(4, 3))
    out.sum().backward()
    with pytest.raises(WatchError, match=r"scalar loss.*\(4, 1\)"):
        mon.step(out)
    mon.close()
    model = mlp()
    mon = watch(model, every=1)
    out = model(torch.randn(4, 3))
    out.sum().backward()
    mon.step(out.sum().reshape(1))  # one element is a scalar
    with pytest.warns(RuntimeWarning, match="no activation hook fired before step 2"):
        mon.step(2.5)  # so is a plain float (no forward pass since step 1: the monitor says so)
    mon.close()
    np.testing.assert_allclose(mon.history.loss, [out.sum().item(), 2.5], rtol=1e-6)


def test_a_rejected_step_is_not_counted():
    model = mlp()
    mon = watch(model, every=5)
    with pytest.raises(WatchError):
        mon.step(torch.tensor(1.0))  # before backward(): no gradients
    out = model(torch.randn(4, 3))
    with pytest.raises(WatchError):
        mon.step(out)  # not a scalar
    loss = out.sum()
    loss.backward()
    mon.step(loss)
    mon.close()
    assert mon.steps == 1
    assert mon.history.loss_steps.tolist() == [1] and mon.history.loss.tolist() == [pytest.approx(loss.item())]
    assert mon.history.stat_steps.tolist() == [1]


def test_compiled_module_watches_the_original_one():
    if not hasattr(torch, "compile"):
        pytest.skip("torch.compile is unavailable")
    model = mlp()
    try:
        compiled = torch.compile(model)
    except Exception as err:  # pragma: no cover - platform without dynamo
        pytest.skip(f"torch.compile is unavailable: {err}")
    mon = watch(compiled)
    assert mon.model is model and mon.layer_names == ["0", "2", "4", "6"]  # no "_orig_mod." prefix
    with pytest.raises(WatchError, match="already watched"):
        watch(model)  # the original is the same model
    with pytest.raises(WatchError, match="already watched"):
        watch(compiled)
    mon.close()
    assert no_hooks(model)
    watch(model).close()


# -- bounded history and flushing -------------------------------------------------------------------
def _long_run(max_rows, flush_every, steps=300):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 2))
    mon = watch(model, every=1, flush_every=flush_every, max_rows=max_rows)
    x = torch.randn(4, 2)
    for _ in range(steps):
        model.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        mon.step(loss)
    mon.close()
    return mon.history


@pytest.mark.parametrize("flush_every", [
    10, 40,
    64,
    256,
])
def test_history_stays_bounded(flush_every):
    h = _long_run(50, flush_every)
    st = h.stat_steps
    assert len(st) <= 50 and st[0] == 1 and st[-1] > 250
    assert np.all(np.diff(st) > 0)
    assert h.layer("grad_norm").shape == (len(st), 1) and h.inputs.shape == (len(st), 2, 2)
    assert h.loss_steps.tolist() == list(range(1, 301))  # the loss is kept at full resolution


def test_thinned_rows_are_the_recorded_values_of_their_steps():
    full = _long_run(10**6, 10)
    thin = _long_run(50, 10)
    idx = np.searchsorted(full.stat_steps, thin.stat_steps)
    assert np.array_equal(full.stat_steps[idx], thin.stat_steps)
    np.testing.assert_array_equal(thin.layer("grad_norm"), full.layer("grad_norm")[idx])
    np.testing.assert_array_equal(thin.inputs, full.inputs[idx])


def _chunk(steps, F=2):
    s = np.asarray(steps)
    return Chunk(s, s.astype(float), s, np.zeros((len(s), 1, len(LAYER_STATS))), np.zeros((len(s), 0, len(ACT_STATS))),
                 np.zeros((len(s), 2, F)))


def test_history_appends_and_bounds_chunks():
    h = History(["a"], [], [], max_rows=8, max_loss=8)
    h.append(_chunk(range(1, 7)))
    h.append(_chunk(range(7, 11)))
    assert h.stat_steps.tolist() == [1, 3, 5, 7, 9] and h.loss.tolist() == [1, 3, 5, 7, 9]
    h2 = History(["a"], [], [])
    h2.append(_chunk([1, 2]))
    h2.append(_chunk([3], F=0))  # a step whose input was not seen: NaN inputs, never dropped
    assert h2.inputs.shape == (3, 2, 2) and np.isnan(h2.inputs[2]).all() and (h2.inputs[:2] == 0).all()
    empty = History(["a", "b"], ["r"], ["relu"])
    assert empty.layer("grad_norm").shape == (0, 2) and empty.act("mean").shape == (0, 1) and len(empty.loss) == 0


def test_history_bounds_one_large_chunk():
    h = History(["a"], [], [], max_rows=50, max_loss=100)
    h.append(_chunk(range(1, 1001)))
    assert len(h.stat_steps) <= 50 and len(h.loss) <= 100 and h.stat_steps[0] == 1


def test_max_rows_below_one_is_rejected():
    with pytest.raises(WatchError):
        watch(nn.Linear(2, 2), max_rows=0)


def test_on_flush_callbacks_receive_each_chunk():
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    chunks = []
    mon = watch(model, opt, every=3, flush_every=4, on_flush=[chunks.append])
    x, y = torch.randn(8, 3), torch.randn(8, 1)
    for s in range(1, 11):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        mon.step(loss)
        opt.step()
        assert len(chunks) == s // 4  # a transfer every flush_every steps
    assert mon.flush() is chunks[-1] and len(chunks) == 3  # flush() hands over what is pending
    assert mon.flush() is None and len(chunks) == 3  # nothing pending: no chunk
    mon.close()
    assert len(chunks) == 3
    assert [c.loss_steps.tolist() for c in chunks] == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]
    assert [c.stat_steps.tolist() for c in chunks] == [[1, 4], [7], [10]]
    h = mon.history
    np.testing.assert_array_equal(np.concatenate([c.loss for c in chunks]), h.loss)
    np.testing.assert_array_equal(np.concatenate([c.layers for c in chunks]), h._merged().layers)
    np.testing.assert_array_equal(np.concatenate([c.acts for c in chunks]), h._merged().acts)
    assert all(c.layers.shape[1:] == (4, len(LAYER_STATS)) and c.acts.shape[1:] == (3, len(ACT_STATS)) for c in chunks)


# -- convolutional model -----------------------------------------------------------------------------
def test_cnn_layers_activations_and_per_channel_inputs():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    with torch.no_grad():
        model[0].bias[1] = -50.0  # one channel that never fires: a dead unit
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    g = torch.Generator().manual_seed(3)
    scale, shift = torch.tensor([1.0, 4.0])[None, :, None, None], torch.tensor([0.0, 2.0])[None, :, None, None]
    x = torch.randn(12, 2, 8, 8, generator=g) * scale + shift
    y = torch.randint(0, 3, (12,), generator=g)
    ref = Reference(model)
    mon = watch(model, opt, every=2)
    for _ in range(3):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        ref.at_step()
        mon.step(loss)
        opt.step()
    mon.close()
    ref.remove()
    h = mon.history
    assert mon.layer_names == ["0", "4"] and mon.layer_types == ["Conv2d", "Linear"] and mon.act_names == ["1"]
    assert h.stat_steps.tolist() == [1, 3] and h.inputs.shape == (2, 2, 2)  # one column per input channel
    for k, s in enumerate([1, 3]):
        r = ref.rows[s - 1]
        for stat in LAYER_STATS:
            if stat == "update_ratio" and s == 1:  # no optimizer step before step 1: nothing to measure
                assert np.isnan(h.layer(stat)[k]).all()
                continue
            np.testing.assert_allclose(h.layer(stat)[k], r[stat], rtol=2e-5, atol=1e-12)
        out = r["acts"]["1"]
        assert out.shape == (12, 4, 8, 8)
        got = [h.act(st)[k, 0] for st in ACT_STATS]
        np.testing.assert_allclose(got, act_ref(out, "relu"), rtol=2e-5, atol=1e-7, equal_nan=True)
        assert got[4] == pytest.approx(0.25)  # dead_frac: 1 of 4 channels
        xc = r["x"].movedim(1, 0).reshape(2, -1)
        np.testing.assert_allclose(h.inputs[k, 0], xc.mean(1).numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(h.inputs[k, 1], xc.std(1).numpy(), rtol=1e-5)
    assert h.inputs[0, 1, 1] == pytest.approx(4, rel=0.1) and h.inputs[0, 0, 1] == pytest.approx(2, abs=0.2)


# -- activation histograms ---------------------------------------------------------------------------
def test_activation_histograms_equal_histc_of_a_plain_forward_pass():
    """Each sampled step's histogram is torch.histc of the layer's output (first ACT_SAMPLES samples,
    clamped so the end bins count what lies beyond the range), computed here by a plain forward pass."""
    from gradmedic.measure.monitor import ACT_HIST_BINS, UNBOUNDED_RANGE

    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Tanh(),
                          nn.Linear(16, 16), nn.ELU(), nn.Linear(16, 1))
    with torch.no_grad():
        model[0].weight.mul_(4)  # ReLU outputs beyond 4 and ELU below -1: the end bins must collect them
        model[6].weight.mul_(6)
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    x = torch.randn(50, 3, generator=torch.Generator().manual_seed(4)) * 2
    ranges = [(0.0, UNBOUNDED_RANGE), (0.0, 1.0), (-1.0, 1.0), (-UNBOUNDED_RANGE, UNBOUNDED_RANGE)]
    expect = []
    with watch(model, opt, every=2) as mon:
        assert mon.hist_ranges == ranges
        for s in range(1, 6):
            if (s - 1) % 2 == 0:  # the reference: a plain forward pass with the same weights
                outs, h = [], x
                with torch.no_grad():
                    for m in model:
                        h = m(h)
                        if not isinstance(m, nn.Linear):
                            outs.append(sampled(h))
                expect.append([torch.histc(o.clamp(lo, hi), ACT_HIST_BINS, lo, hi).numpy()
                               for o, (lo, hi) in zip(outs, ranges, strict=True)])
            opt.zero_grad()
            loss = model(x).pow(2).mean()
            loss.backward()
            mon.step(loss)
            opt.step()
    got = mon.history.hists
    assert got.shape == (3, 4, ACT_HIST_BINS) and mon.history.stat_steps.tolist() == [1, 3, 5]
    np.testing.assert_array_equal(got, np.array(expect))
    # every recorded value is counted once, and the clamping put values beyond the range into the end bins
    assert (got.sum(2) == ACT_SAMPLES * 16).all()
    first = expect[0]
    assert first[0][-1] > 0 and first[0][0] > 0  # ReLU: zeros in the first bin, > 4 in the last
    assert mon.history.hist_ranges == ranges


def test_histograms_are_thinned_with_their_rows_and_absent_in_old_chunks():
    h = History(["a"], ["r"], ["relu"], max_rows=4, hist_ranges=[(0.0, 4.0)])
    old = Chunk(np.arange(1, 5), np.ones(4), np.arange(1, 5), np.zeros((4, 1, len(LAYER_STATS))),
                np.zeros((4, 1, len(ACT_STATS))), np.zeros((4, 2, 0)))  # a chunk without histograms
    new = Chunk(np.arange(5, 9), np.ones(4), np.arange(5, 9), np.zeros((4, 1, len(LAYER_STATS))),
                np.zeros((4, 1, len(ACT_STATS))), np.zeros((4, 2, 0)), np.arange(5, 9, dtype=float).reshape(4, 1, 1) * np.ones(3))
    h.append(old)
    assert h.hists is None
    h.append(new)  # 8 rows > 4: every other row kept, histograms with their steps
    assert h.stat_steps.tolist() == [1, 3, 5, 7]
    assert np.isnan(h.hists[:2]).all() and h.hists[2:, 0, 0].tolist() == [5.0, 7.0]


class _Mixed(nn.Module):
    """Activations of several shapes and kinds side by side (outputs of one shape are computed
    stacked, as one group), some of them holding NaN and +-inf."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 8)
        self.relu, self.sig = nn.ReLU(), nn.Sigmoid()  # same shape (N, 8): one group, two kinds
        self.seq = nn.Linear(8, 24)
        self.tanh, self.gelu = nn.Tanh(), nn.GELU()  # (N, 3, 8)
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.crelu, self.r6 = nn.ReLU(), nn.ReLU6()  # (N, 3, 4, 4): channels are the units
        self.head = nn.Linear(8 + 24 + 48 + 48, 1)

    def forward(self, x):
        h = self.fc(x)
        h = h.clone()
        h[0, 0], h[1, 1], h[2, 2] = math.nan, math.inf, -math.inf  # non-finite values reach every activation
        a, b = self.relu(h), self.sig(h * 3)
        s = self.seq(a).reshape(-1, 3, 8)
        t, _gelu = self.tanh(s * 4), self.gelu(s - 0.5)  # the GELU output is only measured
        c = self.conv(x.reshape(-1, 1, 2, 2).repeat(1, 1, 2, 2))
        c1, c2 = self.crelu(c), self.r6(c * 5)
        flat = torch.cat([b, t.flatten(1), c1.flatten(1), c2.flatten(1)], 1)
        return self.head(torch.nan_to_num(flat, 0.0, 0.0, 0.0)) + a.nan_to_num(0.0, 0.0, 0.0).sum(1, keepdim=True) * 0


def test_grouped_statistics_equal_per_layer_reference_with_mixed_shapes_and_non_finite_values():
    """The activation statistics and histograms, computed stacked per output shape with float-op counts,
    equal their definitions computed layer by layer with comparisons (NaN is not <= 0 and not saturated)."""
    from gradmedic.measure.monitor import ACT_HIST_BINS, activation_range

    torch.manual_seed(0)
    model = _Mixed()
    x = torch.randn(40, 4, generator=torch.Generator().manual_seed(1)) * 2
    seen = {}
    handles = [m.register_forward_hook(lambda mod, a, o, n=n: seen.__setitem__(n, sampled(o.detach()).clone()))
               for n, m in model.named_modules() if isinstance(m, (nn.ReLU, nn.ReLU6, nn.Sigmoid, nn.Tanh, nn.GELU))]
    with watch(model, every=1) as mon:
        model(x).sum().backward()
        mon.step(1.0)
    for h in handles:
        h.remove()
    h = mon.history
    assert h.act_names == ["relu", "sig", "tanh", "gelu", "crelu", "r6"]
    sat = {"sig": (0.01, 0.99), "tanh": (-0.99, 0.99)}
    for j, name in enumerate(h.act_names):
        o = seen[name].double()
        fin = o[torch.isfinite(o)]
        relu = name in ("relu", "gelu", "crelu", "r6")
        unit = 1 if o.dim() == 4 else o.dim() - 1
        peak = o.movedim(unit, -1).reshape(-1, o.shape[unit]).amax(0)
        expect = [o.mean().item(), o.std().item(),
                  (o <= 0).double().mean().item() if relu else math.nan,
                  ((o <= sat[name][0]) | (o >= sat[name][1])).double().mean().item() if name in sat else math.nan,
                  (peak <= 0).double().mean().item() if relu else math.nan]
        got = [h.act(st)[0, j] for st in ACT_STATS]
        np.testing.assert_allclose(got, expect, rtol=2e-5, atol=1e-7, equal_nan=True, err_msg=name)
        assert fin.numel() < o.numel() or name in ("tanh", "gelu", "crelu", "r6")
        lo, hi = activation_range(dict(model.named_modules())[name])
        np.testing.assert_array_equal(h.hists[0, j], torch.histc(seen[name].float().clamp(lo, hi), ACT_HIST_BINS, lo, hi).numpy(),
                                      err_msg=name)
    # the NaN, +inf and -inf made it into the ReLU and sigmoid outputs, and the counts still match
    assert math.isnan(h.act("mean")[0, 0]) and 0 < h.act("zero_frac")[0, 0] < 1 and 0 < h.act("sat_frac")[0, 1] < 1


# -- the one definition of silent, dead and saturated units (gradmedic.measure.units), against plain comparisons --
def test_unit_shares_match_plain_comparisons():
    from torch import nn

    from gradmedic.measure import units

    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 32, 16, generator=g)
    x[0, :, :4] = -1.0  # 4 of 16 units of layer 0 silent for every sample
    x[1, 0, 0] = math.nan
    flat = x.reshape(3, -1)
    np.testing.assert_allclose(units.silent_share(flat).numpy(), (flat <= 0).double().mean(1).numpy())
    sig = torch.sigmoid(3 * flat)
    sat = ((sig <= 0.01) | (sig >= 0.99)).double().mean(1)
    np.testing.assert_allclose(units.saturated_share(sig, units.saturation_bounds(nn.Sigmoid())).numpy(), sat.numpy())
    th = torch.tanh(3 * flat)
    np.testing.assert_allclose(units.saturated_share(th, (-0.99, 0.99)).numpy(), (th.abs() >= 0.99).double().mean(1).numpy())
    dead = torch.stack([(layer.amax(0) <= 0).double().mean() for layer in x])
    np.testing.assert_allclose(units.dead_share(x).numpy(), dead.numpy())
    assert units.dead_share(x)[0] == 0.25
    assert units.alive_units(x[0]).tolist() == [False] * 4 + [True] * 12
    img = torch.randn(8, 5, 3, 3, generator=g)
    img[:, 2] = 0.0  # a dead channel
    assert units.alive_units(img).tolist() == [True, True, False, True, True] and units.dead_share(img[None])[0] == 0.2
    # the same definition for callers outside the monitor (pictures, experiments), on arrays
    assert units.saturated_fraction(nn.Tanh(), th[0].numpy()) == pytest.approx(float((th[0].abs() >= 0.99).double().mean()))
    assert units.saturated_fraction(nn.ReLU(), th[0].numpy()) is None
    assert units.silent_fraction(np.array([-1.0, 0.0, 2.0, 3.0])) == 0.5
    assert [k for _, _, k in units.activation_modules(nn.Sequential(nn.Linear(2, 2), nn.GELU(), nn.Tanh()))] == \
        ["relu", "saturating"]


def test_a_wide_layer_histogram_counts_the_first_samples_that_hold_hist_values():
    """A layer of 300 units: its histogram is histc of the first ceil(2048 / 300) = 7 samples' outputs (the
    statistics still use all 32), recomputed here from a plain forward pass; a 16-unit layer keeps all 32."""
    from gradmedic.measure.monitor import ACT_HIST_BINS, HIST_VALUES, UNBOUNDED_RANGE

    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(6, 300), nn.ReLU(), nn.Linear(300, 16), nn.ReLU(), nn.Linear(16, 1))
    x = torch.randn(40, 6, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        h1 = model[1](model[0](x))
        h2 = model[3](model[2](h1))
    with watch(model, every=1) as mon:
        model(x).pow(2).mean().backward()
        mon.step(1.0)
    n1 = -(-HIST_VALUES // 300)
    assert n1 == 7
    lo, hi = 0.0, UNBOUNDED_RANGE
    got = mon.history.hists[0]
    np.testing.assert_array_equal(got[0], torch.histc(sampled(h1)[:n1].clamp(lo, hi), ACT_HIST_BINS, lo, hi).numpy())
    np.testing.assert_array_equal(got[1], torch.histc(sampled(h2).clamp(lo, hi), ACT_HIST_BINS, lo, hi).numpy())
    assert got[0].sum() == 7 * 300 and got[1].sum() == ACT_SAMPLES * 16
    # the share of zeros is still measured on all 32 samples
    assert mon.history.act("zero_frac")[0, 0] == pytest.approx((sampled(h1) <= 0).double().mean().item(), abs=1e-6)


def test_histograms_are_histc_bin_for_bin():
    """The monitor's one-bincount histograms equal torch.histc of each clamped row, at the bin edges too."""
    from gradmedic.measure.monitor import ACT_HIST_BINS, _histograms

    g = torch.Generator().manual_seed(1)
    for lo, hi in ((0.0, 4.0), (0.0, 1.0), (-1.0, 1.0), (-4.0, 4.0), (0.0, 6.0)):
        x = torch.randn(4, 2000, generator=g) * (hi - lo) / 2 + (hi + lo) / 2
        e = torch.linspace(lo, hi, ACT_HIST_BINS + 1)
        x[0, :41], x[1, :41] = torch.nextafter(e, torch.tensor(-9.0)), torch.nextafter(e, torch.tensor(9.0))
        x[2, :41] = e
        x[3, :3] = torch.tensor([math.nan, math.inf, -math.inf])
        want = torch.stack([torch.histc(r, ACT_HIST_BINS, lo, hi) for r in x.clamp(lo, hi)])
        assert torch.equal(_histograms(x, (lo, hi)), want), (lo, hi)


class _Exploding(nn.Module):
    """fc -> exp -> fc (a VAE's exp(logvar / 2)): after one step at a rate far too high the exponent overflows."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(8, 16), nn.Linear(16, 1)

    def forward(self, x):
        return self.fc2(torch.exp(self.fc1(x)))


def test_a_loop_that_dies_in_step_2s_forward_pass_leaves_that_pass_recorded():
    torch.manual_seed(0)
    model, x, y = _Exploding(), torch.rand(32, 8), torch.full((32, 1), 1e4)
    opt = torch.optim.SGD(model.parameters(), lr=10.0)
    mon = watch(model, opt, every=10)
    w0 = [p.detach().clone() for p in model.fc1.parameters()]
    with pytest.raises(FloatingPointError):
        for _ in range(3):
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            if not torch.isfinite(loss):  # the loop dies before step(), as one whose loss refuses a NaN (BCE) would
                raise FloatingPointError("non-finite loss")
            loss.backward()
            mon.step(loss)
            opt.step()
    mon.close()
    h = mon.history
    assert h.loss_steps.tolist() == [1] and h.stat_steps.tolist() == [1, 2]
    assert np.isinf(h.act("mean")[1]).all() and mon.act_names == ["fc2.input"]  # exp's output, at fc2's input
    assert np.isnan(h.layer("grad_norm")[1]).all()  # that pass had no backward
    upd = math.sqrt(sum(float(((p.detach() - q) ** 2).sum()) for p, q in zip(model.fc1.parameters(), w0, strict=True)))
    ref = upd / math.sqrt(sum(float((q ** 2).sum()) for q in w0))
    assert h.layer("update_ratio")[1, 0] == pytest.approx(ref, rel=1e-4) and ref > 1
    d = mon.diagnose()
    nf = next(f for f in d.findings if f.problem == "non_finite")
    assert nf.step == 2 and "forward pass of step 2" in nf.message and "at lr 10" in nf.message


def test_a_finite_pass_after_the_last_step_is_not_a_step():
    model, x, y = mlp(), torch.randn(16, 3), torch.randn(16, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    mon = watch(model, opt, every=10)
    opt.zero_grad()
    ((model(x) - y) ** 2).mean().backward()
    mon.step()
    opt.step()
    model(x)  # an evaluation in train mode, with gradients on: captured (step 2 is watched), finite, dropped
    mon.close()
    assert mon.history.stat_steps.tolist() == [1]


def test_weight_gain_is_the_rms_row_norm_of_each_layers_weight_matrices():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 2))
    nn.init.normal_(model[0].weight, std=1.0)
    lstm = nn.LSTM(3, 16, batch_first=True)
    mon, mon2 = watch(model), watch(lstm)
    w = model[0].weight.detach()
    assert mon.weight_gain[0] == pytest.approx(float(w.norm(dim=1).pow(2).mean().sqrt()), rel=1e-5)
    assert mon.weight_gain[0] == pytest.approx(8.0, rel=0.05)  # N(0, 1): sqrt(fan_in)
    assert mon.weight_gain[1] == pytest.approx(1 / math.sqrt(3), rel=0.15)  # PyTorch's default: U(+-1/sqrt(fan_in))
    whh = lstm.weight_hh_l0.detach()  # the larger of the LSTM's input (fan-in 3) and recurrent (16) matrices
    assert mon2.weight_gain == [pytest.approx(float(whh.norm(dim=1).pow(2).mean().sqrt()), rel=1e-5)]
    mon.close()
    mon2.close()


def test_a_model_whose_own_forward_never_runs_through_call_is_read_at_its_last_layer():
    """The seq2seq tutorial's encoder and decoder watched through one wrapper module, the loop calling the parts; a
    LightningModule whose training_step calls self.forward(x) (the UvA transformer tutorial): the wrapper's forward hook
    never fires.  From the second sample on the output is read at the last layer to run in a training pass (here the
    3-way head: the chance level ln 3 is known), and the monitor says so, once.  Called as pair(x), nothing changes."""
    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc, self.dec = nn.Sequential(nn.Linear(4, 8), nn.ReLU()), nn.Linear(8, 3)

        def forward(self, x):
            return self.dec(self.enc(x))

    torch.manual_seed(0)
    x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    for how in ("parts", "forward", "call"):
        pair = Pair()
        opt = torch.optim.SGD(pair.parameters(), lr=0.1)
        with watch(pair, opt, every=2) as mon:
            for _ in range(5):
                opt.zero_grad()
                out = pair.dec(pair.enc(x)) if how == "parts" else pair.forward(x) if how == "forward" else pair(x)
                loss = nn.functional.cross_entropy(out, y)
                loss.backward()
                mon.step(loss)
                opt.step()
        read = [n for n in mon.notes if "output checks read dec's output" in n]
        width = mon.history.output("width")
        assert len(read) == (0 if how == "call" else 1)
        assert list(width) == ([3.0] * 3 if how == "call" else [pytest.approx(np.nan, nan_ok=True), 3.0, 3.0])
        assert np.isfinite(mon.history.output("out_grad")[1:]).all()
        assert np.isfinite(mon.history.act("zero_frac")).all()  # the parts' own hooks fire either way


def test_weight_gain_reads_a_custom_layers_matrix_either_way_round():
    """nn-zero-to-hero's Linear keeps its matrix (in, out) and computes x @ W: a fan-in init of 30 -> 200 reads 2.6
    across its rows (the doctor told that healthy MLP exploding_gradients).  A module PyTorch did not define gets the
    reading nearer 1; nn.Linear keeps its rows (outputs), and N(0, 1) weights read large either way."""

    class InOut(nn.Module):  # as in nn-zero-to-hero's makemore part 3
        def __init__(self, fan_in, fan_out, scale):
            super().__init__()
            self.weight = nn.Parameter(torch.randn(fan_in, fan_out) * scale)

        def forward(self, x):
            return x @ self.weight

    torch.manual_seed(0)
    model = nn.Sequential(InOut(30, 200, 30 ** -0.5), nn.Tanh(), InOut(200, 27, 1.0), nn.Linear(27, 200))
    with torch.no_grad():
        model[3].weight.copy_(torch.randn(200, 27) * 27 ** -0.5)  # nn.Linear, fan-in init: (out, in) rows read 1
    m = watch(model)
    gains = dict(zip(m.layer_names, m.weight_gain, strict=True))
    assert gains["0"] == pytest.approx(1.0, abs=0.05)  # across the columns, not sqrt(200 / 30) = 2.6 across the rows
    assert gains["2"] == pytest.approx(27 ** 0.5, rel=0.05)  # N(0, 1): sqrt(27) the nearer reading, still far above 1
    lin = model[3].weight
    assert gains["3"] == pytest.approx(float(lin.detach().norm() / 200 ** 0.5), rel=1e-6)
    m.close()


def test_a_hand_written_affine_layer_drawn_constant_reads_as_identical_units():
    """dataflowr's MyLinear_mod keeps A (in, out) and b (out) and computes x @ A + b; drawn all zero (torch.randn * 0)
    its 50 hidden units are identical and stay so.  row_spread reads its rows along the axis the bias's length names
    (units = 50, spread = that of A's columns with b, as a plain computation gives), reads a constant matrix without a
    bias as spread 0 either way round, and a random one as far from 0 either way round."""

    class MyLinear(nn.Module):
        def __init__(self, n_in, n_out, scale, bias=True):
            super().__init__()
            self.A = nn.Parameter(torch.randn(n_in, n_out) * scale)
            self.b = nn.Parameter(torch.randn(n_out) * scale) if bias else None

        def forward(self, x):
            return x @ self.A + (self.b if self.b is not None else 0)

    torch.manual_seed(0)
    model = nn.Sequential(MyLinear(2, 50, 0.0), nn.ReLU(), MyLinear(50, 3, 1.0), nn.ReLU(), MyLinear(3, 4, 0.0, bias=False))
    with torch.no_grad():
        model[4].A.fill_(0.5)  # constant, not zero
    m = watch(model)
    spread = {n: (u, s) for n, u, s in m.row_spread()}
    assert spread["0"] == (50, 0.0)
    rows = torch.cat([model[2].A.detach().T, model[2].b.detach()[:, None]], 1).double()  # a unit's weights and bias
    ref = float((rows - rows.mean(0)).norm(dim=1).max() / rows.norm(dim=1).mean())
    assert spread["2"][0] == 3 and spread["2"][1] == pytest.approx(ref, rel=1e-9) and ref > 0.1
    assert spread["4"][1] == 0.0
    m.close()
    # a lookup table's rows are tokens, not units: a constant EmbeddingBag is no symmetric layer
    bag = nn.Sequential(nn.EmbeddingBag(10, 4), nn.Linear(4, 2))
    nn.init.constant_(bag[0].weight, 0.1)
    m = watch(bag)
    assert [n for n, _, _ in m.row_spread()] == ["1"]
    m.close()


def test_a_hand_written_layer_with_several_weights_reads_its_units_along_their_shared_first_axis():
    """efficient-kan's KANLinear keeps base_weight (out, in), spline_weight (out, in, k) and spline_scaler (out, in):
    one unit's row is all three tensors' slices for it (spread as a plain computation gives), so every parameter filled
    with 0.1 reads as identical units (public set 93's miss), and a random draw does not."""

    class KANish(nn.Module):
        def __init__(self, n_in, n_out, k=4):
            super().__init__()
            self.base_weight = nn.Parameter(torch.randn(n_out, n_in))
            self.spline_weight = nn.Parameter(torch.randn(n_out, n_in, k))
            self.spline_scaler = nn.Parameter(torch.ones(n_out, n_in))

        def forward(self, x):
            spline = self.spline_weight * self.spline_scaler[..., None]
            return x @ self.base_weight.T + torch.einsum("bi,oik->bo", x.tanh(), spline)

    torch.manual_seed(0)
    model = nn.Sequential(KANish(5, 6), KANish(6, 3))
    with torch.no_grad():
        for p in model[0].parameters():
            p.fill_(0.1)
    m = watch(model)
    spread = {n: (u, s) for n, u, s in m.row_spread()}
    assert spread["0"] == (6, 0.0)
    lay = model[1]
    rows = torch.cat([lay.base_weight.detach(), lay.spline_weight.detach().reshape(3, -1), lay.spline_scaler.detach()],
                     1).double()
    ref = float((rows - rows.mean(0)).norm(dim=1).max() / rows.norm(dim=1).mean())
    assert spread["1"][0] == 3 and spread["1"][1] == pytest.approx(ref, rel=1e-9) and ref > 0.1
    m.close()


def test_weights_registered_only_through_a_parameter_list_are_said_to_hide_the_layers():
    """philipperemy's N-BEATS keeps its blocks in a plain Python list and registers their weights through one
    nn.ParameterList (public set 102): watch() sees one 'layer' and no activation.  The notes say why, and what to do;
    the same blocks in an nn.ModuleList are watched layer by layer, with no such note."""

    class Hidden(nn.Module):
        def __init__(self, registered):
            super().__init__()
            blocks = [nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)) for _ in range(2)]
            if registered:
                self.blocks = nn.ModuleList(blocks)
            else:
                self.blocks_list = blocks
                self.parameters_ = nn.ParameterList([p for b in blocks for p in b.parameters()])

        def forward(self, x):
            return sum(b(x) for b in (self.blocks if hasattr(self, "blocks") else self.blocks_list))

    m = watch(Hidden(False))
    assert m.layer_names == ["parameters_"] and any("nn.ModuleList" in n for n in m.notes)
    m.close()
    m = watch(Hidden(True))
    assert len(m.layer_names) == 4 and not any("nn.ModuleList" in n for n in m.notes)
    m.close()


def test_the_inputs_measured_are_those_of_the_first_layer_to_run_not_the_first_registered():
    """nn.Transformer registers its encoder layers before a subclass's embedding (pytorch/examples word LM): the input
    of the first registered layer was the embedding's output, 11x too large under an N(0, 1) embedding, and the doctor
    called it unscaled inputs.  The first layer to run in a training pass is the one the data enters."""

    class HeadFirst(nn.Module):
        def __init__(self):
            super().__init__()
            self.head = nn.Linear(16, 2)  # registered first, runs last
            self.body = nn.Linear(4, 16)

        def forward(self, x):
            return self.head(torch.relu(self.body(x)))

    torch.manual_seed(0)
    model = HeadFirst()
    x = torch.randn(64, 4) * torch.tensor([1.0, 10.0, 100.0, 1000.0]) + 5.0
    opt = torch.optim.SGD(model.parameters(), lr=1e-4)
    with watch(model, opt, every=1) as mon:
        for _ in range(3):
            opt.zero_grad()
            loss = model(x).pow(2).mean()
            loss.backward()
            mon.step(loss)
            opt.step()
    h = mon.history
    assert h.inputs.shape[1:] == (2, 4)  # the data's 4 features, not the head's 16
    np.testing.assert_allclose(h.inputs[-1, 0], x.mean(0).numpy(), rtol=1e-5)
    np.testing.assert_allclose(h.inputs[-1, 1], x.std(0).numpy(), rtol=1e-5)


def test_a_score_per_sample_and_a_batch_of_one_are_read_at_the_output():
    """A regression whose forward ends in .squeeze(-1) (jinglescode's LSTM forecaster, rasbt's packed LSTM with its
    .view(-1)) hands the loss an (N,) output; the word-embedding tutorials step one sample at a time, (1, C).  Both are
    read: the (N,) output as (N, 1), with its width 1 and the targets' variance from its gradient (the squared error's
    chance level), and the (1, C) output with its width and gradient but no spread across a batch of one."""
    torch.manual_seed(0)
    x = torch.randn(256, 8)
    y = 3 * x @ torch.randn(8) + 5
    reg = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
    opt = torch.optim.Adam(reg.parameters(), 1e-2)
    with watch(reg, opt, every=5) as mon:
        for _ in range(20):
            i = torch.randint(0, 256, (64,))
            loss = nn.functional.mse_loss(reg(x[i]).squeeze(-1), y[i])
            opt.zero_grad()
            loss.backward()
            mon.step(loss)
            opt.step()
    h = mon.history
    assert list(h.output("width")) == [1.0] * 4 and np.isfinite(h.output("batch_spread")).all()
    # the loss of predicting the batch's mean target: within sampling error of the targets' variance
    assert 0.5 * y.var().item() < h.output("mse_const")[0] < 1.5 * y.var().item()
    emb = nn.Sequential(nn.Embedding(50, 8), nn.Flatten(), nn.Linear(16, 50))
    opt = torch.optim.SGD(emb.parameters(), 0.01)
    with watch(emb, opt, every=5) as mon:
        for _ in range(20):
            w = torch.randint(0, 50, (1, 2))
            loss = nn.functional.cross_entropy(emb(w), w[:, 0])
            opt.zero_grad()
            loss.backward()
            mon.step(loss)
            opt.step()
    h = mon.history
    assert list(h.output("width")) == [50.0] * 4 and np.isnan(h.output("batch_spread")).all()
    assert np.isfinite(h.output("out_grad")).all() and (h.output("out_grad") > 0).all()


def test_a_layer_called_several_times_in_a_pass_is_read_at_its_largest_input():
    """A GAN's discriminator runs on the generator's batch first (its monitor armed since its last step()), then on the
    real batch and the detached fake one, and one backward() follows: its inputs are all three.  Real data of scale 100
    (MorvanZhou's painter GAN with the paintings x100, public set 30) shows only in the second call; the input statistics
    are those of the call of the largest scale, recomputed here from that batch."""
    torch.manual_seed(0)
    D = nn.Sequential(nn.Linear(15, 32), nn.ReLU(), nn.Linear(32, 1))
    opt = torch.optim.Adam(D.parameters(), lr=1e-3)
    mon = watch(D, opt, every=1)
    reals = []
    for _ in range(4):
        fake = torch.randn(64, 15) * 0.3
        real = 100.0 * (torch.rand(64, 15) + 1.0)
        reals.append(real)
        D(fake)  # the generator's step: D's graph on the fake batch (its loss backpropagates into G only)
        loss = -(torch.log(torch.sigmoid(D(real))) + torch.log(1 - torch.sigmoid(D(fake)))).mean()
        opt.zero_grad()
        loss.backward()
        mon.step(loss)
        opt.step()
    mon.close()
    x = mon.history.inputs  # (samples, [mean, std], features)
    np.testing.assert_allclose(x[-1, 0], reals[-1].mean(0).numpy(), rtol=1e-4)
    np.testing.assert_allclose(x[-1, 1], reals[-1].std(0).numpy(), rtol=1e-4)
    assert "unscaled_inputs" in mon.diagnose().problems


def test_unit_counts_of_each_activation_entry_are_recorded_and_saved(tmp_path):
    """history.act_units: channels of a conv's feature map, features of a Linear's output, and for a model with
    functional activations the features entering each Linear; 0 before the first sampled pass; kept by save/load, and
    absent (None) in a file written before it was recorded."""
    import json

    import torch.nn.functional as F

    torch.manual_seed(0)
    conv = nn.Sequential(nn.Conv2d(1, 6, 3), nn.ReLU(), nn.Flatten(), nn.Linear(216, 20), nn.Tanh(), nn.Linear(20, 3))

    class Functional(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(5, 7), nn.Linear(7, 2)

        def forward(self, x):
            return self.b(F.relu(self.a(x)))

    for model, x, want in ((conv, torch.randn(16, 1, 8, 8), [6, 20]), (Functional(), torch.randn(16, 5), [7])):
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        mon = watch(model, opt, every=5)
        assert mon.history.act_units == [0] * len(want)
        for _ in range(6):
            loss = F.cross_entropy(model(x), torch.arange(16) % 2)
            opt.zero_grad()
            loss.backward()
            mon.step(loss)
            opt.step()
        mon.close()
        assert mon.history.act_units == want
        path = tmp_path / "run.npz"
        mon.save(path)
        assert History.load(path)[0].act_units == want
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
        header = json.loads(str(arrays.pop("header")))
        del header["act_units"]
        np.savez_compressed(path, header=np.array(json.dumps(header)), **arrays)
        assert History.load(path)[0].act_units is None


@pytest.mark.parametrize("act, measured", [(nn.ReLU(), True), (nn.GELU(), True), (nn.ELU(), True),
                                           (nn.LeakyReLU(0.0), True), (nn.LeakyReLU(), False), (nn.LeakyReLU(0.2), False),
                                           (nn.PReLU(), False)])
def test_dead_units_are_measured_only_where_a_silent_unit_passes_no_gradient(act, measured):
    """A unit with no positive output for any input is dead when its slope there is 0 or fades to 0: ReLU, GELU, ELU.
    A leaky unit (LeakyReLU of any slope c > 0, PReLU) "backpropagates a gradient of c ... thus avoiding the Dead ReLU
    problem" (seed 002 §7.4.3): no dead share is recorded for it (its silent share still is)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), act, nn.Linear(16, 2))
    with torch.no_grad():
        model[0].bias.fill_(-5.0)  # every pre-activation below 0
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    mon = watch(model, opt, every=5)
    for _ in range(11):
        loss = nn.functional.cross_entropy(model(torch.randn(32, 4)), torch.randint(0, 2, (32,)))
        opt.zero_grad()
        loss.backward()
        mon.step(loss)
        opt.step()
    mon.close()
    np.testing.assert_array_equal(mon.history.act("zero_frac")[:, 0], 1.0)
    dead = mon.history.act("dead_frac")[:, 0]
    assert (dead == 1.0).all() if measured else np.isnan(dead).all()


@pytest.mark.parametrize("update, rate", [("sgd", 0.05), ("sgd_clip_then_none", 0.05), ("momentum", None),
                                          ("rms", None), ("sgd_clip_in_place", None)])
def test_a_loop_updating_by_hand_has_its_sgd_rate_read_from_its_steps(update, rate):
    """Without an optimizer the monitor sets each sampled step, w_{t-1} - w_t, against the gradient step() saw: plain
    SGD (w -= lr * w.grad) is parallel to it and the ratio of their norms is lr - recorded in history.lr, and
    loop_facts says optimizer "SGD", by_hand.  Momentum or RMSprop written out turn the step away from the gradient
    (no rate); so does nothing a clip in place does to the step's direction, but it scales each step by its own factor,
    and a rate that does not hold from one sample to the next is not read.  A gradient clipped in place and then let go
    (zero_grad() to None) is the one the update used: the rate read is lr."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    x, y = torch.randn(256, 8) * 5, torch.randint(0, 3, (256,))
    mon = watch(model, every=10)
    state = [torch.zeros_like(p) for p in model.parameters()]
    for _ in range(60):
        i = torch.randint(0, 256, (32,))
        loss = nn.functional.cross_entropy(model(x[i]), y[i])
        model.zero_grad(set_to_none=True)
        loss.backward()
        mon.step(loss)
        if "clip" in update:
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        with torch.no_grad():
            for p, s in zip(model.parameters(), state, strict=True):
                if update == "momentum":
                    s.mul_(0.9).add_(p.grad)
                    p -= 0.05 * s
                elif update == "rms":
                    s.mul_(0.9).add_(0.1 * p.grad ** 2)
                    p -= 0.001 * p.grad / (s.sqrt() + 1e-8)
                else:
                    p -= 0.05 * p.grad
                    if update == "sgd_clip_in_place":
                        p.grad.zero_()
    mon.close()
    facts, lrs = mon.loop_facts, mon.history.lr
    notes = mon.diagnose().notes
    if rate is None:
        assert not facts["by_hand"] and facts["optimizer"] is None and np.isnan(lrs).all()
        assert any("no rate could be read" in n for n in notes)  # a check that is off says so
    else:
        assert facts["by_hand"] and facts["optimizer"] == "SGD" and facts["lr"] == pytest.approx(rate, rel=1e-4)
        read = lrs[np.isfinite(lrs)]
        assert len(read) >= 30 and np.allclose(read, rate, rtol=1e-4)
        assert any(f"at a rate of {rate:.3g} read from them" in n for n in notes)
