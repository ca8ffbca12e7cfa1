"""Build a network from a ModelSpec.  Modules get short textbook names (fc1, act1, bn1, out)
so that diagnoses can say "fc1's gradient norm ..." of the layer a user recognises."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from gradmedic.errors import SpecError
from gradmedic.model import activations, init
from gradmedic.model.data import Dataset
from gradmedic.spec import ModelSpec


def _hidden_block(layers: OrderedDict, i: int, affine: nn.Module, units: int, spec: ModelSpec, conv: bool) -> None:
    bn = (lambda: nn.BatchNorm2d(units)) if conv else (lambda: nn.BatchNorm1d(units))
    prefix = "conv" if conv else "fc"
    if spec.activation == "maxout":
        layers[f"{prefix}{i}"] = activations.Maxout(affine, spec.maxout_k)
        if spec.batchnorm == "after":
            layers[f"bn{i}"] = bn()
    else:
        layers[f"{prefix}{i}"] = affine
        if spec.batchnorm == "before":
            layers[f"bn{i}"] = bn()
        layers[f"act{i}"] = activations.make(spec, units)
        if spec.batchnorm == "after":
            layers[f"bn{i}"] = bn()
    if spec.dropout > 0:
        layers[f"drop{i}"] = (nn.Dropout2d if conv else nn.Dropout)(spec.dropout)


def n_outputs(data: Dataset) -> int:
    return data.n_classes if data.task == "multiclass" else 1


def mlp(spec: ModelSpec, n_in: int, n_out: int) -> nn.Sequential:
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    k = spec.maxout_k if spec.activation == "maxout" else 1
    width = n_in
    for i, units in enumerate(spec.hidden, start=1):
        _hidden_block(layers, i, nn.Linear(width, units * k), units, spec, conv=False)
        width = units
    layers["out"] = nn.Linear(width, n_out)
    return nn.Sequential(layers)


def cnn(spec: ModelSpec, in_shape: tuple[int, ...], n_out: int) -> nn.Sequential:
    """Conv blocks (3x3 conv, activation, 2x2 max-pool), then the MLP head of ``spec.hidden``."""
    c, h, w = in_shape
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    k = spec.maxout_k if spec.activation == "maxout" else 1
    for i, ch in enumerate(spec.channels, start=1):
        if min(h, w) < 2:
            image = f"{in_shape[1]}x{in_shape[2]}"
            raise SpecError("model.channels",
                            f"{len(spec.channels)} conv blocks pool a {image} image below 1x1; use at most {i - 1}")
        _hidden_block(layers, i, nn.Conv2d(c, ch * k, 3, padding=1), ch, spec, conv=True)
        layers[f"pool{i}"] = nn.MaxPool2d(2)
        c, h, w = ch, h // 2, w // 2
    layers["flatten"] = nn.Flatten()
    width = c * h * w
    j0 = len(spec.channels)
    for j, units in enumerate(spec.hidden, start=j0 + 1):
        _hidden_block(layers, j, nn.Linear(width, units * k), units, spec, conv=False)
        width = units
    layers["out"] = nn.Linear(width, n_out)
    return nn.Sequential(layers)


def build(spec: ModelSpec, data: Dataset) -> nn.Module:
    """The network for ``data``, initialized by ``spec.init``."""
    kind = spec.kind
    if kind == "auto":
        kind = "cnn" if data.is_image else "mlp"
    if kind == "cnn" and not data.is_image:
        raise SpecError("model.kind", "cnn needs image data (dataset digits); this dataset is a table")
    if kind == "mlp":
        model = mlp(spec, data.n_inputs, n_outputs(data))
        if data.is_image:
            model = nn.Sequential(OrderedDict([("flatten", nn.Flatten()), *model.named_children()]))
    else:
        model = cnn(spec, tuple(data.x_train.shape[1:]), n_outputs(data))
    init.apply(model, spec)
    return model
