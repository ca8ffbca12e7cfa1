"""Run records on disk: one directory per run.

``spec.json``      the resolved spec (every default filled in)
``steps.jsonl``    a header line, then one line per step: ``{"step", "loss"}`` plus, on sampled
                   steps, ``"layers": {name: {stat: value}}``, ``"activations": {...}`` and
                   ``"inputs": {"mean": [...], "std": [...]}`` and ``"act_hist": {name: [counts]}`` (the
                   header's ``"activation_hist"`` gives bins and each layer's range).  Streamed and flushed every few
                   seconds, so a killed run keeps what it recorded.  NaN marks "not applicable".
``epochs.jsonl``   one line per epoch: train/test loss and metric, learning rate, steps so far
``summary.json``   final metrics, status (ok, non_finite, interrupted, stopped: ended early by a stop_when or
                   on_epoch callback) and where it stopped
``model.pt``       the model's state_dict (``torch.load(path, weights_only=True)``)
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gradmedic.errors import SpecError
from gradmedic.measure.history import ACT_HIST_BINS, ACT_STATS, LAYER_STATS, OUT_STATS, Chunk, History


def new_run_dir(root: str | Path, name: str) -> Path:
    """``root/<YYYYmmdd-HHMMSS>-<name>``; a suffix -2, -3, ... when another run took the name."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    base = f"{time.strftime('%Y%m%d-%H%M%S')}-{name}"
    for i in range(1, 10_000):
        d = root / (base if i == 1 else f"{base}-{i}")
        try:
            d.mkdir()  # atomic: two runs started in the same second never share a directory
            return d
        except FileExistsError:
            continue
    raise RuntimeError(f"cannot create a run directory under {root}")


def _clean(v: float) -> float | None:
    return None if math.isnan(v) else v


class RunWriter:
    """Streams one run's records into its directory."""

    def __init__(self, run_dir: Path, spec_json: str, layer_names: list[str], act_names: list[str], act_kinds: list[str],
                 layer_types: list[str] | None = None, reference_loss: float | None = None,
                 hist_ranges: list[tuple[float, float]] | None = None, act_types: list[str] | None = None):
        self.dir = Path(run_dir)
        (self.dir / "spec.json").write_text(spec_json)
        self._steps = open(self.dir / "steps.jsonl", "w", buffering=1 << 16)
        self._epochs = open(self.dir / "epochs.jsonl", "w", buffering=1 << 14)
        self.layer_names, self.act_names = layer_names, act_names
        header = {"type": "header", "layers": layer_names, "layer_types": layer_types or [], "activations": act_names,
                  "activation_kinds": act_kinds, "activation_types": act_types or [], "reference_loss": reference_loss,
                  "layer_stats": list(LAYER_STATS), "activation_stats": list(ACT_STATS)}
        if hist_ranges is not None:
            header["activation_hist"] = {"bins": ACT_HIST_BINS, "ranges": [list(r) for r in hist_ranges]}
        self._steps.write(json.dumps(header) + "\n")

    def write_chunk(self, c: Chunk) -> None:
        stats = {int(s): i for i, s in enumerate(c.stat_steps)}
        lines = []
        lrs = c.lr.tolist() if c.lr is not None else [math.nan] * len(c.loss)
        for step, loss, lr in zip(c.loss_steps.tolist(), c.loss.tolist(), lrs, strict=False):
            row: dict[str, Any] = {"step": step, "loss": loss}
            if math.isfinite(lr):
                row["lr"] = lr
            i = stats.pop(step, None)
            if i is not None:
                row.update(self._stats_row(c, i))
            lines.append(json.dumps(row))
        for step, i in stats.items():  # sampled steps without a loss
            lines.append(json.dumps({"step": step, "loss": None, **self._stats_row(c, i)}))
        self._steps.write("\n".join(lines) + "\n")
        self._steps.flush()

    def _stats_row(self, c: Chunk, i: int) -> dict[str, Any]:
        row: dict[str, Any] = {
            "layers": {n: dict(zip(LAYER_STATS, c.layers[i, j].tolist(), strict=False)) for j, n in enumerate(self.layer_names)},
            "activations": {n: dict(zip(ACT_STATS, c.acts[i, j].tolist(), strict=False)) for j, n in enumerate(self.act_names)},
        }
        if c.out is not None and np.isfinite(c.out[i]).all():
            row["output"] = dict(zip(OUT_STATS, c.out[i].tolist(), strict=False))
        if c.inputs.shape[2]:
            row["inputs"] = {"mean": c.inputs[i, 0].tolist(), "std": c.inputs[i, 1].tolist()}
        if c.hists is not None and c.hists.shape[1]:
            # counts are whole numbers: written as ints (a third of the bytes of floats); a layer whose
            # hook did not fire on this step is left out
            row["act_hist"] = {n: c.hists[i, j].astype(np.int64).tolist()
                               for j, n in enumerate(self.act_names) if np.isfinite(c.hists[i, j]).all()}
        return row

    def write_epoch(self, row: dict[str, Any]) -> None:
        self._epochs.write(json.dumps(row) + "\n")
        self._epochs.flush()

    def finish(self, summary: dict[str, Any], model: torch.nn.Module, diagnosis: dict[str, Any] | None = None) -> None:
        torch.save(model.state_dict(), self.dir / "model.pt")
        if diagnosis is not None:
            (self.dir / "diagnosis.json").write_text(json.dumps(diagnosis, indent=2))
        (self.dir / "summary.json").write_text(json.dumps(summary, indent=2))
        self.close()

    def close(self) -> None:
        for f in (self._steps, self._epochs):
            if not f.closed:
                f.flush()
                os.fsync(f.fileno())
                f.close()


