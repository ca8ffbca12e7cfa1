"""Offline datasets and input normalization (seed 000; seed 002 §7.6).

Every normalizer is fitted on the training split only and applied unchanged to the test split:
statistics that peek at the test set would leak it into training (seed 000).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from sklearn import datasets as skd

from gradmedic.errors import SpecError
from gradmedic.spec import BUILTIN_DATASETS, DataSpec


@dataclass
class Dataset:
    """Train/test tensors. ``x`` is (N, F) for tables or (N, C, H, W) for images."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    task: str  # "binary", "multiclass" or "regression"
    n_classes: int  # 0 for regression
    feature_names: list[str] = field(default_factory=list)
    target_mean: float = 0.0  # target standardization, to report errors in the original units
    target_std: float = 1.0

    @property
    def n_inputs(self) -> int:
        return int(np.prod(self.x_train.shape[1:]))

    @property
    def is_image(self) -> bool:
        return self.x_train.dim() == 4


def make_spirals(n_samples: int, noise: float, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved Archimedean spirals, one arm per class (CS231n's classic toy set)."""
    rng = np.random.default_rng(seed)
    per = [n_samples // n_classes + (1 if i < n_samples % n_classes else 0) for i in range(n_classes)]
    xs, ys = [], []
    for c, n in enumerate(per):
        r = np.linspace(0.0, 1.0, n)
        t = np.linspace(c * 4.0, (c + 1) * 4.0, n) + rng.normal(0.0, noise, n)
        xs.append(np.c_[r * np.sin(t), r * np.cos(t)])
        ys.append(np.full(n, c))
    x, y = np.concatenate(xs), np.concatenate(ys)
    order = rng.permutation(len(y))
    return x[order], y[order]


def _generate(spec: DataSpec, image: bool) -> tuple[np.ndarray, np.ndarray, str, list[str]]:
    name, n = spec.dataset, spec.n_samples or 1000
    rs = spec.data_seed
    if name == "circles":
        x, y = skd.make_circles(n_samples=n, noise=0.1 if spec.noise is None else spec.noise, random_state=rs)
        task = "binary"
    elif name == "moons":
        x, y = skd.make_moons(n_samples=n, noise=0.1 if spec.noise is None else spec.noise, random_state=rs)
        task = "binary"
    elif name == "blobs":
        k = spec.n_classes or 3
        x, y = skd.make_blobs(n_samples=n, n_features=spec.n_features or 2, centers=k, random_state=rs)
        task = "binary" if k == 2 else "multiclass"
    elif name == "spirals":
        k = spec.n_classes or 2
        x, y = make_spirals(n, 0.2 if spec.noise is None else spec.noise, k, rs)
        task = "binary" if k == 2 else "multiclass"
    elif name == "regression":
        x, y = skd.make_regression(n_samples=n, n_features=spec.n_features or 20,
                                   noise=0.1 if spec.noise is None else spec.noise, random_state=rs)
        task = "regression"
    elif name == "digits":
        d = skd.load_digits()
        x, y = d.data, d.target
        order = np.random.default_rng(rs).permutation(len(y))  # the file is grouped by writer
        x, y = x[order], y[order]
        if spec.n_samples:
            x, y = x[: spec.n_samples], y[: spec.n_samples]
        if image:
            x = x.reshape(-1, 1, 8, 8)
        task = "multiclass"
    else:  # pragma: no cover - guarded by the caller
        raise AssertionError(name)
    names = [f"x{i}" for i in range(x.shape[1])] if x.ndim == 2 else []
    return x.astype(np.float64), y, task, names


def _read_csv(spec: DataSpec) -> tuple[np.ndarray, np.ndarray, str, list[str]]:
    path = Path(spec.dataset)
    if not path.is_file():
        raise SpecError("data.dataset",
                        f"{spec.dataset!r} is neither a built-in dataset ({', '.join(BUILTIN_DATASETS)}) nor a CSV file")
    try:
        with path.open(newline="") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise SpecError("data.dataset", f"cannot read {path} as CSV: {err}") from None
    rows = [r for r in rows if r]
    if len(rows) < 3:
        raise SpecError("data.dataset", f"{path} needs a header row and at least two data rows")
    header, body = [h.strip() for h in rows[0]], rows[1:]
    target = spec.target or header[-1]
    if target not in header:
        raise SpecError("data.target", f"column {target!r} not in {path.name}; columns: {', '.join(header)}")
    for i, r in enumerate(body, start=2):
        if len(r) != len(header):
            raise SpecError("data.dataset", f"{path.name} line {i} has {len(r)} fields, the header has {len(header)}")
    t = header.index(target)
    features = [h for j, h in enumerate(header) if j != t]
    if not features:
        raise SpecError("data.dataset", f"{path.name} has no feature columns besides the target")
    cols = np.array(body, dtype=object).T
    x = np.empty((len(body), len(features)))
    for k, j in enumerate(j for j in range(len(header)) if j != t):
        x[:, k] = _numeric(cols[j], header[j], path.name)
    raw_y = [s.strip() for s in cols[t]]
    try:
        y_num = np.array([float(s) for s in raw_y])
    except ValueError:
        y_num = None
    if y_num is not None and not np.all(np.isfinite(y_num)):
        raise SpecError("data.target", f"column {target!r} holds NaN or infinite values")
    if y_num is not None and (len(np.unique(y_num)) > 20 or not np.all(y_num == np.round(y_num))):
        y, task = y_num, "regression"
    else:  # class labels: integers with few values (grouped by value: "1" and "1.0" are one class), or strings
        keys = list(y_num) if y_num is not None else raw_y
        labels = sorted(set(keys))
        y = np.array([labels.index(k) for k in keys])
        task = "binary" if len(labels) == 2 else "multiclass"
        if len(labels) < 2:
            raise SpecError("data.target", f"column {target!r} has a single class")
    order = np.random.default_rng(spec.data_seed).permutation(len(y))
    return x[order], y[order], task, features


def _numeric(col: np.ndarray, name: str, fname: str) -> np.ndarray:
    try:
        v = np.array([float(s) for s in col])
    except ValueError:
        bad = next(s for s in col if not _is_float(s))
        raise SpecError("data.dataset", f"column {name!r} of {fname} is not numeric (value {bad!r})") from None
    if not np.all(np.isfinite(v)):
        raise SpecError("data.dataset", f"column {name!r} of {fname} holds NaN or infinite values; clean or impute them first")
    return v


def _is_float(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


class Normalizer:
    """Input normalization fitted on training inputs (seed 002 §7.6); ``x`` is (N, ...)."""

    def __init__(self, method: str):
        self.method = method
        self.shift: np.ndarray | float = 0.0
        self.scale: np.ndarray | float = 1.0

    def fit(self, x: np.ndarray) -> Normalizer:
        m = self.method
        if m in ("channel_mean",) and x.ndim != 4:
            raise SpecError("data.normalize", "channel_mean needs image data (N, C, H, W); use center or standard for tables")
        if m == "center":
            self.shift = x.mean(axis=0)
        elif m == "standard":
            self.shift = x.mean(axis=0)
            std = x.std(axis=0)
            self.scale = np.where(std > 0, std, 1.0)  # a constant feature stays 0 rather than NaN
        elif m == "minmax":  # to [-1, 1] along each input dimension
            lo, hi = x.min(axis=0), x.max(axis=0)
            self.shift = (hi + lo) / 2
            half = (hi - lo) / 2
            self.scale = np.where(half > 0, half, 1.0)
        elif m == "mean_image":  # the mean of every pixel across the training set
            self.shift = x.mean(axis=0)
        elif m == "channel_mean":  # one mean per channel
            self.shift = x.mean(axis=(0, 2, 3), keepdims=True)[0]
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (x - self.shift) / self.scale


def load(spec: DataSpec, image: bool = False) -> Dataset:
    """Load, split (first rows train, last ``test_fraction`` test) and normalize."""
    if spec.dataset in BUILTIN_DATASETS:
        x, y, task, names = _generate(spec, image)
    else:
        x, y, task, names = _read_csv(spec)
    if spec.normalize in ("channel_mean",) and x.ndim != 4:
        raise SpecError("data.normalize", "channel_mean needs image data (digits with model.kind=cnn)")
    if spec.standardize_target and task != "regression":
        raise SpecError("data.standardize_target", "only applies to regression targets")
    n_test = int(round(len(y) * spec.test_fraction))
    if n_test < 1 or len(y) - n_test < 2:
        raise SpecError("data.test_fraction", f"leaves too few rows for train/test out of {len(y)}")
    split = len(y) - n_test
    x_tr, x_te, y_tr, y_te = x[:split], x[split:], y[:split], y[split:]
    norm = Normalizer(spec.normalize).fit(x_tr)
    x_tr, x_te = norm.transform(x_tr), norm.transform(x_te)
    t_mean, t_std = 0.0, 1.0
    if task == "regression":
        if spec.standardize_target:
            t_mean, t_std = float(y_tr.mean()), float(y_tr.std() or 1.0)
        y_tr, y_te = (y_tr - t_mean) / t_std, (y_te - t_mean) / t_std
        yt = lambda a: torch.tensor(a, dtype=torch.float32).reshape(-1, 1)  # noqa: E731
        n_classes = 0
    else:
        n_classes = int(y.max()) + 1
        yt = (lambda a: torch.tensor(a, dtype=torch.float32).reshape(-1, 1)) if task == "binary" else (
            lambda a: torch.tensor(a, dtype=torch.long))
    xt = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    return Dataset(xt(x_tr), yt(y_tr), xt(x_te), yt(y_te), task, n_classes, names, t_mean, t_std)
