"""Pseudo-log-likelihood: the generic flips and the RBM's fast path against exact oracles.

The oracle takes Σ_i log p(v_i | v_−i) from the enumerated visible marginal
(``tests.oracles``), never from a free energy. The fast path
(:mod:`inference.backends.rbm.pll`) is reached only through ``backends.fast_path`` and
is checked equal to the generic path to float64 rounding. The one statistical check (the
random-subset estimate) states its failure rate.
"""

import doctest
import math

import pytest
import torch

import inference.evaluation.pseudo_likelihood as pll_module
from inference import backends
from inference.backends.rbm.pll import RBMPseudoLikelihood
from inference.evaluation import PseudoLikelihood, pseudo_log_likelihood
from inference.mcmc.sampling import make_generator
from models.energy import RBM, GaussianRBM
from tests.inference.evaluation.toy_models import Chain, SpinRBM
from tests.oracles import all_binary_states, brute_force_marginal_v, random_rbm, state_index

pytestmark = pytest.mark.usefixtures("one_thread")


def _brute_force_pll(log_p, v, flip=lambda x: 1 - x, index=state_index):
    """Σ_i log p(v_i | v_-i) per row, from the log-probabilities of every visible state."""
    here = log_p[index(v)]
    total = torch.zeros(v.shape[0], dtype=torch.float64)
    for i in range(v.shape[1]):
        flipped = v.clone()
        flipped[:, i] = flip(flipped[:, i])
        total += here - torch.logaddexp(here, log_p[index(flipped)])
    return total


class RedefinedRBM(RBM):
    """An RBM whose free energy is overridden (same values): not recognised by the backend."""

    def free_energy(self, v, beta=1.0):
        return super().free_energy(v, beta)


@pytest.fixture
def tiny():
    return random_rbm(6, 4, seed=11, scale=1.0, dtype=torch.float32)


@pytest.fixture
def tiny_data():
    idx = torch.randint(64, (40,), generator=make_generator(0))
    return all_binary_states(6, torch.float32)[idx]


# -- exact values -------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["auto", "torch"])
@pytest.mark.parametrize("n_visible, n_hidden", [(6, 4), (4, 7)])
def test_pll_equals_brute_force_conditionals(n_visible, n_hidden, backend):
    model = random_rbm(n_visible, n_hidden, seed=4, scale=1.0, dtype=torch.float32)
    v = all_binary_states(n_visible, torch.float32)
    expected = _brute_force_pll(brute_force_marginal_v(model).log(), v).mean().item()
    assert pseudo_log_likelihood(model, v, backend=backend) == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("declare_sets", [False, True])
def test_generic_pll_of_a_model_without_free_energy(declare_sets):
    """The chain v – h1 – h2: F(v) through the enumeration hook, then the flips."""
    model = Chain(5, 3, 2, seed=1, declare_sets=declare_sets)
    v = all_binary_states(5)
    expected = _brute_force_pll(brute_force_marginal_v(model).log(), v).mean().item()
    assert pseudo_log_likelihood(model, v) == pytest.approx(expected, abs=1e-10)


def test_generic_pll_of_spin_units_flips_the_sign():
    model = SpinRBM(4, 3, seed=2)
    spins = 2 * all_binary_states(4) - 1
    hs = all_binary_states(3)
    with torch.no_grad():
        log_w = torch.stack([-model.energy({"v": spins, "h": h.expand(16, -1)}) for h in hs]).logsumexp(0)
    expected = _brute_force_pll(log_w - log_w.logsumexp(0), spins, flip=lambda x: -x,
                                index=lambda s: state_index((s + 1) / 2))
    assert pseudo_log_likelihood(model, spins) == pytest.approx(expected.mean().item(), abs=1e-10)


# -- the fast path ------------------------------------------------------------------------------

def test_the_rbm_fast_path_is_behind_the_door(tiny):
    desc = PseudoLikelihood("v", "bernoulli")
    assert isinstance(backends.fast_path(tiny, desc), RBMPseudoLikelihood)
    assert backends.fast_path(tiny, desc, backend="torch") is None
    assert backends.fast_path(tiny, PseudoLikelihood("h", "bernoulli")) is None
    assert backends.fast_path(RedefinedRBM(6, 4), desc) is None
    assert backends.fast_path(GaussianRBM(3, 2), PseudoLikelihood("v", "gaussian")) is None


@pytest.mark.parametrize("n_units", [None, 1, 5])
def test_fast_path_equals_generic_to_float64_rounding(n_units, digits_rbm, digits):
    """The trained digits RBM (64 x 16), 300 rows; the same units drawn for both."""
    data = digits[:300]
    gen = lambda: make_generator(7)  # noqa: E731
    fast = pseudo_log_likelihood(digits_rbm, data, gen(), n_units=n_units)
    generic = pseudo_log_likelihood(digits_rbm, data, gen(), n_units=n_units, backend="torch")
    assert fast == pytest.approx(generic, rel=1e-12, abs=0)
    subclass = RedefinedRBM(64, 16)
    subclass.load_state_dict(digits_rbm.state_dict())  # the generic path through "auto"
    assert pseudo_log_likelihood(subclass, data, gen(), n_units=n_units) == pytest.approx(fast, rel=1e-12, abs=0)


def test_both_paths_work_in_blocks(tiny, tiny_data, monkeypatch):
    whole = [pseudo_log_likelihood(tiny, tiny_data, backend=b) for b in ("auto", "torch")]
    import inference.backends.rbm.pll as fast_module

    monkeypatch.setattr(fast_module, "_BLOCK", 30)  # one row per block
    monkeypatch.setattr(pll_module, "_BLOCK", 30)
    blocked = [pseudo_log_likelihood(tiny, tiny_data, backend=b) for b in ("auto", "torch")]
    assert blocked == pytest.approx(whole, rel=1e-13, abs=0)


# -- the random-subset estimate -----------------------------------------------------------------

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
    with pytest.raises(ValueError, match="backend must be one of"):
        pseudo_log_likelihood(tiny, tiny_data, backend="native")


def test_models_it_does_not_apply_to():
    with pytest.raises(TypeError, match="needs binary visible units.*kind 'gaussian'"):
        pseudo_log_likelihood(GaussianRBM(3, 2), torch.zeros(2, 3))
    with pytest.raises(TypeError, match="Chain has no tractable free energy"):
        pseudo_log_likelihood(Chain(3, 10, 10), torch.zeros(2, 3))
    with pytest.raises(TypeError, match="EnergyModel"):
        pseudo_log_likelihood(torch.nn.Linear(3, 2), torch.zeros(2, 3))


def test_docstring_examples():
    result = doctest.testmod(pll_module)
    assert result.attempted > 0 and result.failed == 0
