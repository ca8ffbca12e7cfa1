"""emited's Variational Recurrent Neural Network (VRNN: a GRU with a per-step Gaussian latent, phi_x/phi_z feature
MLPs, encoder, prior and decoder heads, KLD + Bernoulli NLL per time step, Adam) on digit images read row by row,
watched by gradmedic.

Adapted from https://github.com/emited/VariationalRecurrentNeuralNetwork (commit
0f23c87d11597ecf50ecbbf1dd37429861fd7aca, model.py and train.py).  The repository has no licence file and its README
names no licence, so this port keeps to what is needed (no LICENSE-vrnn).  Copied below as upstream: ``VRNN``
(phi_x Linear-ReLU-Linear-ReLU, phi_z Linear-ReLU; encoder, prior and decoder MLPs with Linear means and
Linear+Softplus stds, the decoder mean through a Sigmoid; ``nn.GRU(h_dim + h_dim, h_dim, n_layers, bias)`` with
upstream's positional ``bias=False``; the reparameterized sample; ``_kld_gauss`` between the posterior and the learned
prior, ``_nll_bernoulli`` with EPS inside the logs, both summed over the batch and added up over the time steps;
``reset_parameters`` and the unused ``_init_weights``/``_nll_gauss``; PyTorch's default inits, since train.py never
calls ``reset_parameters``), h_dim 100, z_dim 16, n_layers 1, clip 10, learning_rate 1e-3, batch_size 8, and
train.py's loop: rows as the sequence (``data.squeeze().transpose(0, 1)``, (seq, batch, elem)), the per-batch
min-max scaling ``(data - data.min()) / (data.max() - data.min())``, ``optimizer.zero_grad()``, ``loss = kld_loss +
nll_loss`` (a sum, not averaged over the batch), ``loss.backward()``, ``optimizer.step()`` and then
``nn.utils.clip_grad_norm_(model.parameters(), clip)`` -- upstream clips *after* the step, so the clip never changes an
update of the healthy program (it only bounds the gradient the no_zero_grad variant carries into the next step); its
``test`` (KLD and NLL summed over the test set / its size: per sequence).

Changed to run offline on one CPU thread in ~20-35 s: MNIST (28 rows of 28 grey levels from ToTensor, not binarized)
is scikit-learn's ``load_digits`` (8x8, /16) bilinearly upsampled to 16x16 and clamped to [0, 1], so x_dim is 16 and
a sequence has 16 row steps; a fixed split (permutation seeded 0) of 1500 training digits and 297 held out; n_epochs 2
(376 steps; upstream 25 epochs of MNIST's 60000); ``torch.manual_seed(seed)`` (upstream 128); a shuffled index in
place of the DataLoader; ``squeeze(1)`` (upstream ``squeeze()``, which would drop the batch dim of a last batch of
one: 297 = 37 x 8 + 1); the CPU; no sample plots, checkpoints or per-epoch test; prints only with ``verbose``;
``sample()`` left out.  ``forward`` takes an optional ``x_in`` that phi_x reads instead of ``x`` (the unscaled_inputs
variant only).  Knobs (one per variant): ``lr_mult`` scales Adam's lr; ``init_std`` calls upstream's own
``model.reset_parameters(init_std)`` (N(0, init_std) on every parameter, biases and the GRU's included);
``input_scale``: phi_x reads the min-max scaled rows times this, while the Bernoulli NLL still scores the rows in
[0, 1]; ``zero_grad=False`` leaves ``optimizer.zero_grad()`` out; ``batch_size``; ``h_dim``.  No no_clipping case:
with the clip after ``optimizer.step()``, removing it leaves every update as it was (lr x10 without it is lr x10).

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``optimizer.step()`` (and upstream's clip after it);
``monitor.close()`` after the loop.

Metric, ``heldout_neg_elbo``: upstream's test quantity, held-out KLD + NLL per sequence (nats, lower is better) on
the 297 held-out digits in batches of 8 (for every variant), with the encoder noise drawn under
``torch.manual_seed(0)`` (the global RNG state restored after).  Its reference ("initial") is the same quantity for
the untrained model (the run's own initialization and input scale); ``chance`` is the Bernoulli NLL of the training
set's mean image (116.5 nats: a decoder that ignores the sequence).

``CASES`` (program "vrnn"): the program on seeds 1-3, and one change each against the same seed's healthy run: Adam
lr x10, x100 (seeds 1 and 2), x1000, /1000; ``reset_parameters(1.0)`` (N(0, 1), seeds 1 and 2); phi_x fed the raw
0..16 digit levels (x16, seeds 1 and 2), and x255 (MNIST's byte levels, seed 1; added after x16 came out healthy on
both seeds); ``optimizer.zero_grad()`` left out (seeds 1 and 2); and two changes expected harmless (cause
"healthy"): batch size 4 and h_dim 200.  Labels come from run.py's outcome rules only.
Recorded (cases-public176; 15-38 s a run on the shared 2-core machine, 55-58 s for batch 4 and h_dim 200; 560 s in
all): untrained held-out negative ELBO 181.3, 182.9, 179.3 on seeds 1-3 (NLL 177 + KLD 4).  Healthy: 92.44, 91.94,
92.21 (the KLD falls to 0.03-0.05 nats: the posterior all but collapses, the decoder and GRU carry the sequence; first-5
training loss 1406-1423 -> last-20 719-730, summed over 8 sequences; every loss finite; 21-30 s): healthy.  lr x10
(0.01): 91.55: healthy; lr x100 (0.1): the training loss NaN by the second record (step 10), NaN on both seeds:
broken; lr x1000 (1): the same, NaN: broken; lr /1000 (1e-6): 180.2 (training loss 1451 -> 1407): broken;
reset_parameters(1.0): every loss NaN from the first step and the untrained value NaN too (the sigmoid decoder mean
reaches exactly 1.0, log(1 - theta - EPS) of a negative number), NaN on both seeds: broken; phi_x fed 0..16: untrained
189.8 and 185.7, 90.94 (seed 1) and 90.48 (seed 2), largest loss 1511 and 1485: healthy; phi_x fed 0..255: untrained
1130, largest training loss 7902 (first-5 mean 3536), training loss 729 at the end, 92.64: ambiguous (no worse at
the end, but its largest loss is over twice its control's 1453); zero_grad left out: 92.51 (seed 1) and 91.78 (seed
2), largest loss the first: healthy (Adam normalizes the summed gradient, and upstream's post-step clip bounds what is
carried over); batch size 4: 90.80: healthy; h_dim 200: 90.61: healthy.  Labels: 10 healthy (3 programs, lr x10,
phi_x 0..16 on both seeds, zero_grad left out on both seeds, batch 4, h_dim 200), 6 broken, 1 ambiguous; non-finite
losses only in the 5 NaN runs.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import gradmedic

ARCH = "vae"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = torch.optim.Adam(model.parameters(), lr=1e-3); "
              "monitor.step(loss) right after loss.backward() (loss = kld_loss + nll_loss, summed over the batch and "
              "the 16 row steps), before optimizer.step() (upstream's clip_grad_norm_(10) comes after optimizer.step())")

device = torch.device('cpu')  # upstream: cuda if available
EPS = torch.finfo(torch.float).eps # numerical logs

#hyperparameters
x_dim = 16  # upstream: 28 (MNIST rows)
h_dim = 100
z_dim = 16
n_layers =  1
n_epochs = 2  # upstream: 25
clip = 10
learning_rate = 1e-3
batch_size = 8 #128
TEST_BATCH = 8  # upstream: the test loader's batch_size=batch_size (kept at 8 for every variant)
N_TRAIN = 1500


class VRNN(nn.Module):
    def __init__(self, x_dim, h_dim, z_dim, n_layers, bias=False):
        super(VRNN, self).__init__()  # noqa: UP008 (as upstream)

        self.x_dim = x_dim
        self.h_dim = h_dim
        self.z_dim = z_dim
        self.n_layers = n_layers

        #feature-extracting transformations
        self.phi_x = nn.Sequential(
            nn.Linear(x_dim, h_dim),
            nn.ReLU(),
            nn.Linear(h_dim, h_dim),
            nn.ReLU())
        self.phi_z = nn.Sequential(
            nn.Linear(z_dim, h_dim),
            nn.ReLU())

        #encoder
        self.enc = nn.Sequential(
            nn.Linear(h_dim + h_dim, h_dim),
            nn.ReLU(),
            nn.Linear(h_dim, h_dim),
            nn.ReLU())
        self.enc_mean = nn.Linear(h_dim, z_dim)
        self.enc_std = nn.Sequential(
            nn.Linear(h_dim, z_dim),
            nn.Softplus())

        #prior
        self.prior = nn.Sequential(
            nn.Linear(h_dim, h_dim),
            nn.ReLU())
        self.prior_mean = nn.Linear(h_dim, z_dim)
        self.prior_std = nn.Sequential(
            nn.Linear(h_dim, z_dim),
            nn.Softplus())

        #decoder
        self.dec = nn.Sequential(
            nn.Linear(h_dim + h_dim, h_dim),
            nn.ReLU(),
            nn.Linear(h_dim, h_dim),
            nn.ReLU())
        self.dec_std = nn.Sequential(
            nn.Linear(h_dim, x_dim),
            nn.Softplus())
        #self.dec_mean = nn.Linear(h_dim, x_dim)
        self.dec_mean = nn.Sequential(
            nn.Linear(h_dim, x_dim),
            nn.Sigmoid())

        #recurrence
        self.rnn = nn.GRU(h_dim + h_dim, h_dim, n_layers, bias)


    def forward(self, x, x_in=None):
        # upstream: forward(self, x); x_in (the unscaled_inputs variant) is what phi_x reads, x what the NLL scores
        if x_in is None:
            x_in = x

        all_enc_mean, all_enc_std = [], []
        all_dec_mean, all_dec_std = [], []
        kld_loss = 0
        nll_loss = 0

        h = torch.zeros(self.n_layers, x.size(1), self.h_dim, device=device)
        for t in range(x.size(0)):

            phi_x_t = self.phi_x(x_in[t])  # upstream: self.phi_x(x[t])

            #encoder
            enc_t = self.enc(torch.cat([phi_x_t, h[-1]], 1))
            enc_mean_t = self.enc_mean(enc_t)
            enc_std_t = self.enc_std(enc_t)

            #prior
            prior_t = self.prior(h[-1])
            prior_mean_t = self.prior_mean(prior_t)
            prior_std_t = self.prior_std(prior_t)

            #sampling and reparameterization
            z_t = self._reparameterized_sample(enc_mean_t, enc_std_t)
            phi_z_t = self.phi_z(z_t)

            #decoder
            dec_t = self.dec(torch.cat([phi_z_t, h[-1]], 1))
            dec_mean_t = self.dec_mean(dec_t)
            dec_std_t = self.dec_std(dec_t)

            #recurrence
            _, h = self.rnn(torch.cat([phi_x_t, phi_z_t], 1).unsqueeze(0), h)

            #computing losses
            kld_loss += self._kld_gauss(enc_mean_t, enc_std_t, prior_mean_t, prior_std_t)
            #nll_loss += self._nll_gauss(dec_mean_t, dec_std_t, x[t])
            nll_loss += self._nll_bernoulli(dec_mean_t, x[t])

            all_enc_std.append(enc_std_t)
            all_enc_mean.append(enc_mean_t)
            all_dec_mean.append(dec_mean_t)
            all_dec_std.append(dec_std_t)

        return kld_loss, nll_loss, \
            (all_enc_mean, all_enc_std), \
            (all_dec_mean, all_dec_std)

    # upstream's sample() (plotting only) is left out

    def reset_parameters(self, stdv=1e-1):
        for weight in self.parameters():
            weight.data.normal_(0, stdv)


    def _init_weights(self, stdv):
        pass


    def _reparameterized_sample(self, mean, std):
        """using std to sample"""
        eps = torch.empty(size=std.size(), device=device, dtype=torch.float).normal_()
        return eps.mul(std).add_(mean)


    def _kld_gauss(self, mean_1, std_1, mean_2, std_2):
        """Using std to compute KLD"""

        kld_element =  (2 * torch.log(std_2 + EPS) - 2 * torch.log(std_1 + EPS) +
            (std_1.pow(2) + (mean_1 - mean_2).pow(2)) /
            std_2.pow(2) - 1)
        return	0.5 * torch.sum(kld_element)


    def _nll_bernoulli(self, theta, x):
        return - torch.sum(x*torch.log(theta + EPS) + (1-x)*torch.log(1-theta-EPS))


    def _nll_gauss(self, mean, std, x):
        return torch.sum(torch.log(std + EPS) + torch.log(2*torch.pi)/2 + (x - mean).pow(2)/(2*std.pow(2)))


def digit_rows():
    """scikit-learn's 8x8 digits (0..16) /16, bilinearly upsampled to 16x16: (N, 1, 16, 16) in [0, 1] like
    ToTensor's MNIST (grey levels, not binarized); a fixed split (permutation seeded 0), 1500 train, 297 held out."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.images / 16.0, dtype=torch.float32).unsqueeze(1)
    x = F.interpolate(x, size=(16, 16), mode="bilinear", align_corners=False).clamp(0.0, 1.0)
    y = torch.tensor(d.target)
    perm = torch.from_numpy(np.random.RandomState(0).permutation(len(x)))
    x, y = x[perm], y[perm]
    return (x[:N_TRAIN], y[:N_TRAIN]), (x[N_TRAIN:], y[N_TRAIN:])


