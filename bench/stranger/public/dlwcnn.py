"""Deep Learning Wizard's convolutional network on MNIST (practical_pytorch/pytorch_convolutional_neuralnetwork,
"Model A": two same-padded 5x5 convolutions (16 and 32 channels) with ReLU, each followed by 2x2 max pooling, one
Linear readout; CrossEntropyLoss, SGD lr 0.01, batch 100, n_iters 3000), on load_digits at 8x8, watched by gradmedic.

Adapted from https://github.com/ritchieng/deep-learning-wizard (commit e4ce284aac5487c86cdef223e669e76cf0c823f0,
docs/deep_learning/practical_pytorch/pytorch_convolutional_neuralnetwork.md, section "Model A" (the CPU version);
one init variant from docs/deep_learning/boosting_models_pytorch/weight_initialization_activation_functions.md; MIT
License, Copyright (c) 2018-2023 Ritchie Ng, see LICENSE-dlwcnn).  dlwlstm.py and dlwfnn.py port the same site's
LSTM and feedforward pages with the same conventions.

Kept as upstream: the CNNModel class (code and comments: cnn1 Conv2d(1, 16, 5, stride 1, padding 2), relu1,
maxpool1 MaxPool2d(2), cnn2 Conv2d(16, 32, 5, stride 1, padding 2), relu2, maxpool2 MaxPool2d(2), view, fc1 readout),
PyTorch's default initialization, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.01) (no momentum),
batch_size 100, num_epochs = int(n_iters / (len(train_dataset) / batch_size)), the shuffling train loader, the loop
(images.requires_grad_(), zero_grad, forward, loss, backward, step) and the test-accuracy block every 500
iterations (its print behind verbose).

Changed for running offline on one CPU thread: MNIST (torchvision, which does not import here) -> scikit-learn's
load_digits, 8x8 images (N, 1, 8, 8) scaled to 0..1 as ToTensor would (pixel / 16), a fixed stratified 1437/360
train/test split (random_state 0, the same for every seed).  The network runs on the 8x8 images themselves (no
upsampling to 28x28, which would cost about 12x the compute): the same-padded convolutions keep the size and the two
pools give 8 -> 4 -> 2, so the readout is nn.Linear(32 * 2 * 2, 10) instead of nn.Linear(32 * 7 * 7, 10); nothing
else in the model changes.  n_iters 1500 instead of 3000 (half, to keep a run near 10-30 s on a shared 2-core
machine; about 25 s of CPU for a healthy run), so num_epochs comes out as 104 of 15 batches (1560 iterations) instead
of 5 of 600 (upstream's MNIST run is at 94% at iteration 1500).  torch.manual_seed(seed) first (upstream does not
seed); the accuracy block runs under no_grad and returns a fraction; the outcome is that accuracy on the 360 test
digits after the last iteration.  The He-init variant takes its line from the site's "Weight Initializations &
Activation Functions" page (nn.init.kaiming_normal_(weight), there on Linear layers; here on cnn1, cnn2 and fc1,
biases kept), without that page's momentum/StepLR.

The watch, as a user would add it: gradmedic.watch(model, optimizer, every=10) right after the SGD optimizer is
built; monitor.step(loss) right after loss.backward(), before optimizer.step(); monitor.close() after the loop.

CASES (program "dlwcnn"; each variant one change against the same seed's healthy run): the program unchanged on
seeds 1-3; learning_rate x2 (0.02), x100 (1.0, seeds 1 and 2), x1000 (10, seeds 1 and 2), /1000 (1e-5); raw 0..255
pixels (no ToTensor scaling); normal_ std 1e-3 on every weight (init_small); zeros on every weight and bias
(symmetric_init); the init page's He Initialization (kaiming_normal_, cause "healthy": expected harmless);
optimizer.zero_grad() left out; softmax before CrossEntropyLoss.  Tried and not carried: the init page's Normal
Initialization (normal_ std 1 on every weight): 0.900 test accuracy on seed 1 (2.8 points below its control) with
first losses ~390 and up to 822, ambiguous by run.py's rules; lr x10 (0.1): 0.975 on seed 1, left out for time (lr x2
and x100 are already harmless); no clipping and a deep sigmoid stack do not apply to this net.

Recorded (bench/stranger/cases-public41/public, 15 cases, 9-43 s each (the longer ones while dlwfnn ran beside them),
240 s in all; test accuracy on the 360 digits, chance 0.1; first loss = mean of the first 5 steps): healthy seeds 1-3:
0.928, 0.933, 0.939 (train loss 2.30 -> 0.29, largest loss 2.32): healthy.  lr x2: 0.956, healthy.  lr x100 (1.0):
largest losses 3.05 and 2.94, train loss 3e-4, 0.975 and 0.964: healthy (the tutorial's 0.01 is slow for this
net).  lr x1000 (10): losses up to 9.4 and 4.2, then stuck at 2.3-2.4, 0.103 and 0.100: broken.  lr /1000: the loss
stays at 2.31, 0.089: broken.  Raw pixels: first losses ~176 (up to 837), then stuck at 2.29, 0.169: broken.  Normal
std 1e-3: the loss stays at 2.30, 0.100: broken.  Zero init: 2.30, 0.100: broken.  kaiming_normal_: first loss 2.56,
largest 2.86, 0.967: healthy.  No zero_grad: 0.936 at iteration 500, then the loss climbs to 1.2e4 and ends at 2.49,
0.100: broken.  Softmax before CrossEntropyLoss: the loss stays at 2.30, 0.122: broken.  Labels: 7 healthy (3
programs, lr x2, lr x100 on seeds 1 and 2, kaiming), 8 broken, 0 ambiguous.  Every recorded loss was finite.
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
ARCH = "cnn"
MONITOR_AT = ("watch(model, optimizer, every=10) right after torch.optim.SGD(model.parameters(), lr=learning_rate); "
              "monitor.step(loss) right after loss.backward(), before optimizer.step()")


# --- STEP 3: CREATE MODEL CLASS (upstream's Model A, code and comments; the readout sized for 8x8 digits) ----------

class CNNModel(nn.Module):
    def __init__(self):
        super(CNNModel, self).__init__()  # noqa: UP008

        # Convolution 1
        self.cnn1 = nn.Conv2d(in_channels=1, out_channels=16, kernel_size=5, stride=1, padding=2)
        self.relu1 = nn.ReLU()

        # Max pool 1
        self.maxpool1 = nn.MaxPool2d(kernel_size=2)

        # Convolution 2
        self.cnn2 = nn.Conv2d(in_channels=16, out_channels=32, kernel_size=5, stride=1, padding=2)
        self.relu2 = nn.ReLU()

        # Max pool 2
        self.maxpool2 = nn.MaxPool2d(kernel_size=2)

        # Fully connected 1 (readout)
        self.fc1 = nn.Linear(32 * 2 * 2, 10)  # 32 * 7 * 7 on 28x28 MNIST: 8x8 -> pool 4x4 -> pool 2x2 here

    def forward(self, x):
        # Convolution 1
        out = self.cnn1(x)
        out = self.relu1(out)

        # Max pool 1
        out = self.maxpool1(out)

        # Convolution 2
        out = self.cnn2(out)
        out = self.relu2(out)

        # Max pool 2
        out = self.maxpool2(out)

        # Resize
        # Original size: (100, 32, 7, 7) (here (100, 32, 2, 2))
        # out.size(0): 100
        # New out size: (100, 32*7*7) (here (100, 32*2*2))
        out = out.view(out.size(0), -1)

        # Linear function (readout)
        out = self.fc1(out)

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


def test_accuracy(model, test_loader):
    """Upstream's accuracy block (every 500 iterations), as a fraction instead of a percentage."""
    correct = 0
    total = 0
    with torch.no_grad():  # upstream runs it with autograd on (requires_grad_()); no_grad only saves CPU time
        # Iterate through test dataset
        for images, labels in test_loader:
            # Load images
            images = images.requires_grad_()  # as upstream (under no_grad here: no graph is built)

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
    model = CNNModel()
    if init != "default":  # the init variants, on cnn1, cnn2, fc1
        for layer in (model.cnn1, model.cnn2, model.fc1):
            if init == "normal":  # the init page's "Normal Initialization": nn.init.normal_(weight, mean=0, std=1)
                nn.init.normal_(layer.weight, mean=0, std=1)
            elif init == "kaiming":  # the init page's "He Initialization": nn.init.kaiming_normal_(weight)
                nn.init.kaiming_normal_(layer.weight)
            elif init == "small":  # normal_(std=1e-3) on every weight
                nn.init.normal_(layer.weight, mean=0, std=1e-3)
            elif init == "zero":  # every weight and bias zero
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)
            else:
                raise ValueError(init)

    '''
    STEP 5: INSTANTIATE LOSS CLASS
    '''
    criterion = nn.CrossEntropyLoss()

    '''
    STEP 6: INSTANTIATE OPTIMIZER CLASS
    '''
    learning_rate = 0.01 * lr_mult

    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    '''
    STEP 7: TRAIN THE MODEL
    '''
    losses, accs = [], []
    iter = 0  # noqa: A001
    for epoch in range(num_epochs):  # noqa: B007
        for i, (images, labels) in enumerate(train_loader):  # noqa: B007
            # Load images
            images = images.requires_grad_()

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
                accuracy = test_accuracy(model, test_loader)
                accs.append(accuracy)

                # Print Loss
                if verbose:
                    print('Iteration: {}. Loss: {}. Accuracy: {}'.format(iter, loss.item(), 100 * accuracy))  # noqa: UP032
    monitor.close()
    value = test_accuracy(model, test_loader)  # the model after the last iteration
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
    return dict(program="dlwcnn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_W = (f"Model A CNN (Conv 5x5 16, ReLU, MaxPool 2, Conv 5x5 32, ReLU, MaxPool 2, Linear 128-10, default init, "
      f"CrossEntropyLoss, SGD lr 0.01, batch 100, n_iters {N_ITERS} -> 104 epochs = 1560 iterations on 8x8 digits)")
CASES: list[dict] = (
    [_case(f"dlwcnn_healthy_s{s}", "healthy", s, {}, f"{_W}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"dlwcnn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_W}: learning_rate x{k} ({0.01 * k:g})")
       for k, ss in ((2, (1,)), (100, (1, 2)), (1000, (1, 2))) for s in ss]
    + [_case("dlwcnn_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_W}: learning_rate /1000 (1e-05)")]
    + [_case("dlwcnn_raw_pixels_s1", "unscaled_inputs", 1, {"raw_pixels": True},
             f"{_W}: raw 0..255 pixel values (no ToTensor scaling), training and test")]
    + [_case("dlwcnn_init_small_s1", "init_small", 1, {"init": "small"},
             f"{_W}: nn.init.normal_(weight, mean=0, std=1e-3) on cnn1, cnn2, fc1 (biases kept)")]
    + [_case("dlwcnn_zero_init_s1", "symmetric_init", 1, {"init": "zero"},
             f"{_W}: nn.init.zeros_ on every weight and bias")]
    + [_case("dlwcnn_init_kaiming_s1", "healthy", 1, {"init": "kaiming"},
             f"{_W}: the init page's He Initialization, nn.init.kaiming_normal_(weight) on cnn1, cnn2, fc1 "
             f"(expected harmless)")]
    + [_case("dlwcnn_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_W}: optimizer.zero_grad() left out: the gradients accumulate")]
    + [_case("dlwcnn_softmax_ce_s1", "wrong_loss", 1, {"softmax_before_ce": True},
             f"{_W}: torch.softmax(outputs, dim=1) before nn.CrossEntropyLoss")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
