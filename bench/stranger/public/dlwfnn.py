"""Deep Learning Wizard's feedforward network on MNIST (practical_pytorch/pytorch_feedforward_neuralnetwork, "Model D:
2 Hidden Layer Feedforward Neural Network (ReLU Activation)": Linear 784-100-100-10 with ReLU, CrossEntropyLoss, SGD
lr 0.1, batch 100, n_iters 3000), on load_digits, watched by gradmedic.

Adapted from https://github.com/ritchieng/deep-learning-wizard (commit e4ce284aac5487c86cdef223e669e76cf0c823f0,
docs/deep_learning/practical_pytorch/pytorch_feedforward_neuralnetwork.md, section "Model D"; two init variants from
docs/deep_learning/boosting_models_pytorch/weight_initialization_activation_functions.md; MIT License, Copyright (c)
2018-2023 Ritchie Ng, see LICENSE-dlwfnn).  dlwlstm.py ports the same site's LSTM page with the same conventions.

Kept as upstream: the FeedforwardNeuralNetModel class of Model D (code and comments: fc1, relu1, fc2, relu2, fc3
readout), hidden_dim 100, output_dim 10, PyTorch's default nn.Linear initialization, nn.CrossEntropyLoss(),
torch.optim.SGD(model.parameters(), lr=0.1) (no momentum), batch_size 100, num_epochs = int(n_iters /
(len(train_dataset) / batch_size)), the shuffling train loader, the loop (images.view(-1, input_dim).requires_grad_(),
zero_grad, forward, loss, backward, step) and the test-accuracy block every 500 iterations (its print behind verbose).

Changed for running offline on one CPU thread: MNIST (torchvision, which does not import here) -> scikit-learn's
load_digits, 8x8 images scaled to 0..1 as ToTensor would (pixel / 16), a fixed stratified 1437/360 train/test split
(random_state 0, the same for every seed); so input_dim = 8*8 = 64 instead of 28*28.  n_iters 1500 instead of 3000
(half, to keep a run short on a shared 2-core machine; dlwcnn.py uses the same), so num_epochs comes out as 104 of 15
batches (1560 iterations) instead of 5 of 600.  torch.manual_seed(seed) first (upstream does not seed); the accuracy
block runs under no_grad and returns a fraction; the outcome is that accuracy on the 360 test digits after the last
iteration.  The init variants take their lines from the site's "Weight Initializations & Activation Functions" page
(nn.init.normal_(weight, mean=0, std=1), nn.init.kaiming_normal_(weight), on every Linear, biases kept), without that
page's momentum/StepLR (they are not part of Model D).

The watch, as a user would add it: gradmedic.watch(model, optimizer, every=10) right after the SGD optimizer is
built; monitor.step(loss) right after loss.backward(), before optimizer.step(); monitor.close() after the loop.

CASES (program "dlwfnn"; each variant one change against the same seed's healthy run): the program unchanged on
seeds 1-3; learning_rate x2 (0.2, expected harmless, cause lr_high), x10 (1.0, seed 2), x100 (10, seeds 1 and 2),
/1000 (1e-4); raw 0..255 pixels (no ToTensor scaling); the init page's Normal Initialization (normal_ std 1 on every
weight, seeds 1 and 2, cause init_large); normal_ std 1e-3 on every weight (init_small); zeros on every weight and
bias (symmetric_init); the init page's He Initialization (kaiming_normal_, cause "healthy": expected harmless);
optimizer.zero_grad() left out; softmax before CrossEntropyLoss (seed 2, wrong_loss).  Tried and not carried: lr x10
on seed 1 (0.964 test accuracy, but losses up to 5.56 against its control's 2.31: ambiguous by run.py's rules), so
the x10 case uses seed 2; no clipping and a deep sigmoid stack do not apply to this two-hidden-layer ReLU net.

Recorded (bench/stranger/cases-public41/public, 16 cases, 4-14 s each, 113 s in all; test accuracy on the 360
digits, chance 0.1; first loss = mean of the first 5 steps): healthy seeds 1-3: 0.967, 0.958, 0.967 (train loss 2.30
-> 0.030-0.037, largest loss 2.31; upstream's MNIST run reaches 96% at iteration 3000): healthy.  lr x2: 0.969,
healthy.  lr x10 (seed 2): losses up to 8.9, train loss 0.85, 0.656: broken.  lr x100: first losses 25 and 72, up to
2e4 and 666, then stuck at 2.3 (every loss finite), 0.100 and 0.100: broken.  lr /1000: the loss stays at 2.30,
0.103: broken.  Raw pixels: first losses ~5e3 (up to 2.2e4), then stuck at 2.30, 0.100: broken.  Normal std 1: first
losses ~400-470 (up to 1.1e3), train loss 0.009 and 0.20, 0.850 and 0.839 (11.7 and 11.9 points below): broken.
Normal std 1e-3: the loss stays at 2.30, 0.100: broken.  Zero init: 2.30, 0.103: broken.  kaiming_normal_: first loss
2.16, 0.967: healthy.  No zero_grad: the loss climbs to 22.5 and ends at 3.45, 0.100: broken.  Softmax before
CrossEntropyLoss: train loss 2.30 -> 1.62, 0.853 (10.5 points below 0.958): broken.  Labels: 5 healthy (3 programs,
lr x2, kaiming), 11 broken, 0 ambiguous.  Every recorded loss was finite.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import TensorDataset

import gradmedic

N_ITERS = 1500  # upstream: 3000
ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) right after torch.optim.SGD(model.parameters(), lr=learning_rate); "
              "monitor.step(loss) right after loss.backward(), before optimizer.step()")


# --- STEP 3: CREATE MODEL CLASS (upstream's Model D, code and comments) -------------------------------------------

class FeedforwardNeuralNetModel(nn.Module):
    def __init__(self, input_dim, hidden_dim, output_dim):
        super(FeedforwardNeuralNetModel, self).__init__()  # noqa: UP008
        # Linear function 1: 784 --> 100
        self.fc1 = nn.Linear(input_dim, hidden_dim)
        # Non-linearity 1
        self.relu1 = nn.ReLU()

        # Linear function 2: 100 --> 100
        self.fc2 = nn.Linear(hidden_dim, hidden_dim)
        # Non-linearity 2
        self.relu2 = nn.ReLU()

        # Linear function 3 (readout): 100 --> 10
        self.fc3 = nn.Linear(hidden_dim, output_dim)

    def forward(self, x):
        # Linear function 1
        out = self.fc1(x)
        # Non-linearity 1
        out = self.relu1(out)

        # Linear function 2
        out = self.fc2(out)
        # Non-linearity 2
        out = self.relu2(out)

        # Linear function 3 (readout)
        out = self.fc3(out)
        return out


# --- STEP 1: LOADING DATASET (MNIST -> load_digits, as transforms.ToTensor() would give it) -------------------------

def digits(raw_pixels: bool):
    """load_digits' 8x8 images scaled as ToTensor would (0..16 -> 0..1); a fixed stratified 1437/360 train/test split
    (the same for every seed). ``raw_pixels``: the images in 0..255 (x 255, no ToTensor scaling)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0  # (N, 1, 8, 8) like MNIST's (N, 1, 28, 28)
    if raw_pixels:
        x = x * 255.0
    y = torch.tensor(d.target, dtype=torch.long)
    itr, ite = train_test_split(np.arange(len(y)), test_size=360, random_state=0, stratify=d.target)
    return TensorDataset(x[itr], y[itr]), TensorDataset(x[ite], y[ite])


