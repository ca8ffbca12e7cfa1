"""Sebastian Raschka's fully connected GAN (deeplearning-models' model zoo, "Generative Adversarial Networks
(GAN)") on scikit-learn's 8x8 digits instead of MNIST, watched by gradmedic with one monitor per net.

Adapted from https://github.com/rasbt/deeplearning-models (commit 18e046926551378cd691fd871dda0f21dcd272ab, the
newest stored; the notebook was last changed in 4cafbb80fea57eb10e382e498ca74dc9c240d3e2; pytorch_ipynb/gan/gan.ipynb,
the fully connected one, not gan-conv.ipynb; MIT License, Copyright (c) 2019-2022 Sebastian Raschka, see
LICENSE-rasbtgan).

Kept as in the notebook (code copied below): the settings (both learning rates 0.001, NUM_EPOCHS 100, BATCH_SIZE
128, LATENT_DIM 75), the ``GAN`` module with its ``generator`` (Linear(75, 128), LeakyReLU(inplace=True),
Dropout(0.5), Linear(128, IMG_SIZE), Tanh) and ``discriminator`` (Linear(IMG_SIZE, 128), LeakyReLU(inplace=True),
Dropout(0.5), Linear(128, 1), Sigmoid) with PyTorch's default init, ``torch.optim.Adam`` for each with its default
betas, ``shuffle=True`` without drop_last (the last batch of each epoch is 5 images), ``model.train()`` every epoch
(Dropout on in both nets throughout), and the loop line for line: ``features = (features - 0.5)*2.`` (the [0, 1]
images to the Tanh's [-1, 1]), ``valid``/``fake`` targets, z ``uniform_(-1.0, 1.0)``; the generator's step first
(``generated_features = model.generator_forward(z)``, ``gener_loss = F.binary_cross_entropy(
model.discriminator_forward(generated_features), valid)``, ``optim_gener.zero_grad()``, ``backward``, ``step``),
then the discriminator's (real against valid, ``generated_features.detach()`` against fake, ``discr_loss =
0.5*(real_loss + fake_loss)``, ``optim_discr.zero_grad()``, ``backward``, ``step``).  ``gener_loss.backward()``
leaves gradients on the discriminator, which ``optim_discr.zero_grad()`` clears before its own backward, as
upstream.

Changed to run offline on one CPU thread without torchvision: MNIST is scikit-learn's ``load_digits`` (all 1797
images, 8x8, 0..16 divided by 16 for ``ToTensor``'s [0, 1]), so IMG_SHAPE is (1, 8, 8) and IMG_SIZE 64 instead of
784; 100 epochs of 15 steps (1500 steps) instead of 100 of 469 (the run takes 12-15 s of CPU, more wall time on the
shared machine); ``torch.manual_seed(seed)`` instead of ``random_seed = 123`` and the DataLoader's shuffling by a
generator seeded with the run's seed; device "cpu"; ``discriminator_forward`` calls ``self.discriminator`` where
upstream calls the global ``model.discriminator`` (the same object); the losses are recorded as floats (upstream
appends the tensors); no printouts, plots or image grid (the per-step losses, D(x) and D(G(z)) are recorded
instead).  The variants' switches are ``train``'s keywords.

The watch, as a user would add it: two monitors built right after the optimizers, ``mon_g =
gradmedic.watch(model.generator, optim_gener, every=10)`` stepped with ``gener_loss`` right after
``gener_loss.backward()``, before ``optim_gener.step()``, and ``mon_d = gradmedic.watch(model.discriminator,
optim_discr, every=10)`` stepped with ``discr_loss`` right after ``discr_loss.backward()``, before
``optim_discr.step()``; both closed after the loop.  (D's forward in the generator's step runs D's hooks too, as for
any user.)  Saved as two parts in train()'s order, ``gen`` first (the loop trains the generator first; run.py's
loss-range check reads the first part), then ``disc``.

Outcome, as fcgan.py's (metric ``frechet_8x8``, run.py's GAN rules): the Frechet distance (dcgan.py's ``frechet``,
FID's squared distance between Gaussians fitted by mean and covariance) between 1000 generated digits and the 1797
real ones in the 64-pixel space of the [-1, 1] images, measured once after training; the noise is drawn as the
loop draws it (``uniform_(-1.0, 1.0)``, 75 values) from a generator seeded 1000 + seed, apart from training, and the
generator is in eval mode (Dropout off) as in upstream's visualization cell.  Lower is better; the untrained
generator's distance is the reference.  For the raw-pixel variant the generator is measured against the [-1, 1]
digits like every run.  Extras as fcgan.py's: ``final_D_x``, ``final_D_G_z1`` (the discriminator's step, mean of the
last 20 steps), ``final_d_loss``, ``final_g_loss``, the largest losses, and the generated pixels' spread across
samples (the real digits': 0.46).

``CASES`` (in the shape of run.py's ``case()``, program "rasbtgan"): the program on seeds 1-3, and one change each
against the same seed's healthy run: both learning rates x10, x100 (seeds 1 and 2), /1000; the real images unscaled
(x255: MNIST's raw 0..255 pixels without ``ToTensor``'s scaling, so ``(features - 0.5)*2.`` spans -1..509; seeds 1 and
2); ``normal_(std=1.0)`` on every Linear weight of both nets; every weight and bias of the generator zero;
``optim_discr.zero_grad()`` left out; ``optim_gener.zero_grad()`` left out; the generator's target ``fake`` instead of
``valid`` (a wrong loss: it minimizes D's belief in its images); both learning rates x2 (expected harmless).  Labels
come from run.py's outcome rules only.  (A ``generated_features.detach()`` in the generator's step too, no gradient
reaching the generator, was a case at first, but the generator's ``monitor.step`` raises WatchError "step() found no
gradients" at the first step, so that run cannot be watched to its end; it was replaced by ``optim_gener.zero_grad()``
left out.)
Recorded (cases-public42; 19-40 s of training a run on the shared machine, the 15 runs in about 6.5 min):
Healthy programs: distance 7.39, 6.79 and 7.03 on seeds 1-3 from the untrained generator's 44.4, 41.9 and 43.2 (last
steps' D(x) 0.57-0.63, D(G(z)) 0.37-0.43; gener_loss at most 2.2-2.5; the generated pixels' spread across samples
0.34-0.36 against the real 0.46).  Healthy: both rates x2, 5.80 (D(x) 0.59).  Broken: both rates x10, 33.7 (D wins:
D(x) 0.98, D(G(z)) 0.009, gener_loss 28); x100 on seeds 1 and 2, 86.6 and 122 (D(x) 1.00, D(G(z)) 0.00,
gener_loss 100, the spread 0.01-0.03); /1000, 44.2 (nothing learned); the raw 0..255 images on seeds 1 and 2, 86.7
and 97.3 (D(x) 1.00, discr_loss up to 22.5 and 9.1, the spread 0.06-0.07); N(0, 1) init, 34.0 from an untrained
63.2 (gener_loss up to 100, discr_loss up to 34); ``optim_gener.zero_grad()`` left out, 40.2 (D(x) 0.99, D(G(z))
0.004, gener_loss up to 21); the generator's target fake, 108 (D(x) 1.00, D(G(z)) 0.00, both losses 0.000, the
spread 0.07).  Ambiguous (not 4x their control's distance, not healthy by run.py's rules): the generator all zeros,
21.3 from an untrained 45.9 (the spread exactly 0.0: one image for every z; D(x) 0.995, D(G(z)) 0.007);
``optim_discr.zero_grad()`` left out, 27.6 (D(x) 0.99 and D(G(z)) 1.00, discr_loss 50, the spread 0.07).  Labels: 4
healthy (3 programs, lr x2), 9 broken, 2 ambiguous.  Every loss finite in every run.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from dcgan import frechet
from torch.utils.data import DataLoader, TensorDataset

import gradmedic

ARCH = "gan"
PARTS = ("gen", "disc")  # the two monitors' files, {name}_gen.npz and {name}_disc.npz, in train()'s order
MONITOR_AT = ("two monitors built right after the optimizers: the generator's (watch(model.generator, optim_gener, "
              "every=10)) stepped with gener_loss right after gener_loss.backward(), before optim_gener.step(); the "
              "discriminator's (watch(model.discriminator, optim_discr, every=10)) stepped with discr_loss right after "
              "discr_loss.backward(), before optim_discr.step(); the generator's step comes first in each iteration")

##########################
### SETTINGS
##########################

# Hyperparameters
random_seed = 123
generator_learning_rate = 0.001
discriminator_learning_rate = 0.001
NUM_EPOCHS = 100
BATCH_SIZE = 128
LATENT_DIM = 75
IMG_SHAPE = (1, 8, 8)  # upstream: (1, 28, 28)
IMG_SIZE = 1
for x in IMG_SHAPE:
    IMG_SIZE *= x


def digits01() -> torch.Tensor:
    """All 1797 of scikit-learn's 8x8 digits as ToTensor() gives an image: (1797, 1, 8, 8) in [0, 1]."""
    from sklearn.datasets import load_digits

    return torch.tensor(load_digits().images, dtype=torch.float32).unsqueeze(1) / 16.0


