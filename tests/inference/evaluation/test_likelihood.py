"""log_likelihood against exact oracles: binary, spin and real-valued visible units.

The oracles enumerate every joint state of tiny models (``tests.oracles`` or below) from
``energy`` alone, or integrate it numerically (the Gaussian RBM): they never use a free
energy. Deterministic: no statistical assertion in this file.
"""

import copy
import doctest
import math

import pytest
import torch

import inference.evaluation.likelihood
import inference.partition.visible
from inference.evaluation import LogLikelihood, log_likelihood
from inference.partition.visible import MAX_SUMMED_UNITS, free_energy_plan
from inference.mcmc.sampling import make_generator
from inference.partition import LogZEstimate, exact_log_partition
from models.energy import GaussianRBM, validation_disabled
from pgm.datasets import load_digits
from tests.inference.evaluation.toy_models import Chain, OddKind, SpinRBM
from tests.oracles import (all_binary_states, brute_force_log_z, brute_force_marginal_v, random_gaussian_rbm,
                          random_rbm, state_index)

F64 = torch.float64
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def tiny():
    return random_rbm(6, 4, seed=11, scale=1.0, dtype=torch.float32)


@pytest.fixture
def tiny_data(tiny):
    """40 rows with repeats: every state's probability is the oracle's, not uniform."""
    idx = torch.randint(64, (40,), generator=make_generator(0))
    return all_binary_states(6, torch.float32)[idx]


def _grbm(n_visible=2, n_hidden=3, seed=0):
    """A float32 Gaussian RBM with non-trivial W, b, c, σ and standardisation buffers."""
    return random_gaussian_rbm(n_visible, n_hidden, seed=seed, scale=0.8, dtype=torch.float32)


def _log_unnormalised_density(m, v):
    """log Σ_h exp(−E(v, h)) for float64 model ``m`` by enumeration of h, shape (batch,)."""
    hs = all_binary_states(m.n_hidden)
    return torch.stack([-m.energy({"v": v, "h": h.expand(len(v), -1)}) for h in hs]).logsumexp(0)


def _quadrature_log_z(model, points=201):
    """log ∫ Σ_h exp(−E(v, h)) dv over a grid of v ∈ ℝ² covering every component ± 12 σ̃."""
    m = copy.deepcopy(model).double()
    with torch.no_grad(), validation_disabled():
        means, sigma = m.visible_mean(all_binary_states(m.n_hidden)), m.sigma
        axes = [torch.linspace(float(means[:, i].min() - 12 * sigma[i]), float(means[:, i].max() + 12 * sigma[i]),
                               points, dtype=F64) for i in range(2)]
        g0, g1 = torch.meshgrid(*axes, indexing="ij")
        log_f = _log_unnormalised_density(m, torch.stack([g0.reshape(-1), g1.reshape(-1)], 1))
        top = log_f.max()
        dens = (log_f - top).exp().reshape(points, points)
        return float(top + torch.trapezoid(torch.trapezoid(dens, axes[1], dim=1), axes[0]).log())


# -- binary data --------------------------------------------------------------------------------

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
    assert log_likelihood(tiny, tiny_data, torch.tensor(exact, dtype=F64)).mean == pytest.approx(ref.mean, abs=1e-12)
    single = log_likelihood(tiny, tiny_data[:1], exact)
    assert single.n == 1 and math.isnan(single.sem)


def test_log_likelihood_of_digits_with_exact_log_z(digits_rbm, digits_log_z, digits):
    ll = log_likelihood(digits_rbm, digits, digits_log_z)
    assert -64 * math.log(2) < ll.mean < 0  # better than uniform, a proper log-probability
    assert 0 < ll.sem < 1


@pytest.mark.parametrize("declare_sets, plan", [(False, ("h1", "h2")), (True, ("h2",))])
def test_log_likelihood_without_free_energy_sums_latents_through_the_hook(declare_sets, plan):
    """A chain v – h1 – h2 with no free_energy: F(v) from its marginal sets, by enumeration."""
    model = Chain(5, 4, 3, seed=2, declare_sets=declare_sets)
    assert free_energy_plan(model, "test") == plan
    v = all_binary_states(5)
    log_p = brute_force_marginal_v(model).log()
    ll = log_likelihood(model, v, brute_force_log_z(model).item())
    assert ll.mean == pytest.approx(log_p.mean().item(), abs=1e-10)


def test_the_enumeration_works_in_blocks(monkeypatch):
    model = Chain(4, 3, 3, seed=5)
    v = all_binary_states(4)
    whole = log_likelihood(model, v, 0.0)
    monkeypatch.setattr(inference.partition.visible, "_BLOCK", 100)  # one row per block
    assert log_likelihood(model, v, 0.0).mean == pytest.approx(whole.mean, abs=1e-12)


