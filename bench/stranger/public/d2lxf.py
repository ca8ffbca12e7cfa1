"""Dive into Deep Learning (d2l-ai/d2l-en): the Transformer encoder-decoder of the attention chapter trained by
``train_seq2seq`` on a synthetic translation task, watched by gradmedic.

Adapted from https://github.com/d2l-ai/d2l-en at tag v0.17.6 (commit 0f920da87c3d3eb6a6802469fd3e89b7d4f43160;
the book's sample code is under the modified MIT licence of LICENSE-SAMPLECODE, see LICENSE-d2lxf): the PyTorch
tabs of chapter_attention-mechanisms/transformer.md (``PositionWiseFFN``, ``AddNorm``, ``EncoderBlock``,
``TransformerEncoder``, ``DecoderBlock``, ``TransformerDecoder`` and the training cell), with what they use from
d2l/torch.py of the same commit (the d2l package is not installed here): ``masked_softmax`` and
``DotProductAttention`` (attention-scoring-functions.md), ``MultiHeadAttention``, ``transpose_qkv``,
``transpose_output`` (multihead-attention.md), ``PositionalEncoding`` (self-attention-and-positional-encoding.md),
``Encoder``/``Decoder``/``AttentionDecoder``/``EncoderDecoder``, ``sequence_mask``, ``MaskedSoftmaxCELoss``,
``train_seq2seq``, ``predict_seq2seq``, ``bleu``, ``grad_clipping``, ``Vocab``/``count_corpus``,
``preprocess_nmt``, ``tokenize_nmt``, ``truncate_pad``, ``build_array_nmt``, ``load_data_nmt`` and ``load_array``.
This is the book's v0.17 version (the one with num_hiddens 32, Adam lr 0.005, ``MaskedSoftmaxCELoss`` and
``grad_clipping(net, 1)``); the v1.0 rewrite (HEAD, commit 23d7a5aecceee57d1292c56e90cce307f183bb0a) trains the
same blocks with num_hiddens 256, lr 0.001, dropout 0.2 and 30 epochs through its ``Trainer`` class.

Kept as in v0.17.6: every model class above unchanged (``nn.Linear`` with the explicit key/query/value sizes of
that version, biases off in the attention, ``embedding * sqrt(num_hiddens)`` before the sine positional
encoding, post-norm ``AddNorm``, the decoder's causal ``dec_valid_lens`` in training and its cached key-values in
prediction); the training cell's sizes ``num_hiddens, num_layers, dropout, batch_size, num_steps = 32, 2, 0.1,
64, 10``, ``lr = 0.005``, ``ffn_num_input, ffn_num_hiddens, num_heads = 32, 64, 4``, ``key_size = query_size =
value_size = 32``, ``norm_shape = [32]``; ``train_seq2seq`` as the book writes it (a plain PyTorch loop: it has
no Trainer class): ``net.apply(xavier_init_weights)`` (``xavier_uniform_`` on every ``nn.Linear`` weight;
embeddings, biases and LayerNorms at PyTorch's defaults), Adam at ``lr``, ``MaskedSoftmaxCELoss`` (per-token
cross-entropy times the valid-length mask, ``.mean(dim=1)`` over the ``num_steps`` positions), ``net.train()``,
then per batch: ``optimizer.zero_grad()``, teacher forcing (``<bos>`` + ``Y[:, :-1]``), ``net(X, dec_input,
X_valid_len)``, ``l = loss(Y_hat, Y, Y_valid_len)``, ``l.sum().backward()``, ``d2l.grad_clipping(net, 1)``
(global norm over all parameters scaled to 1), ``optimizer.step()``; ``load_data_nmt``'s pipeline
(``preprocess_nmt``, ``tokenize_nmt``, ``Vocab(min_freq=2, reserved_tokens=['<pad>', '<bos>', '<eos>'])``,
``build_array_nmt``: ``<eos>`` appended, ``truncate_pad`` to ``num_steps``, valid lengths counting the non-pad
tokens; ``load_array`` shuffling each epoch); greedy ``predict_seq2seq`` one sentence at a time and ``bleu(...,
k=2)``.

Changed to run offline on one CPU thread in ~10-20 s: the fra-eng download (``read_data_nmt``) is replaced by a
synthetic "translation" generated here with a fixed ``random.Random(0)`` (the same data for every run): source
sentences of 2-5 words drawn from 20 English words; the target maps each word through a fixed one-to-one
dictionary onto 20 invented "French" words and swaps the first two words (subject-verb inversion), the line
written ``src\\ttgt`` so that ``load_data_nmt``'s own preprocessing, vocabularies (24 tokens each) and arrays are
built from it unchanged; ``num_examples=600`` as upstream's default (``tokenize_nmt`` keeps lines 0..600, so 601
training pairs, 10 batches an epoch as upstream); 200 more distinct sentences are held out. 40 epochs (400 steps)
instead of 200 (2000). The training-loop prints and the Animator are left out. The outcome is run.py's
``train_loss``: the mean of the last 20 steps' ``l.sum()`` (the batch's summed per-sequence loss that is
backpropagated) against the mean of the first 5.  Held-out greedy decoding (``predict_seq2seq`` unchanged, one
sentence at a time) is scored in ``extra`` only: the token accuracy (the fraction of each reference's tokens plus
its ``<eos>`` that the prediction has at the same position) and the book's mean BLEU (k=2); it is not the metric
because at this size and step count the healthy program does not reach a clear held-out result (0.3-0.4 token
accuracy after 400 steps, as with 3-8-word sentences and 600 steps; the post-norm blocks with the embeddings
scaled by sqrt(32) learn the position alignment slowly). For the same reason the "mask removed" variant (kept as
``train(mask=False)``: ``masked_softmax`` ignores ``valid_lens``, so the decoder sees the tokens it predicts) is
not in ``CASES``: its training loss falls lower than the program's, and only a held-out decoding metric would
show the harm.  ``super(Cls, self)`` written ``super()``, ``type(m) == nn.Linear`` written ``type(m) is
nn.Linear`` and unused loop indices renamed and ``torch.sum((p.grad ** 2))`` written without the extra
parentheses for ruff. The variants are switched by keyword arguments of ``train``
and module flags read by ``masked_softmax`` and the embeddings' scaling; at their defaults the code is upstream's.

The watch: ``gradmedic.watch(net, optimizer, every=10)`` right after the optimizer is built,
``monitor.step(l.sum())`` right after ``l.sum().backward()``, before ``grad_clipping(net, 1)`` and
``optimizer.step()`` (the gradients it sees are the unclipped ones).

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the same
seed's healthy run: Adam lr x10, x100 (seeds 1 and 2), x1000 and /1000; ``grad_clipping`` removed at lr x10;
embeddings multiplied by 100 * sqrt(num_hiddens) instead of sqrt(num_hiddens) (the blocks' inputs 100x their
scale: "unscaled_inputs"); ``normal_(0, 1)`` instead of ``xavier_uniform_`` on every ``nn.Linear`` weight
("init_large").  Labels come from run.py's outcome rules only.
Recorded (cases-public26, 314 s for the 11 cases on a shared 2-core machine, 19-53 s a run): healthy train loss
25.6, 25.2, 25.5 from 93-95 on seeds 1-3 (held-out token accuracy 0.36-0.39, BLEU 0.41-0.49); lr x10 78.7, x100
85.6 and 84.7, x1000 27620 (from 21860), /1000 89.3, no clipping at lr x10 78.7 (the same as with it: Adam
undoes the global rescaling), N(0, 1) Linears 76.1 (from 274): broken (held-out accuracy 0.00-0.05); embeddings
x100 25.8: healthy (the post-norm AddNorm's LayerNorm absorbs the scale; held-out accuracy 0.39).
"""

