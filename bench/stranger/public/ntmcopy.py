"""loudinthecloud's pytorch-ntm: a Neural Turing Machine trained on the copy task, watched by gradmedic.

Adapted from https://github.com/loudinthecloud/pytorch-ntm (commit 3c64937cb075e737528ff7ecf02b2c1c6d8347a1;
ntm/memory.py, ntm/head.py, ntm/controller.py, ntm/ntm.py, ntm/aio.py, tasks/copytask.py and train.py; BSD 3-Clause
License, Copyright (c) 2017 Guy Zana, see LICENSE-ntmcopy).  Copied as upstream: the NTM (``NTMMemory`` with content
focus, interpolation, circular shift and sharpening; ``NTMReadHead``/``NTMWriteHead`` and their xavier(gain 1.4)
inits; ``LSTMController`` with its U(+-5/sqrt(in + out)) weights, zero biases and learned initial state; ``NTM`` with
its sigmoid output layer; ``EncapsulatedNTM``), the copy task's generator ``dataloader`` (random bits, a delimiter
channel, one length per batch), ``CopyTaskParams``' defaults (controller 100, 1 layer, 1 head, width 8, memory
128 x 20, batch 1, ``nn.BCELoss()``, ``optim.RMSprop(lr=1e-4, momentum=0.9, alpha=0.95)``), train.py's
``init_seed``, ``clip_grads`` (``p.grad.data.clamp_(-10, 10)``), ``train_batch`` (zero_grad, feed the sequence and
delimiter, read the output with no input, BCE, backward, clip, step; the bit-error cost) and ``evaluate``.

Changed to run offline on one CPU thread: sequences of length 1-3 instead of 1-20 and STEPS = 600 batches instead of
50000 (at ~50-100 ms a batch on this shared machine a run has room for ~600 batches; at lengths 1-5 the held-out BCE
was still 0.55, 0.79x its start, after 600 batches, at 1-3 it reaches 0.62x; upstream's rate kept - lr 1e-3 was no
faster at 1-5); the run's seed replaces RANDOM_SEED = 1000; ``CopyTaskParams`` is a plain class (upstream's attrs
``convert=`` is gone from attrs); the uninitialized ``torch.Tensor`` that ``NTMMemory.write`` allocates and overwrites
on the next line is left out; ``loss.data[0]`` -> ``loss.item()`` (PyTorch 0.3); no argparse, logging, progress bar or
checkpoints; prints only with ``verbose``; a fixed held-out set (its own RNG, seed 12345, the same for every run: 20
sequences of each length 1-3, 60 in all) is evaluated with upstream's ``evaluate`` before and after training.  Knobs
(one per variant): ``lr_mult``; ``clip=False`` leaves ``clip_grads`` out; ``init_std`` draws the controller LSTM's
weight matrices from N(0, init_std); ``zero_grad=False`` leaves ``optimizer.zero_grad()`` out; ``input_scale``
multiplies the input (bits and delimiter; targets stay 0/1); ``memory_n`` and ``batch_size`` replace 128 and 1.

The watch, as a user would: ``monitor = gradmedic.watch(net, optimizer, every=10)`` right after the RMSprop is built,
``monitor.step(loss)`` in ``train_batch`` right after ``loss.backward()``, before ``clip_grads(net)`` and
``optimizer.step()``; ``monitor.close()`` after the loop.  Metric "loss": the held-out BCE per bit after training;
``initial`` the same BCE of the untrained net (0.694 for the default init; 0.72 with init std 1); chance log 2 = 0.693.
``extra`` also has the held-out bit errors per sequence (upstream's "cost"; 7.5-8.4 of 16 mean bits untrained).

``CASES`` (program "ntmcopy"): the program on seeds 1-3, and one change each against the same seed's healthy run:
RMSprop lr x10, x100 (seeds 1 and 2), x1000, /1000; ``clip_grads`` left out at lr x10; N(0, 1) controller LSTM
weights (seeds 1 and 2); ``optimizer.zero_grad()`` left out (seeds 1 and 2); inputs x100; and two changes expected
harmless: memory_n 256 and batch_size 2 (cause "healthy").
Recorded (cases-public131; 16 runs, two at a time on the shared machine under a load of 4-8: 32-67 s a run):
healthy held-out BCE 0.431, 0.432, 0.419 on seeds 1-3 (untrained 0.694; bit errors per sequence 7.5-8.0 -> 3.2-3.5;
train loss, last 20 batches, 0.32-0.39; every loss finite): healthy; lr x10 (1e-3): 0.450 (largest loss 1.05):
healthy; lr x100 (0.01): 0.744 (seed 1, largest loss 2.1) and 0.704 (seed 2, 2.7): broken; lr x1000 (0.1): the
outputs saturate, BCE clamped at its log floor: 49.2 (first-5 mean 23, largest 87.5, still finite): broken; lr /1000:
0.693: broken; clip_grads left out at lr x10: 0.450, the very run of lr x10 (RMSprop's normalized steps never made a
gradient element pass 10, so the clamp never acted): healthy; init std 1: untrained 0.72, 0.657 (seed 1) and 0.644
(seed 2): broken; zero_grad left out: 0.582 (seed 1) and 0.576 (seed 2), less than half the control's progress from
0.694: broken; inputs x100: 0.564 (untrained 0.698): broken; memory_n 256: 0.434: healthy; batch 2: 0.386: healthy.
Labels: 7 healthy (3 programs, lr x10, no clipping, memory 256, batch 2), 9 broken, 0 ambiguous; no non-finite loss.
"""