def test_models_without_a_tractable_free_energy_are_refused():
    big = Chain(3, MAX_SUMMED_UNITS, 1)  # 17 latent units to sum per example
    with pytest.raises(TypeError, match="Chain has no tractable free energy"):
        log_likelihood(big, torch.zeros(2, 3), 0.0)


def test_spin_data_equals_brute_force():
    model = SpinRBM(5, 3, seed=1)
    m = copy.deepcopy(model)
    spins = 2 * all_binary_states(5) - 1
    hs = all_binary_states(3)
    with torch.no_grad():
        log_w = torch.stack([-m.energy({"v": spins, "h": h.expand(32, -1)}) for h in hs]).logsumexp(0)
    log_p = log_w - log_w.logsumexp(0)
    data = spins[torch.randint(32, (25,), generator=make_generator(3))]
    idx = state_index((data + 1) / 2)
    ll = log_likelihood(model, data, exact_log_partition(model))
    assert ll.mean == pytest.approx(log_p[idx].mean().item(), abs=1e-10)
    with pytest.raises(ValueError, match=r"data must take values in \{-1, \+1\}"):
        log_likelihood(model, torch.zeros(2, 5), 0.0)


# -- real-valued data ---------------------------------------------------------------------------

def test_gaussian_rbm_density_equals_enumeration_and_quadrature():
    """log p(v) = log Σ_h exp(−E(v, h)) − log Z, Z by quadrature: energies only."""
    model = _grbm()
    log_z = _quadrature_log_z(model)
    v = torch.randn(30, 2, generator=make_generator(4)) * 2
    with torch.no_grad():
        log_p = _log_unnormalised_density(copy.deepcopy(model).double(), v.double()) - log_z
    ll = log_likelihood(model, v, exact_log_partition(model))
    assert ll.mean == pytest.approx(log_p.mean().item(), abs=1e-7)
    assert ll.sem == pytest.approx(log_p.std().item() / math.sqrt(30), rel=1e-6)


def test_gaussian_rbm_density_is_on_the_data_scale():
    """Measuring v in units a times smaller (v ↦ a v, the model likewise) shifts the
    log-density by −n_v log a."""
    model, a = _grbm(3, 2, seed=3), 10.0
    v = torch.randn(20, 3, generator=make_generator(1))
    scaled = copy.deepcopy(model)
    with torch.no_grad():
        scaled.shift.mul_(a)
        scaled.scale.mul_(a)
    ll = log_likelihood(model, v, exact_log_partition(model))
    ll_scaled = log_likelihood(scaled, a * v, exact_log_partition(scaled))
    assert ll_scaled.mean == pytest.approx(ll.mean - 3 * math.log(a), abs=1e-5)


def test_gaussian_rbm_without_couplings_is_the_data_gaussian():
    """W = 0 after from_data: p(v) = Π_i N(v_i; m_i, s_i²) with the data's moments."""
    train = load_digits(binarize=False, dequantize=True, split="train")
    test = load_digits(binarize=False, dequantize=True, split="test")
    model = GaussianRBM.from_data(train, 4, weight_std=0.0)
    x = train.double()
    expected = torch.distributions.Normal(x.mean(0), x.std(0)).log_prob(test.double()).sum(1).mean()
    ll = log_likelihood(model, test, exact_log_partition(model))
    assert ll.mean == pytest.approx(expected.item(), abs=1e-4)  # float32 parameters
    assert ll.mean > 0  # a density on [0, 1)^64 can exceed 1


def test_real_valued_data_checks():
    model = _grbm()
    assert math.isfinite(log_likelihood(model, torch.tensor([[5.0, -3.0]]), 0.0).mean)
    with pytest.raises(ValueError, match="data contains NaN"):
        log_likelihood(model, torch.tensor([[math.inf, 0.0]]), 0.0)
    with pytest.raises(ValueError, match="data must have 2 columns"):
        log_likelihood(model, torch.zeros(3, 3), 0.0)


# -- argument checks ----------------------------------------------------------------------------

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


def test_log_likelihood_rejects_bad_arguments(tiny, tiny_data):
    with pytest.raises(TypeError, match="log_z must be a LogZEstimate"):
        log_likelihood(tiny, tiny_data, "3.0")
    with pytest.raises(TypeError, match="log_z must be a LogZEstimate"):
        log_likelihood(tiny, tiny_data, True)
    with pytest.raises(ValueError, match="log_z must be finite"):
        log_likelihood(tiny, tiny_data, math.nan)
    with pytest.raises(TypeError, match="EnergyModel"):
        log_likelihood(torch.nn.Linear(6, 4), tiny_data, 1.0)
    with pytest.raises(TypeError, match="has kind 'categorical'; supported kinds are"):
        log_likelihood(OddKind(), torch.zeros(2, 3), 1.0)


def test_docstring_examples():
    result = doctest.testmod(inference.evaluation.likelihood)
    assert result.attempted > 0 and result.failed == 0