from __future__ import annotations

import collections
import math
import random
import time

import numpy as np
import torch
from torch import nn
from torch.utils import data

import gradmedic

ARCH = "transformer"
MONITOR_AT = ("monitor.step(l.sum()) right after l.sum().backward() (l: MaskedSoftmaxCELoss per sequence, summed over "
              "the batch of 64), before d2l.grad_clipping(net, 1) and optimizer.step()")

# variant switches (module flags read by the upstream functions; at their defaults the code is upstream's)
USE_MASK = True
EMB_MULT = 1.0


# --- d2l/torch.py (v0.17.6): vocabulary and the machine-translation data pipeline ------------------------------

class Vocab:
    """Vocabulary for text."""
    def __init__(self, tokens=None, min_freq=0, reserved_tokens=None):
        if tokens is None:
            tokens = []
        if reserved_tokens is None:
            reserved_tokens = []
        # Sort according to frequencies
        counter = count_corpus(tokens)
        self._token_freqs = sorted(counter.items(), key=lambda x: x[1],
                                   reverse=True)
        # The index for the unknown token is 0
        self.idx_to_token = ['<unk>'] + reserved_tokens
        self.token_to_idx = {token: idx
                             for idx, token in enumerate(self.idx_to_token)}
        for token, freq in self._token_freqs:
            if freq < min_freq:
                break
            if token not in self.token_to_idx:
                self.idx_to_token.append(token)
                self.token_to_idx[token] = len(self.idx_to_token) - 1

    def __len__(self):
        return len(self.idx_to_token)

    def __getitem__(self, tokens):
        if not isinstance(tokens, (list, tuple)):
            return self.token_to_idx.get(tokens, self.unk)
        return [self.__getitem__(token) for token in tokens]

    def to_tokens(self, indices):
        if not isinstance(indices, (list, tuple)):
            return self.idx_to_token[indices]
        return [self.idx_to_token[index] for index in indices]

    @property
    def unk(self):  # Index for the unknown token
        return 0

    @property
    def token_freqs(self):  # Index for the unknown token
        return self._token_freqs


