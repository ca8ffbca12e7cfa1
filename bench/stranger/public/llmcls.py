"""rasbt/LLMs-from-scratch chapter 6: fine-tuning the book's GPTModel as a spam classifier with
``train_classifier_simple``, watched by gradmedic.

Adapted from https://github.com/rasbt/LLMs-from-scratch (commit 28c65cdfbc3338e2e040016eea4b7fdf556e4d57,
ch06/01_main-chapter-code/gpt_class_finetune.py; Apache License 2.0, Copyright Sebastian Raschka, see
LICENSE-llmcls).  The GPTModel (MultiHeadAttention, LayerNorm, GELU, FeedForward, TransformerBlock) is imported
from llmscratch.py, the port of chapter 5's code, which is the same ``previous_chapters.py`` code chapter 6
imports.  Kept as in gpt_class_finetune.py (code copied below): ``create_balanced_dataset`` (the ham messages
subsampled to the number of spam ones), ``random_split`` (shuffled with random_state 123, 70 % train, 10 %
validation, 20 % test), ``SpamDataset`` (each text encoded, padded with the end-of-text token id to the longest
training text), ``DataLoader``s with ``batch_size = 8`` (train shuffled, drop_last), ``calc_loss_batch`` (the
cross-entropy of the logits of the last output token), ``calc_loss_loader``, ``calc_accuracy_loader``,
``evaluate_model`` and ``train_classifier_simple`` as written (zero_grad, loss, backward, step; an evaluation every
``eval_freq=50`` steps over ``eval_iter=5`` batches; the train/validation accuracy on 5 batches after each epoch);
the fine-tuning recipe: every parameter frozen (``requires_grad = False``), ``model.out_head`` replaced by
``torch.nn.Linear(in_features=emb_dim, out_features=2)``, the last transformer block and ``final_norm`` unfrozen;
``torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.1)``; ``drop_rate`` 0.0 and ``qkv_bias`` True as in
its BASE_CONFIG.

Changed to run offline on one CPU thread: the SMS Spam Collection (a download) is a synthetic spam/ham text made in
the module (``make_sms``: 1300 ham and 747 spam messages drawn from word lists and templates with
``random.Random(123)``; some ham says "free", "win" or "call", some spam looks casual, so the words overlap); the
GPT-2 BPE (tiktoken, a download) is a word-level ``WordTokenizer`` over the messages' lowercase words and
punctuation with ``<|endoftext|>`` as its pad token; the model is built from a shrunk config (emb_dim 64, n_heads 4,
n_layers 2, context_length 64, vocab the tokenizer's; GPT_CONFIG_124M's 768/12/12/1024 upstream) and is NOT
pretrained: gpt_class_finetune.py loads OpenAI's GPT-2 weights, which would be a download, so the model starts
from random weights as upstream's own ``--test_mode`` does (its config: emb 12, 1 layer, 2 heads, random weights),
and only the unfrozen last block, final norm and the new head learn.  NUM_EPOCHS (10) epochs of 130 steps instead
of upstream's ``num_epochs = 5``: from random weights the classifier learns more slowly than from GPT-2's, and after
5 epochs seed 1 was at 0.887 test accuracy (validation 0.825, still rising); after 10 seeds 1-3 reach 0.953-0.977,
about the 95-97 % the chapter reports for GPT-2 small.  ``torch.manual_seed(seed)`` where upstream
calls ``torch.manual_seed(123)`` (three times: before the loaders, before the head, before the optimizer);
the prints and the plots only under ``verbose``; the device is the CPU.  The metric is the accuracy on the whole
test set after training (upstream's ``calc_accuracy_loader(test_loader, ...)`` at the end of the chapter); the
loss curve and train/validation accuracies are in ``extra``.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the AdamW is
built (the frozen parameters included, as the optimizer gets them all), ``monitor.step(loss)`` right after
``loss.backward()`` in ``train_classifier_simple``, before ``optimizer.step()``; ``monitor.close()`` after training.

``CASES`` (name prefix ``llmcls``): the program on seeds 1-3 and one change each against the same seed's healthy
run: AdamW lr x10, x100 (seeds 1 and 2), x1000, /1000; ``optimizer.zero_grad()`` left out; N(0, 1) on the new
head's weight (seeds 1 and 2); a softmax on the last token's logits before ``cross_entropy``; the head replaced
before the freezing loop, so the new head is frozen too (the block and norm still learn); every transformer block
unfrozen (a sane alternative: the chapter's "train all layers" option); only the head trainable (the chapter's
other option).  No clipping case: chapter 6's loop does not clip.  Labels come from run.py's outcome rules only.
Recorded (cases-public33; 15 cases in ~260 s, 11-23 s a run; 1300 steps a run, vocab 666, padded length 22, 1045
training and 300 test messages): healthy test accuracy 0.963, 0.953, 0.977 on seeds 1-3 (untrained 0.547/0.547/0.453;
training loss 0.70 -> 0.02-0.08).  Broken: lr x1000 (0.05): 0.743 (losses up to 4.8); lr /1000: 0.547 (the untrained
value).  Healthy: lr x10 (0.987), lr x100 on seed 2 (0.947), no zero_grad (0.980; AdamW normalizes the accumulated
gradient, largest loss 1.54), softmax before cross_entropy (0.960, loss only down to 0.35-0.48, the softmax-bounded
floor), the head frozen at its random init (0.970: the unfrozen last block learns to fit the random head), every
block unfrozen (0.973).  Ambiguous: lr x100 on seed 1 (0.980, but its largest loss 1.82 is over twice the control's
0.86), N(0, 1) on the head's weight (0.960 and 0.977, but first losses 4.2 against 0.7-0.8), only the head trainable
(0.637: a linear head on frozen random features learns little in 10 epochs at 5e-5).
"""

