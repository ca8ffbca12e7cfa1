"""Three programs of yunjey/pytorch-tutorial (02-intermediate: a BiLSTM, a ResNet, an LSTM LM), watched by gradmedic.

Adapted from https://github.com/yunjey/pytorch-tutorial (commit 0500d3df5a2a8080ccfccbc00aca0eacc21818db;
MIT license, see LICENSE-pytorch-tutorial): tutorials/02-intermediate/bidirectional_recurrent_neural_network/main.py
("birnn"), deep_residual_network/main.py ("resnet"), language_model/main.py and data_utils.py ("lm").  Each is
a script with module-level code; here each script's body is a function (``run_birnn``, ``run_resnet``, ``run_lm``)
whose lines are upstream's in upstream's order, and ``train(prog=...)`` calls one of them.

Kept as in the original:
- birnn: ``BiRNN`` (LSTM(28, 128, num_layers=2, batch_first, bidirectional), zero initial states, Linear(256, 10)
  on the last time step's output), the hyper-parameters (batch 100, Adam lr 0.003), ``nn.CrossEntropyLoss``,
  the DataLoaders (training shuffled, test not), the loop (forward, loss, zero_grad, backward, step; no clipping)
  and the test (``torch.max(outputs.data, 1)``, no ``model.eval()``, as upstream); inputs in [0, 1] as
  ``ToTensor`` gives them, not normalized, as upstream.
- resnet: ``conv3x3``, ``ResidualBlock``, ``ResNet`` (layers [2, 2, 2], AvgPool2d(8), Linear), batch 100, Adam
  lr 0.001, ``nn.CrossEntropyLoss``, ``update_lr`` and the loop's decay ``curr_lr /= 3`` at the end of every
  ``decay_every``-th epoch, the test after ``model.eval()``; the training transform's ``Pad(4)`` and
  ``RandomCrop(32)`` (on tensors, with torch's RNG, in a Dataset's ``__getitem__``), inputs in [0, 1] not
  normalized, as upstream.
- lm: ``Dictionary``, ``Corpus.get_data`` (whitespace words of each line plus ``<eos>``, every word in the
  vocabulary, ids cut to a multiple of the batch and viewed as (batch_size, -1)), ``RNNLM`` (Embedding(V, 128),
  LSTM(128, hidden, 1 layer, batch_first), Linear(hidden, V)), batch 20, seq_length 30, 5 epochs, Adam lr 0.002,
  ``nn.CrossEntropyLoss``, the loop (states reset to zeros every epoch and detached every step, zero_grad,
  backward, ``clip_grad_norm_(model.parameters(), 0.5)``, step).

Changed to run offline on one CPU thread in 8-35 s a run (torchvision does not import here):
- birnn: MNIST is mnist.py's ``digits28`` (scikit-learn's ``load_digits``, split 80/20 with random_state=0,
  upsampled bilinearly to 28x28 so that the 28 rows of 28 pixels are unchanged; its raw 0..255 values divided by
  255 as ``ToTensor`` does: 1437 training and 360 test images); 8 epochs of 15 steps (upstream: 2 epochs of 600;
  4 epochs end at ~0.89 test accuracy).
- resnet: CIFAR-10 is ``digits32rgb``: the same digits split, upsampled to 32x32, each a bright digit of a random
  colour (each channel U(0.5, 1)) on a dark background of a random colour (each channel U(0, 0.4)), colours drawn
  once with RandomState(0) (1437 training and 360 test 3x32x32 images in [0, 1], ten classes); width 8 instead
  of 16 (channels 8, 16, 32 instead of 16, 32, 64: a step costs 0.26 s instead of 0.6 s); 10 epochs of 15 steps
  (upstream: 80 epochs of 500) with the lr divided by 3 after epochs 5 and 10 (upstream: after 20, 40, 60 and 80;
  a decay every quarter of a short run leaves too few steps at the full rate: 8 epochs with the flip and a decay
  every 2 end at 0.67 test accuracy, 0.87 without any decay; 10 epochs, no flip, the decay after 5 and 10: 0.96);
  ``RandomHorizontalFlip`` dropped (a mirrored digit is not the picture a mirrored photo is: 8 epochs with a decay
  every 2 end at 0.67 with it, 0.79 without).  ``ResNet`` takes the width (and ``softmax_output``) as arguments.
- lm: Penn Treebank's train.txt is the first 3000 lines of shipped_text.py's ``stdlib_docstrings()`` (16160
  tokens, a vocabulary of 3275 words; 26 steps per epoch, 130 steps), read from a string (``io.StringIO``)
  instead of the file path; hidden_size 256 instead of 1024 (~0.15 s a step; 1024 would take ~1 s); no sampling of
  1000 words into sample.txt and no checkpoints (all three programs save none here); prints only with
  ``verbose``.  ``clip=None`` skips the ``clip_grad_norm_`` line (a variant); ``optim="sgd"`` replaces the Adam
  by ``torch.optim.SGD(lr=20 * lr_mult)`` (the rate of pytorch/examples' word_language_model, another variant).
- all: ``device`` is the CPU; ``torch.manual_seed(seed)`` (upstream does not seed); the bugs of the variants
  (``init_std``, ``zero_layer``, ``raw_pixels``, ``softmax_output``, ``clip``, ``optim``) as in ``train``'s
  docstring.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer
is built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``clip_grad_norm_`` (lm) and
``optimizer.step()``; ``monitor.close()`` after the loop.  Metrics: the test accuracy (birnn, resnet: 360
images), and for lm the train loss, the mean of the last 20 steps' losses, against the mean of the first 5
(``initial``), as minGPT's port reports it.

``CASES`` (in the shape of run.py's ``case()``, all of program "tutorial"; name prefixes tbirnn, tresnet, tlm,
tlmsgd: run.py finds a variant's control as the first "_" token of its name + "_healthy_s<seed>"): each
program on seeds 1-3 and one change each against the same seed's healthy run: the learning rate x10, x100, x1000
and /1000, N(0, 1) for every weight matrix, zeros for one layer, raw 0..255 pixels (birnn, resnet), a softmax
before ``nn.CrossEntropyLoss`` (birnn, resnet), no clipping (lm).  The Adam LM trains as well without the clip
(4.80 against 4.67 on seed 1; at lr x10 2.16 against 2.04), so its no-clip case is one more run of the program;
for a run that the clip rescues, tlmsgd is the LM under SGD at lr 40 (x2 of word_language_model's 20) with
upstream's clip 0.5, run as its own healthy program on seeds 1-2 (the controls), and without the clip (at lr 20
the no-clip run ends at 3.66 against 3.35 with the clip: not a clear case; at 40, 85.6 against 3.34).
"""