def count_corpus(tokens):
    """Count token frequencies."""
    # Here `tokens` is a 1D list or 2D list
    if len(tokens) == 0 or isinstance(tokens[0], list):
        # Flatten a list of token lists into a list of tokens
        tokens = [token for line in tokens for token in line]
    return collections.Counter(tokens)


def load_array(data_arrays, batch_size, is_train=True):
    """Construct a PyTorch data iterator."""
    dataset = data.TensorDataset(*data_arrays)
    return data.DataLoader(dataset, batch_size, shuffle=is_train)


SRC_WORDS = ("i", "you", "he", "she", "we", "they", "see", "like", "take", "have", "big", "small", "red", "old",
             "cat", "dog", "house", "car", "book", "tree")
TGT_WORDS = ("ja", "tu", "il", "ela", "nous", "ils", "voi", "aime", "prend", "avo", "gros", "petit", "rouge",
             "vieux", "chat", "chien", "maison", "voiture", "livre", "arbre")
NUM_HELD_OUT = 200


def translate(words):
    """The synthetic language: a fixed word-by-word dictionary, then the first two words swapped."""
    out = [TGT_WORDS[SRC_WORDS.index(w)] for w in words]
    out[0], out[1] = out[1], out[0]
    return out


def read_data_nmt(num_examples=600):
    """Replaces d2l's download of fra-eng: ``num_examples`` training lines ``src\\ttgt`` then the held-out ones."""
    rng = random.Random(0)
    seen, lines = set(), []
    while len(lines) < num_examples + 1 + NUM_HELD_OUT:  # tokenize_nmt keeps lines 0..num_examples
        words = tuple(rng.choice(SRC_WORDS) for _ in range(rng.randint(2, 5)))
        if words in seen:
            continue
        seen.add(words)
        lines.append(' '.join(words) + '\t' + ' '.join(translate(words)))
    return '\n'.join(lines)


def preprocess_nmt(text):
    """Preprocess the English-French dataset."""
    def no_space(char, prev_char):
        return char in set(',.!?') and prev_char != ' '

    # Replace non-breaking space with space, and convert uppercase letters to
    # lowercase ones
    text = text.replace('\u202f', ' ').replace('\xa0', ' ').lower()
    # Insert space between words and punctuation marks
    out = [' ' + char if i > 0 and no_space(char, text[i - 1]) else char
           for i, char in enumerate(text)]
    return ''.join(out)


def tokenize_nmt(text, num_examples=None):
    """Tokenize the English-French dataset."""
    source, target = [], []
    for i, line in enumerate(text.split('\n')):
        if num_examples and i > num_examples:
            break
        parts = line.split('\t')
        if len(parts) == 2:
            source.append(parts[0].split(' '))
            target.append(parts[1].split(' '))
    return source, target


def truncate_pad(line, num_steps, padding_token):
    """Truncate or pad sequences."""
    if len(line) > num_steps:
        return line[:num_steps]  # Truncate
    return line + [padding_token] * (num_steps - len(line))  # Pad


def build_array_nmt(lines, vocab, num_steps):
    """Transform text sequences of machine translation into minibatches."""
    lines = [vocab[line] for line in lines]
    lines = [line + [vocab['<eos>']] for line in lines]
    array = torch.tensor([truncate_pad(
        line, num_steps, vocab['<pad>']) for line in lines])
    valid_len = (array != vocab['<pad>']).type(torch.int32).sum(1)
    return array, valid_len


def load_data_nmt(batch_size, num_steps, num_examples=600):
    """Return the iterator and the vocabularies of the translation dataset."""
    text = preprocess_nmt(read_data_nmt(num_examples))
    source, target = tokenize_nmt(text, num_examples)
    # upstream's tokenize_nmt keeps lines 0..num_examples (num_examples + 1 of them): so does this
    src_vocab = Vocab(source, min_freq=2,
                      reserved_tokens=['<pad>', '<bos>', '<eos>'])
    tgt_vocab = Vocab(target, min_freq=2,
                      reserved_tokens=['<pad>', '<bos>', '<eos>'])
    src_array, src_valid_len = build_array_nmt(source, src_vocab, num_steps)
    tgt_array, tgt_valid_len = build_array_nmt(target, tgt_vocab, num_steps)
    data_arrays = (src_array, src_valid_len, tgt_array, tgt_valid_len)
    data_iter = load_array(data_arrays, batch_size)
    return data_iter, src_vocab, tgt_vocab


def held_out(num_examples=600):
    """The held-out pairs (source sentence, reference translation): the lines after the training ones."""
    source, target = tokenize_nmt(preprocess_nmt(read_data_nmt(num_examples)))
    return [(' '.join(s), ' '.join(t)) for s, t in zip(source[num_examples + 1:], target[num_examples + 1:],
                                                       strict=True)]


