"""Dive into Deep Learning (d2l-ai/d2l-en): the basic GAN on Gaussian data (a Linear(2, 2) generator, a small tanh
MLP discriminator), watched by gradmedic with one monitor per net.

Adapted from https://github.com/d2l-ai/d2l-en (commit 23d7a5aecceee57d1292c56e90cce307f183bb0a, the newest; the file
was last changed in 0f4e57be684684d5619bce727690bea54269849d), chapter_generative-adversarial-networks/gan.md, the
PyTorch tab (the book's sample code is under the modified MIT licence of LICENSE-SAMPLECODE, see LICENSE-d2lgan),
with ``d2l.load_array`` from d2l/torch.py (``DataLoader(TensorDataset(*data_arrays), batch_size, shuffle=True)``).

Kept as in the book: the "real" data ``X = d2l.normal(0.0, 1, (1000, 2))``, ``A = [[1, 2], [-0.1, 0.5]]``,
``b = [1, 2]``, ``data = X @ A + b`` (a Gaussian of mean b and covariance A^T A); ``batch_size = 8`` with
``load_array`` (shuffled); ``net_G = nn.Sequential(nn.Linear(2, 2))``; ``net_D = nn.Sequential(nn.Linear(2, 5),
nn.Tanh(), nn.Linear(5, 3), nn.Tanh(), nn.Linear(3, 1))``; ``update_D`` (``trainer_D.zero_grad()``, ``net_D`` on the
real batch against ones and on ``net_G(Z).detach()`` against zeros, ``loss_D = (... + ...) / 2``, ``backward``,
``trainer_D.step()``) and ``update_G`` (``trainer_G.zero_grad()``, ``fake_Y = net_D(net_G(Z))`` against ones,
``backward``, ``trainer_G.step()``; the gradients this leaves on net_D are cleared by the next update_D's zero_grad)
line for line; ``train``: ``nn.BCEWithLogitsLoss(reduction='sum')``, ``nn.init.normal_(w, 0, 0.02)`` on every
parameter (weights and biases) of both nets, ``torch.optim.Adam(net_D.parameters(), lr=lr_D)`` and
``Adam(net_G.parameters(), lr=lr_G)``, per batch ``Z = torch.normal(0, 1, size=(batch_size, latent_dim))`` then
update_D then update_G with the same Z, the per-epoch ``Accumulator`` of loss_D, loss_G and examples; the
hyperparameters ``lr_D, lr_G, latent_dim, num_epochs = 0.05, 0.005, 2, 20`` (all 20 epochs of 125 steps: 2500
updates of each net; a run took 20-44 s on the shared machine while other sessions ran).

Changed: ``torch.manual_seed(seed)`` before the data are drawn (the book does not seed); the Animator and the
per-epoch scatter of 100 generated points (plots only) are left out, and so is the final print (the same numbers go
to the extras); ``update_D``/``update_G`` take the run's monitor as one more argument (to call ``monitor.step``) and
the variants' switches; ``train`` returns what the benchmark needs.

The watch, as a user would: two monitors, ``mon_D = gradmedic.watch(net_D, trainer_D, every=10)`` and ``mon_G =
gradmedic.watch(net_G, trainer_G, every=10)`` right after the two optimizers are built; ``mon_D.step(loss_D)`` right
after ``loss_D.backward()`` in update_D, before ``trainer_D.step()``; ``mon_G.step(loss_G)`` right after
``loss_G.backward()`` in update_G, before ``trainer_G.step()``; both closed after the loop.  Saved as two parts,
``netD`` first (run.py's loss-range check reads the first part), then ``netG``.

Outcome (metric "loss", lower is better): the losses of a GAN do not say how good its generator is, so the metric is
how far the generator's distribution is from the data: the Frechet distance (the square root of the FID formula
|mu1-mu2|^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2)) between the Gaussian fitted to the 1000 real points (their
mean and covariance) and the generator's output distribution. net_G is affine and Z is N(0, I), so that distribution
is exactly the Gaussian N(bias, W W^T) of net_G's Linear: no sampling. It is computed before training ("initial":
the untrained generator, ~3.2 with its N(0, 0.02) weights, all its output near the origin) and after every epoch;
the outcome is the mean of the last 5 epochs' distances (a GAN's distance oscillates). For the data-x100 variant the
distance is taken to the data that run was given (x100) and divided by 100, so that it is on the healthy runs' scale
(its initial value, 3.245 on seed 1, is near the healthy run's 3.231). (The closed form, the mean of the last 5
epochs and the /100 were fixed before any variant ran.) Extras: the distance per epoch, the generated mean and
covariance, the last epoch's loss_D and loss_G per example (the book's printed numbers).

``CASES`` (name prefix ``d2lgan``): the program on seeds 1-3, and one change each against the same seed's healthy
run: both rates x10, x100 (seeds 1 and 2), /1000; lr_D only x100; the real data x100 (unscaled_inputs);
``normal_(0, 1)`` instead of ``normal_(0, 0.02)`` on every parameter (init_large); every parameter of net_D zeros
(symmetric_init: its hidden units stay identical and silent, only the last bias learns, and no gradient reaches
net_G); both ``zero_grad()`` calls left out (no_zero_grad); ``nn.Sigmoid()`` appended to net_D so that
BCEWithLogitsLoss gets probabilities (wrong_loss); and, expected harmless (cause healthy),
``nn.BCEWithLogitsLoss()`` with its default reduction='mean' (the gradients /8, which Adam nearly ignores).  Left out
after trying them on seed 1 before recording: update_G feeding net_D ``fake_X.detach()`` (update_D's line copied; a
no_gradient case) - gradmedic's ``monitor.step`` raises WatchError ("found no gradients") on net_G, so the program
cannot run watched; both rates x2 (0.30 against the control's 0.10) and lr_D x2 (1.07), tried as harmless changes,
are not (this GAN's outcome is sensitive to its rates), so they were not recorded.

Recorded (cases-public39; 14 cases in 390 s, 20-44 s a run on the shared 2-core machine while other sessions ran
(load ~6); 2500 steps of each net a run). Healthy programs: distance 0.100, 1.177 and 0.075 on seeds 1-3 from the
untrained 3.231, 3.271 and 3.107 (last epoch's loss_D and loss_G per example 0.693: ln 2, D at chance; seed 1's
generated mean (1.05, 2.06) and covariance [[0.99, 1.95], [1.95, 4.22]] against the data's (1.03, 2.05) and [[1.01,
1.93], [1.93, 4.25]]). Seed 2 stalls: its distance stops at 1.49 after epoch 5 and at 1.17-1.18 from epoch 10
(generated mean (0.66, 1.24), covariance [[0.44, 0.62], [0.62, 2.91]]; both losses at ln 2 per example, and G no
longer moves); it still counts as a good outcome (1.18 <= 0.7 x 3.27), and it is the control of two cases. Broken:
both rates x10: 1.251 (G stalls from epoch 12 at mean (2.11, 2.29)); x100: 3.231 on seed 1 (G never moves: its
distance stays 3.231 to the fourth digit; D's largest loss 50.7) and 55.3 on seed 2 (G runs off: generated mean
(-4.4, 24.5), variance 3856; losses finite); /1000: 3.209 (3.231 -> 3.207 in 20 epochs); lr_D x100 alone: 3.231 (the
same as both x100 on seed 1: G never moves); data x100: 3.186 (D wins, loss_D 0.10, loss_G 4.05; the generated mean
(-0.3, 2.7) in raw units against the data's (103, 205)); N(0, 1) init: 0.255 (first D losses 4.3 against 5.5; 2.55x
the control's distance, over run.py's 2x line, 0.200, by 0.055); net_D zeros: 3.231 (G never moves, both losses 8 ln
2 = 5.545 throughout); no zero_grad: 27.6 (the distance grows every epoch from the second, 1.6 -> 30.7; D's loss up
to 237); sigmoid before BCEWithLogitsLoss: 0.674 (G stalls at 0.67 from epoch 9). Healthy: reduction='mean', 0.190
(the run tracks the control to 0.005 for 9 epochs, then parts; 0.0999 is not under half of 0.190 by 0.005, so only
the good-outcome rule applies). In all: 4 healthy (3 programs, 1 variant), 10 broken, 0 ambiguous; no loss was ever
non-finite.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

import gradmedic

ARCH = "gan"
PARTS = ("netD", "netG")  # the two monitors' files, {name}_netD.npz and {name}_netG.npz, in train()'s order
MONITOR_AT = ("two monitors built right after the optimizers: the discriminator's (watch(net_D, trainer_D, every=10)) "
              "stepped with loss_D right after loss_D.backward() in update_D, before trainer_D.step(); the generator's "
              "(watch(net_G, trainer_G, every=10)) stepped with loss_G right after loss_G.backward() in update_G, "
              "before trainer_G.step(); update_D comes first in each iteration")
LR_D, LR_G, LATENT_DIM, NUM_EPOCHS = 0.05, 0.005, 2, 20


def load_array(data_arrays, batch_size, is_train=True):
    """Construct a PyTorch data iterator (d2l/torch.py)."""
    dataset = torch.utils.data.TensorDataset(*data_arrays)
    return torch.utils.data.DataLoader(dataset, batch_size, shuffle=is_train)


def update_D(X, Z, net_D, net_G, loss, trainer_D, monitor, zero_grad=True):
    """Update discriminator."""
    batch_size = X.shape[0]
    ones = torch.ones((batch_size,), device=X.device)
    zeros = torch.zeros((batch_size,), device=X.device)
    if zero_grad:  # the no_zero_grad variant leaves this out
        trainer_D.zero_grad()
    real_Y = net_D(X)
    fake_X = net_G(Z)
    # Do not need to compute gradient for `net_G`, detach it from
    # computing gradients.
    fake_Y = net_D(fake_X.detach())
    loss_D = (loss(real_Y, ones.reshape(real_Y.shape)) +
              loss(fake_Y, zeros.reshape(fake_Y.shape))) / 2
    loss_D.backward()
    monitor.step(loss_D)  # gradmedic
    trainer_D.step()
    return loss_D


def update_G(Z, net_D, net_G, loss, trainer_G, monitor, zero_grad=True):
    """Update generator."""
    batch_size = Z.shape[0]
    ones = torch.ones((batch_size,), device=Z.device)
    if zero_grad:  # the no_zero_grad variant leaves this out
        trainer_G.zero_grad()
    # We could reuse `fake_X` from `update_D` to save computation
    fake_X = net_G(Z)
    # Recomputing `fake_Y` is needed since `net_D` is changed
    fake_Y = net_D(fake_X)
    loss_G = loss(fake_Y, ones.reshape(fake_Y.shape))
    loss_G.backward()
    monitor.step(loss_G)  # gradmedic
    trainer_G.step()
    return loss_G


def _sqrtm_psd(m: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_gauss(mu1, s1, mu2, s2) -> float:
    """The Frechet distance (not squared) between N(mu1, s1) and N(mu2, s2)."""
    if not (np.isfinite(mu1).all() and np.isfinite(s1).all()):
        return float("nan")
    r1 = _sqrtm_psd(s1)
    d2 = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(_sqrtm_psd(r1 @ s2 @ r1)))
    return float(np.sqrt(max(d2, 0.0)))


def train(seed: int = 1, lr_mult: float = 1.0, lr_mult_d: float = 1.0, init_std: float = 0.02,
          zero_d: bool = False, zero_grad: bool = True, sigmoid_d: bool = False, reduction: str = 'sum',
          data_scale: float = 1.0, num_epochs: int = NUM_EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    """``lr_mult``: both Adam rates (0.05, 0.005) times this; ``lr_mult_d``: lr_D's only; ``init_std``: the std of
    the normal_ init of every parameter (0.02 in the book); ``zero_d``: every parameter of net_D zeros;
    ``zero_grad=False``: the zero_grad() calls left out of update_D and update_G; ``reduction``: the
    BCEWithLogitsLoss reduction ('sum' in the book); ``sigmoid_d``: nn.Sigmoid() appended to net_D (probabilities
    into BCEWithLogitsLoss); ``data_scale``: the real data times this."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()

    X = torch.normal(0.0, 1, (1000, 2))
    A = torch.tensor([[1, 2], [-0.1, 0.5]])
    b = torch.tensor([1, 2])
    data = torch.matmul(X, A) + b
    data = data * data_scale  # the unscaled_inputs variant: the data in raw units (x100)

    batch_size = 8
    data_iter = load_array((data,), batch_size)

    net_G = nn.Sequential(nn.Linear(2, 2))
    net_D = nn.Sequential(
        nn.Linear(2, 5), nn.Tanh(),
        nn.Linear(5, 3), nn.Tanh(),
        nn.Linear(3, 1))
    if sigmoid_d:  # the wrong_loss variant
        net_D.append(nn.Sigmoid())

    lr_D, lr_G, latent_dim = LR_D * lr_mult * lr_mult_d, LR_G * lr_mult, LATENT_DIM

    # the book's train(net_D, net_G, data_iter, num_epochs, lr_D, lr_G, latent_dim, data)
    loss = nn.BCEWithLogitsLoss(reduction=reduction)  # the book: reduction='sum'
    for w in net_D.parameters():
        nn.init.normal_(w, 0, init_std)
    for w in net_G.parameters():
        nn.init.normal_(w, 0, init_std)
    if zero_d:  # the symmetric_init variant
        for w in net_D.parameters():
            nn.init.zeros_(w)
    trainer_D = torch.optim.Adam(net_D.parameters(), lr=lr_D)
    trainer_G = torch.optim.Adam(net_G.parameters(), lr=lr_G)
    mon_D = gradmedic.watch(net_D, trainer_D, every=every)  # gradmedic
    mon_G = gradmedic.watch(net_G, trainer_G, every=every)  # gradmedic

    real = data.double().numpy() / data_scale
    mu_r, s_r = real.mean(0), np.cov(real, rowvar=False)

    def distance():
        lin = net_G[0]
        W = lin.weight.detach().double().numpy() / data_scale
        mu = lin.bias.detach().double().numpy() / data_scale
        return frechet_gauss(mu, W @ W.T, mu_r, s_r), mu, W @ W.T

    d0 = distance()[0]
    dists, losses_D, losses_G = [], [], []
    for epoch in range(num_epochs):
        # Train one epoch
        metric = [0.0, 0.0, 0]  # loss_D, loss_G, num_examples (d2l.Accumulator(3))
        for (X,) in data_iter:
            batch_size = X.shape[0]
            Z = torch.normal(0, 1, size=(batch_size, latent_dim))
            lD = update_D(X, Z, net_D, net_G, loss, trainer_D, mon_D, zero_grad)
            lG = update_G(Z, net_D, net_G, loss, trainer_G, mon_G, zero_grad)
            losses_D.append(lD.item())
            losses_G.append(lG.item())
            metric[0] += lD.item()
            metric[1] += lG.item()
            metric[2] += batch_size
        loss_D, loss_G = metric[0] / metric[2], metric[1] / metric[2]
        dists.append(distance()[0])
        if verbose:
            print(f"epoch {epoch + 1} loss_D {loss_D:.3f}, loss_G {loss_G:.3f}, distance {dists[-1]:.3f} "
                  f"({time.time() - t0:.1f}s)", flush=True)
    mon_D.close()
    mon_G.close()
    value = float(np.mean(dists[-5:]))
    _, mu, cov = distance()
    fin = np.isfinite(losses_D).all() and np.isfinite(losses_G).all()
    return {"monitors": {"netD": mon_D, "netG": mon_G}, "metric": "loss", "value": value, "chance": d0,
            "initial": d0, "initial_what": "Frechet distance of the untrained generator N(bias, W W^T) to the data",
            "extra": dict(train_loss=float(np.mean(losses_D[-125:])), train_loss_G=float(np.mean(losses_G[-125:])),
                          first_loss=float(np.mean(losses_D[:5])), max_loss=float(np.nanmax(losses_D)),
                          max_loss_G=float(np.nanmax(losses_G)), finite_losses=bool(fin), steps=len(losses_D),
                          loss_D=float(loss_D), loss_G=float(loss_G), final_distance=float(dists[-1]),
                          distances=" ".join(f"{d:.3f}" for d in dists), gen_mean=" ".join(f"{v:.3f}" for v in mu),
                          gen_cov=" ".join(f"{v:.3f}" for v in cov.ravel()),
                          real_mean=" ".join(f"{v:.3f}" for v in mu_r),
                          real_cov=" ".join(f"{v:.3f}" for v in s_r.ravel()),
                          lr=lr_G, lr_D=lr_D, lr_G=lr_G, lr_mult=lr_mult, lr_mult_d=lr_mult_d, init_std=init_std,
                          zero_d=zero_d, zero_grad=zero_grad, sigmoid_d=sigmoid_d, reduction=reduction,
                          data_scale=data_scale, epochs=num_epochs),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="d2lgan", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"the book's GAN on 2-d Gaussian data (net_G Linear(2, 2), net_D Linear 2-5-3-1 with Tanh, normal_(0, 0.02) "
      f"init, BCEWithLogitsLoss(reduction='sum'), Adam lr_D {LR_D:g} / lr_G {LR_G:g}, batch 8, {NUM_EPOCHS} epochs)")
