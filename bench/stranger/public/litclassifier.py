"""Lightning's backbone image classifier example (Backbone MLP, LitClassifier, Adam) fit by the Lightning Trainer.

Adapted from https://github.com/Lightning-AI/pytorch-lightning (commit 7f0c3436cd3f6ad3753125672024fc415cbcb414,
examples/pytorch/basics/backbone_image_classifier.py, last changed in 1b26ac4cf5c82500426a9c65f04514f3d02be84e;
Apache-2.0, Copyright The Lightning AI team, see LICENSE-litclassifier), run with the installed ``lightning``
(2.6.6 when recorded).  Kept as in the example: ``Backbone`` (``l1 = Linear(in, hidden_dim=128)``, ReLU,
``l2 = Linear(128, 10)``; its ReLU on the logits only in the ``relu_logits`` cases, see below), PyTorch's default
Linear init,
``LitClassifier`` (``F.cross_entropy(y_hat, y)`` logged as ``train_loss`` with ``on_epoch=True``, ``valid_loss``
in ``validation_step``, ``torch.optim.Adam(self.parameters(), lr=self.hparams.learning_rate)`` with the default
learning_rate 0.0001), ``MyDataModule``'s shape (the training images split by ``random_split`` with
``torch.Generator().manual_seed(42)`` into train and validation, ``DataLoader``s of batch 32 without shuffling,
``transforms.ToTensor()``: pixels in [0, 1], no Normalize), ``max_epochs`` 50 (the run the example's docstring
gives: ``--trainer.max_epochs=50``), ``trainer.fit(model, datamodule=...)`` with its validation loop,
``trainer.predict`` on the test images, ``seed_everything`` (the CLI's ``seed_everything_default`` 1234, here
``1233 + seed``).

Changed to run offline on one CPU thread without torchvision (which does not import here): the data is
scikit-learn's ``load_digits`` instead of MNIST (8x8 images with values 0..16, divided by 16 as ``ToTensor``
divides MNIST's 0..255: [0, 1]), so the Backbone's input size is 8 * 8 = 64 instead of 28 * 28 (hidden size 128
kept); the 1797 images are split 1437/360 into train/test (``train_test_split(test_size=0.2, random_state=0)``,
as mnist.py) and the 1437 training images 1293/144 into train/validation (MNIST's 55000/5000); no ``LightningCLI``
(the model, data module and Trainer are built in code with the CLI's defaults), ``accelerator="cpu"``,
``devices=1``, ``logger=False``, ``enable_checkpointing=False`` (so ``trainer.test(ckpt_path="best")`` is not run;
the held-out accuracy is that of the final weights' ``trainer.predict`` on the 360 test images), no progress bar
or model summary.  50 epochs of 41 steps (2050 optimizer steps).  The learning rate is 1e-3
(``--model.learning_rate=1e-3``; documented choice): the example's default 1e-4 is meant for 50 epochs of MNIST's
55000 images (86000 steps, 40x these); at 1e-4 the 2050 steps here leave the three seeds at 0.92-0.93 test
accuracy (0.97-0.98 at lr x10 and x100 of it, recorded at first and then discarded), at 1e-3 they reach
0.96-0.975.  The example's default is thus the lr /10 variant (not recorded).

One change to the model (documented choice): the healthy program's ``Backbone.forward`` returns ``self.l2(x)``
instead of the example's ``torch.relu(self.l2(x))``.  With the ReLU on the logits the program does not train
well on these digits: the cross-entropy pushes every wrong class's logit down, so some logit units' ReLUs end
at zero on every image and their classes are never predicted (after 50 epochs 6-8 of the 10 logit units are
active on any test image; test accuracy 0.58 / 0.65 / 0.77 on seeds 1-3 at lr 1e-4, 0.58 / 0.67 / 0.66 at
1e-3, 0.56-0.66 at 3e-5 over 100 epochs, 0.57-0.67 with batch 128; 0.53-0.76 on digits upsampled to 28x28 with
the original 784-input ``l1``; 0.76-0.88 even with the inputs standardized), while without it the three seeds
reach 0.92-0.93 at lr 1e-4 and 0.96-0.975 at 1e-3.  The example exactly as written (``relu_logits=True``) is recorded
as a variant of cause "dead_relu" against the same seed's healthy run.

The watch, as a Lightning user would: ``Trainer(callbacks=[GradmedicCallback(every=10, flush_every=50,
print_diagnosis=False)])`` from ``gradmedic.integrations.lightning`` (statistics in ``on_before_optimizer_step``:
before ``optimizer.step()``; the loss Lightning backpropagates, from ``on_before_backward``); the monitor is
``callback.monitor``.  With ``print_diagnosis=False`` nobody reads its diagnosis (the corpus is a held-out test
set: the doctor is never run while recording it); ``stop_on`` stays None.

Metric: accuracy of the final model on the 360 held-out test digits (chance 0.1); the training loss (first 5 and
last 20 steps) and the final validation loss in ``extra``.

``CASES``: the program on seeds 1-3, and one change each against the same seed's healthy run: learning_rate x10,
x100, x1000 and /1000, N(0, 1) weights in every Linear, ``nn.init.zeros_`` on ``backbone.l1`` (weight and bias),
raw pixels (the 0..16 values x16, MNIST's 0..255 range: no ``ToTensor`` scaling) for train and test, and the
example's ReLU on the logits.

Recorded (cases-public11, 145 s for the 16 runs, 5-16 s each): healthy 0.972 / 0.964 / 0.975 on seeds 1-3; lr x10
(1e-2) 0.981, healthy; lr x100 (0.1) 0.950 and 0.947, ambiguous (2.2 and 1.7 points below, loss up to 6.2 on the
way); lr x1000 (1.0) 0.100 and lr /1000 (1e-6) 0.153, broken; N(0, 1) init 0.906 and 0.914, ambiguous (first loss
~56, 5-7 points below); zeroed ``backbone.l1`` 0.081 on both seeds, broken; raw pixels x16 0.972 and 0.956,
ambiguous (as accurate as the program, but the first losses of 33-54 are over twice the control's largest);
the example's ReLU on the logits 0.581 and 0.669, broken.
"""