# --- d2l/torch.py (v0.17.6): encoder-decoder, loss, attention ----------------------------------------------------

class Encoder(nn.Module):
    """The base encoder interface for the encoder-decoder architecture."""
    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def forward(self, X, *args):
        raise NotImplementedError


class Decoder(nn.Module):
    """The base decoder interface for the encoder-decoder architecture."""
    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def init_state(self, enc_outputs, *args):
        raise NotImplementedError

    def forward(self, X, state):
        raise NotImplementedError


class EncoderDecoder(nn.Module):
    """The base class for the encoder-decoder architecture."""
    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, enc_X, dec_X, *args):
        enc_outputs = self.encoder(enc_X, *args)
        dec_state = self.decoder.init_state(enc_outputs, *args)
        return self.decoder(dec_X, dec_state)


def sequence_mask(X, valid_len, value=0):
    """Mask irrelevant entries in sequences."""
    maxlen = X.size(1)
    mask = torch.arange((maxlen), dtype=torch.float32,
                        device=X.device)[None, :] < valid_len[:, None]
    X[~mask] = value
    return X


class MaskedSoftmaxCELoss(nn.CrossEntropyLoss):
    """The softmax cross-entropy loss with masks."""
    # `pred` shape: (`batch_size`, `num_steps`, `vocab_size`)
    # `label` shape: (`batch_size`, `num_steps`)
    # `valid_len` shape: (`batch_size`,)
    def forward(self, pred, label, valid_len):
        weights = torch.ones_like(label)
        weights = sequence_mask(weights, valid_len)
        self.reduction = 'none'
        unweighted_loss = super().forward(
            pred.permute(0, 2, 1), label)
        weighted_loss = (unweighted_loss * weights).mean(dim=1)
        return weighted_loss


def grad_clipping(net, theta):
    """Clip the gradient."""
    if isinstance(net, nn.Module):
        params = [p for p in net.parameters() if p.requires_grad]
    else:
        params = net.params
    norm = torch.sqrt(sum(torch.sum(p.grad ** 2) for p in params))
    if norm > theta:
        for param in params:
            param.grad[:] *= theta / norm


def predict_seq2seq(net, src_sentence, src_vocab, tgt_vocab, num_steps,
                    device, save_attention_weights=False):
    """Predict for sequence to sequence."""
    # Set `net` to eval mode for inference
    net.eval()
    src_tokens = src_vocab[src_sentence.lower().split(' ')] + [
        src_vocab['<eos>']]
    enc_valid_len = torch.tensor([len(src_tokens)], device=device)
    src_tokens = truncate_pad(src_tokens, num_steps, src_vocab['<pad>'])
    # Add the batch axis
    enc_X = torch.unsqueeze(
        torch.tensor(src_tokens, dtype=torch.long, device=device), dim=0)
    enc_outputs = net.encoder(enc_X, enc_valid_len)
    dec_state = net.decoder.init_state(enc_outputs, enc_valid_len)
    # Add the batch axis
    dec_X = torch.unsqueeze(torch.tensor(
        [tgt_vocab['<bos>']], dtype=torch.long, device=device), dim=0)
    output_seq, attention_weight_seq = [], []
    for _ in range(num_steps):
        Y, dec_state = net.decoder(dec_X, dec_state)
        # We use the token with the highest prediction likelihood as the input
        # of the decoder at the next time step
        dec_X = Y.argmax(dim=2)
        pred = dec_X.squeeze(dim=0).type(torch.int32).item()
        # Save attention weights (to be covered later)
        if save_attention_weights:
            attention_weight_seq.append(net.decoder.attention_weights)
        # Once the end-of-sequence token is predicted, the generation of the
        # output sequence is complete
        if pred == tgt_vocab['<eos>']:
            break
        output_seq.append(pred)
    return ' '.join(tgt_vocab.to_tokens(output_seq)), attention_weight_seq


def bleu(pred_seq, label_seq, k):
    """Compute the BLEU."""
    pred_tokens, label_tokens = pred_seq.split(' '), label_seq.split(' ')
    len_pred, len_label = len(pred_tokens), len(label_tokens)
    score = math.exp(min(0, 1 - len_label / len_pred))
    for n in range(1, k + 1):
        num_matches, label_subs = 0, collections.defaultdict(int)
        for i in range(len_label - n + 1):
            label_subs[' '.join(label_tokens[i: i + n])] += 1
        for i in range(len_pred - n + 1):
            if label_subs[' '.join(pred_tokens[i: i + n])] > 0:
                num_matches += 1
                label_subs[' '.join(pred_tokens[i: i + n])] -= 1
        score *= math.pow(num_matches / (len_pred - n + 1), math.pow(0.5, n))
    return score


