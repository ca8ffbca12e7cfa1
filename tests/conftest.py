"""Test-wide settings and fixtures."""

from pathlib import Path

import pytest
import torch

from gradmedic import spec as S

# The tests train tiny networks (tens of units): one intra-op thread is faster than two for them, and on a
# shared 2-core machine two threads per process oversubscribe the cores and spin (measured here: a test
# file at 5 min CPU with two threads under load).  Compare's workers set their own single thread.
torch.set_num_threads(1)

# Seed 004's vanishing-gradient network, written once: 5 hidden layers of 5 sigmoid units with N(0, 1)
# weights on noisy circles (min-max scaled), SGD 0.01 with momentum 0.9, batch 32, 300 epochs.
SEED004_VANISHING = Path(__file__).resolve().parents[1] / "examples" / "seed004_vanishing.toml"


@pytest.fixture
def seed004_file() -> Path:
    """examples/seed004_vanishing.toml: pass it to the CLI with flags that shorten it (``--epochs 20``)."""
    return SEED004_VANISHING


@pytest.fixture
def seed004():
    """Seed 004's vanishing spec with flat field changes: ``seed004(epochs=20)``.  20 epochs (320 steps)
    are enough for the doctor to be sure of vanishing_gradients."""

    def make(**changes) -> S.Spec:
        return S.override(S.load(SEED004_VANISHING), changes)

    return make
