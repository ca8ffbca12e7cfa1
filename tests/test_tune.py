"""gradmedic tune: the space, the doctor as pruner (on synthetic verdicts), resuming, a tiny real study,
Ctrl-C, and two workers sharing a real PostgreSQL server."""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

from rich.console import Console  # noqa: E402

from gradmedic import spec as spec_mod  # noqa: E402
from gradmedic.cli import main  # noqa: E402
from gradmedic.doctor_pruner import DoctorPruner, patience, verdict  # noqa: E402
from gradmedic.errors import SpecError  # noqa: E402
from gradmedic.show.tune import ConsoleProgress, Progress, print_tune, save, table_rows  # noqa: E402
from gradmedic.tune import Objective, Param, TuneResult, TuneStart, _driver, apply, default_space, parse_space, tune  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)

TINY = """name = "tiny"
[data]
dataset = "blobs"
n_samples = 300
normalize = "standard"
[model]
hidden = [8, 8]
activation = "tanh"
[train]
optimizer = "momentum"
epochs = 3
batch_size = 20
stats_every = 5
"""


@pytest.fixture
def tiny(tmp_path):
    p = tmp_path / "tiny.toml"
    p.write_text(TINY)
    return p


def _cli(capsys, *args):
    rc = main(list(map(str, args)))
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


# -- the space -------------------------------------------------------------------------------------

@pytest.mark.parametrize("space, field, words", [
    ("lrr = { low = 0.001, high = 0.1 }", "space.lrr", "unknown field"),
    ("lr = { low = 0.1, high = 0.01 }", "space.lr", "impossible range: low 0.1 is not below high 0.01"),
    ("lr = { low = 0.0, high = 0.1, log = true }", "space.lr", "log scale needs low > 0"),
    ("momentum = { low = 0.5, high = 1.5 }", "space.momentum", "high 1.5 is not allowed"),
    ("activation = { low = 1, high = 2 }", "space.activation", "takes choices (one of: sigmoid"),
    ("activation = [\"relu\", \"relu2\"]", "space.activation", "'relu2' is not allowed"),
    ("batch_size = { low = 8.5, high = 64 }", "space.batch_size", "whole number"),
    ("seed = [1, 2]", "space.seed", "not searched"),
    ("lr = { low = 0.001, hgh = 0.1 }", "space.lr", "unknown key 'hgh'"),
    ("loss = [\"cross_entropy\", \"mse\"]", "space.loss", "'mse' does not work: train.loss: mse does not fit a multiclass"),
])
def test_bad_space_is_one_line_and_exit_2_before_training(tmp_path, tiny, capsys, space, field, words):
    f = tmp_path / "space.toml"
    f.write_text(space + "\n")
    runs = tmp_path / "runs"
    rc, out, err = _cli(capsys, "tune", tiny, "--space", f, "--runs-dir", runs)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {field}: ") and words in lines[0], err
    assert not runs.exists()  # nothing trained, no study made


@pytest.mark.parametrize("args, words", [
    (["--storage", "redis://localhost"], "error: --storage: 'redis://localhost' is neither a database URL"),
    (["--storage", "postgresql://nobody@127.0.0.1:1/none"], "error: --storage: cannot open postgresql://nobody@127.0.0.1:1/none"),
    (["--pruner", "wilcoxon"], "error: --pruner: 'wilcoxon' is not one of: doctor, median, hyperband, none"),
    (["--trials", "0"], "error: --trials: must be a whole number >= 1"),
])
def test_bad_storage_and_options_exit_2(tmp_path, tiny, capsys, args, words):
    rc, out, err = _cli(capsys, "tune", tiny, "--runs-dir", tmp_path / "runs", *args)
    assert rc == 2 and len(err.strip().splitlines()) == 1 and err.startswith(words), err


