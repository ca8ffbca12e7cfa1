"""The command line: every spec field is a flag, bad input is one line and exit code 2."""

import json
import subprocess
import sys

import pytest

from gradmedic import spec as S
from gradmedic.cli import main

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
    for section, cls in S.SECTIONS.items():
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


def test_every_name_trains_from_the_cli(capsys, tmp_path):
    """Each activation, init, optimizer, schedule, normalization and batch-norm placement runs."""
    cases = [["--activation", a] for a in ("sigmoid", "tanh", "relu", "leaky_relu", "rrelu", "prelu", "elu", "selu", "maxout")]
    cases += [["--init", i] for i in ("zeros", "constant", "normal", "uniform", "glorot_normal", "glorot_uniform", "he_normal",
                                      "he_uniform", "he_avg_normal", "he_avg_uniform", "lecun_normal", "lecun_uniform", "orthogonal")]
    cases += [["--optimizer", o] for o in ("gd", "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")]
    cases += [["--schedule", s] for s in ("step", "exponential", "cosine", "plateau")]
    cases += [["--normalize", n] for n in ("center", "standard", "minmax", "mean_image")]
    cases += [["--batchnorm", "before"], ["--batchnorm", "after", "--dropout", "0.2"], ["--clip-norm", "1", "--clip-value", "0.5", "--l2", "0.01"]]
    cases += [["--dataset", "digits", "--kind", "cnn", "--normalize", "channel_mean", "--channels", "4"],
              ["--dataset", "regression", "--standardize-target"], ["--dataset", "blobs"], ["--dataset", "moons"],
              ["--dataset", "spirals", "--n-classes", "3"]]
    for args in cases:
        rc, out, err = run(capsys, "train", *TINY, *args, "--json", "--runs-dir", str(tmp_path))
        assert rc == 0, (args, err)
        s = json.loads(out)
        assert s["steps"] > 0 and s["test_metric"] is not None, args


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


def test_diagnose_a_spec_and_a_recorded_run(capsys, tmp_path):
    f = tmp_path / "sig.toml"
    f.write_text('[data]\nnormalize = "minmax"\n[model]\nhidden = [5, 5, 5, 5, 5]\nactivation = "sigmoid"\ninit = "normal"\ninit_std = 1.0\n'
                 '[train]\noptimizer = "momentum"\nlr = 0.01\nepochs = 20\nseed = 1\nstats_every = 10\n')
    rc, out, err = run(capsys, "diagnose", str(f), "--json", "--runs-dir", str(tmp_path / "runs"))
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
