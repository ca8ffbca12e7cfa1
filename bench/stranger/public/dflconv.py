"""dataflowr's first CNN (Module 6, 06_convolution_digit_recognizer_sol.ipynb, "5. Practicals: improving
classification with Convolutional Neural Net": the ``classifier`` with one Conv2d(1, 8, 3, padding=1), max pooling
to 4x4, Linear(128, 2) and log_softmax, nn.NLLLoss, Adam lr 1e-3, batch 64, the notebook's ``train`` loop), telling
eights from ones, on load_digits, watched by gradmedic.

Adapted from https://github.com/dataflowr/notebooks (commit 043dff0f792a5ae67005ba147f7b9dd5fc66e2a1, the newest
commit touching the file being 3e8f999e5c2891a0ea83bf3e6294a59f13070ffb; Module6/sol/06_convolution_digit_recognizer_sol.ipynb;
Apache License 2.0, see LICENSE-dflconv).  Picked because it is the course's first network trained with a plain
PyTorch loop on image data that has an offline stand-in (MNIST digits -> load_digits) and its task (8 vs 1) carries
over unchanged; dflae.py already ports Module 9's autoencoder.

Kept as upstream: the ``classifier`` class (conv1 = nn.Conv2d(in_channels=1, out_channels=8, kernel_size=3,
padding=1), F.max_pool2d, fc = nn.Linear(in_features=128, out_features=2), F.log_softmax(x, dim=1), no activation
between conv and pooling), PyTorch's default initialization, loss_fn = nn.NLLLoss(), torch.optim.Adam(
conv_class.parameters(), lr=1e-3), bs = 64 with shuffle, the two classes labelled eight -> 0 and one -> 1, the first
digits of each class held out as the test set (upstream: the first 1000 of each), inputs in 0..1 (upstream /255), the
notebook's ``train`` loop (model.train(True); per batch: outputs = model(inputs), loss = loss_fn(outputs, labels),
optimizer.zero_grad(), loss.backward(), optimizer.step(); running loss and accuracy) and its ``test`` (accuracy of
torch.max(outputs, 1)).

Changed for running offline on one CPU thread: MNIST (torchvision) -> scikit-learn's load_digits, 8x8 images in
0..16 divided by 16 (as upstream divides by 255); the eights (174) and ones (182) in dataset order, the first 60 of
each class held out as the test set (120 images, the same for every seed; upstream 1000 of each out of ~5900 and
~6700), the rest (236 images) for training.  As the images are 8x8 instead of 28x28, F.max_pool2d(x, 7) becomes
F.max_pool2d(x, 2), which keeps the notebook's 4x4x8 = 128 features and Linear(128, 2).  Upstream trains 10 + 10
epochs over ~10600 images (~3300 steps); here 200 epochs of 4 batches (800 steps).  The notebook's ``train`` is
renamed ``train_model`` (this module's ``train`` is the benchmark's entry point), takes the monitor and returns the
per-step losses; its prints are behind verbose.  torch.manual_seed(seed) first (upstream unseeded).  The outcome is
the test accuracy on the 120 held-out digits (chance 0.5).

The watch, as a user would add it: gradmedic.watch(conv_class, optimizer_cl, every=10) right after the Adam optimizer
is built; monitor.step(loss) in train_model right after loss.backward(), before optimizer.step(); monitor.close()
after training.

Variants (each one change against the same seed's healthy run): Adam lr x10 (0.01), x100 (0.1, seeds 1 and 2),
/1000 (1e-6); raw 0..255 pixel values (the digits x255/16, no /255 scaling); nn.init.normal_(std=1) on both weights
and biases; nn.init.zeros_ on every weight and bias; optimizer.zero_grad() left out; F.log_softmax left out of
forward, so nn.NLLLoss gets the raw scores (wrong_loss); and two changes expected harmless: Adam lr x2 (0.002), and
nn.CrossEntropyLoss on the log_softmax output (log_softmax applied twice, which changes nothing; cause healthy).

Recorded (cases-public58, 14 runs, 2-6 s each; test accuracy on the 120 held-out digits, chance 0.5; "train" is the
mean loss of the last 8 steps, "max" the largest step loss): healthy seeds 1-3: 0.992, 0.983, 0.992 (train loss 0.69
-> 0.032-0.038, largest 0.72, every loss finite): healthy.  lr x10: 0.992 (train 0.0005): healthy.  lr x100: 0.992
and 0.992 (first losses 1.0 and 1.2, max 2.7 and 1.75, train 1e-4): ambiguous (a good outcome, but the loss rose to
more than twice the control's largest on the way).  lr /1000: 0.533 (the loss stays at 0.70): broken.  Raw 0..255
pixels: 0.942 (first losses 17.7, max 25.6, train 5e-4): ambiguous.  normal_(std=1): 0.900 (first 7.3, train 0.12):
ambiguous (9 points under the control, short of the 10 that make "broken").  Zero init: 0.500 (stuck at 0.693):
broken.  No zero_grad: 0.992 (train 0.086): healthy (with Adam the accumulated gradient did no harm here).  No
log_softmax before NLLLoss: 0.783 (the loss runs off to -980): broken.  lr x2: 0.992: healthy.  CrossEntropyLoss on
log_softmax: 0.992, the same run as healthy_s1: healthy.  Labels: 7 healthy (3 programs, 4 variants), 3 broken,
4 ambiguous; no non-finite loss.  The task (eight vs one) is easy, so several changes did no harm.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(conv_class, optimizer_cl, every=10) right after torch.optim.Adam(conv_class.parameters(), "
              "lr=1e-3); monitor.step(loss) in train_model right after loss.backward(), before optimizer.step()")


# --- the notebook's cells (code and comments as upstream) ------------------------------------------------------------

class classifier(nn.Module):  # noqa: N801

    def __init__(self, log_softmax=True):
        super(classifier, self).__init__()  # noqa: UP008
        # fill the missing entries below
        self.conv1 = nn.Conv2d(in_channels=1, out_channels=8, kernel_size=3, padding=1)
        self.fc = nn.Linear(in_features=128, out_features=2)
        self.log_softmax = log_softmax  # the wrong_loss variant sets it False

    def forward(self, x):
        # implement your network here, use F.max_pool2d, F.log_softmax and do not forget to flatten your vector
        x = self.conv1(x)
        x = F.max_pool2d(x, 2)  # upstream: F.max_pool2d(x,7) on 28x28 images
        x = self.fc(torch.flatten(x, start_dim=1))
        if not self.log_softmax:
            return x
        return F.log_softmax(x, dim=1)


def train_model(model, data_loader, loss_fn, optimizer, n_epochs=1, monitor=None, zero_grad=True, losses=None,
                verbose=False):
    model.train(True)
    loss_train = np.zeros(n_epochs)
    acc_train = np.zeros(n_epochs)
    for epoch_num in range(n_epochs):
        running_corrects = 0.0
        running_loss = 0.0
        size = 0

        for data in data_loader:
            inputs, labels = data
            bs = labels.size(0)
            outputs = model(inputs)
            loss = loss_fn(outputs, labels)
            if zero_grad:  # the no_zero_grad variant leaves this line out
                optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())
            _, preds = torch.max(outputs, 1)
            running_corrects += torch.sum(preds == labels)
            running_loss += loss.data
            size += bs
        epoch_loss = running_loss.item() / size
        epoch_acc = running_corrects.item() / size
        loss_train[epoch_num] = epoch_loss
        acc_train[epoch_num] = epoch_acc
        if verbose and epoch_num % 20 == 0:
            print('Train - Loss: {:.4f} Acc: {:.4f}'.format(epoch_loss, epoch_acc))  # noqa: UP032
    return loss_train, acc_train


def test(model, data_loader, loss_fn):
    model.train(False)

    running_corrects = 0.0
    running_loss = 0.0
    size = 0

    with torch.no_grad():
        for data in data_loader:
            inputs, labels = data

            bs = labels.size(0)
            outputs = model(inputs)
            loss = loss_fn(outputs, labels)

            _, preds = torch.max(outputs, 1)
            running_corrects += torch.sum(preds == labels)
            running_loss += loss.data
            size += bs

    return running_loss.item() / size, running_corrects.item() / size


# --- data: load_digits' eights and ones in place of MNIST's ----------------------------------------------------------

def eights_and_ones(pixel_scale: float):
    """The notebook's eights_dataset / ones_dataset from load_digits (pixel / 16 * pixel_scale): the first 60 of each
    class are the test set, the rest the training set (eight -> label 0, one -> label 1)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    images = d.images.astype(np.float32) / 16 * pixel_scale  # upstream: train_set.data.numpy().astype(np.float32)/255
    labels = d.target
    n = len(images)
    eights = [images[i] for i in range(n) if labels[i] == 8]
    ones = [images[i] for i in range(n) if labels[i] == 1]
    l8 = np.array(0)
    eights_dataset = [[torch.from_numpy(e.astype(np.float32)).unsqueeze(0), torch.from_numpy(l8.astype(np.int64))]
                      for e in eights]
    l1 = np.array(1)
    ones_dataset = [[torch.from_numpy(e.astype(np.float32)).unsqueeze(0), torch.from_numpy(l1.astype(np.int64))]
                    for e in ones]
    train_dataset = eights_dataset[60:] + ones_dataset[60:]  # upstream [1000:]
    test_dataset = eights_dataset[:60] + ones_dataset[:60]  # upstream [:1000]
    return train_dataset, test_dataset


