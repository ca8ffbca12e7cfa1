"""Hugging Face ``transformers``' run_ner_no_trainer.py: a tiny BERT token classifier (NER, BIO tags) trained by
the example's own loop under ``accelerate``, watched by gradmedic.

Followed: https://github.com/huggingface/transformers, examples/pytorch/token-classification/run_ner_no_trainer.py
at commit 01080c629600d4ff3121446bb4f4a2e240c2cf41 (``check_min_version("4.51.0.dev0")``; Apache-2.0, see
LICENSE-hfner), run with the installed transformers (5.24.0) and accelerate (1.15.0).  Kept as in the example:
``Accelerator()``, ``set_seed(args.seed)`` (accelerate's) before the model is made, ``get_label_list`` (the sorted
set of string tags) and ``label_to_id``, ``config.label2id``/``id2label``, ``AutoModelForTokenClassification``
(the from-scratch path, ``from_config``: a ``BertForTokenClassification`` with BERT's own init,
``initializer_range`` 0.02, dropout 0.1), ``tokenize_and_align_labels`` (``is_split_into_words=True``,
``truncation``, ``max_length`` 128, labels from ``word_ids()``: -100 on special tokens and on a word's later
sub-tokens, ``label_all_tokens`` False), ``DataCollatorForTokenClassification`` (dynamic padding, labels padded
with -100), the shuffled training ``DataLoader`` and the eval ``DataLoader`` with batch 8 (the per-device
defaults), the optimizer's two groups (``no_decay = ["bias", "LayerNorm.weight"]``, ``weight_decay`` 0.0, the
default) in ``torch.optim.AdamW``, ``get_scheduler("linear", num_warmup_steps=0, num_training_steps=max_train_steps)``
with ``max_train_steps = num_train_epochs * ceil(len(train_dataloader) / gradient_accumulation_steps)``,
``gradient_accumulation_steps`` 1, ``accelerator.prepare(model, optimizer, train_dataloader, eval_dataloader,
lr_scheduler)``, 3 epochs, the loop as at this commit (``outputs = model(**batch)``, ``loss = outputs.loss``,
``loss = loss / gradient_accumulation_steps``, ``accelerator.backward(loss)``, then ``if step %
gradient_accumulation_steps == 0 or step == len(train_dataloader) - 1``: ``optimizer.step()``,
``lr_scheduler.step()``, ``optimizer.zero_grad()``; no clipping), and the eval after every epoch (``model.eval()``,
``torch.no_grad()``, ``logits.argmax(-1)``, ``pad_across_processes``/``gather``, ``get_labels`` dropping the -100
positions).

Changed to run offline on one CPU thread in 10-25 s: no hub download and no ``datasets``/``evaluate``; the config
is a small ``BertConfig`` (hidden 64, 2 layers, 2 heads, intermediate 128, max_position_embeddings 64, vocab the
corpus's: the example needs a pretrained model and tokenizer, a download).  The tokenizer is built here with the
``tokenizers`` library and wrapped in ``PreTrainedTokenizerFast`` (the example refuses to build one from scratch):
whitespace pre-tokenizer, a WordPiece model whose vocabulary holds every corpus word of up to 6 characters whole
and longer words as their first 5 characters plus ``##`` and the rest (so long names split into two sub-tokens and
the -100 on later sub-tokens matters), ``[CLS] ... [SEP]`` added by a ``TemplateProcessing`` post-processor.  The
data is a synthetic NER corpus (CoNLL-style tags B-/I-PER, LOC, ORG and O): sentences from 16 templates filled with
person, location and organisation names (one or two words) from small lists, 1000 training sentences (3 epochs of
125 steps: 375 optimizer steps) and 300 held-out sentences, generated from a ``random.Random`` seeded with a fixed
0 (the same corpus for every run).  The metric is seqeval's token ``overall_accuracy`` computed by hand (the share
of labelled positions, i.e. each word's first sub-token, whose predicted tag is right; no ``evaluate`` download);
the entity-level exact-match F1 is in ``extra``.  The learning rate: the example's default 5e-5 is meant for
fine-tuning a pretrained checkpoint; this model trained from scratch needs more, so it is 1e-3 (documented choice,
as hfaccel.py's 2e-3).  No tracking, checkpointing, output_dir, tqdm or hub push.  One extra pass of the eval loop
before training gives the untrained model's accuracy (the reference).

The watch: ``gradmedic.watch(model, optimizer, every=10)`` on the prepared model and the prepared optimizer
(accelerate's ``AcceleratedOptimizer`` wrapping the AdamW), ``monitor.step(loss)`` right after
``accelerator.backward(loss)``, before the ``optimizer.step()`` block.

Metric: held-out token accuracy, always against the correctly aligned held-out labels (for the misaligned-labels
variant the example's own eval would score the same misaligned labels; that number is in ``extra``).

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the same
seed's healthy run: learning rate x10, x100 (seeds 1 and 2), x1000 and /1000; labels not aligned (cause
"wrong_loss", as hfaccel.py files its shifted labels: the benchmark has no data-pipeline cause): every position
labelled, [CLS]/[SEP] as O instead of -100, later sub-tokens with their word's tag, and the tags written from
position 0 as if there were no [CLS] (each token trained on the next token's tag, the common off-by-one); the
classifier head's weight drawn N(0, 10) instead of N(0, 0.02) (seeds 1 and 2); ``weight_decay`` 10 (cause
"init_small", as cifarnet.py's and bilstmcrf.py's weight-decay cases: the weights pulled toward zero); the
scheduler stepped 100 times per optimizer step (the linear rate reaches 0 after 1% of training; cause "lr_low", as
pttextcls.py's per-step scheduler).  No clipping case (the example does not clip), no raw-input case (token ids).

Recorded (cases-public27, 235 s for the 13 cases, 13-27 s each on two CPU cores shared with other jobs; 375 steps,
vocab 150, 7 tags, all-O accuracy 0.609): healthy held-out token accuracy 1.000 on seeds 1-3 (entity F1 1.0; training
loss 1.78 -> 0.013; the corpus is easy: the held-out sentences reuse the same names and templates); lr x10 1.000
(healthy); lr x100 0.609 / 0.609 (seeds 1, 2: every token O, F1 0) and x1000 0.609 (training loss 81 at the start),
broken; /1000 0.188 (no progress, broken); misaligned labels 0.559 on the true labels (F1 0.34) though 0.999 on its
own misaligned eval labels (broken); the classifier head N(0, 10) starts at a training loss of 74 / 89 and ends at
1.000 accuracy, but its largest recorded loss is over twice the control's, so ambiguous (seeds 1, 2); weight_decay
10 reaches 1.000 (training loss 0.08; healthy); the scheduler stepped 100 times per step ends at 0.514 (broken).
"""

