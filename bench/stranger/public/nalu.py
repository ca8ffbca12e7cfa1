"""kevinzakka's NALU-pytorch: a 2-layer Neural Arithmetic Logic Unit learning a + b (static arithmetic), watched by gradmedic.

Adapted from https://github.com/kevinzakka/NALU-pytorch (commit 8ddca091f1282575766e9aaaa7657a19385873ef, files
models/nac.py, models/nalu.py, models/mlp.py, models/utils.py and function_learning.py).  The repository has no
licence file and names no licence, so this port keeps to what is needed (no LICENSE-nalu): the two cells, the NALU
stack, the MLP used for upstream's random baseline, and function_learning.py's data, training and test code.
Kept as upstream: ``NeuralAccumulatorCell`` (W = tanh(W_hat) * sigmoid(M_hat), both kaiming_uniform_, no bias),
``NeuralArithmeticLogicUnitCell`` (gate g = sigmoid(G x), G kaiming_uniform_(a=sqrt(5)); y = g * NAC(x) + (1 - g) *
exp(NAC(log(|x| + eps))), eps 1e-10, one NAC shared by both paths), ``NALU(num_layers=2, in_dim=2, hidden_dim=2,
out_dim=1)``, ``generate_data`` (100 numbers U(5, 10); each pair (a, b) is the sums of two disjoint random 5-subsets;
500 training and 50 test pairs, shuffled by np.random), ``torch.optim.RMSprop(net.parameters(), lr=1e-2)``, the
full-batch loop (``out = model(data)``, ``F.mse_loss``, ``optimizer.zero_grad()``, ``loss.backward()``,
``optimizer.step()``), ``test`` (the mean |target - out| over the 50 test pairs, upstream's "mse") and the
normalization of interpolation.txt: 100 * the model's test error / the mean test error of 100 random untrained
``MLP(2, 2, 2, 1, 'relu6')`` networks.

Changed to run offline on one CPU thread in ~10-20 s: one task, 'add' (upstream loops over six functions and, as it
builds the four models once, trains each model on all six in turn; 'add' is the first, so a fresh NALU trains on it as
here); only the NALU is trained (upstream also trains two MLPs and a NAC, which are not part of the metric's NALU
column); NUM_ITERS 5000 instead of int(1e5) (upstream's printed NALU 'add' score is 0.135-0.157; here 0.35-1.19 after
5000 iterations, about 10 s unloaded); ``random``, ``np.random`` and ``torch`` seeded with the run's seed (upstream
does not seed); the model is built after the random baseline (upstream builds all four models first; only the RNG
stream differs); ``str2act`` compares with ``==`` (upstream ``is``) and keeps only its two used cases; no results
file; prints only with ``verbose``.  Only interpolation is tested, as upstream's function_learning.py (its README
says extrapolation is not implemented).  Knobs (one per variant): ``lr_mult``; ``input_scale`` multiplies the
inputs (train and test) with the targets left at fn(a, b); ``target_scale`` multiplies the targets (the metric is
relative to the random MLPs' error on the same targets, so it stays comparable); ``init_std`` draws W_hat, M_hat and
G of every cell from N(0, init_std); ``zero_grad=False``; ``eps``; ``hidden_dim``.

The watch, as a user would: ``monitor = gradmedic.watch(net, optimizer, every=10)`` right after the RMSprop is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the
loop.  Metric "test_rel_error" (lower is better): upstream's interpolation.txt number, 100 x the NALU's mean absolute
test error / the random MLPs' (upstream calls both "mse"; they are mean absolute errors); ``initial`` 100, the
random untrained model by that normalization (the untrained NALU itself scores 92-104).

``CASES`` (program "nalu"): the program on seeds 1-3, and one change each against the same seed's healthy run: RMSprop
lr x10, x100, x1000 (seeds 1 and 2), /1000 (seeds 1 and 2); the inputs x100 (seeds 1 and 2); the targets x100 (seeds
1 and 2); N(0, 1) init of W_hat, M_hat and G; ``optimizer.zero_grad()`` left out; and two changes expected
harmless (cause "healthy"): eps 0 in the log (the log(0) bug cannot fire here: every input is 25..50 and no hidden
value reaches 0) and HIDDEN_DIM 4.
Recorded (cases-public121; 17 runs, 5-23 s each on the shared 2-core machine, 216 s in all): healthy test_rel_error
1.191, 0.353, 0.347 on seeds 1-3 (random MLP error 72.7-74.9; training MSE 3584-4912 over the first 5 steps -> 0.06-1.09
over the last 20; every loss finite): healthy; lr x10 (0.1) and x100 (1): 5.3e-06 and 5.5e-06, training MSE 0.0 (the
exact sum found faster than the control): healthy; lr x1000 (10): 100.2 (seed 1, stuck: training MSE 5455 -> 5625)
and 49.8 (seed 2, training MSE 1415): broken; lr /1000 (1e-5): 88.4 and 95.4 (training MSE 4778 -> 4411, 5401 ->
5114): broken; inputs x100: 3.08 (seed 1, largest training MSE 12565) and 2.85 (seed 2): broken; targets x100: 6.49
(seed 1) and 98.0 (seed 2, training MSE 5.6e7 -> 5.4e7): broken; N(0, 1) init: 0.761: healthy; zero_grad left out:
1.3e-05 (training MSE 0.0): healthy; eps 0: 1.191, the same run as the control: healthy; HIDDEN_DIM 4: 0.428:
healthy.  Labels: 9 healthy (3 programs, lr x10, lr x100, N(0, 1) init, no zero_grad, eps 0, hidden 4), 8 broken,
0 ambiguous; no non-finite loss in any run.  The 'add' task is easy for RMSprop (a 2-input linear map), so lr x10/x100
and the accumulated gradients only reach the exact answer sooner than the 5000-iteration control.
"""

