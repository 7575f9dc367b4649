"""NVIL: unbiased for the ELBO gradient whatever its baselines, and lower variance with them."""

import math

import pytest
import torch
from scipy import stats

from inference.directed import NVIL
from models import SigmoidBeliefNet

ALPHA = 1e-4  # failure rate of the statistical test (Bonferroni-split over parameters)


def _net():
    return SigmoidBeliefNet([4, 2, 1], weight_std=1.5, seed=0)


def _flat(grads, params):
    return torch.cat([(g if g is not None else torch.zeros_like(p)).flatten() for g, p in zip(grads, params)]).double()


def _exact_elbo_gradient(net, x):
    """∇ of −(1/B) Σ_b Σ_h q(h|x_b) (log p(x_b, h) − log q(h|x_b)), by enumeration."""
    states = {k: s[None] for k, s in net.all_latent_states().items()}
    log_p = net.log_joint(x[:, None], states)
    log_q = net.guide_log_prob(x[:, None], states)
    elbo = (log_q.exp() * (log_p - log_q)).sum(1).mean()
    params = list(net.parameters())
    return _flat(torch.autograd.grad(-elbo, params, allow_unused=True), params)


def _draws(net, est, x, groups=25, reps=200):
    params = list(net.parameters())
    out = []
    for g in range(groups):
        torch.manual_seed(g)
        loss, _ = est.loss(net, x.repeat(reps, 1))
        out.append(_flat(torch.autograd.grad(loss, params, allow_unused=True), params))
    return torch.stack(out)


def test_nvil_is_unbiased_for_the_elbo_gradient_with_any_fixed_baselines(one_thread):
    net = _net()
    x = torch.tensor([[1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 0.0]])
    est = NVIL(4, n_hidden=3, alpha=1.0)  # alpha = 1: c and v stay where they are put
    with torch.no_grad():
        est.mean.fill_(-2.5)
        est.var.fill_(1.0)  # max(1, √v) = 1: the step is not rescaled
    samples = _draws(net, est, x)
    exact = _exact_elbo_gradient(net, x)
    mean, se = samples.mean(0), samples.std(0) / math.sqrt(samples.shape[0])
    z = stats.norm.isf(ALPHA / (2 * exact.numel()))
    assert bool(((mean - exact).abs() <= z * se + 1e-6).all()), mean - exact


def test_the_running_baseline_reduces_the_recognition_gradient_variance(one_thread):
    """The ELBO is −3.17 nats here: centring l = log p − log q on it cuts the variance of
    the recognition gradient from 16.6 to 0.50 (trace of the covariance, 200 draws)."""
    net = _net()
    x = torch.tensor([[1.0, 0.0, 1.0, 1.0]])
    n_gen = sum(p.numel() for p in net.generative.parameters())

    def variance(est):
        grads = _draws(net, est, x, groups=200, reps=1)[:, n_gen:]
        return float(grads.var(0).sum())

    none = NVIL(4, n_hidden=0, alpha=1.0, running_baseline=False, normalise=False)
    centred = NVIL(4, n_hidden=0, alpha=1.0, normalise=False)
    with torch.no_grad():
        states = {k: s[None] for k, s in net.all_latent_states().items()}
        log_q = net.guide_log_prob(x[:, None], states)
        centred.mean.fill_(float((log_q.exp() * (net.log_joint(x[:, None], states) - log_q)).sum()))
    assert variance(centred) < 0.5 * variance(none)


def test_running_statistics_update_and_checks():
    net = _net()
    est = NVIL(4, n_hidden=5)
    x = net.sample(50, torch.Generator().manual_seed(0))
    _, elbo = est.loss(net, x)
    assert float(est.mean) == pytest.approx(0.2 * float(elbo), rel=1e-5)
    assert float(est.var) != 1.0
    with pytest.raises(ValueError, match=r"alpha must be a number in \[0, 1\]"):
        NVIL(4, alpha=1.5)
    with pytest.raises(ValueError, match="n_hidden must be an int >= 0"):
        NVIL(4, n_hidden=-1)
