"""Lightning's MNIST autoencoder example (LitAutoEncoder, Adam, MSE) fit by the Lightning Trainer, watched by gradmedic.

Adapted from https://github.com/Lightning-AI/pytorch-lightning (commit 7f0c3436cd3f6ad3753125672024fc415cbcb414,
examples/pytorch/basics/autoencoder.py; Apache-2.0, Copyright The Lightning AI team, see LICENSE-lightning), run
with the installed ``lightning`` (2.6.6 when recorded).  Kept as in the example: ``LitAutoEncoder`` (copied
below: encoder ``Linear(784, 64)``-ReLU-``Linear(64, 3)``, decoder ``Linear(3, 64)``-ReLU-``Linear(64, 784)``,
``F.mse_loss(x, self(x))`` logged as ``{stage}_loss`` with ``on_step=True``, ``torch.optim.Adam(lr=
hparams.learning_rate)``, hidden_dim 64), ``MyDataModule``'s shape (the
training images split by ``random_split`` with ``torch.Generator().manual_seed(42)`` into train and validation,
``DataLoader``s of batch 32 without shuffling, ``transforms.ToTensor()``: pixels in [0, 1], no Normalize),
``max_epochs`` 50 (the run the example's docstring gives: ``--trainer.max_epochs=50``; its ``trainer_defaults``
say 10), ``trainer.fit(model, datamodule=...)`` with the validation loop, ``seed_everything`` (the CLI's
``seed_everything_default`` 1234, here ``1233 + seed``).

Changed to run offline on one CPU thread without torchvision (which does not import here): the data is
scikit-learn's ``load_digits`` upsampled to 28x28 (``digits28`` of mnist.py, taken as raw 0..255 values and
divided by 255 as ``ToTensor`` does: the 1437 training images split 1293/144 instead of MNIST's 55000/5000; the
360 test images are not used: no ``trainer.test``/``predict``, no checkpoint to load them from); no
``LightningCLI`` (the model, data module and Trainer are built in code with the CLI's defaults), no
``ImageSampler`` callback (it saves image grids with torchvision), ``accelerator="cpu"``, ``devices=1``,
``logger=False``, ``enable_checkpointing=False``, no progress bar or model summary.  50 epochs of 41 steps
(2050 optimizer steps).  The learning rate is 1e-3 (``--model.learning_rate=1e-3``; documented choice): at the
example's default ``10e-3`` on these 1293 images every ReLU of the encoder's hidden layer dies within the first
epochs on seed 1 (0 of 64 units active on the training images after 10 epochs, 1 of 64 on seed 2) and the
decoder outputs the mean image (loss 0.0466 = the mean image's MSE); at 1e-3 15-26 units stay active and the
three seeds reach 0.017-0.018 in 50 epochs.  The example's default is thus the lr x10 variant.

The watch, as a Lightning user would: ``Trainer(callbacks=[GradmedicCallback(every=10, flush_every=50,
print_diagnosis=False)])`` from ``gradmedic.integrations.lightning`` (statistics in ``on_before_optimizer_step``:
before any clipping and ``optimizer.step()``; the loss Lightning backpropagates, from ``on_before_backward``);
the monitor is ``callback.monitor``.  The callback computes no diagnosis unless its ``diagnosis`` is
read, and with ``print_diagnosis=False`` nobody reads it (the corpus is a held-out test set: the doctor is never
run while recording it); ``stop_on`` stays None, so no flush judges either.

Metric: the training reconstruction loss (the ``train_loss`` of each step), mean of the last 20 steps against
the mean of the first 5; the final validation loss in ``extra``.  For ``raw_pixels`` (the images fed as
0..255 values; the loss is then the MSE of 0..255 reconstructions) the metric and its start are divided by
255^2, to be in the units of the [0, 1] images as the control's.

``CASES`` (in the shape of run.py's ``case()``): the program on seeds 1-3, and one change each against the
same seed's healthy run: learning_rate x10, x100, x1000 and /1000, N(0, 1) weights in every Linear,
``nn.init.zeros_`` on the first encoder Linear (weight and bias), raw 0..255 pixels, and two runs of the program
as Lightning users also run it (cause "healthy", against the same seed's run): ``accumulate_grad_batches=4``
and ``gradient_clip_val=1.0``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from mnist import digits28
from torch import nn
from torch.utils.data import DataLoader, random_split

ARCH = "autoencoder"
MONITOR_AT = ("Trainer(callbacks=[GradmedicCallback(every=10, print_diagnosis=False)]) of gradmedic.integrations.lightning: "
              "statistics in on_before_optimizer_step (after accumulation, before clipping and optimizer.step()); loss "
              "from on_before_backward (the training_step's MSE)")


def _modules():
    """The example's LightningModule and LightningDataModule (defined lazily: lightning is imported on use)."""
    from lightning.pytorch import LightningDataModule, LightningModule

    class LitAutoEncoder(LightningModule):
        def __init__(self, hidden_dim: int = 64, learning_rate=10e-3):
            super().__init__()
            self.save_hyperparameters()
            self.encoder = nn.Sequential(nn.Linear(28 * 28, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, 3))
            self.decoder = nn.Sequential(nn.Linear(3, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, 28 * 28))
            self.train_losses: list[float] = []  # added: the per-step training loss, for the metric
            self.val_losses: list[float] = []

        def forward(self, x):
            z = self.encoder(x)
            return self.decoder(z)

        def training_step(self, batch, batch_idx):
            return self._common_step(batch, batch_idx, "train")

        def validation_step(self, batch, batch_idx):
            self._common_step(batch, batch_idx, "val")

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=self.hparams.learning_rate)

        def _prepare_batch(self, batch):
            x, _ = batch
            return x.view(x.size(0), -1)

        def _common_step(self, batch, batch_idx, stage: str):
            x = self._prepare_batch(batch)
            loss = F.mse_loss(x, self(x))
            self.log(f"{stage}_loss", loss, on_step=True)
            (self.train_losses if stage == "train" else self.val_losses).append(loss.item())  # added
            return loss

    class MyDataModule(LightningDataModule):
        def __init__(self, batch_size: int = 32, raw_pixels: bool = False):
            super().__init__()
            dataset, _ = digits28(raw_pixels=True)  # 0..255 values (MNIST's uint8 pixels)
            if not raw_pixels:  # transforms.ToTensor(): [0, 1]
                dataset = torch.utils.data.TensorDataset(dataset.tensors[0] / 255.0, dataset.tensors[1])
            self.mnist_train, self.mnist_val = random_split(
                dataset, [1293, 144], generator=torch.Generator().manual_seed(42)
            )
            self.batch_size = batch_size

        def train_dataloader(self):
            return DataLoader(self.mnist_train, batch_size=self.batch_size)

        def val_dataloader(self):
            return DataLoader(self.mnist_val, batch_size=self.batch_size)

    return LitAutoEncoder, MyDataModule


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, zero_layer: str | None = None,
          raw_pixels: bool = False, accumulate_grad_batches: int = 1, gradient_clip_val: float | None = None,
          max_epochs: int = 50, every: int = 10, verbose: bool = False) -> dict:
    import lightning.pytorch as pl

    from gradmedic.integrations.lightning import GradmedicCallback

    torch.set_num_threads(1)
    for name in ("lightning", "lightning.pytorch", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    LitAutoEncoder, MyDataModule = _modules()
    with contextlib.redirect_stdout(io.StringIO()):
        pl.seed_everything(1233 + seed, verbose=False)
    model = LitAutoEncoder(learning_rate=1e-3 * lr_mult)
    if init_std is not None:  # the bug: every Linear weight ~ N(0, init_std^2) (biases kept)
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=init_std)
    if zero_layer:  # the bug: nn.init.zeros_ on a layer's weight and bias
        layer = model.get_submodule(zero_layer)
        nn.init.zeros_(layer.weight)
        nn.init.zeros_(layer.bias)
    dm = MyDataModule(raw_pixels=raw_pixels)
    cb = GradmedicCallback(every=every, flush_every=50, print_diagnosis=False)
    trainer = pl.Trainer(max_epochs=max_epochs, accelerator="cpu", devices=1, logger=False, callbacks=[cb],
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         accumulate_grad_batches=accumulate_grad_batches, gradient_clip_val=gradient_clip_val)
    t0 = time.time()
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()) as out:
        warnings.simplefilter("ignore")
        trainer.fit(model, datamodule=dm)
    if verbose:
        print(out.getvalue()[-2000:])
        tl = model.train_losses
        for i in range(0, len(tl), 205):
            print(f"step {i:4d} train_loss {np.mean(tl[i:i + 205]):.4f}")
    unit = 255.0 ** 2 if raw_pixels else 1.0
    tl = np.asarray(model.train_losses, dtype=float) / unit
    vl = np.asarray(model.val_losses, dtype=float) / unit
    n_val = -(-144 // 32)
    value = float(np.mean(tl[-20:])) if np.isfinite(tl[-20:]).all() else float("nan")
    return {"monitors": {"": cb.monitor}, "metric": "train_loss", "value": value, "initial": float(np.mean(tl[:5])),
            "initial_what": "untrained: mean training reconstruction loss (MSE of [0, 1] pixels) of the first 5 steps",
            "extra": {"val_loss": float(np.mean(vl[-n_val:])) if len(vl) else None, "steps": int(trainer.global_step),
                      "micro_batches": len(tl), "lr": 1e-3 * lr_mult,
                      "loss_unit": "MSE of [0, 1] pixels" + (" (raw loss / 255^2)" if unit > 1 else "")},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="lightning_ae", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


CASES: list[dict] = (
    [_case(f"lae_healthy_s{s}", "healthy", s, {}, "unchanged (Adam lr 1e-3, MSE on [0, 1] pixels, batch 32; "
           "50 epochs of 41 steps)", False) for s in (1, 2, 3)]
    + [_case(f"lae_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"learning_rate x{k} ({1e-3 * k:g})" + (
                 " (the example's default 10e-3)" if k == 10 else ""))
       for k, ss in ((10, (1, 2)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case(f"lae_lr_div1000_s{s}", "lr_low", s, {"lr_mult": 1e-3}, "learning_rate /1000 (1e-06)") for s in (1, 2)]
    + [_case(f"lae_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             "nn.init.normal_(std=1.0) on every Linear weight instead of PyTorch's default U(+-1/sqrt(fan_in)) (biases "
             "kept)") for s in (1, 2)]
    + [_case(f"lae_zero_enc0_s{s}", "symmetric_init", s, {"zero_layer": "encoder.0"},
             "nn.init.zeros_ on the first encoder Linear's weight and bias (encoder.0, 784 -> 64)") for s in (1, 2)]
    + [_case(f"lae_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
             "raw 0..255 pixel values (no ToTensor scaling) as input and reconstruction target; the metric is the "
             "loss / 255^2") for s in (1, 2)]
    + [_case("lae_accum4_s1", "healthy", 1, {"accumulate_grad_batches": 4},
             "Trainer(accumulate_grad_batches=4): one optimizer step per 4 batches of 32 (11 per epoch of 41 batches)")]
    + [_case("lae_clip1_s1", "healthy", 1, {"gradient_clip_val": 1.0}, "Trainer(gradient_clip_val=1.0) (norm clipping)")]
)


if __name__ == "__main__":
    import sys
    r = train(verbose=True, **({"lr_mult": float(sys.argv[1])} if len(sys.argv) > 1 else {}))
    print({k: v for k, v in r.items() if k != "monitors"})