def test_default_space_follows_seed_003_fitted_to_the_optimizer():
    sgd = {p.name: p for p in default_space(spec_mod.override(spec_mod.Spec(), {"optimizer": "momentum", "hidden": "32,32"}))}
    assert list(sgd) == ["lr", "momentum", "hidden_units", "batch_size", "layers", "schedule"]
    assert (sgd["lr"].low, sgd["lr"].high, sgd["lr"].log) == (pytest.approx(1e-3), pytest.approx(1.0), True)
    assert (sgd["hidden_units"].low, sgd["hidden_units"].high) == (8, 128)
    assert (sgd["layers"].low, sgd["layers"].high) == (1, 3)
    adam = {p.name: p for p in default_space(spec_mod.Spec())}
    assert "beta1" in adam and "momentum" not in adam and "beta2" not in adam and "eps" not in adam
    assert (adam["lr"].low, adam["lr"].high) == (pytest.approx(1e-4), pytest.approx(0.1))
    gd = {p.name for p in default_space(spec_mod.override(spec_mod.Spec(), {"optimizer": "gd"}))}
    assert "batch_size" not in gd and "momentum" not in gd


def test_space_file_forms_and_apply():
    spec = spec_mod.Spec()
    params = {p.name: p for p in parse_space({
        "lr": {"low": 1e-4, "high": 0.1, "log": True}, "batch_size": {"range": [16, 64], "step": 16},
        "hidden": {"choices": [[32, 32], "64,64,64"]}, "activation": ["relu", "tanh"]}, spec)}
    assert params["lr"].kind == "float" and params["lr"].log
    assert params["batch_size"].kind == "int" and params["batch_size"].step == 16
    assert params["hidden"].choices == ("32,32", "64,64,64")
    s = apply(spec, {"hidden": "64,64,64", "lr": 0.02, "activation": "tanh"})
    assert s.model.hidden == [64, 64, 64] and s.train.lr == 0.02 and s.model.activation == "tanh"
    s = apply(spec_mod.override(spec, {"hidden": "16,16"}), {"layers": 3})
    assert s.model.hidden == [16, 16, 16]
    with pytest.raises(SpecError, match="either hidden"):
        parse_space({"hidden": ["32"], "layers": {"low": 1, "high": 3}}, spec)


# -- the doctor as pruner, on synthetic verdicts -----------------------------------------------------

SICK = {"problem": "lr_too_high", "severity": "serious", "step": 12, "detected_at": 40,
        "message": "the loss rose from 0.69 to 3.1 over 25 steps at lr 3"}


def _study(pruner):
    study = optuna.create_study(direction="maximize", pruner=pruner)
    for k in range(5):  # five finished trials that learned: 0.9 at every epoch
        t = study.ask()
        for e in range(1, 11):
            t.report(0.9 - 0.001 * k, e)
        study.tell(t, 0.9)
    return study


def _epoch(trial, value, epoch, steps, healthy=True, rising=False, finding=None, total=1000, started=False):
    trial.set_user_attr("doctor", {"steps": steps, "total_steps": total, "healthy": healthy, "rising": rising,
                                   "finding": finding, "started": started})
    trial.report(value, epoch)
    return trial.should_prune()


def test_doctor_prunes_a_sick_trial_at_once_and_stores_why():
    study = _study(DoctorPruner())
    t = study.ask()
    assert not _epoch(t, 0.95, 1, 20)  # better than everyone, healthy
    assert _epoch(t, 0.95, 2, 40, healthy=False, finding=SICK)  # still ahead, but sick: pruned
    ua = study._storage.get_trial(t._trial_id).user_attrs
    assert ua["pruned_by"] == "doctor" and ua["prune_problem"] == "lr_too_high" and ua["prune_step"] == 40
    assert SICK["message"] in ua["prune_reason"] and "since step 12" in ua["prune_reason"]


def test_slow_starter_veto_keeps_a_healthy_trial_the_median_rule_cuts():
    median = _study(optuna.pruners.MedianPruner())
    t = median.ask()
    assert _epoch(t, 0.5, 1, 50)  # MedianPruner alone: at chance, below the median, out at epoch 1

    study = _study(DoctorPruner())
    t = study.ask()
    warm = DoctorPruner().warmup_steps(1000)
    assert warm == min(patience(), 250) == 250  # a quarter of the planned steps, at most the doctor's 500
    for e, steps in enumerate(range(50, warm, 50), 1):
        assert not _epoch(t, 0.5, e, steps), steps  # flat at chance, healthy: kept through the warm-up
    assert _epoch(t, 0.5, 6, warm)  # past it the median rule applies
    ua = study._storage.get_trial(t._trial_id).user_attrs
    assert ua["pruned_by"] == "median" and ua["prune_problem"] is None and "below the median" in ua["prune_reason"]


