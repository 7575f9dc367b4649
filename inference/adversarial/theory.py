r"""The theory of the GAN game (Goodfellow et al. 2014, section 4), as functions that tests
and notebooks can check against.

For a fixed generator with density p_g the discriminator that maximises
V(D, G) = E_{p_data} log D + E_{p_g} log(1 − D) is (Proposition 1)

.. math:: D^*(x) = \frac{p_\text{data}(x)}{p_\text{data}(x) + p_g(x)}
          = \sigma\bigl(\log p_\text{data}(x) - \log p_g(x)\bigr),

and at it the generator's criterion is (Theorem 1)

.. math:: C(G) = V(D^*, G) = -\log 4 + 2\,\mathrm{JSD}(p_\text{data} \,\|\, p_g),

minimal (−log 4) exactly when p_g = p_data. :func:`generator_criterion` computes V(D*, G)
from its definition and :func:`jensen_shannon` the divergence from its own, by quadrature
on a 1-D grid, so the identity can be checked between two independent computations.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

from pgm.checks import check_float, check_int

from ..mcmc.sampling import make_generator
from .losses import discriminator_loss

__all__ = ["optimal_discriminator", "optimal_logit", "value_function", "generator_criterion", "jensen_shannon",
           "train_discriminator"]


def _pair(log_p_data, log_p_g, where):
    for name, t in (("log_p_data", log_p_data), ("log_p_g", log_p_g)):
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            raise TypeError(f"{where}: {name} must be a floating tensor of log-densities, got "
                            f"{getattr(t, 'dtype', type(t).__name__)}")
    if log_p_data.shape != log_p_g.shape:
        raise ValueError(f"{where}: log_p_data and log_p_g must have the same shape, got {tuple(log_p_data.shape)} "
                         f"and {tuple(log_p_g.shape)}")
    return log_p_data, log_p_g


def optimal_logit(log_p_data: torch.Tensor, log_p_g: torch.Tensor) -> torch.Tensor:
    """The logit of D*: log p_data(x) − log p_g(x), elementwise."""
    log_p_data, log_p_g = _pair(log_p_data, log_p_g, "optimal_logit")
    return log_p_data - log_p_g


def optimal_discriminator(log_p_data: torch.Tensor, log_p_g: torch.Tensor) -> torch.Tensor:
    """D*(x) = p_data / (p_data + p_g) = σ(log p_data − log p_g), elementwise, from the two
    log-densities at the same points (stable where both densities underflow)."""
    log_p_data, log_p_g = _pair(log_p_data, log_p_g, "optimal_discriminator")
    return torch.sigmoid(log_p_data - log_p_g)


def _grid(x, n, where):
    if not isinstance(x, torch.Tensor) or x.dim() != 1 or x.shape[0] != n or x.shape[0] < 2:
        raise ValueError(f"{where}: x must be a 1-D grid of the {n} points the densities are given at (at least "
                         f"2), got {tuple(getattr(x, 'shape', ()))}")
    if not bool((x[1:] > x[:-1]).all()):
        raise ValueError(f"{where}: x must be increasing")
    return x.double()


def value_function(logits: torch.Tensor, log_p_data: torch.Tensor, log_p_g: torch.Tensor,
                   x: torch.Tensor) -> float:
    r"""V(D, G) = ∫ p_data log D + p_g log(1 − D) dx by the trapezoid rule on the 1-D grid
    ``x`` (n,), for a discriminator given by its ``logits`` at the grid points (float64)."""
    log_p_data, log_p_g = _pair(log_p_data, log_p_g, "value_function")
    x = _grid(x, log_p_data.shape[0], "value_function")
    logits = logits.double()
    f = log_p_data.double().exp() * F.logsigmoid(logits) + log_p_g.double().exp() * F.logsigmoid(-logits)
    return float(torch.trapezoid(f, x))


def generator_criterion(log_p_data: torch.Tensor, log_p_g: torch.Tensor, x: torch.Tensor) -> float:
    r"""C(G) = V(D*, G) = ∫ p_data log D* + p_g log(1 − D*) dx by quadrature on the 1-D grid
    ``x`` (the log-densities given at its points); equals −log 4 + 2 JSD(p_data ‖ p_g)."""
    return value_function(optimal_logit(log_p_data.double(), log_p_g.double()), log_p_data, log_p_g, x)


def jensen_shannon(log_p: torch.Tensor, log_q: torch.Tensor, x: torch.Tensor) -> float:
    r"""JSD(p ‖ q) = ½ KL(p ‖ m) + ½ KL(q ‖ m), m = (p + q)/2, in nats, by quadrature on the 1-D
    grid ``x`` (the log-densities given at its points)."""
    log_p, log_q = _pair(log_p, log_q, "jensen_shannon")
    x = _grid(x, log_p.shape[0], "jensen_shannon")
    log_p, log_q = log_p.double(), log_q.double()
    log_m = torch.logaddexp(log_p, log_q) - math.log(2.0)
    f = 0.5 * (log_p.exp() * (log_p - log_m) + log_q.exp() * (log_q - log_m))
    return float(torch.trapezoid(f, x))


def train_discriminator(model, sample_data: Callable, *, steps: int = 2000, batch_size: int = 256, lr: float = 1e-3,
                        seed: int = 0) -> list[float]:
    """Train ``model.discriminator`` alone, the generator frozen, toward D* for the current
    generator: Adam on the discriminator's loss, each step on a fresh batch
    ``sample_data(batch_size, generator)`` (n, n_visible) of data and a fresh batch of G(z).
    Returns the loss of every step (nats). The generator's parameters are not touched."""
    steps = check_int(steps, "steps", 1, "train_discriminator")
    batch_size = check_int(batch_size, "batch_size", 1, "train_discriminator")
    lr = check_float(lr, "lr", 0.0, low_open=True, where="train_discriminator")
    if not callable(sample_data):
        raise TypeError(f"train_discriminator: sample_data must be a callable (n, generator) -> data, got "
                        f"{sample_data!r}")
    gen = make_generator(seed, model.device)
    opt = torch.optim.Adam(model.discriminator.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        x = sample_data(batch_size, gen).to(dtype=model.dtype, device=model.device)
        with torch.no_grad():
            fake = model.sample(batch_size, gen)
        opt.zero_grad(set_to_none=True)
        loss = discriminator_loss(model.discriminator(x), model.discriminator(fake))
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses
