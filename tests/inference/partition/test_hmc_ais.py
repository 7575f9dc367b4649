"""AIS with HMC transitions on the annealed free energy against the exact oracles: the
mcRBM's enumeration of its hidden units and the mPoT's quadrature."""

from __future__ import annotations

import pytest
import torch

from inference.partition import exact_log_partition, hmc_ais_log_partition, quadrature_log_partition
from inference.partition.hmc_ais import gaussian_base
from tests.models.test_covariance_models import random_mcrbm, random_mpot


@pytest.mark.parametrize("which", ["mcrbm", "mpot"])
def test_hmc_ais_brackets_the_exact_log_z(which):
    """The exact log Z lies in AIS's ±3 standard-error bracket (widened by 0.02 nats for
    the bias of a finite schedule; fixed seeds)."""
    if which == "mcrbm":
        model = random_mcrbm(n_visible=3, n_factors=4, n_covariance=3, n_mean=2, seed=6)
        exact = exact_log_partition(model).log_z
    else:
        model = random_mpot(n_visible=2, n_factors=3, n_covariance=2, n_mean=2, seed=7)
        exact = quadrature_log_partition(model, n_points=401).log_z
    data = torch.randn(500, model.n_visible, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    est = hmc_ais_log_partition(model, n_chains=100, n_steps=100, data=data, n_leapfrog=5, seed=0)
    assert est.method == "ais-hmc" and est.n_chains == 100 and est.ess > 30
    assert est.lower - 0.02 <= exact <= est.upper + 0.02, (est, exact)


def test_gibbs_ais_with_the_full_covariance_conditional_agrees_on_the_mcrbm():
    """The generic AIS (Gibbs transitions: the hidden units given v, then v from its
    MultivariateNormal conditional times the base factor) brackets the exact log Z too."""
    from inference.partition import ais_log_partition

    model = random_mcrbm(n_visible=3, n_factors=4, n_covariance=3, n_mean=2, seed=6, dtype=torch.float32)
    exact = exact_log_partition(model).log_z
    data = torch.randn(300, 3, generator=torch.Generator().manual_seed(2))
    est = ais_log_partition(model, n_chains=100, betas=torch.linspace(0, 1, 301, dtype=torch.float64), data=data,
                            progress=False)
    assert est.lower - 0.02 <= exact <= est.upper + 0.02, (est, exact)


def test_the_data_base_is_computed_on_the_datas_device():
    """The base fitted to data stays on the data's device: with the default device elsewhere
    ('meta' here, the CPU beside a GPU model), a tensor made without ``device=`` would meet
    the data on another device and the sum would raise."""
    model = random_mcrbm(seed=6)
    data = torch.randn(50, model.n_visible, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    with torch.device("meta"):
        mean, cov = gaussian_base(model, "data", data)
    assert mean.device == cov.device == data.device
    centred = data - data.mean(0)
    assert torch.allclose(cov, centred.T @ centred / 50 + 1e-6 * torch.eye(model.n_visible, dtype=torch.float64))
