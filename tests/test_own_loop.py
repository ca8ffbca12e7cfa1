"""gradmedic.watch on the loops people really write: mixed precision with a GradScaler, gradient
clipping, frozen layers, a step() in the wrong place, GANs, tied weights, gradient accumulation and
functional activations.  Each test runs a small repro loop and checks the recorded numbers against
plain PyTorch computations made alongside."""

import contextlib
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gradmedic.measure.history import ACT_STATS, LAYER_STATS, Chunk, History
from gradmedic.measure.monitor import ACT_SAMPLES, watch


def mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 4), nn.Tanh(), nn.Linear(4, 1))


def layer_params(model):
    return [list(m.parameters(recurse=False)) for m in model.modules() if any(True for _ in m.parameters(recurse=False))]


def grad_norms(model, scale=1.0):
    return [torch.cat([p.grad.flatten() for p in ps]).double().norm().item() / scale for ps in layer_params(model)]


def weights(model):
    return [torch.cat([p.detach().flatten() for p in ps]).double().clone() for ps in layer_params(model)]


def data(n=32, seed=1, target=1.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, generator=g), torch.randn(n, 1, generator=g) + target


# -- 1. GradScaler -----------------------------------------------------------------------------------
@pytest.mark.parametrize("unscale_first", [False, True])
def test_grad_scaler_statistics_are_unscaled(unscale_first):
    """With the scaler passed, the recorded gradient norms are the true ones: those of the same loop
    without a scaler, and those of the scaled gradients divided by the scale."""
    x, y = data()
    runs = {}
    for use_scaler in (False, True):
        model = mlp()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 16, enabled=use_scaler)
        ref = []
        with watch(model, opt, every=1, scaler=scaler if use_scaler else None) as mon:
            for _ in range(5):
                opt.zero_grad()
                loss = ((model(x) - y) ** 2).mean()
                scaler.scale(loss).backward()
                if use_scaler and unscale_first:
                    scaler.unscale_(opt)
                    ref.append(grad_norms(model))
                else:
                    ref.append(grad_norms(model, scaler.get_scale() if use_scaler else 1.0))
                mon.step(loss)
                scaler.step(opt)
                scaler.update()
        runs[use_scaler] = (mon, np.array(ref))
    (plain, ref_plain), (scaled, ref_scaled) = runs[False], runs[True]
    np.testing.assert_allclose(plain.history.layer("grad_norm"), ref_plain, rtol=1e-5)
    np.testing.assert_allclose(scaled.history.layer("grad_norm"), ref_scaled, rtol=1e-5)
    np.testing.assert_allclose(scaled.history.layer("grad_norm"), plain.history.layer("grad_norm"), rtol=1e-5)
    assert scaled.skipped_steps == 0 and scaled.loop_facts["scaler"] is True and plain.loop_facts["scaler"] is False


def test_grad_scaler_overflow_steps_are_skipped_not_non_finite():
    """A scale so large that the scaled gradients overflow: the scaler skips those steps and halves its
    scale; the monitor records NaN gradient statistics for them (not inf: not a non-finite gradient),
    counts them, and the first real step is measured unscaled."""
    x, y = data(target=4.0)
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    scaler = torch.amp.GradScaler("cpu", init_scale=3e38, growth_interval=1000)
    skipped, ref = [], []
    with watch(model, opt, every=1, scaler=scaler) as mon:
        for _ in range(40):
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            scaler.scale(loss).backward()
            scale = scaler.get_scale()
            finite = all(torch.isfinite(p.grad).all() for p in model.parameters())
            ref.append(grad_norms(model, scale) if finite else [math.nan] * 3)
            mon.step(loss)
            scaler.step(opt)
            scaler.update()
            skipped.append(scaler.get_scale() < scale)  # the scaler halves its scale on a skipped step
    skipped = np.array(skipped)
    g = mon.history.layer("grad_norm")
    assert 0 < skipped.sum() < len(skipped)
    assert mon.skipped_steps == skipped.sum()
    assert np.isnan(g[skipped]).all() and not np.isinf(g).any()
    np.testing.assert_allclose(g[~skipped], np.array(ref)[~skipped], rtol=1e-5)
    # the step after a skipped one had no optimizer step before it: no update to measure
    u = mon.history.layer("update_ratio")
    after_skip = np.r_[False, skipped[:-1]]
    assert np.isnan(u[after_skip]).all() and (u[~after_skip][1:] > 0).all()


def test_a_real_non_finite_gradient_reads_inf_not_nan():
    model = mlp()
    x, y = data()
    with watch(model, every=1) as mon:
        (((model(x) - y) ** 2).mean() * math.nan).backward()
        mon.step()
    assert np.isinf(mon.history.layer("grad_norm")).all() and np.isfinite(mon.history.layer("weight_norm")).all()


# -- 2. pre-clip norm --------------------------------------------------------------------------------
def test_pre_clip_norm_is_recorded_and_the_clip_norm_seen():
    x, y = data(target=3.0)
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    totals, post = [], []
    with watch(model, opt, every=2, flush_every=3) as mon:
        for _ in range(9):
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            total = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
            totals.append(total.item())
            post.append(math.sqrt(sum(n ** 2 for n in grad_norms(model))))
            mon.step(loss, grad_norm=total)
            opt.step()
    h = mon.history
    assert h.stat_steps.tolist() == [1, 3, 5, 7, 9]
    np.testing.assert_allclose(h.pre_clip_norm, np.array(totals)[::2], rtol=1e-6)
    assert (h.pre_clip_norm > 0.5).all()  # every step clipped here
    recorded_total = np.sqrt((h.layer("grad_norm") ** 2).sum(axis=1))
    np.testing.assert_allclose(recorded_total, np.array(post)[::2], rtol=1e-5)
    np.testing.assert_allclose(recorded_total, 0.5, rtol=1e-4)
    assert mon.clip_norm_seen == pytest.approx(0.5, rel=1e-4)
    assert mon.loop_facts["clips"] == pytest.approx(0.5, rel=1e-4)
    assert any("clips gradients to a total norm of about 0.5" in n for n in mon.notes)


