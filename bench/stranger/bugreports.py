"""Corpus (c) of the stranger's benchmark: public bug reports, ported to small PyTorch loops.

Each port is a question-and-answer post (Stack Exchange, a forum, a GitHub issue) whose answer,
accepted or confirmed by the asker or a maintainer, names the fix.  The *broken* run is the asker's
setup (Keras posts translated: same layer shapes, activations, initializers - Keras' glorot-uniform
kernels and zero biases -, optimizer, rate, loss, preprocessing); its *control* is the same code with
the answer's fix applied and nothing else.  Where the asker's data is not available it is replaced by
an sklearn or synthetic set of the same kind and scale (raw 0..255 pixels, raw features of mean ~1e3,
prices in the hundreds of thousands).  Where a post leaves a detail open (width, optimizer, data) the
port says which common default it took, in ``assumed``.

The cause of each port is the key of ``causes.CAUSES`` that the *answer's* fix removes, not what a
doctor might say.  A broken run is labelled by ``causes.clearly_better`` (broken / ambiguous); the
fixed run is saved too, as a healthy case (cause "healthy", name suffix "-fixed"), when it trains well.

    python bench/stranger/bugreports.py                       # every port, seeds 0 and 1
    python bench/stranger/bugreports.py --only keras-linreg-tv-nan --seeds 1
    python bench/stranger/bugreports.py --list

Posts read and left out (their fix fits no cause key, or the answer's text was not found):
  - datascience.stackexchange.com/questions/38604 (MNIST, one sigmoid unit, BCE on labels 0..9): the
    answer's text was not retrieved, so its fix could not be taken from it.
  - discuss.pytorch.org/t/output-of-the-model-depends-on-the-shape-of-the-weights-tensor/148155 and
    discuss.pytorch.org/t/why-the-model-fail-to-converge-without-a-manul-weight-initialization/50431:
    a (N, 1) output against an (N,) target broadcast in MSELoss - no cause key.
  - github.com/keras-team/keras/issues/521 (ReLU on the regression output): no cause key.
  - github.com/hunkim/DeepLearningZeroToAll/pull/11 (SGD replaced by RMSprop): an optimizer swap, no key.
  - geeksmental.com/question/why-does-accuracy-remain-the-same, github.com/keras-team/keras/issues/2711,
    /3753, /4171, /2134, /13006: no answer naming a fix was found.
  - datascience.stackexchange.com/questions/28481 (binary CNN collapses to 0.5 under SGD 0.01; answer: Adam at
    0.001): the collapse came after many good epochs; in a few hundred steps SGD 0.01 is only slower than
    Adam, so the port would label a slow run with the opposite cause.  Left out.
  - stats.stackexchange.com/questions/324896 (RNN, "the learning rate was too high"): the optimizer is
    not given, so the rate cannot be ported.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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
EVERY = 10
LR_CNTK = 0.8


# ----------------------------------------------------------------------------------------------- helpers

@dataclass
class Run:
    monitor: object
    value: float          # the port's metric on held-out data (accuracy: higher is better; others: lower)
    steps: int
    first_nonfinite: int | None = None


@dataclass
class Port:
    name: str
    url: str
    title: str
    symptom: str
    fix: str
    cause: str
    family: str
    metric: str            # "accuracy" or a loss-like metric (lower is better)
    good: float            # the fixed run counts as healthy when its metric reaches this
    build: Callable[[bool, int], Run]
    assumed: str = ""
    related: list[str] = field(default_factory=list)

    def is_good(self, v: float) -> bool:
        if not math.isfinite(v):
            return False
        return v >= self.good if self.metric == "accuracy" else v <= self.good


def keras_init(model: nn.Module, forget_bias: bool = True) -> nn.Module:
    """Keras defaults: glorot-uniform kernels, zero biases; LSTM: orthogonal recurrent kernel, forget bias 1."""
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.LSTM, nn.RNN)):
            for n, p in m.named_parameters():
                if n.startswith("weight_ih"):
                    for w in p.data.chunk(4 if isinstance(m, nn.LSTM) else 1, 0):
                        nn.init.xavier_uniform_(w)
                elif n.startswith("weight_hh"):
                    for w in p.data.chunk(4 if isinstance(m, nn.LSTM) else 1, 0):
                        nn.init.orthogonal_(w)
                elif n.startswith("bias"):
                    nn.init.zeros_(p)
                    if forget_bias and isinstance(m, nn.LSTM) and n.startswith("bias_ih"):
                        h = m.hidden_size
                        p.data[h:2 * h] = 1.0
    return model


def batches(x, y, bs, g, shuffle=True):
    n = len(x)
    while True:
        idx = torch.randperm(n, generator=g) if shuffle else torch.arange(n)
        for b in range(0, n, bs):
            j = idx[b:b + bs]
            yield x[j], y[j]


def fit(model, opt, loss_fn, it, steps, clip=None, sched=None, nonfinite_tail=5) -> tuple[object, int, int | None]:
    """The asker's loop: zero_grad, forward, loss, backward, (clip), step.  Watched every EVERY steps.
    After the first non-finite loss it runs ``nonfinite_tail`` more steps and stops."""
    monitor = gradmedic.watch(model, opt, every=EVERY)
    model.train()
    first_bad = None
    done = 0
    for s in range(steps):
        x, y = next(it)
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        monitor.step(loss)
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        if sched is not None:
            sched(s)
        done = s + 1
        if first_bad is None and not torch.isfinite(loss.detach()).item():
            first_bad = s + 1
        if first_bad is not None and s + 1 - first_bad >= nonfinite_tail:
            break
    model.eval()
    return monitor, done, first_bad


def finish(model, opt, loss_fn, it, steps, evaluate, **kw) -> Run:
    monitor, done, bad = fit(model, opt, loss_fn, it, steps, **kw)
    with torch.no_grad():
        v = float(evaluate())
    return Run(monitor, v, done, bad)


def acc(logits_or_probs, y):
    if logits_or_probs.shape[-1] == 1:
        return ((logits_or_probs.squeeze(-1) > 0.5).long() == y.long().view(-1)).float().mean().item()
    return (logits_or_probs.argmax(-1) == y.view(-1)).float().mean().item()


def nmse(pred, y):
    """MSE in the target's original units over the target's variance (1 = predicting the mean)."""
    pred, y = pred.reshape(-1).double(), y.reshape(-1).double()
    return (((pred - y) ** 2).mean() / y.var()).item()


def split(x, y, n_test, seed=0):
    rs = np.random.RandomState(seed)
    p = rs.permutation(len(x))
    te, tr = p[:n_test], p[n_test:]
    return x[tr], y[tr], x[te], y[te]


def digits(pixels255=False, images=False):
    from sklearn.datasets import load_digits
    d = load_digits()
    x = d.data.astype(np.float32)
    if pixels255:
        x = x * (255.0 / 16.0)
    if images:
        x = x.reshape(-1, 1, 8, 8)
    xtr, ytr, xte, yte = split(x, d.target, 360)
    t = torch.tensor
    return t(xtr), t(ytr).long(), t(xte), t(yte).long()


def standardize(xtr, xte):
    m, s = xtr.mean(0, keepdim=True), xtr.std(0, keepdim=True) + 1e-8
    return (xtr - m) / s, (xte - m) / s


def keras_cce(probs, onehot):
    """Keras categorical_crossentropy on probabilities: normalizes over the last axis, clips to [1e-7, 1-1e-7]."""
    p = probs / probs.sum(-1, keepdim=True)
    p = p.clamp(1e-7, 1 - 1e-7)
    return -(onehot * p.log()).sum(-1).mean()


def keras_bce(probs, y):
    p = probs.clamp(1e-7, 1 - 1e-7)
    return -(y * p.log() + (1 - y) * (1 - p).log()).mean()


class Lam(nn.Module):
    def __init__(self, f):
        super().__init__()
        self.f = f

    def forward(self, x):
        return self.f(x)


# ----------------------------------------------------------------------------------------------- ports

def p_linreg_tv(fixed, seed):
    """stats.SE 284189: Dense(1) on TV budget -> sales, SGD() default 0.01, batch 1, no shuffle: NaN."""
    rs = np.random.RandomState(100)
    x = rs.uniform(0.7, 296.4, 200).astype(np.float32)          # Advertising data: TV budget
    y = (7.03 + 0.0475 * x + rs.normal(0, 3.26, 200)).astype(np.float32)  # sales
    xt, yt = torch.tensor(x)[:, None], torch.tensor(y)[:, None]
    if fixed:  # the answer: StandardScaler on x and on y
        xm, xs, ym, ys = xt.mean(), xt.std(), yt.mean(), yt.std()
        xin, yin = (xt - xm) / xs, (yt - ym) / ys
    else:
        xin, yin, ym, ys = xt, yt, 0.0, 1.0
    torch.manual_seed(seed)
    model = keras_init(nn.Linear(1, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(seed)
    return finish(model, opt, F.mse_loss, batches(xin, yin, 1, g, shuffle=False), 600,
                  lambda: nmse(model(xin) * ys + ym, yt))


def p_cnn_binary_sgd(fixed, seed):
    """datascience.SE 28481: binary CNN, BCE, SGD lr 0.01, batch 128 collapses to 0.5; answer: Adam at 0.001."""
    xtr, ytr, xte, yte = digits(images=True)
    xtr, xte = xtr / 16.0, xte / 16.0
    ytr, yte = (ytr % 2).float(), (yte % 2).float()
    torch.manual_seed(seed)
    model = keras_init(nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                     nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                     nn.Flatten(), nn.Linear(256, 64), nn.ReLU(), nn.Linear(64, 1), nn.Sigmoid()))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7) if fixed else torch.optim.SGD(model.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(seed)
    return finish(model, opt, lambda p, y: keras_bce(p, y[:, None]), batches(xtr, ytr, 128, g), 400,
                  lambda: acc(model(xte), yte))


def p_cnn_raw_pixels(fixed, seed):
    """SO (via pullrequest.ru 10248037): Keras CNN converges to one value for every input; answer: x / 255."""
    xtr, ytr, xte, yte = digits(pixels255=True, images=True)
    if fixed:
        xtr, xte = xtr / 255.0, xte / 255.0
    torch.manual_seed(seed)
    model = keras_init(nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
                                     nn.Flatten(), nn.Linear(64 * 2 * 2, 128), nn.ReLU(), nn.Linear(128, 10)))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(seed)
    return finish(model, opt, F.cross_entropy, batches(xtr, ytr, 32, g), 450, lambda: acc(model(xte), yte))


def _tabular_binary():
    from sklearn.datasets import load_breast_cancer
    d = load_breast_cancer()
    xtr, ytr, xte, yte = split(d.data.astype(np.float32), d.target, 113)
    t = torch.tensor
    return t(xtr), t(ytr).float(), t(xte), t(yte).float()


def p_softmax_one_unit_cce(fixed, seed):
    """SO (via boohere.com 80265): Dense(1, softmax) + categorical_crossentropy always answers class 0;
    answer: Dense(2, softmax) + categorical_crossentropy on one-hot labels."""
    xtr, ytr, xte, yte = _tabular_binary()
    xtr, xte = standardize(xtr, xte)
    torch.manual_seed(seed)
    k = 2 if fixed else 1
    model = keras_init(nn.Sequential(nn.Linear(30, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, k),
                                     nn.Softmax(-1)))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    g = torch.Generator().manual_seed(seed)
    if fixed:
        def loss(p, y):
            return keras_cce(p, F.one_hot(y.long(), 2).float())
        def ev():
            return acc(model(xte), yte.long())
    else:
        def loss(p, y):
            return keras_cce(p, y[:, None])
        def ev():
            return ((model(xte)[:, 0] > 0.5).float() == yte).float().mean().item()
    return finish(model, opt, loss, batches(xtr, ytr, 32, g), 300, ev)


def p_softmax_one_unit_bce(fixed, seed):
    """geek-tips 557592 (SO answer): binary_crossentropy behind a 1-unit softmax is always 1.0; answer: sigmoid."""
    from sklearn.datasets import make_classification
    x, y = make_classification(n_samples=1200, n_features=20, n_informative=8, random_state=3)
    xtr, ytr, xte, yte = split(x.astype(np.float32), y, 300)
    t = torch.tensor
    xtr, ytr, xte, yte = t(xtr), t(ytr).float(), t(xte), t(yte).float()
    torch.manual_seed(seed)
    model = keras_init(nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 1), nn.Sigmoid() if fixed else nn.Softmax(-1)))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    g = torch.Generator().manual_seed(seed)
    return finish(model, opt, lambda p, y: keras_bce(p, y[:, None]), batches(xtr, ytr, 32, g), 300,
                  lambda: acc(model(xte), yte))


class _LSTMHead(nn.Module):
    def __init__(self, nin, hidden, nout, act, layers=1, dropout=0.0):
        super().__init__()
        self.lstm = nn.LSTM(nin, hidden, num_layers=layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, nout)
        self.act = act

    def forward(self, x):
        h, _ = self.lstm(x)
        return self.act(self.out(self.drop(h[:, -1])))


def p_lstm_cce_one_output(fixed, seed):
    """stats.SE 565956: LSTM, Dense(1, sigmoid), categorical_crossentropy predicts one class only;
    answer: k output units (softmax) for categorical cross-entropy."""
    rs = np.random.RandomState(7)
    n, T, f = 3000, 5, 10
    x = rs.randint(0, 8, size=(n, T, f)).astype(np.float32)      # label-encoded categories, as the asker's
    score = x[:, :, 0].mean(1) - x[:, :, 2].mean(1) + 0.5 * (x[:, -1, 1] - 3.5)
    y = (score > np.median(score)).astype(np.int64)
    xtr, ytr, xte, yte = split(x, y, 600)
    t = torch.tensor
    xtr, ytr, xte, yte = t(xtr), t(ytr), t(xte), t(yte)
    torch.manual_seed(seed)
    k = 2 if fixed else 1
    model = keras_init(_LSTMHead(f, 32, k, nn.Softmax(-1) if fixed else nn.Sigmoid()))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    g = torch.Generator().manual_seed(seed)
    if fixed:
        def loss(p, y):
            return keras_cce(p, F.one_hot(y, 2).float())
    else:
        def loss(p, y):
            return keras_cce(p, y[:, None].float())
    return finish(model, opt, loss, batches(xtr, ytr, 64, g), 300, lambda: acc(model(xte), yte))


def p_fashion_tutorial_raw(fixed, seed):
    """stats.SE 372762: the TF basic-classification tutorial without /255 falls to 10% accuracy."""
    xtr, ytr, xte, yte = digits(pixels255=True)
    if fixed:
        xtr, xte = xtr / 255.0, xte / 255.0
    torch.manual_seed(seed)
    model = keras_init(nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10), nn.Softmax(-1)))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    g = torch.Generator().manual_seed(seed)
    return finish(model, opt, lambda p, y: keras_cce(p, F.one_hot(y, 10).float()), batches(xtr, ytr, 32, g), 225,
                  lambda: acc(model(xte), yte))


def p_keras510_mlp_nan(fixed, seed):
    """keras-team/keras#510: an MLP under SGD(0.01, decay 1e-6, momentum 0.9, nesterov) gives NaN loss;
    fchollet: give each input dimension zero mean and unit variance."""
    xtr, ytr, xte, yte = _tabular_binary()
    if fixed:
        xtr, xte = standardize(xtr, xte)
    torch.manual_seed(seed)
    model = keras_init(nn.Sequential(nn.Linear(30, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 2),
                                     nn.Softmax(-1)))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)

    def decay(s):
        for gr in opt.param_groups:
            gr["lr"] = 0.01 / (1 + 1e-6 * (s + 1))
    g = torch.Generator().manual_seed(seed)
    return finish(model, opt, lambda p, y: keras_cce(p, F.one_hot(y.long(), 2).float()), batches(xtr, ytr, 32, g), 300,
                  lambda: acc(model(xte), yte.long()), sched=decay)


def _markov_text(n_tokens, vocab, seed):
    rs = np.random.RandomState(seed)
    trans = rs.dirichlet(np.full(vocab, 0.1), size=vocab)
    s = np.empty(n_tokens, np.int64)
    s[0] = 0
    for i in range(1, n_tokens):
        s[i] = rs.choice(vocab, p=trans[s[i - 1]])
    return torch.tensor(s)


class _LM(nn.Module):
    def __init__(self, vocab, emb, hidden, layers):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden, num_layers=layers, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, x):
        h, _ = self.lstm(self.emb(x))
        return self.out(h)


def p_lstm_lm_noclip(fixed, seed):
    """Marcovaldong/lstmp.pytorch#2: LSTM cross-entropy goes NaN after ~1200 iterations; the asker:
    clipping the gradients to a max norm of 1.0 makes it train."""
    vocab, T, bs = 24, 35, 20
    data = _markov_text(40000, vocab, 11)
    test = _markov_text(4000, vocab, 11)[:4000 // (T + 1) * (T + 1)].view(-1, T + 1)
    n = (len(data) - 1) // T

    def it():
        g = torch.Generator().manual_seed(seed)
        while True:
            starts = torch.randint(0, n - 1, (bs,), generator=g) * T
            seq = torch.stack([data[s:s + T + 1] for s in starts.tolist()])
            yield seq[:, :-1], seq[:, 1:]
    torch.manual_seed(seed)
    model = _LM(vocab, 32, 64, 2)
    opt = torch.optim.SGD(model.parameters(), lr=20.0)
    def loss(o, y):
        return F.cross_entropy(o.reshape(-1, vocab), y.reshape(-1))
    return finish(model, opt, loss, it(), 300,
                  lambda: F.cross_entropy(model(test[:, :-1]).reshape(-1, vocab), test[:, 1:].reshape(-1)).item(),
                  clip=1.0 if fixed else None)


def p_rnn_cost_jump(fixed, seed):
    """stats.SE 487194: an RNN's cost falls, jumps at step 16 and never recovers (lr decay in place);
    answer (487195): clip the gradients (e.g. at 1.0)."""
    rs = np.random.RandomState(5)
    n, T = 2000, 10
    x = rs.uniform(-1, 1, size=(n, T, 2)).astype(np.float32)
    mark = np.zeros((n, T), np.float32)
    for i in range(n):
        mark[i, rs.choice(T, 2, replace=False)] = 1
    x[:, :, 1] = mark
    y = (x[:, :, 0] * mark).sum(1, keepdims=True).astype(np.float32)   # the adding problem
    xtr, ytr, xte, yte = split(x, y, 400)
    t = torch.tensor
    xtr, ytr, xte, yte = t(xtr), t(ytr), t(xte), t(yte)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.RNN(2, 64, batch_first=True)
            self.out = nn.Linear(64, 1)

        def forward(self, x):
            h, _ = self.rnn(x)
            return self.out(h[:, -1])
    torch.manual_seed(seed)
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    sch = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.995)
    g = torch.Generator().manual_seed(seed)
    return finish(model, opt, F.mse_loss, batches(xtr, ytr, 32, g), 500, lambda: nmse(model(xte), yte),
                  clip=1.0 if fixed else None, sched=lambda s: sch.step())


def p_nielsen_relu(fixed, seed):
    """MichalDanielDobrzanski/DeepLearningPython#13: Nielsen's network with sigmoid swapped for ReLU stays at
    9.5%; answer: learning rate 0.01 and weights and biases initialized 10x smaller."""
    xtr, ytr, xte, yte = digits()
    xtr, xte = xtr / 16.0, xte / 16.0
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 30), nn.ReLU(), nn.Linear(30, 10), nn.ReLU())
    scale = 0.1 if fixed else 1.0
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, scale)  # np.random.randn (x 0.1)
            nn.init.normal_(m.bias, 0, scale)
    opt = torch.optim.SGD(model.parameters(), lr=0.01 if fixed else 3.0)
    g = torch.Generator().manual_seed(seed)
    def loss(a, y):  # quadratic cost
        return 0.5 * ((a - F.one_hot(y, 10).float()) ** 2).sum(-1).mean()
    return finish(model, opt, loss, batches(xtr, ytr, 10, g), 1000, lambda: acc(model(xte), yte))


def p_cntk_deep_sigmoid(fixed, seed):
    """microsoft/CNTK#476: 6 hidden sigmoid layers train, a 7th makes training stall from the start;
    Dong Yu: use a smaller learning rate for the first epoch."""
    xtr, ytr, xte, yte = digits()
    xtr, xte = standardize(xtr, xte)
    torch.manual_seed(seed)
    layers, w = [], 64
    for _ in range(7):
        layers += [nn.Linear(w, 256), nn.Sigmoid()]
        w = 256
    model = nn.Sequential(*layers, nn.Linear(256, 10))
    opt = torch.optim.SGD(model.parameters(), lr=LR_CNTK, momentum=0.9)
    epoch = len(xtr) // 32

    def sched(s):
        for gr in opt.param_groups:
            gr["lr"] = LR_CNTK / 10 if (fixed and s + 1 < epoch) else LR_CNTK
    if fixed:
        sched(-1)
    g = torch.Generator().manual_seed(seed)
    return finish(model, opt, F.cross_entropy, batches(xtr, ytr, 32, g), 450, lambda: acc(model(xte), yte), sched=sched)


def p_linreg_increasing(fixed, seed):
    """fixeme.com 'Why is my loss function increasing with each epoch?': Dense(1), SGD default, xs 1..20:
    loss grows every epoch; answer: SGD(learning_rate=0.0001)."""
    xs = torch.arange(1, 21, dtype=torch.float32)[:, None]
    ys = xs * 0.5
    torch.manual_seed(seed)
    model = keras_init(nn.Linear(1, 1))
    opt = torch.optim.SGD(model.parameters(), lr=1e-4 if fixed else 0.01)
    g = torch.Generator().manual_seed(seed)
    return finish(model, opt, F.mse_loss, batches(xs, ys, 32, g), 500, lambda: nmse(model(xs), ys))


def p_keras3040_linreg(fixed, seed):
    """keras-team/keras#3040: y = 2x on x = 0..199, Dense(1), SGD lr 0.001, batch 1: NaN weights;
    the asker: 'realized my learning rate was too high'."""
    x = torch.arange(200, dtype=torch.float32)[:, None]
    y = 2.0 * x
    torch.manual_seed(seed)
    model = keras_init(nn.Linear(1, 1))
    opt = torch.optim.SGD(model.parameters(), lr=1e-5 if fixed else 1e-3)
    g = torch.Generator().manual_seed(seed)
    return finish(model, opt, F.mse_loss, batches(x, y, 1, g), 400, lambda: nmse(model(x), y))


def _char_multilabel(seed_data=9):
    rs = np.random.RandomState(seed_data)
    n, T, V, C = 3000, 20, 16, 6
    s = rs.randint(0, V, size=(n, T))
    x = np.eye(V, dtype=np.float32)[s]
    y = np.stack([(s == c).sum(1) >= 2 for c in range(C)], 1).astype(np.float32)   # which characters recur
    return split(x, y, 600)


def p_stacked_lstm_adadelta(fixed, seed):
    """stats.SE 'Training loss goes down and up again' (via imathworks): two stacked LSTM(512), dropout 0.2,
    sigmoid + binary_crossentropy, adadelta; answer: the learning rate is too big, set a smaller one."""
    xtr, ytr, xte, yte = (torch.tensor(a) for a in _char_multilabel())
    torch.manual_seed(seed)
    model = keras_init(_LSTMHead(16, 64, 6, nn.Sigmoid(), layers=2, dropout=0.2))
    opt = torch.optim.Adadelta(model.parameters(), lr=0.1 if fixed else 1.0, rho=0.95, eps=1e-7)
    g = torch.Generator().manual_seed(seed)
    return finish(model, opt, keras_bce, batches(xtr, ytr, 64, g), 300,
                  lambda: ((model(xte) > 0.5).float() == yte).float().mean().item())


def p_lenet_raw(fixed, seed):
    """SO 'Why should we normalize data for deep learning in Keras?' (via techfeed.net 471313): LeNet on MNIST
    without X_train /= 255 reaches a lower accuracy in the same epochs."""
    xtr, ytr, xte, yte = digits(pixels255=True, images=True)
    if fixed:
        xtr, xte = xtr / 255.0, xte / 255.0
    torch.manual_seed(seed)
    model = keras_init(nn.Sequential(nn.Conv2d(1, 20, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                                     nn.Conv2d(20, 50, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                                     nn.Flatten(), nn.Linear(50 * 2 * 2, 500), nn.ReLU(), nn.Linear(500, 10), nn.Softmax(-1)))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    g = torch.Generator().manual_seed(seed)
    return finish(model, opt, lambda p, y: keras_cce(p, F.one_hot(y, 10).float()), batches(xtr, ytr, 32, g), 225,
                  lambda: acc(model(xte), yte))


def p_dlrm_bias(fixed, seed):
    """facebookresearch/dlrm PR #358: biases drawn from N(0, sqrt(1/m)) can start ReLUs below zero, 'this
    prevents any training'; fix: zero biases (Glorot)."""
    rs = np.random.RandomState(21)
    x = rs.normal(size=(4000, 8)).astype(np.float32)
    y = ((x[:, 0] - x[:, 3] + x[:, 5]) > 0).astype(np.float32)
    xtr, ytr, xte, yte = split(x, y, 800)
    t = torch.tensor
    xtr, ytr, xte, yte = t(xtr), t(ytr), t(xte), t(yte)

    class DLRMish(nn.Module):
        def __init__(self):
            super().__init__()
            self.bot = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2), nn.ReLU())       # arch-mlp-bot 4-3-2
            self.top = nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 2), nn.ReLU(), nn.Linear(2, 1), nn.Sigmoid())

        def forward(self, x):
            return self.top(torch.cat([self.bot(x[:, :4]), x[:, 4:]], 1))
    torch.manual_seed(seed)
    model = DLRMish()
    g0 = np.random.RandomState(seed)
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nout, nin = m.weight.shape
            m.weight.data = torch.tensor(g0.normal(0, math.sqrt(2 / (nout + nin)), (nout, nin)), dtype=torch.float32)
            b = np.zeros(nout) if fixed else g0.normal(0, math.sqrt(1 / nout), nout)
            m.bias.data = torch.tensor(b, dtype=torch.float32)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(seed)
    return finish(model, opt, lambda p, y: F.mse_loss(p, y[:, None]), batches(xtr, ytr, 1, g), 1000,
                  lambda: acc(model(xte), yte))


