"""fast.ai course22p2 lesson notebook 11_initializing (the five-conv CNN with ``GeneralRelu(leak=0.1, sub=0.4)``,
``init_weights`` with ``kaiming_normal_(a=0.1)``, normalized inputs, trained by miniai's ``MomentumLearner``) on
digits, watched by gradmedic.

Adapted from https://github.com/fastai/course22p2 (commit df9323235bc395b5c2f58a3d08b83761947b9b93,
nbs/11_initializing.ipynb, last changed in 68464588f75c836ecc7b5818647a8382107b7e27, and miniai/learner.py; Apache
License 2.0, see LICENSE-fainit).  Kept as in the notebook (code copied below): ``conv(ni, nf, ks=3, stride=2,
act=nn.ReLU, norm=None, bias=None)`` (Conv2d with padding ks//2, an optional norm, an optional activation) and
``get_model(act, nfs=[1,8,16,32,64], norm)`` (four stride-2 convs 1-8-16-32-64 with the activation, a last
``conv(64, 10, act=None)`` and ``nn.Flatten()``: 28 -> 14 -> 7 -> 4 -> 2 -> 1); ``GeneralRelu`` (leaky_relu, minus
``sub``, clamp at ``maxv``) with ``act_gr = partial(GeneralRelu, leak=0.1, sub=0.4)``; ``init_weights(m, leaky)``
(``init.kaiming_normal_(m.weight, a=leaky)`` on every Conv, biases left at PyTorch's default) applied as
``iw = partial(init_weights, leaky=0.1)``; the inputs normalized by ``(x - xmean) / xstd``; ``F.cross_entropy``;
miniai's ``Learner`` / ``TrainLearner`` / ``MomentumLearner`` with its callbacks (``with_cbs``, ``run_cbs``;
``MomentumLearner``: ``optim.SGD(model.parameters(), lr)`` built in ``fit``, and instead of zeroing ``zero_grad``
multiplies every gradient by ``mom=0.85``, so ``.grad`` carries a running sum of past gradients), ``lr=0.2``, a
validation pass after every epoch under ``torch.no_grad()`` with ``model.train(False)``.  This is cell 97
(``get_model(act_gr).apply(iw)``, ``MomentumLearner(model, dls, F.cross_entropy, lr=0.2, cbs=cbs)``) with cell 86's
normalized inputs.

Changed to run offline on one CPU thread: Fashion-MNIST (``load_dataset("fashion_mnist")``, 60000 images, ``bs =
1024``) is scikit-learn's ``load_digits`` upsampled to 1x28x28 in [0, 1] (``digits28`` from bmlp.py: 1437
training, 360 held-out images), normalized with the training set's mean and std (the notebook takes them from its
first batch of 1024, which is most of 1437 here).  The batch size is 256, the notebook's own later setting (cell
122, "Towards 90%"): at 1024 an epoch of 1437 images is two steps; EPOCHS (30) epochs of 6 steps (180 steps) stand
in for the notebook's ``fit(3)`` of 59 steps each (177 steps).  The training loader shuffles with a
``torch.Generator`` seeded with the run's seed; ``torch.manual_seed(seed)`` replaces ``set_seed(42)``.  miniai's
``fastcore``/``torcheval``/``fastprogress`` pieces are replaced: ``fc.store_attr`` by assignments, ``fc.L`` by a list,
``MetricsCB(accuracy=MulticlassAccuracy())`` by ``AccuracyCB`` (the same per-epoch accuracy and mean loss, weighted
by batch size), ``ProgressCB``/``ActivationStats``/``DeviceCB`` left out (plots and the device; the model is on the
CPU).  The metric is the accuracy on the 360 held-out images after the last epoch (the notebook's ``eval``
accuracy line).

The watch, as a miniai user would add it: a callback ``GradmedicCB`` whose ``before_fit`` calls
``gradmedic.watch(learn.model, learn.opt, every=10)`` (the Learner builds the optimizer in ``fit``, just before
``before_fit``), whose ``after_backward`` calls ``monitor.step(learn.loss)`` (after ``loss.backward()``, before
``opt.step()``) and whose ``after_fit`` closes the monitor.

``CASES`` (name prefix ``fainit``): the program on seeds 1-3, and one change each against the same seed's healthy
run: lr x2 (0.4, the rate the notebook uses with its BatchNorm), x10, x100 (seeds 1 and 2), x1000, /1000; the inputs
not normalized (the [0, 1] pixels of cell 75; seeds 1 and 2); raw 0..255 pixels; PyTorch's default init instead of
``.apply(iw)`` (what the notebook starts from; seeds 1 and 2); N(0, 1) on every conv weight; zeros on every conv
weight and bias (the symmetric init); ``zero_grad`` doing nothing (the gradients accumulate undamped); a softmax
on the logits before ``F.cross_entropy``; and two sane alternatives from the notebook: plain ``nn.ReLU`` with
``init_weights`` (leaky=0, cell 75) and ``nn.BatchNorm2d`` after every conv (cell 123).  The notebook does not clip.
Labels come from run.py's outcome rules only.
Recorded (cases-public33; 20 cases in ~120 s, 5-8 s a run on a shared 2-core machine; 180 steps a run): healthy
test accuracy 0.986, 0.964, 0.981 on seeds 1-3 (training loss 2.30-2.40 -> ~0.0002, largest 2.30-2.40, all finite).
Broken: lr x2 (0.4), x10, x100 (seeds 1 and 2), x1000: all diverge to NaN losses (largest 3e19 at x2) and end at
0.075; /1000: 0.425 (loss 2.30 -> 1.97); raw 0..255 pixels (first loss 88, then NaN): 0.075; N(0, 1) conv weights
(first loss 1.5e4, then NaN): 0.075; zero conv weights and biases: 0.081 (loss stays at 2.30); no zero_grad (the
undamped sum of all gradients: NaN by step ~20): 0.075; the unnormalized [0, 1] inputs and PyTorch's default init
each broke seed 2 (losses to 1e12 and 6e14, then NaN: 0.075) but not seed 1 (0.978 and 0.981: healthy).  Healthy
too: softmax before F.cross_entropy (0.972; its loss only falls to 1.46, the softmax-bounded floor), nn.ReLU with
kaiming_normal_ (0.983), BatchNorm2d (0.978).  The program at lr 0.2 with momentum 0.85 sits near the edge of
divergence on these digits: lr x2 already diverges, and seed 2 tips over with either of the notebook's two earlier
settings (unnormalized inputs, default init); the healthy runs themselves never blew up.
"""

