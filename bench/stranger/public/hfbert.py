"""Hugging Face ``transformers`` Trainer fine-tuning a tiny BERT for sequence classification, watched by gradmedic.

Modelled on the transformers text-classification example (https://github.com/huggingface/transformers,
examples/pytorch/text-classification/run_glue.py; Apache-2.0), run with the installed transformers
(5.24.0 when recorded).  Kept as in the example: a ``BertForSequenceClassification`` (the
``AutoModelForSequenceClassification`` of a BERT config), ``Trainer`` + ``TrainingArguments`` with their
defaults (AdamW torch, linear decay to 0, no warmup, weight decay 0, ``max_grad_norm`` 1.0, per-device batch
8 changed to 32 below), padding to ``max_seq_length`` with ``default_data_collator`` (``pad_to_max_length``),
``compute_metrics`` returning accuracy of ``argmax(logits)`` (GLUE's metric for SST-2-like tasks),
``trainer.train()`` then ``trainer.evaluate()``.

Changed to run offline on one CPU thread: no hub download, the model is built from a small
``BertConfig`` (2 layers, hidden 64, 2 heads, intermediate 128, vocab 128, max positions 32; other fields
BERT's defaults: GELU, dropout 0.1, ``initializer_range`` 0.02) with random initial weights (the example
fine-tunes a pretrained checkpoint); the "tokenizer" is a word-level lookup written here ([PAD] 0, [CLS] 1,
[SEP] 2, words 3..127); the data is a synthetic SST-2-like sentiment task: sentences of 6..20 words drawn
from 125 words, of which 10 are "positive" and 10 "negative", label 1 when the sentence has more positive
than negative words (ties redrawn); 4000 training and 1000 evaluation sentences (fixed, the same for every
seed), ``max_seq_length`` 24.  From scratch, the example's 2e-5 learns nothing in 375 steps, so the
learning rate is 1e-3 (documented choice; 3 epochs of 125 steps of batch 32 reach ~0.97 eval accuracy);
``report_to`` none, no checkpoints, ``use_cpu``, tqdm off, ``logging_steps`` 10.

The watch, as a user would: ``Trainer(..., callbacks=[GradmedicCallback(every=10, flush_every=50,
print_diagnosis=False)])`` (statistics in ``on_pre_optimizer_step``: after the Trainer's clipping, before
``optimizer.step()``; the pre-clip norm from the Trainer's ``grad_norm`` logs); the monitor is
``callback.monitor``.  The callback computes no diagnosis unless its ``diagnosis`` is read, and with
``print_diagnosis=False`` nobody reads it: the corpus is a held-out test set, and the doctor is never run while
recording it.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the
same seed's healthy run: learning_rate x10, x100, x1000 and /1000, ``initializer_range=1.0``, and
``max_grad_norm=0`` at the default rate (at x10 the run fails with the clip as without it, so the clip is no
cause there).
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
import time

import numpy as np
import torch

ARCH = "transformer"
MONITOR_AT = ("Trainer(callbacks=[GradmedicCallback(every=10, print_diagnosis=False)]): statistics in on_pre_optimizer_step, "
              "after the Trainer's clip_grad_norm_(max_grad_norm) and before optimizer.step(); loss from the model "
              "output's loss (forward hook); the pre-clip norm from the logged grad_norm (logging_steps 10)")

VOCAB, MAXLEN = 128, 24
POS, NEG = list(range(3, 13)), list(range(13, 23))


def make_data(n: int, seed: int):
    """Word-level "tokenized" sentences: [CLS] w1 .. wk [SEP] [PAD]..; label: more positive than negative words."""
    rng = np.random.default_rng(seed)
    rows = []
    while len(rows) < n:
        k = int(rng.integers(6, 21))
        w = rng.integers(3, VOCAB, size=k)
        p, q = np.isin(w, POS).sum(), np.isin(w, NEG).sum()
        if p == q:
            continue
        ids = [1] + w.tolist() + [2]
        mask = [1] * len(ids) + [0] * (MAXLEN - len(ids))
        ids = ids + [0] * (MAXLEN - len(ids))
        rows.append({"input_ids": torch.tensor(ids), "attention_mask": torch.tensor(mask),
                     "token_type_ids": torch.zeros(MAXLEN, dtype=torch.long), "labels": int(p > q)})
    return rows


def train(seed: int = 1, lr: float = 1e-3, lr_mult: float = 1.0, max_grad_norm: float = 1.0,
          initializer_range: float = 0.02, epochs: int = 3, every: int = 10, verbose: bool = False) -> dict:
    import transformers
    from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments, default_data_collator

    from gradmedic.integrations.huggingface import GradmedicCallback

    torch.set_num_threads(1)
    transformers.logging.set_verbosity_error()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    train_ds, eval_ds = make_data(4000, 12345), make_data(1000, 54321)
    transformers.set_seed(seed)
    config = BertConfig(vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=128, max_position_embeddings=32, num_labels=2,
                        initializer_range=initializer_range)
    model = BertForSequenceClassification(config)

    def compute_metrics(p):
        preds = np.argmax(p.predictions, axis=1)
        return {"accuracy": float((preds == p.label_ids).astype(np.float32).mean())}

    cb = GradmedicCallback(every=every, flush_every=50, print_diagnosis=False)
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(output_dir=tmp, learning_rate=lr * lr_mult, num_train_epochs=epochs,
                                 per_device_train_batch_size=32, per_device_eval_batch_size=256,
                                 max_grad_norm=max_grad_norm, logging_steps=10, report_to=[], save_strategy="no",
                                 use_cpu=True, disable_tqdm=True, dataloader_num_workers=0, seed=seed)
        trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,
                          data_collator=default_data_collator, compute_metrics=compute_metrics, callbacks=[cb])
        with contextlib.redirect_stdout(io.StringIO()) as out:
            trainer.train()
            metrics = trainer.evaluate()
        if verbose:
            print(out.getvalue()[-2000:])
    logged = [r["loss"] for r in trainer.state.log_history if "loss" in r]
    loss = cb.monitor.history.loss
    acc = float(metrics["eval_accuracy"])
    return {"monitors": {"": cb.monitor}, "metric": "accuracy", "value": acc, "chance": 0.5, "initial": None,
            "initial_what": "chance accuracy 0.5",
            "extra": {"eval_loss": float(metrics["eval_loss"]), "train_loss_logged_last": logged[-1] if logged else None,
                      "steps": int(trainer.state.global_step), "first_loss": float(loss[0]) if len(loss) else None},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="hfbert", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"hfbert_healthy_s{s}", "healthy", s, {}, "unchanged (Trainer defaults: AdamW lr 1e-3 linear decay, "
           "max_grad_norm 1.0, initializer_range 0.02; 3 epochs of 125 steps)", False) for s in (1, 2, 3)]
    + [_case(f"hfbert_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"learning_rate x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1, 2)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case(f"hfbert_lr_div1000_s{s}", "lr_low", s, {"lr_mult": 1e-3}, "learning_rate /1000 (1e-06)") for s in (1, 2)]
    # no clipping at the default rate only: at lr x10 the run fails with the clip as without it (0.478 both on seed 1),
    # so there the cause would be the rate, not the clip
    + [_case(f"hfbert_no_clip_s{s}", "no_clipping", s, {"max_grad_norm": 0.0},
             "max_grad_norm=0 (no clipping) at the default learning_rate 1e-3") for s in (1,)]
    + [_case(f"hfbert_init_std1_s{s}", "init_large", s, {"initializer_range": 1.0},
             "BertConfig(initializer_range=1.0) instead of 0.02 (every Linear and Embedding weight ~ N(0, 1))")
       for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    r = train(verbose=True, **({"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}))
    print({k: v for k, v in r.items() if k != "monitors"})
