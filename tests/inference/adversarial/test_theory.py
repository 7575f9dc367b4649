"""The theory of the GAN game checked on toys with known densities (Goodfellow et al. 2014,
section 4): the optimal discriminator D* (Proposition 1), C(G) = −log 4 + 2 JSD at D*
(Theorem 1), and the two generator losses' gradients against their closed forms.

Tolerance budget of the trained-D checks: the discriminator is trained by Adam on fresh
batches of 512 (infinite data), so it ends within the jitter of its last steps around the
best MLP rather than at D*; on these toys that jitter is about 0.02 in probability (seeds
0–4 give max |D − D*| of 0.015 to 0.03 in the bulk), and the test allows 0.05."""

import math

import pytest
import torch
from torch.distributions import MultivariateNormal, Normal

from inference.adversarial import (discriminator_loss, generator_criterion, generator_loss, jensen_shannon,
                                   optimal_discriminator, train_discriminator, value_function)
from models.adversarial import GAN

pytestmark = pytest.mark.usefixtures("one_thread")
DATA = Normal(torch.tensor(2.0, dtype=torch.float64), torch.tensor(0.5, dtype=torch.float64))
SCALE, SHIFT = 0.8, 0.5  # G(z) = 0.8 z + 0.5, so p_g = N(0.5, 0.8²)
P_G = Normal(torch.tensor(SHIFT, dtype=torch.float64), SCALE)


def _affine_generator(n_visible, weight, bias):
    g = GAN(n_visible, n_latent=n_visible, hidden=(), output="linear", seed=0).generator
    with torch.no_grad():
        g.net[0].weight.copy_(weight)
        g.net[0].bias.copy_(bias)
    return g