# upstream's code is kept as written (super(Class, self), (object) bases, str.format, an unused loop counter,
# "not word in"), so that a reader can diff it against the original
# ruff: noqa: UP004, UP008, UP032, B007, E713

from __future__ import annotations

import io
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mnist import digits28
from shipped_text import stdlib_docstrings
from torch.nn.utils import clip_grad_norm_

import gradmedic

ARCH = "lstm"
MONITOR_AT = ("watch(model, optimizer, every=10) right after the optimizer is built; monitor.step(loss) right after "
              "loss.backward(), before clip_grad_norm_ (language_model) and optimizer.step()")

# Device configuration (upstream: cuda when available)
device = torch.device('cpu')


# ==== bidirectional_recurrent_neural_network/main.py ==============================================
# Bidirectional recurrent neural network (many-to-one)
class BiRNN(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers, num_classes, softmax_output=False):
        super(BiRNN, self).__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(hidden_size*2, num_classes)  # 2 for bidirection
        self.softmax_output = softmax_output

    def forward(self, x):
        # Set initial states
        h0 = torch.zeros(self.num_layers*2, x.size(0), self.hidden_size).to(device) # 2 for bidirection
        c0 = torch.zeros(self.num_layers*2, x.size(0), self.hidden_size).to(device)

        # Forward propagate LSTM
        out, _ = self.lstm(x, (h0, c0))  # out: tensor of shape (batch_size, seq_length, hidden_size*2)

        # Decode the hidden state of the last time step
        out = self.fc(out[:, -1, :])
        if self.softmax_output:  # the bug: probabilities fed to nn.CrossEntropyLoss, which expects logits
            out = F.softmax(out, dim=1)
        return out


