"""Hugging Face ``transformers`` Trainer training a tiny GPT-2 from scratch as a causal LM, watched by gradmedic.

Modelled on the transformers causal language modelling example (https://github.com/huggingface/transformers,
examples/pytorch/language-modeling/run_clm.py; Apache-2.0), run with the installed transformers (5.24.0 when
recorded).  Kept as in the example: a ``GPT2LMHeadModel`` built from a config (run_clm's ``--config_name`` /
``--model_type gpt2`` path: training from scratch, ``set_seed(training_args.seed)`` before the model is made),
the text as a "text" dataset (one example per line, ``keep_linebreaks``) split by
``validation_split_percentage`` 5 (validation the first 5% of the lines, training the rest), ``tokenize_function``
then ``group_texts`` applied in batches of 1000 lines as ``datasets.map(batched=True)`` does (each batch
concatenated, the remainder under ``block_size`` dropped, ``labels`` a copy of ``input_ids``), ``block_size`` =
``min(1024, n_positions)``, ``default_data_collator``, ``Trainer`` + ``TrainingArguments`` with their defaults
(AdamW torch, betas (0.9, 0.999), linear decay to 0, no warmup, weight decay 0, ``max_grad_norm`` 1.0,
per-device batch 8, 3 epochs), ``preprocess_logits_for_metrics`` (argmax) and ``compute_metrics`` (next-token
accuracy of ``preds[:, :-1]`` against ``labels[:, 1:]``), ``trainer.train()`` then ``trainer.evaluate()`` with
``perplexity = exp(eval_loss)``.

Changed to run offline on one CPU thread: no hub download and no ``datasets``; the model is built from a small
``GPT2Config`` (n_layer 2, n_embd 64, n_head 2, n_positions 64, vocab the text's characters; other fields GPT-2's
defaults: GELU, dropout 0.1, ``initializer_range`` 0.02, tied ``lm_head``); the "tokenizer" is character-level
(every character of the text an id; run_clm's GPT-2 BPE would need a download); the text is the first
96,000 characters of the standard library's docstrings (shipped_text.py) instead of a hub dataset: 2914 lines
(145 for validation), 1415 training blocks of 64 characters (3 epochs of 177 steps: 531 optimizer steps) and 83
validation blocks.  The example's default rate 5e-5 (meant for fine-tuning a pretrained GPT-2) takes a model
trained from scratch only from 4.46 to 3.53 in 531 steps (not under 0.7x its start), so the learning rate is
2e-3 (documented choice: seed 1 goes from 4.2 (mean of the first 5 steps; chance ln(96) = 4.56) to 2.09 in
training loss, eval loss 2.88 on the validation lines, which come from other modules).  No fp16 case:
``TrainingArguments(fp16=True, use_cpu=True)`` is accepted but on CPU the run is the same as without it (the
same losses to the last digit: no autocast, no GradScaler).  ``report_to`` none, no checkpoints, ``use_cpu``,
tqdm off, ``logging_steps`` 10.

The watch, exactly as hfbert.py does: ``Trainer(..., callbacks=[GradmedicCallback(every=10, flush_every=50,
print_diagnosis=False)])`` (statistics in ``on_pre_optimizer_step``: after the Trainer's clipping, before
``optimizer.step()``; the pre-clip norm from the Trainer's ``grad_norm`` logs); the monitor is
``callback.monitor``.  The callback computes no diagnosis unless its ``diagnosis`` is read, and with
``print_diagnosis=False`` nobody reads it: the corpus is a held-out test set, and the doctor is never run while
recording it.

Metric: the training loss (the model output's loss recorded by the callback each step), mean of the last 20
steps against the mean of the first 5; eval loss, perplexity and accuracy in ``extra``.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the
same seed's healthy run: learning_rate x10, x100, x1000 and /1000, ``initializer_range=1.0``, ``nn.init.zeros_``
on every block's MLP ``c_fc`` (weight and bias), ``max_grad_norm=0`` at the default rate, and a run with
``gradient_accumulation_steps=4`` (cause "healthy", against the same seed's run).
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import tempfile
import time
import warnings

import numpy as np
import torch
from shipped_text import stdlib_docstrings

ARCH = "gpt"
MONITOR_AT = ("Trainer(callbacks=[GradmedicCallback(every=10, print_diagnosis=False)]): statistics in "
              "on_pre_optimizer_step, after the Trainer's clip_grad_norm_(max_grad_norm) and before optimizer.step(); "
              "loss from the model output's loss (forward hook); the pre-clip norm from the logged grad_norm "
              "(logging_steps 10)")

N_CHARS, BLOCK = 96_000, 64


def make_data(block_size: int = BLOCK):
    """run_clm's text dataset, validation split, char-level tokenize_function and group_texts (batches of 1000 lines)."""
    from itertools import chain

    text = stdlib_docstrings()[:N_CHARS]
    chars = sorted(set(stdlib_docstrings()))
    stoi = {c: i for i, c in enumerate(chars)}
    lines = text.splitlines(keepends=True)  # the "text" builder with keep_linebreaks=True
    n_val = len(lines) * 5 // 100  # train[:5%] / train[5%:]
    splits = {"validation": lines[:n_val], "train": lines[n_val:]}

    def tokenize_function(examples):
        ids = [[stoi[c] for c in t] for t in examples["text"]]
        return {"input_ids": ids, "attention_mask": [[1] * len(x) for x in ids]}

    def group_texts(examples):
        # Concatenate all texts.
        concatenated_examples = {k: list(chain(*examples[k])) for k in examples.keys()}
        total_length = len(concatenated_examples[list(examples.keys())[0]])
        # We drop the small remainder, we could add padding if the model supported it instead of this drop, you can
        # customize this part to your needs.
        if total_length >= block_size:
            total_length = (total_length // block_size) * block_size
        # Split by chunks of max_len.
        result = {
            k: [t[i: i + block_size] for i in range(0, total_length, block_size)]
            for k, t in concatenated_examples.items()
        }
        result["labels"] = result["input_ids"].copy()
        return result

    out = {}
    for name, ls in splits.items():
        rows = []
        for i in range(0, len(ls), 1000):  # datasets.map(batched=True): batches of 1000 examples
            g = group_texts(tokenize_function({"text": ls[i:i + 1000]}))
            rows += [{k: torch.tensor(g[k][j]) for k in g} for j in range(len(g["input_ids"]))]
        out[name] = rows
    return out["train"], out["validation"], len(chars)


def train(seed: int = 1, lr: float = 2e-3, lr_mult: float = 1.0, max_grad_norm: float = 1.0,
          initializer_range: float = 0.02, zero_layer: str | None = None, gradient_accumulation_steps: int = 1,
          epochs: int = 3, every: int = 10, verbose: bool = False) -> dict:
    import transformers
    from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments, default_data_collator

    from gradmedic.integrations.huggingface import GradmedicCallback

    torch.set_num_threads(1)
    transformers.logging.set_verbosity_error()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    train_ds, eval_ds, vocab = make_data()
    transformers.set_seed(seed)
    config = GPT2Config(vocab_size=vocab, n_positions=BLOCK, n_embd=64, n_layer=2, n_head=2,
                        initializer_range=initializer_range, bos_token_id=0, eos_token_id=0)
    model = GPT2LMHeadModel(config)
    if zero_layer:  # the bug: nn.init.zeros_ on that module of every block (weight and bias)
        for block in model.transformer.h:
            layer = block.get_submodule(zero_layer)
            torch.nn.init.zeros_(layer.weight)
            torch.nn.init.zeros_(layer.bias)

    def preprocess_logits_for_metrics(logits, labels):
        if isinstance(logits, tuple):
            logits = logits[0]
        return logits.argmax(dim=-1)

    def compute_metrics(eval_preds):
        preds, labels = eval_preds
        labels = labels[:, 1:].reshape(-1)
        preds = preds[:, :-1].reshape(-1)
        return {"accuracy": float((preds == labels).astype(np.float32).mean())}

    cb = GradmedicCallback(every=every, flush_every=50, print_diagnosis=False)
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(output_dir=tmp, learning_rate=lr * lr_mult, num_train_epochs=epochs,
                                 max_grad_norm=max_grad_norm, gradient_accumulation_steps=gradient_accumulation_steps,
                                 logging_steps=10, report_to=[], save_strategy="no", use_cpu=True, disable_tqdm=True,
                                 dataloader_num_workers=0, seed=seed)
        trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,
                          data_collator=default_data_collator, compute_metrics=compute_metrics,
                          preprocess_logits_for_metrics=preprocess_logits_for_metrics, callbacks=[cb])
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()) as out:
            warnings.simplefilter("ignore")
            trainer.train()
            metrics = trainer.evaluate()
        if verbose:
            print(out.getvalue()[-2000:])
            for r in trainer.state.log_history:
                if "loss" in r and r["step"] % 50 == 0:
                    print(r)
    loss = np.asarray(cb.monitor.history.loss, dtype=float)
    eval_loss = float(metrics["eval_loss"])
    value = float(np.mean(loss[-20:])) if len(loss) >= 20 and np.isfinite(loss[-20:]).all() else float("nan")
    return {"monitors": {"": cb.monitor}, "metric": "train_loss", "value": value, "initial": float(np.mean(loss[:5])),
            "chance": math.log(vocab),
            "initial_what": "untrained: mean training loss of the first 5 steps (chance ln(vocab))",
            "extra": {"eval_loss": eval_loss, "perplexity": math.exp(eval_loss) if eval_loss < 700 else float("inf"),
                      "eval_accuracy": float(metrics["eval_accuracy"]), "steps": int(trainer.state.global_step),
                      "train_blocks": len(train_ds), "eval_blocks": len(eval_ds), "vocab_size": vocab,
                      "lr": lr * lr_mult, "max_grad_norm": max_grad_norm},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="hfgpt2", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"hfgpt_healthy_s{s}", "healthy", s, {}, "unchanged (Trainer defaults: AdamW lr 2e-3 linear decay, "
           "max_grad_norm 1.0, batch 8, initializer_range 0.02; 3 epochs of 177 steps)", False) for s in (1, 2, 3)]
    + [_case(f"hfgpt_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"learning_rate x{k} ({2e-3 * k:g})")
       for k, ss in ((10, (1, 2)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case(f"hfgpt_lr_div1000_s{s}", "lr_low", s, {"lr_mult": 1e-3}, "learning_rate /1000 (2e-06)") for s in (1, 2)]
    + [_case(f"hfgpt_no_clip_s{s}", "no_clipping", s, {"max_grad_norm": 0.0},
             "max_grad_norm=0 (no clipping) at the default learning_rate 2e-3") for s in (1,)]
    + [_case(f"hfgpt_init_std1_s{s}", "init_large", s, {"initializer_range": 1.0},
             "GPT2Config(initializer_range=1.0) instead of 0.02 (every Linear/Conv1D and Embedding weight ~ N(0, 1); "
             "c_proj's scaled init 1/sqrt(2 n_layer))") for s in (1, 2)]
    + [_case(f"hfgpt_zero_cfc_s{s}", "symmetric_init", s, {"zero_layer": "mlp.c_fc"},
             "nn.init.zeros_ on every block's mlp.c_fc weight and bias") for s in (1,)]
    + [_case("hfgpt_accum4_s1", "healthy", 1, {"gradient_accumulation_steps": 4},
             "gradient_accumulation_steps=4 (4 micro-batches of 8 per optimizer step: 3 epochs of 44-45 steps)")]
)


if __name__ == "__main__":
    import sys
    r = train(verbose=True, **({"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}))
    print({k: v for k, v in r.items() if k != "monitors"})
