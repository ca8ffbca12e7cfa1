"""Iterative magnitude pruning (the lottery ticket hypothesis) of an fc1 (300-100) MLP, watched by gradmedic.

Adapted from https://github.com/rahulvigneswaran/Lottery-Ticket-Hypothesis-in-Pytorch (commit
34a8c9678406a1c7dd0fec4c9f0d25d017be55fb, ``main.py`` run as its defaults ``--prune_type=lt --arch_type=fc1
--dataset=mnist``, and ``archs/mnist/fc1.py``).  The repository has no licence file (nor a licence line in its
README), so there is no LICENSE-lotteryticket and the port copies only what the run needs: ``fc1``, ``weight_init``,
``make_mask``, ``prune_by_percentile``, ``original_initialization``, ``train`` and ``test`` of main.py, and the loop
of its ``main``.  Kept as upstream: fc1 (Linear(in, 300), ReLU, Linear(300, 100), ReLU, Linear(100, 10)),
``model.apply(weight_init)`` (xavier_normal_ weights, normal_ N(0, 1) biases), the deep-copied initial state dict,
the all-ones mask, ``nn.CrossEntropyLoss()``, the first optimizer ``torch.optim.Adam(model.parameters(),
weight_decay=1e-4)`` (no lr: Adam's default 1e-3), and for every later round ``prune_by_percentile`` (every
``weight`` tensor, the output layer's too, pruned by the percentile of its surviving magnitudes; biases not pruned),
``original_initialization`` (the surviving weights rewound to their saved init) and a fresh
``torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=1e-4)`` with upstream's ``--lr`` 1.2e-3; the
batch size 60 (shuffled, drop_last False; the test loader drop_last True), and ``train``'s step: zero_grad,
forward, loss, backward, then the "Freezing Pruned weights" loop as upstream wrote it,
``grad_tensor = np.where(tensor < EPS, 0, grad_tensor)`` on every weight (note ``tensor < EPS``, not ``abs``: it
also zeroes the gradient of every negative weight; Adam's weight_decay still adds 1e-4 w to it, so negative weights
are pulled toward zero; the brief described it as ``grad * mask``, but the upstream file has this line and it is
kept), then ``optimizer.step()``.  Also kept: ``original_initialization``'s ``param.data = initial_state_dict[name]``
for biases, which shares the saved tensor, so from the second rewind on the biases are not rewound (upstream's
behaviour).

Changed to run offline on one CPU thread in a few seconds: the data are scikit-learn's 8x8 digits (1797 images,
64 inputs, so fc1's first layer is Linear(64, 300); upstream: MNIST, 28*28) split once into 1437 training and 360
test images (``train_test_split(random_state=0, stratify=y)``; 360 = 6 test batches of 60, so drop_last drops
nothing and ``test``'s division by ``len(test_loader.dataset)`` is right), normalized as upstream normalizes MNIST:
ToTensor's scaling to [0, 1] (here /16) then ``Normalize((0.1307,), (0.3081,))`` with upstream's constants;
ROUNDS = 4 rounds, the first unpruned (upstream ``--prune_iterations`` 35) at PRUNE_PERCENT = 20 per round
(upstream's default ``--prune_percent`` is 10; 20 is the paper's rate for LeNet-300-100's layers), so the last round
trains 51.2% of the weights (51.6% of all parameters, biases included); EPOCHS = 20 epochs per round (upstream
``--end_iter`` 100; with 5 the healthy run ends at 0.93); the run's seed goes to ``torch.manual_seed``
and ``np.random.seed``; no tensorboard, saves, plots, dumps, tqdm or prints (``verbose`` prints a line per epoch).
``test`` is also called once after the last epoch of the last round, and that test accuracy is the metric (upstream
tests before each epoch, so never after the last one; its per-round best goes to ``extra``).  ``test``'s
``F.nll_loss`` of the raw outputs is upstream's and unused.  The globals ``model``, ``mask`` and ``step`` are
upstream's.

Knobs (one per variant): ``lr_mult`` scales both rates (the first optimizer's default 1e-3 and ``--lr`` 1.2e-3);
``init_std`` replaces ``weight_init``'s xavier_normal_ of each Linear weight by normal_(0, init_std) (biases kept);
``raw_scale`` feeds the raw pixel values times ``raw_scale`` without ToTensor's scaling or Normalize (255/16: digits'
0..16 on MNIST's raw 0..255 scale); ``zero_grad=False`` leaves ``optimizer.zero_grad()`` out of ``train``; ``prune_percent`` and
``batch_size`` replace 20 and 60.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` once, right after the first
Adam is built; ``monitor.step(train_loss)`` right after ``train_loss.backward()``, before the freezing loop and
``optimizer.step()``; ``monitor.close()`` after the last round.  Upstream builds a new Adam each round; the monitor
is not re-created or told of it (its ``optimizer`` stays the round-0 Adam, whose step hooks no longer fire from
round 1 on), and upstream's ``param.data = ...`` replacements keep the same Parameter objects, so the watch's hooks
stay on them (the recorded ``lr`` is therefore the round-0 rate, 1e-3 x lr_mult, throughout, though rounds 1-3 run at
1.2e-3 x lr_mult).  One run segment per round: 4 x 20 epochs x 24 batches = 1920 steps (1200 at batch 120).

``CASES`` (program "lotteryticket"): the program on seeds 1-3 and one change each against the same seed's healthy
run: both Adam rates x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) Linear weights (seeds 1 and 2); raw pixels on
the 0..255 scale (seeds 1 and 2) and, added after those came out ambiguous on both seeds, raw pixels x100 (0..1600,
seeds 1 and 2); ``optimizer.zero_grad()`` left out (seeds 1 and 2); and two changes expected harmless: batch 120 and
10% pruning per round (cause "healthy").  Labels come from run.py's outcome rules only.  Tried and not recorded:
pruning 90% per round (seed 1: 10.7%, 1.8%, 0.9% of the parameters left; test accuracy 95.0, 96.7, 23.6, 10.0 after
the four rounds, the output layer down to one weight, 41%/49% of the hidden units dead on the test set): it removes
the network's capacity, and no cause in causes.py describes that honestly (the gradient reaches every surviving
weight; the units die because their weights were pruned, not from a bias or an init).
Recorded (cases-public132; 18 runs, 2-6 s each on one thread): healthy test accuracy 0.947, 0.958, 0.953 on seeds
1-3 (after the four rounds: 95.0/96.7/96.4/94.7, 96.1/95.0/95.8/95.8, 95.8/96.1/96.4/95.3 %; training loss 2.78-2.87
over the first 5 steps -> 0.10-0.12 over the last 20, largest 3.3-4.3 (N(0, 1) biases: each rewind starts high again),
every loss finite; 6-13% of the hidden units dead on the test set); lr x10 (1e-2, 1.2e-2): 0.967, largest loss 4.4:
healthy; lr x100 (0.1, 0.12): first losses 41-42, largest 120/147, 78-90% of hidden units dead, 0.803 (seed 1):
broken, 0.897 (seed 2): ambiguous; lr x1000: first losses 1.8e4, largest 7.8e4, all hidden units dead, 0.100:
broken; lr /1000: loss 3.36 -> 3.10, 0.100: broken; N(0, 1) weights: first losses 1063/1144, largest 1574/1544,
training loss 15, 0.869 (seed 1) and 0.861 (seed 2): ambiguous (7.8 and 9.7 points below); raw pixels 0..255: first
losses 49/56, largest 729/442, 0.925 (seed 1) and 0.894 (seed 2): ambiguous (the largest loss far above twice the
control's); raw pixels x100: first losses 302/354, largest 5021/2302, 0.953 (seed 1): ambiguous, 0.853 (seed 2, 10.6
points below): broken; zero_grad left out: largest loss 8.3/7.5, training loss 1.4-1.5, 0.700 (seed 1) and 0.728
(seed 2): broken; batch 120: 0.956, largest loss 8.52 (within twice the control's 4.29): healthy; 10% pruning per
round (73.1% of the parameters left at the end): 0.950: healthy.  Labels: 6 healthy (3 programs, lr x10, batch 120,
10% pruning), 6 broken (lr x100 s1, x1000, /1000, raw x100 s2, zero_grad s1 and s2), 6 ambiguous (lr x100 s2,
N(0, 1) s1 and s2, raw 0..255 s1 and s2, raw x100 s1).  Every run's losses
were finite.  Adam's scale-free steps blunt the input-scale and init changes here.
"""

