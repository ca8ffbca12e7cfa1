"""makemore (character-level language models of names), watched by gradmedic.

Adapted from https://github.com/karpathy/makemore (commit 988aa59e4d8fefa526d06f3b453ad116258398d4,
makemore.py; MIT license, see LICENSE-makemore; data/names.txt is the repository's names.txt, 32033 names).
Kept as in the original: ``ModelConfig`` and the models (Transformer, BoW, RNN with RNNCell or GRUCell, MLP,
Bigram; code unchanged but for the Transformer's parameter-count print as an f-string), ``CharDataset``,
``create_datasets`` (the ``torch.randperm`` split into 1000 test words and the rest), ``InfiniteDataLoader``
(a ``RandomSampler`` with replacement), ``evaluate``, the defaults of upstream's argument parser (n_layer 4,
n_head 4, n_embd 64, n_embd2 64, batch 32, learning rate 5e-4, weight decay 0.01) and the training loop:
``torch.optim.AdamW(lr=5e-4, weight_decay=0.01, betas=(0.9, 0.99), eps=1e-8)`` over all parameters, a constant
rate, ``model.zero_grad(set_to_none=True)`` / ``loss.backward()`` / ``optimizer.step()`` with no clipping, the
models' ``F.cross_entropy(..., ignore_index=-1)`` (positions after a word's end token are masked), and the
``evaluate`` of train and test loss (batches of 100, ``max_batches=10``) every 500 steps.

Changed to run offline on one CPU thread in 12-60 s: ``max_steps`` per model type (upstream runs until
stopped): Transformer 1000, GRU and RNN 2000, MLP 5000; for the MLP only, n_embd 16 instead of 64 (with 16
positions x 64 dimensions of N(0, 1) embeddings into its first Linear, the default MLP's loss falls from 3.3 to
~2.9 within its first five steps, so its start - the mean of the first 5 losses that run.py's good-outcome
rule compares with - is ~3.05-3.13 and the healthy run ends at 0.67-0.70 of it after 4000 steps; with n_embd
16 the start is ~3.25 and the run ends at ~0.66); seed 3407 + seed (3407); num_workers 0 and pin_memory False
(4 and True); no tensorboard ``SummaryWriter``, no checkpoint (``model.pt``), no ``print_samples`` every 200
steps (its sampling would also draw from the global RNG), no resume or sample-only modes; the prints of
``create_datasets`` and ``Transformer.__init__`` silenced; the every-500-step evaluations go to ``extra["evals"]``
instead of tensorboard, and one more evaluation at the end gives ``extra["test_loss"]`` (the whole 1000-word test
set).  ``evaluate`` takes the device as an argument instead of reading the global ``args``.  ``train()`` builds
upstream's parser with ``parse_args([])`` and sets the fields it changes.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the AdamW is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the loop.  The metric is the train loss, the mean of the last 20 steps' batch losses, against the mean of
the first 5 (``initial``), as minGPT's port reports it.

``CASES`` (in the shape of run.py's ``case()``, all of program "makemore"): each of four model types (name
prefixes mmtf, mmgru, mmrnn, mmmlp: run.py finds a variant's control by the first "_" token of its name) on
seeds 1-3, and one change each against the same type's healthy run on seed 1: learning rate x10, x100, x1000
and /1000, ``nn.init.normal_(std=1.0)`` on every Linear weight (makemore keeps PyTorch's default inits), and
zeros on every Linear and Embedding.  No "no_clipping" case: makemore does not clip, and adding
``clip_grad_norm_(1.0)`` (the ``clip`` keyword) changes nothing here - the vanilla RNN at lr x10 and x30 gives
the identical run with and without it (the mean cross-entropy's gradient norm stays under 1.0), and at x100
2.488 without against 2.490 with it (both poor, AdamW's steps are bounded by the rate anyway) - so there is no
run that the clip would rescue.  Unscaled inputs do not apply to token ids.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from torch.nn import functional as F
from torch.utils.data import Dataset
from torch.utils.data.dataloader import DataLoader

import gradmedic

ARCH = "gpt"
MONITOR_AT = ("watch(model, optimizer, every=10) right after the AdamW is built; monitor.step(loss) right after "
              "loss.backward(), before optimizer.step() (makemore does not clip)")

NAMES = Path(__file__).resolve().parent / "data" / "names.txt"

# -----------------------------------------------------------------------------


@dataclass
class ModelConfig:
    block_size: int = None # length of the input sequences of integers
    vocab_size: int = None # the input integers are in range [0 .. vocab_size -1]
    # parameters below control the sizes of each model slightly differently
    n_layer: int = 4
    n_embd: int = 64
    n_embd2: int = 64
    n_head: int = 4

# -----------------------------------------------------------------------------
# Transformer Language Model (*exactly* as used in GPT-2)


class NewGELU(nn.Module):
    """
    Implementation of the GELU activation function currently in Google BERT repo (identical to OpenAI GPT).
    Reference: Gaussian Error Linear Units (GELU) paper: https://arxiv.org/abs/1606.08415
    """
    def forward(self, x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class CausalSelfAttention(nn.Module):
    """
    A vanilla multi-head masked self-attention layer with a projection at the end.
    It is possible to use torch.nn.MultiheadAttention here but I am including an
    explicit implementation here to show that there is nothing too scary here.
    """

    def __init__(self, config):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        # key, query, value projections for all heads, but in a batch
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)
        # output projection
        self.c_proj = nn.Linear(config.n_embd, config.n_embd)
        # causal mask to ensure that attention is only applied to the left in the input sequence
        self.register_buffer("bias", torch.tril(torch.ones(config.block_size, config.block_size))
                                     .view(1, 1, config.block_size, config.block_size))
        self.n_head = config.n_head
        self.n_embd = config.n_embd

    def forward(self, x):
        B, T, C = x.size() # batch size, sequence length, embedding dimensionality (n_embd)

        # calculate query, key, values for all heads in batch and move head forward to be the batch dim
        q, k ,v  = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) # (B, nh, T, hs)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) # (B, nh, T, hs)

        # causal self-attention; Self-attend: (B, nh, T, hs) x (B, nh, hs, T) -> (B, nh, T, T)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:,:,:T,:T] == 0, float('-inf'))
        att = F.softmax(att, dim=-1)
        y = att @ v # (B, nh, T, T) x (B, nh, T, hs) -> (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C) # re-assemble all head outputs side by side

        # output projection
        y = self.c_proj(y)
        return y


class Block(nn.Module):
    """ an unassuming Transformer block """

    def __init__(self, config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.mlp = nn.ModuleDict(dict(
            c_fc    = nn.Linear(config.n_embd, 4 * config.n_embd),
            c_proj  = nn.Linear(4 * config.n_embd, config.n_embd),
            act     = NewGELU(),
        ))
        m = self.mlp
        self.mlpf = lambda x: m.c_proj(m.act(m.c_fc(x))) # MLP forward

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlpf(self.ln_2(x))
        return x


class Transformer(nn.Module):
    """ Transformer Language Model, exactly as seen in GPT-2 """

    def __init__(self, config):
        super().__init__()
        self.block_size = config.block_size

        self.transformer = nn.ModuleDict(dict(
            wte = nn.Embedding(config.vocab_size, config.n_embd),
            wpe = nn.Embedding(config.block_size, config.n_embd),
            h = nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f = nn.LayerNorm(config.n_embd),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)

        # report number of parameters (note we don't count the decoder parameters in lm_head)
        n_params = sum(p.numel() for p in self.transformer.parameters())
        print(f"number of parameters: {n_params / 1e6:.2f}M")

    def get_block_size(self):
        return self.block_size

    def forward(self, idx, targets=None):
        device = idx.device
        b, t = idx.size()
        assert t <= self.block_size, f"Cannot forward sequence of length {t}, block size is only {self.block_size}"
        pos = torch.arange(0, t, dtype=torch.long, device=device).unsqueeze(0) # shape (1, t)

        # forward the GPT model itself
        tok_emb = self.transformer.wte(idx) # token embeddings of shape (b, t, n_embd)
        pos_emb = self.transformer.wpe(pos) # position embeddings of shape (1, t, n_embd)
        x = tok_emb + pos_emb
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        logits = self.lm_head(x)

        # if we are given some desired targets also calculate the loss
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)

        return logits, loss

# -----------------------------------------------------------------------------
# Bag of Words (BoW) language model


class CausalBoW(nn.Module):
    """
    Causal bag of words. Averages the preceding elements and looks suspiciously like
    a CausalAttention module you'd find in a transformer, for no apparent reason at all ;)
    """
    def __init__(self, config):
        super().__init__()

        # used to mask out vectors and preserve autoregressive property
        self.block_size = config.block_size
        self.register_buffer("bias", torch.tril(torch.ones(config.block_size, config.block_size))
                            .view(1, config.block_size, config.block_size))

    def forward(self, x):
        B, T, C = x.size() # batch size, sequence length, n_embd

        # do the weighted average of all preceeding token features
        att = torch.zeros((B, T, T), device=x.device)
        att = att.masked_fill(self.bias[:,:T,:T] == 0, float('-inf'))
        att = F.softmax(att, dim=-1)
        y = att @ x # (B, T, T) x (B, T, C) -> (B, T, C)

        return y


class BoWBlock(nn.Module):
    """ collects BoW features and adds an MLP """

    def __init__(self, config):
        super().__init__()

        # Causal BoW module
        self.cbow = CausalBoW(config)
        # MLP assembler
        self.mlp = nn.ModuleDict(dict(
            c_fc    = nn.Linear(config.n_embd, config.n_embd2),
            c_proj  = nn.Linear(config.n_embd2, config.n_embd),
        ))
        m = self.mlp
        self.mlpf = lambda x: m.c_proj(F.tanh(m.c_fc(x))) # MLP forward

    def forward(self, x):
        x = x + self.cbow(x)
        x = x + self.mlpf(x)
        return x


class BoW(nn.Module):
    """
    takes the previous block_size tokens, encodes them with a lookup table,
    also encodes their positions with lookup table, then averages all of those
    embeddings up and uses that to predict the next token.
    """

    def __init__(self, config):
        super().__init__()
        self.block_size = config.block_size
        self.vocab_size = config.vocab_size
        # token embedding
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        # position embedding
        self.wpe = nn.Embedding(config.block_size, config.n_embd)
        # context block
        self.context_block = BoWBlock(config)
        # language model head decoder layer
        self.lm_head = nn.Linear(config.n_embd, self.vocab_size)

    def get_block_size(self):
        return self.block_size

    def forward(self, idx, targets=None):

        device = idx.device
        b, t = idx.size()
        assert t <= self.block_size, f"Cannot forward sequence of length {t}, block size is only {self.block_size}"
        pos = torch.arange(0, t, dtype=torch.long, device=device).unsqueeze(0) # shape (1, t)

        # forward the token and position embedding layers
        tok_emb = self.wte(idx) # token embeddings of shape (b, t, n_embd)
        pos_emb = self.wpe(pos) # position embeddings of shape (1, t, n_embd)
        # add and run through the decoder MLP
        x = tok_emb + pos_emb
        # run the bag of words context module
        x = self.context_block(x)
        # decode to next token probability
        logits = self.lm_head(x)

        # if we are given some desired targets also calculate the loss
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)

        return logits, loss

# -----------------------------------------------------------------------------
# Recurrent Neural Net language model: either a vanilla RNN recurrence or a GRU.
# Did not implement an LSTM because its API is a bit more annoying as it has
# both a hidden state and a cell state, but it's very similar to GRU and in
# practice works just as well.


class RNNCell(nn.Module):
    """
    the job of a 'Cell' is to:
    take input at current time step x_{t} and the hidden state at the
    previous time step h_{t-1} and return the resulting hidden state
    h_{t} at the current timestep
    """
    def __init__(self, config):
        super().__init__()
        self.xh_to_h = nn.Linear(config.n_embd + config.n_embd2, config.n_embd2)

    def forward(self, xt, hprev):
        xh = torch.cat([xt, hprev], dim=1)
        ht = F.tanh(self.xh_to_h(xh))
        return ht


class GRUCell(nn.Module):
    """
    same job as RNN cell, but a bit more complicated recurrence formula
    that makes the GRU more expressive and easier to optimize.
    """
    def __init__(self, config):
        super().__init__()
        # input, forget, output, gate
        self.xh_to_z = nn.Linear(config.n_embd + config.n_embd2, config.n_embd2)
        self.xh_to_r = nn.Linear(config.n_embd + config.n_embd2, config.n_embd2)
        self.xh_to_hbar = nn.Linear(config.n_embd + config.n_embd2, config.n_embd2)

    def forward(self, xt, hprev):
        # first use the reset gate to wipe some channels of the hidden state to zero
        xh = torch.cat([xt, hprev], dim=1)
        r = F.sigmoid(self.xh_to_r(xh))
        hprev_reset = r * hprev
        # calculate the candidate new hidden state hbar
        xhr = torch.cat([xt, hprev_reset], dim=1)
        hbar = F.tanh(self.xh_to_hbar(xhr))
        # calculate the switch gate that determines if each channel should be updated at all
        z = F.sigmoid(self.xh_to_z(xh))
        # blend the previous hidden state and the new candidate hidden state
        ht = (1 - z) * hprev + z * hbar
        return ht


class RNN(nn.Module):

    def __init__(self, config, cell_type):
        super().__init__()
        self.block_size = config.block_size
        self.vocab_size = config.vocab_size
        self.start = nn.Parameter(torch.zeros(1, config.n_embd2)) # the starting hidden state
        self.wte = nn.Embedding(config.vocab_size, config.n_embd) # token embeddings table
        if cell_type == 'rnn':
            self.cell = RNNCell(config)
        elif cell_type == 'gru':
            self.cell = GRUCell(config)
        self.lm_head = nn.Linear(config.n_embd2, self.vocab_size)

    def get_block_size(self):
        return self.block_size

    def forward(self, idx, targets=None):
        device = idx.device  # noqa: F841 (upstream's)
        b, t = idx.size()

        # embed all the integers up front and all at once for efficiency
        emb = self.wte(idx) # (b, t, n_embd)

        # sequentially iterate over the inputs and update the RNN state each tick
        hprev = self.start.expand((b, -1)) # expand out the batch dimension
        hiddens = []
        for i in range(t):
            xt = emb[:, i, :] # (b, n_embd)
            ht = self.cell(xt, hprev) # (b, n_embd2)
            hprev = ht
            hiddens.append(ht)

        # decode the outputs
        hidden = torch.stack(hiddens, 1) # (b, t, n_embd2)
        logits = self.lm_head(hidden)

        # if we are given some desired targets also calculate the loss
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)

        return logits, loss

# -----------------------------------------------------------------------------
# MLP language model


class MLP(nn.Module):
    """
    takes the previous block_size tokens, encodes them with a lookup table,
    concatenates the vectors and predicts the next token with an MLP.

    Reference:
    Bengio et al. 2003 https://www.jmlr.org/papers/volume3/bengio03a/bengio03a.pdf
    """

    def __init__(self, config):
        super().__init__()
        self.block_size = config.block_size
        self.vocab_size = config.vocab_size
        self.wte = nn.Embedding(config.vocab_size + 1, config.n_embd) # token embeddings table
        # +1 in the line above for a special <BLANK> token that gets inserted if encoding a token
        # before the beginning of the input sequence
        self.mlp = nn.Sequential(
            nn.Linear(self.block_size * config.n_embd, config.n_embd2),
            nn.Tanh(),
            nn.Linear(config.n_embd2, self.vocab_size)
        )

    def get_block_size(self):
        return self.block_size

    def forward(self, idx, targets=None):

        # gather the word embeddings of the previous 3 words
        embs = []
        for k in range(self.block_size):  # noqa: B007 (upstream's)
            tok_emb = self.wte(idx) # token embeddings of shape (b, t, n_embd)
            idx = torch.roll(idx, 1, 1)
            idx[:, 0] = self.vocab_size # special <BLANK> token
            embs.append(tok_emb)

        # concat all of the embeddings together and pass through an MLP
        x = torch.cat(embs, -1) # (b, t, n_embd * block_size)
        logits = self.mlp(x)

        # if we are given some desired targets also calculate the loss
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)

        return logits, loss

# -----------------------------------------------------------------------------
# Bigram language model


class Bigram(nn.Module):
    """
    Bigram Language Model 'neural net', simply a lookup table of logits for the
    next character given a previous character.
    """

    def __init__(self, config):
        super().__init__()
        n = config.vocab_size
        self.logits = nn.Parameter(torch.zeros((n, n)))

    def get_block_size(self):
        return 1 # this model only needs one previous character to predict the next

    def forward(self, idx, targets=None):

        # 'forward pass', lol
        logits = self.logits[idx]

        # if we are given some desired targets also calculate the loss
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)

        return logits, loss

# -----------------------------------------------------------------------------
# helper functions for evaluating (upstream's generate and print_samples are not used here)


@torch.inference_mode()
def evaluate(model, dataset, batch_size=50, max_batches=None, device='cpu'):  # device: upstream reads args.device
    model.eval()
    loader = DataLoader(dataset, shuffle=True, batch_size=batch_size, num_workers=0)
    losses = []
    for i, batch in enumerate(loader):
        batch = [t.to(device) for t in batch]
        X, Y = batch
        logits, loss = model(X, Y)
        losses.append(loss.item())
        if max_batches is not None and i >= max_batches:
            break
    mean_loss = torch.tensor(losses).mean().item()
    model.train() # reset model back to training mode
    return mean_loss

# -----------------------------------------------------------------------------
# helper functions for creating the training and test Datasets that emit words


class CharDataset(Dataset):

    def __init__(self, words, chars, max_word_length):
        self.words = words
        self.chars = chars
        self.max_word_length = max_word_length
        self.stoi = {ch:i+1 for i,ch in enumerate(chars)}
        self.itos = {i:s for s,i in self.stoi.items()} # inverse mapping

    def __len__(self):
        return len(self.words)

    def contains(self, word):
        return word in self.words

    def get_vocab_size(self):
        return len(self.chars) + 1 # all the possible characters and special 0 token

    def get_output_length(self):
        return self.max_word_length + 1 # <START> token followed by words

    def encode(self, word):
        ix = torch.tensor([self.stoi[w] for w in word], dtype=torch.long)
        return ix

    def decode(self, ix):
        word = ''.join(self.itos[i] for i in ix)
        return word

    def __getitem__(self, idx):
        word = self.words[idx]
        ix = self.encode(word)
        x = torch.zeros(self.max_word_length + 1, dtype=torch.long)
        y = torch.zeros(self.max_word_length + 1, dtype=torch.long)
        x[1:1+len(ix)] = ix
        y[:len(ix)] = ix
        y[len(ix)+1:] = -1 # index -1 will mask the loss at the inactive locations
        return x, y


def create_datasets(input_file):

    # preprocessing of the input text file
    with open(input_file) as f:
        data = f.read()
    words = data.splitlines()
    words = [w.strip() for w in words] # get rid of any leading or trailing white space
    words = [w for w in words if w] # get rid of any empty strings
    chars = sorted(list(set(''.join(words)))) # all the possible characters
    max_word_length = max(len(w) for w in words)
    print(f"number of examples in the dataset: {len(words)}")
    print(f"max word length: {max_word_length}")
    print(f"number of unique characters in the vocabulary: {len(chars)}")
    print("vocabulary:")
    print(''.join(chars))

    # partition the input data into a training and the test set
    test_set_size = min(1000, int(len(words) * 0.1)) # 10% of the training set, or up to 1000 examples
    rp = torch.randperm(len(words)).tolist()
    train_words = [words[i] for i in rp[:-test_set_size]]
    test_words = [words[i] for i in rp[-test_set_size:]]
    print(f"split up the dataset into {len(train_words)} training examples and {len(test_words)} test examples")

    # wrap in dataset objects
    train_dataset = CharDataset(train_words, chars, max_word_length)
    test_dataset = CharDataset(test_words, chars, max_word_length)

    return train_dataset, test_dataset


class InfiniteDataLoader:
    """
    this is really hacky and I'm not proud of it, but there doesn't seem to be
    a better way in PyTorch to just create an infinite dataloader?
    """

    def __init__(self, dataset, **kwargs):
        train_sampler = torch.utils.data.RandomSampler(dataset, replacement=True, num_samples=int(1e10))
        self.train_loader = DataLoader(dataset, sampler=train_sampler, **kwargs)
        self.data_iter = iter(self.train_loader)

    def next(self):
        try:
            batch = next(self.data_iter)
        except StopIteration: # this will technically only happen after 1e10 samples... (i.e. basically never)
            self.data_iter = iter(self.train_loader)
            batch = next(self.data_iter)
        return batch

# -----------------------------------------------------------------------------
# upstream's __main__, as a function


def get_parser():
    # parse command line args (upstream's parser; the file, work-dir, resume and sampling options are unused here)
    parser = argparse.ArgumentParser(description="Make More")
    # system/input/output
    parser.add_argument('--input-file', '-i', type=str, default=str(NAMES), help="input file with things one per line")
    parser.add_argument('--num-workers', '-n', type=int, default=0,  # upstream: 4
                        help="number of data workers for both train/test")
    parser.add_argument('--max-steps', type=int, default=-1,
                        help="max number of optimization steps to run for, or -1 for infinite.")
    parser.add_argument('--device', type=str, default='cpu', help="device to use for compute, examples: cpu|cuda|cuda:2|mps")
    parser.add_argument('--seed', type=int, default=3407, help="seed")
    # model
    parser.add_argument('--type', type=str, default='transformer',
                        help="model class type to use, bigram|mlp|rnn|gru|bow|transformer")
    parser.add_argument('--n-layer', type=int, default=4, help="number of layers")
    parser.add_argument('--n-head', type=int, default=4, help="number of heads (in a transformer)")
    parser.add_argument('--n-embd', type=int, default=64, help="number of feature channels in the model")
    parser.add_argument('--n-embd2', type=int, default=64, help="number of feature channels elsewhere in the model")
    # optimization
    parser.add_argument('--batch-size', '-b', type=int, default=32, help="batch size during optimization")
    parser.add_argument('--learning-rate', '-l', type=float, default=5e-4, help="learning rate")
    parser.add_argument('--weight-decay', '-w', type=float, default=0.01, help="weight decay")
    return parser


# per model type: the number of steps (upstream runs until stopped), and the MLP's smaller embedding (see the docstring)
STEPS = {"transformer": 1000, "gru": 2000, "rnn": 2000, "mlp": 5000, "bow": 2000, "bigram": 2000}
SIZES = {"mlp": {"n_embd": 16}}


def train(seed: int = 1, type: str = "transformer", lr_mult: float = 1.0, init_std: float | None = None,
          zero_init: bool = False, clip: float | None = None, max_steps: int | None = None, every: int = 10,
          verbose: bool = False, **overrides) -> dict:
    """makemore's ``__main__`` for model ``type`` with one change per keyword: ``lr_mult`` scales the learning rate
    5e-4; ``init_std`` draws every Linear weight from N(0, init_std) instead of PyTorch's default
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (biases and LayerNorms kept; the embeddings are N(0, 1) by default already);
    ``zero_init`` puts zeros_ on every Linear weight and bias and every Embedding (and the Bigram's table, which is
    zero upstream); ``clip`` adds ``clip_grad_norm_(model.parameters(), clip)`` between the backward and the update
    (makemore does not clip).  ``overrides``: other arguments of upstream's parser (n_layer, n_embd, ...)."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    t_start = time.time()
    args = get_parser().parse_args([])
    args.type = type
    args.seed = 3407 + seed  # upstream: 3407
    args.learning_rate *= lr_mult
    args.max_steps = max_steps or STEPS[type]  # upstream: -1 (runs until stopped)
    for k, v in {**SIZES.get(type, {}), **overrides}.items():
        assert hasattr(args, k), k
        setattr(args, k, v)

    # system inits
    torch.manual_seed(args.seed)
    torch.cuda.manual_seed_all(args.seed)

    with contextlib.redirect_stdout(io.StringIO()):
        # init datasets
        train_dataset, test_dataset = create_datasets(args.input_file)
        vocab_size = train_dataset.get_vocab_size()
        block_size = train_dataset.get_output_length()

        # init model
        config = ModelConfig(vocab_size=vocab_size, block_size=block_size,
                             n_layer=args.n_layer, n_head=args.n_head,
                             n_embd=args.n_embd, n_embd2=args.n_embd2)
        if args.type == 'transformer':
            model = Transformer(config)
        elif args.type == 'bigram':
            model = Bigram(config)
        elif args.type == 'mlp':
            model = MLP(config)
        elif args.type == 'rnn':
            model = RNN(config, cell_type='rnn')
        elif args.type == 'gru':
            model = RNN(config, cell_type='gru')
        elif args.type == 'bow':
            model = BoW(config)
        else:
            raise ValueError(f'model type {args.type} is not recognized')
    model.to(args.device)
    if init_std is not None:  # the bug: N(0, init_std) for every Linear weight instead of PyTorch's default init
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0.0, std=init_std)
    if zero_init:  # the bug: zeros everywhere a weight is drawn (every Linear and Embedding)
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.zeros_(m.weight)
                if getattr(m, "bias", None) is not None:
                    nn.init.zeros_(m.bias)

    # init optimizer
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay,
                                  betas=(0.9, 0.99), eps=1e-8)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    # init dataloader (pin_memory False here: no accelerator; upstream: True)
    batch_loader = InfiniteDataLoader(train_dataset, batch_size=args.batch_size, pin_memory=False,
                                      num_workers=args.num_workers)

    # training loop
    losses, evals = [], []
    step = 0
    while True:

        t0 = time.time()

        # get the next batch, ship to device, and unpack it to input and target
        batch = batch_loader.next()
        batch = [t.to(args.device) for t in batch]
        X, Y = batch

        # feed into the model
        logits, loss = model(X, Y)

        # calculate the gradient, update the weights
        model.zero_grad(set_to_none=True)
        loss.backward()
        monitor.step(loss)  # gradmedic
        if clip is not None:  # a variant: makemore does not clip
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()

        # wait for all CUDA work on the GPU to finish then calculate iteration time taken
        if args.device.startswith('cuda'):
            torch.cuda.synchronize()
        t1 = time.time()
        losses.append(loss.item())

        # logging
        if verbose and step % 100 == 0:  # upstream: prints every 10 steps
            print(f"step {step} | loss {loss.item():.4f} | step time {(t1-t0)*1000:.2f}ms")

        # evaluate the model (recorded here instead of tensorboard; no checkpoint is written)
        if step > 0 and step % 500 == 0:
            train_loss = evaluate(model, train_dataset, batch_size=100, max_batches=10, device=args.device)
            test_loss  = evaluate(model, test_dataset,  batch_size=100, max_batches=10, device=args.device)
            evals.append({"step": step, "train_loss": train_loss, "test_loss": test_loss})
            if verbose:
                print(f"step {step} train loss: {train_loss} test loss: {test_loss}")

        step += 1
        # termination conditions
        if args.max_steps >= 0 and step >= args.max_steps:
            break

    monitor.close()
    # the final evaluation, as upstream's at every 500th step (1000 test words: the whole test set)
    train_loss = evaluate(model, train_dataset, batch_size=100, max_batches=10, device=args.device)
    test_loss = evaluate(model, test_dataset, batch_size=100, max_batches=10, device=args.device)
    return {"monitors": {"": monitor}, "metric": "train_loss", "value": float(np.mean(losses[-20:])),
            "initial": float(np.mean(losses[:5])), "chance": math.log(vocab_size),
            "extra": {"type": args.type, "steps": step, "test_loss": test_loss, "eval_train_loss": train_loss,
                      "evals": evals, "vocab_size": vocab_size, "block_size": block_size,
                      "n_params": sum(p.numel() for p in model.parameters()),
                      "lr": args.learning_rate, "weight_decay": args.weight_decay, "clip": clip,
                      "n_layer": args.n_layer, "n_embd": args.n_embd, "n_embd2": args.n_embd2, "n_head": args.n_head},
            "seconds": time.time() - t_start}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="makemore", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


