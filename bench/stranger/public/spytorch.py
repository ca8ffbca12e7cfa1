"""Friedemann Zenke's SpyTorch: a spiking neural network (LIF neurons) trained with surrogate gradients, on latency-coded
8x8 digits, watched by gradmedic.

Adapted from https://github.com/fzenke/spytorch (commit d363dbf93a04bf97b4819f1a41579bbbec17b1d2, the newest;
notebooks/SpyTorchTutorial2.ipynb, "Training a spiking neural network on a simple vision dataset", with
notebooks/SpyTorchTutorial1.ipynb for the "true gradient" run; Creative Commons Attribution 4.0, Copyright 2019-2022
Friedemann Zenke: the repository has no LICENSE file, its README states the licence; see LICENSE-spytorch).  Copied
from Tutorial 2 and kept: ``current2firing_time`` and ``sparse_data_generator`` (the latency code: tau_eff 20 steps,
threshold 0.2, one spike per pixel, shuffled batches of 256 with the incomplete last batch dropped), the constants
(nb_hidden 100, nb_outputs 10, time_step 1e-3, tau_mem 10e-3, tau_syn 5e-3, alpha, beta), ``SurrGradSpike`` (the
step forward, the fast-sigmoid surrogate ``grad/(100*|x|+1)**2`` backward), the init (``weight_scale =
7*(1.0-beta)``; ``torch.nn.init.normal_`` of w1 (nb_inputs x nb_hidden) with std weight_scale/sqrt(nb_inputs) and of
w2 (nb_hidden x nb_outputs) with std weight_scale/sqrt(nb_hidden)), ``run_snn`` (the einsum input current, the LIF
loop with the detached reset, the leaky-integrator readout), the loss (max over time, ``nn.LogSoftmax(dim=1)``,
``nn.NLLLoss()``), ``torch.optim.Adam([w1, w2], lr=lr, betas=(0.9,0.999))``, the loop (``optimizer.zero_grad()``,
``loss_val.backward()``, ``optimizer.step()``, no clipping, no schedule) and ``compute_classification_accuracy``.

Changed (each marked ``# upstream:`` in the code): the data, Fashion-MNIST (downloaded; 28x28 = 784 inputs, /255)
-> scikit-learn's bundled 8x8 digits (nb_inputs 64, pixels /16), split by ``train_test_split(test_size=512,
stratify=y, random_state=seed)`` (1285 training images: 5 batches of 256 an epoch; 512 test images: two whole
batches, as the accuracy helper drops an incomplete one); nb_steps 50 instead of 100 (every input spike of the
digits' latency code falls in the first 33 steps; 100 steps doubled the run's time); 20 epochs (100 Adam steps)
instead of 30 epochs of 234 batches; lr 2e-3 (the default of the notebook's ``train(x_data, y_data, lr=2e-3, ...)``
and Tutorial 1's rate) instead of Tutorial 2's call with lr=2e-4: at 2e-4 this port reached only 0.84 test accuracy
after 40 epochs (140 s), beyond the time a run may take; w1 and w2 are the two ``nn.Parameter``s of a small
``nn.Module`` (``SNN``, whose forward is ``run_snn``) instead of module-level tensors with requires_grad, so that
``gradmedic.watch`` can see them (same shapes, init and forward); ``torch.sparse_coo_tensor`` for the deprecated
``torch.sparse.FloatTensor``, ``int`` for the removed ``np.int``; the device is the CPU; ``torch.manual_seed(seed)``
and ``np.random.seed(seed)`` (upstream is unseeded); the accuracy under ``torch.no_grad()``; prints only with
``verbose``; no plots.  The metric is the test accuracy on the 512 test digits (chance 0.1).  Knobs (one per
variant): ``lr_mult``; ``weight_scale_mult`` multiplies weight_scale (both layers); ``true_grad`` replaces
``SurrGradSpike`` by the step with its exact derivative (zero: Tutorial 1's "supervised learning with the true
gradient", whose naive ``spike_fn`` has no backward at all; here an autograd Function whose backward returns
zeros, so w1's gradient is an all-zero tensor rather than None); ``zero_grad=False`` leaves
``optimizer.zero_grad()`` out; ``batch`` and ``hidden`` replace batch_size 256 and nb_hidden 100.

The watch, as a user would: ``monitor = gradmedic.watch(snn, optimizer, every=10)`` right after the Adam is built,
``monitor.step(loss_val)`` right after ``loss_val.backward()``, before ``optimizer.step()``; ``monitor.close()`` after
the loop.

``CASES`` (program "spytorch"): the program on seeds 1-3 (three train/test splits and inits), and one change each
against the same seed's healthy run: Adam lr x10, x100, x1000, /1000; weight_scale x10 (init_large; seeds 1 and 2)
and /10 (init_small: no hidden spike, seeds 1 and 2); the true Heaviside derivative instead of the surrogate
(no_gradient; seeds 1 and 2); ``optimizer.zero_grad()`` left out; and two changes expected harmless (cause
"healthy"): batch_size 128 (halved: the brief's "batch x2", 512, would leave 2 batches an epoch, 40 steps in all, from
1285 training digits) and nb_hidden 200.
Recorded (cases-public127; 22-38 s a run on the shared 2-core machine under a load average near 10; ~8 s of each is
the imports and data; 463 s for all 16): healthy test accuracy 0.943, 0.941, 0.951 on seeds 1-3 (training loss 2.47,
2.53, 2.27 over the first 5 steps -> 0.12, 0.12, 0.11 over the last 20; training accuracy 0.98-0.99; every loss
finite); lr x10 (0.02): 0.945: healthy; lr x100 (0.2): 0.0996, the loss stuck at log 10 = 2.3026 (the readout
flat), hidden units at 5.5 spikes each: broken; lr x1000 (2): 0.0996, loss 2.3026, largest loss 3.53, 8.7 spikes a
unit: broken; lr /1000 (2e-6): 0.102 (loss 2.88 -> 2.85): broken; weight_scale x10: first-5 loss 92 and 78, largest
102 and 86, training loss 9.4 and 16.0, test 0.229 (seed 1) and 0.305 (seed 2): broken; weight_scale /10: not one
hidden spike, the loss exactly log 10 from the first step to the last, 0.0996 (both seeds): broken; true gradient:
only w2 learns on the fixed random hidden spikes, training loss 0.64 and 0.92, test 0.850 (seed 1: 9.4 points below
its control, ambiguous) and 0.752 (seed 2: broken); zero_grad left out: training loss 2.12, 0.242: broken; batch 128
(200 steps instead of 100): 0.945: healthy; nb_hidden 200: 0.949: healthy.  Labels: 6 healthy (3 programs, lr x10, batch 128,
hidden 200), 9 broken, 1 ambiguous.  Every run's losses were finite.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn

import gradmedic

ARCH = "snn"
MONITOR_AT = ("watch(snn, optimizer, every=10) right after optimizer = torch.optim.Adam(params, lr=lr, betas=(0.9,0.999)) "
              "(params = [w1, w2], the two raw weight tensors, held as the nn.Parameters of a small nn.Module); "
              "monitor.step(loss_val) right after loss_val.backward(), before optimizer.step() (no clipping upstream)")

# The coarse network structure is dicated by the Fashion MNIST dataset.
nb_inputs  = 8*8  # upstream: 28*28 (Fashion-MNIST; here scikit-learn's 8x8 digits)
nb_hidden  = 100
nb_outputs = 10

time_step = 1e-3
nb_steps  = 50  # upstream: 100 (the digits' latency code puts every input spike in the first 33 steps)

batch_size = 256

dtype = torch.float
device = torch.device("cpu")  # upstream: cuda when available

NB_EPOCHS = 20  # upstream: train(x_train, y_train, lr=2e-4, nb_epochs=30) on 60000 images (234 batches an epoch)
LR = 2e-3  # upstream: train(..., lr=2e-3) by default and in Tutorial 1; Tutorial 2 calls it with lr=2e-4
TEST_SIZE = 512  # two whole test batches (upstream's accuracy helper drops an incomplete last batch)


def current2firing_time(x, tau=20, thr=0.2, tmax=1.0, epsilon=1e-7):
    """ Computes first firing time latency for a current input x assuming the charge time of a current based LIF neuron.

    Args:
    x -- The "current" values

    Keyword args:
    tau -- The membrane time constant of the LIF neuron to be charged
    thr -- The firing threshold value
    tmax -- The maximum time returned
    epsilon -- A generic (small) epsilon > 0

    Returns:
    Time to first spike for each "current" x
    """
    idx = x<thr
    x = np.clip(x,thr+epsilon,1e9)
    T = tau*np.log(x/(x-thr))
    T[idx] = tmax
    return T


def sparse_data_generator(X, y, batch_size, nb_steps, nb_units, shuffle=True ):
    """ This generator takes datasets in analog format and generates spiking network input as sparse tensors.

    Args:
        X: The data ( sample x event x 2 ) the last dim holds (time,neuron) tuples
        y: The labels
    """

    labels_ = np.array(y,dtype=int)  # upstream: dtype=np.int (removed from NumPy)
    number_of_batches = len(X)//batch_size
    sample_index = np.arange(len(X))

    # compute discrete firing times
    tau_eff = 20e-3/time_step
    firing_times = np.array(current2firing_time(X, tau=tau_eff, tmax=nb_steps), dtype=int)  # upstream: np.int
    unit_numbers = np.arange(nb_units)

    if shuffle:
        np.random.shuffle(sample_index)

    counter = 0
    while counter<number_of_batches:
        batch_index = sample_index[batch_size*counter:batch_size*(counter+1)]

        coo = [ [] for i in range(3) ]
        for bc,idx in enumerate(batch_index):
            c = firing_times[idx]<nb_steps
            times, units = firing_times[idx][c], unit_numbers[c]

            batch = [bc for _ in range(len(times))]
            coo[0].extend(batch)
            coo[1].extend(times)
            coo[2].extend(units)

        i = torch.LongTensor(np.array(coo)).to(device)  # upstream: torch.LongTensor(coo)
        v = torch.FloatTensor(np.ones(len(coo[0]))).to(device)

        # upstream: torch.sparse.FloatTensor(i, v, ...) (deprecated)
        X_batch = torch.sparse_coo_tensor(i, v, torch.Size([batch_size,nb_steps,nb_units])).to(device)
        y_batch = torch.tensor(labels_[batch_index],device=device)

        yield X_batch.to(device=device), y_batch.to(device=device)

        counter += 1


tau_mem = 10e-3
tau_syn = 5e-3

alpha   = float(np.exp(-time_step/tau_syn))
beta    = float(np.exp(-time_step/tau_mem))


class SurrGradSpike(torch.autograd.Function):
    """
    Here we implement our spiking nonlinearity which also implements
    the surrogate gradient. By subclassing torch.autograd.Function,
    we will be able to use all of PyTorch's autograd functionality.
    Here we use the normalized negative part of a fast sigmoid
    as this was done in Zenke & Ganguli (2018).
    """

    scale = 100.0 # controls steepness of surrogate gradient

    @staticmethod
    def forward(ctx, input):
        """
        In the forward pass we compute a step function of the input Tensor
        and return it. ctx is a context object that we use to stash information which
        we need to later backpropagate our error signals. To achieve this we use the
        ctx.save_for_backward method.
        """
        ctx.save_for_backward(input)
        out = torch.zeros_like(input)
        out[input > 0] = 1.0
        return out

    @staticmethod
    def backward(ctx, grad_output):
        """
        In the backward pass we receive a Tensor we need to compute the
        surrogate gradient of the loss with respect to the input.
        Here we use the normalized negative part of a fast sigmoid
        as this was done in Zenke & Ganguli (2018).
        """
        input, = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad = grad_input/(SurrGradSpike.scale*torch.abs(input)+1.0)**2
        return grad


class HeavisideSpike(torch.autograd.Function):
    """The no_gradient variant: the spike's true derivative, zero wherever it exists (Tutorial 1's "supervised learning
    with the true gradient" uses a spike_fn with no backward at all; this is the same step with its exact derivative
    written as an autograd Function, so w1 still gets a gradient tensor, all zeros)."""

    @staticmethod
    def forward(ctx, input):
        out = torch.zeros_like(input)
        out[input > 0] = 1.0
        return out

    @staticmethod
    def backward(ctx, grad_output):
        return torch.zeros_like(grad_output)


class SNN(nn.Module):
    """upstream: w1 and w2 are module-level tensors (torch.empty(..., requires_grad=True)) and run_snn a function that
    reads them; here they are this module's two nn.Parameters (same shapes, same init, same forward) so that
    gradmedic.watch can see them."""

    def __init__(self, nb_hidden=nb_hidden, weight_scale_mult=1.0, spike_fn=SurrGradSpike.apply):
        super().__init__()
        self.nb_hidden = nb_hidden
        self.spike_fn = spike_fn
        weight_scale = 7*(1.0-beta) # this should give us some spikes to begin with
        weight_scale = weight_scale * weight_scale_mult  # the init_large / init_small variants

        self.w1 = nn.Parameter(torch.empty((nb_inputs, nb_hidden),  device=device, dtype=dtype))
        torch.nn.init.normal_(self.w1, mean=0.0, std=weight_scale/np.sqrt(nb_inputs))

        self.w2 = nn.Parameter(torch.empty((nb_hidden, nb_outputs), device=device, dtype=dtype))
        torch.nn.init.normal_(self.w2, mean=0.0, std=weight_scale/np.sqrt(nb_hidden))

    def forward(self, inputs):  # upstream: def run_snn(inputs)
        w1, w2, nb_hidden, spike_fn = self.w1, self.w2, self.nb_hidden, self.spike_fn
        h1 = torch.einsum("abc,cd->abd", (inputs, w1))
        syn = torch.zeros((batch_size,nb_hidden), device=device, dtype=dtype)
        mem = torch.zeros((batch_size,nb_hidden), device=device, dtype=dtype)

        mem_rec = []
        spk_rec = []

        # Compute hidden layer activity
        for t in range(nb_steps):
            mthr = mem-1.0
            out = spike_fn(mthr)
            rst = out.detach() # We do not want to backprop through the reset

            new_syn = alpha*syn +h1[:,t]
            new_mem = (beta*mem +syn)*(1.0-rst)

            mem_rec.append(mem)
            spk_rec.append(out)

            mem = new_mem
            syn = new_syn

        mem_rec = torch.stack(mem_rec,dim=1)
        spk_rec = torch.stack(spk_rec,dim=1)

        # Readout layer
        h2= torch.einsum("abc,cd->abd", (spk_rec, w2))
        flt = torch.zeros((batch_size,nb_outputs), device=device, dtype=dtype)
        out = torch.zeros((batch_size,nb_outputs), device=device, dtype=dtype)
        out_rec = [out]
        for t in range(nb_steps):
            new_flt = alpha*flt +h2[:,t]
            new_out = beta*out +flt

            flt = new_flt
            out = new_out

            out_rec.append(out)

        out_rec = torch.stack(out_rec,dim=1)
        other_recs = [mem_rec, spk_rec]
        return out_rec, other_recs


def load_digits_data(seed):
    """scikit-learn's 8x8 digits in place of Fashion-MNIST: pixels 0..16 scaled to 0..1 as upstream's /255, flattened;
    a stratified split of TEST_SIZE test images."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = np.array(d.data, dtype=float).reshape(len(d.data), -1)/16  # upstream: .../255
    y = np.array(d.target, dtype=int)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=TEST_SIZE, random_state=seed, stratify=y)
    return x_train, y_train, x_test, y_test


