"""EnergyDistribution: an energy model's visible marginal as a Pyro distribution."""

from __future__ import annotations

import math

import pyro
import pyro.distributions as dist
import pytest
import torch
from pyro import poutine
from pyro.infer import Predictive

from inference import EnergyDistribution, ais_log_partition, exact_log_partition, make_generator
from models import DBM
from tests.oracles import all_binary_states, brute_force_marginal_v, chi_square_gof, state_index, random_rbm

ALPHA = 1e-3  # failure rate of each goodness-of-fit test under a correct sampler


@pytest.fixture
def rbm():
    return random_rbm(4, 3, seed=3, dtype=torch.float32)


def test_log_prob_is_the_exact_marginal(rbm):
    d = EnergyDistribution(rbm, log_z=exact_log_partition(rbm), validate_args=True)
    x = all_binary_states(4, torch.float32)
    lp = d.log_prob(x)
    assert lp.dtype == torch.float64 and lp.shape == (16,)
    torch.testing.assert_close(lp, brute_force_marginal_v(rbm).log(), atol=1e-5, rtol=0)


def test_shapes_support_and_broadcasting(rbm):
    d = EnergyDistribution(rbm, log_z=exact_log_partition(rbm), n_gibbs=5)
    assert d.event_shape == (4,) and d.batch_shape == () and not d.has_rsample
    assert d.support.check(torch.tensor([[0., 1., 1., 0.]])).all()
    e = d.expand((2, 3))
    assert e.batch_shape == (2, 3) and e.sample((5,)).shape == (5, 2, 3, 4)
    x = torch.zeros(3, 4)
    assert e.log_prob(x).shape == (2, 3)  # value batch (3,) broadcast against (2, 3)
    torch.testing.assert_close(e.log_prob(x)[1], d.log_prob(x))
    assert d.sample().shape == (4,) and d.sample((0,)).shape == (0, 4)


def test_validate_args_refuses_values_outside_the_support(rbm):
    d = EnergyDistribution(rbm, log_z=exact_log_partition(rbm), validate_args=True)
    with pytest.raises(ValueError, match="support"):
        d.log_prob(torch.full((2, 4), 0.5))
    with pytest.raises(ValueError):
        d.log_prob(torch.zeros(2, 5))
    loose = EnergyDistribution(rbm, log_z=exact_log_partition(rbm), validate_args=False)
    assert loose.log_prob(torch.full((2, 4), 0.5)).shape == (2,)  # mean-field values, unchecked


def test_gibbs_draws_follow_the_marginal(rbm):
    d = EnergyDistribution(rbm, n_gibbs=30, generator=make_generator(0))
    x = d.sample((6000,))
    counts = torch.bincount(state_index(x), minlength=16)
    _, _, p = chi_square_gof(counts.numpy(), brute_force_marginal_v(rbm).numpy())
    assert p > ALPHA


def test_thinned_chains_follow_the_marginal(rbm):
    d = EnergyDistribution(rbm, n_gibbs=30, thin=5, n_chains=1000, generator=make_generator(1))
    x = d.sample((6000,))  # 6 draws per chain, 5 sweeps apart
    counts = torch.bincount(state_index(x), minlength=16)
    _, _, p = chi_square_gof(counts.numpy(), brute_force_marginal_v(rbm).numpy())
    assert p > ALPHA


def test_a_generator_reproduces_and_pyro_seed_reproduces(rbm):
    a = EnergyDistribution(rbm, n_gibbs=5, generator=make_generator(4)).sample((7,))
    b = EnergyDistribution(rbm, n_gibbs=5, generator=make_generator(4)).sample((7,))
    assert torch.equal(a, b)
    d = EnergyDistribution(rbm, n_gibbs=5)
    pyro.set_rng_seed(9)
    c = d.sample((7,))
    pyro.set_rng_seed(9)
    assert torch.equal(c, d.sample((7,)))


def _program(d, n):
    with pyro.plate("data", n):
        h = pyro.sample("h2", d)
        pyro.sample("v", dist.Bernoulli(logits=h @ torch.ones(4, 2)).to_event(1))


