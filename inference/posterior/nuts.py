r"""NUTS on the latent z of a trained VAE for a few images, against the guide.

For each image x_b the decoder is held fixed and Pyro's ``NUTS`` samples the exact
posterior p(z | x_b) ∝ p(z) p(x_b | z) of :meth:`models.VAE.model`. Beside it
:func:`mcmc_posterior` returns draws of the guide q(z | x_b) and two numbers per image:

- the guide's ELBO, E_q[log p(x_b, z) − log q(z | x_b)], a Monte Carlo mean over
  ``n_importance`` draws of q;
- an importance estimate of log p(x_b) whose proposal r_b = N(m_b, S_b) is the Gaussian
  fitted to the NUTS draws (their mean and covariance, + 10⁻⁶ I):

  .. math::

      \log \hat p(x_b) = \log \frac{1}{K} \sum_{k=1}^{K} \frac{p(x_b, z_k)}{r_b(z_k)},
      \qquad z_k \sim r_b,

  a stochastic lower bound (E[log p̂] ≤ log p(x_b) by Jensen), tight when r_b is close to
  the posterior.

Their difference ``gap = log p̂ − ELBO`` estimates from below KL(q(z | x) ‖ p(z | x)) =
log p(x) − ELBO: how far the amortised guide falls short of the exact posterior.
NUTS needs continuous latents: a model with a discrete latent site (a sigmoid belief
net's ``h1``, …) is refused, naming the site; :func:`inference.exact_posterior` gives a
small sigmoid belief net's posterior exactly instead.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import pyro.poutine as poutine
import torch

from pgm.checks import check_device, check_int, check_rows, check_seed

from ..export.pyro_runs import samples_to_inference_data, mcmc_to_inference_data

__all__ = ["MCMCPosterior", "mcmc_posterior"]


class MCMCPosterior(NamedTuple):
    """What :func:`mcmc_posterior` returns.

    Attributes
    ----------
    mcmc : pyro.infer.MCMC
        The NUTS run; site ``z`` has draws (num_samples, batch, n_latent).
    guide : dict[str, Tensor]
        ``{"z": (num_samples, batch, n_latent)}``, independent draws of q(z | x).
    elbo, log_likelihood, gap : Tensor, shape (batch,)
        The guide's ELBO, the importance estimate log p̂(x), and log p̂(x) − ELBO, float64 nats.
    """

    mcmc: object
    guide: dict
    elbo: torch.Tensor
    log_likelihood: torch.Tensor
    gap: torch.Tensor

    def to_inference_data(self):
        """(NUTS posterior, guide draws) as two ``arviz.InferenceData`` with the same dims
        (chain, draw, ``z_dim_0`` = image, ``z_dim_1`` = latent unit), for overlaid plots."""
        return mcmc_to_inference_data(self.mcmc), samples_to_inference_data(self.guide)


def _log_joint(model, x, z):
    """log p(x, z), z (K, batch, d) → (K, batch), float64."""
    prior = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)
    return (prior + model._visible(z).log_prob(x).sum(-1)).to(torch.float64)


def _discrete_site(model, x):
    trace = poutine.trace(model.model).get_trace(x)
    for name, site in trace.nodes.items():
        support = getattr(site.get("fn"), "support", None)
        if site["type"] == "sample" and not site["is_observed"] and support is not None and support.is_discrete:
            return name
    return None


def mcmc_posterior(model, x, *, num_samples: int = 200, warmup_steps: int = 100, n_importance: int = 1000,
                   seed: int = 0, progress: bool = False) -> MCMCPosterior:
    r"""NUTS draws of p(z | x) for each row of ``x`` under a trained VAE (see the module text).

    Parameters
    ----------
    model : models.VAE
        Held fixed (its parameters are not changed, nor their gradients).
    x : Tensor, shape (batch, n_visible)
        A few images (the NUTS state has batch · n_latent dimensions).
    num_samples, warmup_steps : int
        NUTS draws kept and warm-up steps (step size and mass-matrix adaptation), one chain.
    n_importance : int
        Draws of q for the ELBO and of the fitted Gaussian for log p̂(x).
    seed : int
        Seeds Pyro's and torch's generators for the run.
    progress : bool
        Show NUTS's progress bar.

    Raises
    ------
    ValueError
        If ``model`` has a discrete latent site (NUTS needs continuous ones).
    """
    import pyro
    from pyro.infer import MCMC, NUTS

    from models import VAE

    where = "mcmc_posterior"
    if not isinstance(model, VAE):
        site = _discrete_site(model, model.check_data(x)) if hasattr(model, "model") and hasattr(model, "check_data") \
            else None
        if site is not None:
            raise ValueError(f"{where}: NUTS needs continuous latents, but {type(model).__name__} has the discrete "
                             f"site {site!r}; for binary latent layers of a small sigmoid belief net "
                             "use inference.exact_posterior (exact draws by enumeration)")
        raise TypeError(f"{where}: model must be a models.VAE, got {type(model).__name__}")
    check_device(model, "model", where)
    num_samples = check_int(num_samples, "num_samples", 2, where)
    warmup_steps = check_int(warmup_steps, "warmup_steps", 0, where)
    n_importance = check_int(n_importance, "n_importance", 1, where)
    seed = check_seed(seed, where, high=2**32, optional=False)  # pyro.set_rng_seed seeds NumPy too
    if not isinstance(progress, bool):
        raise TypeError(f"{where}: progress must be a bool, got {progress!r}")
    x = check_rows(model.check_data(x), "x", where)
    params = list(model.parameters())
    flags = [p.requires_grad for p in params]
    try:
        for p in params:
            p.requires_grad_(False)
        pyro.set_rng_seed(seed)
        mcmc = MCMC(NUTS(model.model), num_samples=num_samples, warmup_steps=warmup_steps,
                    disable_progbar=not progress)
        mcmc.run(x)
        with torch.no_grad():
            z_nuts = mcmc.get_samples()["z"]                                   # (S, batch, d)
            loc, scale = model.encoder(x)
            q = torch.distributions.Normal(loc, scale)
            guide = {"z": q.sample((num_samples,))}
            zq = q.sample((n_importance,))
            elbo = (_log_joint(model, x, zq) - q.log_prob(zq).sum(-1).to(torch.float64)).mean(0)
            m = z_nuts.mean(0)                                                 # (batch, d)
            centred = (z_nuts - m).transpose(0, 1)                             # (batch, S, d)
            cov = centred.transpose(1, 2) @ centred / (num_samples - 1)
            cov = cov + 1e-6 * torch.eye(cov.shape[-1], dtype=cov.dtype)
            r = torch.distributions.MultivariateNormal(m, covariance_matrix=cov)
            zr = r.sample((n_importance,))
            log_w = _log_joint(model, x, zr) - r.log_prob(zr).to(torch.float64)
            log_p = torch.logsumexp(log_w, 0) - math.log(n_importance)
    finally:
        for p, f in zip(params, flags):
            p.requires_grad_(f)
    return MCMCPosterior(mcmc, guide, elbo, log_p, log_p - elbo)
