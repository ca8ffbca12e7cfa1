"""Phillip Lippe's UvA Deep Learning Tutorial 2 ("Introduction to PyTorch"): the SimpleClassifier (Linear 2-4, Tanh,
Linear 4-1) on the notebook's continuous XOR dataset, trained by its ``train_model`` loop (BCEWithLogitsLoss, SGD
lr 0.1, batch 128, 100 epochs), watched by gradmedic.

Adapted from https://github.com/phlippe/uvadlc_notebooks (commit 0da8037c7abc32f478ff6142acceb72dbcf088ee, the
stored snapshot's HEAD; docs/tutorial_notebooks/tutorial2/Introduction_to_PyTorch.ipynb, last changed in
f21b6428f522e879f90b1b6e3aef5846d78fafe4; MIT License, Copyright (c) 2020 Phillip Lippe, the repository's
LICENSE.md, see LICENSE-uvaintro).  The notebook's code cells were read from that blob.

Kept as in the notebook: ``SimpleClassifier(num_inputs=2, num_hidden=4, num_outputs=1)`` (``linear1``, ``nn.Tanh``,
``linear2``) with PyTorch's default init; ``XORDataset(size, std=0.1)`` as written (``torch.randint`` corners,
label ``(data.sum(dim=1) == 1)``, Gaussian noise std 0.1), ``XORDataset(size=2500)`` for training in a DataLoader of
batch_size=128, shuffle=True (20 steps an epoch), ``XORDataset(size=500)`` for the test (batch 128, drop_last=False);
``loss_module = nn.BCEWithLogitsLoss()``; ``torch.optim.SGD(model.parameters(), lr=0.1)``; ``train_model`` line for
line (``model.train()``, ``num_epochs=100``, ``preds = model(data_inputs)``, ``preds.squeeze(dim=1)``,
``loss_module(preds, data_labels.float())``, ``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``),
so 2000 steps as upstream; ``eval_model`` (sigmoid of the logits, threshold 0.5, accuracy over the 500 test points)
gives the metric; the notebook's order: model, loss module and optimizer, then the training set.

Changed: ``torch.manual_seed(seed)`` at the start of ``train`` (the notebook: ``torch.manual_seed(42)`` at its top,
with other random cells in between); tqdm, ``.to(device)`` (CPU), the printing, the state_dict save/load demo, the
plots and the TensorBoard variant (``train_model_with_logger``, the same loop) are left out; ``eval_model`` returns
the accuracy instead of printing it; the test set is generated right after the training set, before
the loop (the notebook: after training).  Nothing else: the data are generated, nothing is downloaded.  A run takes
6-11 s on the shared 2-core machine.

The watch, as a user would: ``monitor = gradmedic.watch(model, optimizer, every=10)`` right after the optimizer is
built; ``monitor.step(loss)`` in ``train_model`` right after ``loss.backward()``, before ``optimizer.step()``;
``monitor.close()`` after the loop.

``CASES`` (program "uvaintro"): the program on seeds 1-3 (control=False), and one change each against the same
seed's healthy run: SGD lr x10 (seed 1), x100 (seeds 1 and 2), /1000, x2 (seed 2, expected harmless); the XOR points
(with their noise) x100, train and test ("unscaled_inputs"); every Linear weight and bias ``normal_(std=1)``; every
Linear weight and bias zero; ``optimizer.zero_grad()`` left out (seed 2); ``torch.sigmoid`` on the logits before
``BCEWithLogitsLoss`` (in the training loop only; ``eval_model`` as upstream); the Tanh output ``.detach()``-ed so
``linear1`` gets no gradient ("no_gradient").  The notebook does not clip (no clipping case).  The zero_grad case is
on seed 2 because on seed 1 (trial run) it reached 1.000 but its loss spiked to 4.3, more than twice its control's
largest (0.70): ambiguous by run.py's rule.  Labels come from run.py's outcome rules only.

Recorded (cases-public43, 14 runs, 6-11 s each): healthy 1.000 test accuracy on seeds 1-3 (train loss 0.69 ->
0.026-0.032, largest 0.70): healthy; lr x10 (1.0): train loss 0.0018, 1.000: healthy; lr x100 (10): losses up to
14.1 (seed 1) and 8.6 (seed 2), train loss 2.9-3.1, 0.696 and 0.762: broken; lr /1000 (1e-4): the loss stays at
0.69, 0.236: broken; points x100: train loss 0.55, 0.640: broken; N(0, 1) init: first loss 0.71, largest 0.73, train
loss 0.024, 1.000: healthy (the change did no harm in this 2-4-1 net); zero init: the loss stays at 0.693, 0.548:
broken; zero_grad left out (seed 2): largest loss 0.71, train loss 0.0, 1.000: healthy; sigmoid before
BCEWithLogitsLoss: train loss 0.70 -> 0.61, 0.784: broken; hidden layer detached: the loss stays at 0.69, 0.724:
broken; lr x2 (0.2): 1.000: healthy.  Labels: 7 healthy (3 programs, 4 variants), 7 broken, 0 ambiguous.  Every
loss was finite.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.utils.data as data

import gradmedic

ARCH = "mlp"
MONITOR_AT = ("watch(model, optimizer, every=10) right after optimizer = torch.optim.SGD(model.parameters(), lr=0.1); "
              "monitor.step(loss) in train_model right after loss.backward(), before optimizer.step() "
              "(optimizer.zero_grad() sits just before loss.backward(), the notebook's order)")
LR = 0.1
NUM_EPOCHS = 100


class SimpleClassifier(nn.Module):

    def __init__(self, num_inputs, num_hidden, num_outputs, detach_hidden=False):
        super().__init__()
        # Initialize the modules we need to build the network
        self.linear1 = nn.Linear(num_inputs, num_hidden)
        self.act_fn = nn.Tanh()
        self.linear2 = nn.Linear(num_hidden, num_outputs)
        self.detach_hidden = detach_hidden

    def forward(self, x):
        # Perform the calculation of the model to determine the prediction
        x = self.linear1(x)
        x = self.act_fn(x)
        if self.detach_hidden:  # the no_gradient variant: the hidden layer cut from the graph
            x = x.detach()
        x = self.linear2(x)
        return x


class XORDataset(data.Dataset):

    def __init__(self, size, std=0.1):
        """
        Inputs:
            size - Number of data points we want to generate
            std - Standard deviation of the noise (see generate_continuous_xor function)
        """
        super().__init__()
        self.size = size
        self.std = std
        self.generate_continuous_xor()

    def generate_continuous_xor(self):
        # Each data point in the XOR dataset has two variables, x and y, that can be either 0 or 1
        # The label is their XOR combination, i.e. 1 if only x or only y is 1 while the other is 0.
        # If x=y, the label is 0.
        data = torch.randint(low=0, high=2, size=(self.size, 2), dtype=torch.float32)
        label = (data.sum(dim=1) == 1).to(torch.long)
        # To make it slightly more challenging, we add a bit of gaussian noise to the data points.
        data += self.std * torch.randn(data.shape)

        self.data = data
        self.label = label

    def __len__(self):
        # Number of data point we have. Alternatively self.data.shape[0], or self.label.shape[0]
        return self.size

    def __getitem__(self, idx):
        # Return the idx-th data point of the dataset
        # If we have multiple things to return (data point and label), we can return them as tuple
        data_point = self.data[idx]
        data_label = self.label[idx]
        return data_point, data_label


def eval_model(model, data_loader):
    model.eval()  # Set model to eval mode
    true_preds, num_preds = 0., 0.

    with torch.no_grad():  # Deactivate gradients for the following code
        for data_inputs, data_labels in data_loader:

            # Determine prediction of model on dev set
            preds = model(data_inputs)
            preds = preds.squeeze(dim=1)
            preds = torch.sigmoid(preds)  # Sigmoid to map predictions between 0 and 1
            pred_labels = (preds >= 0.5).long()  # Binarize predictions to 0 and 1

            # Keep records of predictions for the accuracy metric (true_preds=TP+TN, num_preds=TP+TN+FP+FN)
            true_preds += (pred_labels == data_labels).sum()
            num_preds += data_labels.shape[0]

    acc = true_preds / num_preds
    return float(acc)


def train(seed: int = 1, lr_mult: float = 1.0, input_scale: float = 1.0, init: str = "default",
          zero_grad: bool = True, sigmoid: bool = False, detach_hidden: bool = False, num_epochs: int = NUM_EPOCHS,
          every: int = 10, verbose: bool = False) -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(seed)  # the notebook: torch.manual_seed(42) at the top
    t0 = time.time()

    model = SimpleClassifier(num_inputs=2, num_hidden=4, num_outputs=1, detach_hidden=detach_hidden)
    if init != "default":  # the notebook keeps PyTorch's default nn.Linear init
        for m in model.modules():
            if isinstance(m, nn.Linear):
                if init == "std1":  # the init_large variant
                    nn.init.normal_(m.weight, std=1.0)
                    nn.init.normal_(m.bias, std=1.0)
                elif init == "zero":  # the symmetric_init variant
                    nn.init.zeros_(m.weight)
                    nn.init.zeros_(m.bias)
                else:
                    raise ValueError(init)
    loss_module = nn.BCEWithLogitsLoss()
    # Input to the optimizer are the parameters of the model: model.parameters()
    lr = LR * lr_mult
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    monitor = gradmedic.watch(model, optimizer, every=every)

    train_dataset = XORDataset(size=2500)
    test_dataset = XORDataset(size=500)
    if input_scale != 1.0:  # the unscaled_inputs variant: the points at 0 and input_scale instead of 0 and 1
        train_dataset.data *= input_scale
        test_dataset.data *= input_scale
    train_data_loader = data.DataLoader(train_dataset, batch_size=128, shuffle=True)
    # drop_last -> Don't drop the last batch although it is smaller than 128
    test_data_loader = data.DataLoader(test_dataset, batch_size=128, shuffle=False, drop_last=False)

    # train_model(model, optimizer, train_data_loader, loss_module)
    # Set model to train mode
    model.train()
    losses = []
    # Training loop
    for epoch in range(num_epochs):
        for data_inputs, data_labels in train_data_loader:

            ## Step 2: Run the model on the input data
            preds = model(data_inputs)
            preds = preds.squeeze(dim=1)  # Output is [Batch size, 1], but we want [Batch size]
            if sigmoid:  # the wrong_loss variant: probabilities fed to BCEWithLogitsLoss
                preds = torch.sigmoid(preds)

            ## Step 3: Calculate the loss
            loss = loss_module(preds, data_labels.float())

            ## Step 4: Perform backpropagation
            # Before calculating the gradients, we need to ensure that they are all zero.
            # The gradients would not be overwritten, but actually added to the existing ones.
            if zero_grad:  # the no_zero_grad variant leaves this out
                optimizer.zero_grad()
            # Perform backpropagation
            loss.backward()
            monitor.step(loss)  # gradmedic

            ## Step 5: Update the parameters
            optimizer.step()
            losses.append(loss.item())
        if verbose and (epoch + 1) % 10 == 0:
            print(f"epoch {epoch + 1} loss {np.mean(losses[-20:]):.4f} ({time.time() - t0:.1f}s)", flush=True)
    monitor.close()

    acc = eval_model(model, test_data_loader)
    losses = np.array(losses)
    if verbose:
        print(f"Accuracy of the model: {100.0 * acc:4.2f}%")
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": acc, "chance": 0.5, "initial": None,
            "initial_what": "chance accuracy 0.5",
            "extra": {"train_loss": float(np.mean(losses[-20:])), "first_loss": float(np.mean(losses[:5])),
                      "max_loss": float(np.nanmax(losses)), "finite_losses": bool(np.isfinite(losses).all()),
                      "steps": len(losses), "epochs": num_epochs, "lr": lr, "lr_mult": lr_mult,
                      "input_scale": input_scale, "init": init, "zero_grad": zero_grad, "sigmoid": sigmoid,
                      "detach_hidden": detach_hidden},
            "seconds": time.time() - t0}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="uvaintro", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


_P = (f"SimpleClassifier(2, 4, 1) with Tanh, default init, BCEWithLogitsLoss, SGD lr {LR:g}, batch 128, "
      f"XORDataset(2500) for {NUM_EPOCHS} epochs of 20 steps, tested on XORDataset(500)")
CASES: list[dict] = (
    [_case(f"uvaintro_healthy_s{s}", "healthy", s, {}, f"{_P}: unchanged", False) for s in (1, 2, 3)]
    + [_case(f"uvaintro_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k}, f"{_P}: lr x{k} ({LR * k:g})")
       for k, ss in ((10, (1,)), (100, (1, 2))) for s in ss]
    + [_case("uvaintro_lr_div1000_s1", "lr_low", 1, {"lr_mult": 1e-3}, f"{_P}: lr /1000 ({LR * 1e-3:g})")]
    + [_case("uvaintro_inputs_x100_s1", "unscaled_inputs", 1, {"input_scale": 100.0},
             f"{_P}: the XOR points (and their noise) x100, train and test")]
    + [_case("uvaintro_init_std1_s1", "init_large", 1, {"init": "std1"},
             f"{_P}: every Linear weight and bias normal_(std=1)")]
    + [_case("uvaintro_zero_init_s1", "symmetric_init", 1, {"init": "zero"},
             f"{_P}: every Linear weight and bias zeros_")]
    + [_case("uvaintro_no_zero_grad_s2", "no_zero_grad", 2, {"zero_grad": False},
             f"{_P}: optimizer.zero_grad() left out")]
    + [_case("uvaintro_sigmoid_bce_s1", "wrong_loss", 1, {"sigmoid": True},
             f"{_P}: torch.sigmoid applied to the logits before BCEWithLogitsLoss (training only)")]
    + [_case("uvaintro_detach_hidden_s1", "no_gradient", 1, {"detach_hidden": True},
             f"{_P}: the Tanh output detached, so linear1 gets no gradient")]
    + [_case("uvaintro_lr_x2_s2", "lr_high", 2, {"lr_mult": 2}, f"{_P}: lr x2 ({LR * 2:g}, expected harmless)")]
)


if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        kw[k] = (float(v) if k in ("lr_mult", "input_scale") else int(v) if k in ("num_epochs", "seed")
                 else v if k == "init" else v == "1")
    r = train(verbose=True, **kw)
    print({k: v for k, v in r.items() if k != "monitors"})
