"""The training spec: one validated, serializable description of data, model and training.

Field names follow the seeds (``he_uniform``, ``nesterov``, ``mean_image``) and are unique across
sections, so each field is also a CLI flag (``--lr``, ``--batch-size``).  Defaults are the seeds'
defaults; where a default depends on another field (the learning rate on the optimizer) it is
``None`` here and resolved by :func:`resolve`.
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gradmedic.errors import SpecError

BUILTIN_DATASETS = ("circles", "moons", "blobs", "spirals", "regression", "digits")
Normalize = Literal["none", "center", "standard", "minmax", "channel_mean", "mean_image"]
Activation = Literal["sigmoid", "tanh", "relu", "leaky_relu", "rrelu", "prelu", "elu", "selu", "maxout"]
Init = Literal[
    "default", "zeros", "constant", "normal", "uniform", "glorot_normal", "glorot_uniform",
    "he_normal", "he_uniform", "he_avg_normal", "he_avg_uniform", "lecun_normal", "lecun_uniform",
    "orthogonal",
]
BatchNorm = Literal["none", "before", "after"]
Optimizer = Literal["gd", "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"]
Loss = Literal["auto", "bce", "cross_entropy", "mse", "mae", "huber"]
Schedule = Literal["none", "step", "exponential", "cosine", "plateau"]
Device = Literal["auto", "cpu", "cuda"]

# Seed 002 §7.3 and seed 001: the update rules' usual hyperparameters.
OPTIMIZER_DEFAULT_LR = {
    "gd": 0.01, "sgd": 0.01, "momentum": 0.01, "nesterov": 0.01,
    "adagrad": 0.01,   # seed 002 §7.3.3: "eta is usually defaulted to 0.01"
    "rmsprop": 0.001, "adam": 0.001, "adamw": 0.001,
}
# torch.optim class names (what a user's own loop reports) -> the names above
TORCH_OPTIMIZERS = {"SGD": "sgd", "Adagrad": "adagrad", "RMSprop": "rmsprop", "Adam": "adam", "AdamW": "adamw"}
# optimizers a spec does not offer, at torch.optim's documented default rate (Adadelta's 1.0: Zeiler 2012 has no rate;
# pytorch/examples mnist trains it at 1.0)
TORCH_ONLY_DEFAULT_LR = {"Adadelta": 1.0, "Adamax": 2e-3, "NAdam": 2e-3, "RAdam": 1e-3, "ASGD": 0.01}
DEFAULT_MOMENTUM = 0.9  # seed 002 §7.3.1: "rho is usually set to the neighborhood of 0.9"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataSpec(_Section):
    dataset: str = Field("circles", description="built-in dataset (" + ", ".join(BUILTIN_DATASETS) + ") or a CSV file path")
    target: str | None = Field(None, description="target column of a CSV file (default: the last column)")
    n_samples: int | None = Field(None, gt=0, description="samples to generate (default 1000; digits: all 1797)")
    noise: float | None = Field(None, ge=0, description="generator noise (circles 0.1, moons 0.1, spirals 0.2, regression 0.1)")
    n_features: int | None = Field(None, gt=0, description="features for regression (20) and blobs (2)")
    n_classes: int | None = Field(None, ge=2, description="classes for blobs (3) and spirals (2)")
    data_seed: int = Field(1, description="random_state of the generator and of the CSV/digits shuffle")
    test_fraction: float = Field(0.5, gt=0, lt=1, description="share of rows held out for test (the last rows)")
    normalize: Normalize = Field("none", description="input normalization, fitted on the training split only")
    standardize_target: bool = Field(False, description="standardize a regression target (train statistics)")


class ModelSpec(_Section):
    kind: Literal["auto", "mlp", "cnn"] = Field("auto", description="network type (auto: cnn for image data given as images)")
    hidden: list[int] = Field([32, 32], description="hidden layer sizes, e.g. 32,32")
    channels: list[int] = Field([8, 16], description="CNN convolution channels, one 3x3 conv + 2x2 max-pool each")
    activation: Activation = Field("relu", description="hidden activation")
    leaky_slope: float = Field(0.01, ge=0, lt=1, description="negative slope of leaky_relu")
    elu_alpha: float = Field(1.0, gt=0, description="alpha of elu")
    rrelu_lower: float = Field(1 / 8, ge=0, lt=1, description="lower bound of rrelu's random slope")
    rrelu_upper: float = Field(1 / 3, ge=0, lt=1, description="upper bound of rrelu's random slope")
    maxout_k: int = Field(2, ge=2, description="affine pieces per maxout unit")
    init: Init = Field("default", description="weight init (default: PyTorch's own)")
    init_std: float = Field(0.01, gt=0, description="std of init=normal")
    init_a: float = Field(-0.05, description="lower bound of init=uniform")
    init_b: float = Field(0.05, description="upper bound of init=uniform")
    init_value: float = Field(0.0, description="value of init=constant")
    bias_init: float = Field(0.0, description="constant bias init (ignored with init=default)")
    batchnorm: BatchNorm = Field("none", description="batch normalization before or after each hidden activation")
    dropout: float = Field(0.0, ge=0, lt=1, description="dropout probability after each hidden activation")

    @field_validator("hidden", "channels", mode="before")
    @classmethod
    def _parse_sizes(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [s for s in v.replace(" ", "").split(",") if s]
            try:
                return [int(s) for s in v]
            except ValueError:
                raise ValueError("must be comma-separated whole numbers, e.g. 32,32") from None
        if isinstance(v, int):
            return [v]
        return v

    @field_validator("hidden", "channels")
    @classmethod
    def _positive_sizes(cls, v: list[int]) -> list[int]:
        if any(n < 1 for n in v):
            raise ValueError("sizes must be whole numbers >= 1")
        return v

    @model_validator(mode="after")
    def _check(self) -> ModelSpec:
        if self.init == "uniform" and not self.init_a < self.init_b:
            raise ValueError("init_a must be below init_b")
        if self.rrelu_lower > self.rrelu_upper:
            raise ValueError("rrelu_lower must not exceed rrelu_upper")
        if self.activation == "maxout" and self.batchnorm == "before":
            raise ValueError("batchnorm=before is undefined for maxout (the max is taken over k affine maps); use after or none")
        return self


class TrainSpec(_Section):
    optimizer: Optimizer = Field("adam", description="gd is full batch; sgd with batch_size 1 is stochastic")
    lr: float | None = Field(None, gt=0,
                             description="learning rate (default: 0.01 for gd/sgd/momentum/nesterov/adagrad, 0.001 for "
                                         "rmsprop/adam/adamw)")
    momentum: float | None = Field(None, ge=0, lt=1, description="momentum rho (momentum/nesterov: 0.9; sgd: 0)")
    rho: float = Field(0.9, gt=0, lt=1, description="RMSProp decay of E[g^2] (seed 002 §7.3.4)")
    beta1: float = Field(0.9, ge=0, lt=1, description="Adam first-moment decay")
    beta2: float = Field(0.999, ge=0, lt=1, description="Adam second-moment decay")
    eps: float | None = Field(None, gt=0, description="denominator epsilon (default: 1e-7 adagrad/rmsprop, 1e-8 adam)")
    loss: Loss = Field("auto", description="loss (auto: bce for 2 classes, cross_entropy for more, mse for regression)")
    l2: float = Field(0.0, ge=0,
                      description="L2 coefficient (weight_decay: adds l2*w to the gradient; adamw: decoupled decay w -= lr*l2*w)")
    clip_norm: float | None = Field(None, gt=0, description="clip the global gradient norm to this value")
    clip_value: float | None = Field(None, gt=0, description="clip each gradient element to [-v, v]")
    schedule: Schedule = Field("none", description="learning-rate annealing (plateau watches the held-out loss)")
    step_size: int = Field(30, ge=1, description="epochs between decays of schedule=step")
    gamma: float = Field(0.1, gt=0, le=1, description="decay factor of step (per step_size) and exponential (per epoch)")
    plateau_patience: int = Field(10, ge=0, description="epochs without improvement before schedule=plateau decays")
    plateau_factor: float = Field(0.1, gt=0, lt=1, description="decay factor of schedule=plateau")
    epochs: int = Field(100, ge=1, description="passes over the training split")
    batch_size: int = Field(32, ge=1, description="mini-batch size (ignored by gd)")
    seed: int = Field(0, description="seed of weights, shuffling and dropout")
    device: Device = Field("auto", description="auto picks cuda when available")
    stats_every: int = Field(25, ge=1,
                             description="record per-layer statistics every N steps (the loss is kept every step); 1 records "
                                         "every step at ~2x the cost of a tiny MLP step")


class Spec(_Section):
    name: str = Field("run", description="run name, used in the run directory")
    data: DataSpec = DataSpec()
    model: ModelSpec = ModelSpec()
    train: TrainSpec = TrainSpec()

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v or any(c in v for c in "/\\\0") or v in (".", ".."):
            raise ValueError("must be a non-empty name without slashes")
        return v


SECTIONS = {"data": DataSpec, "model": ModelSpec, "train": TrainSpec}


def field_section(field: str) -> str | None:
    """The section owning a flat field name (``lr`` -> ``train``); None for top-level fields."""
    for section, cls in SECTIONS.items():
        if field in cls.model_fields:
            return section
    return None


def allowed(section: str | None, field: str) -> tuple[str, ...] | None:
    """The allowed values of a Literal field, or None."""
    cls = SECTIONS[section] if section else Spec
    ann = cls.model_fields[field].annotation
    args = get_args(ann)
    if args and all(isinstance(a, str) for a in args):
        return args
    return None


def _format_error(err: ValidationError) -> SpecError:
    e = err.errors()[0]
    loc = [str(p) for p in e["loc"] if not isinstance(p, int)]
    field = ".".join(loc) or "spec"
    msg = e["msg"]
    if e["type"] == "literal_error" and len(loc) >= 1:
        section = loc[0] if loc[0] in SECTIONS else None
        name = loc[-1]
        choices = allowed(section, name) if section and name in SECTIONS[section].model_fields else None
        if choices:
            msg = f"{e['input']!r} is not one of: " + ", ".join(choices)
    elif e["type"] == "extra_forbidden":
        msg = "unknown field"
        if len(loc) >= 2 and loc[0] in SECTIONS:
            msg += "; allowed: " + ", ".join(SECTIONS[loc[0]].model_fields)
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if e["type"] not in ("literal_error", "extra_forbidden", "missing") and "input" in e and not isinstance(e["input"], dict):
        msg = f"{msg} (got {e['input']!r})"
    return SpecError(field, msg)


def validate(raw: dict[str, Any]) -> Spec:
    """Build a Spec from nested dicts; raise SpecError (one line) when anything is wrong."""
    try:
        spec = Spec.model_validate(raw)
    except ValidationError as err:
        raise _format_error(err) from None
    _check_finite(spec)
    return spec


def _check_finite(spec: Spec) -> None:
    for section in SECTIONS:
        for k, v in getattr(spec, section).model_dump().items():
            if isinstance(v, float) and not math.isfinite(v):
                raise SpecError(f"{section}.{k}", f"must be a finite number (got {v})")


def load(path: str | Path) -> Spec:
    """Read a spec from a TOML or JSON file."""
    path = Path(path)
    if not path.is_file():
        raise SpecError("spec", f"file not found: {path}")
    text = path.read_text()
    try:
        if path.suffix.lower() == ".json":
            raw = json.loads(text)
        else:
            raw = tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as err:
        raise SpecError("spec", f"{path} is not valid {'JSON' if path.suffix.lower() == '.json' else 'TOML'}: {err}") from None
    if not isinstance(raw, dict):
        raise SpecError("spec", f"{path} must hold a table/object with sections data, model, train")
    return validate(raw)


def override(spec: Spec, flat: dict[str, Any]) -> Spec:
    """Apply flat ``field=value`` overrides (CLI flags); values may be strings."""
    raw = spec.model_dump()
    for key, value in flat.items():
        if value is None:
            continue
        key = key.replace("-", "_")
        section = field_section(key)
        if section is None:
            if key not in Spec.model_fields or key in SECTIONS:
                raise SpecError(key, "unknown field")
            raw[key] = value
        else:
            raw[section][key] = value
    return validate(raw)


def to_json(spec: Spec) -> str:
    return json.dumps(spec.model_dump(), indent=2)


def usual_lr(spec: Spec | None = None, optimizer: str | None = None) -> float | None:
    """The optimizer's usual rate (seed 002 §7.3): from a spec, else from a torch.optim class name; None if unknown."""
    if spec is not None:
        return OPTIMIZER_DEFAULT_LR[spec.train.optimizer]
    name = TORCH_OPTIMIZERS.get(str(optimizer))
    return OPTIMIZER_DEFAULT_LR[name] if name else TORCH_ONLY_DEFAULT_LR.get(str(optimizer))


