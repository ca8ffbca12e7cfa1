"""Test-wide settings."""

import torch

# The tests train tiny networks (tens of units): one intra-op thread is faster than two for them, and on a
# shared 2-core machine two threads per process oversubscribe the cores and spin (measured here: a test
# file at 5 min CPU with two threads under load).  Compare's workers set their own single thread.
torch.set_num_threads(1)