def test_accuracy(model, test_loader, input_dim):
    """Upstream's accuracy block (every 500 iterations), as a fraction instead of a percentage."""
    correct = 0
    total = 0
    with torch.no_grad():  # upstream runs it with autograd on (requires_grad_()); no_grad only saves CPU time
        # Iterate through test dataset
        for images, labels in test_loader:
            # Load images
            images = images.view(-1, input_dim)

            # Forward pass only to get logits/output
            outputs = model(images)

            # Get predictions from the maximum value
            _, predicted = torch.max(outputs.data, 1)

            # Total number of labels
            total += labels.size(0)

            # Total correct predictions
            correct += (predicted == labels).sum()

    return float(correct) / total


def train(seed: int = 1, lr_mult: float = 1.0, raw_pixels: bool = False, init: str = "default",
          zero_grad: bool = True, softmax_before_ce: bool = False, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    train_dataset, test_dataset = digits(raw_pixels)

    '''
    STEP 2: MAKING DATASET ITERABLE
    '''
    batch_size = 100
    n_iters = N_ITERS
    num_epochs = n_iters / (len(train_dataset) / batch_size)
    num_epochs = int(num_epochs)  # 104 epochs of 15 batches (1560 iterations) on the 1437 training digits (5 epochs on MNIST)

    train_loader = torch.utils.data.DataLoader(dataset=train_dataset,
                                               batch_size=batch_size,
                                               shuffle=True)

    test_loader = torch.utils.data.DataLoader(dataset=test_dataset,
                                              batch_size=batch_size,
                                              shuffle=False)

    '''
    STEP 4: INSTANTIATE MODEL CLASS
    '''
    input_dim = 8 * 8  # 28*28
    hidden_dim = 100
    output_dim = 10

    model = FeedforwardNeuralNetModel(input_dim, hidden_dim, output_dim)
    if init != "default":  # the init variants, on fc1, fc2, fc3
        for fc in (model.fc1, model.fc2, model.fc3):
            if init == "normal":  # the init page's "Normal Initialization": nn.init.normal_(weight, mean=0, std=1)
                nn.init.normal_(fc.weight, mean=0, std=1)
            elif init == "kaiming":  # the init page's "He Initialization": nn.init.kaiming_normal_(weight)
                nn.init.kaiming_normal_(fc.weight)
            elif init == "small":  # normal_(std=1e-3) on every weight
                nn.init.normal_(fc.weight, mean=0, std=1e-3)
            elif init == "zero":  # every weight and bias zero
                nn.init.zeros_(fc.weight)
                nn.init.zeros_(fc.bias)
            else:
                raise ValueError(init)

    '''
    STEP 5: INSTANTIATE LOSS CLASS
    '''
    criterion = nn.CrossEntropyLoss()

    '''
    STEP 6: INSTANTIATE OPTIMIZER CLASS
    '''
    learning_rate = 0.1 * lr_mult

    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    '''
    STEP 7: TRAIN THE MODEL
    '''
    losses, accs = [], []
    iter = 0  # noqa: A001
    for epoch in range(num_epochs):  # noqa: B007
        for i, (images, labels) in enumerate(train_loader):  # noqa: B007
            # Load images with gradient accumulation capabilities
            images = images.view(-1, input_dim).requires_grad_()
            labels = labels  # noqa: PLW0127

            # Clear gradients w.r.t. parameters
            if zero_grad:  # the no_zero_grad variant leaves this line out
                optimizer.zero_grad()

            # Forward pass to get output/logits
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
                accuracy = test_accuracy(model, test_loader, input_dim)
                accs.append(accuracy)

                # Print Loss
                if verbose:
                    print('Iteration: {}. Loss: {}. Accuracy: {}'.format(iter, loss.item(), 100 * accuracy))  # noqa: UP032
    monitor.close()
    value = test_accuracy(model, test_loader, input_dim)  # the model after the last iteration
    tl = float(np.mean(losses[-20:]))
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": value, "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": {"train_loss": tl if math.isfinite(tl) else float("nan"),
                      "first_loss": float(np.mean(losses[:5])), "max_loss": float(np.nanmax(losses)),
                      "finite_losses": bool(np.isfinite(losses).all()), "acc_every_500": ",".join(f"{a:.4f}" for a in accs),
                      "steps": len(losses), "epochs": num_epochs, "lr": learning_rate, "lr_mult": lr_mult,
                      "raw_pixels": raw_pixels, "init": init, "zero_grad": zero_grad,
                      "softmax_before_ce": softmax_before_ce},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="dlwfnn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_W = (f"Model D FNN (Linear 64-100-100-10, ReLU, default init, CrossEntropyLoss, SGD lr 0.1, batch 100, n_iters "
      f"{N_ITERS} -> 104 epochs = 1560 iterations on 8x8 digits)")