def train(seed: int = 1, lr_mult: float = 1.0, pixel_scale: float = 1.0, init: str = "default",
          zero_grad: bool = True, log_softmax: bool = True, ce_loss: bool = False, n_epochs: int = 200,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    train_dataset, test_dataset = eights_and_ones(pixel_scale)
    bs = 64
    train_loader = torch.utils.data.DataLoader(train_dataset, batch_size=bs, shuffle=True)
    test_loader = torch.utils.data.DataLoader(test_dataset, batch_size=bs, shuffle=True)

    conv_class = classifier(log_softmax=log_softmax)
    for m in conv_class.modules():  # the init variants (not upstream)
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            if init == "std1":
                nn.init.normal_(m.weight, std=1.0)
                nn.init.normal_(m.bias, std=1.0)
            elif init == "zero":
                nn.init.zeros_(m.weight)
                nn.init.zeros_(m.bias)
            elif init != "default":
                raise ValueError(init)
    # choose the appropriate loss
    loss_fn = nn.CrossEntropyLoss() if ce_loss else nn.NLLLoss()
    # your SGD optimizer
    learning_rate = 1e-3 * lr_mult
    optimizer_cl = torch.optim.Adam(conv_class.parameters(), lr=learning_rate)
    monitor = gradmedic.watch(conv_class, optimizer_cl, every=every)  # gradmedic
    losses: list[float] = []
    l_t, a_t = train_model(conv_class, train_loader, loss_fn, optimizer_cl, n_epochs=n_epochs, monitor=monitor,
                           zero_grad=zero_grad, losses=losses, verbose=verbose)
    monitor.close()
    test_loss, acc = test(conv_class, test_loader, loss_fn)
    tl = float(np.mean(losses[-8:]))
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc), "chance": 0.5,
            "initial": None, "initial_what": "chance accuracy 0.5 (eight vs one)",
            "extra": dict(train_loss=tl, first_loss=float(np.mean(losses[:5])), max_loss=float(np.nanmax(losses)),
                          finite_losses=bool(np.isfinite(losses).all()), steps=len(losses), epochs=n_epochs,
                          lr=learning_rate, lr_mult=lr_mult, pixel_scale=pixel_scale, init=init,
                          zero_grad=zero_grad, log_softmax=log_softmax, ce_loss=ce_loss, test_loss=test_loss,
                          train_acc_last_epoch=float(a_t[-1])),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="dflconv", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_W = ("classifier (Conv2d(1, 8, 3, padding=1), max_pool2d 2, Linear(128, 2), log_softmax), NLLLoss, Adam lr 1e-3, "
      "batch 64, 200 epochs = 800 steps on load_digits' eights vs ones")
