"""Annealing a net of ±1 units (a Hopfield net): the spin base factor and AIS against
enumeration.

The factor's normaliser, density and tempering are checked against closed forms and
enumeration (exact to rounding); its draws by their means (5 standard errors, failure rate
below 1e-6); AIS on a 10-unit Hopfield net by its bracket, the log of the mean weight ∓ 3
standard errors, around the exact log Z (failure rate about 3e-3 if the estimator were
unbiased at this schedule; it is, up to a bias far below the bracket's width here).
"""

import pytest
import torch
from torch.distributions import Bernoulli

import pgm
from inference import ais_log_partition, exact_log_partition
from inference.mcmc.sampling import make_generator
from inference.partition import FactorisedBase, SpinFactor
from models import Hopfield

F64 = torch.float64


def _spins(n):
    bits = torch.arange(2**n)[:, None].bitwise_right_shift(torch.arange(n)).bitwise_and(1)
    return bits.to(F64) * 2 - 1


def test_normaliser_density_draws_and_tempering():
    a = torch.tensor([0.4, -1.5, 0.0], dtype=F64)
    f = SpinFactor(a)
    assert f.log_z() == pytest.approx(torch.logsumexp(f.log_density(_spins(3)), 0).item(), abs=1e-12)
    n = 200_000
    draws = f.sample(n, make_generator(0))
    assert set(draws.unique().tolist()) == {-1.0, 1.0}
    mean, var = torch.tanh(a), 1 - torch.tanh(a) ** 2
    assert ((draws.mean(0) - mean).abs() < 5 * (var / n).sqrt()).all()
    # the conditional of s = +1 times p_A^w: logits gain 2 w a (e^{a s} at s = ±1)
    out = f.temper(Bernoulli(logits=torch.ones(3, dtype=F64)), 0.25)
    assert torch.allclose(out.logits, 1 + 0.5 * a)
    with pytest.raises(TypeError, match="spin base factor needs a Bernoulli"):
        f.temper(torch.distributions.Normal(0.0, 1.0), 0.5)


def test_fit_and_uniform_spin_factors():
    graph = pgm.Graph([pgm.VariableGroup("v", 2, "spin", observed=True)], [pgm.Edge("v", "v", directed=False)])
    data = torch.tensor([[1., -1.], [1., 1.], [-1., -1.], [1., -1.]])
    f = FactorisedBase.fit(graph, "v", data).factors["v"]
    assert isinstance(f, SpinFactor)
    assert torch.allclose(torch.tanh(f.logits), data.to(F64).mean(0))  # the fitted marginals
    assert FactorisedBase.uniform(graph, ["v"]).log_z() == pytest.approx(2 * torch.log(torch.tensor(2.0)).item())
    with pytest.raises(ValueError, match=r"values in \{-1, \+1\}"):
        FactorisedBase.fit(graph, "v", torch.tensor([[0.0, 1.0]]))


@pytest.mark.parametrize("base", ["uniform", "data"])
def test_ais_brackets_the_exact_log_z_of_a_hopfield_net(base, one_thread):
    gen = torch.Generator().manual_seed(3)
    patterns = (torch.rand(3, 10, generator=gen) < 0.5).float() * 2 - 1
    net = Hopfield(10, "hebbian")
    net.store(patterns)
    exact = exact_log_partition(net).log_z
    betas = torch.linspace(0, 1, 1001, dtype=F64)
    est = ais_log_partition(net, n_chains=200, betas=betas, base=base, data=patterns, seed=1, progress=False)
    assert est.lower <= exact <= est.upper
    assert est.upper - est.lower < 0.2  # an informative bracket, not a vacuous one