def run_birnn(seed, lr_mult, init_std, zero_layer, raw_pixels, softmax_output, num_epochs, every, verbose):
    # Hyper-parameters
    sequence_length = 28
    input_size = 28
    hidden_size = 128
    num_layers = 2
    num_classes = 10
    batch_size = 100
    learning_rate = 0.003 * lr_mult

    # MNIST dataset -> scikit-learn's digits upsampled to 28x28 (mnist.py's digits28), as ToTensor gives them: [0, 1]
    train_dataset, test_dataset = to_tensor(*digits28(raw_pixels=True), raw_pixels)

    # Data loader
    train_loader = torch.utils.data.DataLoader(dataset=train_dataset,
                                               batch_size=batch_size,
                                               shuffle=True)

    test_loader = torch.utils.data.DataLoader(dataset=test_dataset,
                                              batch_size=batch_size,
                                              shuffle=False)

    model = BiRNN(input_size, hidden_size, num_layers, num_classes, softmax_output).to(device)
    spoil(model, init_std, zero_layer)

    # Loss and optimizer
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
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
            loss = criterion(outputs, labels)

            # Backward and optimize
            optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())

            if verbose and (i+1) % total_step == 0:  # upstream: every 100 steps
                print ('Epoch [{}/{}], Step [{}/{}], Loss: {:.4f}'
                       .format(epoch+1, num_epochs, i+1, total_step, loss.item()))
    monitor.close()

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

        if verbose:
            print('Test Accuracy of the model on the {} test images: {} %'.format(total, 100 * correct / total))
    return monitor, losses, correct / total


# ==== deep_residual_network/main.py ===============================================================
# 3x3 convolution
def conv3x3(in_channels, out_channels, stride=1):
    return nn.Conv2d(in_channels, out_channels, kernel_size=3,
                     stride=stride, padding=1, bias=False)

# Residual block
class ResidualBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1, downsample=None):
        super(ResidualBlock, self).__init__()
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = downsample

    def forward(self, x):
        residual = x
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        if self.downsample:
            residual = self.downsample(x)
        out += residual
        out = self.relu(out)
        return out

# ResNet (``width``: upstream's 16, with layers of width, 2 width and 4 width channels)
class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes=10, width=16, softmax_output=False):
        super(ResNet, self).__init__()
        self.in_channels = width
        self.conv = conv3x3(3, width)
        self.bn = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self.make_layer(block, width, layers[0])
        self.layer2 = self.make_layer(block, 2 * width, layers[1], 2)
        self.layer3 = self.make_layer(block, 4 * width, layers[2], 2)
        self.avg_pool = nn.AvgPool2d(8)
        self.fc = nn.Linear(4 * width, num_classes)
        self.softmax_output = softmax_output

    def make_layer(self, block, out_channels, blocks, stride=1):
        downsample = None
        if (stride != 1) or (self.in_channels != out_channels):
            downsample = nn.Sequential(
                conv3x3(self.in_channels, out_channels, stride=stride),
                nn.BatchNorm2d(out_channels))
        layers = []
        layers.append(block(self.in_channels, out_channels, stride, downsample))
        self.in_channels = out_channels
        for i in range(1, blocks):
            layers.append(block(out_channels, out_channels))
        return nn.Sequential(*layers)

    def forward(self, x):
        out = self.conv(x)
        out = self.bn(out)
        out = self.relu(out)
        out = self.layer1(out)
        out = self.layer2(out)
        out = self.layer3(out)
        out = self.avg_pool(out)
        out = out.view(out.size(0), -1)
        out = self.fc(out)
        if self.softmax_output:  # the bug: probabilities fed to nn.CrossEntropyLoss, which expects logits
            out = F.softmax(out, dim=1)
        return out