##########################
### MODEL
##########################


class GAN(torch.nn.Module):

    def __init__(self):
        super(GAN, self).__init__()  # noqa: UP008 (as in the notebook)

        self.generator = nn.Sequential(
            nn.Linear(LATENT_DIM, 128),
            nn.LeakyReLU(inplace=True),
            nn.Dropout(p=0.5),
            nn.Linear(128, IMG_SIZE),
            nn.Tanh()
        )

        self.discriminator = nn.Sequential(
            nn.Linear(IMG_SIZE, 128),
            nn.LeakyReLU(inplace=True),
            nn.Dropout(p=0.5),
            nn.Linear(128, 1),
            nn.Sigmoid()
        )

    def generator_forward(self, z):
        img = self.generator(z)
        return img

    def discriminator_forward(self, img):
        pred = self.discriminator(img)  # upstream: model.discriminator(img) (the global model: this same object)
        return pred.view(-1)


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, init_std: float | None = None,
          zero_g: bool = False, d_zero_grad: bool = True, g_zero_grad: bool = True, g_target: str = "valid",
          num_epochs: int = NUM_EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    """``lr_mult``: both Adam rates (0.001) times this; ``input_scale``: the [0, 1] images times this before
    ``(features - 0.5)*2.`` (255: raw pixels, ToTensor's scaling left out); ``init_std``: normal_(0, init_std) on
    every Linear weight of both nets; ``zero_g``: the generator's weights and biases zeros; ``d_zero_grad=False``:
    ``optim_discr.zero_grad()`` left out; ``g_zero_grad=False``: ``optim_gener.zero_grad()`` left out;
    ``g_target="fake"``: the generator's BCE target zeros instead of ones."""
    torch.set_num_threads(1)
    device = torch.device("cpu")  # upstream: "cuda:2" if available

    data = digits01() * input_scale
    train_loader = DataLoader(dataset=TensorDataset(data, torch.zeros(len(data), dtype=torch.long)),
                              batch_size=BATCH_SIZE,
                              shuffle=True, generator=torch.Generator().manual_seed(seed))

    torch.manual_seed(seed)  # upstream: torch.manual_seed(random_seed)

    model = GAN()
    model = model.to(device)
    with torch.no_grad():  # the variants' inits (none upstream)
        if init_std is not None:
            for m in model.modules():
                if isinstance(m, nn.Linear):
                    m.weight.normal_(0.0, init_std)
        if zero_g:
            for p in model.generator.parameters():
                p.zero_()

    optim_gener = torch.optim.Adam(model.generator.parameters(), lr=generator_learning_rate * lr_mult)
    optim_discr = torch.optim.Adam(model.discriminator.parameters(), lr=discriminator_learning_rate * lr_mult)
    mon_g = gradmedic.watch(model.generator, optim_gener, every=every)  # gradmedic
    mon_d = gradmedic.watch(model.discriminator, optim_discr, every=every)  # gradmedic

    # the outcome, as fcgan.py's: 1000 generated digits (noise as the loop draws it, from a generator seeded apart
    # from training; the generator in eval mode as upstream's visualization has it) against the 1797 real ones in the
    # 64-pixel space of the [-1, 1] images: dcgan.py's frechet (FID's squared distance)
    real_all = ((digits01() - 0.5) * 2.).view(-1, IMG_SIZE).double().numpy()
    eval_z = torch.zeros((1000, LATENT_DIM)).uniform_(-1.0, 1.0, generator=torch.Generator().manual_seed(1000 + seed))

    def sample_fd():
        was = model.training
        model.eval()
        with torch.no_grad():
            f = model.generator_forward(eval_z).double().numpy()
        model.train(was)
        if not np.isfinite(f).all():
            return float("nan")
        with warnings.catch_warnings():  # sqrtm's "singular matrix" warning (a collapsed generator), as mlbgan.py
            warnings.simplefilter("ignore")
            return frechet(f, real_all)

    fd_start = sample_fd()

    start_time = time.time()

    discr_costs = []
    gener_costs = []
    d_x, d_g_z = [], []
    for epoch in range(num_epochs):
        model = model.train()
        for _batch_idx, (features, targets) in enumerate(train_loader):

            features = (features - 0.5)*2.
            features = features.view(-1, IMG_SIZE).to(device)
            targets = targets.to(device)

            valid = torch.ones(targets.size(0)).float().to(device)
            fake = torch.zeros(targets.size(0)).float().to(device)

            ### FORWARD AND BACK PROP

            # --------------------------
            # Train Generator
            # --------------------------

            # Make new images
            z = torch.zeros((targets.size(0), LATENT_DIM)).uniform_(-1.0, 1.0).to(device)
            generated_features = model.generator_forward(z)

            # Loss for fooling the discriminator
            discr_pred = model.discriminator_forward(generated_features)

            gener_loss = F.binary_cross_entropy(discr_pred, fake if g_target == "fake" else valid)

            if g_zero_grad:  # the no_zero_grad variant of the generator leaves this out
                optim_gener.zero_grad()
            gener_loss.backward()
            mon_g.step(gener_loss)  # gradmedic
            optim_gener.step()

            # --------------------------
            # Train Discriminator
            # --------------------------

            discr_pred_real = model.discriminator_forward(features.view(-1, IMG_SIZE))
            real_loss = F.binary_cross_entropy(discr_pred_real, valid)

            discr_pred_fake = model.discriminator_forward(generated_features.detach())
            fake_loss = F.binary_cross_entropy(discr_pred_fake, fake)

            discr_loss = 0.5*(real_loss + fake_loss)

            if d_zero_grad:  # the no_zero_grad variant leaves this out
                optim_discr.zero_grad()
            discr_loss.backward()
            mon_d.step(discr_loss)  # gradmedic
            optim_discr.step()

            discr_costs.append(discr_loss.item())  # upstream: the tensors
            gener_costs.append(gener_loss.item())
            d_x.append(discr_pred_real.mean().item())
            d_g_z.append(discr_pred_fake.mean().item())

        if verbose and ((epoch + 1) % 10 == 0 or epoch == 0):
            print(f'Epoch: {epoch + 1:03d}/{num_epochs:03d} | Gen/Dis Loss: {np.mean(gener_costs[-15:]):.4f}/'
                  f'{np.mean(discr_costs[-15:]):.4f} | D(x) {np.mean(d_x[-15:]):.3f} D(G(z)) {np.mean(d_g_z[-15:]):.3f}'
                  f' | FD {sample_fd():.3f} | {time.time() - start_time:.1f}s', flush=True)
    mon_g.close()
    mon_d.close()
    seconds = time.time() - start_time

    fd = sample_fd()
    last = {k: float(np.mean(v[-20:])) for k, v in (("d_loss", discr_costs), ("g_loss", gener_costs),
                                                      ("D_x", d_x), ("D_G_z1", d_g_z))}
    with torch.no_grad():
        model.eval()
        p = model.generator_forward(eval_z).double().numpy()
    extra = {"fd_untrained_G": fd_start, **{f"final_{k}": v for k, v in last.items()},
             "max_g_loss": float(np.nanmax(gener_costs)), "max_d_loss": float(np.nanmax(discr_costs)),
             "finite_losses": bool(np.isfinite(gener_costs).all() and np.isfinite(discr_costs).all()),
             "steps": len(discr_costs), "epochs": num_epochs, "lr": generator_learning_rate * lr_mult,
             "lr_mult": lr_mult, "input_scale": input_scale, "init_std": init_std, "zero_g": zero_g,
             "d_zero_grad": d_zero_grad, "g_zero_grad": g_zero_grad, "g_target": g_target}
    if np.isfinite(p).all():
        extra.update(gen_pixel_std_over_samples=float(p.std(0).mean()),
                     real_pixel_std_over_samples=float(real_all.std(0).mean()))
    return {"monitors": {"gen": mon_g, "disc": mon_d}, "metric": "frechet_8x8",
            "value": float(fd) if np.isfinite(fd) else float("nan"), "initial": float(fd_start),
            "chance": float(fd_start), "initial_what": "untrained generator", "extra": extra, "seconds": seconds}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="rasbtgan", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"fully connected GAN (G 75-128-64 LeakyReLU Dropout(0.5) Tanh, D 64-128-1 LeakyReLU Dropout(0.5) Sigmoid, "
      f"default init; both Adam lr {generator_learning_rate:g}; F.binary_cross_entropy; uniform z; batch {BATCH_SIZE}, "
      f"{NUM_EPOCHS} epochs of 15 steps; G's step then D's)")
