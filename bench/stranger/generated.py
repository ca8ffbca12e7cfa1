"""The stranger's generated corpus: hundreds of recorded training runs the doctor was not tuned on.

Design
------
Every case is one random draw (seeded per case, so a case is the same on every machine and a
rerun only adds what is missing):

- an architecture *family*: ``mlp`` (sklearn tabular data: circles, moons, classification,
  digits, breast cancer, wine, regression, diabetes, friedman1), ``cnn`` (sklearn digits as 1x8x8
  images), ``rnn`` / ``gru`` / ``lstm`` (synthetic sequences: sum-sign, first-element sign,
  majority of bits), ``transformer`` (``nn.TransformerEncoder`` on token-sequence
  classification: contains-token, first token in the lower half, majority token) and ``gpt`` (a tiny causal
  decoder-only char-level language model written here from embedding, causal self-attention,
  LayerNorm and a GELU MLP, trained on text that ships with Python: the stdlib's module docstrings
  and ``this``'s zen - nothing is downloaded);
- depth, width, activation (relu, leaky_relu, gelu, tanh, sigmoid, elu, silu; as ``nn`` modules or
  as functional calls such as ``F.relu`` - real code does both, and the monitor only sees modules),
  initialization (PyTorch default, he, glorot, normal of several stds, ...), optimizer (sgd,
  momentum, adam, adamw, rmsprop, adagrad) with a rate drawn log-uniformly from that optimizer's
  usual range, batch size, number of steps, input and target scalings;
- a *cause*: one key of ``causes.CAUSES`` that applies to the family, or ``"healthy"`` (about 35%).
  The cause changes the draw into a broken run: ``lr_high`` multiplies the good rate by 10-1000
  (sometimes only from a step on: ``onset`` > 0), ``lr_low`` divides it by 100-10000,
  ``init_large`` draws weights from N(0, 1..3) or U(0, 1), ``init_small`` uses std 1e-4..1e-2 in a
  deep stack, ``saturating_depth`` stacks 6-10 sigmoid/tanh layers, ``symmetric_init`` sets constant
  (or zero) weights, ``dead_relu`` gives ReLU layers a large negative bias, ``unscaled_inputs`` feeds
  raw / x1000 / +500 inputs, ``unscaled_target`` trains a regression on the raw (large) target,
  ``no_clipping`` trains a recurrent net at a high SGD rate without clipping, ``no_gradient`` detaches
  an intermediate tensor (or takes a softmax over a single unit, clamps a saturated sigmoid under
  BCELoss, rounds the predictions fed to the loss, or freezes all but the final LayerNorm of the
  gpt), ``wrong_loss`` feeds probabilities (softmax or sigmoid) to CrossEntropyLoss.

Counterfactual labelling
------------------------
For a cause, the *control* is the same run - same seed, same data, same batches, same initial
weights where the cause does not touch them - with only that cause removed (the good rate, the
proper init, standardized inputs or target, clipping on, the graph attached, logits into the loss).
Both runs are watched.  The label comes from the outcomes only, through ``causes.clearly_better``:
"broken" when the control is clearly better, "ambiguous" otherwise (kept, excluded from scores).
A "healthy" draw is labelled "healthy" only when it trains well by itself (``good_outcome``:
accuracy at least halfway from chance to 1, or a final loss / test MSE below half of the
chance-level one), else "ambiguous".  Every control run that trains well is saved too, as an extra
case with cause "healthy", label "healthy" and the name suffix ``-control``.

Nothing here reads the doctor (``gradmedic.doctor.diagnose``): the draw ranges were set by outcome only,
so the corpus stays a held-out test.

Metrics: final test accuracy (classification), test MSE in units of the target's variance
(regression; the broken run's predictions are scaled back the same way), the proper cross-entropy
of the final model on 20 fresh batches of its training text (language model; not the training loss,
which a wrong loss makes incomparable).  A non-finite loss over the last 20 steps gives the value
NaN (stored as null).

Run
---
    python bench/stranger/generated.py                      # 320 draws into bench/stranger/cases/generated
    python bench/stranger/generated.py --n 40 --only gpt    # the gpt draws among the first 40
    nohup python bench/stranger/generated.py > bench/stranger/cases/generated.log 2>&1 &

Resumable: a case whose ``.npz`` exists is skipped (the broken run's file is written last).
One thread per process; each run takes about 0.5-3 s.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import importlib
import inspect
import io
import json
import math
import sys
import time
import traceback
from itertools import pairwise
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import gradmedic  # noqa: E402
from bench.stranger.causes import CAUSES, clearly_better  # noqa: E402

torch.set_num_threads(1)

FAMILIES = {"mlp": 0.26, "cnn": 0.16, "rnn": 0.08, "gru": 0.08, "lstm": 0.08, "transformer": 0.16, "gpt": 0.18}
GROUP = {"rnn": "recurrent", "gru": "recurrent", "lstm": "recurrent"}
APPLIES = {
    "mlp": ["lr_high", "lr_low", "init_large", "init_small", "saturating_depth", "symmetric_init", "dead_relu",
            "unscaled_inputs", "unscaled_target", "no_gradient", "wrong_loss"],
    "cnn": ["lr_high", "lr_low", "init_large", "init_small", "saturating_depth", "symmetric_init", "dead_relu",
            "unscaled_inputs", "no_gradient", "wrong_loss"],
    "rnn": ["lr_high", "lr_low", "init_large", "symmetric_init", "unscaled_inputs", "no_clipping", "no_gradient", "wrong_loss"],
    # (draft runs: small init and negative MLP biases never hurt these LayerNorm/residual nets - always ambiguous)
    "transformer": ["lr_high", "lr_low", "init_large", "symmetric_init", "no_gradient", "wrong_loss"],
    "gpt": ["lr_high", "lr_low", "init_large", "init_small", "symmetric_init", "no_gradient", "wrong_loss"],
}
APPLIES["gru"] = APPLIES["lstm"] = APPLIES["rnn"]
HEALTHY_SHARE = 0.35
assert all(c in CAUSES for cs in APPLIES.values() for c in cs)

# Each optimizer's usual rate range (log-uniform draws), per family kind.
LR_GOOD = {
    "dense": {"sgd": (0.03, 0.3), "momentum": (0.005, 0.05), "adam": (1e-3, 1e-2), "adamw": (1e-3, 1e-2),
              "rmsprop": (3e-4, 3e-3), "adagrad": (0.01, 0.1)},
    "recurrent": {"sgd": (0.1, 0.5), "momentum": (0.01, 0.05), "adam": (2e-3, 1e-2), "adamw": (2e-3, 1e-2),
                  "rmsprop": (1e-3, 5e-3), "adagrad": (0.02, 0.1)},
    "attention": {"sgd": (0.05, 0.3), "momentum": (0.01, 0.05), "adam": (1e-3, 5e-3), "adamw": (1e-3, 5e-3),
                  "rmsprop": (3e-4, 2e-3), "adagrad": (0.01, 0.05)},
    "lm": {"sgd": (0.3, 1.0), "momentum": (0.05, 0.2), "adam": (4e-3, 1.5e-2), "adamw": (4e-3, 1.5e-2),
           "rmsprop": (1e-3, 3e-3), "adagrad": (0.03, 0.1)},
}
OPT_WEIGHTS = {"sgd": 0.14, "momentum": 0.2, "adam": 0.3, "adamw": 0.16, "rmsprop": 0.1, "adagrad": 0.1}
OPT_WEIGHTS_LM = {"sgd": 0.06, "momentum": 0.1, "adam": 0.36, "adamw": 0.3, "rmsprop": 0.1, "adagrad": 0.08}
ACTS = ["relu", "leaky_relu", "gelu", "tanh", "sigmoid", "elu", "silu"]
ACT_MODULES = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid,
               "elu": nn.ELU, "silu": nn.SiLU}
ACT_FUNCS = {"relu": F.relu, "leaky_relu": F.leaky_relu, "gelu": F.gelu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
             "elu": F.elu, "silu": F.silu}


# ------------------------------------------------------------------------------------------------
# drawing
class Draw:
    """A seeded random source that records what it drew (the case's config)."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)

    def choice(self, xs, p=None):
        if isinstance(xs, dict):
            keys = list(xs)
            w = np.array([xs[k] for k in keys], float)
            return keys[int(self.rng.choice(len(keys), p=w / w.sum()))]
        return xs[int(self.rng.choice(len(xs), p=p))]

    def int(self, lo, hi):  # inclusive
        return int(self.rng.integers(lo, hi + 1))

    def uniform(self, lo, hi):
        return float(self.rng.uniform(lo, hi))

    def loguniform(self, lo, hi):
        return float(math.exp(self.rng.uniform(math.log(lo), math.log(hi))))

    def coin(self, p=0.5):
        return bool(self.rng.random() < p)


def draw_case(index: int, base_seed: int) -> dict:
    """The whole config of case ``index``: family, task, model, optimizer, cause and its change."""
    seed = base_seed * 100_000 + index
    d = Draw(seed)
    family = d.choice(FAMILIES)
    cause = "healthy" if d.coin(HEALTHY_SHARE) else d.choice(APPLIES[family])
    cfg = {"family": family, "cause": cause, "seed": seed}
    kind = {"mlp": "dense", "cnn": "dense", "transformer": "attention", "gpt": "lm"}.get(family, "recurrent")
    opt = d.choice(OPT_WEIGHTS_LM if family == "gpt" else OPT_WEIGHTS)
    if cause == "no_clipping":
        opt = d.choice(["sgd", "momentum"])
    lo, hi = LR_GOOD[kind][opt]
    cfg.update(optimizer=opt, lr=d.loguniform(lo, hi), batch=d.choice([32, 64, 128]), init="default",
               input_scale="standard", target_scale="standard", loss="ce", clip=None, functional=d.coin(0.35),
               bias_shift=0.0)
    # -- family specifics
    if family == "mlp":
        regression = cause == "unscaled_target" or (cause != "wrong_loss" and d.coin(0.22))
        data = d.choice(["regression", "regression", "friedman1", "friedman1", "diabetes"]) if regression else \
            d.choice(["circles", "moons", "classification", "digits", "breast_cancer", "wine"])
        cfg.update(task=data, regression=regression, depth=d.int(1, 4), width=d.choice([16, 32, 64, 64, 128]),
                   act=d.choice(ACTS, p=[0.3, 0.1, 0.12, 0.16, 0.08, 0.12, 0.12]), steps=d.int(200, 500))
        if cfg["act"] == "sigmoid":
            cfg["depth"] = min(cfg["depth"], 2)
        if regression:
            cfg["loss"] = "mse"
    elif family == "cnn":
        cfg.update(task="digits", regression=False, depth=d.int(1, 3), width=d.choice([8, 12, 16]),
                   act=d.choice(ACTS, p=[0.35, 0.1, 0.1, 0.15, 0.05, 0.1, 0.15]), pool=d.coin(0.5),
                   steps=d.int(200, 350), batch=d.choice([32, 64]))
        if cfg["act"] == "sigmoid":
            cfg["depth"] = 1
    elif family in ("rnn", "gru", "lstm"):
        task = d.choice(["sum_sign", "first_sign", "majority"])
        cfg.update(task=task, regression=False, seq_len=d.int(6, 16) if task != "first_sign" else d.int(5, 12),
                   features=d.int(1, 4), hidden=d.choice([16, 32]), layers=d.choice([1, 1, 2]),
                   nonlinearity=d.choice(["tanh", "tanh", "relu"]) if family == "rnn" else "tanh",
                   head_act=d.choice(["none", "none", "relu", "tanh"]), steps=d.int(200, 400), batch=d.choice([32, 64]))
        if family == "rnn" and cfg["nonlinearity"] == "relu" and opt in ("sgd", "momentum"):
            cfg["lr"] /= 5  # ReLU recurrences take a smaller SGD rate
    elif family == "transformer":
        task = d.choice(["contains", "first_half", "majority"])
        cfg.update(task=task, regression=False, vocab=d.int(6, 16), seq_len=d.int(8, 12), d_model=d.choice([16, 32]),
                   heads=d.choice([2, 4]), layers=d.int(1, 2), ff_mult=d.choice([2, 4]),
                   tf_act=d.choice(["relu", "gelu", "module_relu", "module_gelu"]), norm_first=d.coin(0.5),
                   pool=d.choice(["mean", "first"]), steps=d.int(200, 350), batch=d.choice([32, 64]))
    else:  # gpt
        cfg.update(task="stdlib_text", regression=False, block=d.choice([16, 24, 32]), d_model=d.choice([32, 32, 48]),
                   heads=d.choice([2, 4]), layers=d.int(1, 2), text_chars=d.int(2_000, 12_000), text_offset=d.int(0, 80_000),
                   mlp_act="gelu", tie=d.coin(0.3), init=d.choice(["default", "gpt2"]),
                   steps=d.int(200, 300), batch=d.choice([16, 32]))
    # -- healthy draws vary the harmless choices too (labelled by outcome anyway)
    if cause == "healthy":
        if family in ("mlp", "cnn") and d.coin(0.4):
            cfg["init"] = d.choice(["he", "glorot", "normal"])
            if cfg["init"] == "normal":
                cfg["init_std"] = d.choice([0.05, 0.1])
        if family == "mlp" and not cfg["regression"] and d.coin(0.15):
            cfg["input_scale"] = "raw"
    # -- the cause
    change: dict = {}
    if cause == "lr_high":
        change["lr_factor"] = d.loguniform(10, 1000)
        if d.coin(0.25):
            change["onset_frac"] = d.uniform(0.3, 0.6)
    elif cause == "lr_low":
        change["lr_factor"] = 1 / d.loguniform(100, 10_000)
    elif cause == "init_large":
        change["init"] = d.choice(["normal1", "normal1", "normal3", "uniform01"])
    elif cause == "init_small":
        change["init"] = "normal_small"
        change["init_std"] = d.loguniform(1e-4, 1e-2)
        if family == "mlp":
            cfg["depth"] = d.int(5, 10)
            cfg["act"] = d.choice(["relu", "tanh", "gelu", "elu", "silu"])
        elif family == "cnn":
            cfg["depth"] = 3
        if family in ("mlp", "cnn"):
            cfg["init"] = "he"  # the proper init of the control (PyTorch's default also shrinks a deep stack)
    elif cause == "saturating_depth":
        cfg["depth"] = d.int(6, 10) if family == "mlp" else d.int(3, 4)
        change["act"] = d.choice(["sigmoid", "tanh", "sigmoid"])
        change["control_act"] = d.choice(["relu", "leaky_relu", "gelu", "elu", "silu"])
        cfg["act"] = change["act"]
        change["control_init"] = "he"  # the fix: a ReLU-family activation with its init
        if d.coin(0.4):
            change["init"] = d.choice(["normal", "glorot"])
            change["init_std"] = d.choice([0.5, 1.0])
    elif cause == "symmetric_init":
        change["init"] = "constant"
        change["const"] = d.choice([0.0, 0.01, 0.05, 0.1])
    elif cause == "dead_relu":
        change["bias_shift"] = -d.uniform(2.0, 8.0)
        if family == "gpt":
            cfg["mlp_act"] = "relu"
        else:
            cfg["act"] = d.choice(["relu", "relu", "leaky_relu"]) if family in ("mlp", "cnn") else cfg.get("act", "relu")
            if cfg["act"] == "leaky_relu":
                cfg["act"] = "relu"
    elif cause == "unscaled_inputs":
        scales = ["raw", "x1000", "offset500"] if family == "mlp" else ["x1000", "offset500", "raw255"]
        change["input_scale"] = d.choice(scales)
        if family == "mlp" and change["input_scale"] == "raw":
            cfg["task"] = d.choice(["breast_cancer", "wine"])  # data whose raw features span 1e-3 .. 1e3
            cfg["regression"] = False
            cfg["loss"] = "ce"
        if family != "mlp" and change["input_scale"] == "raw255" and family != "cnn":
            change["input_scale"] = "x1000"
    elif cause == "unscaled_target":
        change["target_scale"] = d.choice(["raw", "x100"])
        if cfg["optimizer"] in ("adagrad",):
            cfg["optimizer"] = "sgd"
            cfg["lr"] = d.loguniform(*LR_GOOD["dense"]["sgd"])
    elif cause == "no_clipping":
        change["lr_factor"] = d.loguniform(4, 40)
        change["control_clip"] = d.choice([0.5, 1.0])
    elif cause == "no_gradient":
        if family == "mlp" and not cfg["regression"] and cfg["task"] in ("circles", "moons", "breast_cancer") and d.coin(0.5):
            change["variant"] = d.choice(["softmax1", "clamped_sigmoid", "rounded"])
        elif family == "gpt":
            change["variant"] = d.choice(["detach", "frozen"])
        else:
            change["variant"] = "detach"
            if family == "mlp":
                cfg["depth"] = max(cfg["depth"], 2)
    elif cause == "wrong_loss":
        change["variant"] = d.choice(["double_softmax", "sigmoid_ce"]) if family != "gpt" else "double_softmax"
    cfg["change"] = change
    return cfg


# ------------------------------------------------------------------------------------------------
# data
def _standardize(a: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return (a - ref.mean(0)) / (ref.std(0) + 1e-8)


def tabular(task: str, seed: int):
    from sklearn import datasets as ds

    rs = np.random.RandomState(seed % (2**31))
    if task == "circles":
        x, y = ds.make_circles(1200, noise=rs.uniform(0.03, 0.1), factor=rs.uniform(0.3, 0.6), random_state=rs)
    elif task == "moons":
        x, y = ds.make_moons(1200, noise=rs.uniform(0.05, 0.2), random_state=rs)
    elif task == "classification":
        x, y = ds.make_classification(1500, n_features=rs.randint(8, 30), n_informative=rs.randint(3, 7),
                                      n_classes=rs.randint(2, 5), class_sep=rs.uniform(1.0, 2.0), flip_y=0.01,
                                      random_state=rs)
    elif task == "digits":
        x, y = ds.load_digits(return_X_y=True)
    elif task == "breast_cancer":
        x, y = ds.load_breast_cancer(return_X_y=True)
    elif task == "wine":
        x, y = ds.load_wine(return_X_y=True)
    elif task == "regression":
        x, y = ds.make_regression(1200, n_features=rs.randint(5, 20), n_informative=rs.randint(3, 6),
                                  noise=rs.uniform(5, 20), bias=rs.uniform(-50, 200), random_state=rs)
    elif task == "diabetes":
        x, y = ds.load_diabetes(return_X_y=True, scaled=False)
    elif task == "friedman1":
        x, y = ds.make_friedman1(1200, noise=0.5, random_state=rs)
        y = 20 * y  # a target in the hundreds
    else:
        raise ValueError(task)
    perm = rs.permutation(len(x))
    x, y = x[perm].astype(np.float64), y[perm]
    n = int(0.75 * len(x))
    return x[:n], y[:n], x[n:], y[n:]


def scale_inputs(xtr, xte, how: str, raw_scale: float = 1.0):
    if how == "standard":
        return _standardize(xtr, xtr), _standardize(xte, xtr)
    if how == "raw":
        return xtr * raw_scale, xte * raw_scale
    s = _standardize(xtr, xtr), _standardize(xte, xtr)
    if how == "x1000":
        return s[0] * 1000, s[1] * 1000
    if how == "offset500":
        return s[0] + 500, s[1] + 500
    if how == "raw255":  # image pixels 0..255
        return xtr / xtr.max() * 255, xte / xtr.max() * 255
    raise ValueError(how)


def sequences(task: str, n: int, T: int, feat: int, rs: np.random.RandomState):
    if task == "majority":
        x = rs.randint(0, 2, size=(n, T | 1, feat)).astype(np.float64)
        y = (x[:, :, 0].sum(1) > (T | 1) / 2).astype(int)
        x = 2 * x - 1
        return x, y
    x = rs.randn(n, T, feat)
    if task == "sum_sign":
        y = (x[:, :, 0].sum(1) > 0).astype(int)
    elif task == "first_sign":
        y = (x[:, 0, 0] > 0).astype(int)
    elif task == "last_vs_first":
        y = (x[:, -1, 0] > x[:, 0, 0]).astype(int)
    else:
        raise ValueError(task)
    return x, y


def tokens(task: str, n: int, T: int, V: int, rs: np.random.RandomState):
    x = rs.randint(0, V, size=(n, T))
    if task == "contains":  # is token 0 present?  half the sequences get none
        none = rs.rand(n) < 0.5
        x[none] = rs.randint(1, V, size=(int(none.sum()), T))
        y = (x == 0).any(1).astype(int)
    elif task == "first_half":  # is the first token in the lower half of the vocabulary?
        y = (x[:, 0] < V // 2).astype(int)
    elif task == "majority":  # more 1s than 2s?
        c1, c2 = (x == 1).sum(1), (x == 2).sum(1)
        keep = c1 != c2
        x, y = x[keep], (c1 > c2)[keep].astype(int)
    else:
        raise ValueError(task)
    return x, y


_TEXT: str | None = None
STDLIB_DOC_MODULES = ["this", "os", "re", "json", "collections", "functools", "itertools", "textwrap", "string", "random",
                      "heapq", "bisect", "difflib", "argparse", "logging", "pathlib", "csv", "pickle", "contextlib", "abc",
                      "shutil", "tempfile", "fractions", "decimal", "statistics", "glob", "fnmatch", "copy", "pprint", "enum",
                      "dataclasses", "typing", "inspect", "ast", "tokenize", "zipfile", "tarfile", "gzip", "base64", "hashlib",
                      "hmac", "secrets", "uuid", "calendar", "datetime", "threading", "queue", "sched", "subprocess", "socket",
                      "selectors", "unittest", "doctest", "trace", "timeit", "cmd", "shlex", "configparser", "operator",
                      "numbers", "array", "weakref", "types", "traceback", "warnings", "codecs", "locale", "gettext",
                      "optparse", "getopt", "sqlite3", "html", "mimetypes", "wave", "colorsys", "imaplib", "smtplib", "ftplib",
                      "poplib", "pkgutil", "runpy", "importlib", "sysconfig", "platform", "signal", "io", "struct", "filecmp",
                      "linecache", "pdb", "profile", "pstats"]


def stdlib_text() -> str:
    """Module docstrings of the standard library (and the zen of ``this``), printable ASCII."""
    global _TEXT
    if _TEXT is None:
        parts = []
        for m in STDLIB_DOC_MODULES:
            with contextlib.redirect_stdout(io.StringIO()):
                try:
                    mod = importlib.import_module(m)
                except Exception:
                    continue
            doc = codecs.decode(mod.s, "rot13") if m == "this" else inspect.getdoc(mod)
            if doc:
                parts.append(doc)
        t = "\n\n".join(parts)
        _TEXT = "".join(c for c in t if 32 <= ord(c) < 127 or c == "\n")
    return _TEXT


# ------------------------------------------------------------------------------------------------
# models
class MLP(nn.Module):
    def __init__(self, n_in, n_out, depth, width, act, functional, detach_at=None):
        super().__init__()
        dims = [n_in] + [width] * depth
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in pairwise(dims))
        self.acts = nn.ModuleList(ACT_MODULES[act]() for _ in range(depth)) if not functional else None
        self.f = ACT_FUNCS[act]
        self.out = nn.Linear(dims[-1], n_out)
        self.detach_at = detach_at

    def forward(self, x):
        for i, lin in enumerate(self.hidden):
            x = lin(x)
            x = self.acts[i](x) if self.acts is not None else self.f(x)
            if self.detach_at is not None and i == self.detach_at:
                x = x.detach()  # the bug: everything below this layer gets no gradient
        return self.out(x)


class CNN(nn.Module):
    def __init__(self, n_out, depth, width, act, functional, pool, detach=False):
        super().__init__()
        chans = [1] + [width * (1 + i // 2) for i in range(depth)]
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1) for a, b in pairwise(chans))
        self.acts = nn.ModuleList(ACT_MODULES[act]() for _ in range(depth)) if not functional else None
        self.f = ACT_FUNCS[act]
        self.pool = pool
        side = 4 if pool else 8
        self.head = nn.Linear(chans[-1] * side * side, n_out)
        self.detach = detach

    def forward(self, x):
        for i, conv in enumerate(self.convs):
            x = conv(x)
            x = self.acts[i](x) if self.acts is not None else self.f(x)
            if self.pool and i == 0:
                x = F.max_pool2d(x, 2)
        if self.detach:
            x = x.detach()
        return self.head(x.flatten(1))


class SeqNet(nn.Module):
    def __init__(self, family, features, hidden, layers, nonlinearity, head_act, n_out, detach=False):
        super().__init__()
        if family == "rnn":
            self.rnn = nn.RNN(features, hidden, layers, nonlinearity=nonlinearity, batch_first=True)
        else:
            self.rnn = (nn.GRU if family == "gru" else nn.LSTM)(features, hidden, layers, batch_first=True)
        if head_act == "none":
            self.head = nn.Linear(hidden, n_out)
        else:
            self.head = nn.Sequential(nn.Linear(hidden, hidden), ACT_MODULES[head_act](), nn.Linear(hidden, n_out))
        self.detach = detach

    def forward(self, x):
        out, _ = self.rnn(x)
        h = out[:, -1]
        if self.detach:
            h = h.detach()
        return self.head(h)


class TokenTransformer(nn.Module):
    def __init__(self, vocab, seq_len, d, heads, layers, ff_mult, tf_act, norm_first, pool, n_out, detach=False):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.randn(1, seq_len, d) * 0.1)
        act = {"relu": "relu", "gelu": "gelu", "module_relu": nn.ReLU(), "module_gelu": nn.GELU()}[tf_act]
        layer = nn.TransformerEncoderLayer(d, heads, d * ff_mult, dropout=0.0, activation=act, batch_first=True,
                                           norm_first=norm_first)
        self.enc = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.pool = pool
        self.head = nn.Linear(d, n_out)
        self.detach = detach

    def forward(self, x):
        h = self.enc(self.emb(x) + self.pos)
        h = h.mean(1) if self.pool == "mean" else h[:, 0]
        if self.detach:
            h = h.detach()
        return self.head(h)


class CausalSelfAttention(nn.Module):
    def __init__(self, d, heads, block):
        super().__init__()
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.heads = heads
        self.register_buffer("mask", torch.tril(torch.ones(block, block)).bool()[None, None])

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // self.heads)
        att = att.masked_fill(~self.mask[:, :, :T, :T], float("-inf")).softmax(-1)
        return self.proj((att @ v).transpose(1, 2).reshape(B, T, C))


class Block(nn.Module):
    def __init__(self, d, heads, block, mlp_act):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = CausalSelfAttention(d, heads, block)
        self.fc, self.act, self.fc2 = nn.Linear(d, 4 * d), (nn.GELU() if mlp_act == "gelu" else nn.ReLU()), nn.Linear(4 * d, d)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.fc2(self.act(self.fc(self.ln2(x))))


class TinyGPT(nn.Module):
    def __init__(self, vocab, block, d, heads, layers, mlp_act, tie, detach=False):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(block, d)
        self.blocks = nn.ModuleList(Block(d, heads, block, mlp_act) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        if tie:
            self.lm_head.weight = self.tok.weight
        self.detach = detach

    def forward(self, idx):
        T = idx.shape[1]
        x = self.tok(idx) + self.pos(torch.arange(T, device=idx.device))
        for b in self.blocks:
            x = b(x)
        if self.detach:
            x = x.detach()  # the bug: only the final norm and the head learn
        return self.lm_head(self.ln_f(x))


def apply_init(model: nn.Module, scheme: str, std: float | None = None, const: float = 0.0, act: str = "relu"):
    """Re-initialize the weights of every Linear / Conv / recurrent layer (biases: zero unless default)."""
    if scheme == "default":
        return
    with torch.no_grad():
        for m in model.modules():
            ws = []
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                ws, bs = [m.weight], [m.bias] if m.bias is not None else []
            elif isinstance(m, (nn.RNN, nn.GRU, nn.LSTM)):
                ws = [p for n, p in m.named_parameters() if n.startswith("weight")]
                bs = [p for n, p in m.named_parameters() if n.startswith("bias")]
            elif isinstance(m, nn.MultiheadAttention):
                ws, bs = [m.in_proj_weight], [m.in_proj_bias] if m.in_proj_bias is not None else []
            elif isinstance(m, nn.Embedding) and scheme in ("gpt2", "normal_small", "constant"):
                ws, bs = [m.weight], []
            if not ws:
                continue
            for w in ws:
                if scheme == "he":
                    nn.init.kaiming_normal_(w, nonlinearity="relu" if act in ("relu", "leaky_relu") else "linear")
                elif scheme == "glorot":
                    nn.init.xavier_uniform_(w)
                elif scheme == "gpt2":
                    nn.init.normal_(w, 0.0, 0.02)
                elif scheme in ("normal", "normal_small"):
                    nn.init.normal_(w, 0.0, std)
                elif scheme == "normal1":
                    nn.init.normal_(w, 0.0, 1.0)
                elif scheme == "normal3":
                    nn.init.normal_(w, 0.0, 3.0)
                elif scheme == "uniform01":
                    nn.init.uniform_(w, 0.0, 1.0)
                elif scheme == "constant":
                    nn.init.constant_(w, const)
                else:
                    raise ValueError(scheme)
            for b in bs:
                if scheme != "uniform01":
                    nn.init.zeros_(b)


def shift_biases(model: nn.Module, shift: float):
    """Large negative biases on the layers that feed a ReLU (every Linear/Conv but the output)."""
    with torch.no_grad():
        layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d)) and m.bias is not None]
        if isinstance(model, TinyGPT):
            layers = [b.fc for b in model.blocks]
        else:
            layers = layers[:-1]
        for m in layers:
            m.bias.fill_(shift)


