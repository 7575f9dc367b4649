"""Batched HMC: it leaves its target invariant (moments within standard errors), adapts
its step size toward the target acceptance, and agrees with Pyro's HMC on a Gaussian."""

import math

import pytest
import torch
from scipy import stats

from inference.mcmc import hmc

pytestmark = pytest.mark.usefixtures("one_thread")
ALPHA = 1e-4  # failure rate of each moment test (Bonferroni over the moments)

PREC = torch.tensor([[2.0, 0.6], [0.6, 1.0]], dtype=torch.float64)
MU = torch.tensor([1.0, -2.0], dtype=torch.float64)
COV = torch.linalg.inv(PREC)


def _log_prob(z):
    d = z - MU
    return -0.5 * (d @ PREC * d).sum(-1)


def _exact(n, seed):
    g = torch.Generator().manual_seed(seed)
    return MU + torch.randn(n, 2, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(COV).t()


def _check_moments(z):
    n = z.shape[0]
    z_crit = stats.norm.isf(ALPHA / (2 * 5))
    for i in range(2):  # means: se = sqrt(var / n)
        assert abs(float(z[:, i].mean() - MU[i])) < z_crit * math.sqrt(float(COV[i, i]) / n)
    emp = torch.cov(z.t())
    for i, j in ((0, 0), (1, 1), (0, 1)):  # (co)variances: se of a Gaussian product moment
        se = math.sqrt(float(COV[i, i] * COV[j, j] + COV[i, j] ** 2) / n)
        assert abs(float(emp[i, j] - COV[i, j])) < z_crit * se, (i, j)


def test_hmc_leaves_its_target_invariant():
    """Started from exact draws, any number of fixed-ε steps keeps the exact distribution."""
    g = torch.Generator().manual_seed(1)
    state = hmc.init(_log_prob, _exact(20000, 0), step_size=torch.full((20000,), 0.4, dtype=torch.float64))
    state = hmc.run(_log_prob, state, 5, g, n_leapfrog=4)
    _check_moments(state.z)
    assert 0.5 < float(state.accept.mean()) < 1.0 and state.steps == 5


def test_step_sizes_adapt_toward_the_target_acceptance():
    g = torch.Generator().manual_seed(0)
    state = hmc.init(_log_prob, torch.zeros(500, 2, dtype=torch.float64), step_size=0.05)
    state = hmc.run(_log_prob, state, 300, g, n_leapfrog=5, adapt=True, target_accept=0.65)
    recent = torch.stack([hmc.step(_log_prob, state, g, n_leapfrog=5).accept for _ in range(20)]).mean()
    assert abs(float(recent) - 0.65) < 0.1 and float(state.step_size.mean()) > 0.05
    _check_moments(hmc.run(_log_prob, state, 20, g, n_leapfrog=5).z)


def test_a_diverging_proposal_is_rejected():
    lp = lambda z: -(z.square().sum(-1)) ** 4  # noqa: E731  (steep: a large step overflows)
    state = hmc.init(lp, torch.full((3, 2), 1.0, dtype=torch.float64), step_size=50.0)
    new = hmc.step(lp, state, torch.Generator().manual_seed(0), n_leapfrog=3)
    assert torch.equal(new.z, state.z) and torch.equal(new.accept, torch.zeros(3, dtype=torch.float64))


def test_agrees_with_pyro_s_hmc_on_a_gaussian():
    import pyro
    import pyro.distributions as dist
    from pyro.infer import HMC, MCMC

    def model():
        pyro.sample("z", dist.MultivariateNormal(MU, precision_matrix=PREC))

    pyro.set_rng_seed(0)
    mcmc = MCMC(HMC(model, step_size=0.3, num_steps=5, adapt_step_size=True), num_samples=1500, warmup_steps=300,
                disable_progbar=True)
    mcmc.run()
    theirs = mcmc.get_samples()["z"]
    g = torch.Generator().manual_seed(0)
    state = hmc.run(_log_prob, hmc.init(_log_prob, torch.zeros(1500, 2, dtype=torch.float64), 0.3), 100, g,
                    n_leapfrog=5, adapt=True)
    ours = state.z
    for i in range(2):  # the two sample means agree (Pyro's chain is autocorrelated: a loose 6 standard errors)
        se = math.sqrt(float(COV[i, i]) / 1500 * 10)
        assert abs(float(theirs[:, i].mean() - ours[:, i].mean())) < 6 * se
    torch.testing.assert_close(torch.cov(ours.t()), COV, atol=0.1, rtol=0.0)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="shape \\(chains, d\\)"):
        hmc.init(_log_prob, torch.zeros(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="step_size"):
        hmc.init(_log_prob, torch.zeros(3, 2, dtype=torch.float64), step_size=0.0)
    with pytest.raises(ValueError, match="one value per chain"):
        hmc.init(lambda z: z.sum(), torch.zeros(3, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="NaN"):
        hmc.init(_log_prob, torch.full((3, 2), float("nan"), dtype=torch.float64))
    with pytest.raises(TypeError, match="log_prob must be a callable"):
        hmc.init(5, torch.zeros(3, 2, dtype=torch.float64))
