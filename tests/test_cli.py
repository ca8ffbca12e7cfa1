"""The command line: every spec field is a flag, bad input is one line and exit code 2."""

import json
import math
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from gradmedic import spec as S
from gradmedic.cli import main
from gradmedic.model import build, data

# --no-report: the report's six pictures cost seconds per run (tests/test_report.py checks reports)
TINY = ["--n-samples", "200", "--hidden", "8", "--epochs", "2", "--progress", "none", "--no-report"]


def run(capsys, *args):
    rc = main(list(args))
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


@pytest.mark.parametrize("args, field", [
    (["--activation", "relu2"], "model.activation"),
    (["--lr", "-1"], "train.lr"),
    (["--lr", "abc"], "train.lr"),
    (["--hidden", "32,0"], "model.hidden"),
    (["--hidden", "a,b"], "model.hidden"),
    (["--optimizer", "sgdd"], "train.optimizer"),
    (["--init", "xavier"], "model.init"),
    (["--normalize", "zscore"], "data.normalize"),
    (["--dataset", "no-such.csv"], "data.dataset"),
    (["--loss", "mse"], "train.loss"),  # circles is a binary task
    (["--schedule", "linear"], "train.schedule"),
    (["--batchnorm", "middle"], "model.batchnorm"),
    (["--epochs", "0"], "train.epochs"),
    (["--clip-norm", "0"], "train.clip_norm"),
    (["--dataset", "digits", "--kind", "cnn", "--channels", "8,8,8,8"], "model.channels"),
])
def test_bad_flags_get_one_line_and_exit_2(capsys, tmp_path, args, field):
    rc, out, err = run(capsys, "train", *args, "--runs-dir", str(tmp_path), "--progress", "none")
    assert rc == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: {field}:"), err
    assert "Traceback" not in err and out == ""
    assert not any(tmp_path.iterdir())  # nothing was started


def test_unknown_option_and_command(capsys):
    rc, _, err = run(capsys, "train", "--no-such-flag", "1")
    assert rc == 2 and err.count("\n") == 1 and "--no-such-flag" in err
    rc, _, err = run(capsys, "frobnicate")
    assert rc == 2 and err.count("\n") == 1