# ruff: noqa: E701, UP039, B020  (miniai and the notebook: one-line ifs and classes, class X():, for self.epoch in)
from __future__ import annotations

import time
from functools import partial
from operator import attrgetter

import torch
import torch.nn.functional as F
from bmlp import digits28
from torch import nn, optim
from torch.nn import init
from torch.utils.data import DataLoader, TensorDataset

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("a miniai callback: before_fit watch(learn.model, learn.opt, every=10) (the Learner builds optim.SGD in "
              "fit()), after_backward monitor.step(learn.loss) (after loss.backward(), before opt.step(); the "
              "MomentumLearner's zero_grad then multiplies the gradients by 0.85 instead of zeroing them)")
EPOCHS = 30
BS = 256  # the notebook's 1024 is most of the 1437 training images (see the docstring)


# ---- miniai/learner.py (fastcore, torcheval and fastprogress pieces replaced) ---------------------------------------
class CancelFitException(Exception): pass
class CancelBatchException(Exception): pass
class CancelEpochException(Exception): pass


class Callback(): order = 0


def run_cbs(cbs, method_nm, learn=None):
    for cb in sorted(cbs, key=attrgetter('order')):
        method = getattr(cb, method_nm, None)
        if method is not None: method(learn)


class AccuracyCB(Callback):
    """Stands in for MetricsCB(accuracy=MulticlassAccuracy()): per-epoch accuracy and batch-weighted mean loss."""
    def __init__(self): self.log = []
    def before_fit(self, learn): learn.metrics = self
    def before_epoch(self, learn): self.correct, self.n, self.tot_loss = 0, 0, 0.
    def after_epoch(self, learn):
        self.log.append(dict(accuracy=self.correct / self.n, loss=self.tot_loss / self.n, epoch=learn.epoch,
                             train='train' if learn.model.training else 'eval'))
    def after_batch(self, learn):
        x, y, *_ = learn.batch
        self.correct += (learn.preds.detach().argmax(dim=1) == y).sum().item()
        self.n += len(x)
        self.tot_loss += learn.loss.item() * len(x)


