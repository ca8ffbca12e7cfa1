"""``pip install gradmedic`` without the ``[all]`` extra: watch, step and diagnose work on torch, numpy
and pydantic alone, and ``import gradmedic`` loads none of the extras.

The extras are installed in the test environment, so a child process hides them with an import
blocker: the ``sys.meta_path`` path finder, replaced by one that does not find them."""

import json
import subprocess
import sys
import textwrap

import gradmedic

EXTRAS = ("matplotlib", "sklearn", "typer", "rich", "tensorboard", "optuna", "lightning", "transformers")

HIDE = textwrap.dedent(
    """
    import importlib.machinery, json, math, sys

    BLOCKED = set(sys.argv[1].split(","))

    # The path finder, blind to the blocked packages: they are not found, as when not installed
    # (import x raises ModuleNotFoundError and importlib.util.find_spec("x") is None, which torch's own
    # optional-import probes rely on: a finder that raised ImportError would break those probes).
    class Hidden(importlib.machinery.PathFinder):
        @classmethod
        def find_spec(cls, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                return None
            return super().find_spec(name, path, target)

    sys.meta_path[:] = [Hidden if f is importlib.machinery.PathFinder else f for f in sys.meta_path]
    assert Hidden in sys.meta_path
    for name in BLOCKED:
        try:
            __import__(name)
        except ModuleNotFoundError:
            pass
        else:
            raise AssertionError(f"{name} was not hidden")
    """
)

CHILD = HIDE + textwrap.dedent(
    """
    import gradmedic
    after_import = sorted(m for m in sys.modules if m.startswith("gradmedic"))

    import torch
    from torch import nn

    # seed 004's failing net in a user's own loop: 5 sigmoid layers of 5 units, N(0, 1) weights,
    # SGD 0.01 with momentum 0.9 on noisy circles (made here: the built-in datasets need scikit-learn)
    g = torch.Generator().manual_seed(0)
    r = torch.where(torch.rand(512, generator=g) < 0.5, 0.5, 1.0)
    a = torch.rand(512, generator=g) * 2 * math.pi
    x = torch.stack([r * a.cos(), r * a.sin()], 1) + 0.1 * torch.randn(512, 2, generator=g)
    y = (r == 0.5).float()[:, None]
    torch.manual_seed(0)
    layers, width = [], 2
    for _ in range(5):
        layers += [nn.Linear(width, 5), nn.Sigmoid()]
        width = 5
    model = nn.Sequential(*layers, nn.Linear(5, 1))
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 1.0)
            nn.init.zeros_(m.bias)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    with gradmedic.watch(model, opt) as monitor:
        for epoch in range(12):
            for i in range(0, 512, 32):
                opt.zero_grad()
                loss = nn.functional.binary_cross_entropy_with_logits(model(x[i:i + 32]), y[i:i + 32])
                loss.backward()
                monitor.step(loss)
                opt.step()
        diagnosis = monitor.diagnose()
    text = str(diagnosis)
    print(json.dumps({
        "after_import": after_import,
        "problems": sorted(diagnosis.problems),
        "layers": diagnosis.findings[0].layers if diagnosis.findings else [],
        "steps": diagnosis.steps,
        "text": text,
        "loaded": sorted({m.split(".")[0] for m in sys.modules} & BLOCKED),
        "gradmedic_modules": sorted(m for m in sys.modules if m.startswith("gradmedic")),
    }))
    """
)


def test_watch_and_diagnose_run_without_the_extras():
    p = subprocess.run([sys.executable, "-c", CHILD, ",".join(EXTRAS)], capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stderr[-3000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["after_import"] == ["gradmedic"]  # import gradmedic alone loads no submodule
    assert out["loaded"] == []
    assert out["steps"] == 12 * 16
    assert out["problems"] == ["vanishing_gradients"]
    assert out["layers"][0] == "0"  # the first Linear of the Sequential is the starved one
    assert out["text"].startswith("gradmedic: 1 problem(s) in 192 steps\n- vanishing_gradients (serious) in layer 0")
    assert "nn.ReLU()" in out["text"]  # an own loop gets code to paste, not spec flags
    # nothing past watch/diagnose is loaded on the way (wherever the layout puts these modules)
    heavy = {"records", "repair", "tune", "train", "plots", "cli", "compare", "report", "data", "tensorboard"}
    assert [m for m in out["gradmedic_modules"] if m.rsplit(".", 1)[-1] in heavy] == []
    assert any(m.endswith(".monitor") for m in out["gradmedic_modules"])


def test_public_names_resolve_lazily_to_the_same_objects():
    from gradmedic.doctor.diagnose import PROBLEMS, Diagnosis
    from gradmedic.measure.monitor import watch

    assert gradmedic.watch is watch and gradmedic.Diagnosis is Diagnosis and gradmedic.PROBLEMS is PROBLEMS
    assert set(gradmedic.__all__) <= set(dir(gradmedic))
    try:
        gradmedic.not_a_name  # noqa: B018
    except AttributeError as e:
        assert "not_a_name" in str(e)
    else:
        raise AssertionError("gradmedic.not_a_name resolved")


def test_repair_and_tune_stay_the_functions_after_their_modules_load():
    """``gradmedic.repair`` is the function even once ``gradmedic.repair`` the module is imported
    (Python binds a submodule on its package when it first loads)."""
    import gradmedic.repair as repair_name
    import gradmedic.tune  # noqa: F401
    from gradmedic.repair import RepairResult

    assert callable(gradmedic.repair) and gradmedic.repair.__module__ == "gradmedic.repair"
    assert callable(gradmedic.tune) and gradmedic.tune.__module__ == "gradmedic.tune"
    assert repair_name is gradmedic.repair and gradmedic.RepairResult is RepairResult
    assert sys.modules["gradmedic.repair"].repair is gradmedic.repair


def test_the_command_without_the_extras_says_what_to_install():
    """The ``gradmedic`` command (gradmedic.launch:main) without typer, rich and the rest: one line, exit code 2."""
    code = HIDE + "from gradmedic.launch import main\nsys.exit(main(['--help']))\n"
    p = subprocess.run([sys.executable, "-c", code, ",".join(EXTRAS)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stderr[-2000:]
    assert len(p.stderr.strip().splitlines()) == 1 and "pip install 'gradmedic[all]'" in p.stderr
    ok = subprocess.run([sys.executable, "-m", "gradmedic.launch", "--help"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "Usage" in ok.stdout  # with the extras, the same entry point is the CLI