def make_optimizer(name: str, params, lr: float):
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr)
    raise ValueError(name)


# ------------------------------------------------------------------------------------------------
# one run
def settings(cfg: dict, broken: bool) -> dict:
    """The run's effective settings: the draw with the cause applied (broken) or removed (control)."""
    s = {k: v for k, v in cfg.items() if k != "change"}
    ch = cfg["change"]
    cause = cfg["cause"]
    s["variant"] = None
    s["lr_schedule"] = None
    if not broken or cause == "healthy":
        if cause == "saturating_depth":
            s["act"] = ch["control_act"]
            s["init"] = ch["control_init"]
        if cause == "no_clipping":
            s["lr"] = cfg["lr"] * ch["lr_factor"]
            s["clip"] = ch["control_clip"]
        return s
    if cause in ("lr_high", "lr_low"):
        if "onset_frac" in ch:
            s["lr_schedule"] = (int(ch["onset_frac"] * cfg["steps"]), cfg["lr"] * ch["lr_factor"])
        else:
            s["lr"] = cfg["lr"] * ch["lr_factor"]
    elif cause in ("init_large", "init_small", "symmetric_init"):
        s["init"] = ch["init"]
        s["init_std"] = ch.get("init_std")
        s["const"] = ch.get("const", 0.0)
    elif cause == "saturating_depth":
        s["act"] = ch["act"]
        if "init" in ch:
            s["init"], s["init_std"] = ch["init"], ch["init_std"]
    elif cause == "dead_relu":
        s["bias_shift"] = ch["bias_shift"]
    elif cause == "unscaled_inputs":
        s["input_scale"] = ch["input_scale"]
    elif cause == "unscaled_target":
        s["target_scale"] = ch["target_scale"]
    elif cause == "no_clipping":
        s["lr"] = cfg["lr"] * ch["lr_factor"]
        s["clip"] = None
    elif cause in ("no_gradient", "wrong_loss"):
        s["variant"] = ch["variant"]
    return s


