"""The factorised base of an annealing path: normalisers, draws, tempering, fitting, checks.

Deterministic checks against closed forms and enumeration/quadrature (exact to rounding);
one statistical check of the draws (5 standard errors, failure rate below 1e-6).
"""

import doctest
import math

import pytest
import torch
from torch.distributions import Bernoulli, Independent, Normal

import pgm
from inference.mcmc.sampling import make_generator
from inference.partition import BernoulliFactor, FactorisedBase, NormalFactor, base_rate_bias
from tests.oracles import all_binary_states

F64 = torch.float64


def test_bernoulli_factor_normaliser_and_density_match_enumeration():
    logits = torch.tensor([0.3, -1.2, 2.0], dtype=F64)
    f = BernoulliFactor(logits)
    x = all_binary_states(3)
    assert f.log_z() == pytest.approx(torch.logsumexp(f.log_density(x), 0).item(), abs=1e-12)


def test_normal_factor_normaliser_matches_quadrature():
    mean, std = torch.tensor([0.5, -2.0], dtype=F64), torch.tensor([0.3, 2.5], dtype=F64)
    f = NormalFactor(mean, std)
    total = 0.0
    for i in range(2):  # the density factorises: one trapezoid rule per unit
        unit = NormalFactor(mean[i:i + 1], std[i:i + 1])
        grid = torch.linspace(mean[i] - 12 * std[i], mean[i] + 12 * std[i], 20001, dtype=F64)
        total += math.log(torch.trapezoid(unit.log_density(grid[:, None]).exp(), grid).item())
    assert f.log_z() == pytest.approx(total, abs=1e-9)


def test_bernoulli_tempering_adds_logits():
    """p(x) ∝ p_β(x | rest) · p_A(x)^(1−β): compared with enumeration of one group."""
    gen = make_generator(0)
    model_logits = torch.randn(2, 3, generator=gen, dtype=F64)
    a = torch.randn(3, generator=gen, dtype=F64)
    base = FactorisedBase({"v": BernoulliFactor(a)})
    beta = 0.3
    dist = base.temper("v", Independent(Bernoulli(logits=beta * model_logits), 1), beta)
    x = all_binary_states(3)
    for r in range(2):
        log_w = x @ (beta * model_logits[r]) + (1 - beta) * (x @ a)
        expected = log_w - torch.logsumexp(log_w, 0)
        got = dist.log_prob(x.unsqueeze(1)).sum(-1)[:, r]
        assert torch.allclose(got, expected, atol=1e-12)
    assert base.temper("v", dist, 1.0) is dist
    assert base.temper("h", dist, 0.5) is dist  # no factor on h


def test_normal_tempering_multiplies_densities_also_at_infinite_scale():
    """log q(x) − log q(x') = [log N_β(x) − log N_β(x')] + (1−β)[log p̃_A(x) − log p̃_A(x')]."""
    gen = make_generator(1)
    loc, scale = torch.randn(4, 2, generator=gen, dtype=F64), torch.rand(4, 2, generator=gen, dtype=F64) + 0.2
    mean, std = torch.tensor([1.0, -0.5], dtype=F64), torch.tensor([0.7, 2.0], dtype=F64)
    f = NormalFactor(mean, std)
    base = FactorisedBase({"v": f})
    x, y = torch.randn(4, 2, generator=gen, dtype=F64), torch.randn(4, 2, generator=gen, dtype=F64)
    for beta in (0.2, 0.9):
        model = Normal(loc, scale)
        q = base.temper("v", model, beta)
        lhs = q.log_prob(x) - q.log_prob(y)
        rhs = model.log_prob(x) - model.log_prob(y) + (1 - beta) * (
            -0.5 * ((x - mean) / std) ** 2 + 0.5 * ((y - mean) / std) ** 2)
        assert torch.allclose(lhs, rhs, atol=1e-12)
    # β = 0: the model's conditional is flat (infinite scale); the base alone remains
    flat = Normal(loc, torch.full_like(loc, math.inf), validate_args=False)
    q = base.temper("v", flat, 0.0)
    assert torch.allclose(q.loc, mean.expand(4, 2), atol=1e-15) and torch.allclose(q.scale, std.expand(4, 2))


