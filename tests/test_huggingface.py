"""GradmedicCallback in a real transformers.Trainer run on a 2-layer GPT-2 built from a config (no
download): one record per optimizer step, the loss and the pre-clip norm the Trainer logs, the
recorded gradient norms those after its clipping, and a diverging run stopped."""

import math

import numpy as np
import pytest
import torch

transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")
from gradmedic.integrations.huggingface import GradmedicCallback  # noqa: E402

VOCAB, T = 32, 16


def gpt2():
    torch.manual_seed(0)
    cfg = transformers.GPT2Config(vocab_size=VOCAB, n_positions=T, n_embd=32, n_layer=2, n_head=2,
                                   bos_token_id=0, eos_token_id=0)
    return transformers.GPT2LMHeadModel(cfg)


def dataset(n=48):
    g = torch.Generator().manual_seed(0)
    # a learnable pattern: each token is the previous one plus one
    start = torch.randint(0, VOCAB, (n, 1), generator=g)
    ids = (start + torch.arange(T)) % VOCAB
    return [{"input_ids": x, "labels": x} for x in ids]


def train(tmp_path, cb, *, steps=6, lr=1e-3, max_grad_norm=0.5, accumulate=1, optim="adamw_torch"):
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path), max_steps=steps, per_device_train_batch_size=4, learning_rate=lr,
        logging_steps=1, report_to=[], save_strategy="no", use_cpu=True, disable_tqdm=True,
        max_grad_norm=max_grad_norm, gradient_accumulation_steps=accumulate, dataloader_num_workers=0, seed=0, optim=optim)
    model = gpt2()
    trainer = transformers.Trainer(model=model, args=args, train_dataset=dataset(), callbacks=[cb])
    trainer.train()
    logged = [r for r in trainer.state.log_history if "loss" in r and "grad_norm" in r]
    return trainer, model, logged


@pytest.mark.parametrize("accumulate", [1, 2])
def test_records_match_what_the_trainer_logs(tmp_path, accumulate, capsys):
    cb = GradmedicCallback(every=1, flush_every=2)
    trainer, model, logged = train(tmp_path, cb, accumulate=accumulate, max_grad_norm=0.5)
    mon, h = cb.monitor, cb.monitor.history
    assert h.stat_steps.tolist() == list(range(1, 7)) and [r["step"] for r in logged] == list(range(1, 7))
    # the loss of each step is the Trainer's own
    np.testing.assert_allclose(h.loss, [r["loss"] for r in logged], rtol=1e-5)
    # the pre-clip norm is the logged grad_norm; the recorded layer norms are after the clip to 0.5
    pre = np.array([r["grad_norm"] for r in logged])
    np.testing.assert_allclose(h.pre_clip_norm, pre, rtol=1e-6)
    total = np.sqrt((h.layer("grad_norm") ** 2).sum(1))
    np.testing.assert_allclose(total, pre * np.minimum(1.0, 0.5 / (pre + 1e-6)), rtol=1e-4)
    assert (pre > 0.5).any()
    assert mon.loop_facts["clips"] == pytest.approx(0.5, rel=1e-3)
    # layers as in model.named_modules(); tied wte/lm_head counted once, for wte
    assert mon.layer_names[0] == "transformer.wte" and "lm_head" not in mon.layer_names
    assert np.isfinite(h.layer("update_ratio")[1:]).all()
    assert cb.diagnosis.steps == 6 and "gradmedic:" in capsys.readouterr().out
    assert all(not m._forward_hooks for m in model.modules())


def test_the_end_diagnosis_is_computed_when_read(tmp_path):
    """With print_diagnosis=False the doctor runs only when ``diagnosis`` is read (a recording-only callback paid for a
    diagnosis at on_train_end that nobody asked for), then once; before the end it is None."""
    cb = GradmedicCallback(every=1, flush_every=2, print_diagnosis=False)
    assert cb.diagnosis is None
    calls = []

    class Counting(GradmedicCallback):
        def on_train_begin(self, *a, **kw):
            super().on_train_begin(*a, **kw)
            real = self.monitor.diagnose
            self.monitor.diagnose = lambda: calls.append(1) or real()

    cb = Counting(every=1, flush_every=2, print_diagnosis=False)
    train(tmp_path, cb)
    assert calls == []
    d = cb.diagnosis
    assert d.steps == 6 and cb.diagnosis is d and calls == [1]


def test_a_diverging_run_is_stopped(tmp_path):
    cb = GradmedicCallback(every=1, flush_every=2, stop_on="critical", print_diagnosis=False)
    trainer, _, _ = train(tmp_path, cb, steps=30, lr=1e3, max_grad_norm=0.0, optim="sgd")
    assert trainer.state.global_step < 30
    assert cb.stop_reason is not None and "non_finite" in cb.stop_reason
    assert not math.isfinite(float(cb.monitor.history.loss[-1]))
