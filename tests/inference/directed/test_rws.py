"""Reweighted wake-sleep against its exact expectation, exact gradients and the exact posterior."""

import math

import pytest
import torch
from scipy import stats

from inference.directed import fit_directed, rws_loss
from models import SigmoidBeliefNet

ALPHA = 1e-4  # failure rate of each statistical test (Bonferroni-split over parameters)


def _net(sizes=(3, 2, 1), seed=0):
    return SigmoidBeliefNet(list(sizes), weight_std=1.5, seed=seed)


def _grads(net):
    return torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).flatten()
                      for p in net.parameters()]).double()


def _mc_gradient(net, x, k, reps, groups=25):
    """Group means of the RWS gradient over ``reps`` draws per row of ``x``, shape (groups, params)."""
    out = []
    for g in range(groups):
        torch.manual_seed(g)
        net.zero_grad()
        rws_loss(net, x.repeat(reps // groups, 1), k)[0].backward()
        out.append(_grads(net))
    return torch.stack(out)


def _z_test(samples, expected, alpha=ALPHA):
    mean, se = samples.mean(0), samples.std(0) / math.sqrt(samples.shape[0])
    z = stats.norm.isf(alpha / (2 * expected.numel()))
    ok = (mean - expected).abs() <= z * se + 1e-6
    assert bool(ok.all()), (mean - expected)[~ok]


def _k2_oracle(net, x):
    """The exact expected RWS-2 gradient: Σ over all pairs of latent states (h, h') of
    q(h|x) q(h'|x) times the estimator's value, per example, averaged over the rows."""
    states = net.all_latent_states()
    xs = x[:, None, :]
    log_p = net.log_joint(xs, {k: s[None] for k, s in states.items()})        # (B, S)
    log_q = net.guide_log_prob(xs, {k: s[None] for k, s in states.items()})   # (B, S)
    lw = (log_p - log_q).detach()
    q = log_q.detach().exp()
    f = log_p + log_q
    w = torch.sigmoid(lw[:, :, None] - lw[:, None, :])  # w̃ of the first of the pair (h_i, h_j)
    term = w * f[:, :, None] + (1 - w) * f[:, None, :]
    total = (q[:, :, None] * q[:, None, :] * term).sum((1, 2))
    net.zero_grad()
    (-total.mean()).backward()
    return _grads(net)


def test_rws2_gradient_equals_its_exact_expectation_on_a_minibatch_of_distinct_examples(one_thread):
    """Per-example weights: a batch's expected gradient is the mean of the per-example
    ones, whatever else is in the batch (Pyro's RWS normalises over the batch)."""
    net = _net()
    x = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    expected = _k2_oracle(net, x)
    singles = torch.stack([_k2_oracle(net, x[i:i + 1]) for i in range(3)]).mean(0)
    torch.testing.assert_close(expected, singles)
    _z_test(_mc_gradient(net, x, 2, reps=2000), expected)


def _set_exact_posterior(net):
    w, b = net.generative.layers[0].weight.detach()[:, 0], net.generative.layers[0].bias.detach()
    a = net.generative.top.detach()[0]
    F = torch.nn.functional
    with torch.no_grad():
        net.recognition.layers[0].weight.copy_(w[None])
        net.recognition.layers[0].bias.fill_(a - (F.softplus(w + b) - F.softplus(b)).sum())


def _exact_gradient(net, x):
    net.zero_grad()
    states = net.all_latent_states()
    log_p = net.log_joint(x[:, None, :], {k: s[None] for k, s in states.items()})
    (-torch.logsumexp(log_p, 1).mean()).backward()
    return _grads(net)


def test_with_the_exact_posterior_as_guide_rws_is_unbiased_for_the_likelihood_gradient(one_thread):
    """w̃_k = 1/K when q = p(h|x): the generative update is ∇ log p(x) in expectation
    (Fisher's identity) and the recognition update is 0 (the KL is at its minimum)."""
    net = _net((5, 1))
    _set_exact_posterior(net)
    x = net.sample(4, torch.Generator().manual_seed(0))
    expected = _exact_gradient(net, x)
    n_gen = sum(p.numel() for p in net.generative.parameters())
    expected[n_gen:] = 0.0  # recognition parameters
    _z_test(_mc_gradient(net, x, 3, reps=1500), expected)


def _mean_kl(net, x):
    """(1/n) Σ_n KL(p(h | x_n) ‖ q(h | x_n)), exact by enumeration."""
    states, log_post = net.exact_log_posterior(x)
    log_q = net.guide_log_prob(x[:, None, :], {k: s[None] for k, s in states.items()}).detach().double()
    return float((log_post.exp() * (log_post - log_q)).sum(1).mean())


def test_rws_moves_the_guide_to_the_exact_posterior(one_thread):
    """Generative net fixed at the truth: the wake-phase q update minimises KL(p ‖ q)."""
    net = _net((6, 3, 2), seed=1)
    data = net.sample(400, torch.Generator().manual_seed(0))
    for p in net.generative.parameters():
        p.requires_grad_(False)
    before = _mean_kl(net, data)
    fit_directed(net, data, method="rws", n_particles=5, epochs=30, batch_size=40, lr=0.05, monitor=0,
                 progress=False)
    after = _mean_kl(net, data)
    assert after < 0.25 * before, (before, after)


def test_rws_loss_checks_n_particles():
    net = _net()
    with pytest.raises(ValueError, match="n_particles must be an int >= 1"):
        rws_loss(net, torch.zeros(2, 3), 0)
