"""Hugging Face ``transformers`` Trainer training a tiny ViT image classifier from scratch on digits, watched by
gradmedic.

Modelled on the transformers image-classification example (https://github.com/huggingface/transformers,
examples/pytorch/image-classification/run_image_classification.py, as at commit
0055f834470c4662897181543b27d8cf8c50b9d6; Apache-2.0, see LICENSE-transformers), run with the installed
transformers (5.24.0 when recorded).  Kept as in the example: the model class its ``AutoModelForImageClassification``
resolves to for a ViT config (``ViTForImageClassification``: Conv2d patch embedding, [CLS] token, learned position
embeddings, pre-norm encoder, a final LayerNorm and a Linear classifier on the [CLS] output; the model's own
``_init_weights``: truncated normal of std ``initializer_range`` 0.02, zero biases, LayerNorm 1/0), its cross-entropy
loss computed inside the model from ``labels``, ``transformers.set_seed(training_args.seed)`` before the model is
made, the datasets as examples with ``pixel_values`` (a tensor after ``ToTensor`` + ``Normalize``) and ``labels``,
its ``collate_fn`` (``torch.stack`` of the pixel values, ``torch.tensor`` of the labels), ``compute_metrics``
(accuracy of ``argmax(p.predictions, axis=1)`` against ``p.label_ids``), ``remove_unused_columns=False`` (as the
example's README runs it: the examples are plain dicts handed to ``collate_fn``), ``Trainer`` +
``TrainingArguments`` with their defaults (AdamW torch, betas (0.9, 0.999), linear decay to 0, no warmup, weight
decay 0, ``max_grad_norm`` 1.0, per-device batch 8), ``trainer.train()`` then ``trainer.evaluate()``.

Changed to run offline on one CPU thread: no hub download and no ``datasets``: the model is built from a small
``ViTConfig`` (``ViTForImageClassification(config)``, the example's ``--model_type`` / train-from-scratch path of
later versions, instead of ``from_pretrained``): image_size 28, patch_size 7 (16 patches + [CLS]), num_channels 1,
hidden 64, 3 layers, 4 heads, intermediate 128, num_labels 10; other fields ViT's defaults (GELU, dropout 0.0,
``initializer_range`` 0.02, ``layer_norm_eps`` 1e-12, qkv bias).  The data is scikit-learn's ``load_digits``
upsampled to 1x28x28 (``digits28`` from mnist.py: 1437 training and 360 evaluation images; ``ToTensor``'s [0, 1]
scaling then ``Normalize`` with the training set's mean and std instead of the feature extractor's 0.5/0.5; the raw
0..255 values are the ``raw_pixels`` variant); the example's training augmentation (``RandomResizedCrop``,
``RandomHorizontalFlip``) is left out (a flipped digit is another glyph; the crop of scale 0.08-1 leaves little of
an 28x28 digit) and its ``Resize``/``CenterCrop`` are no-ops at this size; the evaluation split is digits28's test
split instead of ``train_val_split`` 0.15.  The example's default rate 5e-5 is for fine-tuning a pretrained ViT;
trained from scratch the model needs more, so the learning rate is 1e-3 (documented choice) for 12 epochs of 180
steps (2160 optimizer steps; 4 epochs reached only 0.57 eval accuracy on seed 1, 12 epochs at 3e-4 0.94, at 1e-3
0.947).  ``report_to`` none, no checkpoints (no ``save_model``), ``use_cpu``, tqdm off,
``logging_steps`` 10.

The watch, exactly as hfbert.py, hfgpt2.py and hfmlm.py do: ``Trainer(..., callbacks=[GradmedicCallback(every=10,
flush_every=50, print_diagnosis=False)])`` (statistics in ``on_pre_optimizer_step``: after the Trainer's clipping,
before ``optimizer.step()``; the pre-clip norm from the Trainer's ``grad_norm`` logs); the monitor is
``callback.monitor``.  The callback computes no diagnosis unless its ``diagnosis`` is read, and with
``print_diagnosis=False`` nobody reads it: the corpus is a held-out test set, and the doctor is never run while
recording it.

Metric: eval accuracy on the 360 held-out digits (``trainer.evaluate()``), good at >= 0.9; eval loss and the
training loss in ``extra``.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the same
seed's healthy run: learning_rate x10, x100 (seeds 1 and 2), x1000 and /1000, ``initializer_range=1.0`` instead of
0.02, raw 0..255 pixels instead of the normalized ones, and ``max_grad_norm=0`` (no clipping) at the default rate.

Recorded (cases-public9, 606 s for the 15 cases): healthy 0.947, 0.914, 0.961 eval accuracy on seeds 1-3; lr x10
(0.52, 0.38), x100 (0.58, 0.52: clipping and Adam's normalised step keep the run from diverging, it ends on a poor
plateau), x1000 (0.11), /1000 (0.12, 0.11: stays at chance) and initializer_range 1.0 (0.63, 0.60) are broken; raw
0..255 pixels 0.836 (broken on seed 1) and 0.864 (ambiguous on seed 2, against the weaker 0.914 control: the
pre-norm LayerNorms absorb much of the scale); max_grad_norm=0 at 0.922 against 0.947 is labelled healthy.
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
import time
import warnings

import numpy as np
import torch
from mnist import digits28

ARCH = "transformer"
MONITOR_AT = ("Trainer(callbacks=[GradmedicCallback(every=10, print_diagnosis=False)]): statistics in "
              "on_pre_optimizer_step, after the Trainer's clip_grad_norm_(max_grad_norm) and before optimizer.step(); "
              "loss from the model output's loss (forward hook: the classifier's cross-entropy); the pre-clip norm "
              "from the logged grad_norm (logging_steps 10)")


def make_data(raw_pixels: bool = False):
    """digits28 as the example's transformed datasets: examples {"pixel_values": 1x28x28 tensor, "labels": int}."""
    tr, te = digits28(raw_pixels)
    return ([{"pixel_values": x, "labels": int(y)} for x, y in zip(*tr.tensors, strict=True)],
            [{"pixel_values": x, "labels": int(y)} for x, y in zip(*te.tensors, strict=True)])


