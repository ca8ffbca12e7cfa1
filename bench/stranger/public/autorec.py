"""AutoRec-for-CF (NeWnIx5991's plain-PyTorch AutoRec, Sedhain et al. 2015), watched by gradmedic.

Adapted from https://github.com/NeWnIx5991/AutoRec-for-CF (commit 2d7d03adb31e1b4ff867c7b4d30fd7c2ef653c83,
autorec.py and data.py; the README calls it a PyTorch beginner's project).  The repository has no licence file and
names no licence, so this port keeps to what is needed (no LICENSE-autorec): the ``Autorec`` module and its ``loss``,
copied below, the data split of ``get_data``, and the ``train``/``test`` loops, written out in ``train()``.  Upstream's
parser calls the program I-AutoRec, but its rows are users (each input is one user's rating vector over the items), as
in U-AutoRec.  Kept as upstream: ``Autorec`` (``nn.Linear(num_items, hidden_units)``, ``nn.Sigmoid()``,
``nn.Linear(hidden_units, num_items)``; PyTorch's default inits), its ``loss`` (the squared error on the observed
entries only, ``((decoder - input) * mask_input).pow(2).sum()`` over the batch, plus ``0.5 * lambda_value`` times the
squared norm of every 2-D parameter, which upstream takes from ``j.data``, so the penalty adds to the loss's value
but not to its gradient; the weights are shrunk only by Adam's weight_decay), the argparse defaults (hidden_units
500, lambda_value 1, train_epoch 100, batch_size 100, base_lr 1e-3), ``optim.Adam(rec.parameters(), lr=args.base_lr,
weight_decay=1e-4)`` (no schedule and no clipping: upstream parses ``--decay_epoch_step`` and ``--grad_clip`` but
uses neither), the shuffled ``DataLoader`` over ``TensorDataset(train_r, train_mask_r, train_r)``, the loop
(``decoder = rec(batch_x)``, ``rec.loss(...)``, ``optimer.zero_grad()``, ``loss.backward()``, ``optimer.step()``),
the 90/10 random split of the observed ratings, and ``test()``: the model fed the test matrix ``test_r`` itself, a
prediction of 3 for a test rating whose user and item were both unseen in training, and the RMSE over the observed
test entries, which is the metric (upstream prints it after every epoch; here once after training, and once before
training for ``initial``).

Changed to run offline on one CPU thread in ~2 s: the data - upstream reads ml-1m's ratings.dat (6040 users x 3952
items); here ``get_data`` generates a stand-in, 300 users x 200 items, 5% of the pairs observed (~3000 ratings,
~2700 for training), each rating ``clip(rint(3.5 + U @ V.T + N(0, 0.5)), 1, 5)`` from a hidden rank-5 model (U, V
of N(0, 5^-1/4) entries), then upstream's split; the run's seed draws the data, the split and (``torch.manual_seed``)
the init and the batches (upstream: ``np.random.seed(1000)``); the CPU instead of ``.cuda()``; ``test()`` under
``torch.no_grad()``; prints every 10 epochs and only with ``verbose``.  The 100 epochs are upstream's (3 steps an epoch
here, 300 steps).  Extra numbers that upstream does not compute, kept in ``extra``: ``heldout_rmse``, the test
entries predicted from the training matrix ``train_r`` (the usual AutoRec evaluation, which does not show the model
the test ratings), and ``mean_rating_rmse``, the RMSE of predicting the training mean.  Knobs (one per variant):
``lr_mult`` scales base_lr; ``init_std`` draws both weight matrices from N(0, init_std) (biases kept);
``target_scale`` multiplies every rating (the input and the target of the autoencoder; the unseen-pair prediction
becomes 3 * target_scale and the RMSE is divided by target_scale, so it is in rating units); ``zero_grad=False``
leaves ``optimer.zero_grad()`` out; ``hidden_units`` and ``batch_size`` replace upstream's defaults; ``masked=False``
(not in CASES, see below) replaces the mask by ones.

The watch, as a user would: ``monitor = gradmedic.watch(rec, optimer, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``optimer.step()``; ``monitor.close()`` after the loop.
Metric "test_rmse": upstream's test RMSE after training; ``initial`` the same at the initialization.

``CASES`` (program "autorec"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) weights (seeds 1 and 2); the ratings x100 (seeds 1 and 2);
``optimer.zero_grad()`` left out (seeds 1 and 2); and two changes expected harmless: hidden_units 200 and batch_size
50 (cause "healthy"; batch 200 was tried instead of 50 first: test RMSE 0.992, but the loss, a sum over the batch, is
twice as large, so its largest loss, 24178, is just over twice the control's 11716 and run.py's rule would call it
ambiguous for the loss's units alone).  Not recorded: the mask dropped from the loss (``masked=False``, every
unobserved zero fitted as a rating of 0): the training loss still falls (12408 -> 1948), so "wrong_loss" ("a loss
that cannot fall") would not be honest, and upstream's ``test()``, which feeds the test ratings, hides the damage
(test RMSE 1.088 against 0.966, ambiguous by run.py's rules) while the held-out RMSE from ``train_r`` is 3.647, the
untrained 3.645.  Labels come from run.py's outcome rules only.
Recorded (cases-public146; 1.2-3.5 s a run, 28 s for all 16): healthy test RMSE 0.966, 0.931, 0.977 on seeds 1-3
(untrained 3.64, 3.58, 3.63; the training mean's RMSE 1.07, 1.04, 1.05; held-out RMSE from train_r 1.20, 1.12, 1.21;
training RMSE 0.62; summed loss 9100-9300 over the first 5 steps -> 344-349 over the last 20, every loss finite):
healthy; lr x10 (0.01): 1.374 (training RMSE 0.72): ambiguous; lr x100 (0.1): 9.008 (seed 1) and 10.00 (seed 2),
training RMSE 5.1, largest loss 4.5e5 and 4.2e5: broken (the held-out RMSE from train_r is 1.10 and 1.07 there: fed
the sparse test matrix, the model predicts far off); lr x1000 (1): 25.75, largest loss 5.5e7: broken; lr /1000
(1e-6): 3.575 (loss 12084 -> 11734): broken; N(0, 1) weights: untrained 15.8 and 15.1, first loss 3.3e5 (the .data
penalty alone 1e5), 8.53 (seed 1) and 8.04 (seed 2): broken; ratings x100: 2.603 (seed 1) and 2.535 (seed 2) in
rating units, loss 1.2e8 -> 5.2e7: broken; zero_grad left out: the loss rises from 9241 to 16143, 7.905 (seed 1) and
8.980 (seed 2): broken; hidden_units 200: 1.022: healthy; batch_size 50: 0.954: healthy.  Labels: 5 healthy (3
programs, hidden 200, batch 50), 10 broken, 1 ambiguous (lr x10); no non-finite loss in any run.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
import torch.utils.data as Data

import gradmedic

ARCH = "autoencoder"
MONITOR_AT = ("watch(rec, optimer, every=10) right after optimer = optim.Adam(rec.parameters(), lr=args.base_lr, "
              "weight_decay=1e-4); monitor.step(loss) right after loss.backward() (the masked squared error summed "
              "over a batch of 100 users plus 0.5 * lambda * the weights' squared norm, taken from .data), before "
              "optimer.step() (optimer.zero_grad() comes before the backward, upstream's order)")

NUM_USERS, NUM_ITEMS = 300, 200  # upstream: ml-1m, num_users = 6040, num_items = 3952
DENSITY, RANK, NOISE = 0.05, 5, 0.5  # the generated stand-in for ml-1m's ratings.dat
TRAIN_EPOCH = 100  # upstream: --train_epoch 100


class Args:
    """upstream's argparse defaults (parser.parse_args())."""
    hidden_units = 500
    lambda_value = 1.0
    train_epoch = TRAIN_EPOCH
    batch_size = 100
    optimizer_method = 'Adam'
    grad_clip = False
    base_lr = 1e-3
    decay_epoch_step = 50
    random_seed = 1000
    display_step = 1


