"""L1aoXingyu's pytorch-beginner "05-Recurrent Neural Network" (2-layer LSTM over image rows, Adam), watched by gradmedic.

Adapted from https://github.com/L1aoXingyu/pytorch-beginner (commit a57dd7ea35c9965a41f4963dee62d38884f92a65,
``05-Recurrent Neural Network/recurrent_network.py``).  The repository has no licence file (none at this commit, and
its README names none), so there is no LICENSE-pbrnn; the port keeps to what is needed: the model class and the
training loop.  The script is module-level code; here its body is ``train``, whose lines are upstream's in
upstream's order.

Kept as upstream has it: ``Rnn(in_dim, hidden_dim, n_layer, n_class)`` = ``nn.LSTM(in_dim, 128, 2,
batch_first=True)`` read row by row (``img.squeeze(1)``: each image row is one time step), the last step's output
into ``nn.Linear(128, 10)``, PyTorch's default init, zero initial states; ``nn.CrossEntropyLoss()``,
``optim.Adam(model.parameters(), lr=1e-3)``, batch_size 100 with a shuffled training DataLoader and an unshuffled
test DataLoader, the loop's order (forward, loss, running loss and accuracy, ``optimizer.zero_grad()``,
``loss.backward()``, ``optimizer.step()``), no clipping, the evaluation after ``model.eval()`` (correct / number of
test images), inputs in [0, 1] as ``ToTensor`` gives them.
Changed to run offline on one CPU thread: MNIST is scikit-learn's ``load_digits`` (1797 8x8 images, values 0..16, no
download), divided by 16 to [0, 1] as ToTensor divides pixels by 255, split 1437 / 360 by
``train_test_split(test_size=0.2, random_state=0)``; so in_dim is 8 and the sequence 8 rows long instead of 28 and 28,
and an epoch is 15 steps instead of 600; NUM_EPOCHS below instead of upstream's 20; ``Variable`` and
``loss.data[0]`` (pre-0.4 PyTorch, an error today) become the tensors themselves and ``.item()``; the device is the
CPU; ``torch.manual_seed(seed)`` (upstream does not seed); the evaluation runs once after the last epoch instead of
after each (it changes no parameter); ``torch.save`` of the state dict is left out; prints only with ``verbose``.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the loop.  Metric: test accuracy on the 360 test digits (run.py's good outcome: >= 0.9).

``CASES`` (program "pbrnn"): the program on seeds 1-3 and one change each against the same seed's healthy run: Adam
lr x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) on every LSTM and Linear weight; the inputs x255 (raw pixel
values); ``optimizer.zero_grad()`` left out; ``torch.softmax`` before ``nn.CrossEntropyLoss``; and two changes
expected harmless: Adam lr x2 (cause "lr_high") and batch_size 50 (cause "healthy").  Upstream does not clip, but it
trains with Adam at 1e-3 on 8 (here) or 28 steps, where clipping is not what it needs, so there is no no_clipping
case.  Labels come from run.py's outcome rules only.
Recorded (cases-public85; 14 cases in 235 s, 9-19 s a run on a shared 2-core machine): healthy test accuracy 0.914,
0.919, 0.928 on seeds 1-3 (just above the 0.9 bar; 20 epochs gave 0.897 on seed 1, hence 30); lr x10 (0.01) 0.986:
healthy; lr x100 (0.1) 0.122 (seed 1) and 0.083 (seed 2): broken; lr x1000 (1.0) 0.108: broken; lr /1000 (1e-6)
0.122: broken; N(0, 1) weights 0.228: broken; inputs x255 0.950: healthy; zero_grad left out 0.514: broken; softmax
before CrossEntropyLoss 0.864: ambiguous (4.9 points below the control, not clearly worse); lr x2 (0.002) 0.950:
healthy; batch_size 50 0.931: healthy.  Labels: 7 healthy (3 programs, 4 variants), 6 broken, 1 ambiguous.
(The brief's other chapter, 03-Neural Network, was tried as "pbnn" and dropped: its MLP puts a ReLU after the last
Linear too, so CrossEntropyLoss reads ReLU'd logits, classes whose logits go negative stop learning, and on the
digits it reached only 0.31-0.56 test accuracy after 50 epochs and 0.45-0.65 after 150, far from 0.9 in ~30 s.)
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn, optim
from torch.utils.data import DataLoader

import gradmedic

ARCH = "lstm"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = optim.Adam(model.parameters(), lr=1e-3); "
              "monitor.step(loss) right after loss.backward() (CrossEntropyLoss, mean over a batch of 100), before "
              "optimizer.step() (optimizer.zero_grad() comes before the backward, upstream's order; no clipping)")

NUM_EPOCHS = 30  # upstream: num_epoches = 20 over MNIST's 600 batches (12000 steps; here 15 batches an epoch)


def digits64():
    """scikit-learn's digits as (N, 1, 8, 8) tensors in [0, 1] (ToTensor's scaling) and their labels."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)

    def tt(x):
        return torch.tensor(x, dtype=torch.float32)[:, None] / 16.0  # ToTensor: [0, 1]

    return tt(xtr), torch.tensor(ytr), tt(xte), torch.tensor(yte)