def test_no_clipping_seen_when_the_norm_stays_below_max_norm_or_is_not_given():
    x, y = data()
    for max_norm in (1e6, None):
        model = mlp()
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        with watch(model, opt, every=1) as mon:
            for _ in range(3):
                opt.zero_grad()
                loss = ((model(x) - y) ** 2).mean()
                loss.backward()
                total = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm) if max_norm else None
                mon.step(loss, grad_norm=total)
                opt.step()
        pre = mon.history.pre_clip_norm
        if max_norm:
            np.testing.assert_allclose(pre, np.sqrt((mon.history.layer("grad_norm") ** 2).sum(axis=1)), rtol=1e-5)
        else:
            assert np.isnan(pre).all() and len(pre) == 3
        assert mon.clip_norm_seen is None and mon.loop_facts["clips"] is None
        assert not any("clips" in n for n in mon.notes)


def test_pre_clip_survives_save_load_merge_and_thinning(tmp_path):
    def chunk(steps, pre):
        s = np.asarray(steps)
        return Chunk(s, s.astype(float), s, np.zeros((len(s), 1, len(LAYER_STATS))), np.zeros((len(s), 0, len(ACT_STATS))),
                     np.zeros((len(s), 2, 0)), pre_clip=pre)

    h = History(["a"], [], [], max_rows=100)
    h.append(chunk([1, 2], np.array([3.0, 4.0])))
    h.append(chunk([3, 4], None))  # an old chunk without pre-clip norms
    np.testing.assert_array_equal(h.pre_clip_norm, [3.0, 4.0, np.nan, np.nan])
    h.save(tmp_path / "h.npz")
    back, _ = History.load(tmp_path / "h.npz")
    np.testing.assert_array_equal(back.pre_clip_norm, [3.0, 4.0, np.nan, np.nan])
    small = History(["a"], [], [], max_rows=2)
    small.append(chunk([1, 2, 3, 4], np.array([1.0, 2.0, 3.0, 4.0])))
    assert small.stat_steps.tolist() == [1, 3] and small.pre_clip_norm.tolist() == [1.0, 3.0]


def test_a_history_saved_with_four_layer_statistics_loads_by_name(tmp_path):
    """Files written before mean |gradient| was dropped hold (S, L, 4) layer statistics and no "layer_stats" in their
    header: they load with each remaining statistic read from its old column."""
    import json

    h = History(["a", "b"], [], [], max_rows=100)
    old = np.arange(2 * 2 * 4, dtype=float).reshape(2, 2, 4)  # columns: grad_norm, grad_mean_abs, weight_norm, update
    h.append(Chunk(np.array([1, 2]), np.array([1.0, 0.5]), np.array([1, 2]), old[..., [0, 2, 3]],
                   np.zeros((2, 0, len(ACT_STATS))), np.zeros((2, 2, 0))))
    h.save(tmp_path / "new.npz")
    with np.load(tmp_path / "new.npz") as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(str(arrays["header"]))
    assert header.pop("layer_stats") == list(LAYER_STATS)
    arrays["header"], arrays["layers"] = np.array(json.dumps(header)), old
    np.savez_compressed(tmp_path / "old.npz", **arrays)
    for name in ("new.npz", "old.npz"):
        back, _ = History.load(tmp_path / name)
        np.testing.assert_array_equal(back.layer("grad_norm"), old[..., 0])
        np.testing.assert_array_equal(back.layer("weight_norm"), old[..., 2])
        np.testing.assert_array_equal(back.layer("update_ratio"), old[..., 3])
    # a header whose names do not match the array (four columns written under three names) is refused, not misread
    arrays["header"] = np.array(json.dumps({**header, "layer_stats": list(LAYER_STATS)}))
    np.savez_compressed(tmp_path / "mixed.npz", **arrays)
    with pytest.raises(ValueError, match="holds 4 per layer"):
        History.load(tmp_path / "mixed.npz")


# -- 3. frozen layers --------------------------------------------------------------------------------
def test_frozen_and_unused_layers_record_nan_not_zero():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.c = nn.Linear(3, 6), nn.Linear(6, 6), nn.Linear(6, 1)
            self.part = nn.Linear(6, 6)  # its bias is used, its weight is not: partially used
            self.part.weight.data.zero_()

        def forward(self, x):
            h = torch.tanh(self.b(torch.tanh(self.a(x))))
            return self.c(h + self.part.bias)

    torch.manual_seed(0)
    net = Net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = data()
    with watch(net, opt, every=1) as mon:
        rows = []
        for i in range(4):
            if i == 2:
                net.b.requires_grad_(False)  # frozen after watch(); its stale gradient stays (set_to_none=False)
            opt.zero_grad(set_to_none=False)
            loss = ((net(x) - y) ** 2).mean()
            loss.backward()
            a_grad, part_bias_grad = torch.cat([net.a.weight.grad.flatten(), net.a.bias.grad]), net.part.bias.grad
            rows.append((a_grad.norm().item(), part_bias_grad.norm().item()))
            mon.step(loss)
            opt.step()
    g, u = (mon.history.layer(s) for s in ("grad_norm", "update_ratio"))
    assert mon.layer_names == ["a", "b", "c", "part"]
    np.testing.assert_allclose(g[:, 0], [r[0] for r in rows], rtol=1e-5)
    assert np.isfinite(g[:2, 1]).all() and np.isnan(g[2:, 1]).all()
    assert np.isnan(u[2:, 1]).all() and np.isfinite(mon.history.layer("weight_norm")).all()
    # partially used: the unused weight counts as zeros within the layer
    np.testing.assert_allclose(g[:, 3], [r[1] for r in rows], rtol=1e-5)


# -- 4. step() before backward() ---------------------------------------------------------------------
def _wrong_order_loop(wrong):
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = data()
    ((model(x) - y) ** 2).mean().backward()  # one earlier iteration: the gradients exist (zeroed below)
    opt.step()
    mon = watch(model, opt, every=2, flush_every=4)
    for _ in range(8):
        opt.zero_grad(set_to_none=False)
        if wrong:
            mon.step()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        if not wrong:
            mon.step(loss)
        opt.step()
    return mon


