"""MNIST-1D for the udlbook Chapter 11 ports: greydanus/mnist1d's generation code, kept once in m1ddata.py.

The udlbook notebooks call ``mnist1d.data.get_dataset(args, path='./mnist1d_data.pkl', download=False,
regenerate=False)``: without the pickle on disk that builds the dataset with ``make_dataset(args)``, which is what
``get_dataset`` below does (no pickle is read or written, nothing is downloaded).  The generation itself -
``get_dataset_args``, ``get_templates``, ``make_dataset`` and the transforms of greydanus/mnist1d at commit
7878d96082abd200c546a07a4101fa90b30fdf7e (Apache License 2.0, Copyright Sam Greydanus and Peter Steinbach, see
LICENSE-udlm1d) - is the copy in m1ddata.py, which the mnist1d ports (sets 74) use; the default args (5000 samples, a
4000/1000 train/test split, 40 points per signal, seed 42) are upstream's.  The generated arrays are cached in memory.
"""

from __future__ import annotations

import numpy as np
from m1ddata import ObjectView, get_dataset_args, make_dataset, set_seed  # noqa: F401  (upstream's mnist1d names)

_CACHE: dict = {}


def get_dataset(args=None):
    """upstream: ``get_dataset(args, path=..., download=False, regenerate=False)`` loads the pickle if present, else
    ``make_dataset(args)`` and saves it; here always ``make_dataset(args)``, kept in memory (the global numpy RNG is
    left seeded by it, as upstream's generation leaves it)."""
    args = get_dataset_args() if args is None else args
    key = tuple(sorted((k, str(v)) for k, v in vars(args).items()))
    if key not in _CACHE:
        _CACHE[key] = make_dataset(args)
    d = _CACHE[key]
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in d.items()}