class with_cbs:
    def __init__(self, nm): self.nm = nm
    def __call__(self, f):
        def _f(o, *args, **kwargs):
            try:
                o.callback(f'before_{self.nm}')
                f(o, *args, **kwargs)
                o.callback(f'after_{self.nm}')
            except globals()[f'Cancel{self.nm.title()}Exception']: pass
            finally: o.callback(f'cleanup_{self.nm}')
        return _f


class Learner():
    def __init__(self, model, dls=(0,), loss_func=F.mse_loss, lr=0.1, cbs=None, opt_func=optim.SGD):
        cbs = list(cbs or [])
        self.model, self.dls, self.loss_func, self.lr, self.cbs, self.opt_func = model, dls, loss_func, lr, cbs, opt_func

    @with_cbs('batch')
    def _one_batch(self):
        self.predict()
        self.callback('after_predict')
        self.get_loss()
        self.callback('after_loss')
        if self.training:
            self.backward()
            self.callback('after_backward')
            self.step()
            self.callback('after_step')
            self.zero_grad()

    @with_cbs('epoch')
    def _one_epoch(self):
        for self.iter,self.batch in enumerate(self.dl): self._one_batch()

    def one_epoch(self, training):
        self.model.train(training)
        self.dl = self.dls.train if training else self.dls.valid
        self._one_epoch()

    @with_cbs('fit')
    def _fit(self, train, valid):
        for self.epoch in self.epochs:
            if train: self.one_epoch(True)
            if valid: torch.no_grad()(self.one_epoch)(False)

    def fit(self, n_epochs=1, train=True, valid=True, cbs=None, lr=None):
        cbs = list(cbs or [])
        # `add_cb` and `rm_cb` were added in lesson 18
        for cb in cbs: self.cbs.append(cb)
        try:
            self.n_epochs = n_epochs
            self.epochs = range(n_epochs)
            if lr is None: lr = self.lr
            if self.opt_func: self.opt = self.opt_func(self.model.parameters(), lr)
            self._fit(train, valid)
        finally:
            for cb in cbs: self.cbs.remove(cb)

    def __getattr__(self, name):
        if name in ('predict','get_loss','backward','step','zero_grad'): return partial(self.callback, name)
        raise AttributeError(name)

    def callback(self, method_nm): run_cbs(self.cbs, method_nm, self)

    @property
    def training(self): return self.model.training


class TrainLearner(Learner):
    def predict(self): self.preds = self.model(self.batch[0])
    def get_loss(self): self.loss = self.loss_func(self.preds, self.batch[1])
    def backward(self): self.loss.backward()
    def step(self): self.opt.step()
    def zero_grad(self): self.opt.zero_grad()


class MomentumLearner(TrainLearner):
    def __init__(self, model, dls, loss_func, lr=None, cbs=None, opt_func=optim.SGD, mom=0.85, zero_grad=True):
        self.mom = mom
        self.do_zero_grad = zero_grad  # the no_zero_grad variant: zero_grad() does nothing
        super().__init__(model, dls, loss_func, lr, cbs, opt_func)
    def zero_grad(self):
        if not self.do_zero_grad: return
        with torch.no_grad():
            for p in self.model.parameters(): p.grad *= self.mom


class DataLoaders:
    def __init__(self, *dls): self.train,self.valid = dls[:2]


