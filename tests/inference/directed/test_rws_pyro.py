"""Reweighted wake-sleep on minibatches against the full batch, and against Pyro's
``ReweightedWakeSleep``.

Pyro's estimator treats the whole batch as one draw: particle k is a latent state for
every row at once, its weight is Π_b w_bk and the weights are normalised over k for the
batch jointly. Ours normalises within each example. The quantities compared:

- on one example (B = 1) the two estimators are the same function of the same draws:
  Pyro's wake-θ loss −log (1/K) Σ_k w_k is minus our bound, and the gradients of
  ``wake_theta_loss + phi_loss`` equal those of our surrogate draw for draw;
- on a full batch of B > 1 rows with the exact posterior as guide, every weight is
  p(x) and self-normalisation is exact, so both are unbiased for the exact gradient
  (1/B) Σ_b ∇ log p(x_b) (Pyro's scaled by 1/B) with a zero recognition update.
"""

import pytest
import torch
from pyro.infer import ReweightedWakeSleep

from inference.directed import rws_loss
from inference.evaluation.weights import seeded
from tests.inference.directed.test_rws import (_exact_gradient, _grads, _k2_oracle, _net,
                                                  _set_exact_posterior, _z_test)

# six distinct rows of a 3-visible net, split into three minibatches of two
ROWS = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [1.0, 1.0, 0.0],
                     [0.0, 1.0, 1.0], [1.0, 1.0, 1.0], [0.0, 0.0, 1.0]])
BATCHES = [slice(0, 2), slice(2, 4), slice(4, 6)]


def test_minibatch_rws_agrees_with_full_batch_rws_in_expectation(one_thread):
    """The mean over the minibatches of an epoch of the RWS-2 gradient has the expectation
    of the full-batch RWS-2 gradient: exactly (enumerating all pairs of latent states per
    example) and by Monte Carlo over the minibatch estimator as fit uses it."""
    net = _net()
    full = _k2_oracle(net, ROWS)
    per_batch = torch.stack([_k2_oracle(net, ROWS[s]) for s in BATCHES])
    torch.testing.assert_close(per_batch.mean(0), full)
    assert (per_batch - full).abs().max() > 1e-2  # the batches differ: the agreement is not trivial

    groups, reps = 25, 1200
    epoch_means = []
    for g in range(groups):
        torch.manual_seed(100 + g)
        total = 0.0
        for s in BATCHES:
            net.zero_grad()
            rws_loss(net, ROWS[s].repeat(reps // groups, 1), 2)[0].backward()
            total = total + _grads(net)
        epoch_means.append(total / len(BATCHES))
    _z_test(torch.stack(epoch_means), full)


def _pyro_rws(net, x, k, seed):
    """Pyro's RWS (wake-φ only, insomnia 1) on ``x``: (wake-θ loss, gradient)."""
    rws = ReweightedWakeSleep(num_particles=k, vectorize_particles=True, max_plate_nesting=1, insomnia=1.0)
    net.zero_grad()
    with seeded(seed, net.device):
        theta_loss, _ = rws.loss_and_grads(net.model, net.guide, x)
    return theta_loss, _grads(net)


@pytest.mark.parametrize("k", [2, 5])
def test_on_one_example_rws_equals_pyro_draw_for_draw(k):
    net = _net((4, 3, 2), seed=2)
    x = torch.tensor([[1.0, 0.0, 1.0, 1.0]])
    theta_loss, theirs = _pyro_rws(net, x, k, seed=5)
    net.zero_grad()
    with seeded(5, net.device):
        surrogate, bound = rws_loss(net, x, k)
    surrogate.backward()
    assert float(bound) == pytest.approx(-theta_loss, rel=1e-5)
    torch.testing.assert_close(_grads(net), theirs, rtol=1e-5, atol=1e-6)


def test_on_a_full_batch_with_the_exact_posterior_pyro_is_unbiased_for_the_exact_gradient(one_thread):
    """Ours is, on the same net and batch: test_rws.py."""
    net = _net((5, 1))
    _set_exact_posterior(net)
    x = net.sample(4, torch.Generator().manual_seed(0))
    expected = _exact_gradient(net, x)
    n_gen = sum(p.numel() for p in net.generative.parameters())
    expected[n_gen:] = 0.0
    theirs = torch.stack([_pyro_rws(net, x, 3, seed=200 + g)[1] / x.shape[0] for g in range(200)])
    _z_test(theirs, expected)