from __future__ import annotations

import random
import re
import time

import numpy as np
import torch
from llmscratch import GPTModel
from torch.utils.data import DataLoader, Dataset

import gradmedic

ARCH = "gpt"
MONITOR_AT = ("watch(model, optimizer, every=10) right after the AdamW is built (most parameters frozen); "
              "monitor.step(loss) right after loss.backward() in train_classifier_simple, before optimizer.step()")
NUM_EPOCHS = 10  # 5 upstream, from GPT-2's weights (see the docstring)

# ---- the synthetic SMS text (stands in for the SMS Spam Collection) -------------------------------------------------
_HAM_OPEN = ["hey", "hi", "ok", "sorry", "yeah", "lol", "hello", "morning", "hmm", "oh", "haha", "dear", ""]
_HAM_BODY = [
    "are we still on for dinner tonight", "i'll call you later when i get home", "can you pick up some milk on the way",
    "running a bit late , be there in {n} mins", "did you see the game last night", "what time does the movie start",
    "i'm at the library , text me when you're done", "mum says thanks for the flowers", "are you free this weekend",
    "let me know if you want to grab lunch tomorrow", "i left my keys at your place", "happy birthday ! have a great day",
    "just got to work , so tired", "how was the exam", "we won the match today !", "see you at the station at {t}",
    "can you send me the notes from class", "my phone is almost dead , call you back", "i'll be home by {t}",
    "don't forget the meeting at {t}", "thanks for yesterday , it was fun", "where are you guys", "feeling much better now",
    "is it ok if i bring a friend", "the bus is stuck in traffic", "good luck with the interview",
    "i'm cooking pasta , want some", "call me when you can", "did you get my last message", "no worries , take your time",
    "we need to book the tickets soon", "that film was so good", "i'll text you the address", "going to bed now , night",
]
_HAM_CLOSE = ["", "", "x", "xx", ":)", "love you", "cheers", "thanks", "k", "see ya"]
_SPAM_OPEN = ["urgent !", "congratulations !", "free msg :", "winner !", "important :", "final notice :", "", "",
              "hey !", "private !"]