from __future__ import annotations

import random
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.nn import Parameter

import gradmedic

ARCH = "lstm"
MONITOR_AT = ("watch(net, optimizer, every=10) right after the RMSprop is built; monitor.step(loss) in train_batch right "
              "after loss.backward() (BCELoss over the copied bits of one batch), before clip_grads(net) (clamp to "
              "[-10, 10]) and optimizer.step()")

STEPS = 600  # upstream: num_batches = 50000


# ---------------------------------------------------------------------------------------------------------------------
# ntm/memory.py
# ---------------------------------------------------------------------------------------------------------------------

def _convolve(w, s):
    """Circular convolution implementation."""
    assert s.size(0) == 3
    t = torch.cat([w[-1:], w, w[:1]])
    c = F.conv1d(t.view(1, 1, -1), s.view(1, 1, -1)).view(-1)
    return c


class NTMMemory(nn.Module):
    """Memory bank for NTM."""
    def __init__(self, N, M):
        """Initialize the NTM Memory matrix.

        The memory's dimensions are (batch_size x N x M).
        Each batch has it's own memory matrix.

        :param N: Number of rows in the memory.
        :param M: Number of columns/features in the memory.
        """
        super(NTMMemory, self).__init__()  # noqa: UP008 (as upstream)

        self.N = N
        self.M = M

        # The memory bias allows the heads to learn how to initially address
        # memory locations by content
        self.register_buffer('mem_bias', torch.Tensor(N, M))

        # Initialize memory bias
        stdev = 1 / (np.sqrt(N + M))
        nn.init.uniform_(self.mem_bias, -stdev, stdev)

    def reset(self, batch_size):
        """Initialize memory from bias, for start-of-sequence."""
        self.batch_size = batch_size
        self.memory = self.mem_bias.clone().repeat(batch_size, 1, 1)

    def size(self):
        return self.N, self.M

    def read(self, w):
        """Read from memory (according to section 3.1)."""
        return torch.matmul(w.unsqueeze(1), self.memory).squeeze(1)

    def write(self, w, e, a):
        """write to memory (according to section 3.2)."""
        self.prev_mem = self.memory
        # upstream: self.memory = torch.Tensor(self.batch_size, self.N, self.M) here, overwritten on the next line
        erase = torch.matmul(w.unsqueeze(-1), e.unsqueeze(1))
        add = torch.matmul(w.unsqueeze(-1), a.unsqueeze(1))
        self.memory = self.prev_mem * (1 - erase) + add

    def address(self, k, β, g, s, γ, w_prev):
        """NTM Addressing (according to section 3.3).

        Returns a softmax weighting over the rows of the memory matrix.

        :param k: The key vector.
        :param β: The key strength (focus).
        :param g: Scalar interpolation gate (with previous weighting).
        :param s: Shift weighting.
        :param γ: Sharpen weighting scalar.
        :param w_prev: The weighting produced in the previous time step.
        """
        # Content focus
        wc = self._similarity(k, β)

        # Location focus
        wg = self._interpolate(w_prev, wc, g)
        ŵ = self._shift(wg, s)
        w = self._sharpen(ŵ, γ)

        return w

    def _similarity(self, k, β):
        k = k.view(self.batch_size, 1, -1)
        w = F.softmax(β * F.cosine_similarity(self.memory + 1e-16, k + 1e-16, dim=-1), dim=1)
        return w

    def _interpolate(self, w_prev, wc, g):
        return g * wc + (1 - g) * w_prev

    def _shift(self, wg, s):
        result = torch.zeros(wg.size())
        for b in range(self.batch_size):
            result[b] = _convolve(wg[b], s[b])
        return result

    def _sharpen(self, ŵ, γ):
        w = ŵ ** γ
        w = torch.div(w, torch.sum(w, dim=1).view(-1, 1) + 1e-16)
        return w