from __future__ import annotations

import contextlib
import io
import logging
import time
import warnings
from typing import Optional

import numpy as np
import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset, random_split

ARCH = "mlp"
MONITOR_AT = ("Trainer(callbacks=[GradmedicCallback(every=10, print_diagnosis=False)]) of "
              "gradmedic.integrations.lightning: statistics in on_before_optimizer_step (after backward, before "
              "optimizer.step()); loss from on_before_backward (the training_step's cross-entropy)")


def _digits(raw_pixels: bool = False):
    """(train, test) TensorDatasets of 1x8x8 digits: ToTensor's [0, 1] (values / 16), or raw values x16 (0..256)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)
    scale = 16.0 if raw_pixels else 1.0 / 16.0  # the bug: MNIST-like 0..255 values, no ToTensor scaling
    xtr, xte = (torch.tensor(x, dtype=torch.float32)[:, None] * scale for x in (xtr, xte))
    return TensorDataset(xtr, torch.tensor(ytr)), TensorDataset(xte, torch.tensor(yte))


def _modules():
    """The example's Backbone, LightningModule and LightningDataModule (lazily: lightning is imported on use)."""
    from lightning.pytorch import LightningDataModule, LightningModule

    class Backbone(torch.nn.Module):
        def __init__(self, hidden_dim=128, relu_logits=False):  # added: relu_logits (True: the example as written)
            super().__init__()
            self.relu_logits = relu_logits
            self.l1 = torch.nn.Linear(8 * 8, hidden_dim)  # changed: 8x8 digits instead of 28x28 MNIST
            self.l2 = torch.nn.Linear(hidden_dim, 10)

        def forward(self, x):
            x = x.view(x.size(0), -1)
            x = torch.relu(self.l1(x))
            return torch.relu(self.l2(x)) if self.relu_logits else self.l2(x)  # changed: see the docstring

    class LitClassifier(LightningModule):
        def __init__(self, backbone: Optional[Backbone] = None, learning_rate: float = 0.0001):  # noqa: UP045
            super().__init__()
            self.save_hyperparameters(ignore=["backbone"])
            if backbone is None:
                backbone = Backbone()
            self.backbone = backbone
            self.train_losses: list[float] = []  # added: the per-step losses, for the outcome
            self.val_losses: list[float] = []

        def forward(self, x):
            # use forward for inference/predictions
            return self.backbone(x)

        def training_step(self, batch, batch_idx):
            x, y = batch
            y_hat = self(x)
            loss = F.cross_entropy(y_hat, y)
            self.log("train_loss", loss, on_epoch=True)
            self.train_losses.append(loss.item())  # added
            return loss

        def validation_step(self, batch, batch_idx):
            x, y = batch
            y_hat = self(x)
            loss = F.cross_entropy(y_hat, y)
            self.log("valid_loss", loss, on_step=True)
            self.val_losses.append(loss.item())  # added

        def predict_step(self, batch, batch_idx, dataloader_idx=None):
            x, _ = batch
            return self(x)

        def configure_optimizers(self):
            # self.hparams available because we called self.save_hyperparameters()
            return torch.optim.Adam(self.parameters(), lr=self.hparams.learning_rate)

    class MyDataModule(LightningDataModule):
        def __init__(self, batch_size: int = 32, raw_pixels: bool = False):
            super().__init__()
            dataset, self.mnist_test = _digits(raw_pixels)
            self.mnist_train, self.mnist_val = random_split(
                dataset, [1293, 144], generator=torch.Generator().manual_seed(42)
            )
            self.batch_size = batch_size

        def train_dataloader(self):
            return DataLoader(self.mnist_train, batch_size=self.batch_size)

        def val_dataloader(self):
            return DataLoader(self.mnist_val, batch_size=self.batch_size)

        def predict_dataloader(self):
            return DataLoader(self.mnist_test, batch_size=self.batch_size)

    return Backbone, LitClassifier, MyDataModule


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, zero_layer: str | None = None,
          raw_pixels: bool = False, relu_logits: bool = False, max_epochs: int = 50, every: int = 10,
          verbose: bool = False) -> dict:
    import lightning.pytorch as pl

    from gradmedic.integrations.lightning import GradmedicCallback

    torch.set_num_threads(1)
    for name in ("lightning", "lightning.pytorch", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    Backbone, LitClassifier, MyDataModule = _modules()
    with contextlib.redirect_stdout(io.StringIO()):
        pl.seed_everything(1233 + seed, verbose=False)
    lr = 1e-3 * lr_mult
    model = LitClassifier(Backbone(relu_logits=relu_logits), learning_rate=lr)
    if init_std is not None:  # the bug: every Linear weight ~ N(0, init_std^2) (biases kept)
        for m in model.modules():
            if isinstance(m, torch.nn.Linear):
                torch.nn.init.normal_(m.weight, std=init_std)
    if zero_layer:  # the bug: nn.init.zeros_ on a layer's weight and bias
        layer = model.get_submodule(zero_layer)
        torch.nn.init.zeros_(layer.weight)
        torch.nn.init.zeros_(layer.bias)
    dm = MyDataModule(raw_pixels=raw_pixels)
    cb = GradmedicCallback(every=every, flush_every=50, print_diagnosis=False)
    trainer = pl.Trainer(max_epochs=max_epochs, accelerator="cpu", devices=1, logger=False, callbacks=[cb],
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    t0 = time.time()
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()) as out:
        warnings.simplefilter("ignore")
        trainer.fit(model, datamodule=dm)
        predictions = trainer.predict(model, datamodule=dm)
    logits = torch.cat(predictions)
    yte = dm.mnist_test.tensors[1]
    acc = float((logits.argmax(1) == yte).float().mean())
    tl = np.asarray(model.train_losses, dtype=float)
    vl = np.asarray(model.val_losses, dtype=float)
    if verbose:
        print(out.getvalue()[-2000:])
        for i in range(0, len(tl), 205):
            print(f"step {i:4d} train_loss {np.mean(tl[i:i + 205]):.4f}")
        print(f"test accuracy {acc:.4f}")
    n_val = -(-144 // 32)
    return {"monitors": {"": cb.monitor}, "metric": "accuracy", "value": acc, "chance": 0.1, "initial": None,
            "initial_what": "chance accuracy 0.1",
            "extra": {"first_loss": float(np.mean(tl[:5])) if len(tl) else None,
                      "last_loss": float(np.mean(tl[-20:])) if len(tl) >= 20 else None,
                      "val_loss": float(np.mean(vl[-n_val:])) if len(vl) else None,
                      "steps": int(trainer.global_step), "lr": lr, "train_images": 1293, "test_images": len(yte)},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="litclassifier", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


CASES: list[dict] = (
    [_case(f"litcls_healthy_s{s}", "healthy", s, {}, "unchanged (Adam lr 1e-3, cross-entropy on the logits, "
           "[0, 1] pixels, batch 32; 50 epochs of 41 steps)", False) for s in (1, 2, 3)]
    + [_case(f"litcls_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"learning_rate x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case(f"litcls_lr_div1000_s{s}", "lr_low", s, {"lr_mult": 1e-3}, "learning_rate /1000 (1e-06)") for s in (1,)]
    + [_case(f"litcls_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Linear weight instead of PyTorch's default U(+-1/sqrt(fan_in)) (biases "
             "kept)") for s in (1, 2)]
    + [_case(f"litcls_zero_l1_s{s}", "symmetric_init", s, {"zero_layer": "backbone.l1"},
             "nn.init.zeros_ on the Backbone's first Linear's weight and bias (backbone.l1, 64 -> 128)")
       for s in (1, 2)]
    + [_case(f"litcls_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             "raw pixel values x16 (0..256, MNIST's 0..255 range) for train and test: no ToTensor scaling")
       for s in (1, 2)]
    + [_case(f"litcls_relu_logits_s{s}", "dead_relu", s, {"relu_logits": True},
             "the example's Backbone as written: torch.relu(self.l2(x)), a ReLU on the logits fed to F.cross_entropy")
       for s in (1, 2)]
)


if __name__ == "__main__":
    import sys
    r = train(verbose=True, **({"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}))
    print({k: v for k, v in r.items() if k != "monitors"})