_SPAM_BODY = [
    "you have won a {p} prize , call {num} to claim", "your mobile number has been selected for a cash award of {p}",
    "claim your free ringtone now , text {w} to {num}", "you are awarded a {p} bonus , reply {w} to collect",
    "your account will be suspended , verify at {url}", "win a brand new phone ! txt {w} to {num} now",
    "get {n} % off all orders today only at {url}", "you have been chosen for a free holiday , call {num}",
    "double your minutes and texts for free , reply {w}", "last chance to claim your {p} reward , call {num}",
    "hot singles in your area , text {w} to {num}", "your parcel is waiting , pay the fee at {url}",
    "lowest rates on loans guaranteed , apply at {url}", "you won the weekly draw ! claim {p} now on {num}",
    "free entry in our weekly competition , txt {w} to {num}", "earn {p} a week from home , visit {url}",
]
_SPAM_CLOSE = ["", "t&c apply", "stop to opt out", "18+ only", "cost 150p/msg", "reply stop to end", "std rates apply",
               "offer ends today"]


def make_sms(seed=123, n_ham=1300, n_spam=747):
    """A synthetic SMS collection: (label, text) pairs, label "ham" or "spam"."""
    rnd = random.Random(seed)

    def fill(s):
        return s.format(n=rnd.randint(5, 60), t=f"{rnd.randint(1, 12)}{rnd.choice(['pm', 'am', ''])}",
                        p=rnd.choice(["£1000", "£500", "£2000", "$900", "£250", "£5000"]),
                        num=str(rnd.randint(80000, 89999)), w=rnd.choice(["win", "yes", "go", "claim", "prize"]),
                        url=rnd.choice(["www.win-now.com", "www.claim4u.co.uk", "bit.ly/xq2", "www.cashprize.net"]))

    rows = []
    for _ in range(n_ham):
        parts = [rnd.choice(_HAM_OPEN), fill(rnd.choice(_HAM_BODY))]
        if rnd.random() < 0.4:
            parts.append(fill(rnd.choice(_HAM_BODY)))
        parts.append(rnd.choice(_HAM_CLOSE))
        if rnd.random() < 0.08:  # ham that borrows spam words
            parts.insert(1, rnd.choice(["free", "win", "call now", "prize", "txt me"]))
        rows.append(("ham", " ".join(p for p in parts if p)))
    for _ in range(n_spam):
        parts = [rnd.choice(_SPAM_OPEN), fill(rnd.choice(_SPAM_BODY)), rnd.choice(_SPAM_CLOSE)]
        if rnd.random() < 0.15:  # spam that opens casually
            parts[0] = rnd.choice(_HAM_OPEN + ["sorry to bother you", "hi there"])
        rows.append(("spam", " ".join(p for p in parts if p)))
    rnd.shuffle(rows)
    return rows


class WordTokenizer:
    """Stands in for tiktoken.get_encoding("gpt2"): lowercase words and punctuation, <|endoftext|> last."""
    def __init__(self, texts):
        words = sorted({w for t in texts for w in self.split(t)})
        self.stoi = {w: i for i, w in enumerate(words)}
        self.stoi["<|endoftext|>"] = len(words)
        self.itos = {i: w for w, i in self.stoi.items()}
        self.n_vocab = len(self.stoi)
        self.eot_token = self.stoi["<|endoftext|>"]

    @staticmethod
    def split(text):
        return re.findall(r"[\w£$%&+/.:'-]+|[^\w\s]", text.lower())

    def encode(self, text):
        return [self.stoi[w] for w in self.split(text)]

    def decode(self, ids):
        return " ".join(self.itos[i] for i in ids)


class _Frame:
    """A tiny stand-in for the pandas DataFrame the chapter passes around (columns Label and Text)."""
    def __init__(self, rows): self.rows = list(rows)
    def __len__(self): return len(self.rows)


# ---- gpt_class_finetune.py ------------------------------------------------------------------------------------------
def create_balanced_dataset(df, random_state=123):
    # Count the instances of "spam"
    spam = [r for r in df.rows if r[0] == "spam"]
    num_spam = len(spam)

    # Randomly sample "ham" instances to match the number of "spam" instances
    ham = [r for r in df.rows if r[0] == "ham"]
    ham_subset = random.Random(random_state).sample(ham, num_spam)

    # Combine ham "subset" with "spam"
    return _Frame(ham_subset + spam)


