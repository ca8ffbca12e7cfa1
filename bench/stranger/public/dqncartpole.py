"""The PyTorch tutorial's DQN on CartPole-v1 (replay memory, epsilon-greedy, soft target update), watched by gradmedic.

Adapted from https://github.com/pytorch/tutorials (intermediate_source/reinforcement_q_learning.py, the Gymnasium
version by Adam Paszke and Mark Towers; BSD 3-Clause License, Copyright (c) 2017-2022 Pytorch contributors, see
LICENSE-dqncartpole).  COMMIT_NOTE below says which text was followed.  Kept as in the tutorial: ``Transition`` and
``ReplayMemory`` (a deque of 10000, ``random.sample``), ``DQN`` (Linear(n_observations, 128), ReLU, Linear(128, 128),
ReLU, Linear(128, n_actions); nn.Linear's default init), BATCH_SIZE 128, GAMMA 0.99, EPS_START 0.9, EPS_END 0.05,
EPS_DECAY 1000, TAU 0.005, LR 1e-4, ``optim.AdamW(policy_net.parameters(), lr=LR, amsgrad=True)``, ``select_action``
(the exponential epsilon schedule over ``steps_done``; greedy ``policy_net(state).max(1).indices``, otherwise
``env.action_space.sample()``), ``optimize_model`` (nothing until the memory holds a batch; the non-final mask;
Q(s, a) by ``gather``; ``target_net(non_final_next_states).max(1).values`` under ``torch.no_grad()``, 0 for a
terminal state; ``nn.SmoothL1Loss()``; ``optimizer.zero_grad()``, ``loss.backward()``,
``torch.nn.utils.clip_grad_value_(policy_net.parameters(), 100)``, ``optimizer.step()``), the episode loop (one
optimization step per environment step, ``next_state = None`` when terminated (not when truncated), then the soft
update of the target network's weights, theta' <- tau theta + (1 - tau) theta', after every step).

Changed to run offline on one CPU thread in ~30 s: gymnasium is not installed, so CartPole-v1 is written out below
in numpy from Farama-Foundation/Gymnasium (commit 3f0476a8cc224dcce2167cc4b6971ae0f04d5cfc,
gymnasium/envs/classic_control/cartpole.py and the CartPole-v1 registration in gymnasium/envs/__init__.py; MIT
License, Copyright (c) 2016 OpenAI, (c) 2022 Farama Foundation, in LICENSE-dqncartpole beside the BSD text): the
physics of ``CartPoleEnv.step`` (Euler integrator, force 10, tau 0.02, the masses and half-length), the terminations
at |x| > 2.4 and |theta| > 12 degrees, reward 1.0 per step including the terminating one, ``reset``'s
uniform(-0.05, 0.05) state from the env's own PCG64 generator seeded once through ``np.random.SeedSequence(seed)``
(gymnasium.utils.seeding.np_random), the float32 observation, and gym.make's TimeLimit of 500 steps (truncated);
``env.action_space.sample()`` is ``Discrete(2).sample()``, an ``integers(2)`` draw from the action space's own PCG64
generator, seeded here from the run's seed (upstream leaves it unseeded); the run stops after MAX_STEPS = 8000
environment steps (~7870 optimizer steps; a last unfinished episode is not counted) instead of upstream's 600
episodes on an accelerator (50 on a CPU, too few to learn): a step budget, because a learning agent's episodes grow
from ~10-20 to hundreds of steps; at 7000 steps the three healthy seeds' greedy returns were 189, 157 and 252, seed
2's just short of run.py's good outcome, so 8000 (on this shared 2-core machine ~4.5 ms a step alone: ~35-40 s a
run, and 2-4x that while other jobs load it); the run's seed is given to ``random.seed``, ``torch.manual_seed`` and the first
``env.reset(seed=...)`` (upstream leaves the seeding lines commented out); the soft update is written with
``torch._foreach_mul_``/``_foreach_add_`` on the target's parameters instead of building both state dicts every step
(the same numbers: the network has no buffers; CPU time only); no plots.  Knobs (one per variant): ``lr_mult``
scales AdamW's rate; ``obs_scale`` multiplies every observation before it is stored and fed to the network;
``init_std`` draws every Linear weight of the policy net from N(0, init_std) before the target copies it (biases
kept); ``target_net=False`` computes max_a Q(s', a) with the policy net itself (no target network);
``zero_grad=False`` leaves ``optimizer.zero_grad()`` out; ``clip=False`` leaves ``clip_grad_value_`` out;
``batch_size`` and ``tau`` replace BATCH_SIZE and TAU.

The watch, as a user would: ``monitor = gradmedic.watch(policy_net, optimizer, every=10)`` right after the AdamW is
built, ``monitor.step(loss)`` in ``optimize_model`` right after ``loss.backward()``, before the clipping and
``optimizer.step()``; ``monitor.close()`` after the loop.  Metric "return_shortfall" (lower is better, a loss-like
number for run.py's rules): 500 minus the mean return of 10 greedy evaluation episodes after training (epsilon 0,
no learning, episodes continuing the training env's generator); ``initial`` is 500 minus the mean return of the
first 10 training episodes (an almost random policy: a random policy's CartPole return is ~22).  So run.py's good
outcome (metric at most 0.7x its start) asks for a greedy return of about 160 and up; a variant is "broken" when the
control's shortfall is under half the variant's or (``half_the_progress``) its greedy return gained at most half of
what the control's gained over the first 10 episodes.  The TD loss the monitor sees is not a falling loss: it rises
from ~0.5 as the Q-values grow with the episodes' length.

``CASES`` (program "dqncartpole"): the program on seeds 1-3, and one change each against seed 1's healthy run: AdamW
lr x10, x100, x1000 (added after x10 came out ambiguous and x100 learned better than the control), /1000; the
observation x100 (unscaled_inputs); every Linear weight N(0, 1) (init_large); no target network (the policy net as
its own target; cause no_clipping, the closest name in causes.py: a stabilizer the loop is built around left out,
whose failure is Q-values that run away); ``optimizer.zero_grad()`` left out; ``clip_grad_value_(..., 100)`` left out
with lr x10 (no_clipping); and two changes expected harmless (cause "healthy"): BATCH_SIZE 64 and TAU 0.01.
Recorded (cases-public174; 8000 environment steps a run, 24-67 s a run on the shared machine, the healthy runs 35-67
s; every loss finite): healthy return_shortfall 326.1, 271.4, 270.7 on seeds 1-3 (greedy return 173.9, 228.6, 229.3;
last 20 training episodes 149.8, 156.9, 206.2; start 481, 483, 483; 279, 157, 142 episodes; largest TD loss
1.5-2.7): healthy; lr x10 (1e-3): 355.1 (greedy 144.9, last-20 146.5): ambiguous (learned, within 1.1x the control,
but short of the good outcome: 0.7x its start is 337); lr x100 (1e-2): 0 (greedy 500 in all 10 episodes; last-20 training
return 64.8, epsilon-greedy): healthy; lr x1000 (0.1): 490.2 (greedy 9.8; TD loss up to 16.9): broken; lr /1000
(1e-7): 490.3 (greedy 9.7; TD loss 0.52-0.59 throughout): broken; observation x100: 490.7 (greedy 9.3; TD loss up to
565): broken; weights N(0, 1): 490.4 (greedy 9.6; first TD losses ~16, up to 22.8): broken; no target network:
490.3 (greedy 9.7; the Q-values run away, TD loss up to 13814): broken; zero_grad left out: 422.2 (greedy 77.8):
broken; no clipping with lr x10: 355.1, the same run as lr x10 number for number (SmoothL1's gradients never reach
the clip value 100, so the clip never binds here): ambiguous; BATCH_SIZE 64: 405.0 (greedy 95.0; start 474.4):
ambiguous; TAU 0.01: 408.0 (greedy 92.0, last-20 125.1): ambiguous.  Labels: 14 cases, 4 healthy (3 programs, lr
x100), 6 broken, 4 ambiguous.  Returns at a fixed step budget are noisy in DQN (a harmless change re-draws the whole
trajectory; the healthy seed 1 itself gave a greedy 189.4 at 7000 steps and 173.9 at 8000), which is why the two
harmless changes and lr x10 fall between the rules.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque, namedtuple
from itertools import count

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(policy_net, optimizer, every=10) right after optimizer = optim.AdamW(policy_net.parameters(), "
              "lr=LR, amsgrad=True); one optimizer step per environment step (once the replay memory holds a batch): "
              "in optimize_model, monitor.step(loss) right after loss.backward() (SmoothL1Loss of Q(s, a) against "
              "r + GAMMA max_a Q_target(s', a)), before clip_grad_value_(..., 100) and optimizer.step()")
COMMIT_NOTE = ("pytorch/tutorials could not be fetched (5.3 GB snapshot) and the file index holds only its pre-2023 "
               "versions (e.g. commit 00acd8d218741d93c500119ed9e6e777b8d35b99, the screen-pixel CNN with RMSprop); "
               "the port follows the Gymnasium version of the same file as published on "
               "pytorch.org/tutorials/intermediate/reinforcement_q_learning.html (2023-2024 revisions: "
               "EPS_END 0.05, EPS_DECAY 1000, LR 1e-4)")

NUM_EPISODES = 1000  # upstream: 600 if torch.cuda.is_available() or torch.backends.mps.is_available() else 50
MAX_STEPS = 8000  # not upstream: the run stops after this many environment steps (CPU time; see the docstring)
EVAL_EPISODES = 10

# BATCH_SIZE is the number of transitions sampled from the replay buffer
# GAMMA is the discount factor as mentioned in the previous section
# EPS_START is the starting value of epsilon
# EPS_END is the final value of epsilon
# EPS_DECAY controls the rate of exponential decay of epsilon, higher means a slower decay
# TAU is the update rate of the target network
# LR is the learning rate of the ``AdamW`` optimizer
BATCH_SIZE = 128
GAMMA = 0.99
EPS_START = 0.9
EPS_END = 0.05
EPS_DECAY = 1000
TAU = 0.005
LR = 1e-4


# ---------------------------------------------------------------------------------------------------------------------
# CartPole-v1, written out in numpy from Farama-Foundation/Gymnasium (commit 3f0476a8cc224dcce2167cc4b6971ae0f04d5cfc,
# gymnasium/envs/classic_control/cartpole.py; MIT License, see LICENSE-dqncartpole): CartPoleEnv.step (Euler
# integrator), CartPoleEnv.reset (uniform(-0.05, 0.05) from the env's own PCG64 generator), the termination thresholds,
# and gym.make's TimeLimit(max_episode_steps=500) (gymnasium/envs/__init__.py's registration of CartPole-v1).
# Rendering, the spaces' checks, sutton_barto_reward and the vector env are left out.
# ---------------------------------------------------------------------------------------------------------------------

class CartPoleEnv:
    max_episode_steps = 500  # gymnasium/envs/__init__.py: register(id="CartPole-v1", max_episode_steps=500, ...)
    reward_threshold = 475.0  # ... reward_threshold=475.0

    def __init__(self):
        self.gravity = 9.8
        self.masscart = 1.0
        self.masspole = 0.1
        self.total_mass = self.masspole + self.masscart
        self.length = 0.5  # actually half the pole's length
        self.polemass_length = self.masspole * self.length
        self.force_mag = 10.0
        self.tau = 0.02  # seconds between state updates
        self.kinematics_integrator = "euler"

        # Angle at which to fail the episode
        self.theta_threshold_radians = 12 * 2 * math.pi / 360
        self.x_threshold = 2.4

        self.n_actions = 2  # self.action_space = spaces.Discrete(2)
        self.np_random = None
        self.state = None
        self.steps_beyond_terminated = None
        self._elapsed_steps = None  # gymnasium.wrappers.TimeLimit

    def step(self, action):
        assert action in (0, 1), f"{action!r} ({type(action)}) invalid"
        assert self.state is not None, "Call reset before using step method."
        x, x_dot, theta, theta_dot = self.state
        force = self.force_mag if action == 1 else -self.force_mag
        costheta = np.cos(theta)
        sintheta = np.sin(theta)

        # For the interested reader:
        # https://coneural.org/florian/papers/05_cart_pole.pdf
        temp = (
            force + self.polemass_length * np.square(theta_dot) * sintheta
        ) / self.total_mass
        thetaacc = (self.gravity * sintheta - costheta * temp) / (
            self.length
            * (4.0 / 3.0 - self.masspole * np.square(costheta) / self.total_mass)
        )
        xacc = temp - self.polemass_length * thetaacc * costheta / self.total_mass

        if self.kinematics_integrator == "euler":
            x = x + self.tau * x_dot
            x_dot = x_dot + self.tau * xacc
            theta = theta + self.tau * theta_dot
            theta_dot = theta_dot + self.tau * thetaacc
        else:  # semi-implicit euler
            x_dot = x_dot + self.tau * xacc
            x = x + self.tau * x_dot
            theta_dot = theta_dot + self.tau * thetaacc
            theta = theta + self.tau * theta_dot

        self.state = np.array((x, x_dot, theta, theta_dot), dtype=np.float64)

        terminated = bool(
            x < -self.x_threshold
            or x > self.x_threshold
            or theta < -self.theta_threshold_radians
            or theta > self.theta_threshold_radians
        )

        if not terminated:
            reward = 1.0
        elif self.steps_beyond_terminated is None:
            # Pole just fell!
            self.steps_beyond_terminated = 0
            reward = 1.0
        else:
            self.steps_beyond_terminated += 1
            reward = 0.0

        # gymnasium.wrappers.TimeLimit: truncated once the elapsed steps reach max_episode_steps
        self._elapsed_steps += 1
        truncated = self._elapsed_steps >= self.max_episode_steps
        return np.array(self.state, dtype=np.float32), reward, terminated, truncated, {}

    def reset(self, *, seed=None):
        if seed is not None or self.np_random is None:  # gymnasium.Env.reset: seeding.np_random(seed)
            self.np_random = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
        self.state = self.np_random.uniform(low=-0.05, high=0.05, size=(4,))
        self.steps_beyond_terminated = None
        self._elapsed_steps = 0
        return np.array(self.state, dtype=np.float32), {}


# ---------------------------------------------------------------------------------------------------------------------
# pytorch/tutorials intermediate_source/reinforcement_q_learning.py
# ---------------------------------------------------------------------------------------------------------------------

Transition = namedtuple('Transition',
                        ('state', 'action', 'next_state', 'reward'))


class ReplayMemory(object):  # noqa: UP004 (as upstream)

    def __init__(self, capacity):
        self.memory = deque([], maxlen=capacity)

    def push(self, *args):
        """Save a transition"""
        self.memory.append(Transition(*args))

    def sample(self, batch_size):
        return random.sample(self.memory, batch_size)

    def __len__(self):
        return len(self.memory)


class DQN(nn.Module):

    def __init__(self, n_observations, n_actions):
        super(DQN, self).__init__()  # noqa: UP008 (as upstream)
        self.layer1 = nn.Linear(n_observations, 128)
        self.layer2 = nn.Linear(128, 128)
        self.layer3 = nn.Linear(128, n_actions)

    # Called with either one element to determine next action, or a batch
    # during optimization. Returns tensor([[left0exp,right0exp]...]).
    def forward(self, x):
        x = F.relu(self.layer1(x))
        x = F.relu(self.layer2(x))
        return self.layer3(x)


def train(seed: int = 1, lr_mult: float = 1.0, obs_scale: float = 1.0, init_std: float | None = None,
          target_net: bool = True, zero_grad: bool = True, clip: bool = True, batch_size: int = BATCH_SIZE,
          tau: float = TAU, num_episodes: int = NUM_EPISODES, max_steps: int = MAX_STEPS,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    device = torch.device("cpu")  # upstream: cuda, mps or cpu
    random.seed(seed)  # upstream: the seeding lines are commented out
    torch.manual_seed(seed)
    np.random.seed(seed)  # nothing draws from numpy's global generator

    env = CartPoleEnv()  # upstream: gym.make("CartPole-v1")
    action_rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed + 1000)))  # env.action_space's

    # Get number of actions from gym action space
    n_actions = env.n_actions
    # Get the number of state observations
    state, info = env.reset(seed=seed)  # upstream: env.reset()
    n_observations = len(state)

    policy_net = DQN(n_observations, n_actions).to(device)
    if init_std is not None:  # the init_large variant: N(0, init_std) weights instead of nn.Linear's default
        with torch.no_grad():
            for m in (policy_net.layer1, policy_net.layer2, policy_net.layer3):
                m.weight.normal_(0.0, init_std)
    target = DQN(n_observations, n_actions).to(device)  # upstream: target_net = DQN(...)
    target.load_state_dict(policy_net.state_dict())

    lr = LR * lr_mult
    optimizer = optim.AdamW(policy_net.parameters(), lr=lr, amsgrad=True)
    monitor = gradmedic.watch(policy_net, optimizer, every=every)  # gradmedic
    memory = ReplayMemory(10000)

    steps_done = 0

    def select_action(state):
        nonlocal steps_done  # upstream: global steps_done
        sample = random.random()
        eps_threshold = EPS_END + (EPS_START - EPS_END) * \
            math.exp(-1. * steps_done / EPS_DECAY)
        steps_done += 1
        if sample > eps_threshold:
            with torch.no_grad():
                # t.max(1) will return the largest column value of each row.
                # second column on max result is index of where max element was
                # found, so we pick action with the larger expected reward.
                return policy_net(state).max(1).indices.view(1, 1)
        else:
            # upstream: env.action_space.sample() (Discrete(2).sample(): an integers(2) draw from its own generator)
            return torch.tensor([[int(action_rng.integers(n_actions))]], device=device, dtype=torch.long)

    losses = []

    def optimize_model():
        if len(memory) < batch_size:
            return
        transitions = memory.sample(batch_size)
        # Transpose the batch (see https://stackoverflow.com/a/19343/3343043 for
        # detailed explanation). This converts batch-array of Transitions
        # to Transition of batch-arrays.
        batch = Transition(*zip(*transitions, strict=True))  # upstream: zip(*transitions) (ruff B905; the same)

        # Compute a mask of non-final states and concatenate the batch elements
        # (a final state would've been the one after which simulation ended)
        non_final_mask = torch.tensor(tuple(map(lambda s: s is not None,
                                                batch.next_state)), device=device, dtype=torch.bool)
        non_final_next_states = torch.cat([s for s in batch.next_state
                                           if s is not None])
        state_batch = torch.cat(batch.state)
        action_batch = torch.cat(batch.action)
        reward_batch = torch.cat(batch.reward)

        # Compute Q(s_t, a) - the model computes Q(s_t), then we select the
        # columns of actions taken. These are the actions which would've been taken
        # for each batch state according to policy_net
        state_action_values = policy_net(state_batch).gather(1, action_batch)

        # Compute V(s_{t+1}) for all next states.
        # Expected values of actions for non_final_next_states are computed based
        # on the "older" target_net; selecting their best reward with max(1).values
        # This is merged based on the mask, such that we'll have either the expected
        # state value or 0 in case the state was final.
        next_state_values = torch.zeros(batch_size, device=device)
        with torch.no_grad():
            q_next = target if target_net else policy_net  # the no-target variant: the policy net as its own target
            next_state_values[non_final_mask] = q_next(non_final_next_states).max(1).values
        # Compute the expected Q values
        expected_state_action_values = (next_state_values * GAMMA) + reward_batch

        # Compute Huber loss
        criterion = nn.SmoothL1Loss()
        loss = criterion(state_action_values, expected_state_action_values.unsqueeze(1))

        # Optimize the model
        if zero_grad:  # the no_zero_grad variant leaves this out
            optimizer.zero_grad()
        loss.backward()
        monitor.step(loss)  # gradmedic
        # In-place gradient clipping
        if clip:  # the no_clipping variant leaves this out
            torch.nn.utils.clip_grad_value_(policy_net.parameters(), 100)
        optimizer.step()
        losses.append(float(loss.detach()))

    t_params, p_params = list(target.parameters()), list(policy_net.parameters())
    episode_durations = []
    for i_episode in range(num_episodes):
        # Initialize the environment and get its state
        state, info = env.reset()
        state = torch.tensor(state * obs_scale, dtype=torch.float32, device=device).unsqueeze(0)  # upstream: state
        for t in count():
            action = select_action(state)
            observation, reward, terminated, truncated, _ = env.step(action.item())
            reward = torch.tensor([reward], device=device)
            done = terminated or truncated

            if terminated:
                next_state = None
            else:
                next_state = torch.tensor(observation * obs_scale, dtype=torch.float32,  # upstream: observation
                                          device=device).unsqueeze(0)

            # Store the transition in memory
            memory.push(state, action, next_state, reward)

            # Move to the next state
            state = next_state

            # Perform one step of the optimization (on the policy network)
            optimize_model()

            # Soft update of the target network's weights
            # θ′ ← τ θ + (1 −τ )θ′
            # upstream: target_net_state_dict[key] = policy_net_state_dict[key]*TAU + target_net_state_dict[key]*(1-TAU)
            # for every key, then target_net.load_state_dict(target_net_state_dict) (the same numbers; CPU time)
            with torch.no_grad():
                torch._foreach_mul_(t_params, 1 - tau)
                torch._foreach_add_(t_params, p_params, alpha=tau)

            if done:
                episode_durations.append(t + 1)
                break
            if steps_done >= max_steps:  # not upstream: the step budget (an unfinished last episode is not counted)
                break
        if steps_done >= max_steps:
            break
        if verbose and (i_episode + 1) % 10 == 0:
            print(f"episode {i_episode + 1}: last-10 mean duration {np.mean(episode_durations[-10:]):.1f}, "
                  f"steps {steps_done}, loss {np.mean(losses[-100:]) if losses else float('nan'):.4f} "
                  f"({time.time() - t0:.1f}s)", flush=True)
    monitor.close()

    # greedy evaluation (not in the tutorial, which plots the training durations): epsilon 0, no learning
    eval_returns = []
    with torch.no_grad():
        for _ in range(EVAL_EPISODES):
            state, info = env.reset()
            for t in count():
                s = torch.tensor(state * obs_scale, dtype=torch.float32, device=device).unsqueeze(0)
                q = policy_net(s)
                a = int(q.max(1).indices.item()) if torch.isfinite(q).all() else 0
                state, reward, terminated, truncated, _ = env.step(a)
                if terminated or truncated:
                    eval_returns.append(t + 1)
                    break

    ep = np.asarray(episode_durations, dtype=float)
    la = np.asarray(losses, dtype=float)
    value = 500.0 - float(np.mean(eval_returns))
    initial = 500.0 - float(np.mean(ep[:10]))
    return {"monitors": {"": monitor}, "metric": "return_shortfall", "value": value, "chance": 500.0 - 22.0,
            "initial": initial, "initial_what": "untrained: 500 - the mean return of the first 10 training episodes "
                                                "(epsilon ~0.9; a random policy's return is ~22)",
            "extra": dict(lr=lr, episodes=len(ep), env_steps=steps_done, optimizer_steps=len(la),
                          eval_return=float(np.mean(eval_returns)), eval_returns=[float(x) for x in eval_returns],
                          last20_return=float(np.mean(ep[-20:])), first10_return=float(np.mean(ep[:10])),
                          best20_return=float(max(np.mean(ep[i:i + 20]) for i in range(max(1, len(ep) - 19)))),
                          train_loss=float(np.mean(la[-20:])) if len(la) else float("nan"),
                          first_loss=float(np.mean(la[:5])) if len(la) else float("nan"),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), lr_mult=lr_mult, obs_scale=obs_scale,
                          init_std=-1.0 if init_std is None else init_std, target_net=target_net,
                          zero_grad=zero_grad, clip=clip, batch_size=batch_size, tau=tau,
                          returns=[float(x) for x in ep]),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="dqncartpole", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = (f"PyTorch tutorial DQN on CartPole-v1 (Linear(4, 128), ReLU, Linear(128, 128), ReLU, Linear(128, 2); replay "
      f"memory 10000, batch {BATCH_SIZE}, epsilon 0.9 -> 0.05 (decay {EPS_DECAY} steps), gamma {GAMMA:g}, "
      f"SmoothL1Loss, AdamW lr {LR:g} amsgrad, clip_grad_value_ 100, soft target update tau {TAU:g}; "
      f"{MAX_STEPS} environment steps)")
CASES: list[dict] = (
    [_case(f"dqncartpole_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"dqncartpole_lr_x{k}_s1", "lr_high", 1, {"lr_mult": k}, f"{_P}: AdamW lr x{k} ({LR * k:g})")
       for k in (10, 100, 1000)]
    + [_case("dqncartpole_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: AdamW lr /1000 ({LR * 1e-3:g})")]
    + [_case("dqncartpole_obs_x100_s1", "unscaled_inputs", 1, {"obs_scale": 100.0},
             f"{_P}: every observation multiplied by 100 before it is stored and fed to the network")]
    + [_case("dqncartpole_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on the three Linear weights of policy_net (the target copies them) "
             f"instead of nn.Linear's default U(+-1/sqrt(fan_in)) (biases kept)")]
    + [_case("dqncartpole_no_target_s1", "no_clipping", 1, {"target_net": False},
             f"{_P}: no target network: max_a Q(s', a) computed with policy_net itself (under no_grad), so the "
             f"bootstrapped target moves with every step (cause no_clipping, the closest name: a stabilizer the "
             f"loop is built around left out)")]
    + [_case("dqncartpole_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out of optimize_model (the gradients of all past steps accumulate)")]
    + [_case("dqncartpole_no_clip_lr_x10_s1", "no_clipping", 1, {"clip": False, "lr_mult": 10},
             f"{_P}: torch.nn.utils.clip_grad_value_(..., 100) left out and AdamW lr x10 ({LR * 10:g})")]
    + [_case("dqncartpole_batch64_s1", "healthy", 1, {"batch_size": 64},
             f"{_P}: BATCH_SIZE 64 instead of 128 (expected harmless)")]
    + [_case("dqncartpole_tau001_s1", "healthy", 1, {"tau": 0.01},
             f"{_P}: TAU 0.01 instead of 0.005 (expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    r["extra"].pop("returns")
    print({k: v for k, v in r.items() if k != "monitors"})
