"""Udacity deep-learning-v2-pytorch, intro-to-pytorch Part 6 (``fc_model.Network(784, 10, [512, 256, 128])`` with
dropout 0.5 and log_softmax, NLLLoss, Adam, and ``fc_model.train`` with its ``validation`` pass), on digits.

Adapted from https://github.com/udacity/deep-learning-v2-pytorch (commit c9404fc86181fc3f0906b368697268257f348535;
"intro-to-pytorch/fc_model.py", last changed in 4951aca43927fb28546431ca866ebc2a1c56469c, and its use in
"intro-to-pytorch/Part 6 - Saving and Loading Models.ipynb"; MIT License, Copyright (c) 2018 Udacity, see
LICENSE-udval).

Why not the notebook the brief named: "Part 5 - Inference and Validation (Solution).ipynb" (its Classifier
784-256-128-64-10 with dropout 0.2, log_softmax, NLLLoss, Adam lr 0.003 and its train/validation loop) is already
ported as udmlp.py, so this is the course's next step, the same lesson's train/validation loop packaged as
``fc_model.py``: a dropout MLP with log_softmax, NLLLoss, Adam, validated every 40 steps.

Kept as upstream has them: ``Network`` line for line (``hidden_layers`` a ModuleList of Linear, ``F.relu`` then
``self.dropout`` (``nn.Dropout(p=drop_p)``, ``drop_p=0.5``) after each, ``self.output`` Linear, ``F.log_softmax(x,
dim=1)``), built as the notebook does with hidden layers ``[512, 256, 128]``; PyTorch's default init (none set);
``criterion = nn.NLLLoss()``; ``optimizer = optim.Adam(model.parameters(), lr=0.001)``; ``validation`` as written
(``images.resize_``, summed batch losses, ``ps = torch.exp(output)``, ``ps.max(1)[1]``, the mean of the per-batch
accuracies); ``train`` as written (``model.train()`` each epoch, ``images.resize_``, ``optimizer.zero_grad()``,
``output = model.forward(images)``, ``loss = criterion(output, labels)``, ``loss.backward()``,
``optimizer.step()``, and every ``print_every=40`` steps ``model.eval()``, ``validation`` under ``torch.no_grad()``,
``model.train()``); the notebook's data handling: ``ToTensor`` then ``Normalize((0.5,), (0.5,))`` (pixels to
[-1, 1]), batch 64, both loaders ``shuffle=True``.

Changed, to run offline on one CPU thread: Fashion-MNIST (a download) is scikit-learn's ``load_digits``: 64 inputs
(``Network(64, 10, [512, 256, 128])``, the hidden sizes kept; ``resize_`` to 64 instead of 784), values /16 to
[0, 1] then (x - 0.5) / 0.5, split 1437 / 360 into train and test (``train_test_split``, random_state 0), plain
``DataLoader``s over ``TensorDataset``s; 30 epochs of 23 steps (690 steps, 17 validations) instead of the
notebook's ``epochs=2`` of 938 steps (1876 steps); the printing only under ``verbose``, the validation results
kept in a list instead; ``torch.manual_seed(seed)`` added (upstream sets none); the image display, the checkpoint
save/load cells are left out.  The metric is a last ``validation`` after training (``accuracy /
len(testloader)``, the notebook's printed figure); the exact fraction correct is in ``extra``.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the criterion
and optimizer are built; ``monitor.step(loss)`` in ``train`` right after ``loss.backward()``, before
``optimizer.step()``; ``monitor.close()`` after training.

``CASES`` (program "udval"): the program on seeds 1-3 (control=False), and one change each against the same seed's
healthy run: Adam lr x10 (seed 1), x100 (seeds 1 and 2), /1000; the raw 0..16 values (no /16, no Normalize:
"unscaled_inputs"); every Linear weight and bias ``normal_(std=1)``; ``optimizer.zero_grad()`` left out;
``F.log_softmax`` removed so raw logits go into ``NLLLoss`` ("wrong_loss"); Dropout p 0.2 instead of 0.5 (seed 2;
cause "healthy", expected harmless).  fc_model does not clip, so there is no clipping case.  Labels come from
run.py's outcome rules only.

Recorded (cases-public67, 12 runs, 3-5 s each): healthy 0.982, 0.977, 0.982 test accuracy on seeds 1-3 (train
loss 2.29-2.30 -> 0.035-0.044, largest 2.32-2.34): healthy; lr x10 (0.01): train loss 0.32, 0.962 (2.0 points
below): healthy; lr x100 (0.1): first losses 86 and 62, up to 391 and 253, then stuck at 2.31: 0.112 and 0.096:
broken; lr /1000 (1e-6): the loss stays at 2.31, 0.046: broken; raw 0..16 values: start 2.45, largest 2.70, 0.983:
healthy (the change did no harm here); N(0, 1) init: first losses ~4e4 (largest 42569), train loss 3737 at the
end, 0.726: broken; zero_grad left out: losses up to 9.25, train loss 2.07, 0.484: broken; log_softmax removed:
the NLLLoss of raw logits runs off to -1.6e9 (finite), 0.075: broken; dropout 0.2: 0.982: healthy.  Labels: 6
healthy (3 programs, 3 variants), 6 broken, 0 ambiguous.  Every loss was finite.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn, optim

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) right after criterion and optimizer are built; monitor.step(loss) "
              "in fc_model.train right after loss.backward(), before optimizer.step()")
LR = 0.001
EPOCHS = 30
PRINT_EVERY = 40


def digits64(input_scale=1.0):
    """load_digits as 64 values: /16 to [0, 1] (ToTensor), then Normalize((0.5,), (0.5,)) to [-1, 1]; a fixed
    1437/360 split.  ``input_scale`` 16 (the raw_pixels variant): the raw 0..16 values, no /16, no Normalize."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.data, d.target, test_size=0.2, random_state=0)

    def f(x):
        x = torch.tensor(x, dtype=torch.float32) / 16.0
        if input_scale != 1.0:
            return x * input_scale
        return (x - 0.5) / 0.5

    return f(xtr), torch.tensor(ytr), f(xte), torch.tensor(yte)


