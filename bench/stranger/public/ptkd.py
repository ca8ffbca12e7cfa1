"""The PyTorch Knowledge Distillation tutorial (a deeper CNN teacher trained with cross-entropy, then the lightweight
student trained with the teacher's soft targets at temperature T plus cross-entropy), on digits, watched by gradmedic.

Adapted from https://github.com/pytorch/tutorials (commit 035c541fa706ab2b1eca57e0625b5bbdca5e04cb,
beginner_source/knowledge_distillation_tutorial.py, by Alexandros Chariton; BSD 3-Clause License, Copyright (c)
2017-2022, Pytorch contributors, see LICENSE-ptkd).  Two programs in one module, as the tutorial runs them one after
the other: the teacher's training (name prefix ``ptkdteach``) and the student's distillation (name prefix ``ptkd``).

Kept as in the tutorial: ``LightNN`` (the student) unchanged: Conv2d(3, 16, 3, padding=1), ReLU, MaxPool 2,
Conv2d(16, 16, 3, padding=1), ReLU, MaxPool 2, Linear(1024, 256), ReLU, Dropout(0.1), Linear(256, 10), PyTorch's
default init; ``DeepNN`` (the teacher) with the tutorial's layout (four 3x3 convs with ReLU, two max-pools,
Linear, ReLU, Dropout(0.1), Linear(512, 10)); the tutorial's ``train`` (renamed ``train_ce`` here, as ``train`` is
the module's entry point: ``nn.CrossEntropyLoss()``, ``optim.Adam(model.parameters(), lr=learning_rate)``,
``model.train()``, per batch ``optimizer.zero_grad()``, forward, loss, ``loss.backward()``, ``optimizer.step()``)
and ``test`` (accuracy in percent under ``torch.no_grad()`` after ``model.eval()``);
``train_knowledge_distillation`` unchanged: ``teacher.eval()``, ``student.train()``, the teacher's logits under
``torch.no_grad()``, ``soft_targets = softmax(teacher_logits / T)``, ``soft_prob = log_softmax(student_logits / T)``,
``soft_targets_loss = -torch.sum(soft_targets * soft_prob) / soft_prob.size()[0] * (T**2)``, ``label_loss =
ce_loss(student_logits, labels)``, ``loss = soft_target_loss_weight * soft_targets_loss + ce_loss_weight *
label_loss``, Adam on the student's parameters; the call's arguments: epochs=10, learning_rate=0.001, T=2,
soft_target_loss_weight=0.25, ce_loss_weight=0.75; the teacher's: epochs=10, learning_rate=0.001; batch size 128
(training loader shuffled, test loader not); ``transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224,
0.225])``; the seeding pattern (``torch.manual_seed`` before the teacher is built and again before the student).

Changed to run offline on one CPU thread: CIFAR-10 (torchvision, which does not import here, and a download) is
scikit-learn's ``load_digits`` (1797 8x8 grey digits; the same split as mnist.py's ``digits28``: 1437 training and
360 test images, ``random_state=0``), each scaled to [0, 1] (``ToTensor``'s range), upsampled bilinearly to 32x32 and
repeated over 3 channels (CIFAR's 3x32x32 shape, so ``LightNN``'s 1024 = 16*8*8 flattened features are unchanged),
then the tutorial's Normalize; the raw 0..255 values (no ToTensor scaling, no Normalize) are a variant.  The teacher's
convolutions are 4x narrower (32, 16, 16, 8 channels instead of 128, 64, 64, 32, so its flattened features are
8*8*8 = 512 instead of 2048 and its first Linear is Linear(512, 512) instead of Linear(2048, 512)): at the
tutorial's widths one batch of 128 takes ~1.6 s forward and backward on one CPU thread, and the teacher's forward
pass runs in every step of the student's loop too; narrowed, the teacher still has 4 convolutions and ~4x the
student's convolution work.  ``num_workers=0`` instead of 2; CPU only; the prints only under ``verbose``;
``torch.manual_seed(seed)`` with the case's seed instead of 42.  The tutorial's other experiments (the student alone
with cross-entropy, the cosine and the regressor hint losses) are not run.  The teacher a student case needs is
trained in that case (without a monitor) or, when a case of the same seed and data trained it before in the same
process, taken from a cache: the teacher's training is deterministic (one thread, the same seed), so both give the
same teacher; ``extra`` has its test accuracy.  The metric is the test accuracy after the last epoch (the
tutorial's ``test``, as a fraction); ``initial`` is the untrained network's.

The watch, as a user would add it: in ``train_knowledge_distillation`` (and in ``train_ce`` for the teacher's
program) ``monitor = gradmedic.watch(student, optimizer, every=10)`` right after the Adam is built,
``monitor.step(loss)`` right after ``loss.backward()`` (the weighted sum of the two losses), before
``optimizer.step()``, ``monitor.close()`` after the epochs.

``CASES``: the teacher's program (``ptkdteach``) on seeds 1-3, and with Adam lr x10, x100, /1000, the raw 0..255
pixels and no ``optimizer.zero_grad()`` (seed 1).  The student's program (``ptkd``) on seeds 1-3, and one change
each against the same seed's healthy run (the change is in the student's loop, except the raw pixels, which the
teacher is trained on too): Adam lr x2, x10 (seeds 1 and 2), x100 (seeds 1 and 2), x1000, /1000 (seeds 1 and 2);
the raw 0..255 pixels (seeds 1 and 2); ``normal_(0, 1)`` on every Conv2d and Linear weight of the student (seeds 1
and 2); ``zeros_`` on every weight and bias of the student (symmetric_init); ``optimizer.zero_grad()`` left out
(seeds 1 and 2); a bias of -5 on the student's first convolution (dead ReLUs); ``F.softmax`` at the end of the
student's ``forward`` (probabilities fed to both CrossEntropyLoss and the log_softmax of the soft loss; wrong_loss);
``soft_prob = softmax(student_logits / T)`` instead of ``log_softmax`` (the soft loss over probabilities instead of
log-probabilities; wrong_loss); T=20 instead of 2 (cause wrong_loss).  Labels come from run.py's outcome rules only.
Recorded (cases-public31; 30 cases in ~12 min on a shared 2-core machine: the teacher's runs 31-36 s, the student's
13-21 s plus 33 s for the one raw-pixel teacher not in the cache): the teacher healthy 0.975, 0.961, 0.961 on seeds
1-3 (from 0.075-0.169 untrained; training loss 2.30 -> 0.020-0.032); its lr x10 (0.01) and x100 collapse to 0.075
(training loss stuck at 2.302, x100 after losses up to 1.7e4), /1000 stays at 0.075, no ``zero_grad`` 0.228 (all
four broken); its raw 0..255 pixels 0.978 (healthy: the first convolution copes, largest loss 2.66).  The student
healthy 0.961, 0.972, 0.978 on seeds 1-3 (from 0.078-0.111; loss 3.91 -> 0.21-0.27; teachers 0.975, 0.961,
0.961).  lr x2 0.967, x10 0.981 and 0.986 (healthy); x100 0.083 and 0.100, x1000 0.075 (losses to 1e3-7e6), /1000
0.092 and 0.081 (loss still 4.03) (all broken); raw pixels 0.978 (ambiguous: better than its control, but its
largest loss 9.0 is over 2x the control's 4.03) and 0.989 (healthy, largest 5.2); ``normal_(0, 1)`` 0.850 and
0.867 (broken; losses from 3.6e4 and 2.5e4); zeros 0.081, no ``zero_grad`` 0.075 and 0.569, the conv1 bias -5 0.081
(loss flat at 4.03) (all broken); the softmax at the end of ``forward`` 0.956 and the softmax in the soft loss
0.967 (healthy: the cross-entropy term still ranks the right class first; the latter's loss goes negative, 1.55 ->
-0.87); T=20 0.961 (ambiguous: the same accuracy as its control, but the T^2-scaled loss is ~230, far over 2x the
control's largest).
"""