def test_step_before_backward_is_detected_once():
    sentence = ("gradmedic: step() saw every gradient zero while the weights changed: call monitor.step(loss) "
                "after loss.backward() and before optimizer.step()")
    with pytest.warns(RuntimeWarning) as record:
        mon = _wrong_order_loop(wrong=True)
        mon.close()
    assert [str(w.message) for w in record if "every gradient zero" in str(w.message)] == [sentence]
    assert (mon.history.layer("grad_norm") == 0).all() and (mon.history.layer("update_ratio")[1:] > 0).all()
    assert mon.notes.count(sentence) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        right = _wrong_order_loop(wrong=False)
        right.close()
    assert not any("every gradient zero" in n for n in right.notes)


# -- 5. GAN --------------------------------------------------------------------------------------------
def test_gan_discriminator_records_its_own_step_not_the_generators():
    torch.manual_seed(0)
    G = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))
    D = nn.Sequential(nn.Linear(2, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
    optG, optD = torch.optim.Adam(G.parameters(), 1e-3), torch.optim.Adam(D.parameters(), 1e-3)
    bce = nn.BCEWithLogitsLoss()
    seen = []  # D's LeakyReLU outputs per forward pass of D
    D[1].register_forward_hook(lambda m, a, o: seen.append(o.detach().clone()))
    reals, d_real_act = [], []
    g = torch.Generator().manual_seed(5)
    with watch(D, optD, every=2) as monD, watch(G, optG, every=2) as monG:
        for _ in range(6):
            real = torch.randn(16, 2, generator=g) * 0.5 + torch.tensor([3.0, -1.0])
            z = torch.randn(16, 3, generator=g)
            # D step on real and fake.detach()
            D.zero_grad()
            seen.clear()
            err_real = bce(D(real), torch.ones(16, 1))
            err_real.backward()
            fake = G(z)
            err_fake = bce(D(fake.detach()), torch.zeros(16, 1))
            err_fake.backward()
            reals.append(real)
            d_real_act.append(seen[0])
            monD.step(err_real + err_fake)
            optD.step()
            # G step through D
            G.zero_grad()
            err_g = bce(D(fake), torch.ones(16, 1))
            err_g.backward()
            monG.step(err_g)
            optG.step()
    h = monD.history
    assert h.stat_steps.tolist() == [1, 3, 5]
    for k, it in enumerate([0, 2, 4]):
        np.testing.assert_allclose(h.inputs[k, 0], reals[it].mean(0).numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(h.inputs[k, 1], reals[it].std(0).numpy(), rtol=1e-5)
        o = d_real_act[it][:ACT_SAMPLES].double()
        np.testing.assert_allclose([h.act("mean")[k, 0], h.act("std")[k, 0]], [o.mean().item(), o.std().item()], rtol=1e-5)
    assert np.isfinite(monG.history.act("mean")).all()


def _gan_step(G, D, optG, optD, bce, g):
    real = torch.randn(16, 2, generator=g) * 0.5 + torch.tensor([3.0, -1.0])
    fake = G(torch.randn(16, 3, generator=g))
    D.zero_grad()
    err_real = bce(D(real), torch.ones(16, 1))
    err_real.backward()
    err_fake = bce(D(fake.detach()), torch.zeros(16, 1))
    err_fake.backward()
    return err_real + err_fake, fake


@pytest.mark.parametrize("loop", ["no_zero_grad", "zero_grad", "set_to_none_false", "zero_between", "accumulate", "gan"])
def test_gradients_carried_over_an_optimizer_step_are_grads_not_zeroed(loop):
    """A loop without optimizer.zero_grad() follows the sum of every past gradient: SGD with momentum on this MLP went
    from 0.7 to 1e3 by step 60 and to 1e15 by 270.  Loops that clear the gradients (before backward, between forward
    and backward, with set_to_none=False, once per accumulated step) and a GAN's discriminator (whose gradients the
    generator's loss reaches after its step, before it zeroes them) stay silent."""
    torch.manual_seed(0)
    x, y = torch.randn(256, 10), None
    y = (x[:, 0] > 0).long()
    g = torch.Generator().manual_seed(5)
    if loop == "gan":
        G = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))
        D = nn.Sequential(nn.Linear(2, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
        optG, optD = torch.optim.Adam(G.parameters(), 2e-4), torch.optim.Adam(D.parameters(), 2e-4)
        bce = nn.BCEWithLogitsLoss()
        with watch(D, optD, every=5) as monD, watch(G, optG, every=5) as monG:
            for _ in range(120):
                err_d, fake = _gan_step(G, D, optG, optD, bce, g)
                monD.step(err_d)
                optD.step()
                G.zero_grad()
                err_g = bce(D(fake), torch.ones(16, 1))
                err_g.backward()
                monG.step(err_g)
                optG.step()
        for mon in (monD, monG):
            assert "grads_not_zeroed" not in mon.diagnose().problems and mon.loop_facts["grads_carried"] == 0
        assert monG.loop_facts["carry_checks"] > 0  # G is checked (one backward per step); D's step follows three
        return
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    acc = 4 if loop == "accumulate" else 1
    with watch(model, opt, every=10) as mon:
        for i in range(300):
            if i % acc == 0 and loop in ("zero_grad", "set_to_none_false", "accumulate"):
                opt.zero_grad(set_to_none=loop != "set_to_none_false")
            b = slice((i * 16) % 256, (i * 16) % 256 + 16)
            out = model(x[b])
            if loop == "zero_between":
                opt.zero_grad()
            loss = F.cross_entropy(out, y[b]) / acc
            loss.backward()
            mon.step(loss)
            if (i + 1) % acc == 0:
                opt.step()
        d = mon.diagnose()
    facts = mon.loop_facts
    if loop == "no_zero_grad":
        assert facts["grads_carried"] == facts["carry_checks"] == 30 and facts["grads_carried_at"] == 2
        f = d.findings[0]
        assert d.problems == {"grads_not_zeroed"} and f.severity == "critical" and f.detected_at == 2
        assert "optimizer.zero_grad()" in f.remedies[0].snippet
        assert mon.history.loss[-1] > 1e6 * mon.history.loss[0]  # what it did: a blow-up, not the rate's
    else:
        assert facts["grads_carried"] == 0 and facts["carry_checks"] > 0 and "grads_not_zeroed" not in d.problems


def test_a_pass_with_gradients_is_kept_when_no_fresh_pass_comes():
    """zero_grad(set_to_none=False): no pass is fresh; the first training pass is recorded, as before (its inputs: the
    larger of its two calls, x * 10, since the scale check reads the call of the largest scale a pass makes)."""
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = data()
    ((model(x) - y) ** 2).mean().backward()
    with watch(model, opt, every=1) as mon:
        opt.zero_grad(set_to_none=False)
        loss = ((model(x) - y) ** 2).mean() + ((model(x * 10) - y) ** 2).mean()
        loss.backward()
        mon.step(loss)
    np.testing.assert_allclose(mon.history.inputs[0, 0], (x * 10).mean(0).numpy(), rtol=1e-5, atol=1e-6)


# -- 6. tied weights -----------------------------------------------------------------------------------
def test_tied_weights_are_counted_once():
    class TinyLM(nn.Module):
        def __init__(self, V=11, E=6):
            super().__init__()
            self.wte = nn.Embedding(V, E)
            self.mid = nn.Linear(E, E)
            self.lm_head = nn.Linear(E, V, bias=False)
            self.wte.weight = self.lm_head.weight  # nanoGPT's weight tying

        def forward(self, idx):
            return self.lm_head(torch.tanh(self.mid(self.wte(idx))))

    torch.manual_seed(0)
    lm = TinyLM()
    opt = torch.optim.AdamW(lm.parameters(), lr=1e-2)
    idx = torch.randint(0, 11, (8, 5))
    with watch(lm, opt, every=1) as mon:
        for _ in range(3):
            opt.zero_grad()
            loss = F.cross_entropy(lm(idx).reshape(-1, 11), idx.reshape(-1))
            loss.backward()
            grad_wte = lm.wte.weight.grad.norm().item()
            w_wte = lm.wte.weight.detach().norm().item()
            w_all = torch.cat([p.detach().flatten() for p in lm.parameters()]).norm().item()  # parameters() dedups
            mon.step(loss)
            opt.step()
    h = mon.history
    assert mon.layer_names == ["wte", "mid"]
    np.testing.assert_allclose(h.layer("weight_norm")[-1, 0], w_wte, rtol=1e-5)
    np.testing.assert_allclose(np.sqrt((h.layer("weight_norm")[-1] ** 2).sum()), w_all, rtol=1e-5)
    np.testing.assert_allclose(h.layer("grad_norm")[-1, 0], grad_wte, rtol=1e-5)  # both uses' gradient, once


# -- 7. gradient accumulation --------------------------------------------------------------------------
@pytest.mark.parametrize("every", [1, 2, 3])
def test_gradient_accumulation_update_ratio_is_a_real_update_or_nan(every):
    k = 4
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = data(n=64)
    real = {}  # monitor step after which the optimizer stepped -> plain update ratio per layer
    with watch(model, opt, every=every) as mon:
        for i in range(24):
            xb, yb = x[(i % k) * 16:(i % k + 1) * 16], y[(i % k) * 16:(i % k + 1) * 16]
            loss = ((model(xb) - yb) ** 2).mean() / k
            loss.backward()
            mon.step(loss)
            if (i + 1) % k == 0:
                before = weights(model)
                opt.step()
                real[i + 1] = [((a - b).norm() / b.norm()).item() for a, b in zip(weights(model), before, strict=True)]
                opt.zero_grad()
    u = mon.history.layer("update_ratio")
    steps = mon.history.stat_steps
    assert not (u == 0).any()
    n_finite = 0
    for row, s in zip(u, steps, strict=True):
        if s - 1 in real:
            np.testing.assert_allclose(row, real[s - 1], rtol=1e-5)
            n_finite += 1
        else:
            assert np.isnan(row).all()
    assert n_finite >= 1
    assert mon.loop_facts["accumulation"] == k


# -- 8. functional activations and LSTM --------------------------------------------------------------
class FunctionalMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(4, 16), nn.Linear(16, 8), nn.Linear(8, 1)
        with torch.no_grad():
            self.fc1.bias[:5] = -100.0  # 5 of 16 units never fire: dead

    def forward(self, x):
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def test_functional_relu_dead_units_are_measured_at_the_next_layers_input():
    torch.manual_seed(0)
    net = FunctionalMLP()
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    x, y = torch.randn(48, 4), torch.randn(48, 1)
    h1s = []
    net.fc2.register_forward_pre_hook(lambda m, a: h1s.append(a[0].detach().clone()))
    with watch(net, opt, every=2) as mon:
        for _ in range(3):
            opt.zero_grad()
            loss = ((net(x) - y) ** 2).mean()
            loss.backward()
            mon.step(loss)
            opt.step()
    assert mon.act_names == ["fc2.input", "fc3.input"] and mon.act_kinds == ["relu", "relu"]
    assert any(n.startswith("dead/saturated-unit checks are off: no activation module to hook") for n in mon.notes)
    h = mon.history
    for k, s in enumerate([1, 3]):
        h1 = h1s[s - 1][:ACT_SAMPLES]
        assert h.act("dead_frac")[k, 0] == pytest.approx((h1 == 0).all(0).double().mean().item())
        assert h.act("zero_frac")[k, 0] == pytest.approx((h1 == 0).double().mean().item(), rel=1e-6)
    assert (h.act("dead_frac")[:, 0] >= 5 / 16).all()
    for st in ("mean", "std", "sat_frac"):
        assert np.isnan(h.act(st)).all()
    assert np.isnan(h.hists).all()


def test_lstm_model_gets_the_note_and_hookable_models_do_not():
    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.rnn, self.head = nn.Embedding(10, 4), nn.LSTM(4, 6, batch_first=True), nn.Linear(6, 3)

        def forward(self, idx):
            return self.head(self.rnn(self.emb(idx))[0])

    torch.manual_seed(0)
    tagger = Tagger()
    with watch(tagger, every=1) as mon:
        out = tagger(torch.randint(0, 10, (5, 7)))
        out.pow(2).mean().backward()
        mon.step()
    assert mon.act_names == ["head.input"]
    assert any("gates inside nn.LSTM/GRU" in n for n in mon.notes)
    assert mon.history.act("dead_frac")[0, 0] == 0.0  # LSTM outputs are never exactly 0 on every sample
    with watch(mlp(), every=1) as plain:
        pass
    assert plain.notes == [] and all(not n.endswith(".input") for n in plain.act_names)


# -- 10. loop facts --------------------------------------------------------------------------------------
def test_loop_facts():
    model = mlp()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 10)
    x, y = data(target=3.0)
    with watch(model, opt, every=1, scaler=scaler) as mon:
        for i in range(8):
            loss = ((model(x) - y) ** 2).mean() / 2
            scaler.scale(loss).backward()
            if i % 2 == 1:
                scaler.unscale_(opt)
                total = torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
                mon.step(loss, grad_norm=total)
                scaler.step(opt)
                scaler.update()
                opt.zero_grad()
            else:
                mon.step(loss)
    facts = mon.loop_facts
    assert facts["clips"] == pytest.approx(0.25, rel=1e-3) and facts["scaler"] is True
    assert facts["accumulation"] == 2 and facts["optimizer"] == "AdamW" and facts["lr"] == pytest.approx(3e-4)
    assert facts["run_order"] == mon.layer_names  # (a Sequential runs its layers as registered)
    bare = watch(mlp(), every=1)
    assert bare.loop_facts == {"by_hand": False, "clips": None, "scaler": False, "accumulation": 1, "momentum": None,
                               "optimizer": None, "lr": None, "unused_layers": None, "co_watched": 0, "replaced_layers": [],
                               "output_calls": 0, "norm_after": [], "run_order": None, "carry_checks": 0, "grads_carried": 0,
                               "ended": False,
                               "grads_carried_at": None, "frozen_params": 0, "params": 3 * 8 + 8 + 8 * 4 + 4 + 4 + 1,
                               "frozen_modules": []}
    bare.close()
    partly = mlp()
    partly[2].requires_grad_(False)  # the second Linear (8 -> 4) frozen before watch()
    with watch(partly, every=1) as mon:
        assert (mon.loop_facts["frozen_params"], mon.loop_facts["params"]) == (8 * 4 + 4, 73)
        assert mon.loop_facts["frozen_modules"] == ["2"]


def test_a_network_that_dies_mid_training_is_not_called_a_wrong_step_order():
    """All gradients exactly 0 while momentum still moves the weights, after real gradients were seen."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1, bias=False))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with watch(model, opt, every=1, flush_every=2) as mon:
            for i in range(6):
                if i == 3:
                    with torch.no_grad():
                        model[0].bias.fill_(-1e3)  # every unit dies: every gradient is exactly 0
                opt.zero_grad()
                loss = ((model(x) - y) ** 2).mean()
                loss.backward()
                mon.step(loss)
                opt.step()
    g = mon.history.layer("grad_norm")
    assert (g[3:] == 0).all() and (g[:3] > 0).all() and (mon.history.layer("update_ratio")[4:] > 0).any()
    assert not any("every gradient zero" in n for n in mon.notes)


def test_a_zero_initialized_lstm_has_symmetric_units():
    """Every weight at 0 (the LSTM and its head): the hidden units are identical copies and stay so, so the doctor says
    symmetric_units for the recurrent layer itself; with the default init it says nothing of the kind."""
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn, self.head = nn.LSTM(1, 16, batch_first=True), nn.Linear(16, 1)

        def forward(self, x):
            return self.head(self.rnn(x)[0][:, -1])

    torch.manual_seed(0)
    x = torch.randn(256, 10, 1)
    y = (x.sum(dim=(1, 2)) > 0).float()[:, None]
    for zero in (True, False):
        net = Net()
        if zero:
            for p in net.parameters():
                nn.init.zeros_(p)
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        with watch(net, opt, every=5) as mon:
            for i in range(20):
                opt.zero_grad()
                loss = F.binary_cross_entropy_with_logits(net(x[i * 12:(i + 1) * 12]), y[i * 12:(i + 1) * 12])
                loss.backward()
                mon.step(loss)
                opt.step()
            d = mon.diagnose()
        sym = [f for f in d.findings if f.problem == "symmetric_units"]
        assert bool(sym) == zero and (not zero or "rnn" in sym[0].layers), [f.message for f in d.findings]


def test_every_layer_drawn_constant_is_symmetric_even_once_dropout_has_told_the_units_apart():
    """vinhkhuc's MLP with every weight 0.01 (bias-free, dropout 0.2, Adam): dropout's noise makes the units differ a
    little, so by the end their rows spread far above symmetric_spread and the end-of-run check says nothing - but at
    step 1 every layer's rows were identical.  Applied after watch() (as udlbook's notebooks init their nets), the check
    still reads them at the first step().  A zero-initialized head alone over random layers is not a symmetric init."""
    torch.manual_seed(0)
    x = torch.randn(512, 16)
    y = (x[:, :4].sum(1) > 0).long() + (x[:, 4:8].sum(1) > 0).long()

    def run(init):
        net = nn.Sequential(nn.Linear(16, 64, bias=False), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 64, bias=False),
                            nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 3, bias=False))
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        with watch(net, opt, every=5) as mon:
            init(net)  # after watch(), before the first step()
            for i in range(120):
                b = slice((i * 32) % 512, (i * 32) % 512 + 32)
                opt.zero_grad()
                loss = F.cross_entropy(net(x[b]), y[b])
                loss.backward()
                mon.step(loss)
                opt.step()
            spread_end = max(s for *_, s in mon.row_spread())
            return mon.diagnose(), spread_end

    def constant(net):
        for m in net:
            if isinstance(m, nn.Linear):
                nn.init.constant_(m.weight, 0.01)

    def zero_head(net):
        nn.init.zeros_(net[6].weight)

    d, spread_end = run(constant)
    assert spread_end > 1e-3  # dropout told the units apart: the end-of-run reading alone would be silent
    f = next(f for f in d.findings if f.problem == "symmetric_units")
    assert f.evidence["at_start"] and set(f.layers) == {"0", "3", "6"} and f.step == 1
    d, _ = run(zero_head)
    assert "symmetric_units" not in d.problems, str(d)


def test_a_loop_that_clips_without_telling_is_seen_clipping_from_its_repeated_norm():
    """clip_grad_norm_ before step() but no grad_norm=: every clipped step leaves the total norm at max_norm (to ~1e-6),
    which unclipped gradients never repeat; so the monitor sees the clip, and the remedies do not advise it again."""
    x, y = data(target=3.0)
    for max_norm in (0.5, None):
        model = mlp()
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        with watch(model, opt, every=2) as mon:
            for _ in range(15):
                opt.zero_grad()
                loss = ((model(x) - y) ** 2).mean()
                loss.backward()
                if max_norm:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
                mon.step(loss)
                opt.step()
        assert np.isnan(mon.history.pre_clip_norm).all()
        if max_norm:
            assert mon.loop_facts["clips"] == pytest.approx(0.5, rel=1e-4)
        else:
            assert mon.loop_facts["clips"] is None


def test_a_clip_after_step_is_seen_at_the_optimizers_step():
    """The usual order (backward, monitor.step, clip, optimizer.step) without grad_norm=: the recorded gradients are the
    pre-clip ones, and clip_grad_norm_ scales every gradient in place before the optimizer steps; the monitor reads one
    gradient again there and sees the clip's factor, times the recorded total norm = max_norm.  Any optimizer; under
    gradient accumulation only from a sampled last micro-batch (every=1 here: a later micro-batch adds to the same
    tensors, which is not a clip); not a clip that never bites."""
    x, y = data(target=3.0)
    for opt_cls, max_norm, accumulate, expect in [(torch.optim.SGD, 0.5, 1, 0.5), (torch.optim.Adam, 0.2, 1, 0.2),
                                                  (torch.optim.SGD, 1e6, 1, None), (torch.optim.SGD, None, 2, None),
                                                  (torch.optim.SGD, 0.5, 2, 0.5)]:
        model = mlp()
        opt = opt_cls(model.parameters(), lr=0.01)
        totals = []
        with watch(model, opt, every=2 if accumulate == 1 else 1) as mon:
            for i in range(12 * accumulate):
                loss = ((model(x) - y) ** 2).mean()
                (loss / accumulate).backward()  # gradients accumulate over micro-batches: step() per micro-batch
                mon.step(loss)
                if (i + 1) % accumulate == 0:
                    if max_norm:
                        totals.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)))
                    opt.step()
                    opt.zero_grad()
        if expect is None:
            assert mon.loop_facts["clips"] is None and not any("clips" in n for n in mon.notes)
        else:
            assert min(totals) > expect  # every optimizer step clipped
            assert mon.loop_facts["clips"] == pytest.approx(expect, rel=1e-3)
            assert any("after step()" in n for n in mon.notes)
            # the recorded norms are the pre-clip ones (the total at each sampled step before its clip)
            assert np.isnan(mon.history.pre_clip_norm).all()
            assert (np.sqrt((mon.history.layer("grad_norm") ** 2).sum(axis=1)) > expect).all()


def test_a_float64_model_is_watched_with_its_optimizer():
    """A double-precision model (pytorch/examples time_sequence_prediction: LSTMCells in float64 under LBFGS) crashed at
    the second optimizer step: the clip probe normed a float64 gradient into float32."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(64, 3, dtype=torch.float64), torch.randn(64, 1, dtype=torch.float64)
    with watch(model, opt, every=1) as mon:
        for _ in range(4):
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            mon.step(loss)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1e-3)
            opt.step()
    assert len(mon.history.stat_steps) == 4 and mon.loop_facts["clips"] == pytest.approx(1e-3, rel=1e-3)


