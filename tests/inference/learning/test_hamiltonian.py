"""The persistent HMC negative phase: it leaves p(v) invariant, it trains through fit with
P kept in its constraint set, and a resumed run is bit-identical."""

from __future__ import annotations

import pytest
import torch

from inference import fit
from inference.learning import PersistentHMC
from inference.partition.exact import enumerate_states
from models.energy import MeanCovarianceRBM
from tests.models.test_covariance_models import random_mcrbm


def _exact_moments(model):
    """E[v] and E[vvᵀ] of a tiny mcRBM: enumerate h, p(h) ∝ exp(−F(h)), v | h Gaussian."""
    with torch.no_grad():
        states = enumerate_states(model, ("hc", "hm"), 0, 2 ** (model.n_covariance + model.n_mean))
        w = torch.softmax(-model.free_energy_hidden(states["hc"], states["hm"]), 0)
        dist = model.conditional("v", states)
        mean = (w[:, None] * dist.loc).sum(0)
        second = (w[:, None, None] * (dist.covariance_matrix + dist.loc[:, :, None] * dist.loc[:, None, :])).sum(0)
    return mean, second


def _exact_samples(model, n, gen):
    with torch.no_grad():
        states = enumerate_states(model, ("hc", "hm"), 0, 2 ** (model.n_covariance + model.n_mean))
        w = torch.softmax(-model.free_energy_hidden(states["hc"], states["hm"]), 0)
        idx = torch.multinomial(w, n, replacement=True, generator=gen)
        dist = model.conditional("v", {k: x[idx] for k, x in states.items()})
        eps = torch.randn(n, model.n_visible, generator=gen, dtype=torch.float64)
        return dist.loc + (dist.scale_tril @ eps[..., None])[..., 0]


def test_hmc_negative_phase_leaves_p_v_invariant():
    """Chains started at exact draws of p(v) stay distributed as p(v) after the rule's
    transitions (fixed step size: no adaptation): first and second moments within 5
    standard errors (a false alarm about once in 10^5 per moment; fixed seeds)."""
    model = random_mcrbm(n_visible=2, n_factors=3, n_covariance=2, n_mean=2, seed=5)
    gen = torch.Generator().manual_seed(0)
    n = 2000
    start = _exact_samples(model, n, gen)
    rule = PersistentHMC(k=3, n_leapfrog=5, step_size=0.25, adapt_rate=0.0, generator=gen)
    rule.init_chains(model, start)
    rule.grad(model, start)
    z = rule.chains.z
    assert 0.3 < float(rule.chains.accepted.mean()) / 3 < 1.0
    mean, second = _exact_moments(model)
    se_mean = (second.diagonal() - mean.square()).sqrt() / n ** 0.5
    assert ((z.mean(0) - mean).abs() < 5 * se_mean).all()
    prods = z[:, :, None] * z[:, None, :]
    se_second = prods.reshape(n, -1).std(0) / n ** 0.5
    assert ((prods.mean(0) - second).reshape(-1).abs() < 5 * se_second).all()


def _data(n=60, d=4, seed=0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


def test_fit_trains_by_hmc_and_keeps_p_in_its_constraint_set():
    model = MeanCovarianceRBM(4, 3, 2, 2, seed=0)
    history = fit(model, _data(), epochs=2, batch_size=20, progress=False, hmc=PersistentHMC(n_leapfrog=3))
    assert model.default_method == "hmc" and history.hmc_accept[-1] is not None
    assert 0 < history.hmc_accept[-1] <= 1 and history.hmc_step_size[-1] > 0
    assert bool((model.P >= 0).all())
    torch.testing.assert_close(model.P.sum(0), torch.ones(2))


def test_fit_hmc_resumes_bit_identically(tmp_path):
    data = _data()
    opts = dict(batch_size=20, progress=False, hmc=PersistentHMC(n_leapfrog=3), seed=3, monitor=0)
    whole = MeanCovarianceRBM(4, 3, 2, 2, seed=0)
    fit(whole, data, epochs=3, **opts)
    part = MeanCovarianceRBM(4, 3, 2, 2, seed=0)
    fit(part, data, epochs=3, checkpoint=tmp_path / "run.pt", callbacks=lambda epoch, h, m: epoch == 1, **opts)
    ckpt = torch.load(tmp_path / "run.pt", weights_only=True)
    assert ckpt["estimator"]["chains"]["z"].shape == (20, 4)
    resumed = MeanCovarianceRBM(4, 3, 2, 2, seed=0)
    fit(resumed, data, epochs=3, checkpoint=tmp_path / "run.pt", resume=True, **opts)
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name


def test_hmc_applies_to_real_visible_units_with_a_free_energy_only():
    from models.energy import RBM

    with pytest.raises(TypeError, match="method 'hmc'"):
        fit(RBM(4, 2), torch.zeros(10, 4), method="hmc", epochs=1, progress=False)


@pytest.mark.parametrize("method", ["pcd", "cd"])
def test_block_gibbs_trains_the_mpot_too(method):
    """The full-covariance Gaussian and the Gamma conditionals drawn with the run's generator."""
    from models.energy import MPoT

    model = MPoT(4, 3, n_mean=2, seed=0)
    history = fit(model, _data(), method=method, epochs=1, batch_size=20, progress=False, monitor=0)
    assert len(history) == 1 and all(bool(torch.isfinite(p).all()) for p in model.parameters())
