"""lyakaap's VAT-pytorch (virtual adversarial training, semi-supervised), watched by gradmedic.

Adapted from https://github.com/lyakaap/VAT-pytorch (commit 75a3974887dc340eaf200f4715134eb882127b9c, vat.py,
train_CIFAR10.py, data_utils.py and utils.py).  The repository has no licence file and names no licence, so this port
keeps to what is needed (no LICENSE-vatssl): vat.py's ``_disable_tracking_bn_stats``, ``_l2_normalize`` and
``VATLoss`` copied whole (a random unit direction ``d = torch.rand(x.shape).sub(0.5)``, normalized; one power
iteration, ``ip=1``: ``d.requires_grad_()``, the KL divergence ``F.kl_div(log_softmax(model(x + xi * d)), pred,
reduction='batchmean')`` against the no-grad prediction at ``x``, ``adv_distance.backward()``, ``d =
_l2_normalize(d.grad)``, ``model.zero_grad()``; then the LDS, the same KL at ``x + eps * d``; upstream's vat.py does
the power iteration with ``.backward()`` and ``d.grad``, not ``torch.autograd.grad``), train_CIFAR10.py's ``Net``,
its ``train`` loop and ``test``, utils.py's ``accuracy``, and data_utils.py's labelled / unlabelled split and
infinite samplers.  Kept as upstream: ``VATLoss(xi=10.0, eps=1.0, ip=1)`` built each iteration, the loop's order
(``optimizer.zero_grad()``, ``lds = vat_loss(model, x_ul)`` first, then ``output = model(x_l)``,
``loss = CrossEntropyLoss()(output, y_l) + alpha * lds`` with alpha 1.0, ``loss.backward()``, ``optimizer.step()``),
``optim.SGD(model.parameters(), lr=0.01, momentum=0.9)`` (the training script's optimizer; no Adam, no schedule),
no clipping, labelled and unlabelled batches of 32 each (``get_iters`` is called with ``ul_batch_size=batch_size``),
a fresh ``np.random.permutation`` per pass of each sampler, the unlabelled set disjoint from the labelled one, the
``Normalize(0.5, 0.5)`` scaling to -1..1, PyTorch's default inits, ``torch.manual_seed(seed)`` and
``np.random.seed(seed)``, and the test accuracy in eval mode as the metric (a fraction here, upstream prints %).

Changed to run offline on one CPU thread in ~6-15 s: the data are scikit-learn's bundled 8x8 digits (pixels 0..16,
divided by 16 where upstream's ToTensor divides CIFAR-10's bytes by 255) instead of CIFAR-10 downloaded by
torchvision: a fixed test set of 497 images (the same for every seed, drawn once by ``RandomState(0)``), and of the
other 1300, N_LABELED = 100 labelled (upstream n_labeled=4000) and 1200 unlabelled, split by the seed's
``np.random.permutation`` as upstream (upstream also sets 1000 validation images aside, never used by the script;
none here); no RandomHorizontalFlip (a mirrored digit is another glyph); ``Net`` takes 1 channel, has half the
widths (32, 64, 64 channels instead of 64, 128, 128; ``fc1`` Linear(64, 10)) and "same" padding (2, 1, 1) so the
8x8 images go 8 -> 4 -> 2 -> 1 through its three max-pools (upstream: no padding on 32x32), the same kind and depth
(three conv + max-pool + ReLU, global average pool, one Linear); ITERS = 400 iterations (upstream 10000); no
DataLoader workers, tqdm or logging meters; prints only with ``verbose``.  Knobs (one per variant): ``lr_mult``
scales the SGD rate; ``init_std`` draws every Conv2d and Linear weight from N(0, init_std) (biases kept);
``input_scale`` multiplies the normalized images (training and test); ``zero_grad=False`` leaves
``optimizer.zero_grad()`` out; ``xi``, ``eps``, ``alpha`` and ``batch_size`` replace upstream's argparse defaults.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the SGD is built,
``monitor.step(loss)`` right after ``loss.backward()`` (loss = cross-entropy + alpha * LDS; VATLoss's own backward
and ``model.zero_grad()`` come before it, inside ``vat_loss(model, x_ul)``), before ``optimizer.step()``;
``monitor.close()`` after the loop.  Metric "accuracy": the test accuracy on the 497 test digits after training;
``initial`` the untrained network's test accuracy (0.06-0.12; chance 0.1).  Supervised only (alpha 0, the same
program otherwise, not recorded): 0.905, 0.914, 0.857 on seeds 1-3, so VAT adds 2-7 points here.  A good outcome as
for the digit classifiers: test accuracy >= 0.9.

``CASES`` (program "vatssl"): the program on seeds 1-3, and one change each against the same seed's healthy run:
SGD lr x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) weights (seeds 1 and 2); the normalized images x100 (seeds 1
and 2); ``optimizer.zero_grad()`` left out; two VAT hyperparameters far off, recorded with cause "healthy" as no
cause names them: xi=1e-6 (the papers' value; in float32 x + 1e-6 * d rounds to x, so d.grad is zero and the VAT
term is exactly 0: supervised training) and eps=10 (an adversarial perturbation larger than the image); and two
changes expected harmless: alpha 0.5 and batch size 64 + 64.
Recorded (cases-public151; 5-14 s a run): healthy test accuracy 0.964, 0.964, 0.932 on seeds 1-3 (untrained 0.091,
0.105, 0.117; training loss 2.30 over the first 5 steps, largest 2.32; last-20 cross-entropy 0.010-0.013 and LDS
0.14-0.17, 100% of each labelled batch right; every loss finite); lr x10 (0.1): largest loss 2.87, labelled-batch
accuracy 62% at the end, 0.499: broken; lr x100 (1): seed 1 non-finite losses (largest finite 1.1e20), 0.091; seed
2 stuck at cross-entropy 2.27 (largest loss 3.18), 0.105: both broken; lr x1000 (10): first-5 mean 1.9e14, largest
9.5e14, 0.105: broken; lr /1000 (1e-5): cross-entropy 2.30 at the end, 0.101: broken; N(0, 1) weights: first-5
mean 3.3e14 (seed 1; 1.1e10 on seed 2), largest 1.9e23 (seed 1; seed 2 goes non-finite), 0.074 and 0.091: broken;
images x100: first-5 mean 15.7 and 49.3, largest 55 and 6266, cross-entropy 2.27 and 2.25 at the end, 0.074 and
0.087: broken; optimizer.zero_grad() left out: the same run as the control to the last digit (VATLoss's
``model.zero_grad()`` clears the gradients each iteration before the loss's backward), 0.964: healthy; xi=1e-6:
LDS 0 throughout, 0.905 (= the supervised-only run): healthy (good outcome, not 10 points below); eps=10: LDS 1.68
at the end, 0.926: healthy; alpha 0.5: 0.952: healthy; batch 64: 0.952: healthy.  Labels: 8 healthy (3 programs,
no zero_grad, xi, eps, alpha, batch), 9 broken, 0 ambiguous.
"""

