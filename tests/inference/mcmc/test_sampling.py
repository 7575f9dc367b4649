"""Generator-driven draws: ``bernoulli``, ``sample`` and ``make_generator``.

Frequency checks use a bound of 5 standard errors per quantity (two-sided failure rate
5.7e-7 each under a correct sampler); seeds are fixed.
"""

import math

import pytest
import torch
from torch.distributions import Bernoulli, Beta, Categorical, Independent, Normal, OneHotCategorical, Poisson

from inference.mcmc.sampling import bernoulli, make_generator, one_hot_categorical, sample

N = 40_000
Z = 5.0


def _assert_bernoulli_frequencies(x, p, n):
    freq = x.double().mean(0)
    se = (p * (1 - p) / n).sqrt()
    assert torch.all((freq - p).abs() <= Z * se + 1e-12), (freq, p)


def test_bernoulli_frequencies_within_standard_errors():
    p = torch.tensor([0.0, 0.01, 0.3, 0.5, 0.77, 0.999, 1.0], dtype=torch.float64)
    x = bernoulli(p.expand(N, -1), make_generator(0))
    assert x.shape == (N, 7) and x.dtype == torch.float64
    assert torch.all((x == 0) | (x == 1))
    assert torch.all(x[:, 0] == 0) and torch.all(x[:, -1] == 1)
    _assert_bernoulli_frequencies(x, p, N)
    # columns are independent draws: the pair (0.5, 0.3) co-occurs at rate 0.15
    both = (x[:, 3] * x[:, 2]).mean().item()
    assert abs(both - 0.15) < Z * math.sqrt(0.15 * 0.85 / N)


def test_bernoulli_keeps_dtype_and_shape():
    for dtype in (torch.float32, torch.float64):
        p = torch.full((3, 2, 5), 0.5, dtype=dtype)
        x = bernoulli(p, make_generator(0))
        assert x.dtype == dtype and x.shape == (3, 2, 5)
    assert bernoulli(torch.tensor(0.7), make_generator(0)).shape == ()


def test_bernoulli_reproducible_and_independent_of_global_rng():
    p = torch.full((1000,), 0.5)
    a = bernoulli(p, make_generator(7))
    torch.manual_seed(999)
    rng_before = torch.get_rng_state()
    b = bernoulli(p, make_generator(7))
    assert torch.equal(torch.get_rng_state(), rng_before)  # the global generator is not used
    assert torch.equal(a, b)
    assert not torch.equal(a, bernoulli(p, make_generator(8)))
    gen = make_generator(7)
    first, second = bernoulli(p, gen), bernoulli(p, gen)
    assert torch.equal(first, a) and not torch.equal(first, second)  # the generator advances


def test_bernoulli_does_not_modify_probs():
    p = torch.full((100,), 0.4)
    bernoulli(p, make_generator(0))
    assert torch.all(p == 0.4)


def test_sample_bernoulli_from_logits_and_independent():
    logits = torch.tensor([-2.0, 0.0, 3.0], dtype=torch.float64)
    p = torch.sigmoid(logits)
    x = sample(Bernoulli(logits=logits.expand(N, -1)), make_generator(1))
    _assert_bernoulli_frequencies(x, p, N)
    ind = Independent(Bernoulli(probs=p.expand(N, -1)), 1)
    y = sample(ind, make_generator(1))
    assert y.shape == (N, 3)
    _assert_bernoulli_frequencies(y, p, N)
    nested = Independent(Independent(Bernoulli(probs=torch.full((4, 2, 3), 0.5)), 1), 1)
    assert sample(nested, make_generator(0)).shape == (4, 2, 3)


def test_sample_normal_moments_within_standard_errors():
    loc = torch.tensor([-1.0, 0.0, 2.5], dtype=torch.float64)
    scale = torch.tensor([0.5, 1.0, 3.0], dtype=torch.float64)
    x = sample(Normal(loc.expand(N, -1), scale.expand(N, -1)), make_generator(2))
    assert x.shape == (N, 3) and x.dtype == torch.float64
    assert torch.all((x.mean(0) - loc).abs() < Z * scale / math.sqrt(N))
    # sd of the sample sd is ≈ σ / √(2N) for Gaussian data
    assert torch.all((x.std(0) - scale).abs() < Z * scale / math.sqrt(2 * N))