# One name prefix per model type (run.py finds a variant's control as the first "_" token of its name + "_healthy_s<seed>",
# and caches the control's value per (program, seed): so each type's healthy runs come right before its variants).
MODELS = {
    "transformer": ("mmtf", "Transformer (n_layer 4, n_head 4, n_embd 64)"),
    "gru": ("mmgru", "RNN with GRUCell (n_embd 64, n_embd2 64)"),
    "rnn": ("mmrnn", "RNN with the vanilla tanh RNNCell (n_embd 64, n_embd2 64)"),
    "mlp": ("mmmlp", "MLP (Bengio et al. 2003; block_size 16, n_embd 16, n_embd2 64)"),
}
ZEROED = {
    "transformer": "wte, wpe, c_attn, both c_proj, c_fc and lm_head",
    "gru": "wte, xh_to_z, xh_to_r, xh_to_hbar and lm_head",
    "rnn": "wte, xh_to_h and lm_head",
    "mlp": "wte and both Linear layers",
}
CASES: list[dict] = []
for _t, (_p, _what) in MODELS.items():
    _k = {"type": _t}
    CASES += (
        [_case(f"{_p}_healthy_s{s}", "healthy", s, dict(_k), f"{_what}: unchanged (AdamW lr 5e-4, weight_decay 0.01, "
               f"betas (0.9, 0.99), eps 1e-8, batch 32, no clipping; {STEPS[_t]} steps)", False) for s in (1, 2, 3)]
        + [_case(f"{_p}_lr_x{k}_s1", "lr_high", 1, dict(_k, lr_mult=k), f"{_what}: learning_rate x{k} ({5e-4 * k:g})")
           for k in (10, 100, 1000)]
        + [_case(f"{_p}_lr_div1000_s1", "lr_low", 1, dict(_k, lr_mult=1e-3), f"{_what}: learning_rate /1000 (5e-07)")]
        + [_case(f"{_p}_init_std1_s1", "init_large", 1, dict(_k, init_std=1.0),
                 f"{_what}: nn.init.normal_(std=1.0) on every Linear weight instead of PyTorch's default "
                 "U(+-1/sqrt(fan_in)) (biases kept; the embeddings are N(0, 1) by default)")]
        + [_case(f"{_p}_zero_init_s1", "symmetric_init", 1, dict(_k, zero_init=True),
                 f"{_what}: nn.init.zeros_ on every Linear weight and bias and every Embedding ({ZEROED[_t]})")]
    )


if __name__ == "__main__":
    import sys
    r = train(verbose=True, type=sys.argv[1] if len(sys.argv) > 1 else "transformer",
              **({"lr_mult": float(sys.argv[2])} if len(sys.argv) > 2 else {}))
    print({k: v for k, v in r.items() if k != "monitors"})
