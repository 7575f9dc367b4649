"""The exact posterior of a small sigmoid belief net (binary latents, where NUTS cannot run)
against brute-force sums; the draws by their means (5 standard errors, failure rate below
1e-6 per unit)."""

import itertools
import math

import pytest
import torch

from inference import exact_posterior
from models import RBM, SigmoidBeliefNet

F64 = torch.float64


def _net():
    return SigmoidBeliefNet([5, 3, 2], weight_std=1.0, seed=0)


def test_values_match_brute_force_sums():
    sbn = _net()
    x = (torch.rand(3, 5, generator=torch.Generator().manual_seed(1)) < 0.5).float()
    post = exact_posterior(sbn, x, num_samples=10)
    net = sbn.double()
    log_p, log_q = [], []
    for bits in itertools.product([0.0, 1.0], repeat=5):
        h = {"h1": torch.tensor(bits[:3], dtype=F64).expand(3, 3), "h2": torch.tensor(bits[3:], dtype=F64).expand(3, 2)}
        log_p.append(net.log_joint(x.double(), h))
        log_q.append(net.guide_log_prob(x.double(), h))
    log_p, log_q = torch.stack(log_p, 1), torch.stack(log_q, 1)
    want = torch.logsumexp(log_p, 1)
    assert torch.allclose(post.log_likelihood, want, atol=1e-10)
    assert torch.allclose(post.elbo, (log_q.exp() * (log_p - log_q)).sum(1), atol=1e-10)
    assert (post.gap >= 0).all()  # KL(q || p) ≥ 0


def test_draws_follow_the_posterior_and_convert_to_arviz():
    sbn = _net()
    x = (torch.rand(2, 5, generator=torch.Generator().manual_seed(2)) < 0.5).float()
    n = 4000
    post = exact_posterior(sbn, x, num_samples=n, seed=3)
    for site in ("h1", "h2"):
        p = post.marginals[site]
        drawn = post.samples[site].double().mean(0)
        assert ((drawn - p).abs() <= 5 * (p * (1 - p) / n).sqrt() + 1e-12).all()
    nuts_like, guide = post.to_inference_data(n_chains=2)
    assert nuts_like.posterior.h1.shape == (2, n // 2, 2, 3) and guide.posterior.h2.shape == (2, n // 2, 2, 2)


def test_refuses_what_it_cannot_enumerate():
    with pytest.raises(ValueError, match="binary latent units"):
        exact_posterior(SigmoidBeliefNet([4, 30]), torch.zeros(1, 4))
    with pytest.raises(TypeError, match="SigmoidBeliefNet"):
        exact_posterior(RBM(4, 2), torch.zeros(1, 4))
    with pytest.raises(ValueError, match="num_samples"):
        exact_posterior(_net(), torch.zeros(1, 5), num_samples=0)
    assert math.isfinite(float(exact_posterior(_net(), torch.zeros(1, 5), num_samples=1).gap))
