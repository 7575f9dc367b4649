"""MADE: normalisation and the autoregressive property exactly, the Pyro program against the
one-pass likelihood, ensembles, sampling and in-painting against enumeration, training,
argument checks and checkpoints.

Statistical tests draw with fixed generators; each tolerance is set so that under a fresh
seed the test would fail with probability at most ALPHA (Bonferroni over its comparisons).
"""

import math

import pyro.poutine as poutine
from pyro.poutine.util import site_is_subsample
import pytest
import torch
from scipy import stats

from models.autoregressive.made import MADE
from tests.oracles import all_binary_states, chi_square_gof, state_index

ALPHA = 1e-3  # per-test failure rate of the statistical tests below
D = 6
CASES = [  # (order_agnostic, direct, activation)
    (False, False, "relu"),
    (True, True, "sigmoid"),
    (True, False, "relu"),
]


def _tiny(order_agnostic=False, direct=False, activation="relu", ordering=None, seed=0, scale=4.0):
    """A float64 MADE on D = 6 bits, three hidden layers, three mask sets, its parameters
    scaled up so that the conditionals are far from 1/2."""
    m = MADE(D, (16, 16, 16), ordering, n_masks=3, order_agnostic=order_agnostic, direct=direct,
             activation=activation, seed=seed).double()
    with torch.no_grad():
        for p in m.parameters():
            p.mul_(scale)
    return m


def _exact_probs(m, member):
    """p(x) of every binary vector (rows of all_binary_states), float64."""
    return m.log_prob(all_binary_states(D), member).detach().exp()


@pytest.mark.parametrize("order_agnostic,direct,activation", CASES)
def test_every_member_and_the_ensemble_normalise(order_agnostic, direct, activation, one_thread):
    m = _tiny(order_agnostic, direct, activation)
    xs = all_binary_states(D)
    for member in [None, 0, 1, 2]:
        assert float(torch.logsumexp(m.log_prob(xs, member).detach(), 0)) == pytest.approx(0.0, abs=1e-12)
    assert float(torch.logsumexp(m.ensemble_log_prob(xs, 3).detach(), 0)) == pytest.approx(0.0, abs=1e-12)
    if order_agnostic:
        assert len({tuple(m.ordering_of(k).tolist()) for k in range(3)}) > 1
        assert torch.equal(m.ordering_of(0), m.ordering)
    else:
        assert all(torch.equal(m.ordering_of(k), m.ordering) for k in range(3))


@pytest.mark.parametrize("order_agnostic,direct,activation", CASES)
def test_autoregressive_property_by_autograd(order_agnostic, direct, activation, one_thread):
    m = _tiny(order_agnostic, direct, activation)
    x = torch.randn(5, D, dtype=torch.float64, requires_grad=True)  # real inputs: no dead ReLU pattern
    for k in range(3):
        position = torch.empty(D, dtype=torch.long)
        position[m.ordering_of(k)] = torch.arange(D)
        logits = m.logits(x, k)
        n_dependent = 0
        for d in range(D):
            (grad,) = torch.autograd.grad(logits[:, d].sum(), x, retain_graph=True)
            later = position >= position[d]
            assert torch.all(grad[:, later] == 0), f"mask {k}: logit {d} depends on a later input"
            n_dependent += int((grad[:, ~later] != 0).any(0).sum())
        assert n_dependent > 0, f"mask {k}: no logit depends on any input"  # not trivially constant
        # the masks themselves: the connectivity M^out M^L … M^1 (+ M^direct) is strictly
        # lower triangular in the ordering
        masks, direct_mask = m.masks(k)
        paths = masks[0]
        for mask in masks[1:]:
            paths = mask @ paths
        paths = paths + direct_mask if direct else paths
        assert torch.all(paths[position[:, None] <= position[None, :]] == 0)


def test_hidden_degrees_follow_the_paper():
    m = MADE(7, (20, 15, 10), n_masks=4, order_agnostic=True, seed=3)
    for k in range(4):
        degrees = m.degrees(k)
        assert sorted(degrees[0].tolist()) == list(range(1, 8))
        for prev, layer in zip(degrees[:-1], degrees[1:]):
            assert int(layer.min()) >= int(prev.min()) and int(layer.max()) <= 6


@pytest.mark.parametrize("order_agnostic,direct,activation", CASES[:2])
def test_one_pass_log_prob_equals_the_pyro_program(order_agnostic, direct, activation, one_thread):
    m = _tiny(order_agnostic, direct, activation)
    x = all_binary_states(D)[torch.randperm(2 ** D)[:11]]
    for member in [None, 0, 1, 2]:
        trace = poutine.trace(m.model).get_trace(x, member=member)
        sites = [s for s in trace.nodes.values() if s["type"] == "sample" and not site_is_subsample(s)]
        assert [s["name"] for s in sites] == [f"x_{int(d)}" for d in m.ordering_of(member)]
        total = sum(s["fn"].log_prob(s["value"]) for s in sites)
        torch.testing.assert_close(total, m.log_prob(x, member), rtol=0, atol=1e-12)