def train(seed: int = 1, lr_mult: float = 1.0, weight_scale_mult: float = 1.0, true_grad: bool = False,
          zero_grad: bool = True, batch: int | None = None, hidden: int | None = None, nb_epochs: int = NB_EPOCHS,
          every: int = 10, verbose: bool = False) -> dict:
    global batch_size
    torch.set_num_threads(1)
    t0 = time.time()
    torch.manual_seed(seed)  # upstream: unseeded
    np.random.seed(seed)
    old_batch_size = batch_size
    batch_size = batch or 256  # the batch variant (upstream: 256)
    try:
        x_train, y_train, x_test, y_test = load_digits_data(seed)
        snn = SNN(nb_hidden=hidden or nb_hidden, weight_scale_mult=weight_scale_mult,
                  spike_fn=HeavisideSpike.apply if true_grad else SurrGradSpike.apply)

        lr = LR * lr_mult
        params = [snn.w1, snn.w2]
        optimizer = torch.optim.Adam(params, lr=lr, betas=(0.9,0.999))
        monitor = gradmedic.watch(snn, optimizer, every=every)  # gradmedic

        log_softmax_fn = nn.LogSoftmax(dim=1)
        loss_fn = nn.NLLLoss()

        losses = []
        loss_hist = []
        for e in range(nb_epochs):
            local_loss = []
            for x_local, y_local in sparse_data_generator(x_train, y_train, batch_size, nb_steps, nb_inputs):
                output,_ = snn(x_local.to_dense())
                m,_=torch.max(output,1)
                log_p_y = log_softmax_fn(m)
                loss_val = loss_fn(log_p_y, y_local)

                if zero_grad:  # the no_zero_grad variant leaves this out
                    optimizer.zero_grad()
                loss_val.backward()
                monitor.step(loss_val)  # gradmedic
                optimizer.step()
                local_loss.append(loss_val.item())
                losses.append(loss_val.item())
            mean_loss = np.mean(local_loss)
            if verbose:  # upstream: prints every epoch
                print("Epoch %i: loss=%.5f (%.1fs)"%(e+1,mean_loss,time.time()-t0), flush=True)  # noqa: UP031
            loss_hist.append(mean_loss)
        monitor.close()

        def compute_classification_accuracy(x_data, y_data):
            """ Computes classification accuracy on supplied data in batches. """
            accs = []
            rates = []
            with torch.no_grad():  # upstream: autograd on (no number changes)
                for x_local, y_local in sparse_data_generator(x_data, y_data, batch_size, nb_steps, nb_inputs,
                                                              shuffle=False):
                    output,(_, spk) = snn(x_local.to_dense())
                    m,_= torch.max(output,1) # max over time
                    _,am=torch.max(m,1)      # argmax over output units
                    tmp = np.mean((y_local==am).detach().cpu().numpy()) # compare to labels
                    accs.append(tmp)
                    rates.append(float(spk.sum(1).mean()))
            return float(np.mean(accs)), float(np.mean(rates))

        train_acc, _ = compute_classification_accuracy(x_train, y_train)
        test_acc, spikes = compute_classification_accuracy(x_test, y_test)
    finally:
        batch_size = old_batch_size
    la = np.array(losses)
    if verbose:
        print("Training accuracy: %.3f"%(train_acc))  # noqa: UP031
        print("Test accuracy: %.3f"%(test_acc))  # noqa: UP031
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": test_acc, "chance": 1.0 / nb_outputs,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(lr=lr, train_acc=train_acc, train_loss=float(np.mean(la[-20:])),
                          first_loss=float(np.mean(la[:5])),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), steps=len(la), epochs=nb_epochs,
                          hidden_spikes_per_unit=spikes, lr_mult=lr_mult, weight_scale_mult=weight_scale_mult,
                          true_grad=true_grad, zero_grad=zero_grad, batch_size=batch or 256,
                          nb_hidden=hidden or nb_hidden, test_images=TEST_SIZE),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="spytorch", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"SpyTorch SNN (LIF hidden layer of {nb_hidden}, leaky readout, max over time, LogSoftmax + NLLLoss; surrogate "
      f"gradient scale 100; Adam lr {LR:g}, betas (0.9, 0.999), batch {batch_size}, {NB_EPOCHS} epochs of 5 batches)")