def collate_fn(examples):
    pixel_values = torch.stack([example["pixel_values"] for example in examples])
    labels = torch.tensor([example["labels"] for example in examples])
    return {"pixel_values": pixel_values, "labels": labels}


def train(seed: int = 1, lr: float = 1e-3, lr_mult: float = 1.0, max_grad_norm: float = 1.0,
          initializer_range: float = 0.02, raw_pixels: bool = False, epochs: int = 12, every: int = 10,
          verbose: bool = False) -> dict:
    import transformers
    from transformers import Trainer, TrainingArguments, ViTConfig, ViTForImageClassification

    from gradmedic.integrations.huggingface import GradmedicCallback

    torch.set_num_threads(1)
    transformers.logging.set_verbosity_error()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    train_ds, eval_ds = make_data(raw_pixels)
    labels = [str(i) for i in range(10)]
    label2id, id2label = {}, {}
    for i, label in enumerate(labels):
        label2id[label] = str(i)
        id2label[str(i)] = label
    transformers.set_seed(seed)
    config = ViTConfig(image_size=28, patch_size=7, num_channels=1, hidden_size=64, num_hidden_layers=3,
                       num_attention_heads=4, intermediate_size=128, num_labels=len(labels), label2id=label2id,
                       id2label=id2label, finetuning_task="image-classification",
                       initializer_range=initializer_range)
    model = ViTForImageClassification(config)

    def compute_metrics(p):
        """Computes accuracy on a batch of predictions"""
        preds = np.argmax(p.predictions, axis=1)
        return {"accuracy": float((preds == p.label_ids).astype(np.float32).mean())}

    cb = GradmedicCallback(every=every, flush_every=50, print_diagnosis=False)
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(output_dir=tmp, learning_rate=lr * lr_mult, num_train_epochs=epochs,
                                 max_grad_norm=max_grad_norm, remove_unused_columns=False, logging_steps=10,
                                 report_to=[], save_strategy="no", use_cpu=True, disable_tqdm=True,
                                 dataloader_num_workers=0, seed=seed)
        trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,
                          compute_metrics=compute_metrics, data_collator=collate_fn, callbacks=[cb])
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()) as out:
            warnings.simplefilter("ignore")
            trainer.train()
            metrics = trainer.evaluate()
        if verbose:
            print(out.getvalue()[-2000:])
            for r in trainer.state.log_history:
                if "loss" in r and r["step"] % 60 == 0:
                    print(r)
    loss = np.asarray(cb.monitor.history.loss, dtype=float)
    acc = float(metrics["eval_accuracy"])
    return {"monitors": {"": cb.monitor}, "metric": "accuracy", "value": acc, "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"eval_loss": float(metrics["eval_loss"]), "steps": int(trainer.state.global_step),
                      "first_loss": float(np.mean(loss[:5])) if len(loss) else None,
                      "last_loss": float(np.mean(loss[-20:])) if len(loss) >= 20 else None,
                      "lr": lr * lr_mult, "max_grad_norm": max_grad_norm, "train_images": len(train_ds),
                      "eval_images": len(eval_ds)},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="hfvit", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"hfvit_healthy_s{s}", "healthy", s, {}, "unchanged (Trainer defaults: AdamW lr 1e-3 linear decay, "
           "max_grad_norm 1.0, batch 8, initializer_range 0.02; 12 epochs of 180 steps)", False) for s in (1, 2, 3)]
    + [_case(f"hfvit_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"learning_rate x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1, 2)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case(f"hfvit_lr_div1000_s{s}", "lr_low", s, {"lr_mult": 1e-3}, "learning_rate /1000 (1e-06)") for s in (1, 2)]
    + [_case(f"hfvit_init_std1_s{s}", "init_large", s, {"initializer_range": 1.0},
             "ViTConfig(initializer_range=1.0) instead of 0.02 (every Linear and the patch Conv2d weight, the [CLS] "
             "token and position embeddings ~ truncated N(0, 1))") for s in (1, 2)]
    + [_case(f"hfvit_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             "raw 0..255 pixel values as pixel_values: no ToTensor scaling, no Normalize") for s in (1, 2)]
    + [_case(f"hfvit_no_clip_s{s}", "no_clipping", s, {"max_grad_norm": 0.0},
             "max_grad_norm=0 (no clipping) at the default learning_rate 1e-3") for s in (1,)]
)


if __name__ == "__main__":
    import sys
    r = train(verbose=True, **({"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}))
    print({k: v for k, v in r.items() if k != "monitors"})
