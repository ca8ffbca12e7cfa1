"""gradmedic compare: the grid, bad input before any training, and a real parallel comparison."""

import json
import re
import statistics
from pathlib import Path

import pytest

from gradmedic import spec as S
from gradmedic.cli import main
from gradmedic.compare import RunOutcome, Variant, aggregate, compare, expand, parse_vary
from gradmedic.show.compare import save

# Seed 004's network (5 hidden layers of 5 units on noisy circles, min-max inputs) with He init for
# both activations and Adam at 0.01, so that ReLU learns within 15 epochs (SGD with momentum needs
# ~100) while the sigmoid's gradient still shrinks layer by layer (sigmoid' <= 1/4).
SEED004 = """
name = "seed004"
[data]
dataset = "circles"
normalize = "minmax"
[model]
hidden = [5, 5, 5, 5, 5]
init = "he_uniform"
[train]
optimizer = "adam"
lr = 0.01
epochs = 15
stats_every = 10
seed = 1
"""


def run(capsys, *args):
    rc = main(list(args))
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


# -- the grid ----------------------------------------------------------------------------------------

def test_parse_vary_splits_on_commas_or_on_semicolons_when_present():
    assert parse_vary(["activation=relu,tanh", "hidden=32,32;64,64,64", "batch-size=16"]) == {
        "activation": ["relu", "tanh"], "hidden": ["32,32", "64,64,64"], "batch_size": ["16"]}
    assert parse_vary(["hidden=32,32;"]) == {"hidden": ["32,32"]}  # one value with commas
    assert parse_vary(["hidden=8;16"]) == {"hidden": ["8", "16"]}


def test_expand_is_the_cartesian_product_in_grid_order_with_values_parsed_by_the_spec():
    base = S.validate({"train": {"epochs": 3}})
    vs = expand(base, parse_vary(["activation=relu,tanh", "hidden=8,8;16", "standardize_target=true"]))
    # a field given one value is the same everywhere: applied, but not named in the labels
    assert [v.label for v in vs] == ["activation=relu, hidden=8,8", "activation=relu, hidden=16",
                                     "activation=tanh, hidden=8,8", "activation=tanh, hidden=16"]
    assert [v.index for v in vs] == [0, 1, 2, 3]
    assert [(v.spec.model.activation, v.spec.model.hidden) for v in vs] == [
        ("relu", [8, 8]), ("relu", [16]), ("tanh", [8, 8]), ("tanh", [16])]
    assert all(v.spec.data.standardize_target is True and v.spec.train.epochs == 3 for v in vs)
    assert [v.label for v in expand(base, {})] == ["base"]  # nothing varied: the spec itself, over seeds
    assert [v.label for v in expand(base, {"lr": ["0.1"]})] == ["lr=0.1"]


def test_aggregate_means_sample_std_target_and_problem_counts():
    base = S.Spec()
    v = Variant(0, {"lr": "0.1"}, base)

    def outcome(seed, test, train, curve, problems, status="ok"):
        o = RunOutcome(0, seed, f"r{seed}", status=status,
                       summary={"metric": "accuracy", "test_metric": test, "train_metric": train, "status": status},
                       epochs=[{"epoch": i + 1, "step": 10 * (i + 1), "test_metric": m} for i, m in enumerate(curve)],
                       diagnosis={"problems": problems, "findings": []}, grad_norm={"fc1": 0.01 * (seed + 1), "out": 0.1})
        return o

    runs = [outcome(0, 0.8, 0.9, [0.5, 0.7, 0.8], ["plateau"]), outcome(1, 0.6, 0.7, [0.5, 0.6, 0.6], ["plateau", "lr_too_high"]),
            outcome(2, 0.7, 0.8, [0.72, 0.7, 0.7], []), RunOutcome(0, 3, "r3", status="failed", error="ValueError: x")]
    [vr], target, note = aggregate([v], runs, target=0.7)
    assert vr.test_mean == pytest.approx(0.7) and vr.test_std == pytest.approx(statistics.stdev([0.8, 0.6, 0.7]))
    assert vr.train_mean == pytest.approx(0.8) and vr.train_std == pytest.approx(0.1)
    assert target == 0.7 and "given" in note
    # seed 0 reaches 0.7 at epoch 2 (step 20), seed 2 at epoch 1 (step 10), seed 1 never
    assert (vr.reached, vr.steps_to_target, vr.epochs_to_target) == (2, 15.0, 1.5)
    assert vr.statuses == {"ok": 3, "failed": 1}
    assert vr.problems == {"lr_too_high": 1, "plateau": 2}
    assert vr.grad_norm["fc1"] == pytest.approx((0.01 * 0.02 * 0.03) ** (1 / 3))  # geometric mean over seeds
    [vr], target, note = aggregate([v], runs, target=None)  # default: 0.9 x the best mean accuracy
    assert target == pytest.approx(0.63) and "0.9 x" in note and vr.reached == 2  # seed 1 tops out at 0.6


