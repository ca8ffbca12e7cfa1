"""Dive into Deep Learning (d2l-ai/d2l-en): LeNet and the concise RNN language model, watched by gradmedic.

Adapted from https://github.com/d2l-ai/d2l-en (commit 23d7a5aecceee57d1292c56e90cce307f183bb0a; the book's sample
code is under the modified MIT licence of LICENSE-SAMPLECODE, see LICENSE-d2l): the PyTorch tabs of
chapter_convolutional-neural-networks/lenet.md ("lenet") and chapter_recurrent-neural-networks/rnn-concise.md
("rnn"), with the d2l package's plumbing they use copied from d2l/torch.py of the same commit (the package is not
installed here): ``Module`` (``forward`` = ``self.net``, ``training_step``, ``configure_optimizers`` = SGD at
``self.lr``, ``apply_init``), ``Classifier`` (``loss`` = ``F.cross_entropy`` on the reshaped logits, ``accuracy``),
``Trainer.fit``/``fit_epoch``/``clip_gradients`` as plain loops (per batch: ``training_step``, ``zero_grad``,
then under ``torch.no_grad()``: ``loss.backward()``, ``clip_gradients`` when ``gradient_clip_val > 0`` - the
global norm over all parameters scaled to the value - and ``optim.step()``), ``TimeMachine`` (``_preprocess``:
letters only, lower case; ``_tokenize``: characters; ``build``; every window of ``num_steps + 1`` tokens; the
first ``num_train`` windows for training, shuffled by a ``DataLoader``), ``Vocab``, ``RNNLMScratch``
(one-hot inputs, ``forward``, ``predict``), ``RNN`` (``nn.RNN``) and ``RNNLM`` (a ``LazyLinear`` output layer).

Kept as in the book:
- lenet: ``LeNet`` (LazyConv2d(6, 5, padding 2), Sigmoid, AvgPool2d(2, 2), LazyConv2d(16, 5), Sigmoid,
  AvgPool2d(2, 2), Flatten, LazyLinear 120, Sigmoid, LazyLinear 84, Sigmoid, LazyLinear 10), ``init_cnn``
  (``xavier_uniform_`` on every Conv2d and Linear weight, biases left at the lazy modules' default) applied by
  ``model.apply_init([next(iter(train_dataloader))[0]], init_cnn)``, ``LeNet(lr=0.1)``: plain SGD lr 0.1,
  cross-entropy, no clipping, inputs in [0, 1] as ``transforms.ToTensor()`` gives them (the book does not
  Normalize), training set shuffled each epoch.
- rnn: ``TimeMachine(batch_size=1024, num_steps=32)`` (num_train 10000, so 10 steps an epoch),
  ``RNN(num_inputs=len(vocab), num_hiddens=32)``, ``RNNLM(rnn, vocab_size=len(vocab), lr=1)``, the
  ``model.predict('it has', 20, vocab)`` before training (it also materializes the LazyLinear before the
  optimizer is built), ``Trainer(gradient_clip_val=1)``: SGD lr 1 with the clip at 1, PyTorch's default inits,
  no state carried between batches (``forward`` starts each batch from a zero state).

Changed to run offline on one CPU thread:
- lenet: Fashion-MNIST is mnist.py's ``digits28`` (scikit-learn's ``load_digits``, split 80/20 with
  random_state=0, upsampled bilinearly to 28x28, 1437 training and 360 test images) divided by 255 as ToTensor
  does (the ``raw_pixels`` variant leaves the 0..255 values); batch 32 instead of 128 and 120 epochs (5400
  steps) instead of 10 (the book: 10 x 469 = 4690 steps): the sigmoid LeNet sits at the loss ln 10 = 2.30 for its
  first ~2000 steps whatever the batch (at batch 128, 1800 steps on seed 1 had not left it: 2.26 and 8% test
  accuracy after 150 epochs; at batch 16 it left after ~2800 steps, at 32 after ~2000), and a batch-32 step costs
  a quarter of a batch-128 one; at 90 epochs seed 3 ended at 0.897, so 120.  The metric is the accuracy on the
  360 test images after training (the book plots the validation loss and accuracy every epoch; that pass is left
  out: it changes nothing in the training).
- rnn: H. G. Wells' text is the first 200,000 characters of shipped_text.py's ``stdlib_docstrings()`` (175,359
  characters after ``_preprocess``; the vocabulary is the same 28 tokens: ``<unk>``, space, a-z); 60 epochs (600
  steps) instead of 100 (~30 s instead of ~55 s of CPU; the healthy run's loss is 1.90 after 60, 1.74 after 100 on
  seed 1); no validation pass per epoch (the validation loss over the 5000 held-out windows is computed once at
  the end, ``extra["val_loss"]``), and the ``predict`` after training goes to ``extra``.  The metric is the train
  loss, the mean of the last 20 steps' batch losses, against the mean of the first 5 (``initial``), as minGPT's
  port reports it.
- both: the ProgressBoard (plots), ``save_hyperparameters`` and the GPU handling are left out; the device is the
  CPU; ``torch.manual_seed(seed)`` before the data and model are built (the book does not seed); the global RNG
  drives the DataLoader's shuffle, as in the book.

The watch, as a user would: ``monitor = gradmedic.watch(model, optim, every=10)`` right after
``model.configure_optimizers()`` in ``fit``, ``monitor.step(loss)`` right after ``loss.backward()`` (inside
``fit_epoch``'s ``torch.no_grad()`` block), before ``clip_gradients`` and ``optim.step()``; ``monitor.close()``
after the loop.

``CASES`` (in the shape of run.py's ``case()``, all of program "d2l"; name prefixes d2llenet, d2lrnn: run.py finds
a variant's control as the first "_" token of its name + "_healthy_s<seed>"): each program on seeds 1-3, and one
change each against the same seed's healthy run: the learning rate x10, x100 (seeds 1 and 2), x1000 and /1000;
for LeNet ``normal_(0, 1)`` in place of ``init_cnn``'s Xavier and raw 0..255 pixels; for the RNN no gradient
clipping at the book's lr 1 (seeds 1 and 2) and no clipping at lr x10 (its control the healthy run at lr 1 with
the clip).  Labels come from run.py's outcome rules only.
Recorded (cases-public7, 892 s for the 21 runs on a shared 2-core machine; 26-85 s a run): LeNet healthy
0.944-0.956 test accuracy on seeds 1-3; lr x10 (1.0) 0.075, x100 0.108 and 0.100, x1000 0.108 (training loss 731),
/1000 0.075 (still at ln 10): broken; N(0, 1) weights 0.964 but its loss reached 8.1 on the way (over twice the
control's largest, 2.66): ambiguous; raw 0..255 pixels 0.986 (labelled healthy: the large inputs move the
sigmoid LeNet off its ln 10 plateau sooner).  RNN healthy 1.898-1.901 from 3.13-3.14 on seeds 1-3; lr x10 19.2,
x100 281 and 256, x1000 2524, /1000 3.29 (from 3.36): broken; no clipping at lr 1 healthy on seeds 1 and 2, and
the very same runs as the healthy ones (1.89953 and 1.9009: at lr 1 the global gradient norm never exceeds 1, so
the clip never acts); no clipping at lr x10 136.6: broken (but the clip does not rescue lr x10 either: 19.2 with
it, lr_x10_s1).
"""

