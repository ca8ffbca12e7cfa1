"""udlbook (Understanding Deep Learning, S. Prince) Notebook 11.2, Residual Networks: the residual MLP on MNIST-1D,
watched by gradmedic.

Adapted from https://github.com/udlbook/udlbook (commit a8fe82b5e155cb4f42415d2461ffa23224b1173b,
Notebooks/Chap11/11_2_Residual_Networks.ipynb, last changed in 9649ce382b44930c383a5a90e5eb44d699b11e00; MIT License,
Copyright 2023 Simon Prince, see LICENSE-udlres).  MNIST-1D is generated offline by udlm1d.py (greydanus/mnist1d's
generation code with its default args, seed 42; Apache 2.0, see LICENSE-udlm1d): the notebook calls
``get_dataset(args, path='./mnist1d_data.pkl', download=False, regenerate=False)``, which builds the same dataset when
no pickle is present; the arrays generated here equal the repository's mnist1d_data.pkl to 1e-15 (4000 training and
1000 test signals of 40 points).  Kept as in the notebook: ``ResidualNetwork(40, 10)`` (hidden 100: linear1,
linear2, linear3, linear4), ``weights_init`` (``kaiming_uniform_`` weights, zero biases) applied after the optimizer
is built, ``nn.CrossEntropyLoss()``, ``torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)``,
``StepLR(optimizer, step_size=20, gamma=0.5)`` stepped per epoch, ``DataLoader(..., batch_size=100, shuffle=True,
worker_init_fn=np.random.seed(1))``, the loop (``optimizer.zero_grad()``, ``pred = model(x_batch)``, ``loss``,
``loss.backward()``, ``optimizer.step()``), and the end-of-epoch statistics on the whole training and test sets
(train/test loss and percent error).  The notebook's forward is a TODO ("Add residual connections to this model ...
linear1 first, ReLU+linear2 in first residual block, ReLU+linear3 in second residual block, linear4 at end"); the
program here fills it in as Notebook 11.3's ResidualNetwork writes its blocks (``f = linear1(x)``, ``res1 = f +
linear2(f.relu())``, ``res2 = res1 + linear3(res1.relu())``, ``linear4(res2)``); the notebook's code before the TODO
(the plain ReLU stack it asks to compare with) is the ``residual=False`` variant.

Changed to run offline on one CPU thread in ~15 s: the generated data instead of the pickle; N_EPOCH = 50 epochs of
40 batches (2000 steps) instead of 100 (the test error is flat from epoch ~30: seed 1 had 29.9% at epoch 50 and
30.9% at 100, where the training error is 0 from epoch ~30 on); ``torch.manual_seed(seed)`` before the model is
built (the notebook sets none); the statistics computed under ``torch.no_grad()``; the per-epoch print only with
``verbose`` (every 10 epochs); no plot; the parameter-count print left out.  Knobs (one per variant): ``lr_mult``;
``residual=False``; ``init`` ("std1": ``normal_(0, 1)`` weights, "const": ``constant_(0.01)`` weights, biases 0,
applied after ``weights_init``); ``input_scale`` / ``input_offset`` on the standardized signals (train and test);
``zero_grad=False``; ``batch_size``; ``weight_decay`` (SGD's, 0 upstream).

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer and
scheduler are built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``;
``monitor.close()`` after the epochs.  Metric "test_error": the notebook's final "percent error" on the 1000 test
signals, as a fraction (lower is better; NaN when the test loss is not finite); ``initial`` the chance error 0.9.
The notebook reports the error, and MNIST-1D's MLPs reach ~70% test accuracy, so run.py's accuracy rule (>= 0.9)
cannot be met; as a loss-like metric a good outcome is an error at most 0.63 (0.7 x 0.9), "broken" a control error
below half the variant's (or at most half its progress from 0.9), "healthy" at most 1.1x the control's error.  Every
run labelled healthy also meets "test accuracy at least 0.9x the healthy seeds' mean" (0.9 x 0.697 = 0.627).

``CASES`` (program "udlres"): the program on seeds 1-3, and one change each against the same seed's healthy run:
lr x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) weights (seeds 1 and 2); constant 0.01 weights; the inputs x100
(seeds 1 and 2); ``optimizer.zero_grad()`` left out; and three changes expected harmless: the notebook's plain stack
without residual connections (cause "healthy": at this depth the notebook's comparison is not a breakage), lr x2
(cause "lr_high") and batch 50 (cause "healthy").
Recorded (cases-public76; 13-24 s a run, two runs at a time on the shared machine; test error, i.e. 1 - test
accuracy; "first-5" the mean of the first 5 training losses): healthy 0.298, 0.309, 0.303 on seeds 1-3 (first-5
4.66, 4.86, 4.70 - the residual sums raise the untrained logits' scale -, largest loss 5.7-6.4, training accuracy
1.0, final train loss 0.0025-0.0028, test loss 1.56-1.72; every loss finite): healthy; lr x10 (0.5): first-5 80,
losses to 1e28 then NaN: broken; lr x100 (5): NaN (largest finite loss 5e33 on seed 1, 5e12 on seed 2): broken on
both seeds; lr x1000 (50): NaN: broken; lr /1000 (5e-5): 0.784 (train loss 2.25, first-5 6.0): broken; N(0, 1)
weights: first-5 3.5e23 (seed 1) and 7.4e23 (seed 2), then NaN: broken on both; constant 0.01 weights: 0.677 (train
accuracy 0.337, train loss 1.62, first-5 2.20): broken; inputs x100: NaN on both seeds (seed 1's losses reach inf,
seed 2's 2.5e15): broken; zero_grad left out: losses to 2e27 then NaN: broken; plain stack: 0.335 (first-5 2.65,
training accuracy 1.0): healthy; lr x2: 0.310: healthy; batch 50: 0.286: healthy.  Labels: 6 healthy (3 programs,
plain stack, lr x2, batch 50), 11 broken, 0 ambiguous (17 cases).  Non-finite losses only in the 9 runs that diverged (lr x10,
x100 twice, x1000, N(0, 1) twice, inputs x100 twice, no zero_grad).

The batch-norm notebook (11_3_Batch_Normalization.ipynb) is not ported: it runs one SGD step to print activation
variances and trains nothing.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import udlm1d
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) right after the SGD(lr=0.05, momentum=0.9) and StepLR are built; "
              "monitor.step(loss) right after loss.backward(), before optimizer.step() (no clipping)")
N_EPOCH = 50  # upstream: n_epoch = 100 (the test error is flat from epoch ~30 on: 29.9% at 50, 30.9% at 100)


# There are 40 input dimensions and 10 output dimensions for this data
# The inputs correspond to the 40 offsets in the MNIST1D template.
D_i = 40
# The outputs correspond to the 10 digits
D_o = 10


class ResidualNetwork(torch.nn.Module):
  def __init__(self, input_size, output_size, hidden_size=100, residual=True):
    super(ResidualNetwork, self).__init__()  # noqa: UP008 (as in the notebook)
    self.residual = residual
    self.linear1 = nn.Linear(input_size, hidden_size)
    self.linear2 = nn.Linear(hidden_size, hidden_size)
    self.linear3 = nn.Linear(hidden_size, hidden_size)
    self.linear4 = nn.Linear(hidden_size, output_size)
    # upstream: print("Initialized MLPBase model with {} parameters".format(self.count_params()))

  def count_params(self):
    return sum([p.view(-1).shape[0] for p in self.parameters()])

  def forward(self, x):
    if not self.residual:  # the notebook's code before its TODO (the plain stack it asks to compare against)
      h1 = self.linear1(x).relu()
      h2 = self.linear2(h1).relu()
      h3 = self.linear3(h2).relu()
      return self.linear4(h3)
    # upstream: "TODO -- Add residual connections to this model ... linear1 first, ReLU+linear2 in first residual
    # block, ReLU+linear3 in second residual block), linear4 at end", written as Notebook 11.3's ResidualNetwork does
    f = self.linear1(x)
    res1 = f + self.linear2(f.relu())
    res2 = res1 + self.linear3(res1.relu())
    return self.linear4(res2)


# He initialization of weights
def weights_init(layer_in):
  if isinstance(layer_in, nn.Linear):
    nn.init.kaiming_uniform_(layer_in.weight)
    layer_in.bias.data.fill_(0.0)


def bad_init(kind):
  """The init variants, applied after ``weights_init`` (what a user writes instead of it)."""
  def init(layer_in):
    if isinstance(layer_in, nn.Linear):
      if kind == "std1":
        nn.init.normal_(layer_in.weight, 0.0, 1.0)
      elif kind == "small":
        nn.init.normal_(layer_in.weight, 0.0, 1e-3)
      elif kind == "const":
        nn.init.constant_(layer_in.weight, 0.01)
      layer_in.bias.data.fill_(0.0)
  return init


def train(seed: int = 1, lr_mult: float = 1.0, residual: bool = True, init: str | None = None,
          input_scale: float = 1.0, input_offset: float = 0.0, zero_grad: bool = True, batch_size: int = 100,
          weight_decay: float = 0.0, n_epoch: int = N_EPOCH, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    args = udlm1d.get_dataset_args()
    data = udlm1d.get_dataset(args)  # upstream: mnist1d.data.get_dataset(args, path='./mnist1d_data.pkl', ...)

    # Load in the data
    train_data_x = data['x'].transpose()
    train_data_y = data['y']
    val_data_x = data['x_test'].transpose()
    val_data_y = data['y_test']
    # the unscaled_inputs variants (the data as raw units: x input_scale + input_offset, train and test alike)
    train_data_x = train_data_x * input_scale + input_offset
    val_data_x = val_data_x * input_scale + input_offset

    torch.manual_seed(seed)  # upstream: no seed
    #Define the model
    model = ResidualNetwork(40, 10, residual=residual)

    # choose cross entropy loss function (equation 5.24 in the loss notes)
    loss_function = nn.CrossEntropyLoss()
    # construct SGD optimizer and initialize learning rate and momentum
    lr = 0.05 * lr_mult
    optimizer = torch.optim.SGD(model.parameters(), lr = lr, momentum=0.9, weight_decay=weight_decay)
    # object that decreases learning rate by half every 20 epochs
    scheduler = StepLR(optimizer, step_size=20, gamma=0.5)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    # convert data to torch tensors
    x_train = torch.tensor(train_data_x.transpose().astype('float32'))
    y_train = torch.tensor(train_data_y.astype('long'))
    x_val= torch.tensor(val_data_x.transpose().astype('float32'))
    y_val = torch.tensor(val_data_y.astype('long'))

    # load the data into a class that creates the batches
    data_loader = DataLoader(TensorDataset(x_train,y_train), batch_size=batch_size, shuffle=True,
                             worker_init_fn=np.random.seed(1))

    # Initialize model weights
    model.apply(weights_init)
    if init is not None:  # the init variants
      model.apply(bad_init(init))

    # loop over the dataset n_epoch times
    # store the loss and the % correct at each epoch
    losses_train = np.zeros(n_epoch)
    errors_train = np.zeros(n_epoch)
    losses_val = np.zeros(n_epoch)
    errors_val = np.zeros(n_epoch)
    step_losses = []

    for epoch in range(n_epoch):
      # loop over batches
      for _i, data in enumerate(data_loader):
        # retrieve inputs and labels for this batch
        x_batch, y_batch = data
        # zero the parameter gradients
        if zero_grad:  # the no_zero_grad variant leaves this out
          optimizer.zero_grad()
        # forward pass -- calculate model output
        pred = model(x_batch)
        # compute the loss
        loss = loss_function(pred, y_batch)
        # backward pass
        loss.backward()
        monitor.step(loss)  # gradmedic
        # SGD update
        optimizer.step()
        step_losses.append(float(loss.detach()))

      # Run whole dataset to get statistics -- normally wouldn't do this
      with torch.no_grad():  # upstream: with autograd on (no number changes)
        pred_train = model(x_train)
        pred_val = model(x_val)
        _, predicted_train_class = torch.max(pred_train.data, 1)
        _, predicted_val_class = torch.max(pred_val.data, 1)
        errors_train[epoch] = 100 - 100 * (predicted_train_class == y_train).float().sum() / len(y_train)
        errors_val[epoch]= 100 - 100 * (predicted_val_class == y_val).float().sum() / len(y_val)
        losses_train[epoch] = loss_function(pred_train, y_train).item()
        losses_val[epoch]= loss_function(pred_val, y_val).item()
      if verbose and (epoch % 10 == 0 or epoch == n_epoch - 1):  # upstream: prints every epoch
        print(f'Epoch {epoch:5d}, train loss {losses_train[epoch]:.6f}, train error {errors_train[epoch]:3.2f},  val loss {losses_val[epoch]:.6f}, percent error {errors_val[epoch]:3.2f}')  # noqa: E501

      # tell scheduler to consider updating learning rate
      scheduler.step()
    monitor.close()

    la = np.array(step_losses)
    fin = np.isfinite(la)
    test_error = float(errors_val[-1] / 100) if np.isfinite(losses_val[-1]) else float("nan")
    return {"monitors": {"": monitor}, "metric": "test_error", "value": test_error,
            "initial": 0.9, "initial_what": "chance test error 0.9 (10 balanced classes)", "chance": 0.9,
            "extra": {"first5_loss": float(np.mean(la[:5])), "test_acc": float(1 - errors_val[-1] / 100),
                      "test_loss": float(losses_val[-1]),
                      "train_acc": float(1 - errors_train[-1] / 100), "train_loss_full": float(losses_train[-1]),
                      "best_test_acc": float(1 - np.nanmin(errors_val) / 100),
                      "min_test_loss": float(np.nanmin(losses_val)) if np.isfinite(losses_val).any() else float("nan"),
                      "train_loss": float(np.mean(la[-20:])), "first_loss": float(la[0]),
                      "max_loss": float(np.nanmax(la)) if fin.any() else float("nan"),
                      "finite_losses": bool(fin.all()), "steps": len(la), "epochs": n_epoch, "lr": lr,
                      "lr_mult": lr_mult, "residual": residual, "init": init or "he_uniform",
                      "input_scale": input_scale, "input_offset": input_offset, "zero_grad": zero_grad,
                      "batch_size": batch_size, "weight_decay": weight_decay},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="udlres", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"udlbook 11.2 residual MLP (Linear(40,100), two ReLU+Linear(100,100) residual blocks, Linear(100,10); He uniform "
      f"init; CrossEntropyLoss; SGD lr 0.05 momentum 0.9, StepLR(20, 0.5); batch 100; {N_EPOCH} epochs of MNIST-1D)")
CASES: list[dict] = (
    [_case(f"udlres_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"udlres_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({0.05 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("udlres_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 (5e-05)")]
    + [_case(f"udlres_init_std1_s{s}", "init_large", s, {"init": "std1"},
             f"{_P}: nn.init.normal_(std=1.0) on every Linear weight instead of kaiming_uniform_ (biases 0)")
       for s in (1, 2)]
    + [_case("udlres_const_init_s1", "symmetric_init", 1, {"init": "const"},
             f"{_P}: nn.init.constant_(0.01) on every Linear weight instead of kaiming_uniform_ (biases 0)")]
    + [_case(f"udlres_inputs_x100_s{s}", "unscaled_inputs", s, {"input_scale": 100.0},
             f"{_P}: the standardized MNIST-1D signals multiplied by 100 (train and test)") for s in (1, 2)]
    + [_case("udlres_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("udlres_plain_s1", "healthy", 1, {"residual": False},
             f"{_P}: the notebook's forward before its TODO (plain linear1-relu-linear2-relu-linear3-relu-linear4, no "
             f"residual connections; the comparison the notebook asks for; expected harmless at this depth)")]
    + [_case("udlres_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: lr x2 (0.1; expected harmless)")]
    + [_case("udlres_batch50_s1", "healthy", 1, {"batch_size": 50},
             f"{_P}: batch 50 instead of 100 (expected harmless; no cause names it)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
