"""The score field read off a denoising autoencoder, against Tweedie's formula exactly."""

import pytest
import torch

from inference.autoencoders.score import cosine, mixture_score, ring_mixture, score_field
from models import Autoencoder


def _linear_dae(a, sigma):
    """A ReLU DAE whose reconstruction is exactly r(x) = a x in 2-D (x = relu(x) − relu(−x))."""
    model = Autoencoder(2, 4, activation="relu", likelihood="gaussian", noise="gaussian", noise_level=sigma,
                        seed=0).double()
    eye = torch.eye(2, dtype=torch.float64)
    with torch.no_grad():
        model.W.copy_(torch.cat([eye, -eye]).reshape(2, 2, 2).transpose(0, 1).reshape(4, 2))
        model.b.zero_()
        model.W_dec.copy_(a * torch.tensor([[1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 1.0, -1.0]], dtype=torch.float64))
        model.c.zero_()
    return model


def test_the_optimal_dae_of_a_gaussian_reads_off_the_smoothed_score():
    """For p = N(0, s² I), E[x | x̃] = s²/(s² + σ²) x̃; its (r(x) − x)/σ² is ∇ log p_σ."""
    s, sigma = 0.7, 0.4
    model = _linear_dae(s ** 2 / (s ** 2 + sigma ** 2), sigma)
    x = torch.randn(50, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    torch.testing.assert_close(model.reconstruct(x), s ** 2 / (s ** 2 + sigma ** 2) * x)
    truth = mixture_score(x, torch.zeros(1, 2, dtype=torch.float64), s, sigma)
    torch.testing.assert_close(score_field(model, x), truth)
    torch.testing.assert_close(truth, -x / (s ** 2 + sigma ** 2))
    assert bool((cosine(score_field(model, x), truth) > 1 - 1e-12).all())


def test_the_mixture_score_is_the_gradient_of_the_log_density():
    x, means = ring_mixture(20, torch.Generator().manual_seed(0), modes=3, std=0.3)
    x = x.double().requires_grad_()
    s2 = 0.3 ** 2 + 0.2 ** 2
    log_p = torch.logsumexp(-(x[:, None] - means[None]).square().sum(-1) / (2 * s2), 1).sum()
    (grad,) = torch.autograd.grad(log_p, x)
    torch.testing.assert_close(mixture_score(x.detach(), means, 0.3, 0.2), grad)


def test_the_score_needs_gaussian_corruption_and_reconstruction():
    with pytest.raises(ValueError, match="Gaussian corruption"):
        score_field(Autoencoder(2, 3, likelihood="gaussian", noise="masking", noise_level=0.2), torch.zeros(1, 2))
    with pytest.raises(ValueError, match="Gaussian reconstruction"):
        score_field(Autoencoder(2, 3, noise="gaussian", noise_level=0.2), torch.zeros(1, 2))