from __future__ import annotations

import contextlib
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optim.SGD(model.parameters(), lr=0.01, momentum=0.9); "
              "monitor.step(loss) right after loss.backward() of loss = cross_entropy(labelled batch) + alpha * lds "
              "(the VAT loss on the unlabelled batch, computed first: its own power-iteration backward and "
              "model.zero_grad() come before), before optimizer.step()")

ITERS = 400          # upstream: --iters 10000
N_LABELED = 100      # upstream: n_labeled=4000 (CIFAR-10)
W1, W2 = 32, 64      # upstream: 64 and 128 channels (Conv2d(3, 64), Conv2d(64, 128), Conv2d(128, 128), Linear(128, 10))
N_TEST = 497         # digits: 497 of the 1797 images, the same for every seed, are the test set (upstream: CIFAR-10's)


# ---------------------------------------------------------------------------------------------- vat.py (as upstream)
@contextlib.contextmanager
def _disable_tracking_bn_stats(model):

    def switch_attr(m):
        if hasattr(m, 'track_running_stats'):
            m.track_running_stats ^= True

    model.apply(switch_attr)
    yield
    model.apply(switch_attr)


def _l2_normalize(d):
    d_reshaped = d.view(d.shape[0], -1, *(1 for _ in range(d.dim() - 2)))
    d /= torch.norm(d_reshaped, dim=1, keepdim=True) + 1e-8
    return d


class VATLoss(nn.Module):

    def __init__(self, xi=10.0, eps=1.0, ip=1):
        """VAT loss
        :param xi: hyperparameter of VAT (default: 10.0)
        :param eps: hyperparameter of VAT (default: 1.0)
        :param ip: iteration times of computing adv noise (default: 1)
        """
        super(VATLoss, self).__init__()  # noqa: UP008 (as upstream)
        self.xi = xi
        self.eps = eps
        self.ip = ip

    def forward(self, model, x):
        with torch.no_grad():
            pred = F.softmax(model(x), dim=1)

        # prepare random unit tensor
        d = torch.rand(x.shape).sub(0.5).to(x.device)
        d = _l2_normalize(d)

        with _disable_tracking_bn_stats(model):
            # calc adversarial direction
            for _ in range(self.ip):
                d.requires_grad_()
                pred_hat = model(x + self.xi * d)
                logp_hat = F.log_softmax(pred_hat, dim=1)
                adv_distance = F.kl_div(logp_hat, pred, reduction='batchmean')
                adv_distance.backward()
                d = _l2_normalize(d.grad)
                model.zero_grad()

            # calc LDS
            r_adv = d * self.eps
            pred_hat = model(x + r_adv)
            logp_hat = F.log_softmax(pred_hat, dim=1)
            lds = F.kl_div(logp_hat, pred, reduction='batchmean')

        return lds


