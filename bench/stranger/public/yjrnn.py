"""yunjey/pytorch-tutorial's recurrent neural network (02-intermediate: a 2-layer LSTM over the rows of a digit,
Linear on the last time step, many-to-one), on scikit-learn's 8x8 digits as 8 time steps of 8 pixels, watched by
gradmedic.

Adapted from https://github.com/yunjey/pytorch-tutorial (commit 0500d3df5a2a8080ccfccbc00aca0eacc21818db, the
newest; the file was last changed in e217e42e600ece714d047a6c7bcb098728cfa3ae;
tutorials/02-intermediate/recurrent_neural_network/main.py; MIT License, the repository's LICENSE, see
LICENSE-yjrnn).  The script's module-level code is the body of ``train`` here, upstream's lines in upstream's order.

Kept as in the original: ``RNN`` (``nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)``, zero initial
states h0 and c0, ``nn.Linear(hidden_size, num_classes)`` on ``out[:, -1, :]``) with PyTorch's default init,
hidden_size 128, num_layers 2, num_classes 10, batch_size 100, learning_rate 0.01, ``nn.CrossEntropyLoss()``,
``torch.optim.Adam``, the DataLoaders (training shuffled, test not), the loop (``images.reshape(-1,
sequence_length, input_size)``, forward, loss, ``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``;
no clipping), and the test after ``model.eval()`` under ``torch.no_grad()`` (``torch.max(outputs.data, 1)``); inputs
in [0, 1] as ``transforms.ToTensor()`` gives them, not normalized.

Changed to run offline on one CPU thread without torchvision: MNIST is scikit-learn's ``load_digits`` (1797 8x8
images, pixel values 0..16 divided by 16 for ToTensor's [0, 1]), split 80/20 with random_state=0 (1437 training
images, 15 steps of 100 per epoch, and 360 test images), so sequence_length and input_size are 8 instead of 28;
NUM_EPOCHS epochs instead of 2 epochs of 600 steps (to keep a run within ~15 s on the shared machine);
``device`` is the CPU; ``torch.manual_seed(seed)`` (upstream does not seed; the loader's shuffle follows it); the
print every 100 steps only with ``verbose`` (every 75 here); no checkpoint saved; ``torch.set_flush_denormal(True)``
(speed only); the bugs of the variants as in ``train``'s docstring.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()`` after
the loop.  Metric: the test accuracy on the 360 held-out digits (chance 0.1).

``CASES`` (in the shape of run.py's ``case()``, program "yjrnn"): the program on seeds 1-3, and one change each
against the same seed's healthy run: Adam's lr x10, x100 (seeds 1 and 2) and /1000; the raw 0..16 pixel values (x16:
no ToTensor scaling) on seeds 1 and 2; ``nn.init.normal_(std=1.0)`` on every LSTM weight (weight_ih, weight_hh of both
layers; biases and fc kept); ``optimizer.zero_grad()`` left out; ``nn.Softmax(dim=1)`` on the outputs before
``nn.CrossEntropyLoss``; and batch_size 50 (expected harmless, cause healthy).  Labels come from run.py's outcome
rules only.

Recorded (cases-public62; 13 cases in 159 s, 9-22 s of training a run on the shared, loaded 2-core machine): test
accuracy, chance 0.1.  Healthy programs: 0.975, 0.964 and 0.967 on seeds 1-3 (training loss 2.28-2.30 -> 0.02-0.10,
every loss finite, largest 2.32-2.36).  Healthy: raw 0..16 pixels 0.972 and 0.983 (first losses 2.07-2.11, largest
2.30: the change did no harm here), batch_size 50 0.981.  Broken: lr x10 0.075 (losses up to 8.2, ending at 2.5); lr
x100 0.108 and 0.108 (first losses 63 and 46, up to 203 and 216, ending at 35 and 31, all finite); lr /1000 0.122
(the loss stays at 2.30); N(0, 1) LSTM weights 0.747 (train loss 0.69); zero_grad left out 0.228 (the loss ends at
2.84, largest 3.46).  Ambiguous: the softmax before CrossEntropyLoss, 0.889 (train loss 2.30 -> 1.52: it learns,
slowly; 8.6 points below its control and under 0.9).  In all: 6 healthy (3 programs, 3 variants), 6 broken, 1
ambiguous.
"""

# upstream's code is kept as written (super(Class, self), str.format)
# ruff: noqa: UP008, UP032

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn

import gradmedic

ARCH = "lstm"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = torch.optim.Adam(...); monitor.step(loss) "
              "right after loss.backward(), before optimizer.step() (no clipping upstream)")

# Device configuration
device = torch.device('cpu')  # upstream: cuda when available

# Hyper-parameters
sequence_length = 8  # upstream: 28 (MNIST rows)
input_size = 8  # upstream: 28
hidden_size = 128
num_layers = 2
num_classes = 10
batch_size = 100
NUM_EPOCHS = 15  # upstream: num_epochs = 2 (of MNIST's 600 steps)
learning_rate = 0.01


# Recurrent neural network (many-to-one)
class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers, num_classes):
        super(RNN, self).__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        # Set initial hidden and cell states
        h0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size).to(device)
        c0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size).to(device)

        # Forward propagate LSTM
        out, _ = self.lstm(x, (h0, c0))  # out: tensor of shape (batch_size, seq_length, hidden_size)

        # Decode the hidden state of the last time step
        out = self.fc(out[:, -1, :])
        return out


