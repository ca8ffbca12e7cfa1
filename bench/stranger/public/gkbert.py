"""graykode/nlp-tutorial's tiny BERT (5-2.BERT), masked LM + next-sentence pre-training, watched by gradmedic.

Adapted from https://github.com/graykode/nlp-tutorial (commit d05e31ec81d56d70c1db89b99ab07e948f7ebc11, the newest;
5-2.BERT/BERT.py, last changed in 5c4ed7f3cdec9f34baef489f967b91ebd885cc82; code by Tae Hwan Jung (Jeff Jung);
MIT License, Copyright (c) 2019 TaeHwan Jung, see LICENSE-gkbert).  gkxf.py ports the Transformer of the same
repository; gkw2v.py its Word2Vec.

Kept as in the original: the six-line Romeo/Juliet ``text``, its lower-cased, punctuation-stripped sentences and
the ``word_dict`` with ``[PAD]``/``[CLS]``/``[SEP]``/``[MASK]`` at 0-3; ``make_batch`` (3 IsNext and 3 NotNext
pairs, 15 % of the tokens masked - 80 % ``[MASK]``, 10 % a random word - up to ``max_pred`` 5, zero padding to
``maxlen`` 30); every function and class (``get_attn_pad_mask``, ``gelu``, ``Embedding`` with token, position and
segment embeddings and a ``LayerNorm``, ``ScaledDotProductAttention``, ``MultiHeadAttention``,
``PoswiseFeedForwardNet`` with ``fc1``/``fc2`` and gelu, ``EncoderLayer``, ``BERT`` with the tanh pooler ``fc``,
``classifier``, ``linear`` + gelu + ``norm`` on the masked positions and the ``decoder`` tied to the token
embedding plus ``decoder_bias``); the sizes (module globals, as upstream's ``__main__`` sets them): maxlen 30,
batch_size 6, max_pred 5, n_layers 6, n_heads 12, d_model 768, d_ff 3072, d_k = d_v = 64, n_segments 2 (40.2 M
parameters); PyTorch's default init (upstream sets none); ``nn.CrossEntropyLoss()`` for the masked LM (on
``logits_lm.transpose(1, 2)``, the padded prediction slots included, as upstream) plus the same loss for IsNext;
``optim.Adam(model.parameters(), lr=0.001)``; the loop: one batch made once before training, every epoch one step
on it (``zero_grad`` / forward / ``loss_lm + loss_clsf`` / ``backward`` / ``step``), no clipping, no scheduler.
Also kept, as upstream has it: ``MultiHeadAttention.forward`` builds a new ``nn.Linear(n_heads * d_v, d_model)``
and a new ``nn.LayerNorm(d_model)`` in every call (freshly initialised, outside the optimizer and outside the
watched model; upstream's Transformer.py had the same until its "FIX transformer init", BERT.py was never fixed).

Changed: ``import random`` and ``random.randrange``/``random.shuffle``/``random.random``/``random.randint``
instead of ``from random import *``; ``word_list = sorted(set(...))`` instead of ``list(set(...))`` (a set of
strings is ordered by the per-process hash seed, so upstream's word ids differ from run to run); ``random.seed(seed)``
and ``torch.manual_seed(seed)`` before the batch and the model are made (upstream seeds nothing); the module globals
upstream's ``__main__`` sets are set at import; the CUDA branch left out (CPU only); ``super().__init__()`` and
shape comments moved above long lines for the linter; the per-10-epochs print only when ``verbose``; the knobs of
the variants below, inert by default.  15 epochs (steps) instead of upstream's 100: a step of
the 40.2 M-parameter model is 1.3-2 s on one thread of this shared machine, so 100 steps would be 2-3 minutes a run.
Upstream has no held-out data, so the metric is "loss": the
masked-LM + IsNext loss of the trained model on its batch, from one more forward pass after the last step
(upstream's prediction forward on the whole batch; it is itself a little random, as every forward draws new
attention output layers); ``initial`` is the mean of the first 5 step losses; ``train_loss`` the mean of the last 5
step losses; upstream's prediction (masked tokens of the batch and IsNext) is kept as accuracies in ``extra``.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the Adam is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the loop.

``CASES`` (in the shape of run.py's ``case()``, program "gkbert"): the program on seeds 1-3, and one change each
against the same seed's healthy run: Adam lr x10 (seed 1), x100 (seeds 1 and 2), /1000 (seed 1); every ``nn.Linear``
weight and bias of the model ``normal_(std=1)`` but the decoder (its weight is the token embedding, already N(0, 1));
``optimizer.zero_grad()`` left out; Adam lr x2 (expected harmless).  No unscaled-input case (token ids into
embeddings), no clipping case (upstream does not clip).  Labels come from run.py's outcome rules only; no variant
was tried before recording, for lack of time (a run is 13-50 s here).
Odd, and kept: at lr 0.001 the loss first rises then falls: seed 1's step losses are 72.4 116 262 169 331 195 129
61 54 58 52 41 37 41 36 (seeds 2 and 3 the same shape, up to 445 and 221), so ``initial`` (mean of the first 5
steps) includes the rise.  The losses are large because the masked-LM decoder is tied to the N(0, 1) token
embedding of width 768, so the logits are ~27 in scale at the start.
Recorded (cases-public70, 257 s for the 10 runs, 13-51 s a run with another recording beside it): healthy final
loss 34.76, 37.43, 22.38 on seeds 1-3 (start 190.1, 180.2, 125.6; the first step's loss 72.4, 63.8, 42.9; largest
331, 445, 221): healthy; lr x10 142.1 (largest 707): broken; lr x100 186.3 (s1) and 148.3 (s2), up to 271 and 580:
broken; lr /1000 19.41 from start 47.65, falling steadily 72.4 -> 19.1 without the rise (lower than its control:
healthy by the rules, the 15-step cut favours the small rate); init std 1 46.07, step losses between 43 and 70 all
the way (start 58.25): ambiguous; zero_grad left out 82.66 (step losses 72 -> 278 -> 50 -> 76): broken; lr x2 44.71
(step losses up to 343, 40.8 at the last step, still falling): ambiguous.  Labels: 4 healthy (3 programs, 1
variant), 4 broken, 2 ambiguous.  Every loss finite in every run.
"""

