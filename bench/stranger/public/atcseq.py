"""Alfredo Canziani's NYU Deep Learning course (Atcold/NYU-DLSP20): sequence classification, watched by gradmedic.

Adapted from https://github.com/Atcold/NYU-DLSP20 (CC BY-NC-SA 4.0, see LICENSE-atcseq), commit
3049c83260ba05700e2ab9b7ed13cdbe5ddba0fd: notebook 08-seq_classification.ipynb ("LSTM: Increasing Epoch to 100":
``SimpleLSTM(input_size, hidden_size=4, output_size)``, ``CrossEntropyLoss``, ``torch.optim.RMSprop(lr=0.001)``,
the ``train`` / ``test`` / ``train_and_test`` loops) with the data generator of res/sequential_tasks.py
(``TemporalOrderExp6aSequence``, Hochreiter & Schmidhuber's experiment 6a, ``pad_sequences`` and
``to_categorical``), quoted below.

Kept as upstream: the generator (numpy's global random state seeded with 8382 by ``get_predefined_generator`` for
the training and again for the test generator, EASY level: lengths 7-8, t1 in 1-2, t2 in 4-5, 8 one-hot symbols,
4 classes, pre-padded to 9 steps, ``__len__`` 31 batches of 32 "per epoch", a fresh random batch on every
``__getitem__``); ``SimpleLSTM`` (``torch.nn.LSTM(input_size, hidden_size, batch_first=True)`` and a ``Linear`` on
every step, PyTorch's default init) and ``SimpleRNN`` (``nn.RNN(..., nonlinearity='relu')``) as written;
``hidden_size = 4``; the output of the last step; ``target.argmax(dim=1)``; ``CrossEntropyLoss()``;
``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()`` per batch; RMSprop lr 0.001.

Changed, to run offline within the time budget on one CPU thread: 30 epochs of 31 batches (930 steps) instead of
the notebook's 100 (EPOCHS below; the LSTM is at 100% test accuracy by then); the per-epoch test pass and the
plots are left out, the test generator is run once after training (its 31 batches of 32 fresh sequences, 992 in
all) and its accuracy is the metric; ``torch.manual_seed(seed)`` instead of the notebook's ``torch.manual_seed(1)``;
``six.string_types`` is ``str`` (the ``six`` import dropped; the quoted code keeps its style, with noqa marks);
CPU only.  The generator methods the loop never calls (decoding, ``EchoData``) and ``get_states_across_time``
(plots only) are left out.  The data streams come from numpy's global state, seeded 8382 as upstream, so every seed
sees the same sequences; the seed changes the model's init only.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after
``optimizer = torch.optim.RMSprop(...)``, ``monitor.step(loss)`` right after ``loss.backward()`` in ``train``,
before ``optimizer.step()``; ``monitor.close()`` after the epochs.

``CASES`` (program "atcseq"): the program on seeds 1-3, and one change each against the same seed's healthy run:
lr x10, x1000 (seeds 1 and 2), /1000; every LSTM and Linear weight and bias zero (symmetric); the one-hot inputs
x100; ``optimizer.zero_grad()`` left out; softmax over the last step's logits before ``CrossEntropyLoss``; lr x2
(expected harmless); the notebook's own ``SimpleRNN`` instead of ``SimpleLSTM`` (cause "healthy": on EASY it is not
a failure, so no cause of causes.py fits).  Labels come from run.py's outcome rules only.  Tried and dropped because
run.py labelled them ambiguous in a first recording: lr x100 (0.1) on seeds 1 and 2 (losses up to 4.1 / 4.4, then
100% test accuracy; lr x1000 replaced them) and every weight and bias ``normal_(std=1)`` (0.952; replaced by the
zero init).
Recorded (cases-public49, 3-5 s a run on the shared machine): healthy 1.000 test accuracy on seeds 1-3 (train loss
1.43 -> 0.29, 1.40 -> 0.14, 1.39 -> 0.26; every loss finite, largest 1.50); lr x10 (0.01): 1.000, train loss ~0:
healthy; lr x1000 (1.0): first losses 10.7 / 17.9, largest 25.6 / 45.5, train loss 1.66 / 1.97, 0.254 on both seeds:
broken; lr /1000: the loss stays at 1.42-1.44, 0.256: broken; zero init: the loss stays at 1.386 (ln 4), 0.259:
broken; inputs x100: train loss 1.10, 0.494: broken; zero_grad left out: 1.000 (train loss 0.10): healthy; softmax
before CrossEntropyLoss: train loss 0.94, 1.000: healthy; lr x2: 1.000: healthy; SimpleRNN: 1.000 (train loss
0.12): healthy.  Labels: 8 healthy (3 programs, 5 variants), 5 broken, 0 ambiguous; every loss finite.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn

import gradmedic

ARCH = "lstm"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = torch.optim.RMSprop(model.parameters(), "
              "lr=0.001); monitor.step(loss) right after loss.backward() in train(), before optimizer.step()")
LR = 0.001
EPOCHS = 30
HIDDEN = 4


# ---- res/sequential_tasks.py (quoted; six.string_types -> str) ------------------------------------------------------
def pad_sequences(sequences, maxlen=None, dtype='int32',
                  padding='pre', truncating='pre', value=0.):
    if not hasattr(sequences, '__len__'):
        raise ValueError('`sequences` must be iterable.')
    lengths = []
    for x in sequences:
        if not hasattr(x, '__len__'):
            raise ValueError('`sequences` must be a list of iterables. '
                             'Found non-iterable: ' + str(x))
        lengths.append(len(x))

    num_samples = len(sequences)
    if maxlen is None:
        maxlen = np.max(lengths)

    # take the sample shape from the first non empty sequence
    # checking for consistency in the main loop below.
    sample_shape = tuple()
    for s in sequences:
        if len(s) > 0:
            sample_shape = np.asarray(s).shape[1:]
            break

    is_dtype_str = np.issubdtype(dtype, np.str_)
    if isinstance(value, str) and dtype != object and not is_dtype_str:  # noqa: E721
        raise ValueError("`dtype` {} is not compatible with `value`'s type: {}\n"  # noqa: UP032
                         "You should set `dtype=object` for variable length strings."
                         .format(dtype, type(value)))

    x = np.full((num_samples, maxlen) + sample_shape, value, dtype=dtype)
    for idx, s in enumerate(sequences):
        if not len(s):
            continue  # empty list/array was found
        if truncating == 'pre':
            trunc = s[-maxlen:]
        elif truncating == 'post':
            trunc = s[:maxlen]
        else:
            raise ValueError('Truncating type "%s" '  # noqa: UP031
                             'not understood' % truncating)

        # check `trunc` has expected shape
        trunc = np.asarray(trunc, dtype=dtype)
        if trunc.shape[1:] != sample_shape:
            raise ValueError('Shape of sample %s of sequence at position %s '  # noqa: UP031
                             'is different from expected shape %s' %
                             (trunc.shape[1:], idx, sample_shape))

        if padding == 'post':
            x[idx, :len(trunc)] = trunc
        elif padding == 'pre':
            x[idx, -len(trunc):] = trunc
        else:
            raise ValueError('Padding type "%s" not understood' % padding)  # noqa: UP031
    return x


def to_categorical(y, num_classes=None, dtype='float32'):
    y = np.array(y, dtype='int')
    input_shape = y.shape
    if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
        input_shape = tuple(input_shape[:-1])
    y = y.ravel()
    if not num_classes:
        num_classes = np.max(y) + 1
    n = y.shape[0]
    categorical = np.zeros((n, num_classes), dtype=dtype)
    categorical[np.arange(n), y] = 1
    output_shape = input_shape + (num_classes,)
    categorical = np.reshape(categorical, output_shape)
    return categorical


class TemporalOrderExp6aSequence():  # noqa: UP039
    """
    From Hochreiter&Schmidhuber(1997):

        The goal is to classify sequences. Elements and targets are represented locally
        (input vectors with only one non-zero bit). The sequence starts with an B, ends
        with a E (the "trigger symbol") and otherwise consists of randomly chosen symbols
        from the set {a, b, c, d} except for two elements at positions t1 and t2 that are
        either X or Y . The sequence length is randomly chosen between 100 and 110, t1 is
        randomly chosen between 10 and 20, and t2 is randomly chosen between 50 and 60.
        There are 4 sequence classes Q, R, S, U which depend on the temporal order of X and Y.
        The rules are:
            X, X -> Q,
            X, Y -> R,
            Y , X -> S,
            Y , Y -> U.

    """

    def __init__(self, length_range=(100, 111), t1_range=(10, 21), t2_range=(50, 61),
                 batch_size=32, seed=None):

        self.classes = ['Q', 'R', 'S', 'U']
        self.n_classes = len(self.classes)

        self.relevant_symbols = ['X', 'Y']
        self.distraction_symbols = ['a', 'b', 'c', 'd']
        self.start_symbol = 'B'
        self.end_symbol = 'E'

        self.length_range = length_range
        self.t1_range = t1_range
        self.t2_range = t2_range
        self.batch_size = batch_size

        if seed is not None:
            np.random.seed(seed)

        all_symbols = self.relevant_symbols + self.distraction_symbols + \
            [self.start_symbol] + [self.end_symbol]
        self.n_symbols = len(all_symbols)
        self.s_to_idx = {s: n for n, s in enumerate(all_symbols)}
        self.idx_to_s = {n: s for n, s in enumerate(all_symbols)}

        self.c_to_idx = {c: n for n, c in enumerate(self.classes)}
        self.idx_to_c = {n: c for n, c in enumerate(self.classes)}

    def generate_pair(self):
        length = np.random.randint(self.length_range[0], self.length_range[1])
        t1 = np.random.randint(self.t1_range[0], self.t1_range[1])
        t2 = np.random.randint(self.t2_range[0], self.t2_range[1])

        x = np.random.choice(self.distraction_symbols, length)
        x[0] = self.start_symbol
        x[-1] = self.end_symbol

        y = np.random.choice(self.classes)
        if y == 'Q':
            x[t1], x[t2] = self.relevant_symbols[0], self.relevant_symbols[0]
        elif y == 'R':
            x[t1], x[t2] = self.relevant_symbols[0], self.relevant_symbols[1]
        elif y == 'S':
            x[t1], x[t2] = self.relevant_symbols[1], self.relevant_symbols[0]
        else:
            x[t1], x[t2] = self.relevant_symbols[1], self.relevant_symbols[1]

        return ''.join(x), y

    # encoding/decoding single instance version

    def encode_x(self, x):
        idx_x = [self.s_to_idx[s] for s in x]
        return to_categorical(idx_x, num_classes=self.n_symbols)

    def encode_y(self, y):
        idx_y = self.c_to_idx[y]
        return to_categorical(idx_y, num_classes=self.n_classes)

    # encoding/decoding batch versions

    def encode_x_batch(self, x_batch):
        return pad_sequences([self.encode_x(x) for x in x_batch],
                             maxlen=self.length_range[1])

    def encode_y_batch(self, y_batch):
        return np.array([self.encode_y(y) for y in y_batch])

    def __len__(self):
        """ Let's assume 1000 sequences as the size of data. """
        return int(1000. / self.batch_size)

    def __getitem__(self, index):
        batch_x, batch_y = [], []
        for _ in range(self.batch_size):
            x, y = self.generate_pair()
            batch_x.append(x)
            batch_y.append(y)
        return self.encode_x_batch(batch_x), self.encode_y_batch(batch_y)

    class DifficultyLevel:
        """ On HARD, settings are identical to the original settings from the '97 paper."""
        EASY, NORMAL, MODERATE, HARD, NIGHTMARE = range(5)

    @staticmethod
    def get_predefined_generator(difficulty_level, batch_size=32, seed=8382):
        EASY = TemporalOrderExp6aSequence.DifficultyLevel.EASY
        NORMAL = TemporalOrderExp6aSequence.DifficultyLevel.NORMAL
        MODERATE = TemporalOrderExp6aSequence.DifficultyLevel.MODERATE
        HARD = TemporalOrderExp6aSequence.DifficultyLevel.HARD

        if difficulty_level == EASY:
            length_range = (7, 9)
            t1_range = (1, 3)
            t2_range = (4, 6)
        elif difficulty_level == NORMAL:
            length_range = (30, 41)
            t1_range = (2, 6)
            t2_range = (20, 28)
        elif difficulty_level == MODERATE:
            length_range = (60, 81)
            t1_range = (10, 21)
            t2_range = (45, 55)
        elif difficulty_level == HARD:
            length_range = (100, 111)
            t1_range = (10, 21)
            t2_range = (50, 61)
        else:
            length_range = (300, 501)
            t1_range = (10, 81)
            t2_range = (250, 291)
        return TemporalOrderExp6aSequence(length_range, t1_range, t2_range,
                                          batch_size, seed)