from __future__ import annotations

import collections
import math
import re
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(model, optim, every=10) right after model.configure_optimizers() (d2l's Trainer.fit); "
              "monitor.step(loss) right after loss.backward() in Trainer.fit_epoch (inside its torch.no_grad() "
              "block), before clip_gradients (the RNN LM's gradient_clip_val=1) and optim.step()")


# --- d2l.Module / d2l.Classifier / d2l.Trainer (d2l/torch.py), the parts the two programs use -----------------------

class Module(nn.Module):
    """d2l.Module without its ProgressBoard: ``forward`` is ``self.net``, the optimizer is SGD at ``self.lr``."""

    def forward(self, X):
        assert hasattr(self, 'net'), 'Neural network is defined'
        return self.net(X)

    def training_step(self, batch):
        l = self.loss(self(*batch[:-1]), batch[-1])  # noqa: E741
        return l

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)

    def apply_init(self, inputs, init=None):
        self.forward(*inputs)
        if init is not None:
            self.net.apply(init)


class Classifier(Module):
    def accuracy(self, Y_hat, Y, averaged=True):
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        preds = Y_hat.argmax(axis=1).type(Y.dtype)
        compare = (preds == Y.reshape(-1)).type(torch.float32)
        return compare.mean() if averaged else compare

    def loss(self, Y_hat, Y, averaged=True):
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        Y = Y.reshape((-1,))
        return F.cross_entropy(
            Y_hat, Y, reduction='mean' if averaged else 'none')


def clip_gradients(grad_clip_val, model):
    """d2l.Trainer.clip_gradients."""
    params = [p for p in model.parameters() if p.requires_grad]
    norm = torch.sqrt(sum(torch.sum((p.grad ** 2)) for p in params))  # noqa: UP034
    if norm > grad_clip_val:
        for param in params:
            param.grad[:] *= grad_clip_val / norm