@pytest.fixture(scope="module")
def trained_1d():
    """A discriminator MLP trained alone against the frozen affine generator (one thread:
    the module's fixture runs before the tests' ``one_thread``)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    gan = GAN(1, n_latent=1, hidden=(32, 32), output="linear", seed=0)
    gan.generator = _affine_generator(1, torch.tensor([[SCALE]]), torch.tensor([SHIFT]))
    before = [p.detach().clone() for p in gan.generator.parameters()]
    train_discriminator(gan, lambda n, gen: 2.0 + 0.5 * torch.randn(n, 1, generator=gen), steps=1500,
                        batch_size=512, lr=3e-3, seed=0)
    torch.set_num_threads(threads)
    assert all(torch.equal(a, b) for a, b in zip(before, gan.generator.parameters())), "the generator moved"
    return gan


def test_the_generator_is_the_affine_map_with_the_known_density(trained_1d):
    x = trained_1d.sample(20000, torch.Generator().manual_seed(1)).squeeze(1).double()
    # the sample mean and std within 4 standard errors
    assert abs(float(x.mean()) - SHIFT) < 4 * SCALE / math.sqrt(x.numel())
    assert abs(float(x.std()) - SCALE) < 4 * SCALE / math.sqrt(2 * x.numel())


def test_the_trained_discriminator_is_the_optimal_one(trained_1d):
    x = torch.linspace(-1.0, 3.0, 401, dtype=torch.float64)  # the bulk of both densities (p_g ± 2σ, p_data ± 2σ)
    with torch.no_grad():
        d = torch.sigmoid(trained_1d.discriminator(x[:, None].float())).double()
    d_star = optimal_discriminator(DATA.log_prob(x), P_G.log_prob(x))
    assert float((d - d_star).abs().max()) < 0.05


def test_the_optimal_discriminator_maximises_the_value_function(trained_1d):
    x = torch.linspace(-8.0, 10.0, 20001, dtype=torch.float64)
    lp, lg = DATA.log_prob(x), P_G.log_prob(x)
    with torch.no_grad():
        trained = value_function(trained_1d.discriminator(x[:, None].float()).double(), lp, lg, x)
    best = generator_criterion(lp, lg, x)
    assert trained <= best + 1e-9
    assert best - trained < 0.01  # the trained D is nearly optimal in value too


@pytest.mark.parametrize("loc, scale", [(0.5, 0.8), (2.0, 0.5), (1.8, 0.6), (-3.0, 0.3)])
def test_the_criterion_at_the_optimal_discriminator_is_minus_log_4_plus_twice_the_jsd(loc, scale):
    x = torch.linspace(-12.0, 12.0, 48001, dtype=torch.float64)
    lp, lg = DATA.log_prob(x), Normal(torch.tensor(loc, dtype=x.dtype), scale).log_prob(x)
    c = generator_criterion(lp, lg, x)
    jsd = jensen_shannon(lp, lg, x)
    # the theorem uses ∫ p_data = ∫ p_g = 1, which the trapezoid rule meets to about 1e-8 here
    assert c == pytest.approx(-math.log(4.0) + 2.0 * jsd, abs=1e-7)
    # with the quadrature's own masses the identity is exact on the grid (rounding only)
    mass = float(torch.trapezoid(lp.exp() + lg.exp(), x))
    assert c == pytest.approx(-math.log(2.0) * mass + 2.0 * jsd, abs=1e-12)
    assert -1e-12 <= jsd <= math.log(2.0) + 1e-7
    if (loc, scale) == (2.0, 0.5):  # p_g = p_data: the global minimum, −log 4
        assert c == pytest.approx(-math.log(4.0), abs=1e-7) and jsd == pytest.approx(0.0, abs=1e-12)


def test_the_optimal_discriminator_is_stable_where_the_densities_underflow():
    lp = torch.tensor([-1000.0, -2000.0, 0.0], dtype=torch.float64)
    lg = torch.tensor([-1001.0, -1000.0, -900.0], dtype=torch.float64)
    d = optimal_discriminator(lp, lg)
    assert torch.isfinite(d).all()
    assert float(d[0]) == pytest.approx(1 / (1 + math.exp(-1.0)), rel=1e-12)
    assert float(d[1]) == 0.0 and float(d[2]) == 1.0


def test_the_optimal_discriminator_in_two_dimensions():
    data = MultivariateNormal(torch.tensor([1.0, -0.5]), torch.tensor([[0.3, 0.1], [0.1, 0.2]]))
    weight, bias = torch.tensor([[0.7, 0.0], [0.3, 0.5]]), torch.tensor([-0.5, 0.5])
    p_g = MultivariateNormal(bias, weight @ weight.t())  # G(z) = W z + b, z ~ N(0, I)
    gan = GAN(2, n_latent=2, hidden=(32, 32), output="linear", seed=0)
    gan.generator = _affine_generator(2, weight, bias)
    chol = torch.linalg.cholesky(data.covariance_matrix)
    train_discriminator(gan, lambda n, gen: data.loc + torch.randn(n, 2, generator=gen) @ chol.t(), steps=1500,
                        batch_size=512, lr=3e-3, seed=0)
    x = torch.cat([data.sample((500,)), p_g.sample((500,))])  # the bulk of both
    with torch.no_grad():
        d = torch.sigmoid(gan.discriminator(x))
    d_star = optimal_discriminator(data.log_prob(x), p_g.log_prob(x))
    assert float((d - d_star).abs().median()) < 0.03
    assert float((d - d_star).abs().quantile(0.95)) < 0.08


def test_the_losses_gradients_are_their_closed_forms():
    logits = torch.linspace(-30.0, 30.0, 61, dtype=torch.float64, requires_grad=True)
    n = logits.numel()
    (g_ns,) = torch.autograd.grad(generator_loss(logits, "non_saturating") * n, logits)
    (g_mm,) = torch.autograd.grad(generator_loss(logits, "minimax") * n, logits)
    s = torch.sigmoid(logits.detach())
    # softplus is linear beyond |l| = 20 (torch's threshold), an error below e^-20 ≈ 2e-9 there
    assert torch.allclose(g_ns, -torch.sigmoid(-logits.detach()), atol=3e-9, rtol=1e-12)  # −(1 − σ(l)) = −σ(−l)
    assert torch.allclose(g_mm, -s, atol=3e-9, rtol=1e-12)  # ∂ log(1 − σ(l))/∂l
    inner = logits.detach().abs() < 20
    assert torch.allclose(g_ns[inner], -torch.sigmoid(-logits.detach()[inner]), atol=0, rtol=1e-12)
    assert torch.allclose(g_mm[inner], -s[inner], atol=0, rtol=1e-12)
    # the non-saturating gradient is strong exactly where D rejects the samples (l ≪ 0)
    assert float(g_ns[0]) == pytest.approx(-1.0) and abs(float(g_mm[0])) < 1e-12


def test_the_losses_are_the_logs_they_stand_for_and_finite_when_d_saturates():
    l_real = torch.tensor([0.3, -1.2, 200.0], dtype=torch.float64)
    l_fake = torch.tensor([-0.4, 2.0, -200.0], dtype=torch.float64)
    d_real, d_fake = torch.sigmoid(l_real[:2]), torch.sigmoid(l_fake[:2])
    expected = -(d_real.log().mean() + (1 - d_fake).log().mean())
    assert float(discriminator_loss(l_real[:2], l_fake[:2])) == pytest.approx(float(expected), rel=1e-12)
    assert float(generator_loss(l_fake[:2], "non_saturating")) == pytest.approx(float(-d_fake.log().mean()), rel=1e-12)
    assert float(generator_loss(l_fake[:2], "minimax")) == pytest.approx(float((1 - d_fake).log().mean()), rel=1e-12)
    big = torch.tensor([-1e4, 1e4], dtype=torch.float64)
    for value in (discriminator_loss(big, -big), generator_loss(big, "minimax"), generator_loss(big)):
        assert torch.isfinite(value)