# ---------------------------------------------------------------------------------------- train_CIFAR10.py's Net
class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()  # noqa: UP008 (as upstream)
        # upstream: Conv2d(3, 64, kernel_size=5), Conv2d(64, 128, kernel_size=3), Conv2d(128, 128, kernel_size=3) without
        # padding on 32x32 CIFAR images; here 1 channel, half the widths (W1, W2) and "same" padding (2, 1, 1) so the
        # 8x8 digits go 8 -> 4 -> 2 -> 1 through the three max-pools
        self.conv1 = nn.Conv2d(1, W1, kernel_size=5, padding=2)
        self.conv2 = nn.Conv2d(W1, W2, kernel_size=3, padding=1)
        self.conv3 = nn.Conv2d(W2, W2, kernel_size=3, padding=1)
        self.fc1 = nn.Linear(W2, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        x = F.relu(F.max_pool2d(self.conv3(x), 2))
        x = F.adaptive_avg_pool2d(x, 1)
        x = x.view(-1, W2)
        x = self.fc1(x)
        return x


# ------------------------------------------------------------------------------------------- data_utils.py, offline
def _infinite(x, y, batch_size):
    """data_utils.py's InfiniteSampler under a DataLoader: a new np.random.permutation each pass, batches across passes."""
    def idx():
        while True:
            order = np.random.permutation(len(x))
            yield from order
    it = idx()
    while True:
        b = np.fromiter((next(it) for _ in range(batch_size)), dtype=np.int64, count=batch_size)
        yield x[b], y[b]


def get_iters(l_batch_size=32, ul_batch_size=32, test_batch_size=1000, input_scale=1.0):
    """upstream: get_iters(dataset='CIFAR10', n_labeled=4000, valid_size=1000, ...), CIFAR-10 downloaded by torchvision;
    here scikit-learn's bundled 8x8 digits (pixels 0..16)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x_all = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0  # upstream: ToTensor() (uint8 / 255)
    x_all = (x_all - 0.5) / 0.5  # upstream: Normalize([0.5, 0.5, 0.5], [0.5, 0.5, 0.5])
    x_all = x_all * input_scale  # the unscaled_inputs variant: x100
    y_all = torch.tensor(d.target, dtype=torch.long)
    split = np.random.RandomState(0).permutation(len(x_all))  # one fixed test set for every seed
    x_train, y_train = x_all[split[:-N_TEST]], y_all[split[:-N_TEST]]
    x_test, y_test = x_all[split[-N_TEST:]], y_all[split[-N_TEST:]]

    randperm = np.random.permutation(len(x_train))
    labeled_idx = randperm[:N_LABELED]
    unlabeled_idx = randperm[N_LABELED:]  # upstream: a validation set of valid_size=1000 first (never used by the script)
    # upstream: RandomHorizontalFlip on the training images (CIFAR); left out here, a mirrored digit is another glyph
    return {
        'labeled': _infinite(x_train[labeled_idx], y_train[labeled_idx], l_batch_size),
        'unlabeled': _infinite(x_train[unlabeled_idx], y_train[unlabeled_idx], ul_batch_size),
        'test': [(x_test[i:i + test_batch_size], y_test[i:i + test_batch_size])
                 for i in range(0, len(x_test), test_batch_size)],
        'n_test': len(x_test),
    }


def accuracy(output, target, top_k=(1,)):
    """Computes the precision@k for the specified values of k (utils.py)"""
    max_k = max(top_k)
    batch_size = target.size(0)

    _, pred = output.topk(max_k, 1, True, True)
    pred = pred.t()
    correct = pred.eq(target.view(1, -1).expand_as(pred))

    res = []
    for k in top_k:
        correct_k = correct[:k].view(-1).float().sum(0, keepdim=True)
        res.append(correct_k.mul_(100.0 / batch_size))

    if len(res) == 1:
        res = res[0]

    return res


def test(model, data_iterators):
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in data_iterators['test']:
            outputs = model(x)
            correct += torch.eq(outputs.max(dim=1)[1], y).detach().cpu().float().sum()
    return float(correct / data_iterators['n_test'])  # upstream: * 100. and printed


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, input_scale: float = 1.0,
          zero_grad: bool = True, xi: float = 10.0, eps: float = 1.0, ip: int = 1, alpha: float = 1.0,
          batch_size: int = 32, iters: int = ITERS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    torch.manual_seed(seed)
    np.random.seed(seed)

    data_iterators = get_iters(l_batch_size=batch_size, ul_batch_size=batch_size, input_scale=input_scale)

    model = Net()
    if init_std is not None:  # the init_large variant: N(0, init_std) for every conv and linear weight
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, mean=0.0, std=init_std)
    untrained_acc = test(model, data_iterators)  # not upstream: the untrained network's accuracy, for ``initial``
    lr = 0.01 * lr_mult
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    model.train()
    losses, ce_l, lds_l, prec = [], [], [], []
    for i in range(iters):
        x_l, y_l = next(data_iterators['labeled'])
        x_ul, _ = next(data_iterators['unlabeled'])

        if zero_grad:  # the no_zero_grad variant leaves this out
            optimizer.zero_grad()

        vat_loss = VATLoss(xi=xi, eps=eps, ip=ip)
        cross_entropy = nn.CrossEntropyLoss()

        lds = vat_loss(model, x_ul)
        output = model(x_l)
        classification_loss = cross_entropy(output, y_l)
        loss = classification_loss + alpha * lds
        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()

        acc = accuracy(output, y_l)
        losses.append(loss.item())
        ce_l.append(classification_loss.item())
        lds_l.append(lds.item())
        prec.append(acc.item())
        if verbose and i % 100 == 0:  # upstream: log_interval 100, with running averages
            print(f'Iteration: {i}\tCrossEntropyLoss {ce_l[-1]:.4f}\tVATLoss {lds_l[-1]:.4f}\tPrec@1 {prec[-1]:.3f}'
                  f'\t({time.time() - t0:.1f}s)', flush=True)
    monitor.close()
    test_acc = test(model, data_iterators)
    la = np.array(losses)
    fin = np.isfinite(la)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": test_acc,
            "initial": untrained_acc, "initial_what": "the untrained network's test accuracy (chance 0.1)",
            "chance": 0.1,
            "extra": {"train_loss": float(np.mean(la[-20:])), "first_loss": float(np.mean(la[:5])),
                      "max_loss": float(np.max(la[fin])) if fin.any() else float("nan"),
                      "finite_losses": bool(fin.all()), "ce_loss": float(np.mean(ce_l[-20:])),
                      "lds": float(np.mean(lds_l[-20:])), "train_prec1": float(np.mean(prec[-20:])),
                      "untrained_acc": untrained_acc, "steps": iters, "lr": lr, "lr_mult": lr_mult,
                      "init_std": -1.0 if init_std is None else init_std, "input_scale": input_scale,
                      "zero_grad": zero_grad, "xi": xi, "eps": eps, "ip": ip, "alpha": alpha, "batch_size": batch_size,
                      "n_labeled": N_LABELED, "n_test": data_iterators['n_test']},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="vatssl", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"VAT-pytorch (Net: 3 conv + max-pool + ReLU, global average pool, Linear; CrossEntropyLoss on {N_LABELED} labelled "
      f"digits + alpha 1.0 * VATLoss(xi=10.0, eps=1.0, ip=1) on the unlabelled ones; SGD lr 0.01, momentum 0.9; batch 32 "
      f"+ 32; {ITERS} iterations)")
CASES: list[dict] = (
    [_case(f"vatssl_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"vatssl_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: SGD lr x{k} ({0.01 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("vatssl_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: SGD lr /1000 (1e-05)")]
    + [_case(f"vatssl_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every Conv2d and Linear weight instead of PyTorch's default "
             f"kaiming-uniform (biases kept)") for s in (1, 2)]
    + [_case(f"vatssl_inputs_x100_s{s}", "unscaled_inputs", s, {"input_scale": 100.0},
             f"{_P}: the normalized images (-1..1) multiplied by 100, training and test alike") for s in (1, 2)]
    + [_case("vatssl_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out of the loop (VATLoss's own model.zero_grad(), after its power-iteration "
             f"backward, still clears the gradients before the loss's backward)")]
    + [_case("vatssl_xi_1e-6_s1", "healthy", 1, {"xi": 1e-6},
             f"{_P}: VATLoss xi=1e-6 (the papers' value) instead of 10.0: in float32, x + 1e-6 * d equals x, d.grad is "
             f"zero and the VAT term is 0 (supervised training only; no cause names it)")]
    + [_case("vatssl_eps_10_s1", "healthy", 1, {"eps": 10.0},
             f"{_P}: VATLoss eps=10.0 instead of 1.0 (an adversarial perturbation larger than the image itself; no cause "
             f"names it)")]
    + [_case("vatssl_alpha_half_s1", "healthy", 1, {"alpha": 0.5},
             f"{_P}: alpha 0.5 instead of 1.0 (expected harmless)")]
    + [_case("vatssl_batch_64_s1", "healthy", 1, {"batch_size": 64},
             f"{_P}: batch size 64 + 64 instead of 32 + 32 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
