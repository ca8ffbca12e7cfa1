"""Pictures of a recorded run: every PNG is written, valid, and not blank, also for broken runs."""

import numpy as np
import pytest
from matplotlib.image import imread

from gradmedic import spec as S
from gradmedic.cli import main
from gradmedic.plots import render_all
from gradmedic.train import train

NAMES = ["loss.png", "grad_norms.png", "activations.png", "activation_stats.png"]


def _check(paths, out):
    assert [p.name for p in paths] == NAMES
    for p in paths:
        assert p.parent == out and p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert p.stat().st_size > 10_000
        img = imread(p)
        assert img.std() > 0.05, p  # not a blank canvas


@pytest.mark.parametrize("raw", [
    {"model": {"hidden": [8, 8], "activation": "tanh"}, "train": {"epochs": 3, "stats_every": 2}},
    # a dead network: every hidden gradient exactly zero (seed 0 of seed 004's ReLU net)
    {"data": {"normalize": "minmax"}, "model": {"hidden": [5] * 5, "activation": "relu", "init": "he_uniform"},
     "train": {"optimizer": "momentum", "lr": 0.01, "epochs": 3, "seed": 0, "stats_every": 2}},
    # seed 004's exploding regression: stops at NaN before the first epoch ends
    {"data": {"dataset": "regression"}, "model": {"hidden": [25], "activation": "relu", "init": "he_uniform"},
     "train": {"optimizer": "momentum", "lr": 0.01, "epochs": 100, "stats_every": 1}},
])
def test_render_all(tmp_path, raw):
    r = train(S.validate(raw), runs_dir=tmp_path / "runs", progress="none")
    out = tmp_path / "png"
    _check(render_all(r.run_dir, out), out)


def test_show_command_writes_into_the_run(tmp_path, capsys):
    r = train(S.validate({"model": {"hidden": [4]}, "train": {"epochs": 2}}), runs_dir=tmp_path, progress="none")
    assert main(["show", str(r.run_dir)]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and all((r.run_dir / n).is_file() for n in NAMES)
    assert main(["show", str(tmp_path / "nope")]) == 2
