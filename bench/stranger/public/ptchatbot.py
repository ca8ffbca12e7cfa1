"""The PyTorch "Chatbot Tutorial" (bidirectional-GRU encoder, Luong "dot" attention GRU decoder sharing the
encoder's embedding, maskNLLLoss, teacher forcing, clip 50, two Adam optimizers) on a generated dialog corpus,
watched by gradmedic with one monitor per model.

Adapted from https://github.com/pytorch/tutorials (commit 03b277366b12fc14f56a387cc5ec4cdf1ede744a,
beginner_source/chatbot_tutorial.py by Matthew Inkawhich; BSD 3-Clause, Copyright (c) 2017-2022, Pytorch
contributors, see LICENSE-ptchatbot).  Kept as in the tutorial: the tokens (PAD 0, SOS 1, EOS 2), ``Voc``
(addSentence/addWord), ``indexesFromSentence`` (EOS appended), ``zeroPadding``, ``binaryMatrix``, ``inputVar``,
``outputVar`` (padded target, bool mask, max target length), ``batch2TrainData`` (the batch sorted by input length
for ``pack_padded_sequence``), the training batches drawn up front with ``random.choice(pairs)`` as in
``trainIters``; ``EncoderRNN`` (the shared ``nn.Embedding``, a bidirectional ``nn.GRU(hidden, hidden, n_layers)``
over the packed batch, the two directions' outputs summed), ``Attn`` (method "dot"), ``LuongAttnDecoderRNN``
(embedding dropout, GRU one step at a time, attention over the encoder outputs, ``concat`` Linear + tanh, ``out``
Linear, softmax), ``maskNLLLoss`` (``-log(gather(softmax))`` masked_select'ed and averaged), the tutorial's
``train`` iteration (both zero_grads, encoder, SOS start, ``encoder_hidden[:decoder.n_layers]`` as the decoder's
state, ``teacher_forcing_ratio`` 1.0, the per-step masked losses summed, backward, ``clip_grad_norm_`` of 50.0 on
each model, both optimizers stepped), the configuration: ``attn_model = 'dot'``, encoder and decoder n_layers 2,
dropout 0.1, batch 64, ``learning_rate = 0.0001``, ``decoder_learning_ratio = 5.0`` (encoder Adam 1e-4, decoder
Adam 5e-4; the shared embedding is in both optimizers, as upstream), PyTorch's default initialization (upstream
sets none).

Changed:
- the data: the Cornell Movie-Dialogs corpus cannot be downloaded, so ``make_pairs`` generates a dialog corpus
  (``random.Random(0)``, the same for every run) from question templates over a 12-noun vocabulary with optional
  adjectives and a please/now suffix ("where is the big red cat ?", "what color is the dog ?", "do you like the
  small fish please ?", "how many cats do you have ?", "hello there", ...), each answer determined by the question's
  words through fixed noun -> place/colour/number/like tables ("the big red cat is in the garden ."); questions of
  2-9 words (the tutorial's filter: fewer than MAX_LENGTH = 10 words), answers of 1-9 words; 4000 training pairs and
  512 held-out pairs (a held-out pair may repeat a training pair, as in a corpus of stock phrases).  No
  normalizeString / trimRareWords (the text is generated clean).
- the sizes: hidden_size 64 instead of 500, 250 iterations instead of 4000, so a run takes ~20-25 s on one shared
  CPU thread; no printing, checkpointing, greedy-search chatting.
- ``random`` and ``torch`` are seeded with the run's seed.
- the bugs of the variants, in ``train``'s arguments: ``lr_mult`` (both Adam rates), ``decoder_learning_ratio``,
  ``clip`` (None: no clip_grad_norm_), ``use_mask`` (False: maskNLLLoss averages over every position, the padding
  included), ``gru_init_std`` (nn.init.normal_(0, std) on every weight and bias of both GRUs).

The watch: two monitors, ``gradmedic.watch(encoder, encoder_optimizer, every=10)`` and ``gradmedic.watch(decoder,
decoder_optimizer, every=10)`` (PARTS "encoder", "decoder"; the shared embedding belongs to both), each
``monitor.step(loss)`` with the summed loss after ``loss.backward()``, before the clipping and the optimizers'
steps.

Metric: ``valid_loss``, the held-out per-token loss: maskNLLLoss under teacher forcing (dropout off), summed
over the non-pad target tokens of the 512 held-out pairs and divided by their count (the tutorial's
``sum(print_losses) / n_totals``), after training, against the same for the initialized model (``initial``).
``extra`` has the training per-token loss (first 5 / last 20 iterations) and the held-out next-token accuracy.

``CASES``: the program on seeds 1-3, and one change each against the same seed's healthy run: both rates x10,
x100 (seeds 1 and 2), x1000, /1000; no clipping at x10; the mask ignored (the loss over the padding too, cause
"wrong_loss"); decoder_learning_ratio 500 instead of 5 (decoder Adam 0.05); N(0, 1) on the GRUs (seeds 1 and 2).
No input-scaling variant (the inputs are token ids).  Labels come from run.py's outcome rules only.
Recorded (cases-public29, 206 s for the 13 runs, 9-31 s each on a shared CPU): healthy 0.936, 0.868, 0.831 on
seeds 1-3 (held-out per-token loss from ~4.35); the tutorial's rates are conservative for this small task, so lr x10
(0.217), x100 (0.054, 0.088 on seeds 1, 2) and decoder_learning_ratio 500 (0.026) train better and are labelled
healthy, as is no clipping at x10 (0.217, the same as the clipped x10 run: a norm of 50 is never reached); lr x1000
ends non-finite, /1000 at 4.373 (no progress), N(0, 1) on the GRUs at 2.46 and 2.47 (seeds 1, 2): broken; the mask
ignored ends at 1.119 against 0.936 (labelled ambiguous).
"""