# the tutorial's code is kept as written (super(Class, self))
# ruff: noqa: UP008

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

import gradmedic

ARCH = "cnn"
MONITOR_AT = ("watch(model, optimizer, every=10) right after the Adam is built (the student's in "
              "train_knowledge_distillation, the teacher's in train_ce, the tutorial's train); monitor.step(loss) right "
              "after loss.backward() "
              "(student: 0.25 * the T^2-scaled soft-target loss + 0.75 * CrossEntropyLoss; teacher: CrossEntropyLoss), "
              "before optimizer.step()")

device = torch.device("cpu")


def digits_cifar_shaped(raw_pixels: bool = False):
    """(train, test) TensorDatasets of digits as 3x32x32 images: ToTensor's [0, 1] then the tutorial's Normalize, or
    the raw 0..255 values."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.images, d.target, test_size=0.2, random_state=0)

    def up(x):
        x = torch.tensor(x, dtype=torch.float32)[:, None] / 16.0  # ToTensor: [0, 1]
        x = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False).clamp(0, 1)
        return x.repeat(1, 3, 1, 1)  # grey to 3 channels (CIFAR's RGB)

    xtr, xte = up(xtr), up(xte)
    if raw_pixels:  # the bug: 0..255 straight into the network, no ToTensor scaling, no Normalize
        xtr, xte = xtr * 255.0, xte * 255.0
    else:  # transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
        mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        xtr, xte = (xtr - mean) / std, (xte - mean) / std
    return (torch.utils.data.TensorDataset(xtr, torch.tensor(ytr)),
            torch.utils.data.TensorDataset(xte, torch.tensor(yte)))


# Deeper neural network class to be used as teacher (channels 128, 64, 64, 32 narrowed to 32, 16, 16, 8)
class DeepNN(nn.Module):
    def __init__(self, num_classes=10):
        super(DeepNN, self).__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 16, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(16, 16, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 8, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.classifier = nn.Sequential(
            nn.Linear(512, 512),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Linear(512, num_classes)
        )

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        return x


# Lightweight neural network class to be used as student
class LightNN(nn.Module):
    def __init__(self, num_classes=10, softmax_out=False):
        super(LightNN, self).__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(16, 16, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.classifier = nn.Sequential(
            nn.Linear(1024, 256),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Linear(256, num_classes)
        )
        self.softmax_out = softmax_out

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        if self.softmax_out:  # the bug: probabilities out instead of logits
            x = F.softmax(x, dim=1)
        return x


def train_ce(model, train_loader, epochs, learning_rate, device, watch=True, zero_grad=True, verbose=False, log=None):
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=learning_rate)
    monitor = gradmedic.watch(model, optimizer, every=10) if watch else None  # gradmedic

    model.to(device)
    model.train()

    for epoch in range(epochs):
        running_loss = 0.0
        for inputs, labels in train_loader:
            # inputs: A collection of batch_size images
            # labels: A vector of dimensionality batch_size with integers denoting class of each image
            inputs, labels = inputs.to(device), labels.to(device)

            if zero_grad:  # the variant leaves optimizer.zero_grad() out
                optimizer.zero_grad()
            outputs = model(inputs)

            # outputs: Output of the network for the collection of images. A vector of dimensionality batch_size
            # labels: The actual labels of the images. Vector of dimensionality batch_size
            loss = criterion(outputs, labels)
            loss.backward()
            if monitor is not None:
                monitor.step(loss)  # gradmedic
            optimizer.step()

            running_loss += loss.item()
            if log is not None:
                log.append(loss.item())

        if verbose:
            print(f"Epoch {epoch+1}/{epochs}, Loss: {running_loss / len(train_loader)}", flush=True)
    if monitor is not None:
        monitor.close()
    return monitor


def test(model, test_loader, device, verbose=False):
    model.to(device)
    model.eval()

    correct = 0
    total = 0

    with torch.no_grad():
        for inputs, labels in test_loader:
            inputs, labels = inputs.to(device), labels.to(device)

            outputs = model(inputs)
            _, predicted = torch.max(outputs.data, 1)

            total += labels.size(0)
            correct += (predicted == labels).sum().item()

    accuracy = 100 * correct / total
    if verbose:
        print(f"Test Accuracy: {accuracy:.2f}%", flush=True)
    return accuracy


def train_knowledge_distillation(teacher, student, train_loader, epochs, learning_rate, T, soft_target_loss_weight,
                                 ce_loss_weight, device, zero_grad=True, log_softmax_soft=True, verbose=False, log=None):
    ce_loss = nn.CrossEntropyLoss()
    optimizer = optim.Adam(student.parameters(), lr=learning_rate)
    monitor = gradmedic.watch(student, optimizer, every=10)  # gradmedic

    teacher.to(device)
    student.to(device)
    teacher.eval()  # Teacher set to evaluation mode
    student.train() # Student to train mode

    for epoch in range(epochs):
        running_loss = 0.0
        for inputs, labels in train_loader:
            inputs, labels = inputs.to(device), labels.to(device)

            if zero_grad:  # the variant leaves optimizer.zero_grad() out
                optimizer.zero_grad()

            # Forward pass with the teacher model - do not save gradients here as we do not change the teacher's weights
            with torch.no_grad():
                teacher_logits = teacher(inputs)

            # Forward pass with the student model
            student_logits = student(inputs)

            #Soften the student logits by applying softmax first and log() second
            soft_targets = nn.functional.softmax(teacher_logits / T, dim=-1)
            if log_softmax_soft:
                soft_prob = nn.functional.log_softmax(student_logits / T, dim=-1)
            else:  # the bug: probabilities where the loss needs log-probabilities
                soft_prob = nn.functional.softmax(student_logits / T, dim=-1)

            # Calculate the soft targets loss. Scaled by T**2 as suggested by the authors of the paper "Distilling the knowledge in a neural network"  # noqa: E501
            soft_targets_loss = -torch.sum(soft_targets * soft_prob) / soft_prob.size()[0] * (T**2)

            # Calculate the true label loss
            label_loss = ce_loss(student_logits, labels)

            # Weighted sum of the two losses
            loss = soft_target_loss_weight * soft_targets_loss + ce_loss_weight * label_loss

            loss.backward()
            monitor.step(loss)  # gradmedic
            optimizer.step()

            running_loss += loss.item()
            if log is not None:
                log.append(loss.item())

        if verbose:
            print(f"Epoch {epoch+1}/{epochs}, Loss: {running_loss / len(train_loader)}", flush=True)
    monitor.close()
    return monitor


_TEACHERS: dict = {}  # (seed, raw_pixels, epochs) -> (trained healthy teacher, its test accuracy)


def _loaders(raw_pixels):
    train_dataset, test_dataset = digits_cifar_shaped(raw_pixels)
    # Dataloaders (num_workers=0: one process, one thread)
    train_loader = torch.utils.data.DataLoader(train_dataset, batch_size=128, shuffle=True, num_workers=0)
    test_loader = torch.utils.data.DataLoader(test_dataset, batch_size=128, shuffle=False, num_workers=0)
    return train_loader, test_loader


def train(seed: int = 1, part: str = "student", lr_mult: float = 1.0, raw_pixels: bool = False,
          init: str | None = None, zero_grad: bool = True, conv1_bias: float | None = None, softmax_out: bool = False,
          log_softmax_soft: bool = True, T: float = 2.0, epochs: int = 10, verbose: bool = False) -> dict:  # noqa: N803
    """``part`` "teacher" (the teacher's cross-entropy training, recorded) or "student" (the distillation, recorded;
    the healthy teacher first).  Variants: ``lr_mult`` multiplies the recorded loop's Adam lr 0.001; ``raw_pixels``
    the 0..255 inputs (for the teacher too); ``zero_grad=False`` leaves the recorded loop's ``optimizer.zero_grad()``
    out; student only: ``init`` "std1" / "zeros", ``conv1_bias``, ``softmax_out``, ``log_softmax_soft``, ``T``."""
    torch.set_num_threads(1)
    train_loader, test_loader = _loaders(raw_pixels)
    log: list[float] = []

    if part == "teacher":
        torch.manual_seed(seed)
        nn_deep = DeepNN(num_classes=10).to(device)
        initial = test(nn_deep, test_loader, device) / 100
        t0 = time.time()
        monitor = train_ce(nn_deep, train_loader, epochs=epochs, learning_rate=0.001 * lr_mult, device=device,
                           zero_grad=zero_grad, verbose=verbose, log=log)
        seconds = time.time() - t0
        test_accuracy_deep = test(nn_deep, test_loader, device, verbose) / 100
        if lr_mult == 1.0 and zero_grad:
            _TEACHERS[(seed, raw_pixels, epochs)] = (nn_deep, test_accuracy_deep)
        return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(test_accuracy_deep),
                "initial": float(initial), "chance": 0.1,
                "initial_what": "untrained: the teacher's test accuracy before its first step",
                "extra": {"part": "teacher", "train_loss": float(np.mean(log[-20:])),
                          "initial_train_loss": float(np.mean(log[:5])), "steps": len(log), "lr": 0.001 * lr_mult},
                "seconds": seconds}

    key = (seed, raw_pixels, epochs)
    t_teacher = 0.0
    if key not in _TEACHERS:  # the tutorial trains the teacher first (here without a monitor: not recorded)
        t1 = time.time()
        torch.manual_seed(seed)
        nn_deep = DeepNN(num_classes=10).to(device)
        train_ce(nn_deep, train_loader, epochs=epochs, learning_rate=0.001, device=device, watch=False)
        _TEACHERS[key] = (nn_deep, test(nn_deep, test_loader, device) / 100)
        t_teacher = time.time() - t1
    nn_deep, test_accuracy_deep = _TEACHERS[key]

    torch.manual_seed(seed)
    new_nn_light = LightNN(num_classes=10, softmax_out=softmax_out)
    if init is not None:  # the variant: another init of the student's every Conv2d and Linear
        for mod in new_nn_light.modules():
            if isinstance(mod, (nn.Conv2d, nn.Linear)):
                if init == "std1":
                    nn.init.normal_(mod.weight, 0.0, 1.0)
                else:  # "zeros"
                    nn.init.zeros_(mod.weight)
                    nn.init.zeros_(mod.bias)
    if conv1_bias is not None:  # the variant: a large negative bias before the first ReLU
        nn.init.constant_(new_nn_light.features[0].bias, conv1_bias)
    initial = test(new_nn_light, test_loader, device) / 100
    t0 = time.time()
    # Apply train_knowledge_distillation with a temperature of 2. Arbitrarily set the weights to 0.75 for CE and 0.25 for distillation loss.  # noqa: E501
    monitor = train_knowledge_distillation(teacher=nn_deep, student=new_nn_light, train_loader=train_loader,
                                           epochs=epochs, learning_rate=0.001 * lr_mult, T=T,
                                           soft_target_loss_weight=0.25, ce_loss_weight=0.75, device=device,
                                           zero_grad=zero_grad, log_softmax_soft=log_softmax_soft, verbose=verbose,
                                           log=log)
    seconds = time.time() - t0
    test_accuracy_light_ce_and_kd = test(new_nn_light, test_loader, device, verbose) / 100
    if verbose:
        print(f"Teacher accuracy: {test_accuracy_deep:.4f}; student with CE + KD: {test_accuracy_light_ce_and_kd:.4f} "
              f"(untrained {initial:.4f}); loss {np.mean(log[:5]):.4g} -> {np.mean(log[-20:]):.4g}; student loop "
              f"{seconds:.1f}s, teacher {t_teacher:.1f}s", flush=True)
    return {"monitors": {"": monitor}, "metric": "accuracy", "value": float(test_accuracy_light_ce_and_kd),
            "initial": float(initial), "chance": 0.1,
            "initial_what": "untrained: the student's test accuracy before its first step",
            "extra": {"part": "student", "teacher_accuracy": float(test_accuracy_deep),
                      "teacher_seconds_this_case": t_teacher, "train_loss": float(np.mean(log[-20:])),
                      "initial_train_loss": float(np.mean(log[:5])), "steps": len(log), "lr": 0.001 * lr_mult, "T": T},
            "seconds": seconds}


def _case(name, cause, seed, kwargs, variant, control=True):
    return dict(program="ptkd", name=name, cause=cause, seed=seed, kwargs=kwargs, variant=variant, control=control)


def _cases() -> list[dict]:
    out = []
    P = "ptkdteach"  # noqa: N806
    t = {"part": "teacher"}
    for s in (1, 2, 3):
        out.append(_case(f"{P}_healthy_s{s}", "healthy", s, dict(t),
                         "the teacher's program unchanged (DeepNN narrowed 4x, CrossEntropyLoss, Adam lr 0.001, batch "
                         "128, 10 epochs)", False))
    for k in (10, 100):
        out.append(_case(f"{P}_lr_x{k}_s1", "lr_high", 1, dict(t, lr_mult=k), f"the teacher's Adam lr x{k} ({1e-3 * k:g})"))
    out.append(_case(f"{P}_lr_div1000_s1", "lr_low", 1, dict(t, lr_mult=1e-3), "the teacher's Adam lr /1000 (1e-06)"))
    out.append(_case(f"{P}_raw_pixels_s1", "unscaled_inputs", 1, dict(t, raw_pixels=True),
                     "raw 0..255 pixel values: no ToTensor scaling, no Normalize"))
    out.append(_case(f"{P}_no_zero_grad_s1", "no_zero_grad", 1, dict(t, zero_grad=False),
                     "optimizer.zero_grad() left out of the teacher's train: the gradients accumulate"))
    P = "ptkd"  # noqa: N806
    for s in (1, 2, 3):
        out.append(_case(f"{P}_healthy_s{s}", "healthy", s, {},
                         "unchanged (the trained teacher, then the student LightNN: 0.25 * soft-target loss at T=2 "
                         "(x T^2) + 0.75 * CrossEntropyLoss, Adam lr 0.001, batch 128, 10 epochs)", False))
    for k, ss in ((2, (1,)), (10, (1, 2)), (100, (1, 2)), (1000, (1,))):
        for s in ss:
            out.append(_case(f"{P}_lr_x{k}_s{s}", "lr_high", s, {"lr_mult": k},
                             f"the student's Adam lr x{k} ({1e-3 * k:g}); the teacher as in the healthy run"))
    for s in (1, 2):
        out.append(_case(f"{P}_lr_div1000_s{s}", "lr_low", s, {"lr_mult": 1e-3},
                         "the student's Adam lr /1000 (1e-06); the teacher as in the healthy run"))
    for s in (1, 2):
        out.append(_case(f"{P}_raw_pixels_s{s}", "unscaled_inputs", s, {"raw_pixels": True},
                         "raw 0..255 pixel values (no ToTensor scaling, no Normalize) for the whole program: the "
                         "teacher is trained and the student distilled on them"))
    for s in (1, 2):
        out.append(_case(f"{P}_init_std1_s{s}", "init_large", s, {"init": "std1"},
                         "nn.init.normal_(std=1.0) on every Conv2d and Linear weight of the student (biases kept)"))
    out.append(_case(f"{P}_zero_init_s1", "symmetric_init", 1, {"init": "zeros"},
                     "nn.init.zeros_ on every Conv2d and Linear weight and bias of the student"))
    for s in (1, 2):
        out.append(_case(f"{P}_no_zero_grad_s{s}", "no_zero_grad", s, {"zero_grad": False},
                         "optimizer.zero_grad() left out of train_knowledge_distillation: the gradients accumulate"))
    out.append(_case(f"{P}_conv1_bias_neg5_s1", "dead_relu", 1, {"conv1_bias": -5.0},
                     "nn.init.constant_(bias, -5) on the student's first Conv2d (its ReLUs below zero)"))
    out.append(_case(f"{P}_softmax_out_s1", "wrong_loss", 1, {"softmax_out": True},
                     "F.softmax(x, dim=1) at the end of LightNN.forward: probabilities into CrossEntropyLoss and into "
                     "the soft loss's log_softmax(. / T)"))
    out.append(_case(f"{P}_soft_prob_softmax_s1", "wrong_loss", 1, {"log_softmax_soft": False},
                     "soft_prob = softmax(student_logits / T) instead of log_softmax: the soft-target loss over "
                     "probabilities"))
    out.append(_case(f"{P}_T20_s1", "wrong_loss", 1, {"T": 20.0}, "temperature T=20 instead of 2 (loss still x T^2)"))
    return out


CASES: list[dict] = _cases()

if __name__ == "__main__":
    import sys
    kw = {}
    for a in sys.argv[1:]:
        k, v = a.split("=")
        if k in ("part", "init"):
            kw[k] = v
        elif k in ("raw_pixels", "zero_grad", "softmax_out", "log_softmax_soft"):
            kw[k] = v == "True"
        else:
            kw[k] = float(v)
    for k in ("seed", "epochs"):
        if k in kw:
            kw[k] = int(kw[k])
    train(verbose=True, **kw)