def test_ensemble_is_the_logsumexp_of_the_members(one_thread):
    m = _tiny(True, False, "relu")
    x = all_binary_states(D)
    each = torch.stack([m.log_prob(x, k) for k in range(3)])
    torch.testing.assert_close(m.ensemble_log_prob(x, 3), torch.logsumexp(each, 0) - math.log(3))
    torch.testing.assert_close(m.ensemble_log_prob(x, [0, 2]), torch.logsumexp(each[[0, 2]], 0) - math.log(2))
    assert m.members(2) == [0, 1]


def test_ancestral_samples_match_the_exact_distribution(one_thread):
    m = _tiny(True, True, "relu")
    xs, n = all_binary_states(D), 20000
    members = [0, 1, 2]
    z = stats.norm.isf(ALPHA / 2 / (2 * D * len(members)))  # half of ALPHA to the marginals, half to χ²
    for k in members:
        probs = _exact_probs(m, k)
        draws = m.sample(n, torch.Generator().manual_seed(10 + k), member=k)
        assert draws.shape == (n, D) and set(draws.unique().tolist()) <= {0.0, 1.0}
        marginal = probs @ xs
        se = (marginal * (1 - marginal) / n).sqrt()
        assert torch.all((draws.mean(0) - marginal).abs() < z * se), f"mask {k}"
        counts = torch.bincount(state_index(draws), minlength=2 ** D)
        assert chi_square_gof(counts.numpy(), probs.numpy())[2] > ALPHA / 2 / len(members)


@pytest.mark.parametrize("order_agnostic,member", [(False, None), (True, 1)])
def test_inpainting_draws_the_exact_conditional(order_agnostic, member, one_thread):
    m = _tiny(order_agnostic, False, "relu", ordering=[3, 0, 5, 1, 4, 2])
    order = m.ordering_of(member)
    observed = torch.zeros(D, dtype=torch.bool)
    observed[order[:2]] = True
    values = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0, 1.0], dtype=torch.float64)
    assert m.inpainting_member(observed, member) == member
    n = 20000
    draws = m.sample(n, torch.Generator().manual_seed(7), member=member, observed=observed, values=values)
    assert torch.all(draws[:, observed] == values[observed])
    xs = all_binary_states(D)
    match = (xs[:, observed] == values[observed]).all(1)
    conditional = _exact_probs(m, member)[match]
    conditional = conditional / conditional.sum()
    counts = torch.bincount(state_index(draws[:, ~observed]), minlength=2 ** (D - 2))
    # xs[match] lists the missing dims in all_binary_states order, as state_index numbers them
    assert torch.equal(state_index(xs[match][:, ~observed]), torch.arange(2 ** (D - 2)))
    assert chi_square_gof(counts.numpy(), conditional.numpy())[2] > ALPHA


def test_inpainting_picks_a_mask_set_with_the_observed_prefix_or_refuses():
    m = _tiny(True, False, "relu")
    firsts = {int(m.ordering_of(k)[0]) for k in range(3)}
    observed = torch.zeros(D, dtype=torch.bool)
    observed[int(m.ordering_of(2)[0])] = True
    assert m.inpainting_member(observed, None) == next(k for k in range(3) if observed[m.ordering_of(k)[0]])
    assert m.inpainting_member(observed, 2) == 2
    observed = torch.zeros(D, dtype=torch.bool)
    observed[min(set(range(D)) - firsts)] = True
    with pytest.raises(ValueError, match="no ordering of the 3 mask sets begins with these 1 dimensions.*prefix"):
        m.sample(2, observed=observed, values=torch.zeros(D, dtype=torch.float64))
    shared = _tiny(False, False, "relu")
    observed = torch.zeros(D, dtype=torch.bool)
    observed[1] = True  # second in the shared ordering 0, 1, …
    with pytest.raises(ValueError, match="observed dimensions first"):
        shared.sample(2, observed=observed, values=torch.zeros(D, dtype=torch.float64))