from __future__ import annotations

import itertools
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim

import gradmedic

ARCH = "gru"
MONITOR_AT = ("two monitors, watch(encoder, encoder_optimizer) and watch(decoder, decoder_optimizer); each "
              "monitor.step(loss) with the loss summed over the decoder's steps (maskNLLLoss per step) after "
              "loss.backward(), before clip_grad_norm_(50.0) on each model and the two optimizers' steps")
PARTS = ("encoder", "decoder")

device = torch.device("cpu")

# Default word tokens
PAD_token = 0  # Used for padding short sentences
SOS_token = 1  # Start-of-sentence token
EOS_token = 2  # End-of-sentence token
MAX_LENGTH = 10  # Maximum sentence length to consider

NOUNS = ["cat", "dog", "bird", "fish", "horse", "cow", "frog", "duck", "goat", "mouse", "bear", "fox"]
PLACES = ["garden", "house", "river", "field", "barn", "forest"]
COLORS = ["red", "blue", "green", "brown", "white", "black"]
NUMBERS = ["one", "two", "three", "four", "five"]
SIZES = ["big", "small", "old", "young"]
N_TRAIN, N_TEST = 4000, 512


def make_pairs():
    """[question, answer] pairs of a generated dialog corpus; every answer is determined by the question's words."""
    rng = random.Random(0)
    place = {n: rng.choice(PLACES) for n in NOUNS}
    color = {n: rng.choice(COLORS) for n in NOUNS}
    number = {n: rng.choice(NUMBERS) for n in NOUNS}
    like = {n: rng.random() < 0.5 for n in NOUNS}

    def one():
        n = rng.choice(NOUNS)
        adj = [a for a in (rng.choice(SIZES) if rng.random() < 0.5 else None,
                           rng.choice(COLORS) if rng.random() < 0.3 else None) if a]
        tail = rng.choice([[], [], ["please"], ["now"]])
        thing = " ".join(["the"] + adj + [n])
        k = rng.randrange(6)
        if k == 0:
            return ["where is " + thing + " ?"] + tail, thing + " is in the " + place[n] + " ."
        if k == 1:
            return ["what color is " + thing + " ?"] + tail, "it is " + color[n] + " ."
        if k == 2:
            return ["do you like " + thing + " ?"] + tail, ("yes i like the " + n + " .") if like[n] else "no ."
        if k == 3:
            return ["how many " + n + "s do you have ?"], "i have " + number[n] + " ."
        if k == 4:
            return ["tell me about " + thing + " ?"] + tail, ("it is a " + color[n] + " " + n + " from the "
                                                             + place[n] + " .")
        g = rng.choice(["hello", "hi", "goodbye"])
        return [g + rng.choice(["", " there", " my friend"])], {"hello": "hello .", "hi": "hello .",
                                                                "goodbye": "goodbye ."}[g]

    pairs = []
    while len(pairs) < N_TRAIN + N_TEST:
        q, a = one()
        q = " ".join(q)
        if len(q.split(" ")) < MAX_LENGTH and len(a.split(" ")) < MAX_LENGTH:  # filterPair
            pairs.append([q, a])
    return pairs[:N_TRAIN], pairs[N_TRAIN:]