def test_in_a_pyro_program_under_plate_trace_and_predictive(rbm):
    d = EnergyDistribution(rbm, log_z=exact_log_partition(rbm), n_gibbs=10)
    tr = poutine.trace(_program).get_trace(d, 6)
    site = tr.nodes["h2"]
    assert site["value"].shape == (6, 4) and site["fn"].batch_shape == (6,)
    tr.compute_log_prob()
    torch.testing.assert_close(site["log_prob"], d.log_prob(site["value"]))
    cond = poutine.condition(_program, data={"h2": torch.ones(6, 4)})
    tr = poutine.trace(cond).get_trace(d, 6)
    assert tr.nodes["h2"]["is_observed"]
    torch.testing.assert_close(tr.log_prob_sum(), tr.nodes["h2"]["fn"].log_prob(torch.ones(6, 4)).sum()
                               + tr.nodes["v"]["fn"].log_prob(tr.nodes["v"]["value"]).sum())
    out = Predictive(_program, num_samples=3)(d, 6)
    assert out["h2"].shape == (3, 6, 4) and out["v"].shape == (3, 6, 2)
    out = Predictive(_program, num_samples=3, parallel=True)(d, 6)
    assert out["h2"].shape[-2:] == (6, 4) and out["h2"].shape[0] == 3


def test_log_prob_refuses_a_stale_log_z(rbm):
    d = EnergyDistribution(rbm, log_z=exact_log_partition(rbm))
    with torch.no_grad():
        rbm.W.add_(0.1)
    with pytest.raises(ValueError, match="changed"):
        d.log_prob(torch.zeros(1, 4))


def test_without_log_z_it_samples_but_has_no_log_prob(rbm):
    d = EnergyDistribution(rbm, n_gibbs=2)
    assert d.sample((3,)).shape == (3, 4)
    with pytest.raises(ValueError, match="log_z"):
        d.log_prob(torch.zeros(1, 4))


def test_the_ais_bracket_maps_onto_log_prob(rbm):
    lz = ais_log_partition(rbm, n_chains=50, betas=torch.linspace(0, 1, 50, dtype=torch.float64),
                           base="uniform", progress=False)
    d = EnergyDistribution(rbm, log_z=lz)
    x = all_binary_states(4, torch.float32)
    lo, hi = d.log_prob_bracket(x)
    assert (lo <= d.log_prob(x)).all() and (d.log_prob(x) <= hi).all()
    torch.testing.assert_close(hi - lo, torch.full((16,), lz.upper - lz.lower, dtype=torch.float64))


@pytest.mark.parametrize("bad, error, match", [
    (dict(model=torch.nn.Linear(2, 2)), TypeError, "EnergyModel"),
    (dict(log_z=3.0), TypeError, "log_z"),
    (dict(n_gibbs=-1), ValueError, "n_gibbs"),
    (dict(thin=0), ValueError, "thin"),
    (dict(n_chains=0), ValueError, "n_chains"),
    (dict(generator=0), TypeError, "generator"),
])
def test_bad_arguments(rbm, bad, error, match):
    kwargs = {"model": rbm, **bad}
    with pytest.raises(error, match=match):
        EnergyDistribution(kwargs.pop("model"), **kwargs)


def test_a_model_without_free_energy_is_refused():
    with pytest.raises(TypeError, match="free energy"):
        EnergyDistribution(DBM([4, 3, 2], seed=0))


def test_log_prob_at_the_edges_of_real_valued_data():
    """Gaussian visible units: an infinite coordinate has density 0 (log_prob −inf, not
    NaN), a finite one beyond float32's range the float64 value (≈ −5e59, not −inf),
    no rows an empty result, NaN refused (or NaN without validation); complex values are
    refused rather than cut to their real part."""
    import copy

    from models import GaussianRBM

    grbm = GaussianRBM(6, 3, seed=0)
    d = EnergyDistribution(grbm, exact_log_partition(grbm))
    x = torch.randn(4, 6, generator=torch.Generator().manual_seed(0))
    x[0, 0], x[1, 2], x[2, 5] = math.inf, -math.inf, 1e30
    lp = d.log_prob(x).detach()
    assert lp[0] == -math.inf and lp[1] == -math.inf
    grbm64 = copy.deepcopy(grbm).double()
    reference = EnergyDistribution(grbm64, exact_log_partition(grbm64)).log_prob(x[2:].double()).detach()
    assert math.isfinite(lp[2]) and lp[2] < -1e59
    torch.testing.assert_close(lp[2:], reference, rtol=1e-6, atol=1e-4)
    nan = x[3:].clone()
    nan[0, 1] = math.nan
    with pytest.raises(ValueError, match="support"):
        d.log_prob(nan)
    assert EnergyDistribution(grbm, exact_log_partition(grbm), validate_args=False).log_prob(nan).isnan().all()
    assert d.log_prob(torch.zeros(0, 6)).shape == (0,) and d.log_prob(torch.zeros(2, 0, 6)).shape == (2, 0)
    with pytest.raises(TypeError, match="imaginary part"):
        d.log_prob(x[3:].to(torch.complex64))


def test_log_prob_of_no_rows_of_binary_data(rbm):
    d = EnergyDistribution(rbm, log_z=exact_log_partition(rbm), validate_args=True)
    assert d.log_prob(torch.zeros(0, 4)).shape == (0,)
