"""The recorded statistics as TensorBoard events, for people who already look at runs there.

Tags (the step is the optimizer step, as in ``steps.jsonl``):

- ``loss``: the loss of every step;
- ``grad_norm/<layer>``, ``weight_norm/<layer>``, ``update_ratio/<layer>``:
  the per-layer statistics of each sampled step (``gradmedic.measure.monitor.LAYER_STATS``);
- ``act_mean/<act>``, ``act_std/<act>``, ``act_zero_frac/<act>``, ``act_sat_frac/<act>``,
  ``act_dead_frac/<act>``: activation statistics (``ACT_STATS``; a statistic that does not apply to
  a layer, such as the saturated share of a ReLU, is left out rather than written as NaN);
- ``act_hist/<act>``: the recorded activation histograms (TensorBoard's Histograms and
  Distributions tabs), when the run has them;
- ``epoch/train_loss``, ``epoch/test_loss``, ``epoch/train_<metric>``, ``epoch/test_<metric>``,
  ``epoch/lr``: one point per epoch, at the step the epoch ended.

``train(spec, tensorboard=DIR)`` writes into ``DIR/<run directory name>`` while training (one
TensorBoard run per training run, so ``tensorboard --logdir DIR`` compares them);
``export(run_dir, DIR)`` writes a recorded run the same way.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from gradmedic.measure.history import ACT_STATS, LAYER_STATS, Chunk


class TensorBoardWriter:
    """Writes monitor chunks and epoch rows as TensorBoard events into ``log_dir``."""

    def __init__(self, log_dir: str | Path | None, layer_names: list[str], act_names: list[str], *,
                 hist_ranges: list[tuple[float, float]] | None = None, metric: str = "metric",
                 writer: Any = None, prefix: str = ""):
        """``writer``: an open ``SummaryWriter`` to write into instead (the user's own: ``watch(log_to=)``;
        not closed by :meth:`close`); ``prefix`` goes before every tag (``"gradmedic/"`` there)."""
        self.layer_names, self.act_names = list(layer_names), list(act_names)
        self.hist_ranges = hist_ranges
        self.metric = metric
        self.prefix = prefix
        self._own = writer is None
        if writer is not None:
            self._w, self.log_dir = writer, Path(writer.log_dir)
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as e:  # pragma: no cover - tensorboard is a dependency; a broken install says so
            raise ImportError("--tensorboard needs the tensorboard package: pip install tensorboard") from e
        self.log_dir = Path(log_dir)
        # flush_secs: events reach the disk at least as often as steps.jsonl does (train.FLUSH_SECONDS)
        self._w = SummaryWriter(log_dir=str(self.log_dir), flush_secs=2)

    def write_chunk(self, c: Chunk) -> None:
        w, p = self._w, self.prefix
        add = (lambda tag, v, step: w.add_scalar(p + tag, v, step)) if p else w.add_scalar  # noqa: E731
        for step, loss in zip(c.loss_steps.tolist(), c.loss.tolist(), strict=False):
            add("loss", loss, step)  # NaN/inf included: where the loss diverged is worth seeing
        for i, step in enumerate(c.stat_steps.tolist()):
            for j, name in enumerate(self.layer_names):
                for k, stat in enumerate(LAYER_STATS):
                    v = float(c.layers[i, j, k])
                    if not (math.isnan(v) and stat == "update_ratio"):  # NaN update: no previous weights yet
                        add(f"{stat}/{name}", v, step)
            for j, name in enumerate(self.act_names):
                for k, stat in enumerate(ACT_STATS):
                    v = float(c.acts[i, j, k])
                    if not math.isnan(v):  # NaN marks "does not apply to this layer"
                        add(f"act_{stat}/{name}", v, step)
                if c.hists is not None and self.hist_ranges is not None and np.isfinite(c.hists[i, j]).all():
                    self._histogram(name, c.hists[i, j], self.hist_ranges[j], step)

    def _histogram(self, name: str, counts: np.ndarray, rng: tuple[float, float], step: int) -> None:
        """One recorded histogram as TensorBoard's raw histogram: bucket i holds (limit[i-1], limit[i]]."""
        n = float(counts.sum())
        if n <= 0:
            return
        edges = np.linspace(rng[0], rng[1], len(counts) + 1)
        mid = (edges[:-1] + edges[1:]) / 2  # sum and sum of squares from the bin centres: the data are binned
        used = np.flatnonzero(counts)
        self._w.add_histogram_raw(f"{self.prefix}act_hist/{name}", min=float(edges[used[0]]),
                                  max=float(edges[used[-1] + 1]), num=n,
                                  sum=float((counts * mid).sum()), sum_squares=float((counts * mid ** 2).sum()),
                                  bucket_limits=edges[1:].tolist(), bucket_counts=counts.tolist(), global_step=step)

    def write_epoch(self, row: dict[str, Any]) -> None:
        step = int(row["step"])
        for key, tag in (("train_loss", "epoch/train_loss"), ("test_loss", "epoch/test_loss"),
                         ("train_metric", f"epoch/train_{self.metric}"), ("test_metric", f"epoch/test_{self.metric}"),
                         ("lr", "epoch/lr")):
            if row.get(key) is not None:
                self._w.add_scalar(tag, float(row[key]), step)

    def flush(self) -> None:
        self._w.flush()

    def close(self) -> None:
        if self._own:
            self._w.close()
        else:
            self._w.flush()


def export(run_dir: str | Path, log_dir: str | Path) -> Path:
    """Write a recorded run's steps and epochs as TensorBoard events into ``log_dir/<run directory name>``;
    return that directory."""
    from gradmedic.run.records import Run

    run = Run(run_dir)
    h = run.history
    dest = Path(log_dir) / run.dir.name
    metric = (run.summary or {}).get("metric") or (
        "mse" if run.spec.get("data", {}).get("dataset") == "regression" else "accuracy")
    w = TensorBoardWriter(dest, h.layer_names, h.act_names, hist_ranges=h.hist_ranges, metric=metric)
    try:
        L, A = len(h.layer_names), len(h.act_names)
        w.write_chunk(Chunk(h.loss_steps, h.loss, h.stat_steps,
                            _stats(h.layer, LAYER_STATS, L, len(h.stat_steps)),
                            _stats(h.act, ACT_STATS, A, len(h.stat_steps)),
                            h.inputs, h.hists))
        for row in run.epochs:
            w.write_epoch(row)
    finally:
        w.close()
    return dest


def _stats(get, names: tuple[str, ...], width: int, rows: int) -> np.ndarray:
    """(rows, width, len(names)) recorded statistics from a History getter (``h.layer``, ``h.act``)."""
    return np.stack([get(s) for s in names], -1) if width else np.zeros((rows, 0, len(names)))
