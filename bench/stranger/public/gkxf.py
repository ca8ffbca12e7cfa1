"""graykode/nlp-tutorial's from-scratch Transformer (5-1.Transformer), watched by gradmedic.

Adapted from https://github.com/graykode/nlp-tutorial (commit d05e31ec81d56d70c1db89b99ab07e948f7ebc11, the newest;
5-1.Transformer/Transformer.py and, for the greedy decoder only, 5-1.Transformer/Transformer(Greedy_decoder).py,
both last changed in 5c4ed7f3cdec9f34baef489f967b91ebd885cc82; by Tae Hwan Jung and Derek Miller; MIT License,
Copyright (c) 2019 TaeHwan Jung, see LICENSE-gkxf).  The model translates its one inline German sentence into
English: ``sentences = ['ich mochte ein bier P', 'S i want a beer', 'i want a beer E']`` (encoder input, decoder
input, target).  gknlp.py, gkattn.py and gkbilstm.py port other parts of the same repository.

Kept as in the original: every function and class (``make_batch``, ``get_sinusoid_encoding_table``,
``get_attn_pad_mask``, ``get_attn_subsequent_mask``, ``ScaledDotProductAttention``, ``MultiHeadAttention`` with its
output ``linear`` and post-residual ``LayerNorm``, ``PoswiseFeedForwardNet`` with two kernel-1 ``Conv1d``,
``EncoderLayer``, ``DecoderLayer``, ``Encoder``/``Decoder`` with ``nn.Embedding`` and frozen sinusoid position tables
indexed by upstream's fixed ``[[1, 2, 3, 4, 0]]`` / ``[[5, 1, 2, 3, 4]]``, ``Transformer`` with its bias-free
``projection``); PyTorch's default init (upstream sets none); the vocabularies and sizes (module globals, as
upstream's ``__main__`` sets them): d_model 512, d_ff 2048, d_k = d_v 64, 6 encoder and 6 decoder layers, 8 heads
(44.2 M parameters); ``nn.CrossEntropyLoss()`` on the flattened logits, ``optim.Adam(model.parameters(), lr=0.001)``;
the loop: 20 epochs, each one step on the one sentence pair, ``zero_grad`` / forward / loss / ``backward`` / ``step``,
no clipping, no warm-up, no scheduler.

Changed: ``torch.manual_seed(seed)`` before the model is built (upstream seeds nothing); ``showgraph`` and the
matplotlib import left out (plots only); the per-epoch print only when ``verbose``; ``super().__init__()`` instead of
``super(Cls, self).__init__()`` and two long shape comments moved above their lines (for the linter); the knobs of
the variants below, inert by default (``norm()`` returns ``nn.LayerNorm`` unless the no-LayerNorm variant is built;
``Transformer.detach_encoder``; the init loop; ``zero_grad``).  Nothing in the data, sizes, optimizer or number of
steps is changed; a run is about 11 s of CPU, 8-32 s wall on the shared 2-core machine (the 44 M-parameter Adam step
is most of it).  Upstream has no held-out data, so the metric is "loss": the cross-entropy of the trained model on
its sentence pair, from one more teacher-forced forward pass after the 20th step (upstream's "Test" forward; a
20-step run has no "last 20 steps" to average); ``initial`` is the mean of the first 5 step losses.  Also kept,
in ``extra``: the teacher-forced token accuracy and prediction (upstream's Test), and the greedy decode of
Transformer(Greedy_decoder).py's ``greedy_decoder`` (copied unchanged) with its token accuracy, and the mean of the
last 5 step losses (``train_loss``).

Odd, and kept: at lr 0.001 this code does not train smoothly here (torch 2.13 on CPU).  Seed 1's step losses are
1.85 2.40 3.03 4.18 5.13 6.11 6.63 1.63 ... 1.00 0.95 0.99; seeds 2 and 3 rise from 2.27 / 2.00 to 5.76 / 6.97 and
end at 1.62 / 1.70 with a greedy decode of one repeated word.  The smooth curve in upstream's notebook output
(2.09 0.26 0.27 0.07 ... 0.0009 and the right translation; 5-1.Transformer/Transformer_Torch.ipynb at
2c7969f28010d95b2901c98edb618998ac428dbd) was not re-run after that commit's "FIX transformer init", which made
the attention output ``Linear`` and the ``LayerNorm``s real, trained submodules (before it they were new random
layers built in every forward pass, outside the optimizer).  The same program at lr 0.0005 (case lr_half) or with
the Linear/Conv1d weights zeroed (case zero_init) reaches ~0.001 and decodes "i want a beer E".  The healthy runs
still pass run.py's good-outcome rule because ``initial`` (mean of the first 5 steps) includes the rise: 0.27x,
0.43x and 0.53x their start.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the Adam is
built, ``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the loop.

``CASES`` (in the shape of run.py's ``case()``, program "gkxf"): the program on seeds 1-3, and one change each
against the same seed's healthy run: Adam lr x10 (seed 2), x100 (seeds 1 and 2), /1000 (seed 2), x0.5 (cause
lr_low); every Linear and Conv1d weight and bias ``normal_(std=1)`` (embeddings and LayerNorms kept); the same all
``zeros_`` (symmetric_init); ``optimizer.zero_grad()`` left out (seeds 1 and 2); every ``nn.LayerNorm`` replaced by
``nn.Identity`` (no_norm); the decoder given ``enc_outputs.detach()`` (no gradient reaches the encoder;
no_gradient); Adam lr x2 (seed 2).  Variants were tried on seed 1 first; the ones ambiguous there were tried on
seed 2, and are recorded on seed 2: lr x10 (seed 1: 1.653 vs 0.911), lr /1000 (1.134), the detached encoder
(1.647), lr x2 (1.721).  Left out: softmax over the logits before CrossEntropyLoss (wrong_loss), ambiguous on both
seeds (1.767 vs 0.911, 1.965 vs 1.665: it stays at its first loss, ~1.8-1.9, while the controls end barely lower).
No unscaled-input case (the inputs are token ids into embeddings), no clipping case (upstream does not clip).
Labels come from run.py's outcome rules only.
Recorded (cases-public44, 302 s for the 15 runs, 8-32 s a run): healthy final loss 0.911, 1.665, 1.684 on seeds
1-3 (start 3.32, 3.86, 3.19 as means of the first 5 steps; largest step loss 6.63, 5.76, 6.97; teacher-forced 4, 1,
1 of 5 tokens right); lr x10 (s2) 1.749, largest 4.50: healthy; lr x100 4.63 (s1) and 6.68 (s2), first losses
25-31, largest 62 and 76: broken; lr /1000 (s2) 1.465 from 2.27, falling steadily (3 of 5 tokens): healthy; lr x0.5
(s1) 0.00089, every token and the greedy decode right: healthy; init std 1 9.34 (start 32.9, largest 43.2): broken;
zero init 0.0046, decoded right: healthy; zero_grad left out 1.968 (s1) and 2.996 (s2): broken; no LayerNorm 11.55
(step losses 2.68 then 104, up to 832, the last steps 0.30-2.34, but 11.55 after the last update): broken; encoder
detached (s2) 1.707: healthy; lr x2 (s2) 1.646, largest 6.14: healthy.  Labels: 9 healthy (3 programs, 6 variants),
6 broken, 0 ambiguous.  Every loss finite in every run.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

import gradmedic

ARCH = "transformer"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = optim.Adam(model.parameters(), lr=0.001); "
              "monitor.step(loss) right after loss.backward() (CrossEntropyLoss over the 5 target tokens of the one "
              "sentence pair), before optimizer.step()")

EPOCHS = 20
LR = 0.001

# S: Symbol that shows starting of decoding input
# E: Symbol that shows starting of decoding output
# P: Symbol that will fill in blank sequence if current batch data size is short than time steps
# (upstream's __main__ sets these module globals; they are set here at import, with the same values)
sentences = ['ich mochte ein bier P', 'S i want a beer', 'i want a beer E']

# Transformer Parameters
# Padding Should be Zero
src_vocab = {'P': 0, 'ich': 1, 'mochte': 2, 'ein': 3, 'bier': 4}
src_vocab_size = len(src_vocab)

tgt_vocab = {'P': 0, 'i': 1, 'want': 2, 'a': 3, 'beer': 4, 'S': 5, 'E': 6}
number_dict = {i: w for i, w in enumerate(tgt_vocab)}
tgt_vocab_size = len(tgt_vocab)

src_len = 5  # length of source
tgt_len = 5  # length of target

d_model = 512  # Embedding Size
d_ff = 2048  # FeedForward dimension
d_k = d_v = 64  # dimension of K(=Q), V
n_layers = 6  # number of Encoder of Decoder Layer
n_heads = 8  # number of heads in Multi-Head Attention

LAYER_NORM = True  # the no_norm variant sets it False (nn.Identity instead of nn.LayerNorm); train() sets it


def norm(n):
    return nn.LayerNorm(n) if LAYER_NORM else nn.Identity()


def make_batch(sentences):
    input_batch = [[src_vocab[n] for n in sentences[0].split()]]
    output_batch = [[tgt_vocab[n] for n in sentences[1].split()]]
    target_batch = [[tgt_vocab[n] for n in sentences[2].split()]]
    return torch.LongTensor(input_batch), torch.LongTensor(output_batch), torch.LongTensor(target_batch)


def get_sinusoid_encoding_table(n_position, d_model):
    def cal_angle(position, hid_idx):
        return position / np.power(10000, 2 * (hid_idx // 2) / d_model)

    def get_posi_angle_vec(position):
        return [cal_angle(position, hid_j) for hid_j in range(d_model)]

    sinusoid_table = np.array([get_posi_angle_vec(pos_i) for pos_i in range(n_position)])
    sinusoid_table[:, 0::2] = np.sin(sinusoid_table[:, 0::2])  # dim 2i
    sinusoid_table[:, 1::2] = np.cos(sinusoid_table[:, 1::2])  # dim 2i+1
    return torch.FloatTensor(sinusoid_table)


def get_attn_pad_mask(seq_q, seq_k):
    batch_size, len_q = seq_q.size()
    batch_size, len_k = seq_k.size()
    # eq(zero) is PAD token
    pad_attn_mask = seq_k.data.eq(0).unsqueeze(1)  # batch_size x 1 x len_k(=len_q), one is masking
    return pad_attn_mask.expand(batch_size, len_q, len_k)  # batch_size x len_q x len_k


def get_attn_subsequent_mask(seq):
    attn_shape = [seq.size(0), seq.size(1), seq.size(1)]
    subsequent_mask = np.triu(np.ones(attn_shape), k=1)
    subsequent_mask = torch.from_numpy(subsequent_mask).byte()
    return subsequent_mask


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
        self.linear = nn.Linear(n_heads * d_v, d_model)
        self.layer_norm = norm(d_model)

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
        output = self.linear(context)
        return self.layer_norm(output + residual), attn  # output: [batch_size x len_q x d_model]


class PoswiseFeedForwardNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(in_channels=d_model, out_channels=d_ff, kernel_size=1)
        self.conv2 = nn.Conv1d(in_channels=d_ff, out_channels=d_model, kernel_size=1)
        self.layer_norm = norm(d_model)

    def forward(self, inputs):
        residual = inputs  # inputs : [batch_size, len_q, d_model]
        output = nn.ReLU()(self.conv1(inputs.transpose(1, 2)))
        output = self.conv2(output).transpose(1, 2)
        return self.layer_norm(output + residual)


class EncoderLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc_self_attn = MultiHeadAttention()
        self.pos_ffn = PoswiseFeedForwardNet()

    def forward(self, enc_inputs, enc_self_attn_mask):
        enc_outputs, attn = self.enc_self_attn(enc_inputs, enc_inputs, enc_inputs, enc_self_attn_mask)  # enc_inputs to same Q,K,V
        enc_outputs = self.pos_ffn(enc_outputs)  # enc_outputs: [batch_size x len_q x d_model]
        return enc_outputs, attn


class DecoderLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.dec_self_attn = MultiHeadAttention()
        self.dec_enc_attn = MultiHeadAttention()
        self.pos_ffn = PoswiseFeedForwardNet()

    def forward(self, dec_inputs, enc_outputs, dec_self_attn_mask, dec_enc_attn_mask):
        dec_outputs, dec_self_attn = self.dec_self_attn(dec_inputs, dec_inputs, dec_inputs, dec_self_attn_mask)
        dec_outputs, dec_enc_attn = self.dec_enc_attn(dec_outputs, enc_outputs, enc_outputs, dec_enc_attn_mask)
        dec_outputs = self.pos_ffn(dec_outputs)
        return dec_outputs, dec_self_attn, dec_enc_attn


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.src_emb = nn.Embedding(src_vocab_size, d_model)
        self.pos_emb = nn.Embedding.from_pretrained(get_sinusoid_encoding_table(src_len+1, d_model), freeze=True)
        self.layers = nn.ModuleList([EncoderLayer() for _ in range(n_layers)])

    def forward(self, enc_inputs):  # enc_inputs : [batch_size x source_len]
        enc_outputs = self.src_emb(enc_inputs) + self.pos_emb(torch.LongTensor([[1, 2, 3, 4, 0]]))
        enc_self_attn_mask = get_attn_pad_mask(enc_inputs, enc_inputs)
        enc_self_attns = []
        for layer in self.layers:
            enc_outputs, enc_self_attn = layer(enc_outputs, enc_self_attn_mask)
            enc_self_attns.append(enc_self_attn)
        return enc_outputs, enc_self_attns


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.tgt_emb = nn.Embedding(tgt_vocab_size, d_model)
        self.pos_emb = nn.Embedding.from_pretrained(get_sinusoid_encoding_table(tgt_len+1, d_model), freeze=True)
        self.layers = nn.ModuleList([DecoderLayer() for _ in range(n_layers)])

    def forward(self, dec_inputs, enc_inputs, enc_outputs):  # dec_inputs : [batch_size x target_len]
        dec_outputs = self.tgt_emb(dec_inputs) + self.pos_emb(torch.LongTensor([[5, 1, 2, 3, 4]]))
        dec_self_attn_pad_mask = get_attn_pad_mask(dec_inputs, dec_inputs)
        dec_self_attn_subsequent_mask = get_attn_subsequent_mask(dec_inputs)
        dec_self_attn_mask = torch.gt((dec_self_attn_pad_mask + dec_self_attn_subsequent_mask), 0)

        dec_enc_attn_mask = get_attn_pad_mask(dec_inputs, enc_inputs)

        dec_self_attns, dec_enc_attns = [], []
        for layer in self.layers:
            dec_outputs, dec_self_attn, dec_enc_attn = layer(dec_outputs, enc_outputs, dec_self_attn_mask, dec_enc_attn_mask)
            dec_self_attns.append(dec_self_attn)
            dec_enc_attns.append(dec_enc_attn)
        return dec_outputs, dec_self_attns, dec_enc_attns


class Transformer(nn.Module):
    detach_encoder = False  # the no_gradient variant: the decoder sees enc_outputs.detach()

    def __init__(self):
        super().__init__()
        self.encoder = Encoder()
        self.decoder = Decoder()
        self.projection = nn.Linear(d_model, tgt_vocab_size, bias=False)

    def forward(self, enc_inputs, dec_inputs):
        enc_outputs, enc_self_attns = self.encoder(enc_inputs)
        if self.detach_encoder:
            enc_outputs = enc_outputs.detach()
        dec_outputs, dec_self_attns, dec_enc_attns = self.decoder(dec_inputs, enc_inputs, enc_outputs)
        dec_logits = self.projection(dec_outputs)  # dec_logits : [batch_size x src_vocab_size x tgt_vocab_size]
        return dec_logits.view(-1, dec_logits.size(-1)), enc_self_attns, dec_self_attns, dec_enc_attns


def greedy_decoder(model, enc_input, start_symbol):
    """Transformer(Greedy_decoder).py's greedy decoder (beam search with K=1), unchanged but for this docstring."""
    enc_outputs, enc_self_attns = model.encoder(enc_input)
    dec_input = torch.zeros(1, 5).type_as(enc_input.data)
    next_symbol = start_symbol
    for i in range(0, 5):
        dec_input[0][i] = next_symbol
        dec_outputs, _, _ = model.decoder(dec_input, enc_input, enc_outputs)
        projected = model.projection(dec_outputs)
        prob = projected.squeeze(0).max(dim=-1, keepdim=False)[1]
        next_word = prob.data[i]
        next_symbol = next_word.item()
    return dec_input


