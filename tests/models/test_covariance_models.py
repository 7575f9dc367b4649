"""The mcRBM and the mPoT against oracles: free energies against integration over the
hidden units, exact log Z against quadrature, P's constraint. (Their energy-model contract
runs in ``test_energy_contract.py``.)"""

from __future__ import annotations

import math

import pytest
import torch

from inference.partition import exact_log_partition, quadrature_log_partition
from models.energy import MeanCovarianceRBM, MPoT


def random_covariance_model(cls, n_visible, n_factors, n_covariance, n_mean, seed=0, scale=0.6,
                            dtype=torch.float64):
    """A tiny mcRBM or mPoT with every parameter drawn at random (P non-negative, projected)."""
    model = cls(n_visible, n_factors, n_covariance, n_mean, seed=seed)
    gen = torch.Generator().manual_seed(seed + 100)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "P":
                p.copy_(torch.rand(p.shape, generator=gen) + 0.1)
            elif name == "gamma":
                p.copy_(torch.rand(p.shape, generator=gen) * 1.5 + 0.5)
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * scale)
    model.project_parameters()
    return model.to(dtype)


def random_mcrbm(n_visible=3, n_factors=4, n_covariance=3, n_mean=2, seed=0, dtype=torch.float64):
    return random_covariance_model(MeanCovarianceRBM, n_visible, n_factors, n_covariance, n_mean, seed, dtype=dtype)


def random_mpot(n_visible=2, n_factors=3, n_covariance=2, n_mean=2, seed=0, dtype=torch.float64):
    return random_covariance_model(MPoT, n_visible, n_factors, n_covariance, n_mean, seed, dtype=dtype)


@pytest.mark.parametrize("beta", [1.0, 0.5])
def test_mpot_free_energy_integrates_the_gamma_units(beta):
    """F_β(v) = −log Σ_{h^m} ∫ exp(−β E(v, h^c, h^m)) dh^c: the Gamma units are independent
    given v, so a 1-D integral per unit (in log h, on a fine grid) times the mean units' sum."""
    model = random_mpot(seed=1)
    v = torch.randn(4, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    u = torch.linspace(-30, 8, 8001, dtype=torch.float64)  # h = e^u, dh = e^u du
    h = u.exp()
    with torch.no_grad():
        s = model.factor_responses(v)  # (4, N)
        total = torch.zeros(4, dtype=torch.float64)
        for k in range(model.n_covariance):
            log_f = -beta * (h * (1 + 0.5 * s[:, k:k + 1]) + (1 - model.gamma[k]) * u) + u
            total += torch.logsumexp(log_f, 1) + math.log(float(u[1] - u[0]))
        total += torch.nn.functional.softplus(beta * model.mean_logits(v)).sum(-1)
        total -= beta * (0.5 * v.square().sum(-1) - v @ model.b)
        torch.testing.assert_close(model.free_energy(v, beta), -total, rtol=0, atol=1e-7)


def test_mcrbm_exact_log_z_equals_quadrature():
    """Enumerating the hidden units with v integrated out as a Gaussian (F(h) in closed form)
    equals integrating exp(−F(v)) over v on a grid: both halves of the model's algebra."""
    model = random_mcrbm(n_visible=2, n_factors=3, n_covariance=2, n_mean=2, seed=3)
    exact = exact_log_partition(model)
    quad = quadrature_log_partition(model, n_points=301)
    assert exact.method == "exact"
    assert abs(exact.log_z - quad.log_z) < 1e-8


def test_mpot_quadrature_converges():
    model = random_mpot(n_visible=1, n_factors=2, n_covariance=2, n_mean=1, seed=4)
    coarse, fine = quadrature_log_partition(model, n_points=201), quadrature_log_partition(model, n_points=2001)
    assert abs(coarse.log_z - fine.log_z) < 1e-8


def test_projection_keeps_p_non_negative_with_unit_columns():
    model = MeanCovarianceRBM(4, 3, 5, 2, seed=0)
    with torch.no_grad():
        model.P.copy_(torch.tensor([[1.0, -1, 0, 2, -3], [0.5, -1, 0, 2, -3], [0.0, -2, 0, 0, -1]]))
    model.project_parameters()
    assert bool((model.P >= 0).all())
    torch.testing.assert_close(model.P.sum(0), torch.ones(5))
    torch.testing.assert_close(model.P[:, 1], torch.full((3,), 1 / 3))  # all clipped: restarts uniform


def test_pixel_map_draws_filters_and_samples_as_pixels():
    from pgm.image_patches import load_patches

    x, t = load_patches(n=300, return_transform=True)
    model = MeanCovarianceRBM.from_data(x, 8, n_mean=4, seed=0, pixel_map=t.dewhiten_matrix)
    assert model.config()["n_pixels"] == 64
    clone = MeanCovarianceRBM(**model.config())
    clone.load_state_dict(model.state_dict())
    torch.testing.assert_close(clone.to_pixels(x[:3]), t.dewhiten(x[:3]) - t.mean.float(), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("cls", [MeanCovarianceRBM, MPoT])
def test_visible_conditional_factorised_in_blocks_of_rows_equals_all_at_once(cls, monkeypatch):
    """The float64 factorisation runs over blocks of rows (bounded temporaries at MNIST size);
    blocks of 3 rows give the one-block result, β per row included."""
    import models.energy.factored as factored

    model = cls(5, 4, 3, n_mean=2, seed=0).double()
    gen = torch.Generator().manual_seed(0)
    state = {"hc": torch.rand(8, 3, generator=gen, dtype=torch.float64) + (0.5 if cls is MPoT else 0.0),
             "hm": torch.bernoulli(torch.full((8, 2), 0.5, dtype=torch.float64), generator=gen)}
    if cls is MeanCovarianceRBM:
        state["hc"] = torch.bernoulli(state["hc"], generator=gen)
    beta = torch.linspace(0.2, 1.0, 8, dtype=torch.float64)
    whole = model.conditional("v", state, beta)
    monkeypatch.setattr(factored, "_CHOLESKY_ELEMENTS", 3 * 5 * 5)
    blocks = model.conditional("v", state, beta)
    torch.testing.assert_close(blocks.loc, whole.loc, rtol=0, atol=1e-12)
    torch.testing.assert_close(blocks.scale_tril, whole.scale_tril, rtol=0, atol=1e-12)
