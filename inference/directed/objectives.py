r"""Training objectives of directed models, as differentiable per-example losses.

- :func:`elbo_loss`: the negative ELBO, −E_q[log p(x, h) − log q(h | x)], through Pyro's
  ``Trace_ELBO`` (pathwise gradients for reparameterised latents, the score function
  for discrete ones);
- :func:`iwae_loss`: the negative K-sample importance-weighted bound (Burda, Grosse &
  Salakhutdinov 2016), −E[log (1/K) Σ_k w_k], for reparameterised latents.

Both are averaged over the rows of the batch, so the learning rate does not depend on
the batch size.
"""

from __future__ import annotations

import math

import torch
from pyro import poutine
from pyro.infer import Trace_ELBO

from pgm.checks import check_int

from ..backends.requests import Objective
from ..evaluation.weights import latent_sites, log_weights

__all__ = ["elbo_loss", "iwae_loss", "Objective"]


# One instance: with max_plate_nesting given, Trace_ELBO does not trace the programs an
# extra time per call to find it.
_TRACE_ELBO = Trace_ELBO(max_plate_nesting=1)


def elbo_loss(model, x: torch.Tensor) -> torch.Tensor:
    r"""−ELBO per example, a differentiable scalar: Pyro's ``Trace_ELBO`` surrogate on one
    draw per row, scaled by 1 / batch.

    .. math:: -\frac{1}{B} \sum_b \big(\log p(x_b, h_b) - \log q(h_b \mid x_b)\big),
              \quad h_b \sim q(\cdot \mid x_b)
    """
    scale = 1.0 / x.shape[0]
    return _TRACE_ELBO.differentiable_loss(poutine.scale(model.model, scale=scale),
                                            poutine.scale(model.guide, scale=scale), x)


def iwae_loss(model, x: torch.Tensor, n_particles: int) -> torch.Tensor:
    r"""The negative K-sample importance-weighted bound per example (K = ``n_particles``).

    .. math:: -\frac{1}{B} \sum_b \log \frac{1}{K} \sum_k
              \frac{p(x_b, h_{bk})}{q(h_{bk} \mid x_b)}, \quad h_{bk} \sim q(\cdot \mid x_b)

    Its gradient is the pathwise (reparameterised) one, so every latent site of the
    guide must be reparameterisable (the VAE's Gaussian z); K = 1 is the ELBO. The value
    equals Pyro's ``RenyiELBO(alpha=0, num_particles=K, vectorize_particles=True)`` loss
    divided by the batch size, on the same random draws.

    Raises
    ------
    ValueError
        A guide with a discrete (not reparameterisable) latent site: train it by
        reweighted wake-sleep instead.
    """
    k = check_int(n_particles, "n_particles", where="iwae_loss")
    lw, _, _, guide_trace = log_weights(model, x, k, return_parts=True)
    discrete = [name for name, site in latent_sites(guide_trace).items() if not site["fn"].has_rsample]
    if discrete:
        raise ValueError(f"iwae_loss: the guide's sites {discrete} are not reparameterisable, so the "
                         "importance-weighted bound has no pathwise gradient; train this model with "
                         "method='rws' (reweighted wake-sleep) or 'elbo'")
    return -(torch.logsumexp(lw, 0) - math.log(k)).mean()