def good_outcome(metric: str, value: float, ref: float) -> bool:
    """The run trained well by itself: accuracy at least halfway from chance (``ref``) to 1, or a
    loss / normalized MSE below half of the chance-level one (``ref``)."""
    if not math.isfinite(value):
        return False
    if metric == "accuracy":
        return value >= ref + 0.5 * (1 - ref)
    return value < 0.5 * ref


def run(cfg: dict, broken: bool):
    """Train one run; return (monitor, metric name, value, chance-level reference, seconds)."""
    s = settings(cfg, broken)
    seed = cfg["seed"]
    t0 = time.time()
    rs = np.random.RandomState(seed % (2**31))
    fam = cfg["family"]
    variant = s["variant"]
    detach = variant == "detach"
    target_sd, target_mu = 1.0, 0.0
    # -- data and model
    if fam == "mlp":
        xtr, ytr, xte, yte = tabular(cfg["task"], seed)
        xtr, xte = scale_inputs(xtr, xte, s["input_scale"])
        if s["regression"]:
            mu, sd = ytr.mean(), ytr.std()
            if s["target_scale"] == "standard":
                ytr_t, target_mu, target_sd = (ytr - mu) / sd, mu, sd
            elif s["target_scale"] == "x100":
                ytr_t, target_mu, target_sd = (ytr - mu) / sd * 100, mu, sd / 100
            else:
                ytr_t = ytr
            n_out = 1
        else:
            n_out = int(ytr.max()) + 1
            ytr_t = ytr
        single_output = ("softmax1", "clamped_sigmoid", "rounded")
        binary_single = cfg["cause"] == "no_gradient" and cfg["change"].get("variant") in single_output
        if binary_single:
            n_out = 1
        torch.manual_seed(seed)
        detach_at = rs.randint(0, s["depth"] - 1) if detach else None
        model = MLP(xtr.shape[1], n_out, s["depth"], s["width"], s["act"], s["functional"], detach_at)
        Xtr, Xte = torch.tensor(xtr, dtype=torch.float32), torch.tensor(xte, dtype=torch.float32)
        Ytr = torch.tensor(ytr_t, dtype=torch.float32 if (s["regression"] or binary_single) else torch.long)
        Yte = yte
    elif fam == "cnn":
        xtr, ytr, xte, yte = tabular("digits", seed)
        if s["input_scale"] == "standard":  # per-image-set pixel standardization
            m_, s_ = xtr.mean(), xtr.std()
            xtr, xte = (xtr - m_) / s_, (xte - m_) / s_
        elif s["input_scale"] == "raw255":
            xtr, xte = xtr * 16, xte * 16
        elif s["input_scale"] == "x1000":
            m_, s_ = xtr.mean(), xtr.std()
            xtr, xte = (xtr - m_) / s_ * 1000, (xte - m_) / s_ * 1000
        elif s["input_scale"] == "offset500":
            m_, s_ = xtr.mean(), xtr.std()
            xtr, xte = (xtr - m_) / s_ + 500, (xte - m_) / s_ + 500
        n_out, binary_single = 10, False
        torch.manual_seed(seed)
        model = CNN(10, s["depth"], s["width"], s["act"], s["functional"], s["pool"], detach)
        Xtr = torch.tensor(xtr, dtype=torch.float32).view(-1, 1, 8, 8)
        Xte = torch.tensor(xte, dtype=torch.float32).view(-1, 1, 8, 8)
        Ytr, Yte = torch.tensor(ytr, dtype=torch.long), yte
    elif fam in ("rnn", "gru", "lstm"):
        xtr, ytr = sequences(s["task"], 3000, s["seq_len"], s["features"], rs)
        xte, yte = sequences(s["task"], 1000, s["seq_len"], s["features"], rs)
        if s["input_scale"] == "x1000":
            xtr, xte = xtr * 1000, xte * 1000
        elif s["input_scale"] == "offset500":
            xtr, xte = xtr + 500, xte + 500
        n_out, binary_single = 2, False
        torch.manual_seed(seed)
        model = SeqNet(fam, s["features"], s["hidden"], s["layers"], s["nonlinearity"], s["head_act"], 2, detach)
        Xtr, Xte = torch.tensor(xtr, dtype=torch.float32), torch.tensor(xte, dtype=torch.float32)
        Ytr, Yte = torch.tensor(ytr, dtype=torch.long), yte
    elif fam == "transformer":
        xtr, ytr = tokens(s["task"], 3000, s["seq_len"], s["vocab"], rs)
        xte, yte = tokens(s["task"], 1000, s["seq_len"], s["vocab"], rs)
        n_out, binary_single = 2, False
        torch.manual_seed(seed)
        model = TokenTransformer(s["vocab"], s["seq_len"], s["d_model"], s["heads"], s["layers"], s["ff_mult"], s["tf_act"],
                                 s["norm_first"], s["pool"], 2, detach)
        Xtr, Xte = torch.tensor(xtr, dtype=torch.long), torch.tensor(xte, dtype=torch.long)
        Ytr, Yte = torch.tensor(ytr, dtype=torch.long), yte
    else:  # gpt
        text = stdlib_text()
        start = s["text_offset"] % max(1, len(text) - s["text_chars"])
        text = text[start:start + s["text_chars"]]
        chars = sorted(set(text))
        stoi = {c: i for i, c in enumerate(chars)}
        data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
        n_out, binary_single = len(chars), False
        torch.manual_seed(seed)
        model = TinyGPT(len(chars), s["block"], s["d_model"], s["heads"], s["layers"], s["mlp_act"], s["tie"], detach)
    # -- init
    apply_init(model, s["init"], s.get("init_std"), s.get("const", 0.0), s.get("act", "relu"))
    if s["bias_shift"]:
        shift_biases(model, s["bias_shift"])
    if variant == "frozen":  # the bug: everything frozen but the final LayerNorm (meant: all but the blocks)
        for pname, p in model.named_parameters():
            p.requires_grad_(pname.startswith("ln_f"))
    opt = make_optimizer(s["optimizer"], model.parameters(), s["lr"])
    gen = torch.Generator().manual_seed(seed)  # the same batches for the broken run and its control

    def loss_of(out, y):
        if fam == "gpt":
            logits = out.reshape(-1, out.shape[-1])
            if variant == "double_softmax":
                return F.cross_entropy(logits.softmax(-1), y.reshape(-1))
            return F.cross_entropy(logits, y.reshape(-1))
        if s["regression"]:
            return F.mse_loss(out.squeeze(1), y)
        if binary_single:
            z = out.squeeze(1)
            if variant == "softmax1":  # softmax over one unit: always 1.0
                return F.binary_cross_entropy(torch.softmax(out, dim=1).squeeze(1), y)
            if variant == "clamped_sigmoid":  # a temperature bug (x100) and a clamp that cuts the gradient
                return F.binary_cross_entropy(torch.sigmoid(z * 100).clamp(1e-6, 1 - 1e-6), y)
            if variant == "rounded":  # thresholded predictions into the loss: round() has a zero gradient
                return F.binary_cross_entropy(torch.round(torch.sigmoid(z)), y)
            if cfg["change"].get("variant") == "clamped_sigmoid":
                return F.binary_cross_entropy_with_logits(z * 100, y)
            return F.binary_cross_entropy(torch.sigmoid(z), y)
        if variant == "double_softmax":
            return F.cross_entropy(out.softmax(1), y)
        if variant == "sigmoid_ce":
            return F.cross_entropy(torch.sigmoid(out), y)
        return F.cross_entropy(out, y)

    monitor = gradmedic.watch(model, opt, every=10)
    losses = []
    steps, B = s["steps"], s["batch"]
    if fam != "gpt":
        N = len(Xtr)
        perm = torch.randperm(N, generator=gen)
        pos = 0
    for step in range(steps):
        if s["lr_schedule"] is not None and step == s["lr_schedule"][0]:
            for g in opt.param_groups:
                g["lr"] = s["lr_schedule"][1]
        if fam == "gpt":
            ix = torch.randint(0, len(data) - s["block"] - 1, (B,), generator=gen)
            xb = torch.stack([data[i:i + s["block"]] for i in ix])
            yb = torch.stack([data[i + 1:i + 1 + s["block"]] for i in ix])
        else:
            if pos + B > N:
                perm, pos = torch.randperm(N, generator=gen), 0
            idx = perm[pos:pos + B]
            pos += B
            xb, yb = Xtr[idx], Ytr[idx]
        opt.zero_grad()
        loss = loss_of(model(xb), yb)
        loss.backward()
        monitor.step(loss)
        if s["clip"]:
            nn.utils.clip_grad_norm_(model.parameters(), s["clip"])
        opt.step()
        losses.append(float(loss.detach()))
    monitor.close()  # before evaluating: no hook sees the test set
    # -- outcome
    tail = np.array(losses[-20:])
    finite = bool(np.all(np.isfinite(tail)))
    with torch.no_grad():
        if fam == "gpt":
            # the proper cross-entropy of the final model on 20 fresh batches of its text (not the
            # training loss: a wrong loss's values are not comparable with the control's)
            metric, ref = "loss", math.log(n_out)
            ev = torch.Generator().manual_seed(seed + 1)
            ls = []
            for _ in range(20):
                ix = torch.randint(0, len(data) - s["block"] - 1, (B,), generator=ev)
                xb = torch.stack([data[i:i + s["block"]] for i in ix])
                yb = torch.stack([data[i + 1:i + 1 + s["block"]] for i in ix])
                ls.append(float(F.cross_entropy(model(xb).reshape(-1, n_out), yb.reshape(-1))))
            value = float(np.mean(ls)) if finite and np.all(np.isfinite(ls)) else math.nan
        elif s["regression"]:
            metric = "test_mse"
            ref = 1.0  # the variance of the target: predicting the mean
            pred = model(Xte).squeeze(1).double().numpy() * target_sd + target_mu
            value = float(np.mean((pred - Yte) ** 2) / np.var(Yte)) if finite else math.nan
            if not math.isfinite(value):
                value = math.nan
        else:
            metric = "accuracy"
            ref = float(np.bincount(Yte).max() / len(Yte))
            out = model(Xte)
            pred = (out.squeeze(1) > 0).long().numpy() if binary_single else out.argmax(1).numpy()
            value = float((pred == Yte).mean()) if finite and bool(torch.isfinite(out).all()) else math.nan
    return monitor, metric, value, ref, time.time() - t0


