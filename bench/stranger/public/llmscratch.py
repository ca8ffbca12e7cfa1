"""rasbt/LLMs-from-scratch chapter 5: pretraining the book's GPTModel with ``train_model_simple``, watched by gradmedic.

Adapted from https://github.com/rasbt/LLMs-from-scratch (commit 28c65cdfbc3338e2e040016eea4b7fdf556e4d57,
ch05/01_main-chapter-code/previous_chapters.py, gpt_train.py and ch05.ipynb; Apache License 2.0, Copyright
Sebastian Raschka, see LICENSE-llmscratch).  Kept as in the original (code copied below): ``GPTDatasetV1`` (the
sliding window of ``max_length`` tokens, targets shifted by one) and ``create_dataloader_v1``; ``MultiHeadAttention``
(separate W_query/W_key/W_value without bias, the ``triu`` causal mask buffer, softmax of scores / sqrt(head_dim),
dropout on the weights, ``out_proj``); the book's ``LayerNorm`` (scale/shift, biased variance, eps 1e-5), tanh
``GELU``, ``FeedForward`` (emb -> 4 emb -> emb), the pre-norm ``TransformerBlock`` with ``drop_shortcut`` and
``GPTModel`` (token + position embeddings, dropout, blocks, ``final_norm``, ``out_head`` without bias) with
PyTorch's default initialization throughout (the book sets none: N(0, 1) embeddings, kaiming-uniform Linears);
``calc_loss_batch`` (cross_entropy of ``logits.flatten(0, 1)``), ``calc_loss_loader``, ``evaluate_model`` and
``train_model_simple`` (zero_grad / calc_loss_batch / backward / step per batch, an evaluation every
``eval_freq=5`` steps over ``eval_iter=5`` batches of the train and validation loaders, no clipping, no schedule);
the notebook's ``torch.optim.AdamW(model.parameters(), lr=0.0004, weight_decay=0.1)``, the 90/10 train/validation
split of the text, ``batch_size=2``, ``stride=context_length``, drop_last/shuffle as the notebook has them,
drop_rate 0.1 and qkv_bias False.

Changed to run offline on one CPU thread in seconds: tiktoken is not installed (and its GPT-2 encoding would be a
download), so the tokenizer is a character-level vocabulary (``CharTokenizer``: the sorted set of the text's
characters, ~96 of them) with tiktoken's ``encode``/``decode`` call shape, passed to ``create_dataloader_v1``
instead of its ``tiktoken.get_encoding("gpt2")`` line; the text is the first TEXT_CHARS characters of the standard
library's docstrings (shipped_text.py) instead of the-verdict.txt; the config is shrunk from GPT_CONFIG_124M to
emb_dim 64, n_heads 4, n_layers 2, context_length 64, vocab_size the tokenizer's; NUM_EPOCHS epochs instead of
10; the seed is ``seed`` instead of 123 and the train loader shuffles with a ``torch.Generator`` seeded with it
(upstream's loader draws from the global RNG, which dropout and the init variants also consume, so the variants
would see a different data order from their control); the per-evaluation prints and the per-epoch
``generate_and_print_sample`` only under ``verbose``; ``device`` is the CPU.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the AdamW is
built, ``monitor.step(loss)`` right after ``loss.backward()`` in ``train_model_simple``, before
``optimizer.step()``; ``monitor.close()`` after training.  Metric: the training loss (run.py's rule: the mean of
the last 20 steps' batch losses against the mean of the first 5); the book's last evaluated train and validation
losses are in ``extra``.

``CASES`` (name prefix ``llmscratch``): the program on seeds 1-3 and one change each against the same seed's
healthy run: AdamW lr x10, x100 (seeds 1 and 2), x1000, /1000; ``nn.init.normal_(std=1.0)`` on every Linear and
Embedding weight (the embeddings are N(0, 1) by default already, so the change is on the Linears; seeds 1 and 2);
``optimizer.zero_grad()`` left out (the gradients accumulate); the GPTModel without its ``final_norm`` (Identity).
No clipping case: chapter 5's loop does not clip (appendix D adds it).  qkv_bias and dropout changes are not
failures and are not recorded.
Recorded (cases-public12, 471 s for the 12 runs, 22-55 s each on a shared CPU; 842 steps per run, vocab 90):
healthy 4.63 -> 2.69, 4.59 -> 2.66, 4.60 -> 2.58 (training loss, seeds 1-3; evaluated validation loss 2.36 on
seed 1); lr x10 (0.004) trains better than the program (2.50, healthy); lr x100 ends at 3.16 and 3.10 (seeds 1
and 2) and x1000 at 3.36 (from 12.1): worse, but neither twice the control's loss nor under half its progress, so
ambiguous (AdamW's steps are bounded by the rate; the runs stall near the characters' unigram entropy instead of
diverging, every loss finite); lr /1000 stays at 4.64 (from 4.65) and N(0, 1) init starts at 18.9 / 20.4 and
ends at 4.81 / 4.91, above chance (4.50): broken; without zero_grad the run ends at 2.90 (1.08x its control's,
healthy) and without the final LayerNorm at 2.68 (healthy).
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
from shipped_text import stdlib_docstrings
from torch.utils.data import DataLoader, Dataset

import gradmedic

ARCH = "transformer"
MONITOR_AT = ("watch(model, optimizer, every=10) right after the AdamW is built; monitor.step(loss) right after "
              "loss.backward() in train_model_simple (cross_entropy on the flattened logits), before optimizer.step()")

TEXT_CHARS = 60_000
NUM_EPOCHS = 2


class CharTokenizer:
    """Character-level stand-in for tiktoken's GPT-2 encoding (same encode/decode call shape)."""

    def __init__(self, text):
        self.chars = sorted(set(text))
        self.stoi = {c: i for i, c in enumerate(self.chars)}
        self.n_vocab = len(self.chars)

    def encode(self, text, allowed_special=None):
        return [self.stoi[c] for c in text]

    def decode(self, ids):
        return "".join(self.chars[i] for i in ids)


