"""Latent walks and arithmetic on a decoder: exact on a linear decoder G(z) = A z + b."""

import math

import pytest
import torch

from inference.adversarial.walks import (arithmetic, class_means, interpolate, latent_walks, plot_arithmetic,
                                         plot_latent_walks, transfer_rates)


Z_CRIT = 3.89  # a two-sided normal test at a 10⁻⁴ failure rate


class LinearDecoder(torch.nn.Module):
    """G(z) = A z + b: walks and arithmetic on it have closed forms."""

    def __init__(self, n_latent=3, n_visible=4):
        super().__init__()
        gen = torch.Generator().manual_seed(0)
        self.n_latent = n_latent
        self.A = torch.nn.Parameter(torch.randn(n_visible, n_latent, generator=gen, dtype=torch.float64))
        self.b = torch.nn.Parameter(torch.randn(n_visible, generator=gen, dtype=torch.float64))

    def sample(self, n, generator=None, y=None, z=None):
        if z is None:
            z = torch.randn(n, self.n_latent, generator=generator, dtype=torch.float64)
        return z @ self.A.t() + self.b


def test_both_paths_start_and_end_at_the_given_points():
    z0, z1 = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    for kind in ("linear", "spherical"):
        path = interpolate(z0, z1, 7, kind)
        assert path.shape == (5, 7, 3)
        assert torch.allclose(path[:, 0], z0) and torch.allclose(path[:, -1], z1)


def test_slerp_keeps_the_norm_between_unit_vectors_and_the_angle_even():
    z0 = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    z1 = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
    path = interpolate(z0, z1, 5, "spherical")
    assert torch.allclose(path.norm(dim=-1), torch.ones(5, dtype=torch.float64))
    angles = torch.atan2(path[:, 1], path[:, 0])
    assert torch.allclose(angles, torch.linspace(0, math.pi / 2, 5, dtype=torch.float64))
    mid = interpolate(z0, z1, 3, "linear")[1]
    assert torch.allclose(mid, torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64))


def test_parallel_vectors_fall_back_to_the_line():
    z0 = torch.tensor([1.0, 2.0], dtype=torch.float64)
    path = interpolate(z0, 3 * z0, 3, "spherical")
    assert torch.allclose(path[1], 2 * z0)


def test_walks_decode_the_interpolated_points():
    model = LinearDecoder()
    x = latent_walks(model, n_rows=2, steps=4, generator=torch.Generator().manual_seed(1), kind="linear")
    assert x.shape == (2, 4, 4)
    # on a linear decoder a linear walk in z is a linear walk in x: equal steps
    steps = x[:, 1:] - x[:, :-1]
    assert torch.allclose(steps, steps[:, :1].expand_as(steps))


def test_arithmetic_on_a_linear_decoder_is_arithmetic_on_its_outputs():
    model = LinearDecoder()
    a, b, c = (torch.randn(2, 3, dtype=torch.float64) for _ in range(3))
    g = lambda z: model.sample(z.shape[0], z=z)  # noqa: E731
    assert torch.allclose(arithmetic(model, a, b, c), g(a) - g(b) + g(c))


def test_class_means_average_the_latents_of_each_predicted_class():
    model = LinearDecoder()
    classify = lambda x: (x[:, 0] > model.b[0]).long()  # noqa: E731  (the sign of (A z)_0)
    means, counts = class_means(model, classify, n=4000, generator=torch.Generator().manual_seed(0))
    assert counts.sum() == 4000 and means.shape == (2, 3)
    # the class-1 mean points along A[0] (the half-space A[0]·z > 0), class 0 opposite
    direction = model.A[0].detach() / model.A[0].detach().norm()
    assert float(means[1] @ direction) > 0.7 and float(means[0] @ direction) < -0.7


def test_transfer_rates_against_their_closed_form():
    """G(z) = z, classes the sign of z₀: m₁ − m₀ = (2 E|z₀|, 0, 0) = (2√(2/π), 0, 0), so a
    class-0 sample moved by it lands in class 1 when z₀ > −2√(2/π), with probability
    1 − 2Φ(−2√(2/π)) given z₀ < 0; a random direction of that length moves z₀ by less."""
    model = LinearDecoder(3, 3)
    with torch.no_grad():
        model.A.copy_(torch.eye(3))
        model.b.zero_()
    classify = lambda x: (x[:, 0] > 0).long()  # noqa: E731
    per_pair = 4000
    result = transfer_rates(model, classify, n=20000, per_pair=per_pair, generator=torch.Generator().manual_seed(0))
    shift = 2 * math.sqrt(2 / math.pi)
    p = 1 - 2 * torch.distributions.Normal(0.0, 1.0).cdf(torch.tensor(-shift)).item()
    # the binomial error of the rate, and that of the shift (the class means are estimates:
    # sd(|z₀|) = √(1 − 2/π), each mean of about half of the 20,000 rows) through dp/dshift
    sd_shift = 2 * math.sqrt((1 - 2 / math.pi) / 10000)
    se = math.sqrt(p * (1 - p) / per_pair + (2 * math.exp(-shift ** 2 / 2) / math.sqrt(2 * math.pi) * sd_shift) ** 2)
    assert result.counts.sum() == 20000 and result.rates.shape == (2, 2)
    assert torch.isnan(result.rates.diagonal()).all()
    assert abs(float(result.rates[1, 0]) - p) < Z_CRIT * se
    assert abs(float(result.rates[0, 1]) - p) < Z_CRIT * se  # symmetric
    rate, base = result.mean()
    assert base < rate - 0.1


def test_pictures(tmp_path):
    model = LinearDecoder()
    plot_latent_walks(model, (2, 2), n_rows=2, steps=3, generator=torch.Generator().manual_seed(0),
                      path=tmp_path / "w.png")
    z = torch.randn(3, 3, dtype=torch.float64)
    plot_arithmetic(model, (2, 2), [(z[0], z[1], z[2])], labels=[("a", "b", "c")], path=tmp_path / "a.png")
    assert (tmp_path / "w.png").stat().st_size > 0 and (tmp_path / "a.png").stat().st_size > 0


@pytest.mark.parametrize("call, match", [
    (lambda m: interpolate(torch.zeros(3), torch.zeros(4), 3), "same shape|one shape"),
    (lambda m: interpolate(torch.zeros(3), torch.ones(3), 1), "steps"),
    (lambda m: interpolate(torch.zeros(3), torch.ones(3), 3, "cubic"), "kind"),
    (lambda m: latent_walks(torch.nn.Linear(2, 2)), "decoder model"),
    (lambda m: latent_walks(m, n_rows=0), "n_rows"),
    (lambda m: class_means(m, 5), "classify"),
    (lambda m: transfer_rates(m, 5), "classify"),
    (lambda m: transfer_rates(m, lambda x: x[:, 0] > 0, per_pair=0), "per_pair"),
    (lambda m: transfer_rates(m, lambda x: x[:1, 0] > 0, n=10), "one label per row"),
    (lambda m: arithmetic(m, torch.full((3,), float("nan")), torch.zeros(3), torch.zeros(3)), "finite"),
    (lambda m: plot_latent_walks(m, (3, 3)), "image_shape"),
])
def test_bad_input_is_refused(call, match):
    with pytest.raises((TypeError, ValueError), match=match):
        call(LinearDecoder())
