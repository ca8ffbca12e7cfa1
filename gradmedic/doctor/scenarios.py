"""A labelled suite of training scenarios for measuring the doctor (precision and recall per problem).

Each scenario is a small, real training run in a plain PyTorch loop with ``gradmedic.watch``, over
MLPs, CNNs, RNN/LSTM/GRU and Transformer encoders with their own module names.  Labels are set by
what the training *suffers*, checked against its outcome (``tests/test_scenarios.py``), not by its
configuration: a deep sigmoid net that loses gradient through depth but learns is labelled healthy.

    python bench/scenario_suite.py          # the table of precision and recall
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import torch
from sklearn import datasets as skd
from torch import nn

import gradmedic


# -- data ---------------------------------------------------------------------------------------------
def _t(x, dtype=torch.float32):
    return torch.tensor(np.asarray(x), dtype=dtype)


def circles(scale: float = 1.0):
    x, y = skd.make_circles(n_samples=1000, noise=0.1, random_state=1)
    x = x[:500] / np.abs(x[:500]).max(0)  # min-max-ish to [-1, 1], seed 004
    return _t(x * scale), _t(y[:500])[:, None]


def moons():
    x, y = skd.make_moons(n_samples=800, noise=0.15, random_state=2)
    x = (x - x.mean(0)) / x.std(0)
    return _t(x), _t(y)[:, None]


def classification(scale: float = 1.0, offset: float = 0.0):
    x, y = skd.make_classification(n_samples=800, n_features=20, n_informative=10, random_state=3)
    x = (x - x.mean(0)) / x.std(0)
    x = x * scale + offset
    return _t(x), _t(y)[:, None]


def regression(standardize_target: bool):
    x, y = skd.make_regression(n_samples=1000, n_features=20, noise=0.1, random_state=1)
    x, y = x[:500], y[:500]
    if standardize_target:
        y = (y - y.mean()) / y.std()
    return _t(x), _t(y)[:, None]


def digits(image: bool, raw: bool = False):
    d = skd.load_digits()
    x = d.data.astype(np.float64)
    x = x * 16 if raw else (x - x.mean()) / x.std()  # raw: 0..255 like pixel bytes
    if image:
        x = x.reshape(-1, 1, 8, 8)
    return _t(x[:1200]), _t(d.target[:1200], torch.long)


def sequences(T: int = 12, n: int = 1024, seed: int = 4, scale: float = 1.0):
    """Binary task: is the sum of a sequence of T numbers positive?  Inputs (n, T, 1)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, T, 1, generator=g)
    y = (x.sum(dim=(1, 2)) > 0).float()[:, None]
    return x * scale, y