def test_no_veto_for_a_trial_getting_worse_or_with_a_warning():
    study = _study(DoctorPruner())
    assert _epoch(study.ask(), 0.5, 1, 50, rising=True)  # its loss rises: the median rule decides at once
    assert _epoch(study.ask(), 0.5, 1, 50, healthy=False)  # a warning (a plateau): not healthy, no veto
    # healthy and learning but trailing the others: its value is informative, the median rule decides as without the doctor
    assert _epoch(study.ask(), 0.5, 1, 50, started=True)


def test_verdict_says_a_learning_run_has_started():
    import numpy as np

    from gradmedic.run.train import train

    spec = spec_mod.validate(spec_mod.tomllib.loads(TINY))
    seen: list[tuple] = []
    train(spec, runs_dir=None, progress="none",
          on_epoch=lambda row, m: seen.append((row, verdict(m, 45, [row]), float(np.median(m.history.loss[:10])))) or None)
    row, v, first = seen[-1]
    assert v["healthy"] and v["started"] == (row["train_loss"] <= 0.9 * first) and row["train_loss"] < 0.8 * first


def test_verdict_of_a_real_diverging_run_names_the_problem():
    from gradmedic.run.train import train

    spec = spec_mod.override(spec_mod.validate(spec_mod.tomllib.loads(TINY)), {"lr": 8.0, "epochs": 3})
    seen: list[dict] = []
    r = train(spec, runs_dir=None, progress="none", on_epoch=lambda row, m: seen.append(verdict(m, 60, [row])) or None)
    found = {v["finding"]["problem"] for v in seen if v["finding"]}
    if r.status == "non_finite":  # the trainer stopped it before an epoch ended: the final diagnosis names it
        found |= {f.problem for f in r.diagnosis.findings if f.severity in ("serious", "critical")}
    assert found & {"lr_too_high", "exploding_gradients", "non_finite", "dead_units", "saturated_units"}, (r.status, seen)


# -- what tune shows --------------------------------------------------------------------------------

def _trial(number, state, value=None, steps=24, params=None, interrupted=False, problem=None):
    pruned = state == "PRUNED"
    return {"number": number, "state": state, "value": value, "steps": steps, "params": params or {},
            "interrupted": interrupted, "pruned_by": "doctor" if pruned else None, "problem": problem,
            "reason": "the loss jumped" if pruned else None, "intermediate": {}}


def test_progress_says_each_finished_trial_once_when_not_on_a_terminal():
    buf = io.StringIO()
    bar = Progress(Console(file=buf, width=300), 3, quiet=False, direction="maximize")
    rows = [_trial(0, "PRUNED", 0.7133, 8, problem="lr_too_high"), _trial(1, "RUNNING", steps=None)]
    bar.update(rows)
    bar.update(rows)  # nothing new: nothing said
    rows[1:] = [_trial(1, "COMPLETE", 0.98), _trial(2, "FAIL", steps=None, interrupted=True), _trial(3, "COMPLETE", 0.5)]
    bar.update(rows)
    bar.close()
    tail = "  pruned: doctor: lr_too_high 1"
    assert buf.getvalue().splitlines() == [  # an interrupted trial is not counted: it runs again on resume
        "[1/3] trial 0: pruned (doctor: lr_too_high), value 0.7133, 8 steps; best -" + tail,
        "[3/3] trial 1: complete, value 0.98, 24 steps; best 0.98" + tail,
        "[3/3] trial 2: fail, value -, 0 steps; best 0.98" + tail,
        "[3/3] trial 3: complete, value 0.5, 24 steps; best 0.98" + tail]
    quiet = io.StringIO()
    Progress(Console(file=quiet), 3, quiet=True, direction="maximize").update(rows)
    assert quiet.getvalue() == ""
    term = io.StringIO()  # on a terminal the bar carries it, and no line per trial stays behind
    bar = Progress(Console(file=term, force_terminal=True, width=200), 3, quiet=False, direction="minimize")
    bar.update(rows)
    assert bar.bar.done == 3
    bar.close()
    assert "trial 1" not in term.getvalue()