def random_split(df, train_frac, validation_frac, random_state=123):
    # Shuffle the entire DataFrame
    rows = list(df.rows)
    random.Random(random_state).shuffle(rows)

    # Calculate split indices
    train_end = int(len(rows) * train_frac)
    validation_end = train_end + int(len(rows) * validation_frac)

    # Split the DataFrame
    train_df = _Frame(rows[:train_end])
    validation_df = _Frame(rows[train_end:validation_end])
    test_df = _Frame(rows[validation_end:])

    return train_df, validation_df, test_df


class SpamDataset(Dataset):
    def __init__(self, data, tokenizer, max_length=None, pad_token_id=50256):
        self.data = data  # pd.read_csv(csv_file) upstream

        # Pre-tokenize texts
        self.encoded_texts = [
            tokenizer.encode(text) for _, text in self.data.rows
        ]

        if max_length is None:
            self.max_length = self._longest_encoded_length()
        else:
            self.max_length = max_length
            # Truncate sequences if they are longer than max_length
            self.encoded_texts = [
                encoded_text[:self.max_length]
                for encoded_text in self.encoded_texts
            ]

        # Pad sequences to the longest sequence
        self.encoded_texts = [
            encoded_text + [pad_token_id] * (self.max_length - len(encoded_text))
            for encoded_text in self.encoded_texts
        ]

    def __getitem__(self, index):
        encoded = self.encoded_texts[index]
        label = {"ham": 0, "spam": 1}[self.data.rows[index][0]]  # balanced_df["Label"].map({"ham": 0, "spam": 1})
        return (
            torch.tensor(encoded, dtype=torch.long),
            torch.tensor(label, dtype=torch.long)
        )

    def __len__(self):
        return len(self.data)

    def _longest_encoded_length(self):
        max_length = 0
        for encoded_text in self.encoded_texts:
            encoded_length = len(encoded_text)
            if encoded_length > max_length:
                max_length = encoded_length
        return max_length


def calc_accuracy_loader(data_loader, model, device, num_batches=None):
    model.eval()
    correct_predictions, num_examples = 0, 0

    if num_batches is None:
        num_batches = len(data_loader)
    else:
        num_batches = min(num_batches, len(data_loader))
    for i, (input_batch, target_batch) in enumerate(data_loader):
        if i < num_batches:
            input_batch, target_batch = input_batch.to(device), target_batch.to(device)

            with torch.no_grad():
                logits = model(input_batch)[:, -1, :]  # Logits of last output token
            predicted_labels = torch.argmax(logits, dim=-1)

            num_examples += predicted_labels.shape[0]
            correct_predictions += (predicted_labels == target_batch).sum().item()
        else:
            break
    return correct_predictions / num_examples


def calc_loss_batch(input_batch, target_batch, model, device, softmax=False):
    input_batch, target_batch = input_batch.to(device), target_batch.to(device)
    logits = model(input_batch)[:, -1, :]  # Logits of last output token
    if softmax:  # the bug: probabilities where cross_entropy expects logits
        logits = torch.softmax(logits, dim=-1)
    loss = torch.nn.functional.cross_entropy(logits, target_batch)
    return loss


def calc_loss_loader(data_loader, model, device, num_batches=None):
    total_loss = 0.
    if len(data_loader) == 0:
        return float("nan")
    elif num_batches is None:
        num_batches = len(data_loader)
    else:
        # Reduce the number of batches to match the total number of batches in the data loader
        # if num_batches exceeds the number of batches in the data loader
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