# ---------------------------------------------------------------------------------------------------------------------
# ntm/head.py
# ---------------------------------------------------------------------------------------------------------------------

def _split_cols(mat, lengths):
    """Split a 2D matrix to variable length columns."""
    assert mat.size()[1] == sum(lengths), "Lengths must be summed to num columns"
    l = np.cumsum([0] + lengths)  # noqa: E741 (as upstream)
    results = []
    for s, e in zip(l[:-1], l[1:], strict=True):  # upstream: zip(l[:-1], l[1:])
        results += [mat[:, s:e]]
    return results


class NTMHeadBase(nn.Module):
    """An NTM Read/Write Head."""

    def __init__(self, memory, controller_size):
        """Initilize the read/write head.

        :param memory: The :class:`NTMMemory` to be addressed by the head.
        :param controller_size: The size of the internal representation.
        """
        super(NTMHeadBase, self).__init__()  # noqa: UP008 (as upstream)

        self.memory = memory
        self.N, self.M = memory.size()
        self.controller_size = controller_size

    def create_new_state(self, batch_size):
        raise NotImplementedError

    def register_parameters(self):
        raise NotImplementedError

    def is_read_head(self):
        return NotImplementedError

    def _address_memory(self, k, β, g, s, γ, w_prev):
        # Handle Activations
        k = k.clone()
        β = F.softplus(β)
        g = F.sigmoid(g)
        s = F.softmax(s, dim=1)
        γ = 1 + F.softplus(γ)

        w = self.memory.address(k, β, g, s, γ, w_prev)

        return w


class NTMReadHead(NTMHeadBase):
    def __init__(self, memory, controller_size):
        super(NTMReadHead, self).__init__(memory, controller_size)  # noqa: UP008 (as upstream)

        # Corresponding to k, β, g, s, γ sizes from the paper
        self.read_lengths = [self.M, 1, 1, 3, 1]
        self.fc_read = nn.Linear(controller_size, sum(self.read_lengths))
        self.reset_parameters()

    def create_new_state(self, batch_size):
        # The state holds the previous time step address weightings
        return torch.zeros(batch_size, self.N)

    def reset_parameters(self):
        # Initialize the linear layers
        nn.init.xavier_uniform_(self.fc_read.weight, gain=1.4)
        nn.init.normal_(self.fc_read.bias, std=0.01)

    def is_read_head(self):
        return True

    def forward(self, embeddings, w_prev):
        """NTMReadHead forward function.

        :param embeddings: input representation of the controller.
        :param w_prev: previous step state
        """
        o = self.fc_read(embeddings)
        k, β, g, s, γ = _split_cols(o, self.read_lengths)

        # Read from memory
        w = self._address_memory(k, β, g, s, γ, w_prev)
        r = self.memory.read(w)

        return r, w


