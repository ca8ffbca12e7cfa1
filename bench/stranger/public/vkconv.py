"""vinhkhuc's PyTorch-Mini-Tutorials "Convolutional Neural Network" (ConvNet, SGD momentum, digits), watched by gradmedic.

Adapted from https://github.com/vinhkhuc/PyTorch-Mini-Tutorials (commit bb967869a6ad2c3919b67b0623ce33e36349d413,
5_convolutional_net.py; the repository has no licence file, see LICENSE-vkconv).  Kept as upstream has it: ``ConvNet``
(``conv`` Sequential: ``Conv2d(1, 10, kernel_size=5)``, ``MaxPool2d(2)``, ReLU, ``Conv2d(10, 20, kernel_size=5)``,
``Dropout()``, ``MaxPool2d(2)``, ReLU; ``x.view(-1, 320)``; ``fc`` Sequential: ``Linear(320, 50)``, ReLU,
``Dropout()``, ``Linear(50, 10)``; PyTorch's default init), ``torch.nn.CrossEntropyLoss`` with mean reduction,
``optim.SGD(model.parameters(), lr=0.01, momentum=0.9)``, batch_size 100, the fixed, unshuffled batch order
``trX[k * batch_size:(k + 1) * batch_size]`` over ``n_examples // batch_size`` batches an epoch, upstream's
``train(model, loss, optimizer, x_val, y_val)`` (``model.train()``, ``optimizer.zero_grad()``, forward,
``loss.forward(fx, y)``, ``output.backward()``, ``optimizer.step()``) and ``predict(model, x_val)``
(``model.eval()``, argmax), the test accuracy after each epoch.

Changed to run offline on one CPU thread: MNIST (upstream's ``load_mnist`` downloads it; pixels/255, reshaped to
1x28x28) is replaced by scikit-learn's bundled ``load_digits`` (1797 8x8 images, 16 grey levels) scaled the same way
(pixels/16), each image enlarged 3x by pixel repetition (``np.kron``, 24x24) and zero-padded by 2 to 28x28 (MNIST's
20x20 digit in a 28x28 frame, roughly), so the network is upstream's unchanged (its 320 = 20x4x4 features kept); a
stratified split by the run's seed, 1347 training and 450 test images (upstream: MNIST's fixed 60000/10000);
EPOCHS epochs of 13 batches (upstream: 20 epochs of 600); ``torch.manual_seed(seed)`` (upstream: 42);
``Variable`` wrappers dropped (no-ops); the per-epoch print only with ``verbose``.  Knobs (one per variant):
``lr_mult`` scales SGD's lr; ``init_std`` draws every weight from N(0, init_std) (biases kept); ``pixel_scale``
multiplies the scaled pixels; ``zero_grad=False`` leaves ``optimizer.zero_grad()`` out; ``softmax=True`` applies
``torch.softmax(dim=1)`` to the model's output before CrossEntropyLoss; ``fc1_bias`` fills fc1's bias with a
constant; ``batch_size`` replaces 100.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(output)`` inside upstream's ``train`` right after ``output.backward()``, before
``optimizer.step()``; ``monitor.close()`` after the loop.  Metric "accuracy": ``predict`` on the 450 test images
after the last epoch.

``CASES`` (program "vkconv"): the program on seeds 1-3 (three splits), and one change each against the same seed's
healthy run: SGD lr x10, x100 (seeds 1 and 2), /1000; every weight N(0, 1) (seeds 1 and 2); the pixels x100;
``optimizer.zero_grad()`` left out (seeds 1 and 2); softmax before CrossEntropyLoss; fc1's bias -10 (dead ReLUs); and
two changes expected harmless: lr x2 (cause "lr_high") and batch_size 50 (cause "healthy").  Labels come from run.py's
outcome rules only.
Recorded (cases-public75; 16 runs, 5-18 s each on the shared 2-core machine, 170 s in all): healthy test accuracy
0.969, 0.971, 0.982 on seeds 1-3 (training loss 2.30-2.31 over the first 5 steps -> 0.25-0.28 over the last 20, the
largest 2.32-2.33, every loss finite); lr x10 (0.1): 0.958 (best epoch 0.971): healthy; lr x100 (1.0): largest loss
3.9 and 4.2, stuck at 2.32, 0.102 (seed 1) and 0.098 (seed 2): broken; lr /1000 (1e-5): loss 2.31 -> 2.32, 0.102:
broken; N(0, 1) weights: first-5 loss 4340 and 3450, largest 1.4e4 and 1.1e4, then stuck at 2.30, 0.102 (seed 1)
and 0.100 (seed 2): broken; pixels x100: first-5 loss 5.5, largest 14, then stuck at 2.30, 0.102: broken; zero_grad
left out (momentum 0.9 on the summed gradients): the loss rises to 22 and 18, last-20 18.6 and 15.3, 0.100 on both
seeds: broken; softmax before CrossEntropyLoss: loss 2.30 -> 2.06, 0.660: broken; fc1's bias -10: loss stuck at 2.30
(fc1's 50 ReLUs never fire), 0.102: broken; lr x2: 0.976: healthy; batch 50: 0.980: healthy.  Labels: 6 healthy
(3 programs, lr x10, lr x2, batch 50), 10 broken, 0 ambiguous; no non-finite loss.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import optim

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = optim.SGD(model.parameters(), lr=0.01, "
              "momentum=0.9); monitor.step(output) right after output.backward() in upstream's train(model, loss, "
              "optimizer, x, y), before optimizer.step() (optimizer.zero_grad() comes before the forward, upstream's "
              "order)")
EPOCHS = 20  # upstream: 20 (MNIST, 600 batches an epoch)


def load_digits_split(seed=1):
    """scikit-learn's digits in the shape of upstream's load_mnist(onehot=False): trX, teX, trY, teY (flat 28x28)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    X = d.images.astype(float) / 16.  # upstream: trX /= 255. (MNIST's grey levels)
    X = np.kron(X, np.ones((1, 3, 3)))  # 8x8 -> 24x24 (not upstream: MNIST is 28x28)
    X = np.pad(X, ((0, 0), (2, 2), (2, 2))).reshape(len(X), 28 * 28)  # -> 28x28, flat as load_mnist gives it
    trX, teX, trY, teY = train_test_split(X, d.target, test_size=450, stratify=d.target, random_state=seed)
    return trX, teX, np.asarray(trY), np.asarray(teY)