def masked_softmax(X, valid_lens):
    """Perform softmax operation by masking elements on the last axis."""
    # `X`: 3D tensor, `valid_lens`: 1D or 2D tensor
    if valid_lens is None or not USE_MASK:  # the no_mask variant: valid_lens ignored
        return nn.functional.softmax(X, dim=-1)
    else:
        shape = X.shape
        if valid_lens.dim() == 1:
            valid_lens = torch.repeat_interleave(valid_lens, shape[1])
        else:
            valid_lens = valid_lens.reshape(-1)
        # On the last axis, replace masked elements with a very large negative
        # value, whose exponentiation outputs 0
        X = sequence_mask(X.reshape(-1, shape[-1]), valid_lens,
                          value=-1e6)
        return nn.functional.softmax(X.reshape(shape), dim=-1)


class DotProductAttention(nn.Module):
    """Scaled dot product attention."""
    def __init__(self, dropout, **kwargs):
        super().__init__(**kwargs)
        self.dropout = nn.Dropout(dropout)

    # Shape of `queries`: (`batch_size`, no. of queries, `d`)
    # Shape of `keys`: (`batch_size`, no. of key-value pairs, `d`)
    # Shape of `values`: (`batch_size`, no. of key-value pairs, value
    # dimension)
    # Shape of `valid_lens`: (`batch_size`,) or (`batch_size`, no. of queries)
    def forward(self, queries, keys, values, valid_lens=None):
        d = queries.shape[-1]
        # Set `transpose_b=True` to swap the last two dimensions of `keys`
        scores = torch.bmm(queries, keys.transpose(1, 2)) / math.sqrt(d)
        self.attention_weights = masked_softmax(scores, valid_lens)
        return torch.bmm(self.dropout(self.attention_weights), values)


class AttentionDecoder(Decoder):
    """The base attention-based decoder interface."""
    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    @property
    def attention_weights(self):
        raise NotImplementedError