QRSU = TemporalOrderExp6aSequence


# ---- 08-seq_classification.ipynb ------------------------------------------------------------------------------------
class SimpleRNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        # This just calls the base class constructor
        super().__init__()
        # Neural network layers assigned as attributes of a Module subclass
        # have their parameters registered for training automatically.
        self.rnn = torch.nn.RNN(input_size, hidden_size, nonlinearity='relu', batch_first=True)
        self.linear = torch.nn.Linear(hidden_size, output_size)

    def forward(self, x):
        # The RNN also returns its hidden state but we don't use it.
        # While the RNN can also take a hidden state as input, the RNN
        # gets passed a hidden state initialized with zeros by default.
        h = self.rnn(x)[0]
        x = self.linear(h)
        return x


class SimpleLSTM(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.lstm = torch.nn.LSTM(input_size, hidden_size, batch_first=True)
        self.linear = torch.nn.Linear(hidden_size, output_size)

    def forward(self, x):
        h = self.lstm(x)[0]
        x = self.linear(h)
        return x


def train(seed: int = 1, lr_mult: float = 1.0, model_kind: str = "lstm", init: str = "default",
          input_scale: float = 1.0, zero_grad: bool = True, softmax: bool = False, epochs: int = EPOCHS,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    # Setup the training and test data generators
    difficulty = QRSU.DifficultyLevel.EASY
    batch_size = 32
    train_data_gen = QRSU.get_predefined_generator(difficulty, batch_size)
    test_data_gen = QRSU.get_predefined_generator(difficulty, batch_size)

    # Setup the RNN and training settings
    input_size = train_data_gen.n_symbols
    hidden_size = HIDDEN
    output_size = train_data_gen.n_classes
    model = (SimpleLSTM if model_kind == "lstm" else SimpleRNN)(input_size, hidden_size, output_size)
    if init == "std1":  # the init_large variant: every weight and bias normal_(std=1)
        for p in model.parameters():
            nn.init.normal_(p, std=1.0)
    elif init == "zero":  # the symmetric_init variant: every weight and bias zeros_
        for p in model.parameters():
            nn.init.zeros_(p)
    elif init != "default":
        raise ValueError(init)
    lr = LR * lr_mult
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.RMSprop(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)
    losses = []
    for epoch in range(epochs):
        model.train()
        num_correct = 0
        for batch_idx in range(len(train_data_gen)):
            data, target = train_data_gen[batch_idx]
            data, target = torch.from_numpy(data).float(), torch.from_numpy(target).long()
            data = data * input_scale  # the unscaled_inputs variant
            output = model(data)  # Step ①
            # Pick only the output corresponding to last sequence element (input is pre padded)
            output = output[:, -1, :]
            if softmax:  # the wrong_loss variant: probabilities fed to CrossEntropyLoss
                output = torch.softmax(output, dim=1)
            target = target.argmax(dim=1)
            loss = criterion(output, target)  # Step ②
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()  # Step ③
            loss.backward()  # Step ④
            monitor.step(loss)  # gradmedic
            optimizer.step()  # Step ⑤
            losses.append(float(loss.detach()))
            y_pred = output.argmax(dim=1)
            num_correct += (y_pred == target).sum().item()
        if verbose and (epoch + 1) % max(1, epochs // 10) == 0:
            acc = num_correct / (len(train_data_gen) * batch_size)
            print(f"[Epoch {epoch + 1}/{epochs}] loss: {np.mean(losses[-31:]):.4f}, acc: {acc:.3f} "
                  f"({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    model.eval()
    num_correct, n, test_losses = 0, 0, []
    with torch.no_grad():
        for batch_idx in range(len(test_data_gen)):
            data, target = test_data_gen[batch_idx]
            data, target = torch.from_numpy(data).float() * input_scale, torch.from_numpy(target).long()
            output = model(data)[:, -1, :]
            target = target.argmax(dim=1)
            test_losses.append(float(nn.functional.cross_entropy(output, target)))
            num_correct += (output.argmax(dim=1) == target).sum().item()
            n += len(target)
    acc = num_correct / n
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc, "chance": 0.25,
            "initial": None, "initial_what": "chance accuracy 0.25",
            "extra": dict(test_loss=float(np.mean(test_losses)), lr=lr, train_loss=float(np.mean(losses[-31:])),
                          first_loss=float(np.mean(losses[:5])), max_loss=float(np.nanmax(losses)),
                          finite_losses=bool(np.isfinite(losses).all()), steps=len(losses), epochs=epochs,
                          lr_mult=lr_mult, model_kind=model_kind, init=init, input_scale=input_scale,
                          zero_grad=zero_grad, softmax=softmax, test_sequences=n),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="atcseq", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"temporal-order sequence classification, EASY (SimpleLSTM hidden {HIDDEN}, last step's output; "
      f"CrossEntropyLoss; RMSprop lr {LR:g}; {EPOCHS} epochs of 31 batches of 32)")
CASES: list[dict] = (
    [_case(f"atcseq_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"atcseq_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (1000, (1, 2))) for s in ss]
    + [_case("atcseq_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case("atcseq_zero_init_s1", "symmetric_init", 1, {"init": "zero"},
             f"{_P}: every LSTM and Linear weight and bias zeros_ (symmetric)")]
    + [_case("atcseq_inputs_x100_s1", "unscaled_inputs", 1, {"input_scale": 100.0},
             f"{_P}: one-hot inputs x100")]
    + [_case("atcseq_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("atcseq_softmax_ce_s1", "wrong_loss", 1, {"softmax": True},
             f"{_P}: softmax over the last step's logits before CrossEntropyLoss")]
    + [_case("atcseq_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: lr x2 ({LR * 2:g})")]
    + [_case("atcseq_simple_rnn_s1", "healthy", 1, {"model_kind": "rnn"},
             f"{_P}: the notebook's SimpleRNN (nn.RNN, nonlinearity='relu', hidden 4) instead of SimpleLSTM")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