def p_deep_sigmoid_500(fixed, seed):
    """ai.SE 16557: four hidden layers of 500 sigmoid units on binary vectors -> real outputs do not learn;
    answer: the sigmoid stack vanishes the gradient (use ReLU)."""
    rs = np.random.RandomState(13)
    x = rs.randint(0, 2, size=(3000, 40)).astype(np.float32)
    w = rs.normal(size=40)
    y = (np.tanh(x @ w / 4) + 0.5 * np.sin(x[:, :10] @ w[:10])).astype(np.float32)[:, None]
    xtr, ytr, xte, yte = split(x, y, 600)
    t = torch.tensor
    xtr, ytr, xte, yte = t(xtr), t(ytr), t(xte), t(yte)
    torch.manual_seed(seed)
    act = nn.ReLU if fixed else nn.Sigmoid
    layers, k = [], 40
    for _ in range(4):
        layers += [nn.Linear(k, 128), act()]
        k = 128
    model = nn.Sequential(*layers, nn.Linear(128, 1))
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.1, a=-0.2, b=0.2)   # tf.truncated_normal(stddev=0.1)
            nn.init.constant_(m.bias, 0.1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(seed)
    return finish(model, opt, F.mse_loss, batches(xtr, ytr, 64, g), 600, lambda: nmse(model(xte), yte))


def _prices(n, f, seed, median):
    rs = np.random.RandomState(seed)
    x = rs.normal(size=(n, f)).astype(np.float32)
    w = rs.normal(size=f) * 0.15
    y = (median * np.exp(x @ w + 0.1 * rs.normal(size=n))).astype(np.float32)[:, None]
    return split(x, y, n // 5)


def p_ames_mse_nan(fixed, seed):
    """rstudio-conf-2020/dl-keras-tf#9: Ames sale prices (up to ~755000) under MSE and SGD(lr 0.1) give NaN;
    the reason given: the target's range squared; msle is the recommended loss."""
    xtr, ytr, xte, yte = (torch.tensor(a) for a in _prices(2000, 20, 31, 160000.0))
    torch.manual_seed(seed)
    model = keras_init(nn.Sequential(nn.Linear(20, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 1)))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    if fixed:
        def loss(p, y):  # keras msle
            return ((torch.log1p(p.clamp_min(1e-7)) - torch.log1p(y)) ** 2).mean()
    else:
        loss = F.mse_loss
    g = torch.Generator().manual_seed(seed)
    return finish(model, opt, loss, batches(xtr, ytr, 16, g), 500, lambda: nmse(model(xte), yte))


def p_housing_target_bias(fixed, seed):
    """stats.SE 409000: a ReLU regression net under Adam on raw housing prices (~250000) still creeps up from
    zero after 2000 epochs; the asker's own fix, which worked: output bias initialized to the target mean."""
    xtr, ytr, xte, yte = (torch.tensor(a) for a in _prices(2000, 8, 41, 250000.0))
    torch.manual_seed(seed)
    model = keras_init(nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 1)))
    if fixed:
        nn.init.constant_(model[-1].bias, float(ytr.mean()))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    g = torch.Generator().manual_seed(seed)
    return finish(model, opt, F.mse_loss, batches(xtr, ytr, 32, g), 500, lambda: nmse(model(xte), yte))


