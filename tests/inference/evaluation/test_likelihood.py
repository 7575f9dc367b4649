"""Log-likelihood, pseudo-log-likelihood and reconstruction error against exact oracles.

The oracles enumerate every joint state of tiny RBMs (``tests.oracles``) and never use
free energies. The one statistical check (the random-subset PLL) states its failure rate.
"""

import doctest
import math

import pytest
import torch

import inference.evaluation.likelihood
from inference.evaluation import LogLikelihood, log_likelihood, pseudo_log_likelihood, reconstruction_error
from inference.partition import LogZEstimate, exact_log_partition
from inference.mcmc.sampling import make_generator
from models.energy import RBM
from tests.oracles import all_binary_states, brute_force_marginal_v, random_rbm, state_index


def _brute_force_pll(model, v):
    """Σ_i log p(v_i | v_-i) per row, from the enumerated visible marginal."""
    log_p = brute_force_marginal_v(model).log()
    here = log_p[state_index(v)]
    total = torch.zeros(v.shape[0], dtype=torch.float64)
    for i in range(v.shape[1]):
        flipped = v.clone()
        flipped[:, i] = 1 - flipped[:, i]
        total += here - torch.logaddexp(here, log_p[state_index(flipped)])
    return total


@pytest.fixture
def tiny():
    return random_rbm(6, 4, seed=11, scale=1.0, dtype=torch.float32)


@pytest.fixture
def tiny_data(tiny):
    """40 rows with repeats: every state's probability is the oracle's, not uniform."""
    idx = torch.randint(64, (40,), generator=make_generator(0))
    return all_binary_states(6, torch.float32)[idx]


# -- log_likelihood ---------------------------------------------------------------------------

def test_log_likelihood_equals_brute_force(tiny, tiny_data):
    log_p = brute_force_marginal_v(tiny).log()[state_index(tiny_data)]
    ll = log_likelihood(tiny, tiny_data, exact_log_partition(tiny))
    assert isinstance(ll, LogLikelihood) and ll.n == 40
    assert ll.mean == pytest.approx(log_p.mean().item(), abs=1e-10)
    assert ll.lower == ll.mean == ll.upper
    assert ll.sem == pytest.approx(log_p.std().item() / math.sqrt(40), rel=1e-9)


def test_log_likelihood_carries_the_log_z_bracket(tiny, tiny_data):
    exact = exact_log_partition(tiny).log_z
    est = LogZEstimate(exact + 0.1, exact - 0.2, exact + 0.5, 80.0, 100, "ais")
    ll = log_likelihood(tiny, tiny_data, est)
    ref = log_likelihood(tiny, tiny_data, exact)
    assert ll.mean == pytest.approx(ref.mean - 0.1, abs=1e-12)
    assert ll.lower == pytest.approx(ref.mean - 0.5, abs=1e-12)  # upper log Z → lower LL
    assert ll.upper == pytest.approx(ref.mean + 0.2, abs=1e-12)
    open_ended = log_likelihood(tiny, tiny_data, est._replace(lower=-math.inf))
    assert open_ended.upper == math.inf and math.isfinite(open_ended.lower)
    # a float or a scalar tensor means an exactly known log Z
    assert log_likelihood(tiny, tiny_data, torch.tensor(exact, dtype=torch.float64)).mean == pytest.approx(ref.mean, abs=1e-12)
    single = log_likelihood(tiny, tiny_data[:1], exact)
    assert single.n == 1 and math.isnan(single.sem)


def test_log_likelihood_of_digits_with_exact_log_z(digits_rbm, digits_log_z, digits):
    ll = log_likelihood(digits_rbm, digits, digits_log_z)
    assert -64 * math.log(2) < ll.mean < 0  # better than uniform, a proper log-probability
    assert 0 < ll.sem < 1


@pytest.mark.parametrize("data, error, pattern", [
    (torch.full((3, 6), 0.5), ValueError, r"data must be binary"),
    (torch.zeros(3, 5), ValueError, r"data must have 6 columns"),
    (torch.tensor([[0., 1., math.nan, 0., 1., 1.]]), ValueError, r"data contains NaN"),
    (torch.zeros(3, 6, dtype=torch.int64), TypeError, r"data must have a floating dtype"),
    (torch.zeros(6), ValueError, r"data must be 2-D"),
    ([[0.0] * 6], TypeError, r"data must be a torch.Tensor"),
    (torch.zeros(0, 6), ValueError, r"data has no rows"),
])
def test_log_likelihood_rejects_bad_data(tiny, data, error, pattern):
    with pytest.raises(error, match=pattern):
        log_likelihood(tiny, data, 1.0)