def first_sign(T: int = 40, n: int = 1024, seed: int = 5):
    """Long-range task: the sign of the first element of a noisy sequence (seed 003 chain rule over time)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, T, 1, generator=g)
    y = (x[:, 0, 0] > 0).float()[:, None]
    return x, y


def chars(T: int = 16, n: int = 3000, seed: int = 0):
    """Next-character prediction on text that ships with Python (standard-library docstrings): (n, T) contexts,
    (n,) next characters, and the vocabulary size."""
    import importlib
    import inspect

    mods = ("os", "re", "json", "collections", "functools", "textwrap", "argparse", "logging", "pathlib", "csv")
    text = "\n".join(inspect.getdoc(importlib.import_module(m)) or "" for m in mods)
    text = "".join(c for c in text if 32 <= ord(c) < 127 or c == "\n")
    vocab = sorted(set(text))
    data = torch.tensor([vocab.index(c) for c in text])
    start = torch.randint(0, len(data) - T - 1, (n,), generator=torch.Generator().manual_seed(seed))
    return torch.stack([data[i:i + T] for i in start]), data[start + T], len(vocab)


# -- models -------------------------------------------------------------------------------------------
class CharLM(nn.Module):
    """A small causal transformer (pre-norm, GELU) that predicts the character after a context of T."""

    def __init__(self, vocab: int, T: int = 16, d: int = 64, layers: int = 2):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(T, d)
        layer = nn.TransformerEncoderLayer(d, 4, 4 * d, dropout=0.0, activation=nn.GELU(), batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.ln_f, self.lm_head = nn.LayerNorm(d), nn.Linear(d, vocab)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(T))

    def forward(self, x):
        T = x.shape[1]
        h = self.blocks(self.tok(x) + self.pos(torch.arange(T, device=x.device)), mask=self.mask[:T, :T], is_causal=True)
        return self.lm_head(self.ln_f(h[:, -1]))


class Block(nn.Module):
    def __init__(self, n_in: int, n_out: int, act: Callable[[], nn.Module], bn: bool = False):
        super().__init__()
        self.lin = nn.Linear(n_in, n_out)
        self.norm = nn.BatchNorm1d(n_out) if bn else nn.Identity()
        self.act = act()

    def forward(self, x):
        return self.act(self.norm(self.lin(x)))


class MLP(nn.Module):
    def __init__(self, n_in: int, widths: list[int], n_out: int, act: Callable[[], nn.Module], bn: bool = False):
        super().__init__()
        ws = [n_in] + widths
        self.encoder = nn.Sequential(*[Block(a, b, act, bn) for a, b in pairwise(ws)])
        self.head = nn.Linear(ws[-1], n_out)

    def forward(self, x):
        return self.head(self.encoder(x))


class CNN(nn.Module):
    def __init__(self, act: Callable[[], nn.Module] = nn.ReLU, ch: int = 8):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, ch, 3, padding=1), act(), nn.MaxPool2d(2),
                                      nn.Conv2d(ch, 2 * ch, 3, padding=1), act(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(2 * ch * 4, 32), act(), nn.Linear(32, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


class SeqNet(nn.Module):
    """Input projection, a recurrent core (RNN/LSTM/GRU), a head on the last state."""

    def __init__(self, kind: str, hidden: int = 32, nonlinearity: str = "tanh"):
        super().__init__()
        self.embed = nn.Linear(1, hidden)
        core = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
        kw = {"nonlinearity": nonlinearity} if kind == "rnn" else {}
        self.core = core(hidden, hidden, batch_first=True, **kw)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        out, _ = self.core(self.embed(x))
        return self.head(out[:, -1])


class TinyTransformer(nn.Module):
    def __init__(self, d: int = 32, layers: int = 2):
        super().__init__()
        self.proj = nn.Linear(1, d)
        enc = nn.TransformerEncoderLayer(d, nhead=4, dim_feedforward=64, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(enc, layers, enable_nested_tensor=False)
        self.cls = nn.Linear(d, 1)

    def forward(self, x):
        return self.cls(self.encoder(self.proj(x)).mean(1))


def init_all(model: nn.Module, fn: Callable[[torch.Tensor], Any], bias: float | None = 0.0,
             types=(nn.Linear, nn.Conv2d)) -> nn.Module:
    for m in model.modules():
        if isinstance(m, types):
            fn(m.weight)
            if bias is not None and m.bias is not None:
                nn.init.constant_(m.bias, bias)
    return model


# -- scenarios ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scenario:
    name: str
    family: str
    labels: frozenset
    why: str
    build: Callable[[], tuple]  # () -> (model, optimizer, x, y, loss_fn)
    steps: int = 300
    batch: int = 32
    reference_loss: float | None = math.log(2)  # chance level of the task's loss, what the user would know
    model_seed: int = 0  # added to the run's seed before building (picks a known initialization)
    fixed_init: bool = False  # the label rests on one particular initialization: build with model_seed alone
    # consequences of the labelled cause that the doctor may also report (neither required nor a false
    # positive): units killed by raw inputs or by a rate past stability (seed 002 §7.4.2)
    also: frozenset = frozenset()

    def run(self, steps: int | None = None, seed: int = 0, monitor_kwargs: dict | None = None) -> tuple[Any, dict]:
        """Train with the watch() contract; return (diagnosis, outcome)."""
        torch.manual_seed(self.model_seed if self.fixed_init else seed + self.model_seed)
        model, opt, x, y, loss_fn = self.build()
        n = len(x)
        g = torch.Generator().manual_seed(seed)
        steps = steps or self.steps
        kw = {"every": 10, "reference_loss": self.reference_loss, **(monitor_kwargs or {})}
        losses, nan_step = [], None
        t0 = time.perf_counter()
        with gradmedic.watch(model, opt, **kw) as monitor:
            perm, b = torch.randperm(n, generator=g), 0
            for step in range(1, steps + 1):
                if b + self.batch > n:
                    perm, b = torch.randperm(n, generator=g), 0
                idx = perm[b:b + self.batch]
                b += self.batch
                opt.zero_grad()
                loss = loss_fn(model(x[idx]), y[idx])
                loss.backward()
                monitor.step(loss)
                opt.step()
                lv = loss.item()
                losses.append(lv)
                if not math.isfinite(lv):
                    nan_step = step
                    break
            diagnosis = monitor.diagnose()
        model.eval()
        with torch.no_grad():
            out = model(x)
            final = float(loss_fn(out, y))
            if y.dtype == torch.long:
                acc = float((out.argmax(1) == y).float().mean())
            elif isinstance(loss_fn, nn.BCEWithLogitsLoss):
                acc = float(((out > 0).float() == y).float().mean())
            else:
                acc = None
        head = [v for v in losses[:10] if math.isfinite(v)]
        outcome = {"initial_loss": float(np.median(head)) if head else math.nan, "final_loss": final,
                   "accuracy": acc, "steps": len(losses), "nan_step": nan_step, "seconds": time.perf_counter() - t0}
        return diagnosis, outcome


def _sgd(model, lr, momentum=0.0):
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)


def _adam(model, lr=1e-3):
    return torch.optim.Adam(model.parameters(), lr=lr)


BCE, CE, MSE = nn.BCEWithLogitsLoss, nn.CrossEntropyLoss, nn.MSELoss
P = frozenset
normal = lambda std: (lambda w: nn.init.normal_(w, 0.0, std))  # noqa: E731
he = lambda w: nn.init.kaiming_uniform_(w, nonlinearity="relu")  # noqa: E731
const = lambda v: (lambda w: nn.init.constant_(w, v))  # noqa: E731


def _s(name, family, labels, why, build, also=(), **kw) -> Scenario:
    return Scenario(name, family, P(labels), why, build, also=P(also), **kw)


def _mlp(data, widths, act, init=None, bias=0.0, opt=lambda m: _sgd(m, 0.01, 0.9), loss=BCE, bn=False, n_out=1):
    def build():
        x, y = data()
        m = MLP(x.shape[1], widths, n_out, act, bn)
        if init:
            init_all(m, init, bias)
        return m, opt(m), x, y, loss()
    return build


def _cnn(data, act=nn.ReLU, init=None, bias=0.0, opt=lambda m: _adam(m)):
    def build():
        x, y = data()
        m = CNN(act)
        if init:
            init_all(m, init, bias)
        return m, opt(m), x, y, CE()
    return build


def _seq(data, kind, opt, init=None, nonlinearity="tanh"):
    def build():
        x, y = data()
        m = TinyTransformer() if kind == "transformer" else SeqNet(kind, nonlinearity=nonlinearity)
        if init:
            init(m)
        return m, opt(m), x, y, BCE()
    return build


LN10 = math.log(10)

class _SoftmaxOverOne(nn.Module):
    """A Keras-style binary classifier with Dense(1, softmax): the softmax of one unit is always 1."""

    def __init__(self):
        super().__init__()
        self.net = MLP(2, [16, 16], 1, nn.ReLU)

    def forward(self, x):
        return torch.softmax(self.net(x), dim=1)


class _SaturatedSigmoidOutput(nn.Module):
    """A sigmoid output whose bias starts at 40: exactly 1.0 in float32, then clamped by the loss."""

    def __init__(self):
        super().__init__()
        self.net = MLP(20, [32, 32], 1, nn.Tanh)
        nn.init.constant_(self.net.head.bias, 40.0)

    def forward(self, x):
        return torch.sigmoid(self.net(x))


def _clamped_bce(out, t):
    return nn.functional.binary_cross_entropy(out.clamp(1e-6, 1 - 1e-6), t)


def _softmax_over_one():
    x, y = moons()
    m = _SoftmaxOverOne()
    return m, _sgd(m, 0.1, 0.9), x, y, _clamped_bce


def _saturated_sigmoid_output():
    x, y = classification()
    m = _SaturatedSigmoidOutput()
    return m, _adam(m), x, y, _clamped_bce


def _char_lm(opt, probabilities: bool):
    """The character LM; ``probabilities``: the bug of a softmax before CrossEntropyLoss (which applies its own)."""
    def build():
        x, y, vocab = chars()
        m = CharLM(vocab)
        loss = (lambda out, t: nn.functional.cross_entropy(out.softmax(-1), t)) if probabilities else CE()
        return m, opt(m), x, y, loss
    return build


def _log_of_raw_output():
    x, y = moons()
    m = MLP(2, [16], 1, nn.ReLU)
    nn.init.constant_(m.head.bias, -5.0)  # the raw output starts negative: log() of it is NaN
    return m, _adam(m), x, y, lambda out, t: -(t * torch.log(out) + (1 - t) * torch.log(1 - out)).mean()


SCENARIOS: list[Scenario] = [
    # ---- healthy (measured: accuracy on the training set after the run) ----------------------------------
    _s("mlp_relu_he_circles", "mlp", [],
       "seed 004's ReLU/He net (5x5, SGD 0.01 momentum 0.9), seed 1: flat for ~300 steps, then learns",
       _mlp(circles, [5] * 5, nn.ReLU, he), steps=900, model_seed=1, fixed_init=True),
    _s("mlp_sigmoid_8x32_normal1", "mlp", [],
       "8x32 sigmoid, N(0,1) weights: loses gradient through depth, sits at 0.69 for ~400 steps, "
       "then learns (issue 3's example of a net that recovers)", _mlp(circles, [32] * 8, nn.Sigmoid, normal(1.0)), steps=900),
    _s("mlp_sigmoid_normal5_wide", "mlp", [], "2x128 sigmoid with N(0, 5) weights: saturated at first, yet reaches 0.99 on moons",
       _mlp(moons, [128] * 2, nn.Sigmoid, normal(5.0), opt=lambda m: _sgd(m, 0.01, 0.9))),
    _s("mlp_adam_moons", "mlp", [], "3x64 ReLU, Adam 1e-3 on standardized moons: 0.99",
       _mlp(moons, [64] * 3, nn.ReLU, he, opt=_adam)),
    _s("mlp_tanh_bn_classification", "mlp", [], "4x64 tanh with batch norm on 20 standardized features: 0.94",
       _mlp(classification, [64] * 4, nn.Tanh, bn=True, opt=lambda m: _sgd(m, 0.05, 0.9))),
    _s("mlp_regression_standardized", "mlp", [], "seed 004 regression with a standardized target: MSE 2.4 -> 0.02",
       _mlp(lambda: regression(True), [25], nn.ReLU, he, opt=lambda m: _sgd(m, 0.01, 0.9), loss=MSE), reference_loss=1.0),
    _s("cnn_digits_adam", "cnn", [], "2-block CNN on standardized digits, Adam 1e-3: 0.94", _cnn(lambda: digits(True)),
       reference_loss=LN10),
    _s("lstm_sum_sign", "lstm", [], "LSTM on the sign of a sum of 12 numbers, Adam: 0.92",
       _seq(sequences, "lstm", lambda m: _adam(m, 3e-3))),
    _s("gru_sum_sign", "rnn", [], "GRU on the sign of a sum, Adam: 0.98", _seq(sequences, "gru", lambda m: _adam(m, 3e-3))),
    _s("lm_char_adam", "transformer", [], "character LM (2 pre-norm blocks), Adam 3e-3, logits into CrossEntropyLoss: "
       "loss 3.9 -> 1.43, accuracy 0.60 (63 classes)", _char_lm(lambda m: _adam(m, 3e-3), False), steps=400, reference_loss=None),
    _s("transformer_sum_sign", "transformer", [], "2-layer Transformer encoder on the sign of a sum, Adam: 0.998",
       _seq(sequences, "transformer", lambda m: _adam(m, 1e-3))),
    # ---- vanishing gradients ---------------------------------------------------------------------------
    _s("mlp_seed004_sigmoid_normal1", "mlp", ["vanishing_gradients"],
       "seed 004: 5x5 sigmoid with N(0,1) weights stays at chance (0.50)",
       _mlp(circles, [5] * 5, nn.Sigmoid, normal(1.0))),
    _s("mlp_tanh_normal001_deep", "mlp", ["vanishing_gradients"],
       "seed 002 Fig. 7.23: 8x32 tanh with N(0, 0.01): activations and gradients collapse; 0.50",
       _mlp(moons, [32] * 8, nn.Tanh, normal(0.01))),
    _s("mlp_sigmoid_glorot_deep", "mlp", ["vanishing_gradients"],
       "10x16 sigmoid with Glorot on circles: sigmoid's 1/4 derivative compounds; 0.50",
       _mlp(circles, [16] * 10, nn.Sigmoid, nn.init.xavier_uniform_)),
    # ---- exploding gradients / non-finite -------------------------------------------------------------
    _s("mlp_seed004_regression_unscaled", "mlp", ["exploding_gradients", "non_finite", "unscaled_target"],
       "seed 004: unscaled regression target, Dense 25 ReLU He, SGD 0.01 momentum 0.9: NaN at step 8",
       _mlp(lambda: regression(False), [25], nn.ReLU, he, loss=MSE), reference_loss=None),
    _s("mlp_relu_normal1_deep", "mlp", ["exploding_gradients", "non_finite"],
       "8x64 ReLU with N(0,1) weights: the signal grows ~sqrt(32)x a layer; NaN at step 3",
       _mlp(classification, [64] * 8, nn.ReLU, normal(1.0), opt=lambda m: _sgd(m, 0.01))),
    _s("rnn_large_recurrent", "rnn", ["exploding_gradients", "non_finite"],
       "ReLU RNN with recurrent weights N(0, 1) over 30 steps: NaN at step 2",
       _seq(lambda: sequences(T=30), "rnn", lambda m: _sgd(m, 0.01), init=lambda m: nn.init.normal_(m.core.weight_hh_l0, 0, 1.0),
            nonlinearity="relu"),
       steps=200),
    _s("mlp_sgd_lr3_diverges", "mlp", ["exploding_gradients", "non_finite", "lr_too_high"],
       "3x64 ReLU with SGD lr 3: the loss runs from 17 to 5e19, NaN at step 7 (the rate is the cause: issue 8 added lr_too_high "
       "for a loss 10x chance, reported at the step it happens)",
       _mlp(moons, [64] * 3, nn.ReLU, he, opt=lambda m: _sgd(m, 3.0))),
    _s("mlp_log_of_raw_output", "mlp", ["non_finite"],
       "a hand-written cross-entropy takes log() of a raw, negative output: NaN at step 1",
       _log_of_raw_output),
    # ---- dead units -----------------------------------------------------------------------------------
    _s("mlp_seed004_relu_dead_at_init", "mlp", ["dead_units"],
       "seed 004's ReLU/He net, seed 0: a whole layer of 5 is silent from the start; 0.50",
       _mlp(circles, [5] * 5, nn.ReLU, he), fixed_init=True),
    _s("mlp_relu_negative_bias", "mlp", ["dead_units"], "3x32 ReLU with biases -3: every unit silent for every input; 0.50",
       _mlp(moons, [32] * 3, nn.ReLU, he, bias=-3.0)),
    _s("cnn_relu_negative_bias", "cnn", ["dead_units"], "CNN whose biases are -10: all feature maps silent; 0.10",
       _cnn(lambda: digits(True), init=nn.init.kaiming_uniform_, bias=-10.0), reference_loss=LN10),
    _s("mlp_adam_lr03_kills_relus", "mlp", ["dead_units", "lr_too_high"],
       "seed 002 §7.4.2: Adam at lr 0.3 pushes ReLUs where they never fire again; 0.50 (the rate killed them: lr_too_high too)",
       _mlp(circles, [32] * 3, nn.ReLU, he, opt=lambda m: _adam(m, 0.3)), steps=400),
    _s("cnn_sgd_lr1_kills_relus", "cnn", ["dead_units", "lr_too_high"],
       "CNN with SGD lr 1.0 (100x its usual rate): 88% of a conv layer's maps go silent; 0.24 (the rate killed them: "
       "lr_too_high too)",
       _cnn(lambda: digits(True), opt=lambda m: _sgd(m, 1.0)), reference_loss=LN10),
    # ---- saturated units ------------------------------------------------------------------------------
    _s("mlp_tanh_normal5", "mlp", ["saturated_units", "initial_loss_high"],
       "3x64 tanh with N(0, 5) weights: units pinned at +-1; loss 15 -> 4.5 (21x, then 6.5x the chance level ln 2), 0.72",
       _mlp(classification, [64] * 3, nn.Tanh, normal(5.0), opt=lambda m: _sgd(m, 0.01, 0.9))),
    _s("mlp_sigmoid_inputs_x1000", "mlp", ["saturated_units", "unscaled_inputs"],
       "inputs scaled by 1000 into sigmoid units: 98% saturated; 0.54",
       _mlp(lambda: circles(1000.0), [32] * 2, nn.Sigmoid, nn.init.xavier_uniform_, opt=lambda m: _sgd(m, 0.01, 0.9))),
    # ---- learning rate too high (loss rises, stays finite) --------------------------------------------
    _s("mlp_tanh_sgd_lr5", "mlp", ["lr_too_high", "saturated_units"],
       "2x32 tanh, SGD lr 5 momentum 0.9: loss 9 -> 36, units saturate",
       _mlp(moons, [32] * 2, nn.Tanh, nn.init.xavier_uniform_, opt=lambda m: _sgd(m, 5.0, 0.9))),
    _s("cnn_tanh_sgd_lr2", "cnn", ["lr_too_high", "saturated_units"], "tanh CNN, SGD lr 2 momentum 0.9: loss 5 -> 158, 0.10",
       _cnn(lambda: digits(True), nn.Tanh, opt=lambda m: _sgd(m, 2.0, 0.9)), reference_loss=LN10),
    _s("lstm_sgd_lr30", "lstm", ["lr_too_high"], "LSTM, SGD lr 30 momentum 0.9: the loss climbs 3.5x in 28 steps; 0.64",
       _seq(sequences, "lstm", lambda m: _sgd(m, 30.0, 0.9)), also=["dead_units"]),
    _s("gru_sgd_lr20", "rnn", ["lr_too_high"], "GRU, SGD lr 20 momentum 0.9: loss 65 -> 416; 0.51",
       _seq(sequences, "gru", lambda m: _sgd(m, 20.0, 0.9))),
    # ---- learning rate too low ------------------------------------------------------------------------
    _s("mlp_sgd_lr_too_low", "mlp", ["lr_too_low"], "3x64 ReLU with SGD lr 1e-6: the loss does not move (1.00 -> 1.02)",
       _mlp(moons, [64] * 3, nn.ReLU, he, opt=lambda m: _sgd(m, 1e-6))),
    _s("cnn_sgd_lr_too_low", "cnn", ["lr_too_low"], "CNN with SGD lr 1e-6: 2.31 -> 2.31",
       _cnn(lambda: digits(True), opt=lambda m: _sgd(m, 1e-6)),
       reference_loss=LN10),
    _s("lstm_adam_lr_too_low", "lstm", ["lr_too_low"], "LSTM with Adam lr 1e-7: 0.718 -> 0.717",
       _seq(sequences, "lstm", lambda m: _adam(m, 1e-7))),
    # ---- plateau ---------------------------------------------------------------------------------------
    _s("mlp_relu_sgd_no_momentum", "mlp", ["plateau"],
       "seed 004's ReLU/He net (seed 1) with plain SGD 0.01: the flat start that momentum "
       "escapes in 300 steps lasts the whole run; 0.58 (seed 002 §7.1, §7.3.1)",
       _mlp(circles, [5] * 5, nn.ReLU, he, opt=lambda m: _sgd(m, 0.01)),
       steps=900, model_seed=1, fixed_init=True),
    _s("mlp_tanh_sgd_slow", "mlp", ["plateau"],
       "3x16 tanh, Glorot, plain SGD 0.003 on circles: stays at 0.69 for 900 steps; 0.53",
       _mlp(circles, [16] * 3, nn.Tanh, nn.init.xavier_uniform_, opt=lambda m: _sgd(m, 0.003)), steps=900),
    # ---- unscaled inputs ------------------------------------------------------------------------------
    _s("mlp_unscaled_features", "mlp", ["unscaled_inputs"],
       "features of std 1e4 and mean 5e3 into a tanh MLP with Adam: 0.84 vs 0.94 standardized",
       _mlp(lambda: classification(1e4, 5e3), [32] * 2, nn.Tanh, nn.init.xavier_uniform_, opt=_adam)),
    _s("cnn_raw_pixels", "cnn", ["unscaled_inputs"],
       "ReLU CNN on raw pixel values 0..255 with SGD momentum: 0.63 vs 0.94 standardized",
       _cnn(lambda: digits(True, raw=True), nn.ReLU, opt=lambda m: _sgd(m, 0.01, 0.9)), reference_loss=LN10, also=["dead_units"]),
    # ---- no gradient reaches the weights (issue 8) -------------------------------------------------------
    _s("mlp_softmax_one_unit", "mlp", ["no_gradient"], "softmax over a single output unit (Keras Dense(1, softmax)) under a "
       "clamped BCE: every gradient is exactly 0; loss 7.5 -> 8.0", _softmax_over_one),
    _s("mlp_sigmoid_output_clamped", "mlp", ["no_gradient"], "sigmoid output saturated at exactly 1.0 (bias 40) under a clamped "
       "BCE: the clamp passes no gradient; loss 6.9 -> 6.9", _saturated_sigmoid_output),
    # ---- initial loss far above chance (issue 8) -------------------------------------------------------
    _s("cnn_normal1_logits", "cnn", ["initial_loss_high"],
       "CNN with N(0, 1) weights on digits, Adam 1e-3: the first loss is 1200 "
       "(540x ln 10), 300 after 100 steps; 0.28", _cnn(lambda: digits(True), init=normal(1.0)), reference_loss=None),
    # ---- the loss saturates: probabilities fed to a loss that expects logits (issue 8) ------------------
    _s("lm_softmax_into_ce", "transformer", ["saturated_loss"], "character LM (2 pre-norm blocks, Adam 3e-3) whose logits go "
       "through a softmax before CrossEntropyLoss: loss 4.5 -> 4.33, accuracy 0.21; 1.43 and 0.60 with the logits",
       _char_lm(lambda m: _adam(m, 3e-3), True), steps=400, reference_loss=None),
    _s("lm_softmax_into_ce_sgd", "transformer", ["saturated_loss"], "the same LM with SGD 0.3 momentum 0.9: loss 4.5 -> 4.33, "
       "accuracy 0.21; 2.63 with the logits", _char_lm(lambda m: _sgd(m, 0.3, 0.9), True), steps=400, reference_loss=None),
    # ---- unscaled regression target (issue 8) ----------------------------------------------------------
    _s("mlp_regression_unscaled_adam", "mlp", ["unscaled_target"], "seed 004's regression net (Dense 25 ReLU, He) with Adam 1e-3 "
       "on the raw target (values ~140): MSE 19054 -> 19102 in 300 steps; 0.02 standardized",
       _mlp(lambda: regression(False), [25], nn.ReLU, he, opt=_adam, loss=MSE), reference_loss=None),
    _s("mlp_regression_unscaled_rmsprop", "mlp", ["unscaled_target"], "2x32 tanh, Glorot, RMSprop 1e-3 on the raw regression "
       "target: MSE 18881 -> 15941 in 300 steps",
       _mlp(lambda: regression(False), [32, 32], nn.Tanh, nn.init.xavier_uniform_,
            opt=lambda m: torch.optim.RMSprop(m.parameters(), lr=1e-3), loss=MSE), reference_loss=None),
    # ---- symmetric units ------------------------------------------------------------------------------
    _s("mlp_constant_init", "mlp", ["symmetric_units"],
       "seed 002 §7.5: 3x32 tanh with every weight 0.1: units move in lock step, "
       "so each layer acts as one unit and cannot separate the circles",
       _mlp(circles, [32] * 3, nn.Tanh, const(0.1), opt=lambda m: _sgd(m, 0.1, 0.9))),
    _s("cnn_constant_init", "cnn", ["symmetric_units"], "CNN with every weight 0.01: 0.20",
       _cnn(lambda: digits(True), init=const(0.01),
       opt=lambda m: _sgd(m, 0.05, 0.9)), reference_loss=LN10),
]
