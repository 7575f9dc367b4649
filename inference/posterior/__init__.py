"""Posteriors of directed models beyond their guides: NUTS on a VAE's latent with the
decoder fixed, and exact enumeration of a small sigmoid belief net's posterior."""

from .exact import ExactPosterior, exact_posterior
from .nuts import MCMCPosterior, mcmc_posterior

__all__ = ["ExactPosterior", "exact_posterior", "MCMCPosterior", "mcmc_posterior"]