from __future__ import annotations

import math
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.init as init
from torch.nn.parameter import Parameter

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optim = torch.optim.RMSprop(net.parameters(), "
              "lr=LEARNING_RATE); monitor.step(loss) right after loss.backward() (F.mse_loss over the 500 training "
              "pairs, full batch), before optimizer.step() (optimizer.zero_grad() comes before the backward, "
              "upstream's order)")

NUM_LAYERS = 2
HIDDEN_DIM = 2
LEARNING_RATE = 1e-2
NUM_ITERS = 5000  # upstream: int(1e5)
RANGE = [5, 10]
FN_STR = "add"  # upstream loops over all six ARITHMETIC_FUNCTIONS; this port runs the first, 'add'
ARITHMETIC_FUNCTIONS = {
    'add': lambda x, y: x + y,
    'sub': lambda x, y: x - y,
    'mul': lambda x, y: x * y,
    'div': lambda x, y: x / y,
    'squared': lambda x, y: torch.pow(x, 2),
    'root': lambda x, y: torch.sqrt(x),
}


# ---- models/nac.py ------------------------------------------------------------------------------------------------
class NeuralAccumulatorCell(nn.Module):
    """A Neural Accumulator (NAC) cell [1].

    Attributes:
        in_dim: size of the input sample.
        out_dim: size of the output sample.

    Sources:
        [1]: https://arxiv.org/abs/1808.00508
    """
    def __init__(self, in_dim, out_dim, init_std=None):
        super().__init__()
        self.in_dim = in_dim
        self.out_dim = out_dim

        self.W_hat = Parameter(torch.Tensor(out_dim, in_dim))
        self.M_hat = Parameter(torch.Tensor(out_dim, in_dim))

        self.register_parameter('W_hat', self.W_hat)
        self.register_parameter('M_hat', self.M_hat)
        self.register_parameter('bias', None)

        self._reset_params(init_std)

    def _reset_params(self, init_std=None):
        if init_std is not None:  # upstream: kaiming_uniform_ only (the init_large variant: N(0, init_std))
            init.normal_(self.W_hat, std=init_std)
            init.normal_(self.M_hat, std=init_std)
            return
        init.kaiming_uniform_(self.W_hat)
        init.kaiming_uniform_(self.M_hat)

    def forward(self, input):
        W = torch.tanh(self.W_hat) * torch.sigmoid(self.M_hat)
        return F.linear(input, W, self.bias)

    def extra_repr(self):
        return 'in_dim={}, out_dim={}'.format(  # noqa: UP032 (as upstream)
            self.in_dim, self.out_dim
        )


# ---- models/nalu.py -----------------------------------------------------------------------------------------------
class NeuralArithmeticLogicUnitCell(nn.Module):
    """A Neural Arithmetic Logic Unit (NALU) cell [1].

    Attributes:
        in_dim: size of the input sample.
        out_dim: size of the output sample.

    Sources:
        [1]: https://arxiv.org/abs/1808.00508
    """
    def __init__(self, in_dim, out_dim, eps=1e-10, init_std=None):
        super().__init__()
        self.in_dim = in_dim
        self.out_dim = out_dim
        self.eps = eps  # upstream: self.eps = 1e-10 (the no_eps variant: 0)

        self.G = Parameter(torch.Tensor(out_dim, in_dim))
        self.nac = NeuralAccumulatorCell(in_dim, out_dim, init_std=init_std)
        self.register_parameter('bias', None)

        if init_std is not None:  # upstream: kaiming_uniform_ only (the init_large variant: N(0, init_std))
            init.normal_(self.G, std=init_std)
        else:
            init.kaiming_uniform_(self.G, a=math.sqrt(5))

    def forward(self, input):
        a = self.nac(input)
        g = torch.sigmoid(F.linear(input, self.G, self.bias))
        add_sub = g * a
        log_input = torch.log(torch.abs(input) + self.eps)
        m = torch.exp(self.nac(log_input))
        mul_div = (1 - g) * m
        y = add_sub + mul_div
        return y

    def extra_repr(self):
        return 'in_dim={}, out_dim={}'.format(  # noqa: UP032 (as upstream)
            self.in_dim, self.out_dim
        )