from __future__ import annotations

import math
import random
import time
import warnings

import numpy as np
import torch
from torch import nn

import gradmedic

ARCH = "transformer"
MONITOR_AT = ("monitor.step(loss) right after accelerator.backward(loss) (loss = model(**batch).loss / "
              "gradient_accumulation_steps, the example's loop without accelerator.accumulate), before the "
              "optimizer.step() / lr_scheduler.step() / optimizer.zero_grad() block; watch(model, optimizer) on the "
              "accelerator-prepared model and AcceleratedOptimizer")

LR = 1e-3
PER = ["Alice Smith", "Bob", "Carlos Mendoza", "Diana", "Elena Petrova", "Frank", "Grace Hopper", "Hiroshi Tanaka",
       "Ingrid", "Jamal Williams", "Katarzyna", "Liam O'Brien", "Mohammed", "Nadia Kowalski", "Oscar", "Priya Raman"]
LOC = ["Paris", "New York", "Berlin", "Tokyo", "Lagos", "Buenos Aires", "Toronto", "Mumbai", "Oslo", "Cape Town",
       "Melbourne", "Cairo", "Lisbon", "Santiago", "Vancouver", "Helsinki"]
ORG = ["Google", "United Nations", "Siemens", "Red Cross", "Toyota", "Reuters", "World Bank", "Nestle", "Microsoft",
       "Oxfam", "Deutsche Bahn", "Unilever", "NASA", "Greenpeace", "Samsung", "Airbus"]
