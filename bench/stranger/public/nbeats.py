"""N-BEATS (philipperemy/n-beats): NBeatsNet's trend, seasonality and generic stacks trained by the PyTorch example
trainer on its dummy seasonality series, watched by gradmedic.

Adapted from https://github.com/philipperemy/n-beats (commit 06a4e209ada80bf1f403ced5228261784dfb26ed, the newest;
nbeats_pytorch/model.py, examples/trainer_pytorch.py run as ``--task dummy``, examples/data.py; MIT License,
Copyright (c) 2019 Philippe Remy, see LICENSE-nbeats).  Copied: ``NBeatsNet`` (its blocks kept in plain Python lists
and their parameters registered through ``self.parameters = nn.ParameterList(...)``, as upstream, so
``net.parameters()`` holds every weight while ``net.modules()`` does not list the blocks; ``forward`` with the
residual backcast and the summed forecast; compile/fit/predict/save/load and the intermediate outputs left out,
the trainer does not use them), ``squeeze_last_dim``, ``seasonality_model``, ``trend_model``, ``linear_space``,
``Block`` (fc1-fc4 with ``F.relu``), ``SeasonalityBlock``, ``TrendBlock``, ``GenericBlock``, and
``dummy_data_generator``.  Kept as the trainer sets them: forecast_length 10, backcast_length 50, batch_size 4, the
dummy task (``signal_type='seasonality', random=True``: two cosines of random integer frequencies, a random slope
and level, shifted and divided by the backcast's largest magnitude), stacks [TREND, SEASONALITY, GENERIC] with
thetas_dim [2, 8, 3], nb_blocks_per_stack 3, share_weights_in_stack False, nb_harmonics None, PyTorch's default
initialization, ``optim.Adam(net.parameters())`` (lr 1e-3), and ``simple_fit``'s loop: ``optimiser.zero_grad()``,
``net.train()``, ``backcast, forecast = net(x)``, ``F.mse_loss(forecast, target)``, ``loss.backward()``,
``optimiser.step()``, no clipping, a fresh batch from the generator every step.

Changed to run offline on one CPU thread in ~5-20 s (each marked ``# upstream:``): hidden_layer_units HIDDEN (128)
instead of 1024 (the four-FC-layer blocks, their count and every stack kept); STEPS (600) steps instead of 10000
(the healthy loss is at its floor by step ~300); no checkpoint load/save, no plots, the per-step print only every
250 steps with ``verbose``; ``np.random.seed(seed)`` and ``torch.manual_seed(seed)`` (upstream seeds neither); the
CPU; the model's construction prints silenced; observation noise N(0, NOISE_STD=0.1) added to every point of the
normalized backcast and forecast (upstream's series is a deterministic function of four draws: without noise the
healthy runs' held-out MSE ended at 1.0e-4, 2.7e-3 and 8.6e-4 on seeds 1-3, set by Adam's last oscillations, so a
run 1.2x off by chance read as "broken"; with the noise the forecast has a floor of 0.01 and the three seeds agree);
a held-out set of TEST_SIZE (512) series from the same generator (its own seed, 10000 + seed) whose forecast MSE
after training is the metric (upstream has no test set).  Knobs (one per variant): ``lr_mult`` scales Adam's rate;
``init_std`` draws every Linear weight of every block from N(0, init_std) (biases kept); ``fc_bias`` sets the biases
of fc1-fc4 (the ReLU layers) to a constant; ``zero_grad=False`` leaves ``optimiser.zero_grad()`` out;
``input_scale`` multiplies the backcast window only; ``series_scale`` multiplies backcast and target (the outcome's
forecast divided back, so it stays in the normalized units; ``initial``/``extra`` losses divided by its square, the
monitor's losses are the raw ones); ``batch_size``; ``hidden``.

The watch, as a user would: ``monitor = gradmedic.watch(net, optimiser, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``optimiser.step()``; ``monitor.close()`` after the
loop.  Metric "loss": the held-out forecast MSE; ``initial`` the mean of the first 5 training losses; ``chance`` the
held-out targets' variance (0.349; the last-value naive forecast scores 0.33).

``CASES`` (program "nbeats"): the program on seeds 1-3, and one change each against the same seed's healthy run:
Adam lr x10, x100 (seeds 1 and 2), x1000, /1000; N(0, 1) weights (seeds 1 and 2); fc1-fc4 biases -10 (dead ReLUs);
``optimiser.zero_grad()`` left out (seeds 1 and 2); the backcast window x100 (unscaled_inputs); the whole series
x100 (unscaled_target); and two changes expected harmless (cause "healthy"): batch_size 8 and hidden_layer_units 64.
Recorded (cases-public102; 5-9 s a run, 113 s for all 17; a first recording at batch 2 instead of 8 and without the
noise, 8-14 s a run, was discarded): healthy held-out MSE 0.01486, 0.01450, 0.01451 on seeds 1-3 (start, the mean
of the first 5 training losses, 1.37, 1.64, 0.61; first loss 2.11, 2.53, 1.09; train loss at the end 0.014-0.019;
every loss finite); lr x10: 0.01739 (1.17x its control; largest loss the first): ambiguous; lr x100: the loss
non-finite from the second step on (seeds 1 and 2): broken; lr x1000: the same: broken; lr /1000: 1.497 (train loss
1.39 at the end): broken; N(0, 1) weights: the first loss already non-finite (the backcast residual amplified through
nine blocks of four ReLU layers), NaN on seeds 1 and 2: broken; biases -10: 0.419 (train loss 0.37 - the generic
blocks' output biases learn the mean forecast; nothing else receives a gradient): broken; zero_grad left out: the loss
rises to 1.8e9 (seed 1) and 1.0e25 (seed 2), held-out MSE 6.1e8 and 3.5e24: broken; backcast x100: first loss 26.8,
largest 89.4, 0.0525 (3.5x its control): broken; series x100: 0.01515 (1.02x its control) but losses in the raw units
up to 1.5e4: ambiguous (the largest-loss rule); batch_size 8: 0.01502: healthy; hidden 64: 0.01387: healthy.
Labels: 5 healthy (3 programs, batch 8, hidden 64), 10 broken, 2 ambiguous (lr x10, series x100).  A first try
without the noise and with batch_size 2 as the harmless change gave all 12 other variants broken, lr x10 (0.0029
against 0.0001) and series x100 (0.0006) among them, and batch 2 and hidden 64 ambiguous - the reason for the noise.
"""

