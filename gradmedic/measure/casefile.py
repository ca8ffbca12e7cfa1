"""A case file: one watched training, saved to one ``.npz`` so the doctor can judge it again later.

    monitor.save("run.npz", note="lr x100")            # everything recorded + what the doctor knows
    case = gradmedic.measure.casefile.load("run.npz")
    print(case.diagnose(thresholds={"dead_share": 0.6}))

Benchmarks record their runs once and re-judge them as the doctor changes (``bench/stranger``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradmedic.measure.history import History


@dataclass
class Case:
    history: History
    context: Any  # diagnose.Context
    meta: dict[str, Any]

    def diagnose(self, thresholds: Any = None):
        from gradmedic.doctor.diagnose import Thresholds, diagnose

        th = thresholds if isinstance(thresholds, Thresholds) or thresholds is None else Thresholds(**thresholds)
        return diagnose(self.history, self.context, th)


def save(monitor: Any, path: str | Path, **meta: Any) -> None:
    """Flush ``monitor`` and write its history, its doctor's context and ``meta`` (JSON-able) to ``path``."""
    from gradmedic.doctor.diagnose import Context

    if not monitor._closed:
        monitor.flush()
    monitor.history.save(path, context=Context.from_monitor(monitor).to_dict(), **meta)


def load(path: str | Path) -> Case:
    from gradmedic.doctor.diagnose import Context

    h, meta = History.load(path)
    ctx = Context.from_dict(meta.pop("context"))
    return Case(h, ctx, meta)