class Voc:
    def __init__(self, name):
        self.name = name
        self.trimmed = False
        self.word2index = {}
        self.word2count = {}
        self.index2word = {PAD_token: "PAD", SOS_token: "SOS", EOS_token: "EOS"}
        self.num_words = 3  # Count SOS, EOS, PAD

    def addSentence(self, sentence):
        for word in sentence.split(' '):
            self.addWord(word)

    def addWord(self, word):
        if word not in self.word2index:
            self.word2index[word] = self.num_words
            self.word2count[word] = 1
            self.index2word[self.num_words] = word
            self.num_words += 1
        else:
            self.word2count[word] += 1


def indexesFromSentence(voc, sentence):
    return [voc.word2index[word] for word in sentence.split(' ')] + [EOS_token]


def zeroPadding(l, fillvalue=PAD_token):  # noqa: E741
    return list(itertools.zip_longest(*l, fillvalue=fillvalue))


def binaryMatrix(l, value=PAD_token):  # noqa: E741
    m = []
    for i, seq in enumerate(l):
        m.append([])
        for token in seq:
            if token == PAD_token:
                m[i].append(0)
            else:
                m[i].append(1)
    return m


# Returns padded input sequence tensor and lengths
def inputVar(l, voc):  # noqa: E741
    indexes_batch = [indexesFromSentence(voc, sentence) for sentence in l]
    lengths = torch.tensor([len(indexes) for indexes in indexes_batch])
    padList = zeroPadding(indexes_batch)
    padVar = torch.LongTensor(padList)
    return padVar, lengths


# Returns padded target sequence tensor, padding mask, and max target length
def outputVar(l, voc):  # noqa: E741
    indexes_batch = [indexesFromSentence(voc, sentence) for sentence in l]
    max_target_len = max([len(indexes) for indexes in indexes_batch])
    padList = zeroPadding(indexes_batch)
    mask = binaryMatrix(padList)
    mask = torch.BoolTensor(mask)
    padVar = torch.LongTensor(padList)
    return padVar, mask, max_target_len


# Returns all items for a given batch of pairs
def batch2TrainData(voc, pair_batch):
    pair_batch.sort(key=lambda x: len(x[0].split(" ")), reverse=True)
    input_batch, output_batch = [], []
    for pair in pair_batch:
        input_batch.append(pair[0])
        output_batch.append(pair[1])
    inp, lengths = inputVar(input_batch, voc)
    output, mask, max_target_len = outputVar(output_batch, voc)
    return inp, lengths, output, mask, max_target_len


class EncoderRNN(nn.Module):
    def __init__(self, hidden_size, embedding, n_layers=1, dropout=0):
        super().__init__()
        self.n_layers = n_layers
        self.hidden_size = hidden_size
        self.embedding = embedding

        # Initialize GRU; the input_size and hidden_size params are both set to 'hidden_size'
        #   because our input size is a word embedding with number of features == hidden_size
        self.gru = nn.GRU(hidden_size, hidden_size, n_layers,
                          dropout=(0 if n_layers == 1 else dropout), bidirectional=True)

    def forward(self, input_seq, input_lengths, hidden=None):
        # Convert word indexes to embeddings
        embedded = self.embedding(input_seq)
        # Pack padded batch of sequences for RNN module
        packed = nn.utils.rnn.pack_padded_sequence(embedded, input_lengths)
        # Forward pass through GRU
        outputs, hidden = self.gru(packed, hidden)
        # Unpack padding
        outputs, _ = nn.utils.rnn.pad_packed_sequence(outputs)
        # Sum bidirectional GRU outputs
        outputs = outputs[:, :, :self.hidden_size] + outputs[:, :, self.hidden_size:]
        # Return output and final hidden state
        return outputs, hidden