from __future__ import annotations

import copy
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.init as init

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) once, right after the first Adam (weight_decay 1e-4, default lr) is "
              "built (upstream builds a new Adam after each pruning; the monitor keeps the first); "
              "monitor.step(train_loss) right after train_loss.backward(), before the loop that zeroes the gradients "
              "of weights < 1e-6 (pruned and negative ones) and optimizer.step()")

LR = 1.2e-3          # upstream --lr
BATCH_SIZE = 60      # upstream --batch_size
EPOCHS = 20          # upstream --end_iter 100
ROUNDS = 4           # upstream --prune_iterations 35
PRUNE_PERCENT = 20   # upstream --prune_percent 10 (the brief's and the paper's 20 per round)

model = None
mask = None
step = 0


class fc1(nn.Module):

    def __init__(self, num_classes=10):
        super(fc1, self).__init__()  # noqa: UP008 (as upstream)
        self.classifier = nn.Sequential(
            nn.Linear(8*8, 300),  # upstream: nn.Linear(28*28, 300)
            nn.ReLU(inplace=True),
            nn.Linear(300, 100),
            nn.ReLU(inplace=True),
            nn.Linear(100, num_classes),
        )

    def forward(self, x):
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        return x


def digits_datasets(raw_scale=None):
    """sklearn's 8x8 digits as upstream's MNIST: ToTensor's [0, 1] then Normalize((0.1307,), (0.3081,))."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = d.images.astype(np.float32)[:, None]  # (N, 1, 8, 8), values 0..16
    if raw_scale is not None:  # the unscaled_inputs variants: raw 0..16 pixels x raw_scale, no ToTensor/Normalize
        x = x * raw_scale
    else:
        x = (x / 16.0 - 0.1307) / 0.3081  # upstream: transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))
    xtr, xte, ytr, yte = train_test_split(x, d.target, test_size=360, random_state=0, stratify=d.target)
    traindataset = torch.utils.data.TensorDataset(torch.tensor(xtr), torch.tensor(ytr, dtype=torch.long))
    testdataset = torch.utils.data.TensorDataset(torch.tensor(xte), torch.tensor(yte, dtype=torch.long))
    return traindataset, testdataset


# Function for Initialization (upstream's weight_init, the branches fc1 does not use left out)
def weight_init(m, init_std=None):
    if isinstance(m, nn.Linear):
        if init_std is None:
            init.xavier_normal_(m.weight.data)
        else:  # the init_large variant: N(0, init_std) weights
            init.normal_(m.weight.data, std=init_std)
        init.normal_(m.bias.data)


# Function to make an empty mask of the same size as the model
def make_mask(model):
    global step
    global mask
    step = 0
    for name, param in model.named_parameters():  # noqa: B007 (as upstream)
        if 'weight' in name:
            step = step + 1
    mask = [None]* step
    step = 0
    for name, param in model.named_parameters():
        if 'weight' in name:
            tensor = param.data.cpu().numpy()
            mask[step] = np.ones_like(tensor)
            step = step + 1
    step = 0


# Prune by Percentile module
def prune_by_percentile(percent, resample=False, reinit=False, **kwargs):
        global step
        global mask
        global model

        # Calculate percentile value
        step = 0
        for name, param in model.named_parameters():

            # We do not prune bias term
            if 'weight' in name:
                tensor = param.data.cpu().numpy()
                alive = tensor[np.nonzero(tensor)] # flattened array of nonzero values
                percentile_value = np.percentile(abs(alive), percent)

                # Convert Tensors to numpy and calculate
                weight_dev = param.device
                new_mask = np.where(abs(tensor) < percentile_value, 0, mask[step])

                # Apply new weight and mask
                param.data = torch.from_numpy(tensor * new_mask).to(weight_dev)
                mask[step] = new_mask
                step += 1
        step = 0


def original_initialization(mask_temp, initial_state_dict):
    global model

    step = 0
    for name, param in model.named_parameters():
        if "weight" in name:
            weight_dev = param.device
            param.data = torch.from_numpy(mask_temp[step] * initial_state_dict[name].cpu().numpy()).to(weight_dev)
            step = step + 1
        if "bias" in name:
            param.data = initial_state_dict[name]
    step = 0


# Function for Training
def train_epoch(model, train_loader, optimizer, criterion, monitor, losses, zero_grad=True):  # upstream: train()
    EPS = 1e-6
    device = torch.device("cpu")  # upstream: "cuda" if available
    model.train()
    for batch_idx, (imgs, targets) in enumerate(train_loader):  # noqa: B007 (as upstream)
        if zero_grad:  # the no_zero_grad variant leaves this out
            optimizer.zero_grad()
        #imgs, targets = next(train_loader)
        imgs, targets = imgs.to(device), targets.to(device)
        output = model(imgs)
        train_loss = criterion(output, targets)
        train_loss.backward()
        monitor.step(train_loss)  # gradmedic
        losses.append(float(train_loss.detach()))

        # Freezing Pruned weights by making their gradients Zero
        for name, p in model.named_parameters():
            if 'weight' in name:
                tensor = p.data.cpu().numpy()
                grad_tensor = p.grad.data.cpu().numpy()
                grad_tensor = np.where(tensor < EPS, 0, grad_tensor)
                p.grad.data = torch.from_numpy(grad_tensor).to(device)
        optimizer.step()
    return train_loss.item()


# Function for Testing
def test(model, test_loader, criterion):
    device = torch.device("cpu")  # upstream: "cuda" if available
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction='sum').item()  # sum up batch loss
            pred = output.data.max(1, keepdim=True)[1]  # get the index of the max log-probability
            correct += pred.eq(target.data.view_as(pred)).sum().item()
        test_loss /= len(test_loader.dataset)
        accuracy = 100. * correct / len(test_loader.dataset)
    return accuracy


def nonzero_percent(model):  # utils.print_nonzeros without its prints
    nonzero = total = 0
    for _name, p in model.named_parameters():
        tensor = p.data.cpu().numpy()
        nonzero += np.count_nonzero(tensor)
        total += np.prod(tensor.shape)
    return round((nonzero/total)*100, 1)


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, raw_scale: float | None = None,
          zero_grad: bool = True, prune_percent: float = PRUNE_PERCENT, batch_size: int = BATCH_SIZE,
          rounds: int = ROUNDS, epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    global model
    torch.set_num_threads(1)
    torch.manual_seed(seed)  # upstream sets no seed
    np.random.seed(seed)
    t0 = time.time()
    reinit = False  # upstream: args.prune_type == "reinit" (default "lt")
    resample = False

    traindataset, testdataset = digits_datasets(raw_scale)
    train_loader = torch.utils.data.DataLoader(traindataset, batch_size=batch_size, shuffle=True, num_workers=0,
                                               drop_last=False)
    test_loader = torch.utils.data.DataLoader(testdataset, batch_size=batch_size, shuffle=False, num_workers=0,
                                              drop_last=True)
    # (with batch_size 120 the 360 test images are 3 whole batches: drop_last drops nothing either)

    model = fc1()

    # Weight Initialization
    model.apply(lambda m: weight_init(m, init_std))  # upstream: model.apply(weight_init)

    # Copying and Saving Initial State
    initial_state_dict = copy.deepcopy(model.state_dict())

    # Making Initial Mask
    make_mask(model)

    # Optimizer and Loss
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3 * lr_mult,  # upstream: no lr (Adam's default 1e-3)
                                 weight_decay=1e-4)
    criterion = nn.CrossEntropyLoss() # Default was F.nll_loss
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    losses: list[float] = []
    comp = np.zeros(rounds, float)
    bestacc = np.zeros(rounds, float)
    lastacc = np.zeros(rounds, float)
    best_accuracy = 0
    accuracy = float("nan")
    for _ite in range(rounds):
        if not _ite == 0:
            prune_by_percentile(prune_percent, resample=resample, reinit=reinit)
            original_initialization(mask, initial_state_dict)
            optimizer = torch.optim.Adam(model.parameters(), lr=LR * lr_mult, weight_decay=1e-4)
        comp[_ite] = nonzero_percent(model)

        for iter_ in range(epochs):
            accuracy = test(model, test_loader, criterion)  # upstream: every valid_freq (1) epochs
            if accuracy > best_accuracy:
                best_accuracy = accuracy
            loss = train_epoch(model, train_loader, optimizer, criterion, monitor, losses, zero_grad)
            if verbose:
                print(f"round {_ite} ({comp[_ite]}% left) epoch {iter_}: loss {loss:.4f} accuracy {accuracy:.2f}% "
                      f"({time.time() - t0:.1f}s)", flush=True)
        lastacc[_ite] = test(model, test_loader, criterion)  # added: the accuracy after the round's last epoch
        bestacc[_ite] = max(best_accuracy, lastacc[_ite])
        best_accuracy = 0
    monitor.close()

    la = np.array(losses)
    final = lastacc[-1] / 100.0
    # hidden ReLU units never active on the test set after training (dead), per hidden layer
    with torch.no_grad():
        xt = testdataset.tensors[0].flatten(1)
        h1 = torch.relu(model.classifier[0](xt))
        h2 = torch.relu(model.classifier[2](h1))
        dead = [float((h1.max(0).values <= 0).float().mean()), float((h2.max(0).values <= 0).float().mean())]
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(final), "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(lr=LR * lr_mult, first_lr=1e-3 * lr_mult, lr_mult=lr_mult,
                          init_std=-1.0 if init_std is None else init_std, raw_scale=-1.0 if raw_scale is None else raw_scale,
                          zero_grad=zero_grad, prune_percent=float(prune_percent), batch_size=batch_size,
                          rounds=rounds, epochs=epochs, steps=len(la),
                          train_loss=float(np.mean(la[-20:])), first_loss=float(np.mean(la[:5])),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()),
                          percent_left=[float(c) for c in comp], round_best_acc=[float(a) for a in bestacc],
                          round_final_acc=[float(a) for a in lastacc], dead_hidden_fraction=dead),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="lotteryticket", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = (f"lottery-ticket fc1 (64-300-100-10 ReLU, xavier_normal weights, N(0, 1) biases) on digits; Adam 1e-3 then "
      f"{LR:g} after each pruning, weight_decay 1e-4, batch {BATCH_SIZE}; {ROUNDS} rounds of {EPOCHS} epochs, "
      f"{PRUNE_PERCENT}% magnitude pruning per round with rewinding to the init")
CASES: list[dict] = (
    [_case(f"lotteryticket_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"lotteryticket_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k},
             f"{_P}: both Adam rates x{k} ({1e-3 * k:g}, then {LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("lotteryticket_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3},
             f"{_P}: both Adam rates /1000 ({1e-6:g}, then {LR * 1e-3:g})")]
    + [_case(f"lotteryticket_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: init.normal_(std=1.0) on each Linear weight instead of xavier_normal_ (biases N(0, 1) kept; "
             f"the rewinds go back to these weights)") for s in (1, 2)]
    + [_case(f"lotteryticket_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_scale": 255 / 16},
             f"{_P}: raw pixels on MNIST's 0..255 scale (digits' 0..16 x 255/16), no ToTensor scaling, no Normalize")
       for s in (1, 2)]
    + [_case(f"lotteryticket_raw_x100_s{s}", "unscaled_inputs", s, {"raw_scale": 100},
             f"{_P}: raw 0..16 pixels x100 (0..1600), no ToTensor scaling, no Normalize (added after the 0..255 "
             f"pixels came out ambiguous on both seeds)") for s in (1, 2)]
    + [_case(f"lotteryticket_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out of train(): the gradients accumulate") for s in (1, 2)]
    + [_case("lotteryticket_batch120_s1", "healthy", 1, {"batch_size": 120},
             f"{_P}: batch size 120 instead of 60 (expected harmless)")]
    + [_case("lotteryticket_prune10_s1", "healthy", 1, {"prune_percent": 10},
             f"{_P}: 10% pruning per round (upstream's default --prune_percent; expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