class NTMWriteHead(NTMHeadBase):
    def __init__(self, memory, controller_size):
        super(NTMWriteHead, self).__init__(memory, controller_size)  # noqa: UP008 (as upstream)

        # Corresponding to k, β, g, s, γ, e, a sizes from the paper
        self.write_lengths = [self.M, 1, 1, 3, 1, self.M, self.M]
        self.fc_write = nn.Linear(controller_size, sum(self.write_lengths))
        self.reset_parameters()

    def create_new_state(self, batch_size):
        return torch.zeros(batch_size, self.N)

    def reset_parameters(self):
        # Initialize the linear layers
        nn.init.xavier_uniform_(self.fc_write.weight, gain=1.4)
        nn.init.normal_(self.fc_write.bias, std=0.01)

    def is_read_head(self):
        return False

    def forward(self, embeddings, w_prev):
        """NTMWriteHead forward function.

        :param embeddings: input representation of the controller.
        :param w_prev: previous step state
        """
        o = self.fc_write(embeddings)
        k, β, g, s, γ, e, a = _split_cols(o, self.write_lengths)

        # e should be in [0, 1]
        e = F.sigmoid(e)

        # Write to memory
        w = self._address_memory(k, β, g, s, γ, w_prev)
        self.memory.write(w, e, a)

        return w


# ---------------------------------------------------------------------------------------------------------------------
# ntm/controller.py
# ---------------------------------------------------------------------------------------------------------------------

class LSTMController(nn.Module):
    """An NTM controller based on LSTM."""
    def __init__(self, num_inputs, num_outputs, num_layers):
        super(LSTMController, self).__init__()  # noqa: UP008 (as upstream)

        self.num_inputs = num_inputs
        self.num_outputs = num_outputs
        self.num_layers = num_layers

        self.lstm = nn.LSTM(input_size=num_inputs,
                            hidden_size=num_outputs,
                            num_layers=num_layers)

        # The hidden state is a learned parameter
        self.lstm_h_bias = Parameter(torch.randn(self.num_layers, 1, self.num_outputs) * 0.05)
        self.lstm_c_bias = Parameter(torch.randn(self.num_layers, 1, self.num_outputs) * 0.05)

        self.reset_parameters()

    def create_new_state(self, batch_size):
        # Dimension: (num_layers * num_directions, batch, hidden_size)
        lstm_h = self.lstm_h_bias.clone().repeat(1, batch_size, 1)
        lstm_c = self.lstm_c_bias.clone().repeat(1, batch_size, 1)
        return lstm_h, lstm_c

    def reset_parameters(self):
        for p in self.lstm.parameters():
            if p.dim() == 1:
                nn.init.constant_(p, 0)
            else:
                stdev = 5 / (np.sqrt(self.num_inputs + self.num_outputs))
                nn.init.uniform_(p, -stdev, stdev)

    def size(self):
        return self.num_inputs, self.num_outputs

    def forward(self, x, prev_state):
        x = x.unsqueeze(0)
        outp, state = self.lstm(x, prev_state)
        return outp.squeeze(0), state


# ---------------------------------------------------------------------------------------------------------------------
# ntm/ntm.py
# ---------------------------------------------------------------------------------------------------------------------

