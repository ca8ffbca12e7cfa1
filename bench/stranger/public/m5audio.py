"""pytorch/tutorials' speech command classifier (the M5 raw-waveform CNN, Adam with weight decay, StepLR,
``F.nll_loss`` on log-softmax outputs) on generated keyword-like waveforms, watched by gradmedic.

Adapted from https://github.com/pytorch/tutorials (commit 84c6357b6405aa921e11a19cbfed2b4c856eafbd,
intermediate_source/speech_command_classification_with_torchaudio_tutorial.py, "Speech Command Classification with
torchaudio"; BSD 3-Clause License, Copyright (c) 2017-2022 Pytorch contributors, see LICENSE-pytorch-tutorials).

Kept as in the tutorial: the ``M5`` class line for line (Conv1d(n_input, n_channel, kernel_size=80, stride=16),
BatchNorm1d, ReLU, MaxPool1d(4); three more Conv1d(kernel_size=3) + BatchNorm1d + ReLU + MaxPool1d(4) blocks of
n_channel, 2 n_channel, 2 n_channel; ``F.avg_pool1d`` over the remaining length, permute, ``fc1``,
``F.log_softmax(x, dim=2)``) with n_channel 32 and stride 16 (its defaults) and PyTorch's default initialization
(the tutorial sets none); ``optim.Adam(model.parameters(), lr=0.01, weight_decay=0.0001)``,
``optim.lr_scheduler.StepLR(optimizer, step_size=20, gamma=0.1)`` stepped once per epoch after the test; the loop
(``model.train()``, ``output = model(data)``, ``F.nll_loss(output.squeeze(), target)``, zero_grad, backward,
step; no clipping); ``number_of_correct``, ``get_likely_index`` and the test after ``model.eval()`` (the test
accuracy after every epoch; the metric is the last one); the waveform at 8 kHz (``new_sample_rate``), one channel,
1 s long (8000 samples: the stack of four /4 pools needs about that length), batch DataLoaders with the training
set shuffled and the test set not.

Changed:
- the data: torchaudio and SpeechCommands are not available here, so ``make_data`` generates ten classes of
  keyword-like 1 s waveforms at 8 kHz (``CLASSES``: a low tone ~400 Hz, a high tone ~1400 Hz, an up-chirp and a
  down-chirp between them, a two-tone chord, a tremolo tone, a noise burst, a double beep, a vibrato tone, a
  two-step tone): each clip a 'word' of 0.35-0.6 s with 40 ms attack and release at a random onset, its
  frequencies scaled by a random 'speaker' factor U(0.85, 1.15), random phases, amplitude U(0.08, 0.5), plus
  white background noise of std U(0.02, 0.25), clipped to [-1, 1] (float32, as torchaudio loads waveforms).
  1200 training and 400 test clips (labels balanced, shuffled), drawn once with RandomState(0), the same for
  every run and seed; no Resample (the clips are made at 8 kHz) and no collate_fn/padding (all clips have the same
  length); 10 outputs instead of 35.
- the size: batch 64 instead of 256, 24 epochs of 19 steps (456 steps; the tutorial runs 2 epochs and says 21 in
  its text) so that StepLR's drop after epoch 20 happens in the run; a run takes ~27 s of CPU time on one thread
  (40-70 s of wall time on the shared 2-core machine it was recorded on).
- ``device`` is the CPU; ``torch.manual_seed(seed)`` and a seeded ``torch.Generator`` for the shuffle (upstream
  does not seed); no tqdm, plots, ``predict`` or audio playback; prints only with ``verbose``.
- the bugs of the variants: ``lr_mult``; ``init_std`` (``nn.init.normal_(0, std)`` on every Conv1d and Linear
  weight); ``zero_conv1`` (zeros_ on conv1's weight and bias); ``pcm`` (the batch multiplied by 32768, the raw
  int16 sample values, in training and test); ``log_softmax=False`` (``M5.forward`` returns the logits, which go
  into ``F.nll_loss`` as they are).

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer
and scheduler are built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``;
``monitor.close()`` after the last epoch.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the same
seed's healthy run: Adam lr x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) on every Conv1d and Linear weight
(seeds 1 and 2); zeros_ on conv1; raw int16 PCM values; log_softmax dropped (seeds 1 and 2).  Labels come from
run.py's outcome rules only.
Recorded (cases-public8, 805 s in all): healthy 0.965, 0.9625, 0.965 test accuracy on seeds 1-3 (train loss
~0.002); lr x10 (0.1) trains as well (0.97, labelled healthy) and the raw PCM values too (0.9725, healthy: conv1
is followed by BatchNorm1d, which removes the input's scale, so the run is the healthy one up to BatchNorm's eps
and rounding: its largest loss equals the healthy run's to 5 digits); broken: lr x100 (0.10, 0.14; losses up to
~40), x1000 (0.10, a loss of 3.5e3 on the way), /1000 (0.17, train loss still 2.24), N(0, 1) init (0.62, 0.58;
losses up to ~12), zeros on conv1 (0.10: BatchNorm of an all-zero map is zero, ReLU passes no gradient, the loss
stays at ln 10), no log_softmax (0.10 on both seeds, from the second epoch on: the loss -logit[target] runs down
to about -7000).
"""