CASES: list[dict] = (
    [_case(f"dflconv_healthy_s{s}", "healthy", s, {}, f"{_W}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"dflconv_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_W}: Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("dflconv_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_W}: Adam lr /1000 (1e-6)")]
    + [_case("dflconv_raw_pixels_s1", "unscaled_inputs", 1, {"pixel_scale": 255.0},
             f"{_W}: raw 0..255 pixel values (the digits x255/16; the notebook's /255 left out)")]
    + [_case("dflconv_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_W}: nn.init.normal_(std=1.0) on the weight and bias of conv1 and fc")]
    + [_case("dflconv_zero_init_s1", "symmetric_init", 1, {"init": "zero"},
             f"{_W}: nn.init.zeros_ on the weight and bias of conv1 and fc")]
    + [_case("dflconv_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_W}: optimizer.zero_grad() left out: the gradients accumulate")]
    + [_case("dflconv_no_log_softmax_s1", "wrong_loss", 1, {"log_softmax": False},
             f"{_W}: F.log_softmax left out of forward: NLLLoss gets the raw scores")]
    + [_case("dflconv_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_W}: Adam lr x2 (0.002), expected harmless")]
    + [_case("dflconv_ce_s1", "healthy", 1, {"ce_loss": True},
             f"{_W}: nn.CrossEntropyLoss on the log_softmax output (log_softmax twice, the same loss)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