TEMPLATES = [
    "{PER} visited {LOC} last week .", "{PER} works for {ORG} in {LOC} .", "{ORG} opened an office in {LOC} .",
    "yesterday {PER} met {PER} in {LOC} .", "{PER} joined {ORG} after leaving {ORG} .",
    "the mayor of {LOC} thanked {ORG} .", "{ORG} hired {PER} as chief engineer .", "{PER} was born in {LOC} .",
    "according to {ORG} , prices in {LOC} rose sharply .", "{PER} and {PER} founded {ORG} .",
    "a spokesman for {ORG} said {PER} would travel to {LOC} .", "{LOC} is far from {LOC} .",
    "in {LOC} , {PER} spoke about {ORG} .", "{PER} criticised {ORG} on monday .",
    "the report by {ORG} mentions {PER} .", "flights from {LOC} to {LOC} were cancelled .",
]


def make_corpus(n: int, rng: random.Random) -> list[dict]:
    """Sentences as lists of words with their string BIO tags (a CoNLL-style "tokens" / "ner_tags" dataset)."""
    pools = {"PER": PER, "LOC": LOC, "ORG": ORG}
    rows = []
    for _ in range(n):
        words, tags = [], []
        for w in rng.choice(TEMPLATES).split():
            if w.startswith("{"):
                kind = w[1:4]
                parts = rng.choice(pools[kind]).split()
                words += parts
                tags += [f"B-{kind}"] + [f"I-{kind}"] * (len(parts) - 1)
            else:
                words.append(w)
                tags.append("O")
        rows.append({"tokens": words, "ner_tags": tags})
    return rows