class NALU(nn.Module):
    """A stack of NAC layers.

    Attributes:
        num_layers: the number of NAC layers.
        in_dim: the size of the input sample.
        hidden_dim: the size of the hidden layers.
        out_dim: the size of the output.
    """
    def __init__(self, num_layers, in_dim, hidden_dim, out_dim, eps=1e-10, init_std=None):
        super().__init__()
        self.num_layers = num_layers
        self.in_dim = in_dim
        self.hidden_dim = hidden_dim
        self.out_dim = out_dim

        layers = []
        for i in range(num_layers):
            layers.append(
                NeuralArithmeticLogicUnitCell(
                    hidden_dim if i > 0 else in_dim,
                    hidden_dim if i < num_layers - 1 else out_dim,
                    eps=eps, init_std=init_std,  # upstream: no eps / init_std arguments
                )
            )
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        out = self.model(x)
        return out


# ---- models/mlp.py (the random baseline of upstream's normalization) ----------------------------------------------
def str2act(s):  # models/utils.py, the two cases function_learning.py uses
    if s == 'none':  # upstream: `s is 'none'`
        return None
    elif s == 'relu6':
        return nn.ReLU6()
    else:
        raise ValueError("[!] Invalid activation function.")


class MLP(nn.Module):
    """A Multi-Layer Perceptron (MLP)."""
    def __init__(self, num_layers, in_dim, hidden_dim, out_dim, activation='relu'):
        super().__init__()
        self.num_layers = num_layers
        self.in_dim = in_dim
        self.hidden_dim = hidden_dim
        self.out_dim = out_dim
        self.activation = str2act(activation)

        nonlin = True
        if self.activation is None:
            nonlin = False

        layers = []
        for i in range(num_layers - 1):
            layers.extend(
                self._layer(
                    hidden_dim if i > 0 else in_dim,
                    hidden_dim,
                    nonlin,
                )
            )
        layers.extend(self._layer(hidden_dim, out_dim, False))

        self.model = nn.Sequential(*layers)

        # init
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5))
                fan_in, _ = nn.init._calculate_fan_in_and_fan_out(m.weight)
                bound = 1 / math.sqrt(fan_in)
                nn.init.uniform_(m.bias, -bound, bound)

    def _layer(self, in_dim, out_dim, activation=True):
        if activation:
            return [
                nn.Linear(in_dim, out_dim),
                self.activation,
            ]
        else:
            return [
                nn.Linear(in_dim, out_dim),
            ]

    def forward(self, x):
        out = self.model(x)
        return out


# ---- function_learning.py -----------------------------------------------------------------------------------------
def generate_data(num_train, num_test, dim, num_sum, fn, support):
    data = torch.FloatTensor(dim).uniform_(*support).unsqueeze_(1)
    X, y = [], []
    for i in range(num_train + num_test):  # noqa: B007 (as upstream)
        idx_a = random.sample(range(dim), num_sum)
        idx_b = random.sample([x for x in range(dim) if x not in idx_a], num_sum)
        a, b = data[idx_a].sum(), data[idx_b].sum()
        X.append([a, b])
        y.append(fn(a, b))
    X = torch.FloatTensor(X)
    y = torch.FloatTensor(y).unsqueeze_(1)
    indices = list(range(num_train + num_test))
    np.random.shuffle(indices)
    X_train, y_train = X[indices[num_test:]], y[indices[num_test:]]
    X_test, y_test = X[indices[:num_test]], y[indices[:num_test]]
    return X_train, y_train, X_test, y_test


