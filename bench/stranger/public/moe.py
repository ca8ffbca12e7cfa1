"""David Rau's sparsely-gated mixture of experts (noisy top-k gating, cv_squared load balancing), watched by gradmedic.

Adapted from https://github.com/davidmrau/mixture-of-experts (commit f662999727109357c42074997e9a6cd72806f668, the
newest; moe.py, cifar10_example.py and example.py; GNU General Public License v3, see LICENSE-moe).  moe.py is copied
below as it is (``SparseDispatcher``, ``MLP`` - fc1, ReLU, fc2, ``nn.Softmax(1)`` - ``MoE`` with ``w_gate`` and
``w_noise`` initialized to zeros, ``cv_squared``, ``_gates_to_load``, ``_prob_in_top_k``, ``noisy_top_k_gating`` with
the softmax before the top-k, ``forward`` returning the prediction and the aux loss ``0.01 * (cv_squared(importance)
+ cv_squared(load))``; only long docstrings shortened and lint pragmas added).  The training program is
cifar10_example.py's (example.py trains one step on random inputs with random labels, nothing to learn): ``MoE(...,
num_experts=10, hidden_size=128, noisy_gating=True, k=4)``, ``nn.CrossEntropyLoss()`` on the MoE's output (a
gate-weighted sum of the experts' softmax probabilities, as upstream: the loss floor is ~1.46, not 0),
``optim.Adam(net.parameters(), lr=0.001)``, batch 64 shuffled, the loop (``optimizer.zero_grad()``, ``outputs,
aux_loss = net(inputs)``, ``total_loss = loss + aux_loss``, ``total_loss.backward()``, ``optimizer.step()``),
``net.train()`` for training (noise on) and ``net.eval()`` for the test accuracy (argmax of the outputs, batches of 64).

Changed to run offline on one CPU thread in ~10 s: the data are scikit-learn's 8x8 digits (upstream: CIFAR-10 through
torchvision, 3072 features normalized to [-1, 1]): a stratified 80/20 split by the run's seed (1437 training, 360 test
images), the 64 features standardized with the training mean and std (std 1 for the constant pixels), so
``input_size=64`` (3072); NUM_EPOCHS = 30 epochs of 23 steps, 690 steps (upstream: 1 epoch of CIFAR-10, 782 steps, which
reaches 39% there); the batches drawn by ``torch.randperm`` instead of a DataLoader with 2 workers; ``torch.manual_seed``
and the split's seed from the run's seed; CPU; the prints only with ``verbose``.  Knobs (one per variant): ``lr_mult``
scales Adam's rate; ``feature_scale`` multiplies the standardized features; ``expert_init_std`` draws every expert's fc1
and fc2 weight from N(0, std) (biases kept); ``gate_init_std`` draws ``w_gate`` from N(0, std) instead of zeros;
``zero_grad=False`` leaves ``optimizer.zero_grad()`` out; ``aux_loss=False`` trains on the task loss alone;
``noisy_gating``, ``k``, ``num_experts``, ``hidden_size`` are MoE's own arguments.

The watch, as a user would: ``monitor = gradmedic.watch(net, optimizer, every=10)`` right after the Adam is built,
``monitor.step(total_loss)`` right after ``total_loss.backward()``, before ``optimizer.step()``; ``monitor.close()``
after the loop.  Metric "accuracy": the test accuracy after training (chance 0.1); ``extra`` holds the losses (first-5
and last-20 means, largest), the aux loss, and the experts' usage on the test images.

``CASES`` (program "moe"): the program on seeds 1-3, and one change each against the same seed's healthy run: Adam lr
x10, x100 (seeds 1 and 2), x1000, /1000; features x100 (seeds 1 and 2); N(0, 1) expert weights (seeds 1 and 2);
N(0, 1) ``w_gate``; ``optimizer.zero_grad()`` left out; and, with cause "healthy" (no cause names expert collapse, and
on these data none of them was expected to hurt the accuracy): the aux loss left out, ``noisy_gating=False``, k =
num_experts = 10, num_experts 20 and hidden_size 256 (the two expected harmless).  Labels come from run.py's outcome
rules only.
Recorded (cases-public120; 8-12 s a run, 18 s for the first while the shared machine was loaded): healthy test
accuracy 0.981, 0.983, 0.986 on seeds 1-3 (total loss 2.29-2.30 over the first 5 steps -> 1.47 over the last 20, the
largest 2.30, every loss finite, all 10 experts used, the busiest on 44-48% of the test images with k=4); lr x10
(0.01): 0.975: healthy; lr x100 (0.1): 0.947 (seed 1), 0.917 (seed 2): ambiguous (worse, less than 10 points);
lr x1000 (1.0): training loss 1.98, 0.514: broken; lr /1000 (1e-6): loss 2.30 -> 2.30, 0.461: broken; features x100:
0.947 (seed 1), 0.944 (seed 2): ambiguous (a probe with x1000, not recorded, gave 0.919: Adam and the bounded
softmax outputs take the scale in their stride); expert weights N(0, 1): training loss 1.72 / 1.64, 0.781 (seed 1),
0.825 (seed 2): broken; w_gate N(0, 1): 0.972: healthy; no zero_grad: training loss 1.50, 0.953: healthy (2.8
points below); no aux loss: 0.975, all 10 experts still used (busiest 49%): healthy; no gate noise: 0.989, the
experts untied by the gate's gradient (all 10 used): healthy; k=10: 0.978: healthy; 20 experts: 0.986: healthy;
hidden 256: 0.981: healthy.  Labels: 11 healthy (3 programs, 8 variants), 4 broken, 4 ambiguous; no non-finite loss
in any run (the softmax outputs bound the cross-entropy: the largest loss of every run is 2.29-2.33, near log 10).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
from torch.distributions.normal import Normal
from torch.optim import Adam

import gradmedic

ARCH = "moe"
MONITOR_AT = ("watch(net, optimizer, every=10) right after optimizer = optim.Adam(net.parameters(), lr=0.001); "
              "monitor.step(total_loss) right after total_loss.backward() (total_loss = criterion(outputs, labels) + "
              "aux_loss, the MoE's load-balancing loss), before optimizer.step()")

NUM_EPOCHS = 30  # upstream: for epoch in range(1) over CIFAR-10's 50000 images (782 steps of 64)
BATCH_SIZE = 64


# ---------------------------------------------------------------------------------------------------------------------
# moe.py (upstream, copied as it is; only ``# upstream:`` comments and lint pragmas added)
# ---------------------------------------------------------------------------------------------------------------------

class SparseDispatcher(object):  # noqa: UP004 (as upstream)
    """Helper for implementing a mixture of experts (upstream's docstring shortened).
    dispatch - take an input Tensor and create input Tensors for each expert.
    combine - take output Tensors from each expert and form a unified output Tensor, weighted by the "gates".
    """

    def __init__(self, num_experts, gates):
        """Create a SparseDispatcher."""

        self._gates = gates
        self._num_experts = num_experts
        # sort experts
        sorted_experts, index_sorted_experts = torch.nonzero(gates).sort(0)
        # drop indices
        _, self._expert_index = sorted_experts.split(1, dim=1)
        # get according batch index for each expert
        self._batch_index = torch.nonzero(gates)[index_sorted_experts[:, 1], 0]
        # calculate num samples that each expert gets
        self._part_sizes = (gates > 0).sum(0).tolist()
        # expand gates to match with self._batch_index
        gates_exp = gates[self._batch_index.flatten()]
        self._nonzero_gates = torch.gather(gates_exp, 1, self._expert_index)

    def dispatch(self, inp):
        """Create one input Tensor for each expert."""

        # assigns samples to experts whose gate is nonzero

        # expand according to batch index so we can just split by _part_sizes
        inp_exp = inp[self._batch_index].squeeze(1)
        return torch.split(inp_exp, self._part_sizes, dim=0)

    def combine(self, expert_out, multiply_by_gates=True):
        """Sum together the expert output, weighted by the gates."""
        # apply exp to expert outputs, so we are not longer in log space
        stitched = torch.cat(expert_out, 0)

        if multiply_by_gates:
            stitched = stitched.mul(self._nonzero_gates)
        zeros = torch.zeros(self._gates.size(0), expert_out[-1].size(1), requires_grad=True, device=stitched.device)
        # combine samples that have been processed by the same k experts
        combined = zeros.index_add(0, self._batch_index, stitched.float())
        return combined

    def expert_to_gates(self):
        """Gate values corresponding to the examples in the per-expert `Tensor`s."""
        # split nonzero gates for each expert
        return torch.split(self._nonzero_gates, self._part_sizes, dim=0)


class MLP(nn.Module):
    def __init__(self, input_size, output_size, hidden_size):
        super(MLP, self).__init__()  # noqa: UP008 (as upstream)
        self.fc1 = nn.Linear(input_size, hidden_size)
        self.fc2 = nn.Linear(hidden_size, output_size)
        self.relu = nn.ReLU()
        self.soft = nn.Softmax(1)

    def forward(self, x):
        out = self.fc1(x)
        out = self.relu(out)
        out = self.fc2(out)
        out = self.soft(out)
        return out


class MoE(nn.Module):

    """Call a Sparsely gated mixture of experts layer with 1-layer Feed-Forward networks as experts.
    Args:
    input_size: integer - size of the input
    output_size: integer - size of the input
    num_experts: an integer - number of experts
    hidden_size: an integer - hidden size of the experts
    noisy_gating: a boolean
    k: an integer - how many experts to use for each batch element
    """

    def __init__(self, input_size, output_size, num_experts, hidden_size, noisy_gating=True, k=4):
        super(MoE, self).__init__()  # noqa: UP008 (as upstream)
        self.noisy_gating = noisy_gating
        self.num_experts = num_experts
        self.output_size = output_size
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.k = k
        # instantiate experts
        self.experts = nn.ModuleList([MLP(self.input_size, self.output_size, self.hidden_size)
                                      for i in range(self.num_experts)])
        self.w_gate = nn.Parameter(torch.zeros(input_size, num_experts), requires_grad=True)
        self.w_noise = nn.Parameter(torch.zeros(input_size, num_experts), requires_grad=True)

        self.softplus = nn.Softplus()
        self.softmax = nn.Softmax(1)
        self.register_buffer("mean", torch.tensor([0.0]))
        self.register_buffer("std", torch.tensor([1.0]))
        assert(self.k <= self.num_experts)

    def cv_squared(self, x):
        """The squared coefficient of variation of a sample.
        Useful as a loss to encourage a positive distribution to be more uniform.
        Epsilons added for numerical stability.
        Returns 0 for an empty Tensor.
        """
        eps = 1e-10
        # if only num_experts = 1

        if x.shape[0] == 1:
            return torch.tensor([0], device=x.device, dtype=x.dtype)
        return x.float().var() / (x.float().mean()**2 + eps)

    def _gates_to_load(self, gates):
        """Compute the true load per expert, given the gates (the number of examples whose gate is > 0)."""
        return (gates > 0).sum(0)

    def _prob_in_top_k(self, clean_values, noisy_values, noise_stddev, noisy_top_values):
        """Helper function to NoisyTopKGating.
        Computes the probability that value is in top k, given different random noise.
        This gives us a way of backpropagating from a loss that balances the number
        of times each expert is in the top k experts per example.
        """
        batch = clean_values.size(0)
        m = noisy_top_values.size(1)
        top_values_flat = noisy_top_values.flatten()

        threshold_positions_if_in = torch.arange(batch, device=clean_values.device) * m + self.k
        threshold_if_in = torch.unsqueeze(torch.gather(top_values_flat, 0, threshold_positions_if_in), 1)
        is_in = torch.gt(noisy_values, threshold_if_in)
        threshold_positions_if_out = threshold_positions_if_in - 1
        threshold_if_out = torch.unsqueeze(torch.gather(top_values_flat, 0, threshold_positions_if_out), 1)
        # is each value currently in the top k.
        normal = Normal(self.mean, self.std)
        prob_if_in = normal.cdf((clean_values - threshold_if_in)/noise_stddev)
        prob_if_out = normal.cdf((clean_values - threshold_if_out)/noise_stddev)
        prob = torch.where(is_in, prob_if_in, prob_if_out)
        return prob

    def noisy_top_k_gating(self, x, train, noise_epsilon=1e-2):
        """Noisy top-k gating.
          See paper: https://arxiv.org/abs/1701.06538.
          Returns gates [batch_size, num_experts] and load [num_experts].
        """
        clean_logits = x @ self.w_gate
        if self.noisy_gating and train:
            raw_noise_stddev = x @ self.w_noise
            noise_stddev = ((self.softplus(raw_noise_stddev) + noise_epsilon))  # noqa: UP034 (as upstream)
            noisy_logits = clean_logits + (torch.randn_like(clean_logits) * noise_stddev)
            logits = noisy_logits
        else:
            logits = clean_logits

        # calculate topk + 1 that will be needed for the noisy gates
        logits = self.softmax(logits)
        top_logits, top_indices = logits.topk(min(self.k + 1, self.num_experts), dim=1)
        top_k_logits = top_logits[:, :self.k]
        top_k_indices = top_indices[:, :self.k]
        top_k_gates = top_k_logits / (top_k_logits.sum(1, keepdim=True) + 1e-6)  # normalization

        zeros = torch.zeros_like(logits, requires_grad=True)
        gates = zeros.scatter(1, top_k_indices, top_k_gates)

        if self.noisy_gating and self.k < self.num_experts and train:
            load = (self._prob_in_top_k(clean_logits, noisy_logits, noise_stddev, top_logits)).sum(0)
        else:
            load = self._gates_to_load(gates)
        return gates, load

    def forward(self, x, loss_coef=1e-2):
        """Returns y [batch_size, output_size] and the load-balancing loss (to be added to the training loss)."""
        gates, load = self.noisy_top_k_gating(x, self.training)
        # calculate importance loss
        importance = gates.sum(0)
        #
        loss = self.cv_squared(importance) + self.cv_squared(load)
        loss *= loss_coef

        dispatcher = SparseDispatcher(self.num_experts, gates)
        expert_inputs = dispatcher.dispatch(x)
        gates = dispatcher.expert_to_gates()
        expert_outputs = [self.experts[i](expert_inputs[i]) for i in range(self.num_experts)]
        y = dispatcher.combine(expert_outputs)
        return y, loss


# ---------------------------------------------------------------------------------------------------------------------
# data (upstream: CIFAR-10 through torchvision, Normalize((0.5,)*3, (0.5,)*3), flattened to 3072 features)
# ---------------------------------------------------------------------------------------------------------------------

def digits(seed=1):
    """scikit-learn's 8x8 digits: 1437 training and 360 test images, 64 features standardized with the training mean
    and std (constant pixels: std 1)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, random_state=seed, stratify=y)
    mu, sd = X_tr.mean(0), X_tr.std(0)
    sd[sd == 0] = 1.0
    return ((X_tr - mu) / sd).astype(np.float32), y_tr, ((X_te - mu) / sd).astype(np.float32), y_te