class NTM(nn.Module):
    """A Neural Turing Machine."""
    def __init__(self, num_inputs, num_outputs, controller, memory, heads):
        """Initialize the NTM.

        :param num_inputs: External input size.
        :param num_outputs: External output size.
        :param controller: :class:`LSTMController`
        :param memory: :class:`NTMMemory`
        :param heads: list of :class:`NTMReadHead` or :class:`NTMWriteHead`

        Note: This design allows the flexibility of using any number of read and
              write heads independently, also, the order by which the heads are
              called in controlled by the user (order in list)
        """
        super(NTM, self).__init__()  # noqa: UP008 (as upstream)

        # Save arguments
        self.num_inputs = num_inputs
        self.num_outputs = num_outputs
        self.controller = controller
        self.memory = memory
        self.heads = heads

        self.N, self.M = memory.size()
        _, self.controller_size = controller.size()

        # Initialize the initial previous read values to random biases
        self.num_read_heads = 0
        self.init_r = []
        for head in heads:
            if head.is_read_head():
                init_r_bias = torch.randn(1, self.M) * 0.01
                self.register_buffer(f"read{self.num_read_heads}_bias", init_r_bias.data)  # upstream: str.format
                self.init_r += [init_r_bias]
                self.num_read_heads += 1

        assert self.num_read_heads > 0, "heads list must contain at least a single read head"

        # Initialize a fully connected layer to produce the actual output:
        #   [controller_output; previous_reads ] -> output
        self.fc = nn.Linear(self.controller_size + self.num_read_heads * self.M, num_outputs)
        self.reset_parameters()

    def create_new_state(self, batch_size):
        init_r = [r.clone().repeat(batch_size, 1) for r in self.init_r]
        controller_state = self.controller.create_new_state(batch_size)
        heads_state = [head.create_new_state(batch_size) for head in self.heads]

        return init_r, controller_state, heads_state

    def reset_parameters(self):
        # Initialize the linear layer
        nn.init.xavier_uniform_(self.fc.weight, gain=1)
        nn.init.normal_(self.fc.bias, std=0.01)

    def forward(self, x, prev_state):
        """NTM forward function.

        :param x: input vector (batch_size x num_inputs)
        :param prev_state: The previous state of the NTM
        """
        # Unpack the previous state
        prev_reads, prev_controller_state, prev_heads_states = prev_state

        # Use the controller to get an embeddings
        inp = torch.cat([x] + prev_reads, dim=1)
        controller_outp, controller_state = self.controller(inp, prev_controller_state)

        # Read/Write from the list of heads
        reads = []
        heads_states = []
        for head, prev_head_state in zip(self.heads, prev_heads_states, strict=True):  # upstream: no strict=
            if head.is_read_head():
                r, head_state = head(controller_outp, prev_head_state)
                reads += [r]
            else:
                head_state = head(controller_outp, prev_head_state)
            heads_states += [head_state]

        # Generate Output
        inp2 = torch.cat([controller_outp] + reads, dim=1)
        o = F.sigmoid(self.fc(inp2))

        # Pack the current state
        state = (reads, controller_state, heads_states)

        return o, state


# ---------------------------------------------------------------------------------------------------------------------
# ntm/aio.py
# ---------------------------------------------------------------------------------------------------------------------

class EncapsulatedNTM(nn.Module):

    def __init__(self, num_inputs, num_outputs,
                 controller_size, controller_layers, num_heads, N, M):
        """Initialize an EncapsulatedNTM.

        :param num_inputs: External number of inputs.
        :param num_outputs: External number of outputs.
        :param controller_size: The size of the internal representation.
        :param controller_layers: Controller number of layers.
        :param num_heads: Number of heads.
        :param N: Number of rows in the memory bank.
        :param M: Number of cols/features in the memory bank.
        """
        super(EncapsulatedNTM, self).__init__()  # noqa: UP008 (as upstream)

        # Save args
        self.num_inputs = num_inputs
        self.num_outputs = num_outputs
        self.controller_size = controller_size
        self.controller_layers = controller_layers
        self.num_heads = num_heads
        self.N = N
        self.M = M

        # Create the NTM components
        memory = NTMMemory(N, M)
        controller = LSTMController(num_inputs + M*num_heads, controller_size, controller_layers)
        heads = nn.ModuleList([])
        for _i in range(num_heads):  # upstream: for i in range(num_heads)
            heads += [
                NTMReadHead(memory, controller_size),
                NTMWriteHead(memory, controller_size)
            ]

        self.ntm = NTM(num_inputs, num_outputs, controller, memory, heads)
        self.memory = memory

    def init_sequence(self, batch_size):
        """Initializing the state."""
        self.batch_size = batch_size
        self.memory.reset(batch_size)
        self.previous_state = self.ntm.create_new_state(batch_size)

    def forward(self, x=None):
        if x is None:
            x = torch.zeros(self.batch_size, self.num_inputs)

        o, self.previous_state = self.ntm(x, self.previous_state)
        return o, self.previous_state

    def calculate_num_params(self):
        """Returns the total number of parameters."""
        num_params = 0
        for p in self.parameters():
            num_params += p.data.view(-1).size(0)
        return num_params