# Luong attention layer
class Attn(nn.Module):
    def __init__(self, method, hidden_size):
        super().__init__()
        self.method = method
        if self.method not in ['dot', 'general', 'concat']:
            raise ValueError(self.method, "is not an appropriate attention method.")
        self.hidden_size = hidden_size
        if self.method == 'general':
            self.attn = nn.Linear(self.hidden_size, hidden_size)
        elif self.method == 'concat':
            self.attn = nn.Linear(self.hidden_size * 2, hidden_size)
            self.v = nn.Parameter(torch.FloatTensor(hidden_size))

    def dot_score(self, hidden, encoder_output):
        return torch.sum(hidden * encoder_output, dim=2)

    def general_score(self, hidden, encoder_output):
        energy = self.attn(encoder_output)
        return torch.sum(hidden * energy, dim=2)

    def concat_score(self, hidden, encoder_output):
        energy = self.attn(torch.cat((hidden.expand(encoder_output.size(0), -1, -1), encoder_output), 2)).tanh()
        return torch.sum(self.v * energy, dim=2)

    def forward(self, hidden, encoder_outputs):
        # Calculate the attention weights (energies) based on the given method
        if self.method == 'general':
            attn_energies = self.general_score(hidden, encoder_outputs)
        elif self.method == 'concat':
            attn_energies = self.concat_score(hidden, encoder_outputs)
        elif self.method == 'dot':
            attn_energies = self.dot_score(hidden, encoder_outputs)

        # Transpose max_length and batch_size dimensions
        attn_energies = attn_energies.t()

        # Return the softmax normalized probability scores (with added dimension)
        return F.softmax(attn_energies, dim=1).unsqueeze(1)


class LuongAttnDecoderRNN(nn.Module):
    def __init__(self, attn_model, embedding, hidden_size, output_size, n_layers=1, dropout=0.1):
        super().__init__()

        # Keep for reference
        self.attn_model = attn_model
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.n_layers = n_layers
        self.dropout = dropout

        # Define layers
        self.embedding = embedding
        self.embedding_dropout = nn.Dropout(dropout)
        self.gru = nn.GRU(hidden_size, hidden_size, n_layers, dropout=(0 if n_layers == 1 else dropout))
        self.concat = nn.Linear(hidden_size * 2, hidden_size)
        self.out = nn.Linear(hidden_size, output_size)

        self.attn = Attn(attn_model, hidden_size)

    def forward(self, input_step, last_hidden, encoder_outputs):
        # Note: we run this one step (word) at a time
        # Get embedding of current input word
        embedded = self.embedding(input_step)
        embedded = self.embedding_dropout(embedded)
        # Forward through unidirectional GRU
        rnn_output, hidden = self.gru(embedded, last_hidden)
        # Calculate attention weights from the current GRU output
        attn_weights = self.attn(rnn_output, encoder_outputs)
        # Multiply attention weights to encoder outputs to get new "weighted sum" context vector
        context = attn_weights.bmm(encoder_outputs.transpose(0, 1))
        # Concatenate weighted context vector and GRU output using Luong eq. 5
        rnn_output = rnn_output.squeeze(0)
        context = context.squeeze(1)
        concat_input = torch.cat((rnn_output, context), 1)
        concat_output = torch.tanh(self.concat(concat_input))
        # Predict next word using Luong eq. 6
        output = self.out(concat_output)
        output = F.softmax(output, dim=1)
        # Return output and final hidden state
        return output, hidden


def maskNLLLoss(inp, target, mask, use_mask=True):
    nTotal = mask.sum()
    crossEntropy = -torch.log(torch.gather(inp, 1, target.view(-1, 1)).squeeze(1))
    # the variant use_mask=False: the mean over every position of the step, PAD targets included
    loss = crossEntropy.masked_select(mask).mean() if use_mask else crossEntropy.mean()
    loss = loss.to(device)
    return loss, nTotal.item()