def train(seed: int = 1, lr_mult: float = 1.0, feature_scale: float = 1.0, expert_init_std: float | None = None,
          gate_init_std: float | None = None, zero_grad: bool = True, noisy_gating: bool = True,
          aux_loss: bool = True, num_experts: int = 10, hidden_size: int = 128, k: int = 4,
          num_epochs: int = NUM_EPOCHS, every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.time()
    X_tr, y_tr, X_te, y_te = digits(seed)
    X_tr, X_te = X_tr * feature_scale, X_te * feature_scale  # the unscaled_inputs variant: x100
    X_tr, y_tr = torch.tensor(X_tr), torch.tensor(y_tr, dtype=torch.long)
    X_te, y_te = torch.tensor(X_te), torch.tensor(y_te, dtype=torch.long)

    # upstream: MoE(input_size=3072, output_size=10, num_experts=10, hidden_size=128, noisy_gating=True, k=4)
    net = MoE(input_size=64, output_size=10, num_experts=num_experts, hidden_size=hidden_size,
              noisy_gating=noisy_gating, k=k)
    with torch.no_grad():  # the init variants (upstream: PyTorch's default Linear init, zeros for w_gate and w_noise)
        if expert_init_std is not None:
            for e in net.experts:
                e.fc1.weight.normal_(0.0, expert_init_std)
                e.fc2.weight.normal_(0.0, expert_init_std)
        if gate_init_std is not None:
            net.w_gate.normal_(0.0, gate_init_std)

    criterion = nn.CrossEntropyLoss()
    lr = 0.001 * lr_mult
    optimizer = Adam(net.parameters(), lr=lr)  # upstream: optim.Adam(net.parameters(), lr=0.001)
    monitor = gradmedic.watch(net, optimizer, every=every)

    gen = torch.Generator().manual_seed(seed)  # upstream: DataLoader(trainset, batch_size=64, shuffle=True, num_workers=2)
    losses, task_losses, aux_losses, usage = [], [], [], torch.zeros(num_experts)
    net.train()
    for epoch in range(num_epochs):  # loop over the dataset multiple times

        running_loss = 0.0
        perm = torch.randperm(len(y_tr), generator=gen)
        for i in range(0, len(perm), BATCH_SIZE):
            # get the inputs; data is a list of [inputs, labels]
            inputs, labels = X_tr[perm[i:i + BATCH_SIZE]], y_tr[perm[i:i + BATCH_SIZE]]

            # zero the parameter gradients
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()

            # forward + backward + optimize
            inputs = inputs.view(inputs.shape[0], -1)
            outputs, aux = net(inputs)
            loss = criterion(outputs, labels)
            total_loss = loss + aux if aux_loss else loss  # the no_aux_loss variant: the task loss alone
            total_loss.backward()
            monitor.step(total_loss)  # gradmedic
            optimizer.step()

            losses.append(float(total_loss.detach()))
            task_losses.append(float(loss.detach()))
            aux_losses.append(float(aux.detach().sum()))
            running_loss += loss.item()
        if verbose:
            print('[%d] loss: %.3f aux %.4f' % (epoch + 1, running_loss / (len(perm) / BATCH_SIZE),  # noqa: UP031
                                                aux_losses[-1]))
    monitor.close()

    correct = 0
    total = 0
    net.eval()
    with torch.no_grad():
        for i in range(0, len(y_te), BATCH_SIZE):  # upstream: testloader, batch_size=64, shuffle=False
            images, labels = X_te[i:i + BATCH_SIZE], y_te[i:i + BATCH_SIZE]
            outputs, _ = net(images.view(images.shape[0], -1))
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
        gates, _ = net.noisy_top_k_gating(X_te, False)
        usage = (gates > 0).float().mean(0)  # share of test images sent to each expert
    test_acc = correct / total
    if verbose:
        print('Accuracy of the network on the %d test images: %.3f' % (total, test_acc))  # noqa: UP031
        print('expert usage', [round(float(u), 2) for u in usage])
    la = np.array(losses)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(test_acc), "chance": 0.1,
            "initial": None, "initial_what": "chance accuracy 0.1",
            "extra": dict(lr=lr, lr_mult=lr_mult, train_loss=float(np.mean(la[-20:])), first_loss=float(np.mean(la[:5])),
                          max_loss=float(np.nanmax(la)) if np.isfinite(la).any() else float("nan"),
                          finite_losses=bool(np.isfinite(la).all()), steps=len(la), epochs=num_epochs,
                          task_loss=float(np.mean(task_losses[-20:])), aux_loss=float(np.mean(aux_losses[-20:])),
                          first_aux_loss=float(np.mean(aux_losses[:5])),
                          experts_used=int((usage > 0).sum()), max_expert_share=float(usage.max()),
                          feature_scale=feature_scale,
                          expert_init_std=-1.0 if expert_init_std is None else expert_init_std,
                          gate_init_std=-1.0 if gate_init_std is None else gate_init_std, zero_grad=zero_grad,
                          noisy_gating=noisy_gating, with_aux_loss=aux_loss, num_experts=num_experts,
                          hidden_size=hidden_size, k=k),
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="moe", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"davidmrau MoE (10 MLP experts 64-128-10 with softmax outputs, noisy top-4 gating from zero w_gate/w_noise, "
      f"cv_squared aux loss x0.01; CrossEntropyLoss + aux_loss; Adam lr 0.001, batch {BATCH_SIZE}, {NUM_EPOCHS} epochs "
      f"of standardized 8x8 digits)")