# ---------------------------------------------------------------------------------------------------------------------
# tasks/copytask.py
# ---------------------------------------------------------------------------------------------------------------------

# Generator of randomized test sequences
def dataloader(num_batches,
               batch_size,
               seq_width,
               min_len,
               max_len):
    """Generator of random sequences for the copy task.

    Creates random batches of "bits" sequences.

    All the sequences within each batch have the same length.
    The length is [`min_len`, `max_len`]

    :param num_batches: Total number of batches to generate.
    :param seq_width: The width of each item in the sequence.
    :param batch_size: Batch size.
    :param min_len: Sequence minimum length.
    :param max_len: Sequence maximum length.

    NOTE: The input width is `seq_width + 1`, the additional input
    contain the delimiter.
    """
    for batch_num in range(num_batches):

        # All batches have the same sequence length
        seq_len = random.randint(min_len, max_len)
        seq = np.random.binomial(1, 0.5, (seq_len, batch_size, seq_width))
        seq = torch.from_numpy(seq)

        # The input includes an additional channel used for the delimiter
        inp = torch.zeros(seq_len + 1, batch_size, seq_width + 1)
        inp[:seq_len, :, :seq_width] = seq
        inp[seq_len, :, seq_width] = 1.0  # delimiter in our control channel
        outp = seq.clone()

        yield batch_num+1, inp.float(), outp.float()


class CopyTaskParams:  # upstream: an @attrs class (attrib(default=..., convert=int)); the same defaults unless marked
    name = "copy-task"
    controller_size = 100
    controller_layers = 1
    num_heads = 1
    sequence_width = 8
    sequence_min_len = 1
    sequence_max_len = 3  # upstream: 20
    memory_n = 128
    memory_m = 20
    num_batches = STEPS  # upstream: 50000
    batch_size = 1
    rmsprop_lr = 1e-4
    rmsprop_momentum = 0.9
    rmsprop_alpha = 0.95


# ---------------------------------------------------------------------------------------------------------------------
# train.py
# ---------------------------------------------------------------------------------------------------------------------

def init_seed(seed=None):
    """Seed the RNGs for predicatability/reproduction purposes."""
    np.random.seed(seed)
    torch.manual_seed(seed)
    random.seed(seed)


def clip_grads(net):
    """Gradient clipping to the range [10, 10]."""
    parameters = list(filter(lambda p: p.grad is not None, net.parameters()))
    for p in parameters:
        p.grad.data.clamp_(-10, 10)


def train_batch(net, criterion, optimizer, X, Y, monitor, zero_grad=True, clip=True):
    """Trains a single batch."""
    if zero_grad:  # the no_zero_grad variant leaves this out
        optimizer.zero_grad()
    inp_seq_len = X.size(0)
    outp_seq_len, batch_size, _ = Y.size()

    # New sequence
    net.init_sequence(batch_size)

    # Feed the sequence + delimiter
    for i in range(inp_seq_len):
        net(X[i])

    # Read the output (no input given)
    y_out = torch.zeros(Y.size())
    for i in range(outp_seq_len):
        y_out[i], _ = net()

    loss = criterion(y_out, Y)
    loss.backward()
    monitor.step(loss)  # gradmedic
    if clip:  # the no_clipping variant leaves this out
        clip_grads(net)
    optimizer.step()

    y_out_binarized = y_out.clone().data
    y_out_binarized.apply_(lambda x: 0 if x < 0.5 else 1)

    # The cost is the number of error bits per sequence
    cost = torch.sum(torch.abs(y_out_binarized - Y.data))

    return loss.item(), cost.item() / batch_size