def resolved_lr(spec: Spec) -> float:
    return spec.train.lr if spec.train.lr is not None else OPTIMIZER_DEFAULT_LR[spec.train.optimizer]


def resolve(spec: Spec) -> Spec:
    """Fill the defaults that depend on other fields, so a saved spec says exactly what ran."""
    t = spec.train
    updates: dict[str, Any] = {"lr": resolved_lr(spec)}
    if t.momentum is None:
        updates["momentum"] = DEFAULT_MOMENTUM if t.optimizer in ("momentum", "nesterov") else 0.0
    if t.eps is None:
        updates["eps"] = 1e-8 if t.optimizer in ("adam", "adamw") else 1e-7
    return spec.model_copy(update={"train": t.model_copy(update=updates)})


# -- values as the command line spells them (the flags are the spec's) ------------------------------

def flag_value(v: Any) -> str:
    """A value as the command line takes it: lists with ',' (32,32), booleans in lower case."""
    if isinstance(v, (list, tuple)):
        return ",".join(map(str, v))
    if isinstance(v, bool):
        return str(v).lower()
    return str(v)


def label_value(v: Any) -> str:
    """A grid value in a variant's label and ``--vary``: as ``flag_value``, floats shortest (lr=0.01, clip_norm=1)."""
    return f"{v:g}" if isinstance(v, float) else flag_value(v)