def p_seqtag_adam_lr(fixed, seed):
    """guillaumegenthial/sequence_tagging#47: a BiLSTM tagger trains at lr 0.001; at 0.01 or 0.1 the train
    loss decreases, then increases and turns nan (the asker's own comparison)."""
    rs = np.random.RandomState(17)
    n, T, V, K = 3000, 20, 50, 5
    w = rs.randint(0, V, size=(n, T))
    tag_of = rs.randint(0, K, size=V)
    y = tag_of[w]
    y[:, 1:] = np.where(w[:, :-1] % 7 == 0, (y[:, 1:] + 1) % K, y[:, 1:])   # context matters
    xtr, ytr, xte, yte = split(w, y, 600)
    t = torch.tensor
    xtr, ytr, xte, yte = t(xtr), t(ytr), t(xte), t(yte)

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(V, 50)
            self.lstm = nn.LSTM(50, 64, batch_first=True, bidirectional=True)
            self.out = nn.Linear(128, K)

        def forward(self, x):
            h, _ = self.lstm(self.emb(x))
            return self.out(h)
    torch.manual_seed(seed)
    model = Tagger()
    opt = torch.optim.Adam(model.parameters(), lr=0.001 if fixed else 0.1)
    g = torch.Generator().manual_seed(seed)
    def loss(o, y):
        return F.cross_entropy(o.reshape(-1, K), y.reshape(-1))
    return finish(model, opt, loss, batches(xtr, ytr, 20, g), 400,
                  lambda: (model(xte).argmax(-1) == yte).float().mean().item())


