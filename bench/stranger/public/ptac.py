"""pytorch/examples' actor-critic on CartPole-v1 (one shared layer, an action head and a value head), watched by gradmedic.

Adapted from https://github.com/pytorch/examples (commit 77f55b912142e11fcfdf5b530231fb9c52f181e8,
reinforcement_learning/actor_critic.py; BSD 3-Clause License, Copyright (c) 2017 Pytorch contributors, see
LICENSE-ptac).  Kept as upstream: ``SavedAction``, ``Policy`` (affine1 Linear(4, 128), ReLU, ``action_head``
Linear(128, 2) with softmax, ``value_head`` Linear(128, 1); nn.Linear's default init), ``select_action`` (Categorical
over the probabilities, ``m.sample()``, the log-prob and the state value saved), ``finish_episode`` (discounted
returns with gamma 0.99, standardized with ``(returns - mean) / (std + eps)``, eps float32's; ``advantage = R -
value.item()``; ``-log_prob * advantage`` plus ``F.smooth_l1_loss(value, torch.tensor([R]))`` per step, the two
stacks summed; ``optimizer.zero_grad(); loss.backward(); optimizer.step()`` - one step per episode),
``optim.Adam(model.parameters(), lr=3e-2)``, the episode loop (``for t in range(1, 10000)``, the running reward
``0.05 * ep_reward + 0.95 * running_reward`` from 10, the stop when it passes the env's reward_threshold 475).

Changed to run offline on one CPU thread: gym/gymnasium is not installed, so CartPole-v1 is written out below in
numpy from openai/gym (commit bc212954b6713d5db303b3ead124de6cba66063e; MIT License, Copyright (c) 2016 OpenAI, in
LICENSE-ptac beside the BSD text), as in ptreinforce.py (copied, not imported): ``CartPoleEnv.step``'s physics
(Euler integrator, force 10, tau 0.02, the masses and half-length), the terminations at |x| > 2.4 and |theta| > 12
degrees, reward 1.0 per step including the terminating one, ``reset``'s uniform(-0.05, 0.05) state from the env's
own PCG64 generator seeded once through ``np.random.SeedSequence(seed)``, the float32 observation, and gym.make's
TimeLimit of 500 steps (truncated) and reward_threshold 475 (upstream imports gymnasium, whose CartPole-v1 has the
same dynamics, limits and threshold); at most MAX_EPISODES = 200 episodes (upstream loops until solved); the run's
seed replaces --seed 543 (for ``env.reset(seed=...)`` and ``torch.manual_seed``); ``Categorical(probs,
validate_args=False)`` (the argument checks only, for CPU time; the same numbers); no rendering; prints only with
``verbose``.  Knobs (one per variant): ``lr_mult`` scales Adam's rate; ``obs_scale`` multiplies the observation
before the model; ``init_std`` draws the three Linear weights from N(0, init_std) (biases kept);
``standardize=False`` leaves out the returns' standardization; ``zero_grad=False`` leaves out
``optimizer.zero_grad()``; ``gamma`` (upstream's --gamma) and ``hidden`` (the 128).

Seeds: the program at lr 3e-2 is very seed-dependent on this copy of the env.  Probed without the stop (mean return
per block of 20 episodes): seed 1 rose to ~180 by episode 100, collapsed to ~13-20 (episodes 100-140), rose again to
~250-370 by 300 (300 episodes: 115 s); seed 2 rose to ~290 at episodes 100-120 and collapsed for good to 9-10 (the
policy certain of one action); seed 3 passed the running reward of 475 at episode 221; seed 4 stayed at ~10; seed 5
crept to ~160 by 250; seed 6 stayed at 11-34 after episode 20; seed 7 reached ~480 at episodes 140-180 and collapsed
to ~10; seed 8 rose to ~410 at episodes 160-200 and fell to ~160-190; seed 9 wandered between 77 and 368.  So the
healthy runs are seeds 3, 8 and 9 at a budget of 200 episodes (the three that stand high there), and the variants
run against seeds 8 and 9 (the harmless ones against 9); seeds 1 and 2 of the brief are not used: at any one budget
one of them is collapsed.  A healthy run takes ~40-55 s on this shared 2-core machine (28-49k environment steps;
~1 ms a step), above the 40 s asked for: fewer episodes would cut the runs before they rise.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the Adam is built,
``monitor.step(loss)`` in ``finish_episode`` right after ``loss.backward()``, before ``optimizer.step()`` (one
optimizer step per episode, 200 in a run); ``monitor.close()`` after the loop.  Metric "return_shortfall" (lower is
better, a loss-like number for run.py's rules, as ptreinforce.py): 500 minus the mean return of the last 20
episodes; ``initial`` is 500 minus the mean return of the first 5 episodes (the untrained policy: returns ~10-80; a
random policy's ~22).  So run.py's good outcome (metric at most 0.7x its start) asks the last-20 mean return to have
come about 30% of the way from the untrained policy's toward 500 (~160 and up); a variant is "broken" when the
control's shortfall is under half the variant's, or (``half_the_progress``) when its mean return gained at most half
of what the control's gained.  The loss the monitor sees is not a falling loss: the critic's smooth_l1 and the
actor's term are summed over the episode's steps, so it grows with the episode length.

``CASES`` (program "ptac"): the program on seeds 3, 8, 9, and one change each against the same seed's healthy run:
Adam lr x10 (seeds 8 and 9), x100, /1000; the observation x100 (seeds 8 and 9; cause unscaled_inputs); the three
weights N(0, 1) (init_large); the returns not standardized (cause unscaled_target: the raw discounted returns, 1 to
~99, are the critic's target and the advantage's scale); ``optimizer.zero_grad()`` left out (seeds 8 and 9); --gamma
0.5 (cause "healthy": no cause in causes.py fits a short horizon, so it is labelled healthy or ambiguous by its
outcome); and two changes expected harmless (cause "healthy"): Adam lr /2 and 64 hidden units.
Recorded (cases-public182; 200 episodes a run; healthy runs 38-55 s with two runs sharing the machine, variants 1-15
s - a collapsed policy's ~9-step episodes are fast): healthy return_shortfall 49.2, 84.6, 132.5 on seeds 3, 8, 9
(mean return of the last 20 episodes 450.8, 415.4, 367.5 from 33.8, 15.0, 29.6 over the first 5; starts 466.2,
485.0, 470.4; no run passed the running reward of 475 within 200 episodes, best 432, 413, 285; largest loss 577.0,
238.0, 471.1): healthy; lr x10 (0.3): seed 8 490.4 (return 9.6), seed 9 490.4 (9.7): broken; lr x100 (3.0): 490.4
(9.6; loss up to 24454): broken; lr /1000 (3e-5): 477.9 (22.1, a random policy's): broken; observation x100: 490.4
(9.6, seed 8) and 490.2 (9.8, seed 9; loss up to 6364): broken; weights N(0, 1): 490.4 (9.6; 9.8 from the first
episodes): broken; returns not standardized: 490.7 (9.3): broken; zero_grad left out: 456.6 (43.4, loss up to 1255;
seed 8) and 490.4 (9.7, seed 9): broken; gamma 0.5: 490.8 (9.2): ambiguous (cause healthy, no good outcome); lr /2
(0.015): 360.1 (139.9; best running reward 287): ambiguous (not below 0.7x its start of 482.2); 64 hidden units:
462.3 (37.7; it reached a running reward of 325 and collapsed): ambiguous.  Labels: 16 cases, 3 healthy (the
programs), 10 broken, 3 ambiguous.  Every run's losses were finite.  Most broken runs end in the same place: a policy
certain of one action (episodes of 9-10 steps), reached within a few episodes; the two "harmless" changes re-draw the
whole unstable trajectory and both came out ambiguous, as ptreinforce.py's hidden64 did.
"""