class Augmented(torch.utils.data.Dataset):
    """transforms.Compose([Pad(4), RandomHorizontalFlip(), RandomCrop(32), ToTensor()]) on tensors (torch's RNG)."""

    def __init__(self, dataset, flip=False):
        self.x, self.y = dataset.tensors
        self.flip = flip

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        img = F.pad(self.x[i], (4, 4, 4, 4))
        if self.flip and torch.rand(1) < 0.5:
            img = img.flip(-1)
        top, left = torch.randint(0, 9, size=(1,)).item(), torch.randint(0, 9, size=(1,)).item()
        return img[:, top:top + 32, left:left + 32], self.y[i]


def digits32rgb(raw_pixels: bool = False):
    """(train, test) TensorDatasets of 3x32x32 coloured digits in [0, 1] (0..255 with ``raw_pixels``): scikit-learn's
    ``load_digits`` split as mnist.py's digits28 does, upsampled to 32x32, each image a bright digit of a random
    colour (each channel U(0.5, 1)) on a dark background of a random colour (each channel U(0, 0.4)), the colours
    drawn once with numpy's RandomState(0)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)
    rng = np.random.RandomState(0)

    def colour(x):
        x = torch.tensor(x, dtype=torch.float32)[:, None] / 16.0
        x = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False).clamp(0, 1)
        fg = torch.tensor(rng.uniform(0.5, 1.0, (len(x), 3, 1, 1)), dtype=torch.float32)
        bg = torch.tensor(rng.uniform(0.0, 0.4, (len(x), 3, 1, 1)), dtype=torch.float32)
        x = x * fg + (1 - x) * bg
        return x * 255.0 if raw_pixels else x

    return (torch.utils.data.TensorDataset(colour(xtr), torch.tensor(ytr)),
            torch.utils.data.TensorDataset(colour(xte), torch.tensor(yte)))


def run_resnet(seed, lr_mult, init_std, zero_layer, raw_pixels, softmax_output, num_epochs, every, verbose, width=8,
               flip=False, decay_every=5):
    # Hyper-parameters
    batch_size = 100
    learning_rate = 0.001 * lr_mult

    # CIFAR-10 dataset -> coloured digits (digits32rgb); the training set augmented as upstream's transform
    train_data, test_dataset = digits32rgb(raw_pixels)
    train_dataset = Augmented(train_data, flip)

    # Data loader
    train_loader = torch.utils.data.DataLoader(dataset=train_dataset,
                                               batch_size=batch_size,
                                               shuffle=True)

    test_loader = torch.utils.data.DataLoader(dataset=test_dataset,
                                              batch_size=batch_size,
                                              shuffle=False)

    model = ResNet(ResidualBlock, [2, 2, 2], width=width, softmax_output=softmax_output).to(device)
    spoil(model, init_std, zero_layer)

    # Loss and optimizer
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    losses = []

    # For updating learning rate
    def update_lr(optimizer, lr):
        for param_group in optimizer.param_groups:
            param_group['lr'] = lr

    # Train the model
    total_step = len(train_loader)
    curr_lr = learning_rate
    for epoch in range(num_epochs):
        for i, (images, labels) in enumerate(train_loader):
            images = images.to(device)
            labels = labels.to(device)

            # Forward pass
            outputs = model(images)
            loss = criterion(outputs, labels)

            # Backward and optimize
            optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()
            losses.append(loss.item())

            if verbose and (i+1) % total_step == 0:  # upstream: every 100 steps
                print ("Epoch [{}/{}], Step [{}/{}] Loss: {:.4f}"
                       .format(epoch+1, num_epochs, i+1, total_step, loss.item()))

        # Decay learning rate (upstream: every 20 of 80 epochs; here every 5 of 10)
        if (epoch+1) % decay_every == 0:
            curr_lr /= 3
            update_lr(optimizer, curr_lr)
    monitor.close()

    # Test the model
    model.eval()
    with torch.no_grad():
        correct = 0
        total = 0
        for images, labels in test_loader:
            images = images.to(device)
            labels = labels.to(device)
            outputs = model(images)
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()

        if verbose:
            print('Accuracy of the model on the test images: {} %'.format(100 * correct / total))
    return monitor, losses, correct / total


# ==== language_model/data_utils.py ================================================================
class Dictionary(object):
    def __init__(self):
        self.word2idx = {}
        self.idx2word = {}
        self.idx = 0

    def add_word(self, word):
        if not word in self.word2idx:
            self.word2idx[word] = self.idx
            self.idx2word[self.idx] = word
            self.idx += 1

    def __len__(self):
        return len(self.word2idx)


class Corpus(object):
    def __init__(self):
        self.dictionary = Dictionary()

    def get_data(self, text, batch_size=20):  # upstream: a path, opened twice with open(path, 'r')
        # Add words to the dictionary
        with io.StringIO(text) as f:
            tokens = 0
            for line in f:
                words = line.split() + ['<eos>']
                tokens += len(words)
                for word in words:
                    self.dictionary.add_word(word)

        # Tokenize the file content
        ids = torch.LongTensor(tokens)
        token = 0
        with io.StringIO(text) as f:
            for line in f:
                words = line.split() + ['<eos>']
                for word in words:
                    ids[token] = self.dictionary.word2idx[word]
                    token += 1
        num_batches = ids.size(0) // batch_size
        ids = ids[:num_batches*batch_size]
        return ids.view(batch_size, -1)


# ==== language_model/main.py ======================================================================
# RNN based language model
class RNNLM(nn.Module):
    def __init__(self, vocab_size, embed_size, hidden_size, num_layers):
        super(RNNLM, self).__init__()
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.lstm = nn.LSTM(embed_size, hidden_size, num_layers, batch_first=True)
        self.linear = nn.Linear(hidden_size, vocab_size)

    def forward(self, x, h):
        # Embed word ids to vectors
        x = self.embed(x)

        # Forward propagate LSTM
        out, (h, c) = self.lstm(x, h)

        # Reshape output to (batch_size*sequence_length, hidden_size)
        out = out.reshape(out.size(0)*out.size(1), out.size(2))

        # Decode hidden states of all time steps
        out = self.linear(out)
        return out, (h, c)


def run_lm(seed, lr_mult, init_std, zero_layer, num_epochs, every, verbose, clip=0.5, optim="adam", lines=3000,
           hidden_size=256):
    # Hyper-parameters
    embed_size = 128
    num_layers = 1
    batch_size = 20
    seq_length = 30
    learning_rate = (0.002 if optim == "adam" else 20.0) * lr_mult

    # Load "Penn Treebank" dataset -> the first ``lines`` lines of the standard library's docstrings
    corpus = Corpus()
    text = "\n".join(stdlib_docstrings().split("\n")[:lines]) + "\n"
    ids = corpus.get_data(text, batch_size)
    vocab_size = len(corpus.dictionary)
    num_batches = ids.size(1) // seq_length

    model = RNNLM(vocab_size, embed_size, hidden_size, num_layers).to(device)
    spoil(model, init_std, zero_layer)

    # Loss and optimizer
    criterion = nn.CrossEntropyLoss()
    if optim == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic
    losses = []

    # Truncated backpropagation
    def detach(states):
        return [state.detach() for state in states]

    # Train the model
    for epoch in range(num_epochs):
        # Set initial hidden and cell states
        states = (torch.zeros(num_layers, batch_size, hidden_size).to(device),
                  torch.zeros(num_layers, batch_size, hidden_size).to(device))

        for i in range(0, ids.size(1) - seq_length, seq_length):
            # Get mini-batch inputs and targets
            inputs = ids[:, i:i+seq_length].to(device)
            targets = ids[:, (i+1):(i+1)+seq_length].to(device)

            # Forward pass
            states = detach(states)
            outputs, states = model(inputs, states)
            loss = criterion(outputs, targets.reshape(-1))

            # Backward and optimize
            optimizer.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            if clip is not None:  # a variant: upstream always clips at 0.5
                clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            losses.append(loss.item())

            step = (i+1) // seq_length
            if verbose and step % 10 == 0:  # upstream: every 100 steps
                print ('Epoch [{}/{}], Step[{}/{}], Loss: {:.4f}, Perplexity: {:5.2f}'
                       .format(epoch+1, num_epochs, step, num_batches, loss.item(), np.exp(min(loss.item(), 50))))
    monitor.close()
    return monitor, losses, {"vocab_size": vocab_size, "tokens": int(ids.numel()), "steps_per_epoch": num_batches}


# ==== the changes ==================================================================================
def to_tensor(train, test, raw_pixels):
    """digits28(raw_pixels=True)'s 0..255 values divided by 255 as ToTensor does (no Normalize, as upstream), or kept."""
    if raw_pixels:  # the bug: 0..255 pixel values straight into the network
        return train, test
    return tuple(torch.utils.data.TensorDataset(d.tensors[0] / 255.0, d.tensors[1]) for d in (train, test))