# ---- nbs/11_initializing.ipynb ---------------------------------------------------------------------------------------
class GeneralRelu(nn.Module):
    def __init__(self, leak=None, sub=None, maxv=None):
        super().__init__()
        self.leak,self.sub,self.maxv = leak,sub,maxv

    def forward(self, x):
        x = F.leaky_relu(x,self.leak) if self.leak is not None else F.relu(x)
        if self.sub is not None: x -= self.sub
        if self.maxv is not None: x.clamp_max_(self.maxv)
        return x


def init_weights(m, leaky=0.):
    if isinstance(m, (nn.Conv1d,nn.Conv2d,nn.Conv3d)): init.kaiming_normal_(m.weight, a=leaky)


def conv(ni, nf, ks=3, stride=2, act=nn.ReLU, norm=None, bias=None):
    if bias is None: bias = not isinstance(norm, (nn.BatchNorm1d,nn.BatchNorm2d,nn.BatchNorm3d))
    layers = [nn.Conv2d(ni, nf, stride=stride, kernel_size=ks, padding=ks//2, bias=bias)]
    if norm: layers.append(norm(nf))
    if act: layers.append(act())
    return nn.Sequential(*layers)


def get_model(act=nn.ReLU, nfs=None, norm=None):
    if nfs is None: nfs = [1,8,16,32,64]
    layers = [conv(nfs[i], nfs[i+1], act=act, norm=norm) for i in range(len(nfs)-1)]
    return nn.Sequential(*layers, conv(nfs[-1],10, act=None, norm=False, bias=True),
                         nn.Flatten())


# ---- the watch ----------------------------------------------------------------------------------------------------------
class GradmedicCB(Callback):
    def __init__(self, every=10): self.every, self.monitor, self.losses = every, None, []
    def before_fit(self, learn): self.monitor = gradmedic.watch(learn.model, learn.opt, every=self.every)
    def after_backward(self, learn):
        self.monitor.step(learn.loss)
        self.losses.append(learn.loss.item())
    def after_fit(self, learn): self.monitor.close()


def train(seed: int = 1, lr_mult: float = 1.0, inputs: str = "norm", init_mode: str = "iw", act: str = "gr",
          norm: str | None = None, zero_grad: bool = True, softmax: bool = False, epochs: int = EPOCHS,
          every: int = 10, verbose: bool = False) -> dict:
    """``inputs``: "norm" ((x-xmean)/xstd), "unit" ([0, 1], no normalization) or "raw" (0..255).  ``init_mode``:
    "iw" (init_weights leaky 0.1, or 0 with act "relu"), "default" (PyTorch's), "std1" (normal_(0, 1) on conv weights),
    "zeros" (zeros on conv weights and biases).  ``act``: "gr" (GeneralRelu leak 0.1 sub 0.4) or "relu".  ``norm``:
    None or "bn" (nn.BatchNorm2d).  ``softmax``: softmax on the logits before F.cross_entropy (the bug)."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    xtr, ytr, xte, yte = digits28()
    if inputs == "norm":
        xmean, xstd = xtr.mean(), xtr.std()
        xtr, xte = (xtr - xmean) / xstd, (xte - xmean) / xstd
    elif inputs == "raw":  # the bug: 0..255 pixel values
        xtr, xte = xtr * 255.0, xte * 255.0
    g = torch.Generator()
    g.manual_seed(seed)
    dls = DataLoaders(DataLoader(TensorDataset(xtr, ytr), batch_size=BS, shuffle=True, generator=g),
                      DataLoader(TensorDataset(xte, yte), batch_size=BS * 2))

    act_gr = partial(GeneralRelu, leak=0.1, sub=0.4)
    iw = partial(init_weights, leaky=0.1)
    model = get_model(act_gr if act == "gr" else nn.ReLU, norm=nn.BatchNorm2d if norm == "bn" else None)
    if init_mode == "iw":
        model.apply(iw if act == "gr" else init_weights)
    elif init_mode in ("std1", "zeros"):  # the bugs: N(0, 1) / all-zero conv weights (zeros: biases too)
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                if init_mode == "std1":
                    init.normal_(m.weight, 0.0, 1.0)
                else:
                    init.zeros_(m.weight)
                    if m.bias is not None:
                        init.zeros_(m.bias)

    def loss_func(preds, y):
        if softmax:  # the bug: probabilities into a loss that expects logits
            preds = F.softmax(preds, dim=1)
        return F.cross_entropy(preds, y)

    metrics = AccuracyCB()
    gm = GradmedicCB(every=every)
    lr = 0.2 * lr_mult
    learn = MomentumLearner(model, dls, loss_func if softmax else F.cross_entropy, lr=lr, cbs=[metrics, gm],
                            zero_grad=zero_grad)
    t0 = time.time()
    learn.fit(epochs)
    if verbose:
        for d in metrics.log:
            if d["train"] == "eval" and (d["epoch"] + 1) % 5 == 0:
                print(d, f"train loss {metrics.log[2 * d['epoch']]['loss']:.4f}")
    last = metrics.log[-1]
    assert last["train"] == "eval"
    losses = gm.losses
    finite = [v for v in losses if v == v and abs(v) != float("inf")]
    return {"monitors": {"": gm.monitor}, "metric": "accuracy", "value": float(last["accuracy"]), "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": {"valid_loss": last["loss"], "train_loss": metrics.log[-2]["loss"],
                      "initial_loss": sum(losses[:5]) / 5, "max_loss": max(finite) if finite else float("nan"),
                      "steps": len(losses), "lr": lr},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="fainit", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"fainit_healthy_s{s}", "healthy", s, {}, "unchanged (get_model(GeneralRelu(leak 0.1, sub 0.4)) with "
           "kaiming_normal_(a=0.1), normalized inputs, MomentumLearner SGD lr 0.2 mom 0.85, bs 256, "
           f"{EPOCHS} epochs)", False) for s in (1, 2, 3)]
    + [_case(f"fainit_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"MomentumLearner lr x{k} ({0.2 * k:g})")
       for k, ss in ((2, (1,)), (10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("fainit_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "MomentumLearner lr /1000 (0.0002)")]
    + [_case(f"fainit_no_input_norm_s{s}", "unscaled_inputs", s, {"inputs": "unit"},
             "inputs left in [0, 1] (TF.to_tensor), not normalized by (x - xmean) / xstd") for s in (1, 2)]
    + [_case("fainit_raw_pixels_s1", "unscaled_inputs", 1, {"inputs": "raw"},
             "raw 0..255 pixel values, not normalized")]
    + [_case(f"fainit_default_init_s{s}", "init_small", s, {"init_mode": "default"},
             "no .apply(iw): PyTorch's default conv init (kaiming_uniform_, a=sqrt(5): weight variance 1/(3 fan_in)) "
             "under GeneralRelu") for s in (1, 2)]
    + [_case("fainit_init_std1_s1", "init_large", 1, {"init_mode": "std1"},
             "init.normal_(std=1.0) on every conv weight instead of kaiming_normal_(a=0.1)")]
    + [_case("fainit_zero_init_s1", "symmetric_init", 1, {"init_mode": "zeros"},
             "init.zeros_ on every conv weight and bias instead of kaiming_normal_")]
    + [_case("fainit_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             "MomentumLearner.zero_grad does nothing: the gradients accumulate undamped (no zeroing, no x0.85)")]
    + [_case("fainit_softmax_ce_s1", "wrong_loss", 1, {"softmax": True},
             "F.softmax(preds, dim=1) before F.cross_entropy (probabilities where logits are expected)")]
    + [_case("fainit_relu_s1", "healthy", 1, {"act": "relu"},
             "nn.ReLU with init_weights (kaiming_normal_, a=0) instead of GeneralRelu (the notebook's cell 75 model)")]
    + [_case("fainit_batchnorm_s1", "healthy", 1, {"norm": "bn"},
             "get_model(act_gr, norm=nn.BatchNorm2d) (conv without bias, BatchNorm2d after each conv; cell 123)")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = v
    for k in ("lr_mult",):
        if k in kw:
            kw[k] = float(kw[k])
    for k in ("seed", "epochs"):
        if k in kw:
            kw[k] = int(kw[k])
    for k in ("zero_grad", "softmax"):
        if k in kw:
            kw[k] = kw[k] == "1"
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