def test_a_closure_optimizer_is_not_taken_for_a_clip():
    """LBFGS recomputes the gradients inside step() (its closure zeroes them in place and runs backward again): the
    probe's norm changes there without any clip, so a step given a closure is not probed."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=5)
    x, y = torch.randn(64, 3), torch.randn(64, 1)
    with watch(model, opt, every=1) as mon:
        for _ in range(4):
            first: list[torch.Tensor] = []

            def closure(first=first):
                model.zero_grad(set_to_none=False)
                loss = ((model(x) - y) ** 2).mean()
                loss.backward()
                if not first:  # one record per optimizer step, at its starting point
                    first.append(loss)
                    mon.step(loss)
                return loss

            opt.step(closure)
    assert len(mon.history.stat_steps) == 4 and mon.loop_facts["clips"] is None


def test_a_sparse_input_is_watched_with_its_input_check_off():
    """pytorch/examples gcn feeds its node features as a sparse COO tensor to a layer that calls torch.sparse.mm: the
    monitor took it for a dense input and crashed at the first sampled step (movedim on a sparse inference tensor).  The
    gradients, updates and output are recorded as usual; the input-scale check is off, and says so."""
    class GraphConv(nn.Module):
        def __init__(self, i, o):
            super().__init__()
            self.kernel = nn.Parameter(torch.randn(i, o) / i ** 0.5)

        def forward(self, x, adj):
            return torch.sparse.mm(adj, torch.sparse.mm(x, self.kernel) if x.is_sparse else x @ self.kernel)

    class GCN(nn.Module):
        def __init__(self):
            super().__init__()
            self.gc1, self.gc2 = GraphConv(20, 8), GraphConv(8, 3)

        def forward(self, x, adj):
            return F.log_softmax(self.gc2(F.relu(self.gc1(x, adj)), adj), dim=1)

    torch.manual_seed(0)
    x = (torch.rand(50, 20) < 0.2).float()
    adj, y = torch.eye(50).to_sparse(), torch.randint(0, 3, (50,))
    model = GCN()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    with watch(model, opt, every=5) as mon:
        for _ in range(11):
            opt.zero_grad()
            loss = F.nll_loss(model(x.to_sparse(), adj), y)
            loss.backward()
            mon.step(loss)
            opt.step()
    g = mon.history.layer("grad_norm")
    ref = [p.grad.norm().item() for p in model.parameters()]  # (step 11's, the last: sampled)
    assert mon.history.stat_steps.tolist() == [1, 6, 11] and np.isfinite(g).all()
    assert g[-1].tolist() == pytest.approx(ref, rel=1e-5)
    assert any("sparse" in n for n in mon.notes) and mon.history.inputs.shape[-1] == 0


def test_zero_gradients_under_weight_decay_are_not_a_misplaced_step():
    """A bias-free net whose first layer starts at 0 (pytorch/examples gcn with zeros_ on gc1) gets no gradient at all,
    yet Adam's weight_decay moves the second layer: every recorded gradient 0 while the weights change, which read as
    "call monitor.step(loss) after loss.backward()".  The optimizer's step sees the same zeros, so the order is right;
    the remedy's init snippet runs on such a net (m.bias is None)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 16, bias=False), nn.ReLU(), nn.Linear(16, 3, bias=False))
    nn.init.zeros_(model[0].weight)
    opt = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    x, y = torch.randn(64, 10), torch.randint(0, 3, (64,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with watch(model, opt, every=5, flush_every=10) as mon:
            for _ in range(60):
                opt.zero_grad()
                loss = F.cross_entropy(model(x), y)
                loss.backward()
                mon.step(loss)
                opt.step()
    assert (mon.history.layer("grad_norm") == 0).all() and (mon.history.layer("update_ratio")[1:, 1] > 0).all()
    assert not any("every gradient zero" in n for n in mon.notes)
    snippets = [r.snippet for f in mon.diagnose().findings for r in f.remedies if r.snippet and "nn.init." in r.snippet]
    assert snippets
    for code in snippets:
        exec(code, {"nn": nn, "model": model})
    assert model[0].weight.abs().sum() > 0


@pytest.mark.parametrize("case", ["another_instance", "own", "head_only"])
def test_an_optimizer_that_holds_none_of_the_models_parameters_is_not_optimized(case):
    """A notebook that re-creates the model after building the optimizer: gradients arrive, no weight ever moves, and
    the rate is not what holds it back (before, lr_too_low told it to raise the rate).  An optimizer over the model's
    own parameters, or over its head only (a linear probe that leaves the rest with requires_grad=True), is silent."""
    torch.manual_seed(0)
    x = torch.randn(256, 10)
    y = (x[:, 0] > 0).long()
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 2))
    params = {"another_instance": nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 2)).parameters(),
              "own": model.parameters(), "head_only": model[2].parameters()}[case]
    opt = torch.optim.SGD(params, lr=0.1)
    with watch(model, opt, every=10) as mon:
        for i in range(200):
            opt.zero_grad()
            b = slice((i * 16) % 256, (i * 16) % 256 + 16)
            loss = F.cross_entropy(model(x[b]), y[b])
            loss.backward()
            mon.step(loss)
            opt.step()
        d = mon.diagnose()
    held_out = {"another_instance": 10 * 32 + 32 + 32 * 2 + 2, "own": 0, "head_only": 10 * 32 + 32}[case]
    assert mon.loop_facts["unoptimized_params"] == held_out
    if case == "another_instance":
        f = d.findings[0]
        assert d.problems == {"not_optimized"} and f.severity == "critical" and f.detected_at == 31  # 3rd update seen
        assert "model.parameters()" in f.remedies[0].snippet
    else:
        assert "not_optimized" not in d.problems