CASES: list[dict] = (
    [_case(f"rasbtgan_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"rasbtgan_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: both Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("rasbtgan_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: both Adam lr /1000 (1e-06)")]
    + [_case(f"rasbtgan_raw_pixels_s{s}", "unscaled_inputs", s, {"input_scale": 255.0},
             f"{_P}: the real images unscaled (x255: raw 0..255 pixels, ToTensor's scaling left out, so "
             f"(features - 0.5)*2. spans -1..509); the generator is measured against the [-1, 1] digits as usual")
       for s in (1, 2)]
    + [_case("rasbtgan_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every Linear weight of both nets")]
    + [_case("rasbtgan_zero_g_s1", "symmetric_init", 1, {"zero_g": True},
             f"{_P}: every weight and bias of the generator zero")]
    + [_case("rasbtgan_no_zero_grad_d_s1", "no_zero_grad", 1, {"d_zero_grad": False},
             f"{_P}: optim_discr.zero_grad() left out (D's gradients accumulate, the generator step's backward "
             f"through D adds to them too)")]
    + [_case("rasbtgan_no_zero_grad_g_s1", "no_zero_grad", 1, {"g_zero_grad": False},
             f"{_P}: optim_gener.zero_grad() left out (G's gradients accumulate)")]
    + [_case("rasbtgan_g_target_fake_s1", "wrong_loss", 1, {"g_target": "fake"},
             f"{_P}: the generator's binary_cross_entropy target fake (zeros) instead of valid (ones)")]
    + [_case("rasbtgan_lr_x2_s1", "lr_high", 1, {"lr_mult": 2}, f"{_P}: both Adam lr x2 (0.002)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k not in ("monitors",)})