def evaluate(net, criterion, X, Y):
    """Evaluate a single batch (without training)."""
    inp_seq_len = X.size(0)
    outp_seq_len, batch_size, _ = Y.size()

    # New sequence
    net.init_sequence(batch_size)

    # Feed the sequence + delimiter
    states = []
    for i in range(inp_seq_len):
        o, state = net(X[i])
        states += [state]

    # Read the output (no input given)
    y_out = torch.zeros(Y.size())
    for i in range(outp_seq_len):
        y_out[i], state = net()
        states += [state]

    loss = criterion(y_out, Y)

    y_out_binarized = y_out.clone().data
    y_out_binarized.apply_(lambda x: 0 if x < 0.5 else 1)

    # The cost is the number of error bits per sequence
    cost = torch.sum(torch.abs(y_out_binarized - Y.data))

    result = {
        'loss': loss.item(),  # upstream: loss.data[0] (PyTorch 0.3)
        'cost': cost / batch_size,
        'y_out': y_out,
        'y_out_binarized': y_out_binarized,
        'states': states
    }

    return result


# ---------------------------------------------------------------------------------------------------------------------
# the port: a fixed held-out set, the knobs, the watch
# ---------------------------------------------------------------------------------------------------------------------

HELDOUT_PER_LEN = 20  # held-out sequences of each length 1..sequence_max_len


def heldout_set(params, input_scale=1.0):
    """A fixed held-out set (its own RNG, the same for every seed): HELDOUT_PER_LEN sequences of each length."""
    rng = np.random.RandomState(12345)
    out = []
    for seq_len in range(params.sequence_min_len, params.sequence_max_len + 1):
        seq = torch.from_numpy(rng.binomial(1, 0.5, (seq_len, HELDOUT_PER_LEN, params.sequence_width)))
        inp = torch.zeros(seq_len + 1, HELDOUT_PER_LEN, params.sequence_width + 1)
        inp[:seq_len, :, :params.sequence_width] = seq
        inp[seq_len, :, params.sequence_width] = 1.0
        out.append((inp.float() * input_scale, seq.float()))
    return out


def heldout_eval(net, criterion, data):
    """Mean BCE per bit over the held-out set (each batch's mean BCE weighted by its bits) and bit errors per sequence."""
    tot_loss, tot_bits, tot_cost, tot_seq = 0.0, 0, 0.0, 0
    with torch.no_grad():
        for X, Y in data:
            r = evaluate(net, criterion, X, Y)
            tot_loss += r["loss"] * Y.numel()
            tot_bits += Y.numel()
            tot_cost += float(r["cost"]) * Y.size(1)
            tot_seq += Y.size(1)
    return tot_loss / tot_bits, tot_cost / tot_seq


