"""nikhilbarhate99's PPO-PyTorch on CartPole-v1 (discrete actions, clipped surrogate), watched by gradmedic.

Adapted from https://github.com/nikhilbarhate99/PPO-PyTorch (commit 728cce83d7ab628fe2634eabcdf3239997eb81dd, PPO.py
and train.py with the CartPole-v1 hyperparameters of PPO_preTrained/README.md; MIT License, Copyright (c) 2018 Nikhil
Barhate, see LICENSE-ppo).  Kept as upstream (the discrete-action path): ``RolloutBuffer``, ``ActorCritic`` (actor
Linear(4, 64), Tanh, Linear(64, 64), Tanh, Linear(64, 2), Softmax; critic Linear(4, 64), Tanh, Linear(64, 64), Tanh,
Linear(64, 1); nn.Linear's default init; ``act`` samples from Categorical, ``evaluate`` gives log-probs, values and
entropy), ``PPO`` (a ``policy_old`` copy that acts; Adam with the actor's lr 0.0003 and the critic's lr 0.001 as two
param groups; ``update``: Monte-Carlo returns with gamma 0.99 reset at terminals, normalized ``(r - mean) / (std +
1e-7)``, advantages = returns - the stored values, K_epochs 40 full-batch steps of ``-min(surr1, surr2) + 0.5 *
MSE(values, returns) - 0.01 * entropy`` with eps_clip 0.2, ``optimizer.zero_grad(); loss.mean().backward();
optimizer.step()``, then policy_old loads the policy), and train.py's loop (max_ep_len 400, update every
update_timestep = 4 * 400 = 1600 steps, the episode's done stored as is_terminal).

Changed to run offline on one CPU thread: gym is not installed, so CartPole-v1 is written out below in numpy from
Farama-Foundation/Gymnasium (copied from dqncartpole.py, not imported; MIT License in LICENSE-ppo): the physics,
terminations at |x| > 2.4 and |theta| > 12 degrees, reward 1.0 a step, ``reset``'s uniform(-0.05, 0.05) state from
the env's own PCG64 generator seeded once through ``np.random.SeedSequence(seed)``, float32 observations, and the
500-step TimeLimit (never reached: max_ep_len is 400); ``done = terminated or truncated`` (old gym's done);
MAX_TRAINING_TIMESTEPS = 24000 instead of upstream's 1e5 (CPU time: 15 PPO updates, 600 optimizer steps; on this
shared 2-core machine a step costs 1.5-3.5 ms, so a healthy run takes ~45-70 s, above the 45 s asked; at 20k steps
all three seeds' last-20 mean returns were past 195 in probes (seed 1 366 at 22.8k, seed 2 212 at 19.7k, seed 3 269 at
21.2k); with upstream's 1e5, seed 1 held ~350-400 to the end in 150 s); the run's seed is given to
``torch.manual_seed`` and the env's first reset (upstream: random_seed = 0, no seeding); ``Categorical(...,
validate_args=False)`` (argument checks only: CPU time, the same numbers); the continuous-action branch, the log file,
printing and checkpoints are left out.  Knobs (one per variant): ``lr_mult`` scales both param groups' rates;
``obs_scale`` multiplies every observation before ``select_action`` (so the buffer holds it so); ``init_std`` draws
the six Linear weights of the policy from N(0, init_std) before policy_old copies them (biases kept);
``zero_grad=False`` leaves ``optimizer.zero_grad()`` out; ``normalize_returns=False`` leaves the returns'
normalization out; ``eps_clip`` and ``K_epochs`` replace train.py's values.

The watch, as a user would: ``monitor = gradmedic.watch(ppo_agent.policy, ppo_agent.optimizer, every=10)`` right after
the agent is built, ``monitor.step(loss.mean())`` in ``PPO.update`` right after ``loss.mean().backward()``, before
``optimizer.step()``; ``monitor.close()`` after the loop.  Metric "return_shortfall" (lower is better, a loss-like
number for run.py's rules, as ptac.py and dqncartpole.py): 400 (max_ep_len, the most an episode can last here) minus
the mean return (episode length) of the last 20 episodes; ``initial`` is 400 minus the mean return of the first 5
episodes (the untrained policy, ~20; a random policy's ~22).  So run.py's good outcome (at most 0.7x its start) asks
for a last-20 mean return of about 135 and up; a variant is "broken" when the control's shortfall is under half the
variant's or (``half_the_progress``) its return gained at most half of what the control's gained.  The loss the
monitor sees is not a falling loss (the surrogate term hovers near 0, the value term near 0.5 of normalized returns).

``CASES`` (program "ppo"): the program on seeds 1-3, and one change each against the same seed's healthy run: both
rates x10, x100, /1000 (seed 1); the observation x100 (seeds 1 and 2; unscaled_inputs); the six weights N(0, 1)
(init_large); ``optimizer.zero_grad()`` left out (seeds 1 and 2); the returns not normalized (unscaled_target: the raw
discounted returns, up to ~100, become the critic's MSE target and the advantages' scale); eps_clip 10 (the ratio
clip never binds; cause no_clipping, the closest name: the trust region the loop is built around left out); and two
changes expected harmless: K_epochs 20 (cause "healthy") and both rates /2 (cause lr_low).
Recorded (cases-public187; 24000 environment steps a run, 44-67 s a run with two runs sharing the loaded machine;
every run's losses finite): healthy return_shortfall 35.75, 117.9, 119.1 on seeds 1-3 (last-20 mean return 364.3,
282.1, 280.9; starts 379.6, 375.0, 369.2): healthy; lr x10 (actor 0.003, critic 0.01): 41.8 (358.2): ambiguous
(learned, but above 1.1x the control); lr x100: 227.9 (172.1): broken; lr /1000: 376.0 (24.0, a random policy's):
broken; observation x100: 24.25 (375.8; seed 1): healthy, and 61.35 (338.7; seed 2): ambiguous (better than its
control, but its largest loss 1.39 above 2x the control's 0.66) - Tanh units saturate on the raw x100 state, yet CartPole's
policy is close to a sign function of it, so PPO learns anyway; weights N(0, 1): 276.9 (123.1; start 367.4): broken;
zero_grad left out: 333.6 (66.4; seed 1) and 252.8 (147.2; seed 2): broken;
returns not normalized: 6.45 (393.6): ambiguous (it learned better than its control,
but its loss, an MSE on raw returns, far above 2x the control's largest); eps_clip 10: 162.2 (237.8):
broken (more than half the control's shortfall: it learned, more slowly); K_epochs 20: 220.4 (179.6): ambiguous (half
the updates' steps learn more slowly within the budget); lr /2: 147.2 (252.8): broken (by the rule: seed 1's control is
far along, and half the rate is slower within the 24000-step budget, as K_epochs 20).  Labels: 15 cases, 4 healthy (3 programs,
observation x100 seed 1), 7 broken, 4 ambiguous.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn as nn
from torch.distributions import Categorical

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(ppo_agent.policy, ppo_agent.optimizer, every=10) right after the PPO agent (and its Adam with the "
              "actor's lr 0.0003 and the critic's lr 0.001 as two param groups) is built; K_epochs optimizer steps per "
              "PPO update (every update_timestep environment steps): in PPO.update, monitor.step(loss.mean()) right "
              "after loss.mean().backward() (loss = -min(surr1, surr2) + 0.5 MSE(values, normalized returns) - 0.01 "
              "entropy), before optimizer.step()")

device = torch.device("cpu")  # upstream: cuda:0 when available

# train.py's CartPole-v1 hyperparameters (PPO_preTrained/README.md, "Cartpole-v1")
MAX_EP_LEN = 400  # max timesteps in one episode
MAX_TRAINING_TIMESTEPS = 24000  # upstream: int(1e5) (CPU time; see the docstring)
UPDATE_TIMESTEP = MAX_EP_LEN * 4  # update policy every n timesteps
K_EPOCHS = 40  # update policy for K epochs
EPS_CLIP = 0.2  # clip parameter for PPO
GAMMA = 0.99  # discount factor
LR_ACTOR = 0.0003  # learning rate for actor network
LR_CRITIC = 0.001  # learning rate for critic network


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
# nikhilbarhate99/PPO-PyTorch PPO.py (the discrete-action path; the continuous one's MultivariateNormal, action_std
# and its decay are left out)
# ---------------------------------------------------------------------------------------------------------------------

class RolloutBuffer:
    def __init__(self):
        self.actions = []
        self.states = []
        self.logprobs = []
        self.rewards = []
        self.state_values = []
        self.is_terminals = []

    def clear(self):
        del self.actions[:]
        del self.states[:]
        del self.logprobs[:]
        del self.rewards[:]
        del self.state_values[:]
        del self.is_terminals[:]


class ActorCritic(nn.Module):
    def __init__(self, state_dim, action_dim):  # upstream: also has_continuous_action_space, action_std_init
        super(ActorCritic, self).__init__()  # noqa: UP008 (as upstream)
        # actor
        self.actor = nn.Sequential(
                        nn.Linear(state_dim, 64),
                        nn.Tanh(),
                        nn.Linear(64, 64),
                        nn.Tanh(),
                        nn.Linear(64, action_dim),
                        nn.Softmax(dim=-1)
                    )
        # critic
        self.critic = nn.Sequential(
                        nn.Linear(state_dim, 64),
                        nn.Tanh(),
                        nn.Linear(64, 64),
                        nn.Tanh(),
                        nn.Linear(64, 1)
                    )

    def forward(self):
        raise NotImplementedError

    def act(self, state):
        action_probs = self.actor(state)
        dist = Categorical(action_probs, validate_args=False)  # upstream: Categorical(action_probs) (CPU time only)

        action = dist.sample()
        action_logprob = dist.log_prob(action)
        state_val = self.critic(state)

        return action.detach(), action_logprob.detach(), state_val.detach()

    def evaluate(self, state, action):
        action_probs = self.actor(state)
        dist = Categorical(action_probs, validate_args=False)  # upstream: Categorical(action_probs) (CPU time only)
        action_logprobs = dist.log_prob(action)
        dist_entropy = dist.entropy()
        state_values = self.critic(state)

        return action_logprobs, state_values, dist_entropy


class PPO:
    def __init__(self, state_dim, action_dim, lr_actor, lr_critic, gamma, K_epochs, eps_clip, init_std=None):
        # upstream: also has_continuous_action_space, action_std_init; init_std is the init_large variant's knob

        self.gamma = gamma
        self.eps_clip = eps_clip
        self.K_epochs = K_epochs

        self.buffer = RolloutBuffer()

        self.policy = ActorCritic(state_dim, action_dim).to(device)
        if init_std is not None:  # the init_large variant: N(0, init_std) weights instead of nn.Linear's default
            with torch.no_grad():
                for m in self.policy.modules():
                    if isinstance(m, nn.Linear):
                        m.weight.normal_(0.0, init_std)
        self.optimizer = torch.optim.Adam([
                        {'params': self.policy.actor.parameters(), 'lr': lr_actor},
                        {'params': self.policy.critic.parameters(), 'lr': lr_critic}
                    ])

        self.policy_old = ActorCritic(state_dim, action_dim).to(device)
        self.policy_old.load_state_dict(self.policy.state_dict())

        self.MseLoss = nn.MSELoss()
        self.monitor = None  # gradmedic: set by train() right after the agent (and its optimizer) is built
        self.zero_grad = True  # the no_zero_grad variant sets False
        self.normalize_returns = True  # the unscaled_target variant sets False
        self.losses = []

    def select_action(self, state):
        with torch.no_grad():
            state = torch.FloatTensor(state).to(device)
            action, action_logprob, state_val = self.policy_old.act(state)

        self.buffer.states.append(state)
        self.buffer.actions.append(action)
        self.buffer.logprobs.append(action_logprob)
        self.buffer.state_values.append(state_val)

        return action.item()

    def update(self):
        # Monte Carlo estimate of returns
        rewards = []
        discounted_reward = 0
        for reward, is_terminal in zip(reversed(self.buffer.rewards), reversed(self.buffer.is_terminals), strict=True):
            # upstream: zip(...) without strict (ruff B905; the lists have the same length)
            if is_terminal:
                discounted_reward = 0
            discounted_reward = reward + (self.gamma * discounted_reward)
            rewards.insert(0, discounted_reward)

        # Normalizing the rewards
        rewards = torch.tensor(rewards, dtype=torch.float32).to(device)
        if self.normalize_returns:  # the unscaled_target variant leaves this out
            rewards = (rewards - rewards.mean()) / (rewards.std() + 1e-7)

        # convert list to tensor
        old_states = torch.squeeze(torch.stack(self.buffer.states, dim=0)).detach().to(device)
        old_actions = torch.squeeze(torch.stack(self.buffer.actions, dim=0)).detach().to(device)
        old_logprobs = torch.squeeze(torch.stack(self.buffer.logprobs, dim=0)).detach().to(device)
        old_state_values = torch.squeeze(torch.stack(self.buffer.state_values, dim=0)).detach().to(device)

        # calculate advantages
        advantages = rewards.detach() - old_state_values.detach()

        # Optimize policy for K epochs
        for _ in range(self.K_epochs):

            # Evaluating old actions and values
            logprobs, state_values, dist_entropy = self.policy.evaluate(old_states, old_actions)

            # match state_values tensor dimensions with rewards tensor
            state_values = torch.squeeze(state_values)

            # Finding the ratio (pi_theta / pi_theta__old)
            ratios = torch.exp(logprobs - old_logprobs.detach())

            # Finding Surrogate Loss
            surr1 = ratios * advantages
            surr2 = torch.clamp(ratios, 1-self.eps_clip, 1+self.eps_clip) * advantages

            # final loss of clipped objective PPO
            loss = -torch.min(surr1, surr2) + 0.5 * self.MseLoss(state_values, rewards) - 0.01 * dist_entropy

            # take gradient step
            if self.zero_grad:  # the no_zero_grad variant leaves this out
                self.optimizer.zero_grad()
            loss.mean().backward()
            self.monitor.step(loss.mean())  # gradmedic
            self.optimizer.step()
            self.losses.append(float(loss.mean().detach()))

        # Copy new weights into old policy
        self.policy_old.load_state_dict(self.policy.state_dict())

        # clear buffer
        self.buffer.clear()


# ---------------------------------------------------------------------------------------------------------------------
# nikhilbarhate99/PPO-PyTorch train.py (the training loop; logging files, printing and checkpoints left out)
# ---------------------------------------------------------------------------------------------------------------------

def train(seed: int = 1, lr_mult: float = 1.0, obs_scale: float = 1.0, init_std: float | None = None,
          zero_grad: bool = True, normalize_returns: bool = True, eps_clip: float = EPS_CLIP,
          K_epochs: int = K_EPOCHS, max_training_timesteps: int = MAX_TRAINING_TIMESTEPS,  # noqa: N803 (upstream name)
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    t0 = time.time()
    torch.manual_seed(seed)  # upstream: random_seed = 0 (no seeding)
    np.random.seed(seed)  # nothing draws from numpy's global generator

    env = CartPoleEnv()  # upstream: gym.make(env_name)
    first_reset = [seed]  # the run's seed for the env's first reset (upstream: env.seed(random_seed) when set)

    # state space dimension
    state_dim = 4  # upstream: env.observation_space.shape[0]
    action_dim = env.n_actions  # upstream: env.action_space.n

    lr_actor, lr_critic = LR_ACTOR * lr_mult, LR_CRITIC * lr_mult
    # initialize a PPO agent
    ppo_agent = PPO(state_dim, action_dim, lr_actor, lr_critic, GAMMA, K_epochs, eps_clip, init_std=init_std)
    monitor = gradmedic.watch(ppo_agent.policy, ppo_agent.optimizer, every=every)  # gradmedic
    ppo_agent.monitor = monitor
    ppo_agent.zero_grad = zero_grad
    ppo_agent.normalize_returns = normalize_returns

    time_step = 0
    i_episode = 0
    episode_rewards = []

    # training loop
    while time_step <= max_training_timesteps:

        state, _ = env.reset(seed=first_reset.pop() if first_reset else None)  # upstream: state = env.reset()
        current_ep_reward = 0

        for _t in range(1, MAX_EP_LEN+1):

            # select action with policy
            action = ppo_agent.select_action(state * obs_scale)  # upstream: select_action(state)
            state, reward, terminated, truncated, _ = env.step(action)  # upstream: state, reward, done, _ = ...
            done = terminated or truncated  # old gym's done (the 500-step TimeLimit is never reached at 400)

            # saving reward and is_terminals
            ppo_agent.buffer.rewards.append(reward)
            ppo_agent.buffer.is_terminals.append(done)

            time_step +=1
            current_ep_reward += reward

            # update PPO agent
            if time_step % UPDATE_TIMESTEP == 0:
                ppo_agent.update()

            # break; if the episode is over
            if done:
                break

        episode_rewards.append(current_ep_reward)
        i_episode += 1
        if verbose and i_episode % 20 == 0:
            print(f"episode {i_episode}: timestep {time_step}, last-20 mean reward "
                  f"{np.mean(episode_rewards[-20:]):.1f} ({time.time() - t0:.1f}s)", flush=True)

    monitor.close()

    ep = np.asarray(episode_rewards, dtype=float)
    la = np.asarray(ppo_agent.losses, dtype=float)
    last20 = float(np.mean(ep[-20:]))
    first5 = float(np.mean(ep[:5]))
    return {"monitors": {"": monitor}, "metric": "return_shortfall", "value": MAX_EP_LEN - last20,
            "chance": MAX_EP_LEN - 22.0, "initial": MAX_EP_LEN - first5,
            "initial_what": f"untrained: {MAX_EP_LEN} - the mean return of the first 5 episodes (a random policy's "
                            f"CartPole return is ~22)",
            "extra": dict(lr_actor=lr_actor, lr_critic=lr_critic, episodes=len(ep), env_steps=time_step,
                          optimizer_steps=len(la), last20_return=last20, first5_return=first5,
                          best20_return=float(max(np.mean(ep[i:i + 20]) for i in range(max(1, len(ep) - 19)))),
                          train_loss=float(np.mean(la[-20:])) if len(la) else float("nan"),
                          first_loss=float(np.mean(la[:5])) if len(la) else float("nan"),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), lr_mult=lr_mult, obs_scale=obs_scale,
                          init_std=-1.0 if init_std is None else init_std, zero_grad=zero_grad,
                          normalize_returns=normalize_returns, eps_clip=eps_clip, K_epochs=K_epochs,
                          returns=[float(x) for x in ep]),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="ppo", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"nikhilbarhate99 PPO on CartPole-v1 (actor Linear(4, 64), Tanh, Linear(64, 64), Tanh, Linear(64, 2), Softmax; "
      f"critic Linear(4, 64), Tanh, Linear(64, 64), Tanh, Linear(64, 1); Adam actor lr {LR_ACTOR:g}, critic lr "
      f"{LR_CRITIC:g}; update every {UPDATE_TIMESTEP} steps, K_epochs {K_EPOCHS}, eps_clip {EPS_CLIP:g}, gamma "
      f"{GAMMA:g}, normalized Monte-Carlo returns; {MAX_TRAINING_TIMESTEPS} environment steps)")
CASES: list[dict] = (
    [_case(f"ppo_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"ppo_lr_x{k}_s1", "lr_high", 1, {"lr_mult": k},
             f"{_P}: both Adam param groups' lr x{k} (actor {LR_ACTOR * k:g}, critic {LR_CRITIC * k:g})")
       for k in (10, 100)]
    + [_case("ppo_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3},
             f"{_P}: both Adam param groups' lr /1000 (actor {LR_ACTOR * 1e-3:g}, critic {LR_CRITIC * 1e-3:g})")]
    + [_case(f"ppo_obs_x100_s{s}", "unscaled_inputs", s, {"obs_scale": 100.0},
             f"{_P}: every observation multiplied by 100 before select_action (stored in the buffer so)")
       for s in (1, 2)]
    + [_case("ppo_init_std1_s1", "init_large", 1, {"init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on the six Linear weights of the policy (policy_old copies them) "
             f"instead of nn.Linear's default U(+-1/sqrt(fan_in)) (biases kept)")]
    + [_case(f"ppo_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
             f"{_P}: self.optimizer.zero_grad() left out of PPO.update (the gradients of all past steps accumulate)")
       for s in (1, 2)]
    + [_case("ppo_raw_returns_s1", "unscaled_target", 1, {"normalize_returns": False},
             f"{_P}: the Monte-Carlo returns not normalized (the raw discounted returns, up to ~100, are the "
             f"critic's MSE target and set the advantages' scale)")]
    + [_case("ppo_eps_clip10_s1", "no_clipping", 1, {"eps_clip": 10.0},
             f"{_P}: eps_clip 10 instead of 0.2 (the ratio clip never binds: cause no_clipping, the closest name)")]
    + [_case("ppo_k_epochs20_s1", "healthy", 1, {"K_epochs": 20},
             f"{_P}: K_epochs 20 instead of 40 (expected harmless)")]
    + [_case("ppo_lr_div2_s1", "lr_low", 1, {"lr_mult": 0.5},
             f"{_P}: both Adam param groups' lr /2 (actor {LR_ACTOR / 2:g}, critic {LR_CRITIC / 2:g}; expected "
             f"harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    r["extra"].pop("returns")
    print({k: v for k, v in r.items() if k != "monitors"})