def spoil(model, init_std, zero_layer):
    if init_std is not None:  # the bug: every weight matrix (LSTM, Linear, Conv2d) drawn from N(0, init_std)
        for name, p in model.named_parameters():
            if "weight" in name and p.dim() >= 2 and not name.startswith("embed"):
                nn.init.normal_(p, 0.0, init_std)
    if zero_layer:  # the bug: zeros_ on every parameter of one layer
        for p in getattr(model, zero_layer).parameters():
            nn.init.zeros_(p)


EPOCHS = {"birnn": 8, "resnet": 10, "lm": 5}  # upstream: 2, 80 and 5


def train(seed: int = 1, prog: str = "birnn", lr_mult: float = 1.0, init_std: float | None = None,
          zero_layer: str | None = None, raw_pixels: bool = False, softmax_output: bool = False,
          epochs: int | None = None, every: int = 10, verbose: bool = False, **kw) -> dict:
    """Program ``prog`` (birnn, resnet, lm) with one change per keyword: ``lr_mult`` scales the learning rate;
    ``init_std`` draws every weight matrix (LSTM, Linear, Conv2d; not the LM's embedding, N(0, 1) already) from
    N(0, init_std) instead of PyTorch's defaults; ``zero_layer`` puts zeros_ on every parameter of that submodule;
    ``raw_pixels`` feeds the 0..255 values (no ``ToTensor`` scaling); ``softmax_output`` ends ``forward`` with
    ``F.softmax(out, dim=1)`` before ``nn.CrossEntropyLoss``.  ``kw``: ``clip`` (None: no clipping) and ``optim``
    ("sgd") for lm; ``width``, ``flip``, ``decay_every`` for resnet."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only: denormal floats (e.g. in saturated LSTM gates) are 10x slower
    torch.manual_seed(seed)
    t0 = time.time()
    epochs = epochs or EPOCHS[prog]
    if prog == "lm":
        monitor, losses, extra = run_lm(seed, lr_mult, init_std, zero_layer, epochs, every, verbose, **kw)
        value = float(np.mean(losses[-20:]))
        return {"monitors": {"": monitor}, "metric": "train_loss", "value": value, "initial": float(np.mean(losses[:5])),
                "chance": math.log(extra["vocab_size"]),
                "extra": dict(extra, prog=prog, steps=len(losses), epochs=epochs, lr_mult=lr_mult, **kw),
                "seconds": time.time() - t0}
    fn = run_birnn if prog == "birnn" else run_resnet
    monitor, losses, acc = fn(seed, lr_mult, init_std, zero_layer, raw_pixels, softmax_output, epochs, every, verbose,
                              **kw)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(acc), "chance": 0.1, "initial": None,
            "extra": {"prog": prog, "train_loss": float(np.mean(losses[-20:])), "steps": len(losses), "epochs": epochs,
                      "lr_mult": lr_mult, "test_images": 360, **kw},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="tutorial", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_B = ("tbirnn", "birnn", "bidirectional_recurrent_neural_network (BiLSTM 2x128 over 28 rows, Adam lr 0.003; 8 epochs "
      "of 15 steps)", 0.003)
_R = ("tresnet", "resnet", "deep_residual_network (ResNet [2, 2, 2] width 8, Adam lr 0.001 /3 after epoch 5; 10 epochs "
      "of 15 steps)", 0.001)
_L = ("tlm", "lm", "language_model (LSTM LM hidden 256, Adam lr 0.002, clip_grad_norm_ 0.5; 5 epochs of 26 steps)", 0.002)
CASES: list[dict] = []
for _p, _prog, _what, _lr in (_B, _R, _L):
    _k = {"prog": _prog}
    CASES += (
        [_case(f"{_p}_healthy_s{s}", "healthy", s, dict(_k), f"{_what}: unchanged", False) for s in (1, 2, 3)]
        + [_case(f"{_p}_lr_x{k}_s{s}", "lr_high", s, dict(_k, lr_mult=k), f"{_what}: lr x{k} ({_lr * k:g})")
           for k, ss in ((10, (1, 2) if _prog != "lm" else (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
        + [_case(f"{_p}_lr_div1000_s1", "lr_low", 1, dict(_k, lr_mult=1e-3), f"{_what}: lr /1000 ({_lr / 1000:g})")]
        + [_case(f"{_p}_init_std1_s{s}", "init_large", s, dict(_k, init_std=1.0),
                 f"{_what}: nn.init.normal_(std=1.0) on every weight matrix ("
                 + {"birnn": "all LSTM weight_ih/weight_hh and the fc", "resnet": "every Conv2d and the fc",
                    "lm": "the LSTM's weight_ih/weight_hh and the decoder Linear; the embedding is N(0, 1) already"}[_prog]
                 + ") instead of PyTorch's default init (biases kept)") for s in (1, 2)]
    )
CASES += (
    [_case("tbirnn_zero_lstm_s1", "symmetric_init", 1, {"prog": "birnn", "zero_layer": "lstm"},
           f"{_B[2]}: nn.init.zeros_ on every parameter of the LSTM (both layers and directions, weights and biases)")]
    + [_case(f"tbirnn_raw_pixels_s{s}", "unscaled_inputs", s, {"prog": "birnn", "raw_pixels": True},
             f"{_B[2]}: raw 0..255 pixel values (no ToTensor scaling)") for s in (1, 2)]
    + [_case("tbirnn_softmax_ce_s1", "wrong_loss", 1, {"prog": "birnn", "softmax_output": True},
             f"{_B[2]}: forward ends with F.softmax(out, dim=1), fed to nn.CrossEntropyLoss (a softmax twice)")]
    + [_case("tresnet_zero_conv_s1", "symmetric_init", 1, {"prog": "resnet", "zero_layer": "conv"},
             f"{_R[2]}: nn.init.zeros_ on the stem conv3x3(3, 8) (the first layer)")]
    + [_case(f"tresnet_raw_pixels_s{s}", "unscaled_inputs", s, {"prog": "resnet", "raw_pixels": True},
             f"{_R[2]}: raw 0..255 pixel values (no ToTensor scaling)") for s in (1, 2)]
    + [_case("tresnet_softmax_ce_s1", "wrong_loss", 1, {"prog": "resnet", "softmax_output": True},
             f"{_R[2]}: forward ends with F.softmax(out, dim=1), fed to nn.CrossEntropyLoss (a softmax twice)")]
    + [_case("tlm_zero_lstm_s1", "symmetric_init", 1, {"prog": "lm", "zero_layer": "lstm"},
             f"{_L[2]}: nn.init.zeros_ on every parameter of the LSTM (weights and biases)")]
    + [_case("tlm_no_clip_s1", "no_clipping", 1, {"prog": "lm", "clip": None},
             f"{_L[2]}: no clip_grad_norm_ at the default Adam lr 0.002")]
    # a rate at which the clip matters: SGD lr 40 with upstream's clip 0.5, its own healthy runs the controls
    + [_case(f"tlmsgd_healthy_s{s}", "healthy", s, {"prog": "lm", "optim": "sgd", "lr_mult": 2},
             "language_model (LSTM LM hidden 256; 5 epochs of 26 steps) with torch.optim.SGD(lr=40) instead of Adam "
             "(lr 0.002), clip_grad_norm_ 0.5 kept", False) for s in (1, 2)]
    + [_case(f"tlmsgd_no_clip_s{s}", "no_clipping", s, {"prog": "lm", "optim": "sgd", "lr_mult": 2, "clip": None},
             "language_model (LSTM LM hidden 256; 5 epochs of 26 steps) with torch.optim.SGD(lr=40) instead of Adam, "
             "and no clip_grad_norm_ (control: the same SGD run with the clip 0.5, tlmsgd_healthy)") for s in (1, 2)]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