from __future__ import annotations

import contextlib
import io
import time

import numpy as np
import torch
from torch import nn, optim
from torch.nn import functional as F

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(net, optimiser, every=10) right after optimiser = optim.Adam(net.parameters()); "
              "monitor.step(loss) right after loss.backward() (F.mse_loss of the forecast, batch of 4 series), before "
              "optimiser.step() (optimiser.zero_grad() comes first in the loop, upstream's order; no clipping)")
STEPS = 600  # upstream: max_grad_steps = 10000
HIDDEN = 128  # upstream: hidden_layer_units=1024
TEST_SIZE = 512
NOISE_STD = 0.1  # upstream: none (see dummy_data_generator)


# ---- nbeats_pytorch/model.py (copied; only what the trainer uses: compile/fit/predict/save/load and the
# ---- intermediate outputs are left out) ---------------------------------------------------------------------------
class NBeatsNet(nn.Module):
    SEASONALITY_BLOCK = 'seasonality'
    TREND_BLOCK = 'trend'
    GENERIC_BLOCK = 'generic'

    def __init__(
            self,
            device=torch.device('cpu'),  # noqa: B008 (as upstream)
            stack_types=(TREND_BLOCK, SEASONALITY_BLOCK),
            nb_blocks_per_stack=3,
            forecast_length=5,
            backcast_length=10,
            thetas_dim=(4, 8),
            share_weights_in_stack=False,
            hidden_layer_units=256,
            nb_harmonics=None
    ):
        super(NBeatsNet, self).__init__()  # noqa: UP008 (as upstream)
        self.forecast_length = forecast_length
        self.backcast_length = backcast_length
        self.hidden_layer_units = hidden_layer_units
        self.nb_blocks_per_stack = nb_blocks_per_stack
        self.share_weights_in_stack = share_weights_in_stack
        self.nb_harmonics = nb_harmonics
        self.stack_types = stack_types
        self.stacks = []
        self.thetas_dim = thetas_dim
        self.parameters = []
        self.device = device
        print('| N-Beats')
        for stack_id in range(len(self.stack_types)):
            self.stacks.append(self.create_stack(stack_id))
        self.parameters = nn.ParameterList(self.parameters)
        self.to(self.device)
        self._loss = None
        self._opt = None
        self._gen_intermediate_outputs = False
        self._intermediary_outputs = []

    def create_stack(self, stack_id):
        stack_type = self.stack_types[stack_id]
        print(f'| --  Stack {stack_type.title()} (#{stack_id}) (share_weights_in_stack={self.share_weights_in_stack})')
        blocks = []
        for block_id in range(self.nb_blocks_per_stack):
            block_init = NBeatsNet.select_block(stack_type)
            if self.share_weights_in_stack and block_id != 0:
                block = blocks[-1]  # pick up the last one when we share weights.
            else:
                block = block_init(
                    self.hidden_layer_units, self.thetas_dim[stack_id],
                    self.device, self.backcast_length, self.forecast_length,
                    self.nb_harmonics
                )
                self.parameters.extend(block.parameters())
            print(f'     | -- {block}')
            blocks.append(block)
        return blocks

    @staticmethod
    def select_block(block_type):
        if block_type == NBeatsNet.SEASONALITY_BLOCK:
            return SeasonalityBlock
        elif block_type == NBeatsNet.TREND_BLOCK:
            return TrendBlock
        else:
            return GenericBlock

    def forward(self, backcast):
        self._intermediary_outputs = []
        backcast = squeeze_last_dim(backcast)
        forecast = torch.zeros(size=(backcast.size()[0], self.forecast_length,))  # maybe batch size here.
        for stack_id in range(len(self.stacks)):
            for block_id in range(len(self.stacks[stack_id])):
                b, f = self.stacks[stack_id][block_id](backcast)
                backcast = backcast.to(self.device) - b
                forecast = forecast.to(self.device) + f
        return backcast, forecast