def test_console_progress_says_the_study_then_each_trial():
    buf = io.StringIO()
    space = [Param("lr", "float", 0.01, 1.0, log=True), Param("activation", "choice", choices=("tanh", "relu"))]
    with ConsoleProgress(Console(file=buf, width=300)) as progress:
        progress.start(TuneStart("tiny", 4, "accuracy", "maximize", "doctor", 2, "study.journal", space, 3, [1]))
        progress.trials([_trial(0, "COMPLETE", 0.9)])
    assert buf.getvalue().splitlines() == [
        "tune tiny: 4 trials of accuracy (maximize), pruner doctor, 2 worker(s), resuming with 3 finished "
        "(1 interrupted trial(s) queued again); storage study.journal",
        "  space: lr 0.01 .. 1 (log); activation tanh, relu",
        "[1/4] trial 0: complete, value 0.9, 24 steps; best 0.9"]


def test_trials_table_and_summary(tmp_path):
    space = [Param("lr", "float", 0.01, 1.0, log=True), Param("standardize_target", "choice", choices=(True, False))]
    trials = [_trial(0, "PRUNED", None, 8, {"lr": 0.123456, "standardize_target": True}, problem="lr_too_high"),
              _trial(1, "COMPLETE", 0.98, 24, {"lr": 0.3, "standardize_target": False}),
              _trial(2, "FAIL", None, None, {"lr": 0.05}, interrupted=True)]
    res = TuneResult(tmp_path, "tiny", "study.journal", "accuracy", "maximize", "doctor", space, trials, 1.25,
                     files={"best_spec": "best_spec.json"})
    assert table_rows(res) == [
        ["#", "state", "accuracy", "steps", "lr", "standardize_target", "pruned by", "why"],
        [0, "pruned", "-", "8", "0.1235", "true", "doctor: lr_too_high", "the loss jumped"],
        [1, "complete", "0.98", "24", "0.3", "false", "", ""],
        [2, "interrupted", "-", "-", "0.05", "-", "", ""]]
    buf = io.StringIO()
    print_tune(res, Console(file=buf, width=200))
    assert buf.getvalue().splitlines()[-4:] == [
        "  32 steps in 1.2 s; pruned: doctor: lr_too_high 1",
        "  best: trial 1, test accuracy 0.98, lr=0.3, standardize_target=false",
        "  best spec: best_spec.json",
        "  train it: gradmedic train best_spec.json"]


def test_a_trials_planned_steps_come_from_its_own_data(tmp_path):
    spec = spec_mod.load(_write(tmp_path, TINY))  # 300 rows, half for training: 150 / 20 -> 8 steps x 3 epochs
    objective = Objective(spec, [], tmp_path, "doctor", "accuracy")
    assert objective.planned_steps(spec) == 24
    assert objective.planned_steps(apply(spec, {"n_samples": 600})) == 15 * 3  # a searched data field counts
    assert objective.planned_steps(apply(spec, {"optimizer": "gd"})) == 3  # full batch: a step an epoch
    assert len(objective.data) == 2


# -- real studies ----------------------------------------------------------------------------------

LR_SPACE = {"lr": {"choices": [0.3, 40.0]}, "activation": ["tanh", "relu"]}


