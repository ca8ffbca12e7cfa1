"""Hugging Face ``transformers``' run_clm_no_trainer.py: a tiny GPT-2 trained from scratch as a causal LM by the
example's own loop under ``accelerate``, watched by gradmedic.

Followed: https://github.com/huggingface/transformers, examples/pytorch/language-modeling/run_clm_no_trainer.py at
commit 3e93524a13cf090daed5f0398f4f756d4390e27a (``check_min_version("4.44.0")``; Apache-2.0, see LICENSE-hfaccel),
run with the installed transformers (5.24.0) and accelerate (1.15.0).  Kept as in the example:
``Accelerator(gradient_accumulation_steps=args.gradient_accumulation_steps)``, ``set_seed(args.seed)`` (accelerate's)
before the model is made, the model from a config (the ``--model_type``/``--config_name`` from-scratch path,
``AutoModelForCausalLM.from_config``: a ``GPT2LMHeadModel`` with GPT-2's own init, ``initializer_range`` 0.02, tied
``lm_head``), the text as a "text" dataset (one example per line, ``keep_linebreaks``) split by
``validation_split_percentage`` 5 (validation the first 5% of the lines, training the rest), ``tokenize_function``
then ``group_texts`` applied in batches of 1000 lines as ``datasets.map(batched=True)`` does (each batch concatenated,
the remainder under ``block_size`` dropped, ``labels`` a copy of ``input_ids``: the model shifts them itself),
``block_size = min(1024, config.max_position_embeddings)`` (no ``--block_size``: 64), the shuffled training
``DataLoader`` and the eval ``DataLoader`` with ``default_data_collator`` and batch 8 (the per-device defaults), the
optimizer's two groups (``no_decay = ["bias", "layer_norm.weight"]`` as at this commit (older versions say
"LayerNorm.weight"); GPT-2's norms are ``ln_1``/``ln_2``/``ln_f``, so only the biases land in the no-decay group),
``torch.optim.AdamW(optimizer_grouped_parameters, lr=args.learning_rate)`` with ``weight_decay`` 0.0 (the default),
``get_scheduler("linear", num_warmup_steps=0, num_training_steps=max_train_steps)`` with ``max_train_steps =
num_train_epochs * ceil(len(train_dataloader) / gradient_accumulation_steps)``, ``accelerator.prepare(model, optimizer,
train_dataloader, eval_dataloader, lr_scheduler)``, 3 epochs, the loop (``with accelerator.accumulate(model)``:
``outputs = model(**batch)``, ``loss = outputs.loss``, ``accelerator.backward(loss)``, ``optimizer.step()``,
``lr_scheduler.step()``, ``optimizer.zero_grad()``; no clipping), and the eval loop after every epoch (``model.eval()``,
``torch.no_grad()``, ``gather_for_metrics(loss.repeat(per_device_eval_batch_size))``, ``eval_loss =
torch.mean(losses)``, ``perplexity = math.exp(eval_loss)``).

Changed to run offline on one CPU thread in 10-30 s: no hub download and no ``datasets``; the config is a small
``GPT2Config`` (n_layer 2, n_head 2, n_embd 64, n_positions 64, vocab the text's characters: 96, bos/eos id 0; other
fields GPT-2's defaults: GELU, dropout 0.1); the "tokenizer" is character-level (every character of the text an id;
the example needs a pretrained tokenizer, a download); the text is the first 96,000 characters of the standard
library's docstrings (shipped_text.py) instead of a hub dataset: 2914 lines (145 for validation), 1415 training
blocks of 64 characters (3 epochs of 177 steps: 531 optimizer steps) and 83 validation blocks.  The learning rate:
the example's default 5e-5 (meant for fine-tuning a pretrained checkpoint) takes this model trained from scratch only
from an eval loss of 4.55 to 3.70 in 531 steps (seed 1; 0.81x its start, not a good outcome; hfgpt2.py saw the same
under the Trainer), so the rate is raised to 2e-3 (documented choice, as hfgpt2.py does: seed 1 then goes 4.55 ->
2.93 in eval loss, training loss 4.25 -> 2.27).  No tracking, no
checkpointing, no output_dir, no tqdm, no logging of samples.  One extra pass of the example's eval loop before
training gives the untrained model's eval loss (the reference).

The watch: ``gradmedic.watch(model, optimizer, every=10)`` on the prepared model and the prepared optimizer
(accelerate's ``AcceleratedOptimizer`` wrapping the AdamW), ``monitor.step(loss)`` inside ``accelerator.accumulate``
right after ``accelerator.backward(loss)``, before ``optimizer.step()`` (with gradient accumulation: every micro-batch,
the loss undivided; accelerate divides it by the accumulation steps inside ``backward``).

Metric: the held-out loss, the last epoch's ``eval_loss`` (the log of the example's perplexity), against the same
eval loop on the untrained model; per-epoch eval losses, perplexity and the training loss (mean of the last 20 / first
5 micro-batches) in ``extra``.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the same
seed's healthy run: learning rate x10, x100 (seeds 1 and 2), x1000 and /1000; N(0, 1) on every Linear/Conv1D and
Embedding weight (seeds 1 and 2); labels shifted by the user in ``group_texts`` (``labels = input_ids[1:] + [-100]``)
although the model shifts them again (so it learns to predict two characters ahead; its own eval loop measures the
same shifted labels, the true next-character eval loss is in ``extra``; cause "wrong_loss": the loss is taken
against the wrong target); and
``gradient_accumulation_steps=2`` with per-device batch 4 (the same 8 blocks per optimizer step; cause "healthy").
No clipping case: the example does not clip.  No raw-input case: the inputs are token ids.

Recorded (cases-public19, 323 s for the 12 cases, 13-39 s each on two CPU cores shared with other jobs; 531 steps,
vocab 96): healthy eval loss 4.55 -> 2.93, 4.55 -> 2.92, 4.54 -> 2.94 (seeds 1-3; training loss 4.25 -> 2.27 on
seed 1); lr x10 (0.02) ends at 3.25 and x100 at 3.54 / 3.55 (seeds 1, 2): worse, but neither twice the control's
loss nor under half its progress, so ambiguous (AdamW's bounded steps and the LayerNorms keep them finite; x100's
training loss starts at 7.3 and stalls at 3.5); x1000 ends at 10.7 (eval loss 259 after the first epoch; broken);
/1000 stays at 4.46 (broken); N(0, 1) init starts at an eval loss of 21.0 / 20.5 and ends at 3.80 / 3.75 (broken: under
half the control's progress); shifted labels end at 3.33 on its own (shifted) eval, 3.60 on the true next-character
labels (ambiguous); gradient accumulation 2 x batch 4 ends at 2.926 against 2.925 (healthy).
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import torch
from shipped_text import stdlib_docstrings
from torch import nn

import gradmedic

ARCH = "transformer"
MONITOR_AT = ("monitor.step(loss) inside `with accelerator.accumulate(model)`, right after accelerator.backward(loss) "
              "(loss = model(**batch).loss, undivided), before optimizer.step() / lr_scheduler.step() / "
              "optimizer.zero_grad(); watch(model, optimizer) on the accelerator-prepared model and "
              "AcceleratedOptimizer")

N_CHARS, LR = 96_000, 2e-3


def make_data(block_size: int = 64, shift_labels: bool = False):
    """run_clm_no_trainer's text dataset, validation split, char-level tokenize_function and group_texts (1000-line
    batches, as ``datasets.map(batched=True)``)."""
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
        concatenated_examples = {k: list(chain(*examples[k])) for k in examples.keys()}
        total_length = len(concatenated_examples[list(examples.keys())[0]])
        # We drop the small remainder, and if the total_length < block_size  we exclude this batch and return an empty
        # dict.  We could add padding if the model supported it instead of this drop, you can customize this part to
        # your needs.
        total_length = (total_length // block_size) * block_size
        # Split by chunks of max_len.
        result = {
            k: [t[i: i + block_size] for i in range(0, total_length, block_size)]
            for k, t in concatenated_examples.items()
        }
        if shift_labels:  # the bug: the user shifts the labels although the model shifts them again
            result["labels"] = [x[1:] + [-100] for x in result["input_ids"]]
        else:
            result["labels"] = result["input_ids"].copy()
        return result

    out = {}
    for name, ls in splits.items():
        rows = []
        for i in range(0, len(ls), 1000):  # datasets.map(batched=True): batches of 1000 examples
            g = group_texts(tokenize_function({"text": ls[i:i + 1000]}))
            rows += [{k: g[k][j] for k in g} for j in range(len(g["input_ids"]))]
        out[name] = rows
    return out["train"], out["validation"], len(chars)


def train(seed: int = 1, lr: float = LR, lr_mult: float = 1.0, init_std: float | None = None,
          shift_labels: bool = False, gradient_accumulation_steps: int = 1, per_device_train_batch_size: int = 8,
          num_train_epochs: int = 3, every: int = 10, verbose: bool = False) -> dict:
    import transformers
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState, GradientState
    from accelerate.utils import set_seed
    from torch.utils.data import DataLoader
    from transformers import AutoModelForCausalLM, GPT2Config, default_data_collator, get_scheduler
    from transformers.pytorch_utils import Conv1D

    torch.set_num_threads(1)
    transformers.logging.set_verbosity_error()
    warnings.filterwarnings("ignore")
    AcceleratorState._reset_state(reset_partial_state=True)  # a fresh Accelerator per run (one process, many runs)
    GradientState._reset_state()
    accelerator = Accelerator(gradient_accumulation_steps=gradient_accumulation_steps, cpu=True)
    set_seed(seed)
    config = GPT2Config(vocab_size=96, n_positions=64, n_embd=64, n_layer=2, n_head=2, bos_token_id=0, eos_token_id=0)
    model = AutoModelForCausalLM.from_config(config)
    if init_std is not None:  # the bug: normal_(0, std) on every Linear/Conv1D and Embedding weight
        for m in model.modules():
            if isinstance(m, (nn.Linear, Conv1D, nn.Embedding)):
                nn.init.normal_(m.weight, 0.0, init_std)
    block_size = min(1024, config.max_position_embeddings)
    train_dataset, eval_dataset, vocab = make_data(block_size, shift_labels)
    true_eval = make_data(block_size)[1] if shift_labels else None

    # DataLoaders creation:
    train_dataloader = DataLoader(
        train_dataset, shuffle=True, collate_fn=default_data_collator, batch_size=per_device_train_batch_size
    )
    eval_dataloader = DataLoader(eval_dataset, collate_fn=default_data_collator, batch_size=8)

    # Optimizer
    # Split weights in two groups, one with weight decay and the other not.
    weight_decay = 0.0
    no_decay = ["bias", "layer_norm.weight"]
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
        model.eval()
        losses = []
        for _step, batch in enumerate(loader):
            with torch.no_grad():
                outputs = model(**batch)

            loss = outputs.loss
            losses.append(accelerator.gather_for_metrics(loss.repeat(8)))

        losses = torch.cat(losses)
        return float(torch.mean(losses))

    t0 = time.time()
    initial = evaluate(eval_dataloader)  # the untrained model's eval loss (the reference)
    train_losses, eval_losses = [], []
    completed_steps = 0
    for epoch in range(num_train_epochs):
        model.train()
        for _step, batch in enumerate(train_dataloader):
            with accelerator.accumulate(model):
                outputs = model(**batch)
                loss = outputs.loss
                accelerator.backward(loss)
                monitor.step(loss)  # gradmedic
                optimizer.step()
                lr_scheduler.step()
                optimizer.zero_grad()
            train_losses.append(float(loss.detach()))

            # Checks if the accelerator has performed an optimization step behind the scenes
            if accelerator.sync_gradients:
                completed_steps += 1
            if completed_steps >= max_train_steps:
                break

        eval_losses.append(evaluate(eval_dataloader))
        if verbose:
            print(f"epoch {epoch}: eval_loss {eval_losses[-1]:.4f} train {np.mean(train_losses[-50:]):.4f} "
                  f"({time.time() - t0:.1f}s)", flush=True)
    monitor.close()
    eval_loss = eval_losses[-1]
    value = eval_loss if math.isfinite(eval_loss) else float("nan")
    extra = {"eval_loss": eval_loss, "eval_losses": eval_losses,
             "perplexity": math.exp(eval_loss) if eval_loss < 700 else float("inf"),
             "train_loss_final": float(np.mean(train_losses[-20:])),
             "train_loss_initial": float(np.mean(train_losses[:5])),
             "steps": completed_steps, "micro_steps": len(train_losses), "train_blocks": len(train_dataset),
             "eval_blocks": len(eval_dataset), "vocab_size": vocab, "lr": lr * lr_mult,
             "gradient_accumulation_steps": gradient_accumulation_steps}
    if true_eval is not None:  # the shifted-labels run on the true next-character labels
        extra["eval_loss_true_labels"] = evaluate(DataLoader(true_eval, collate_fn=default_data_collator, batch_size=8))
    return {"monitors": {"": monitor}, "metric": "eval_loss", "value": value, "initial": initial,
            "chance": math.log(vocab),
            "initial_what": "untrained: the example's eval loop (mean eval loss) before training (chance ln(vocab))",
            "extra": extra, "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="hfaccel", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"hfaccel_healthy_s{s}", "healthy", s, {}, f"unchanged (accelerate loop: AdamW lr {LR:g} with the no-decay "
           "grouping, weight_decay 0, linear schedule without warmup, no clipping, batch 8; 3 epochs of 177 steps)",
           False) for s in (1, 2, 3)]
    + [_case(f"hfaccel_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"learning_rate x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("hfaccel_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"learning_rate /1000 ({LR * 1e-3:g})")]
    + [_case(f"hfaccel_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(weight, 0, 1) on every Linear/Conv1D and Embedding weight (c_attn, c_proj, c_fc, wte "
             "(tied lm_head), wpe) instead of GPT-2's N(0, 0.02); biases and LayerNorms kept") for s in (1, 2)]
    + [_case("hfaccel_shifted_labels_s1", "wrong_loss", 1, {"shift_labels": True},
             "group_texts sets labels = input_ids[1:] + [-100] (the user shifts them) and GPT2LMHeadModel shifts them "
             "again: the model is trained (and evaluated) on the character two ahead")]
    + [_case("hfaccel_grad_accum2_s1", "healthy", 1,
             {"gradient_accumulation_steps": 2, "per_device_train_batch_size": 4},
             "Accelerator(gradient_accumulation_steps=2) with per-device batch 4 (the same 8 blocks per optimizer "
             "step, 531 optimizer steps); monitor.step(loss) per micro-batch")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
