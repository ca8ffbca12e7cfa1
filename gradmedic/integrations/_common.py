"""What the trainer callbacks share: a chunk as flat ``{tag: value}`` rows, the stop decision, and the end-of-run
diagnosis."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

from gradmedic.measure.history import ACT_STATS, LAYER_STATS, Chunk


def chunk_rows(c: Chunk, layer_names: list[str], act_names: list[str],
               prefix: str = "gradmedic/") -> Iterator[tuple[int, dict[str, float]]]:
    """(step, metrics) per sampled step of ``c``: ``{prefix}{stat}/{layer}`` for ``LAYER_STATS`` and
    ``{prefix}act_{stat}/{act}`` for ``ACT_STATS``; NaN ("not measured", "does not apply") left out."""
    for i, step in enumerate(c.stat_steps.tolist()):
        row: dict[str, float] = {}
        for j, name in enumerate(layer_names):
            for k, stat in enumerate(LAYER_STATS):
                v = float(c.layers[i, j, k])
                if not math.isnan(v):
                    row[f"{prefix}{stat}/{name}"] = v
        for j, name in enumerate(act_names):
            for k, stat in enumerate(ACT_STATS):
                v = float(c.acts[i, j, k])
                if not math.isnan(v):
                    row[f"{prefix}act_{stat}/{name}"] = v
        if c.pre_clip is not None and not math.isnan(float(c.pre_clip[i])):
            row[f"{prefix}pre_clip_norm"] = float(c.pre_clip[i])
        yield int(step), row


def stop_codes(stop_on: str | Iterable[str] | None) -> tuple[set[str], set[str]]:
    """``stop_on`` as (severities, problem codes): "critical", "serious" (critical and serious),
    or problem codes such as "non_finite"; None: never stop."""
    if stop_on is None:
        return set(), set()
    items = {stop_on} if isinstance(stop_on, str) else set(stop_on)
    sev = set()
    if "critical" in items:
        sev.add("critical")
    if "serious" in items:
        sev |= {"critical", "serious"}
    return sev, items - {"critical", "serious"}


def stopping_finding(diagnosis, severities: set[str], codes: set[str]):
    """The first finding that should stop training, or None."""
    hits = [f for f in diagnosis.findings if f.severity in severities or f.problem in codes]
    return min(hits, key=lambda f: f.detected_at) if hits else None


def reason(f) -> str:
    return f"gradmedic stopped training: {f.problem} ({f.severity}) at step {f.detected_at}: {f.message}"


class EndDiagnosis:
    """``diagnosis``: the run's diagnosis once training has ended (None before), computed on first reading and kept.  A
    callback built with ``print_diagnosis=False`` whose ``diagnosis`` nobody reads never runs the doctor at the end."""

    monitor = None
    _ended = False
    _diagnosis = None

    @property
    def diagnosis(self):
        if self._diagnosis is None and self._ended and self.monitor is not None:
            self._diagnosis = self.monitor.diagnose()
        return self._diagnosis