def test_tiny_real_study(tmp_path):
    spec = spec_mod.load(_write(tmp_path, TINY))
    started, told = [], []
    res = tune(spec, 3, space=LR_SPACE, runs_dir=tmp_path / "runs", sampler="random", seed=8,
               on_start=started.append, on_trials=told.append)
    assert [t["number"] for t in res.trials] == [0, 1, 2]
    assert [(s.study, s.trials, s.metric, s.direction, s.finished, s.requeued) for s in started] == [
        ("tiny", 3, "accuracy", "maximize", 0, [])]
    assert [[r["number"] for r in rows] for rows in told] == [[0], [0, 1], [0, 1, 2]]  # after each trial
    assert told[-1] == res.trials
    by_lr = {t["params"]["lr"] for t in res.trials}
    assert by_lr == {0.3, 40.0}, res.trials  # seed 8 draws 40 first, then 0.3 twice
    for t in res.trials:
        run = Path(t["run_dir"])
        assert run.parent == res.dir / "trials" and (run / "summary.json").is_file() and (run / "epochs.jsonl").is_file()
        steps = json.loads((run / "summary.json").read_text())["steps"]
        assert t["steps"] == steps > 0
        if t["params"]["lr"] == 40.0:  # diverges: the doctor stops it and says why
            assert t["state"] == "PRUNED" and t["pruned_by"] == "doctor" and t["reason"], t
            assert t["problem"] in {"lr_too_high", "exploding_gradients", "non_finite", "dead_units", "saturated_units"}
        else:
            assert t["state"] == "COMPLETE" and 0.8 < t["value"] <= 1  # blobs: easy
            assert len(t["intermediate"]) == 3  # the test metric after each of the 3 epochs
            last = json.loads((run / "epochs.jsonl").read_text().splitlines()[-1])
            assert t["value"] == pytest.approx(last["test_metric"])
    best = spec_mod.load(res.files["best_spec"])  # as gradmedic train takes it
    assert best.train.lr == 0.3 and best.model.activation == res.best["params"]["activation"]
    assert res.best["value"] == max(t["value"] for t in res.trials if t["state"] == "COMPLETE")
    assert (res.dir / "study.journal").is_file()
    written = json.loads((res.dir / "tune.json").read_text())
    assert written["best"]["number"] == res.best["number"] and set(written["importances"]) == {"lr", "activation"}
    # tune() writes the study's results only; the pictures and the report are show.tune.save's
    assert "report" not in res.files and not list(res.dir.glob("*.png")) and not (res.dir / "report.html").exists()
    save(res)
    assert sorted(p.name for p in res.dir.glob("*.png")) == ["history.png", "importances.png", "intermediate.png"]
    assert Path(res.files["report"]).is_file()
    assert json.loads((res.dir / "tune.json").read_text())["files"] == {"best_spec": res.files["best_spec"],
                                                                        "report": res.files["report"]}
    assert list(res.files) == ["best_spec", "report", "json"]


def test_resume_keeps_finished_trials_and_reruns_an_interrupted_one(tmp_path):
    spec = spec_mod.load(_write(tmp_path, TINY))
    space = {"lr": {"low": 0.05, "high": 0.5, "log": True}}
    first = tune(spec, 2, space=space, runs_dir=tmp_path / "runs", sampler="random", seed=0, report=False)
    assert [t["state"] for t in first.trials] == ["COMPLETE", "COMPLETE"]
    # a worker killed -9 mid-trial: its trial stays RUNNING, owned by a process that is gone
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    study = optuna.load_study(study_name="tiny", storage=optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(first.dir / "study.journal"))))
    t = study.ask({"lr": optuna.distributions.FloatDistribution(0.05, 0.5, log=True)})
    t.set_user_attr("worker", f"{socket.gethostname()}:{dead.pid}")
    lost = t.params["lr"]
    res = tune(spec, 3, space=space, runs_dir=tmp_path / "runs", sampler="random", seed=0, report=False)
    rows = {t["number"]: t for t in res.trials}
    assert [rows[n]["value"] for n in (0, 1)] == [first.trials[0]["value"], first.trials[1]["value"]]  # kept as they were
    assert rows[2]["state"] == "FAIL" and rows[2]["interrupted"]
    assert rows[3]["retry_of"] == 2 and rows[3]["params"]["lr"] == lost and rows[3]["state"] == "COMPLETE"
    assert len(res.trials) == 4 and sum(not r["interrupted"] for r in res.trials) == 3
    with pytest.raises(SpecError, match="exists with another search space"):  # one study, one space
        tune(spec, 4, space={"lr": {"low": 0.01, "high": 0.5}}, runs_dir=tmp_path / "runs", report=False)


