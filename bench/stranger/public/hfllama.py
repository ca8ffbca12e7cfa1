"""Hugging Face ``transformers`` Trainer training a tiny Llama from scratch as a causal LM, watched by gradmedic.

Modelled on the transformers causal language modelling example (https://github.com/huggingface/transformers,
examples/pytorch/language-modeling/run_clm.py, as at commit 00d481d18f914b55e65faa31e82321629691eadb; Apache-2.0,
see LICENSE-hfllama), run with the installed transformers (5.24.0 when recorded).  Kept as in the example: the
model made from a config (run_clm's from-scratch path, ``AutoModelForCausalLM.from_config`` of a ``LlamaConfig``:
a ``LlamaForCausalLM``, ``set_seed(training_args.seed)`` before it is made), the text as a "text" dataset (one
example per line, ``keep_linebreaks``) split by ``validation_split_percentage`` 5 (validation the first 5% of the
lines, training the rest), ``tokenize_function`` then ``group_texts`` applied in batches of 1000 lines as
``datasets.map(batched=True)`` does (each batch concatenated, the remainder under ``block_size`` dropped,
``labels`` a copy of ``input_ids``), ``--block_size 64`` (``min(block_size, tokenizer.model_max_length)``),
``default_data_collator``, ``Trainer`` + ``TrainingArguments`` with their defaults (AdamW torch (fused), betas
(0.9, 0.999), linear decay to 0, weight decay 0, ``max_grad_norm`` 1.0, per-device batch 8),
``preprocess_logits_for_metrics`` (argmax) and ``compute_metrics`` (next-token accuracy of ``preds[:, :-1]``
against ``labels[:, 1:]``), ``trainer.train()`` then ``trainer.evaluate()`` with ``perplexity = exp(eval_loss)``.
The model is LlamaForCausalLM as transformers has it: RMSNorm (eps 1e-6), RoPE (theta 10000), SwiGLU MLP
(SiLU, no biases), no dropout, untied ``lm_head``, ``_init_weights`` normal(0, ``initializer_range`` 0.02) on
every Linear and Embedding, RMSNorm weights 1.

Changed to run offline on one CPU thread: no hub download and no ``datasets``; the config is small (hidden 64,
2 layers, 4 heads (4 KV heads), intermediate 172, ``max_position_embeddings`` 128, vocab the text's characters:
96, bos/eos id 0); the "tokenizer" is character-level (every character of the text an id; run_clm needs a
pretrained tokenizer, a download); the text is the first 96,000 characters of the standard library's docstrings
(shipped_text.py) instead of a hub dataset: 2914 lines (145 for validation), 1415 training blocks of 64 characters
and 83 validation blocks; 2 epochs of 177 steps (354 optimizer steps) instead of 3.  The example's default rate
5e-5 (meant for fine-tuning) takes a model trained from scratch only from 4.60 to 3.88 in eval loss in 354 steps
(not under 0.7x its start), so the learning rate is 1e-3 with ``warmup_steps`` 0.1 (10% of the steps linear
warmup), as users set for small models trained from scratch (documented choice: seed 1 eval loss 4.60 -> 2.79;
tried 3e-3: 2.72, kept the users' usual 1e-3).  ``report_to`` none, no checkpoints, ``use_cpu``, tqdm off,
``logging_steps`` 10.  One extra ``trainer.evaluate()`` before ``trainer.train()`` gives the untrained model's
eval loss (the reference).

The watch, exactly as hfgpt2.py and hft5.py do: ``Trainer(..., callbacks=[GradmedicCallback(every=10,
flush_every=50, print_diagnosis=False)])`` (statistics in ``on_pre_optimizer_step``: after the Trainer's
clipping, before ``optimizer.step()``; the pre-clip norm from the Trainer's ``grad_norm`` logs); the monitor is
``callback.monitor``.  The callback computes no diagnosis unless its ``diagnosis`` is read, and with
``print_diagnosis=False`` nobody reads it: the corpus is a held-out test set, and the doctor is never run while
recording it.

Metric: the held-out loss, ``trainer.evaluate()``'s eval_loss on the validation blocks after training, against
the same evaluation of the untrained model; the training loss (mean of the last 20 / first 5 steps recorded by
the callback), perplexity and eval accuracy in ``extra``.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the same
seed's healthy run: learning_rate x10 (seeds 1, 2), x100 (seeds 1, 2), x1000 and /1000, ``max_grad_norm=0`` with
the rate x10 (no clipping), ``warmup_steps=0`` with the rate x10 (no warmup), and ``initializer_range=1.0`` (seeds 1, 2)
(every Linear and Embedding weight ~ N(0, 1)).

Recorded (cases-public15, 170 s for the 13 cases, 6-20 s each on two CPU cores shared with other jobs; 354 steps,
vocab 96): healthy eval loss 4.60 -> 2.79, 4.59 -> 2.79, 4.56 -> 2.83 (seeds 1-3; training loss 4.6 -> 1.9-2.0,
eval next-character accuracy 0.28-0.30); lr x10 (0.01) ends at 2.74 and 2.77 (seeds 1, 2), x10 without clipping
at 2.77 and x10 without warmup at 2.91: all four labelled healthy (0.01 trains this small model as well as 1e-3 in
354 steps); lr x100 ends at 3.26 and 3.36 (seeds 1 and 2) and x1000 at 3.55 (training loss peaks at 6.2): worse, but
neither twice the control's loss nor under half its progress, so ambiguous (AdamW's bounded steps, RMSNorm and
clipping keep the runs finite: training loss stalls at 2.8-3.5, eval accuracy 0.14-0.18);
lr /1000 stays at 4.58 (broken); N(0, 1) init starts at an eval loss of 19.9 / 19.7 and ends at 6.22 / 5.24
(broken: above the untrained model's 4.6).
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

ARCH = "transformer"
MONITOR_AT = ("Trainer(callbacks=[GradmedicCallback(every=10, print_diagnosis=False)]): statistics in "
              "on_pre_optimizer_step, after the Trainer's clip_grad_norm_(max_grad_norm) and before optimizer.step(); "
              "loss from the model output's loss (forward hook); the pre-clip norm from the logged grad_norm "
              "(logging_steps 10)")

N_CHARS, BLOCK, LR = 96_000, 64, 1e-3


def make_data(block_size: int = BLOCK):
    """run_clm's text dataset, validation split, char-level tokenize_function and group_texts (1000-line batches)."""
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

    # Main data processing function that will concatenate all texts from our dataset and generate chunks of block_size.
    def group_texts(examples):
        # Concatenate all texts.
        concatenated_examples = {k: list(chain(*examples[k])) for k in examples}
        total_length = len(concatenated_examples[list(examples.keys())[0]])
        if total_length < block_size:
            raise ValueError(f"block_size of {block_size} is too big - use a value <={total_length}")
        # We drop the small remainder, and if the total_length < block_size  we exclude this batch and return an empty
        # dict.  We could add padding if the model supported it instead of this drop, you can customize this part to
        # your needs.
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