# ------------------------------------------------------------------------------------------------
def _jsonable(v: float):
    return None if not math.isfinite(v) else round(v, 6)


def case_name(cfg: dict, index: int) -> str:
    return f"gen{cfg['seed'] // 100_000}-{index:04d}-{cfg['family']}-{cfg['cause']}"


def raw_counterfactual(cfg: dict) -> dict | None:
    """A healthy draw fed raw (unstandardized) inputs has a candidate cause all the same: its counterfactual is the
    same run on standardized inputs.  Labelled by that outcome, not by the configuration: when the standardized run
    trains clearly better, the draw is a broken case of cause ``unscaled_inputs``.  None when the draw is standardized."""
    if cfg["cause"] != "healthy" or cfg.get("input_scale") != "raw":
        return None
    return {**cfg, "input_scale": "standard"}


def relabel(out: Path) -> None:
    """Apply :func:`raw_counterfactual` to cases recorded before it existed (rewrites their labels in place)."""
    import json

    for p in sorted(out.glob("*-healthy.npz")):
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        header = json.loads(str(arrays["header"]))
        meta = header["meta"]
        if meta.get("label") != "healthy" or meta.get("relabelled"):
            continue
        conf = {k: v for k, v in meta["config"].items() if k not in ("chance", "broken_run_good")}
        cfg = {**conf, "family": meta["family"], "cause": "healthy", "seed": meta["seed"]}
        raw = raw_counterfactual(cfg)
        if raw is None:
            continue
        _, metric, vc, _, _ = run(raw, broken=False)
        vb = meta["outcome"]["value"]
        better = clearly_better(metric, float(vb), vc)
        meta.update(control={"metric": metric, "value": _jsonable(vc)}, relabelled=True)
        if better:
            meta.update(cause="unscaled_inputs", label="broken")
        arrays["header"] = np.array(json.dumps(header))
        np.savez_compressed(p, **arrays)
        print(f"{p.name:40s} raw {vb:.4g} standardized {vc:.4g} -> {meta['label']}", flush=True)