# We need to create two sequential models here since PyTorch doesn't have nn.View()
class ConvNet(torch.nn.Module):
    def __init__(self, output_dim, softmax=False):
        super(ConvNet, self).__init__()  # noqa: UP008 (as upstream)
        self.softmax = softmax

        self.conv = torch.nn.Sequential()
        self.conv.add_module("conv_1", torch.nn.Conv2d(1, 10, kernel_size=5))
        self.conv.add_module("maxpool_1", torch.nn.MaxPool2d(kernel_size=2))
        self.conv.add_module("relu_1", torch.nn.ReLU())
        self.conv.add_module("conv_2", torch.nn.Conv2d(10, 20, kernel_size=5))
        self.conv.add_module("dropout_2", torch.nn.Dropout())
        self.conv.add_module("maxpool_2", torch.nn.MaxPool2d(kernel_size=2))
        self.conv.add_module("relu_2", torch.nn.ReLU())

        self.fc = torch.nn.Sequential()
        self.fc.add_module("fc1", torch.nn.Linear(320, 50))
        self.fc.add_module("relu_3", torch.nn.ReLU())
        self.fc.add_module("dropout_3", torch.nn.Dropout())
        self.fc.add_module("fc2", torch.nn.Linear(50, output_dim))

    def forward(self, x):
        x = self.conv.forward(x)
        x = x.view(-1, 320)
        x = self.fc.forward(x)
        if self.softmax:  # the wrong_loss variant: probabilities fed to CrossEntropyLoss
            x = torch.softmax(x, dim=1)
        return x


def train_step(model, loss, optimizer, x_val, y_val, monitor=None, zero_grad=True):
    # upstream: def train(model, loss, optimizer, x_val, y_val) (renamed: train() is this module's entry point;
    # monitor and zero_grad added)
    model.train()
    x = x_val  # upstream: Variable(x_val, requires_grad=False)
    y = y_val  # upstream: Variable(y_val, requires_grad=False)

    # Reset gradient
    if zero_grad:  # the no_zero_grad variant leaves this out
        optimizer.zero_grad()

    # Forward
    fx = model.forward(x)
    output = loss.forward(fx, y)

    # Backward
    output.backward()
    monitor.step(output)  # gradmedic

    # Update parameters
    optimizer.step()

    return output.item()