class Network(nn.Module):
    def __init__(self, input_size, output_size, hidden_layers, drop_p=0.5, log_softmax=True):
        ''' Builds a feedforward network with arbitrary hidden layers.

            Arguments
            ---------
            input_size: integer, size of the input layer
            output_size: integer, size of the output layer
            hidden_layers: list of integers, the sizes of the hidden layers

        '''
        super().__init__()
        # Input to a hidden layer
        self.hidden_layers = nn.ModuleList([nn.Linear(input_size, hidden_layers[0])])

        # Add a variable number of more hidden layers
        layer_sizes = zip(hidden_layers[:-1], hidden_layers[1:], strict=True)
        self.hidden_layers.extend([nn.Linear(h1, h2) for h1, h2 in layer_sizes])

        self.output = nn.Linear(hidden_layers[-1], output_size)

        self.dropout = nn.Dropout(p=drop_p)
        self.log_softmax = log_softmax  # the wrong_loss variant: False, raw logits into NLLLoss

    def forward(self, x):
        ''' Forward pass through the network, returns the output logits '''

        for each in self.hidden_layers:
            x = F.relu(each(x))
            x = self.dropout(x)
        x = self.output(x)

        if not self.log_softmax:
            return x
        return F.log_softmax(x, dim=1)


def validation(model, testloader, criterion, n_in):
    accuracy = 0
    test_loss = 0
    for images, labels in testloader:

        images = images.resize_(images.size()[0], n_in)

        output = model.forward(images)
        test_loss += criterion(output, labels).item()

        ## Calculating the accuracy
        # Model's output is log-softmax, take exponential to get the probabilities
        ps = torch.exp(output)
        # Class with highest probability is our predicted class, compare with true label
        equality = (labels.data == ps.max(1)[1])
        # Accuracy is number of correct predictions divided by all predictions, just take the mean
        accuracy += equality.type_as(torch.FloatTensor()).mean()

    return test_loss, accuracy