def do_case(index: int, cfg: dict, out: Path) -> dict:
    name = case_name(cfg, index)
    cause = cfg["cause"]
    config = {k: v for k, v in cfg.items() if k not in ("family", "cause", "seed")}
    mon_b, metric, vb, ref, tb = run(cfg, broken=True)
    onset = int(cfg["change"]["onset_frac"] * cfg["steps"]) if "onset_frac" in cfg["change"] else 0
    base = {"source": "generated", "family": cfg["family"], "seed": cfg["seed"]}
    if cause == "healthy":
        label = "healthy" if good_outcome(metric, vb, ref) else "ambiguous"
        vc, tc = vb, 0.0
        saved_control = False
        raw = raw_counterfactual(cfg)
        if raw is not None and label == "healthy":
            _, _, vc, _, tc = run(raw, broken=False)
            if clearly_better(metric, vb, vc):  # trains, but standardized inputs train clearly better: not healthy
                cause, label = "unscaled_inputs", "broken"
    else:
        mon_c, _, vc, _, tc = run(cfg, broken=False)
        label = "broken" if clearly_better(metric, vb, vc) else "ambiguous"
        saved_control = good_outcome(metric, vc, ref)
        if saved_control:
            mon_c.save(str(out / f"{name}-control.npz"), **base, name=f"{name}-control", cause="healthy",
                       outcome={"metric": metric, "value": _jsonable(vc)}, control={"metric": metric, "value": _jsonable(vc)},
                       label="healthy", onset=0,
                       config={**{k: v for k, v in settings(cfg, broken=False).items() if k not in ("family", "cause", "seed")},
                               "control_of": name, "removed_cause": cause, "chance": round(ref, 6)})
    mon_b.save(str(out / f"{name}.npz"), **base, name=name, cause=cause,
               outcome={"metric": metric, "value": _jsonable(vb)}, control={"metric": metric, "value": _jsonable(vc)},
               label=label, onset=onset, config={**config, "chance": round(ref, 6),
                                                 "broken_run_good": good_outcome(metric, vb, ref)})
    return {"name": name, "cause": cause, "metric": metric, "broken": vb, "control": vc, "label": label,
            "control_saved": saved_control, "seconds": tb + tc}