from __future__ import annotations

import math
import random
import re
import time

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

import gradmedic

ARCH = "transformer"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = optim.Adam(model.parameters(), lr=0.001); "
              "monitor.step(loss) right after loss.backward() (loss = masked-LM CrossEntropyLoss + IsNext "
              "CrossEntropyLoss on the one batch of 6 sentence pairs), before optimizer.step()")

EPOCHS = 15  # upstream: 100
LR = 0.001

# BERT Parameters (upstream's __main__ sets these module globals; they are set here at import, with the same values)
maxlen = 30  # maximum of length
batch_size = 6
max_pred = 5  # max tokens of prediction
n_layers = 6  # number of Encoder of Encoder Layer
n_heads = 12  # number of heads in Multi-Head Attention
d_model = 768  # Embedding Size
d_ff = 768 * 4  # 4*d_model, FeedForward dimension
d_k = d_v = 64  # dimension of K(=Q), V
n_segments = 2

text = (
    'Hello, how are you? I am Romeo.\n'
    'Hello, Romeo My name is Juliet. Nice to meet you.\n'
    'Nice meet you too. How are you today?\n'
    'Great. My baseball team won the competition.\n'
    'Oh Congratulations, Juliet\n'
    'Thanks you Romeo'
)
sentences = re.sub("[.,!?\\-]", '', text.lower()).split('\n')  # filter '.', ',', '?', '!'
word_list = sorted(set(" ".join(sentences).split()))  # upstream: list(set(...)), ordered by the process's hash seed
word_dict = {'[PAD]': 0, '[CLS]': 1, '[SEP]': 2, '[MASK]': 3}
for i, w in enumerate(word_list):
    word_dict[w] = i + 4
number_dict = {i: w for i, w in enumerate(word_dict)}
vocab_size = len(word_dict)

token_list = list()
for sentence in sentences:
    arr = [word_dict[s] for s in sentence.split()]
    token_list.append(arr)