CASES: list[dict] = (
    [_case(f"dlwfnn_healthy_s{s}", "healthy", s, {}, f"{_W}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"dlwfnn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_W}: learning_rate x{k} ({0.1 * k:g})")
       for k, ss in ((2, (1,)), (10, (2,)), (100, (1, 2))) for s in ss]
    + [_case("dlwfnn_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_W}: learning_rate /1000 (0.0001)")]
    + [_case("dlwfnn_raw_pixels_s1", "unscaled_inputs", 1, {"raw_pixels": True},
             f"{_W}: raw 0..255 pixel values (no ToTensor scaling), training and test")]
    + [_case(f"dlwfnn_init_normal_s{s}", "init_large", s, {"init": "normal"},
             f"{_W}: the init page's Normal Initialization, nn.init.normal_(weight, mean=0, std=1) on fc1, fc2, fc3 "
             f"(biases kept)") for s in (1, 2)]
    + [_case("dlwfnn_init_small_s1", "init_small", 1, {"init": "small"},
             f"{_W}: nn.init.normal_(weight, mean=0, std=1e-3) on fc1, fc2, fc3 (biases kept)")]
    + [_case("dlwfnn_zero_init_s1", "symmetric_init", 1, {"init": "zero"},
             f"{_W}: nn.init.zeros_ on every weight and bias")]
    + [_case("dlwfnn_init_kaiming_s1", "healthy", 1, {"init": "kaiming"},
             f"{_W}: the init page's He Initialization, nn.init.kaiming_normal_(weight) on fc1, fc2, fc3 "
             f"(expected harmless)")]
    + [_case("dlwfnn_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_W}: optimizer.zero_grad() left out: the gradients accumulate")]
    + [_case("dlwfnn_softmax_ce_s2", "wrong_loss", 2, {"softmax_before_ce": True},
             f"{_W}: torch.softmax(outputs, dim=1) before nn.CrossEntropyLoss")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