def summarize(out: Path) -> None:
    from collections import Counter

    rows = []
    for p in sorted(out.glob("*.npz")):
        with np.load(p, allow_pickle=False) as z:
            meta = json.loads(str(z["header"]))["meta"]
        rows.append(meta)
    fam = Counter((GROUP.get(m["family"], m["family"]), m["label"]) for m in rows)
    cause = Counter((m["cause"], m["label"]) for m in rows)
    print(f"\n{len(rows)} cases in {out}")
    print("labels:", dict(Counter(m["label"] for m in rows)))
    for g in sorted({k[0] for k in fam}):
        print(f"  {g:12s}", {lab: fam[(g, lab)] for lab in ("broken", "healthy", "ambiguous")})
    for c in sorted({k[0] for k in cause}):
        print(f"  {c:18s}", {lab: cause[(c, lab)] for lab in ("broken", "healthy", "ambiguous")})


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="See the module docstring for the design.")
    ap.add_argument("--n", type=int, default=320, help="number of draws (cases before the extra -control cases)")
    ap.add_argument("--out", default=str(ROOT / "bench/stranger/cases/generated"), help="folder for the .npz files")
    ap.add_argument("--seed", type=int, default=0, help="corpus seed (case i has seed seed*100000+i)")
    ap.add_argument("--only", choices=sorted(FAMILIES),
                    help="run only the draws of this family (same names as in the full corpus)")
    ap.add_argument("--cause", choices=sorted(CAUSES) + ["healthy"],
                    help="run only the draws of this cause (same names as in the full corpus)")
    ap.add_argument("--summary", action="store_true", help="only print the label counts of the cases in --out")
    ap.add_argument("--relabel", action="store_true", help="label the healthy draws on raw inputs in --out by their "
                    "counterfactual (standardized inputs), for cases recorded before that rule")
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if a.summary:
        summarize(out)
        return
    if a.relabel:
        relabel(out)
        return
    t_all = time.time()
    done = failed = 0
    for i in range(a.n):
        cfg = draw_case(i, a.seed)
        if (a.only and cfg["family"] != a.only) or (a.cause and cfg["cause"] != a.cause):
            continue
        name = case_name(cfg, i)
        if (out / f"{name}.npz").exists():
            continue
        try:
            r = do_case(i, cfg, out)
            done += 1
            print(f"{name:40s} {r['cause']:17s} {r['metric']:8s} broken {r['broken']:.4g} control {r['control']:.4g} "
                  f"-> {r['label']:9s}{' +control' if r['control_saved'] else '':9s} {r['seconds']:.1f}s", flush=True)
        except Exception:
            failed += 1
            print(f"{name:40s} FAILED\n{traceback.format_exc()}", flush=True)
    print(f"\n{done} cases run, {failed} failed, {time.time() - t_all:.0f}s", flush=True)
    summarize(out)


if __name__ == "__main__":
    main()