from __future__ import annotations

import math
import time
from collections import namedtuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.distributions import Categorical

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = optim.Adam(model.parameters(), lr=3e-2); "
              "one optimizer step per episode: in finish_episode, monitor.step(loss) right after loss.backward() "
              "(loss = the sum over the episode's steps of -log_prob * advantage plus smooth_l1(value, standardized "
              "return)), before optimizer.step()")

MAX_EPISODES = 200  # upstream: for i_episode in count(1), until the running reward passes 475
LR = 3e-2
GAMMA = 0.99  # upstream: --gamma default 0.99


# ---------------------------------------------------------------------------------------------------------------------
# CartPole-v1, written out in numpy from openai/gym (commit bc212954b6713d5db303b3ead124de6cba66063e,
# gym/envs/classic_control/cartpole.py; MIT License, Copyright (c) 2016 OpenAI, see LICENSE-ptac): the physics
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
# pytorch/examples reinforcement_learning/actor_critic.py
# ---------------------------------------------------------------------------------------------------------------------

SavedAction = namedtuple('SavedAction', ['log_prob', 'value'])


class Policy(nn.Module):
    """
    implements both actor and critic in one model
    """
    def __init__(self, hidden=128):  # upstream: no argument, 128 (the hidden64 variant: 64)
        super(Policy, self).__init__()  # noqa: UP008 (as upstream)
        self.affine1 = nn.Linear(4, hidden)

        # actor's layer
        self.action_head = nn.Linear(hidden, 2)

        # critic's layer
        self.value_head = nn.Linear(hidden, 1)

        # action & reward buffer
        self.saved_actions = []
        self.rewards = []

    def forward(self, x):
        """
        forward of both actor and critic
        """
        x = F.relu(self.affine1(x))

        # actor: choses action to take from state s_t
        # by returning probability of each action
        action_prob = F.softmax(self.action_head(x), dim=-1)

        # critic: evaluates being in the state s_t
        state_values = self.value_head(x)

        # return values for both actor and critic as a tuple of 2 values:
        # 1. a list with the probability of each action over the action space
        # 2. the value from state s_t
        return action_prob, state_values


