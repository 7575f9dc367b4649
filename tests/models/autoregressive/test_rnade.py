"""RNADE: the density integrates to 1, one pass equals the program and the defining sum,
sampling and in-painting match the density, checks, training on the dequantised digits.

Seed policy: the tiny models and the sampling generators are seeded, so every test is
deterministic. Each statistical threshold is one that a fresh sampling seed fails with
probability at most ALPHA; the power checks (the same statistic rejecting a wrong
distribution) are claims about these seeded models.
"""

import doctest
import math

import numpy as np
import pyro.poutine as poutine
import pytest
import torch
from scipy import stats

import pgm
from models.autoregressive import rnade
from models.autoregressive.rnade import RNADE

ALPHA = 1e-3  # failure rate of each statistical test below

CASES = [("gaussian", "relu"), ("laplace", "sigmoid")]


def _tiny(components="gaussian", activation="relu", ordering=(1, 0), seed=0):
    """A float64 RNADE with every parameter perturbed at random (so that nothing is at its
    symmetric initial value: c ≠ 0, ρ ≠ 1, weights of both signs), and V^σ small: log σ is
    linear in h, so that the conditional scales stay moderate over the quadrature grid."""
    m = RNADE(len(ordering), 4, list(ordering), n_components=3,
              components=components, activation=activation, weight_std=0.6, seed=seed).double()
    gen = torch.Generator().manual_seed(seed + 100)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.4 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
        m.V_sigma.mul_(0.2)
        m.b_sigma.sub_(0.5)
    return m


def _grid(m, half_width=12.0, step=0.04):
    """The density of a D = 2 model on a square grid: (axis, p) with p[i, j] = p(x_0 = axis[i],
    x_1 = axis[j]), and the trapezoid weights of the axis."""
    axis = torch.arange(-half_width, half_width + step / 2, step, dtype=torch.float64)
    x0, x1 = torch.meshgrid(axis, axis, indexing="ij")
    with torch.no_grad():
        p = m.log_prob(torch.stack([x0.flatten(), x1.flatten()], -1)).exp().reshape(x0.shape)
    w = torch.full_like(axis, step)
    w[0] = w[-1] = step / 2
    return axis, p, w


def _integral(p, w, f=None):
    return float(w @ (p if f is None else p * f) @ w)


def _cdf(density, axis):
    """The CDF (at ``axis``) of a density given on the grid, by the cumulative trapezoid rule,
    normalised, as a function for scipy's kstest."""
    steps = (density[1:] + density[:-1]) / 2 * torch.diff(axis)
    cdf = torch.cat([density.new_zeros(1), torch.cumsum(steps, 0)])
    cdf = (cdf / cdf[-1]).numpy()
    return lambda t: np.interp(t, axis.numpy(), cdf)


@pytest.mark.parametrize("components,activation", CASES)
def test_density_integrates_to_one(one_thread, components, activation):
    axis, p, w = _grid(_tiny(components, activation))
    # the trapezoid rule is exact to ~1e-9 on these smooth Gaussian mixtures; the Laplace
    # components' kinks (at means that move with x_1) leave an O(step²) error
    assert abs(_integral(p, w) - 1) < (1e-6 if components == "gaussian" else 5e-4)
    assert float(p[[0, -1]].max() + p[:, [0, -1]].max()) < 1e-6  # the grid holds the mass


@pytest.mark.parametrize("components,activation", CASES)
def test_one_pass_equals_the_program_and_the_defining_sum(components, activation):
    m = _tiny(components, activation, ordering=(3, 0, 4, 1, 2), seed=1)
    x = torch.randn(7, 5, generator=torch.Generator().manual_seed(2), dtype=torch.float64) * 2
    lp = m.log_prob(x)
    assert torch.allclose(lp, m.log_prob_naive(x), atol=1e-10)
    trace = poutine.trace(m.model).get_trace(x)
    trace.compute_log_prob()
    sites = [name for name, site in trace.nodes.items() if site["type"] == "sample" and name.startswith("x_")]
    assert sites == [f"x_{d}" for d in (3, 0, 4, 1, 2)]  # the program visits the ordering
    by_site = sum(trace.nodes[f"x_{d}"]["log_prob"] for d in range(5))
    assert torch.allclose(lp, by_site, atol=1e-10)
    per_dim = m.log_prob_dims(x)
    assert torch.allclose(per_dim[:, 3], trace.nodes["x_3"]["log_prob"], atol=1e-10)


def test_log_scales_are_clamped():
    m = _tiny(ordering=(0, 1, 2))
    with torch.no_grad():
        m.b_sigma.fill_(-50.0)
    with torch.no_grad():
        _, _, log_sigma = m.mixture_params(torch.zeros(2, 3, dtype=torch.float64))
    assert float(log_sigma.min()) == rnade.LOG_SCALE_RANGE[0]
    assert torch.isfinite(m.log_prob(torch.randn(4, 3, dtype=torch.float64))).all()