def _prepare(data, input_scale):
    #transforming data
    data = data.to(device)
    data = data.squeeze(1).transpose(0, 1) # (seq, batch, elem)  upstream: squeeze() (a last batch of 1 would lose its batch dim)
    data = (data - data.min()) / (data.max() - data.min())
    # the unscaled_inputs variant: phi_x reads the pixels x input_scale (16: raw 0..16 digit levels); NLL target unchanged
    return data, (data * input_scale if input_scale != 1.0 else None)


def test(model, test_x, input_scale=1.0):
    """uses test data to evaluate
    likelihood of the model"""
    # the encoder noise is drawn under torch.manual_seed(0) (the same for every run), the RNG state restored after
    state = torch.get_rng_state()
    torch.manual_seed(0)
    mean_kld_loss, mean_nll_loss = 0, 0
    with torch.no_grad():
        for i in range(0, len(test_x), TEST_BATCH):  # upstream: a shuffled test DataLoader
            data, data_in = _prepare(test_x[i:i + TEST_BATCH], input_scale)

            kld_loss, nll_loss, _, _ = model(data, data_in)
            mean_kld_loss += kld_loss.item()
            mean_nll_loss += nll_loss.item()

    mean_kld_loss /= len(test_x)
    mean_nll_loss /= len(test_x)
    torch.set_rng_state(state)
    return mean_kld_loss, mean_nll_loss


def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, input_scale: float = 1.0,
          zero_grad: bool = True, batch_size: int = batch_size, h_dim: int = h_dim, n_epochs: int = n_epochs,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    #manual seed
    torch.manual_seed(seed)  # upstream: seed = 128

    (train_x, _), (test_x, _) = digit_rows()

    model = VRNN(x_dim, h_dim, z_dim, n_layers)
    if init_std is not None:  # the bad-init variant: upstream's own reset_parameters(stdv) with stdv 1 (never called upstream)
        model.reset_parameters(init_std)
    model = model.to(device)
    init_kld, init_nll = test(model, test_x, input_scale)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate * lr_mult)
    monitor = gradmedic.watch(model, optimizer, every=every)  # gradmedic

    losses = []
    for epoch in range(1, n_epochs + 1):
        train_loss = 0
        perm = torch.randperm(len(train_x))  # upstream: DataLoader(..., shuffle=True)
        for batch_idx, start in enumerate(range(0, len(train_x), batch_size)):
            data = train_x[perm[start:start + batch_size]]

            #transforming data
            data, data_in = _prepare(data, input_scale)

            #forward + backward + optimize
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            kld_loss, nll_loss, _, _ = model(data, data_in)
            loss = kld_loss + nll_loss
            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()

            #grad norm clipping, only in pytorch version >= 1.10
            nn.utils.clip_grad_norm_(model.parameters(), clip)  # upstream: after optimizer.step(), as here

            #printing (upstream: every 1000 batches, with a sample plotted)
            if verbose and batch_idx % 50 == 0:
                print('Train Epoch: {} [{}/{}]\t KLD Loss: {:.6f} \t NLL Loss: {:.6f}'.format(  # noqa: UP032 (as upstream)
                    epoch, batch_idx * batch_size, len(train_x),
                    kld_loss.item() / batch_size, nll_loss.item() / batch_size), flush=True)

            train_loss += loss.item()
            losses.append(loss.item())

        if verbose:
            print('====> Epoch: {} Average loss: {:.4f} ({:.1f}s)'.format(  # noqa: UP032 (as upstream)
                epoch, train_loss / len(train_x), time.time() - t0), flush=True)
        # upstream: test(epoch) after every epoch and torch.save every save_every epochs

    monitor.close()
    kld, nll = test(model, test_x, input_scale)
    value = kld + nll
    initial = init_kld + init_nll
    la = np.array(losses)
    mean_img = train_x.mean(0).flatten().clamp(1e-6, 1 - 1e-6)
    chance = float(-(mean_img * mean_img.log() + (1 - mean_img) * (1 - mean_img).log()).sum())
    return {"monitors": {"": monitor}, "metric": "heldout_neg_elbo",
            "value": value if math.isfinite(value) else float("nan"),
            "initial": initial if math.isfinite(initial) else float("nan"),
            "initial_what": "the untrained model's held-out negative ELBO (KLD + Bernoulli NLL) per sequence",
            "chance": chance,
            "extra": {"train_loss": float(np.mean(la[-20:])), "first_loss": float(np.mean(la[:5])),
                      "train_loss_per_seq": float(np.mean(la[-20:])) / batch_size,
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "steps": len(la), "epochs": n_epochs,
                      "heldout_kld": kld, "heldout_nll": nll, "initial_kld": init_kld, "initial_nll": init_nll,
                      "lr": learning_rate * lr_mult, "lr_mult": lr_mult, "batch_size": batch_size, "h_dim": h_dim,
                      "init_std": -1.0 if init_std is None else init_std, "input_scale": input_scale,
                      "zero_grad": zero_grad},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="vrnn", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"VRNN (x_dim {x_dim}, h_dim {h_dim}, z_dim {z_dim}, one GRU layer; Adam lr {learning_rate:g}, batch {batch_size}, "
      f"clip_grad_norm_({clip}) after optimizer.step(); {n_epochs} epochs of 16-row digit images)")