def test_training_loss_draws_one_mask_per_batch_reproducibly(one_thread):
    m = MADE(D, (16,), n_masks=4, seed=0)
    x = all_binary_states(D).float()[::3]
    nll = torch.stack([-m.log_prob(x, k).mean() for k in range(4)]).detach()
    assert len(set(nll.tolist())) == 4  # the mask sets give different losses

    def run(seed):
        g = torch.Generator().manual_seed(seed)
        return torch.stack([m.training_loss(x, g) for _ in range(12)]).detach()

    losses = run(5)
    torch.testing.assert_close(losses, run(5), rtol=0, atol=0)
    chosen = (losses[:, None] - nll[None, :]).abs().argmin(1)
    torch.testing.assert_close(losses, nll[chosen])
    expected = torch.randint(4, (12,), generator=torch.Generator().manual_seed(5))
    assert torch.equal(chosen, expected) and len(set(chosen.tolist())) > 1
    single = MADE(D, (16,), seed=0)
    torch.testing.assert_close(single.training_loss(x, torch.Generator()), -single.log_prob(x).mean())


def test_a_short_adam_run_lowers_the_nll(one_thread):
    g = torch.Generator().manual_seed(0)
    n = 512
    flips = (torch.rand(n, 8, generator=g) < 0.1).long()  # a Markov chain: x_i = x_{i−1} xor flip
    first = (torch.rand(n, generator=g) < 0.8).long()
    x = torch.stack([first ^ flips[:, 1:i + 1].sum(1) % 2 for i in range(8)], 1).float()
    m = MADE(8, (32, 32), n_masks=2, seed=0)
    before = float(m.ensemble_log_prob(x, 2).detach().mean())
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    for _ in range(50):
        opt.zero_grad()
        m.training_loss(x, g).backward()
        opt.step()
    after = float(m.ensemble_log_prob(x, 2).detach().mean())
    assert after > before + 1.0, (before, after)  # from ≈ −8 log 2 toward the entropy ≈ −2.8 nats


@pytest.mark.parametrize("kwargs,error,match", [
    ({"n_visible": 0}, ValueError, "n_visible"),
    ({"hidden": (8, 0)}, ValueError, r"hidden\[1\]"),
    ({"hidden": -3}, ValueError, r"hidden\[0\]"),
    ({"hidden": ()}, ValueError, "hidden must list"),
    ({"hidden": "500"}, TypeError, "hidden"),
    ({"n_masks": 0}, ValueError, "n_masks"),
    ({"order_agnostic": 1}, TypeError, "order_agnostic"),
    ({"direct": "yes"}, TypeError, "direct"),
    ({"activation": "tanh"}, ValueError, "activation"),
    ({"ordering": [0, 1, 1, 2]}, ValueError, "ordering"),
    ({"seed": -1}, ValueError, "seed"),
])
def test_bad_constructor_arguments_are_refused(kwargs, error, match):
    args = {"n_visible": 4, "hidden": (8,), **kwargs}
    with pytest.raises(error, match=match):
        MADE(**args)


def test_bad_members_and_data_are_refused():
    m = MADE(4, (8,), n_masks=3, seed=0)
    x = torch.zeros(2, 4)
    with pytest.raises(ValueError, match=r"member must be None or a mask index, an int in \[0, 3\).*got 3"):
        m.log_prob(x, 3)
    with pytest.raises(TypeError, match="member"):
        m.log_prob(x, [0, 1, 2, 3])
    with pytest.raises(TypeError, match="member"):
        m.sample(2, member=True)
    with pytest.raises(ValueError, match="n_masks = 3.*k = 4"):
        m.members(4)
    with pytest.raises(ValueError, match="x"):
        m.log_prob(torch.zeros(2, 5))
    with pytest.raises(ValueError, match="x"):
        m.log_prob(torch.full((2, 4), 0.5))


def test_config_round_trip_and_the_masks_in_the_state_dict(one_thread):
    m = MADE(5, (12, 10), [4, 2, 0, 1, 3], n_masks=3, order_agnostic=True, direct=True, activation="sigmoid")
    with torch.no_grad():
        m.weights[0].add_(0.3)
    assert {"orderings", "hidden_degrees"} <= set(m.state_dict())
    again = MADE(**m.config())  # seed None: other masks and weights until the state dict is loaded
    again.load_state_dict(m.state_dict())
    x = all_binary_states(5).float()
    for k in range(3):
        torch.testing.assert_close(again.log_prob(x, k), m.log_prob(x, k), rtol=0, atol=0)
    seeded = MADE(5, (12, 10), n_masks=3, order_agnostic=True, seed=4)
    rebuilt = MADE(**seeded.config())
    assert torch.equal(rebuilt.hidden_degrees, seeded.hidden_degrees)
    assert torch.equal(rebuilt.orderings, seeded.orderings)
    first = MADE(5, (12, 10), n_masks=1, order_agnostic=True, seed=4)  # mask set 0 does not depend on n_masks
    torch.testing.assert_close(first.log_prob(x), seeded.log_prob(x), rtol=0, atol=0)
    assert first.n_parameters <= seeded.n_parameters <= sum(p.numel() for p in seeded.parameters())