PORTS: list[Port] = [
    Port("keras-linreg-tv-nan", "https://stats.stackexchange.com/questions/284189/simple-linear-regression-in-keras",
         "Simple Linear Regression in Keras",
         "Dense(1) with SGD() on one raw column (TV budget) gives nan loss every epoch",
         "StandardScaler on x and y (the answer: 'no normalization was done')", "unscaled_inputs", "linear", "nmse", 0.5,
         p_linreg_tv, assumed="Advertising-like data (TV 0..300 -> sales) drawn synthetically; 3 epochs",
         related=["https://imathworks.com/cv/solved-simple-linear-regression-in-keras"]),
    Port("cnn-raw-pixels-same-output", "http://pullrequest.ru/10248037/cnn-keras-shodyatsya-odnomu-tomu-zhe-znacheniy-nezavisimo-vvoda",
         "CNN Keras converges to the same value regardless of input (translated SO question)",
         "a Keras CNN outputs one value whatever the input",
         "x_train.astype('float32') / 255 (the answer: values in [0, 255] cause large gradient updates)",
         "unscaled_inputs", "cnn", "accuracy", 0.8, p_cnn_raw_pixels,
         assumed="the question's network is not in the excerpt: a Keras-example CNN with SGD(0.01); digits as 0..255 pixels",
         related=["https://m.imooc.com/wenda/detail/614880"]),
    Port("softmax-one-unit-cce", "https://boohere.com/ru/detail/80265.html",
         "Keras: the model with Dense(1, softmax) always answers class 0 (translated SO answer)",
         "the second model (1 softmax output) always predicts 'class 0'",
         "Dense(2, activation='softmax') with categorical_crossentropy", "no_gradient", "mlp", "accuracy", 0.85,
         p_softmax_one_unit_cce, assumed="breast-cancer data standardized; two hidden ReLU layers of 16; Adam"),
    Port("softmax-one-unit-bce", "https://geek-tips.imtqy.com/articles/557592/index.html",
         "binary_crossentropy with softmax on a single output node (SO answer)",
         "accuracy stays at the class share with binary_crossentropy and a 1-unit softmax",
         "change the output activation to sigmoid", "no_gradient", "mlp", "accuracy", 0.8, p_softmax_one_unit_bce,
         assumed="the asker's network is not in the excerpt: Dense(64, relu) on a synthetic 20-feature binary task; Adam"),
    Port("lstm-cce-one-output", "https://stats.stackexchange.com/questions/565956/confused-with-binary-cross-entropy-vs-categorical-cross-entropy",
         "Confused with binary cross entropy vs categorical cross entropy",
         "LSTM + Dense(1, sigmoid) with categorical_crossentropy: 26% accuracy, predicts only one class",
         "use k output neurons (softmax) with categorical cross-entropy", "wrong_loss", "lstm", "accuracy", 0.75,
         p_lstm_cce_one_output,
         assumed="LSTM 32 units instead of 256; synthetic label-encoded categorical sequences (5 steps x 10 features); Adam"),
    Port("tf-tutorial-raw-pixels", "https://stats.stackexchange.com/questions/372762/why-normalize-when-all-features-are-on-the-same-scale",
         "Why normalize when all features are on the same scale?",
         "the TF basic-classification tutorial: 85% with /255, 10% accuracy without",
         "divide the pixels by 255", "unscaled_inputs", "mlp", "accuracy", 0.8, p_fashion_tutorial_raw,
         assumed="digits (8x8, scaled to 0..255) for Fashion-MNIST; 5 epochs of batch 32",
         related=["https://datascience.stackexchange.com/questions/39929/why-normalize-when-all-features-are-on-the-same-scale"]),
    Port("keras510-mlp-sgd-nan", "https://github.com/keras-team/keras/issues/510", "How to set clipnorm?",
         "an MLP gives nan loss without clipnorm under SGD(lr 0.01, decay 1e-6, momentum 0.9, nesterov)",
         "pre-process the data: each dimension zero mean and unit variance (fchollet)",
         "unscaled_inputs", "mlp", "accuracy", 0.85, p_keras510_mlp_nan,
         assumed="the asker's data and widths are not given: raw breast-cancer features (up to ~4000), 2 x 512 ReLU"),
    Port("lstm-lm-nan-noclip", "https://github.com/Marcovaldong/lstmp.pytorch/issues/2",
         "Loss function goes to nan after n number of iterations - might be problem of exploding gradient?",
         "LSTM language model: cross-entropy becomes nan after ~1200 iterations",
         "clip the gradients to a max norm of 1.0", "no_clipping", "lstm", "ce", 2.6, p_lstm_lm_noclip,
         assumed="the rate is not given: SGD at 20, pytorch/examples word_language_model's default; a Markov-chain token stream"),
    Port("rnn-cost-jump", "https://stats.stackexchange.com/questions/487194/why-does-the-training-cost-of-my-model-decrease-then-suddenly-increases-never",
         "Why does the training cost of my model decrease then suddenly increases, never to go down again?",
         "RNN cost falls for 15 steps, jumps at step 16 and stays high",
         "gradient clipping (e.g. at 1.0)", "no_clipping", "rnn", "nmse", 0.5, p_rnn_cost_jump,
         assumed="the task is not given: the adding problem (T=10), tanh RNN, SGD 0.5 with exponential decay",
         related=["https://stats.stackexchange.com/posts/487195/revisions"]),
    Port("nielsen-relu-9pct", "https://github.com/MichalDanielDobrzanski/DeepLearningPython/issues/13",
         "replace sigmoid with relu, but useless",
         "Nielsen's network with ReLU in place of sigmoid stays at 9.5% accuracy",
         "learning rate 0.01 and weights and biases initialized 10x smaller (one answer, two changes)", "lr_high", "mlp",
         "accuracy", 0.8, p_nielsen_relu,
         assumed="digits (64 inputs) for MNIST; 1000 steps of batch 10 (7 epochs, Nielsen ran 30)"),
    Port("cntk-7-sigmoid-layers", "https://github.com/microsoft/CNTK/issues/476",
         "Training invalidation when add the nubmer of layers",
         "a 7th hidden sigmoid layer makes the training error not descend at all",
         "a smaller learning rate for the first epoch (dongyu888)", "lr_high", "mlp", "accuracy", 0.8, p_cntk_deep_sigmoid,
         assumed="256 units for 2048; SGD 0.8 with momentum 0.9 (CNTK's speech-DNN recipe), 0.08 for the first epoch; digits"),
    Port("linreg-loss-increasing", "https://fixeme.com/why-is-my-loss-function-increasing-with-each-epoch/",
         "Why is my loss function increasing with each epoch?",
         "Dense(1) with optimizer='sgd' on xs 1..20: loss grows each epoch to 1e13",
         "SGD(learning_rate=0.0001)", "lr_high", "linear", "nmse", 0.5, p_linreg_increasing),
    Port("keras3040-linreg-batch1-nan", "https://github.com/keras-team/keras/issues/3040",
         "Simple Linear Regression Nan's after a few iterations.",
         "y = 2x on x = 0..199, Dense(1), SGD lr 0.001, batch 1: weights go nan",
         "a smaller learning rate (the asker: 'my learning rate was too high')", "lr_high", "linear", "nmse", 0.5,
         p_keras3040_linreg, assumed="the smaller rate is not given: 1e-5; two epochs"),
    Port("stacked-lstm-adadelta-up-again", "https://imathworks.com/cv/solved-training-loss-goes-down-and-up-again-what-is-happening",
         "Training loss goes down and up again. What is happening?",
         "two stacked LSTM(512) with adadelta: training loss goes down, then up again",
         "set a smaller learning rate (accepted answer)", "lr_high", "lstm", "accuracy", 0.8, p_stacked_lstm_adadelta,
         assumed="LSTM 64 units, batch 64 for 512 / 1024; a synthetic one-hot character multi-label task; Adadelta 1.0 -> 0.1"),
    Port("lenet-raw-pixels", "https://techfeed.net/es/471313/",
         "Why should we normalize data for deep learning in Keras? (translated SO question)",
         "LeNet on MNIST without X_train /= 255 loses accuracy in the same epochs",
         "X_train /= 255", "unscaled_inputs", "cnn", "accuracy", 0.8, p_lenet_raw,
         assumed="the answer's text was not retrieved; the fix is the asker's own comparison. "
                 "digits 8x8 as 0..255, batch 32, 5 epochs"),
    Port("dlrm-negative-bias", "https://github.com/facebookresearch/dlrm/pull/358",
         "switched bias initialization to initialize to zeros per standard Xavier initialization",
         "biases drawn N(0, sqrt(1/m)) may start ReLUs negative, preventing any training",
         "zero biases", "dead_relu", "mlp", "accuracy", 0.75, p_dlrm_bias,
         assumed="DLRM's default tiny arch (bot 4-3-2, top ..-4-2-1), SGD 0.01, batch 1, mse; "
                 "dense features only, synthetic labels"),
    Port("deep-sigmoid-500-not-learning", "https://ai.stackexchange.com/questions/16557/what-could-be-the-problem-when-a-neural-network-with-four-hidden-layers-with-the",
         "What could be the problem when a neural network with four hidden layers "
         "with the sigmoid activation function is not learning?",
         "4 x 500 sigmoid layers, binary vectors -> real outputs: high loss even on training data",
         "the sigmoid stack vanishes the gradient: use ReLU (accepted answer)", "saturating_depth", "mlp", "nmse", 0.5,
         p_deep_sigmoid_500,
         assumed="128 units for 500; TF-tutorial init (truncated normal 0.1, bias 0.1) and GradientDescent 0.01"),
    Port("ames-mse-nan", "https://github.com/rstudio-conf-2020/dl-keras-tf/issues/9",
         "train/valid loss = NAN when loss = \"mean_squared_error\" due to exploding values",
         "sale prices up to ~755000 with MSE and SGD(lr 0.1): nan from the first epoch",
         "loss = msle (the price range squared explodes MSE)", "unscaled_target", "mlp", "nmse", 0.5, p_ames_mse_nan,
         assumed="synthetic log-normal prices around 160000 from 20 standardized features; Dense 128-64-1"),
    Port("housing-target-creeps", "https://stats.stackexchange.com/questions/409000/should-we-normalize-target-data-as-well-as-input-data",
         "Should we normalize target data as well as input data?",
         "ReLU net, Adam, raw prices (~250000): outputs still creep up from zero after 2000 epochs",
         "initialize the output bias to the target mean (the asker's own customization, which worked)", "unscaled_target", "mlp",
         "nmse", 0.5, p_housing_target_bias,
         assumed="the answer's text was not retrieved; synthetic prices from 8 features; 16-8-1 ReLU; 500 steps for 2000 epochs"),
    Port("seqtag-adam-lr-nan", "https://github.com/guillaumegenthial/sequence_tagging/issues/47", "Learn rate issuse?",
         "BiLSTM tagger: at lr 0.01 or 0.1 the train loss falls, then rises and turns nan",
         "lr = 0.001 (the asker: 'when I use lr = 0.001 there is no problem')", "lr_high", "lstm", "accuracy", 0.8,
         p_seqtag_adam_lr, assumed="no answer in the thread: the fix is the asker's own working rate. Adam (the repo's default), "
         "no clipping (clip=-1 default), 64-unit BiLSTM without the CRF, a synthetic tagging task, lr 0.1 for the broken run"),
]