def digits8(input_scale: float = 1.0):
    """(train, test) TensorDatasets of load_digits' 8x8 images in [0, 1] (ToTensor), times ``input_scale``."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)
    scale = input_scale / 16.0  # 0..16 -> [0, 1] (ToTensor); input_scale 16: the raw 0..16 values
    return (torch.utils.data.TensorDataset(torch.tensor(xtr * scale, dtype=torch.float32), torch.tensor(ytr)),
            torch.utils.data.TensorDataset(torch.tensor(xte * scale, dtype=torch.float32), torch.tensor(yte)))


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, init_std: float | None = None,
          zero_grad: bool = True, softmax: bool = False, batch: int = batch_size, num_epochs: int = NUM_EPOCHS,
          every: int = 10, verbose: bool = False) -> dict:
    """``lr_mult``: Adam's lr times this; ``input_scale``: the [0, 1] images times this (training and test; 16 = the
    raw 0..16 values); ``init_std``: normal_(0, init_std) on every LSTM weight; ``zero_grad=False``: no
    optimizer.zero_grad(); ``softmax``: nn.Softmax(dim=1) on the outputs before CrossEntropyLoss; ``batch``: the
    training batch size."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    torch.manual_seed(seed)
    t_start = time.time()
    train_dataset, test_dataset = digits8(input_scale)

    # Data loader
    train_loader = torch.utils.data.DataLoader(dataset=train_dataset,
                                               batch_size=batch,
                                               shuffle=True)

    test_loader = torch.utils.data.DataLoader(dataset=test_dataset,
                                              batch_size=batch_size,
                                              shuffle=False)

    model = RNN(input_size, hidden_size, num_layers, num_classes).to(device)
    if init_std is not None:  # the init_large variant (none upstream)
        with torch.no_grad():
            for name, p in model.lstm.named_parameters():
                if "weight" in name:
                    p.normal_(0.0, init_std)

    # Loss and optimizer
    criterion = nn.CrossEntropyLoss()
    lr = learning_rate * lr_mult
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    losses = []
    # Train the model
    total_step = len(train_loader)
    for epoch in range(num_epochs):
        for i, (images, labels) in enumerate(train_loader):
            images = images.reshape(-1, sequence_length, input_size).to(device)
            labels = labels.to(device)

            # Forward pass
            outputs = model(images)
            if softmax:  # the wrong_loss variant: probabilities into a loss that applies log_softmax itself
                outputs = nn.Softmax(dim=1)(outputs)
            loss = criterion(outputs, labels)

            # Backward and optimize
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())

            if verbose and (i+1) % 15 == 0 and epoch % 5 == 4:  # upstream: every 100 steps
                print ('Epoch [{}/{}], Step [{}/{}], Loss: {:.4f}'
                       .format(epoch+1, num_epochs, i+1, total_step, loss.item()))
    monitor.close()

    # Test the model
    model.eval()
    with torch.no_grad():
        correct = 0
        total = 0
        for images, labels in test_loader:
            images = images.reshape(-1, sequence_length, input_size).to(device)
            labels = labels.to(device)
            outputs = model(images)
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
    acc = correct / total
    seconds = time.time() - t_start
    if verbose:
        print('Test Accuracy of the model on the 360 test images: {} %; {:.1f}s'.format(100 * acc, seconds))
    fin = np.isfinite(losses)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc), "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(train_loss=float(np.mean(losses[-20:])), first_loss=float(np.mean(losses[:5])),
                          max_loss=float(np.max(np.asarray(losses)[fin])) if fin.any() else float("nan"),
                          finite_losses=bool(fin.all()), steps=len(losses), lr=lr, lr_mult=lr_mult,
                          input_scale=input_scale, init_std=-1.0 if init_std is None else float(init_std),
                          zero_grad=zero_grad, softmax=softmax, batch=batch, epochs=num_epochs,
                          test_images=total),
            "seconds": seconds}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="yjrnn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"LSTM 2x128 over 8 rows of 8 pixels, Linear(128, 10) on the last step, CrossEntropyLoss, Adam lr "
      f"{learning_rate:g}, batch {batch_size}, {NUM_EPOCHS} epochs of 15 steps")
CASES: list[dict] = (
    [_case(f"yjrnn_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"yjrnn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({learning_rate * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("yjrnn_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3},
             f"{_P}: Adam lr /1000 ({learning_rate * 1e-3:g})")]
    + [_case(f"yjrnn_raw_pixels_s{s}", "unscaled_inputs", s, {"input_scale": 16.0},
             f"{_P}: raw 0..16 pixel values (x16: no ToTensor scaling), training and test") for s in (1, 2)]
    + [_case("yjrnn_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every LSTM weight (weight_ih, weight_hh of both layers) instead of "
             "PyTorch's default U(-1/sqrt(128), 1/sqrt(128)); biases and fc kept")]
    + [_case("yjrnn_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("yjrnn_softmax_ce_s1", "wrong_loss", 1, {"softmax": True},
             f"{_P}: nn.Softmax(dim=1) on the outputs before nn.CrossEntropyLoss (which applies log_softmax itself)")]
    + [_case("yjrnn_batch50_s1", "healthy", 1, {"batch": 50}, f"{_P}: batch_size 50 instead of 100 (a sane change)")]
)


if __name__ == "__main__":
    import ast
    import sys

    kw = {k: ast.literal_eval(v) for k, v in (a.split("=") for a in sys.argv[1:])}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