def test_tempering_needs_the_matching_conditional():
    base = FactorisedBase({"v": BernoulliFactor(torch.zeros(2, dtype=F64)),
                           "x": NormalFactor(torch.zeros(2, dtype=F64), torch.ones(2, dtype=F64))})
    with pytest.raises(TypeError, match="Bernoulli base factor needs a Bernoulli conditional, got Normal"):
        base.temper("v", Normal(torch.zeros(2), torch.ones(2)), 0.5)
    with pytest.raises(TypeError, match="Normal base factor needs a Normal or MultivariateNormal conditional, got Bernoulli"):
        base.temper("x", Bernoulli(logits=torch.zeros(2)), 0.5)


def test_draws_follow_the_factors():
    """Means of 200,000 draws within 5 standard errors (failure rate below 1e-6)."""
    n = 200_000
    gen = make_generator(2)
    logits = torch.tensor([-1.0, 0.0, 2.0], dtype=F64)
    mean, std = torch.tensor([3.0, -1.0], dtype=F64), torch.tensor([0.5, 2.0], dtype=F64)
    draws = FactorisedBase({"v": BernoulliFactor(logits), "x": NormalFactor(mean, std)}).sample(n, gen)
    p = torch.sigmoid(logits)
    assert set(draws["v"].unique().tolist()) == {0.0, 1.0}
    assert ((draws["v"].mean(0) - p).abs() < 5 * (p * (1 - p) / n).sqrt()).all()
    assert ((draws["x"].mean(0) - mean).abs() < 5 * std / math.sqrt(n)).all()


def test_fit_and_uniform_factors():
    graph = pgm.Graph([pgm.VariableGroup("v", 3, "bernoulli", observed=True), pgm.VariableGroup("g", 2, "gaussian"),
                       pgm.VariableGroup("c", 2, "categorical")], [pgm.Edge("v", "g")])
    data = torch.tensor([[1., 0., 0.], [1., 1., 0.], [1., 0., 0.], [1., 1., 0.]])
    assert torch.equal(FactorisedBase.fit(graph, "v", data).factors["v"].logits, base_rate_bias(data))
    real = torch.tensor([[1.0, 5.0], [3.0, 5.0]])
    f = FactorisedBase.fit(graph, "g", real).factors["g"]
    assert torch.allclose(f.mean, torch.tensor([2.0, 5.0], dtype=F64))
    assert torch.allclose(f.std, torch.tensor([1.0, 1e-3], dtype=F64))  # population std, floored
    uni = FactorisedBase.uniform(graph, ["v", "g"])
    assert uni.log_z() == pytest.approx(3 * math.log(2) + math.log(2 * math.pi), abs=1e-12)
    with pytest.raises(TypeError, match="group 'c' of kind 'categorical'"):
        FactorisedBase.uniform(graph, ["c"])


def test_bad_factors_are_refused():
    with pytest.raises(TypeError, match="non-empty dict"):
        FactorisedBase({})
    with pytest.raises(TypeError, match="BernoulliFactor or NormalFactor"):
        FactorisedBase({"v": torch.zeros(3)})
    with pytest.raises(TypeError, match="1-D floating tensor"):
        FactorisedBase({"v": BernoulliFactor(torch.zeros(2, 3))})
    with pytest.raises(ValueError, match="finite"):
        FactorisedBase({"v": BernoulliFactor(torch.tensor([math.inf]))})
    with pytest.raises(ValueError, match="positive std"):
        FactorisedBase({"v": NormalFactor(torch.zeros(2), torch.tensor([1.0, 0.0]))})


def test_docstring_examples():
    import inference.partition.base

    result = doctest.testmod(inference.partition.base)
    assert result.attempted > 0 and result.failed == 0
