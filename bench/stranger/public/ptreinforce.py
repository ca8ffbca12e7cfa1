"""pytorch/examples' REINFORCE on CartPole-v1 (a policy-gradient loop), watched by gradmedic.

Adapted from https://github.com/pytorch/examples (commit 77f55b912142e11fcfdf5b530231fb9c52f181e8,
reinforcement_learning/reinforce.py; BSD 3-Clause License, Copyright (c) 2017 Pytorch contributors, see
LICENSE-ptreinforce).  Kept as upstream: ``Policy`` (Linear(4, 128), Dropout(0.6), ReLU, Linear(128, 2), softmax;
nn.Linear's default init; the policy stays in train mode, so dropout is on while acting, as upstream), ``select_action``
(Categorical over the softmax, ``m.sample()``, the log-prob saved), ``finish_episode`` (discounted returns with gamma
0.99 through a deque, standardized with ``(returns - mean) / (std + eps)``, eps float32's, ``policy_loss`` the
``torch.cat`` of ``-log_prob * R`` summed, ``optimizer.zero_grad(); policy_loss.backward(); optimizer.step()`` - one
step per episode), ``optim.Adam(policy.parameters(), lr=1e-2)``, the episode loop (``for t in range(1, 10000)``, the
running reward ``0.05 * ep_reward + 0.95 * running_reward`` from 10, the stop when it passes the env's
reward_threshold 475).

Changed to run offline on one CPU thread in ~20 s: gym/gymnasium is not installed, so CartPole-v1 is written out
below in numpy from openai/gym (commit bc212954b6713d5db303b3ead124de6cba66063e; MIT License, Copyright (c) 2016
OpenAI, in LICENSE-ptreinforce beside the BSD text): ``CartPoleEnv.step``'s physics (Euler integrator, force 10,
tau 0.02, the masses and half-length), the terminations at |x| > 2.4 and |theta| > 12 degrees, reward 1.0 per step
including the terminating one, ``reset``'s uniform(-0.05, 0.05) state from the env's own PCG64 generator seeded once
through ``np.random.SeedSequence(seed)`` (gym.utils.seeding.np_random), the float32 observation, and gym.make's
TimeLimit of 500 steps (truncated) and reward_threshold 475 (upstream imports gymnasium, whose CartPole-v1 has the
same dynamics, limits and threshold); at most MAX_EPISODES = 150 episodes (upstream loops until solved: on this
machine, 300 episodes took 140-170 s a seed and no seed passed a running reward of 475 - the last-20 mean return rose
to 250-460 around episodes 150-175 and fell back to ~100 by episode 250-300 on all three seeds, the known instability
of REINFORCE at this rate - so the budget is 150 episodes, where the three healthy runs stand at their rise); the
run's seed replaces --seed 543 (for ``env.reset(seed=...)`` and ``torch.manual_seed``; ``np.random.seed`` too,
though nothing draws from numpy's global generator); ``Categorical(probs, validate_args=False)`` (the argument checks
only, for CPU time; the same numbers); no rendering; prints only with ``verbose``.  Knobs (one per variant):
``lr_mult`` scales Adam's rate; ``obs_scale`` multiplies the observation before the policy; ``init_std`` draws both
Linear weights from N(0, init_std) (biases kept); ``standardize=False`` leaves out the returns' standardization;
``zero_grad=False`` leaves out ``optimizer.zero_grad()``; ``gamma`` (upstream's --gamma) and ``hidden`` (the 128).

The watch, as a user would: ``monitor = gradmedic.watch(policy, optimizer, every=10)`` right after the Adam is built,
``monitor.step(policy_loss)`` in ``finish_episode`` right after ``policy_loss.backward()``, before
``optimizer.step()`` (one record every 10 episodes, 15 in a run of 150); ``monitor.close()`` after the loop.
Metric "return_shortfall" (lower is better, a loss-like number for run.py's rules): 500 minus the mean return of the
last 20 episodes; ``initial`` is 500 minus the mean return of the first 5 episodes (the untrained policy: returns
~15-55).  So run.py's good outcome (metric at most 0.7x its start) asks the last-20 mean return to have come about
30% of the way from the untrained policy's toward 500 (~165 and up); a variant is "broken" when the control's
shortfall is under half the variant's, or (``half_the_progress``) when its mean return gained at most half of what
the control's gained over the control's first 5 episodes (e.g. at most ~145 against a control of 270 from 34).  The
policy loss the monitor sees (sum over the episode of -log_prob * standardized return) is not a falling loss: it is
near 0 at the start and grows in magnitude with the episode length.

``CASES`` (program "ptreinforce"): the program on seeds 1-3, and one change each against the same seed's healthy
run: Adam lr x10 (seeds 1 and 2), x100, /1000; the observation x100 (seeds 1 and 2; cause unscaled_inputs); both
weights N(0, 1) (seeds 1 and 2; init_large); the returns not standardized (seeds 1 and 2; cause unscaled_target, the
closest: the raw discounted returns, 1 to ~99, weigh the log-probs unnormalized and without a baseline);
``optimizer.zero_grad()`` left out (seeds 1 and 2); and two changes expected harmless (cause "healthy"): --gamma
0.98 and 64 hidden units.
Recorded (cases-public99; healthy runs 15-22 s, variants 1-21 s - a collapsed policy's 9-step episodes are fast;
~17-20k environment steps for a healthy run): healthy return_shortfall 228.4, 211.9, 251.2 on seeds 1-3 (mean
return of the last 20 episodes 271.6, 288.1, 248.8 from 34.2, 17.4, 22.0 over the first 5; starts 465.8, 482.6,
478.0; no run passed the running-reward threshold within 150 episodes; largest policy loss 21.7-33.2; every loss
finite): healthy; lr x10 (0.1): seed 1 490.9 (return 9.2: the policy collapsed to one action), seed 2 423.6 (76.5):
broken; lr x100 (1.0): 489.8 (10.2): broken; lr /1000 (1e-5): 470.6 (29.4): broken; observation x100: 436.7 (63.3,
seed 1) and 487.4 (12.7, seed 2): broken; weights N(0, 1): seed 1 309.6 (190.3): ambiguous (good outcome, but
worse than 1.1x the control), seed 2 358.1 (141.8): broken; returns not standardized: seed 1 334.4 (165.6; policy
loss up to 10740): ambiguous, seed 2 481.6 (18.4; loss up to 12292): broken; zero_grad left out: 449.9 (50.1, seed
1) and 490.4 (9.6, seed 2): broken; gamma 0.98: 293.5 (206.5): healthy; 64 hidden units: 350.9 (149.1; start
468.8, so not below 0.7x it): ambiguous.  Labels: 17 cases, 4 healthy (3 programs, gamma 0.98), 10 broken, 3
ambiguous.  Every run's losses were finite.  Returns at a fixed budget are noisy in REINFORCE (a harmless change
re-draws the whole trajectory), which is why the 64-unit run and the seed-1 N(0, 1) and raw-return runs fall
between the rules.
"""

