"""fast.ai course22p2 lesson notebook 10_activations (the baseline CNN ``cnn_layers``/``conv`` with nn.ReLU, trained
by miniai's callback ``Learner`` with ``TrainCB``: plain ``optim.SGD``) on digits, watched by gradmedic.

Adapted from https://github.com/fastai/course22p2 (commit df9323235bc395b5c2f58a3d08b83761947b9b93, the newest;
nbs/10_activations.ipynb last changed in 0a3c31e834d42045632cc1ba942bbf995864e59b, and miniai/learner.py; Apache
License 2.0, see LICENSE-faact).  Kept as in the notebook (code copied below): ``conv(ni, nf, ks=3, act=True)``
(``nn.Conv2d(ni, nf, stride=2, kernel_size=ks, padding=ks//2)`` then ``nn.ReLU()``) and ``cnn_layers()`` (conv 1-8
ks 5, 8-16, 16-32, 32-64, a last ``conv(64, 10, act=False)`` and ``nn.Flatten()``: 28 -> 14 -> 7 -> 4 -> 2 -> 1),
``nn.Sequential(*cnn_layers())`` with PyTorch's default init; ``F.cross_entropy``; inputs in [0, 1] as
``TF.to_tensor`` gives them (no normalization in this notebook); miniai's ``Learner`` with ``with_cbs``/``run_cbs``
and ``TrainCB`` (``predict``, ``get_loss``, ``loss.backward()``, ``opt.step()``, ``opt.zero_grad()``),
``opt_func=optim.SGD`` built in ``fit`` (no momentum, no weight decay), a validation pass after every epoch under
``torch.no_grad()`` with ``model.train(False)``.

The rate: the notebook's ``fit`` uses ``lr=0.6`` ("We want to train quickly, so that means training at a high
learning rate") and the point of the notebook is that this trains badly: its printed tables end one epoch of
Fashion-MNIST at 0.10-0.40 eval accuracy, and the notebook then looks into its activations with hooks (the fixes
come in nbs/11_initializing). On these digits lr 0.6 trains badly too (tried unwatched before recording: 0.17, 0.08
and 0.10 held-out accuracy on seeds 1-3 after 180 steps of 256, 0.08 after 60 steps of 1024; recorded: 0.847 and
0.075 below), so the healthy program here trains at lr 0.2, the rate the course's ``Learner`` uses on the same
Fashion-MNIST in nbs/09_learner.ipynb (``Learner(model, dls, F.cross_entropy, lr=0.2, cbs=cbs)``, there with an
MLP), and the notebook's lr 0.6 is a variant (lr x3, cause lr_high: the notebook's own "train badly at a high
learning rate" experiment).

Changed to run offline on one CPU thread: Fashion-MNIST (``load_dataset("fashion_mnist")``, 60000 images, ``bs =
1024``) is scikit-learn's ``load_digits`` upsampled bilinearly from 8x8 to 1x28x28 in [0, 1] (``digits28`` from
bmlp.py: 1437 training and 360 held-out images, split 80/20 with random_state=0), so the conv stack's 28 -> 1
shapes are the notebook's.  The batch size is 256 (the course's later setting; at 1024 an epoch of 1437 images is
two steps) and EPOCHS (40) epochs of 6 steps (240 steps) stand in for the notebook's ``fit(1)`` of 59 steps.  The
training loader shuffles with a ``torch.Generator`` seeded with the run's seed; ``torch.manual_seed(seed)``
replaces ``set_seed(1)``.  miniai's ``fastcore``/``torcheval``/``fastprogress`` pieces are replaced:
``fc.store_attr`` by assignments, ``fc.L`` by a list, ``MetricsCB(accuracy=MulticlassAccuracy())`` by
``AccuracyCB`` (the same per-epoch accuracy and batch-weighted mean loss), ``ProgressCB``/``DeviceCB`` left out
(plots and the device; the model is on the CPU); the notebook's hooks and ActivationStats only record and plot, and
are left out.  The metric is the accuracy on the 360 held-out images after the last epoch (the notebook's ``eval``
accuracy line).

The watch, as a miniai user would add it: a callback ``GradmedicCB`` whose ``before_fit`` calls
``gradmedic.watch(learn.model, learn.opt, every=10)`` (the Learner builds the optimizer in ``fit``, just before
``before_fit``), whose ``after_backward`` calls ``monitor.step(learn.loss)`` (after ``loss.backward()``, before
``opt.step()``) and whose ``after_fit`` closes the monitor.

``CASES`` (name prefix ``faact``): the program on seeds 1-3, and one change each against the same seed's healthy
run: lr x3 (0.6, the notebook's own rate; seeds 1 and 2), x10, x100 (seeds 1 and 2), /1000; raw 0..255 pixels
(x255); ``init.normal_(std=1.0)`` on every conv weight; zeros on every conv weight and bias (symmetric);
``TrainCB.zero_grad`` left empty (no_zero_grad); ``F.softmax`` on the logits before ``F.cross_entropy``
(wrong_loss); ``nn.Sigmoid`` instead of ``nn.ReLU`` in the first four convs (a five-layer sigmoid stack,
saturating_depth); and, expected harmless (cause healthy), the inputs normalized by ``(x - xmean) / xstd`` (the fix
the next notebook makes; seeds 1 and 2).  The notebook does not clip.  Labels come from run.py's outcome rules only.

Recorded (cases-public39; 17 cases in 394 s, 17-39 s a run on the shared 2-core machine while other sessions ran
(load ~6); unwatched, 9-14 s a run while the machine was quieter; 240 steps a run): healthy test accuracy 0.975,
0.956, 0.958 on seeds 1-3 (training loss 2.30 -> 0.03-0.07, all finite, largest 4.17, 3.64, 2.63: lr 0.2 already
spikes early). Broken: lr x3 (0.6, the notebook's): 0.847 on seed 1 (train loss 0.51) and 0.075 on seed 2 (loss
stuck at 2.30 after spikes to 4.6) - the notebook's "trains badly" reproduced; lr x10: 0.075 (loss stuck at 2.30,
largest 7.7); lr x100: 0.075 on both seeds (losses to 3e29 and 9e17, then NaN); lr /1000: 0.097 (loss stays at
2.30); raw 0..255 pixels: 0.719 (first losses 4.3, largest 11.1, train loss 0.62); N(0, 1) conv weights: 0.075 (a
loss of 2e27 within the first five steps, then NaN); zero conv weights and biases: 0.081 (loss stays at 2.30); no
zero_grad: 0.108 (loss up to 5700, ends at 2.64); softmax before F.cross_entropy: 0.081 (loss 2.3026 -> 2.3019);
nn.Sigmoid: 0.122 (loss stays at 2.31-2.37). Healthy: normalized inputs 0.972 (seed 1) and 0.978 (seed 2). In all: 5
healthy (3 programs, 2 variants), 12 broken, 0 ambiguous; non-finite losses only in lr x100 (both seeds) and N(0, 1)
init.
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
              "fit()), after_backward monitor.step(learn.loss) (TrainCB: after loss.backward(), before opt.step() "
              "and opt.zero_grad())")
EPOCHS = 40
BS = 256  # the notebook's 1024 is most of the 1437 training images (see the docstring)
LR = 0.2  # nbs/09_learner.ipynb's Learner rate; the notebook's own fit() uses 0.6 (the lr_x3 variant)


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


class TrainCB(Callback):
    def __init__(self, n_inp=1, zero_grad=True):
        self.n_inp = n_inp
        self.do_zero_grad = zero_grad  # the no_zero_grad variant: zero_grad does nothing
    def predict(self, learn): learn.preds = learn.model(*learn.batch[:self.n_inp])
    def get_loss(self, learn): learn.loss = learn.loss_func(learn.preds, *learn.batch[self.n_inp:])
    def backward(self, learn): learn.loss.backward()
    def step(self, learn): learn.opt.step()
    def zero_grad(self, learn):
        if self.do_zero_grad: learn.opt.zero_grad()


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


class DataLoaders:
    def __init__(self, *dls): self.train,self.valid = dls[:2]


# ---- nbs/10_activations.ipynb ----------------------------------------------------------------------------------------
def conv(ni, nf, ks=3, act=True, act_cls=nn.ReLU):
    res = nn.Conv2d(ni, nf, stride=2, kernel_size=ks, padding=ks//2)
    if act: res = nn.Sequential(res, act_cls())  # act_cls: nn.ReLU (the notebook); nn.Sigmoid for the variant
    return res


def cnn_layers(act_cls=nn.ReLU):
    return [
        conv(1 ,8, ks=5, act_cls=act_cls),        #14x14
        conv(8 ,16, act_cls=act_cls),             #7x7
        conv(16,32, act_cls=act_cls),             #4x4
        conv(32,64, act_cls=act_cls),             #2x2
        conv(64,10, act=False),  #1x1
        nn.Flatten()]


# ---- the watch ----------------------------------------------------------------------------------------------------------
class GradmedicCB(Callback):
    def __init__(self, every=10): self.every, self.monitor, self.losses = every, None, []
    def before_fit(self, learn): self.monitor = gradmedic.watch(learn.model, learn.opt, every=self.every)
    def after_backward(self, learn):
        self.monitor.step(learn.loss)
        self.losses.append(learn.loss.item())
    def after_fit(self, learn): self.monitor.close()


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, normalize: bool = False, init_mode: str = "default",
          act: str = "relu", zero_grad: bool = True, softmax: bool = False, epochs: int = EPOCHS,
          every: int = 10, verbose: bool = False) -> dict:
    """``lr_mult``: the SGD rate (0.2) times this.  ``input_scale``: the [0, 1] pixels times this (255: raw pixel
    values).  ``normalize``: (x - xmean) / xstd with the training set's mean and std (nbs/11_initializing's fix).
    ``init_mode``: "default" (PyTorch's), "std1" (normal_(0, 1) on every conv weight) or "zeros" (zeros on
    every conv weight and bias).  ``act``: "relu" (the notebook) or "sigmoid" (nn.Sigmoid after every conv but the
    last).  ``zero_grad=False``: TrainCB.zero_grad does nothing.  ``softmax``: softmax on the logits before
    F.cross_entropy (the bug)."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    xtr, ytr, xte, yte = digits28()
    xtr, xte = xtr * input_scale, xte * input_scale
    if normalize:
        xmean, xstd = xtr.mean(), xtr.std()
        xtr, xte = (xtr - xmean) / xstd, (xte - xmean) / xstd
    g = torch.Generator()
    g.manual_seed(seed)
    dls = DataLoaders(DataLoader(TensorDataset(xtr, ytr), batch_size=BS, shuffle=True, generator=g),
                      DataLoader(TensorDataset(xte, yte), batch_size=BS * 2))

    model = nn.Sequential(*cnn_layers(nn.Sigmoid if act == "sigmoid" else nn.ReLU))
    if init_mode in ("std1", "zeros"):  # the bugs: N(0, 1) / all-zero conv weights (zeros: biases too)
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                if init_mode == "std1":
                    init.normal_(m.weight, 0.0, 1.0)
                else:
                    init.zeros_(m.weight)
                    init.zeros_(m.bias)
    elif init_mode != "default":
        raise ValueError(init_mode)

    def loss_func(preds, y):  # the bug: probabilities into a loss that expects logits
        return F.cross_entropy(F.softmax(preds, dim=1), y)

    metrics = AccuracyCB()
    gm = GradmedicCB(every=every)
    lr = LR * lr_mult
    learn = Learner(model, dls, loss_func=loss_func if softmax else F.cross_entropy, lr=lr,
                    cbs=[TrainCB(zero_grad=zero_grad), metrics, gm])
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
            "extra": {"valid_loss": float(last["loss"]), "train_loss": float(metrics.log[-2]["loss"]),
                      "first_loss": sum(losses[:5]) / 5, "max_loss": max(finite) if finite else float("nan"),
                      "finite_losses": len(finite) == len(losses), "steps": len(losses), "lr": lr,
                      "lr_mult": lr_mult, "input_scale": input_scale, "normalize": normalize, "init_mode": init_mode, "act": act,
                      "zero_grad": zero_grad, "softmax": softmax, "epochs": epochs},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="faact", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"the notebook's CNN (cnn_layers: five stride-2 convs 1-8-16-32-64-10 with nn.ReLU, default init, Flatten), "
      f"[0, 1] inputs, F.cross_entropy, miniai Learner + TrainCB, optim.SGD lr {LR:g}, bs {BS}, {EPOCHS} epochs")