def train_classifier_simple(model, train_loader, val_loader, optimizer, device, num_epochs,
                            eval_freq, eval_iter, monitor=None, step_losses=None, zero_grad=True, softmax=False,
                            verbose=False):
    # Initialize lists to track losses and tokens seen
    train_losses, val_losses, train_accs, val_accs = [], [], [], []
    examples_seen, global_step = 0, -1

    # Main training loop
    for epoch in range(num_epochs):
        model.train()  # Set model to training mode

        for input_batch, target_batch in train_loader:
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()  # Reset loss gradients from previous batch iteration
            loss = calc_loss_batch(input_batch, target_batch, model, device, softmax=softmax)
            loss.backward()  # Calculate loss gradients
            monitor.step(loss)  # gradmedic
            optimizer.step()  # Update model weights using loss gradients
            step_losses.append(loss.item())
            examples_seen += input_batch.shape[0]  # New: track examples instead of tokens
            global_step += 1

            # Optional evaluation step
            if global_step % eval_freq == 0:
                train_loss, val_loss = evaluate_model(
                    model, train_loader, val_loader, device, eval_iter)
                train_losses.append(train_loss)
                val_losses.append(val_loss)
                if verbose:
                    print(f"Ep {epoch+1} (Step {global_step:06d}): "
                          f"Train loss {train_loss:.3f}, Val loss {val_loss:.3f}")

        # Calculate accuracy after each epoch
        train_accuracy = calc_accuracy_loader(train_loader, model, device, num_batches=eval_iter)
        val_accuracy = calc_accuracy_loader(val_loader, model, device, num_batches=eval_iter)
        if verbose:
            print(f"Training accuracy: {train_accuracy*100:.2f}% | ", end="")
            print(f"Validation accuracy: {val_accuracy*100:.2f}%")
        train_accs.append(train_accuracy)
        val_accs.append(val_accuracy)

    return train_losses, val_losses, train_accs, val_accs, examples_seen