# sample IsNext and NotNext to be same in small batch size
def make_batch():
    batch = []
    positive = negative = 0
    while positive != batch_size/2 or negative != batch_size/2:
        # sample random index in sentences
        tokens_a_index, tokens_b_index = random.randrange(len(sentences)), random.randrange(len(sentences))
        tokens_a, tokens_b = token_list[tokens_a_index], token_list[tokens_b_index]
        input_ids = [word_dict['[CLS]']] + tokens_a + [word_dict['[SEP]']] + tokens_b + [word_dict['[SEP]']]
        segment_ids = [0] * (1 + len(tokens_a) + 1) + [1] * (len(tokens_b) + 1)

        # MASK LM
        n_pred = min(max_pred, max(1, int(round(len(input_ids) * 0.15))))  # 15 % of tokens in one sentence
        cand_maked_pos = [i for i, token in enumerate(input_ids)
                          if token != word_dict['[CLS]'] and token != word_dict['[SEP]']]
        random.shuffle(cand_maked_pos)
        masked_tokens, masked_pos = [], []
        for pos in cand_maked_pos[:n_pred]:
            masked_pos.append(pos)
            masked_tokens.append(input_ids[pos])
            if random.random() < 0.8:  # 80%
                input_ids[pos] = word_dict['[MASK]']  # make mask
            elif random.random() < 0.5:  # 10%
                index = random.randint(0, vocab_size - 1)  # random index in vocabulary
                input_ids[pos] = word_dict[number_dict[index]]  # replace

        # Zero Paddings
        n_pad = maxlen - len(input_ids)
        input_ids.extend([0] * n_pad)
        segment_ids.extend([0] * n_pad)

        # Zero Padding (100% - 15%) tokens
        if max_pred > n_pred:
            n_pad = max_pred - n_pred
            masked_tokens.extend([0] * n_pad)
            masked_pos.extend([0] * n_pad)

        if tokens_a_index + 1 == tokens_b_index and positive < batch_size/2:
            batch.append([input_ids, segment_ids, masked_tokens, masked_pos, True])  # IsNext
            positive += 1
        elif tokens_a_index + 1 != tokens_b_index and negative < batch_size/2:
            batch.append([input_ids, segment_ids, masked_tokens, masked_pos, False])  # NotNext
            negative += 1
    return batch
# Proprecessing Finished


def get_attn_pad_mask(seq_q, seq_k):
    batch_size, len_q = seq_q.size()
    batch_size, len_k = seq_k.size()
    # eq(zero) is PAD token
    pad_attn_mask = seq_k.data.eq(0).unsqueeze(1)  # batch_size x 1 x len_k(=len_q), one is masking
    return pad_attn_mask.expand(batch_size, len_q, len_k)  # batch_size x len_q x len_k


def gelu(x):
    "Implementation of the gelu activation function by Hugging Face"
    return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


class Embedding(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok_embed = nn.Embedding(vocab_size, d_model)  # token embedding
        self.pos_embed = nn.Embedding(maxlen, d_model)  # position embedding
        self.seg_embed = nn.Embedding(n_segments, d_model)  # segment(token type) embedding
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x, seg):
        seq_len = x.size(1)
        pos = torch.arange(seq_len, dtype=torch.long)
        pos = pos.unsqueeze(0).expand_as(x)  # (seq_len,) -> (batch_size, seq_len)
        embedding = self.tok_embed(x) + self.pos_embed(pos) + self.seg_embed(seg)
        return self.norm(embedding)


class ScaledDotProductAttention(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, Q, K, V, attn_mask):
        # scores : [batch_size x n_heads x len_q(=len_k) x len_k(=len_q)]
        scores = torch.matmul(Q, K.transpose(-1, -2)) / np.sqrt(d_k)
        scores.masked_fill_(attn_mask, -1e9)  # Fills elements of self tensor with value where mask is one.
        attn = nn.Softmax(dim=-1)(scores)
        context = torch.matmul(attn, V)
        return context, attn


class MultiHeadAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.W_Q = nn.Linear(d_model, d_k * n_heads)
        self.W_K = nn.Linear(d_model, d_k * n_heads)
        self.W_V = nn.Linear(d_model, d_v * n_heads)

    def forward(self, Q, K, V, attn_mask):
        # q: [batch_size x len_q x d_model], k: [batch_size x len_k x d_model], v: [batch_size x len_k x d_model]
        residual, batch_size = Q, Q.size(0)
        # (B, S, D) -proj-> (B, S, D) -split-> (B, S, H, W) -trans-> (B, H, S, W)
        q_s = self.W_Q(Q).view(batch_size, -1, n_heads, d_k).transpose(1, 2)  # q_s: [batch_size x n_heads x len_q x d_k]
        k_s = self.W_K(K).view(batch_size, -1, n_heads, d_k).transpose(1, 2)  # k_s: [batch_size x n_heads x len_k x d_k]
        v_s = self.W_V(V).view(batch_size, -1, n_heads, d_v).transpose(1, 2)  # v_s: [batch_size x n_heads x len_k x d_v]

        attn_mask = attn_mask.unsqueeze(1).repeat(1, n_heads, 1, 1)  # attn_mask : [batch_size x n_heads x len_q x len_k]

        # context: [batch_size x n_heads x len_q x d_v], attn: [batch_size x n_heads x len_q(=len_k) x len_k(=len_q)]
        context, attn = ScaledDotProductAttention()(q_s, k_s, v_s, attn_mask)
        # context: [batch_size x len_q x n_heads * d_v]
        context = context.transpose(1, 2).contiguous().view(batch_size, -1, n_heads * d_v)
        output = nn.Linear(n_heads * d_v, d_model)(context)
        return nn.LayerNorm(d_model)(output + residual), attn  # output: [batch_size x len_q x d_model]


class PoswiseFeedForwardNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(d_model, d_ff)
        self.fc2 = nn.Linear(d_ff, d_model)

    def forward(self, x):
        # (batch_size, len_seq, d_model) -> (batch_size, len_seq, d_ff) -> (batch_size, len_seq, d_model)
        return self.fc2(gelu(self.fc1(x)))


class EncoderLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc_self_attn = MultiHeadAttention()
        self.pos_ffn = PoswiseFeedForwardNet()

    def forward(self, enc_inputs, enc_self_attn_mask):
        # enc_inputs to same Q,K,V
        enc_outputs, attn = self.enc_self_attn(enc_inputs, enc_inputs, enc_inputs, enc_self_attn_mask)
        enc_outputs = self.pos_ffn(enc_outputs)  # enc_outputs: [batch_size x len_q x d_model]
        return enc_outputs, attn