def _wrapped(kind: str, model: nn.Module, opt: torch.optim.Optimizer):
    """``model`` and ``opt`` as Lightning Fabric or accelerate hands them back, the backward they ask for and the context
    each step runs in (accelerate's accumulation of 2 micro-steps)."""
    if kind == "fabric":
        fabric = pytest.importorskip("lightning.fabric").Fabric(accelerator="cpu", devices=1)
        model, opt = fabric.setup(model, opt)
        return model, opt, fabric.backward, contextlib.nullcontext
    accelerator = pytest.importorskip("accelerate").Accelerator(cpu=True, gradient_accumulation_steps=2)
    model, opt = accelerator.prepare(model, opt)
    return model, opt, accelerator.backward, lambda: accelerator.accumulate(model)


@pytest.mark.parametrize("kind", ["fabric", "accelerate"])
def test_an_optimizer_wrapped_by_fabric_or_accelerate_is_read_through(kind):
    """Fabric's wrapper takes the class name "FabricAdam", accelerate's is "AcceleratedOptimizer" and has no step hooks
    of its own (watch() failed on it): the loop facts name the optimizer that steps, so the doctor knows its usual rate,
    and its real steps are counted (under accelerate's accumulation of 2, every other micro-step: its wrapper's step()
    skips the others), so update ratios are measured where an update happened."""
    torch.manual_seed(0)
    net = mlp()
    model, opt, backward, step_context = _wrapped(kind, net, torch.optim.Adam(net.parameters(), lr=1e-2))
    x, y = data(n=64)
    with watch(model, opt, every=2) as mon:
        for i in range(12):
            with step_context():
                xb, yb = x[(i % 4) * 16:(i % 4 + 1) * 16], y[(i % 4) * 16:(i % 4 + 1) * 16]
                loss = ((model(xb) - yb) ** 2).mean()
                backward(loss)
                mon.step(loss)
                opt.step()
                opt.zero_grad()
    assert mon.loop_facts["optimizer"] == "Adam"
    u = mon.history.layer("update_ratio")
    assert np.isfinite(u).any() and (u[np.isfinite(u)] > 0).all()
    assert mon.loop_facts["accumulation"] == (2 if kind == "accelerate" else 1)


