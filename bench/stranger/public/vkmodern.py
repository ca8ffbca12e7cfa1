"""vinhkhuc's PyTorch-Mini-Tutorials "Modern Neural Network" (ReLU + dropout MLP, Adam, digits), watched by gradmedic.

Adapted from https://github.com/vinhkhuc/PyTorch-Mini-Tutorials (commit bb967869a6ad2c3919b67b0623ce33e36349d413,
4_modern_neural_net.py; the repository has no licence file, see LICENSE-vkmodern).  Kept as upstream has it:
``build_model`` (``torch.nn.Sequential`` of ``Linear(input_dim, 512, bias=False)``, ReLU, ``Dropout(0.2)``,
``Linear(512, 512, bias=False)``, ReLU, ``Dropout(0.2)``, ``Linear(512, 10, bias=False)``; PyTorch's default init),
``torch.nn.CrossEntropyLoss`` with mean reduction, ``optim.Adam(model.parameters())`` (lr 1e-3), batch_size 100,
the fixed, unshuffled batch order ``trX[k * batch_size:(k + 1) * batch_size]`` over ``n_examples // batch_size``
batches an epoch, upstream's ``train(model, loss, optimizer, x_val, y_val)`` (``model.train()``,
``optimizer.zero_grad()``, forward, ``loss.forward(fx, y)``, ``output.backward()``, ``optimizer.step()``) and
``predict(model, x_val)`` (``model.eval()``, argmax), the test accuracy after each epoch.  (The brief named the
script's RMSprop: that was the 2017 version, ``optim.RMSprop(model.parameters(), lr=0.01)``, replaced by
``optim.Adam(model.parameters())`` in 77e5f71; the HEAD version, Adam, is ported.)

Changed to run offline on one CPU thread: MNIST (upstream's ``load_mnist`` downloads it; pixels/255) is replaced by
scikit-learn's bundled ``load_digits`` (1797 8x8 images, 16 grey levels) scaled the same way (pixels/16), so
input_dim is 64 instead of 784 (the hidden widths, 512, kept); a stratified split by the run's seed, 1347 training
and 450 test images (upstream: MNIST's fixed 60000/10000); EPOCHS = 30 epochs of 13 batches (upstream: 100 epochs
of 600); ``torch.manual_seed(seed)`` (upstream: 42); ``Variable`` wrappers dropped (no-ops); the per-epoch print only
with ``verbose``.  Knobs (one per variant): ``lr_mult`` scales Adam's lr; ``init_std`` draws every weight from
N(0, init_std), ``init_const`` sets every weight to one constant; ``pixel_scale`` multiplies the scaled pixels;
``zero_grad=False`` leaves ``optimizer.zero_grad()`` out; ``softmax=True`` puts ``torch.nn.Softmax(dim=1)`` at the
end of the model, before CrossEntropyLoss (the script's first version had ``softmax`` at the end, removed in
f32192e after issue #1 "No need to use the softmax layer since CrossEntropyLoss already uses it internally");
``batch_size`` replaces 100.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(output)`` inside upstream's ``train`` right after ``output.backward()``, before
``optimizer.step()``; ``monitor.close()`` after the loop.  Metric "accuracy": ``predict`` on the 450 test images
after the last epoch.

``CASES`` (program "vkmodern"): the program on seeds 1-3 (three splits), and one change each against the same seed's
healthy run: Adam lr x10, x100 (seeds 1 and 2), /1000; every weight N(0, 1) (seeds 1 and 2) and N(0, 10) (added after
N(0, 1) came out ambiguous on both seeds); every weight 0.01 (constant init); the pixels x100; ``optimizer.zero_grad()``
left out (seeds 1 and 2); softmax before CrossEntropyLoss (seeds 1 and 2); and two changes expected harmless: lr x2
(cause "lr_high") and batch_size 50 (cause "healthy").  Labels come from run.py's outcome rules only.
Recorded (cases-public75; 19 runs, 5-15 s each on the shared 2-core machine, 131 s in all): healthy test accuracy
0.973, 0.980, 0.982 on seeds 1-3 (training loss 2.22-2.23 over the first 5 steps -> 0.013-0.018 over the last 20, the
largest 2.30-2.31, every loss finite); lr x10 (0.01): 0.951 (best epoch 0.976, first-5 loss 1.83): healthy; lr x100
(0.1): first-5 loss 71 and 63, largest 157 and 198, 0.287 (seed 1) and 0.184 (seed 2): broken; lr /1000 (1e-6):
loss 2.31 -> 2.29, 0.178: broken; N(0, 1) weights: first-5 loss 1460 and 1910, last-20 53 and 50, 0.953 (seed 1)
and 0.940 (seed 2): ambiguous (good accuracy, within 3 points of the control, but the loss far above 2x the control's
largest); N(0, 10) weights: loss 1.6e6 -> 5.4e5, 0.722: broken; constant 0.01 weights: loss 2.34 -> 0.54, 0.869:
broken (dropout breaks the symmetry, slowly); pixels x100: first-5 loss 8.1, largest 11, last-20 0.005, 0.973:
ambiguous (as accurate as its control, but its largest loss is above 2x the control's); zero_grad left out: the loss
rises to 8.9 and 6.2, last-20 0.73 and 0.74, 0.858 (seed 1) and 0.818 (seed 2): broken; softmax before
CrossEntropyLoss: the loss stalls at 1.47 (its floor with probabilities as logits is about 1.46), yet 0.967 (seed 1)
and 0.971 (seed 2): healthy (the argmax still learns: no harm to the accuracy); lr x2: 0.973: healthy; batch 50 (26
batches an epoch): 0.973: healthy.  Labels: 9 healthy (3 programs, lr x10, softmax on both seeds, lr x2, batch 50), 7
broken, 3 ambiguous; no non-finite loss.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import optim

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = optim.Adam(model.parameters()); "
              "monitor.step(output) right after output.backward() in upstream's train(model, loss, optimizer, x, y), "
              "before optimizer.step() (optimizer.zero_grad() comes before the forward, upstream's order)")
EPOCHS = 30  # upstream: 100 (MNIST, 600 batches an epoch)


def load_digits_split(seed=1):
    """scikit-learn's digits in the shape of upstream's load_mnist(onehot=False): trX, teX, trY, teY."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    X = d.data.astype(float) / 16.  # upstream: trX /= 255. (MNIST's grey levels)
    trX, teX, trY, teY = train_test_split(X, d.target, test_size=450, stratify=d.target, random_state=seed)
    return trX, teX, np.asarray(trY), np.asarray(teY)