# ----------------------------------------------------------------------------------------------- driver

def _meta(port: Port, seed: int, cause: str, name: str, value: float, control: float, label: str, run: Run, fixed: bool) -> dict:
    return {"source": "bugreport", "family": port.family, "name": name, "cause": cause,
            "outcome": {"metric": port.metric, "value": value}, "control": {"metric": port.metric, "value": control},
            "label": label, "onset": 0, "seed": seed, "url": port.url, "title": port.title, "fix": port.fix,
            "symptom": port.symptom, "assumed": port.assumed, "related": port.related, "steps": run.steps,
            "first_nonfinite_step": run.first_nonfinite, "fixed_run": fixed,
            "bug_cause": port.cause}


def run_port(port: Port, seed: int, out: Path) -> list[str]:
    bpath, fpath = out / f"{port.name}-s{seed}.npz", out / f"{port.name}-fixed-s{seed}.npz"
    if bpath.exists():
        return [f"{port.name:34s} s{seed}  (exists, skipped)"]
    t0 = time.time()
    torch.manual_seed(seed)
    fixed = port.build(True, seed)
    broken = port.build(False, seed)
    secs = time.time() - t0
    label = "broken" if clearly_better(port.metric, broken.value, fixed.value) else "ambiguous"
    lines = []
    if port.is_good(fixed.value):
        fixed.monitor.save(str(fpath), **_meta(port, seed, "healthy", f"{port.name}-fixed-s{seed}", fixed.value, fixed.value,
                                                "healthy", fixed, True))
        hl = "healthy"
    else:
        hl = "not saved (fixed run not good)"
    broken.monitor.save(str(bpath), **_meta(port, seed, port.cause, f"{port.name}-s{seed}", broken.value, fixed.value,
                                             label, broken, False))
    for r in (fixed, broken):
        r.monitor.close()
    lines.append(f"{port.name:34s} s{seed}  {port.cause:17s} {port.metric:8s} broken {broken.value:10.4g}  control "
                 f"{fixed.value:10.4g}"
                 f"  -> {label:9s} fixed: {hl}  ({secs:.1f}s)")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "bench/stranger/cases/bugreport"), help="folder for the .npz cases")
    ap.add_argument("--only", action="append", help="run only this port (repeatable)")
    ap.add_argument("--seeds", type=int, default=2, help="seeds 0..N-1 (default 2)")
    ap.add_argument("--list", action="store_true", help="list the ports and exit")
    a = ap.parse_args(argv)
    for p in PORTS:
        assert p.cause in CAUSES, p.cause
    if a.list:
        for p in PORTS:
            print(f"{p.name:34s} {p.cause:17s} {p.family:7s} {p.url}")
        return 0
    ports = [p for p in PORTS if not a.only or p.name in a.only]
    if a.only and len(ports) != len(set(a.only)):
        print("unknown port in --only; see --list", file=sys.stderr)
        return 2
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    for p in ports:
        for s in range(a.seeds):
            for line in run_port(p, s, out):
                print(line, flush=True)
    print(f"done in {time.time() - t0:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