def test_ctrl_c_exits_130_and_keeps_finished_trials(tmp_path, tiny):
    runs = tmp_path / "runs"
    slow = tmp_path / "slow.toml"
    slow.write_text(TINY.replace("epochs = 3", "epochs = 10"))
    p = subprocess.Popen([sys.executable, "-m", "gradmedic.cli", "tune", str(slow), "--trials", "50", "--runs-dir", str(runs),
                          "--pruner", "none", "--space", str(_write(tmp_path, 'lr = { low = 0.05, high = 0.5 }\n', "s.toml"))],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    journal = runs / "tune-tiny" / "study.journal"

    def states() -> list:
        if not journal.is_file():
            return []
        try:
            return [t.state for t in optuna.load_study(study_name="tiny", storage=optuna.storages.JournalStorage(
                optuna.storages.journal.JournalFileBackend(str(journal)))).trials]
        except KeyError:  # the study is not created yet
            return []

    deadline = time.time() + 60
    while time.time() < deadline and optuna.trial.TrialState.COMPLETE not in states():
        time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, err[-2000:]
    states = states()
    assert optuna.trial.TrialState.COMPLETE in states and optuna.trial.TrialState.RUNNING not in states
    assert "interrupted" in out + err


def _write(d: Path, text: str, name: str = "tiny.toml") -> Path:
    p = d / name
    p.write_text(text)
    return p


# -- PostgreSQL: two workers, one study -----------------------------------------------------------------

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _pg_bin() -> Path | None:
    for d in (PG_BIN, *(Path(p).parent for p in filter(None, [shutil.which("initdb")]))):
        if (d / "initdb").is_file() and (d / "pg_ctl").is_file():
            return d
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres():
    """A real PostgreSQL server in a temporary directory, on its own port and socket directory; stopped after."""
    pytest.importorskip("psycopg2", reason="psycopg2 is not installed (pip install 'gradmedic[tune]')")
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/15/bin or on PATH")
    user: int | None = None
    if os.geteuid() == 0:  # initdb refuses to run as root: run the server as 'nobody'
        import pwd

        try:
            user = pwd.getpwnam("nobody").pw_uid
        except KeyError:
            pytest.skip("running as root and there is no 'nobody' user to run PostgreSQL as")
    d = Path(tempfile.mkdtemp(prefix="gradmedic-pg-"))
    data, sock = d / "data", d / "sock"
    sock.mkdir()
    if user is not None:
        for p in (d, sock):
            os.chown(p, user, -1)
    port = _free_port()
    run = dict(user=user, capture_output=True, text=True, timeout=60)
    r = subprocess.run([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "tune", "--no-sync"], **run)
    if r.returncode:
        shutil.rmtree(d, ignore_errors=True)
        pytest.skip(f"initdb failed: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}")
    opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off"
    r = subprocess.run([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(d / "log"), "-w", "start"], **run)
    if r.returncode:
        shutil.rmtree(d, ignore_errors=True)
        pytest.skip(f"PostgreSQL did not start: {r.stderr.strip() or r.stdout.strip()}")
    try:
        yield f"postgresql://tune@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], **run)
        shutil.rmtree(d, ignore_errors=True)


def test_two_workers_on_one_postgresql_study(tmp_path, tiny, postgres):
    runs = tmp_path / "runs"
    space = _write(tmp_path, 'lr = { low = 0.05, high = 0.5, log = true }\n', "s.toml")
    cmd = [sys.executable, "-m", "gradmedic.cli", "tune", str(tiny), "--trials", "4", "--storage", postgres,
           "--study", "shared", "--space", str(space), "--runs-dir", str(runs), "--json"]
    optuna.storages.RDBStorage(_driver(postgres))  # the schema, made once before the workers race for it
    workers = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [w.communicate(timeout=180) for w in workers]
    for w, (_out, err) in zip(workers, outs, strict=True):
        assert w.returncode == 0, err[-3000:]
    study = optuna.load_study(study_name="shared", storage=_driver(postgres))
    trials = study.trials
    numbers = sorted(t.number for t in trials)
    assert numbers == list(range(len(trials)))  # each recorded once, none missing
    assert 4 <= len(trials) <= 5  # two workers may each start one as the budget fills
    assert all(t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED) for t in trials)
    dirs = [t.user_attrs["run_dir"] for t in trials]
    assert len(set(dirs)) == len(dirs) and all(Path(p, "summary.json").is_file() for p in dirs)
    trial_dirs = (runs / "tune-shared" / "trials").iterdir()
    assert sorted(p.name.split("-trial-")[1] for p in trial_dirs) == [f"{n:04d}" for n in numbers]
    pids = {t.user_attrs["worker"] for t in trials}
    assert len(pids) == 2  # both workers trained trials
    final = [json.loads(o) for o, _ in outs]
    assert all(f["storage"] == postgres for f in final)
    assert all(Path(f["files"]["report"]).is_file() and list(f["files"]) == ["best_spec", "report", "json"] for f in final)
    assert all(math.isfinite(t.value) for t in trials if t.state == optuna.trial.TrialState.COMPLETE)
