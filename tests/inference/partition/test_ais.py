"""Annealed importance sampling against exact log Z.

Seed policy: every run uses a fixed seed. Statistical assertions use AIS's own ±3
standard-error bracket on Z (a correct estimator misses it with probability about 0.27%
per assertion, by the central limit theorem on the mean weight) or margins of at least
3 standard errors of a per-chain average (one-sided failure rate 0.13%); the failure rate
is restated in each test. Deterministic checks (weights without transitions, a model equal
to its base) are exact to rounding.
"""

import doctest
import math

import pytest
import torch
import torch.nn.functional as F

import inference.backends.rbm.ais
import inference.partition.ais
from inference.partition.ais import (
    ais_log_partition,
    ais_log_weights,
    base_rate_bias,
    default_schedule,
)
from inference.partition import LogZEstimate, exact_log_partition
from inference.partition.reverse_ais import reverse_ais_log_partition
from inference.mcmc.sampling import make_generator
from inference.partition.path import log_z_start, make_path
from models.energy import RBM
from tests.oracles import all_binary_states, brute_force_log_z, brute_force_marginal_v, random_rbm

TINY = [(6, 4), (4, 7)]


def _exact_samples(model, n, seed):
    """n exact draws of v from a tiny model, by enumeration."""
    probs = brute_force_marginal_v(model)
    idx = torch.multinomial(probs, n, replacement=True, generator=make_generator(seed))
    return all_binary_states(model.n_visible, torch.float32)[idx].to(model.W.dtype)


def _inside(est: LogZEstimate, exact: float) -> bool:
    return est.lower <= exact <= est.upper


# -- the schedule ----------------------------------------------------------------------------

def test_default_schedule_is_exact():
    betas = default_schedule()
    assert betas.dtype == torch.float64 and betas.shape == (14501,)
    assert betas[0] == 0 and betas[-1] == 1
    assert betas[500] == 0.5 and betas[4500] == 0.9 and betas[250] == 0.25 and betas[9500] == 0.95
    steps = betas.diff()
    assert torch.allclose(steps[:500], torch.tensor(1e-3, dtype=torch.float64), rtol=1e-9)
    assert torch.allclose(steps[500:4500], torch.tensor(1e-4, dtype=torch.float64), rtol=1e-9)
    assert torch.allclose(steps[4500:], torch.tensor(1e-5, dtype=torch.float64), rtol=1e-9)
    # each value is the float nearest its decimal: k / 10^d
    assert betas[12345].item() == (90000 + 12345 - 4500) / 1e5
    assert default_schedule(torch.float32).dtype == torch.float32


# -- deterministic checks of the weights ----------------------------------------------------

@pytest.mark.parametrize("n_visible, n_hidden", TINY + [(3, 2100)])
def test_weights_without_transitions_are_the_importance_ratio(n_visible, n_hidden):
    """betas = [0, 1]: log w = log p*_B(v) - log p*_A(v) = -F(v) - b_A·v - n_h log 2.

    2100 hidden units exercise the blocked float64 product of the weight update.
    """
    model = random_rbm(n_visible, n_hidden, seed=2, scale=1.0 if n_hidden < 100 else 0.3)
    gen = make_generator(0)
    bias_a = torch.randn(n_visible, generator=gen, dtype=torch.float64)
    v = all_binary_states(n_visible)
    log_w, v_end = ais_log_weights(model, v, [0.0, 1.0], bias_a, gen)
    expected = -model.free_energy(v).detach() - v @ bias_a - n_hidden * math.log(2)
    assert log_w.dtype == torch.float64
    assert torch.allclose(log_w, expected, atol=1e-12, rtol=0)
    assert torch.equal(v_end, v)
    reverse, _ = ais_log_weights(model, v, [1.0, 0.0], bias_a, gen)
    assert torch.allclose(reverse, -expected, atol=1e-12, rtol=0)


