"""Deep Learning Wizard's LSTM on MNIST (practical_pytorch/pytorch_lstm_neuralnetwork, "Model A: 1 Hidden Layer":
nn.LSTM(input_dim, 100, 1, batch_first=True), Linear readout of the last time step, CrossEntropyLoss, SGD lr 0.1,
batch 100, n_iters 3000), on load_digits read row by row, watched by gradmedic.

Adapted from https://github.com/ritchieng/deep-learning-wizard (commit e4ce284aac5487c86cdef223e669e76cf0c823f0,
docs/deep_learning/practical_pytorch/pytorch_lstm_neuralnetwork.md; MIT License, Copyright (c) 2018-2023 Ritchie Ng,
see LICENSE-dlwlstm).

Kept as upstream: the LSTMModel class (code and comments: zero h0/c0 detached, nn.LSTM batch_first, the readout of
the last time step), hidden_dim 100, layer_dim 1, output_dim 10, nn.CrossEntropyLoss(), torch.optim.SGD(lr=0.1),
batch_size 100, n_iters 3000 with num_epochs = int(n_iters / (len(train_dataset) / batch_size)), shuffling train
loader, the loop (view to (-1, seq_dim, input_dim), requires_grad_(), zero_grad, forward, loss, backward, step) and
the test-accuracy block every 500 iterations (its print behind verbose); PyTorch's default initialization.

Changed for running offline on one CPU thread: MNIST (torchvision, which does not import here) -> scikit-learn's
load_digits, 8x8 images scaled to 0..1 as ToTensor would (pixel / 16), a fixed stratified 1437/360 train/test split
(random_state 0, the same for every seed); so input_dim = seq_dim = 8 instead of 28 (a row of 8 pixels per time step,
8 steps), and num_epochs comes out as 208 (3120 iterations) instead of 5.  torch.manual_seed(seed) first; the
accuracy block runs under no_grad and returns a fraction; the outcome is that accuracy on the 360 test digits
after the last iteration (initial: the untrained model's).  Nothing else was scaled down.

The watch, as a user would add it: gradmedic.watch(model, optimizer, every=10) right after the SGD optimizer is
built; monitor.step(loss) right after loss.backward(), before optimizer.step(); monitor.close() after the loop.

Variants (each one change against the same seed's healthy run): learning_rate x2, x10 (seeds 1, 2), x100 (seeds
1, 2), x1000, /1000 (seeds 1, 2); raw 0..255 pixels (seeds 1, 2); normal_(std=1) on every weight (seeds 1, 2);
zeros on every parameter; no optimizer.zero_grad(); softmax before CrossEntropyLoss (seeds 1, 2).  Not carried:
no clipping (upstream does not clip) and a deep sigmoid stack (no such layer).

Recorded (cases-public34, 19 cases, 22-36 s each on a shared 2-core machine, about 10 min in all; held-out accuracy,
untrained about 0.1): healthy seeds 1-3: 0.975, 0.978, 0.969 (healthy; upstream's MNIST run reaches 95% at iteration
3000).  lr x2 0.975, x10 0.975 and 0.981: healthy.  lr x100 (10): 0.978 and 0.969, ambiguous (a good final accuracy,
but the loss blew up on the way).  lr x1000: 0.10, broken.  lr /1000: 0.10 and 0.056, broken.  Raw pixels: 0.925 and
0.906, ambiguous.  normal_(std=1): 0.903 and 0.878, ambiguous.  Zero init: 0.103, broken.  No zero_grad: 0.10,
broken.  Softmax before CrossEntropyLoss: 0.142 and 0.222, broken.  Totals: 6 healthy, 7 broken, 6 ambiguous.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import TensorDataset

import gradmedic

ARCH = "lstm"
MONITOR_AT = ("watch(model, optimizer, every=10) right after torch.optim.SGD(model.parameters(), lr=learning_rate); "
              "monitor.step(loss) right after loss.backward(), before optimizer.step() (no clipping)")


# --- Step 3: Create Model Class (upstream's code and comments) -------------------------------------------------------

class LSTMModel(nn.Module):
    def __init__(self, input_dim, hidden_dim, layer_dim, output_dim):
        super(LSTMModel, self).__init__()  # noqa: UP008
        # Hidden dimensions
        self.hidden_dim = hidden_dim

        # Number of hidden layers
        self.layer_dim = layer_dim

        # Building your LSTM
        # batch_first=True causes input/output tensors to be of shape
        # (batch_dim, seq_dim, feature_dim)
        self.lstm = nn.LSTM(input_dim, hidden_dim, layer_dim, batch_first=True)

        # Readout layer
        self.fc = nn.Linear(hidden_dim, output_dim)

    def forward(self, x):
        # Initialize hidden state with zeros
        h0 = torch.zeros(self.layer_dim, x.size(0), self.hidden_dim).requires_grad_()

        # Initialize cell state
        c0 = torch.zeros(self.layer_dim, x.size(0), self.hidden_dim).requires_grad_()

        # 28 time steps
        # We need to detach as we are doing truncated backpropagation through time (BPTT)
        # If we don't, we'll backprop all the way to the start even after going through another batch
        out, (hn, cn) = self.lstm(x, (h0.detach(), c0.detach()))

        # Index hidden state of last time step
        # out.size() --> 100, 28, 100
        # out[:, -1, :] --> 100, 100 --> just want last time step hidden states!
        out = self.fc(out[:, -1, :])
        # out.size() --> 100, 10
        return out


# --- Step 1: Load Dataset: load_digits in place of dsets.MNIST(transform=transforms.ToTensor()) -----------------------

def digits(raw_pixels: bool):
    """load_digits' 8x8 images as ToTensor would give them (0..16 -> 0..1); a fixed 1437/360 train/test split (the
    same for every seed). ``raw_pixels``: the images in 0..255 (x 255, no ToTensor scaling)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0  # (N, 1, 8, 8) like MNIST's (N, 1, 28, 28)
    if raw_pixels:
        x = x * 255.0
    y = torch.tensor(d.target, dtype=torch.long)
    itr, ite = train_test_split(np.arange(len(y)), test_size=360, random_state=0, stratify=d.target)
    return TensorDataset(x[itr], y[itr]), TensorDataset(x[ite], y[ite])


