"""Deep Sets on sums of digit images (manzilzaheer/DeepSets, DigitSum/image_sum.ipynb), in PyTorch, watched by gradmedic.

Adapted from https://github.com/manzilzaheer/DeepSets (commit 8b90fe08af08a5e3bb03b18e0ca162faa48ec4fd,
DigitSum/image_sum.ipynb; Apache License 2.0, see LICENSE-deepsets).  Upstream's DigitSum code is Keras (both the text
and the image notebook), so this is a translation to PyTorch of the image notebook's DeepSet model and training, with
scikit-learn's 8x8 ``load_digits`` in place of InfiMNIST.  Kept as upstream: ``get_deepset_model`` (a frozen Embedding
whose rows are the images, then Dense(300, tanh), Dense(100, tanh), Dense(30, tanh) per element, the Lambda
``K.sum(x, axis=1)`` over the set, Dense(1); Keras's glorot_uniform kernels and zero biases), loss 'mae' (L1),
``Adam(lr=1e-3, epsilon=1e-3)``, ``ReduceLROnPlateau(monitor='val_loss', factor=0.5, patience=20, min_lr=1e-6)``,
batch 128, shuffle, ``validation_split=0.0123456789`` (the last sets held out), sets of ``np.random.randint(1,
max_train_length)`` = 1..9 digits with label-0 images skipped, right-aligned with index 0 as padding, and the
evaluation (accuracy of ``np.round(preds) == sum``, MAE, MSE).

Changed (each marked ``# upstream:`` in the code): the data (load_digits, pixels /16; the first 1200 images make the
training sets and the last 597 the test sets, in place of InfiMNIST packs; images drawn with replacement, 15000
training sets instead of 150000, from a fixed data seed 0; row 0 of the table is a blank image as padding, where
upstream's row 0 is the pack's first image - Keras's mask is not used by the Lambda sum either way); 10 epochs instead
of 500 (the plateau schedule never fires in 10); the test sets are 2000 sets of the training sizes 1..9 instead of
10000 at each length 5..50; the run's seed sets torch's init and the shuffling; no plots or LSTM/GRU baselines.
Knobs: ``lr_mult``, ``target_scale`` (the sums multiplied; predictions divided back for the test error), ``init_std``
(N(0, std) Linear weights), ``zero_grad``, ``mean_pool``, ``width`` (hidden widths multiplied), ``batch_size``.

Metric "test_mae": the L1 error of the predicted sum on the 2000 test sets (held-out images); ``initial`` the same
model's test error before training (same seed).  Accuracy of the rounded sum >= 0.9 is not reachable in ~20 s of CPU
(the healthy runs end at 0.38-0.40: per-digit errors on unseen images add up over sets of up to 9), so the rule is
run.py's loss rule (final <= 0.7x initial); the accuracy is kept in ``extra['test_acc']``.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after the loop.

``CASES`` (program "deepsets"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10, x100 (seeds 1 and 2), x1000, /1000; the target sums x100 (seeds 1 and 2); N(0, 1) weights (seeds 1 and 2);
``optimizer.zero_grad()`` left out; mean pooling in place of sum pooling (a wrong-model bug; cause "wrong_loss", the
nearest: a loss with a floor it cannot go below); and two changes expected harmless: hidden widths x2 and batch 256
(cause "healthy").  Labels come from run.py's outcome rules only.
Recorded (cases-public123; 25-34 s a run wall time on the shared 2-core machine, ~16 s of CPU; width x2 47 s, batch
256 15 s): healthy test MAE 1.736, 1.764, 1.850 on seeds 1-3 (untrained 23.6, 26.7, 25.7; train loss over the last
20 steps 0.45-0.50, validation 0.52; test accuracy 0.38-0.40; every loss finite): healthy; lr x10: 1.610 (test
accuracy 0.53): healthy; lr x100: 4.673 (seed 1) and 6.012 (seed 2), largest loss 65-77: broken; lr x1000: 16.09
(largest loss 173): broken; lr /1000: 15.83 (train loss 23 -> 16): broken; target x100: 20.85 and 21.01 (train loss
2440 -> 2100, the output cannot reach the scale at Adam's rate): broken; N(0, 1) init: 5.402 and 5.547 (first losses
32-33, the tanh units saturated; train loss 1.1-1.4): broken; zero_grad left out: 12.38 (train loss rises from 12.7 to
17.3): broken; mean pooling: 6.886 (train loss 7.0): broken; width x2: 1.773: healthy; batch 256: 1.911 (half the
steps): healthy.  Labels: 6 healthy (3 programs, lr x10, width x2, batch 256), 10 broken, 0 ambiguous; every run's
losses were finite.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, "
              "eps=1e-3) (Keras's Adam(lr=1e-3, epsilon=1e-3)); monitor.step(loss) right after loss.backward() (L1 loss, "
              "Keras's 'mae', over a batch of 128 sets), before optimizer.step(); ReduceLROnPlateau stepped on the "
              "validation loss after each epoch")

# Set parameters
num_train_examples = 15000  # upstream: num_train_examples = 150000
max_train_length = 10
num_test_examples = 2000  # upstream: 10000 per test length (lengths 5..50; here the training sizes, see below)
EPOCHS = 10  # upstream: epochs=500
BATCH_SIZE = 128
DATA_SEED = 0  # the generated sets come from a fixed seed; the run's seed sets the init and the shuffling
N_TRAIN_IMAGES = 1200  # the first 1200 of load_digits' 1797 images make the training sets, the rest the test sets


def load_mnist():
    """upstream: load_mnist(pack) reads an InfiMNIST pack (N x 784 pixels, labels); here scikit-learn's 8x8 digits
    (1797 images of 64 pixels 0..16, divided by 16). Index 0 of the table is a blank image: the padding that
    Keras's Embedding(mask_zero=True) masks (upstream's row 0 is the pack's first image; the Lambda sum does not
    use the mask, so padded positions add phi(row 0) to the sum there and phi(blank) here)."""
    from sklearn.datasets import load_digits
    d = load_digits()
    img = d.data.astype("float32") / 16.0
    label = d.target.astype("float32")
    return img, label


def gen_data(img, label, num_examples, max_length, rng):
    """Sets of 1..max_length-1 digits, as upstream's train-data cell: n = np.random.randint(1, max_train_length),
    digits with label 0 skipped (they would not change the sum), written right-aligned into X (0 = padding).
    upstream: each image is used once (m += 1 through a pack of ~1M); here the images are drawn with replacement
    from the pool (1617 non-zero digits in all), X holds their indices + 1 (row 0 is the blank padding)."""
    nonzero = np.flatnonzero(label != 0.)
    X = np.zeros((num_examples, max_length), dtype=np.int64)
    sum_X = np.zeros((num_examples,), dtype=np.float32)
    for i in range(num_examples):
        n = rng.randint(1, max_length)
        for j in range(1, n + 1):
            m = nonzero[rng.randint(len(nonzero))]
            X[i, -j] = m + 1
            sum_X[i] += label[m]
    return X, sum_X


class DeepSet(nn.Module):
    """get_deepset_model: Embedding(images) frozen -> Dense(300, tanh) -> Dense(100, tanh) -> Dense(30, tanh) ->
    Lambda(K.sum(x, axis=1)) -> Dense(1)."""

    def __init__(self, images, width=1, mean_pool=False):
        super().__init__()
        table = torch.cat([torch.zeros(1, images.shape[1]), torch.as_tensor(images)])
        self.embed = nn.Embedding.from_pretrained(table, freeze=True)  # Embedding(..., trainable=False), set_weights
        self.phi = nn.Sequential(nn.Linear(images.shape[1], 300 * width), nn.Tanh(),
                                 nn.Linear(300 * width, 100 * width), nn.Tanh(),
                                 nn.Linear(100 * width, 30 * width), nn.Tanh())
        self.rho = nn.Linear(30 * width, 1)  # Dense(1)
        self.mean_pool = mean_pool
        for mod in self.modules():  # upstream (Keras): Dense's glorot_uniform kernels and zero biases
            if isinstance(mod, nn.Linear):
                nn.init.xavier_uniform_(mod.weight)
                nn.init.zeros_(mod.bias)

    def forward(self, x):
        x = self.phi(self.embed(x))
        if self.mean_pool:  # the mean_pool variant: K.mean in the Lambda instead of K.sum
            x = x.mean(dim=1)
        else:
            x = x.sum(dim=1)  # Adder = Lambda(lambda x: K.sum(x, axis=1))
        return self.rho(x)


def train(seed: int = 1, lr_mult: float = 1.0, target_scale: float = 1.0, init_std: float | None = None,
          zero_grad: bool = True, mean_pool: bool = False, width: int = 1, batch_size: int = BATCH_SIZE,
          epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    img, label = load_mnist()
    rng = np.random.RandomState(DATA_SEED)
    X, sum_X = gen_data(img[:N_TRAIN_IMAGES], label[:N_TRAIN_IMAGES], num_train_examples, max_train_length, rng)
    Y, sum_Y = gen_data(img[N_TRAIN_IMAGES:], label[N_TRAIN_IMAGES:], num_test_examples, max_train_length, rng)
    Y = np.where(Y > 0, Y + N_TRAIN_IMAGES, 0)  # indices into the whole table (the test images are the last 597)
    # validation_split=0.0123456789: Keras holds out the last part of X before shuffling
    n_val = int(num_train_examples * 0.0123456789)
    Xv, yv = torch.as_tensor(X[-n_val:]), torch.as_tensor(sum_X[-n_val:]) * target_scale
    Xt, yt = torch.as_tensor(X[:-n_val]), torch.as_tensor(sum_X[:-n_val]) * target_scale  # unscaled_target: x100

    model = DeepSet(img, width=width, mean_pool=mean_pool)
    if init_std is not None:  # the init_large variant: every Dense weight from N(0, init_std) (biases kept at zero)
        for mod in model.modules():
            if isinstance(mod, nn.Linear):
                nn.init.normal_(mod.weight, std=init_std)
    with torch.no_grad():  # the untrained model's test error: the reference for the good-outcome rule
        initial_mae = float(np.mean(np.abs(model(torch.as_tensor(Y)).squeeze(-1).numpy() / target_scale - sum_Y)))
    lr = 1e-3 * lr_mult
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, eps=1e-3)  # adam = Adam(lr=1e-3, epsilon=1e-3)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    # reduce_lr = ReduceLROnPlateau(monitor='val_loss', factor=0.5, patience=20, min_lr=0.000001)
    reduce_lr = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=20, min_lr=0.000001)
    loss_fn = nn.L1Loss()  # loss='mae'

    g = torch.Generator().manual_seed(seed)
    losses, val_losses = [], []
    for epoch in range(epochs):  # model.fit(X, sum_X, epochs=500, batch_size=128, shuffle=True, ...)
        model.train()
        perm = torch.randperm(len(Xt), generator=g)
        for k in range(0, len(Xt), batch_size):
            idx = perm[k:k + batch_size]
            out = model(Xt[idx]).squeeze(-1)
            loss = loss_fn(out, yt[idx])
            if zero_grad:  # the no_zero_grad variant leaves this out (Keras does it implicitly)
                optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(float(loss.detach()))
        model.eval()
        with torch.no_grad():
            val_loss = float(loss_fn(model(Xv).squeeze(-1), yv))
        val_losses.append(val_loss)
        reduce_lr.step(val_loss)
        if verbose:
            print(f"Epoch {epoch + 1}/{epochs} - loss: {np.mean(losses[-(len(Xt) // batch_size):]):.4f} "
                  f"- val_loss: {val_loss:.4f}")
    monitor.close()

    # Evaluate: acc of the rounded prediction, mae (upstream: sets of 5..50 digits; here of the training sizes)
    with torch.no_grad():
        preds = model(torch.as_tensor(Y)).squeeze(-1).numpy() / target_scale
    acc = float(np.sum(np.round(preds) == sum_Y) / len(sum_Y))
    mae = float(np.sum(np.abs(preds - sum_Y)) / len(sum_Y))
    mse = float(np.dot(preds - sum_Y, preds - sum_Y) / len(sum_Y))
    return {"monitors": {"": monitor}, "metric": "test_mae", "value": mae if np.isfinite(mae) else float("nan"),
            "chance": float(np.mean(np.abs(sum_Y - np.median(sum_Y)))),
            "initial": initial_mae, "initial_what": "the untrained model's test L1 error (same seed, before step 1)",
            "extra": dict(lr=lr, test_acc=acc, test_mse=mse, final_val_loss=val_losses[-1], initial_mae=initial_mae,
                          train_loss=float(np.mean(losses[-20:])), first_loss=float(np.mean(losses[:5])),
                          max_loss=float(np.nanmax(losses)) if np.isfinite(losses).any() else float("nan"),
                          finite_losses=bool(np.isfinite(losses).all()), steps=len(losses), epochs=epochs,
                          final_lr=optimizer.param_groups[0]["lr"], lr_mult=lr_mult, target_scale=target_scale,
                          init_std=init_std, zero_grad=zero_grad, mean_pool=mean_pool, width=width,
                          batch_size=batch_size, test_sets=len(sum_Y)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="deepsets", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = ("Deep Sets digit sum (frozen 8x8 digit table -> Linear 300/100/30 tanh per element, sum pooling, Linear(30, 1); "
      f"L1 loss; Adam lr 1e-3 eps 1e-3, ReduceLROnPlateau; batch {BATCH_SIZE}, {EPOCHS} epochs of "
      f"{num_train_examples} sets of 1-9 digits)")
CASES: list[dict] = (
    [_case(f"deepsets_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"deepsets_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("deepsets_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 (1e-06)")]
    + [_case(f"deepsets_target_x100_s{s}", "unscaled_target", s, {"target_scale": 100.0},
             f"{_P}: the target sums multiplied by 100 (0..8100; the predictions divided by 100 for the test error)")
       for s in (1, 2)]
    + [_case(f"deepsets_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: every Linear weight drawn from N(0, 1) instead of Keras's glorot_uniform (biases zero)")
       for s in (1, 2)]
    + [_case("deepsets_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("deepsets_mean_pool_s1", "wrong_loss", 1, {"mean_pool": True},
             f"{_P}: mean pooling (x.mean(dim=1), K.mean) in place of the sum: the pooled vector no longer carries the "
             "set's size, so the model cannot represent the sum")]
    + [_case("deepsets_width_x2_s1", "healthy", 1, {"width": 2},
             f"{_P}: hidden widths x2 (600/200/60; expected harmless)")]
    + [_case("deepsets_batch_x2_s1", "healthy", 1, {"batch_size": 2 * BATCH_SIZE},
             f"{_P}: batch size 256 instead of 128 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(**kw)
    print({k: v for k, v in r.items() if k != "monitors"})
