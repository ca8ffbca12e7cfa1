"""greydanus's Hamiltonian Neural Networks on the ideal mass-spring system, watched by gradmedic.

Adapted from https://github.com/greydanus/hamiltonian-nn (commit bcc362235dc623ffe48f22ccc22417e02e9803b4; Apache
License 2.0, Sam Greydanus, Misko Dzamba, Jason Yosinski, see LICENSE-hnnspring): ``hnn.py`` (``HNN``: ``forward``
splitting the MLP's two outputs, ``time_derivative`` through ``torch.autograd.grad(F2.sum(), x, create_graph=True)``
times the symplectic ``permutation_tensor``; field_type 'solenoidal', canonical coordinates; the RK4 path, unused by
default, left out), ``nn_models.py`` (``MLP``: Linear(2, 200), tanh, Linear(200, 200), tanh, Linear(200, 2, no bias),
``orthogonal_`` on the three weights, PyTorch's default biases), ``utils.py`` (``choose_nonlinearity``, ``L2_loss``,
``integrate_model``), ``experiment-spring/data.py`` (``hamiltonian_fn`` H = p**2 + q**2, ``dynamics_fn``,
``get_trajectory``: radius U(0.1, 1), t in [0, 3] at 30 points, solve_ivp rtol 1e-10, Gaussian noise 0.1 on q and p,
the derivatives noise-free; ``get_dataset``: 50 trajectories, np.random.seed(seed), the first half (750 points) for
training and the second half (750) as the test split) and ``experiment-spring/train.py`` (the HNN, baseline off:
``torch.optim.Adam(model.parameters(), 1e-3, weight_decay=1e-4)``, the full batch each step, ``loss =
L2_loss(dxdt, model.time_derivative(x))``, ``loss.backward() ; optim.step() ; optim.zero_grad()``, the test loss each
step, the final train and test MSE), copied below.

Changed to run offline on one CPU thread in ~20 s: TOTAL_STEPS = 600 gradient steps (upstream's --total_steps 2000;
the healthy test loss reaches the noise floor, ~0.038 = about (2 x 0.1)^2, by step 100 and stays there); the run's
seed replaces --seed 0 (torch, numpy and the data's seed, as upstream); ``dynamics_fn`` writes the gradient of p**2 +
q**2 out (2q, 2p) instead of calling HIPS ``autograd.grad`` (not installed; the same numbers);
``choose_nonlinearity`` keeps tanh, relu, sigmoid, softplus; no model saving; prints only with ``verbose`` (every 100
steps).  Knobs (one per variant): ``lr_mult``; ``input_scale`` multiplies the train and test coordinates (the target
derivatives stay in the original units); ``init_std`` replaces ``orthogonal_`` by ``normal_(std=init_std)``;
``zero_grad=False`` leaves ``optim.zero_grad()`` out; ``nonlinearity`` (upstream's --nonlinearity); ``hidden_dim``;
``weight_decay``.

Metric "loss": the test loss (the MSE of the predicted against the true time derivatives on the 750-point test split,
upstream's "Final test loss") after training; ``initial`` the same test loss of the untrained (initialized) model, 0.63-
0.85 for the healthy seeds.  Chosen over the energy error of a rollout because the test loss is what train.py reports
and is comparable across variants, and the rollout's energy error cannot tell a dead model from a good one: a learned
field of zero leaves the state at its start, which conserves energy exactly (lr x1000 and the missing zero_grad give
an energy error of 0).  The rollout is kept in ``extra``: ``rollout_energy_error``, the mean relative |H(x(t)) -
H(x(0))| of ``integrate_model`` from (q, p) = (0.75, 0) over t in [0, 20] (200 points, rtol 1e-6), after training
and untrained (NaN for the scaled-coordinate variants, whose field lives in other units).

The watch, as a user would: ``monitor = gradmedic.watch(model, optim, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()``, before ``optim.step()`` (``optim.zero_grad()`` after the step,
upstream's order); ``monitor.close()`` after the loop.

``CASES`` (program "hnnspring"): the program on seeds 1-3, and one change each against the same seed's healthy run:
lr x10, x100 (seeds 1 and 2), x1000, /1000; the coordinates x100 (seeds 1 and 2) and x1000 (added after x100 came out
ambiguous on both seeds); N(0, 1) weights instead of orthogonal (seeds 1 and 2); ``optim.zero_grad()`` left out;
--nonlinearity relu (cause "no_gradient": the field is the input-gradient of a ReLU net, piecewise constant, so the
loss's gradient reaches the weights only through the active-unit pattern and the two hidden biases get exactly zero
gradient - the HNN paper's reason for tanh; no cause in causes.py names it exactly); and two changes expected
harmless: --hidden_dim 100 and weight_decay 0 (cause "healthy").
Recorded (cases-public122; 11-38 s a run, ~20 s typical, while the shared machine was loaded): healthy test loss
0.0381, 0.0405, 0.0369 on seeds 1-3 (untrained 0.806, 0.853, 0.627; train loss 0.91/0.70/0.56 over the first 5 steps
-> 0.036-0.037 over the last 20; rollout energy error 0.026, 0.016, 0.011, untrained 3.15, 2.38, 1.06; every loss
finite); lr x10: 0.0375 (largest loss 1.21 vs 0.93): healthy; lr x100: 0.799 (seed 1; largest loss 6.9, the field
collapses to ~0, rollout energy error 2e-6) and 0.876 (seed 2; largest 62): broken; lr x1000: first-5 mean 5585,
largest 2.5e4, then a zero field, 0.795: broken; lr /1000: 0.797 (train loss 0.93 -> 0.92): broken; coordinates x100:
0.0657 (seed 1) and 0.0759 (seed 2; train loss 0.039, near the control's): ambiguous (worse, not twice the control);
coordinates x1000: 0.599: broken; N(0, 1) init: untrained test loss 1998 and 1041, train loss 2.2 and 1.4 at the end,
test loss 12.9 (seed 1) and 8.4 (seed 2): broken; zero_grad left out: 0.799 (train loss stuck at 0.91, largest 1.7):
broken; relu: 0.0794 (train loss 0.072; just over twice the control's 0.0381): broken; hidden 100: 0.0380: healthy;
weight_decay 0: 0.0380: healthy.  Labels: 6 healthy (3 programs, lr x10, hidden 100, no weight decay), 9 broken, 2
ambiguous.  Every run's losses were finite.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.integrate
import torch

import gradmedic

solve_ivp = scipy.integrate.solve_ivp

ARCH = "mlp"
MONITOR_AT = ("watch(model, optim, every=10) right after optim = torch.optim.Adam(model.parameters(), 1e-3, "
              "weight_decay=1e-4); monitor.step(loss) right after loss.backward() (L2_loss between the true and the "
              "HNN's time derivatives, the latter from torch.autograd.grad(..., create_graph=True) of the MLP's output), "
              "before optim.step(); optim.zero_grad() comes after optim.step(), upstream's order")

TOTAL_STEPS = 600  # upstream: --total_steps 2000
HIDDEN_DIM = 200
LEARN_RATE = 1e-3


# ---------------------------------------------------------------- utils.py (upstream)
def choose_nonlinearity(name):
  nl = None
  if name == 'tanh':
    nl = torch.tanh
  elif name == 'relu':
    nl = torch.relu
  elif name == 'sigmoid':
    nl = torch.sigmoid
  elif name == 'softplus':
    nl = torch.nn.functional.softplus
  else:  # upstream: also selu, elu, swish
    raise ValueError("nonlinearity not recognized")
  return nl


def L2_loss(u, v):
  return (u-v).pow(2).mean()


def integrate_model(model, t_span, y0, fun=None, **kwargs):
  def default_fun(t, np_x):
      x = torch.tensor( np_x, requires_grad=True, dtype=torch.float32)
      x = x.view(1, np.size(np_x)) # batch size of 1
      dx = model.time_derivative(x).data.numpy().reshape(-1)
      return dx
  fun = default_fun if fun is None else fun
  return solve_ivp(fun=fun, t_span=t_span, y0=y0, **kwargs)


# ---------------------------------------------------------------- nn_models.py (upstream)
class MLP(torch.nn.Module):
  '''Just a salt-of-the-earth MLP'''
  def __init__(self, input_dim, hidden_dim, output_dim, nonlinearity='tanh', init_std=None):
    super(MLP, self).__init__()  # noqa: UP008 (as upstream)
    self.linear1 = torch.nn.Linear(input_dim, hidden_dim)
    self.linear2 = torch.nn.Linear(hidden_dim, hidden_dim)
    self.linear3 = torch.nn.Linear(hidden_dim, output_dim, bias=None)

    for l in [self.linear1, self.linear2, self.linear3]:  # noqa: E741 (as upstream)
      if init_std is None:
        torch.nn.init.orthogonal_(l.weight) # use a principled initialization
      else:  # upstream: orthogonal_ always; the init_large variant draws N(0, init_std)
        torch.nn.init.normal_(l.weight, std=init_std)

    self.nonlinearity = choose_nonlinearity(nonlinearity)

  def forward(self, x, separate_fields=False):
    h = self.nonlinearity( self.linear1(x) )
    h = self.nonlinearity( self.linear2(h) )
    return self.linear3(h)


# ---------------------------------------------------------------- hnn.py (upstream)
class HNN(torch.nn.Module):
    '''Learn arbitrary vector fields that are sums of conservative and solenoidal fields'''
    def __init__(self, input_dim, differentiable_model, field_type='solenoidal',
                    baseline=False, assume_canonical_coords=True):
        super(HNN, self).__init__()  # noqa: UP008 (as upstream)
        self.baseline = baseline
        self.differentiable_model = differentiable_model
        self.assume_canonical_coords = assume_canonical_coords
        self.M = self.permutation_tensor(input_dim) # Levi-Civita permutation tensor
        self.field_type = field_type

    def forward(self, x):
        # traditional forward pass
        if self.baseline:
            return self.differentiable_model(x)

        y = self.differentiable_model(x)
        assert y.dim() == 2 and y.shape[1] == 2, "Output tensor should have shape [batch_size, 2]"
        return y.split(1,1)

    def time_derivative(self, x, t=None, separate_fields=False):
        '''NEURAL ODE-STLE VECTOR FIELD'''
        if self.baseline:
            return self.differentiable_model(x)

        '''NEURAL HAMILTONIAN-STLE VECTOR FIELD'''
        F1, F2 = self.forward(x) # traditional forward pass

        conservative_field = torch.zeros_like(x) # start out with both components set to 0
        solenoidal_field = torch.zeros_like(x)

        if self.field_type != 'solenoidal':
            dF1 = torch.autograd.grad(F1.sum(), x, create_graph=True)[0] # gradients for conservative field
            conservative_field = dF1 @ torch.eye(*self.M.shape)

        if self.field_type != 'conservative':
            dF2 = torch.autograd.grad(F2.sum(), x, create_graph=True)[0] # gradients for solenoidal field
            solenoidal_field = dF2 @ self.M.t()

        if separate_fields:
            return [conservative_field, solenoidal_field]

        return conservative_field + solenoidal_field

    def permutation_tensor(self,n):
        M = None
        if self.assume_canonical_coords:
            M = torch.eye(n)
            M = torch.cat([M[n//2:], -M[:n//2]])
        else:
            '''Constructs the Levi-Civita permutation tensor'''
            M = torch.ones(n,n) # matrix of ones
            M *= 1 - torch.eye(n) # clear diagonals
            M[::2] *= -1 # pattern of signs
            M[:,::2] *= -1

            for i in range(n): # make asymmetric
                for j in range(i+1, n):
                    M[i,j] *= -1
        return M


# ---------------------------------------------------------------- experiment-spring/data.py (upstream)
def hamiltonian_fn(coords):
    q, p = np.split(coords,2)
    H = p**2 + q**2 # spring hamiltonian (linear oscillator)
    return H

def dynamics_fn(t, coords):
    # upstream: dcoords = autograd.grad(hamiltonian_fn)(coords) (HIPS autograd, not installed here); the gradient
    # of p**2 + q**2 written out
    dcoords = 2 * np.asarray(coords, dtype=float)
    dqdt, dpdt = np.split(dcoords,2)
    S = np.concatenate([dpdt, -dqdt], axis=-1)
    return S

def get_trajectory(t_span=[0,3], timescale=10, radius=None, y0=None, noise_std=0.1, **kwargs):  # noqa: B006 (as upstream)
    t_eval = np.linspace(t_span[0], t_span[1], int(timescale*(t_span[1]-t_span[0])))

    # get initial state
    if y0 is None:
        y0 = np.random.rand(2)*2-1
    if radius is None:
        radius = np.random.rand()*0.9 + 0.1 # sample a range of radii
    y0 = y0 / np.sqrt((y0**2).sum()) * radius ## set the appropriate radius

    spring_ivp = solve_ivp(fun=dynamics_fn, t_span=t_span, y0=y0, t_eval=t_eval, rtol=1e-10, **kwargs)
    q, p = spring_ivp['y'][0], spring_ivp['y'][1]
    dydt = [dynamics_fn(None, y) for y in spring_ivp['y'].T]
    dydt = np.stack(dydt).T
    dqdt, dpdt = np.split(dydt,2)

    # add noise
    q += np.random.randn(*q.shape)*noise_std
    p += np.random.randn(*p.shape)*noise_std
    return q, p, dqdt, dpdt, t_eval

def get_dataset(seed=0, samples=50, test_split=0.5, **kwargs):
    data = {'meta': locals()}

    # randomly sample inputs
    np.random.seed(seed)
    xs, dxs = [], []
    for s in range(samples):  # noqa: B007 (as upstream)
        x, y, dx, dy, t = get_trajectory(**kwargs)
        xs.append( np.stack( [x, y]).T )
        dxs.append( np.stack( [dx, dy]).T )

    data['x'] = np.concatenate(xs)
    data['dx'] = np.concatenate(dxs).squeeze()

    # make a train/test split
    split_ix = int(len(data['x']) * test_split)
    split_data = {}
    for k in ['x', 'dx']:
        split_data[k], split_data['test_' + k] = data[k][:split_ix], data[k][split_ix:]
    data = split_data
    return data


# ---------------------------------------------------------------- the rollout (as in analyze-spring.ipynb, simplified)
Y0 = np.asarray([0.75, 0.0])  # a fixed initial condition of radius 0.75
T_SPAN = [0, 20]


def rollout_energy_error(model):
    """Integrate the learned field from Y0 over T_SPAN; mean |H(x(t)) - H(x(0))| of the true Hamiltonian, relative."""
    t_eval = np.linspace(T_SPAN[0], T_SPAN[1], 200)
    try:
        sol = integrate_model(model, T_SPAN, Y0, t_eval=t_eval, rtol=1e-6)
        y = sol['y']
        if y.shape[1] != len(t_eval) or not np.isfinite(y).all():
            return float("nan")
    except Exception:  # noqa: BLE001 (a diverged field)
        return float("nan")
    h0 = float(hamiltonian_fn(Y0)[0])
    return float(np.mean(np.abs(y[0] ** 2 + y[1] ** 2 - h0)) / h0)


# ---------------------------------------------------------------- experiment-spring/train.py (upstream), as a function
def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, init_std: float | None = None,
          zero_grad: bool = True, nonlinearity: str = 'tanh', hidden_dim: int = HIDDEN_DIM,
          weight_decay: float = 1e-4, total_steps: int = TOTAL_STEPS, every: int = 10, verbose: bool = False) -> dict:
  torch.set_num_threads(1)
  t0 = time.time()
  input_dim, baseline, field_type = 2, False, 'solenoidal'  # upstream's defaults (the HNN, not the baseline)
  learn_rate = LEARN_RATE * lr_mult
  # set random seed
  torch.manual_seed(seed)
  np.random.seed(seed)

  output_dim = input_dim if baseline else 2
  nn_model = MLP(input_dim, hidden_dim, output_dim, nonlinearity, init_std=init_std)
  model = HNN(input_dim, differentiable_model=nn_model,
              field_type=field_type, baseline=baseline)
  optim = torch.optim.Adam(model.parameters(), learn_rate, weight_decay=weight_decay)
  monitor = gradmedic.watch(model, optim, every=every)  # gradmedic

  # arrange data
  data = get_dataset(seed=seed)
  # upstream: the coordinates as generated; the unscaled_inputs variant multiplies them by input_scale (the target
  # derivatives stay in the original units)
  x = torch.tensor( data['x'] * input_scale, requires_grad=True, dtype=torch.float32)
  test_x = torch.tensor( data['test_x'] * input_scale, requires_grad=True, dtype=torch.float32)
  dxdt = torch.Tensor(data['dx'])
  test_dxdt = torch.Tensor(data['test_dx'])

  # the untrained model's test loss (not in upstream: the metric's reference value)
  test_loss0 = L2_loss(test_dxdt, model.time_derivative(test_x)).item()
  energy0 = rollout_energy_error(model) if input_scale == 1.0 else float("nan")

  # vanilla train loop
  stats = {'train_loss': [], 'test_loss': []}
  for step in range(total_steps+1):

    # train step
    dxdt_hat = model.time_derivative(x)  # upstream: or model.rk4_time_derivative(x) with --use_rk4 (off)
    loss = L2_loss(dxdt, dxdt_hat)
    loss.backward()
    monitor.step(loss)  # gradmedic
    optim.step()
    if zero_grad:  # the no_zero_grad variant leaves this out
      optim.zero_grad()

    # run test data
    test_dxdt_hat = model.time_derivative(test_x)
    test_loss = L2_loss(test_dxdt, test_dxdt_hat)

    # logging
    stats['train_loss'].append(loss.item())
    stats['test_loss'].append(test_loss.item())
    if verbose and step % 100 == 0:  # upstream: print_every 200
      print("step {}, train_loss {:.4e}, test_loss {:.4e}".format(step, loss.item(), test_loss.item()))  # noqa: UP032
  monitor.close()

  train_dxdt_hat = model.time_derivative(x)
  train_dist = (dxdt - train_dxdt_hat)**2
  test_dxdt_hat = model.time_derivative(test_x)
  test_dist = (test_dxdt - test_dxdt_hat)**2
  final_test = test_dist.mean().item()
  if verbose:
    print('Final train loss {:.4e} +/- {:.4e}\nFinal test loss {:.4e} +/- {:.4e}'  # noqa: UP032
      .format(train_dist.mean().item(), train_dist.std().item()/np.sqrt(train_dist.shape[0]),
              final_test, test_dist.std().item()/np.sqrt(test_dist.shape[0])))
  energy = rollout_energy_error(model) if input_scale == 1.0 else float("nan")
  tl = np.asarray(stats['train_loss'])
  value = final_test if np.isfinite(final_test) else float("nan")
  return {"monitors": {"": monitor}, "metric": "loss", "value": float(value),
          "initial": float(test_loss0), "initial_what": "untrained: the test loss (MSE of the time derivatives) "
                                                        "of the initialized model",
          "chance": None,
          "extra": dict(lr=learn_rate, train_loss=float(np.mean(tl[-20:])), first_loss=float(np.mean(tl[:5])),
                        max_loss=float(np.nanmax(tl)) if np.isfinite(tl).any() else float("nan"),
                        finite_losses=bool(np.isfinite(tl).all()), steps=len(tl),
                        final_train_loss=float(train_dist.mean().item()),
                        rollout_energy_error=energy, rollout_energy_error_untrained=energy0,
                        lr_mult=lr_mult, input_scale=input_scale, init_std=init_std, zero_grad=zero_grad,
                        nonlinearity=nonlinearity, hidden_dim=hidden_dim, weight_decay=weight_decay,
                        train_points=int(x.shape[0]), test_points=int(test_x.shape[0])),
          "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="hnnspring", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = (f"greydanus HNN on the ideal spring (MLP 2-{HIDDEN_DIM}-{HIDDEN_DIM}-2, tanh, orthogonal init; field from "
      f"autograd.grad(create_graph=True); L2 loss on the time derivatives; Adam lr {LEARN_RATE:g}, weight_decay 1e-4, "
      f"full batch of 750 noisy points, {TOTAL_STEPS} steps)")
CASES: list[dict] = (
    [_case(f"hnnspring_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"hnnspring_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LEARN_RATE * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("hnnspring_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LEARN_RATE * 1e-3:g})")]
    + [_case(f"hnnspring_coords_x100_s{s}", "unscaled_inputs", s, {"input_scale": 100.0},
             f"{_P}: the coordinates (q, p) multiplied by 100 (train and test inputs; the target derivatives unchanged)")
       for s in (1, 2)]
    + [_case("hnnspring_coords_x1000_s1", "unscaled_inputs", 1, {"input_scale": 1000.0},
             f"{_P}: the coordinates (q, p) multiplied by 1000 (added after x100 came out ambiguous)")]
    + [_case(f"hnnspring_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) instead of orthogonal_ on the three Linear weights (biases kept)")
       for s in (1, 2)]
    + [_case("hnnspring_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optim.zero_grad() left out (the gradients accumulate)")]
    + [_case("hnnspring_relu_s1", "no_gradient", 1, {"nonlinearity": "relu"},
             f"{_P}: --nonlinearity relu instead of tanh (the learned field, a first derivative of a ReLU net, is "
             "piecewise constant, and the biases get no gradient through it)")]
    + [_case("hnnspring_hidden100_s1", "healthy", 1, {"hidden_dim": 100}, f"{_P}: --hidden_dim 100")]
    + [_case("hnnspring_wd0_s1", "healthy", 1, {"weight_decay": 0.0}, f"{_P}: weight_decay 0 instead of 1e-4")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(**kw)
    print({k: v for k, v in r.items() if k != "monitors"})
