"""Stepped-sigmoid and NReLU hidden units (models/energy/rectified.py) against brute force.

The oracle is the explicit copy model: an RBM (or Gaussian RBM) with N binary hidden units
per stepped unit, weights tied and biases c − k + ½. Summing its copies by count must give
the count model's energies, free energies and log Z exactly.
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from inference import make_generator
from inference.backends import fast_path
from inference.learning.contrastive import CD
from inference.mcmc import gibbs
from inference.partition import exact_log_partition
from inference.partition.ais import ais_log_partition
from models.energy import RBM, GaussianRBM
from models.energy.rectified import NoisyReLU, SteppedSigmoid, log_multiplicity
from tests.oracles import random_gaussian_rbm, random_rbm

Z5 = 5.0  # 5 standard errors: a two-sided false alarm rate of 6e-7 per compared value


def copy_model(model):
    """The binary model with N copies per stepped unit (copy k of unit j: column j·N + k − 1)."""
    N = model.n_steps
    offsets = (torch.arange(1, N + 1, dtype=torch.float64) - 0.5).repeat(model.n_hidden)
    if isinstance(model, GaussianRBM):
        out = GaussianRBM(model.n_visible, model.n_hidden * N, learn_sigma=model.learn_sigma,
                          min_sigma=model.min_sigma, max_sigma=model.max_sigma).double()
        with torch.no_grad():
            for name in ("b", "log_sigma", "shift", "scale"):
                getattr(out, name).copy_(getattr(model, name))
    else:
        out = RBM(model.n_visible, model.n_hidden * N).double()
        with torch.no_grad():
            out.b.copy_(model.b)
    with torch.no_grad():
        out.W.copy_(model.W.repeat_interleave(N, 1))
        out.c.copy_(model.c.double().repeat_interleave(N) - offsets)
    return out


def all_counts(n_hidden, N):
    return torch.tensor(list(itertools.product(range(N + 1), repeat=n_hidden)), dtype=torch.float64)


@pytest.mark.parametrize("N", [1, 2, 3, 6])
def test_log_multiplicity_sums_over_which_copies_are_on(N):
    for n in range(N + 1):
        brute = math.log(sum(math.exp(-sum(k - 0.5 for k in s)) for s in itertools.combinations(range(1, N + 1), n)))
        assert float(log_multiplicity(torch.tensor(float(n), dtype=torch.float64), N)) == pytest.approx(brute, abs=1e-12)


def test_log_multiplicity_between_counts_is_continuous():
    n = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    for eps in (1e-7, -1e-7):
        torch.testing.assert_close(log_multiplicity(n + eps, 4), log_multiplicity(n, 4), atol=1e-5, rtol=0)
    mid = log_multiplicity(torch.tensor([1.5], dtype=torch.float64), 4)
    assert torch.isfinite(mid).all()


def test_count_law_is_the_sum_of_the_copies():
    """SteppedSigmoid(x, N) at β = 1 is the Poisson-binomial law of Σ_k Bernoulli(σ(x − k + ½))."""
    x = torch.tensor([[-2.0, 0.3, 1.7, 4.0]], dtype=torch.float64)
    N = 5
    dist = SteppedSigmoid(x, N)
    law = torch.zeros(*x.shape, N + 1, dtype=torch.float64)
    law[..., 0] = 1
    for k in range(1, N + 1):
        p = torch.sigmoid(x - k + 0.5).unsqueeze(-1)
        law = law * (1 - p) + torch.nn.functional.pad(law[..., :-1], (1, 0)) * p
    torch.testing.assert_close(dist.probs, law, atol=1e-12, rtol=0)
    torch.testing.assert_close(dist.mean, sum(torch.sigmoid(x - k + 0.5) for k in range(1, N + 1)))


def test_count_draws_follow_the_count_law():
    x = torch.tensor([[-0.5, 1.2, 3.0]], dtype=torch.float64).expand(40000, 3)
    dist = SteppedSigmoid(x, 4)
    draws = dist.sample_with(make_generator(3))
    freq = torch.stack([(draws == n).double().mean(0) for n in range(5)], -1)
    p = dist.probs[0]
    se = (p * (1 - p) / x.shape[0]).sqrt().clamp(min=1e-4)
    assert ((freq - p).abs() <= Z5 * se).all()


def test_nrelu_mean_and_masses():
    """The NReLU mean and log_prob against quadrature of the clipped normal, and its draws."""
    x = torch.tensor([[-1.0, 0.5, 2.0, 5.5]], dtype=torch.float64)
    N = 6
    dist = NoisyReLU(x, N)
    t = torch.linspace(0, N, 200001, dtype=torch.float64)[:, None]
    dens = torch.distributions.Normal(dist.loc, dist.scale).log_prob(t).exp()  # the part on (0, N)
    inside = (t > 0) & (t < N)
    torch.testing.assert_close(dist.log_prob(t.expand(-1, 4))[inside[:, 0]].exp(), dens[inside[:, 0]])
    inner = torch.trapezoid(dens, t[:, 0], dim=0)
    at_n = dist.log_prob(torch.full((1, 4), float(N), dtype=torch.float64)).exp()[0]
    mass = dist.log_prob(torch.zeros(1, 4, dtype=torch.float64)).exp()[0] + at_n
    torch.testing.assert_close(inner + mass, torch.ones(4, dtype=torch.float64), atol=1e-8, rtol=0)
    mean = torch.trapezoid(dens * t, t[:, 0], dim=0) + N * at_n
    torch.testing.assert_close(dist.mean[0], mean, atol=1e-8, rtol=0)
    draws = NoisyReLU(x.expand(20000, 4), N).sample_with(make_generator(5))
    assert ((draws >= 0) & (draws <= N)).all()
    se = draws.std(0) / math.sqrt(draws.shape[0])
    assert ((draws.mean(0) - dist.mean[0]).abs() <= Z5 * se).all()


@pytest.mark.parametrize("cls", ["rbm", "grbm"])
def test_energy_free_energy_and_log_z_equal_the_copy_model(cls):
    N = 3
    make = random_rbm if cls == "rbm" else random_gaussian_rbm
    model = make(3, 2, seed=21, scale=0.8, hidden="stepped", n_steps=N)
    copies = copy_model(model)
    v = make(3, 2, seed=22).conditional("v", {"h": torch.ones(5, 2, dtype=torch.float64)}).sample()
    torch.testing.assert_close(model.free_energy(v), copies.free_energy(v), atol=1e-10, rtol=0)
    # energy of counts = −log Σ over the copy states with those counts of exp(−E_copies)
    bits = torch.tensor(list(itertools.product([0.0, 1.0], repeat=2 * N)), dtype=torch.float64)
    counts = bits.reshape(-1, 2, N).sum(-1)
    for row in range(v.shape[0]):
        vv = v[row:row + 1].expand(bits.shape[0], -1)
        e_copies = copies.energy({"v": vv, "h": bits})
        for c in all_counts(2, N):
            pick = (counts == c).all(-1)
            want = -torch.logsumexp(-e_copies[pick], 0)
            got = model.energy({"v": v[row:row + 1], "h": c[None]})
            torch.testing.assert_close(got[0], want, atol=1e-10, rtol=0)
    exact = exact_log_partition(model).log_z
    assert exact == pytest.approx(exact_log_partition(copies).log_z, abs=1e-9)
    by_counts = torch.logsumexp(-model.free_energy_hidden(all_counts(2, N)).detach(), 0)
    assert float(by_counts) == pytest.approx(exact, abs=1e-9)


def test_exact_log_z_enumerates_counts_for_the_gaussian_rbm():
    from inference.partition.exact import enumeration_set

    model = random_gaussian_rbm(2, 3, seed=23, hidden="stepped", n_steps=4)
    chosen, n = enumeration_set(model)  # 5^3 count states: log2 of their number, 3 log2 5 units
    assert chosen == ("h",) and n == pytest.approx(3 * math.log2(5))


def test_stepped_gibbs_chains_sample_the_exact_visible_marginal():
    """Independent chains after 30 sweeps: the frequency of every visible state within 5
    standard errors of its exact probability (burn-in checked far beyond mixing: the
    exact conditionals of a 3×2 model mix in a few sweeps)."""
    model = random_rbm(3, 2, seed=24, scale=0.7, hidden="stepped", n_steps=3)
    vs = torch.tensor(list(itertools.product([0.0, 1.0], repeat=3)), dtype=torch.float64)
    p = torch.softmax(-model.free_energy(vs).detach(), 0)
    n = 20000
    gen = make_generator(7)
    state = gibbs.init(model, n, gen)
    for _ in range(30):
        state = gibbs.step(model, state, gen)
    v = state.values["v"]
    freq = torch.stack([(v == s).all(-1).double().mean() for s in vs])
    se = (p * (1 - p) / n).sqrt()
    assert ((freq - p).abs() <= Z5 * se).all()


def test_ais_brackets_the_exact_log_z_of_a_stepped_gaussian_rbm():
    model = random_gaussian_rbm(3, 2, seed=25, scale=0.6, hidden="stepped", n_steps=3).float()
    exact = exact_log_partition(model).log_z
    data = torch.randn(50, 3, generator=torch.Generator().manual_seed(0))
    est = ais_log_partition(model, n_chains=200, betas=torch.linspace(0, 1, 300), data=data, seed=1,
                             progress=False)
    assert est.lower - 0.05 <= exact <= est.upper + 0.05


def test_fit_trains_a_stepped_rbm_through_the_free_energy(one_thread):
    from inference import fit

    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(1, 6, generator=gen) < 0.5).float()
    proto = torch.cat([x, 1 - x])  # two complementary patterns: the marginals alone are uniform
    data = proto[torch.randint(2, (200,), generator=gen)]
    data = torch.where(torch.rand(data.shape, generator=gen) < 0.05, 1 - data, data)
    model = RBM.from_data(data, 3, seed=0, hidden="stepped", n_steps=4)
    assert fast_path(model, CD().backend_request()) is None  # the binary RBM's kernels do not apply

    def nll(m):
        return float(m.free_energy(data).mean().detach()) + exact_log_partition(m).log_z

    before = nll(model)
    fit(model, data, method="cd", epochs=20, lr=0.05, progress=False)
    after = nll(model)  # 4.16 nats before; the data's entropy is log 2 + 6 H(0.05) = 1.89
    assert after < before - 1.0, (before, after)


def test_binary_models_keep_their_configuration():
    for model in (RBM(4, 3, seed=0), GaussianRBM(4, 3, seed=0)):
        cfg = model.config()
        assert "hidden" not in cfg and "n_steps" not in cfg
        assert model.graph["h"].kind == "bernoulli"
        assert type(model)(**cfg).config() == cfg
    stepped = RBM(4, 3, seed=0, hidden="nrelu", n_steps=7)
    assert stepped.config()["hidden"] == "nrelu" and stepped.config()["n_steps"] == 7
    assert stepped.graph["h"].kind == "count"
    assert set(stepped.state_dict()) == set(RBM(4, 3).state_dict())
    exact = stepped.with_hidden("stepped")
    assert (exact.hidden, exact.n_steps) == ("stepped", 7)
    assert isinstance(exact.conditional("h", {"v": torch.ones(2, 4)}), SteppedSigmoid)
    v = torch.tensor([[1.0, 0.0, 1.0, 1.0]])
    torch.testing.assert_close(exact.free_energy(v), stepped.free_energy(v))
    assert stepped.with_hidden("binary").config() == RBM(4, 3, seed=0).config()


@pytest.mark.parametrize("kwargs, match", [
    ({"hidden": "relu"}, "hidden must be one of"),
    ({"hidden": "stepped", "n_steps": 0}, "n_steps must be an int >= 1"),
    ({"n_steps": 3}, "binary hidden units take none"),
])
def test_bad_hidden_arguments(kwargs, match):
    for cls in (RBM, GaussianRBM):
        with pytest.raises((ValueError, TypeError), match=match):
            cls(4, 3, **kwargs)


def test_counts_out_of_range_are_refused():
    model = RBM(2, 2, hidden="stepped", n_steps=3)
    with pytest.raises(ValueError, match=r"counts in \[0, 3\]"):
        model.energy({"v": torch.zeros(1, 2), "h": torch.tensor([[4.0, 0.0]])})
