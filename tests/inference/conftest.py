"""Fixtures for the partition-function and evaluation tests: an RBM trained on digits.

The digits RBM (64 visible, 16 hidden) is small enough for exact log Z (2^16 hidden
states) and trained with the library's default recipe (CD-1, 50 epochs; test log-likelihood about
−18.2 nats) so that AIS faces a realistic, sharply peaked distribution: an AIS test on
it exercises a non-trivial distribution. Session-scoped: tests must not modify it.
"""

import pytest
import torch

from inference.learning.fit import fit
from inference.partition import exact_log_partition
from models.energy import RBM
from pgm.datasets import load_digits


@pytest.fixture(scope="session")
def digits():
    """Binarized training digits, float32 of shape (1438, 64)."""
    return load_digits(split="train")


@pytest.fixture(scope="session")
def digits_rbm(digits):
    """RBM(64, 16) trained by :func:`inference.learning.fit`'s defaults, single-threaded (well
    under a second; a busy machine cannot stall it at thread barriers)."""
    model = RBM.from_data(digits, 16, seed=0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        fit(model, digits, seed=0, monitor=0, progress=False)
    finally:
        torch.set_num_threads(threads)
    model.requires_grad_(False)
    return model


@pytest.fixture(scope="session")
def digits_log_z(digits_rbm):
    """Exact log Z of :func:`digits_rbm` (a LogZEstimate)."""
    return exact_log_partition(digits_rbm)
