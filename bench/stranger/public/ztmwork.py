"""Zero to Mastery PyTorch's workflow notebook (a straight line learned by ``LinearRegressionModel``, two
``nn.Parameter``s, and by ``LinearRegressionModelV2``, one ``nn.Linear``), watched by gradmedic.

Adapted from https://github.com/mrdbourke/pytorch-deep-learning (commit baa27b691617461c173ecf3439793cd8cde74e13,
01_pytorch_workflow.ipynb, last changed in a127b237b225b1adc8913997a784756ee120675b; MIT License, Copyright (c) 2021
Daniel Bourke, see LICENSE-ztmwork).  Kept as in the notebook (code copied below): the data, ``weight = 0.7``,
``bias = 0.3``, ``X = torch.arange(0, 1, 0.02).unsqueeze(dim=1)``, ``y = weight * X + bias``, the 80/20 split in
order (40 training points, 10 test points at x in [0.8, 1)); ``LinearRegressionModel`` (``self.weights`` and
``self.bias`` as ``nn.Parameter(torch.randn(1))``, ``forward`` = ``self.weights * x + self.bias``) and
``LinearRegressionModelV2`` (``nn.Linear(in_features=1, out_features=1)``, PyTorch's default init);
``loss_fn = nn.L1Loss()``; ``torch.optim.SGD(params=model.parameters(), lr=0.01)``; the loop as written (full batch:
``model.train()``, forward, loss, ``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``, then
``model.eval()`` and the test loss under ``torch.inference_mode()``), ``epochs = 100`` for model_0 (section 3) and
``epochs = 1000`` for model_1 (section 6, "putting it all together").

Changed: ``torch.manual_seed(seed)`` with the case's seed instead of the notebook's 42 (before the model is built, as
the notebook does); no plots, prints only under ``verbose``, no saving/loading; the device is the CPU.  Nothing is
scaled down (a run takes well under a second; the programs are this small upstream).  The metric is the test L1
loss after the last epoch (the notebook's ``test_loss``), against the untrained model's test loss as ``initial``.

The watch, as a new user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer
is built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the loop.

``CASES`` (name prefix ``ztmwork`` for model_0 with nn.Parameters, 100 epochs; ``ztmworklin`` for model_1 with
nn.Linear, 1000 epochs): each on seeds 1-3 and one change each against the same seed's healthy run: SGD lr x2 (a
change that should do no harm), x10, x100 (seeds 1 and 2), x1000, /1000; the inputs in raw units (X x 100, as if
in centimetres, y unchanged: the true slope becomes 0.007); the targets x 100 (y in centimetres);
``optimizer.zero_grad()`` left out (the gradients accumulate); ``nn.MSELoss()`` instead of ``nn.L1Loss()`` (a
sane alternative loss); for model_1, N(0, 1) on the Linear's weight and bias (a different but sane init for a
1-in, 1-out layer).  Labels come from run.py's outcome rules only.
Recorded (cases-public33; 31 cases in ~25 s, under 1 s a run): model_0 (``ztmwork``) healthy test L1 loss 0.0069,
0.0052, 0.0111 on seeds 1-3 (from 0.067, 0.80, 0.033; weights ~0.69-0.71, biases ~0.30); model_1 (``ztmworklin``)
0.0064, 0.0128, 0.0130 (from 0.91, 0.96, 2.59).  Broken (all of them against their control): model_0 lr x2 (0.017:
L1's constant-size sign steps leave it oscillating around the line), x10, x100 (both seeds), x1000 (test loss back at
the untrained value: with the full-batch L1 gradient the same size every step, SGD jumps over the line and back by
the same amount, a period-2 oscillation that returns to the initial parameters after the 100 (even) epochs; the
training loss reads 0.07, 1.10, 11.5 on the way), /1000 (0.066), raw-unit inputs (11.2 and 33.8), targets x100 (90.1
and 90.8: 100 epochs of steps of 0.01 cannot reach a bias of 30), no zero_grad (0.040); model_1 lr x10 (0.125), x100
(both seeds) and x1000 (back at the initial parameters, as above), /1000 (0.89), raw-unit inputs (8.3 and 22.4),
targets x100 (78.8 and 78.9), no zero_grad (0.53).  Healthy: model_1 lr x2 (0.0009) and N(0, 1) init (0.0080).
Ambiguous: MSELoss for training on both models (test L1 0.0149 and 0.0195, good but over 1.1x their controls).
"""

