r"""The denoising autoencoder's score field (Alain & Bengio 2014).

A denoising autoencoder trained with squared error on Gaussian corruption x̃ = x + σε
learns r(x̃) = E[x | x̃], which by Tweedie's formula (Miyasawa 1961) is

.. math:: r(\tilde x) = \tilde x + \sigma^2 \nabla \log p_\sigma(\tilde x),
          \qquad p_\sigma = p * \mathcal{N}(0, \sigma^2 I),

so (r(x) − x)/σ² estimates the score of the data density smoothed by the corruption, and
tends to ∇ log p as σ → 0. :func:`score_field` reads it off a trained model;
:func:`mixture_score` is the exact score of a Gaussian mixture smoothed by σ, the oracle
on 2-D toys (:func:`ring_mixture`).
"""

from __future__ import annotations

import math

import torch

__all__ = ["score_field", "mixture_score", "ring_mixture", "cosine"]


def score_field(model, x: torch.Tensor) -> torch.Tensor:
    """(r(x) − x) / σ², shape like ``x``: the model's estimate of ∇ log p_σ(x) (a
    denoising autoencoder with Gaussian corruption σ and a Gaussian likelihood)."""
    if model.corruption is None or model.corruption.kind != "gaussian" or model.corruption.level <= 0:
        raise ValueError("score_field: the score estimate (r(x) - x)/σ² needs a denoising autoencoder with Gaussian "
                         "corruption of σ > 0 (noise='gaussian', noise_level=σ)")
    if model.likelihood != "gaussian":
        raise ValueError("score_field: r(x) must be the mean of a Gaussian reconstruction (likelihood='gaussian'), "
                         f"got {model.likelihood!r}")
    x = model.check_data(x, "x")
    return (model.reconstruct(x) - x) / model.corruption.level ** 2


def ring_mixture(n: int, generator: torch.Generator, modes: int = 8, radius: float = 2.0, std: float = 0.2):
    """``n`` draws of an equal mixture of ``modes`` isotropic Gaussians (``std``) on a circle
    of ``radius``; returns ``(x, means)``, shapes (n, 2) and (modes, 2)."""
    angle = torch.arange(modes, dtype=torch.float64) * (2 * math.pi / modes)
    means = radius * torch.stack([angle.cos(), angle.sin()], 1)
    k = torch.randint(modes, (n,), generator=generator)
    x = means[k] + std * torch.randn(n, 2, generator=generator, dtype=torch.float64)
    return x.float(), means


def mixture_score(x: torch.Tensor, means: torch.Tensor, std: float, sigma: float = 0.0) -> torch.Tensor:
    """∇ log p_σ(x) of an equal mixture of N(μ_k, std² I) smoothed by N(0, σ² I), float64:
    Σ_k w_k(x) (μ_k − x) / s² with s² = std² + σ² and w the posterior of the component."""
    x = x.double()
    s2 = std ** 2 + sigma ** 2
    diff = means[None] - x[:, None]                      # (n, K, d)
    w = torch.softmax(-diff.square().sum(-1) / (2 * s2), dim=1)
    return (w[..., None] * diff).sum(1) / s2


def cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Row-wise cosine similarity of two fields, shape (n,)."""
    a, b = a.double(), b.double()
    return (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1)).clamp_min(1e-300)
