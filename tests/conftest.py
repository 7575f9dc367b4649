"""Shared test setup: headless matplotlib, Pyro validation on, a fixed seed per test."""

import matplotlib

matplotlib.use("Agg")

import pyro  # noqa: E402
import pytest  # noqa: E402

pyro.enable_validation(True)


@pytest.fixture(autouse=True)
def _seed_and_clean():
    """Seed torch (and numpy/random) and clear Pyro's param store before every test."""
    pyro.set_rng_seed(0)
    pyro.clear_param_store()
    yield