# ---- previous_chapters.py (chapter 2-4 code), unchanged but for the tokenizer argument -------------------------

class GPTDatasetV1(Dataset):
    def __init__(self, txt, tokenizer, max_length, stride):
        self.input_ids = []
        self.target_ids = []

        # Tokenize the entire text
        token_ids = tokenizer.encode(txt, allowed_special={"<|endoftext|>"})

        # Use a sliding window to chunk the book into overlapping sequences of max_length
        for i in range(0, len(token_ids) - max_length, stride):
            input_chunk = token_ids[i:i + max_length]
            target_chunk = token_ids[i + 1: i + max_length + 1]
            self.input_ids.append(torch.tensor(input_chunk))
            self.target_ids.append(torch.tensor(target_chunk))

    def __len__(self):
        return len(self.input_ids)

    def __getitem__(self, idx):
        return self.input_ids[idx], self.target_ids[idx]


def create_dataloader_v1(txt, tokenizer, batch_size=4, max_length=256,
                         stride=128, shuffle=True, drop_last=True, num_workers=0, generator=None):
    # Create dataset
    dataset = GPTDatasetV1(txt, tokenizer, max_length, stride)

    # Create dataloader
    dataloader = DataLoader(
        dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, num_workers=num_workers,
        generator=generator)

    return dataloader


