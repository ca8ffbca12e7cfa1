"""gradmedic: watch any PyTorch training loop, diagnose why it does not train, apply the seeds' remedies.

    import gradmedic
    monitor = gradmedic.watch(model, optimizer)
    ...  # loss.backward(); monitor.step(loss); optimizer.step()
    print(monitor.diagnose())

``import gradmedic`` loads nothing but this file: each public name imports its module on first use, so
``gradmedic.watch`` costs torch, numpy and pydantic only, and ``pip install gradmedic`` (without the
``[all]`` extra: plots, CLI, datasets, TensorBoard) is enough for it.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

# public name -> the module that defines it
_WHERE = {
    "PROBLEMS": "doctor.diagnose", "Diagnosis": "doctor.diagnose", "Finding": "doctor.diagnose", "Thresholds": "doctor.diagnose",
    "SpecError": "errors", "WatchError": "errors",
    "Monitor": "measure.monitor", "watch": "measure.monitor",
    "Remedy": "doctor.remedies",
    "RepairResult": "repair", "repair": "repair",
    "TuneResult": "tune", "tune": "tune",
}

__all__ = sorted(_WHERE)
__version__ = "0.1.0"

if TYPE_CHECKING:  # for type checkers and IDEs; never executed
    from gradmedic.doctor.diagnose import PROBLEMS, Diagnosis, Finding, Thresholds  # noqa: F401
    from gradmedic.doctor.remedies import Remedy  # noqa: F401
    from gradmedic.errors import SpecError, WatchError  # noqa: F401
    from gradmedic.measure.monitor import Monitor, watch  # noqa: F401
    from gradmedic.repair import RepairResult, repair  # noqa: F401
    from gradmedic.tune import TuneResult, tune  # noqa: F401


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'gradmedic' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


class _Package(types.ModuleType):
    """``gradmedic.repair`` and ``gradmedic.tune`` are the functions, not the modules of the same name.

    Importing the submodule ``gradmedic.repair`` makes Python bind it on the package; that binding is
    dropped here so the public name stays the function (``from gradmedic.repair import X`` still works:
    it reads ``sys.modules``)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("repair", "tune") and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