def build_model(input_dim, output_dim, softmax=False):
    model = torch.nn.Sequential()
    model.add_module("linear_1", torch.nn.Linear(input_dim, 512, bias=False))
    model.add_module("relu_1", torch.nn.ReLU())
    model.add_module("dropout_1", torch.nn.Dropout(0.2))
    model.add_module("linear_2", torch.nn.Linear(512, 512, bias=False))
    model.add_module("relu_2", torch.nn.ReLU())
    model.add_module("dropout_2", torch.nn.Dropout(0.2))
    model.add_module("linear_3", torch.nn.Linear(512, output_dim, bias=False))
    if softmax:  # the wrong_loss variant (the script's first version): softmax before CrossEntropyLoss
        model.add_module("softmax", torch.nn.Softmax(dim=1))
    return model


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


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, init_const: float | None = None,
          pixel_scale: float = 1.0, zero_grad: bool = True, softmax: bool = False, batch_size: int = 100,
          epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    torch.manual_seed(seed)  # upstream: torch.manual_seed(42)
    trX, teX, trY, teY = load_digits_split(seed)  # upstream: load_mnist(onehot=False)
    trX, teX = trX * pixel_scale, teX * pixel_scale  # the unscaled_inputs variants
    trX = torch.from_numpy(trX).float()
    teX = torch.from_numpy(teX).float()
    trY = torch.from_numpy(trY).long()

    n_examples, n_features = trX.size()
    n_classes = 10
    model = build_model(n_features, n_classes, softmax=softmax)
    if init_std is not None or init_const is not None:  # the init variants
        with torch.no_grad():
            for p in model.parameters():
                if init_std is not None:
                    p.normal_(0.0, init_std)
                else:
                    p.fill_(init_const)
    loss = torch.nn.CrossEntropyLoss(reduction='mean')  # upstream: reduction='elementwise_mean' (its old name)
    lr = 1e-3 * lr_mult
    optimizer = optim.Adam(model.parameters(), lr=lr)  # upstream: optim.Adam(model.parameters()) (lr 1e-3)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    # upstream: batch_size = 100

    losses, accs = [], []
    for i in range(epochs):  # upstream: range(100)
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
                          init_std=-1.0 if init_std is None else init_std,
                          init_const=float("nan") if init_const is None else init_const, pixel_scale=pixel_scale,
                          zero_grad=zero_grad, softmax=softmax, batch_size=batch_size, test_images=len(teY)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="vkmodern", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"vinhkhuc modern net (64-512-512-10 bias-free ReLU MLP, dropout 0.2; CrossEntropyLoss; Adam lr 1e-3, batch "
      f"100; {EPOCHS} epochs of 1347 digits/16)")
CASES: list[dict] = (
    [_case(f"vkmodern_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"vkmodern_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("vkmodern_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 (1e-06)")]
    + [_case(f"vkmodern_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: every weight drawn from N(0, 1) instead of PyTorch's default U(+-1/sqrt(fan_in))") for s in (1, 2)]
    + [_case("vkmodern_init_std10_s1", "init_large", 1, {"init_std": 10.0},
             f"{_P}: every weight drawn from N(0, 10) (added after N(0, 1) came out ambiguous on both seeds)")]
    + [_case("vkmodern_const_init_s1", "symmetric_init", 1, {"init_const": 0.01},
             f"{_P}: every weight set to 0.01 (constant init; dropout is the only asymmetry)")]
    + [_case("vkmodern_pixels_x100_s1", "unscaled_inputs", 1, {"pixel_scale": 100.0},
             f"{_P}: the scaled pixels multiplied by 100 (0..100)")]
    + [_case(f"vkmodern_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out of train(): the gradients accumulate") for s in (1, 2)]
    + [_case(f"vkmodern_softmax_s{s}", "wrong_loss", s, {"softmax": True},
             f"{_P}: torch.nn.Softmax(dim=1) as the model's last layer, before CrossEntropyLoss (the script's first "
             f"version, upstream issue #1)") for s in (1, 2)]
    + [_case("vkmodern_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: Adam lr x2 (0.002; expected harmless)")]
    + [_case("vkmodern_batch50_s1", "healthy", 1, {"batch_size": 50},
             f"{_P}: batch_size 50 instead of 100 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