def squeeze_last_dim(tensor):
    if len(tensor.shape) == 3 and tensor.shape[-1] == 1:  # (128, 10, 1) => (128, 10).
        return tensor[..., 0]
    return tensor


def seasonality_model(thetas, t, device):
    p = thetas.size()[-1]
    assert p <= thetas.shape[1], 'thetas_dim is too big.'
    p1, p2 = (p // 2, p // 2) if p % 2 == 0 else (p // 2, p // 2 + 1)
    s1 = torch.tensor(np.array([np.cos(2 * np.pi * i * t) for i in range(p1)])).float()  # H/2-1
    s2 = torch.tensor(np.array([np.sin(2 * np.pi * i * t) for i in range(p2)])).float()
    S = torch.cat([s1, s2])
    return thetas.mm(S.to(device))


def trend_model(thetas, t, device):
    p = thetas.size()[-1]
    assert p <= 4, 'thetas_dim is too big.'
    T = torch.tensor(np.array([t ** i for i in range(p)])).float()
    return thetas.mm(T.to(device))


def linear_space(backcast_length, forecast_length, is_forecast=True):
    horizon = forecast_length if is_forecast else backcast_length
    return np.arange(0, horizon) / horizon


class Block(nn.Module):

    def __init__(self, units, thetas_dim, device, backcast_length=10, forecast_length=5, share_thetas=False,
                 nb_harmonics=None):
        super(Block, self).__init__()  # noqa: UP008 (as upstream)
        self.units = units
        self.thetas_dim = thetas_dim
        self.backcast_length = backcast_length
        self.forecast_length = forecast_length
        self.share_thetas = share_thetas
        self.fc1 = nn.Linear(backcast_length, units)
        self.fc2 = nn.Linear(units, units)
        self.fc3 = nn.Linear(units, units)
        self.fc4 = nn.Linear(units, units)
        self.device = device
        self.backcast_linspace = linear_space(backcast_length, forecast_length, is_forecast=False)
        self.forecast_linspace = linear_space(backcast_length, forecast_length, is_forecast=True)
        if share_thetas:
            self.theta_f_fc = self.theta_b_fc = nn.Linear(units, thetas_dim, bias=False)
        else:
            self.theta_b_fc = nn.Linear(units, thetas_dim, bias=False)
            self.theta_f_fc = nn.Linear(units, thetas_dim, bias=False)

    def forward(self, x):
        x = squeeze_last_dim(x)
        x = F.relu(self.fc1(x.to(self.device)))
        x = F.relu(self.fc2(x))
        x = F.relu(self.fc3(x))
        x = F.relu(self.fc4(x))
        return x

    def __str__(self):
        block_type = type(self).__name__
        return f'{block_type}(units={self.units}, thetas_dim={self.thetas_dim}, ' \
               f'backcast_length={self.backcast_length}, forecast_length={self.forecast_length}, ' \
               f'share_thetas={self.share_thetas}) at @{id(self)}'


class SeasonalityBlock(Block):

    def __init__(self, units, thetas_dim, device, backcast_length=10, forecast_length=5, nb_harmonics=None):
        if nb_harmonics:
            super(SeasonalityBlock, self).__init__(units, nb_harmonics, device, backcast_length,  # noqa: UP008
                                                   forecast_length, share_thetas=True)
        else:
            super(SeasonalityBlock, self).__init__(units, forecast_length, device, backcast_length,  # noqa: UP008
                                                   forecast_length, share_thetas=True)

    def forward(self, x):
        x = super(SeasonalityBlock, self).forward(x)  # noqa: UP008 (as upstream)
        backcast = seasonality_model(self.theta_b_fc(x), self.backcast_linspace, self.device)
        forecast = seasonality_model(self.theta_f_fc(x), self.forecast_linspace, self.device)
        return backcast, forecast


class TrendBlock(Block):

    def __init__(self, units, thetas_dim, device, backcast_length=10, forecast_length=5, nb_harmonics=None):
        super(TrendBlock, self).__init__(units, thetas_dim, device, backcast_length,  # noqa: UP008 (as upstream)
                                         forecast_length, share_thetas=True)

    def forward(self, x):
        x = super(TrendBlock, self).forward(x)  # noqa: UP008 (as upstream)
        backcast = trend_model(self.theta_b_fc(x), self.backcast_linspace, self.device)
        forecast = trend_model(self.theta_f_fc(x), self.forecast_linspace, self.device)
        return backcast, forecast


class GenericBlock(Block):

    def __init__(self, units, thetas_dim, device, backcast_length=10, forecast_length=5, nb_harmonics=None):
        super(GenericBlock, self).__init__(units, thetas_dim, device, backcast_length,  # noqa: UP008 (as upstream)
                                           forecast_length)

        self.backcast_fc = nn.Linear(thetas_dim, backcast_length)
        self.forecast_fc = nn.Linear(thetas_dim, forecast_length)

    def forward(self, x):
        # no constraint for generic arch.
        x = super(GenericBlock, self).forward(x)  # noqa: UP008 (as upstream)

        theta_b = self.theta_b_fc(x)
        theta_f = self.theta_f_fc(x)

        backcast = self.backcast_fc(theta_b)  # generic. 3.3.
        forecast = self.forecast_fc(theta_f)  # generic. 3.3.

        return backcast, forecast


# ---- examples/data.py: dummy_data_generator (copied) ----------------------------------------------------------------
def dummy_data_generator(backcast_length, forecast_length, signal_type='seasonality', random=False, batch_size=32,
                         noise_std=0.0):  # upstream: no noise_std
    def get_x_y():
        lin_space = np.linspace(-backcast_length, forecast_length, backcast_length + forecast_length)
        if random:
            offset = np.random.standard_normal() * 0.1
        else:
            offset = 1
        if signal_type == 'trend':
            a = lin_space + offset
        elif signal_type == 'seasonality':
            a = np.cos(2 * np.random.randint(low=1, high=3) * np.pi * lin_space)
            a += np.cos(2 * np.random.randint(low=2, high=4) * np.pi * lin_space)
            a += lin_space * offset + np.random.rand() * 0.1
        elif signal_type == 'cos':
            a = np.cos(2 * np.pi * lin_space)
        else:
            raise Exception('Unknown signal type.')

        x = a[:backcast_length]
        y = a[backcast_length:]

        min_x, max_x = np.minimum(np.min(x), 0), np.max(np.abs(x))

        x -= min_x
        y -= min_x

        x /= max_x
        y /= max_x

        # upstream: no noise (the series is a deterministic function of four draws, so a healthy run's held-out MSE
        # ends anywhere between 1e-4 and 3e-3, decided by Adam's last oscillations); observation noise gives the
        # forecast a floor of NOISE_STD ** 2
        x = x + noise_std * np.random.standard_normal(x.shape)
        y = y + noise_std * np.random.standard_normal(y.shape)

        return x, y

    def gen():
        while True:
            xx = []
            yy = []
            for _i in range(batch_size):
                x, y = get_x_y()
                xx.append(x)
                yy.append(y)
            yield np.array(xx), np.array(yy)

    return gen()


# ---- examples/trainer_pytorch.py: main() and simple_fit(), written out with the variant knobs ----------------------
def train(seed: int = 1, lr_mult: float = 1.0, init_std: float | None = None, fc_bias: float | None = None,
          zero_grad: bool = True, input_scale: float = 1.0, series_scale: float = 1.0, batch_size: int = 4,
          hidden: int = HIDDEN, steps: int | None = None, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # CPU speed only
    t0 = time.time()
    np.random.seed(seed)  # upstream: no seed
    torch.manual_seed(seed)
    device = torch.device('cpu')  # upstream: cuda when available
    forecast_length = 10
    backcast_length = 5 * forecast_length
    # upstream: batch_size = 4  # greater than 4 for viz (the knob is for the harmless variant)

    # the held-out set: TEST_SIZE series from the same generator, drawn before (and apart from) the training stream
    # (upstream has none; it only plots the training batch)
    state = np.random.get_state()
    np.random.seed(10_000 + seed)
    x_test, y_test = next(dummy_data_generator(backcast_length, forecast_length, signal_type='seasonality',
                                               random=True, batch_size=TEST_SIZE, noise_std=NOISE_STD))
    np.random.set_state(state)
    data_gen = dummy_data_generator(backcast_length, forecast_length,
                                    signal_type='seasonality', random=True,
                                    batch_size=batch_size, noise_std=NOISE_STD)

    with contextlib.redirect_stdout(io.StringIO()):  # the model's construction prints
        net = NBeatsNet(device=device,
                        stack_types=[NBeatsNet.TREND_BLOCK, NBeatsNet.SEASONALITY_BLOCK, NBeatsNet.GENERIC_BLOCK],
                        forecast_length=forecast_length,
                        thetas_dim=[2, 8, 3],
                        nb_blocks_per_stack=3,
                        backcast_length=backcast_length,
                        hidden_layer_units=hidden,  # upstream: 1024
                        share_weights_in_stack=False,
                        nb_harmonics=None)
    fcs = [b for stack in net.stacks for b in stack]
    if init_std is not None:  # the bug: every Linear weight drawn from N(0, init_std) (biases kept)
        for b in fcs:
            for m in b.modules():
                if isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, mean=0.0, std=init_std)
    if fc_bias is not None:  # the bug: fc1..fc4's biases (the ReLU layers) set to a large negative constant
        for b in fcs:
            for m in (b.fc1, b.fc2, b.fc3, b.fc4):
                nn.init.constant_(m.bias, fc_bias)

    optimiser = optim.Adam(net.parameters())
    if lr_mult != 1.0:  # the lr variants (upstream: Adam's default lr 1e-3)
        for g in optimiser.param_groups:
            g['lr'] *= lr_mult
    lr = optimiser.param_groups[0]['lr']
    monitor = gradmedic.watch(net, optimiser, every=every)  # gradmedic

    max_grad_steps = steps or STEPS  # upstream: 10000

    # simple_fit (no checkpoint load/save, no plot callback)
    losses = []
    for grad_step, (x, target) in enumerate(data_gen):
        x = x * input_scale * series_scale  # the unscaled variants (upstream: the generator's normalized series)
        target = target * series_scale
        if zero_grad:  # the no_zero_grad variant leaves this out
            optimiser.zero_grad()
        net.train()
        backcast, forecast = net(torch.tensor(x, dtype=torch.float).to(device))
        loss = F.mse_loss(forecast, torch.tensor(target, dtype=torch.float).to(device))
        loss.backward()
        monitor.step(loss)  # gradmedic
        optimiser.step()
        losses.append(loss.item())
        if verbose and grad_step % 250 == 0:  # upstream: prints every step
            print(f'grad_step = {str(grad_step).zfill(6)}, loss = {loss.item():.6f} ({time.time() - t0:.1f}s)',
                  flush=True)
        if grad_step + 1 >= max_grad_steps:  # upstream: if grad_step > max_grad_steps (10002 steps)
            break
    monitor.close()

    net.eval()
    with torch.no_grad():
        _, f = net(torch.tensor(x_test * input_scale * series_scale, dtype=torch.float))
        # the forecast MSE in the normalized series' units (for series_scale, the forecast divided back)
        test_mse = float(F.mse_loss(f / series_scale, torch.tensor(y_test, dtype=torch.float)))
        naive = float(F.mse_loss(torch.tensor(np.repeat(x_test[:, -1:], forecast_length, axis=1)),
                                 torch.tensor(y_test)))
    la = np.array(losses) / series_scale ** 2
    return {"monitors": {"": monitor}, "metric": "loss", "value": test_mse,
            "initial": float(np.mean(la[:5])),
            "initial_what": "untrained: mean training forecast MSE of the first 5 steps (in the normalized series' units)",
            "chance": float(np.mean((y_test - y_test.mean()) ** 2)),
            "extra": {"train_loss": float(np.mean(la[-20:])), "first_loss": float(la[0]),
                      "max_loss": float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                      "finite_losses": bool(np.isfinite(la).all()), "steps": len(losses), "lr": lr,
                      "lr_mult": lr_mult, "init_std": -1.0 if init_std is None else init_std,
                      "fc_bias": 0.0 if fc_bias is None else fc_bias, "zero_grad": zero_grad,
                      "input_scale": input_scale, "series_scale": series_scale, "batch_size": batch_size,
                      "hidden": hidden, "naive_last_value_mse": naive,
                      "n_params": sum(p.numel() for p in net.parameters())},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="nbeats", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"N-BEATS (trend/seasonality/generic stacks, 3 blocks each, thetas_dim [2, 8, 3], hidden {HIDDEN}; Adam lr 1e-3, "
      f"F.mse_loss, batch 4 dummy seasonality series, backcast 50, forecast 10, {STEPS} steps)")
CASES: list[dict] = (
    [_case(f"nbeats_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"nbeats_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("nbeats_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 (1e-06)")]
    + [_case(f"nbeats_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every Linear weight of every block (fc1-fc4, the theta layers, the "
             f"generic blocks' backcast_fc/forecast_fc) instead of PyTorch's default U(+-1/sqrt(fan_in)); biases kept")
       for s in (1, 2)]
    + [_case("nbeats_dead_relu_s1", "dead_relu", 1, {"fc_bias": -10.0},
             f"{_P}: the biases of fc1-fc4 (the four ReLU layers of every block) set to -10")]
    + [_case(f"nbeats_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimiser.zero_grad() left out of the loop (the gradients accumulate)") for s in (1, 2)]
    + [_case("nbeats_inputs_x100_s1", "unscaled_inputs", 1, {"input_scale": 100.0},
             f"{_P}: the backcast window (the network's input) multiplied by 100; the forecast target unchanged")]
    + [_case("nbeats_series_x100_s1", "unscaled_target", 1, {"series_scale": 100.0},
             f"{_P}: the whole series multiplied by 100 (backcast and forecast target; the generator's scaling undone "
             f"by a factor 100), the outcome's forecast divided back by 100")]
    + [_case("nbeats_batch8_s1", "healthy", 1, {"batch_size": 8},
             f"{_P}: batch_size 8 instead of 4 (expected harmless)")]
    + [_case("nbeats_hidden64_s1", "healthy", 1, {"hidden": 64},
             f"{_P}: hidden_layer_units 64 instead of {HIDDEN} (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