# -- bad input: one line, exit 2, nothing trained ---------------------------------------------------

@pytest.mark.parametrize("vary, says", [
    (["activaton=relu"], ["--vary: unknown field 'activaton'", "allowed:", "activation", "batch_size"]),
    (["activation=relu,foo"], ["model.activation: 'foo' is not one of:", "sigmoid", "maxout"]),
    (["activation"], ["--vary:", "no '='"]),
    (["activation="], ["--vary: activation: empty value"]),
    (["activation=relu,,tanh"], ["--vary: activation: empty value"]),
    (["=relu"], ["--vary:", "names no field"]),
    (["hidden=32,32"], ["given twice", "hidden=32,32;64,64"]),
    (["hidden=8;0"], ["model.hidden:", ">= 1"]),
    (["activation=relu", "activation=tanh"], ["activation is given twice"]),
    (["seed=1,2"], ["--seeds"]),
    (["dataset=circles,regression", "loss=bce"], ["train.loss: bce does not fit a regression target",
                                                  "dataset=regression, loss=bce"]),
])
def test_bad_vary_is_one_line_and_exit_2_before_training(capsys, tmp_path, vary, says):
    spec = tmp_path / "spec.toml"
    spec.write_text(SEED004)
    args = ["compare", str(spec), "--runs-dir", str(tmp_path / "runs")]
    for v in vary:
        args += ["--vary", v]
    rc, out, err = run(capsys, *args)
    assert rc == 2, err
    line = err.strip()
    assert "\n" not in line and line.startswith("error: ") and "Traceback" not in err
    for s in says:
        assert s in line
    assert not (tmp_path / "runs").exists()  # nothing was trained or even created


@pytest.mark.parametrize("args, says", [
    (["--seeds", "0"], "--seeds: must be a whole number >= 1"),
    (["--workers", "0"], "--workers: must be a whole number >= 1"),
    (["--seeds", "two"], "'--seeds'"),
    (["--target", "nan"], "--target: must be a finite number"),
])
def test_bad_options_are_one_line_and_exit_2(capsys, tmp_path, args, says):
    rc, out, err = run(capsys, "compare", "--vary", "activation=relu", *args, "--runs-dir", str(tmp_path / "runs"))
    assert rc == 2 and says in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


def test_a_missing_spec_file_is_one_line(capsys, tmp_path):
    rc, out, err = run(capsys, "compare", str(tmp_path / "nope.toml"), "--vary", "activation=relu,tanh")
    assert rc == 2 and "file not found" in err


# -- a real comparison, in parallel ------------------------------------------------------------------

def test_sigmoid_vs_relu_in_parallel_over_two_seeds(capsys, tmp_path):
    spec = tmp_path / "seed004.toml"
    spec.write_text(SEED004)
    rc, out, err = run(capsys, "compare", str(spec), "--vary", "activation=sigmoid,relu", "--seeds", "2",
                       "--workers", "2", "--runs-dir", str(tmp_path / "runs"), "--json")
    assert rc == 0, err
    res = json.loads(out)
    d = Path(res["dir"])
    # the CLI's console (stderr with --json): the grid, a numbered line per run, the table, the report
    assert err.startswith("compare: 2 variant(s) x 2 seed(s) = 4 runs on 2 worker process(es) into ")
    done = re.findall(r"^\[(\d)/4\] (activation=\w+), seed (\d): ok, test accuracy", err, re.M)
    assert [k for k, _, _ in done] == ["1", "2", "3", "4"]
    assert sorted((a, s) for _, a, s in done) == [("activation=relu", "1"), ("activation=relu", "2"),
                                                  ("activation=sigmoid", "1"), ("activation=sigmoid", "2")]
    assert err.index("[4/4]") < err.index("compare: 2 variants x 2 seeds") < err.index("target: test accuracy >=")
    assert "report:" in err.rsplit("target:", 1)[1]
    assert res["workers"] == 2 and res["seeds"] == [1, 2] and res["metric"] == "accuracy"
    assert [v["label"] for v in res["variants"]] == ["activation=sigmoid", "activation=relu"]

    # the aggregates are the mean and sample std of the runs' own summary.json files on disk
    for v in res["variants"]:
        runs = [r for r in res["runs"] if r["variant"] == v["index"]]
        assert len(runs) == 2 and all(r["status"] == "ok" for r in runs)
        sums = [json.loads((Path(r["run_dir"]) / "summary.json").read_text()) for r in runs]
        assert all(Path(r["run_dir"]).parent == d for r in runs)
        assert sorted(json.loads((Path(r["run_dir"]) / "spec.json").read_text())["train"]["seed"] for r in runs) == [1, 2]
        tests = [s["test_metric"] for s in sums]
        assert v["test_mean"] == pytest.approx(statistics.mean(tests))
        assert v["test_std"] == pytest.approx(statistics.stdev(tests))
        assert v["train_mean"] == pytest.approx(statistics.mean(s["train_metric"] for s in sums))
        assert v["statuses"] == {"ok": 2}
        for p, n in v["problems"].items():
            assert n == sum(p in s["problems"] for s in sums)

    sig, relu = res["variants"]
    assert relu["test_mean"] > sig["test_mean"] + 0.15  # measured: 0.82 vs 0.50
    assert sig["test_mean"] < 0.6  # the sigmoid network stays near chance
    assert sig["problems"].get("vanishing_gradients") == 2  # the doctor finds it in both seeds
    assert sig["grad_norm"]["fc1"] < sig["grad_norm"]["out"] / 20  # seed 004's picture: fc1 gets 1/20+ of out's
    # default target: 0.9 x relu's mean; relu reaches it, sigmoid never does
    assert res["target"] == pytest.approx(0.9 * relu["test_mean"])
    assert relu["reached"] == 2 and sig["reached"] == 0 and relu["steps_to_target"] > 0
    for name in ("report.html", "compare_loss.png", "compare_grads.png", "compare.json"):
        assert (d / name).stat().st_size > 1000
    assert json.loads((d / "compare.json").read_text())["variants"] == res["variants"]
    html = (d / "report.html").read_text()
    assert "activation=sigmoid" in html and "vanishing_gradients" in html and html.count("data:image/png;base64,") == 2


