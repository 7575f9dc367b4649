"""The order-agnostic deep NADE against enumeration: normalisation for every ordering,
ensembles, the program, the unbiased order-agnostic loss, sampling and in-painting.

Seed policy: the tiny models and the sampling generators are seeded, so every test is
deterministic. Each statistical threshold is one that a fresh sampling seed fails with
probability at most ALPHA; the power checks (the same statistic rejecting a wrong
distribution) are claims about these seeded models.
"""

import doctest
import itertools
import math

import pyro.poutine as poutine
import pytest
import torch
import torch.nn.functional as F
from scipy import stats

import pgm
from models.autoregressive import deep_nade
from models.autoregressive.deep_nade import OrderAgnosticNADE
from tests.oracles import all_binary_states, chi_square_gof, state_index

ALPHA = 1e-3  # failure rate of each statistical test below

PERM = [5, 2, 0, 1, 3, 4]


def _tiny(n_visible=6, hidden=(8, 8), seed=0):
    """A float64 model with random biases too, so that the orderings' distributions differ."""
    m = OrderAgnosticNADE(n_visible, hidden, weight_std=1.0, seed=seed).double()
    gen = torch.Generator().manual_seed(seed + 100)
    with torch.no_grad():
        for layer in m.layers:
            layer.bias.copy_(torch.randn(layer.bias.shape, generator=gen, dtype=torch.float64))
    return m


@pytest.mark.parametrize("hidden", [(8,), (8, 8)])
def test_every_ordering_is_a_distribution(hidden):
    m = _tiny(hidden=hidden)
    xs = all_binary_states(6)
    joints = []
    for member in [None, PERM, [5, 4, 3, 2, 1, 0], torch.randperm(6, generator=torch.Generator().manual_seed(1))]:
        with torch.no_grad():
            lp = m.log_prob(xs, member)
        assert abs(float(lp.logsumexp(0))) < 1e-10
        joints.append(lp)
    assert not torch.allclose(joints[0], joints[1], atol=1e-3)  # the members are different distributions


def test_one_pass_equals_the_program_and_the_masked_passes():
    m = _tiny()
    x = all_binary_states(6)[torch.randperm(64, generator=torch.Generator().manual_seed(2))[:9]]
    per_dim = m.log_prob_dims(x, torch.tensor(PERM))
    trace = poutine.trace(m.model).get_trace(x, member=PERM)
    trace.compute_log_prob()
    sites = [name for name, site in trace.nodes.items() if site["type"] == "sample" and name.startswith("x_")]
    assert sites == [f"x_{d}" for d in PERM]
    for d in range(6):
        assert torch.allclose(per_dim[:, d], trace.nodes[f"x_{d}"]["log_prob"], atol=1e-10)
    # each conditional is one pass of the network on the prefix's mask
    for i, d in enumerate(PERM):
        mask = torch.zeros(6, dtype=torch.bool)
        mask[PERM[:i]] = True
        logit = m.conditional_logits(x, mask)[:, d]
        assert torch.allclose(per_dim[:, d], -F.binary_cross_entropy_with_logits(logit, x[:, d], reduction="none"),
                              atol=1e-10)


def test_positions_in_chunks_give_the_same_conditionals(monkeypatch):
    m = _tiny()
    x = all_binary_states(6)
    whole = m.log_prob_dims(x, torch.tensor(PERM))
    monkeypatch.setattr(deep_nade, "CHUNK", 64 * 24 * 2)  # two positions per chunk
    assert torch.allclose(m.log_prob_dims(x, torch.tensor(PERM)), whole, atol=1e-12)


def test_ensemble_is_the_mixture_of_its_members():
    m = _tiny()
    xs = all_binary_states(6)
    members = m.members(4, seed=3)
    assert members[0] is None and len(members) == 4
    with torch.no_grad():
        ens = m.ensemble_log_prob(xs, members)
    separate = torch.stack([m.log_prob(xs, k) for k in members])
    assert torch.allclose(ens, separate.logsumexp(0) - math.log(4), atol=1e-12)
    assert abs(float(ens.logsumexp(0))) < 1e-10
    assert torch.allclose(m.ensemble_log_prob(xs, 3), m.ensemble_log_prob(xs, m.members(3)))


def _orderings_average(m, x):
    """E_o[−log p_o(x)] over all D! orderings, shape (n,)."""
    D = m.n_visible
    return -torch.stack([m.log_prob(x, list(o)) for o in itertools.permutations(range(D))]).mean(0)


def test_the_order_agnostic_loss_is_exactly_unbiased_by_enumeration():
    """Σ_d (1/D) Σ_{|S|=d} C(D, d)⁻¹ (D/(D − d)) Σ_{j∉S} ℓ(x_j | x_S) = E_o[−log p_o(x)]."""
    m = _tiny(n_visible=4, hidden=(6,), seed=4)
    x = all_binary_states(4)
    D, total = 4, torch.zeros(16, dtype=torch.float64)
    for d in range(D):
        for S in itertools.combinations(range(D), d):
            mask = torch.zeros(D, dtype=torch.bool)
            mask[list(S)] = True
            nll = F.binary_cross_entropy_with_logits(m.conditional_logits(x, mask), x, reduction="none")
            total += nll[:, ~mask].sum(-1) * D / (D - d) / D / math.comb(D, d)
    assert torch.allclose(total, _orderings_average(m, x), atol=1e-10)