def test(model, data, target):
    with torch.no_grad():
        out = model(data)
        return torch.abs(target - out)


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, target_scale: float = 1.0,
          init_std: float | None = None, zero_grad: bool = True, eps: float = 1e-10, hidden_dim: int = HIDDEN_DIM,
          num_train: int = 500, num_iters: int = NUM_ITERS, fn_str: str = FN_STR, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    random.seed(seed)  # upstream: unseeded
    np.random.seed(seed)
    torch.manual_seed(seed)
    t0 = time.time()
    fn = ARITHMETIC_FUNCTIONS[fn_str]

    # dataset
    X_train, y_train, X_test, y_test = generate_data(
        num_train=num_train, num_test=50,
        dim=100, num_sum=5, fn=fn,
        support=RANGE,
    )
    # the unscaled_inputs variant: the network sees the inputs x input_scale, the targets stay fn(a, b);
    # the unscaled_target variant: the targets x target_scale (the metric is relative, so comparable)
    X_train, X_test = X_train * input_scale, X_test * input_scale
    y_train, y_test = y_train * target_scale, y_test * target_scale

    # random model
    random_mse = []
    for i in range(100):  # noqa: B007 (as upstream)
        net = MLP(
            num_layers=NUM_LAYERS, in_dim=2,
            hidden_dim=HIDDEN_DIM, out_dim=1,
            activation='relu6',
        )
        mse = test(net, X_test, y_test)
        random_mse.append(mse.mean().item())
    rand = float(np.mean(random_mse))

    net = NALU(
        num_layers=NUM_LAYERS,
        in_dim=2,
        hidden_dim=hidden_dim,
        out_dim=1,
        eps=eps, init_std=init_std,
    )
    untrained = test(net, X_test, y_test).mean().item()
    lr = LEARNING_RATE * lr_mult
    optimizer = torch.optim.RMSprop(net.parameters(), lr=lr)
    monitor = gradmedic.watch(net, optimizer, every=every)  # gradmedic

    # train(model, optimizer, data, target, num_iters)
    losses = []
    for i in range(num_iters):
        out = net(X_train)
        loss = F.mse_loss(out, y_train)
        mea = torch.mean(torch.abs(y_train - out))
        if zero_grad:  # the no_zero_grad variant leaves this out
            optimizer.zero_grad()
        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()
        losses.append(float(loss.detach()))
        if verbose and i % 1000 == 0:
            print("\t{}/{}: loss: {:.7f} - mea: {:.7f}".format(  # noqa: UP032 (as upstream)
                i+1, num_iters, loss.item(), mea.item())
            )
    monitor.close()

    mse = test(net, X_test, y_test).mean().item()
    rel = 100.0 * mse / rand  # upstream's interpolation.txt entry (NORMALIZE = True)
    if not math.isfinite(rel):
        rel = float("nan")
    la = np.asarray(losses)
    return {"monitors": {"": monitor}, "metric": "test_rel_error", "value": rel, "chance": None,
            "initial": 100.0,
            "initial_what": "the random (untrained) ReLU6 MLPs' mean absolute test error, 100 by upstream's normalization",
            "extra": dict(lr=lr, test_mae=mse, random_mlp_mae=rand, untrained_nalu_mae=untrained,
                          untrained_nalu_rel=100.0 * untrained / rand,
                          train_loss=float(np.mean(la[-20:])), first_loss=float(np.mean(la[:5])),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()),
                          first_nonfinite=int(np.argmax(~np.isfinite(la))) if not np.isfinite(la).all() else -1,
                          steps=len(losses), fn=fn_str, lr_mult=lr_mult, input_scale=input_scale,
                          target_scale=target_scale, init_std=init_std, zero_grad=zero_grad, eps=eps,
                          hidden_dim=hidden_dim, num_train=num_train),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="nalu", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"NALU-pytorch static arithmetic '{FN_STR}' (NALU, {NUM_LAYERS} layers, hidden {HIDDEN_DIM}; MSE; RMSprop lr "
      f"{LEARNING_RATE:g}, full batch of 500 pairs, {NUM_ITERS} iterations)")
CASES: list[dict] = (
    [_case(f"nalu_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"nalu_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: RMSprop lr x{k} ({LEARNING_RATE * k:g})")
       for k, ss in ((10, (1,)), (100, (1,)), (1000, (1, 2))) for s in ss]
    + [_case(f"nalu_lr_div1000_s{s}", "lr_low", s, {"lr_mult": 1e-3},
             f"{_P}: RMSprop lr /1000 ({LEARNING_RATE * 1e-3:g})") for s in (1, 2)]
    + [_case(f"nalu_inputs_x100_s{s}", "unscaled_inputs", s, {"input_scale": 100.0},
             f"{_P}: the inputs (a, b) x100 (2500..5000), the targets a + b unchanged") for s in (1, 2)]
    + [_case(f"nalu_target_x100_s{s}", "unscaled_target", s, {"target_scale": 100.0},
             f"{_P}: the targets x100 (5000..10000; the inputs unchanged; the metric is relative to the random "
             f"MLPs' error on the same targets)") for s in (1, 2)]
    + [_case("nalu_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_P}: W_hat, M_hat and G of every cell drawn from N(0, 1) instead of kaiming_uniform_")]
    + [_case("nalu_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("nalu_no_eps_s1", "healthy", 1, {"eps": 0.0},
             f"{_P}: eps 0 in torch.log(torch.abs(input) + self.eps) (upstream 1e-10; no input here is 0)")]
    + [_case("nalu_hidden4_s1", "healthy", 1, {"hidden_dim": 4}, f"{_P}: HIDDEN_DIM 4 instead of 2")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(**kw)
    print({k: v for k, v in r.items() if k != "monitors"})
