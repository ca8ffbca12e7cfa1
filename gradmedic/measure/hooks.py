"""Forward hooks, attached together and always removed together (fastai's ``Hooks``).

The monitor installs its hooks through :class:`Hooks` for every sampled forward pass and removes them
after; :func:`capture_outputs` is the same mechanism for one pass through a network (the experiments'
probes of a freshly built network), so there is one way gradmedic hooks into a model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import nn


class Hooks:
    """A set of forward hooks removed by one :meth:`remove` (or at the end of a ``with`` block)."""

    def __init__(self) -> None:
        self._handles: list = []

    def output(self, module: nn.Module, fn: Callable) -> None:
        """``fn(module, args, output)`` after each forward of ``module``."""
        self._handles.append(module.register_forward_hook(fn))

    def input(self, module: nn.Module, fn: Callable) -> None:
        """``fn(module, args)`` before each forward of ``module``."""
        self._handles.append(module.register_forward_pre_hook(fn))

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def __bool__(self) -> bool:
        return bool(self._handles)

    def __enter__(self) -> Hooks:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


@contextmanager
def capture_outputs(modules: Iterable[tuple[str, nn.Module]], *, retain_grad: bool = False) -> Iterator[dict[str, torch.Tensor]]:
    """While the block runs, the last floating-point output of each named module lands in the yielded dict
    (kept in the graph: with ``retain_grad`` its ``.grad`` holds dLoss/d(output) after ``backward()``)."""
    outs: dict[str, torch.Tensor] = {}

    def keep(name: str):
        def hook(module, args, out):
            if isinstance(out, torch.Tensor) and out.is_floating_point():
                if retain_grad and out.requires_grad:
                    out.retain_grad()  # the gradient w.r.t. the output: what backprop hands the layer below
                outs[name] = out
        return hook

    with Hooks() as hooks:
        for name, m in modules:
            hooks.output(m, keep(name))
        yield outs