class MultiHeadAttention(nn.Module):
    def __init__(self, d_in, d_out, context_length, dropout, num_heads, qkv_bias=False):
        super().__init__()
        assert d_out % num_heads == 0, "d_out must be divisible by n_heads"

        self.d_out = d_out
        self.num_heads = num_heads
        self.head_dim = d_out // num_heads  # Reduce the projection dim to match desired output dim

        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.out_proj = nn.Linear(d_out, d_out)  # Linear layer to combine head outputs
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("mask", torch.triu(torch.ones(context_length, context_length), diagonal=1))

    def forward(self, x):
        b, num_tokens, d_in = x.shape

        keys = self.W_key(x)  # Shape: (b, num_tokens, d_out)
        queries = self.W_query(x)
        values = self.W_value(x)

        # We implicitly split the matrix by adding a `num_heads` dimension
        # Unroll last dim: (b, num_tokens, d_out) -> (b, num_tokens, num_heads, head_dim)
        keys = keys.view(b, num_tokens, self.num_heads, self.head_dim)
        values = values.view(b, num_tokens, self.num_heads, self.head_dim)
        queries = queries.view(b, num_tokens, self.num_heads, self.head_dim)

        # Transpose: (b, num_tokens, num_heads, head_dim) -> (b, num_heads, num_tokens, head_dim)
        keys = keys.transpose(1, 2)
        queries = queries.transpose(1, 2)
        values = values.transpose(1, 2)

        # Compute scaled dot-product attention (aka self-attention) with a causal mask
        attn_scores = queries @ keys.transpose(2, 3)  # Dot product for each head

        # Original mask truncated to the number of tokens and converted to boolean
        mask_bool = self.mask.bool()[:num_tokens, :num_tokens]

        # Use the mask to fill attention scores
        attn_scores.masked_fill_(mask_bool, -torch.inf)

        attn_weights = torch.softmax(attn_scores / keys.shape[-1]**0.5, dim=-1)
        attn_weights = self.dropout(attn_weights)

        # Shape: (b, num_tokens, num_heads, head_dim)
        context_vec = (attn_weights @ values).transpose(1, 2)

        # Combine heads, where self.d_out = self.num_heads * self.head_dim
        context_vec = context_vec.reshape(b, num_tokens, self.d_out)
        context_vec = self.out_proj(context_vec)  # optional projection

        return context_vec


class LayerNorm(nn.Module):
    def __init__(self, emb_dim):
        super().__init__()
        self.eps = 1e-5
        self.scale = nn.Parameter(torch.ones(emb_dim))
        self.shift = nn.Parameter(torch.zeros(emb_dim))

    def forward(self, x):
        mean = x.mean(dim=-1, keepdim=True)
        var = x.var(dim=-1, keepdim=True, unbiased=False)
        norm_x = (x - mean) / torch.sqrt(var + self.eps)
        return self.scale * norm_x + self.shift


class GELU(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return 0.5 * x * (1 + torch.tanh(
            torch.sqrt(torch.tensor(2.0 / torch.pi)) *
            (x + 0.044715 * torch.pow(x, 3))
        ))


class FeedForward(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(cfg["emb_dim"], 4 * cfg["emb_dim"]),
            GELU(),
            nn.Linear(4 * cfg["emb_dim"], cfg["emb_dim"]),
        )

    def forward(self, x):
        return self.layers(x)


class TransformerBlock(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.att = MultiHeadAttention(
            d_in=cfg["emb_dim"],
            d_out=cfg["emb_dim"],
            context_length=cfg["context_length"],
            num_heads=cfg["n_heads"],
            dropout=cfg["drop_rate"],
            qkv_bias=cfg["qkv_bias"])
        self.ff = FeedForward(cfg)
        self.norm1 = LayerNorm(cfg["emb_dim"])
        self.norm2 = LayerNorm(cfg["emb_dim"])
        self.drop_shortcut = nn.Dropout(cfg["drop_rate"])

    def forward(self, x):
        # Shortcut connection for attention block
        shortcut = x
        x = self.norm1(x)
        x = self.att(x)   # Shape [batch_size, num_tokens, emb_size]
        x = self.drop_shortcut(x)
        x = x + shortcut  # Add the original input back

        # Shortcut connection for feed-forward block
        shortcut = x
        x = self.norm2(x)
        x = self.ff(x)
        x = self.drop_shortcut(x)
        x = x + shortcut  # Add the original input back

        return x


class GPTModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.tok_emb = nn.Embedding(cfg["vocab_size"], cfg["emb_dim"])
        self.pos_emb = nn.Embedding(cfg["context_length"], cfg["emb_dim"])
        self.drop_emb = nn.Dropout(cfg["drop_rate"])

        self.trf_blocks = nn.Sequential(
            *[TransformerBlock(cfg) for _ in range(cfg["n_layers"])])

        self.final_norm = LayerNorm(cfg["emb_dim"])
        self.out_head = nn.Linear(cfg["emb_dim"], cfg["vocab_size"], bias=False)

    def forward(self, in_idx):
        batch_size, seq_len = in_idx.shape
        tok_embeds = self.tok_emb(in_idx)
        pos_embeds = self.pos_emb(torch.arange(seq_len, device=in_idx.device))
        x = tok_embeds + pos_embeds  # Shape [batch_size, num_tokens, emb_size]
        x = self.drop_emb(x)
        x = self.trf_blocks(x)
        x = self.final_norm(x)
        logits = self.out_head(x)
        return logits


def generate_text_simple(model, idx, max_new_tokens, context_size):
    for _ in range(max_new_tokens):
        idx_cond = idx[:, -context_size:]
        with torch.no_grad():
            logits = model(idx_cond)
        logits = logits[:, -1, :]
        idx_next = torch.argmax(logits, dim=-1, keepdim=True)  # (batch, 1)
        idx = torch.cat((idx, idx_next), dim=1)  # (batch, n_tokens+1)
    return idx


# ---- gpt_train.py / ch05.ipynb ----------------------------------------------------------------------------------

def text_to_token_ids(text, tokenizer):
    encoded = tokenizer.encode(text)
    encoded_tensor = torch.tensor(encoded).unsqueeze(0)  # add batch dimension
    return encoded_tensor


def token_ids_to_text(token_ids, tokenizer):
    flat = token_ids.squeeze(0)  # remove batch dimension
    return tokenizer.decode(flat.tolist())


def calc_loss_batch(input_batch, target_batch, model, device):
    input_batch, target_batch = input_batch.to(device), target_batch.to(device)
    logits = model(input_batch)
    loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), target_batch.flatten())
    return loss


