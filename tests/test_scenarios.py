"""The labelled scenarios: each label rests on an outcome (checked here), and the doctor finds
exactly the labelled problems on a representative subset (bench/scenario_suite.py runs them all)."""


import pytest

import gradmedic
from gradmedic.doctor.scenarios import SCENARIOS

BY_NAME = {s.name: s for s in SCENARIOS}
SUBSET = ["mlp_relu_he_circles", "cnn_digits_adam", "transformer_sum_sign", "mlp_seed004_sigmoid_normal1",
          "mlp_seed004_regression_unscaled", "mlp_log_of_raw_output", "mlp_seed004_relu_dead_at_init", "mlp_tanh_normal5",
          "lstm_sgd_lr30", "mlp_sgd_lr_too_low", "mlp_tanh_sgd_slow", "cnn_raw_pixels", "mlp_constant_init",
          "rnn_large_recurrent", "mlp_softmax_one_unit", "cnn_normal1_logits", "lm_softmax_into_ce"]


def test_suite_shape():
    assert len(SCENARIOS) >= 24 and len(set(BY_NAME)) == len(SCENARIOS)
    assert {s.family for s in SCENARIOS} >= {"mlp", "cnn", "rnn", "lstm", "transformer"}
    healthy = [s for s in SCENARIOS if not s.labels]
    assert len(healthy) >= 8
    for s in SCENARIOS:  # every label and tolerated consequence is a problem the doctor knows
        assert s.labels <= set(gradmedic.PROBLEMS) and s.also <= set(gradmedic.PROBLEMS), s.name
    from gradmedic.doctor.diagnose import LOOP_PROBLEMS

    for p in set(gradmedic.PROBLEMS) - LOOP_PROBLEMS:
        assert len([s for s in SCENARIOS if p in s.labels]) >= 2, p


def _suffered(s, out):
    """What the label rests on: no learning, a rising loss, or NaN."""
    if out["nan_step"]:
        return True
    init, final = out["initial_loss"], out["final_loss"]
    acc = out["accuracy"]
    return final > 0.75 * init or (acc is not None and acc < 0.75)


@pytest.mark.parametrize("name", SUBSET)
def test_outcome_supports_the_label_and_the_doctor_finds_it(name):
    s = BY_NAME[name]
    d, out = s.run()
    if s.labels:
        assert _suffered(s, out), out
    else:
        assert not out["nan_step"] and out["final_loss"] < 0.8 * out["initial_loss"], out
        assert out["accuracy"] is None or out["accuracy"] >= 0.75, out  # None: a regression scenario
    assert set(s.labels) <= d.problems <= set(s.labels) | s.also, [f.message for f in d.findings]
    for f in d.findings:
        # every finding prescribes something to do, with its source; in an own loop as code where it can
        assert f.remedies and all(r.change and r.source for r in f.remedies), f.problem
        assert any(r.snippet for r in f.remedies), (f.problem, [r.change for r in f.remedies])
        assert 1 <= f.step <= f.detected_at <= out["steps"] + 1
        if f.problem not in ("plateau", "saturated_units") and f.problem not in s.also:  # longer evidence by design; consequences
            assert f.detected_at - f.step <= 120 or f.detected_at <= 130, (f.problem, f.step, f.detected_at)