class ScratchSoftmax(nn.Module):
    """d2l's SoftmaxRegressionScratch: plain tensors W and b (not nn.Parameter), ``parameters()`` overridden without the
    ``recurse`` argument, its own softmax and cross-entropy."""

    def __init__(self):
        super().__init__()
        self.W = torch.normal(0, 0.01, size=(4, 3), requires_grad=True)
        self.b = torch.zeros(3, requires_grad=True)

    def parameters(self):
        return [self.W, self.b]

    def forward(self, x):
        e = torch.exp(x @ self.W + self.b)
        return e / e.sum(1, keepdim=True)


def test_a_module_that_overrides_parameters_without_recurse_is_watched():
    """watch() asked every module for ``parameters(recurse=False)``, which a d2l from-scratch model's override does not
    take (TypeError): such a module without children is watched through what its ``parameters()`` returns, and its
    weights' gradient norm is the one plain PyTorch computes."""
    torch.manual_seed(0)
    model = ScratchSoftmax()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(32, 4), torch.randint(0, 3, (32,))
    with watch(model, opt, every=1) as mon:
        for _ in range(3):
            y_hat = model(x)
            loss = -torch.log(y_hat[range(len(y_hat)), y]).mean()
            opt.zero_grad()
            loss.backward()
            want = torch.linalg.vector_norm(torch.cat([model.W.grad.flatten(), model.b.grad.flatten()])).item()
            mon.step(loss)
            opt.step()
    assert mon.layer_names == ["ScratchSoftmax"]
    assert mon.history.layer("grad_norm")[-1, 0] == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("clears", [False, True])