def make_tokenizer(rows: list[dict]):
    """A WordPiece tokenizer over the corpus's words: words of up to 6 characters whole, longer ones split into
    their first 5 characters and ``##`` + the rest."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])}
    for w in sorted({w for r in rows for w in r["tokens"]}):
        for piece in ([w] if len(w) <= 6 else [w[:5], "##" + w[5:]]):
            vocab.setdefault(piece, len(vocab))
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]")


def train(seed: int = 1, lr: float = LR, lr_mult: float = 1.0, misaligned_labels: bool = False,
          head_init_std: float | None = None, weight_decay: float = 0.0, sched_steps_per_step: int = 1,
          num_train_epochs: int = 3, n_train: int = 1000, n_eval: int = 300, every: int = 10,
          verbose: bool = False) -> dict:
    import transformers
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState, GradientState
    from accelerate.utils import set_seed
    from torch.utils.data import DataLoader
    from transformers import AutoModelForTokenClassification, BertConfig, DataCollatorForTokenClassification
    from transformers.optimization import get_scheduler

    torch.set_num_threads(1)
    transformers.logging.set_verbosity_error()
    warnings.filterwarnings("ignore")
    AcceleratorState._reset_state(reset_partial_state=True)  # a fresh Accelerator per run (one process, many runs)
    GradientState._reset_state()
    accelerator = Accelerator(cpu=True)
    set_seed(seed)
    gradient_accumulation_steps, max_length, per_device_batch = 1, 128, 8

    data_rng = random.Random(0)
    raw_datasets = {"train": make_corpus(n_train, data_rng), "validation": make_corpus(n_eval, data_rng)}
    tokenizer = make_tokenizer(raw_datasets["train"] + raw_datasets["validation"])

    def get_label_list(labels):
        unique_labels = set()
        for label in labels:
            unique_labels = unique_labels | set(label)
        label_list = list(unique_labels)
        label_list.sort()
        return label_list

    label_list = get_label_list([r["ner_tags"] for r in raw_datasets["train"]])
    label_to_id = {lb: i for i, lb in enumerate(label_list)}
    num_labels = len(label_list)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=128, max_position_embeddings=64, num_labels=num_labels)
    model = AutoModelForTokenClassification.from_config(config)
    if head_init_std is not None:  # the bug: the classifier head drawn N(0, head_init_std)
        nn.init.normal_(model.classifier.weight, 0.0, head_init_std)
    model.config.label2id = {lb: i for i, lb in enumerate(label_list)}
    model.config.id2label = dict(enumerate(label_list))

    def tokenize_and_align_labels(examples, buggy=False):
        tokenized_inputs = tokenizer(examples["tokens"], max_length=max_length, padding=False, truncation=True,
                                     is_split_into_words=True)
        labels = []
        for i, label in enumerate(examples["ner_tags"]):
            word_ids = tokenized_inputs.word_ids(batch_index=i)
            if buggy:  # every position labelled ([CLS]/[SEP] as O, sub-tokens with their word's tag), written
                # from position 0 as if there were no [CLS]: each position gets the next position's tag
                full = [label_to_id["O"] if w is None else label_to_id[label[w]] for w in word_ids]
                labels.append(full[1:] + [label_to_id["O"]])
                continue
            previous_word_idx = None
            label_ids = []
            for word_idx in word_ids:
                # Special tokens have a word id that is None. We set the label to -100 so they are automatically
                # ignored in the loss function.
                if word_idx is None:
                    label_ids.append(-100)
                # We set the label for the first token of each word.
                elif word_idx != previous_word_idx:
                    label_ids.append(label_to_id[label[word_idx]])
                # For the other tokens in a word: -100 (label_all_tokens False)
                else:
                    label_ids.append(-100)
                previous_word_idx = word_idx
            labels.append(label_ids)
        tokenized_inputs["labels"] = labels
        return tokenized_inputs

    def process(rows, buggy=False):
        enc = tokenize_and_align_labels({k: [r[k] for r in rows] for k in ("tokens", "ner_tags")}, buggy)
        return [{k: enc[k][j] for k in ("input_ids", "attention_mask", "labels")}
                for j in range(len(rows))]

    train_dataset = process(raw_datasets["train"], misaligned_labels)
    eval_dataset = process(raw_datasets["validation"])
    data_collator = DataCollatorForTokenClassification(tokenizer, pad_to_multiple_of=None)
    train_dataloader = DataLoader(train_dataset, shuffle=True, collate_fn=data_collator, batch_size=per_device_batch)
    eval_dataloader = DataLoader(eval_dataset, collate_fn=data_collator, batch_size=per_device_batch)
    own_eval_dataloader = DataLoader(process(raw_datasets["validation"], True), collate_fn=data_collator,
                                     batch_size=per_device_batch) if misaligned_labels else None

    # Optimizer
    # Split weights in two groups, one with weight decay and the other not.
    no_decay = ["bias", "LayerNorm.weight"]
    optimizer_grouped_parameters = [
        {
            "params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)],
            "weight_decay": weight_decay,
        },
        {
            "params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)],
            "weight_decay": 0.0,
        },
    ]
    optimizer = torch.optim.AdamW(optimizer_grouped_parameters, lr=lr * lr_mult)

    # Scheduler and math around the number of training steps.
    num_update_steps_per_epoch = math.ceil(len(train_dataloader) / gradient_accumulation_steps)
    max_train_steps = num_train_epochs * num_update_steps_per_epoch
    lr_scheduler = get_scheduler(name="linear", optimizer=optimizer, num_warmup_steps=0,
                                 num_training_steps=max_train_steps)

    # Prepare everything with our `accelerator`.
    model, optimizer, train_dataloader, eval_dataloader, lr_scheduler = accelerator.prepare(
        model, optimizer, train_dataloader, eval_dataloader, lr_scheduler
    )
    monitor = gradmedic.watch(model, optimizer, every=every)

    def evaluate(loader):
        """The example's eval loop with seqeval's overall_accuracy and an exact-match entity F1 by hand."""
        model.eval()
        correct = total = 0
        tp = n_pred = n_true = 0
        for _step, batch in enumerate(loader):
            with torch.no_grad():
                outputs = model(**batch)
            predictions = outputs.logits.argmax(dim=-1)
            labels = batch["labels"]
            predictions = accelerator.pad_across_processes(predictions, dim=1, pad_index=-100)
            labels = accelerator.pad_across_processes(labels, dim=1, pad_index=-100)
            predictions_gathered, labels_gathered = accelerator.gather((predictions, labels))
            y_pred, y_true = predictions_gathered.numpy(), labels_gathered.numpy()
            for pred, gold in zip(y_pred, y_true, strict=True):
                p = [label_list[a] for a, b in zip(pred, gold, strict=True) if b != -100]
                t = [label_list[b] for b in gold if b != -100]
                correct += sum(a == b for a, b in zip(p, t, strict=True))
                total += len(t)
                sp, st = spans(p), spans(t)
                tp += len(sp & st)
                n_pred += len(sp)
                n_true += len(st)
        f1 = 2 * tp / (n_pred + n_true) if n_pred + n_true else 0.0
        return correct / max(total, 1), f1

    t0 = time.time()
    initial, initial_f1 = evaluate(eval_dataloader)  # the untrained model (the reference)
    train_losses, accs, f1s = [], [], []
    completed_steps = 0
    for epoch in range(num_train_epochs):
        model.train()
        for step, batch in enumerate(train_dataloader):
            outputs = model(**batch)
            loss = outputs.loss
            loss = loss / gradient_accumulation_steps
            accelerator.backward(loss)
            monitor.step(loss)  # gradmedic
            if step % gradient_accumulation_steps == 0 or step == len(train_dataloader) - 1:
                optimizer.step()
                for _ in range(sched_steps_per_step):  # 1 in the example; the bug steps it 100 times
                    lr_scheduler.step()
                optimizer.zero_grad()
                completed_steps += 1
            train_losses.append(float(loss.detach()))
            if completed_steps >= max_train_steps:
                break
        acc, f1 = evaluate(eval_dataloader)
        accs.append(acc)
        f1s.append(f1)
        if verbose:
            print(f"epoch {epoch}: accuracy {acc:.4f} f1 {f1:.4f} train {np.mean(train_losses[-50:]):.4f} "
                  f"({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    value = accs[-1]
    counts = np.bincount([label_to_id[t] for r in raw_datasets["validation"] for t in r["ner_tags"]],
                         minlength=num_labels)
    extra = {"accuracy": value, "f1": f1s[-1], "accuracies": accs, "f1s": f1s, "initial_f1": initial_f1,
             "train_loss_final": float(np.mean(train_losses[-20:])),
             "train_loss_initial": float(np.mean(train_losses[:5])), "steps": completed_steps,
             "train_sentences": len(train_dataset), "eval_sentences": len(eval_dataset), "vocab_size": len(tokenizer),
             "labels": label_list, "lr": lr * lr_mult, "weight_decay": weight_decay,
             "all_O_accuracy": float(counts[label_to_id["O"]] / counts.sum())}
    if own_eval_dataloader is not None:  # the example's eval on the same misaligned labels it trained on
        extra["accuracy_on_misaligned_labels"] = evaluate(own_eval_dataloader)[0]
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": value, "initial": initial,
            "chance": float(counts.max() / counts.sum()),
            "initial_what": "untrained: held-out token accuracy of the example's eval loop before training "
                            "(chance: the majority tag O's share)",
            "extra": extra, "seconds": time.time() - t0}


def spans(tags: list[str]) -> set[tuple[int, int, str]]:
    """Entities as (start, end, type) from BIO tags (an I- without its B- starts an entity, as seqeval's default)."""
    out, start, kind = set(), None, None
    for i, t in enumerate(tags + ["O"]):
        if t == "O" or t.startswith("B-") or (t.startswith("I-") and t[2:] != kind):
            if start is not None:
                out.add((start, i, kind))
            start, kind = (i, t[2:]) if t != "O" else (None, None)
    return out


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="hfner", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"hfner_healthy_s{s}", "healthy", s, {}, f"unchanged (accelerate loop: AdamW lr {LR:g} with the no-decay "
           "grouping, weight_decay 0, linear schedule without warmup, no clipping, batch 8; 3 epochs of 125 steps)",
           False) for s in (1, 2, 3)]
    + [_case(f"hfner_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"learning_rate x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("hfner_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"learning_rate /1000 ({LR * 1e-3:g})")]
    + [_case("hfner_misaligned_labels_s1", "wrong_loss", 1, {"misaligned_labels": True},
             "tokenize_and_align_labels replaced by labels on every position ([CLS]/[SEP] O instead of -100, later "
             "sub-tokens with their word's tag) written from position 0 as if there were no [CLS]: each token is "
             "trained on the next token's tag")]
    + [_case(f"hfner_head_init_std10_s{s}", "init_large", s, {"head_init_std": 10.0},
             "nn.init.normal_(model.classifier.weight, 0, 10) instead of BERT's N(0, 0.02) on the token-classification "
             "head") for s in (1, 2)]
    + [_case("hfner_weight_decay10_s1", "init_small", 1, {"weight_decay": 10.0},
             "weight_decay 10 (instead of 0) on the decay group (all but bias/LayerNorm.weight): AdamW shrinks those "
             "weights by lr*10 per step")]
    + [_case("hfner_sched_x100_s1", "lr_low", 1, {"sched_steps_per_step": 100},
             "lr_scheduler.step() called 100 times per optimizer step: the linear rate reaches 0 after 4 of 375 "
             "steps")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