CASES: list[dict] = (
    [_case(f"faact_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"faact_lr_x3_s{s}", "lr_high", s, {"lr_mult": 3},
             f"{_P}: lr x3 (0.6, the rate the notebook's fit() uses, which trains badly there)") for s in (1, 2)]
    + [_case(f"faact_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("faact_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case("faact_raw_pixels_s1", "unscaled_inputs", 1, {"input_scale": 255.0},
             f"{_P}: raw 0..255 pixel values (no TF.to_tensor scaling)")]
    + [_case("faact_init_std1_s1", "init_large", 1, {"init_mode": "std1"},
             f"{_P}: init.normal_(std=1.0) on every conv weight")]
    + [_case("faact_zero_init_s1", "symmetric_init", 1, {"init_mode": "zeros"},
             f"{_P}: init.zeros_ on every conv weight and bias")]
    + [_case("faact_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: TrainCB.zero_grad left empty (opt.zero_grad() never called: the gradients accumulate)")]
    + [_case("faact_softmax_ce_s1", "wrong_loss", 1, {"softmax": True},
             f"{_P}: F.softmax on the logits before F.cross_entropy")]
    + [_case("faact_sigmoid_s1", "saturating_depth", 1, {"act": "sigmoid"},
             f"{_P}: nn.Sigmoid instead of nn.ReLU after each of the first four convs")]
    + [_case(f"faact_normalized_s{s}", "healthy", s, {"normalize": True},
             f"{_P}: inputs normalized by (x - xmean) / xstd (the fix nbs/11_initializing makes next)") for s in (1, 2)]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