def test_the_training_loss_is_unbiased_by_monte_carlo():
    m = _tiny(n_visible=4, hidden=(6,), seed=4)
    rows = torch.tensor([[0., 1., 1., 0.], [1., 1., 1., 1.], [1., 0., 0., 0.]], dtype=torch.float64)
    n = 20000
    gen = torch.Generator().manual_seed(5)
    z = stats.norm.isf(ALPHA / (2 * len(rows)))  # Bonferroni over the rows
    with torch.no_grad():
        exact = _orderings_average(m, rows)
        for r in range(len(rows)):
            draws = m.order_agnostic_loss(rows[r].expand(n, -1), gen)
            mean, se = float(draws.mean()), float(draws.std()) / math.sqrt(n)
            assert abs(mean - float(exact[r])) < z * se, (mean, float(exact[r]), se)
            assert z * se < 0.03 * float(exact[r])  # the test resolves a bias of 3%
    g1, g2 = torch.Generator().manual_seed(6), torch.Generator().manual_seed(6)
    assert torch.equal(m.training_loss(rows, g1), m.order_agnostic_loss(rows, g2).mean())


def test_ancestral_samples_match_the_ordering_joint():
    m = _tiny()
    with torch.no_grad():
        joint = m.log_prob(all_binary_states(6), PERM).exp()
    n = 20000
    s = m.sample(n, torch.Generator().manual_seed(7), member=PERM)
    counts = torch.bincount(state_index(s), minlength=64)
    assert chi_square_gof(counts.numpy(), joint.numpy())[2] > ALPHA
    marginals = joint @ all_binary_states(6)
    z = stats.norm.isf(ALPHA / 12)  # two-sided, Bonferroni over the 6 dimensions
    se = (marginals * (1 - marginals) / n).sqrt()
    assert bool(((s.mean(0) - marginals).abs() < z * se).all())


def test_inpainting_any_observed_set_draws_from_the_exact_conditional():
    m = _tiny(seed=8)
    observed = torch.tensor([False, True, False, False, True, False])  # not a prefix of PERM
    order = m.inpainting_member(observed, PERM)
    assert order.tolist() == [1, 4, 5, 2, 0, 3]  # observed first, the rest in PERM's order
    xs = all_binary_states(6)
    keep = (xs[:, 1] == 1) & (xs[:, 4] == 0)
    with torch.no_grad():
        conditional = m.log_prob(xs[keep], order).softmax(0)  # p_order(x_missing | x_1 = 1, x_4 = 0)
        other = m.log_prob(xs[keep], [4, 1, 3, 0, 2, 5]).softmax(0)
    values = torch.tensor([0., 1., 0., 0., 0., 0.], dtype=torch.float64)
    n = 10000
    s = m.sample(n, torch.Generator().manual_seed(9), member=PERM, observed=observed, values=values)
    assert bool((s[:, 1] == 1).all() and (s[:, 4] == 0).all())
    index = {int(k): i for i, k in enumerate(keep.nonzero().flatten())}
    counts = torch.bincount(torch.tensor([index[int(k)] for k in state_index(s)]), minlength=16)
    assert chi_square_gof(counts.numpy(), conditional.numpy())[2] > ALPHA
    # the test has power: the draws are not from the conditional of another ordering
    assert chi_square_gof(counts.numpy(), other.numpy())[2] < ALPHA


def test_bad_input_is_refused():
    m = OrderAgnosticNADE(6, (8,), seed=0)
    x = torch.zeros(2, 6)
    with pytest.raises(ValueError, match="permutation"):
        m.log_prob(x, member=[0, 0, 1, 2, 3, 4])
    with pytest.raises(ValueError, match="permutation"):
        m.log_prob(x, member=[0, 1, 2])
    with pytest.raises(ValueError, match="6 columns"):
        m.log_prob(torch.zeros(2, 5))
    with pytest.raises(ValueError, match="binary"):
        m.log_prob(torch.full((2, 6), 0.5))
    with pytest.raises(ValueError, match="binary"):
        m.training_loss(torch.full((2, 6), 0.5), torch.Generator())
    with pytest.raises(ValueError, match="at least one hidden layer"):
        OrderAgnosticNADE(6, ())
    with pytest.raises(ValueError, match=r"hidden\[1\]"):
        OrderAgnosticNADE(6, (8, 0))
    with pytest.raises(TypeError, match="hidden must be a sequence"):
        OrderAgnosticNADE(6, "500")
    with pytest.raises(ValueError, match="k must be"):
        m.members(0)


def test_config_round_trip_and_parameter_count():
    m = OrderAgnosticNADE(6, (5, 4), ordering=PERM, seed=1)
    copy = OrderAgnosticNADE(**m.config())
    copy.load_state_dict(m.state_dict())
    x = all_binary_states(6, torch.float32)
    assert torch.equal(copy.log_prob(x, [1, 0, 2, 3, 5, 4]), m.log_prob(x, [1, 0, 2, 3, 5, 4]))
    assert torch.equal(copy.log_prob(x), m.log_prob(x, PERM))  # member None is the model's ordering
    assert m.n_parameters == sum(p.numel() for p in m.parameters())
    assert OrderAgnosticNADE(6, 7).hidden == (7,)


def test_a_few_adam_steps_lower_the_nll(one_thread):
    train, test = pgm.load_digits(), pgm.load_digits(split="test")
    m = OrderAgnosticNADE(64, (64,), seed=0)
    with torch.no_grad():
        start = -float(m.ensemble_log_prob(test, 2).mean())
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(40):
        loss = m.training_loss(train[torch.randint(0, train.shape[0], (100,), generator=gen)], gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        end = -float(m.ensemble_log_prob(test, 2).mean())
    assert end < start - 5, (start, end)  # nats per image


def test_graph_and_docstring_examples():
    g = OrderAgnosticNADE(4, (3,), seed=0).graph
    assert [grp.n_units for grp in g.groups] == [2, 2]
    assert doctest.testmod(deep_nade, raise_on_error=True).attempted >= 2