def test_accuracy(model, test_loader, seq_dim, input_dim):
    """Upstream's accuracy block (every 500 iterations), as a fraction instead of a percentage."""
    correct = 0
    total = 0
    with torch.no_grad():  # upstream runs it with autograd on; no_grad only saves CPU time
        # Iterate through test dataset
        for images, labels in test_loader:
            # Resize images
            images = images.view(-1, seq_dim, input_dim)

            # Forward pass only to get logits/output
            outputs = model(images)

            # Get predictions from the maximum value
            _, predicted = torch.max(outputs.data, 1)

            # Total number of labels
            total += labels.size(0)

            # Total correct predictions
            correct += (predicted == labels).sum()

    return float(correct) / total


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init_std: float | None = None,
          zero_init: bool = False, zero_grad: bool = True, softmax_before_ce: bool = False, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    train_dataset, test_dataset = digits(raw_pixels)

    # Step 2: Make Dataset Iterable
    batch_size = 100
    n_iters = 3000
    num_epochs = n_iters / (len(train_dataset) / batch_size)
    num_epochs = int(num_epochs)  # 208 epochs of 15 batches on the 1437 training digits (5 on MNIST's 60000)

    train_loader = torch.utils.data.DataLoader(dataset=train_dataset,
                                               batch_size=batch_size,
                                               shuffle=True)

    test_loader = torch.utils.data.DataLoader(dataset=test_dataset,
                                              batch_size=batch_size,
                                              shuffle=False)

    # Step 4: Instantiate Model Class
    input_dim = 8  # 28: a digit's row of 8 pixels per time step
    hidden_dim = 100
    layer_dim = 1
    output_dim = 10

    model = LSTMModel(input_dim, hidden_dim, layer_dim, output_dim)
    if init_std is not None or zero_init:  # the init variants: every weight (zero_init: every parameter)
        for name, p in model.named_parameters():
            if zero_init:
                nn.init.zeros_(p)
            elif "weight" in name:
                nn.init.normal_(p, std=init_std)

    # Step 5: Instantiate Loss Class
    criterion = nn.CrossEntropyLoss()

    # Step 6: Instantiate Optimizer Class
    learning_rate = 0.1 * lr_mult

    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    # Number of steps to unroll
    seq_dim = 8  # 28
    initial = test_accuracy(model, test_loader, seq_dim, input_dim)  # not upstream: the untrained model's accuracy

    # Step 7: Train Model
    losses, accs = [], []
    iter = 0  # noqa: A001
    for epoch in range(num_epochs):  # noqa: B007
        for i, (images, labels) in enumerate(train_loader):  # noqa: B007
            # Load images as a torch tensor with gradient accumulation abilities
            images = images.view(-1, seq_dim, input_dim).requires_grad_()

            # Clear gradients w.r.t. parameters
            if zero_grad:  # the no_zero_grad variant leaves this line out
                optimizer.zero_grad()

            # Forward pass to get output/logits
            # outputs.size() --> 100, 10
            outputs = model(images)
            if softmax_before_ce:  # the wrong_loss variant: probabilities into CrossEntropyLoss
                outputs = torch.softmax(outputs, dim=1)

            # Calculate Loss: softmax --> cross entropy loss
            loss = criterion(outputs, labels)

            # Getting gradients w.r.t. parameters
            loss.backward()
            monitor.step(loss)  # gradmedic

            # Updating parameters
            optimizer.step()
            losses.append(loss.item())

            iter += 1  # noqa: A001

            if iter % 500 == 0:
                # Calculate Accuracy
                accuracy = test_accuracy(model, test_loader, seq_dim, input_dim)
                accs.append(accuracy)

                # Print Loss
                if verbose:
                    print('Iteration: {}. Loss: {}. Accuracy: {}'.format(iter, loss.item(), 100 * accuracy))  # noqa: UP032
    monitor.close()
    value = test_accuracy(model, test_loader, seq_dim, input_dim)  # the model after the last iteration
    tl = float(np.mean(losses[-20:]))
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": value,
            "initial": initial, "initial_what": "untrained: held-out accuracy on the 360 test digits", "chance": 0.1,
            "extra": {"train_loss": tl if math.isfinite(tl) else float("nan"),
                      "initial_train_loss": float(np.mean(losses[:5])), "acc_every_500": accs, "steps": len(losses),
                      "epochs": num_epochs, "lr": learning_rate,
                      "n_params": sum(p.numel() for p in model.parameters())},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="dlwlstm", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_W = ("Model A LSTM (input 8, hidden 100, 1 layer, CrossEntropyLoss, SGD lr 0.1, batch 100, 208 epochs = 3120 "
      "iterations on 8x8 digits read row by row)")