def predict(model, x_val):
    model.eval()
    x = x_val  # upstream: Variable(x_val, requires_grad=False)
    with torch.no_grad():  # upstream: no no_grad (same numbers)
        output = model.forward(x)
    return output.data.numpy().argmax(axis=1)


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, pixel_scale: float = 1.0,
          zero_grad: bool = True, softmax: bool = False, fc1_bias: float | None = None, batch_size: int = 100,
          epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    torch.manual_seed(seed)  # upstream: torch.manual_seed(42)
    trX, teX, trY, teY = load_digits_split(seed)  # upstream: load_mnist(onehot=False)
    trX, teX = trX * pixel_scale, teX * pixel_scale  # the unscaled_inputs variant
    trX = trX.reshape(-1, 1, 28, 28)
    teX = teX.reshape(-1, 1, 28, 28)

    trX = torch.from_numpy(trX).float()
    teX = torch.from_numpy(teX).float()
    trY = torch.from_numpy(trY).long()

    n_examples = len(trX)
    n_classes = 10
    model = ConvNet(output_dim=n_classes, softmax=softmax)
    with torch.no_grad():
        if init_std is not None:  # the init_large variant: N(0, init_std) for every weight (biases kept)
            for name, p in model.named_parameters():
                if name.endswith("weight"):
                    p.normal_(0.0, init_std)
        if fc1_bias is not None:  # the dead_relu variant: fc1's bias set to a large negative constant
            model.fc.fc1.bias.fill_(fc1_bias)
    loss = torch.nn.CrossEntropyLoss(reduction='mean')  # upstream: reduction='elementwise_mean' (its old name)
    lr = 0.01 * lr_mult
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=0.9)  # upstream: lr=0.01
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    # upstream: batch_size = 100

    losses, accs = [], []
    for i in range(epochs):  # upstream: range(20)
        cost = 0.
        num_batches = n_examples // batch_size
        for k in range(num_batches):
            start, end = k * batch_size, (k + 1) * batch_size
            c = train_step(model, loss, optimizer, trX[start:end], trY[start:end], monitor=monitor, zero_grad=zero_grad)
            losses.append(c)
            cost += c
        predY = predict(model, teX)
        accs.append(float(np.mean(predY == teY)))
        if verbose:
            print("Epoch %d, cost = %f, acc = %.2f%%"  # noqa: UP031 (as upstream)
                  % (i + 1, cost / num_batches, 100. * np.mean(predY == teY)))
    monitor.close()
    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": accs[-1], "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(lr=lr, train_loss=float(np.mean(la[-20:])), first_loss=float(np.mean(la[:5])),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), steps=len(la), epochs=epochs,
                          best_acc=float(max(accs)), lr_mult=lr_mult,
                          init_std=-1.0 if init_std is None else init_std, pixel_scale=pixel_scale,
                          zero_grad=zero_grad, softmax=softmax,
                          fc1_bias=float("nan") if fc1_bias is None else fc1_bias, batch_size=batch_size,
                          test_images=len(teY)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="vkconv", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"vinhkhuc ConvNet (conv5x10-pool-relu-conv5x20-dropout-pool-relu-fc50-relu-dropout-fc10; CrossEntropyLoss; SGD "
      f"lr 0.01 momentum 0.9, batch 100; {EPOCHS} epochs of 1347 digits/16 enlarged to 28x28)")
CASES: list[dict] = (
    [_case(f"vkconv_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"vkconv_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: SGD lr x{k} ({0.01 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("vkconv_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: SGD lr /1000 (1e-05)")]
    + [_case(f"vkconv_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: every weight drawn from N(0, 1) instead of PyTorch's default init (biases kept)") for s in (1, 2)]
    + [_case("vkconv_pixels_x100_s1", "unscaled_inputs", 1, {"pixel_scale": 100.0},
             f"{_P}: the scaled pixels multiplied by 100 (0..100)")]
    + [_case(f"vkconv_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out of train(): the gradients accumulate") for s in (1, 2)]
    + [_case("vkconv_softmax_s1", "wrong_loss", 1, {"softmax": True},
             f"{_P}: torch.softmax(dim=1) on the model's output before CrossEntropyLoss")]
    + [_case("vkconv_dead_fc1_s1", "dead_relu", 1, {"fc1_bias": -10.0},
             f"{_P}: fc1's bias set to -10 (the 50 ReLUs after it below zero for every input)")]
    + [_case("vkconv_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: SGD lr x2 (0.02; expected harmless)")]
    + [_case("vkconv_batch50_s1", "healthy", 1, {"batch_size": 50},
             f"{_P}: batch_size 50 instead of 100 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