def test_malformed_spec_files(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[model\nhidden = 3")
    rc, _, err = run(capsys, "train", str(bad))
    assert rc == 2 and err.startswith("error: spec:") and err.count("\n") == 1
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({"model": {"hiden": [3]}}))
    rc, _, err = run(capsys, "train", str(extra))
    assert rc == 2 and err.startswith("error: model.hiden: unknown field; allowed:")
    rc, _, err = run(capsys, "train", str(tmp_path / "missing.toml"))
    assert rc == 2 and "file not found" in err


def test_help_lists_every_field_and_allowed_values(capsys):
    rc, out, _ = run(capsys, "train", "--help")
    assert rc == 0
    for cls in S.SECTIONS.values():
        for name in cls.model_fields:
            assert "--" + name.replace("_", "-") in out, name
    for choice in ("he_avg_uniform", "lecun_normal", "nesterov", "adagrad", "mean_image", "maxout", "plateau"):
        assert choice in out


def test_spec_file_then_flags_override(capsys, tmp_path):
    f = tmp_path / "spec.toml"
    f.write_text('name = "fromfile"\n[data]\nn_samples = 200\n[model]\nhidden = [4, 4]\nactivation = "tanh"\n'
                 '[train]\nepochs = 2\noptimizer = "sgd"\nlr = 0.5\n')
    rc, out, err = run(capsys, "train", str(f), "--lr", "0.05", "--json", "--runs-dir", str(tmp_path / "runs"))
    assert rc == 0, err
    s = json.loads(out)
    assert s["name"] == "fromfile" and s["epochs"] == 2 and s["steps"] == 2 * 4  # 100 train rows / batch 32
    saved = json.loads((tmp_path / "runs" / s["run_dir"].split("/")[-1] / "spec.json").read_text())
    assert saved["train"]["lr"] == 0.05 and saved["model"]["activation"] == "tanh" and saved["model"]["hidden"] == [4, 4]
    assert set(s["grad_norm"]) == {"fc1", "fc2", "out"}


# -- every name of the spec's vocabulary, trained from the command line --------------------------------
# One tiny run per name; each case checks, in the run's own records, that the name did what it says:
# the module it built, the scale its init rule gives, the size of its optimizer's first step, the rate
# its schedule sets each epoch, the inputs its normalization produced.
def _record(run_dir):
    rows = [json.loads(line) for line in (run_dir / "steps.jsonl").read_text().splitlines()]
    return SimpleNamespace(header=rows[0], stats=[r for r in rows[1:] if "layers" in r],
                           epochs=[json.loads(line) for line in (run_dir / "epochs.jsonl").read_text().splitlines()],
                           spec=json.loads((run_dir / "spec.json").read_text()), run_dir=run_dir)


def _first_update(r, layer):
    """|w(2) - w(1)| of one layer: the first optimizer step (needs --stats-every 1)."""
    assert [s["step"] for s in r.stats[:2]] == [1, 2]
    return r.stats[1]["layers"][layer]["update_ratio"] * r.stats[0]["layers"][layer]["weight_norm"]


def _grad(r, layer):
    return r.stats[0]["layers"][layer]["grad_norm"]


def _activation(kind, type_name, hist_range):
    def check(r):
        assert (r.header["activation_kinds"], r.header["activation_types"]) == ([kind], [type_name])
        assert r.header["activation_hist"]["ranges"] == [hist_range]  # a bounded activation's own bounds
    return check


def _prelu(r):
    _activation("relu", "PReLU", [-4.0, 4.0])(r)
    assert r.stats[0]["layers"]["act1"]["weight_norm"] == pytest.approx(0.25 * math.sqrt(8))  # 8 slopes of 0.25, learned


def _maxout(r):
    assert r.header["layers"] == ["fc1.affine", "out"] and r.header["activation_types"] == ["Maxout"]


# fc1 of --hidden 64 on 2 inputs: 128 weights, fan_in 2, fan_out 64; biases 0.  Its norm at step 1 is
# sqrt(128 var) for a random rule (within 15% on 128 draws; the seed is fixed) and exact otherwise.
FAN_IN, FAN_OUT, N_W = 2, 64, 128
GLOROT, HE, HE_AVG, LECUN = 2 / (FAN_IN + FAN_OUT), 2 / FAN_IN, 4 / (FAN_IN + FAN_OUT), 1 / FAN_IN  # the rules' variances
INIT_NORMS = {
    "zeros": (0.0, 0), "normal": (math.sqrt(N_W) * 0.01, 0.15), "uniform": (math.sqrt(N_W) * 0.05 / math.sqrt(3), 0.15),
    "glorot_normal": (math.sqrt(N_W * GLOROT), 0.15), "glorot_uniform": (math.sqrt(N_W * GLOROT), 0.15),
    "he_normal": (math.sqrt(N_W * HE), 0.15), "he_uniform": (math.sqrt(N_W * HE), 0.15),
    "he_avg_normal": (math.sqrt(N_W * HE_AVG), 0.15), "he_avg_uniform": (math.sqrt(N_W * HE_AVG), 0.15),
    "lecun_normal": (math.sqrt(N_W * LECUN), 0.15), "lecun_uniform": (math.sqrt(N_W * LECUN), 0.15),
    "orthogonal": (math.sqrt(FAN_IN), 1e-5),  # 64 x 2: two orthonormal columns
    "constant": (math.sqrt(N_W) * 0.5, 1e-6),  # with --init-value 0.5
}


def _init(name):
    expect, rel = INIT_NORMS[name]

    def check(r):
        assert r.spec["model"]["init"] == name
        assert r.stats[0]["layers"]["fc1"]["weight_norm"] == pytest.approx(expect, rel=rel, abs=1e-7)
    return check


# The first step's size on the output layer of a tanh net (9 parameters, all with a gradient g):
# plain and momentum SGD move lr |g|, Nesterov (1 + rho) lr |g|, the adaptive rules lr per parameter
# (AdaGrad, Adam: g / |g|; RMSProp: g / sqrt(0.1 g^2)).
FIRST_STEP = {
    "gd": lambda lr, g: lr * g, "sgd": lambda lr, g: lr * g, "momentum": lambda lr, g: lr * g,
    "nesterov": lambda lr, g: 1.9 * lr * g, "adagrad": lambda lr, g: 3 * lr, "rmsprop": lambda lr, g: 3 * math.sqrt(10) * lr,
    "adam": lambda lr, g: 3 * lr, "adamw": lambda lr, g: 3 * lr,
}


def _optimizer(name):
    def check(r):
        lr = r.spec["train"]["lr"]
        assert lr == S.OPTIMIZER_DEFAULT_LR[name]
        assert _first_update(r, "out") == pytest.approx(FIRST_STEP[name](lr, _grad(r, "out")), rel=1e-3)
    return check


def _schedule(factors):
    def check(r):
        lr = r.spec["train"]["lr"]
        assert [e["lr"] for e in r.epochs] == pytest.approx([lr * f for f in factors], rel=1e-9)
    return check


def _plateau(r):
    """patience 0, factor 0.5: the rate halves after each epoch whose test loss is no new best."""
    lrs, losses = [e["lr"] for e in r.epochs], [e["test_loss"] for e in r.epochs]
    best, expect = math.inf, [lrs[0]]
    for loss in losses[:-1]:
        expect.append(expect[-1] * (1.0 if loss < best * (1 - 1e-4) else 0.5))  # ReduceLROnPlateau's relative threshold
        best = min(best, loss)
    assert lrs == pytest.approx(expect, rel=1e-9) and min(lrs) < lrs[0]  # at least one cut


def _normalize(method):
    """With gd the first batch is the whole training split: its recorded mean and std are the split's."""
    def check(r):
        x = data.load(S.DataSpec(n_samples=200)).x_train.double().numpy()
        if method in ("center", "mean_image"):
            x = x - x.mean(0)
        elif method == "standard":
            x = (x - x.mean(0)) / x.std(0)
        elif method == "minmax":
            x = (x - (x.max(0) + x.min(0)) / 2) / ((x.max(0) - x.min(0)) / 2)
        inputs = r.stats[0]["inputs"]
        np.testing.assert_allclose(inputs["mean"], x.mean(0), atol=1e-6)
        np.testing.assert_allclose(inputs["std"], x.std(0, ddof=1), rtol=1e-5)
    return check


def _children(order):
    """The model rebuilt from the recorded spec holds the recorded weights, its blocks in this order."""
    def check(r):
        spec = S.validate(r.spec)
        model = build.build(spec.model, data.load(spec.data))
        model.load_state_dict(torch.load(r.run_dir / "model.pt", weights_only=True))
        assert [n for n, _ in model.named_children()] == order
    return check


def _clip_norm(r):
    """clip_norm 1e-3 rescales the whole gradient to norm 1e-3 (recorded before the clip): SGD 0.1 moves 1e-4."""
    layers = r.header["layers"]
    assert math.hypot(*(_grad(r, n) for n in layers)) > 1e-3
    assert math.hypot(*(_first_update(r, n) for n in layers)) == pytest.approx(1e-4, rel=1e-3)


def _clip_value(r):
    """clip_value 1e-3 caps each of out's 9 gradient entries: SGD 0.1 moves at most 0.1 * 1e-3 * 3."""
    assert _grad(r, "out") > 3e-3 and 0.5 * 3e-4 < _first_update(r, "out") <= 3e-4 * (1 + 1e-5)


def _l2(r):
    """SGD with l2 5 moves lr |g + 5 w|, within lr |g| of lr 5 |w| (a step 50x larger than lr |g|)."""
    w, g = r.stats[0]["layers"]["out"]["weight_norm"], _grad(r, "out")
    assert abs(_first_update(r, "out") / 0.1 - 5 * w) <= g * (1 + 1e-3) and 5 * w > 20 * g


def _classes(metric, width, chance):
    def check(r):
        summary = json.loads((r.run_dir / "summary.json").read_text())
        assert summary["metric"] == metric and r.stats[0]["output"]["width"] == width
        assert r.header["reference_loss"] == pytest.approx(chance, abs=0.02)  # the loss of guessing the class shares
    return check


def _digits_cnn(r):
    assert r.header["layer_types"] == ["Conv2d", "Linear", "Linear"] and r.stats[0]["output"]["width"] == 10
    assert abs(r.stats[0]["inputs"]["mean"][0]) < 1e-5  # channel_mean on the whole training split (gd)


def _standardized_target(r):
    summary = json.loads((r.run_dir / "summary.json").read_text())
    assert summary["metric"] == "mse" and 0.3 < r.stats[0]["loss"] < 3  # the raw target's MSE is ~1e4


ACTIVATION_CASES = {
    "sigmoid": _activation("saturating", "Sigmoid", [0.0, 1.0]), "tanh": _activation("saturating", "Tanh", [-1.0, 1.0]),
    "relu": _activation("relu", "ReLU", [0.0, 4.0]), "leaky_relu": _activation("relu", "LeakyReLU", [-4.0, 4.0]),
    "rrelu": _activation("relu", "RReLU", [-4.0, 4.0]), "prelu": _prelu, "elu": _activation("relu", "ELU", [-4.0, 4.0]),
    "selu": _activation("relu", "SELU", [-4.0, 4.0]), "maxout": _maxout,
}
STEP1 = ["--stats-every", "1"]
VOCABULARY = [pytest.param(["--activation", a], check, id=a) for a, check in ACTIVATION_CASES.items()]
INIT_VALUE = {"constant": ["--init-value", "0.5"]}
VOCABULARY += [pytest.param(["--init", i, "--hidden", "64", *INIT_VALUE.get(i, [])], _init(i), id=i) for i in INIT_NORMS]
VOCABULARY += [pytest.param(["--optimizer", o, "--activation", "tanh", *STEP1], _optimizer(o), id=o) for o in FIRST_STEP]
VOCABULARY += [
    pytest.param(["--schedule", "step", "--step-size", "1", "--gamma", "0.5", "--epochs", "3"], _schedule([1, 0.5, 0.25]),
                 id="step"),
    pytest.param(["--schedule", "exponential", "--gamma", "0.5", "--epochs", "3"], _schedule([1, 0.5, 0.25]), id="exponential"),
    pytest.param(["--schedule", "cosine", "--epochs", "3"], _schedule([1, 0.75, 0.25]), id="cosine"),  # (1 + cos(pi e / 3)) / 2
    pytest.param(["--schedule", "plateau", "--plateau-patience", "0", "--plateau-factor", "0.5",
                  "--optimizer", "sgd", "--lr", "3", "--epochs", "4"], _plateau, id="plateau"),
]
VOCABULARY += [pytest.param(["--normalize", n, "--optimizer", "gd"], _normalize(n), id=n)
               for n in ("center", "standard", "minmax", "mean_image")]
VOCABULARY += [
    pytest.param(["--batchnorm", "before"], _children(["fc1", "bn1", "act1", "out"]), id="batchnorm-before"),
    pytest.param(["--batchnorm", "after", "--dropout", "0.2"], _children(["fc1", "act1", "bn1", "drop1", "out"]),
                 id="batchnorm-after"),
    pytest.param(["--optimizer", "sgd", "--lr", "0.1", "--clip-norm", "0.001", *STEP1], _clip_norm, id="clip-norm"),
    pytest.param(["--optimizer", "sgd", "--lr", "0.1", "--clip-value", "0.001", "--activation", "tanh", *STEP1], _clip_value,
                 id="clip-value"),
    pytest.param(["--optimizer", "sgd", "--lr", "0.1", "--l2", "5", "--activation", "tanh", *STEP1], _l2, id="l2"),
    pytest.param(["--dataset", "digits", "--kind", "cnn", "--normalize", "channel_mean", "--channels", "4", "--optimizer", "gd"],
                 _digits_cnn, id="digits-cnn"),
    pytest.param(["--dataset", "regression", "--standardize-target"], _standardized_target, id="regression"),
    pytest.param(["--dataset", "blobs"], _classes("accuracy", 3, math.log(3)), id="blobs"),
    pytest.param(["--dataset", "moons"], _classes("accuracy", 1, math.log(2)), id="moons"),
    pytest.param(["--dataset", "spirals", "--n-classes", "3"], _classes("accuracy", 3, math.log(3)), id="spirals"),
]


@pytest.mark.parametrize("args, check", VOCABULARY)
def test_every_name_trains_from_the_cli_and_does_what_it_says(capsys, tmp_path, args, check):
    rc, out, err = run(capsys, "train", *TINY, *args, "--json", "--runs-dir", str(tmp_path))
    assert rc == 0, err
    s = json.loads(out)
    assert s["status"] == "ok" and math.isfinite(s["test_metric"])
    check(_record(Path(s["run_dir"])))


def test_csv_dataset(capsys, tmp_path):
    rows = ["a,b,label"] + [f"{i % 7},{(i * 3) % 5},{'yes' if i % 2 else 'no'}" for i in range(60)]
    f = tmp_path / "d.csv"
    f.write_text("\n".join(rows))
    rc, out, err = run(capsys, "train", "--dataset", str(f), "--target", "label", "--epochs", "2", "--json",
                       "--progress", "none", "--runs-dir", str(tmp_path / "r"))
    assert rc == 0, err
    assert json.loads(out)["metric"] == "accuracy"
    rc, _, err = run(capsys, "train", "--dataset", str(f), "--target", "nope", "--runs-dir", str(tmp_path / "r"))
    assert rc == 2 and err.startswith("error: data.target:") and "label" in err


def test_console_script_exit_code_without_traceback(tmp_path):
    p = subprocess.run([sys.executable, "-m", "gradmedic.cli", "train", "--activation", "nope"], capture_output=True, text=True)
    assert p.returncode == 2 and "Traceback" not in p.stderr and p.stderr.startswith("error: model.activation")


def test_experiment_list(capsys):
    rc, out, _ = run(capsys, "experiment", "--list")
    assert rc == 0 and "vanishing" in out
    rc, _, err = run(capsys, "experiment", "nope")
    assert rc == 2 and "vanishing" in err


def test_diagnose_a_spec_and_a_recorded_run(capsys, tmp_path, seed004_file):
    rc, out, err = run(capsys, "diagnose", str(seed004_file), "--epochs", "20", "--json", "--runs-dir", str(tmp_path / "runs"))
    assert rc == 0, err
    d = json.loads(out)
    assert d["problems"] == ["vanishing_gradients"] and d["findings"][0]["remedies"][0]["spec_change"]["activation"] == "relu"
    run_dir = next((tmp_path / "runs").iterdir())
    rc, out, _ = run(capsys, "diagnose", str(run_dir), "--json", "--no-report")  # reports: tests/test_report.py
    assert rc == 0 and json.loads(out)["problems"] == ["vanishing_gradients"]
    rc, out, _ = run(capsys, "diagnose", str(run_dir), "--no-report")
    assert "vanishing_gradients" in out and "--activation relu" in out  # remedies as flags to paste
    rc, _, err = run(capsys, "diagnose", str(run_dir), "--lr", "0.1")
    assert rc == 2 and err.startswith("error: flags:")