def train(seed: int = 1, lr_mult: float = 1.0, zero_grad: bool = True, head_std: float | None = None,
          softmax: bool = False, trainable: str = "last", num_epochs: int | None = None, every: int = 10,
          verbose: bool = False) -> dict:
    """``head_std``: normal_(0, head_std) on the new out_head's weight.  ``trainable``: "last" (the chapter's last
    block + final_norm + head), "all" (every block unfrozen too), "head" (only the new head), "frozen_head" (the head
    replaced before the freezing loop: last block + final_norm learn, the head stays at its random init)."""
    torch.set_num_threads(1)
    device = torch.device("cpu")
    df = _Frame(make_sms())
    balanced_df = create_balanced_dataset(df)
    train_df, validation_df, test_df = random_split(balanced_df, 0.7, 0.1)
    tokenizer = WordTokenizer([t for _, t in df.rows])
    pad = tokenizer.eot_token  # 50256 for GPT-2's BPE

    train_dataset = SpamDataset(train_df, max_length=None, tokenizer=tokenizer, pad_token_id=pad)
    val_dataset = SpamDataset(validation_df, max_length=train_dataset.max_length, tokenizer=tokenizer,
                              pad_token_id=pad)
    test_dataset = SpamDataset(test_df, max_length=train_dataset.max_length, tokenizer=tokenizer, pad_token_id=pad)

    num_workers = 0
    batch_size = 8
    torch.manual_seed(seed)  # 123 upstream
    train_loader = DataLoader(dataset=train_dataset, batch_size=batch_size, shuffle=True, num_workers=num_workers,
                              drop_last=True)
    val_loader = DataLoader(dataset=val_dataset, batch_size=batch_size, num_workers=num_workers, drop_last=False)
    test_loader = DataLoader(dataset=test_dataset, batch_size=batch_size, num_workers=num_workers, drop_last=False)

    BASE_CONFIG = {
        "vocab_size": tokenizer.n_vocab,  # 50257 upstream
        "context_length": 64,             # 1024
        "drop_rate": 0.0,                 # Dropout rate
        "qkv_bias": True,                 # Query-key-value bias
        "emb_dim": 64, "n_layers": 2, "n_heads": 4,  # gpt2-small (124M): 768, 12, 12
    }
    assert train_dataset.max_length <= BASE_CONFIG["context_length"], train_dataset.max_length
    model = GPTModel(BASE_CONFIG)  # random weights: no download_and_load_gpt2 / load_weights_into_gpt
    model.eval()

    num_classes = 2
    if trainable == "frozen_head":  # the bug: the head replaced before the freezing loop, so it is frozen too
        torch.manual_seed(seed)
        model.out_head = torch.nn.Linear(in_features=BASE_CONFIG["emb_dim"], out_features=num_classes)
    for param in model.parameters():
        param.requires_grad = False
    if trainable != "frozen_head":
        torch.manual_seed(seed)
        model.out_head = torch.nn.Linear(in_features=BASE_CONFIG["emb_dim"], out_features=num_classes)
    if head_std is not None:  # the bug: N(0, head_std) on the new head's weight
        torch.nn.init.normal_(model.out_head.weight, 0.0, head_std)
    model.to(device)
    if trainable != "head":
        for param in model.trf_blocks[-1].parameters():
            param.requires_grad = True
        for param in model.final_norm.parameters():
            param.requires_grad = True
    if trainable == "all":  # the chapter's option of training every layer
        for param in model.trf_blocks.parameters():
            param.requires_grad = True

    torch.manual_seed(seed)
    lr = 5e-5 * lr_mult
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.1)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    with torch.no_grad():
        initial_test_acc = calc_accuracy_loader(test_loader, model, device)
    losses: list[float] = []
    num_epochs = NUM_EPOCHS if num_epochs is None else num_epochs
    t0 = time.time()
    train_losses, val_losses, train_accs, val_accs, examples_seen = train_classifier_simple(
        model, train_loader, val_loader, optimizer, device,
        num_epochs=num_epochs, eval_freq=50, eval_iter=5,
        monitor=monitor, step_losses=losses, zero_grad=zero_grad, softmax=softmax, verbose=verbose,
    )
    monitor.close()
    test_accuracy = calc_accuracy_loader(test_loader, model, device)
    if verbose:
        print(f"Test accuracy: {test_accuracy*100:.2f}%  (untrained {initial_test_acc*100:.2f}%)")
    finite = [v for v in losses if np.isfinite(v)]
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(test_accuracy), "chance": 0.5,
            "initial": float(initial_test_acc), "initial_what": "test accuracy of the untrained classifier",
            "extra": {"train_acc": train_accs[-1], "val_acc": val_accs[-1], "eval_val_loss": val_losses[-1],
                      "train_loss": float(np.mean(losses[-20:])), "initial_loss": float(np.mean(losses[:5])),
                      "max_loss": float(max(finite)) if finite else float("nan"), "steps": len(losses),
                      "vocab_size": tokenizer.n_vocab, "max_length": train_dataset.max_length, "lr": lr,
                      "n_train": len(train_dataset), "n_test": len(test_dataset)},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="llmcls", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"llmcls_healthy_s{s}", "healthy", s, {}, "unchanged (GPTModel emb 64, 4 heads, 2 layers, random weights, "
           "frozen but for the last block, final_norm and a new Linear(64, 2) head; AdamW lr 5e-5, weight_decay 0.1; "
           "batch 8; 10 epochs)", False) for s in (1, 2, 3)]
    + [_case(f"llmcls_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"AdamW lr x{k} ({5e-5 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("llmcls_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, "AdamW lr /1000 (5e-08)")]
    + [_case("llmcls_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             "optimizer.zero_grad() left out of train_classifier_simple: the gradients accumulate")]
    + [_case(f"llmcls_head_std1_s{s}", "init_large", s, {"head_std": 1.0},
             "nn.init.normal_(std=1.0) on the new out_head's weight (default: uniform +-1/8)") for s in (1, 2)]
    + [_case("llmcls_softmax_ce_s1", "wrong_loss", 1, {"softmax": True},
             "torch.softmax on the last token's logits before cross_entropy (probabilities where logits are "
             "expected)")]
    + [_case("llmcls_frozen_head_s1", "no_gradient", 1, {"trainable": "frozen_head"},
             "model.out_head replaced before the requires_grad=False loop: the new head is frozen at its random "
             "init (the last block and final_norm still learn)")]
    + [_case("llmcls_all_blocks_s1", "healthy", 1, {"trainable": "all"},
             "every transformer block unfrozen (the chapter's option of training all layers)")]
    + [_case("llmcls_head_only_s1", "healthy", 1, {"trainable": "head"},
             "only the new out_head trainable (last block and final_norm stay frozen)")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = v
    for k in ("lr_mult", "head_std"):
        if k in kw:
            kw[k] = float(kw[k])
    for k in ("seed", "num_epochs"):
        if k in kw:
            kw[k] = int(kw[k])
    for k in ("zero_grad", "softmax"):
        if k in kw:
            kw[k] = kw[k] == "1"
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