class Run:
    """A run directory read back: spec, per-step history, epoch rows, summary."""

    def __init__(self, run_dir: str | Path):
        d = Path(run_dir)
        if not (d / "steps.jsonl").is_file() or not (d / "spec.json").is_file():
            raise SpecError("RUN_DIR", f"{d} is not a gradmedic run directory (no spec.json/steps.jsonl)")
        self.dir = d
        self.spec = json.loads((d / "spec.json").read_text())
        self.summary = json.loads((d / "summary.json").read_text()) if (d / "summary.json").is_file() else None
        self.epochs = []
        for line in _lines(d / "epochs.jsonl"):
            try:
                self.epochs.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a run killed mid-write leaves a partial last line
        self.history, self.header = self._read_steps(d / "steps.jsonl")

    @staticmethod
    def _read_steps(path: Path) -> tuple[History, dict[str, Any]]:
        lines = _lines(path)
        if not lines:
            raise SpecError("RUN_DIR", f"{path} is empty")
        header = json.loads(lines[0])
        layers, acts = header["layers"], header["activations"]
        hist = header.get("activation_hist")  # absent in runs recorded before histograms were
        ranges = [tuple(r) for r in hist["ranges"]] if hist else None
        h = History(layers, acts, header.get("activation_kinds", ["other"] * len(acts)), max_rows=10**9, max_loss=10**9,
                    hist_ranges=ranges)
        bins = int(hist["bins"]) if hist else 0
        no_hist = [math.nan] * bins
        loss_steps, loss, stat_steps, lrows, arows, irows, hrows, lrs, orows = [], [], [], [], [], [], [], [], []
        for line in lines[1:]:
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                break  # a run killed mid-write leaves a partial last line
            if r.get("loss") is not None:
                loss_steps.append(r["step"])
                loss.append(r["loss"])
                lrs.append(_num(r.get("lr")))
            if "layers" in r:
                stat_steps.append(r["step"])
                lrows.append([[_num(r["layers"][n][s]) for s in LAYER_STATS] for n in layers])
                arows.append([[_num(r["activations"][n].get(s)) for s in ACT_STATS] for n in acts])
                irows.append([r["inputs"]["mean"], r["inputs"]["std"]] if "inputs" in r else None)
                orows.append([_num((r.get("output") or {}).get(s)) for s in OUT_STATS])
                if hist:
                    hr = r.get("act_hist") or {}
                    hrows.append([hr.get(n, no_hist) for n in acts])
        f = max((len(x[0]) for x in irows if x), default=0)
        inputs = np.array([x if x and len(x[0]) == f else np.full((2, f), np.nan) for x in irows], dtype=float)
        inputs = inputs.reshape(len(irows), 2, f)
        h.append(Chunk(np.array(loss_steps, dtype=np.int64), np.array(loss, dtype=float), np.array(stat_steps, dtype=np.int64),
                       np.array(lrows, dtype=float).reshape(len(lrows), len(layers), len(LAYER_STATS)),
                       np.array(arows, dtype=float).reshape(len(arows), len(acts), len(ACT_STATS)), inputs,
                       np.array(hrows, dtype=np.float32).reshape(len(hrows), len(acts), bins) if hist else None,
                       np.array(lrs, dtype=float), np.array(orows, dtype=float).reshape(len(orows), len(OUT_STATS))))
        return h, header

    def diagnose(self, thresholds: Any = None):
        """The doctor's findings for this recorded run (the same detectors the live monitor uses)."""
        from gradmedic.doctor.diagnose import Context, Thresholds, diagnose

        th = thresholds if isinstance(thresholds, Thresholds) else Thresholds(**(thresholds or {}))
        return diagnose(self.history, Context.from_run(self), th)


def _num(v: Any) -> float:
    return math.nan if v is None else float(v)


def _lines(path: Path) -> list[str]:
    if not path.is_file():
        return []
    return [line for line in path.read_text().splitlines() if line.strip()]