def train(seed: int = 1, lr_mult: float = 1.0, init: str = "default", layer_norm: bool = True,
          zero_grad: bool = True, softmax: bool = False, detach_encoder: bool = False, epochs: int = EPOCHS,
          every: int = 10, verbose: bool = False) -> dict:
    global LAYER_NORM
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    LAYER_NORM = layer_norm
    try:
        model = Transformer()
    finally:
        LAYER_NORM = True
    model.detach_encoder = detach_encoder
    if init != "default":
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Conv1d)):
                for p in m.parameters():
                    if init == "std1":  # the init_large variant: every Linear/Conv1d weight and bias normal_(std=1)
                        nn.init.normal_(p, std=1.0)
                    elif init == "zero":  # the symmetric_init variant: every Linear/Conv1d weight and bias zero
                        nn.init.zeros_(p)
                    else:
                        raise ValueError(init)

    criterion = nn.CrossEntropyLoss()
    lr = LR * lr_mult
    optimizer = optim.Adam(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    enc_inputs, dec_inputs, target_batch = make_batch(sentences)

    def out(enc, dec):
        outputs = model(enc, dec)[0]
        return torch.softmax(outputs, dim=-1) if softmax else outputs  # softmax: the wrong_loss variant

    losses = []
    for epoch in range(epochs):
        if zero_grad:  # the no_zero_grad variant leaves this out
            optimizer.zero_grad()
        outputs = out(enc_inputs, dec_inputs)
        loss = criterion(outputs, target_batch.contiguous().view(-1))
        if verbose:
            print('Epoch:', f'{epoch + 1:04d}', 'cost =', f'{loss:.6f}', f"({time.time() - t0:.1f}s)",
                  flush=True)
        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()
        losses.append(loss.item())
    monitor.close()

    # Test (upstream's teacher-forced forward after training; and Transformer(Greedy_decoder).py's greedy decode)
    with torch.no_grad():
        outputs = out(enc_inputs, dec_inputs)
        final_loss = float(criterion(outputs, target_batch.contiguous().view(-1)))
        predict = outputs.data.max(1, keepdim=True)[1].squeeze(1)
        greedy_dec_input = greedy_decoder(model, enc_inputs, start_symbol=tgt_vocab["S"])
        gpredict = model(enc_inputs, greedy_dec_input)[0].data.max(1, keepdim=True)[1].squeeze(1)
    target = target_batch.view(-1)
    value = final_loss if math.isfinite(final_loss) else float("nan")
    train_loss = float(np.mean(losses[-5:]))
    return {"monitors": {"": monitor}, "metric": "loss", "value": value,
            "chance": math.log(tgt_vocab_size), "initial": float(np.mean(losses[:5])),
            "initial_what": "untrained: mean training loss of the first 5 steps",
            "extra": dict(final_loss=value, train_loss=train_loss if math.isfinite(train_loss) else float("nan"),
                          first_loss=float(np.mean(losses[:5])), max_loss=float(np.nanmax(losses)),
                          finite_losses=bool(np.isfinite(losses).all()), steps=len(losses), lr=lr,
                          lr_mult=lr_mult, init=init, layer_norm=layer_norm, zero_grad=zero_grad, softmax=softmax,
                          detach_encoder=detach_encoder,
                          teacher_forced_token_accuracy=float((predict == target).float().mean()),
                          teacher_forced=" ".join(number_dict[n.item()] for n in predict),
                          greedy_token_accuracy=float((gpredict == target).float().mean()),
                          greedy=" ".join(number_dict[n.item()] for n in gpredict)),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="gkxf", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"from-scratch Transformer (6+6 post-LayerNorm layers, d_model 512, d_ff 2048, 8 heads; PyTorch default init; "
      f"CrossEntropyLoss over the 5 target tokens; Adam lr {LR:g}; the one sentence pair, {EPOCHS} steps)")
CASES: list[dict] = (
    [_case(f"gkxf_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case("gkxf_lr_x10_s2", "lr_high", 2, {"lr_mult": 10}, f"{_P}: Adam lr x10 ({LR * 10:g})")]
    + [_case(f"gkxf_lr_x100_s{s}", "lr_high", s, {"lr_mult": 100}, f"{_P}: Adam lr x100 ({LR * 100:g})")
       for s in (1, 2)]
    + [_case("gkxf_lr_div1000_s2", "lr_low", 2, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 ({LR * 1e-3:g})")]
    + [_case("gkxf_lr_half_s1", "lr_low", 1, {"lr_mult": 0.5}, f"{_P}: Adam lr x0.5 ({LR * 0.5:g})")]
    + [_case("gkxf_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_P}: every Linear and Conv1d weight and bias normal_(std=1) (embeddings and LayerNorms kept)")]
    + [_case("gkxf_zero_init_s1", "symmetric_init", 1, {"init": "zero"},
             f"{_P}: every Linear and Conv1d weight and bias zeros_ (embeddings and LayerNorms kept)")]
    + [_case(f"gkxf_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)") for s in (1, 2)]
    + [_case("gkxf_no_layernorm_s1", "no_norm", 1, {"layer_norm": False},
             f"{_P}: every nn.LayerNorm replaced by nn.Identity (the residual sums left unnormalized)")]
    + [_case("gkxf_detach_encoder_s2", "no_gradient", 2, {"detach_encoder": True},
             f"{_P}: the decoder gets enc_outputs.detach(): no gradient reaches the encoder or src_emb")]
    + [_case("gkxf_lr_x2_s2", "lr_high", 2, {"lr_mult": 2}, f"{_P}: Adam lr x2 ({LR * 2:g})")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = (int(v) if k in ("seed", "epochs") else v if k == "init" else
                 v == "True" if k in ("layer_norm", "zero_grad", "softmax", "detach_encoder") else float(v))
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