def train(seed: int = 1, lr: float = LR, lr_mult: float = 1.0, max_grad_norm: float = 1.0, warmup: float = 0.1,
          initializer_range: float = 0.02, epochs: int = 2, every: int = 10, verbose: bool = False) -> dict:
    import transformers
    from transformers import AutoModelForCausalLM, LlamaConfig, Trainer, TrainingArguments, default_data_collator

    from gradmedic.integrations.huggingface import GradmedicCallback

    torch.set_num_threads(1)
    transformers.logging.set_verbosity_error()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    train_ds, eval_ds, vocab = make_data()
    transformers.set_seed(seed)
    config = LlamaConfig(vocab_size=vocab, hidden_size=64, intermediate_size=172, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=128,
                         initializer_range=initializer_range, bos_token_id=0, eos_token_id=0, pad_token_id=None)
    model = AutoModelForCausalLM.from_config(config)

    def preprocess_logits_for_metrics(logits, labels):
        if isinstance(logits, tuple):
            # Depending on the model and config, logits may contain extra tensors,
            # like past_key_values, but logits always come first
            logits = logits[0]
        return logits.argmax(dim=-1)

    def compute_metrics(eval_preds):
        preds, labels = eval_preds
        # preds have the same shape as the labels, after the argmax(-1) has been calculated
        # by preprocess_logits_for_metrics but we need to shift the labels
        labels = labels[:, 1:].reshape(-1)
        preds = preds[:, :-1].reshape(-1)
        return {"accuracy": float((preds == labels).astype(np.float32).mean())}

    cb = GradmedicCallback(every=every, flush_every=50, print_diagnosis=False)
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(output_dir=tmp, learning_rate=lr * lr_mult, num_train_epochs=epochs,
                                 max_grad_norm=max_grad_norm, warmup_steps=warmup, lr_scheduler_type="linear",
                                 weight_decay=0.0, logging_steps=10, report_to=[], save_strategy="no", use_cpu=True,
                                 disable_tqdm=True, dataloader_num_workers=0, seed=seed)
        trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,
                          data_collator=default_data_collator, compute_metrics=compute_metrics,
                          preprocess_logits_for_metrics=preprocess_logits_for_metrics, callbacks=[cb])
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()) as out:
            warnings.simplefilter("ignore")
            before = trainer.evaluate()  # the untrained model's held-out loss (the reference)
            trainer.train()
            metrics = trainer.evaluate()
        if verbose:
            print(out.getvalue()[-2000:])
            for r in trainer.state.log_history:
                if "loss" in r and r["step"] % 50 == 0:
                    print(r)
    loss = np.asarray(cb.monitor.history.loss, dtype=float)
    eval_loss = float(metrics["eval_loss"])
    value = eval_loss if math.isfinite(eval_loss) else float("nan")
    train_final = float(np.mean(loss[-20:])) if len(loss) >= 20 else float("nan")
    return {"monitors": {"": cb.monitor}, "metric": "eval_loss", "value": value,
            "initial": float(before["eval_loss"]), "chance": math.log(vocab),
            "initial_what": "untrained: trainer.evaluate()'s eval_loss before training (chance ln(vocab))",
            "extra": {"eval_loss": eval_loss, "perplexity": math.exp(eval_loss) if eval_loss < 700 else float("inf"),
                      "eval_accuracy": float(metrics["eval_accuracy"]), "train_loss_final": train_final,
                      "train_loss_initial": float(np.mean(loss[:5])), "steps": int(trainer.state.global_step),
                      "train_blocks": len(train_ds), "eval_blocks": len(eval_ds), "vocab_size": vocab,
                      "lr": lr * lr_mult, "max_grad_norm": max_grad_norm, "warmup_steps": warmup},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="hfllama", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"hfllama_healthy_s{s}", "healthy", s, {}, f"unchanged (Trainer: AdamW lr {LR:g}, 10% linear warmup then "
           "linear decay, max_grad_norm 1.0, batch 8, initializer_range 0.02; 2 epochs of 177 steps)", False)
     for s in (1, 2, 3)]
    + [_case(f"hfllama_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"learning_rate x{k} ({LR * k:g})")
       for k, ss in ((10, (1, 2)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("hfllama_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"learning_rate /1000 ({LR * 1e-3:g})")]
    + [_case("hfllama_no_clip_x10_s1", "no_clipping", 1, {"max_grad_norm": 0.0, "lr_mult": 10},
             f"max_grad_norm=0 (no clipping) with learning_rate x10 ({LR * 10:g})")]
    + [_case("hfllama_no_warmup_x10_s1", "lr_high", 1, {"warmup": 0, "lr_mult": 10},
             f"warmup_steps=0 (no warmup) with learning_rate x10 ({LR * 10:g})")]
    + [_case(f"hfllama_init_std1_s{s}", "init_large", s, {"initializer_range": 1.0},
             "LlamaConfig(initializer_range=1.0) instead of 0.02 (every Linear and Embedding weight ~ N(0, 1))")
       for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    r = train(verbose=True, **({"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}))
    print({k: v for k, v in r.items() if k != "monitors"})