def evaluate_loss(encoder, decoder, batches):
    """The held-out per-token loss: maskNLLLoss under teacher forcing, sum(loss * nTotal) / n_totals, and the
    next-token accuracy over the same (non-pad) positions."""
    encoder.eval()
    decoder.eval()
    tot = n = correct = 0.0
    with torch.no_grad():
        for input_variable, lengths, target_variable, mask, max_target_len in batches:
            batch_size = input_variable.shape[1]
            encoder_outputs, encoder_hidden = encoder(input_variable, lengths)
            decoder_input = torch.LongTensor([[SOS_token for _ in range(batch_size)]])
            decoder_hidden = encoder_hidden[:decoder.n_layers]
            for t in range(max_target_len):
                decoder_output, decoder_hidden = decoder(decoder_input, decoder_hidden, encoder_outputs)
                decoder_input = target_variable[t].view(1, -1)
                mask_loss, nTotal = maskNLLLoss(decoder_output, target_variable[t], mask[t])
                tot += mask_loss.item() * nTotal
                n += nTotal
                correct += float(((decoder_output.argmax(1) == target_variable[t]) & mask[t]).sum())
    encoder.train()
    decoder.train()
    return tot / n, correct / n


def train(seed: int = 1, lr_mult: float = 1.0, decoder_learning_ratio: float = 5.0, clip: float | None = 50.0,
          use_mask: bool = True, gru_init_std: float | None = None, n_iteration: int = 250, every: int = 10,
          verbose: bool = False) -> dict:
    """One run of the tutorial's training; the variants: ``lr_mult`` (both rates), ``decoder_learning_ratio``,
    ``clip`` (None: no clipping), ``use_mask`` (False: the loss over the padding too), ``gru_init_std``
    (normal_(0, std) on both GRUs' parameters)."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    random.seed(seed)
    torch.manual_seed(seed)

    pairs, test_pairs = make_pairs()
    voc = Voc("generated dialogs")
    for pair in pairs + test_pairs:
        voc.addSentence(pair[0])
        voc.addSentence(pair[1])

    # Configure models
    attn_model = 'dot'
    hidden_size = 64
    encoder_n_layers = 2
    decoder_n_layers = 2
    dropout = 0.1
    batch_size = 64

    # Initialize word embeddings
    embedding = nn.Embedding(voc.num_words, hidden_size)
    # Initialize encoder & decoder models
    encoder = EncoderRNN(hidden_size, embedding, encoder_n_layers, dropout)
    decoder = LuongAttnDecoderRNN(attn_model, embedding, hidden_size, voc.num_words, decoder_n_layers, dropout)
    if gru_init_std is not None:  # the variant: N(0, std) on every GRU weight and bias
        for gru in (encoder.gru, decoder.gru):
            for p in gru.parameters():
                nn.init.normal_(p, 0.0, gru_init_std)
    encoder = encoder.to(device)
    decoder = decoder.to(device)

    # Configure training/optimization
    teacher_forcing_ratio = 1.0
    learning_rate = 0.0001 * lr_mult

    encoder.train()
    decoder.train()
    encoder_optimizer = optim.Adam(encoder.parameters(), lr=learning_rate)
    decoder_optimizer = optim.Adam(decoder.parameters(), lr=learning_rate * decoder_learning_ratio)
    mon_enc = gradmedic.watch(encoder, encoder_optimizer, every=every)
    mon_dec = gradmedic.watch(decoder, decoder_optimizer, every=every)

    # Load batches for each iteration (trainIters)
    training_batches = [batch2TrainData(voc, [random.choice(pairs) for _ in range(batch_size)])
                        for _ in range(n_iteration)]
    test_batches = [batch2TrainData(voc, list(test_pairs[i:i + batch_size]))
                    for i in range(0, len(test_pairs), batch_size)]
    initial, initial_acc = evaluate_loss(encoder, decoder, test_batches)

    print_losses_all: list[float] = []
    t0 = time.time()
    for iteration in range(1, n_iteration + 1):
        input_variable, lengths, target_variable, mask, max_target_len = training_batches[iteration - 1]
        # --- the tutorial's train() ---
        encoder_optimizer.zero_grad()
        decoder_optimizer.zero_grad()
        loss = 0
        print_losses = []
        n_totals = 0
        encoder_outputs, encoder_hidden = encoder(input_variable, lengths)
        decoder_input = torch.LongTensor([[SOS_token for _ in range(batch_size)]])
        decoder_hidden = encoder_hidden[:decoder.n_layers]
        use_teacher_forcing = True if random.random() < teacher_forcing_ratio else False
        if use_teacher_forcing:
            for t in range(max_target_len):
                decoder_output, decoder_hidden = decoder(decoder_input, decoder_hidden, encoder_outputs)
                # Teacher forcing: next input is current target
                decoder_input = target_variable[t].view(1, -1)
                mask_loss, nTotal = maskNLLLoss(decoder_output, target_variable[t], mask[t], use_mask)
                loss += mask_loss
                print_losses.append(mask_loss.item() * nTotal)
                n_totals += nTotal
        else:
            for t in range(max_target_len):
                decoder_output, decoder_hidden = decoder(decoder_input, decoder_hidden, encoder_outputs)
                _, topi = decoder_output.topk(1)
                decoder_input = torch.LongTensor([[topi[i][0] for i in range(batch_size)]])
                mask_loss, nTotal = maskNLLLoss(decoder_output, target_variable[t], mask[t], use_mask)
                loss += mask_loss
                print_losses.append(mask_loss.item() * nTotal)
                n_totals += nTotal
        loss.backward()
        mon_enc.step(loss)  # gradmedic
        mon_dec.step(loss)  # gradmedic
        if clip is not None:
            _ = nn.utils.clip_grad_norm_(encoder.parameters(), clip)
            _ = nn.utils.clip_grad_norm_(decoder.parameters(), clip)
        encoder_optimizer.step()
        decoder_optimizer.step()
        print_losses_all.append(sum(print_losses) / n_totals)
        if verbose and iteration % 50 == 0:
            print(f"iteration {iteration} loss {np.mean(print_losses_all[-50:]):.4f} ({time.time() - t0:.1f}s)",
                  flush=True)
    mon_enc.close()
    mon_dec.close()

    value, acc = evaluate_loss(encoder, decoder, test_batches)
    return {"monitors": {"encoder": mon_enc, "decoder": mon_dec}, "metric": "valid_loss", "value": value,
            "initial": initial, "chance": float(np.log(voc.num_words)),
            "initial_what": "untrained: held-out per-token maskNLLLoss (teacher forcing) of the initialized model",
            "extra": {"next_token_accuracy": acc, "initial_next_token_accuracy": initial_acc,
                      "train_loss_first5": float(np.mean(print_losses_all[:5])),
                      "train_loss_last20": float(np.mean(print_losses_all[-20:])), "steps": len(print_losses_all),
                      "lr_encoder": learning_rate, "lr_decoder": learning_rate * decoder_learning_ratio,
                      "vocab": voc.num_words},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="ptchatbot", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


CASES: list[dict] = (
    [_case(f"ptchatbot_healthy_s{s}", "healthy", s, {}, "unchanged (bidirectional 2-layer GRU encoder, dot-attention "
           "2-layer GRU decoder, shared embedding, hidden 64, dropout 0.1, maskNLLLoss, teacher forcing 1.0, clip 50, "
           "Adam 1e-4 (encoder) and 5e-4 (decoder), batch 64, 250 iterations)", False) for s in (1, 2, 3)]
    + [_case(f"ptchatbot_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k},
             f"learning_rate x{k} ({1e-4 * k:g}; decoder {5e-4 * k:g}), clip 50 kept")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("ptchatbot_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "learning_rate /1000 (1e-07; decoder 5e-07)")]
    + [_case("ptchatbot_no_clip_lr_x10_s1", "no_clipping", 1, {"clip": None, "lr_mult": 10},
             "no clip_grad_norm_ and learning_rate x10 (1e-3; decoder 5e-3); the control is the healthy run "
             "(1e-4, clip 50)")]
    + [_case("ptchatbot_no_mask_s1", "wrong_loss", 1, {"use_mask": False},
             "maskNLLLoss without the mask: crossEntropy.mean() over every position of each step, the PAD targets "
             "after EOS included")]
    + [_case("ptchatbot_dec_ratio500_s1", "lr_high", 1, {"decoder_learning_ratio": 500.0},
             "decoder_learning_ratio 500 instead of 5.0 (decoder Adam 0.05, encoder 1e-4)")]
    + [_case(f"ptchatbot_gru_init_std1_s{s}", "init_large", s, {"gru_init_std": 1.0},
             "nn.init.normal_(0, 1) on every weight and bias of both GRUs instead of the default "
             "uniform(+-1/sqrt(64))") for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    kw = {"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
