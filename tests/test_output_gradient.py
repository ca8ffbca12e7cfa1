"""The gradient the loss hands the model's output (history out_grad) and what the doctor reads from it, and from the
share of the model watch() found frozen."""

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import gradmedic


def _blobs(c: int, n: int = 512, d: int = 8, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(c, d, generator=g) * 3
    y = torch.randint(0, c, (n,), generator=g)
    return centers[y] + torch.randn(n, d, generator=g), y


def _mlp(d: int, c: int, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(d, 32), torch.nn.ReLU(), torch.nn.Linear(32, 32), torch.nn.ReLU(),
                               torch.nn.Linear(32, c))


def _train(model, x, y, *, squash=None, steps=400, lr=1e-3, accumulate=1, every=10):
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    mon = gradmedic.watch(model, opt, every=every)
    g = torch.Generator().manual_seed(1)
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        for _ in range(accumulate):
            i = torch.randint(0, len(x), (32,), generator=g)
            z = model(x[i])
            z = squash(z) if squash is not None else z
            loss = F.cross_entropy(z, y[i]) / accumulate
            loss.backward()
            mon.step(loss * accumulate)
        opt.step()
    mon.close()
    return mon


def test_out_grad_is_the_mean_per_sample_gradient_at_the_output():
    """Plain-PyTorch reference: for a mean cross-entropy over logits z the gradient at the output is
    (softmax(z) - y) / N, so its rows' norms summed are the mean ||softmax(z) - y||; an (N, T, C) output counts
    each position as a row."""
    x, y = _blobs(7, n=64)
    model = _mlp(8, 7)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    mon = gradmedic.watch(model, opt, every=1)
    refs = []
    for _ in range(3):
        opt.zero_grad()
        z = model(x)
        loss = F.cross_entropy(z, y)
        loss.backward()
        mon.step(loss)
        refs.append((z.detach().softmax(-1) - F.one_hot(y, 7)).norm(dim=1).mean().item())
        opt.step()
    mon.close()
    assert np.allclose(mon.history.output("out_grad"), refs, rtol=1e-5)
    assert refs[0] == pytest.approx(math.sqrt(1 - 1 / 7), abs=0.1)  # near chance at init: sqrt(1 - 1/C)

    seq = torch.nn.Sequential(torch.nn.Embedding(11, 16), torch.nn.Linear(16, 11))
    mon = gradmedic.watch(seq, every=1)
    tok = torch.randint(0, 11, (4, 6))
    z = seq(tok)
    loss = F.cross_entropy(z.reshape(-1, 11), tok.reshape(-1))
    loss.backward()
    mon.step(loss)
    mon.close()
    ref = (z.detach().softmax(-1) - F.one_hot(tok, 11)).norm(dim=-1).mean().item()
    assert mon.history.output("out_grad")[0] == pytest.approx(ref, rel=1e-5)


def test_softmax_before_cross_entropy_is_named_from_the_output_gradient():
    """Probabilities fed to CrossEntropyLoss over 10 classes: the loss never gets below ln(e + 9) - 1 and the output
    receives about 1/10 of a cross-entropy's gradient.  While the loss is above that floor (150 steps: 0.15 over it,
    more than floor_fit) it is a finding; once the network fits the blobs through the squash (400 steps: within 0.01 of
    the floor) it is a note, not a finding: nothing the loss shows was lost.  The same run on logits is silent."""
    x, y = _blobs(10)
    floor = math.log(math.e + 9) - 1
    early = _train(_mlp(8, 10), x, y, squash=lambda z: z.softmax(-1), steps=150)
    assert np.median(early.history.loss[-25:]) - floor > 0.1
    d = early.diagnose()
    f = next((f for f in d.findings if f.problem == "saturated_loss"), None)
    assert f is not None, str(d)
    assert f.evidence["out_grad"] < 0.2 * f.evidence["out_grad_at_chance"]
    assert f.evidence["out_grad_at_chance"] == pytest.approx(math.sqrt(0.9))
    assert f.detected_at <= 150
    sick = _train(_mlp(8, 10), x, y, squash=lambda z: z.softmax(-1))
    end = float(np.median(sick.history.loss[-25:]))
    assert 0 <= end - floor < 0.02
    d = sick.diagnose()
    assert d.findings == [], str(d)
    note = next(n for n in d.notes if "squashed" in n)
    assert f"least a cross-entropy over probabilities can be ({floor:.3g})" in note
    healthy = _train(_mlp(8, 10), x, y)
    assert healthy.diagnose().findings == [], str(healthy.diagnose())
    assert np.nanmedian(healthy.history.output("out_grad")[:5]) > 0.5  # the full gradient while it learns


def test_a_two_way_softmax_before_cross_entropy_is_named_too():
    """Over 2 classes a softmax in front passes 1/2 of a cross-entropy's gradient at uniform probabilities (its Jacobian
    there is 1/4 [[1, -1], [-1, 1]]): below out_grad_share (0.6), far below the 0.95-1x of a loss over logits.  On
    overlapping classes learned slowly the squashed run stays near chance (the two LSTMs of seeds 11 and 13 sat there for
    285 steps); the same run on logits is silent."""
    x, y = _blobs(2, seed=3)
    x = x / 10  # the classes overlap: at Adam's 2e-4 the squashed loss stays near chance for 200 steps
    sick = _train(_mlp(8, 2), x, y, squash=lambda z: z.softmax(-1), steps=200, lr=2e-4)
    d = sick.diagnose()
    f = next((f for f in d.findings if f.problem == "saturated_loss"), None)
    assert f is not None, str(d)
    assert 0.3 < f.evidence["out_grad"] / f.evidence["out_grad_at_chance"] < 0.6
    assert f.evidence["out_grad_at_chance"] == pytest.approx(math.sqrt(0.5))
    healthy = _train(_mlp(8, 2), x, y, steps=200, lr=2e-4)  # slow too, but on logits: a full output gradient
    assert healthy.diagnose().findings == [], str(healthy.diagnose())


def test_gradient_accumulation_is_not_taken_for_a_squashed_output():
    """A loss divided over 8 micro-batches hands the output 1/8 of its gradient: the monitor's count of micro-batches
    per update undoes that, so a healthy accumulated run near chance at first is not called saturated."""
    x, y = _blobs(10, seed=3)
    mon = _train(_mlp(8, 10, seed=3), x, y, steps=60, accumulate=8, lr=3e-4, every=8)
    assert mon.loop_facts["accumulation"] == 8
    assert not any(f.problem == "saturated_loss" for f in mon.diagnose().findings), str(mon.diagnose())


def test_a_model_frozen_but_for_its_last_norm_is_told_so_and_a_linear_probe_is_not():
    x, y = _blobs(10, seed=2)
    frozen = torch.nn.Sequential(torch.nn.Linear(8, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10), torch.nn.LayerNorm(10))
    for name, p in frozen.named_parameters():
        p.requires_grad_(name.startswith("3."))  # the bug: all but the final LayerNorm frozen
    mon = _train(frozen, x, y, steps=300)
    f = next((f for f in mon.diagnose().findings if f.problem == "no_gradient"), None)
    assert f is not None, str(mon.diagnose())
    assert f.evidence["frozen_params"] == 8 * 64 + 64 + 64 * 10 + 10 and f.evidence["params"] == f.evidence["frozen_params"] + 20
    assert "frozen" in f.message and "0" in f.evidence["frozen_modules"]
    assert f.detected_at <= 110  # a window in, not at the run's last sampled step (291)

    torch.manual_seed(0)
    probe = torch.nn.Sequential(torch.nn.Linear(8, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512), torch.nn.ReLU(),
                                torch.nn.Linear(512, 10))
    for p in list(probe[0].parameters()) + list(probe[2].parameters()):
        p.requires_grad_(False)  # a linear probe on frozen random features: 98% frozen, and it learns
    mon = _train(probe, x, y, steps=300, lr=3e-3)
    assert mon.loop_facts["frozen_params"] > 0.9 * mon.loop_facts["params"]
    assert not any(f.problem == "no_gradient" for f in mon.diagnose().findings), str(mon.diagnose())


def test_label_noise_is_not_taken_for_a_squashed_output():
    """15% flipped labels keep a healthy binary classifier's loss high on a modest gradient: silent."""
    x, y = _blobs(2, seed=5)
    y = torch.where(torch.rand(len(y), generator=torch.Generator().manual_seed(5)) < 0.15, 1 - y, y)
    mon = _train(_mlp(8, 2, seed=5), x, y, steps=600, lr=3e-3)
    assert np.nanmedian(mon.history.output("out_grad")) > 0.2  # 1 - p_y of the noisy rows, not a vanished gradient
    assert mon.diagnose().findings == [], str(mon.diagnose())


def test_a_squared_errors_chance_level_is_its_targets_variance(tmp_path):
    """F.mse_loss(out, y): the loss n/4 sum(g^2) the output gradient implies is the recorded loss, and the targets it
    implies (out - g n/2) have the variance of 32 of the batch's targets spread over it (every 2nd of 64), recomputed
    here; the doctor takes that variance as the chance level.  A loss halved (d2l's ``(y_hat - y) ** 2 / 2``) or
    summed over the batch's 64 x 2 elements implies r = 1/2 or 128 times the recorded loss at every step: the same
    targets, and a chance level r times their variance, in the loss's own units.  An L1 loss's ratio follows the loss:
    no chance level."""
    from gradmedic.doctor.diagnose import Context, infer_chance
    from gradmedic.measure.history import History

    g = torch.Generator().manual_seed(3)
    x = torch.randn(256, 6, generator=g)
    y = torch.stack([x[:, 0] * 2 + 5, x[:, 1] - x[:, 2] ** 2], 1) + 0.1 * torch.randn(256, 2, generator=g)
    for form, r in (("mean", 1.0), ("half", 0.5), ("sum", 128.0), ("l1", None)):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2))
        opt = torch.optim.SGD(model.parameters(), lr=1e-3 if form == "sum" else 0.05)
        mon = gradmedic.watch(model, opt, every=5)
        want = []
        for s in range(30):
            i = torch.arange(s * 64, s * 64 + 64) % 256
            out = model(x[i])
            loss = {"mean": F.mse_loss(out, y[i]), "half": 0.5 * F.mse_loss(out, y[i]),
                    "sum": F.mse_loss(out, y[i], reduction="sum"), "l1": F.l1_loss(out, y[i])}[form]
            opt.zero_grad()
            loss.backward()
            mon.step(loss)
            opt.step()
            if s % 5 == 0:
                want.append((loss.item(), y[i][::2].double().var(dim=0).mean().item()))
        mon.close()
        h = mon.history
        imp, const = h.output("mse_implied"), h.output("mse_const")
        chance, how = infer_chance(h, Context.from_monitor(mon))
        if r is None:
            assert chance is None
            continue
        np.testing.assert_allclose(imp, [r * w[0] for w in want], rtol=1e-4)
        np.testing.assert_allclose(const, [w[1] for w in want], rtol=1e-4)
        assert chance == pytest.approx(r * float(np.median([w[1] for w in want])), rel=1e-4) and "targets' mean" in how
        # a file written before mse_const was formed at r (its header without the flag) holds the variance at r = 1:
        # read back, only F.mse_loss's r = 1 gives a chance level
        path = tmp_path / f"{form}.npz"
        h.save(path)
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
        header = json.loads(str(arrays.pop("header")))
        assert header.pop("mse_const_at_r") is True
        np.savez_compressed(path, header=np.array(json.dumps(header)), **arrays)
        old, _ = History.load(path)
        assert not old.mse_const_at_r
        assert (infer_chance(old, Context.from_monitor(mon))[0] is not None) == (r == 1.0)


def test_a_regression_that_learned_nothing_is_judged_against_its_targets_variance():
    """Adam at 1/100 of its usual rate on a regression whose targets sit 3 from the untrained outputs (their variance
    0.75, the first loss 10): judged against the loss of predicting the targets' mean, the stall is the rate's within
    100 steps (against the first loss alone it took until step 111); at the usual rate the same run is silent."""
    g = torch.Generator().manual_seed(4)
    x = torch.randn(512, 8, generator=g)
    y = x[:, :3].sum(1, keepdim=True) * 0.5 + 3.0
    found = {}
    for lr in (1e-3, 1e-5):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        mon = gradmedic.watch(model, opt, every=10)
        for _ in range(300):
            i = torch.randint(0, 512, (64,), generator=g)
            loss = F.mse_loss(model(x[i]), y[i])
            opt.zero_grad()
            loss.backward()
            mon.step(loss)
            opt.step()
        found[lr] = mon.diagnose()
        mon.close()
    assert found[1e-3].findings == []
    f = next(f for f in found[1e-5].findings if f.problem == "lr_too_low")
    assert f.detected_at <= 100 and "targets' mean" in f.message