def test_a_loop_that_updates_by_hand_without_clearing_the_gradients_is_told_so(clears):
    """fast.ai's 04_minibatch_training fit(): p -= p.grad * lr under no_grad, then model.zero_grad() by hand - with no
    optimizer to hook.  Without the zero_grad() every update follows the sum of all past gradients (the digits MLP
    ended at 0.11 accuracy against 0.98; public set 28, after it was scored): grads_not_zeroed, with a remedy in the
    loop's own terms.  With it, nothing."""
    torch.manual_seed(0)
    x, y = torch.randn(256, 20), torch.randint(0, 4, (256,))
    model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 4))
    mon = watch(model, every=5)
    for i in range(100):
        b = slice((i * 32) % 256, (i * 32) % 256 + 32)
        loss = nn.functional.cross_entropy(model(x[b]), y[b])
        loss.backward()
        mon.step(loss)
        with torch.no_grad():
            for p in model.parameters():
                p -= p.grad * 0.05
        if clears:
            model.zero_grad()
    d = mon.diagnose()
    assert ("grads_not_zeroed" in d.problems) != clears
    if not clears:
        f = next(f for f in d.findings if f.problem == "grads_not_zeroed")
        assert "model.zero_grad()" in f.remedies[0].snippet and f.detected_at <= 100