@pytest.mark.parametrize("base", ["data", "uniform"])
def test_model_equal_to_its_base_has_zero_weights(base):
    """W = 0, c = 0, b = b_A: every weight is 1 and log Ẑ = log Z_A = exact log Z."""
    data = torch.rand(50, 7, generator=make_generator(0)).lt_(0.3)
    model = RBM(7, 5, weight_std=0.0)
    if base == "data":
        model.init_visible_bias(data)
    est = ais_log_partition(model, n_chains=10, betas=torch.linspace(0, 1, 20), base=base, data=data,
                            progress=False)
    exact = exact_log_partition(model).log_z
    assert abs(est.log_z - exact) < 1e-5
    assert est.lower == pytest.approx(est.log_z, abs=1e-12) and est.upper == pytest.approx(est.log_z, abs=1e-12)
    assert est.ess == pytest.approx(10)


def test_base_rate_bias_is_the_clipped_logit_of_the_marginals():
    data = torch.tensor([[1., 0., 0.], [1., 1., 0.], [1., 0., 0.], [1., 1., 0.]])
    expected = torch.logit(torch.tensor([1 - 1e-3, 0.5, 1e-3], dtype=torch.float64))
    assert torch.allclose(base_rate_bias(data), expected, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_uniform_draws(dtype):
    """The sampler's uniforms: range, grid, mean and a tail frequency within 5 se.

    Failure rate of the three 5-se checks under correct uniforms: about 1.7e-6.
    """
    n = 1_000_001  # odd: the float32 path uses half of its last 64-bit word
    draws = inference.backends.rbm.ais._Uniforms(n, dtype, "cpu", make_generator(0))
    u = torch.cat([draws.draw().clone() for _ in range(3)]).double()
    assert u.shape == (3 * n,) and u.min() >= 0 and u.max() < 1
    if dtype == torch.float32:
        assert torch.equal(u * 2**23, (u * 2**23).round())  # the k / 2^23 grid
    se = math.sqrt(1 / 12 / u.numel())
    assert abs(u.mean().item() - 0.5) < 5 * se
    tail = (u < 0.01).double().mean().item()
    assert abs(tail - 0.01) < 5 * math.sqrt(0.01 * 0.99 / u.numel())
    # neighbours (the two halves of a 64-bit word, for float32) are uncorrelated
    lag1 = torch.corrcoef(torch.stack([u[:-1], u[1:]]))[0, 1].item()
    assert abs(lag1) < 5 / math.sqrt(u.numel())


# -- statistical checks against exact log Z ------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("n_visible, n_hidden", TINY)
def test_forward_ais_brackets_exact_log_z(n_visible, n_hidden, dtype):
    """Exact log Z inside the ±3 se bracket; failure rate ≈ 0.27% per case.

    float32 models draw their uniforms from 64-bit words (two per word), float64 models
    with ``uniform_``: both samplers are exercised.
    """
    model = random_rbm(n_visible, n_hidden, seed=5, dtype=dtype)
    exact = exact_log_partition(model).log_z
    est = ais_log_partition(model, n_chains=500, betas=torch.linspace(0, 1, 501), base="uniform",
                            seed=1, progress=False)
    assert est.method == "ais" and est.n_chains == 500 and 1 <= est.ess <= 500
    assert _inside(est, exact), (est, exact)
    assert abs(est.log_z - exact) <= (est.upper - est.lower) / 2


@pytest.mark.parametrize("n_visible, n_hidden", TINY)
def test_reverse_ais_from_exact_samples_brackets_exact_log_z(n_visible, n_hidden):
    """Reverse AIS started at exact model samples; failure rate ≈ 0.27% per case."""
    model = random_rbm(n_visible, n_hidden, seed=5, dtype=torch.float32)
    exact = exact_log_partition(model).log_z
    init = _exact_samples(model, 500, seed=3)
    est = reverse_ais_log_partition(model, init=init, betas=torch.linspace(0, 1, 501), base="uniform",
                                    seed=1, progress=False)
    assert est.method == "reverse_ais" and est.n_chains == 500
    assert _inside(est, exact), (est, exact)
    assert abs(est.log_z - exact) <= (est.upper - est.lower) / 2


def test_plain_importance_sampling_limit_is_unbiased():
    """betas = [0, 1] is importance sampling from the base; failure rate ≈ 0.27%."""
    model = random_rbm(6, 4, seed=7, dtype=torch.float32)
    exact = exact_log_partition(model).log_z
    est = ais_log_partition(model, n_chains=20000, betas=[0.0, 1.0], base="uniform", seed=2, progress=False)
    assert _inside(est, exact), (est, exact)
    assert est.ess < 20000  # the weights do vary


def test_forward_and_reverse_sandwich_log_z_in_expectation(capsys):
    """E[log Ẑ_forward] < log Z < E[log Ẑ_reverse] (Jensen), seen with single-chain estimates.

    With 11 βs the gaps (≈0.11 nats) are over 10 standard errors of the 4000-chain
    averages, so each strict inequality fails with probability far below 0.13%.
    """
    model = random_rbm(6, 4, seed=0, dtype=torch.float32)
    exact = exact_log_partition(model).log_z
    log_z_a = 10 * math.log(2)  # uniform base: 6 visible + 4 hidden units
    betas = torch.linspace(0, 1, 11, dtype=torch.float64)
    gen = make_generator(1)
    n = 4000
    zero = torch.zeros(6, dtype=torch.float64)
    fwd, _ = ais_log_weights(model, torch.rand(n, 6, generator=gen).lt_(0.5), betas, zero, gen)
    rev, _ = ais_log_weights(model, _exact_samples(model, n, seed=4), betas.flip(0), zero, gen)
    fwd_mean, fwd_se = log_z_a + fwd.mean().item(), fwd.std().item() / math.sqrt(n)
    rev_mean, rev_se = log_z_a - rev.mean().item(), rev.std().item() / math.sqrt(n)
    with capsys.disabled():
        print(f"\n  6x4 RBM, 11 βs, single chains: E[log Ẑ] forward {fwd_mean:.4f} ± {fwd_se:.4f}, "
              f"exact {exact:.4f}, reverse {rev_mean:.4f} ± {rev_se:.4f}")
    assert fwd_mean + 3 * fwd_se < exact < rev_mean - 3 * rev_se


def test_digits_rbm_default_schedule_within_a_tenth_of_a_nat(digits_rbm, digits_log_z, digits):
    """Salakhutdinov & Murray's setting: 100 chains, 14,501 βs, base rates from the data.

    The exact value must be inside the ±3 se bracket (failure rate ≈ 0.27%) and the error
    below 0.1 nats (measured ≈ 0.002, bracket half-width ≈ 0.02).
    """
    est = ais_log_partition(digits_rbm, data=digits, progress=False)
    exact = digits_log_z.log_z
    assert est.n_chains == 100
    assert _inside(est, exact), (est, exact)
    assert abs(est.log_z - exact) <= 0.1


def test_digits_rbm_reverse_ais_from_gibbs_chains(digits_rbm, digits_log_z, digits):
    """Reverse AIS from data-started Gibbs chains (approximate samples), 2,001 βs.

    No exact guarantee here (the starts are approximate); the check is that the estimate is
    within 0.1 nats of exact log Z and its bracket contains it (measured error ≈ 0.01).
    """
    est = reverse_ais_log_partition(digits_rbm, n_chains=100, betas=torch.linspace(0, 1, 2001),
                                    data=digits, burn_in=200, seed=0, progress=False)
    exact = digits_log_z.log_z
    assert _inside(est, exact), (est, exact)
    assert abs(est.log_z - exact) <= 0.1


# -- reproducibility and side effects ------------------------------------------------------

def test_same_seed_same_estimate_and_inputs_untouched():
    model = random_rbm(5, 3, seed=1, dtype=torch.float32)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    data = torch.rand(30, 5, generator=make_generator(0)).lt_(0.5)
    kw = dict(n_chains=20, betas=torch.linspace(0, 1, 50), data=data, progress=False)
    a = ais_log_partition(model, seed=3, **kw)
    assert a == ais_log_partition(model, seed=3, **kw)
    assert a != ais_log_partition(model, seed=4, **kw)
    init = _exact_samples(model, 20, seed=0)
    init_copy = init.clone()
    reverse_ais_log_partition(model, init=init, betas=torch.linspace(0, 1, 50), data=data, progress=False)
    assert torch.equal(init, init_copy)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])