def calc_loss_loader(data_loader, model, device, num_batches=None):
    total_loss = 0.
    if len(data_loader) == 0:
        return float("nan")
    elif num_batches is None:
        num_batches = len(data_loader)
    else:
        num_batches = min(num_batches, len(data_loader))
    for i, (input_batch, target_batch) in enumerate(data_loader):
        if i < num_batches:
            loss = calc_loss_batch(input_batch, target_batch, model, device)
            total_loss += loss.item()
        else:
            break
    return total_loss / num_batches


def evaluate_model(model, train_loader, val_loader, device, eval_iter):
    model.eval()
    with torch.no_grad():
        train_loss = calc_loss_loader(train_loader, model, device, num_batches=eval_iter)
        val_loss = calc_loss_loader(val_loader, model, device, num_batches=eval_iter)
    model.train()
    return train_loss, val_loss


def generate_and_print_sample(model, tokenizer, device, start_context):
    model.eval()
    context_size = model.pos_emb.weight.shape[0]
    encoded = text_to_token_ids(start_context, tokenizer).to(device)
    with torch.no_grad():
        token_ids = generate_text_simple(
            model=model, idx=encoded,
            max_new_tokens=50, context_size=context_size
        )
    decoded_text = token_ids_to_text(token_ids, tokenizer)
    print(decoded_text.replace("\n", " "))  # Compact print format
    model.train()


def train_model_simple(model, train_loader, val_loader, optimizer, device, num_epochs,
                       eval_freq, eval_iter, start_context, tokenizer,
                       monitor=None, step_losses=None, zero_grad=True, verbose=False):
    # Initialize lists to track losses and tokens seen
    train_losses, val_losses, track_tokens_seen = [], [], []
    tokens_seen, global_step = 0, -1

    # Main training loop
    for epoch in range(num_epochs):
        model.train()  # Set model to training mode

        for input_batch, target_batch in train_loader:
            if zero_grad:  # the no_zero_grad variant leaves this line out
                optimizer.zero_grad()  # Reset loss gradients from previous batch iteration
            loss = calc_loss_batch(input_batch, target_batch, model, device)
            loss.backward()  # Calculate loss gradients
            monitor.step(loss)  # gradmedic
            step_losses.append(loss.item())
            optimizer.step()  # Update model weights using loss gradients
            tokens_seen += input_batch.numel()
            global_step += 1

            # Optional evaluation step
            if global_step % eval_freq == 0:
                train_loss, val_loss = evaluate_model(
                    model, train_loader, val_loader, device, eval_iter)
                train_losses.append(train_loss)
                val_losses.append(val_loss)
                track_tokens_seen.append(tokens_seen)
                if verbose:
                    print(f"Ep {epoch+1} (Step {global_step:06d}): "
                          f"Train loss {train_loss:.3f}, Val loss {val_loss:.3f}", flush=True)

        # Print a sample text after each epoch
        if verbose:
            generate_and_print_sample(
                model, tokenizer, device, start_context
            )

    return train_losses, val_losses, track_tokens_seen


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, zero_grad: bool = True,
          final_norm: bool = True, num_epochs: int | None = None, every: int = 10, verbose: bool = False) -> dict:
    """``init_std``: nn.init.normal_(0, init_std) on every nn.Linear and nn.Embedding weight; ``zero_grad=False``
    leaves optimizer.zero_grad() out of the loop; ``final_norm=False`` replaces the GPTModel's final_norm by
    nn.Identity()."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    device = torch.device("cpu")
    text_data = stdlib_docstrings()[:TEXT_CHARS]
    tokenizer = CharTokenizer(text_data)
    cfg = {
        "vocab_size": tokenizer.n_vocab,  # character vocabulary (GPT-2's 50257 upstream)
        "context_length": 64,             # 256 in the notebook
        "emb_dim": 64,                    # 768
        "n_heads": 4,                     # 12
        "n_layers": 2,                    # 12
        "drop_rate": 0.1,
        "qkv_bias": False,
    }

    # Train/validation ratio
    train_ratio = 0.90
    split_idx = int(train_ratio * len(text_data))
    train_data = text_data[:split_idx]
    val_data = text_data[split_idx:]

    torch.manual_seed(seed)
    g = torch.Generator()
    g.manual_seed(seed)
    train_loader = create_dataloader_v1(
        train_data, tokenizer,
        batch_size=2,
        max_length=cfg["context_length"],
        stride=cfg["context_length"],
        drop_last=True,
        shuffle=True,
        num_workers=0,
        generator=g,
    )
    val_loader = create_dataloader_v1(
        val_data, tokenizer,
        batch_size=2,
        max_length=cfg["context_length"],
        stride=cfg["context_length"],
        drop_last=False,
        shuffle=False,
        num_workers=0
    )

    torch.manual_seed(seed)
    model = GPTModel(cfg)
    if init_std is not None:  # the bug: N(0, init_std) on every Linear and Embedding weight
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, 0.0, init_std)
    if not final_norm:  # the bug: no final LayerNorm before out_head
        model.final_norm = nn.Identity()
    model.to(device)
    lr = 0.0004 * lr_mult
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.1)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    epochs = NUM_EPOCHS if num_epochs is None else num_epochs
    losses: list[float] = []
    t0 = time.time()
    train_losses, val_losses, _ = train_model_simple(
        model, train_loader, val_loader, optimizer, device,
        num_epochs=epochs, eval_freq=5, eval_iter=5,
        start_context="Return the ", tokenizer=tokenizer,
        monitor=monitor, step_losses=losses, zero_grad=zero_grad, verbose=verbose,
    )
    monitor.close()
    return {"monitors": {"": monitor}, "metric": "train_loss", "value": float(np.mean(losses[-20:])),
            "initial": float(np.mean(losses[:5])), "chance": math.log(cfg["vocab_size"]),
            "initial_what": "mean training loss of the first 5 steps",
            "extra": {"eval_train_loss": train_losses[-1], "eval_val_loss": val_losses[-1], "steps": len(losses),
                      "vocab_size": cfg["vocab_size"], "lr": lr, "epochs": epochs},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="llmscratch", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


CASES: list[dict] = (
    [_case(f"llmscratch_healthy_s{s}", "healthy", s, {}, "unchanged (GPTModel emb 64, 4 heads, 2 layers, context 64, "
           f"char vocab; AdamW lr 0.0004, weight_decay 0.1; batch 2; {NUM_EPOCHS} epochs)", False) for s in (1, 2, 3)]
    + [_case(f"llmscratch_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"AdamW lr x{k} ({0.0004 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("llmscratch_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "AdamW lr /1000 (4e-07)")]
    + [_case(f"llmscratch_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Linear and Embedding weight (the Embeddings are N(0, 1) by default, "
             "so the change is on the Linears' kaiming-uniform weights; biases kept)") for s in (1, 2)]
    + [_case("llmscratch_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             "optimizer.zero_grad() left out of train_model_simple: the gradients accumulate")]
    + [_case("llmscratch_no_final_norm_s1", "no_norm", 1, {"final_norm": False},
             "GPTModel.final_norm replaced by nn.Identity() (no LayerNorm before out_head)")]
)


if __name__ == "__main__":
    import sys
    kw = {"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