def fc_train(model, trainloader, testloader, criterion, optimizer, monitor, n_in, epochs=5, print_every=40,
             zero_grad=True, verbose=False):
    """fc_model.train, with the gradmedic step and a record of the losses and of each validation."""
    losses, record = [], []
    steps = 0
    running_loss = 0
    for e in range(epochs):
        # Model in training mode, dropout is on
        model.train()
        for images, labels in trainloader:
            steps += 1

            # Flatten images into a 784 long vector (here 64)
            images.resize_(images.size()[0], n_in)

            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()

            output = model.forward(images)
            loss = criterion(output, labels)
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()

            running_loss += loss.item()
            losses.append(loss.item())

            if steps % print_every == 0:
                # Model in inference mode, dropout is off
                model.eval()

                # Turn off gradients for validation, will speed up inference
                with torch.no_grad():
                    test_loss, accuracy = validation(model, testloader, criterion, n_in)

                record.append((running_loss / print_every, test_loss / len(testloader),
                               float(accuracy / len(testloader))))
                if verbose:
                    print(f"Epoch: {e+1}/{epochs}.. ",
                          f"Training Loss: {running_loss/print_every:.3f}.. ",
                          f"Test Loss: {test_loss/len(testloader):.3f}.. ",
                          f"Test Accuracy: {accuracy/len(testloader):.3f}")

                running_loss = 0

                # Make sure dropout and grads are on for training
                model.train()
    return losses, record


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, init: str = "default",
          zero_grad: bool = True, log_softmax: bool = True, drop_p: float = 0.5, epochs: int = EPOCHS,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    xtr, ytr, xte, yte = digits64(input_scale)
    n_in = xtr.shape[1]
    trainloader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xtr, ytr), batch_size=64, shuffle=True)
    testloader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xte, yte), batch_size=64, shuffle=True)

    # Create the network, define the criterion and optimizer
    model = Network(n_in, 10, [512, 256, 128], drop_p=drop_p, log_softmax=log_softmax)
    if init != "default":
        for m in model.modules():
            if isinstance(m, nn.Linear):
                if init == "std1":  # the init_large variant
                    nn.init.normal_(m.weight, std=1.0)
                    nn.init.normal_(m.bias, std=1.0)
                else:
                    raise ValueError(init)
    lr = LR * lr_mult
    criterion = nn.NLLLoss()
    optimizer = optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)
    losses, record = fc_train(model, trainloader, testloader, criterion, optimizer, monitor, n_in, epochs=epochs,
                              print_every=PRINT_EVERY, zero_grad=zero_grad, verbose=verbose)
    monitor.close()
    model.eval()
    with torch.no_grad():
        test_loss, accuracy = validation(model, testloader, criterion, n_in)
        exact = float((model(xte).argmax(dim=1) == yte).float().mean())
    acc = float(accuracy / len(testloader))
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc, "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(test_loss=test_loss / len(testloader), exact_accuracy=exact, lr=lr,
                          train_loss=float(np.mean(losses[-20:])), first_loss=float(np.mean(losses[:5])),
                          max_loss=float(np.nanmax(losses)), finite_losses=bool(np.isfinite(losses).all()),
                          steps=len(losses), epochs=epochs, validations=len(record),
                          last_printed_accuracy=record[-1][2] if record else -1.0, lr_mult=lr_mult,
                          input_scale=input_scale, init=init, zero_grad=zero_grad, log_softmax=log_softmax,
                          drop_p=drop_p),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="udval", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"fc_model.Network(64, 10, [512, 256, 128]) (ReLU, Dropout 0.5, log_softmax), NLLLoss, Adam lr {LR:g}, "
      f"fc_model.train (batch 64, validation every {PRINT_EVERY} steps), {EPOCHS} epochs on 8x8 digits")
CASES: list[dict] = (
    [_case(f"udval_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"udval_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("udval_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case("udval_raw_pixels_s1", "unscaled_inputs", 1, {"input_scale": 16.0},
             f"{_P}: inputs unscaled (the digits' raw 0..16 values, no /16 and no Normalize)")]
    + [_case("udval_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_P}: every Linear weight and bias normal_(std=1)")]
    + [_case("udval_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("udval_no_log_softmax_s1", "wrong_loss", 1, {"log_softmax": False},
             f"{_P}: F.log_softmax removed, raw logits into NLLLoss")]
    + [_case("udval_dropout02_s2", "healthy", 2, {"drop_p": 0.2},
             f"{_P}: Dropout p 0.2 instead of 0.5 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