def test_a_failing_run_is_reported_and_the_others_finish(capsys, tmp_path):
    # Batch norm cannot normalize a batch of one sample: torch raises on the first training step, in
    # the worker (the build-time preflight cannot see it); the batch-of-50 variant still trains.
    base = S.validate({"name": "bn", "data": {"n_samples": 200}, "model": {"hidden": [8], "batchnorm": "before"},
                       "train": {"epochs": 2}})
    told = []
    res = compare(base, {"batch_size": ["50", "1"]}, seeds=1, workers=2, runs_dir=tmp_path,
                  on_start=lambda grid: told.append((grid.runs, grid.workers, grid.dir)),
                  on_run=lambda outcome, label: told.append((label, outcome.status)))
    assert told[0] == (2, 2, res.dir)
    assert sorted(told[1:]) == [("batch_size=1", "failed"), ("batch_size=50", "ok")]
    good, bad = res.variants
    assert good.statuses == {"ok": 1} and good.test_mean is not None
    assert bad.statuses == {"failed": 1} and bad.test_mean is None
    assert "Expected more than 1 value per channel" in bad.runs[0].error
    # compare() itself printed nothing and wrote only the runs' directories; save() writes the rest
    assert capsys.readouterr() == ("", "")
    assert all(p.is_dir() for p in res.dir.iterdir()) and res.report is None and res.plots == []
    save(res)
    saved = json.loads((res.dir / "compare.json").read_text())
    assert [r["status"] for r in saved["runs"]] == ["ok", "failed"]
    assert res.report == res.dir / "report.html" and saved["report"] == str(res.report) and res.report.is_file()
    assert saved["plots"] == [str(res.dir / "compare_loss.png"), str(res.dir / "compare_grads.png")]


def test_ctrl_c_keeps_the_finished_runs_and_cancels_the_rest(tmp_path):
    # Ctrl-C arrives in the parent's wait loop; raising KeyboardInterrupt from the per-run callback
    # (called in that loop) is the same path without sending a signal to the test process.
    base = S.validate({"name": "ctrlc", "data": {"n_samples": 200}, "model": {"hidden": [8]}, "train": {"epochs": 10}})

    def interrupt(outcome, label):
        raise KeyboardInterrupt

    res = compare(base, {"lr": ["0.001", "0.002", "0.003", "0.004"]}, workers=1, runs_dir=tmp_path, on_run=interrupt)
    statuses = [r.status for r in res.runs]
    assert res.status == "interrupted" and statuses[0] == "ok" and statuses[-1] == "cancelled", statuses
    finished = Path(res.runs[0].summary["run_dir"])
    assert (finished / "summary.json").is_file() and (finished / "model.pt").is_file()
    save(res)
    saved = json.loads((res.dir / "compare.json").read_text())
    assert saved["status"] == "interrupted" and saved["runs"][-1]["status"] == "cancelled"
    assert res.variants[0].test_mean is not None and res.variants[-1].test_mean is None