CASES: list[dict] = (
    [_case(f"spytorch_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"spytorch_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1,)), (1000, (1,))) for s in ss]
    + [_case("spytorch_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 ({LR * 1e-3:g})")]
    + [_case(f"spytorch_init_x10_s{s}", "init_large", s, {"weight_scale_mult": 10.0},
             f"{_P}: weight_scale = 70*(1-beta) instead of 7*(1-beta) (w1 and w2 drawn 10x too wide)") for s in (1, 2)]
    + [_case(f"spytorch_init_div10_s{s}", "init_small", s, {"weight_scale_mult": 0.1},
             f"{_P}: weight_scale = 0.7*(1-beta) instead of 7*(1-beta) (w1 and w2 drawn 10x too narrow: the hidden "
             f"layer never reaches threshold)") for s in (1, 2)]
    + [_case(f"spytorch_true_grad_s{s}", "no_gradient", s, {"true_grad": True},
             f"{_P}: the spike's true (Heaviside) derivative instead of the surrogate: zero everywhere, so w1 "
             f"gets an all-zero gradient (Tutorial 1's 'true gradient' run)") for s in (1, 2)]
    + [_case("spytorch_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("spytorch_batch128_s1", "healthy", 1, {"batch": 128},
             f"{_P}: batch_size 128 instead of 256 (10 batches an epoch; expected harmless)")]
    + [_case("spytorch_hidden200_s1", "healthy", 1, {"hidden": 200},
             f"{_P}: nb_hidden 200 instead of 100 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