def train(seed: int = 1, lr_mult: float = 1.0, clip: bool = True, init_std: float | None = None,
          zero_grad: bool = True, input_scale: float = 1.0, memory_n: int | None = None, batch_size: int | None = None,
          num_batches: int | None = None, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    init_seed(seed)  # upstream: RANDOM_SEED = 1000
    params = CopyTaskParams()
    if memory_n is not None:
        params.memory_n = memory_n
    if batch_size is not None:
        params.batch_size = batch_size
    params.num_batches = num_batches or STEPS
    lr = params.rmsprop_lr * lr_mult

    # CopyTaskModelTraining's defaults
    # We have 1 additional input for the delimiter which is passed on a
    # separate "control" channel
    net = EncapsulatedNTM(params.sequence_width + 1, params.sequence_width,
                          params.controller_size, params.controller_layers,
                          params.num_heads,
                          params.memory_n, params.memory_m)
    if init_std is not None:  # the bug: N(0, init_std) for the controller LSTM's weights instead of reset_parameters'
        for p in net.ntm.controller.lstm.parameters():
            if p.dim() > 1:
                nn.init.normal_(p, 0.0, init_std)
    loader = dataloader(params.num_batches, params.batch_size,
                        params.sequence_width,
                        params.sequence_min_len, params.sequence_max_len)
    criterion = nn.BCELoss()
    optimizer = optim.RMSprop(net.parameters(),
                              momentum=params.rmsprop_momentum,
                              alpha=params.rmsprop_alpha,
                              lr=lr)
    monitor = gradmedic.watch(net, optimizer, every=every)  # gradmedic

    heldout = heldout_set(params, input_scale)
    init_loss, init_cost = heldout_eval(net, criterion, heldout)

    # train_model
    losses, costs, seq_lengths = [], [], []
    for batch_num, x, y in loader:
        x = x * input_scale  # the unscaled_inputs variant: the input bits (and delimiter) x100
        loss, cost = train_batch(net, criterion, optimizer, x, y, monitor, zero_grad=zero_grad, clip=clip)
        losses += [loss]
        costs += [cost]
        seq_lengths += [y.size(0)]
        if verbose and batch_num % 200 == 0:  # upstream: REPORT_INTERVAL = 200, through LOGGER.info
            print(f"Batch {batch_num} Loss: {np.mean(losses[-200:]):.6f} Cost: {np.mean(costs[-200:]):.2f} "
                  f"({time.time() - t0:.1f}s)", flush=True)
    monitor.close()

    final_loss, final_cost = heldout_eval(net, criterion, heldout)
    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "loss", "value": float(final_loss),
            "initial": float(init_loss),
            "initial_what": "untrained: the held-out BCE per bit of the net before training",
            "chance": float(np.log(2.0)),
            "extra": dict(train_loss=float(np.mean(la[-20:])), first_loss=float(np.mean(la[:5])),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), steps=len(losses), lr=lr, lr_mult=lr_mult,
                          clip=clip, init_std=-1.0 if init_std is None else init_std, zero_grad=zero_grad,
                          input_scale=input_scale, memory_n=params.memory_n, batch_size=params.batch_size,
                          heldout_cost_initial=float(init_cost), heldout_cost=float(final_cost),
                          train_cost_last200=float(np.mean(costs[-200:])),
                          heldout_sequences=HELDOUT_PER_LEN * len(heldout)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="ntmcopy", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"NTM copy task (LSTM controller 100, 1 read and 1 write head, memory 128 x 20; 8-bit sequences of length 1-3; "
      f"BCELoss; RMSprop lr 1e-4, momentum 0.9, alpha 0.95; batch 1; grads clamped to [-10, 10]; {STEPS} batches)")
CASES: list[dict] = (
    [_case(f"ntmcopy_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"ntmcopy_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: RMSprop lr x{k} ({1e-4 * k:g}), clamp kept")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("ntmcopy_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: RMSprop lr /1000 (1e-07)")]
    + [_case("ntmcopy_no_clip_lr_x10_s1", "no_clipping", 1, {"lr_mult": 10, "clip": False},
             f"{_P}: clip_grads(net) left out, at RMSprop lr x10 (1e-3)")]
    + [_case(f"ntmcopy_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on the controller LSTM's weight matrices instead of reset_parameters' "
             f"U(+-5/sqrt(num_inputs + num_outputs)) = U(+-0.38) (LSTM biases 0, heads and fc kept)") for s in (1, 2)]
    + [_case(f"ntmcopy_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out of train_batch (the gradients accumulate)") for s in (1, 2)]
    + [_case("ntmcopy_inputs_x100_s1", "unscaled_inputs", 1, {"input_scale": 100.0},
             f"{_P}: the input bits and the delimiter channel multiplied by 100 (targets kept 0/1)")]
    + [_case("ntmcopy_memory_n256_s1", "healthy", 1, {"memory_n": 256},
             f"{_P}: memory_n 256 instead of 128 (expected harmless)")]
    + [_case("ntmcopy_batch2_s1", "healthy", 1, {"batch_size": 2}, f"{_P}: batch_size 2 instead of 1 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