def test_a_loop_that_updates_by_hand_after_accumulating_micro_batches_is_not_told_it_carries_gradients():
    """The same hand loop with gradient accumulation: step() per micro-batch (the loss divided by k), the update and
    model.zero_grad() every k-th.  The gradients found between micro-batches were not carried over an update - no
    weight moved since the last step() - so this is accumulation, not a missing zero_grad().  (Without the check on the
    weights, every micro-batch after the first read as carrying them: grads_not_zeroed, critical, on a loop that
    trains.)"""
    torch.manual_seed(0)
    x, y = torch.randn(256, 20), torch.randint(0, 4, (256,))
    model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 4))
    mon = watch(model, every=5)
    k = 4
    for i in range(400):
        b = slice((i * 8) % 256, (i * 8) % 256 + 8)
        loss = nn.functional.cross_entropy(model(x[b]), y[b]) / k
        loss.backward()
        mon.step(loss)
        if (i + 1) % k == 0:
            with torch.no_grad():
                for p in model.parameters():
                    p -= p.grad * 0.05
            model.zero_grad()
    facts = mon.loop_facts
    assert facts["carry_checks"] >= 20 and facts["grads_carried"] == 0
    assert "grads_not_zeroed" not in mon.diagnose().problems


def test_gradients_decayed_on_purpose_instead_of_cleared_are_not_a_missing_zero_grad():
    """fast.ai's MomentumLearner (course22p2's miniai) replaces zero_grad() with ``p.grad *= mom``: the gradient left
    in .grad is the last one times 0.85, a running sum that is its momentum, not a forgotten zero_grad() (whose .grad
    is exactly what the last update used).  With the decay the loop is not told it carries its gradients; without any
    clearing it is."""
    torch.manual_seed(0)
    x, y = torch.randn(256, 20), torch.randint(0, 4, (256,))

    def run(clear):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 4))
        opt = torch.optim.SGD(model.parameters(), lr=0.02)
        mon = watch(model, opt, every=5)
        for i in range(100):
            b = slice((i * 32) % 256, (i * 32) % 256 + 32)
            loss = nn.functional.cross_entropy(model(x[b]), y[b])
            loss.backward()
            mon.step(loss)
            opt.step()
            with torch.no_grad():
                for p in model.parameters():
                    if clear == "decay":
                        p.grad *= 0.85
        mon.close()
        return mon.loop_facts, mon.diagnose()

    facts, d = run("decay")
    assert facts["carry_checks"] >= 10 and facts["grads_carried"] == 0 and "grads_not_zeroed" not in d.problems
    facts, d = run("none")
    assert facts["grads_carried"] == facts["carry_checks"] >= 10 and "grads_not_zeroed" in d.problems


@pytest.mark.parametrize("case", ["clip_after", "l1"])
def test_a_norm_that_holds_still_is_a_clip_only_at_a_value_someone_typed(case):
    """Not told (step() after clip_grad_norm_, no grad_norm=): a total norm sitting at 0.5 on every step is the loop's
    clip.  A full-batch L1 loss on a linear model holds its gradient's norm still too (the mean of the inputs' signs:
    mrdbourke's workflow regression, 1.0733 at every step) - no number anyone types, so no clip (it had hidden the
    rate's oscillation from the doctor)."""
    torch.manual_seed(0)
    x = torch.rand(40, 1)
    y = 0.7 * x + 0.3
    model = nn.Linear(1, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    mon = watch(model, opt, every=5)
    for _ in range(60):
        out = model(x)
        loss = nn.functional.l1_loss(out, y) if case == "l1" else nn.functional.mse_loss(out, 50 * y)
        opt.zero_grad()
        loss.backward()
        if case == "clip_after":
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        mon.step(loss)
        opt.step()
    mon.close()
    g = mon.history.layer("grad_norm")[1:, 0]
    assert np.allclose(g, g[0], rtol=1e-3)  # the norm holds still in both
    if case == "l1":
        assert mon.loop_facts["clips"] is None
    else:
        assert mon.loop_facts["clips"] == pytest.approx(0.5, rel=1e-3)