def get_data(seed, num_users, num_items, train_ratio, scale=1.0):
    """A generated stand-in for upstream's data.get_data (ml-1m's ratings.dat): ratings 1-5 from a hidden rank-5
    model plus noise, DENSITY of the user-item pairs observed; then upstream's split of the observed ratings."""
    g = np.random.RandomState(seed)
    s = RANK ** -0.25  # U @ V.T of unit std
    U, V = g.normal(0, s, (num_users, RANK)), g.normal(0, s, (num_items, RANK))
    full = np.clip(np.rint(3.5 + U @ V.T + g.normal(0, NOISE, (num_users, num_items))), 1, 5)
    users, items = np.nonzero(g.rand(num_users, num_items) < DENSITY)
    num_total_ratings = len(users)

    user_train_set = set()
    user_test_set = set()
    item_train_set = set()
    item_test_set = set()

    train_r = np.zeros((num_users, num_items))
    test_r = np.zeros((num_users, num_items))

    train_mask_r = np.zeros((num_users, num_items))
    test_mask_r = np.zeros((num_users, num_items))

    random_perm_idx = g.permutation(num_total_ratings)  # upstream: np.random.permutation after np.random.seed(1000)
    train_idx = random_perm_idx[0:int(num_total_ratings * train_ratio)]
    test_idx = random_perm_idx[int(num_total_ratings * train_ratio):]

    ''' Train '''
    for itr in train_idx:
        user_idx, item_idx, rating = users[itr], items[itr], full[users[itr], items[itr]]  # upstream: line.split("::")
        train_r[user_idx, item_idx] = rating * scale  # the unscaled_target variant: ratings x100
        train_mask_r[user_idx, item_idx] = 1

        user_train_set.add(user_idx)
        item_train_set.add(item_idx)

    ''' Test '''
    for itr in test_idx:
        user_idx, item_idx, rating = users[itr], items[itr], full[users[itr], items[itr]]
        test_r[user_idx, item_idx] = rating * scale
        test_mask_r[user_idx, item_idx] = 1

        user_test_set.add(user_idx)
        item_test_set.add(item_idx)

    return train_r, train_mask_r, test_r, test_mask_r, user_train_set, item_train_set, user_test_set, item_test_set