from __future__ import annotations

import math
import time
from collections import deque

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.distributions import Categorical

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(policy, optimizer, every=10) right after optimizer = optim.Adam(policy.parameters(), lr=1e-2); "
              "one optimizer step per episode: in finish_episode, monitor.step(policy_loss) right after "
              "policy_loss.backward() (policy_loss = the sum over the episode's steps of -log_prob * standardized "
              "discounted return), before optimizer.step()")

MAX_EPISODES = 150  # upstream: for i_episode in count(1), until the running reward passes 475
LR = 1e-2
GAMMA = 0.99  # upstream: --gamma default 0.99


# ---------------------------------------------------------------------------------------------------------------------
# CartPole-v1, written out in numpy from openai/gym (commit bc212954b6713d5db303b3ead124de6cba66063e,
# gym/envs/classic_control/cartpole.py; MIT License, Copyright (c) 2016 OpenAI, see LICENSE-ptreinforce): the physics
# of CartPoleEnv.step (Euler integrator), CartPoleEnv.reset (uniform(-0.05, 0.05) from the env's own PCG64 generator,
# gym.utils.seeding.np_random), the termination thresholds, and gym.make's TimeLimit(max_episode_steps=500) with
# reward_threshold 475.0 (gym/envs/__init__.py's registration of CartPole-v1).  Rendering, the spaces and the
# checker wrappers are left out.
# ---------------------------------------------------------------------------------------------------------------------