def test_log_likelihood_rejects_bad_log_z(tiny, tiny_data):
    with pytest.raises(TypeError, match="log_z must be a LogZEstimate"):
        log_likelihood(tiny, tiny_data, "3.0")
    with pytest.raises(TypeError, match="log_z must be a LogZEstimate"):
        log_likelihood(tiny, tiny_data, True)
    with pytest.raises(ValueError, match="log_z must be finite"):
        log_likelihood(tiny, tiny_data, math.nan)
    with pytest.raises(TypeError, match="EnergyModel"):
        log_likelihood(torch.nn.Linear(6, 4), tiny_data, 1.0)


# -- pseudo_log_likelihood ----------------------------------------------------------------------

@pytest.mark.parametrize("n_visible, n_hidden", [(6, 4), (4, 7)])
def test_pll_equals_brute_force_conditionals(n_visible, n_hidden):
    model = random_rbm(n_visible, n_hidden, seed=4, scale=1.0, dtype=torch.float32)
    v = all_binary_states(n_visible, torch.float32)
    expected = _brute_force_pll(model, v).mean().item()
    assert pseudo_log_likelihood(model, v) == pytest.approx(expected, abs=1e-10)


def test_pll_with_every_unit_in_the_subset_is_exact(tiny, tiny_data):
    exact = pseudo_log_likelihood(tiny, tiny_data)
    assert pseudo_log_likelihood(tiny, tiny_data, make_generator(1), n_units=6) == pytest.approx(exact, abs=1e-10)


def test_pll_random_subset_is_unbiased(tiny, tiny_data):
    """n_units=2 on 200 copies of the data: within 4 standard errors (failure rate 6e-5).

    The standard error comes from the per-example spread of the estimator, measured on
    the same draws (one estimate per copy of the 40 rows).
    """
    exact = pseudo_log_likelihood(tiny, tiny_data)
    gen = make_generator(5)
    runs = torch.tensor([pseudo_log_likelihood(tiny, tiny_data, gen, n_units=2) for _ in range(200)])
    assert abs(runs.mean().item() - exact) < 4 * runs.std().item() / math.sqrt(200)
    assert runs.std() > 0  # the subsets do vary


def test_pll_subset_is_reproducible_and_checked(tiny, tiny_data):
    a = pseudo_log_likelihood(tiny, tiny_data, make_generator(3), n_units=1)
    assert a == pseudo_log_likelihood(tiny, tiny_data, make_generator(3), n_units=1)
    default = pseudo_log_likelihood(tiny, tiny_data, n_units=1)  # a fresh generator seeded with 0
    assert default == pseudo_log_likelihood(tiny, tiny_data, make_generator(0), n_units=1)
    for bad in (0, 7, 2.0):
        with pytest.raises(ValueError, match="n_units must be None or an int in"):
            pseudo_log_likelihood(tiny, tiny_data, n_units=bad)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        pseudo_log_likelihood(tiny, tiny_data, generator=3, n_units=1)
    with pytest.raises(ValueError, match="data must be binary"):
        pseudo_log_likelihood(tiny, torch.full((2, 6), 0.3))


# -- reconstruction_error ----------------------------------------------------------------------

def test_reconstruction_error_by_hand():
    model = RBM(2, 1)
    with torch.no_grad():
        model.W.copy_(torch.tensor([[1.0], [-1.0]]))
        model.b.copy_(torch.tensor([0.0, 1.0]))
        model.c.copy_(torch.tensor([0.5]))
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    # v = (1, 0): h = σ(0.5 + 1) ; r = (σ(0 + h), σ(1 - h))
    h = sig(1.5)
    err_10 = (1 - sig(h)) ** 2 + (0 - sig(1 - h)) ** 2
    # v = (0, 1): h = σ(0.5 - 1)
    h = sig(-0.5)
    err_01 = (0 - sig(h)) ** 2 + (1 - sig(1 - h)) ** 2
    data = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert reconstruction_error(model, data) == pytest.approx((err_10 + err_01) / 2, abs=1e-6)
    assert reconstruction_error(model, data[:1]) == pytest.approx(err_10, abs=1e-6)


def test_reconstruction_error_accepts_grey_levels_only_in_unit_interval(tiny):
    assert reconstruction_error(tiny, torch.full((3, 6), 0.25)) > 0
    with pytest.raises(ValueError, match=r"data must lie in \[0, 1\]"):
        reconstruction_error(tiny, torch.full((3, 6), 1.5))
    with pytest.raises(TypeError, match="hidden_logits"):
        reconstruction_error(_NoLogits(), torch.zeros(1, 2))


class _NoLogits(RBM):
    def __init__(self):
        super().__init__(2, 1)

    hidden_logits = None


def test_docstring_examples():
    result = doctest.testmod(inference.evaluation.likelihood)
    assert result.attempted > 0 and result.failed == 0