def fit(model, train_dataloader, max_epochs, gradient_clip_val=0, every=10, verbose=False):
    """d2l.Trainer.fit and fit_epoch as plain loops (no validation pass: the book's only plots it), watched."""
    optim = model.configure_optimizers()
    monitor = gradmedic.watch(model, optim, every=every)
    losses = []
    t0 = time.time()
    for epoch in range(max_epochs):
        model.train()
        for batch in train_dataloader:
            loss = model.training_step(batch)
            optim.zero_grad()
            with torch.no_grad():
                loss.backward()
                monitor.step(loss)  # gradmedic
                if gradient_clip_val > 0:  # To be discussed later
                    clip_gradients(gradient_clip_val, model)
                optim.step()
            losses.append(loss.item())
        if verbose and (epoch + 1) % max(1, max_epochs // 10) == 0:
            print(f"epoch {epoch + 1} loss {np.mean(losses[-20:]):.4f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    return monitor, losses


# --- LeNet (chapter_convolutional-neural-networks/lenet.md) ---------------------------------------------------------

def init_cnn(module):
    """Initialize weights for CNNs."""
    if type(module) == nn.Linear or type(module) == nn.Conv2d:  # noqa: E721
        nn.init.xavier_uniform_(module.weight)


def init_normal1(module):
    """The bug: N(0, 1) weights in place of init_cnn's Xavier."""
    if type(module) == nn.Linear or type(module) == nn.Conv2d:  # noqa: E721
        nn.init.normal_(module.weight, 0.0, 1.0)


class LeNet(Classifier):
    """The LeNet-5 model."""
    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.lr, self.num_classes = lr, num_classes
        self.net = nn.Sequential(
            nn.LazyConv2d(6, kernel_size=5, padding=2), nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.LazyConv2d(16, kernel_size=5), nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Flatten(),
            nn.LazyLinear(120), nn.Sigmoid(),
            nn.LazyLinear(84), nn.Sigmoid(),
            nn.LazyLinear(num_classes))


def digits_fashion(raw_pixels=False):
    """FashionMNIST's stand-in: digits28 (1x28x28) in [0, 1] as transforms.ToTensor() gives them (the book does not
    Normalize); ``raw_pixels``: the 0..255 values."""
    from mnist import digits28

    d_train, d_test = digits28(raw_pixels=True)  # 0..255
    if not raw_pixels:
        d_train, d_test = (torch.utils.data.TensorDataset(d.tensors[0] / 255.0, d.tensors[1])
                           for d in (d_train, d_test))
    return d_train, d_test


def run_lenet(seed, lr_mult=1.0, raw_pixels=False, init_std=None, max_epochs=120, every=10, verbose=False,
              batch_size=32):
    d_train, d_test = digits_fashion(raw_pixels)
    train_loader = torch.utils.data.DataLoader(d_train, batch_size, shuffle=True)
    model = LeNet(lr=0.1 * lr_mult)
    model.apply_init([next(iter(train_loader))[0]], init_normal1 if init_std else init_cnn)
    monitor, losses = fit(model, train_loader, max_epochs, every=every, verbose=verbose)
    model.eval()
    with torch.no_grad():
        X, Y = d_test.tensors
        Y_hat = model(X)
        acc = float(model.accuracy(Y_hat, Y))
        test_loss = float(model.loss(Y_hat, Y))
    return monitor, losses, {"accuracy": acc, "test_loss": test_loss, "lr": model.lr}


# --- the concise RNN LM (chapter_recurrent-neural-networks/rnn-concise.md, rnn-scratch.md, text-sequence.md) -------

class Vocab:
    """Vocabulary for text."""
    def __init__(self, tokens=[], min_freq=0, reserved_tokens=[]):  # noqa: B006
        # Flatten a 2D list if needed
        if tokens and isinstance(tokens[0], list):
            tokens = [token for line in tokens for token in line]
        # Count token frequencies
        counter = collections.Counter(tokens)
        self.token_freqs = sorted(counter.items(), key=lambda x: x[1],
                                  reverse=True)
        # The list of unique tokens
        self.idx_to_token = list(sorted(set(['<unk>'] + reserved_tokens + [
            token for token, freq in self.token_freqs if freq >= min_freq])))
        self.token_to_idx = {token: idx
                             for idx, token in enumerate(self.idx_to_token)}

    def __len__(self):
        return len(self.idx_to_token)

    def __getitem__(self, tokens):
        if not isinstance(tokens, (list, tuple)):
            return self.token_to_idx.get(tokens, self.unk)
        return [self.__getitem__(token) for token in tokens]

    @property
    def unk(self):  # Index for the unknown token
        return self.token_to_idx['<unk>']


class TimeMachine:
    """d2l.TimeMachine with the book's text replaced by shipped_text's docstrings (first ``raw_chars`` characters)."""
    def _download(self):
        from shipped_text import stdlib_docstrings
        return stdlib_docstrings()[:self.raw_chars]

    def _preprocess(self, text):
        return re.sub('[^A-Za-z]+', ' ', text).lower()

    def _tokenize(self, text):
        return list(text)

    def build(self, raw_text, vocab=None):
        tokens = self._tokenize(self._preprocess(raw_text))
        if vocab is None:
            vocab = Vocab(tokens)
        corpus = [vocab[token] for token in tokens]
        return corpus, vocab

    def __init__(self, batch_size, num_steps, num_train=10000, num_val=5000, raw_chars=200_000):
        self.batch_size, self.num_steps, self.num_train, self.num_val = batch_size, num_steps, num_train, num_val
        self.raw_chars = raw_chars
        corpus, self.vocab = self.build(self._download())
        array = torch.tensor([corpus[i:i+num_steps+1]
                              for i in range(len(corpus)-num_steps)])
        self.X, self.Y = array[:, :-1], array[:, 1:]

    def get_tensorloader(self, tensors, train, indices=slice(0, None)):
        tensors = tuple(a[indices] for a in tensors)
        dataset = torch.utils.data.TensorDataset(*tensors)
        return torch.utils.data.DataLoader(dataset, self.batch_size,
                                           shuffle=train)

    def get_dataloader(self, train):
        idx = slice(0, self.num_train) if train else slice(
            self.num_train, self.num_train + self.num_val)
        return self.get_tensorloader([self.X, self.Y], train, idx)


class RNN(Module):
    """The RNN model implemented with high-level APIs."""
    def __init__(self, num_inputs, num_hiddens):
        super().__init__()
        self.num_inputs, self.num_hiddens = num_inputs, num_hiddens
        self.rnn = nn.RNN(num_inputs, num_hiddens)

    def forward(self, inputs, H=None):
        return self.rnn(inputs, H)


class RNNLMScratch(Classifier):
    """The RNN-based language model (d2l.RNNLMScratch: one-hot inputs, ``output_layer``, ``predict``)."""
    def __init__(self, rnn, vocab_size, lr=0.01):
        super().__init__()
        self.rnn, self.vocab_size, self.lr = rnn, vocab_size, lr
        self.init_params()

    def one_hot(self, X):
        # Output shape: (num_steps, batch_size, vocab_size)
        return F.one_hot(X.T, self.vocab_size).type(torch.float32)

    def forward(self, X, state=None):
        embs = self.one_hot(X)
        rnn_outputs, _ = self.rnn(embs, state)
        return self.output_layer(rnn_outputs)

    def predict(self, prefix, num_preds, vocab, device=None):
        state, outputs = None, [vocab[prefix[0]]]
        for i in range(len(prefix) + num_preds - 1):
            X = torch.tensor([[outputs[-1]]], device=device)
            embs = self.one_hot(X)
            rnn_outputs, state = self.rnn(embs, state)
            if i < len(prefix) - 1:  # Warm-up period
                outputs.append(vocab[prefix[i + 1]])
            else:  # Predict num_preds steps
                Y = self.output_layer(rnn_outputs)
                outputs.append(int(Y.argmax(axis=2).reshape(1)))
        return ''.join([vocab.idx_to_token[i] for i in outputs])


class RNNLM(RNNLMScratch):
    """The RNN-based language model implemented with high-level APIs."""
    def init_params(self):
        self.linear = nn.LazyLinear(self.vocab_size)

    def output_layer(self, hiddens):
        return self.linear(hiddens).swapaxes(0, 1)


def run_rnn(seed, lr_mult=1.0, clip=1.0, max_epochs=100, every=10, verbose=False):
    data = TimeMachine(batch_size=1024, num_steps=32)
    rnn = RNN(num_inputs=len(data.vocab), num_hiddens=32)
    model = RNNLM(rnn, vocab_size=len(data.vocab), lr=1 * lr_mult)
    before = model.predict('it has', 20, data.vocab)  # as the book (it also materializes the LazyLinear)
    monitor, losses = fit(model, data.get_dataloader(True), max_epochs, gradient_clip_val=clip or 0, every=every,
                          verbose=verbose)
    model.eval()
    with torch.no_grad():
        val = [float(model.loss(model(X), Y)) for X, Y in data.get_dataloader(False)]
        after = model.predict('it has', 20, data.vocab)
    return monitor, losses, {"val_loss": float(np.mean(val)), "vocab_size": len(data.vocab), "lr": model.lr,
                             "clip": clip, "predict_before": before, "predict_after": after,
                             "corpus_chars": len(data.X) + data.num_steps}


def train(seed: int = 1, prog: str = "lenet", lr_mult: float = 1.0, raw_pixels: bool = False,
          init_std: float | None = None, clip: float | None = 1.0, max_epochs: int | None = None, every: int = 10,
          verbose: bool = False, **kw) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    torch.manual_seed(seed)
    t0 = time.time()
    if prog == "lenet":
        max_epochs = max_epochs or EPOCHS["lenet"]
        monitor, losses, ex = run_lenet(seed, lr_mult, raw_pixels, init_std, max_epochs, every, verbose, **kw)
        return {"monitors": {"": monitor}, "metric": "accuracy", "value": ex["accuracy"], "chance": 0.1,
                "initial": None, "initial_what": "chance accuracy 0.1",
                "extra": dict(ex, prog=prog, train_loss=float(np.mean(losses[-20:])), steps=len(losses),
                              epochs=max_epochs, lr_mult=lr_mult, test_images=360),
                "seconds": time.time() - t0}
    max_epochs = max_epochs or EPOCHS["rnn"]
    monitor, losses, ex = run_rnn(seed, lr_mult, clip, max_epochs, every, verbose)
    value = float(np.mean(losses[-20:]))
    return {"monitors": {"": monitor}, "metric": "train_loss", "value": value if math.isfinite(value) else float("nan"),
            "initial": float(np.mean(losses[:5])), "initial_what": "untrained: mean loss of the first 5 steps",
            "chance": math.log(ex["vocab_size"]),
            "extra": dict(ex, prog=prog, steps=len(losses), epochs=max_epochs, lr_mult=lr_mult),
            "seconds": time.time() - t0}


EPOCHS = {"lenet": 120, "rnn": 60}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="d2l", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_LN = "LeNet (sigmoid, avg pool, init_cnn Xavier, SGD lr 0.1, batch 32, 120 epochs of 45 steps)"
_RN = "concise RNN LM (nn.RNN hidden 32, SGD lr 1, gradient_clip_val=1, batch 1024, 60 epochs of 10 steps)"
CASES: list[dict] = (
    [_case(f"d2llenet_healthy_s{s}", "healthy", s, {"prog": "lenet"}, f"{_LN}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"d2llenet_lr_x{k}_s{s}", "lr_high", s, {"prog": "lenet", "lr_mult": k}, f"{_LN}: lr x{k} ({0.1 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("d2llenet_lr_div1000_s1", "lr_low", 1, {"prog": "lenet", "lr_mult": 1e-3}, f"{_LN}: lr /1000 (0.0001)")]
    + [_case("d2llenet_init_std1_s1", "init_large", 1, {"prog": "lenet", "init_std": 1.0},
             f"{_LN}: nn.init.normal_(weight, 0, 1) on every Conv2d and Linear in place of init_cnn's xavier_uniform_ "
             "(biases keep the lazy modules' default init)")]
    + [_case("d2llenet_raw_pixels_s1", "unscaled_inputs", 1, {"prog": "lenet", "raw_pixels": True},
             f"{_LN}: raw 0..255 pixel values (no ToTensor scaling)")]
    + [_case(f"d2lrnn_healthy_s{s}", "healthy", s, {"prog": "rnn"}, f"{_RN}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"d2lrnn_lr_x{k}_s{s}", "lr_high", s, {"prog": "rnn", "lr_mult": k},
             f"{_RN}: lr x{k} ({k:g}), clip 1 kept")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("d2lrnn_lr_div1000_s1", "lr_low", 1, {"prog": "rnn", "lr_mult": 1e-3}, f"{_RN}: lr /1000 (0.001)")]
    + [_case(f"d2lrnn_no_clip_s{s}", "no_clipping", s, {"prog": "rnn", "clip": None},
             f"{_RN}: no clip_gradients (gradient_clip_val=0) at the book's lr 1") for s in (1, 2)]
    + [_case("d2lrnn_no_clip_lr_x10_s1", "no_clipping", 1, {"prog": "rnn", "clip": None, "lr_mult": 10},
             f"{_RN}: no clip_gradients and lr x10 (10); control: the healthy run (lr 1 with the clip)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