class Autorec(nn.Module):
    def __init__(self,args, num_users,num_items):
        super(Autorec, self).__init__()  # noqa: UP008 (as upstream)

        self.args = args
        self.num_users = num_users
        self.num_items = num_items
        self.hidden_units = args.hidden_units
        self.lambda_value = args.lambda_value

        self.encoder = nn.Sequential(
            nn.Linear(self.num_items, self.hidden_units),
            nn.Sigmoid()
        )

        self.decoder = nn.Sequential(
            nn.Linear(self.hidden_units, self.num_items),
        )


    def forward(self,torch_input):

        encoder = self.encoder(torch_input)
        decoder = self.decoder(encoder)

        return decoder

    def loss(self,decoder,input,optimizer,mask_input):
        cost = 0
        temp2 = 0

        cost += (( decoder - input) * mask_input).pow(2).sum()
        rmse = cost

        for i in optimizer.param_groups:
            for j in i['params']:
                #print(type(j.data), j.shape,j.data.dim())
                if j.data.dim() == 2:
                    temp2 += torch.t(j.data).pow(2).sum()

        cost += temp2 * self.lambda_value * 0.5
        return cost,rmse


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, target_scale: float = 1.0,
          masked: bool = True, zero_grad: bool = True, hidden_units: int | None = None, batch_size: int | None = None,
          train_epoch: int = TRAIN_EPOCH, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    args = Args()
    args.base_lr *= lr_mult
    args.train_epoch = train_epoch
    if hidden_units is not None:
        args.hidden_units = hidden_units
    if batch_size is not None:
        args.batch_size = batch_size

    np.random.seed(seed)  # upstream: np.random.seed(args.random_seed), 1000
    num_users, num_items, train_ratio = NUM_USERS, NUM_ITEMS, 0.9
    train_r,train_mask_r,test_r,test_mask_r,user_train_set,item_train_set,user_test_set,\
    item_test_set = get_data(seed, num_users, num_items, train_ratio, scale=target_scale)

    rec = Autorec(args,num_users,num_items)  # upstream: .cuda() when available
    if init_std is not None:  # the init_large variant: N(0, init_std) for both weight matrices (biases kept)
        for m in rec.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, init_std)

    optimer = optim.Adam(rec.parameters(), lr = args.base_lr, weight_decay=1e-4)
    monitor = gradmedic.watch(rec, optimer, every=every)  # gradmedic

    torch_dataset = Data.TensorDataset(torch.from_numpy(train_r),torch.from_numpy(train_mask_r),torch.from_numpy(train_r))
    loader = Data.DataLoader(
        dataset=torch_dataset,
        batch_size=args.batch_size,
        shuffle=True
    )
    n_train = (train_mask_r == 1).sum()

    def test_rmse():
        test_r_tensor = torch.from_numpy(test_r).type(torch.FloatTensor)
        test_mask_r_tensor = torch.from_numpy(test_mask_r).type(torch.FloatTensor)

        with torch.no_grad():  # upstream evaluates with autograd on; no number changes
            decoder = rec(test_r_tensor)

        unseen_user_test_list = list(user_test_set - user_train_set)
        unseen_item_test_list = list(item_test_set - item_train_set)

        for user in unseen_user_test_list:
            for item in unseen_item_test_list:
                if test_mask_r[user,item] == 1:
                    decoder[user,item] = 3 * target_scale  # upstream: 3

        mse = ((decoder - test_r_tensor) * test_mask_r_tensor).pow(2).sum()
        RMSE = mse.detach().cpu().numpy() / (test_mask_r == 1).sum()
        return float(np.sqrt(RMSE)) / target_scale  # in rating units

    def heldout_rmse():  # not upstream: the test entries predicted from the training ratings (train_r as the input)
        with torch.no_grad():
            pred = rec(torch.from_numpy(train_r).type(torch.FloatTensor)).numpy()
        m = test_mask_r == 1
        return float(np.sqrt(((pred[m] - test_r[m]) ** 2).mean())) / target_scale

    initial = test_rmse()
    initial_heldout = heldout_rmse()
    mu = train_r[train_mask_r == 1].mean()  # not upstream: the RMSE of predicting the training mean, for reference
    mean_rmse = float(np.sqrt(((test_r[test_mask_r == 1] - mu) ** 2).mean())) / target_scale
    losses, train_rmses = [], []
    for epoch in range(args.train_epoch):
        RMSE = 0
        for _step, (batch_x, batch_mask_x, _batch_y) in enumerate(loader):

            batch_x = batch_x.type(torch.FloatTensor)  # upstream: .cuda()
            batch_mask_x = batch_mask_x.type(torch.FloatTensor)
            if not masked:  # the no-mask variant: every entry counts, the unobserved zeros as ratings of 0
                batch_mask_x = torch.ones_like(batch_mask_x)

            decoder = rec(batch_x)
            loss, rmse = rec.loss(decoder=decoder, input=batch_x, optimizer=optimer, mask_input=batch_mask_x)
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimer.step()
            losses.append(float(loss.detach()))
            RMSE += float(rmse.detach())
        RMSE = np.sqrt(RMSE / n_train) / target_scale
        train_rmses.append(float(RMSE))
        if verbose and (epoch % 10 == 0 or epoch == args.train_epoch - 1):  # upstream prints both every epoch
            print('epoch ', epoch, ' train RMSE : ', RMSE, ' test RMSE : ', test_rmse(), flush=True)
    monitor.close()
    value = test_rmse()
    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "test_rmse", "value": value, "initial": initial,
            "initial_what": "untrained: test RMSE of the model at its initialization", "chance": None,
            "extra": dict(lr=args.base_lr, lr_mult=lr_mult, train_loss=float(np.mean(la[-20:])),
                          first_loss=float(np.mean(la[:5])),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), steps=len(la), epochs=args.train_epoch,
                          train_rmse=train_rmses[-1], first_train_rmse=train_rmses[0],
                          init_std=-1.0 if init_std is None else init_std, target_scale=target_scale, masked=masked,
                          zero_grad=zero_grad, hidden_units=args.hidden_units, batch_size=args.batch_size,
                          n_train=int(n_train), n_test=int((test_mask_r == 1).sum()),
                          mean_rating_rmse=mean_rmse, heldout_rmse=heldout_rmse(),
                          initial_heldout_rmse=initial_heldout),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="autorec", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"AutoRec (Linear({NUM_ITEMS}, 500), Sigmoid, Linear(500, {NUM_ITEMS}) over each user's rating vector; masked "
      f"squared error summed over the batch + 0.5 * lambda 1 * the weights' squared norm from .data; Adam lr 1e-3, "
      f"weight_decay 1e-4, batch 100, {TRAIN_EPOCH} epochs of {NUM_USERS // 100} steps; generated {NUM_USERS} x "
      f"{NUM_ITEMS} ratings 1-5, {DENSITY:.0%} observed, 90/10 split)")
CASES: list[dict] = (
    [_case(f"autorec_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"autorec_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("autorec_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 (1e-06)")]
    + [_case(f"autorec_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on the encoder's and the decoder's weight instead of PyTorch's default "
             f"U(+-1/sqrt(fan_in)) (biases kept)") for s in (1, 2)]
    + [_case(f"autorec_ratings_x100_s{s}", "unscaled_target", s, {"target_scale": 100.0},
             f"{_P}: the ratings multiplied by 100 (100-500; the autoencoder's input and target; the test RMSE is "
             f"divided by 100 back to rating units)") for s in (1, 2)]
    + [_case(f"autorec_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimer.zero_grad() left out (the gradients accumulate)") for s in (1, 2)]
    + [_case("autorec_hidden200_s1", "healthy", 1, {"hidden_units": 200},
             f"{_P}: --hidden_units 200 instead of 500 (expected harmless)")]
    + [_case("autorec_batch50_s1", "healthy", 1, {"batch_size": 50},
             f"{_P}: --batch_size 50 instead of 100 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    r = train(verbose=True, **(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}))
    print({k: v for k, v in r.items() if k != "monitors"})
