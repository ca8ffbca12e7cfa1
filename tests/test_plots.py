"""Pictures of a recorded run: every PNG is written, valid and not blank, also for broken runs
(exact-zero gradients, NaN, a killed run), without leaking matplotlib or torch global state."""

import pytest
import torch
from matplotlib.image import imread

import gradmedic.train as train_mod
from gradmedic import plots
from gradmedic import spec as S
from gradmedic.cli import main
from gradmedic.plots import NAMES, load_models, render_all
from gradmedic.records import Run
from gradmedic.train import train

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    # These nets are tiny: one intra-op thread is ~20x faster than a pool on a busy machine.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _check(paths, out):
    assert [p.name for p in paths] == list(NAMES)
    for p in paths:
        assert p.parent == out and p.read_bytes()[:8] == PNG
        assert p.stat().st_size > 10_000, p
        img = imread(p)
        assert img.ndim == 3 and img.shape[0] > 300 and img.shape[1] > 800, (p, img.shape)
        assert img[..., :3].std() > 0.05, p  # not a blank canvas


def _train(tmp_path, raw):
    return train(S.validate(raw), runs_dir=tmp_path / "runs", progress="none")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tiny")
    return train(S.validate({"model": {"hidden": [8, 8], "activation": "tanh"}, "train": {"epochs": 2, "stats_every": 2}}),
                 runs_dir=tmp, progress="none")


def test_tiny_run_and_no_global_state_leaks(tiny, tmp_path):
    import matplotlib
    import matplotlib.pyplot as plt

    rc = dict(matplotlib.rcParams)
    rng = torch.get_rng_state()
    out = tmp_path / "png"
    _check(render_all(tiny.run_dir, out), out)
    assert plt.get_fignums() == []  # no pyplot figure left open
    assert dict(matplotlib.rcParams) == rc  # the style is scoped to the call
    assert torch.equal(torch.get_rng_state(), rng)  # rebuilding the initial weights reseeds a forked stream


def test_all_zero_gradients(tmp_path):
    # all-zero weights under ReLU: every hidden layer's gradient is exactly 0 at every step
    r = _train(tmp_path, {"model": {"hidden": [5, 5, 5], "activation": "relu", "init": "zeros"},
                          "train": {"optimizer": "momentum", "lr": 0.01, "epochs": 2, "stats_every": 1}})
    g = Run(r.run_dir).history.layer("grad_norm")
    assert (g[:, :3] == 0).all() and (g[:, 3] > 0).all()  # fc1..fc3 exactly 0, out's bias still learns
    out = tmp_path / "png"
    _check(render_all(r.run_dir, out), out)


def test_non_finite_run(tmp_path):
    # seed 004's exploding regression (unscaled target): NaN/inf before the first epoch ends
    r = _train(tmp_path, {"data": {"dataset": "regression"},
                          "model": {"hidden": [25], "activation": "relu", "init": "he_uniform"},
                          "train": {"optimizer": "momentum", "lr": 0.01, "epochs": 100, "stats_every": 1}})
    run = Run(r.run_dir)
    assert run.summary["status"] == "non_finite" and run.summary["non_finite"]["step"] and not run.epochs
    out = tmp_path / "png"
    _check(render_all(r.run_dir, out), out)


def test_killed_run_without_model_and_summary(tmp_path):
    r = _train(tmp_path, {"model": {"hidden": [6, 6]}, "train": {"epochs": 2, "stats_every": 3}})
    (r.run_dir / "model.pt").unlink()
    (r.run_dir / "summary.json").unlink()
    with open(r.run_dir / "steps.jsonl", "a") as f:
        f.write('{"step": 999, "loss": 0.5, "lay')  # a partial last line, as a kill mid-write leaves
    run = Run(r.run_dir)
    assert load_models(run)[1] is None
    # the two pictures that depend on model.pt and summary.json (render_all draws these same functions)
    for f, name in ((plots.activations_png, "activations.png"), (plots.loss_png, "loss.png")):
        p = f(run, tmp_path / name)
        assert p.read_bytes()[:8] == PNG and imread(p)[..., :3].std() > 0.05


def test_rebuilt_models_match_the_run(tmp_path, monkeypatch):
    built = []
    real = train_mod.build_mod.build

    def spy(spec, data):
        m = real(spec, data)
        built.append({k: v.clone() for k, v in m.state_dict().items()})
        return m

    monkeypatch.setattr(train_mod.build_mod, "build", spy)
    r = _train(tmp_path, {"model": {"hidden": [7, 7], "activation": "sigmoid", "init": "normal", "init_std": 1.0},
                          "train": {"epochs": 1, "seed": 3}})
    monkeypatch.undo()
    state = torch.get_rng_state()
    init, trained, _ = load_models(r.run_dir)
    assert torch.equal(torch.get_rng_state(), state)  # the caller's random stream is left alone
    for k, v in built[0].items():  # the initial weights, exactly as the trainer drew them
        assert torch.equal(init.state_dict()[k], v), k
    for k, v in r.model.state_dict().items():
        assert torch.equal(trained.state_dict()[k], v.cpu()), k
    assert not torch.equal(init.state_dict()["fc1.weight"], trained.state_dict()["fc1.weight"])


def test_show_command_writes_into_the_run(tiny, tmp_path, capsys):
    assert main(["show", str(tiny.run_dir)]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and all((tiny.run_dir / n).is_file() for n in NAMES)
    assert main(["show", str(tmp_path / "nope")]) == 2
