"""The importance-sampled log-likelihood against exact enumeration on tiny sigmoid belief nets."""

import math

import pytest
import torch
from scipy import stats

from inference import importance_log_likelihood
from models import RBM, SigmoidBeliefNet

ALPHA = 1e-4  # failure rate of each statistical check (Bonferroni-split over examples)


def _net(sizes=(5, 3, 2), seed=0):
    return SigmoidBeliefNet(list(sizes), weight_std=1.5, seed=seed)


def _data(net, n=6, seed=1):
    return net.sample(n, torch.Generator().manual_seed(seed))


def _set_exact_posterior(net):
    """For one latent unit the posterior logit is linear in x: put it into the guide.

    log p(h=1|x)/p(h=0|x) = a + Σ_i x_i W_i − softplus(W_i + b_i) + softplus(b_i).
    """
    w, b = net.generative.layers[0].weight.detach()[:, 0], net.generative.layers[0].bias.detach()
    a = net.generative.top.detach()[0]
    with torch.no_grad():
        net.recognition.layers[0].weight.copy_(w[None])
        net.recognition.layers[0].bias.fill_(a - (torch.nn.functional.softplus(w + b)
                                                  - torch.nn.functional.softplus(b)).sum())


def test_exact_posterior_as_proposal_gives_the_exact_likelihood_with_zero_variance():
    net = _net((6, 1))
    _set_exact_posterior(net)
    x = _data(net, 8)
    exact = net.exact_log_likelihood(x)
    est = importance_log_likelihood(net, x, n_samples=3)
    torch.testing.assert_close(est.per_example, exact, atol=1e-5, rtol=0)
    torch.testing.assert_close(est.per_example_elbo, exact, atol=1e-5, rtol=0)
    assert float(est.per_example_se.max()) < 1e-5
    assert est.mean == pytest.approx(float(exact.mean()), abs=1e-5)
    assert est.n == 8 and est.n_samples == 3


def test_the_mean_weight_is_unbiased_for_the_likelihood():
    """exp(L̂_K) = (1/K) Σ w_k is unbiased for p(x); its relative s.e. is per_example_se."""
    net = _net()
    x = _data(net)
    exact = net.exact_log_likelihood(x)
    est = importance_log_likelihood(net, x, n_samples=20000, seed=0)
    z = stats.norm.isf(ALPHA / (2 * x.shape[0]))
    ratio = torch.exp(est.per_example - exact)
    assert bool(((ratio - 1).abs() <= z * est.per_example_se).all()), (ratio, est.per_example_se)


def test_elbo_below_iwae5_below_exact_in_expectation():
    """E[ELBO] ≤ E[L̂_5] ≤ log p(x), each checked one-sided at level ALPHA per example."""
    net = _net()
    x = _data(net, 4)
    exact = net.exact_log_likelihood(x)
    reps = 3000
    est = importance_log_likelihood(net, x.repeat(reps, 1), n_samples=5, seed=0)
    iwae = est.per_example.view(reps, -1)
    elbo = est.per_example_elbo.view(reps, -1)
    z = stats.norm.isf(ALPHA / x.shape[0])
    se_iwae = iwae.std(0) / math.sqrt(reps)
    gap = elbo - iwae
    se_gap = gap.std(0) / math.sqrt(reps)
    assert bool((iwae.mean(0) - exact <= z * se_iwae).all())
    assert bool((gap.mean(0) <= z * se_gap).all())
    # and the bounds are not vacuous: the ELBO of this untrained guide is far below
    assert bool((exact - elbo.mean(0) > 0.2).all())
    assert est.mean == pytest.approx(float(est.per_example.mean()))
    assert est.sem == pytest.approx(float(est.per_example.std() / math.sqrt(est.n)))


def test_seed_reproduces_and_leaves_the_global_generator_alone():
    net = _net()
    x = _data(net)
    state = torch.get_rng_state()
    a = importance_log_likelihood(net, x, n_samples=50, seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    b = importance_log_likelihood(net, x, n_samples=50, seed=3, batch=2)
    assert a.per_example.shape == b.per_example.shape == (6,)
    torch.testing.assert_close(a.per_example, importance_log_likelihood(net, x, n_samples=50, seed=3).per_example)
    assert math.isnan(importance_log_likelihood(net, x[:1], n_samples=1).sem)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"n_samples": 0}, ValueError, "n_samples must be an int >= 1"),
    ({"n_samples": 2.0}, TypeError, "n_samples must be an int"),
    ({"batch": 0}, ValueError, "batch must be an int >= 1"),
    ({"seed": -1}, ValueError, "seed must be an int >= 0"),
])
def test_bad_arguments_are_refused_by_name(kwargs, error, match):
    net = _net()
    with pytest.raises(error, match=match):
        importance_log_likelihood(net, _data(net), **kwargs)


def test_bad_model_or_data_is_refused():
    net = _net()
    with pytest.raises(TypeError, match="model must be a directed model"):
        importance_log_likelihood(RBM(5, 2), _data(net))
    with pytest.raises(ValueError, match="data must be binary"):
        importance_log_likelihood(net, torch.full((2, 5), 0.3))
    with pytest.raises(ValueError, match="data must have 5 columns"):
        importance_log_likelihood(net, torch.zeros(2, 4))
    with pytest.raises(ValueError, match="data has no rows"):
        importance_log_likelihood(net, torch.zeros(0, 5))


def test_docstring_examples():
    import doctest

    import inference.evaluation.importance

    result = doctest.testmod(inference.evaluation.importance)
    assert result.attempted > 0 and result.failed == 0


def test_an_overflowing_row_is_estimated_in_float64():
    """A Gaussian VAE at x = 1e30: log p(x) ≈ −5e59, beyond float32; the row is weighed
    again on a float64 copy, so the estimate is that finite value (as a float64 model
    gives it), not −inf; the other rows are untouched."""
    import copy

    from models import VAE

    vae = VAE(6, 5, 2, "gaussian", seed=0)
    x = torch.randn(3, 6, generator=torch.Generator().manual_seed(0))
    x[0, 0] = 1e30
    est = importance_log_likelihood(vae, x, 10)
    ref = importance_log_likelihood(copy.deepcopy(vae).double(), x.double(), 10)
    assert bool(torch.isfinite(est.per_example).all()) and bool(torch.isfinite(est.per_example_elbo).all())
    assert est.per_example[0] == pytest.approx(float(ref.per_example[0]), rel=1e-6) and est.per_example[0] < -1e59
    tame = x.clone()
    tame[0, 0] = 0.0  # the same draws for the other rows (the first row's second pass comes after them)
    torch.testing.assert_close(est.per_example[1:], importance_log_likelihood(vae, tame, 10).per_example[1:])