from __future__ import annotations

import functools
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("monitor.step(loss) after loss.backward() (F.nll_loss on the log_softmax outputs), before "
              "optimizer.step(); scheduler.step() once per epoch")

SAMPLE_RATE = 8000  # the tutorial's new_sample_rate (the waveforms are made at this rate: no Resample)
NOISE = 0.25
CLASSES = ("low", "high", "up", "down", "chord", "tremolo", "noise", "double", "vibrato", "step")


def _word(c: int, rs: np.random.RandomState) -> np.ndarray:
    """One 1 s clip of class ``c``: a 'word' of 0.35-0.6 s at a random place, pitch, phase and loudness, in noise."""
    n = SAMPLE_RATE
    d = rs.uniform(0.35, 0.6)  # the word's duration (s)
    m = int(d * SAMPLE_RATE)
    onset = rs.randint(0, n - m + 1)
    t = np.arange(m) / SAMPLE_RATE
    k = rs.uniform(0.85, 1.15)  # the 'speaker's pitch
    ph = rs.uniform(0, 2 * np.pi, size=3)

    def tone(f0, f1=None):  # a tone of f0 Hz, or a linear chirp from f0 to f1 Hz over the word
        f1 = f0 if f1 is None else f1
        return np.sin(2 * np.pi * k * (f0 * t + 0.5 * (f1 - f0) * t ** 2 / d) + ph[0])

    if c == 0:
        s = tone(400)
    elif c == 1:
        s = tone(1400)
    elif c == 2:
        s = tone(400, 1400)
    elif c == 3:
        s = tone(1400, 400)
    elif c == 4:
        s = 0.5 * tone(400) + 0.5 * np.sin(2 * np.pi * k * 1000 * t + ph[1])
    elif c == 5:
        s = tone(900) * (0.55 + 0.45 * np.sin(2 * np.pi * rs.uniform(10, 15) * t + ph[1]))
    elif c == 6:
        s = np.clip(rs.randn(m) / 2.5, -1, 1)
    elif c == 7:
        s = tone(900) * ((t < d / 3) | (t > 2 * d / 3))
    elif c == 8:
        s = np.sin(2 * np.pi * k * 900 * t + 150 / 6 * np.sin(2 * np.pi * 6 * t + ph[1]) + ph[0])
    else:
        s = np.where(t < d / 2, np.sin(2 * np.pi * k * 600 * t + ph[0]), np.sin(2 * np.pi * k * 1200 * t + ph[1]))
    env = np.minimum(1.0, np.minimum(t, d - t) / 0.04)  # 40 ms attack and release
    x = np.zeros(n)
    x[onset:onset + m] = rs.uniform(0.08, 0.5) * env * s
    x += rs.uniform(0.02, NOISE) * rs.randn(n)  # background noise
    return np.clip(x, -1.0, 1.0).astype(np.float32)


@functools.lru_cache(maxsize=1)
def make_data(n_train: int = 1200, n_test: int = 400, seed: int = 0):
    """(train, test) TensorDatasets of (1, 8000) float waveforms in [-1, 1] and labels 0..9, the same every run."""
    rs = np.random.RandomState(seed)
    out = []
    for n in (n_train, n_test):
        y = np.arange(n) % len(CLASSES)
        rs.shuffle(y)
        x = np.stack([_word(int(c), rs) for c in y])[:, None, :]
        out.append(torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y).long()))
    return out


class M5(nn.Module):
    def __init__(self, n_input=1, n_output=35, stride=16, n_channel=32, log_softmax=True):
        super().__init__()
        self.log_softmax = log_softmax
        self.conv1 = nn.Conv1d(n_input, n_channel, kernel_size=80, stride=stride)
        self.bn1 = nn.BatchNorm1d(n_channel)
        self.pool1 = nn.MaxPool1d(4)
        self.conv2 = nn.Conv1d(n_channel, n_channel, kernel_size=3)
        self.bn2 = nn.BatchNorm1d(n_channel)
        self.pool2 = nn.MaxPool1d(4)
        self.conv3 = nn.Conv1d(n_channel, 2 * n_channel, kernel_size=3)
        self.bn3 = nn.BatchNorm1d(2 * n_channel)
        self.pool3 = nn.MaxPool1d(4)
        self.conv4 = nn.Conv1d(2 * n_channel, 2 * n_channel, kernel_size=3)
        self.bn4 = nn.BatchNorm1d(2 * n_channel)
        self.pool4 = nn.MaxPool1d(4)
        self.fc1 = nn.Linear(2 * n_channel, n_output)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(self.bn1(x))
        x = self.pool1(x)
        x = self.conv2(x)
        x = F.relu(self.bn2(x))
        x = self.pool2(x)
        x = self.conv3(x)
        x = F.relu(self.bn3(x))
        x = self.pool3(x)
        x = self.conv4(x)
        x = F.relu(self.bn4(x))
        x = self.pool4(x)
        x = F.avg_pool1d(x, x.shape[-1])
        x = x.permute(0, 2, 1)
        x = self.fc1(x)
        if not self.log_softmax:  # the bug: raw logits into F.nll_loss
            return x
        return F.log_softmax(x, dim=2)