class BERT(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = Embedding()
        self.layers = nn.ModuleList([EncoderLayer() for _ in range(n_layers)])
        self.fc = nn.Linear(d_model, d_model)
        self.activ1 = nn.Tanh()
        self.linear = nn.Linear(d_model, d_model)
        self.activ2 = gelu
        self.norm = nn.LayerNorm(d_model)
        self.classifier = nn.Linear(d_model, 2)
        # decoder is shared with embedding layer
        embed_weight = self.embedding.tok_embed.weight
        n_vocab, n_dim = embed_weight.size()
        self.decoder = nn.Linear(n_dim, n_vocab, bias=False)
        self.decoder.weight = embed_weight
        self.decoder_bias = nn.Parameter(torch.zeros(n_vocab))

    def forward(self, input_ids, segment_ids, masked_pos):
        output = self.embedding(input_ids, segment_ids)
        enc_self_attn_mask = get_attn_pad_mask(input_ids, input_ids)
        for layer in self.layers:
            output, enc_self_attn = layer(output, enc_self_attn_mask)
        # output : [batch_size, len, d_model], attn : [batch_size, n_heads, d_mode, d_model]
        # it will be decided by first token(CLS)
        h_pooled = self.activ1(self.fc(output[:, 0]))  # [batch_size, d_model]
        logits_clsf = self.classifier(h_pooled)  # [batch_size, 2]

        masked_pos = masked_pos[:, :, None].expand(-1, -1, output.size(-1))  # [batch_size, max_pred, d_model]
        # get masked position from final output of transformer.
        h_masked = torch.gather(output, 1, masked_pos)  # masking position [batch_size, max_pred, d_model]
        h_masked = self.norm(self.activ2(self.linear(h_masked)))
        logits_lm = self.decoder(h_masked) + self.decoder_bias  # [batch_size, max_pred, n_vocab]

        return logits_lm, logits_clsf


def train(seed: int = 1, lr_mult: float = 1.0, init: str = "default", zero_grad: bool = True,
          epochs: int = EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    random.seed(seed)
    t0 = time.time()
    model = BERT()
    if init != "default":
        for m in model.modules():
            if isinstance(m, nn.Linear) and m is not model.decoder:  # the decoder's weight is the token embedding
                for p in m.parameters():
                    if init == "std1":  # the init_large variant: every Linear weight and bias normal_(std=1)
                        nn.init.normal_(p, std=1.0)
                    else:
                        raise ValueError(init)
    criterion = nn.CrossEntropyLoss()
    lr = LR * lr_mult
    optimizer = optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    batch = make_batch()
    input_ids, segment_ids, masked_tokens, masked_pos, isNext = map(torch.LongTensor, zip(*batch, strict=True))

    losses = []
    for epoch in range(epochs):
        if zero_grad:  # the no_zero_grad variant leaves this out
            optimizer.zero_grad()
        logits_lm, logits_clsf = model(input_ids, segment_ids, masked_pos)
        loss_lm = criterion(logits_lm.transpose(1, 2), masked_tokens)  # for masked LM
        loss_lm = (loss_lm.float()).mean()
        loss_clsf = criterion(logits_clsf, isNext)  # for sentence classification
        loss = loss_lm + loss_clsf
        if verbose and (epoch + 1) % 10 == 0:
            print('Epoch:', f'{epoch + 1:04d}', 'cost =', f'{loss:.6f}', f"({time.time() - t0:.1f}s)",
                  flush=True)
        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()
        losses.append(loss.item())
    monitor.close()

    # Predict mask tokens ans isNext (upstream predicts batch[0]; here the whole batch, and its loss)
    with torch.no_grad():
        logits_lm, logits_clsf = model(input_ids, segment_ids, masked_pos)
        final_loss = float(criterion(logits_lm.transpose(1, 2), masked_tokens) + criterion(logits_clsf, isNext))
        real = masked_tokens != 0
        lm_acc = float((logits_lm.argmax(2) == masked_tokens)[real].float().mean())
        nsp_acc = float((logits_clsf.argmax(1) == isNext).float().mean())
    value = final_loss if math.isfinite(final_loss) else float("nan")
    train_loss = float(np.mean(losses[-5:]))
    return {"monitors": {"": monitor}, "metric": "loss", "value": value,
            "chance": math.log(vocab_size) + math.log(2), "initial": float(np.mean(losses[:5])),
            "initial_what": "untrained: mean training loss of the first 5 steps",
            "extra": dict(final_loss=value, train_loss=train_loss if math.isfinite(train_loss) else float("nan"),
                          first_loss=float(np.mean(losses[:5])), max_loss=float(np.nanmax(losses)),
                          finite_losses=bool(np.isfinite(losses).all()), steps=len(losses), lr=lr,
                          lr_mult=lr_mult, init=init, zero_grad=zero_grad, epochs=epochs, vocab_size=vocab_size,
                          masked_token_accuracy=lm_acc, is_next_accuracy=nsp_acc),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="gkbert", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"tiny BERT ({n_layers} post-LayerNorm encoder layers, d_model {d_model}, d_ff {d_ff}, {n_heads} heads; "
      f"PyTorch default init; masked-LM + IsNext CrossEntropyLoss; Adam lr {LR:g}; one batch of {batch_size} "
      f"sentence pairs, {EPOCHS} steps)")
CASES: list[dict] = (
    [_case(f"gkbert_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case("gkbert_lr_x10_s1", "lr_high", 1, {"lr_mult": 10}, f"{_P}: Adam lr x10 ({LR * 10:g})")]
    + [_case(f"gkbert_lr_x100_s{s}", "lr_high", s, {"lr_mult": 100}, f"{_P}: Adam lr x100 ({LR * 100:g})")
       for s in (1, 2)]
    + [_case("gkbert_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 ({LR * 1e-3:g})")]
    + [_case("gkbert_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_P}: every nn.Linear weight and bias of the model normal_(std=1) (the decoder, tied to the token "
             f"embedding, and the embeddings and LayerNorms kept)")]
    + [_case("gkbert_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("gkbert_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: Adam lr x2 ({LR * 2:g})")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = (int(v) if k in ("seed", "epochs") else v if k == "init" else
                 v == "True" if k == "zero_grad" else float(v))
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