def test_sample_normal_broadcast_and_independent():
    d = Normal(torch.zeros(()), torch.ones(5))  # loc broadcast against scale
    assert sample(d, make_generator(0)).shape == (5,)
    d = Independent(Normal(torch.zeros(6, 4), torch.ones(6, 4)), 1)
    x = sample(d, make_generator(0))
    assert x.shape == (6, 4) and x.dtype == torch.float32
    assert torch.equal(x, sample(d, make_generator(0)))
    assert not torch.equal(x, sample(d, make_generator(1)))
    # a tiny scale returns (almost) the mean
    tight = Normal(torch.arange(3.0, dtype=torch.float64), torch.full((3,), 1e-12, dtype=torch.float64))
    torch.testing.assert_close(sample(tight, make_generator(0)), torch.arange(3.0, dtype=torch.float64),
                               rtol=0, atol=1e-10)


def test_one_hot_categorical_frequencies_within_standard_errors():
    p = torch.tensor([[0.0, 0.2, 0.05, 0.75], [0.25, 0.25, 0.25, 0.25]], dtype=torch.float64)
    x = one_hot_categorical(p.expand(N, -1, -1), make_generator(0))
    assert x.shape == (N, 2, 4) and x.dtype == torch.float64
    assert torch.all(x.sum(-1) == 1) and torch.all((x == 0) | (x == 1))
    assert torch.all(x[:, 0, 0] == 0)  # a class of probability 0 is never drawn
    _assert_bernoulli_frequencies(x.reshape(N, 8), p.reshape(8), N)
    # rows of one draw are independent: classes 3 of row 0 and 1 of row 1 co-occur at 0.1875
    both = (x[:, 0, 3] * x[:, 1, 1]).mean().item()
    assert abs(both - 0.1875) < Z * math.sqrt(0.1875 * 0.8125 / N)


def test_sample_one_hot_categorical_from_logits_and_reproducible():
    d = OneHotCategorical(logits=torch.tensor([[0.0, 1.0, -2.0]]).expand(N, -1), validate_args=False)
    x = sample(d, make_generator(3))
    _assert_bernoulli_frequencies(x.double(), d.probs[0].double(), N)
    assert torch.equal(x, sample(d, make_generator(3)))
    assert not torch.equal(x, sample(d, make_generator(4)))


@pytest.mark.parametrize("dist", [
    Categorical(probs=torch.full((3,), 1 / 3)),
    Beta(torch.ones(2), torch.ones(2)),
    Poisson(torch.ones(2)),
    Independent(Poisson(torch.ones(2, 2)), 1),
], ids=["Categorical", "Beta", "Poisson", "Independent-Poisson"])
def test_sample_rejects_unsupported_distributions(dist):
    name = type(dist.base_dist if isinstance(dist, Independent) else dist).__name__
    with pytest.raises(TypeError, match=rf"no generator-driven sampler for {name}"):
        sample(dist, make_generator(0))


def test_make_generator():
    g = make_generator(3)
    assert isinstance(g, torch.Generator) and g.initial_seed() == 3
    assert torch.equal(torch.rand(5, generator=g), torch.rand(5, generator=make_generator(3)))
    assert make_generator().initial_seed() == 0  # default seed 0
    a, b = make_generator(None), make_generator(None)
    assert not torch.equal(torch.rand(8, generator=a), torch.rand(8, generator=b))  # fresh entropy
    assert make_generator(2**40).initial_seed() == 2**40


@pytest.mark.parametrize("seed,error,shown", [(-1, ValueError, "-1"), (1.5, TypeError, "1.5"), ("3", TypeError, "'3'"),
                                              (True, TypeError, "True"), ([1], TypeError, r"\[1\]")])
def test_make_generator_rejects_bad_seeds(seed, error, shown):
    with pytest.raises(error, match=rf"seed must be an int >= 0, got .*{shown}"):
        make_generator(seed)
