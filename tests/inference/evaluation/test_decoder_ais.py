"""Decoder AIS and its reverse against the exact log-likelihood of probabilistic PCA."""

import math

import pytest
import torch
from scipy import stats

from inference.evaluation.decoder_ais import decoder_ais, reverse_decoder_ais, sigmoid_schedule

pytestmark = pytest.mark.usefixtures("one_thread")
ALPHA = 1e-3  # failure rate of each example's check (Bonferroni over the examples below)
D, d, SIGMA, N = 8, 3, 0.5, 6


@pytest.fixture(scope="module")
def ppca():
    g = torch.Generator().manual_seed(0)
    W = torch.randn(D, d, generator=g, dtype=torch.float64)
    mu = torch.randn(D, generator=g, dtype=torch.float64)

    def log_lik(z, x):
        r = x - (z @ W.t() + mu)
        return -0.5 * r.square().sum(-1) / SIGMA ** 2 - D * (math.log(SIGMA) + 0.5 * math.log(2 * math.pi))

    z = torch.randn(N, d, generator=g, dtype=torch.float64)
    x = z @ W.t() + mu + SIGMA * torch.randn(N, D, generator=g, dtype=torch.float64)
    exact = torch.distributions.MultivariateNormal(mu, W @ W.t() + SIGMA ** 2 * torch.eye(D, dtype=torch.float64))
    P = W.t() @ W / SIGMA ** 2 + torch.eye(d, dtype=torch.float64)
    S = torch.linalg.inv(P)
    post_mean = (x - mu) @ W / SIGMA ** 2 @ S
    z_post = post_mean[:, None] + torch.randn(N, 64, d, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(S).t()
    return log_lik, x, exact.log_prob(x), z_post


def test_forward_and_reverse_ais_bracket_the_exact_log_likelihood(ppca):
    log_lik, x, exact, z_post = ppca
    z_crit = stats.norm.isf(ALPHA / (2 * N))
    fwd = decoder_ais(log_lik, d, x, n_chains=64, n_steps=300)
    rev = reverse_decoder_ais(log_lik, z_post, x, n_steps=300)
    assert fwd.direction == "forward" and rev.direction == "reverse" and fwd.log_likelihood.shape == (N,)
    for est in (fwd, rev):
        assert bool(((est.log_likelihood - exact).abs() < z_crit * est.sem + 0.05).all()), (est.log_likelihood, exact)
    assert 0.3 < fwd.accept < 0.95 and bool((fwd.ess > 1).all())
    gap = rev.log_likelihood - fwd.log_likelihood  # the bracket: ≥ 0 in expectation
    assert float(gap.mean()) > -z_crit * float((fwd.sem.square() + rev.sem.square()).mean().sqrt()) / math.sqrt(N)


def test_the_schedule_and_bad_input():
    b = sigmoid_schedule(10)
    assert b[0] == 0 and b[-1] == 1 and bool((b[1:] > b[:-1]).all())
    with pytest.raises(ValueError, match="x must be a floating tensor"):
        decoder_ais(lambda z, x: z.sum(-1), 2, torch.zeros(3))
    with pytest.raises(ValueError, match="no rows"):
        decoder_ais(lambda z, x: z.sum(-1), 2, torch.zeros(0, 3))
    with pytest.raises(TypeError, match="log_lik must be a callable"):
        decoder_ais(5, 2, torch.zeros(2, 3))
    with pytest.raises(ValueError, match="z_posterior must have shape"):
        reverse_decoder_ais(lambda z, x: z.sum(-1), torch.zeros(2, 3), torch.zeros(2, 3))


def test_decoder_ais_of_a_vae_through_its_family_matches_a_long_importance_estimate():
    from inference import importance_log_likelihood
    from inference.families import family_of
    from models import VAE, SigmoidBeliefNet

    vae = VAE(6, 8, 2, seed=0).double()
    with torch.no_grad():
        for p in vae.decoder.parameters():
            p.mul_(3)  # a posterior narrower than the prior, so that the estimates have work to do
    x = torch.bernoulli(torch.full((4, 6), 0.5, dtype=torch.float64), generator=torch.Generator().manual_seed(0))
    log_lik, n_latent = family_of(vae).decoder(vae)
    ais = decoder_ais(log_lik, n_latent, x, n_chains=32, n_steps=200)
    iwae = importance_log_likelihood(vae, x, 5000, seed=0, progress=False)
    z_crit = stats.norm.isf(ALPHA / 4)
    assert float(ais.mean) >= float(iwae.mean) - z_crit * float(ais.sem.max()) - 0.02
    assert abs(float(ais.mean) - float(iwae.mean)) < 0.2
    assert family_of(SigmoidBeliefNet([6, 3])).decoder(SigmoidBeliefNet([6, 3])) is None  # binary latents


def test_a_traced_run_is_the_same_run_and_draws(ppca, tmp_path):
    from inference.evaluation.decoder_ais import plot_decoder_ais

    log_lik, x, _, _ = ppca
    plain = decoder_ais(log_lik, d, x[:2], n_chains=4, n_steps=30)
    traced = decoder_ais(log_lik, d, x[:2], n_chains=4, n_steps=30, checkpoints=10)
    torch.testing.assert_close(plain.log_likelihood, traced.log_likelihood)
    assert traced.trace["log_w"].shape == (10, 8) and float(traced.trace["betas"][-1]) == 1.0
    fig = plot_decoder_ais(traced, 1, path=tmp_path / "ais.png")
    assert len(fig.axes) == 3 and (tmp_path / "ais.png").stat().st_size > 0
    with pytest.raises(ValueError, match="no trace"):
        plot_decoder_ais(plain)


def _linear_gaussian():
    """Validation rows of x = W z + mu + 0.2 ε, the decoder's log_lik at each σ, and the
    exact mean log N(x; mu, W Wᵀ + σ² I) of the rows at σ."""
    g = torch.Generator().manual_seed(1)
    W = torch.randn(D, d, generator=g, dtype=torch.float64)
    mu = torch.randn(D, generator=g, dtype=torch.float64)
    valid = torch.randn(12, d, generator=g, dtype=torch.float64) @ W.t() + mu \
        + 0.2 * torch.randn(12, D, generator=g, dtype=torch.float64)

    def log_lik_of_sigma(s):
        return lambda z, x: torch.distributions.Normal(z @ W.t() + mu, s).log_prob(x).sum(-1)

    def exact(s):
        cov = W @ W.t() + s ** 2 * torch.eye(D, dtype=torch.float64)
        return float(torch.distributions.MultivariateNormal(mu, cov).log_prob(valid).mean())

    return valid, log_lik_of_sigma, exact


def test_choose_sigma_picks_the_exact_maximiser_of_the_validation_likelihood():
    """A linear-Gaussian decoder, x = W z + mu + σ ε: log p(x) = log N(x; mu, W Wᵀ + σ² I)
    exactly under each σ of the grid; the σ chosen by decoder AIS is the exact argmax."""
    from inference.evaluation.decoder_ais import choose_sigma

    valid, log_lik_of_sigma, exact_at = _linear_gaussian()
    grid = (0.05, 0.1, 0.2, 0.3, 0.5)
    exact = {s: exact_at(s) for s in grid}
    choice = choose_sigma(log_lik_of_sigma, d, valid, grid, n_chains=16, n_steps=200)
    assert choice.sigma == max(grid, key=exact.get) == 0.2
    assert list(choice.scores) == list(grid)
    for s in grid[1:]:  # the annealed estimate is close to exact (σ = 0.05: a sharp posterior, a looser bound)
        assert abs(choice.scores[s] - exact[s]) < 1.0, (s, choice.scores[s], exact[s])
    with pytest.raises(ValueError, match="sigmas"):
        choose_sigma(log_lik_of_sigma, d, valid, (0.1, 0.0))


@pytest.mark.parametrize("grid, visited", [
    ((0.05, 0.1, 0.2, 0.3, 0.5), (0.1, 0.2, 0.3)),  # the best in the middle: its two neighbours only
    ((0.5, 0.1, 0.2, 0.3, 0.8), (0.1, 0.2, 0.3, 0.5)),  # unsorted, the best below the middle: a climb down
])
def test_choose_sigma_climb_finds_the_grid_maximum_scoring_only_the_sigmas_it_visits(grid, visited):
    """A decoder whose output ignores z (g(z) = mu): every AIS weight is p(x) exactly, so the
    scores are the exact mean log N(x; mu, σ² I), unimodal in σ (best at 0.2 for rows
    mu + 0.2 ε). The climb from the middle σ of the sorted grid stops at the grid's best
    and runs AIS only at the σ it passed, each once."""
    from inference.evaluation.decoder_ais import choose_sigma

    g = torch.Generator().manual_seed(2)
    mu = torch.randn(D, generator=g, dtype=torch.float64)
    valid = mu + 0.2 * torch.randn(20, D, generator=g, dtype=torch.float64)
    runs = []

    def log_lik_of_sigma(s):
        runs.append(s)
        return lambda z, x: torch.distributions.Normal(mu, s).log_prob(x).sum(-1) + 0.0 * z.sum(-1)

    def exact(s):
        return float(torch.distributions.Normal(mu, s).log_prob(valid).sum(-1).mean())

    climb = choose_sigma(log_lik_of_sigma, d, valid, grid, n_chains=2, n_steps=3, search="climb")
    assert climb.sigma == max(grid, key=exact) == 0.2
    assert sorted(runs) == list(visited)
    assert list(climb.scores) == [s for s in grid if s in visited]  # in grid order
    for s in visited:
        assert climb.scores[s] == pytest.approx(exact(s), abs=1e-9)
    with pytest.raises(ValueError, match="search must be 'grid' or 'climb', got 'walk'"):
        choose_sigma(log_lik_of_sigma, d, valid, grid, search="walk")