class CartPoleEnv:
    max_episode_steps = 500  # gym/envs/__init__.py: register(id="CartPole-v1", max_episode_steps=500, ...)
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

        self.np_random = None
        self.state = None
        self.steps_beyond_terminated = None
        self._elapsed_steps = None  # gym.wrappers.TimeLimit

    def step(self, action):
        assert action in (0, 1), f"{action!r} ({type(action)}) invalid"
        assert self.state is not None, "Call reset before using step method."
        x, x_dot, theta, theta_dot = self.state
        force = self.force_mag if action == 1 else -self.force_mag
        costheta = math.cos(theta)
        sintheta = math.sin(theta)

        # For the interested reader:
        # https://coneural.org/florian/papers/05_cart_pole.pdf
        temp = (
            force + self.polemass_length * theta_dot**2 * sintheta
        ) / self.total_mass
        thetaacc = (self.gravity * sintheta - costheta * temp) / (
            self.length * (4.0 / 3.0 - self.masspole * costheta**2 / self.total_mass)
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

        self.state = (x, x_dot, theta, theta_dot)

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

        # gym.wrappers.TimeLimit: truncated once the elapsed steps reach max_episode_steps
        self._elapsed_steps += 1
        truncated = self._elapsed_steps >= self.max_episode_steps
        return np.array(self.state, dtype=np.float32), reward, terminated, truncated, {}

    def reset(self, *, seed=None):
        if seed is not None or self.np_random is None:  # gym.Env.reset: gym.utils.seeding.np_random(seed)
            self.np_random = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
        self.state = self.np_random.uniform(low=-0.05, high=0.05, size=(4,))
        self.steps_beyond_terminated = None
        self._elapsed_steps = 0
        return np.array(self.state, dtype=np.float32), {}


# ---------------------------------------------------------------------------------------------------------------------
# pytorch/examples reinforcement_learning/reinforce.py
# ---------------------------------------------------------------------------------------------------------------------

class Policy(nn.Module):
    def __init__(self, hidden=128):  # upstream: no argument, 128 (the hidden64 variant: 64)
        super(Policy, self).__init__()  # noqa: UP008 (as upstream)
        self.affine1 = nn.Linear(4, hidden)
        self.dropout = nn.Dropout(p=0.6)
        self.affine2 = nn.Linear(hidden, 2)

        self.saved_log_probs = []
        self.rewards = []

    def forward(self, x):
        x = self.affine1(x)
        x = self.dropout(x)
        x = F.relu(x)
        action_scores = self.affine2(x)
        return F.softmax(action_scores, dim=1)


def train(seed: int = 1, lr_mult: float = 1.0, obs_scale: float = 1.0, init_std: float | None = None,
          standardize: bool = True, zero_grad: bool = True, gamma: float = GAMMA, hidden: int = 128,
          max_episodes: int = MAX_EPISODES, stop_at_threshold: bool = True, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()

    env = CartPoleEnv()  # upstream: gym.make('CartPole-v1', render_mode=render_mode)
    env.reset(seed=seed)  # upstream: env.reset(seed=args.seed), --seed default 543
    torch.manual_seed(seed)
    np.random.seed(seed)  # upstream: not seeded (numpy's global generator is not used)

    policy = Policy(hidden)
    if init_std is not None:  # the init_large variant: N(0, init_std) weights instead of nn.Linear's default
        with torch.no_grad():
            for m in (policy.affine1, policy.affine2):
                m.weight.normal_(0.0, init_std)
    lr = LR * lr_mult
    optimizer = optim.Adam(policy.parameters(), lr=lr)
    monitor = gradmedic.watch(policy, optimizer, every=every)
    eps = np.finfo(np.float32).eps.item()

    def select_action(state):
        state = torch.from_numpy(state * obs_scale).float().unsqueeze(0)  # upstream: state (obs_scale 1)
        probs = policy(state)
        m = Categorical(probs, validate_args=False)  # upstream: Categorical(probs) (the checks only; CPU time)
        action = m.sample()
        policy.saved_log_probs.append(m.log_prob(action))
        return action.item()

    losses = []

    def finish_episode():
        R = 0
        policy_loss = []
        returns = deque()
        for r in policy.rewards[::-1]:
            R = r + gamma * R
            returns.appendleft(R)
        returns = torch.tensor(returns)
        if standardize:  # the raw_returns variant leaves the standardization out
            returns = (returns - returns.mean()) / (returns.std() + eps)
        for log_prob, R in zip(policy.saved_log_probs, returns, strict=True):
            policy_loss.append(-log_prob * R)
        if zero_grad:  # the no_zero_grad variant leaves this out
            optimizer.zero_grad()
        policy_loss = torch.cat(policy_loss).sum()
        policy_loss.backward()
        monitor.step(policy_loss)  # gradmedic
        optimizer.step()
        losses.append(float(policy_loss.detach()))
        del policy.rewards[:]
        del policy.saved_log_probs[:]

    running_reward = 10
    ep_rewards, running, solved_at = [], [], None
    for i_episode in range(1, max_episodes + 1):  # upstream: for i_episode in count(1)
        state, _ = env.reset()
        ep_reward = 0
        for t in range(1, 10000):  # Don't infinite loop while learning  # noqa: B007 (as upstream)
            action = select_action(state)
            state, reward, terminated, truncated, _ = env.step(action)
            policy.rewards.append(reward)
            ep_reward += reward
            if terminated or truncated:
                break

        running_reward = 0.05 * ep_reward + (1 - 0.05) * running_reward
        finish_episode()
        ep_rewards.append(ep_reward)
        running.append(running_reward)
        if verbose and i_episode % 10 == 0:  # upstream: args.log_interval 10
            print(f'Episode {i_episode}\tLast reward: {ep_reward:.2f}\tAverage reward: {running_reward:.2f}')
        if running_reward > env.reward_threshold:
            solved_at = i_episode
            if verbose:
                print(f"Solved! Running reward is now {running_reward} and the last episode runs to {t} time steps!")
            if stop_at_threshold:
                break
    monitor.close()
    ep = np.asarray(ep_rewards)
    value = 500.0 - float(np.mean(ep[-20:]))
    initial = 500.0 - float(np.mean(ep[:5]))
    return {"monitors": {"": monitor}, "metric": "return_shortfall", "value": value, "chance": None,
            "initial": initial, "initial_what": "untrained: 500 - the mean return of the first 5 episodes",
            "extra": dict(lr=lr, episodes=len(ep), solved_at=solved_at, final_running_reward=float(running_reward),
                          last20_return=float(np.mean(ep[-20:])), first5_return=float(np.mean(ep[:5])),
                          best_running_reward=float(np.max(running)), total_env_steps=int(ep.sum()),
                          train_loss=float(np.mean(losses[-20:])), first_loss=float(np.mean(losses[:5])),
                          max_loss=float(np.nanmax(losses)) if np.isfinite(losses).any() else float("nan"),
                          finite_losses=bool(np.isfinite(losses).all()),
                          returns=[float(x) for x in ep]),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="ptreinforce", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant,
                control=control)


_P = (f"pytorch/examples REINFORCE on CartPole-v1 (Policy Linear(4, 128), Dropout(0.6), ReLU, Linear(128, 2), softmax; "
      f"Categorical sampling; returns discounted with gamma {GAMMA:g} and standardized; Adam lr {LR:g}, one step per "
      f"episode; {MAX_EPISODES} episodes)")
CASES: list[dict] = (
    [_case(f"ptreinforce_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"ptreinforce_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1, 2)), (100, (1,))) for s in ss]
    + [_case("ptreinforce_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 ({LR * 1e-3:g})")]
    + [_case(f"ptreinforce_obs_x100_s{s}", "unscaled_inputs", s, {"obs_scale": 100.0},
             f"{_P}: the observation multiplied by 100 before the policy (cart position, velocity, pole angle and "
             f"angular velocity in units 100x smaller)") for s in (1, 2)]
    + [_case(f"ptreinforce_init_std1_s{s}", "init_large", s, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on affine1.weight and affine2.weight instead of nn.Linear's default "
             f"U(+-1/sqrt(fan_in)) (biases kept)") for s in (1, 2)]
    + [_case(f"ptreinforce_raw_returns_s{s}", "unscaled_target", s, {"standardize": False},
             f"{_P}: the returns not standardized (the line returns = (returns - returns.mean()) / (returns.std() + eps) "
             f"left out: raw discounted returns, 1 to ~99, as the REINFORCE weights)") for s in (1, 2)]
    + [_case(f"ptreinforce_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out of finish_episode (the gradients of all past episodes accumulate)")
       for s in (1, 2)]
    + [_case("ptreinforce_gamma098_s1", "healthy", 1, {"gamma": 0.98}, f"{_P}: --gamma 0.98 instead of 0.99")]
    + [_case("ptreinforce_hidden64_s1", "healthy", 1, {"hidden": 64},
             f"{_P}: 64 hidden units instead of 128 (Linear(4, 64), Linear(64, 2))")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(**kw)
    ex = r["extra"]
    ex.pop("returns")
    print({k: v for k, v in r.items() if k != "monitors"})
