"""shirgur/PointerNet's Pointer Network (encoder LSTM, decoder LSTM cell with pointing attention), sorting numbers.

Adapted from https://github.com/shirgur/PointerNet (commit c7ed05066fb40d4f1832dd24de28da259293983c, PointerNet.py and
Train.py; the repository has no licence file, so no LICENSE-pointernet: only what the run needs is copied).  Kept as
upstream: ``Encoder``, ``Attention``, ``Decoder`` and ``PointerNet`` (copied below: the embedding Linear, the 2-layer
bidirectional encoder LSTM started from zero states, the decoder's hand-written LSTM cell, the additive attention
``V . tanh(W h + Conv1d(context))`` with V ~ U(-1, 1), the -inf masking and softmax, ``hidden_out``, the decoder
feeding back the embedding of its own argmax pointer (no teacher forcing) and masking the inputs already chosen),
Train.py's ``torch.nn.CrossEntropyLoss()`` applied to the decoder's outputs (upstream's own loss: the attention's
softmax probabilities go to CrossEntropyLoss, which applies log_softmax again; kept as it is), ``optim.Adam`` over the
trainable parameters with lr 1e-4, batch 256, ``--nof_lstms 2``, ``--dropout 0``, ``--bidir``, ``--nof_points 5``,
the loop's ``zero_grad`` / ``backward`` / ``step`` with no clipping.

Changed to run offline on one CPU thread: the task is sorting (upstream: TSP tours from ``tsp_opt``'s dynamic
programme): NOF_POINTS = 5 numbers from U(0, 1) (drawn with np.random as upstream draws its points) and the target
their argsort, so the embedding is ``nn.Linear(1, embedding_dim)`` (upstream: 2-D points); embedding 32 and hiddens 64
(upstream 128 and 512); one pass over STEPS * 256 fresh samples, STEPS = 400 (upstream: 1,000,000 samples for 50,000
epochs); DataLoader num_workers 0 (4); no tqdm, no CUDA; the run's seed goes to torch.manual_seed and np.random.seed
(upstream seeds nothing).  Made to run on PyTorch 2 (each marked ``# upstream:``): ``nn.init.uniform_`` for the
removed ``nn.init.uniform``, ``nn.Softmax(dim=1)`` for the implicit dim, ``.bool()`` for the ``.byte()`` index mask,
``torch.cat(tuple(...))`` for torch.cat of a tensor, ``loss.item()`` for ``loss.data[0]``, no ``Variable``.
Knobs (one per variant): ``lr_mult`` scales lr; ``init_std`` draws every trainable weight (not the biases) from
N(0, init_std); ``input_scale`` multiplies the numbers (train and test); ``zero_grad=False`` leaves
``model_optim.zero_grad()`` out; ``hiddens`` and ``batch_size`` replace 64 and 256.

The watch, as a user would: ``monitor = gradmedic.watch(model, model_optim, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``model_optim.step()``; ``monitor.close()`` after the
loop.  Metric "accuracy": per-position accuracy of the greedy pointers (the decoder's own argmax, as in training)
against the argsort on a fixed held-out set of 1000 sequences (np.random.RandomState(1000)); chance 1/5 per position;
the whole-sequence accuracy goes to ``extra["seq_accuracy"]``.

``CASES`` (program "pointernet"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) weights (seeds 1 and 2); the numbers x1000 (seeds 1 and 2);
``model_optim.zero_grad()`` left out; and two changes expected harmless: lr x2 (cause "lr_high") and hiddens 128
(cause "healthy").  Upstream does not clip, so there is no no_clipping case.
Recorded (cases-public130; 31-54 s a run on the shared, loaded machine, above the 20 s aimed at): healthy accuracy
0.937, 0.927, 0.928 on seeds 1-3 (sequence accuracy 0.85, 0.82, 0.83; training loss 1.57-1.65 over the first 5 steps
-> 0.99-1.01 over the last 20, the floor of CrossEntropyLoss on probabilities being about 0.9; every loss finite);
lr x10: 0.982: healthy; lr x100: 0.986 (seed 1), 0.983 (seed 2): healthy; lr x1000 (0.1): 0.948 (largest loss 1.66,
within 2x the control's 1.59): healthy - the loss on probabilities bounds the gradient, and Adam's step is the rate
whatever the gradient, so even lr 0.1 trains; lr /1000: 0.278 (loss 1.59 -> 1.58): broken; N(0, 1) weights: 0.143
(seed 1), 0.150 (seed 2), loss flat at 1.73, sequence accuracy 0.001-0.003: broken; numbers x1000: 0.939 (seed 1),
0.940 (seed 2): healthy (the ranking survives the saturated embedding/LSTM); zero_grad left out: 0.854 (loss to 1.06,
sequence accuracy 0.67): ambiguous (worse by 8 points, not 10); lr x2: 0.967: healthy; hiddens 128: 0.971: healthy.
Labels: 11 healthy (3 programs, lr x10, x100 twice, x1000, x2, numbers x1000 twice, hiddens 128), 3 broken (lr /1000,
N(0, 1) init twice), 1 ambiguous (no zero_grad).  Every run's losses were finite.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.nn import Parameter
from torch.utils.data import DataLoader, Dataset

import gradmedic

ARCH = "lstm"
MONITOR_AT = ("watch(model, model_optim, every=10) right after the Adam is built; monitor.step(loss) right after "
              "loss.backward(), before model_optim.step() (upstream does not clip)")
NOF_POINTS = 5  # upstream: --nof_points 5
EMBEDDING_SIZE = 32  # upstream: --embedding_size 128
HIDDENS = 64  # upstream: --hiddens 512
BATCH_SIZE = 256  # as upstream: --batch_size 256
STEPS = 400
TEST_SIZE, TEST_SEED = 1000, 1000


class Encoder(nn.Module):
    """
    Encoder class for Pointer-Net
    """

    def __init__(self, embedding_dim,
                 hidden_dim,
                 n_layers,
                 dropout,
                 bidir):
        """
        Initiate Encoder

        :param Tensor embedding_dim: Number of embbeding channels
        :param int hidden_dim: Number of hidden units for the LSTM
        :param int n_layers: Number of layers for LSTMs
        :param float dropout: Float between 0-1
        :param bool bidir: Bidirectional
        """

        super(Encoder, self).__init__()  # noqa: UP008 (as upstream)
        self.hidden_dim = hidden_dim//2 if bidir else hidden_dim
        self.n_layers = n_layers*2 if bidir else n_layers
        self.bidir = bidir
        self.lstm = nn.LSTM(embedding_dim,
                            self.hidden_dim,
                            n_layers,
                            dropout=dropout,
                            bidirectional=bidir)

        # Used for propagating .cuda() command
        self.h0 = Parameter(torch.zeros(1), requires_grad=False)
        self.c0 = Parameter(torch.zeros(1), requires_grad=False)

    def forward(self, embedded_inputs,
                hidden):
        """
        Encoder - Forward-pass

        :param Tensor embedded_inputs: Embedded inputs of Pointer-Net
        :param Tensor hidden: Initiated hidden units for the LSTMs (h, c)
        :return: LSTMs outputs and hidden units (h, c)
        """

        embedded_inputs = embedded_inputs.permute(1, 0, 2)

        outputs, hidden = self.lstm(embedded_inputs, hidden)

        return outputs.permute(1, 0, 2), hidden

    def init_hidden(self, embedded_inputs):
        """
        Initiate hidden units

        :param Tensor embedded_inputs: The embedded input of Pointer-NEt
        :return: Initiated hidden units for the LSTMs (h, c)
        """

        batch_size = embedded_inputs.size(0)

        # Reshaping (Expanding)
        h0 = self.h0.unsqueeze(0).unsqueeze(0).repeat(self.n_layers,
                                                      batch_size,
                                                      self.hidden_dim)
        c0 = self.h0.unsqueeze(0).unsqueeze(0).repeat(self.n_layers,
                                                      batch_size,
                                                      self.hidden_dim)

        return h0, c0


class Attention(nn.Module):
    """
    Attention model for Pointer-Net
    """

    def __init__(self, input_dim,
                 hidden_dim):
        """
        Initiate Attention

        :param int input_dim: Input's diamention
        :param int hidden_dim: Number of hidden units in the attention
        """

        super(Attention, self).__init__()  # noqa: UP008 (as upstream)

        self.input_dim = input_dim
        self.hidden_dim = hidden_dim

        self.input_linear = nn.Linear(input_dim, hidden_dim)
        self.context_linear = nn.Conv1d(input_dim, hidden_dim, 1, 1)
        self.V = Parameter(torch.FloatTensor(hidden_dim), requires_grad=True)
        self._inf = Parameter(torch.FloatTensor([float('-inf')]), requires_grad=False)
        self.tanh = nn.Tanh()
        self.softmax = nn.Softmax(dim=1)  # upstream: nn.Softmax() (the implicit dim of a 2-D input is 1)

        # Initialize vector V
        nn.init.uniform_(self.V, -1, 1)  # upstream: nn.init.uniform (the deprecated name, removed since)

    def forward(self, input,
                context,
                mask):
        """
        Attention - Forward-pass

        :param Tensor input: Hidden state h
        :param Tensor context: Attention context
        :param ByteTensor mask: Selection mask
        :return: tuple of - (Attentioned hidden state, Alphas)
        """

        # (batch, hidden_dim, seq_len)
        inp = self.input_linear(input).unsqueeze(2).expand(-1, -1, context.size(1))

        # (batch, hidden_dim, seq_len)
        context = context.permute(0, 2, 1)
        ctx = self.context_linear(context)

        # (batch, 1, hidden_dim)
        V = self.V.unsqueeze(0).expand(context.size(0), -1).unsqueeze(1)

        # (batch, seq_len)
        att = torch.bmm(V, self.tanh(inp + ctx)).squeeze(1)
        if len(att[mask]) > 0:
            att[mask] = self.inf[mask]
        alpha = self.softmax(att)

        hidden_state = torch.bmm(ctx, alpha.unsqueeze(2)).squeeze(2)

        return hidden_state, alpha

    def init_inf(self, mask_size):
        self.inf = self._inf.unsqueeze(1).expand(*mask_size)


class Decoder(nn.Module):
    """
    Decoder model for Pointer-Net
    """

    def __init__(self, embedding_dim,
                 hidden_dim):
        """
        Initiate Decoder

        :param int embedding_dim: Number of embeddings in Pointer-Net
        :param int hidden_dim: Number of hidden units for the decoder's RNN
        """

        super(Decoder, self).__init__()  # noqa: UP008 (as upstream)
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim

        self.input_to_hidden = nn.Linear(embedding_dim, 4 * hidden_dim)
        self.hidden_to_hidden = nn.Linear(hidden_dim, 4 * hidden_dim)
        self.hidden_out = nn.Linear(hidden_dim * 2, hidden_dim)
        self.att = Attention(hidden_dim, hidden_dim)

        # Used for propagating .cuda() command
        self.mask = Parameter(torch.ones(1), requires_grad=False)
        self.runner = Parameter(torch.zeros(1), requires_grad=False)

    def forward(self, embedded_inputs,
                decoder_input,
                hidden,
                context):
        """
        Decoder - Forward-pass

        :param Tensor embedded_inputs: Embedded inputs of Pointer-Net
        :param Tensor decoder_input: First decoder's input
        :param Tensor hidden: First decoder's hidden states
        :param Tensor context: Encoder's outputs
        :return: (Output probabilities, Pointers indices), last hidden state
        """

        batch_size = embedded_inputs.size(0)
        input_length = embedded_inputs.size(1)

        # (batch, seq_len)
        mask = self.mask.repeat(input_length).unsqueeze(0).repeat(batch_size, 1)
        self.att.init_inf(mask.size())

        # Generating arang(input_length), broadcasted across batch_size
        runner = self.runner.repeat(input_length)
        for i in range(input_length):
            runner.data[i] = i
        runner = runner.unsqueeze(0).expand(batch_size, -1).long()

        outputs = []
        pointers = []

        def step(x, hidden):
            """
            Recurrence step function

            :param Tensor x: Input at time t
            :param tuple(Tensor, Tensor) hidden: Hidden states at time t-1
            :return: Hidden states at time t (h, c), Attention probabilities (Alpha)
            """

            # Regular LSTM
            h, c = hidden

            gates = self.input_to_hidden(x) + self.hidden_to_hidden(h)
            input, forget, cell, out = gates.chunk(4, 1)

            input = F.sigmoid(input)
            forget = F.sigmoid(forget)
            cell = F.tanh(cell)
            out = F.sigmoid(out)

            c_t = (forget * c) + (input * cell)
            h_t = out * F.tanh(c_t)

            # Attention section
            hidden_t, output = self.att(h_t, context, torch.eq(mask, 0))
            hidden_t = F.tanh(self.hidden_out(torch.cat((hidden_t, h_t), 1)))

            return hidden_t, c_t, output

        # Recurrence loop
        for _ in range(input_length):
            h_t, c_t, outs = step(decoder_input, hidden)
            hidden = (h_t, c_t)

            # Masking selected inputs
            masked_outs = outs * mask

            # Get maximum probabilities and indices
            max_probs, indices = masked_outs.max(1)
            one_hot_pointers = (runner == indices.unsqueeze(1).expand(-1, outs.size()[1])).float()

            # Update mask to ignore seen indices
            mask  = mask * (1 - one_hot_pointers)  # noqa: E221 (as upstream)

            # Get embedded inputs by max indices
            embedding_mask = one_hot_pointers.unsqueeze(2).expand(-1, -1, self.embedding_dim).bool()  # upstream: .byte()
            decoder_input = embedded_inputs[embedding_mask.data].view(batch_size, self.embedding_dim)

            outputs.append(outs.unsqueeze(0))
            pointers.append(indices.unsqueeze(1))

        outputs = torch.cat(outputs).permute(1, 0, 2)
        pointers = torch.cat(pointers, 1)

        return (outputs, pointers), hidden


class PointerNet(nn.Module):
    """
    Pointer-Net
    """

    def __init__(self, embedding_dim,
                 hidden_dim,
                 lstm_layers,
                 dropout,
                 bidir=False):
        """
        Initiate Pointer-Net

        :param int embedding_dim: Number of embbeding channels
        :param int hidden_dim: Encoders hidden units
        :param int lstm_layers: Number of layers for LSTMs
        :param float dropout: Float between 0-1
        :param bool bidir: Bidirectional
        """

        super(PointerNet, self).__init__()  # noqa: UP008 (as upstream)
        self.embedding_dim = embedding_dim
        self.bidir = bidir
        self.embedding = nn.Linear(1, embedding_dim)  # upstream: nn.Linear(2, embedding_dim) (2-D points; numbers here)
        self.encoder = Encoder(embedding_dim,
                               hidden_dim,
                               lstm_layers,
                               dropout,
                               bidir)
        self.decoder = Decoder(embedding_dim, hidden_dim)
        self.decoder_input0 = Parameter(torch.FloatTensor(embedding_dim), requires_grad=False)

        # Initialize decoder_input0
        nn.init.uniform_(self.decoder_input0, -1, 1)  # upstream: nn.init.uniform

    def forward(self, inputs):
        """
        PointerNet - Forward-pass

        :param Tensor inputs: Input sequence
        :return: Pointers probabilities and indices
        """

        batch_size = inputs.size(0)
        input_length = inputs.size(1)

        decoder_input0 = self.decoder_input0.unsqueeze(0).expand(batch_size, -1)

        inputs = inputs.view(batch_size * input_length, -1)
        embedded_inputs = self.embedding(inputs).view(batch_size, input_length, -1)

        encoder_hidden0 = self.encoder.init_hidden(embedded_inputs)
        encoder_outputs, encoder_hidden = self.encoder(embedded_inputs,
                                                       encoder_hidden0)
        if self.bidir:
            # upstream: torch.cat(encoder_hidden[0][-2:], dim=-1) (a tensor, which torch.cat took then)
            decoder_hidden0 = (torch.cat(tuple(encoder_hidden[0][-2:]), dim=-1),
                               torch.cat(tuple(encoder_hidden[1][-2:]), dim=-1))
        else:
            decoder_hidden0 = (encoder_hidden[0][-1],
                               encoder_hidden[1][-1])
        (outputs, pointers), decoder_hidden = self.decoder(embedded_inputs,
                                                           decoder_input0,
                                                           decoder_hidden0,
                                                           encoder_outputs)

        return  outputs, pointers  # noqa: E271 (as upstream)


def sort_data(size, seq_len, rng):
    """The sorting task (upstream: TSPDataset's random points and tsp_opt's tours): seq_len numbers drawn from
    U(0, 1) as upstream draws its points (np.random.random), the target their argsort (ascending)."""
    points = rng.random_sample((size, seq_len, 1))
    solutions = np.argsort(points[..., 0], axis=1)
    return torch.from_numpy(points).float(), torch.from_numpy(solutions).long()


class SortDataset(Dataset):
    """Upstream's TSPDataset (a fixed set of random samples and their solutions, served as dicts) for sorting."""

    def __init__(self, data_size, seq_len, input_scale=1.0):
        self.data_size = data_size
        self.seq_len = seq_len
        points, solutions = sort_data(data_size, seq_len, np.random)  # upstream: TSPDataset's np.random.random
        self.data = {'Points_List': points * input_scale, 'Solutions': solutions}  # the unscaled_inputs variant: x1000

    def __len__(self):
        return self.data_size

    def __getitem__(self, idx):
        return {'Points': self.data['Points_List'][idx], 'Solution': self.data['Solutions'][idx]}


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, input_scale: float = 1.0,
          zero_grad: bool = True, hiddens: int = HIDDENS, batch_size: int = BATCH_SIZE, steps: int = STEPS,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)  # upstream seeds nothing
    np.random.seed(seed)
    t0 = time.time()
    lr = 0.0001 * lr_mult  # upstream: --lr 0.0001

    model = PointerNet(EMBEDDING_SIZE,  # upstream: --embedding_size 128
                       hiddens,  # upstream: --hiddens 512
                       2,  # --nof_lstms 2
                       0.,  # --dropout 0.
                       True)  # --bidir True
    if init_std is not None:  # the init_large variant: N(0, init_std) for every trainable weight matrix and vector
        for name, p in model.named_parameters():
            if p.requires_grad and "bias" not in name:
                nn.init.normal_(p, 0.0, init_std)

    # upstream: TSPDataset(params.train_size, params.nof_points), 1,000,000 samples for 50,000 epochs; here one pass
    dataset = SortDataset(steps * batch_size, NOF_POINTS, input_scale)
    dataloader = DataLoader(dataset,
                            batch_size=batch_size,
                            shuffle=True,
                            num_workers=0)  # upstream: num_workers=4

    CCE = torch.nn.CrossEntropyLoss()
    model_optim = optim.Adam(filter(lambda p: p.requires_grad,
                                    model.parameters()),
                             lr=lr)
    monitor = gradmedic.watch(model, model_optim, every=every)  # gradmedic

    losses = []

    for _epoch in range(1):  # upstream: range(params.nof_epoch), with tqdm
        for i_batch, sample_batched in enumerate(dataloader):
            train_batch = sample_batched['Points']  # upstream: Variable(...)
            target_batch = sample_batched['Solution']

            o, p = model(train_batch)
            o = o.contiguous().view(-1, o.size()[-1])

            target_batch = target_batch.view(-1)

            loss = CCE(o, target_batch)  # as upstream: CrossEntropyLoss on the attention's softmax probabilities

            losses.append(loss.item())  # upstream: loss.data[0]

            if zero_grad:  # the no_zero_grad variant leaves this out
                model_optim.zero_grad()
            loss.backward()
            monitor.step(loss)  # gradmedic
            model_optim.step()

            if verbose and i_batch % 50 == 0:
                print(f"batch {i_batch} loss {loss.item():.4f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()

    # the metric: greedy pointers (the decoder's own argmax, as in training) on a fixed held-out set
    xt, yt = sort_data(TEST_SIZE, NOF_POINTS, np.random.RandomState(TEST_SEED))
    with torch.no_grad():
        _, pt = model(xt * input_scale)
    acc = float((pt == yt).float().mean())
    seq_acc = float((pt == yt).all(1).float().mean())
    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc, "chance": 1.0 / NOF_POINTS,
            "initial": None, "initial_what": f"chance accuracy 1/{NOF_POINTS} per position",
            "extra": dict(lr=lr, train_loss=float(np.mean(la[-20:])), first_loss=float(np.mean(la[:5])),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), steps=len(la), seq_accuracy=seq_acc,
                          lr_mult=lr_mult, init_std=-1.0 if init_std is None else init_std, input_scale=input_scale,
                          zero_grad=zero_grad, hiddens=hiddens, batch_size=batch_size, nof_points=NOF_POINTS),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="pointernet", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = (f"Pointer-Net sorting {NOF_POINTS} numbers (embedding {EMBEDDING_SIZE}, hiddens {HIDDENS}, 2 bidirectional encoder "
      f"LSTM layers, LSTM-cell decoder with pointer attention; CrossEntropyLoss on the pointer probabilities; Adam lr "
      f"1e-4, batch {BATCH_SIZE}, no clipping, {STEPS} steps)")
CASES: list[dict] = (
    [_case(f"pointernet_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"pointernet_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({1e-4 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("pointernet_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 (1e-07)")]
    + [_case(f"pointernet_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every trainable weight (embedding, both LSTMs, attention and its V, "
             f"hidden_out) instead of PyTorch's default U(+-1/sqrt(fan_in)) and V's U(-1, 1); biases kept")
       for s in (1, 2)]
    + [_case(f"pointernet_inputs_x1000_s{s}", "unscaled_inputs", s, {"input_scale": 1000.0},
             f"{_P}: the numbers drawn from U(0, 1000) instead of U(0, 1) (train and test)") for s in (1, 2)]
    + [_case("pointernet_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: model_optim.zero_grad() left out (the gradients accumulate)")]
    + [_case("pointernet_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: Adam lr x2 (2e-4; expected harmless)")]
    + [_case("pointernet_hiddens_x2_s1", "healthy", 1, {"hiddens": 2 * HIDDENS},
             f"{_P}: hiddens {2 * HIDDENS} instead of {HIDDENS} (expected harmless; no cause names it)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