CASES: list[dict] = (
    [_case(f"moe_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"moe_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: Adam lr x{k} ({1e-3 * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2)), (1000, (1,))) for s in ss]
    + [_case("moe_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: Adam lr /1000 (1e-06)")]
    + [_case(f"moe_features_x100_s{s}", "unscaled_inputs", s, {"feature_scale": 100.0},
             f"{_P}: the standardized features multiplied by 100 (into the gate and every expert)") for s in (1, 2)]
    + [_case(f"moe_expert_init_std1_s{s}", "init_large", s, {"expert_init_std": 1.0},
             f"{_P}: nn.init.normal_(std=1.0) on every expert's fc1 and fc2 weight instead of PyTorch's default "
             "U(+-1/sqrt(fan_in)) (biases kept)") for s in (1, 2)]
    + [_case("moe_gate_init_std1_s1", "init_large", 1, {"gate_init_std": 1.0},
             f"{_P}: w_gate drawn from N(0, 1) instead of zeros (w_noise kept at zeros)")]
    + [_case("moe_no_zero_grad_s1", "no_zero_grad", 1, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out (the gradients accumulate)")]
    + [_case("moe_no_aux_loss_s1", "healthy", 1, {"aux_loss": False},
             f"{_P}: total_loss = loss, the MoE's aux_loss (importance and load cv_squared) not added (the change "
             "blamed for expert collapse; no cause names it)")]
    + [_case("moe_no_noise_s1", "healthy", 1, {"noisy_gating": False},
             f"{_P}: noisy_gating=False (no gate noise; with the zero w_gate every expert's logit starts tied; "
             "no cause names it)")]
    + [_case("moe_k10_s1", "healthy", 1, {"k": 10}, f"{_P}: k = num_experts = 10 (a dense mixture)")]
    + [_case("moe_experts20_s1", "healthy", 1, {"num_experts": 20}, f"{_P}: num_experts 20 (x2; expected harmless)")]
    + [_case("moe_hidden256_s1", "healthy", 1, {"hidden_size": 256}, f"{_P}: hidden_size 256 (x2; expected harmless)")]
)


if __name__ == "__main__":
    import json
    import sys
    kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
