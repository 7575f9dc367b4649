r"""The VAE's fast path: its ELBO and IWAE losses computed straight from its modules.

The generic path traces the Pyro programs ``guide(x)`` and ``model(x)`` on every step
(:mod:`inference.directed.objectives`). For a :class:`models.VAE` the same estimator
is a few tensor operations: with ε ~ N(0, I) drawn as Pyro's ``Normal.rsample`` draws it
(one ``normal_()`` of shape (K·B, n_latent) from torch's global generator, the particles
stacked particle-major as :func:`inference.variational.log_weights` stacks them),

.. math::

    z_{kb} = \mu(x_b) + s(x_b) \odot \varepsilon_{kb}, \qquad
    \log w_{kb} = \log \mathcal{N}(z_{kb}; 0, I) + \log p(x_b \mid z_{kb})
                  - \log \mathcal{N}(z_{kb}; \mu(x_b), \operatorname{diag} s(x_b)^2),

and the losses are −(1/B) Σ_b log w_1b (ELBO, K = 1) and
−(1/B) Σ_b log (1/K) Σ_k w_kb (IWAE). The encoder runs once per row rather than once per
particle. On the same draws the values and the pathwise gradients equal the Pyro
reference's up to rounding (``tests/inference/backends/test_vae_backend.py``), so a
seeded run follows the same trajectory on either path.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from models.directed import VAE
from models.directed.vae import _Decoder, _Encoder

__all__ = ["recognise", "fast_path", "log_weights", "VAEObjective"]

_METHODS = ("model", "guide", "_visible", "encode", "decode")
_LOG_2PI = math.log(2 * math.pi)


def recognise(model) -> bool:
    """Whether ``model`` is a :class:`~models.VAE` (or a subclass that redefines none of
    its programs) with its own encoder and decoder modules, in a floating dtype."""
    cls = type(model)
    return (isinstance(model, VAE) and all(getattr(cls, m) is getattr(VAE, m) for m in _METHODS)
            and type(model.encoder) is _Encoder and type(model.decoder) is _Decoder
            and model.dtype.is_floating_point)


def _normal_log_prob(value, loc, scale, log_scale):
    """Σ over the last axis of log N(value; loc, scale²), written as torch's ``Normal.log_prob``."""
    return (-((value - loc) ** 2) / (2 * scale ** 2) - log_scale - 0.5 * _LOG_2PI).sum(-1)


def log_weights(model: VAE, x: torch.Tensor, n_samples: int) -> torch.Tensor:
    r"""log w_kb of the equation above, shape (K, B), differentiable (pathwise).

    Parameters
    ----------
    model : VAE
        A recognised VAE (:func:`recognise`).
    x : Tensor, shape (B, n_visible)
        Checked data in the model's dtype and device.
    n_samples : int
        K.
    """
    k, b = n_samples, x.shape[0]
    loc, scale = model.encoder(x)                                        # (B, L)
    eps = torch.empty((k * b, model.n_latent), dtype=loc.dtype, device=loc.device).normal_()
    eps = eps.reshape(k, b, model.n_latent)
    z = loc + eps * scale                                                # (K, B, L)
    log_q = _normal_log_prob(z, loc, scale, scale.log())
    log_prior = -0.5 * (z ** 2).sum(-1) - 0.5 * _LOG_2PI * model.n_latent
    out = model.decoder(z)                                               # (K, B, D)
    if model.likelihood == "bernoulli":
        log_lik = -F.binary_cross_entropy_with_logits(out, x.expand_as(out), reduction="none").sum(-1)
    else:
        sigma = model.decoder.log_scale.exp()
        log_lik = _normal_log_prob(x, out, sigma, sigma.log())
    return log_prior + log_lik - log_q


class VAEObjective:
    """A step of ``"elbo"`` or ``"iwae"`` on a VAE: ``step(model, x)`` returns
    (loss, bound), the loss differentiable and the bound, −loss, detached;
    ``step.log_weights(model, x)`` the K-particle log-weights (for importance estimates)."""

    name = "vae"

    def __init__(self, n_particles: int):
        self.n_particles = n_particles

    def log_weights(self, model: VAE, x: torch.Tensor) -> torch.Tensor:
        """log w of ``n_particles`` draws per row, shape (K, B): :func:`log_weights`."""
        return log_weights(model, x, self.n_particles)

    def __call__(self, model: VAE, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lw = log_weights(model, x, self.n_particles)
        if self.n_particles == 1:
            loss = -lw[0].mean()
        else:
            loss = -(torch.logsumexp(lw, 0) - math.log(self.n_particles)).mean()
        return loss, -loss.detach()


def fast_path(model, objective):
    """A :class:`VAEObjective` for an ``"elbo"`` or ``"iwae"`` objective on a recognised VAE,
    or ``None``."""
    if objective.method not in ("elbo", "iwae") or not recognise(model):
        return None
    return VAEObjective(1 if objective.method == "elbo" else objective.n_particles)
