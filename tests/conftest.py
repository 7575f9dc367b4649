"""Shared test setup: headless matplotlib, Pyro validation on, a fixed seed per test."""

import matplotlib

matplotlib.use("Agg")

import pyro  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

pyro.enable_validation(True)


@pytest.fixture(autouse=True)
def _seed_and_clean():
    """Seed torch (and numpy/random) and clear Pyro's param store before every test."""
    pyro.set_rng_seed(0)
    pyro.clear_param_store()
    yield


@pytest.fixture
def one_thread():
    """Run a test with one torch thread: tiny tensors gain nothing from OpenMP, and on a
    busy machine its thread synchronisation can stall small operations."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