def number_of_correct(pred, target):
    # count number of correct predictions
    return pred.squeeze().eq(target).sum().item()


def get_likely_index(tensor):
    # find most likely label index for each element in the batch
    return tensor.argmax(dim=-1)


def test(model, test_loader, pcm=False):
    model.eval()
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            if pcm:
                data = data * 32768.0
            output = model(data)
            pred = get_likely_index(output)
            correct += number_of_correct(pred, target)
    return correct / len(test_loader.dataset)


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, zero_conv1: bool = False,
          pcm: bool = False, log_softmax: bool = True, n_epoch: int = 24, n_channel: int = 32, batch_size: int = 64,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    train_set, test_set = make_data()
    torch.manual_seed(seed)
    g = torch.Generator()
    g.manual_seed(seed)
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=batch_size, shuffle=True, generator=g)
    test_loader = torch.utils.data.DataLoader(test_set, batch_size=batch_size, shuffle=False, drop_last=False)

    model = M5(n_input=1, n_output=len(CLASSES), n_channel=n_channel, log_softmax=log_softmax)
    if init_std is not None:  # the bug: normal_(0, std) on every Conv1d and Linear weight instead of the default init
        for m in model.modules():
            if isinstance(m, (nn.Conv1d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, init_std)
    if zero_conv1:  # the bug: zeros_ on the first convolution
        nn.init.zeros_(model.conv1.weight)
        nn.init.zeros_(model.conv1.bias)
    lr = 0.01 * lr_mult
    optimizer = optim.Adam(model.parameters(), lr=lr, weight_decay=0.0001)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=20, gamma=0.1)  # reduce the lr after 20 epochs
    monitor = gradmedic.watch(model, optimizer, every=every)
    losses, accs = [], []

    t0 = time.time()
    for epoch in range(1, n_epoch + 1):
        model.train()
        for data, target in train_loader:
            if pcm:  # the bug: raw int16 PCM sample values instead of floats in [-1, 1]
                data = data * 32768.0
            output = model(data)
            # negative log-likelihood for a tensor of size (batch x 1 x n_output)
            loss = F.nll_loss(output.squeeze(), target)
            optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())
        acc = test(model, test_loader, pcm)
        accs.append(acc)
        scheduler.step()
        if verbose:
            print(f"epoch {epoch} loss {np.mean(losses[-25:]):.4f} test accuracy {acc:.4f} ({time.time() - t0:.1f}s)",
                  flush=True)
    monitor.close()
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(accs[-1]), "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"train_loss": float(np.mean(losses[-20:])), "steps": len(losses), "lr": lr,
                      "test_accuracy_by_epoch": [float(a) for a in accs]},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="m5audio", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"m5audio_healthy_s{s}", "healthy", s, {}, "unchanged (M5 n_channel 32, Adam lr 0.01 weight_decay 1e-4, "
           "StepLR(20, 0.1), F.nll_loss on log_softmax, batch 64, 24 epochs)", False) for s in (1, 2, 3)]
    + [_case(f"m5audio_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({0.01 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("m5audio_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (1e-05)")]
    + [_case(f"m5audio_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Conv1d and Linear weight instead of PyTorch's default "
             "(kaiming_uniform_, a=sqrt(5)); biases kept") for s in (1, 2)]
    + [_case("m5audio_zero_conv1_s1", "symmetric_init", 1, {"zero_conv1": True},
             "nn.init.zeros_ on conv1 (the first Conv1d: weight and bias)")]
    + [_case("m5audio_pcm_s1", "unscaled_inputs", 1, {"pcm": True},
             "raw int16 PCM sample values (the waveform x 32768) instead of floats in [-1, 1], in training and test")]
    + [_case(f"m5audio_no_logsoftmax_s{s}", "wrong_loss", s, {"log_softmax": False},
             "F.log_softmax dropped from M5.forward: the raw logits go into F.nll_loss (the loss is -logit[target], "
             "unbounded below)") for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    kw = dict(a.split("=") for a in sys.argv[1:])
    r = train(verbose=True, **{k: (v if k == "noop" else eval(v)) for k, v in kw.items()})
    print({k: v for k, v in r.items() if k != "monitors"})
