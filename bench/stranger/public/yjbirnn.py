"""yunjey/pytorch-tutorial's bidirectional recurrent neural network (02-intermediate: a 2-layer bidirectional LSTM
over the rows of a digit, Linear on the last time step), on scikit-learn's 8x8 digits as 8 time steps of 8 pixels,
watched by gradmedic.

Adapted from https://github.com/yunjey/pytorch-tutorial (commit 0500d3df5a2a8080ccfccbc00aca0eacc21818db;
tutorials/02-intermediate/bidirectional_recurrent_neural_network/main.py; MIT License, the repository's LICENSE, see
LICENSE-yjbirnn).  The script's module-level code is the body of ``train`` here, upstream's lines in upstream's
order.  (tutorial.py's "birnn" ports the same script on digits upsampled to 28x28, 28 rows of 28 pixels; this is a
second port at the digits' own 8x8 size, with other variants.)

Kept as in the original: ``BiRNN`` (``nn.LSTM(input_size, hidden_size, num_layers, batch_first=True,
bidirectional=True)``, zero initial states h0 and c0, ``nn.Linear(hidden_size*2, num_classes)`` on ``out[:, -1, :]``)
with PyTorch's default init, hidden_size 128, num_layers 2, num_classes 10, batch_size 100, learning_rate 0.003,
``nn.CrossEntropyLoss()``, ``torch.optim.Adam``, the DataLoaders (training shuffled, test not), the loop
(``images.reshape(-1, sequence_length, input_size)``, forward, loss, ``optimizer.zero_grad()``, ``loss.backward()``,
``optimizer.step()``; no clipping) and the test under ``torch.no_grad()`` (``torch.max(outputs.data, 1)``; no
``model.eval()``, as upstream); inputs in [0, 1] as ``transforms.ToTensor()`` gives them, not normalized.

Changed to run offline on one CPU thread without torchvision: MNIST is scikit-learn's ``load_digits`` (1797 8x8
images, pixel values 0..16 divided by 16 for ToTensor's [0, 1]), split 80/20 with random_state=0 (1437 training
images, 15 steps of 100 per epoch, and 360 test images), so sequence_length and input_size are 8 instead of 28;
15 epochs (225 steps) instead of 2 epochs of 600; ``device`` is the CPU; ``torch.manual_seed(seed)`` (upstream
does not seed; the loader's shuffle follows it); the print every 100 steps only with ``verbose`` (every 75 here);
no checkpoint saved; ``torch.set_flush_denormal(True)`` (speed only); the bugs of the variants as in ``train``'s
docstring.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()`` (or the variant's
``clip_grad_norm_``); ``monitor.close()`` after the loop.  Metric: the test accuracy on the 360 held-out digits
(chance 0.1); ``initial`` is the untrained model's.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the same
seed's healthy run: the learning rate x2, x10, x100 (seeds 1 and 2), x1000 and /1000; raw 0..255
pixel values (seeds 1 and 2); ``nn.Softmax(dim=1)`` on the outputs before ``nn.CrossEntropyLoss`` and
``nn.NLLLoss`` on the raw outputs (no ``log_softmax``), two wrong losses; ``nn.init.normal_(std=1.0)`` on every LSTM
weight and the Linear's (seeds 1 and 2); every weight and bias of the LSTM and the fc a constant 0.1 (symmetric
init: all 128 units of each layer and direction alike); ``optimizer.zero_grad()`` left out; a unidirectional LSTM
(``bidirectional=False``, fc Linear(128, 10): a sane change, cause healthy against its control).  (``train``'s
``clip`` adds a ``clip_grad_norm_`` that upstream lacks; no case uses it, to keep the recording short.)  Labels
come from run.py's outcome rules only.

Recorded (cases-public30; 15-23 s of training a run on the shared 2-core machine, the unidirectional one 6 s; 18
cases in ~7 min): test accuracy, chance 0.1.  Healthy: 0.947, 0.958 and 0.958 on seeds 1-3 (training loss 2.30 ->
0.04-0.10; untrained 0.11-0.12), lr x2 0.981, lr x10 0.964 (its largest loss 3.38 against the control's 2.31),
raw 0..255 pixels 0.969 and 0.939 (the LSTM's gates saturate and it still learns), unidirectional 0.942.  Broken: lr
x100 0.075 and 0.114 (losses up to 42 and 69), x1000 0.122 (losses up to 920), /1000 0.122 (loss 2.3025 throughout),
NLLLoss on the raw outputs 0.097 (the loss falls without bound, to -143: the target's raw output is pushed up),
N(0, 1) init 0.508 and 0.444 (first losses ~9), every weight 0.1 0.081 (loss 2.34: the units stay alike), no
zero_grad 0.519.  Ambiguous: the softmax before CrossEntropyLoss, 0.894 (training loss 2.30 -> 1.56: it learns, but
slowly; 5.3 points below its control and under 0.9).  In all: 8 healthy, 9 broken, 1 ambiguous.
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
MONITOR_AT = "monitor.step(loss) right after loss.backward(), before optimizer.step() (no clipping upstream)"

# Device configuration
device = torch.device('cpu')  # upstream: cuda when available

# Hyper-parameters
sequence_length = 8  # upstream: 28 (MNIST rows)
input_size = 8  # upstream: 28
hidden_size = 128
num_layers = 2
num_classes = 10
batch_size = 100
num_epochs = 15  # upstream: 2 epochs of MNIST
learning_rate = 0.003


# Bidirectional recurrent neural network (many-to-one)
class BiRNN(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers, num_classes, bidirectional=True):
        super(BiRNN, self).__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.num_directions = 2 if bidirectional else 1  # the unidirectional variant
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True, bidirectional=bidirectional)
        self.fc = nn.Linear(hidden_size*self.num_directions, num_classes)  # 2 for bidirection

    def forward(self, x):
        # Set initial states
        h0 = torch.zeros(self.num_layers*self.num_directions, x.size(0), self.hidden_size).to(device) # 2 for bidirection
        c0 = torch.zeros(self.num_layers*self.num_directions, x.size(0), self.hidden_size).to(device)

        # Forward propagate LSTM
        out, _ = self.lstm(x, (h0, c0))  # out: tensor of shape (batch_size, seq_length, hidden_size*2)

        # Decode the hidden state of the last time step
        out = self.fc(out[:, -1, :])
        return out


def digits8(raw_pixels: bool = False):
    """(train, test) TensorDatasets of load_digits' 8x8 images in [0, 1] (ToTensor), or as raw 0..255 values."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)
    scale = 255.0 / 16.0 if raw_pixels else 1.0 / 16.0  # 0..16 -> 0..255 (uint8 pixels) or [0, 1] (ToTensor)
    return (torch.utils.data.TensorDataset(torch.tensor(xtr * scale, dtype=torch.float32), torch.tensor(ytr)),
            torch.utils.data.TensorDataset(torch.tensor(xte * scale, dtype=torch.float32), torch.tensor(yte)))


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, loss_kind: str = "ce",
          init_std: float | None = None, lstm_const: float | None = None, zero_grad: bool = True,
          bidirectional: bool = True, clip: float | None = None, epochs: int = num_epochs, every: int = 10,
          verbose: bool = False) -> dict:
    """``lr_mult``: Adam's lr times this; ``raw_pixels``: 0..255 inputs (training and test); ``loss_kind``: "ce"
    (upstream), "softmax_ce" (softmax on the outputs, then CrossEntropyLoss), "nll_raw" (NLLLoss on the raw outputs);
    ``init_std``: normal_(0, init_std) on every LSTM weight and the fc's weight; ``lstm_const``: every weight and bias
    (LSTM and fc) filled with it; ``zero_grad=False``: no optimizer.zero_grad(); ``bidirectional=False``: a one-way LSTM;
    ``clip``: clip_grad_norm_(model.parameters(), clip) before optimizer.step()."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    torch.manual_seed(seed)
    train_dataset, test_dataset = digits8(raw_pixels)

    # Data loader
    train_loader = torch.utils.data.DataLoader(dataset=train_dataset,
                                               batch_size=batch_size,
                                               shuffle=True)

    test_loader = torch.utils.data.DataLoader(dataset=test_dataset,
                                              batch_size=batch_size,
                                              shuffle=False)

    model = BiRNN(input_size, hidden_size, num_layers, num_classes, bidirectional).to(device)
    with torch.no_grad():  # the variants' inits (none upstream)
        if init_std is not None:
            for name, p in model.named_parameters():
                if "weight" in name:
                    p.normal_(0.0, init_std)
        if lstm_const is not None:
            for p in model.parameters():
                p.fill_(lstm_const)

    # Loss and optimizer
    criterion = nn.NLLLoss() if loss_kind == "nll_raw" else nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate * lr_mult)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    def test_accuracy():
        # Test the model
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
        return correct / total

    acc0 = test_accuracy()
    losses = []
    t0 = time.time()
    # Train the model
    total_step = len(train_loader)
    for epoch in range(epochs):
        for i, (images, labels) in enumerate(train_loader):
            images = images.reshape(-1, sequence_length, input_size).to(device)
            labels = labels.to(device)

            # Forward pass
            outputs = model(images)
            if loss_kind == "softmax_ce":  # the bug: probabilities into a loss that applies log_softmax itself
                outputs = nn.Softmax(dim=1)(outputs)
            loss = criterion(outputs, labels)

            # Backward and optimize
            if zero_grad:
                optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            if clip is not None:  # a variant: upstream does not clip
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            losses.append(loss.item())

            if verbose and (i+1) % 15 == 0 and epoch % 5 == 4:  # upstream: every 100 steps
                print ('Epoch [{}/{}], Step [{}/{}], Loss: {:.4f}'
                       .format(epoch+1, epochs, i+1, total_step, loss.item()))
    monitor.close()
    seconds = time.time() - t0

    acc = test_accuracy()
    if verbose:
        print('Test Accuracy of the model on the 360 test images: {} % (untrained {} %); {:.1f}s'
              .format(100 * acc, 100 * acc0, seconds))
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc), "initial": float(acc0),
            "chance": 0.1, "initial_what": "the untrained model's test accuracy",
            "extra": {"train_loss": float(np.mean(losses[-20:])), "initial_train_loss": float(np.mean(losses[:5])),
                      "steps": len(losses), "untrained_accuracy": float(acc0)},
            "seconds": seconds}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="yjbirnn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"yjbirnn_healthy_s{s}", "healthy", s, {}, "unchanged (bidirectional LSTM 2x128 over 8 rows of 8 pixels, "
           "Linear(256, 10) on the last step, Adam lr 0.003, batch 100, 15 epochs)", False) for s in (1, 2, 3)]
    + [_case("yjbirnn_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, "Adam lr x2 (0.006)")]
    + [_case(f"yjbirnn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({0.003 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("yjbirnn_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (3e-06)")]
    + [_case(f"yjbirnn_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             "raw 0..255 pixel values (no ToTensor scaling), training and test") for s in (1, 2)]
    + [_case("yjbirnn_softmax_ce_s1", "wrong_loss", 1, {"loss_kind": "softmax_ce"},
             "nn.Softmax(dim=1) on the outputs before nn.CrossEntropyLoss (which applies log_softmax itself)")]
    + [_case("yjbirnn_nll_raw_s1", "wrong_loss", 1, {"loss_kind": "nll_raw"},
             "nn.NLLLoss() on the raw outputs instead of nn.CrossEntropyLoss(): the log_softmax missing")]
    + [_case(f"yjbirnn_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every LSTM weight (weight_ih, weight_hh of both layers and directions) and "
             "fc.weight instead of PyTorch's default U(-1/sqrt(128), 1/sqrt(128)); biases kept") for s in (1, 2)]
    + [_case("yjbirnn_lstm_const_s1", "symmetric_init", 1, {"lstm_const": 0.1},
             "every weight and bias of the LSTM and the fc filled with 0.1 (nn.init.constant_): all 128 units of "
             "each layer and direction alike, and they stay alike")]
    + [_case("yjbirnn_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             "optimizer.zero_grad() left out: the gradients accumulate")]
    + [_case("yjbirnn_unidirectional_s1", "healthy", 1, {"bidirectional": False},
             "bidirectional=False (one-way LSTM 2x128, fc Linear(128, 10)), a sane change")]
)


if __name__ == "__main__":
    import ast
    import sys

    kw = {k: ast.literal_eval(v) for k, v in (a.split("=") for a in sys.argv[1:])}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