class MultiHeadAttention(nn.Module):
    """Multi-head attention."""
    def __init__(self, key_size, query_size, value_size, num_hiddens,
                 num_heads, dropout, bias=False, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.attention = DotProductAttention(dropout)
        self.W_q = nn.Linear(query_size, num_hiddens, bias=bias)
        self.W_k = nn.Linear(key_size, num_hiddens, bias=bias)
        self.W_v = nn.Linear(value_size, num_hiddens, bias=bias)
        self.W_o = nn.Linear(num_hiddens, num_hiddens, bias=bias)

    def forward(self, queries, keys, values, valid_lens):
        # Shape of `queries`, `keys`, or `values`:
        # (`batch_size`, no. of queries or key-value pairs, `num_hiddens`)
        # Shape of `valid_lens`:
        # (`batch_size`,) or (`batch_size`, no. of queries)
        # After transposing, shape of output `queries`, `keys`, or `values`:
        # (`batch_size` * `num_heads`, no. of queries or key-value pairs,
        # `num_hiddens` / `num_heads`)
        queries = transpose_qkv(self.W_q(queries), self.num_heads)
        keys = transpose_qkv(self.W_k(keys), self.num_heads)
        values = transpose_qkv(self.W_v(values), self.num_heads)

        if valid_lens is not None:
            # On axis 0, copy the first item (scalar or vector) for
            # `num_heads` times, then copy the next item, and so on
            valid_lens = torch.repeat_interleave(
                valid_lens, repeats=self.num_heads, dim=0)

        # Shape of `output`: (`batch_size` * `num_heads`, no. of queries,
        # `num_hiddens` / `num_heads`)
        output = self.attention(queries, keys, values, valid_lens)

        # Shape of `output_concat`:
        # (`batch_size`, no. of queries, `num_hiddens`)
        output_concat = transpose_output(output, self.num_heads)
        return self.W_o(output_concat)


def transpose_qkv(X, num_heads):
    """Transposition for parallel computation of multiple attention heads."""
    # Shape of input `X`:
    # (`batch_size`, no. of queries or key-value pairs, `num_hiddens`).
    # Shape of output `X`:
    # (`batch_size`, no. of queries or key-value pairs, `num_heads`,
    # `num_hiddens` / `num_heads`)
    X = X.reshape(X.shape[0], X.shape[1], num_heads, -1)

    # Shape of output `X`:
    # (`batch_size`, `num_heads`, no. of queries or key-value pairs,
    # `num_hiddens` / `num_heads`)
    X = X.permute(0, 2, 1, 3)

    # Shape of `output`:
    # (`batch_size` * `num_heads`, no. of queries or key-value pairs,
    # `num_hiddens` / `num_heads`)
    return X.reshape(-1, X.shape[2], X.shape[3])


def transpose_output(X, num_heads):
    """Reverse the operation of `transpose_qkv`."""
    X = X.reshape(-1, num_heads, X.shape[1], X.shape[2])
    X = X.permute(0, 2, 1, 3)
    return X.reshape(X.shape[0], X.shape[1], -1)


class PositionalEncoding(nn.Module):
    """Positional encoding."""
    def __init__(self, num_hiddens, dropout, max_len=1000):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        # Create a long enough `P`
        self.P = torch.zeros((1, max_len, num_hiddens))
        X = torch.arange(max_len, dtype=torch.float32).reshape(
            -1, 1) / torch.pow(10000, torch.arange(
            0, num_hiddens, 2, dtype=torch.float32) / num_hiddens)
        self.P[:, :, 0::2] = torch.sin(X)
        self.P[:, :, 1::2] = torch.cos(X)

    def forward(self, X):
        X = X + self.P[:, :X.shape[1], :].to(X.device)
        return self.dropout(X)


# --- chapter_attention-mechanisms/transformer.md (v0.17.6) -------------------------------------------------------

class PositionWiseFFN(nn.Module):
    """Positionwise feed-forward network."""
    def __init__(self, ffn_num_input, ffn_num_hiddens, ffn_num_outputs,
                 **kwargs):
        super().__init__(**kwargs)
        self.dense1 = nn.Linear(ffn_num_input, ffn_num_hiddens)
        self.relu = nn.ReLU()
        self.dense2 = nn.Linear(ffn_num_hiddens, ffn_num_outputs)

    def forward(self, X):
        return self.dense2(self.relu(self.dense1(X)))


class AddNorm(nn.Module):
    """Residual connection followed by layer normalization."""
    def __init__(self, normalized_shape, dropout, **kwargs):
        super().__init__(**kwargs)
        self.dropout = nn.Dropout(dropout)
        self.ln = nn.LayerNorm(normalized_shape)

    def forward(self, X, Y):
        return self.ln(self.dropout(Y) + X)


class EncoderBlock(nn.Module):
    """Transformer encoder block."""
    def __init__(self, key_size, query_size, value_size, num_hiddens,
                 norm_shape, ffn_num_input, ffn_num_hiddens, num_heads,
                 dropout, use_bias=False, **kwargs):
        super().__init__(**kwargs)
        self.attention = MultiHeadAttention(
            key_size, query_size, value_size, num_hiddens, num_heads, dropout,
            use_bias)
        self.addnorm1 = AddNorm(norm_shape, dropout)
        self.ffn = PositionWiseFFN(
            ffn_num_input, ffn_num_hiddens, num_hiddens)
        self.addnorm2 = AddNorm(norm_shape, dropout)

    def forward(self, X, valid_lens):
        Y = self.addnorm1(X, self.attention(X, X, X, valid_lens))
        return self.addnorm2(Y, self.ffn(Y))


class TransformerEncoder(Encoder):
    """Transformer encoder."""
    def __init__(self, vocab_size, key_size, query_size, value_size,
                 num_hiddens, norm_shape, ffn_num_input, ffn_num_hiddens,
                 num_heads, num_layers, dropout, use_bias=False, **kwargs):
        super().__init__(**kwargs)
        self.num_hiddens = num_hiddens
        self.embedding = nn.Embedding(vocab_size, num_hiddens)
        self.pos_encoding = PositionalEncoding(num_hiddens, dropout)
        self.blks = nn.Sequential()
        for i in range(num_layers):
            self.blks.add_module("block"+str(i),
                                 EncoderBlock(key_size, query_size, value_size, num_hiddens,
                                              norm_shape, ffn_num_input, ffn_num_hiddens,
                                              num_heads, dropout, use_bias))

    def forward(self, X, valid_lens, *args):
        # Since positional encoding values are between -1 and 1, the embedding
        # values are multiplied by the square root of the embedding dimension
        # to rescale before they are summed up
        X = self.pos_encoding(self.embedding(X) * (EMB_MULT * math.sqrt(self.num_hiddens)))
        self.attention_weights = [None] * len(self.blks)
        for i, blk in enumerate(self.blks):
            X = blk(X, valid_lens)
            self.attention_weights[
                i] = blk.attention.attention.attention_weights
        return X


class DecoderBlock(nn.Module):
    # The `i`-th block in the decoder
    def __init__(self, key_size, query_size, value_size, num_hiddens,
                 norm_shape, ffn_num_input, ffn_num_hiddens, num_heads,
                 dropout, i, **kwargs):
        super().__init__(**kwargs)
        self.i = i
        self.attention1 = MultiHeadAttention(
            key_size, query_size, value_size, num_hiddens, num_heads, dropout)
        self.addnorm1 = AddNorm(norm_shape, dropout)
        self.attention2 = MultiHeadAttention(
            key_size, query_size, value_size, num_hiddens, num_heads, dropout)
        self.addnorm2 = AddNorm(norm_shape, dropout)
        self.ffn = PositionWiseFFN(ffn_num_input, ffn_num_hiddens,
                                   num_hiddens)
        self.addnorm3 = AddNorm(norm_shape, dropout)

    def forward(self, X, state):
        enc_outputs, enc_valid_lens = state[0], state[1]
        # During training, all the tokens of any output sequence are processed
        # at the same time, so `state[2][self.i]` is `None` as initialized.
        # When decoding any output sequence token by token during prediction,
        # `state[2][self.i]` contains representations of the decoded output at
        # the `i`-th block up to the current time step
        if state[2][self.i] is None:
            key_values = X
        else:
            key_values = torch.cat((state[2][self.i], X), axis=1)
        state[2][self.i] = key_values
        if self.training:
            batch_size, num_steps, _ = X.shape
            # Shape of `dec_valid_lens`: (`batch_size`, `num_steps`), where
            # every row is [1, 2, ..., `num_steps`]
            dec_valid_lens = torch.arange(
                1, num_steps + 1, device=X.device).repeat(batch_size, 1)
        else:
            dec_valid_lens = None

        # Self-attention
        X2 = self.attention1(X, key_values, key_values, dec_valid_lens)
        Y = self.addnorm1(X, X2)
        # Encoder-decoder attention. Shape of `enc_outputs`:
        # (`batch_size`, `num_steps`, `num_hiddens`)
        Y2 = self.attention2(Y, enc_outputs, enc_outputs, enc_valid_lens)
        Z = self.addnorm2(Y, Y2)
        return self.addnorm3(Z, self.ffn(Z)), state


class TransformerDecoder(AttentionDecoder):
    def __init__(self, vocab_size, key_size, query_size, value_size,
                 num_hiddens, norm_shape, ffn_num_input, ffn_num_hiddens,
                 num_heads, num_layers, dropout, **kwargs):
        super().__init__(**kwargs)
        self.num_hiddens = num_hiddens
        self.num_layers = num_layers
        self.embedding = nn.Embedding(vocab_size, num_hiddens)
        self.pos_encoding = PositionalEncoding(num_hiddens, dropout)
        self.blks = nn.Sequential()
        for i in range(num_layers):
            self.blks.add_module("block"+str(i),
                                 DecoderBlock(key_size, query_size, value_size, num_hiddens,
                                              norm_shape, ffn_num_input, ffn_num_hiddens,
                                              num_heads, dropout, i))
        self.dense = nn.Linear(num_hiddens, vocab_size)

    def init_state(self, enc_outputs, enc_valid_lens, *args):
        return [enc_outputs, enc_valid_lens, [None] * self.num_layers]

    def forward(self, X, state):
        X = self.pos_encoding(self.embedding(X) * (EMB_MULT * math.sqrt(self.num_hiddens)))
        self._attention_weights = [[None] * len(self.blks) for _ in range(2)]
        for i, blk in enumerate(self.blks):
            X, state = blk(X, state)
            # Decoder self-attention weights
            self._attention_weights[0][
                i] = blk.attention1.attention.attention_weights
            # Encoder-decoder attention weights
            self._attention_weights[1][
                i] = blk.attention2.attention.attention_weights
        return self.dense(X), state

    @property
    def attention_weights(self):
        return self._attention_weights


# --- train_seq2seq (d2l/torch.py v0.17.6), watched; the evaluation -----------------------------------------------

def evaluate(net, src_vocab, tgt_vocab, num_steps, device):
    """Held-out greedy decoding: per-position token accuracy (reference + <eos>) and the book's BLEU (k=2)."""
    accs, bleus = [], []
    with torch.no_grad():
        for src, ref in held_out():
            translation, _ = predict_seq2seq(net, src, src_vocab, tgt_vocab, num_steps, device)
            pred = (translation.split(' ') if translation else []) + ['<eos>']
            gold = ref.split(' ') + ['<eos>']
            accs.append(sum(p == g for p, g in zip(pred, gold, strict=False)) / len(gold))
            bleus.append(bleu(translation, ref, k=2) if translation else 0.0)
    return float(np.mean(accs)), float(np.mean(bleus))


def train(seed: int = 1, lr_mult: float = 1.0, clip: bool = True, mask: bool = True, emb_mult: float = 1.0,
          init_std: float | None = None, num_epochs: int = 40, every: int = 10, verbose: bool = False) -> dict:
    global USE_MASK, EMB_MULT
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    USE_MASK, EMB_MULT = mask, emb_mult
    try:
        num_hiddens, num_layers, dropout, batch_size, num_steps = 32, 2, 0.1, 64, 10
        lr, device = 0.005 * lr_mult, torch.device('cpu')
        ffn_num_input, ffn_num_hiddens, num_heads = 32, 64, 4
        key_size, query_size, value_size = 32, 32, 32
        norm_shape = [32]

        train_iter, src_vocab, tgt_vocab = load_data_nmt(batch_size, num_steps)

        encoder = TransformerEncoder(
            len(src_vocab), key_size, query_size, value_size, num_hiddens,
            norm_shape, ffn_num_input, ffn_num_hiddens, num_heads,
            num_layers, dropout)
        decoder = TransformerDecoder(
            len(tgt_vocab), key_size, query_size, value_size, num_hiddens,
            norm_shape, ffn_num_input, ffn_num_hiddens, num_heads,
            num_layers, dropout)
        net = EncoderDecoder(encoder, decoder)

        # train_seq2seq(net, train_iter, lr, num_epochs, tgt_vocab, device):
        def xavier_init_weights(m):
            if type(m) is nn.Linear:
                if init_std is None:
                    nn.init.xavier_uniform_(m.weight)
                else:  # the bug: normal_(0, init_std) instead of xavier_uniform_
                    nn.init.normal_(m.weight, 0.0, init_std)
            if type(m) is nn.GRU:
                for param in m._flat_weights_names:
                    if "weight" in param:
                        nn.init.xavier_uniform_(m._parameters[param])
        net.apply(xavier_init_weights)
        net.to(device)
        optimizer = torch.optim.Adam(net.parameters(), lr=lr)
        monitor = gradmedic.watch(net, optimizer, every=every)
        loss = MaskedSoftmaxCELoss()
        net.train()
        losses, tok_losses = [], []
        t0 = time.time()
        for epoch in range(num_epochs):
            metric = [0.0, 0.0]  # Sum of training loss, no. of tokens
            for batch in train_iter:
                optimizer.zero_grad()
                X, X_valid_len, Y, Y_valid_len = [x.to(device) for x in batch]
                bos = torch.tensor([tgt_vocab['<bos>']] * Y.shape[0],
                                   device=device).reshape(-1, 1)
                dec_input = torch.cat([bos, Y[:, :-1]], 1)  # Teacher forcing
                Y_hat, _ = net(X, dec_input, X_valid_len)
                l = loss(Y_hat, Y, Y_valid_len)  # noqa: E741 (upstream's name)
                l.sum().backward()  # Make the loss scalar for `backward`
                monitor.step(l.sum())  # gradmedic
                if clip:
                    grad_clipping(net, 1)
                num_tokens = Y_valid_len.sum()
                optimizer.step()
                with torch.no_grad():
                    metric[0] += float(l.sum())
                    metric[1] += float(num_tokens)
                losses.append(float(l.sum().detach()))
            tok_losses.append(metric[0] / metric[1])
            if verbose and (epoch + 1) % 10 == 0:
                print(f"epoch {epoch + 1} loss {metric[0] / metric[1]:.3f} ({time.time() - t0:.1f}s)", flush=True)
        acc, mean_bleu = evaluate(net, src_vocab, tgt_vocab, num_steps, device)
        monitor.close()
    finally:
        USE_MASK, EMB_MULT = True, 1.0
    if verbose:
        print(f"held-out token accuracy {acc:.4f} bleu {mean_bleu:.4f} ({time.time() - t0:.1f}s)")
    return {"monitors": {"": monitor}, "metric": "train_loss", "value": float(np.mean(losses[-20:])),
            "initial": float(np.mean(losses[:5])), "chance": None,
            "extra": {"heldout_token_accuracy": acc, "bleu": mean_bleu, "train_loss_per_token": tok_losses[-1],
                      "steps": len(losses), "lr": lr, "tgt_vocab": len(tgt_vocab)},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="d2lxf", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"d2lxf_healthy_s{s}", "healthy", s, {}, "unchanged (Transformer num_hiddens 32, 2 layers, 4 heads, "
           "dropout 0.1, xavier_uniform_ Linears, Adam lr 0.005, MaskedSoftmaxCELoss, grad_clipping(net, 1), batch 64, "
           "40 epochs)", False) for s in (1, 2, 3)]
    + [_case(f"d2lxf_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"Adam lr x{k} ({0.005 * k:g}), grad_clipping kept")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("d2lxf_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "Adam lr /1000 (5e-06)")]
    + [_case("d2lxf_no_clip_lr_x10_s1", "no_clipping", 1, {"clip": False, "lr_mult": 10},
             "no grad_clipping(net, 1) at Adam lr x10 (0.05)")]
    + [_case("d2lxf_emb_x100_s1", "unscaled_inputs", 1, {"emb_mult": 100.0},
             "embeddings multiplied by 100 * sqrt(num_hiddens) instead of sqrt(num_hiddens) in encoder and decoder")]
    + [_case("d2lxf_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) instead of xavier_uniform_ on every nn.Linear weight (biases kept)")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = {"True": True, "False": False}.get(v, None if v == "None" else (int(v) if v.isdigit() else
                                                                                float(v) if v[0].isdigit() else v))
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