CASES: list[dict] = (
    [_case(f"dlwlstm_healthy_s{s}", "healthy", s, {}, f"{_W}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"dlwlstm_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_W}: learning_rate x{k} ({0.1 * k:g})")
       for k, ss in ((2, (1,)), (10, (1, 2)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case(f"dlwlstm_lr_div1000_s{s}", "lr_low", s, {"lr_mult": 1e-3}, f"{_W}: learning_rate /1000 (0.0001)")
       for s in (1, 2)]
    + [_case(f"dlwlstm_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             f"{_W}: raw 0..255 pixel values (no ToTensor scaling), training and test") for s in (1, 2)]
    + [_case(f"dlwlstm_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_W}: nn.init.normal_(std=1.0) on every LSTM and fc weight (default uniform +-0.1; biases kept)")
       for s in (1, 2)]
    + [_case("dlwlstm_zero_init_s1", "symmetric_init", 1, {"zero_init": True},
             f"{_W}: nn.init.zeros_ on every parameter (LSTM weights and biases, fc)")]
    + [_case("dlwlstm_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_W}: optimizer.zero_grad() left out: the gradients accumulate")]
    + [_case(f"dlwlstm_softmax_ce_s{s}", "wrong_loss", s, {"softmax_before_ce": True},
             f"{_W}: torch.softmax(outputs, dim=1) before nn.CrossEntropyLoss") for s in (1, 2)]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