CASES: list[dict] = (
    [_case(f"d2lgan_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"d2lgan_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k},
             f"{_P}: both rates x{k} ({LR_D * k:g} / {LR_G * k:g})") for k, ss in ((10, (1,)), (100, (1, 2)))
       for s in ss]
    + [_case("d2lgan_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3},
             f"{_P}: both rates /1000 ({LR_D * 1e-3:g} / {LR_G * 1e-3:g})")]
    + [_case("d2lgan_raw_data_s1", "unscaled_inputs", 1, {"data_scale": 100.0},
             f"{_P}: the real data x100 (raw units); the distance is taken to the x100 data and divided by 100")]
    + [_case("d2lgan_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_P}: normal_(0, 1) instead of normal_(0, 0.02) on every parameter of both nets")]
    + [_case("d2lgan_zero_d_s1", "symmetric_init", 1, {"zero_d": True},
             f"{_P}: every parameter of net_D zeros_ instead of normal_(0, 0.02)")]
    + [_case("d2lgan_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: trainer_D.zero_grad() and trainer_G.zero_grad() left out (the gradients accumulate)")]
    + [_case("d2lgan_sigmoid_d_s1", "wrong_loss", 1, {"sigmoid_d": True},
             f"{_P}: nn.Sigmoid() appended to net_D, probabilities fed to BCEWithLogitsLoss")]
    + [_case("d2lgan_lr_d_x100_s1", "lr_high", 1, {"lr_mult_d": 100},
             f"{_P}: the discriminator's rate only x100 (lr_D {LR_D * 100:g}, lr_G {LR_G:g})")]
    + [_case("d2lgan_bce_mean_s1", "healthy", 1, {"reduction": "mean"},
             f"{_P}: BCEWithLogitsLoss() with its default reduction='mean' instead of 'sum' (gradients /8; Adam "
             f"is invariant to their scale)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