def test_progress_bar_runs(capsys):
    model = RBM(4, 3, seed=0)
    est = ais_log_partition(model, n_chains=4, betas=torch.linspace(0, 1, 301), base="uniform", progress=True)
    assert math.isfinite(est.log_z)
    assert "ais" in capsys.readouterr().err


def test_lower_bound_is_minus_infinity_when_the_bracket_reaches_zero():
    """Two very different weights: mean - 3 se < 0, so lower = -inf."""
    model = random_rbm(6, 4, seed=0, scale=3.0, dtype=torch.float32)
    est = ais_log_partition(model, n_chains=2, betas=[0.0, 1.0], base="uniform", seed=0, progress=False)
    assert est.lower == -math.inf and math.isfinite(est.upper) and math.isfinite(est.log_z)


# -- argument checks -------------------------------------------------------------------------

def test_errors_name_the_argument():
    model = RBM(5, 3, seed=0)
    with pytest.raises(ValueError, match=r"base='data'.*data="):
        ais_log_partition(model, progress=False)
    with pytest.raises(ValueError, match="base must be"):
        ais_log_partition(model, base="flat", progress=False)
    with pytest.raises(ValueError, match=r"shape \(5,\)"):
        ais_log_partition(model, base=torch.zeros(4), progress=False)
    with pytest.raises(ValueError, match="n_chains must be an int >= 2"):
        ais_log_partition(model, n_chains=1, base="uniform", progress=False)
    with pytest.raises(ValueError, match="run from 0"):
        ais_log_partition(model, betas=[0.1, 1.0], base="uniform", progress=False)
    with pytest.raises(ValueError, match="non-decreasing"):
        ais_log_partition(model, betas=[0.0, 0.6, 0.5, 1.0], base="uniform", progress=False)
    with pytest.raises(ValueError, match=r"lie in \[0, 1\]"):
        ais_log_partition(model, betas=[0.0, 1.5, 1.0], base="uniform", progress=False)
    with pytest.raises(ValueError, match="data must have 5 columns"):
        ais_log_partition(model, data=torch.zeros(3, 4), progress=False)
    with pytest.raises(ValueError, match="init must be binary"):
        reverse_ais_log_partition(model, init=torch.full((4, 5), 0.5), base="uniform", progress=False)
    with pytest.raises(ValueError, match="n_chains=3 but init has 4 rows"):
        reverse_ais_log_partition(model, init=torch.zeros(4, 5), n_chains=3, base="uniform", progress=False)
    with pytest.raises(TypeError, match="EnergyModel"):
        ais_log_partition(torch.nn.Linear(5, 3), base="uniform", progress=False)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        ais_log_weights(model, torch.zeros(2, 5), [0.0, 1.0], torch.zeros(5), 0)


def test_docstring_examples():
    result = doctest.testmod(inference.partition.ais)
    assert result.attempted > 0 and result.failed == 0


def test_log_z_base_formula_matches_enumeration():
    """log Z_0 = Σ softplus(b_A) + n_h log 2 (the marginal path's start: base times the 2^n_h
    hidden configurations), checked on an RBM equal to the base model."""
    bias = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64)
    model = RBM(3, 2, weight_std=0.0).double()
    with torch.no_grad():
        model.b.copy_(bias)
    path = make_path(model, bias, func="test")
    assert path.form == "marginal" and set(path.base.factors) == {"v"}
    log_z_0 = log_z_start(path, all_binary_states(3), "test")
    assert log_z_0 == pytest.approx(brute_force_log_z(model).item(), abs=1e-12)
    assert log_z_0 == pytest.approx((F.softplus(bias).sum() + 2 * math.log(2)).item(), abs=1e-12)