def train(seed: int = 1, lr_mult: float = 1.0, obs_scale: float = 1.0, init_std: float | None = None,
          standardize: bool = True, zero_grad: bool = True, gamma: float = GAMMA, hidden: int = 128,
          max_episodes: int = MAX_EPISODES, stop_at_threshold: bool = True, every: int = 10,
          verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()

    env = CartPoleEnv()  # upstream: gym.make('CartPole-v1', render_mode=render_mode)
    env.reset(seed=seed)  # upstream: env.reset(seed=args.seed), --seed default 543
    torch.manual_seed(seed)

    model = Policy(hidden)
    if init_std is not None:  # the init_large variant: N(0, init_std) weights instead of nn.Linear's default
        with torch.no_grad():
            for m in (model.affine1, model.action_head, model.value_head):
                m.weight.normal_(0.0, init_std)
    lr = LR * lr_mult
    optimizer = optim.Adam(model.parameters(), lr=lr)  # upstream: lr=3e-2
    monitor = gradmedic.watch(model, optimizer, every=every)
    eps = np.finfo(np.float32).eps.item()

    def select_action(state):
        state = torch.from_numpy(state * obs_scale).float()  # upstream: state (obs_scale 1)
        probs, state_value = model(state)

        # create a categorical distribution over the list of probabilities of actions
        m = Categorical(probs, validate_args=False)  # upstream: Categorical(probs) (the checks only; CPU time)

        # and sample an action using the distribution
        action = m.sample()

        # save to action buffer
        model.saved_actions.append(SavedAction(m.log_prob(action), state_value))

        # the action to take (left or right)
        return action.item()

    losses = []

    def finish_episode():
        """
        Training code. Calculates actor and critic loss and performs backprop.
        """
        R = 0
        saved_actions = model.saved_actions
        policy_losses = []  # list to save actor (policy) loss
        value_losses = []  # list to save critic (value) loss
        returns = []  # list to save the true values

        # calculate the true value using rewards returned from the environment
        for r in model.rewards[::-1]:
            # calculate the discounted value
            R = r + gamma * R  # upstream: args.gamma
            returns.insert(0, R)

        returns = torch.tensor(returns)
        if standardize:  # upstream: always (the raw_returns variant leaves it out)
            returns = (returns - returns.mean()) / (returns.std() + eps)

        for (log_prob, value), R in zip(saved_actions, returns):  # noqa: B905 (as upstream)
            advantage = R - value.item()

            # calculate actor (policy) loss
            policy_losses.append(-log_prob * advantage)

            # calculate critic (value) loss using L1 smooth loss
            value_losses.append(F.smooth_l1_loss(value, torch.tensor([R])))

        # reset gradients
        if zero_grad:  # upstream: always (the no_zero_grad variant leaves it out)
            optimizer.zero_grad()

        # sum up all the values of policy_losses and value_losses
        loss = torch.stack(policy_losses).sum() + torch.stack(value_losses).sum()

        # perform backprop
        loss.backward()
        monitor.step(loss)  # gradmedic
        optimizer.step()
        losses.append(float(loss.detach()))

        # reset rewards and action buffer
        del model.rewards[:]
        del model.saved_actions[:]

    running_reward = 10
    ep_rewards, running, solved_at = [], [], None
    # run infinitely many episodes
    for i_episode in range(1, max_episodes + 1):  # upstream: for i_episode in count(1)

        # reset environment and episode reward
        state, _ = env.reset()
        ep_reward = 0

        # for each episode, only run 9999 steps so that we don't
        # infinite loop while learning
        for t in range(1, 10000):  # noqa: B007 (as upstream)

            # select action from policy
            action = select_action(state)

            # take the action
            state, reward, terminated, truncated, _ = env.step(action)

            model.rewards.append(reward)
            ep_reward += reward
            if terminated or truncated:
                break

        # update cumulative reward
        running_reward = 0.05 * ep_reward + (1 - 0.05) * running_reward

        # perform backprop
        finish_episode()
        ep_rewards.append(ep_reward)
        running.append(running_reward)

        # log results
        if verbose and i_episode % 10 == 0:  # upstream: args.log_interval 10, printed always
            print(f'Episode {i_episode}\tLast reward: {ep_reward:.2f}\tAverage reward: {running_reward:.2f}')

        # check if we have "solved" the cart pole problem
        if running_reward > env.reward_threshold:
            solved_at = i_episode
            if verbose:
                print(f"Solved! Running reward is now {running_reward} and "
                      f"the last episode runs to {t} time steps!")
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
    return dict(program="ptac", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"pytorch/examples actor-critic on CartPole-v1 (Policy: Linear(4, 128), ReLU, action_head Linear(128, 2) with "
      f"softmax, value_head Linear(128, 1); Categorical sampling; returns discounted with gamma {GAMMA:g} and "
      f"standardized; loss sum of -log_prob * (R - value.item()) and smooth_l1(value, R); Adam lr {LR:g}, one step "
      f"per episode; at most {MAX_EPISODES} episodes)")
_H = (3, 8, 9)  # the seeds whose healthy run trains within the budget (see the docstring: 2, 4, 6, 7 collapse)
CASES: list[dict] = (
    [_case(f"ptac_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in _H]
    + [_case(f"ptac_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({LR * k:g})")
       for k, ss in ((10, (8, 9)), (100, (8,))) for s in ss]
    + [_case("ptac_lr_div1000_s8", "lr_low", 8, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 ({LR * 1e-3:g})")]
    + [_case(f"ptac_obs_x100_s{s}", "unscaled_inputs", s, {"obs_scale": 100.0},
             f"{_P}: the observation multiplied by 100 before the model (cart position, velocity, pole angle and "
             f"angular velocity in units 100x smaller)") for s in (8, 9)]
    + [_case("ptac_init_std1_s8", "init_large", 8, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on affine1.weight, action_head.weight and value_head.weight instead of "
             f"nn.Linear's default U(+-1/sqrt(fan_in)) (biases kept)")]
    + [_case("ptac_raw_returns_s8", "unscaled_target", 8, {"standardize": False},
             f"{_P}: the returns not standardized (the line returns = (returns - returns.mean()) / (returns.std() + eps) "
             f"left out: raw discounted returns, 1 to ~99, as the critic's smooth_l1 target and in the advantage)")]
    + [_case(f"ptac_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out of finish_episode (the gradients of all past episodes accumulate)")
       for s in (8, 9)]
    + [_case("ptac_gamma05_s8", "healthy", 8, {"gamma": 0.5},
             f"{_P}: --gamma 0.5 instead of 0.99 (a short horizon; no cause in causes.py fits, so cause healthy: "
             f"labelled healthy or ambiguous by its outcome)")]
    + [_case("ptac_lr_half_s9", "healthy", 9, {"lr_mult": 0.5}, f"{_P}: Adam lr /2 ({LR * 0.5:g})")]
    + [_case("ptac_hidden64_s9", "healthy", 9, {"hidden": 64},
             f"{_P}: 64 hidden units instead of 128 (Linear(4, 64), heads Linear(64, 2) and Linear(64, 1))")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(**kw)
    ex = r["extra"]
    ex.pop("returns")
    print({k: v for k, v in r.items() if k != "monitors"})