from __future__ import annotations

import time

import torch
from torch import nn

import gradmedic

ARCH = "linear"
MONITOR_AT = ("watch(model, optimizer, every=10) right after the SGD is built; monitor.step(loss) right after "
              "loss.backward() (full batch of 40 points, L1Loss), before optimizer.step()")


# Create a Linear Regression model class
class LinearRegressionModel(nn.Module): # <- almost everything in PyTorch is a nn.Module (think of this as neural network lego blocks)  # noqa: E261,E501
    def __init__(self):
        super().__init__()
        self.weights = nn.Parameter(torch.randn(1, # <- start with random weights (this will get adjusted as the model learns)  # noqa: E261,E501
                                                dtype=torch.float), # <- PyTorch loves float32 by default  # noqa: E261
                                   requires_grad=True) # <- can we update this value with gradient descent?)  # noqa: E261
        self.bias = nn.Parameter(torch.randn(1, # <- start with random bias (this will get adjusted as the model learns)  # noqa: E261,E501
                                            dtype=torch.float), # <- PyTorch loves float32 by default  # noqa: E261
                                requires_grad=True) # <- can we update this value with gradient descent?))  # noqa: E261

    # Forward defines the computation in the model
    def forward(self, x: torch.Tensor) -> torch.Tensor: # <- "x" is the input data (e.g. training/testing features)  # noqa: E261,E501
        return self.weights * x + self.bias # <- this is the linear regression formula (y = m*x + b)  # noqa: E261


# Subclass nn.Module to make our model
class LinearRegressionModelV2(nn.Module):
    def __init__(self):
        super().__init__()
        # Use nn.Linear() for creating the model parameters
        self.linear_layer = nn.Linear(in_features=1,
                                      out_features=1)

    # Define the forward computation (input data x flows through nn.Linear())
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_layer(x)