@pytest.mark.parametrize("components,activation", CASES)
def test_sample_moments_match_the_density(one_thread, components, activation):
    m = _tiny(components, activation, seed=3)
    axis, p, w = _grid(m)
    x0, x1 = torch.meshgrid(axis, axis, indexing="ij")
    exact = [_integral(p, w, f) for f in (x0, x1, x0 * x0, x1 * x1, x0 * x1)]
    n = 20000
    s = m.sample(n, torch.Generator().manual_seed(4))
    draws = [s[:, 0], s[:, 1], s[:, 0] ** 2, s[:, 1] ** 2, s[:, 0] * s[:, 1]]
    z = stats.norm.isf(ALPHA / (2 * len(draws)))  # Bonferroni over the five comparisons
    for value, d in zip(exact, draws):
        se = float(d.std()) / math.sqrt(n)
        assert abs(float(d.mean()) - value) < z * se, (value, float(d.mean()), se)


@pytest.mark.parametrize("components,activation", CASES)
def test_inpainting_a_prefix_draws_from_the_exact_conditional(one_thread, components, activation):
    m = _tiny(components, activation, ordering=(1, 0), seed=5)  # x_1 first: observing x_1 is a prefix
    axis, p, w = _grid(m)
    j = int(torch.searchsorted(axis, torch.tensor(0.7, dtype=torch.float64)))
    v = float(axis[j])  # a grid point, so that p[:, j] ∝ p(x_0 | x_1 = v) on the grid
    n = 3000
    s = m.sample(n, torch.Generator().manual_seed(6), observed=torch.tensor([False, True]),
                 values=torch.tensor([0.0, v], dtype=torch.float64))
    assert bool((s[:, 1] == v).all())
    assert stats.kstest(s[:, 0].numpy(), _cdf(p[:, j], axis)).pvalue > ALPHA
    # the test has power: the draws are not from the marginal of x_0
    assert stats.kstest(s[:, 0].numpy(), _cdf(p @ w, axis)).pvalue < ALPHA


def test_bad_input_is_refused():
    m = RNADE(3, 4, n_components=2, seed=0)
    with pytest.raises(ValueError, match="NaN or infinite"):
        m.log_prob(torch.tensor([[0.0, float("nan"), 1.0]]))
    with pytest.raises(ValueError, match="NaN or infinite"):
        RNADE.from_data(torch.tensor([[0.0, 1.0], [float("inf"), 2.0]]), 4)
    with pytest.raises(ValueError, match="3 columns"):
        m.log_prob(torch.zeros(2, 4))
    with pytest.raises(ValueError, match="n_components"):
        RNADE(3, 4, n_components=0)
    with pytest.raises(ValueError, match="components must be one of"):
        RNADE(3, 4, components="student")
    with pytest.raises(ValueError, match="activation must be one of"):
        RNADE(3, 4, activation="tanh")
    with pytest.raises(ValueError, match="n_hidden"):
        RNADE(3, 0)
    with pytest.raises(ValueError, match="permutation"):
        RNADE(3, 4, ordering=[0, 0, 1])
    with pytest.raises(ValueError, match="own ordering only"):
        m.log_prob(torch.zeros(2, 3), member=[2, 1, 0])
    with pytest.raises(ValueError, match="observed dimensions must come first"):
        m.sample(2, observed=torch.tensor([False, True, False]), values=torch.zeros(3))
    with pytest.raises(ValueError, match="at least 2 rows"):
        RNADE.from_data(torch.zeros(1, 3), 4)


def test_config_round_trip_and_parameter_count():
    m = RNADE(5, 6, [4, 3, 2, 1, 0], n_components=3, components="laplace", activation="sigmoid", seed=1)
    copy = RNADE(**m.config())
    copy.load_state_dict(m.state_dict())
    x = torch.randn(4, 5)
    assert torch.equal(copy.log_prob(x), m.log_prob(x))
    assert m.n_parameters == sum(p.numel() for p in m.parameters())
    assert "components='laplace'" in repr(m)


def test_from_data_and_a_few_adam_steps_lower_the_nll(one_thread):
    train = pgm.load_digits(binarize=False, dequantize=True)
    test = pgm.load_digits(binarize=False, dequantize=True, split="test")
    m = RNADE.from_data(train, 16, n_components=3, seed=0)
    q = torch.quantile(train, torch.tensor([0.5 / 3, 1.5 / 3, 2.5 / 3]), dim=0).t()
    assert torch.allclose(m.b_mu, q)
    with torch.no_grad():
        start = -float(m.log_prob(test).mean())
        assert start < -float(RNADE(64, 16, n_components=3, seed=0).log_prob(test).mean())  # beats the default init
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(0)
    for _ in range(30):
        batch = train[torch.randint(0, train.shape[0], (100,), generator=gen)]
        loss = m.training_loss(batch, gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        end = -float(m.log_prob(test).mean())
    assert end < start - 10, (start, end)  # nats per image


def test_graph_and_docstring_examples():
    g = RNADE(4, 3, n_components=2, seed=0).graph
    assert [grp.n_units for grp in g.groups] == [2, 2]
    assert doctest.testmod(rnade, raise_on_error=True).attempted >= 2