# 定义 Recurrent Network 模型
class Rnn(nn.Module):
    def __init__(self, in_dim, hidden_dim, n_layer, n_class, softmax_out=False):
        super(Rnn, self).__init__()  # noqa: UP008 (as upstream)
        self.n_layer = n_layer
        self.hidden_dim = hidden_dim
        self.lstm = nn.LSTM(in_dim, hidden_dim, n_layer, batch_first=True)
        self.classifier = nn.Linear(hidden_dim, n_class)
        self.softmax_out = softmax_out

    def forward(self, x):
        out, _ = self.lstm(x)
        out = out[:, -1, :]
        out = self.classifier(out)
        if self.softmax_out:  # the wrong_loss variant: probabilities into CrossEntropyLoss, which expects logits
            out = torch.softmax(out, dim=1)
        return out


def train(seed: int = 1, lr_mult: float = 1.0, pixel_scale: float = 1.0, init_std: float | None = None,
          softmax_out: bool = False, zero_grad: bool = True,
          batch_size: int = 100, num_epochs: int = NUM_EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    """One change per keyword: ``lr_mult`` scales Adam's 1e-3; ``pixel_scale`` multiplies the [0, 1] inputs;
    ``init_std`` draws every LSTM and Linear weight from N(0, init_std); ``softmax_out`` puts a softmax before
    CrossEntropyLoss; ``zero_grad=False`` leaves optimizer.zero_grad() out; ``batch_size`` replaces 100."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)  # upstream does not seed
    t0 = time.time()
    # 定义超参数
    # batch_size = 100 (a keyword here, for the batch-size variant)
    learning_rate = 1e-3 * lr_mult
    # num_epoches: upstream 20 (see NUM_EPOCHS)

    # upstream: datasets.MNIST(root='./data', train=..., transform=transforms.ToTensor(), download=True)
    xtr, ytr, xte, yte = digits64()
    xtr, xte = xtr * pixel_scale, xte * pixel_scale  # the unscaled_inputs variant: x255, raw pixel values
    train_dataset = torch.utils.data.TensorDataset(xtr, ytr)
    test_dataset = torch.utils.data.TensorDataset(xte, yte)

    train_loader = DataLoader(train_dataset, batch_size=batch_size, shuffle=True)
    test_loader = DataLoader(test_dataset, batch_size=batch_size, shuffle=False)

    model = Rnn(8, 128, 2, 10, softmax_out)  # upstream: Rnn(28, 128, 2, 10)  # 图片大小是28x28
    if init_std is not None:  # the init_large variant: N(0, init_std) on every weight matrix (biases kept)
        for name, p in model.named_parameters():
            if "weight" in name:
                nn.init.normal_(p, 0.0, init_std)
    # upstream: if use_gpu: model = model.cuda()
    # 定义loss和optimizer
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=learning_rate)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    losses = []

    # 开始训练
    running_loss, running_acc = 0.0, 0.0
    for epoch in range(num_epochs):
        if verbose:
            print(f'epoch {epoch + 1}')
            print('*' * 10)
        running_loss = 0.0
        running_acc = 0.0
        for _i, data in enumerate(train_loader, 1):
            img, label = data
            b, c, h, w = img.size()
            assert c == 1, 'channel must be 1'
            img = img.squeeze(1)
            # 向前传播
            out = model(img)
            loss = criterion(out, label)
            running_loss += loss.item() * label.size(0)  # upstream: loss.data[0] * label.size(0)
            _, pred = torch.max(out, 1)
            num_correct = (pred == label).sum()
            running_acc += num_correct.item()  # upstream: num_correct.data[0]
            # 向后传播
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())
            # upstream: if i % 300 == 0: print(...)
        if verbose:
            print(f'Finish {epoch + 1} epoch, Loss: {running_loss / len(train_dataset):.6f}, '
                  f'Acc: {running_acc / len(train_dataset):.6f}')
    monitor.close()
    # upstream evaluates after every epoch; here once, after the last (the same final number)
    model.eval()
    eval_loss = 0.
    eval_acc = 0.
    for data in test_loader:
        img, label = data
        b, c, h, w = img.size()
        assert c == 1, 'channel must be 1'
        img = img.squeeze(1)
        with torch.no_grad():  # upstream: Variable(img, volatile=True)
            out = model(img)
            loss = criterion(out, label)
        eval_loss += loss.item() * label.size(0)
        _, pred = torch.max(out, 1)
        num_correct = (pred == label).sum()
        eval_acc += num_correct.item()
    acc = eval_acc / len(test_dataset)
    if verbose:
        print(f'Test Loss: {eval_loss / len(test_dataset):.6f}, Acc: {acc:.6f}')
    # upstream: torch.save(model.state_dict(), './rnn.pth') (left out)
    la = np.array(losses)
    fin = la[np.isfinite(la)]
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc), "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": {"train_loss": float(np.mean(la[-20:])), "first_loss": float(np.mean(la[:5])),
                      "max_loss": float(fin.max()) if fin.size else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "steps": len(la), "epochs": num_epochs,
                      "lr": learning_rate, "batch_size": batch_size, "pixel_scale": pixel_scale,
                      "init_std": init_std, "softmax_out": softmax_out, "zero_grad": zero_grad,
                      "train_acc_last_epoch": running_acc / len(train_dataset),
                      "test_loss": eval_loss / len(test_dataset), "test_digits": len(test_dataset)},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="pbrnn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = (f"pytorch-beginner recurrent_network (2-layer LSTM(8, 128) over the 8 image rows, Linear(128, 10) on the last "
      f"step, CrossEntropyLoss, Adam lr 1e-3, batch 100, {NUM_EPOCHS} epochs of 15 steps, 8x8 digits in [0, 1])")
CASES: list[dict] = (
    [_case(f"pbrnn_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"pbrnn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("pbrnn_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 (1e-06)")]
    + [_case("pbrnn_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every LSTM and Linear weight instead of PyTorch's default")]
    + [_case("pbrnn_raw_pixels_s1", "unscaled_inputs", 1, {"pixel_scale": 255.0},
             f"{_P}: the inputs x255 (raw 0..255 pixel values, no ToTensor scaling)")]
    + [_case("pbrnn_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("pbrnn_softmax_ce_s1", "wrong_loss", 1, {"softmax_out": True},
             f"{_P}: torch.softmax on the outputs before nn.CrossEntropyLoss (which applies log_softmax itself)")]
    + [_case("pbrnn_lr_x2_s1", "lr_high", 1, {"lr_mult": 2.0}, f"{_P}: Adam lr x2 (0.002)")]
    + [_case("pbrnn_batch50_s1", "healthy", 1, {"batch_size": 50}, f"{_P}: batch_size 50 instead of 100")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(**kw)
    print({k: v for k, v in r.items() if k != "monitors"})