def train(seed: int = 1, model_v: int = 0, lr_mult: float = 1.0, x_scale: float = 1.0, y_scale: float = 1.0,
          zero_grad: bool = True, loss: str = "l1", init_std: float | None = None, epochs: int | None = None,
          every: int = 10, verbose: bool = False) -> dict:
    """``model_v`` 0: LinearRegressionModel, 100 epochs; 1: LinearRegressionModelV2, 1000 epochs.  ``x_scale`` /
    ``y_scale``: X (inputs) / y (targets) multiplied after the line is made (the raw-units variants)."""
    torch.set_num_threads(1)
    # Create *known* parameters
    weight = 0.7
    bias = 0.3

    # Create data
    start = 0
    end = 1
    step = 0.02
    X = torch.arange(start, end, step).unsqueeze(dim=1)
    y = weight * X + bias
    X = X * x_scale  # the unscaled_inputs variant: X in raw units (x100), y unchanged
    y = y * y_scale  # the unscaled_target variant: y x100

    # Create train/test split
    train_split = int(0.8 * len(X)) # 80% of data used for training set, 20% for testing  # noqa: E261
    X_train, y_train = X[:train_split], y[:train_split]
    X_test, y_test = X[train_split:], y[train_split:]

    # Set manual seed since nn.Parameter are randomly initialized
    torch.manual_seed(seed)  # 42 in the notebook
    model = LinearRegressionModel() if model_v == 0 else LinearRegressionModelV2()
    if init_std is not None:  # variant: N(0, init_std) on every parameter
        with torch.no_grad():
            for p in model.parameters():
                p.normal_(0.0, init_std)

    # Create the loss function
    loss_fn = nn.L1Loss() if loss == "l1" else nn.MSELoss() # MAE loss is same as L1Loss  # noqa: E261

    # Create the optimizer
    lr = 0.01 * lr_mult
    optimizer = torch.optim.SGD(params=model.parameters(), # parameters of target model to optimize  # noqa: E261
                                lr=lr) # learning rate (0.01 in the notebook)  # noqa: E261
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    model.eval()
    with torch.inference_mode():
        initial_test = nn.L1Loss()(model(X_test), y_test).item()

    if epochs is None:
        epochs = 100 if model_v == 0 else 1000
    losses, test_losses = [], []
    t0 = time.time()
    for epoch in range(epochs):
        ### Training  # noqa: E266
        # Put model in training mode (this is the default state of a model)
        model.train()

        # 1. Forward pass on train data using the forward() method inside
        y_pred = model(X_train)

        # 2. Calculate the loss (how different are our models predictions to the ground truth)
        loss_v = loss_fn(y_pred, y_train)

        # 3. Zero grad of the optimizer
        if zero_grad:  # the no_zero_grad variant leaves this out
            optimizer.zero_grad()

        # 4. Loss backwards
        loss_v.backward()
        monitor.step(loss_v)  # gradmedic

        # 5. Progress the optimizer
        optimizer.step()

        ### Testing  # noqa: E266
        # Put the model in evaluation mode
        model.eval()

        with torch.inference_mode():
            # 1. Forward pass on test data
            test_pred = model(X_test)

            # 2. Caculate loss on test data
            test_loss = nn.L1Loss()(test_pred, y_test.type(torch.float))  # the notebook's loss_fn; L1 for the MSE variant too
        losses.append(loss_v.item())
        test_losses.append(test_loss.item())
        if verbose and epoch % (10 if model_v == 0 else 100) == 0:
            print(f"Epoch: {epoch} | Train loss: {loss_v} | MAE Test Loss: {test_loss} ")
    monitor.close()
    params = {k: v.flatten().tolist() for k, v in model.state_dict().items()}
    if verbose:
        print(params)
    return {"monitors": {"": monitor}, "metric": "test_loss", "value": float(test_losses[-1]),
            "initial": float(initial_test), "chance": None,
            "initial_what": "test L1 loss of the untrained model",
            "extra": {"train_loss": losses[-1], "first_train_loss": losses[0], "max_train_loss": max(losses),
                      "params": params, "lr": lr, "epochs": epochs, "x_scale": x_scale, "y_scale": y_scale},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="ztmwork", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


def _cases(prefix, base, what):
    out = [_case(f"{prefix}_healthy_s{s}", "healthy", s, dict(base), f"unchanged ({what}, L1Loss, SGD lr 0.01, "
                 "full batch)", False) for s in (1, 2, 3)]
    for k, ss in ((2, (1,)), (10, (1,)), (100, (1, 2)), (1000, (1,))):
        for s in ss:
            out.append(_case(f"{prefix}_lr_x{k}_s{s}", "lr_high", s, dict(base, lr_mult=k), f"SGD lr x{k} ({0.01 * k:g})"))
    out.append(_case(f"{prefix}_lr_div1000_s1", "lr_low", 1, dict(base, lr_mult=1e-3), "SGD lr /1000 (1e-05)"))
    for s in (1, 2):
        out.append(_case(f"{prefix}_raw_x_s{s}", "unscaled_inputs", s, dict(base, x_scale=100.0),
                         "inputs in raw units: X x 100 (0..98, as if in centimetres), y unchanged"))
    for s in (1, 2):
        out.append(_case(f"{prefix}_target_x100_s{s}", "unscaled_target", s, dict(base, y_scale=100.0),
                         "targets x 100 (y in centimetres: 30..99), X unchanged"))
    out.append(_case(f"{prefix}_no_zero_grad_s1", "no_zero_grad", 1, dict(base, zero_grad=False),
                     "optimizer.zero_grad() left out: the gradients accumulate"))
    out.append(_case(f"{prefix}_mse_s1", "healthy", 1, dict(base, loss="mse"),
                     "nn.MSELoss() instead of nn.L1Loss() for training (a sane alternative; the metric stays the "
                     "test L1 loss)"))
    return out


CASES: list[dict] = (
    _cases("ztmwork", {}, "LinearRegressionModel with nn.Parameter(torch.randn(1)) weight and bias, 100 epochs")
    + _cases("ztmworklin", {"model_v": 1}, "LinearRegressionModelV2 with nn.Linear(1, 1), 1000 epochs")
    + [_case("ztmworklin_init_std1_s1", "healthy", 1, {"model_v": 1, "init_std": 1.0},
             "nn.init normal_(0, 1) on the Linear's weight and bias instead of the default uniform +-1 (a different "
             "but sane init for a 1-in, 1-out layer)")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = v if k == "loss" else float(v)
    for k in ("model_v", "seed"):
        if k in kw:
            kw[k] = int(kw[k])
    if "zero_grad" in kw:
        kw["zero_grad"] = bool(kw["zero_grad"])
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