CASES: list[dict] = (
    [_case(f"vrnn_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"vrnn_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({learning_rate * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("vrnn_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 ({learning_rate * 1e-3:g})")]
    + [_case(f"vrnn_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: upstream's model.reset_parameters(stdv=1.0) called after construction (every parameter, weights, "
             f"biases and the GRU's, drawn from N(0, 1); upstream never calls it, its default stdv is 0.1)")
       for s in (1, 2)]
    + [_case(f"vrnn_raw_pixels_s{s}", "unscaled_inputs", s, {"input_scale": 16.0},
             f"{_P}: phi_x reads the raw digit levels 0..16 (the min-max scaled rows x16), the Bernoulli NLL still "
             f"scores the rows in [0, 1]") for s in (1, 2)]
    + [_case("vrnn_raw_x255_s1", "unscaled_inputs", 1, {"input_scale": 255.0},
             f"{_P}: phi_x reads the rows x255 (MNIST's raw byte levels 0..255, no ToTensor scaling), the Bernoulli "
             f"NLL still scores the rows in [0, 1] (added after x16 came out healthy on both seeds)")]
    + [_case(f"vrnn_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)") for s in (1, 2)]
    + [_case("vrnn_batch4_s1", "healthy", 1, {"batch_size": 4},
             f"{_P}: batch size 4 instead of 8 (expected harmless)")]
    + [_case("vrnn_hdim200_s1", "healthy", 1, {"h_dim": 200},
             f"{_P}: h_dim 200 instead of 100 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
